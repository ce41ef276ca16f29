// SPDX-License-Identifier: GPL-2.0
/*
 * Native tests of the 8254 PIT (kmod/irq/pit.c) against a fake clock:
 * counter values in modes 0, 2 and 3, latches and read-back, the status
 * byte, port 0x61 (gate, OUT, refresh), channel 0's interrupts, and the
 * port sequences Linux's timer and TSC calibration code use.  A fake
 * vmm_irq_set_gsi() records the pulses on GSI 0.
 */
#include "kshim.h"
#include "irq/irq.h"

#include "kselftest_harness.h"

#define PIT_HZ		1193182ULL
#define MAX_EDGES	4096

static ktime_t edges[MAX_EDGES];	/* times of rising edges on GSI 0 */
static int nr_edges;
static int gsi0_level;

int vmm_irq_set_gsi(struct vmm_vm *vm, u32 gsi, int level)
{
	/* Never with the PIT's lock held: the router takes others. */
	assert(shim_locks_held == 0);
	assert(gsi == 0);
	if (level && !gsi0_level) {
		if (nr_edges < MAX_EDGES)
			edges[nr_edges] = shim_now;
		nr_edges++;
	}
	gsi0_level = level;
	return 0;
}

static void outb(struct vmm_pit *pit, u16 port, u8 v)
{
	u32 val = v;

	assert(vmm_pit_pio(pit, port, 1, false, &val));
}

static u8 inb(struct vmm_pit *pit, u16 port)
{
	u32 val = 0;

	assert(vmm_pit_pio(pit, port, 1, true, &val));
	assert(val <= 0xff);
	return val;
}

/* The time at which @clocks PIT clocks have passed since @t0. */
static ktime_t at_clock(ktime_t t0, u64 clocks)
{
	return t0 + (clocks * NSEC_PER_SEC + PIT_HZ - 1) / PIT_HZ;
}

static void set_time(ktime_t t)
{
	assert(t >= shim_now);
	shim_advance_to(t);
}

/* Latch channel @c's count and read it, LSB then MSB. */
static u16 latched(struct vmm_pit *pit, int c)
{
	u16 v;

	outb(pit, 0x43, c << 6);
	v = inb(pit, 0x40 + c);
	return v | inb(pit, 0x40 + c) << 8;
}

static void load(struct vmm_pit *pit, int c, u8 control, u16 count)
{
	outb(pit, 0x43, control);
	outb(pit, 0x40 + c, count & 0xff);
	outb(pit, 0x40 + c, count >> 8);
}

FIXTURE(pit) {
	struct vmm_pit *pit;
};

FIXTURE_SETUP(pit)
{
	shim_now = 1000 * NSEC_PER_SEC + 12345;	/* not 0, not aligned */
	nr_edges = 0;
	gsi0_level = 0;
	self->pit = vmm_pit_create(NULL);
	ASSERT_FALSE(IS_ERR(self->pit));
}

FIXTURE_TEARDOWN(pit)
{
	vmm_pit_destroy(self->pit);
	shim_check_no_timers();
}

TEST_F(pit, quiet_until_programmed)
{
	set_time(shim_now + NSEC_PER_SEC);
	EXPECT_EQ(0, nr_edges);
}

TEST_F(pit, mode2_periodic)
{
	struct vmm_pit *pit = self->pit;
	ktime_t t0 = shim_now;
	int i;

	load(pit, 0, 0x34, 4773);		/* Linux, HZ=250 */
	EXPECT_EQ(4773, latched(pit, 0));
	set_time(at_clock(t0, 1000));
	EXPECT_EQ(3773, latched(pit, 0));
	set_time(at_clock(t0, 4772));
	EXPECT_EQ(1, latched(pit, 0));
	EXPECT_EQ(0, nr_edges);
	set_time(at_clock(t0, 4773));
	EXPECT_EQ(4773, latched(pit, 0));	/* reloaded */
	EXPECT_EQ(1, nr_edges);

	set_time(t0 + NSEC_PER_SEC);
	EXPECT_EQ(249, nr_edges);		/* 4.00025 ms apart */
	for (i = 0; i < nr_edges && i < MAX_EDGES; i++)
		EXPECT_EQ(at_clock(t0, 4773ULL * (i + 1)), edges[i]);

	/* A busy host misses edges: they are not replayed back to back. */
	shim_now += 50 * NSEC_PER_MSEC;
	i = nr_edges;
	set_time(shim_now + 1);
	EXPECT_EQ(i + 1, nr_edges);
	set_time(shim_now + 4 * NSEC_PER_MSEC + 1000);
	EXPECT_EQ(i + 2, nr_edges);
}

