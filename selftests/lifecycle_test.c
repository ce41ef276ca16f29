// SPDX-License-Identifier: GPL-2.0
/*
 * lifecycle_test - VMs come and go without leaking: two thousand cycles of
 * create, add memory, create a vCPU, run a guest, destroy leave the fd
 * count where it was and free memory within a few MiB, and so do as many
 * VMs with an in-kernel irqchip whose LAPIC timer is armed at the end and
 * whose vCPU 1 waits for SIPI; a vCPU keeps its VM alive after the VM fd
 * is closed; a VM takes every vCPU id it offers.
 */
#include "lib/vmm_test.h"

#include <dirent.h>

#define CYCLES		2000
#define WARMUP		20
#define SMALL_RAM	0x10000		/* 64 KiB is enough here */
#define LEAK_LIMIT_KB	(4 * 1024)	/* a page a cycle is 8 MiB */

asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code16\n"
"tiny_guest_start:\n"
"	movw $0x1234, %ax\n"
"	addw %bx, %ax\n"
"	outw %ax, $0x80\n"
"	hlt\n"
"tiny_guest_end:\n"
"	.code64\n"
"	.popsection\n");
VMM_GUEST_CODE(tiny_guest);

/* 32-bit, paging off: arms a periodic LAPIC timer, reports, halts. */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code32\n"
"timer_guest_start:\n"
"	movl $0xfee00000, %ebx\n"
"	movl $0x1ff, 0xf0(%ebx)\n"		/* SVR: APIC on */
"	movl $(0x40 | (1 << 17)), 0x320(%ebx)\n"	/* periodic, vector 0x40 */
"	movl $100000, 0x380(%ebx)\n"
"	outb %al, $0x80\n"
"	cli\n"
"	hlt\n"
"timer_guest_end:\n"
"	.code64\n"
"	.popsection\n");
VMM_GUEST_CODE(timer_guest);

static int count_fds(void)
{
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n - 1;	/* the directory's own fd */
}

/*
 * Free memory in kB: MemFree plus the pages on the per-CPU free lists,
 * which MemFree leaves out.  Those lists hold megabytes at times, and a
 * leak can drain them without MemFree moving at all.
 */
static long free_kb(void)
{
	long kb = -1, pages = 0, n;
	char line[256];
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &kb) == 1)
			break;
	fclose(f);
	f = fopen("/proc/zoneinfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %ld", &n) == 1)
			pages += n;
	fclose(f);
	return kb < 0 ? -1 : kb + pages * (getpagesize() / 1024);
}

/* One whole life of a VM whose guest adds @i to 0x1234. */
static void one_cycle(struct __test_metadata *_metadata, unsigned int i)
{
	struct vmm_vcpu *vcpu;
	struct vmm_regs regs;
	struct vmm_vm *vm;
	uint16_t v;

	vm = vmm_vm_create();
	ASSERT_NE(NULL, vm) TH_LOG("cycle %u: VM: %s", i, strerror(errno));
	ASSERT_NE(NULL, vmm_vm_add_memory(vm, 0, 0, SMALL_RAM, 0));
	ASSERT_EQ(0, vmm_load_code(vm, GUEST_CODE, tiny_guest_start,
				   tiny_guest_end));
	vcpu = vmm_vcpu_create(vm, 0);
	ASSERT_NE(NULL, vcpu) TH_LOG("cycle %u: vCPU: %s", i,
				     strerror(errno));
	ASSERT_EQ(0, vmm_setup_real_mode(vcpu, 0, GUEST_CODE, 0x8000));
	ASSERT_EQ(0, vmm_get_regs(vcpu, &regs));
	regs.rbx = i;
	ASSERT_EQ(0, vmm_set_regs(vcpu, &regs));
	v = vmm_test_out(_metadata, vcpu, 0x80, 2);
	ASSERT_EQ((uint16_t)(0x1234 + i), v);
	vmm_test_run(_metadata, vcpu, VMM_EXIT_HLT);
	vmm_vcpu_destroy(vcpu);
	vmm_vm_destroy(vm);
}

/*
 * One life of a VM with an irqchip; returns 1 when the PIC/IOAPIC/PIT
 * models are placeholders (no irqchip can be made).
 */
static int one_irqchip_cycle(struct __test_metadata *_metadata, unsigned int i)
{
	struct vmm_vcpu *vcpu, *ap;
	struct vmm_vm *vm;

	vm = vmm_vm_create();
	ASSERT_NE(NULL, vm) TH_LOG("cycle %u: VM: %s", i, strerror(errno));
	if (ioctl(vm->fd, VMM_CREATE_IRQCHIP, 0)) {
		ASSERT_EQ(EOPNOTSUPP, errno);
		vmm_vm_destroy(vm);
		return 1;
	}
	ASSERT_NE(NULL, vmm_vm_add_memory(vm, 0, 0, 0x100000, 0));
	ASSERT_EQ(0, vmm_load_code(vm, GUEST_CODE, timer_guest_start,
				   timer_guest_end));
	vcpu = vmm_vcpu_create(vm, 0);
	ASSERT_NE(NULL, vcpu) TH_LOG("cycle %u: vCPU: %s", i,
				     strerror(errno));
	ap = vmm_vcpu_create(vm, 1);
	ASSERT_NE(NULL, ap);
	ASSERT_EQ(0, vmm_setup_protected32(vcpu, GUEST_SYS, GUEST_CODE,
					   0x8000));
	vmm_test_out(_metadata, vcpu, 0x80, 1);
	/* The VM goes with its timer armed and vCPU 1 never started. */
	vmm_vcpu_destroy(ap);
	vmm_vcpu_destroy(vcpu);
	vmm_vm_destroy(vm);
	return 0;
}

