/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-kernel PC interrupt controllers and timers (VMM_CREATE_IRQCHIP).
 *
 *   irq/lapic.c   local APIC per vCPU, its timer, IPIs, INIT/SIPI, MSI
 *   irq/ioapic.c  82093 IOAPIC, 24 pins, MMIO at 0xfec00000
 *   irq/pic.c     two cascaded 8259As, ports 0x20/0xa0, ELCR 0x4d0/0x4d1
 *   irq/pit.c     8254 PIT, ports 0x40-0x43, and port 0x61 (speaker gate)
 *   irq/irq.c     the VM's irqchip: creation, GSI routing, port and MMIO
 *                 dispatch for the engines
 *
 * Lock order, outermost first: pit->lock, pic->lock, ioapic->lock,
 * lapic->lock.  A model never calls "up" the list with its own lock held:
 * the LAPIC reports an EOI to the IOAPIC (vmm_ioapic_eoi) after dropping
 * its lock, and the PIC signals its output change (vmm_irq_pic_changed)
 * after dropping its own.  Every entry point may be called from any
 * thread (vCPU threads, the VM fd's ioctl callers, hrtimer callbacks in
 * hard-IRQ context), so the locks are spinlocks taken with
 * spin_lock_irqsave.
 */
#ifndef _VMM_IRQ_H
#define _VMM_IRQ_H

#include <linux/types.h>

struct vmm_vm;
struct vmm_vcpu;
struct vmm_pic;
struct vmm_ioapic;
struct vmm_pit;
struct vmm_lapic;

#define VMM_IOAPIC_PINS		24
#define VMM_IOAPIC_BASE		0xfec00000ULL
#define VMM_LAPIC_BASE		0xfee00000ULL

/* APIC delivery modes (ICR, IOAPIC redirection entries, MSI data). */
#define VMM_DM_FIXED		0
#define VMM_DM_LOWEST		1
#define VMM_DM_SMI		2
#define VMM_DM_NMI		4
#define VMM_DM_INIT		5
#define VMM_DM_STARTUP		6
#define VMM_DM_EXTINT		7

/* An interrupt message to the local APICs (from IOAPIC, MSI or an IPI). */
struct vmm_apic_irq {
	u8 vector;
	u8 delivery_mode;	/* VMM_DM_* */
	u8 dest;		/* APIC ID, or logical mask */
	bool dest_logical;
	bool level;		/* level-triggered: the LAPIC sets TMR */
	int shorthand;		/* 0 none, 1 self, 2 all incl., 3 all excl. */
	struct vmm_lapic *source; /* sender for shorthands, else NULL */
};

/* The VM's irqchip; vm->irqchip, NULL until VMM_CREATE_IRQCHIP. */
struct vmm_irqchip {
	struct vmm_pic *pic;
	struct vmm_ioapic *ioapic;
	struct vmm_pit *pit;
	/*
	 * VMM_IRQCHIP_PCI_CF8: port 0xcf8's dword, kept here so that a
	 * configuration access costs one exit to userspace, not two.  One
	 * per VM, as a PC has; the guest serialises its users.
	 */
	bool pci_cf8_on;
	u32 pci_cf8;
};

/* ---- irq.c ---- */
int vmm_irqchip_create(struct vmm_vm *vm, u32 flags);
/* VMM_EXIT_IO's io.pci_cf8: the latch, or 0 without VMM_IRQCHIP_PCI_CF8. */
u32 vmm_irq_pci_cf8(struct vmm_vm *vm);
void vmm_irqchip_destroy(struct vmm_vm *vm);
/* VMM_IRQ_LINE: GSI 0-15 to PIC and IOAPIC (0 -> pin 2), 16-23 IOAPIC. */
int vmm_irq_set_gsi(struct vmm_vm *vm, u32 gsi, int level);
/*
 * Port I/O and MMIO the kernel serves itself.  Return true when handled
 * (for an IN or read, *val is filled), false to go to userspace.
 */
bool vmm_irq_pio(struct vmm_vcpu *vcpu, u16 port, int size, bool in,
		 u32 *val);
bool vmm_irq_mmio(struct vmm_vcpu *vcpu, u64 gpa, int len, bool write,
		  u64 *val);

/* ---- lapic.c ---- */
/* Returns the number of LAPICs that took @irq (0: none matched). */
int vmm_lapic_deliver(struct vmm_vm *vm, const struct vmm_apic_irq *irq);
int vmm_lapic_signal_msi(struct vmm_vm *vm, u64 address, u32 data);
/* The PIC's INT output changed: wake whoever takes ExtINT (vCPU 0). */
void vmm_irq_pic_changed(struct vmm_vm *vm);

/* lapic.c, for the frontend and the engines (not the models). */
int vmm_lapic_create(struct vmm_vcpu *vcpu);
void vmm_lapic_destroy(struct vmm_vcpu *vcpu);
int vmm_lapic_pre_run(struct vmm_vcpu *vcpu);
int vmm_irq_pending(struct vmm_vcpu *vcpu, int *tpr_class);
int vmm_irq_ack(struct vmm_vcpu *vcpu);
u8 vmm_lapic_get_cr8(struct vmm_vcpu *vcpu);
void vmm_lapic_set_cr8(struct vmm_vcpu *vcpu, u8 cr8);
u64 vmm_lapic_get_base(struct vmm_vcpu *vcpu);
bool vmm_lapic_set_base(struct vmm_vcpu *vcpu, u64 data, bool host);
u64 vmm_lapic_get_tscdeadline(struct vmm_vcpu *vcpu);
void vmm_lapic_set_tscdeadline(struct vmm_vcpu *vcpu, u64 deadline,
			       u64 guest_tsc);
bool vmm_lapic_in_page(struct vmm_vcpu *vcpu, u64 gpa);
void vmm_lapic_mmio(struct vmm_vcpu *vcpu, u32 off, int len, bool write,
		    u64 *val);
void vmm_vcpu_kick(struct vmm_vcpu *vcpu);

/* ---- pic.c ---- */
struct vmm_pic *vmm_pic_create(struct vmm_vm *vm);
void vmm_pic_destroy(struct vmm_pic *pic);
void vmm_pic_set_irq(struct vmm_pic *pic, int irq, int level);
/* Level of the master's INT output. */
bool vmm_pic_output(struct vmm_pic *pic);
/* Interrupt acknowledge: the vector to deliver (spurious 7/15 if none). */
int vmm_pic_intack(struct vmm_pic *pic);
bool vmm_pic_pio(struct vmm_pic *pic, u16 port, bool in, u32 *val);

/* ---- ioapic.c ---- */
struct vmm_ioapic *vmm_ioapic_create(struct vmm_vm *vm);
void vmm_ioapic_destroy(struct vmm_ioapic *ioapic);
void vmm_ioapic_set_irq(struct vmm_ioapic *ioapic, int pin, int level);
/* The guest EOI'd a level-triggered vector: clear Remote IRR, re-check. */
void vmm_ioapic_eoi(struct vmm_ioapic *ioapic, u8 vector);
/* off is relative to VMM_IOAPIC_BASE; len 4 (other sizes read 0, drop). */
void vmm_ioapic_mmio(struct vmm_ioapic *ioapic, u32 off, bool write,
		     u32 *val);

/* ---- pit.c ---- */
struct vmm_pit *vmm_pit_create(struct vmm_vm *vm);
void vmm_pit_destroy(struct vmm_pit *pit);
bool vmm_pit_pio(struct vmm_pit *pit, u16 port, int size, bool in, u32 *val);

#endif /* _VMM_IRQ_H */
