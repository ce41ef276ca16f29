// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: the AMD-V (SVM) engine — a VMRUN loop with nested paging.
 *
 * The loop stays in the kernel until an exit needs userspace.  Exits that
 * need no sleeping and no host interrupt (CPUID) are handled with
 * interrupts still off and the guest re-entered at once; everything else
 * is handled after the host has taken its pending interrupts.
 *
 * CPUs without NRIPS (QEMU's TCG among them) do not report the next RIP:
 * the length of each intercepted instruction is known here (CPUID, RDMSR
 * and WRMSR are two bytes, HLT one), and IOIO exits carry it in EXITINFO2.
 */
#define pr_fmt(fmt) "vmm: svm: " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <asm/svm.h>
#include <asm/msr.h>
#include <asm/cpufeature.h>
#include <asm/processor.h>
#include <asm/desc.h>
#include <asm/trapnr.h>

#include "vmm.h"
#include "emulate.h"
#include "irq/irq.h"

#define SVM_NP_ENABLE		BIT_ULL(0)
#define SVM_EXIT_ERR32		0xffffffffu	/* TCG writes -1 as 32 bits */
#define IOPM_ORDER		2	/* 12 KiB, all ports intercepted */
#define MSRPM_ORDER		1	/* 8 KiB, all MSRs intercepted */

struct svm_cpu {
	void *hsave;		/* MSR_VM_HSAVE_PA: VMRUN's host save area */
	void *host_vmcb;	/* VMSAVE/VMLOAD of host state */
	u32 asid_generation;
	u32 next_asid;
	bool enabled;		/* EFER.SVME set by us */
	bool flush_all;		/* first VMRUN after enable: flush all ASIDs */
};

static DEFINE_PER_CPU(struct svm_cpu, svm_cpu);
static void *svm_iopm, *svm_msrpm;
static u32 svm_max_asid;
static bool svm_flush_by_asid;	/* TLB_CONTROL_FLUSH_ASID works */

struct svm_vcpu {
	struct vmcb *vmcb;
	u64 vmcb_pa;
	u32 asid;
	u32 asid_generation;	/* 0: must take a new ASID */
	bool flush_tlb;		/* this ASID's translations are stale */
	u64 efer;		/* what the guest sees: SVME hidden */
	/*
	 * Lazy FPU: the guest's FPU state is loaded only once it uses it.
	 * Until then the VMCB's CR0 has TS and MP set on top of the guest's
	 * own CR0 (guest_cr0), CR0 accesses are intercepted so the guest
	 * sees its own, and #NM is intercepted to load the state.
	 */
	bool fpu_active;
	u64 guest_cr0;
	bool nmi_masked;	/* an NMI handler runs until its IRET */
	bool awaiting_iret;	/* its IRET was seen, at iret_rip... */
	bool nmi_singlestep;	/* ...and is being single-stepped */
	u64 iret_rip;
	/*
	 * The save area as last set by userspace or our MSR emulation, put
	 * back when VMRUN refuses it: a failed VMRUN may leave host values
	 * there (QEMU does), which must not reach userspace.
	 */
	bool save_dirty;
	struct vmcb_save_area good_save;
	struct vmm_mmio_pending mmio;	/* read waiting for userspace */
	struct vmm_pio_pending pio;	/* IN waiting for userspace */
};

static inline struct svm_vcpu *to_svm(struct vmm_vcpu *vcpu)
{
	return vcpu->engine;
}

static inline void svm_set_intercept(struct vmcb *vmcb, int bit)
{
	vmcb->control.intercepts[bit / 32] |= BIT(bit % 32);
}

static inline void svm_clr_intercept(struct vmcb *vmcb, int bit)
{
	vmcb->control.intercepts[bit / 32] &= ~BIT(bit % 32);
}

static inline bool svm_has_intercept(struct vmcb *vmcb, int bit)
{
	return vmcb->control.intercepts[bit / 32] & BIT(bit % 32);
}

/*
 * An interrupt waits in V_IRQ for the guest to take it: V_IRQ without
 * the VINTR intercept (with it, V_IRQ only asks for a window exit).  The
 * CPU clears V_IRQ once it has begun the delivery; one cut short by an
 * exit comes back in EXITINTINFO (svm_reinject).
 */
static bool svm_virq_loaded(struct vmcb *vmcb)
{
	return (vmcb->control.int_ctl & V_IRQ_MASK) &&
	       !svm_has_intercept(vmcb, INTERCEPT_VINTR);
}

#define SVM_LAZY_CR0	(X86_CR0_TS | X86_CR0_MP)

/* The guest's CR0, whichever of the two places holds it now. */
static u64 svm_guest_cr0(struct svm_vcpu *svm)
{
	return svm->fpu_active ? svm->vmcb->save.cr0 : svm->guest_cr0;
}

static void svm_fpu_intercepts(struct vmcb *vmcb, bool on)
{
	if (on) {
		svm_set_intercept(vmcb, INTERCEPT_CR0_READ);
		svm_set_intercept(vmcb, INTERCEPT_CR0_WRITE);
		svm_set_intercept(vmcb, INTERCEPT_EXCEPTION_OFFSET +
				  X86_TRAP_NM);
	} else {
		svm_clr_intercept(vmcb, INTERCEPT_CR0_READ);
		svm_clr_intercept(vmcb, INTERCEPT_CR0_WRITE);
		svm_clr_intercept(vmcb, INTERCEPT_EXCEPTION_OFFSET +
				  X86_TRAP_NM);
	}
}

/* The guest touched its FPU: load its state, give it CR0 as it is. */
static void svm_fpu_activate(struct vmm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	fpu_swap_kvm_fpstate(&vcpu->fpu, true);
	svm->vmcb->save.cr0 = svm->guest_cr0;
	svm_fpu_intercepts(svm->vmcb, false);
	svm->fpu_active = true;
}

/* Before returning to userspace: the host's FPU state goes back. */
static void svm_fpu_deactivate(struct vmm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (!svm->fpu_active)
		return;
	svm->guest_cr0 = svm->vmcb->save.cr0;
	fpu_swap_kvm_fpstate(&vcpu->fpu, false);
	svm->vmcb->save.cr0 = svm->guest_cr0 | SVM_LAZY_CR0;
	svm_fpu_intercepts(svm->vmcb, true);
	svm->fpu_active = false;
}

/* ---- hardware on/off ---- */

static void svm_enable_cpu(void *failed)
{
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	u64 efer;

	if (sc->enabled)
		return;
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		/* Someone else (KVM) holds SVM on this CPU. */
		atomic_inc(failed);
		return;
	}
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, __pa(sc->hsave));
	sc->enabled = true;
	/* Whatever ran before us may have left translations: start clean. */
	sc->asid_generation++;
	sc->next_asid = svm_max_asid + 1;
	sc->flush_all = true;
}

