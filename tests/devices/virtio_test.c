// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-pci, virtio-blk and virtio-rng through a test driver that sets
 * them up as Linux does: reads and writes against raw and VHD disks
 * (checked with vdisk_pread), many in flight, direct and indirect chains,
 * flush, GET_ID, errors, read-only disks, reset with requests in flight,
 * a stop that drains and flushes, INTx and MSI-X.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "dev_util.h"
#include "devices.h"
#include "vdisk.h"
#include "vdriver.h"

#define RAM		(64 << 20)
#define DISK		(8 << 20)
#define ALL_F		(~0ULL)

#define T_IN		0
#define T_OUT		1
#define T_FLUSH		4
#define T_GET_ID	8
#define T_DISCARD	11
#define T_WZ		13

static uint64_t seed_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct req {
	uint16_t head;
	uint64_t hdr, data, status;
	uint32_t len;
};

/*
 * A virtio-blk request: header, data in @nseg pieces, status; as one
 * indirect descriptor when @indirect.
 */
static void blk_req(struct vdrv *d, struct req *r, uint32_t type,
		    uint64_t sector, uint64_t data, uint32_t len,
		    unsigned int nseg, bool indirect)
{
	struct vd_buf b[8];
	unsigned int n = 0;
	uint32_t *h;

	r->hdr = vd_alloc(d, 16);
	r->status = vd_alloc(d, 1);
	r->data = data;
	r->len = len;
	h = vd_ptr(d, r->hdr);
	h[0] = type;
	h[1] = 0;
	memcpy(&h[2], &sector, 8);
	*(uint8_t *)vd_ptr(d, r->status) = 0xee;
	b[n++] = (struct vd_buf){ r->hdr, 16, false };
	for (unsigned int i = 0; i < nseg && len; i++) {
		uint32_t l = i + 1 == nseg ? len - (len / nseg) * i : len / nseg;

		b[n++] = (struct vd_buf){ data + (len / nseg) * i, l,
					  type != T_OUT && type != T_DISCARD &&
					  type != T_WZ };
	}
	b[n++] = (struct vd_buf){ r->status, 1, true };
	r->head = indirect ? vd_add_indirect(d, 0, b, n) :
			     vd_add_chain(d, 0, b, n);
	vd_publish(d, 0, r->head);
}

static uint8_t status_of(struct vdrv *d, const struct req *r)
{
	return *(uint8_t *)vd_ptr(d, r->status);
}

/* Collect @n used entries, running the I/O thread; ids and lens out. */
static int wait_used(struct vdrv *d, unsigned int q, unsigned int n,
		     uint32_t *ids, uint32_t *lens)
{
	unsigned int got = 0;
	int idle = 0;

	while (got < n) {
		uint32_t id, len;

		if (vd_get_used(d, q, &id, &len)) {
			if (ids)
				ids[got] = id;
			if (lens)
				lens[got] = len;
			got++;
			idle = 0;
			continue;
		}
		if (fake_run_io(d->m, 100) == 0 && ++idle > 50)
			return got;
	}
	return got;
}

/* One request, waited for: its status. */
static int blk_one(struct vdrv *d, uint32_t type, uint64_t sector,
		   uint64_t data, uint32_t len, uint32_t *used_len)
{
	struct req r;
	uint32_t id, l;

	blk_req(d, &r, type, sector, data, len, 1, false);
	vd_kick(d, 0);
	if (wait_used(d, 0, 1, &id, &l) != 1 || id != r.head)
		return -1;
	if (used_len)
		*used_len = l;
	return status_of(d, &r);
}

enum disk_kind { RAW, DYNAMIC };

FIXTURE(blk) {
	char dir[64], path[128];
	struct machine *m;
	struct pci_bus *bus;
	struct vdisk *disk;
	struct vdrv d;
};

FIXTURE_VARIANT(blk) {
	enum vdisk_fmt fmt;
	bool rdonly;
};

FIXTURE_VARIANT_ADD(blk, raw) { .fmt = VDISK_FMT_RAW };
FIXTURE_VARIANT_ADD(blk, vhd_dynamic) { .fmt = VDISK_FMT_VHD_DYNAMIC };
FIXTURE_VARIANT_ADD(blk, vhd_fixed) { .fmt = VDISK_FMT_VHD_FIXED };

