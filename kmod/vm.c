// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: the VM file descriptor — memory slots, the CPUID table, vCPUs.
 *
 * A VM belongs to the mm that created it: its slots hold that mm's
 * addresses, so every ioctl from another mm (a forked child) is refused
 * with EIO.  The VM lives until its fd and every vCPU fd are closed.
 */
#define pr_fmt(fmt) "vmm: " fmt

#include <linux/anon_inodes.h>
#include <linux/module.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/msr.h>

#include "vmm.h"
#include "irq/irq.h"

struct vmm_cpuid_table {
	struct rcu_head rcu;
	int nent;
	struct vmm_cpuid_entry entries[];
};

static void vmm_vm_free(struct vmm_vm *vm)
{
	if (vm->mmu_notifier.ops)
		mmu_notifier_unregister(&vm->mmu_notifier, vm->mm);
	vmm_irqchip_destroy(vm);
	vmm_tdp_destroy(vm);
	vmm_engine->vm_destroy(vm);
	kfree(rcu_dereference_protected(vm->cpuid, true));
	mmdrop(vm->mm);
	kfree(vm);
	vmm_hw_put();
	module_put(THIS_MODULE);
}

void vmm_vm_put(struct vmm_vm *vm)
{
	if (refcount_dec_and_test(&vm->refcount))
		vmm_vm_free(vm);
}

/*
 * vmm_slot_find - the slot holding guest frame @gfn, or NULL
 * Called with vm->lock held, or from the fault path which rechecks the
 * result against the TDP invalidation sequence.
 */
const struct vmm_slot *vmm_slot_find(struct vmm_vm *vm, u64 gfn)
{
	int i;

	for (i = 0; i < VMM_MAX_SLOTS; i++) {
		const struct vmm_slot *s = &vm->slots[i];

		if (s->used && gfn >= s->gfn && gfn - s->gfn < s->npages)
			return s;
	}
	return NULL;
}

static int vmm_vm_set_slot(struct vmm_vm *vm,
			   const struct vmm_memory_slot __user *uslot)
{
	struct vmm_memory_slot ms;
	struct vmm_slot *s;
	u64 gfn, npages;
	int i, ret = 0;

	if (copy_from_user(&ms, uslot, sizeof(ms)))
		return -EFAULT;
	if (ms.slot >= VMM_MAX_SLOTS || (ms.flags & ~VMM_MEM_FLAGS) ||
	    memchr_inv(ms.reserved, 0, sizeof(ms.reserved)))
		return -EINVAL;
	if (!PAGE_ALIGNED(ms.guest_phys) || !PAGE_ALIGNED(ms.size) ||
	    !PAGE_ALIGNED(ms.userspace_addr))
		return -EINVAL;
	if (ms.size && (ms.guest_phys + ms.size < ms.guest_phys ||
			ms.guest_phys + ms.size > VMM_MAX_GPA))
		return -EINVAL;
	if (ms.size && (ms.userspace_addr + ms.size < ms.userspace_addr ||
			!access_ok((void __user *)(unsigned long)
				   ms.userspace_addr, ms.size)))
		return -EFAULT;

	gfn = ms.guest_phys >> PAGE_SHIFT;
	npages = ms.size >> PAGE_SHIFT;

	mutex_lock(&vm->lock);
	for (i = 0; ms.size && i < VMM_MAX_SLOTS; i++) {
		const struct vmm_slot *o = &vm->slots[i];

		if (i == ms.slot || !o->used)
			continue;
		if (gfn < o->gfn + o->npages && o->gfn < gfn + npages) {
			ret = -EEXIST;
			goto out;
		}
	}
	s = &vm->slots[ms.slot];
	if (s->used) {
		/* Unmap the old range everywhere before it can be reused. */
		vmm_tdp_zap_slot(vm, s);
	}
	/* The MMU notifier reads the slots under the TDP lock. */
	spin_lock(&vm->tdp.lock);
	s->used = false;
	if (ms.size) {
		s->gfn = gfn;
		s->npages = npages;
		s->hva = ms.userspace_addr;
		s->flags = ms.flags;
		s->used = true;
	}
	spin_unlock(&vm->tdp.lock);
out:
	mutex_unlock(&vm->lock);
	return ret;
}

