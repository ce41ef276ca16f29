// SPDX-License-Identifier: GPL-2.0
/*
 * The IOAPIC.  Placeholder until the model lands: creation fails, so
 * VMM_CREATE_IRQCHIP reports EOPNOTSUPP.
 */
#include <linux/err.h>
#include "irq.h"

struct vmm_ioapic *vmm_ioapic_create(struct vmm_vm *vm)
{
	return ERR_PTR(-EOPNOTSUPP);
}

void vmm_ioapic_destroy(struct vmm_ioapic *ioapic)
{
}

void vmm_ioapic_set_irq(struct vmm_ioapic *ioapic, int pin, int level)
{
}

void vmm_ioapic_eoi(struct vmm_ioapic *ioapic, u8 vector)
{
}

void vmm_ioapic_mmio(struct vmm_ioapic *ioapic, u32 off, bool write,
		     u32 *val)
{
	if (!write)
		*val = 0;
}
