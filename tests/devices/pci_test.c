// SPDX-License-Identifier: GPL-2.0
/*
 * PCI: the host bridge, configuration mechanism #1, BAR sizing, moves and
 * the command register's enables, the capability list, INTx and MSI-X
 * (masked, pending, delivered), garbage in every writable register.  A
 * test device built on pci.h sits beside a virtio-rng.
 */
#include <string.h>

#include "kselftest_harness.h"

#include "dev_util.h"
#include "devices.h"
#include "pci.h"

struct tdev {
	struct pci_dev pci;
	uint32_t io_last, mem_last;
};

static void t_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	uint32_t v = 0xa5000000 | off;

	memcpy(data, &v, size > 4 ? 4 : size);
}

static void t_write(void *opaque, uint64_t off, const void *data,
		    unsigned int size)
{
	struct tdev *t = opaque;

	memcpy(&t->io_last, data, size > 4 ? 4 : size);
}

static const struct io_ops t_ops = { .read = t_read, .write = t_write };

FIXTURE(pci) {
	struct machine *m;
	struct pci_bus *bus;
	struct tdev t;
	unsigned int slot;
};

/* Whether the machine forgets a removed region or keeps it at len 0. */
FIXTURE_VARIANT(pci) {
	bool keep_removed;
};

FIXTURE_VARIANT_ADD(pci, removal_forgets) { false };
FIXTURE_VARIANT_ADD(pci, removal_keeps) { true };

/* The test device's regions in the machine: all, and those decoding. */
static void t_regions(struct machine *m, void *dev, int *all, int *live)
{
	*all = *live = 0;
	for (int i = 0; i < FAKE_REGIONS; i++) {
		if (!m->regions[i].used || m->regions[i].dev != dev)
			continue;
		(*all)++;
		if (m->regions[i].len)
			(*live)++;
	}
}

FIXTURE_SETUP(pci)
{
	self->m = fake_machine_new(16 << 20);
	ASSERT_NE(NULL, self->m);
	self->m->quiet = true;
	self->m->keep_removed = variant->keep_removed;
	self->bus = pci_create(self->m);
	ASSERT_NE(NULL, self->bus);
	pci_dev_init(&self->t.pci, self->m, "tdev");
	pci_set_ids(&self->t.pci, 0x1234, 0x5678, 3, 0xff0000, 0x1234, 1);
	pci_set_bar(&self->t.pci, 0, 32, true, &t_ops, &self->t);
	pci_set_bar(&self->t.pci, 2, 0x2000, false, &t_ops, &self->t);
	pci_msix_init(&self->t.pci, 4, 1);
	ASSERT_EQ(0, pci_dev_add(self->bus, &self->t.pci));
	self->slot = self->t.pci.slot;
	ASSERT_EQ(0, virtio_rng_create(self->m, self->bus));
}

FIXTURE_TEARDOWN(pci)
{
	fake_machine_free(self->m);
}

