// SPDX-License-Identifier: GPL-2.0
/*
 * The disk layer's side of `make bench-disk`: qemu-img bench's access
 * pattern through vdisk_submit()/vdisk_poll().
 *
 *   bench_vdisk [-w] [-c COUNT] [-d DEPTH] [-s SIZE] [-S STEP] [-n] FILE
 *
 * COUNT requests of SIZE bytes, DEPTH in flight; the first at offset 0,
 * each next one STEP bytes on, modulo the disk's size (qemu-img bench
 * 7.2's rule, so both tools touch the same offsets in the same order).
 * -w writes, -n opens with O_DIRECT.  Prints one line:
 *   "requests N bytes B seconds T iops I mibps M"
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#include "block/vdisk.h"

struct bench {
	struct vdisk *d;
	uint64_t size, bufsize, step, offset;
	long count, submitted, completed;
	int depth, err;
	struct vdisk_req *req;
	struct iovec *iov;
	bool write;
};

static void bench_submit(struct bench *b, int i);

static void bench_done(struct vdisk_req *r, int result)
{
	struct bench *b = r->opaque;

	if (result && !b->err)
		b->err = result;
	b->completed++;
	if (b->submitted < b->count && !b->err)
		bench_submit(b, r - b->req);
}

static void bench_submit(struct bench *b, int i)
{
	struct vdisk_req *r = &b->req[i];
	int ret;

	memset(r, 0, sizeof(*r));
	r->op = b->write ? VDISK_WRITE : VDISK_READ;
	r->offset = b->offset;
	r->len = b->bufsize;
	r->iov = &b->iov[i];
	r->iovcnt = 1;
	r->done = bench_done;
	r->opaque = b;
	b->offset = (b->offset + b->step) % b->size;
	if (b->offset + b->bufsize > b->size)
		b->offset = 0;
	b->submitted++;
	ret = vdisk_submit(b->d, r);
	if (ret) {
		fprintf(stderr, "bench_vdisk: submit: %s\n", strerror(-ret));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct bench b = { .count = 75000, .depth = 64, .bufsize = 4096 };
	struct vdisk_error err = { "" };
	struct vdisk_info info;
	struct timespec t0, t1;
	unsigned int flags = 0;
	double secs;
	int c, i, ret;

	b.step = 0;
	while ((c = getopt(argc, argv, "wc:d:s:S:n")) != -1) {
		switch (c) {
		case 'w':
			b.write = true;
			break;
		case 'c':
			b.count = strtol(optarg, NULL, 0);
			break;
		case 'd':
			b.depth = atoi(optarg);
			break;
		case 's':
			b.bufsize = parse_size(optarg);
			break;
		case 'S':
			b.step = parse_size(optarg);
			break;
		case 'n':
			flags |= VDISK_O_DIRECT;
			break;
		default:
			fprintf(stderr, "usage: bench_vdisk [-w] [-c COUNT] "
				"[-d DEPTH] [-s SIZE] [-S STEP] [-n] FILE\n");
			return 2;
		}
	}
	if (optind != argc - 1 || b.depth < 1 || !b.bufsize) {
		fprintf(stderr, "bench_vdisk: one FILE, DEPTH >= 1\n");
		return 2;
	}
	if (!b.step)
		b.step = b.bufsize;
	if (!b.write)
		flags |= VDISK_O_RDONLY;
	ret = vdisk_open(&b.d, argv[optind], VDISK_FMT_AUTO, flags, &err);
	if (ret) {
		fprintf(stderr, "bench_vdisk: %s\n", err.msg[0] ? err.msg :
			strerror(-ret));
		return 1;
	}
	vdisk_get_info(b.d, &info);
	b.size = info.size;
	b.req = calloc(b.depth, sizeof(*b.req));
	b.iov = calloc(b.depth, sizeof(*b.iov));
	for (i = 0; i < b.depth; i++) {
		if (posix_memalign(&b.iov[i].iov_base, 4096, b.bufsize))
			return 1;
		memset(b.iov[i].iov_base, 0x5a + i, b.bufsize);
		b.iov[i].iov_len = b.bufsize;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < b.depth && b.submitted < b.count; i++)
		bench_submit(&b, i);
	while (b.completed < b.submitted) {
		ret = vdisk_poll(b.d, 1);
		if (ret < 0) {
			fprintf(stderr, "bench_vdisk: poll: %s\n",
				strerror(-ret));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (b.err) {
		fprintf(stderr, "bench_vdisk: request failed: %s\n",
			strerror(-b.err));
		return 1;
	}
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("requests %ld bytes %llu seconds %.4f iops %.0f mibps %.1f\n",
	       b.count, (unsigned long long)b.bufsize, secs, b.count / secs,
	       b.count * (double)b.bufsize / secs / (1 << 20));
	vdisk_close(b.d);
	return 0;
}
