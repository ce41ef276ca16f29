// SPDX-License-Identifier: GPL-2.0
/*
 * Native tests of gwalk_translate(): page tables for every paging mode
 * are built in a fake guest memory, then translations and every kind of
 * fault are checked against the SDM's rules.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"

#include "mmu/gwalk.h"

#define P	(1ULL << 0)
#define RW	(1ULL << 1)
#define US	(1ULL << 2)
#define PWT	(1ULL << 3)
#define ACC	(1ULL << 5)
#define DIRTY	(1ULL << 6)
#define PS	(1ULL << 7)
#define PAT_L	(1ULL << 12)	/* PAT bit of a large page */
#define XD	(1ULL << 63)

#define CR0_PE	(1ULL << 0)
#define CR0_WP	(1ULL << 16)
#define CR0_PG	(1ULL << 31)
#define CR4_PSE	(1ULL << 4)
#define CR4_PAE	(1ULL << 5)
#define CR4_LA57 (1ULL << 12)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)
#define FL_AC	(1ULL << 18)

#define W	GWALK_WRITE
#define U	GWALK_USER
#define X	GWALK_FETCH
#define PF_P	GWALK_PFEC_P
#define PF_W	GWALK_PFEC_W
#define PF_U	GWALK_PFEC_U
#define PF_R	GWALK_PFEC_RSVD
#define PF_I	GWALK_PFEC_I

#define MEM_SIZE	(32ULL << 20)
#define TABLES_AT	(16ULL << 20)

struct gmem {
	u8 *mem;
	u64 next;		/* next free table */
	unsigned long reads;
};

static int gmem_read(void *opaque, u64 gpa, void *buf, unsigned int len)
{
	struct gmem *g = opaque;

	g->reads++;
	if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
		return -ERANGE;
	memcpy(buf, g->mem + gpa, len);
	return 0;
}

static void gmem_init(struct gmem *g)
{
	g->mem = calloc(1, MEM_SIZE);
	g->next = TABLES_AT;
	g->reads = 0;
}

static u64 alloc_table(struct gmem *g)
{
	u64 t = g->next;

	g->next += 4096;
	return t;
}

static u64 *e64(struct gmem *g, u64 gpa)
{
	return (u64 *)(g->mem + gpa);
}

static u32 *e32(struct gmem *g, u64 gpa)
{
	return (u32 *)(g->mem + gpa);
}

/*
 * The level-@level entry for @gva in a @levels-deep table of 8-byte
 * entries (3: PAE), creating missing tables with @tflags on the way.
 */
static u64 *entry64(struct gmem *g, u64 root, int levels, u64 gva,
		    int level, u64 tflags)
{
	u64 table = root;
	int l;

	for (l = levels; ; l--) {
		u64 idx = (gva >> (12 + 9 * (l - 1))) & 511;
		u64 *e;

		if (levels == 3 && l == 3)
			idx &= 3;
		e = e64(g, table + idx * 8);
		if (l == level)
			return e;
		if (!(*e & P))
			*e = alloc_table(g) |
			     ((levels == 3 && l == 3) ? P : tflags);
		table = *e & 0x000ffffffffff000ULL;
	}
}

/* Map @gva to @gpa with a leaf at @level (1: 4 KiB, 2, 3: large). */
static u64 *map64(struct gmem *g, u64 root, int levels, u64 gva, u64 gpa,
		  int level, u64 flags)
{
	u64 *e = entry64(g, root, levels, gva, level, P | RW | US);

	*e = gpa | flags | (level > 1 ? PS : 0);
	return e;
}

static u32 *map32(struct gmem *g, u64 root, u64 gva, u64 gpa, bool large,
		  u32 flags)
{
	u32 *pde = e32(g, root + ((gva >> 22) & 1023) * 4);

	if (large) {
		*pde = gpa | flags | PS;
		return pde;
	}
	if (!(*pde & P))
		*pde = alloc_table(g) | P | RW | US;
	return e32(g, (*pde & 0xfffff000) + ((gva >> 12) & 1023) * 4);
}

