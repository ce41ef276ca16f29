/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm: the tables of a nested page table in either hardware format, AMD's
 * NPT (the host's own page-table format) or Intel's EPT.  Pure table code
 * (no locks, no host memory lookups): mmu/tdp.c calls it under its lock,
 * and it builds natively for tests/native/tdp_test.c.
 */
#ifndef _VMM_TDP_PT_H
#define _VMM_TDP_PT_H

#include "../bt/types.h"

#define VMM_PT_ENTRIES		512
#define VMM_PT_PFN_MASK		0x000ffffffffff000ULL	/* bits 51:12 */

/* NPT: x86 page-table bits.  NPT treats every access as a user one. */
#define VMM_NPT_P		BIT_ULL(0)
#define VMM_NPT_RW		BIT_ULL(1)
#define VMM_NPT_US		BIT_ULL(2)
/* EPT (SDM 29.3.2): permissions, memory type of a leaf, A/D. */
#define VMM_EPT_R		BIT_ULL(0)
#define VMM_EPT_W		BIT_ULL(1)
#define VMM_EPT_X		BIT_ULL(2)
#define VMM_EPT_RWX		(VMM_EPT_R | VMM_EPT_W | VMM_EPT_X)
#define VMM_EPT_MT_WB		(6ULL << 3)
#define VMM_EPT_IPAT		BIT_ULL(6)	/* the guest's PAT is ignored */
#define VMM_EPT_A		BIT_ULL(8)
#define VMM_EPT_D		BIT_ULL(9)
/* Both: bit 7 makes a level-2 entry a 2 MiB leaf. */
#define VMM_PT_LARGE		BIT_ULL(7)

/* EPTP (SDM 25.6.11): WB walks, page-walk length - 1, A/D enable. */
#define VMM_EPTP_WB		6ULL
#define VMM_EPTP_LEVELS(n)	((u64)((n) - 1) << 3)
#define VMM_EPTP_AD		BIT_ULL(6)

/* The bits of one format's entries. */
struct vmm_tdp_fmt {
	u64 present;	/* any of them set: the entry maps something */
	u64 table;	/* an entry pointing at the next table */
	u64 leaf;	/* a read-only leaf */
	u64 write;	/* added to a writable leaf */
};

/* A zeroed page for a new table, and the count of tables made. */
struct vmm_pt_alloc {
	void **pages;	/* taken from the end */
	int *nr;
	unsigned long *nr_tables;
};

void vmm_pt_fmt_init(struct vmm_tdp_fmt *f, bool ept, bool ad);
bool vmm_pt_map(const struct vmm_tdp_fmt *f, u64 *root, int levels,
		u64 gfn, u64 pfn, bool writable, int leaf, bool only_new,
		bool *flush, struct vmm_pt_alloc *alloc);
bool vmm_pt_zap(const struct vmm_tdp_fmt *f, u64 *table, int level,
		u64 base, u64 start, u64 end);
void vmm_pt_free(const struct vmm_tdp_fmt *f, u64 *table, int level);
u64 vmm_pt_lookup(const struct vmm_tdp_fmt *f, u64 *root, int levels,
		  u64 gfn, int *level);

#endif /* _VMM_TDP_PT_H */