/*
 * vmm_cpuid_lookup - copy out the entry the guest sees for leaf @fn,
 * subleaf @index.  Returns false when the table has none.  Called from
 * the exit path, with or without interrupts off.
 */
bool vmm_cpuid_lookup(struct vmm_vm *vm, u32 fn, u32 index,
		      struct vmm_cpuid_entry *out)
{
	struct vmm_cpuid_table *t;
	bool found = false;
	int i;

	rcu_read_lock();
	t = rcu_dereference(vm->cpuid);
	for (i = 0; t && i < t->nent; i++) {
		const struct vmm_cpuid_entry *e = &t->entries[i];

		if (e->function == fn &&
		    (!(e->flags & VMM_CPUID_FLAG_INDEXED) || e->index == index)) {
			*out = *e;
			found = true;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

static int vmm_vm_set_cpuid(struct vmm_vm *vm, struct vmm_cpuid __user *uc)
{
	struct vmm_cpuid_table *t, *old;
	struct vmm_cpuid hdr;
	int i;

	if (copy_from_user(&hdr, uc, sizeof(hdr)))
		return -EFAULT;
	if (hdr.reserved)
		return -EINVAL;
	if (hdr.nent > VMM_MAX_CPUID)
		return -E2BIG;
	t = kzalloc(struct_size(t, entries, hdr.nent), GFP_KERNEL_ACCOUNT);
	if (!t)
		return -ENOMEM;
	t->nent = hdr.nent;
	if (copy_from_user(t->entries, uc->entries,
			   hdr.nent * sizeof(t->entries[0]))) {
		kfree(t);
		return -EFAULT;
	}
	for (i = 0; i < t->nent; i++) {
		if (t->entries[i].reserved ||
		    (t->entries[i].flags & ~VMM_CPUID_FLAG_INDEXED)) {
			kfree(t);
			return -EINVAL;
		}
	}
	mutex_lock(&vm->lock);
	old = rcu_replace_pointer(vm->cpuid, t, lockdep_is_held(&vm->lock));
	mutex_unlock(&vm->lock);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

static int vmm_put_cpuid(struct vmm_cpuid __user *uc,
			 const struct vmm_cpuid_entry *e, u32 nent)
{
	struct vmm_cpuid hdr;

	if (copy_from_user(&hdr, uc, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < nent) {
		hdr.nent = nent;
		if (copy_to_user(uc, &hdr, sizeof(hdr)))
			return -EFAULT;
		return -E2BIG;
	}
	hdr.nent = nent;
	if (copy_to_user(uc, &hdr, sizeof(hdr)) ||
	    copy_to_user(uc->entries, e, nent * sizeof(*e)))
		return -EFAULT;
	return 0;
}

static int vmm_vm_get_cpuid(struct vmm_vm *vm, struct vmm_cpuid __user *uc)
{
	struct vmm_cpuid_entry *copy = NULL;
	struct vmm_cpuid_table *t;
	u32 nent = 0;
	int ret;

	mutex_lock(&vm->lock);
	t = rcu_dereference_protected(vm->cpuid, lockdep_is_held(&vm->lock));
	if (t && t->nent) {
		nent = t->nent;
		copy = kmemdup(t->entries, nent * sizeof(*copy), GFP_KERNEL);
	}
	mutex_unlock(&vm->lock);
	if (nent && !copy)
		return -ENOMEM;
	ret = vmm_put_cpuid(uc, copy, nent);
	kfree(copy);
	return ret;
}

/* SSE3, PCLMUL, SSSE3, CX16, SSE4.1/4.2, MOVBE, POPCNT, AES, RDRAND. */
#define CPUID1_ECX_OK	(BIT(0) | BIT(1) | BIT(9) | BIT(13) | BIT(19) | \
			 BIT(20) | BIT(22) | BIT(23) | BIT(25) | BIT(30))
/* LAHF, CmpLegacy, AltMovCr8, ABM, SSE4A, MisAlignSse, 3DNowPrefetch, TBM */
#define CPUID81_ECX_OK	(BIT(0) | BIT(1) | BIT(4) | BIT(5) | BIT(6) | \
			 BIT(7) | BIT(8) | BIT(21))

/* Leaves of the host we pass through, minus what the engine cannot offer. */
int vmm_supported_cpuid(struct vmm_cpuid __user *uc)
{
	static const u32 leaves[] = { 0, 1, 0x40000000, 0x40000100,
				      0x40000101, 0x80000000, 0x80000001,
				      0x80000002, 0x80000003, 0x80000004,
				      0x80000008 };
	struct vmm_cpuid_entry e[ARRAY_SIZE(leaves)] = {};
	int i;

	for (i = 0; i < ARRAY_SIZE(leaves); i++) {
		e[i].function = leaves[i];
		if (leaves[i] == 0x40000000) {
			/* "VmmVmmVmmVmm": the hypervisor leaf names us. */
			e[i].eax = 0x40000000;
			e[i].ebx = 0x566d6d56;	/* "VmmV" */
			e[i].ecx = 0x6d566d6d;	/* "mmVm" */
			e[i].edx = 0x6d6d566d;	/* "mVmm" */
			continue;
		}
		if (leaves[i] == 0x40000100) {
			/*
			 * KVM's signature one leaf block up, as hypervisors
			 * that speak two interfaces do: Linux finds kvmclock
			 * here and takes its TSC frequency from it instead of
			 * calibrating against the PIT.
			 */
			e[i].eax = 0x40000101;
			e[i].ebx = 0x4b4d564b;	/* "KVMK" */
			e[i].ecx = 0x564b4d56;	/* "VMKV" */
			e[i].edx = 0x0000004d;	/* "M\0\0\0" */
			continue;
		}
		if (leaves[i] == 0x40000101) {
			/* CLOCKSOURCE2, NOP_IO_DELAY, CLOCKSOURCE_STABLE_BIT */
			e[i].eax = BIT(3) | BIT(1) | BIT(24);
			continue;
		}
		cpuid_count(leaves[i], 0, &e[i].eax, &e[i].ebx, &e[i].ecx,
			    &e[i].edx);
		switch (leaves[i]) {
		case 0:
			e[i].eax = min(e[i].eax, 1u);
			break;
		case 1:
			/*
			 * What the engine gives a guest, nothing more: no
			 * MONITOR, VMX, XSAVE/OSXSAVE/AVX/FMA/F16C (the guest
			 * FPU is x87/SSE only), PDCM or PCID, no x2APIC.  The
			 * in-kernel LAPIC has TSC-deadline (cleared again by
			 * the engine for a VM without an irqchip); the
			 * hypervisor bit is set.
			 */
			e[i].ecx &= CPUID1_ECX_OK;
			e[i].ecx |= BIT(24) | BIT(31);
			/*
			 * No machine check (no banks to offer), DS, ACPI
			 * thermal, TM, PBE, PSN; HTT and the logical count
			 * are the launcher's to set.
			 */
			e[i].edx &= ~(BIT(7) | BIT(14) | BIT(18) | BIT(21) |
				      BIT(22) | BIT(28) | BIT(29) | BIT(31));
			e[i].edx |= BIT(9);	/* APIC */
			e[i].ebx &= 0x0000ffff;	/* APIC id set per vCPU */
			break;
		case 0x80000000:
			e[i].eax = min(e[i].eax, 0x80000008u);
			break;
		case 0x80000001:
			/*
			 * No SVM, extended APIC space, IBS, SKINIT, WDT, LWP,
			 * XOP/FMA4 (AVX state), node id or topology MSRs,
			 * performance counters, OSVW, MWAITX.
			 */
			e[i].ecx &= CPUID81_ECX_OK;
			/* No 1 GiB pages yet; no RDTSCP (TSC_AUX not switched). */
			e[i].edx &= ~(BIT(7) | BIT(14) | BIT(26) | BIT(27));
			break;
		case 0x80000008:
			/* No IBPB/IBRS/STIBP/SSBD MSRs to offer. */
			e[i].ebx = 0;
			/* Core count is the launcher's to set. */
			e[i].ecx = 0;
			break;
		}
	}
	return vmm_put_cpuid(uc, e, ARRAY_SIZE(e));
}

static int vmm_vm_irq_line(struct vmm_vm *vm,
			   const struct vmm_irq_level __user *ul)
{
	struct vmm_irq_level l;

	if (copy_from_user(&l, ul, sizeof(l)))
		return -EFAULT;
	if (l.reserved)
		return -EINVAL;
	return vmm_irq_set_gsi(vm, l.irq, l.level);
}

static int vmm_vm_signal_msi(struct vmm_vm *vm, const struct vmm_msi __user *um)
{
	struct vmm_msi msi;

	if (copy_from_user(&msi, um, sizeof(msi)))
		return -EFAULT;
	if (msi.flags || msi.reserved || msi.address_hi)
		return -EINVAL;
	/* Pairs with vmm_irqchip_create()'s release. */
	if (!smp_load_acquire(&vm->irqchip))
		return -ENXIO;
	return vmm_lapic_signal_msi(vm, msi.address_lo, msi.data);
}

static long vmm_vm_ioctl(struct file *filp, unsigned int ioctl,
			 unsigned long arg)
{
	struct vmm_vm *vm = filp->private_data;
	void __user *argp = (void __user *)arg;

	if (current->mm != vm->mm)
		return -EIO;

	switch (ioctl) {
	case VMM_SET_MEMORY_SLOT:
		return vmm_vm_set_slot(vm, argp);
	case VMM_CREATE_VCPU:
		return vmm_vcpu_create(vm, arg);
	case VMM_SET_CPUID:
		return vmm_vm_set_cpuid(vm, argp);
	case VMM_GET_CPUID:
		return vmm_vm_get_cpuid(vm, argp);
	case VMM_CHECK_CAP:
		return vmm_check_cap(arg);
	case VMM_IRQ_LINE:
		return vmm_vm_irq_line(vm, argp);
	case VMM_CREATE_IRQCHIP:
		return arg > U32_MAX ? -EINVAL : vmm_irqchip_create(vm, arg);
	case VMM_SIGNAL_MSI:
		return vmm_vm_signal_msi(vm, argp);
	default:
		return -ENOTTY;
	}
}

static int vmm_vm_release(struct inode *inode, struct file *filp)
{
	vmm_vm_put(filp->private_data);
	return 0;
}

static const struct file_operations vmm_vm_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = vmm_vm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = vmm_vm_release,
	.llseek = noop_llseek,
};

long vmm_dev_create_vm(unsigned long flags)
{
	struct vmm_vm *vm;
	int ret;

	if (flags)
		return -EINVAL;
	ret = vmm_hw_get();
	if (ret)
		return ret;
	if (!try_module_get(THIS_MODULE)) {
		vmm_hw_put();
		return -ENODEV;
	}
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm) {
		module_put(THIS_MODULE);
		vmm_hw_put();
		return -ENOMEM;
	}
	refcount_set(&vm->refcount, 1);
	mutex_init(&vm->lock);
	vm->mm = current->mm;
	mmgrab(vm->mm);
	/* One TSC for all vCPUs: a guest checks that they agree. */
	vm->tsc_base = rdtsc();
	vm->wall_base_ns = ktime_get_real_ns();

	/* From here on, vmm_vm_free() undoes whatever was set up. */
	ret = vmm_tdp_init(vm);
	if (!ret)
		ret = vmm_engine->vm_init(vm);
	if (!ret)
		ret = vmm_mmu_notifier_register(vm);
	if (!ret)
		ret = anon_inode_getfd("vmm-vm", &vmm_vm_fops, vm,
				       O_RDWR | O_CLOEXEC);
	if (ret < 0)
		vmm_vm_put(vm);
	return ret;
}
