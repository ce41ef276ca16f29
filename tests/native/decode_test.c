// SPDX-License-Identifier: GPL-2.0
/*
 * Native tests of bt_decode(): lengths against GNU as (decode_cases.S),
 * operands written out by hand from the SDM's encoding tables, every
 * error code, and random bytes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"

#include "bt/decode.h"
#include "decode_cases.h"

static const char *const mode_name[] = { "real16", "prot16", "prot32",
					 "long64" };

/* Decode from a heap copy of exactly @n bytes: ASan sees any over-read. */
static int decode_exact(struct bt_insn *insn, const void *bytes,
			unsigned int n, enum bt_mode mode)
{
	unsigned char *copy = malloc(n ? n : 1);
	int ret;

	memcpy(copy, bytes, n);
	ret = bt_decode(insn, copy, n, mode);
	free(copy);
	return ret;
}

TEST(gas_lengths)
{
	const struct bt_case *c;
	struct bt_insn insn;
	int n = 0, bad = 0;

	for (c = bt_cases; c < bt_cases_end; c++, n++) {
		const unsigned char *code = bt_case_code + c->code_off;
		const char *name = bt_case_names + c->name_off;
		int ret;

		ret = decode_exact(&insn, code, c->len, c->mode);
		if (ret || insn.len != c->len) {
			TH_LOG("%s '%s': ret %d len %u, as says %u",
			       mode_name[c->mode], name, ret, insn.len,
			       c->len);
			bad++;
			continue;
		}
		/* One byte less must be "need more", never a guess. */
		ret = decode_exact(&insn, code, c->len - 1, c->mode);
		if (ret != -ENODATA) {
			TH_LOG("%s '%s' truncated: ret %d", mode_name[c->mode],
			       name, ret);
			bad++;
		}
		/* Real mode decodes 16-bit code the same way. */
		if (c->mode == BT_MODE_PROT16 &&
		    (decode_exact(&insn, code, c->len, BT_MODE_REAL16) ||
		     insn.len != c->len)) {
			TH_LOG("real16 '%s': len %u", name, insn.len);
			bad++;
		}
	}
	ASSERT_GT(n, 300);
	EXPECT_EQ(0, bad);
}

/* A segment prefix in front of any instruction adds one byte. */
TEST(gas_lengths_with_prefix)
{
	const struct bt_case *c;
	struct bt_insn insn;
	unsigned char buf[16];
	int bad = 0;

	for (c = bt_cases; c < bt_cases_end; c++) {
		if (c->len >= BT_MAX_INSN_LEN)
			continue;
		buf[0] = 0x2e;
		memcpy(buf + 1, bt_case_code + c->code_off, c->len);
		if (decode_exact(&insn, buf, c->len + 1, c->mode) ||
		    insn.len != c->len + 1) {
			TH_LOG("2e + '%s': len %u", bt_case_names + c->name_off,
			       insn.len);
			bad++;
		}
	}
	EXPECT_EQ(0, bad);
}

#define DECODE_OK(mode, ...) ({						\
	static const unsigned char __b[] = { __VA_ARGS__ };		\
	ASSERT_EQ(0, decode_exact(&insn, __b, sizeof(__b), mode));	\
	ASSERT_EQ(sizeof(__b), insn.len);				\
})

#define DECODE_ERR(err, mode, ...) ({					\
	static const unsigned char __b[] = { __VA_ARGS__ };		\
	EXPECT_EQ(err, decode_exact(&insn, __b, sizeof(__b), mode));	\
})

