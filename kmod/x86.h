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
struct vmm_pio;

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

/*
 * An IN or OUT (not a string one) for the in-kernel PIC or PIT: done,
 * an IN's result in RAX; the engine moves RIP on.  False when there is
 * no irqchip or the port is not theirs: the engine emulates it as usual.
 */
bool vmm_x86_pio_irqchip(struct vmm_vcpu *vcpu, const struct vmm_pio *pio);

/*
 * A HLT exit, RIP already past the HLT.  @if_flag is RFLAGS.IF,
 * @irq_loaded whether the engine has an external interrupt handed to the
 * CPU already, which the guest takes as soon as it runs with IF set.
 * With an irqchip the vCPU waits in vmm_lapic_pre_run().  Returns 1 to
 * re-enter, 0 with run->exit_reason for userspace.
 */
int vmm_x86_hlt(struct vmm_vcpu *vcpu, bool if_flag, bool irq_loaded);

/*
 * A MOV to CR0 that the engine intercepted: the CPU's checks, and LMA in
 * *@efer (the guest's) as it follows when paging goes on or off.  *@cr0
 * gets ET.  Returns false for a value the CPU refuses with #GP (nothing
 * is changed then).  The engine flushes the guest's TLB when PG, WP, CD
 * or NW changed: VMM_X86_CR0_FLUSH.
 */
bool vmm_x86_cr0_write(u64 old, u64 *cr0, u64 cr4, u64 *efer);
#define VMM_X86_CR0_FLUSH	(X86_CR0_PG | X86_CR0_WP | X86_CR0_CD | \
				 X86_CR0_NW)

/*
 * A triple fault: the registers of the crash into run->shutdown (through
 * the engine's get_regs/get_sregs), before the engine resets the vCPU.
 */
void vmm_x86_report_shutdown(struct vmm_vcpu *vcpu);

#endif /* _VMM_X86_H */
