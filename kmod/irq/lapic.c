// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC of each vCPU, xAPIC MMIO only: priorities (TPR/PPR),
 * IRR/ISR/TMR, EOI, logical and physical destinations, IPIs with INIT
 * and STARTUP, the LVT, and the timer in one-shot, periodic and
 * TSC-deadline modes on an hrtimer.  Also the delivery of interrupt
 * messages from the IOAPIC and MSIs to the LAPICs they name, and the
 * vCPU's wait in HLT and for INIT/SIPI.
 *
 * Everything a remote thread may change (IRR, TMR, pending NMI, INIT and
 * SIPI) is under lapic->lock; the owning vCPU reads and acknowledges
 * under the same lock.  Remote changes end with vmm_vcpu_kick(), which
 * makes the vCPU look again before it enters the guest.
 *
 * The timer's bus clock is 1 GHz (one tick per ns before the divider),
 * as KVM has it, so a guest that calibrates finds a round number.
 */
#define pr_fmt(fmt) "vmm: lapic: " fmt

#include <linux/hrtimer.h>
#include <linux/math64.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <asm/msr-index.h>
#include <asm/tsc.h>

#include "../vmm.h"
#include "irq.h"

/* Register offsets in the 4 KiB MMIO page. */
#define LAPIC_ID	0x020
#define LAPIC_LVR	0x030
#define LAPIC_TPR	0x080
#define LAPIC_APR	0x090
#define LAPIC_PPR	0x0a0
#define LAPIC_EOI	0x0b0
#define LAPIC_RRD	0x0c0
#define LAPIC_LDR	0x0d0
#define LAPIC_DFR	0x0e0
#define LAPIC_SVR	0x0f0
#define LAPIC_ISR	0x100
#define LAPIC_TMR	0x180
#define LAPIC_IRR	0x200
#define LAPIC_ESR	0x280
#define LAPIC_ICR	0x300
#define LAPIC_ICR2	0x310
#define LAPIC_LVTT	0x320
#define LAPIC_LVTTHMR	0x330
#define LAPIC_LVTPC	0x340
#define LAPIC_LVT0	0x350
#define LAPIC_LVT1	0x360
#define LAPIC_LVTERR	0x370
#define LAPIC_TMICT	0x380
#define LAPIC_TMCCT	0x390
#define LAPIC_TDCR	0x3e0

/* Version 0x14 (integrated APIC), max LVT entry 5: six LVT entries. */
#define LAPIC_VERSION	0x50014

#define SVR_ENABLE	BIT(8)
#define LVT_MASKED	BIT(16)
#define LVT_VECTOR	0xff
#define LVT_DM(v)	(((v) >> 8) & 7)
#define LVT_TIMER_MODE	(3u << 17)
#define TIMER_ONESHOT	(0u << 17)
#define TIMER_PERIODIC	(1u << 17)
#define TIMER_TSCDL	(2u << 17)

#define ICR_DEST_LOGICAL	BIT(11)
#define ICR_ASSERT		BIT(14)
#define ICR_LEVEL		BIT(15)
#define ICR_SHORTHAND(v)	(((v) >> 18) & 3)

#define ESR_SEND_ILLEGAL	BIT(5)
#define ESR_RECV_ILLEGAL	BIT(6)

#define APIC_BASE_RESERVED	(0xffULL | BIT_ULL(9) | BIT_ULL(10))

/* A guest cannot make the host take more than one timer IRQ per 100 us. */
#define LAPIC_MIN_PERIOD_NS	100000ULL
/* Far enough: a count of 2^32 at divide 128 is about 9 minutes. */
#define LAPIC_MAX_DELAY_NS	(1ULL << 50)

struct vmm_lapic {
	spinlock_t lock;	/* everything below */
	struct vmm_vcpu *vcpu;
	u64 base;		/* IA32_APIC_BASE */
	u32 esr_pending;	/* errors since the last ESR write */
	bool nmi_pending;
	bool init_pending;
	bool sipi_pending;
	u8 sipi_vector;

	struct hrtimer timer;
	u64 period_ns;		/* one-shot/periodic: the count, in ns */
	u64 tsc_deadline;	/* TSC-deadline mode: armed value, 0 if none */

	struct rcu_head rcu;
	u32 regs[PAGE_SIZE / 4];
};

static inline u32 reg_get(struct vmm_lapic *l, u32 off)
{
	return l->regs[off >> 2];
}

static inline void reg_set(struct vmm_lapic *l, u32 off, u32 v)
{
	l->regs[off >> 2] = v;
}