TEST_F(pit, mode0_oneshot)
{
	struct vmm_pit *pit = self->pit;
	ktime_t t0 = shim_now;

	load(pit, 0, 0x30, 1000);
	set_time(at_clock(t0, 999));
	EXPECT_EQ(1, latched(pit, 0));
	EXPECT_EQ(0, nr_edges);
	set_time(at_clock(t0, 1000));
	EXPECT_EQ(1, nr_edges);
	EXPECT_EQ(0, latched(pit, 0));
	set_time(at_clock(t0, 1001));
	EXPECT_EQ(0xffff, latched(pit, 0));	/* it wraps, counting on */
	set_time(t0 + NSEC_PER_SEC);
	EXPECT_EQ(1, nr_edges);

	/* Mode 4 (Linux's one-shot clockevent): a new count restarts it. */
	t0 = shim_now;
	outb(pit, 0x43, 0x38);
	load(pit, 0, 0x38, 100);
	set_time(at_clock(t0, 50));
	outb(pit, 0x40, 200 & 0xff);
	outb(pit, 0x40, 0);
	t0 = shim_now;
	set_time(at_clock(t0, 200));
	EXPECT_EQ(1, nr_edges);
	set_time(at_clock(t0, 201));
	EXPECT_EQ(2, nr_edges);

	/* Linux's shutdown: mode 0, count 0: one edge 65536 clocks later. */
	t0 = shim_now;
	load(pit, 0, 0x30, 0);
	set_time(at_clock(t0, 65535));
	EXPECT_EQ(2, nr_edges);
	set_time(at_clock(t0, 65536));
	EXPECT_EQ(3, nr_edges);
}

TEST_F(pit, control_word_stops_channel0)
{
	struct vmm_pit *pit = self->pit;

	load(pit, 0, 0x34, 1193);
	set_time(shim_now + 10 * NSEC_PER_MSEC);
	EXPECT_EQ(10, nr_edges);
	outb(pit, 0x43, 0x34);			/* no count follows */
	set_time(shim_now + 10 * NSEC_PER_MSEC);
	EXPECT_EQ(10, nr_edges);
	outb(pit, 0x40, 0xa9);
	outb(pit, 0x40, 0x04);
	set_time(shim_now + 10 * NSEC_PER_MSEC);
	EXPECT_EQ(20, nr_edges);
}

TEST_F(pit, min_period)
{
	struct vmm_pit *pit = self->pit;

	load(pit, 0, 0x34, 2);			/* 600 kHz asked */
	set_time(shim_now + 10 * NSEC_PER_MSEC);
	EXPECT_LE(nr_edges, 100);
	EXPECT_GE(nr_edges, 99);
	load(pit, 0, 0x36, 1);			/* mode 3, count 1 */
	set_time(shim_now + 10 * NSEC_PER_MSEC);
	EXPECT_LE(nr_edges, 200);
}

TEST_F(pit, mode3_and_lsb_only)
{
	struct vmm_pit *pit = self->pit;
	ktime_t t0 = shim_now;

	outb(pit, 0x43, 0x96);			/* ch2, LSB only, mode 3 */
	outb(pit, 0x61, 0x01);			/* gate high */
	t0 = shim_now;
	outb(pit, 0x42, 100);
	set_time(at_clock(t0, 10));
	EXPECT_EQ(80, inb(pit, 0x42));		/* by two each clock */
	EXPECT_EQ(0x21, inb(pit, 0x61) & 0x21);	/* first half: OUT high */
	set_time(at_clock(t0, 60));
	EXPECT_EQ(0x01, inb(pit, 0x61) & 0x21);	/* second half: low */
	set_time(at_clock(t0, 100));
	EXPECT_EQ(0x21, inb(pit, 0x61) & 0x21);

	/* MSB only. */
	outb(pit, 0x43, 0xa0);			/* ch2, MSB only, mode 0 */
	t0 = shim_now;
	outb(pit, 0x42, 0x10);			/* 0x1000 */
	set_time(at_clock(t0, 0x100));
	EXPECT_EQ(0x0f, inb(pit, 0x42));
	EXPECT_EQ(0, nr_edges);			/* channel 2 has no IRQ */
}