static void svm_disable_cpu(void *unused)
{
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	u64 efer;

	if (!sc->enabled)
		return;
	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
	sc->enabled = false;
}

static int svm_hardware_enable(void)
{
	atomic_t failed = ATOMIC_INIT(0);

	on_each_cpu(svm_enable_cpu, &failed, 1);
	if (atomic_read(&failed)) {
		on_each_cpu(svm_disable_cpu, NULL, 1);
		pr_err("SVM is in use by another hypervisor on %d CPU(s); if it is kvm_amd, close its VMs (6.1) or load it with enable_virt_at_load=0 (6.12+)\n",
		       atomic_read(&failed));
		return -EBUSY;
	}
	return 0;
}

static void svm_hardware_disable(void)
{
	on_each_cpu(svm_disable_cpu, NULL, 1);
}

static void svm_hardware_unsetup(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sc = per_cpu_ptr(&svm_cpu, cpu);

		free_page((unsigned long)sc->hsave);
		free_page((unsigned long)sc->host_vmcb);
		sc->hsave = sc->host_vmcb = NULL;
	}
	free_pages((unsigned long)svm_iopm, IOPM_ORDER);
	free_pages((unsigned long)svm_msrpm, MSRPM_ORDER);
	svm_iopm = svm_msrpm = NULL;
}

static int svm_hardware_setup(void)
{
	u64 vm_cr;
	int cpu;

	if (!boot_cpu_has(X86_FEATURE_SVM))
		return -ENODEV;
	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & VMM_VM_CR_SVMDIS) {
		pr_err("SVM is disabled by the firmware (VM_CR.SVMDIS)\n");
		return -ENODEV;
	}
	svm_max_asid = cpuid_ebx(SVM_CPUID_FUNC) - 1;
	vmm_caps.nested_paging = boot_cpu_has(X86_FEATURE_NPT) &&
				 vmm_param_npt;
	vmm_caps.nrips = boot_cpu_has(X86_FEATURE_NRIPS);
	svm_flush_by_asid = boot_cpu_has(X86_FEATURE_FLUSHBYASID);

	svm_iopm = (void *)__get_free_pages(GFP_KERNEL, IOPM_ORDER);
	svm_msrpm = (void *)__get_free_pages(GFP_KERNEL, MSRPM_ORDER);
	if (!svm_iopm || !svm_msrpm)
		goto nomem;
	memset(svm_iopm, 0xff, PAGE_SIZE << IOPM_ORDER);
	memset(svm_msrpm, 0xff, PAGE_SIZE << MSRPM_ORDER);
	for_each_possible_cpu(cpu) {
		struct svm_cpu *sc = per_cpu_ptr(&svm_cpu, cpu);

		sc->hsave = (void *)get_zeroed_page(GFP_KERNEL);
		sc->host_vmcb = (void *)get_zeroed_page(GFP_KERNEL);
		if (!sc->hsave || !sc->host_vmcb)
			goto nomem;
	}
	return 0;
nomem:
	svm_hardware_unsetup();
	return -ENOMEM;
}

/* ---- VMs and vCPUs ---- */

static int svm_vm_init(struct vmm_vm *vm)
{
	if (!vmm_caps.nested_paging) {
		pr_info_once("nested paging is off (npt=0) and shadow paging is not built yet: no VMs\n");
		return -EOPNOTSUPP;
	}
	return 0;
}

static void svm_vm_destroy(struct vmm_vm *vm)
{
}

static void svm_seg_set(struct vmcb_seg *s, const struct vmm_segment *v)
{
	s->selector = v->selector;
	s->base = v->base;
	s->limit = v->limit;
	s->attrib = (v->type & 0xf) | (v->s & 1) << 4 | (v->dpl & 3) << 5 |
		    (v->present & 1) << 7 | (v->avl & 1) << 8 |
		    (v->l & 1) << 9 | (v->db & 1) << 10 | (v->g & 1) << 11;
	if (v->unusable)
		s->attrib &= ~SVM_SELECTOR_P_MASK;
}

static void svm_seg_get(const struct vmcb_seg *s, struct vmm_segment *v)
{
	v->selector = s->selector;
	v->base = s->base;
	v->limit = s->limit;
	v->type = s->attrib & 0xf;
	v->s = (s->attrib >> 4) & 1;
	v->dpl = (s->attrib >> 5) & 3;
	v->present = (s->attrib >> 7) & 1;
	v->avl = (s->attrib >> 8) & 1;
	v->l = (s->attrib >> 9) & 1;
	v->db = (s->attrib >> 10) & 1;
	v->g = (s->attrib >> 11) & 1;
	v->unusable = !v->present;
}

