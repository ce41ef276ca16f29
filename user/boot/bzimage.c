// SPDX-License-Identifier: GPL-2.0
/*
 * bzImage loader: the Linux x86 boot protocol (the kernel's
 * Documentation/x86/boot.rst), 64-bit entry.  No real-mode setup code
 * runs: vmm-run is the boot loader and the firmware, so it fills
 * boot_params itself (setup header copied from the image, e820 map, the
 * RSDP address) and starts the vCPU in long mode at the protected-mode
 * part's 64-bit entry, as the protocol's "64-bit boot" section says.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <asm/bootparam.h>
#include <asm/e820.h>
#include <linux/vmm.h>

#include "boot.h"
#include "../machine.h"
#include "../vmm-run.h"

#define SETUP_HDR_OFFSET	0x1f1
#define SETUP_MAGIC		0x53726448	/* "HdrS" at 0x202 */
#define SETUP_MIN_VERSION	0x020c		/* xloadflags: boot.rst 2.12 */
#define ENTRY64_OFFSET		0x200		/* startup_64 in the loaded part */
#define GiB			(1ULL << 30)
#define MiB			(1ULL << 20)

#define E820_TYPE_RAM		1
#define E820_TYPE_RESERVED	2

/* Flat descriptors: 64-bit code (execute/read) and data (read/write). */
#define GDT_CODE64		0x00af9b000000ffffULL
#define GDT_DATA		0x00cf93000000ffffULL

#define PTE_P			(1ULL << 0)
#define PTE_RW			(1ULL << 1)
#define PTE_PS			(1ULL << 7)

#define CR0_PE			(1ULL << 0)
#define CR0_ET			(1ULL << 4)
#define CR0_NE			(1ULL << 5)
#define CR0_PG			(1ULL << 31)
#define CR4_PAE			(1ULL << 5)
#define EFER_LME		(1ULL << 8)
#define EFER_LMA		(1ULL << 10)

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

int bzimage_check(const uint8_t *buf, size_t len, char *why, size_t whylen)
{
	const struct setup_header *h;
	unsigned int setup_sects;

	if (len < 0x1000 || get32(buf + 0x202) != SETUP_MAGIC) {
		snprintf(why, whylen, "not a bzImage (no \"HdrS\" boot header)");
		return -1;
	}
	h = (const struct setup_header *)(buf + SETUP_HDR_OFFSET);
	if (h->version < SETUP_MIN_VERSION) {
		snprintf(why, whylen,
			 "boot protocol %u.%02u is too old (2.12 or later needed)",
			 h->version >> 8, h->version & 0xff);
		return -1;
	}
	if (!(h->loadflags & LOADED_HIGH)) {
		snprintf(why, whylen, "a zImage (loaded low), not a bzImage");
		return -1;
	}
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		snprintf(why, whylen,
			 "no 64-bit entry point (XLF_KERNEL_64): a 32-bit kernel?");
		return -1;
	}
	setup_sects = h->setup_sects ? h->setup_sects : 4;
	if ((setup_sects + 1) * 512ULL + ENTRY64_OFFSET >= len) {
		snprintf(why, whylen, "truncated (%zu bytes)", len);
		return -1;
	}
	return 0;
}

static void e820_add(struct boot_params *bp, uint64_t addr, uint64_t size,
		     uint32_t type)
{
	struct boot_e820_entry *e = &bp->e820_table[bp->e820_entries++];

	e->addr = addr;
	e->size = size;
	e->type = type;
}

/*
 * The map of user/machine.h: RAM below 640 KiB less an EBDA-sized
 * reserved piece (a PC's), the BIOS area with the ACPI tables reserved,
 * RAM from 1 MiB, the IOAPIC/LAPIC/firmware top of the 4 GiB space
 * reserved, RAM above 4 GiB.  The PCI window stays a hole.
 */
static void e820_build(struct boot_params *bp, uint64_t low, uint64_t high)
{
	e820_add(bp, 0, BOOT_EBDA, E820_TYPE_RAM);
	e820_add(bp, BOOT_EBDA, 0xa0000 - BOOT_EBDA, E820_TYPE_RESERVED);
	e820_add(bp, BOOT_ACPI, BOOT_ACPI_END - BOOT_ACPI, E820_TYPE_RESERVED);
	e820_add(bp, 1 * MiB, low - 1 * MiB, E820_TYPE_RAM);
	e820_add(bp, 0xfec00000ULL, 4 * GiB - 0xfec00000ULL,
		 E820_TYPE_RESERVED);
	if (high)
		e820_add(bp, 4 * GiB, high, E820_TYPE_RAM);
}

/*
 * 0-4 GiB identity-mapped in 2 MiB pages; the boot protocol asks for
 * the kernel, boot_params, the command line and the initrd mapped.
 */
static int page_tables(struct machine *m)
{
	uint64_t *pml4 = machine_gpa(m, BOOT_PML4, 4096);
	uint64_t *pdpt = machine_gpa(m, BOOT_PDPT, 4096);
	uint64_t *pd = machine_gpa(m, BOOT_PD, 4 * 4096);
	unsigned int i;

	if (!pml4 || !pdpt || !pd)
		return -1;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD + i * 4096) | PTE_P | PTE_RW;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | PTE_P | PTE_RW | PTE_PS;
	return 0;
}

