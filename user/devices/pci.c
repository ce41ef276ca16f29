// SPDX-License-Identifier: GPL-2.0
/*
 * PCI: a host bridge at 00:00.0, configuration mechanism #1 (address at
 * 0xcf8, data at 0xcfc-0xcff), function 0 of slots 1-31, BARs placed in
 * machine.h's windows and followed when the guest moves them, INTx and
 * MSI-X.
 *
 * Every configuration register is a byte array with two masks beside it:
 * the bits the guest may write and the bits a written 1 clears.  BAR
 * sizing then needs no special case: a BAR's writable bits are its
 * address bits, so all-ones reads back the size mask.  What a write
 * changes beyond the bytes themselves (decoding, BAR moves, MSI-X enable
 * and masks, the INTx line) is recomputed after it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "pci.h"

#define PCI_ADDR_ENABLE		0x80000000u
#define PCI_MSIX_PBA_OFF	0x800
#define PCI_MSIX_BAR_SIZE	0x1000

struct pci_bus {
	struct machine *m;
	/* Serialises configuration accesses: 0xcf8 and BAR mapping state. */
	pthread_mutex_t lock;
	uint32_t addr;				/* 0xcf8 */
	struct pci_dev *slots[PCI_SLOTS];
	struct pci_dev host;			/* 00:00.0 */
	uint64_t mmio_next;			/* firmware's placement */
	uint32_t io_next;
};

static uint16_t cfg_get16(const struct pci_dev *dev, unsigned int off)
{
	return dev->cfg[off] | dev->cfg[off + 1] << 8;
}

static uint32_t cfg_get32(const struct pci_dev *dev, unsigned int off)
{
	return cfg_get16(dev, off) | (uint32_t)cfg_get16(dev, off + 2) << 16;
}

static void cfg_set16(uint8_t *a, unsigned int off, uint16_t v)
{
	a[off] = v;
	a[off + 1] = v >> 8;
}

static void cfg_set32(uint8_t *a, unsigned int off, uint32_t v)
{
	cfg_set16(a, off, v);
	cfg_set16(a, off + 2, v >> 16);
}

