/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Constructors of the devices vmm-run puts in a machine, one file each
 * under user/devices/.  Each returns 0 or -errno (after printing one line
 * that says what is wrong) and registers a machine_at_stop callback for
 * its own teardown.
 */
#ifndef VMM_USER_DEVICES_H
#define VMM_USER_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

struct machine;
struct pci_bus;
struct vdisk;

/* serial8250.c: COM1 at 0x3f8, IRQ 4; in_fd < 0 for no input. */
int serial8250_create(struct machine *m, int in_fd, int out_fd);
/* acpi_pm.c: PM1a event/control (power off, S5) and the PM timer. */
int acpi_pm_create(struct machine *m);
/* i8042.c: enough of the keyboard controller for a reset (0xfe to 0x64). */
int i8042_create(struct machine *m);
/* rtc.c: MC146818 RTC and CMOS at 0x70/0x71, IRQ 8; mem_mb for CMOS. */
int rtc_create(struct machine *m, uint64_t mem_bytes);

/* pci.c: host bridge, configuration mechanism #1 at 0xcf8/0xcfc. */
struct pci_bus *pci_create(struct machine *m);
/* virtio_blk.c: a virtio-pci (modern) block device serving disk. */
int virtio_blk_create(struct machine *m, struct pci_bus *bus,
		      struct vdisk *disk, const char *name);
/* virtio_rng.c: a virtio-pci (modern) entropy device (getrandom). */
int virtio_rng_create(struct machine *m, struct pci_bus *bus);

#endif /* VMM_USER_DEVICES_H */
