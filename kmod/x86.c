// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: what the x86 engines share — the CPUID exit, the MSRs that live in
 * no VMCB or VMCS (MTRRs, APIC base, TSC and its deadline, machine check,
 * the model MSRs Linux reads on AMD and on Intel, kvmclock), and the
 * guest's TSC offset.  An engine handles the MSRs it keeps in its control
 * block (EFER, the syscall MSRs, segment bases, SYSENTER, PAT) and passes
 * every other one here.
 */
#define pr_fmt(fmt) "vmm: " fmt

#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <asm/apicdef.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/tsc.h>

#include "vmm.h"
#include "emulate.h"
#include "irq/irq.h"

/* Renamed between kernels (MSR_F10H_DECFG, MSR_AMD64_DE_CFG). */
#define X86_MSR_DE_CFG		0xc0011029
#define X86_MSR_INT_PENDING_MSG	0xc0010055	/* C1E on family 0xf/0x10 */
#define X86_MSR_NB_CFG		0xc001001f
/* kvmclock, as KVM defines it (KVM_FEATURE_CLOCKSOURCE2). */
#define X86_MSR_KVM_WALL_CLOCK	0x4b564d00
#define X86_MSR_KVM_SYSTEM_TIME	0x4b564d01

/* IA32_MISC_ENABLE at RESET: fast strings on, no BTS or PEBS to offer. */
#define X86_MISC_ENABLE_RESET	(MSR_IA32_MISC_ENABLE_FAST_STRING | \
				 MSR_IA32_MISC_ENABLE_BTS_UNAVAIL | \
				 MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL)
/* IA32_ARCH_CAPABILITIES bits that say the host is not affected. */
#define X86_ARCH_CAP_NOT_AFFECTED (ARCH_CAP_RDCL_NO | ARCH_CAP_SSB_NO | \
				   ARCH_CAP_MDS_NO | ARCH_CAP_PSCHANGE_MC_NO | \
				   ARCH_CAP_TAA_NO)

/* The guest sees the host's vendor: it reads that vendor's model MSRs. */
static bool x86_amd(void)
{
	return boot_cpu_data.x86_vendor == X86_VENDOR_AMD ||
	       boot_cpu_data.x86_vendor == X86_VENDOR_HYGON;
}

void vmm_x86_vcpu_reset(struct vmm_vcpu *vcpu)
{
	struct vmm_x86 *x = &vcpu->x86;

	x->tsc_offset = -vcpu->vm->tsc_base;
	x->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE |
		       (vcpu->id == 0 ? MSR_IA32_APICBASE_BSP : 0);
	x->misc_enable = X86_MISC_ENABLE_RESET;
}

u64 vmm_x86_guest_tsc(struct vmm_vcpu *vcpu)
{
	return rdtsc() + vcpu->x86.tsc_offset;
}

void vmm_x86_cpuid(struct vmm_vcpu *vcpu, u64 cr4)
{
	struct vmm_cpuid_entry e;
	u32 fn = vcpu->gpr[VMM_RAX], idx = vcpu->gpr[VMM_RCX];
	u32 a = 0, b = 0, c = 0, d = 0;

	if (vmm_cpuid_lookup(vcpu->vm, fn, idx, &e)) {
		a = e.eax;
		b = e.ebx;
		c = e.ecx;
		d = e.edx;
		if (fn == 1) {
			/* The initial APIC id and OSXSAVE are per vCPU. */
			b = (b & 0x00ffffff) | (u32)vcpu->id << 24;
			c &= ~BIT(27);
			if (cr4 & X86_CR4_OSXSAVE)
				c |= BIT(27);
			/* TSC-deadline lives in the in-kernel LAPIC. */
			if (!vcpu->lapic)
				c &= ~BIT(24);
		} else if (fn == 0xb) {
			d = vcpu->id;	/* x2APIC id of this vCPU */
		}
	}
	vcpu->gpr[VMM_RAX] = a;
	vcpu->gpr[VMM_RBX] = b;
	vcpu->gpr[VMM_RCX] = c;
	vcpu->gpr[VMM_RDX] = d;
}

