// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: the vCPU file descriptor — the run page, register state, events,
 * and VMM_RUN, which hands the vCPU to the engine until userspace is needed.
 */
#define pr_fmt(fmt) "vmm: " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>

#include "vmm.h"
#include "irq/irq.h"

static void vmm_kick_ipi(void *unused)
{
	/* The IPI itself forces the #VMEXIT; nothing to do here. */
}

/*
 * vmm_vcpu_kick_all - post request @req to every vCPU of @vm and wait until
 * none is still running guest code that predates it.  A vCPU sets its mode
 * to VMM_IN_GUEST with interrupts off and then checks its requests, so one
 * that we see outside the guest will notice the request before entering.
 */
void vmm_vcpu_kick_all(struct vmm_vm *vm, int req)
{
	int i;

	rcu_read_lock();
	for (i = 0; i < VMM_MAX_VCPUS; i++) {
		struct vmm_vcpu *vcpu = rcu_dereference(vm->vcpus[i]);

		if (!vcpu)
			continue;
		set_bit(req, &vcpu->requests);
		/* Pairs with the vCPU's barrier: request before mode. */
		smp_mb__after_atomic();
		if (READ_ONCE(vcpu->mode) == VMM_IN_GUEST)
			smp_call_function_single(READ_ONCE(vcpu->cpu),
						 vmm_kick_ipi, NULL, 1);
	}
	rcu_read_unlock();
}

/*
 * vmm_read_guest - copy @len bytes of guest-physical memory at @gpa
 * Returns 0, or -EFAULT when part of the range is not RAM.
 */
