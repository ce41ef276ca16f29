// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: guest page-table walker.
 *
 * One walk loop for every paging mode; what differs between modes (how
 * many levels, entry width, index bits, where large pages may be, which
 * bits are reserved) is data in a struct gwalk_mode built from the
 * control registers, in the spirit of KVM's paging_tmpl.h but chosen at
 * run time.
 */
#include "gwalk.h"

#define PTE_P		BIT_ULL(0)
#define PTE_RW		BIT_ULL(1)
#define PTE_US		BIT_ULL(2)
#define PTE_PS		BIT_ULL(7)
#define PTE_XD		BIT_ULL(63)

#define CR0_WP		BIT_ULL(16)
#define CR0_PG		BIT_ULL(31)
#define CR4_PSE		BIT_ULL(4)
#define CR4_PAE		BIT_ULL(5)
#define CR4_LA57	BIT_ULL(12)
#define CR4_SMEP	BIT_ULL(20)
#define CR4_SMAP	BIT_ULL(21)
#define EFER_NXE	BIT_ULL(11)
#define EFER_LMA	BIT_ULL(10)
#define RFLAGS_AC	BIT_ULL(18)

#define GWALK_MAX_LEVELS 5

/* Bits @lo..@hi set (an empty mask when hi < lo). */
static u64 gw_bits(unsigned int lo, unsigned int hi)
{
	if (hi < lo || lo > 63)
		return 0;
	if (hi > 63)
		hi = 63;
	return (~0ULL >> (63 - hi)) & (~0ULL << lo);
}

/*
 * A paging mode.  Levels count from 1 (the page table) upwards.
 * rsvd[L] and rsvd_large[L] are the bits that must be zero in a level-L
 * entry that points to a table or maps a page.
 */
struct gwalk_mode {
	int levels;
	unsigned int entry_size;	/* 4 or 8 bytes */
	unsigned int bits;		/* index bits per level */
	u8 large;			/* bit L: level L may map a page */
	bool pae_pdpte;			/* top level is PAE's 4 PDPTEs */
	bool nx;			/* EFER.NXE applies */
	u64 addr_mask;			/* next-table / page address bits */
	u64 root;
	u64 rsvd[GWALK_MAX_LEVELS + 1];
	u64 rsvd_large[GWALK_MAX_LEVELS + 1];
};

static void gw_mode_32(const struct gwalk_ctx *ctx, struct gwalk_mode *m,
		       unsigned int maxphy)
{
	/* PSE-36/40: PDE bits 20:13 hold the page's address bits 39:32. */
	unsigned int high = (maxphy < 40 ? maxphy : 40) - 32;

	m->levels = 2;
	m->entry_size = 4;
	m->bits = 10;
	m->large = (ctx->cr4 & CR4_PSE) ? 1 << 2 : 0;
	m->addr_mask = 0xfffff000ULL;
	m->root = ctx->cr3 & 0xfffff000ULL;
	m->rsvd_large[2] = gw_bits(21, 21) | gw_bits(13 + high, 20);
}

static void gw_mode_64(const struct gwalk_ctx *ctx, struct gwalk_mode *m,
		       unsigned int maxphy, bool lma)
{
	/*
	 * Long mode ignores bits 62:52 (software bits); PAE reserves every
	 * bit from MAXPHYADDR up to 62.
	 */
	u64 high = gw_bits(maxphy, lma ? 51 : 62);
	u64 xd = m->nx ? 0 : PTE_XD;
	int l;

	m->entry_size = 8;
	m->bits = 9;
	m->addr_mask = gw_bits(12, maxphy - 1);
	if (!lma) {
		m->levels = 3;
		m->pae_pdpte = true;
		m->large = 1 << 2;
		m->root = ctx->cr3 & 0xffffffe0ULL;
		m->rsvd[3] = gw_bits(maxphy, 63) | gw_bits(5, 8) |
			     gw_bits(1, 2);
	} else {
		m->levels = (ctx->cr4 & CR4_LA57) ? 5 : 4;
		m->large = (1 << 2) | (1 << 3);
		m->root = ctx->cr3 & m->addr_mask;
	}
	for (l = 1; l <= m->levels; l++) {
		if (!(m->pae_pdpte && l == 3))
			m->rsvd[l] = high | xd;
		if (l >= 4)
			m->rsvd[l] |= PTE_PS;	/* no 512 GiB pages */
	}
	/* Large pages: the address bits below the page size, PAT excepted. */
	m->rsvd_large[2] = m->rsvd[2] | gw_bits(13, 20);
	m->rsvd_large[3] = m->rsvd[3] | gw_bits(13, 29);
}

/* Returns false when paging is off. */
static bool gw_mode_init(const struct gwalk_ctx *ctx, struct gwalk_mode *m)
{
	unsigned int maxphy = ctx->maxphyaddr ? ctx->maxphyaddr : 52;
	bool lma = ctx->efer & EFER_LMA;

	if (maxphy < 32)
		maxphy = 32;
	if (maxphy > 52)
		maxphy = 52;
	memset(m, 0, sizeof(*m));
	if (!(ctx->cr0 & CR0_PG))
		return false;
	m->nx = ctx->efer & EFER_NXE;
	if (!lma && !(ctx->cr4 & CR4_PAE)) {
		m->nx = false;		/* 32-bit paging has no XD bit */
		gw_mode_32(ctx, m, maxphy);
	} else {
		gw_mode_64(ctx, m, maxphy, lma);
	}
	return true;
}

