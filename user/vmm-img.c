// SPDX-License-Identifier: GPL-2.0
/*
 * vmm-img - the tool people use on disk images: create, info, check,
 * convert, commit and resize raw files and VHDs (fixed, dynamic,
 * differencing).
 *
 * Everything goes through the disk layer's public interface
 * (user/block/vdisk.h), the same one the guest's virtio-blk device uses:
 * an image this tool writes is written the way a guest would write it,
 * and a chain this tool reads is read the way a guest would see it.
 *
 * Output is meant to be read by people and by scripts alike, so it is
 * kept stable; Documentation/vmm-img.rst describes every line, every JSON
 * key and every exit status.  Errors are one line on stderr,
 * "vmm-img VERB: what failed", and a non-zero exit.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "block/vdisk.h"

#define MiB		(1024ULL * 1024)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define __printf(a, b)	__attribute__((format(printf, a, b)))
/* A VHD timestamp counts seconds from 2000-01-01 00:00:00 UTC. */
#define VHD_EPOCH	946684800LL

/* The verb being run, for error messages. */
static const char *verb = "";

static void __printf(1, 2) error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmm-img%s%s: ", *verb ? " " : "", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Report a failed vdisk call.  The layer's message already names the
 * file and the field when it has one; otherwise say which file and errno.
 */
static int vdisk_failed(const char *path, int ret,
			const struct vdisk_error *err)
{
	/*
	 * The layer names its open flag; a person needs the option, where
	 * the verb has one (info, convert), and no hint where it has not.
	 */
	static const char flag[] = "VDISK_O_IGNORE_PARENT overrides";
	bool has_u = !strcmp(verb, "info") || !strcmp(verb, "convert");
	const char *f = err ? strstr(err->msg, flag) : NULL;
	int n;

	if (f) {
		n = f - err->msg;
		if (has_u) {
			error("%.*s-U (--ignore-parent) overrides%s", n,
			      err->msg, f + sizeof(flag) - 1);
		} else {
			while (n && strchr("; ", err->msg[n - 1]))
				n--;
			error("%.*s%s", n, err->msg, f + sizeof(flag) - 1);
		}
	} else if (err && err->msg[0])
		error("%s", err->msg);
	else
		error("%s: %s", path, strerror(ret < 0 ? -ret : ret));
	return 1;
}

static int __printf(1, 2) bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmm-img %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see 'vmm-img %s --help'\n", verb);
	return 1;
}

/* getopt_long() reports nothing itself (opterr = 0): say it our way. */
static int bad_option(char **argv)
{
	if (optopt && optopt != '?')
		return bad_usage("option -%c is unknown or needs a value",
				 optopt);
	return bad_usage("option '%s' is unknown or needs a value",
			 argv[optind - 1]);
}

/* ---- sizes ---- */

/*
 * "4096", "512B", "64K", "10G", "1GiB", "2T": binary units only, since a
 * disk's size is counted in sectors and blocks, never in powers of ten.
 */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		*out = v;
		return 0;
	case 'B':
		if (end[1])
			return -1;
		*out = v;
		return 0;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	default:
		return -1;
	}
	end++;
	if (*end && strcasecmp(end, "iB") && strcasecmp(end, "B"))
		return -1;
	if (v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* "10 GiB", "1.5 MiB", "512 B": at most three significant digits. */
static const char *human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	unsigned int u = 0;
	double v = bytes;
	int prec;

	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (u == 0 || bytes % (1ULL << (10 * u)) == 0)
		prec = 0;
	else
		prec = v >= 100 ? 0 : v >= 10 ? 1 : 2;
	snprintf(buf, len, "%.*f", prec, v);
	/* 1.50 -> 1.5, 2.00 -> 2: trailing zeros say nothing. */
	if (prec) {
		char *p = buf + strlen(buf) - 1;

		while (*p == '0')
			*p-- = '\0';
		if (*p == '.')
			*p = '\0';
	}
	snprintf(buf + strlen(buf), len - strlen(buf), " %s", units[u]);
	return buf;
}

/* ---- progress ---- */

/*
 * One line, rewritten in place with \r, on stderr: on a terminal by
 * default, never in a log unless -p asks for it.
 */
struct progress {
	bool on;
	int last;		/* tenths of a percent last printed */
	const char *what;
};

static void progress_init(struct progress *p, const char *what, bool force)
{
	p->on = force || isatty(STDERR_FILENO);
	p->last = -1;
	p->what = what;
}

static void progress_update(struct progress *p, uint64_t done,
			    uint64_t total)
{
	int permille;

	if (!p->on)
		return;
	permille = total ? (int)(done * 1000 / total) : 1000;
	if (permille > 1000)
		permille = 1000;
	/* Only when the number changes: a terminal is slow to redraw. */
	if (permille == p->last)
		return;
	p->last = permille;
	fprintf(stderr, "\r%s: %5.1f%%", p->what, permille / 10.0);
	fflush(stderr);
}

static void progress_end(struct progress *p)
{
	if (p->on && p->last >= 0)
		fputc('\n', stderr);
}

/* ---- JSON ---- */

static void json_indent(int level)
{
	printf("%*s", 2 * level, "");
}

/* Length of a valid UTF-8 sequence at @s, 0 if it is not one. */
static int utf8_len(const unsigned char *s)
{
	int n, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past Unicode are invalid. */
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
	    (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

/*
 * A JSON string.  File names and VHD fields are bytes, not text: bytes
 * that are not UTF-8 become U+FFFD, so the output is always valid JSON.
 */
static void json_str(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	int n;

	putchar('"');
	while (*s) {
		switch (*s) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		default:
			if (*s < 0x20 || *s == 0x7f) {
				printf("\\u%04x", *s);
				break;
			}
			n = utf8_len(s);
			if (!n) {
				fputs("\\ufffd", stdout);
				break;
			}
			fwrite(s, 1, n, stdout);
			s += n;
			continue;
		}
		s++;
	}
	putchar('"');
}

/* ---- info ---- */

static bool fmt_is_vhd(enum vdisk_fmt fmt)
{
	return fmt == VDISK_FMT_VHD_FIXED || fmt == VDISK_FMT_VHD_DYNAMIC ||
	       fmt == VDISK_FMT_VHD_DIFF;
}

static bool fmt_has_blocks(enum vdisk_fmt fmt)
{
	return fmt == VDISK_FMT_VHD_DYNAMIC || fmt == VDISK_FMT_VHD_DIFF;
}

/* Returns @buf: "2026-11-21 05:30:00 UTC" or, for JSON, ISO 8601. */
static const char *vhd_date(uint32_t ts, bool iso, char *buf, size_t len)
{
	time_t t = (time_t)(VHD_EPOCH + ts);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S UTC",
		 &tm);
	return buf;
}

