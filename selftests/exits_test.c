// SPDX-License-Identifier: GPL-2.0
/*
 * exits_test - every kind of exit VMM_RUN returns to userspace: port I/O
 * of each size, string I/O as one exit with count > 1, decoded MMIO reads
 * and writes of 1, 2, 4 and 8 bytes (movzx/movsx included), writes to a
 * read-only slot, HLT, SHUTDOWN on a triple fault, FAIL_ENTRY for a state
 * VMRUN refuses, and INTERNAL_ERROR for MMIO the decoder cannot handle.
 */
#include "lib/vmm_test.h"

#define MAILBOX		__stringify(GUEST_MAILBOX)
#define MMIO		__stringify(GUEST_MMIO)
#define GUEST_RO	0x200000ULL	/* read-only slot, after the RAM */
#define RO		__stringify(GUEST_RO)
#define STR_SRC		(GUEST_MAILBOX + 0x100)
#define STR_DST		(GUEST_MAILBOX + 0x200)
#define BIG_COUNT	5000		/* more than the I/O data area */

/* ---- guests ---- */

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"io_guest_start:\n"
"	movb $0x11, %al\n"
"	outb %al, $0x50\n"
"	movw $0x2233, %ax\n"
"	outw %ax, $0x51\n"
"	movl $0x44556677, %eax\n"
"	outl %eax, $0x52\n"
"	movw $0x1234, %dx\n"			/* a port past 0xff */
"	movl $0x8899aabb, %eax\n"
"	outl %eax, %dx\n"
"	movq $-1, %rax\n"
"	inb $0x53, %al\n"			/* only AL changes */
"	movq %rax, " MAILBOX "\n"
"	movq $-1, %rax\n"
"	inw $0x54, %ax\n"			/* only AX changes */
"	movq %rax, " MAILBOX " + 8\n"
"	movq $-1, %rax\n"
"	inl $0x55, %eax\n"			/* zero-extends to RAX */
"	movq %rax, " MAILBOX " + 16\n"
"	movw $0xfff0, %dx\n"
"	inl %dx, %eax\n"
"	outl %eax, $0x56\n"			/* echoes what IN gave */
"	hlt\n"
"io_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(io_guest);

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"string_guest_start:\n"
"	cld\n"
"	movl $" __stringify(STR_SRC) ", %esi\n"
"	movl $16, %ecx\n"
"	movw $0x60, %dx\n"
"	rep outsb\n"				/* 16 bytes, one exit */
"	movl $" __stringify(STR_DST) ", %edi\n"
"	movl $8, %ecx\n"
"	movw $0x61, %dx\n"
"	rep insb\n"				/* 8 bytes from the test */
"	movl $" __stringify(STR_SRC) ", %esi\n"
"	movl $4, %ecx\n"
"	movw $0x62, %dx\n"
"	rep outsw\n"				/* 4 words */
"	outsb\n"				/* no REP: one byte */
"	movl $" __stringify(GUEST_DATA) ", %esi\n"
"	movl $" __stringify(BIG_COUNT) ", %ecx\n"
"	movw $0x63, %dx\n"
"	rep outsb\n"				/* several exits */
"	hlt\n"
"string_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(string_guest);

/*
 * Real-mode string I/O: 16-bit SI/DI/CX, segment bases, a segment
 * override, and DF=1 (elements in the order the CPU moves them).
 */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code16\n"
"string16_guest_start:\n"
"	cld\n"
"	movw $(" MAILBOX " >> 4), %ax\n"
"	movw %ax, %ds\n"
"	movw %ax, %es\n"
"	movw $0x100, %si\n"			/* DS:SI = STR_SRC */
"	movw $5, %cx\n"
"	movw $0x64, %dx\n"
"	rep outsb\n"
"	std\n"
"	movw $0x103, %si\n"
"	movw $4, %cx\n"
"	rep outsb\n"				/* backwards */
"	cld\n"
"	movw $0x200, %di\n"			/* ES:DI = STR_DST */
"	movw $2, %cx\n"
"	movw $0x65, %dx\n"
"	rep insw\n"
"	xorw %ax, %ax\n"
"	movw %ax, %ds\n"
"	movw $0x100, %si\n"
"	movw $2, %cx\n"
"	movw $0x66, %dx\n"
"	rep outsb %es:(%si), (%dx)\n"		/* ES, not DS */
"	hlt\n"
"string16_guest_end:\n"
"	.code64\n"
"	.popsection\n");
VMM_GUEST_CODE(string16_guest);

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"mmio_guest_start:\n"
"	movq $" MMIO ", %rbx\n"
"	movb $0x5a, (%rbx)\n"
"	movw $0x1234, 2(%rbx)\n"
"	movl $0xdeadbeef, 4(%rbx)\n"
"	movabsq $0x0123456789abcdef, %rax\n"
"	movq %rax, 8(%rbx)\n"
"	movq $-1, %rcx\n"
"	movb 0x10(%rbx), %cl\n"
"	movq %rcx, " MAILBOX "\n"
"	movq $-1, %rcx\n"
"	movw 0x12(%rbx), %cx\n"
"	movq %rcx, " MAILBOX " + 8\n"
"	movq $-1, %rcx\n"
"	movl 0x14(%rbx), %ecx\n"
"	movq %rcx, " MAILBOX " + 16\n"
"	movq 0x18(%rbx), %rcx\n"
"	movq %rcx, " MAILBOX " + 24\n"
"	movq $-1, %rdx\n"
"	movzbl 0x20(%rbx), %edx\n"
"	movq %rdx, " MAILBOX " + 32\n"
"	movq $-1, %rdx\n"
"	movzwl 0x22(%rbx), %edx\n"
"	movq %rdx, " MAILBOX " + 40\n"
"	movsbq 0x24(%rbx), %rdx\n"
"	movq %rdx, " MAILBOX " + 48\n"
"	movswl 0x26(%rbx), %edx\n"
"	movq %rdx, " MAILBOX " + 56\n"
"	hlt\n"
"mmio_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(mmio_guest);

