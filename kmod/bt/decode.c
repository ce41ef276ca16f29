// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: x86 instruction decoder.
 *
 * Two tables of per-opcode attributes (one-byte and 0F maps) say whether
 * an opcode takes a ModRM byte and which immediate follows; the handful
 * of opcodes whose shape depends on ModRM or on a prefix (F6/F7, ENTER,
 * SSE4a) are special-cased in bt_decode_imm().  The three-byte maps are
 * uniform: 0F 38 is ModRM only, 0F 3A ModRM and an imm8.
 */
#include "decode.h"

#define F_M	0x0001	/* ModRM follows */
#define F_IB	0x0002	/* imm8 */
#define F_IW	0x0004	/* imm16 */
#define F_IZ	0x0008	/* imm16 with a 16-bit operand size, else imm32 */
#define F_IV	0x0010	/* imm of the operand size (B8-BF only) */
#define F_MOFFS	0x0020	/* an address of the address size (A0-A3) */
#define F_FAR	0x0040	/* Iz offset, then a 16-bit selector */
#define F_INV64	0x0080	/* #UD in 64-bit mode */
#define F_D64	0x0100	/* 64-bit mode: operand size 64 unless 66 */
#define F_F64	0x0200	/* 64-bit mode: operand size always 64 */
#define F_UD	0x0400	/* undefined opcode */
#define F_PFX	0x0800	/* a prefix: handled before the table */
#define F_GRP3	0x1000	/* F6/F7: the immediate only for /0 and /1 */
#define F_ESC	0x2000	/* escape to another map */
#define F_CRDR	0x4000	/* MOV CR/DR: ModRM always names registers */
#define F_ENTER	0x8000	/* Iw, then Ib */

static const u16 bt_map_one[256] = {
	[0x00 ... 0x03] = F_M, [0x04] = F_IB, [0x05] = F_IZ,
	[0x06 ... 0x07] = F_INV64,
	[0x08 ... 0x0b] = F_M, [0x0c] = F_IB, [0x0d] = F_IZ,
	[0x0e] = F_INV64, [0x0f] = F_ESC,
	[0x10 ... 0x13] = F_M, [0x14] = F_IB, [0x15] = F_IZ,
	[0x16 ... 0x17] = F_INV64,
	[0x18 ... 0x1b] = F_M, [0x1c] = F_IB, [0x1d] = F_IZ,
	[0x1e ... 0x1f] = F_INV64,
	[0x20 ... 0x23] = F_M, [0x24] = F_IB, [0x25] = F_IZ,
	[0x26] = F_PFX, [0x27] = F_INV64,
	[0x28 ... 0x2b] = F_M, [0x2c] = F_IB, [0x2d] = F_IZ,
	[0x2e] = F_PFX, [0x2f] = F_INV64,
	[0x30 ... 0x33] = F_M, [0x34] = F_IB, [0x35] = F_IZ,
	[0x36] = F_PFX, [0x37] = F_INV64,
	[0x38 ... 0x3b] = F_M, [0x3c] = F_IB, [0x3d] = F_IZ,
	[0x3e] = F_PFX, [0x3f] = F_INV64,
	/* 40-4F: INC/DEC, or REX in 64-bit mode (the prefix loop). */
	[0x50 ... 0x5f] = F_D64,
	[0x60 ... 0x61] = F_INV64, [0x62] = F_M | F_INV64, [0x63] = F_M,
	[0x64 ... 0x67] = F_PFX,
	[0x68] = F_IZ | F_D64, [0x69] = F_M | F_IZ,
	[0x6a] = F_IB | F_D64, [0x6b] = F_M | F_IB,
	[0x70 ... 0x7f] = F_IB | F_F64,
	[0x80] = F_M | F_IB, [0x81] = F_M | F_IZ,
	[0x82] = F_M | F_IB | F_INV64, [0x83] = F_M | F_IB,
	[0x84 ... 0x8e] = F_M, [0x8f] = F_M | F_D64,
	[0x9a] = F_FAR | F_INV64, [0x9c ... 0x9d] = F_D64,
	[0xa0 ... 0xa3] = F_MOFFS, [0xa8] = F_IB, [0xa9] = F_IZ,
	[0xb0 ... 0xb7] = F_IB, [0xb8 ... 0xbf] = F_IV,
	[0xc0 ... 0xc1] = F_M | F_IB, [0xc2] = F_IW | F_F64, [0xc3] = F_F64,
	[0xc4 ... 0xc5] = F_M | F_INV64,
	[0xc6] = F_M | F_IB, [0xc7] = F_M | F_IZ,
	[0xc8] = F_ENTER | F_D64, [0xc9] = F_D64, [0xca] = F_IW,
	[0xcd] = F_IB, [0xce] = F_INV64,
	[0xd0 ... 0xd3] = F_M, [0xd4 ... 0xd5] = F_IB | F_INV64,
	[0xd6] = F_UD, [0xd8 ... 0xdf] = F_M,
	[0xe0 ... 0xe3] = F_IB | F_F64, [0xe4 ... 0xe7] = F_IB,
	[0xe8 ... 0xe9] = F_IZ | F_F64, [0xea] = F_FAR | F_INV64,
	[0xeb] = F_IB | F_F64,
	[0xf0] = F_PFX, [0xf2 ... 0xf3] = F_PFX,
	[0xf6 ... 0xf7] = F_M | F_GRP3, [0xfe ... 0xff] = F_M,
};

