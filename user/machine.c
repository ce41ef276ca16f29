// SPDX-License-Identifier: GPL-2.0
/*
 * machine - what vmm-run builds around an accelerator: guest RAM, the
 * port and MMIO buses, interrupt lines, the vCPU threads and the I/O
 * thread (user/machine.h for devices, user/vmm-run.h for the launcher).
 *
 * Threads: one per vCPU, running the accelerator and calling device
 * handlers for its exits; one I/O thread on epoll (watched fds, the
 * SIGINT/SIGTERM signalfd, a wake eventfd).  A stop is requested once
 * (the first reason wins): every vCPU gets immediate_exit and a SIGUSR1
 * to leave the kernel, the I/O thread is woken, and the thread that
 * called machine_run() joins them and calls the at-stop callbacks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>

#include "vmm-run.h"
#include "boot/boot.h"
#include "devices/devices.h"
#include "block/vdisk.h"

#define GiB			(1ULL << 30)
#define RAM_LOW_MAX		(3 * GiB)
#define RAM_HIGH_BASE		(4 * GiB)
#define LOG_BURST		20	/* guest error lines per LOG_WINDOW */
#define LOG_WINDOW		10	/* seconds */
#define SIG_KICK		SIGUSR1

struct region {
	uint64_t base;
	uint64_t len;		/* 0: removed (a BAR the guest turned off) */
	const struct io_ops *ops;
	void *dev;
	const char *name;
};

struct region_set {
	struct region *r;
	int n;
};

struct watch {
	int fd;
	void (*cb)(void *opaque);
	void *opaque;
	struct watch *next;
};

struct stop_cb {
	void (*cb)(void *opaque);
	void *opaque;
};

enum {
	STAT_IO, STAT_MMIO, STAT_INTR, STAT_OTHER, NR_STATS
};

struct vcpu {
	struct machine *m;
	struct accel_vcpu *acc;
	unsigned int id;
	pthread_t thread;
	bool started;
	uint64_t stats[NR_STATS];
};

struct machine {
	const struct accel_ops *accel;
	struct accel_vm *vm;
	const struct vmm_run_opts *opts;
	bool verbose;

	uint8_t *ram;
	uint64_t ram_size, low, high;

	unsigned int nr_vcpus;
	struct vcpu *vcpus;

	pthread_rwlock_t bus_lock;
	struct region_set pio, mmio;

	int epfd, wake_fd, sig_fd;
	struct watch *watches;
	pthread_t io_thread;
	bool io_started;

	pthread_mutex_t lock;		/* stops, start/kick of threads */
	struct stop_cb *stops;
	int nr_stops;
	int stop_reason;		/* -1 while running */

	pthread_mutex_t log_lock;
	time_t log_window;
	unsigned int log_lines, log_dropped;
	uint8_t pio_logged[65536 / 8];	/* unclaimed ports, told once */
	uint32_t *pio_count;		/* -v: exits per port */
	bool mmio_logged;

	struct vmm_regs boot_regs;
	struct vmm_sregs boot_sregs;
};

/* ---- buses ---- */

/*
 * Regions may not overlap, with one exception: a region may lie wholly
 * inside another, and wins for the accesses that fall inside it.  That is
 * how a PC decodes 0xcf9 (reset control, a byte) inside 0xcf8-0xcfb
 * (PCI CONFIG_ADDRESS, a dword).
 */
static bool overlaps(const struct region *r, uint64_t base, uint64_t len)
{
	bool inside = base >= r->base && base + len <= r->base + r->len;
	bool around = r->base >= base && r->base + r->len <= base + len;

	if (!r->len || !len)
		return false;
	if (base >= r->base + r->len || r->base >= base + len)
		return false;
	return !inside && !around;
}

static int region_add(struct machine *m, struct region_set *set,
		      uint64_t base, uint64_t len, const struct io_ops *ops,
		      void *dev, const char *name)
{
	struct region *r;
	int i, ret = 0;

	if (!len || base + len < base)
		return -EINVAL;
	pthread_rwlock_wrlock(&m->bus_lock);
	for (i = 0; i < set->n; i++)
		if (overlaps(&set->r[i], base, len)) {
			fprintf(stderr, "vmm-run: %s at %#llx overlaps %s\n",
				name, (unsigned long long)base,
				set->r[i].name);
			ret = -EEXIST;
			goto out;
		}
	r = realloc(set->r, (set->n + 1) * sizeof(*r));
	if (!r) {
		ret = -ENOMEM;
		goto out;
	}
	set->r = r;
	set->r[set->n++] = (struct region){ base, len, ops, dev, name };
out:
	pthread_rwlock_unlock(&m->bus_lock);
	return ret;
}

