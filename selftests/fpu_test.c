// SPDX-License-Identifier: GPL-2.0
/*
 * fpu_test - the guest's FPU state is loaded lazily: until the guest uses
 * it, the real CR0 carries TS and MP, and the kernel emulates the guest's
 * CR0 accesses so that the guest sees only its own CR0.  Checks the
 * guest's view through MOV from CR0, SMSW, CLTS, LMSW and MOV to CR0; that
 * the guest's own CR0.TS still gives it #NM; and that guest XMM state
 * survives while this process uses its own XMM registers between runs.
 */
#include "lib/vmm_test.h"

#define CR0_TS		(1u << 3)

#define PORT_CR0	0x40	/* MOV from CR0, low 32 bits */
#define PORT_SMSW	0x41	/* SMSW into a 16-bit register */
#define PORT_NM		0x42	/* the guest's #NM handler ran */
#define PORT_XMM	0x43	/* XMM2, low 32 bits */
#define PORT_SMSW_MEM	0x44	/* SMSW to memory, read back */

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"cr0_guest_start:\n"
"	movq %cr0, %rax\n"
"	outl %eax, $" __stringify(PORT_CR0) "\n"	/* as set: TS clear */
"	smsw %ax\n"
"	outw %ax, $" __stringify(PORT_SMSW) "\n"
"	movq %cr0, %rax\n"
"	orq $" __stringify(CR0_TS) ", %rax\n"
"	movq %rax, %cr0\n"
"	movq %cr0, %rax\n"
"	outl %eax, $" __stringify(PORT_CR0) "\n"	/* TS set */
"	clts\n"
"	movq %cr0, %rax\n"
"	outl %eax, $" __stringify(PORT_CR0) "\n"	/* TS clear */
"	smsw %ax\n"
"	orw $" __stringify(CR0_TS) ", %ax\n"
"	lmsw %ax\n"
"	smsw " __stringify(GUEST_MAILBOX) "\n"
"	movw " __stringify(GUEST_MAILBOX) ", %ax\n"
"	outw %ax, $" __stringify(PORT_SMSW_MEM) "\n"	/* TS set, via LMSW */
	/* Our TS: this faults into the guest's handler, which clears it. */
"	movq %xmm2, %rax\n"
"	outl %eax, $" __stringify(PORT_XMM) "\n"
"	hlt\n"
	/* Keep XMM2 across exits while the host uses its XMM registers. */
"	movl $0x5a5a0001, %eax\n"
"	movq %rax, %xmm2\n"
"	outl %eax, $" __stringify(PORT_XMM) "\n"
"	movq %xmm2, %rax\n"
"	outl %eax, $" __stringify(PORT_XMM) "\n"
"	addl $1, %eax\n"
"	movq %rax, %xmm2\n"
"	hlt\n"
"	movq %xmm2, %rax\n"
"	outl %eax, $" __stringify(PORT_XMM) "\n"
"	hlt\n"
"nm_handler:\n"
"	outb %al, $" __stringify(PORT_NM) "\n"
"	clts\n"
"	iretq\n"
"cr0_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(cr0_guest);
extern const unsigned char nm_handler[];

/* Clobber this process's XMM2, as any libc routine may between runs. */
static void host_clobber_xmm2(uint32_t v)
{
	uint64_t x = v;

	asm volatile("movq %0, %%xmm2" : : "r"(x) : "xmm2");
}

TEST(guest_cr0_view)
{
	struct vmm_test t;
	struct vmm_sregs sregs;
	uint32_t cr0, v;

	VMM_TEST_SETUP(&t);
	VMM_TEST_LOAD(&t, cr0_guest);
	ASSERT_EQ(0, vmm_setup_long_mode(t.vcpu, GUEST_SYS, GUEST_CODE,
					 GUEST_STACK));
	ASSERT_EQ(0, vmm_set_idt_gate(t.vcpu, 7,
				      GUEST_LABEL(nm_handler, cr0_guest)));
	ASSERT_EQ(0, vmm_get_sregs(t.vcpu, &sregs));
	ASSERT_EQ(0, sregs.cr0 & CR0_TS);

	cr0 = vmm_test_out(_metadata, t.vcpu, PORT_CR0, 4);
	ASSERT_EQ((uint32_t)sregs.cr0, cr0) TH_LOG("guest read CR0 %#x", cr0);
	ASSERT_EQ((uint16_t)sregs.cr0,
		  vmm_test_out(_metadata, t.vcpu, PORT_SMSW, 2));
	ASSERT_EQ(cr0 | CR0_TS, vmm_test_out(_metadata, t.vcpu, PORT_CR0, 4));
	ASSERT_EQ(0, vmm_get_sregs(t.vcpu, &sregs));
	ASSERT_EQ(CR0_TS, sregs.cr0 & CR0_TS);
	ASSERT_EQ(cr0, vmm_test_out(_metadata, t.vcpu, PORT_CR0, 4));
	v = vmm_test_out(_metadata, t.vcpu, PORT_SMSW_MEM, 2);
	ASSERT_EQ((uint16_t)(cr0 | CR0_TS), v);

	/* The guest's own TS: its #NM handler runs, then the instruction. */
	vmm_test_out(_metadata, t.vcpu, PORT_NM, 1);
	host_clobber_xmm2(0xdeadbeef);
	ASSERT_EQ(0, vmm_test_out(_metadata, t.vcpu, PORT_XMM, 4));
	vmm_test_run(_metadata, t.vcpu, VMM_EXIT_HLT);

	ASSERT_EQ(0x5a5a0001, vmm_test_out(_metadata, t.vcpu, PORT_XMM, 4));
	host_clobber_xmm2(0x11111111);
	ASSERT_EQ(0x5a5a0001, vmm_test_out(_metadata, t.vcpu, PORT_XMM, 4));
	host_clobber_xmm2(0x22222222);
	vmm_test_run(_metadata, t.vcpu, VMM_EXIT_HLT);
	host_clobber_xmm2(0x33333333);
	ASSERT_EQ(0x5a5a0002, vmm_test_out(_metadata, t.vcpu, PORT_XMM, 4));
	vmm_test_teardown(&t);
}

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"shutdown_guest_start:\n"
"	movl $0x77777777, %eax\n"
"	movq %rax, %xmm2\n"		/* the guest's FPU state is now loaded */
"	ud2\n"				/* no IDT gate: a triple fault */
"shutdown_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(shutdown_guest);

/*
 * A triple fault resets the vCPU: the guest's FPU state, loaded at that
 * moment, must be put away first, or this process would go on with it.
 */
TEST(shutdown_returns_host_fpu)
{
	const uint64_t mine = 0x1234567887654321ULL;
	struct vmm_test t;
	uint64_t after;
	int ret;

	VMM_TEST_NEEDS("svm-shutdown");
	VMM_TEST_SETUP(&t);
	VMM_TEST_LOAD(&t, shutdown_guest);
	ASSERT_EQ(0, vmm_setup_long_mode(t.vcpu, GUEST_SYS, GUEST_CODE,
					 GUEST_STACK));
	asm volatile("movq %0, %%xmm2" : : "r"(mine) : "xmm2");
	ret = ioctl(t.vcpu->fd, VMM_RUN, 0);
	asm volatile("movq %%xmm2, %0" : "=r"(after));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(VMM_EXIT_SHUTDOWN, t.vcpu->run->exit_reason);
	ASSERT_EQ(mine, after) TH_LOG("host XMM2 became %#llx",
				      (unsigned long long)after);
	vmm_test_teardown(&t);
}

TEST_HARNESS_MAIN