TEST_F(pit, readback_and_status)
{
	struct vmm_pit *pit = self->pit;
	ktime_t t0 = shim_now;

	load(pit, 0, 0x34, 1000);
	set_time(at_clock(t0, 100));
	outb(pit, 0x43, 0xc2);			/* count and status, ch0 */
	set_time(at_clock(t0, 200));
	EXPECT_EQ(0xb4, inb(pit, 0x40));	/* OUT, lo/hi, mode 2 */
	EXPECT_EQ(900 & 0xff, inb(pit, 0x40));
	EXPECT_EQ(900 >> 8, inb(pit, 0x40));
	/* Unlatched reads follow the clock. */
	EXPECT_EQ(800 & 0xff, inb(pit, 0x40));
	EXPECT_EQ(800 >> 8, inb(pit, 0x40));

	/* A second latch before the first is read does nothing. */
	outb(pit, 0x43, 0x00);
	set_time(at_clock(t0, 300));
	outb(pit, 0x43, 0x00);
	EXPECT_EQ(800 & 0xff, inb(pit, 0x40));
	EXPECT_EQ(800 >> 8, inb(pit, 0x40));

	/* Status only, after a control word: null count, OUT per mode. */
	outb(pit, 0x43, 0xb0);			/* ch2 mode 0 */
	outb(pit, 0x43, 0xe8);			/* status of ch2 */
	EXPECT_EQ(0x70, inb(pit, 0x42));	/* OUT low, null count */
	outb(pit, 0x42, 0x10);
	outb(pit, 0x42, 0x00);
	outb(pit, 0x43, 0xe8);
	EXPECT_EQ(0x30, inb(pit, 0x42));	/* loaded, gate low */
	/* BCD. */
	outb(pit, 0x43, 0xb1);
	outb(pit, 0x61, 0x01);
	t0 = shim_now;
	outb(pit, 0x42, 0x34);
	outb(pit, 0x42, 0x12);			/* 1234 decimal */
	set_time(at_clock(t0, 1));
	EXPECT_EQ(0x1233, latched(pit, 2));
	set_time(at_clock(t0, 1235));
	EXPECT_EQ(0x9999, latched(pit, 2));
}

/* Linux's pit_calibrate_tsc(): channel 2 in mode 0, poll 0x61 bit 5. */
TEST_F(pit, calibrate_tsc_pattern)
{
	struct vmm_pit *pit = self->pit;
	u32 latch = PIT_HZ / 100;		/* 10 ms */
	ktime_t t0;

	outb(pit, 0x61, (inb(pit, 0x61) & ~0x02) | 0x01);
	outb(pit, 0x43, 0xb0);
	outb(pit, 0x42, latch & 0xff);
	t0 = shim_now;
	outb(pit, 0x42, latch >> 8);
	EXPECT_EQ(0, inb(pit, 0x61) & 0x20);
	set_time(at_clock(t0, latch - 1));
	EXPECT_EQ(0, inb(pit, 0x61) & 0x20);
	set_time(at_clock(t0, latch));
	EXPECT_EQ(0x20, inb(pit, 0x61) & 0x20);
	EXPECT_EQ(0x01, inb(pit, 0x61) & 0x03);

	/* Gate low suspends counting in mode 0; high resumes it. */
	outb(pit, 0x43, 0xb0);
	outb(pit, 0x42, 0xe8);
	t0 = shim_now;
	outb(pit, 0x42, 0x03);			/* 1000 */
	set_time(at_clock(t0, 400));
	outb(pit, 0x61, 0x00);
	EXPECT_EQ(600, latched(pit, 2));
	set_time(shim_now + NSEC_PER_MSEC);
	EXPECT_EQ(600, latched(pit, 2));
	EXPECT_EQ(0, inb(pit, 0x61) & 0x21);
	t0 = shim_now;
	outb(pit, 0x61, 0x01);
	set_time(at_clock(t0, 599));
	EXPECT_EQ(0, inb(pit, 0x61) & 0x20);
	set_time(at_clock(t0, 601));
	EXPECT_EQ(0x20, inb(pit, 0x61) & 0x20);
}

