// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile and broken VHDs: truncated files, bad checksums, BAT entries
 * pointing outside the file or at each other, absurd sizes and block
 * sizes, unknown disk types, missing parents, parent UUID mismatches and
 * parent loops.  Each is opened read-write (so the layer could write if
 * it wanted to), checked with vdisk_check(), `vmm-img check` and `vmm-img
 * info`.  A refusal must be an error whose message names the file and the
 * field; nothing may crash (the tests run under ASan/UBSan); the file must
 * not change, byte for byte.
 *
 * A few damages leave the data intact and a layer may repair them on
 * open (the end footer of a dynamic disk gone, as a crash mid-allocation
 * leaves it, with the copy at the start still good): there a clear error
 * or correct data are both accepted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "disk_util.h"

#define BI_SIZE		(16 * MiB)

enum bi_base { BI_FIXED, BI_DYNAMIC, BI_DIFF };

enum bi_expect {
	REFUSE,		/* must be refused */
	MAY_REPAIR,	/* refused, or read correctly */
};

FIXTURE(bad) {
	char dir[PATH_MAX];
	char img[PATH_MAX];
	char out[8192];
	uint8_t *mirror;
	uint64_t size;
	struct vhd_layout l;
};

FIXTURE_VARIANT(bad) {
	enum bi_base base;
	enum bi_expect expect;
	const char *keys;	/* the field named: any of "a|b|c" */
	int damage;
};

FIXTURE_SETUP(bad)
{
	static const struct disk_kind kinds[] = {
		[BI_FIXED] = { "fixed", VDISK_FMT_VHD_FIXED, 0, 0, true, 0 },
		[BI_DYNAMIC] = { "dynamic", VDISK_FMT_VHD_DYNAMIC, 0, 0, true, 0 },
		[BI_DIFF] = { "diff", VDISK_FMT_VHD_DIFF, 1, 0, true, 0 },
	};
	const struct disk_kind *k = &kinds[variant->base];
	struct vdisk_error err = { "" };
	struct vdisk *d;
	char why[1024];
	int ret;

	ASSERT_EQ(0, tdir_make(self->dir, sizeof(self->dir), "bad"));
	ret = disk_make(k, self->dir, BI_SIZE, &self->mirror,
			&self->size, self->img, sizeof(self->img),
			why, sizeof(why));
	/* A failed setup gets no teardown: clean up here. */
	if (ret)
		tdir_remove(self->dir);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
	/* Data in blocks 0, 2 and 5, so the BAT has entries to damage. */
	ASSERT_EQ(0, vdisk_open(&d, self->img, VDISK_FMT_AUTO, 0, &err))
		TH_LOG("%s", err.msg);
	rnd_fill(self->mirror + 1000 * 512, 8192, 1);
	rnd_fill(self->mirror + 4 * MiB + 512, 4096, 2);
	rnd_fill(self->mirror + 10 * MiB + 7 * 512, 65536, 3);
	ASSERT_EQ(0, vdisk_pwrite(d, self->mirror + 1000 * 512, 8192,
				  1000 * 512));
	ASSERT_EQ(0, vdisk_pwrite(d, self->mirror + 4 * MiB + 512, 4096,
				  4 * MiB + 512));
	ASSERT_EQ(0, vdisk_pwrite(d, self->mirror + 10 * MiB + 7 * 512,
				  65536, 10 * MiB + 7 * 512));
	ASSERT_EQ(0, vdisk_close(d));
	if (variant->base != BI_FIXED) {
		ASSERT_EQ(0, vhd_read_layout(self->img, &self->l));
		ASSERT_NE(0xffffffffu, self->l.bat[0]);
		ASSERT_NE(0xffffffffu, self->l.bat[2]);
	} else {
		self->l.file_size = file_size(self->img);
	}
}

FIXTURE_TEARDOWN(bad)
{
	free(self->mirror);
	tdir_remove(self->dir);
}

