// SPDX-License-Identifier: GPL-2.0
/*
 * The 8254 PIT: three counters at ports 0x40-0x42, the control word at
 * 0x43, and port 0x61 (channel 2's gate, the speaker, and the status
 * bits a PC shows there).
 *
 * A counter is not stepped: what a guest reads is computed from the time
 * since the count was loaded (ktime, 1.193182 MHz), so reads in a tight
 * loop see the counter move as on the chip, and the guest's TSC
 * calibration against channel 2 matches the host's clock.  Channel 0's
 * OUT drives GSI 0: an hrtimer fires at each rising edge (modes 2 and 3
 * periodically, 0 and 4 once) and pulses the line through the router,
 * which feeds PIC IRQ0 and IOAPIC pin 2.
 */
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "irq.h"

#define PIT_HZ			1193182
/*
 * The shortest interrupt period a guest can ask for: a count of 1 in
 * mode 2 would otherwise be a 1.2 MHz hrtimer on the host.  Counter
 * reads still show the programmed count.
 */
#define PIT_MIN_PERIOD_NS	(100 * NSEC_PER_USEC)
/* Port 0x61 bit 4 toggles with each DRAM refresh request. */
#define PIT_REFRESH_NS		15085

/* Read/write states: which byte comes next. */
enum {
	RW_LATCH = 0,
	RW_LSB = 1,
	RW_MSB = 2,
	RW_WORD0 = 3,		/* LSB then MSB: LSB next */
	RW_WORD1 = 4,		/* ... MSB next */
};

struct pit_channel {
	u32 count;		/* reload value, 1..0x10000 (binary) */
	ktime_t load_time;	/* when counting (re)started */
	u64 held;		/* clocks counted when counting stopped */
	u16 latched_count;
	u8 count_latched;	/* RW_* state of the latched count, 0 none */
	bool status_latched;
	u8 status;
	u8 rw_mode;		/* RW_LSB, RW_MSB, RW_WORD0 */
	u8 read_state;
	u8 write_state;
	u8 write_latch;		/* LSB of a two-byte count */
	u8 mode;		/* 0-5 */
	bool bcd;
	bool gate;
	bool loaded;		/* a count was written since the control word */
	bool started;		/* counting began (modes 1 and 5: triggered) */
	bool running;		/* counting now: load_time is valid */
	bool null_count;	/* status bit 6 */
};

struct vmm_pit {
	spinlock_t lock;
	struct vmm_vm *vm;
	struct pit_channel ch[3];
	bool speaker_data;	/* port 0x61 bit 1 */

	/* Channel 0's interrupt. */
	struct hrtimer timer;
	bool armed;		/* the timer stands for the current count */
	bool periodic;
	u64 irq_step;		/* clocks between interrupts, periodic */
	u64 irq_clock;		/* clock of the next interrupt since load */
};

static u64 ns_to_clocks(s64 ns)
{
	return ns <= 0 ? 0 : mul_u64_u32_div(ns, PIT_HZ, NSEC_PER_SEC);
}

/* The first nanosecond at which @clocks have elapsed. */
static u64 clocks_to_ns(u64 clocks)
{
	return mul_u64_u32_div(clocks, NSEC_PER_SEC, PIT_HZ) + 1;
}

static u32 clk_mod(u64 clocks, u32 n)
{
	u32 rem;

	div_u64_rem(clocks, n, &rem);
	return rem;
}

static u64 ch_clocks(const struct pit_channel *ch, ktime_t now)
{
	if (!ch->running)
		return ch->held;
	return ns_to_clocks(ktime_to_ns(ktime_sub(now, ch->load_time)));
}

static u16 bin_to_bcd16(u32 v)
{
	return (v % 10) | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 |
	       (v / 1000 % 10) << 12;
}

