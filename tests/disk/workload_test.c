// SPDX-License-Identifier: GPL-2.0
/*
 * Random read/write/flush/discard/write-zeroes workloads through every
 * format (raw, fixed, dynamic, differencing chains of depth 1-3), many
 * requests in flight through vdisk_submit()/vdisk_poll(), checked against
 * a mirror in memory written with the same data: every read as it
 * completes, the whole disk after a reopen, and (fixed, dynamic) through
 * qemu-img compare against the mirror written out as a raw file.
 *
 * Requests in flight never overlap one another (a real disk gives them
 * no order), so the mirror is exact.  Completions submit the next
 * request from the callback, as a device model does.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "disk_util.h"

#define WL_DEPTH	32
#define WL_MAX_LEN	(4 * MiB)
#define WL_MAX_IOV	8

struct wl;

struct wl_slot {
	struct vdisk_req req;
	struct iovec iov[WL_MAX_IOV];
	uint8_t *buf;
	bool busy;
	struct wl *wl;
};

struct wl {
	struct vdisk *d;
	uint8_t *mirror;
	uint64_t size;
	uint32_t block;		/* a boundary to aim requests at */
	uint64_t rng;
	unsigned int depth, inflight;
	long todo;
	struct wl_slot slot[WL_DEPTH];
	int failed;
	char why[512];
	unsigned long count[5];
	unsigned long unsupported;
};

static void wl_fail(struct wl *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void wl_fail(struct wl *w, const char *fmt, ...)
{
	va_list ap;

	if (w->failed++)
		return;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
}

static bool wl_overlaps(struct wl *w, uint64_t off, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < w->depth; i++) {
		struct vdisk_req *r = &w->slot[i].req;

		if (!w->slot[i].busy || r->op == VDISK_FLUSH)
			continue;
		if (off < r->offset + r->len && r->offset < off + len)
			return true;
	}
	return false;
}

/* Sizes from a sector to 4 MiB, often at or across a block boundary. */
static void wl_extent(struct wl *w, uint64_t *off, uint64_t *len)
{
	uint64_t s = rnd_below(&w->rng, 100), l;

	if (s < 30)
		l = (1 + rnd_below(&w->rng, 8)) * 512;
	else if (s < 60)
		l = (1 + rnd_below(&w->rng, 16)) * 4096;
	else if (s < 90)
		l = (1 + rnd_below(&w->rng, 2048)) * 512;
	else
		l = (1 + rnd_below(&w->rng, WL_MAX_LEN / 512)) * 512;
	if (l > w->size)
		l = w->size;
	if (rnd_below(&w->rng, 3) == 0 && w->size > w->block) {
		uint64_t b = w->block * (1 + rnd_below(&w->rng,
						 w->size / w->block));
		uint64_t back = rnd_below(&w->rng, l / 512 + 1) * 512;

		*off = b > back ? b - back : 0;
		if (*off + l > w->size)
			*off = w->size - l;
	} else {
		*off = rnd_below(&w->rng, (w->size - l) / 512 + 1) * 512;
	}
	*len = l;
}

/* Cut @len bytes of @buf into 1-8 pieces of whole sectors. */
static int wl_iov(struct wl *w, struct iovec *iov, uint8_t *buf, uint64_t len)
{
	int n = 1 + rnd_below(&w->rng, WL_MAX_IOV), i;
	uint64_t left = len, piece;

	for (i = 0; i < n - 1 && left > 512; i++) {
		piece = (1 + rnd_below(&w->rng, left / 512 - 1 + 1)) * 512;
		if (piece >= left)
			piece = left - 512;
		if (!piece)
			break;
		iov[i].iov_base = buf + (len - left);
		iov[i].iov_len = piece;
		left -= piece;
	}
	iov[i].iov_base = buf + (len - left);
	iov[i].iov_len = left;
	return i + 1;
}

static void wl_done(struct vdisk_req *req, int result);
static void wl_fill(struct wl *w);