static bool gw_canonical(u64 gva, int levels)
{
	unsigned int width = levels == 5 ? 57 : 48;

	return (u64)((s64)(gva << (64 - width)) >> (64 - width)) == gva;
}

/* The error code bits that describe the access itself. */
static u32 gw_pfec(const struct gwalk_ctx *ctx, const struct gwalk_mode *m,
		   u32 access)
{
	u32 pfec = access & (GWALK_PFEC_W | GWALK_PFEC_U);

	/* I/D is reported only when NX or SMEP can make fetches fault. */
	if ((access & GWALK_FETCH) && (m->nx || (ctx->cr4 & CR4_SMEP)))
		pfec |= GWALK_PFEC_I;
	return pfec;
}

/* Permission check on the combined rights of all levels. */
static bool gw_allowed(const struct gwalk_ctx *ctx, u32 access,
		       const struct gwalk_result *res)
{
	bool user = access & GWALK_USER;

	if (user && !res->user)
		return false;
	if ((access & GWALK_WRITE) && !res->writable &&
	    (user || (ctx->cr0 & CR0_WP)))
		return false;
	if (access & GWALK_FETCH) {
		if (res->nx)
			return false;
		if (!user && res->user && (ctx->cr4 & CR4_SMEP))
			return false;
	} else if (!user && res->user && (ctx->cr4 & CR4_SMAP) &&
		   !(ctx->rflags & RFLAGS_AC)) {
		return false;
	}
	return true;
}

/* The page address of a large leaf at @level. */
static u64 gw_large_base(const struct gwalk_mode *m, u64 pte, u64 size)
{
	u64 base;

	if (m->entry_size == 8)
		return pte & m->addr_mask & ~(size - 1);
	/* 32-bit 4 MiB page: bits 31:22 and PSE-36 bits 20:13. */
	base = pte & 0xffc00000ULL;
	base |= ((pte >> 13) & 0xffULL) << 32;
	return base;
}

int gwalk_translate_ex(const struct gwalk_ctx *ctx, gwalk_read_t read,
		       void *opaque, u64 gva, u32 access,
		       struct gwalk_result *res, u32 *pfec)
{
	struct gwalk_mode m;
	u64 table, pte = 0;
	int level, ret;

	*pfec = 0;
	memset(res, 0, sizeof(*res));
	if (!(ctx->efer & EFER_LMA))
		gva = (u32)gva;
	if (!gw_mode_init(ctx, &m)) {
		res->gpa = gva;
		res->writable = true;
		res->user = true;
		return 0;
	}
	if (!m.pae_pdpte && m.entry_size == 8 && !gw_canonical(gva, m.levels))
		return -EINVAL;

	res->writable = true;
	res->user = true;
	table = m.root;
	for (level = m.levels; level >= 1; level--) {
		unsigned int shift = 12 + m.bits * (level - 1);
		u64 idx = (gva >> shift) & ((1ULL << m.bits) - 1);
		u64 size = 1ULL << shift;
		u32 e32;

		if (m.entry_size == 4) {
			ret = read(opaque, table + idx * 4, &e32, 4);
			pte = e32;
		} else {
			ret = read(opaque, table + idx * 8, &pte, 8);
		}
		if (ret)
			return ret;
		if (!(pte & PTE_P))
			goto fault;
		if ((m.large & (1 << level)) && (pte & PTE_PS)) {
			if (pte & m.rsvd_large[level])
				goto rsvd;
			res->page_size = size;
			res->gpa = gw_large_base(&m, pte, size) |
				   (gva & (size - 1));
		} else if (pte & m.rsvd[level]) {
			goto rsvd;
		}
		/* PAE PDPTEs carry no access rights. */
		if (!(m.pae_pdpte && level == m.levels)) {
			res->writable &= !!(pte & PTE_RW);
			res->user &= !!(pte & PTE_US);
			if (m.nx && (pte & PTE_XD))
				res->nx = true;
		}
		if (res->page_size)
			break;
		table = pte & m.addr_mask;
	}
	res->level = level ? level : 1;
	if (!res->page_size) {
		res->page_size = 4096;
		res->gpa = (pte & m.addr_mask) | (gva & 0xfff);
	}
	if (!gw_allowed(ctx, access, res)) {
		*pfec = gw_pfec(ctx, &m, access) | GWALK_PFEC_P;
		return -EFAULT;
	}
	return 0;

rsvd:
	*pfec = gw_pfec(ctx, &m, access) | GWALK_PFEC_P | GWALK_PFEC_RSVD;
	return -EFAULT;
fault:
	*pfec = gw_pfec(ctx, &m, access);
	return -EFAULT;
}

int gwalk_translate(const struct gwalk_ctx *ctx, gwalk_read_t read,
		    void *opaque, u64 gva, u32 access, u64 *gpa, u32 *pfec)
{
	struct gwalk_result res;
	int ret;

	ret = gwalk_translate_ex(ctx, read, opaque, gva, access, &res, pfec);
	if (!ret)
		*gpa = res.gpa;
	return ret;
}
