// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (virtio 1.1, 5.2) on the vdisk layer.  Zero-copy: the
 * guest's buffers are the iovecs of vdisk requests, which io_uring
 * serves asynchronously; completions come back on the I/O thread
 * (vdisk_event_fd), which writes the status byte, puts the chain on the
 * used ring and interrupts.  One queue.
 *
 * A request the disk cannot serve (out of range, not whole sectors, a
 * write to a read-only disk) ends with VIRTIO_BLK_S_IOERR; an unknown
 * type with VIRTIO_BLK_S_UNSUPP.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "vdisk.h"
#include "virtio.h"

#define VIRTIO_BLK_F_SEG_MAX		2
#define VIRTIO_BLK_F_RO			5
#define VIRTIO_BLK_F_BLK_SIZE		6
#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_BLK_F_DISCARD		13
#define VIRTIO_BLK_F_WRITE_ZEROES	14

#define VIRTIO_BLK_T_IN			0
#define VIRTIO_BLK_T_OUT		1
#define VIRTIO_BLK_T_FLUSH		4
#define VIRTIO_BLK_T_GET_ID		8
#define VIRTIO_BLK_T_DISCARD		11
#define VIRTIO_BLK_T_WRITE_ZEROES	13

#define VIRTIO_BLK_S_OK			0
#define VIRTIO_BLK_S_IOERR		1
#define VIRTIO_BLK_S_UNSUPP		2

#define VIRTIO_BLK_ID_BYTES		20
#define BLK_QUEUE_SIZE			256
/* Per discard/write-zeroes segment: 1 GiB, one segment per request. */
#define BLK_MAX_ZERO_SECTORS		(1u << 21)

/* struct virtio_blk_config offsets */
#define BC_CAPACITY			0
#define BC_SEG_MAX			12
#define BC_BLK_SIZE			20
#define BC_MAX_DISCARD_SECTORS		36
#define BC_MAX_DISCARD_SEG		40
#define BC_DISCARD_ALIGN		44
#define BC_MAX_WZ_SECTORS		48
#define BC_MAX_WZ_SEG			52
#define BC_SIZE				60

struct virtio_blk {
	struct virtio_dev vdev;
	struct machine *m;
	struct vdisk *disk;
	bool ro;
	uint64_t sectors;
	char serial[VIRTIO_BLK_ID_BYTES];
	char name[64];
	uint8_t config[BC_SIZE];
	struct iovec iov[VIRTQ_MAX_SIZE];
};

struct blk_req {
	struct vdisk_req vreq;
	struct virtio_blk *blk;
	unsigned int gen;
	uint16_t head;
	uint8_t *status;
	uint32_t used_len;
	struct iovec iov[];
};

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_zero_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

static void blk_done(struct vdisk_req *vreq, int res)
{
	struct blk_req *r = (struct blk_req *)vreq;
	struct virtio_blk *blk = r->blk;

	/* After a reset the ring is gone: the request just ends. */
	if (r->gen == blk->vdev.reset_gen) {
		*r->status = res ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		vq_push(&blk->vdev.vqs[0], r->head, r->used_len);
	}
	free(r);
	virtio_request_done(&blk->vdev);
}

/* Is [sector, +len bytes) inside the disk, in whole sectors? */
static bool blk_range_ok(struct virtio_blk *blk, uint64_t sector,
			 uint64_t len)
{
	return len % VDISK_SECTOR == 0 && sector <= blk->sectors &&
	       len / VDISK_SECTOR <= blk->sectors - sector;
}

static void blk_finish(struct virtqueue *vq, uint16_t head, uint8_t *status,
		       uint8_t val, uint32_t len)
{
	*status = val;
	vq_push(vq, head, len);
}

/*
 * Queue one vdisk request for chain @c; its data are @len bytes at @skip
 * of @iov (READ/WRITE).  Ends the chain at once when it cannot be queued.
 */
