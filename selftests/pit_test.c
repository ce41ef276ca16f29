// SPDX-License-Identifier: GPL-2.0
/*
 * pit_test - the in-kernel 8254 PIT, PICs and IOAPIC end to end: a guest
 * programs PIT channel 0 and takes IRQ0 through the PIC in real mode
 * (ExtINT) and through the IOAPIC in long mode, at the rate it asked
 * for; and a guest calibrates its TSC against channel 2 the way Linux's
 * pit_calibrate_tsc() does, which must agree with the host's TSC rate.
 * Also: a level interrupt the guest EOIs while its line stays asserted
 * (an interrupt storm) leaves the guest time to run; lines raised from
 * another thread while the PIT ticks and the guest reprograms the
 * controllers; VMs destroyed while their PIT ticks fast.
 * Skipped where the module has no irqchip (VMM_CREATE_IRQCHIP).
 */
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <x86intrin.h>

#include "lib/vmm_test.h"

#define PORT_DONE	0x84	/* the guest is done: results in the mailbox */

#define VEC_TIMER	0x30
#define TICKS		50	/* interrupts each guest waits for */
#define TICK_COUNT	1193	/* PIT clocks: 1 ms */

/* Mailbox: u32 ticks at +0, u64 TSC delta at +8. */
#define MB_TICKS	GUEST_MAILBOX
#define MB_TSC		(GUEST_MAILBOX + 8)

/*
 * Programs PIT channel 0 in mode 2 (rate generator) for 1 ms, the way
 * Linux's clockevent does.
 */
#define PIT_CH0_1MS							\
"	movb $0x34, %al\n"						\
"	outb %al, $0x43\n"						\
"	movb $" __stringify(TICK_COUNT & 0xff) ", %al\n"		\
"	outb %al, $0x40\n"						\
"	movb $" __stringify(TICK_COUNT >> 8) ", %al\n"			\
"	outb %al, $0x40\n"

/* The PICs as Linux's init_8259A() leaves them, vectors 0x30 and 0x38. */
#define PIC_INIT(mask0)							\
"	movb $0x11, %al\n"						\
"	outb %al, $0x20\n"						\
"	movb $0x30, %al\n"						\
"	outb %al, $0x21\n"						\
"	movb $0x04, %al\n"						\
"	outb %al, $0x21\n"						\
"	movb $0x01, %al\n"						\
"	outb %al, $0x21\n"						\
"	movb $0x11, %al\n"						\
"	outb %al, $0xa0\n"						\
"	movb $0x38, %al\n"						\
"	outb %al, $0xa1\n"						\
"	movb $0x02, %al\n"						\
"	outb %al, $0xa1\n"						\
"	movb $0x01, %al\n"						\
"	outb %al, $0xa1\n"						\
"	movb $" mask0 ", %al\n"					\
"	outb %al, $0x21\n"						\
"	movb $0xff, %al\n"						\
"	outb %al, $0xa1\n"

/* Real mode: IRQ0 through the PIC, EOI to the PIC. */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code16\n"
"real_pit_start:\n"
"	cli\n"
	PIC_INIT("0xfe")
	PIT_CH0_1MS
"	sti\n"
"1:	hlt\n"
"	cmpl $" __stringify(TICKS) ", " __stringify(MB_TICKS) "\n"
"	jb 1b\n"
"	cli\n"
"	outb %al, $" __stringify(PORT_DONE) "\n"
"	hlt\n"
"real_pit_handler:\n"
"	pushw %ax\n"
"	incl " __stringify(MB_TICKS) "\n"
"	movb $0x20, %al\n"
"	outb %al, $0x20\n"
"	popw %ax\n"
"	iret\n"
"real_pit_end:\n"
"	.code64\n"
"	.popsection\n");
VMM_GUEST_CODE(real_pit);
extern const unsigned char real_pit_handler[];

/*
 * Long mode: the PICs masked, IOAPIC pin 2 (where the MADT puts the
 * PIT) edge-triggered to VEC_TIMER on APIC 0, EOI to the local APIC.
 */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"long_pit_start:\n"
"	cli\n"
	PIC_INIT("0xff")
"	movl $0xfee00000, %ebx\n"
"	movl $0x1ff, 0xf0(%rbx)\n"		/* SVR: APIC on, spurious 0xff */
"	movl $0, 0x80(%rbx)\n"			/* TPR */
"	movl $0xfec00000, %ecx\n"
"	movl $0x15, (%rcx)\n"			/* pin 2, high: APIC ID 0 */
"	movl $0, 0x10(%rcx)\n"
"	movl $0x14, (%rcx)\n"			/* pin 2, low: unmasked */
"	movl $" __stringify(VEC_TIMER) ", 0x10(%rcx)\n"
	PIT_CH0_1MS