TEST(operands_64)
{
	struct bt_insn insn;

	/* mov 0x12345678(%rax,%rbx,4), %rax */
	DECODE_OK(BT_MODE_LONG64, 0x48, 0x8b, 0x84, 0x98,
		  0x78, 0x56, 0x34, 0x12);
	EXPECT_EQ(BT_MAP_ONE, insn.opcode_map);
	EXPECT_EQ(0x8b, insn.opcode);
	EXPECT_EQ(0x48, insn.rex);
	EXPECT_EQ(8, insn.opsize);
	EXPECT_EQ(8, insn.addrsize);
	EXPECT_TRUE(insn.has_modrm);
	EXPECT_TRUE(insn.has_sib);
	EXPECT_EQ(2, insn.mod);
	EXPECT_EQ(0, insn.reg);
	EXPECT_EQ(4, insn.sib_scale);
	EXPECT_EQ(3, insn.sib_index);
	EXPECT_EQ(0, insn.sib_base);
	EXPECT_EQ(4, insn.disp_size);
	EXPECT_EQ(0x12345678, insn.disp);
	EXPECT_EQ(1, insn.nr_prefixes);

	/* movb $0xff, -8(%r12) */
	DECODE_OK(BT_MODE_LONG64, 0x41, 0xc6, 0x44, 0x24, 0xf8, 0xff);
	EXPECT_EQ(12, insn.sib_base);
	EXPECT_EQ(0xff, insn.sib_index);
	EXPECT_EQ(-8, insn.disp);
	EXPECT_EQ(1, insn.imm_size);
	EXPECT_EQ(0xff, insn.imm);

	/* movq $-1, 0x12345678(%rax): imm32, sign-extended by the user */
	DECODE_OK(BT_MODE_LONG64, 0x48, 0xc7, 0x80, 0x78, 0x56, 0x34, 0x12,
		  0xff, 0xff, 0xff, 0xff);
	EXPECT_EQ(4, insn.imm_size);
	EXPECT_EQ(0xffffffffULL, insn.imm);

	/* movw $0x1234, (%rax) */
	DECODE_OK(BT_MODE_LONG64, 0x66, 0xc7, 0x00, 0x34, 0x12);
	EXPECT_EQ(2, insn.opsize);
	EXPECT_TRUE(insn.opsize_prefix);
	EXPECT_EQ(0x1234, insn.imm);

	/* mov 0x10(%eip), %r9d: 67 keeps RIP-relative, REX.R */
	DECODE_OK(BT_MODE_LONG64, 0x67, 0x44, 0x8b, 0x0d, 0x10, 0, 0, 0);
	EXPECT_TRUE(insn.rip_relative);
	EXPECT_EQ(4, insn.addrsize);
	EXPECT_EQ(9, insn.reg);
	EXPECT_EQ(0x10, insn.disp);

	/* mov (%r13), %eax needs mod 1 with disp8 0 */
	DECODE_OK(BT_MODE_LONG64, 0x41, 0x8b, 0x45, 0x00);
	EXPECT_EQ(13, insn.rm);
	EXPECT_EQ(1, insn.disp_size);

	/* mov 0x12345678, %eax: SIB without base or index */
	DECODE_OK(BT_MODE_LONG64, 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12);
	EXPECT_EQ(0xff, insn.sib_base);
	EXPECT_EQ(0xff, insn.sib_index);
	EXPECT_FALSE(insn.rip_relative);

	/* SIB base 101, mod 0, with REX.B: still disp32 and no base */
	DECODE_OK(BT_MODE_LONG64, 0x41, 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34,
		  0x12);
	EXPECT_EQ(0xff, insn.sib_base);
	EXPECT_EQ(4, insn.disp_size);
	/* ... and with mod 1 it is r13 */
	DECODE_OK(BT_MODE_LONG64, 0x41, 0x8b, 0x44, 0x25, 0x08);
	EXPECT_EQ(13, insn.sib_base);

	/* REX.X with index 4 is r12, a real index */
	DECODE_OK(BT_MODE_LONG64, 0x42, 0x8b, 0x04, 0x20);
	EXPECT_EQ(12, insn.sib_index);

	/* movabs 0x1122334455667788, %al: moffs of the address size */
	DECODE_OK(BT_MODE_LONG64, 0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33,
		  0x22, 0x11);
	EXPECT_EQ(8, insn.imm_size);
	EXPECT_EQ(0x1122334455667788ULL, insn.imm);

	/* movabs $imm64, %r8 */
	DECODE_OK(BT_MODE_LONG64, 0x49, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8);
	EXPECT_EQ(8, insn.imm_size);
	EXPECT_EQ(0x0807060504030201ULL, insn.imm);

	/* rep stosq; fs prefix; the last of F2/F3 wins */
	DECODE_OK(BT_MODE_LONG64, 0xf2, 0x64, 0xf3, 0x48, 0xab);
	EXPECT_EQ(0xf3, insn.rep);
	EXPECT_EQ(BT_SEG_FS, insn.seg);
	EXPECT_EQ(8, insn.opsize);
	EXPECT_EQ(4, insn.nr_prefixes);

	/* REX followed by a legacy prefix is dropped: 48 66 89 00 */
	DECODE_OK(BT_MODE_LONG64, 0x48, 0x66, 0x89, 0x00);
	EXPECT_EQ(0, insn.rex);
	EXPECT_EQ(2, insn.opsize);

	/* push: 64-bit by default, 66 makes it 16 */
	DECODE_OK(BT_MODE_LONG64, 0xff, 0x30);
	EXPECT_EQ(8, insn.opsize);
	DECODE_OK(BT_MODE_LONG64, 0x66, 0x6a, 0x01);
	EXPECT_EQ(2, insn.opsize);

	/* mov %cr0, %rax with ModRM 00: a register all the same, no disp */
	DECODE_OK(BT_MODE_LONG64, 0x0f, 0x20, 0x05);
	EXPECT_EQ(3, insn.mod);
	EXPECT_EQ(0, insn.disp_size);
	DECODE_OK(BT_MODE_LONG64, 0x0f, 0x22, 0x80);

	/* ENTER: Iw then Ib */
	DECODE_OK(BT_MODE_LONG64, 0xc8, 0x34, 0x12, 0x05);
	EXPECT_EQ(0x1234, insn.imm);
	EXPECT_EQ(5, insn.imm2);

	/* 0F 3A 0F (palignr) and 0F 38 00 (pshufb) maps */
	DECODE_OK(BT_MODE_LONG64, 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x04);
	EXPECT_EQ(BT_MAP_0F3A, insn.opcode_map);
	EXPECT_EQ(0x0f, insn.opcode);
	EXPECT_EQ(4, insn.imm);
	DECODE_OK(BT_MODE_LONG64, 0x66, 0x0f, 0x38, 0x00, 0x04, 0x24);
	EXPECT_EQ(BT_MAP_0F38, insn.opcode_map);

	/* movzbl (%rax), %eax */
	DECODE_OK(BT_MODE_LONG64, 0x0f, 0xb6, 0x00);
	EXPECT_EQ(BT_MAP_0F, insn.opcode_map);
	EXPECT_EQ(0xb6, insn.opcode);

	/* 14 prefixes and a one-byte opcode: exactly 15 */
	DECODE_OK(BT_MODE_LONG64, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
		  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90);
}

