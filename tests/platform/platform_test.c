// SPDX-License-Identifier: GPL-2.0
/*
 * Native tests of the platform devices vmm-run writes itself: the 16550A
 * console (user/devices/serial8250.c) and the ACPI PM registers and reset
 * port (user/devices/acpi_pm.c), driven through h4's fake machine
 * (tests/devices/fake_machine.c) the way Linux's drivers drive them.
 * TAP on stdout.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "fake_machine.h"

#define COM1		0x3f8
#define PM		0x600

static int tests, failed;

static void __attribute__((format(printf, 2, 3))) ok(bool cond,
						      const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d ", cond ? "" : "not ", ++tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failed += !cond;
}

static unsigned int in8(struct machine *m, unsigned int reg)
{
	return fake_in(m, COM1 + reg, 1);
}

static void out8(struct machine *m, unsigned int reg, unsigned int v)
{
	fake_out(m, COM1 + reg, v, 1);
}

/* A serial port on a fresh machine, its input and output on pipes. */
static struct machine *serial_machine(int *to_guest, int *from_guest)
{
	struct machine *m = fake_machine_new(1 << 20);
	int in[2], out[2];

	m->quiet = true;
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC | O_NONBLOCK))
		return NULL;
	if (serial8250_create(m, in[0], out[1]) < 0)
		return NULL;
	*to_guest = in[1];
	*from_guest = out[0];
	return m;
}

static void test_serial(void)
{
	int to, from, i;
	struct machine *m = serial_machine(&to, &from);
	char buf[8] = { 0 };
	unsigned int lsr;

	if (!m) {
		ok(false, "serial8250_create");
		return;
	}
	out8(m, 7, 0xa5);
	ok(in8(m, 7) == 0xa5, "scratch register keeps 0xa5");
	out8(m, 3, 0x80);
	out8(m, 0, 0x01);
	out8(m, 1, 0x00);
	ok(in8(m, 0) == 0x01 && in8(m, 1) == 0x00,
	   "DLAB: divisor latch reads back (115200 baud)");
	out8(m, 3, 0x03);
	ok(in8(m, 3) == 0x03, "LCR 8N1");

	/* Linux's autoconfig: loopback with RTS|OUT2 shows CTS|DCD. */
	out8(m, 4, 0x10 | 0x0a);
	ok((in8(m, 6) & 0xf0) == 0x90, "loopback: MSR 0x90 for MCR 0x1a");
	out8(m, 0, 'L');
	lsr = in8(m, 5);
	ok((lsr & 0x61) == 0x61 && in8(m, 0) == 'L' && !(in8(m, 5) & 1),
	   "loopback: THR comes back in RBR, LSR.DR set then clear");
	out8(m, 4, 0x0b);
	ok((in8(m, 6) & 0xb0) == 0xb0, "no loopback: CTS, DSR, DCD up");

	out8(m, 2, 0x07);
	ok((in8(m, 2) & 0xc0) == 0xc0, "FIFO enabled: IIR says 16550A");

	out8(m, 1, 0x02);
	ok(m->irq[4] && (in8(m, 2) & 0x0f) == 0x02,
	   "THRI enabled: IRQ 4 up, IIR reports THRE");
	ok(!m->irq[4] && (in8(m, 2) & 0x0f) == 0x01,
	   "IIR read acknowledges THRE: IRQ 4 down");
	/* Linux's UART_BUG_THRE probe: THRE must come back when re-enabled. */
	out8(m, 1, 0x00);
	out8(m, 1, 0x02);
	ok(m->irq[4] && (in8(m, 2) & 0x0f) == 0x02 && !m->irq[4],
	   "THRI off and on while idle: THRE raised again");
	out8(m, 0, 'h');
	out8(m, 0, 'i');
	ok(m->irq[4] && read(from, buf, sizeof(buf)) == 2 &&
	   !strcmp(buf, "hi"), "THR goes to the output fd, THRE again");
	out8(m, 1, 0x00);
	ok(!m->irq[4], "IER 0: IRQ 4 down");

	out8(m, 1, 0x01);
	ok(write(to, "ab", 2) == 2 && fake_run_io(m, 100) >= 0 &&
	   m->irq[4] && (in8(m, 5) & 1) && (in8(m, 2) & 0x0f) == 0x04,
	   "input: LSR.DR, IRQ 4 up, IIR reports received data");
	ok(in8(m, 0) == 'a' && in8(m, 0) == 'b' && !(in8(m, 5) & 1) &&
	   !m->irq[4], "input read in order; then DR and IRQ 4 down");

	ok(write(to, "\001\001z", 3) == 3 && fake_run_io(m, 100) >= 0 &&
	   in8(m, 0) == 0x01 && in8(m, 0) == 'z' && !(in8(m, 5) & 1) &&
	   m->stop_requested < 0, "Ctrl-A Ctrl-A sends one Ctrl-A");
	for (i = 0; i < 5; i++) {
		char big[1024];

		memset(big, 'x', sizeof(big));
		if (write(to, big, sizeof(big)) != sizeof(big))
			break;
		/* The I/O thread reads until the pipe is empty. */
		while (fake_run_io(m, 0) > 0)
			;
	}
	ok((in8(m, 5) & 0x02) && !(in8(m, 5) & 0x02),
	   "5 KiB unread: overrun (LSR.OE) once, cleared by reading LSR");
	out8(m, 2, 0x03);
	ok(!(in8(m, 5) & 1), "FCR clears the receive queue");
	ok(write(to, "\001x", 2) == 2 && fake_run_io(m, 100) >= 0 &&
	   m->stop_requested == MACHINE_SIGNAL,
	   "Ctrl-A x stops the machine (MACHINE_SIGNAL)");
	close(to);
	close(from);
	fake_machine_free(m);
}