"	sti\n"
"1:	hlt\n"
"	cmpl $" __stringify(TICKS) ", " __stringify(MB_TICKS) "\n"
"	jb 1b\n"
"	cli\n"
"	outb %al, $" __stringify(PORT_DONE) "\n"
"	hlt\n"
"long_pit_handler:\n"
"	incl " __stringify(MB_TICKS) "\n"
"	movl $0, 0xb0(%rbx)\n"			/* EOI */
"	iretq\n"
"long_pit_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(long_pit);
extern const unsigned char long_pit_handler[];

/*
 * Linux's pit_calibrate_tsc(): 10 ms of channel 2 in mode 0, polling
 * port 0x61 bit 5.  Also what Linux checks of the loop: how many polls
 * (r8, at least 1000 in 10 ms) and the shortest and longest poll in TSC
 * clocks (r9, r10: the longest under 10 times the shortest).
 */
#define CAL_COUNT	11932
#define MB_POLLS	(GUEST_MAILBOX + 16)
#define MB_POLL_MIN	(GUEST_MAILBOX + 24)
#define MB_POLL_MAX	(GUEST_MAILBOX + 32)
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"tsc_cal_start:\n"
"	inb $0x61, %al\n"
"	andb $0xfd, %al\n"
"	orb $0x01, %al\n"
"	outb %al, $0x61\n"
"	movb $0xb0, %al\n"
"	outb %al, $0x43\n"
"	movb $" __stringify(CAL_COUNT & 0xff) ", %al\n"
"	outb %al, $0x42\n"
"	movb $" __stringify(CAL_COUNT >> 8) ", %al\n"
"	outb %al, $0x42\n"
"	xorl %r8d, %r8d\n"
"	movq $-1, %r9\n"
"	xorl %r10d, %r10d\n"
"	rdtsc\n"
"	shlq $32, %rdx\n"
"	orq %rax, %rdx\n"
"	movq %rdx, %rsi\n"
"	movq %rdx, %rdi\n"
"1:	inb $0x61, %al\n"
"	testb $0x20, %al\n"
"	jnz 2f\n"
"	rdtsc\n"
"	shlq $32, %rdx\n"
"	orq %rax, %rdx\n"
"	movq %rdx, %rax\n"
"	subq %rdi, %rax\n"			/* this poll */
"	movq %rdx, %rdi\n"
"	cmpq %r9, %rax\n"
"	cmovbq %rax, %r9\n"
"	cmpq %r10, %rax\n"
"	cmovaq %rax, %r10\n"
"	incq %r8\n"
"	jmp 1b\n"
"2:	rdtsc\n"
"	shlq $32, %rdx\n"
"	orq %rax, %rdx\n"
"	subq %rsi, %rdx\n"
"	movq %rdx, " __stringify(MB_TSC) "\n"
"	movq %r8, " __stringify(MB_POLLS) "\n"
"	movq %r9, " __stringify(MB_POLL_MIN) "\n"
"	movq %r10, " __stringify(MB_POLL_MAX) "\n"
"	outb %al, $" __stringify(PORT_DONE) "\n"
"	hlt\n"
"tsc_cal_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(tsc_cal);

/*
 * An interrupt storm: IOAPIC pin 5 level-triggered to VEC_STORM, the line
 * held high by the test, a handler that only counts and EOIs.  Every
 * EOI delivers again at once, so the main loop runs only when the
 * IOAPIC's storm guard holds the next delivery back; it then reports
 * how many interrupts it saw.
 */
#define VEC_STORM	0x35
#define STORM_MIN	10000
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"storm_start:\n"
	PIC_INIT("0xff")
"	movl $0xfee00000, %ebx\n"
"	movl $0x1ff, 0xf0(%rbx)\n"
"	movl $0xfec00000, %ecx\n"
"	movl $0x1b, (%rcx)\n"			/* pin 5, high: APIC ID 0 */
"	movl $0, 0x10(%rcx)\n"
"	movl $0x1a, (%rcx)\n"			/* pin 5, low: level, unmasked */
"	movl $(0x8000 | " __stringify(VEC_STORM) "), 0x10(%rcx)\n"
"	sti\n"
"1:	cmpl $" __stringify(STORM_MIN) ", " __stringify(MB_TICKS) "\n"
"	jb 1b\n"
"	cli\n"
"	outb %al, $" __stringify(PORT_DONE) "\n"
"	hlt\n"
"storm_handler:\n"
"	incl " __stringify(MB_TICKS) "\n"
"	movl $0, 0xb0(%rbx)\n"
"	iretq\n"
"storm_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(storm);
extern const unsigned char storm_handler[];