/* IRR, ISR and TMR: 256 bits in eight registers 16 bytes apart. */
static inline u32 *vec_word(struct vmm_lapic *l, u32 base, u8 vec)
{
	return &l->regs[(base + (vec >> 5) * 0x10) >> 2];
}

static inline bool vec_test(struct vmm_lapic *l, u32 base, u8 vec)
{
	return *vec_word(l, base, vec) & BIT(vec & 31);
}

static inline void vec_set(struct vmm_lapic *l, u32 base, u8 vec)
{
	*vec_word(l, base, vec) |= BIT(vec & 31);
}

static inline void vec_clear(struct vmm_lapic *l, u32 base, u8 vec)
{
	*vec_word(l, base, vec) &= ~BIT(vec & 31);
}

/* The highest vector set in IRR/ISR/TMR at @base, or -1. */
static int vec_highest(struct vmm_lapic *l, u32 base)
{
	int i;

	for (i = 7; i >= 0; i--) {
		u32 w = reg_get(l, base + i * 0x10);

		if (w)
			return i * 32 + fls(w) - 1;
	}
	return -1;
}

static inline bool lapic_hw_enabled(struct vmm_lapic *l)
{
	return l->base & MSR_IA32_APICBASE_ENABLE;
}

static inline bool lapic_sw_enabled(struct vmm_lapic *l)
{
	return reg_get(l, LAPIC_SVR) & SVR_ENABLE;
}

static u32 lapic_ppr(struct vmm_lapic *l)
{
	u32 tpr = reg_get(l, LAPIC_TPR) & 0xff;
	int isr = vec_highest(l, LAPIC_ISR);
	u32 isrv = isr < 0 ? 0 : isr & 0xf0;

	return (tpr & 0xf0) >= isrv ? tpr : isrv;
}

/* The IRR vector the CPU would take now, or -1.  Lock held. */
static int lapic_pending(struct vmm_lapic *l)
{
	int v = vec_highest(l, LAPIC_IRR);

	if (v < 0 || !lapic_hw_enabled(l))
		return -1;
	if ((v & 0xf0) <= (lapic_ppr(l) & 0xf0))
		return -1;
	return v;
}

/* ---- kicks and waits ---- */

/*
 * vmm_vcpu_kick - make @vcpu look at its interrupt state again: wake it
 * if it waits (HLT, wait-for-SIPI), force an exit if it runs guest code
 * on another CPU; a vCPU outside the guest sees VMM_REQ_EVENT before it
 * enters.  Any context, hard IRQ included.
 */
void vmm_vcpu_kick(struct vmm_vcpu *vcpu)
{
	int cpu, me;

	set_bit(VMM_REQ_EVENT, &vcpu->requests);
	/* Pairs with the vCPU's barrier between its mode and requests. */
	smp_mb__after_atomic();
	wake_up_interruptible(&vcpu->wq);
	if (READ_ONCE(vcpu->mode) != VMM_IN_GUEST)
		return;
	me = get_cpu();
	cpu = READ_ONCE(vcpu->cpu);
	if (cpu != me && cpu >= 0 && cpu_online(cpu))
		vmm_send_reschedule(cpu);
	put_cpu();
}

/* ---- reset ---- */

static void lapic_reset(struct vmm_lapic *l, bool init)
{
	struct vmm_vcpu *vcpu = l->vcpu;
	static const u32 lvts[] = { LAPIC_LVTT, LAPIC_LVTTHMR, LAPIC_LVTPC,
				    LAPIC_LVT0, LAPIC_LVT1, LAPIC_LVTERR };
	unsigned long flags;
	int i;

	hrtimer_cancel(&l->timer);
	spin_lock_irqsave(&l->lock, flags);
	memset(l->regs, 0, sizeof(l->regs));
	if (!init)
		l->base = VMM_LAPIC_BASE | MSR_IA32_APICBASE_ENABLE |
			  (vcpu->id == 0 ? MSR_IA32_APICBASE_BSP : 0);
	reg_set(l, LAPIC_ID, (u32)vcpu->id << 24);
	reg_set(l, LAPIC_LVR, LAPIC_VERSION);
	reg_set(l, LAPIC_DFR, 0xffffffff);
	reg_set(l, LAPIC_SVR, 0xff);
	for (i = 0; i < ARRAY_SIZE(lvts); i++)
		reg_set(l, lvts[i], LVT_MASKED);
	/*
	 * The BSP starts in virtual-wire mode, as firmware leaves it (and
	 * KVM does): the PIC's INTR reaches it through LINT0 until the OS
	 * sets up the APIC.
	 */
	if (vcpu->id == 0)
		reg_set(l, LAPIC_LVT0, VMM_DM_EXTINT << 8);
	l->esr_pending = 0;
	l->nmi_pending = l->init_pending = l->sipi_pending = false;
	l->period_ns = 0;
	l->tsc_deadline = 0;
	spin_unlock_irqrestore(&l->lock, flags);
}

