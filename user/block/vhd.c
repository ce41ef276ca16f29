// SPDX-License-Identifier: GPL-2.0
/*
 * vdisk VHD format: Microsoft's Virtual Hard Disk Image Format
 * Specification (October 2006), fixed, dynamic and differencing disks.
 *
 * A fixed disk is its data followed by a 512-byte footer.  A dynamic or
 * differencing disk is: a copy of the footer at offset 0, the dynamic
 * header ("cxsparse"), the BAT (big-endian sector offsets of blocks,
 * 0xFFFFFFFF for none), parent locator data (differencing), blocks
 * (a sector bitmap padded to 512 bytes, then block_size bytes of data),
 * and the footer last.  New blocks go where the footer was; the footer
 * moves to the new end.  Documentation/disks.rst gives the order of the
 * writes and why a kill -9 at any point leaves a consistent file.
 *
 * Everything read from a file is checked before it is used: the parser
 * (vhd_parse) refuses, naming the file and field, anything that would
 * make a later access go outside the file or two things share space.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "vdisk_impl.h"

#define VHD_COOKIE		"conectix"
#define VHD_DYN_COOKIE		"cxsparse"
#define VHD_VERSION		0x00010000u
#define VHD_FEATURES		0x00000002u	/* "reserved", always set */
#define VHD_NO_OFFSET		0xFFFFFFFFFFFFFFFFull
#define VHD_UNALLOC		0xFFFFFFFFu
#define VHD_TYPE_FIXED		2
#define VHD_TYPE_DYNAMIC	3
#define VHD_TYPE_DIFF		4
#define VHD_EPOCH		946684800	/* 2000-01-01 00:00:00 UTC */
#define VHD_OS_WI2K		0x5769326Bu	/* "Wi2k" */
#define VHD_MAX_CHS		(65535ull * 16 * 255)
#define VHD_BLOCK_DEFAULT	(2u << 20)
#define VHD_BLOCK_MIN		512u
#define VHD_BLOCK_MAX		(256u << 20)
#define VHD_LOC_MAX		(64 * 1024)	/* longest locator we read */
#define VHD_PLAT_W2KU		0x57326B75u	/* "W2ku": absolute, UTF-16LE */
#define VHD_PLAT_W2RU		0x57327275u	/* "W2ru": relative, UTF-16LE */
#define VHD_PLAT_MACX		0x4D616358u	/* "MacX": file:// URL, UTF-8 */
#define VHD_ALLOC_BATCH		64	/* allocations in one submission */

struct vhd_footer {
	char cookie[8];
	uint32_t features;
	uint32_t version;
	uint64_t data_offset;
	uint32_t timestamp;
	char creator_app[4];
	uint32_t creator_version;
	uint32_t creator_os;
	uint64_t orig_size;
	uint64_t cur_size;
	uint16_t cyls;
	uint8_t heads;
	uint8_t secs;
	uint32_t type;
	uint32_t checksum;
	uint8_t uuid[16];
	uint8_t saved_state;
	uint8_t reserved[427];
} __attribute__((packed));
_Static_assert(sizeof(struct vhd_footer) == 512, "VHD footer is 512 bytes");
_Static_assert(offsetof(struct vhd_footer, checksum) == 64, "footer layout");
_Static_assert(offsetof(struct vhd_footer, saved_state) == 84,
	       "footer layout");

struct vhd_ploc {
	uint32_t code;
	uint32_t space;
	uint32_t len;
	uint32_t reserved;
	uint64_t offset;
} __attribute__((packed));

struct vhd_header {
	char cookie[8];
	uint64_t data_offset;
	uint64_t table_offset;
	uint32_t version;
	uint32_t max_entries;
	uint32_t block_size;
	uint32_t checksum;
	uint8_t parent_uuid[16];
	uint32_t parent_ts;
	uint32_t reserved1;
	uint16_t parent_name[256];	/* UTF-16BE */
	struct vhd_ploc loc[8];
	uint8_t reserved2[256];
} __attribute__((packed));
_Static_assert(sizeof(struct vhd_header) == 1024, "VHD header is 1024 bytes");
_Static_assert(offsetof(struct vhd_header, loc) == 576, "header layout");

/* Per-block state beyond the BAT entry. */
enum {
	VHD_BS_UNKNOWN = 0,	/* bitmap not read yet (or unallocated) */
	VHD_BS_FULL,		/* every sector present: no bitmap needed */
	VHD_BS_PARTIAL,		/* bitmap[] says which sectors are present */
	VHD_BS_ALLOCATING,	/* an allocation is in flight */
};

/* A parent locator, decoded. */
struct vhd_loc {
	uint32_t code;
	char *path;
};

/* One allocation submission: its footer, bitmaps and data writes. */
struct vhd_batch {
	struct vdisk *d;
	int left;		/* operations not yet completed */
	int err;
	int n;
	struct vsub *subs[VHD_ALLOC_BATCH];
	struct vhd_bop {
		struct vop op;
		struct vhd_batch *b;
	} ops[2 * VHD_ALLOC_BATCH + 1];
	struct iovec iov[VHD_ALLOC_BATCH + 1];
};

struct vhd {
	uint8_t foot[512] __attribute__((aligned(512)));	/* on-disk bytes */
	struct vhd_header hdr;		/* on-disk bytes */
	uint32_t type;
	uint64_t file_size;
	uint64_t footer_pos;		/* where the footer is (the file end) */
	bool footer_from_copy;		/* the end footer was bad: used offset 0 */
	bool footer_copy_differs;
	uint64_t table_off;
	uint32_t max_entries;
	uint32_t block_size;
	uint32_t bm_bytes;		/* sector bitmap, padded to 512 */
	uint32_t spb;			/* sectors per block */
	uint32_t *bat;			/* host order */
	uint8_t *bstate;
	uint8_t **bitmap;
	uint64_t meta_end;		/* end of header, BAT, locators */
	uint64_t next_free;		/* where the next block goes */
	struct vsub *alloc_q, **alloc_tail;
	bool alloc_busy;
	struct vsub *waitq;		/* writes waiting for an allocation */
	uint8_t *ones;			/* an all-present bitmap */
	struct vhd_loc loc[8];
	char *parent_name;
	uint64_t used_blocks;
};

/* ---- little helpers ---- */

/*
 * vhd_checksum - one's complement of the sum of all bytes of @buf except
 * the 4-byte checksum field at @skip.
 */
static uint32_t vhd_checksum(const void *buf, size_t len, size_t skip)
{
	const uint8_t *p = buf;
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i++)
		if (i < skip || i >= skip + 4)
			sum += p[i];
	return ~sum;
}

static bool bm_test(const uint8_t *bm, uint32_t s)
{
	/* Sector 0 is the most significant bit of byte 0. */
	return bm[s >> 3] & (0x80 >> (s & 7));
}

static void bm_set(uint8_t *bm, uint32_t s)
{
	bm[s >> 3] |= 0x80 >> (s & 7);
}

/* Count sectors from @s on (at most @n) whose bit equals bit @s. */
static uint32_t bm_run(const uint8_t *bm, uint32_t s, uint32_t n)
{
	bool v = bm_test(bm, s);
	uint32_t i = 1;

	while (i < n && bm_test(bm, s + i) == v)
		i++;
	return i;
}

/*
 * vhd_geometry - CHS for @total sectors, the algorithm of the VHD
 * specification's appendix.
 */
static void vhd_geometry(uint64_t total, uint16_t *cyls, uint8_t *heads,
			 uint8_t *secs)
{
	uint64_t cth;
	uint32_t h, s;

	if (total > VHD_MAX_CHS)
		total = VHD_MAX_CHS;
	if (total >= 65535ull * 16 * 63) {
		s = 255;
		h = 16;
		cth = total / s;
	} else {
		s = 17;
		cth = total / s;
		h = (cth + 1023) / 1024;
		if (h < 4)
			h = 4;
		if (cth >= h * 1024 || h > 16) {
			s = 31;
			h = 16;
			cth = total / s;
		}
		if (cth >= h * 1024) {
			s = 63;
			h = 16;
			cth = total / s;
		}
	}
	*cyls = cth / h;
	*heads = h;
	*secs = s;
}

/*
 * vhd_uses_current_size - the virtual-size rule.  Virtual PC and Virtual
 * Server (and old qemu, creator "qemu") read the size from the CHS
 * geometry; Hyper-V ("win "), Disk2vhd ("d2v "), XenServer ("tap\0"),
 * XenConverter ("CTXS"), qemu with force_size ("qem2") and vmm ("vmm ")
 * use current_size.  A geometry at the CHS maximum cannot express a
 * bigger disk, so current_size counts then too.  This is qemu's rule, so
 * both read the same images at the same size.
 */
static bool vhd_uses_current_size(const struct vhd_footer *f)
{
	static const char *const apps[] = { "win ", "d2v ", "CTXS", "qem2",
					    "vmm " };
	uint64_t chs = (uint64_t)be16toh(f->cyls) * f->heads * f->secs;

	if (!memcmp(f->creator_app, "tap\0", 4) || chs == VHD_MAX_CHS)
		return true;
	for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++)
		if (!memcmp(f->creator_app, apps[i], 4))
			return true;
	return false;
}