enum {
	D_TRUNC_0, D_TRUNC_511, D_TRUNC_700, D_TRUNC_HEADER, D_TRUNC_BAT,
	D_TRUNC_BLOCK, D_TRUNC_FOOTER, D_TRUNC_1,
	D_FOOTER_CSUM_END, D_FOOTER_CSUM_BOTH, D_FOOTER_COOKIE_BOTH,
	D_HEADER_CSUM, D_HEADER_COOKIE, D_HEADER_VERSION,
	D_BAT_OUTSIDE, D_BAT_ZERO, D_BAT_INTO_BAT, D_BAT_SAME, D_BAT_OVERLAP,
	D_SIZE_2041G, D_SIZE_HUGE, D_SIZE_ZERO_FIXED, D_FIXED_SHORT,
	D_ENTRIES_FEW, D_ENTRIES_HUGE, D_BLOCK_ZERO, D_BLOCK_ODD,
	D_BLOCK_SMALL, D_TABLE_OUTSIDE, D_DATA_OFFSET_OUTSIDE, D_TYPE_5,
	D_TYPE_NONE, D_PARENT_MISSING, D_PARENT_UUID, D_PARENT_SELF,
	D_PARENT_LOOP2, D_LOCATORS_OUTSIDE, D_LOCATOR_HUGE,
};

#define CASE(n, b, e, k, dmg) \
	FIXTURE_VARIANT_ADD(bad, n) { \
		.base = b, .expect = e, .keys = k, .damage = dmg, \
	}

#define TRUNC_KEYS "trunc|short|end of file|eof|footer|outside|beyond|past|size"
CASE(trunc_0, BI_DYNAMIC, REFUSE, TRUNC_KEYS, D_TRUNC_0);
CASE(trunc_511, BI_DYNAMIC, REFUSE, TRUNC_KEYS, D_TRUNC_511);
CASE(trunc_700, BI_DYNAMIC, REFUSE, TRUNC_KEYS "|header", D_TRUNC_700);
CASE(trunc_header, BI_DYNAMIC, REFUSE, TRUNC_KEYS "|header", D_TRUNC_HEADER);
CASE(trunc_bat, BI_DYNAMIC, REFUSE, TRUNC_KEYS "|bat|table", D_TRUNC_BAT);
CASE(trunc_block, BI_DYNAMIC, REFUSE, TRUNC_KEYS "|bat|block", D_TRUNC_BLOCK);
CASE(trunc_footer, BI_DYNAMIC, MAY_REPAIR, TRUNC_KEYS, D_TRUNC_FOOTER);
CASE(trunc_1, BI_DYNAMIC, MAY_REPAIR, TRUNC_KEYS, D_TRUNC_1);
CASE(fixed_trunc_footer, BI_FIXED, REFUSE, TRUNC_KEYS "|cookie", D_TRUNC_FOOTER);
CASE(fixed_trunc_1, BI_FIXED, REFUSE, TRUNC_KEYS "|cookie", D_TRUNC_1);
CASE(fixed_footer_csum, BI_FIXED, REFUSE, "checksum", D_FOOTER_CSUM_END);
CASE(footer_csum_end, BI_DYNAMIC, MAY_REPAIR, "checksum", D_FOOTER_CSUM_END);
CASE(footer_csum_both, BI_DYNAMIC, REFUSE, "checksum", D_FOOTER_CSUM_BOTH);
CASE(footer_cookie_both, BI_DYNAMIC, REFUSE, "cookie|footer|conectix",
	D_FOOTER_COOKIE_BOTH);
CASE(header_csum, BI_DYNAMIC, REFUSE, "checksum", D_HEADER_CSUM);
CASE(header_cookie, BI_DYNAMIC, REFUSE, "cookie|header|cxsparse",
	D_HEADER_COOKIE);
