// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: MMIO access description and completion for decoded instructions.
 *
 * prepare() runs before the device access and only reads registers;
 * complete() runs after it and is the only place registers and RFLAGS
 * change, so an access that userspace never completes leaves the guest
 * as it was.
 */
#include "mmio.h"

/* RFLAGS bits, spelled out here so the file also builds natively. */
#define BT_FL_CF	BIT_ULL(0)
#define BT_FL_PF	BIT_ULL(2)
#define BT_FL_AF	BIT_ULL(4)
#define BT_FL_ZF	BIT_ULL(6)
#define BT_FL_SF	BIT_ULL(7)
#define BT_FL_DF	BIT_ULL(10)
#define BT_FL_OF	BIT_ULL(11)
#define BT_FL_ARITH	(BT_FL_CF | BT_FL_PF | BT_FL_AF | BT_FL_ZF | \
			 BT_FL_SF | BT_FL_OF)

/* ALU operations: 0-7 are the ModRM.reg / opcode bits 5:3 encoding. */
enum bt_alu_op {
	BT_ALU_ADD, BT_ALU_OR, BT_ALU_ADC, BT_ALU_SBB,
	BT_ALU_AND, BT_ALU_SUB, BT_ALU_XOR, BT_ALU_CMP,
	BT_ALU_TEST, BT_ALU_NOT, BT_ALU_NEG, BT_ALU_INC, BT_ALU_DEC,
};

#define BT_RAX	0
#define BT_RCX	1
#define BT_RSI	6
#define BT_RDI	7

static u64 bt_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static u64 bt_sext_to(u64 val, unsigned int from, unsigned int to)
{
	u64 sign = 1ULL << (from * 8 - 1);

	val &= bt_mask(from);
	return ((val ^ sign) - sign) & bt_mask(to);
}

/*
 * Byte registers 4-7 are AH, CH, DH, BH unless a REX prefix is present,
 * when they are SPL, BPL, SIL, DIL.
 */
static bool bt_is_high_byte(const struct bt_insn *insn, u8 reg,
			    unsigned int size)
{
	return size == 1 && !insn->rex && reg >= 4 && reg < 8;
}

static u64 bt_get_reg(const u64 *gpr, u8 reg, unsigned int size, bool high)
{
	if (high)
		return (gpr[reg - 4] >> 8) & 0xff;
	return gpr[reg] & bt_mask(size);
}

static void bt_set_reg(u64 *gpr, u8 reg, unsigned int size, bool high,
		       u64 val)
{
	u64 *r;

	if (high) {
		r = &gpr[reg - 4];
		*r = (*r & ~0xff00ULL) | ((val & 0xff) << 8);
		return;
	}
	r = &gpr[reg];
	if (size >= 4)
		*r = val & bt_mask(size);	/* 32-bit writes zero-extend */
	else
		*r = (*r & ~bt_mask(size)) | (val & bt_mask(size));
}

/* PF: set when the low byte of the result has an even number of ones. */
static bool bt_parity_even(u64 val)
{
	u8 b = val;

	b ^= b >> 4;
	b ^= b >> 2;
	b ^= b >> 1;
	return !(b & 1);
}

/*
 * Compute @a op @b at @size bytes, update the arithmetic flags in
 * *@rflags as the instruction defines them, and return the result.
 * Carries and overflows come from the per-bit carry/borrow vectors so
 * one formula covers every size, 64 bits included.
 */
