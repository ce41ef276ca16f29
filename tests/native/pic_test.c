// SPDX-License-Identifier: GPL-2.0
/*
 * Native tests of the 8259A pair (kmod/irq/pic.c) through its entry
 * points: the guest's port accesses, the line levels from the router, and
 * the INTA cycle the vCPU runs.  Programmed the way Linux's i8259.c does.
 */
#include "kshim.h"
#include "irq/irq.h"

#include "kselftest_harness.h"

static int changed_calls;

/* The fake of h1's lapic.c: must be called without the PIC's lock. */
void vmm_irq_pic_changed(struct vmm_vm *vm)
{
	assert(shim_locks_held == 0);
	changed_calls++;
}

static void outb(struct vmm_pic *pic, u16 port, u8 v)
{
	u32 val = v;

	assert(vmm_pic_pio(pic, port, false, &val));
}

static u8 inb(struct vmm_pic *pic, u16 port)
{
	u32 val = 0xdeadbeef;

	assert(vmm_pic_pio(pic, port, true, &val));
	assert(val <= 0xff);
	return val;
}

/* Linux's init_8259A(): vectors 0x20 and 0x28, @icw4 on both. */
static void pic_init(struct vmm_pic *pic, u8 icw4)
{
	outb(pic, 0x21, 0xff);
	outb(pic, 0xa1, 0xff);
	outb(pic, 0x20, 0x11);
	outb(pic, 0x21, 0x20);
	outb(pic, 0x21, 0x04);
	outb(pic, 0x21, icw4);
	outb(pic, 0xa0, 0x11);
	outb(pic, 0xa1, 0x28);
	outb(pic, 0xa1, 0x02);
	outb(pic, 0xa1, icw4);
	outb(pic, 0x21, 0x00);
	outb(pic, 0xa1, 0x00);
}

static u8 irr(struct vmm_pic *pic, u16 base)
{
	outb(pic, base, 0x0a);
	return inb(pic, base);
}

static u8 isr(struct vmm_pic *pic, u16 base)
{
	outb(pic, base, 0x0b);
	return inb(pic, base);
}

static void pulse(struct vmm_pic *pic, int irq)
{
	vmm_pic_set_irq(pic, irq, 1);
	vmm_pic_set_irq(pic, irq, 0);
}

FIXTURE(pic) {
	struct vmm_pic *pic;
};

FIXTURE_SETUP(pic)
{
	self->pic = vmm_pic_create(NULL);
	ASSERT_FALSE(IS_ERR(self->pic));
	pic_init(self->pic, 0x01);
	changed_calls = 0;
}

FIXTURE_TEARDOWN(pic)
{
	vmm_pic_destroy(self->pic);
}

TEST_F(pic, init_mask_ack_eoi)
{
	struct vmm_pic *pic = self->pic;

	EXPECT_EQ(0, inb(pic, 0x21));
	outb(pic, 0x21, 0xfd);		/* mask all but IRQ1 */
	EXPECT_EQ(0xfd, inb(pic, 0x21));
	outb(pic, 0x21, 0xff);
	vmm_pic_set_irq(pic, 1, 1);
	EXPECT_FALSE(vmm_pic_output(pic));
	EXPECT_EQ(0, changed_calls);
	EXPECT_EQ(0x02, irr(pic, 0x20));	/* requested while masked */

	outb(pic, 0x21, 0xfd);
	EXPECT_TRUE(vmm_pic_output(pic));
	EXPECT_EQ(1, changed_calls);
	EXPECT_EQ(0x21, vmm_pic_intack(pic));
	EXPECT_FALSE(vmm_pic_output(pic));
	EXPECT_EQ(0x00, irr(pic, 0x20));
	EXPECT_EQ(0x02, isr(pic, 0x20));

	/* Still high: no new edge, no new request. */
	vmm_pic_set_irq(pic, 1, 1);
	outb(pic, 0x20, 0x20);		/* non-specific EOI */
	EXPECT_EQ(0x00, isr(pic, 0x20));
	EXPECT_FALSE(vmm_pic_output(pic));

	/* A new edge. */
	vmm_pic_set_irq(pic, 1, 0);
	vmm_pic_set_irq(pic, 1, 1);
	EXPECT_TRUE(vmm_pic_output(pic));
	EXPECT_EQ(0x21, vmm_pic_intack(pic));
	outb(pic, 0x20, 0x61);		/* specific EOI, IR1 */
	EXPECT_EQ(0x00, isr(pic, 0x20));
}

