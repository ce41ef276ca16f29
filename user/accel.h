/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The accelerators vmm-run can drive: /dev/vmm (accel_vmm.c) and /dev/kvm
 * (accel_kvm.c), behind one table of operations, so that the same
 * devices and the same launcher run on both and a benchmark of one
 * against the other compares the kernel modules alone.
 *
 * Registers travel in vmm's own format (struct vmm_regs, vmm_sregs);
 * accel_kvm.c translates.  Every operation returns 0 (or a pointer) on
 * success and -1 (or NULL) with errno set, as the ioctls under it do;
 * vm_create prints its own line saying what is missing.
 */
#ifndef VMM_USER_ACCEL_H
#define VMM_USER_ACCEL_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/vmm.h>

struct accel_vm;
struct accel_vcpu;

enum accel_exit_kind {
	ACCEL_EXIT_IO,		/* port I/O: exit.io */
	ACCEL_EXIT_MMIO,	/* access outside RAM: exit.mmio */
	ACCEL_EXIT_HLT,		/* halted with nothing to wake it */
	ACCEL_EXIT_SHUTDOWN,	/* triple fault */
	ACCEL_EXIT_FAIL_ENTRY,	/* exit.hw_reason: invalid guest state */
	ACCEL_EXIT_INTERNAL,	/* exit.internal */
	ACCEL_EXIT_INTR,	/* a signal or immediate_exit: look at stop */
	ACCEL_EXIT_POWEROFF,	/* the accelerator saw a power-off */
	ACCEL_EXIT_RESET,	/* the accelerator saw a reset */
	ACCEL_EXIT_UNKNOWN,	/* exit.hw_reason: the accelerator's code */
};

/* What one run of a vCPU ended with, the same for every accelerator. */
struct accel_exit {
	enum accel_exit_kind kind;
	union {
		struct {
			bool out;
			uint8_t size;	/* 1, 2 or 4 */
			uint16_t port;
			uint32_t count;	/* items of size bytes at data */
			void *data;	/* IN: fill before the next run */
			/*
			 * The accelerator keeps PCI's 0xcf8 itself: its
			 * value, for the data ports 0xcfc-0xcff.
			 */
			bool has_pci_cf8;
			uint32_t pci_cf8;
		} io;
		struct {
			uint64_t addr;
			uint8_t *data;	/* read: fill len bytes */
			uint32_t len;
			bool write;
		} mmio;
		struct {
			uint32_t suberror;
			uint32_t ndata;
			uint64_t data[4];
		} internal;
		uint64_t hw_reason;
		/*
		 * ACCEL_EXIT_SHUTDOWN: the state at the triple fault when the
		 * accelerator kept it (vmm does; KVM resets the vCPU first).
		 * Only the fields dump_state() prints are filled in sregs.
		 */
		struct {
			bool known;
			struct vmm_regs regs;
			struct vmm_sregs sregs;
		} crash;
	};
};

/* An internal-error exit; both kernels report up to 16 data words. */
static inline void accel_exit_internal(struct accel_exit *exit,
				       uint32_t suberror, uint32_t ndata,
				       const __u64 *data)
{
	uint32_t i;

	exit->kind = ACCEL_EXIT_INTERNAL;
	exit->internal.suberror = suberror;
	if (ndata > 4)
		ndata = 4;
	exit->internal.ndata = ndata;
	for (i = 0; i < ndata; i++)
		exit->internal.data[i] = data[i];
}

struct accel_ops {
	const char *name;
	/* Opens the device, creates a VM; prints one line on failure. */
	struct accel_vm *(*vm_create)(void);
	void (*vm_destroy)(struct accel_vm *vm);
	/* Guest-physical [gpa, gpa + size) is host memory at host. */
	int (*set_memory)(struct accel_vm *vm, uint32_t slot, uint64_t gpa,
			  uint64_t size, void *host);
	/*
	 * The PC's interrupt controllers and timers in the kernel (LAPICs,
	 * IOAPIC, PICs, PIT), GSI 0 wired to IOAPIC pin 2; before vCPUs.
	 */
	int (*create_irqchip)(struct accel_vm *vm);
	int (*irq_line)(struct accel_vm *vm, uint32_t gsi, int level);
	int (*signal_msi)(struct accel_vm *vm, uint64_t addr, uint32_t data);
	/*
	 * vCPU id, its CPUID table already set (what the kernel supports,
	 * its APIC ID where the accelerator takes one per vCPU).
	 */
	struct accel_vcpu *(*vcpu_create)(struct accel_vm *vm, unsigned int id,
					  unsigned int nr_vcpus);
	void (*vcpu_destroy)(struct accel_vcpu *vcpu);
	/* Runs until an exit userspace must handle; fills *exit. */
	int (*run)(struct accel_vcpu *vcpu, struct accel_exit *exit);
	/*
	 * Makes the vCPU's current or next run return ACCEL_EXIT_INTR at
	 * once (immediate_exit); the caller also signals the thread.
	 */
	void (*kick)(struct accel_vcpu *vcpu);
	int (*get_regs)(struct accel_vcpu *vcpu, struct vmm_regs *regs);
	int (*set_regs)(struct accel_vcpu *vcpu, const struct vmm_regs *regs);
	int (*get_sregs)(struct accel_vcpu *vcpu, struct vmm_sregs *sregs);
	int (*set_sregs)(struct accel_vcpu *vcpu,
			 const struct vmm_sregs *sregs);
	/* A short text for an accelerator-specific exit or error code. */
	const char *(*exit_name)(uint64_t hw_reason);
	/* The vCPU's exits in the kernel by kind; NULL if not counted. */
	int (*get_stats)(struct accel_vcpu *vcpu, struct vmm_stats *stats);
};

extern const struct accel_ops accel_vmm_ops;
extern const struct accel_ops accel_kvm_ops;

#endif /* VMM_USER_ACCEL_H */
