// SPDX-License-Identifier: GPL-2.0
/*
 * vdisk: the generic half of the disk layer.  Opening (probe, parent
 * chains), the io_uring every chain shares, splitting requests into
 * pieces that each live in one place, completions, barriers, the sync
 * helpers and the maintenance entry points.  The formats (raw.c, vhd.c)
 * only say where data lives and take over writes that need metadata.
 *
 * The data path: a request whose whole range lives in one file extent
 * (any raw or fixed request, a VHD request inside one fully written
 * block) is one io_uring operation on the caller's iovecs, with its state
 * in req->priv: no allocation, no copy.  Anything else is split into
 * struct vsub pieces, one operation each.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <unistd.h>

#include "vdisk_impl.h"

#define VDISK_RING_ENTRIES	256
#define VDISK_ZERO_BUF		(64 * 1024)

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* The state of a one-operation request, kept in vdisk_req.priv. */
struct vfast {
	struct vop op;
	struct vdisk *d;	/* the layer the operation went to */
	uint64_t foff;		/* its file offset (short transfers) */
};
_Static_assert(sizeof(struct vfast) <= sizeof(((struct vdisk_req *)0)->priv),
	       "struct vfast must fit in vdisk_req.priv");

/* Zeros for write-zeroes on formats that must write them. */
static const uint8_t vdisk_zeros[VDISK_ZERO_BUF] __attribute__((aligned(4096)));

/*
 * vdisk_err - put a message in @err, if the caller gave one.
 * @err: may be NULL.
 * @fmt: printf format; the message should name the file and the field.
 */
void vdisk_err(struct vdisk_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/*
 * vdisk_full_pread - pread until @len bytes are in or EOF.
 * Returns 0 when all of @len was read, -EIO on a short file, -errno else.
 */
int vdisk_full_pread(int fd, void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf = (char *)buf + n;
		len -= n;
		off += n;
	}
	return 0;
}

/*
 * vdisk_full_pwrite - pwrite all of @len bytes.
 * Returns 0 or -errno.
 */
int vdisk_full_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf = (const char *)buf + n;
		len -= n;
		off += n;
	}
	return 0;
}

/* ---- names ---- */

static const char *const vdisk_fmt_names[] = {
	[VDISK_FMT_AUTO] = "auto",
	[VDISK_FMT_RAW] = "raw",
	[VDISK_FMT_VHD_FIXED] = "fixed",
	[VDISK_FMT_VHD_DYNAMIC] = "dynamic",
	[VDISK_FMT_VHD_DIFF] = "diff",
};

/*
 * vdisk_fmt_name - the short name of @fmt ("raw", "fixed", ...).
 * Returns a static string, "?" for a value out of range.
 */
const char *vdisk_fmt_name(enum vdisk_fmt fmt)
{
	if ((unsigned int)fmt >= sizeof(vdisk_fmt_names) / sizeof(char *))
		return "?";
	return vdisk_fmt_names[fmt];
}

/*
 * vdisk_fmt_parse - a format name to its enum.
 * @name: "raw", "fixed", "dynamic", "diff", or "vhd"/"auto" for a probe.
 * Returns 0 or -EINVAL.
 */
