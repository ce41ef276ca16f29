/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared pieces of the /dev/vmm selftests: the guest memory layout every
 * test uses, VM creation that skips cleanly where no VM can exist, and
 * checks of the exit a VMM_RUN produced that say what happened instead
 * when it was something else.
 *
 * Helpers take the harness's _metadata so that their ASSERT_*s end the
 * test (the harness longjmps out of them); they must only be called from
 * the test's own thread.  An ASSERT_* is two statements (the check and a
 * loop for TH_LOG): under if/for/while it needs braces.
 */
#ifndef _VMM_TEST_H
#define _VMM_TEST_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

/*
 * The harness's macros compare values of whatever types the caller gives
 * and leave parameters unused: -Wextra would bury real warnings in those.
 */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "kselftest_harness.h"
#include "libvmm.h"

/*
 * Guest-physical layout of slot 0 (RAM from 0), the same in every test:
 * code at GUEST_CODE, data the guest and the test exchange in the
 * mailbox, the protected/long-mode system area (GDT, IDT, page tables),
 * stacks growing down from their tops.
 */
#define GUEST_RAM_SIZE		0x200000ULL	/* 2 MiB */
#define GUEST_IVT		0x0000
#define GUEST_CODE		0x1000		/* up to 0x9000 */
#define GUEST_MAILBOX		0x9000		/* 4 KiB */
#define GUEST_STACK16		0xf000		/* real mode SS:SP = 0:f000 */
#define GUEST_SYS		0x10000		/* VMM_SYS_AREA_SIZE */
#define GUEST_STACK		0x80000		/* 32/64-bit stacks */
#define GUEST_DATA		0x100000	/* free RAM to 2 MiB */
#define GUEST_MMIO		0x10000000ULL	/* no slot: MMIO */

#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)

struct vmm_test {
	struct vmm_vm *vm;
	struct vmm_vcpu *vcpu;
	uint8_t *mem;		/* host address of guest-physical 0 */
};

/*
 * __vmm_test_vm - a VM with GUEST_RAM_SIZE of RAM at 0, or NULL with
 * *skip set to the reason no VM can exist on this machine.  Any other
 * failure ends the test.
 */
static inline struct vmm_vm *__vmm_test_vm(struct __test_metadata *_metadata,
					   const char **skip)
{
	struct vmm_vm *vm;
	int sys;

	sys = vmm_open();
	if (sys < 0 && errno == ENOENT) {
		*skip = VMM_DEV_PATH " is missing: vmm.ko is not loaded";
		return NULL;
	}
	ASSERT_LE(0, sys) TH_LOG("open %s: %s", VMM_DEV_PATH,
				 strerror(errno));
	vm = vmm_vm_create();
	if (!vm && errno == EOPNOTSUPP &&
	    vmm_check_cap(sys, VMM_CAP_NESTED_PAGING) == 0) {
		close(sys);
		*skip = "shadow paging not yet: module loaded with npt=0";
		return NULL;
	}
	close(sys);
	ASSERT_NE(NULL, vm) TH_LOG("VM creation: %s", strerror(errno));
	return vm;
}

/*
 * Fills @t with a VM, its RAM and vCPU 0, or skips the test.  A macro,
 * because SKIP() must return from the test function itself.
 */
#define VMM_TEST_SETUP(t) do {						\
	const char *__skip = NULL;					\
									\
	memset((t), 0, sizeof(*(t)));					\
	(t)->vm = __vmm_test_vm(_metadata, &__skip);			\
	if (!(t)->vm)							\
		SKIP(return, "%s", __skip);				\
	(t)->mem = vmm_vm_add_memory((t)->vm, 0, 0, GUEST_RAM_SIZE, 0); \
	ASSERT_NE(NULL, (t)->mem) TH_LOG("slot 0: %s", strerror(errno)); \
	(t)->vcpu = vmm_vcpu_create((t)->vm, 0);			\
	ASSERT_NE(NULL, (t)->vcpu) TH_LOG("vCPU 0: %s", strerror(errno)); \
} while (0)

/* Just the VM (no RAM, no vCPU), or skips the test. */
#define VMM_TEST_VM(vm) do {						\
	const char *__skip = NULL;					\
									\
	(vm) = __vmm_test_vm(_metadata, &__skip);			\
	if (!(vm))							\
		SKIP(return, "%s", __skip);				\
} while (0)

/*
 * Skips a test that needs something the emulator under this test machine
 * gets so wrong that the whole machine stops (Bochs 2.7 with SVM: an SVM
 * guest's triple fault never becomes the SHUTDOWN intercept,
 * "svm-shutdown").  scripts/testbed/run-bochs.sh lists such words in
 * vmm_emulator_lacks= on the kernel command line; /init passes it on as
 * environment.  On real hardware it is never set.
 */
#define VMM_TEST_NEEDS(what) do {					\
	const char *__lacks = getenv("vmm_emulator_lacks");		\
									\
	if (__lacks && strstr(__lacks, (what)))				\
		SKIP(return, "the emulator under this test machine lacks %s (scripts/testbed/README.md)", \
		     (what));						\
} while (0)

static inline void vmm_test_teardown(struct vmm_test *t)
{
	vmm_vcpu_destroy(t->vcpu);
	vmm_vm_destroy(t->vm);
	memset(t, 0, sizeof(*t));
}

