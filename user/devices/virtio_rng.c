// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng (virtio 1.1, 5.4): one queue whose device-writable buffers
 * are filled from getrandom(), at once, on the vCPU that kicked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "devices.h"
#include "virtio.h"

/* Per chain: enough for any real driver, and a bound on a vCPU's stall. */
#define RNG_MAX_CHAIN	(64 * 1024)

struct virtio_rng {
	struct virtio_dev vdev;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

static uint32_t rng_fill(const struct iovec *iov, unsigned int cnt)
{
	uint32_t done = 0;

	for (unsigned int i = 0; i < cnt && done < RNG_MAX_CHAIN; i++) {
		size_t want = iov[i].iov_len, off = 0;

		if (want > RNG_MAX_CHAIN - done)
			want = RNG_MAX_CHAIN - done;
		while (off < want) {
			ssize_t n = getrandom((char *)iov[i].iov_base + off,
					      want - off, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return done + off;
			off += n;
		}
		done += off;
	}
	return done;
}

static void rng_notify(struct virtio_dev *vdev, struct virtqueue *vq)
{
	struct virtio_rng *rng = (struct virtio_rng *)vdev;
	struct vq_chain c = { .iov = rng->iov };

	while (vq_pop(vq, &c) == 1)
		vq_push(vq, c.head, rng_fill(c.iov + c.out_num, c.in_num));
	vq_notify(vq);
}

static const struct virtio_dev_ops rng_ops = {
	.notify = rng_notify,
};

/* virtio_rng_create - see devices.h.  Lives as long as the process. */
int virtio_rng_create(struct machine *m, struct pci_bus *bus)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));

	if (!rng) {
		fprintf(stderr, "virtio-rng: out of memory\n");
		return -ENOMEM;
	}
	/* Class 0xff0000: "unassigned", as other hypervisors give it. */
	return virtio_pci_init(&rng->vdev, m, bus, "virtio-rng", VIRTIO_ID_RNG,
			       0xff0000, 1, 64, 0, NULL, 0, &rng_ops);
}
