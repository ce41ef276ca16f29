// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile guest against virtio-blk: descriptor loops, chains longer
 * than the queue, buffers outside RAM or wrapping, indirect tables inside
 * indirect tables or of bad sizes, writable before readable, avail index
 * jumps, heads out of range, notifies for queues that do not exist,
 * garbage in the transport's registers, then random descriptor tables.
 * Each is refused and logged, never a crash (ASan/UBSan watch); after it
 * the device answers a good request, at worst after a reset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "dev_util.h"
#include "devices.h"
#include "vdisk.h"
#include "vdriver.h"

#define RAM		(32 << 20)
#define DISK		(4 << 20)

enum outcome {
	REFUSED,	/* the chain comes back empty, logged */
	BROKEN,		/* DEVICE_NEEDS_RESET */
	IGNORED,	/* logged, nothing on the ring */
};

struct ctx {
	struct vdrv *d;
	uint64_t hdr, data, status;	/* a good request's buffers */
};

struct bed {
	char dir[64], path[128];
	struct machine *m;
	struct vdrv d;
	struct ctx c;
};

FIXTURE(hostile) {
	struct bed b;
};

FIXTURE_VARIANT(hostile) {
	/* Builds the bad chain in the ring (and publishes it). */
	void (*build)(struct ctx *c);
	enum outcome expect;
};

static void put_hdr(struct ctx *c, uint32_t type, uint64_t sector)
{
	uint32_t *h = vd_ptr(c->d, c->hdr);

	h[0] = type;
	h[1] = 0;
	memcpy(&h[2], &sector, 8);
}

static void set(struct vring_desc *e, uint64_t addr, uint32_t len,
		uint16_t flags, uint16_t next)
{
	e->addr = addr;
	e->len = len;
	e->flags = flags;
	e->next = next;
}

#define NEXT	VRING_DESC_F_NEXT
#define WRITE	VRING_DESC_F_WRITE
#define INDIR	VRING_DESC_F_INDIRECT

static void b_loop(struct ctx *c)
{
	struct vring_desc *t = vd_desc(c->d, 0);

	set(&t[0], c->hdr, 16, NEXT, 1);
	set(&t[1], c->data, 512, NEXT | WRITE, 2);
	set(&t[2], c->status, 1, NEXT | WRITE, 1);
	vd_publish(c->d, 0, 0);
}

static void b_self_loop(struct ctx *c)
{
	set(&vd_desc(c->d, 0)[5], c->hdr, 16, NEXT, 5);
	vd_publish(c->d, 0, 5);
}

/* Every descriptor of the queue chained, and the last back to the first. */
/* Empty buffers add no iovec: only the length bound ends this loop. */
static void b_empty_loop(struct ctx *c)
{
	struct vring_desc *t = vd_desc(c->d, 0);

	set(&t[0], c->hdr, 16, NEXT, 1);
	set(&t[1], c->data, 0, NEXT | WRITE, 2);
	set(&t[2], c->data, 0, NEXT | WRITE, 1);
	vd_publish(c->d, 0, 0);
}

static void b_longer_than_queue(struct ctx *c)
{
	struct vring_desc *t = vd_desc(c->d, 0);
	unsigned int n = c->d->q[0].size;

	for (unsigned int i = 0; i < n; i++)
		set(&t[i], c->data + 4 * i, 4, NEXT | WRITE, (i + 1) % n);
	set(&t[0], c->hdr, 16, NEXT, 1);
	vd_publish(c->d, 0, 0);
}

static void b_indirect_loop(struct ctx *c)
{
	uint64_t tbl = vd_alloc(c->d, 16 * 4);
	struct vring_desc *it = vd_ptr(c->d, tbl);

	set(&it[0], c->hdr, 16, NEXT, 1);
	set(&it[1], c->data, 512, NEXT | WRITE, 2);
	set(&it[2], c->status, 1, NEXT | WRITE, 3);
	set(&it[3], c->status, 1, NEXT | WRITE, 1);
	set(&vd_desc(c->d, 0)[0], tbl, 16 * 4, INDIR, 0);
	vd_publish(c->d, 0, 0);
}

static void b_outside_ram(struct ctx *c)
{
	struct vring_desc *t = vd_desc(c->d, 0);

	set(&t[0], c->hdr, 16, NEXT, 1);
	set(&t[1], RAM - 256, 512, NEXT | WRITE, 2);
	set(&t[2], c->status, 1, WRITE, 0);
	vd_publish(c->d, 0, 0);
}