/* The state of an x86 CPU after RESET, as the APM gives it. */
static void svm_vcpu_reset(struct vmm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	struct vmcb_control_area *c = &vmcb->control;
	struct vmcb_save_area *s = &vmcb->save;
	static const int intercepts[] = {
		INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI, INTERCEPT_CPUID,
		INTERCEPT_HLT, INTERCEPT_INVD, INTERCEPT_INVLPGA,
		INTERCEPT_IOIO_PROT, INTERCEPT_MSR_PROT, INTERCEPT_SHUTDOWN,
		INTERCEPT_RDPMC, INTERCEPT_TASK_SWITCH,
		INTERCEPT_VMRUN, INTERCEPT_VMMCALL, INTERCEPT_VMLOAD,
		INTERCEPT_VMSAVE, INTERCEPT_STGI, INTERCEPT_CLGI,
		INTERCEPT_SKINIT, INTERCEPT_MONITOR, INTERCEPT_MWAIT,
		INTERCEPT_XSETBV, INTERCEPT_RDPRU,
		/*
		 * #AC and #DB can be made to recur forever during delivery
		 * (CVE-2015-5307, CVE-2015-8104): intercepting them gives
		 * the host an exit on each round.
		 */
		INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_AC,
		INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_DB,
	};
	struct vmm_segment seg = { .limit = 0xffff, .present = 1, .s = 1,
				   .type = 3 };
	struct vmm_segment sys = { .limit = 0xffff, .present = 1 };
	int i;

	memset(vmcb, 0, PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(intercepts); i++)
		svm_set_intercept(vmcb, intercepts[i]);
	c->iopm_base_pa = __pa(svm_iopm);
	c->msrpm_base_pa = __pa(svm_msrpm);
	/* Guest IF masks only virtual interrupts; host IF the physical. */
	c->int_ctl = V_INTR_MASKING_MASK;
	c->nested_ctl = SVM_NP_ENABLE;
	c->nested_cr3 = __pa(vcpu->vm->tdp.root);
	c->tsc_offset = vcpu->x86.tsc_offset;

	svm_seg_set(&s->ds, &seg);
	s->es = s->ss = s->fs = s->gs = s->ds;
	seg.type = 0xb;
	seg.selector = 0xf000;
	seg.base = 0xffff0000;
	svm_seg_set(&s->cs, &seg);
	sys.type = 2;	/* LDT */
	svm_seg_set(&s->ldtr, &sys);
	sys.type = 3;	/* busy 16-bit TSS */
	svm_seg_set(&s->tr, &sys);
	s->gdtr.limit = s->idtr.limit = 0xffff;
	s->rip = 0xfff0;
	s->rflags = X86_EFLAGS_FIXED;
	/* Callers have put the guest's FPU state away (fpu_active false). */
	svm->guest_cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
	s->cr0 = svm->guest_cr0 | SVM_LAZY_CR0;
	svm_fpu_intercepts(vmcb, true);
	s->dr6 = 0xffff0ff0;	/* DR6 and DR7 at RESET */
	s->dr7 = 0x400;
	s->efer = EFER_SVME;
	s->g_pat = VMM_X86_PAT_RESET;
	svm->efer = 0;
	memset(vcpu->gpr, 0, sizeof(vcpu->gpr));
	vcpu->gpr[VMM_RDX] = 0x600;	/* family 6 signature, as at RESET */
	svm->asid_generation = 0;
	svm->nmi_masked = svm->awaiting_iret = svm->nmi_singlestep = false;
	svm->save_dirty = true;
}

static int svm_vcpu_create(struct vmm_vcpu *vcpu)
{
	struct svm_vcpu *svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);

	if (!svm)
		return -ENOMEM;
	svm->vmcb = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!svm->vmcb) {
		kfree(svm);
		return -ENOMEM;
	}
	svm->vmcb_pa = __pa(svm->vmcb);
	vcpu->engine = svm;
	vmm_x86_vcpu_reset(vcpu);
	svm_vcpu_reset(vcpu);
	return 0;
}

static void svm_vcpu_free(struct vmm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (!svm)
		return;
	free_page((unsigned long)svm->vmcb);
	kfree(svm);
	vcpu->engine = NULL;
}

/* ---- register state ---- */

static void svm_get_regs(struct vmm_vcpu *vcpu, struct vmm_regs *r)
{
	struct vmcb_save_area *s = &to_svm(vcpu)->vmcb->save;

	vmm_x86_get_gprs(vcpu, r);
	r->rip = s->rip;
	r->rflags = s->rflags;
}

static int svm_set_regs(struct vmm_vcpu *vcpu, const struct vmm_regs *r)
{
	struct vmcb_save_area *s = &to_svm(vcpu)->vmcb->save;

	vmm_x86_set_gprs(vcpu, r);
	s->rip = r->rip;
	/* Bit 1 is always set; reserved bits are not the guest's to set. */
	s->rflags = (r->rflags & VMM_X86_RFLAGS_MASK) | X86_EFLAGS_FIXED;
	to_svm(vcpu)->save_dirty = true;
	return 0;
}

static void svm_get_sregs(struct vmm_vcpu *vcpu, struct vmm_sregs *sr)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;

	svm_seg_get(&s->cs, &sr->cs);
	svm_seg_get(&s->ds, &sr->ds);
	svm_seg_get(&s->es, &sr->es);
	svm_seg_get(&s->fs, &sr->fs);
	svm_seg_get(&s->gs, &sr->gs);
	svm_seg_get(&s->ss, &sr->ss);
	svm_seg_get(&s->tr, &sr->tr);
	svm_seg_get(&s->ldtr, &sr->ldt);
	sr->gdt.base = s->gdtr.base;
	sr->gdt.limit = s->gdtr.limit;
	sr->idt.base = s->idtr.base;
	sr->idt.limit = s->idtr.limit;
	sr->cr0 = svm_guest_cr0(svm);
	sr->cr2 = s->cr2;
	sr->cr3 = s->cr3;
	sr->cr4 = s->cr4;
	sr->cr8 = svm->vmcb->control.int_ctl & V_TPR_MASK;
	/* LMA is the CPU's to set; report the VMCB's view without SVME. */
	sr->efer = (svm->efer & ~EFER_LMA) | (s->efer & EFER_LMA);
	sr->apic_base = vcpu->lapic ? vmm_lapic_get_base(vcpu) :
				      vcpu->x86.apic_base;
}

static int svm_set_sregs(struct vmm_vcpu *vcpu, const struct vmm_sregs *sr)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;

	if (sr->efer & ~VMM_X86_EFER_GUEST)
		return -EINVAL;
	if (sr->cr8 > 15)
		return -EINVAL;
	if (vcpu->lapic) {
		if (!vmm_lapic_set_base(vcpu, sr->apic_base, true))
			return -EINVAL;
		vmm_lapic_set_cr8(vcpu, sr->cr8);
	}
	svm_seg_set(&s->cs, &sr->cs);
	svm_seg_set(&s->ds, &sr->ds);
	svm_seg_set(&s->es, &sr->es);
	svm_seg_set(&s->fs, &sr->fs);
	svm_seg_set(&s->gs, &sr->gs);
	svm_seg_set(&s->ss, &sr->ss);
	svm_seg_set(&s->tr, &sr->tr);
	svm_seg_set(&s->ldtr, &sr->ldt);
	s->gdtr.base = sr->gdt.base;
	s->gdtr.limit = sr->gdt.limit;
	s->idtr.base = sr->idt.base;
	s->idtr.limit = sr->idt.limit;
	svm->guest_cr0 = sr->cr0;
	s->cr0 = sr->cr0 | (svm->fpu_active ? 0 : SVM_LAZY_CR0);
	s->cr2 = sr->cr2;
	s->cr3 = sr->cr3;
	s->cr4 = sr->cr4;
	s->cpl = (sr->cs.selector & 3) ? (sr->ss.dpl & 3) : 0;
	if (!(sr->cr0 & X86_CR0_PE))
		s->cpl = 0;
	svm->vmcb->control.int_ctl = (svm->vmcb->control.int_ctl &
				      ~V_TPR_MASK) | sr->cr8;
	svm->efer = sr->efer;
	s->efer = sr->efer | EFER_SVME;
	vcpu->x86.apic_base = sr->apic_base;
	svm->save_dirty = true;
	return 0;
}