/*
 * PIT ticks every 100 us (the shortest period the kernel allows) through
 * the IOAPIC and, as LINT0 is ExtINT, through the PIC too, while the main
 * loop keeps re-programming the PICs, the IOAPIC entry and the PIT; it
 * never ends by itself.  One handler for every vector the PICs and the
 * LAPIC can send (spurious ones included) EOIs both.
 */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"churn_start:\n"
"	movl $0xfee00000, %ebx\n"
"	movl $0x1ff, 0xf0(%rbx)\n"
"	movl $0xfec00000, %ecx\n"
"	movl $0x15, (%rcx)\n"
"	movl $0, 0x10(%rcx)\n"
"1:	cli\n"
	PIC_INIT("0xfe")
"	sti\n"
"	movl $0x14, (%rcx)\n"
"	movl $" __stringify(VEC_TIMER) ", 0x10(%rcx)\n"
"	movb $0x34, %al\n"
"	outb %al, $0x43\n"
"	movb $2, %al\n"
"	outb %al, $0x40\n"
"	movb $0, %al\n"
"	outb %al, $0x40\n"
"	inb $0x40, %al\n"
"	inb $0x61, %al\n"
"	movb $0xc2, %al\n"
"	outb %al, $0x43\n"
"	inb $0x40, %al\n"
"	jmp 1b\n"
"churn_handler:\n"
"	incl " __stringify(MB_TICKS) "\n"
"	movl $0, 0xb0(%rbx)\n"
"	movb $0x20, %al\n"
"	outb %al, $0x20\n"
"	iretq\n"
"churn_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(churn);
extern const unsigned char churn_handler[];

FIXTURE(pit) {
	struct vmm_test t;
};

FIXTURE_SETUP(pit)
{
}

FIXTURE_TEARDOWN(pit)
{
	if (self->t.vm)
		vmm_test_teardown(&self->t);
}

/* A VM with the in-kernel irqchip, RAM and vCPU 0, or SKIP. */
#define PIT_TEST_SETUP(t) do {						\
	memset((t), 0, sizeof(*(t)));					\
	VMM_TEST_VM((t)->vm);						\
	if (ioctl((t)->vm->fd, VMM_CREATE_IRQCHIP, 0)) {		\
		ASSERT_TRUE(errno == EOPNOTSUPP || errno == ENOTTY ||	\
			    errno == EINVAL) TH_LOG("VMM_CREATE_IRQCHIP: %s", \
						    strerror(errno));	\
		SKIP(return, "no in-kernel irqchip: %s", strerror(errno)); \
	}								\
	(t)->mem = vmm_vm_add_memory((t)->vm, 0, 0, GUEST_RAM_SIZE, 0); \
	ASSERT_NE(NULL, (t)->mem) TH_LOG("slot 0: %s", strerror(errno)); \
	(t)->vcpu = vmm_vcpu_create((t)->vm, 0);			\
	ASSERT_NE(NULL, (t)->vcpu) TH_LOG("vCPU 0: %s", strerror(errno)); \
} while (0)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Runs the guest to its OUT to PORT_DONE and checks that TICKS timer
 * interrupts took about TICKS ms: not faster than the PIT was programmed
 * (5% slack for clock rounding), and not lost by the dozen.
 */
static void run_ticks(struct __test_metadata *_metadata, struct vmm_test *t)
{
	uint32_t ticks;
	double t0, ms;

	t0 = now_s();
	vmm_test_out(_metadata, t->vcpu, PORT_DONE, 1);
	ms = (now_s() - t0) * 1000;
	memcpy(&ticks, t->mem + MB_TICKS, sizeof(ticks));
	ASSERT_EQ(TICKS, ticks);
	TH_LOG("%d ticks of 1 ms in %.1f ms", TICKS, ms);
	ASSERT_GE(ms, TICKS * 0.95);
	/* The emulated machine is slow, but not 1 s for 50 ticks slow. */
	ASSERT_LE(ms, 1000);
}

TEST_F(pit, real_mode_pic)
{
	struct vmm_test *t = &self->t;

	PIT_TEST_SETUP(t);
	VMM_TEST_LOAD(t, real_pit);
	ASSERT_EQ(0, vmm_setup_real_mode(t->vcpu, 0, GUEST_CODE,
					 GUEST_STACK16));
	ASSERT_EQ(0, vmm_set_idt_gate(t->vcpu, 0x30,
				      GUEST_LABEL(real_pit_handler, real_pit)));
	run_ticks(_metadata, t);
}