/*
 * MMIO beyond MOV: read-modify-write (OR, XCHG) as a read exit then a
 * write exit, REP STOS and MOVS one element per exit, a MOVS from MMIO to
 * RAM, CMP (a read that only sets flags), the moffs form of MOV, and a
 * SIB operand with a REX register.
 */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"mmio2_guest_start:\n"
"	cld\n"
"	movq $" MMIO " + 0x100, %rbx\n"
"	orl $0x100, (%rbx)\n"
"	movl $0xaaaa, %eax\n"
"	xchgl %eax, 4(%rbx)\n"
"	movq %rax, " MAILBOX "\n"
"	movl $0xc0ffee, %eax\n"
"	leaq 0x40(%rbx), %rdi\n"
"	movl $3, %ecx\n"
"	rep stosl\n"
"	movq %rcx, " MAILBOX " + 8\n"
"	movl $" __stringify(STR_SRC) ", %esi\n"
"	leaq 0x60(%rbx), %rdi\n"
"	movl $3, %ecx\n"
"	rep movsb\n"				/* RAM to MMIO */
"	leaq 0x70(%rbx), %rsi\n"
"	movl $" __stringify(STR_DST) ", %edi\n"
"	movl $2, %ecx\n"
"	rep movsb\n"				/* MMIO to RAM */
"	xorl %eax, %eax\n"
"	cmpl $5, 8(%rbx)\n"
"	sete %al\n"
"	movq %rax, " MAILBOX " + 16\n"
"	movl $0x7777, %eax\n"
"	movabsl %eax, " MMIO " + 0x180\n"
"	movl $3, %ecx\n"
"	movq (%rbx,%rcx,8), %r9\n"
"	movq %r9, " MAILBOX " + 24\n"
"	hlt\n"
"mmio2_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(mmio2_guest);

/* Real mode: MMIO at 0xa0000 through ES, as a VGA window would be. */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code16\n"
"mmio16_guest_start:\n"
"	movw $0xa000, %ax\n"
"	movw %ax, %es\n"
"	movw $0x55aa, %es:4\n"
"	movw %es:6, %ax\n"
"	outw %ax, $0x70\n"
"	hlt\n"
"mmio16_guest_end:\n"
"	.code64\n"
"	.popsection\n");
VMM_GUEST_CODE(mmio16_guest);

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"ro_guest_start:\n"
"	movq " RO ", %rax\n"			/* reads the slot */
"	movq %rax, " MAILBOX "\n"
"	movl $0x42, " RO " + 8\n"		/* a mapped page: MMIO */
"	movq " RO " + 8, %rax\n"		/* still the old value */
"	movq %rax, " MAILBOX " + 8\n"
"	movb $7, " RO " + 0x3000\n"		/* a page not touched yet */
"	hlt\n"
"ro_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(ro_guest);

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"hlt_guest_start:\n"
"	hlt\n"
"	movl $0x77, %eax\n"
"	outb %al, $0x80\n"
"	hlt\n"
"hlt_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(hlt_guest);

/* With an IDT limit of 0, #UD cannot be delivered: triple fault. */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"ud2_guest_start:\n"
"	ud2\n"
"ud2_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(ud2_guest);

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code16\n"
"out_guest_start:\n"
"	movw $0x4321, %ax\n"
"	outw %ax, $0x80\n"
"	hlt\n"
"out_guest_end:\n"
"	.code64\n"
"	.popsection\n");
VMM_GUEST_CODE(out_guest);

/* FXSAVE writes 512 bytes at once: no MMIO decoder takes it. */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"fxsave_guest_start:\n"
"	movq $" MMIO ", %rbx\n"
"fxsave_guest_insn:\n"
"	fxsave (%rbx)\n"
"	hlt\n"
"fxsave_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(fxsave_guest);
extern const unsigned char fxsave_guest_insn[];

