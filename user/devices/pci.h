/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PCI bus as a device model sees it (pci.c): one bus, function 0 of
 * up to 31 slots behind a host bridge at 00:00.0.  A device embeds a
 * struct pci_dev, fills its IDs, declares its BARs and capabilities, then
 * pci_dev_add() gives it a slot, places its BARs in machine.h's windows
 * (as firmware would) and maps them.
 *
 * Locking: dev->lock is the device's one mutex.  The bus takes it around
 * every configuration access and around MSI-X table accesses; the device
 * takes it in its own BAR handlers and I/O callbacks.  pci_set_irq() and
 * pci_msix_notify() are called with it held.
 */
#ifndef VMM_USER_DEVICES_PCI_H
#define VMM_USER_DEVICES_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "machine.h"

#define PCI_SLOTS		32
#define PCI_NR_BARS		6
#define PCI_CFG_SIZE		256

/* Configuration header offsets (type 0) and bits used here. */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define  PCI_COMMAND_IO		0x0001
#define  PCI_COMMAND_MEMORY	0x0002
#define  PCI_COMMAND_MASTER	0x0004
#define  PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS		0x06
#define  PCI_STATUS_INTERRUPT	0x0008
#define  PCI_STATUS_CAP_LIST	0x0010
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_HEADER_TYPE		0x0e
#define PCI_BASE_ADDRESS_0	0x10
#define  PCI_BASE_ADDRESS_SPACE_IO 0x01
#define  PCI_BASE_ADDRESS_MEM_TYPE_64 0x04
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d

#define PCI_CAP_ID_MSIX		0x11
#define PCI_CAP_ID_VNDR		0x09
#define PCI_MSIX_FLAGS		2	/* in the capability */
#define  PCI_MSIX_FLAGS_MASKALL	0x4000
#define  PCI_MSIX_FLAGS_ENABLE	0x8000
#define PCI_MSIX_ENTRY_SIZE	16
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 1
#define PCI_MSIX_MAX		64	/* vectors this model supports */

struct pci_bus;

struct pci_bar {
	uint64_t size;		/* a power of two, 0: no BAR */
	bool io;		/* I/O space, else 32-bit memory */
	const struct io_ops *ops;
	void *opaque;		/* given to ops and to the machine */
	/* The bus's, under its lock: where the machine has it now. */
	bool mapped;
	uint64_t mapped_base;
	bool removed;			/* unmapped (len 0) at removed_base */
	uint64_t removed_base;
	char name[40];
};

struct pci_msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct pci_dev {
	pthread_mutex_t lock;
	struct pci_bus *bus;
	struct machine *m;
	const char *name;
	unsigned int slot;

	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];	/* bits the guest may write */
	uint8_t w1cmask[PCI_CFG_SIZE];	/* bits a 1 clears */
	uint8_t cap_end;		/* next free byte for a capability */
	struct pci_bar bars[PCI_NR_BARS];

	/* MSI-X: table and PBA in one BAR of the bus's own. */
	unsigned int msix_cap;		/* config offset, 0: none */
	unsigned int msix_nr;
	int msix_bar;
	struct pci_msix_entry msix[PCI_MSIX_MAX];
	uint64_t msix_pending;		/* one bit per vector */

	bool intx_level;		/* what the device asks for */
	bool intx_out;			/* what the line carries */

	/*
	 * Optional: bytes [hook_off, hook_off + hook_len) of configuration
	 * space the device serves itself (an access wholly inside them),
	 * called with dev->lock held; @off is from hook_off.
	 */
	unsigned int hook_off, hook_len;
	void (*hook_read)(struct pci_dev *dev, unsigned int off,
			  void *data, unsigned int size);
	void (*hook_write)(struct pci_dev *dev, unsigned int off,
			   const void *data, unsigned int size);
};

/*
 * pci_create() is in devices.h.  A device: pci_dev_init(), set IDs with
 * pci_set_ids(), pci_set_bar() and pci_add_cap()/pci_msix_init(), then
 * pci_dev_add().  Returns 0 or -errno (a message printed).
 */
void pci_dev_init(struct pci_dev *dev, struct machine *m, const char *name);
void pci_set_ids(struct pci_dev *dev, uint16_t vendor, uint16_t device,
		 uint8_t revision, uint32_t class_code, uint16_t sub_vendor,
		 uint16_t sub_id);
void pci_set_bar(struct pci_dev *dev, int bar, uint64_t size, bool io,
		 const struct io_ops *ops, void *opaque);
/* Appends a capability of @len bytes; returns its config offset. */
unsigned int pci_add_cap(struct pci_dev *dev, uint8_t id, unsigned int len);
/* MSI-X with @nr vectors, table at 0 and PBA at 0x800 of BAR @bar. */
void pci_msix_init(struct pci_dev *dev, unsigned int nr, int bar);
int pci_dev_add(struct pci_bus *bus, struct pci_dev *dev);

/* Level of INTx (pin A): raised while @level, unless disabled or MSI-X. */
void pci_set_irq(struct pci_dev *dev, bool level);
bool pci_msix_enabled(const struct pci_dev *dev);
/* Sends MSI-X vector @vec, or leaves it pending while masked. */
void pci_msix_notify(struct pci_dev *dev, unsigned int vec);
uint32_t pci_intx_gsi(const struct pci_dev *dev);

#endif /* VMM_USER_DEVICES_PCI_H */
