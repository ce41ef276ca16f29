// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: the Intel VT-x (VMX) engine — a VMLAUNCH/VMRESUME loop with EPT
 * and unrestricted guest.
 *
 * The loop and its exits mirror svm.c: the same typed exits to userspace,
 * the same emulation (emulate.c), the same in-kernel LAPIC hooks.  What is
 * VMX's own:
 *
 * - A VMCS is "current" on one CPU at a time.  Every access to it (the run
 *   loop, and the register ioctls) first makes it current on this CPU
 *   (vmx_load): when the vCPU thread moved, the VMCS is VMCLEARed on the
 *   CPU it was active on (IPI), then VMPTRLDed here and the host fields
 *   that differ per CPU (TR, GDT, GS base, SYSENTER_ESP) rewritten.  A
 *   preempt notifier does the same when the thread is scheduled in, as an
 *   exit handler may sleep between two VMCS accesses.
 * - A VM exit restores little host state: selectors come back from the
 *   host fields (DS/ES/FS/GS are 0 there, then reloaded if the task had
 *   others), GDTR/IDTR limits come back as 0xffff and TR's as 0x67, and
 *   the SYSCALL MSRs and KERNEL_GS_BASE are not switched at all.  Those
 *   are switched here around each interrupts-off section.
 * - CR0.NE and CR4.VMXE must be set while the guest runs: the guest/host
 *   masks own them and the read shadows show the guest its own values.
 *   CR2 and the debug registers are not in the VMCS: CR2 is loaded before
 *   each entry; the guest's DR0-3/6/7 are kept in software (MOV DR exits).
 * - The FPU is switched eagerly: the guest's state is loaded for the whole
 *   VMM_RUN, as no CR0.TS games are needed on VMX's side.
 */
#define pr_fmt(fmt) "vmm: vmx: " fmt

#include <linux/kernel.h>
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <asm/cpu_entry_area.h>
#include <asm/cpufeature.h>
#include <asm/desc.h>
#include <asm/mmu_context.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>
#include <asm/tsc.h>
#include <asm/vmx.h>

#include "vmm.h"
#include "emulate.h"
#include "irq/irq.h"

/* Local names for MSR bits whose kernel spellings moved between 6.1 and 6.12. */
#define VMX_BASIC_REVISION(b)	((u32)(b) & 0x7fffffff)
#define VMX_BASIC_SIZE(b)	(((b) >> 32) & 0x1fff)
#define VMX_BASIC_TRUE		BIT_ULL(55)
#define VMX_MISC_TIMER_RATE(m)	((m) & 0x1f)	/* TSC bit the timer ticks on */
#define VMX_CAP_EPT_WALK4	BIT_ULL(6)
#define VMX_CAP_EPT_WALK5	BIT_ULL(7)
#define VMX_CAP_EPT_WB		BIT_ULL(14)
#define VMX_CAP_INVEPT		BIT_ULL(20)
#define VMX_CAP_EPT_AD		BIT_ULL(21)
#define VMX_CAP_INVEPT_SINGLE	BIT_ULL(25)
#define VMX_CAP_INVEPT_ALL	BIT_ULL(26)
#define VMX_CAP_INVVPID		BIT_ULL(32)
#define VMX_CAP_INVVPID_SINGLE	BIT_ULL(41)
#define VMX_CAP_INVVPID_ALL	BIT_ULL(42)

#define VMX_EXIT_FAILED_ENTRY	BIT(31)
/* VMM_EXIT_FAIL_ENTRY's reason for a VMfail: this | VM_INSTRUCTION_ERROR. */
#define VMX_FAIL_VMFAIL		BIT_ULL(32)

#define VMX_NR_VPIDS		(1 << 16)

/* The guest's CR0/CR4 bits whose real value differs from what it sees. */
/*
 * NE is forced on; CD and NW are not loaded by VM entry at all (the
 * host's stay), so the guest's live in the shadow.
 */
#define VMX_CR0_HOST_OWNED	(X86_CR0_NE | X86_CR0_CD | X86_CR0_NW)
#define VMX_CR4_HOST_OWNED	(X86_CR4_VMXE)

/* Interrupt information, the VM-entry and exit fields' common layout. */
#define VMX_INTR_VALID		INTR_INFO_VALID_MASK
#define VMX_INTR_ERRCODE	INTR_INFO_DELIVER_CODE_MASK

struct vmx_vmcs {
	u32 revision;
	u32 abort;
	u8 data[];
};

/* What the CPU gave us at hardware_setup. */
struct vmx_config {
	u32 revision;
	u32 pin, proc, proc2, exit, entry;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u64 ept_vpid_cap;
	u32 preempt_ticks;	/* preemption timer value: a few ms of TSC */
};

static struct vmx_config vmx_conf;

struct vmx_cpu {
	struct vmx_vmcs *vmxon_region;
	struct vmx_vmcs *current_vmcs;	/* the VMCS in this CPU's VMPTR */
	struct list_head loaded;	/* vmx_vcpu.loaded_link, active here */
	bool enabled;			/* VMXON done by us */
};

static DEFINE_PER_CPU(struct vmx_cpu, vmx_cpu);
static void *vmx_io_bitmap_a, *vmx_io_bitmap_b, *vmx_msr_bitmap;
static DEFINE_SPINLOCK(vmx_vpid_lock);
static unsigned long *vmx_vpid_bitmap;

struct vmx_vcpu {
	struct vmm_vcpu *vcpu;
	struct vmx_vmcs *vmcs;
	int loaded_cpu;			/* where the VMCS is active, -1 none */
	struct list_head loaded_link;
	bool launched;			/* VMLAUNCH done since the VMCLEAR */
	bool need_flush;		/* INVEPT/INVVPID before the next entry */
	u16 vpid;
	struct preempt_notifier pn;
	int get_depth;			/* vmx_get nesting: notifier once */

	/* Controls as last written (the dynamic bits change at run time). */
	u32 proc;

	/* Host state cached to skip VMWRITEs that would change nothing. */
	unsigned long host_cr3, host_cr4, host_fs_base;

	/* Guest state the VMCS does not hold. */
	u64 cr2;
	u8 cr8;				/* without an in-kernel LAPIC */
	/*
	 * TR as a busy 16-bit TSS was made a 32-bit one (see vmx_seg_set);
	 * while TR still holds what was set, it reads back as it was set.
	 */
	bool tr_was_16bit;
	u16 tr_sel;
	u64 tr_base;
	/* Userspace set the state: check what VM entry would not. */
	bool check_state;
	u64 dr[4], dr6, dr7;
	u64 star, lstar, cstar, sfmask, kernel_gs_base;

	struct vmm_mmio_pending mmio;	/* read waiting for userspace */
	struct vmm_pio_pending pio;	/* IN waiting for userspace */
};

static inline struct vmx_vcpu *to_vmx(struct vmm_vcpu *vcpu)
{
	return vcpu->engine;
}

/* ---- VMX instructions ---- */

static __always_inline unsigned long vmcs_read(unsigned long field)
{
	unsigned long value = 0;

	asm volatile("vmread %1, %0" : "=rm"(value) : "r"(field) : "cc");
	return value;
}

static __always_inline u32 vmcs_read32(unsigned long field)
{
	return vmcs_read(field);
}

static __always_inline void vmcs_write(unsigned long field, u64 value)
{
	asm volatile("vmwrite %1, %0" : : "r"(field), "rm"(value) : "cc");
}

static void vmcs_set_bits(unsigned long field, u32 bits)
{
	vmcs_write(field, vmcs_read32(field) | bits);
}

static void vmcs_clear_bits(unsigned long field, u32 bits)
{
	vmcs_write(field, vmcs_read32(field) & ~bits);
}

static bool vmx_vmclear(struct vmx_vmcs *vmcs)
{
	u64 pa = __pa(vmcs);
	bool fail;

	asm volatile("vmclear %1" CC_SET(na)
		     : CC_OUT(na)(fail) : "m"(pa) : "memory");
	return !fail;
}

static bool vmx_vmptrld(struct vmx_vmcs *vmcs)
{
	u64 pa = __pa(vmcs);
	bool fail;

	asm volatile("vmptrld %1" CC_SET(na)
		     : CC_OUT(na)(fail) : "m"(pa) : "memory");
	return !fail;
}

struct vmx_invept_desc {
	u64 eptp, rsvd;
};

struct vmx_invvpid_desc {
	u64 vpid, gva;
};

static void vmx_invept(unsigned long type, u64 eptp)
{
	struct vmx_invept_desc d = { .eptp = eptp };

	asm volatile("invept %0, %1" : : "m"(d), "r"(type) : "cc", "memory");
}

static void vmx_invvpid(unsigned long type, u16 vpid)
{
	struct vmx_invvpid_desc d = { .vpid = vpid };

	asm volatile("invvpid %0, %1" : : "m"(d), "r"(type) : "cc", "memory");
}

static u64 vmx_eptp(struct vmm_vm *vm)
{
	return vmm_tdp_eptp(vm);
}

/* Drop what this CPU may cache of the guest's translations. */
static void vmx_flush_guest(struct vmm_vcpu *vcpu)
{
	if (vmx_conf.ept_vpid_cap & VMX_CAP_INVEPT_SINGLE)
		vmx_invept(VMX_EPT_EXTENT_CONTEXT, vmx_eptp(vcpu->vm));
	else
		vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	if (!vmm_caps.vpid)
		return;
	if (vmx_conf.ept_vpid_cap & VMX_CAP_INVVPID_SINGLE)
		vmx_invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, to_vmx(vcpu)->vpid);
	else
		vmx_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0);
}

/* ---- hardware on/off ---- */

/* A CR0 or CR4 value the fixed-bit MSRs accept. */
static bool vmx_fixed_ok(u64 val, u64 fixed0, u64 fixed1)
{
	return (val & fixed0) == fixed0 && !(val & ~fixed1);
}