int vdisk_fmt_parse(const char *name, enum vdisk_fmt *fmt)
{
	static const struct {
		const char *name;
		enum vdisk_fmt fmt;
	} names[] = {
		{ "raw", VDISK_FMT_RAW }, { "fixed", VDISK_FMT_VHD_FIXED },
		{ "dynamic", VDISK_FMT_VHD_DYNAMIC },
		{ "diff", VDISK_FMT_VHD_DIFF },
		{ "differencing", VDISK_FMT_VHD_DIFF },
		{ "vhd", VDISK_FMT_AUTO }, { "vpc", VDISK_FMT_AUTO },
		{ "auto", VDISK_FMT_AUTO },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i].name)) {
			*fmt = names[i].fmt;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- opening ---- */

static void vdisk_free_layer(struct vdisk *d)
{
	if (d->fmt && d->fmt->close)
		d->fmt->close(d);
	if (d->mfd >= 0 && d->mfd != d->fd)
		close(d->mfd);
	if (d->fd >= 0)
		close(d->fd);
	free(d->parent_path);
	free(d->path);
	free(d);
}

static void vdisk_free_chain(struct vdisk *d)
{
	while (d) {
		struct vdisk *p = d->parent;

		vdisk_free_layer(d);
		d = p;
	}
}

/* The files of a chain being opened, to catch a parent loop. */
struct vdisk_seen {
	dev_t dev;
	ino_t ino;
	const struct vdisk_seen *next;
};

/*
 * vdisk_open_layer - open one image file and, for a differencing disk,
 * its parents, read-only.
 * @path: the file.  @fmt: VDISK_FMT_AUTO to probe.  @flags: VDISK_O_*.
 * @seen: the files of the chain above, for loop detection.
 * @depth: how many disks are above this one.
 * Returns the disk or NULL with errno set and @err filled.
 */
static struct vdisk *vdisk_open_layer(const char *path, enum vdisk_fmt fmt,
				      unsigned int flags,
				      const struct vdisk_seen *seen, int depth,
				      struct vdisk_error *err)
{
	enum vdisk_fmt want;
	struct vdisk_seen me;
	struct vdisk *d;
	int oflags, ret;

	d = calloc(1, sizeof(*d));
	if (d)
		d->path = strdup(path);
	if (!d || !d->path) {
		free(d);
		vdisk_err(err, "%s: out of memory", path);
		errno = ENOMEM;
		return NULL;
	}
	d->fd = d->mfd = -1;
	d->flags = flags;
	d->rdonly = flags & VDISK_O_RDONLY;
	d->direct = flags & VDISK_O_DIRECT;
	d->depth = depth;

	oflags = (d->rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	d->fd = open(path, oflags | (d->direct ? O_DIRECT : 0));
	if (d->fd < 0) {
		ret = -errno;
		vdisk_err(err, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(d->fd, &d->st) < 0) {
		ret = -errno;
		vdisk_err(err, "%s: fstat: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(d->st.st_mode) && !S_ISBLK(d->st.st_mode)) {
		ret = -EINVAL;
		vdisk_err(err, "%s: not a regular file or block device", path);
		goto fail;
	}
	for (const struct vdisk_seen *s = seen; s; s = s->next) {
		if (s->dev == d->st.st_dev && s->ino == d->st.st_ino) {
			ret = -ELOOP;
			vdisk_err(err, "%s: parent loop: this file is already in the chain",
				  path);
			goto fail;
		}
	}
	/* Metadata goes through the page cache even with O_DIRECT data. */
	if (d->direct) {
		d->mfd = open(path, oflags);
		if (d->mfd < 0) {
			ret = -errno;
			vdisk_err(err, "%s: %s", path, strerror(errno));
			goto fail;
		}
	} else {
		d->mfd = d->fd;
	}

	want = fmt;
	/* mfd: the probe's buffer is not aligned for O_DIRECT. */
	if (fmt == VDISK_FMT_AUTO && !vhd_probe(d->mfd, &d->st, &fmt))
		fmt = VDISK_FMT_RAW;
	d->type = fmt;
	d->fmt = fmt == VDISK_FMT_RAW ? &vdisk_raw_format : &vdisk_vhd_format;
	ret = d->fmt->open(d, err);
	if (ret < 0) {
		d->fmt = NULL;
		goto fail;
	}
	/* Asked for one VHD kind, found another: say so. */
	if (want != VDISK_FMT_AUTO && want != VDISK_FMT_RAW &&
	    want != d->type) {
		ret = -EINVAL;
		vdisk_err(err, "%s: is a %s disk, not %s", path,
			  vdisk_fmt_name(d->type), vdisk_fmt_name(want));
		goto fail;
	}

	/*
	 * A dynamic or differencing VHD keeps metadata (bitmaps, the BAT)
	 * in the same pages as data: buffered metadata writes racing direct
	 * data writes on one page can lose data in Linux, so these disks
	 * stay in the page cache.
	 */
	if (d->direct && d->type != VDISK_FMT_RAW &&
	    d->type != VDISK_FMT_VHD_FIXED) {
		close(d->fd);
		d->fd = d->mfd;
		d->direct = false;
	}
	if (d->parent_path) {
		me.dev = d->st.st_dev;
		me.ino = d->st.st_ino;
		me.next = seen;
		d->parent = vdisk_open_layer(d->parent_path, VDISK_FMT_AUTO,
					     (flags | VDISK_O_RDONLY),
					     &me, depth + 1, err);
		if (!d->parent) {
			ret = -errno;
			goto fail;
		}
		ret = vhd_check_parent(d, d->parent, err);
		if (ret < 0)
			goto fail;
	}
	return d;
fail:
	vdisk_free_chain(d);
	errno = -ret;
	return NULL;
}

/*
 * vdisk_ring_setup - the io_uring, registered files and eventfd of a
 * chain whose top is @d.
 * Returns 0 or -errno.
 */
static int vdisk_ring_setup(struct vdisk *d, struct vdisk_error *err)
{
	struct vdisk_ring *r;
	int fds[64], n = 0, ret;
	struct vdisk *l;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->efd = -1;
	ret = io_uring_queue_init(VDISK_RING_ENTRIES, &r->ring, 0);
	if (ret < 0) {
		vdisk_err(err, "%s: io_uring_queue_init: %s", d->path,
			  strerror(-ret));
		free(r);
		return ret;
	}
	for (l = d; l; l = l->parent) {
		l->r = r;
		l->top = d;
		l->fidx = -1;
		if (n < (int)(sizeof(fds) / sizeof(fds[0]))) {
			l->fidx = n;
			fds[n++] = l->fd;
		}
	}
	/* Registered files spare the fget/fput per operation. */
	if (io_uring_register_files(&r->ring, fds, n) < 0) {
		for (l = d; l; l = l->parent)
			l->fidx = -1;
	}
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0 || io_uring_register_eventfd(&r->ring, r->efd) < 0) {
		ret = r->efd < 0 ? -errno : -EINVAL;
		vdisk_err(err, "%s: eventfd: %s", d->path, strerror(-ret));
		if (r->efd >= 0)
			close(r->efd);
		io_uring_queue_exit(&r->ring);
		free(r);
		return ret;
	}
	return 0;
}

/*
 * vdisk_open - open an image (and its parents) for I/O.
 * @out: the disk.  @path: the file.  @fmt: VDISK_FMT_AUTO to probe.
 * @flags: VDISK_O_*.  @err: the reason on failure.
 * Returns 0 or -errno.
 */
int vdisk_open(struct vdisk **out, const char *path, enum vdisk_fmt fmt,
	       unsigned int flags, struct vdisk_error *err)
{
	struct vdisk *d;
	int ret;

	if (err)
		err->msg[0] = 0;
	d = vdisk_open_layer(path, fmt, flags, NULL, 0, err);
	if (!d)
		return -errno;
	ret = vdisk_ring_setup(d, err);
	if (ret < 0) {
		vdisk_free_chain(d);
		return ret;
	}
	*out = d;
	return 0;
}

/*
 * vdisk_close - wait for requests in flight, flush, close the chain.
 * Returns 0 or the first -errno met (the disk is closed in any case).
 */
int vdisk_close(struct vdisk *d)
{
	struct vdisk_ring *r = d->r;
	int ret = 0;

	while (r->reqs) {
		int n = vdisk_poll(d, 1);

		if (n < 0 && n != -EINTR) {
			ret = n;
			break;
		}
	}
	if (!d->rdonly && fdatasync(d->fd) < 0 && !ret)
		ret = -errno;
	io_uring_queue_exit(&r->ring);
	close(r->efd);
	free(r);
	vdisk_free_chain(d);
	return ret;
}

/*
 * vdisk_get_info - what vmm-img info shows.
 * Returns 0.
 */
int vdisk_get_info(struct vdisk *d, struct vdisk_info *info)
{
	struct stat st;

	memset(info, 0, sizeof(*info));
	info->fmt = d->type;
	info->size = d->size;
	if (fstat(d->fd, &st) == 0)
		d->st = st;
	info->file_size = d->st.st_size;
	info->allocated = d->size;
	info->depth = 0;
	for (struct vdisk *p = d->parent; p; p = p->parent)
		info->depth++;
	if (d->parent)
		snprintf(info->parent, sizeof(info->parent), "%s",
			 d->parent->path);
	if (d->fmt->info)
		d->fmt->info(d, info);
	return 0;
}

/* ---- creating ---- */

/*
 * vdisk_create - make a new image.
 * @path: the file (replaced if it exists).  @opts: format, size, parent.
 * Returns 0 or -errno with @err set.
 */
int vdisk_create(const char *path, const struct vdisk_create_opts *opts,
		 struct vdisk_error *err)
{
	if (err)
		err->msg[0] = 0;
	switch (opts->fmt) {
	case VDISK_FMT_RAW:
		return raw_create(path, opts, err);
	case VDISK_FMT_VHD_FIXED:
	case VDISK_FMT_VHD_DYNAMIC:
	case VDISK_FMT_VHD_DIFF:
		return vhd_create(path, opts, err);
	default:
		vdisk_err(err, "%s: no format given to create", path);
		return -EINVAL;
	}
}

/* ---- the ring ---- */

/*
 * vdisk_sqe - a free SQE of @d's ring, submitting what is queued when the
 * ring is full.  Never NULL: the CQ side cannot overflow (the kernel
 * keeps overflowed completions, IORING_FEAT_NODROP).
 */
struct io_uring_sqe *vdisk_sqe(struct vdisk *d)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&d->r->ring)))
		io_uring_submit(&d->r->ring);
	return sqe;
}

