/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm: x86 instruction decoder (16-, 32- and 64-bit code).
 *
 * bt_decode() finds the length and the operand encoding of one
 * instruction: legacy prefixes, REX, the one-byte map, the 0F map and the
 * 0F 38 / 0F 3A maps (length and ModRM only for the last two).  It does
 * not know what an instruction does; bt/mmio.c and later the translator
 * give the opcodes their meaning.
 *
 * Every byte comes from the guest, so nothing here trusts it: the decoder
 * reads at most @avail bytes and at most BT_MAX_INSN_LEN, and every odd
 * input is an error code, never a warning.
 */
#ifndef _VMM_BT_DECODE_H
#define _VMM_BT_DECODE_H

#include "types.h"

/* The architectural limit; a longer instruction raises #GP. */
#define BT_MAX_INSN_LEN	15

/*
 * The execution mode, which sets the default operand and address sizes
 * and which opcodes exist.
 *   BT_MODE_REAL16  real mode and virtual-8086 mode (16-bit defaults)
 *   BT_MODE_PROT16  protected mode, CS.D = 0 (16-bit defaults)
 *   BT_MODE_PROT32  protected mode or compatibility mode, CS.D = 1
 *   BT_MODE_LONG64  64-bit mode (EFER.LMA = 1 and CS.L = 1)
 * REAL16 and PROT16 decode identically except that VEX/EVEX are not
 * recognised in real mode (C4/C5/62 are LES/LDS/BOUND there).
 *
 * Near branches (Jcc, JMP, CALL rel) in 64-bit mode take a 32-bit
 * displacement even with a 66 prefix, as Intel CPUs do; AMD CPUs honour
 * the 66 there (rel16).  Compilers do not emit that form.
 */
enum bt_mode {
	BT_MODE_REAL16,
	BT_MODE_PROT16,
	BT_MODE_PROT32,
	BT_MODE_LONG64,
};

/* bt_insn.opcode_map: where bt_insn.opcode lives. */
enum bt_map {
	BT_MAP_ONE,	/* one-byte opcodes */
	BT_MAP_0F,	/* 0F xx */
	BT_MAP_0F38,	/* 0F 38 xx */
	BT_MAP_0F3A,	/* 0F 3A xx */
};

/* Segment override prefixes, in the hardware's segment encoding order. */
enum bt_seg {
	BT_SEG_ES, BT_SEG_CS, BT_SEG_SS, BT_SEG_DS, BT_SEG_FS, BT_SEG_GS,
	BT_SEG_NONE = 0xff,
};

/* REX bits (bt_insn.rex; 0 when there is no REX prefix). */
#define BT_REX_B	0x01
#define BT_REX_X	0x02
#define BT_REX_R	0x04
#define BT_REX_W	0x08

/*
 * One decoded instruction.  Sizes are in bytes.
 *
 * opsize is the effective operand size of "v"-sized operands (2, 4 or 8):
 * prefixes, REX.W and the 64-bit-mode rules for stack and branch opcodes
 * are applied.  Byte-sized opcodes keep the same opsize; their operand
 * size is 1 by the opcode itself.
 *
 * reg and rm are the ModRM fields with REX.R and REX.B already added
 * (0..15).  rm is a register number only when mod == 3; for a memory
 * operand, base/index (with REX.B/REX.X) are in sib_base/sib_index.
 * 0F 20-23 (MOV to/from CR/DR) always name a register: mod reads as 3.
 *
 * imm is the first immediate, zero-extended from imm_size bytes exactly
 * as encoded (the user sign-extends where the opcode says so); imm2 is
 * the second one of ENTER (Iw, Ib), far pointers (the selector), and
 * SSE4a EXTRQ/INSERTQ.  A moffs address (A0-A3) is in imm too, with
 * imm_size == addrsize.  disp is the displacement sign-extended.
 */
struct bt_insn {
	u8 len;			/* total length, 1..15 */
	u8 mode;		/* enum bt_mode decoded in */
	u8 opcode_map;		/* enum bt_map */
	u8 opcode;		/* last opcode byte */
	u8 opsize;		/* 2, 4, 8 */
	u8 addrsize;		/* 2, 4, 8 */
	u8 rex;			/* REX byte, 0 if none (or not last) */
	u8 seg;			/* enum bt_seg: the last override, or NONE */
	u8 rep;			/* 0, 0xf2 or 0xf3: the last of them */
	bool lock;		/* F0 */
	bool opsize_prefix;	/* 66 present */
	bool addrsize_prefix;	/* 67 present */
	u8 nr_prefixes;		/* legacy prefixes and REX, in bytes */

	bool has_modrm;
	bool has_sib;
	bool rip_relative;	/* 64-bit mode, mod = 0, rm = 5 */
	u8 modrm, sib;
	u8 mod;			/* modrm bits 7:6 (3 for CR/DR moves) */
	u8 reg;			/* modrm.reg + REX.R */
	u8 rm;			/* modrm.rm + REX.B */
	u8 sib_base;		/* SIB base + REX.B, 0xff without SIB */
	u8 sib_index;		/* SIB index + REX.X, 0xff if none (4) */
	u8 sib_scale;		/* 1, 2, 4, 8 */

	u8 disp_size;		/* 0, 1, 2, 4 */
	u8 imm_size;		/* 0, 1, 2, 4, 8 */
	u8 imm2_size;		/* 0, 1, 2 */
	s64 disp;
	u64 imm;
	u16 imm2;
};

/*
 * bt_decode - decode one instruction
 * @insn:  filled on success (and partly on failure)
 * @buf:   the instruction bytes
 * @avail: how many bytes of @buf may be read (more than 15 are not)
 * @mode:  enum bt_mode
 *
 * Returns 0 on success, or
 *   -EINVAL      the bytes are not an instruction in @mode (an opcode that
 *                is undefined or invalid in the mode, a register form
 *                where only memory is allowed, and so on: #UD), or @mode
 *                is unknown
 *   -E2BIG       the instruction would be longer than 15 bytes (#GP)
 *   -ENODATA     @avail ended before the instruction did (and @avail is
 *                below 15): fetch more bytes and try again
 *   -EOPNOTSUPP  a valid encoding this decoder does not handle: VEX (C4,
 *                C5), EVEX (62) and XOP (8F) prefixed instructions
 */
int bt_decode(struct bt_insn *insn, const u8 *buf, unsigned int avail,
	      enum bt_mode mode);

/*
 * bt_insn_ea - the offset (effective address, before the segment base)
 * of the explicit memory operand of @insn: a ModRM memory form or an
 * A0-A3 moffs
 * @insn:     from bt_decode()
 * @gpr:      registers in hardware order (rax, rcx, ..., r15)
 * @next_rip: address of the next instruction (RIP + len), for RIP-relative
 * @ea:       the offset, truncated to the address size
 * @seg:      the segment the access uses (enum bt_seg): the override, or
 *            SS for rBP/rSP-based forms, DS otherwise.  In 64-bit mode
 *            only FS and GS have a base; the caller applies that rule.
 *
 * Returns 0, or -EINVAL when @insn has no such operand (a register form,
 * a string instruction, no ModRM).
 */
int bt_insn_ea(const struct bt_insn *insn, const u64 *gpr, u64 next_rip,
	       u64 *ea, u8 *seg);

#endif /* _VMM_BT_DECODE_H */
