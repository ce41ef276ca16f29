// SPDX-License-Identifier: GPL-2.0
/*
 * Native tests of bt_mmio_prepare()/bt_mmio_complete(): every supported
 * form round-trips through a fake device, and the flags the ALU forms
 * compute are checked against this CPU running the same instruction.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"

#include "bt/decode.h"
#include "bt/mmio.h"

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11 };

#define FL_CF	0x1ULL
#define FL_PF	0x4ULL
#define FL_AF	0x10ULL
#define FL_ZF	0x40ULL
#define FL_SF	0x80ULL
#define FL_DF	0x400ULL
#define FL_OF	0x800ULL
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* A guest state every test starts from: every byte distinct. */
static void regs_init(u64 *gpr)
{
	int i;

	for (i = 0; i < 16; i++)
		gpr[i] = 0x1111111111111111ULL * (i + 1) + 0x0102030405060708;
}

struct mmio_run {
	struct bt_insn insn;
	struct bt_mmio op;
	int prep;		/* what prepare returned */
	int done;		/* what complete returned */
};

/*
 * Decode @bytes, prepare, "access" the device (a read returns @read),
 * complete.  Returns prepare's value; the rest is in @r.
 */
static int run_mmio(struct mmio_run *r, enum bt_mode mode, const u8 *bytes,
		    unsigned int n, u64 *gpr, u64 *rflags, u64 read)
{
	memset(r, 0, sizeof(*r));
	if (bt_decode(&r->insn, bytes, n, mode))
		return -1000;
	r->prep = bt_mmio_prepare(&r->insn, gpr, &r->op);
	if (r->prep < 0)
		return r->prep;
	r->done = bt_mmio_complete(&r->insn, &r->op, gpr, rflags, read);
	return r->prep;
}

#define RUN(mode, read, ...) ({						\
	static const u8 __b[] = { __VA_ARGS__ };			\
	run_mmio(&r, mode, __b, sizeof(__b), gpr, &rflags, read);	\
})

TEST(mov_store)
{
	u64 gpr[16], rflags = 0x2, before[16];
	struct mmio_run r;

	regs_init(gpr);
	memcpy(before, gpr, sizeof(gpr));

	/* mov %ah, (%rax): the high byte without REX */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0x88, 0x20));
	EXPECT_TRUE(r.op.is_write);
	EXPECT_EQ(1, r.op.size);
	EXPECT_EQ((before[RAX] >> 8) & 0xff, r.op.data);
	/* mov %spl, (%rax): REX makes reg 4 SPL */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0x40, 0x88, 0x20));
	EXPECT_EQ(before[RSP] & 0xff, r.op.data);
	/* mov %bh, (%rax) and mov %dil, (%rax) */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0x88, 0x38));
	EXPECT_EQ((before[RBX] >> 8) & 0xff, r.op.data);
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0x40, 0x88, 0x38));
	EXPECT_EQ(before[RDI] & 0xff, r.op.data);
	/* mov %r9w, (%rax); mov %ebx, (%rax); mov %r15, (%rax) */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0x66, 0x44, 0x89, 0x08));
	EXPECT_EQ(2, r.op.size);
	EXPECT_EQ(before[R9] & 0xffff, r.op.data);
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0x89, 0x18));
	EXPECT_EQ(4, r.op.size);
	EXPECT_EQ(before[RBX] & 0xffffffff, r.op.data);
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0x4c, 0x89, 0x38));
	EXPECT_EQ(8, r.op.size);
	EXPECT_EQ(before[15], r.op.data);

	/* Immediates: movb $0xab; movw $0x1234; movq $-2 (sign-extended) */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0xc6, 0x00, 0xab));
	EXPECT_EQ(0xab, r.op.data);
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0x66, 0xc7, 0x00, 0x34, 0x12));
	EXPECT_EQ(0x1234, r.op.data);
	EXPECT_EQ(2, r.op.size);
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0x48, 0xc7, 0x00,
			 0xfe, 0xff, 0xff, 0xff));
	EXPECT_EQ(0xfffffffffffffffeULL, r.op.data);
	EXPECT_EQ(8, r.op.size);
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0xc7, 0x40, 0x10,
			 0x78, 0x56, 0x34, 0x92));
	EXPECT_EQ(0x92345678, r.op.data);
	EXPECT_EQ(4, r.op.size);

	/* moffs: movabs %eax, addr64; 32-bit mov %al, addr32 */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8));
	EXPECT_TRUE(r.op.is_write);
	EXPECT_EQ(before[RAX] & 0xffffffff, r.op.data);
	ASSERT_EQ(0, RUN(BT_MODE_PROT32, 0, 0xa2, 1, 2, 3, 4));
	EXPECT_EQ(before[RAX] & 0xff, r.op.data);
	EXPECT_EQ(1, r.op.size);

	/* 16-bit: mov %cx, (%bx,%si); 66: mov %ecx */
	ASSERT_EQ(0, RUN(BT_MODE_REAL16, 0, 0x89, 0x08));
	EXPECT_EQ(2, r.op.size);
	EXPECT_EQ(before[RCX] & 0xffff, r.op.data);
	ASSERT_EQ(0, RUN(BT_MODE_REAL16, 0, 0x66, 0x89, 0x08));
	EXPECT_EQ(4, r.op.size);

	/* A store changes no register and no flag. */
	EXPECT_EQ(0, memcmp(before, gpr, sizeof(gpr)));
	EXPECT_EQ(0x2, rflags);
}

