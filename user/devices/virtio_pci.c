// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio 1.x modern PCI transport (virtio 1.1, 4.1): vendor 0x1af4,
 * device 0x1040 + type, revision 1.  Vendor capabilities point into one
 * memory BAR: common configuration, notifications (one 4-byte slot per
 * queue), the ISR (INTx) and device configuration; MSI-X has a BAR of
 * its own served by pci.c.
 *
 * The common configuration is read and written as a byte image of its
 * registers: a write of any width patches the image and then every
 * register it touched takes its new value, in the order the structure
 * lists them (selectors before what they select).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "virtio.h"

#define VIRTIO_PCI_CAP_COMMON_CFG	1
#define VIRTIO_PCI_CAP_NOTIFY_CFG	2
#define VIRTIO_PCI_CAP_ISR_CFG		3
#define VIRTIO_PCI_CAP_DEVICE_CFG	4
#define VIRTIO_PCI_CAP_PCI_CFG		5

/* struct virtio_pci_common_cfg offsets */
#define CC_DFSELECT		0
#define CC_DF			4
#define CC_GFSELECT		8
#define CC_GF			12
#define CC_MSIX_CONFIG		16
#define CC_NUM_QUEUES		18
#define CC_STATUS		20
#define CC_CONFIG_GEN		21
#define CC_Q_SELECT		22
#define CC_Q_SIZE		24
#define CC_Q_MSIX		26
#define CC_Q_ENABLE		28
#define CC_Q_NOTIFY_OFF		30
#define CC_Q_DESC		32
#define CC_Q_DRIVER		40
#define CC_Q_DEVICE		48
#define CC_SIZE			64	/* 56 used; 1.2's two more read 0 */

#define VIRTIO_ISR_QUEUE	1
#define VIRTIO_ISR_CONFIG	2

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static uint16_t get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

bool virtio_has_feature(const struct virtio_dev *vdev, unsigned int bit)
{
	return vdev->guest_features & (1ULL << bit);
}

static struct virtqueue *virtio_selected(struct virtio_dev *vdev)
{
	if (vdev->queue_select >= vdev->nr_queues)
		return NULL;
	return &vdev->vqs[vdev->queue_select];
}

static void virtio_raise(struct virtio_dev *vdev, uint8_t isr, uint16_t vec)
{
	if (pci_msix_enabled(&vdev->pci)) {
		if (vec != VIRTIO_MSI_NO_VECTOR)
			pci_msix_notify(&vdev->pci, vec);
		return;
	}
	vdev->isr |= isr;
	pci_set_irq(&vdev->pci, true);
}

/* virtio_vq_interrupt - see virtio.h; lock held. */
void virtio_vq_interrupt(struct virtqueue *vq)
{
	virtio_raise(vq->vdev, VIRTIO_ISR_QUEUE, vq->msix_vector);
}