static const u16 bt_map_0f[256] = {
	[0x00 ... 0x03] = F_M, [0x04] = F_UD, [0x0a] = F_UD, [0x0c] = F_UD,
	[0x0d] = F_M,
	[0x0f] = F_M | F_IB,	/* 3DNow!: the imm8 is the opcode */
	[0x10 ... 0x1f] = F_M, [0x20 ... 0x23] = F_M | F_CRDR,
	[0x24 ... 0x27] = F_UD, [0x28 ... 0x2f] = F_M,
	[0x36] = F_UD, [0x38] = F_ESC, [0x39] = F_UD, [0x3a] = F_ESC,
	[0x3b ... 0x3f] = F_UD,
	[0x40 ... 0x6f] = F_M, [0x70 ... 0x73] = F_M | F_IB,
	[0x74 ... 0x76] = F_M, [0x78 ... 0x79] = F_M,
	[0x7a ... 0x7b] = F_UD, [0x7c ... 0x7f] = F_M,
	[0x80 ... 0x8f] = F_IZ | F_F64, [0x90 ... 0x9f] = F_M,
	[0xa0 ... 0xa1] = F_D64, [0xa3] = F_M, [0xa4] = F_M | F_IB,
	[0xa5] = F_M, [0xa6 ... 0xa7] = F_UD, [0xa8 ... 0xa9] = F_D64,
	[0xab] = F_M, [0xac] = F_M | F_IB, [0xad ... 0xaf] = F_M,
	[0xb0 ... 0xb9] = F_M, [0xba] = F_M | F_IB, [0xbb ... 0xbf] = F_M,
	[0xc0 ... 0xc1] = F_M, [0xc2] = F_M | F_IB, [0xc3] = F_M,
	[0xc4 ... 0xc6] = F_M | F_IB, [0xc7] = F_M,
	[0xd0 ... 0xff] = F_M,
};

/* A cursor over the guest's bytes that never reads past the end. */
struct bt_cursor {
	const u8 *buf;
	unsigned int pos;
	unsigned int avail;
};

/*
 * Check that @n more bytes exist.  Past 15 the instruction is invalid
 * whatever follows, so that is reported before running out of input.
 */
static int bt_need(const struct bt_cursor *c, unsigned int n)
{
	if (c->pos + n > BT_MAX_INSN_LEN)
		return -E2BIG;
	if (c->pos + n > c->avail)
		return -ENODATA;
	return 0;
}

static int bt_fetch(struct bt_cursor *c, unsigned int n, u64 *val)
{
	unsigned int i;
	int ret;

	ret = bt_need(c, n);
	if (ret)
		return ret;
	/* Little-endian, assembled a byte at a time. */
	*val = 0;
	for (i = 0; i < n; i++)
		*val |= (u64)c->buf[c->pos + i] << (8 * i);
	c->pos += n;
	return 0;
}

static s64 bt_sext(u64 val, unsigned int size)
{
	switch (size) {
	case 1:
		return (s8)val;
	case 2:
		return (s16)val;
	case 4:
		return (s32)val;
	default:
		return (s64)val;
	}
}

/* Prefixes; returns with c->pos on the first opcode byte. */
static int bt_decode_prefixes(struct bt_insn *insn, struct bt_cursor *c)
{
	u64 b;
	int ret;

	for (;;) {
		ret = bt_need(c, 1);
		if (ret)
			return ret;
		b = c->buf[c->pos];
		if (insn->mode == BT_MODE_LONG64 && (b & 0xf0) == 0x40) {
			insn->rex = b;
			c->pos++;
			continue;
		}
		switch (b) {
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			insn->seg = (b >> 3) & 3;
			break;
		case 0x64: case 0x65:
			insn->seg = BT_SEG_FS + (b & 1);
			break;
		case 0x66:
			insn->opsize_prefix = true;
			break;
		case 0x67:
			insn->addrsize_prefix = true;
			break;
		case 0xf0:
			insn->lock = true;
			break;
		case 0xf2: case 0xf3:
			insn->rep = b;
			break;
		default:
			insn->nr_prefixes = c->pos;
			return 0;
		}
		/* A REX followed by a legacy prefix is ignored. */
		insn->rex = 0;
		c->pos++;
	}
}