static void vmx_enable_cpu(void *failed)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	u64 feat, pa;
	bool fail;

	if (vc->enabled)
		return;
	if (cr4_read_shadow() & X86_CR4_VMXE) {
		/* Someone else (kvm_intel) holds VMX on this CPU. */
		atomic_inc(failed);
		return;
	}
	rdmsrl(MSR_IA32_FEAT_CTL, feat);
	if (!(feat & FEAT_CTL_LOCKED)) {
		/* The firmware left it open: allow VMX, then lock it. */
		feat |= FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX;
		wrmsrl(MSR_IA32_FEAT_CTL, feat);
	}
	if (!(feat & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX) ||
	    !vmx_fixed_ok(read_cr0(), vmx_conf.cr0_fixed0, vmx_conf.cr0_fixed1) ||
	    !vmx_fixed_ok(cr4_read_shadow() | X86_CR4_VMXE,
			  vmx_conf.cr4_fixed0, vmx_conf.cr4_fixed1)) {
		atomic_inc(failed);
		return;
	}
	cr4_set_bits_irqsoff(X86_CR4_VMXE);
	vc->vmxon_region->revision = vmx_conf.revision;
	pa = __pa(vc->vmxon_region);
	asm volatile("vmxon %1" CC_SET(na)
		     : CC_OUT(na)(fail) : "m"(pa) : "memory", "cc");
	if (fail) {
		cr4_clear_bits_irqsoff(X86_CR4_VMXE);
		atomic_inc(failed);
		return;
	}
	vc->enabled = true;
	vc->current_vmcs = NULL;
	INIT_LIST_HEAD(&vc->loaded);
	/* Whatever ran before us may have left EPT/VPID translations. */
	vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	if (vmm_caps.vpid)
		vmx_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0);
}

/* On @vmx's CPU, interrupts off: make its VMCS inactive there. */
static void vmx_clear_here(struct vmx_vcpu *vmx)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);

	vmx_vmclear(vmx->vmcs);
	if (vc->current_vmcs == vmx->vmcs)
		vc->current_vmcs = NULL;
	list_del(&vmx->loaded_link);
	vmx->launched = false;
	/* The list change before loaded_cpu: another CPU waits for this. */
	smp_wmb();
	WRITE_ONCE(vmx->loaded_cpu, -1);
}

static void vmx_clear_ipi(void *arg)
{
	struct vmx_vcpu *vmx = arg;

	if (vmx->loaded_cpu == smp_processor_id())
		vmx_clear_here(vmx);
}

static void vmx_disable_cpu(void *unused)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	struct vmx_vcpu *vmx, *tmp;

	if (!vc->enabled)
		return;
	list_for_each_entry_safe(vmx, tmp, &vc->loaded, loaded_link)
		vmx_clear_here(vmx);
	asm volatile("vmxoff" ::: "cc", "memory");
	cr4_clear_bits_irqsoff(X86_CR4_VMXE);
	vc->enabled = false;
}

static int vmx_hardware_enable(void)
{
	atomic_t failed = ATOMIC_INIT(0);

	on_each_cpu(vmx_enable_cpu, &failed, 1);
	if (atomic_read(&failed)) {
		on_each_cpu(vmx_disable_cpu, NULL, 1);
		pr_err("VMXON failed on %d CPU(s): VMX is in use by another hypervisor (if it is kvm_intel, close its VMs on 6.1 or load it with enable_virt_at_load=0 on 6.12+), or disabled in IA32_FEATURE_CONTROL\n",
		       atomic_read(&failed));
		return -EBUSY;
	}
	return 0;
}

static void vmx_hardware_disable(void)
{
	on_each_cpu(vmx_disable_cpu, NULL, 1);
}

static void vmx_free_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);

		free_page((unsigned long)vc->vmxon_region);
		vc->vmxon_region = NULL;
	}
	free_page((unsigned long)vmx_io_bitmap_a);
	free_page((unsigned long)vmx_io_bitmap_b);
	free_page((unsigned long)vmx_msr_bitmap);
	bitmap_free(vmx_vpid_bitmap);
	vmx_io_bitmap_a = vmx_io_bitmap_b = vmx_msr_bitmap = NULL;
	vmx_vpid_bitmap = NULL;
}

static void vmx_hardware_unsetup(void)
{
	vmx_free_pages();
	preempt_notifier_dec();
}

/*
 * vmx_adjust - the control value from @want and @opt, forced to what the
 * capability MSR allows (low half: bits that must be 1; high half: bits
 * that may be 1).  Fails if a bit of @want cannot be set.
 */
static int vmx_adjust(u32 msr, u32 want, u32 opt, u32 *out)
{
	u64 cap;
	u32 ctl;

	rdmsrl(msr, cap);
	ctl = (want | opt | (u32)cap) & (u32)(cap >> 32);
	if ((ctl & want) != want) {
		pr_err("controls MSR 0x%x lacks 0x%x (allowed 0x%llx)\n",
		       msr, want & ~ctl, cap >> 32);
		return -EIO;
	}
	*out = ctl;
	return 0;
}

/* Let the guest use an MSR without an exit. */
static void vmx_pass_msr(u32 msr)
{
	u8 *bm = vmx_msr_bitmap;
	u32 off = msr >= 0xc0000000 ? 1024 : 0;
	u32 bit = msr & 0x1fff;

	__clear_bit(bit, (unsigned long *)(bm + off));		/* read */
	__clear_bit(bit, (unsigned long *)(bm + 2048 + off));	/* write */
}

static int vmx_hardware_setup(void)
{
	bool is_true;
	u64 basic;
	u32 ept_need;
	int cpu, ret;

	if (!boot_cpu_has(X86_FEATURE_VMX) || !(cpuid_ecx(1) & BIT(5)))
		return -ENODEV;
	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	if (VMX_BASIC_SIZE(basic) > PAGE_SIZE) {
		pr_err("VMCS size %llu above a page\n", VMX_BASIC_SIZE(basic));
		return -EIO;
	}
	vmx_conf.revision = VMX_BASIC_REVISION(basic);
	is_true = basic & VMX_BASIC_TRUE;

	ret = vmx_adjust(is_true ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
			 MSR_IA32_VMX_PINBASED_CTLS,
			 PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING |
			 PIN_BASED_VIRTUAL_NMIS, PIN_BASED_VMX_PREEMPTION_TIMER,
			 &vmx_conf.pin);
	if (ret)
		return ret;
	ret = vmx_adjust(is_true ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
			 MSR_IA32_VMX_PROCBASED_CTLS,
			 CPU_BASED_HLT_EXITING | CPU_BASED_USE_TSC_OFFSETTING |
			 CPU_BASED_CR8_LOAD_EXITING |
			 CPU_BASED_CR8_STORE_EXITING |
			 CPU_BASED_MOV_DR_EXITING | CPU_BASED_USE_IO_BITMAPS |
			 CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_MWAIT_EXITING |
			 CPU_BASED_MONITOR_EXITING | CPU_BASED_RDPMC_EXITING |
			 CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, 0,
			 &vmx_conf.proc);
	if (ret)
		return ret;
	/* With EPT, CR3 accesses and INVLPG are the guest's own. */
	vmx_conf.proc &= ~(CPU_BASED_CR3_LOAD_EXITING |
			   CPU_BASED_CR3_STORE_EXITING |
			   CPU_BASED_INVLPG_EXITING | CPU_BASED_RDTSC_EXITING);
	ret = vmx_adjust(is_true ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
			 MSR_IA32_VMX_EXIT_CTLS,
			 VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_PAT |
			 VM_EXIT_LOAD_IA32_PAT | VM_EXIT_SAVE_IA32_EFER |
			 VM_EXIT_LOAD_IA32_EFER, 0, &vmx_conf.exit);
	if (ret)
		return ret;
	/* Host interrupts stay pending in the APIC until we enable IF. */
	vmx_conf.exit &= ~VM_EXIT_ACK_INTR_ON_EXIT;
	ret = vmx_adjust(is_true ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
			 MSR_IA32_VMX_ENTRY_CTLS,
			 VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER, 0,
			 &vmx_conf.entry);
	if (ret)
		return ret;
	vmx_conf.entry &= ~VM_ENTRY_IA32E_MODE;

	ret = vmx_adjust(MSR_IA32_VMX_PROCBASED_CTLS2, 0,
			 SECONDARY_EXEC_ENABLE_EPT |
			 SECONDARY_EXEC_UNRESTRICTED_GUEST |
			 SECONDARY_EXEC_ENABLE_VPID |
			 SECONDARY_EXEC_ENABLE_RDTSCP |
			 SECONDARY_EXEC_ENABLE_INVPCID |
			 SECONDARY_EXEC_WBINVD_EXITING, &vmx_conf.proc2);
	if (ret)
		return ret;
	rdmsrl_safe(MSR_IA32_VMX_EPT_VPID_CAP, &vmx_conf.ept_vpid_cap);
	ept_need = VMX_CAP_EPT_WALK4 | VMX_CAP_EPT_WB | VMX_CAP_INVEPT |
		   VMX_CAP_INVEPT_ALL;
	if (!(vmx_conf.proc2 & SECONDARY_EXEC_ENABLE_EPT) ||
	    !(vmx_conf.proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) ||
	    (vmx_conf.ept_vpid_cap & ept_need) != ept_need) {
		pr_err("VT-x without EPT/unrestricted guest: not supported until shadow paging lands\n");
		return -ENODEV;
	}
	if (!(vmx_conf.proc2 & SECONDARY_EXEC_ENABLE_VPID) ||
	    !(vmx_conf.ept_vpid_cap & VMX_CAP_INVVPID) ||
	    !(vmx_conf.ept_vpid_cap & VMX_CAP_INVVPID_ALL))
		vmx_conf.proc2 &= ~SECONDARY_EXEC_ENABLE_VPID;

	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, vmx_conf.cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, vmx_conf.cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, vmx_conf.cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, vmx_conf.cr4_fixed1);

	vmm_caps.nested_paging = vmm_param_npt;
	vmm_caps.ept = true;
	vmm_caps.ept_ad = !!(vmx_conf.ept_vpid_cap & VMX_CAP_EPT_AD);
	vmm_caps.vpid = !!(vmx_conf.proc2 & SECONDARY_EXEC_ENABLE_VPID);
	/*
	 * The host's timer interrupt ends a guest run; the preemption timer
	 * bounds it too (4 ms), should that interrupt not come.
	 */
	vmm_caps.preemption_timer = !!(vmx_conf.pin &
				       PIN_BASED_VMX_PREEMPTION_TIMER);
	if (vmm_caps.preemption_timer) {
		u64 misc;

		rdmsrl(MSR_IA32_VMX_MISC, misc);
		vmx_conf.preempt_ticks = min_t(u64, U32_MAX,
			((u64)max(tsc_khz, 1u) * 4) >>
			VMX_MISC_TIMER_RATE(misc));
	}
	vmm_caps.nrips = true;			/* exits give the length */

	vmx_io_bitmap_a = (void *)__get_free_page(GFP_KERNEL);
	vmx_io_bitmap_b = (void *)__get_free_page(GFP_KERNEL);
	vmx_msr_bitmap = (void *)__get_free_page(GFP_KERNEL);
	vmx_vpid_bitmap = bitmap_zalloc(VMX_NR_VPIDS, GFP_KERNEL);
	if (!vmx_io_bitmap_a || !vmx_io_bitmap_b || !vmx_msr_bitmap ||
	    !vmx_vpid_bitmap)
		goto nomem;
	__set_bit(0, vmx_vpid_bitmap);		/* VPID 0 is the host's */
	memset(vmx_io_bitmap_a, 0xff, PAGE_SIZE);
	memset(vmx_io_bitmap_b, 0xff, PAGE_SIZE);
	memset(vmx_msr_bitmap, 0xff, PAGE_SIZE);
	/* In the VMCS's guest area, or switched by us around each run. */
	vmx_pass_msr(MSR_FS_BASE);
	vmx_pass_msr(MSR_GS_BASE);
	vmx_pass_msr(MSR_KERNEL_GS_BASE);
	vmx_pass_msr(MSR_IA32_SYSENTER_CS);
	vmx_pass_msr(MSR_IA32_SYSENTER_ESP);
	vmx_pass_msr(MSR_IA32_SYSENTER_EIP);

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);

		vc->vmxon_region = (void *)get_zeroed_page(GFP_KERNEL);
		if (!vc->vmxon_region)
			goto nomem;
		INIT_LIST_HEAD(&vc->loaded);
	}
	preempt_notifier_inc();
	return 0;
