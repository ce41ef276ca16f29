// SPDX-License-Identifier: GPL-2.0
/*
 * acpi_pm - the ACPI fixed hardware the FADT points at (ACPI 6.3, 4.8):
 * PM1a event block at 0x600 (status, enable), PM1a control at 0x604
 * (SLP_TYP/SLP_EN: S5 powers the machine off), the 24-bit PM timer at
 * 0x608 counting at 3.579545 MHz, and the reset register at 0xcf9.
 *
 * There is no SMI command port, so the machine is in ACPI mode from the
 * start: SCI_EN reads 1 and cannot be cleared.  The SCI (IRQ 9, level)
 * follows PM1 status & enable.  TMR_STS is not modelled (the timer's
 * bit-23 carry would need a host timer; Linux reads the timer as a
 * clocksource and never enables the interrupt); nothing else in the
 * machine sets a status bit yet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices.h"
#include "../machine.h"

#define PM_BASE		0x600
#define PM_LEN		12
#define PM1_STS		0	/* 16 bits, write 1 to clear */
#define PM1_EN		2	/* 16 bits */
#define PM1_CNT		4	/* 16 bits */
#define PM_TMR		8	/* 32 bits, 24 counting */
#define RESET_PORT	0xcf9
#define SCI_IRQ		9

#define PM_TMR_HZ	3579545ULL
#define PM_TMR_MASK	0x00ffffffu

#define STS_TMR		(1u << 0)
#define STS_BM		(1u << 4)
#define STS_GBL		(1u << 5)
#define STS_PWRBTN	(1u << 8)
#define STS_SLPBTN	(1u << 9)
#define STS_RTC		(1u << 10)
#define STS_WAK		(1u << 15)
#define EN_MASK		(STS_TMR | STS_GBL | STS_PWRBTN | STS_SLPBTN | STS_RTC)

#define CNT_SCI_EN	(1u << 0)
#define CNT_SLP_TYP(v)	(((v) >> 10) & 7)
#define CNT_SLP_EN	(1u << 13)
#define CNT_MASK	0x1c07	/* SCI_EN, BM_RLD, GBL_RLS, SLP_TYP */

/* dsdt.asl's \_S5 package. */
#define SLP_TYP_S5	5

#define RST_CPU		(1u << 2)	/* 0xcf9: the 0->1 edge resets */

struct acpi_pm {
	struct machine *m;
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	uint8_t reset;
	int sci_level;
};

static uint32_t pm_timer(void)
{
	struct timespec ts;
	uint64_t ticks;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* Split so that the product cannot overflow 64 bits. */
	ticks = (uint64_t)ts.tv_sec * PM_TMR_HZ +
		(uint64_t)ts.tv_nsec * PM_TMR_HZ / 1000000000ULL;
	return ticks & PM_TMR_MASK;
}

static void pm_update_sci(struct acpi_pm *pm)
{
	int level = !!(pm->sts & pm->en & EN_MASK);

	if (level != pm->sci_level) {
		pm->sci_level = level;
		machine_irq_line(pm->m, SCI_IRQ, level);
	}
}

/* The register file as little-endian bytes, for any access width. */
static void pm_read(void *dev, uint64_t off, void *data, unsigned int size)
{
	struct acpi_pm *pm = dev;
	uint8_t regs[PM_LEN] = { 0 };
	uint32_t tmr = pm_timer();
	unsigned int i;

	pthread_mutex_lock(&pm->lock);
	regs[PM1_STS] = pm->sts;
	regs[PM1_STS + 1] = pm->sts >> 8;
	regs[PM1_EN] = pm->en;
	regs[PM1_EN + 1] = pm->en >> 8;
	regs[PM1_CNT] = pm->cnt;
	regs[PM1_CNT + 1] = pm->cnt >> 8;
	pthread_mutex_unlock(&pm->lock);
	memcpy(&regs[PM_TMR], &tmr, 4);
	for (i = 0; i < size; i++)
		((uint8_t *)data)[i] = off + i < PM_LEN ? regs[off + i] : 0xff;
}

