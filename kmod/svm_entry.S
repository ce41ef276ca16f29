/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm: the one assembly routine of the SVM engine — load the guest's
 * general-purpose registers, VMRUN, store them back.
 *
 * RAX and RSP are switched by VMRUN itself through the VMCB.  VMRUN does
 * not switch FS, GS, TR, LDTR, KernelGSbase or the SYSCALL/SYSENTER MSRs:
 * VMLOAD/VMSAVE do, around it; the host's copy is VMSAVEd by the caller
 * (once per interrupts-off section) and VMLOADed here after the exit.
 * The caller has cleared GIF and set IF, so
 * a host interrupt arriving while the guest runs becomes an INTR #VMEXIT
 * and is taken once the caller sets GIF again.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

/* Offsets into u64 gpr[16], hardware encoding order (enum vmm_reg). */
#define G_RCX	(1 * 8)
#define G_RDX	(2 * 8)
#define G_RBX	(3 * 8)
#define G_RBP	(5 * 8)
#define G_RSI	(6 * 8)
#define G_RDI	(7 * 8)
#define G_R8	(8 * 8)
#define G_R9	(9 * 8)
#define G_R10	(10 * 8)
#define G_R11	(11 * 8)
#define G_R12	(12 * 8)
#define G_R13	(13 * 8)
#define G_R14	(14 * 8)
#define G_R15	(15 * 8)

	.text

/*
 * void vmm_svm_vmrun(u64 vmcb_pa, u64 *gpr, u64 host_vmcb_pa)
 */
SYM_FUNC_START(vmm_svm_vmrun)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rsi		/* gpr, for after the exit */
	push	%rdx		/* host save area */
	push	%rdi		/* guest VMCB */

	mov	%rsi, %rax
	mov	G_RCX(%rax), %rcx
	mov	G_RDX(%rax), %rdx
	mov	G_RBX(%rax), %rbx
	mov	G_RBP(%rax), %rbp
	mov	G_RSI(%rax), %rsi
	mov	G_RDI(%rax), %rdi
	mov	G_R8(%rax), %r8
	mov	G_R9(%rax), %r9
	mov	G_R10(%rax), %r10
	mov	G_R11(%rax), %r11
	mov	G_R12(%rax), %r12
	mov	G_R13(%rax), %r13
	mov	G_R14(%rax), %r14
	mov	G_R15(%rax), %r15

	pop	%rax		/* guest VMCB */
	vmload	%rax
	vmrun	%rax
	vmsave	%rax

	/* RAX and RSP are the host's again; the rest hold guest values. */
	mov	8(%rsp), %rax	/* gpr */
	mov	%rcx, G_RCX(%rax)
	mov	%rdx, G_RDX(%rax)
	mov	%rbx, G_RBX(%rax)
	mov	%rbp, G_RBP(%rax)
	mov	%rsi, G_RSI(%rax)
	mov	%rdi, G_RDI(%rax)
	mov	%r8, G_R8(%rax)
	mov	%r9, G_R9(%rax)
	mov	%r10, G_R10(%rax)
	mov	%r11, G_R11(%rax)
	mov	%r12, G_R12(%rax)
	mov	%r13, G_R13(%rax)
	mov	%r14, G_R14(%rax)
	mov	%r15, G_R15(%rax)

	pop	%rax		/* host save area */
	vmload	%rax

	/* The guest may have trained the return stack buffer: refill it. */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RETPOLINE

	/* Leave no guest value in a register the host may speculate on. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	pop	%rsi		/* gpr */
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(vmm_svm_vmrun)
