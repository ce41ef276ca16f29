// SPDX-License-Identifier: GPL-2.0
/*
 * vmm-bench - what a VM exit costs on /dev/vmm, next to /dev/kvm.
 *
 * The same tiny guests run on both hypervisors, one after the other, in
 * one run of this program: only ratios taken in one run mean anything,
 * because the absolute numbers depend on the machine (under QEMU TCG an
 * exit costs tens of microseconds).  Each backend is a table of
 * operations over the two ioctl APIs, so the measuring loop is shared
 * and both guests are set up alike, field by field.  Every guest runs in
 * real mode (the simplest setup) and in 64-bit long mode (what guests
 * run in), with RAM at 0 and the code at 0x1000.
 *
 * Measurements, each the median of several runs of N iterations:
 *   cpuid   guest loops on CPUID; the exit is handled in the kernel
 *   out     guest loops on OUT; each one is a round trip to this program
 *   hlt     guest loops on STI; HLT; this program injects an interrupt on
 *           each HLT exit and the guest's handler just IRETs
 * plus the cost of a getppid() system call on this machine, as a scale.
 *
 * Exit status: 0 when every backend that is present was measured (goals
 * not met are reported, not errors), 1 when a backend failed, 2 on bad
 * usage or when neither backend is present.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <linux/kvm.h>
#include <linux/vmm.h>

#define GUEST_MEM_SIZE	0x10000		/* 64 KiB of RAM at address 0 */
#define GUEST_CODE	0x1000		/* CS:IP = 0000:1000 */
#define GUEST_STACK	0x8000		/* SS:SP = 0000:8000 */
#define PORT_DONE	0x10		/* guest finished its loop */
#define PORT_TICK	0x11		/* one iteration of the OUT loop */
#define WAKE_VECTOR	0x20		/* the interrupt that ends a HLT */
#define LM_GDT		0x500		/* long mode: GDT, 3 entries */
#define LM_IDT		0x600		/* IDT, up to WAKE_VECTOR */
#define LM_PML4		0x2000		/* then PDPT, PD: 2 MiB mapped */
#define MAX_CPUID	256

#define X86_CR0_PE	(1ull << 0)
#define X86_CR0_ET	(1ull << 4)
#define X86_CR0_PG	(1ull << 31)
#define X86_CR4_PAE	(1ull << 5)
#define EFER_LME	(1ull << 8)
#define EFER_LMA	(1ull << 10)

#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)

/*
 * The guests.  ESI holds the iteration count, DX the tick port; both are
 * set through the register ioctl.  The code is assembled here and copied
 * to GUEST_CODE; only relative jumps are used, except for the interrupt
 * handler's address, which is computed for GUEST_CODE.
 */
asm(
"	.pushsection .rodata.bench_guest, \"a\"\n"
"	.code16\n"
"	.globl guest_cpuid, guest_cpuid_end\n"
"guest_cpuid:\n"
"1:	xorl %eax, %eax\n"
"	xorl %ecx, %ecx\n"
"	cpuid\n"
"	decl %esi\n"
"	jnz 1b\n"
"	movw $" __stringify(PORT_DONE) ", %dx\n"
"	outb %al, %dx\n"
"	hlt\n"
"guest_cpuid_end:\n"
"\n"
"	.globl guest_out, guest_out_end\n"
"guest_out:\n"
"1:	outb %al, %dx\n"
"	decl %esi\n"
"	jnz 1b\n"
"	movw $" __stringify(PORT_DONE) ", %dx\n"
"	outb %al, %dx\n"
"	hlt\n"
"guest_out_end:\n"
"\n"
"	.globl guest_hlt, guest_hlt_end\n"
"guest_hlt:\n"
"	xorw %ax, %ax\n"
"	movw %ax, %ds\n"
	/* IVT entry of WAKE_VECTOR: offset, then segment 0. */
"	movw $(2f - guest_hlt + " __stringify(GUEST_CODE) "), "
	__stringify(WAKE_VECTOR) " * 4\n"
"	movw $0, " __stringify(WAKE_VECTOR) " * 4 + 2\n"
	/* STI's shadow covers HLT: no interrupt slips in between. */
"1:	sti\n"
"	hlt\n"
"	decl %esi\n"
"	jnz 1b\n"
"	cli\n"
"	movw $" __stringify(PORT_DONE) ", %dx\n"
"	outb %al, %dx\n"
"	hlt\n"
"2:	iret\n"
"guest_hlt_end:\n"
"\n"
	/*
	 * The same loops in 64-bit mode.  Page tables, GDT and IDT are
	 * written by this program (long_mode_tables()), as firmware would.
	 */
"	.code64\n"
"	.globl guest64_cpuid, guest64_cpuid_end\n"
"guest64_cpuid:\n"
"1:	xorl %eax, %eax\n"
"	xorl %ecx, %ecx\n"
"	cpuid\n"
"	decl %esi\n"
"	jnz 1b\n"
"	movw $" __stringify(PORT_DONE) ", %dx\n"
"	outb %al, %dx\n"
"	hlt\n"
"guest64_cpuid_end:\n"
"\n"
"	.globl guest64_out, guest64_out_end\n"
"guest64_out:\n"
"1:	outb %al, %dx\n"
"	decl %esi\n"
"	jnz 1b\n"
"	movw $" __stringify(PORT_DONE) ", %dx\n"
"	outb %al, %dx\n"
"	hlt\n"
"guest64_out_end:\n"
"\n"
"	.globl guest64_hlt, guest64_hlt_isr, guest64_hlt_end\n"
"guest64_hlt:\n"
"1:	sti\n"
"	hlt\n"
"	decl %esi\n"
"	jnz 1b\n"
"	cli\n"
"	movw $" __stringify(PORT_DONE) ", %dx\n"
"	outb %al, %dx\n"
"	hlt\n"
"guest64_hlt_isr:\n"
"	iretq\n"
"guest64_hlt_end:\n"
"	.popsection\n");

