/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A machine.h for the device tests: guest RAM in a malloc'd buffer, port
 * and MMIO regions in a table the tests dispatch through, interrupt lines
 * and MSIs recorded, the I/O thread's fds polled when a test asks.
 */
#ifndef VMM_TESTS_FAKE_MACHINE_H
#define VMM_TESTS_FAKE_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "machine.h"

#define FAKE_REGIONS	64
#define FAKE_MSIS	4096

struct fake_region {
	bool used, pio;
	uint64_t base, len;
	const struct io_ops *ops;
	void *dev;
	char name[48];
};

struct machine {
	uint8_t *ram;
	uint64_t ram_size;
	struct fake_region regions[FAKE_REGIONS];
	int irq[24];
	unsigned int irq_raises[24];
	struct { uint64_t addr; uint32_t data; } msi[FAKE_MSIS];
	unsigned int nr_msi;
	struct { int fd; void (*cb)(void *); void *opaque; } watch[8];
	unsigned int nr_watch;
	struct { void (*cb)(void *); void *opaque; } stop[8];
	unsigned int nr_stop;
	int stop_requested;		/* -1, or the reason */
	unsigned int guest_errors;
	char last_error[256];
	bool quiet;			/* do not print guest errors */
	/* A removed region (len 0) stays in the table, movable again. */
	bool keep_removed;
};

struct machine *fake_machine_new(uint64_t ram_size);
void fake_machine_free(struct machine *m);	/* runs the stop callbacks */
void fake_machine_stop(struct machine *m);

/* A guest access: dispatched to the region holding its first byte. */
uint64_t fake_in(struct machine *m, uint16_t port, unsigned int size);
void fake_out(struct machine *m, uint16_t port, uint64_t v, unsigned int size);
uint64_t fake_mmio_read(struct machine *m, uint64_t addr, unsigned int size);
void fake_mmio_write(struct machine *m, uint64_t addr, uint64_t v,
		     unsigned int size);
/* Whether some region decodes @addr (pio or MMIO). */
bool fake_mapped(struct machine *m, bool pio, uint64_t addr);

/* Run the I/O thread's callbacks for fds ready within @timeout_ms. */
int fake_run_io(struct machine *m, int timeout_ms);

#endif /* VMM_TESTS_FAKE_MACHINE_H */
