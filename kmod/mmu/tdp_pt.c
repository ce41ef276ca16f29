// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: the tables of a nested page table, NPT or EPT (see tdp_pt.h).
 *
 * The two formats differ only in their bits: NPT entries are x86 page
 * table entries (present, writable, user: NPT walks as a user access),
 * EPT entries carry read/write/execute permissions, a leaf its memory type
 * (WB, with the guest's PAT ignored, as KVM does without devices doing
 * non-coherent DMA: all guest RAM is host RAM, cached) and, when the
 * engine turned EPT A/D on, accessed and dirty bits set in advance so that
 * the CPU never has to write them.  Bit 7 marks a 2 MiB leaf in both; the depth is the
 * caller's (NPT the host's 4 or 5 levels, EPT 4).
 */
#include "tdp_pt.h"

#ifdef __KERNEL__
#include <linux/compiler.h>
#include <linux/gfp.h>
#include <asm/page.h>

#define pt_pa(p)		__pa(p)
#define pt_va(pa)		((u64 *)__va(pa))
#define pt_free_page(p)		free_page((unsigned long)(p))
#else
#include <stdlib.h>

#define pt_pa(p)		((u64)(uintptr_t)(p))
#define pt_va(pa)		((u64 *)(uintptr_t)(pa))
#define pt_free_page(p)		free(p)
/* The native tests have one thread: plain accesses do. */
#define READ_ONCE(x)		(x)
#define WRITE_ONCE(x, v)	((x) = (v))
#endif

#define PT_SHIFT		12

void vmm_pt_fmt_init(struct vmm_tdp_fmt *f, bool ept, bool ad)
{
	if (ept) {
		f->present = VMM_EPT_RWX;
		f->table = VMM_EPT_RWX;
		f->leaf = VMM_EPT_R | VMM_EPT_X | VMM_EPT_MT_WB | VMM_EPT_IPAT |
			  (ad ? VMM_EPT_A : 0);
		f->write = VMM_EPT_W | (ad ? VMM_EPT_D : 0);
	} else {
		f->present = VMM_NPT_P;
		f->table = VMM_NPT_P | VMM_NPT_RW | VMM_NPT_US;
		f->leaf = VMM_NPT_P | VMM_NPT_US;
		f->write = VMM_NPT_RW;
	}
}

static inline int pt_index(u64 gpa, int level)
{
	return (gpa >> (PT_SHIFT + 9 * (level - 1))) & (VMM_PT_ENTRIES - 1);
}

static inline u64 *pt_table(u64 entry)
{
	return pt_va(entry & VMM_PT_PFN_MASK);
}

static inline bool pt_present(const struct vmm_tdp_fmt *f, u64 entry)
{
	return entry & f->present;
}

static inline bool pt_is_leaf(u64 entry, int level)
{
	return level == 1 || (entry & VMM_PT_LARGE);
}

/* Free @table (at @level) and the tables under it. */
void vmm_pt_free(const struct vmm_tdp_fmt *f, u64 *table, int level)
{
	int i;

	for (i = 0; level > 1 && i < VMM_PT_ENTRIES; i++)
		if (pt_present(f, table[i]) && !pt_is_leaf(table[i], level))
			vmm_pt_free(f, pt_table(table[i]), level - 1);
	pt_free_page(table);
}

/*
 * vmm_pt_map - point the leaf for @gfn at level @leaf (1: 4 KiB, 2: 2 MiB)
 * to @pfn, taking new tables from @alloc.
 *
 * A 2 MiB leaf is not put where a table of 4 KiB leaves is: the guest's
 * TLB may still walk that table, so it could not be freed here; such a
 * range stays mapped by 4 KiB pages.  A 4 KiB leaf that falls in a 2 MiB
 * one replaces it with a table (both map the same host pages, as the
 * caller's sequence check passed) and sets *@flush, so no stale 2 MiB
 * translation outlives a later zap of the table.  With @only_new an
 * existing leaf is kept (fault-around).  Returns false if nothing was
 * written.
 */
bool vmm_pt_map(const struct vmm_tdp_fmt *f, u64 *root, int levels,
		u64 gfn, u64 pfn, bool writable, int leaf, bool only_new,
		bool *flush, struct vmm_pt_alloc *alloc)
{
	u64 gpa = gfn << PT_SHIFT;
	u64 *table = root, *e;
	int level;

	for (level = levels; level > leaf; level--) {
		e = &table[pt_index(gpa, level)];

		if (pt_present(f, *e) && (*e & VMM_PT_LARGE)) {
			if (only_new)
				return false;
			*flush = true;
		} else if (pt_present(f, *e)) {
			table = pt_table(*e);
			continue;
		}
		if (!*alloc->nr)
			return false;
		(*alloc->nr_tables)++;
		WRITE_ONCE(*e, pt_pa(alloc->pages[--*alloc->nr]) | f->table);
		table = pt_table(*e);
	}
	e = &table[pt_index(gpa, leaf)];
	if (pt_present(f, *e) && (only_new || !pt_is_leaf(*e, leaf)))
		return false;
	WRITE_ONCE(*e, (pfn << PT_SHIFT) | f->leaf | (writable ? f->write : 0) |
		   (leaf > 1 ? VMM_PT_LARGE : 0));
	return true;
}

/*
 * vmm_pt_zap - clear the leaves for guest frames [@start, @end) under
 * @table, a table at @level whose first entry maps frame @base.  Returns
 * true if any was present, i.e. a TLB flush is due.  Tables stay.
 */
bool vmm_pt_zap(const struct vmm_tdp_fmt *f, u64 *table, int level,
		u64 base, u64 start, u64 end)
{
	u64 span = 1ULL << (9 * (level - 1));	/* frames per entry */
	bool zapped = false;
	int i;

	for (i = 0; i < VMM_PT_ENTRIES; i++) {
		u64 lo = base + i * span, hi = lo + span;

		if (hi <= start || lo >= end || !pt_present(f, table[i]))
			continue;
		if (pt_is_leaf(table[i], level)) {
			/* A 2 MiB leaf goes whole, even if partly in range. */
			WRITE_ONCE(table[i], 0);
			zapped = true;
		} else {
			zapped |= vmm_pt_zap(f, pt_table(table[i]), level - 1,
					     lo, start, end);
		}
	}
	return zapped;
}

/*
 * vmm_pt_lookup - the entry on @gfn's walk where it stops: a leaf (level
 * in *@level), or 0 with the level of the first entry not present.
 */
u64 vmm_pt_lookup(const struct vmm_tdp_fmt *f, u64 *root, int levels,
		  u64 gfn, int *level)
{
	u64 *table = root, gpa = gfn << PT_SHIFT, e = 0;
	int l;

	for (l = levels; l >= 1; l--) {
		e = READ_ONCE(table[pt_index(gpa, l)]);
		if (!pt_present(f, e)) {
			e = 0;
			break;
		}
		if (pt_is_leaf(e, l))
			break;
		table = pt_table(e);
	}
	*level = l;
	return e;
}