/* A line saying what an exit was, for failure messages. */
static inline const char *vmm_test_exit_str(struct vmm_vcpu *vcpu)
{
	static char buf[200];
	const struct vmm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case VMM_EXIT_IO:
		snprintf(buf, sizeof(buf), "IO %s port 0x%x size %u count %u",
			 run->io.direction == VMM_EXIT_IO_OUT ? "out" : "in",
			 run->io.port, run->io.size, run->io.count);
		break;
	case VMM_EXIT_MMIO:
		snprintf(buf, sizeof(buf), "MMIO %s 0x%llx len %u",
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr,
			 run->mmio.len);
		break;
	case VMM_EXIT_INTERNAL_ERROR:
		snprintf(buf, sizeof(buf),
			 "INTERNAL_ERROR suberror %u data 0x%llx 0x%llx",
			 run->internal.suberror,
			 (unsigned long long)run->internal.data[0],
			 (unsigned long long)run->internal.data[1]);
		break;
	case VMM_EXIT_FAIL_ENTRY:
		snprintf(buf, sizeof(buf), "FAIL_ENTRY reason 0x%llx",
			 (unsigned long long)
			 run->fail_entry.hardware_entry_failure_reason);
		break;
	case VMM_EXIT_SHUTDOWN:
		/* Where the triple fault came from, not the RESET state. */
		snprintf(buf, sizeof(buf),
			 "SHUTDOWN at cs 0x%x rip 0x%llx rsp 0x%llx rflags 0x%llx cr0 0x%llx cr2 0x%llx",
			 run->shutdown.cs,
			 (unsigned long long)run->shutdown.regs.rip,
			 (unsigned long long)run->shutdown.regs.rsp,
			 (unsigned long long)run->shutdown.regs.rflags,
			 (unsigned long long)run->shutdown.cr0,
			 (unsigned long long)run->shutdown.cr2);
		break;
	default:
		snprintf(buf, sizeof(buf), "%s (%u)",
			 vmm_exit_name(run->exit_reason), run->exit_reason);
	}
	return buf;
}

/* VMM_RUN must return 0 with exit @reason. */
static inline void vmm_test_run(struct __test_metadata *_metadata,
				struct vmm_vcpu *vcpu, uint32_t reason)
{
	struct vmm_regs regs;
	int ret = vmm_vcpu_run(vcpu);

	ASSERT_EQ(0, ret) TH_LOG("VMM_RUN: %s", strerror(errno));
	if (vcpu->run->exit_reason != reason) {
		memset(&regs, 0, sizeof(regs));
		vmm_get_regs(vcpu, &regs);
		TH_LOG("expected exit %s, got %s at rip 0x%llx",
		       vmm_exit_name(reason), vmm_test_exit_str(vcpu),
		       (unsigned long long)regs.rip);
	}
	ASSERT_EQ(reason, vcpu->run->exit_reason);
}

/*
 * Runs to a port I/O exit of one item and checks it; returns the value
 * for an OUT (zero-extended).
 */
static inline uint32_t vmm_test_io(struct __test_metadata *_metadata,
				   struct vmm_vcpu *vcpu, uint8_t dir,
				   uint16_t port, uint8_t size)
{
	const struct vmm_run *run = vcpu->run;
	uint32_t v = 0;

	vmm_test_run(_metadata, vcpu, VMM_EXIT_IO);
	if (run->io.direction != dir || run->io.port != port ||
	    run->io.size != size || run->io.count != 1)
		TH_LOG("expected IO %s port 0x%x size %u, got %s",
		       dir == VMM_EXIT_IO_OUT ? "out" : "in", port, size,
		       vmm_test_exit_str(vcpu));
	ASSERT_EQ(dir, run->io.direction);
	ASSERT_EQ(port, run->io.port);
	ASSERT_EQ(size, run->io.size);
	ASSERT_EQ(1, run->io.count);
	ASSERT_GE(run->io.data_offset, sizeof(struct vmm_run));
	ASSERT_LE(run->io.data_offset + size, vcpu->vm->run_size);
	if (dir == VMM_EXIT_IO_OUT)
		memcpy(&v, vmm_io_data(vcpu), size);
	return v;
}

/* Runs to an OUT of @size bytes to @port; returns the value. */
static inline uint32_t vmm_test_out(struct __test_metadata *_metadata,
				    struct vmm_vcpu *vcpu, uint16_t port,
				    uint8_t size)
{
	return vmm_test_io(_metadata, vcpu, VMM_EXIT_IO_OUT, port, size);
}

/* Runs to an IN of @size bytes from @port and answers it with @value. */
static inline void vmm_test_in(struct __test_metadata *_metadata,
			       struct vmm_vcpu *vcpu, uint16_t port,
			       uint8_t size, uint32_t value)
{
	vmm_test_io(_metadata, vcpu, VMM_EXIT_IO_IN, port, size);
	memcpy(vmm_io_data(vcpu), &value, size);
}

/* Loads guest code at GUEST_CODE. */
#define VMM_TEST_LOAD(t, name) \
	ASSERT_EQ(0, vmm_load_code((t)->vm, GUEST_CODE, name##_start, \
				   name##_end))

/* Guest-physical address of a label in code loaded at GUEST_CODE. */
#define GUEST_LABEL(label, name) \
	VMM_GUEST_ADDR(label, name##_start, GUEST_CODE)

#endif /* _VMM_TEST_H */
