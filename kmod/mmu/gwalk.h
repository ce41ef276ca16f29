/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm: guest page-table walker.
 *
 * Translates a guest linear address to a guest-physical one the way the
 * guest's MMU would, for every paging mode: paging off, 32-bit (4 KiB and
 * 4 MiB pages, PSE-36), PAE, and 4- and 5-level long mode (2 MiB and
 * 1 GiB pages).  It checks present, reserved bits, write (honouring
 * CR0.WP), user, NX (EFER.NXE), SMEP and SMAP, and on failure gives the
 * page-fault error code for the #PF the caller injects.
 *
 * Not done, on purpose or for later:
 *   - Accessed and Dirty bits are not set (a guest that relies on them
 *     for memory it touches only through emulated accesses will see them
 *     clear; the CPU sets them for everything it executes itself).
 *   - PAE PDPTEs are read from memory at every walk, not cached at CR3
 *     load; a reserved bit in one is a #PF with RSVD here where the CPU
 *     raises #GP at MOV CR3.
 *   - Protection keys (CR4.PKE/PKS), CET shadow stacks, HLAT.
 *   - No TLB: the caller sees the tables as they are now.
 *
 * Long mode is taken from EFER.LMA, 5-level paging from CR4.LA57.
 */
#ifndef _VMM_MMU_GWALK_H
#define _VMM_MMU_GWALK_H

#include "../bt/types.h"

/* Access kinds; the values are the matching page-fault error code bits. */
#define GWALK_WRITE	BIT(1)	/* a write */
#define GWALK_USER	BIT(2)	/* CPL 3 (else supervisor) */
#define GWALK_FETCH	BIT(4)	/* an instruction fetch */

/* Page-fault error code bits (SDM Vol. 3, "Page-Fault Exceptions"). */
#define GWALK_PFEC_P	BIT(0)	/* 0: not present, 1: protection */
#define GWALK_PFEC_W	BIT(1)	/* the access was a write */
#define GWALK_PFEC_U	BIT(2)	/* the access was in user mode */
#define GWALK_PFEC_RSVD	BIT(3)	/* a reserved bit was set */
#define GWALK_PFEC_I	BIT(4)	/* an instruction fetch */

/*
 * The guest's control registers.  maxphyaddr is the guest's physical
 * address width (CPUID 8000_0008 EAX[7:0]); 0 means 52, the most
 * permissive.  rflags is used for RFLAGS.AC only (SMAP).
 */
struct gwalk_ctx {
	u64 cr0, cr3, cr4, efer;
	u64 rflags;
	u8 maxphyaddr;
};

/* What a successful walk found, for callers that want more than the GPA. */
struct gwalk_result {
	u64 gpa;
	u64 page_size;		/* 4K, 2M, 4M or 1G; 0: paging off */
	int level;		/* level of the leaf entry (1: PTE); 0: none */
	bool writable;		/* the access would be allowed as a write */
	bool user;		/* user-accessible at every level */
	bool nx;		/* not executable */
};

/*
 * Read @len bytes of guest-physical memory at @gpa into @buf.  Returns 0
 * or -errno; the walk passes the error on.
 */
typedef int (*gwalk_read_t)(void *opaque, u64 gpa, void *buf,
			    unsigned int len);

/*
 * gwalk_translate - translate @gva for an access of kind @access
 * @ctx:    control registers
 * @read:   guest-physical reader, called once per table entry
 * @opaque: passed to @read
 * @gva:    the linear address (truncated to 32 bits outside long mode)
 * @access: GWALK_* bits
 * @gpa:    the guest-physical address, on success
 * @pfec:   the page-fault error code, on -EFAULT; 0 otherwise
 *
 * Returns 0; -EFAULT when the guest takes a #PF (inject it with *@pfec,
 * CR2 = @gva); -EINVAL when @gva is not canonical in long mode (that is
 * #GP or #SS, not #PF; *@pfec is 0); or the error of @read.
 */
int gwalk_translate(const struct gwalk_ctx *ctx, gwalk_read_t read,
		    void *opaque, u64 gva, u32 access, u64 *gpa, u32 *pfec);

/* gwalk_translate() with the details of the leaf in @res. */
int gwalk_translate_ex(const struct gwalk_ctx *ctx, gwalk_read_t read,
		       void *opaque, u64 gva, u32 access,
		       struct gwalk_result *res, u32 *pfec);

#endif /* _VMM_MMU_GWALK_H */
