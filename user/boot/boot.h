/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Booting Linux in a vmm-run machine: the bzImage loader (bzimage.c,
 * Documentation/x86/boot.rst of the kernel), the boot vCPU's 64-bit entry
 * state (long mode, identity-mapped page tables, a flat GDT) and the ACPI
 * tables (acpi.c, dsdt.asl).
 *
 * Guest-physical addresses the loader uses, all below the first 640 KiB
 * that the e820 map gives the guest as RAM (Linux reserves the first
 * MiB for itself anyway, after it copied boot_params and the command line
 * out):
 */
#ifndef VMM_USER_BOOT_H
#define VMM_USER_BOOT_H

#include <stdint.h>
#include <stddef.h>

struct machine;
struct vmm_regs;
struct vmm_sregs;

#define BOOT_GDT		0x00001000ULL
#define BOOT_STACK_TOP		0x00007000ULL
#define BOOT_PARAMS		0x00007000ULL	/* the "zero page" */
#define BOOT_PML4		0x00009000ULL
#define BOOT_PDPT		0x0000a000ULL
#define BOOT_PD			0x0000b000ULL	/* 4 pages: 0-4 GiB */
#define BOOT_CMDLINE		0x00020000ULL
#define BOOT_CMDLINE_MAX	0x00010000ULL
#define BOOT_KERNEL		0x00100000ULL	/* protected-mode part */
#define BOOT_ACPI		0x000e0000ULL	/* RSDP first, then tables */
#define BOOT_ACPI_END		0x00100000ULL
#define BOOT_EBDA		0x0009fc00ULL	/* reserved, as on a PC */

/* GDT selectors the boot protocol asks for (__BOOT_CS, __BOOT_DS). */
#define BOOT_CS			0x10
#define BOOT_DS			0x18

/*
 * Checks that buf is a bzImage this loader can start (boot protocol
 * 2.12+, a 64-bit entry).  Returns 0, or -1 with a reason in why.
 */
int bzimage_check(const uint8_t *buf, size_t len, char *why, size_t whylen);

/*
 * Loads the checked bzImage, the initrd and the command line into guest
 * memory, writes boot_params (e820 map, RSDP address) and the page
 * tables and GDT of the entry state; fills the boot vCPU's registers.
 * Returns 0, or -1 after printing what does not fit.
 */
int bzimage_load(struct machine *m, const uint8_t *kernel, size_t kernel_size,
		 const uint8_t *initrd, size_t initrd_size, const char *cmdline,
		 uint64_t rsdp, struct vmm_regs *regs, struct vmm_sregs *sregs);

/*
 * Writes RSDP, XSDT, FADT, FACS, MADT and DSDT at BOOT_ACPI for nr_vcpus
 * CPUs.  Returns the RSDP's guest-physical address, or 0 when the tables
 * do not fit (a bug: printed).
 */
uint64_t acpi_build(struct machine *m, unsigned int nr_vcpus);

#endif /* VMM_USER_BOOT_H */