TEST(operands_32_16)
{
	struct bt_insn insn;

	/* 32-bit: mov 0x10(%ebp), %ecx */
	DECODE_OK(BT_MODE_PROT32, 0x8b, 0x4d, 0x10);
	EXPECT_EQ(4, insn.opsize);
	EXPECT_EQ(4, insn.addrsize);
	EXPECT_EQ(1, insn.reg);
	EXPECT_EQ(5, insn.rm);

	/* 32-bit: 40-4F are INC/DEC, not REX */
	DECODE_OK(BT_MODE_PROT32, 0x48);
	EXPECT_EQ(0, insn.rex);
	EXPECT_EQ(0x48, insn.opcode);

	/* 32-bit: ljmp $0x10, $0x12345678 */
	DECODE_OK(BT_MODE_PROT32, 0xea, 0x78, 0x56, 0x34, 0x12, 0x10, 0x00);
	EXPECT_EQ(0x12345678, insn.imm);
	EXPECT_EQ(0x10, insn.imm2);

	/* 32-bit: addr16 mov (%bx,%si), %ax */
	DECODE_OK(BT_MODE_PROT32, 0x67, 0x66, 0x8b, 0x00);
	EXPECT_EQ(2, insn.addrsize);
	EXPECT_EQ(2, insn.opsize);
	EXPECT_FALSE(insn.has_sib);

	/* 32-bit: mov 0x12345678, %eax (A1 moffs32) */
	DECODE_OK(BT_MODE_PROT32, 0xa1, 0x78, 0x56, 0x34, 0x12);
	EXPECT_EQ(4, insn.imm_size);

	/* 32-bit: LDS, and VEX with mod = 3 */
	DECODE_OK(BT_MODE_PROT32, 0xc5, 0x00);
	DECODE_ERR(-EOPNOTSUPP, BT_MODE_PROT32, 0xc5, 0xf8, 0x77);
	/* ...which real mode does not know: LDS with a register, #UD */
	DECODE_ERR(-EINVAL, BT_MODE_REAL16, 0xc5, 0xf8, 0x77);

	/* 16-bit: mov 0x10(%bp), %ax; mov 0x1234, %ax via ModRM 06 */
	DECODE_OK(BT_MODE_PROT16, 0x8b, 0x46, 0x10);
	EXPECT_EQ(2, insn.opsize);
	EXPECT_EQ(2, insn.addrsize);
	EXPECT_EQ(0x10, insn.disp);
	DECODE_OK(BT_MODE_REAL16, 0x8b, 0x06, 0x34, 0x12);
	EXPECT_EQ(2, insn.disp_size);
	EXPECT_EQ(0x1234, insn.disp);
	/* 16-bit: mod 2 rm 0, disp16 sign-extended */
	DECODE_OK(BT_MODE_REAL16, 0x8b, 0x80, 0x00, 0x80);
	EXPECT_EQ(-0x8000, insn.disp);

	/* 16-bit: 66 c7 07 imm32 */
	DECODE_OK(BT_MODE_REAL16, 0x66, 0xc7, 0x07, 1, 2, 3, 4);
	EXPECT_EQ(4, insn.opsize);
	EXPECT_EQ(4, insn.imm_size);

	/* 16-bit: 67 8b 04 98: SIB with a 32-bit address size */
	DECODE_OK(BT_MODE_REAL16, 0x67, 0x8b, 0x04, 0x98);
	EXPECT_TRUE(insn.has_sib);
	EXPECT_EQ(4, insn.addrsize);

	/* 16-bit: the override segment, last one wins */
	DECODE_OK(BT_MODE_REAL16, 0x26, 0x2e, 0x8b, 0x07);
	EXPECT_EQ(BT_SEG_CS, insn.seg);
}

