// SPDX-License-Identifier: GPL-2.0
/*
 * The 8254 PIT.  Placeholder until the model lands: creation fails, so
 * VMM_CREATE_IRQCHIP reports EOPNOTSUPP.
 */
#include <linux/err.h>
#include "irq.h"

struct vmm_pit *vmm_pit_create(struct vmm_vm *vm)
{
	return ERR_PTR(-EOPNOTSUPP);
}

void vmm_pit_destroy(struct vmm_pit *pit)
{
}

bool vmm_pit_pio(struct vmm_pit *pit, u16 port, int size, bool in, u32 *val)
{
	return false;
}
