// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the disk layer's tests: see disk_util.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "disk_util.h"

int tdir_make(char *dir, size_t n, const char *tag)
{
	const char *base = getenv("TMPDIR");

	if (!base || !*base)
		base = "/tmp";
	if ((size_t)snprintf(dir, n, "%s/vmm-%s-XXXXXX", base, tag) >= n)
		return -ENAMETOOLONG;
	return mkdtemp(dir) ? 0 : -errno;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void tdir_remove(const char *dir)
{
	if (dir && *dir && !getenv("VMM_DISK_KEEP"))
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tpath(const char *dir, const char *name)
{
	static char ring[8][PATH_MAX];
	static unsigned int next;
	char *p = ring[next++ % 8];

	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

int file_write(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (len && write(fd, buf, len) != (ssize_t)len)
		ret = -EIO;
	close(fd);
	return ret;
}

int file_pwrite(const char *path, const void *buf, size_t len, uint64_t off)
{
	int fd = open(path, O_WRONLY);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (pwrite(fd, buf, len, off) != (ssize_t)len)
		ret = -EIO;
	close(fd);
	return ret;
}

int file_truncate(const char *path, uint64_t len)
{
	return truncate(path, len) ? -errno : 0;
}

int file_read(const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *p;
	int fd;
	ssize_t r;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		close(fd);
		return -errno;
	}
	p = malloc(st.st_size ? st.st_size : 1);
	r = pread(fd, p, st.st_size, 0);
	close(fd);
	if (r != st.st_size) {
		free(p);
		return -EIO;
	}
	*buf = p;
	*len = st.st_size;
	return 0;
}

uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (uint64_t)st.st_size;
}

int file_digest(const char *path, uint64_t digest[2])
{
	uint64_t h = 0xcbf29ce484222325ULL, g = 0;
	uint8_t *buf;
	size_t len, i;
	int ret;

	ret = file_read(path, &buf, &len);
	if (ret)
		return ret;
	for (i = 0; i < len; i++) {
		h = (h ^ buf[i]) * 0x100000001b3ULL;
		g = g * 31 + buf[i];
	}
	free(buf);
	digest[0] = h ^ len;
	digest[1] = g;
	return 0;
}

uint64_t rnd_next(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

uint64_t rnd_below(uint64_t *state, uint64_t n)
{
	return n ? rnd_next(state) % n : 0;
}

void rnd_fill(void *buf, size_t len, uint64_t seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1, v;
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		v = rnd_next(&s);
		memcpy(p + i, &v, 8);
	}
	if (i < len) {
		v = rnd_next(&s);
		memcpy(p + i, &v, len - i);
	}
}

int run_cmd(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[8192];
	size_t used = 0;
	va_list ap;
	FILE *f;
	int st, n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd) - 8, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd) - 8)
		return -1;
	strcat(cmd, " 2>&1");
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (out && outlen)
		out[0] = 0;
	for (;;) {
		char tmp[1024];
		size_t r = fread(tmp, 1, sizeof(tmp), f);

		if (!r)
			break;
		if (out && used + 1 < outlen) {
			size_t c = r < outlen - 1 - used ? r : outlen - 1 - used;

			memcpy(out + used, tmp, c);
			used += c;
			out[used] = 0;
		}
	}
	st = pclose(f);
	if (st == -1)
		return -1;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

bool have_prog(const char *name)
{
	return run_cmd(NULL, 0, "command -v %s >/dev/null", name) == 0;
}

int qemu_vpc_size(const char *path, uint64_t *size)
{
	char out[4096], *p;

	if (run_cmd(out, sizeof(out),
		    "qemu-img info -f vpc --output=json '%s'", path))
		return -EIO;
	p = strstr(out, "\"virtual-size\":");
	if (!p)
		return -EIO;
	*size = strtoull(p + strlen("\"virtual-size\":"), NULL, 10);
	return 0;
}

int vd_compare_buf(struct vdisk *d, const uint8_t *mirror, uint64_t size,
		   uint64_t *bad)
{
	const uint64_t chunk = 1 * MiB;
	uint8_t *buf = NULL;
	uint64_t off, n, i;
	int ret = 0;

	/* aligned: the disk may be open with O_DIRECT */
	if (posix_memalign((void **)&buf, 4096, chunk))
		return -ENOMEM;

	for (off = 0; off < size && !ret; off += n) {
		n = size - off < chunk ? size - off : chunk;
		ret = vdisk_pread(d, buf, n, off);
		if (ret)
			break;
		if (memcmp(buf, mirror + off, n)) {
			for (i = 0; buf[i] == mirror[off + i]; i++)
				;
			*bad = off + i;
			ret = 1;
		}
	}
	free(buf);
	return ret;
}

int vd_compare_file(struct vdisk *d, const char *raw, uint64_t *bad)
{
	uint8_t *mirror;
	size_t len;
	int ret;

	ret = file_read(raw, &mirror, &len);
	if (ret)
		return ret;
	ret = vd_compare_buf(d, mirror, len, bad);
	free(mirror);
	return ret;
}