TEST(errors)
{
	static const unsigned char p16[] = {
		0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
		0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90,
	};
	struct bt_insn insn;
	unsigned char buf[32];

	/* 15 prefixes: too long whether or not more bytes follow */
	EXPECT_EQ(-E2BIG, decode_exact(&insn, p16, 16, BT_MODE_LONG64));
	EXPECT_EQ(-E2BIG, decode_exact(&insn, p16, 15, BT_MODE_LONG64));
	/* 14 x 66 then add $imm16, %ax: 17 bytes */
	memset(buf, 0x66, 14);
	buf[14] = 0x05;
	buf[15] = 0x34;
	buf[16] = 0x12;
	EXPECT_EQ(-E2BIG, decode_exact(&insn, buf, 17, BT_MODE_LONG64));
	EXPECT_EQ(-E2BIG, decode_exact(&insn, buf, 15, BT_MODE_LONG64));
	EXPECT_EQ(-ENODATA, decode_exact(&insn, buf, 14, BT_MODE_LONG64));

	EXPECT_EQ(-ENODATA, decode_exact(&insn, buf, 0, BT_MODE_LONG64));
	DECODE_ERR(-ENODATA, BT_MODE_LONG64, 0x48, 0x8b);
	DECODE_ERR(-ENODATA, BT_MODE_LONG64, 0x8b, 0x04);
	DECODE_ERR(-ENODATA, BT_MODE_LONG64, 0x0f);
	DECODE_ERR(-ENODATA, BT_MODE_LONG64, 0x0f, 0x3a, 0x0f, 0xc1);
	DECODE_ERR(-ENODATA, BT_MODE_LONG64, 0xc4);

	/* Invalid in 64-bit mode, valid in 32 */
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0x06);
	DECODE_OK(BT_MODE_PROT32, 0x06);
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0x27);
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0x60);
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0xce);
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0xd4, 0x0a);
	DECODE_OK(BT_MODE_PROT32, 0xd4, 0x0a);
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0x9a, 1, 2, 3, 4, 5, 6);
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0x82, 0x00, 0x01);
	DECODE_OK(BT_MODE_PROT32, 0x82, 0x00, 0x01);

	/* Undefined anywhere */
	DECODE_ERR(-EINVAL, BT_MODE_PROT32, 0xd6);
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0x0f, 0x04);
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0x0f, 0xa6);
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0x0f, 0x39);
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0xfe, 0x10);	/* FE /2 */
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0xff, 0x38);	/* FF /7 */
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0xc6, 0x08, 0x01);	/* C6 /1 */
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0x8d, 0xc0);	/* lea reg */
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0x0f, 0xb2, 0xc0);	/* lss reg */

	/* LOCK only on a read-modify-write memory form */
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0xf0, 0x89, 0x00);
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0xf0, 0x01, 0xc0);
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0xf0, 0x39, 0x00);	/* cmp */
	DECODE_ERR(-EINVAL, BT_MODE_LONG64, 0xf0, 0x90);
	DECODE_OK(BT_MODE_LONG64, 0xf0, 0x01, 0x00);
	EXPECT_TRUE(insn.lock);
	DECODE_OK(BT_MODE_LONG64, 0xf0, 0x0f, 0xc7, 0x0f);

	/* VEX, EVEX, XOP */
	DECODE_ERR(-EOPNOTSUPP, BT_MODE_LONG64, 0xc5, 0xf8, 0x77);
	DECODE_ERR(-EOPNOTSUPP, BT_MODE_LONG64, 0xc4, 0xe2, 0x79, 0x00, 0xc0);
	DECODE_ERR(-EOPNOTSUPP, BT_MODE_LONG64, 0x62, 0xf1, 0x7c, 0x48, 0x10,
		   0x00);
	DECODE_ERR(-EOPNOTSUPP, BT_MODE_LONG64, 0x8f, 0xe9, 0x78, 0x01, 0xc0);
	DECODE_OK(BT_MODE_LONG64, 0x8f, 0xc0);	/* pop %rax, the long way */

	/* An unknown mode */
	DECODE_ERR(-EINVAL, 7, 0x90);
}

