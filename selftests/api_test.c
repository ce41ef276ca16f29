// SPDX-License-Identifier: GPL-2.0
/*
 * api_test - the /dev/vmm ioctl ABI: version, capabilities, argument
 * checking with the errno Documentation/api.rst gives for each case, and
 * state round trips through the GET/SET ioctls (checked inside a guest
 * where a round trip alone could hide a bug, as for the FPU).
 */
#include "lib/vmm_test.h"

#include <sys/wait.h>

#define MSR_IA32_TSC		0x00000010
#define MSR_IA32_SYSENTER_CS	0x00000174
#define MSR_IA32_SYSENTER_ESP	0x00000175
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_UNKNOWN		0xdeadbeef	/* no CPU has it */

#define PORT_RESULT		0x80

/*
 * Long mode: report XMM0 in two 32-bit OUTs (low half first), then load
 * XMM1 from RAX and halt, so the test can read it with VMM_GET_FPU.
 */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"fpu_guest_start:\n"
"	movq %xmm0, %rax\n"
"	outl %eax, $" __stringify(PORT_RESULT) "\n"
"	shrq $32, %rax\n"
"	outl %eax, $" __stringify(PORT_RESULT) "\n"
"	movq %rbx, %xmm1\n"
"	hlt\n"
"fpu_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(fpu_guest);

/* Real mode: CPUID of leaf EAX, each register out on its own. */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code16\n"
"cpuid_guest_start:\n"
"	cpuid\n"
"	outl %eax, $" __stringify(PORT_RESULT) "\n"
"	movl %ebx, %eax\n"
"	outl %eax, $" __stringify(PORT_RESULT) "\n"
"	movl %ecx, %eax\n"
"	outl %eax, $" __stringify(PORT_RESULT) "\n"
"	movl %edx, %eax\n"
"	outl %eax, $" __stringify(PORT_RESULT) "\n"
"	hlt\n"
"cpuid_guest_end:\n"
"	.code64\n"
"	.popsection\n");
VMM_GUEST_CODE(cpuid_guest);

/* ---- system fd ---- */

TEST(device_present)
{
	int fd = vmm_open();

	ASSERT_LE(0, fd) TH_LOG("open %s: %s (is vmm.ko loaded?)",
				VMM_DEV_PATH, strerror(errno));
	close(fd);
}

TEST(api_version)
{
	struct vmm_vm *vm;

	VMM_TEST_VM(vm);
	ASSERT_EQ(VMM_API_VERSION, ioctl(vm->sys_fd, VMM_GET_API_VERSION, 0));
	vmm_vm_destroy(vm);
}

/* Whether /proc/cpuinfo's flags line has @flag. */
static bool cpuinfo_has(const char *flag)
{
	char line[8192], *tok, *save;
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (tok = strtok_r(line, " \t\n:", &save); tok && !found;
		     tok = strtok_r(NULL, " \t\n:", &save))
			found = !strcmp(tok, flag);
		break;
	}
	fclose(f);
	return found;
}

/*
 * The host's paging depth: only with 5-level paging does the kernel give
 * out an address above 2^47 when asked for one.
 */