/* The creator field is four bytes from the file: show what is printable. */
static const char *creator_app(const struct vdisk_info *in, char *buf)
{
	int i;

	for (i = 0; i < 4 && in->creator_app[i]; i++)
		buf[i] = isprint((unsigned char)in->creator_app[i]) ?
			 in->creator_app[i] : '?';
	buf[i] = '\0';
	return buf;
}

static void info_human(const char *path, const struct vdisk_info *in,
		       const char *ind)
{
	char h[32], date[64], app[5];

	printf("%simage:          %s\n", ind, path);
	printf("%sformat:         %s\n", ind, vdisk_fmt_name(in->fmt));
	printf("%svirtual size:   %s (%" PRIu64 " bytes)\n", ind,
	       human_size(in->size, h, sizeof(h)), in->size);
	printf("%sfile size:      %s (%" PRIu64 " bytes)\n", ind,
	       human_size(in->file_size, h, sizeof(h)), in->file_size);
	printf("%sallocated:      %s (%" PRIu64 " bytes)\n", ind,
	       human_size(in->allocated, h, sizeof(h)), in->allocated);
	if (fmt_has_blocks(in->fmt)) {
		printf("%sblock size:     %s (%" PRIu32 " bytes)\n", ind,
		       human_size(in->block_size, h, sizeof(h)),
		       in->block_size);
		printf("%sblocks:         %" PRIu32 " used of %" PRIu32 "\n",
		       ind, in->used_blocks, in->max_blocks);
	}
	if (!fmt_is_vhd(in->fmt))
		return;
	printf("%sgeometry:       %u/%u/%u (cylinders/heads/sectors)\n", ind,
	       in->cylinders, in->heads, in->sectors);
	printf("%screator:        \"%s\" version %u.%u\n", ind,
	       creator_app(in, app), in->creator_version >> 16,
	       in->creator_version & 0xffff);
	printf("%suuid:           %s\n", ind, in->uuid);
	printf("%ssaved state:    %s\n", ind, in->saved_state ? "yes" : "no");
	printf("%stimestamp:      %s (%" PRIu32 ")\n", ind,
	       vhd_date(in->timestamp, false, date, sizeof(date)),
	       in->timestamp);
	if (in->fmt != VDISK_FMT_VHD_DIFF)
		return;
	printf("%sparent:         %s\n", ind, in->parent);
	printf("%sparent uuid:    %s\n", ind, in->parent_uuid);
	printf("%schain depth:    %d\n", ind, in->depth);
}

static void json_key(int level, const char *key)
{
	json_indent(level);
	printf("\"%s\": ", key);
}

/* Every key is always there; null where the format has no such field. */
static void info_json(const char *path, const struct vdisk_info *in,
		      int lv)
{
	bool vhd = fmt_is_vhd(in->fmt), blk = fmt_has_blocks(in->fmt);
	bool diff = in->fmt == VDISK_FMT_VHD_DIFF;
	char date[64], app[5];

	json_key(lv, "filename");
	json_str(path);
	printf(",\n");
	json_key(lv, "format");
	json_str(vdisk_fmt_name(in->fmt));
	printf(",\n");
	json_key(lv, "virtual_size");
	printf("%" PRIu64 ",\n", in->size);
	json_key(lv, "file_size");
	printf("%" PRIu64 ",\n", in->file_size);
	json_key(lv, "allocated");
	printf("%" PRIu64 ",\n", in->allocated);
	json_key(lv, "block_size");
	blk ? printf("%" PRIu32 ",\n", in->block_size) : printf("null,\n");
	json_key(lv, "blocks_used");
	blk ? printf("%" PRIu32 ",\n", in->used_blocks) : printf("null,\n");
	json_key(lv, "blocks_max");
	blk ? printf("%" PRIu32 ",\n", in->max_blocks) : printf("null,\n");
	json_key(lv, "geometry");
	if (vhd)
		printf("{ \"cylinders\": %u, \"heads\": %u, \"sectors\": %u },\n",
		       in->cylinders, in->heads, in->sectors);
	else
		printf("null,\n");
	json_key(lv, "creator_app");
	vhd ? json_str(creator_app(in, app)) : (void)printf("null");
	printf(",\n");
	json_key(lv, "creator_version");
	vhd ? printf("\"%u.%u\",\n", in->creator_version >> 16,
		     in->creator_version & 0xffff) : printf("null,\n");
	json_key(lv, "uuid");
	vhd ? json_str(in->uuid) : (void)printf("null");
	printf(",\n");
	json_key(lv, "saved_state");
	printf("%s,\n", !vhd ? "null" : in->saved_state ? "true" : "false");
	json_key(lv, "timestamp");
	vhd ? printf("%" PRIu32 ",\n", in->timestamp) : printf("null,\n");
	json_key(lv, "date");
	vhd ? printf("\"%s\",\n",
		     vhd_date(in->timestamp, true, date, sizeof(date))) :
	      printf("null,\n");
	json_key(lv, "parent");
	diff ? json_str(in->parent) : (void)printf("null");
	printf(",\n");
	json_key(lv, "parent_uuid");
	diff ? json_str(in->parent_uuid) : (void)printf("null");
	printf(",\n");
	json_key(lv, "depth");
	printf("%d", diff ? in->depth : 0);
}

struct chain_level {
	char *path;
	struct vdisk_info info;
};

/*
 * The parents of a differencing disk, nearest first.  Each is opened on
 * its own, read-only, exactly as the layer found it for the child.
 */
static int info_chain(const struct vdisk_info *top, unsigned int flags,
		      struct chain_level **out, int *count)
{
	const struct vdisk_info *cur = top;
	struct chain_level *c = NULL;
	struct vdisk_error err;
	struct vdisk *d;
	int n = 0, ret;