static void b_far_outside(struct ctx *c)
{
	struct vring_desc *t = vd_desc(c->d, 0);

	set(&t[0], 0x7000000000ULL, 16, NEXT, 1);
	set(&t[1], c->status, 1, WRITE, 0);
	vd_publish(c->d, 0, 0);
}

static void b_wrapping(struct ctx *c)
{
	struct vring_desc *t = vd_desc(c->d, 0);

	set(&t[0], c->hdr, 16, NEXT, 1);
	set(&t[1], 0xfffffffffffffe00ULL, 0x400, NEXT | WRITE, 2);
	set(&t[2], c->status, 1, WRITE, 0);
	vd_publish(c->d, 0, 0);
}

static void b_huge_len(struct ctx *c)
{
	struct vring_desc *t = vd_desc(c->d, 0);

	set(&t[0], c->hdr, 16, NEXT, 1);
	set(&t[1], c->data, 0xffffffff, NEXT | WRITE, 2);
	set(&t[2], c->status, 1, WRITE, 0);
	vd_publish(c->d, 0, 0);
}

static void b_indirect_in_indirect(struct ctx *c)
{
	uint64_t t1 = vd_alloc(c->d, 32), t2 = vd_alloc(c->d, 32);
	struct vring_desc *a = vd_ptr(c->d, t1), *b = vd_ptr(c->d, t2);

	set(&a[0], c->hdr, 16, NEXT, 1);
	set(&a[1], t2, 32, INDIR, 0);
	set(&b[0], c->data, 512, NEXT | WRITE, 1);
	set(&b[1], c->status, 1, WRITE, 0);
	set(&vd_desc(c->d, 0)[0], t1, 32, INDIR, 0);
	vd_publish(c->d, 0, 0);
}

static void b_indirect_size(struct ctx *c, uint32_t len)
{
	uint64_t tbl = vd_alloc(c->d, 64);
	struct vring_desc *it = vd_ptr(c->d, tbl);

	set(&it[0], c->hdr, 16, NEXT, 1);
	set(&it[1], c->status, 1, WRITE, 0);
	set(&vd_desc(c->d, 0)[0], tbl, len, INDIR, 0);
	vd_publish(c->d, 0, 0);
}

static void b_indirect_24(struct ctx *c)
{
	b_indirect_size(c, 24);
}

static void b_indirect_0(struct ctx *c)
{
	b_indirect_size(c, 0);
}

static void b_indirect_huge(struct ctx *c)
{
	b_indirect_size(c, 16 * 100000);
}

static void b_indirect_outside(struct ctx *c)
{
	set(&vd_desc(c->d, 0)[0], RAM - 16, 32, INDIR, 0);
	vd_publish(c->d, 0, 0);
}

static void b_indirect_next(struct ctx *c)
{
	uint64_t tbl = vd_alloc(c->d, 32);
	struct vring_desc *it = vd_ptr(c->d, tbl);

	set(&it[0], c->hdr, 16, NEXT, 1);
	set(&it[1], c->status, 1, WRITE, 0);
	set(&vd_desc(c->d, 0)[0], tbl, 32, INDIR | NEXT, 1);
	set(&vd_desc(c->d, 0)[1], c->status, 1, WRITE, 0);
	vd_publish(c->d, 0, 0);
}

static void b_indirect_next_out_of_table(struct ctx *c)
{
	uint64_t tbl = vd_alloc(c->d, 32);
	struct vring_desc *it = vd_ptr(c->d, tbl);

	set(&it[0], c->hdr, 16, NEXT, 1);
	set(&it[1], c->status, 1, NEXT | WRITE, 2);
	set(&vd_desc(c->d, 0)[0], tbl, 32, INDIR, 0);
	vd_publish(c->d, 0, 0);
}

static void b_write_before_read(struct ctx *c)
{
	struct vring_desc *t = vd_desc(c->d, 0);

	set(&t[0], c->status, 1, NEXT | WRITE, 1);
	set(&t[1], c->hdr, 16, 0, 0);
	vd_publish(c->d, 0, 0);
}

static void b_next_out_of_range(struct ctx *c)
{
	struct vring_desc *t = vd_desc(c->d, 0);

	set(&t[0], c->hdr, 16, NEXT, 300);
	vd_publish(c->d, 0, 0);
}