/* Translate; returns the pfec on a fault, -1 on success (@gpa set). */
static long xlate(struct gmem *g, const struct gwalk_ctx *ctx, u64 gva,
		  u32 access, u64 *gpa)
{
	u32 pfec = 0xdead;
	int ret;

	ret = gwalk_translate(ctx, gmem_read, g, gva, access, gpa, &pfec);
	if (ret == 0)
		return pfec == 0 ? -1 : -100;
	if (ret == -EFAULT)
		return pfec;
	return ret * 1000 - (pfec != 0);	/* other errors: pfec 0 */
}

#define OK(gva, acc, want) do {						\
	u64 __gpa = 0;							\
	EXPECT_EQ(-1, xlate(&g, &ctx, gva, acc, &__gpa));		\
	EXPECT_EQ((u64)(want), __gpa);					\
} while (0)

#define FAULT(gva, acc, pfec) do {					\
	u64 __gpa;							\
	EXPECT_EQ((long)(pfec), xlate(&g, &ctx, gva, acc, &__gpa));	\
} while (0)

TEST(paging_off)
{
	struct gwalk_ctx ctx = { .cr0 = CR0_PE };
	struct gmem g;

	gmem_init(&g);
	OK(0x12345678, 0, 0x12345678);
	OK(0xfffff000, W | U | X, 0xfffff000);
	/* Outside long mode linear addresses are 32 bits. */
	OK(0x100001000ULL, 0, 0x1000);
	EXPECT_EQ(0, g.reads);
	free(g.mem);
}

TEST(paging32)
{
	struct gwalk_ctx ctx = { .cr0 = CR0_PE | CR0_PG, .cr4 = CR4_PSE };
	struct gwalk_result res;
	struct gmem g;
	u64 root;
	u32 *e, pfec;

	gmem_init(&g);
	root = alloc_table(&g);
	ctx.cr3 = root | PWT;	/* low CR3 bits are not address */

	e = map32(&g, root, 0x00401000, 0, false, 0);
	*e = 0x00abc000 | P | RW | US;
	OK(0x00401234, W | U, 0x00abc234);
	ASSERT_EQ(0, gwalk_translate_ex(&ctx, gmem_read, &g, 0x00401234, 0,
					&res, &pfec));
	EXPECT_EQ(1, res.level);
	EXPECT_EQ(4096, res.page_size);
	/* Not present: PTE, then PDE */
	FAULT(0x00402000, 0, 0);
	FAULT(0x00402000, W | U, PF_W | PF_U);
	FAULT(0x40000000, W, PF_W);
	/* No XD in 32-bit paging: fetch is allowed, I/D not reported */
	OK(0x00401000, X | U, 0x00abc000);
	*e &= ~P;
	FAULT(0x00401000, X, 0);

	/* Supervisor page, read-only page */
	e = map32(&g, root, 0x00403000, 0, false, 0);
	*e = 0x00def000 | P;
	OK(0x00403000, 0, 0x00def000);
	FAULT(0x00403000, U, PF_P | PF_U);
	FAULT(0x00403000, U | W, PF_P | PF_W | PF_U);
	/* CR0.WP = 0: the supervisor may write a read-only page */
	OK(0x00403000, W, 0x00def000);
	ctx.cr0 |= CR0_WP;
	FAULT(0x00403000, W, PF_P | PF_W);

	/* The PDE's U/S and R/W count too */
	e = map32(&g, root, 0x00800000, 0, false, 0);
	*e = 0x00111000 | P | RW | US;
	*e32(&g, root + 2 * 4) &= ~(US | RW);
	FAULT(0x00800000, U, PF_P | PF_U);
	FAULT(0x00800000, W, PF_P | PF_W);
	OK(0x00800000, 0, 0x00111000);

	/* 4 MiB pages, PSE-36 bits 20:13 = address bits 39:32 */
	e = map32(&g, root, 0x00c00000, 0x01400000, true, P | RW | US);
	OK(0x00c12345, W | U, 0x01412345);
	ASSERT_EQ(0, gwalk_translate_ex(&ctx, gmem_read, &g, 0x00c12345, 0,
					&res, &pfec));
	EXPECT_EQ(2, res.level);
	EXPECT_EQ(4 << 20, res.page_size);
	*e |= 0x12 << 13;
	OK(0x00c12345, 0, 0x1201412345ULL);
	/* ... beyond MAXPHYADDR they are reserved, bit 21 always is */
	ctx.maxphyaddr = 36;
	FAULT(0x00c12345, 0, PF_P | PF_R);
	*e &= ~(0xffU << 13);
	*e |= 0x3 << 13;
	OK(0x00c12345, 0, 0x301412345ULL);
	*e |= 1 << 21;
	FAULT(0x00c12345, U | W, PF_P | PF_R | PF_W | PF_U);
	*e &= ~(1U << 21);

	/* Without CR4.PSE, PS is ignored: the PDE points to a table */
	ctx.cr4 = 0;
	FAULT(0x00c12345, 0, 0);	/* a zeroed "table" */
	*e32(&g, 0x01406000 + 0x12 * 4) = 0x00777000 | P;
	OK(0x00c12345, 0, 0x00777345);

	/* SMEP makes the fetch visible in the error code */
	ctx.cr4 = CR4_PSE | CR4_SMEP;
	FAULT(0x00c12345, X, PF_P | PF_I);
	OK(0x00c12345, X | U, 0x301412345ULL);
	free(g.mem);
}