static u64 bt_alu(u8 alu, u64 a, u64 b, unsigned int size, u64 *rflags)
{
	u64 mask = bt_mask(size), sign = 1ULL << (size * 8 - 1);
	u64 fl = *rflags, res, cv = 0, of = 0;
	bool cin = fl & BT_FL_CF;
	bool arith = true, keep_cf = false;

	a &= mask;
	b &= mask;
	switch (alu) {
	case BT_ALU_INC:
		b = 1;
		keep_cf = true;
		fallthrough;
	case BT_ALU_ADD:
	case BT_ALU_ADC:
		res = a + b + (alu == BT_ALU_ADC && cin);
		cv = (a & b) | ((a | b) & ~res);
		of = (a ^ res) & (b ^ res);
		break;
	case BT_ALU_NEG:
		b = a;
		a = 0;
		fallthrough;
	case BT_ALU_DEC:
		if (alu == BT_ALU_DEC) {
			b = 1;
			keep_cf = true;
		}
		fallthrough;
	case BT_ALU_SUB:
	case BT_ALU_SBB:
	case BT_ALU_CMP:
		res = a - b - (alu == BT_ALU_SBB && cin);
		cv = (~a & b) | ((~a | b) & res);
		of = (a ^ b) & (a ^ res);
		break;
	case BT_ALU_OR:
		res = a | b;
		arith = false;
		break;
	case BT_ALU_AND:
	case BT_ALU_TEST:
		res = a & b;
		arith = false;
		break;
	case BT_ALU_XOR:
		res = a ^ b;
		arith = false;
		break;
	default:	/* NOT: no flags */
		return ~a & mask;
	}
	res &= mask;

	fl &= ~(BT_FL_ARITH & ~(keep_cf ? BT_FL_CF : 0));
	if (arith) {
		if ((cv & sign) && !keep_cf)
			fl |= BT_FL_CF;
		if (of & sign)
			fl |= BT_FL_OF;
		if ((a ^ b ^ res) & 0x10)
			fl |= BT_FL_AF;
	}
	/* The logical ops clear CF and OF; AF is undefined, left clear. */
	if (!res)
		fl |= BT_FL_ZF;
	if (res & sign)
		fl |= BT_FL_SF;
	if (bt_parity_even(res))
		fl |= BT_FL_PF;
	*rflags = fl;
	return res;
}

static int bt_prep_string(const struct bt_insn *insn, const u64 *gpr,
			  struct bt_mmio *op, unsigned int size)
{
	u64 amask = bt_mask(insn->addrsize);

	op->size = size;
	op->addrsize = insn->addrsize;
	op->src_seg = insn->seg == BT_SEG_NONE ? BT_SEG_DS : insn->seg;
	op->src_off = gpr[BT_RSI] & amask;
	op->dst_off = gpr[BT_RDI] & amask;
	if (insn->rep) {
		u64 count = gpr[BT_RCX] & amask;

		if (!count)
			return -ENODATA;
		if (count > 1) {
			op->repeat = true;
			op->flags |= BT_MMIO_F_REP;
		}
	}
	return 0;
}

/* One-byte map. */
static int bt_prep_one(const struct bt_insn *insn, const u64 *gpr,
		       struct bt_mmio *op)
{
	u8 opc = insn->opcode;
	u8 ext = (insn->modrm >> 3) & 7;
	unsigned int size = (opc & 1) ? insn->opsize : 1;

	/* Everything here with a ModRM byte needs its memory form. */
	if (insn->has_modrm && insn->mod == 3)
		return -EINVAL;

	op->reg = insn->reg;
	op->reg_size = size;
	op->high_byte = bt_is_high_byte(insn, insn->reg, size);
	op->size = size;

	if (opc < 0x40 && (opc & 7) < 4) {
		/*
		 * ADD..CMP; opcode bit 1 set means the register is the
		 * destination (and the first operand: CMP r, m is r - m).
		 */
		op->alu = opc >> 3;
		op->src = bt_get_reg(gpr, op->reg, size, op->high_byte);
		op->has_src = true;
		if (opc & 2)
			op->kind = BT_MMIO_ALU_REG;
		else if (op->alu == BT_ALU_CMP)
			op->kind = BT_MMIO_ALU_FLAGS;
		else
			op->kind = BT_MMIO_ALU_MEM;
		return 0;
	}