TEST(mov_load)
{
	u64 gpr[16], rflags = 0x2, before[16];
	struct mmio_run r;

	regs_init(gpr);
	memcpy(before, gpr, sizeof(gpr));

	/* mov (%rax), %bh: only bits 15:8 of rbx change */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0xff5a, 0x8a, 0x38));
	EXPECT_FALSE(r.op.is_write);
	EXPECT_EQ(1, r.op.size);
	EXPECT_EQ(0, r.done);
	EXPECT_EQ((before[RBX] & ~0xff00ULL) | 0x5a00, gpr[RBX]);
	/* mov (%rax), %dil with REX */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0x77, 0x40, 0x8a, 0x38));
	EXPECT_EQ((before[RDI] & ~0xffULL) | 0x77, gpr[RDI]);
	/* mov (%rax), %ah */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0x99, 0x8a, 0x20));
	EXPECT_EQ((before[RAX] & ~0xff00ULL) | 0x9900, gpr[RAX]);
	/* mov (%rax), %cx keeps bits 63:16 */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0xabcd, 0x66, 0x8b, 0x08));
	EXPECT_EQ((before[RCX] & ~0xffffULL) | 0xabcd, gpr[RCX]);
	/* mov (%rax), %ecx clears bits 63:32 */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0xffffffff89abcdefULL, 0x8b, 0x08));
	EXPECT_EQ(4, r.op.size);
	EXPECT_EQ(0x89abcdefULL, gpr[RCX]);
	/* mov (%rax), %r8d and mov (%rax), %r11 */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0x12345678, 0x44, 0x8b, 0x00));
	EXPECT_EQ(0x12345678, gpr[R8]);
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0x8877665544332211ULL,
			 0x4c, 0x8b, 0x18));
	EXPECT_EQ(0x8877665544332211ULL, gpr[R11]);
	/* moffs: movabs addr64, %al / %rax */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0x42, 0xa0, 1, 2, 3, 4, 5, 6, 7, 8));
	EXPECT_EQ(0x42, gpr[RAX] & 0xff);
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0xfedcba9876543210ULL, 0x48, 0xa1,
			 1, 2, 3, 4, 5, 6, 7, 8));
	EXPECT_EQ(0xfedcba9876543210ULL, gpr[RAX]);
	/* 16-bit A1: moffs16 into AX */
	gpr[RAX] = 0x1111222233334444ULL;
	ASSERT_EQ(0, RUN(BT_MODE_REAL16, 0x5555, 0xa1, 0x34, 0x12));
	EXPECT_EQ(2, r.op.size);
	EXPECT_EQ(0x1111222233335555ULL, gpr[RAX]);
	/* 32-bit mode: a 32-bit load clears the upper half too */
	ASSERT_EQ(0, RUN(BT_MODE_PROT32, 0x1, 0x8b, 0x10));
	EXPECT_EQ(1, gpr[RDX]);
	EXPECT_EQ(0x2, rflags);
}

TEST(movzx_movsx)
{
	u64 gpr[16], rflags = 0x2, before[16];
	struct mmio_run r;

	regs_init(gpr);
	memcpy(before, gpr, sizeof(gpr));

	/* movzbl (%rax), %ecx */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0x80, 0x0f, 0xb6, 0x08));
	EXPECT_EQ(1, r.op.size);
	EXPECT_EQ(0x80, gpr[RCX]);
	/* movsbl (%rax), %ecx: sign to 32, upper half clear */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0x80, 0x0f, 0xbe, 0x08));
	EXPECT_EQ(0xffffff80ULL, gpr[RCX]);
	/* movsbq (%rax), %rcx */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0x80, 0x48, 0x0f, 0xbe, 0x08));
	EXPECT_EQ(0xffffffffffffff80ULL, gpr[RCX]);
	/* movswq (%rax), %r10 */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0x8001, 0x4c, 0x0f, 0xbf, 0x10));
	EXPECT_EQ(2, r.op.size);
	EXPECT_EQ(0xffffffffffff8001ULL, gpr[R10]);
	/* movzwl (%rax), %edx */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0xffff, 0x0f, 0xb7, 0x10));
	EXPECT_EQ(0xffff, gpr[RDX]);
	/* movsbw (%rax), %bx: bits 63:16 stay */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0xfe, 0x66, 0x0f, 0xbe, 0x18));
	EXPECT_EQ((before[RBX] & ~0xffffULL) | 0xfffe, gpr[RBX]);
	/* movzbw in 16-bit code */
	ASSERT_EQ(0, RUN(BT_MODE_REAL16, 0xfe, 0x0f, 0xb6, 0x30));
	EXPECT_EQ((before[RSI] & ~0xffffULL) | 0x00fe, gpr[RSI]);
	/* A positive value is not sign-extended */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0x7f, 0x48, 0x0f, 0xbe, 0x08));
	EXPECT_EQ(0x7f, gpr[RCX]);
}

