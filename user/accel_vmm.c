// SPDX-License-Identifier: GPL-2.0
/*
 * accel_vmm - vmm-run on /dev/vmm, through libvmm.  The register format
 * of accel.h is vmm's own, so this file mostly forwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "accel.h"
#include "libvmm.h"

struct accel_vm {
	struct vmm_vm *vm;
	bool pci_cf8;		/* the kernel keeps port 0xcf8 */
};

struct accel_vcpu {
	struct vmm_vcpu *vcpu;
	struct accel_vm *avm;
};

/*
 * The CPUID table is per VM on /dev/vmm: the kernel's LAPIC model puts
 * each vCPU's APIC ID into the leaves that carry one.
 */
static struct accel_vm *vmm_accel_vm_create(void)
{
	struct accel_vm *avm = calloc(1, sizeof(*avm));
	struct vmm_cpuid *cpuid;

	if (!avm)
		return NULL;
	avm->vm = vmm_vm_create();
	if (!avm->vm) {
		if (errno == ENOENT)
			fprintf(stderr, "vmm-run: /dev/vmm: no such device (load vmm.ko, or use --accel kvm)\n");
		else
			fprintf(stderr, "vmm-run: /dev/vmm: %s\n",
				strerror(errno));
		free(avm);
		return NULL;
	}
	cpuid = vmm_get_supported_cpuid(avm->vm);
	if (!cpuid || vmm_vm_set_cpuid(avm->vm, cpuid->entries,
				       cpuid->nent) < 0) {
		fprintf(stderr, "vmm-run: /dev/vmm: CPUID table: %s\n",
			strerror(errno));
		free(cpuid);
		vmm_vm_destroy(avm->vm);
		free(avm);
		return NULL;
	}
	free(cpuid);
	return avm;
}

static void vmm_accel_vm_destroy(struct accel_vm *avm)
{
	vmm_vm_destroy(avm->vm);
	free(avm);
}

static int vmm_accel_set_memory(struct accel_vm *avm, uint32_t slot,
				uint64_t gpa, uint64_t size, void *host)
{
	return vmm_vm_set_slot(avm->vm, slot, gpa, size, host, 0);
}

static int vmm_accel_create_irqchip(struct accel_vm *avm)
{
	/*
	 * With the PCI address register in the kernel too, a configuration
	 * access costs one exit here instead of two.
	 */
	if (vmm_check_cap(avm->vm->fd, VMM_CAP_PCI_CF8) > 0 &&
	    ioctl(avm->vm->fd, VMM_CREATE_IRQCHIP, VMM_IRQCHIP_PCI_CF8) == 0) {
		avm->pci_cf8 = true;
		return 0;
	}
	return ioctl(avm->vm->fd, VMM_CREATE_IRQCHIP, 0);
}

static int vmm_accel_irq_line(struct accel_vm *avm, uint32_t gsi, int level)
{
	struct vmm_irq_level l = { .irq = gsi, .level = !!level };

	return ioctl(avm->vm->fd, VMM_IRQ_LINE, &l);
}

static int vmm_accel_signal_msi(struct accel_vm *avm, uint64_t addr,
				uint32_t data)
{
	struct vmm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = addr >> 32,
		.data = data,
	};

	return ioctl(avm->vm->fd, VMM_SIGNAL_MSI, &msi) < 0 ? -1 : 0;
}

static struct accel_vcpu *vmm_accel_vcpu_create(struct accel_vm *avm,
						unsigned int id,
						unsigned int nr_vcpus)
{
	struct accel_vcpu *v = calloc(1, sizeof(*v));

	(void)nr_vcpus;
	if (!v)
		return NULL;
	v->avm = avm;
	v->vcpu = vmm_vcpu_create(avm->vm, id);
	if (!v->vcpu) {
		free(v);
		return NULL;
	}
	return v;
}

static void vmm_accel_vcpu_destroy(struct accel_vcpu *v)
{
	vmm_vcpu_destroy(v->vcpu);
	free(v);
}

