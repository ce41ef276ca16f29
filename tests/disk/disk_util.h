/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the disk layer's tests (tests/disk/, *_test.c): scratch
 * directories, reproducible random data, running qemu-img and vmm-img,
 * comparing a vdisk with a raw mirror, and editing VHD structures by hand
 * (big-endian fields, checksums) to make broken images.
 */
#ifndef _VMM_DISK_UTIL_H
#define _VMM_DISK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "block/vdisk.h"

#define KiB	1024ULL
#define MiB	(1024ULL * KiB)
#define GiB	(1024ULL * MiB)

/* Where the build put vmm-img (disk.mk passes it; empty: not built). */
#ifndef VMM_IMG
#define VMM_IMG ""
#endif
/* The source tree, for Documentation/disks.rst and the corpus. */
#ifndef VMM_SRCDIR
#define VMM_SRCDIR "."
#endif

/* ---- scratch files ---- */

/* A fresh directory under $TMPDIR (or /tmp); 0 or -errno. */
int tdir_make(char *dir, size_t n, const char *tag);
void tdir_remove(const char *dir);
/* @dir/@name into a static ring of buffers (a few live at once). */
const char *tpath(const char *dir, const char *name);

int file_write(const char *path, const void *buf, size_t len);
/* The whole file in a malloc'd buffer; -errno on failure. */
int file_read(const char *path, uint8_t **buf, size_t *len);
int file_pwrite(const char *path, const void *buf, size_t len, uint64_t off);
int file_truncate(const char *path, uint64_t len);
/* A digest of contents and size: "the file did not change". */
int file_digest(const char *path, uint64_t digest[2]);
uint64_t file_size(const char *path);

/* ---- random data: xorshift64*, reproducible from a seed ---- */

uint64_t rnd_next(uint64_t *state);
/* A uniform value in [0, n). */
uint64_t rnd_below(uint64_t *state, uint64_t n);
void rnd_fill(void *buf, size_t len, uint64_t seed);

/* ---- external programs ---- */

/*
 * Run a shell command line built from @fmt; its output (stdout and
 * stderr) goes to @out (NUL-terminated, truncated) when @out is not
 * NULL.  Returns the exit status, 128 + signal if it was killed, or -1.
 */
int run_cmd(char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool have_prog(const char *name);
/* Inline: VMM_IMG is the including test's, built after vmm-img.c. */
static inline bool have_vmm_img(void)
{
	return VMM_IMG[0] && access(VMM_IMG, X_OK) == 0;
}
/* qemu-img's idea of a VHD's virtual size (-f vpc). */
int qemu_vpc_size(const char *path, uint64_t *size);

/* ---- comparing ---- */

/*
 * Read the whole disk through @d and compare it with @mirror (@size
 * bytes).  Returns 0 when equal; else the first differing offset is in
 * @bad and the result is 1, or -errno when a read failed.
 */
int vd_compare_buf(struct vdisk *d, const uint8_t *mirror, uint64_t size,
		   uint64_t *bad);
/* The same against a raw file (its length is the size compared). */
int vd_compare_file(struct vdisk *d, const char *raw, uint64_t *bad);
/* Open @path (auto-detected, read-only) and compare with @raw. */
int vd_compare_path(const char *path, const char *raw, uint64_t *bad,
		    char *why, size_t whylen);

/* ---- VHD structures, big-endian ---- */

#define VHD_FOOTER_SIZE		512
#define VHD_HEADER_SIZE		1024
#define VHD_FTR_DATA_OFFSET	16
#define VHD_FTR_CREATOR_APP	28
#define VHD_FTR_ORIG_SIZE	40
#define VHD_FTR_CUR_SIZE	48
#define VHD_FTR_GEOMETRY	56
#define VHD_FTR_TYPE		60
#define VHD_FTR_CHECKSUM	64
#define VHD_FTR_UUID		68
#define VHD_FTR_SAVED		84
#define VHD_HDR_TABLE_OFFSET	16
#define VHD_HDR_VERSION		24
#define VHD_HDR_MAX_ENTRIES	28
#define VHD_HDR_BLOCK_SIZE	32
#define VHD_HDR_CHECKSUM	36
#define VHD_HDR_PARENT_UUID	40
#define VHD_HDR_PARENT_NAME	64
#define VHD_HDR_LOCATORS	576

uint16_t be16_get(const uint8_t *p);
uint32_t be32_get(const uint8_t *p);
uint64_t be64_get(const uint8_t *p);
void be32_put(uint8_t *p, uint32_t v);
void be64_put(uint8_t *p, uint64_t v);
/* Recompute the checksum at @csum_off of a @len-byte structure. */
void vhd_fix_checksum(uint8_t *buf, size_t len, size_t csum_off);

/* A dynamic/diff image's layout, read from the file by hand. */
struct vhd_layout {
	uint64_t file_size;
	uint64_t header_off;	/* the dynamic header */
	uint64_t bat_off;
	uint32_t max_entries;
	uint32_t block_size;
	uint32_t bat[4096];	/* the first entries, host order */
};

int vhd_read_layout(const char *path, struct vhd_layout *l);

#endif /* _VMM_DISK_UTIL_H */

/* ---- a disk of each kind, with a mirror of what it holds ---- */

struct disk_kind {
	const char *name;
	enum vdisk_fmt fmt;	/* of the top image */
	int depth;		/* differencing: layers above the base */
	uint32_t block_size;	/* 0: the layer's default */
	bool force_size;
	unsigned int open_flags;	/* e.g. VDISK_O_DIRECT */
};

/*
 * Create a disk of @kind named "top.img" in @dir (differencing: a
 * dynamic base "l0.vhd", then "l1.vhd"...; the lower layers get random
 * data written through vdisk).  *@mirror (malloc'd, *@size bytes) holds
 * what the disk must read.  @why gets the reason on failure.
 */
int disk_make(const struct disk_kind *kind, const char *dir, uint64_t want,
	      uint8_t **mirror, uint64_t *size, char *top, size_t toplen,
	      char *why, size_t whylen);
