/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm: emulation of one instruction that touched an MMIO address.
 *
 * The exit handler knows the guest-physical address; bt_decode() gave the
 * instruction.  bt_mmio_prepare() says what the device sees (a read or a
 * write, its size, the data written), the device model does the access,
 * and bt_mmio_complete() puts the result where the instruction wants it:
 * a register, RFLAGS, rSI/rDI/rCX of a string instruction.  The caller
 * advances RIP by insn->len afterwards, unless op->repeat says not to.
 *
 * Registers are u64 gpr[16] in hardware encoding order: rax, rcx, rdx,
 * rbx, rsp, rbp, rsi, rdi, r8..r15.  Register writes follow the CPU: an
 * 8- or 16-bit destination keeps the other bits, a 32-bit destination
 * clears bits 63:32 (in every mode, as the hardware does; outside 64-bit
 * mode the upper half is architecturally undefined anyway).
 *
 * Supported, with a memory operand (the MMIO one):
 *   MOV 88 89 8A 8B C6 C7, A0-A3 (moffs), MOVZX/MOVSX 0F B6 B7 BE BF
 *   STOS AA AB, LODS AC AD, MOVS A4 A5, with or without REP (F3 or F2)
 *   XCHG 86 87, XADD 0F C0 C1, CMPXCHG 0F B0 B1, MOVNTI 0F C3
 *   ADD OR ADC SBB AND SUB XOR CMP in both directions (00-3B) and with an
 *   immediate (80 81 82 83), TEST 84 85 F6/0 F7/0, NOT/NEG F6 F7 /2 /3,
 *   INC/DEC FE FF /0 /1
 * Anything else is -EOPNOTSUPP (SSE/AVX moves, CMPXCHG8B/16B, BT*,
 * PUSH/POP to memory, MUL/DIV, CMPS/SCAS, segment register moves, ...).
 */
#ifndef _VMM_BT_MMIO_H
#define _VMM_BT_MMIO_H

#include "types.h"
#include "decode.h"

/*
 * What bt_mmio_prepare() returns besides 0 and -errno: a mask of things
 * the caller must do in addition to the plain "access, complete, advance
 * RIP".  A caller that does not know a bit must treat the return as
 * failure (an old caller that tests "if (ret)" is safe by construction).
 *
 * BT_MMIO_F_RMW   read-modify-write: the access is a read; after
 *                 bt_mmio_complete() op->is_write is true and op->data
 *                 holds what to write back to the same address (XCHG,
 *                 XADD, CMPXCHG, and the ALU ops whose destination is
 *                 memory except CMP and TEST, which only read).
 *                 Registers and flags are already updated by then.
 * BT_MMIO_F_MOVS  MOVS: one side is MMIO, the other may be RAM.  Call
 *                 bt_mmio_movs_resolve() before doing the access; the RAM
 *                 side is op->src_seg:op->src_off or ES:op->dst_off.
 * BT_MMIO_F_REP   a REP string instruction with more than this element to
 *                 go: op->repeat is set and RIP must stay on the
 *                 instruction.  One element moves per exit; the guest
 *                 re-executes the instruction until rCX reaches zero.
 */
#define BT_MMIO_F_RMW	0x1
#define BT_MMIO_F_MOVS	0x2
#define BT_MMIO_F_REP	0x4

/* The kind of instruction bt_mmio_complete() finishes (internal). */
enum bt_mmio_kind {
	BT_MMIO_NONE,
	BT_MMIO_STORE,		/* MOV/STOS to memory: nothing to finish */
	BT_MMIO_LOAD,		/* MOV/LODS to a register */
	BT_MMIO_LOAD_ZX,	/* MOVZX */
	BT_MMIO_LOAD_SX,	/* MOVSX */
	BT_MMIO_XCHG,
	BT_MMIO_ALU_MEM,	/* op r/m, src: result to memory */
	BT_MMIO_ALU_REG,	/* op reg, r/m: result to the register */
	BT_MMIO_ALU_FLAGS,	/* CMP, TEST: flags only */
	BT_MMIO_MOVS,
	BT_MMIO_XADD,
	BT_MMIO_CMPXCHG,
};