TEST_F(pci, host_bridge_and_mechanism_1)
{
	struct machine *m = self->m;

	EXPECT_EQ(0x12378086, cfg_read(m, 0, 0, 4));
	EXPECT_EQ(0x8086, cfg_read(m, 0, 0, 2));
	EXPECT_EQ(0x1237, cfg_read(m, 0, 2, 2));
	EXPECT_EQ(0x86, cfg_read(m, 0, 0, 1));
	EXPECT_EQ(0x12, cfg_read(m, 0, 3, 1));
	EXPECT_EQ(0x060000, cfg_read(m, 0, 8, 4) >> 8);
	EXPECT_EQ(0, cfg_read(m, 0, 0x0e, 1));
	/* The address register reads back; byte accesses do not touch it. */
	fake_out(m, 0xcf8, cfg_addr(3, 0x10), 4);
	EXPECT_EQ(cfg_addr(3, 0x10), fake_in(m, 0xcf8, 4));
	fake_out(m, 0xcf8, 0x12, 1);
	EXPECT_EQ(cfg_addr(3, 0x10), fake_in(m, 0xcf8, 4));
	/* Empty slots, other functions and buses, enable bit clear. */
	EXPECT_EQ(0xffffffff, cfg_read(m, 20, 0, 4));
	fake_out(m, 0xcf8, 0x80000100, 4);
	EXPECT_EQ(0xffffffff, fake_in(m, 0xcfc, 4));
	fake_out(m, 0xcf8, 0x80010000, 4);
	EXPECT_EQ(0xffffffff, fake_in(m, 0xcfc, 4));
	fake_out(m, 0xcf8, 0x00000000, 4);
	EXPECT_EQ(0xffff, fake_in(m, 0xcfc, 2));
	/* The devices: ours, then virtio-rng (0x1af4:0x1044, revision 1). */
	EXPECT_EQ(0x56781234, cfg_read(m, self->slot, 0, 4));
	EXPECT_EQ(0x10441af4, cfg_read(m, self->slot + 1, 0, 4));
	EXPECT_EQ(1, cfg_read(m, self->slot + 1, 8, 1));
	/* Read-only registers stay. */
	cfg_write(m, self->slot, 0, 0, 4);
	cfg_write(m, self->slot, 8, 0, 4);
	EXPECT_EQ(0x56781234, cfg_read(m, self->slot, 0, 4));
	EXPECT_EQ(0xff000003, cfg_read(m, self->slot, 8, 4));
	/* The host bridge ignores writes. */
	cfg_write(m, 0, 0x10, 0xffffffff, 4);
	EXPECT_EQ(0, cfg_read(m, 0, 0x10, 4));
}

