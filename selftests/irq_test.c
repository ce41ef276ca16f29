// SPDX-License-Identifier: GPL-2.0
/*
 * irq_test - events injected from userspace reach the guest's handlers:
 * external interrupts through 64-bit and 32-bit IDTs and the real-mode IVT,
 * woken from HLT or delivered when the guest opens its interrupt window
 * (on its own or reported with request_interrupt_window), and NMIs, which
 * must not nest: a second NMI waits for the first handler's IRET.
 */
#include "lib/vmm_test.h"

#define PORT_VECTOR	0x81	/* an interrupt handler ran: its vector */
#define PORT_NMI_RSP	0x82	/* the NMI handler ran: its RSP */
#define PORT_NMI_END	0x83	/* the NMI handler is about to IRET */
#define PORT_SYNC	0x84	/* the guest reached a point of the test */
#define PORT_AFTER	0x85
#define PORT_TIMEOUT	0xee	/* the guest waited in vain */

#define VEC_A		0x40
#define VEC_B		0x41
#define VEC_REAL	0x50
#define VEC_PROT	0x60
#define NMI_VECTOR	2

/*
 * 64-bit guest.  Entry points: irq_main (STI; HLT forever), irq_early
 * (IF=0 until a sync point, then STI; HLT), irq_window (STI after a sync
 * point, then spins with a timeout), nmi_main (CLI; HLT forever).
 */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"irq_guest_start:\n"
"irq_main:\n"
"	sti\n"
"1:	hlt\n"
"	jmp 1b\n"
"irq_early:\n"
"	cli\n"
"	outb %al, $" __stringify(PORT_SYNC) "\n"
"	sti\n"
"	hlt\n"
"	outb %al, $" __stringify(PORT_AFTER) "\n"
"	hlt\n"
"irq_window:\n"
"	cli\n"
"	outb %al, $" __stringify(PORT_SYNC) "\n"
"	sti\n"
"	movl $1000000, %ecx\n"
"1:	decl %ecx\n"
"	jnz 1b\n"
"	outb %al, $" __stringify(PORT_TIMEOUT) "\n"
"	hlt\n"
"nmi_main:\n"
"	cli\n"
"1:	hlt\n"
"	jmp 1b\n"
"handler_a:\n"
"	pushq %rax\n"
"	movl $" __stringify(VEC_A) ", %eax\n"
"	outb %al, $" __stringify(PORT_VECTOR) "\n"
"	popq %rax\n"
"	iretq\n"
"handler_b:\n"
"	pushq %rax\n"
"	movl $" __stringify(VEC_B) ", %eax\n"
"	outb %al, $" __stringify(PORT_VECTOR) "\n"
"	popq %rax\n"
"	iretq\n"
"nmi_handler:\n"
"	pushq %rax\n"
"	movq %rsp, %rax\n"
"	outl %eax, $" __stringify(PORT_NMI_RSP) "\n"
"	outb %al, $" __stringify(PORT_NMI_END) "\n"
"	popq %rax\n"
"	iretq\n"
"irq_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(irq_guest);
extern const unsigned char irq_main[], irq_early[], irq_window[], nmi_main[];
extern const unsigned char handler_a[], handler_b[], nmi_handler[];

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code16\n"
"real_irq_guest_start:\n"
"	sti\n"
"1:	hlt\n"
"	jmp 1b\n"
"real_handler:\n"
"	pushw %ax\n"
"	movb $" __stringify(VEC_REAL) ", %al\n"
"	outb %al, $" __stringify(PORT_VECTOR) "\n"
"	popw %ax\n"
"	iret\n"
"real_irq_guest_end:\n"
"	.code64\n"
"	.popsection\n");
VMM_GUEST_CODE(real_irq_guest);
extern const unsigned char real_handler[];

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code32\n"
"prot_irq_guest_start:\n"
"	sti\n"
"1:	hlt\n"
"	jmp 1b\n"
"prot_handler:\n"
"	pushl %eax\n"
"	movl $" __stringify(VEC_PROT) ", %eax\n"
"	outb %al, $" __stringify(PORT_VECTOR) "\n"
"	popl %eax\n"
"	iret\n"
"prot_irq_guest_end:\n"
"	.code64\n"
"	.popsection\n");
VMM_GUEST_CODE(prot_irq_guest);
extern const unsigned char prot_handler[];

