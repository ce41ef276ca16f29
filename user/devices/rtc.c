// SPDX-License-Identifier: GPL-2.0
/*
 * MC146818 real-time clock and CMOS RAM at ports 0x70 (index, bit 7
 * masks NMI) and 0x71 (data).
 *
 * The clock is the host's UTC plus an offset the guest sets by writing
 * the time registers (with register B's SET bit held, or one register at
 * a time); reads convert to BCD or binary and 12- or 24-hour form as
 * register B says.  Update-in-progress is shown for the last 244 us of
 * every second, as the chip does, so a guest that waits for it sees it
 * end.  The CMOS RAM carries the memory sizes a PC BIOS leaves there.
 *
 * Interrupts (IRQ 8, raised until register C is read): update-ended
 * and alarm once a second, periodic at register A's rate, from a
 * timerfd on the I/O thread that runs only while one is enabled.
 * Not modelled: daylight saving.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "machine.h"

#define RTC_SECONDS		0x00
#define RTC_SECONDS_ALARM	0x01
#define RTC_MINUTES		0x02
#define RTC_MINUTES_ALARM	0x03
#define RTC_HOURS		0x04
#define RTC_HOURS_ALARM		0x05
#define RTC_DAY_OF_WEEK		0x06
#define RTC_DAY_OF_MONTH	0x07
#define RTC_MONTH		0x08
#define RTC_YEAR		0x09
#define RTC_REG_A		0x0a
#define  RTC_UIP		0x80
#define RTC_REG_B		0x0b
#define  RTC_SET		0x80
#define  RTC_PIE		0x40
#define  RTC_AIE		0x20
#define  RTC_UIE		0x10
#define  RTC_DM_BINARY		0x04
#define  RTC_24H		0x02
#define RTC_REG_C		0x0c
#define  RTC_IRQF		0x80
#define  RTC_PF			0x40
#define  RTC_AF			0x20
#define  RTC_UF			0x10
#define RTC_REG_D		0x0d
#define  RTC_VRT		0x80
#define RTC_CENTURY		0x32	/* where ACPI's FADT says it is */

#define RTC_IRQ			8
#define CMOS_SIZE		128
#define RTC_UIP_NS		244000	/* the update's length, 32.768 kHz */

struct rtc {
	pthread_mutex_t lock;
	struct machine *m;
	uint8_t index;
	bool nmi_masked;
	uint8_t cmos[CMOS_SIZE];
	/* Guest time = host CLOCK_REALTIME + offset (seconds). */
	int64_t offset;
	/* While SET is held: the registers the guest is writing. */
	struct tm set_tm;
	uint8_t reg_c;			/* flags since the last C read */
	bool irq;			/* IRQ 8's level */
	int64_t last_sec;		/* guest second of the last update */
	int tfd;			/* interrupt timer, -1: none */
	uint64_t period_ns;		/* what tfd is armed with, 0: off */
};

static void now_host(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static uint8_t to_bcd(unsigned int v)
{
	return (v / 10) << 4 | v % 10;
}

static unsigned int from_bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 15);
}

static bool rtc_binary(const struct rtc *rtc)
{
	return rtc->cmos[RTC_REG_B] & RTC_DM_BINARY;
}

static uint8_t rtc_enc(const struct rtc *rtc, unsigned int v)
{
	return rtc_binary(rtc) ? v : to_bcd(v);
}

static unsigned int rtc_dec(const struct rtc *rtc, uint8_t v)
{
	return rtc_binary(rtc) ? v : from_bcd(v);
}

/* The guest's broken-down time now. */
static void rtc_now(struct rtc *rtc, struct tm *tm, long *nsec)
{
	struct timespec ts;
	time_t t;

	if (rtc->cmos[RTC_REG_B] & RTC_SET) {
		*tm = rtc->set_tm;
		*nsec = 0;
		return;
	}
	now_host(&ts);
	t = ts.tv_sec + rtc->offset;
	if (!gmtime_r(&t, tm)) {
		/* Cannot happen from register values; be safe anyway. */
		rtc->offset = 0;
		t = ts.tv_sec;
		gmtime_r(&t, tm);
	}
	*nsec = ts.tv_nsec;
}