nomem:
	vmx_free_pages();
	return -ENOMEM;
}

/* ---- loading a VMCS on this CPU ---- */

/* The host fields that differ between CPUs. */
static void vmx_set_host_percpu(int cpu)
{
	struct desc_ptr dt;
	u64 v;

	vmcs_write(HOST_TR_BASE,
		   (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	vmcs_write(HOST_GDTR_BASE, (unsigned long)get_current_gdt_ro());
	store_idt(&dt);
	vmcs_write(HOST_IDTR_BASE, dt.address);
	rdmsrl(MSR_IA32_SYSENTER_ESP, v);
	vmcs_write(HOST_IA32_SYSENTER_ESP, v);
	rdmsrl(MSR_GS_BASE, v);
	vmcs_write(HOST_GS_BASE, v);
}

/*
 * vmx_load - make the vCPU's VMCS current on this CPU.  Preemption off.
 * A VMCS active on another CPU is VMCLEARed there first (an IPI; that
 * CPU's cache of it must be written back before it is used here).
 */
static void vmx_load(struct vmx_vcpu *vmx)
{
	int cpu = smp_processor_id();
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	int old = READ_ONCE(vmx->loaded_cpu);

	if (old != cpu) {
		if (old >= 0)
			smp_call_function_single(old, vmx_clear_ipi, vmx, 1);
		/* Pairs with vmx_clear_here(): its list work is done. */
		smp_rmb();
		local_irq_disable();
		list_add(&vmx->loaded_link, &vc->loaded);
		vmx->loaded_cpu = cpu;
		local_irq_enable();
	}
	if (vc->current_vmcs != vmx->vmcs) {
		if (!vmx_vmptrld(vmx->vmcs))
			pr_err_ratelimited("VMPTRLD failed on CPU %d\n", cpu);
		vc->current_vmcs = vmx->vmcs;
	}
	if (old != cpu) {
		vmx_set_host_percpu(cpu);
		vmx->need_flush = true;
		WRITE_ONCE(vmx->vcpu->cpu, cpu);
	}
}

static void vmx_sched_in(struct preempt_notifier *pn, int cpu)
{
	vmx_load(container_of(pn, struct vmx_vcpu, pn));
}

static void vmx_sched_out(struct preempt_notifier *pn,
			  struct task_struct *next)
{
}

static struct preempt_ops vmx_preempt_ops = {
	.sched_in = vmx_sched_in,
	.sched_out = vmx_sched_out,
};

/*
 * vmx_get/vmx_put - around VMCS accesses from an ioctl: the VMCS stays
 * current while the thread runs, through the preempt notifier.
 */
static struct vmx_vcpu *vmx_get(struct vmm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	preempt_disable();
	vmx_load(vmx);
	if (!vmx->get_depth++)
		preempt_notifier_register(&vmx->pn);
	preempt_enable();
	return vmx;
}

static void vmx_put(struct vmx_vcpu *vmx)
{
	preempt_disable();
	if (!--vmx->get_depth)
		preempt_notifier_unregister(&vmx->pn);
	preempt_enable();
}

/* ---- VMs and vCPUs ---- */

static int vmx_vm_init(struct vmm_vm *vm)
{
	if (!vmm_caps.nested_paging) {
		pr_info_once("EPT is off (npt=0) and shadow paging is not built yet: no VMs\n");
		return -EOPNOTSUPP;
	}
	if (vm->tdp.levels != 4 &&
	    !(vm->tdp.levels == 5 &&
	      (vmx_conf.ept_vpid_cap & VMX_CAP_EPT_WALK5))) {
		pr_info_once("a %d-level nested table does not fit this CPU's EPT\n",
			     vm->tdp.levels);
		return -EOPNOTSUPP;
	}
	return 0;
}

static void vmx_vm_destroy(struct vmm_vm *vm)
{
}

/* vmm_segment <-> VMX access rights (bit 16: unusable). */
static u32 vmx_seg_ar(const struct vmm_segment *v)
{
	u32 ar;

	if (v->unusable || !v->present)
		return VMX_AR_UNUSABLE_MASK;
	ar = (v->type & 0xf) | (v->s & 1) << 4 | (v->dpl & 3) << 5 |
	     VMX_AR_P_MASK | (v->avl & 1) << 12 | (v->l & 1) << 13 |
	     (v->db & 1) << 14 | (v->g & 1) << 15;
	return ar;
}

enum { VMX_ES, VMX_CS, VMX_SS, VMX_DS, VMX_FS, VMX_GS, VMX_LDTR, VMX_TR };

/* Field encodings step by 2 from ES in the order above. */
static unsigned long vmx_seg_field(unsigned long es_field, int seg)
{
	return es_field + seg * 2;
}

static void vmx_seg_set(int seg, const struct vmm_segment *v)
{
	u32 ar = vmx_seg_ar(v);
	u32 limit = v->limit;

	if (!(ar & VMX_AR_UNUSABLE_MASK)) {
		/*
		 * VM entry checks what AMD-V ignores: G must match the
		 * limit's granularity, and a usable code or data segment
		 * must be marked accessed.  A TR must be a busy TSS.
		 */
		if ((limit & 0xfff) != 0xfff)
			ar &= ~VMX_AR_G_MASK;
		else if (limit > 0xfffff)
			ar |= VMX_AR_G_MASK;
		if (seg <= VMX_GS)
			ar |= VMX_AR_TYPE_ACCESSES_MASK;
	}
	if (seg == VMX_TR) {
		/*
		 * VT-x refuses to enter long mode (and the entry checks an
		 * IA-32e guest) with a 16-bit TSS in TR, which AMD-V and the
		 * RESET state allow: a 32-bit one stands in for it.
		 */
		if ((ar & VMX_AR_UNUSABLE_MASK) ||
		    (ar & 0xf) != VMX_AR_TYPE_BUSY_64_TSS)
			ar = (ar & ~(0xfULL | VMX_AR_UNUSABLE_MASK)) |
			     VMX_AR_TYPE_BUSY_64_TSS | VMX_AR_P_MASK;
		ar &= ~VMX_AR_S_MASK;
	}
	if (seg == VMX_LDTR && (ar & 0x1f) != VMX_AR_TYPE_LDT)
		ar = VMX_AR_UNUSABLE_MASK;
	vmcs_write(vmx_seg_field(GUEST_ES_SELECTOR, seg), v->selector);
	vmcs_write(vmx_seg_field(GUEST_ES_BASE, seg), v->base);
	vmcs_write(vmx_seg_field(GUEST_ES_LIMIT, seg), limit);
	vmcs_write(vmx_seg_field(GUEST_ES_AR_BYTES, seg), ar);
}

static void vmx_seg_get(int seg, struct vmm_segment *v)
{
	u32 ar = vmcs_read32(vmx_seg_field(GUEST_ES_AR_BYTES, seg));

	memset(v, 0, sizeof(*v));
	v->selector = vmcs_read(vmx_seg_field(GUEST_ES_SELECTOR, seg));
	v->base = vmcs_read(vmx_seg_field(GUEST_ES_BASE, seg));
	v->limit = vmcs_read32(vmx_seg_field(GUEST_ES_LIMIT, seg));
	v->unusable = !!(ar & VMX_AR_UNUSABLE_MASK);
	v->type = ar & 0xf;
	v->s = (ar >> 4) & 1;
	v->dpl = (ar >> 5) & 3;
	v->present = !v->unusable && ((ar >> 7) & 1);
	v->avl = (ar >> 12) & 1;
	v->l = (ar >> 13) & 1;
	v->db = (ar >> 14) & 1;
	v->g = (ar >> 15) & 1;
}

/* TR through vmx_seg_set, remembering a 16-bit TSS made a 32-bit one. */
static void vmx_set_tr(struct vmx_vcpu *vmx, const struct vmm_segment *v)
{
	vmx->tr_was_16bit = v->present && !v->unusable &&
			    v->type == VMX_AR_TYPE_BUSY_16_TSS;
	vmx->tr_sel = v->selector;
	vmx->tr_base = v->base;
	vmx_seg_set(VMX_TR, v);
}

static void vmx_get_tr(struct vmx_vcpu *vmx, struct vmm_segment *v)
{
	vmx_seg_get(VMX_TR, v);
	if (vmx->tr_was_16bit && v->selector == vmx->tr_sel &&
	    v->base == vmx->tr_base && v->type == VMX_AR_TYPE_BUSY_64_TSS)
		v->type = VMX_AR_TYPE_BUSY_16_TSS;
}

/* The guest's view of CR0/CR4: host-owned bits come from the shadows. */
static u64 vmx_guest_cr0(void)
{
	return (vmcs_read(GUEST_CR0) & ~VMX_CR0_HOST_OWNED) |
	       (vmcs_read(CR0_READ_SHADOW) & VMX_CR0_HOST_OWNED);
}

static u64 vmx_guest_cr4(void)
{
	return (vmcs_read(GUEST_CR4) & ~VMX_CR4_HOST_OWNED) |
	       (vmcs_read(CR4_READ_SHADOW) & VMX_CR4_HOST_OWNED);
}

/* What the CPU runs with for a guest CR0/CR4 (fixed bits forced). */
static void vmx_write_cr0(u64 cr0)
{
	u64 fixed0 = vmx_conf.cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG);

	vmcs_write(CR0_READ_SHADOW, cr0);
	vmcs_write(GUEST_CR0, (cr0 | fixed0) & vmx_conf.cr0_fixed1 &
		   ~(X86_CR0_CD | X86_CR0_NW));
}

static void vmx_write_cr4(u64 cr4)
{
	vmcs_write(CR4_READ_SHADOW, cr4);
	vmcs_write(GUEST_CR4, (cr4 | vmx_conf.cr4_fixed0) &
		   vmx_conf.cr4_fixed1);
}

/*
 * EFER and the "IA-32e mode guest" entry control move together; LMA is
 * LME with paging on.
 */
static void vmx_write_efer(u64 efer)
{
	if ((efer & EFER_LME) && (vmx_guest_cr0() & X86_CR0_PG))
		efer |= EFER_LMA;
	else
		efer &= ~EFER_LMA;
	vmcs_write(GUEST_IA32_EFER, efer);
	if (efer & EFER_LMA)
		vmcs_set_bits(VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE);
	else
		vmcs_clear_bits(VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE);
}

/*
 * PAE paging without long mode: with EPT the CPU takes the four PDPTEs
 * from the VMCS at entry, so whoever changes CR0/CR3/CR4 outside the
 * guest loads them.
 */
static void vmx_load_pdptrs(struct vmm_vcpu *vcpu)
{
	u64 pdpte[4] = {};
	u64 cr3 = vmcs_read(GUEST_CR3);
	int i;

	if (!(vmx_guest_cr0() & X86_CR0_PG) ||
	    !(vmx_guest_cr4() & X86_CR4_PAE) ||
	    (vmcs_read(GUEST_IA32_EFER) & EFER_LMA))
		return;
	/* Not RAM: entry fails on the zero PDPTEs' absence of meaning. */
	vmm_read_guest(vcpu, cr3 & 0xffffffe0, pdpte, sizeof(pdpte));
	for (i = 0; i < 4; i++)
		vmcs_write(GUEST_PDPTR0 + i * 2, pdpte[i]);
}

/* The state of an x86 CPU after RESET, as svm.c gives it. */
static void vmx_vcpu_reset(struct vmm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmm_segment seg = { .limit = 0xffff, .present = 1, .s = 1,
				   .type = 3 };
	struct vmm_segment sys = { .limit = 0xffff, .present = 1 };
	u32 exc = BIT(X86_TRAP_AC) | BIT(X86_TRAP_DB);
	int i;

	/* Controls. */
	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_conf.pin);
	vmx->proc = vmx_conf.proc;
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmx->proc);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmx_conf.proc2);
	vmcs_write(VM_EXIT_CONTROLS, vmx_conf.exit);
	vmcs_write(VM_ENTRY_CONTROLS, vmx_conf.entry);
	/*
	 * #AC and #DB can be made to recur forever during delivery
	 * (CVE-2015-5307, CVE-2015-8104): intercepting them gives the host
	 * an exit on each round.
	 */
	vmcs_write(EXCEPTION_BITMAP, exc);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmcs_write(IO_BITMAP_A, __pa(vmx_io_bitmap_a));
	vmcs_write(IO_BITMAP_B, __pa(vmx_io_bitmap_b));
	vmcs_write(MSR_BITMAP, __pa(vmx_msr_bitmap));
	vmcs_write(VMCS_LINK_POINTER, -1ULL);
	vmcs_write(EPT_POINTER, vmx_eptp(vcpu->vm));
	if (vmm_caps.vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, vmx->vpid);
	vmcs_write(TSC_OFFSET, vcpu->x86.tsc_offset);
	vmcs_write(CR0_GUEST_HOST_MASK, VMX_CR0_HOST_OWNED);
	vmcs_write(CR4_GUEST_HOST_MASK, VMX_CR4_HOST_OWNED);

	/* Host state that does not change. */
	vmcs_write(HOST_CR0, read_cr0());
	vmx->host_cr3 = __read_cr3();
	vmcs_write(HOST_CR3, vmx->host_cr3);
	vmx->host_cr4 = cr4_read_shadow();
	vmcs_write(HOST_CR4, vmx->host_cr4);
	vmcs_write(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write(HOST_DS_SELECTOR, 0);
	vmcs_write(HOST_ES_SELECTOR, 0);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmcs_write(HOST_FS_BASE, 0);
	vmx->host_fs_base = 0;
	vmcs_write(HOST_IA32_SYSENTER_CS, __KERNEL_CS);
	{
		u64 v;

		rdmsrl(MSR_IA32_SYSENTER_EIP, v);
		vmcs_write(HOST_IA32_SYSENTER_EIP, v);
		rdmsrl(MSR_IA32_CR_PAT, v);
		vmcs_write(HOST_IA32_PAT, v);
		rdmsrl(MSR_EFER, v);
		vmcs_write(HOST_IA32_EFER, v);
	}
	vmcs_write(HOST_RIP, (unsigned long)vmm_vmx_vmexit);
	vmx_set_host_percpu(smp_processor_id());

	/* Guest state. */
	for (i = VMX_ES; i <= VMX_GS; i++)
		vmx_seg_set(i, &seg);
	seg.type = 0xb;
	seg.selector = 0xf000;
	seg.base = 0xffff0000;
	vmx_seg_set(VMX_CS, &seg);
	sys.type = 2;	/* LDT */
	vmx_seg_set(VMX_LDTR, &sys);
	sys.type = 3;	/* busy 16-bit TSS */
	vmx_set_tr(vmx, &sys);
	vmcs_write(GUEST_GDTR_BASE, 0);
	vmcs_write(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_write(GUEST_IDTR_BASE, 0);
	vmcs_write(GUEST_IDTR_LIMIT, 0xffff);
	vmcs_write(GUEST_RIP, 0xfff0);
	vmcs_write(GUEST_RFLAGS, X86_EFLAGS_FIXED);
	vmcs_write(GUEST_RSP, 0);
	vmx_write_cr0(X86_CR0_ET | X86_CR0_CD | X86_CR0_NW);
	vmx_write_cr4(0);
	vmcs_write(GUEST_CR3, 0);
	vmcs_write(GUEST_DR7, 0x400);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_IA32_PAT, 0x0007040600070406ULL);
	vmx_write_efer(0);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);

	vmx->cr2 = 0;
	vmx->cr8 = 0;
	memset(vmx->dr, 0, sizeof(vmx->dr));
	vmx->dr6 = 0xffff0ff0;	/* DR6 and DR7 at RESET */
	vmx->dr7 = 0x400;
	vmx->star = vmx->lstar = vmx->cstar = vmx->sfmask = 0;
	vmx->kernel_gs_base = 0;
	memset(vcpu->gpr, 0, sizeof(vcpu->gpr));
	vcpu->gpr[VMM_RDX] = 0x600;	/* family 6 signature, as at RESET */
}