static int region_move(struct machine *m, struct region_set *set, void *dev,
		       uint64_t old_base, uint64_t new_base, uint64_t len)
{
	struct region *found = NULL;
	int i, ret = 0;

	pthread_rwlock_wrlock(&m->bus_lock);
	for (i = 0; i < set->n; i++)
		if (set->r[i].dev == dev && set->r[i].base == old_base) {
			found = &set->r[i];
			break;
		}
	if (!found) {
		ret = -ENOENT;
		goto out;
	}
	for (i = 0; i < set->n; i++)
		if (&set->r[i] != found && overlaps(&set->r[i], new_base, len)) {
			ret = -EEXIST;
			goto out;
		}
	found->base = new_base;
	found->len = len;
out:
	pthread_rwlock_unlock(&m->bus_lock);
	return ret;
}

/*
 * The region an access goes to, copied out: the innermost one that holds
 * all of [addr, addr + size), else the innermost one holding addr (a
 * dword access to a byte-wide register, as 0xcf8 is registered; the
 * device sees the size and decides).
 */
static bool region_find(struct machine *m, struct region_set *set,
			uint64_t addr, unsigned int size, struct region *out)
{
	const struct region *best = NULL;
	bool best_whole = false;
	int i;

	pthread_rwlock_rdlock(&m->bus_lock);
	for (i = 0; i < set->n; i++) {
		const struct region *r = &set->r[i];
		bool whole = addr + size <= r->base + r->len;

		if (addr < r->base || addr >= r->base + r->len)
			continue;
		if (!best || (whole && !best_whole) ||
		    (whole == best_whole && r->len < best->len)) {
			best = r;
			best_whole = whole;
		}
	}
	if (best)
		*out = *best;
	pthread_rwlock_unlock(&m->bus_lock);
	return best;
}

int machine_pio_register(struct machine *m, uint16_t base, uint16_t len,
			 const struct io_ops *ops, void *dev, const char *name)
{
	if (base + len > 0x10000)
		return -EINVAL;
	return region_add(m, &m->pio, base, len, ops, dev, name);
}

int machine_mmio_register(struct machine *m, uint64_t base, uint64_t len,
			  const struct io_ops *ops, void *dev, const char *name)
{
	return region_add(m, &m->mmio, base, len, ops, dev, name);
}

int machine_pio_move(struct machine *m, void *dev, uint16_t old_base,
		     uint16_t new_base, uint16_t len)
{
	if (new_base + len > 0x10000)
		return -EINVAL;
	return region_move(m, &m->pio, dev, old_base, new_base, len);
}

int machine_mmio_move(struct machine *m, void *dev, uint64_t old_base,
		      uint64_t new_base, uint64_t len)
{
	if (new_base + len < new_base)
		return -EINVAL;
	return region_move(m, &m->mmio, dev, old_base, new_base, len);
}

static void pio_dispatch(struct machine *m, uint16_t port, void *data,
			 unsigned int size, bool out)
{
	struct region r;

	if (region_find(m, &m->pio, port, size, &r)) {
		if (out)
			r.ops->write(r.dev, port - r.base, data, size);
		else
			r.ops->read(r.dev, port - r.base, data, size);
		return;
	}
	/* Nobody decodes it: reads float high, writes vanish. */
	if (!out)
		memset(data, 0xff, size);
	if (m->verbose && !(m->pio_logged[port / 8] & (1u << (port % 8)))) {
		m->pio_logged[port / 8] |= 1u << (port % 8);
		fprintf(stderr, "vmm-run: unclaimed port %#x (%s, %u bytes); told once\n",
			port, out ? "out" : "in", size);
	}
}