static int host_paging_levels(void)
{
	void *hint = (void *)(1UL << 50);
	void *p = mmap(hint, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	int levels;

	if (p == MAP_FAILED)
		return 4;
	levels = (uintptr_t)p >= (1UL << 47) ? 5 : 4;
	munmap(p, 4096);
	return levels;
}

TEST(capabilities)
{
	struct vmm_vm *vm;
	long engine, npt, v;
	int fd;

	VMM_TEST_VM(vm);
	/* Each cap reads the same on the system fd and on a VM fd. */
	for (v = 0; v <= VMM_CAP_MAX_CPUID + 1; v++) {
		ASSERT_EQ(vmm_check_cap(vm->sys_fd, v),
			  vmm_check_cap(vm->fd, v)) TH_LOG("cap %ld", v);
	}
	fd = vm->sys_fd;

	/* The engine this machine's CPU calls for. */
	engine = vmm_check_cap(fd, VMM_CAP_ENGINE);
	if (cpuinfo_has("svm"))
		v = VMM_ENGINE_SVM;
	else if (cpuinfo_has("vmx"))
		v = VMM_ENGINE_VMX;
	else
		v = VMM_ENGINE_BT;
	ASSERT_EQ(v, engine);

	npt = vmm_check_cap(fd, VMM_CAP_NESTED_PAGING);
	ASSERT_TRUE(npt == 0 || npt == 1) TH_LOG("NESTED_PAGING %ld", npt);
	ASSERT_LE(1, vmm_check_cap(fd, VMM_CAP_MAX_VCPUS));
	ASSERT_LE(1, vmm_check_cap(fd, VMM_CAP_NR_MEMSLOTS));
	ASSERT_EQ(1, vmm_check_cap(fd, VMM_CAP_READONLY_MEM));
	ASSERT_EQ(1, vmm_check_cap(fd, VMM_CAP_IMMEDIATE_EXIT));
	if (engine == VMM_ENGINE_SVM) {
		ASSERT_EQ(cpuinfo_has("nrip_save"),
			  vmm_check_cap(fd, VMM_CAP_NRIPS));
	}
	v = vmm_check_cap(fd, VMM_CAP_MMIO_DECODE);
	ASSERT_TRUE(v == 0 || v == 1) TH_LOG("MMIO_DECODE %ld", v);
	if (npt) {
		ASSERT_EQ(host_paging_levels(),
			  vmm_check_cap(fd, VMM_CAP_PAGING_LEVELS));
	}
	ASSERT_LE(1, vmm_check_cap(fd, VMM_CAP_MAX_CPUID));

	/* Unknown capabilities read 0, not an error. */
	ASSERT_EQ(0, vmm_check_cap(fd, 0));
	ASSERT_EQ(0, vmm_check_cap(fd, 9999));
	ASSERT_EQ(0, vmm_check_cap(fd, ~0UL));
	vmm_vm_destroy(vm);
}

TEST(run_size)
{
	struct vmm_vm *vm;

	VMM_TEST_VM(vm);
	ASSERT_LE(4096, vm->run_size);
	ASSERT_LE(VMM_RUN_IO_DATA_OFFSET + VMM_RUN_IO_DATA_SIZE,
		  vm->run_size);
	vmm_vm_destroy(vm);
}

TEST(create_vm_flags)
{
	struct vmm_vm *vm;

	VMM_TEST_VM(vm);
	ASSERT_EQ(-1, ioctl(vm->sys_fd, VMM_CREATE_VM, 1UL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ioctl(vm->sys_fd, VMM_CREATE_VM, 1UL << 31));
	ASSERT_EQ(EINVAL, errno);
	vmm_vm_destroy(vm);
}

TEST(unknown_ioctls)
{
	/* Numbers next to ours, ours on the wrong fd, and KVM's. */
	const unsigned long bad[] = {
		_IO(VMM_IO, 0x7f), _IO(VMM_IO, 0x05), _IO(0xAE, 0x00),
		_IOW(VMM_IO, 0x10, struct vmm_regs),
	};
	struct vmm_test t;
	unsigned int i;

	VMM_TEST_SETUP(&t);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(-1, ioctl(t.vm->sys_fd, bad[i], 0));
		ASSERT_EQ(ENOTTY, errno);
		ASSERT_EQ(-1, ioctl(t.vm->fd, bad[i], 0));
		ASSERT_EQ(ENOTTY, errno);
		ASSERT_EQ(-1, ioctl(t.vcpu->fd, bad[i], 0));
		ASSERT_EQ(ENOTTY, errno);
	}
	/* A VM ioctl on a vCPU fd and a vCPU ioctl on a VM fd. */
	ASSERT_EQ(-1, ioctl(t.vcpu->fd, VMM_CREATE_VCPU, 1UL));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, ioctl(t.vm->fd, VMM_RUN, 0));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, ioctl(t.vm->sys_fd, VMM_RUN, 0));
	ASSERT_EQ(ENOTTY, errno);
	vmm_test_teardown(&t);
}

/* ---- memory slots ---- */

static int set_slot(int vm_fd, uint32_t slot, uint32_t flags, uint64_t gpa,
		    uint64_t size, uint64_t uaddr)
{
	struct vmm_memory_slot ms = {
		.slot = slot, .flags = flags, .guest_phys = gpa,
		.size = size, .userspace_addr = uaddr,
	};

	return ioctl(vm_fd, VMM_SET_MEMORY_SLOT, &ms);
}