static int wl_submit_one(struct wl *w, struct wl_slot *sl)
{
	struct vdisk_req *r = &sl->req;
	uint64_t off, len, p = rnd_below(&w->rng, 100);
	int tries, ret;

	memset(r, 0, sizeof(*r));
	r->done = wl_done;
	r->opaque = sl;
	if (p < 5) {
		r->op = VDISK_FLUSH;
	} else {
		for (tries = 0; tries < 16; tries++) {
			wl_extent(w, &off, &len);
			if (!wl_overlaps(w, off, len))
				break;
		}
		if (tries == 16)
			return -EAGAIN;
		r->offset = off;
		r->len = len;
		if (p < 50) {
			r->op = VDISK_READ;
			memset(sl->buf, 0xa5, len);
		} else if (p < 90) {
			r->op = VDISK_WRITE;
			rnd_fill(sl->buf, len, rnd_next(&w->rng));
		} else if (p < 95) {
			r->op = VDISK_DISCARD;
		} else {
			r->op = VDISK_WRITE_ZEROES;
		}
		if (r->op == VDISK_READ || r->op == VDISK_WRITE) {
			r->iov = sl->iov;
			r->iovcnt = wl_iov(w, sl->iov, sl->buf, len);
		}
	}
	sl->busy = true;
	w->inflight++;
	ret = vdisk_submit(w->d, r);
	if (ret) {
		sl->busy = false;
		w->inflight--;
		wl_fail(w, "submit op %d %llu+%llu: %d", r->op,
			(unsigned long long)r->offset,
			(unsigned long long)r->len, ret);
		return ret;
	}
	w->todo--;
	return 0;
}

static void wl_fill(struct wl *w)
{
	unsigned int i;

	for (i = 0; i < w->depth && w->todo > 0 && !w->failed; i++) {
		if (w->slot[i].busy)
			continue;
		if (wl_submit_one(w, &w->slot[i]) == -EAGAIN)
			break;
	}
}

static void wl_done(struct vdisk_req *r, int result)
{
	struct wl_slot *sl = r->opaque;
	struct wl *w = sl->wl;
	uint64_t i;

	if (!sl->busy)
		wl_fail(w, "done() twice for op %d at %llu", r->op,
			(unsigned long long)r->offset);
	sl->busy = false;
	w->inflight--;
	w->count[r->op]++;
	if (r->op == VDISK_DISCARD && result == -EOPNOTSUPP) {
		w->unsupported++;
		result = 0;
	} else if (!result) {
		switch (r->op) {
		case VDISK_READ:
			if (memcmp(sl->buf, w->mirror + r->offset, r->len)) {
				for (i = 0; sl->buf[i] ==
				     w->mirror[r->offset + i]; i++)
					;
				wl_fail(w, "read %llu+%llu: byte %llu is %#x, "
					"mirror %#x",
					(unsigned long long)r->offset,
					(unsigned long long)r->len,
					(unsigned long long)(r->offset + i),
					sl->buf[i], w->mirror[r->offset + i]);
			}
			break;
		case VDISK_WRITE:
			memcpy(w->mirror + r->offset, sl->buf, r->len);
			break;
		case VDISK_DISCARD:
		case VDISK_WRITE_ZEROES:
			memset(w->mirror + r->offset, 0, r->len);
			break;
		default:
			break;
		}
	}
	if (result)
		wl_fail(w, "op %d %llu+%llu completed with %d", r->op,
			(unsigned long long)r->offset,
			(unsigned long long)r->len, result);
	wl_fill(w);
}

/* Run @n requests, @depth at a time; 0 or the first failure in w->why. */
static int wl_run(struct wl *w, long n, unsigned int depth)
{
	int ret;

	w->todo = n;
	w->depth = depth;
	wl_fill(w);
	while (w->inflight && !w->failed) {
		ret = vdisk_poll(w->d, 1);
		if (ret < 0) {
			wl_fail(w, "vdisk_poll: %d", ret);
			break;
		}
		if (!w->inflight)
			wl_fill(w);
	}
	/* Whatever is still in flight after a failure must end too. */
	while (w->inflight && vdisk_poll(w->d, 1) >= 0)
		;
	return w->failed;
}

static void wl_init(struct wl *w, uint8_t *mirror, uint64_t size,
		    uint32_t block, uint64_t seed)
{
	unsigned int i;

	memset(w, 0, sizeof(*w));
	w->mirror = mirror;
	w->size = size;
	w->block = block ? block : 2 * MiB;
	w->rng = seed;
	for (i = 0; i < WL_DEPTH; i++) {
		/* aligned for O_DIRECT; iovec pieces are whole sectors */
		if (posix_memalign((void **)&w->slot[i].buf, 4096, WL_MAX_LEN))
			w->slot[i].buf = NULL;
		w->slot[i].wl = w;
	}
}

static void wl_free(struct wl *w)
{
	unsigned int i;

	for (i = 0; i < WL_DEPTH; i++)
		free(w->slot[i].buf);
}