/* An access the guest made: counted for -v, then dispatched. */
static void pio_access(struct machine *m, uint16_t port, void *data,
		       unsigned int size, bool out)
{
	if (m->pio_count)
		__atomic_add_fetch(&m->pio_count[port], 1, __ATOMIC_RELAXED);
	pio_dispatch(m, port, data, size, out);
}

static void mmio_access(struct machine *m, uint64_t addr, uint8_t *data,
			unsigned int len, bool write)
{
	struct region r;

	if (len > 8)
		len = 8;
	if (region_find(m, &m->mmio, addr, len, &r)) {
		if (write)
			r.ops->write(r.dev, addr - r.base, data, len);
		else
			r.ops->read(r.dev, addr - r.base, data, len);
		return;
	}
	if (!write)
		memset(data, 0xff, len);
	if (m->verbose && !m->mmio_logged) {
		m->mmio_logged = true;
		fprintf(stderr, "vmm-run: unclaimed MMIO at %#llx (%s, %u bytes); the first only\n",
			(unsigned long long)addr, write ? "write" : "read", len);
	}
}

/* ---- interrupts, memory, fds ---- */

void machine_irq_line(struct machine *m, uint32_t gsi, int level)
{
	if (m->accel->irq_line(m->vm, gsi, level) < 0)
		machine_log_guest_error(m, "irq", "GSI %u level %d: %s", gsi,
					level, strerror(errno));
}

void machine_signal_msi(struct machine *m, uint64_t address, uint32_t data)
{
	if (m->accel->signal_msi(m->vm, address, data) < 0)
		machine_log_guest_error(m, "msi", "%#llx/%#x: %s",
					(unsigned long long)address, data,
					strerror(errno));
}

void *machine_gpa(struct machine *m, uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa)
		return NULL;
	if (gpa + len <= m->low)
		return m->ram + gpa;
	if (gpa >= RAM_HIGH_BASE && gpa + len <= RAM_HIGH_BASE + m->high)
		return m->ram + m->low + (gpa - RAM_HIGH_BASE);
	return NULL;
}

uint64_t machine_ram_below_4g(struct machine *m)
{
	return m->low;
}

uint64_t machine_ram_above_4g(struct machine *m)
{
	return m->high;
}

int machine_nr_vcpus(struct machine *m)
{
	return m->nr_vcpus;
}

int machine_watch_fd(struct machine *m, int fd, void (*cb)(void *opaque),
		     void *opaque)
{
	struct watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->cb = cb;
	w->opaque = opaque;
	ev.data.ptr = w;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		free(w);
		return err;
	}
	pthread_mutex_lock(&m->lock);
	w->next = m->watches;
	m->watches = w;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

int machine_at_stop(struct machine *m, void (*cb)(void *opaque), void *opaque)
{
	struct stop_cb *s;

	pthread_mutex_lock(&m->lock);
	s = realloc(m->stops, (m->nr_stops + 1) * sizeof(*s));
	if (s) {
		m->stops = s;
		m->stops[m->nr_stops++] = (struct stop_cb){ cb, opaque };
	}
	pthread_mutex_unlock(&m->lock);
	return s ? 0 : -ENOMEM;
}

static bool stopping(struct machine *m)
{
	return __atomic_load_n(&m->stop_reason, __ATOMIC_ACQUIRE) >= 0;
}

/* Wakes the I/O thread's epoll_wait. */
static void wake(struct machine *m)
{
	uint64_t one = 1;
	ssize_t r = write(m->wake_fd, &one, sizeof(one));

	(void)r;	/* an eventfd at its maximum is woken already */
}