/* ---- timer ---- */

static u32 lapic_divide(struct vmm_lapic *l)
{
	u32 v = reg_get(l, LAPIC_TDCR);

	v = (v & 3) | ((v & 8) >> 1);
	return 1u << ((v + 1) & 7);
}

static u32 lapic_timer_mode(struct vmm_lapic *l)
{
	return reg_get(l, LAPIC_LVTT) & LVT_TIMER_MODE;
}

/*
 * Lock held: the timer's interrupt, if its LVT lets it through.  Returns
 * true when IRR changed (a vector already pending needs no kick).
 */
static bool lapic_timer_fire(struct vmm_lapic *l)
{
	u32 lvtt = reg_get(l, LAPIC_LVTT);
	u8 vec = lvtt & LVT_VECTOR;

	if ((lvtt & LVT_MASKED) || !lapic_sw_enabled(l) || vec < 16 ||
	    vec_test(l, LAPIC_IRR, vec))
		return false;
	vec_set(l, LAPIC_IRR, vec);
	vec_clear(l, LAPIC_TMR, vec);
	return true;
}

static enum hrtimer_restart lapic_timer_cb(struct hrtimer *t)
{
	struct vmm_lapic *l = container_of(t, struct vmm_lapic, timer);
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	unsigned long flags;
	bool kick;

	spin_lock_irqsave(&l->lock, flags);
	kick = lapic_timer_fire(l);
	if (lapic_timer_mode(l) == TIMER_PERIODIC && l->period_ns) {
		/* Missed periods collapse into one, as IRR has one bit. */
		hrtimer_forward_now(t, ns_to_ktime(l->period_ns));
		ret = HRTIMER_RESTART;
	} else if (lapic_timer_mode(l) == TIMER_TSCDL) {
		l->tsc_deadline = 0;
	}
	spin_unlock_irqrestore(&l->lock, flags);
	/*
	 * A guest halted with IF=0 and a periodic timer must not be woken
	 * at each period for an interrupt it already has pending.
	 */
	if (kick)
		vmm_vcpu_kick(l->vcpu);
	return ret;
}

/* Lock held, timer stopped: load TMICT's count. */
static void lapic_timer_load(struct vmm_lapic *l)
{
	u32 count = reg_get(l, LAPIC_TMICT);
	u64 ns;

	l->period_ns = 0;
	if (!count || lapic_timer_mode(l) == TIMER_TSCDL)
		return;
	ns = (u64)count * lapic_divide(l);
	if (lapic_timer_mode(l) == TIMER_PERIODIC)
		ns = max(ns, LAPIC_MIN_PERIOD_NS);
	l->period_ns = ns;
	hrtimer_start(&l->timer, ktime_add_ns(ktime_get(), ns),
		      HRTIMER_MODE_ABS_HARD);
}

static u32 lapic_timer_current(struct vmm_lapic *l)
{
	u32 initial = reg_get(l, LAPIC_TMICT);
	s64 left;

	if (!l->period_ns || lapic_timer_mode(l) == TIMER_TSCDL ||
	    !hrtimer_active(&l->timer))
		return 0;
	left = ktime_to_ns(ktime_sub(hrtimer_get_expires(&l->timer),
				     ktime_get()));
	if (left <= 0)
		return 0;
	/* In units of the (possibly clamped) period: TMICT down to 0. */
	return mul_u64_u64_div_u64(min_t(u64, left, l->period_ns), initial,
				   l->period_ns);
}

/*
 * vmm_lapic_get_tscdeadline/vmm_lapic_set_tscdeadline - MSR 0x6e0.
 * @guest_tsc is the guest's TSC now.  Writes outside TSC-deadline mode
 * are ignored and reads there give 0, as on hardware.
 */
u64 vmm_lapic_get_tscdeadline(struct vmm_vcpu *vcpu)
{
	struct vmm_lapic *l = vcpu->lapic;

	if (lapic_timer_mode(l) != TIMER_TSCDL)
		return 0;
	return READ_ONCE(l->tsc_deadline);
}