void vmm_x86_get_gprs(struct vmm_vcpu *vcpu, struct vmm_regs *r)
{
	const u64 *g = vcpu->gpr;

	r->rax = g[VMM_RAX]; r->rbx = g[VMM_RBX]; r->rcx = g[VMM_RCX];
	r->rdx = g[VMM_RDX]; r->rsi = g[VMM_RSI]; r->rdi = g[VMM_RDI];
	r->rsp = g[VMM_RSP]; r->rbp = g[VMM_RBP];
	r->r8 = g[VMM_R8]; r->r9 = g[VMM_R9]; r->r10 = g[VMM_R10];
	r->r11 = g[VMM_R11]; r->r12 = g[VMM_R12]; r->r13 = g[VMM_R13];
	r->r14 = g[VMM_R14]; r->r15 = g[VMM_R15];
}

void vmm_x86_set_gprs(struct vmm_vcpu *vcpu, const struct vmm_regs *r)
{
	u64 *g = vcpu->gpr;

	g[VMM_RAX] = r->rax; g[VMM_RBX] = r->rbx; g[VMM_RCX] = r->rcx;
	g[VMM_RDX] = r->rdx; g[VMM_RSI] = r->rsi; g[VMM_RDI] = r->rdi;
	g[VMM_RSP] = r->rsp; g[VMM_RBP] = r->rbp;
	g[VMM_R8] = r->r8; g[VMM_R9] = r->r9; g[VMM_R10] = r->r10;
	g[VMM_R11] = r->r11; g[VMM_R12] = r->r12; g[VMM_R13] = r->r13;
	g[VMM_R14] = r->r14; g[VMM_R15] = r->r15;
}

void vmm_x86_pio_in_result(struct vmm_vcpu *vcpu, int size, u32 val)
{
	u64 *rax = &vcpu->gpr[VMM_RAX];

	if (size == 4)
		*rax = val;
	else if (size == 2)
		*rax = (*rax & ~0xffffULL) | (u16)val;
	else
		*rax = (*rax & ~0xffULL) | (u8)val;
}

/*
 * vmm_x86_pio_irqchip - an IN or OUT (not a string one) for the in-kernel
 * PIC or PIT, done here with an IN's result in RAX.  Returns false when
 * there is no irqchip or the port is not theirs.
 */
bool vmm_x86_pio_irqchip(struct vmm_vcpu *vcpu, const struct vmm_pio *pio)
{
	u32 val = 0;

	if (!vcpu->lapic || pio->string)
		return false;
	if (!pio->in)
		memcpy(&val, &vcpu->gpr[VMM_RAX], pio->size);
	if (!vmm_irq_pio(vcpu, pio->port, pio->size, pio->in, &val))
		return false;
	if (pio->in)
		vmm_x86_pio_in_result(vcpu, pio->size, val);
	return true;
}

int vmm_x86_hlt(struct vmm_vcpu *vcpu, bool if_flag, bool irq_loaded)
{
	if (vcpu->lapic) {
		/* One held off by STI's shadow is taken now: no wait. */
		if (irq_loaded && if_flag)
			return 1;
		/* Waits in the kernel, in vmm_lapic_pre_run(). */
		vcpu->halt_if = if_flag;
		vcpu->mp_state = VMM_MP_HALTED;
		return 1;
	}
	/* An interrupt that can be taken now wakes the guest at once. */
	if (((vcpu->irq_pending || irq_loaded) && if_flag) ||
	    vcpu->nmi_pending)
		return 1;
	vcpu->run->exit_reason = VMM_EXIT_HLT;
	return 0;
}

bool vmm_x86_cr0_write(u64 old, u64 *cr0, u64 cr4, u64 *efer)
{
	u64 v = *cr0 | X86_CR0_ET;

	if ((v >> 32) || ((v & X86_CR0_PG) && !(v & X86_CR0_PE)) ||
	    ((v & X86_CR0_NW) && !(v & X86_CR0_CD)))
		return false;
	if (!(old & X86_CR0_PG) && (v & X86_CR0_PG) && (*efer & EFER_LME)) {
		if (!(cr4 & X86_CR4_PAE))
			return false;
		*efer |= EFER_LMA;
	} else if ((old & X86_CR0_PG) && !(v & X86_CR0_PG)) {
		*efer &= ~EFER_LMA;
	}
	*cr0 = v;
	return true;
}

void vmm_x86_report_shutdown(struct vmm_vcpu *vcpu)
{
	struct vmm_run *run = vcpu->run;
	struct vmm_sregs sr;

	memset(&run->shutdown, 0, sizeof(run->shutdown));
	vmm_engine->get_regs(vcpu, &run->shutdown.regs);
	vmm_engine->get_sregs(vcpu, &sr);
	run->shutdown.cr0 = sr.cr0;
	run->shutdown.cr2 = sr.cr2;
	run->shutdown.cr3 = sr.cr3;
	run->shutdown.cr4 = sr.cr4;
	run->shutdown.efer = sr.efer;
	run->shutdown.cs_base = sr.cs.base;
	run->shutdown.cs = sr.cs.selector;
	run->shutdown.ss = sr.ss.selector;
	run->shutdown.cs_l = sr.cs.l;
	run->shutdown.cs_db = sr.cs.db;
}