void machine_request_stop(struct machine *m, enum machine_stop_reason why)
{
	int none = -1;
	unsigned int i;

	if (!__atomic_compare_exchange_n(&m->stop_reason, &none, (int)why,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->nr_vcpus; i++) {
		struct vcpu *v = &m->vcpus[i];

		if (!v->acc)
			continue;
		/* immediate_exit first: the signal may come too early. */
		m->accel->kick(v->acc);
		if (v->started && !pthread_equal(v->thread, pthread_self()))
			pthread_kill(v->thread, SIG_KICK);
	}
	pthread_mutex_unlock(&m->lock);
	wake(m);
}

void machine_log_guest_error(struct machine *m, const char *dev,
			     const char *fmt, ...)
{
	time_t now = time(NULL);
	va_list ap;
	char buf[256];

	pthread_mutex_lock(&m->log_lock);
	if (now - m->log_window >= LOG_WINDOW) {
		if (m->log_dropped)
			fprintf(stderr, "vmm-run: %u guest error lines suppressed\n",
				m->log_dropped);
		m->log_window = now;
		m->log_lines = 0;
		m->log_dropped = 0;
	}
	if (m->log_lines++ >= LOG_BURST) {
		m->log_dropped++;
		pthread_mutex_unlock(&m->log_lock);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vmm-run: %s: %s\n", dev, buf);
	pthread_mutex_unlock(&m->log_lock);
}

/* ---- vCPUs ---- */

/* tables: whether sp holds GDTR/IDTR/TR (a crash report does not). */
static void dump_state(const struct vmm_regs *rp, const struct vmm_sregs *sp,
		       bool tables)
{
	const struct vmm_regs r = *rp;
	const struct vmm_sregs s = *sp;

	fprintf(stderr,
		"  rip %016llx rsp %016llx rflags %08llx\n"
		"  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		"  rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n"
		"  r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n"
		"  r13 %016llx r14 %016llx r15 %016llx\n"
		"  cs %04x base %llx l %u db %u  ss %04x  cr0 %llx cr2 %llx cr3 %llx cr4 %llx efer %llx\n",
		(unsigned long long)r.rip, (unsigned long long)r.rsp,
		(unsigned long long)r.rflags, (unsigned long long)r.rax,
		(unsigned long long)r.rbx, (unsigned long long)r.rcx,
		(unsigned long long)r.rdx, (unsigned long long)r.rsi,
		(unsigned long long)r.rdi, (unsigned long long)r.rbp,
		(unsigned long long)r.r8, (unsigned long long)r.r9,
		(unsigned long long)r.r10, (unsigned long long)r.r11,
		(unsigned long long)r.r12, (unsigned long long)r.r13,
		(unsigned long long)r.r14, (unsigned long long)r.r15,
		s.cs.selector, (unsigned long long)s.cs.base, s.cs.l, s.cs.db,
		s.ss.selector, (unsigned long long)s.cr0,
		(unsigned long long)s.cr2, (unsigned long long)s.cr3,
		(unsigned long long)s.cr4, (unsigned long long)s.efer);
	if (tables)
		fprintf(stderr, "  gdt %llx/%x idt %llx/%x tr %04x\n",
			(unsigned long long)s.gdt.base, s.gdt.limit,
			(unsigned long long)s.idt.base, s.idt.limit,
			s.tr.selector);
}

static void dump_vcpu(struct machine *m, struct vcpu *v)
{
	struct vmm_regs r;
	struct vmm_sregs s;

	if (m->accel->get_regs(v->acc, &r) < 0 ||
	    m->accel->get_sregs(v->acc, &s) < 0) {
		fprintf(stderr, "vmm-run: vCPU %u: registers unreadable: %s\n",
			v->id, strerror(errno));
		return;
	}
	dump_state(&r, &s, true);
}

/* A fatal exit: say what, show the registers, stop the machine. */
static void vcpu_fail(struct vcpu *v, const char *fmt, ...)
{
	struct machine *m = v->m;
	va_list ap;

	pthread_mutex_lock(&m->log_lock);
	fprintf(stderr, "vmm-run: vCPU %u: ", v->id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	dump_vcpu(m, v);
	pthread_mutex_unlock(&m->log_lock);
	machine_request_stop(m, MACHINE_ERROR);
}

static void vcpu_exit(struct vcpu *v, struct accel_exit *e)
{
	struct machine *m = v->m;
	uint8_t *p;
	uint32_t i;

	switch (e->kind) {
	case ACCEL_EXIT_IO:
		v->stats[STAT_IO]++;
		if (e->io.has_pci_cf8 && e->io.port >= 0xcfc &&
		    e->io.port <= 0xcff) {
			/* The kernel kept 0xcf8: the PCI model learns it now. */
			uint32_t a = e->io.pci_cf8;

			pio_dispatch(m, 0xcf8, &a, 4, true);
		}
		p = e->io.data;
		for (i = 0; i < e->io.count; i++, p += e->io.size)
			pio_access(m, e->io.port, p, e->io.size, e->io.out);
		break;
	case ACCEL_EXIT_MMIO:
		v->stats[STAT_MMIO]++;
		mmio_access(m, e->mmio.addr, e->mmio.data, e->mmio.len,
			    e->mmio.write);
		break;
	case ACCEL_EXIT_INTR:
		v->stats[STAT_INTR]++;
		break;
	case ACCEL_EXIT_HLT:
		/* With the irqchip in the kernel, a halt waits there. */
		vcpu_fail(v, "halted with nothing in the kernel to wake it");
		break;
	case ACCEL_EXIT_SHUTDOWN:
		if (e->crash.known) {
			/* vmm hands over the state of the fault itself. */
			pthread_mutex_lock(&m->log_lock);
			fprintf(stderr, "vmm-run: vCPU %u: triple fault (shutdown): the guest crashed; its registers at the fault:\n",
				v->id);
			dump_state(&e->crash.regs, &e->crash.sregs, false);
			pthread_mutex_unlock(&m->log_lock);
			machine_request_stop(m, MACHINE_ERROR);
			break;
		}
		/* KVM has reset the vCPU: what it shows is the reset state. */
		vcpu_fail(v, "triple fault (shutdown): the guest crashed; %s keeps no state of the fault, registers after its reset:",
			  m->accel->name);
		break;
	case ACCEL_EXIT_FAIL_ENTRY:
		vcpu_fail(v, "entry failed, hardware reason %#llx (invalid guest state)",
			  (unsigned long long)e->hw_reason);
		break;
	case ACCEL_EXIT_INTERNAL:
		vcpu_fail(v, "internal error %u in %s (data %#llx %#llx)",
			  e->internal.suberror, m->accel->name,
			  (unsigned long long)(e->internal.ndata > 0 ?
					       e->internal.data[0] : 0),
			  (unsigned long long)(e->internal.ndata > 1 ?
					       e->internal.data[1] : 0));
		break;
	case ACCEL_EXIT_POWEROFF:
		machine_request_stop(m, MACHINE_POWEROFF);
		break;
	case ACCEL_EXIT_RESET:
		machine_request_stop(m, MACHINE_RESET);
		break;
	case ACCEL_EXIT_UNKNOWN:
		v->stats[STAT_OTHER]++;
		vcpu_fail(v, "exit %llu: %s", (unsigned long long)e->hw_reason,
			  m->accel->exit_name(e->hw_reason));
		break;
	}
}

static void kick_handler(int sig)
{
	(void)sig;	/* only there to make KVM_RUN/VMM_RUN return EINTR */
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct machine *m = v->m;
	struct accel_exit e;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!stopping(m)) {
		if (m->accel->run(v->acc, &e) < 0) {
			vcpu_fail(v, "run: %s", strerror(errno));
			break;
		}
		vcpu_exit(v, &e);
	}
	return NULL;
}

/* ---- the I/O thread ---- */

static void *io_thread(void *arg)
{
	struct machine *m = arg;
	struct epoll_event ev[16];
	int i, n;

	while (!stopping(m)) {
		n = epoll_wait(m->epfd, ev, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vmm-run: epoll_wait: %s\n",
				strerror(errno));
			machine_request_stop(m, MACHINE_ERROR);
			break;
		}
		for (i = 0; i < n; i++) {
			struct watch *w = ev[i].data.ptr;

			if (w->fd == m->sig_fd) {
				struct signalfd_siginfo si;

				if (read(m->sig_fd, &si, sizeof(si)) > 0)
					fprintf(stderr, "vmm-run: %s: stopping the guest\n",
						strsignal(si.ssi_signo));
				machine_request_stop(m, MACHINE_SIGNAL);
				continue;
			}
			if (w->fd == m->wake_fd)
				continue;
			w->cb(w->opaque);
			/*
			 * A pipe whose writer went away stays "ready"
			 * forever: once drained, stop watching it.
			 */
			if ((ev[i].events & EPOLLHUP) &&
			    !(ev[i].events & EPOLLIN))
				epoll_ctl(m->epfd, EPOLL_CTL_DEL, w->fd, NULL);
		}
	}
	return NULL;
}

/* ---- building, running, tearing down ---- */

static int add_internal_watch(struct machine *m, int fd)
{
	struct watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!w)
		return -1;
	w->fd = fd;
	ev.data.ptr = w;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(w);
		return -1;
	}
	w->next = m->watches;
	m->watches = w;
	return 0;
}

