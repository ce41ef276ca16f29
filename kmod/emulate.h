/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm: engine-independent emulation of the exits that touch guest memory
 * or registers by instruction semantics: port I/O (string forms included)
 * and MMIO.  An engine describes the guest in a vmm_guest_ctx, calls in,
 * and writes back RIP/RFLAGS or injects the fault the emulator asks for.
 */
#ifndef _VMM_EMULATE_H
#define _VMM_EMULATE_H

#include <asm/trapnr.h>

#include "vmm.h"
#include "bt/decode.h"
#include "bt/mmio.h"

/* Segment registers in the order SVM's IOIO exit and x86 encode them. */
enum vmm_seg {
	VMM_SEG_ES, VMM_SEG_CS, VMM_SEG_SS, VMM_SEG_DS, VMM_SEG_FS, VMM_SEG_GS,
	VMM_NR_SEGS
};

struct vmm_guest_ctx {
	u64 cr0, cr3, cr4, efer;
	u64 rip, rflags;
	u64 seg_base[VMM_NR_SEGS];
	u32 seg_limit[VMM_NR_SEGS];
	u16 seg_attr[VMM_NR_SEGS];
	bool cs_l, cs_db;	/* 64-bit code; default 32-bit operands */
	int cpl;
	/* Out: an exception to inject instead of finishing (-1: none). */
	int fault_vector;
	bool fault_has_error;
	u32 fault_error;
	u64 fault_addr;		/* CR2 for #PF */
};

/* A port I/O exit as the hardware describes it. */
struct vmm_pio {
	bool in, string;
	u8 size;		/* 1, 2, 4 */
	/* String forms only, filled by the emulator from the instruction: */
	bool rep;
	u8 addr_size;		/* 2, 4, 8: for RSI/RDI/RCX */
	u8 seg;			/* enum vmm_seg of the OUTS source */
	u16 port;
	u64 next_rip;
};

struct vmm_pio_pending {
	bool pending;		/* an IN whose data userspace supplies */
	struct vmm_pio pio;
	u32 count;
};

struct vmm_mmio_pending {
	bool pending;		/* a read whose data userspace supplies */
	u64 gpa;
	struct bt_insn insn;
	struct bt_mmio op;
};

/* Make @ctx ask for a #GP(0) instead of finishing the instruction. */
static inline void ctx_fault_gp(struct vmm_guest_ctx *ctx)
{
	ctx->fault_vector = X86_TRAP_GP;
	ctx->fault_has_error = true;
	ctx->fault_error = 0;
}

int vmm_emulate_pio(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
		    const struct vmm_pio *pio, struct vmm_pio_pending *pend);
int vmm_emulate_mmio(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
		     u64 gpa, struct vmm_mmio_pending *pend);
int vmm_emulate_cr0(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
		    u64 cr0, u64 *new_cr0, bool *write);
int vmm_emulate_complete(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
			 struct vmm_pio_pending *pio,
			 struct vmm_mmio_pending *mmio);

#endif /* _VMM_EMULATE_H */
