/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The launcher's side of a machine (user/machine.c): what vmm-run.c
 * builds, starts and tears down.  Devices see only user/machine.h.
 */
#ifndef VMM_USER_VMM_RUN_H
#define VMM_USER_VMM_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "accel.h"
#include "machine.h"

struct vdisk;

/* Files are read and checked before a machine is built: see vmm-run.c. */
struct vmm_run_opts {
	const struct accel_ops *accel;
	uint64_t mem;			/* bytes */
	unsigned int cpus;
	const uint8_t *kernel;		/* the bzImage, read whole */
	size_t kernel_size;
	const uint8_t *initrd;		/* NULL: none */
	size_t initrd_size;
	const char *cmdline;
	struct vdisk **disks;		/* NULL once a device owns it */
	const char **disk_names;
	unsigned int nr_disks;
	int in_fd;			/* console input, -1: none */
	int out_fd;			/* console output */
	bool verbose;
};

/* Exit statuses of vmm-run (Documentation/vmm-run.rst). */
#define VMM_RUN_EXIT_OK		0	/* the guest powered off */
#define VMM_RUN_EXIT_ERROR	1	/* vmm-run or the guest failed */
#define VMM_RUN_EXIT_USAGE	2	/* bad command line or file */
#define VMM_RUN_EXIT_STOPPED	3	/* SIGINT, SIGTERM or Ctrl-A x */

/*
 * Builds a machine (VM, RAM, irqchip, vCPUs, devices, the loaded kernel)
 * ready to run; prints one line and returns NULL on failure.
 */
struct machine *machine_create(const struct vmm_run_opts *opts);
/*
 * Runs the vCPU threads and the I/O thread until something stops the
 * machine, then calls the machine_at_stop callbacks; returns why.
 */
enum machine_stop_reason machine_run(struct machine *m);
void machine_destroy(struct machine *m);

/* For the loader: where RAM is, and the boot vCPU's entry state. */
uint64_t machine_ram_below_4g(struct machine *m);
uint64_t machine_ram_above_4g(struct machine *m);

/* Counters of the last machine_run, by exit kind (for -v and bench). */
void machine_print_stats(struct machine *m, double seconds);

#endif /* VMM_USER_VMM_RUN_H */