	/* The layer refuses loops; depth bounds the walk all the same. */
	while (cur->fmt == VDISK_FMT_VHD_DIFF && cur->parent[0] &&
	       n < top->depth) {
		/* Before realloc() moves what @cur points into. */
		char *path = strdup(cur->parent);
		struct chain_level *nc;

		nc = path ? realloc(c, (n + 1) * sizeof(*c)) : NULL;
		if (!nc) {
			free(path);
			goto nomem;
		}
		c = nc;
		c[n].path = path;
		err.msg[0] = '\0';
		ret = vdisk_open(&d, c[n].path, VDISK_FMT_AUTO,
				 flags | VDISK_O_RDONLY, &err);
		if (ret < 0) {
			vdisk_failed(c[n].path, ret, &err);
			n++;
			goto fail;
		}
		ret = vdisk_get_info(d, &c[n].info);
		vdisk_close(d);
		if (ret < 0) {
			vdisk_failed(c[n].path, ret, NULL);
			n++;
			goto fail;
		}
		cur = &c[n++].info;
	}
	*out = c;
	*count = n;
	return 0;
nomem:
	error("out of memory");
fail:
	while (n--)
		free(c[n].path);
	free(c);
	return -1;
}

static const char info_usage[] =
"usage: vmm-img info [-f FMT] [-U] [--json] FILE\n"
"\n"
"Show what FILE is: format, virtual size, space taken, VHD fields and,\n"
"for a differencing disk, every level of its parent chain.\n"
"\n"
"  -f, --format FMT       read FILE as FMT (raw, vhd, fixed, dynamic,\n"
"                         diff) instead of probing it\n"
"  -U, --ignore-parent    open a differencing disk although its parent's\n"
"                         UUID or timestamp does not match\n"
"      --json             print one JSON object (its keys:\n"
"                         Documentation/vmm-img.rst)\n"
"  -h, --help             this text\n";

static int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "ignore-parent", no_argument, NULL, 'U' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	enum vdisk_fmt fmt = VDISK_FMT_AUTO;
	unsigned int flags = VDISK_O_RDONLY;
	struct chain_level *chain = NULL;
	struct vdisk_info in;
	struct vdisk_error err = { "" };
	struct vdisk *d;
	bool json = false;
	int c, i, n = 0, ret;
	const char *path;

	while ((c = getopt_long(argc, argv, "f:Uh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (vdisk_fmt_parse(optarg, &fmt) < 0)
				return bad_usage("unknown format '%s'", optarg);
			break;
		case 'U':
			flags |= VDISK_O_IGNORE_PARENT;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(info_usage, stdout);
			return 0;
		default:
			return bad_option(argv);
		}
	}
	if (argc - optind != 1)
		return bad_usage("expected one FILE");
	path = argv[optind];

	ret = vdisk_open(&d, path, fmt, flags, &err);
	if (ret < 0)
		return vdisk_failed(path, ret, &err);
	ret = vdisk_get_info(d, &in);
	vdisk_close(d);
	if (ret < 0)
		return vdisk_failed(path, ret, NULL);
	if (info_chain(&in, flags & VDISK_O_IGNORE_PARENT, &chain, &n) < 0)
		return 1;

	if (json) {
		printf("{\n");
		info_json(path, &in, 1);
		printf(",\n");
		json_key(1, "chain");
		printf("[");
		for (i = 0; i < n; i++) {
			printf("%s\n", i ? "," : "");
			json_indent(2);
			printf("{\n");
			info_json(chain[i].path, &chain[i].info, 3);
			printf("\n");
			json_indent(2);
			printf("}");
		}
		if (n) {
			printf("\n");
			json_indent(1);
		}
		printf("]\n}\n");
	} else {
		info_human(path, &in, "");
		for (i = 0; i < n; i++) {
			printf("\nparent %d of %d:\n", i + 1, n);
			info_human(chain[i].path, &chain[i].info, "  ");
		}
	}
	for (i = 0; i < n; i++)
		free(chain[i].path);
	free(chain);
	return fflush(stdout) ? 1 : 0;
}

/* ---- create ---- */

/*
 * The format a new image gets when none is named: a dynamic VHD for a
 * name ending in .vhd (what people mean by "a VHD"), raw for any other,
 * as qemu-img does.
 */
static enum vdisk_fmt default_fmt(const char *path)
{
	size_t n = strlen(path);

	if (n > 4 && (!strcasecmp(path + n - 4, ".vhd") ||
		      !strcasecmp(path + n - 4, ".vpc")))
		return VDISK_FMT_VHD_DYNAMIC;
	return VDISK_FMT_RAW;
}

