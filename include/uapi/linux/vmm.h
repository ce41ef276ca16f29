/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vmm: the /dev/vmm ioctl ABI.
 *
 * Three levels of file descriptor, as KVM has them:
 *
 *   open("/dev/vmm")           system fd: version, capabilities, CREATE_VM
 *   ioctl(sys, VMM_CREATE_VM)  VM fd: memory slots, CPUID table, vCPUs
 *   ioctl(vm, VMM_CREATE_VCPU) vCPU fd: registers, RUN, an mmap'd vmm_run
 *
 * Every structure here has its size and field offsets pinned by
 * static_assert at the bottom of this file.  Fields named "reserved" or
 * "pad" must be zero on input (EINVAL otherwise), so that a later ABI can
 * give them a meaning without breaking old callers.  VMM_API_VERSION never
 * changes; new features are discovered with VMM_CHECK_CAP.
 *
 * Documentation/api.rst describes each call, its errors and an example.
 */
#ifndef _UAPI_LINUX_VMM_H
#define _UAPI_LINUX_VMM_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define VMM_API_VERSION 1

/* Unregistered in Documentation/userspace-api/ioctl/ioctl-number.rst. */
#define VMM_IO 0xB8

/* ---- system fd (/dev/vmm) ---- */

/* Returns VMM_API_VERSION. */
#define VMM_GET_API_VERSION	_IO(VMM_IO, 0x00)
/* Argument: a VMM_CAP_* number.  Returns its value, 0 when unsupported. */
#define VMM_CHECK_CAP		_IO(VMM_IO, 0x01)
/* Returns the size to mmap from a vCPU fd (the vmm_run page and I/O data). */
#define VMM_GET_RUN_SIZE	_IO(VMM_IO, 0x02)
/* Argument: flags, must be 0.  Returns a VM fd. */
#define VMM_CREATE_VM		_IO(VMM_IO, 0x03)
/* Fills a vmm_cpuid with what the engine can offer a guest. */
#define VMM_GET_SUPPORTED_CPUID	_IOWR(VMM_IO, 0x04, struct vmm_cpuid)

/* Capabilities (VMM_CHECK_CAP).  Also valid on a VM fd. */
#define VMM_CAP_ENGINE		1	/* enum vmm_engine of this module */
#define VMM_CAP_NESTED_PAGING	2	/* 1: NPT/EPT in use for new VMs */
#define VMM_CAP_MAX_VCPUS	3	/* vCPUs per VM */
#define VMM_CAP_NR_MEMSLOTS	4	/* memory slots per VM */
#define VMM_CAP_READONLY_MEM	5	/* VMM_MEM_READONLY works */
#define VMM_CAP_IMMEDIATE_EXIT	6	/* vmm_run.immediate_exit works */
#define VMM_CAP_NRIPS		7	/* 1: CPU reports next RIP (SVM) */
#define VMM_CAP_MMIO_DECODE	8	/* MMIO exits decoded in the kernel */
#define VMM_CAP_PAGING_LEVELS	9	/* nested page-table depth (4 or 5) */
#define VMM_CAP_MAX_CPUID	10	/* entries a CPUID table may hold */
#define VMM_CAP_IRQCHIP		11	/* VMM_CREATE_IRQCHIP works */
#define VMM_CAP_SIGNAL_MSI	12	/* VMM_SIGNAL_MSI works */
#define VMM_CAP_TSC_DEADLINE	13	/* in-kernel LAPIC has TSC-deadline */
#define VMM_CAP_PCI_CF8		14	/* VMM_IRQCHIP_PCI_CF8 works */

enum vmm_engine {
	VMM_ENGINE_NONE = 0,
	VMM_ENGINE_SVM = 1,	/* AMD-V */
	VMM_ENGINE_VMX = 2,	/* Intel VT-x */
	VMM_ENGINE_BT = 3,	/* binary translation */
};

/* ---- VM fd ---- */