	switch (opc) {
	case 0x88: case 0x89:
		op->kind = BT_MMIO_STORE;
		op->is_write = true;
		op->data = bt_get_reg(gpr, op->reg, size, op->high_byte);
		return 0;
	case 0x8a: case 0x8b:
		op->kind = BT_MMIO_LOAD;
		return 0;
	case 0xc6: case 0xc7:
		op->kind = BT_MMIO_STORE;
		op->is_write = true;
		op->data = bt_sext_to(insn->imm, insn->imm_size, size);
		return 0;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3:
		op->reg = BT_RAX;
		op->high_byte = false;
		op->kind = opc & 2 ? BT_MMIO_STORE : BT_MMIO_LOAD;
		op->is_write = opc & 2;
		if (op->is_write)
			op->data = gpr[BT_RAX] & bt_mask(size);
		return 0;
	case 0xa4: case 0xa5:
		op->kind = BT_MMIO_MOVS;
		op->flags |= BT_MMIO_F_MOVS;
		return bt_prep_string(insn, gpr, op, size);
	case 0xaa: case 0xab:
		op->kind = BT_MMIO_STORE;
		op->is_write = true;
		op->data = gpr[BT_RAX] & bt_mask(size);
		op->str_reg = BT_RDI;
		return bt_prep_string(insn, gpr, op, size);
	case 0xac: case 0xad:
		op->kind = BT_MMIO_LOAD;
		op->reg = BT_RAX;
		op->high_byte = false;
		op->str_reg = BT_RSI;
		return bt_prep_string(insn, gpr, op, size);
	case 0x86: case 0x87:
		op->kind = BT_MMIO_XCHG;
		op->src = bt_get_reg(gpr, op->reg, size, op->high_byte);
		return 0;
	case 0x80: case 0x81: case 0x82: case 0x83:
		op->alu = ext;
		op->src = bt_sext_to(insn->imm, insn->imm_size, size);
		op->has_src = true;
		op->kind = ext == BT_ALU_CMP ? BT_MMIO_ALU_FLAGS :
					       BT_MMIO_ALU_MEM;
		return 0;
	case 0x84: case 0x85:
		op->alu = BT_ALU_TEST;
		op->src = bt_get_reg(gpr, op->reg, size, op->high_byte);
		op->has_src = true;
		op->kind = BT_MMIO_ALU_FLAGS;
		return 0;
	case 0xf6: case 0xf7:
		if (ext < 2) {
			op->alu = BT_ALU_TEST;
			op->src = bt_sext_to(insn->imm, insn->imm_size, size);
			op->has_src = true;
			op->kind = BT_MMIO_ALU_FLAGS;
			return 0;
		}
		if (ext > 3)
			return -EOPNOTSUPP;	/* MUL, IMUL, DIV, IDIV */
		op->alu = ext == 2 ? BT_ALU_NOT : BT_ALU_NEG;
		op->kind = BT_MMIO_ALU_MEM;
		return 0;
	case 0xfe: case 0xff:
		if (ext > 1)
			return -EOPNOTSUPP;	/* CALL, JMP, PUSH */
		op->alu = ext ? BT_ALU_DEC : BT_ALU_INC;
		op->kind = BT_MMIO_ALU_MEM;
		return 0;
	}
	return -EOPNOTSUPP;
}

/* 0F map: MOVZX/MOVSX, MOVNTI, XADD, CMPXCHG. */
static int bt_prep_0f(const struct bt_insn *insn, const u64 *gpr,
		      struct bt_mmio *op)
{
	u8 opc = insn->opcode;
	unsigned int size = (opc & 1) ? insn->opsize : 1;

	switch (opc) {
	case 0xb6: case 0xb7: case 0xbe: case 0xbf:
	case 0xc3: case 0xc0: case 0xc1: case 0xb0: case 0xb1:
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (insn->mod == 3)
		return -EINVAL;
	op->reg = insn->reg;
	if (opc >= 0xb6 && opc <= 0xbf) {	/* MOVZX, MOVSX */
		op->size = (opc & 1) ? 2 : 1;
		op->kind = (opc & 8) ? BT_MMIO_LOAD_SX : BT_MMIO_LOAD_ZX;
		op->reg_size = insn->opsize;
		return 0;
	}
	op->size = size;
	op->reg_size = size;
	op->high_byte = bt_is_high_byte(insn, insn->reg, size);
	op->src = bt_get_reg(gpr, op->reg, size, op->high_byte);
	switch (opc) {
	case 0xc3:		/* MOVNTI: 32 or 64 bits only */
		if (size == 2)
			return -EINVAL;
		op->kind = BT_MMIO_STORE;
		op->is_write = true;
		op->data = op->src;
		break;
	case 0xc0: case 0xc1:
		op->kind = BT_MMIO_XADD;
		break;
	default:
		op->kind = BT_MMIO_CMPXCHG;
		op->acc = gpr[BT_RAX] & bt_mask(size);
		break;
	}
	return 0;
}

int bt_mmio_prepare(const struct bt_insn *insn, const u64 *gpr,
		    struct bt_mmio *op)
{
	int ret;

	memset(op, 0, sizeof(*op));
	if (insn->len == 0 || insn->len > BT_MAX_INSN_LEN)
		return -EINVAL;

