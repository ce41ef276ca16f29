// SPDX-License-Identifier: GPL-2.0
/*
 * The i8042 keyboard controller at 0x60 (data) and 0x64 (status and
 * command), with nothing plugged into it: what a guest needs to find the
 * controller, test it, program its command byte, and to reset the
 * machine through it (command 0xfe, or any pulse of output line 0, or an
 * output-port write with the reset bit low).
 *
 * A byte sent to the keyboard gets the controller's timeout answer
 * (0xfe with the timeout bit), so a driver learns at once that no
 * keyboard is there.  There is no AUX port: the AUX loopback command
 * answers as keyboard data and the AUX interface test reports a stuck
 * line, which is how Linux's i8042_check_aux() tells there is none
 * without waiting out a timeout.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "machine.h"

#define I8042_STR_OBF		0x01
#define I8042_STR_SYS		0x04
#define I8042_STR_CMD		0x08	/* last write was to 0x64 */
#define I8042_STR_UNLOCKED	0x10	/* keyboard not inhibited */
#define I8042_STR_AUXDATA	0x20
#define I8042_STR_TIMEOUT	0x40

#define I8042_CTR_KBDINT	0x01
#define I8042_CTR_AUXINT	0x02
#define I8042_CTR_SYS		0x04
#define I8042_CTR_KBDDIS	0x10
#define I8042_CTR_AUXDIS	0x20
#define I8042_CTR_XLATE		0x40

#define I8042_KBD_IRQ		1
#define I8042_AUX_IRQ		12
#define I8042_QUEUE		16

struct i8042 {
	pthread_mutex_t lock;
	struct machine *m;
	uint8_t ctr;			/* command byte */
	uint8_t outport;
	uint8_t pending;		/* command awaiting its data byte */
	bool last_was_cmd;
	bool sys;			/* self-test passed */
	/* Output buffer: bytes, with the status bits that come with them. */
	struct {
		uint8_t data, str;
	} q[I8042_QUEUE];
	unsigned int head, count;
	uint8_t last;			/* what 0x60 reads when empty */
	bool kbd_irq, aux_irq;
};

static void i8042_update_irq(struct i8042 *k)
{
	bool kbd = false, aux = false;

	if (k->count) {
		bool is_aux = k->q[k->head].str & I8042_STR_AUXDATA;

		kbd = !is_aux && (k->ctr & I8042_CTR_KBDINT);
		aux = is_aux && (k->ctr & I8042_CTR_AUXINT);
	}
	if (kbd != k->kbd_irq) {
		k->kbd_irq = kbd;
		machine_irq_line(k->m, I8042_KBD_IRQ, kbd);
	}
	if (aux != k->aux_irq) {
		k->aux_irq = aux;
		machine_irq_line(k->m, I8042_AUX_IRQ, aux);
	}
}

static void i8042_queue(struct i8042 *k, uint8_t data, uint8_t str)
{
	if (k->count == I8042_QUEUE)
		return;		/* a guest not reading: drop */
	k->q[(k->head + k->count) % I8042_QUEUE].data = data;
	k->q[(k->head + k->count) % I8042_QUEUE].str = str;
	k->count++;
	i8042_update_irq(k);
}

static void i8042_reset_machine(struct i8042 *k)
{
	machine_request_stop(k->m, MACHINE_RESET);
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->pending = 0;
	if (cmd >= 0x20 && cmd <= 0x3f) {
		/* Read controller RAM: byte 0 is the command byte. */
		i8042_queue(k, cmd == 0x20 ? k->ctr : 0, 0);
		return;
	}
	if (cmd >= 0x60 && cmd <= 0x7f) {
		k->pending = cmd;
		return;
	}
	if (cmd >= 0xf0) {
		/* Pulse output lines whose bits are 0; line 0 is reset. */
		if (!(cmd & 1))
			i8042_reset_machine(k);
		return;
	}
	switch (cmd) {
	case 0xa7:
		k->ctr |= I8042_CTR_AUXDIS;
		break;
	case 0xa8:
		k->ctr &= ~I8042_CTR_AUXDIS;
		break;
	case 0xa9:		/* AUX interface test: clock line stuck */
		i8042_queue(k, 0x02, 0);
		break;
	case 0xaa:		/* self-test */
		k->sys = true;
		i8042_queue(k, 0x55, 0);
		break;
	case 0xab:		/* keyboard interface test: fine */
		i8042_queue(k, 0x00, 0);
		break;
	case 0xad:
		k->ctr |= I8042_CTR_KBDDIS;
		break;
	case 0xae:
		k->ctr &= ~I8042_CTR_KBDDIS;
		break;
	case 0xc0:		/* input port */
		i8042_queue(k, 0x80, 0);
		break;
	case 0xd0:
		i8042_queue(k, k->outport, 0);
		break;
	case 0xd1:
	case 0xd2:
	case 0xd3:
	case 0xd4:
		k->pending = cmd;
		break;
	case 0xe0:		/* test inputs */
		i8042_queue(k, 0x00, 0);
		break;
	default:
		break;		/* unknown commands do nothing */
	}
}