/*
 * vdisk_prep_rw - prepare a readv/writev of @iov at @foff in @d's file.
 * @meta: a metadata write: through the page-cache fd, never O_DIRECT.
 * @op: its completion.
 */
void vdisk_prep_rw(struct vdisk *d, struct io_uring_sqe *sqe, bool write,
		   bool meta, const struct iovec *iov, int iovcnt,
		   uint64_t foff, struct vop *op)
{
	int fd = meta ? d->mfd : d->fd;
	bool fixed = !meta || d->mfd == d->fd;

	if (fixed && d->fidx >= 0)
		fd = d->fidx;
	else
		fixed = false;
	if (write)
		io_uring_prep_writev(sqe, fd, iov, iovcnt, foff);
	else
		io_uring_prep_readv(sqe, fd, iov, iovcnt, foff);
	if (fixed)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, op);
}

/* Push queued SQEs to the kernel, unless vdisk_poll() will do it. */
void vdisk_kick(struct vdisk *d)
{
	if (!d->r->in_poll && !d->r->plugged)
		io_uring_submit(&d->r->ring);
}

/* vdisk_plug - queue submissions until vdisk_unplug() (see vdisk.h). */
void vdisk_plug(struct vdisk *d)
{
	d->r->plugged++;
}

/* vdisk_unplug - end a batch: enter the kernel once for all of it. */
void vdisk_unplug(struct vdisk *d)
{
	struct vdisk_ring *r = d->r;

	if (r->plugged && !--r->plugged && !r->in_poll &&
	    io_uring_sq_ready(&r->ring))
		io_uring_submit(&r->ring);
}

