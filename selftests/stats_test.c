// SPDX-License-Identifier: GPL-2.0
/*
 * stats_test - VMM_GET_STATS counts a vCPU's exits by kind: a guest that
 * runs CPUID, port I/O and HLT a known number of times moves exactly
 * those counters, the total is their sum and agrees with the run
 * structure's exit_count, and a new vCPU starts from zero.
 */
#include "lib/vmm_test.h"

#define NR_CPUID	3
#define NR_OUT		2

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"stats_guest_start:\n"
"	xorl %eax, %eax\n"
"	cpuid\n"
"	xorl %eax, %eax\n"
"	cpuid\n"
"	movl $1, %eax\n"
"	cpuid\n"
"	outb %al, $0x50\n"
"	outb %al, $0x51\n"
"	hlt\n"
"stats_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(stats_guest);

static int get_stats(struct vmm_vcpu *vcpu, struct vmm_stats *st)
{
	memset(st, 0xa5, sizeof(*st));
	return ioctl(vcpu->fd, VMM_GET_STATS, st);
}

FIXTURE(stats) {
	struct vmm_test t;
};

FIXTURE_SETUP(stats)
{
}

FIXTURE_TEARDOWN(stats)
{
	vmm_test_teardown(&self->t);
}

TEST_F(stats, fresh_vcpu_is_zero)
{
	struct vmm_test *t = &self->t;
	struct vmm_stats st;
	int i;

	VMM_TEST_SETUP(t);
	ASSERT_EQ(0, get_stats(t->vcpu, &st)) TH_LOG("VMM_GET_STATS: %s",
						     strerror(errno));
	ASSERT_EQ(VMM_STAT_KINDS, st.nr);
	ASSERT_EQ(0, st.reserved);
	ASSERT_EQ(0, st.exits);
	for (i = 0; i < VMM_MAX_STATS; i++)
		ASSERT_EQ(0, st.count[i]) TH_LOG("kind %d", i);
}

TEST_F(stats, counts_move_by_kind)
{
	struct vmm_test *t = &self->t;
	struct vmm_stats st, before;
	uint64_t sum = 0;
	int i;

	VMM_TEST_SETUP(t);
	VMM_TEST_LOAD(t, stats_guest);
	ASSERT_EQ(0, vmm_setup_long_mode(t->vcpu, GUEST_SYS, GUEST_CODE,
					 GUEST_STACK));
	ASSERT_EQ(0, get_stats(t->vcpu, &before));

	vmm_test_out(_metadata, t->vcpu, 0x50, 1);
	ASSERT_EQ(0, get_stats(t->vcpu, &st));
	/* CPUID stays in the kernel: counted all the same. */
	ASSERT_EQ(NR_CPUID, st.count[VMM_STAT_CPUID]);
	ASSERT_EQ(1, st.count[VMM_STAT_IO]);
	ASSERT_EQ(0, st.count[VMM_STAT_HLT]);

	vmm_test_out(_metadata, t->vcpu, 0x51, 1);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_HLT);
	ASSERT_EQ(0, get_stats(t->vcpu, &st));
	ASSERT_EQ(NR_CPUID, st.count[VMM_STAT_CPUID]);
	ASSERT_EQ(NR_OUT, st.count[VMM_STAT_IO]);
	ASSERT_EQ(1, st.count[VMM_STAT_HLT]);
	for (i = 0; i < VMM_MAX_STATS; i++)
		sum += st.count[i];
	ASSERT_EQ(sum, st.exits);
	ASSERT_LE(NR_CPUID + NR_OUT + 1, st.exits);
	/* Host interrupts and the like may add exits, never remove any. */
	ASSERT_EQ(t->vcpu->run->exit_count, st.exits);
	for (i = VMM_STAT_KINDS; i < VMM_MAX_STATS; i++)
		ASSERT_EQ(0, st.count[i]) TH_LOG("kind %d", i);
	TH_LOG("exits %llu: io %llu npf %llu msr %llu cpuid %llu hlt %llu intr %llu vintr %llu cr %llu exception %llu other %llu",
	       (unsigned long long)st.exits,
	       (unsigned long long)st.count[VMM_STAT_IO],
	       (unsigned long long)st.count[VMM_STAT_NPF],
	       (unsigned long long)st.count[VMM_STAT_MSR],
	       (unsigned long long)st.count[VMM_STAT_CPUID],
	       (unsigned long long)st.count[VMM_STAT_HLT],
	       (unsigned long long)st.count[VMM_STAT_INTR],
	       (unsigned long long)st.count[VMM_STAT_VINTR],
	       (unsigned long long)st.count[VMM_STAT_CR],
	       (unsigned long long)st.count[VMM_STAT_EXCEPTION],
	       (unsigned long long)st.count[VMM_STAT_OTHER]);
}

TEST_F(stats, bad_pointer_is_efault)
{
	struct vmm_test *t = &self->t;

	VMM_TEST_SETUP(t);
	ASSERT_EQ(-1, ioctl(t->vcpu->fd, VMM_GET_STATS, (void *)8));
	ASSERT_EQ(EFAULT, errno);
}

TEST_HARNESS_MAIN