/* Set the guest's clock to @tm (UTC) from now on. */
static void rtc_commit(struct rtc *rtc, struct tm *tm)
{
	struct timespec ts;
	time_t t;

	tm->tm_isdst = 0;
	t = timegm(tm);
	if (t == (time_t)-1) {
		machine_log_guest_error(rtc->m, "rtc",
					"time %04d-%02d-%02d %02d:%02d:%02d is invalid: ignored",
					tm->tm_year + 1900, tm->tm_mon + 1,
					tm->tm_mday, tm->tm_hour, tm->tm_min,
					tm->tm_sec);
		return;
	}
	now_host(&ts);
	rtc->offset = (int64_t)t - ts.tv_sec;
}

static uint8_t rtc_hours_enc(const struct rtc *rtc, unsigned int h)
{
	uint8_t pm = 0;

	if (rtc->cmos[RTC_REG_B] & RTC_24H)
		return rtc_enc(rtc, h);
	/* 12-hour: 12, 1..11 with bit 7 for PM. */
	if (h >= 12) {
		pm = 0x80;
		h -= 12;
	}
	return rtc_enc(rtc, h ? h : 12) | pm;
}

static unsigned int rtc_hours_dec(const struct rtc *rtc, uint8_t v)
{
	unsigned int h;

	if (rtc->cmos[RTC_REG_B] & RTC_24H)
		return rtc_dec(rtc, v);
	h = rtc_dec(rtc, v & 0x7f) % 12;
	return v & 0x80 ? h + 12 : h;
}

static uint8_t rtc_read_reg(struct rtc *rtc, uint8_t idx);

static void rtc_set_irq(struct rtc *rtc)
{
	bool level;

	if (rtc->reg_c & rtc->cmos[RTC_REG_B] & (RTC_PF | RTC_AF | RTC_UF))
		rtc->reg_c |= RTC_IRQF;
	level = rtc->reg_c & RTC_IRQF;
	if (level != rtc->irq) {
		rtc->irq = level;
		machine_irq_line(rtc->m, RTC_IRQ, level);
	}
}

/* An alarm register matches, or is "don't care" (0xc0-0xff). */
static bool rtc_alarm_field(uint8_t alarm, uint8_t now)
{
	return (alarm & 0xc0) == 0xc0 || alarm == now;
}

/* Once per guest second: the update-ended flag, and the alarm's. */
static void rtc_update(struct rtc *rtc)
{
	struct timespec ts;
	int64_t sec;

	if (rtc->cmos[RTC_REG_B] & RTC_SET)
		return;
	now_host(&ts);
	sec = ts.tv_sec + rtc->offset;
	if (sec == rtc->last_sec)
		return;
	rtc->last_sec = sec;
	rtc->reg_c |= RTC_UF;
	if (rtc_alarm_field(rtc->cmos[RTC_SECONDS_ALARM],
			    rtc_read_reg(rtc, RTC_SECONDS)) &&
	    rtc_alarm_field(rtc->cmos[RTC_MINUTES_ALARM],
			    rtc_read_reg(rtc, RTC_MINUTES)) &&
	    rtc_alarm_field(rtc->cmos[RTC_HOURS_ALARM],
			    rtc_read_reg(rtc, RTC_HOURS)))
		rtc->reg_c |= RTC_AF;
}

/*
 * Arm the interrupt timer for what register B enables: register A's
 * periodic rate, else a tick a second for update and alarm.
 */
static void rtc_rearm(struct rtc *rtc)
{
	uint8_t b = rtc->cmos[RTC_REG_B], rate = rtc->cmos[RTC_REG_A] & 15;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	uint64_t ns = 0;

	if (rtc->tfd < 0)
		return;
	if ((b & RTC_PIE) && rate) {
		/* Rates 1 and 2 are 256 and 128 Hz, as rates 8 and 9. */
		if (rate < 3)
			rate += 7;
		ns = 1000000000ULL * (1u << (rate - 1)) / 32768;
	} else if (b & (RTC_AIE | RTC_UIE)) {
		ns = 1000000000ULL;
	}
	if (ns == rtc->period_ns)
		return;
	rtc->period_ns = ns;
	its.it_interval.tv_sec = ns / 1000000000ULL;
	its.it_interval.tv_nsec = ns % 1000000000ULL;
	its.it_value = its.it_interval;
	timerfd_settime(rtc->tfd, 0, &its, NULL);
}