TEST(string_ops)
{
	u64 gpr[16], rflags = 0x2;
	struct mmio_run r;

	/* stosb: AL out, RDI + 1 */
	regs_init(gpr);
	gpr[RDI] = 0x1000;
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0xaa));
	EXPECT_TRUE(r.op.is_write);
	EXPECT_EQ(gpr[RAX] & 0xff, r.op.data);
	EXPECT_EQ(0x1001, gpr[RDI]);
	EXPECT_FALSE(r.op.repeat);
	/* std; stosl: RDI - 4 */
	rflags = 0x2 | FL_DF;
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0xab));
	EXPECT_EQ(4, r.op.size);
	EXPECT_EQ(0x0ffd, gpr[RDI]);
	rflags = 0x2;

	/* rep stosq, RCX = 3: one element, RIP stays */
	gpr[RCX] = 3;
	gpr[RDI] = 0x2000;
	ASSERT_EQ(BT_MMIO_F_REP, RUN(BT_MODE_LONG64, 0, 0xf3, 0x48, 0xab));
	EXPECT_TRUE(r.op.repeat);
	EXPECT_EQ(8, r.op.size);
	EXPECT_EQ(gpr[RAX], r.op.data);
	EXPECT_EQ(2, gpr[RCX]);
	EXPECT_EQ(0x2008, gpr[RDI]);
	/* ... RCX = 1: the last element, RIP moves on */
	gpr[RCX] = 1;
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0xf3, 0x48, 0xab));
	EXPECT_FALSE(r.op.repeat);
	EXPECT_EQ(0, gpr[RCX]);
	/* ... RCX = 0: nothing to do */
	EXPECT_EQ(-ENODATA, RUN(BT_MODE_LONG64, 0, 0xf3, 0x48, 0xab));

	/* addr32 rep stosb: ECX and EDI are 32-bit (upper half cleared) */
	gpr[RCX] = 0xffffffff00000002ULL;
	gpr[RDI] = 0xaaaaaaaaffffffffULL;
	ASSERT_EQ(BT_MMIO_F_REP, RUN(BT_MODE_LONG64, 0, 0x67, 0xf3, 0xaa));
	EXPECT_EQ(0xffffffffULL, r.op.dst_off);
	EXPECT_EQ(1, gpr[RCX]);
	EXPECT_EQ(0, gpr[RDI]);
	/* 16-bit rep stosw: CX and DI wrap at 16 bits, the rest stays */
	gpr[RCX] = 0x1234000000010005ULL;
	gpr[RDI] = 0x99990000ffffffffULL;
	ASSERT_EQ(BT_MMIO_F_REP, RUN(BT_MODE_REAL16, 0, 0xf3, 0xab));
	EXPECT_EQ(2, r.op.size);
	EXPECT_EQ(0x1234000000010004ULL, gpr[RCX]);
	EXPECT_EQ(0x99990000ffff0001ULL, gpr[RDI]);

	/* lodsw: a read into AX, RSI + 2 */
	regs_init(gpr);
	gpr[RSI] = 0x3000;
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0xbeef, 0x66, 0xad));
	EXPECT_FALSE(r.op.is_write);
	EXPECT_EQ(0xbeef, gpr[RAX] & 0xffff);
	EXPECT_EQ(0x3002, gpr[RSI]);
	/* lodsb: AL, never AH */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0x11, 0xac));
	EXPECT_EQ(0xbe11, gpr[RAX] & 0xffff);

	/* Unsupported string instructions */
	EXPECT_EQ(-EOPNOTSUPP, RUN(BT_MODE_LONG64, 0, 0xa6));
	EXPECT_EQ(-EOPNOTSUPP, RUN(BT_MODE_LONG64, 0, 0xf2, 0xae));
	EXPECT_EQ(-EOPNOTSUPP, RUN(BT_MODE_LONG64, 0, 0x6c));
}

