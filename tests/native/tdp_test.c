// SPDX-License-Identifier: GPL-2.0
/*
 * Native tests of the nested page table code (kmod/mmu/tdp_pt.c): small
 * tables are built in NPT and in EPT format (with and without EPT A/D),
 * and every entry is checked bit by bit against the manuals (APM 15.25,
 * SDM 29.3.2), written here as numbers rather than with the header's names.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"

#include "mmu/tdp_pt.h"

#define NPAGES		16

FIXTURE(tdp) {
	struct vmm_tdp_fmt fmt;
	u64 *root;
	void *pages[NPAGES];
	int nr;
	unsigned long nr_tables;
	struct vmm_pt_alloc alloc;
};

FIXTURE_VARIANT(tdp) {
	bool ept, ad;
	int levels;
	u64 table;	/* bits of a non-leaf entry */
	u64 leaf_ro;	/* bits of a read-only 4 KiB leaf */
	u64 leaf_rw;	/* bits of a writable 4 KiB leaf */
};

/* P, RW, US in tables; a leaf P, US (+RW); the host's depth. */
FIXTURE_VARIANT_ADD(tdp, npt4) {
	.levels = 4,
	.table = 0x7, .leaf_ro = 0x5, .leaf_rw = 0x7,
};

FIXTURE_VARIANT_ADD(tdp, npt5) {
	.levels = 5,
	.table = 0x7, .leaf_ro = 0x5, .leaf_rw = 0x7,
};

/* R, W, X in tables; a leaf R, X, WB (6 << 3), IPAT (bit 6) (+W). */
FIXTURE_VARIANT_ADD(tdp, ept) {
	.ept = true, .levels = 4,
	.table = 0x7, .leaf_ro = 0x75, .leaf_rw = 0x77,
};

/* ...and with A/D on: accessed (bit 8), a writable leaf dirty (bit 9). */
FIXTURE_VARIANT_ADD(tdp, ept_ad) {
	.ept = true, .ad = true, .levels = 4,
	.table = 0x7, .leaf_ro = 0x175, .leaf_rw = 0x377,
};

static void *zpage(void)
{
	void *p = aligned_alloc(4096, 4096);

	if (p)
		memset(p, 0, 4096);
	return p;
}

FIXTURE_SETUP(tdp)
{
	int i;

	vmm_pt_fmt_init(&self->fmt, variant->ept, variant->ad);
	self->root = zpage();
	ASSERT_NE(NULL, self->root);
	for (i = 0; i < NPAGES; i++) {
		self->pages[i] = zpage();
		ASSERT_NE(NULL, self->pages[i]);
	}
	self->nr = NPAGES;
	self->alloc.pages = self->pages;
	self->alloc.nr = &self->nr;
	self->alloc.nr_tables = &self->nr_tables;
}

FIXTURE_TEARDOWN(tdp)
{
	/* Tables in use are freed with the root; the rest here. */
	vmm_pt_free(&self->fmt, self->root, variant->levels);
	while (self->nr)
		free(self->pages[--self->nr]);
}

static u64 *next_table(u64 e)
{
	return (u64 *)(uintptr_t)(e & 0x000ffffffffff000ULL);
}

static int idx(u64 gfn, int level)
{
	return (gfn >> (9 * (level - 1))) & 511;
}

/* Walk by hand: every table entry must be exactly table bits + address. */
static u64 walk(struct __test_metadata *_metadata, u64 *root, int levels,
		u64 table_bits, u64 gfn, int leaf)
{
	u64 *t = root, e;
	int l;

	for (l = levels; l > leaf; l--) {
		e = t[idx(gfn, l)];
		EXPECT_EQ(table_bits, e & 0xfff) TH_LOG("level %d: %llx", l,
							(unsigned long long)e);
		EXPECT_EQ(0, e >> 52);
		t = next_table(e);
	}
	return t[idx(gfn, leaf)];
}