/*
 * MSRs and exceptions inside the guest: RDMSR/WRMSR of MSRs the engine
 * handles, #GP for one it does not, and #UD and #PF, which go to the
 * guest's own handlers (they report on ports 0x81-0x83 and step over
 * the faulting instruction).
 */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"msr_guest_start:\n"
"	movl $0xc0000081, %ecx\n"		/* STAR, set by the test */
"	rdmsr\n"
"	outl %eax, $0x80\n"
"	movl %edx, %eax\n"
"	outl %eax, $0x80\n"
"	movl $0x11112222, %eax\n"
"	movl $0x33334444, %edx\n"
"	wrmsr\n"
"	movl $0x174, %ecx\n"			/* SYSENTER_CS */
"	rdmsr\n"
"	outl %eax, $0x80\n"
"	movl $0xdeadbeef, %ecx\n"		/* no such MSR */
"	rdmsr\n"
"	wrmsr\n"
"	ud2\n"
"	movabsq $0x100000000, %rbx\n"		/* not mapped */
"	movq (%rbx), %rax\n"
"	hlt\n"
"ud_handler:\n"
"	pushq %rax\n"
"	movl $6, %eax\n"
"	outb %al, $0x81\n"
"	addq $2, 8(%rsp)\n"			/* past the UD2 */
"	popq %rax\n"
"	iretq\n"
"gp_handler:\n"
"	pushq %rax\n"
"	movl $13, %eax\n"
"	outb %al, $0x81\n"
"	movq 8(%rsp), %rax\n"			/* error code */
"	outl %eax, $0x82\n"
"	addq $2, 16(%rsp)\n"			/* past RDMSR/WRMSR */
"	popq %rax\n"
"	addq $8, %rsp\n"
"	iretq\n"
"pf_handler:\n"
"	pushq %rax\n"
"	movl $14, %eax\n"
"	outb %al, $0x81\n"
"	movq 8(%rsp), %rax\n"
"	outl %eax, $0x82\n"
"	movq %cr2, %rax\n"
"	outl %eax, $0x83\n"
"	shrq $32, %rax\n"
"	outl %eax, $0x83\n"
"	addq $3, 16(%rsp)\n"			/* past the MOV */
"	popq %rax\n"
"	addq $8, %rsp\n"
"	iretq\n"
"msr_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(msr_guest);
extern const unsigned char ud_handler[], gp_handler[], pf_handler[];

FIXTURE(exits) {
	struct vmm_test t;
};

/* The VM is made in each body: a SKIP here would not stop the body. */
FIXTURE_SETUP(exits)
{
}

FIXTURE_TEARDOWN(exits)
{
	vmm_test_teardown(&self->t);
}

static void long_mode(struct __test_metadata *_metadata, struct vmm_test *t)
{
	ASSERT_EQ(0, vmm_setup_long_mode(t->vcpu, GUEST_SYS, GUEST_CODE,
					 GUEST_STACK));
}

TEST_F(exits, guest_msrs_and_exceptions)
{
	struct vmm_test *t = &self->t;
	uint64_t star;
	int i;

	VMM_TEST_SETUP(t);
	VMM_TEST_LOAD(t, msr_guest);
	long_mode(_metadata, t);
	ASSERT_EQ(0, vmm_set_idt_gate(t->vcpu, 6,
				      GUEST_LABEL(ud_handler, msr_guest)));
	ASSERT_EQ(0, vmm_set_idt_gate(t->vcpu, 13,
				      GUEST_LABEL(gp_handler, msr_guest)));
	ASSERT_EQ(0, vmm_set_idt_gate(t->vcpu, 14,
				      GUEST_LABEL(pf_handler, msr_guest)));
	ASSERT_EQ(0, vmm_set_msr(t->vcpu, 0xc0000081, 0x0023001000000000ULL));
	ASSERT_EQ(0, vmm_set_msr(t->vcpu, 0x174, 0x10));

	/* What the test set, the guest reads. */
	ASSERT_EQ(0, vmm_test_out(_metadata, t->vcpu, 0x80, 4));
	ASSERT_EQ(0x00230010, vmm_test_out(_metadata, t->vcpu, 0x80, 4));
	ASSERT_EQ(0x10, vmm_test_out(_metadata, t->vcpu, 0x80, 4));
	/* An unknown MSR is #GP(0), for RDMSR and WRMSR alike. */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(13, vmm_test_out(_metadata, t->vcpu, 0x81, 1));
		ASSERT_EQ(0, vmm_test_out(_metadata, t->vcpu, 0x82, 4));
	}
	ASSERT_EQ(6, vmm_test_out(_metadata, t->vcpu, 0x81, 1));
	/* Not present, read, supervisor: error code 0; CR2 the address. */
	ASSERT_EQ(14, vmm_test_out(_metadata, t->vcpu, 0x81, 1));
	ASSERT_EQ(0, vmm_test_out(_metadata, t->vcpu, 0x82, 4));
	ASSERT_EQ(0, vmm_test_out(_metadata, t->vcpu, 0x83, 4));
	ASSERT_EQ(1, vmm_test_out(_metadata, t->vcpu, 0x83, 4));
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);

	/* What the guest wrote, the test reads. */
	ASSERT_EQ(0, vmm_get_msr(t->vcpu, 0xc0000081, &star));
	ASSERT_EQ(0x3333444411112222ULL, star);
}

