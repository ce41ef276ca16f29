// SPDX-License-Identifier: GPL-2.0
/*
 * Native tests of vmm-run's Linux loader and ACPI tables (user/boot/),
 * on a fake machine whose RAM is a buffer: what the guest would find in
 * memory is checked field by field, the tables' checksums are summed,
 * and each table goes through iasl's disassembler (acpica-tools), which
 * rejects what it cannot parse.  TAP on stdout.
 *
 *   boot_test [BZIMAGE]   (default: the newest /boot/vmlinuz-*)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <asm/bootparam.h>
#include <linux/vmm.h>

#include "boot/boot.h"
#include "vmm-run.h"

struct machine {
	uint8_t *ram;
	uint64_t low, high;
};

void *machine_gpa(struct machine *m, uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa || gpa + len > m->low)
		return NULL;	/* the fake has no RAM above 4 GiB */
	return m->ram + gpa;
}

uint64_t machine_ram_below_4g(struct machine *m)
{
	return m->low;
}

uint64_t machine_ram_above_4g(struct machine *m)
{
	return m->high;
}

static int tests, failed;

static void __attribute__((format(printf, 2, 3))) ok(bool cond,
						      const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d ", cond ? "" : "not ", ++tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failed += !cond;
}

static struct machine *fake_machine(uint64_t low)
{
	struct machine *m = calloc(1, sizeof(*m));

	m->low = low;
	m->ram = mmap(NULL, low, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->ram == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return m;
}

static void free_machine(struct machine *m)
{
	munmap(m->ram, m->low);
	free(m);
}

static uint8_t sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s += *b++;
	return s;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* A table at gpa: its signature and checksum; returns it or NULL. */
static const uint8_t *table(struct machine *m, uint64_t gpa, const char *sig)
{
	const uint8_t *t = machine_gpa(m, gpa, 36);
	uint32_t len;

	if (!t || memcmp(t, sig, 4))
		return NULL;
	len = get32(t + 4);
	if (len < 36 || !machine_gpa(m, gpa, len))
		return NULL;
	return sum(t, len) == 0 ? t : NULL;
}

/* iasl -d parses the table and writes its ASL; 0 when it could. */
static int iasl_check(const uint8_t *t, size_t len, const char *name)
{
	char dir[] = "/tmp/boot_test.XXXXXX", cmd[512], path[300];
	FILE *f;
	int ret;

	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "w");
	if (!f || fwrite(t, 1, len, f) != len) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && iasl -d %s.dat >out.txt 2>&1 && ! grep -qi error out.txt",
		 dir, name);
	ret = system(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "boot_test: %s left behind\n", dir);
	return ret;
}

