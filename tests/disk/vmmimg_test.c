// SPDX-License-Identifier: GPL-2.0
/*
 * vmm-img against the real peer: what `vmm-img create`, `convert`,
 * `commit` and `resize` make reads the same through qemu-img (always -f
 * vpc) and through vdisk; `info --json` agrees with qemu-img info; `check`
 * says clean (status 0) on every image they make.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "disk_util.h"

#define NEED_TOOLS() do {						\
	if (!have_vmm_img())						\
		SKIP(return, "vmm-img not built");			\
	if (!have_prog("qemu-img"))					\
		SKIP(return, "qemu-img not installed");			\
} while (0)

FIXTURE(img) {
	char dir[PATH_MAX];
	char out[16384];
};

FIXTURE_SETUP(img)
{
	ASSERT_EQ(0, tdir_make(self->dir, sizeof(self->dir), "vmmimg"));
}

FIXTURE_TEARDOWN(img)
{
	tdir_remove(self->dir);
}

/* A raw file of random data with whole zero MiBs (holes to keep). */
static uint8_t *make_src(const char *path, uint64_t size, uint64_t seed)
{
	uint8_t *data = malloc(size);
	uint64_t m;

	rnd_fill(data, size, seed);
	for (m = 2; m * MiB < size; m += 3)
		memset(data + m * MiB, 0, size - m * MiB < MiB ?
		       size - m * MiB : MiB);
	file_write(path, data, size);
	return data;
}

static uint64_t json_number(const char *json, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(json, k);
	return p ? strtoull(p + strlen(k), NULL, 10) : ~0ULL;
}

static void check_clean(struct __test_metadata *_metadata,
			FIXTURE_DATA(img) *self, const char *path)
{
	int ret = run_cmd(self->out, sizeof(self->out), "%s check '%s'",
			  VMM_IMG, path);

	EXPECT_EQ(0, ret) TH_LOG("vmm-img check %s: %d\n%s", path, ret,
				 self->out);
}

TEST_F(img, create_info_json)
{
	static const char *const fmts[] = { "fixed", "dynamic" };
	const char *img = tpath(self->dir, "c.vhd");
	const char *zero = tpath(self->dir, "zero.raw");
	uint64_t qsize, vsize;
	unsigned int i;
	int force;

	NEED_TOOLS();
	for (i = 0; i < 2; i++) {
		for (force = 0; force < 2; force++) {
			ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
					     "%s create -f %s %s '%s' 100000256",
					     VMM_IMG, fmts[i],
					     force ? "--force-size" : "", img))
				TH_LOG("%s", self->out);
			ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
					     "%s info --json '%s'", VMM_IMG,
					     img)) TH_LOG("%s", self->out);
			vsize = json_number(self->out, "virtual_size");
			EXPECT_TRUE(strstr(self->out, fmts[i]) != NULL);
			ASSERT_EQ(0, qemu_vpc_size(img, &qsize));
			EXPECT_EQ(qsize, vsize) TH_LOG("%s%s: qemu-img %llu, "
				"vmm-img %llu", fmts[i],
				force ? " --force-size" : "",
				(unsigned long long)qsize,
				(unsigned long long)vsize);
			if (force)
				EXPECT_EQ(100000256, vsize);
			check_clean(_metadata, self, img);
			/* A new disk reads as zeros, to qemu too. */
			ASSERT_EQ(0, file_write(zero, "", 0));
			ASSERT_EQ(0, file_truncate(zero, qsize));
			EXPECT_EQ(0, run_cmd(self->out, sizeof(self->out),
					     "qemu-img compare -f vpc -F raw "
					     "'%s' '%s'", img, zero))
				TH_LOG("%s", self->out);
		}
	}
}