/*
 * One MMIO access.  Filled by bt_mmio_prepare(); is_write and data also
 * change in bt_mmio_movs_resolve() and (for RMW) bt_mmio_complete().
 */
struct bt_mmio {
	bool is_write;		/* the device sees a write */
	bool repeat;		/* REP with elements left: keep RIP */
	u8 size;		/* 1, 2, 4, 8 bytes */
	u8 flags;		/* BT_MMIO_F_*, as returned by prepare */
	u64 data;		/* the value written, zero-extended */

	/* Private to mmio.c from here on, except the string fields. */
	u8 kind;		/* enum bt_mmio_kind */
	u8 alu;			/* ALU operation */
	u8 reg;			/* register operand (0..15) */
	u8 reg_size;		/* its size */
	bool high_byte;		/* reg is AH/CH/DH/BH */
	bool has_src;		/* src holds the non-memory ALU operand */
	u64 src;
	u64 acc;		/* CMPXCHG: rAX at prepare */

	/* String instructions: offsets before this element moves. */
	u8 src_seg;		/* enum bt_seg of rSI (DS unless overridden) */
	u64 src_off;		/* rSI masked to the address size */
	u64 dst_off;		/* rDI masked to the address size (ES) */
	u8 addrsize;		/* its address size; 0: not a string op */
	u8 str_reg;		/* which index register moves (MOVS: both) */
};

/*
 * bt_mmio_prepare - describe the access @insn makes to its MMIO operand
 * @insn: the decoded instruction (bt_decode())
 * @gpr:  the guest's registers, read only
 * @op:   filled
 *
 * Returns 0 or a BT_MMIO_F_* mask (see above), or
 *   -EOPNOTSUPP  an instruction this file does not emulate
 *   -EINVAL      @insn has no memory operand (a register form: it cannot
 *                have touched MMIO, e.g. the code changed under us)
 *   -ENODATA     a REP string instruction with rCX = 0: it accesses no
 *                memory; re-enter the guest without advancing RIP and the
 *                CPU will finish it
 */
int bt_mmio_prepare(const struct bt_insn *insn, const u64 *gpr,
		    struct bt_mmio *op);

/*
 * bt_mmio_movs_resolve - say which side of a MOVS is the MMIO one
 * @op:          from bt_mmio_prepare() with BT_MMIO_F_MOVS
 * @mmio_is_dst: the destination ES:rDI is MMIO (else the source is)
 * @src_data:    with @mmio_is_dst, the op->size bytes the caller read from
 *               the source (RAM, or a previous MMIO read)
 *
 * Afterwards op->is_write is @mmio_is_dst.  For a write op->data is
 * @src_data; for a read the caller stores the data read to ES:op->dst_off
 * itself (bt_mmio_complete() only moves the registers).
 * Returns 0, or -EINVAL when @op is not a MOVS.
 */
int bt_mmio_movs_resolve(struct bt_mmio *op, bool mmio_is_dst, u64 src_data);

/*
 * bt_mmio_complete - finish the instruction after the device access
 * @insn:      as given to bt_mmio_prepare()
 * @op:        from bt_mmio_prepare(); RMW ops turn into their write here
 * @gpr:       the guest's registers, updated
 * @rflags:    the guest's RFLAGS: read for DF and CF, arithmetic flags
 *             updated
 * @read_data: for a read, the data the device returned (only the low
 *             op->size bytes are used); ignored for a write
 *
 * Returns 0, or -EINVAL when @op does not come from bt_mmio_prepare().
 */
int bt_mmio_complete(const struct bt_insn *insn, struct bt_mmio *op,
		     u64 *gpr, u64 *rflags, u64 read_data);

#endif /* _VMM_BT_MMIO_H */
