/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdisk: the virtual-disk layer of vmm — raw files and Microsoft VHD
 * (fixed, dynamic, differencing), served asynchronously through io_uring.
 *
 * One small table per format (struct vdisk_format, vdisk_impl.h) sits
 * behind this interface; vmm-run's virtio-blk device and vmm-img use only
 * what is declared here.  Errors: functions return 0 or a negative errno;
 * where a message helps a person (a malformed file: which file, which
 * field), it is put in the caller's struct vdisk_error as well.
 *
 * Ordering guarantees to a guest (Documentation/disks.rst says why they
 * are safe): a request's completion means its data is in the host page
 * cache and every metadata change it needed (block allocation, bitmap,
 * BAT, footer) is ordered before it; VDISK_FLUSH completes only after
 * every write that completed before it was submitted is on stable storage
 * together with its metadata.  Requests in flight at the same time have
 * no order among themselves, as on a real disk.
 */
#ifndef _VMM_VDISK_H
#define _VMM_VDISK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define VDISK_SECTOR		512
#define VDISK_VHD_MAX_SIZE	(2040ULL << 30)	/* the VHD format's limit */

struct vdisk;

/* A human-readable reason for the last failure: names the file and field. */
struct vdisk_error {
	char msg[256];
};

enum vdisk_fmt {
	VDISK_FMT_AUTO = 0,	/* open: probe (a VHD footer, else raw) */
	VDISK_FMT_RAW,
	VDISK_FMT_VHD_FIXED,
	VDISK_FMT_VHD_DYNAMIC,
	VDISK_FMT_VHD_DIFF,
};

/* vdisk_open() flags */
#define VDISK_O_RDONLY		(1u << 0)
/* Open a differencing disk although its parent's UUID/timestamp differ. */
#define VDISK_O_IGNORE_PARENT	(1u << 1)
/* O_DIRECT on the image files (default: the page cache). */
#define VDISK_O_DIRECT		(1u << 2)
/*
 * Open a VHD read-write although its saved-state flag is set (the
 * suspended machine's state is then stale: the user says so).
 */
#define VDISK_O_IGNORE_SAVED_STATE	(1u << 3)

struct vdisk_info {
	enum vdisk_fmt fmt;
	uint64_t size;			/* virtual size in bytes */
	uint64_t file_size;		/* bytes the image file takes */
	uint64_t allocated;		/* bytes of virtual disk backed by data */
	uint32_t block_size;		/* dynamic/diff: bytes per block */
	uint32_t max_blocks;		/* BAT entries */
	uint32_t used_blocks;
	uint16_t cylinders;		/* VHD CHS geometry */
	uint8_t heads, sectors;
	char creator_app[5];		/* VHD "vpc ", "win ", "qemu", "vmm " */
	uint32_t creator_version;
	char uuid[37];			/* VHD unique id, text */
	bool saved_state;
	uint32_t timestamp;		/* VHD seconds since 2000-01-01 UTC */
	char parent[4096];		/* differencing: the parent opened */
	char parent_uuid[37];
	int depth;			/* chain length below this disk */
};

/* ---- opening, creating ---- */

int vdisk_open(struct vdisk **out, const char *path, enum vdisk_fmt fmt,
	       unsigned int flags, struct vdisk_error *err);
/* Waits for requests in flight, flushes, closes the chain. */
int vdisk_close(struct vdisk *d);
int vdisk_get_info(struct vdisk *d, struct vdisk_info *info);

struct vdisk_create_opts {
	enum vdisk_fmt fmt;
	uint64_t size;		/* bytes; ignored for a differencing disk */
	uint32_t block_size;	/* dynamic/diff; 0: 2 MiB */
	const char *parent;	/* differencing: the parent image */
	/*
	 * VHD: take the size exactly (current_size) rather than rounding
	 * to the CHS geometry, as qemu-img's force_size does.
	 */
	bool force_size;
};

int vdisk_create(const char *path, const struct vdisk_create_opts *opts,
		 struct vdisk_error *err);

/* ---- asynchronous I/O ---- */

enum vdisk_op {
	VDISK_READ,
	VDISK_WRITE,
	VDISK_FLUSH,
	VDISK_DISCARD,		/* may free space; reads then return zeros */
	VDISK_WRITE_ZEROES,
};

struct vdisk_req {
	enum vdisk_op op;
	uint64_t offset;	/* bytes, a multiple of VDISK_SECTOR */
	uint64_t len;		/* bytes, a multiple of VDISK_SECTOR */
	const struct iovec *iov;	/* READ/WRITE: len bytes in all */
	int iovcnt;
	/* Called from vdisk_poll() with 0 or -errno; may submit again. */
	void (*done)(struct vdisk_req *req, int result);
	void *opaque;
	/* Private to vdisk from here on. */
	uint64_t priv[8];
};

/*
 * Queue a request.  Returns 0 (done() will be called exactly once) or
 * -errno without calling done(): -EINVAL for a misaligned or out-of-range
 * request, -EROFS for a write to a read-only disk.
 */
int vdisk_submit(struct vdisk *d, struct vdisk_req *req);
/*
 * Reap completions and call their done() callbacks.  Waits for at least
 * @min_complete (0: only what is ready).  Returns the number completed or
 * -errno.
 */
int vdisk_poll(struct vdisk *d, unsigned int min_complete);
/* An fd that becomes readable when vdisk_poll() has work (eventfd). */
int vdisk_event_fd(struct vdisk *d);
/*
 * Batch submissions: between vdisk_plug() and vdisk_unplug(), requests
 * are queued but the kernel is entered once, at vdisk_unplug() (or at the
 * next vdisk_poll()).  Nests.  Optional: without it each vdisk_submit()
 * enters the kernel (callbacks run by vdisk_poll() are always batched).
 */
void vdisk_plug(struct vdisk *d);
void vdisk_unplug(struct vdisk *d);

/* ---- synchronous helpers (tools, tests), built on the above ---- */

int vdisk_pread(struct vdisk *d, void *buf, uint64_t len, uint64_t off);
int vdisk_pwrite(struct vdisk *d, const void *buf, uint64_t len,
		 uint64_t off);
int vdisk_flush(struct vdisk *d);

/* ---- maintenance (vmm-img) ---- */

struct vdisk_check_result {
	unsigned int errors;		/* corruptions: data at risk */
	unsigned int leaks;		/* allocated space nothing points at */
	char report[4096];		/* one line per finding */
};

/* Structure, overlaps, bitmap/BAT consistency, leaked blocks. */
int vdisk_check(const char *path, struct vdisk_check_result *res,
		struct vdisk_error *err);
/* Merge a differencing disk's data into its parent. */
int vdisk_commit(const char *path, void (*progress)(uint64_t done,
						    uint64_t total),
		 struct vdisk_error *err);
/* Grow (or, with @shrink, cut) the virtual size. */
int vdisk_resize(const char *path, uint64_t new_size, bool shrink,
		 struct vdisk_error *err);

const char *vdisk_fmt_name(enum vdisk_fmt fmt);
/* "raw", "fixed", "dynamic", "diff" (and "vhd" for auto) -> enum. */
int vdisk_fmt_parse(const char *name, enum vdisk_fmt *fmt);

#endif /* _VMM_VDISK_H */