FIXTURE(workload) {
	char dir[PATH_MAX];
	char top[PATH_MAX];
	char why[1024];
	uint8_t *mirror;
	uint64_t size;
	struct wl w;
};

FIXTURE_VARIANT(workload) {
	struct disk_kind kind;
};

#define KIND(n, f, d, bs, fs) KIND_FL(n, f, d, bs, fs, 0)
#define KIND_FL(n, f, d, bs, fs, fl) \
	FIXTURE_VARIANT_ADD(workload, n) { \
		.kind = { #n, f, d, bs, fs, fl }, \
	}

KIND(raw, VDISK_FMT_RAW, 0, 0, true);
KIND(fixed, VDISK_FMT_VHD_FIXED, 0, 0, true);
KIND(fixed_chs, VDISK_FMT_VHD_FIXED, 0, 0, false);
KIND(dynamic, VDISK_FMT_VHD_DYNAMIC, 0, 0, true);
KIND(dynamic_chs, VDISK_FMT_VHD_DYNAMIC, 0, 0, false);
KIND(dynamic_512k, VDISK_FMT_VHD_DYNAMIC, 0, 512 * 1024, true);
KIND(diff1, VDISK_FMT_VHD_DIFF, 1, 0, true);
KIND(diff2, VDISK_FMT_VHD_DIFF, 2, 512 * 1024, true);
KIND(diff3, VDISK_FMT_VHD_DIFF, 3, 0, true);
/* O_DIRECT: raw and fixed use it; dynamic/diff stay in the page cache. */
KIND_FL(raw_direct, VDISK_FMT_RAW, 0, 0, true, VDISK_O_DIRECT);
KIND_FL(fixed_direct, VDISK_FMT_VHD_FIXED, 0, 0, true, VDISK_O_DIRECT);
KIND_FL(diff1_direct, VDISK_FMT_VHD_DIFF, 1, 0, true, VDISK_O_DIRECT);

/* The variant's open flags with @f. */
#define FL(f)	((f) | variant->kind.open_flags)

FIXTURE_SETUP(workload)
{
	int ret;

	ASSERT_EQ(0, tdir_make(self->dir, sizeof(self->dir), "workload"));
	ret = disk_make(&variant->kind, self->dir, 40 * MiB + 3 * 512,
			&self->mirror, &self->size, self->top,
			sizeof(self->top), self->why,
			sizeof(self->why));
	/* A failed setup gets no teardown: clean up here. */
	if (ret)
		tdir_remove(self->dir);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->why);
}

FIXTURE_TEARDOWN(workload)
{
	wl_free(&self->w);
	free(self->mirror);
	tdir_remove(self->dir);
}

static void check_clean(struct __test_metadata *_metadata, const char *path)
{
	struct vdisk_check_result *res = calloc(1, sizeof(*res));
	struct vdisk_error err = { "" };
	int ret;

	ret = vdisk_check(path, res, &err);
	EXPECT_EQ(0, ret) TH_LOG("check %s: %s", path, err.msg);
	EXPECT_EQ(0, res->errors) TH_LOG("check %s:\n%s", path, res->report);
	if (res->leaks)
		TH_LOG("check %s: %u leaked (allowed after discard):\n%s",
		       path, res->leaks, res->report);
	free(res);
}

/*
 * Half the requests, close, reopen, compare; the other half; close;
 * check; reopen, compare; qemu-img compare where qemu reads the format.
 */