TEST(movs)
{
	static const u8 movsl[] = { 0xf3, 0xa5 };
	static const u8 movsb_fs[] = { 0x64, 0xa4 };
	u64 gpr[16], rflags = 0x2;
	struct bt_insn insn;
	struct bt_mmio op;

	regs_init(gpr);
	gpr[RSI] = 0x1000;
	gpr[RDI] = 0x2000;
	gpr[RCX] = 2;
	ASSERT_EQ(0, bt_decode(&insn, movsl, sizeof(movsl), BT_MODE_PROT32));
	/* MOVS to MMIO: the caller reads RAM at DS:ESI and writes it */
	ASSERT_EQ(BT_MMIO_F_MOVS | BT_MMIO_F_REP,
		  bt_mmio_prepare(&insn, gpr, &op));
	EXPECT_EQ(BT_SEG_DS, op.src_seg);
	EXPECT_EQ(0x1000, op.src_off);
	EXPECT_EQ(0x2000, op.dst_off);
	EXPECT_EQ(4, op.size);
	ASSERT_EQ(0, bt_mmio_movs_resolve(&op, true, 0x1122334455ULL));
	EXPECT_TRUE(op.is_write);
	EXPECT_EQ(0x22334455, op.data);
	ASSERT_EQ(0, bt_mmio_complete(&insn, &op, gpr, &rflags, 0));
	EXPECT_EQ(0x1004, gpr[RSI]);
	EXPECT_EQ(0x2004, gpr[RDI]);
	EXPECT_EQ(1, gpr[RCX]);

	/* MOVS from MMIO with DF: a read; the caller stores to ES:dst_off */
	rflags |= FL_DF;
	ASSERT_EQ(BT_MMIO_F_MOVS,
		  bt_mmio_prepare(&insn, gpr, &op));
	ASSERT_EQ(0, bt_mmio_movs_resolve(&op, false, 0));
	EXPECT_FALSE(op.is_write);
	ASSERT_EQ(0, bt_mmio_complete(&insn, &op, gpr, &rflags, 0x55));
	EXPECT_EQ(0x2004, op.dst_off);
	EXPECT_EQ(0x1000, gpr[RSI]);
	EXPECT_EQ(0x2000, gpr[RDI]);
	EXPECT_EQ(0, gpr[RCX]);

	/* The source segment follows an override */
	ASSERT_EQ(0, bt_decode(&insn, movsb_fs, 2, BT_MODE_LONG64));
	ASSERT_EQ(BT_MMIO_F_MOVS, bt_mmio_prepare(&insn, gpr, &op));
	EXPECT_EQ(BT_SEG_FS, op.src_seg);
	EXPECT_EQ(1, op.size);

	/* resolve is for MOVS only */
	ASSERT_EQ(0, bt_decode(&insn, (const u8 *)"\x89\x00", 2,
			       BT_MODE_LONG64));
	ASSERT_EQ(0, bt_mmio_prepare(&insn, gpr, &op));
	EXPECT_EQ(-EINVAL, bt_mmio_movs_resolve(&op, true, 0));
}

TEST(xchg_and_rmw)
{
	u64 gpr[16], rflags = 0x2, before[16];
	struct mmio_run r;

	regs_init(gpr);
	memcpy(before, gpr, sizeof(gpr));

	/* xchg %ecx, (%rax): read 5, then write the old ECX */
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 5, 0x87, 0x08));
	EXPECT_EQ(0, r.done);
	EXPECT_TRUE(r.op.is_write);
	EXPECT_EQ(before[RCX] & 0xffffffff, r.op.data);
	EXPECT_EQ(5, gpr[RCX]);
	/* xchg %dh, (%rax) */
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 0x3c, 0x86, 0x30));
	EXPECT_EQ((before[RDX] >> 8) & 0xff, r.op.data);
	EXPECT_EQ((before[RDX] & ~0xff00ULL) | 0x3c00, gpr[RDX]);
	EXPECT_EQ(0x2, rflags);

	/* add %ecx, (%rax): memory = memory + ECX, flags set */
	gpr[RCX] = 1;
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 0x7fffffff, 0x01, 0x08));
	EXPECT_TRUE(r.op.is_write);
	EXPECT_EQ(0x80000000, r.op.data);
	EXPECT_EQ(0x2 | FL_OF | FL_SF | FL_AF | FL_PF, rflags);
	EXPECT_EQ(1, gpr[RCX]);
	/* add (%rax), %ecx: register = register + memory, no write */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0xffffffff, 0x03, 0x08));
	EXPECT_FALSE(r.op.is_write);
	EXPECT_EQ(0, gpr[RCX]);
	EXPECT_EQ(0x2 | FL_CF | FL_ZF | FL_AF | FL_PF, rflags);
	/* sub (%rax), %ah */
	gpr[RAX] = 0x1234;
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0x13, 0x2a, 0x20));
	EXPECT_EQ(0xff34, gpr[RAX]);
	EXPECT_TRUE(rflags & FL_CF);
	/* cmp %ecx, (%rax): memory - ECX, flags only */
	gpr[RCX] = 5;
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 3, 0x39, 0x08));
	EXPECT_FALSE(r.op.is_write);
	EXPECT_TRUE(rflags & FL_CF);
	EXPECT_TRUE(rflags & FL_SF);
	/* cmp (%rax), %ecx: ECX - memory */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 3, 0x3b, 0x08));
	EXPECT_FALSE(rflags & FL_CF);
	EXPECT_EQ(5, gpr[RCX]);
	/* cmpb $5, (%rax) */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 5, 0x80, 0x38, 0x05));
	EXPECT_TRUE(rflags & FL_ZF);
	/* addl $-1, (%rax) (83: imm8 sign-extended) */
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 10, 0x83, 0x00, 0xff));
	EXPECT_EQ(9, r.op.data);
	/* subq $0x80000000, (%rax) (81: imm32 sign-extended to 64) */
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 0, 0x48, 0x81, 0x28,
				     0x00, 0x00, 0x00, 0x80));
	EXPECT_EQ(0x80000000ULL, r.op.data);
	/* or $0x8000, (%bx) in 16-bit code */
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_REAL16, 0x0101, 0x81, 0x0f,
				     0x00, 0x80));
	EXPECT_EQ(2, r.op.size);
	EXPECT_EQ(0x8101, r.op.data);
	/* test %ebx, (%rax); testb $1, (%rax) */
	gpr[RBX] = 0xf0;
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0x0f, 0x85, 0x18));
	EXPECT_TRUE(rflags & FL_ZF);
	EXPECT_FALSE(r.op.is_write);
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0x81, 0xf6, 0x00, 0x01));
	EXPECT_FALSE(rflags & FL_ZF);
	/* notl, negl, incb keeps CF, decw */
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 0x0f0f0f0f, 0xf7, 0x10));
	EXPECT_EQ(0xf0f0f0f0, r.op.data);
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 1, 0xf7, 0x18));
	EXPECT_EQ(0xffffffff, r.op.data);
	EXPECT_TRUE(rflags & FL_CF);
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 0xff, 0xfe, 0x00));
	EXPECT_EQ(0, r.op.data);
	EXPECT_TRUE(rflags & FL_CF);	/* from the NEG before */
	EXPECT_TRUE(rflags & FL_ZF);
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 0, 0x66, 0xff, 0x08));
	EXPECT_EQ(0xffff, r.op.data);
	/* add %ah, (%rax): the high byte as a source */
	gpr[RAX] = 0x0500;
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 0x10, 0x00, 0x20));
	EXPECT_EQ(0x15, r.op.data);
	/* lock and (%rax), %edx still just a read and a write */
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 0xff, 0xf0, 0x21, 0x10));
}