static void flat_segment(struct vmm_segment *s, uint16_t sel, bool code)
{
	*s = (struct vmm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = code ? 0xb : 0x3,	/* accessed */
		.present = 1,
		.s = 1,
		.l = code,
		.db = !code,
		.g = 1,
	};
}

/* Long mode at the 64-bit entry, interrupts off, RSI = boot_params. */
static int entry_state(struct machine *m, uint64_t entry,
		       struct vmm_regs *regs, struct vmm_sregs *sregs)
{
	uint64_t *gdt = machine_gpa(m, BOOT_GDT, 4 * 8);

	if (!gdt || page_tables(m) < 0)
		return -1;
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[BOOT_CS / 8] = GDT_CODE64;
	gdt[BOOT_DS / 8] = GDT_DATA;

	memset(regs, 0, sizeof(*regs));
	regs->rip = entry;
	regs->rsi = BOOT_PARAMS;
	regs->rsp = BOOT_STACK_TOP;
	regs->rflags = 2;

	flat_segment(&sregs->cs, BOOT_CS, true);
	flat_segment(&sregs->ds, BOOT_DS, false);
	sregs->es = sregs->ds;
	sregs->fs = sregs->ds;
	sregs->gs = sregs->ds;
	sregs->ss = sregs->ds;
	sregs->gdt.base = BOOT_GDT;
	sregs->gdt.limit = 4 * 8 - 1;
	sregs->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sregs->cr3 = BOOT_PML4;
	sregs->cr4 = CR4_PAE;
	sregs->efer = EFER_LME | EFER_LMA;
	return 0;
}

int bzimage_load(struct machine *m, const uint8_t *kernel, size_t kernel_size,
		 const uint8_t *initrd, size_t initrd_size, const char *cmdline,
		 uint64_t rsdp, struct vmm_regs *regs, struct vmm_sregs *sregs)
{
	const struct setup_header *h =
		(const struct setup_header *)(kernel + SETUP_HDR_OFFSET);
	uint64_t low = machine_ram_below_4g(m), high = machine_ram_above_4g(m);
	unsigned int setup_sects = h->setup_sects ? h->setup_sects : 4;
	size_t pm_off = (setup_sects + 1) * 512ULL;
	size_t pm_size = kernel_size - pm_off;
	size_t hdr_len = 0x202 + kernel[0x201] - SETUP_HDR_OFFSET;
	size_t cmd_len = strlen(cmdline);
	uint64_t kernel_end, initrd_addr = 0, top;
	struct boot_params *bp;
	void *dst;

	/* The decompressor needs init_size bytes from where it runs. */
	kernel_end = BOOT_KERNEL + (pm_size > h->init_size ? pm_size :
				    h->init_size);
	if (kernel_end > low) {
		fprintf(stderr, "vmm-run: the kernel needs %llu MiB of RAM to unpack; -m is too small\n",
			(unsigned long long)(kernel_end >> 20) + 1);
		return -1;
	}
	if (cmd_len >= h->cmdline_size || cmd_len >= BOOT_CMDLINE_MAX) {
		fprintf(stderr, "vmm-run: -append: %zu bytes; this kernel takes at most %u\n",
			cmd_len, h->cmdline_size - 1);
		return -1;
	}
	dst = machine_gpa(m, BOOT_KERNEL, pm_size);
	memcpy(dst, kernel + pm_off, pm_size);

	if (initrd_size) {
		top = low;
		if (h->initrd_addr_max && h->initrd_addr_max + 1ULL < top)
			top = h->initrd_addr_max + 1ULL;
		/* Highest 2 MiB boundary that fits, clear of the kernel. */
		initrd_addr = (top - initrd_size) & ~(2 * MiB - 1);
		if (initrd_size > top || initrd_addr < kernel_end) {
			fprintf(stderr, "vmm-run: the initrd (%zu MiB) does not fit in RAM below %llu MiB with the kernel; -m is too small\n",
				initrd_size >> 20,
				(unsigned long long)(top >> 20));
			return -1;
		}
		memcpy(machine_gpa(m, initrd_addr, initrd_size), initrd,
		       initrd_size);
	}

	memcpy(machine_gpa(m, BOOT_CMDLINE, cmd_len + 1), cmdline, cmd_len + 1);

	bp = machine_gpa(m, BOOT_PARAMS, sizeof(*bp));
	memset(bp, 0, sizeof(*bp));
	if (hdr_len > sizeof(bp->hdr))
		hdr_len = sizeof(bp->hdr);
	memcpy(&bp->hdr, h, hdr_len);
	bp->hdr.type_of_loader = 0xff;		/* "undefined" boot loader */
	bp->hdr.vid_mode = 0xffff;		/* "normal" */
	bp->hdr.cmd_line_ptr = BOOT_CMDLINE;
	bp->hdr.ramdisk_image = initrd_addr;
	bp->hdr.ramdisk_size = initrd_size;
	bp->acpi_rsdp_addr = rsdp;
	e820_build(bp, low, high);

	bp->hdr.code32_start = BOOT_KERNEL;
	return entry_state(m, BOOT_KERNEL + ENTRY64_OFFSET, regs, sregs);
}