TEST_F(pit, long_mode_ioapic)
{
	struct vmm_test *t = &self->t;

	PIT_TEST_SETUP(t);
	VMM_TEST_LOAD(t, long_pit);
	ASSERT_EQ(0, vmm_setup_long_mode(t->vcpu, GUEST_SYS,
					 GUEST_LABEL(long_pit_start, long_pit),
					 GUEST_STACK));
	ASSERT_EQ(0, vmm_set_idt_gate(t->vcpu, VEC_TIMER,
				      GUEST_LABEL(long_pit_handler, long_pit)));
	run_ticks(_metadata, t);
}

/* The host's TSC rate, measured over 100 ms. */
static double host_tsc_hz(void)
{
	struct timespec req = { 0, 100 * 1000 * 1000 };
	double t0, t1;
	uint64_t c0, c1;

	t0 = now_s();
	c0 = __rdtsc();
	nanosleep(&req, NULL);
	c1 = __rdtsc();
	t1 = now_s();
	return (c1 - c0) / (t1 - t0);
}

TEST_F(pit, tsc_calibration)
{
	struct vmm_test *t = &self->t;
	double host_hz, guest_hz, slack_hz;
	uint64_t delta, polls, pmin, pmax;

	PIT_TEST_SETUP(t);
	VMM_TEST_LOAD(t, tsc_cal);
	ASSERT_EQ(0, vmm_setup_long_mode(t->vcpu, GUEST_SYS,
					 GUEST_LABEL(tsc_cal_start, tsc_cal),
					 GUEST_STACK));
	vmm_test_out(_metadata, t->vcpu, PORT_DONE, 1);
	memcpy(&delta, t->mem + MB_TSC, sizeof(delta));
	memcpy(&polls, t->mem + MB_POLLS, sizeof(polls));
	memcpy(&pmin, t->mem + MB_POLL_MIN, sizeof(pmin));
	memcpy(&pmax, t->mem + MB_POLL_MAX, sizeof(pmax));
	host_hz = host_tsc_hz();
	TH_LOG("%llu polls of port 0x61, %llu to %llu TSC clocks each",
	       (unsigned long long)polls, (unsigned long long)pmin,
	       (unsigned long long)pmax);
	/* What Linux computes: TSC clocks over CAL_COUNT PIT clocks. */
	guest_hz = delta * 1193182.0 / CAL_COUNT;
	TH_LOG("guest TSC %.1f MHz, host %.1f MHz", guest_hz / 1e6,
	       host_hz / 1e6);
	/*
	 * The window's start and end are each seen up to one poll late, so
	 * the count is off by at most the longest poll.  A host preemption
	 * in the emulated machine can stretch one poll to milliseconds
	 * (Linux would retry such a run): allow that poll besides the
	 * emulated clocks' own 2%/5% spread.
	 */
	slack_hz = pmax * 1193182.0 / CAL_COUNT;
	TH_LOG("allowed: host -2%%/+5%% +-%.1f MHz (the longest poll)",
	       slack_hz / 1e6);
	ASSERT_GE(guest_hz, host_hz * 0.98 - slack_hz);
	ASSERT_LE(guest_hz, host_hz * 1.05 + slack_hz);
}

static void irq_line(struct __test_metadata *_metadata, struct vmm_vm *vm,
		     uint32_t gsi, uint32_t level)
{
	struct vmm_irq_level l = { .irq = gsi, .level = level };

	ASSERT_EQ(0, ioctl(vm->fd, VMM_IRQ_LINE, &l))
		TH_LOG("VMM_IRQ_LINE %u %u: %s", gsi, level, strerror(errno));
}

TEST_F(pit, level_storm_guard)
{
	struct vmm_test *t = &self->t;
	uint32_t n;
	double t0;

	PIT_TEST_SETUP(t);
	VMM_TEST_LOAD(t, storm);
	ASSERT_EQ(0, vmm_setup_long_mode(t->vcpu, GUEST_SYS,
					 GUEST_LABEL(storm_start, storm),
					 GUEST_STACK));
	ASSERT_EQ(0, vmm_set_idt_gate(t->vcpu, VEC_STORM,
				      GUEST_LABEL(storm_handler, storm)));
	irq_line(_metadata, t->vm, 5, 1);
	t0 = now_s();
	vmm_test_out(_metadata, t->vcpu, PORT_DONE, 1);
	memcpy(&n, t->mem + MB_TICKS, sizeof(n));
	TH_LOG("%u interrupts, then the guest ran, after %.0f ms", n,
	       (now_s() - t0) * 1000);
	ASSERT_GE(n, STORM_MIN);
	irq_line(_metadata, t->vm, 5, 0);
}