static void test_pm(void)
{
	struct machine *m = fake_machine_new(1 << 20);
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	uint32_t t0, t1;
	double hz;

	m->quiet = true;
	ok(acpi_pm_create(m) == 0, "acpi_pm_create");
	ok(fake_in(m, PM + 4, 2) & 1, "PM1_CNT: SCI_EN set (no SMI port)");
	fake_out(m, PM + 4, 0, 2);
	ok(fake_in(m, PM + 4, 2) & 1, "SCI_EN cannot be cleared");
	fake_out(m, PM + 2, 0xffff, 2);
	ok(fake_in(m, PM + 2, 2) == 0x0721 && !m->irq[9],
	   "PM1_EN keeps its defined bits; no status, no SCI");
	t0 = fake_in(m, PM + 8, 4);
	nanosleep(&pause, NULL);
	t1 = fake_in(m, PM + 8, 4);
	hz = ((t1 - t0) & 0xffffff) / 0.05;
	ok(t0 <= 0xffffff && t1 <= 0xffffff && hz > 3.0e6 && hz < 4.5e6,
	   "PM timer: 24 bits, %.2f MHz over 50 ms", hz / 1e6);
	fake_out(m, PM + 4, (1 << 10) | (1 << 13), 2);
	ok(m->stop_requested < 0 && m->guest_errors == 1,
	   "SLP_TYP 1 + SLP_EN: logged, nothing happens");
	fake_out(m, PM + 4, (5 << 10) | (1 << 13), 2);
	ok(m->stop_requested == MACHINE_POWEROFF,
	   "SLP_TYP 5 (\\_S5) + SLP_EN: power off");
	fake_machine_free(m);

	m = fake_machine_new(1 << 20);
	acpi_pm_create(m);
	fake_out(m, 0xcf9, 0x02, 1);
	ok(m->stop_requested < 0 && fake_in(m, 0xcf9, 1) == 0x02,
	   "0xcf9 = 2 (SYS_RST alone): no reset yet");
	fake_out(m, 0xcf9, 0x06, 1);
	ok(m->stop_requested == MACHINE_RESET, "0xcf9 = 6: reset");
	fake_machine_free(m);
}

int main(void)
{
	printf("1..27\n");
	test_serial();
	test_pm();
	return failed ? 1 : 0;
}