void vmm_lapic_set_tscdeadline(struct vmm_vcpu *vcpu, u64 deadline,
			       u64 guest_tsc)
{
	struct vmm_lapic *l = vcpu->lapic;
	unsigned long flags;
	u64 ns;

	if (lapic_timer_mode(l) != TIMER_TSCDL)
		return;
	hrtimer_cancel(&l->timer);
	spin_lock_irqsave(&l->lock, flags);
	l->tsc_deadline = deadline;
	if (deadline && deadline <= guest_tsc) {
		lapic_timer_fire(l);
		l->tsc_deadline = 0;
	} else if (deadline) {
		ns = mul_u64_u32_div(deadline - guest_tsc, 1000000,
				     max(tsc_khz, 1u));
		ns = min(ns, LAPIC_MAX_DELAY_NS);
		hrtimer_start(&l->timer, ktime_add_ns(ktime_get(), ns),
			      HRTIMER_MODE_ABS_HARD);
	}
	spin_unlock_irqrestore(&l->lock, flags);
}

/* ---- delivery ---- */

static bool lapic_match(struct vmm_lapic *l, const struct vmm_apic_irq *irq)
{
	u32 ldr, id = reg_get(l, LAPIC_ID) >> 24;

	switch (irq->shorthand) {
	case 1:
		return l == irq->source;
	case 2:
		return true;
	case 3:
		return l != irq->source;
	}
	if (!irq->dest_logical)
		return irq->dest == 0xff || irq->dest == id;
	ldr = reg_get(l, LAPIC_LDR) >> 24;
	if ((reg_get(l, LAPIC_DFR) >> 28) == 0xf)	/* flat */
		return ldr & irq->dest;
	/* Cluster: 4-bit cluster number, 4-bit mask within it. */
	if (irq->dest == 0xff)
		return true;
	return (ldr >> 4) == (irq->dest >> 4) && (ldr & irq->dest & 0xf);
}

/* One LAPIC takes the message. */
static void lapic_accept(struct vmm_lapic *l, const struct vmm_apic_irq *irq)
{
	unsigned long flags;

	spin_lock_irqsave(&l->lock, flags);
	switch (irq->delivery_mode) {
	case VMM_DM_FIXED:
	case VMM_DM_LOWEST:
		/* A software-disabled APIC drops them. */
		if (!lapic_sw_enabled(l))
			break;
		if (irq->vector < 16) {
			l->esr_pending |= ESR_RECV_ILLEGAL;
			break;
		}
		vec_set(l, LAPIC_IRR, irq->vector);
		if (irq->level)
			vec_set(l, LAPIC_TMR, irq->vector);
		else
			vec_clear(l, LAPIC_TMR, irq->vector);
		break;
	case VMM_DM_NMI:
		l->nmi_pending = true;
		break;
	case VMM_DM_INIT:
		l->init_pending = true;
		break;
	case VMM_DM_STARTUP:
		l->sipi_vector = irq->vector;
		l->sipi_pending = true;
		break;
	default:
		/* SMI and ExtINT messages: no SMM; the PIC is seen via LINT0. */
		break;
	}
	spin_unlock_irqrestore(&l->lock, flags);
	vmm_vcpu_kick(l->vcpu);
}

/*
 * vmm_lapic_deliver - send @irq to the LAPICs it names.  Lowest priority
 * goes to one of them, in turn.  Returns how many LAPICs took it.
 */
int vmm_lapic_deliver(struct vmm_vm *vm, const struct vmm_apic_irq *irq)
{
	DECLARE_BITMAP(set, VMM_MAX_VCPUS);
	struct vmm_vcpu *vcpu;
	int i, n = 0, pick;

	bitmap_zero(set, VMM_MAX_VCPUS);
	rcu_read_lock();
	for (i = 0; i < VMM_MAX_VCPUS; i++) {
		vcpu = rcu_dereference(vm->vcpus[i]);
		if (!vcpu || !vcpu->lapic || !lapic_hw_enabled(vcpu->lapic) ||
		    !lapic_match(vcpu->lapic, irq))
			continue;
		if (irq->delivery_mode == VMM_DM_LOWEST) {
			__set_bit(i, set);
			n++;
		} else {
			lapic_accept(vcpu->lapic, irq);
			n++;
		}
	}
	if (irq->delivery_mode == VMM_DM_LOWEST && n) {
		pick = (unsigned int)atomic_inc_return(&vm->lowest_rr) % n;
		for_each_set_bit(i, set, VMM_MAX_VCPUS) {
			if (pick-- == 0) {
				vcpu = rcu_dereference(vm->vcpus[i]);
				if (vcpu)
					lapic_accept(vcpu->lapic, irq);
				break;
			}
		}
		n = 1;
	}
	rcu_read_unlock();
	return n;
}

