// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: two-dimensional paging — the nested page table (NPT) that maps
 * guest-physical to host-physical memory, filled on demand.
 *
 * A guest page is mapped on its first nested page fault: the slot gives
 * the userspace address, get_user_pages() the host page.  No reference is
 * kept: the MMU notifier zaps our entry before the host unmaps, reclaims
 * or migrates the page, and a fault that raced with such a change is
 * thrown away and retried (the invalidate_seq check).  So a guest may be
 * larger than what is resident, and the host may take pages back.
 *
 * A fault maps more than the page it needs, as each exit costs far more
 * than the mapping: a 2 MiB nested page where the host backs the whole
 * 2 MiB of the slot with one huge page at the same alignment, or else
 * the neighbours of the page that the host already maps (fault-around),
 * without faulting new ones in.  Both are checked against the same
 * invalidate_seq as the page itself; a zap that touches any part of a
 * 2 MiB entry clears all of it.
 *
 * The entries are in the engine's format (NPT, or EPT with vmm_caps.ept;
 * tdp_pt.c builds them).  NPT has the host's depth (4 or 5 levels:
 * it walks with the host's CR4.LA57); EPT is 4 levels, as VMM_MAX_GPA
 * needs no more.
 */
#define pr_fmt(fmt) "vmm: " fmt

#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "../vmm.h"

#define TDP_HUGE_PAGES	512		/* 4 KiB frames in a 2 MiB leaf */
#define TDP_AROUND	16		/* fault-around: an aligned block */

/* The depth of the nested page tables this engine's VMs get. */
int vmm_tdp_levels(void)
{
	if (vmm_caps.ept)
		return 4;
	return pgtable_l5_enabled() ? 5 : 4;
}

int vmm_tdp_init(struct vmm_vm *vm)
{
	struct vmm_tdp *tdp = &vm->tdp;

	spin_lock_init(&tdp->lock);
	tdp->levels = vmm_tdp_levels();
	vmm_pt_fmt_init(&tdp->fmt, vmm_caps.ept, vmm_caps.ept_ad);
	tdp->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	return tdp->root ? 0 : -ENOMEM;
}

/* EPT pointer: the root, WB walks, the depth, A/D when the engine has it. */
u64 vmm_tdp_eptp(struct vmm_vm *vm)
{
	return __pa(vm->tdp.root) | VMM_EPTP_WB |
	       VMM_EPTP_LEVELS(vm->tdp.levels) |
	       (vmm_caps.ept_ad ? VMM_EPTP_AD : 0);
}

void vmm_tdp_destroy(struct vmm_vm *vm)
{
	if (vm->tdp.root)
		vmm_pt_free(&vm->tdp.fmt, vm->tdp.root, vm->tdp.levels);
	vm->tdp.root = NULL;
}

/*
 * vmm_tdp_topup - make sure the vCPU has enough zeroed pages for one
 * complete walk, so that the mapping itself runs under a spinlock.
 */
int vmm_tdp_topup(struct vmm_vcpu *vcpu)
{
	struct vmm_page_cache *c = &vcpu->page_cache;

	while (c->nr < VMM_PAGE_CACHE_SIZE) {
		void *p = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

		if (!p)
			return -ENOMEM;
		c->pages[c->nr++] = p;
	}
	return 0;
}

/* tdp_map - vmm_pt_map() with the vCPU's page cache; tdp->lock held. */
static bool tdp_map(struct vmm_vcpu *vcpu, u64 gfn, u64 pfn, bool writable,
		    int leaf, bool only_new, bool *flush)
{
	struct vmm_tdp *tdp = &vcpu->vm->tdp;
	struct vmm_pt_alloc alloc = {
		.pages = vcpu->page_cache.pages,
		.nr = &vcpu->page_cache.nr,	/* topped up for 2 walks */
		.nr_tables = &tdp->nr_tables,
	};

	return vmm_pt_map(&tdp->fmt, tdp->root, tdp->levels, gfn, pfn,
			  writable, leaf, only_new, flush, &alloc);
}

static bool tdp_zap_gfns(struct vmm_vm *vm, u64 start, u64 end)
{
	lockdep_assert_held(&vm->tdp.lock);
	return vmm_pt_zap(&vm->tdp.fmt, vm->tdp.root, vm->tdp.levels, 0,
			  start, end);
}

/*
 * vmm_tdp_zap_slot - unmap a slot that is being deleted or replaced
 * Called with vm->lock held.  Bumps the sequence so that a fault which
 * looked the slot up before this point does not map it afterwards.
 */
void vmm_tdp_zap_slot(struct vmm_vm *vm, const struct vmm_slot *slot)
{
	bool flush;

	spin_lock(&vm->tdp.lock);
	vm->tdp.invalidate_seq++;
	flush = tdp_zap_gfns(vm, slot->gfn, slot->gfn + slot->npages);
	spin_unlock(&vm->tdp.lock);
	if (flush)
		vmm_vcpu_kick_all(vm, VMM_REQ_TLB_FLUSH);
}