TEST_F_TIMEOUT(workload, random, 240)
{
	struct vdisk_error err = { "" };
	struct wl *w = &self->w;
	uint64_t digest[4][2], now[2];
	struct vdisk *d;
	uint64_t bad = 0;
	char name[32];
	int ret, round, i;

	/* The layers below the top are opened read-only: never written. */
	for (i = 0; i < variant->kind.depth; i++) {
		snprintf(name, sizeof(name), "l%d.vhd", i);
		ASSERT_EQ(0, file_digest(tpath(self->dir, name), digest[i]));
	}

	wl_init(w, self->mirror, self->size, variant->kind.block_size,
		0x5eed + variant->kind.fmt * 10 + variant->kind.depth);
	for (round = 0; round < 2; round++) {
		ret = vdisk_open(&d, self->top, VDISK_FMT_AUTO, FL(0), &err);
		ASSERT_EQ(0, ret) TH_LOG("open %s: %s", self->top, err.msg);
		w->d = d;
		ret = wl_run(w, 3000, round ? WL_DEPTH : 8);
		EXPECT_EQ(0, ret) TH_LOG("%s", w->why);
		ret = vd_compare_buf(d, self->mirror, self->size, &bad);
		EXPECT_EQ(0, ret) TH_LOG("round %d: byte %llu differs", round,
					 (unsigned long long)bad);
		ASSERT_EQ(0, vdisk_close(d));
		ASSERT_EQ(0, w->failed);
	}
	TH_LOG("%s: %lu reads, %lu writes, %lu flushes, %lu discards "
	       "(%lu refused), %lu write-zeroes", variant->kind.name,
	       w->count[VDISK_READ], w->count[VDISK_WRITE],
	       w->count[VDISK_FLUSH], w->count[VDISK_DISCARD], w->unsupported,
	       w->count[VDISK_WRITE_ZEROES]);

	if (variant->kind.fmt != VDISK_FMT_RAW)
		check_clean(_metadata, self->top);
	ret = vdisk_open(&d, self->top, VDISK_FMT_AUTO, FL(VDISK_O_RDONLY),
			 &err);
	ASSERT_EQ(0, ret) TH_LOG("reopen %s: %s", self->top, err.msg);
	ret = vd_compare_buf(d, self->mirror, self->size, &bad);
	EXPECT_EQ(0, ret) TH_LOG("after reopen: byte %llu differs",
				 (unsigned long long)bad);
	vdisk_close(d);

	for (i = 0; i < variant->kind.depth; i++) {
		snprintf(name, sizeof(name), "l%d.vhd", i);
		ASSERT_EQ(0, file_digest(tpath(self->dir, name), now));
		EXPECT_EQ(0, memcmp(now, digest[i], sizeof(now)))
			TH_LOG("the parent %s changed", name);
	}

	if ((variant->kind.fmt == VDISK_FMT_VHD_FIXED ||
	     variant->kind.fmt == VDISK_FMT_VHD_DYNAMIC) &&
	    have_prog("qemu-img")) {
		const char *raw = tpath(self->dir, "mirror.raw");

		ASSERT_EQ(0, file_write(raw, self->mirror, self->size));
		EXPECT_EQ(0, run_cmd(self->why, sizeof(self->why),
				     "qemu-img compare -f vpc -F raw '%s' '%s'",
				     self->top, raw)) TH_LOG("%s", self->why);
	}
}

struct batch {
	uint8_t *mirror;
	int left;
	int failed;
	char why[256];
};

static void batch_done(struct vdisk_req *r, int result)
{
	struct batch *b = r->opaque;

	b->left--;
	if (result && !b->failed++)
		snprintf(b->why, sizeof(b->why), "op %d at %llu: %d", r->op,
			 (unsigned long long)r->offset, result);
	if (!result && r->op == VDISK_READ &&
	    memcmp(r->iov[0].iov_base, b->mirror + r->offset, r->len) &&
	    !b->failed++)
		snprintf(b->why, sizeof(b->why), "read at %llu differs",
			 (unsigned long long)r->offset);
}

/*
 * 64 requests at once into blocks nothing allocated yet: 32 writes of
 * 4 KiB spread over four blocks, each beside a read of sectors nobody
 * writes (zeros, or the parent's data): the allocation path under
 * concurrency.
 */