static void bt_set_sizes(struct bt_insn *insn, u16 attr)
{
	bool w = insn->rex & BT_REX_W;

	switch (insn->mode) {
	case BT_MODE_LONG64:
		insn->addrsize = insn->addrsize_prefix ? 4 : 8;
		if (attr & F_F64)
			insn->opsize = 8;
		else if (w || ((attr & F_D64) && !insn->opsize_prefix))
			insn->opsize = 8;
		else
			insn->opsize = insn->opsize_prefix ? 2 : 4;
		break;
	case BT_MODE_PROT32:
		insn->addrsize = insn->addrsize_prefix ? 2 : 4;
		insn->opsize = insn->opsize_prefix ? 2 : 4;
		break;
	default:
		insn->addrsize = insn->addrsize_prefix ? 4 : 2;
		insn->opsize = insn->opsize_prefix ? 4 : 2;
		break;
	}
}

/* ModRM, SIB and displacement. */
static int bt_decode_modrm(struct bt_insn *insn, struct bt_cursor *c,
			   u16 attr)
{
	unsigned int disp_size = 0;
	u64 v;
	int ret;

	ret = bt_fetch(c, 1, &v);
	if (ret)
		return ret;
	insn->has_modrm = true;
	insn->modrm = v;
	insn->mod = v >> 6;
	insn->reg = ((v >> 3) & 7) | ((insn->rex & BT_REX_R) ? 8 : 0);
	insn->rm = (v & 7) | ((insn->rex & BT_REX_B) ? 8 : 0);
	if (attr & F_CRDR)
		insn->mod = 3;
	if (insn->mod == 3)
		return 0;

	if (insn->addrsize == 2) {
		if (insn->mod == 1)
			disp_size = 1;
		else if (insn->mod == 2 || (v & 7) == 6)
			disp_size = 2;
	} else {
		unsigned int base = v & 7;

		if (base == 4) {
			ret = bt_fetch(c, 1, &v);
			if (ret)
				return ret;
			insn->has_sib = true;
			insn->sib = v;
			insn->sib_scale = 1 << (v >> 6);
			insn->sib_index = ((v >> 3) & 7) |
					  ((insn->rex & BT_REX_X) ? 8 : 0);
			/* Index 4 without REX.X means no index. */
			if (insn->sib_index == 4)
				insn->sib_index = 0xff;
			base = v & 7;
			if (insn->rex & BT_REX_B)
				base |= 8;
			insn->sib_base = base;
			/* Base 101 with mod 0 is disp32, REX.B or not. */
			if ((base & 7) == 5 && insn->mod == 0) {
				insn->sib_base = 0xff;
				disp_size = 4;
			}
		} else if (base == 5 && insn->mod == 0) {
			disp_size = 4;
			insn->rip_relative = insn->mode == BT_MODE_LONG64;
		}
		if (insn->mod == 1)
			disp_size = 1;
		else if (insn->mod == 2)
			disp_size = 4;
	}
	if (!disp_size)
		return 0;
	ret = bt_fetch(c, disp_size, &v);
	if (ret)
		return ret;
	insn->disp_size = disp_size;
	insn->disp = bt_sext(v, disp_size);
	return 0;
}