extern const char guest_cpuid[], guest_cpuid_end[];
extern const char guest_out[], guest_out_end[];
extern const char guest_hlt[], guest_hlt_end[];
extern const char guest64_cpuid[], guest64_cpuid_end[];
extern const char guest64_out[], guest64_out_end[];
extern const char guest64_hlt[], guest64_hlt_isr[], guest64_hlt_end[];

/*
 * The state a guest starts in, in terms both APIs share: the backends
 * copy it field by field into their own structures, so both guests start
 * exactly alike.  ds is loaded into es, fs, gs and ss as well.
 */
struct guest_seg {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type, s, db, l, g;
};

struct guest_state {
	struct guest_seg cs, ds, tr;
	uint64_t gdt_base, idt_base;
	uint16_t gdt_limit, idt_limit;
	uint64_t cr0, cr3, cr4, efer;
	uint64_t rip, rsp, rsi, rdx, rflags;
};

/* An exit, in terms both APIs share. */
enum exit_kind { EXIT_OUT, EXIT_HLT, EXIT_OTHER };

struct guest_exit {
	enum exit_kind kind;
	uint16_t port;
	bool irq_ready;		/* an interrupt injected now is taken */
	unsigned int reason;	/* the backend's own exit reason */
};

struct machine {
	const struct backend *be;
	int sys_fd, vm_fd, vcpu_fd;
	void *run;
	size_t run_size;
	void *mem;
};

/*
 * One hypervisor API.  Every operation returns 0 or -errno, and leaves
 * what it opened in @m for machine_destroy() to close.
 */
struct backend {
	const char *name;
	const char *path;
	/* The API version this program was written for. */
	int api_version;
	int (*get_api_version)(int sys_fd);
	/* One line about the hypervisor, for the report's header. */
	void (*describe)(int sys_fd, char *buf, size_t len);
	int (*create_vm)(struct machine *m);
	int (*add_memory)(struct machine *m, uint32_t slot, uint64_t gpa,
			  void *host, uint64_t size);
	/* Creates the vCPU, maps its run page, gives it a CPUID table. */
	int (*create_vcpu)(struct machine *m);
	/* Loads @st into the vCPU. */
	int (*set_state)(struct machine *m, const struct guest_state *st);
	int (*run)(struct machine *m, struct guest_exit *ex);
	int (*interrupt)(struct machine *m, unsigned int vector);
};

/*
 * kvm_sregs and vmm_sregs, kvm_regs and vmm_regs have the same field
 * names: one macro fills either, so the two setups cannot drift apart.
 */
#define COPY_SEG(dst, src) do {						\
	(dst).base = (src).base;					\
	(dst).limit = (src).limit;					\
	(dst).selector = (src).selector;				\
	(dst).type = (src).type;					\
	(dst).s = (src).s;						\
	(dst).db = (src).db;						\
	(dst).l = (src).l;						\
	(dst).g = (src).g;						\
	(dst).present = 1;						\
	(dst).dpl = 0;							\
	(dst).avl = 0;							\
	(dst).unusable = 0;						\
} while (0)