static void churn_gates(struct __test_metadata *_metadata, struct vmm_test *t)
{
	int v;

	for (v = 0x30; v < 0x40; v++)
		ASSERT_EQ(0, vmm_set_idt_gate(t->vcpu, v,
					      GUEST_LABEL(churn_handler,
							  churn)));
	ASSERT_EQ(0, vmm_set_idt_gate(t->vcpu, 0xff,
				      GUEST_LABEL(churn_handler, churn)));
}

struct hammer {
	struct vmm_vm *vm;
	volatile int stop;
	unsigned long calls;
};

/* Every GSI but the PIT's, up and down, as fast as the ioctl goes. */
static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	struct vmm_irq_level l = { 0 };

	while (!h->stop) {
		l.irq = 1 + h->calls % 23;
		l.level = (h->calls / 23) & 1;
		if (ioctl(h->vm->fd, VMM_IRQ_LINE, &l))
			break;
		h->calls++;
	}
	return NULL;
}

static void on_sigusr1(int sig)
{
}

/*
 * Ends the VMM_RUN of the calling thread after s->ms: a signal, repeated
 * until the run is over (immediate_exit stops the next one, if the
 * signal came between two).
 */
struct stopper {
	long ms;
	pthread_t vcpu_thread;
	struct vmm_vcpu *vcpu;
	volatile int done;
};

static void *stopper_fn(void *arg)
{
	struct stopper *s = arg;
	struct timespec req = { 0, s->ms * 1000 * 1000 };

	nanosleep(&req, NULL);
	s->vcpu->run->immediate_exit = 1;
	req.tv_nsec = 10 * 1000 * 1000;
	while (!s->done) {
		pthread_kill(s->vcpu_thread, SIGUSR1);
		nanosleep(&req, NULL);
	}
	return NULL;
}

static void start_stopper(struct __test_metadata *_metadata,
			  struct stopper *s, pthread_t *thread,
			  struct vmm_vcpu *vcpu, long ms)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };

	s->ms = ms;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	s->vcpu_thread = pthread_self();
	s->vcpu = vcpu;
	s->done = 0;
	ASSERT_EQ(0, pthread_create(thread, NULL, stopper_fn, s));
}

TEST_F(pit, lines_from_another_thread)
{
	struct vmm_test *t = &self->t;
	struct hammer h = { 0 };
	struct stopper s;
	pthread_t hammer, stopper;
	uint32_t ticks;
	int ret;

	PIT_TEST_SETUP(t);
	VMM_TEST_LOAD(t, churn);
	ASSERT_EQ(0, vmm_setup_long_mode(t->vcpu, GUEST_SYS,
					 GUEST_LABEL(churn_start, churn),
					 GUEST_STACK));
	churn_gates(_metadata, t);
	h.vm = t->vm;
	ASSERT_EQ(0, pthread_create(&hammer, NULL, hammer_fn, &h));
	start_stopper(_metadata, &s, &stopper, t->vcpu, 300);
	/* The guest never exits by itself: only the stopper ends the run. */
	ret = vmm_vcpu_run(t->vcpu);
	s.done = 1;
	h.stop = 1;
	pthread_join(hammer, NULL);
	pthread_join(stopper, NULL);
	ASSERT_TRUE(ret == 0 || errno == EINTR) TH_LOG("VMM_RUN: %s",
						       strerror(errno));
	memcpy(&ticks, t->mem + MB_TICKS, sizeof(ticks));
	TH_LOG("%lu VMM_IRQ_LINE calls, %u timer interrupts", h.calls, ticks);
	ASSERT_GT(h.calls, 100);
}

/* VMs torn down while their PIT fires every 100 us: no callback after. */
TEST_F(pit, destroy_while_ticking)
{
	struct vmm_test *t = &self->t;
	int i;

	for (i = 0; i < 50; i++) {
		struct stopper s;
		pthread_t stopper;

		PIT_TEST_SETUP(t);
		VMM_TEST_LOAD(t, churn);
		ASSERT_EQ(0, vmm_setup_long_mode(t->vcpu, GUEST_SYS,
						 GUEST_LABEL(churn_start, churn),
						 GUEST_STACK));
		churn_gates(_metadata, t);
		start_stopper(_metadata, &s, &stopper, t->vcpu, 20);
		vmm_vcpu_run(t->vcpu);
		s.done = 1;
		pthread_join(stopper, NULL);
		vmm_test_teardown(t);
	}
}

TEST_HARNESS_MAIN