/* convert raw -> fixed/dynamic: qemu-img compare against the source. */
static void convert_to(struct __test_metadata *_metadata,
		       FIXTURE_DATA(img) *self, const char *fmt, uint64_t size)
{
	const char *src = tpath(self->dir, "src.raw");
	const char *img = tpath(self->dir, "out.vhd");
	uint64_t qsize;

	free(make_src(src, size, size));
	ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
			     "%s convert -O %s '%s' '%s'", VMM_IMG, fmt, src,
			     img)) TH_LOG("%s", self->out);
	ASSERT_EQ(0, qemu_vpc_size(img, &qsize));
	EXPECT_EQ(size, qsize) TH_LOG("convert keeps the size to the byte; "
				      "qemu-img reads %llu",
				      (unsigned long long)qsize);
	EXPECT_EQ(0, run_cmd(self->out, sizeof(self->out),
			     "qemu-img compare -f vpc -F raw '%s' '%s'", img,
			     src)) TH_LOG("%s", self->out);
	check_clean(_metadata, self, img);
}

TEST_F(img, convert_to_fixed)
{
	NEED_TOOLS();
	convert_to(_metadata, self, "fixed", 20 * MiB);
}

TEST_F(img, convert_to_dynamic)
{
	NEED_TOOLS();
	convert_to(_metadata, self, "dynamic", 20 * MiB);
}

/* A size no CHS geometry gives: convert must record it exactly. */
TEST_F(img, convert_to_fixed_odd_size)
{
	NEED_TOOLS();
	convert_to(_metadata, self, "fixed", 20 * MiB + 7 * 512);
}

TEST_F(img, convert_to_dynamic_odd_size)
{
	NEED_TOOLS();
	convert_to(_metadata, self, "dynamic", 20 * MiB + 7 * 512);
}

/* qemu's images -> raw through vmm-img == qemu-img's own conversion. */
TEST_F(img, convert_from_qemu)
{
	static const char *const subs[] = { "fixed", "dynamic" };
	const char *src = tpath(self->dir, "src.raw");
	const char *img = tpath(self->dir, "q.vhd");
	const char *a = tpath(self->dir, "ours.raw");
	const char *b = tpath(self->dir, "qemus.raw");
	unsigned int i;

	NEED_TOOLS();
	free(make_src(src, 12 * MiB + 512, 3));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
				     "qemu-img convert -f raw -O vpc -o "
				     "subformat=%s '%s' '%s' && "
				     "qemu-img convert -f vpc -O raw '%s' '%s'",
				     subs[i], src, img, img, b))
			TH_LOG("%s", self->out);
		ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
				     "%s convert -O raw '%s' '%s'", VMM_IMG,
				     img, a)) TH_LOG("%s", self->out);
		EXPECT_EQ(0, run_cmd(self->out, sizeof(self->out),
				     "cmp '%s' '%s'", a, b))
			TH_LOG("%s: %s", subs[i], self->out);
	}
}

/*
 * A chain base <- child, data in both; convert flattens it; commit
 * merges the child into the base, which qemu-img then reads as the
 * child read (the base is a dynamic VHD qemu knows).
 */