/*
 * vmm_lapic_signal_msi - VMM_SIGNAL_MSI: an MSI write of @data to
 * @address.  Returns the number of LAPICs reached, or -EINVAL for an
 * address outside 0xfeexxxxx or a delivery mode an MSI cannot carry.
 */
int vmm_lapic_signal_msi(struct vmm_vm *vm, u64 address, u32 data)
{
	struct vmm_apic_irq irq = {
		.vector = data & 0xff,
		.delivery_mode = (data >> 8) & 7,
		.dest = (address >> 12) & 0xff,
		.dest_logical = address & BIT(2),
		.level = data & BIT(15),
	};

	if ((address >> 20) != 0xfee)
		return -EINVAL;
	switch (irq.delivery_mode) {
	case VMM_DM_FIXED:
	case VMM_DM_LOWEST:
	case VMM_DM_NMI:
	case VMM_DM_INIT:
		break;
	case VMM_DM_SMI:
		return 0;	/* no SMM */
	default:
		return -EINVAL;
	}
	/* Redirection hint with logical destinations: any one of the set. */
	if ((address & BIT(3)) && irq.dest_logical &&
	    irq.delivery_mode == VMM_DM_FIXED)
		irq.delivery_mode = VMM_DM_LOWEST;
	return vmm_lapic_deliver(vm, &irq);
}

/* The PIC's output changed: vCPU 0 takes ExtINT through LINT0. */
void vmm_irq_pic_changed(struct vmm_vm *vm)
{
	struct vmm_vcpu *vcpu;

	rcu_read_lock();
	vcpu = rcu_dereference(vm->vcpus[0]);
	if (vcpu)
		vmm_vcpu_kick(vcpu);
	rcu_read_unlock();
}

/* ---- the vCPU's side: what to inject ---- */

/* vCPU 0 takes the PIC's INTR: LINT0 unmasked ExtINT, or no APIC. */
static bool lapic_accepts_extint(struct vmm_vcpu *vcpu)
{
	struct vmm_lapic *l = vcpu->lapic;
	u32 lvt0;

	if (vcpu->id != 0)
		return false;
	if (!lapic_hw_enabled(l))
		return true;
	lvt0 = reg_get(l, LAPIC_LVT0);
	return !(lvt0 & LVT_MASKED) && LVT_DM(lvt0) == VMM_DM_EXTINT;
}

static bool extint_pending(struct vmm_vcpu *vcpu)
{
	struct vmm_irqchip *chip = vcpu->vm->irqchip;

	return lapic_accepts_extint(vcpu) && vmm_pic_output(chip->pic);
}

/*
 * vmm_irq_pending - is an interrupt waiting to be taken by @vcpu?
 * Returns 1 if so (the engine injects it when IF allows, taking the
 * vector from vmm_irq_ack), 0 if not.  With 0, *tpr_class is set to the
 * priority class (1-15) of an IRR vector held back only by the TPR, so
 * the engine can ask to exit when the guest lowers CR8; -1 otherwise.
 */
int vmm_irq_pending(struct vmm_vcpu *vcpu, int *tpr_class)
{
	struct vmm_lapic *l = vcpu->lapic;
	unsigned long flags;
	int v, isr, ret;

	*tpr_class = -1;
	if (extint_pending(vcpu))
		return 1;
	spin_lock_irqsave(&l->lock, flags);
	v = lapic_pending(l);
	ret = v >= 0;
	if (v < 0 && lapic_hw_enabled(l)) {
		v = vec_highest(l, LAPIC_IRR);
		isr = vec_highest(l, LAPIC_ISR);
		if (v >= 0 && (isr < 0 || (v & 0xf0) > (isr & 0xf0)))
			*tpr_class = v >> 4;
	}
	spin_unlock_irqrestore(&l->lock, flags);
	return ret;
}

/*
 * vmm_irq_ack - the guest takes an interrupt now: ExtINT from the PIC
 * (its acknowledge cycle), else the highest deliverable IRR vector moves
 * to ISR.  Returns the vector, or -1 when nothing is there any more.
 */
int vmm_irq_ack(struct vmm_vcpu *vcpu)
{
	struct vmm_lapic *l = vcpu->lapic;
	unsigned long flags;
	int v;

	if (extint_pending(vcpu))
		return vmm_pic_intack(vcpu->vm->irqchip->pic);
	spin_lock_irqsave(&l->lock, flags);
	v = lapic_pending(l);
	if (v >= 0) {
		vec_clear(l, LAPIC_IRR, v);
		vec_set(l, LAPIC_ISR, v);
	}
	spin_unlock_irqrestore(&l->lock, flags);
	return v;
}