static void port80_write(void *dev, uint64_t off, const void *data,
			 unsigned int size)
{
	(void)dev;
	(void)off;
	(void)data;
	(void)size;
}

static void port80_read(void *dev, uint64_t off, void *data, unsigned int size)
{
	(void)dev;
	(void)off;
	memset(data, 0xff, size);
}

/* POST codes: Linux writes port 0x80 as an I/O delay. */
static const struct io_ops port80_ops = {
	.read = port80_read,
	.write = port80_write,
};

static int machine_devices(struct machine *m)
{
	const struct vmm_run_opts *o = m->opts;
	struct pci_bus *bus = NULL;
	unsigned int i;

	if (machine_pio_register(m, 0x80, 1, &port80_ops, m, "port 0x80"))
		return -1;
	if (serial8250_create(m, o->in_fd, o->out_fd) < 0)
		return -1;
	if (acpi_pm_create(m) < 0)
		return -1;
	if (rtc_create(m, o->mem) < 0)
		return -1;
	if (i8042_create(m) < 0)
		return -1;
	bus = pci_create(m);
	if (!bus)
		return -1;
	for (i = 0; i < o->nr_disks; i++) {
		if (virtio_blk_create(m, bus, o->disks[i],
				      o->disk_names[i]) < 0)
			return -1;
		/* The device closes it when the machine stops. */
		o->disks[i] = NULL;
	}
	if (virtio_rng_create(m, bus) < 0)
		return -1;
	return 0;
}

