// SPDX-License-Identifier: GPL-2.0
/*
 * Native tests of the IOAPIC (kmod/irq/ioapic.c): its registers through
 * the MMIO window, edge and level delivery, Remote IRR and the EOI that
 * re-delivers, masking, polarity, and the interrupt storm guard.  A fake
 * vmm_lapic_deliver() records each message.
 */
#include "kshim.h"
#include "irq/irq.h"

#include "kselftest_harness.h"

#define MAX_CALLS	64

static struct vmm_apic_irq calls[MAX_CALLS];
static int nr_calls;		/* all deliveries */
static int deliver_ret = 1;	/* LAPICs that "accepted" */

int vmm_lapic_deliver(struct vmm_vm *vm, const struct vmm_apic_irq *irq)
{
	/* The IOAPIC may hold its own lock, and only that one. */
	assert(shim_locks_held <= 1);
	if (nr_calls < MAX_CALLS)
		calls[nr_calls] = *irq;
	nr_calls++;
	return deliver_ret;
}

static u32 rd(struct vmm_ioapic *io, u32 reg)
{
	u32 v = reg;

	vmm_ioapic_mmio(io, 0x00, true, &v);
	vmm_ioapic_mmio(io, 0x10, false, &v);
	return v;
}

static void wr(struct vmm_ioapic *io, u32 reg, u32 val)
{
	u32 v = reg;

	vmm_ioapic_mmio(io, 0x00, true, &v);
	vmm_ioapic_mmio(io, 0x10, true, &val);
}

#define RTE_LEVEL	(1u << 15)
#define RTE_MASK	(1u << 16)
#define RTE_RIRR	(1u << 14)
#define RTE_LOW		(1u << 13)
#define RTE_LOGICAL	(1u << 11)

static void rte(struct vmm_ioapic *io, int pin, u32 lo, u8 dest)
{
	wr(io, 0x11 + 2 * pin, (u32)dest << 24);
	wr(io, 0x10 + 2 * pin, lo);
}

FIXTURE(ioapic) {
	struct vmm_ioapic *io;
};

FIXTURE_SETUP(ioapic)
{
	self->io = vmm_ioapic_create(NULL);
	ASSERT_FALSE(IS_ERR(self->io));
	nr_calls = 0;
	deliver_ret = 1;
	shim_warnings = 0;
}

FIXTURE_TEARDOWN(ioapic)
{
	vmm_ioapic_destroy(self->io);
	shim_check_no_timers();
}

TEST_F(ioapic, registers)
{
	struct vmm_ioapic *io = self->io;
	u32 v;

	EXPECT_EQ(0x00170011, rd(io, 0x01));
	wr(io, 0x01, 0);
	EXPECT_EQ(0x00170011, rd(io, 0x01));
	EXPECT_EQ(0, rd(io, 0x00));
	wr(io, 0x00, 0xff000000);
	EXPECT_EQ(0x0f000000, rd(io, 0x00));
	EXPECT_EQ(0x0f000000, rd(io, 0x02));

	v = 0x3f;
	vmm_ioapic_mmio(io, 0x00, true, &v);
	v = 0;
	vmm_ioapic_mmio(io, 0x00, false, &v);
	EXPECT_EQ(0x3f, v);

	for (int pin = 0; pin < 24; pin++) {
		EXPECT_EQ(RTE_MASK, rd(io, 0x10 + 2 * pin));
		EXPECT_EQ(0, rd(io, 0x11 + 2 * pin));
	}
	/* Delivery status and Remote IRR are read-only. */
	wr(io, 0x10 + 2 * 5, 0xffffffff);
	EXPECT_EQ(0xffffffff & ~(RTE_RIRR | (1u << 12)),
		  rd(io, 0x10 + 2 * 5));
	wr(io, 0x11 + 2 * 5, 0xab000000);
	EXPECT_EQ(0xab000000, rd(io, 0x11 + 2 * 5));
	/* Past the last pin and reserved offsets: 0, and no effect. */
	EXPECT_EQ(0, rd(io, 0x10 + 2 * 24));
	wr(io, 0x10 + 2 * 24, 0x1234);
	EXPECT_EQ(0, rd(io, 0xff));
	v = 0x77;
	vmm_ioapic_mmio(io, 0x20, true, &v);
	vmm_ioapic_mmio(io, 0x40, false, &v);
	EXPECT_EQ(0, v);
	EXPECT_EQ(0, nr_calls);
}