TEST_F(exits, port_io_sizes)
{
	struct vmm_test *t = &self->t;
	uint64_t *mb, count;

	VMM_TEST_SETUP(t);
	VMM_TEST_LOAD(t, io_guest);
	long_mode(_metadata, t);
	ASSERT_EQ(0x11, vmm_test_out(_metadata, t->vcpu, 0x50, 1));
	count = t->vcpu->run->exit_count;
	ASSERT_LE(1, count);
	ASSERT_EQ(0x2233, vmm_test_out(_metadata, t->vcpu, 0x51, 2));
	ASSERT_LT(count, t->vcpu->run->exit_count);
	ASSERT_EQ(0x44556677, vmm_test_out(_metadata, t->vcpu, 0x52, 4));
	ASSERT_EQ(0x8899aabb, vmm_test_out(_metadata, t->vcpu, 0x1234, 4));
	vmm_test_in(_metadata, t->vcpu, 0x53, 1, 0xa1);
	vmm_test_in(_metadata, t->vcpu, 0x54, 2, 0xb2c3);
	vmm_test_in(_metadata, t->vcpu, 0x55, 4, 0xd4e5f607);
	vmm_test_in(_metadata, t->vcpu, 0xfff0, 4, 0x0badf00d);
	ASSERT_EQ(0x0badf00d, vmm_test_out(_metadata, t->vcpu, 0x56, 4));
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);

	mb = (uint64_t *)(t->mem + GUEST_MAILBOX);
	ASSERT_EQ(0xffffffffffffffa1ULL, mb[0]);
	ASSERT_EQ(0xffffffffffffb2c3ULL, mb[1]);
	ASSERT_EQ(0x00000000d4e5f607ULL, mb[2]);
}

TEST_F(exits, string_io)
{
	struct vmm_test *t = &self->t;
	struct vmm_run *run;
	struct vmm_regs regs;
	uint8_t *src, *big;
	uint32_t total, exits, i;

	VMM_TEST_SETUP(t);
	run = t->vcpu->run;
	VMM_TEST_LOAD(t, string_guest);
	src = t->mem + STR_SRC;
	for (i = 0; i < 16; i++)
		src[i] = 0xa0 + i;
	big = t->mem + GUEST_DATA;
	for (i = 0; i < BIG_COUNT; i++)
		big[i] = i * 7 + (i >> 8);
	long_mode(_metadata, t);

	/* rep outsb: all 16 bytes in one exit. */
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_IO);
	ASSERT_EQ(VMM_EXIT_IO_OUT, run->io.direction);
	ASSERT_EQ(0x60, run->io.port);
	ASSERT_EQ(1, run->io.size);
	ASSERT_EQ(16, run->io.count);
	ASSERT_EQ(0, memcmp(vmm_io_data(t->vcpu), src, 16));

	/* rep insb: the test supplies 8 bytes, they land at RDI. */
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_IO);
	ASSERT_EQ(VMM_EXIT_IO_IN, run->io.direction);
	ASSERT_EQ(0x61, run->io.port);
	ASSERT_EQ(1, run->io.size);
	ASSERT_EQ(8, run->io.count);
	memcpy(vmm_io_data(t->vcpu), "vmm-ins!", 8);

	/* rep outsw: 4 items of 2 bytes. */
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_IO);
	ASSERT_EQ(0, memcmp(t->mem + STR_DST, "vmm-ins!", 8));
	ASSERT_EQ(VMM_EXIT_IO_OUT, run->io.direction);
	ASSERT_EQ(0x62, run->io.port);
	ASSERT_EQ(2, run->io.size);
	ASSERT_EQ(4, run->io.count);
	ASSERT_EQ(0, memcmp(vmm_io_data(t->vcpu), src, 8));

	/* outsb without REP: one item, the next byte. */
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_IO);
	ASSERT_EQ(0x62, run->io.port);
	ASSERT_EQ(1, run->io.size);
	ASSERT_EQ(1, run->io.count);
	ASSERT_EQ(src[8], *(uint8_t *)vmm_io_data(t->vcpu));

	/* More than the data area holds: several exits, nothing lost. */
	total = exits = 0;
	while (total < BIG_COUNT) {
		vmm_test_run(_metadata, t->vcpu, VMM_EXIT_IO);
		ASSERT_EQ(0x63, run->io.port);
		ASSERT_EQ(1, run->io.size);
		ASSERT_LT(0, run->io.count);
		ASSERT_GE(VMM_RUN_IO_DATA_SIZE, run->io.count);
		ASSERT_GE(BIG_COUNT - total, run->io.count);
		ASSERT_LE(run->io.data_offset + run->io.count,
			  t->vm->run_size);
		ASSERT_EQ(0, memcmp(vmm_io_data(t->vcpu), big + total,
				    run->io.count)) TH_LOG("at %u", total);
		total += run->io.count;
		exits++;
	}
	ASSERT_LE(2, exits);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);

	ASSERT_EQ(0, vmm_get_regs(t->vcpu, &regs));
	ASSERT_EQ(0, regs.rcx);
	ASSERT_EQ(GUEST_DATA + BIG_COUNT, regs.rsi);
	ASSERT_EQ(STR_DST + 8, regs.rdi);
}

