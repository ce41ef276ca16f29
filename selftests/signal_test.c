// SPDX-License-Identifier: GPL-2.0
/*
 * signal_test - getting a vCPU out of the guest: a signal ends VMM_RUN of
 * a guest that spins forever with EINTR and VMM_EXIT_INTR, quickly and
 * with the guest's state intact; immediate_exit returns at once without
 * entering; and closing every fd of a VM whose vCPU is running neither
 * hangs the closing thread nor the running one, which a signal frees.
 */
#include "lib/vmm_test.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#define PORT_STARTED	0x80

/* OUT once, then spin forever with interrupts off. */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"spin_guest_start:\n"
"	outb %al, $" __stringify(PORT_STARTED) "\n"
"spin_guest_loop:\n"
"	jmp spin_guest_loop\n"
"spin_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(spin_guest);
extern const unsigned char spin_guest_loop[];

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"out_guest_start:\n"
"	outb %al, $" __stringify(PORT_STARTED) "\n"
"	hlt\n"
"out_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(out_guest);

static volatile sig_atomic_t signals;

static void on_signal(int sig)
{
	signals++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct spinner {
	pthread_t thread;
	struct vmm_vcpu *vcpu;
	bool resume;		/* skip the first RUN: the guest spins already */
	int entering;		/* the guest spins; RUN is (about to be) called */
	int finished;		/* RUN came back; both set with __atomic */
	int first_ret, ret, err;
	uint32_t first_exit;
	double returned;	/* now() when RUN came back */
};

static void *spinner_fn(void *arg)
{
	struct spinner *s = arg;

	/* The first RUN ends at the OUT: the guest is set up and going. */
	if (!s->resume) {
		s->first_ret = vmm_vcpu_run(s->vcpu);
		s->first_exit = s->vcpu->run->exit_reason;
	}
	__atomic_store_n(&s->entering, 1, __ATOMIC_RELEASE);
	s->ret = vmm_vcpu_run(s->vcpu);
	s->err = errno;
	s->returned = now();
	__atomic_store_n(&s->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Waits up to @secs for @flag; returns whether it was set. */
static bool wait_for(int *flag, double secs)
{
	double end = now() + secs;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE) && now() < end)
		usleep(1000);
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

/*
 * Sends SIGUSR1 every 100 ms until the spinner is out of VMM_RUN or
 * @secs pass (one signal could come just before it entered); returns
 * when the first signal went out.
 */
static double kick_until_finished(struct spinner *s, double secs)
{
	double first = now(), end = first + secs;

	while (!__atomic_load_n(&s->finished, __ATOMIC_ACQUIRE) &&
	       now() < end) {
		pthread_kill(s->thread, SIGUSR1);
		wait_for(&s->finished, 0.1);
	}
	return first;
}

static void install_handler(struct __test_metadata *_metadata)
{
	struct sigaction sa;

	/* No SA_RESTART: VMM_RUN must come back with EINTR. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
}

static void start_spinner(struct __test_metadata *_metadata,
			  struct vmm_test *t, struct spinner *s)
{
	VMM_TEST_LOAD(t, spin_guest);
	ASSERT_EQ(0, vmm_setup_long_mode(t->vcpu, GUEST_SYS, GUEST_CODE,
					 GUEST_STACK));
	memset(s, 0, sizeof(*s));
	s->vcpu = t->vcpu;
	ASSERT_EQ(0, pthread_create(&s->thread, NULL, spinner_fn, s));
	ASSERT_TRUE(wait_for(&s->entering, 10)) TH_LOG("guest did not start");
	ASSERT_EQ(0, s->first_ret);
	ASSERT_EQ(VMM_EXIT_IO, s->first_exit);
	/* Let it get into the guest and spin there for a while. */
	usleep(100000);
	ASSERT_FALSE(wait_for(&s->finished, 0)) TH_LOG("VMM_RUN returned %d (%s) early",
					 s->ret, strerror(s->err));
}

TEST(signal_interrupts_run)
{
	struct vmm_regs regs;
	struct spinner s;
	struct vmm_test t;
	double first;

	VMM_TEST_SETUP(&t);
	install_handler(_metadata);
	start_spinner(_metadata, &t, &s);

	first = kick_until_finished(&s, 3);
	ASSERT_TRUE(wait_for(&s.finished, 0)) TH_LOG("VMM_RUN ignored signals for 3 s");
	pthread_join(s.thread, NULL);
	ASSERT_EQ(-1, s.ret);
	ASSERT_EQ(EINTR, s.err);
	ASSERT_EQ(VMM_EXIT_INTR, t.vcpu->run->exit_reason);
	ASSERT_GT(1.0, s.returned - first) TH_LOG("took %.3f s",
						  s.returned - first);
	ASSERT_LE(1, signals);

	/* The guest is where it was... */
	ASSERT_EQ(0, vmm_get_regs(t.vcpu, &regs));
	ASSERT_EQ(GUEST_LABEL(spin_guest_loop, spin_guest), regs.rip);

	/* ...spins on when resumed, and a signal gets it out again. */
	memset(&s, 0, sizeof(s));
	s.vcpu = t.vcpu;
	s.resume = true;
	ASSERT_EQ(0, pthread_create(&s.thread, NULL, spinner_fn, &s));
	ASSERT_TRUE(wait_for(&s.entering, 10));
	usleep(100000);
	ASSERT_FALSE(wait_for(&s.finished, 0));
	kick_until_finished(&s, 3);
	ASSERT_TRUE(wait_for(&s.finished, 0));
	pthread_join(s.thread, NULL);
	ASSERT_EQ(-1, s.ret);
	ASSERT_EQ(EINTR, s.err);
	ASSERT_EQ(VMM_EXIT_INTR, t.vcpu->run->exit_reason);
	ASSERT_EQ(0, vmm_get_regs(t.vcpu, &regs));
	ASSERT_EQ(GUEST_LABEL(spin_guest_loop, spin_guest), regs.rip);
	vmm_test_teardown(&t);
}

TEST(immediate_exit)
{
	struct vmm_regs regs;
	struct vmm_test t;
	uint64_t count;

	VMM_TEST_SETUP(&t);
	VMM_TEST_LOAD(&t, out_guest);
	ASSERT_EQ(0, vmm_setup_long_mode(t.vcpu, GUEST_SYS, GUEST_CODE,
					 GUEST_STACK));
	count = t.vcpu->run->exit_count;
	t.vcpu->run->immediate_exit = 1;
	ASSERT_EQ(-1, vmm_vcpu_run(t.vcpu));
	ASSERT_EQ(EINTR, errno);
	ASSERT_EQ(VMM_EXIT_INTR, t.vcpu->run->exit_reason);
	/* The guest did not run at all. */
	ASSERT_EQ(count, t.vcpu->run->exit_count);
	ASSERT_EQ(0, vmm_get_regs(t.vcpu, &regs));
	ASSERT_EQ(GUEST_CODE, regs.rip);
	/* Still set: still no entry. */
	ASSERT_EQ(-1, vmm_vcpu_run(t.vcpu));
	ASSERT_EQ(EINTR, errno);

	t.vcpu->run->immediate_exit = 0;
	vmm_test_out(_metadata, t.vcpu, PORT_STARTED, 1);
	vmm_test_run(_metadata, t.vcpu, VMM_EXIT_HLT);
	vmm_test_teardown(&t);
}

TEST(close_while_running)
{
	struct vmm_test t, t2;
	struct spinner s;
	double start;
	int fds[3], i;

	VMM_TEST_SETUP(&t);
	install_handler(_metadata);
	start_spinner(_metadata, &t, &s);

	/* Every fd of the VM goes while its vCPU is in the guest. */
	fds[0] = t.vcpu->fd;
	fds[1] = t.vm->fd;
	fds[2] = t.vm->sys_fd;
	start = now();
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, close(fds[i]));
	}
	ASSERT_GT(1.0, now() - start) TH_LOG("close took %.3f s",
					     now() - start);
	t.vcpu->fd = t.vm->fd = t.vm->sys_fd = -1;
	ASSERT_FALSE(wait_for(&s.finished, 0));

	/* A signal still gets the running thread out. */
	kick_until_finished(&s, 3);
	ASSERT_TRUE(wait_for(&s.finished, 0)) TH_LOG("VMM_RUN stuck after close");
	pthread_join(s.thread, NULL);
	ASSERT_EQ(-1, s.ret);
	ASSERT_EQ(EINTR, s.err);

	vmm_test_teardown(&t);

	/* The module goes on working. */

	VMM_TEST_SETUP(&t2);
	VMM_TEST_LOAD(&t2, out_guest);
	ASSERT_EQ(0, vmm_setup_long_mode(t2.vcpu, GUEST_SYS, GUEST_CODE,
					 GUEST_STACK));
	vmm_test_out(_metadata, t2.vcpu, PORT_STARTED, 1);
	vmm_test_teardown(&t2);
}

TEST_HARNESS_MAIN
