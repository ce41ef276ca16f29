/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdisk internals: what the generic layer (vdisk.c) and the formats
 * (raw.c, vhd.c) share.  Nothing outside user/block/ includes this, except
 * the disk tests and the VHD parser's fuzz target (vhd_parse_check()).
 *
 * The model: a struct vdisk is one image file; a differencing VHD points
 * at its parent (opened read-only), and the whole chain shares one
 * io_uring owned by the top disk.  A format is the small table struct
 * vdisk_format: it maps a virtual range to where the data lives
 * (map), and, when a write needs metadata (a VHD block allocation, a
 * bitmap update), takes the write over (write).  Everything else (request
 * splitting, the ring, completions, flush, the sync helpers) is generic.
 */
#ifndef _VMM_VDISK_IMPL_H
#define _VMM_VDISK_IMPL_H

#include <liburing.h>
#include <stddef.h>
#include <sys/stat.h>

#include "vdisk.h"

struct vdisk;

/*
 * One operation on the ring.  Its address is the SQE's user_data; cb runs
 * from vdisk_poll() with the CQE's result.
 */
struct vop {
	void (*cb)(struct vop *op, int res);
	struct vop *next;	/* barrier and wait lists */
};

/* Per-request state of a request that needed splitting. */
struct vreq {
	struct vop op;		/* the NOP that completes an I/O-less request */
	struct vdisk_req *req;
	struct vdisk *d;	/* the top of the chain */
	int pending;		/* sub-requests outstanding, +1 while setting up */
	int err;
	struct iovec *ziov;	/* write-zeroes on VHD: iovecs of zeros */
};

/*
 * A piece of a request that lives in one place: one block of a VHD, one
 * run of a file.  The iovec slice is its own.
 */
struct vsub {
	struct vop op;
	struct vreq *vr;
	struct vdisk *d;	/* the layer it is for */
	uint64_t off;		/* virtual byte offset */
	uint64_t len;
	uint64_t foff;		/* file offset, once known */
	uint32_t block;		/* VHD block */
	int stage;		/* the format's state machine */
	bool zero;		/* write-zeroes: may be skipped if unallocated */
	uint8_t be32[4];	/* a BAT entry on its way to the file */
	int iovcnt;
	struct iovec iov[];
};

/* Where a virtual range's first run lives (struct vdisk_format.map). */
enum vdisk_ext_kind {
	VDISK_EXT_DATA,		/* in this layer's file at @foff */
	VDISK_EXT_ZERO,		/* reads as zeros */
	VDISK_EXT_PARENT,	/* in the parent */
	VDISK_EXT_SLOW,		/* write: needs the format's write() */
};

struct vdisk_ext {
	enum vdisk_ext_kind kind;
	uint64_t foff;
};

/*
 * The shared io_uring of a chain, owned by the top disk.  A barrier is an
 * fdatasync of the top file that waiters ride on: everything written
 * before it was issued is stable when its waiters run.
 */
struct vdisk_ring {
	struct io_uring ring;
	int efd;		/* eventfd registered with the ring */
	bool efd_used;		/* the user polls it: drain it in vdisk_poll */
	int in_poll;		/* nested submits are batched, not entered */
	int plugged;		/* vdisk_plug() depth */
	unsigned int completed;	/* user requests completed in this poll */
	unsigned int reqs;	/* user requests in flight */
	struct vop *bar_next;	/* waiting for the next fdatasync */
	struct vop *bar_cur;	/* riding on the fdatasync in flight */
	bool bar_busy;
	struct vop bar_op;
};

