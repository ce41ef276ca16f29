/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm: the one assembly routine of the VMX engine — load the guest's
 * general-purpose registers, VMLAUNCH or VMRESUME, store them back.
 *
 * RSP and RIP are switched through the VMCS (GUEST_RSP/RIP, HOST_RSP/RIP);
 * a VM exit saves no guest GPR, so they are stored here first thing after
 * the landing label.  HOST_RIP is vmm_vmx_vmexit, set once per VMCS;
 * HOST_RSP is written here before each entry, as the stack depth at this
 * point can differ between callers.  The caller runs with interrupts off:
 * host interrupts and NMIs become VM exits (pin-based controls) and are
 * taken by the caller afterwards.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/unwind_hints.h>
#include <asm/nospec-branch.h>

/* Offsets into u64 gpr[16], hardware encoding order (enum vmm_reg). */
#define G_RAX	(0 * 8)
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

#define VMCS_HOST_RSP	0x00006c14

	.text

/*
 * int vmm_vmx_run(u64 *gpr, bool launched)
 * Returns 0 after a VM exit, 1 if VMLAUNCH/VMRESUME failed (VMfail: the
 * caller reads VM_INSTRUCTION_ERROR).
 */
SYM_FUNC_START(vmm_vmx_run)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rdi		/* gpr, for after the exit */

	mov	$VMCS_HOST_RSP, %eax
	vmwrite	%rsp, %rax
	/* A failed VMWRITE leaves the VMCS unusable: report a VMfail. */
	jbe	.Lvmfail_host

	mov	%rdi, %rax
	/* ZF from here selects VMLAUNCH; MOVs below leave it alone. */
	testb	%sil, %sil
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
	mov	G_RAX(%rax), %rax

	jz	.Lvmlaunch

	/*
	 * After a successful entry, execution continues at vmm_vmx_vmexit
	 * (HOST_RIP) with the stack as it is here: tell objtool.
	 */
	UNWIND_HINT_SAVE
	vmresume
	jmp	.Lvmfail
.Lvmlaunch:
	vmlaunch
	jmp	.Lvmfail

SYM_INNER_LABEL(vmm_vmx_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR

	/* Guest RAX goes on the stack until gpr is in a register. */
	push	%rax
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
	pop	G_RAX(%rax)
	xor	%ebx, %ebx	/* return 0: an exit */

.Lclear_regs:
	/* The guest may have trained the return stack buffer: refill it. */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RETPOLINE

	/* Leave no guest value in a register the host may speculate on. */
	xor	%eax, %eax
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	xor	%r12d, %r12d
	xor	%r13d, %r13d
	xor	%r14d, %r14d
	xor	%r15d, %r15d

	mov	%ebx, %eax
	pop	%rdi		/* gpr */
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET

.Lvmfail:
	/* Guest values are in the registers; RSP and the frame are ours. */
	mov	$1, %ebx
	jmp	.Lclear_regs

.Lvmfail_host:
	mov	$1, %ebx
	jmp	.Lclear_regs
SYM_FUNC_END(vmm_vmx_run)