/* Whether a table of 4 KiB leaves covers @gfn (no 2 MiB leaf goes there). */
static bool tdp_has_small(struct vmm_vm *vm, u64 gfn)
{
	int level;

	spin_lock(&vm->tdp.lock);
	vmm_pt_lookup(&vm->tdp.fmt, vm->tdp.root, vm->tdp.levels, gfn, &level);
	spin_unlock(&vm->tdp.lock);
	return level == 1;
}

/*
 * host_huge_pfn - the first frame of the 2 MiB page that maps @hva in
 * @mm, or 0 if the host maps it otherwise (4 KiB pages, 1 GiB, absent;
 * or read-only or clean when @writable: the guest's writes must leave
 * the host page dirty, as get_user_pages() leaves it).
 *
 * The walk takes no lock, as gup-fast does: interrupts off keep the
 * tables from being freed under it.  What it finds may change at once;
 * the caller maps it only if invalidate_seq did not move since before
 * the walk, as the notifier runs before any change to a present entry.
 */
static unsigned long host_huge_pfn(struct mm_struct *mm, unsigned long hva,
				   bool writable)
{
	unsigned long flags, pfn = 0;
	pgd_t pgd;
	p4d_t p4d;
	pud_t pud;
	pmd_t pmd;

	local_irq_save(flags);
	pgd = READ_ONCE(*pgd_offset(mm, hva));
	if (pgd_none(pgd) || pgd_bad(pgd))
		goto out;
	p4d = READ_ONCE(*p4d_offset(&pgd, hva));
	if (p4d_none(p4d) || p4d_bad(p4d))
		goto out;
	pud = READ_ONCE(*pud_offset(&p4d, hva));
	if (!pud_present(pud) || pud_leaf(pud))
		goto out;
	pmd = READ_ONCE(*pmd_offset(&pud, hva));
	if (!pmd_present(pmd) || !pmd_trans_huge(pmd))
		goto out;
	if (writable && !(pmd_write(pmd) && pmd_dirty(pmd)))
		goto out;
	pfn = pmd_pfn(pmd);
out:
	local_irq_restore(flags);
	return pfn;
}

/*
 * tdp_around - take the pages of the slot around @gfn (its aligned block
 * of TDP_AROUND) that the host maps already, without faulting any in.
 * Returns how many, in @gfns and @pages (with a reference each).
 */
static int tdp_around(const struct vmm_slot *s, u64 gfn, bool writable,
		      u64 *gfns, struct page **pages)
{
	u64 g = max(gfn & ~(u64)(TDP_AROUND - 1), s->gfn);
	u64 end = min((gfn | (TDP_AROUND - 1)) + 1, s->gfn + s->npages);
	int n = 0;

	for (; g < end; g++) {
		unsigned long hva = s->hva + (g - s->gfn) * PAGE_SIZE;

		if (g == gfn || !get_user_page_fast_only(hva, writable ?
				FOLL_WRITE : 0, &pages[n]))
			continue;
		/* As FOLL_TOUCH does: guest writes bypass the host's PTE. */
		if (writable && !PageDirty(pages[n]))
			set_page_dirty_lock(pages[n]);
		gfns[n++] = g;
	}
	return n;
}

/*
 * vmm_tdp_fault - handle a nested page fault at @gpa
 * Returns a vmm_tdp_fault code, or -errno (-EFAULT: the slot's host
 * memory is gone, -ENOMEM).
 */