/* virtio_config_changed - see virtio.h; lock held. */
void virtio_config_changed(struct virtio_dev *vdev)
{
	vdev->config_generation++;
	if (vdev->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_raise(vdev, VIRTIO_ISR_CONFIG, vdev->msix_config);
}

/* virtio_set_broken - see virtio.h; lock held. */
void virtio_set_broken(struct virtio_dev *vdev, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	machine_log_guest_error(vdev->m, vdev->name,
				"%s: device needs a reset", msg);
	if (vdev->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	vdev->status |= VIRTIO_STATUS_NEEDS_RESET;
	virtio_config_changed(vdev);
}

/* The reset ends: every register as at power-on. */
static void virtio_reset_done(struct virtio_dev *vdev)
{
	vdev->resetting = false;
	vdev->status = 0;
	vdev->guest_features = 0;
	vdev->dfselect = vdev->gfselect = 0;
	vdev->msix_config = VIRTIO_MSI_NO_VECTOR;
	vdev->queue_select = 0;
	vdev->isr = 0;
	pci_set_irq(&vdev->pci, false);
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		vq_reset(&vdev->vqs[i]);
}

static void virtio_reset(struct virtio_dev *vdev)
{
	vdev->reset_gen++;
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	/* Status reads non-zero until the requests in flight are back. */
	if (vdev->inflight)
		vdev->resetting = true;
	else
		virtio_reset_done(vdev);
}

/* virtio_request_done - see virtio.h; lock held. */
void virtio_request_done(struct virtio_dev *vdev)
{
	if (vdev->inflight)
		vdev->inflight--;
	if (!vdev->inflight && vdev->resetting)
		virtio_reset_done(vdev);
}

static void virtio_set_status(struct virtio_dev *vdev, uint8_t val)
{
	uint8_t old = vdev->status;

	if (!val) {
		virtio_reset(vdev);
		return;
	}
	if (vdev->resetting)
		return;
	if ((val & VIRTIO_STATUS_FEATURES_OK) &&
	    !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* Accepted only as a subset of ours, with VERSION_1. */
		if ((vdev->guest_features & ~vdev->host_features) ||
		    !virtio_has_feature(vdev, VIRTIO_F_VERSION_1)) {
			machine_log_guest_error(vdev->m, vdev->name,
						"features %#llx refused (offered %#llx, VERSION_1 required)",
						(unsigned long long)vdev->guest_features,
						(unsigned long long)vdev->host_features);
			val &= ~VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if ((val & VIRTIO_STATUS_DRIVER_OK) &&
	    !(val & VIRTIO_STATUS_FEATURES_OK)) {
		machine_log_guest_error(vdev->m, vdev->name,
					"DRIVER_OK without FEATURES_OK: ignored");
		val &= ~VIRTIO_STATUS_DRIVER_OK;
	}
	vdev->status = val | (old & VIRTIO_STATUS_NEEDS_RESET);
}

static void virtio_common_image(struct virtio_dev *vdev, uint8_t *img)
{
	struct virtqueue *vq = virtio_selected(vdev);

	memset(img, 0, CC_SIZE);
	put32(img + CC_DFSELECT, vdev->dfselect);
	if (vdev->dfselect < 2)
		put32(img + CC_DF, vdev->host_features >> (32 * vdev->dfselect));
	put32(img + CC_GFSELECT, vdev->gfselect);
	if (vdev->gfselect < 2)
		put32(img + CC_GF, vdev->guest_features >> (32 * vdev->gfselect));
	put16(img + CC_MSIX_CONFIG, vdev->msix_config);
	put16(img + CC_NUM_QUEUES, vdev->nr_queues);
	/* A reset in progress reads as the old status until it is done. */
	img[CC_STATUS] = vdev->status;
	img[CC_CONFIG_GEN] = vdev->config_generation;
	put16(img + CC_Q_SELECT, vdev->queue_select);
	if (!vq)
		return;
	put16(img + CC_Q_SIZE, vq->size);
	put16(img + CC_Q_MSIX, vq->msix_vector);
	put16(img + CC_Q_ENABLE, vq->ready);
	put16(img + CC_Q_NOTIFY_OFF, vq->index);
	put32(img + CC_Q_DESC, vq->desc_gpa);
	put32(img + CC_Q_DESC + 4, vq->desc_gpa >> 32);
	put32(img + CC_Q_DRIVER, vq->avail_gpa);
	put32(img + CC_Q_DRIVER + 4, vq->avail_gpa >> 32);
	put32(img + CC_Q_DEVICE, vq->used_gpa);
	put32(img + CC_Q_DEVICE + 4, vq->used_gpa >> 32);
}

/* An MSI-X vector the driver may use, else NO_VECTOR (it reads back). */
static uint16_t virtio_vector(struct virtio_dev *vdev, uint16_t v)
{
	return v < vdev->pci.msix_nr ? v : VIRTIO_MSI_NO_VECTOR;
}

static bool virtio_queue_writable(struct virtio_dev *vdev,
				  struct virtqueue *vq, const char *what)
{
	if (!vq) {
		machine_log_guest_error(vdev->m, vdev->name,
					"%s of queue %u, which does not exist",
					what, vdev->queue_select);
		return false;
	}
	if (vq->ready) {
		machine_log_guest_error(vdev->m, vdev->name,
					"%s of enabled queue %u: ignored",
					what, vq->index);
		return false;
	}
	return true;
}

static void virtio_queue_enable(struct virtio_dev *vdev, struct virtqueue *vq,
				uint16_t val)
{
	if (!vq || vq->ready)
		return;
	if (val != 1) {
		machine_log_guest_error(vdev->m, vdev->name,
					"queue_enable %u written: ignored", val);
		return;
	}
	if (!vq_enable(vq))
		vq->ready = true;
}

static void virtio_common_write(struct virtio_dev *vdev, uint64_t off,
				const void *data, unsigned int size)
{
	uint8_t img[CC_SIZE], old[CC_SIZE];
	struct virtqueue *vq;

#define TOUCHED(reg, len) (off < (reg) + (len) && (reg) < off + size)
	if (off >= CC_SIZE || off + size > CC_SIZE)
		return;
	virtio_common_image(vdev, img);
	memcpy(old, img, CC_SIZE);
	memcpy(img + off, data, size);

	if (TOUCHED(CC_DFSELECT, 4))
		vdev->dfselect = get32(img + CC_DFSELECT);
	if (TOUCHED(CC_GFSELECT, 4))
		vdev->gfselect = get32(img + CC_GFSELECT);
	if (TOUCHED(CC_GF, 4) && vdev->gfselect < 2) {
		/* Features are fixed once FEATURES_OK is set. */
		if (vdev->status & VIRTIO_STATUS_FEATURES_OK) {
			machine_log_guest_error(vdev->m, vdev->name,
						"feature write after FEATURES_OK: ignored");
		} else {
			unsigned int sh = 32 * vdev->gfselect;

			vdev->guest_features &= ~(0xffffffffULL << sh);
			vdev->guest_features |=
				(uint64_t)get32(img + CC_GF) << sh;
		}
	}
	if (TOUCHED(CC_MSIX_CONFIG, 2))
		vdev->msix_config = virtio_vector(vdev,
						  get16(img + CC_MSIX_CONFIG));
	if (TOUCHED(CC_STATUS, 1))
		virtio_set_status(vdev, img[CC_STATUS]);
	if (TOUCHED(CC_Q_SELECT, 2))
		vdev->queue_select = get16(img + CC_Q_SELECT);
	vq = virtio_selected(vdev);
	if (TOUCHED(CC_Q_SIZE, 2) &&
	    virtio_queue_writable(vdev, vq, "queue_size"))
		vq->size = get16(img + CC_Q_SIZE);
	if (TOUCHED(CC_Q_MSIX, 2) && vq)
		vq->msix_vector = virtio_vector(vdev, get16(img + CC_Q_MSIX));
	if (TOUCHED(CC_Q_DESC, 8) &&
	    virtio_queue_writable(vdev, vq, "queue_desc"))
		vq->desc_gpa = get64(img + CC_Q_DESC);
	if (TOUCHED(CC_Q_DRIVER, 8) &&
	    virtio_queue_writable(vdev, vq, "queue_driver"))
		vq->avail_gpa = get64(img + CC_Q_DRIVER);
	if (TOUCHED(CC_Q_DEVICE, 8) &&
	    virtio_queue_writable(vdev, vq, "queue_device"))
		vq->used_gpa = get64(img + CC_Q_DEVICE);
	if (TOUCHED(CC_Q_ENABLE, 2))
		virtio_queue_enable(vdev, vq, get16(img + CC_Q_ENABLE));
#undef TOUCHED
}

static void virtio_notify(struct virtio_dev *vdev, uint64_t off)
{
	unsigned int q = off / VIRTIO_NOTIFY_MULT;
	struct virtqueue *vq;

	if (q >= vdev->nr_queues || !vdev->vqs[q].ready) {
		machine_log_guest_error(vdev->m, vdev->name,
					"notify for queue %u, which is not enabled",
					q);
		return;
	}
	vq = &vdev->vqs[q];
	if (!(vdev->status & VIRTIO_STATUS_DRIVER_OK) || vdev->resetting ||
	    (vdev->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	vdev->ops->notify(vdev, vq);
}

/* A read of the BAR at @off; lock held. */
static void virtio_bar_read_locked(struct virtio_dev *vdev, uint64_t off,
				   void *data, unsigned int size)
{
	uint8_t img[CC_SIZE];
	uint64_t o;

	memset(data, 0, size);
	if (off < VIRTIO_ISR_OFF) {
		virtio_common_image(vdev, img);
		if (off + size <= CC_SIZE)
			memcpy(data, img + off, size);
	} else if (off < VIRTIO_DEVICE_OFF) {
		/* Reading the ISR acknowledges it and lowers INTx. */
		if (off == VIRTIO_ISR_OFF) {
			*(uint8_t *)data = vdev->isr;
			vdev->isr = 0;
			pci_set_irq(&vdev->pci, false);
		}
	} else if (off < VIRTIO_NOTIFY_OFF) {
		o = off - VIRTIO_DEVICE_OFF;
		if (o + size <= vdev->config_len)
			memcpy(data, vdev->config + o, size);
	}
}

/* A write to the BAR at @off; lock held. */
static void virtio_bar_write_locked(struct virtio_dev *vdev, uint64_t off,
				    const void *data, unsigned int size)
{
	if (off < VIRTIO_ISR_OFF) {
		virtio_common_write(vdev, off, data, size);
	} else if (off < VIRTIO_DEVICE_OFF) {
		/* The ISR is read-only. */
	} else if (off < VIRTIO_NOTIFY_OFF) {
		uint64_t o = off - VIRTIO_DEVICE_OFF;

		if (vdev->ops->config_write && o + size <= vdev->config_len)
			vdev->ops->config_write(vdev, o, data, size);
	} else {
		virtio_notify(vdev, off - VIRTIO_NOTIFY_OFF);
	}
}

static void virtio_bar_read(void *opaque, uint64_t off, void *data,
			    unsigned int size)
{
	struct virtio_dev *vdev = opaque;

	pthread_mutex_lock(&vdev->pci.lock);
	virtio_bar_read_locked(vdev, off, data, size);
	pthread_mutex_unlock(&vdev->pci.lock);
}

static void virtio_bar_write(void *opaque, uint64_t off, const void *data,
			     unsigned int size)
{
	struct virtio_dev *vdev = opaque;

	pthread_mutex_lock(&vdev->pci.lock);
	virtio_bar_write_locked(vdev, off, data, size);
	pthread_mutex_unlock(&vdev->pci.lock);
}

/*
 * VIRTIO_PCI_CAP_PCI_CFG: the BAR reached through configuration space
 * (virtio 1.1, 4.1.4.7), for drivers that run before BARs are mapped.
 * The driver sets bar, offset and length in the capability, then
 * accesses pci_cfg_data with that length.  @c is the capability's offset.
 */
static bool virtio_cfg_window(struct virtio_dev *vdev, uint64_t *off,
			      unsigned int *len)
{
	const uint8_t *cfg = vdev->pci.cfg + vdev->pci.hook_off - 16;

	*off = get32(cfg + 8);
	*len = get32(cfg + 12);
	/* Not set up (as after reset): reads 0, lspci -xxx stays quiet. */
	if (!*len)
		return false;
	if (cfg[4] != VIRTIO_BAR || (*len != 1 && *len != 2 && *len != 4) ||
	    *off % *len || *off + *len > VIRTIO_BAR_SIZE) {
		machine_log_guest_error(vdev->m, vdev->name,
					"PCI_CFG window: BAR %u offset %#llx length %u refused",
					cfg[4], (unsigned long long)*off, *len);
		return false;
	}
	return true;
}

static void virtio_cfg_hook_read(struct pci_dev *dev, unsigned int off,
				 void *data, unsigned int size)
{
	struct virtio_dev *vdev = (struct virtio_dev *)dev;
	uint8_t buf[4] = { 0 };
	unsigned int len;
	uint64_t bar_off;

	if (virtio_cfg_window(vdev, &bar_off, &len))
		virtio_bar_read_locked(vdev, bar_off, buf, len);
	memcpy(data, buf + off, size);
}

static void virtio_cfg_hook_write(struct pci_dev *dev, unsigned int off,
				  const void *data, unsigned int size)
{
	struct virtio_dev *vdev = (struct virtio_dev *)dev;
	uint8_t buf[4] = { 0 };
	unsigned int len;
	uint64_t bar_off;

	if (!virtio_cfg_window(vdev, &bar_off, &len))
		return;
	/* The write carries the window's bytes from its start. */
	if (off != 0 || size != len) {
		machine_log_guest_error(vdev->m, vdev->name,
					"PCI_CFG window: a %u-byte write at +%u for a %u-byte window: ignored",
					size, off, len);
		return;
	}
	memcpy(buf, data, size);
	virtio_bar_write_locked(vdev, bar_off, buf, len);
}

static const struct io_ops virtio_bar_ops = {
	.read = virtio_bar_read,
	.write = virtio_bar_write,
};

/* A struct virtio_pci_cap (16 bytes, or 20 for notify) into config space. */
static void virtio_add_cap(struct virtio_dev *vdev, uint8_t type,
			   uint32_t offset, uint32_t length)
{
	unsigned int len = type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 20 : 16;
	unsigned int c = pci_add_cap(&vdev->pci, PCI_CAP_ID_VNDR, len);
	uint8_t *cfg = vdev->pci.cfg;

	cfg[c + 2] = len;
	cfg[c + 3] = type;
	cfg[c + 4] = VIRTIO_BAR;
	put32(cfg + c + 8, offset);
	put32(cfg + c + 12, length);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		put32(cfg + c + 16, VIRTIO_NOTIFY_MULT);
}

/* The PCI_CFG capability: bar, offset and length writable, data hooked. */
static void virtio_add_cfg_cap(struct virtio_dev *vdev)
{
	unsigned int c = pci_add_cap(&vdev->pci, PCI_CAP_ID_VNDR, 20);
	uint8_t *cfg = vdev->pci.cfg;

	cfg[c + 2] = 20;
	cfg[c + 3] = VIRTIO_PCI_CAP_PCI_CFG;
	vdev->pci.wmask[c + 4] = 0xff;
	memset(vdev->pci.wmask + c + 8, 0xff, 8);
	vdev->pci.hook_off = c + 16;
	vdev->pci.hook_len = 4;
	vdev->pci.hook_read = virtio_cfg_hook_read;
	vdev->pci.hook_write = virtio_cfg_hook_write;
}

/* virtio_pci_init - see virtio.h. */
int virtio_pci_init(struct virtio_dev *vdev, struct machine *m,
		    struct pci_bus *bus, const char *name, uint16_t type,
		    uint32_t class_code, unsigned int nr_queues,
		    uint16_t qsize, uint64_t features, void *config,
		    unsigned int config_len, const struct virtio_dev_ops *ops)
{
	if (nr_queues > VIRTIO_MAX_QUEUES || qsize > VIRTQ_MAX_SIZE ||
	    config_len > VIRTIO_REGION_SIZE) {
		fprintf(stderr, "%s: %u queues of %u entries: too many\n",
			name, nr_queues, qsize);
		return -EINVAL;
	}
	vdev->m = m;
	vdev->name = name;
	vdev->ops = ops;
	vdev->host_features = features | 1ULL << VIRTIO_F_VERSION_1 |
			      1ULL << VIRTIO_F_INDIRECT_DESC |
			      1ULL << VIRTIO_F_EVENT_IDX;
	vdev->nr_queues = nr_queues;
	vdev->config = config;
	vdev->config_len = config_len;
	for (unsigned int i = 0; i < nr_queues; i++) {
		vdev->vqs[i].vdev = vdev;
		vdev->vqs[i].index = i;
		vdev->vqs[i].max_size = qsize;
	}
	pci_dev_init(&vdev->pci, m, name);
	virtio_reset_done(vdev);
	pci_set_ids(&vdev->pci, VIRTIO_PCI_VENDOR,
		    VIRTIO_PCI_DEVICE_BASE + type, 1, class_code,
		    VIRTIO_PCI_VENDOR, 0x40);
	pci_set_bar(&vdev->pci, VIRTIO_BAR, VIRTIO_BAR_SIZE, false,
		    &virtio_bar_ops, vdev);
	virtio_add_cap(vdev, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_COMMON_OFF,
		       CC_SIZE);
	virtio_add_cap(vdev, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_NOTIFY_OFF,
		       VIRTIO_REGION_SIZE);
	virtio_add_cap(vdev, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_ISR_OFF, 1);
	if (config_len)
		virtio_add_cap(vdev, VIRTIO_PCI_CAP_DEVICE_CFG,
			       VIRTIO_DEVICE_OFF, config_len);
	virtio_add_cfg_cap(vdev);
	pci_msix_init(&vdev->pci, nr_queues + 1, VIRTIO_MSIX_BAR);
	return pci_dev_add(bus, &vdev->pci);
}