static void test_acpi(unsigned int cpus, bool have_iasl)
{
	struct machine *m = fake_machine(64 << 20);
	uint64_t rsdp_gpa = acpi_build(m, cpus);
	const uint8_t *rsdp = machine_gpa(m, rsdp_gpa, 36), *xsdt, *fadt;
	const uint8_t *madt = NULL, *dsdt, *facs, *p, *end;
	unsigned int i, lapics = 0, ioapic_id = ~0u;
	bool irq0 = false, sci = false, ids = true;

	ok(rsdp_gpa == BOOT_ACPI && !memcmp(rsdp, "RSD PTR ", 8) &&
	   sum(rsdp, 20) == 0 && sum(rsdp, 36) == 0 && rsdp[15] == 2,
	   "-c %u: RSDP at 0xe0000, revision 2, both checksums", cpus);
	xsdt = table(m, get64(rsdp + 24), "XSDT");
	ok(xsdt && get32(xsdt + 4) == 36 + 16, "-c %u: XSDT with 2 entries",
	   cpus);
	if (!xsdt)
		goto out;
	fadt = table(m, get64(xsdt + 36), "FACP");
	for (i = 0; i < 2; i++)
		if (!madt)
			madt = table(m, get64(xsdt + 36 + 8 * i), "APIC");
	ok(fadt && get32(fadt + 4) == 276, "-c %u: FADT (6.x, 276 bytes)",
	   cpus);
	ok(madt != NULL, "-c %u: MADT", cpus);
	if (!fadt || !madt)
		goto out;
	ok(*(uint16_t *)(fadt + 46) == 9 && get32(fadt + 48) == 0 &&
	   get32(fadt + 56) == 0x600 && get32(fadt + 64) == 0x604 &&
	   get32(fadt + 76) == 0x608 && fadt[88] == 4 && fadt[89] == 2 &&
	   fadt[91] == 4,
	   "-c %u: FADT: SCI 9, no SMI port, PM1a 0x600/0x604, PM timer 0x608",
	   cpus);
	ok(fadt[116] == 1 && get64(fadt + 120) == 0xcf9 && fadt[128] == 6 &&
	   (get32(fadt + 112) & (1u << 10)),
	   "-c %u: FADT: reset register 0xcf9 (I/O), value 6", cpus);
	dsdt = table(m, get64(fadt + 140), "DSDT");
	facs = machine_gpa(m, get64(fadt + 132), 64);
	ok(dsdt && facs && !memcmp(facs, "FACS", 4) &&
	   get64(fadt + 132) % 64 == 0 && get32(fadt + 36) == 0 &&
	   get32(fadt + 40) == 0,
	   "-c %u: X_DSDT and X_FIRMWARE_CTRL (64-byte aligned FACS) only",
	   cpus);

	end = madt + get32(madt + 4);
	for (p = madt + 44; p + 2 <= end && p[1]; p += p[1]) {
		switch (p[0]) {
		case 0:
			ids &= p[2] == lapics && p[3] == lapics &&
			       get32(p + 4) == 1;
			lapics++;
			break;
		case 1:
			ioapic_id = p[2];
			ids &= get32(p + 4) == 0xfec00000 && get32(p + 8) == 0;
			break;
		case 2:
			irq0 |= p[3] == 0 && get32(p + 4) == 2;
			sci |= p[3] == 9 && get32(p + 4) == 9 &&
			       *(uint16_t *)(p + 8) == 0xd;
			break;
		}
	}
	ok(get32(madt + 36) == 0xfee00000 && lapics == cpus && ids &&
	   ioapic_id == cpus,
	   "-c %u: MADT: %u enabled LAPICs (IDs 0..%u), IOAPIC ID %u",
	   cpus, cpus, cpus - 1, cpus);
	ok(irq0 && sci, "-c %u: MADT: IRQ 0 on GSI 2, SCI level/high", cpus);
	if (have_iasl) {
		ok(!iasl_check(fadt, get32(fadt + 4), "facp") &&
		   !iasl_check(madt, get32(madt + 4), "apic") &&
		   !iasl_check(dsdt, get32(dsdt + 4), "dsdt") &&
		   !iasl_check(xsdt, get32(xsdt + 4), "xsdt"),
		   "-c %u: iasl -d parses FACP, APIC, DSDT and XSDT", cpus);
	}
out:
	free_machine(m);
}

static char *newest_vmlinuz(void)
{
	static char path[512];
	struct dirent *e;
	DIR *d = opendir("/boot");

	path[0] = '\0';
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "vmlinuz-", 8) &&
		    strcmp(e->d_name + 8, path + 14) > 0)
			snprintf(path, sizeof(path), "/boot/%s", e->d_name);
	if (d)
		closedir(d);
	return path[0] ? path : NULL;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	uint8_t *buf;

	if (!f || fstat(fileno(f), &st) < 0)
		return NULL;
	buf = malloc(st.st_size);
	if (!buf || fread(buf, 1, st.st_size, f) != (size_t)st.st_size) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	*len = st.st_size;
	return buf;
}

