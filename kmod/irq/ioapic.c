// SPDX-License-Identifier: GPL-2.0
/*
 * The IOAPIC: an 82093AA as PC chipsets have it, version 0x11 with 24
 * pins, its IOREGSEL/IOWIN window at 0xfec00000.
 *
 * Lines are logical: vmm_ioapic_set_irq(pin, 1) means "asserted" whatever
 * polarity the guest programmed, since the devices behind the lines are
 * ours and say what they mean; the polarity bit is kept for the guest to
 * read back.  Edge pins deliver on a rising edge of an unmasked pin (an
 * edge while masked is lost, as on the chip).  Level pins deliver while
 * the line is asserted and Remote IRR is clear, and set Remote IRR; the
 * guest's EOI of the vector clears it and delivers again if the line is
 * still asserted.
 */
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "irq.h"

#define IOREGSEL		0x00
#define IOWIN			0x10

#define IOAPIC_REG_ID		0x00
#define IOAPIC_REG_VERSION	0x01
#define IOAPIC_REG_ARB		0x02
#define IOAPIC_REG_REDTBL	0x10

#define IOAPIC_VERSION		(0x11 | ((VMM_IOAPIC_PINS - 1) << 16))

/* Redirection entry, low dword. */
#define RTE_VECTOR		0xffULL
#define RTE_DM_SHIFT		8
#define RTE_DM_MASK		(7ULL << RTE_DM_SHIFT)
#define RTE_DEST_LOGICAL	(1ULL << 11)
#define RTE_DELIVS		(1ULL << 12)	/* read-only */
#define RTE_POLARITY_LOW	(1ULL << 13)
#define RTE_REMOTE_IRR		(1ULL << 14)	/* read-only */
#define RTE_LEVEL		(1ULL << 15)
#define RTE_MASKED		(1ULL << 16)
#define RTE_RO			(RTE_DELIVS | RTE_REMOTE_IRR)
#define RTE_DEST_SHIFT		56

/*
 * The interrupt storm guard: a level line the guest EOIs while its
 * device keeps it asserted is delivered again at once, and a guest that
 * does not (or cannot) quiet the device loops through here forever.
 * After this many back-to-back re-deliveries of one pin, the next one
 * waits STORM_DELAY_NS, which costs a healthy guest nothing.
 */
#define STORM_EOIS		10000
#define STORM_DELAY_NS		(10 * NSEC_PER_MSEC)

struct vmm_ioapic {
	spinlock_t lock;
	struct vmm_vm *vm;
	u32 ioregsel;
	u8 id;
	u32 lines;			/* asserted lines, one bit per pin */
	u64 rte[VMM_IOAPIC_PINS];
	u32 eoi_redelivered[VMM_IOAPIC_PINS];	/* storm guard counts */
	u32 storm_pins;			/* pins waiting for storm_timer */
	struct hrtimer storm_timer;
};

/*
 * Send pin @pin's message if the pin wants to interrupt now; ioapic->lock
 * held (vmm_lapic_deliver takes only LAPIC locks, which come after it).
 */
static void ioapic_service(struct vmm_ioapic *ioapic, int pin)
{
	u64 e = ioapic->rte[pin];
	struct vmm_apic_irq irq = {
		.vector = e & RTE_VECTOR,
		.delivery_mode = (e & RTE_DM_MASK) >> RTE_DM_SHIFT,
		.dest = e >> RTE_DEST_SHIFT,
		.dest_logical = e & RTE_DEST_LOGICAL,
		.level = e & RTE_LEVEL,
	};
	int ret;

	if (e & RTE_MASKED)
		return;
	if (e & RTE_LEVEL) {
		if (!(ioapic->lines & BIT(pin)) || (e & RTE_REMOTE_IRR))
			return;
	}
	ret = vmm_lapic_deliver(ioapic->vm, &irq);
	/*
	 * Remote IRR means a local APIC took the level interrupt and owes
	 * an EOI; with no taker, none will come, so it stays clear.
	 */
	if ((e & RTE_LEVEL) && ret > 0)
		ioapic->rte[pin] |= RTE_REMOTE_IRR;
}

static enum hrtimer_restart ioapic_storm_fn(struct hrtimer *t)
{
	struct vmm_ioapic *ioapic = container_of(t, struct vmm_ioapic,
						 storm_timer);
	unsigned long flags;
	u32 pins;
	int pin;

	spin_lock_irqsave(&ioapic->lock, flags);
	pins = ioapic->storm_pins;
	ioapic->storm_pins = 0;
	for (pin = 0; pin < VMM_IOAPIC_PINS; pin++)
		if (pins & BIT(pin))
			ioapic_service(ioapic, pin);
	spin_unlock_irqrestore(&ioapic->lock, flags);
	return HRTIMER_NORESTART;
}

struct vmm_ioapic *vmm_ioapic_create(struct vmm_vm *vm)
{
	struct vmm_ioapic *ioapic;
	int pin;

	ioapic = kzalloc(sizeof(*ioapic), GFP_KERNEL);
	if (!ioapic)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&ioapic->lock);
	ioapic->vm = vm;
	for (pin = 0; pin < VMM_IOAPIC_PINS; pin++)
		ioapic->rte[pin] = RTE_MASKED;
	hrtimer_init(&ioapic->storm_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	ioapic->storm_timer.function = ioapic_storm_fn;
	return ioapic;
}

