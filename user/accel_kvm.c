// SPDX-License-Identifier: GPL-2.0
/*
 * accel_kvm - vmm-run on /dev/kvm: the peer vmm is measured against, and
 * a way to use vmm-run on stock kernels.  Registers are translated
 * between KVM's structures and vmm's (the common format, accel.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#include "accel.h"

/* Above the IOAPIC and LAPIC, below the BIOS ROM: VMX wants 4 pages. */
#define KVM_TSS_ADDR		0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR	0xfffbc000ULL
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define KVM_CPUID_MAX		256
#define IOAPIC_PINS		24

struct accel_vm {
	int sys_fd;
	int fd;
	int run_size;
	struct kvm_cpuid2 *cpuid;	/* what KVM supports, for every vCPU */
};

struct accel_vcpu {
	struct accel_vm *vm;
	int fd;
	struct kvm_run *run;
};

static struct accel_vm *kvm_vm_create(void)
{
	struct accel_vm *vm = calloc(1, sizeof(*vm));
	int n = KVM_CPUID_MAX;

	if (!vm)
		return NULL;
	vm->fd = -1;
	vm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->sys_fd < 0) {
		fprintf(stderr, "vmm-run: /dev/kvm: %s (is kvm-amd or kvm-intel loaded?)\n",
			strerror(errno));
		goto fail;
	}
	if (ioctl(vm->sys_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		fprintf(stderr, "vmm-run: /dev/kvm has an unknown API version\n");
		goto fail;
	}
	vm->run_size = ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->fd = ioctl(vm->sys_fd, KVM_CREATE_VM, 0);
	if (vm->run_size <= 0 || vm->fd < 0) {
		fprintf(stderr, "vmm-run: KVM_CREATE_VM: %s\n", strerror(errno));
		goto fail;
	}
	/* Only VMX needs them; on SVM they are accepted and unused. */
	ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR);
	{
		__u64 ident = KVM_IDENTITY_MAP_ADDR;

		ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &ident);
	}
	vm->cpuid = calloc(1, sizeof(*vm->cpuid) +
			   n * sizeof(struct kvm_cpuid_entry2));
	if (!vm->cpuid)
		goto fail;
	vm->cpuid->nent = n;
	if (ioctl(vm->sys_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0) {
		fprintf(stderr, "vmm-run: KVM_GET_SUPPORTED_CPUID: %s\n",
			strerror(errno));
		goto fail;
	}
	return vm;
fail:
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->sys_fd >= 0)
		close(vm->sys_fd);
	free(vm->cpuid);
	free(vm);
	return NULL;
}

static void kvm_vm_destroy(struct accel_vm *vm)
{
	close(vm->fd);
	close(vm->sys_fd);
	free(vm->cpuid);
	free(vm);
}

static int kvm_set_memory(struct accel_vm *vm, uint32_t slot, uint64_t gpa,
			  uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r);
}

/*
 * KVM's default routing sends GSI 0 to IOAPIC pin 0; the MADT (and vmm's
 * irqchip) say pin 2, as PC chipsets wire the PIT.  GSIs 0-15 also reach
 * the PICs (2 is their cascade).
 */
static int kvm_set_routing(struct accel_vm *vm)
{
	struct kvm_irq_routing *r;
	unsigned int gsi, n = 0;
	int ret;

	r = calloc(1, sizeof(*r) + 48 * sizeof(r->entries[0]));
	if (!r)
		return -1;
	for (gsi = 0; gsi < 16; gsi++) {
		if (gsi == 2)
			continue;
		r->entries[n].gsi = gsi;
		r->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		r->entries[n].u.irqchip.irqchip =
			gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		r->entries[n].u.irqchip.pin = gsi % 8;
		n++;
	}
	for (gsi = 0; gsi < IOAPIC_PINS; gsi++) {
		if (gsi == 2)
			continue;
		r->entries[n].gsi = gsi;
		r->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		r->entries[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		r->entries[n].u.irqchip.pin = gsi ? gsi : 2;
		n++;
	}
	r->nr = n;
	ret = ioctl(vm->fd, KVM_SET_GSI_ROUTING, r);
	free(r);
	return ret;
}

static int kvm_create_irqchip(struct accel_vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return -1;
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		return -1;
	return kvm_set_routing(vm);
}

static int kvm_irq_line(struct accel_vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = !!level };

	return ioctl(vm->fd, KVM_IRQ_LINE, &l);
}

