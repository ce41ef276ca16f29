/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm internals shared by the frontend (main.c, vm.c, vcpu.c), the
 * engines (svm.c, later vmx.c and bt/) and the MMU (mmu/).
 */
#ifndef _VMM_H
#define _VMM_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/refcount.h>
#include <linux/mmu_notifier.h>
#include <linux/wait.h>
#include <linux/vmm.h>
#include <asm/fpu/api.h>

#include "compat.h"
#include "x86.h"
#include "mmu/tdp_pt.h"

#define VMM_MAX_VCPUS		64
#define VMM_MAX_SLOTS		32
#define VMM_MAX_CPUID		256
#define VMM_MAX_GPA		(1ULL << 48)	/* NPT/EPT limit we support */

/* General-purpose registers in hardware encoding order. */
enum vmm_reg {
	VMM_RAX, VMM_RCX, VMM_RDX, VMM_RBX, VMM_RSP, VMM_RBP, VMM_RSI, VMM_RDI,
	VMM_R8, VMM_R9, VMM_R10, VMM_R11, VMM_R12, VMM_R13, VMM_R14, VMM_R15,
	VMM_NR_GPRS
};

struct vmm_slot {
	u64 gfn;		/* first guest frame */
	u64 npages;
	unsigned long hva;	/* userspace address of gfn */
	u32 flags;		/* VMM_MEM_* */
	bool used;
};

struct vmm_vcpu;
struct vmm_vm;
struct vmm_cpuid_table;

/* Per-VM nested page table (mmu/tdp.c). */
struct vmm_tdp {
	spinlock_t lock;	/* tables and the notifier state below */
	u64 *root;		/* top-level table */
	int levels;		/* NPT: 4 or 5, the host's depth; EPT: 4 */
	struct vmm_tdp_fmt fmt;	/* its entries' bits: NPT or EPT */
	unsigned long invalidate_seq;
	int invalidate_in_progress;
	unsigned long nr_tables;
};

/* Per-vCPU cache of zeroed pages, filled where sleeping is allowed. */
#define VMM_PAGE_CACHE_SIZE	8
struct vmm_page_cache {
	int nr;
	void *pages[VMM_PAGE_CACHE_SIZE];
};

struct vmm_vm {
	refcount_t refcount;	/* VM fd + each vCPU */
	struct mm_struct *mm;	/* creator; other mms get EIO */
	struct mutex lock;	/* slots, vCPU creation, CPUID, irqchip */
	struct vmm_slot slots[VMM_MAX_SLOTS];
	struct vmm_vcpu __rcu *vcpus[VMM_MAX_VCPUS];
	int created_vcpus;	/* ever made: VMM_CREATE_IRQCHIP is too late */
	/* In-kernel PIC/IOAPIC/PIT/LAPICs; set once, before any vCPU. */
	struct vmm_irqchip *irqchip;
	atomic_t lowest_rr;	/* lowest-priority delivery's turn */
	u64 tsc_base;		/* host TSC at which guest TSCs read 0 */
	u64 wall_base_ns;	/* realtime then: kvmclock's wall clock */
	struct vmm_cpuid_table __rcu *cpuid;	/* read in the exit path */
	struct mmu_notifier mmu_notifier;
	struct vmm_tdp tdp;
	void *engine;		/* engine's per-VM data */
};

enum vmm_vcpu_mode {
	VMM_OUTSIDE_GUEST,
	VMM_IN_GUEST,
};

/* vcpu->requests bits, set by other threads, consumed before entry. */
#define VMM_REQ_TLB_FLUSH	0
#define VMM_REQ_EVENT		1	/* irqchip: look at the LAPIC again */

/* What a vCPU with an irqchip does (vcpu->mp_state). */
enum vmm_mp_state {
	VMM_MP_RUNNABLE,
	VMM_MP_HALTED,		/* HLT: waits for an interrupt it can take */
	VMM_MP_WAIT_SIPI,	/* an AP after INIT: waits for STARTUP */
};

struct vmm_vcpu {
	struct vmm_vm *vm;
	int id;
	struct mutex lock;	/* one ioctl at a time */
	struct vmm_run *run;	/* the mmap'd page */
	int cpu;		/* CPU it last ran on, -1 before */
	int mode;		/* enum vmm_vcpu_mode, read remotely */
	unsigned long requests;
	struct fpu_guest fpu;
	u64 gpr[VMM_NR_GPRS];
	struct vmm_x86 x86;	/* x86.c's: MSRs outside the VMCB/VMCS */
	struct vmm_page_cache page_cache;

	/* Pending events, delivered by the engine when the guest can take them. */
	bool irq_pending;
	u8 irq_vector;
	bool nmi_pending;

	/* With an irqchip: the LAPIC, the wait in HLT and for SIPI. */
	struct vmm_lapic *lapic;
	int mp_state;		/* enum vmm_mp_state, the vCPU thread's */
	bool halt_if;		/* RFLAGS.IF when it halted */
	wait_queue_head_t wq;	/* the vCPU waits here; kicks wake it */

	u64 stats[VMM_MAX_STATS];	/* exits by enum vmm_stat */

	/* An MMIO read waiting for userspace to supply its data. */
	bool mmio_read_pending;
	bool io_in_pending;

	void *engine;		/* engine's per-vCPU data */
	struct rcu_head rcu;	/* kicks read vm->vcpus[] under RCU */
};

