/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels vmm builds against (Debian's 6.1
 * and newer LTS kernels such as 6.12) is guarded here, and only here.
 */
#ifndef _VMM_COMPAT_H
#define _VMM_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>
#include <linux/smp.h>

/* 6.3 made vma->vm_flags read-only outside the helpers. */
static inline void vmm_vma_set_flags(struct vm_area_struct *vma,
				     unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/*
 * 6.3 wrapped smp_send_reschedule() in a tracepoint modules cannot
 * reach; the arch call under it is what KVM's kick uses too.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define vmm_send_reschedule(cpu)	arch_smp_send_reschedule(cpu)
#else
#define vmm_send_reschedule(cpu)	smp_send_reschedule(cpu)
#endif

/* 6.12 dropped SVM_VM_CR_SVM_DISABLE from asm/svm.h; the bit is stable. */
#define VMM_VM_CR_SVMDIS	(1ULL << 4)

#endif /* _VMM_COMPAT_H */