#define VMM_SET_MEMORY_SLOT	_IOW(VMM_IO, 0x10, struct vmm_memory_slot)
/* Argument: the vCPU id (0 .. VMM_CAP_MAX_VCPUS-1).  Returns a vCPU fd. */
#define VMM_CREATE_VCPU		_IO(VMM_IO, 0x11)
/* The CPUID table every vCPU of this VM shows its guest. */
#define VMM_SET_CPUID		_IOW(VMM_IO, 0x12, struct vmm_cpuid)
#define VMM_GET_CPUID		_IOWR(VMM_IO, 0x13, struct vmm_cpuid)
/* Raise or lower an interrupt line of the in-kernel interrupt controller. */
#define VMM_IRQ_LINE		_IOW(VMM_IO, 0x14, struct vmm_irq_level)
/*
 * Argument: flags, must be 0.  Creates the in-kernel PC interrupt
 * controllers and timers: a local APIC per vCPU (at 0xfee00000, with its
 * timer and TSC-deadline), an IOAPIC (24 pins at 0xfec00000), two 8259
 * PICs (ports 0x20, 0xa0, ELCR 0x4d0) and an 8254 PIT (ports 0x40-0x43,
 * 0x61).  Must come before the first VMM_CREATE_VCPU (EBUSY after);
 * EEXIST the second time.  From then on HLT waits in the kernel, vCPUs
 * other than 0 wait for INIT/SIPI inside VMM_RUN, and VMM_INTERRUPT is
 * refused (EBUSY): interrupts come through VMM_IRQ_LINE and VMM_SIGNAL_MSI.
 */
#define VMM_CREATE_IRQCHIP	_IO(VMM_IO, 0x15)
/*
 * VMM_CREATE_IRQCHIP flag: the kernel also keeps the PCI configuration
 * address register (dword accesses to port 0xcf8); every VMM_EXIT_IO
 * then carries its value in io.pci_cf8, for the data ports 0xcfc-0xcff.
 */
#define VMM_IRQCHIP_PCI_CF8	(1U << 0)
/*
 * Deliver a message-signalled interrupt (PCI MSI/MSI-X) to the LAPICs.
 * Returns the number of LAPICs that took it; ENXIO without an irqchip.
 */
#define VMM_SIGNAL_MSI		_IOW(VMM_IO, 0x16, struct vmm_msi)

#define VMM_MEM_READONLY	(1u << 0)	/* guest writes become MMIO exits */
#define VMM_MEM_FLAGS		VMM_MEM_READONLY

/*
 * A slot maps guest-physical [guest_phys, guest_phys + size) onto the
 * caller's memory at userspace_addr.  All three must be 4 KiB aligned;
 * slots may not overlap.  size == 0 deletes the slot.  Pages are faulted
 * in on first guest access and follow the host's changes to the mapping
 * (reclaim, migration, munmap).
 */
struct vmm_memory_slot {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys;
	__u64 size;
	__u64 userspace_addr;
	__u64 reserved[4];
};

struct vmm_cpuid_entry {
	__u32 function;
	__u32 index;
	__u32 flags;
	__u32 eax;
	__u32 ebx;
	__u32 ecx;
	__u32 edx;
	__u32 reserved;
};

/* vmm_cpuid_entry.flags: ECX (index) selects among entries of this leaf. */
#define VMM_CPUID_FLAG_INDEXED	(1u << 0)

/*
 * nent is in/out: the number of entries the buffer holds, then the number
 * filled.  E2BIG (with nent set to the number needed) when it is too small.
 * A leaf that is not in the table reads as zeros, as on hardware past the
 * maximum leaf.
 */
struct vmm_cpuid {
	__u32 nent;
	__u32 reserved;
	struct vmm_cpuid_entry entries[];
};

/*
 * VMM_IRQ_LINE: irq is a GSI.  GSIs 0-15 reach the PICs and the IOAPIC
 * (GSI 0 on IOAPIC pin 2, as the MADT's override says), 16-23 the IOAPIC
 * only.  level is 1 (asserted) or 0.
 */
struct vmm_irq_level {
	__u32 irq;
	__u32 level;
	__u64 reserved;
};

/* VMM_SIGNAL_MSI: the address and data a device writes (PCI MSI layout). */
struct vmm_msi {
	__u32 address_lo;
	__u32 address_hi;
	__u32 data;
	__u32 flags;		/* must be 0 */
	__u64 reserved;
};