/*
 * svm_get_msr/svm_set_msr - the MSRs a guest may use (all are
 * intercepted): those the VMCB holds, then x86.c's.  @host is true for
 * the ioctl: it may set what the guest may not.  Return 0, or 1 for an
 * MSR we do not handle or a value refused (#GP to a guest).
 */
static int svm_get_msr(struct vmm_vcpu *vcpu, u32 index, u64 *data)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;

	switch (index) {
	case MSR_EFER:
		*data = (svm->efer & ~EFER_LMA) | (s->efer & EFER_LMA);
		break;
	case MSR_STAR:
		*data = s->star;
		break;
	case MSR_LSTAR:
		*data = s->lstar;
		break;
	case MSR_CSTAR:
		*data = s->cstar;
		break;
	case MSR_SYSCALL_MASK:
		*data = s->sfmask;
		break;
	case MSR_KERNEL_GS_BASE:
		*data = s->kernel_gs_base;
		break;
	case MSR_FS_BASE:
		*data = s->fs.base;
		break;
	case MSR_GS_BASE:
		*data = s->gs.base;
		break;
	case MSR_IA32_SYSENTER_CS:
		*data = s->sysenter_cs;
		break;
	case MSR_IA32_SYSENTER_ESP:
		*data = s->sysenter_esp;
		break;
	case MSR_IA32_SYSENTER_EIP:
		*data = s->sysenter_eip;
		break;
	case MSR_IA32_CR_PAT:
		*data = s->g_pat;
		break;
	default:
		return vmm_x86_get_msr(vcpu, index, data) ? 1 : 0;
	}
	return 0;
}

static int svm_set_msr(struct vmm_vcpu *vcpu, u32 index, u64 data, bool host)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;

	svm->save_dirty = true;

	switch (index) {
	case MSR_EFER:
		if (data & ~VMM_X86_EFER_GUEST)
			return 1;
		/* LMA follows CR0.PG; the guest cannot write it. */
		if (!host)
			data = (data & ~EFER_LMA) | (s->efer & EFER_LMA);
		svm->efer = data;
		s->efer = data | EFER_SVME;
		break;
	case MSR_STAR:
		s->star = data;
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
			s->lstar = data;
		else if (index == MSR_CSTAR)
			s->cstar = data;
		else if (index == MSR_KERNEL_GS_BASE)
			s->kernel_gs_base = data;
		else if (index == MSR_FS_BASE)
			s->fs.base = data;
		else if (index == MSR_GS_BASE)
			s->gs.base = data;
		else if (index == MSR_IA32_SYSENTER_ESP)
			s->sysenter_esp = data;
		else
			s->sysenter_eip = data;
		break;
	case MSR_SYSCALL_MASK:
		s->sfmask = (u32)data;
		break;
	case MSR_IA32_SYSENTER_CS:
		s->sysenter_cs = (u16)data;
		break;
	case MSR_IA32_CR_PAT:
		if (!vmm_x86_pat_valid(data))
			return 1;
		s->g_pat = data;
		break;
	default:
		if (vmm_x86_set_msr(vcpu, index, data, host))
			return 1;
		/* IA32_TSC moves the offset: the VMCB follows at once. */
		svm->vmcb->control.tsc_offset = vcpu->x86.tsc_offset;
	}
	return 0;
}

/* ---- events ---- */

static void svm_inject_exception(struct vmm_vcpu *vcpu, int vector,
				 bool has_error, u32 error)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	c->event_inj = vector | SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT |
		       (has_error ? SVM_EVTINJ_VALID_ERR : 0);
	c->event_inj_err = error;
}

static bool svm_interrupt_allowed(struct vmm_vcpu *vcpu)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	return (vmcb->save.rflags & X86_EFLAGS_IF) &&
	       !(vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK) &&
	       !(vmcb->control.event_inj & SVM_EVTINJ_VALID) &&
	       !svm_virq_loaded(vmcb);
}

/* Ask for a VINTR exit as soon as the guest can take an interrupt. */
static void svm_request_window(struct vmcb *vmcb)
{
	vmcb->control.int_ctl |= V_IRQ_MASK | V_INTR_PRIO_MASK | V_IGN_TPR_MASK;
	svm_set_intercept(vmcb, INTERCEPT_VINTR);
}

static void svm_clear_window(struct vmcb *vmcb)
{
	vmcb->control.int_ctl &= ~(V_IRQ_MASK | V_INTR_PRIO_MASK |
				   V_IGN_TPR_MASK);
	svm_clr_intercept(vmcb, INTERCEPT_VINTR);
}

/*
 * A vector held back by the TPR alone: exit when the guest lowers CR8
 * below its class (V_IRQ at that priority, without V_IGN_TPR).
 */
static void svm_request_tpr_window(struct vmcb *vmcb, int class)
{
	vmcb->control.int_ctl &= ~(V_INTR_PRIO_MASK | V_IGN_TPR_MASK);
	vmcb->control.int_ctl |= V_IRQ_MASK | (class << V_INTR_PRIO_SHIFT);
	svm_set_intercept(vmcb, INTERCEPT_VINTR);
}

/*
 * svm_load_virq - hand external interrupt @vector to the guest, which can
 * take it now (or had begun to: svm_reinject)
 *
 * Through V_IRQ, not EVENTINJ: the CPU delivers it as soon as the guest
 * runs, IF being set and no interrupt shadow in force, and clears V_IRQ.
 * EVENTINJ would do as well on silicon, but QEMU's TCG (7.2 and later)
 * delivers an EVENTINJ interrupt inside VMRUN and leaves its vector as
 * the CPU's pending exception, so that a kick of the emulator's CPU loop
 * (another CPU's interrupt, its round-robin timer) delivers it a second
 * time, whatever IF says.  A Linux guest with two vCPUs took such a copy
 * between its interrupt entry and SWAPGS and died of a stack overflow
 * (scripts/testbed: the -c 2 boot, once in about 50).
 */
static void svm_load_virq(struct vmm_vcpu *vcpu, u8 vector)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;

	c->int_vector = vector;
	c->int_ctl &= ~(V_INTR_PRIO_MASK | V_IGN_TPR_MASK);
	/* Our LAPIC has judged the TPR already: the CPU must not again. */
	c->int_ctl |= V_IRQ_MASK | V_IGN_TPR_MASK |
		      (0xf << V_INTR_PRIO_SHIFT);
	/* A window exit would come instead of the delivery. */
	svm_clr_intercept(svm->vmcb, INTERCEPT_VINTR);
}