static void pm_sleep(struct acpi_pm *pm, unsigned int type)
{
	if (type == SLP_TYP_S5) {
		machine_request_stop(pm->m, MACHINE_POWEROFF);
		return;
	}
	machine_log_guest_error(pm->m, "acpi_pm",
				"sleep type %u requested; only S5 (%u) exists",
				type, SLP_TYP_S5);
}

static void pm_write(void *dev, uint64_t off, const void *data,
		     unsigned int size)
{
	struct acpi_pm *pm = dev;
	const uint8_t *p = data;
	uint16_t sts_clear = 0, en = 0, cnt = 0;
	bool en_hit = false, cnt_hit = false;
	unsigned int i, slp = 0;
	bool sleep = false;

	pthread_mutex_lock(&pm->lock);
	en = pm->en;
	cnt = pm->cnt;
	for (i = 0; i < size && off + i < PM_LEN; i++) {
		unsigned int at = off + i, shift = (at & 1) * 8;
		uint16_t byte_mask = 0xff << shift, v = p[i] << shift;

		switch (at & ~1u) {
		case PM1_STS:
			sts_clear |= v;
			break;
		case PM1_EN:
			en = (en & ~byte_mask) | v;
			en_hit = true;
			break;
		case PM1_CNT:
			cnt = (cnt & ~byte_mask) | v;
			cnt_hit = true;
			break;
		default:
			break;	/* the timer is read-only */
		}
	}
	pm->sts &= ~sts_clear;
	if (en_hit)
		pm->en = en & EN_MASK;
	if (cnt_hit) {
		sleep = cnt & CNT_SLP_EN;
		slp = CNT_SLP_TYP(cnt);
		pm->cnt = (cnt & CNT_MASK) | CNT_SCI_EN;
	}
	pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (sleep)
		pm_sleep(pm, slp);
}

static const struct io_ops pm_ops = {
	.read = pm_read,	/* vCPU threads */
	.write = pm_write,
};

static void reset_read(void *dev, uint64_t off, void *data, unsigned int size)
{
	struct acpi_pm *pm = dev;

	(void)off;
	memset(data, 0, size);
	*(uint8_t *)data = pm->reset;
}

/* The FADT's reset register; also Linux's reboot=pci method. */
static void reset_write(void *dev, uint64_t off, const void *data,
			unsigned int size)
{
	struct acpi_pm *pm = dev;
	uint8_t v = *(const uint8_t *)data;

	(void)off;
	(void)size;
	pthread_mutex_lock(&pm->lock);
	if ((v & RST_CPU) && !(pm->reset & RST_CPU)) {
		pthread_mutex_unlock(&pm->lock);
		machine_request_stop(pm->m, MACHINE_RESET);
		return;
	}
	pm->reset = v & ~RST_CPU;
	pthread_mutex_unlock(&pm->lock);
}

static const struct io_ops reset_ops = {
	.read = reset_read,
	.write = reset_write,
};

static void pm_stop(void *opaque)
{
	struct acpi_pm *pm = opaque;

	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

int acpi_pm_create(struct machine *m)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm) {
		fprintf(stderr, "vmm-run: acpi_pm: out of memory\n");
		return -ENOMEM;
	}
	pm->m = m;
	pm->cnt = CNT_SCI_EN;
	pthread_mutex_init(&pm->lock, NULL);
	ret = machine_pio_register(m, PM_BASE, PM_LEN, &pm_ops, pm, "ACPI PM");
	if (!ret)
		ret = machine_pio_register(m, RESET_PORT, 1, &reset_ops, pm,
					   "reset control");
	if (ret < 0) {
		fprintf(stderr, "vmm-run: acpi_pm: ports: %s\n",
			strerror(-ret));
		/* The PM region may be in: free pm at stop, not now. */
	}
	machine_at_stop(m, pm_stop, pm);
	return ret;
}
