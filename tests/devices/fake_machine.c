// SPDX-License-Identifier: GPL-2.0
/* The device tests' machine.h (see fake_machine.h). */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_machine.h"

struct machine *fake_machine_new(uint64_t ram_size)
{
	struct machine *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->ram = aligned_alloc(4096, ram_size);
	if (!m->ram) {
		free(m);
		return NULL;
	}
	memset(m->ram, 0, ram_size);
	m->ram_size = ram_size;
	m->stop_requested = -1;
	return m;
}

void fake_machine_stop(struct machine *m)
{
	while (m->nr_stop) {
		m->nr_stop--;
		m->stop[m->nr_stop].cb(m->stop[m->nr_stop].opaque);
	}
}

void fake_machine_free(struct machine *m)
{
	fake_machine_stop(m);
	free(m->ram);
	free(m);
}

static int fake_register(struct machine *m, bool pio, uint64_t base,
			 uint64_t len, const struct io_ops *ops, void *dev,
			 const char *name)
{
	struct fake_region *free_r = NULL;

	for (int i = 0; i < FAKE_REGIONS; i++) {
		struct fake_region *r = &m->regions[i];

		if (!r->used) {
			if (!free_r)
				free_r = r;
			continue;
		}
		if (r->pio == pio && r->len && base < r->base + r->len &&
		    r->base < base + len)
			return -EEXIST;
	}
	if (!free_r)
		return -ENOSPC;
	*free_r = (struct fake_region){ true, pio, base, len, ops, dev, "" };
	snprintf(free_r->name, sizeof(free_r->name), "%s", name);
	return 0;
}

int machine_pio_register(struct machine *m, uint16_t base, uint16_t len,
			 const struct io_ops *ops, void *dev, const char *name)
{
	return fake_register(m, true, base, len, ops, dev, name);
}

int machine_mmio_register(struct machine *m, uint64_t base, uint64_t len,
			  const struct io_ops *ops, void *dev,
			  const char *name)
{
	return fake_register(m, false, base, len, ops, dev, name);
}

static int fake_move(struct machine *m, bool pio, void *dev,
		     uint64_t old_base, uint64_t new_base, uint64_t len)
{
	for (int i = 0; i < FAKE_REGIONS; i++) {
		struct fake_region *r = &m->regions[i];

		if (!r->used || r->pio != pio || r->dev != dev ||
		    r->base != old_base)
			continue;
		if (!len && !m->keep_removed) {
			r->used = false;
			return 0;
		}
		for (int j = 0; j < FAKE_REGIONS; j++) {
			struct fake_region *o = &m->regions[j];

			if (j != i && o->used && o->pio == pio && o->len &&
			    len && new_base < o->base + o->len &&
			    o->base < new_base + len)
				return -EEXIST;
		}
		r->base = new_base;
		r->len = len;
		return 0;
	}
	return -ENOENT;
}

int machine_pio_move(struct machine *m, void *dev, uint16_t old_base,
		     uint16_t new_base, uint16_t len)
{
	return fake_move(m, true, dev, old_base, new_base, len);
}

int machine_mmio_move(struct machine *m, void *dev, uint64_t old_base,
		      uint64_t new_base, uint64_t len)
{
	return fake_move(m, false, dev, old_base, new_base, len);
}

void machine_irq_line(struct machine *m, uint32_t gsi, int level)
{
	if (gsi >= 24)
		return;
	if (level && !m->irq[gsi])
		m->irq_raises[gsi]++;
	m->irq[gsi] = level;
}

void machine_signal_msi(struct machine *m, uint64_t address, uint32_t data)
{
	/* Devices may signal from several threads at once. */
	unsigned int n = __atomic_fetch_add(&m->nr_msi, 1, __ATOMIC_RELAXED);

	if (n < FAKE_MSIS) {
		m->msi[n].addr = address;
		m->msi[n].data = data;
	}
}

