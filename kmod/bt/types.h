/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm: the few types and headers bt/ and mmu/gwalk need, so that the same
 * sources build in the kernel module and natively for tests/native/.
 */
#ifndef _VMM_BT_TYPES_H
#define _VMM_BT_TYPES_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/string.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#define BIT(n)		(1UL << (n))
#define BIT_ULL(n)	(1ULL << (n))

#ifndef fallthrough
#define fallthrough __attribute__((__fallthrough__))
#endif

#ifndef EOPNOTSUPP
#define EOPNOTSUPP ENOTSUP
#endif
#endif /* __KERNEL__ */

#endif /* _VMM_BT_TYPES_H */