CASE(header_version, BI_DYNAMIC, REFUSE, "version", D_HEADER_VERSION);
CASE(bat_outside, BI_DYNAMIC, REFUSE, "bat|block", D_BAT_OUTSIDE);
CASE(bat_zero, BI_DYNAMIC, REFUSE, "bat|block|overlap", D_BAT_ZERO);
CASE(bat_into_bat, BI_DYNAMIC, REFUSE, "bat|block|overlap", D_BAT_INTO_BAT);
CASE(bat_same, BI_DYNAMIC, REFUSE, "bat|block|overlap", D_BAT_SAME);
CASE(bat_overlap, BI_DYNAMIC, REFUSE, "bat|block|overlap", D_BAT_OVERLAP);
CASE(diff_bat_outside, BI_DIFF, REFUSE, "bat|block", D_BAT_OUTSIDE);
CASE(size_2041g, BI_DYNAMIC, REFUSE, "size|2040", D_SIZE_2041G);
CASE(size_huge, BI_DYNAMIC, REFUSE, "size|2040", D_SIZE_HUGE);
CASE(fixed_size_2041g, BI_FIXED, REFUSE, "size|2040", D_SIZE_2041G);
CASE(fixed_size_huge, BI_FIXED, REFUSE, "size|2040", D_SIZE_HUGE);
CASE(fixed_short, BI_FIXED, REFUSE, "size|short|trunc", D_FIXED_SHORT);
CASE(entries_few, BI_DYNAMIC, REFUSE, "entries|bat|table|size",
	D_ENTRIES_FEW);
CASE(entries_huge, BI_DYNAMIC, REFUSE, "entries|bat|table|size",
	D_ENTRIES_HUGE);
CASE(block_zero, BI_DYNAMIC, REFUSE, "block", D_BLOCK_ZERO);
CASE(block_odd, BI_DYNAMIC, REFUSE, "block", D_BLOCK_ODD);
CASE(block_small, BI_DYNAMIC, REFUSE, "block|bat|entries|table",
	D_BLOCK_SMALL);
CASE(table_outside, BI_DYNAMIC, REFUSE, "table|bat", D_TABLE_OUTSIDE);
CASE(data_offset_outside, BI_DYNAMIC, REFUSE, "offset|header",
	D_DATA_OFFSET_OUTSIDE);
CASE(type_5, BI_DYNAMIC, REFUSE, "type", D_TYPE_5);
CASE(type_none, BI_FIXED, REFUSE, "type", D_TYPE_NONE);
CASE(parent_missing, BI_DIFF, REFUSE, "parent|l0.vhd", D_PARENT_MISSING);
CASE(parent_uuid, BI_DIFF, REFUSE, "uuid|parent", D_PARENT_UUID);
CASE(parent_self, BI_DIFF, REFUSE, "loop|parent|itself|cycle", D_PARENT_SELF);
CASE(parent_loop2, BI_DIFF, REFUSE, "loop|parent|cycle|depth",
	D_PARENT_LOOP2);
CASE(locators_outside, BI_DIFF, REFUSE, "locator|parent",
	D_LOCATORS_OUTSIDE);
CASE(locator_huge, BI_DIFF, REFUSE, "locator|parent", D_LOCATOR_HUGE);

/* Edit the footer at the end (and the copy at 0 for dynamic/diff). */
static void edit_footers(struct __test_metadata *_metadata, const char *p,
			 bool both, bool fix, size_t field, uint64_t val,
			 int width)
{
	uint8_t ftr[VHD_FOOTER_SIZE];
	uint64_t end = file_size(p) - VHD_FOOTER_SIZE;
	uint64_t at[2] = { end, 0 };
	int fd = open(p, O_RDWR), i;

	ASSERT_LE(0, fd);
	for (i = 0; i < (both ? 2 : 1); i++) {
		ASSERT_EQ(sizeof(ftr), pread(fd, ftr, sizeof(ftr), at[i]));
		if (width == 8)
			be64_put(ftr + field, val);
		else if (width == 4)
			be32_put(ftr + field, (uint32_t)val);
		else
			ftr[field] ^= (uint8_t)val;
		if (fix)
			vhd_fix_checksum(ftr, sizeof(ftr), VHD_FTR_CHECKSUM);
		ASSERT_EQ(sizeof(ftr), pwrite(fd, ftr, sizeof(ftr), at[i]));
	}
	close(fd);
}