/* Runs to a string OUT of @count bytes to @port; checks the bytes. */
static void string_out(struct __test_metadata *_metadata,
		       struct vmm_vcpu *vcpu, uint16_t port, uint32_t count,
		       const char *bytes)
{
	const struct vmm_run *run = vcpu->run;

	vmm_test_run(_metadata, vcpu, VMM_EXIT_IO);
	ASSERT_EQ(VMM_EXIT_IO_OUT, run->io.direction);
	ASSERT_EQ(port, run->io.port);
	ASSERT_EQ(1, run->io.size);
	ASSERT_EQ(count, run->io.count);
	ASSERT_EQ(0, memcmp(vmm_io_data(vcpu), bytes, count));
}

TEST_F(exits, string_io_real_mode)
{
	struct vmm_test *t = &self->t;
	const struct vmm_run *run;
	struct vmm_regs regs;

	VMM_TEST_SETUP(t);
	run = t->vcpu->run;
	VMM_TEST_LOAD(t, string16_guest);
	memcpy(t->mem + STR_SRC, "ABCDE", 5);
	ASSERT_EQ(0, vmm_setup_real_mode(t->vcpu, 0, GUEST_CODE,
					 GUEST_STACK16));

	string_out(_metadata, t->vcpu, 0x64, 5, "ABCDE");
	string_out(_metadata, t->vcpu, 0x64, 4, "DCBA");
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_IO);
	ASSERT_EQ(VMM_EXIT_IO_IN, run->io.direction);
	ASSERT_EQ(0x65, run->io.port);
	ASSERT_EQ(2, run->io.size);
	ASSERT_EQ(2, run->io.count);
	memcpy(vmm_io_data(t->vcpu), "WXYZ", 4);
	string_out(_metadata, t->vcpu, 0x66, 2, "AB");
	ASSERT_EQ(0, memcmp(t->mem + STR_DST, "WXYZ", 4));
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);

	ASSERT_EQ(0, vmm_get_regs(t->vcpu, &regs));
	ASSERT_EQ(0, regs.rcx);
	ASSERT_EQ(0x102, regs.rsi);
	ASSERT_EQ(0x204, regs.rdi);
}

/* Runs to an MMIO exit and checks where and how wide it is. */
static void expect_mmio(struct __test_metadata *_metadata,
			struct vmm_vcpu *vcpu, uint64_t addr, uint32_t len,
			bool write)
{
	const struct vmm_run *run = vcpu->run;

	vmm_test_run(_metadata, vcpu, VMM_EXIT_MMIO);
	if (run->mmio.phys_addr != addr || run->mmio.len != len ||
	    run->mmio.is_write != write)
		TH_LOG("expected MMIO %s 0x%llx len %u, got %s",
		       write ? "write" : "read", (unsigned long long)addr,
		       len, vmm_test_exit_str(vcpu));
	ASSERT_EQ(addr, run->mmio.phys_addr);
	ASSERT_EQ(len, run->mmio.len);
	ASSERT_EQ(write, run->mmio.is_write);
}

static void mmio_write(struct __test_metadata *_metadata,
		       struct vmm_vcpu *vcpu, uint64_t addr, uint32_t len,
		       uint64_t value)
{
	uint64_t v = 0;

	expect_mmio(_metadata, vcpu, addr, len, true);
	memcpy(&v, vcpu->run->mmio.data, len);
	ASSERT_EQ(value, v);
}

static void mmio_read(struct __test_metadata *_metadata,
		      struct vmm_vcpu *vcpu, uint64_t addr, uint32_t len,
		      uint64_t value)
{
	expect_mmio(_metadata, vcpu, addr, len, false);
	memcpy(vcpu->run->mmio.data, &value, len);
}