static u16 vmx_alloc_vpid(void)
{
	unsigned long v;

	if (!vmm_caps.vpid)
		return 0;
	spin_lock(&vmx_vpid_lock);
	v = find_first_zero_bit(vmx_vpid_bitmap, VMX_NR_VPIDS);
	if (v < VMX_NR_VPIDS)
		__set_bit(v, vmx_vpid_bitmap);
	else
		v = 0;	/* none left: share the host's, flushed each entry */
	spin_unlock(&vmx_vpid_lock);
	return v;
}

static void vmx_free_vpid(u16 vpid)
{
	if (!vpid)
		return;
	spin_lock(&vmx_vpid_lock);
	__clear_bit(vpid, vmx_vpid_bitmap);
	spin_unlock(&vmx_vpid_lock);
}

static int vmx_vcpu_create(struct vmm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = kzalloc(sizeof(*vmx), GFP_KERNEL_ACCOUNT);

	if (!vmx)
		return -ENOMEM;
	vmx->vmcs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vmx->vmcs) {
		kfree(vmx);
		return -ENOMEM;
	}
	vmx->vmcs->revision = vmx_conf.revision;
	vmx->vcpu = vcpu;
	vmx->loaded_cpu = -1;
	INIT_LIST_HEAD(&vmx->loaded_link);
	preempt_notifier_init(&vmx->pn, &vmx_preempt_ops);
	vmx->vpid = vmx_alloc_vpid();
	vcpu->engine = vmx;
	vmm_x86_vcpu_reset(vcpu);

	/* VMCLEAR initializes the launch state and the CPU's copy. */
	preempt_disable();
	vmx_vmclear(vmx->vmcs);
	vmx_load(vmx);
	vmx_vcpu_reset(vcpu);
	preempt_enable();
	return 0;
}

static void vmx_vcpu_free(struct vmm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int cpu;

	if (!vmx)
		return;
	cpu = READ_ONCE(vmx->loaded_cpu);
	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_clear_ipi, vmx, 1);
	vmx_free_vpid(vmx->vpid);
	free_page((unsigned long)vmx->vmcs);
	kfree(vmx);
	vcpu->engine = NULL;
}

/* ---- register state ---- */

static void vmx_get_regs(struct vmm_vcpu *vcpu, struct vmm_regs *r)
{
	struct vmx_vcpu *vmx = vmx_get(vcpu);

	vmm_x86_get_gprs(vcpu, r);
	r->rip = vmcs_read(GUEST_RIP);
	r->rflags = vmcs_read(GUEST_RFLAGS);
	vmx_put(vmx);
}

static int vmx_set_regs(struct vmm_vcpu *vcpu, const struct vmm_regs *r)
{
	struct vmx_vcpu *vmx = vmx_get(vcpu);
	u64 rflags = (r->rflags & VMM_X86_RFLAGS_MASK) | X86_EFLAGS_FIXED;

	vmm_x86_set_gprs(vcpu, r);
	vmcs_write(GUEST_RIP, r->rip);
	vmcs_write(GUEST_RFLAGS, rflags);
	/* An STI shadow with IF clear would fail the entry checks. */
	if (!(rflags & X86_EFLAGS_IF))
		vmcs_clear_bits(GUEST_INTERRUPTIBILITY_INFO,
				GUEST_INTR_STATE_STI);
	vmx_put(vmx);
	return 0;
}

static void vmx_get_sregs(struct vmm_vcpu *vcpu, struct vmm_sregs *sr)
{
	struct vmx_vcpu *vmx = vmx_get(vcpu);

	vmx_seg_get(VMX_CS, &sr->cs);
	vmx_seg_get(VMX_DS, &sr->ds);
	vmx_seg_get(VMX_ES, &sr->es);
	vmx_seg_get(VMX_FS, &sr->fs);
	vmx_seg_get(VMX_GS, &sr->gs);
	vmx_seg_get(VMX_SS, &sr->ss);
	vmx_get_tr(vmx, &sr->tr);
	vmx_seg_get(VMX_LDTR, &sr->ldt);
	sr->gdt.base = vmcs_read(GUEST_GDTR_BASE);
	sr->gdt.limit = vmcs_read32(GUEST_GDTR_LIMIT);
	sr->idt.base = vmcs_read(GUEST_IDTR_BASE);
	sr->idt.limit = vmcs_read32(GUEST_IDTR_LIMIT);
	sr->cr0 = vmx_guest_cr0();
	sr->cr2 = vmx->cr2;
	sr->cr3 = vmcs_read(GUEST_CR3);
	sr->cr4 = vmx_guest_cr4();
	sr->cr8 = vcpu->lapic ? vmm_lapic_get_cr8(vcpu) : vmx->cr8;
	sr->efer = vmcs_read(GUEST_IA32_EFER);
	sr->apic_base = vcpu->lapic ? vmm_lapic_get_base(vcpu) :
				      vcpu->x86.apic_base;
	vmx_put(vmx);
}