static void edit_header(struct __test_metadata *_metadata, const char *p,
			uint64_t hoff, bool fix, size_t field, uint64_t val,
			int width)
{
	uint8_t hdr[VHD_HEADER_SIZE];
	int fd = open(p, O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(hdr), pread(fd, hdr, sizeof(hdr), hoff));
	if (width == 8)
		be64_put(hdr + field, val);
	else if (width == 4)
		be32_put(hdr + field, (uint32_t)val);
	else
		hdr[field] ^= (uint8_t)val;
	if (fix)
		vhd_fix_checksum(hdr, sizeof(hdr), VHD_HDR_CHECKSUM);
	ASSERT_EQ(sizeof(hdr), pwrite(fd, hdr, sizeof(hdr), hoff));
	close(fd);
}

static void set_bat(struct __test_metadata *_metadata, const char *p,
		    const struct vhd_layout *l, uint32_t idx, uint32_t val)
{
	uint8_t be[4];

	be32_put(be, val);
	ASSERT_EQ(0, file_pwrite(p, be, 4, l->bat_off + 4 * idx));
}

static void damage(struct __test_metadata *_metadata,
		   FIXTURE_DATA(bad) *self, int what)
{
	const struct vhd_layout *l = &self->l;
	const char *p = self->img;
	uint64_t h = l->header_off;
	uint8_t *buf;
	size_t len;
	int i;

	switch (what) {
	case D_TRUNC_0:
		ASSERT_EQ(0, file_truncate(p, 0));
		break;
	case D_TRUNC_511:
		ASSERT_EQ(0, file_truncate(p, 511));
		break;
	case D_TRUNC_700:
		ASSERT_EQ(0, file_truncate(p, 700));
		break;
	case D_TRUNC_HEADER:
		ASSERT_EQ(0, file_truncate(p, h + 600));
		break;
	case D_TRUNC_BAT:
		ASSERT_EQ(0, file_truncate(p, l->bat_off + 6));
		break;
	case D_TRUNC_BLOCK:
		ASSERT_EQ(0, file_truncate(p, (uint64_t)l->bat[2] * 512 +
					   1000));
		break;
	case D_TRUNC_FOOTER:
		ASSERT_EQ(0, file_truncate(p, l->file_size - 512));
		break;
	case D_TRUNC_1:
		ASSERT_EQ(0, file_truncate(p, l->file_size - 1));
		break;
	case D_FOOTER_CSUM_END:
		edit_footers(_metadata, p, false, false, VHD_FTR_CUR_SIZE + 3,
			     0x40, 1);
		break;
	case D_FOOTER_CSUM_BOTH:
		edit_footers(_metadata, p, true, false, VHD_FTR_UUID, 1, 1);
		break;
	case D_FOOTER_COOKIE_BOTH:
		edit_footers(_metadata, p, true, true, 0, 0x20, 1);
		break;
	case D_HEADER_CSUM:
		edit_header(_metadata, p, h, false, VHD_HDR_PARENT_UUID, 1, 1);
		break;
	case D_HEADER_COOKIE:
		edit_header(_metadata, p, h, true, 2, 0x20, 1);
		break;
	case D_HEADER_VERSION:
		edit_header(_metadata, p, h, true, VHD_HDR_VERSION, 0x00020000,
			    4);
		break;
	case D_BAT_OUTSIDE:
		set_bat(_metadata, p, l, 2, (uint32_t)(l->file_size / 512 + 8));
		break;
	case D_BAT_ZERO:
		set_bat(_metadata, p, l, 2, 0);
		break;
	case D_BAT_INTO_BAT:
		set_bat(_metadata, p, l, 2, (uint32_t)(l->bat_off / 512));
		break;
	case D_BAT_SAME:
		set_bat(_metadata, p, l, 2, l->bat[0]);
		break;
	case D_BAT_OVERLAP:
		set_bat(_metadata, p, l, 2, l->bat[0] + 1);
		break;
	case D_SIZE_2041G:
		edit_footers(_metadata, p, true, true, VHD_FTR_CUR_SIZE,
			     2041 * GiB, 8);
		break;
	case D_SIZE_HUGE:
		edit_footers(_metadata, p, true, true, VHD_FTR_CUR_SIZE,
			     0xfffffffffffffe00ULL, 8);
		break;
	case D_FIXED_SHORT:
		edit_footers(_metadata, p, false, true, VHD_FTR_CUR_SIZE,
			     self->size + 4 * MiB, 8);
		edit_footers(_metadata, p, false, true, VHD_FTR_CREATOR_APP,
			     0x77696e20, 4);	/* "win ": current_size */
		break;
	case D_ENTRIES_FEW:
		edit_header(_metadata, p, h, true, VHD_HDR_MAX_ENTRIES, 3, 4);
		break;
	case D_ENTRIES_HUGE:
		edit_header(_metadata, p, h, true, VHD_HDR_MAX_ENTRIES,
			    0xffffffffu, 4);
		break;
	case D_BLOCK_ZERO:
		edit_header(_metadata, p, h, true, VHD_HDR_BLOCK_SIZE, 0, 4);
		break;
	case D_BLOCK_ODD:
		edit_header(_metadata, p, h, true, VHD_HDR_BLOCK_SIZE,
			    3 * 512 * 1024, 4);
		break;
	case D_BLOCK_SMALL:
		/* 512-byte blocks: the same BAT covers far too little */
		edit_header(_metadata, p, h, true, VHD_HDR_BLOCK_SIZE, 512, 4);
		break;
	case D_TABLE_OUTSIDE:
		edit_header(_metadata, p, h, true, VHD_HDR_TABLE_OFFSET,
			    l->file_size + 4096, 8);
		break;
	case D_DATA_OFFSET_OUTSIDE:
		edit_footers(_metadata, p, true, true, VHD_FTR_DATA_OFFSET,
			     l->file_size + 512, 8);
		break;
	case D_TYPE_5:
		edit_footers(_metadata, p, true, true, VHD_FTR_TYPE, 5, 4);
		break;
	case D_TYPE_NONE:
		edit_footers(_metadata, p, false, true, VHD_FTR_TYPE, 0, 4);
		break;
	case D_PARENT_MISSING:
		ASSERT_EQ(0, rename(tpath(self->dir, "l0.vhd"),
				    tpath(self->dir, "gone.vhd")));
		break;
	case D_PARENT_UUID:
		edit_header(_metadata, p, h, true, VHD_HDR_PARENT_UUID + 5,
			    0x10, 1);
		break;
	case D_PARENT_SELF:
		/* The child takes its parent's name: it is its own parent. */
		ASSERT_EQ(0, rename(p, tpath(self->dir, "l0.vhd")));
		snprintf(self->img, sizeof(self->img), "%s",
			 tpath(self->dir, "l0.vhd"));
		break;
	case D_PARENT_LOOP2: {
		struct vdisk_create_opts o = { .fmt = VDISK_FMT_VHD_DIFF };
		struct vdisk_error err = { "" };

		/* b over top.img; then b takes l0's place: top -> b -> top */
		o.parent = p;
		ASSERT_EQ(0, vdisk_create(tpath(self->dir, "b.vhd"), &o, &err))
			TH_LOG("%s", err.msg);
		ASSERT_EQ(0, rename(tpath(self->dir, "b.vhd"),
				    tpath(self->dir, "l0.vhd")));
		break;
	}
	case D_LOCATORS_OUTSIDE:
	case D_LOCATOR_HUGE:
		ASSERT_EQ(0, file_read(p, &buf, &len));
		for (i = 0; i < 8; i++) {
			uint8_t *e = buf + h + VHD_HDR_LOCATORS + 24 * i;

			if (!be32_get(e))
				continue;
			if (what == D_LOCATORS_OUTSIDE) {
				be64_put(e + 16, len + 8192);
			} else {
				be32_put(e + 4, 0x7fffffff);
				be32_put(e + 8, 0xfffffff0);
			}
		}
		vhd_fix_checksum(buf + h, VHD_HEADER_SIZE, VHD_HDR_CHECKSUM);
		ASSERT_EQ(0, file_write(p, buf, len));
		free(buf);
		/* Leave no parent to find by any other way either. */
		ASSERT_EQ(0, rename(tpath(self->dir, "l0.vhd"),
				    tpath(self->dir, "moved.vhd")));
		break;
	}
}