/* With an irqchip: the PIC's or the LAPIC's interrupt, when IF allows. */
static void svm_irqchip_inject(struct vmm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	int tpr_class, v;

	if (svm_virq_loaded(svm->vmcb))
		return;		/* the guest has yet to take the last one */
	if (!vmm_irq_pending(vcpu, &tpr_class)) {
		if (tpr_class > 0)
			svm_request_tpr_window(vmcb, tpr_class);
		return;
	}
	/*
	 * Acknowledged only when the guest can take it at once, as a CPU's
	 * INTA comes only then: until that moment the guest may still mask
	 * the source (a PIC's ExtINT behind LINT0, say).
	 */
	if (!svm_interrupt_allowed(vcpu)) {
		svm_request_window(vmcb);
		return;
	}
	v = vmm_irq_ack(vcpu);
	if (v >= 0)
		svm_load_virq(vcpu, v);
}

/*
 * Before entry: an exception or NMI into EVENTINJ, an external interrupt
 * into V_IRQ.
 */
static void svm_inject_events(struct vmm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	struct vmcb_control_area *c = &vmcb->control;

	/* The LAPIC's TPR is what the guest sees in CR8. */
	if (vcpu->lapic)
		c->int_ctl = (c->int_ctl & ~V_TPR_MASK) |
			     vmm_lapic_get_cr8(vcpu);
	/* RIP has left the handler's IRET: the IRET has run. */
	if (svm->awaiting_iret && vmcb->save.rip != svm->iret_rip) {
		svm->awaiting_iret = false;
		svm->nmi_masked = false;
	}
	if (c->event_inj & SVM_EVTINJ_VALID)
		return;		/* a re-injection goes first */
	if (vcpu->nmi_pending && svm->awaiting_iret && !svm->nmi_singlestep) {
		/* Step over the IRET to learn at once that it is done. */
		vmcb->save.rflags |= X86_EFLAGS_TF;
		svm->nmi_singlestep = true;
	}
	if (vcpu->nmi_pending && !svm->nmi_masked &&
	    !(c->int_state & SVM_INTERRUPT_SHADOW_MASK)) {
		c->event_inj = X86_TRAP_NMI | SVM_EVTINJ_VALID |
			       SVM_EVTINJ_TYPE_NMI;
		vcpu->nmi_pending = false;
		svm->nmi_masked = true;
		svm_set_intercept(vmcb, INTERCEPT_IRET);
		return;
	}
	if (vcpu->lapic) {
		svm_irqchip_inject(vcpu);
		return;
	}
	if (svm_virq_loaded(svm->vmcb))
		return;
	if (vcpu->irq_pending) {
		if (svm_interrupt_allowed(vcpu)) {
			svm_load_virq(vcpu, vcpu->irq_vector);
			vcpu->irq_pending = false;
		} else {
			svm_request_window(vmcb);
		}
	} else if (vcpu->run->request_interrupt_window &&
		   !svm_interrupt_allowed(vcpu)) {
		svm_request_window(vmcb);
	}
}

/*
 * An exit that interrupted the delivery of an event (a nested page fault
 * on the IDT, say) must deliver it again.  Software interrupts and #BP/#OF
 * are not re-injected: RIP still points at their instruction, which runs
 * again.  An external interrupt goes back into V_IRQ (svm_load_virq says
 * why); QEMU reports one it took from V_IRQ as an exception with its
 * vector and leaves V_IRQ set, and then V_IRQ delivers it again alone.
 */
static void svm_reinject(struct vmm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	u32 info = c->exit_int_info;
	u32 type = info & SVM_EXITINTINFO_TYPE_MASK;
	u8 vector = info & SVM_EXITINTINFO_VEC_MASK;

	if (!(info & SVM_EXITINTINFO_VALID))
		return;
	if (type == SVM_EXITINTINFO_TYPE_SOFT ||
	    (type == SVM_EXITINTINFO_TYPE_EXEPT &&
	     (vector == X86_TRAP_BP || vector == X86_TRAP_OF)))
		return;
	if (type == SVM_EXITINTINFO_TYPE_INTR ||
	    (type == SVM_EXITINTINFO_TYPE_EXEPT && vector >= 32)) {
		if (!svm_virq_loaded(svm->vmcb))
			svm_load_virq(vcpu, vector);
		return;
	}
	c->event_inj = info;
	c->event_inj_err = c->exit_int_info_err;
}

/* ---- entry ---- */

/* Called with interrupts off, before every VMRUN on this CPU. */
static void svm_pre_run(struct vmm_vcpu *vcpu, struct svm_cpu *sc, int cpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;

	if (unlikely(vcpu->cpu != cpu)) {
		/* ASIDs are per CPU: a moved vCPU takes a new one. */
		WRITE_ONCE(vcpu->cpu, cpu);
		svm->asid_generation = 0;
	}
	if (test_and_clear_bit(VMM_REQ_TLB_FLUSH, &vcpu->requests))
		svm->flush_tlb = true;

	c->tlb_ctl = TLB_CONTROL_DO_NOTHING;
	/*
	 * Stale translations: flushed for this ASID alone where the CPU can
	 * (FlushByAsid), else left behind by taking a fresh ASID, which
	 * costs a flush of all ASIDs once they run out.
	 */
	if (unlikely(svm->flush_tlb)) {
		svm->flush_tlb = false;
		if (svm_flush_by_asid)
			c->tlb_ctl = TLB_CONTROL_FLUSH_ASID;
		else
			svm->asid_generation = 0;
	}
	if (unlikely(svm->asid_generation != sc->asid_generation)) {
		/* A fresh ASID has no stale translations, until wrap. */
		if (sc->next_asid > svm_max_asid) {
			sc->asid_generation++;
			sc->next_asid = 1;
			c->tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
		}
		svm->asid = sc->next_asid++;
		svm->asid_generation = sc->asid_generation;
		c->asid = svm->asid;
	}
	if (unlikely(sc->flush_all)) {
		c->tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
		sc->flush_all = false;
	}
}