static int vmx_set_sregs(struct vmm_vcpu *vcpu, const struct vmm_sregs *sr)
{
	struct vmx_vcpu *vmx;

	if (sr->efer & ~VMM_X86_EFER_GUEST)
		return -EINVAL;
	if (sr->cr8 > 15)
		return -EINVAL;
	if (sr->cr4 & X86_CR4_VMXE)
		return -EINVAL;
	if (vcpu->lapic) {
		if (!vmm_lapic_set_base(vcpu, sr->apic_base, true))
			return -EINVAL;
		vmm_lapic_set_cr8(vcpu, sr->cr8);
	}
	vmx = vmx_get(vcpu);
	vmx->cr8 = sr->cr8;
	vmx->check_state = true;
	vmx_seg_set(VMX_CS, &sr->cs);
	vmx_seg_set(VMX_DS, &sr->ds);
	vmx_seg_set(VMX_ES, &sr->es);
	vmx_seg_set(VMX_FS, &sr->fs);
	vmx_seg_set(VMX_GS, &sr->gs);
	vmx_seg_set(VMX_SS, &sr->ss);
	vmx_set_tr(vmx, &sr->tr);
	vmx_seg_set(VMX_LDTR, &sr->ldt);
	vmcs_write(GUEST_GDTR_BASE, sr->gdt.base);
	vmcs_write(GUEST_GDTR_LIMIT, sr->gdt.limit);
	vmcs_write(GUEST_IDTR_BASE, sr->idt.base);
	vmcs_write(GUEST_IDTR_LIMIT, sr->idt.limit);
	vmx_write_cr0(sr->cr0);
	vmx->cr2 = sr->cr2;
	vmcs_write(GUEST_CR3, sr->cr3);
	vmx_write_cr4(sr->cr4);
	vmx_write_efer(sr->efer);
	vcpu->x86.apic_base = sr->apic_base;
	vmx_put(vmx);
	/* The PDPTEs are read from guest memory: may sleep. */
	vmx = vmx_get(vcpu);
	vmx_load_pdptrs(vcpu);
	vmx_put(vmx);
	return 0;
}

/* ---- MSRs ---- */

static int vmx_get_msr_loaded(struct vmm_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	switch (index) {
	case MSR_EFER:
		*data = vmcs_read(GUEST_IA32_EFER);
		break;
	case MSR_STAR:
		*data = vmx->star;
		break;
	case MSR_LSTAR:
		*data = vmx->lstar;
		break;
	case MSR_CSTAR:
		*data = vmx->cstar;
		break;
	case MSR_SYSCALL_MASK:
		*data = vmx->sfmask;
		break;
	case MSR_KERNEL_GS_BASE:
		*data = vmx->kernel_gs_base;
		break;
	case MSR_FS_BASE:
		*data = vmcs_read(GUEST_FS_BASE);
		break;
	case MSR_GS_BASE:
		*data = vmcs_read(GUEST_GS_BASE);
		break;
	case MSR_IA32_SYSENTER_CS:
		*data = vmcs_read32(GUEST_SYSENTER_CS);
		break;
	case MSR_IA32_SYSENTER_ESP:
		*data = vmcs_read(GUEST_SYSENTER_ESP);
		break;
	case MSR_IA32_SYSENTER_EIP:
		*data = vmcs_read(GUEST_SYSENTER_EIP);
		break;
	case MSR_IA32_CR_PAT:
		*data = vmcs_read(GUEST_IA32_PAT);
		break;
	default:
		return vmm_x86_get_msr(vcpu, index, data) ? 1 : 0;
	}
	return 0;
}

static int vmx_set_msr_loaded(struct vmm_vcpu *vcpu, u32 index, u64 data,
			      bool host)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	switch (index) {
	case MSR_EFER:
		if (data & ~VMM_X86_EFER_GUEST)
			return 1;
		/* LME cannot change while paging is on. */
		if (!host && (vmx_guest_cr0() & X86_CR0_PG) &&
		    ((data ^ vmcs_read(GUEST_IA32_EFER)) & EFER_LME))
			return 1;
		vmx_write_efer(data);
		break;
	case MSR_STAR:
		vmx->star = data;
		break;
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_KERNEL_GS_BASE:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		/* A non-canonical address faults on hardware too. */
		if (!__is_canonical_address(data, 48))
			return 1;
		if (index == MSR_LSTAR)
			vmx->lstar = data;
		else if (index == MSR_CSTAR)
			vmx->cstar = data;
		else if (index == MSR_KERNEL_GS_BASE)
			vmx->kernel_gs_base = data;
		else if (index == MSR_FS_BASE)
			vmcs_write(GUEST_FS_BASE, data);
		else if (index == MSR_GS_BASE)
			vmcs_write(GUEST_GS_BASE, data);
		else if (index == MSR_IA32_SYSENTER_ESP)
			vmcs_write(GUEST_SYSENTER_ESP, data);
		else
			vmcs_write(GUEST_SYSENTER_EIP, data);
		break;
	case MSR_SYSCALL_MASK:
		vmx->sfmask = (u32)data;
		break;
	case MSR_IA32_SYSENTER_CS:
		vmcs_write(GUEST_SYSENTER_CS, (u16)data);
		break;
	case MSR_IA32_CR_PAT:
		if (!vmm_x86_pat_valid(data))
			return 1;
		vmcs_write(GUEST_IA32_PAT, data);
		break;
	default:
		if (vmm_x86_set_msr(vcpu, index, data, host))
			return 1;
		/* IA32_TSC among them: x86.c keeps the offset. */
		vmcs_write(TSC_OFFSET, vcpu->x86.tsc_offset);
	}
	return 0;
}

static int vmx_get_msr(struct vmm_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmx_vcpu *vmx = vmx_get(vcpu);
	int ret = vmx_get_msr_loaded(vcpu, index, data);

	vmx_put(vmx);
	return ret;
}

static int vmx_set_msr(struct vmm_vcpu *vcpu, u32 index, u64 data, bool host)
{
	struct vmx_vcpu *vmx = vmx_get(vcpu);
	int ret = vmx_set_msr_loaded(vcpu, index, data, host);

	vmx_put(vmx);
	return ret;
}

/* ---- events ---- */

static void vmx_inject_exception(struct vmm_vcpu *vcpu, int vector,
				 bool has_error, u32 error)
{
	u32 info = vector | INTR_TYPE_HARD_EXCEPTION | VMX_INTR_VALID;

	/* Real mode pushes no error code; the entry checks insist. */
	if (has_error && (vmx_guest_cr0() & X86_CR0_PE)) {
		info |= VMX_INTR_ERRCODE;
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	}
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info);
}

static bool vmx_interrupt_allowed(struct vmm_vcpu *vcpu)
{
	return (vmcs_read(GUEST_RFLAGS) & X86_EFLAGS_IF) &&
	       !(vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) &
		 (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)) &&
	       !(vmcs_read32(VM_ENTRY_INTR_INFO_FIELD) & VMX_INTR_VALID);
}

static bool vmx_nmi_allowed(void)
{
	return !(vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) &
		 (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS |
		  GUEST_INTR_STATE_NMI));
}

static void vmx_set_proc(struct vmx_vcpu *vmx, u32 bits, bool on)
{
	u32 proc = on ? vmx->proc | bits : vmx->proc & ~bits;

	if (proc != vmx->proc) {
		vmx->proc = proc;
		vmcs_write(CPU_BASED_VM_EXEC_CONTROL, proc);
	}
}

static void vmx_inject_irq(int vector)
{
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD,
		   vector | INTR_TYPE_EXT_INTR | VMX_INTR_VALID);
}

/* Before entry: put at most one queued event into the entry fields. */
static void vmx_inject_events(struct vmm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int tpr_class, v;

	if (vmcs_read32(VM_ENTRY_INTR_INFO_FIELD) & VMX_INTR_VALID)
		return;		/* a re-injection goes first */
	if (vcpu->nmi_pending) {
		if (vmx_nmi_allowed()) {
			vmcs_write(VM_ENTRY_INTR_INFO_FIELD, X86_TRAP_NMI |
				   INTR_TYPE_NMI_INTR | VMX_INTR_VALID);
			vcpu->nmi_pending = false;
			return;
		}
		vmx_set_proc(vmx, CPU_BASED_NMI_WINDOW_EXITING, true);
	}
	if (vcpu->lapic) {
		if (!vmm_irq_pending(vcpu, &tpr_class))
			return;	/* a TPR-blocked one: CR8 writes exit */
		if (!vmx_interrupt_allowed(vcpu)) {
			vmx_set_proc(vmx, CPU_BASED_INTR_WINDOW_EXITING, true);
			return;
		}
		v = vmm_irq_ack(vcpu);
		if (v >= 0)
			vmx_inject_irq(v);
		return;
	}
	if (vcpu->irq_pending) {
		if (vmx_interrupt_allowed(vcpu)) {
			vmx_inject_irq(vcpu->irq_vector);
			vcpu->irq_pending = false;
		} else {
			vmx_set_proc(vmx, CPU_BASED_INTR_WINDOW_EXITING, true);
		}
	} else if (vcpu->run->request_interrupt_window &&
		   !vmx_interrupt_allowed(vcpu)) {
		vmx_set_proc(vmx, CPU_BASED_INTR_WINDOW_EXITING, true);
	}
}

/*
 * An exit that interrupted the delivery of an event (an EPT violation on
 * the IDT, say) must deliver it again.  Software interrupts and #BP/#OF
 * are not re-injected: RIP still points at their instruction, which runs
 * again.
 */
static void vmx_reinject(struct vmm_vcpu *vcpu)
{
	u32 info = vmcs_read32(IDT_VECTORING_INFO_FIELD);
	u32 type = info & INTR_INFO_INTR_TYPE_MASK;

	if (!(info & VMX_INTR_VALID))
		return;
	if (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION ||
	    type == INTR_TYPE_PRIV_SW_EXCEPTION)
		return;
	if (type == INTR_TYPE_NMI_INTR)
		vmcs_clear_bits(GUEST_INTERRUPTIBILITY_INFO,
				GUEST_INTR_STATE_NMI);
	if (info & VMX_INTR_ERRCODE)
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE,
			   vmcs_read32(IDT_VECTORING_ERROR_CODE));
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info & ~INTR_INFO_RESVD_BITS_MASK);
}