static uint64_t vhd_virtual_size(const struct vhd_footer *f)
{
	if (vhd_uses_current_size(f))
		return be64toh(f->cur_size);
	return (uint64_t)be16toh(f->cyls) * f->heads * f->secs * VDISK_SECTOR;
}

static void vhd_uuid_str(const uint8_t *u, char *out)
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* Append the UTF-8 of code point @c to @out (room for 4 bytes needed). */
static size_t utf8_put(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = 0xC0 | (c >> 6);
		out[1] = 0x80 | (c & 0x3F);
		return 2;
	}
	if (c < 0x10000) {
		out[0] = 0xE0 | (c >> 12);
		out[1] = 0x80 | ((c >> 6) & 0x3F);
		out[2] = 0x80 | (c & 0x3F);
		return 3;
	}
	out[0] = 0xF0 | (c >> 18);
	out[1] = 0x80 | ((c >> 12) & 0x3F);
	out[2] = 0x80 | ((c >> 6) & 0x3F);
	out[3] = 0x80 | (c & 0x3F);
	return 4;
}

/*
 * utf16_to_utf8 - decode @n UTF-16 units (@be: big-endian) into a new
 * string; stops at a NUL unit.
 * Returns the string or NULL (bad surrogates, a NUL-only name, memory).
 */
static char *utf16_to_utf8(const uint8_t *p, size_t n, bool be)
{
	char *out = malloc(n * 3 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = be ? (p[2 * i] << 8 | p[2 * i + 1]) :
				  (p[2 * i + 1] << 8 | p[2 * i]);

		if (!c)
			break;
		if (c >= 0xD800 && c < 0xDC00) {
			uint32_t c2;

			if (i + 1 >= n)
				goto bad;
			i++;
			c2 = be ? (p[2 * i] << 8 | p[2 * i + 1]) :
				  (p[2 * i + 1] << 8 | p[2 * i]);
			if (c2 < 0xDC00 || c2 >= 0xE000)
				goto bad;
			c = 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00);
		} else if (c >= 0xDC00 && c < 0xE000) {
			goto bad;
		}
		o += utf8_put(o, c);
	}
	*o = 0;
	if (o == out)
		goto bad;
	return out;
bad:
	free(out);
	return NULL;
}

/*
 * utf8_to_utf16 - encode @s as UTF-16 (@be: big-endian) into @out of
 * @max units.  Returns the units written or -EINVAL (bad UTF-8, too long).
 */
static int utf8_to_utf16(const char *s, uint8_t *out, size_t max, bool be)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = 0;

	while (*p) {
		uint32_t c, u[2];
		int extra, k;

		if (*p < 0x80) {
			c = *p;
			extra = 0;
		} else if ((*p & 0xE0) == 0xC0) {
			c = *p & 0x1F;
			extra = 1;
		} else if ((*p & 0xF0) == 0xE0) {
			c = *p & 0x0F;
			extra = 2;
		} else if ((*p & 0xF8) == 0xF0) {
			c = *p & 0x07;
			extra = 3;
		} else {
			return -EINVAL;
		}
		p++;
		while (extra--) {
			if ((*p & 0xC0) != 0x80)
				return -EINVAL;
			c = c << 6 | (*p++ & 0x3F);
		}
		if (c >= 0x10000) {
			c -= 0x10000;
			u[0] = 0xD800 | (c >> 10);
			u[1] = 0xDC00 | (c & 0x3FF);
			k = 2;
		} else {
			u[0] = c;
			k = 1;
		}
		for (int i = 0; i < k; i++) {
			if (n >= max)
				return -EINVAL;
			out[2 * n + !be] = u[i] >> 8;
			out[2 * n + be] = u[i] & 0xFF;
			n++;
		}
	}
	return n;
}

/* ---- the parser ---- */

/* Where the parser reads from: a file, or a memory image (fuzzing). */
struct vhd_src {
	int fd;
	const uint8_t *buf;
	uint64_t size;
	const char *name;
};

static int src_read(const struct vhd_src *src, void *dst, size_t len,
		    uint64_t off)
{
	if (off > src->size || len > src->size - off)
		return -EIO;
	if (src->buf) {
		memcpy(dst, src->buf + off, len);
		return 0;
	}
	return vdisk_full_pread(src->fd, dst, len, off);
}

/* A region of the file, for the overlap check. */
struct vhd_region {
	uint64_t start, end;
	int what;		/* < 0: metadata (see vhd_region_name); else block */
};

enum { VHD_R_COPY = -1, VHD_R_HEADER = -2, VHD_R_BAT = -3, VHD_R_LOC = -11 };

static void vhd_region_name(const struct vhd_region *r, char *buf, size_t n)
{
	if (r->what >= 0)
		snprintf(buf, n, "block %d (BAT entry %d)", r->what, r->what);
	else if (r->what == VHD_R_COPY)
		snprintf(buf, n, "the footer copy");
	else if (r->what == VHD_R_HEADER)
		snprintf(buf, n, "the dynamic header");
	else if (r->what == VHD_R_BAT)
		snprintf(buf, n, "the BAT");
	else
		snprintf(buf, n, "parent locator %d data", VHD_R_LOC - r->what);
}