TEST_F(img, chain_convert_commit)
{
	struct disk_kind kind = { "diff", VDISK_FMT_VHD_DIFF, 1, 0, true, 0 };
	const char *raw = tpath(self->dir, "mirror.raw");
	const char *flat = tpath(self->dir, "flat.raw");
	const char *base = tpath(self->dir, "l0.vhd");
	struct vdisk_error err = { "" };
	char top[PATH_MAX], why[1024];
	uint8_t *mirror;
	uint64_t size, bad = 0;
	struct vdisk *d;

	NEED_TOOLS();
	ASSERT_EQ(0, disk_make(&kind, self->dir, 24 * MiB, &mirror, &size,
			       top, sizeof(top), why, sizeof(why)))
		TH_LOG("%s", why);
	/* The child's own writes, over the base's. */
	ASSERT_EQ(0, vdisk_open(&d, top, VDISK_FMT_AUTO, 0, &err))
		TH_LOG("%s", err.msg);
	rnd_fill(mirror + 3 * MiB + 512, 3 * MiB, 11);
	ASSERT_EQ(0, vdisk_pwrite(d, mirror + 3 * MiB + 512, 3 * MiB,
				  3 * MiB + 512));
	rnd_fill(mirror + size - 4096, 4096, 12);
	ASSERT_EQ(0, vdisk_pwrite(d, mirror + size - 4096, 4096,
				  size - 4096));
	ASSERT_EQ(0, vdisk_close(d));
	ASSERT_EQ(0, file_write(raw, mirror, size));
	check_clean(_metadata, self, top);

	ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
			     "%s convert -O raw '%s' '%s' && cmp '%s' '%s'",
			     VMM_IMG, top, flat, flat, raw))
		TH_LOG("convert of the chain: %s", self->out);
	ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
			     "%s convert -O dynamic '%s' '%s/flat.vhd' && "
			     "qemu-img compare -f vpc -F raw '%s/flat.vhd' "
			     "'%s'", VMM_IMG, top, self->dir, self->dir, raw))
		TH_LOG("convert of the chain to dynamic: %s", self->out);

	ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out), "%s commit '%s'",
			     VMM_IMG, top)) TH_LOG("%s", self->out);
	EXPECT_EQ(0, run_cmd(self->out, sizeof(self->out),
			     "qemu-img compare -f vpc -F raw '%s' '%s'", base,
			     raw)) TH_LOG("after commit: %s", self->out);
	check_clean(_metadata, self, base);
	ASSERT_EQ(0, vdisk_open(&d, base, VDISK_FMT_AUTO, VDISK_O_RDONLY,
				&err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(0, vd_compare_buf(d, mirror, size, &bad))
		TH_LOG("base after commit: byte %llu", (unsigned long long)bad);
	vdisk_close(d);
	free(mirror);
}

/*
 * vdisk_commit() in the middle of a chain l0 <- l1 <- top: l1 then reads
 * as top did, l0 is not touched, and the checker finds l1 clean.
 */
TEST_F(img, commit_depth2)
{
	struct disk_kind kind = { "diff2", VDISK_FMT_VHD_DIFF, 2, 0, true, 0 };
	const char *l0 = tpath(self->dir, "l0.vhd");
	const char *l1 = tpath(self->dir, "l1.vhd");
	struct vdisk_check_result *res = calloc(1, sizeof(*res));
	struct vdisk_error err = { "" };
	char top[PATH_MAX], why[1024];
	uint64_t size, bad = 0, d0[2], d1[2];
	uint8_t *mirror;
	struct vdisk *d;
	int ret;

	ASSERT_EQ(0, disk_make(&kind, self->dir, 16 * MiB, &mirror, &size,
			       top, sizeof(top), why, sizeof(why)))
		TH_LOG("%s", why);
	ASSERT_EQ(0, vdisk_open(&d, top, VDISK_FMT_AUTO, 0, &err))
		TH_LOG("%s", err.msg);
	rnd_fill(mirror + 2 * MiB - 1024, 2 * MiB + 2048, 21);
	ASSERT_EQ(0, vdisk_pwrite(d, mirror + 2 * MiB - 1024, 2 * MiB + 2048,
				  2 * MiB - 1024));
	rnd_fill(mirror + 9 * MiB + 512, 512, 22);
	ASSERT_EQ(0, vdisk_pwrite(d, mirror + 9 * MiB + 512, 512,
				  9 * MiB + 512));
	ASSERT_EQ(0, vdisk_close(d));
	ASSERT_EQ(0, file_digest(l0, d0));

	ret = vdisk_commit(top, NULL, &err);
	ASSERT_EQ(0, ret) TH_LOG("commit: %s", err.msg);
	ASSERT_EQ(0, file_digest(l0, d1));
	EXPECT_EQ(0, memcmp(d0, d1, sizeof(d0))) TH_LOG("l0 changed");
	ASSERT_EQ(0, vdisk_open(&d, l1, VDISK_FMT_AUTO, VDISK_O_RDONLY, &err))
		TH_LOG("%s", err.msg);
	EXPECT_EQ(0, vd_compare_buf(d, mirror, size, &bad))
		TH_LOG("l1 after commit: byte %llu", (unsigned long long)bad);
	vdisk_close(d);
	ASSERT_EQ(0, vdisk_check(l1, res, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(0, res->errors) TH_LOG("%s", res->report);
	EXPECT_EQ(0, res->leaks) TH_LOG("%s", res->report);
	free(res);
	free(mirror);
}

/* Grow a dynamic and a fixed disk: old data kept, the new part zeros. */
TEST_F(img, resize_grow)
{
	static const char *const fmts[] = { "fixed", "dynamic" };
	const char *img = tpath(self->dir, "r.vhd");
	const char *raw = tpath(self->dir, "r.raw");
	uint64_t qsize;
	unsigned int i;

	NEED_TOOLS();
	for (i = 0; i < 2; i++) {
		free(make_src(raw, 8 * MiB, 5 + i));
		ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
				     "%s convert -O %s '%s' '%s' && "
				     "%s resize '%s' +8M", VMM_IMG, fmts[i],
				     raw, img, VMM_IMG, img))
			TH_LOG("%s", self->out);
		ASSERT_EQ(0, qemu_vpc_size(img, &qsize));
		ASSERT_LE(16 * MiB, qsize) TH_LOG("%s: %llu", fmts[i],
						  (unsigned long long)qsize);
		ASSERT_EQ(0, file_truncate(raw, qsize));
		EXPECT_EQ(0, run_cmd(self->out, sizeof(self->out),
				     "qemu-img compare -f vpc -F raw '%s' '%s'",
				     img, raw)) TH_LOG("%s: %s", fmts[i],
						       self->out);
		check_clean(_metadata, self, img);
	}
}

/*
 * Shrinking needs --shrink; with it, the data before the new end stays.
 * A format the layer cannot shrink may refuse, leaving the file as it was.
 */
TEST_F(img, resize_shrink)
{
	static const char *const fmts[] = { "fixed", "dynamic" };
	const char *img = tpath(self->dir, "s.vhd");
	const char *raw = tpath(self->dir, "s.raw");
	uint64_t qsize, before[2], after[2];
	unsigned int i;
	int ret;

	NEED_TOOLS();
	for (i = 0; i < 2; i++) {
		free(make_src(raw, 16 * MiB, 9 + i));
		ASSERT_EQ(0, run_cmd(self->out, sizeof(self->out),
				     "%s convert -O %s '%s' '%s'", VMM_IMG,
				     fmts[i], raw, img)) TH_LOG("%s", self->out);
		ASSERT_EQ(0, file_digest(img, before));
		EXPECT_NE(0, run_cmd(self->out, sizeof(self->out),
				     "%s resize '%s' 8M", VMM_IMG, img));
		ASSERT_EQ(0, file_digest(img, after));
		EXPECT_EQ(0, memcmp(before, after, sizeof(after)));
		ret = run_cmd(self->out, sizeof(self->out),
			      "%s resize --shrink '%s' 8M", VMM_IMG, img);
		if (ret) {
			TH_LOG("%s: shrink refused: %s", fmts[i], self->out);
			ASSERT_EQ(0, file_digest(img, after));
			EXPECT_EQ(0, memcmp(before, after, sizeof(after)));
			EXPECT_TRUE(i == 1) TH_LOG("a fixed VHD can shrink");
			continue;
		}
		ASSERT_EQ(0, qemu_vpc_size(img, &qsize));
		ASSERT_LE(qsize, 8 * MiB);
		ASSERT_EQ(0, file_truncate(raw, qsize));
		EXPECT_EQ(0, run_cmd(self->out, sizeof(self->out),
				     "qemu-img compare -f vpc -F raw '%s' '%s'",
				     img, raw)) TH_LOG("%s", self->out);
		check_clean(_metadata, self, img);
	}
}

TEST_HARNESS_MAIN
