// SPDX-License-Identifier: GPL-2.0
/*
 * libvmm - a thin C wrapper over the /dev/vmm ioctls (see libvmm.h), and
 * the guest mode setups that tests, the benchmark and the demo share.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "libvmm.h"

/* Page-table entry bits of the long-mode setup. */
#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)	/* a 2 MiB page in a PD entry */
#define PTE_ADDR	0x000ffffffffff000ULL
#define PT_POOL_PAGES	((VMM_SYS_AREA_SIZE - VMM_SYS_PT_POOL) / 4096)

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* Keeps errno of the failure across the cleanup calls after it. */
#define KEEP_ERRNO(stmt) do {		\
	int __saved = errno;		\
	stmt;				\
	errno = __saved;		\
} while (0)

int vmm_open(void)
{
	return open(VMM_DEV_PATH, O_RDWR | O_CLOEXEC);
}

long vmm_check_cap(int fd, unsigned long cap)
{
	return ioctl(fd, VMM_CHECK_CAP, cap);
}

struct vmm_vm *vmm_vm_create(void)
{
	struct vmm_vm *vm = calloc(1, sizeof(*vm));
	long run_size;

	if (!vm)
		return NULL;
	vm->fd = -1;
	vm->sys_fd = vmm_open();
	if (vm->sys_fd < 0)
		goto fail;
	run_size = ioctl(vm->sys_fd, VMM_GET_RUN_SIZE, 0);
	if (run_size < 0)
		goto fail;
	vm->run_size = run_size;
	vm->fd = ioctl(vm->sys_fd, VMM_CREATE_VM, 0);
	if (vm->fd < 0)
		goto fail;
	return vm;
fail:
	KEEP_ERRNO(vmm_vm_destroy(vm));
	return NULL;
}

void vmm_vm_destroy(struct vmm_vm *vm)
{
	int i;

	if (!vm)
		return;
	/* The VM goes first: no slot may point at unmapped memory. */
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->sys_fd >= 0)
		close(vm->sys_fd);
	for (i = 0; i < VMM_LIB_MAX_SLOTS; i++)
		if (vm->slots[i].used && vm->slots[i].owned)
			munmap(vm->slots[i].host, vm->slots[i].size);
	free(vm);
}

int vmm_vm_set_slot(struct vmm_vm *vm, uint32_t slot, uint64_t gpa,
		    uint64_t size, void *host, uint32_t flags)
{
	struct vmm_memory_slot ms = {
		.slot = slot,
		.flags = flags,
		.guest_phys = gpa,
		.size = size,
		.userspace_addr = (uintptr_t)host,
	};
	struct vmm_lib_slot *s;

	if (ioctl(vm->fd, VMM_SET_MEMORY_SLOT, &ms) < 0)
		return -1;
	if (slot >= VMM_LIB_MAX_SLOTS)
		return 0;	/* valid for the kernel, untracked here */
	s = &vm->slots[slot];
	if (s->used && s->owned && s->host != host)
		munmap(s->host, s->size);
	memset(s, 0, sizeof(*s));
	if (size) {
		s->used = true;
		s->flags = flags;
		s->guest_phys = gpa;
		s->size = size;
		s->host = host;
	}
	return 0;
}

void *vmm_vm_add_memory(struct vmm_vm *vm, uint32_t slot, uint64_t gpa,
			uint64_t size, uint32_t flags)
{
	void *host;

	if (!size) {
		errno = EINVAL;
		return NULL;
	}
	host = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (host == MAP_FAILED)
		return NULL;
	if (vmm_vm_set_slot(vm, slot, gpa, size, host, flags) < 0) {
		KEEP_ERRNO(munmap(host, size));
		return NULL;
	}
	if (slot < VMM_LIB_MAX_SLOTS)
		vm->slots[slot].owned = true;
	return host;
}

int vmm_vm_remove_memory(struct vmm_vm *vm, uint32_t slot)
{
	return vmm_vm_set_slot(vm, slot, 0, 0, NULL, 0);
}

void *vmm_gpa_to_host(struct vmm_vm *vm, uint64_t gpa, size_t len)
{
	int i;

	for (i = 0; i < VMM_LIB_MAX_SLOTS; i++) {
		const struct vmm_lib_slot *s = &vm->slots[i];

		if (!s->used || gpa < s->guest_phys ||
		    gpa - s->guest_phys >= s->size ||
		    len > s->size - (gpa - s->guest_phys))
			continue;
		return (char *)s->host + (gpa - s->guest_phys);
	}
	errno = ENOENT;
	return NULL;
}