static void test_bzimage(const char *path)
{
	static const char cmdline[] = "console=ttyS0 quiet";
	uint8_t junk[8192] = { 0 }, initrd[3 << 20];
	struct machine *m = fake_machine(256 << 20), *tiny;
	struct vmm_regs regs;
	struct vmm_sregs sregs = { 0 };
	struct boot_params *bp;
	const uint64_t *pd;
	char why[160];
	size_t len;
	uint8_t *k = slurp(path, &len);
	unsigned int i;
	bool e820_ok = true;
	uint64_t last = 0;

	ok(bzimage_check(junk, sizeof(junk), why, sizeof(why)) < 0 &&
	   strstr(why, "not a bzImage"), "zeros are not a bzImage: %s", why);
	if (!k) {
		ok(false, "%s readable", path);
		return;
	}
	ok(bzimage_check(k, len, why, sizeof(why)) == 0, "%s is a bzImage",
	   path);
	memset(initrd, 0x5a, sizeof(initrd));
	ok(bzimage_load(m, k, len, initrd, sizeof(initrd), cmdline, 0xe0000,
			&regs, &sregs) == 0, "loaded in 256 MiB");
	bp = machine_gpa(m, BOOT_PARAMS, sizeof(*bp));
	ok(bp->hdr.boot_flag == 0xaa55 && bp->hdr.header == 0x53726448 &&
	   bp->hdr.type_of_loader == 0xff && bp->acpi_rsdp_addr == 0xe0000,
	   "boot_params: setup header copied, loader 0xff, RSDP address");
	ok(bp->hdr.cmd_line_ptr == BOOT_CMDLINE &&
	   !strcmp(machine_gpa(m, BOOT_CMDLINE, sizeof(cmdline)), cmdline),
	   "command line at %#llx", BOOT_CMDLINE);
	ok(bp->hdr.ramdisk_size == sizeof(initrd) &&
	   bp->hdr.ramdisk_image % (2 << 20) == 0 &&
	   bp->hdr.ramdisk_image + sizeof(initrd) <= m->low &&
	   bp->hdr.ramdisk_image > m->low - (6 << 20) &&
	   !memcmp(machine_gpa(m, bp->hdr.ramdisk_image, sizeof(initrd)),
		   initrd, sizeof(initrd)),
	   "initrd at the top of RAM (%#x), 2 MiB aligned, intact",
	   bp->hdr.ramdisk_image);
	for (i = 0; i < bp->e820_entries; i++) {
		e820_ok &= bp->e820_table[i].addr >= last;
		last = bp->e820_table[i].addr + bp->e820_table[i].size;
	}
	ok(bp->e820_entries == 5 && e820_ok &&
	   bp->e820_table[0].addr == 0 && bp->e820_table[0].type == 1 &&
	   bp->e820_table[3].addr == 1 << 20 &&
	   bp->e820_table[3].size == m->low - (1 << 20) &&
	   bp->e820_table[2].addr == BOOT_ACPI &&
	   bp->e820_table[2].type == 2,
	   "e820: RAM, EBDA, ACPI area reserved, RAM from 1 MiB, top 20 MiB");
	ok(!memcmp(machine_gpa(m, BOOT_KERNEL, 512),
		   k + (k[0x1f1] + 1) * 512, 512),
	   "protected-mode part at 1 MiB");
	pd = machine_gpa(m, BOOT_PD, 4 * 4096);
	ok(regs.rip == BOOT_KERNEL + 0x200 && regs.rsi == BOOT_PARAMS &&
	   regs.rflags == 2 && sregs.cs.selector == BOOT_CS && sregs.cs.l &&
	   sregs.ds.selector == BOOT_DS && (sregs.cr0 & 0x80000001) ==
	   0x80000001 && sregs.efer == 0x500 && sregs.cr3 == BOOT_PML4 &&
	   pd[2047] == ((2047ULL << 21) | 0x83),
	   "64-bit entry: RIP 0x100200, RSI boot_params, long mode, 4 GiB mapped");
	ok(bzimage_load(m, k, len, NULL, 0, "x", 0, &regs, &sregs) == 0 &&
	   bp->hdr.ramdisk_image == 0 && bp->hdr.ramdisk_size == 0,
	   "no initrd: none in boot_params");
	memset(junk, 'a', sizeof(junk));
	junk[sizeof(junk) - 1] = '\0';
	ok(bzimage_load(m, k, len, NULL, 0, (char *)junk, 0, &regs,
			&sregs) < 0, "a command line longer than the kernel takes: refused");
	tiny = fake_machine(8 << 20);
	ok(bzimage_load(tiny, k, len, NULL, 0, "", 0, &regs, &sregs) < 0,
	   "8 MiB of RAM: refused (the kernel cannot unpack)");
	free_machine(tiny);
	free_machine(m);
	free(k);
}

int main(int argc, char **argv)
{
	static const unsigned int cpus[] = { 1, 2, 8, 254 };
	const char *kernel = argc > 1 ? argv[1] : newest_vmlinuz();
	bool have_iasl = !system("command -v iasl >/dev/null 2>&1");
	unsigned int i;

	printf("1..%zu\n", sizeof(cpus) / sizeof(cpus[0]) * (9 + have_iasl) +
	       (kernel ? 12 : 1));
	for (i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++)
		test_acpi(cpus[i], have_iasl);
	if (kernel)
		test_bzimage(kernel);
	else
		printf("ok %d # SKIP no /boot/vmlinuz-* to load\n", ++tests);
	return failed ? 1 : 0;
}