/* ---- entry ---- */

/* VMM_GET_STATS: which kind an exit reason counts as. */
static enum vmm_stat vmx_exit_kind(u32 reason)
{
	switch (reason) {
	case EXIT_REASON_IO_INSTRUCTION:
		return VMM_STAT_IO;
	case EXIT_REASON_EPT_VIOLATION:
		return VMM_STAT_NPF;
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MSR_WRITE:
		return VMM_STAT_MSR;
	case EXIT_REASON_CPUID:
		return VMM_STAT_CPUID;
	case EXIT_REASON_HLT:
		return VMM_STAT_HLT;
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_PREEMPTION_TIMER:
		return VMM_STAT_INTR;
	case EXIT_REASON_INTERRUPT_WINDOW:
	case EXIT_REASON_NMI_WINDOW:
		return VMM_STAT_VINTR;
	case EXIT_REASON_CR_ACCESS:
		return VMM_STAT_CR;
	case EXIT_REASON_EXCEPTION_NMI:
		return VMM_STAT_EXCEPTION;
	default:
		return VMM_STAT_OTHER;
	}
}

/* Host state that can change between two entries on the same CPU. */
static void vmx_refresh_host(struct vmx_vcpu *vmx)
{
	unsigned long cr3 = __read_cr3(), cr4 = cr4_read_shadow(), fs;

	if (unlikely(cr3 != vmx->host_cr3)) {
		vmcs_write(HOST_CR3, cr3);
		vmx->host_cr3 = cr3;
	}
	if (unlikely(cr4 != vmx->host_cr4)) {
		vmcs_write(HOST_CR4, cr4);
		vmx->host_cr4 = cr4;
	}
	rdmsrl(MSR_FS_BASE, fs);
	if (fs != vmx->host_fs_base) {
		vmcs_write(HOST_FS_BASE, fs);
		vmx->host_fs_base = fs;
	}
}

/*
 * What a VM exit leaves wrong and the host needs back, saved before the
 * interrupts-off section and restored after it.
 */
struct vmx_host_save {
	u16 ds, es, fs, gs, ldt;
	u64 kernel_gs_base, star, lstar, cstar, sfmask, debugctl;
	struct desc_ptr gdt, idt;
};

static void vmx_switch_to_guest(struct vmx_vcpu *vmx, struct vmx_host_save *h)
{
	savesegment(ds, h->ds);
	savesegment(es, h->es);
	savesegment(fs, h->fs);
	savesegment(gs, h->gs);
	asm volatile("sldt %0" : "=r"(h->ldt));
	native_store_gdt(&h->gdt);
	store_idt(&h->idt);
	rdmsrl(MSR_IA32_DEBUGCTLMSR, h->debugctl);
	rdmsrl(MSR_KERNEL_GS_BASE, h->kernel_gs_base);
	rdmsrl(MSR_STAR, h->star);
	rdmsrl(MSR_LSTAR, h->lstar);
	rdmsrl(MSR_CSTAR, h->cstar);
	rdmsrl(MSR_SYSCALL_MASK, h->sfmask);
	wrmsrl(MSR_KERNEL_GS_BASE, vmx->kernel_gs_base);
	wrmsrl(MSR_STAR, vmx->star);
	wrmsrl(MSR_LSTAR, vmx->lstar);
	wrmsrl(MSR_CSTAR, vmx->cstar);
	wrmsrl(MSR_SYSCALL_MASK, vmx->sfmask);
}

static void vmx_switch_to_host(struct vmx_vcpu *vmx, struct vmx_host_save *h)
{
	/* The guest writes KERNEL_GS_BASE without an exit: keep its value. */
	rdmsrl(MSR_KERNEL_GS_BASE, vmx->kernel_gs_base);
	if (h->ldt)
		asm volatile("lldt %0" : : "r"(h->ldt));
	if (h->ds)
		loadsegment(ds, h->ds);
	if (h->es)
		loadsegment(es, h->es);
	if (h->fs) {
		loadsegment(fs, h->fs);
		wrmsrl(MSR_FS_BASE, vmx->host_fs_base);
	}
	if (h->gs)
		load_gs_index(h->gs);
	wrmsrl(MSR_KERNEL_GS_BASE, h->kernel_gs_base);
	wrmsrl(MSR_STAR, h->star);
	wrmsrl(MSR_LSTAR, h->lstar);
	wrmsrl(MSR_CSTAR, h->cstar);
	wrmsrl(MSR_SYSCALL_MASK, h->sfmask);
	/* A VM exit sets the GDTR and IDTR limits to 0xffff. */
	native_load_gdt(&h->gdt);
	native_load_idt(&h->idt);
	/* ...and TR's to 0x67: the I/O bitmap must be reachable again. */
	invalidate_tss_limit();
}

/*
 * One VMLAUNCH/VMRESUME.  Interrupts are off.  Returns the exit reason,
 * or -1 after a VMfail.
 */
static int vmx_enter(struct vmm_vcpu *vcpu, struct vmx_vcpu *vmx)
{
	u64 debugctl;
	int fail;
	u32 reason;

	vmcs_write(GUEST_RSP, vcpu->gpr[VMM_RSP]);
	if (vmm_caps.preemption_timer)
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, vmx_conf.preempt_ticks);
	if (vmx->cr2 != native_read_cr2())
		native_write_cr2(vmx->cr2);
	rdmsrl(MSR_IA32_DEBUGCTLMSR, debugctl);

	fail = vmm_vmx_run(vcpu->gpr, vmx->launched);

	vmx->cr2 = native_read_cr2();
	/* A VM exit clears IA32_DEBUGCTL. */
	if (debugctl)
		wrmsrl(MSR_IA32_DEBUGCTLMSR, debugctl);
	vcpu->run->exit_count++;
	if (fail) {
		vcpu->stats[VMM_STAT_OTHER]++;
		return -1;
	}
	vmx->launched = true;
	vcpu->gpr[VMM_RSP] = vmcs_read(GUEST_RSP);
	reason = vmcs_read32(VM_EXIT_REASON);
	vcpu->stats[vmx_exit_kind((u16)reason)]++;
	/* A host NMI: hand it to the host's handler at once, as the CPU would. */
	if ((u16)reason == EXIT_REASON_EXCEPTION_NMI &&
	    (vmcs_read32(VM_EXIT_INTR_INFO) &
	     (INTR_INFO_INTR_TYPE_MASK | VMX_INTR_VALID)) ==
	    (INTR_TYPE_NMI_INTR | VMX_INTR_VALID))
		asm volatile("int $2");
	return reason;
}

/* ---- exit handlers ---- */

