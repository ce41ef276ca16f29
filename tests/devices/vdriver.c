// SPDX-License-Identifier: GPL-2.0
/* The tests' virtio-pci driver (see vdriver.h). */
#include <string.h>

#include "dev_util.h"
#include "vdriver.h"

#define CC(off)		(d->common + (off))

uint64_t vd_alloc(struct vdrv *d, uint64_t len)
{
	uint64_t gpa = (d->heap + 15) & ~15ULL;

	d->heap = gpa + len;
	memset(d->m->ram + gpa, 0, len);
	return gpa;
}

void *vd_ptr(struct vdrv *d, uint64_t gpa)
{
	return d->m->ram + gpa;
}

int vd_probe(struct vdrv *d, struct machine *m, unsigned int slot)
{
	unsigned int p = 0;
	uint64_t bar;

	memset(d, 0, sizeof(*d));
	d->m = m;
	d->slot = slot;
	d->heap = 1 << 20;
	if ((cfg_read(m, slot, 0, 2)) != VIRTIO_PCI_VENDOR)
		return -1;
	while ((p = cfg_find_cap(m, slot, PCI_CAP_ID_VNDR, p))) {
		unsigned int type = cfg_read(m, slot, p + 3, 1);
		unsigned int b = cfg_read(m, slot, p + 4, 1);
		uint64_t off = cfg_read(m, slot, p + 8, 4);

		bar = cfg_read(m, slot, 0x10 + 4 * b, 4) & ~15ULL;
		switch (type) {
		case 1:
			d->common = bar + off;
			break;
		case 2:
			d->notify = bar + off;
			d->notify_mult = cfg_read(m, slot, p + 16, 4);
			break;
		case 3:
			d->isr = bar + off;
			break;
		case 4:
			d->device = bar + off;
			break;
		}
	}
	p = cfg_find_cap(m, slot, PCI_CAP_ID_MSIX, 0);
	if (p) {
		uint32_t t = cfg_read(m, slot, p + 4, 4);

		d->msix_tbl = (cfg_read(m, slot, 0x10 + 4 * (t & 7), 4) &
			       ~15ULL) + (t & ~7u);
	}
	return d->common && d->notify && d->isr ? 0 : -1;
}

uint8_t vd_status(struct vdrv *d)
{
	return fake_mmio_read(d->m, CC(20), 1);
}

void vd_set_status(struct vdrv *d, uint8_t s)
{
	fake_mmio_write(d->m, CC(20), s, 1);
}

uint64_t vd_offered(struct vdrv *d)
{
	uint64_t f;

	fake_mmio_write(d->m, CC(0), 0, 4);
	f = fake_mmio_read(d->m, CC(4), 4);
	fake_mmio_write(d->m, CC(0), 1, 4);
	return f | fake_mmio_read(d->m, CC(4), 4) << 32;
}

int vd_init(struct vdrv *d, uint64_t want, unsigned int nr_q, bool msix)
{
	struct machine *m = d->m;
	uint64_t f;

	vd_set_status(d, 0);
	if (vd_status(d))
		return -1;
	vd_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	vd_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	f = vd_offered(d) & want;
	d->features = f;
	fake_mmio_write(m, CC(8), 0, 4);
	fake_mmio_write(m, CC(12), (uint32_t)f, 4);
	fake_mmio_write(m, CC(8), 1, 4);
	fake_mmio_write(m, CC(12), f >> 32, 4);
	vd_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		      VIRTIO_STATUS_FEATURES_OK);
	if (!(vd_status(d) & VIRTIO_STATUS_FEATURES_OK))
		return -2;
	d->use_msix = msix;
	if (msix) {
		unsigned int cap = cfg_find_cap(m, d->slot, PCI_CAP_ID_MSIX, 0);

		cfg_write(m, d->slot, cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
		for (unsigned int v = 0; v <= nr_q; v++) {
			fake_mmio_write(m, d->msix_tbl + 16 * v, 0xfee00000, 4);
			fake_mmio_write(m, d->msix_tbl + 16 * v + 4, 0, 4);
			fake_mmio_write(m, d->msix_tbl + 16 * v + 8, 0x30 + v, 4);
			fake_mmio_write(m, d->msix_tbl + 16 * v + 12, 0, 4);
		}
		fake_mmio_write(m, CC(16), 0, 2);
		if (fake_mmio_read(m, CC(16), 2) != 0)
			return -3;
	}
	if (fake_mmio_read(m, CC(18), 2) < nr_q)
		return -4;
	d->nr_q = nr_q;
	for (unsigned int i = 0; i < nr_q; i++) {
		struct vd_queue *q = &d->q[i];

		fake_mmio_write(m, CC(22), i, 2);
		q->size = fake_mmio_read(m, CC(24), 2);
		if (!q->size || fake_mmio_read(m, CC(28), 2))
			return -5;
		q->desc = vd_alloc(d, 16 * q->size);
		q->avail = vd_alloc(d, 6 + 2 * q->size);
		q->used = vd_alloc(d, 6 + 8 * q->size);
		q->avail_idx = q->last_used = q->next_desc = 0;
		fake_mmio_write(m, CC(32), q->desc, 4);
		fake_mmio_write(m, CC(36), q->desc >> 32, 4);
		fake_mmio_write(m, CC(40), q->avail, 4);
		fake_mmio_write(m, CC(44), q->avail >> 32, 4);
		fake_mmio_write(m, CC(48), q->used, 4);
		fake_mmio_write(m, CC(52), q->used >> 32, 4);
		if (msix) {
			fake_mmio_write(m, CC(26), i + 1, 2);
			if (fake_mmio_read(m, CC(26), 2) != i + 1)
				return -6;
		}
		fake_mmio_write(m, CC(28), 1, 2);
		if (fake_mmio_read(m, CC(28), 2) != 1)
			return -7;
	}
	vd_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		      VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	return 0;
}

