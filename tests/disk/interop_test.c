// SPDX-License-Identifier: GPL-2.0
/*
 * Interoperability of the disk layer with the real peer, qemu-img/qemu-io:
 * VHDs qemu made (dynamic and fixed, with and without force_size) read
 * byte for byte through vdisk; VHDs vdisk made read the same through
 * qemu (qemu-img compare against a raw mirror); each side writes into the
 * other's images; both agree on the virtual size whatever the creator
 * application says.  qemu-img is always given -f vpc: its probe takes a
 * fixed VHD for raw.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "disk_util.h"

#define NEED_QEMU() do {						\
	if (!have_prog("qemu-img") || !have_prog("qemu-io"))		\
		SKIP(return, "qemu-img/qemu-io not installed");		\
} while (0)

FIXTURE(interop) {
	char dir[PATH_MAX];
	char out[8192];
};

FIXTURE_SETUP(interop)
{
	ASSERT_EQ(0, tdir_make(self->dir, sizeof(self->dir), "interop"));
}

FIXTURE_TEARDOWN(interop)
{
	tdir_remove(self->dir);
}

/* One extent written on both sides: @pattern (qemu-io -P) or random. */
struct extent {
	uint64_t off, len;
	int pattern;
};

/* Extents that start, end and straddle 2 MiB blocks and the disk's end. */
static int extents_for(uint64_t size, struct extent *e)
{
	int n = 0;

	e[n++] = (struct extent){ 0, 64 * KiB, 0x11 };
	e[n++] = (struct extent){ 2 * MiB - 4 * KiB, 8 * KiB, 0x22 };
	e[n++] = (struct extent){ 10 * MiB + 512, 512, 0x33 };
	e[n++] = (struct extent){ 5 * MiB + 1536, 3 * MiB + 1024, 0x44 };
	e[n++] = (struct extent){ size - 4 * KiB, 4 * KiB, 0x55 };
	e[n++] = (struct extent){ size - 2 * MiB - 512, 1024, 0x66 };
	return n;
}

static void mirror_make(const char *path, uint64_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (ftruncate(fd, size))
			perror(path);
		close(fd);
	}
}

static void mirror_pattern(const char *path, const struct extent *e)
{
	uint8_t *buf = malloc(e->len);

	memset(buf, e->pattern, e->len);
	file_pwrite(path, buf, e->len, e->off);
	free(buf);
}

/* Open read-only, check format and size, compare with the mirror. */
static void read_back(struct __test_metadata *_metadata, const char *img,
		      enum vdisk_fmt want_fmt, uint64_t want_size,
		      const char *mirror)
{
	struct vdisk_error err = { "" };
	struct vdisk_info info;
	struct vdisk *d;
	uint64_t bad = 0;
	int ret;

	ret = vdisk_open(&d, img, VDISK_FMT_AUTO, VDISK_O_RDONLY, &err);
	ASSERT_EQ(0, ret) TH_LOG("open %s: %s", img, err.msg);
	ASSERT_EQ(0, vdisk_get_info(d, &info));
	EXPECT_EQ(want_fmt, info.fmt);
	EXPECT_EQ(want_size, info.size);
	ret = vd_compare_file(d, mirror, &bad);
	EXPECT_EQ(0, ret) TH_LOG("%s differs from the mirror at byte %llu",
				 img, (unsigned long long)bad);
	vdisk_close(d);

	/* The explicit format must give the same. */
	ret = vdisk_open(&d, img, want_fmt, VDISK_O_RDONLY, &err);
	ASSERT_EQ(0, ret) TH_LOG("open %s as %s: %s", img,
				 vdisk_fmt_name(want_fmt), err.msg);
	vdisk_close(d);
}