static void b_no_status(struct ctx *c)
{
	set(&vd_desc(c->d, 0)[0], c->hdr, 16, 0, 0);
	vd_publish(c->d, 0, 0);
}

static void b_short_header(struct ctx *c)
{
	struct vring_desc *t = vd_desc(c->d, 0);

	set(&t[0], c->hdr, 8, NEXT, 1);
	set(&t[1], c->status, 1, WRITE, 0);
	vd_publish(c->d, 0, 0);
}

static void b_avail_jump(struct ctx *c)
{
	uint16_t *avail = vd_avail(c->d, 0);

	set(&vd_desc(c->d, 0)[0], c->hdr, 16, 0, 0);
	avail[1] += 1000;
}

static void b_head_out_of_range(struct ctx *c)
{
	vd_publish(c->d, 0, 999);
}

static void b_notify_missing_queue(struct ctx *c)
{
	fake_mmio_write(c->d->m, c->d->notify + 5 * c->d->notify_mult, 5, 2);
	fake_mmio_write(c->d->m, c->d->notify + 0xffc, 0, 4);
}

static void b_enable_outside_ram(struct ctx *c)
{
	struct machine *m = c->d->m;
	uint64_t cc = c->d->common;

	/* Reset and set the queue up with a ring outside RAM. */
	vd_set_status(c->d, 0);
	vd_set_status(c->d, 3);
	fake_mmio_write(m, cc + 12, 0, 4);
	fake_mmio_write(m, cc + 8, 1, 4);
	fake_mmio_write(m, cc + 12, 1, 4);
	vd_set_status(c->d, 11);
	fake_mmio_write(m, cc + 22, 0, 2);
	fake_mmio_write(m, cc + 32, RAM - 64, 4);
	fake_mmio_write(m, cc + 28, 1, 2);
	/* Refused: reads 0.  And a misaligned one. */
	if (fake_mmio_read(m, cc + 28, 2))
		abort();
	fake_mmio_write(m, cc + 32, 0x1001, 4);
	fake_mmio_write(m, cc + 28, 1, 2);
	if (fake_mmio_read(m, cc + 28, 2))
		abort();
	fake_mmio_write(m, cc + 24, 100, 2);	/* not a power of two */
	fake_mmio_write(m, cc + 32, 0x100000, 4);
	fake_mmio_write(m, cc + 28, 1, 2);
	if (fake_mmio_read(m, cc + 28, 2))
		abort();
	vd_set_status(c->d, 15);
}

/* Random writes of every size to every register of the BAR. */
static void b_bar_garbage(struct ctx *c)
{
	struct machine *m = c->d->m;
	uint64_t bar = c->d->common & ~0x3fffULL, x = 88172645463325252ULL;

	for (int i = 0; i < 20000; i++) {
		unsigned int size, off;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size = 1 << (x % 4);
		off = (x >> 8) % 0x4000;
		/* Mostly the common configuration, where the state is. */
		if (x & (1 << 30))
			off %= 64;
		off &= ~(size - 1);
		fake_mmio_write(m, bar + off, x >> 16, size);
		fake_mmio_read(m, bar + off, size);
	}
}

