/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every x86 engine (svm.c, vmx.c) does the same way: CPUID exits,
 * the MSRs that are not held in a VMCB or VMCS, the guest's TSC offset.
 */
#ifndef _VMM_X86_H
#define _VMM_X86_H

#include <linux/types.h>

struct vmm_vcpu;
struct vmm_regs;

/* Architectural PAT at RESET: WB, WT, UC-, UC, twice. */
#define VMM_X86_PAT_RESET	0x0007040600070406ULL

/* EFER bits a guest may hold (SVME and LMSLE are the engine's). */
#define VMM_X86_EFER_GUEST	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX | \
				 EFER_FFXSR)

/* RFLAGS bits a guest may set; bit 1 reads as one. */
#define VMM_X86_RFLAGS_MASK	0x3f7fd5ULL

/* Per-vCPU state of x86.c (vcpu->x86): none of it is in a VMCB/VMCS. */
struct vmm_x86 {
	/*
	 * Guest TSC = host TSC + tsc_offset.  x86.c changes it (RESET,
	 * WRMSR to IA32_TSC); the engine copies it into its VMCB/VMCS at
	 * its reset and after vmm_x86_set_msr() handled an MSR.
	 */
	u64 tsc_offset;
	u64 apic_base;		/* IA32_APIC_BASE without an in-kernel LAPIC */
	u64 misc_enable;	/* IA32_MISC_ENABLE (Intel) */
	/* MTRRs: stored and read back; guest memory types come from PAT. */
	u64 mtrr_def_type;
	u64 mtrr_fixed[11];
	u64 mtrr_var[16];	/* base/mask pairs, MSRs 0x200-0x20f */
	u64 kvmclock_msr;	/* MSR_KVM_SYSTEM_TIME_NEW as written */
	u64 wall_clock_msr;	/* MSR_KVM_WALL_CLOCK_NEW as written */
};

/* The state x86.c keeps at RESET (not at INIT: that keeps all of it). */
void vmm_x86_vcpu_reset(struct vmm_vcpu *vcpu);

/* What RDTSC reads in the guest now. */
u64 vmm_x86_guest_tsc(struct vmm_vcpu *vcpu);

/*
 * A CPUID exit: the leaf the guest asked for (EAX, ECX in vcpu->gpr) into
 * EAX-EDX.  @cr4 is the guest's CR4 (OSXSAVE).  The engine skips the
 * instruction.
 */
void vmm_x86_cpuid(struct vmm_vcpu *vcpu, u64 cr4);

/*
 * vmm_x86_get_msr/vmm_x86_set_msr - the MSRs no engine keeps in its
 * control block.  @host: the access is the ioctl's (it may set what the
 * guest may not).  Return 0 handled, 1 not an MSR of x86.c, -EINVAL an
 * access the CPU refuses (#GP for a guest).
 */
int vmm_x86_get_msr(struct vmm_vcpu *vcpu, u32 index, u64 *data);
int vmm_x86_set_msr(struct vmm_vcpu *vcpu, u32 index, u64 data, bool host);

/* PAT value check: the engine stores PAT (in its VMCB/VMCS). */
bool vmm_x86_pat_valid(u64 pat);

/* VMM_GET_REGS/SET_REGS's GPRs from/to vcpu->gpr (RIP, RFLAGS apart). */
void vmm_x86_get_gprs(struct vmm_vcpu *vcpu, struct vmm_regs *regs);
void vmm_x86_set_gprs(struct vmm_vcpu *vcpu, const struct vmm_regs *regs);

/* An IN's @val lands in AL/AX/EAX of vcpu->gpr as the CPU puts it. */
void vmm_x86_pio_in_result(struct vmm_vcpu *vcpu, int size, u32 val);

#endif /* _VMM_X86_H */