/* qemu-img create + qemu-io writes, then read through vdisk. */
static void qemu_dynamic(struct __test_metadata *_metadata,
			 FIXTURE_DATA(interop) *self, bool force)
{
	const char *img = tpath(self->dir, "q.vhd");
	const char *raw = tpath(self->dir, "q.raw");
	struct extent e[8];
	uint64_t size;
	int i, n;

	ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
			     "qemu-img create -f vpc -o subformat=dynamic%s "
			     "'%s' %llu", force ? ",force_size=on" : "", img,
			     50 * MiB + 3 * 512)) TH_LOG("%s", self->out);
	ASSERT_EQ(0, qemu_vpc_size(img, &size));
	if (force)
		EXPECT_EQ(50 * MiB + 3 * 512, size);
	mirror_make(raw, size);
	n = extents_for(size, e);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
				     "qemu-io -f vpc -c 'write -P %d %llu %llu' "
				     "'%s'", e[i].pattern,
				     (unsigned long long)e[i].off,
				     (unsigned long long)e[i].len, img))
			TH_LOG("%s", self->out);
		mirror_pattern(raw, &e[i]);
	}
	read_back(_metadata, img, VDISK_FMT_VHD_DYNAMIC, size, raw);
}

TEST_F(interop, qemu_dynamic)
{
	NEED_QEMU();
	qemu_dynamic(_metadata, self, false);
}

TEST_F(interop, qemu_dynamic_force_size)
{
	NEED_QEMU();
	qemu_dynamic(_metadata, self, true);
}

/*
 * qemu-img convert from a raw file of random data with holes (whole zero
 * MiBs, which convert leaves unallocated in a dynamic image).
 */
static void qemu_convert(struct __test_metadata *_metadata,
			 FIXTURE_DATA(interop) *self, const char *sub,
			 bool force)
{
	const uint64_t want = 24 * MiB + 7 * 512;
	const char *img = tpath(self->dir, "c.vhd");
	const char *src = tpath(self->dir, "src.raw");
	const char *raw = tpath(self->dir, "mirror.raw");
	uint8_t *data = malloc(want);
	uint64_t size, m;

	rnd_fill(data, want, 42);
	for (m = 3; m * MiB < want; m += 5)
		memset(data + m * MiB, 0, MiB);
	ASSERT_EQ(0, file_write(src, data, want));
	ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
			     "qemu-img convert -f raw -O vpc -o subformat=%s%s "
			     "'%s' '%s'", sub, force ? ",force_size=on" : "",
			     src, img)) TH_LOG("%s", self->out);
	ASSERT_EQ(0, qemu_vpc_size(img, &size));
	ASSERT_LE(want, size);
	if (force)
		EXPECT_EQ(want, size);
	/* Without force_size qemu rounds up to the CHS geometry: zeros. */
	ASSERT_EQ(0, file_write(raw, data, want));
	ASSERT_EQ(0, file_truncate(raw, size));
	free(data);
	read_back(_metadata, img, strcmp(sub, "fixed") ?
		  VDISK_FMT_VHD_DYNAMIC : VDISK_FMT_VHD_FIXED, size, raw);
}

TEST_F(interop, qemu_convert_fixed)
{
	NEED_QEMU();
	qemu_convert(_metadata, self, "fixed", false);
}

TEST_F(interop, qemu_convert_fixed_force_size)
{
	NEED_QEMU();
	qemu_convert(_metadata, self, "fixed", true);
}

TEST_F(interop, qemu_convert_dynamic)
{
	NEED_QEMU();
	qemu_convert(_metadata, self, "dynamic", false);
}

TEST_F(interop, qemu_convert_dynamic_force_size)
{
	NEED_QEMU();
	qemu_convert(_metadata, self, "dynamic", true);
}

/* Random extents (sector-aligned) through vdisk and into the mirror. */
static void write_random(struct __test_metadata *_metadata,
			 struct vdisk *d, const char *raw, uint64_t size,
			 uint64_t seed)
{
	uint64_t s = seed, off, len;
	uint8_t *buf = malloc(4 * MiB);
	int i, ret;

	for (i = 0; i < 40; i++) {
		len = (1 + rnd_below(&s, i % 4 ? 16 : 8192)) * 512;
		off = rnd_below(&s, (size - len) / 512 + 1) * 512;
		rnd_fill(buf, len, seed * 1000 + i);
		ret = vdisk_pwrite(d, buf, len, off);
		ASSERT_EQ(0, ret) TH_LOG("pwrite %llu+%llu: %d",
					 (unsigned long long)off,
					 (unsigned long long)len, ret);
		ASSERT_EQ(0, file_pwrite(raw, buf, len, off));
	}
	free(buf);
}

