// SPDX-License-Identifier: GPL-2.0
/*
 * Crash safety: a child process writes through the disk layer with
 * periodic flushes and reports, through a pipe, each write as it
 * completes and each flush as it is submitted and as it completes; the
 * parent kill -9's it at a random moment (during open, mid-allocation,
 * mid-flush...).  Then, before anything else opens the image:
 *
 *  - vdisk_check() and `vmm-img check` find no error (leaks only where
 *    Documentation/disks.rst says a crash may leak space);
 *  - every write completed before a completed flush was submitted reads
 *    back (the promise), and so does every completed write at
 *    all (vdisk.h's: completion means the host page cache has it, and a
 *    process's death does not lose the page cache);
 *  - every sector reads either what it held before or what the child
 *    wrote there, nothing else (writes of one child never overlap, so
 *    that is exact); sectors nobody wrote are unchanged;
 *  - a differencing disk's parent is not changed at all.
 *
 * The image as found becomes the next round's starting point, so the
 * next child also opens an image a crash left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "disk_util.h"

#define CR_SIZE		(64 * MiB)
#define CR_SLOT		(40 * KiB)	/* some straddle block boundaries */
#define CR_NSLOT	(CR_SIZE / CR_SLOT)
#define CR_DEPTH	16
#define CR_FLUSH_EVERY	8
#define CR_ROUNDS	30

/* A pipe record: 8 bytes, written whole (atomic on a pipe). */
struct rec {
	/* R ready, D write done, S/F flush submitted/done, E error, X end */
	char type;
	char pad[3];
	uint32_t idx;
};

struct cw {
	uint64_t off, len;
};