TEST(memory_slot_errors)
{
	struct vmm_memory_slot ms;
	struct vmm_vm *vm;
	uint64_t mem;
	long nslots;
	int i;

	VMM_TEST_VM(vm);
	nslots = vmm_check_cap(vm->sys_fd, VMM_CAP_NR_MEMSLOTS);
	mem = (uintptr_t)mmap(NULL, 0x10000, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE((uintptr_t)MAP_FAILED, mem);

	/* Alignment of each of the three. */
	ASSERT_EQ(-1, set_slot(vm->fd, 0, 0, 0x800, 0x1000, mem));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, set_slot(vm->fd, 0, 0, 0, 0x1800, mem));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, set_slot(vm->fd, 0, 0, 0, 0x1000, mem + 8));
	ASSERT_EQ(EINVAL, errno);

	/* Flags, reserved fields, slot number. */
	ASSERT_EQ(-1, set_slot(vm->fd, 0, 1u << 1, 0, 0x1000, mem));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, set_slot(vm->fd, 0, 1u << 31, 0, 0x1000, mem));
	ASSERT_EQ(EINVAL, errno);
	for (i = 0; i < 4; i++) {
		memset(&ms, 0, sizeof(ms));
		ms.size = 0x1000;
		ms.userspace_addr = mem;
		ms.reserved[i] = 1;
		ASSERT_EQ(-1, ioctl(vm->fd, VMM_SET_MEMORY_SLOT, &ms));
		ASSERT_EQ(EINVAL, errno);
	}
	ASSERT_EQ(-1, set_slot(vm->fd, nslots, 0, 0, 0x1000, mem));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, set_slot(vm->fd, ~0u, 0, 0, 0x1000, mem));
	ASSERT_EQ(EINVAL, errno);

	/* Guest ranges that wrap or pass 2^48. */
	ASSERT_EQ(-1, set_slot(vm->fd, 0, 0, ~0xfffULL, 0x2000, mem));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, set_slot(vm->fd, 0, 0, (1ULL << 48) - 0x1000, 0x2000,
			       mem));
	ASSERT_EQ(EINVAL, errno);

	/* Host ranges that are not user memory: kernel half, wrapping. */
	ASSERT_EQ(-1, set_slot(vm->fd, 0, 0, 0, 0x1000,
			       0xffff800000000000ULL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, set_slot(vm->fd, 0, 0, 0, 0x2000, ~0xfffULL));
	ASSERT_EQ(EFAULT, errno);

	/* Overlap, on either side and inside, with another slot. */
	ASSERT_EQ(0, set_slot(vm->fd, 1, 0, 0x10000, 0x4000, mem));
	ASSERT_EQ(-1, set_slot(vm->fd, 2, 0, 0xf000, 0x2000, mem));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(-1, set_slot(vm->fd, 2, 0, 0x13000, 0x2000, mem));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(-1, set_slot(vm->fd, 2, 0, 0x11000, 0x1000, mem));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(-1, set_slot(vm->fd, 2, 0, 0, 0x100000, mem));
	ASSERT_EQ(EEXIST, errno);
	/* Touching is not overlapping. */
	ASSERT_EQ(0, set_slot(vm->fd, 2, 0, 0x14000, 0x1000, mem));
	ASSERT_EQ(0, set_slot(vm->fd, 3, 0, 0xf000, 0x1000, mem));
	/* A slot may be replaced by itself with a new range... */
	ASSERT_EQ(0, set_slot(vm->fd, 1, 0, 0x11000, 0x2000, mem));
	/* ...which frees the old one: 0x10000 is free now. */
	ASSERT_EQ(0, set_slot(vm->fd, 4, 0, 0x10000, 0x1000, mem));
	/* Size 0 deletes: the range can be taken by another slot. */
	ASSERT_EQ(0, set_slot(vm->fd, 1, 0, 0, 0, 0));
	ASSERT_EQ(0, set_slot(vm->fd, 5, 0, 0x11000, 0x2000, mem));
	/* The last slot number is valid. */
	ASSERT_EQ(0, set_slot(vm->fd, nslots - 1, VMM_MEM_READONLY,
			      0x100000, 0x10000, mem));

	munmap((void *)(uintptr_t)mem, 0x10000);
	vmm_vm_destroy(vm);
}

/* ---- vCPUs ---- */

TEST(create_vcpu_errors)
{
	struct vmm_vm *vm;
	long max;
	int a, b;

	VMM_TEST_VM(vm);
	max = vmm_check_cap(vm->fd, VMM_CAP_MAX_VCPUS);
	a = ioctl(vm->fd, VMM_CREATE_VCPU, 0UL);
	ASSERT_LE(0, a);
	ASSERT_EQ(-1, ioctl(vm->fd, VMM_CREATE_VCPU, 0UL));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(-1, ioctl(vm->fd, VMM_CREATE_VCPU, (unsigned long)max));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ioctl(vm->fd, VMM_CREATE_VCPU, ~0UL));
	ASSERT_EQ(EINVAL, errno);
	b = ioctl(vm->fd, VMM_CREATE_VCPU, (unsigned long)max - 1);
	ASSERT_LE(0, b);
	close(a);
	close(b);
	vmm_vm_destroy(vm);
}

TEST(reset_state)
{
	struct vmm_sregs sregs;
	struct vmm_regs regs;
	struct vmm_test t;

	VMM_TEST_SETUP(&t);
	ASSERT_EQ(0, vmm_get_regs(t.vcpu, &regs));
	ASSERT_EQ(0xfff0, regs.rip);
	ASSERT_EQ(2, regs.rflags);
	ASSERT_EQ(0, vmm_get_sregs(t.vcpu, &sregs));
	ASSERT_EQ(0xf000, sregs.cs.selector);
	ASSERT_EQ(0xffff0000, sregs.cs.base);
	ASSERT_EQ(0, sregs.cr0 & VMM_CR0_PE);
	ASSERT_EQ(0, sregs.efer);
	vmm_test_teardown(&t);
}

/* ---- CPUID tables ---- */

static struct vmm_cpuid *cpuid_alloc(uint32_t nent)
{
	struct vmm_cpuid *c = calloc(1, sizeof(*c) +
				     nent * sizeof(struct vmm_cpuid_entry));

	if (c)
		c->nent = nent;
	return c;
}