/* VMM_GET_STATS: which kind an exit code counts as. */
static enum vmm_stat svm_exit_kind(u32 code)
{
	switch (code) {
	case SVM_EXIT_IOIO:
		return VMM_STAT_IO;
	case SVM_EXIT_NPF:
		return VMM_STAT_NPF;
	case SVM_EXIT_MSR:
		return VMM_STAT_MSR;
	case SVM_EXIT_CPUID:
		return VMM_STAT_CPUID;
	case SVM_EXIT_HLT:
		return VMM_STAT_HLT;
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
		return VMM_STAT_INTR;
	case SVM_EXIT_VINTR:
		return VMM_STAT_VINTR;
	case SVM_EXIT_READ_CR0 ... SVM_EXIT_WRITE_CR8:
		return VMM_STAT_CR;
	case SVM_EXIT_EXCP_BASE ... SVM_EXIT_EXCP_BASE + 31:
		return VMM_STAT_EXCEPTION;
	default:
		return VMM_STAT_OTHER;
	}
}

static __always_inline void svm_vmrun(struct vmm_vcpu *vcpu,
				      struct svm_cpu *sc)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;

	vmcb->save.rax = vcpu->gpr[VMM_RAX];
	vmcb->save.rsp = vcpu->gpr[VMM_RSP];
	vmcb->control.exit_int_info = 0;
	if (unlikely(svm->save_dirty)) {
		svm->good_save = vmcb->save;
		svm->save_dirty = false;
	}

	asm volatile("clgi" ::: "memory");
	raw_local_irq_enable();
	vmm_svm_vmrun(svm->vmcb_pa, vcpu->gpr, __pa(sc->host_vmcb));
	raw_local_irq_disable();
	asm volatile("stgi" ::: "memory");

	vcpu->gpr[VMM_RAX] = vmcb->save.rax;
	vcpu->gpr[VMM_RSP] = vmcb->save.rsp;
	vmcb->control.event_inj = 0;
	/* Flushed once: a fast re-entry (CPUID) need not flush again. */
	vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
	vcpu->run->exit_count++;
	vcpu->stats[svm_exit_kind(vmcb->control.exit_code)]++;
}

/* ---- exit handlers ---- */

static void svm_skip(struct vmm_vcpu *vcpu, unsigned int len)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	if (vmm_caps.nrips && vmcb->control.next_rip)
		vmcb->save.rip = vmcb->control.next_rip;
	else
		vmcb->save.rip += len;
	vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
}

static void svm_cpuid(struct vmm_vcpu *vcpu)
{
	vmm_x86_cpuid(vcpu, to_svm(vcpu)->vmcb->save.cr4);
	svm_skip(vcpu, 2);
}

/*
 * Exits handled with interrupts still off; returns true when the guest
 * can be re-entered at once.
 */
static bool svm_handle_exit_irqoff(struct vmm_vcpu *vcpu)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	if (vmcb->control.exit_code == SVM_EXIT_CPUID &&
	    !(vmcb->control.exit_int_info & SVM_EXITINTINFO_VALID)) {
		svm_cpuid(vcpu);
		return true;
	}
	return false;
}

static void svm_fill_ctx(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx)
{
	struct vmcb_save_area *s = &to_svm(vcpu)->vmcb->save;
	const struct vmcb_seg *segs[VMM_NR_SEGS] = {
		[VMM_SEG_ES] = &s->es, [VMM_SEG_CS] = &s->cs,
		[VMM_SEG_SS] = &s->ss, [VMM_SEG_DS] = &s->ds,
		[VMM_SEG_FS] = &s->fs, [VMM_SEG_GS] = &s->gs,
	};
	int i;

	ctx->cr0 = svm_guest_cr0(to_svm(vcpu));
	ctx->cr3 = s->cr3;
	ctx->cr4 = s->cr4;
	ctx->efer = s->efer & ~EFER_SVME;
	ctx->rip = s->rip;
	ctx->rflags = s->rflags;
	ctx->cpl = s->cpl;
	for (i = 0; i < VMM_NR_SEGS; i++) {
		ctx->seg_base[i] = segs[i]->base;
		ctx->seg_limit[i] = segs[i]->limit;
		ctx->seg_attr[i] = segs[i]->attrib;
	}
	ctx->cs_l = (s->cs.attrib & SVM_SELECTOR_L_MASK) &&
		    (s->efer & EFER_LMA);
	ctx->cs_db = !!(s->cs.attrib & SVM_SELECTOR_DB_MASK);
	ctx->fault_vector = -1;
}

static void svm_put_ctx(struct vmm_vcpu *vcpu, const struct vmm_guest_ctx *ctx)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	vmcb->save.rip = ctx->rip;
	vmcb->save.rflags = ctx->rflags;
	vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
}

/* Inject what the emulator asked for (#PF, #GP, #UD). */
static void svm_emul_fault(struct vmm_vcpu *vcpu,
			   const struct vmm_guest_ctx *ctx)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	if (ctx->fault_vector == X86_TRAP_PF)
		vmcb->save.cr2 = ctx->fault_addr;
	svm_inject_exception(vcpu, ctx->fault_vector, ctx->fault_has_error,
			     ctx->fault_error);
}

static int svm_handle_ioio(struct vmm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	u32 info = vmcb->control.exit_info_1;
	struct vmm_pio pio = {
		.in = info & SVM_IOIO_TYPE_MASK,
		.string = !!(info & SVM_IOIO_STR_MASK),
		.rep = !!(info & SVM_IOIO_REP_MASK),
		.size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT,
		/* REP, address size, segment: emulate.c decodes them. */
		.port = info >> 16,
		.next_rip = vmcb->control.exit_info_2,
	};
	struct vmm_guest_ctx ctx;
	int ret;

	/* The PIC and the PIT answer in the kernel. */
	if (vmm_x86_pio_irqchip(vcpu, &pio)) {
		vmcb->save.rip = pio.next_rip;
		vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
		return 1;
	}
	svm_fill_ctx(vcpu, &ctx);
	ret = vmm_emulate_pio(vcpu, &ctx, &pio, &svm->pio);
	if (ctx.fault_vector >= 0)
		svm_emul_fault(vcpu, &ctx);
	else
		svm_put_ctx(vcpu, &ctx);
	return ret;
}

static int svm_handle_npf(struct vmm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	u64 gpa = c->exit_info_2;
	bool write = c->exit_info_1 & BIT(1);	/* #PF error code W */
	struct vmm_guest_ctx ctx;
	int ret;

	ret = vmm_tdp_fault(vcpu, gpa, write);
	if (ret == VMM_TDP_RETRY)
		return 1;
	if (ret < 0)
		return vmm_exit_internal(vcpu, VMM_INTERNAL_MEMORY, gpa, -ret);
	if (c->exit_int_info & SVM_EXITINTINFO_VALID)
		/* Event delivery touched MMIO (an IDT there?): give up. */
		return vmm_exit_internal(vcpu, VMM_INTERNAL_DELIVERY, gpa,
					 c->exit_int_info);

	svm_fill_ctx(vcpu, &ctx);
	ret = vmm_emulate_mmio(vcpu, &ctx, gpa, &svm->mmio);
	if (ctx.fault_vector >= 0)
		svm_emul_fault(vcpu, &ctx);
	else
		svm_put_ctx(vcpu, &ctx);
	return ret;
}