/* Round @seed's writes: one per slot, in a random order. */
static void cr_plan(uint64_t seed, struct cw *w)
{
	uint32_t perm[CR_NSLOT], i, j, t;
	uint64_t s = seed, first, n;

	for (i = 0; i < CR_NSLOT; i++)
		perm[i] = i;
	for (i = CR_NSLOT - 1; i > 0; i--) {
		j = rnd_below(&s, i + 1);
		t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (i = 0; i < CR_NSLOT; i++) {
		first = rnd_below(&s, CR_SLOT / 512);
		n = 1 + rnd_below(&s, CR_SLOT / 512 - first);
		w[i].off = perm[i] * CR_SLOT + first * 512;
		w[i].len = n * 512;
	}
}

static uint64_t cr_data_seed(uint64_t seed, uint32_t i)
{
	return seed << 20 | i;
}

/* ---- the child ---- */

struct child {
	struct vdisk *d;
	int pipe;
	uint64_t seed;
	struct cw w[CR_NSLOT];
	uint32_t next, done_since_flush, flushes;
	int inflight;
	bool flush_busy;
	struct vdisk_req req[CR_DEPTH + 1];
	struct iovec iov[CR_DEPTH];
	uint8_t *buf[CR_DEPTH];
	bool busy[CR_DEPTH];
	uint32_t idx_of[CR_DEPTH];
};

static void child_say(struct child *c, char type, uint32_t idx)
{
	struct rec r = { .type = type, .idx = idx };

	if (write(c->pipe, &r, sizeof(r)) != sizeof(r))
		_exit(3);
}

static void child_fill(struct child *c);

static void child_done(struct vdisk_req *req, int result)
{
	struct child *c = req->opaque;

	if (result) {
		child_say(c, 'E', req->op);
		_exit(2);
	}
	c->inflight--;
	if (req->op == VDISK_FLUSH) {
		child_say(c, 'F', c->flushes - 1);
		c->flush_busy = false;
	} else {
		c->busy[req - c->req] = false;
		child_say(c, 'D', c->idx_of[req - c->req]);
		c->done_since_flush++;
	}
	child_fill(c);
}

static void child_flush(struct child *c)
{
	struct vdisk_req *f = &c->req[CR_DEPTH];

	memset(f, 0, sizeof(*f));
	f->op = VDISK_FLUSH;
	f->done = child_done;
	f->opaque = c;
	c->flush_busy = true;
	c->done_since_flush = 0;
	child_say(c, 'S', c->flushes++);
	if (vdisk_submit(c->d, f))
		_exit(4);
	c->inflight++;
}

static void child_fill(struct child *c)
{
	int i;

	if (!c->flush_busy && c->done_since_flush >= CR_FLUSH_EVERY)
		child_flush(c);
	for (i = 0; i < CR_DEPTH && c->next < CR_NSLOT; i++) {
		struct vdisk_req *r = &c->req[i];
		uint32_t n;

		if (c->busy[i])
			continue;
		n = c->next++;
		memset(r, 0, sizeof(*r));
		r->op = VDISK_WRITE;
		r->offset = c->w[n].off;
		r->len = c->w[n].len;
		rnd_fill(c->buf[i], r->len, cr_data_seed(c->seed, n));
		c->iov[i].iov_base = c->buf[i];
		c->iov[i].iov_len = r->len;
		r->iov = &c->iov[i];
		r->iovcnt = 1;
		r->done = child_done;
		r->opaque = c;
		c->busy[i] = true;
		c->inflight++;
		c->idx_of[i] = n;
		if (vdisk_submit(c->d, r))
			_exit(5);
	}
}

static void __attribute__((noreturn)) child_main(const char *path, int pipe,
						  uint64_t seed)
{
	struct vdisk_error err = { "" };
	struct child *c = calloc(1, sizeof(*c));
	int i;

	c->pipe = pipe;
	c->seed = seed;
	cr_plan(seed, c->w);
	for (i = 0; i < CR_DEPTH; i++)
		c->buf[i] = malloc(CR_SLOT);
	if (vdisk_open(&c->d, path, VDISK_FMT_AUTO, 0, &err)) {
		fprintf(stderr, "child: open %s: %s\n", path, err.msg);
		child_say(c, 'E', 0);
		_exit(1);
	}
	child_say(c, 'R', 0);
	child_fill(c);
	while (c->inflight)
		if (vdisk_poll(c->d, 1) < 0)
			_exit(6);
	child_flush(c);
	while (c->inflight)
		if (vdisk_poll(c->d, 1) < 0)
			_exit(6);
	child_say(c, 'X', 0);
	for (;;)
		pause();
}

/* ---- the parent ---- */

struct round {
	struct rec *rec;
	size_t nrec, cap;
	bool ready, all_done, error;
	/* per write of the plan: 0 not completed, 1 completed, 2 flushed */
	uint8_t state[CR_NSLOT];
	uint32_t completed, flushed;
};

static void round_take(struct round *r, const void *buf, size_t len)
{
	size_t n = len / sizeof(struct rec);

	if (r->nrec + n > r->cap) {
		r->cap = (r->nrec + n) * 2;
		r->rec = realloc(r->rec, r->cap * sizeof(struct rec));
	}
	memcpy(r->rec + r->nrec, buf, n * sizeof(struct rec));
	r->nrec += n;
}

/*
 * Read the child's records until @ms milliseconds passed or it closed
 * the pipe.  A whole number of records per read: they are 8 bytes and
 * the pipe delivers whole writes of 8 bytes.
 */
static void round_drain(struct round *r, int fd, long ms)
{
	struct timespec t0, t;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[8192];
	ssize_t n;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - ((t.tv_sec - t0.tv_sec) * 1000 +
			     (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (ms >= 0 && left <= 0)
			return;
		if (poll(&p, 1, ms >= 0 ? left : -1) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		round_take(r, buf, n - n % sizeof(struct rec));
	}
}

/* Which writes completed, which were covered by a completed flush. */
static void round_parse(struct round *r)
{
	uint32_t *done_at_submit = calloc(r->nrec + 1, sizeof(uint32_t));
	uint32_t *order = calloc(CR_NSLOT, sizeof(uint32_t));
	uint32_t ndone = 0, upto = 0, i;
	size_t k;

	for (k = 0; k < r->nrec; k++) {
		struct rec *e = &r->rec[k];

		switch (e->type) {
		case 'R':
			r->ready = true;
			break;
		case 'D':
			if (e->idx < CR_NSLOT && ndone < CR_NSLOT) {
				order[ndone++] = e->idx;
				r->state[e->idx] = 1;
			}
			break;
		case 'S':
			if (e->idx <= r->nrec)
				done_at_submit[e->idx] = ndone;
			break;
		case 'F':
			if (e->idx <= r->nrec &&
			    done_at_submit[e->idx] > upto)
				upto = done_at_submit[e->idx];
			break;
		case 'X':
			r->all_done = true;
			break;
		case 'E':
			r->error = true;
			break;
		}
	}
	for (i = 0; i < upto; i++)
		r->state[order[i]] = 2;
	r->completed = ndone;
	r->flushed = upto;
	free(done_at_submit);
	free(order);
}

FIXTURE(crash) {
	char dir[PATH_MAX];
	char top[PATH_MAX];
	char why[4096];
	uint8_t *base;
	uint64_t size;
	bool leaks_ok;
};

FIXTURE_VARIANT(crash) {
	struct disk_kind kind;
};

#define KIND(n, f, d, bs) \
	FIXTURE_VARIANT_ADD(crash, n) { \
		.kind = { #n, f, d, bs, true, 0 }, \
	}

KIND(fixed, VDISK_FMT_VHD_FIXED, 0, 0);
KIND(dynamic, VDISK_FMT_VHD_DYNAMIC, 0, 0);
KIND(dynamic_512k, VDISK_FMT_VHD_DYNAMIC, 0, 512 * 1024);
KIND(diff1, VDISK_FMT_VHD_DIFF, 1, 0);
KIND(diff2, VDISK_FMT_VHD_DIFF, 2, 512 * 1024);

FIXTURE_SETUP(crash)
{
	uint8_t *doc;
	size_t len;
	int ret;

	ASSERT_EQ(0, tdir_make(self->dir, sizeof(self->dir), "crash"));
	ret = disk_make(&variant->kind, self->dir, CR_SIZE,
			&self->base, &self->size, self->top,
			sizeof(self->top), self->why,
			sizeof(self->why));
	/* A failed setup gets no teardown: clean up here. */
	if (ret)
		tdir_remove(self->dir);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->why);
	ASSERT_EQ(CR_SIZE, self->size);
	/* Leaks after a crash are allowed only if the layer says so. */
	if (!file_read(VMM_SRCDIR "/Documentation/disks.rst", &doc, &len)) {
		doc = realloc(doc, len + 1);
		doc[len] = 0;
		self->leaks_ok = strcasestr((char *)doc, "leak") != NULL;
		free(doc);
	}
}

FIXTURE_TEARDOWN(crash)
{
	free(self->base);
	tdir_remove(self->dir);
}

/* Both checkers on the image as the crash left it. */
static void crash_check(struct __test_metadata *_metadata,
			FIXTURE_DATA(crash) *self, int round)
{
	struct vdisk_check_result *res = calloc(1, sizeof(*res));
	struct vdisk_error err = { "" };
	int ret;

	ret = vdisk_check(self->top, res, &err);
	EXPECT_EQ(0, ret) TH_LOG("round %d: check: %s", round, err.msg);
	EXPECT_EQ(0, res->errors) TH_LOG("round %d: check:\n%s", round,
					 res->report);
	if (res->leaks && !self->leaks_ok)
		EXPECT_EQ(0, res->leaks) TH_LOG("round %d: %u leaks, and "
			"Documentation/disks.rst does not say a crash may leak:"
			"\n%s", round, res->leaks, res->report);
	free(res);
	if (!have_vmm_img())
		return;
	ret = run_cmd(self->why, sizeof(self->why), "%s check '%s'", VMM_IMG,
		      self->top);
	if (ret == 3 && self->leaks_ok)
		ret = 0;
	EXPECT_EQ(0, ret) TH_LOG("round %d: vmm-img check: status %d\n%s",
				 round, ret, self->why);
}

/*
 * Compare the disk with what the round allows; the image is the new base.
 * Returns the number of sectors found wrong.
 */
static unsigned int crash_verify(struct __test_metadata *_metadata,
			 FIXTURE_DATA(crash) *self, struct round *r,
			 uint64_t seed, int round)
{
	struct vdisk_error err = { "" };
	struct cw *w = calloc(CR_NSLOT, sizeof(*w));
	uint8_t *cur = malloc(self->size), *want = malloc(CR_SLOT);
	uint8_t *covered = calloc(self->size / 512, 1);
	unsigned int lost_flushed = 0, lost_done = 0, bad = 0;
	struct vdisk *d;
	uint64_t s, o;
	uint32_t i;
	int ret;

	ret = vdisk_open(&d, self->top, VDISK_FMT_AUTO, VDISK_O_RDONLY, &err);
	EXPECT_EQ(0, ret) TH_LOG("round %d: open after kill: %s", round,
				 err.msg);
	if (ret)
		return 1;
	ret = vdisk_pread(d, cur, self->size, 0);
	vdisk_close(d);
	EXPECT_EQ(0, ret) TH_LOG("round %d: read: %d", round, ret);
	if (ret)
		return 1;

	cr_plan(seed, w);
	for (i = 0; i < CR_NSLOT; i++) {
		rnd_fill(want, w[i].len, cr_data_seed(seed, i));
		for (s = 0; s < w[i].len; s += 512) {
			o = w[i].off + s;
			covered[o / 512] = 1;
			if (!memcmp(cur + o, want + s, 512))
				continue;
			if (memcmp(cur + o, self->base + o, 512)) {
				if (!bad++)
					TH_LOG("round %d: sector %llu of "
					       "write %u is neither old nor new",
					       round,
					       (unsigned long long)o / 512, i);
			} else if (r->state[i] == 2) {
				if (!lost_flushed++)
					TH_LOG("round %d: flushed write %u "
					       "(%llu+%llu) lost at sector "
					       "%llu", round, i,
					       (unsigned long long)w[i].off,
					       (unsigned long long)w[i].len,
					       (unsigned long long)o / 512);
			} else if (r->state[i] == 1) {
				if (!lost_done++)
					TH_LOG("round %d: completed write %u "
					       "lost at sector %llu", round, i,
					       (unsigned long long)o / 512);
			}
		}
	}
	for (o = 0; o < self->size; o += 512)
		if (!covered[o / 512] && memcmp(cur + o, self->base + o, 512) &&
		    !bad++)
			TH_LOG("round %d: sector %llu changed, nobody wrote it",
			       round, (unsigned long long)o / 512);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, lost_flushed);
	EXPECT_EQ(0, lost_done) TH_LOG("vdisk.h: a completed write is in "
				       "the page cache, which kill -9 keeps");
	memcpy(self->base, cur, self->size);
	free(cur);
	free(want);
	free(covered);
	free(w);
	return bad + lost_flushed + lost_done;
}

TEST_F_TIMEOUT(crash, kill9, 250)
{
	uint64_t rng = 0xc4a5 + variant->kind.depth * 131 +
		       variant->kind.block_size + variant->kind.fmt;
	uint64_t parent_digest[2] = { 0, 0 }, digest[2];
	const char *parent = tpath(self->dir, "l0.vhd");
	unsigned int total_flushed = 0, total_done = 0, finished = 0;
	int round, p[2], status;
	unsigned int wrong;
	pid_t pid;

	if (variant->kind.depth)
		ASSERT_EQ(0, file_digest(parent, parent_digest));
	for (round = 0; round < CR_ROUNDS; round++) {
		struct round r;
		uint64_t seed = rnd_next(&rng) >> 24 | 1;
		long delay;

		/* A few kills land in open, most while writing. */
		delay = round % 5 == 0 ? (long)rnd_below(&rng, 4) :
			2 + (long)rnd_below(&rng, 80);
		memset(&r, 0, sizeof(r));
		ASSERT_EQ(0, pipe(p));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			close(p[0]);
			child_main(self->top, p[1], seed);
		}
		close(p[1]);
		round_drain(&r, p[0], delay);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		round_drain(&r, p[0], -1);
		close(p[0]);
		round_parse(&r);
		ASSERT_FALSE(r.error) TH_LOG("round %d: the child failed "
					     "(status %#x)", round, status);
		ASSERT_TRUE(WIFSIGNALED(status)) TH_LOG("round %d: status %#x",
							round, status);
		total_done += r.completed;
		total_flushed += r.flushed;
		finished += r.all_done;

		/* Leaks fail the test but the rounds go on; data loss stops. */
		crash_check(_metadata, self, round);
		wrong = crash_verify(_metadata, self, &r, seed, round);
		free(r.rec);
		if (wrong)
			break;
	}
	TH_LOG("%s: %d rounds, %u writes completed, %u of them flushed, "
	       "%u rounds ran to the end", variant->kind.name, round,
	       total_done, total_flushed, finished);
	if (variant->kind.depth) {
		ASSERT_EQ(0, file_digest(parent, digest));
		EXPECT_TRUE(!memcmp(digest, parent_digest, sizeof(digest)))
			TH_LOG("the parent changed");
	}
}

TEST_HARNESS_MAIN
