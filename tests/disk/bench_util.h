/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the disk benchmark tools (bench_vdisk, bench_uring). */
#ifndef _VMM_BENCH_UTIL_H
#define _VMM_BENCH_UTIL_H

#include <stdint.h>
#include <stdlib.h>

/* A byte count with an optional K, M or G (binary) suffix. */
static inline uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k':
	case 'K':
		return v << 10;
	case 'm':
	case 'M':
		return v << 20;
	case 'g':
	case 'G':
		return v << 30;
	default:
		return v;
	}
}

#endif /* _VMM_BENCH_UTIL_H */
