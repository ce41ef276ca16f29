// SPDX-License-Identifier: GPL-2.0
/*
 * Two cascaded 8259A PICs: the master at ports 0x20/0x21, the slave at
 * 0xa0/0xa1 on the master's IR2, and the edge/level control registers
 * (ELCR) at 0x4d0/0x4d1 as the PIIX/ICH chipsets have them.
 *
 * The model follows the 8259A data sheet: ICW1-ICW4, OCW1-OCW3, fixed
 * and rotating priority, specific and non-specific EOI, automatic EOI,
 * poll mode, special mask mode and special fully nested mode.  A guest
 * can program any of it; nothing it writes can do more than change its
 * own interrupts.
 */
#include <linux/err.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "irq.h"

/* One 8259A. */
struct vmm_8259 {
	u8 last_irr;		/* line levels, for edge detection */
	u8 irr;			/* interrupt request register */
	u8 imr;			/* interrupt mask register */
	u8 isr;			/* in-service register */
	u8 elcr;		/* 1: level-triggered line */
	u8 elcr_mask;		/* lines that can be level-triggered */
	u8 priority_add;	/* the IR with the highest priority */
	u8 irq_base;		/* ICW2: vector of IR0 */
	u8 init_state;		/* next data-port write: 0 OCW1, 1-3 ICW2-4 */
	bool init4;		/* ICW1: an ICW4 follows */
	bool single;		/* ICW1: no slave, no ICW3 */
	bool read_isr;		/* OCW3: command-port reads give ISR */
	bool poll;		/* OCW3: the next read is a poll */
	bool special_mask;	/* OCW3: masked IRs do not block lower ones */
	bool auto_eoi;		/* ICW4 */
	bool rotate_auto_eoi;	/* OCW2 */
	bool sfnm;		/* ICW4: special fully nested mode */
	bool master;
};

struct vmm_pic {
	spinlock_t lock;
	struct vmm_vm *vm;
	struct vmm_8259 chip[2];	/* master, slave */
	bool output;			/* the master's INT pin */
};

#define PIC_CASCADE_IR	2
#define PIC_NO_IRQ	8

/* ELCR bits that exist: IRQ 0, 1, 2, 8 and 13 are edge-only on a PC. */
#define ELCR_MASK_MASTER	0xf8
#define ELCR_MASK_SLAVE		0xde

static void pic_reset_chip(struct vmm_8259 *s)
{
	/*
	 * ICW1 clears the masks and in-service bits and restarts priority;
	 * a level-triggered line that is still asserted stays requested.
	 */
	s->irr &= s->elcr;
	s->last_irr &= s->elcr;
	s->imr = 0;
	s->isr = 0;
	s->priority_add = 0;
	s->irq_base = 0;
	s->init_state = 0;
	s->init4 = false;
	s->single = false;
	s->read_isr = false;
	s->poll = false;
	s->special_mask = false;
	s->auto_eoi = false;
	s->rotate_auto_eoi = false;
	s->sfnm = false;
}

/* Set the request of @irq from a line @level (edge or level per ELCR). */
static void pic_set_line(struct vmm_8259 *s, int irq, int level)
{
	u8 mask = 1 << irq;

	if (s->elcr & mask) {
		if (level) {
			s->irr |= mask;
			s->last_irr |= mask;
		} else {
			s->irr &= ~mask;
			s->last_irr &= ~mask;
		}
		return;
	}
	if (level) {
		if (!(s->last_irr & mask))
			s->irr |= mask;
		s->last_irr |= mask;
	} else {
		s->last_irr &= ~mask;
	}
}

/*
 * Priority (0 highest) of the highest-priority bit of @mask under the
 * current rotation, PIC_NO_IRQ when @mask is empty.
 */
static int pic_priority(const struct vmm_8259 *s, u8 mask)
{
	int p;

	for (p = 0; p < 8; p++)
		if (mask & (1 << ((p + s->priority_add) & 7)))
			return p;
	return PIC_NO_IRQ;
}

/* The IR this chip would signal now, or -1. */
static int pic_pending(const struct vmm_8259 *s)
{
	int req, cur;
	u8 in_service;

	req = pic_priority(s, s->irr & ~s->imr);
	if (req == PIC_NO_IRQ)
		return -1;
	in_service = s->isr;
	/* Special mask mode: masked in-service levels do not block. */
	if (s->special_mask)
		in_service &= ~s->imr;
	/*
	 * Special fully nested mode: the slave may interrupt its own
	 * in-service cascade, so a higher slave IRQ gets through.
	 */
	if (s->sfnm && s->master)
		in_service &= ~(1 << PIC_CASCADE_IR);
	cur = pic_priority(s, in_service);
	if (req < cur)
		return (req + s->priority_add) & 7;
	return -1;
}