TEST(cpuid_tables)
{
	struct vmm_cpuid *c;
	struct vmm_vm *vm;
	uint32_t i, max, n;

	VMM_TEST_VM(vm);
	max = vmm_check_cap(vm->fd, VMM_CAP_MAX_CPUID);

	/* A new VM has an empty table. */
	c = cpuid_alloc(4);
	ASSERT_EQ(0, ioctl(vm->fd, VMM_GET_CPUID, c));
	ASSERT_EQ(0, c->nent);
	free(c);

	/* One entry too many for SET. */
	c = cpuid_alloc(max + 1);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(-1, ioctl(vm->fd, VMM_SET_CPUID, c));
	ASSERT_EQ(E2BIG, errno);
	free(c);

	/* Nonzero reserved fields. */
	c = cpuid_alloc(1);
	c->reserved = 1;
	ASSERT_EQ(-1, ioctl(vm->fd, VMM_SET_CPUID, c));
	ASSERT_EQ(EINVAL, errno);
	c->reserved = 0;
	c->entries[0].reserved = 1;
	ASSERT_EQ(-1, ioctl(vm->fd, VMM_SET_CPUID, c));
	ASSERT_EQ(EINVAL, errno);
	free(c);

	/* Round trip of 5 entries; a buffer of 2 is E2BIG with nent 5. */
	n = 5;
	c = cpuid_alloc(n);
	for (i = 0; i < n; i++) {
		c->entries[i].function = 0x40000000 + i;
		c->entries[i].index = i;
		c->entries[i].flags = i & 1 ? VMM_CPUID_FLAG_INDEXED : 0;
		c->entries[i].eax = 0x1000 + i;
		c->entries[i].ebx = 0x2000 + i;
		c->entries[i].ecx = 0x3000 + i;
		c->entries[i].edx = 0x4000 + i;
	}
	ASSERT_EQ(0, ioctl(vm->fd, VMM_SET_CPUID, c));
	free(c);
	c = cpuid_alloc(2);
	ASSERT_EQ(-1, ioctl(vm->fd, VMM_GET_CPUID, c));
	ASSERT_EQ(E2BIG, errno);
	ASSERT_EQ(n, c->nent);
	free(c);
	c = cpuid_alloc(n + 3);
	ASSERT_EQ(0, ioctl(vm->fd, VMM_GET_CPUID, c));
	ASSERT_EQ(n, c->nent);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0x40000000 + i, c->entries[i].function);
		ASSERT_EQ(i & 1 ? VMM_CPUID_FLAG_INDEXED : 0,
			  c->entries[i].flags);
		ASSERT_EQ(0x1000 + i, c->entries[i].eax);
		ASSERT_EQ(0x4000 + i, c->entries[i].edx);
	}
	free(c);

	/* The supported table: E2BIG with the count, then the leaves. */
	c = cpuid_alloc(0);
	ASSERT_EQ(-1, ioctl(vm->sys_fd, VMM_GET_SUPPORTED_CPUID, c));
	ASSERT_EQ(E2BIG, errno);
	ASSERT_LT(0, c->nent);
	ASSERT_GE(max, c->nent);
	n = c->nent;
	free(c);
	c = cpuid_alloc(n);
	ASSERT_EQ(0, ioctl(vm->sys_fd, VMM_GET_SUPPORTED_CPUID, c));
	ASSERT_EQ(n, c->nent);
	/* The table the engine offers is one a VM accepts. */
	ASSERT_EQ(0, ioctl(vm->fd, VMM_SET_CPUID, c));
	for (i = 0; i < n; i++) {
		if (c->entries[i].function != 0x40000000)
			continue;
		/* "VmmVmmVmmVmm" in EBX, ECX, EDX. */
		ASSERT_EQ(0, memcmp(&c->entries[i].ebx, "VmmV", 4));
		ASSERT_EQ(0, memcmp(&c->entries[i].ecx, "mmVm", 4));
		ASSERT_EQ(0, memcmp(&c->entries[i].edx, "mVmm", 4));
		break;
	}
	ASSERT_LT(i, n) TH_LOG("no hypervisor leaf 0x40000000");
	for (i = 0; i < n; i++) {
		if (c->entries[i].function != 1)
			continue;
		ASSERT_NE(0, c->entries[i].ecx & (1u << 31));
		ASSERT_EQ(0, c->entries[i].ecx & (1u << 5));	/* VMX */
		break;
	}
	ASSERT_LT(i, n) TH_LOG("no leaf 1");
	free(c);
	vmm_vm_destroy(vm);
}

