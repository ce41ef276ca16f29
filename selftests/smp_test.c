// SPDX-License-Identifier: GPL-2.0
/*
 * smp_test - two vCPUs of one VM run at the same time in two threads.
 * Each counts in guest memory (a shared counter with LOCK INC and one of
 * its own), reads its APIC id from CPUID, then waits in the guest until
 * the other has finished counting too, so both were in VMM_RUN at once,
 * and reports through OUT.
 */
#include "lib/vmm_test.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#define MAILBOX		__stringify(GUEST_MAILBOX)
#define SHARED		GUEST_MAILBOX		/* both increment it */
#define OWN(id)		(GUEST_MAILBOX + 0x08 + 8 * (id))
#define DONE(id)	(GUEST_MAILBOX + 0x100 + 8 * (id))
#define APIC_ID(id)	(GUEST_MAILBOX + 0x200 + 8 * (id))
#define PORT_DONE	0x80
#define ITERATIONS	200000
#define NR_VCPUS	2

/* RDI = vCPU id (0 or 1), RSI = iterations. */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"smp_guest_start:\n"
"	movl $1, %eax\n"
"	cpuid\n"
"	shrl $24, %ebx\n"
"	movq %rbx, " MAILBOX " + 0x200(,%rdi,8)\n"
"	movq %rsi, %rcx\n"
"1:	lock incq " MAILBOX "\n"
"	incq " MAILBOX " + 8(,%rdi,8)\n"
"	decq %rcx\n"
"	jnz 1b\n"
"	movq $1, " MAILBOX " + 0x100(,%rdi,8)\n"
"	movq %rdi, %rdx\n"
"	xorq $1, %rdx\n"
"2:	pause\n"
"	cmpq $0, " MAILBOX " + 0x100(,%rdx,8)\n"
"	je 2b\n"
"	movl %edi, %eax\n"
"	outb %al, $" __stringify(PORT_DONE) "\n"
"	hlt\n"
"smp_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(smp_guest);

struct worker {
	pthread_t thread;
	struct vmm_vcpu *vcpu;
	int ret;		/* of VMM_RUN */
	int err;		/* its errno */
	int finished;		/* read after the join */
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;

	w->ret = vmm_vcpu_run(w->vcpu);
	w->err = errno;
	w->finished = 1;
	return NULL;
}

static void on_signal(int sig)
{
}

TEST(two_vcpus_at_once)
{
	struct worker w[NR_VCPUS];
	struct vmm_cpuid *cpuid;
	struct sigaction sa;
	struct vmm_regs regs;
	struct vmm_test t;
	struct timespec deadline;
	uint64_t *mem64;
	int i;

	VMM_TEST_SETUP(&t);
	ASSERT_LE(NR_VCPUS, vmm_check_cap(t.vm->fd, VMM_CAP_MAX_VCPUS));
	cpuid = vmm_get_supported_cpuid(t.vm);
	ASSERT_NE(NULL, cpuid);
	ASSERT_EQ(0, vmm_vm_set_cpuid(t.vm, cpuid->entries, cpuid->nent));
	free(cpuid);
	VMM_TEST_LOAD(&t, smp_guest);

	/* A signal gets a vCPU out of a guest that never finishes. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));

	memset(w, 0, sizeof(w));
	w[0].vcpu = t.vcpu;
	w[1].vcpu = vmm_vcpu_create(t.vm, 1);
	ASSERT_NE(NULL, w[1].vcpu);
	for (i = 0; i < NR_VCPUS; i++) {
		ASSERT_EQ(0, vmm_setup_long_mode(w[i].vcpu, GUEST_SYS,
						 GUEST_CODE, GUEST_STACK));
		ASSERT_EQ(0, vmm_get_regs(w[i].vcpu, &regs));
		regs.rdi = i;
		regs.rsi = ITERATIONS;
		ASSERT_EQ(0, vmm_set_regs(w[i].vcpu, &regs));
	}
	for (i = 0; i < NR_VCPUS; i++) {
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL, worker_fn,
					    &w[i]));
	}

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 20;
	for (i = 0; i < NR_VCPUS; i++) {
		int err = pthread_timedjoin_np(w[i].thread, NULL, &deadline);

		if (err) {
			/* Stuck: get the rest out of the guest, then fail. */
			int j;

			for (j = i; j < NR_VCPUS; j++)
				pthread_kill(w[j].thread, SIGUSR1);
			pthread_join(w[i].thread, NULL);
		}
		ASSERT_EQ(0, err) TH_LOG("vCPU %d did not finish in 20 s", i);
		ASSERT_TRUE(w[i].finished);
	}

	for (i = 0; i < NR_VCPUS; i++) {
		struct vmm_run *run = w[i].vcpu->run;

		ASSERT_EQ(0, w[i].ret) TH_LOG("vCPU %d: %s", i,
					      strerror(w[i].err));
		ASSERT_EQ(VMM_EXIT_IO, run->exit_reason)
			TH_LOG("vCPU %d: %s", i, vmm_test_exit_str(w[i].vcpu));
		ASSERT_EQ(PORT_DONE, run->io.port);
		ASSERT_EQ(i, *(uint8_t *)vmm_io_data(w[i].vcpu));
	}
	mem64 = (uint64_t *)t.mem;
	ASSERT_EQ(2ULL * ITERATIONS, mem64[SHARED / 8]);
	for (i = 0; i < NR_VCPUS; i++) {
		ASSERT_EQ(ITERATIONS, mem64[OWN(i) / 8]);
		ASSERT_EQ(1, mem64[DONE(i) / 8]);
		/* CPUID's initial APIC id is the vCPU id. */
		ASSERT_EQ(i, mem64[APIC_ID(i) / 8]);
	}
	vmm_vcpu_destroy(w[1].vcpu);
	vmm_test_teardown(&t);
}

TEST_HARNESS_MAIN