static void vmx_skip(void)
{
	vmcs_write(GUEST_RIP, vmcs_read(GUEST_RIP) +
		   vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
	vmcs_clear_bits(GUEST_INTERRUPTIBILITY_INFO,
			GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
}

static void vmx_cpuid(struct vmm_vcpu *vcpu)
{
	u32 fn = vcpu->gpr[VMM_RAX];

	vmm_x86_cpuid(vcpu, vmx_guest_cr4());
	/* A guest of ours cannot use VMX, whatever its table says. */
	if (fn == 1)
		vcpu->gpr[VMM_RCX] &= ~(u64)BIT(5);
	vmx_skip();
}

/* Exits handled with interrupts still off: true to re-enter at once. */
static bool vmx_handle_exit_irqoff(struct vmm_vcpu *vcpu, int reason)
{
	if (reason == EXIT_REASON_CPUID &&
	    !(vmcs_read32(IDT_VECTORING_INFO_FIELD) & VMX_INTR_VALID)) {
		vmx_cpuid(vcpu);
		return true;
	}
	return false;
}

/* The guest as emulate.c needs it; segment attributes in SVM's layout. */
static void vmx_fill_ctx(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx)
{
	u32 cs_ar = vmcs_read32(GUEST_CS_AR_BYTES);
	int i;

	ctx->cr0 = vmx_guest_cr0();
	ctx->cr3 = vmcs_read(GUEST_CR3);
	ctx->cr4 = vmx_guest_cr4();
	ctx->efer = vmcs_read(GUEST_IA32_EFER);
	ctx->rip = vmcs_read(GUEST_RIP);
	ctx->rflags = vmcs_read(GUEST_RFLAGS);
	ctx->cpl = VMX_AR_DPL(vmcs_read32(GUEST_SS_AR_BYTES));
	if (!(ctx->cr0 & X86_CR0_PE))
		ctx->cpl = 0;
	else if (ctx->rflags & X86_EFLAGS_VM)
		ctx->cpl = 3;
	/* enum vmm_seg and VMX's field order are both ES CS SS DS FS GS. */
	for (i = 0; i < VMM_NR_SEGS; i++) {
		u32 ar = vmcs_read32(vmx_seg_field(GUEST_ES_AR_BYTES, i));

		ctx->seg_base[i] = vmcs_read(vmx_seg_field(GUEST_ES_BASE, i));
		ctx->seg_limit[i] = vmcs_read32(vmx_seg_field(GUEST_ES_LIMIT,
							      i));
		ctx->seg_attr[i] = (ar & 0xff) | ((ar >> 4) & 0xf00);
	}
	ctx->cs_l = (cs_ar & VMX_AR_L_MASK) && (ctx->efer & EFER_LMA);
	ctx->cs_db = !!(cs_ar & VMX_AR_DB_MASK);
	ctx->fault_vector = -1;
}

static void vmx_put_ctx(struct vmm_vcpu *vcpu, const struct vmm_guest_ctx *ctx)
{
	vmcs_write(GUEST_RIP, ctx->rip);
	vmcs_write(GUEST_RFLAGS, ctx->rflags);
	vmcs_clear_bits(GUEST_INTERRUPTIBILITY_INFO,
			GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
}

/* Inject what the emulator asked for (#PF, #GP, #UD). */
static void vmx_emul_fault(struct vmm_vcpu *vcpu,
			   const struct vmm_guest_ctx *ctx)
{
	if (ctx->fault_vector == X86_TRAP_PF)
		to_vmx(vcpu)->cr2 = ctx->fault_addr;
	vmx_inject_exception(vcpu, ctx->fault_vector, ctx->fault_has_error,
			     ctx->fault_error);
}

static void vmx_finish_emul(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx)
{
	if (ctx->fault_vector >= 0)
		vmx_emul_fault(vcpu, ctx);
	else
		vmx_put_ctx(vcpu, ctx);
}

static int vmx_handle_io(struct vmm_vcpu *vcpu, u64 qual)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmm_pio pio = {
		.size = (qual & 7) + 1,
		.in = !!(qual & BIT(3)),
		.string = !!(qual & BIT(4)),
		.rep = !!(qual & BIT(5)),
		.port = qual >> 16,
		.next_rip = vmcs_read(GUEST_RIP) +
			    vmcs_read32(VM_EXIT_INSTRUCTION_LEN),
	};
	struct vmm_guest_ctx ctx;
	int ret;

	if (pio.size == 3 || pio.size > 4)
		return vmm_exit_internal(vcpu, VMM_INTERNAL_UNHANDLED_EXIT,
					 EXIT_REASON_IO_INSTRUCTION, qual);
	/* The PIC and the PIT answer in the kernel. */
	if (vmm_x86_pio_irqchip(vcpu, &pio)) {
		vmx_skip();
		return 1;
	}
	vmx_fill_ctx(vcpu, &ctx);
	ret = vmm_emulate_pio(vcpu, &ctx, &pio, &vmx->pio);
	vmx_finish_emul(vcpu, &ctx);
	return ret;
}

static int vmx_handle_ept_violation(struct vmm_vcpu *vcpu, u64 qual)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	u32 idt = vmcs_read32(IDT_VECTORING_INFO_FIELD);
	struct vmm_guest_ctx ctx;
	int ret;

	/* An IRET that unblocked NMIs faulted: NMIs stay blocked. */
	if ((qual & BIT(12)) && !(idt & VMX_INTR_VALID))
		vmcs_set_bits(GUEST_INTERRUPTIBILITY_INFO,
			      GUEST_INTR_STATE_NMI);
	ret = vmm_tdp_fault(vcpu, gpa, qual & BIT(1));
	if (ret == VMM_TDP_RETRY)
		return 1;
	if (ret < 0)
		return vmm_exit_internal(vcpu, VMM_INTERNAL_MEMORY, gpa, -ret);
	if (idt & VMX_INTR_VALID)
		/* Event delivery touched MMIO (an IDT there?): give up. */
		return vmm_exit_internal(vcpu, VMM_INTERNAL_DELIVERY, gpa, idt);

	vmx_fill_ctx(vcpu, &ctx);
	ret = vmm_emulate_mmio(vcpu, &ctx, gpa, &vmx->mmio);
	vmx_finish_emul(vcpu, &ctx);
	return ret;
}

static u64 *vmx_gpr(struct vmm_vcpu *vcpu, int reg)
{
	return &vcpu->gpr[reg & 15];
}

/* MOV to CR0 that touched a host-owned bit: do what the CPU would. */
static bool vmx_set_cr0(struct vmm_vcpu *vcpu, u64 cr0)
{
	u64 old = vmx_guest_cr0();
	u64 efer = vmcs_read(GUEST_IA32_EFER);

	if (!vmm_x86_cr0_write(old, &cr0, vmx_guest_cr4(), &efer))
		return false;
	vmx_write_cr0(cr0);
	vmx_write_efer(efer);
	/* The CPU did not run this MOV: its TLB flush is ours to do. */
	if ((old ^ cr0) & VMM_X86_CR0_FLUSH)
		to_vmx(vcpu)->need_flush = true;
	if ((old ^ cr0) & (X86_CR0_PG | X86_CR0_PE))
		vmx_load_pdptrs(vcpu);
	return true;
}

static bool vmx_set_cr4(struct vmm_vcpu *vcpu, u64 cr4)
{
	u64 old = vmx_guest_cr4();

	/* VMX is not offered; bits the CPU would refuse are refused too. */
	if ((cr4 & X86_CR4_VMXE) ||
	    (cr4 & ~vmx_conf.cr4_fixed1 & ~X86_CR4_VMXE))
		return false;
	if ((vmcs_read(GUEST_IA32_EFER) & EFER_LMA) && !(cr4 & X86_CR4_PAE))
		return false;
	vmx_write_cr4(cr4);
	if ((old ^ cr4) & (X86_CR4_PAE | X86_CR4_PSE | X86_CR4_PGE))
		vmx_load_pdptrs(vcpu);
	return true;
}

static int vmx_handle_cr(struct vmm_vcpu *vcpu, u64 qual)
{
	int cr = qual & 15, type = (qual >> 4) & 3, reg = (qual >> 8) & 15;
	u64 *r = vmx_gpr(vcpu, reg);
	bool ok = true;
	u64 val;

	/* RSP lives in the VMCS while the exit is handled. */
	if (reg == VMM_RSP)
		vcpu->gpr[VMM_RSP] = vmcs_read(GUEST_RSP);
	val = *r;
	if (!(vmcs_read(GUEST_IA32_EFER) & EFER_LMA) ||
	    !(vmcs_read32(GUEST_CS_AR_BYTES) & VMX_AR_L_MASK))
		val = (u32)val;

	switch (type) {
	case 0:		/* MOV to CR */
		if (cr == 0)
			ok = vmx_set_cr0(vcpu, val);
		else if (cr == 4)
			ok = vmx_set_cr4(vcpu, val);
		else if (cr != 8)
			goto unhandled;
		else if (val > 15)
			ok = false;
		else if (vcpu->lapic)
			vmm_lapic_set_cr8(vcpu, val);
		else
			to_vmx(vcpu)->cr8 = val;
		break;
	case 1:		/* MOV from CR: only CR8 is intercepted */
		if (cr != 8)
			goto unhandled;
		*r = vcpu->lapic ? vmm_lapic_get_cr8(vcpu) : to_vmx(vcpu)->cr8;
		if (reg == VMM_RSP)
			vmcs_write(GUEST_RSP, *r);
		break;
	default:	/* CLTS and LMSW never touch NE */
		goto unhandled;
	}
	if (!ok) {
		vmx_inject_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	vmx_skip();
	return 1;
unhandled:
	return vmm_exit_internal(vcpu, VMM_INTERNAL_UNHANDLED_EXIT,
				 EXIT_REASON_CR_ACCESS, qual);
}

/* MOV DR: the guest's debug registers live here, not in the hardware. */
static int vmx_handle_dr(struct vmm_vcpu *vcpu, u64 qual)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int dr = qual & 7, reg = (qual >> 8) & 15;
	bool from = qual & BIT(4);
	u64 *r = vmx_gpr(vcpu, reg);

	if ((dr == 4 || dr == 5) && (vmx_guest_cr4() & X86_CR4_DE)) {
		vmx_inject_exception(vcpu, X86_TRAP_UD, false, 0);
		return 1;
	}
	if (dr == 4)
		dr = 6;
	else if (dr == 5)
		dr = 7;
	if (reg == VMM_RSP)
		vcpu->gpr[VMM_RSP] = vmcs_read(GUEST_RSP);
	if (from) {
		if (dr < 4)
			*r = vmx->dr[dr];
		else if (dr == 6)
			*r = vmx->dr6;
		else
			*r = vmx->dr7;
		if (reg == VMM_RSP)
			vmcs_write(GUEST_RSP, *r);
	} else {
		if ((dr == 6 || dr == 7) && (*r >> 32)) {
			vmx_inject_exception(vcpu, X86_TRAP_GP, true, 0);
			return 1;
		}
		if (dr < 4)
			vmx->dr[dr] = *r;
		else if (dr == 6)
			vmx->dr6 = (*r & 0xf00f) | 0xffff0ff0;
		else
			vmx->dr7 = (*r & 0xffff2bff) | 0x400;
	}
	vmx_skip();
	return 1;
}

static int vmx_handle_msr(struct vmm_vcpu *vcpu, bool write)
{
	u32 index = vcpu->gpr[VMM_RCX];
	u64 data;

	if (write) {
		data = (u32)vcpu->gpr[VMM_RAX] | (vcpu->gpr[VMM_RDX] << 32);
		if (vmx_set_msr_loaded(vcpu, index, data, false)) {
			vmx_inject_exception(vcpu, X86_TRAP_GP, true, 0);
			return 1;
		}
	} else {
		if (vmx_get_msr_loaded(vcpu, index, &data)) {
			vmx_inject_exception(vcpu, X86_TRAP_GP, true, 0);
			return 1;
		}
		vcpu->gpr[VMM_RAX] = (u32)data;
		vcpu->gpr[VMM_RDX] = data >> 32;
	}
	vmx_skip();
	return 1;
}

static int vmx_handle_hlt(struct vmm_vcpu *vcpu)
{
	u32 entry = vmcs_read32(VM_ENTRY_INTR_INFO_FIELD);

	vmx_skip();
	return vmm_x86_hlt(vcpu, vmcs_read(GUEST_RFLAGS) & X86_EFLAGS_IF,
			   (entry & VMX_INTR_VALID) &&
			   (entry & INTR_INFO_INTR_TYPE_MASK) ==
			   INTR_TYPE_EXT_INTR);
}

static int vmx_handle_intr_window(struct vmm_vcpu *vcpu)
{
	vmx_set_proc(to_vmx(vcpu), CPU_BASED_INTR_WINDOW_EXITING, false);
	if (!vcpu->lapic && !vcpu->irq_pending &&
	    vcpu->run->request_interrupt_window) {
		vcpu->run->exit_reason = VMM_EXIT_IRQ_WINDOW_OPEN;
		return 0;
	}
	return 1;
}

static int vmx_handle_exception(struct vmm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 info = vmcs_read32(VM_EXIT_INTR_INFO);
	u32 type = info & INTR_INFO_INTR_TYPE_MASK;
	int vector = info & INTR_INFO_VECTOR_MASK;

	if (type == INTR_TYPE_NMI_INTR)
		return 1;	/* the host's, already handed over */
	/* An IRET that unblocked NMIs faulted: NMIs stay blocked. */
	if ((info & INTR_INFO_UNBLOCK_NMI) &&
	    !(vmcs_read32(IDT_VECTORING_INFO_FIELD) & VMX_INTR_VALID))
		vmcs_set_bits(GUEST_INTERRUPTIBILITY_INFO,
			      GUEST_INTR_STATE_NMI);
	switch (vector) {
	case X86_TRAP_DB:
		/* The DR6 bits of the exception are in the qualification. */
		vmx->dr6 = (vmx->dr6 & ~0xf00fULL) |
			   (vmcs_read(EXIT_QUALIFICATION) & 0xf00f);
		if (type == INTR_TYPE_PRIV_SW_EXCEPTION) {
			/* ICEBP: a trap past the instruction. */
			vmx_skip();
		}
		vmx_inject_exception(vcpu, X86_TRAP_DB, false, 0);
		return 1;
	case X86_TRAP_AC:
		vmx_inject_exception(vcpu, X86_TRAP_AC, true,
				     vmcs_read32(VM_EXIT_INTR_ERROR_CODE));
		return 1;
	default:
		return vmm_exit_internal(vcpu, VMM_INTERNAL_UNHANDLED_EXIT,
					 EXIT_REASON_EXCEPTION_NMI, info);
	}
}

static int vmx_fail_entry(struct vmm_vcpu *vcpu, u64 reason, u64 qual)
{
	pr_info_ratelimited("VM entry failed: reason 0x%llx qualification 0x%llx\n",
			    reason, qual);
	vcpu->run->exit_reason = VMM_EXIT_FAIL_ENTRY;
	vcpu->run->fail_entry.hardware_entry_failure_reason = reason;
	vcpu->run->fail_entry.cpu = vcpu->cpu;
	return 0;
}

/* Returns 1 to re-enter, 0 to return to userspace, -errno on error. */
static int vmx_handle_exit(struct vmm_vcpu *vcpu, int reason)
{
	u64 qual;

	if (reason < 0)
		return vmx_fail_entry(vcpu, VMX_FAIL_VMFAIL |
				      vmcs_read32(VM_INSTRUCTION_ERROR), 0);
	qual = vmcs_read(EXIT_QUALIFICATION);
	if (reason & VMX_EXIT_FAILED_ENTRY)
		return vmx_fail_entry(vcpu, (u32)reason, qual);

	vmx_reinject(vcpu);
	switch ((u16)reason) {
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_PREEMPTION_TIMER:
		return 1;	/* the host took it when IF came back */
	case EXIT_REASON_EXCEPTION_NMI:
		return vmx_handle_exception(vcpu);
	case EXIT_REASON_INTERRUPT_WINDOW:
		return vmx_handle_intr_window(vcpu);
	case EXIT_REASON_NMI_WINDOW:
		vmx_set_proc(to_vmx(vcpu), CPU_BASED_NMI_WINDOW_EXITING, false);
		return 1;
	case EXIT_REASON_CPUID:
		vmx_cpuid(vcpu);
		return 1;
	case EXIT_REASON_HLT:
		return vmx_handle_hlt(vcpu);
	case EXIT_REASON_IO_INSTRUCTION:
		return vmx_handle_io(vcpu, qual);
	case EXIT_REASON_EPT_VIOLATION:
		return vmx_handle_ept_violation(vcpu, qual);
	case EXIT_REASON_EPT_MISCONFIG:
		/* Our table is wrong: a bug, said to userspace, not a WARN. */
		pr_err_ratelimited("EPT misconfiguration at GPA 0x%llx\n",
				   (u64)vmcs_read(GUEST_PHYSICAL_ADDRESS));
		return vmm_exit_internal(vcpu, VMM_INTERNAL_UNHANDLED_EXIT,
					 reason,
					 vmcs_read(GUEST_PHYSICAL_ADDRESS));
	case EXIT_REASON_MSR_READ:
		return vmx_handle_msr(vcpu, false);
	case EXIT_REASON_MSR_WRITE:
		return vmx_handle_msr(vcpu, true);
	case EXIT_REASON_CR_ACCESS:
		return vmx_handle_cr(vcpu, qual);
	case EXIT_REASON_DR_ACCESS:
		return vmx_handle_dr(vcpu, qual);
	case EXIT_REASON_INVD:
	case EXIT_REASON_WBINVD:
		vmx_skip();
		return 1;
	case EXIT_REASON_VMCALL:
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMOFF:
	case EXIT_REASON_VMON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
	case EXIT_REASON_MWAIT_INSTRUCTION:
	case EXIT_REASON_MONITOR_INSTRUCTION:
	case EXIT_REASON_XSETBV:
		/* Not offered in this guest's CPUID. */
		vmx_inject_exception(vcpu, X86_TRAP_UD, false, 0);
		return 1;
	case EXIT_REASON_RDPMC:
		vmx_inject_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	case EXIT_REASON_TRIPLE_FAULT:
		vmm_x86_report_shutdown(vcpu);
		vmm_x86_vcpu_reset(vcpu);
		vmx_vcpu_reset(vcpu);
		vcpu->run->exit_reason = VMM_EXIT_SHUTDOWN;
		return 0;
	default:
		/* Task switches and whatever else: userspace is told. */
		return vmm_exit_internal(vcpu, VMM_INTERNAL_UNHANDLED_EXIT,
					 reason, qual);
	}
}

static void vmx_fill_run(struct vmm_vcpu *vcpu)
{
	struct vmm_run *run = vcpu->run;

	run->if_flag = !!(vmcs_read(GUEST_RFLAGS) & X86_EFLAGS_IF);
	run->ready_for_interrupt_injection = vmx_interrupt_allowed(vcpu) &&
					     !vcpu->irq_pending;
}

/*
 * What AMD-V's VMRUN refuses and VT-x's entry checks let through (VM entry
 * does not load CR0.CD/NW): refused the same way, as an invalid guest
 * state, so that userspace sees one behaviour.
 */
static bool vmx_state_invalid(void)
{
	u64 cr0 = vmx_guest_cr0();

	return (cr0 >> 32) || ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD)) ||
	       ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE));
}