int vmm_tdp_fault(struct vmm_vcpu *vcpu, u64 gpa, bool write)
{
	struct page *page, *around[TDP_AROUND];
	struct vmm_vm *vm = vcpu->vm;
	u64 gfn = gpa >> PAGE_SHIFT, gfns[TDP_AROUND], base;
	unsigned long hva, seq, huge = 0;
	const struct vmm_slot *s;
	struct vmm_slot slot;
	bool writable, flush = false;
	int ret, i, nr_around = 0;
	long n;

	ret = vmm_tdp_topup(vcpu);
	if (ret)
		return ret;

	mutex_lock(&vm->lock);
	s = vmm_slot_find(vm, gfn);
	if (!s) {
		mutex_unlock(&vm->lock);
		return VMM_TDP_MMIO;
	}
	slot = *s;
	/* Sample under vm->lock: a slot change after this bumps it. */
	seq = READ_ONCE(vm->tdp.invalidate_seq);
	mutex_unlock(&vm->lock);
	writable = !(slot.flags & VMM_MEM_READONLY);
	hva = slot.hva + (gfn - slot.gfn) * PAGE_SIZE;
	if (write && !writable)
		return VMM_TDP_MMIO_WRITE_RO;
	/* The sequence is read before the page, as the notifier writes it. */
	smp_rmb();

	n = get_user_pages_unlocked(hva, 1, &page, writable ? FOLL_WRITE : 0);
	if (n != 1)
		return n < 0 ? n : -EFAULT;

	/*
	 * A 2 MiB leaf only where the whole 2 MiB is in this slot and the
	 * host maps it with one huge page at the same alignment: the page
	 * just taken must be the right part of it.
	 */
	base = gfn & ~(u64)(TDP_HUGE_PAGES - 1);
	if (!((hva ^ gpa) & (HPAGE_PMD_SIZE - 1)) && base >= slot.gfn &&
	    base + TDP_HUGE_PAGES <= slot.gfn + slot.npages) {
		huge = host_huge_pfn(vm->mm, hva, writable);
		if (huge && (huge + (gfn - base) != page_to_pfn(page) ||
			     tdp_has_small(vm, gfn)))
			huge = 0;
	}
	if (!huge)
		nr_around = tdp_around(&slot, gfn, writable, gfns, around);

	spin_lock(&vm->tdp.lock);
	if (!vm->tdp.invalidate_in_progress &&
	    vm->tdp.invalidate_seq == seq) {
		if (!huge || !tdp_map(vcpu, base, huge, writable, 2, false,
				      &flush))
			tdp_map(vcpu, gfn, page_to_pfn(page), writable, 1,
				false, &flush);
		for (i = 0; i < nr_around; i++)
			tdp_map(vcpu, gfns[i], page_to_pfn(around[i]), writable,
				1, true, &flush);
	}
	spin_unlock(&vm->tdp.lock);
	if (flush)
		vmm_vcpu_kick_all(vm, VMM_REQ_TLB_FLUSH);
	/* Safe to drop: the notifier zaps the entries before the pages go. */
	put_page(page);
	for (i = 0; i < nr_around; i++)
		put_page(around[i]);
	return VMM_TDP_RETRY;
}

static struct vmm_vm *notifier_to_vm(struct mmu_notifier *mn)
{
	return container_of(mn, struct vmm_vm, mmu_notifier);
}

/* Zap the guest frames that the host range [start, end) backs. */
static bool tdp_zap_hva(struct vmm_vm *vm, unsigned long start,
			unsigned long end)
{
	bool flush = false;
	int i;

	for (i = 0; i < VMM_MAX_SLOTS; i++) {
		const struct vmm_slot *s = &vm->slots[i];
		unsigned long s_end, lo, hi;

		if (!READ_ONCE(s->used))
			continue;
		s_end = s->hva + s->npages * PAGE_SIZE;
		lo = max(start, s->hva);
		hi = min(end, s_end);
		if (lo >= hi)
			continue;
		flush |= tdp_zap_gfns(vm, s->gfn + ((lo - s->hva) >> PAGE_SHIFT),
				      s->gfn + ((hi - s->hva + PAGE_SIZE - 1) >>
						PAGE_SHIFT));
	}
	return flush;
}

static int vmm_mn_invalidate_range_start(struct mmu_notifier *mn,
					 const struct mmu_notifier_range *range)
{
	struct vmm_vm *vm = notifier_to_vm(mn);
	bool flush;

	spin_lock(&vm->tdp.lock);
	vm->tdp.invalidate_in_progress++;
	flush = tdp_zap_hva(vm, range->start, range->end);
	spin_unlock(&vm->tdp.lock);
	if (flush)
		vmm_vcpu_kick_all(vm, VMM_REQ_TLB_FLUSH);
	return 0;
}

static void vmm_mn_invalidate_range_end(struct mmu_notifier *mn,
					const struct mmu_notifier_range *range)
{
	struct vmm_vm *vm = notifier_to_vm(mn);

	spin_lock(&vm->tdp.lock);
	vm->tdp.invalidate_seq++;
	vm->tdp.invalidate_in_progress--;
	spin_unlock(&vm->tdp.lock);
}

/* The mm is going away: nothing of it may stay mapped. */
static void vmm_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct vmm_vm *vm = notifier_to_vm(mn);
	bool flush;

	spin_lock(&vm->tdp.lock);
	vm->tdp.invalidate_seq++;
	flush = tdp_zap_gfns(vm, 0, VMM_MAX_GPA >> PAGE_SHIFT);
	spin_unlock(&vm->tdp.lock);
	if (flush)
		vmm_vcpu_kick_all(vm, VMM_REQ_TLB_FLUSH);
}

static const struct mmu_notifier_ops vmm_mmu_notifier_ops = {
	.invalidate_range_start = vmm_mn_invalidate_range_start,
	.invalidate_range_end = vmm_mn_invalidate_range_end,
	.release = vmm_mn_release,
};

int vmm_mmu_notifier_register(struct vmm_vm *vm)
{
	int ret;

	vm->mmu_notifier.ops = &vmm_mmu_notifier_ops;
	ret = mmu_notifier_register(&vm->mmu_notifier, vm->mm);
	if (ret)
		vm->mmu_notifier.ops = NULL;
	return ret;
}