#define HUGE_ALIGN		(2ULL << 20)

/* Keep the 2 MiB-aligned @size bytes of a mapping HUGE_ALIGN longer. */
static void *ram_align(void *p, size_t size)
{
	uintptr_t a = ((uintptr_t)p + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);

	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((void *)(a + size), (uintptr_t)p + HUGE_ALIGN - a);
	return (void *)a;
}

static int machine_memory(struct machine *m)
{
	m->ram_size = m->opts->mem;
	m->low = m->ram_size < RAM_LOW_MAX ? m->ram_size : RAM_LOW_MAX;
	m->high = m->ram_size - m->low;
	/*
	 * NORESERVE: the guest's RAM is faulted in as it touches it.  2 MiB
	 * aligned, as guest-physical 0 is: the host's huge pages then line
	 * up with the guest's, and vmm maps each with one nested entry.
	 */
	m->ram = mmap(NULL, m->ram_size + HUGE_ALIGN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->ram != MAP_FAILED)
		m->ram = ram_align(m->ram, m->ram_size);
	if (m->ram == MAP_FAILED) {
		m->ram = NULL;
		fprintf(stderr, "vmm-run: -m %llu MiB: %s\n",
			(unsigned long long)(m->ram_size >> 20),
			strerror(errno));
		return -1;
	}
	madvise(m->ram, m->ram_size, MADV_MERGEABLE);
	madvise(m->ram, m->ram_size, MADV_HUGEPAGE);
	if (m->accel->set_memory(m->vm, 0, 0, m->low, m->ram) < 0 ||
	    (m->high && m->accel->set_memory(m->vm, 1, RAM_HIGH_BASE, m->high,
					     m->ram + m->low) < 0)) {
		fprintf(stderr, "vmm-run: %s: guest memory slot: %s\n",
			m->accel->name, strerror(errno));
		return -1;
	}
	return 0;
}

static int machine_irqchip(struct machine *m)
{
	if (m->accel->create_irqchip(m->vm) == 0)
		return 0;
	if (m->accel == &accel_vmm_ops &&
	    (errno == EOPNOTSUPP || errno == ENOTTY || errno == EINVAL))
		fprintf(stderr, "vmm-run: vmm.ko has no in-kernel irqchip yet (VMM_CREATE_IRQCHIP: %s); try --accel kvm\n",
			strerror(errno));
	else
		fprintf(stderr, "vmm-run: %s: in-kernel irqchip: %s\n",
			m->accel->name, strerror(errno));
	return -1;
}