void vmm_ioapic_destroy(struct vmm_ioapic *ioapic)
{
	hrtimer_cancel(&ioapic->storm_timer);
	kfree(ioapic);
}

void vmm_ioapic_set_irq(struct vmm_ioapic *ioapic, int pin, int level)
{
	unsigned long flags;
	u32 old;

	if (pin < 0 || pin >= VMM_IOAPIC_PINS)
		return;
	spin_lock_irqsave(&ioapic->lock, flags);
	old = ioapic->lines;
	if (level) {
		ioapic->lines |= BIT(pin);
		/* Edge: only a rising edge counts.  Level: while asserted. */
		if ((ioapic->rte[pin] & RTE_LEVEL) || !(old & BIT(pin)))
			ioapic_service(ioapic, pin);
	} else {
		ioapic->lines &= ~BIT(pin);
		ioapic->eoi_redelivered[pin] = 0;
	}
	spin_unlock_irqrestore(&ioapic->lock, flags);
}

void vmm_ioapic_eoi(struct vmm_ioapic *ioapic, u8 vector)
{
	unsigned long flags;
	int pin;

	spin_lock_irqsave(&ioapic->lock, flags);
	for (pin = 0; pin < VMM_IOAPIC_PINS; pin++) {
		u64 e = ioapic->rte[pin];

		if ((e & RTE_VECTOR) != vector || !(e & RTE_LEVEL) ||
		    !(e & RTE_REMOTE_IRR))
			continue;
		ioapic->rte[pin] &= ~RTE_REMOTE_IRR;
		if ((e & RTE_MASKED) || !(ioapic->lines & BIT(pin))) {
			ioapic->eoi_redelivered[pin] = 0;
			continue;
		}
		if (++ioapic->eoi_redelivered[pin] < STORM_EOIS) {
			ioapic_service(ioapic, pin);
			continue;
		}
		ioapic->eoi_redelivered[pin] = 0;
		if (!ioapic->storm_pins)
			pr_warn_ratelimited("vmm: IOAPIC pin %d: interrupt storm, re-delivery delayed\n",
					    pin);
		ioapic->storm_pins |= BIT(pin);
		/* Queued, not active: a running callback has taken its pins. */
		if (!hrtimer_is_queued(&ioapic->storm_timer))
			hrtimer_start(&ioapic->storm_timer,
				      ns_to_ktime(STORM_DELAY_NS),
				      HRTIMER_MODE_REL);
	}
	spin_unlock_irqrestore(&ioapic->lock, flags);
}

static u32 ioapic_read(struct vmm_ioapic *ioapic)
{
	u32 reg = ioapic->ioregsel;
	u32 pin;

	switch (reg) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return (u32)ioapic->id << 24;
	case IOAPIC_REG_VERSION:
		return IOAPIC_VERSION;
	}
	pin = (reg - IOAPIC_REG_REDTBL) >> 1;
	if (reg < IOAPIC_REG_REDTBL || pin >= VMM_IOAPIC_PINS)
		return 0;
	if (reg & 1)
		return ioapic->rte[pin] >> 32;
	return (u32)ioapic->rte[pin];
}

static void ioapic_write(struct vmm_ioapic *ioapic, u32 val)
{
	u32 reg = ioapic->ioregsel;
	u64 e, old;
	u32 pin;

	if (reg == IOAPIC_REG_ID) {
		ioapic->id = (val >> 24) & 0xf;
		return;
	}
	pin = (reg - IOAPIC_REG_REDTBL) >> 1;
	if (reg < IOAPIC_REG_REDTBL || pin >= VMM_IOAPIC_PINS)
		return;		/* version, arbitration: read-only */
	old = ioapic->rte[pin];
	if (reg & 1)
		e = (old & 0xffffffffULL) | ((u64)val << 32);
	else
		e = (old & ~0xffffffffULL) | (val & ~RTE_RO) | (old & RTE_RO);
	/* Remote IRR only means something for a level-triggered pin. */
	if (!(e & RTE_LEVEL))
		e &= ~RTE_REMOTE_IRR;
	ioapic->rte[pin] = e;
	/* An asserted level line unmasked (or made level) interrupts now. */
	if ((e & RTE_LEVEL) && !(e & RTE_MASKED))
		ioapic_service(ioapic, pin);
}

void vmm_ioapic_mmio(struct vmm_ioapic *ioapic, u32 off, bool write,
		     u32 *val)
{
	unsigned long flags;
	u32 v = write ? *val : 0;

	spin_lock_irqsave(&ioapic->lock, flags);
	switch (off) {
	case IOREGSEL:
		if (write)
			ioapic->ioregsel = v & 0xff;
		else
			v = ioapic->ioregsel;
		break;
	case IOWIN:
		if (write)
			ioapic_write(ioapic, v);
		else
			v = ioapic_read(ioapic);
		break;
	default:
		break;		/* reserved: reads 0, writes dropped */
	}
	spin_unlock_irqrestore(&ioapic->lock, flags);
	if (!write)
		*val = v;
}