TEST(movnti_xadd_cmpxchg)
{
	u64 gpr[16], rflags = 0x2, before[16];
	struct mmio_run r;

	regs_init(gpr);
	memcpy(before, gpr, sizeof(gpr));

	/* movnti %ecx, (%rax); movnti %r9, (%rax) */
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0x0f, 0xc3, 0x08));
	EXPECT_TRUE(r.op.is_write);
	EXPECT_EQ(4, r.op.size);
	EXPECT_EQ(before[RCX] & 0xffffffff, r.op.data);
	ASSERT_EQ(0, RUN(BT_MODE_LONG64, 0, 0x4c, 0x0f, 0xc3, 0x08));
	EXPECT_EQ(before[R9], r.op.data);
	EXPECT_EQ(-EINVAL, RUN(BT_MODE_LONG64, 0, 0x66, 0x0f, 0xc3, 0x08));

	/* xadd %ecx, (%rax): memory 5 + ECX 3, ECX = 5 */
	gpr[RCX] = 3;
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 5, 0x0f, 0xc1, 0x08));
	EXPECT_TRUE(r.op.is_write);
	EXPECT_EQ(8, r.op.data);
	EXPECT_EQ(5, gpr[RCX]);
	/* lock xadd %bh, (%rax) */
	gpr[RBX] = 0x0100;
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 0xff, 0xf0, 0x0f, 0xc0,
				     0x38));
	EXPECT_EQ(0, r.op.data);
	EXPECT_EQ(0xff00, gpr[RBX]);
	EXPECT_TRUE(rflags & FL_CF);
	EXPECT_TRUE(rflags & FL_ZF);

	/* cmpxchg %ecx, (%rax), equal: memory = ECX, EAX stays */
	gpr[RAX] = 0xaaaaaaaa00000007ULL;
	gpr[RCX] = 0x99;
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 7, 0x0f, 0xb1, 0x08));
	EXPECT_TRUE(r.op.is_write);
	EXPECT_EQ(0x99, r.op.data);
	EXPECT_EQ(0xaaaaaaaa00000007ULL, gpr[RAX]);
	EXPECT_TRUE(rflags & FL_ZF);
	/* ... not equal: memory written back unchanged, EAX = memory */
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 8, 0x0f, 0xb1, 0x08));
	EXPECT_EQ(8, r.op.data);
	EXPECT_EQ(8, gpr[RAX]);
	EXPECT_FALSE(rflags & FL_ZF);
	/* cmpxchg %dl, (%rax) compares AL, never AH */
	gpr[RAX] = 0x1234;
	ASSERT_EQ(BT_MMIO_F_RMW, RUN(BT_MODE_LONG64, 0x12, 0x0f, 0xb0, 0x10));
	EXPECT_EQ(0x1212, gpr[RAX]);
	/* Register forms are not MMIO */
	EXPECT_EQ(-EINVAL, RUN(BT_MODE_LONG64, 0, 0x0f, 0xb1, 0xc8));
}