/* Linux's quick_pit_calibrate(): the MSB falls by one every 256 clocks. */
TEST_F(pit, quick_calibrate_pattern)
{
	struct vmm_pit *pit = self->pit;
	ktime_t t0;
	int i;

	outb(pit, 0x61, (inb(pit, 0x61) & ~0x02) | 0x01);
	outb(pit, 0x43, 0xb0);
	outb(pit, 0x42, 0xff);
	t0 = shim_now;
	outb(pit, 0x42, 0xff);
	for (i = 0; i < 200; i++) {
		u8 lo, hi;

		set_time(at_clock(t0, 256ULL * i + 7));
		lo = inb(pit, 0x42);
		hi = inb(pit, 0x42);
		EXPECT_EQ(0xff - i, hi);
		EXPECT_EQ(0xf8, lo);
	}
}

TEST_F(pit, port61)
{
	struct vmm_pit *pit = self->pit;
	int toggles = 0, i;
	u8 last, v;

	outb(pit, 0x61, 0xff);
	EXPECT_EQ(0x03, inb(pit, 0x61) & 0xcf);	/* keeps bits 0-1 only */
	outb(pit, 0x61, 0x02);
	EXPECT_EQ(0x02, inb(pit, 0x61) & 0xcf);
	outb(pit, 0x61, 0xfc);
	EXPECT_EQ(0x00, inb(pit, 0x61) & 0xcf);
	last = inb(pit, 0x61) & 0x10;
	for (i = 0; i < 100; i++) {
		set_time(shim_now + 7000);
		v = inb(pit, 0x61) & 0x10;
		toggles += v != last;
		last = v;
	}
	/* 700 us of refresh requests every 15.085 us */
	EXPECT_GE(toggles, 40);
	EXPECT_LE(toggles, 50);
}

TEST_F(pit, wide_access_and_hostile_input)
{
	struct vmm_pit *pit = self->pit;
	u32 val = 0;
	int i;

	EXPECT_FALSE(vmm_pit_pio(pit, 0x44, 1, true, &val));
	EXPECT_FALSE(vmm_pit_pio(pit, 0x3f, 1, false, &val));
	EXPECT_FALSE(vmm_pit_pio(pit, 0x60, 1, true, &val));
	/* A 16-bit read of 0x40 is 0x40 then 0x41, as on the ISA bus. */
	outb(pit, 0x43, 0x10);			/* ch0, LSB only */
	outb(pit, 0x40, 0x55);
	outb(pit, 0x43, 0x50);			/* ch1, LSB only */
	outb(pit, 0x41, 0x66);
	EXPECT_TRUE(vmm_pit_pio(pit, 0x40, 2, true, &val));
	EXPECT_EQ(0x6655, val);
	EXPECT_TRUE(vmm_pit_pio(pit, 0x61, 4, true, &val));
	EXPECT_EQ(0xffffff00, val & 0xffffff00);
	/* A read of the write-only control port. */
	val = 0;
	EXPECT_TRUE(vmm_pit_pio(pit, 0x43, 1, true, &val));
	EXPECT_EQ(0xff, val);
	for (i = 0; i < 100000; i++) {
		static const u16 ports[] = { 0x40, 0x41, 0x42, 0x43, 0x61 };

		val = i * 2654435761u;
		vmm_pit_pio(pit, ports[i % 5], 1 << (i % 3), (i >> 2) & 1,
			    &val);
		if (!(i % 100))
			set_time(shim_now + (i % 7) * 100000);
	}
}

TEST_HARNESS_MAIN