/* vdisk_create + vdisk writes, then qemu-img compare -f vpc -F raw. */
static void ours_to_qemu(struct __test_metadata *_metadata,
			 FIXTURE_DATA(interop) *self, enum vdisk_fmt fmt,
			 bool force)
{
	struct vdisk_create_opts o = { .fmt = fmt, .size = 40 * MiB + 5 * 512,
				       .force_size = force };
	const char *img = tpath(self->dir, "ours.vhd");
	const char *raw = tpath(self->dir, "mirror.raw");
	struct vdisk_error err = { "" };
	struct vdisk_info info;
	struct vdisk *d;
	uint64_t qsize = 0;
	int ret;

	ret = vdisk_create(img, &o, &err);
	ASSERT_EQ(0, ret) TH_LOG("create: %s", err.msg);
	ret = vdisk_open(&d, img, VDISK_FMT_AUTO, 0, &err);
	ASSERT_EQ(0, ret) TH_LOG("open: %s", err.msg);
	ASSERT_EQ(0, vdisk_get_info(d, &info));
	EXPECT_EQ(fmt, info.fmt);
	if (force) {
		EXPECT_EQ(o.size, info.size);
	} else {
		EXPECT_LE(o.size, info.size);
	}
	mirror_make(raw, info.size);
	write_random(_metadata, d, raw, info.size, 7 + fmt);
	ASSERT_EQ(0, vdisk_close(d));

	ASSERT_EQ(0, qemu_vpc_size(img, &qsize));
	EXPECT_EQ(info.size, qsize) TH_LOG("qemu and vdisk disagree on the size");
	EXPECT_EQ(0, run_cmd(self->out, sizeof(self->out),
			     "qemu-img compare -f vpc -F raw '%s' '%s'", img,
			     raw)) TH_LOG("%s", self->out);
}

TEST_F(interop, ours_fixed_to_qemu)
{
	NEED_QEMU();
	ours_to_qemu(_metadata, self, VDISK_FMT_VHD_FIXED, false);
}

TEST_F(interop, ours_fixed_force_size_to_qemu)
{
	NEED_QEMU();
	ours_to_qemu(_metadata, self, VDISK_FMT_VHD_FIXED, true);
}

TEST_F(interop, ours_dynamic_to_qemu)
{
	NEED_QEMU();
	ours_to_qemu(_metadata, self, VDISK_FMT_VHD_DYNAMIC, false);
}

TEST_F(interop, ours_dynamic_force_size_to_qemu)
{
	NEED_QEMU();
	ours_to_qemu(_metadata, self, VDISK_FMT_VHD_DYNAMIC, true);
}

/* qemu-io allocates blocks in a dynamic image we made; we read them. */
TEST_F(interop, qemu_writes_ours)
{
	struct vdisk_create_opts o = { .fmt = VDISK_FMT_VHD_DYNAMIC,
				       .size = 32 * MiB, .force_size = true };
	const char *img = tpath(self->dir, "ours.vhd");
	const char *raw = tpath(self->dir, "mirror.raw");
	struct vdisk_error err = { "" };
	struct extent e[8];
	int i, n;

	NEED_QEMU();
	ASSERT_EQ(0, vdisk_create(img, &o, &err)) TH_LOG("%s", err.msg);
	mirror_make(raw, o.size);
	n = extents_for(o.size, e);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
				     "qemu-io -f vpc -c 'write -P %d %llu %llu' "
				     "'%s'", e[i].pattern,
				     (unsigned long long)e[i].off,
				     (unsigned long long)e[i].len, img))
			TH_LOG("%s", self->out);
		mirror_pattern(raw, &e[i]);
	}
	read_back(_metadata, img, VDISK_FMT_VHD_DYNAMIC, o.size, raw);
}

