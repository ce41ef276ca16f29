// SPDX-License-Identifier: GPL-2.0
/* The fake clock and hrtimers of kshim.h. */
#include "kshim.h"

ktime_t shim_now;
int shim_locks_held;
unsigned long shim_warnings;

#define SHIM_MAX_TIMERS 8
static struct hrtimer *timers[SHIM_MAX_TIMERS];

void hrtimer_init(struct hrtimer *t, int clock, enum hrtimer_mode mode)
{
	int i;

	(void)clock;
	(void)mode;
	memset(t, 0, sizeof(*t));
	for (i = 0; i < SHIM_MAX_TIMERS; i++) {
		if (!timers[i]) {
			timers[i] = t;
			t->registered = true;
			return;
		}
	}
	abort();
}

void hrtimer_start(struct hrtimer *t, ktime_t when, enum hrtimer_mode mode)
{
	assert(t->registered);
	t->expires = mode == HRTIMER_MODE_REL ? shim_now + when : when;
	t->queued = true;
}

int hrtimer_try_to_cancel(struct hrtimer *t)
{
	if (t->running)
		return -1;
	if (t->queued) {
		t->queued = false;
		return 1;
	}
	return 0;
}

int hrtimer_cancel(struct hrtimer *t)
{
	int i, ret;

	assert(!t->running);	/* single-threaded: never from its callback */
	ret = hrtimer_try_to_cancel(t);
	/* The model frees the timer next: forget it. */
	for (i = 0; i < SHIM_MAX_TIMERS; i++)
		if (timers[i] == t)
			timers[i] = NULL;
	t->registered = false;
	return ret;
}

/* The queued timer that expires first, at or before @when. */
static struct hrtimer *next_due(ktime_t when)
{
	struct hrtimer *best = NULL;
	int i;

	for (i = 0; i < SHIM_MAX_TIMERS; i++) {
		struct hrtimer *t = timers[i];

		if (t && t->queued && t->expires <= when &&
		    (!best || t->expires < best->expires))
			best = t;
	}
	return best;
}

int shim_advance_to(ktime_t when)
{
	struct hrtimer *t;
	int fired = 0;

	while ((t = next_due(when))) {
		if (t->expires > shim_now)
			shim_now = t->expires;
		t->queued = false;
		t->running = true;
		assert(shim_locks_held == 0);
		if (t->function(t) == HRTIMER_RESTART && !t->queued)
			t->queued = true;
		t->running = false;
		fired++;
		assert(fired < 1000000);
	}
	if (when > shim_now)
		shim_now = when;
	return fired;
}

void shim_check_no_timers(void)
{
	int i;

	for (i = 0; i < SHIM_MAX_TIMERS; i++)
		assert(!timers[i]);
}