void *machine_gpa(struct machine *m, uint64_t gpa, uint64_t len)
{
	if (gpa > m->ram_size || len > m->ram_size - gpa)
		return NULL;
	return m->ram + gpa;
}

int machine_watch_fd(struct machine *m, int fd, void (*cb)(void *opaque),
		     void *opaque)
{
	if (m->nr_watch == 8)
		return -ENOSPC;
	m->watch[m->nr_watch].fd = fd;
	m->watch[m->nr_watch].cb = cb;
	m->watch[m->nr_watch].opaque = opaque;
	m->nr_watch++;
	return 0;
}

int machine_at_stop(struct machine *m, void (*cb)(void *opaque),
		    void *opaque)
{
	if (m->nr_stop == 8)
		return -ENOSPC;
	m->stop[m->nr_stop].cb = cb;
	m->stop[m->nr_stop].opaque = opaque;
	m->nr_stop++;
	return 0;
}

void machine_request_stop(struct machine *m, enum machine_stop_reason why)
{
	m->stop_requested = why;
}

void machine_log_guest_error(struct machine *m, const char *dev,
			     const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(m->last_error, sizeof(m->last_error), "%s: ", dev);
	va_start(ap, fmt);
	vsnprintf(m->last_error + n, sizeof(m->last_error) - n, fmt, ap);
	va_end(ap);
	m->guest_errors++;
	if (!m->quiet)
		fprintf(stderr, "# guest error: %s\n", m->last_error);
}

int machine_nr_vcpus(struct machine *m)
{
	(void)m;
	return 1;
}

static struct fake_region *fake_find(struct machine *m, bool pio,
				     uint64_t addr)
{
	for (int i = 0; i < FAKE_REGIONS; i++) {
		struct fake_region *r = &m->regions[i];

		if (r->used && r->pio == pio && addr >= r->base &&
		    addr - r->base < r->len)
			return r;
	}
	return NULL;
}

bool fake_mapped(struct machine *m, bool pio, uint64_t addr)
{
	return fake_find(m, pio, addr);
}

static uint64_t fake_read(struct machine *m, bool pio, uint64_t addr,
			  unsigned int size)
{
	struct fake_region *r = fake_find(m, pio, addr);
	uint64_t v = ~0ULL;

	if (r) {
		v = 0;
		r->ops->read(r->dev, addr - r->base, &v, size);
	}
	if (size < 8)
		v &= (1ULL << (8 * size)) - 1;
	return v;
}

static void fake_write(struct machine *m, bool pio, uint64_t addr,
		       uint64_t v, unsigned int size)
{
	struct fake_region *r = fake_find(m, pio, addr);

	if (r)
		r->ops->write(r->dev, addr - r->base, &v, size);
}

uint64_t fake_in(struct machine *m, uint16_t port, unsigned int size)
{
	return fake_read(m, true, port, size);
}

void fake_out(struct machine *m, uint16_t port, uint64_t v, unsigned int size)
{
	fake_write(m, true, port, v, size);
}

uint64_t fake_mmio_read(struct machine *m, uint64_t addr, unsigned int size)
{
	return fake_read(m, false, addr, size);
}

void fake_mmio_write(struct machine *m, uint64_t addr, uint64_t v,
		     unsigned int size)
{
	fake_write(m, false, addr, v, size);
}

int fake_run_io(struct machine *m, int timeout_ms)
{
	struct pollfd p[8];
	int n;

	for (unsigned int i = 0; i < m->nr_watch; i++) {
		p[i].fd = m->watch[i].fd;
		p[i].events = POLLIN;
	}
	n = poll(p, m->nr_watch, timeout_ms);
	if (n <= 0)
		return n;
	for (unsigned int i = 0; i < m->nr_watch; i++)
		if (p[i].revents & POLLIN)
			m->watch[i].cb(m->watch[i].opaque);
	return n;
}

/*
 * Devices live as long as the process, as in vmm-run: the leak checker
 * would report each of them when the fake machine goes.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