FIXTURE_SETUP(blk)
{
	struct vdisk_create_opts o = { .fmt = variant->fmt, .size = DISK,
				       .force_size = true };
	struct vdisk_error err = { "" };

	strcpy(self->dir, "/tmp/vmm-devtest-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/disk", self->dir);
	ASSERT_EQ(0, vdisk_create(self->path, &o, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, vdisk_open(&self->disk, self->path, VDISK_FMT_AUTO,
				variant->rdonly ? VDISK_O_RDONLY : 0, &err))
		TH_LOG("%s", err.msg);
	self->m = fake_machine_new(RAM);
	ASSERT_NE(NULL, self->m);
	self->bus = pci_create(self->m);
	ASSERT_NE(NULL, self->bus);
	ASSERT_EQ(0, virtio_blk_create(self->m, self->bus, self->disk,
				       "vmm-test-disk"));
	ASSERT_EQ(0, vd_probe(&self->d, self->m, 1));
}

FIXTURE_TEARDOWN(blk)
{
	char cmd[160];

	fake_machine_free(self->m);	/* closes the disk */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("cannot remove %s", self->dir);
}

TEST_F(blk, config_and_features)
{
	uint64_t f = vd_offered(&self->d);

	EXPECT_EQ(0x10421af4, cfg_read(self->m, 1, 0, 4));
	EXPECT_TRUE(f & 1ULL << VIRTIO_F_VERSION_1);
	EXPECT_TRUE(f & 1ULL << VIRTIO_F_INDIRECT_DESC);
	EXPECT_TRUE(f & 1ULL << VIRTIO_F_EVENT_IDX);
	EXPECT_TRUE(f & 1ULL << 9);		/* FLUSH */
	EXPECT_FALSE(f & 1ULL << 5);		/* RO */
	EXPECT_FALSE(f & 1ULL << 34);		/* no packed ring */
	ASSERT_EQ(0, vd_init(&self->d, ALL_F, 1, true));
	self->m->quiet = true;
	EXPECT_EQ(DISK / 512, vd_read_cfg(&self->d, 0, 8));
	EXPECT_EQ(254, vd_read_cfg(&self->d, 12, 4));
	EXPECT_EQ(512, vd_read_cfg(&self->d, 20, 4));
	EXPECT_EQ(256, self->d.q[0].size);
	/* Features the device does not offer are refused. */
	vd_set_status(&self->d, 0);
	vd_set_status(&self->d, 3);
	fake_mmio_write(self->m, self->d.common + 8, 1, 4);
	fake_mmio_write(self->m, self->d.common + 12, 1 | 1 << 2, 4);
	vd_set_status(&self->d, 3 | VIRTIO_STATUS_FEATURES_OK);
	EXPECT_FALSE(vd_status(&self->d) & VIRTIO_STATUS_FEATURES_OK);
	/* So is a driver without VERSION_1. */
	vd_set_status(&self->d, 0);
	vd_set_status(&self->d, 3);
	vd_set_status(&self->d, 3 | VIRTIO_STATUS_FEATURES_OK);
	EXPECT_FALSE(vd_status(&self->d) & VIRTIO_STATUS_FEATURES_OK);
}

/* The BAR through VIRTIO_PCI_CAP_PCI_CFG, as firmware would use it. */
TEST_F(blk, pci_cfg_window)
{
	struct machine *m = self->m;
	unsigned int c = 0;

	while ((c = cfg_find_cap(m, 1, PCI_CAP_ID_VNDR, c)))
		if (cfg_read(m, 1, c + 3, 1) == 5)
			break;
	ASSERT_NE(0, c);
	EXPECT_EQ(20, cfg_read(m, 1, c + 2, 1));
	/* num_queues: common configuration + 18, two bytes. */
	cfg_write(m, 1, c + 4, VIRTIO_BAR, 1);
	cfg_write(m, 1, c + 8, VIRTIO_COMMON_OFF + 18, 4);
	cfg_write(m, 1, c + 12, 2, 4);
	EXPECT_EQ(1, cfg_read(m, 1, c + 16, 2));
	/* Capacity from the device configuration, four bytes. */
	cfg_write(m, 1, c + 8, VIRTIO_DEVICE_OFF, 4);
	cfg_write(m, 1, c + 12, 4, 4);
	EXPECT_EQ(DISK / 512, cfg_read(m, 1, c + 16, 4));
	/* A write: device status through the window, read back directly. */
	cfg_write(m, 1, c + 8, VIRTIO_COMMON_OFF + 20, 4);
	cfg_write(m, 1, c + 12, 1, 4);
	cfg_write(m, 1, c + 16, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	EXPECT_EQ(VIRTIO_STATUS_ACKNOWLEDGE, vd_status(&self->d));
	/* Bad windows: refused and logged, reads 0. */
	m->quiet = true;
	m->guest_errors = 0;
	cfg_write(m, 1, c + 12, 3, 4);
	EXPECT_EQ(0, cfg_read(m, 1, c + 16, 4));
	cfg_write(m, 1, c + 12, 4, 4);
	cfg_write(m, 1, c + 8, VIRTIO_BAR_SIZE - 2, 4);
	EXPECT_EQ(0, cfg_read(m, 1, c + 16, 4));
	cfg_write(m, 1, c + 8, 0, 4);
	cfg_write(m, 1, c + 4, 0, 1);
	EXPECT_EQ(0, cfg_read(m, 1, c + 16, 4));
	cfg_write(m, 1, c + 16, 0, 4);
	EXPECT_EQ(4, m->guest_errors);
	/* The device still initialises normally. */
	ASSERT_EQ(0, vd_init(&self->d, ALL_F, 1, true));
}

/* Writes and reads, many in flight, checked against vdisk_pread. */
static void rw_round(struct __test_metadata *_metadata, FIXTURE_DATA(blk) *self,
		     bool msix, uint64_t seed)
{
	enum { N = 48 };
	struct vdrv *d = &self->d;
	struct req r[N];
	uint32_t ids[N], lens[N];
	uint64_t s = seed;
	uint8_t *buf;
	uint64_t area;

	ASSERT_EQ(0, vd_init(d, ALL_F, 1, msix));
	area = vd_alloc(d, N * 16 * 512);
	for (int i = 0; i < N; i++) {
		uint32_t len = 512 * (1 + seed_next(&s) % 16);
		uint64_t data = area + i * 16 * 512;
		uint8_t *p = vd_ptr(d, data);

		for (uint32_t j = 0; j < len; j++)
			p[j] = seed_next(&s);
		blk_req(d, &r[i], T_OUT, i * 37 + (seed % 5), data, len,
			1 + i % 3, i % 2);
	}
	vd_kick(d, 0);
	ASSERT_EQ(N, wait_used(d, 0, N, ids, lens));
	for (int i = 0; i < N; i++) {
		int k;

		for (k = 0; k < N && r[k].head != ids[i]; k++)
			;
		ASSERT_LT(k, N);
		EXPECT_EQ(1, lens[i]);
		EXPECT_EQ(0, status_of(d, &r[k]));
	}
	buf = malloc(16 * 512);
	for (int i = 0; i < N; i++) {
		uint64_t sector;

		memcpy(&sector, (uint8_t *)vd_ptr(d, r[i].hdr) + 8, 8);
		ASSERT_EQ(0, vdisk_pread(self->disk, buf, r[i].len,
					 sector * 512));
		ASSERT_EQ(0, memcmp(buf, vd_ptr(d, r[i].data), r[i].len));
	}
	/* Read them back through the device into fresh buffers. */
	for (int i = 0; i < N; i++) {
		uint64_t sector, data = vd_alloc(d, r[i].len);
		struct req w = r[i];

		memcpy(&sector, (uint8_t *)vd_ptr(d, w.hdr) + 8, 8);
		blk_req(d, &r[i], T_IN, sector, data, w.len, 1 + i % 4,
			!(i % 3));
		r[i].hdr = w.data;	/* where the written data is */
	}
	vd_kick(d, 0);
	ASSERT_EQ(N, wait_used(d, 0, N, ids, lens));
	for (int i = 0; i < N; i++) {
		int k;

		for (k = 0; k < N && r[k].head != ids[i]; k++)
			;
		ASSERT_LT(k, N);
		EXPECT_EQ(r[k].len + 1, lens[i]);
		EXPECT_EQ(0, status_of(d, &r[k]));
		EXPECT_EQ(0, memcmp(vd_ptr(d, r[k].hdr), vd_ptr(d, r[k].data),
				    r[k].len));
	}
	free(buf);
}

TEST_F(blk, read_write_msix)
{
	unsigned int msi0 = self->m->nr_msi;

	rw_round(_metadata, self, true, 0x1234567);
	EXPECT_GT(self->m->nr_msi, msi0);
	EXPECT_EQ(0x31, self->m->msi[self->m->nr_msi - 1].data);
	EXPECT_EQ(0, self->m->guest_errors);
}

TEST_F(blk, read_write_intx)
{
	struct vdrv *d = &self->d;
	uint32_t gsi = MACHINE_PCI_GSI_BASE + 1 % 4;

	rw_round(_metadata, self, false, 0x7654321);
	EXPECT_EQ(0, self->m->nr_msi);
	EXPECT_GT(self->m->irq_raises[gsi], 0);
	EXPECT_EQ(1, self->m->irq[gsi]);
	EXPECT_EQ(1, fake_mmio_read(self->m, d->isr, 1));
	EXPECT_EQ(0, self->m->irq[gsi]);
	EXPECT_EQ(0, fake_mmio_read(self->m, d->isr, 1));
}

TEST_F(blk, flush_get_id_and_errors)
{
	struct vdrv *d = &self->d;
	uint64_t data;
	uint32_t len;

	ASSERT_EQ(0, vd_init(d, ALL_F, 1, true));
	data = vd_alloc(d, 8192);
	EXPECT_EQ(0, blk_one(d, T_FLUSH, 0, 0, 0, NULL));
	/* 20 bytes, NUL-padded, and the status byte. */
	memset(vd_ptr(d, data), 0xff, 20);
	EXPECT_EQ(0, blk_one(d, T_GET_ID, 0, data, 20, &len));
	EXPECT_EQ(21, len);
	EXPECT_EQ(0, memcmp(vd_ptr(d, data), "vmm-test-disk\0\0\0\0\0\0", 20));
	self->m->quiet = true;
	/* Past the end, across the end, a sector number that overflows. */
	EXPECT_EQ(1, blk_one(d, T_IN, DISK / 512, data, 512, NULL));
	EXPECT_EQ(1, blk_one(d, T_OUT, DISK / 512 - 1, data, 1024, NULL));
	EXPECT_EQ(1, blk_one(d, T_IN, 1ULL << 60, data, 512, NULL));
	EXPECT_EQ(1, blk_one(d, T_IN, ~0ULL, data, 512, NULL));
	/* Not whole sectors. */
	EXPECT_EQ(1, blk_one(d, T_IN, 0, data, 100, NULL));
	EXPECT_EQ(1, blk_one(d, T_OUT, 0, data, 513, NULL));
	/* Unknown request types. */
	EXPECT_EQ(2, blk_one(d, 99, 0, data, 512, NULL));
	EXPECT_EQ(2, blk_one(d, 0x80000000, 0, data, 512, NULL));
	/* The last sector works. */
	EXPECT_EQ(0, blk_one(d, T_OUT, DISK / 512 - 1, data, 512, NULL));
	EXPECT_EQ(0, blk_one(d, T_IN, DISK / 512 - 1, data, 512, &len));
	EXPECT_EQ(513, len);
}

TEST_F(blk, discard_and_write_zeroes)
{
	struct vdrv *d = &self->d;
	uint64_t data, seg;
	uint8_t buf[4096];
	struct {
		uint64_t sector;
		uint32_t num, flags;
	} *s;
	struct req r;
	uint32_t id, len;

	ASSERT_EQ(0, vd_init(d, ALL_F, 1, true));
	data = vd_alloc(d, 4096);
	memset(vd_ptr(d, data), 0x5a, 4096);
	EXPECT_EQ(0, blk_one(d, T_OUT, 8, data, 4096, NULL));
	seg = vd_alloc(d, 16);
	s = vd_ptr(d, seg);
	s->sector = 8;
	s->num = 8;
	s->flags = 0;
	blk_req(d, &r, T_WZ, 0, seg, 16, 1, false);
	vd_kick(d, 0);
	ASSERT_EQ(1, wait_used(d, 0, 1, &id, &len));
	EXPECT_EQ(0, status_of(d, &r));
	ASSERT_EQ(0, vdisk_pread(self->disk, buf, 4096, 8 * 512));
	for (int i = 0; i < 4096; i++)
		ASSERT_EQ(0, buf[i]);
	s->num = 1 << 30;	/* more than we said we take */
	self->m->quiet = true;
	blk_req(d, &r, T_DISCARD, 0, seg, 16, 1, false);
	vd_kick(d, 0);
	ASSERT_EQ(1, wait_used(d, 0, 1, &id, &len));
	EXPECT_EQ(1, status_of(d, &r));
}

TEST_F(blk, reset_with_requests_in_flight)
{
	struct vdrv *d = &self->d;
	uint16_t *used;
	struct req r[16];
	uint64_t data;
	int rounds = 0;

	ASSERT_EQ(0, vd_init(d, ALL_F, 1, true));
	data = vd_alloc(d, 16 * 4096);
	for (int i = 0; i < 16; i++)
		blk_req(d, &r[i], T_OUT, i * 8, data + i * 4096, 4096, 2,
			false);
	vd_kick(d, 0);
	used = vd_ptr(d, d->q[0].used);
	/* Reset before the I/O thread saw any completion. */
	vd_set_status(d, 0);
	EXPECT_NE(0, vd_status(d));
	while (vd_status(d) && rounds++ < 100)
		fake_run_io(self->m, 100);
	EXPECT_EQ(0, vd_status(d));
	/* Nothing was put on the old ring after the reset. */
	EXPECT_EQ(0, used[1]);
	/* The device works after it. */
	d->heap = 1 << 20;
	ASSERT_EQ(0, vd_init(d, ALL_F, 1, true));
	data = vd_alloc(d, 512);
	EXPECT_EQ(0, blk_one(d, T_IN, 0, data, 512, NULL));
}

TEST_F(blk, stop_drains_and_flushes)
{
	struct vdrv *d = &self->d;
	struct vdisk_error err = { "" };
	struct req r[8];
	uint8_t buf[4096];
	uint64_t data;

	ASSERT_EQ(0, vd_init(d, ALL_F, 1, true));
	data = vd_alloc(d, 8 * 4096);
	for (int i = 0; i < 8 * 4096; i++)
		((uint8_t *)vd_ptr(d, data))[i] = i * 7 + i / 4096;
	for (int i = 0; i < 8; i++)
		blk_req(d, &r[i], T_OUT, 100 + i * 8, data + i * 4096, 4096,
			1, false);
	vd_kick(d, 0);
	fake_machine_stop(self->m);
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(0, status_of(d, &r[i]));
	ASSERT_EQ(0, vdisk_open(&self->disk, self->path, VDISK_FMT_AUTO,
				VDISK_O_RDONLY, &err));
	for (int i = 0; i < 8; i++) {
		ASSERT_EQ(0, vdisk_pread(self->disk, buf, 4096,
					 (100 + i * 8) * 512));
		ASSERT_EQ(0, memcmp(buf, vd_ptr(d, data + i * 4096), 4096));
	}
	vdisk_close(self->disk);
}

/*
 * Threads as vmm-run has them: this one kicks (a vCPU), one runs the
 * completions (the I/O thread), one reads configuration space and the
 * MSI-X table (another vCPU, as lspci would).  No deadlock, no lost
 * request.
 */
struct side {
	struct machine *m;
	volatile bool stop;
	unsigned long rounds;
};

static void *io_thread(void *arg)
{
	struct side *s = arg;

	while (!s->stop)
		fake_run_io(s->m, 5);
	return NULL;
}

static void *cfg_thread(void *arg)
{
	struct side *s = arg;
	uint64_t tbl = 0;

	while (!s->stop) {
		/* Mechanism #1 is one shared latch: serialise as Linux does. */
		fake_out(s->m, 0xcf8, 0x80000800 | (s->rounds % 64) * 4, 4);
		fake_in(s->m, 0xcfc, 4);
		if (!tbl) {
			fake_out(s->m, 0xcf8, 0x80000814, 4);
			tbl = fake_in(s->m, 0xcfc, 4) & ~15ULL;
		}
		fake_mmio_read(s->m, tbl + 12, 4);
		s->rounds++;
	}
	return NULL;
}

TEST_F(blk, threads)
{
	struct vdrv *d = &self->d;
	struct side side = { .m = self->m };
	pthread_t io, cfg;
	uint64_t data;
	unsigned int done = 0;

	ASSERT_EQ(0, vd_init(d, ALL_F, 1, true));
	data = vd_alloc(d, 64 * 4096);
	ASSERT_EQ(0, pthread_create(&io, NULL, io_thread, &side));
	ASSERT_EQ(0, pthread_create(&cfg, NULL, cfg_thread, &side));
	for (int round = 0; round < 200 && done == round * 16; round++) {
		struct req r[16];
		uint32_t id, len;
		int waited = 0;

		for (int i = 0; i < 16; i++)
			blk_req(d, &r[i], i % 2 ? T_IN : T_OUT,
				(round * 16 + i) % 2048, data + i * 4096, 4096,
				2, i % 3 == 0);
		vd_kick(d, 0);
		for (int got = 0; got < 16 && waited < 5000; ) {
			if (vd_get_used(d, 0, &id, &len)) {
				got++;
				done++;
			} else {
				usleep(1000);
				waited++;
			}
		}
		/* Reset the allocator: the same buffers each round. */
		d->heap = data + 64 * 4096;
	}
	side.stop = true;
	pthread_join(io, NULL);
	pthread_join(cfg, NULL);
	EXPECT_EQ(200 * 16, done);
	EXPECT_GT(side.rounds, 0);
	EXPECT_EQ(0, self->m->guest_errors) TH_LOG("%s", self->m->last_error);
}

FIXTURE(blk_ro) {
	char dir[64], path[128];
	struct machine *m;
	struct vdisk *disk;
	struct vdrv d;
};

FIXTURE_SETUP(blk_ro)
{
	struct vdisk_create_opts o = { .fmt = VDISK_FMT_VHD_DYNAMIC,
				       .size = DISK };
	struct vdisk_error err = { "" };
	struct pci_bus *bus;

	strcpy(self->dir, "/tmp/vmm-devtest-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/ro.vhd", self->dir);
	ASSERT_EQ(0, vdisk_create(self->path, &o, &err));
	ASSERT_EQ(0, vdisk_open(&self->disk, self->path, VDISK_FMT_AUTO,
				VDISK_O_RDONLY, &err));
	self->m = fake_machine_new(RAM);
	bus = pci_create(self->m);
	ASSERT_EQ(0, virtio_blk_create(self->m, bus, self->disk, "ro"));
	ASSERT_EQ(0, vd_probe(&self->d, self->m, 1));
}

FIXTURE_TEARDOWN(blk_ro)
{
	fake_machine_free(self->m);
	unlink(self->path);
	rmdir(self->dir);
}

TEST_F(blk_ro, read_only)
{
	struct vdrv *d = &self->d;
	uint64_t data;

	EXPECT_TRUE(vd_offered(d) & 1ULL << 5);
	EXPECT_FALSE(vd_offered(d) & 1ULL << 13);
	ASSERT_EQ(0, vd_init(d, ALL_F, 1, true));
	data = vd_alloc(d, 4096);
	EXPECT_EQ(0, blk_one(d, T_IN, 0, data, 4096, NULL));
	EXPECT_EQ(1, blk_one(d, T_OUT, 0, data, 4096, NULL));
	EXPECT_EQ(0, blk_one(d, T_FLUSH, 0, 0, 0, NULL));
}

TEST(rng_fills_buffers)
{
	struct machine *m = fake_machine_new(RAM);
	struct pci_bus *bus = pci_create(m);
	struct vdrv d;
	struct vd_buf b[3];
	uint32_t id, len;
	uint64_t a;
	uint8_t *p;
	int nonzero = 0;

	ASSERT_EQ(0, virtio_rng_create(m, bus));
	ASSERT_EQ(0, vd_probe(&d, m, 1));
	EXPECT_EQ(0x10441af4, cfg_read(m, 1, 0, 4));
	ASSERT_EQ(0, vd_init(&d, ALL_F, 1, true));
	a = vd_alloc(&d, 4096 + 4096 + 16);
	b[0] = (struct vd_buf){ a, 4096, true };
	b[1] = (struct vd_buf){ a + 4096, 4096, true };
	b[2] = (struct vd_buf){ a + 8192, 16, true };
	vd_publish(&d, 0, vd_add_chain(&d, 0, b, 3));
	vd_kick(&d, 0);
	ASSERT_EQ(1, vd_get_used(&d, 0, &id, &len));
	EXPECT_EQ(0, id);
	EXPECT_EQ(8192 + 16, len);
	p = vd_ptr(&d, a);
	for (int i = 0; i < 8192 + 16; i++)
		nonzero += p[i] != 0;
	EXPECT_GT(nonzero, 8000);
	EXPECT_EQ(1, m->nr_msi);
	/* A chain with nothing writable comes back with nothing written. */
	b[0].write = false;
	vd_publish(&d, 0, vd_add_chain(&d, 0, b, 1));
	vd_kick(&d, 0);
	ASSERT_EQ(1, vd_get_used(&d, 0, &id, &len));
	EXPECT_EQ(0, len);
	fake_machine_free(m);
}

TEST_HARNESS_MAIN
