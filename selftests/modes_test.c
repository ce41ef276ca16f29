// SPDX-License-Identifier: GPL-2.0
/*
 * modes_test - guests in real mode, 32-bit protected mode and 64-bit long
 * mode compute with values this test gives them through IN and report
 * through OUT and memory; a last guest climbs from real mode to long mode
 * on its own (LGDT, CR0.PE, far jumps, CR4.PAE, WRMSR EFER, CR0.PG).
 */
#include "lib/vmm_test.h"

#define MAILBOX		__stringify(GUEST_MAILBOX)

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code16\n"
"real_guest_start:\n"
"	inw $0x10, %ax\n"		/* X */
"	movw %ax, %bx\n"
"	addw $0x1234, %ax\n"
"	outw %ax, $0x11\n"		/* X + 0x1234 */
"	movw %bx, %ax\n"
"	outw %ax, $0x12\n"		/* X itself */
"	xorw %ax, %ax\n"
"	movw $100, %cx\n"
"1:	addw %cx, %ax\n"
"	loop 1b\n"
"	outw %ax, $0x13\n"		/* 1 + ... + 100 */
"	movw %bx, " MAILBOX "\n"	/* DS = 0 */
"	pushw %bx\n"
"	popw %dx\n"
"	movw %dx, %ax\n"
"	outw %ax, $0x14\n"		/* X through the stack */
"	movw $(" MAILBOX " >> 4), %ax\n"
"	movw %ax, %es\n"
"	notw %bx\n"
"	movw %bx, %es:0x10\n"		/* ~X at ES:0x10 */
"	inl $0x15, %eax\n"		/* Y, 32 bits */
"	imull $3, %eax, %eax\n"
"	outl %eax, $0x16\n"		/* 3 * Y */
"	hlt\n"
"real_guest_end:\n"
"	.code64\n"
"	.popsection\n");
VMM_GUEST_CODE(real_guest);

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code32\n"
"prot_guest_start:\n"
"	inl $0x20, %eax\n"		/* X */
"	movl %eax, %ebx\n"
"	imull $7, %eax, %eax\n"
"	addl $0x11111111, %eax\n"
"	outl %eax, $0x21\n"		/* 7 * X + 0x11111111 */
"	movl %ebx, %eax\n"
"	outl %eax, $0x22\n"		/* X */
"	movl %ebx, " MAILBOX "\n"
"	movl %ebx, " __stringify(GUEST_DATA) "\n"	/* above 1 MiB */
"	pushl %ebx\n"
"	popl %ecx\n"
"	movl %ecx, %eax\n"
"	outl %eax, $0x23\n"		/* X through the stack */
"	xorl %eax, %eax\n"
"	movl $1000, %ecx\n"
"1:	addl %ecx, %eax\n"
"	loop 1b\n"
"	outl %eax, $0x24\n"		/* 1 + ... + 1000 */
"	hlt\n"
"prot_guest_end:\n"
"	.code64\n"
"	.popsection\n");
VMM_GUEST_CODE(prot_guest);

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"long_guest_start:\n"
"	inl $0x30, %eax\n"		/* low half of X (zero-extends) */
"	movq %rax, %rbx\n"
"	inl $0x30, %eax\n"		/* high half */
"	shlq $32, %rax\n"
"	orq %rax, %rbx\n"		/* RBX = X */
"	movq %rbx, %r13\n"
"	movabsq $0x9e3779b97f4a7c15, %rcx\n"
"	movq %rbx, %rax\n"
"	imulq %rcx, %rax\n"		/* X * c mod 2^64 */
"	movq %rax, %r8\n"
"	outl %eax, $0x31\n"
"	shrq $32, %rax\n"
"	outl %eax, $0x31\n"
"	pushq %r13\n"
"	popq %r14\n"
"	movq %r14, " MAILBOX "\n"		/* X */
"	movq %r8, " MAILBOX " + 8\n"		/* X * c */
"	leaq long_guest_start(%rip), %rax\n"
"	movq %rax, " MAILBOX " + 16\n"	/* where the code runs */
"	hlt\n"
"long_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(long_guest);

/*
 * From real mode to long mode, reporting on port 0x40 in each mode.  The
 * GDT and page tables are the ones vmm_setup_long_mode() left in the
 * system area; the guest only loads them.
 */