static void vdisk_prep_fsync(struct vdisk *top, struct vop *op)
{
	struct io_uring_sqe *sqe = vdisk_sqe(top);

	if (top->fidx >= 0) {
		io_uring_prep_fsync(sqe, top->fidx, IORING_FSYNC_DATASYNC);
		sqe->flags |= IOSQE_FIXED_FILE;
	} else {
		io_uring_prep_fsync(sqe, top->fd, IORING_FSYNC_DATASYNC);
	}
	io_uring_sqe_set_data(sqe, op);
}

static void vdisk_barrier_start(struct vdisk_ring *r, struct vdisk *top);

static void vdisk_barrier_done(struct vop *op, int res)
{
	struct vdisk_ring *r = container_of(op, struct vdisk_ring, bar_op);
	struct vop *w = r->bar_cur;
	struct vdisk *top = (struct vdisk *)op->next;

	r->bar_cur = NULL;
	r->bar_busy = false;
	while (w) {
		struct vop *next = w->next;

		w->cb(w, res);
		w = next;
	}
	/* A waiter may have started the next one already. */
	if (r->bar_next && !r->bar_busy)
		vdisk_barrier_start(r, top);
}

static void vdisk_barrier_start(struct vdisk_ring *r, struct vdisk *top)
{
	r->bar_busy = true;
	r->bar_cur = r->bar_next;
	r->bar_next = NULL;
	r->bar_op.cb = vdisk_barrier_done;
	r->bar_op.next = (struct vop *)top;	/* bar_op is never listed */
	vdisk_prep_fsync(top, &r->bar_op);
}

/*
 * vdisk_barrier - run @waiter's callback after an fdatasync of the top
 * file that was issued after this call: whatever completed before is then
 * stable.  Waiters that come while one fdatasync is in flight share the
 * next, so a queue of allocations costs one fdatasync, not one each.
 */
void vdisk_barrier(struct vdisk *d, struct vop *waiter)
{
	struct vdisk_ring *r = d->r;

	waiter->next = r->bar_next;
	r->bar_next = waiter;
	if (!r->bar_busy)
		vdisk_barrier_start(r, d->top);
}

/* ---- requests ---- */

/* The user's callback: the one place a request ends. */
static void vdisk_req_end(struct vdisk_ring *r, struct vdisk_req *req,
			  int res)
{
	r->reqs--;
	r->completed++;
	req->done(req, res);
}

static void iov_memset(const struct iovec *iov, int cnt, uint64_t skip,
		       uint64_t len)
{
	for (int i = 0; i < cnt && len; i++) {
		uint64_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len)
			l = len;
		memset((char *)iov[i].iov_base + skip, 0, l);
		len -= l;
		skip = 0;
	}
}

/* Copy the @len bytes at @skip of @src into @dst; returns the count. */
static int iov_slice(const struct iovec *src, int cnt, uint64_t skip,
		     uint64_t len, struct iovec *dst)
{
	int n = 0;

	for (int i = 0; i < cnt && len; i++) {
		uint64_t l = src[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len)
			l = len;
		dst[n].iov_base = (char *)src[i].iov_base + skip;
		dst[n++].iov_len = l;
		len -= l;
		skip = 0;
	}
	return n;
}

/*
 * vdisk_sync_rest - finish a transfer the kernel did short, synchronously
 * (rare: a file shorter than its metadata says, a signal).  A read past
 * the end of the file reads zeros.
 * Returns 0 or -errno.
 */
static int vdisk_sync_rest(struct vdisk *d, bool write,
			   const struct iovec *iov, int cnt, uint64_t done,
			   uint64_t len, uint64_t foff)
{
	int fd = d->direct ? d->mfd : d->fd;

	while (done < len) {
		struct iovec tmp[64];
		int n = iov_slice(iov, cnt, done, len - done, tmp);
		ssize_t k;

		if (n > 64)
			n = 64;
		k = write ? pwritev(fd, tmp, n, foff + done) :
			    preadv(fd, tmp, n, foff + done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0) {
			if (write)
				return -EIO;
			iov_memset(iov, cnt, done, len - done);
			return 0;
		}
		done += k;
	}
	return 0;
}

static void vreq_complete(struct vreq *vr)
{
	struct vdisk_ring *r = vr->d->r;
	struct vdisk_req *req = vr->req;
	int err = vr->err;

	free(vr->ziov);
	free(vr);
	vdisk_req_end(r, req, err);
}

static void vreq_nop_cb(struct vop *op, int res)
{
	(void)res;
	vreq_complete(container_of(op, struct vreq, op));
}

/*
 * vreq_put - drop one reference of @vr; the last ends the request.  The
 * setup reference (@setup) ends it through a NOP so that done() is only
 * ever called from vdisk_poll() and the eventfd fires.
 */