static int vhd_region_cmp(const void *a, const void *b)
{
	const struct vhd_region *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void vhd_free(struct vhd *v)
{
	if (!v)
		return;
	if (v->bitmap) {
		for (uint32_t i = 0; i < v->max_entries; i++)
			if (v->bitmap[i] != v->ones)
				free(v->bitmap[i]);
	}
	free(v->bitmap);
	free(v->bat);
	free(v->bstate);
	free(v->ones);
	for (int i = 0; i < 8; i++)
		free(v->loc[i].path);
	free(v->parent_name);
	free(v);
}

static bool vhd_footer_ok(const struct vhd_footer *f)
{
	return !memcmp(f->cookie, VHD_COOKIE, 8) &&
	       be32toh(f->checksum) == vhd_checksum(f, 512, 64);
}

/*
 * vhd_parse_footer - find and check the footer: at the end of the file,
 * or, when that is damaged, the copy at offset 0 of a dynamic disk.
 * Returns 0 or -errno with @err set.
 */
static int vhd_parse_footer(const struct vhd_src *src, struct vhd *v,
			    struct vdisk_error *err)
{
	struct vhd_footer *f = (struct vhd_footer *)v->foot, copy;
	const char *nm = src->name;
	uint32_t type;
	uint64_t size;

	v->file_size = src->size;
	if (src->size < 512) {
		vdisk_err(err, "%s: %llu bytes: too short for a VHD footer", nm,
			  (unsigned long long)src->size);
		return -EINVAL;
	}
	v->footer_pos = (src->size - 512) & ~511ull;
	if (src_read(src, f, 512, src->size - 512))
		goto io;
	if (!vhd_footer_ok(f)) {
		bool cookie = !memcmp(f->cookie, VHD_COOKIE, 8);

		/* A dynamic disk keeps a copy at offset 0. */
		if (src->size >= 1536 && !src_read(src, &copy, 512, 0) &&
		    vhd_footer_ok(&copy) &&
		    be32toh(copy.type) != VHD_TYPE_FIXED) {
			memcpy(f, &copy, 512);
			v->footer_from_copy = true;
			v->footer_pos = (src->size + 511) & ~511ull;
		} else if (cookie) {
			vdisk_err(err, "%s: footer checksum is 0x%08x, the footer's bytes sum to 0x%08x",
				  nm, be32toh(f->checksum),
				  vhd_checksum(f, 512, 64));
			return -EINVAL;
		} else {
			vdisk_err(err, "%s: no VHD footer (cookie \"conectix\") at the end of the file",
				  nm);
			return -EINVAL;
		}
	} else if (src->size >= 1024 && be32toh(f->type) != VHD_TYPE_FIXED) {
		if (!src_read(src, &copy, 512, 0) && memcmp(&copy, f, 512))
			v->footer_copy_differs = true;
	}
	if (be32toh(f->version) >> 16 != 1) {
		vdisk_err(err, "%s: footer file format version 0x%08x is not 1.x",
			  nm, be32toh(f->version));
		return -EINVAL;
	}
	type = be32toh(f->type);
	if (type != VHD_TYPE_FIXED && type != VHD_TYPE_DYNAMIC &&
	    type != VHD_TYPE_DIFF) {
		vdisk_err(err, "%s: footer disk type %u is not fixed (2), dynamic (3) or differencing (4)",
			  nm, type);
		return -EINVAL;
	}
	v->type = type;
	size = vhd_virtual_size(f);
	if (size > VDISK_VHD_MAX_SIZE) {
		vdisk_err(err, "%s: footer current size %llu is past the VHD limit of 2040 GiB",
			  nm, (unsigned long long)size);
		return -EINVAL;
	}
	if (size % VDISK_SECTOR) {
		vdisk_err(err, "%s: footer current size %llu is not a multiple of 512",
			  nm, (unsigned long long)size);
		return -EINVAL;
	}
	if (type == VHD_TYPE_FIXED && size > v->footer_pos) {
		vdisk_err(err, "%s: fixed disk of %llu bytes, but only %llu bytes of data before the footer (truncated?)",
			  nm, (unsigned long long)size,
			  (unsigned long long)v->footer_pos);
		return -EINVAL;
	}
	return 0;
io:
	vdisk_err(err, "%s: cannot read the footer", nm);
	return -EIO;
}

/*
 * vhd_parse_locators - check and decode the parent locators of a
 * differencing disk, adding their data to the region list.
 * Returns 0 or -errno with @err set.
 */
static int vhd_parse_locators(const struct vhd_src *src, struct vhd *v,
			      struct vhd_region *reg, int *nreg,
			      struct vdisk_error *err)
{
	const char *nm = src->name;
	uint8_t *buf;

	v->parent_name = utf16_to_utf8((const uint8_t *)v->hdr.parent_name,
				       256, true);
	buf = malloc(VHD_LOC_MAX);
	if (!buf)
		return -ENOMEM;
	for (int i = 0; i < 8; i++) {
		const struct vhd_ploc *l = &v->hdr.loc[i];
		uint32_t code = be32toh(l->code), len = be32toh(l->len);
		uint64_t off = be64toh(l->offset);
		char *p;

		if (!code)
			continue;
		if (code != VHD_PLAT_W2KU && code != VHD_PLAT_W2RU &&
		    code != VHD_PLAT_MACX)
			continue;	/* Wi2r/Wi2k/Mac: old, not followed */
		if (!len || len > VHD_LOC_MAX || off < 512 ||
		    off > v->footer_pos || len > v->footer_pos - off) {
			vdisk_err(err, "%s: parent locator %d: data of %u bytes at %llu is outside the file",
				  nm, i, len, (unsigned long long)off);
			free(buf);
			return -EINVAL;
		}
		if (src_read(src, buf, len, off)) {
			vdisk_err(err, "%s: parent locator %d: cannot read its data",
				  nm, i);
			free(buf);
			return -EIO;
		}
		if (code == VHD_PLAT_MACX) {
			p = strndup((char *)buf, len);
			if (p && (strlen(p) != len || strncmp(p, "file://", 7))) {
				free(p);
				p = NULL;
			} else if (p) {
				memmove(p, p + 7, len - 6);
			}
		} else {
			p = len % 2 ? NULL : utf16_to_utf8(buf, len / 2, false);
		}
		if (!p || !*p) {
			vdisk_err(err, "%s: parent locator %d: the path is not valid %s",
				  nm, i, code == VHD_PLAT_MACX ?
				  "UTF-8 file:// URL" : "UTF-16LE");
			free(p);
			free(buf);
			return -EINVAL;
		}
		v->loc[i].code = code;
		v->loc[i].path = p;
		reg[*nreg].start = off;
		reg[*nreg].end = off + len;
		reg[*nreg].what = VHD_R_LOC - i;
		(*nreg)++;
		if (off + len > v->meta_end)
			v->meta_end = off + len;
	}
	free(buf);
	return 0;
}

/*
 * vhd_parse - read and check everything a VHD open needs: footer,
 * dynamic header, BAT, parent locators.  Block bitmaps are read later,
 * when first used (they cannot be invalid).  Nothing is written.
 * Returns the state or NULL with errno and @err set.
 */
static struct vhd *vhd_parse(const struct vhd_src *src, uint64_t *vsize,
			     struct vdisk_error *err)
{
	const char *nm = src->name;
	struct vhd_region *reg = NULL;
	struct vhd_header *h;
	uint64_t off, bat_bytes, need;
	uint32_t bs;
	int nreg = 0, ret;
	struct vhd *v;
	char a[64], b[64];

	v = aligned_alloc(512, (sizeof(*v) + 511) & ~511ul);
	if (!v) {
		errno = ENOMEM;
		return NULL;
	}
	memset(v, 0, sizeof(*v));
	v->alloc_tail = &v->alloc_q;
	ret = vhd_parse_footer(src, v, err);
	if (ret)
		goto fail;
	*vsize = vhd_virtual_size((struct vhd_footer *)v->foot);
	if (v->type == VHD_TYPE_FIXED)
		return v;

	h = &v->hdr;
	off = be64toh(((struct vhd_footer *)v->foot)->data_offset);
	ret = -EINVAL;
	if (off < 512 || off > v->footer_pos || v->footer_pos - off < 1024) {
		vdisk_err(err, "%s: footer data offset %llu: no room for the dynamic header there",
			  nm, (unsigned long long)off);
		goto fail;
	}
	if (src_read(src, h, 1024, off)) {
		vdisk_err(err, "%s: cannot read the dynamic header", nm);
		ret = -EIO;
		goto fail;
	}
	if (memcmp(h->cookie, VHD_DYN_COOKIE, 8)) {
		vdisk_err(err, "%s: dynamic header at %llu has no cookie \"cxsparse\"",
			  nm, (unsigned long long)off);
		goto fail;
	}
	if (be32toh(h->checksum) != vhd_checksum(h, 1024, 36)) {
		vdisk_err(err, "%s: dynamic header checksum is 0x%08x, its bytes sum to 0x%08x",
			  nm, be32toh(h->checksum), vhd_checksum(h, 1024, 36));
		goto fail;
	}
	if (be32toh(h->version) != VHD_VERSION) {
		vdisk_err(err, "%s: dynamic header version 0x%08x is not 0x00010000",
			  nm, be32toh(h->version));
		goto fail;
	}
	bs = be32toh(h->block_size);
	if (bs < VHD_BLOCK_MIN || bs > VHD_BLOCK_MAX || (bs & (bs - 1))) {
		vdisk_err(err, "%s: dynamic header block size %u is not a power of two from 512 to 256 MiB",
			  nm, bs);
		goto fail;
	}
	v->block_size = bs;
	v->spb = bs / VDISK_SECTOR;
	v->bm_bytes = ((v->spb + 7) / 8 + 511) & ~511u;
	v->max_entries = be32toh(h->max_entries);
	need = (*vsize + bs - 1) / bs;
	if (v->max_entries < need) {
		vdisk_err(err, "%s: dynamic header max table entries %u cannot cover %llu bytes in %u-byte blocks",
			  nm, v->max_entries, (unsigned long long)*vsize, bs);
		goto fail;
	}
	v->table_off = be64toh(h->table_offset);
	bat_bytes = (uint64_t)v->max_entries * 4;
	if (v->table_off > v->footer_pos ||
	    bat_bytes > v->footer_pos - v->table_off) {
		vdisk_err(err, "%s: dynamic header table offset %llu: a BAT of %u entries does not fit in the file",
			  nm, (unsigned long long)v->table_off, v->max_entries);
		goto fail;
	}
	v->bat = malloc(bat_bytes + 1);
	v->bstate = calloc(v->max_entries + 1, 1);
	v->bitmap = calloc(v->max_entries + 1, sizeof(uint8_t *));
	reg = calloc(v->max_entries + 16, sizeof(*reg));
	v->ones = aligned_alloc(512, v->bm_bytes);
	if (!v->bat || !v->bstate || !v->bitmap || !reg || !v->ones) {
		ret = -ENOMEM;
		vdisk_err(err, "%s: out of memory for a BAT of %u entries", nm,
			  v->max_entries);
		goto fail;
	}
	memset(v->ones, 0xFF, v->bm_bytes);
	if (src_read(src, v->bat, bat_bytes, v->table_off)) {
		vdisk_err(err, "%s: cannot read the BAT", nm);
		ret = -EIO;
		goto fail;
	}
	reg[nreg++] = (struct vhd_region){ 0, 512, VHD_R_COPY };
	reg[nreg++] = (struct vhd_region){ off, off + 1024, VHD_R_HEADER };
	reg[nreg++] = (struct vhd_region){ v->table_off,
					   v->table_off + bat_bytes,
					   VHD_R_BAT };
	v->meta_end = off + 1024 > v->table_off + bat_bytes ?
		      off + 1024 : v->table_off + bat_bytes;
	if (v->type == VHD_TYPE_DIFF) {
		ret = vhd_parse_locators(src, v, reg, &nreg, err);
		if (ret)
			goto fail;
	}
	v->next_free = v->footer_pos;
	for (uint32_t i = 0; i < v->max_entries; i++) {
		uint64_t start, end;

		v->bat[i] = be32toh(v->bat[i]);
		if (v->bat[i] == VHD_UNALLOC)
			continue;
		start = (uint64_t)v->bat[i] * VDISK_SECTOR;
		end = start + v->bm_bytes + bs;
		if (end > v->footer_pos) {
			vdisk_err(err, "%s: BAT entry %u: block at %llu ends at %llu, past the footer at %llu",
				  nm, i, (unsigned long long)start,
				  (unsigned long long)end,
				  (unsigned long long)v->footer_pos);
			ret = -EINVAL;
			goto fail;
		}
		reg[nreg++] = (struct vhd_region){ start, end, i };
		v->used_blocks++;
	}
	/* Nothing may share space: sort, then compare neighbours. */
	qsort(reg, nreg, sizeof(*reg), vhd_region_cmp);
	for (int i = 1; i < nreg; i++) {
		if (reg[i].start < reg[i - 1].end) {
			vhd_region_name(&reg[i - 1], a, sizeof(a));
			vhd_region_name(&reg[i], b, sizeof(b));
			vdisk_err(err, "%s: %s at %llu overlaps %s at %llu", nm,
				  b, (unsigned long long)reg[i].start, a,
				  (unsigned long long)reg[i - 1].start);
			ret = -EINVAL;
			goto fail;
		}
	}
	/* Allocate after whatever is last, never over it. */
	if (nreg && reg[nreg - 1].end > v->next_free)
		v->next_free = (reg[nreg - 1].end + 511) & ~511ull;
	free(reg);
	return v;
fail:
	free(reg);
	vhd_free(v);
	errno = -ret;
	return NULL;
}

/*
 * vhd_parse_check - see vdisk_impl.h: the fuzz target's entry point.
 */
int vhd_parse_check(const void *buf, size_t len, struct vdisk_error *err)
{
	struct vhd_src src = { .fd = -1, .buf = buf, .size = len,
			       .name = "<memory>" };
	uint64_t size;
	struct vhd *v;

	v = vhd_parse(&src, &size, err);
	if (!v)
		return -errno;
	vhd_free(v);
	return 0;
}

/*
 * vhd_probe - is this a VHD?  The cookie at the end (a bad checksum
 * there is a damaged VHD, for the parser to refuse by name, not a raw
 * disk whose metadata a guest could then overwrite), or a dynamic
 * disk's valid copy at offset 0 (its end damaged: the open says how).
 */
bool vhd_probe(int fd, const struct stat *st, enum vdisk_fmt *type)
{
	struct vhd_footer f;
	uint64_t size = st->st_size;

	if (!S_ISREG(st->st_mode) || size < 512)
		return false;
	if (vdisk_full_pread(fd, &f, 512, size - 512) ||
	    memcmp(f.cookie, VHD_COOKIE, 8)) {
		if (size < 1536 || vdisk_full_pread(fd, &f, 512, 0) ||
		    !vhd_footer_ok(&f) ||
		    be32toh(f.type) == VHD_TYPE_FIXED)
			return false;
	}
	switch (be32toh(f.type)) {
	case VHD_TYPE_FIXED:
		*type = VDISK_FMT_VHD_FIXED;
		return true;
	case VHD_TYPE_DYNAMIC:
		*type = VDISK_FMT_VHD_DYNAMIC;
		return true;
	case VHD_TYPE_DIFF:
		*type = VDISK_FMT_VHD_DIFF;
		return true;
	}
	/* A footer with a bad type: let the parser name the field. */
	*type = VDISK_FMT_VHD_FIXED;
	return true;
}

/* ---- opening ---- */

/* A locator path, made a Linux path: backslashes are separators. */
static char *vhd_loc_path(const char *dir, const char *p, bool relative)
{
	char *s, *out;

	s = strdup(p);
	if (!s)
		return NULL;
	for (char *c = s; *c; c++)
		if (*c == '\\')
			*c = '/';
	if (!relative || s[0] == '/')
		return s;
	if (!strncmp(s, "./", 2))
		memmove(s, s + 2, strlen(s + 2) + 1);
	if (asprintf(&out, "%s/%s", dir, s) < 0)
		out = NULL;
	free(s);
	return out;
}

/*
 * vhd_find_parent - the parent's path: the relative locator first (a
 * chain copied elsewhere keeps working), then the absolute one, the MacX
 * URL, then the parent name next to the child.
 * Returns 0 with d->parent_path set, or -ENOENT with @err naming the
 * paths tried.
 */
static int vhd_find_parent(struct vdisk *d, struct vhd *v,
			   struct vdisk_error *err)
{
	static const uint32_t order[] = { VHD_PLAT_W2RU, VHD_PLAT_W2KU,
					  VHD_PLAT_MACX };
	char *dcopy = strdup(d->path), *dir, tried[160] = "";

	if (!dcopy)
		return -ENOMEM;
	dir = dirname(dcopy);
	for (int o = 0; o < 4; o++) {
		for (int i = 0; i < 8; i++) {
			const char *p = o < 3 ? v->loc[i].path : v->parent_name;
			char *cand;

			if (o < 3 && v->loc[i].code != order[o])
				continue;
			if (o == 3 && i)
				break;
			if (!p)
				continue;
			cand = vhd_loc_path(dir, p, o != 1 && o != 2);
			if (!cand)
				continue;
			if (!access(cand, F_OK)) {
				d->parent_path = cand;
				free(dcopy);
				return 0;
			}
			if (!tried[0])
				snprintf(tried, sizeof(tried), "%s", cand);
			free(cand);
		}
	}
	vdisk_err(err, "%s: parent not found (parent locators and name tried%s%s)",
		  d->path, tried[0] ? ", first: " : "", tried);
	free(dcopy);
	return -ENOENT;
}

/*
 * vhd_open - parse the file of @d and take the state.
 * Returns 0 or -errno with @err set.
 */
static int vhd_open(struct vdisk *d, struct vdisk_error *err)
{
	struct vhd_src src = { .fd = d->mfd, .size = d->st.st_size,
			       .name = d->path };
	struct vhd *v;
	int ret;

	if (!S_ISREG(d->st.st_mode)) {
		vdisk_err(err, "%s: a VHD must be a regular file", d->path);
		return -EINVAL;
	}
	v = vhd_parse(&src, &d->size, err);
	if (!v)
		return -errno;
	d->priv = v;
	d->type = v->type == VHD_TYPE_FIXED ? VDISK_FMT_VHD_FIXED :
		  v->type == VHD_TYPE_DYNAMIC ? VDISK_FMT_VHD_DYNAMIC :
		  VDISK_FMT_VHD_DIFF;
	if (((struct vhd_footer *)v->foot)->saved_state && !d->rdonly &&
	    !(d->flags & VDISK_O_IGNORE_SAVED_STATE)) {
		vdisk_err(err, "%s: the saved-state flag is set (a virtual machine was suspended with this disk); open it read-only, resume and shut down that machine first, or override",
			  d->path);
		return -EBUSY;
	}
	if (v->type == VHD_TYPE_DIFF) {
		ret = vhd_find_parent(d, v, err);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * vhd_check_parent - the parent of @child must be a VHD with the unique
 * id and time stamp the child's header recorded.  The time stamp may be
 * the parent footer's (vmm, qemu-made chains) or the parent file's
 * modification time (the spec's "modification time stamp").
 * Returns 0 or -EINVAL with @err naming both files (VDISK_O_IGNORE_PARENT
 * skips the identity check, never the format check).
 */
int vhd_check_parent(struct vdisk *child, struct vdisk *parent,
		     struct vdisk_error *err)
{
	struct vhd *c = child->priv, *p = parent->priv;
	struct vhd_footer *pf;
	uint32_t ts, mtime;
	char cu[37], pu[37];

	if (parent->type == VDISK_FMT_RAW) {
		vdisk_err(err, "%s: its parent %s is not a VHD", child->path,
			  parent->path);
		return -EINVAL;
	}
	if (child->flags & VDISK_O_IGNORE_PARENT)
		return 0;
	pf = (struct vhd_footer *)p->foot;
	vhd_uuid_str(c->hdr.parent_uuid, cu);
	vhd_uuid_str(pf->uuid, pu);
	if (memcmp(c->hdr.parent_uuid, pf->uuid, 16)) {
		vdisk_err(err, "%s: parent unique id %s does not match %s's %s (the parent was replaced?); the ignore-parent override skips this check",
			  child->path, cu, parent->path, pu);
		return -EINVAL;
	}
	ts = be32toh(c->hdr.parent_ts);
	mtime = (uint32_t)(parent->st.st_mtime - VHD_EPOCH);
	if (ts != be32toh(pf->timestamp) && ts != mtime) {
		vdisk_err(err, "%s: parent time stamp %u matches neither %s's footer time stamp %u nor its modification time %u; the ignore-parent override skips this check",
			  child->path, ts, parent->path,
			  be32toh(pf->timestamp), mtime);
		return -EINVAL;
	}
	return 0;
}

static void vhd_close(struct vdisk *d)
{
	vhd_free(d->priv);
	d->priv = NULL;
}

static void vhd_info(struct vdisk *d, struct vdisk_info *in)
{
	struct vhd *v = d->priv;
	struct vhd_footer *f = (struct vhd_footer *)v->foot;

	in->block_size = v->block_size;
	in->max_blocks = v->max_entries;
	in->cylinders = be16toh(f->cyls);
	in->heads = f->heads;
	in->sectors = f->secs;
	memcpy(in->creator_app, f->creator_app, 4);
	in->creator_app[4] = 0;
	for (int i = 0; i < 4; i++)
		if (!in->creator_app[i])
			in->creator_app[i] = ' ';
	in->creator_version = be32toh(f->creator_version);
	vhd_uuid_str(f->uuid, in->uuid);
	in->saved_state = f->saved_state;
	in->timestamp = be32toh(f->timestamp);
	if (v->type == VHD_TYPE_FIXED)
		return;
	in->used_blocks = 0;
	for (uint32_t i = 0; i < v->max_entries; i++)
		in->used_blocks += v->bat[i] != VHD_UNALLOC;
	in->allocated = (uint64_t)in->used_blocks * v->block_size;
	if (in->allocated > d->size)
		in->allocated = d->size;
	if (v->type == VHD_TYPE_DIFF)
		vhd_uuid_str(v->hdr.parent_uuid, in->parent_uuid);
}

/* ---- mapping ---- */

/*
 * vhd_load_bitmap - read block @b's sector bitmap (once; synchronous,
 * through the page cache: a one-time cost per block, which keeps the
 * request path free of a second asynchronous stage).
 * Returns 0 or -errno.
 */
static int vhd_load_bitmap(struct vdisk *d, struct vhd *v, uint32_t b)
{
	uint8_t *bm;
	uint32_t s;
	int ret;

	bm = aligned_alloc(512, v->bm_bytes);
	if (!bm)
		return -ENOMEM;
	ret = vdisk_full_pread(d->mfd, bm, v->bm_bytes,
			       (uint64_t)v->bat[b] * VDISK_SECTOR);
	if (ret) {
		free(bm);
		return ret;
	}
	for (s = 0; s < v->spb && bm_test(bm, s); s++)
		;
	v->bitmap[b] = bm;
	v->bstate[b] = s == v->spb ? VHD_BS_FULL : VHD_BS_PARTIAL;
	return 0;
}

/*
 * vhd_map - where [off, off + len) starts (see struct vdisk_format).
 * Runs never cross a block.
 */
static int64_t vhd_map(struct vdisk *d, uint64_t off, uint64_t len,
		       bool write, struct vdisk_ext *ext)
{
	struct vhd *v = d->priv;
	uint32_t b, s0, ns, run;
	uint64_t inoff, n;
	int ret;

	if (v->type == VHD_TYPE_FIXED) {
		ext->kind = VDISK_EXT_DATA;
		ext->foff = off;
		return len;
	}
	b = off / v->block_size;
	inoff = off % v->block_size;
	n = v->block_size - inoff;
	if (n > len)
		n = len;
	if (b >= v->max_entries)
		return -EIO;
	if (v->bat[b] == VHD_UNALLOC) {
		ext->kind = write ? VDISK_EXT_SLOW :
			    v->type == VHD_TYPE_DIFF ? VDISK_EXT_PARENT :
			    VDISK_EXT_ZERO;
		return n;
	}
	if (v->bstate[b] == VHD_BS_UNKNOWN) {
		ret = vhd_load_bitmap(d, v, b);
		if (ret)
			return ret;
	}
	ext->foff = (uint64_t)v->bat[b] * VDISK_SECTOR + v->bm_bytes + inoff;
	if (v->bstate[b] == VHD_BS_FULL) {
		ext->kind = VDISK_EXT_DATA;
		return n;
	}
	s0 = inoff / VDISK_SECTOR;
	ns = n / VDISK_SECTOR;
	run = bm_run(v->bitmap[b], s0, ns);
	if (write) {
		ext->kind = bm_test(v->bitmap[b], s0) && run == ns ?
			    VDISK_EXT_DATA : VDISK_EXT_SLOW;
		return n;
	}
	if (bm_test(v->bitmap[b], s0))
		ext->kind = VDISK_EXT_DATA;
	else
		ext->kind = v->type == VHD_TYPE_DIFF ? VDISK_EXT_PARENT :
			    VDISK_EXT_ZERO;
	return (uint64_t)run * VDISK_SECTOR;
}

/* ---- writes that need metadata ---- */

static void vhd_alloc_start(struct vdisk *d);

/* Writes that waited for a block's allocation go again. */
static void vhd_wake(struct vhd *v)
{
	struct vsub *s = v->waitq;

	v->waitq = NULL;
	while (s) {
		struct vsub *next = (struct vsub *)s->op.next;

		vsub_restart(s);
		s = next;
	}
}

/* Stage 3 of a bitmap update: the bitmap sectors are written. */
static void vhd_bm_written(struct vop *op, int res)
{
	struct vsub *s = (struct vsub *)op;

	vsub_done(s, res < 0 ? res : 0);
}

/*
 * Stage 2: the data is stable (barrier); now the bitmap may say so.  The
 * bitmap is written from the live copy, so concurrent updates of one
 * bitmap sector each carry every bit set so far (bits only ever go
 * from 0 to 1).
 */
static void vhd_bm_synced(struct vop *op, int res)
{
	struct vsub *s = (struct vsub *)op;
	struct vdisk *d = s->d;
	struct vhd *v = d->priv;
	uint8_t *bm = v->bitmap[s->block];
	uint32_t s0 = (s->off % v->block_size) / VDISK_SECTOR;
	uint32_t s1 = s0 + s->len / VDISK_SECTOR, k;
	uint32_t sec0 = s0 / 8 / 512, sec1 = (s1 - 1) / 8 / 512;
	struct io_uring_sqe *sqe;

	if (res < 0) {
		vsub_done(s, res);
		return;
	}
	for (k = s0; k < s1; k++)
		bm_set(bm, k);
	for (k = 0; k < v->spb && bm_test(bm, k); k++)
		;
	if (k == v->spb)
		v->bstate[s->block] = VHD_BS_FULL;
	s->iov[0].iov_base = bm + sec0 * 512;
	s->iov[0].iov_len = (sec1 - sec0 + 1) * 512;
	s->op.cb = vhd_bm_written;
	sqe = vdisk_sqe(d);
	vdisk_prep_rw(d, sqe, true, true, s->iov, 1,
		      (uint64_t)v->bat[s->block] * VDISK_SECTOR + sec0 * 512,
		      &s->op);
}

/* Stage 1 done: the data is in the file; wait for it to be stable. */
static void vhd_bm_data_done(struct vop *op, int res)
{
	struct vsub *s = (struct vsub *)op;

	if (res >= 0 && (uint64_t)res != s->len)
		res = -EIO;
	if (res < 0) {
		vsub_done(s, res);
		return;
	}
	s->op.cb = vhd_bm_synced;
	vdisk_barrier(s->d, &s->op);
}

static void vhd_data_done(struct vop *op, int res)
{
	struct vsub *s = (struct vsub *)op;

	if (res >= 0 && (uint64_t)res != s->len)
		res = -EIO;
	vsub_done(s, res < 0 ? res : 0);
}

/*
 * vhd_write - a write piece inside block s->block that mapped SLOW: the
 * block is not allocated, or some of its sectors are not present yet.
 */
static void vhd_write(struct vdisk *d, struct vsub *s)
{
	struct vhd *v = d->priv;
	uint32_t b = s->off / v->block_size, s0, ns;
	struct io_uring_sqe *sqe;
	bool full;
	int ret;

	s->block = b;
	if (v->bstate[b] == VHD_BS_ALLOCATING) {
		s->op.next = (struct vop *)v->waitq;
		v->waitq = s;
		return;
	}
	if (v->bat[b] == VHD_UNALLOC) {
		/* Zeros over nothing in a dynamic disk: already zeros. */
		if (s->zero && v->type == VHD_TYPE_DYNAMIC) {
			vsub_done(s, 0);
			return;
		}
		v->bstate[b] = VHD_BS_ALLOCATING;
		s->op.next = NULL;
		*v->alloc_tail = s;
		v->alloc_tail = (struct vsub **)&s->op.next;
		if (!v->alloc_busy)
			vhd_alloc_start(d);
		return;
	}
	if (v->bstate[b] == VHD_BS_UNKNOWN) {
		ret = vhd_load_bitmap(d, v, b);
		if (ret) {
			vsub_done(s, ret);
			return;
		}
	}
	s0 = (s->off % v->block_size) / VDISK_SECTOR;
	ns = s->len / VDISK_SECTOR;
	full = v->bstate[b] == VHD_BS_FULL ||
	       (bm_test(v->bitmap[b], s0) && bm_run(v->bitmap[b], s0, ns) == ns);
	s->foff = (uint64_t)v->bat[b] * VDISK_SECTOR + v->bm_bytes +
		  s->off % v->block_size;
	/*
	 * Zeros into absent sectors of a dynamic disk need no bitmap
	 * change: absent sectors read zeros already.
	 */
	if (s->zero && v->type == VHD_TYPE_DYNAMIC)
		full = true;
	s->op.cb = full ? vhd_data_done : vhd_bm_data_done;
	sqe = vdisk_sqe(d);
	vdisk_prep_rw(d, sqe, true, false, s->iov, s->iovcnt, s->foff, &s->op);
}

/* An allocation failed: the block stays unallocated, the space leaks. */
static void vhd_alloc_fail(struct vsub *s, int res)
{
	struct vhd *v = s->d->priv;

	if (v->bitmap[s->block] != v->ones)
		free(v->bitmap[s->block]);
	v->bitmap[s->block] = NULL;
	v->bstate[s->block] = VHD_BS_UNKNOWN;
	vsub_done(s, res);
	vhd_wake(v);
}

/* Stage 4: the BAT entry is in the file; the block exists. */
static void vhd_alloc_bat_done(struct vop *op, int res)
{
	struct vsub *s = (struct vsub *)op;
	struct vhd *v = s->d->priv;
	uint32_t b = s->block;

	if (res >= 0 && res != 4)
		res = -EIO;
	if (res < 0) {
		vhd_alloc_fail(s, res);
		return;
	}
	v->bat[b] = s->foff / VDISK_SECTOR;
	v->bstate[b] = v->bitmap[b] == v->ones ? VHD_BS_FULL :
		       VHD_BS_PARTIAL;
	v->used_blocks++;
	vsub_done(s, 0);
	vhd_wake(v);
}

/*
 * Stage 3: block, bitmap and footer are stable (barrier); only now may
 * the BAT point at the block.
 */
static void vhd_alloc_synced(struct vop *op, int res)
{
	struct vsub *s = (struct vsub *)op;
	struct vhd *v = s->d->priv;
	struct io_uring_sqe *sqe;
	uint32_t be = htobe32(s->foff / VDISK_SECTOR);

	if (res < 0) {
		vhd_alloc_fail(s, res);
		return;
	}
	memcpy(s->be32, &be, 4);
	s->iov[0].iov_base = s->be32;
	s->iov[0].iov_len = 4;
	s->op.cb = vhd_alloc_bat_done;
	sqe = vdisk_sqe(s->d);
	vdisk_prep_rw(s->d, sqe, true, true, s->iov, 1,
		      v->table_off + (uint64_t)s->block * 4, &s->op);
}

/* Stage 2: one write of a batch completed. */
static void vhd_batch_op_done(struct vop *op, int res)
{
	struct vhd_batch *bt = ((struct vhd_bop *)op)->b;
	struct vdisk *d = bt->d;
	struct vhd *v = d->priv;

	if (res < 0 && !bt->err)
		bt->err = res;
	if (--bt->left)
		return;
	v->alloc_busy = false;
	for (int i = 0; i < bt->n; i++) {
		struct vsub *s = bt->subs[i];

		if (bt->err) {
			vhd_alloc_fail(s, bt->err);
			continue;
		}
		s->op.cb = vhd_alloc_synced;
		vdisk_barrier(d, &s->op);
	}
	free(bt);
	if (v->alloc_q && !v->alloc_busy)
		vhd_alloc_start(d);
}

/*
 * vhd_alloc_start - Stage 1 of allocating the queued blocks: place them
 * one after the other where the footer is, then, in one linked chain
 * the kernel runs in order, write the footer at the new end, then each
 * block's bitmap and data.  The footer goes first so that the file
 * always ends in a valid footer, whenever the process dies.
 */
static void vhd_alloc_start(struct vdisk *d)
{
	struct vhd *v = d->priv;
	struct vhd_batch *bt;
	struct io_uring_sqe *sqe;
	uint64_t span = (uint64_t)v->bm_bytes + v->block_size;
	int k = 0;

	/* Busy from here: failures below wake writers that queue again. */
	v->alloc_busy = true;
	bt = calloc(1, sizeof(*bt));
	if (!bt) {
		struct vsub *q = v->alloc_q;

		v->alloc_q = NULL;
		v->alloc_tail = &v->alloc_q;
		while (q) {
			struct vsub *s = q;

			q = (struct vsub *)s->op.next;
			vhd_alloc_fail(s, -ENOMEM);
		}
		v->alloc_busy = false;
		return;
	}
	bt->d = d;
	while (v->alloc_q && bt->n < VHD_ALLOC_BATCH) {
		struct vsub *s = v->alloc_q;
		uint32_t s0 = (s->off % v->block_size) / VDISK_SECTOR;
		uint32_t ns = s->len / VDISK_SECTOR;
		uint8_t *bm = v->ones;

		v->alloc_q = (struct vsub *)s->op.next;
		/*
		 * Dynamic: the rest of a new block is new file space, which
		 * reads zeros, so every sector can be marked present (as
		 * qemu and Hyper-V do) and later writes need no bitmap.
		 * Differencing: only the sectors written; the rest still
		 * comes from the parent.
		 */
		if (v->type == VHD_TYPE_DIFF && ns != v->spb) {
			bm = aligned_alloc(512, v->bm_bytes);
			if (!bm) {
				vhd_alloc_fail(s, -ENOMEM);
				continue;
			}
			memset(bm, 0, v->bm_bytes);
			for (uint32_t i = s0; i < s0 + ns; i++)
				bm_set(bm, i);
		}
		v->bitmap[s->block] = bm;
		s->foff = v->next_free;
		v->next_free += span;
		bt->subs[bt->n++] = s;
	}
	if (!v->alloc_q)
		v->alloc_tail = &v->alloc_q;
	if (!bt->n) {
		free(bt);
		v->alloc_busy = false;
		return;
	}
	bt->left = 1 + 2 * bt->n;
	/* The chain must not be cut by a submit in its middle. */
	if (io_uring_sq_space_left(&d->r->ring) < (unsigned int)bt->left)
		io_uring_submit(&d->r->ring);

	v->footer_pos = v->next_free;
	bt->iov[0].iov_base = v->foot;
	bt->iov[0].iov_len = 512;
	bt->ops[k].op.cb = vhd_batch_op_done;
	bt->ops[k].b = bt;
	sqe = vdisk_sqe(d);
	vdisk_prep_rw(d, sqe, true, true, &bt->iov[0], 1, v->footer_pos,
		      &bt->ops[k++].op);
	sqe->flags |= IOSQE_IO_LINK;
	for (int i = 0; i < bt->n; i++) {
		struct vsub *s = bt->subs[i];

		bt->iov[i + 1].iov_base = v->bitmap[s->block];
		bt->iov[i + 1].iov_len = v->bm_bytes;
		bt->ops[k].op.cb = vhd_batch_op_done;
		bt->ops[k].b = bt;
		sqe = vdisk_sqe(d);
		vdisk_prep_rw(d, sqe, true, true, &bt->iov[i + 1], 1, s->foff,
			      &bt->ops[k++].op);
		sqe->flags |= IOSQE_IO_LINK;
		bt->ops[k].op.cb = vhd_batch_op_done;
		bt->ops[k].b = bt;
		sqe = vdisk_sqe(d);
		vdisk_prep_rw(d, sqe, true, false, s->iov, s->iovcnt,
			      s->foff + v->bm_bytes + s->off % v->block_size,
			      &bt->ops[k++].op);
		if (i + 1 < bt->n)
			sqe->flags |= IOSQE_IO_LINK;
	}
	vdisk_kick(d);
}

const struct vdisk_format vdisk_vhd_format = {
	.name = "vhd",
	.open = vhd_open,
	.map = vhd_map,
	.write = vhd_write,
	.close = vhd_close,
	.info = vhd_info,
};

/* ---- creating ---- */

/*
 * vhd_make_footer - a footer for a new disk of @size bytes.
 * @force: keep @size exactly; otherwise @size must be CHS-exact.
 */
static void vhd_make_footer(struct vhd_footer *f, uint32_t type,
			    uint64_t size, bool cur_size_rule,
			    uint64_t data_offset)
{
	uint8_t u[16], h, s;
	uint16_t c;

	memset(f, 0, sizeof(*f));
	memcpy(f->cookie, VHD_COOKIE, 8);
	f->features = htobe32(VHD_FEATURES);
	f->version = htobe32(VHD_VERSION);
	f->data_offset = htobe64(data_offset);
	f->timestamp = htobe32((uint32_t)(time(NULL) - VHD_EPOCH));
	/*
	 * "vmm " when the geometry gives the size exactly; when it cannot
	 * (force_size), "win ": every reader (Hyper-V, qemu, us) then takes
	 * current_size, where a creator it does not know would make qemu
	 * and Virtual PC take the smaller CHS size.
	 */
	memcpy(f->creator_app, cur_size_rule ? "win " : "vmm ", 4);
	f->creator_version = htobe32(0x00010000);
	f->creator_os = htobe32(VHD_OS_WI2K);
	f->orig_size = htobe64(size);
	f->cur_size = htobe64(size);
	vhd_geometry(size / VDISK_SECTOR, &c, &h, &s);
	f->cyls = htobe16(c);
	f->heads = h;
	f->secs = s;
	f->type = htobe32(type);
	if (getrandom(u, 16, 0) != 16) {
		for (int i = 0; i < 16; i++)
			u[i] = rand();
	}
	u[6] = (u[6] & 0x0F) | 0x40;	/* RFC 4122 version 4 */
	u[8] = (u[8] & 0x3F) | 0x80;
	memcpy(f->uuid, u, 16);
	f->checksum = htobe32(vhd_checksum(f, 512, 64));
}

/*
 * vhd_round_size - the size a new disk gets: as qemu-img does, the
 * smallest CHS geometry holding @size (so that CHS and current_size
 * agree for every reader), unless @force or the geometry is at its
 * maximum (then @size as is, read through current_size).
 * Returns the size; *cur_rule says whether current_size must be used.
 */
static uint64_t vhd_round_size(uint64_t size, bool force, bool *cur_rule)
{
	uint64_t total = size / VDISK_SECTOR, chs;
	uint16_t c;
	uint8_t h, s;

	*cur_rule = false;
	if (total >= VHD_MAX_CHS) {
		vhd_geometry(total, &c, &h, &s);
		*cur_rule = true;	/* the geometry is at its maximum */
		return size;
	}
	for (uint64_t i = 0;; i++) {
		vhd_geometry(total + i, &c, &h, &s);
		chs = (uint64_t)c * h * s;
		if (chs >= total)
			break;
	}
	if (force) {
		*cur_rule = chs != total;
		return size;
	}
	return chs * VDISK_SECTOR;
}

/* The relative path from directory @from to file @to (both absolute). */
static char *vhd_relpath(const char *from, const char *to)
{
	size_t i = 0, common = 0;
	char *out;
	int ups = 0;

	while (from[i] && from[i] == to[i]) {
		if (from[i] == '/')
			common = i + 1;
		i++;
	}
	if (!from[i] && to[i] == '/')
		common = i + 1;
	if (!from[i] && !to[i])
		common = i;
	for (const char *p = from + common; *p; p++)
		if (*p == '/' || !p[1])
			ups += *p != '/' || p[1];
	if (from[common] && ups == 0)
		ups = 1;
	out = malloc(3 * ups + strlen(to) + 3);
	if (!out)
		return NULL;
	strcpy(out, ups ? "" : "./");
	for (int k = 0; k < ups; k++)
		strcat(out, "../");
	strcat(out, to + common);
	return out;
}

/*
 * vhd_create - a new fixed, dynamic or differencing VHD at @path.
 * Returns 0 or -errno with @err set.
 */
int vhd_create(const char *path, const struct vdisk_create_opts *o,
	       struct vdisk_error *err)
{
	struct vhd_footer f;
	struct vhd_header *h = NULL;
	struct vdisk *par = NULL;
	uint8_t *bat = NULL, *loc = NULL;
	char *abs_par = NULL, *rel = NULL, *cdir = NULL, *pc = NULL;
	uint64_t size = o->size, bat_bytes, loc_off, loc_bytes = 0, end;
	uint32_t bs = o->block_size ? o->block_size : VHD_BLOCK_DEFAULT;
	uint32_t entries, type;
	bool cur_rule = false;
	int fd = -1, ret = 0, n1 = 0, n2 = 0;

	type = o->fmt == VDISK_FMT_VHD_FIXED ? VHD_TYPE_FIXED :
	       o->fmt == VDISK_FMT_VHD_DYNAMIC ? VHD_TYPE_DYNAMIC :
	       VHD_TYPE_DIFF;
	if (type == VHD_TYPE_DIFF) {
		struct vhd *pv;

		if (!o->parent) {
			vdisk_err(err, "%s: a differencing disk needs a parent",
				  path);
			return -EINVAL;
		}
		ret = vdisk_open(&par, o->parent, VDISK_FMT_AUTO,
				 VDISK_O_RDONLY, err);
		if (ret)
			return ret;
		if (par->type == VDISK_FMT_RAW) {
			vdisk_err(err, "%s: parent %s is not a VHD (a differencing VHD's parent must be one)",
				  path, o->parent);
			ret = -EINVAL;
			goto out;
		}
		pv = par->priv;
		size = par->size;
		if (!o->block_size && pv->block_size)
			bs = pv->block_size;
	}
	if (!size || size % VDISK_SECTOR) {
		vdisk_err(err, "%s: size %llu is not a positive multiple of 512",
			  path, (unsigned long long)size);
		ret = -EINVAL;
		goto out;
	}
	if (size > VDISK_VHD_MAX_SIZE) {
		vdisk_err(err, "%s: size %llu is past the VHD limit of 2040 GiB",
			  path, (unsigned long long)size);
		ret = -EFBIG;
		goto out;
	}
	if (bs < VHD_BLOCK_MIN || bs > VHD_BLOCK_MAX || (bs & (bs - 1))) {
		vdisk_err(err, "%s: block size %u is not a power of two from 512 to 256 MiB",
			  path, bs);
		ret = -EINVAL;
		goto out;
	}
	size = vhd_round_size(size, o->force_size || type == VHD_TYPE_DIFF,
			      &cur_rule);
	if (size > VDISK_VHD_MAX_SIZE) {
		vdisk_err(err, "%s: size rounded to the disk geometry, %llu, is past the VHD limit of 2040 GiB",
			  path, (unsigned long long)size);
		ret = -EFBIG;
		goto out;
	}
	vhd_make_footer(&f, type, size, cur_rule,
			type == VHD_TYPE_FIXED ? VHD_NO_OFFSET : 512);

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		vdisk_err(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (type == VHD_TYPE_FIXED) {
		/* The data is a hole: zeros, no space taken. */
		ret = vdisk_full_pwrite(fd, &f, 512, size);
		goto sync;
	}

	entries = (size + bs - 1) / bs;
	bat_bytes = ((uint64_t)entries * 4 + 511) & ~511ull;
	loc_off = 1536 + bat_bytes;
	h = calloc(1, sizeof(*h));
	bat = malloc(bat_bytes);
	if (!h || !bat) {
		ret = -ENOMEM;
		goto fail;
	}
	memset(bat, 0xFF, bat_bytes);
	memcpy(h->cookie, VHD_DYN_COOKIE, 8);
	h->data_offset = htobe64(VHD_NO_OFFSET);
	h->table_offset = htobe64(1536);
	h->version = htobe32(VHD_VERSION);
	h->max_entries = htobe32(entries);
	h->block_size = htobe32(bs);
	if (type == VHD_TYPE_DIFF) {
		struct vhd *pv = par->priv;
		struct vhd_footer *pf = (struct vhd_footer *)pv->foot;
		char *base;

		memcpy(h->parent_uuid, pf->uuid, 16);
		h->parent_ts = pf->timestamp;
		abs_par = realpath(o->parent, NULL);
		cdir = strdup(path);
		if (!abs_par || !cdir) {
			ret = -errno;
			vdisk_err(err, "%s: %s: %s", path, o->parent,
				  strerror(errno));
			goto fail;
		}
		pc = realpath(dirname(cdir), NULL);
		rel = pc ? vhd_relpath(pc, abs_par) : NULL;
		base = strrchr(abs_par, '/') + 1;
		if (!rel ||
		    utf8_to_utf16(base, (uint8_t *)h->parent_name, 256,
				  true) < 0) {
			ret = -EINVAL;
			vdisk_err(err, "%s: parent name %s: not UTF-8 or longer than 256 UTF-16 units",
				  path, base);
			goto fail;
		}
		/* W2ku: the absolute path; W2ru: relative to the child. */
		loc = calloc(2, VHD_LOC_MAX);
		if (!loc) {
			ret = -ENOMEM;
			goto fail;
		}
		n1 = utf8_to_utf16(abs_par, loc, VHD_LOC_MAX / 2, false);
		n2 = utf8_to_utf16(rel, loc + VHD_LOC_MAX, VHD_LOC_MAX / 2,
				   false);
		if (n1 <= 0 || n2 <= 0) {
			ret = -EINVAL;
			vdisk_err(err, "%s: parent path %s is not UTF-8 or too long",
				  path, abs_par);
			goto fail;
		}
		{
			uint32_t sp1 = (2 * n1 + 511) & ~511u;
			uint32_t sp2 = (2 * n2 + 511) & ~511u;

			/*
			 * Platform data space in bytes, as Virtual PC and
			 * Hyper-V write it (the spec's text says sectors;
			 * readers use the length, not the space).
			 */
			h->loc[0] = (struct vhd_ploc){
				htobe32(VHD_PLAT_W2KU), htobe32(sp1),
				htobe32(2 * n1), 0, htobe64(loc_off) };
			h->loc[1] = (struct vhd_ploc){
				htobe32(VHD_PLAT_W2RU), htobe32(sp2),
				htobe32(2 * n2), 0,
				htobe64(loc_off + sp1) };
			loc_bytes = sp1 + sp2;
		}
	}
	h->checksum = htobe32(vhd_checksum(h, 1024, 36));
	end = loc_off + loc_bytes;
	ret = vdisk_full_pwrite(fd, &f, 512, 0);
	if (!ret)
		ret = vdisk_full_pwrite(fd, h, 1024, 512);
	if (!ret)
		ret = vdisk_full_pwrite(fd, bat, bat_bytes, 1536);
	if (!ret && loc_bytes) {
		uint32_t sp1 = be32toh(h->loc[0].space);

		ret = vdisk_full_pwrite(fd, loc, 2 * n1, loc_off);
		if (!ret)
			ret = vdisk_full_pwrite(fd, loc + VHD_LOC_MAX, 2 * n2,
						loc_off + sp1);
	}
	if (!ret)
		ret = vdisk_full_pwrite(fd, &f, 512, end);
sync:
	if (!ret && fsync(fd) < 0)
		ret = -errno;
fail:
	if (ret && !err->msg[0])
		vdisk_err(err, "%s: %s", path, strerror(-ret));
	close(fd);
	if (ret)
		unlink(path);
out:
	if (par)
		vdisk_close(par);
	free(h);
	free(bat);
	free(loc);
	free(abs_par);
	free(rel);
	free(cdir);
	free(pc);
	return ret;
}

/* ---- maintenance ---- */

static int vhd_u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * vhd_check - what the parser does not refuse but a check reports: a
 * damaged end footer or a stale copy (errors), space no BAT entry
 * points at and blocks whose bitmap marks nothing (leaks: what a crash
 * in the middle of an allocation leaves, harmless).
 * Returns 0 or -errno (the file could not be read).
 */
int vhd_check(struct vdisk *d, struct vdisk_check_result *res)
{
	struct vhd *v = d->priv;
	uint64_t span = (uint64_t)v->bm_bytes + v->block_size, *offs, pos;
	uint32_t n = 0, need;
	uint8_t *bm;
	int ret = 0;

	if (v->footer_from_copy) {
		res->errors++;
		vdisk_report(res, "%s: the footer at the end of the file is damaged; the copy at offset 0 was used\n",
			   d->path);
	} else if (v->footer_copy_differs) {
		res->errors++;
		vdisk_report(res, "%s: the footer copy at offset 0 differs from the footer at the end\n",
			   d->path);
	}
	if (v->type == VHD_TYPE_FIXED)
		return 0;
	need = (d->size + v->block_size - 1) / v->block_size;
	offs = calloc(v->max_entries + 1, sizeof(*offs));
	bm = malloc(v->bm_bytes);
	if (!offs || !bm) {
		free(offs);
		free(bm);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < v->max_entries; i++) {
		bool any = false;

		if (v->bat[i] == VHD_UNALLOC)
			continue;
		offs[n++] = (uint64_t)v->bat[i] * VDISK_SECTOR;
		if (i >= need) {
			res->leaks++;
			vdisk_report(res, "%s: BAT entry %u is past the end of the disk but allocated\n",
				   d->path, i);
		}
		ret = vdisk_full_pread(d->mfd, bm, v->bm_bytes,
				       (uint64_t)v->bat[i] * VDISK_SECTOR);
		if (ret)
			break;
		for (uint32_t s = 0; s < v->spb && !any; s++)
			any = bm_test(bm, s);
		if (!any) {
			res->leaks++;
			vdisk_report(res, "%s: block %u is allocated but its bitmap marks no sector\n",
				   d->path, i);
		}
	}
	/* Space between the metadata, the blocks and the footer. */
	qsort(offs, n, sizeof(*offs), vhd_u64cmp);
	pos = (v->meta_end + 511) & ~511ull;
	for (uint32_t i = 0; i <= n && !ret; i++) {
		uint64_t next = i < n ? offs[i] : v->footer_pos;

		if (next > pos && next - pos >= span) {
			res->leaks += (next - pos) / span;
			vdisk_report(res, "%s: %llu bytes at %llu belong to no block (an allocation a crash cut short?)\n",
				   d->path, (unsigned long long)(next - pos),
				   (unsigned long long)pos);
		}
		if (i < n)
			pos = offs[i] + span;
	}
	free(offs);
	free(bm);
	return ret;
}

/*
 * vhd_for_each_data - call @fn for each run of sectors @d holds itself
 * (allocated and marked in the bitmap), in order.
 * Returns 0, the first non-zero value of @fn, or -errno.
 */
int vhd_for_each_data(struct vdisk *d, vhd_run_fn_t fn, void *arg)
{
	struct vhd *v = d->priv;
	uint64_t off = 0;
	int ret;

	while (off < d->size) {
		struct vdisk_ext e;
		int64_t n = vhd_map(d, off, d->size - off, false, &e);

		if (n <= 0)
			return n < 0 ? n : -EIO;
		if (e.kind == VDISK_EXT_DATA) {
			ret = fn(arg, off, n, e.foff);
			if (ret)
				return ret;
		}
		off += n;
		/* Let the bitmaps of blocks already done go. */
		if (v->type != VHD_TYPE_FIXED && off % v->block_size == 0) {
			uint32_t b = off / v->block_size - 1;

			if (v->bitmap[b] && v->bitmap[b] != v->ones) {
				free(v->bitmap[b]);
				v->bitmap[b] = NULL;
				v->bstate[b] = VHD_BS_UNKNOWN;
			}
		}
	}
	return 0;
}

/*
 * vhd_new_size_footer - the footer of @v made for a disk of @size bytes:
 * current size, geometry, creator, checksum.  Returns 0.
 */
static int vhd_new_size_footer(struct vhd *v, uint64_t size)
{
	struct vhd_footer *f = (struct vhd_footer *)v->foot;
	uint8_t h, s;
	uint16_t c;

	f->cur_size = htobe64(size);
	vhd_geometry(size / VDISK_SECTOR, &c, &h, &s);
	f->cyls = htobe16(c);
	f->heads = h;
	f->secs = s;
	/*
	 * A size the geometry does not give must be read through
	 * current_size by every reader: "vmm " (known only to us) becomes
	 * "win ", as in vhd_make_footer().
	 */
	if ((!vhd_uses_current_size(f) ||
	     !memcmp(f->creator_app, "vmm ", 4)) &&
	    (uint64_t)c * f->heads * f->secs * VDISK_SECTOR != size)
		memcpy(f->creator_app, "win ", 4);
	f->checksum = htobe32(vhd_checksum(f, 512, 64));
	return 0;
}

/*
 * vhd_resize - grow (or, fixed only, shrink) a VHD.  Fixed: the footer
 * moves to the new end, written there before the old one is zeroed (a
 * crash leaves a valid disk of either size).  Dynamic: grows within the
 * BAT's room (entries or padding up to the next structure), else is
 * refused.  Differencing disks follow their parent: refused.
 * Returns 0 or -errno with @err set.
 */
int vhd_resize(struct vdisk *d, uint64_t new_size, bool shrink,
	       struct vdisk_error *err)
{
	struct vhd *v = d->priv;
	uint64_t old = d->size, room, lowest;
	uint32_t entries;
	int ret;

	if (new_size > VDISK_VHD_MAX_SIZE) {
		vdisk_err(err, "%s: %llu bytes is past the VHD limit of 2040 GiB",
			  d->path, (unsigned long long)new_size);
		return -EFBIG;
	}
	if (v->type == VHD_TYPE_DIFF) {
		vdisk_err(err, "%s: a differencing disk has its parent's size; resize the parent (not supported on a chain)",
			  d->path);
		return -EOPNOTSUPP;
	}
	if (new_size < old && v->type != VHD_TYPE_FIXED) {
		vdisk_err(err, "%s: shrinking a dynamic VHD is not supported",
			  d->path);
		return -EOPNOTSUPP;
	}
	(void)shrink;
	vhd_new_size_footer(v, new_size);
	if (v->type == VHD_TYPE_FIXED) {
		uint8_t zero[512] = { 0 };

		ret = vdisk_full_pwrite(d->mfd, v->foot, 512, new_size);
		if (!ret && fdatasync(d->mfd) < 0)
			ret = -errno;
		if (!ret && new_size > old)
			ret = vdisk_full_pwrite(d->mfd, zero, 512, old);
		if (!ret && ftruncate(d->mfd, new_size + 512) < 0)
			ret = -errno;
		goto out;
	}
	entries = (new_size + v->block_size - 1) / v->block_size;
	if (entries > v->max_entries) {
		/* Room after the BAT: up to the first thing that follows. */
		lowest = v->footer_pos;
		for (uint32_t i = 0; i < v->max_entries; i++)
			if (v->bat[i] != VHD_UNALLOC &&
			    (uint64_t)v->bat[i] * 512 < lowest)
				lowest = (uint64_t)v->bat[i] * 512;
		for (int i = 0; i < 8; i++) {
			uint64_t o = be64toh(v->hdr.loc[i].offset);

			if (v->hdr.loc[i].code && o > v->table_off && o < lowest)
				lowest = o;
		}
		if (be64toh(((struct vhd_footer *)v->foot)->data_offset) >
		    v->table_off)
			lowest = v->table_off;
		room = (lowest - v->table_off) / 4;
		if (entries > room) {
			vdisk_err(err, "%s: the BAT has room for %llu entries (%llu bytes of disk); growing further would need moving blocks, not supported",
				  d->path, (unsigned long long)room,
				  (unsigned long long)room * v->block_size);
			return -EOPNOTSUPP;
		}
		{
			uint32_t add = entries - v->max_entries;
			uint8_t *ff = malloc((size_t)add * 4);

			if (!ff)
				return -ENOMEM;
			memset(ff, 0xFF, (size_t)add * 4);
			ret = vdisk_full_pwrite(d->mfd, ff, (size_t)add * 4,
						v->table_off +
						(uint64_t)v->max_entries * 4);
			free(ff);
			if (ret)
				goto out;
		}
		v->hdr.max_entries = htobe32(entries);
		v->hdr.checksum = htobe32(vhd_checksum(&v->hdr, 1024, 36));
		ret = vdisk_full_pwrite(d->mfd, &v->hdr, 1024,
			be64toh(((struct vhd_footer *)v->foot)->data_offset));
		if (ret)
			goto out;
	}
	/* New entries first, header, then the footers: old size till then. */
	ret = vdisk_full_pwrite(d->mfd, v->foot, 512, v->footer_pos);
	if (!ret && fdatasync(d->mfd) < 0)
		ret = -errno;
	if (!ret)
		ret = vdisk_full_pwrite(d->mfd, v->foot, 512, 0);
out:
	if (!ret && fdatasync(d->mfd) < 0)
		ret = -errno;
	if (ret)
		vdisk_err(err, "%s: resize: %s", d->path, strerror(-ret));
	else
		d->size = new_size;
	return ret;
}