/*
 * svm_set_cr0 - a guest write to CR0 while CR0 is intercepted (lazy FPU).
 * Does what the CPU would: the architectural checks, long mode switched
 * on or off with paging (EFER.LMA), a TLB flush when translation changes.
 * Returns false for a value the CPU would refuse with #GP.
 */
static bool svm_set_cr0(struct vmm_vcpu *vcpu, u64 cr0)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;
	u64 old = svm->guest_cr0;
	/* LMA lives in the VMCB: the CPU sets it while CR0 is not ours. */
	u64 efer = (svm->efer & ~EFER_LMA) | (s->efer & EFER_LMA);

	if (!vmm_x86_cr0_write(old, &cr0, s->cr4, &efer))
		return false;
	svm->efer = efer;
	s->efer = efer | EFER_SVME;
	svm->guest_cr0 = cr0;
	s->cr0 = cr0 | SVM_LAZY_CR0;
	/* The CPU flushes on such a MOV to CR0; ours emulated it. */
	if ((old ^ cr0) & VMM_X86_CR0_FLUSH)
		svm->flush_tlb = true;
	return true;
}

static int svm_handle_cr0(struct vmm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmm_guest_ctx ctx;
	bool write;
	u64 cr0;
	int ret;

	svm_fill_ctx(vcpu, &ctx);
	ret = vmm_emulate_cr0(vcpu, &ctx, svm->guest_cr0, &cr0, &write);
	if (ctx.fault_vector < 0 && write && !svm_set_cr0(vcpu, cr0))
		ctx_fault_gp(&ctx);
	if (ctx.fault_vector >= 0)
		svm_emul_fault(vcpu, &ctx);
	else if (ret > 0)
		svm_put_ctx(vcpu, &ctx);
	return ret;
}

static int svm_handle_msr(struct vmm_vcpu *vcpu)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	u32 index = vcpu->gpr[VMM_RCX];
	u64 data;

	if (vmcb->control.exit_info_1) {
		data = (u32)vcpu->gpr[VMM_RAX] |
		       (vcpu->gpr[VMM_RDX] << 32);
		if (svm_set_msr(vcpu, index, data, false)) {
			svm_inject_exception(vcpu, X86_TRAP_GP, true, 0);
			return 1;
		}
	} else {
		if (svm_get_msr(vcpu, index, &data)) {
			svm_inject_exception(vcpu, X86_TRAP_GP, true, 0);
			return 1;
		}
		vcpu->gpr[VMM_RAX] = (u32)data;
		vcpu->gpr[VMM_RDX] = data >> 32;
	}
	svm_skip(vcpu, 2);
	return 1;
}

static int svm_handle_hlt(struct vmm_vcpu *vcpu)
{
	svm_skip(vcpu, 1);
	/* An interrupt already in V_IRQ is taken as soon as the guest runs. */
	return vmm_x86_hlt(vcpu, to_svm(vcpu)->vmcb->save.rflags &
			   X86_EFLAGS_IF, svm_virq_loaded(to_svm(vcpu)->vmcb));
}

static int svm_handle_vintr(struct vmm_vcpu *vcpu)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	svm_clear_window(vmcb);
	if (!vcpu->lapic && !vcpu->irq_pending &&
	    vcpu->run->request_interrupt_window) {
		vcpu->run->exit_reason = VMM_EXIT_IRQ_WINDOW_OPEN;
		return 0;
	}
	return 1;
}

/* Returns 1 to re-enter, 0 to return to userspace, -errno on error. */
static int svm_handle_exit(struct vmm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	u32 code = vmcb->control.exit_code;

	svm_reinject(vcpu);
	if (vcpu->lapic) {
		/* The guest may have written CR8: the LAPIC's TPR follows. */
		u8 cr8 = vmcb->control.int_ctl & V_TPR_MASK;

		if (cr8 != vmm_lapic_get_cr8(vcpu))
			vmm_lapic_set_cr8(vcpu, cr8);
	}

	switch (code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
		return 1;	/* the host took it when GIF came back */
	case SVM_EXIT_VINTR:
		return svm_handle_vintr(vcpu);
	case SVM_EXIT_READ_CR0:
	case SVM_EXIT_WRITE_CR0:
		return svm_handle_cr0(vcpu);
	case SVM_EXIT_EXCP_BASE + X86_TRAP_NM:
		/* The guest's own TS or EM: its #NM.  Else it is ours. */
		if (svm->guest_cr0 & (X86_CR0_TS | X86_CR0_EM))
			svm_inject_exception(vcpu, X86_TRAP_NM, false, 0);
		else
			svm_fpu_activate(vcpu);
		return 1;
	case SVM_EXIT_CPUID:
		svm_cpuid(vcpu);
		return 1;
	case SVM_EXIT_HLT:
		return svm_handle_hlt(vcpu);
	case SVM_EXIT_IOIO:
		return svm_handle_ioio(vcpu);
	case SVM_EXIT_NPF:
		return svm_handle_npf(vcpu);
	case SVM_EXIT_MSR:
		return svm_handle_msr(vcpu);
	case SVM_EXIT_IRET:
		/*
		 * The NMI handler is about to return: the exit comes before
		 * the IRET runs, so NMIs stay masked until RIP moves on.
		 */
		svm_clr_intercept(vmcb, INTERCEPT_IRET);
		svm->awaiting_iret = true;
		svm->iret_rip = vmcb->save.rip;
		return 1;
	case SVM_EXIT_INVD:
		svm_skip(vcpu, 2);
		return 1;
	case SVM_EXIT_EXCP_BASE + X86_TRAP_AC:
		svm_inject_exception(vcpu, X86_TRAP_AC, true, 0);
		return 1;
	case SVM_EXIT_EXCP_BASE + X86_TRAP_DB:
		if (svm->nmi_singlestep) {
			/* Our own step over an NMI handler's IRET. */
			svm->nmi_singlestep = false;
			vmcb->save.dr6 &= ~BIT(14);	/* DR6.BS */
			if (vmcb->save.rip == svm->iret_rip)
				vmcb->save.rflags &= ~X86_EFLAGS_TF;
			return 1;
		}
		svm_inject_exception(vcpu, X86_TRAP_DB, false, 0);
		return 1;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMMCALL:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
	case SVM_EXIT_XSETBV:
	case SVM_EXIT_RDPRU:
		/* Not offered in this guest's CPUID. */
		svm_inject_exception(vcpu, X86_TRAP_UD, false, 0);
		return 1;
	case SVM_EXIT_RDPMC:
		svm_inject_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	case SVM_EXIT_SHUTDOWN:
		/* The VMCB is undefined after a shutdown: start over. */
		vmm_x86_report_shutdown(vcpu);
		svm_fpu_deactivate(vcpu);
		vmm_x86_vcpu_reset(vcpu);
		svm_vcpu_reset(vcpu);
		vcpu->run->exit_reason = VMM_EXIT_SHUTDOWN;
		return 0;
	case SVM_EXIT_ERR32:
		vmcb->save = svm->good_save;
		vcpu->gpr[VMM_RAX] = vmcb->save.rax;
		vcpu->gpr[VMM_RSP] = vmcb->save.rsp;
		svm->save_dirty = true;
		vcpu->run->exit_reason = VMM_EXIT_FAIL_ENTRY;
		vcpu->run->fail_entry.hardware_entry_failure_reason = code;
		vcpu->run->fail_entry.cpu = vcpu->cpu;
		return 0;
	default:
		return vmm_exit_internal(vcpu, VMM_INTERNAL_UNHANDLED_EXIT,
					 code, vmcb->control.exit_info_1);
	}
}