/*
 * Random bytes: the decoder must not read past @avail (ASan), must
 * answer with a documented code, and must be consistent with itself.
 */
TEST(fuzz)
{
	static const int ok_errs[] = { 0, -EINVAL, -E2BIG, -ENODATA,
				       -EOPNOTSUPP };
	unsigned int seed = 12345, i, j, bad = 0, decoded = 0;
	struct bt_insn insn, again;
	unsigned char bytes[20];

	for (i = 0; i < 400000; i++) {
		unsigned int avail = rand_r(&seed) % 21;
		enum bt_mode mode = rand_r(&seed) % 4;
		bool known = false;
		int ret;

		for (j = 0; j < sizeof(bytes); j++) {
			/* Bias towards prefixes and escapes. */
			unsigned int r = rand_r(&seed);

			bytes[j] = (r & 0x700) == 0 ?
				   "\x66\x67\xf2\xf3\xf0\x0f\x48\x2e"[r & 7] :
				   r & 0xff;
		}
		ret = decode_exact(&insn, bytes, avail, mode);
		for (j = 0; j < 5; j++)
			known |= ret == ok_errs[j];
		if (!known) {
			TH_LOG("undocumented return %d", ret);
			bad++;
			continue;
		}
		if (ret == -ENODATA && avail >= BT_MAX_INSN_LEN)
			bad++;
		if (ret)
			continue;
		decoded++;
		{
			u64 gpr[16] = { 0 }, ea;
			u8 seg;

			/* ASan checks every register index it uses. */
			if (!bt_insn_ea(&insn, gpr, 0, &ea, &seg) &&
			    seg > BT_SEG_GS)
				bad++;
		}
		if (insn.len < 1 || insn.len > BT_MAX_INSN_LEN ||
		    insn.len > avail) {
			TH_LOG("len %u avail %u", insn.len, avail);
			bad++;
			continue;
		}
		/* The same with exactly len bytes, and one fewer. */
		if (decode_exact(&again, bytes, insn.len, mode) ||
		    memcmp(&again, &insn, sizeof(insn)))
			bad++;
		if (decode_exact(&again, bytes, insn.len - 1, mode) !=
		    -ENODATA)
			bad++;
	}
	EXPECT_EQ(0, bad);
	EXPECT_GT(decoded, 100000);
}

#define EA(mode, next_rip, want_ea, want_seg, ...) ({		\
	u64 __ea = 0xdead;						\
	u8 __seg = 0xee;						\
	DECODE_OK(mode, __VA_ARGS__);					\
	EXPECT_EQ(0, bt_insn_ea(&insn, gpr, next_rip, &__ea, &__seg));	\
	EXPECT_EQ((u64)(want_ea), __ea);				\
	EXPECT_EQ(want_seg, __seg);					\
})