TEST(pae)
{
	struct gwalk_ctx ctx = {
		.cr0 = CR0_PE | CR0_PG | CR0_WP, .cr4 = CR4_PAE,
	};
	struct gmem g;
	u64 root, *e, *pdpte;

	gmem_init(&g);
	/* The PDPT is 32-byte aligned, not page aligned. */
	root = alloc_table(&g) + 0x60;
	ctx.cr3 = root | 0x18;

	e = map64(&g, root, 3, 0xc0001000, 0x00abc000, 1, P | RW | US);
	OK(0xc0001abc, W | U, 0x00abcabc);
	FAULT(0xc0002000, 0, 0);
	FAULT(0x80000000, U, PF_U);		/* PDPTE 2 not present */

	/* PDPTE: reserved bits 2:1, 8:5; it carries no permissions */
	pdpte = entry64(&g, root, 3, 0xc0001000, 3, 0);
	*pdpte |= 1ULL << 1;
	FAULT(0xc0001000, 0, PF_P | PF_R);
	*pdpte &= ~(1ULL << 1);
	*pdpte |= 1ULL << 7;
	FAULT(0xc0001000, 0, PF_P | PF_R);
	*pdpte &= ~(1ULL << 7);
	*pdpte |= XD;				/* XD is reserved here */
	ctx.efer = EFER_NXE;
	FAULT(0xc0001000, X, PF_P | PF_R | PF_I);
	*pdpte &= ~XD;

	/* NX: a fetch faults, a read does not; without NXE XD is reserved */
	*e |= XD;
	FAULT(0xc0001000, X, PF_P | PF_I);
	OK(0xc0001000, 0, 0x00abc000);
	ctx.efer = 0;
	FAULT(0xc0001000, 0, PF_P | PF_R);
	FAULT(0xc0001000, X, PF_P | PF_R);	/* no I/D without NXE */
	*e &= ~XD;

	/* Bits 62:MAXPHYADDR are reserved in PAE */
	*e |= 1ULL << 60;
	FAULT(0xc0001000, 0, PF_P | PF_R);
	*e &= ~(1ULL << 60);
	ctx.maxphyaddr = 36;
	*e |= 1ULL << 40;
	FAULT(0xc0001000, W, PF_P | PF_R | PF_W);
	*e &= ~(1ULL << 40);
	*e |= 1ULL << 35;
	OK(0xc0001000, 0, 0x800abc000ULL);

	/* 2 MiB page; bit 12 is PAT, bits 20:13 reserved */
	e = map64(&g, root, 3, 0x00200000, 0x00400000, 2, P | RW);
	OK(0x0023abcd, W, 0x0043abcd);
	*e |= PAT_L;
	OK(0x0023abcd, 0, 0x0043abcd);
	*e |= 1ULL << 13;
	FAULT(0x0023abcd, 0, PF_P | PF_R);
	*e &= ~(1ULL << 13);
	FAULT(0x0023abcd, U, PF_P | PF_U);
	free(g.mem);
}