static void blk_submit(struct virtio_blk *blk, struct virtqueue *vq,
		       struct vq_chain *c, uint8_t *status, enum vdisk_op op,
		       uint64_t sector, const struct iovec *iov,
		       unsigned int cnt, size_t skip, uint64_t len,
		       uint32_t used_len)
{
	struct blk_req *r;
	int ret;

	if (!blk_range_ok(blk, sector, len)) {
		machine_log_guest_error(blk->m, blk->name,
					"request at sector %llu, %llu bytes: outside the disk or not whole sectors",
					(unsigned long long)sector,
					(unsigned long long)len);
		blk_finish(vq, c->head, status, VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	r = calloc(1, sizeof(*r) + cnt * sizeof(struct iovec));
	if (!r) {
		blk_finish(vq, c->head, status, VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	r->blk = blk;
	r->gen = blk->vdev.reset_gen;
	r->head = c->head;
	r->status = status;
	r->used_len = used_len;
	r->vreq.op = op;
	r->vreq.offset = sector * VDISK_SECTOR;
	r->vreq.len = len;
	if (op == VDISK_READ || op == VDISK_WRITE) {
		r->vreq.iov = r->iov;
		r->vreq.iovcnt = iov_slice(iov, cnt, skip, len, r->iov);
	}
	r->vreq.done = blk_done;
	r->vreq.opaque = r;
	ret = vdisk_submit(blk->disk, &r->vreq);
	if (ret) {
		if (ret != -EROFS)
			machine_log_guest_error(blk->m, blk->name,
						"request refused by the disk: %s",
						strerror(-ret));
		free(r);
		blk_finish(vq, c->head, status, VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	blk->vdev.inflight++;
}

static void blk_zeroes(struct virtio_blk *blk, struct virtqueue *vq,
		       struct vq_chain *c, uint8_t *status, uint32_t type)
{
	unsigned int feature = type == VIRTIO_BLK_T_DISCARD ?
			       VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES;
	struct blk_zero_seg seg;

	if (!virtio_has_feature(&blk->vdev, feature)) {
		blk_finish(vq, c->head, status, VIRTIO_BLK_S_UNSUPP, 1);
		return;
	}
	/* We said one segment per request. */
	if (c->out_len != sizeof(struct blk_hdr) + sizeof(seg) ||
	    iov_to_buf(c->iov, c->out_num, sizeof(struct blk_hdr), &seg,
		       sizeof(seg)) != sizeof(seg) ||
	    seg.num_sectors > BLK_MAX_ZERO_SECTORS) {
		machine_log_guest_error(blk->m, blk->name,
					"discard/write-zeroes: not one segment of at most %u sectors",
					BLK_MAX_ZERO_SECTORS);
		blk_finish(vq, c->head, status, VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	blk_submit(blk, vq, c, status, type == VIRTIO_BLK_T_DISCARD ?
		   VDISK_DISCARD : VDISK_WRITE_ZEROES, seg.sector, NULL, 0, 0,
		   (uint64_t)seg.num_sectors * VDISK_SECTOR, 1);
}

static void blk_handle(struct virtio_blk *blk, struct virtqueue *vq,
		       struct vq_chain *c)
{
	struct iovec *in = c->iov + c->out_num;
	struct blk_hdr hdr;
	uint8_t *status;
	size_t n;

	if (c->out_len < sizeof(hdr) || !c->in_num) {
		machine_log_guest_error(blk->m, blk->name,
					"chain %u: no request header or no status byte",
					c->head);
		vq_push(vq, c->head, 0);
		return;
	}
	iov_to_buf(c->iov, c->out_num, 0, &hdr, sizeof(hdr));
	status = (uint8_t *)in[c->in_num - 1].iov_base +
		 in[c->in_num - 1].iov_len - 1;

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
		blk_submit(blk, vq, c, status, VDISK_READ, hdr.sector, in,
			   c->in_num, 0, c->in_len - 1, c->in_len);
		break;
	case VIRTIO_BLK_T_OUT:
		if (blk->ro) {
			blk_finish(vq, c->head, status, VIRTIO_BLK_S_IOERR, 1);
			break;
		}
		blk_submit(blk, vq, c, status, VDISK_WRITE, hdr.sector,
			   c->iov, c->out_num, sizeof(hdr),
			   c->out_len - sizeof(hdr), 1);
		break;
	case VIRTIO_BLK_T_FLUSH:
		blk_submit(blk, vq, c, status, VDISK_FLUSH, 0, NULL, 0, 0, 0,
			   1);
		break;
	case VIRTIO_BLK_T_GET_ID:
		n = c->in_len - 1;
		if (n > VIRTIO_BLK_ID_BYTES)
			n = VIRTIO_BLK_ID_BYTES;
		n = iov_from_buf(in, c->in_num, 0, blk->serial, n);
		blk_finish(vq, c->head, status, VIRTIO_BLK_S_OK, n + 1);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		blk_zeroes(blk, vq, c, status, hdr.type);
		break;
	default:
		blk_finish(vq, c->head, status, VIRTIO_BLK_S_UNSUPP, 1);
		break;
	}
}

static void blk_notify(struct virtio_dev *vdev, struct virtqueue *vq)
{
	struct virtio_blk *blk = (struct virtio_blk *)vdev;
	struct vq_chain c = { .iov = blk->iov };

	if (!blk->disk)
		return;
	vdisk_plug(blk->disk);
	while (vq_pop(vq, &c) == 1)
		blk_handle(blk, vq, &c);
	vdisk_unplug(blk->disk);
	vq_notify(vq);
}

/* The I/O thread: completions are ready. */
static void blk_io(void *opaque)
{
	struct virtio_blk *blk = opaque;

	pthread_mutex_lock(&blk->vdev.pci.lock);
	if (blk->disk) {
		vdisk_poll(blk->disk, 0);
		vq_notify(&blk->vdev.vqs[0]);
	}
	pthread_mutex_unlock(&blk->vdev.pci.lock);
}

/* The machine stops: requests in flight end, then the disk is closed. */
static void blk_stop(void *opaque)
{
	struct virtio_blk *blk = opaque;
	int ret;

	pthread_mutex_lock(&blk->vdev.pci.lock);
	while (blk->vdev.inflight) {
		ret = vdisk_poll(blk->disk, 1);
		if (ret < 0 && ret != -EINTR) {
			fprintf(stderr, "%s: waiting for requests: %s\n",
				blk->name, strerror(-ret));
			break;
		}
	}
	if (!blk->ro) {
		ret = vdisk_flush(blk->disk);
		if (ret)
			fprintf(stderr, "%s: flush: %s\n", blk->name,
				strerror(-ret));
	}
	ret = vdisk_close(blk->disk);
	if (ret)
		fprintf(stderr, "%s: close: %s\n", blk->name, strerror(-ret));
	blk->disk = NULL;
	pthread_mutex_unlock(&blk->vdev.pci.lock);
}

static const struct virtio_dev_ops blk_ops = {
	.notify = blk_notify,
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/*
 * virtio_blk_create - a virtio-blk PCI device serving @disk (devices.h).
 * The device owns @disk from here on and closes it when the machine
 * stops.  @name names it in messages and is its serial (GET_ID).
 */
int virtio_blk_create(struct machine *m, struct pci_bus *bus,
		      struct vdisk *disk, const char *name)
{
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	struct vdisk_info info;
	uint64_t features;
	int ret;

	if (!blk) {
		fprintf(stderr, "%s: out of memory\n", name);
		return -ENOMEM;
	}
	ret = vdisk_get_info(disk, &info);
	if (ret) {
		fprintf(stderr, "%s: %s\n", name, strerror(-ret));
		free(blk);
		return ret;
	}
	blk->m = m;
	blk->disk = disk;
	blk->sectors = info.size / VDISK_SECTOR;
	/* An empty write says whether the disk was opened read-only. */
	blk->ro = vdisk_pwrite(disk, NULL, 0, 0) == -EROFS;
	snprintf(blk->name, sizeof(blk->name), "virtio-blk %s", name);
	/* GET_ID: up to 20 bytes, NUL-padded, not necessarily terminated. */
	memcpy(blk->serial, name, strnlen(name, sizeof(blk->serial)));

	memcpy(blk->config + BC_CAPACITY, &blk->sectors, 8);
	put32(blk->config + BC_SEG_MAX, BLK_QUEUE_SIZE - 2);
	put32(blk->config + BC_BLK_SIZE, VDISK_SECTOR);
	put32(blk->config + BC_MAX_DISCARD_SECTORS, BLK_MAX_ZERO_SECTORS);
	put32(blk->config + BC_MAX_DISCARD_SEG, 1);
	put32(blk->config + BC_DISCARD_ALIGN, 8);
	put32(blk->config + BC_MAX_WZ_SECTORS, BLK_MAX_ZERO_SECTORS);
	put32(blk->config + BC_MAX_WZ_SEG, 1);

	features = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
		   1ULL << VIRTIO_BLK_F_FLUSH;
	if (blk->ro)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		features |= 1ULL << VIRTIO_BLK_F_DISCARD |
			    1ULL << VIRTIO_BLK_F_WRITE_ZEROES;

	ret = virtio_pci_init(&blk->vdev, m, bus, blk->name, VIRTIO_ID_BLOCK,
			      0x018000, 1, BLK_QUEUE_SIZE, features,
			      blk->config, BC_SIZE, &blk_ops);
	if (!ret)
		ret = machine_watch_fd(m, vdisk_event_fd(disk), blk_io, blk);
	if (!ret)
		ret = machine_at_stop(m, blk_stop, blk);
	if (ret) {
		fprintf(stderr, "%s: cannot attach: %s\n", blk->name,
			strerror(-ret));
		return ret;
	}
	return 0;
}