/* Which immediates follow, by the opcode and what ModRM said. */
static int bt_decode_imm(struct bt_insn *insn, struct bt_cursor *c,
			 u16 attr)
{
	unsigned int size = 0, size2 = 0;
	unsigned int z = insn->opsize == 2 ? 2 : 4;
	u64 v;
	int ret;

	if (attr & F_IB) {
		size = 1;
	} else if (attr & F_IW) {
		size = 2;
	} else if (attr & F_IZ) {
		size = z;
	} else if (attr & F_IV) {
		size = insn->opsize;
	} else if (attr & F_MOFFS) {
		size = insn->addrsize;
	} else if (attr & F_FAR) {
		size = z;
		size2 = 2;
	} else if (attr & F_ENTER) {
		size = 2;
		size2 = 1;
	} else if ((attr & F_GRP3) && (insn->modrm & 0x38) < 0x10) {
		size = insn->opcode == 0xf6 ? 1 : z;
	}

	/* SSE4a EXTRQ/INSERTQ (66 or F2 0F 78): two imm8. */
	if (insn->opcode_map == BT_MAP_0F && insn->opcode == 0x78 &&
	    (insn->rep == 0xf2 || (!insn->rep && insn->opsize_prefix))) {
		size = 1;
		size2 = 1;
	}

	if (size) {
		ret = bt_fetch(c, size, &v);
		if (ret)
			return ret;
		insn->imm_size = size;
		insn->imm = v;
	}
	if (size2) {
		ret = bt_fetch(c, size2, &v);
		if (ret)
			return ret;
		insn->imm2_size = size2;
		insn->imm2 = v;
	}
	return 0;
}

/*
 * VEX (C4, C5), EVEX (62) and XOP (8F) reuse opcodes: outside 64-bit
 * mode C4/C5/62 are LES/LDS/BOUND unless the next byte has mod = 3 (a
 * register form, which those instructions do not have), and 8F is POP
 * only with ModRM.reg = 0.
 */
static int bt_check_vex(const struct bt_insn *insn, const struct bt_cursor *c)
{
	u8 op = insn->opcode;
	u8 next;
	int ret;

	if (insn->opcode_map != BT_MAP_ONE ||
	    (op != 0xc4 && op != 0xc5 && op != 0x62 && op != 0x8f))
		return 0;
	ret = bt_need(c, 1);
	if (ret)
		return ret;
	next = c->buf[c->pos];
	if (op == 0x8f)
		return (next & 0x38) ? -EOPNOTSUPP : 0;
	if (insn->mode == BT_MODE_LONG64)
		return -EOPNOTSUPP;
	if ((next >> 6) != 3)
		return 0;
	return insn->mode == BT_MODE_REAL16 ? -EINVAL : -EOPNOTSUPP;
}

/* Encodings that exist in the tables but are #UD by their ModRM. */
static bool bt_modrm_invalid(const struct bt_insn *insn)
{
	u8 reg = (insn->modrm >> 3) & 7;

	if (insn->opcode_map == BT_MAP_0F) {
		switch (insn->opcode) {
		case 0xb2: case 0xb4: case 0xb5:	/* LSS, LFS, LGS */
			return insn->mod == 3;
		}
		return false;
	}
	if (insn->opcode_map != BT_MAP_ONE)
		return false;
	switch (insn->opcode) {
	case 0x62: case 0x8d: case 0xc4: case 0xc5:	/* BOUND LEA LES LDS */
		return insn->mod == 3;
	case 0xc6: case 0xc7:	/* MOV /0, or XABORT/XBEGIN as C6/C7 F8 */
		return reg != 0 && insn->modrm != 0xf8;
	case 0xfe:
		return reg > 1;
	case 0xff:
		return reg == 7 || ((reg == 3 || reg == 5) && insn->mod == 3);
	}
	return false;
}

/* LOCK is allowed only on read-modify-write forms with a memory operand. */
static bool bt_lock_ok(const struct bt_insn *insn)
{
	u8 op = insn->opcode;
	u8 reg = (insn->modrm >> 3) & 7;

	if (!insn->has_modrm || insn->mod == 3)
		return false;
	if (insn->opcode_map == BT_MAP_ONE) {
		if (op < 0x40 && (op & 7) < 2 && (op & 0x38) != 0x38)
			return true;	/* ADD..XOR r/m, r (not CMP) */
		switch (op) {
		case 0x80: case 0x81: case 0x82: case 0x83:
			return reg != 7;
		case 0x86: case 0x87:
			return true;
		case 0xf6: case 0xf7:
			return reg == 2 || reg == 3;
		case 0xfe: case 0xff:
			return reg < 2;
		}
		return false;
	}
	if (insn->opcode_map == BT_MAP_0F) {
		switch (op) {
		case 0xab: case 0xb3: case 0xbb:
		case 0xb0: case 0xb1: case 0xc0: case 0xc1:
			return true;
		case 0xba:
			return reg >= 5;
		case 0xc7:
			return reg == 1;
		}
	}
	return false;
}

int bt_decode(struct bt_insn *insn, const u8 *buf, unsigned int avail,
	      enum bt_mode mode)
{
	struct bt_cursor c = { .buf = buf, .pos = 0, .avail = avail };
	u16 attr;
	u64 b;
	int ret;