/* The guest sees what the table says; absent leaves read zeros. */
TEST(cpuid_in_guest)
{
	struct vmm_cpuid_entry e[2];
	struct vmm_regs regs;
	struct vmm_test t;

	VMM_TEST_SETUP(&t);
	memset(e, 0, sizeof(e));
	e[0].function = 0x4000abcd;
	e[0].eax = 0x11111111;
	e[0].ebx = 0x22222222;
	e[0].ecx = 0x33333333;
	e[0].edx = 0x44444444;
	e[1].function = 0x4000abce;
	e[1].index = 1;
	e[1].flags = VMM_CPUID_FLAG_INDEXED;
	e[1].eax = 0x55555555;
	ASSERT_EQ(0, vmm_vm_set_cpuid(t.vm, e, 2));
	VMM_TEST_LOAD(&t, cpuid_guest);

	ASSERT_EQ(0, vmm_setup_real_mode(t.vcpu, 0, GUEST_CODE,
					 GUEST_STACK16));
	ASSERT_EQ(0, vmm_get_regs(t.vcpu, &regs));
	regs.rax = 0x4000abcd;
	regs.rcx = 7;	/* not an indexed leaf: ECX does not matter */
	ASSERT_EQ(0, vmm_set_regs(t.vcpu, &regs));
	ASSERT_EQ(0x11111111, vmm_test_out(_metadata, t.vcpu, PORT_RESULT, 4));
	ASSERT_EQ(0x22222222, vmm_test_out(_metadata, t.vcpu, PORT_RESULT, 4));
	ASSERT_EQ(0x33333333, vmm_test_out(_metadata, t.vcpu, PORT_RESULT, 4));
	ASSERT_EQ(0x44444444, vmm_test_out(_metadata, t.vcpu, PORT_RESULT, 4));
	vmm_test_run(_metadata, t.vcpu, VMM_EXIT_HLT);

	/* Indexed leaf with the wrong index: not in the table, zeros. */
	ASSERT_EQ(0, vmm_setup_real_mode(t.vcpu, 0, GUEST_CODE,
					 GUEST_STACK16));
	ASSERT_EQ(0, vmm_get_regs(t.vcpu, &regs));
	regs.rax = 0x4000abce;
	regs.rbx = regs.rcx = regs.rdx = 0xffffffff;
	regs.rcx = 2;
	ASSERT_EQ(0, vmm_set_regs(t.vcpu, &regs));
	ASSERT_EQ(0, vmm_test_out(_metadata, t.vcpu, PORT_RESULT, 4));
	ASSERT_EQ(0, vmm_test_out(_metadata, t.vcpu, PORT_RESULT, 4));
	ASSERT_EQ(0, vmm_test_out(_metadata, t.vcpu, PORT_RESULT, 4));
	ASSERT_EQ(0, vmm_test_out(_metadata, t.vcpu, PORT_RESULT, 4));
	vmm_test_run(_metadata, t.vcpu, VMM_EXIT_HLT);

	/* The right index finds it. */
	ASSERT_EQ(0, vmm_setup_real_mode(t.vcpu, 0, GUEST_CODE,
					 GUEST_STACK16));
	ASSERT_EQ(0, vmm_get_regs(t.vcpu, &regs));
	regs.rax = 0x4000abce;
	regs.rcx = 1;
	ASSERT_EQ(0, vmm_set_regs(t.vcpu, &regs));
	ASSERT_EQ(0x55555555, vmm_test_out(_metadata, t.vcpu, PORT_RESULT, 4));
	vmm_test_teardown(&t);
}

/* ---- register state ---- */

TEST(regs_round_trip)
{
	struct vmm_regs in, out;
	struct vmm_test t;
	uint64_t *p;
	unsigned int i;

	VMM_TEST_SETUP(&t);
	memset(&in, 0, sizeof(in));
	p = (uint64_t *)&in;
	for (i = 0; i < 16; i++)	/* rax .. r15 */
		p[i] = 0x0101010101010101ULL * (i + 1) ^ 0x8000000000000000ULL;
	in.rip = 0x123456789aULL;
	/* CF, PF, ZF, SF, OF and the fixed bit: no TF, no IF. */
	in.rflags = 0x2 | 0x1 | 0x4 | 0x40 | 0x80 | 0x800;
	ASSERT_EQ(0, vmm_set_regs(t.vcpu, &in));
	memset(&out, 0xcc, sizeof(out));
	ASSERT_EQ(0, vmm_get_regs(t.vcpu, &out));
	ASSERT_EQ(0, memcmp(&in, &out, sizeof(in)));

	/* Bit 1 of RFLAGS is fixed to 1, whatever the caller says. */
	in.rflags = 0;
	ASSERT_EQ(0, vmm_set_regs(t.vcpu, &in));
	ASSERT_EQ(0, vmm_get_regs(t.vcpu, &out));
	ASSERT_EQ(2, out.rflags);
	vmm_test_teardown(&t);
}

static void assert_seg_eq(struct __test_metadata *_metadata,
			  const struct vmm_segment *a,
			  const struct vmm_segment *b)
{
	ASSERT_EQ(a->base, b->base);
	ASSERT_EQ(a->limit, b->limit);
	ASSERT_EQ(a->selector, b->selector);
	ASSERT_EQ(a->type, b->type);
	ASSERT_EQ(a->present, b->present);
	ASSERT_EQ(a->dpl, b->dpl);
	ASSERT_EQ(a->db, b->db);
	ASSERT_EQ(a->s, b->s);
	ASSERT_EQ(a->l, b->l);
	ASSERT_EQ(a->g, b->g);
}