int vmm_load_code(struct vmm_vm *vm, uint64_t gpa, const void *start,
		  const void *end)
{
	size_t len = (const char *)end - (const char *)start;
	void *dst = vmm_gpa_to_host(vm, gpa, len);

	if (!dst)
		return -1;
	memcpy(dst, start, len);
	return 0;
}

static struct vmm_cpuid *cpuid_alloc(uint32_t nent)
{
	struct vmm_cpuid *c;

	c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
	if (c)
		c->nent = nent;
	return c;
}

int vmm_vm_set_cpuid(struct vmm_vm *vm, const struct vmm_cpuid_entry *e,
		     uint32_t nent)
{
	struct vmm_cpuid *c = cpuid_alloc(nent);
	int ret;

	if (!c)
		return -1;
	memcpy(c->entries, e, nent * sizeof(*e));
	ret = ioctl(vm->fd, VMM_SET_CPUID, c);
	KEEP_ERRNO(free(c));
	return ret;
}

struct vmm_cpuid *vmm_get_supported_cpuid(struct vmm_vm *vm)
{
	struct vmm_cpuid *c = cpuid_alloc(0);

	if (!c)
		return NULL;
	/* Ask with no room first: E2BIG tells how many entries there are. */
	while (ioctl(vm->sys_fd, VMM_GET_SUPPORTED_CPUID, c) < 0) {
		struct vmm_cpuid *bigger;

		if (errno != E2BIG)
			goto fail;
		bigger = cpuid_alloc(c->nent);
		if (!bigger)
			goto fail;
		free(c);
		c = bigger;
	}
	return c;
fail:
	KEEP_ERRNO(free(c));
	return NULL;
}

struct vmm_vcpu *vmm_vcpu_create(struct vmm_vm *vm, unsigned int id)
{
	struct vmm_vcpu *vcpu = calloc(1, sizeof(*vcpu));
	void *run;

	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, VMM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0)
		goto fail;
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu->fd, 0);
	if (run == MAP_FAILED)
		goto fail_fd;
	vcpu->run = run;
	return vcpu;
fail_fd:
	KEEP_ERRNO(close(vcpu->fd));
fail:
	KEEP_ERRNO(free(vcpu));
	return NULL;
}

void vmm_vcpu_destroy(struct vmm_vcpu *vcpu)
{
	if (!vcpu)
		return;
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	free(vcpu);
}

int vmm_vcpu_run(struct vmm_vcpu *vcpu)
{
	return ioctl(vcpu->fd, VMM_RUN, 0);
}

int vmm_get_regs(struct vmm_vcpu *vcpu, struct vmm_regs *regs)
{
	return ioctl(vcpu->fd, VMM_GET_REGS, regs);
}

int vmm_set_regs(struct vmm_vcpu *vcpu, const struct vmm_regs *regs)
{
	return ioctl(vcpu->fd, VMM_SET_REGS, regs);
}

int vmm_get_sregs(struct vmm_vcpu *vcpu, struct vmm_sregs *sregs)
{
	return ioctl(vcpu->fd, VMM_GET_SREGS, sregs);
}

int vmm_set_sregs(struct vmm_vcpu *vcpu, const struct vmm_sregs *sregs)
{
	return ioctl(vcpu->fd, VMM_SET_SREGS, sregs);
}

int vmm_get_fpu(struct vmm_vcpu *vcpu, struct vmm_xsave *xsave)
{
	return ioctl(vcpu->fd, VMM_GET_FPU, xsave);
}

int vmm_set_fpu(struct vmm_vcpu *vcpu, const struct vmm_xsave *xsave)
{
	return ioctl(vcpu->fd, VMM_SET_FPU, xsave);
}

/* One MSR through VMM_GET_MSRS/VMM_SET_MSRS. */
static int msr_one(struct vmm_vcpu *vcpu, unsigned long ioc, uint32_t index,
		   uint64_t *data)
{
	struct vmm_msrs *m;
	int ret;

	m = calloc(1, sizeof(*m) + sizeof(m->entries[0]));
	if (!m)
		return -1;
	m->nmsrs = 1;
	m->entries[0].index = index;
	m->entries[0].data = *data;
	ret = ioctl(vcpu->fd, ioc, m);
	if (ret == 0) {
		/* Processed none: the engine does not know this MSR. */
		errno = ENOENT;
		ret = -1;
	} else if (ret == 1) {
		*data = m->entries[0].data;
		ret = 0;
	}
	KEEP_ERRNO(free(m));
	return ret;
}