/* A fixture only for the longer timeout: TCG is slow at this. */
FIXTURE(cycles) {
};

FIXTURE_SETUP(cycles)
{
}

FIXTURE_TEARDOWN(cycles)
{
}

TEST_F_TIMEOUT(cycles, create_destroy, 240)
{
	long free_before, free_after;
	int fds_before, fds_after;
	struct vmm_vm *vm;
	unsigned int i;

	/* Only to skip where no VM can be made at all. */
	VMM_TEST_VM(vm);
	vmm_vm_destroy(vm);

	/* Slabs and per-CPU caches settle in the first few. */
	for (i = 0; i < WARMUP; i++)
		one_cycle(_metadata, i);
	fds_before = count_fds();
	free_before = free_kb();
	ASSERT_LT(0, fds_before);
	ASSERT_LT(0, free_before);

	for (i = 0; i < CYCLES; i++)
		one_cycle(_metadata, i);
	/* vCPUs are freed after an RCU grace period. */
	usleep(200000);

	fds_after = count_fds();
	free_after = free_kb();
	TH_LOG("free memory %ld kB before, %ld kB after %d cycles",
	       free_before, free_after, CYCLES);
	ASSERT_EQ(fds_before, fds_after);
	ASSERT_GT(LEAK_LIMIT_KB, free_before - free_after)
		TH_LOG("%ld kB lost over %d cycles", free_before - free_after,
		       CYCLES);
}

TEST_F_TIMEOUT(cycles, irqchip_create_destroy, 240)
{
	long free_before, free_after;
	int fds_before, fds_after;
	struct vmm_vm *vm;
	unsigned int i;

	VMM_TEST_VM(vm);
	vmm_vm_destroy(vm);
	for (i = 0; i < WARMUP; i++) {
		if (one_irqchip_cycle(_metadata, i))
			SKIP(return, "PIC/IOAPIC/PIT models not built yet");
	}
	fds_before = count_fds();
	free_before = free_kb();
	for (i = 0; i < CYCLES; i++)
		one_irqchip_cycle(_metadata, i);
	/* vCPUs and LAPICs are freed after an RCU grace period. */
	usleep(200000);
	fds_after = count_fds();
	free_after = free_kb();
	TH_LOG("free memory %ld kB before, %ld kB after %d cycles",
	       free_before, free_after, CYCLES);
	ASSERT_EQ(fds_before, fds_after);
	ASSERT_GT(LEAK_LIMIT_KB, free_before - free_after)
		TH_LOG("%ld kB lost over %d cycles", free_before - free_after,
		       CYCLES);
}

/* A vCPU fd holds its VM: the VM fd may go first. */
TEST(vcpu_outlives_vm_fd)
{
	struct vmm_test t;

	VMM_TEST_SETUP(&t);
	VMM_TEST_LOAD(&t, tiny_guest);
	ASSERT_EQ(0, vmm_setup_real_mode(t.vcpu, 0, GUEST_CODE, 0x8000));
	ASSERT_EQ(0, close(t.vm->fd));
	ASSERT_EQ(0, close(t.vm->sys_fd));
	t.vm->fd = t.vm->sys_fd = -1;
	ASSERT_EQ(0x1234, vmm_test_out(_metadata, t.vcpu, 0x80, 2));
	vmm_test_run(_metadata, t.vcpu, VMM_EXIT_HLT);
	vmm_test_teardown(&t);
}

/* Every id up to VMM_CAP_MAX_VCPUS-1, each running the guest. */
TEST(all_vcpu_ids)
{
	struct vmm_vcpu **vcpus;
	struct vmm_regs regs;
	struct vmm_test t;
	long max, i;

	VMM_TEST_SETUP(&t);
	VMM_TEST_LOAD(&t, tiny_guest);
	max = vmm_check_cap(t.vm->fd, VMM_CAP_MAX_VCPUS);
	ASSERT_LE(1, max);
	vcpus = calloc(max, sizeof(*vcpus));
	ASSERT_NE(NULL, vcpus);
	vcpus[0] = t.vcpu;
	for (i = 1; i < max; i++) {
		vcpus[i] = vmm_vcpu_create(t.vm, i);
		ASSERT_NE(NULL, vcpus[i]) TH_LOG("vCPU %ld: %s", i,
						 strerror(errno));
	}
	for (i = 0; i < max; i++) {
		ASSERT_EQ(0, vmm_setup_real_mode(vcpus[i], 0, GUEST_CODE,
						 0x8000));
		ASSERT_EQ(0, vmm_get_regs(vcpus[i], &regs));
		regs.rbx = i;
		ASSERT_EQ(0, vmm_set_regs(vcpus[i], &regs));
		ASSERT_EQ(0x1234 + i, vmm_test_out(_metadata, vcpus[i], 0x80,
						   2));
	}
	for (i = 1; i < max; i++)
		vmm_vcpu_destroy(vcpus[i]);
	free(vcpus);
	vmm_test_teardown(&t);
}

TEST_HARNESS_MAIN