TEST_F(tdp, leaves_4k)
{
	u64 gfn = 0x6012345ULL, pfn = 0xabcdeULL, e;
	bool flush = false;
	int level;

	ASSERT_TRUE(vmm_pt_map(&self->fmt, self->root, variant->levels, gfn,
			       pfn, true, 1, false, &flush, &self->alloc));
	EXPECT_FALSE(flush);
	EXPECT_EQ(variant->levels - 1, self->nr_tables);
	e = walk(_metadata, self->root, variant->levels, variant->table, gfn, 1);
	EXPECT_EQ((pfn << 12) | variant->leaf_rw, e);
	EXPECT_EQ(e, vmm_pt_lookup(&self->fmt, self->root, variant->levels,
				   gfn, &level));
	EXPECT_EQ(1, level);

	/* Read-only, in the same last table. */
	ASSERT_TRUE(vmm_pt_map(&self->fmt, self->root, variant->levels,
			       gfn + 1, pfn + 7, false, 1, false, &flush,
			       &self->alloc));
	EXPECT_EQ(variant->levels - 1, self->nr_tables);
	e = walk(_metadata, self->root, variant->levels, variant->table,
		 gfn + 1, 1);
	EXPECT_EQ(((pfn + 7) << 12) | variant->leaf_ro, e);

	/* A neighbour with no leaf: the walk stops at level 1. */
	EXPECT_EQ(0, vmm_pt_lookup(&self->fmt, self->root, variant->levels,
				   gfn + 2, &level));
	EXPECT_EQ(1, level);
	/* Under another root entry: at the root. */
	EXPECT_EQ(0, vmm_pt_lookup(&self->fmt, self->root, variant->levels,
				   1ULL << (9 * (variant->levels - 1)),
				   &level));
	EXPECT_EQ(variant->levels, level);
}

TEST_F(tdp, leaf_2m_then_4k)
{
	u64 base = 0x200ULL * 5, pfn = 0x40000ULL, e;
	bool flush = false;
	int level;

	ASSERT_TRUE(vmm_pt_map(&self->fmt, self->root, variant->levels, base,
			       pfn, true, 2, false, &flush, &self->alloc));
	e = walk(_metadata, self->root, variant->levels, variant->table,
		 base, 2);
	/* Bit 7 makes it a 2 MiB leaf in both formats. */
	EXPECT_EQ((pfn << 12) | variant->leaf_rw | 0x80, e);
	EXPECT_EQ(e, vmm_pt_lookup(&self->fmt, self->root, variant->levels,
				   base + 17, &level));
	EXPECT_EQ(2, level);

	/* Fault-around keeps it... */
	EXPECT_FALSE(vmm_pt_map(&self->fmt, self->root, variant->levels,
				base + 3, pfn + 3, true, 1, true, &flush,
				&self->alloc));
	EXPECT_FALSE(flush);
	/* ...a 4 KiB fault splits it: a table, and a flush is due. */
	ASSERT_TRUE(vmm_pt_map(&self->fmt, self->root, variant->levels,
			       base + 3, pfn + 3, true, 1, false, &flush,
			       &self->alloc));
	EXPECT_TRUE(flush);
	e = walk(_metadata, self->root, variant->levels, variant->table,
		 base + 3, 1);
	EXPECT_EQ(((pfn + 3) << 12) | variant->leaf_rw, e);
	/* A 2 MiB leaf does not go over a table of 4 KiB leaves. */
	EXPECT_FALSE(vmm_pt_map(&self->fmt, self->root, variant->levels, base,
				pfn, true, 2, false, &flush, &self->alloc));
}