#define MS_ADDR(l)	#l " - switch_guest_start + " __stringify(GUEST_CODE)
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code16\n"
"switch_guest_start:\n"
"	movw $0x16, %ax\n"
"	outw %ax, $0x40\n"
"	lgdtl " MS_ADDR(switch_gdtr) "\n"
"	movl %cr0, %eax\n"
"	orl $1, %eax\n"
"	movl %eax, %cr0\n"
"	ljmpl $0x08, $(" MS_ADDR(switch_pm32) ")\n"
"switch_gdtr:\n"
"	.word 6 * 8 - 1\n"
"	.long " __stringify(GUEST_SYS) "\n"
"	.code32\n"
"switch_pm32:\n"
"	movw $0x10, %ax\n"
"	movw %ax, %ds\n"
"	movw %ax, %es\n"
"	movw %ax, %ss\n"
"	movl $0x32, %eax\n"
"	outl %eax, $0x40\n"
"	movl %cr4, %eax\n"
"	orl $0x20, %eax\n"			/* PAE */
"	movl %eax, %cr4\n"
"	movl $(" __stringify(GUEST_SYS) " + 0x2000), %eax\n"
"	movl %eax, %cr3\n"
"	movl $0xc0000080, %ecx\n"
"	rdmsr\n"
"	orl $0x100, %eax\n"			/* EFER.LME */
"	wrmsr\n"
"	movl %cr0, %eax\n"
"	orl $0x80000000, %eax\n"		/* PG: long mode is on */
"	movl %eax, %cr0\n"
"	ljmp $0x18, $(" MS_ADDR(switch_lm64) ")\n"
"	.code64\n"
"switch_lm64:\n"
"	movl $0xc0000080, %ecx\n"
"	rdmsr\n"
"	outl %eax, $0x40\n"			/* EFER: LME | LMA */
"	movq $0x64, %rax\n"
"	movq %rax, %r15\n"
"	outl %eax, $0x40\n"
"	hlt\n"
"switch_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(switch_guest);

FIXTURE(modes) {
	struct vmm_test t;
};

/*
 * The VM is made in each test body: a SKIP in this harness's setup would
 * not keep the body from running.
 */
FIXTURE_SETUP(modes)
{
}

FIXTURE_TEARDOWN(modes)
{
	vmm_test_teardown(&self->t);
}

TEST_F(modes, real_mode)
{
	struct vmm_test *t = &self->t;
	const uint16_t x = 0xbeef;
	const uint32_t y = 0x12345678;
	struct vmm_regs regs;
	uint16_t *mb;

	VMM_TEST_SETUP(t);
	VMM_TEST_LOAD(t, real_guest);
	ASSERT_EQ(0, vmm_setup_real_mode(t->vcpu, 0, GUEST_CODE,
					 GUEST_STACK16));
	vmm_test_in(_metadata, t->vcpu, 0x10, 2, x);
	ASSERT_EQ((uint16_t)(x + 0x1234),
		  vmm_test_out(_metadata, t->vcpu, 0x11, 2));
	ASSERT_EQ(x, vmm_test_out(_metadata, t->vcpu, 0x12, 2));
	ASSERT_EQ(5050, vmm_test_out(_metadata, t->vcpu, 0x13, 2));
	ASSERT_EQ(x, vmm_test_out(_metadata, t->vcpu, 0x14, 2));
	vmm_test_in(_metadata, t->vcpu, 0x15, 4, y);
	ASSERT_EQ(3 * y, vmm_test_out(_metadata, t->vcpu, 0x16, 4));
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);

	mb = (uint16_t *)(t->mem + GUEST_MAILBOX);
	ASSERT_EQ(x, mb[0]);
	ASSERT_EQ((uint16_t)~x, mb[0x10 / 2]);
	ASSERT_EQ(0, vmm_get_regs(t->vcpu, &regs));
	ASSERT_EQ(x, regs.rdx);
	ASSERT_EQ((uint16_t)~x, regs.rbx);
	ASSERT_EQ(GUEST_CODE + (real_guest_end - real_guest_start),
		  regs.rip);
	ASSERT_EQ(GUEST_STACK16, regs.rsp);
}

TEST_F(modes, protected_mode)
{
	struct vmm_test *t = &self->t;
	const uint32_t x = 0x89abcdef;
	struct vmm_regs regs;

	VMM_TEST_SETUP(t);
	VMM_TEST_LOAD(t, prot_guest);
	ASSERT_EQ(0, vmm_setup_protected32(t->vcpu, GUEST_SYS, GUEST_CODE,
					   GUEST_STACK));
	vmm_test_in(_metadata, t->vcpu, 0x20, 4, x);
	ASSERT_EQ(x * 7 + 0x11111111,
		  vmm_test_out(_metadata, t->vcpu, 0x21, 4));
	ASSERT_EQ(x, vmm_test_out(_metadata, t->vcpu, 0x22, 4));
	ASSERT_EQ(x, vmm_test_out(_metadata, t->vcpu, 0x23, 4));
	ASSERT_EQ(500500, vmm_test_out(_metadata, t->vcpu, 0x24, 4));
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);

	ASSERT_EQ(x, *(uint32_t *)(t->mem + GUEST_MAILBOX));
	ASSERT_EQ(x, *(uint32_t *)(t->mem + GUEST_DATA));
	ASSERT_EQ(0, vmm_get_regs(t->vcpu, &regs));
	ASSERT_EQ(x, regs.rbx);
	ASSERT_EQ(GUEST_CODE + (prot_guest_end - prot_guest_start),
		  regs.rip);
	ASSERT_EQ(GUEST_STACK, regs.rsp);
}

