// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's irqchip (VMM_CREATE_IRQCHIP): the PICs, the IOAPIC and the
 * PIT made together, the routing of VMM_IRQ_LINE's GSIs to them, and the
 * port and MMIO ranges the engines offer here before going to userspace.
 */
#define pr_fmt(fmt) "vmm: irq: " fmt

#include <linux/err.h>
#include <linux/slab.h>

#include "../vmm.h"
#include "irq.h"

/*
 * vmm_irqchip_create - VMM_CREATE_IRQCHIP with @flags (VMM_IRQCHIP_*).
 * Before the first vCPU only (EBUSY), once (EEXIST).  EOPNOTSUPP while a
 * model is missing.
 */
int vmm_irqchip_create(struct vmm_vm *vm, u32 flags)
{
	struct vmm_irqchip *chip;
	int ret;

	if (flags & ~VMM_IRQCHIP_PCI_CF8)
		return -EINVAL;
	chip = kzalloc(sizeof(*chip), GFP_KERNEL_ACCOUNT);
	if (!chip)
		return -ENOMEM;
	chip->pci_cf8_on = flags & VMM_IRQCHIP_PCI_CF8;
	mutex_lock(&vm->lock);
	ret = -EEXIST;
	if (vm->irqchip)
		goto err;
	ret = -EBUSY;
	if (vm->created_vcpus)
		goto err;
	chip->pic = vmm_pic_create(vm);
	if (IS_ERR(chip->pic)) {
		ret = PTR_ERR(chip->pic);
		chip->pic = NULL;
		goto err;
	}
	chip->ioapic = vmm_ioapic_create(vm);
	if (IS_ERR(chip->ioapic)) {
		ret = PTR_ERR(chip->ioapic);
		chip->ioapic = NULL;
		goto err;
	}
	chip->pit = vmm_pit_create(vm);
	if (IS_ERR(chip->pit)) {
		ret = PTR_ERR(chip->pit);
		chip->pit = NULL;
		goto err;
	}
	/* VMM_IRQ_LINE callers read it without the lock. */
	smp_store_release(&vm->irqchip, chip);
	mutex_unlock(&vm->lock);
	return 0;
err:
	mutex_unlock(&vm->lock);
	if (chip->ioapic)
		vmm_ioapic_destroy(chip->ioapic);
	if (chip->pic)
		vmm_pic_destroy(chip->pic);
	kfree(chip);
	return ret;
}

/* When the VM goes: no vCPU is left; the PIT's timer stops first. */
void vmm_irqchip_destroy(struct vmm_vm *vm)
{
	struct vmm_irqchip *chip = vm->irqchip;

	if (!chip)
		return;
	vmm_pit_destroy(chip->pit);
	vmm_ioapic_destroy(chip->ioapic);
	vmm_pic_destroy(chip->pic);
	kfree(chip);
	vm->irqchip = NULL;
}

/*
 * vmm_irq_set_gsi - VMM_IRQ_LINE.  GSIs 0-15 are the ISA lines: the PICs
 * and the IOAPIC pin of the same number, except GSI 0 (the PIT), wired
 * to pin 2 as a PC's MADT overrides it.  GSIs 16-23 reach the IOAPIC only.
 */
int vmm_irq_set_gsi(struct vmm_vm *vm, u32 gsi, int level)
{
	/* Pairs with vmm_irqchip_create(): a chip seen is a chip made. */
	struct vmm_irqchip *chip = smp_load_acquire(&vm->irqchip);

	if (!chip)
		return -ENXIO;
	if (gsi >= VMM_IOAPIC_PINS || (level != 0 && level != 1))
		return -EINVAL;
	if (gsi < 16)
		vmm_pic_set_irq(chip->pic, gsi, level);
	vmm_ioapic_set_irq(chip->ioapic, gsi == 0 ? 2 : gsi, level);
	return 0;
}

bool vmm_irq_pio(struct vmm_vcpu *vcpu, u16 port, int size, bool in,
		 u32 *val)
{
	struct vmm_irqchip *chip = vcpu->vm->irqchip;

	if (!chip)
		return false;
	switch (port) {
	case 0xcf8:
		/* The dword register only: a byte at 0xcf9 resets a PC. */
		if (!chip->pci_cf8_on || size != 4)
			return false;
		if (in)
			*val = READ_ONCE(chip->pci_cf8);
		else
			WRITE_ONCE(chip->pci_cf8, *val);
		return true;
	case 0x20: case 0x21: case 0xa0: case 0xa1: case 0x4d0: case 0x4d1:
		return vmm_pic_pio(chip->pic, port, in, val);
	case 0x40: case 0x41: case 0x42: case 0x43: case 0x61:
		return vmm_pit_pio(chip->pit, port, size, in, val);
	}
	return false;
}

u32 vmm_irq_pci_cf8(struct vmm_vm *vm)
{
	struct vmm_irqchip *chip = READ_ONCE(vm->irqchip);

	return chip && chip->pci_cf8_on ? READ_ONCE(chip->pci_cf8) : 0;
}

bool vmm_irq_mmio(struct vmm_vcpu *vcpu, u64 gpa, int len, bool write,
		  u64 *val)
{
	struct vmm_irqchip *chip = vcpu->vm->irqchip;
	u32 v;

	if (!chip)
		return false;
	if (vmm_lapic_in_page(vcpu, gpa)) {
		vmm_lapic_mmio(vcpu, gpa & ~PAGE_MASK, len, write, val);
		return true;
	}
	if ((gpa & PAGE_MASK) != VMM_IOAPIC_BASE)
		return false;
	if (len != 4 || (gpa & 3)) {
		/* The IOAPIC has 32-bit registers only. */
		if (!write)
			*val = 0;
		return true;
	}
	v = *val;
	vmm_ioapic_mmio(chip->ioapic, gpa - VMM_IOAPIC_BASE, write, &v);
	if (!write)
		*val = v;
	return true;
}
