// SPDX-License-Identifier: GPL-2.0
/*
 * The RTC/CMOS and the i8042: time read back against the host's in BCD
 * and binary, 24- and 12-hour form; setting the time with SET held;
 * update-in-progress seen and ending; the memory-size bytes; the NMI
 * bit; the i8042's self-test, command byte, interface tests, a keyboard
 * that is not there, and every way of asking it for a reset.
 */
#include <string.h>
#include <time.h>

#include "kselftest_harness.h"

#include "devices.h"
#include "fake_machine.h"

static uint8_t cmos_read(struct machine *m, uint8_t idx)
{
	fake_out(m, 0x70, idx, 1);
	return fake_in(m, 0x71, 1);
}

static void cmos_write(struct machine *m, uint8_t idx, uint8_t v)
{
	fake_out(m, 0x70, idx, 1);
	fake_out(m, 0x71, v, 1);
}

static unsigned int bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 15);
}

/* The guest's clock as Linux's mc146818_get_time() reads it. */
static time_t rtc_time(struct machine *m)
{
	uint8_t b = cmos_read(m, 0x0b);
	bool bin = b & 4, h24 = b & 2;
	unsigned int (*dec)(uint8_t) = bin ? NULL : bcd;
	struct tm tm = { 0 };
	uint8_t h;

	while (cmos_read(m, 0x0a) & 0x80)
		;
#define D(v) (dec ? dec(v) : (v))
	tm.tm_sec = D(cmos_read(m, 0));
	tm.tm_min = D(cmos_read(m, 2));
	h = cmos_read(m, 4);
	if (h24) {
		tm.tm_hour = D(h);
	} else {
		tm.tm_hour = D(h & 0x7f) % 12;
		if (h & 0x80)
			tm.tm_hour += 12;
	}
	tm.tm_mday = D(cmos_read(m, 7));
	tm.tm_mon = D(cmos_read(m, 8)) - 1;
	tm.tm_year = D(cmos_read(m, 0x32)) * 100 + D(cmos_read(m, 9)) - 1900;
#undef D
	return timegm(&tm);
}

TEST(rtc_time_follows_the_host)
{
	struct machine *m = fake_machine_new(1 << 20);
	time_t t, now;
	struct tm tm;

	ASSERT_EQ(0, rtc_create(m, 1ULL << 30));
	EXPECT_EQ(0x26, cmos_read(m, 0x0a) & 0x7f);
	EXPECT_EQ(0x02, cmos_read(m, 0x0b));
	EXPECT_EQ(0x80, cmos_read(m, 0x0d));	/* valid, bit 6 clear */
	t = rtc_time(m);
	EXPECT_LE(labs(t - time(NULL)), 2);
	/* Binary, then 12-hour: the same time in other clothes. */
	cmos_write(m, 0x0b, 0x06);
	EXPECT_LE(labs(rtc_time(m) - time(NULL)), 2);
	cmos_write(m, 0x0b, 0x00);
	EXPECT_LE(labs(rtc_time(m) - time(NULL)), 2);
	cmos_write(m, 0x0b, 0x04);
	EXPECT_LE(labs(rtc_time(m) - time(NULL)), 2);
	/* The day of the week is the date's. */
	now = time(NULL);
	gmtime_r(&now, &tm);
	EXPECT_EQ(tm.tm_wday + 1, cmos_read(m, 6));
	/* The NMI bit of 0x70 does not change the index. */
	fake_out(m, 0x70, 0x8d, 1);
	EXPECT_EQ(0x80, fake_in(m, 0x71, 1));
	fake_machine_free(m);
}

TEST(rtc_set_time)
{
	struct machine *m = fake_machine_new(1 << 20);
	struct tm tm = { .tm_year = 2031 - 1900, .tm_mon = 11, .tm_mday = 24,
			 .tm_hour = 23, .tm_min = 59, .tm_sec = 30 };
	time_t want = timegm(&tm);

	ASSERT_EQ(0, rtc_create(m, 1ULL << 30));
	cmos_write(m, 0x0b, 0x82);		/* SET, BCD, 24h */
	cmos_write(m, 0, 0x30);
	cmos_write(m, 2, 0x59);
	cmos_write(m, 4, 0x23);
	cmos_write(m, 7, 0x24);
	cmos_write(m, 8, 0x12);
	cmos_write(m, 9, 0x31);
	cmos_write(m, 0x32, 0x20);
	/* Frozen while SET is held, no update in progress. */
	EXPECT_EQ(0x30, cmos_read(m, 0));
	EXPECT_EQ(0, cmos_read(m, 0x0a) & 0x80);
	cmos_write(m, 0x0b, 0x02);
	EXPECT_LE(labs(rtc_time(m) - want), 2);
	/* One register at a time, binary 12-hour: 3 PM. */
	cmos_write(m, 0x0b, 0x04);
	cmos_write(m, 4, 0x83);
	EXPECT_EQ(0x83, cmos_read(m, 4));
	cmos_write(m, 0x0b, 0x06);
	EXPECT_EQ(15, cmos_read(m, 4));
	/* Garbage: normalised, never a crash. */
	for (int i = 0; i < 0x40; i++)
		for (int v = 0; v < 256; v += 17)
			cmos_write(m, i, v);
	cmos_read(m, 0);
	fake_machine_free(m);
}