TEST_F(ioapic, edge)
{
	struct vmm_ioapic *io = self->io;

	rte(io, 1, 0x31, 0x01);
	vmm_ioapic_set_irq(io, 1, 1);
	ASSERT_EQ(1, nr_calls);
	EXPECT_EQ(0x31, calls[0].vector);
	EXPECT_EQ(VMM_DM_FIXED, calls[0].delivery_mode);
	EXPECT_EQ(0x01, calls[0].dest);
	EXPECT_FALSE(calls[0].dest_logical);
	EXPECT_FALSE(calls[0].level);
	EXPECT_EQ(0, calls[0].shorthand);
	vmm_ioapic_set_irq(io, 1, 1);		/* no edge */
	EXPECT_EQ(1, nr_calls);
	vmm_ioapic_set_irq(io, 1, 0);
	vmm_ioapic_set_irq(io, 1, 1);
	EXPECT_EQ(2, nr_calls);
	/* No Remote IRR, and an EOI of the vector does nothing. */
	EXPECT_EQ(0x31, rd(io, 0x12));
	vmm_ioapic_eoi(io, 0x31);
	EXPECT_EQ(2, nr_calls);

	/* Masked: the edge is lost, unmasking does not bring it back. */
	vmm_ioapic_set_irq(io, 1, 0);
	rte(io, 1, 0x31 | RTE_MASK, 0x01);
	vmm_ioapic_set_irq(io, 1, 1);
	rte(io, 1, 0x31, 0x01);
	EXPECT_EQ(2, nr_calls);
}

TEST_F(ioapic, fields)
{
	struct vmm_ioapic *io = self->io;

	rte(io, 23, 0x45 | (VMM_DM_LOWEST << 8) | RTE_LOGICAL, 0x0f);
	vmm_ioapic_set_irq(io, 23, 1);
	ASSERT_EQ(1, nr_calls);
	EXPECT_EQ(0x45, calls[0].vector);
	EXPECT_EQ(VMM_DM_LOWEST, calls[0].delivery_mode);
	EXPECT_EQ(0x0f, calls[0].dest);
	EXPECT_TRUE(calls[0].dest_logical);

	rte(io, 0, VMM_DM_EXTINT << 8, 0);
	vmm_ioapic_set_irq(io, 0, 1);
	ASSERT_EQ(2, nr_calls);
	EXPECT_EQ(VMM_DM_EXTINT, calls[1].delivery_mode);
}

TEST_F(ioapic, level_remote_irr_eoi)
{
	struct vmm_ioapic *io = self->io;

	rte(io, 9, 0x39 | RTE_LEVEL | RTE_LOW, 0x00);
	vmm_ioapic_set_irq(io, 9, 1);
	ASSERT_EQ(1, nr_calls);
	EXPECT_TRUE(calls[0].level);
	EXPECT_EQ(0x39, calls[0].vector);
	EXPECT_TRUE(rd(io, 0x10 + 18) & RTE_RIRR);
	/* Still asserted, Remote IRR set: nothing more. */
	vmm_ioapic_set_irq(io, 9, 1);
	EXPECT_EQ(1, nr_calls);
	vmm_ioapic_eoi(io, 0x38);		/* another vector */
	EXPECT_EQ(1, nr_calls);
	/* EOI with the line still asserted: delivered again. */
	vmm_ioapic_eoi(io, 0x39);
	EXPECT_EQ(2, nr_calls);
	EXPECT_TRUE(rd(io, 0x10 + 18) & RTE_RIRR);
	/* The device lets go: the EOI only clears Remote IRR. */
	vmm_ioapic_set_irq(io, 9, 0);
	vmm_ioapic_eoi(io, 0x39);
	EXPECT_EQ(2, nr_calls);
	EXPECT_FALSE(rd(io, 0x10 + 18) & RTE_RIRR);
	/* Polarity low, line asserted (1): delivered. */
	vmm_ioapic_set_irq(io, 9, 1);
	EXPECT_EQ(3, nr_calls);
	vmm_ioapic_set_irq(io, 9, 0);
	vmm_ioapic_eoi(io, 0x39);
}