TEST(rejected)
{
	u64 gpr[16], rflags = 0x2;
	struct mmio_run r;
	struct bt_mmio op;
	struct bt_insn insn;

	regs_init(gpr);
	/* Register forms cannot have touched MMIO */
	EXPECT_EQ(-EINVAL, RUN(BT_MODE_LONG64, 0, 0x89, 0xc0));
	EXPECT_EQ(-EINVAL, RUN(BT_MODE_LONG64, 0, 0x0f, 0xb6, 0xc0));
	EXPECT_EQ(-EINVAL, RUN(BT_MODE_LONG64, 0, 0x01, 0xc8));
	/* Instructions this file does not emulate */
	EXPECT_EQ(-EOPNOTSUPP, RUN(BT_MODE_LONG64, 0, 0x0f, 0x10, 0x00));
	EXPECT_EQ(-EOPNOTSUPP, RUN(BT_MODE_LONG64, 0, 0xf7, 0x20));
	EXPECT_EQ(-EOPNOTSUPP, RUN(BT_MODE_LONG64, 0, 0xff, 0x30));
	EXPECT_EQ(-EOPNOTSUPP, RUN(BT_MODE_LONG64, 0, 0x8c, 0x00));
	EXPECT_EQ(-EOPNOTSUPP, RUN(BT_MODE_LONG64, 0, 0x0f, 0xc7, 0x08));
	EXPECT_EQ(-EOPNOTSUPP, RUN(BT_MODE_LONG64, 0, 0x0f, 0xab, 0x08));
	EXPECT_EQ(-EOPNOTSUPP, RUN(BT_MODE_LONG64, 0, 0x8f, 0x00));
	EXPECT_EQ(-EOPNOTSUPP, RUN(BT_MODE_LONG64, 0, 0x66, 0x0f, 0x38,
				   0xf0, 0x00));
	EXPECT_EQ(-EOPNOTSUPP, RUN(BT_MODE_LONG64, 0, 0x90));
	/* complete() refuses an op that prepare() did not fill */
	memset(&op, 0, sizeof(op));
	ASSERT_EQ(0, bt_decode(&insn, (const u8 *)"\x8b\x00", 2,
			       BT_MODE_LONG64));
	EXPECT_EQ(-EINVAL, bt_mmio_complete(&insn, &op, gpr, &rflags, 0));
	EXPECT_EQ(-EOPNOTSUPP, RUN(BT_MODE_LONG64, 0, 0xf7, 0x30));
	EXPECT_EQ(-EINVAL, bt_mmio_complete(&r.insn, &r.op, gpr, &rflags, 0));
}

/*
 * Random instructions: prepare answers with a documented code, and what
 * it accepts completes, with a sane size, touching only the registers
 * and flags an instruction may touch.
 */
TEST(fuzz)
{
	unsigned int seed = 31337, i, j, bad = 0, accepted = 0;

	for (i = 0; i < 300000; i++) {
		u64 gpr[16], before[16], rflags = 0x202, before_fl;
		enum bt_mode mode = rand_r(&seed) % 4;
		struct bt_insn insn;
		struct bt_mmio op;
		u8 buf[15];
		int ret;

		for (j = 0; j < sizeof(buf); j++)
			buf[j] = rand_r(&seed);
		/* Mostly opcodes this file knows */
		if (rand_r(&seed) % 2) {
			static const u8 ops[] = { 0x88, 0x89, 0x8a, 0x8b, 0xc6,
				0xc7, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xaa,
				0xab, 0xac, 0xad, 0x86, 0x87, 0x80, 0x81, 0x83,
				0x84, 0x85, 0xf6, 0xf7, 0xfe, 0xff, 0x01, 0x2b,
				0x38, 0x3b, 0x10, 0x1a };

			buf[0] = (rand_r(&seed) % 3) ? 0x66 : 0xf3;
			buf[1] = mode == BT_MODE_LONG64 ?
				 0x40 | (rand_r(&seed) & 15) : 0x90;
			buf[2] = ops[rand_r(&seed) % sizeof(ops)];
		}
		if (bt_decode(&insn, buf, sizeof(buf), mode))
			continue;
		regs_init(gpr);
		ret = bt_mmio_prepare(&insn, gpr, &op);
		if (ret == -EOPNOTSUPP || ret == -EINVAL || ret == -ENODATA)
			continue;
		if (ret < 0 || ret > 7 || (op.size != 1 && op.size != 2 &&
					   op.size != 4 && op.size != 8)) {
			bad++;
			continue;
		}
		accepted++;
		if (ret & BT_MMIO_F_MOVS)
			bt_mmio_movs_resolve(&op, rand_r(&seed) & 1, ~0ULL);
		before_fl = rflags;
		if (bt_mmio_complete(&insn, &op, gpr, &rflags, ~0ULL))
			bad++;
		if ((rflags ^ before_fl) & ~FL_ARITH)
			bad++;
		/*
		 * The ModRM register (or its AH..BH alias), rAX and the
		 * string registers may change; nothing else.
		 */
		regs_init(before);
		for (j = 0; j < 16; j++) {
			if (j == insn.reg || j + 4 == insn.reg || j == RAX ||
			    j == RCX || j == RSI || j == RDI)
				continue;
			if (gpr[j] != before[j])
				bad++;
		}
	}
	EXPECT_EQ(0, bad);
	EXPECT_GT(accepted, 10000);
}

/* ---- ALU flags against the CPU ---- */

enum { ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST, NOT, NEG, INC, DEC };

/* RSP moves around PUSHF (the red zone): register operands only. */
#define ASM2(op, m)							\
	({								\
		asm volatile("lea -128(%%rsp), %%rsp\n\t"		\
			     "btq $0, %q[cf]\n\t"			\
			     op " %" m "[b], %" m "[a]\n\t"		\
			     "pushfq\n\tpopq %q[f]\n\t"			\
			     "lea 128(%%rsp), %%rsp"			\
			     : [a] "+r"(a), [f] "=r"(f)			\
			     : [b] "r"(b), [cf] "r"(cf)			\
			     : "cc", "memory");				\
	})
