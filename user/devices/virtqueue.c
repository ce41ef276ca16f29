// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueues (virtio 1.1, 2.6), device side.  Every value in the
 * rings belongs to the guest and may change under us while we look (its
 * vCPUs run on other host CPUs): each is loaded once into a local, then
 * checked — indices against the queue size, buffers against guest RAM
 * through machine_gpa(), chain lengths against the queue size so a loop
 * ends, indirect tables for size and nesting, readable before writable.
 * A bad chain is logged and given back empty; a ring that cannot be
 * trusted any more marks the device as needing a reset.  Nothing here
 * asserts on the guest.
 */
#include <errno.h>
#include <string.h>

#include "virtio.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "virtio 1.x rings are little-endian: a big-endian host needs swaps");

#define LOAD16(p)	__atomic_load_n((p), __ATOMIC_RELAXED)

static void vq_log(struct virtqueue *vq, const char *what, unsigned int head)
{
	machine_log_guest_error(vq->vdev->m, vq->vdev->name,
				"queue %u, chain %u: %s: chain refused",
				vq->index, head, what);
}

/* vq_reset - the queue's registers as after a device reset. */
void vq_reset(struct virtqueue *vq)
{
	vq->size = vq->max_size;
	vq->ready = false;
	vq->msix_vector = VIRTIO_MSI_NO_VECTOR;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->desc = NULL;
	vq->avail = vq->used = NULL;
	vq->last_avail = vq->used_idx = vq->signalled_used = 0;
}

/* vq_enable - map the rings (see virtio.h). */
int vq_enable(struct virtqueue *vq)
{
	struct virtio_dev *vdev = vq->vdev;
	uint16_t n = vq->size;

	if (!n || (n & (n - 1)) || n > vq->max_size) {
		machine_log_guest_error(vdev->m, vdev->name,
					"queue %u: size %u is not a power of two up to %u",
					vq->index, n, vq->max_size);
		return -EINVAL;
	}
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) ||
	    (vq->used_gpa & 3)) {
		machine_log_guest_error(vdev->m, vdev->name,
					"queue %u: misaligned rings (%#llx %#llx %#llx)",
					vq->index,
					(unsigned long long)vq->desc_gpa,
					(unsigned long long)vq->avail_gpa,
					(unsigned long long)vq->used_gpa);
		return -EINVAL;
	}
	vq->desc = machine_gpa(vdev->m, vq->desc_gpa, 16ULL * n);
	vq->avail = machine_gpa(vdev->m, vq->avail_gpa, 6 + 2ULL * n);
	vq->used = machine_gpa(vdev->m, vq->used_gpa, 6 + 8ULL * n);
	if (!vq->desc || !vq->avail || !vq->used) {
		machine_log_guest_error(vdev->m, vdev->name,
					"queue %u: a ring is outside RAM (%#llx %#llx %#llx)",
					vq->index,
					(unsigned long long)vq->desc_gpa,
					(unsigned long long)vq->avail_gpa,
					(unsigned long long)vq->used_gpa);
		vq->desc = NULL;
		vq->avail = vq->used = NULL;
		return -EINVAL;
	}
	vq->last_avail = vq->used_idx = vq->signalled_used = 0;
	return 0;
}

/*
 * Descriptor @idx of @table, copied once: the guest may rewrite it while
 * we look, and an indirect table need not be aligned.  The barrier keeps
 * the compiler from reading the guest's copy again instead of ours.
 */
static void vq_load_desc(const void *table, unsigned int idx,
			 struct vring_desc *d)
{
	memcpy(d, (const uint8_t *)table + 16 * idx, sizeof(*d));
	__asm__ __volatile__("" : : : "memory");
}

/*
 * Walk the chain at @head into @c.  Returns NULL, or what is wrong with
 * it.  At most vq->size descriptors in the ring and as many as the
 * indirect table holds there, so a loop in either table ends.
 */
static const char *vq_walk(struct virtqueue *vq, uint16_t head,
			   struct vq_chain *c)
{
	struct virtio_dev *vdev = vq->vdev;
	const void *table = vq->desc;
	unsigned int tsize = vq->size, left = vq->size, n = 0;
	bool indirect = false;
	unsigned int idx = head;
	struct vring_desc d;

	c->head = head;
	c->out_num = c->in_num = 0;
	c->out_len = c->in_len = 0;
	for (;;) {
		if (idx >= tsize)
			return "next index out of range";
		if (!left--)
			return "longer than the queue (a loop?)";
		vq_load_desc(table, idx, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect)
				return "indirect descriptor in an indirect table";
			if (!virtio_has_feature(vdev, VIRTIO_F_INDIRECT_DESC))
				return "indirect descriptor not negotiated";
			if (d.flags & VRING_DESC_F_NEXT)
				return "indirect descriptor with NEXT";
			if (!d.len || d.len % sizeof(d))
				return "indirect table size not a multiple of 16";
			if (d.len / sizeof(d) > vq->size)
				return "indirect table longer than the queue";
			table = machine_gpa(vdev->m, d.addr, d.len);
			if (!table)
				return "indirect table outside RAM";
			tsize = d.len / sizeof(d);
			/* Its own bound: the table may be as long as the queue. */
			left = tsize;
			indirect = true;
			idx = 0;
			continue;
		}
		if (d.len) {
			void *p = machine_gpa(vdev->m, d.addr, d.len);

			if (!p)
				return "buffer outside RAM";
			if (n >= VIRTQ_MAX_SIZE)
				return "too many buffers";
			if (d.flags & VRING_DESC_F_WRITE) {
				c->in_num++;
				c->in_len += d.len;
			} else {
				if (c->in_num)
					return "readable buffer after a writable one";
				c->out_num++;
				c->out_len += d.len;
			}
			c->iov[n].iov_base = p;
			c->iov[n].iov_len = d.len;
			n++;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return NULL;
		idx = d.next;
	}
}