int vmm_get_msr(struct vmm_vcpu *vcpu, uint32_t index, uint64_t *data)
{
	*data = 0;
	return msr_one(vcpu, VMM_GET_MSRS, index, data);
}

int vmm_set_msr(struct vmm_vcpu *vcpu, uint32_t index, uint64_t data)
{
	return msr_one(vcpu, VMM_SET_MSRS, index, &data);
}

int vmm_vcpu_interrupt(struct vmm_vcpu *vcpu, uint32_t vector)
{
	struct vmm_interrupt irq = { .vector = vector };

	return ioctl(vcpu->fd, VMM_INTERRUPT, &irq);
}

int vmm_vcpu_nmi(struct vmm_vcpu *vcpu)
{
	return ioctl(vcpu->fd, VMM_NMI, 0);
}

const char *vmm_exit_name(uint32_t exit_reason)
{
	static const char *const names[] = {
		[VMM_EXIT_NONE] = "NONE",
		[VMM_EXIT_IO] = "IO",
		[VMM_EXIT_MMIO] = "MMIO",
		[VMM_EXIT_HLT] = "HLT",
		[VMM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[VMM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[VMM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[VMM_EXIT_INTR] = "INTR",
		[VMM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	};

	if (exit_reason < ARRAY_SIZE(names) &&
	    names[exit_reason])
		return names[exit_reason];
	return "unknown";
}

/* ---- guest setup ---- */

static void seg_real(struct vmm_segment *s, uint16_t selector, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->base = (uint64_t)selector << 4;
	s->limit = 0xffff;
	s->selector = selector;
	s->type = type;
	s->present = 1;
	s->s = 1;
}

/* A flat 4 GiB segment as the GDT of the system area describes it. */
static void seg_flat(struct vmm_segment *s, uint16_t selector, uint8_t type,
		     bool code64)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = selector;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code64;
	s->db = !code64;	/* L and D together are reserved */
}

/*
 * A GDT descriptor: @access is the byte with P, DPL, S and type; @flags
 * the nibble with G, D/B, L and AVL.
 */
static uint64_t gdt_entry(uint32_t base, uint32_t limit, uint8_t access,
			  uint8_t flags)
{
	return (limit & 0xffffULL) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)(flags & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
}

/*
 * Writes the GDT and a TSS into the (zeroed) system area and loads the
 * segment registers common to both protected-mode setups.  The GDT in
 * memory matters: interrupt delivery and IRET reload CS and SS from it.
 */
static int sys_area_init(struct vmm_vcpu *vcpu, uint64_t sys_gpa,
			 struct vmm_sregs *sregs)
{
	uint64_t *gdt;
	uint8_t *area;
	uint64_t tss = sys_gpa + VMM_SYS_TSS;

	if ((sys_gpa & 0xfff) || sys_gpa + VMM_SYS_AREA_SIZE > (1ULL << 32)) {
		errno = EINVAL;
		return -1;
	}
	area = vmm_gpa_to_host(vcpu->vm, sys_gpa, VMM_SYS_AREA_SIZE);
	if (!area)
		return -1;
	memset(area, 0, VMM_SYS_AREA_SIZE);
	gdt = (uint64_t *)(area + VMM_SYS_GDT);
	gdt[VMM_SEL_CODE32 / 8] = gdt_entry(0, 0xfffff, 0x9b, 0xc);
	gdt[VMM_SEL_DATA / 8] = gdt_entry(0, 0xfffff, 0x93, 0xc);
	gdt[VMM_SEL_CODE64 / 8] = gdt_entry(0, 0xfffff, 0x9b, 0xa);
	/* Busy TSS (type 11); a 64-bit one takes two slots, base < 4 GiB. */
	gdt[VMM_SEL_TSS / 8] = gdt_entry(tss, 0x67, 0x8b, 0);
	gdt[VMM_SEL_TSS / 8 + 1] = 0;
	vcpu->vm->sys_gpa = sys_gpa;
	vcpu->vm->pt_used = 0;

	if (vmm_get_sregs(vcpu, sregs) < 0)
		return -1;
	seg_flat(&sregs->ds, VMM_SEL_DATA, 3, false);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	memset(&sregs->tr, 0, sizeof(sregs->tr));
	sregs->tr.base = tss;
	sregs->tr.limit = 0x67;
	sregs->tr.selector = VMM_SEL_TSS;
	sregs->tr.type = 11;
	sregs->tr.present = 1;
	memset(&sregs->ldt, 0, sizeof(sregs->ldt));
	sregs->ldt.type = 2;
	sregs->ldt.unusable = 1;
	memset(&sregs->gdt, 0, sizeof(sregs->gdt));
	sregs->gdt.base = sys_gpa + VMM_SYS_GDT;
	sregs->gdt.limit = 6 * 8 - 1;
	memset(&sregs->idt, 0, sizeof(sregs->idt));
	sregs->idt.base = sys_gpa + VMM_SYS_IDT;
	sregs->cr2 = 0;
	sregs->cr8 = 0;
	return 0;
}

/* Zeroed general registers, interrupts off. */
static int regs_reset(struct vmm_vcpu *vcpu, uint64_t rip, uint64_t rsp)
{
	struct vmm_regs regs;

	memset(&regs, 0, sizeof(regs));
	regs.rip = rip;
	regs.rsp = rsp;
	regs.rflags = VMM_RFLAGS_FIXED;
	return vmm_set_regs(vcpu, &regs);
}

int vmm_setup_real_mode(struct vmm_vcpu *vcpu, uint16_t cs, uint16_t ip,
			uint16_t sp)
{
	struct vmm_sregs sregs;

	if (vmm_get_sregs(vcpu, &sregs) < 0)
		return -1;
	seg_real(&sregs.cs, cs, 0xb);
	seg_real(&sregs.ds, 0, 3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	/* TR and LDTR as at RESET: a 16-bit busy TSS and an LDT, base 0. */
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.limit = 0xffff;
	sregs.tr.type = 3;
	sregs.tr.present = 1;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.limit = 0xffff;
	sregs.ldt.type = 2;
	sregs.ldt.present = 1;
	memset(&sregs.gdt, 0, sizeof(sregs.gdt));
	sregs.gdt.limit = 0xffff;
	memset(&sregs.idt, 0, sizeof(sregs.idt));
	sregs.idt.limit = 0x3ff;	/* the IVT at 0 */
	/* Caches on (CD/NW clear): the RESET value would make them UC. */
	sregs.cr0 = VMM_CR0_ET | VMM_CR0_NE;
	sregs.cr2 = sregs.cr3 = sregs.cr4 = sregs.cr8 = 0;
	sregs.efer = 0;
	if (vmm_set_sregs(vcpu, &sregs) < 0)
		return -1;
	return regs_reset(vcpu, ip, sp);
}

int vmm_setup_protected32(struct vmm_vcpu *vcpu, uint64_t sys_gpa,
			  uint32_t eip, uint32_t esp)
{
	struct vmm_sregs sregs;

	if (sys_area_init(vcpu, sys_gpa, &sregs) < 0)
		return -1;
	seg_flat(&sregs.cs, VMM_SEL_CODE32, 0xb, false);
	sregs.idt.limit = 256 * 8 - 1;
	sregs.cr0 = VMM_CR0_PE | VMM_CR0_MP | VMM_CR0_ET | VMM_CR0_NE;
	sregs.cr3 = 0;
	sregs.cr4 = VMM_CR4_OSFXSR | VMM_CR4_OSXMMEXCPT;
	sregs.efer = 0;
	if (vmm_set_sregs(vcpu, &sregs) < 0)
		return -1;
	return regs_reset(vcpu, eip, esp);
}

int vmm_setup_long_mode(struct vmm_vcpu *vcpu, uint64_t sys_gpa,
			uint64_t rip, uint64_t rsp)
{
	struct vmm_sregs sregs;
	uint64_t *pml4, *pdpt, *pd;
	int i, j;

	if (sys_area_init(vcpu, sys_gpa, &sregs) < 0)
		return -1;
	pml4 = vmm_gpa_to_host(vcpu->vm, sys_gpa + VMM_SYS_PML4, 4096);
	pdpt = vmm_gpa_to_host(vcpu->vm, sys_gpa + VMM_SYS_PDPT, 4096);
	pml4[0] = (sys_gpa + VMM_SYS_PDPT) | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++) {
		uint64_t pd_gpa = sys_gpa + VMM_SYS_PD + i * 4096;

		pd = vmm_gpa_to_host(vcpu->vm, pd_gpa, 4096);
		pdpt[i] = pd_gpa | PTE_P | PTE_RW;
		for (j = 0; j < 512; j++)
			pd[j] = ((uint64_t)i << 30) + ((uint64_t)j << 21) +
				(PTE_P | PTE_RW | PTE_PS);
	}

	seg_flat(&sregs.cs, VMM_SEL_CODE64, 0xb, true);
	sregs.idt.limit = 256 * 16 - 1;
	sregs.cr0 = VMM_CR0_PE | VMM_CR0_MP | VMM_CR0_ET | VMM_CR0_NE |
		    VMM_CR0_PG;
	sregs.cr3 = sys_gpa + VMM_SYS_PML4;
	sregs.cr4 = VMM_CR4_PAE | VMM_CR4_OSFXSR | VMM_CR4_OSXMMEXCPT;
	sregs.efer = VMM_EFER_LME | VMM_EFER_LMA;
	if (vmm_set_sregs(vcpu, &sregs) < 0)
		return -1;
	return regs_reset(vcpu, rip, rsp);
}

/* The table an entry points to, allocating it from the pool if absent. */
static uint64_t *pt_next_level(struct vmm_vm *vm, uint64_t *entry)
{
	uint64_t gpa;
	void *table;

	if (!(*entry & PTE_P)) {
		if (vm->pt_used >= PT_POOL_PAGES) {
			errno = ENOMEM;
			return NULL;
		}
		gpa = vm->sys_gpa + VMM_SYS_PT_POOL + vm->pt_used * 4096ULL;
		table = vmm_gpa_to_host(vm, gpa, 4096);
		if (!table)
			return NULL;
		memset(table, 0, 4096);
		vm->pt_used++;
		*entry = gpa | PTE_P | PTE_RW;
	} else if (*entry & PTE_PS) {
		errno = EEXIST;	/* a large page is in the way */
		return NULL;
	}
	return vmm_gpa_to_host(vm, *entry & PTE_ADDR, 4096);
}

int vmm_map_2m(struct vmm_vm *vm, uint64_t gva, uint64_t gpa)
{
	uint64_t *pml4, *pdpt, *pd;

	if ((gva | gpa) & ((1ULL << 21) - 1) || gva >= (1ULL << 47)) {
		errno = EINVAL;
		return -1;
	}
	pml4 = vmm_gpa_to_host(vm, vm->sys_gpa + VMM_SYS_PML4, 4096);
	if (!pml4)
		return -1;
	pdpt = pt_next_level(vm, &pml4[(gva >> 39) & 511]);
	if (!pdpt)
		return -1;
	pd = pt_next_level(vm, &pdpt[(gva >> 30) & 511]);
	if (!pd)
		return -1;
	pd[(gva >> 21) & 511] = gpa | PTE_P | PTE_RW | PTE_PS;
	return 0;
}

int vmm_cpu_mode(struct vmm_vcpu *vcpu, enum vmm_cpu_mode *mode)
{
	struct vmm_sregs sregs;

	if (vmm_get_sregs(vcpu, &sregs) < 0)
		return -1;
	if (!(sregs.cr0 & VMM_CR0_PE))
		*mode = VMM_MODE_REAL;
	else if (sregs.efer & VMM_EFER_LMA)
		*mode = VMM_MODE_LONG;
	else
		*mode = VMM_MODE_PROTECTED32;
	return 0;
}

int vmm_set_idt_gate(struct vmm_vcpu *vcpu, uint8_t vector, uint64_t handler)
{
	struct vmm_sregs sregs;
	enum vmm_cpu_mode mode;
	uint64_t *gate, lo;
	uint16_t *ivt;

	if (vmm_get_sregs(vcpu, &sregs) < 0 || vmm_cpu_mode(vcpu, &mode) < 0)
		return -1;
	if (mode == VMM_MODE_REAL) {
		uint16_t seg = handler > 0xffff ? (handler >> 4) & 0xf000 : 0;

		if (handler >= (1 << 20)) {
			errno = EINVAL;
			return -1;
		}
		ivt = vmm_gpa_to_host(vcpu->vm, sregs.idt.base + vector * 4, 4);
		if (!ivt)
			return -1;
		ivt[0] = handler - ((uint32_t)seg << 4);
		ivt[1] = seg;
		return 0;
	}
	/* P=1, DPL=0, type 14: an interrupt gate (32- or 64-bit). */
	lo = (handler & 0xffff) | (uint64_t)sregs.cs.selector << 16 |
	     0x8eULL << 40 | ((handler >> 16) & 0xffff) << 48;
	if (mode == VMM_MODE_LONG) {
		gate = vmm_gpa_to_host(vcpu->vm, sregs.idt.base + vector * 16,
				       16);
		if (!gate)
			return -1;
		gate[0] = lo;
		gate[1] = handler >> 32;
	} else {
		gate = vmm_gpa_to_host(vcpu->vm, sregs.idt.base + vector * 8,
				       8);
		if (!gate)
			return -1;
		gate[0] = lo;
	}
	return 0;
}