/* ---- MTRRs and PAT ---- */

/* 0x250, 0x258, 0x259, 0x268-0x26f: 11 fixed-range MTRRs in a row. */
static int x86_mtrr_fixed_index(u32 index)
{
	if (index == MSR_MTRRfix64K_00000)
		return 0;
	if (index <= MSR_MTRRfix16K_A0000)
		return 1 + index - MSR_MTRRfix16K_80000;
	return 3 + index - MSR_MTRRfix4K_C0000;
}

/* MTRR memory types: UC, WC, WT, WP, WB. */
static bool x86_mtrr_type_valid(u8 t)
{
	return t < 7 && t != 2 && t != 3;
}

static bool x86_mtrr_fixed_valid(u64 v)
{
	int i;

	for (i = 0; i < 8; i++)
		if (!x86_mtrr_type_valid(v >> (i * 8)))
			return false;
	return true;
}

bool vmm_x86_pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 t = pat >> (i * 8);

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

/* ---- kvmclock ---- */

/*
 * kvmclock: the guest's clock is one linear function of its TSC for every
 * vCPU, 0 ns at the host TSC the VM was made at (vm->tsc_base), counting
 * at the host's tsc_khz.  Written once when the guest enables it; the
 * TSC-stable flag tells the guest it may trust it across vCPUs.
 */
struct x86_pvclock {
	u32 version;
	u32 pad0;
	u64 tsc_timestamp;
	u64 system_time;
	u32 tsc_to_system_mul;
	s8 tsc_shift;
	u8 flags;
	u8 pad[2];
} __packed;

struct x86_pvclock_wall {
	u32 version;
	u32 sec;
	u32 nsec;
} __packed;

#define X86_PVCLOCK_TSC_STABLE	BIT(0)

/* ns = ((tsc << shift) * mul) >> 32 for a TSC at @hz. */
static void x86_pvclock_scale(u64 hz, u32 *mul, s8 *shift)
{
	u64 num = NSEC_PER_SEC, den = hz;
	int s = 0;

	/* Keep num/den in [1/2, 1): mul in [2^31, 2^32). */
	while (num >= den) {
		den <<= 1;
		s++;
	}
	while (num * 2 < den) {
		num <<= 1;
		s--;
	}
	*mul = mul_u64_u64_div_u64(num, 1ULL << 32, den);
	*shift = s;
}

static void x86_kvmclock_set(struct vmm_vcpu *vcpu, u64 data)
{
	struct x86_pvclock pv = {
		.version = 2,
		/* The guest TSC that reads 0 ns: the host's tsc_base. */
		.tsc_timestamp = vcpu->vm->tsc_base + vcpu->x86.tsc_offset,
		.system_time = 0,
		.flags = X86_PVCLOCK_TSC_STABLE,
	};
	u64 gpa = data & ~1ULL;

	vcpu->x86.kvmclock_msr = data;
	if (!(data & 1))
		return;
	x86_pvclock_scale((u64)max(tsc_khz, 1u) * 1000, &pv.tsc_to_system_mul,
			  &pv.tsc_shift);
	/* Not RAM, or across a page: the guest gets no clock, as on KVM. */
	if (offset_in_page(gpa) + sizeof(pv) > PAGE_SIZE ||
	    vmm_write_guest(vcpu, gpa, &pv, sizeof(pv)))
		pr_info_ratelimited("kvmclock area at 0x%llx is not RAM\n", gpa);
}

/* Wall-clock time at the guest's 0 ns. */
static void x86_kvmclock_wall(struct vmm_vcpu *vcpu, u64 gpa)
{
	struct x86_pvclock_wall w = { .version = 2 };
	u64 ns = vcpu->vm->wall_base_ns;

	vcpu->x86.wall_clock_msr = gpa;
	w.sec = div_u64_rem(ns, NSEC_PER_SEC, &w.nsec);
	if (offset_in_page(gpa) + sizeof(w) > PAGE_SIZE ||
	    vmm_write_guest(vcpu, gpa, &w, sizeof(w)))
		pr_info_ratelimited("wall clock at 0x%llx is not RAM\n", gpa);
}