static void long_ctx(struct gwalk_ctx *ctx, u64 root, bool la57)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cr0 = CR0_PE | CR0_PG | CR0_WP;
	ctx->cr4 = CR4_PAE | (la57 ? CR4_LA57 : 0);
	ctx->efer = EFER_LME | EFER_LMA | EFER_NXE;
	ctx->cr3 = root;
}

TEST(long4)
{
	struct gwalk_ctx ctx;
	struct gwalk_result res;
	struct gmem g;
	u64 root, *e, before;
	u32 pfec;

	gmem_init(&g);
	root = alloc_table(&g);
	long_ctx(&ctx, root | 0x123, false);	/* PCID in CR3 11:0 */

	/* 4 KiB in the upper half */
	e = map64(&g, root, 4, 0xffff800000001000ULL, 0x123456000ULL, 1,
		  P | RW | US);
	OK(0xffff800000001fffULL, W | U | X, 0x123456fffULL);
	ASSERT_EQ(0, gwalk_translate_ex(&ctx, gmem_read, &g,
					0xffff800000001000ULL, 0, &res,
					&pfec));
	EXPECT_EQ(1, res.level);
	EXPECT_TRUE(res.writable);
	EXPECT_TRUE(res.user);
	EXPECT_FALSE(res.nx);
	/* Accessed/dirty bits are not set by the walker */
	before = *e;
	OK(0xffff800000001000ULL, W, 0x123456000ULL);
	EXPECT_EQ(before, *e);
	EXPECT_FALSE(*e & (ACC | DIRTY));
	/* Bits 62:52 are ignored in long mode */
	*e |= 0x7ffULL << 52;
	OK(0xffff800000001000ULL, 0, 0x123456000ULL);
	*e &= ~(0x7ffULL << 52);

	/* Not canonical: #GP, not #PF */
	EXPECT_EQ(-EINVAL * 1000, xlate(&g, &ctx, 0x0000800000000000ULL, 0,
					&before));
	EXPECT_EQ(-EINVAL * 1000, xlate(&g, &ctx, 0xfff0800000001000ULL, 0,
					&before));

	/* 2 MiB and 1 GiB pages */
	map64(&g, root, 4, 0x40000000ULL, 0x80000000ULL, 3, P | RW | US);
	OK(0x7fffffffULL, W | U, 0xbfffffffULL);
	ASSERT_EQ(0, gwalk_translate_ex(&ctx, gmem_read, &g, 0x40001000ULL,
					0, &res, &pfec));
	EXPECT_EQ(3, res.level);
	EXPECT_EQ(1ULL << 30, res.page_size);
	e = entry64(&g, root, 4, 0x40000000ULL, 3, 0);
	*e |= PAT_L;
	OK(0x40000123ULL, 0, 0x80000123ULL);
	*e |= 1ULL << 29;
	FAULT(0x40000123ULL, 0, PF_P | PF_R);
	*e &= ~(1ULL << 29);
	*e |= 1ULL << 13;
	FAULT(0x40000123ULL, X | U, PF_P | PF_R | PF_U | PF_I);
	*e &= ~(1ULL << 13);

	e = map64(&g, root, 4, 0x00600000ULL, 0x00e00000ULL, 2, P | RW);
	OK(0x006fffffULL, W, 0x00efffffULL);
	*e |= 1ULL << 20;
	FAULT(0x00600000ULL, 0, PF_P | PF_R);
	*e &= ~(1ULL << 20);

	/* PS in a PML4E is reserved */
	e = entry64(&g, root, 4, 0x00600000ULL, 4, 0);
	*e |= PS;
	FAULT(0x00600000ULL, W, PF_P | PF_R | PF_W);
	*e &= ~PS;

	/* Reserved address bits above MAXPHYADDR, at any level */
	ctx.maxphyaddr = 40;
	*e |= 1ULL << 45;
	FAULT(0x00600000ULL, 0, PF_P | PF_R);
	*e &= ~(1ULL << 45);
	OK(0x00600000ULL, 0, 0x00e00000ULL);
	ctx.maxphyaddr = 0;

	/* XD: a fetch faults with NXE; without NXE the bit is reserved */
	*e |= XD;
	FAULT(0x00600000ULL, X, PF_P | PF_I);
	OK(0x00600000ULL, W, 0x00e00000ULL);
	ctx.efer &= ~EFER_NXE;
	FAULT(0x00600000ULL, 0, PF_P | PF_R);
	ctx.efer |= EFER_NXE;
	*e &= ~XD;

	/* U/S clear at the PDPTE level only: user access faults */
	e = entry64(&g, root, 4, 0x00600000ULL, 3, 0);
	*e &= ~US;
	map64(&g, root, 4, 0x00601000ULL, 0, 2, P | RW | US);
	FAULT(0x00600000ULL, U, PF_P | PF_U);
	*e |= US;

	/* Read-only, user: WP, SMEP, SMAP */
	map64(&g, root, 4, 0x01000000ULL, 0x5000, 1, P | US);
	FAULT(0x01000000ULL, W, PF_P | PF_W);
	ctx.cr0 &= ~CR0_WP;
	OK(0x01000000ULL, W, 0x5000);
	FAULT(0x01000000ULL, W | U, PF_P | PF_W | PF_U);
	OK(0x01000000ULL, X, 0x5000);
	ctx.cr4 |= CR4_SMEP;
	FAULT(0x01000000ULL, X, PF_P | PF_I);
	OK(0x01000000ULL, X | U, 0x5000);
	OK(0x01000000ULL, 0, 0x5000);
	ctx.cr4 |= CR4_SMAP;
	FAULT(0x01000000ULL, 0, PF_P);
	FAULT(0x01000000ULL, W, PF_P | PF_W);
	OK(0x01000000ULL, U, 0x5000);
	ctx.rflags = FL_AC;
	OK(0x01000000ULL, 0, 0x5000);

	/* A table outside guest memory: the reader's error, no #PF */
	e = entry64(&g, root, 4, 0x7f0000000000ULL, 4, 0);
	*e = (64ULL << 20) | P | RW | US;
	EXPECT_EQ(-ERANGE * 1000, xlate(&g, &ctx, 0x7f0000000000ULL, 0,
					&before));
	free(g.mem);
}