static int machine_vcpus(struct machine *m)
{
	unsigned int i;

	m->vcpus = calloc(m->nr_vcpus, sizeof(*m->vcpus));
	if (!m->vcpus)
		return -1;
	for (i = 0; i < m->nr_vcpus; i++) {
		struct vcpu *v = &m->vcpus[i];

		v->m = m;
		v->id = i;
		v->acc = m->accel->vcpu_create(m->vm, i, m->nr_vcpus);
		if (!v->acc) {
			fprintf(stderr, "vmm-run: %s: vCPU %u: %s\n",
				m->accel->name, i, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Linux, loaded and entered on vCPU 0; the others wait for INIT/SIPI. */
static int machine_boot(struct machine *m)
{
	const struct vmm_run_opts *o = m->opts;
	struct vcpu *bsp = &m->vcpus[0];
	uint64_t rsdp;

	rsdp = acpi_build(m, m->nr_vcpus);
	if (!rsdp)
		return -1;
	if (m->accel->get_sregs(bsp->acc, &m->boot_sregs) < 0) {
		fprintf(stderr, "vmm-run: vCPU 0: sregs: %s\n", strerror(errno));
		return -1;
	}
	if (bzimage_load(m, o->kernel, o->kernel_size, o->initrd,
			 o->initrd_size, o->cmdline, rsdp, &m->boot_regs,
			 &m->boot_sregs) < 0)
		return -1;
	if (m->accel->set_sregs(bsp->acc, &m->boot_sregs) < 0 ||
	    m->accel->set_regs(bsp->acc, &m->boot_regs) < 0) {
		fprintf(stderr, "vmm-run: vCPU 0: entry state refused: %s\n",
			strerror(errno));
		dump_vcpu(m, bsp);
		return -1;
	}
	return 0;
}

struct machine *machine_create(const struct vmm_run_opts *o)
{
	struct machine *m = calloc(1, sizeof(*m));
	sigset_t sigs;

	if (!m) {
		fprintf(stderr, "vmm-run: out of memory\n");
		return NULL;
	}
	m->opts = o;
	m->accel = o->accel;
	m->verbose = o->verbose;
	m->nr_vcpus = o->cpus;
	m->stop_reason = -1;
	m->epfd = m->wake_fd = m->sig_fd = -1;
	if (m->verbose)
		m->pio_count = calloc(65536, sizeof(*m->pio_count));
	pthread_rwlock_init(&m->bus_lock, NULL);
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->log_lock, NULL);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m->sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->epfd < 0 || m->wake_fd < 0 || m->sig_fd < 0 ||
	    add_internal_watch(m, m->wake_fd) < 0 ||
	    add_internal_watch(m, m->sig_fd) < 0) {
		fprintf(stderr, "vmm-run: event loop: %s\n", strerror(errno));
		goto fail;
	}

	m->vm = m->accel->vm_create();
	if (!m->vm)
		goto fail;
	if (machine_memory(m) < 0 || machine_irqchip(m) < 0 ||
	    machine_vcpus(m) < 0 || machine_devices(m) < 0 ||
	    machine_boot(m) < 0)
		goto fail;
	return m;
fail:
	machine_destroy(m);
	return NULL;
}

enum machine_stop_reason machine_run(struct machine *m)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	unsigned int i;
	int ret;

	/* No SA_RESTART: the kick must interrupt the run ioctl. */
	sigaction(SIG_KICK, &sa, NULL);
	ret = pthread_create(&m->io_thread, NULL, io_thread, m);
	if (ret) {
		fprintf(stderr, "vmm-run: I/O thread: %s\n", strerror(ret));
		return MACHINE_ERROR;
	}
	m->io_started = true;
	for (i = 0; i < m->nr_vcpus; i++) {
		struct vcpu *v = &m->vcpus[i];

		pthread_mutex_lock(&m->lock);
		ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
		v->started = !ret;
		pthread_mutex_unlock(&m->lock);
		if (ret) {
			fprintf(stderr, "vmm-run: vCPU %u thread: %s\n", i,
				strerror(ret));
			machine_request_stop(m, MACHINE_ERROR);
			break;
		}
	}
	for (i = 0; i < m->nr_vcpus; i++)
		if (m->vcpus[i].started)
			pthread_join(m->vcpus[i].thread, NULL);
	/* Every vCPU thread ends on a stop; make sure one is recorded. */
	machine_request_stop(m, MACHINE_ERROR);
	wake(m);
	pthread_join(m->io_thread, NULL);
	m->io_started = false;

	/* Newest first: devices go before what they sit on. */
	for (i = m->nr_stops; i-- > 0;)
		m->stops[i].cb(m->stops[i].opaque);
	m->nr_stops = 0;
	return m->stop_reason;
}

/* The exits the accelerator counted in the kernel, all vCPUs summed. */
static void print_kernel_stats(struct machine *m)
{
	static const char *const kinds[VMM_STAT_KINDS] = {
		[VMM_STAT_IO] = "io", [VMM_STAT_NPF] = "npf",
		[VMM_STAT_MSR] = "msr", [VMM_STAT_CPUID] = "cpuid",
		[VMM_STAT_HLT] = "hlt", [VMM_STAT_INTR] = "intr",
		[VMM_STAT_VINTR] = "vintr", [VMM_STAT_CR] = "cr",
		[VMM_STAT_EXCEPTION] = "exception", [VMM_STAT_OTHER] = "other",
	};
	struct vmm_stats st, sum = { 0 };
	unsigned int i, k;

	if (!m->accel->get_stats)
		return;
	for (i = 0; i < m->nr_vcpus; i++) {
		if (m->accel->get_stats(m->vcpus[i].acc, &st) < 0)
			return;
		sum.exits += st.exits;
		for (k = 0; k < VMM_STAT_KINDS && k < st.nr; k++)
			sum.count[k] += st.count[k];
	}
	fprintf(stderr, "vmm-run: exits in the kernel %llu:",
		(unsigned long long)sum.exits);
	for (k = 0; k < VMM_STAT_KINDS; k++)
		fprintf(stderr, "%s %s %llu", k ? "," : "", kinds[k],
			(unsigned long long)sum.count[k]);
	fputc('\n', stderr);
}

void machine_print_stats(struct machine *m, double seconds)
{
	uint64_t sum[NR_STATS] = { 0 };
	unsigned int i, k;

	for (i = 0; i < m->nr_vcpus; i++)
		for (k = 0; k < NR_STATS; k++)
			sum[k] += m->vcpus[i].stats[k];
	fprintf(stderr, "vmm-run: %.3f s; exits to userspace: io %llu, mmio %llu, intr %llu, other %llu\n",
		seconds, (unsigned long long)sum[STAT_IO],
		(unsigned long long)sum[STAT_MMIO],
		(unsigned long long)sum[STAT_INTR],
		(unsigned long long)sum[STAT_OTHER]);
	print_kernel_stats(m);
	if (!m->pio_count)
		return;
	/* The busiest ports: where a boot's exits go. */
	for (k = 0; k < 5; k++) {
		uint32_t best = 0, port = 0;

		for (i = 0; i < 65536; i++)
			if (m->pio_count[i] > best) {
				best = m->pio_count[i];
				port = i;
			}
		if (!best)
			break;
		fprintf(stderr, "vmm-run:   port %#x: %u\n", port, best);
		m->pio_count[port] = 0;
	}
}

void machine_destroy(struct machine *m)
{
	struct watch *w, *next;
	unsigned int i;
	int k;

	if (!m)
		return;
	/* A machine that never ran still owes its devices their stop. */
	for (k = m->nr_stops; k-- > 0;)
		m->stops[k].cb(m->stops[k].opaque);
	for (i = 0; m->vcpus && i < m->nr_vcpus; i++)
		if (m->vcpus[i].acc)
			m->accel->vcpu_destroy(m->vcpus[i].acc);
	free(m->vcpus);
	if (m->vm)
		m->accel->vm_destroy(m->vm);
	if (m->ram)
		munmap(m->ram, m->ram_size);
	for (w = m->watches; w; w = next) {
		next = w->next;
		free(w);
	}
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->wake_fd >= 0)
		close(m->wake_fd);
	if (m->sig_fd >= 0)
		close(m->sig_fd);
	free(m->pio.r);
	free(m->mmio.r);
	free(m->stops);
	free(m->pio_count);
	pthread_rwlock_destroy(&m->bus_lock);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->log_lock);
	free(m);
}