#define COPY_SREGS(sr, st) do {						\
	COPY_SEG((sr).cs, (st)->cs);					\
	COPY_SEG((sr).ds, (st)->ds);					\
	COPY_SEG((sr).es, (st)->ds);					\
	COPY_SEG((sr).fs, (st)->ds);					\
	COPY_SEG((sr).gs, (st)->ds);					\
	COPY_SEG((sr).ss, (st)->ds);					\
	COPY_SEG((sr).tr, (st)->tr);					\
	(sr).gdt.base = (st)->gdt_base;					\
	(sr).gdt.limit = (st)->gdt_limit;				\
	(sr).idt.base = (st)->idt_base;					\
	(sr).idt.limit = (st)->idt_limit;				\
	(sr).cr0 = (st)->cr0;						\
	(sr).cr3 = (st)->cr3;						\
	(sr).cr4 = (st)->cr4;						\
	(sr).efer = (st)->efer;						\
} while (0)

#define COPY_REGS(regs, st) do {					\
	memset(&(regs), 0, sizeof(regs));				\
	(regs).rip = (st)->rip;						\
	(regs).rsp = (st)->rsp;						\
	(regs).rsi = (st)->rsi;						\
	(regs).rdx = (st)->rdx;						\
	(regs).rflags = (st)->rflags;					\
} while (0)

static int xioctl(int fd, unsigned long req, unsigned long arg)
{
	int ret = ioctl(fd, req, arg);

	return ret < 0 ? -errno : ret;
}

static int xioctl_p(int fd, unsigned long req, void *arg)
{
	return xioctl(fd, req, (unsigned long)arg);
}

static int map_run(struct machine *m, int size)
{
	if (size < 0)
		return size;
	m->run_size = size;
	m->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      m->vcpu_fd, 0);
	if (m->run == MAP_FAILED) {
		m->run = NULL;
		return -errno;
	}
	return 0;
}

/* ---- /dev/vmm ---- */

static int vmm_get_api_version(int sys_fd)
{
	return xioctl(sys_fd, VMM_GET_API_VERSION, 0);
}

static void vmm_describe(int sys_fd, char *buf, size_t len)
{
	static const char *const engines[] = {
		[VMM_ENGINE_NONE] = "none", [VMM_ENGINE_SVM] = "svm",
		[VMM_ENGINE_VMX] = "vmx", [VMM_ENGINE_BT] = "bt",
	};
	int engine = xioctl(sys_fd, VMM_CHECK_CAP, VMM_CAP_ENGINE);
	int npt = xioctl(sys_fd, VMM_CHECK_CAP, VMM_CAP_NESTED_PAGING);
	int levels = xioctl(sys_fd, VMM_CHECK_CAP, VMM_CAP_PAGING_LEVELS);
	int nrips = xioctl(sys_fd, VMM_CHECK_CAP, VMM_CAP_NRIPS);

	snprintf(buf, len, "engine %s, nested paging %s (%d levels), nrips %s",
		 engine >= 0 && engine <= VMM_ENGINE_BT ? engines[engine] : "?",
		 npt > 0 ? "on" : "off", levels, nrips > 0 ? "yes" : "no");
}

static int vmm_create_vm(struct machine *m)
{
	m->vm_fd = xioctl(m->sys_fd, VMM_CREATE_VM, 0);
	return m->vm_fd < 0 ? m->vm_fd : 0;
}

static int vmm_add_memory(struct machine *m, uint32_t slot, uint64_t gpa,
			  void *host, uint64_t size)
{
	struct vmm_memory_slot s = {
		.slot = slot,
		.guest_phys = gpa,
		.size = size,
		.userspace_addr = (uintptr_t)host,
	};

	return xioctl_p(m->vm_fd, VMM_SET_MEMORY_SLOT, &s);
}