FIXTURE(irq) {
	struct vmm_test t;
};

/* The VM is made in each body: a SKIP here would not stop the body. */
FIXTURE_SETUP(irq)
{
}

FIXTURE_TEARDOWN(irq)
{
	vmm_test_teardown(&self->t);
}

/* A long-mode guest with handlers installed, starting at @entry. */
static void guest_setup(struct __test_metadata *_metadata, struct vmm_test *t,
		      const unsigned char *entry)
{
	VMM_TEST_LOAD(t, irq_guest);
	ASSERT_EQ(0, vmm_setup_long_mode(t->vcpu, GUEST_SYS,
					 GUEST_LABEL(entry, irq_guest),
					 GUEST_STACK));
	ASSERT_EQ(0, vmm_set_idt_gate(t->vcpu, VEC_A,
				      GUEST_LABEL(handler_a, irq_guest)));
	ASSERT_EQ(0, vmm_set_idt_gate(t->vcpu, VEC_B,
				      GUEST_LABEL(handler_b, irq_guest)));
	ASSERT_EQ(0, vmm_set_idt_gate(t->vcpu, NMI_VECTOR,
				      GUEST_LABEL(nmi_handler, irq_guest)));
}

TEST_F(irq, wake_from_hlt)
{
	struct vmm_test *t = &self->t;
	struct vmm_run *run;

	VMM_TEST_SETUP(t);
	run = t->vcpu->run;
	guest_setup(_metadata, t, irq_main);

	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
	ASSERT_EQ(1, run->if_flag);
	ASSERT_EQ(1, run->ready_for_interrupt_injection);
	ASSERT_EQ(0, vmm_vcpu_interrupt(t->vcpu, VEC_A));
	ASSERT_EQ(VEC_A, vmm_test_out(_metadata, t->vcpu, PORT_VECTOR, 1));
	/* The handler's IRET goes back to the HLT loop. */
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
	ASSERT_EQ(0, vmm_vcpu_interrupt(t->vcpu, VEC_B));
	ASSERT_EQ(VEC_B, vmm_test_out(_metadata, t->vcpu, PORT_VECTOR, 1));
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
	/* Nothing was queued: the guest stays halted. */
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
}

/*
 * Queued while IF=0: delivered right after STI's shadow, so the HLT after
 * it never reaches userspace.
 */
TEST_F(irq, queued_until_sti)
{
	struct vmm_test *t = &self->t;
	struct vmm_run *run;

	VMM_TEST_SETUP(t);
	run = t->vcpu->run;
	guest_setup(_metadata, t, irq_early);

	vmm_test_out(_metadata, t->vcpu, PORT_SYNC, 1);
	ASSERT_EQ(0, run->if_flag);
	ASSERT_EQ(0, run->ready_for_interrupt_injection);
	ASSERT_EQ(0, vmm_vcpu_interrupt(t->vcpu, VEC_A));
	ASSERT_EQ(VEC_A, vmm_test_out(_metadata, t->vcpu, PORT_VECTOR, 1));
	vmm_test_out(_metadata, t->vcpu, PORT_AFTER, 1);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
}

TEST_F(irq, interrupt_window)
{
	struct vmm_test *t = &self->t;
	struct vmm_run *run;

	VMM_TEST_SETUP(t);
	run = t->vcpu->run;
	guest_setup(_metadata, t, irq_window);

	vmm_test_out(_metadata, t->vcpu, PORT_SYNC, 1);
	ASSERT_EQ(0, run->if_flag);
	ASSERT_EQ(0, run->ready_for_interrupt_injection);
	run->request_interrupt_window = 1;
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_IRQ_WINDOW_OPEN);
	ASSERT_EQ(1, run->if_flag);
	ASSERT_EQ(1, run->ready_for_interrupt_injection);
	run->request_interrupt_window = 0;
	ASSERT_EQ(0, vmm_vcpu_interrupt(t->vcpu, VEC_B));
	ASSERT_EQ(VEC_B, vmm_test_out(_metadata, t->vcpu, PORT_VECTOR, 1));
	/* Back in the loop, which ends by itself. */
	vmm_test_out(_metadata, t->vcpu, PORT_TIMEOUT, 1);
}