TEST_F(pci, bar_sizing)
{
	struct machine *m = self->m;
	unsigned int s = self->slot;
	uint32_t bar0 = cfg_read(m, s, 0x10, 4);
	uint32_t bar2 = cfg_read(m, s, 0x18, 4);

	EXPECT_EQ(1, bar0 & 3);
	EXPECT_EQ(0, bar2 & 0xf);
	EXPECT_GE(bar0 & ~3u, MACHINE_PCI_IO_BASE);
	EXPECT_GE(bar2, MACHINE_PCI_MMIO_BASE);
	EXPECT_EQ(0, bar2 & 0x1fff);		/* naturally aligned */

	/* Linux: decoding off, all-ones, read the mask, restore. */
	cfg_write(m, s, 4, 0, 2);
	cfg_write(m, s, 0x10, 0xffffffff, 4);
	cfg_write(m, s, 0x14, 0xffffffff, 4);
	cfg_write(m, s, 0x18, 0xffffffff, 4);
	cfg_write(m, s, 0x1c, 0xffffffff, 4);
	cfg_write(m, s, 0x30, 0xffffffff, 4);
	EXPECT_EQ(0xffffffe1, cfg_read(m, s, 0x10, 4));
	EXPECT_EQ(0xfffff000, cfg_read(m, s, 0x14, 4));
	EXPECT_EQ(0xffffe000, cfg_read(m, s, 0x18, 4));
	EXPECT_EQ(0, cfg_read(m, s, 0x1c, 4));	/* no BAR 3 */
	EXPECT_EQ(0, cfg_read(m, s, 0x30, 4));	/* no ROM */
	cfg_write(m, s, 0x10, bar0, 4);
	cfg_write(m, s, 0x18, bar2, 4);
	cfg_write(m, s, 4, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	EXPECT_EQ(bar0, cfg_read(m, s, 0x10, 4));
	EXPECT_EQ(bar2, cfg_read(m, s, 0x18, 4));
	EXPECT_TRUE(fake_mapped(m, true, bar0 & ~3u));
	EXPECT_TRUE(fake_mapped(m, false, bar2));
}

TEST_F(pci, bar_moves_and_enables)
{
	struct machine *m = self->m;
	unsigned int s = self->slot;
	uint32_t bar0 = cfg_read(m, s, 0x10, 4) & ~3u;
	uint32_t bar2 = cfg_read(m, s, 0x18, 4);
	uint32_t nbar2 = MACHINE_PCI_MMIO_BASE + 0x1000000;
	int all, live;

	EXPECT_EQ(PCI_COMMAND_IO | PCI_COMMAND_MEMORY,
		  cfg_read(m, s, 4, 2) & 7);
	EXPECT_EQ(0xa5000004, fake_mmio_read(m, bar2 + 4, 4));
	EXPECT_EQ(0xa5000008, fake_in(m, bar0 + 8, 4));

	cfg_write(m, s, 0x18, nbar2, 4);
	EXPECT_FALSE(fake_mapped(m, false, bar2));
	EXPECT_EQ(0xa5000010, fake_mmio_read(m, nbar2 + 0x10, 4));
	cfg_write(m, s, 0x10, 0xe000, 4);
	EXPECT_FALSE(fake_mapped(m, true, bar0));
	EXPECT_EQ(0xa5000004, fake_in(m, 0xe004, 4));

	/* Memory decoding off: gone; on: back where the BAR says. */
	cfg_write(m, s, 4, PCI_COMMAND_IO, 2);
	EXPECT_FALSE(fake_mapped(m, false, nbar2));
	EXPECT_TRUE(fake_mapped(m, true, 0xe000));
	cfg_write(m, s, 4, 0, 2);
	EXPECT_FALSE(fake_mapped(m, true, 0xe000));
	cfg_write(m, s, 4, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	EXPECT_TRUE(fake_mapped(m, false, nbar2));
	EXPECT_TRUE(fake_mapped(m, true, 0xe000));

	/* Outside the bridge's windows: not decoded, nothing else hurt. */
	cfg_write(m, s, 0x18, 0x10000, 4);
	EXPECT_FALSE(fake_mapped(m, false, 0x10000));
	EXPECT_FALSE(fake_mapped(m, false, nbar2));
	cfg_write(m, s, 0x18, 0xfee00000, 4);
	EXPECT_FALSE(fake_mapped(m, false, 0xfee00000));
	/* Onto the virtio-rng's BAR: refused, logged, the other one stays. */
	m->guest_errors = 0;
	cfg_write(m, s, 0x18,
		  cfg_read(m, s + 1, 0x18, 4) & ~0xfu, 4);
	EXPECT_EQ(1, m->guest_errors);
	EXPECT_EQ(0x1044, fake_mmio_read(m, cfg_read(m, s + 1, 0x18, 4) +
					 0x12, 2) + 0x1043);
	cfg_write(m, s, 0x18, nbar2, 4);
	EXPECT_EQ(0xa5000000, fake_mmio_read(m, nbar2, 4));
	/* Byte and word writes build the address too. */
	cfg_write(m, s, 0x1a, 0xc200, 2);
	EXPECT_EQ(0xc2000000, cfg_read(m, s, 0x18, 4));
	EXPECT_TRUE(fake_mapped(m, false, 0xc2000000));
	/* Rounds of sizing and moving: one region per BAR, no more. */
	for (int i = 0; i < 50; i++) {
		cfg_write(m, s, 4, 0, 2);
		cfg_write(m, s, 0x18, 0xffffffff, 4);
		cfg_write(m, s, 0x18, 0xc3000000 + 0x10000 * (i % 3), 4);
		cfg_write(m, s, 4, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
		cfg_write(m, s, 0x18, 0xc3800000 + 0x10000 * (i % 5), 4);
	}
	/* BAR 0, 2, and 1 (MSI-X: its opaque is the same address). */
	t_regions(m, &self->t, &all, &live);
	EXPECT_EQ(3, live);
	EXPECT_EQ(3, all);
	EXPECT_EQ(0xa5000000, fake_mmio_read(m, 0xc3840000, 4));
	EXPECT_FALSE(fake_mapped(m, false, 0xc3000000));
	EXPECT_FALSE(fake_mapped(m, false, 0xc2000000));
}

TEST_F(pci, garbage_everywhere)
{
	struct machine *m = self->m;
	unsigned int s = self->slot;
	uint32_t x = 12345;

	/* Random values into every register of every function, any size. */
	for (int round = 0; round < 20000; round++) {
		unsigned int slot = (x >> 3) % 4, reg, size;

		x = x * 1103515245 + 12345;
		reg = (x >> 8) & 0xff;
		size = 1 << ((x >> 20) % 3);
		reg &= ~(size - 1);
		x = x * 1103515245 + 12345;
		cfg_write(m, slot, reg, x, size);
		cfg_read(m, slot, reg, size);
	}
	/* Unaligned and oversized accesses to the ports themselves. */
	fake_out(m, 0xcf8, 0xffffffff, 4);
	fake_out(m, 0xcfe, 0x12345678, 4);
	fake_in(m, 0xcfd, 4);
	fake_out(m, 0xcf8, ~0ULL, 8);
	/* The IDs are intact and the device still answers. */
	EXPECT_EQ(0x56781234, cfg_read(m, s, 0, 4));
	EXPECT_EQ(0x12378086, cfg_read(m, 0, 0, 4));
	cfg_write(m, s, 0x18, 0xc4000000, 4);
	cfg_write(m, s, 4, PCI_COMMAND_MEMORY, 2);
	EXPECT_EQ(0xa5000000, fake_mmio_read(m, 0xc4000000, 4));
}

TEST_F(pci, capability_list)
{
	struct machine *m = self->m;
	unsigned int s = self->slot + 1, p, n = 0, types = 0;

	EXPECT_TRUE(cfg_read(m, s, 6, 2) & PCI_STATUS_CAP_LIST);
	for (p = cfg_read(m, s, 0x34, 1); p; p = cfg_read(m, s, p + 1, 1)) {
		ASSERT_GE(p, 0x40);
		ASSERT_EQ(0, p & 3);
		ASSERT_LT(n++, 16);
		if (cfg_read(m, s, p, 1) == PCI_CAP_ID_VNDR)
			types |= 1 << cfg_read(m, s, p + 3, 1);
	}
	/* common, notify, ISR, PCI_CFG, MSI-X (no device config for rng) */
	EXPECT_EQ(5, n);
	EXPECT_EQ(0x2e, types);
	/* Capabilities are read-only. */
	p = cfg_read(m, s, 0x34, 1);
	cfg_write(m, s, p, 0xffffffff, 4);
	EXPECT_EQ(PCI_CAP_ID_VNDR, cfg_read(m, s, p, 1));
	EXPECT_NE(0xff, cfg_read(m, s, p + 1, 1));
}

TEST_F(pci, intx)
{
	struct machine *m = self->m;
	unsigned int s = self->slot;
	uint32_t gsi = MACHINE_PCI_GSI_BASE + s % 4;

	EXPECT_EQ(1, cfg_read(m, s, 0x3d, 1));
	EXPECT_EQ(gsi, cfg_read(m, s, 0x3c, 1));
	pci_set_irq(&self->t.pci, true);
	EXPECT_EQ(1, m->irq[gsi]);
	EXPECT_TRUE(cfg_read(m, s, 6, 2) & PCI_STATUS_INTERRUPT);
	/* INTx disable lowers the line; the status bit still says it. */
	cfg_write(m, s, 4, PCI_COMMAND_INTX_DISABLE | 3, 2);
	EXPECT_EQ(0, m->irq[gsi]);
	EXPECT_TRUE(cfg_read(m, s, 6, 2) & PCI_STATUS_INTERRUPT);
	cfg_write(m, s, 4, 3, 2);
	EXPECT_EQ(1, m->irq[gsi]);
	pci_set_irq(&self->t.pci, false);
	EXPECT_EQ(0, m->irq[gsi]);
	EXPECT_FALSE(cfg_read(m, s, 6, 2) & PCI_STATUS_INTERRUPT);
}

TEST_F(pci, msix)
{
	struct machine *m = self->m;
	unsigned int s = self->slot;
	unsigned int cap = cfg_find_cap(m, s, PCI_CAP_ID_MSIX, 0);
	uint32_t gsi = MACHINE_PCI_GSI_BASE + s % 4;
	uint64_t tbl, bar;

	ASSERT_NE(0, cap);
	EXPECT_EQ(3, cfg_read(m, s, cap + 2, 2) & 0x7ff);
	EXPECT_EQ(1, cfg_read(m, s, cap + 4, 4));		/* BAR 1, 0 */
	EXPECT_EQ(0x801, cfg_read(m, s, cap + 8, 4));	/* BAR 1, 0x800 */
	bar = cfg_read(m, s, 0x14, 4);
	tbl = bar;
	/* Entries start masked. */
	EXPECT_EQ(1, fake_mmio_read(m, tbl + 12, 4));

	/* Disabled: nothing is sent, not even pending. */
	pci_msix_notify(&self->t.pci, 0);
	EXPECT_EQ(0, m->nr_msi);

	pci_set_irq(&self->t.pci, true);
	EXPECT_EQ(1, m->irq[gsi]);
	cfg_write(m, s, cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
	EXPECT_EQ(0, m->irq[gsi]);	/* MSI-X on: INTx off */
	pci_set_irq(&self->t.pci, false);

	fake_mmio_write(m, tbl + 16 + 0, 0xfee01000, 4);
	fake_mmio_write(m, tbl + 16 + 4, 0, 4);
	fake_mmio_write(m, tbl + 16 + 8, 0x4041, 4);
	EXPECT_EQ(0xfee01000, fake_mmio_read(m, tbl + 16, 4));
	EXPECT_EQ(0x4041, fake_mmio_read(m, tbl + 24, 4));
	/* Masked: pending in the PBA. */
	pci_msix_notify(&self->t.pci, 1);
	EXPECT_EQ(0, m->nr_msi);
	EXPECT_EQ(2, fake_mmio_read(m, bar + 0x800, 8));
	/* Unmask: delivered once, pending cleared. */
	fake_mmio_write(m, tbl + 16 + 12, 0, 4);
	EXPECT_EQ(1, m->nr_msi);
	EXPECT_EQ(0xfee01000, m->msi[0].addr);
	EXPECT_EQ(0x4041, m->msi[0].data);
	EXPECT_EQ(0, fake_mmio_read(m, bar + 0x800, 8));
	pci_msix_notify(&self->t.pci, 1);
	EXPECT_EQ(2, m->nr_msi);
	/* Function mask: pending until cleared. */
	cfg_write(m, s, cap + 2,
		  PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	pci_msix_notify(&self->t.pci, 1);
	EXPECT_EQ(2, m->nr_msi);
	EXPECT_EQ(2, fake_mmio_read(m, bar + 0x800, 4));
	cfg_write(m, s, cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
	EXPECT_EQ(3, m->nr_msi);
	/* The PBA is read-only; a vector past the table is refused. */
	fake_mmio_write(m, bar + 0x800, ~0ULL, 8);
	EXPECT_EQ(0, fake_mmio_read(m, bar + 0x800, 8));
	pci_msix_notify(&self->t.pci, 7);
	EXPECT_EQ(3, m->nr_msi);
	/* An address outside the interrupt window is not sent. */
	fake_mmio_write(m, tbl + 16, 0x1000, 4);
	m->guest_errors = 0;
	pci_msix_notify(&self->t.pci, 1);
	EXPECT_EQ(3, m->nr_msi);
	EXPECT_EQ(1, m->guest_errors);
	/* 8-byte table accesses. */
	fake_mmio_write(m, tbl + 32, 0x00000000fee02000ULL, 8);
	EXPECT_EQ(0xfee02000, fake_mmio_read(m, tbl + 32, 8));
}

TEST_HARNESS_MAIN