/* Recompute the cascade and the master's output; pic->lock held. */
static void pic_update(struct vmm_pic *pic)
{
	struct vmm_8259 *m = &pic->chip[0];

	pic_set_line(m, PIC_CASCADE_IR, pic_pending(&pic->chip[1]) >= 0);
	pic->output = pic_pending(m) >= 0;
}

/* The INTA cycle on one chip for @irq. */
static void pic_ack(struct vmm_8259 *s, int irq)
{
	u8 mask = 1 << irq;

	if (s->auto_eoi) {
		if (s->rotate_auto_eoi)
			s->priority_add = (irq + 1) & 7;
	} else {
		s->isr |= mask;
	}
	/* A level request stays as long as its line is asserted. */
	if (!(s->elcr & mask))
		s->irr &= ~mask;
}

/* Acknowledge the highest request of @s; -1 if there is none. */
static int pic_ack_pending(struct vmm_8259 *s)
{
	int irq = pic_pending(s);

	if (irq >= 0)
		pic_ack(s, irq);
	return irq;
}

/* INTA: the vector the CPU receives, pic->lock held. */
static int pic_intack_locked(struct vmm_pic *pic)
{
	struct vmm_8259 *m = &pic->chip[0], *sl = &pic->chip[1];
	int irq, irq2, vector;

	irq = pic_ack_pending(m);
	if (irq < 0) {
		/* Nothing left to acknowledge: spurious IRQ 7, no ISR bit. */
		vector = m->irq_base + 7;
	} else if (irq == PIC_CASCADE_IR && !m->single) {
		irq2 = pic_ack_pending(sl);
		if (irq2 < 0)
			irq2 = 7;	/* spurious IRQ 15 */
		vector = sl->irq_base + irq2;
	} else {
		vector = m->irq_base + irq;
	}
	pic_update(pic);
	return vector;
}

/* Poll command: the next read acknowledges and returns the request. */
static u8 pic_poll(struct vmm_pic *pic, struct vmm_8259 *s)
{
	int irq;

	s->poll = false;
	if (s->master) {
		irq = pic_ack_pending(s);
		if (irq == PIC_CASCADE_IR && !s->single)
			pic_ack_pending(&pic->chip[1]);
	} else {
		irq = pic_ack_pending(s);
		/*
		 * The slave's INT drops before any INTA reached the master:
		 * its IR2 request goes with it, nothing goes in service.
		 */
		if (irq >= 0)
			pic->chip[0].irr &= ~(1 << PIC_CASCADE_IR);
	}
	pic_update(pic);
	return irq >= 0 ? 0x80 | irq : 0;
}

/* OCW2. */
static void pic_ocw2(struct vmm_8259 *s, u8 val)
{
	int irq, p;

	switch (val >> 5) {
	case 0:		/* rotate in automatic EOI mode: clear */
	case 4:		/* ... set */
		s->rotate_auto_eoi = val & 0x80;
		break;
	case 1:		/* non-specific EOI */
	case 5:		/* rotate on non-specific EOI */
		p = pic_priority(s, s->isr);
		if (p == PIC_NO_IRQ)
			break;
		irq = (p + s->priority_add) & 7;
		s->isr &= ~(1 << irq);
		if (val & 0x80)
			s->priority_add = (irq + 1) & 7;
		break;
	case 3:		/* specific EOI */
		s->isr &= ~(1 << (val & 7));
		break;
	case 6:		/* set priority: IR (val & 7) becomes the lowest */
		s->priority_add = (val + 1) & 7;
		break;
	case 7:		/* rotate on specific EOI */
		irq = val & 7;
		s->isr &= ~(1 << irq);
		s->priority_add = (irq + 1) & 7;
		break;
	default:	/* 2: no operation */
		break;
	}
}