/* Tell the driver where to kick next (EVENT_IDX), then look again. */
static bool vq_empty(struct virtqueue *vq, uint16_t *avail_idx)
{
	*avail_idx = __atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE);
	if (*avail_idx != vq->last_avail)
		return false;
	if (!virtio_has_feature(vq->vdev, VIRTIO_F_EVENT_IDX))
		return true;
	__atomic_store_n(&vq->used[2 + 4 * vq->size], vq->last_avail,
			 __ATOMIC_RELAXED);
	/* The avail_event store before the second look at avail idx. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*avail_idx = __atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE);
	return *avail_idx == vq->last_avail;
}

/* vq_pop - the next good chain (see virtio.h). */
int vq_pop(struct virtqueue *vq, struct vq_chain *c)
{
	struct virtio_dev *vdev = vq->vdev;
	uint16_t avail_idx, head;
	const char *why;

	for (;;) {
		if (!vq->ready || (vdev->status & VIRTIO_STATUS_NEEDS_RESET) ||
		    vdev->resetting)
			return 0;
		if (vq_empty(vq, &avail_idx))
			return 0;
		if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
			virtio_set_broken(vdev, "queue %u: avail index jumped from %u to %u (size %u)",
					  vq->index, vq->last_avail, avail_idx,
					  vq->size);
			return -EIO;
		}
		head = LOAD16(&vq->avail[2 + vq->last_avail % vq->size]);
		vq->last_avail++;
		if (head >= vq->size) {
			virtio_set_broken(vdev, "queue %u: avail ring names descriptor %u (size %u)",
					  vq->index, head, vq->size);
			return -EIO;
		}
		why = vq_walk(vq, head, c);
		if (!why)
			return 1;
		vq_log(vq, why, head);
		vq_push(vq, head, 0);
	}
}

/* vq_push - put @head on the used ring (see virtio.h). */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e;

	if (!vq->ready)
		return;
	e = (struct vring_used_elem *)&vq->used[2] +
	    vq->used_idx % vq->size;
	__atomic_store_n(&e->id, head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
	vq->used_idx++;
	/* The element (and the buffers' data) before the index. */
	__atomic_store_n(&vq->used[1], vq->used_idx, __ATOMIC_RELEASE);
}

/* vq_notify - interrupt if the driver asked to hear (see virtio.h). */
void vq_notify(struct virtqueue *vq)
{
	uint16_t old = vq->signalled_used, new = vq->used_idx;
	bool need;

	if (!vq->ready || old == new)
		return;
	/* The used index store before reading what the driver wants. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (virtio_has_feature(vq->vdev, VIRTIO_F_EVENT_IDX)) {
		uint16_t event = LOAD16(&vq->avail[2 + vq->size]);

		/* vring_need_event(): did new pass event since old? */
		need = (uint16_t)(new - event - 1) < (uint16_t)(new - old);
	} else {
		need = !(LOAD16(&vq->avail[0]) & VRING_AVAIL_F_NO_INTERRUPT);
	}
	vq->signalled_used = new;
	if (need)
		virtio_vq_interrupt(vq);
}

/* iov_to_buf - copy up to @len bytes from @skip of @iov; returns bytes. */
size_t iov_to_buf(const struct iovec *iov, unsigned int cnt, size_t skip,
		  void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < cnt && done < len; i++) {
		size_t n;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - skip;
		if (n > len - done)
			n = len - done;
		memcpy((char *)buf + done, (char *)iov[i].iov_base + skip, n);
		done += n;
		skip = 0;
	}
	return done;
}

/* iov_from_buf - copy up to @len bytes to @skip of @iov; returns bytes. */
size_t iov_from_buf(const struct iovec *iov, unsigned int cnt, size_t skip,
		    const void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < cnt && done < len; i++) {
		size_t n;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - skip;
		if (n > len - done)
			n = len - done;
		memcpy((char *)iov[i].iov_base + skip, (const char *)buf + done,
		       n);
		done += n;
		skip = 0;
	}
	return done;
}

/* iov_slice - see virtio.h; @out has room for @cnt entries. */
unsigned int iov_slice(const struct iovec *iov, unsigned int cnt,
		       size_t skip, size_t len, struct iovec *out)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < cnt && len; i++) {
		size_t l;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		l = iov[i].iov_len - skip;
		if (l > len)
			l = len;
		out[n].iov_base = (char *)iov[i].iov_base + skip;
		out[n].iov_len = l;
		n++;
		len -= l;
		skip = 0;
	}
	return n;
}