struct vring_desc *vd_desc(struct vdrv *d, unsigned int q)
{
	return vd_ptr(d, d->q[q].desc);
}

uint16_t *vd_avail(struct vdrv *d, unsigned int q)
{
	return vd_ptr(d, d->q[q].avail);
}

static void vd_fill(struct vring_desc *t, unsigned int first, unsigned int mod,
		    const struct vd_buf *b, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct vring_desc *e = &t[(first + i) % mod];

		e->addr = b[i].gpa;
		e->len = b[i].len;
		e->flags = (b[i].write ? VRING_DESC_F_WRITE : 0) |
			   (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		e->next = (first + i + 1) % mod;
	}
}

uint16_t vd_add_chain(struct vdrv *d, unsigned int qi, const struct vd_buf *b,
		      unsigned int n)
{
	struct vd_queue *q = &d->q[qi];
	uint16_t head = q->next_desc;

	vd_fill(vd_desc(d, qi), head, q->size, b, n);
	q->next_desc = (head + n) % q->size;
	return head;
}

uint16_t vd_add_indirect(struct vdrv *d, unsigned int qi,
			 const struct vd_buf *b, unsigned int n)
{
	struct vd_queue *q = &d->q[qi];
	uint64_t tbl = vd_alloc(d, 16 * n);
	uint16_t head = q->next_desc;
	struct vring_desc *e = &vd_desc(d, qi)[head];

	vd_fill(vd_ptr(d, tbl), 0, n, b, n);
	e->addr = tbl;
	e->len = 16 * n;
	e->flags = VRING_DESC_F_INDIRECT;
	e->next = 0;
	q->next_desc = (head + 1) % q->size;
	return head;
}

void vd_publish(struct vdrv *d, unsigned int qi, uint16_t head)
{
	struct vd_queue *q = &d->q[qi];
	uint16_t *avail = vd_avail(d, qi);

	avail[2 + q->avail_idx % q->size] = head;
	q->avail_idx++;
	__atomic_store_n(&avail[1], q->avail_idx, __ATOMIC_RELEASE);
}

void vd_kick(struct vdrv *d, unsigned int qi)
{
	fake_mmio_write(d->m, d->notify + qi * d->notify_mult, qi, 2);
}

int vd_get_used(struct vdrv *d, unsigned int qi, uint32_t *id, uint32_t *len)
{
	struct vd_queue *q = &d->q[qi];
	uint16_t *used = vd_ptr(d, q->used);
	struct vring_used_elem *e;

	if (__atomic_load_n(&used[1], __ATOMIC_ACQUIRE) == q->last_used)
		return 0;
	e = (struct vring_used_elem *)&used[2] + q->last_used % q->size;
	*id = e->id;
	*len = e->len;
	q->last_used++;
	/* Ask for an interrupt at the next one (EVENT_IDX). */
	vd_avail(d, qi)[2 + q->size] = q->last_used;
	return 1;
}

uint64_t vd_read_cfg(struct vdrv *d, unsigned int off, unsigned int size)
{
	return fake_mmio_read(d->m, d->device + off, size);
}