FIXTURE_VARIANT_ADD(hostile, loop) { b_loop, REFUSED };
FIXTURE_VARIANT_ADD(hostile, self_loop) { b_self_loop, REFUSED };
FIXTURE_VARIANT_ADD(hostile, empty_loop) { b_empty_loop, REFUSED };
FIXTURE_VARIANT_ADD(hostile, longer_than_queue) { b_longer_than_queue, REFUSED };
FIXTURE_VARIANT_ADD(hostile, indirect_loop) { b_indirect_loop, REFUSED };
FIXTURE_VARIANT_ADD(hostile, outside_ram) { b_outside_ram, REFUSED };
FIXTURE_VARIANT_ADD(hostile, far_outside_ram) { b_far_outside, REFUSED };
FIXTURE_VARIANT_ADD(hostile, wrapping) { b_wrapping, REFUSED };
FIXTURE_VARIANT_ADD(hostile, huge_len) { b_huge_len, REFUSED };
FIXTURE_VARIANT_ADD(hostile, indirect_in_indirect) { b_indirect_in_indirect, REFUSED };
FIXTURE_VARIANT_ADD(hostile, indirect_size_24) { b_indirect_24, REFUSED };
FIXTURE_VARIANT_ADD(hostile, indirect_size_0) { b_indirect_0, REFUSED };
FIXTURE_VARIANT_ADD(hostile, indirect_huge) { b_indirect_huge, REFUSED };
FIXTURE_VARIANT_ADD(hostile, indirect_outside_ram) { b_indirect_outside, REFUSED };
FIXTURE_VARIANT_ADD(hostile, indirect_with_next) { b_indirect_next, REFUSED };
FIXTURE_VARIANT_ADD(hostile, indirect_next_out) { b_indirect_next_out_of_table, REFUSED };
FIXTURE_VARIANT_ADD(hostile, writable_before_readable) { b_write_before_read, REFUSED };
FIXTURE_VARIANT_ADD(hostile, next_out_of_range) { b_next_out_of_range, REFUSED };
FIXTURE_VARIANT_ADD(hostile, no_status_byte) { b_no_status, REFUSED };
FIXTURE_VARIANT_ADD(hostile, short_header) { b_short_header, REFUSED };
FIXTURE_VARIANT_ADD(hostile, avail_idx_jump) { b_avail_jump, BROKEN };
FIXTURE_VARIANT_ADD(hostile, head_out_of_range) { b_head_out_of_range, BROKEN };
FIXTURE_VARIANT_ADD(hostile, notify_missing_queue) { b_notify_missing_queue, IGNORED };
FIXTURE_VARIANT_ADD(hostile, ring_outside_ram) { b_enable_outside_ram, IGNORED };
FIXTURE_VARIANT_ADD(hostile, bar_garbage) { b_bar_garbage, IGNORED };

/* A machine with a virtio-blk on a raw disk, set up by the driver. */
static int bed_up(struct bed *b)
{
	struct vdisk_create_opts o = { .fmt = VDISK_FMT_RAW, .size = DISK };
	struct vdisk_error err = { "" };
	struct vdisk *disk;
	struct pci_bus *bus;

	strcpy(b->dir, "/tmp/vmm-hostile-XXXXXX");
	if (!mkdtemp(b->dir))
		return -1;
	snprintf(b->path, sizeof(b->path), "%s/disk", b->dir);
	if (vdisk_create(b->path, &o, &err) ||
	    vdisk_open(&disk, b->path, VDISK_FMT_AUTO, 0, &err))
		return -2;
	b->m = fake_machine_new(RAM);
	b->m->quiet = true;
	bus = pci_create(b->m);
	if (!bus || virtio_blk_create(b->m, bus, disk, "hostile") ||
	    vd_probe(&b->d, b->m, 1) || vd_init(&b->d, ~0ULL, 1, true))
		return -3;
	b->c.d = &b->d;
	b->c.hdr = vd_alloc(&b->d, 16);
	b->c.data = vd_alloc(&b->d, 4096);
	b->c.status = vd_alloc(&b->d, 16);
	return 0;
}

static void bed_down(struct bed *b)
{
	if (b->m)
		fake_machine_free(b->m);
	unlink(b->path);
	rmdir(b->dir);
}

FIXTURE_SETUP(hostile)
{
	ASSERT_EQ(0, bed_up(&self->b));
}

FIXTURE_TEARDOWN(hostile)
{
	bed_down(&self->b);
}

/* A good read of sector 0 goes through: status 0, 513 bytes used. */
static int good_request(struct vdrv *d, struct ctx *c)
{
	struct vd_buf b[3] = {
		{ c->hdr, 16, false }, { c->data, 512, true },
		{ c->status, 1, true },
	};
	uint32_t id, len;
	uint16_t head;

	put_hdr(c, 0, 0);
	*(uint8_t *)vd_ptr(d, c->status) = 0xee;
	head = vd_add_chain(d, 0, b, 3);
	vd_publish(d, 0, head);
	vd_kick(d, 0);
	for (int i = 0; i < 100; i++) {
		if (vd_get_used(d, 0, &id, &len))
			return id == head && len == 513 &&
			       *(uint8_t *)vd_ptr(d, c->status) == 0 ? 0 : -2;
		fake_run_io(d->m, 50);
	}
	return -1;
}