static void i8042_data(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	switch (cmd) {
	case 0x60:
		k->ctr = v;
		i8042_update_irq(k);
		break;
	case 0xd1:
		k->outport = v;
		if (!(v & 1))
			i8042_reset_machine(k);
		break;
	case 0xd2:
		i8042_queue(k, v, 0);
		break;
	case 0xd3:
		/* No AUX port: the loopback answers as keyboard data. */
		i8042_queue(k, v, 0);
		break;
	case 0xd4:
		i8042_queue(k, 0xfe, I8042_STR_AUXDATA | I8042_STR_TIMEOUT);
		break;
	case 0:
		/* To the keyboard, which is not there. */
		i8042_queue(k, 0xfe, I8042_STR_TIMEOUT);
		break;
	default:
		break;		/* controller RAM 1-31: not kept */
	}
}

/* @status: port 0x64, else 0x60. */
static void i8042_read(struct i8042 *k, bool status, void *data,
		       unsigned int size)
{
	uint8_t v;

	memset(data, 0xff, size);
	pthread_mutex_lock(&k->lock);
	if (!status) {
		if (k->count) {
			k->last = k->q[k->head].data;
			k->head = (k->head + 1) % I8042_QUEUE;
			k->count--;
			/* Lower the line: the next byte is a new edge. */
			if (k->kbd_irq || k->aux_irq) {
				if (k->kbd_irq)
					machine_irq_line(k->m, I8042_KBD_IRQ, 0);
				if (k->aux_irq)
					machine_irq_line(k->m, I8042_AUX_IRQ, 0);
				k->kbd_irq = k->aux_irq = false;
			}
			i8042_update_irq(k);
		}
		v = k->last;
	} else {
		v = I8042_STR_UNLOCKED;
		if (k->sys || (k->ctr & I8042_CTR_SYS))
			v |= I8042_STR_SYS;
		if (k->last_was_cmd)
			v |= I8042_STR_CMD;
		if (k->count)
			v |= I8042_STR_OBF | k->q[k->head].str;
	}
	pthread_mutex_unlock(&k->lock);
	*(uint8_t *)data = v;
}

static void i8042_write(struct i8042 *k, bool cmd, const void *data)
{
	uint8_t v = *(const uint8_t *)data;

	pthread_mutex_lock(&k->lock);
	k->last_was_cmd = cmd;
	if (cmd)
		i8042_command(k, v);
	else
		i8042_data(k, v);
	pthread_mutex_unlock(&k->lock);
}

static void i8042_data_read(void *opaque, uint64_t off, void *data,
			    unsigned int size)
{
	(void)off;
	i8042_read(opaque, false, data, size);
}

static void i8042_data_write(void *opaque, uint64_t off, const void *data,
			     unsigned int size)
{
	(void)off;
	(void)size;
	i8042_write(opaque, false, data);
}

static void i8042_cmd_read(void *opaque, uint64_t off, void *data,
			   unsigned int size)
{
	(void)off;
	i8042_read(opaque, true, data, size);
}

static void i8042_cmd_write(void *opaque, uint64_t off, const void *data,
			    unsigned int size)
{
	(void)off;
	(void)size;
	i8042_write(opaque, true, data);
}

static const struct io_ops i8042_data_ops = {
	.read = i8042_data_read,
	.write = i8042_data_write,
};

static const struct io_ops i8042_cmd_ops = {
	.read = i8042_cmd_read,
	.write = i8042_cmd_write,
};

/* i8042_create - see devices.h.  Lives as long as the process. */
int i8042_create(struct machine *m)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int ret;

	if (!k) {
		fprintf(stderr, "i8042: out of memory\n");
		return -ENOMEM;
	}
	pthread_mutex_init(&k->lock, NULL);
	k->m = m;
	/* As a BIOS leaves it: translated keyboard, interrupts, no AUX. */
	k->ctr = I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_XLATE |
		 I8042_CTR_AUXDIS;
	k->outport = 0x03;	/* reset line high, A20 on */
	k->sys = true;
	ret = machine_pio_register(m, 0x60, 1, &i8042_data_ops, k,
				   "i8042-data");
	if (!ret)
		ret = machine_pio_register(m, 0x64, 1, &i8042_cmd_ops, k,
					   "i8042-cmd");
	if (ret) {
		fprintf(stderr, "i8042: cannot register ports 0x60/0x64: %s\n",
			strerror(-ret));
		return ret;
	}
	return 0;
}