TEST_F(tdp, zap)
{
	u64 g[] = { 0x10, 0x11, 0x400, 0x7ffff };
	bool flush = false;
	int i, level;

	for (i = 0; i < 4; i++)
		ASSERT_TRUE(vmm_pt_map(&self->fmt, self->root, variant->levels,
				       g[i], 0x100 + i, true, 1, false, &flush,
				       &self->alloc));
	/* 2 MiB at 0x600: a zap of any part of it takes all of it. */
	ASSERT_TRUE(vmm_pt_map(&self->fmt, self->root, variant->levels, 0x600,
			       0x800, false, 2, false, &flush, &self->alloc));

	EXPECT_TRUE(vmm_pt_zap(&self->fmt, self->root, variant->levels, 0,
			       0x11, 0x401));
	EXPECT_NE(0, vmm_pt_lookup(&self->fmt, self->root, variant->levels,
				   0x10, &level));
	EXPECT_EQ(0, vmm_pt_lookup(&self->fmt, self->root, variant->levels,
				   0x11, &level));
	EXPECT_EQ(0, vmm_pt_lookup(&self->fmt, self->root, variant->levels,
				   0x400, &level));
	EXPECT_FALSE(vmm_pt_zap(&self->fmt, self->root, variant->levels, 0,
				0x11, 0x401));
	EXPECT_TRUE(vmm_pt_zap(&self->fmt, self->root, variant->levels, 0,
			       0x7ff, 0x800));
	EXPECT_EQ(0, vmm_pt_lookup(&self->fmt, self->root, variant->levels,
				   0x600, &level));
	EXPECT_EQ(2, level);
	EXPECT_NE(0, vmm_pt_lookup(&self->fmt, self->root, variant->levels,
				   0x7ffff, &level));
}

/* "Present" is P on NPT, any of R/W/X on EPT. */
TEST_F(tdp, present)
{
	u64 gfn = 0x1234, *leaf;
	bool flush = false;
	int level;

	ASSERT_TRUE(vmm_pt_map(&self->fmt, self->root, variant->levels, gfn,
			       0x99, false, 1, false, &flush, &self->alloc));
	vmm_pt_lookup(&self->fmt, self->root, variant->levels, gfn, &level);
	leaf = &next_table(walk(_metadata, self->root, variant->levels,
				variant->table, gfn, 2))[idx(gfn, 1)];
	ASSERT_EQ(1, level);

	*leaf = (0x99ULL << 12) | 0x4;	/* EPT: execute only; NPT: US only */
	EXPECT_EQ(variant->ept ? *leaf : 0,
		  vmm_pt_lookup(&self->fmt, self->root, variant->levels, gfn,
				&level));
	*leaf = (0x99ULL << 12) | 0x2;	/* EPT: write only; NPT: RW only */
	EXPECT_EQ(variant->ept ? *leaf : 0,
		  vmm_pt_lookup(&self->fmt, self->root, variant->levels, gfn,
				&level));
	*leaf = (0x99ULL << 12) | 0x1;	/* EPT: read only; NPT: present */
	EXPECT_EQ(*leaf, vmm_pt_lookup(&self->fmt, self->root,
				       variant->levels, gfn, &level));
	/* fault-around does not overwrite what is present */
	EXPECT_FALSE(vmm_pt_map(&self->fmt, self->root, variant->levels, gfn,
				0x98, false, 1, true, &flush, &self->alloc));
}

/* Out of cached pages: nothing is written, the caller retries. */
TEST_F(tdp, no_pages)
{
	void *one[1] = { zpage() };
	struct vmm_pt_alloc a = { one, NULL, &self->nr_tables };
	bool flush = false;
	int n = 1, level;

	ASSERT_NE(NULL, one[0]);
	a.nr = &n;
	EXPECT_FALSE(vmm_pt_map(&self->fmt, self->root, variant->levels,
				0x5000, 1, true, 1, false, &flush, &a));
	/* The one table made hangs in the tree, freed with it. */
	EXPECT_EQ(0, n);
	EXPECT_EQ(0, vmm_pt_lookup(&self->fmt, self->root, variant->levels,
				   0x5000, &level));
	EXPECT_EQ(variant->levels - 1, level);
}

TEST_HARNESS_MAIN
