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
 * The table uses the host's own format and depth (4 or 5 levels: NPT
 * walks with the host's CR4.LA57).  EPT (vmx) and shadow paging will add
 * their entry formats beside this one; the fault and notifier logic stays.
 */
#define pr_fmt(fmt) "vmm: " fmt

#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "../vmm.h"

#define TDP_PRESENT	_PAGE_PRESENT
#define TDP_WRITE	_PAGE_RW
#define TDP_USER	_PAGE_USER	/* NPT treats every access as user */
#define TDP_TABLE	(TDP_PRESENT | TDP_WRITE | TDP_USER)
#define TDP_PFN_MASK	GENMASK_ULL(51, 12)
#define TDP_ENTRIES	512

int vmm_tdp_levels(void)
{
	return pgtable_l5_enabled() ? 5 : 4;
}

static inline int tdp_index(u64 gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & (TDP_ENTRIES - 1);
}

static inline u64 *tdp_table(u64 entry)
{
	return __va(entry & TDP_PFN_MASK);
}

int vmm_tdp_init(struct vmm_vm *vm)
{
	struct vmm_tdp *tdp = &vm->tdp;

	spin_lock_init(&tdp->lock);
	tdp->levels = vmm_tdp_levels();
	tdp->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	return tdp->root ? 0 : -ENOMEM;
}

static void tdp_free_table(u64 *table, int level)
{
	int i;

	for (i = 0; level > 1 && i < TDP_ENTRIES; i++)
		if (table[i] & TDP_PRESENT)
			tdp_free_table(tdp_table(table[i]), level - 1);
	free_page((unsigned long)table);
}

void vmm_tdp_destroy(struct vmm_vm *vm)
{
	if (vm->tdp.root)
		tdp_free_table(vm->tdp.root, vm->tdp.levels);
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

/* Called with tdp->lock held and a topped-up cache. */
static void tdp_map(struct vmm_vcpu *vcpu, u64 gpa, u64 pfn, bool writable)
{
	struct vmm_tdp *tdp = &vcpu->vm->tdp;
	u64 *table = tdp->root;
	int level;

	for (level = tdp->levels; level > 1; level--) {
		u64 *e = &table[tdp_index(gpa, level)];

		if (!(*e & TDP_PRESENT)) {
			void *p = vcpu->page_cache.pages[--vcpu->page_cache.nr];

			tdp->nr_tables++;
			WRITE_ONCE(*e, __pa(p) | TDP_TABLE);
		}
		table = tdp_table(*e);
	}
	WRITE_ONCE(table[tdp_index(gpa, 1)], (pfn << PAGE_SHIFT) | TDP_PRESENT |
		   TDP_USER | (writable ? TDP_WRITE : 0));
}

/*
 * Clear the leaves for guest frames [start, end).  Returns true if any
 * was present, i.e. a TLB flush is due.  Tables stay until the VM dies.
 */
static bool tdp_zap(u64 *table, int level, u64 base, u64 start, u64 end)
{
	u64 span = 1ULL << (9 * (level - 1));	/* frames per entry */
	bool zapped = false;
	int i;

	for (i = 0; i < TDP_ENTRIES; i++) {
		u64 lo = base + i * span, hi = lo + span;

		if (hi <= start || lo >= end || !(table[i] & TDP_PRESENT))
			continue;
		if (level == 1) {
			WRITE_ONCE(table[i], 0);
			zapped = true;
		} else {
			zapped |= tdp_zap(tdp_table(table[i]), level - 1, lo,
					  start, end);
		}
	}
	return zapped;
}

static bool tdp_zap_gfns(struct vmm_vm *vm, u64 start, u64 end)
{
	lockdep_assert_held(&vm->tdp.lock);
	return tdp_zap(vm->tdp.root, vm->tdp.levels, 0, start, end);
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

/*
 * vmm_tdp_fault - handle a nested page fault at @gpa
 * Returns a vmm_tdp_fault code, or -errno (-EFAULT: the slot's host
 * memory is gone, -ENOMEM).
 */
int vmm_tdp_fault(struct vmm_vcpu *vcpu, u64 gpa, bool write)
{
	struct vmm_vm *vm = vcpu->vm;
	const struct vmm_slot *s;
	unsigned long hva, seq;
	struct page *page;
	bool writable;
	long n;
	int ret;

	ret = vmm_tdp_topup(vcpu);
	if (ret)
		return ret;

	mutex_lock(&vm->lock);
	s = vmm_slot_find(vm, gpa >> PAGE_SHIFT);
	if (!s) {
		mutex_unlock(&vm->lock);
		return VMM_TDP_MMIO;
	}
	writable = !(s->flags & VMM_MEM_READONLY);
	hva = s->hva + ((gpa >> PAGE_SHIFT) - s->gfn) * PAGE_SIZE;
	/* Sample under vm->lock: a slot change after this bumps it. */
	seq = READ_ONCE(vm->tdp.invalidate_seq);
	mutex_unlock(&vm->lock);
	if (write && !writable)
		return VMM_TDP_MMIO_WRITE_RO;
	/* The sequence is read before the page, as the notifier writes it. */
	smp_rmb();

	n = get_user_pages_unlocked(hva, 1, &page, writable ? FOLL_WRITE : 0);
	if (n != 1)
		return n < 0 ? n : -EFAULT;

	spin_lock(&vm->tdp.lock);
	if (!vm->tdp.invalidate_in_progress &&
	    vm->tdp.invalidate_seq == seq)
		tdp_map(vcpu, gpa, page_to_pfn(page), writable);
	spin_unlock(&vm->tdp.lock);
	/* Safe to drop: the notifier zaps the entry before the page goes. */
	put_page(page);
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