struct vdisk_format {
	const char *name;
	/*
	 * Read the image's metadata from d->fd (opened, fstat'ed in d->st)
	 * and fill d->size, d->type, d->priv, d->parent_path.  Returns 0 or
	 * -errno with @err naming the file and field.
	 */
	int (*open)(struct vdisk *d, struct vdisk_error *err);
	/*
	 * Map [off, off + len) for a read (@write false) or a write: fill
	 * @ext for the first run and return its length (> 0, <= len), or
	 * -errno.  A write maps DATA only when it needs no metadata.
	 */
	int64_t (*map)(struct vdisk *d, uint64_t off, uint64_t len, bool write,
		       struct vdisk_ext *ext);
	/* Take over a write sub-request that mapped SLOW; ends in vsub_done(). */
	void (*write)(struct vdisk *d, struct vsub *s);
	/* Free the format's state (the fd is the caller's). */
	void (*close)(struct vdisk *d);
	/* Fill the format-specific fields of @info. */
	void (*info)(struct vdisk *d, struct vdisk_info *info);
};

struct vdisk {
	const struct vdisk_format *fmt;
	enum vdisk_fmt type;
	char *path;
	int fd;			/* data (O_DIRECT with VDISK_O_DIRECT) */
	int mfd;		/* metadata: always through the page cache */
	int fidx;		/* registered file index */
	bool rdonly;
	bool direct;
	unsigned int flags;
	struct stat st;
	uint64_t size;		/* virtual size */
	void *priv;		/* the format's state */
	char *parent_path;	/* differencing: the parent found */
	struct vdisk *parent;
	struct vdisk *top;
	struct vdisk_ring *r;	/* the top's ring, shared down the chain */
	int depth;
};

extern const struct vdisk_format vdisk_raw_format;
extern const struct vdisk_format vdisk_vhd_format;

/* ---- vdisk.c helpers for the formats ---- */

void vdisk_err(struct vdisk_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct io_uring_sqe *vdisk_sqe(struct vdisk *d);
void vdisk_prep_rw(struct vdisk *d, struct io_uring_sqe *sqe, bool write,
		   bool meta, const struct iovec *iov, int iovcnt,
		   uint64_t foff, struct vop *op);
void vdisk_kick(struct vdisk *d);
void vdisk_barrier(struct vdisk *d, struct vop *waiter);
void vsub_done(struct vsub *s, int res);
void vsub_restart(struct vsub *s);
int vdisk_full_pread(int fd, void *buf, size_t len, uint64_t off);
int vdisk_full_pwrite(int fd, const void *buf, size_t len, uint64_t off);

/* ---- vhd.c entry points beyond the table ---- */

/*
 * The VHD parser on a memory image of a whole file (the fuzz target's
 * entry point): parses and validates footer, header, BAT, locators and
 * the bitmaps the BAT points at, exactly as vdisk_open() does, then frees
 * everything.  Writes nothing, opens nothing (parents are not followed).
 * Returns 0 for a valid image, -errno with @err set otherwise.
 */
int vhd_parse_check(const void *buf, size_t len, struct vdisk_error *err);
/* Is @fd's file a VHD?  Fills *type (fixed/dynamic/diff). */
bool vhd_probe(int fd, const struct stat *st, enum vdisk_fmt *type);
int vhd_create(const char *path, const struct vdisk_create_opts *o,
	       struct vdisk_error *err);
int vhd_check(struct vdisk *d, struct vdisk_check_result *res);
int vhd_resize(struct vdisk *d, uint64_t new_size, bool shrink,
	       struct vdisk_error *err);
/* A run of data a disk holds: @len bytes at virtual @off, file @foff. */
typedef int (*vhd_run_fn_t)(void *arg, uint64_t off, uint64_t len,
			  uint64_t foff);
/* Commit: call @fn for each run of data the disk itself holds. */
int vhd_for_each_data(struct vdisk *d, vhd_run_fn_t fn, void *arg);
int vhd_check_parent(struct vdisk *child, struct vdisk *parent,
		     struct vdisk_error *err);

int raw_create(const char *path, const struct vdisk_create_opts *o,
	       struct vdisk_error *err);
int raw_resize(struct vdisk *d, uint64_t new_size, bool shrink,
	       struct vdisk_error *err);

/* Appends a finding to a check report (vdisk.c); formats share it. */
void vdisk_report(struct vdisk_check_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* _VMM_VDISK_IMPL_H */