TEST_F(irq, real_mode_ivt)
{
	struct vmm_test *t = &self->t;
	struct vmm_regs regs;

	VMM_TEST_SETUP(t);
	VMM_TEST_LOAD(t, real_irq_guest);
	ASSERT_EQ(0, vmm_setup_real_mode(t->vcpu, 0, GUEST_CODE,
					 GUEST_STACK16));
	ASSERT_EQ(0, vmm_set_idt_gate(t->vcpu, VEC_REAL,
				      GUEST_LABEL(real_handler,
						  real_irq_guest)));
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
	ASSERT_EQ(0, vmm_vcpu_interrupt(t->vcpu, VEC_REAL));
	ASSERT_EQ(VEC_REAL, vmm_test_out(_metadata, t->vcpu, PORT_VECTOR, 1));
	/* FLAGS, CS and IP are on the stack while the handler runs. */
	ASSERT_EQ(0, vmm_get_regs(t->vcpu, &regs));
	ASSERT_EQ(GUEST_STACK16 - 6 - 2, regs.rsp);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
	ASSERT_EQ(0, vmm_get_regs(t->vcpu, &regs));
	ASSERT_EQ(GUEST_STACK16, regs.rsp);
}

/* A 32-bit interrupt gate: EFLAGS, CS and EIP on the stack. */
TEST_F(irq, protected_mode_idt)
{
	struct vmm_test *t = &self->t;
	struct vmm_regs regs;

	VMM_TEST_SETUP(t);
	VMM_TEST_LOAD(t, prot_irq_guest);
	ASSERT_EQ(0, vmm_setup_protected32(t->vcpu, GUEST_SYS, GUEST_CODE,
					   GUEST_STACK));
	ASSERT_EQ(0, vmm_set_idt_gate(t->vcpu, VEC_PROT,
				      GUEST_LABEL(prot_handler,
						  prot_irq_guest)));
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
	ASSERT_EQ(0, vmm_vcpu_interrupt(t->vcpu, VEC_PROT));
	ASSERT_EQ(VEC_PROT, vmm_test_out(_metadata, t->vcpu, PORT_VECTOR, 1));
	ASSERT_EQ(0, vmm_get_regs(t->vcpu, &regs));
	ASSERT_EQ(GUEST_STACK - 12 - 4, regs.rsp);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
	ASSERT_EQ(0, vmm_get_regs(t->vcpu, &regs));
	ASSERT_EQ(GUEST_STACK, regs.rsp);
}

TEST_F(irq, nmi)
{
	struct vmm_test *t = &self->t;
	uint32_t rsp1, rsp2;

	VMM_TEST_SETUP(t);
	guest_setup(_metadata, t, nmi_main);

	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
	ASSERT_EQ(0, t->vcpu->run->if_flag);
	/* NMIs do not care about IF. */
	ASSERT_EQ(0, vmm_vcpu_nmi(t->vcpu));
	rsp1 = vmm_test_out(_metadata, t->vcpu, PORT_NMI_RSP, 4);

	/* A second NMI while the handler runs waits for its IRET... */
	ASSERT_EQ(0, vmm_vcpu_nmi(t->vcpu));
	vmm_test_out(_metadata, t->vcpu, PORT_NMI_END, 1);
	rsp2 = vmm_test_out(_metadata, t->vcpu, PORT_NMI_RSP, 4);
	/* ...and is not taken on top of the first handler's frame. */
	ASSERT_EQ(rsp1, rsp2) TH_LOG("nested NMI: handler RSP 0x%x, then 0x%x",
				     rsp1, rsp2);
	vmm_test_out(_metadata, t->vcpu, PORT_NMI_END, 1);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);

	/* NMIs are unmasked again after that IRET. */
	ASSERT_EQ(0, vmm_vcpu_nmi(t->vcpu));
	ASSERT_EQ(rsp1, vmm_test_out(_metadata, t->vcpu, PORT_NMI_RSP, 4));
	vmm_test_out(_metadata, t->vcpu, PORT_NMI_END, 1);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
}

TEST_HARNESS_MAIN
