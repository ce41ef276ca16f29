// SPDX-License-Identifier: GPL-2.0
/*
 * The ceiling of `make bench-disk`: the same access pattern as
 * bench_vdisk (and qemu-img bench) straight on a raw file with liburing,
 * nothing in between.  Same options; -n is O_DIRECT.
 */
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

int main(int argc, char **argv)
{
	uint64_t size, bufsize = 4096, step = 0, offset = 0;
	long count = 75000, submitted = 0, completed = 0;
	int depth = 64, c, i, fd, oflags = O_RDONLY;
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct timespec t0, t1;
	bool wr = false;
	struct stat st;
	void **buf;
	double secs;

	while ((c = getopt(argc, argv, "wc:d:s:S:n")) != -1) {
		switch (c) {
		case 'w':
			wr = true;
			oflags = O_RDWR;
			break;
		case 'c':
			count = strtol(optarg, NULL, 0);
			break;
		case 'd':
			depth = atoi(optarg);
			break;
		case 's':
			bufsize = parse_size(optarg);
			break;
		case 'S':
			step = parse_size(optarg);
			break;
		case 'n':
			oflags |= O_DIRECT;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1 || depth < 1)
		return 2;
	if (wr)
		oflags = (oflags & O_DIRECT) | O_RDWR;
	if (!step)
		step = bufsize;
	fd = open(argv[optind], oflags);
	if (fd < 0 || fstat(fd, &st)) {
		perror(argv[optind]);
		return 1;
	}
	size = st.st_size;
	if (io_uring_queue_init(depth, &ring, 0)) {
		fprintf(stderr, "bench_uring: io_uring_queue_init failed\n");
		return 1;
	}
	buf = calloc(depth, sizeof(*buf));
	for (i = 0; i < depth; i++) {
		if (posix_memalign(&buf[i], 4096, bufsize))
			return 1;
		memset(buf[i], 0x5a, bufsize);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < depth && submitted < count; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		if (wr)
			io_uring_prep_write(sqe, fd, buf[i], bufsize, offset);
		else
			io_uring_prep_read(sqe, fd, buf[i], bufsize, offset);
		io_uring_sqe_set_data(sqe, buf[i]);
		offset = (offset + step) % size;
		if (offset + bufsize > size)
			offset = 0;
		submitted++;
	}
	io_uring_submit(&ring);
	/* Reap whatever is ready, refill, one io_uring_enter per batch. */
	while (completed < submitted) {
		unsigned int head, n = 0;

		if (io_uring_wait_cqe(&ring, &cqe))
			return 1;
		io_uring_for_each_cqe(&ring, head, cqe) {
			void *b = io_uring_cqe_get_data(cqe);
			struct io_uring_sqe *sqe;

			if (cqe->res != (int)bufsize) {
				fprintf(stderr, "bench_uring: short or failed "
					"I/O: %d\n", cqe->res);
				return 1;
			}
			n++;
			completed++;
			if (submitted >= count)
				continue;
			sqe = io_uring_get_sqe(&ring);
			if (wr)
				io_uring_prep_write(sqe, fd, b, bufsize, offset);
			else
				io_uring_prep_read(sqe, fd, b, bufsize, offset);
			io_uring_sqe_set_data(sqe, b);
			offset = (offset + step) % size;
			if (offset + bufsize > size)
				offset = 0;
			submitted++;
		}
		io_uring_cq_advance(&ring, n);
		io_uring_submit(&ring);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("requests %ld bytes %llu seconds %.4f iops %.0f mibps %.1f\n",
	       count, (unsigned long long)bufsize, secs, count / secs,
	       count * (double)bufsize / secs / (1 << 20));
	return 0;
}
