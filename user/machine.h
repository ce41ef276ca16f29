/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a device model sees of the machine vmm-run builds: its buses, its
 * interrupt lines, guest memory and the I/O thread's event loop.
 *
 * Threads: port and MMIO handlers run on the vCPU thread that exited
 * (several at once with -c N); fd callbacks run on the one I/O thread.
 * A device guards its own state with its own mutex.  A handler never
 * blocks on the guest and never asserts on what the guest did: bad
 * guest input is logged (machine_log_guest_error) and ignored.
 *
 * Guest-physical layout (the ACPI tables and the e820 map say the same):
 *   0x00000000 - 0x0009fbff  RAM          0x000e0000 - 0x000fffff  ACPI, BIOS
 *   0x00100000 - min(mem,3G) RAM          0xc0000000 - 0xdfffffff  PCI MMIO
 *   0xfec00000               IOAPIC       0xfee00000               LAPIC
 *   0x100000000 -            RAM above 3 GiB, when -m asks for more
 * Ports: 0x3f8 COM1 (IRQ 4), 0x60/0x64 i8042, 0x70/0x71 RTC (IRQ 8),
 *   0x600-0x60b ACPI PM1a event/control and PM timer (SCI IRQ 9),
 *   0xcf8/0xcfc PCI configuration, 0xcf9 reset, 0xc000-0xffff PCI I/O BARs.
 * PCI INTx: device slot S, pin P (1 = INTA) is GSI 16 + (S + P - 1) % 4,
 *   level-triggered, active low (the DSDT's _PRT says so).
 */
#ifndef VMM_USER_MACHINE_H
#define VMM_USER_MACHINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct machine;

#define MACHINE_PCI_MMIO_BASE	0xc0000000ULL
#define MACHINE_PCI_MMIO_SIZE	0x20000000ULL
#define MACHINE_PCI_IO_BASE	0xc000
#define MACHINE_PCI_IO_SIZE	0x4000
#define MACHINE_PCI_GSI_BASE	16

/*
 * A region's handlers.  off is relative to the region's base; size is 1,
 * 2, 4 or 8.  read fills *data (little-endian, size bytes).
 */
struct io_ops {
	void (*read)(void *dev, uint64_t off, void *data, unsigned int size);
	void (*write)(void *dev, uint64_t off, const void *data,
		      unsigned int size);
};

/*
 * 0, or -EEXIST when the range overlaps one registered before.  An access
 * goes to the region that holds its first port or byte, with off + size
 * possibly past the region's end: a 4-byte access to 0xcf8 (len 1, PCI)
 * reaches PCI, a 1-byte access to 0xcf9 reaches the reset register.  A
 * handler may call machine_*_register and machine_*_move (PCI BARs move
 * from a write to 0xcfc): the machine holds no lock of its own while a
 * handler runs.
 */
int machine_pio_register(struct machine *m, uint16_t base, uint16_t len,
			 const struct io_ops *ops, void *dev,
			 const char *name);
int machine_mmio_register(struct machine *m, uint64_t base, uint64_t len,
			  const struct io_ops *ops, void *dev,
			  const char *name);
/* Move or remove (len 0) a region, for PCI BARs the guest reprograms. */
int machine_pio_move(struct machine *m, void *dev, uint16_t old_base,
		     uint16_t new_base, uint16_t len);
int machine_mmio_move(struct machine *m, void *dev, uint64_t old_base,
		      uint64_t new_base, uint64_t len);

/* Interrupts: a GSI's level (ISA 0-15, PCI 16-23), or an MSI message. */
void machine_irq_line(struct machine *m, uint32_t gsi, int level);
void machine_signal_msi(struct machine *m, uint64_t address, uint32_t data);

/*
 * Guest RAM at [gpa, gpa + len): a host pointer, or NULL when any of it
 * is outside RAM (or wraps).  Valid while the machine lives.
 */
void *machine_gpa(struct machine *m, uint64_t gpa, uint64_t len);

/* The I/O thread calls cb(opaque) when fd is readable. */
int machine_watch_fd(struct machine *m, int fd, void (*cb)(void *opaque),
		     void *opaque);

/*
 * Called in reverse order of registration when the machine stops (power
 * off, reset, signal, error), after the vCPUs have stopped: finish
 * in-flight I/O, flush, close.
 */
int machine_at_stop(struct machine *m, void (*cb)(void *opaque),
		    void *opaque);

enum machine_stop_reason {
	MACHINE_POWEROFF,	/* guest powered off: exit status 0 */
	MACHINE_RESET,		/* guest asked for a reset */
	MACHINE_SIGNAL,		/* SIGINT/SIGTERM or the console escape */
	MACHINE_ERROR,		/* vmm-run gives up: status 1 */
};
void machine_request_stop(struct machine *m, enum machine_stop_reason why);

/* Rate-limited log line to stderr, naming the device. */
void machine_log_guest_error(struct machine *m, const char *dev,
			     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int machine_nr_vcpus(struct machine *m);

#endif /* VMM_USER_MACHINE_H */