static void pic_write(struct vmm_pic *pic, struct vmm_8259 *s, bool data,
		      u8 val)
{
	if (!data) {
		if (val & 0x10) {		/* ICW1 */
			pic_reset_chip(s);
			s->init4 = val & 0x01;
			s->single = val & 0x02;
			/* LTIM (bit 3): level mode comes from the ELCR. */
			s->init_state = 1;
		} else if (val & 0x08) {	/* OCW3 */
			if (val & 0x04)
				s->poll = true;
			if (val & 0x02)
				s->read_isr = val & 0x01;
			if (val & 0x40)
				s->special_mask = val & 0x20;
		} else {
			pic_ocw2(s, val);
		}
	} else {
		switch (s->init_state) {
		case 0:				/* OCW1 */
			s->imr = val;
			break;
		case 1:				/* ICW2 */
			s->irq_base = val & 0xf8;
			if (!s->single)
				s->init_state = 2;
			else
				s->init_state = s->init4 ? 3 : 0;
			break;
		case 2:				/* ICW3: the wiring is fixed */
			s->init_state = s->init4 ? 3 : 0;
			break;
		default:			/* ICW4 */
			s->auto_eoi = val & 0x02;
			s->sfnm = val & 0x10;
			s->init_state = 0;
			break;
		}
	}
	pic_update(pic);
}

static u8 pic_read(struct vmm_pic *pic, struct vmm_8259 *s, bool data)
{
	if (s->poll)
		return pic_poll(pic, s);
	if (data)
		return s->imr;
	return s->read_isr ? s->isr : s->irr;
}

struct vmm_pic *vmm_pic_create(struct vmm_vm *vm)
{
	struct vmm_pic *pic;

	pic = kzalloc(sizeof(*pic), GFP_KERNEL);
	if (!pic)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&pic->lock);
	pic->vm = vm;
	pic->chip[0].master = true;
	pic->chip[0].elcr_mask = ELCR_MASK_MASTER;
	pic->chip[1].elcr_mask = ELCR_MASK_SLAVE;
	return pic;
}

void vmm_pic_destroy(struct vmm_pic *pic)
{
	kfree(pic);
}

/* Tell the vCPU taking ExtINT when the output is (still) asserted. */
static void pic_notify(struct vmm_pic *pic, bool output)
{
	if (output)
		vmm_irq_pic_changed(pic->vm);
}

void vmm_pic_set_irq(struct vmm_pic *pic, int irq, int level)
{
	unsigned long flags;
	bool out, was;
	u8 irr;

	if (irq < 0 || irq >= 16)
		return;
	spin_lock_irqsave(&pic->lock, flags);
	was = pic->output;
	irr = pic->chip[irq >> 3].irr;
	pic_set_line(&pic->chip[irq >> 3], irq & 7, level);
	pic_update(pic);
	out = pic->output;
	/* Only a new request can need a wake-up. */
	if (irr == pic->chip[irq >> 3].irr && was)
		out = false;
	spin_unlock_irqrestore(&pic->lock, flags);
	pic_notify(pic, out);
}

bool vmm_pic_output(struct vmm_pic *pic)
{
	return READ_ONCE(pic->output);
}

int vmm_pic_intack(struct vmm_pic *pic)
{
	unsigned long flags;
	int vector;

	spin_lock_irqsave(&pic->lock, flags);
	vector = pic_intack_locked(pic);
	spin_unlock_irqrestore(&pic->lock, flags);
	return vector;
}

bool vmm_pic_pio(struct vmm_pic *pic, u16 port, bool in, u32 *val)
{
	struct vmm_8259 *s;
	unsigned long flags;
	bool out = false;
	u8 v = in ? 0 : *val;

	switch (port) {
	case 0x20:
	case 0x21:
	case 0xa0:
	case 0xa1:
		s = &pic->chip[port >> 7];
		spin_lock_irqsave(&pic->lock, flags);
		if (in) {
			v = pic_read(pic, s, port & 1);
		} else {
			pic_write(pic, s, port & 1, v);
			out = pic->output;
		}
		spin_unlock_irqrestore(&pic->lock, flags);
		break;
	case 0x4d0:
	case 0x4d1:
		s = &pic->chip[port & 1];
		spin_lock_irqsave(&pic->lock, flags);
		if (in) {
			v = s->elcr;
		} else {
			s->elcr = v & s->elcr_mask;
			pic_update(pic);
			out = pic->output;
		}
		spin_unlock_irqrestore(&pic->lock, flags);
		break;
	default:
		return false;
	}
	if (in)
		*val = v;
	else
		pic_notify(pic, out);
	return true;
}