/* Does @msg contain one of the '|'-separated @keys (any case)? */
static bool names_field(const char *msg, const char *keys)
{
	char k[256], *save = NULL, *t;

	snprintf(k, sizeof(k), "%s", keys);
	for (t = strtok_r(k, "|", &save); t; t = strtok_r(NULL, "|", &save))
		if (strcasestr(msg, t))
			return true;
	return false;
}

/*
 * Damage that leaves no VHD footer at the end: a probe may take the file
 * for raw, as Documentation/vmm-img.rst says ("a file ending in a valid
 * VHD footer is a VHD, anything else is raw").
 */
static bool no_end_footer(const FIXTURE_VARIANT(bad) *v)
{
	return v->damage <= D_TRUNC_1 || v->damage == D_FOOTER_COOKIE_BOTH;
}

static enum vdisk_fmt open_fmt(enum bi_base b)
{
	return b == BI_FIXED ? VDISK_FMT_VHD_FIXED :
	       b == BI_DYNAMIC ? VDISK_FMT_VHD_DYNAMIC : VDISK_FMT_VHD_DIFF;
}

TEST_F(bad, refused)
{
	struct vdisk_check_result *res = calloc(1, sizeof(*res));
	const char *name;
	uint64_t before[2], after[2], bad = 0;
	struct vdisk_error err;
	struct vdisk *d = NULL;
	enum vdisk_fmt fmts[3] = { VDISK_FMT_AUTO, open_fmt(variant->base),
				   open_fmt(variant->base) };
	unsigned int flags[3] = { 0, 0, VDISK_O_IGNORE_PARENT };
	int ret, fmt_i, nfmt = 2;
	bool auto_raw = false;

	damage(_metadata, self, variant->damage);
	ASSERT_EQ(0, file_digest(self->img, before));
	name = strrchr(self->img, '/') + 1;

	/* A loop stays a loop when UUID mismatches are overridden. */
	if (variant->damage == D_PARENT_SELF ||
	    variant->damage == D_PARENT_LOOP2)
		nfmt = 3;
	for (fmt_i = 0; fmt_i < nfmt; fmt_i++) {
		struct vdisk_info info = { .fmt = VDISK_FMT_AUTO };

		memset(&err, 0, sizeof(err));
		ret = vdisk_open(&d, self->img, fmts[fmt_i], flags[fmt_i],
				 &err);
		if (ret == 0) {
			vdisk_get_info(d, &info);
			TH_LOG("opened as %s (asked %s)",
			       vdisk_fmt_name(info.fmt),
			       vdisk_fmt_name(fmts[fmt_i]));
		}
		if (ret == 0 && fmts[fmt_i] == VDISK_FMT_AUTO &&
		    info.fmt == VDISK_FMT_RAW && no_end_footer(variant)) {
			auto_raw = true;
			vdisk_close(d);
			continue;
		}
		if (ret == 0 && variant->expect == MAY_REPAIR &&
		    info.fmt != VDISK_FMT_RAW) {
			/* Repaired: then it must read right. */
			ret = vd_compare_buf(d, self->mirror, self->size, &bad);
			EXPECT_EQ(0, ret) TH_LOG("repaired, but byte %llu is "
						 "wrong",
						 (unsigned long long)bad);
			vdisk_close(d);
			TH_LOG("opened (repair allowed here)");
			free(res);
			return;
		}
		EXPECT_GT(0, ret) TH_LOG("asked %s%s: should be refused",
					 vdisk_fmt_name(fmts[fmt_i]),
					 flags[fmt_i] ? ", ignore-parent" : "");
		if (ret == 0) {
			vdisk_close(d);
			continue;
		}
		TH_LOG("%s: %d \"%s\"", vdisk_fmt_name(fmts[fmt_i]), ret,
		       err.msg);
		EXPECT_TRUE(strstr(err.msg, name) != NULL)
			TH_LOG("the message does not name the file %s", name);
		EXPECT_TRUE(names_field(err.msg, variant->keys))
			TH_LOG("the message names none of: %s", variant->keys);
	}
	ASSERT_EQ(0, file_digest(self->img, after));
	EXPECT_EQ(0, memcmp(before, after, sizeof(before)))
		TH_LOG("open changed the file");

	/* A parent UUID mismatch opens with the override, and reads. */
	if (variant->damage == D_PARENT_UUID) {
		ret = vdisk_open(&d, self->img, VDISK_FMT_AUTO,
				 VDISK_O_IGNORE_PARENT | VDISK_O_RDONLY, &err);
		EXPECT_EQ(0, ret) TH_LOG("with the override: %s", err.msg);
		if (!ret) {
			EXPECT_EQ(0, vd_compare_buf(d, self->mirror,
						    self->size, &bad));
			vdisk_close(d);
		}
	}
	/* What probes raw is checked as raw: clean, and rightly so. */
	if (auto_raw) {
		free(res);
		return;
	}

	memset(&err, 0, sizeof(err));
	ret = vdisk_check(self->img, res, &err);
	EXPECT_TRUE(ret < 0 || res->errors > 0 ||
		    variant->expect == MAY_REPAIR)
		TH_LOG("vdisk_check says clean:\n%s", res->report);
	free(res);
	if (have_vmm_img()) {
		ret = run_cmd(self->out, sizeof(self->out), "%s check '%s'",
			      VMM_IMG, self->img);
		EXPECT_TRUE(ret == 1 || ret == 2 ||
			    variant->expect == MAY_REPAIR)
			TH_LOG("vmm-img check: status %d\n%s", ret, self->out);
		ret = run_cmd(self->out, sizeof(self->out), "%s info '%s'",
			      VMM_IMG, self->img);
		EXPECT_TRUE(ret == 1 || variant->expect == MAY_REPAIR)
			TH_LOG("vmm-img info: status %d\n%s", ret, self->out);
	}
	ASSERT_EQ(0, file_digest(self->img, after));
	EXPECT_EQ(0, memcmp(before, after, sizeof(before)))
		TH_LOG("check changed the file");
}