static u32 bcd16_to_bin(u16 v)
{
	return (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 +
	       ((v >> 12) & 0xf) * 1000;
}

/* The counting element as the guest reads it. */
static u16 ch_value(const struct pit_channel *ch, ktime_t now)
{
	u32 range = ch->bcd ? 10000 : 0x10000;
	u32 n = ch->count, v;
	u64 d;

	if (!ch->started) {
		v = n % range;
	} else {
		d = ch_clocks(ch, now);
		switch (ch->mode) {
		case 2:
			v = n - clk_mod(d, n);
			break;
		case 3:
			v = n - clk_mod(2 * d, n);
			break;
		default:	/* 0, 1, 4, 5: count down and wrap */
			v = (n + range - clk_mod(d, range)) % range;
			break;
		}
		v %= range;
	}
	return ch->bcd ? bin_to_bcd16(v) : v;
}

/* The OUT pin. */
static bool ch_out(const struct pit_channel *ch, ktime_t now)
{
	u32 n = ch->count;
	u64 d;

	if (!ch->started)
		return ch->mode != 0;	/* after the control word */
	if (!ch->gate && (ch->mode == 2 || ch->mode == 3))
		return true;
	d = ch_clocks(ch, now);
	switch (ch->mode) {
	case 0:
	case 1:
		return d >= n;
	case 2:
		return clk_mod(d, n) != n - 1;
	case 3:
		return clk_mod(d, n) < (n + 1) / 2;
	default:	/* 4, 5: a one-clock strobe at terminal count */
		return d != n;
	}
}

static void pit_stop_timer(struct vmm_pit *pit)
{
	pit->armed = false;
	/* A callback running now sees !armed and does not pulse again. */
	hrtimer_try_to_cancel(&pit->timer);
}

/* Channel 0 was (re)loaded or its state changed: schedule its IRQ. */
static void pit_arm_timer(struct vmm_pit *pit)
{
	struct pit_channel *ch = &pit->ch[0];
	u64 min_clocks = ns_to_clocks(PIT_MIN_PERIOD_NS);

	if (!ch->running) {
		pit_stop_timer(pit);
		return;
	}
	switch (ch->mode) {
	case 0:
		pit->irq_clock = ch->count;
		pit->periodic = false;
		break;
	case 4:		/* OUT rises after the strobe */
		pit->irq_clock = ch->count + 1;
		pit->periodic = false;
		break;
	case 2:
	case 3:
		pit->irq_step = max_t(u64, ch->count, min_clocks);
		if (pit->irq_step != ch->count)
			pr_debug("vmm: PIT period of %u clocks raised to %llu\n",
				 ch->count, pit->irq_step);
		pit->irq_clock = pit->irq_step;
		pit->periodic = true;
		break;
	default:	/* 1, 5: the gate of channel 0 never rises */
		pit_stop_timer(pit);
		return;
	}
	pit->armed = true;
	hrtimer_start(&pit->timer,
		      ktime_add_ns(ch->load_time,
				   clocks_to_ns(pit->irq_clock)),
		      HRTIMER_MODE_ABS);
}

static enum hrtimer_restart pit_timer_fn(struct hrtimer *t)
{
	struct vmm_pit *pit = container_of(t, struct vmm_pit, timer);
	struct pit_channel *ch = &pit->ch[0];
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	unsigned long flags;
	u64 elapsed;

	spin_lock_irqsave(&pit->lock, flags);
	/* Queued again: the guest reprogrammed the channel meanwhile. */
	if (!pit->armed || hrtimer_is_queued(t)) {
		spin_unlock_irqrestore(&pit->lock, flags);
		return HRTIMER_NORESTART;
	}
	if (pit->periodic) {
		pit->irq_clock += pit->irq_step;
		/*
		 * Fell behind (host busy, or a long period of ours): skip to
		 * the next edge to come rather than pulse back to back.
		 */
		elapsed = ch_clocks(ch, ktime_get());
		if (pit->irq_clock <= elapsed)
			pit->irq_clock = (div64_u64(elapsed, pit->irq_step) + 1) *
					 pit->irq_step;
		hrtimer_set_expires(t, ktime_add_ns(ch->load_time,
						    clocks_to_ns(pit->irq_clock)));
		ret = HRTIMER_RESTART;
	} else {
		pit->armed = false;
	}
	spin_unlock_irqrestore(&pit->lock, flags);

	/* Edge-triggered everywhere it goes: a pulse is an edge. */
	vmm_irq_set_gsi(pit->vm, 0, 1);
	vmm_irq_set_gsi(pit->vm, 0, 0);
	return ret;
}

static void pit_latch_count(struct pit_channel *ch, ktime_t now)
{
	if (ch->count_latched)
		return;		/* the first latch holds until read */
	ch->latched_count = ch_value(ch, now);
	ch->count_latched = ch->rw_mode;
}

static void pit_latch_status(struct pit_channel *ch, ktime_t now)
{
	if (ch->status_latched)
		return;
	ch->status = ch_out(ch, now) << 7 | ch->null_count << 6 |
		     ch->rw_mode << 4 |
		     ch->mode << 1 | ch->bcd;
	ch->status_latched = true;
}

static void pit_control(struct vmm_pit *pit, u8 val, ktime_t now)
{
	struct pit_channel *ch;
	int i, access, mode;

	if ((val >> 6) == 3) {		/* read-back */
		for (i = 0; i < 3; i++) {
			if (!(val & (2 << i)))
				continue;
			if (!(val & 0x20))
				pit_latch_count(&pit->ch[i], now);
			if (!(val & 0x10))
				pit_latch_status(&pit->ch[i], now);
		}
		return;
	}
	ch = &pit->ch[val >> 6];
	access = (val >> 4) & 3;
	if (access == RW_LATCH) {
		pit_latch_count(ch, now);
		return;
	}
	mode = (val >> 1) & 7;
	if (mode > 5)
		mode -= 4;	/* 6 and 7 are 2 and 3 */
	ch->rw_mode = access == 3 ? RW_WORD0 : access;
	ch->read_state = ch->rw_mode;
	ch->write_state = ch->rw_mode;
	ch->mode = mode;
	ch->bcd = val & 1;
	/* The control logic resets: OUT to its initial level, no count. */
	ch->loaded = false;
	ch->started = false;
	ch->running = false;
	ch->held = 0;
	ch->null_count = true;
	ch->count_latched = 0;
	ch->status_latched = false;
	if (ch == &pit->ch[0])
		pit_stop_timer(pit);
}

static void pit_load(struct vmm_pit *pit, struct pit_channel *ch, u16 val,
		     ktime_t now)
{
	u32 n = ch->bcd ? bcd16_to_bin(val) : val;

	if (!n)
		n = ch->bcd ? 10000 : 0x10000;
	ch->count = n;
	ch->loaded = true;
	ch->null_count = false;
	if (ch->mode == 1 || ch->mode == 5) {
		/* Counting waits for a trigger: a rising edge of the gate. */
		return;
	}
	/* Modes 0, 2, 3, 4: count from now while the gate is high. */
	ch->started = true;
	ch->running = ch->gate;
	ch->held = 0;
	ch->load_time = now;
	if (ch == &pit->ch[0])
		pit_arm_timer(pit);
}

static void pit_set_gate(struct pit_channel *ch, bool gate, ktime_t now)
{
	if (gate == ch->gate)
		return;
	ch->gate = gate;
	if (!gate) {
		/* Modes 0, 2, 3, 4 stop counting; 1 and 5 do not care. */
		if (ch->running && ch->mode != 1 && ch->mode != 5) {
			ch->held = ch_clocks(ch, now);
			ch->running = false;
		}
		return;
	}
	switch (ch->mode) {
	case 0:
	case 4:		/* resume where it stopped */
		if (ch->started && !ch->running) {
			ch->load_time = ktime_sub_ns(now, clocks_to_ns(ch->held));
			ch->running = true;
		}
		break;
	default:	/* 1, 2, 3, 5: a rising edge (re)starts the count */
		if (ch->loaded) {
			ch->started = true;
			ch->running = true;
			ch->held = 0;
			ch->load_time = now;
		}
		break;
	}
}

static u8 pit_read(struct pit_channel *ch, ktime_t now)
{
	u16 v;

	if (ch->status_latched) {
		ch->status_latched = false;
		return ch->status;
	}
	if (ch->count_latched) {
		v = ch->latched_count;
		switch (ch->count_latched) {
		case RW_WORD0:
			ch->count_latched = RW_MSB;
			return v & 0xff;
		case RW_MSB:
			ch->count_latched = 0;
			return v >> 8;
		default:
			ch->count_latched = 0;
			return v & 0xff;
		}
	}
	v = ch_value(ch, now);
	switch (ch->read_state) {
	case RW_LSB:
		return v & 0xff;
	case RW_MSB:
		return v >> 8;
	case RW_WORD0:
		ch->read_state = RW_WORD1;
		return v & 0xff;
	default:
		ch->read_state = RW_WORD0;
		return v >> 8;
	}
}

static void pit_write(struct vmm_pit *pit, struct pit_channel *ch, u8 val,
		      ktime_t now)
{
	switch (ch->write_state) {
	case RW_LSB:
		pit_load(pit, ch, val, now);
		break;
	case RW_MSB:
		pit_load(pit, ch, val << 8, now);
		break;
	case RW_WORD0:
		ch->write_latch = val;
		ch->write_state = RW_WORD1;
		break;
	default:
		pit_load(pit, ch, ch->write_latch | val << 8, now);
		ch->write_state = RW_WORD0;
		break;
	}
}

static u8 pit_port61_read(struct vmm_pit *pit, ktime_t now)
{
	struct pit_channel *ch2 = &pit->ch[2];
	u64 refresh = div_u64(ktime_to_ns(now), PIT_REFRESH_NS);

	return ch2->gate | pit->speaker_data << 1 | (refresh & 1) << 4 |
	       ch_out(ch2, now) << 5;
}

/* One byte at @port; false if the port is not the PIT's. */
static bool pit_pio_byte(struct vmm_pit *pit, u16 port, bool in, u8 *val,
			 ktime_t now)
{
	switch (port) {
	case 0x40:
	case 0x41:
	case 0x42:
		if (in)
			*val = pit_read(&pit->ch[port - 0x40], now);
		else
			pit_write(pit, &pit->ch[port - 0x40], *val, now);
		return true;
	case 0x43:
		if (in)
			*val = 0xff;	/* the control word is write-only */
		else
			pit_control(pit, *val, now);
		return true;
	case 0x61:
		if (in) {
			*val = pit_port61_read(pit, now);
		} else {
			pit->speaker_data = *val & 2;
			pit_set_gate(&pit->ch[2], *val & 1, now);
		}
		return true;
	}
	return false;
}

bool vmm_pit_pio(struct vmm_pit *pit, u16 port, int size, bool in, u32 *val)
{
	unsigned long flags;
	ktime_t now;
	u32 v = 0;
	u8 b;
	int i;

	if (port != 0x61 && (port < 0x40 || port > 0x43))
		return false;
	if (size != 1 && size != 2 && size != 4)
		size = 1;
	spin_lock_irqsave(&pit->lock, flags);
	now = ktime_get();
	/* A wider access is one access per byte, as on the ISA bus. */
	for (i = 0; i < size; i++) {
		b = in ? 0xff : *val >> (8 * i);
		pit_pio_byte(pit, port + i, in, &b, now);
		v |= (u32)b << (8 * i);
	}
	spin_unlock_irqrestore(&pit->lock, flags);
	if (in)
		*val = v;
	return true;
}

struct vmm_pit *vmm_pit_create(struct vmm_vm *vm)
{
	struct vmm_pit *pit;
	int i;

	pit = kzalloc(sizeof(*pit), GFP_KERNEL);
	if (!pit)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&pit->lock);
	pit->vm = vm;
	for (i = 0; i < 3; i++) {
		struct pit_channel *ch = &pit->ch[i];

		ch->count = 0x10000;
		ch->rw_mode = RW_WORD0;
		ch->read_state = RW_WORD0;
		ch->write_state = RW_WORD0;
		/* Channels 0 and 1 have their gates tied high on a PC. */
		ch->gate = i != 2;
	}
	hrtimer_init(&pit->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	pit->timer.function = pit_timer_fn;
	return pit;
}

void vmm_pit_destroy(struct vmm_pit *pit)
{
	unsigned long flags;

	spin_lock_irqsave(&pit->lock, flags);
	pit->armed = false;
	spin_unlock_irqrestore(&pit->lock, flags);
	/* Waits for a running callback, and dequeues one it restarted. */
	hrtimer_cancel(&pit->timer);
	kfree(pit);
}