TEST_F(workload, concurrent_allocation)
{
	struct vdisk_error err = { "" };
	struct batch b = { .mirror = self->mirror };
	struct vdisk_req req[64];
	struct iovec iov[64];
	uint8_t *buf;
	struct vdisk *d;
	uint64_t bad = 0;
	int i, ret;

	buf = aligned_alloc(4096, 64 * 4096);
	ASSERT_NE(NULL, buf);
	ret = vdisk_open(&d, self->top, VDISK_FMT_AUTO, FL(0), &err);
	ASSERT_EQ(0, ret) TH_LOG("open: %s", err.msg);
	for (i = 0; i < 64; i++) {
		uint64_t off = 20 * MiB + (uint64_t)(i % 8 / 2) * 2 * MiB +
			       (uint64_t)(i / 8) * 16 * KiB +
			       (uint64_t)(i % 2) * 4 * KiB;

		iov[i].iov_base = buf + i * 4096;
		iov[i].iov_len = 4096;
		memset(&req[i], 0, sizeof(req[i]));
		req[i].op = i % 2 ? VDISK_READ : VDISK_WRITE;
		req[i].offset = off;
		req[i].len = 4096;
		req[i].iov = &iov[i];
		req[i].iovcnt = 1;
		req[i].done = batch_done;
		req[i].opaque = &b;
		if (req[i].op == VDISK_WRITE) {
			rnd_fill(iov[i].iov_base, 4096, 77 + i);
			memcpy(self->mirror + off, iov[i].iov_base, 4096);
		}
	}
	for (i = 0; i < 64; i++) {
		ret = vdisk_submit(d, &req[i]);
		ASSERT_EQ(0, ret) TH_LOG("submit %d: %d", i, ret);
		b.left++;
	}
	while (b.left > 0) {
		ret = vdisk_poll(d, 1);
		ASSERT_LE(0, ret);
	}
	EXPECT_EQ(0, b.failed) TH_LOG("%s", b.why);
	ret = vd_compare_buf(d, self->mirror, self->size, &bad);
	EXPECT_EQ(0, ret) TH_LOG("byte %llu differs", (unsigned long long)bad);
	ASSERT_EQ(0, vdisk_close(d));
	if (variant->kind.fmt != VDISK_FMT_RAW)
		check_clean(_metadata, self->top);
	ret = vdisk_open(&d, self->top, VDISK_FMT_AUTO, FL(VDISK_O_RDONLY),
			 &err);
	ASSERT_EQ(0, ret) TH_LOG("reopen: %s", err.msg);
	ret = vd_compare_buf(d, self->mirror, self->size, &bad);
	EXPECT_EQ(0, ret) TH_LOG("after reopen: byte %llu differs",
				 (unsigned long long)bad);
	vdisk_close(d);
	free(buf);
}

/*
 * iovec pieces that are not whole sectors (a guest's descriptors need
 * not be), the total still a whole number of sectors.
 */
TEST_F(workload, odd_iovecs)
{
	static const size_t cut[] = { 100, 412, 1000, 24, 1, 511, 1536, 512 };
	struct vdisk_error err = { "" };
	struct batch b = { .mirror = self->mirror };
	struct vdisk_req req;
	struct iovec iov[8];
	uint8_t *buf = malloc(4096), *back = malloc(4096);
	struct vdisk *d;
	uint64_t off = 2 * MiB - 2048;
	size_t used = 0;
	int i, ret;

	if (variant->kind.open_flags & VDISK_O_DIRECT)
		SKIP(return, "O_DIRECT wants aligned buffers");

	ret = vdisk_open(&d, self->top, VDISK_FMT_AUTO, FL(0), &err);
	ASSERT_EQ(0, ret) TH_LOG("open: %s", err.msg);
	rnd_fill(buf, 4096, 5);
	for (i = 0; i < 8; i++) {
		iov[i].iov_base = buf + used;
		iov[i].iov_len = cut[i];
		used += cut[i];
	}
	ASSERT_EQ(4096, used);
	memset(&req, 0, sizeof(req));
	req.op = VDISK_WRITE;
	req.offset = off;
	req.len = 4096;
	req.iov = iov;
	req.iovcnt = 8;
	req.done = batch_done;
	req.opaque = &b;
	ASSERT_EQ(0, vdisk_submit(d, &req));
	b.left = 1;
	while (b.left > 0)
		ASSERT_LE(0, vdisk_poll(d, 1));
	EXPECT_EQ(0, b.failed) TH_LOG("%s", b.why);
	memcpy(self->mirror + off, buf, 4096);

	memset(buf, 0, 4096);
	req.op = VDISK_READ;
	ASSERT_EQ(0, vdisk_submit(d, &req));
	b.left = 1;
	while (b.left > 0)
		ASSERT_LE(0, vdisk_poll(d, 1));
	EXPECT_EQ(0, b.failed) TH_LOG("%s", b.why);
	EXPECT_EQ(0, vdisk_pread(d, back, 4096, off));
	EXPECT_EQ(0, memcmp(back, self->mirror + off, 4096));
	vdisk_close(d);
	free(buf);
	free(back);
}

static void never_done(struct vdisk_req *r, int result)
{
	int *called = r->opaque;

	(*called)++;
}

/*
 * Refused requests: -EINVAL (misaligned, past the end, wrapping),
 * -EROFS (a write to a read-only disk), and done() is never called.
 */