/* pci_dev_init - an empty type-0 function; the caller fills the rest. */
void pci_dev_init(struct pci_dev *dev, struct machine *m, const char *name)
{
	memset(dev, 0, sizeof(*dev));
	pthread_mutex_init(&dev->lock, NULL);
	dev->m = m;
	dev->name = name;
	dev->msix_bar = -1;
	dev->cap_end = 0x40;
	cfg_set16(dev->wmask, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
		  PCI_COMMAND_MASTER | 0x0040 /* parity */ | 0x0100 /* SERR */ |
		  PCI_COMMAND_INTX_DISABLE);
	/* Error bits of the status register are write-1-to-clear. */
	cfg_set16(dev->w1cmask, PCI_STATUS, 0xf900);
	dev->wmask[0x0c] = 0xff;	/* cache line size */
	dev->wmask[0x0d] = 0xff;	/* latency timer */
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

/* pci_set_ids - vendor, device, revision, class (24 bits), subsystem. */
void pci_set_ids(struct pci_dev *dev, uint16_t vendor, uint16_t device,
		 uint8_t revision, uint32_t class_code, uint16_t sub_vendor,
		 uint16_t sub_id)
{
	cfg_set16(dev->cfg, PCI_VENDOR_ID, vendor);
	cfg_set16(dev->cfg, PCI_DEVICE_ID, device);
	dev->cfg[PCI_REVISION_ID] = revision;
	dev->cfg[PCI_CLASS_PROG] = class_code;
	dev->cfg[PCI_CLASS_PROG + 1] = class_code >> 8;
	dev->cfg[PCI_CLASS_PROG + 2] = class_code >> 16;
	cfg_set16(dev->cfg, PCI_SUBSYSTEM_VENDOR_ID, sub_vendor);
	cfg_set16(dev->cfg, PCI_SUBSYSTEM_ID, sub_id);
}

/*
 * pci_set_bar - declare BAR @bar: @size bytes (a power of two, at least
 * 16, or 4 for I/O) of I/O or 32-bit memory space served by @ops.
 */
void pci_set_bar(struct pci_dev *dev, int bar, uint64_t size, bool io,
		 const struct io_ops *ops, void *opaque)
{
	struct pci_bar *b = &dev->bars[bar];
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * bar;

	b->size = size;
	b->io = io;
	b->ops = ops;
	b->opaque = opaque;
	snprintf(b->name, sizeof(b->name), "%s BAR%d", dev->name, bar);
	cfg_set32(dev->cfg, off, io ? PCI_BASE_ADDRESS_SPACE_IO : 0);
	/* The address bits are the writable ones: sizing reads ~(size-1). */
	cfg_set32(dev->wmask, off, (uint32_t)~(size - 1) & (io ? ~3u : ~15u));
}

/*
 * pci_add_cap - append a capability of @len bytes (id and next included)
 * to the list; returns its offset in configuration space.
 */
unsigned int pci_add_cap(struct pci_dev *dev, uint8_t id, unsigned int len)
{
	unsigned int off = dev->cap_end;
	unsigned int p = PCI_CAPABILITY_LIST;

	while (dev->cfg[p])
		p = dev->cfg[p] + 1;
	dev->cfg[p] = off;
	dev->cfg[off] = id;
	dev->cfg[off + 1] = 0;
	dev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->cap_end = (off + len + 3) & ~3u;
	return off;
}

static const struct io_ops pci_msix_ops;

/*
 * pci_msix_init - an MSI-X capability with @nr vectors, its table and
 * PBA in BAR @bar, which the bus serves itself.
 */
void pci_msix_init(struct pci_dev *dev, unsigned int nr, int bar)
{
	unsigned int cap = pci_add_cap(dev, PCI_CAP_ID_MSIX, 12);

	dev->msix_cap = cap;
	dev->msix_nr = nr;
	dev->msix_bar = bar;
	for (unsigned int i = 0; i < nr; i++)
		dev->msix[i].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	cfg_set16(dev->cfg, cap + PCI_MSIX_FLAGS, nr - 1);
	dev->wmask[cap + PCI_MSIX_FLAGS + 1] = 0xc0;	/* enable, mask all */
	cfg_set32(dev->cfg, cap + 4, bar);
	cfg_set32(dev->cfg, cap + 8, PCI_MSIX_PBA_OFF | bar);
	pci_set_bar(dev, bar, PCI_MSIX_BAR_SIZE, false, &pci_msix_ops, dev);
}

/* pci_intx_gsi - pin A of the device's slot, by machine.h's swizzle. */
uint32_t pci_intx_gsi(const struct pci_dev *dev)
{
	return MACHINE_PCI_GSI_BASE + dev->slot % 4;
}

bool pci_msix_enabled(const struct pci_dev *dev)
{
	return dev->msix_cap &&
	       (cfg_get16(dev, dev->msix_cap + PCI_MSIX_FLAGS) &
		PCI_MSIX_FLAGS_ENABLE);
}

/* The line follows the device's level unless INTx is off. */
static void pci_update_intx(struct pci_dev *dev)
{
	bool out = dev->intx_level && !pci_msix_enabled(dev) &&
		   !(cfg_get16(dev, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);

	if (dev->intx_level)
		dev->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		dev->cfg[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
	if (out != dev->intx_out && dev->cfg[PCI_INTERRUPT_PIN]) {
		dev->intx_out = out;
		machine_irq_line(dev->m, pci_intx_gsi(dev), out);
	}
}

/* pci_set_irq - the device's INTx level; dev->lock held. */
void pci_set_irq(struct pci_dev *dev, bool level)
{
	dev->intx_level = level;
	pci_update_intx(dev);
}

static bool pci_msix_masked(const struct pci_dev *dev, unsigned int vec)
{
	return (cfg_get16(dev, dev->msix_cap + PCI_MSIX_FLAGS) &
		PCI_MSIX_FLAGS_MASKALL) ||
	       (dev->msix[vec].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static void pci_msix_send(struct pci_dev *dev, unsigned int vec)
{
	const struct pci_msix_entry *e = &dev->msix[vec];
	uint64_t addr = (uint64_t)e->addr_hi << 32 | e->addr_lo;

	/* x86 MSIs go to the LAPIC window; anything else is a lost write. */
	if ((addr >> 20) != 0xfee) {
		machine_log_guest_error(dev->m, dev->name,
					"MSI-X vector %u: address %#llx is not an interrupt message",
					vec, (unsigned long long)addr);
		return;
	}
	machine_signal_msi(dev->m, addr, e->data);
}

/* pci_msix_notify - vector @vec fires; dev->lock held. */
void pci_msix_notify(struct pci_dev *dev, unsigned int vec)
{
	if (!pci_msix_enabled(dev))
		return;
	if (vec >= dev->msix_nr) {
		machine_log_guest_error(dev->m, dev->name,
					"MSI-X vector %u out of range (%u)",
					vec, dev->msix_nr);
		return;
	}
	if (pci_msix_masked(dev, vec))
		dev->msix_pending |= 1ULL << vec;
	else
		pci_msix_send(dev, vec);
}

/* Pending vectors whose masks are now clear go out. */
static void pci_msix_flush_pending(struct pci_dev *dev)
{
	if (!pci_msix_enabled(dev))
		return;
	for (unsigned int v = 0; v < dev->msix_nr; v++) {
		if (!(dev->msix_pending & (1ULL << v)) ||
		    pci_msix_masked(dev, v))
			continue;
		dev->msix_pending &= ~(1ULL << v);
		pci_msix_send(dev, v);
	}
}

/* The table and PBA, one byte at a time: any size, any alignment. */
static uint8_t pci_msix_byte(struct pci_dev *dev, uint64_t off)
{
	if (off < dev->msix_nr * PCI_MSIX_ENTRY_SIZE) {
		const uint8_t *e = (const uint8_t *)&dev->msix[off / 16];

		return e[off % 16];
	}
	if (off >= PCI_MSIX_PBA_OFF && off < PCI_MSIX_PBA_OFF + 8)
		return dev->msix_pending >> (8 * (off - PCI_MSIX_PBA_OFF));
	return 0;
}

static void pci_msix_read(void *opaque, uint64_t off, void *data,
			  unsigned int size)
{
	struct pci_dev *dev = opaque;
	uint8_t *p = data;

	pthread_mutex_lock(&dev->lock);
	for (unsigned int i = 0; i < size; i++)
		p[i] = pci_msix_byte(dev, off + i);
	pthread_mutex_unlock(&dev->lock);
}

static void pci_msix_write(void *opaque, uint64_t off, const void *data,
			   unsigned int size)
{
	struct pci_dev *dev = opaque;
	const uint8_t *p = data;

	pthread_mutex_lock(&dev->lock);
	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i;

		/* The PBA and the space past the table are read-only. */
		if (o < dev->msix_nr * PCI_MSIX_ENTRY_SIZE)
			((uint8_t *)&dev->msix[o / 16])[o % 16] = p[i];
	}
	pci_msix_flush_pending(dev);
	pthread_mutex_unlock(&dev->lock);
}

static const struct io_ops pci_msix_ops = {
	.read = pci_msix_read,
	.write = pci_msix_write,
};

/*
 * Where BAR @i should be mapped now: decoding on and the whole BAR inside
 * the bridge's window (a real bridge forwards nothing else).  Returns
 * false when it should not be mapped.
 */
static bool pci_bar_target(struct pci_dev *dev, int i, uint64_t *base)
{
	struct pci_bar *b = &dev->bars[i];
	uint16_t cmd = cfg_get16(dev, PCI_COMMAND);
	uint32_t v = cfg_get32(dev, PCI_BASE_ADDRESS_0 + 4 * i);
	uint64_t lo, hi;

	if (b->io) {
		if (!(cmd & PCI_COMMAND_IO))
			return false;
		*base = v & ~3u;
		lo = MACHINE_PCI_IO_BASE;
		hi = MACHINE_PCI_IO_BASE + MACHINE_PCI_IO_SIZE;
	} else {
		if (!(cmd & PCI_COMMAND_MEMORY))
			return false;
		*base = v & ~15u;
		lo = MACHINE_PCI_MMIO_BASE;
		hi = MACHINE_PCI_MMIO_BASE + MACHINE_PCI_MMIO_SIZE;
	}
	return *base >= lo && *base + b->size <= hi;
}

static int pci_bar_register(struct pci_dev *dev, struct pci_bar *b,
			    uint64_t base)
{
	if (b->io)
		return machine_pio_register(dev->m, base, b->size, b->ops,
					    b->opaque, b->name);
	return machine_mmio_register(dev->m, base, b->size, b->ops,
				     b->opaque, b->name);
}

static int pci_bar_move(struct pci_dev *dev, struct pci_bar *b,
			uint64_t old_base, uint64_t base, uint64_t len)
{
	if (b->io)
		return machine_pio_move(dev->m, b->opaque, old_base, base, len);
	return machine_mmio_move(dev->m, b->opaque, old_base, base, len);
}

/*
 * Map BAR @b at @base.  A region the machine removed (len 0) and kept
 * is brought back rather than registered twice; a machine that forgot
 * it says -ENOENT and gets a new one.
 */
static int pci_bar_map(struct pci_dev *dev, struct pci_bar *b, uint64_t base)
{
	int ret = -ENOENT;

	if (b->removed)
		ret = pci_bar_move(dev, b, b->removed_base, base, b->size);
	if (ret == -ENOENT)
		ret = pci_bar_register(dev, b, base);
	if (!ret)
		b->removed = false;
	return ret;
}

/*
 * Make the machine's regions match the BARs and the command register.
 * Bus lock held, dev->lock not (the machine may take locks of its own).
 */
static void pci_sync_bars(struct pci_dev *dev)
{
	for (int i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &dev->bars[i];
		uint64_t base = 0;
		bool want;
		int ret;

		if (!b->size)
			continue;
		pthread_mutex_lock(&dev->lock);
		want = pci_bar_target(dev, i, &base);
		pthread_mutex_unlock(&dev->lock);
		if (b->mapped && want && base == b->mapped_base)
			continue;
		if (!b->mapped && !want)
			continue;
		if (b->mapped) {
			if (want && !pci_bar_move(dev, b, b->mapped_base, base,
						  b->size)) {
				b->mapped_base = base;
				continue;
			}
			/* Decoding off, or the move was refused: unmap. */
			pci_bar_move(dev, b, b->mapped_base, b->mapped_base, 0);
			b->mapped = false;
			b->removed = true;
			b->removed_base = b->mapped_base;
			if (!want)
				continue;
		}
		ret = pci_bar_map(dev, b, base);
		if (ret) {
			machine_log_guest_error(dev->m, dev->name,
						"BAR%d at %#llx overlaps another region (%d): not decoded",
						i, (unsigned long long)base, ret);
			continue;
		}
		b->mapped = true;
		b->mapped_base = base;
	}
}

/* Apply a configuration write through the masks; dev->lock held. */
static void pci_cfg_write_bytes(struct pci_dev *dev, unsigned int reg,
				uint32_t val, unsigned int size)
{
	for (unsigned int i = 0; i < size; i++) {
		unsigned int o = reg + i;
		uint8_t b = val >> (8 * i);

		dev->cfg[o] = (dev->cfg[o] & ~dev->wmask[o]) |
			      (b & dev->wmask[o]);
		dev->cfg[o] &= ~(b & dev->w1cmask[o]);
	}
}

static bool overlaps(unsigned int reg, unsigned int size, unsigned int off,
		     unsigned int len)
{
	return reg < off + len && off < reg + size;
}

static bool pci_hooked(const struct pci_dev *dev, unsigned int reg,
		       unsigned int size)
{
	return dev->hook_len && reg >= dev->hook_off &&
	       reg + size <= dev->hook_off + dev->hook_len;
}

/* A configuration write to @dev; bus lock held. */
static void pci_cfg_write(struct pci_dev *dev, unsigned int reg,
			  uint32_t val, unsigned int size)
{
	bool bars;

	pthread_mutex_lock(&dev->lock);
	if (pci_hooked(dev, reg, size)) {
		dev->hook_write(dev, reg - dev->hook_off, &val, size);
		pthread_mutex_unlock(&dev->lock);
		return;
	}
	pci_cfg_write_bytes(dev, reg, val, size);
	bars = overlaps(reg, size, PCI_COMMAND, 2) ||
	       overlaps(reg, size, PCI_BASE_ADDRESS_0, 4 * PCI_NR_BARS);
	if (dev->msix_cap && overlaps(reg, size, dev->msix_cap, 4))
		pci_msix_flush_pending(dev);
	pci_update_intx(dev);
	pthread_mutex_unlock(&dev->lock);
	if (bars)
		pci_sync_bars(dev);
}

static uint32_t pci_cfg_read(struct pci_dev *dev, unsigned int reg,
			     unsigned int size)
{
	uint32_t v = 0;

	pthread_mutex_lock(&dev->lock);
	if (pci_hooked(dev, reg, size))
		dev->hook_read(dev, reg - dev->hook_off, &v, size);
	else
		for (unsigned int i = 0; i < size; i++)
			v |= (uint32_t)dev->cfg[reg + i] << (8 * i);
	pthread_mutex_unlock(&dev->lock);
	return v;
}

/* The function 0xcf8 points at, and the register for data port byte @k. */
static struct pci_dev *pci_addressed(struct pci_bus *bus, unsigned int k,
				     unsigned int *reg)
{
	uint32_t a = bus->addr;

	if (!(a & PCI_ADDR_ENABLE) || ((a >> 16) & 0xff) || ((a >> 8) & 7))
		return NULL;
	*reg = (a & 0xfc) + k;
	return bus->slots[(a >> 11) & 31];
}

static void pci_addr_read(void *opaque, uint64_t off, void *data,
			  unsigned int size)
{
	struct pci_bus *bus = opaque;
	uint32_t v = 0xffffffff;

	/* Only a dword access at 0xcf8 is the address register. */
	pthread_mutex_lock(&bus->lock);
	if (off == 0 && size == 4)
		v = bus->addr;
	pthread_mutex_unlock(&bus->lock);
	memcpy(data, &v, size > 4 ? 4 : size);
	if (size > 4)
		memset((uint8_t *)data + 4, 0xff, size - 4);
}

static void pci_addr_write(void *opaque, uint64_t off, const void *data,
			   unsigned int size)
{
	struct pci_bus *bus = opaque;
	uint32_t v;

	if (off != 0 || size != 4)
		return;
	memcpy(&v, data, 4);
	pthread_mutex_lock(&bus->lock);
	/* Bits 30:24 are reserved (AMD's extended registers: not here). */
	bus->addr = v & 0x80fffffcu;
	pthread_mutex_unlock(&bus->lock);
}

static void pci_data_read(void *opaque, uint64_t off, void *data,
			  unsigned int size)
{
	struct pci_bus *bus = opaque;
	uint32_t v = 0xffffffff;
	struct pci_dev *dev;
	unsigned int reg;

	memset(data, 0xff, size);
	if (off + size > 4)
		return;
	pthread_mutex_lock(&bus->lock);
	dev = pci_addressed(bus, off, &reg);
	if (dev)
		v = pci_cfg_read(dev, reg, size);
	pthread_mutex_unlock(&bus->lock);
	memcpy(data, &v, size);
}

static void pci_data_write(void *opaque, uint64_t off, const void *data,
			   unsigned int size)
{
	struct pci_bus *bus = opaque;
	struct pci_dev *dev;
	unsigned int reg;
	uint32_t v = 0;

	if (off + size > 4)
		return;
	memcpy(&v, data, size);
	pthread_mutex_lock(&bus->lock);
	dev = pci_addressed(bus, off, &reg);
	if (dev)
		pci_cfg_write(dev, reg, v, size);
	pthread_mutex_unlock(&bus->lock);
}

static const struct io_ops pci_addr_ops = {
	.read = pci_addr_read,
	.write = pci_addr_write,
};

static const struct io_ops pci_data_ops = {
	.read = pci_data_read,
	.write = pci_data_write,
};

/* Firmware's placement: each BAR naturally aligned, in declaration order. */
static int pci_place_bars(struct pci_bus *bus, struct pci_dev *dev)
{
	for (int i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &dev->bars[i];
		uint64_t base, end;
		uint32_t v;

		if (!b->size)
			continue;
		if (b->io) {
			base = (bus->io_next + b->size - 1) & ~(b->size - 1);
			end = MACHINE_PCI_IO_BASE + MACHINE_PCI_IO_SIZE;
		} else {
			base = (bus->mmio_next + b->size - 1) & ~(b->size - 1);
			end = MACHINE_PCI_MMIO_BASE + MACHINE_PCI_MMIO_SIZE;
		}
		if (base + b->size > end) {
			fprintf(stderr, "pci: %s: no room for BAR%d (%#llx bytes)\n",
				dev->name, i, (unsigned long long)b->size);
			return -ENOSPC;
		}
		if (b->io)
			bus->io_next = base + b->size;
		else
			bus->mmio_next = base + b->size;
		v = cfg_get32(dev, PCI_BASE_ADDRESS_0 + 4 * i);
		cfg_set32(dev->cfg, PCI_BASE_ADDRESS_0 + 4 * i, v | base);
	}
	return 0;
}

/*
 * pci_dev_add - put @dev in the next free slot, place its BARs and turn
 * decoding on as firmware leaves it.  Returns 0 or -errno.
 */
int pci_dev_add(struct pci_bus *bus, struct pci_dev *dev)
{
	unsigned int slot;
	int ret;

	pthread_mutex_lock(&bus->lock);
	for (slot = 0; slot < PCI_SLOTS && bus->slots[slot]; slot++)
		;
	if (slot == PCI_SLOTS) {
		pthread_mutex_unlock(&bus->lock);
		fprintf(stderr, "pci: %s: no free slot\n", dev->name);
		return -ENOSPC;
	}
	dev->bus = bus;
	dev->slot = slot;
	if (dev->msix_cap || dev->bars[0].size || dev->bars[1].size ||
	    dev->bars[2].size || dev->bars[3].size || dev->bars[4].size ||
	    dev->bars[5].size) {
		dev->cfg[PCI_INTERRUPT_PIN] = 1;
		dev->cfg[PCI_INTERRUPT_LINE] = pci_intx_gsi(dev);
	}
	ret = pci_place_bars(bus, dev);
	if (ret) {
		pthread_mutex_unlock(&bus->lock);
		return ret;
	}
	cfg_set16(dev->cfg, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	bus->slots[slot] = dev;
	pci_sync_bars(dev);
	for (int i = 0; i < PCI_NR_BARS; i++) {
		if (dev->bars[i].size && !dev->bars[i].mapped) {
			bus->slots[slot] = NULL;
			pthread_mutex_unlock(&bus->lock);
			fprintf(stderr, "pci: %s: cannot map BAR%d\n",
				dev->name, i);
			return -EBUSY;
		}
	}
	pthread_mutex_unlock(&bus->lock);
	return 0;
}

/*
 * pci_create - the bus, its host bridge at 00:00.0 and the configuration
 * ports.  Returns the bus, or NULL after printing why.
 */
struct pci_bus *pci_create(struct machine *m)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));
	int ret;

	if (!bus) {
		fprintf(stderr, "pci: out of memory\n");
		return NULL;
	}
	bus->m = m;
	pthread_mutex_init(&bus->lock, NULL);
	bus->mmio_next = MACHINE_PCI_MMIO_BASE;
	bus->io_next = MACHINE_PCI_IO_BASE;

	/* An i440FX host bridge: what Linux expects of a PC's 00:00.0. */
	pci_dev_init(&bus->host, m, "pci-host");
	pci_set_ids(&bus->host, 0x8086, 0x1237, 0x02, 0x060000, 0, 0);
	bus->host.wmask[PCI_INTERRUPT_LINE] = 0;
	bus->slots[0] = &bus->host;

	/* 0xcf8 alone: 0xcf9 is the reset register (machine.h). */
	ret = machine_pio_register(m, 0xcf8, 1, &pci_addr_ops, bus, "pci-addr");
	if (!ret)
		ret = machine_pio_register(m, 0xcfc, 4, &pci_data_ops, bus,
					   "pci-data");
	if (ret) {
		fprintf(stderr, "pci: cannot register ports 0xcf8/0xcfc: %s\n",
			strerror(-ret));
		free(bus);
		return NULL;
	}
	return bus;
}