static int vmm_create_vcpu(struct machine *m)
{
	struct vmm_cpuid *cpuid;
	int ret;

	cpuid = calloc(1, sizeof(*cpuid) +
		       MAX_CPUID * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = MAX_CPUID;
	ret = xioctl_p(m->sys_fd, VMM_GET_SUPPORTED_CPUID, cpuid);
	if (!ret)
		ret = xioctl_p(m->vm_fd, VMM_SET_CPUID, cpuid);
	free(cpuid);
	if (ret)
		return ret;

	m->vcpu_fd = xioctl(m->vm_fd, VMM_CREATE_VCPU, 0);
	if (m->vcpu_fd < 0)
		return m->vcpu_fd;
	return map_run(m, xioctl(m->sys_fd, VMM_GET_RUN_SIZE, 0));
}

static int vmm_set_state(struct machine *m, const struct guest_state *st)
{
	struct vmm_sregs sregs;
	struct vmm_regs regs;
	int ret;

	/* Start from the vCPU's own values for what @st does not name. */
	ret = xioctl_p(m->vcpu_fd, VMM_GET_SREGS, &sregs);
	if (ret)
		return ret;
	COPY_SREGS(sregs, st);
	ret = xioctl_p(m->vcpu_fd, VMM_SET_SREGS, &sregs);
	if (ret)
		return ret;
	COPY_REGS(regs, st);
	return xioctl_p(m->vcpu_fd, VMM_SET_REGS, &regs);
}

static int vmm_run(struct machine *m, struct guest_exit *ex)
{
	struct vmm_run *run = m->run;
	int ret = xioctl(m->vcpu_fd, VMM_RUN, 0);

	if (ret)
		return ret;
	ex->reason = run->exit_reason;
	ex->irq_ready = run->ready_for_interrupt_injection;
	ex->kind = EXIT_OTHER;
	if (run->exit_reason == VMM_EXIT_IO &&
	    run->io.direction == VMM_EXIT_IO_OUT) {
		ex->kind = EXIT_OUT;
		ex->port = run->io.port;
	} else if (run->exit_reason == VMM_EXIT_HLT) {
		ex->kind = EXIT_HLT;
	}
	return 0;
}

static int vmm_interrupt(struct machine *m, unsigned int vector)
{
	struct vmm_interrupt irq = { .vector = vector };

	return xioctl_p(m->vcpu_fd, VMM_INTERRUPT, &irq);
}

static const struct backend vmm_backend = {
	.name = "vmm",
	.path = "/dev/vmm",
	.api_version = VMM_API_VERSION,
	.get_api_version = vmm_get_api_version,
	.describe = vmm_describe,
	.create_vm = vmm_create_vm,
	.add_memory = vmm_add_memory,
	.create_vcpu = vmm_create_vcpu,
	.set_state = vmm_set_state,
	.run = vmm_run,
	.interrupt = vmm_interrupt,
};

/* ---- /dev/kvm ---- */

static int kvm_get_api_version(int sys_fd)
{
	return xioctl(sys_fd, KVM_GET_API_VERSION, 0);
}

static void kvm_describe(int sys_fd, char *buf, size_t len)
{
	/* Without an in-kernel irqchip KVM exits on HLT, as we do. */
	snprintf(buf, len, "userspace irqchip, max vcpus %d",
		 xioctl(sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS));
}

static int kvm_create_vm(struct machine *m)
{
	m->vm_fd = xioctl(m->sys_fd, KVM_CREATE_VM, 0);
	return m->vm_fd < 0 ? m->vm_fd : 0;
}

static int kvm_add_memory(struct machine *m, uint32_t slot, uint64_t gpa,
			  void *host, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	return xioctl_p(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

static int kvm_create_vcpu(struct machine *m)
{
	struct kvm_cpuid2 *cpuid;
	int ret;

	m->vcpu_fd = xioctl(m->vm_fd, KVM_CREATE_VCPU, 0);
	if (m->vcpu_fd < 0)
		return m->vcpu_fd;
	ret = map_run(m, xioctl(m->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0));
	if (ret)
		return ret;

	/* KVM's table is per vCPU and must be set before the first run. */
	cpuid = calloc(1, sizeof(*cpuid) +
		       MAX_CPUID * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = MAX_CPUID;
	ret = xioctl_p(m->sys_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
	if (!ret)
		ret = xioctl_p(m->vcpu_fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	return ret;
}

static int kvm_set_state(struct machine *m, const struct guest_state *st)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int ret;

	/* Start from the vCPU's own values for what @st does not name. */
	ret = xioctl_p(m->vcpu_fd, KVM_GET_SREGS, &sregs);
	if (ret)
		return ret;
	COPY_SREGS(sregs, st);
	ret = xioctl_p(m->vcpu_fd, KVM_SET_SREGS, &sregs);
	if (ret)
		return ret;
	COPY_REGS(regs, st);
	return xioctl_p(m->vcpu_fd, KVM_SET_REGS, &regs);
}

static int kvm_run(struct machine *m, struct guest_exit *ex)
{
	struct kvm_run *run = m->run;
	int ret = xioctl(m->vcpu_fd, KVM_RUN, 0);

	if (ret)
		return ret;
	ex->reason = run->exit_reason;
	ex->irq_ready = run->ready_for_interrupt_injection;
	ex->kind = EXIT_OTHER;
	if (run->exit_reason == KVM_EXIT_IO &&
	    run->io.direction == KVM_EXIT_IO_OUT) {
		ex->kind = EXIT_OUT;
		ex->port = run->io.port;
	} else if (run->exit_reason == KVM_EXIT_HLT) {
		ex->kind = EXIT_HLT;
	}
	return 0;
}

static int kvm_interrupt(struct machine *m, unsigned int vector)
{
	struct kvm_interrupt irq = { .irq = vector };

	return xioctl_p(m->vcpu_fd, KVM_INTERRUPT, &irq);
}

static const struct backend kvm_backend = {
	.name = "kvm",
	.path = "/dev/kvm",
	.api_version = KVM_API_VERSION,
	.get_api_version = kvm_get_api_version,
	.describe = kvm_describe,
	.create_vm = kvm_create_vm,
	.add_memory = kvm_add_memory,
	.create_vcpu = kvm_create_vcpu,
	.set_state = kvm_set_state,
	.run = kvm_run,
	.interrupt = kvm_interrupt,
};

/* ---- the shared part ---- */

enum { BE_VMM, BE_KVM, NR_BACKENDS };

static const struct backend *const backends[NR_BACKENDS] = {
	[BE_VMM] = &vmm_backend,
	[BE_KVM] = &kvm_backend,
};

enum guest_mode { MODE_REAL, MODE_LONG, NR_MODES };
enum bench_kind { KIND_CPUID, KIND_OUT, KIND_HLT, NR_KINDS };

static const char *const mode_names[NR_MODES] = {
	[MODE_REAL] = "real mode",
	[MODE_LONG] = "long mode",
};

/* What each kind measures, and the goal the issue set for it. */
static const struct {
	const char *label;
	/* Round trips to userspace the guest makes per iteration. */
	unsigned int ticks_per_iter;
	const char *goal_label;
	double goal;		/* vmm/kvm ratio to reach */
} kinds[NR_KINDS] = {
	[KIND_CPUID] = { "cpuid (in-kernel exit)", 0,
			 "in-kernel exit", 0.6 },
	[KIND_OUT] = { "out (userspace round trip)", 1,
		       "userspace round trip", 0.7 },
	/* Also a trip through userspace, plus an injection. */
	[KIND_HLT] = { "hlt -> interrupt -> wake", 1,
		       "hlt wake via userspace", 0.7 },
};

struct bench {
	enum bench_kind kind;
	enum guest_mode mode;
	const char *start, *end;
	const char *isr;	/* long mode: the interrupt handler */
};

#define NR_BENCH	(NR_MODES * NR_KINDS)

static const struct bench benches[NR_BENCH] = {
	{ KIND_CPUID, MODE_REAL, guest_cpuid, guest_cpuid_end, NULL },
	{ KIND_OUT, MODE_REAL, guest_out, guest_out_end, NULL },
	{ KIND_HLT, MODE_REAL, guest_hlt, guest_hlt_end, NULL },
	{ KIND_CPUID, MODE_LONG, guest64_cpuid, guest64_cpuid_end, NULL },
	{ KIND_OUT, MODE_LONG, guest64_out, guest64_out_end, NULL },
	{ KIND_HLT, MODE_LONG, guest64_hlt, guest64_hlt_end,
	  guest64_hlt_isr },
};

/* Why a backend has no column: set once, printed with the table. */
static char unavailable[NR_BACKENDS][160];

static void machine_destroy(struct machine *m)
{
	/* The mapping holds the vCPU, and the vCPU the VM: unmap first. */
	if (m->run)
		munmap(m->run, m->run_size);
	if (m->vcpu_fd >= 0)
		close(m->vcpu_fd);
	if (m->vm_fd >= 0)
		close(m->vm_fd);
	if (m->sys_fd >= 0)
		close(m->sys_fd);
	if (m->mem)
		munmap(m->mem, GUEST_MEM_SIZE);
}

/* Flat real mode: every segment at 0, the IVT at 0. */
static void real_mode_state(struct guest_state *st)
{
	const struct guest_seg data = {
		.limit = 0xffff, .type = 0x3, .s = 1,	/* read/write */
	};

	st->cs = data;
	st->cs.type = 0xb;			/* execute/read */
	st->ds = data;
	st->tr = data;
	st->tr.type = 0x3;			/* busy 16-bit TSS */
	st->tr.s = 0;
	st->idt_limit = 0x3ff;
	st->cr0 = X86_CR0_ET;
}

/*
 * 64-bit mode, as firmware would leave it: this program writes a GDT,
 * an IDT with one gate (WAKE_VECTOR, to @isr) and page tables that map
 * the first 2 MiB with one large page.
 */
static void long_mode_state(struct guest_state *st, void *mem, uint64_t isr)
{
	uint64_t *gdt = (uint64_t *)((char *)mem + LM_GDT);
	uint64_t *gate = (uint64_t *)((char *)mem + LM_IDT) + 2 * WAKE_VECTOR;
	uint64_t *pml4 = (uint64_t *)((char *)mem + LM_PML4);
	uint64_t *pdpt = pml4 + 512, *pd = pdpt + 512;

	gdt[1] = 0x00af9a000000ffffull;		/* 0x08: 64-bit code */
	gdt[2] = 0x00cf92000000ffffull;		/* 0x10: data */
	/* Interrupt gate, present, DPL 0, to 0x08:isr. */
	gate[0] = (isr & 0xffff) | 0x08 << 16 | 0x8e00ull << 32 |
		  (isr >> 16 & 0xffff) << 48;
	gate[1] = isr >> 32;
	pml4[0] = (LM_PML4 + 0x1000) | 3;	/* present, writable */
	pdpt[0] = (LM_PML4 + 0x2000) | 3;
	pd[0] = 0x83;				/* 2 MiB page at 0 */

	st->cs = (struct guest_seg){ .limit = 0xffffffff, .selector = 0x08,
				     .type = 0xb, .s = 1, .l = 1, .g = 1 };
	st->ds = (struct guest_seg){ .limit = 0xffffffff, .selector = 0x10,
				     .type = 0x3, .s = 1, .db = 1, .g = 1 };
	st->tr = (struct guest_seg){ .limit = 0x67,
				     .type = 0xb };	/* busy 64-bit TSS */
	st->gdt_base = LM_GDT;
	st->gdt_limit = 3 * 8 - 1;
	st->idt_base = LM_IDT;
	st->idt_limit = 16 * (WAKE_VECTOR + 1) - 1;
	st->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
	st->cr3 = LM_PML4;
	st->cr4 = X86_CR4_PAE;
	st->efer = EFER_LME | EFER_LMA;
}

/*
 * machine_create - a VM with one vCPU at GUEST_CODE, running the guest
 * code of @b with @iters iterations.  Returns 0, or -errno with *@step
 * naming what failed.
 */
static int machine_create(struct machine *m, const struct backend *be,
			  const struct bench *b, unsigned long iters,
			  const char **step)
{
	struct guest_state st = {
		.rip = GUEST_CODE,
		.rsp = GUEST_STACK,
		.rsi = iters,
		.rdx = PORT_TICK,
		.rflags = 0x2,
	};
	int ret;

	memset(m, 0, sizeof(*m));
	m->be = be;
	m->sys_fd = m->vm_fd = m->vcpu_fd = -1;

	*step = "open";
	m->sys_fd = open(be->path, O_RDWR | O_CLOEXEC);
	if (m->sys_fd < 0)
		return -errno;
	*step = "allocate guest memory";
	m->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->mem == MAP_FAILED) {
		m->mem = NULL;
		return -errno;
	}
	memcpy((char *)m->mem + GUEST_CODE, b->start, b->end - b->start);
	if (b->mode == MODE_LONG)
		long_mode_state(&st, m->mem, GUEST_CODE +
				(b->isr ? b->isr - b->start : 0));
	else
		real_mode_state(&st);

	*step = "create VM";
	ret = be->create_vm(m);
	if (ret)
		return ret;
	*step = "add memory";
	ret = be->add_memory(m, 0, 0, m->mem, GUEST_MEM_SIZE);
	if (ret)
		return ret;
	*step = "create vCPU";
	ret = be->create_vcpu(m);
	if (ret)
		return ret;
	*step = "set registers";
	return be->set_state(m, &st);
}

static double elapsed_ns(const struct timespec *t0, const struct timespec *t1)
{
	return (t1->tv_sec - t0->tv_sec) * 1e9 + (t1->tv_nsec - t0->tv_nsec);
}

/*
 * run_guest - run one measurement to its end.  Returns ns per iteration,
 * or a negative value after printing why.
 */
static double run_guest(const struct backend *be, const struct bench *b,
			unsigned long iters)
{
	const char *label = kinds[b->kind].label, *mode = mode_names[b->mode];
	unsigned long ticks = 0, want = iters * kinds[b->kind].ticks_per_iter;
	struct timespec t0, t1;
	struct machine m;
	struct guest_exit ex;
	const char *step;
	double ns = -1;
	int ret;

	ret = machine_create(&m, be, b, iters, &step);
	if (ret) {
		fprintf(stderr, "%s: %s, %s: %s failed: %s\n", be->name, label,
			mode, step, strerror(-ret));
		goto out;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ret = be->run(&m, &ex);
		if (ret == -EINTR)
			continue;
		if (ret) {
			fprintf(stderr, "%s: %s, %s: run failed: %s\n",
				be->name, label, mode, strerror(-ret));
			goto out;
		}
		if (ex.kind == EXIT_OUT && ex.port == PORT_TICK) {
			ticks++;
		} else if (ex.kind == EXIT_OUT && ex.port == PORT_DONE) {
			break;
		} else if (ex.kind == EXIT_HLT && ex.irq_ready &&
			   b->kind == KIND_HLT) {
			ret = be->interrupt(&m, WAKE_VECTOR);
			if (ret) {
				fprintf(stderr, "%s: %s, %s: interrupt failed: %s\n",
					be->name, label, mode, strerror(-ret));
				goto out;
			}
			ticks++;
		} else {
			fprintf(stderr, "%s: %s, %s: unexpected exit (reason %u%s, port %#x) after %lu round trips\n",
				be->name, label, mode, ex.reason,
				ex.kind == EXIT_HLT ? ", hlt not ready for an interrupt" : "",
				ex.kind == EXIT_OUT ? ex.port : 0, ticks);
			goto out;
		}
		if (ticks > want)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	/* A guest that skipped iterations would look fast: check. */
	if (ticks != want) {
		fprintf(stderr, "%s: %s, %s: the guest made %lu round trips, expected %lu\n",
			be->name, label, mode, ticks, want);
		goto out;
	}
	ns = elapsed_ns(&t0, &t1) / iters;
out:
	machine_destroy(&m);
	return ns;
}

static double baseline_getppid(unsigned long iters)
{
	struct timespec t0, t1;
	unsigned long i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Straight to the kernel: no libc caching can skip it. */
	for (i = 0; i < iters; i++)
		syscall(SYS_getppid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return elapsed_ns(&t0, &t1) / iters;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Opens the device once to tell "absent" from "present": 0 or -1. */
static int probe(int i)
{
	const struct backend *be = backends[i];
	char desc[120];
	int fd, ver;

	fd = open(be->path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(unavailable[i], sizeof(unavailable[i]),
			 "%s: %s (%s) - column is n/a", be->path,
			 strerror(errno), errno == ENOENT ?
			 (i == BE_VMM ? "is vmm.ko loaded?" :
			  "are kvm and kvm-amd/kvm-intel loaded?") :
			 "cannot open");
		return -1;
	}
	ver = be->get_api_version(fd);
	if (ver != be->api_version) {
		snprintf(unavailable[i], sizeof(unavailable[i]),
			 "%s: API version %d, this program knows %d - column is n/a",
			 be->path, ver, be->api_version);
		close(fd);
		return -1;
	}
	be->describe(fd, desc, sizeof(desc));
	printf("%s: %s API %d, %s\n", be->name, be->path, ver, desc);
	close(fd);
	return 0;
}

static void print_help(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n iterations] [-r runs] [-b vmm|kvm|both] [-m real|long|both] [-v]\n"
		"  -n  guest loop iterations per run (default 50000)\n"
		"  -r  runs per measurement; the median is reported (default 5)\n"
		"  -b  which hypervisors to measure (default both)\n"
		"  -m  which guest modes to measure (default both)\n"
		"  -v  print every run\n", prog);
}

/* "a", "b" or "both" into two flags; false for anything else. */
static bool parse_pair(const char *arg, const char *a, const char *b,
		       bool *want_a, bool *want_b)
{
	*want_a = !strcmp(arg, a) || !strcmp(arg, "both");
	*want_b = !strcmp(arg, b) || !strcmp(arg, "both");
	return *want_a || *want_b;
}

static void print_ns(double ns)
{
	if (ns < 0)
		printf(" %11s |", "n/a");
	else
		printf(" %11.0f |", ns);
}

static double ratio(const double *res)
{
	if (res[BE_VMM] <= 0 || res[BE_KVM] <= 0)
		return -1;
	return res[BE_VMM] / res[BE_KVM];
}

int main(int argc, char **argv)
{
	unsigned long iters = 50000;
	unsigned int runs = 5, r, k, i, j, n[NR_BENCH][NR_BACKENDS] = { 0 };
	bool want[NR_BACKENDS], have[NR_BACKENDS], modes[NR_MODES];
	bool failed[NR_BENCH][NR_BACKENDS] = { 0 };
	bool verbose = false, any = false, error = false;
	double *samples[NR_BENCH][NR_BACKENDS], *base;
	double result[NR_BENCH][NR_BACKENDS], spread = 0;
	int opt;

	want[BE_VMM] = want[BE_KVM] = true;
	modes[MODE_REAL] = modes[MODE_LONG] = true;
	while ((opt = getopt(argc, argv, "n:r:b:m:vh")) != -1) {
		switch (opt) {
		case 'n':
			iters = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			runs = strtoul(optarg, NULL, 0);
			break;
		case 'b':
			if (!parse_pair(optarg, "vmm", "kvm", &want[BE_VMM],
					&want[BE_KVM])) {
				print_help(argv[0]);
				return 2;
			}
			break;
		case 'm':
			if (!parse_pair(optarg, "real", "long",
					&modes[MODE_REAL], &modes[MODE_LONG])) {
				print_help(argv[0]);
				return 2;
			}
			break;
		case 'v':
			verbose = true;
			break;
		default:
			print_help(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!iters || !runs || iters > UINT32_MAX) {
		print_help(argv[0]);
		return 2;
	}

	for (i = 0; i < NR_BACKENDS; i++) {
		have[i] = false;
		if (!want[i])
			snprintf(unavailable[i], sizeof(unavailable[i]),
				 "%s: not asked for (-b) - column is n/a",
				 backends[i]->name);
		else
			have[i] = !probe(i);
		any |= have[i];
	}
	for (i = 0; i < NR_BACKENDS; i++)
		if (!have[i])
			printf("%s\n", unavailable[i]);
	if (!any) {
		fprintf(stderr, "vmm-bench: no hypervisor to measure\n");
		return 2;
	}

	base = calloc(runs, sizeof(*base));
	for (k = 0; k < NR_BENCH; k++)
		for (i = 0; i < NR_BACKENDS; i++)
			samples[k][i] = calloc(runs, sizeof(double));

	printf("%lu iterations per run, median of %u runs, CLOCK_MONOTONIC\n",
	       iters, runs);
	fflush(stdout);
	/*
	 * Backends take turns within each round, so that a slow phase of
	 * the machine (the emulator's code cache filling, another program
	 * running) hits both.
	 * Each run has its own VM: on Linux 6.1 KVM holds SVM on only
	 * while one of its VMs exists, and so do we.  A measurement that
	 * fails once is not tried again; the others go on.
	 */
	for (r = 0; r < runs; r++) {
		base[r] = baseline_getppid(iters);
		for (k = 0; k < NR_BENCH; k++) {
			const struct bench *b = &benches[k];

			if (!modes[b->mode])
				continue;
			for (j = 0; j < NR_BACKENDS; j++) {
				double ns;

				/* Who goes first alternates, against bias. */
				i = (j + r) % NR_BACKENDS;
				if (!have[i] || failed[k][i])
					continue;
				ns = run_guest(backends[i], b, iters);
				if (ns < 0) {
					failed[k][i] = error = true;
					continue;
				}
				samples[k][i][n[k][i]++] = ns;
				if (verbose)
					printf("run %u: %s, %s: %s %.0f ns\n",
					       r, kinds[b->kind].label,
					       mode_names[b->mode],
					       backends[i]->name, ns);
			}
		}
		if (verbose)
			fflush(stdout);
	}

	for (k = 0; k < NR_BENCH; k++) {
		for (i = 0; i < NR_BACKENDS; i++) {
			double *v = samples[k][i];

			result[k][i] = -1;
			if (!n[k][i] || failed[k][i])
				continue;
			/* median() sorts: the extremes are at the ends. */
			result[k][i] = median(v, n[k][i]);
			if ((v[n[k][i] - 1] - v[0]) / result[k][i] > spread)
				spread = (v[n[k][i] - 1] - v[0]) / result[k][i];
		}
	}

	printf("\n| %-38s | vmm ns/exit | kvm ns/exit | ratio vmm/kvm |\n",
	       "exit kind");
	printf("|----------------------------------------|-------------|-------------|---------------|\n");
	for (k = 0; k < NR_BENCH; k++) {
		const struct bench *b = &benches[k];
		char label[64];

		if (!modes[b->mode])
			continue;
		snprintf(label, sizeof(label), "%s, %s",
			 kinds[b->kind].label, mode_names[b->mode]);
		printf("| %-38s |", label);
		print_ns(result[k][BE_VMM]);
		print_ns(result[k][BE_KVM]);
		if (ratio(result[k]) > 0)
			printf(" %13.2f |\n", ratio(result[k]));
		else
			printf(" %13s |\n", "n/a");
	}
	printf("\nscale: a getppid() system call on this machine takes %.0f ns\n",
	       median(base, runs));

	/* The machine's noise, so that a ratio near a goal is read right. */
	printf("spread: the runs of one measurement differ by up to %.0f%% of their median\n",
	       spread * 100);
	printf("goals, vmm/kvm:\n");
	for (k = 0; k < NR_BENCH; k++) {
		const struct bench *b = &benches[k];
		double q = ratio(result[k]);

		if (!modes[b->mode])
			continue;
		printf("  %-24s <= %.1fx, %s: ", kinds[b->kind].goal_label,
		       kinds[b->kind].goal, mode_names[b->mode]);
		if (q > 0)
			printf("%s (%.2f)\n", q <= kinds[b->kind].goal ?
			       "met" : "NOT met", q);
		else
			printf("n/a\n");
	}

	for (k = 0; k < NR_BENCH; k++)
		for (i = 0; i < NR_BACKENDS; i++)
			if (failed[k][i])
				printf("%s: %s, %s: FAILED, see the messages above\n",
				       backends[i]->name,
				       kinds[benches[k].kind].label,
				       mode_names[benches[k].mode]);
	return error ? 1 : 0;
}