static int vmm_accel_run(struct accel_vcpu *v, struct accel_exit *exit)
{
	struct vmm_run *run = v->vcpu->run;

	if (vmm_vcpu_run(v->vcpu) < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			exit->kind = ACCEL_EXIT_INTR;
			return 0;
		}
		return -1;
	}
	switch (run->exit_reason) {
	case VMM_EXIT_IO:
		exit->kind = ACCEL_EXIT_IO;
		exit->io.out = run->io.direction == VMM_EXIT_IO_OUT;
		exit->io.size = run->io.size;
		exit->io.port = run->io.port;
		exit->io.count = run->io.count;
		exit->io.data = vmm_io_data(v->vcpu);
		exit->io.has_pci_cf8 = v->avm->pci_cf8;
		exit->io.pci_cf8 = run->io.pci_cf8;
		/* Never trust a length into our own memory blindly. */
		if (run->io.data_offset + (uint64_t)run->io.count *
		    run->io.size > v->vcpu->vm->run_size) {
			exit->kind = ACCEL_EXIT_UNKNOWN;
			exit->hw_reason = run->exit_reason;
		}
		break;
	case VMM_EXIT_MMIO:
		exit->kind = ACCEL_EXIT_MMIO;
		exit->mmio.addr = run->mmio.phys_addr;
		exit->mmio.data = run->mmio.data;
		exit->mmio.len = run->mmio.len;
		exit->mmio.write = run->mmio.is_write;
		break;
	case VMM_EXIT_HLT:
		exit->kind = ACCEL_EXIT_HLT;
		break;
	case VMM_EXIT_SHUTDOWN:
		exit->kind = ACCEL_EXIT_SHUTDOWN;
		memset(&exit->crash, 0, sizeof(exit->crash));
		exit->crash.known = true;
		exit->crash.regs = run->shutdown.regs;
		exit->crash.sregs.cr0 = run->shutdown.cr0;
		exit->crash.sregs.cr2 = run->shutdown.cr2;
		exit->crash.sregs.cr3 = run->shutdown.cr3;
		exit->crash.sregs.cr4 = run->shutdown.cr4;
		exit->crash.sregs.efer = run->shutdown.efer;
		exit->crash.sregs.cs.base = run->shutdown.cs_base;
		exit->crash.sregs.cs.selector = run->shutdown.cs;
		exit->crash.sregs.cs.l = run->shutdown.cs_l;
		exit->crash.sregs.cs.db = run->shutdown.cs_db;
		exit->crash.sregs.ss.selector = run->shutdown.ss;
		break;
	case VMM_EXIT_FAIL_ENTRY:
		exit->kind = ACCEL_EXIT_FAIL_ENTRY;
		exit->hw_reason =
			run->fail_entry.hardware_entry_failure_reason;
		break;
	case VMM_EXIT_INTERNAL_ERROR:
		accel_exit_internal(exit, run->internal.suberror,
				    run->internal.ndata, run->internal.data);
		break;
	case VMM_EXIT_INTR:
		exit->kind = ACCEL_EXIT_INTR;
		break;
	default:
		exit->kind = ACCEL_EXIT_UNKNOWN;
		exit->hw_reason = run->exit_reason;
		break;
	}
	return 0;
}

static void vmm_accel_kick(struct accel_vcpu *v)
{
	__atomic_store_n(&v->vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

static int vmm_accel_get_regs(struct accel_vcpu *v, struct vmm_regs *r)
{
	return vmm_get_regs(v->vcpu, r);
}

static int vmm_accel_get_stats(struct accel_vcpu *v, struct vmm_stats *st)
{
	return ioctl(v->vcpu->fd, VMM_GET_STATS, st);
}

static int vmm_accel_set_regs(struct accel_vcpu *v, const struct vmm_regs *r)
{
	return vmm_set_regs(v->vcpu, r);
}

static int vmm_accel_get_sregs(struct accel_vcpu *v, struct vmm_sregs *s)
{
	return vmm_get_sregs(v->vcpu, s);
}

static int vmm_accel_set_sregs(struct accel_vcpu *v,
			       const struct vmm_sregs *s)
{
	return vmm_set_sregs(v->vcpu, s);
}

static const char *vmm_accel_exit_name(uint64_t reason)
{
	return vmm_exit_name(reason);
}

const struct accel_ops accel_vmm_ops = {
	.name = "vmm",
	.vm_create = vmm_accel_vm_create,
	.vm_destroy = vmm_accel_vm_destroy,
	.set_memory = vmm_accel_set_memory,
	.create_irqchip = vmm_accel_create_irqchip,
	.irq_line = vmm_accel_irq_line,
	.signal_msi = vmm_accel_signal_msi,
	.vcpu_create = vmm_accel_vcpu_create,
	.vcpu_destroy = vmm_accel_vcpu_destroy,
	.run = vmm_accel_run,
	.kick = vmm_accel_kick,
	.get_regs = vmm_accel_get_regs,
	.set_regs = vmm_accel_set_regs,
	.get_sregs = vmm_accel_get_sregs,
	.set_sregs = vmm_accel_set_sregs,
	.exit_name = vmm_accel_exit_name,
	.get_stats = vmm_accel_get_stats,
};