TEST_F(pic, priority_and_nesting)
{
	struct vmm_pic *pic = self->pic;

	pulse(pic, 3);
	pulse(pic, 1);
	EXPECT_EQ(0x21, vmm_pic_intack(pic));
	/* IRQ3 waits behind IRQ1 in service... */
	EXPECT_FALSE(vmm_pic_output(pic));
	/* ...IRQ0 does not. */
	pulse(pic, 0);
	EXPECT_TRUE(vmm_pic_output(pic));
	EXPECT_EQ(0x20, vmm_pic_intack(pic));
	EXPECT_EQ(0x03, isr(pic, 0x20));
	outb(pic, 0x20, 0x20);		/* ends IRQ0, the highest */
	EXPECT_EQ(0x02, isr(pic, 0x20));
	EXPECT_FALSE(vmm_pic_output(pic));
	outb(pic, 0x20, 0x20);
	EXPECT_TRUE(vmm_pic_output(pic));
	EXPECT_EQ(0x23, vmm_pic_intack(pic));
	outb(pic, 0x20, 0x20);
	EXPECT_EQ(0, isr(pic, 0x20));
	EXPECT_FALSE(vmm_pic_output(pic));
}

TEST_F(pic, rotation)
{
	struct vmm_pic *pic = self->pic;

	outb(pic, 0x20, 0xc3);		/* IR3 lowest: IR4 highest */
	pulse(pic, 1);
	pulse(pic, 5);
	EXPECT_EQ(0x25, vmm_pic_intack(pic));
	/* Rotate on non-specific EOI: IR5 becomes the lowest. */
	outb(pic, 0x20, 0xa0);
	pulse(pic, 5);
	EXPECT_EQ(0x21, vmm_pic_intack(pic));
	outb(pic, 0x20, 0x20);
	EXPECT_EQ(0x25, vmm_pic_intack(pic));
	outb(pic, 0x20, 0xe5);		/* rotate on specific EOI */
	EXPECT_EQ(0, isr(pic, 0x20));
	EXPECT_FALSE(vmm_pic_output(pic));
}

TEST_F(pic, spurious)
{
	struct vmm_pic *pic = self->pic;

	/* A level request gone before INTA: IRQ 7, nothing in service. */
	outb(pic, 0x4d0, 0x20);
	vmm_pic_set_irq(pic, 5, 1);
	EXPECT_TRUE(vmm_pic_output(pic));
	vmm_pic_set_irq(pic, 5, 0);
	EXPECT_FALSE(vmm_pic_output(pic));
	EXPECT_EQ(0x27, vmm_pic_intack(pic));
	EXPECT_EQ(0, isr(pic, 0x20));

	/* Through the cascade: the master has latched IR2, the slave is empty. */
	outb(pic, 0x4d1, 0x04);
	vmm_pic_set_irq(pic, 10, 1);
	EXPECT_TRUE(vmm_pic_output(pic));
	vmm_pic_set_irq(pic, 10, 0);
	EXPECT_TRUE(vmm_pic_output(pic));
	EXPECT_EQ(0x2f, vmm_pic_intack(pic));
	EXPECT_EQ(0, isr(pic, 0xa0));
	EXPECT_EQ(0x04, isr(pic, 0x20));	/* Linux EOIs the master */
}

TEST_F(pic, cascade)
{
	struct vmm_pic *pic = self->pic;

	pulse(pic, 12);
	EXPECT_TRUE(vmm_pic_output(pic));
	EXPECT_EQ(0x10, irr(pic, 0xa0));
	EXPECT_EQ(0x2c, vmm_pic_intack(pic));
	EXPECT_EQ(0x10, isr(pic, 0xa0));
	EXPECT_EQ(0x04, isr(pic, 0x20));
	/* The slave masked: its requests wait in IRR. */
	outb(pic, 0xa1, 0xff);
	pulse(pic, 8);
	EXPECT_EQ(0x01, irr(pic, 0xa0));
	outb(pic, 0xa0, 0x20);
	outb(pic, 0x20, 0x20);
	EXPECT_FALSE(vmm_pic_output(pic));
	outb(pic, 0xa1, 0x00);
	EXPECT_TRUE(vmm_pic_output(pic));
	EXPECT_EQ(0x28, vmm_pic_intack(pic));
	/* A master IRQ above the cascade preempts the slave's. */
	pulse(pic, 1);
	EXPECT_TRUE(vmm_pic_output(pic));
	EXPECT_EQ(0x21, vmm_pic_intack(pic));
	/* A slave IRQ waits behind the cascade in service. */
	pulse(pic, 9);
	EXPECT_FALSE(vmm_pic_output(pic));
	outb(pic, 0x20, 0x20);			/* IR1 */
	outb(pic, 0xa0, 0x20);			/* IRQ8 */
	outb(pic, 0x20, 0x20);			/* IR2 */
	EXPECT_TRUE(vmm_pic_output(pic));
	EXPECT_EQ(0x29, vmm_pic_intack(pic));
}