static const char create_usage[] =
"usage: vmm-img create [-f FMT] [-b PARENT] [--block-size SIZE]\n"
"                      [--force-size] FILE [SIZE]\n"
"\n"
"Create a new disk image FILE of SIZE bytes.  SIZE takes the binary\n"
"suffixes K, M, G, T (also KiB, MiB, GiB, TiB); a differencing disk\n"
"takes its parent's size and is given no SIZE.\n"
"\n"
"  -f, --format FMT       raw, fixed, dynamic or diff; without -f, a FILE\n"
"                         named *.vhd is dynamic, any other raw\n"
"  -b, --parent PARENT    make a differencing disk over PARENT (implies\n"
"                         -f diff)\n"
"      --block-size SIZE  dynamic/diff: bytes per block (default 2M)\n"
"      --force-size       VHD: keep SIZE exactly rather than rounding it\n"
"                         to the disk's CHS geometry\n"
"  -h, --help             this text\n";

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "parent", required_argument, NULL, 'b' },
		{ "backing", required_argument, NULL, 'b' },
		{ "block-size", required_argument, NULL, 'B' },
		{ "force-size", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct vdisk_create_opts o = { .fmt = VDISK_FMT_AUTO };
	struct vdisk_error err = { "" };
	struct vdisk_info in;
	struct vdisk *d;
	uint64_t v;
	char h[32];
	const char *path;
	int c, ret;

	while ((c = getopt_long(argc, argv, "f:b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (vdisk_fmt_parse(optarg, &o.fmt) < 0 ||
			    o.fmt == VDISK_FMT_AUTO)
				return bad_usage("unknown format '%s' (raw, fixed, dynamic, diff)",
						 optarg);
			break;
		case 'b':
			o.parent = optarg;
			break;
		case 'B':
			if (parse_size(optarg, &v) < 0 || !v || v > UINT32_MAX)
				return bad_usage("bad block size '%s'", optarg);
			o.block_size = v;
			break;
		case 'F':
			o.force_size = true;
			break;
		case 'h':
			fputs(create_usage, stdout);
			return 0;
		default:
			return bad_option(argv);
		}
	}
	if (o.parent) {
		if (o.fmt != VDISK_FMT_AUTO && o.fmt != VDISK_FMT_VHD_DIFF)
			return bad_usage("-b makes a differencing disk, not %s",
					 vdisk_fmt_name(o.fmt));
		o.fmt = VDISK_FMT_VHD_DIFF;
	} else if (o.fmt == VDISK_FMT_VHD_DIFF) {
		return bad_usage("a differencing disk needs -b PARENT");
	} else if (o.fmt == VDISK_FMT_AUTO && optind < argc) {
		o.fmt = default_fmt(argv[optind]);
	}

	if (o.fmt == VDISK_FMT_VHD_DIFF) {
		if (argc - optind != 1)
			return bad_usage("expected FILE only: %s",
					 "a differencing disk has its parent's size");
	} else {
		if (argc - optind != 2)
			return bad_usage("expected FILE and SIZE");
		if (parse_size(argv[optind + 1], &o.size) < 0)
			return bad_usage("bad size '%s'", argv[optind + 1]);
		if (!o.size)
			return bad_usage("the size must not be zero");
	}
	if (o.block_size && !fmt_has_blocks(o.fmt))
		return bad_usage("--block-size is for dynamic and diff disks");
	path = argv[optind];

	ret = vdisk_create(path, &o, &err);
	if (ret < 0)
		return vdisk_failed(path, ret, &err);

	/*
	 * Say what was made, read back through the layer: the CHS rounding
	 * of a VHD may have changed the size asked for.
	 */
	ret = vdisk_open(&d, path, VDISK_FMT_AUTO, VDISK_O_RDONLY, &err);
	if (ret < 0)
		return vdisk_failed(path, ret, &err);
	ret = vdisk_get_info(d, &in);
	vdisk_close(d);
	if (ret < 0)
		return vdisk_failed(path, ret, NULL);
	printf("created %s: %s, %s (%" PRIu64 " bytes)", path,
	       vdisk_fmt_name(in.fmt), human_size(in.size, h, sizeof(h)),
	       in.size);
	if (in.fmt == VDISK_FMT_VHD_DIFF)
		printf(", parent %s", in.parent);
	printf("\n");
	if (o.size && in.fmt != VDISK_FMT_VHD_DIFF && in.size != o.size)
		printf("note: %" PRIu64 " bytes asked for; the VHD geometry gives %" PRIu64 " (--force-size keeps the size exact)\n",
		       o.size, in.size);
	return 0;
}

/* ---- check ---- */

static const char check_usage[] =
"usage: vmm-img check [--json] FILE\n"
"\n"
"Check FILE's structure: footer and header, BAT entries inside the file\n"
"and not overlapping, sector bitmaps, leaked blocks.  Read-only.\n"
"\n"
"Exit status: 0 clean, 2 corrupt (errors found), 3 leaks only,\n"
"1 when FILE could not be checked at all.\n"
"\n"
"      --json             print the result as one JSON object\n"
"  -h, --help             this text\n";

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct vdisk_check_result *res;
	struct vdisk_error err = { "" };
	bool json = false;
	const char *path, *line, *nl;
	int c, ret, status;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(check_usage, stdout);
			return 0;
		default:
			return bad_option(argv);
		}
	}
	if (argc - optind != 1)
		return bad_usage("expected one FILE");
	path = argv[optind];

	res = calloc(1, sizeof(*res));
	if (!res) {
		error("out of memory");
		return 1;
	}
	ret = vdisk_check(path, res, &err);
	if (ret < 0) {
		free(res);
		return vdisk_failed(path, ret, &err);
	}
	res->report[sizeof(res->report) - 1] = '\0';
	status = res->errors ? 2 : res->leaks ? 3 : 0;

	if (json) {
		printf("{\n");
		json_key(1, "filename");
		json_str(path);
		printf(",\n");
		json_key(1, "errors");
		printf("%u,\n", res->errors);
		json_key(1, "leaks");
		printf("%u,\n", res->leaks);
		json_key(1, "status");
		printf("\"%s\",\n", status == 2 ? "corrupt" :
				    status == 3 ? "leaks" : "clean");
		json_key(1, "report");
		printf("[");
	}
	/* The report holds one finding a line; JSON wants them as a list. */
	for (line = res->report, c = 0; *line; line = nl + 1, c++) {
		nl = strchrnul(line, '\n');
		if (json) {
			char *s = strndup(line, nl - line);

			printf("%s\n", c ? "," : "");
			json_indent(2);
			json_str(s ? s : "");
			free(s);
		} else {
			printf("%.*s\n", (int)(nl - line), line);
		}
		if (!*nl)
			break;
	}
	if (json) {
		if (c) {
			printf("\n");
			json_indent(1);
		}
		printf("]\n}\n");
	} else if (status == 0) {
		printf("%s: no errors found\n", path);
	} else {
		printf("%s: %u error%s, %u leak%s\n", path, res->errors,
		       res->errors == 1 ? "" : "s", res->leaks,
		       res->leaks == 1 ? "" : "s");
	}
	free(res);
	if (fflush(stdout))
		return 1;
	return status;
}

/* ---- convert ---- */

/*
 * Convert streams the source through a few large buffers: each slot
 * reads one chunk from the source and, once read, writes its non-zero
 * parts to the destination.  Several slots are in flight at once, so
 * reading the next chunks overlaps writing the last ones.
 */
#define CONVERT_CHUNK		(2 * MiB)
#define CONVERT_MAX_CHUNK	(64 * MiB)
#define CONVERT_BUFFERS		(16 * MiB)	/* all slots together */
#define CONVERT_GRANULE		(256 * 1024)	/* raw/fixed zero skipping */
#define CONVERT_MIN_GRANULE	(64 * 1024)

struct convert;