/* ---- vCPU fd ---- */

/* Enter the guest; returns 0 with vmm_run.exit_reason set, or -errno. */
#define VMM_RUN			_IO(VMM_IO, 0x20)
#define VMM_GET_REGS		_IOR(VMM_IO, 0x21, struct vmm_regs)
#define VMM_SET_REGS		_IOW(VMM_IO, 0x22, struct vmm_regs)
#define VMM_GET_SREGS		_IOR(VMM_IO, 0x23, struct vmm_sregs)
#define VMM_SET_SREGS		_IOW(VMM_IO, 0x24, struct vmm_sregs)
#define VMM_GET_MSRS		_IOWR(VMM_IO, 0x25, struct vmm_msrs)
#define VMM_SET_MSRS		_IOW(VMM_IO, 0x26, struct vmm_msrs)
#define VMM_GET_FPU		_IOR(VMM_IO, 0x27, struct vmm_xsave)
#define VMM_SET_FPU		_IOW(VMM_IO, 0x28, struct vmm_xsave)
/* Queue an external interrupt; delivered when the guest can take it. */
#define VMM_INTERRUPT		_IOW(VMM_IO, 0x29, struct vmm_interrupt)
/* Queue an NMI. */
#define VMM_NMI			_IO(VMM_IO, 0x2a)
/* The vCPU's exits since its creation, by kind. */
#define VMM_GET_STATS		_IOR(VMM_IO, 0x2b, struct vmm_stats)

/*
 * Kinds of exit from the guest to the kernel, as VMM_GET_STATS counts
 * them (whether or not userspace saw the exit).  New kinds take the next
 * index; vmm_stats.nr says how many this kernel fills.
 */
enum vmm_stat {
	VMM_STAT_IO = 0,	/* port I/O */
	VMM_STAT_NPF,		/* nested page fault: MMIO, RAM faulted in */
	VMM_STAT_MSR,		/* RDMSR/WRMSR */
	VMM_STAT_CPUID,
	VMM_STAT_HLT,
	VMM_STAT_INTR,		/* a host interrupt, NMI or SMI */
	VMM_STAT_VINTR,		/* the guest's interrupt window opened */
	VMM_STAT_CR,		/* a control register access */
	VMM_STAT_EXCEPTION,	/* an intercepted guest exception */
	VMM_STAT_OTHER,
	VMM_STAT_KINDS,		/* how many kinds this header knows */
};

#define VMM_MAX_STATS	16

struct vmm_stats {
	__u32 nr;		/* kinds filled: VMM_STAT_KINDS of the kernel */
	__u32 reserved;
	__u64 exits;		/* every exit: the sum of count[] */
	__u64 count[VMM_MAX_STATS];	/* by enum vmm_stat */
};

struct vmm_regs {
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags;
};

/* A segment register as the CPU caches it (the hidden part included). */
struct vmm_segment {
	__u64 base;
	__u32 limit;
	__u16 selector;
	__u8 type;	/* descriptor type, 4 bits */
	__u8 present, dpl, db, s, l, g, avl;
	__u8 unusable;
	__u8 pad;
};

struct vmm_dtable {
	__u64 base;
	__u16 limit;
	__u16 pad[3];
};

struct vmm_sregs {
	struct vmm_segment cs, ds, es, fs, gs, ss;
	struct vmm_segment tr, ldt;
	struct vmm_dtable gdt, idt;
	__u64 cr0, cr2, cr3, cr4, cr8;
	__u64 efer;
	__u64 apic_base;
	__u64 reserved[4];
};

struct vmm_msr_entry {
	__u32 index;
	__u32 reserved;
	__u64 data;
};

/*
 * Returns the number of entries processed; fewer than nmsrs means the
 * entry at that position names an MSR the engine does not handle.
 */
struct vmm_msrs {
	__u32 nmsrs;
	__u32 pad;
	struct vmm_msr_entry entries[];
};

#define VMM_MAX_MSR_ENTRIES	256