TEST(long5)
{
	struct gwalk_ctx ctx;
	struct gwalk_result res;
	struct gmem g;
	u64 root, gpa;
	u32 pfec;

	gmem_init(&g);
	root = alloc_table(&g);
	long_ctx(&ctx, root, true);

	/* Bits 56:48 are translated; canonical means bits 63:57 = bit 56 */
	map64(&g, root, 5, 0x00ff800000001000ULL, 0x2000, 1, P | RW | US);
	OK(0x00ff800000001234ULL, W | U, 0x2234);
	map64(&g, root, 5, 0xff00000000000000ULL, 0x3000, 1, P | RW);
	OK(0xff00000000000010ULL, W, 0x3010);
	EXPECT_EQ(-EINVAL * 1000, xlate(&g, &ctx, 0x0100000000000000ULL, 0,
					&gpa));
	/* A different PML5 slot is not present */
	FAULT(0x0001000000000000ULL, 0, 0);
	/* PS in a PML5E is reserved */
	*entry64(&g, root, 5, 0x00ff800000001000ULL, 5, 0) |= PS;
	FAULT(0x00ff800000001000ULL, 0, PF_P | PF_R);
	*entry64(&g, root, 5, 0x00ff800000001000ULL, 5, 0) &= ~PS;

	/* 1 GiB page under 5 levels */
	map64(&g, root, 5, 0x00c0000000ULL, 0x140000000ULL, 3, P | RW | US);
	ASSERT_EQ(0, gwalk_translate_ex(&ctx, gmem_read, &g, 0xc0000042ULL,
					W | U, &res, &pfec));
	EXPECT_EQ(0x140000042ULL, res.gpa);
	EXPECT_EQ(3, res.level);

	/* The same tables read as 4-level: that address is not canonical */
	ctx.cr4 &= ~CR4_LA57;
	EXPECT_EQ(-EINVAL * 1000, xlate(&g, &ctx, 0x00ff800000001234ULL, 0,
					&gpa));
	free(g.mem);
}