TEST(sregs_round_trip)
{
	struct vmm_sregs in, out;
	struct vmm_test t;

	VMM_TEST_SETUP(&t);
	ASSERT_EQ(0, vmm_setup_long_mode(t.vcpu, GUEST_SYS, GUEST_CODE,
					 GUEST_STACK));
	ASSERT_EQ(0, vmm_get_sregs(t.vcpu, &in));
	in.fs.base = 0x7fff12345000ULL;
	in.gs.base = 0xffff888000001000ULL;
	in.cr2 = 0xdead0000;
	in.cr8 = 9;
	ASSERT_EQ(0, vmm_set_sregs(t.vcpu, &in));
	memset(&out, 0xcc, sizeof(out));
	ASSERT_EQ(0, vmm_get_sregs(t.vcpu, &out));
	assert_seg_eq(_metadata, &in.cs, &out.cs);
	assert_seg_eq(_metadata, &in.ds, &out.ds);
	assert_seg_eq(_metadata, &in.es, &out.es);
	assert_seg_eq(_metadata, &in.fs, &out.fs);
	assert_seg_eq(_metadata, &in.gs, &out.gs);
	assert_seg_eq(_metadata, &in.ss, &out.ss);
	assert_seg_eq(_metadata, &in.tr, &out.tr);
	ASSERT_EQ(in.gdt.base, out.gdt.base);
	ASSERT_EQ(in.gdt.limit, out.gdt.limit);
	ASSERT_EQ(in.idt.base, out.idt.base);
	ASSERT_EQ(in.idt.limit, out.idt.limit);
	ASSERT_EQ(in.cr0, out.cr0);
	ASSERT_EQ(in.cr2, out.cr2);
	ASSERT_EQ(in.cr3, out.cr3);
	ASSERT_EQ(in.cr4, out.cr4);
	ASSERT_EQ(in.cr8, out.cr8);
	ASSERT_EQ(in.efer, out.efer);
	ASSERT_EQ(in.apic_base, out.apic_base);
	ASSERT_EQ(0, out.reserved[0] | out.reserved[1] | out.reserved[2] |
		     out.reserved[3]);

	/* Nonzero reserved words are refused, and nothing changes. */
	in.cr2 = 0x1234000;
	in.reserved[3] = 1;
	ASSERT_EQ(-1, vmm_set_sregs(t.vcpu, &in));
	ASSERT_EQ(EINVAL, errno);
	in.reserved[3] = 0;
	in.reserved[0] = 0x100;
	ASSERT_EQ(-1, vmm_set_sregs(t.vcpu, &in));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, vmm_get_sregs(t.vcpu, &out));
	ASSERT_EQ(0xdead0000, out.cr2);
	vmm_test_teardown(&t);
}

/* ---- MSRs ---- */

TEST(msrs)
{
	static const struct { uint32_t index; uint64_t value; } m[] = {
		{ MSR_IA32_SYSENTER_CS, 0x10 },
		{ MSR_IA32_SYSENTER_ESP, 0xffffffff81234000ULL },
		{ MSR_STAR, 0x0023001000000000ULL },
		{ MSR_LSTAR, 0xffffffff81000000ULL },
		{ MSR_KERNEL_GS_BASE, 0x00007f0012345000ULL },
	};
	const unsigned int n = ARRAY_SIZE(m);
	struct vmm_msrs *msrs;
	struct vmm_test t;
	uint64_t v, tsc;
	unsigned int i;

	VMM_TEST_SETUP(&t);
	msrs = calloc(1, sizeof(*msrs) +
		      (VMM_MAX_MSR_ENTRIES + 1) * sizeof(msrs->entries[0]));
	ASSERT_NE(NULL, msrs);

	/* All at once: returns the number processed. */
	msrs->nmsrs = n;
	for (i = 0; i < n; i++) {
		msrs->entries[i].index = m[i].index;
		msrs->entries[i].data = m[i].value;
	}
	ASSERT_EQ(n, ioctl(t.vcpu->fd, VMM_SET_MSRS, msrs));
	for (i = 0; i < n; i++)
		msrs->entries[i].data = 0;
	ASSERT_EQ(n, ioctl(t.vcpu->fd, VMM_GET_MSRS, msrs));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(m[i].value, msrs->entries[i].data)
			TH_LOG("MSR 0x%x", m[i].index);
	}

	/* An unknown MSR stops processing at its position. */
	msrs->entries[2].index = MSR_UNKNOWN;
	ASSERT_EQ(2, ioctl(t.vcpu->fd, VMM_GET_MSRS, msrs));
	ASSERT_EQ(2, ioctl(t.vcpu->fd, VMM_SET_MSRS, msrs));
	msrs->entries[0].index = MSR_UNKNOWN;
	ASSERT_EQ(0, ioctl(t.vcpu->fd, VMM_GET_MSRS, msrs));

	/* Too many entries; nonzero reserved words. */
	msrs->nmsrs = VMM_MAX_MSR_ENTRIES + 1;
	for (i = 0; i < msrs->nmsrs; i++)
		msrs->entries[i].index = MSR_STAR;
	ASSERT_EQ(-1, ioctl(t.vcpu->fd, VMM_GET_MSRS, msrs));
	ASSERT_EQ(E2BIG, errno);
	msrs->nmsrs = 1;
	msrs->pad = 1;
	ASSERT_EQ(-1, ioctl(t.vcpu->fd, VMM_GET_MSRS, msrs));
	ASSERT_EQ(EINVAL, errno);
	msrs->pad = 0;
	msrs->entries[0].reserved = 1;
	ASSERT_EQ(-1, ioctl(t.vcpu->fd, VMM_SET_MSRS, msrs));
	ASSERT_EQ(EINVAL, errno);
	free(msrs);

	/* The TSC runs on from what was written. */
	ASSERT_EQ(0, vmm_set_msr(t.vcpu, MSR_IA32_TSC, 1ULL << 40));
	ASSERT_EQ(0, vmm_get_msr(t.vcpu, MSR_IA32_TSC, &tsc));
	ASSERT_LE(1ULL << 40, tsc);
	ASSERT_GT((1ULL << 40) + (1ULL << 38), tsc);	/* minutes, at most */
	usleep(10000);
	ASSERT_EQ(0, vmm_get_msr(t.vcpu, MSR_IA32_TSC, &v));
	ASSERT_LT(tsc, v);
	vmm_test_teardown(&t);
}