TEST_F(pic, elcr_level)
{
	struct vmm_pic *pic = self->pic;

	outb(pic, 0x4d0, 0xff);
	outb(pic, 0x4d1, 0xff);
	EXPECT_EQ(0xf8, inb(pic, 0x4d0));	/* IRQ 0-2 are edge only */
	EXPECT_EQ(0xde, inb(pic, 0x4d1));	/* ... and 8 and 13 */
	outb(pic, 0x4d0, 0x00);
	outb(pic, 0x4d1, 0x04);

	vmm_pic_set_irq(pic, 10, 1);
	EXPECT_EQ(0x2a, vmm_pic_intack(pic));
	EXPECT_EQ(0x04, irr(pic, 0xa0));	/* level: still requested */
	outb(pic, 0xa0, 0x20);
	outb(pic, 0x20, 0x20);
	/* Still asserted: it interrupts again, without a new edge. */
	EXPECT_TRUE(vmm_pic_output(pic));
	EXPECT_EQ(0x2a, vmm_pic_intack(pic));
	vmm_pic_set_irq(pic, 10, 0);
	EXPECT_EQ(0x00, irr(pic, 0xa0));
	outb(pic, 0xa0, 0x20);
	outb(pic, 0x20, 0x20);
	EXPECT_FALSE(vmm_pic_output(pic));

	/* An edge line ignores a level held high. */
	vmm_pic_set_irq(pic, 11, 1);
	EXPECT_EQ(0x2b, vmm_pic_intack(pic));
	outb(pic, 0xa0, 0x20);
	outb(pic, 0x20, 0x20);
	EXPECT_FALSE(vmm_pic_output(pic));
}

TEST_F(pic, auto_eoi_and_poll)
{
	struct vmm_pic *pic = self->pic;

	pic_init(pic, 0x03);			/* 8086 mode, auto EOI */
	pulse(pic, 4);
	EXPECT_EQ(0x24, vmm_pic_intack(pic));
	EXPECT_EQ(0, isr(pic, 0x20));
	pulse(pic, 6);
	EXPECT_TRUE(vmm_pic_output(pic));

	pic_init(pic, 0x01);
	pulse(pic, 6);
	outb(pic, 0x20, 0x0c);			/* poll */
	EXPECT_EQ(0x86, inb(pic, 0x20));
	EXPECT_EQ(0x40, isr(pic, 0x20));
	EXPECT_FALSE(vmm_pic_output(pic));
	outb(pic, 0x20, 0x0c);
	EXPECT_EQ(0x00, inb(pic, 0x20));	/* nothing pending */
	outb(pic, 0x20, 0x20);

	/* Polling the slave takes its request; the master has none left. */
	pulse(pic, 11);
	EXPECT_TRUE(vmm_pic_output(pic));
	outb(pic, 0xa0, 0x0c);
	EXPECT_EQ(0x83, inb(pic, 0xa0));
	EXPECT_EQ(0x08, isr(pic, 0xa0));
	EXPECT_EQ(0x00, isr(pic, 0x20));
	EXPECT_EQ(0x00, irr(pic, 0x20));
	EXPECT_FALSE(vmm_pic_output(pic));
	outb(pic, 0xa0, 0x20);
	EXPECT_EQ(0x00, isr(pic, 0xa0));
}

TEST_F(pic, special_mask)
{
	struct vmm_pic *pic = self->pic;

	pulse(pic, 3);
	EXPECT_EQ(0x23, vmm_pic_intack(pic));
	pulse(pic, 5);
	EXPECT_FALSE(vmm_pic_output(pic));
	/* Special mask mode with IR3 masked lets IR5 through. */
	outb(pic, 0x21, 0x08);
	outb(pic, 0x20, 0x68);
	EXPECT_TRUE(vmm_pic_output(pic));
	EXPECT_EQ(0x25, vmm_pic_intack(pic));
	outb(pic, 0x20, 0x48);			/* special mask off */
	outb(pic, 0x20, 0x65);
	outb(pic, 0x20, 0x63);
	EXPECT_EQ(0, isr(pic, 0x20));
}

TEST_F(pic, hostile_input)
{
	struct vmm_pic *pic = self->pic;
	u32 val = 0;

	vmm_pic_set_irq(pic, -1, 1);
	vmm_pic_set_irq(pic, 16, 1);
	vmm_pic_set_irq(pic, 1000, 1);
	EXPECT_FALSE(vmm_pic_output(pic));
	EXPECT_FALSE(vmm_pic_pio(pic, 0x22, true, &val));
	EXPECT_FALSE(vmm_pic_pio(pic, 0x4d2, false, &val));
	/* Every byte to every port, in every state: no crash, no UB. */
	for (int i = 0; i < 4096; i++) {
		static const u16 ports[] = { 0x20, 0x21, 0xa0, 0xa1,
					     0x4d0, 0x4d1 };
		u16 port = ports[(i * 7) % 6];

		val = (i * 37) & 0xff;
		vmm_pic_pio(pic, port, i & 1, &val);
		vmm_pic_set_irq(pic, i & 15, (i >> 4) & 1);
		if (vmm_pic_output(pic))
			vmm_pic_intack(pic);
	}
}

TEST_HARNESS_MAIN