/*
 * Random tables: whatever the guest wrote, the walk ends with one of its
 * documented answers, and a fault's error code describes the access.
 */
TEST(fuzz)
{
	unsigned int seed = 777, i, j, bad = 0, translated = 0;
	struct gmem g;

	gmem_init(&g);
	for (i = 0; i < 20000; i++) {
		struct gwalk_ctx ctx = { 0 };
		u64 gva, gpa = 0;
		u32 access = rand_r(&seed) & (W | U | X), pfec;
		int ret;

		/* Refill a small window of tables now and then. */
		if (i % 256 == 0) {
			for (j = 0; j < 8 * 4096 / 8; j++) {
				u64 v = (u64)rand_r(&seed) << 40 ^
					(u64)rand_r(&seed) << 20 ^
					rand_r(&seed);

				/*
				 * Mostly a present entry pointing back into
				 * the window, no reserved bits but maybe XD.
				 */
				if (rand_r(&seed) % 4)
					v = (v & (0xf7fULL | XD)) | P |
					    (rand_r(&seed) % 8 ? 0 : PS) |
					    (rand_r(&seed) % 4 ? RW | US : 0) |
					    (TABLES_AT +
					     (rand_r(&seed) % 8) * 4096);
				*e64(&g, TABLES_AT + j * 8) = v;
			}
		}
		ctx.cr0 = CR0_PE | CR0_PG | (rand_r(&seed) & 1 ? CR0_WP : 0);
		ctx.cr4 = rand_r(&seed) & (CR4_PSE | CR4_PAE | CR4_LA57 |
					   CR4_SMEP | CR4_SMAP);
		ctx.efer = rand_r(&seed) & (EFER_NXE | EFER_LMA);
		ctx.cr3 = TABLES_AT + (rand_r(&seed) % 8) * 4096;
		ctx.maxphyaddr = 32 + rand_r(&seed) % 21;
		gva = (u64)rand_r(&seed) << 33 ^ (u64)rand_r(&seed) << 2;
		if (rand_r(&seed) & 1)
			gva = (u64)((s64)(gva << 16) >> 16);
		pfec = 0xdead;
		ret = gwalk_translate(&ctx, gmem_read, &g, gva, access, &gpa,
				      &pfec);
		if (ret == -EFAULT) {
			if (pfec & ~0x1fU)
				bad++;
			if ((pfec & (PF_W | PF_U)) != (access & (W | U)))
				bad++;
			if ((pfec & PF_I) && !(access & X))
				bad++;
		} else if (ret == 0 || ret == -EINVAL || ret == -ERANGE) {
			if (pfec)
				bad++;
			translated += ret == 0;
		} else {
			bad++;
		}
		/*
		 * What a write may do, a read of the same kind may do, to
		 * the same address; a write that fails where the read
		 * worked is a protection fault.
		 */
		if (ret == 0 && (access & W)) {
			u64 gpa2 = ~0ULL;

			if (gwalk_translate(&ctx, gmem_read, &g, gva,
					    access & ~W, &gpa2, &pfec) ||
			    gpa2 != gpa)
				bad++;
		}
		if (ret == 0 && !(access & W)) {
			u64 gpa2 = ~0ULL;

			ret = gwalk_translate(&ctx, gmem_read, &g, gva,
					      access | W, &gpa2, &pfec);
			if (ret == 0 ? gpa2 != gpa :
			    (ret != -EFAULT || !(pfec & PF_P) ||
			     (pfec & PF_R)))
				bad++;
		}
	}
	EXPECT_EQ(0, bad);
	EXPECT_GT(translated, 500);
	free(g.mem);
}

TEST_HARNESS_MAIN