static int kvm_signal_msi(struct accel_vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = addr >> 32,
		.data = data,
	};

	return ioctl(vm->fd, KVM_SIGNAL_MSI, &msi) < 0 ? -1 : 0;
}

/*
 * The supported table with this vCPU's APIC ID in the leaves that carry
 * one: 1 (EBX[31:24]), 0xb and 0x1f (x2APIC ID in EDX), and the AMD
 * extended APIC ID (0x8000001e EAX).
 */
static int kvm_set_cpuid(struct accel_vcpu *vcpu, unsigned int id)
{
	struct kvm_cpuid2 *src = vcpu->vm->cpuid, *c;
	size_t size = sizeof(*c) + src->nent * sizeof(c->entries[0]);
	unsigned int i;
	int ret;

	c = malloc(size);
	if (!c)
		return -1;
	memcpy(c, src, size);
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x00ffffff) | (id << 24);
			break;
		case 0xb:
		case 0x1f:
			e->edx = id;
			break;
		case 0x8000001e:
			e->eax = id;
			break;
		}
	}
	ret = ioctl(vcpu->fd, KVM_SET_CPUID2, c);
	free(c);
	return ret;
}

/*
 * XCR0 from the start as Linux will set it (every user state KVM offers,
 * CPUID 0xd.0 EDX:EAX), where firmware would leave 1.  On a real CPU
 * the guest's XSETBV exits and KVM follows it either way; under QEMU TCG
 * (the test machine) XSETBV in a nested guest does not exit, so KVM never
 * learns the guest's XCR0: it would keep reloading 1 at every entry and
 * report a CPUID 0xd size that makes Linux WARN.
 */
static int kvm_set_xcr0(struct accel_vcpu *vcpu)
{
	struct kvm_cpuid2 *c = vcpu->vm->cpuid;
	struct kvm_xcrs xcrs = { .nr_xcrs = 1 };
	bool xsave = false;
	uint64_t mask = 0;
	unsigned int i;

	for (i = 0; i < c->nent; i++) {
		if (c->entries[i].function == 1)
			xsave = c->entries[i].ecx & (1u << 26);
		if (c->entries[i].function == 0xd && c->entries[i].index == 0)
			mask = c->entries[i].eax |
			       (uint64_t)c->entries[i].edx << 32;
	}
	if (!xsave || !(mask & 1))
		return 0;
	xcrs.xcrs[0].xcr = 0;
	xcrs.xcrs[0].value = mask;
	return ioctl(vcpu->fd, KVM_SET_XCRS, &xcrs);
}

static struct accel_vcpu *kvm_vcpu_create(struct accel_vm *vm, unsigned int id,
					  unsigned int nr_vcpus)
{
	struct accel_vcpu *vcpu = calloc(1, sizeof(*vcpu));
	int saved;

	(void)nr_vcpus;
	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0)
		goto fail;
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		goto fail;
	}
	if (kvm_set_cpuid(vcpu, id) < 0 || kvm_set_xcr0(vcpu) < 0)
		goto fail;
	return vcpu;
fail:
	saved = errno;
	if (vcpu->run)
		munmap(vcpu->run, vm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	free(vcpu);
	errno = saved;
	return NULL;
}

static void kvm_vcpu_destroy(struct accel_vcpu *vcpu)
{
	munmap(vcpu->run, vcpu->vm->run_size);
	close(vcpu->fd);
	free(vcpu);
}

