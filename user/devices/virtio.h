/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Virtio devices over the modern (1.x) PCI transport (virtio_pci.c) with
 * split virtqueues (virtqueue.c).  A device embeds struct virtio_dev,
 * calls virtio_pci_init() and gets its queues' kicks through
 * virtio_dev_ops.notify; it takes chains with vq_pop(), returns them with
 * vq_push() and interrupts the driver with vq_notify().
 *
 * Everything here runs under vdev->pci.lock (the device's one mutex,
 * pci.h): the transport takes it in its BAR handlers before calling the
 * device; the device takes it in its own I/O callbacks.
 */
#ifndef VMM_USER_DEVICES_VIRTIO_H
#define VMM_USER_DEVICES_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pci.h"

#define VIRTIO_PCI_VENDOR		0x1af4
#define VIRTIO_PCI_DEVICE_BASE		0x1040

#define VIRTIO_ID_BLOCK			2
#define VIRTIO_ID_RNG			4

#define VIRTIO_F_INDIRECT_DESC		28
#define VIRTIO_F_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32

#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	64
#define VIRTIO_STATUS_FAILED		128

#define VIRTIO_MSI_NO_VECTOR		0xffff

/* Split ring layout (virtio 1.1, 2.6). */
#define VRING_DESC_F_NEXT		1
#define VRING_DESC_F_WRITE		2
#define VRING_DESC_F_INDIRECT		4
#define VRING_AVAIL_F_NO_INTERRUPT	1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

/* BAR layout of the transport (one 32-bit memory BAR). */
#define VIRTIO_BAR			2
#define VIRTIO_MSIX_BAR			1
#define VIRTIO_BAR_SIZE			0x4000
#define VIRTIO_COMMON_OFF		0x0000
#define VIRTIO_ISR_OFF			0x1000
#define VIRTIO_DEVICE_OFF		0x2000
#define VIRTIO_NOTIFY_OFF		0x3000
#define VIRTIO_NOTIFY_MULT		4
#define VIRTIO_REGION_SIZE		0x1000

#define VIRTQ_MAX_SIZE			256
#define VIRTIO_MAX_QUEUES		8

struct virtio_dev;

struct virtqueue {
	struct virtio_dev *vdev;
	unsigned int index;
	/* Transport registers. */
	uint16_t size;
	uint16_t max_size;
	bool ready;
	uint16_t msix_vector;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* Host views of the rings, set when the queue is enabled. */
	struct vring_desc *desc;
	uint16_t *avail;		/* flags, idx, ring[size], used_event */
	uint16_t *used;			/* flags, idx, elems..., avail_event */
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;	/* used_idx at the last vq_notify() */
};

/* A chain taken from the avail ring: readable iovecs first, then writable. */
struct vq_chain {
	uint16_t head;
	unsigned int out_num, in_num;
	uint64_t out_len, in_len;
	struct iovec *iov;		/* the caller's, VIRTQ_MAX_SIZE entries */
};

struct virtio_dev_ops {
	/* The driver kicked @vq (DRIVER_OK, queue enabled). */
	void (*notify)(struct virtio_dev *vdev, struct virtqueue *vq);
	/* The driver reset the device; optional. */
	void (*reset)(struct virtio_dev *vdev);
	/* A write to device configuration space; optional (else ignored). */
	void (*config_write)(struct virtio_dev *vdev, unsigned int off,
			     const void *data, unsigned int size);
};

struct virtio_dev {
	struct pci_dev pci;		/* first: its lock is the device's */
	struct machine *m;
	const char *name;
	const struct virtio_dev_ops *ops;
	uint64_t host_features;
	uint64_t guest_features;
	uint32_t dfselect, gfselect;
	uint16_t msix_config;
	uint8_t status;
	uint8_t config_generation;
	uint8_t isr;
	uint16_t queue_select;
	unsigned int nr_queues;
	struct virtqueue vqs[VIRTIO_MAX_QUEUES];
	uint8_t *config;		/* device configuration, little-endian */
	unsigned int config_len;
	/*
	 * Requests the device still works on.  A reset written while some
	 * are in flight completes (status reads 0) when the last one ends;
	 * reset_gen tells a late completion that its queue is gone.
	 */
	unsigned int inflight;
	bool resetting;
	unsigned int reset_gen;
};

/*
 * virtio_pci_init - the PCI function, capabilities, MSI-X (one vector per
 * queue and one for configuration) and BARs of a virtio device of @type
 * with @nr_queues queues of at most @qsize entries, offering @features
 * (VERSION_1, INDIRECT_DESC and EVENT_IDX are added).  Returns 0 or
 * -errno (a message printed).
 */
int virtio_pci_init(struct virtio_dev *vdev, struct machine *m,
		    struct pci_bus *bus, const char *name, uint16_t type,
		    uint32_t class_code, unsigned int nr_queues,
		    uint16_t qsize, uint64_t features, void *config,
		    unsigned int config_len, const struct virtio_dev_ops *ops);

/* The device's configuration changed: bump the generation, interrupt. */
void virtio_config_changed(struct virtio_dev *vdev);
/* Something the driver did cannot be recovered from: DEVICE_NEEDS_RESET. */
void virtio_set_broken(struct virtio_dev *vdev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One of the device's in-flight requests ended (may complete a reset). */
void virtio_request_done(struct virtio_dev *vdev);
bool virtio_has_feature(const struct virtio_dev *vdev, unsigned int bit);
/* Interrupt for @vq: its MSI-X vector, or the ISR and INTx. */
void virtio_vq_interrupt(struct virtqueue *vq);

/* virtqueue.c */
/*
 * vq_enable - check the ring addresses the driver gave and map them.
 * Returns 0, or -EINVAL (logged) when a ring is outside RAM or misaligned.
 */
int vq_enable(struct virtqueue *vq);
void vq_reset(struct virtqueue *vq);
/*
 * vq_pop - the next chain.  Returns 1 with @c filled, 0 when the ring is
 * empty, -EIO when the queue is unusable (device marked needing reset).
 * A malformed chain is logged and returned to the driver with length 0;
 * the next one is tried.
 */
int vq_pop(struct virtqueue *vq, struct vq_chain *c);
/* vq_push - chain @head is done; @len bytes were written to it. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);
/* vq_notify - interrupt the driver if it wants to hear of new used entries. */
void vq_notify(struct virtqueue *vq);

/* iovec helpers for the devices. */
size_t iov_to_buf(const struct iovec *iov, unsigned int cnt, size_t skip,
		  void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned int cnt, size_t skip,
		    const void *buf, size_t len);
/* The @len bytes from @skip of @iov as new iovecs in @out; their count. */
unsigned int iov_slice(const struct iovec *iov, unsigned int cnt,
		       size_t skip, size_t len, struct iovec *out);

#endif /* VMM_USER_DEVICES_VIRTIO_H */