TEST_F(modes, long_mode)
{
	struct vmm_test *t = &self->t;
	const uint64_t x = 0xfedcba9876543210ULL;
	const uint64_t c = 0x9e3779b97f4a7c15ULL;
	struct vmm_regs regs;
	uint64_t lo, hi, *mb;

	VMM_TEST_SETUP(t);
	VMM_TEST_LOAD(t, long_guest);
	ASSERT_EQ(0, vmm_setup_long_mode(t->vcpu, GUEST_SYS, GUEST_CODE,
					 GUEST_STACK));
	vmm_test_in(_metadata, t->vcpu, 0x30, 4, (uint32_t)x);
	vmm_test_in(_metadata, t->vcpu, 0x30, 4, x >> 32);
	lo = vmm_test_out(_metadata, t->vcpu, 0x31, 4);
	hi = vmm_test_out(_metadata, t->vcpu, 0x31, 4);
	ASSERT_EQ(x * c, lo | hi << 32);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);

	mb = (uint64_t *)(t->mem + GUEST_MAILBOX);
	ASSERT_EQ(x, mb[0]);
	ASSERT_EQ(x * c, mb[1]);
	ASSERT_EQ(GUEST_CODE, mb[2]);
	ASSERT_EQ(0, vmm_get_regs(t->vcpu, &regs));
	ASSERT_EQ(x, regs.rbx);
	ASSERT_EQ(x, regs.r13);
	ASSERT_EQ(x, regs.r14);
	ASSERT_EQ(x * c, regs.r8);
	ASSERT_EQ(GUEST_CODE + (long_guest_end - long_guest_start),
		  regs.rip);
	ASSERT_EQ(GUEST_STACK, regs.rsp);
}

TEST_F(modes, real_to_long)
{
	struct vmm_test *t = &self->t;
	struct vmm_sregs sregs;
	struct vmm_regs regs;

	VMM_TEST_SETUP(t);
	VMM_TEST_LOAD(t, switch_guest);
	/* Build GDT and page tables, then start over in real mode. */
	ASSERT_EQ(0, vmm_setup_long_mode(t->vcpu, GUEST_SYS, 0, 0));
	ASSERT_EQ(0, vmm_setup_real_mode(t->vcpu, 0, GUEST_CODE,
					 GUEST_STACK16));

	ASSERT_EQ(0x16, vmm_test_out(_metadata, t->vcpu, 0x40, 2));
	ASSERT_EQ(0x32, vmm_test_out(_metadata, t->vcpu, 0x40, 4));
	ASSERT_EQ(VMM_EFER_LME | VMM_EFER_LMA,
		  vmm_test_out(_metadata, t->vcpu, 0x40, 4));
	ASSERT_EQ(0x64, vmm_test_out(_metadata, t->vcpu, 0x40, 4));
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);

	ASSERT_EQ(0, vmm_get_sregs(t->vcpu, &sregs));
	ASSERT_EQ(VMM_SEL_CODE64, sregs.cs.selector);
	ASSERT_EQ(1, sregs.cs.l);
	ASSERT_EQ(VMM_SEL_DATA, sregs.ds.selector);
	ASSERT_NE(0, sregs.cr0 & VMM_CR0_PG);
	ASSERT_NE(0, sregs.cr0 & VMM_CR0_PE);
	ASSERT_NE(0, sregs.cr4 & VMM_CR4_PAE);
	ASSERT_EQ(GUEST_SYS + VMM_SYS_PML4, sregs.cr3);
	ASSERT_EQ(VMM_EFER_LME | VMM_EFER_LMA, sregs.efer);
	ASSERT_EQ(0, vmm_get_regs(t->vcpu, &regs));
	ASSERT_EQ(0x64, regs.r15);
	ASSERT_EQ(GUEST_CODE + (switch_guest_end - switch_guest_start),
		  regs.rip);
}

TEST_HARNESS_MAIN