/* We allocate blocks in a dynamic image qemu made; qemu reads them. */
TEST_F(interop, ours_writes_qemus)
{
	const char *img = tpath(self->dir, "q.vhd");
	const char *raw = tpath(self->dir, "mirror.raw");
	struct vdisk_error err = { "" };
	struct vdisk *d;
	uint64_t size;
	int ret;

	NEED_QEMU();
	ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
			     "qemu-img create -f vpc -o subformat=dynamic "
			     "'%s' 48M && qemu-io -f vpc -c 'write -P 9 1M 1M' "
			     "'%s'", img, img)) TH_LOG("%s", self->out);
	ASSERT_EQ(0, qemu_vpc_size(img, &size));
	mirror_make(raw, size);
	mirror_pattern(raw, &(struct extent){ MiB, MiB, 9 });
	ret = vdisk_open(&d, img, VDISK_FMT_VHD_DYNAMIC, 0, &err);
	ASSERT_EQ(0, ret) TH_LOG("open: %s", err.msg);
	write_random(_metadata, d, raw, size, 99);
	ASSERT_EQ(0, vdisk_close(d));
	EXPECT_EQ(0, run_cmd(self->out, sizeof(self->out),
			     "qemu-img compare -f vpc -F raw '%s' '%s'", img,
			     raw)) TH_LOG("%s", self->out);
	/* And our reading of our own writes agrees. */
	read_back(_metadata, img, VDISK_FMT_VHD_DYNAMIC, size, raw);
}

/*
 * The virtual size: current_size or CHS, depending on the creator
 * application (qemu's table: "vpc " and "qemu" use CHS, "win ", "qem2"
 * and the rest current_size; the maximum CHS always means current_size).
 * A force_size image has current_size != CHS, so the two differ.
 */
static void size_rule(struct __test_metadata *_metadata,
		      FIXTURE_DATA(interop) *self, const char *app,
		      bool max_chs)
{
	const char *img = tpath(self->dir, "s.vhd");
	struct vdisk_error err = { "" };
	uint8_t ftr[VHD_FOOTER_SIZE];
	struct vdisk_info info;
	struct vdisk *d;
	uint64_t qsize, len;
	int fd, ret;

	ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
			     "qemu-img create -f vpc -o subformat=fixed,"
			     "force_size=on '%s' %llu", img,
			     30 * MiB + 512)) TH_LOG("%s", self->out);
	len = file_size(img);
	fd = open(img, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(ftr), pread(fd, ftr, sizeof(ftr), len - sizeof(ftr)));
	memcpy(ftr + VHD_FTR_CREATOR_APP, app, 4);
	if (max_chs)
		be32_put(ftr + VHD_FTR_GEOMETRY, 65535u << 16 | 16 << 8 | 255);
	vhd_fix_checksum(ftr, sizeof(ftr), VHD_FTR_CHECKSUM);
	ASSERT_EQ(sizeof(ftr), pwrite(fd, ftr, sizeof(ftr), len - sizeof(ftr)));
	close(fd);

	ASSERT_EQ(0, qemu_vpc_size(img, &qsize));
	ret = vdisk_open(&d, img, VDISK_FMT_VHD_FIXED, VDISK_O_RDONLY, &err);
	ASSERT_EQ(0, ret) TH_LOG("open: %s", err.msg);
	vdisk_get_info(d, &info);
	EXPECT_EQ(qsize, info.size) TH_LOG("creator '%s'%s: qemu %llu, ours %llu",
					   app, max_chs ? ", max CHS" : "",
					   (unsigned long long)qsize,
					   (unsigned long long)info.size);
	vdisk_close(d);
}

TEST_F(interop, size_rule_vpc)
{
	NEED_QEMU();
	size_rule(_metadata, self, "vpc ", false);
}

TEST_F(interop, size_rule_win)
{
	NEED_QEMU();
	size_rule(_metadata, self, "win ", false);
}

TEST_F(interop, size_rule_qemu)
{
	NEED_QEMU();
	size_rule(_metadata, self, "qemu", false);
}

TEST_F(interop, size_rule_qem2)
{
	NEED_QEMU();
	size_rule(_metadata, self, "qem2", false);
}

TEST_F(interop, size_rule_vpc_max_chs)
{
	NEED_QEMU();
	size_rule(_metadata, self, "vpc ", true);
}

TEST_HARNESS_MAIN
