// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: /dev/vmm, the system file descriptor, and the choice of engine.
 *
 * The engine (SVM or VMX; binary translation later) is picked once at
 * load time.  The hardware is switched on when the first VM is created and
 * off when the last one dies, so that another hypervisor (KVM) can use it
 * in between.
 */
#define pr_fmt(fmt) "vmm: " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>

#include "vmm.h"

static char *engine = "auto";
module_param(engine, charp, 0444);
MODULE_PARM_DESC(engine, "Execution engine: auto (default: what the CPU has), svm, vmx");

bool vmm_param_npt = true;
module_param_named(npt, vmm_param_npt, bool, 0444);
MODULE_PARM_DESC(npt, "Use nested paging (NPT/EPT) when the CPU has it");

const struct vmm_engine_ops *vmm_engine;
struct vmm_caps vmm_caps;

static DEFINE_MUTEX(vmm_hw_lock);
static int vmm_hw_users;

/*
 * vmm_hw_get - count a VM as a user of the virtualization hardware
 * Returns 0, or the engine's error when it cannot switch the hardware on
 * (for instance -EBUSY when another hypervisor holds it).
 */
int vmm_hw_get(void)
{
	int ret = 0;

	mutex_lock(&vmm_hw_lock);
	if (vmm_hw_users == 0)
		ret = vmm_engine->hardware_enable();
	if (!ret)
		vmm_hw_users++;
	mutex_unlock(&vmm_hw_lock);
	return ret;
}

void vmm_hw_put(void)
{
	mutex_lock(&vmm_hw_lock);
	if (--vmm_hw_users == 0)
		vmm_engine->hardware_disable();
	mutex_unlock(&vmm_hw_lock);
}

/* Capabilities are the same on the system fd and on a VM fd. */
long vmm_check_cap(unsigned long cap)
{
	switch (cap) {
	case VMM_CAP_ENGINE:
		return vmm_engine->id;
	case VMM_CAP_NESTED_PAGING:
		return vmm_caps.nested_paging;
	case VMM_CAP_MAX_VCPUS:
		return VMM_MAX_VCPUS;
	case VMM_CAP_NR_MEMSLOTS:
		return VMM_MAX_SLOTS;
	case VMM_CAP_READONLY_MEM:
	case VMM_CAP_IMMEDIATE_EXIT:
	case VMM_CAP_MMIO_DECODE:
		return 1;
	case VMM_CAP_NRIPS:
		return vmm_caps.nrips;
	case VMM_CAP_PAGING_LEVELS:
		return vmm_tdp_levels();
	case VMM_CAP_MAX_CPUID:
		return VMM_MAX_CPUID;
	case VMM_CAP_IRQCHIP:
	case VMM_CAP_SIGNAL_MSI:
	case VMM_CAP_TSC_DEADLINE:
	case VMM_CAP_PCI_CF8:
		return 1;
	default:
		return 0;
	}
}

static long vmm_dev_ioctl(struct file *filp, unsigned int ioctl,
			  unsigned long arg)
{
	switch (ioctl) {
	case VMM_GET_API_VERSION:
		return arg ? -EINVAL : VMM_API_VERSION;
	case VMM_CHECK_CAP:
		return vmm_check_cap(arg);
	case VMM_GET_RUN_SIZE:
		return arg ? -EINVAL : PAGE_SIZE;
	case VMM_CREATE_VM:
		return vmm_dev_create_vm(arg);
	case VMM_GET_SUPPORTED_CPUID:
		return vmm_supported_cpuid((void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vmm_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = vmm_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice vmm_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vmm",
	.fops = &vmm_dev_fops,
	.mode = 0660,	/* group "vmm" through udev/60-vmm.rules */
};

static const struct vmm_engine_ops *vmm_pick_engine(void)
{
	static const struct vmm_engine_ops *const engines[] = {
		&vmm_svm_ops,
		&vmm_vmx_ops,
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(engines); i++) {
		if (strcmp(engine, "auto") && strcmp(engine, engines[i]->name))
			continue;
		if (engines[i]->hardware_setup() == 0)
			return engines[i];
	}
	return NULL;
}

static int __init vmm_init(void)
{
	int ret;

	if (strcmp(engine, "auto") && strcmp(engine, "svm") &&
	    strcmp(engine, "vmx")) {
		pr_err("engine=%s: unknown engine (auto, svm, vmx; bt is not built yet)\n",
		       engine);
		return -EINVAL;
	}
	vmm_engine = vmm_pick_engine();
	if (!vmm_engine) {
		pr_err("no usable engine for engine=%s: this CPU shows no usable AMD-V or VT-x (the binary-translation engine is not built yet)\n",
		       engine);
		return -ENODEV;
	}
	ret = misc_register(&vmm_dev);
	if (ret) {
		vmm_engine->hardware_unsetup();
		return ret;
	}
	pr_info("engine %s, nested paging %s, %d-level tables\n",
		vmm_engine->name, vmm_caps.nested_paging ? "on" : "off",
		vmm_tdp_levels());
	return 0;
}

static void __exit vmm_exit(void)
{
	misc_deregister(&vmm_dev);
	vmm_engine->hardware_unsetup();
}

module_init(vmm_init);
module_exit(vmm_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vmm: a hosted hypervisor");