static void vreq_put(struct vreq *vr, bool setup)
{
	struct io_uring_sqe *sqe;

	if (--vr->pending)
		return;
	if (!setup) {
		vreq_complete(vr);
		return;
	}
	sqe = vdisk_sqe(vr->d);
	io_uring_prep_nop(sqe);
	vr->op.cb = vreq_nop_cb;
	io_uring_sqe_set_data(sqe, &vr->op);
}

/*
 * vsub_done - a piece of a request is over.
 * @res: 0 or -errno; the request reports the first error.
 */
void vsub_done(struct vsub *s, int res)
{
	struct vreq *vr = s->vr;

	if (res < 0 && !vr->err)
		vr->err = res;
	free(s);
	vreq_put(vr, false);
}

/* vsub_restart - run a write piece through its format again. */
void vsub_restart(struct vsub *s)
{
	s->d->fmt->write(s->d, s);
}

/* The iovecs a request's pieces slice: the caller's, or zeros. */
static int vreq_iovcnt(const struct vreq *vr)
{
	if (vr->ziov)
		return vr->req->len / VDISK_ZERO_BUF + 2;
	return vr->req->iovcnt;
}

/*
 * vsub_new - a piece of @vr: @len bytes at virtual @off, which are the
 * bytes at @pos of the request's iovecs, in @layer.
 * Returns NULL when out of memory.
 */
static struct vsub *vsub_new(struct vreq *vr, struct vdisk *layer,
			     uint64_t off, uint64_t len, uint64_t pos)
{
	const struct iovec *src = vr->ziov ? vr->ziov : vr->req->iov;
	int cnt = vreq_iovcnt(vr);
	struct vsub *s;

	s = malloc(sizeof(*s) + sizeof(struct iovec) * cnt);
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->vr = vr;
	s->d = layer;
	s->off = off;
	s->len = len;
	s->zero = !!vr->ziov;
	s->iovcnt = iov_slice(src, cnt, pos, len, s->iov);
	vr->pending++;
	return s;
}

/* A data piece's completion: finishes short transfers, then ends. */
static void vsub_io_cb(struct vop *op, int res)
{
	struct vsub *s = container_of(op, struct vsub, op);

	if (res >= 0 && (uint64_t)res < s->len)
		res = vdisk_sync_rest(s->d, s->stage, s->iov, s->iovcnt, res,
				      s->len, s->foff);
	vsub_done(s, res < 0 ? res : 0);
}

/* Queue a plain read or write of a piece at @foff in its layer. */
static void vsub_io(struct vsub *s, bool write, uint64_t foff)
{
	struct io_uring_sqe *sqe = vdisk_sqe(s->d);

	s->foff = foff;
	s->stage = write;
	s->op.cb = vsub_io_cb;
	vdisk_prep_rw(s->d, sqe, write, false, s->iov, s->iovcnt, foff,
		      &s->op);
}

/*
 * vdisk_resolve - find the layer of a chain that holds the first run of
 * [off, off + len) for a read.
 * Returns the run's length with *layer and @ext set, or -errno.
 */
static int64_t vdisk_resolve(struct vdisk *d, uint64_t off, uint64_t len,
			     struct vdisk **layer, struct vdisk_ext *ext)
{
	for (;;) {
		int64_t n;

		*layer = d;
		/* A parent smaller than its child: the rest reads zeros. */
		if (off >= d->size) {
			ext->kind = VDISK_EXT_ZERO;
			return len;
		}
		if (off + len > d->size)
			len = d->size - off;
		n = d->fmt->map(d, off, len, false, ext);
		if (n <= 0)
			return n < 0 ? n : -EIO;
		len = n;
		if (ext->kind != VDISK_EXT_PARENT)
			return len;
		if (!d->parent) {
			ext->kind = VDISK_EXT_ZERO;
			return len;
		}
		d = d->parent;
	}
}

static void vfast_cb(struct vop *op, int res)
{
	struct vdisk_req *req = (struct vdisk_req *)container_of(
		op, struct vdisk_req, priv[0]);
	struct vfast *f = (struct vfast *)req->priv;
	bool rw = req->op == VDISK_READ || req->op == VDISK_WRITE;

	if (rw && res >= 0 && (uint64_t)res < req->len)
		res = vdisk_sync_rest(f->d, req->op == VDISK_WRITE, req->iov,
				      req->iovcnt, res, req->len, f->foff);
	else if (!rw && res == -EOPNOTSUPP)
		/* No fallocate here (or a block device without it). */
		for (uint64_t o = 0; o < req->len; o += VDISK_ZERO_BUF) {
			uint64_t l = req->len - o;

			res = vdisk_full_pwrite(f->d->mfd, vdisk_zeros,
						l < VDISK_ZERO_BUF ? l :
						VDISK_ZERO_BUF, f->foff + o);
			if (res < 0)
				break;
		}
	vdisk_req_end(f->d->r, req, res < 0 ? res : 0);
}

/* A request that is one operation: its state lives in req->priv. */
static struct io_uring_sqe *vfast_prep(struct vdisk *layer,
				       struct vdisk_req *req, uint64_t foff)
{
	struct vfast *f = (struct vfast *)req->priv;
	struct io_uring_sqe *sqe = vdisk_sqe(layer);