int vmm_read_guest(struct vmm_vcpu *vcpu, u64 gpa, void *buf,
		   unsigned int len)
{
	while (len) {
		unsigned int n = min_t(unsigned int, len,
				       PAGE_SIZE - offset_in_page(gpa));
		const struct vmm_slot *s;
		unsigned long hva;

		mutex_lock(&vcpu->vm->lock);
		s = vmm_slot_find(vcpu->vm, gpa >> PAGE_SHIFT);
		hva = s ? s->hva + (gpa - (s->gfn << PAGE_SHIFT)) : 0;
		mutex_unlock(&vcpu->vm->lock);
		if (!s || copy_from_user(buf, (void __user *)hva, n))
			return -EFAULT;
		gpa += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* vmm_write_guest - the converse of vmm_read_guest; read-only slots refuse. */
int vmm_write_guest(struct vmm_vcpu *vcpu, u64 gpa, const void *buf,
		    unsigned int len)
{
	while (len) {
		unsigned int n = min_t(unsigned int, len,
				       PAGE_SIZE - offset_in_page(gpa));
		const struct vmm_slot *s;
		unsigned long hva = 0;

		mutex_lock(&vcpu->vm->lock);
		s = vmm_slot_find(vcpu->vm, gpa >> PAGE_SHIFT);
		if (s && !(s->flags & VMM_MEM_READONLY))
			hva = s->hva + (gpa - (s->gfn << PAGE_SHIFT));
		mutex_unlock(&vcpu->vm->lock);
		if (!hva || copy_to_user((void __user *)hva, buf, n))
			return -EFAULT;
		gpa += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static long vmm_vcpu_run(struct vmm_vcpu *vcpu)
{
	struct vmm_run *run = vcpu->run;

	if (run->immediate_exit) {
		run->exit_reason = VMM_EXIT_INTR;
		return -EINTR;
	}
	/* The engine loads the guest's FPU state if and when it is used. */
	return vmm_engine->vcpu_run(vcpu);
}

static long vmm_vcpu_msrs(struct vmm_vcpu *vcpu, struct vmm_msrs __user *um,
			  bool set)
{
	struct vmm_msr_entry e;
	struct vmm_msrs hdr;
	u32 i;

	if (copy_from_user(&hdr, um, sizeof(hdr)))
		return -EFAULT;
	if (hdr.pad)
		return -EINVAL;
	if (hdr.nmsrs > VMM_MAX_MSR_ENTRIES)
		return -E2BIG;
	for (i = 0; i < hdr.nmsrs; i++) {
		if (copy_from_user(&e, &um->entries[i], sizeof(e)))
			return -EFAULT;
		if (e.reserved)
			return -EINVAL;
		if (set) {
			if (vmm_engine->set_msr(vcpu, e.index, e.data, true))
				break;
		} else {
			if (vmm_engine->get_msr(vcpu, e.index, &e.data))
				break;
			if (copy_to_user(&um->entries[i], &e, sizeof(e)))
				return -EFAULT;
		}
	}
	return i;
}

static long vmm_vcpu_get_fpu(struct vmm_vcpu *vcpu, void __user *uarg)
{
	struct vmm_xsave *x = kzalloc(sizeof(*x), GFP_KERNEL);
	long ret = 0;

	if (!x)
		return -ENOMEM;
	fpu_copy_guest_fpstate_to_uabi(&vcpu->fpu, x, sizeof(*x),
				       vcpu->fpu.fpstate->user_xfeatures, 0);
	if (copy_to_user(uarg, x, sizeof(*x)))
		ret = -EFAULT;
	kfree(x);
	return ret;
}

static long vmm_vcpu_set_fpu(struct vmm_vcpu *vcpu, void __user *uarg)
{
	struct vmm_xsave *x = memdup_user(uarg, sizeof(*x));
	u32 pkru = 0;
	long ret;

	if (IS_ERR(x))
		return PTR_ERR(x);
	ret = fpu_copy_uabi_to_guest_fpstate(&vcpu->fpu, x,
					     vcpu->fpu.fpstate->user_xfeatures,
					     &pkru);
	kfree(x);
	return ret;
}

static long vmm_vcpu_interrupt(struct vmm_vcpu *vcpu, void __user *uarg)
{
	struct vmm_interrupt irq;

	if (copy_from_user(&irq, uarg, sizeof(irq)))
		return -EFAULT;
	/* The in-kernel LAPIC/PIC own the interrupt line. */
	if (vcpu->vm->irqchip)
		return -EBUSY;
	/* Vectors 0-31 are exceptions, not external interrupts. */
	if (irq.reserved || irq.vector < 32 || irq.vector > 255)
		return -EINVAL;
	if (vcpu->irq_pending)
		return -EBUSY;
	vcpu->irq_vector = irq.vector;
	vcpu->irq_pending = true;
	return 0;
}

/* The run loop counts under the vCPU's lock, which the caller holds. */
static void vmm_vcpu_get_stats(struct vmm_vcpu *vcpu, struct vmm_stats *st)
{
	int i;

	memset(st, 0, sizeof(*st));
	st->nr = VMM_STAT_KINDS;
	for (i = 0; i < VMM_STAT_KINDS; i++) {
		st->count[i] = vcpu->stats[i];
		st->exits += vcpu->stats[i];
	}
}

static long vmm_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			   unsigned long arg)
{
	struct vmm_vcpu *vcpu = filp->private_data;
	void __user *argp = (void __user *)arg;
	union {
		struct vmm_regs regs;
		struct vmm_sregs sregs;
		struct vmm_stats stats;
	} u;
	long ret;

	if (current->mm != vcpu->vm->mm)
		return -EIO;
	/* A second thread on the same vCPU waits; a signal frees it. */
	if (mutex_lock_killable(&vcpu->lock))
		return -EINTR;

	switch (ioctl) {
	case VMM_RUN:
		ret = arg ? -EINVAL : vmm_vcpu_run(vcpu);
		break;
	case VMM_GET_REGS:
		memset(&u.regs, 0, sizeof(u.regs));
		vmm_engine->get_regs(vcpu, &u.regs);
		ret = copy_to_user(argp, &u.regs, sizeof(u.regs)) ? -EFAULT : 0;
		break;
	case VMM_SET_REGS:
		ret = -EFAULT;
		if (!copy_from_user(&u.regs, argp, sizeof(u.regs)))
			ret = vmm_engine->set_regs(vcpu, &u.regs);
		break;
	case VMM_GET_SREGS:
		memset(&u.sregs, 0, sizeof(u.sregs));
		vmm_engine->get_sregs(vcpu, &u.sregs);
		ret = copy_to_user(argp, &u.sregs, sizeof(u.sregs)) ?
			-EFAULT : 0;
		break;
	case VMM_SET_SREGS:
		ret = -EFAULT;
		if (copy_from_user(&u.sregs, argp, sizeof(u.sregs)))
			break;
		ret = -EINVAL;
		if (memchr_inv(u.sregs.reserved, 0, sizeof(u.sregs.reserved)))
			break;
		ret = vmm_engine->set_sregs(vcpu, &u.sregs);
		break;
	case VMM_GET_MSRS:
	case VMM_SET_MSRS:
		ret = vmm_vcpu_msrs(vcpu, argp, ioctl == VMM_SET_MSRS);
		break;
	case VMM_GET_FPU:
		ret = vmm_vcpu_get_fpu(vcpu, argp);
		break;
	case VMM_SET_FPU:
		ret = vmm_vcpu_set_fpu(vcpu, argp);
		break;
	case VMM_INTERRUPT:
		ret = vmm_vcpu_interrupt(vcpu, argp);
		break;
	case VMM_NMI:
		ret = arg ? -EINVAL : 0;
		if (!ret)
			vcpu->nmi_pending = true;
		break;
	case VMM_GET_STATS:
		vmm_vcpu_get_stats(vcpu, &u.stats);
		ret = copy_to_user(argp, &u.stats, sizeof(u.stats)) ?
			-EFAULT : 0;
		break;
	default:
		ret = -ENOTTY;
	}
	mutex_unlock(&vcpu->lock);
	return ret;
}

static vm_fault_t vmm_vcpu_fault(struct vm_fault *vmf)
{
	struct vmm_vcpu *vcpu = vmf->vma->vm_file->private_data;

	if (vmf->pgoff != 0)
		return VM_FAULT_SIGBUS;
	vmf->page = virt_to_page(vcpu->run);
	get_page(vmf->page);
	return 0;
}

static const struct vm_operations_struct vmm_vcpu_vm_ops = {
	.fault = vmm_vcpu_fault,
};

static int vmm_vcpu_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct vmm_vcpu *vcpu = filp->private_data;

	if (current->mm != vcpu->vm->mm)
		return -EIO;
	if (vma->vm_pgoff != 0 || vma->vm_end - vma->vm_start > PAGE_SIZE)
		return -EINVAL;
	vmm_vma_set_flags(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &vmm_vcpu_vm_ops;
	return 0;
}

static int vmm_vcpu_release(struct inode *inode, struct file *filp)
{
	struct vmm_vcpu *vcpu = filp->private_data;
	struct vmm_vm *vm = vcpu->vm;

	mutex_lock(&vm->lock);
	rcu_assign_pointer(vm->vcpus[vcpu->id], NULL);
	mutex_unlock(&vm->lock);
	vmm_lapic_destroy(vcpu);
	vmm_engine->vcpu_free(vcpu);
	fpu_free_guest_fpstate(&vcpu->fpu);
	while (vcpu->page_cache.nr)
		free_page((unsigned long)
			  vcpu->page_cache.pages[--vcpu->page_cache.nr]);
	free_page((unsigned long)vcpu->run);
	kfree_rcu(vcpu, rcu);
	vmm_vm_put(vm);
	return 0;
}

static const struct file_operations vmm_vcpu_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = vmm_vcpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = vmm_vcpu_mmap,
	.release = vmm_vcpu_release,
	.llseek = noop_llseek,
};

long vmm_vcpu_create(struct vmm_vm *vm, unsigned long id)
{
	struct vmm_irqchip *chip;
	struct vmm_vcpu *vcpu;
	int ret;

	if (id >= VMM_MAX_VCPUS)
		return -EINVAL;
	/* From here on VMM_CREATE_IRQCHIP is refused: the irqchip is fixed. */
	mutex_lock(&vm->lock);
	vm->created_vcpus++;
	chip = vm->irqchip;
	mutex_unlock(&vm->lock);

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->cpu = -1;
	mutex_init(&vcpu->lock);
	init_waitqueue_head(&vcpu->wq);
	/* With an irqchip, APs wait for INIT/SIPI from the BSP. */
	vcpu->mp_state = chip && id ? VMM_MP_WAIT_SIPI : VMM_MP_RUNNABLE;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run)
		goto err_free;
	if (!fpu_alloc_guest_fpstate(&vcpu->fpu))
		goto err_run;
	/*
	 * Guests are offered x87 and SSE only (no XSAVE in their CPUID), so
	 * only that is saved at each exit: a fraction of the AVX-512 area.
	 * Entry restores with the kernel's full mask, so every other
	 * component starts in its init state: nothing of the host leaks in.
	 */
	vcpu->fpu.fpstate->xfeatures &= XFEATURE_MASK_FPSSE;
	vcpu->fpu.fpstate->user_xfeatures &= XFEATURE_MASK_FPSSE;
	ret = vmm_engine->vcpu_create(vcpu);
	if (ret)
		goto err_fpu;
	if (chip) {
		ret = vmm_lapic_create(vcpu);
		if (ret)
			goto err_engine;
	}

	mutex_lock(&vm->lock);
	if (rcu_access_pointer(vm->vcpus[id])) {
		ret = -EEXIST;
		goto err_unlock;
	}
	refcount_inc(&vm->refcount);
	ret = anon_inode_getfd("vmm-vcpu", &vmm_vcpu_fops, vcpu,
			       O_RDWR | O_CLOEXEC);
	if (ret < 0) {
		refcount_dec(&vm->refcount);
		goto err_unlock;
	}
	rcu_assign_pointer(vm->vcpus[id], vcpu);
	mutex_unlock(&vm->lock);
	return ret;

err_unlock:
	mutex_unlock(&vm->lock);
	vmm_lapic_destroy(vcpu);
err_engine:
	vmm_engine->vcpu_free(vcpu);
err_fpu:
	fpu_free_guest_fpstate(&vcpu->fpu);
	free_page((unsigned long)vcpu->run);
	kfree(vcpu);
	return ret;
err_run:
	free_page((unsigned long)vcpu->run);
err_free:
	kfree(vcpu);
	return -ENOMEM;
}
