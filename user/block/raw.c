// SPDX-License-Identifier: GPL-2.0
/*
 * vdisk raw format: the virtual disk is the file (or block device), byte
 * for byte.  Discard and write-zeroes go to fallocate (vdisk.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <unistd.h>

#include "vdisk_impl.h"

/*
 * raw_open - the size of a raw image: the file's, cut to whole sectors
 * (a partial last sector cannot be addressed by a sector-based guest).
 * Returns 0 or -errno.
 */
static int raw_open(struct vdisk *d, struct vdisk_error *err)
{
	uint64_t size = d->st.st_size;

	if (S_ISBLK(d->st.st_mode) && ioctl(d->fd, BLKGETSIZE64, &size) < 0) {
		vdisk_err(err, "%s: BLKGETSIZE64: %s", d->path,
			  strerror(errno));
		return -errno;
	}
	d->size = size & ~(uint64_t)(VDISK_SECTOR - 1);
	d->type = VDISK_FMT_RAW;
	return 0;
}

/* raw_map - every byte is where the guest thinks it is. */
static int64_t raw_map(struct vdisk *d, uint64_t off, uint64_t len,
		       bool write, struct vdisk_ext *ext)
{
	(void)d;
	(void)write;
	ext->kind = VDISK_EXT_DATA;
	ext->foff = off;
	return len;
}

/* raw_info - blocks the file really takes (holes are not allocated). */
static void raw_info(struct vdisk *d, struct vdisk_info *info)
{
	uint64_t used = (uint64_t)d->st.st_blocks * 512;

	info->allocated = S_ISBLK(d->st.st_mode) || used > d->size ?
			  d->size : used;
}

const struct vdisk_format vdisk_raw_format = {
	.name = "raw",
	.open = raw_open,
	.map = raw_map,
	.write = NULL,	/* never needed: raw writes always map DATA */
	.close = NULL,
	.info = raw_info,
};

/*
 * raw_create - a sparse raw file of @o->size bytes.
 * Returns 0 or -errno with @err set.
 */
int raw_create(const char *path, const struct vdisk_create_opts *o,
	       struct vdisk_error *err)
{
	int fd, ret = 0;

	if (o->size % VDISK_SECTOR) {
		vdisk_err(err, "%s: size %llu is not a multiple of 512", path,
			  (unsigned long long)o->size);
		return -EINVAL;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		vdisk_err(err, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (ftruncate(fd, o->size) < 0 || fsync(fd) < 0) {
		ret = -errno;
		vdisk_err(err, "%s: %s", path, strerror(errno));
	}
	close(fd);
	return ret;
}

/*
 * raw_resize - truncate or extend the file (extension reads zeros).
 * Returns 0 or -errno with @err set.
 */
int raw_resize(struct vdisk *d, uint64_t new_size, bool shrink,
	       struct vdisk_error *err)
{
	(void)shrink;
	if (S_ISBLK(d->st.st_mode)) {
		vdisk_err(err, "%s: a block device cannot be resized here",
			  d->path);
		return -EINVAL;
	}
	if (ftruncate(d->fd, new_size) < 0) {
		vdisk_err(err, "%s: truncate: %s", d->path, strerror(errno));
		return -errno;
	}
	d->size = new_size;
	return 0;
}