	if (insn->opcode_map == BT_MAP_0F)
		ret = bt_prep_0f(insn, gpr, op);
	else if (insn->opcode_map == BT_MAP_ONE)
		ret = bt_prep_one(insn, gpr, op);
	else
		ret = -EOPNOTSUPP;
	if (ret < 0) {
		op->kind = BT_MMIO_NONE;
		return ret;
	}
	if (op->kind == BT_MMIO_XCHG || op->kind == BT_MMIO_ALU_MEM ||
	    op->kind == BT_MMIO_XADD || op->kind == BT_MMIO_CMPXCHG)
		op->flags |= BT_MMIO_F_RMW;
	return op->flags;
}

int bt_mmio_movs_resolve(struct bt_mmio *op, bool mmio_is_dst, u64 src_data)
{
	if (op->kind != BT_MMIO_MOVS)
		return -EINVAL;
	op->is_write = mmio_is_dst;
	op->data = mmio_is_dst ? src_data & bt_mask(op->size) : 0;
	return 0;
}

/* An address-size register update: a 16-, 32- or 64-bit write. */
static void bt_index_add(u64 *gpr, u8 reg, unsigned int addrsize, u64 delta)
{
	bt_set_reg(gpr, reg, addrsize, false, gpr[reg] + delta);
}

/* Move rSI/rDI past the element, and count it off rCX under REP. */
static void bt_string_advance(const struct bt_insn *insn,
			      const struct bt_mmio *op, u64 *gpr, u64 rflags)
{
	u64 step = (rflags & BT_FL_DF) ? -(u64)op->size : op->size;

	if (op->kind == BT_MMIO_MOVS || op->str_reg == BT_RSI)
		bt_index_add(gpr, BT_RSI, op->addrsize, step);
	if (op->kind == BT_MMIO_MOVS || op->str_reg == BT_RDI)
		bt_index_add(gpr, BT_RDI, op->addrsize, step);
	if (insn->rep)
		bt_index_add(gpr, BT_RCX, op->addrsize, -1ULL);
}

int bt_mmio_complete(const struct bt_insn *insn, struct bt_mmio *op,
		     u64 *gpr, u64 *rflags, u64 read_data)
{
	u64 val = read_data & bt_mask(op->size);
	u64 res;

	if (op->size != 1 && op->size != 2 && op->size != 4 && op->size != 8)
		return -EINVAL;
	if (op->reg > 15)
		return -EINVAL;

	switch (op->kind) {
	case BT_MMIO_STORE:
	case BT_MMIO_MOVS:
		break;
	case BT_MMIO_LOAD:
		bt_set_reg(gpr, op->reg, op->size, op->high_byte, val);
		break;
	case BT_MMIO_LOAD_ZX:
		bt_set_reg(gpr, op->reg, op->reg_size, false, val);
		break;
	case BT_MMIO_LOAD_SX:
		bt_set_reg(gpr, op->reg, op->reg_size, false,
			   bt_sext_to(val, op->size, op->reg_size));
		break;
	case BT_MMIO_XCHG:
		bt_set_reg(gpr, op->reg, op->size, op->high_byte, val);
		op->data = op->src;
		op->is_write = true;
		break;
	case BT_MMIO_XADD:
		op->data = bt_alu(BT_ALU_ADD, val, op->src, op->size, rflags);
		bt_set_reg(gpr, op->reg, op->size, op->high_byte, val);
		op->is_write = true;
		break;
	case BT_MMIO_CMPXCHG:
		/*
		 * Flags as CMP rAX, mem.  The memory is written either way
		 * (with its own value on a mismatch), as the CPU does; rAX
		 * takes the old value only on a mismatch.
		 */
		bt_alu(BT_ALU_CMP, op->acc, val, op->size, rflags);
		if (op->acc == val) {
			op->data = op->src;
		} else {
			op->data = val;
			bt_set_reg(gpr, BT_RAX, op->size, false, val);
		}
		op->is_write = true;
		break;
	case BT_MMIO_ALU_MEM:
		op->data = bt_alu(op->alu, val, op->src, op->size, rflags);
		op->is_write = true;
		break;
	case BT_MMIO_ALU_REG:
		/* The register is the first operand: reg = reg op mem. */
		res = bt_alu(op->alu, op->src, val, op->size, rflags);
		if (op->alu != BT_ALU_CMP)
			bt_set_reg(gpr, op->reg, op->size, op->high_byte, res);
		break;
	case BT_MMIO_ALU_FLAGS:
		/* CMP r/m, x and TEST: memory first. */
		bt_alu(op->alu, val, op->src, op->size, rflags);
		break;
	default:
		return -EINVAL;
	}
	if (op->addrsize)	/* a string instruction */
		bt_string_advance(insn, op, gpr, *rflags);
	return 0;
}