/* CR8 is TPR[7:4]; the engine keeps V_TPR and this in step. */
u8 vmm_lapic_get_cr8(struct vmm_vcpu *vcpu)
{
	return (reg_get(vcpu->lapic, LAPIC_TPR) >> 4) & 0xf;
}

void vmm_lapic_set_cr8(struct vmm_vcpu *vcpu, u8 cr8)
{
	struct vmm_lapic *l = vcpu->lapic;
	unsigned long flags;

	spin_lock_irqsave(&l->lock, flags);
	reg_set(l, LAPIC_TPR, (cr8 & 0xf) << 4);
	spin_unlock_irqrestore(&l->lock, flags);
}

u64 vmm_lapic_get_base(struct vmm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->lapic->base);
}

/*
 * vmm_lapic_set_base - IA32_APIC_BASE.  Returns false for what the CPU
 * refuses with #GP: reserved bits, x2APIC mode (not offered), an address
 * above what the guest can address.  @host: userspace may move the BSP
 * bit.
 */
bool vmm_lapic_set_base(struct vmm_vcpu *vcpu, u64 data, bool host)
{
	struct vmm_lapic *l = vcpu->lapic;
	unsigned long flags;

	if (data & (APIC_BASE_RESERVED | ~(VMM_MAX_GPA - 1)))
		return false;
	spin_lock_irqsave(&l->lock, flags);
	if (!host)
		data = (data & ~MSR_IA32_APICBASE_BSP) |
		       (l->base & MSR_IA32_APICBASE_BSP);
	l->base = data;
	spin_unlock_irqrestore(&l->lock, flags);
	return true;
}

/* ---- MMIO ---- */

static void lapic_send_ipi(struct vmm_lapic *l, u32 icr)
{
	struct vmm_apic_irq irq = {
		.vector = icr & 0xff,
		.delivery_mode = (icr >> 8) & 7,
		.dest = reg_get(l, LAPIC_ICR2) >> 24,
		.dest_logical = icr & ICR_DEST_LOGICAL,
		.level = false,
		.shorthand = ICR_SHORTHAND(icr),
		.source = l,
	};

	unsigned long flags;

	/* INIT level de-assert (the second half of INIT): nothing to do. */
	if (irq.delivery_mode == VMM_DM_INIT && !(icr & ICR_ASSERT) &&
	    (icr & ICR_LEVEL))
		return;
	if ((irq.delivery_mode == VMM_DM_FIXED ||
	     irq.delivery_mode == VMM_DM_LOWEST) && irq.vector < 16) {
		spin_lock_irqsave(&l->lock, flags);
		l->esr_pending |= ESR_SEND_ILLEGAL;
		spin_unlock_irqrestore(&l->lock, flags);
		return;
	}
	vmm_lapic_deliver(l->vcpu->vm, &irq);
}

static void lapic_eoi(struct vmm_lapic *l)
{
	struct vmm_irqchip *chip = l->vcpu->vm->irqchip;
	unsigned long flags;
	bool level = false;
	int v;

	spin_lock_irqsave(&l->lock, flags);
	v = vec_highest(l, LAPIC_ISR);
	if (v >= 0) {
		vec_clear(l, LAPIC_ISR, v);
		level = vec_test(l, LAPIC_TMR, v);
	}
	spin_unlock_irqrestore(&l->lock, flags);
	/* Lock order: the IOAPIC's lock is taken before any LAPIC's. */
	if (level)
		vmm_ioapic_eoi(chip->ioapic, v);
}

static u32 lapic_read(struct vmm_lapic *l, u32 off)
{
	unsigned long flags;
	u32 v;

	spin_lock_irqsave(&l->lock, flags);
	switch (off) {
	case LAPIC_PPR:
		v = lapic_ppr(l);
		break;
	case LAPIC_TMCCT:
		v = lapic_timer_current(l);
		break;
	case LAPIC_APR:
	case LAPIC_EOI:
	case LAPIC_RRD:
		v = 0;
		break;
	case LAPIC_ICR:
		v = reg_get(l, off) & ~BIT(12);	/* always idle */
		break;
	default:
		v = off < 0x400 ? reg_get(l, off) : 0;
	}
	spin_unlock_irqrestore(&l->lock, flags);
	return v;
}

static u32 lvt_write_mask(u32 off)
{
	switch (off) {
	case LAPIC_LVTT:
		return LVT_MASKED | LVT_TIMER_MODE | LVT_VECTOR;
	case LAPIC_LVT0:
	case LAPIC_LVT1:
		/* vector, delivery mode, polarity, trigger, mask */
		return 0x1a7ff;
	case LAPIC_LVTERR:
		return LVT_MASKED | LVT_VECTOR;
	default:
		return 0x107ff;
	}
}