static void svm_fill_run(struct vmm_vcpu *vcpu)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	struct vmm_run *run = vcpu->run;

	run->if_flag = !!(vmcb->save.rflags & X86_EFLAGS_IF);
	run->ready_for_interrupt_injection = svm_interrupt_allowed(vcpu) &&
					     !vcpu->irq_pending;
}

static int svm_vcpu_run(struct vmm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmm_guest_ctx ctx;
	int ret;

	/* Finish an IN or MMIO read with the data userspace supplied. */
	if (svm->pio.pending || svm->mmio.pending) {
		svm_fill_ctx(vcpu, &ctx);
		ret = vmm_emulate_complete(vcpu, &ctx, &svm->pio, &svm->mmio);
		if (ctx.fault_vector >= 0)
			svm_emul_fault(vcpu, &ctx);
		else
			svm_put_ctx(vcpu, &ctx);
		if (ret <= 0)
			goto out;
	}

	for (;;) {
		struct svm_cpu *sc;
		bool fast;
		int cpu;

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
		svm_inject_events(vcpu);
		if (!vcpu->lapic && vcpu->run->request_interrupt_window &&
		    !vcpu->irq_pending && svm_interrupt_allowed(vcpu)) {
			/* The window asked for is open now: say so at once. */
			vcpu->run->exit_reason = VMM_EXIT_IRQ_WINDOW_OPEN;
			ret = 0;
			break;
		}

		local_irq_disable();
		cpu = smp_processor_id();
		sc = this_cpu_ptr(&svm_cpu);
		if (unlikely(!sc->enabled)) {
			atomic_t failed = ATOMIC_INIT(0);

			/* A CPU that came online after the VM was made. */
			svm_enable_cpu(&failed);
			if (atomic_read(&failed)) {
				local_irq_enable();
				ret = -EBUSY;
				break;
			}
		}
		WRITE_ONCE(vcpu->mode, VMM_IN_GUEST);
		/* Pairs with vmm_vcpu_kick_all(): mode before requests. */
		smp_mb();
		if (need_resched() || signal_pending(current) ||
		    test_bit(VMM_REQ_EVENT, &vcpu->requests)) {
			WRITE_ONCE(vcpu->mode, VMM_OUTSIDE_GUEST);
			local_irq_enable();
			continue;
		}
		/*
		 * Preempted since the guest's FPU state was loaded: the
		 * registers hold whatever the last task left there, and that
		 * task takes them back as its own at its next switch.  Load
		 * ours (the guest's, or this thread's) before the guest runs.
		 */
		if (test_thread_flag(TIF_NEED_FPU_LOAD))
			switch_fpu_return();
		svm_pre_run(vcpu, sc, cpu);
		/* Host FS/GS/TR/LDTR and syscall MSRs: fixed while IRQs are off. */
		asm volatile("vmsave %%rax" : : "a"(__pa(sc->host_vmcb)) : "memory");
		do {
			svm_vmrun(vcpu, sc);
			fast = svm_handle_exit_irqoff(vcpu);
		} while (fast && !READ_ONCE(vcpu->requests) &&
			 !need_resched());
		WRITE_ONCE(vcpu->mode, VMM_OUTSIDE_GUEST);
		local_irq_enable();

		if (fast)
			continue;
		ret = svm_handle_exit(vcpu);
		if (ret <= 0)
			break;
	}
out:
	svm_fpu_deactivate(vcpu);
	svm_fill_run(vcpu);
	return ret;
}

/* INIT (@sipi < 0) or STARTUP from the in-kernel LAPIC. */
static void svm_vcpu_init_event(struct vmm_vcpu *vcpu, int sipi)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;

	if (sipi >= 0) {
		s->cs.selector = sipi << 8;
		s->cs.base = (u64)sipi << 12;
		s->rip = 0;
		svm->save_dirty = true;
		return;
	}
	/*
	 * The state after INIT is the one after RESET, except what INIT
	 * keeps: the TSC, the MTRRs, IA32_APIC_BASE (all in vcpu->x86,
	 * which only a RESET clears).
	 */
	svm_fpu_deactivate(vcpu);
	svm_vcpu_reset(vcpu);
	vcpu->irq_pending = false;
	vcpu->nmi_pending = false;
}

const struct vmm_engine_ops vmm_svm_ops = {
	.name = "svm",
	.id = VMM_ENGINE_SVM,
	.hardware_setup = svm_hardware_setup,
	.hardware_unsetup = svm_hardware_unsetup,
	.hardware_enable = svm_hardware_enable,
	.hardware_disable = svm_hardware_disable,
	.vm_init = svm_vm_init,
	.vm_destroy = svm_vm_destroy,
	.vcpu_create = svm_vcpu_create,
	.vcpu_free = svm_vcpu_free,
	.vcpu_run = svm_vcpu_run,
	.get_regs = svm_get_regs,
	.set_regs = svm_set_regs,
	.get_sregs = svm_get_sregs,
	.set_sregs = svm_set_sregs,
	.get_msr = svm_get_msr,
	.set_msr = svm_set_msr,
	.vcpu_init_event = svm_vcpu_init_event,
};