	f->op.cb = vfast_cb;
	f->d = layer;
	f->foff = foff;
	io_uring_sqe_set_data(sqe, &f->op);
	return sqe;
}

static int vdisk_submit_slow(struct vdisk *d, struct vdisk_req *req)
{
	bool write = req->op != VDISK_READ;
	uint64_t off = req->offset, end = req->offset + req->len;
	struct vsub *run = NULL;
	struct vreq *vr;
	int ret = 0;

	vr = calloc(1, sizeof(*vr));
	if (!vr)
		return -ENOMEM;
	vr->req = req;
	vr->d = d;
	vr->pending = 1;
	if (req->op == VDISK_DISCARD || req->op == VDISK_WRITE_ZEROES) {
		int n = req->len / VDISK_ZERO_BUF + 2;

		vr->ziov = calloc(n, sizeof(*vr->ziov));
		if (!vr->ziov) {
			free(vr);
			return -ENOMEM;
		}
		for (int i = 0; i < n; i++) {
			vr->ziov[i].iov_base = (void *)vdisk_zeros;
			vr->ziov[i].iov_len = VDISK_ZERO_BUF;
		}
	}
	d->r->reqs++;

	while (off < end) {
		struct vdisk_ext ext;
		struct vdisk *layer = d;
		struct vsub *s;
		int64_t n;

		if (write)
			n = d->fmt->map(d, off, end - off, true, &ext);
		else
			n = vdisk_resolve(d, off, end - off, &layer, &ext);
		if (n <= 0) {
			ret = n < 0 ? n : -EIO;
			break;
		}
		if (ext.kind == VDISK_EXT_ZERO) {
			if (!write)
				iov_memset(req->iov, req->iovcnt,
					   off - req->offset, n);
			off += n;
			continue;
		}
		/* Contiguous runs of one file become one operation. */
		if (run && ext.kind == VDISK_EXT_DATA && run->d == layer &&
		    run->foff + run->len == ext.foff) {
			run->len += n;
			run->iovcnt = iov_slice(vr->ziov ? vr->ziov : req->iov,
						vreq_iovcnt(vr),
						run->off - req->offset,
						run->len, run->iov);
			off += n;
			continue;
		}
		if (run) {
			vsub_io(run, write, run->foff);
			run = NULL;
		}
		s = vsub_new(vr, layer, off, n, off - req->offset);
		if (!s) {
			ret = -ENOMEM;
			break;
		}
		if (ext.kind == VDISK_EXT_DATA) {
			s->foff = ext.foff;
			run = s;
		} else {
			d->fmt->write(d, s);
		}
		off += n;
	}
	if (run)
		vsub_io(run, write, run->foff);
	if (ret && !vr->err)
		vr->err = ret;
	vreq_put(vr, true);
	vdisk_kick(d);
	return 0;
}

static bool vdisk_req_valid(struct vdisk *d, const struct vdisk_req *req)
{
	uint64_t sum = 0;

	if ((req->offset | req->len) & (VDISK_SECTOR - 1) ||
	    req->offset > d->size || req->len > d->size - req->offset ||
	    !req->done)
		return false;
	if (req->op == VDISK_READ || req->op == VDISK_WRITE) {
		if (req->iovcnt < 0 || (req->iovcnt && !req->iov))
			return false;
		for (int i = 0; i < req->iovcnt; i++)
			sum += req->iov[i].iov_len;
		return sum == req->len;
	}
	return req->op <= VDISK_WRITE_ZEROES;
}

/*
 * vdisk_submit - queue a request (see vdisk.h).
 * Returns 0 (done() will be called from vdisk_poll()) or -errno.
 */