TEST_F(exits, mmio)
{
	struct vmm_test *t = &self->t;
	const uint64_t m = GUEST_MMIO;
	uint64_t *mb;

	VMM_TEST_SETUP(t);
	if (!vmm_check_cap(t->vm->fd, VMM_CAP_MMIO_DECODE))
		SKIP(return, "MMIO is not decoded in the kernel");
	VMM_TEST_LOAD(t, mmio_guest);
	long_mode(_metadata, t);

	mmio_write(_metadata, t->vcpu, m, 1, 0x5a);
	mmio_write(_metadata, t->vcpu, m + 2, 2, 0x1234);
	mmio_write(_metadata, t->vcpu, m + 4, 4, 0xdeadbeef);
	mmio_write(_metadata, t->vcpu, m + 8, 8, 0x0123456789abcdefULL);
	mmio_read(_metadata, t->vcpu, m + 0x10, 1, 0xa5);
	mmio_read(_metadata, t->vcpu, m + 0x12, 2, 0xbeef);
	mmio_read(_metadata, t->vcpu, m + 0x14, 4, 0x87654321);
	mmio_read(_metadata, t->vcpu, m + 0x18, 8, 0x1122334455667788ULL);
	mmio_read(_metadata, t->vcpu, m + 0x20, 1, 0xf0);
	mmio_read(_metadata, t->vcpu, m + 0x22, 2, 0x8001);
	mmio_read(_metadata, t->vcpu, m + 0x24, 1, 0x80);
	mmio_read(_metadata, t->vcpu, m + 0x26, 2, 0x8002);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);

	mb = (uint64_t *)(t->mem + GUEST_MAILBOX);
	ASSERT_EQ(0xffffffffffffffa5ULL, mb[0]);	/* mov %cl */
	ASSERT_EQ(0xffffffffffffbeefULL, mb[1]);	/* mov %cx */
	ASSERT_EQ(0x0000000087654321ULL, mb[2]);	/* mov %ecx */
	ASSERT_EQ(0x1122334455667788ULL, mb[3]);	/* mov %rcx */
	ASSERT_EQ(0xf0, mb[4]);				/* movzbl */
	ASSERT_EQ(0x8001, mb[5]);			/* movzwl */
	ASSERT_EQ(0xffffffffffffff80ULL, mb[6]);	/* movsbq */
	ASSERT_EQ(0x00000000ffff8002ULL, mb[7]);	/* movswl */
}

TEST_F(exits, mmio_instructions)
{
	struct vmm_test *t = &self->t;
	const uint64_t m = GUEST_MMIO + 0x100;
	uint64_t *mb;
	int i;

	VMM_TEST_SETUP(t);
	if (!vmm_check_cap(t->vm->fd, VMM_CAP_MMIO_DECODE))
		SKIP(return, "MMIO is not decoded in the kernel");
	VMM_TEST_LOAD(t, mmio2_guest);
	memcpy(t->mem + STR_SRC, "abc", 3);
	long_mode(_metadata, t);

	/* OR: the old value comes in, the new one goes out. */
	mmio_read(_metadata, t->vcpu, m, 4, 0x11);
	mmio_write(_metadata, t->vcpu, m, 4, 0x111);
	/* XCHG: the register's value goes out, the device's comes in. */
	mmio_read(_metadata, t->vcpu, m + 4, 4, 0x5555);
	mmio_write(_metadata, t->vcpu, m + 4, 4, 0xaaaa);
	for (i = 0; i < 3; i++)
		mmio_write(_metadata, t->vcpu, m + 0x40 + 4 * i, 4, 0xc0ffee);
	for (i = 0; i < 3; i++)
		mmio_write(_metadata, t->vcpu, m + 0x60 + i, 1, "abc"[i]);
	for (i = 0; i < 2; i++)
		mmio_read(_metadata, t->vcpu, m + 0x70 + i, 1, "xy"[i]);
	mmio_read(_metadata, t->vcpu, m + 8, 4, 5);
	mmio_write(_metadata, t->vcpu, GUEST_MMIO + 0x180, 4, 0x7777);
	mmio_read(_metadata, t->vcpu, m + 3 * 8, 8, 0x0102030405060708ULL);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);

	mb = (uint64_t *)(t->mem + GUEST_MAILBOX);
	ASSERT_EQ(0x5555, mb[0]);		/* XCHG's register */
	ASSERT_EQ(0, mb[1]);			/* REP STOS used up RCX */
	ASSERT_EQ(0, memcmp(t->mem + STR_DST, "xy", 2));
	ASSERT_EQ(1, mb[2]);			/* CMP set ZF */
	ASSERT_EQ(0x0102030405060708ULL, mb[3]);
}

TEST_F(exits, mmio_real_mode)
{
	struct vmm_test *t = &self->t;

	VMM_TEST_SETUP(t);
	if (!vmm_check_cap(t->vm->fd, VMM_CAP_MMIO_DECODE))
		SKIP(return, "MMIO is not decoded in the kernel");
	/* RAM below 640 KiB only, as on a PC. */
	ASSERT_EQ(0, vmm_vm_remove_memory(t->vm, 0));
	t->mem = vmm_vm_add_memory(t->vm, 0, 0, 0xa0000, 0);
	ASSERT_NE(NULL, t->mem);
	VMM_TEST_LOAD(t, mmio16_guest);
	ASSERT_EQ(0, vmm_setup_real_mode(t->vcpu, 0, GUEST_CODE,
					 GUEST_STACK16));
	mmio_write(_metadata, t->vcpu, 0xa0004, 2, 0x55aa);
	mmio_read(_metadata, t->vcpu, 0xa0006, 2, 0x1357);
	ASSERT_EQ(0x1357, vmm_test_out(_metadata, t->vcpu, 0x70, 2));
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
}