TEST_F(workload, refused_requests)
{
	struct vdisk_error err = { "" };
	struct vdisk_req req;
	struct iovec iov;
	uint8_t buf[8192] __attribute__((aligned(4096)));
	struct vdisk *d;
	int called = 0, ret;
	struct {
		enum vdisk_op op;
		uint64_t off, len;
		int want;
	} bad[] = {
		{ VDISK_READ, 100, 512, -EINVAL },
		{ VDISK_READ, 0, 100, -EINVAL },
		{ VDISK_WRITE, 512, 1000, -EINVAL },
		{ VDISK_READ, self->size - 512, 1024, -EINVAL },
		{ VDISK_WRITE, self->size, 512, -EINVAL },
		{ VDISK_READ, ~0ULL - 511, 1024, -EINVAL },
		{ VDISK_DISCARD, self->size - 512, 1024, -EINVAL },
		{ VDISK_WRITE_ZEROES, 3, 512, -EINVAL },
	};
	unsigned int i;

	ret = vdisk_open(&d, self->top, VDISK_FMT_AUTO, FL(0), &err);
	ASSERT_EQ(0, ret) TH_LOG("open: %s", err.msg);
	iov.iov_base = buf;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&req, 0, sizeof(req));
		req.op = bad[i].op;
		req.offset = bad[i].off;
		req.len = bad[i].len;
		iov.iov_len = bad[i].len <= sizeof(buf) ? bad[i].len : 512;
		req.iov = &iov;
		req.iovcnt = 1;
		req.done = never_done;
		req.opaque = &called;
		ret = vdisk_submit(d, &req);
		EXPECT_EQ(bad[i].want, ret) TH_LOG("case %u: op %d %llu+%llu",
						   i, bad[i].op,
						   (unsigned long long)bad[i].off,
						   (unsigned long long)bad[i].len);
	}
	vdisk_poll(d, 0);
	EXPECT_EQ(0, called);
	EXPECT_NE(0, vdisk_pread(d, buf, 1024, self->size - 512));
	EXPECT_NE(0, vdisk_pwrite(d, buf, 512, 1));
	vdisk_close(d);

	ret = vdisk_open(&d, self->top, VDISK_FMT_AUTO, FL(VDISK_O_RDONLY),
			 &err);
	ASSERT_EQ(0, ret) TH_LOG("open: %s", err.msg);
	for (i = 0; i < 3; i++) {
		memset(&req, 0, sizeof(req));
		req.op = i == 0 ? VDISK_WRITE :
			 i == 1 ? VDISK_WRITE_ZEROES : VDISK_DISCARD;
		req.len = 512;
		iov.iov_len = 512;
		req.iov = &iov;
		req.iovcnt = 1;
		req.done = never_done;
		req.opaque = &called;
		EXPECT_EQ(-EROFS, vdisk_submit(d, &req)) TH_LOG("op %d", req.op);
	}
	vdisk_poll(d, 0);
	EXPECT_EQ(0, called);
	vdisk_close(d);
}

/* The event fd says when vdisk_poll() has work. */
TEST_F(workload, event_fd)
{
	struct vdisk_error err = { "" };
	struct batch b = { .mirror = self->mirror };
	struct vdisk_req req;
	struct iovec iov;
	uint8_t buf[4096] __attribute__((aligned(4096)));
	struct pollfd pfd;
	struct vdisk *d;
	int ret, spins = 0;

	ret = vdisk_open(&d, self->top, VDISK_FMT_AUTO, FL(VDISK_O_RDONLY),
			 &err);
	ASSERT_EQ(0, ret) TH_LOG("open: %s", err.msg);
	pfd.fd = vdisk_event_fd(d);
	ASSERT_LE(0, pfd.fd);
	pfd.events = POLLIN;
	memset(&req, 0, sizeof(req));
	req.op = VDISK_READ;
	req.offset = 4096;
	req.len = 4096;
	iov.iov_base = buf;
	iov.iov_len = 4096;
	req.iov = &iov;
	req.iovcnt = 1;
	req.done = batch_done;
	req.opaque = &b;
	ASSERT_EQ(0, vdisk_submit(d, &req));
	b.left = 1;
	while (b.left > 0 && spins++ < 100) {
		ret = poll(&pfd, 1, 5000);
		ASSERT_EQ(1, ret) TH_LOG("the event fd never became readable");
		ASSERT_LE(0, vdisk_poll(d, 0));
	}
	EXPECT_EQ(0, b.left);
	EXPECT_EQ(0, b.failed) TH_LOG("%s", b.why);
	vdisk_close(d);
}

TEST_HARNESS_MAIN