static int kvm_run(struct accel_vcpu *vcpu, struct accel_exit *exit)
{
	struct kvm_run *run = vcpu->run;

	if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			exit->kind = ACCEL_EXIT_INTR;
			return 0;
		}
		return -1;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		exit->kind = ACCEL_EXIT_IO;
		exit->io.out = run->io.direction == KVM_EXIT_IO_OUT;
		exit->io.size = run->io.size;
		exit->io.port = run->io.port;
		exit->io.count = run->io.count;
		exit->io.data = (char *)run + run->io.data_offset;
		exit->io.has_pci_cf8 = false;
		/* Never trust a length into our own memory blindly. */
		if (run->io.data_offset + (uint64_t)run->io.count *
		    run->io.size > (uint64_t)vcpu->vm->run_size) {
			exit->kind = ACCEL_EXIT_UNKNOWN;
			exit->hw_reason = run->exit_reason;
		}
		break;
	case KVM_EXIT_MMIO:
		exit->kind = ACCEL_EXIT_MMIO;
		exit->mmio.addr = run->mmio.phys_addr;
		exit->mmio.data = run->mmio.data;
		exit->mmio.len = run->mmio.len;
		exit->mmio.write = run->mmio.is_write;
		break;
	case KVM_EXIT_HLT:
		exit->kind = ACCEL_EXIT_HLT;
		break;
	case KVM_EXIT_SHUTDOWN:
		/* KVM has INITed the vCPU already: the fault's state is gone. */
		exit->kind = ACCEL_EXIT_SHUTDOWN;
		exit->crash.known = false;
		break;
	case KVM_EXIT_FAIL_ENTRY:
		exit->kind = ACCEL_EXIT_FAIL_ENTRY;
		exit->hw_reason =
			run->fail_entry.hardware_entry_failure_reason;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		accel_exit_internal(exit, run->internal.suberror,
				    run->internal.ndata, run->internal.data);
		break;
	case KVM_EXIT_INTR:
		exit->kind = ACCEL_EXIT_INTR;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			exit->kind = ACCEL_EXIT_POWEROFF;
			break;
		}
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			exit->kind = ACCEL_EXIT_RESET;
			break;
		}
		/* fall through */
	default:
		exit->kind = ACCEL_EXIT_UNKNOWN;
		exit->hw_reason = run->exit_reason;
		break;
	}
	return 0;
}

static void kvm_kick(struct accel_vcpu *vcpu)
{
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

static int kvm_get_regs(struct accel_vcpu *vcpu, struct vmm_regs *r)
{
	struct kvm_regs k;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &k) < 0)
		return -1;
	*r = (struct vmm_regs){
		.rax = k.rax, .rbx = k.rbx, .rcx = k.rcx, .rdx = k.rdx,
		.rsi = k.rsi, .rdi = k.rdi, .rsp = k.rsp, .rbp = k.rbp,
		.r8 = k.r8, .r9 = k.r9, .r10 = k.r10, .r11 = k.r11,
		.r12 = k.r12, .r13 = k.r13, .r14 = k.r14, .r15 = k.r15,
		.rip = k.rip, .rflags = k.rflags,
	};
	return 0;
}

static int kvm_set_regs(struct accel_vcpu *vcpu, const struct vmm_regs *r)
{
	struct kvm_regs k = {
		.rax = r->rax, .rbx = r->rbx, .rcx = r->rcx, .rdx = r->rdx,
		.rsi = r->rsi, .rdi = r->rdi, .rsp = r->rsp, .rbp = r->rbp,
		.r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11,
		.r12 = r->r12, .r13 = r->r13, .r14 = r->r14, .r15 = r->r15,
		.rip = r->rip, .rflags = r->rflags,
	};

	return ioctl(vcpu->fd, KVM_SET_REGS, &k);
}