struct cv_slot {
	struct convert *cv;
	unsigned char *buf;
	uint64_t off, len;
	bool busy;
	int writes_left;
	struct iovec rd_iov;
	struct vdisk_req rd;
	struct iovec *wr_iov;	/* max_writes of each */
	struct vdisk_req *wr;
};

struct convert {
	struct vdisk *src, *dst;
	uint64_t size;		/* bytes to copy */
	uint64_t next;		/* next offset to read */
	uint64_t done;		/* bytes read and written */
	uint64_t chunk, granule;
	int max_writes;		/* non-zero runs in one chunk, at most */
	unsigned int src_busy, dst_busy;	/* requests in flight */
	int err;		/* first failure, -errno */
	bool err_write;
	uint64_t err_off;
	struct cv_slot *slots;
	int nslots;
	struct progress prog;
};

/* Set by SIGINT/SIGTERM: convert stops, drains and removes DST. */
static volatile sig_atomic_t cv_interrupted;

static void cv_on_signal(int sig)
{
	(void)sig;
	cv_interrupted = 1;
}

static void cv_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = cv_on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void cv_fail(struct convert *cv, int err, bool write, uint64_t off)
{
	/*
	 * The first failure is the one to report, but requests the layer
	 * cancelled because of another's failure only hide that one.
	 */
	if (cv->err && (cv->err != -ECANCELED || err == -ECANCELED))
		return;
	cv->err = err;
	cv->err_write = write;
	cv->err_off = off;
}

static void cv_slot_done(struct cv_slot *s)
{
	s->cv->done += s->len;
	s->busy = false;
	progress_update(&s->cv->prog, s->cv->done, s->cv->size);
}

static bool all_zero(const unsigned char *p, uint64_t len)
{
	int i;

	/*
	 * Lengths are whole sectors.  Sixteen zero bytes, then each byte
	 * equal to the one sixteen before it: libc's vectorised memcmp
	 * scans an empty disk several times faster than a plain loop.
	 */
	for (i = 0; i < 16; i++)
		if (p[i])
			return false;
	return !memcmp(p, p + 16, len - 16);
}

static void cv_write_done(struct vdisk_req *req, int result)
{
	struct cv_slot *s = req->opaque;

	s->cv->dst_busy--;
	if (result < 0)
		cv_fail(s->cv, result, true, req->offset);
	if (--s->writes_left == 0)
		cv_slot_done(s);
}

/*
 * Write the chunk's non-zero runs, one request per run.  A skipped
 * granule is one the new image already reads as zeros: for a dynamic
 * target the granule is the block, so an all-zero block stays
 * unallocated; for raw and fixed it leaves holes in the file.
 */
static void cv_write(struct cv_slot *s)
{
	struct convert *cv = s->cv;
	uint64_t pos = 0, start, end, g;
	int n = 0, ret;

	s->writes_left = 1;	/* held until every write is submitted */
	while (pos < s->len && !cv->err) {
		g = cv->granule - (s->off + pos) % cv->granule;
		if (g > s->len - pos)
			g = s->len - pos;
		if (all_zero(s->buf + pos, g)) {
			pos += g;
			continue;
		}
		start = pos;
		end = pos + g;
		while (end < s->len) {
			g = cv->granule;
			if (g > s->len - end)
				g = s->len - end;
			if (all_zero(s->buf + end, g))
				break;
			end += g;
		}
		pos = end;
		if (n == cv->max_writes) {
			/* Cannot happen (see cv_alloc); never lose data. */
			cv_fail(cv, -EOVERFLOW, true, s->off + start);
			break;
		}
		s->wr_iov[n] = (struct iovec){ s->buf + start, end - start };
		s->wr[n] = (struct vdisk_req){
			.op = VDISK_WRITE,
			.offset = s->off + start,
			.len = end - start,
			.iov = &s->wr_iov[n],
			.iovcnt = 1,
			.done = cv_write_done,
			.opaque = s,
		};
		ret = vdisk_submit(cv->dst, &s->wr[n]);
		if (ret < 0) {
			cv_fail(cv, ret, true, s->off + start);
			break;
		}
		cv->dst_busy++;
		s->writes_left++;
		n++;
	}
	if (--s->writes_left == 0)
		cv_slot_done(s);
}

static void cv_read_done(struct vdisk_req *req, int result)
{
	struct cv_slot *s = req->opaque;

	s->cv->src_busy--;
	if (result < 0) {
		cv_fail(s->cv, result, false, s->off);
		s->busy = false;
		return;
	}
	if (s->cv->err) {
		s->busy = false;
		return;
	}
	cv_write(s);
}

static void cv_read(struct convert *cv, struct cv_slot *s)
{
	int ret;

	s->off = cv->next;
	s->len = cv->size - cv->next;
	if (s->len > cv->chunk)
		s->len = cv->chunk;
	cv->next += s->len;
	s->rd_iov = (struct iovec){ s->buf, s->len };
	s->rd = (struct vdisk_req){
		.op = VDISK_READ,
		.offset = s->off,
		.len = s->len,
		.iov = &s->rd_iov,
		.iovcnt = 1,
		.done = cv_read_done,
		.opaque = s,
	};
	s->busy = true;
	ret = vdisk_submit(cv->src, &s->rd);
	if (ret < 0) {
		s->busy = false;
		cv_fail(cv, ret, false, s->off);
		return;
	}
	cv->src_busy++;
}

/*
 * Wait for whichever disk finishes something first.  vdisk_poll() blocks
 * on one disk only, so with requests on both, wait on both event fds;
 * the timeout only bounds the wait should an event be missed.
 */