int vd_compare_path(const char *path, const char *raw, uint64_t *bad,
		    char *why, size_t whylen)
{
	struct vdisk_error err = { "" };
	struct vdisk_info info;
	struct vdisk *d;
	int ret;

	ret = vdisk_open(&d, path, VDISK_FMT_AUTO, VDISK_O_RDONLY, &err);
	if (ret) {
		snprintf(why, whylen, "open %s: %d %s", path, ret, err.msg);
		return ret;
	}
	vdisk_get_info(d, &info);
	if (info.size != file_size(raw)) {
		snprintf(why, whylen, "%s: size %llu, mirror %llu", path,
			 (unsigned long long)info.size,
			 (unsigned long long)file_size(raw));
		vdisk_close(d);
		return 1;
	}
	ret = vd_compare_file(d, raw, bad);
	if (ret > 0)
		snprintf(why, whylen, "%s differs from %s at byte %llu", path,
			 raw, (unsigned long long)*bad);
	else if (ret < 0)
		snprintf(why, whylen, "%s: read failed: %d", path, ret);
	vdisk_close(d);
	return ret;
}

uint16_t be16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

uint64_t be64_get(const uint8_t *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void be64_put(uint8_t *p, uint64_t v)
{
	be32_put(p, v >> 32);
	be32_put(p + 4, (uint32_t)v);
}

void vhd_fix_checksum(uint8_t *buf, size_t len, size_t csum_off)
{
	uint32_t sum = 0;
	size_t i;

	memset(buf + csum_off, 0, 4);
	for (i = 0; i < len; i++)
		sum += buf[i];
	be32_put(buf + csum_off, ~sum);
}

int vhd_read_layout(const char *path, struct vhd_layout *l)
{
	uint8_t ftr[VHD_FOOTER_SIZE], hdr[VHD_HEADER_SIZE];
	uint8_t *bat;
	uint32_t i, n;
	int fd, ret = 0;

	memset(l, 0, sizeof(*l));
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	l->file_size = lseek(fd, 0, SEEK_END);
	if (pread(fd, ftr, sizeof(ftr), 0) != sizeof(ftr) ||
	    memcmp(ftr, "conectix", 8)) {
		ret = -EINVAL;
		goto out;
	}
	l->header_off = be64_get(ftr + VHD_FTR_DATA_OFFSET);
	if (pread(fd, hdr, sizeof(hdr), l->header_off) != sizeof(hdr) ||
	    memcmp(hdr, "cxsparse", 8)) {
		ret = -EINVAL;
		goto out;
	}
	l->bat_off = be64_get(hdr + VHD_HDR_TABLE_OFFSET);
	l->max_entries = be32_get(hdr + VHD_HDR_MAX_ENTRIES);
	l->block_size = be32_get(hdr + VHD_HDR_BLOCK_SIZE);
	n = l->max_entries < 4096 ? l->max_entries : 4096;
	bat = malloc(4 * n + 4);
	if (pread(fd, bat, 4 * n, l->bat_off) != 4 * n) {
		ret = -EINVAL;
	} else {
		for (i = 0; i < n; i++)
			l->bat[i] = be32_get(bat + 4 * i);
	}
	free(bat);
out:
	close(fd);
	return ret;
}

/* A few random extents written through @d and into @mirror. */
static int scribble(struct vdisk *d, uint8_t *mirror, uint64_t size,
		    uint64_t seed, int count)
{
	uint64_t s = seed, off, len;
	int i, ret;

	for (i = 0; i < count; i++) {
		len = (1 + rnd_below(&s, 2048)) * 512;
		if (len > size)
			len = size;
		off = rnd_below(&s, (size - len) / 512 + 1) * 512;
		rnd_fill(mirror + off, len, seed * 7919 + i);
		ret = vdisk_pwrite(d, mirror + off, len, off);
		if (ret)
			return ret;
	}
	return 0;
}

int disk_make(const struct disk_kind *kind, const char *dir, uint64_t want,
	      uint8_t **mirror, uint64_t *size, char *top, size_t toplen,
	      char *why, size_t whylen)
{
	struct vdisk_create_opts o = { .fmt = kind->fmt, .size = want,
				       .block_size = kind->block_size,
				       .force_size = kind->force_size };
	struct vdisk_error err = { "" };
	struct vdisk_info info;
	char path[PATH_MAX], parent[PATH_MAX];
	struct vdisk *d;
	int layer, ret;

	*mirror = NULL;
	for (layer = 0; layer <= kind->depth; layer++) {
		if (layer == kind->depth)
			snprintf(path, sizeof(path), "%s/top.img", dir);
		else
			snprintf(path, sizeof(path), "%s/l%d.vhd", dir, layer);
		if (kind->depth && layer == 0)
			o.fmt = VDISK_FMT_VHD_DYNAMIC;
		else if (layer)
			o.fmt = VDISK_FMT_VHD_DIFF;
		o.parent = layer ? parent : NULL;
		ret = vdisk_create(path, &o, &err);
		if (ret) {
			snprintf(why, whylen, "create %s: %d %s", path, ret,
				 err.msg);
			return ret;
		}
		ret = vdisk_open(&d, path, VDISK_FMT_AUTO, 0, &err);
		if (ret) {
			snprintf(why, whylen, "open %s: %d %s", path, ret,
				 err.msg);
			return ret;
		}
		vdisk_get_info(d, &info);
		if (!layer) {
			*size = info.size;
			*mirror = calloc(1, info.size);
		} else if (info.size != *size) {
			snprintf(why, whylen, "%s: size %llu, parent's %llu",
				 path, (unsigned long long)info.size,
				 (unsigned long long)*size);
			vdisk_close(d);
			return -EINVAL;
		}
		ret = layer < kind->depth ?
		      scribble(d, *mirror, *size, 1000 + layer, 24) : 0;
		if (ret)
			snprintf(why, whylen, "write %s: %d", path, ret);
		ret = vdisk_close(d) ?: ret;
		if (ret)
			return ret;
		memcpy(parent, path, sizeof(parent));
	}
	snprintf(top, toplen, "%s", path);
	return 0;
}