TEST_F(ioapic, level_eoi_shared_vector)
{
	struct vmm_ioapic *io = self->io;

	/* Two level pins on one vector: one EOI serves both. */
	rte(io, 10, 0x50 | RTE_LEVEL, 0);
	rte(io, 11, 0x50 | RTE_LEVEL, 0);
	vmm_ioapic_set_irq(io, 10, 1);
	vmm_ioapic_set_irq(io, 11, 1);
	EXPECT_EQ(2, nr_calls);
	vmm_ioapic_set_irq(io, 10, 0);
	vmm_ioapic_eoi(io, 0x50);
	EXPECT_EQ(3, nr_calls);		/* pin 11 again */
	EXPECT_FALSE(rd(io, 0x10 + 20) & RTE_RIRR);
	EXPECT_TRUE(rd(io, 0x10 + 22) & RTE_RIRR);
}

TEST_F(ioapic, level_mask_and_trigger_change)
{
	struct vmm_ioapic *io = self->io;

	rte(io, 4, 0x34 | RTE_LEVEL | RTE_MASK, 0);
	vmm_ioapic_set_irq(io, 4, 1);
	EXPECT_EQ(0, nr_calls);
	/* Unmasked while asserted: delivered at once. */
	rte(io, 4, 0x34 | RTE_LEVEL, 0);
	EXPECT_EQ(1, nr_calls);
	/* Masked at EOI: Remote IRR clears, nothing delivered. */
	rte(io, 4, 0x34 | RTE_LEVEL | RTE_MASK, 0);
	vmm_ioapic_eoi(io, 0x34);
	EXPECT_EQ(1, nr_calls);
	EXPECT_FALSE(rd(io, 0x18) & RTE_RIRR);
	rte(io, 4, 0x34 | RTE_LEVEL, 0);
	EXPECT_EQ(2, nr_calls);
	/* Linux's edge-then-level dance clears Remote IRR and re-sends. */
	rte(io, 4, 0x34 | RTE_MASK, 0);
	EXPECT_FALSE(rd(io, 0x18) & RTE_RIRR);
	rte(io, 4, 0x34 | RTE_LEVEL, 0);
	EXPECT_EQ(3, nr_calls);
}

TEST_F(ioapic, no_taker)
{
	struct vmm_ioapic *io = self->io;

	/* Nobody accepted it: no EOI will come, so no Remote IRR. */
	deliver_ret = 0;
	rte(io, 3, 0x33 | RTE_LEVEL, 0x7);
	vmm_ioapic_set_irq(io, 3, 1);
	EXPECT_EQ(1, nr_calls);
	EXPECT_FALSE(rd(io, 0x16) & RTE_RIRR);
}

TEST_F(ioapic, storm)
{
	struct vmm_ioapic *io = self->io;
	int i;

	rte(io, 5, 0x35 | RTE_LEVEL, 0);
	vmm_ioapic_set_irq(io, 5, 1);
	EXPECT_EQ(1, nr_calls);
	/* A guest that EOIs a line its device never lets go. */
	for (i = 0; i < 20000; i++)
		vmm_ioapic_eoi(io, 0x35);
	EXPECT_LE(nr_calls, 10001);
	EXPECT_GE(nr_calls, 9999);
	EXPECT_EQ(1, shim_warnings);
	EXPECT_FALSE(rd(io, 0x1a) & RTE_RIRR);
	/* It is delayed, not lost. */
	i = nr_calls;
	shim_advance_to(shim_now + 9 * NSEC_PER_MSEC);
	EXPECT_EQ(i, nr_calls);
	shim_advance_to(shim_now + 2 * NSEC_PER_MSEC);
	EXPECT_EQ(i + 1, nr_calls);
	EXPECT_TRUE(rd(io, 0x1a) & RTE_RIRR);
	vmm_ioapic_eoi(io, 0x35);
	EXPECT_EQ(i + 2, nr_calls);

	/* Destroyed with the storm timer queued: cancelled (teardown). */
	for (i = 0; i < 10000; i++)
		vmm_ioapic_eoi(io, 0x35);
}

TEST_F(ioapic, hostile_input)
{
	struct vmm_ioapic *io = self->io;
	u32 v;
	int i;

	vmm_ioapic_set_irq(io, -1, 1);
	vmm_ioapic_set_irq(io, 24, 1);
	vmm_ioapic_set_irq(io, 1 << 30, 1);
	EXPECT_EQ(0, nr_calls);
	for (i = 0; i < 100000; i++) {
		v = i * 2654435761u;
		vmm_ioapic_mmio(io, (i * 4) & 0xff, i & 1, &v);
		vmm_ioapic_set_irq(io, i % 24, (i >> 3) & 1);
		vmm_ioapic_eoi(io, i & 0xff);
	}
}

TEST_HARNESS_MAIN