static int cv_wait(struct convert *cv)
{
	struct pollfd pfd[2];
	int n, ret;

	n = 0;
	if (cv->src_busy) {
		ret = vdisk_poll(cv->src, 0);
		if (ret < 0)
			return ret;
		n += ret;
	}
	if (cv->dst_busy) {
		ret = vdisk_poll(cv->dst, 0);
		if (ret < 0)
			return ret;
		n += ret;
	}
	if (n)
		return 0;
	if (!cv->src_busy || !cv->dst_busy) {
		ret = vdisk_poll(cv->src_busy ? cv->src : cv->dst, 1);
		return ret < 0 ? ret : 0;
	}
	pfd[0] = (struct pollfd){ .fd = vdisk_event_fd(cv->src),
				  .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = vdisk_event_fd(cv->dst),
				  .events = POLLIN };
	if (poll(pfd, 2, 10) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

static int cv_run(struct convert *cv)
{
	int i, ret;

	progress_update(&cv->prog, 0, cv->size);
	for (;;) {
		if (cv_interrupted && !cv->err)
			cv->err = -EINTR;
		for (i = 0; i < cv->nslots && !cv->err; i++)
			if (!cv->slots[i].busy && cv->next < cv->size)
				cv_read(cv, &cv->slots[i]);
		if (!cv->src_busy && !cv->dst_busy)
			break;
		ret = cv_wait(cv);
		if (ret < 0) {
			/* The requests in flight will never be reaped. */
			cv_fail(cv, ret, false, cv->next);
			return ret;
		}
	}
	return cv->err;
}

static int cv_alloc(struct convert *cv)
{
	int i;

	cv->nslots = CONVERT_BUFFERS / cv->chunk;
	if (cv->nslots < 2)
		cv->nslots = 2;
	/*
	 * Runs of non-zero granules are separated by zero ones, and a chunk
	 * need not start on a granule: this many runs at most.
	 */
	cv->max_writes = (cv->chunk + cv->granule - 1) / cv->granule / 2 + 2;
	cv->slots = calloc(cv->nslots, sizeof(*cv->slots));
	if (!cv->slots)
		return -ENOMEM;
	for (i = 0; i < cv->nslots; i++) {
		struct cv_slot *s = &cv->slots[i];

		s->cv = cv;
		s->wr = calloc(cv->max_writes, sizeof(*s->wr));
		s->wr_iov = calloc(cv->max_writes, sizeof(*s->wr_iov));
		/* Page-aligned, so an O_DIRECT layer below can use them. */
		if (!s->wr || !s->wr_iov ||
		    posix_memalign((void **)&s->buf, 4096, cv->chunk))
			return -ENOMEM;
	}
	return 0;
}

static void cv_free(struct convert *cv)
{
	int i;

	for (i = 0; cv->slots && i < cv->nslots; i++) {
		free(cv->slots[i].buf);
		free(cv->slots[i].wr);
		free(cv->slots[i].wr_iov);
	}
	free(cv->slots);
}

/* Create DST the size of the source; it is removed again on failure. */
static int cv_create(const char *dst, struct vdisk_create_opts *o,
		     uint64_t size)
{
	struct vdisk_error err = { "" };
	struct vdisk_info in;
	struct vdisk *d;
	int ret;

	o->size = size;
	ret = vdisk_create(dst, o, &err);
	if (ret < 0)
		return vdisk_failed(dst, ret, &err);
	if (o->fmt == VDISK_FMT_RAW || o->force_size)
		return 0;
	/*
	 * A converted disk must keep the source's size to the byte, but the
	 * CHS geometry cannot express every size: then take the size
	 * exactly, as --force-size does (current_size is what Hyper-V,
	 * qemu and this layer read for a "vmm " image).
	 */
	ret = vdisk_open(&d, dst, VDISK_FMT_AUTO, VDISK_O_RDONLY, &err);
	if (ret < 0) {
		unlink(dst);
		return vdisk_failed(dst, ret, &err);
	}
	ret = vdisk_get_info(d, &in);
	vdisk_close(d);
	if (ret < 0) {
		unlink(dst);
		return vdisk_failed(dst, ret, NULL);
	}
	if (in.size == size)
		return 0;
	unlink(dst);
	o->force_size = true;
	ret = vdisk_create(dst, o, &err);
	if (ret < 0)
		return vdisk_failed(dst, ret, &err);
	return 0;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * Writing over any image SRC is read from (itself or a parent) would
 * destroy it as it goes: refuse, naming the file.
 */
static int cv_dst_in_chain(const char *src, const struct vdisk_info *sin,
			   unsigned int flags, const char *dst)
{
	struct chain_level *chain;
	int i, n, ret = 0;

	if (same_file(src, dst)) {
		error("%s and %s are the same file", src, dst);
		return -1;
	}
	if (info_chain(sin, flags & VDISK_O_IGNORE_PARENT, &chain, &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!ret && same_file(chain[i].path, dst)) {
			error("%s is a parent of %s: it cannot be the destination",
			      dst, src);
			ret = -1;
		}
		free(chain[i].path);
	}
	free(chain);
	return ret;
}

static const char convert_usage[] =
"usage: vmm-img convert [-f FMT] [-O FMT] [--block-size SIZE] [-U] [-p]\n"
"                       SRC DST\n"
"\n"
"Copy the disk SRC into a new image DST.  SRC is read as a guest sees\n"
"it, so a differencing chain comes out flattened into one image.  Blocks\n"
"of zeros are not written: a dynamic DST leaves them unallocated.\n"
"\n"
"  -f, --format FMT       read SRC as FMT instead of probing it\n"
"  -O, --output-format FMT\n"
"                         raw, fixed or dynamic; without -O, a DST named\n"
"                         *.vhd is dynamic, any other raw\n"
"      --block-size SIZE  dynamic DST: bytes per block (default 2M)\n"
"  -U, --ignore-parent    open SRC although a parent's UUID or timestamp\n"
"                         does not match\n"
"  -p, --progress         show progress even when stderr is no terminal\n"
"  -h, --help             this text\n";

static int cmd_convert(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output-format", required_argument, NULL, 'O' },
		{ "block-size", required_argument, NULL, 'B' },
		{ "ignore-parent", no_argument, NULL, 'U' },
		{ "progress", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct vdisk_create_opts o = { .fmt = VDISK_FMT_AUTO };
	enum vdisk_fmt sfmt = VDISK_FMT_AUTO;
	struct vdisk_error err = { "" };
	struct convert cv = { 0 };
	struct vdisk_info sin, din;
	unsigned int sflags = VDISK_O_RDONLY;
	const char *src, *dst;
	bool force_progress = false;
	uint64_t v;
	int c, ret;

	while ((c = getopt_long(argc, argv, "f:O:Uph", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (vdisk_fmt_parse(optarg, &sfmt) < 0)
				return bad_usage("unknown format '%s'", optarg);
			break;
		case 'O':
			if (vdisk_fmt_parse(optarg, &o.fmt) < 0 ||
			    o.fmt == VDISK_FMT_AUTO ||
			    o.fmt == VDISK_FMT_VHD_DIFF)
				return bad_usage("cannot convert to '%s' (raw, fixed, dynamic)",
						 optarg);
			break;
		case 'B':
			if (parse_size(optarg, &v) < 0 || !v || v > UINT32_MAX)
				return bad_usage("bad block size '%s'", optarg);
			o.block_size = v;
			break;
		case 'U':
			sflags |= VDISK_O_IGNORE_PARENT;
			break;
		case 'p':
			force_progress = true;
			break;
		case 'h':
			fputs(convert_usage, stdout);
			return 0;
		default:
			return bad_option(argv);
		}
	}
	if (argc - optind != 2)
		return bad_usage("expected SRC and DST");
	if (o.fmt == VDISK_FMT_AUTO)
		o.fmt = default_fmt(argv[optind + 1]);
	if (o.block_size && o.fmt != VDISK_FMT_VHD_DYNAMIC)
		return bad_usage("--block-size is for a dynamic DST");
	src = argv[optind];
	dst = argv[optind + 1];


	ret = vdisk_open(&cv.src, src, sfmt, sflags, &err);
	if (ret < 0)
		return vdisk_failed(src, ret, &err);
	ret = vdisk_get_info(cv.src, &sin);
	if (ret < 0) {
		vdisk_close(cv.src);
		return vdisk_failed(src, ret, NULL);
	}
	if (cv_dst_in_chain(src, &sin, sflags, dst)) {
		vdisk_close(cv.src);
		return 1;
	}
	if (o.fmt != VDISK_FMT_RAW && sin.size > VDISK_VHD_MAX_SIZE) {
		vdisk_close(cv.src);
		error("%s: %" PRIu64 " bytes is more than a VHD holds (2040 GiB)",
		      src, sin.size);
		return 1;
	}
	if (sin.size % VDISK_SECTOR) {
		/* The layer moves whole sectors only. */
		vdisk_close(cv.src);
		error("%s: size %" PRIu64 " is not a multiple of %d bytes",
		      src, sin.size, VDISK_SECTOR);
		return 1;
	}
	if (sin.fmt == VDISK_FMT_RAW && sin.file_size > sin.size &&
	    sin.file_size - sin.size < VDISK_SECTOR)
		/* The disk is whole sectors: say what is left behind. */
		fprintf(stderr, "vmm-img convert: warning: %s: the last %" PRIu64 " bytes are not a whole sector and are not copied\n",
			src, sin.file_size - sin.size);
	if (cv_create(dst, &o, sin.size)) {
		vdisk_close(cv.src);
		return 1;
	}
	ret = vdisk_open(&cv.dst, dst, o.fmt, 0, &err);
	if (ret < 0) {
		vdisk_close(cv.src);
		unlink(dst);
		return vdisk_failed(dst, ret, &err);
	}
	ret = vdisk_get_info(cv.dst, &din);
	if (ret < 0) {
		vdisk_failed(dst, ret, NULL);
		goto fail;
	}

	cv.size = sin.size;
	cv.chunk = CONVERT_CHUNK;
	cv.granule = CONVERT_GRANULE;
	if (din.fmt == VDISK_FMT_VHD_DYNAMIC && din.block_size) {
		/*
		 * Whole blocks: a block is allocated by any write to it, so
		 * a zero granule inside a written block would gain nothing,
		 * and whole-block writes leave no sector of a new block
		 * unwritten (readers that ignore the bitmap see zeros).
		 * Tiny blocks are grouped, so one chunk is a few requests.
		 */
		if (din.block_size > cv.chunk)
			cv.chunk = din.block_size < CONVERT_MAX_CHUNK ?
				   din.block_size : CONVERT_MAX_CHUNK;
		cv.granule = din.block_size;
		if (cv.granule < CONVERT_MIN_GRANULE)
			cv.granule = CONVERT_MIN_GRANULE;
		if (cv.granule > cv.chunk)
			cv.granule = cv.chunk;
	}
	ret = cv_alloc(&cv);
	if (ret < 0) {
		error("out of memory for %d buffers of %" PRIu64 " bytes",
		      cv.nslots, cv.chunk);
		goto fail;
	}
	progress_init(&cv.prog, "converting", force_progress);
	/* A half-written DST must not be left behind looking complete. */
	cv_catch_signals();
	ret = cv_run(&cv);
	progress_end(&cv.prog);
	if (ret == -EINTR && cv_interrupted) {
		error("interrupted; %s removed", dst);
		goto fail;
	}
	if (ret < 0) {
		error("%s %s at offset %" PRIu64 ": %s",
		      cv.err_write ? "writing" : "reading",
		      cv.err_write ? dst : src, cv.err_off, strerror(-ret));
		goto fail;
	}
	vdisk_close(cv.src);
	/* Close flushes: only then is the new image complete on disk. */
	ret = vdisk_close(cv.dst);
	cv_free(&cv);
	if (ret < 0) {
		error("%s: flushing and closing: %s", dst, strerror(-ret));
		unlink(dst);
		return 1;
	}
	return 0;
fail:
	/*
	 * Closing reaps what is still in flight, into the slots: free them
	 * last.  cv.err is set, so a read reaped now writes nothing.
	 */
	if (!cv.err)
		cv.err = -EIO;
	vdisk_close(cv.src);
	vdisk_close(cv.dst);
	cv_free(&cv);
	unlink(dst);
	return 1;
}

/* ---- commit ---- */

/* vdisk_commit()'s callback takes no context: the one progress line. */
static struct progress commit_prog;

static void commit_progress(uint64_t done, uint64_t total)
{
	progress_update(&commit_prog, done, total);
}

static const char commit_usage[] =
"usage: vmm-img commit [-p] FILE\n"
"\n"
"Merge the differencing disk FILE into its parent: every sector written\n"
"in FILE is written into the parent.  FILE itself is left as it was.\n"
"\n"
"  -p, --progress         show progress even when stderr is no terminal\n"
"  -h, --help             this text\n";

static int cmd_commit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "progress", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct vdisk_error err = { "" };
	struct vdisk_info *in;
	bool force_progress = false;
	struct vdisk *d;
	const char *path;
	int c, ret;

	while ((c = getopt_long(argc, argv, "ph", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			force_progress = true;
			break;
		case 'h':
			fputs(commit_usage, stdout);
			return 0;
		default:
			return bad_option(argv);
		}
	}
	if (argc - optind != 1)
		return bad_usage("expected one FILE");
	path = argv[optind];

	/* Refuse a disk that has no parent by name, before touching it. */
	in = malloc(sizeof(*in));
	if (!in) {
		error("out of memory");
		return 1;
	}
	ret = vdisk_open(&d, path, VDISK_FMT_AUTO, VDISK_O_RDONLY, &err);
	if (ret < 0) {
		free(in);
		return vdisk_failed(path, ret, &err);
	}
	ret = vdisk_get_info(d, in);
	vdisk_close(d);
	if (ret < 0) {
		free(in);
		return vdisk_failed(path, ret, NULL);
	}
	if (in->fmt != VDISK_FMT_VHD_DIFF) {
		error("%s is a %s disk, not a differencing disk: nothing to commit",
		      path, vdisk_fmt_name(in->fmt));
		free(in);
		return 1;
	}

	progress_init(&commit_prog, "committing", force_progress);
	ret = vdisk_commit(path, commit_progress, &err);
	progress_end(&commit_prog);
	if (ret < 0) {
		free(in);
		return vdisk_failed(path, ret, &err);
	}
	printf("committed %s into %s\n", path, in->parent);
	free(in);
	return 0;
}

/* ---- resize ---- */

static const char resize_usage[] =
"usage: vmm-img resize [--shrink] FILE [+|-]SIZE\n"
"\n"
"Change FILE's virtual size to SIZE, or grow it by +SIZE (shrink it by\n"
"-SIZE).  Making a disk smaller drops the data past the new end, so it\n"
"needs --shrink.\n"
"\n"
"      --shrink           allow the disk to become smaller\n"
"  -h, --help             this text\n";

static int cmd_resize(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "shrink", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct vdisk_error err = { "" };
	struct vdisk_info *in;
	uint64_t size, old, arg;
	bool shrink = false;
	const char *path, *s, *pos[3];
	char h[32];
	struct vdisk *d;
	int c, n, ret, sign = 0;

	/*
	 * "-" starts the options, so "-1G" would be taken for one: stop
	 * getopt at the first non-option and look at what follows FILE.
	 */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			shrink = true;
			break;
		case 'h':
			fputs(resize_usage, stdout);
			return 0;
		default:
			return bad_option(argv);
		}
	}
	/* --shrink may follow FILE SIZE too, as options do in other verbs. */
	for (c = optind, n = 0; c < argc; c++) {
		if (!strcmp(argv[c], "--shrink"))
			shrink = true;
		else if (strcmp(argv[c], "--") && n < 3)
			pos[n++] = argv[c];
		else if (strcmp(argv[c], "--"))
			n++;
	}
	if (n != 2)
		return bad_usage("expected FILE and SIZE");
	path = pos[0];
	s = pos[1];
	if (*s == '+' || *s == '-')
		sign = *s++ == '+' ? 1 : -1;
	if (parse_size(s, &arg) < 0)
		return bad_usage("bad size '%s'", pos[1]);

	in = malloc(sizeof(*in));
	if (!in) {
		error("out of memory");
		return 1;
	}
	ret = vdisk_open(&d, path, VDISK_FMT_AUTO, VDISK_O_RDONLY, &err);
	if (ret < 0) {
		free(in);
		return vdisk_failed(path, ret, &err);
	}
	ret = vdisk_get_info(d, in);
	vdisk_close(d);
	if (ret < 0) {
		free(in);
		return vdisk_failed(path, ret, NULL);
	}
	old = in->size;

	if (sign > 0 && arg > UINT64_MAX - old) {
		free(in);
		return bad_usage("size too large");
	}
	if (sign < 0 && arg >= old) {
		free(in);
		return bad_usage("cannot shrink by %s: the disk is %" PRIu64
				 " bytes", s, old);
	}
	size = sign > 0 ? old + arg : sign < 0 ? old - arg : arg;
	if (!size) {
		free(in);
		return bad_usage("the size must not be zero");
	}
	if (size < old && !shrink) {
		free(in);
		error("%s: %" PRIu64 " bytes is smaller than the disk (%" PRIu64
		      "): the data past the new end would be lost; use --shrink",
		      path, size, old);
		return 1;
	}

	ret = vdisk_resize(path, size, shrink, &err);
	if (ret < 0) {
		free(in);
		return vdisk_failed(path, ret, &err);
	}
	/* Report the size the layer settled on (VHD geometry rounds). */
	ret = vdisk_open(&d, path, VDISK_FMT_AUTO, VDISK_O_RDONLY, &err);
	if (ret < 0) {
		free(in);
		return vdisk_failed(path, ret, &err);
	}
	ret = vdisk_get_info(d, in);
	vdisk_close(d);
	if (ret < 0) {
		free(in);
		return vdisk_failed(path, ret, NULL);
	}
	printf("resized %s: %" PRIu64 " -> %" PRIu64 " bytes (%s)\n", path,
	       old, in->size, human_size(in->size, h, sizeof(h)));
	free(in);
	return 0;
}

/* ---- main ---- */

struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct verb verbs[] = {
	{ "create", cmd_create, "make a new raw, fixed, dynamic or diff image" },
	{ "info", cmd_info, "show an image's format, sizes and parent chain" },
	{ "check", cmd_check, "check an image's structure (exit 0/2/3)" },
	{ "convert", cmd_convert, "copy an image into a new one, flattening" },
	{ "commit", cmd_commit, "merge a differencing disk into its parent" },
	{ "resize", cmd_resize, "change an image's virtual size" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: vmm-img VERB [OPTIONS] ARGS...\n\n"
		   "Work on raw and VHD (fixed, dynamic, differencing) disk images.\n\n"
		   "verbs:\n");
	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %-9s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\n'vmm-img VERB --help' tells more about each; "
		   "sizes take K, M, G, T (1024-based).\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	opterr = 0;
	for (i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (strcmp(argv[1], verbs[i].name))
			continue;
		verb = verbs[i].name;
		return verbs[i].run(argc - 1, argv + 1);
	}
	error("unknown verb '%s'; see 'vmm-img --help'", argv[1]);
	return 1;
}