/*
 * One table per execution engine (svm.c now; vmx.c and bt/ later).  The
 * frontend never touches hardware; it calls through here.
 */
struct vmm_engine_ops {
	const char *name;
	enum vmm_engine id;
	int (*hardware_setup)(void);	/* module load: probe, allocate */
	void (*hardware_unsetup)(void);
	int (*hardware_enable)(void);	/* first VM: turn SVM/VMX on */
	void (*hardware_disable)(void);	/* last VM gone */
	int (*vm_init)(struct vmm_vm *vm);
	void (*vm_destroy)(struct vmm_vm *vm);
	int (*vcpu_create)(struct vmm_vcpu *vcpu);
	void (*vcpu_free)(struct vmm_vcpu *vcpu);
	/* Run until userspace is needed: 0 with run->exit_reason, or -errno. */
	int (*vcpu_run)(struct vmm_vcpu *vcpu);
	void (*get_regs)(struct vmm_vcpu *vcpu, struct vmm_regs *regs);
	int (*set_regs)(struct vmm_vcpu *vcpu, const struct vmm_regs *regs);
	void (*get_sregs)(struct vmm_vcpu *vcpu, struct vmm_sregs *sregs);
	int (*set_sregs)(struct vmm_vcpu *vcpu, const struct vmm_sregs *sregs);
	int (*get_msr)(struct vmm_vcpu *vcpu, u32 index, u64 *data);
	int (*set_msr)(struct vmm_vcpu *vcpu, u32 index, u64 data, bool host);
	/*
	 * irqchip: @sipi_vector -1 puts the vCPU in the state after INIT;
	 * 0-255 starts it in real mode at vector << 12 (STARTUP).
	 */
	void (*vcpu_init_event)(struct vmm_vcpu *vcpu, int sipi_vector);
};

/* What the chosen engine found the CPU can do; set by hardware_setup. */
struct vmm_caps {
	bool nested_paging;	/* NPT/EPT in use */
	bool nrips;		/* SVM reports the next RIP */
	/*
	 * VMX: the nested table is in EPT format (4 levels, R/W/X bits 0-2,
	 * WB memory type in leaves), set by vmx.c's hardware_setup before
	 * any VM; mmu/tdp.c builds its entries accordingly.
	 */
	bool ept;
	bool ept_ad;		/* EPT accessed/dirty flags (bits 8/9) on */
	bool vpid;
	bool preemption_timer;
};

extern struct vmm_caps vmm_caps;
extern const struct vmm_engine_ops *vmm_engine;
extern const struct vmm_engine_ops vmm_svm_ops;
extern const struct vmm_engine_ops vmm_vmx_ops;

/* svm_entry.S */
void vmm_svm_vmrun(u64 vmcb_pa, u64 *gpr, u64 host_vmcb_pa);
extern bool vmm_param_npt;

/* vmx_entry.S: 0 after a VM exit, 1 if the entry failed (VMfail). */
int vmm_vmx_run(u64 *gpr, bool launched);
void vmm_vmx_vmexit(void);	/* HOST_RIP, not to be called */

/* main.c */
int vmm_hw_get(void);
void vmm_hw_put(void);
long vmm_check_cap(unsigned long cap);

/* vm.c */
long vmm_dev_create_vm(unsigned long flags);
void vmm_vm_put(struct vmm_vm *vm);
const struct vmm_slot *vmm_slot_find(struct vmm_vm *vm, u64 gfn);
bool vmm_cpuid_lookup(struct vmm_vm *vm, u32 fn, u32 index,
		      struct vmm_cpuid_entry *out);
int vmm_supported_cpuid(struct vmm_cpuid __user *ucpuid);

/* vcpu.c */
long vmm_vcpu_create(struct vmm_vm *vm, unsigned long id);
void vmm_vcpu_kick_all(struct vmm_vm *vm, int req);
int vmm_read_guest(struct vmm_vcpu *vcpu, u64 gpa, void *buf,
		   unsigned int len);
int vmm_write_guest(struct vmm_vcpu *vcpu, u64 gpa, const void *buf,
		    unsigned int len);

/* mmu/tdp.c: nested page tables following the VM's memory slots */
int vmm_tdp_levels(void);
int vmm_tdp_init(struct vmm_vm *vm);
u64 vmm_tdp_eptp(struct vmm_vm *vm);
void vmm_tdp_destroy(struct vmm_vm *vm);
int vmm_tdp_topup(struct vmm_vcpu *vcpu);
/* Result of a nested page fault. */
enum vmm_tdp_fault {
	VMM_TDP_RETRY,		/* mapped (or raced): re-enter the guest */
	VMM_TDP_MMIO,		/* no RAM here: emulate as MMIO */
	VMM_TDP_MMIO_WRITE_RO,	/* write to a read-only slot */
};
int vmm_tdp_fault(struct vmm_vcpu *vcpu, u64 gpa, bool write);
void vmm_tdp_zap_slot(struct vmm_vm *vm, const struct vmm_slot *slot);
int vmm_mmu_notifier_register(struct vmm_vm *vm);

/* Exits that return to userspace. */
static inline int vmm_exit_internal(struct vmm_vcpu *vcpu, u32 suberror,
				    u64 data0, u64 data1)
{
	struct vmm_run *run = vcpu->run;

	run->exit_reason = VMM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 2;
	run->internal.data[0] = data0;
	run->internal.data[1] = data1;
	return 0;
}

#endif /* _VMM_H */