static void lapic_write(struct vmm_lapic *l, u32 off, u32 val)
{
	static const u32 lvts[] = { LAPIC_LVTT, LAPIC_LVTTHMR, LAPIC_LVTPC,
				    LAPIC_LVT0, LAPIC_LVT1, LAPIC_LVTERR };
	unsigned long flags;
	bool armed = false;
	u32 old;
	int i;

	switch (off) {
	case LAPIC_EOI:
		lapic_eoi(l);
		return;
	case LAPIC_LVTT:
	case LAPIC_TMICT:
	case LAPIC_TDCR:
		/* The callback takes the lock: stop it outside. */
		armed = hrtimer_cancel(&l->timer);
		break;
	}

	spin_lock_irqsave(&l->lock, flags);
	switch (off) {
	case LAPIC_TPR:
		reg_set(l, off, val & 0xff);
		break;
	case LAPIC_LDR:
		reg_set(l, off, val & 0xff000000);
		break;
	case LAPIC_DFR:
		reg_set(l, off, val | 0x0fffffff);
		break;
	case LAPIC_SVR:
		reg_set(l, off, val & 0x3ff);
		if (!(val & SVR_ENABLE)) {
			/* Software disable masks every LVT entry. */
			for (i = 0; i < ARRAY_SIZE(lvts); i++)
				reg_set(l, lvts[i],
					reg_get(l, lvts[i]) | LVT_MASKED);
		}
		break;
	case LAPIC_ESR:
		reg_set(l, off, l->esr_pending);
		l->esr_pending = 0;
		break;
	case LAPIC_ICR2:
		reg_set(l, off, val & 0xff000000);
		break;
	case LAPIC_ICR:
		reg_set(l, off, val & ~BIT(12));
		spin_unlock_irqrestore(&l->lock, flags);
		/* Delivery takes other LAPICs' locks (and this one's). */
		lapic_send_ipi(l, val);
		return;
	case LAPIC_LVTT:
		old = reg_get(l, off);
		val &= lvt_write_mask(off);
		if ((val & LVT_TIMER_MODE) == (3u << 17))
			val &= ~LVT_TIMER_MODE;	/* reserved: one-shot */
		if (!lapic_sw_enabled(l))
			val |= LVT_MASKED;
		reg_set(l, off, val);
		if ((old ^ val) & LVT_TIMER_MODE) {
			/* A mode change disarms the timer. */
			reg_set(l, LAPIC_TMICT, 0);
			l->period_ns = 0;
			l->tsc_deadline = 0;
		} else if (armed) {
			/* Same mode: the running count goes on. */
			hrtimer_start(&l->timer,
				      hrtimer_get_expires(&l->timer),
				      HRTIMER_MODE_ABS_HARD);
		}
		break;
	case LAPIC_LVTTHMR:
	case LAPIC_LVTPC:
	case LAPIC_LVT0:
	case LAPIC_LVT1:
	case LAPIC_LVTERR:
		val &= lvt_write_mask(off);
		if (!lapic_sw_enabled(l))
			val |= LVT_MASKED;
		reg_set(l, off, val);
		break;
	case LAPIC_TMICT:
		reg_set(l, off, val);
		lapic_timer_load(l);
		break;
	case LAPIC_TDCR:
		reg_set(l, off, val & 0xb);
		/* Keep a running count's end where it was. */
		if (armed)
			hrtimer_start(&l->timer,
				      hrtimer_get_expires(&l->timer),
				      HRTIMER_MODE_ABS_HARD);
		break;
	default:
		/* Read-only or reserved: the write is dropped. */
		break;
	}
	spin_unlock_irqrestore(&l->lock, flags);
}

/*
 * vmm_lapic_mmio - an access to @vcpu's APIC page at offset @off.
 * Registers are 32 bits at 16-byte boundaries; smaller reads inside one
 * return its bytes, other writes are dropped (and logged once).
 */
void vmm_lapic_mmio(struct vmm_vcpu *vcpu, u32 off, int len, bool write,
		    u64 *val)
{
	struct vmm_lapic *l = vcpu->lapic;
	u32 reg = off & 0xff0;

	if (write) {
		if (len != 4 || (off & 0xf)) {
			pr_info_ratelimited("dropped %d-byte write at APIC offset 0x%x\n",
					    len, off);
			return;
		}
		lapic_write(l, reg, *val);
		return;
	}
	if ((off & 0xf) + len > 4) {
		*val = 0;
		return;
	}
	*val = lapic_read(l, reg) >> ((off & 3) * 8);
	if (len < 4)
		*val &= (1u << (len * 8)) - 1;
}

