/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stand-ins for the few kernel interfaces the interrupt controller models
 * (kmod/irq/) use, so that the same sources build natively for the tests
 * in tests/native/.  Time is a fake clock the test moves (shim_now), and
 * hrtimers fire only when the test advances it (shim_advance), in expiry
 * order, in the test's thread.  Spinlocks check that they are not taken
 * twice and count how many are held (shim_locks_held), so fakes of the
 * functions a model calls out to can check the lock rules of irq.h.
 */
#ifndef _VMM_KSHIM_H
#define _VMM_KSHIM_H

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#define BIT(n)			(1UL << (n))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define __weak			__attribute__((weak))
#define READ_ONCE(x)		(*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v)	(*(volatile __typeof__(x) *)&(x) = (v))
#define container_of(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))
#define max_t(t, a, b)		((t)(a) > (t)(b) ? (t)(a) : (t)(b))
#define min_t(t, a, b)		((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#ifndef fallthrough
#define fallthrough		__attribute__((__fallthrough__))
#endif

/* ---- errors, allocation, printk ---- */
#define ERR_PTR(e)		((void *)(intptr_t)(e))
#define PTR_ERR(p)		((long)(intptr_t)(p))
#define IS_ERR(p)		((uintptr_t)(p) >= (uintptr_t)-4095)
#define GFP_KERNEL		0
#define kzalloc(size, gfp)	calloc(1, (size))
#define kfree(p)		free(p)

extern unsigned long shim_warnings;	/* pr_warn*() calls */
#define pr_debug(...)		do { } while (0)
#define pr_warn_ratelimited(...) \
	do { shim_warnings++; fprintf(stderr, "# " __VA_ARGS__); } while (0)
#define pr_warn(...)		pr_warn_ratelimited(__VA_ARGS__)

/* ---- spinlocks ---- */
typedef struct {
	int held;
} spinlock_t;

extern int shim_locks_held;
#define spin_lock_init(l)	((l)->held = 0)
#define spin_lock_irqsave(l, flags) do {		\
		(flags) = 0;				\
		assert(!(l)->held);			\
		(l)->held = 1;				\
		shim_locks_held++;			\
	} while (0)
#define spin_unlock_irqrestore(l, flags) do {		\
		(void)(flags);				\
		assert((l)->held);			\
		(l)->held = 0;				\
		shim_locks_held--;			\
	} while (0)

/* ---- time ---- */
typedef s64 ktime_t;
#define NSEC_PER_USEC		1000L
#define NSEC_PER_MSEC		1000000L
#define NSEC_PER_SEC		1000000000L

extern ktime_t shim_now;
static inline ktime_t ktime_get(void) { return shim_now; }
#define ktime_to_ns(t)		((s64)(t))
#define ns_to_ktime(ns)		((ktime_t)(ns))
#define ktime_add_ns(t, ns)	((t) + (s64)(ns))
#define ktime_sub_ns(t, ns)	((t) - (s64)(ns))
#define ktime_sub(a, b)		((a) - (b))
#define ktime_add(a, b)		((a) + (b))

static inline u64 mul_u64_u32_div(u64 a, u32 mul, u32 div)
{
	return (u64)((unsigned __int128)a * mul / div);
}

static inline u64 div_u64(u64 a, u32 b) { return a / b; }
static inline u64 div64_u64(u64 a, u64 b) { return a / b; }
static inline u64 div_u64_rem(u64 a, u32 b, u32 *rem)
{
	*rem = a % b;
	return a / b;
}

/* ---- hrtimers ---- */
enum hrtimer_restart { HRTIMER_NORESTART, HRTIMER_RESTART };
enum hrtimer_mode { HRTIMER_MODE_ABS, HRTIMER_MODE_REL };
#define CLOCK_MONOTONIC		1

struct hrtimer {
	enum hrtimer_restart (*function)(struct hrtimer *t);
	ktime_t expires;
	bool queued;
	bool running;
	bool registered;
};

void hrtimer_init(struct hrtimer *t, int clock, enum hrtimer_mode mode);
void hrtimer_start(struct hrtimer *t, ktime_t when, enum hrtimer_mode mode);
int hrtimer_try_to_cancel(struct hrtimer *t);
int hrtimer_cancel(struct hrtimer *t);
static inline bool hrtimer_is_queued(struct hrtimer *t) { return t->queued; }
static inline bool hrtimer_active(struct hrtimer *t)
{
	return t->queued || t->running;
}
static inline void hrtimer_set_expires(struct hrtimer *t, ktime_t when)
{
	assert(!t->queued);	/* as the kernel's rules say */
	t->expires = when;
}
static inline ktime_t hrtimer_get_expires(struct hrtimer *t)
{
	return t->expires;
}

/* Move the fake clock to @when, firing due timers in order; returns fires. */
int shim_advance_to(ktime_t when);
/* A timer from hrtimer_init() was freed while queued (a leak or a UAF). */
void shim_check_no_timers(void);

#endif /* _VMM_KSHIM_H */