static int vmx_vcpu_run(struct vmm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = vmx_get(vcpu);
	struct vmm_guest_ctx ctx;
	struct vmx_host_save hs;
	int ret, reason = 0;

	fpu_swap_kvm_fpstate(&vcpu->fpu, true);

	/* Finish an IN or MMIO read with the data userspace supplied. */
	if (vmx->pio.pending || vmx->mmio.pending) {
		vmx_fill_ctx(vcpu, &ctx);
		ret = vmm_emulate_complete(vcpu, &ctx, &vmx->pio, &vmx->mmio);
		vmx_finish_emul(vcpu, &ctx);
		if (ret <= 0)
			goto out;
	}
	if (vmx->check_state) {
		if (vmx_state_invalid()) {
			ret = vmx_fail_entry(vcpu, VMX_EXIT_FAILED_ENTRY |
					     EXIT_REASON_INVALID_STATE, 0);
			goto out;
		}
		vmx->check_state = false;
	}

	for (;;) {
		struct vmx_cpu *vc;
		bool fast;

		if (signal_pending(current)) {
			vcpu->run->exit_reason = VMM_EXIT_INTR;
			ret = -EINTR;
			break;
		}
		cond_resched();
		if (vcpu->lapic) {
			/* INIT/SIPI/NMIs from others; HLT waits here. */
			ret = vmm_lapic_pre_run(vcpu);
			if (ret) {
				vcpu->run->exit_reason = VMM_EXIT_INTR;
				break;
			}
		}
		vmx_inject_events(vcpu);
		if (!vcpu->lapic && vcpu->run->request_interrupt_window &&
		    !vcpu->irq_pending && vmx_interrupt_allowed(vcpu)) {
			/* The window asked for is open now: say so at once. */
			vcpu->run->exit_reason = VMM_EXIT_IRQ_WINDOW_OPEN;
			ret = 0;
			break;
		}

		preempt_disable();
		vc = this_cpu_ptr(&vmx_cpu);
		if (unlikely(!vc->enabled)) {
			atomic_t failed = ATOMIC_INIT(0);

			/* A CPU that came online after the VM was made. */
			local_irq_disable();
			vmx_enable_cpu(&failed);
			local_irq_enable();
			if (atomic_read(&failed)) {
				preempt_enable();
				ret = -EBUSY;
				break;
			}
		}
		vmx_load(vmx);
		local_irq_disable();
		WRITE_ONCE(vcpu->mode, VMM_IN_GUEST);
		/* Pairs with vmm_vcpu_kick_all(): mode before requests. */
		smp_mb();
		if (need_resched() || signal_pending(current) ||
		    test_bit(VMM_REQ_EVENT, &vcpu->requests)) {
			WRITE_ONCE(vcpu->mode, VMM_OUTSIDE_GUEST);
			local_irq_enable();
			preempt_enable();
			continue;
		}
		/*
		 * Preempted since the guest's FPU state was loaded: load it
		 * again before the guest runs (see svm.c).
		 */
		if (test_thread_flag(TIF_NEED_FPU_LOAD))
			switch_fpu_return();
		if (test_and_clear_bit(VMM_REQ_TLB_FLUSH, &vcpu->requests) ||
		    vmx->need_flush || !vmx->vpid) {
			vmx_flush_guest(vcpu);
			vmx->need_flush = false;
		}
		vmx_refresh_host(vmx);
		vmx_switch_to_guest(vmx, &hs);
		do {
			reason = vmx_enter(vcpu, vmx);
			fast = reason >= 0 &&
			       vmx_handle_exit_irqoff(vcpu, reason);
		} while (fast && !READ_ONCE(vcpu->requests) &&
			 !need_resched());
		vmx_switch_to_host(vmx, &hs);
		WRITE_ONCE(vcpu->mode, VMM_OUTSIDE_GUEST);
		local_irq_enable();
		preempt_enable();

		if (fast)
			continue;
		ret = vmx_handle_exit(vcpu, reason);
		if (ret <= 0)
			break;
	}
out:
	vmx_fill_run(vcpu);
	fpu_swap_kvm_fpstate(&vcpu->fpu, false);
	vmx_put(vmx);
	return ret;
}

/* INIT (@sipi < 0) or STARTUP from the in-kernel LAPIC. */
static void vmx_vcpu_init_event(struct vmm_vcpu *vcpu, int sipi)
{
	struct vmx_vcpu *vmx = vmx_get(vcpu);

	if (sipi >= 0) {
		vmcs_write(GUEST_CS_SELECTOR, sipi << 8);
		vmcs_write(GUEST_CS_BASE, (u64)sipi << 12);
		vmcs_write(GUEST_RIP, 0);
		vmx_put(vmx);
		return;
	}
	/*
	 * The state after INIT is the one after RESET, except what INIT
	 * keeps: the TSC, the MTRRs, IA32_APIC_BASE (all in vcpu->x86).
	 */
	vmx_vcpu_reset(vcpu);
	vcpu->irq_pending = false;
	vcpu->nmi_pending = false;
	vmx_put(vmx);
}

const struct vmm_engine_ops vmm_vmx_ops = {
	.name = "vmx",
	.id = VMM_ENGINE_VMX,
	.hardware_setup = vmx_hardware_setup,
	.hardware_unsetup = vmx_hardware_unsetup,
	.hardware_enable = vmx_hardware_enable,
	.hardware_disable = vmx_hardware_disable,
	.vm_init = vmx_vm_init,
	.vm_destroy = vmx_vm_destroy,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_free = vmx_vcpu_free,
	.vcpu_run = vmx_vcpu_run,
	.get_regs = vmx_get_regs,
	.set_regs = vmx_set_regs,
	.get_sregs = vmx_get_sregs,
	.set_sregs = vmx_set_sregs,
	.get_msr = vmx_get_msr,
	.set_msr = vmx_set_msr,
	.vcpu_init_event = vmx_vcpu_init_event,
};