int vdisk_submit(struct vdisk *d, struct vdisk_req *req)
{
	struct io_uring_sqe *sqe;
	struct vdisk_ext ext;
	struct vdisk *layer;
	int64_t n;

	if (!vdisk_req_valid(d, req))
		return -EINVAL;
	if (d->rdonly && req->op != VDISK_READ && req->op != VDISK_FLUSH)
		return -EROFS;

	switch (req->op) {
	case VDISK_FLUSH:
		sqe = vfast_prep(d, req, 0);
		if (d->rdonly) {
			io_uring_prep_nop(sqe);
			break;
		}
		/*
		 * Every completed write has its metadata in the page cache:
		 * one fdatasync of the top file makes all of it stable.
		 */
		io_uring_prep_fsync(sqe, d->fidx >= 0 ? d->fidx : d->fd,
				    IORING_FSYNC_DATASYNC);
		if (d->fidx >= 0)
			sqe->flags |= IOSQE_FIXED_FILE;
		break;
	case VDISK_READ:
		if (!req->len)
			goto nop;
		n = vdisk_resolve(d, req->offset, req->len, &layer, &ext);
		if (n != (int64_t)req->len || ext.kind != VDISK_EXT_DATA)
			return vdisk_submit_slow(d, req);
		sqe = vfast_prep(layer, req, ext.foff);
		vdisk_prep_rw(layer, sqe, false, false, req->iov, req->iovcnt,
			      ext.foff, (struct vop *)req->priv);
		break;
	case VDISK_WRITE:
		if (!req->len)
			goto nop;
		n = d->fmt->map(d, req->offset, req->len, true, &ext);
		if (n != (int64_t)req->len || ext.kind != VDISK_EXT_DATA)
			return vdisk_submit_slow(d, req);
		sqe = vfast_prep(d, req, ext.foff);
		vdisk_prep_rw(d, sqe, true, false, req->iov, req->iovcnt,
			      ext.foff, (struct vop *)req->priv);
		break;
	case VDISK_DISCARD:
	case VDISK_WRITE_ZEROES:
		if (!req->len)
			goto nop;
		/* Raw and fixed VHD data is the file: let the fs zero it. */
		if (d->type != VDISK_FMT_RAW && d->type != VDISK_FMT_VHD_FIXED)
			return vdisk_submit_slow(d, req);
		n = d->fmt->map(d, req->offset, req->len, true, &ext);
		if (n != (int64_t)req->len || ext.kind != VDISK_EXT_DATA)
			return vdisk_submit_slow(d, req);
		sqe = vfast_prep(d, req, ext.foff);
		io_uring_prep_fallocate(sqe, d->mfd,
					FALLOC_FL_KEEP_SIZE |
					(req->op == VDISK_DISCARD ?
					 FALLOC_FL_PUNCH_HOLE :
					 FALLOC_FL_ZERO_RANGE),
					ext.foff, req->len);
		break;
	default:
		return -EINVAL;
	}
	d->r->reqs++;
	vdisk_kick(d);
	return 0;
nop:
	sqe = vfast_prep(d, req, 0);
	io_uring_prep_nop(sqe);
	d->r->reqs++;
	vdisk_kick(d);
	return 0;
}

/*
 * vdisk_poll - reap completions, call their callbacks.
 * @min_complete: user requests to wait for (0: only what is ready).
 * Returns the number of user requests completed, or -errno.
 */
int vdisk_poll(struct vdisk *d, unsigned int min_complete)
{
	struct vdisk_ring *r = d->r;
	unsigned int saved = r->completed;
	int ret = 0;

	r->in_poll++;
	r->completed = 0;
	if (r->efd_used) {
		uint64_t v;

		if (read(r->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			ret = -errno;
	}
	while (!ret) {
		struct io_uring_cqe *cqe;

		while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
			struct vop *op = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&r->ring, cqe);
			if (op)
				op->cb(op, res);
		}
		if (r->completed >= min_complete || !r->reqs)
			break;
		ret = io_uring_submit_and_wait(&r->ring, 1);
		if (ret == -EINTR || ret >= 0)
			ret = 0;
	}
	if (io_uring_sq_ready(&r->ring))
		io_uring_submit(&r->ring);
	r->in_poll--;
	if (ret)
		return ret;
	ret = r->completed;
	r->completed = saved + ret;
	if (!r->in_poll)
		r->completed = 0;
	return ret;
}

/*
 * vdisk_event_fd - the eventfd registered with the ring: readable when a
 * completion is waiting for vdisk_poll().
 */
int vdisk_event_fd(struct vdisk *d)
{
	d->r->efd_used = true;
	return d->r->efd;
}

/* ---- synchronous helpers ---- */

struct vdisk_sync {
	bool done;
	int res;
};

static void vdisk_sync_done(struct vdisk_req *req, int res)
{
	struct vdisk_sync *s = req->opaque;

	s->done = true;
	s->res = res;
}

static int vdisk_sync_req(struct vdisk *d, enum vdisk_op op, void *buf,
			  uint64_t len, uint64_t off)
{
	struct vdisk_sync s = { 0 };
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct vdisk_req req = {
		.op = op, .offset = off, .len = len, .iov = &iov,
		.iovcnt = buf ? 1 : 0, .done = vdisk_sync_done, .opaque = &s,
	};
	int ret;

	ret = vdisk_submit(d, &req);
	if (ret < 0)
		return ret;
	while (!s.done) {
		ret = vdisk_poll(d, 1);
		if (ret < 0 && ret != -EINTR)
			return ret;
	}
	return s.res;
}

/* vdisk_pread - read @len bytes at @off; returns 0 or -errno. */
int vdisk_pread(struct vdisk *d, void *buf, uint64_t len, uint64_t off)
{
	return vdisk_sync_req(d, VDISK_READ, buf, len, off);
}

/* vdisk_pwrite - write @len bytes at @off; returns 0 or -errno. */
int vdisk_pwrite(struct vdisk *d, const void *buf, uint64_t len,
		 uint64_t off)
{
	return vdisk_sync_req(d, VDISK_WRITE, (void *)buf, len, off);
}

/* vdisk_flush - make completed writes stable; returns 0 or -errno. */
int vdisk_flush(struct vdisk *d)
{
	return vdisk_sync_req(d, VDISK_FLUSH, NULL, 0, 0);
}

/* ---- maintenance ---- */

/* vdisk_report - append a line to a check report, while it has room. */
void vdisk_report(struct vdisk_check_result *res, const char *fmt, ...)
{
	size_t used = strlen(res->report);
	va_list ap;

	if (used + 1 >= sizeof(res->report))
		return;
	va_start(ap, fmt);
	vsnprintf(res->report + used, sizeof(res->report) - used, fmt, ap);
	va_end(ap);
}