TEST(rtc_update_in_progress)
{
	struct machine *m = fake_machine_new(1 << 20);
	struct timespec a, b;
	int seen = 0, ended = 0;

	ASSERT_EQ(0, rtc_create(m, 1ULL << 30));
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		bool uip = cmos_read(m, 0x0a) & 0x80;

		if (uip)
			seen++;
		else if (seen)
			ended = 1;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while (!ended && b.tv_sec - a.tv_sec < 3);
	EXPECT_GT(seen, 0);
	EXPECT_EQ(1, ended);
	/* Update-ended flag once per second, read-to-clear. */
	cmos_read(m, 0x0c);
	EXPECT_EQ(0, cmos_read(m, 0x0c) & 0x10);
	fake_machine_free(m);
}

/* Run the I/O thread until IRQ 8 rises or @ms pass. */
static bool irq8_within(struct machine *m, int ms)
{
	for (int i = 0; i < ms / 10 && !m->irq[8]; i++)
		fake_run_io(m, 10);
	return m->irq[8];
}

TEST(rtc_interrupts)
{
	struct machine *m = fake_machine_new(1 << 20);
	uint8_t c;

	ASSERT_EQ(0, rtc_create(m, 1ULL << 30));
	/* Nothing enabled: no timer, no interrupt. */
	EXPECT_FALSE(irq8_within(m, 300));
	/* Update-ended: within a second, IRQF|UF, lowered by reading C. */
	cmos_write(m, 0x0b, 0x12);
	ASSERT_TRUE(irq8_within(m, 1500));
	c = cmos_read(m, 0x0c);
	EXPECT_EQ(0x90, c & 0xf0);
	EXPECT_EQ(0, m->irq[8]);
	ASSERT_TRUE(irq8_within(m, 1500));
	cmos_read(m, 0x0c);
	/* Periodic at 1024 Hz (rate 6). */
	cmos_write(m, 0x0b, 0x42);
	ASSERT_TRUE(irq8_within(m, 100));
	EXPECT_EQ(0xc0, cmos_read(m, 0x0c) & 0xc0);
	ASSERT_TRUE(irq8_within(m, 100));
	EXPECT_EQ(0xc0, cmos_read(m, 0x0c) & 0xc0);
	/* Alarm with every field "don't care": each second. */
	cmos_write(m, 0x01, 0xff);
	cmos_write(m, 0x03, 0xff);
	cmos_write(m, 0x05, 0xff);
	cmos_write(m, 0x0b, 0x22);
	cmos_read(m, 0x0c);
	ASSERT_TRUE(irq8_within(m, 1500));
	EXPECT_EQ(0xa0, cmos_read(m, 0x0c) & 0xe0);
	/* All off again: quiet. */
	cmos_write(m, 0x0b, 0x02);
	cmos_read(m, 0x0c);
	EXPECT_FALSE(irq8_within(m, 1200));
	fake_machine_free(m);
}

TEST(cmos_memory_sizes)
{
	struct machine *m = fake_machine_new(1 << 20);
	struct machine *m2 = fake_machine_new(1 << 20);

	ASSERT_EQ(0, rtc_create(m, 48ULL << 20));
	EXPECT_EQ(640, cmos_read(m, 0x15) | cmos_read(m, 0x16) << 8);
	EXPECT_EQ(47 * 1024, cmos_read(m, 0x17) | cmos_read(m, 0x18) << 8);
	EXPECT_EQ(47 * 1024, cmos_read(m, 0x30) | cmos_read(m, 0x31) << 8);
	EXPECT_EQ((48 - 16) * 16,
		  cmos_read(m, 0x34) | cmos_read(m, 0x35) << 8);
	EXPECT_EQ(0, cmos_read(m, 0x5b) | cmos_read(m, 0x5c) |
		     cmos_read(m, 0x5d));
	/* 5 GiB: 3 GiB below the hole, 2 GiB above 4 GiB. */
	ASSERT_EQ(0, rtc_create(m2, 5ULL << 30));
	EXPECT_EQ(0xffff, cmos_read(m2, 0x17) | cmos_read(m2, 0x18) << 8);
	EXPECT_EQ(((3ULL << 30) - (16 << 20)) >> 16,
		  cmos_read(m2, 0x34) | cmos_read(m2, 0x35) << 8);
	EXPECT_EQ((2ULL << 30) >> 16, cmos_read(m2, 0x5b) |
		  cmos_read(m2, 0x5c) << 8 | cmos_read(m2, 0x5d) << 16);
	/* The rest of CMOS is RAM. */
	cmos_write(m, 0x40, 0xa5);
	EXPECT_EQ(0xa5, cmos_read(m, 0x40));
	fake_machine_free(m);
	fake_machine_free(m2);
}

