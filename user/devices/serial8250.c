// SPDX-License-Identifier: GPL-2.0
/*
 * serial8250 - COM1, a 16550A UART at 0x3f8 on IRQ 4: the guest's
 * console.  What the guest sends goes to out_fd at once (the transmitter
 * is always empty); what arrives on in_fd (the I/O thread) waits in a
 * receive queue deeper than a 16550's 16-byte FIFO, so that a paste is
 * not lost while the guest is slow to read.
 *
 * Input from the terminal has one escape: Ctrl-A x stops vmm-run (as in
 * QEMU), Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A h prints the keys.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices.h"
#include "../machine.h"

#define COM1_BASE	0x3f8
#define COM1_IRQ	4
#define RX_QUEUE	4096
#define ESCAPE_KEY	0x01	/* Ctrl-A */

/* Register offsets; DLL/DLM replace RBR/IER while LCR.DLAB is set. */
#define UART_RX		0
#define UART_IER	1
#define UART_IIR	2	/* read; FCR on write */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define IER_RDI		0x01	/* received data available */
#define IER_THRI	0x02	/* transmitter holding register empty */
#define IER_RLSI	0x04	/* receiver line status */
#define IER_MSI		0x08	/* modem status */

#define IIR_NO_INT	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_FIFO	0xc0	/* FIFOs enabled: a 16550A */

#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02

#define LCR_DLAB	0x80

#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10

#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

#define MSR_DCTS	0x01
#define MSR_DDSR	0x02
#define MSR_TERI	0x04
#define MSR_DDCD	0x08
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80
#define MSR_DELTAS	0x0f

struct serial {
	struct machine *m;
	pthread_mutex_t lock;
	int in_fd, out_fd;

	uint8_t ier, fcr, lcr, mcr, lsr_oe, msr, scr, dll, dlm;
	bool thr_pending;	/* THRE interrupt not yet acknowledged */
	int irq_level;

	uint8_t rx[RX_QUEUE];
	unsigned int rx_head, rx_len;
	bool escape;		/* Ctrl-A seen */
	unsigned long dropped;
};

static uint8_t serial_iir(struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	if ((s->ier & IER_RLSI) && s->lsr_oe)
		return fifo | IIR_RLSI;
	if ((s->ier & IER_RDI) && s->rx_len)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_pending)
		return fifo | IIR_THRI;
	if ((s->ier & IER_MSI) && (s->msr & MSR_DELTAS))
		return fifo | IIR_MSI;
	return fifo | IIR_NO_INT;
}

/* The line follows IIR; told to the irqchip only when it changes. */
static void serial_update_irq(struct serial *s)
{
	int level = !(serial_iir(s) & IIR_NO_INT);

	if (level != s->irq_level) {
		s->irq_level = level;
		machine_irq_line(s->m, COM1_IRQ, level);
	}
}

/* Modem inputs: in loopback they are the MCR's outputs, else "all up". */
static void serial_update_msr(struct serial *s)
{
	uint8_t old = s->msr, now;

	if (s->mcr & MCR_LOOP)
		now = (s->mcr & MCR_RTS ? MSR_CTS : 0) |
		      (s->mcr & MCR_DTR ? MSR_DSR : 0) |
		      (s->mcr & MCR_OUT1 ? MSR_RI : 0) |
		      (s->mcr & MCR_OUT2 ? MSR_DCD : 0);
	else
		now = MSR_DCD | MSR_DSR | MSR_CTS;
	s->msr = (s->msr & MSR_DELTAS) | now;
	if ((old ^ now) & MSR_CTS)
		s->msr |= MSR_DCTS;
	if ((old ^ now) & MSR_DSR)
		s->msr |= MSR_DDSR;
	if ((old ^ now) & MSR_DCD)
		s->msr |= MSR_DDCD;
	if ((old & MSR_RI) && !(now & MSR_RI))
		s->msr |= MSR_TERI;
}

static void rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_len == RX_QUEUE) {
		s->lsr_oe = 1;
		s->dropped++;
		return;
	}
	s->rx[(s->rx_head + s->rx_len++) % RX_QUEUE] = c;
}

static uint8_t rx_pop(struct serial *s)
{
	uint8_t c;

	if (!s->rx_len)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % RX_QUEUE;
	s->rx_len--;
	return c;
}

static void serial_transmit(struct serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		rx_push(s, c);
	} else if (s->out_fd >= 0) {
		/* A console that cannot keep up loses output, never stalls. */
		if (write(s->out_fd, &c, 1) < 0 && errno != EAGAIN)
			s->out_fd = -1;
	}
	s->thr_pending = true;
}

static uint8_t serial_read_reg(struct serial *s, unsigned int reg)
{
	uint8_t v;

	switch (reg) {
	case UART_RX:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		return rx_pop(s);
	case UART_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR:
		v = serial_iir(s);
		/* Reading IIR acknowledges a THRE interrupt it reports. */
		if ((v & 0x0f) == IIR_THRI)
			s->thr_pending = false;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = LSR_THRE | LSR_TEMT | (s->rx_len ? LSR_DR : 0) |
		    (s->lsr_oe ? LSR_OE : 0);
		s->lsr_oe = 0;
		return v;
	case UART_MSR:
		v = s->msr;
		s->msr &= ~MSR_DELTAS;
		return v;
	default:
		return s->scr;
	}
}