	memset(insn, 0, sizeof(*insn));
	insn->seg = BT_SEG_NONE;
	insn->sib_base = 0xff;
	insn->sib_index = 0xff;
	if ((unsigned int)mode > BT_MODE_LONG64)
		return -EINVAL;
	insn->mode = mode;

	ret = bt_decode_prefixes(insn, &c);
	if (ret)
		return ret;

	ret = bt_fetch(&c, 1, &b);
	if (ret)
		return ret;
	attr = bt_map_one[b];
	insn->opcode_map = BT_MAP_ONE;
	if (attr & F_ESC) {
		ret = bt_fetch(&c, 1, &b);
		if (ret)
			return ret;
		attr = bt_map_0f[b];
		insn->opcode_map = BT_MAP_0F;
		if (attr & F_ESC) {
			bool map38 = b == 0x38;

			insn->opcode_map = map38 ? BT_MAP_0F38 : BT_MAP_0F3A;
			attr = map38 ? F_M : F_M | F_IB;
			ret = bt_fetch(&c, 1, &b);
			if (ret)
				return ret;
		}
	}
	insn->opcode = b;
	if (attr & F_UD)
		return -EINVAL;
	if ((attr & F_INV64) && mode == BT_MODE_LONG64 &&
	    b != 0x62 && b != 0xc4 && b != 0xc5)
		return -EINVAL;
	ret = bt_check_vex(insn, &c);
	if (ret)
		return ret;

	bt_set_sizes(insn, attr);
	if (attr & F_M) {
		ret = bt_decode_modrm(insn, &c, attr);
		if (ret)
			return ret;
		if (bt_modrm_invalid(insn))
			return -EINVAL;
		/* Near CALL/JMP through memory are 64-bit; PUSH defaults to. */
		if (mode == BT_MODE_LONG64 && insn->opcode_map == BT_MAP_ONE &&
		    b == 0xff) {
			u8 reg = (insn->modrm >> 3) & 7;

			if (reg == 2 || reg == 4)
				insn->opsize = 8;
			else if (reg == 6 && !insn->opsize_prefix)
				insn->opsize = 8;
		}
	}
	ret = bt_decode_imm(insn, &c, attr);
	if (ret)
		return ret;
	if (insn->lock && !bt_lock_ok(insn))
		return -EINVAL;
	insn->len = c.pos;
	return 0;
}

/* 16-bit ModRM: base and index by rm (0xff: none). */
static const u8 bt_ea16_base[8] = { 3, 3, 5, 5, 0xff, 0xff, 5, 3 };
static const u8 bt_ea16_index[8] = { 6, 7, 6, 7, 6, 7, 0xff, 0xff };

int bt_insn_ea(const struct bt_insn *insn, const u64 *gpr, u64 next_rip,
	       u64 *ea, u8 *seg)
{
	u64 mask = insn->addrsize >= 8 ? ~0ULL :
		   (1ULL << (insn->addrsize * 8)) - 1;
	u8 def = BT_SEG_DS;
	u64 off;

	if (insn->opcode_map == BT_MAP_ONE && insn->opcode >= 0xa0 &&
	    insn->opcode <= 0xa3) {
		off = insn->imm;
	} else if (!insn->has_modrm || insn->mod == 3) {
		return -EINVAL;
	} else if (insn->addrsize == 2) {
		u8 rm = insn->modrm & 7;
		u8 base = bt_ea16_base[rm], index = bt_ea16_index[rm];

		/* mod 0, rm 6 is disp16 alone */
		if (insn->mod == 0 && rm == 6)
			base = 0xff;
		off = insn->disp;
		if (base != 0xff)
			off += gpr[base] & 0xffff;
		if (index != 0xff)
			off += gpr[index] & 0xffff;
		if (base == 5)
			def = BT_SEG_SS;
	} else if (insn->rip_relative) {
		off = next_rip + insn->disp;
	} else {
		u8 base = insn->has_sib ? insn->sib_base : insn->rm;

		/* mod 0, rm 5 without SIB: disp32 alone outside 64-bit */
		if (!insn->has_sib && insn->mod == 0 && (insn->modrm & 7) == 5)
			base = 0xff;
		off = insn->disp;
		if (base != 0xff) {
			off += gpr[base];
			if ((base & 7) == 4 || (base & 7) == 5)
				def = base < 8 ? BT_SEG_SS : BT_SEG_DS;
		}
		if (insn->has_sib && insn->sib_index != 0xff)
			off += gpr[insn->sib_index] * insn->sib_scale;
	}
	*ea = off & mask;
	*seg = insn->seg == BT_SEG_NONE ? def : insn->seg;
	return 0;
}