/* The I/O thread: the interrupt timer fired. */
static void rtc_tick(void *opaque)
{
	struct rtc *rtc = opaque;
	uint64_t n;

	if (read(rtc->tfd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&rtc->lock);
	if ((rtc->cmos[RTC_REG_B] & RTC_PIE) && rtc->period_ns < 1000000000ULL)
		rtc->reg_c |= RTC_PF;
	rtc_update(rtc);
	rtc_set_irq(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

static uint8_t rtc_read_reg(struct rtc *rtc, uint8_t idx)
{
	struct tm tm;
	long nsec;
	uint8_t v;

	rtc_now(rtc, &tm, &nsec);
	switch (idx) {
	case RTC_SECONDS:
		return rtc_enc(rtc, tm.tm_sec > 59 ? 59 : tm.tm_sec);
	case RTC_MINUTES:
		return rtc_enc(rtc, tm.tm_min);
	case RTC_HOURS:
		return rtc_hours_enc(rtc, tm.tm_hour);
	case RTC_DAY_OF_WEEK:
		return rtc_enc(rtc, tm.tm_wday + 1);
	case RTC_DAY_OF_MONTH:
		return rtc_enc(rtc, tm.tm_mday);
	case RTC_MONTH:
		return rtc_enc(rtc, tm.tm_mon + 1);
	case RTC_YEAR:
		return rtc_enc(rtc, tm.tm_year % 100);
	case RTC_CENTURY:
		return rtc_enc(rtc, (tm.tm_year + 1900) / 100);
	case RTC_REG_A:
		v = rtc->cmos[RTC_REG_A] & ~RTC_UIP;
		/* Dividers running, not held by SET, the last 244 us. */
		if ((v & 0x70) == 0x20 && !(rtc->cmos[RTC_REG_B] & RTC_SET) &&
		    nsec >= 1000000000 - RTC_UIP_NS)
			v |= RTC_UIP;
		return v;
	case RTC_REG_C:
		/* Reading acknowledges: the flags clear, IRQ 8 drops. */
		rtc_update(rtc);
		v = rtc->reg_c;
		rtc->reg_c = 0;
		rtc_set_irq(rtc);
		return v;
	case RTC_REG_D:
		return RTC_VRT;		/* the battery is good */
	default:
		return rtc->cmos[idx];
	}
}

/* A time register written: into the SET image, or the clock at once. */
static void rtc_write_time(struct rtc *rtc, uint8_t idx, uint8_t v)
{
	bool held = rtc->cmos[RTC_REG_B] & RTC_SET;
	struct tm tm;
	long nsec;

	rtc_now(rtc, &tm, &nsec);
	switch (idx) {
	case RTC_SECONDS:
		tm.tm_sec = rtc_dec(rtc, v) % 60;
		break;
	case RTC_MINUTES:
		tm.tm_min = rtc_dec(rtc, v) % 60;
		break;
	case RTC_HOURS:
		tm.tm_hour = rtc_hours_dec(rtc, v) % 24;
		break;
	case RTC_DAY_OF_WEEK:
		/* Derived from the date here. */
		return;
	case RTC_DAY_OF_MONTH:
		tm.tm_mday = rtc_dec(rtc, v);
		break;
	case RTC_MONTH:
		tm.tm_mon = rtc_dec(rtc, v) - 1;
		break;
	case RTC_YEAR:
		tm.tm_year = (tm.tm_year + 1900) / 100 * 100 +
			     rtc_dec(rtc, v) % 100 - 1900;
		break;
	case RTC_CENTURY:
		tm.tm_year = rtc_dec(rtc, v) * 100 +
			     (tm.tm_year + 1900) % 100 - 1900;
		break;
	}
	if (held)
		rtc->set_tm = tm;
	else
		rtc_commit(rtc, &tm);
}

static void rtc_write_reg(struct rtc *rtc, uint8_t idx, uint8_t v)
{
	struct tm tm;
	long nsec;

	switch (idx) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		rtc_write_time(rtc, idx, v);
		break;
	case RTC_REG_A:
		rtc->cmos[idx] = v & ~RTC_UIP;
		rtc_rearm(rtc);
		break;
	case RTC_REG_B:
		if ((v & RTC_SET) && !(rtc->cmos[RTC_REG_B] & RTC_SET)) {
			/* Freeze the time the guest is about to set. */
			rtc_now(rtc, &tm, &nsec);
			rtc->set_tm = tm;
		} else if (!(v & RTC_SET) &&
			   (rtc->cmos[RTC_REG_B] & RTC_SET)) {
			tm = rtc->set_tm;
			rtc->cmos[idx] = v;
			rtc_commit(rtc, &tm);
		}
		rtc->cmos[idx] = v;
		rtc_rearm(rtc);
		rtc_set_irq(rtc);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;		/* read-only */
	default:
		rtc->cmos[idx] = v;
		break;
	}
}

static void rtc_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	struct rtc *rtc = opaque;

	memset(data, 0xff, size);
	if (off != 1)
		return;		/* the index port is write-only */
	pthread_mutex_lock(&rtc->lock);
	*(uint8_t *)data = rtc_read_reg(rtc, rtc->index);
	pthread_mutex_unlock(&rtc->lock);
}

static void rtc_write(void *opaque, uint64_t off, const void *data,
		      unsigned int size)
{
	struct rtc *rtc = opaque;
	uint8_t v = *(const uint8_t *)data;

	(void)size;
	pthread_mutex_lock(&rtc->lock);
	if (off == 0) {
		/* Bit 7 masks NMIs on a PC; no NMI source is wired here. */
		rtc->nmi_masked = v & 0x80;
		rtc->index = v & 0x7f;
	} else if (off == 1) {
		rtc_write_reg(rtc, rtc->index, v);
	}
	pthread_mutex_unlock(&rtc->lock);
}

static const struct io_ops rtc_ops = {
	.read = rtc_read,
	.write = rtc_write,
};

/* The memory-size bytes a PC BIOS leaves in CMOS. */
static void rtc_mem_sizes(uint8_t *cmos, uint64_t mem_bytes)
{
	uint64_t low = mem_bytes < (3ULL << 30) ? mem_bytes : 3ULL << 30;
	uint64_t high = mem_bytes - low;
	uint64_t ext_kb = low > (1 << 20) ? (low - (1 << 20)) >> 10 : 0;
	uint64_t above16 = low > (16 << 20) ? (low - (16 << 20)) >> 16 : 0;
	uint64_t above4g = high >> 16;

	cmos[0x15] = 640 & 0xff;		/* base memory, KiB */
	cmos[0x16] = 640 >> 8;
	if (ext_kb > 0xffff)
		ext_kb = 0xffff;
	cmos[0x17] = cmos[0x30] = ext_kb;	/* above 1 MiB, KiB */
	cmos[0x18] = cmos[0x31] = ext_kb >> 8;
	if (above16 > 0xffff)
		above16 = 0xffff;
	cmos[0x34] = above16;			/* above 16 MiB, 64 KiB */
	cmos[0x35] = above16 >> 8;
	cmos[0x5b] = above4g;			/* above 4 GiB, 64 KiB */
	cmos[0x5c] = above4g >> 8;
	cmos[0x5d] = above4g >> 16;
}

/* rtc_create - see devices.h.  Lives as long as the process. */
int rtc_create(struct machine *m, uint64_t mem_bytes)
{
	struct rtc *rtc = calloc(1, sizeof(*rtc));
	int ret;

	if (!rtc) {
		fprintf(stderr, "rtc: out of memory\n");
		return -ENOMEM;
	}
	pthread_mutex_init(&rtc->lock, NULL);
	rtc->m = m;
	rtc->cmos[RTC_REG_A] = 0x26;	/* 32.768 kHz, 1024 Hz periodic */
	rtc->cmos[RTC_REG_B] = RTC_24H;	/* BCD, 24-hour, as a BIOS leaves */
	rtc_mem_sizes(rtc->cmos, mem_bytes);
	rtc->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (rtc->tfd < 0 || machine_watch_fd(m, rtc->tfd, rtc_tick, rtc)) {
		fprintf(stderr, "rtc: no interrupt timer: %s\n", strerror(errno));
		if (rtc->tfd >= 0)
			close(rtc->tfd);
		rtc->tfd = -1;
	}
	ret = machine_pio_register(m, 0x70, 2, &rtc_ops, rtc, "rtc");
	if (ret) {
		fprintf(stderr, "rtc: cannot register ports 0x70-0x71: %s\n",
			strerror(-ret));
		free(rtc);
		return ret;
	}
	return 0;
}