/* ---- model MSRs ---- */

/* AMD's that Linux reads on an AMD CPU model. */
static int x86_get_amd_msr(u32 index, u64 *data)
{
	switch (index) {
	case MSR_K7_HWCR:
	case X86_MSR_INT_PENDING_MSG:	/* no C1E */
	case X86_MSR_NB_CFG:
	case MSR_AMD64_PATCH_LEVEL:	/* no microcode to report */
	case MSR_AMD64_LS_CFG:
	case MSR_AMD64_SYSCFG:
	case MSR_VM_CR:
	case MSR_AMD64_OSVW_ID_LENGTH:	/* no errata workarounds listed */
	case MSR_AMD64_OSVW_STATUS:
		*data = 0;
		return 0;
	case X86_MSR_DE_CFG:
		/* LFENCE serializes, as the kernel wants it to. */
		*data = BIT_ULL(1);
		return 0;
	}
	return 1;
}

static int x86_set_amd_msr(u32 index, u64 data)
{
	switch (index) {
	case MSR_AMD64_PATCH_LEVEL:
	case MSR_AMD64_LS_CFG:
	case X86_MSR_DE_CFG:
	case X86_MSR_INT_PENDING_MSG:
	case X86_MSR_NB_CFG:
	case MSR_AMD64_OSVW_ID_LENGTH:
	case MSR_AMD64_OSVW_STATUS:
		/* Nothing behind them in a guest: writes change nothing. */
		return 0;
	case MSR_K7_HWCR:
		/* Accept the reset value; no HWCR knobs to offer. */
		return data ? -EINVAL : 0;
	}
	return 1;
}

/* Whether the guest's CPUID offers IA32_ARCH_CAPABILITIES (7.0:EDX[29]). */
static bool x86_has_arch_cap(struct vmm_vcpu *vcpu)
{
	struct vmm_cpuid_entry e;

	return vmm_cpuid_lookup(vcpu->vm, 7, 0, &e) && (e.edx & BIT(29));
}

/* Intel's that Linux reads on an Intel CPU model. */
static int x86_get_intel_msr(struct vmm_vcpu *vcpu, u32 index, u64 *data)
{
	u64 host;

	switch (index) {
	case MSR_IA32_PLATFORM_ID:	/* no microcode to match */
		*data = 0;
		return 0;
	case MSR_IA32_UCODE_REV:
		/* Revision 1 in the high half: there is microcode, not ours. */
		*data = 1ULL << 32;
		return 0;
	case MSR_IA32_FEAT_CTL:
		/* Locked with VMX off: the guest sees no VMX (CPUID agrees). */
		*data = FEAT_CTL_LOCKED;
		return 0;
	case MSR_PLATFORM_INFO:
		/* Maximum non-turbo ratio of a 100 MHz bus; no CPUID faulting. */
		*data = (u64)min(tsc_khz / 100000, 0xffu) << 8;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*data = vcpu->x86.misc_enable;
		return 0;
	case MSR_IA32_ARCH_CAPABILITIES:
		if (!x86_has_arch_cap(vcpu))
			return -EINVAL;
		host = 0;
		if (boot_cpu_has(X86_FEATURE_ARCH_CAPABILITIES))
			rdmsrl_safe(MSR_IA32_ARCH_CAPABILITIES, &host);
		*data = host & X86_ARCH_CAP_NOT_AFFECTED;
		return 0;
	}
	return 1;
}

static int x86_set_intel_msr(struct vmm_vcpu *vcpu, u32 index, u64 data,
			     bool host)
{
	switch (index) {
	case MSR_IA32_UCODE_REV:
		/* Linux writes 0 before CPUID to read the revision. */
		return 0;
	case MSR_IA32_PLATFORM_ID:
	case MSR_PLATFORM_INFO:
	case MSR_IA32_ARCH_CAPABILITIES:
		return host ? 0 : -EINVAL;
	case MSR_IA32_FEAT_CTL:
		/* Locked: only the value it holds may be written again. */
		return host || data == FEAT_CTL_LOCKED ? 0 : -EINVAL;
	case MSR_IA32_MISC_ENABLE:
		/* The guest may switch fast strings; nothing else is there. */
		if (!host && ((data ^ vcpu->x86.misc_enable) &
			      ~MSR_IA32_MISC_ENABLE_FAST_STRING))
			return -EINVAL;
		vcpu->x86.misc_enable = data;
		return 0;
	}
	return 1;
}

