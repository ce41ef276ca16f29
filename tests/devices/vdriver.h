/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A test "driver" for virtio-pci modern devices: finds the capabilities,
 * negotiates, sets up split queues with MSI-X in the fake machine's RAM
 * the way Linux's virtio_pci_modern does, and builds descriptor chains
 * (well-formed or not) by hand.
 */
#ifndef VMM_TESTS_VDRIVER_H
#define VMM_TESTS_VDRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "fake_machine.h"
#include "virtio.h"

#define VD_MAX_Q	2

struct vd_queue {
	uint16_t size;
	uint64_t desc, avail, used;		/* guest-physical */
	uint16_t avail_idx, last_used;
	uint16_t next_desc;			/* descriptors used round-robin */
};

struct vdrv {
	struct machine *m;
	unsigned int slot;
	uint64_t common, notify, isr, device;
	uint32_t notify_mult;
	uint64_t msix_tbl;
	uint64_t features;
	unsigned int nr_q;
	struct vd_queue q[VD_MAX_Q];
	uint64_t heap;				/* guest-physical bump pointer */
	bool use_msix;
};

struct vd_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Find the device in @slot and its capabilities; 0 or -1. */
int vd_probe(struct vdrv *d, struct machine *m, unsigned int slot);
/* Reset, negotiate (@want & offered), set up @nr_q queues, DRIVER_OK. */
int vd_init(struct vdrv *d, uint64_t want, unsigned int nr_q, bool msix);
uint8_t vd_status(struct vdrv *d);
void vd_set_status(struct vdrv *d, uint8_t s);
uint64_t vd_offered(struct vdrv *d);

/* Guest memory: @len bytes (16-aligned), and its host view. */
uint64_t vd_alloc(struct vdrv *d, uint64_t len);
void *vd_ptr(struct vdrv *d, uint64_t gpa);

/* Descriptors of a chain in the ring; the head's index. */
uint16_t vd_add_chain(struct vdrv *d, unsigned int q, const struct vd_buf *b,
		      unsigned int n);
/* The same chain as one indirect descriptor. */
uint16_t vd_add_indirect(struct vdrv *d, unsigned int q,
			 const struct vd_buf *b, unsigned int n);
/* Put @head in the avail ring (publish later with vd_kick). */
void vd_publish(struct vdrv *d, unsigned int q, uint16_t head);
void vd_kick(struct vdrv *d, unsigned int q);
/* Next used entry: 1 with @id/@len, 0 if none. */
int vd_get_used(struct vdrv *d, unsigned int q, uint32_t *id, uint32_t *len);
/* The queue's raw rings, for hostile tests. */
struct vring_desc *vd_desc(struct vdrv *d, unsigned int q);
uint16_t *vd_avail(struct vdrv *d, unsigned int q);

uint64_t vd_read_cfg(struct vdrv *d, unsigned int off, unsigned int size);

#endif /* VMM_TESTS_VDRIVER_H */