#define ASM1(op, m)							\
	({								\
		asm volatile("lea -128(%%rsp), %%rsp\n\t"		\
			     "btq $0, %q[cf]\n\t"			\
			     op " %" m "[a]\n\t"			\
			     "pushfq\n\tpopq %q[f]\n\t"			\
			     "lea 128(%%rsp), %%rsp"			\
			     : [a] "+r"(a), [f] "=r"(f)			\
			     : [cf] "r"(cf) : "cc", "memory");		\
	})
#define SIZED(X, op)							\
	do {								\
		if (size == 1)						\
			X(op "b", "b");					\
		else if (size == 2)					\
			X(op "w", "w");					\
		else if (size == 4)					\
			X(op "l", "k");					\
		else							\
			X(op "q", "q");					\
	} while (0)

/* Run "op b, a" on this CPU; returns RFLAGS, the result in *@res. */
static u64 cpu_alu(int alu, int size, u64 a, u64 b, u64 cf, u64 *res)
{
	u64 f = 0;

	switch (alu) {
	case ADD:
		SIZED(ASM2, "add");
		break;
	case OR:
		SIZED(ASM2, "or");
		break;
	case ADC:
		SIZED(ASM2, "adc");
		break;
	case SBB:
		SIZED(ASM2, "sbb");
		break;
	case AND:
		SIZED(ASM2, "and");
		break;
	case SUB:
		SIZED(ASM2, "sub");
		break;
	case XOR:
		SIZED(ASM2, "xor");
		break;
	case CMP:
		SIZED(ASM2, "cmp");
		break;
	case TEST:
		SIZED(ASM2, "test");
		break;
	case NOT:
		SIZED(ASM1, "not");
		break;
	case NEG:
		SIZED(ASM1, "neg");
		break;
	case INC:
		SIZED(ASM1, "inc");
		break;
	default:
		SIZED(ASM1, "dec");
		break;
	}
	*res = a;
	return f;
}

/* Encode "op %rcx-sized, (%rax)" (or the one-operand form) for @size. */
static unsigned int encode(int alu, int size, u8 *buf)
{
	unsigned int n = 0;
	bool byte = size == 1;

	if (size == 2)
		buf[n++] = 0x66;
	if (size == 8)
		buf[n++] = 0x48;
	if (alu <= CMP) {
		buf[n++] = (alu << 3) | !byte;
		buf[n++] = 0x08;	/* reg = rcx, rm = (%rax) */
	} else if (alu == TEST) {
		buf[n++] = 0x84 | !byte;
		buf[n++] = 0x08;
	} else if (alu == NOT || alu == NEG) {
		buf[n++] = 0xf6 | !byte;
		buf[n++] = (alu == NOT ? 2 : 3) << 3;
	} else {
		buf[n++] = 0xfe | !byte;
		buf[n++] = (alu == INC ? 0 : 1) << 3;
	}
	return n;
}

static u64 interesting(unsigned int *seed)
{
	static const u64 edge[] = {
		0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
		0x7fffffff, 0x80000000, 0xffffffff, 0x7fffffffffffffffULL,
		0x8000000000000000ULL, ~0ULL, 0x0f, 0x10, 0xf0,
	};
	u64 v = (u64)rand_r(seed) << 33 ^ (u64)rand_r(seed) << 11 ^
		rand_r(seed);

	switch (rand_r(seed) % 3) {
	case 0:
		return edge[rand_r(seed) % ARRAY_SIZE(edge)];
	case 1:
		return edge[rand_r(seed) % ARRAY_SIZE(edge)] +
		       (rand_r(seed) % 3) - 1;
	}
	return v;
}

TEST(alu_flags_match_cpu)
{
	static const int sizes[] = { 1, 2, 4, 8 };
	static const char *const names[] = { "add", "or", "adc", "sbb",
		"and", "sub", "xor", "cmp", "test", "not", "neg", "inc",
		"dec" };
	unsigned int seed = 4242, i, bad = 0;

	for (i = 0; i < 200000; i++) {
		int alu = rand_r(&seed) % 13, size = sizes[rand_r(&seed) % 4];
		u64 mask = size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
		u64 a = interesting(&seed), b = interesting(&seed);
		u64 cf = rand_r(&seed) & 1, gpr[16], rflags, cpu_fl, cpu_res;
		u64 check = FL_ARITH, mine, before;
		struct bt_insn insn;
		struct bt_mmio op;
		u8 buf[8];
		int ret;

		/* Start with other flags set, to see that they survive. */
		rflags = 0x202 | cf | (rand_r(&seed) & (FL_ARITH & ~FL_CF));
		cpu_fl = cpu_alu(alu, size, a, b, cf, &cpu_res);
		regs_init(gpr);
		gpr[RCX] = b;
		ASSERT_EQ(0, bt_decode(&insn, buf, encode(alu, size, buf),
				       BT_MODE_LONG64));
		ret = bt_mmio_prepare(&insn, gpr, &op);
		ASSERT_GE(ret, 0);
		before = rflags;
		ASSERT_EQ(0, bt_mmio_complete(&insn, &op, gpr, &rflags, a));

		if (alu == AND || alu == OR || alu == XOR || alu == TEST)
			check &= ~FL_AF;	/* undefined */
		if (alu == NOT)
			check = 0;
		mine = op.is_write ? op.data : a & mask;
		if (alu == CMP || alu == TEST)
			cpu_res = a;
		if ((mine & mask) != (cpu_res & mask) ||
		    ((rflags ^ cpu_fl) & check) ||
		    ((rflags ^ before) & ~check & ~FL_AF)) {
			TH_LOG("%s%d a=%llx b=%llx cf=%llu: "
			       "res %llx/%llx fl %llx/%llx",
			       names[alu], size * 8, (unsigned long long)a,
			       (unsigned long long)b, (unsigned long long)cf,
			       (unsigned long long)mine,
			       (unsigned long long)cpu_res,
			       (unsigned long long)rflags,
			       (unsigned long long)cpu_fl);
			if (++bad > 10)
				break;
		}
		if (gpr[RCX] != b)
			bad++;
	}
	EXPECT_EQ(0, bad);
}