/* The guest's x87/SSE/AVX state in the XSAVE layout (standard format). */
struct vmm_xsave {
	__u32 region[1024];
};

struct vmm_interrupt {
	__u32 vector;
	__u32 reserved;
};

/*
 * Why VMM_RUN returned.  The loop stays in the kernel until one of these
 * needs userspace.
 */
enum vmm_exit_reason {
	VMM_EXIT_NONE = 0,
	VMM_EXIT_IO = 1,		/* port I/O: run->io */
	VMM_EXIT_MMIO = 2,		/* access outside RAM slots: run->mmio */
	VMM_EXIT_HLT = 3,		/* guest halted with nothing to wake it */
	VMM_EXIT_SHUTDOWN = 4,		/* triple fault */
	VMM_EXIT_FAIL_ENTRY = 5,	/* invalid guest state: run->fail_entry */
	VMM_EXIT_INTERNAL_ERROR = 6,	/* run->internal */
	VMM_EXIT_INTR = 7,		/* signal or immediate_exit (-EINTR) */
	VMM_EXIT_IRQ_WINDOW_OPEN = 8,	/* request_interrupt_window satisfied */
};

#define VMM_EXIT_IO_IN		0
#define VMM_EXIT_IO_OUT		1

/* run->internal.suberror */
enum vmm_internal_error {
	VMM_INTERNAL_EMULATION = 1,	/* instruction not decodable for MMIO */
	VMM_INTERNAL_UNHANDLED_EXIT = 2, /* data[0]: the hardware exit code */
	VMM_INTERNAL_DELIVERY = 3,	/* fault while delivering an event */
	VMM_INTERNAL_MEMORY = 4,	/* a RAM slot's host page is gone */
};

struct vmm_run {
	/* in */
	__u8 request_interrupt_window;
	__u8 immediate_exit;
	__u8 pad1[6];

	/* out */
	__u32 exit_reason;
	__u8 ready_for_interrupt_injection;	/* IF=1 and no shadow */
	__u8 if_flag;
	__u8 pad2[2];
	__u64 exit_count;			/* exits taken by this vCPU */

	union {
		/*
		 * VMM_EXIT_IO: count items of size bytes live at
		 * (char *)run + data_offset.  For IN, userspace fills them
		 * before the next VMM_RUN; for OUT they hold what the guest
		 * wrote.  String instructions arrive as one exit.
		 */
		struct {
			__u8 direction;
			__u8 size;		/* 1, 2 or 4 */
			__u16 port;
			__u32 count;
			__u64 data_offset;
			/* With VMM_IRQCHIP_PCI_CF8: port 0xcf8's dword. */
			__u32 pci_cf8;
			__u32 io_pad;
		} io;
		/*
		 * VMM_EXIT_MMIO: the decoded access.  For a read, userspace
		 * fills data[0..len) before the next VMM_RUN, which completes
		 * the instruction.
		 */
		struct {
			__u64 phys_addr;
			__u8 data[8];
			__u32 len;
			__u8 is_write;
			__u8 pad[3];
		} mmio;
		/* VMM_EXIT_FAIL_ENTRY: the engine's own exit code. */
		struct {
			__u64 hardware_entry_failure_reason;
			__u32 cpu;
			__u32 pad;
		} fail_entry;
		/*
		 * VMM_EXIT_SHUTDOWN: the state at the triple fault, as the
		 * CPU left it at the shutdown intercept; the vCPU itself is
		 * in its RESET state again.  The AMD APM calls that state
		 * undefined, so take it as the best account there is (QEMU
		 * and the CPUs we know save the state of the fault).
		 */
		struct {
			struct vmm_regs regs;
			__u64 cr0, cr2, cr3, cr4, efer;
			__u64 cs_base;
			__u16 cs, ss;
			__u8 cs_l, cs_db;
			__u8 pad[2];
		} shutdown;
		/* VMM_EXIT_INTERNAL_ERROR */
		struct {
			__u32 suberror;
			__u32 ndata;
			__u64 data[16];
		} internal;
		char padding[256];
	};
};