TEST_F(exits, readonly_slot)
{
	struct vmm_test *t = &self->t;
	uint64_t *ro, *mb;

	VMM_TEST_SETUP(t);
	if (!vmm_check_cap(t->vm->fd, VMM_CAP_READONLY_MEM))
		SKIP(return, "no read-only memory slots");
	ro = vmm_vm_add_memory(t->vm, 1, GUEST_RO, 0x10000,
			       VMM_MEM_READONLY);
	ASSERT_NE(NULL, ro) TH_LOG("read-only slot: %s", strerror(errno));
	ro[0] = 0x1122334455667788ULL;
	ro[1] = 0xaaaaaaaaaaaaaaaaULL;
	VMM_TEST_LOAD(t, ro_guest);
	long_mode(_metadata, t);

	mmio_write(_metadata, t->vcpu, GUEST_RO + 8, 4, 0x42);
	mmio_write(_metadata, t->vcpu, GUEST_RO + 0x3000, 1, 7);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);

	mb = (uint64_t *)(t->mem + GUEST_MAILBOX);
	ASSERT_EQ(0x1122334455667788ULL, mb[0]);
	ASSERT_EQ(0xaaaaaaaaaaaaaaaaULL, mb[1]);
	ASSERT_EQ(0xaaaaaaaaaaaaaaaaULL, ro[1]);
	ASSERT_EQ(0, ((uint8_t *)ro)[0x3000]);
}

TEST_F(exits, hlt)
{
	struct vmm_test *t = &self->t;
	struct vmm_regs regs;

	VMM_TEST_SETUP(t);
	VMM_TEST_LOAD(t, hlt_guest);
	long_mode(_metadata, t);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
	ASSERT_EQ(0, vmm_get_regs(t->vcpu, &regs));
	ASSERT_EQ(GUEST_CODE + 1, regs.rip);	/* past the HLT */
	/* Running again goes on after the HLT. */
	ASSERT_EQ(0x77, vmm_test_out(_metadata, t->vcpu, 0x80, 1));
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
}

TEST_F(exits, shutdown)
{
	struct vmm_test *t = &self->t;
	struct vmm_sregs sregs;
	struct vmm_regs regs;

	VMM_TEST_NEEDS("svm-shutdown");
	VMM_TEST_SETUP(t);
	VMM_TEST_LOAD(t, ud2_guest);
	long_mode(_metadata, t);
	ASSERT_EQ(0, vmm_get_sregs(t->vcpu, &sregs));
	sregs.idt.limit = 0;
	ASSERT_EQ(0, vmm_set_sregs(t->vcpu, &sregs));
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_SHUTDOWN);

	/* The run page tells where the guest died: at its UD2, long mode. */
	ASSERT_EQ(GUEST_CODE, t->vcpu->run->shutdown.regs.rip);
	ASSERT_EQ(GUEST_STACK, t->vcpu->run->shutdown.regs.rsp);
	ASSERT_NE(0, t->vcpu->run->shutdown.cr0 & VMM_CR0_PG);
	ASSERT_NE(0, t->vcpu->run->shutdown.efer & VMM_EFER_LMA);
	ASSERT_EQ(1, t->vcpu->run->shutdown.cs_l);
	ASSERT_EQ(sregs.cr3, t->vcpu->run->shutdown.cr3);

	/* The vCPU is back at RESET... */
	ASSERT_EQ(0, vmm_get_regs(t->vcpu, &regs));
	ASSERT_EQ(0xfff0, regs.rip);
	ASSERT_EQ(0, vmm_get_sregs(t->vcpu, &sregs));
	ASSERT_EQ(0xf000, sregs.cs.selector);
	ASSERT_EQ(0, sregs.cr0 & (VMM_CR0_PE | VMM_CR0_PG));
	ASSERT_EQ(0, sregs.efer & VMM_EFER_LMA);

	/* ...and runs again. */
	VMM_TEST_LOAD(t, out_guest);
	ASSERT_EQ(0, vmm_setup_real_mode(t->vcpu, 0, GUEST_CODE,
					 GUEST_STACK16));
	ASSERT_EQ(0x4321, vmm_test_out(_metadata, t->vcpu, 0x80, 2));
}

/*
 * CR0.NW without CR0.CD is one of the states the APM lists as failing
 * VMRUN's consistency checks, whatever the paging mode.  (CR0.PG without
 * CR0.PE is not: SVM runs that as paged real mode.)
 */
static void fail_entry(struct __test_metadata *_metadata, struct vmm_test *t,
		       struct vmm_regs *regs, struct vmm_sregs *sregs)
{
	struct vmm_sregs bad;