/* ---- FPU ---- */

/* Byte offsets in the XSAVE standard format. */
#define XSAVE_MXCSR		24
#define XSAVE_XMM(n)		(160 + 16 * (n))
#define XSAVE_XSTATE_BV		512
#define XFEATURE_MASK_FPSSE	0x3

TEST(fpu)
{
	const uint64_t xmm0[2] = { 0x0123456789abcdefULL,
				   0xfedcba9876543210ULL };
	const uint64_t xmm1 = 0x5555aaaa3333ccccULL;
	struct vmm_xsave *x;
	struct vmm_regs regs;
	struct vmm_test t;
	uint64_t lo, hi, bv;
	uint32_t mxcsr;

	VMM_TEST_SETUP(&t);
	x = calloc(1, sizeof(*x));
	ASSERT_NE(NULL, x);
	ASSERT_EQ(0, vmm_get_fpu(t.vcpu, x));
	memcpy(&mxcsr, (char *)x + XSAVE_MXCSR, 4);
	ASSERT_EQ(0x1f80, mxcsr);	/* the RESET value */

	memcpy((char *)x + XSAVE_XMM(0), xmm0, 16);
	memcpy(&bv, (char *)x + XSAVE_XSTATE_BV, 8);
	bv |= XFEATURE_MASK_FPSSE;	/* else XMM0 reads as its init state */
	memcpy((char *)x + XSAVE_XSTATE_BV, &bv, 8);
	ASSERT_EQ(0, vmm_set_fpu(t.vcpu, x));
	memset(x, 0, sizeof(*x));
	ASSERT_EQ(0, vmm_get_fpu(t.vcpu, x));
	ASSERT_EQ(0, memcmp((char *)x + XSAVE_XMM(0), xmm0, 16));

	/* The guest sees what SET_FPU put there, and GET_FPU what it did. */
	VMM_TEST_LOAD(&t, fpu_guest);
	ASSERT_EQ(0, vmm_setup_long_mode(t.vcpu, GUEST_SYS, GUEST_CODE,
					 GUEST_STACK));
	ASSERT_EQ(0, vmm_get_regs(t.vcpu, &regs));
	regs.rbx = xmm1;
	ASSERT_EQ(0, vmm_set_regs(t.vcpu, &regs));
	lo = vmm_test_out(_metadata, t.vcpu, PORT_RESULT, 4);
	hi = vmm_test_out(_metadata, t.vcpu, PORT_RESULT, 4);
	ASSERT_EQ(xmm0[0], lo | hi << 32);
	vmm_test_run(_metadata, t.vcpu, VMM_EXIT_HLT);
	ASSERT_EQ(0, vmm_get_fpu(t.vcpu, x));
	ASSERT_EQ(0, memcmp((char *)x + XSAVE_XMM(1), &xmm1, 8));
	ASSERT_EQ(0, memcmp((char *)x + XSAVE_XMM(0), xmm0, 16));
	free(x);
	vmm_test_teardown(&t);
}

/* ---- events ---- */

TEST(interrupt_args)
{
	struct vmm_interrupt irq = { .vector = 0x40, .reserved = 1 };
	struct vmm_test t;
	unsigned int v;

	VMM_TEST_SETUP(&t);
	for (v = 0; v < 32; v++) {
		ASSERT_EQ(-1, vmm_vcpu_interrupt(t.vcpu, v));
		ASSERT_EQ(EINVAL, errno);
	}
	ASSERT_EQ(-1, vmm_vcpu_interrupt(t.vcpu, 256));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ioctl(t.vcpu->fd, VMM_INTERRUPT, &irq));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, vmm_vcpu_interrupt(t.vcpu, 32));
	/* One is queued already. */
	ASSERT_EQ(-1, vmm_vcpu_interrupt(t.vcpu, 33));
	ASSERT_EQ(EBUSY, errno);
	vmm_test_teardown(&t);
}