/* Is @gpa in @vcpu's APIC page (enabled, where IA32_APIC_BASE puts it)? */
bool vmm_lapic_in_page(struct vmm_vcpu *vcpu, u64 gpa)
{
	u64 base = READ_ONCE(vcpu->lapic->base);

	return (base & MSR_IA32_APICBASE_ENABLE) &&
	       (gpa & PAGE_MASK) == (base & MSR_IA32_APICBASE_BASE & PAGE_MASK);
}

/* ---- the vCPU's wait ---- */

/* INIT, SIPI and NMIs that other threads posted.  The vCPU's thread. */
static void lapic_accept_events(struct vmm_vcpu *vcpu)
{
	struct vmm_lapic *l = vcpu->lapic;
	bool nmi, init, sipi;
	unsigned long flags;
	u8 vector;

	spin_lock_irqsave(&l->lock, flags);
	nmi = l->nmi_pending;
	init = l->init_pending;
	sipi = l->sipi_pending;
	vector = l->sipi_vector;
	l->nmi_pending = l->init_pending = l->sipi_pending = false;
	spin_unlock_irqrestore(&l->lock, flags);

	if (nmi)
		vcpu->nmi_pending = true;
	if (init) {
		vmm_engine->vcpu_init_event(vcpu, -1);
		lapic_reset(l, true);
		/* The BSP runs on from the reset vector (KVM does the same). */
		vcpu->mp_state = (l->base & MSR_IA32_APICBASE_BSP) ?
				 VMM_MP_RUNNABLE : VMM_MP_WAIT_SIPI;
		/* A SIPI is only taken in wait-for-SIPI. */
		if (vcpu->mp_state != VMM_MP_WAIT_SIPI)
			sipi = false;
	}
	if (sipi && vcpu->mp_state == VMM_MP_WAIT_SIPI) {
		vmm_engine->vcpu_init_event(vcpu, vector);
		vcpu->mp_state = VMM_MP_RUNNABLE;
	}
}

/* A halted vCPU wakes for an NMI, or an interrupt it can take. */
static bool lapic_halt_wakes(struct vmm_vcpu *vcpu)
{
	int tpr_class;

	if (vcpu->nmi_pending)
		return true;
	return vcpu->halt_if && vmm_irq_pending(vcpu, &tpr_class);
}

/*
 * vmm_lapic_pre_run - before each entry of a vCPU with an irqchip: take
 * INIT/SIPI/NMI posted by others, and wait while halted or waiting for
 * SIPI.  Returns 0 to enter the guest, -EINTR on a signal.
 */
int vmm_lapic_pre_run(struct vmm_vcpu *vcpu)
{
	for (;;) {
		/*
		 * Kicks may come faster than this loop turns (a slow host,
		 * many senders): wait_event does not look at signals when
		 * its condition holds, so this loop must.
		 */
		if (signal_pending(current))
			return -EINTR;
		cond_resched();
		clear_bit(VMM_REQ_EVENT, &vcpu->requests);
		/* Clear before looking, so a kick after this is not lost. */
		smp_mb__after_atomic();
		lapic_accept_events(vcpu);
		if (vcpu->mp_state == VMM_MP_HALTED && lapic_halt_wakes(vcpu))
			vcpu->mp_state = VMM_MP_RUNNABLE;
		if (vcpu->mp_state == VMM_MP_RUNNABLE)
			return 0;
		if (wait_event_interruptible(vcpu->wq,
					     test_bit(VMM_REQ_EVENT,
						      &vcpu->requests)))
			return -EINTR;
	}
}

/* ---- life ---- */

int vmm_lapic_create(struct vmm_vcpu *vcpu)
{
	struct vmm_lapic *l = kzalloc(sizeof(*l), GFP_KERNEL_ACCOUNT);

	if (!l)
		return -ENOMEM;
	spin_lock_init(&l->lock);
	l->vcpu = vcpu;
	hrtimer_init(&l->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	l->timer.function = lapic_timer_cb;
	lapic_reset(l, false);
	vcpu->lapic = l;
	return 0;
}

/*
 * After the vCPU left vm->vcpus[]: deliveries that found it before may
 * still be running, so the memory goes after a grace period.
 */
void vmm_lapic_destroy(struct vmm_vcpu *vcpu)
{
	struct vmm_lapic *l = vcpu->lapic;

	if (!l)
		return;
	hrtimer_cancel(&l->timer);
	kfree_rcu(l, rcu);
}