/* The memory through a register: RSP moves, so no RSP-relative operand. */
#define ASMCX(op, m)							\
	({								\
		asm volatile("lea -128(%%rsp), %%rsp\n\t"		\
			     op " %" m "[src], (%[p])\n\t"		\
			     "pushfq\n\tpopq %q[f]\n\t"			\
			     "lea 128(%%rsp), %%rsp"			\
			     : [src] "+r"(src), "+a"(acc), [f] "=r"(f)	\
			     : [p] "r"(&mem) : "cc", "memory");		\
	})

/* XADD and CMPXCHG (%rcx-sized, (%rax)) against the CPU. */
TEST(xadd_cmpxchg_match_cpu)
{
	static const int sizes[] = { 1, 2, 4, 8 };
	unsigned int seed = 2024, i, bad = 0;

	for (i = 0; i < 50000; i++) {
		int size = sizes[rand_r(&seed) % 4], cx = rand_r(&seed) & 1;
		u64 mask = size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
		u64 mem = interesting(&seed), src = interesting(&seed);
		u64 acc = rand_r(&seed) % 3 ? mem : interesting(&seed);
		u64 m0 = mem, gpr[16], rflags = 0x202, f = 0;
		struct bt_insn insn;
		struct bt_mmio op;
		u8 buf[8];
		unsigned int n = 0;

		regs_init(gpr);
		gpr[RAX] = acc;
		gpr[RCX] = src;
		if (size == 2)
			buf[n++] = 0x66;
		if (size == 8)
			buf[n++] = 0x48;
		buf[n++] = 0x0f;
		buf[n++] = (cx ? 0xb0 : 0xc0) | (size > 1);
		buf[n++] = 0x08;
		ASSERT_EQ(0, bt_decode(&insn, buf, n, BT_MODE_LONG64));
		ASSERT_EQ(BT_MMIO_F_RMW, bt_mmio_prepare(&insn, gpr, &op));
		ASSERT_EQ(0, bt_mmio_complete(&insn, &op, gpr, &rflags, m0));

		if (cx)
			SIZED(ASMCX, "cmpxchg");
		else
			SIZED(ASMCX, "xadd");
		/* The memory is what we write back; the registers match. */
		if ((op.data & mask) != (mem & mask) || !op.is_write ||
		    gpr[RAX] != acc || gpr[RCX] != src ||
		    ((rflags ^ f) & FL_ARITH)) {
			TH_LOG("%s%d mem=%llx src=%llx acc=%llx",
			       cx ? "cmpxchg" : "xadd", size * 8,
			       (unsigned long long)m0,
			       (unsigned long long)gpr[RCX],
			       (unsigned long long)acc);
			if (++bad > 10)
				break;
		}
	}
	EXPECT_EQ(0, bad);
}

/*
 * The ALU_REG direction (op (%rax), %ecx) also against the CPU: the
 * register is the destination and the first operand.
 */
TEST(alu_reg_direction_match_cpu)
{
	unsigned int seed = 99, i, bad = 0;

	for (i = 0; i < 50000; i++) {
		int alu = rand_r(&seed) % 8, size = 4;
		u64 a = interesting(&seed) & 0xffffffff;
		u64 b = interesting(&seed) & 0xffffffff;
		u64 cf = rand_r(&seed) & 1, gpr[16], rflags = 0x202 | cf;
		u64 cpu_fl, cpu_res, check = FL_ARITH;
		struct bt_insn insn;
		struct bt_mmio op;
		u8 buf[2] = { (alu << 3) | 3, 0x08 };

		/* CPU: a = a op b, a is ECX, b the memory */
		cpu_fl = cpu_alu(alu, size, a, b, cf, &cpu_res);
		regs_init(gpr);
		gpr[RCX] = a;
		ASSERT_EQ(0, bt_decode(&insn, buf, 2, BT_MODE_LONG64));
		ASSERT_EQ(0, bt_mmio_prepare(&insn, gpr, &op));
		ASSERT_EQ(0, bt_mmio_complete(&insn, &op, gpr, &rflags, b));
		if (alu == AND || alu == OR || alu == XOR)
			check &= ~FL_AF;
		if (alu == CMP)
			cpu_res = a;
		if (gpr[RCX] != (cpu_res & 0xffffffff) ||
		    ((rflags ^ cpu_fl) & check))
			bad++;
	}
	EXPECT_EQ(0, bad);
}

TEST_HARNESS_MAIN