/*
 * vdisk_check - check an image's structure (see vdisk.h).  A file the
 * parser refuses counts as one error, its reason the report line.
 * Returns 0 when the check ran (the findings are in @res), -errno when
 * the file could not be read at all.
 */
int vdisk_check(const char *path, struct vdisk_check_result *res,
		struct vdisk_error *err)
{
	struct vdisk_error e = { { 0 } };
	struct vdisk *d;
	int ret;

	memset(res, 0, sizeof(*res));
	if (err)
		err->msg[0] = 0;
	if (access(path, R_OK) < 0) {
		vdisk_err(err, "%s: %s", path, strerror(errno));
		return -errno;
	}
	ret = vdisk_open(&d, path, VDISK_FMT_AUTO, VDISK_O_RDONLY, &e);
	if (ret < 0) {
		res->errors++;
		vdisk_report(res, "%s\n", e.msg);
		return 0;
	}
	if (d->type != VDISK_FMT_RAW)
		ret = vhd_check(d, res);
	vdisk_close(d);
	if (ret < 0)
		vdisk_err(err, "%s: check: %s", path, strerror(-ret));
	return ret;
}

struct vdisk_commit_ctx {
	struct vdisk *child, *parent;
	void *buf;
	void (*progress)(uint64_t done, uint64_t total);
};

#define VDISK_COMMIT_CHUNK	(1024 * 1024)

static int vdisk_commit_run(void *arg, uint64_t off, uint64_t len,
			    uint64_t foff)
{
	struct vdisk_commit_ctx *c = arg;

	while (len) {
		uint64_t l = len < VDISK_COMMIT_CHUNK ? len : VDISK_COMMIT_CHUNK;
		int ret;

		ret = vdisk_full_pread(c->child->mfd, c->buf, l, foff);
		if (!ret)
			ret = vdisk_pwrite(c->parent, c->buf, l, off);
		if (ret)
			return ret;
		off += l;
		foff += l;
		len -= l;
		if (c->progress)
			c->progress(off, c->child->size);
	}
	return 0;
}

/*
 * vdisk_commit - write every sector a differencing disk holds into its
 * parent.  The child is left as it is: its sectors now equal the
 * parent's, so the chain reads the same; delete or recreate it at will.
 * Returns 0 or -errno with @err set.
 */
int vdisk_commit(const char *path, void (*progress)(uint64_t done,
						    uint64_t total),
		 struct vdisk_error *err)
{
	struct vdisk_commit_ctx c = { .progress = progress };
	int ret;

	ret = vdisk_open(&c.child, path, VDISK_FMT_AUTO, VDISK_O_RDONLY, err);
	if (ret < 0)
		return ret;
	if (c.child->type != VDISK_FMT_VHD_DIFF) {
		vdisk_err(err, "%s: not a differencing disk: nothing to commit",
			  path);
		vdisk_close(c.child);
		return -EINVAL;
	}
	ret = vdisk_open(&c.parent, c.child->parent->path, VDISK_FMT_AUTO, 0,
			 err);
	if (ret < 0) {
		vdisk_close(c.child);
		return ret;
	}
	c.buf = aligned_alloc(4096, VDISK_COMMIT_CHUNK);
	if (!c.buf) {
		ret = -ENOMEM;
		goto out;
	}
	ret = vhd_for_each_data(c.child, vdisk_commit_run, &c);
	if (!ret)
		ret = vdisk_flush(c.parent);
	if (ret < 0)
		vdisk_err(err, "%s: commit into %s: %s", path,
			  c.parent->path, strerror(-ret));
	else if (progress)
		progress(c.child->size, c.child->size);
out:
	free(c.buf);
	vdisk_close(c.parent);
	vdisk_close(c.child);
	return ret;
}

/*
 * vdisk_resize - change the virtual size of an image.
 * @shrink: allow cutting (raw, fixed VHD only).
 * Returns 0 or -errno with @err set.
 */
int vdisk_resize(const char *path, uint64_t new_size, bool shrink,
		 struct vdisk_error *err)
{
	struct vdisk *d;
	int ret;

	if (new_size % VDISK_SECTOR || !new_size) {
		vdisk_err(err, "%s: new size %llu is not a positive multiple of 512",
			  path, (unsigned long long)new_size);
		return -EINVAL;
	}
	ret = vdisk_open(&d, path, VDISK_FMT_AUTO, 0, err);
	if (ret < 0)
		return ret;
	if (new_size < d->size && !shrink) {
		vdisk_err(err, "%s: new size %llu is smaller than %llu: shrinking needs the shrink flag",
			  path, (unsigned long long)new_size,
			  (unsigned long long)d->size);
		ret = -EINVAL;
	} else if (d->type == VDISK_FMT_RAW) {
		ret = raw_resize(d, new_size, shrink, err);
	} else {
		ret = vhd_resize(d, new_size, shrink, err);
	}
	vdisk_close(d);
	return ret;
}