/* ---- the MSRs of x86.c ---- */

int vmm_x86_get_msr(struct vmm_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmm_x86 *x = &vcpu->x86;

	switch (index) {
	case MSR_IA32_TSC:
		*data = vmm_x86_guest_tsc(vcpu);
		return 0;
	case MSR_IA32_APICBASE:
		*data = vcpu->lapic ? vmm_lapic_get_base(vcpu) : x->apic_base;
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		if (!vcpu->lapic)
			return -EINVAL;
		*data = vmm_lapic_get_tscdeadline(vcpu);
		return 0;
	case MSR_MTRRcap:
		/* Eight variable ranges, fixed ranges, write-combining. */
		*data = 0x508;
		return 0;
	case MSR_MTRRdefType:
		*data = x->mtrr_def_type;
		return 0;
	case MSR_MTRRfix64K_00000:
	case MSR_MTRRfix16K_80000:
	case MSR_MTRRfix16K_A0000:
	case MSR_MTRRfix4K_C0000 ... MSR_MTRRfix4K_F8000:
		*data = x->mtrr_fixed[x86_mtrr_fixed_index(index)];
		return 0;
	case 0x200 ... 0x20f:
		*data = x->mtrr_var[index - 0x200];
		return 0;
	case X86_MSR_KVM_SYSTEM_TIME:
		*data = x->kvmclock_msr;
		return 0;
	case X86_MSR_KVM_WALL_CLOCK:
		*data = x->wall_clock_msr;
		return 0;
	case MSR_IA32_DEBUGCTLMSR:
	case MSR_IA32_MCG_CAP:		/* no banks */
	case MSR_IA32_MCG_STATUS:
		*data = 0;
		return 0;
	}
	return x86_amd() ? x86_get_amd_msr(index, data) :
			   x86_get_intel_msr(vcpu, index, data);
}

int vmm_x86_set_msr(struct vmm_vcpu *vcpu, u32 index, u64 data, bool host)
{
	struct vmm_x86 *x = &vcpu->x86;

	switch (index) {
	case MSR_IA32_TSC:
		x->tsc_offset = data - rdtsc();
		return 0;
	case MSR_IA32_APICBASE:
		if (vcpu->lapic)
			return vmm_lapic_set_base(vcpu, data, host) ? 0 : -EINVAL;
		x->apic_base = data;
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		if (!vcpu->lapic)
			return -EINVAL;
		vmm_lapic_set_tscdeadline(vcpu, data, vmm_x86_guest_tsc(vcpu));
		return 0;
	case MSR_MTRRcap:
		return host ? 0 : -EINVAL;
	case MSR_MTRRdefType:
		/* Type, fixed-range enable (10), enable (11). */
		if ((data & ~0xcffULL) || !x86_mtrr_type_valid(data & 0xff))
			return -EINVAL;
		x->mtrr_def_type = data;
		return 0;
	case MSR_MTRRfix64K_00000:
	case MSR_MTRRfix16K_80000:
	case MSR_MTRRfix16K_A0000:
	case MSR_MTRRfix4K_C0000 ... MSR_MTRRfix4K_F8000:
		if (!x86_mtrr_fixed_valid(data))
			return -EINVAL;
		x->mtrr_fixed[x86_mtrr_fixed_index(index)] = data;
		return 0;
	case 0x200 ... 0x20f:
		/* Bases carry a type; masks a valid bit (11).  52-bit PA. */
		if (data & ~(index & 1 ? 0x000ffffffffff800ULL :
				       0x000ffffffffff0ffULL))
			return -EINVAL;
		if (!(index & 1) && !x86_mtrr_type_valid(data & 0xff))
			return -EINVAL;
		x->mtrr_var[index - 0x200] = data;
		return 0;
	case MSR_IA32_MCG_STATUS:
		return data && !host ? -EINVAL : 0;
	case MSR_IA32_MCG_CAP:
		return host ? 0 : -EINVAL;
	case X86_MSR_KVM_SYSTEM_TIME:
		x86_kvmclock_set(vcpu, data);
		return 0;
	case X86_MSR_KVM_WALL_CLOCK:
		x86_kvmclock_wall(vcpu, data);
		return 0;
	case MSR_IA32_DEBUGCTLMSR:
		/* Accept the reset value; no LBR or BTF to offer. */
		return data ? -EINVAL : 0;
	}
	return x86_amd() ? x86_set_amd_msr(index, data) :
			   x86_set_intel_msr(vcpu, index, data, host);
}