TEST(irq_line_not_yet)
{
	struct vmm_irq_level l = { .irq = 4, .level = 1 };
	struct vmm_vm *vm;

	VMM_TEST_VM(vm);
	ASSERT_EQ(-1, ioctl(vm->fd, VMM_IRQ_LINE, &l));
	ASSERT_EQ(ENXIO, errno);
	vmm_vm_destroy(vm);
}

/* ---- the run mapping ---- */

TEST(run_mmap)
{
	struct vmm_test t;
	size_t sz;
	void *p;

	VMM_TEST_SETUP(&t);
	sz = t.vm->run_size;
	p = mmap(NULL, sz + 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
		 t.vcpu->fd, 0);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, t.vcpu->fd,
		 sz);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, t.vcpu->fd,
		 4096);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);

	/* A second mapping is the same page. */
	p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, t.vcpu->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	t.vcpu->run->request_interrupt_window = 1;
	ASSERT_EQ(1, ((struct vmm_run *)p)->request_interrupt_window);
	t.vcpu->run->request_interrupt_window = 0;
	munmap(p, sz);
	vmm_test_teardown(&t);
}

/* ---- ownership and bad pointers ---- */

/*
 * A forked child has another mm: every ioctl and mmap on the parent's VM
 * and vCPU fds is EIO.  The child reports the first check that failed in
 * its exit status.
 */
static int child_checks(struct vmm_test *t)
{
	struct vmm_regs regs;
	void *p;

	if (ioctl(t->vm->fd, VMM_CREATE_VCPU, 1UL) != -1 || errno != EIO)
		return 1;
	if (ioctl(t->vm->fd, VMM_CHECK_CAP, VMM_CAP_ENGINE) != -1 ||
	    errno != EIO)
		return 2;
	if (ioctl(t->vcpu->fd, VMM_RUN, 0) != -1 || errno != EIO)
		return 3;
	if (ioctl(t->vcpu->fd, VMM_GET_REGS, &regs) != -1 || errno != EIO)
		return 4;
	p = mmap(NULL, t->vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 t->vcpu->fd, 0);
	if (p != MAP_FAILED || errno != EIO)
		return 5;
	/* The system fd is not tied to an mm. */
	if (ioctl(t->vm->sys_fd, VMM_GET_API_VERSION, 0) != VMM_API_VERSION)
		return 6;
	return 0;
}

TEST(fork_child_eio)
{
	struct vmm_regs regs;
	struct vmm_test t;
	int status;
	pid_t pid;

	VMM_TEST_SETUP(&t);
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(child_checks(&t));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("child check %d failed",
						  WEXITSTATUS(status));
	/* The parent still owns them. */
	ASSERT_EQ(0, vmm_get_regs(t.vcpu, &regs));
	vmm_test_teardown(&t);
}

TEST(bad_pointers)
{
	const unsigned long vcpu_ioctls[] = {
		VMM_GET_REGS, VMM_SET_REGS, VMM_GET_SREGS, VMM_SET_SREGS,
		VMM_GET_MSRS, VMM_SET_MSRS, VMM_GET_FPU, VMM_SET_FPU,
		VMM_INTERRUPT,
	};
	const unsigned long vm_ioctls[] = {
		VMM_SET_MEMORY_SLOT, VMM_SET_CPUID, VMM_GET_CPUID,
	};
	struct vmm_test t;
	void *bad[2];
	unsigned int i, j;

	VMM_TEST_SETUP(&t);
	/* NULL, and a page that was mapped and no longer is. */
	bad[0] = NULL;
	bad[1] = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bad[1]);
	munmap(bad[1], 4096);

	for (j = 0; j < 2; j++) {
		for (i = 0; i < ARRAY_SIZE(vcpu_ioctls); i++) {
			ASSERT_EQ(-1, ioctl(t.vcpu->fd, vcpu_ioctls[i],
					    bad[j]));
			ASSERT_EQ(EFAULT, errno)
				TH_LOG("vCPU ioctl 0x%lx", vcpu_ioctls[i]);
		}
		for (i = 0; i < ARRAY_SIZE(vm_ioctls); i++) {
			ASSERT_EQ(-1, ioctl(t.vm->fd, vm_ioctls[i], bad[j]));
			ASSERT_EQ(EFAULT, errno)
				TH_LOG("VM ioctl 0x%lx", vm_ioctls[i]);
		}
		ASSERT_EQ(-1, ioctl(t.vm->sys_fd, VMM_GET_SUPPORTED_CPUID,
				    bad[j]));
		ASSERT_EQ(EFAULT, errno);
	}
	vmm_test_teardown(&t);
}

TEST_HARNESS_MAIN