static int kbc_read(struct machine *m)
{
	for (int i = 0; i < 4; i++)
		if (fake_in(m, 0x64, 1) & 1)
			return fake_in(m, 0x60, 1);
	return -1;
}

TEST(i8042)
{
	struct machine *m = fake_machine_new(1 << 20);

	ASSERT_EQ(0, i8042_create(m));
	EXPECT_EQ(0, fake_in(m, 0x64, 1) & 1);
	EXPECT_TRUE(fake_in(m, 0x64, 1) & 4);	/* system flag */
	/* Self-test, interface tests. */
	fake_out(m, 0x64, 0xaa, 1);
	EXPECT_EQ(0x55, kbc_read(m));
	EXPECT_EQ(-1, kbc_read(m));
	fake_out(m, 0x64, 0xab, 1);
	EXPECT_EQ(0x00, kbc_read(m));
	/* Command byte read and write, port enables. */
	fake_out(m, 0x64, 0x20, 1);
	EXPECT_EQ(0x65, kbc_read(m));
	fake_out(m, 0x64, 0x60, 1);
	fake_out(m, 0x60, 0x44, 1);
	fake_out(m, 0x64, 0x20, 1);
	EXPECT_EQ(0x44, kbc_read(m));
	fake_out(m, 0x64, 0xa7, 1);
	fake_out(m, 0x64, 0xad, 1);
	fake_out(m, 0x64, 0x20, 1);
	EXPECT_EQ(0x74, kbc_read(m));
	fake_out(m, 0x64, 0xae, 1);
	fake_out(m, 0x64, 0x20, 1);
	EXPECT_EQ(0x64, kbc_read(m));
	/* No AUX: loopback comes back as keyboard data, test fails. */
	fake_out(m, 0x64, 0xd3, 1);
	fake_out(m, 0x60, 0x5a, 1);
	EXPECT_EQ(0x01, fake_in(m, 0x64, 1) & 0x21);
	EXPECT_EQ(0x5a, kbc_read(m));
	fake_out(m, 0x64, 0xa9, 1);
	EXPECT_EQ(0x02, kbc_read(m));
	/* No keyboard: a byte to it times out, with IRQ 1 if enabled. */
	fake_out(m, 0x64, 0x60, 1);
	fake_out(m, 0x60, 0x45, 1);
	fake_out(m, 0x60, 0xff, 1);
	EXPECT_EQ(0x41, fake_in(m, 0x64, 1) & 0x41);
	EXPECT_EQ(1, m->irq[1]);
	EXPECT_EQ(0xfe, kbc_read(m));
	EXPECT_EQ(0, m->irq[1]);
	/* A full queue drops, never overflows. */
	for (int i = 0; i < 100; i++)
		fake_out(m, 0x64, 0xaa, 1);
	for (int i = 0; i < 16; i++)
		EXPECT_EQ(0x55, kbc_read(m));
	EXPECT_EQ(-1, kbc_read(m));
	EXPECT_EQ(-1, m->stop_requested);
	/* Reset: 0xfe; other pulses of line 0; output port bit 0 low. */
	fake_out(m, 0x64, 0xfe, 1);
	EXPECT_EQ(MACHINE_RESET, m->stop_requested);
	m->stop_requested = -1;
	fake_out(m, 0x64, 0xff, 1);	/* pulses nothing */
	EXPECT_EQ(-1, m->stop_requested);
	fake_out(m, 0x64, 0xf0, 1);
	EXPECT_EQ(MACHINE_RESET, m->stop_requested);
	m->stop_requested = -1;
	fake_out(m, 0x64, 0xd1, 1);
	fake_out(m, 0x60, 0x02, 1);
	EXPECT_EQ(MACHINE_RESET, m->stop_requested);
	fake_machine_free(m);
}

TEST_HARNESS_MAIN