TEST(effective_address)
{
	struct bt_insn insn;
	u64 gpr[16], ea;
	u8 seg;
	int i;

	for (i = 0; i < 16; i++)
		gpr[i] = 0x1000ULL * (i + 1);
	gpr[5] = 0xfffffffffffffff0ULL;		/* rbp */

	/* mov 0x12345678(%rax,%rbx,4), %rax */
	EA(BT_MODE_LONG64, 0, 0x1000 + 0x4000 * 4 + 0x12345678, BT_SEG_DS,
	   0x48, 0x8b, 0x84, 0x98, 0x78, 0x56, 0x34, 0x12);
	/* mov -8(%r12), %al: r12 is not SS-based */
	EA(BT_MODE_LONG64, 0, 0xd000 - 8, BT_SEG_DS,
	   0x41, 0x8a, 0x44, 0x24, 0xf8);
	/* mov 0x20(%rbp), %eax: SS, wraps past 2^64 */
	EA(BT_MODE_LONG64, 0, 0x10, BT_SEG_SS, 0x8b, 0x45, 0x20);
	/* mov (%rsp), %eax */
	EA(BT_MODE_LONG64, 0, 0x5000, BT_SEG_SS, 0x8b, 0x04, 0x24);
	/* mov 0x10(%rip), %eax with RIP after it = 0x400006 */
	EA(BT_MODE_LONG64, 0x400006, 0x400016, BT_SEG_DS,
	   0x8b, 0x05, 0x10, 0, 0, 0);
	/* addr32 mov (%eax,%r9d,8)... with 32-bit truncation */
	gpr[0] = 0xffffffff;
	EA(BT_MODE_LONG64, 0, (0xffffffffULL + 0xa000 * 8) & 0xffffffff,
	   BT_SEG_DS, 0x67, 0x42, 0x8b, 0x04, 0xc8);
	gpr[0] = 0x1000;
	/* mov 0x12345678, %eax via SIB, no base or index; fs override */
	EA(BT_MODE_LONG64, 0, 0x12345678, BT_SEG_FS,
	   0x64, 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12);
	/* movabs 0x1122334455667788, %al */
	EA(BT_MODE_LONG64, 0, 0x1122334455667788ULL, BT_SEG_DS,
	   0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11);
	/* 32-bit: mov 0x12345678, %eax is mod 0 rm 5, no base, no RIP */
	EA(BT_MODE_PROT32, 0x999, 0x12345678, BT_SEG_DS,
	   0x8b, 0x05, 0x78, 0x56, 0x34, 0x12);
	/* 32-bit: mov 4(%ebp,%esi,2), %eax: SS, 32-bit wrap */
	EA(BT_MODE_PROT32, 0, (0xfffffff0ULL + 4 + 0x7000 * 2) & 0xffffffff,
	   BT_SEG_SS, 0x8b, 0x44, 0x75, 0x04);
	/* 16-bit: mov 0x10(%bp,%di), %ax: SS, 16-bit wrap */
	EA(BT_MODE_REAL16, 0, (0xfff0 + 0x8000 + 0x10) & 0xffff, BT_SEG_SS,
	   0x8b, 0x43, 0x10);
	/* 16-bit: mov (%bx,%si), %ax; es: mov 0x1234, %ax */
	EA(BT_MODE_REAL16, 0, 0x4000 + 0x7000, BT_SEG_DS, 0x8b, 0x00);
	EA(BT_MODE_REAL16, 0, 0x1234, BT_SEG_ES, 0x26, 0x8b, 0x06, 0x34,
	   0x12);
	/* 16-bit with 67: 32-bit addressing */
	EA(BT_MODE_REAL16, 0, 0x4000 + 0x1000 * 4, BT_SEG_DS,
	   0x67, 0x8b, 0x04, 0x83);
	/* No memory operand */
	DECODE_OK(BT_MODE_LONG64, 0x89, 0xc0);
	EXPECT_EQ(-EINVAL, bt_insn_ea(&insn, gpr, 0, &ea, &seg));
	DECODE_OK(BT_MODE_LONG64, 0xab);
	EXPECT_EQ(-EINVAL, bt_insn_ea(&insn, gpr, 0, &ea, &seg));
}

TEST_HARNESS_MAIN