static void serial_write_reg(struct serial *s, unsigned int reg, uint8_t v)
{
	switch (reg) {
	case UART_RX:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			serial_transmit(s, v);
		break;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI while the transmitter is empty raises it. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thr_pending = true;
		s->ier = v & 0x0f;
		break;
	case UART_IIR:		/* FCR */
		if (v & FCR_CLEAR_RX)
			s->rx_head = s->rx_len = 0;
		s->fcr = v & 0xc9;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		serial_update_msr(s);
		break;
	case UART_LSR:
	case UART_MSR:
		break;		/* read-only here */
	default:
		s->scr = v;
		break;
	}
}

static void serial_read(void *dev, uint64_t off, void *data, unsigned int size)
{
	struct serial *s = dev;
	uint8_t *p = data;
	unsigned int i;

	pthread_mutex_lock(&s->lock);
	/* Byte registers; a wider access reads the ones after it too. */
	for (i = 0; i < size; i++)
		p[i] = off + i < 8 ? serial_read_reg(s, off + i) : 0xff;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(void *dev, uint64_t off, const void *data,
			 unsigned int size)
{
	struct serial *s = dev;
	const uint8_t *p = data;
	unsigned int i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < size && off + i < 8; i++)
		serial_write_reg(s, off + i, p[i]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static const struct io_ops serial_ops = {
	.read = serial_read,	/* vCPU threads */
	.write = serial_write,
};

/* To the terminal, past stdio: the I/O thread must not block on it. */
static void say(const char *text, size_t len)
{
	ssize_t r = write(STDERR_FILENO, text, len);

	(void)r;	/* nothing better to do when stderr is gone */
}

static void serial_escape(struct serial *s, uint8_t c)
{
	static const char bye[] = "\r\nvmm-run: Ctrl-A x: stopping the guest\r\n";
	static const char help[] =
		"\r\nvmm-run: Ctrl-A x  quit\r\n"
		"vmm-run: Ctrl-A Ctrl-A  send Ctrl-A\r\n"
		"vmm-run: Ctrl-A h  this help\r\n";

	switch (c) {
	case 'x':
	case 'X':
		say(bye, sizeof(bye) - 1);
		machine_request_stop(s->m, MACHINE_SIGNAL);
		break;
	case ESCAPE_KEY:
		rx_push(s, c);
		break;
	case 'h':
	case 'H':
	case '?':
		say(help, sizeof(help) - 1);
		break;
	default:
		break;		/* unknown escapes are dropped, as QEMU does */
	}
}

/* The I/O thread: in_fd is readable. */
static void serial_input(void *opaque)
{
	struct serial *s = opaque;
	uint8_t buf[256];
	ssize_t n, i;

	n = read(s->in_fd, buf, sizeof(buf));
	if (n <= 0)
		return;		/* end of input: the guest reads nothing more */
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < n; i++) {
		if (s->escape) {
			s->escape = false;
			serial_escape(s, buf[i]);
		} else if (buf[i] == ESCAPE_KEY) {
			s->escape = true;
		} else {
			rx_push(s, buf[i]);
		}
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_stop(void *opaque)
{
	struct serial *s = opaque;

	if (s->dropped)
		fprintf(stderr, "vmm-run: serial: %lu input bytes dropped (the guest did not read them)\n",
			s->dropped);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int serial8250_create(struct machine *m, int in_fd, int out_fd)
{
	struct serial *s = calloc(1, sizeof(*s));
	int ret;

	if (!s) {
		fprintf(stderr, "vmm-run: serial: out of memory\n");
		return -ENOMEM;
	}
	s->m = m;
	s->in_fd = in_fd;
	s->out_fd = out_fd;
	s->dll = 12;		/* 9600 baud, as firmware leaves it */
	s->lcr = 0x03;		/* 8N1 */
	serial_update_msr(s);
	s->msr &= ~MSR_DELTAS;
	pthread_mutex_init(&s->lock, NULL);
	ret = machine_pio_register(m, COM1_BASE, 8, &serial_ops, s, "COM1");
	if (ret < 0) {
		fprintf(stderr, "vmm-run: serial: port %#x: %s\n", COM1_BASE,
			strerror(-ret));
		pthread_mutex_destroy(&s->lock);
		free(s);
		return ret;
	}
	/* Registered, so s lives as long as its handlers may run. */
	machine_at_stop(m, serial_stop, s);
	if (in_fd >= 0) {
		ret = machine_watch_fd(m, in_fd, serial_input, s);
		if (ret < 0) {
			fprintf(stderr, "vmm-run: serial: console input: %s\n",
				strerror(-ret));
			return ret;
		}
	}
	return 0;
}