/*
 * The saved-state flag (a suspended Virtual PC machine owns the disk):
 * read-only opens work and report it; a read-write open is refused by
 * name; nothing is written either way.
 */
FIXTURE(saved) {
	char dir[PATH_MAX];
};

FIXTURE_SETUP(saved)
{
	ASSERT_EQ(0, tdir_make(self->dir, sizeof(self->dir), "saved"));
}

FIXTURE_TEARDOWN(saved)
{
	tdir_remove(self->dir);
}

static void saved_state(struct __test_metadata *_metadata,
			FIXTURE_DATA(saved) *self, enum vdisk_fmt fmt)
{
	struct vdisk_create_opts o = { .fmt = fmt, .size = 4 * MiB,
				       .force_size = true };
	const char *img = tpath(self->dir, "s.vhd");
	struct vdisk_error err = { "" };
	uint64_t before[2], after[2];
	struct vdisk_info info;
	struct vdisk *d;
	uint8_t buf[512];
	int ret;

	ASSERT_EQ(0, vdisk_create(img, &o, &err)) TH_LOG("%s", err.msg);
	edit_footers(_metadata, img, fmt != VDISK_FMT_VHD_FIXED, true,
		     VHD_FTR_SAVED, 1, 1);
	ASSERT_EQ(0, file_digest(img, before));

	ret = vdisk_open(&d, img, VDISK_FMT_AUTO, 0, &err);
	EXPECT_GT(0, ret) TH_LOG("a saved-state disk opened read-write");
	if (!ret)
		vdisk_close(d);
	else
		EXPECT_TRUE(names_field(err.msg, "saved"))
			TH_LOG("the message does not say why: %s", err.msg);

	ret = vdisk_open(&d, img, VDISK_FMT_AUTO, VDISK_O_RDONLY, &err);
	ASSERT_EQ(0, ret) TH_LOG("read-only: %s", err.msg);
	vdisk_get_info(d, &info);
	EXPECT_TRUE(info.saved_state);
	EXPECT_EQ(0, vdisk_pread(d, buf, sizeof(buf), 0));
	vdisk_close(d);
	ASSERT_EQ(0, file_digest(img, after));
	EXPECT_EQ(0, memcmp(before, after, sizeof(after)));
}

TEST_F(saved, fixed)
{
	saved_state(_metadata, self, VDISK_FMT_VHD_FIXED);
}

TEST_F(saved, dynamic)
{
	saved_state(_metadata, self, VDISK_FMT_VHD_DYNAMIC);
}

TEST_HARNESS_MAIN