TEST_F(hostile, refused)
{
	struct vdrv *d = &self->b.d;
	uint32_t id, len;
	int got;

	ASSERT_EQ(0, good_request(d, &self->b.c));
	put_hdr(&self->b.c, 0, 0);
	self->b.m->guest_errors = 0;
	variant->build(&self->b.c);
	vd_kick(d, 0);
	fake_run_io(self->b.m, 10);
	EXPECT_GT(self->b.m->guest_errors, 0);
	TH_LOG("logged: %s", self->b.m->last_error);
	got = vd_get_used(d, 0, &id, &len);
	switch (variant->expect) {
	case REFUSED:
		ASSERT_EQ(1, got);
		EXPECT_EQ(0, len);
		EXPECT_FALSE(vd_status(d) & VIRTIO_STATUS_NEEDS_RESET);
		break;
	case BROKEN:
		EXPECT_TRUE(vd_status(d) & VIRTIO_STATUS_NEEDS_RESET);
		/* The driver hears of it: a configuration interrupt. */
		EXPECT_EQ(0x30, self->b.m->msi[self->b.m->nr_msi - 1].data);
		/* Nothing moves until the reset. */
		EXPECT_EQ(0, got);
		EXPECT_NE(0, good_request(d, &self->b.c));
		break;
	case IGNORED:
		EXPECT_EQ(0, got);
		break;
	}
	if (variant->expect != REFUSED) {
		d->heap = 1 << 20;
		ASSERT_EQ(0, vd_init(d, ~0ULL, 1, true));
		self->b.c.hdr = vd_alloc(d, 16);
		self->b.c.data = vd_alloc(d, 4096);
		self->b.c.status = vd_alloc(d, 16);
	}
	EXPECT_EQ(0, good_request(d, &self->b.c));
}

FIXTURE(fuzz) {
	struct bed b;
};

FIXTURE_SETUP(fuzz)
{
	ASSERT_EQ(0, bed_up(&self->b));
}

FIXTURE_TEARDOWN(fuzz)
{
	bed_down(&self->b);
}

/*
 * Random descriptor tables and avail rings, addresses mostly inside RAM,
 * lengths and flags and next fields anything: no crash, and a reset
 * brings the device back.
 */
TEST_F(fuzz, random_rings)
{
	struct vdrv *d = &self->b.d;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	unsigned int n = d->q[0].size, resets = 0;

	for (int round = 0; round < 3000; round++) {
		struct vring_desc *t = vd_desc(d, 0);
		uint16_t *avail = vd_avail(d, 0);
		uint32_t id, len;

		for (int k = 0; k < 8; k++) {
			unsigned int i;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			i = x % n;
			t[i].addr = x & (1ULL << 40) ? x >> 8 :
				    (x >> 20) % RAM;
			t[i].len = x & (1 << 5) ? (x >> 32) : (x >> 40) % 8192;
			t[i].flags = (x >> 48) & 7;
			t[i].next = x & (1 << 6) ? (x >> 52) % n : x >> 48;
			if (k < 2)
				vd_publish(d, 0, x & (1 << 7) ? x % n :
					   (x >> 24) & 0xffff);
		}
		if ((x & 0xff) == 7)
			avail[1] += x >> 56;
		if ((x & 0xf00) == 0x100) {
			uint32_t *h = vd_ptr(d, ((x >> 20) % (RAM - 16)) & ~15ULL);

			h[0] = x >> 33 & 0xf;
		}
		vd_kick(d, 0);
		fake_run_io(self->b.m, 0);
		while (vd_get_used(d, 0, &id, &len))
			if (id >= n)
				ASSERT_LT(id, n);
		if (vd_status(d) & VIRTIO_STATUS_NEEDS_RESET) {
			int r;

			resets++;
			d->heap = 1 << 20;
			r = vd_init(d, ~0ULL, 1, x & 1);
			for (int w = 0; r && w < 100; w++) {
				fake_run_io(self->b.m, 50);
				d->heap = 1 << 20;
				r = vd_init(d, ~0ULL, 1, x & 1);
			}
			ASSERT_EQ(0, r);
			self->b.c.hdr = vd_alloc(d, 16);
			self->b.c.data = vd_alloc(d, 4096);
			self->b.c.status = vd_alloc(d, 16);
		}
	}
	TH_LOG("%u resets, %u guest errors", resets, self->b.m->guest_errors);
	/* Drain, reset, and a good request works. */
	for (int w = 0; w < 20; w++)
		fake_run_io(self->b.m, 20);
	d->heap = 1 << 20;
	ASSERT_EQ(0, vd_init(d, ~0ULL, 1, true));
	self->b.c.hdr = vd_alloc(d, 16);
	self->b.c.data = vd_alloc(d, 4096);
	self->b.c.status = vd_alloc(d, 16);
	EXPECT_EQ(0, good_request(d, &self->b.c));
}

TEST_HARNESS_MAIN
