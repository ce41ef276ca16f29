// SPDX-License-Identifier: GPL-2.0
/*
 * Two cascaded 8259A PICs.  Placeholder until the model lands: creation
 * fails, so VMM_CREATE_IRQCHIP reports EOPNOTSUPP.
 */
#include <linux/err.h>
#include "irq.h"

struct vmm_pic *vmm_pic_create(struct vmm_vm *vm)
{
	return ERR_PTR(-EOPNOTSUPP);
}

void vmm_pic_destroy(struct vmm_pic *pic)
{
}

void vmm_pic_set_irq(struct vmm_pic *pic, int irq, int level)
{
}

bool vmm_pic_output(struct vmm_pic *pic)
{
	return false;
}

int vmm_pic_intack(struct vmm_pic *pic)
{
	return 0x0f;
}

bool vmm_pic_pio(struct vmm_pic *pic, u16 port, bool in, u32 *val)
{
	return false;
}