/* I/O data for VMM_EXIT_IO lives in the same mapping, after vmm_run. */
#define VMM_RUN_IO_DATA_OFFSET	1024
#define VMM_RUN_IO_DATA_SIZE	(4096 - VMM_RUN_IO_DATA_OFFSET)

#ifdef __KERNEL__
#include <linux/build_bug.h>
#define VMM_UAPI_ASSERT(e) static_assert(e, #e)
#else
#include <stddef.h>
#include <assert.h>
#define VMM_UAPI_ASSERT(e) static_assert(e, #e)
#endif

VMM_UAPI_ASSERT(sizeof(struct vmm_memory_slot) == 64);
VMM_UAPI_ASSERT(sizeof(struct vmm_stats) == 144);
VMM_UAPI_ASSERT(VMM_STAT_KINDS <= VMM_MAX_STATS);
VMM_UAPI_ASSERT(offsetof(struct vmm_memory_slot, guest_phys) == 8);
VMM_UAPI_ASSERT(offsetof(struct vmm_memory_slot, size) == 16);
VMM_UAPI_ASSERT(offsetof(struct vmm_memory_slot, userspace_addr) == 24);
VMM_UAPI_ASSERT(offsetof(struct vmm_memory_slot, reserved) == 32);
VMM_UAPI_ASSERT(sizeof(struct vmm_cpuid_entry) == 32);
VMM_UAPI_ASSERT(offsetof(struct vmm_cpuid_entry, eax) == 12);
VMM_UAPI_ASSERT(sizeof(struct vmm_cpuid) == 8);
VMM_UAPI_ASSERT(sizeof(struct vmm_irq_level) == 16);
VMM_UAPI_ASSERT(sizeof(struct vmm_msi) == 24);
VMM_UAPI_ASSERT(sizeof(struct vmm_regs) == 144);
VMM_UAPI_ASSERT(offsetof(struct vmm_regs, rip) == 128);
VMM_UAPI_ASSERT(sizeof(struct vmm_segment) == 24);
VMM_UAPI_ASSERT(offsetof(struct vmm_segment, type) == 14);
VMM_UAPI_ASSERT(offsetof(struct vmm_segment, unusable) == 22);
VMM_UAPI_ASSERT(sizeof(struct vmm_dtable) == 16);
VMM_UAPI_ASSERT(sizeof(struct vmm_sregs) == 312);
VMM_UAPI_ASSERT(offsetof(struct vmm_sregs, tr) == 144);
VMM_UAPI_ASSERT(offsetof(struct vmm_sregs, gdt) == 192);
VMM_UAPI_ASSERT(offsetof(struct vmm_sregs, cr0) == 224);
VMM_UAPI_ASSERT(offsetof(struct vmm_sregs, efer) == 264);
VMM_UAPI_ASSERT(offsetof(struct vmm_sregs, reserved) == 280);
VMM_UAPI_ASSERT(sizeof(struct vmm_msr_entry) == 16);
VMM_UAPI_ASSERT(sizeof(struct vmm_msrs) == 8);
VMM_UAPI_ASSERT(sizeof(struct vmm_xsave) == 4096);
VMM_UAPI_ASSERT(sizeof(struct vmm_interrupt) == 8);
VMM_UAPI_ASSERT(offsetof(struct vmm_run, exit_reason) == 8);
VMM_UAPI_ASSERT(offsetof(struct vmm_run, ready_for_interrupt_injection) == 12);
VMM_UAPI_ASSERT(offsetof(struct vmm_run, exit_count) == 16);
VMM_UAPI_ASSERT(offsetof(struct vmm_run, io) == 24);
VMM_UAPI_ASSERT(offsetof(struct vmm_run, mmio.len) == 40);
VMM_UAPI_ASSERT(offsetof(struct vmm_run, shutdown.cr0) == 168);
VMM_UAPI_ASSERT(offsetof(struct vmm_run, shutdown.cs) == 216);
VMM_UAPI_ASSERT(sizeof(struct vmm_run) == 280);
VMM_UAPI_ASSERT(sizeof(struct vmm_run) <= VMM_RUN_IO_DATA_OFFSET);

#endif /* _UAPI_LINUX_VMM_H */