static void seg_from_kvm(struct vmm_segment *v, const struct kvm_segment *k)
{
	*v = (struct vmm_segment){
		.base = k->base, .limit = k->limit, .selector = k->selector,
		.type = k->type, .present = k->present, .dpl = k->dpl,
		.db = k->db, .s = k->s, .l = k->l, .g = k->g, .avl = k->avl,
		.unusable = k->unusable,
	};
}

static void seg_to_kvm(struct kvm_segment *k, const struct vmm_segment *v)
{
	*k = (struct kvm_segment){
		.base = v->base, .limit = v->limit, .selector = v->selector,
		.type = v->type, .present = v->present, .dpl = v->dpl,
		.db = v->db, .s = v->s, .l = v->l, .g = v->g, .avl = v->avl,
		.unusable = v->unusable,
	};
}

static int kvm_get_sregs(struct accel_vcpu *vcpu, struct vmm_sregs *s)
{
	struct kvm_sregs k;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &k) < 0)
		return -1;
	memset(s, 0, sizeof(*s));
	seg_from_kvm(&s->cs, &k.cs);
	seg_from_kvm(&s->ds, &k.ds);
	seg_from_kvm(&s->es, &k.es);
	seg_from_kvm(&s->fs, &k.fs);
	seg_from_kvm(&s->gs, &k.gs);
	seg_from_kvm(&s->ss, &k.ss);
	seg_from_kvm(&s->tr, &k.tr);
	seg_from_kvm(&s->ldt, &k.ldt);
	s->gdt.base = k.gdt.base;
	s->gdt.limit = k.gdt.limit;
	s->idt.base = k.idt.base;
	s->idt.limit = k.idt.limit;
	s->cr0 = k.cr0;
	s->cr2 = k.cr2;
	s->cr3 = k.cr3;
	s->cr4 = k.cr4;
	s->cr8 = k.cr8;
	s->efer = k.efer;
	s->apic_base = k.apic_base;
	return 0;
}

static int kvm_set_sregs(struct accel_vcpu *vcpu, const struct vmm_sregs *s)
{
	struct kvm_sregs k;

	/* Read first: the pending-interrupt bitmap stays as it is. */
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &k) < 0)
		return -1;
	seg_to_kvm(&k.cs, &s->cs);
	seg_to_kvm(&k.ds, &s->ds);
	seg_to_kvm(&k.es, &s->es);
	seg_to_kvm(&k.fs, &s->fs);
	seg_to_kvm(&k.gs, &s->gs);
	seg_to_kvm(&k.ss, &s->ss);
	seg_to_kvm(&k.tr, &s->tr);
	seg_to_kvm(&k.ldt, &s->ldt);
	k.gdt.base = s->gdt.base;
	k.gdt.limit = s->gdt.limit;
	k.idt.base = s->idt.base;
	k.idt.limit = s->idt.limit;
	k.cr0 = s->cr0;
	k.cr2 = s->cr2;
	k.cr3 = s->cr3;
	k.cr4 = s->cr4;
	k.cr8 = s->cr8;
	k.efer = s->efer;
	k.apic_base = s->apic_base;
	return ioctl(vcpu->fd, KVM_SET_SREGS, &k);
}

static const char *kvm_exit_name(uint64_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
		[KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
		[KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
		[KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS",
		[KVM_EXIT_NMI] = "KVM_EXIT_NMI",
		[KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "a KVM exit vmm-run does not handle";
}

const struct accel_ops accel_kvm_ops = {
	.name = "kvm",
	.vm_create = kvm_vm_create,
	.vm_destroy = kvm_vm_destroy,
	.set_memory = kvm_set_memory,
	.create_irqchip = kvm_create_irqchip,
	.irq_line = kvm_irq_line,
	.signal_msi = kvm_signal_msi,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_destroy = kvm_vcpu_destroy,
	.run = kvm_run,
	.kick = kvm_kick,
	.get_regs = kvm_get_regs,
	.set_regs = kvm_set_regs,
	.get_sregs = kvm_get_sregs,
	.set_sregs = kvm_set_sregs,
	.exit_name = kvm_exit_name,
};