	VMM_TEST_LOAD(t, out_guest);
	ASSERT_EQ(0, vmm_setup_real_mode(t->vcpu, 0, GUEST_CODE,
					 GUEST_STACK16));
	ASSERT_EQ(0, vmm_get_regs(t->vcpu, regs));
	ASSERT_EQ(0, vmm_get_sregs(t->vcpu, sregs));
	bad = *sregs;
	bad.cr0 = (sregs->cr0 & ~VMM_CR0_CD) | VMM_CR0_NW;
	/* Not refused here: the hardware judges it. */
	ASSERT_EQ(0, vmm_set_sregs(t->vcpu, &bad));
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_FAIL_ENTRY);
}

TEST_F(exits, fail_entry)
{
	struct vmm_test *t = &self->t;
	struct vmm_sregs sregs;
	struct vmm_regs regs;
	uint64_t reason;

	VMM_TEST_SETUP(t);
	fail_entry(_metadata, t, &regs, &sregs);
	reason = t->vcpu->run->fail_entry.hardware_entry_failure_reason;
	ASSERT_NE(0, reason);
	if (vmm_check_cap(t->vm->fd, VMM_CAP_ENGINE) == VMM_ENGINE_SVM) {
		/* VMEXIT_INVALID, as 32 bits (TCG writes it so too). */
		ASSERT_EQ(0xffffffffULL, reason & 0xffffffff);
	}
	ASSERT_GT(sysconf(_SC_NPROCESSORS_CONF),
		  t->vcpu->run->fail_entry.cpu);

	/* Given a valid state again, the vCPU runs. */
	ASSERT_EQ(0, vmm_set_sregs(t->vcpu, &sregs));
	ASSERT_EQ(0, vmm_set_regs(t->vcpu, &regs));
	ASSERT_EQ(0x4321, vmm_test_out(_metadata, t->vcpu, 0x80, 2));
}

/*
 * A VMRUN that failed ran no guest code: the guest's registers read back
 * as they were.  (QEMU's TCG writes its host state into the VMCB on
 * VMEXIT_INVALID; copied out as is, that shows userspace host kernel
 * addresses.)
 */
TEST_F(exits, fail_entry_keeps_state)
{
	struct vmm_test *t = &self->t;
	struct vmm_sregs sregs, after;
	struct vmm_regs regs, now;

	VMM_TEST_SETUP(t);
	fail_entry(_metadata, t, &regs, &sregs);
	ASSERT_EQ(0, vmm_get_regs(t->vcpu, &now));
	ASSERT_EQ(regs.rip, now.rip) TH_LOG("RIP 0x%llx after FAIL_ENTRY",
					    (unsigned long long)now.rip);
	ASSERT_EQ(regs.rsp, now.rsp);
	ASSERT_EQ(regs.rflags, now.rflags);
	ASSERT_EQ(0, vmm_get_sregs(t->vcpu, &after));
	ASSERT_EQ(sregs.cs.base, after.cs.base);
	ASSERT_EQ(sregs.cs.selector, after.cs.selector);
	ASSERT_EQ(sregs.gdt.base, after.gdt.base);
	ASSERT_EQ(sregs.idt.base, after.idt.base);
	ASSERT_EQ(sregs.cr3, after.cr3);
}

/* An IDT in MMIO: delivering #UD reads a gate no RAM holds. */
TEST_F(exits, delivery_through_mmio)
{
	struct vmm_test *t = &self->t;
	struct vmm_sregs sregs;

	VMM_TEST_SETUP(t);
	VMM_TEST_LOAD(t, ud2_guest);
	long_mode(_metadata, t);
	ASSERT_EQ(0, vmm_get_sregs(t->vcpu, &sregs));
	sregs.idt.base = GUEST_MMIO;
	ASSERT_EQ(0, vmm_set_sregs(t->vcpu, &sregs));
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_INTERNAL_ERROR);
	ASSERT_EQ(VMM_INTERNAL_DELIVERY, t->vcpu->run->internal.suberror);
}

TEST_F(exits, mmio_undecodable)
{
	struct vmm_test *t = &self->t;
	const struct vmm_run *run;

	VMM_TEST_SETUP(t);
	run = t->vcpu->run;
	VMM_TEST_LOAD(t, fxsave_guest);
	long_mode(_metadata, t);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_INTERNAL_ERROR);
	ASSERT_EQ(VMM_INTERNAL_EMULATION, run->internal.suberror);
	ASSERT_LE(2, run->internal.ndata);
	/* Where in the 512 bytes it faulted first is the CPU's choice. */
	ASSERT_LE(GUEST_MMIO, run->internal.data[0]);
	ASSERT_GT(GUEST_MMIO + 512, run->internal.data[0]);
	ASSERT_EQ(GUEST_LABEL(fxsave_guest_insn, fxsave_guest),
		  run->internal.data[1]);
}

TEST_HARNESS_MAIN
