// SPDX-License-Identifier: GPL-2.0
/*
 * vmm-demo - a first guest on /dev/vmm, and a tour of the exits.
 *
 * The guest starts in real mode, greets through a console port, then
 * switches itself to 32-bit protected mode and on to 64-bit long mode,
 * with its own GDT and page tables.  There it lists the primes below 100,
 * reports their sum on a result port, shows the CPUID vendor string it
 * sees, talks to a device at an address no memory slot backs (MMIO), and
 * halts.  This program answers every exit and prints each one that is not
 * console text; it checks what the guest reports against its own view
 * (the registers, the CPUID table, the sum computed here) and exits 0
 * only when everything agreed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/vmm.h>

#define GUEST_MEM_SIZE	0x100000	/* 1 MiB of RAM at address 0 */
#define GUEST_CODE	0x1000		/* where the guest is copied */
#define GUEST_STACK	0x8000		/* top of the guest's stack */
#define GUEST_PT	0x10000		/* the guest builds its tables here */
#define PORT_CONSOLE	0x3f8		/* each byte written is printed */
#define PORT_MODE	0x80		/* the guest says which mode it is in */
#define PORT_RESULT	0x504		/* a 32-bit result to check */
#define MMIO_DEVICE	0xd0000000	/* no slot here: exits to us */
#define MMIO_ANSWER	0x564d4d21	/* what a read of the device returns */
#define PRIME_LIMIT	100
#define MAX_CPUID	256
#define MAX_EXITS	10000		/* a guest gone wild stops here */

#define MODE_REAL	0x16
#define MODE_PROT	0x32
#define MODE_LONG	0x64

#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)

/* A guest label's address once the code is copied to GUEST_CODE. */
#define GA(label)	"(" #label " - demo_guest + " __stringify(GUEST_CODE) ")"

asm(
"	.pushsection .rodata.demo_guest, \"a\"\n"
"	.globl demo_guest, demo_guest_end\n"
"	.code16\n"
"demo_guest:\n"
"	cli\n"
"	xorw %ax, %ax\n"
"	movw %ax, %ds\n"
"	movw %ax, %es\n"
"	movw %ax, %ss\n"
"	movw $" __stringify(GUEST_STACK) ", %sp\n"
"	movb $" __stringify(MODE_REAL) ", %al\n"
"	outb %al, $" __stringify(PORT_MODE) "\n"
"	movw $" GA(msg_hello) ", %si\n"
"	call puts16\n"
	/* Protected mode: a flat GDT, PE, and a far jump to reload CS. */
"	lgdtl " GA(gdt_desc) "\n"
"	movl %cr0, %eax\n"
"	orl $1, %eax\n"
"	movl %eax, %cr0\n"
"	ljmpl $0x08, $" GA(pm32) "\n"
"\n"
	/* Prints the string at DS:SI, one OUT per byte. */
"puts16:\n"
"	movw $" __stringify(PORT_CONSOLE) ", %dx\n"
"1:	lodsb\n"
"	testb %al, %al\n"
"	jz 2f\n"
"	outb %al, %dx\n"
"	jmp 1b\n"
"2:	ret\n"
"\n"
"	.code32\n"
"pm32:\n"
"	movw $0x10, %ax\n"
"	movw %ax, %ds\n"
"	movw %ax, %es\n"
"	movw %ax, %fs\n"
"	movw %ax, %gs\n"
"	movw %ax, %ss\n"
"	movl $" __stringify(GUEST_STACK) ", %esp\n"
"	movb $" __stringify(MODE_PROT) ", %al\n"
"	outb %al, $" __stringify(PORT_MODE) "\n"
"	movl $" GA(msg_prot) ", %esi\n"
"	call puts32\n"
	/*
	 * Identity-map the first 4 GiB with 2 MiB pages: one PML4 entry,
	 * four PDPT entries, 2048 PD entries in four pages after them.
	 */
"	movl $" __stringify(GUEST_PT) ", %edi\n"
"	movl $(6 * 4096 / 4), %ecx\n"
"	xorl %eax, %eax\n"
"	rep stosl\n"
"	movl $(" __stringify(GUEST_PT) " + 0x1003), " __stringify(GUEST_PT) "\n"
"	movl $(" __stringify(GUEST_PT) " + 0x2003), %eax\n"
"	movl $(" __stringify(GUEST_PT) " + 0x1000), %edi\n"
"	movl $4, %ecx\n"
"1:	movl %eax, (%edi)\n"
"	addl $0x1000, %eax\n"
"	addl $8, %edi\n"
"	loop 1b\n"
"	movl $0x83, %eax\n"		/* present, writable, 2 MiB */
"	movl $(" __stringify(GUEST_PT) " + 0x2000), %edi\n"
"	movl $2048, %ecx\n"
"1:	movl %eax, (%edi)\n"
"	addl $0x200000, %eax\n"
"	addl $8, %edi\n"
"	loop 1b\n"
	/* Long mode: PAE, the tables, EFER.LME, then paging on. */
"	movl %cr4, %eax\n"
"	orl $0x20, %eax\n"
"	movl %eax, %cr4\n"
"	movl $" __stringify(GUEST_PT) ", %eax\n"
"	movl %eax, %cr3\n"
"	movl $0xc0000080, %ecx\n"
"	rdmsr\n"
"	orl $0x100, %eax\n"
"	wrmsr\n"
"	movl %cr0, %eax\n"
"	orl $0x80000000, %eax\n"
"	movl %eax, %cr0\n"
"	ljmp $0x18, $" GA(lm64) "\n"
"\n"
	/* Prints the string at DS:ESI, one OUT per byte. */
"puts32:\n"
"	movw $" __stringify(PORT_CONSOLE) ", %dx\n"
"1:	lodsb\n"
"	testb %al, %al\n"
"	jz 2f\n"
"	outb %al, %dx\n"
"	jmp 1b\n"
"2:	ret\n"
"\n"
"	.code64\n"
"lm64:\n"
"	movq $" __stringify(GUEST_STACK) ", %rsp\n"
"	movb $" __stringify(MODE_LONG) ", %al\n"
"	outb %al, $" __stringify(PORT_MODE) "\n"
"	leaq msg_long(%rip), %rsi\n"
"	call puts64\n"
	/* Primes by trial division; EBX the candidate, R12D the sum. */
"	leaq msg_primes(%rip), %rsi\n"
"	call puts64\n"
"	xorl %r12d, %r12d\n"
"	movl $2, %ebx\n"
"3:	movl $2, %ecx\n"
"4:	movl %ecx, %eax\n"
"	imull %eax, %eax\n"
"	cmpl %ebx, %eax\n"
"	ja 5f\n"
"	movl %ebx, %eax\n"
"	xorl %edx, %edx\n"
"	divl %ecx\n"
"	testl %edx, %edx\n"
"	jz 6f\n"
"	incl %ecx\n"
"	jmp 4b\n"
"5:	addl %ebx, %r12d\n"
"	movw $" __stringify(PORT_CONSOLE) ", %dx\n"
"	movb $0x20, %al\n"
"	outb %al, %dx\n"
"	movl %ebx, %eax\n"
"	call putdec\n"
"6:	incl %ebx\n"
"	cmpl $" __stringify(PRIME_LIMIT) ", %ebx\n"
"	jb 3b\n"
"	leaq msg_nl(%rip), %rsi\n"
"	call puts64\n"
"	movl %r12d, %eax\n"
"	movw $" __stringify(PORT_RESULT) ", %dx\n"
"	outl %eax, %dx\n"
	/* The vendor string: EBX, EDX, ECX of leaf 0, in that order. */
"	xorl %eax, %eax\n"
"	xorl %ecx, %ecx\n"
"	cpuid\n"
"	leaq vendor(%rip), %rdi\n"
"	movl %ebx, (%rdi)\n"
"	movl %edx, 4(%rdi)\n"
"	movl %ecx, 8(%rdi)\n"
"	leaq msg_vendor(%rip), %rsi\n"
"	call puts64\n"
	/* The device: read its id, write it back plus one. */
"	movl $" __stringify(MMIO_DEVICE) ", %edi\n"
"	movl (%rdi), %eax\n"
"	incl %eax\n"
"	movl %eax, 4(%rdi)\n"
"	leaq msg_bye(%rip), %rsi\n"
"	call puts64\n"
"	hlt\n"
"	jmp .\n"
"\n"
	/* Prints the string at RSI with one string OUT: a single exit. */
"puts64:\n"
"	movq %rsi, %rdi\n"
"	xorl %eax, %eax\n"
"	movq $-1, %rcx\n"
"	repne scasb\n"
"	notq %rcx\n"
"	decq %rcx\n"
"	movw $" __stringify(PORT_CONSOLE) ", %dx\n"
"	rep outsb\n"
"	ret\n"
"\n"
	/* Prints EAX in decimal, one OUT per digit. */
"putdec:\n"
"	movl $10, %ecx\n"
"	xorl %r8d, %r8d\n"
"1:	xorl %edx, %edx\n"
"	divl %ecx\n"
"	pushq %rdx\n"
"	incl %r8d\n"
"	testl %eax, %eax\n"
"	jnz 1b\n"
"	movw $" __stringify(PORT_CONSOLE) ", %dx\n"
"2:	popq %rax\n"
"	addb $0x30, %al\n"
"	outb %al, %dx\n"
"	decl %r8d\n"
"	jnz 2b\n"
"	ret\n"
"\n"
"	.balign 8\n"
"gdt:\n"
"	.quad 0\n"
"	.quad 0x00cf9a000000ffff\n"	/* 0x08: 32-bit code, flat */
"	.quad 0x00cf92000000ffff\n"	/* 0x10: data, flat */
"	.quad 0x00af9a000000ffff\n"	/* 0x18: 64-bit code */
"gdt_desc:\n"
"	.word gdt_desc - gdt - 1\n"
"	.long " GA(gdt) "\n"
"msg_hello:	.asciz \"Hello from a vmm guest\\n\"\n"
"msg_prot:	.asciz \"now in 32-bit protected mode\\n\"\n"
"msg_long:	.asciz \"now in 64-bit long mode, paging on\\n\"\n"
"msg_primes:	.asciz \"primes below " __stringify(PRIME_LIMIT) ":\"\n"
"msg_nl:		.asciz \"\\n\"\n"
"msg_vendor:	.ascii \"cpuid vendor: \"\n"
"vendor:		.asciz \"????????????\\n\"\n"
"msg_bye:	.asciz \"bye\\n\"\n"
"demo_guest_end:\n"
"	.popsection\n");

extern const char demo_guest[], demo_guest_end[];

struct demo {
	int sys_fd, vm_fd, vcpu_fd;
	struct vmm_run *run;
	int run_size;
	void *mem;
	char vendor[13];	/* leaf 0 of the CPUID table we set */

	char line[160];		/* console text waiting for its newline */
	size_t line_len;

	/* What the guest has shown so far. */
	int mode;		/* last MODE_* reported and confirmed */
	bool result_ok, vendor_ok, mmio_read, mmio_ok;

	/* Exits by kind, for the summary. */
	unsigned long returns, console_exits, console_bytes, string_exits;
	unsigned long mode_exits;
	unsigned long result_exits, mmio_exits, hlt_exits;
};

static void die(const char *what)
{
	fprintf(stderr, "vmm-demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Says what went wrong and ends the demo with status 1. */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vmm-demo: FAILED: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static const char *engine_name(int engine)
{
	switch (engine) {
	case VMM_ENGINE_SVM:
		return "svm (AMD-V)";
	case VMM_ENGINE_VMX:
		return "vmx (Intel VT-x)";
	case VMM_ENGINE_BT:
		return "bt (binary translation)";
	default:
		return "none";
	}
}

static void open_system(struct demo *d)
{
	int ver, engine, npt, levels;

	d->sys_fd = open("/dev/vmm", O_RDWR | O_CLOEXEC);
	if (d->sys_fd < 0) {
		fprintf(stderr, "vmm-demo: /dev/vmm: %s%s\n", strerror(errno),
			errno == ENOENT ? " (load kmod/vmm.ko first)" : "");
		exit(1);
	}
	ver = ioctl(d->sys_fd, VMM_GET_API_VERSION, 0);
	if (ver != VMM_API_VERSION)
		fail("/dev/vmm speaks API version %d, this demo knows %d",
		     ver, VMM_API_VERSION);
	engine = ioctl(d->sys_fd, VMM_CHECK_CAP, VMM_CAP_ENGINE);
	npt = ioctl(d->sys_fd, VMM_CHECK_CAP, VMM_CAP_NESTED_PAGING);
	levels = ioctl(d->sys_fd, VMM_CHECK_CAP, VMM_CAP_PAGING_LEVELS);
	printf("/dev/vmm: API version %d, engine %s", ver, engine_name(engine));
	if (npt > 0)
		printf(", nested paging (%d levels)", levels);
	else
		printf(", shadow paging");
	printf("\n");
}

/* The table the engine offers, given to the guest unchanged. */
static void set_cpuid(struct demo *d)
{
	struct vmm_cpuid *c;
	unsigned int i;

	c = calloc(1, sizeof(*c) + MAX_CPUID * sizeof(c->entries[0]));
	if (!c)
		die("calloc");
	c->nent = MAX_CPUID;
	if (ioctl(d->sys_fd, VMM_GET_SUPPORTED_CPUID, c) < 0)
		die("VMM_GET_SUPPORTED_CPUID");
	if (ioctl(d->vm_fd, VMM_SET_CPUID, c) < 0)
		die("VMM_SET_CPUID");
	for (i = 0; i < c->nent; i++) {
		if (c->entries[i].function != 0)
			continue;
		memcpy(d->vendor, &c->entries[i].ebx, 4);
		memcpy(d->vendor + 4, &c->entries[i].edx, 4);
		memcpy(d->vendor + 8, &c->entries[i].ecx, 4);
	}
	printf("CPUID table: %u entries, vendor \"%s\"\n", c->nent, d->vendor);
	free(c);
}

static void create_vm(struct demo *d)
{
	struct vmm_memory_slot slot = { .slot = 0, .guest_phys = 0,
					.size = GUEST_MEM_SIZE };

	d->vm_fd = ioctl(d->sys_fd, VMM_CREATE_VM, 0);
	if (d->vm_fd < 0)
		die("VMM_CREATE_VM (is another hypervisor using the CPU?)");

	d->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (d->mem == MAP_FAILED)
		die("mmap guest memory");
	memcpy((char *)d->mem + GUEST_CODE, demo_guest,
	       demo_guest_end - demo_guest);
	slot.userspace_addr = (uintptr_t)d->mem;
	if (ioctl(d->vm_fd, VMM_SET_MEMORY_SLOT, &slot) < 0)
		die("VMM_SET_MEMORY_SLOT");
	printf("VM: %d KiB of RAM at 0, %zd bytes of guest code at %#x\n",
	       GUEST_MEM_SIZE / 1024, demo_guest_end - demo_guest, GUEST_CODE);
	set_cpuid(d);

	d->vcpu_fd = ioctl(d->vm_fd, VMM_CREATE_VCPU, 0);
	if (d->vcpu_fd < 0)
		die("VMM_CREATE_VCPU");
	d->run_size = ioctl(d->sys_fd, VMM_GET_RUN_SIZE, 0);
	if (d->run_size < (int)sizeof(*d->run))
		die("VMM_GET_RUN_SIZE");
	d->run = mmap(NULL, d->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      d->vcpu_fd, 0);
	if (d->run == MAP_FAILED)
		die("mmap vcpu run page");
}

static void set_real_mode_seg(struct vmm_segment *s, bool code)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffff;
	s->type = code ? 0xb : 0x3;	/* exec/read, read/write; accessed */
	s->present = 1;
	s->s = 1;
}

/* Real mode, CS:IP = 0000:GUEST_CODE: the guest does the rest. */
static void reset_vcpu(struct demo *d)
{
	struct vmm_sregs sregs;
	struct vmm_regs regs = { .rip = GUEST_CODE, .rflags = 0x2 };

	if (ioctl(d->vcpu_fd, VMM_GET_SREGS, &sregs) < 0)
		die("VMM_GET_SREGS");
	set_real_mode_seg(&sregs.cs, true);
	set_real_mode_seg(&sregs.ds, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	if (ioctl(d->vcpu_fd, VMM_SET_SREGS, &sregs) < 0)
		die("VMM_SET_SREGS");
	if (ioctl(d->vcpu_fd, VMM_SET_REGS, &regs) < 0)
		die("VMM_SET_REGS");
}

/* A whole line of console text: show it, and check the vendor line. */
static void console_line(struct demo *d)
{
	static const char tag[] = "cpuid vendor: ";

	d->line[d->line_len] = '\0';
	printf("guest> %s\n", d->line);
	if (!strncmp(d->line, tag, strlen(tag))) {
		if (strcmp(d->line + strlen(tag), d->vendor))
			fail("the guest saw vendor \"%s\", the CPUID table says \"%s\"",
			     d->line + strlen(tag), d->vendor);
		d->vendor_ok = true;
	}
	d->line_len = 0;
}

static void console_putc(struct demo *d, char c)
{
	if (c == '\n' || d->line_len == sizeof(d->line) - 1) {
		console_line(d);
		if (c == '\n')
			return;
	}
	d->line[d->line_len++] = c;
}

/* The guest says which mode it reached; check it in its registers. */
static void mode_report(struct demo *d, uint8_t mode)
{
	struct vmm_sregs s;
	bool pe, pg, lma;

	if (ioctl(d->vcpu_fd, VMM_GET_SREGS, &s) < 0)
		die("VMM_GET_SREGS");
	pe = s.cr0 & 1;
	pg = s.cr0 & (1ull << 31);
	lma = s.efer & (1 << 10);
	printf("exit: io out port %#x = %#x: guest reports %s; sregs: CR0.PE=%d CR0.PG=%d EFER.LMA=%d CS.L=%d CS.D=%d\n",
	       PORT_MODE, mode, mode == MODE_REAL ? "real mode" :
	       mode == MODE_PROT ? "32-bit protected mode" :
	       mode == MODE_LONG ? "64-bit long mode" : "an unknown mode",
	       pe, pg, lma, s.cs.l, s.cs.db);
	switch (mode) {
	case MODE_REAL:
		if (d->mode || pe)
			fail("real mode reported out of order or with CR0.PE set");
		break;
	case MODE_PROT:
		if (d->mode != MODE_REAL || !pe || pg || !s.cs.db || s.cs.l)
			fail("32-bit protected mode does not match the registers");
		break;
	case MODE_LONG:
		if (d->mode != MODE_PROT || !pe || !pg || !lma || !s.cs.l)
			fail("64-bit long mode does not match the registers");
		break;
	default:
		fail("unknown mode code %#x", mode);
	}
	d->mode = mode;
}

static void check_result(struct demo *d, uint32_t sum)
{
	uint32_t want = 0, n, k;

	/* The same sum, computed here, so the guest's work is checked. */
	for (n = 2; n < PRIME_LIMIT; n++) {
		for (k = 2; k * k <= n && n % k; k++)
			;
		if (k * k > n)
			want += n;
	}
	printf("exit: io out port %#x = %u: sum of the primes below %d, %s\n",
	       PORT_RESULT, sum, PRIME_LIMIT,
	       sum == want ? "correct" : "WRONG");
	if (sum != want)
		fail("the guest's sum is %u, it should be %u", sum, want);
	d->result_ok = true;
}

static void handle_io(struct demo *d)
{
	struct vmm_run *run = d->run;
	const uint8_t *data = (const uint8_t *)run + run->io.data_offset;
	uint32_t i, val = 0;

	if (run->io.direction != VMM_EXIT_IO_OUT)
		fail("the guest read port %#x; this demo has no input ports",
		     run->io.port);
	if (run->io.data_offset < sizeof(*run) ||
	    run->io.data_offset + (uint64_t)run->io.count * run->io.size >
	    (uint64_t)d->run_size)
		fail("I/O data at offset %llu x %u items is outside the run page",
		     (unsigned long long)run->io.data_offset, run->io.count);

	if (run->io.port == PORT_CONSOLE && run->io.size == 1) {
		for (i = 0; i < run->io.count; i++)
			console_putc(d, data[i]);
		d->console_exits++;
		d->console_bytes += run->io.count;
		if (run->io.count > 1)
			d->string_exits++;
		return;
	}
	if (run->io.count != 1)
		fail("string OUT to port %#x", run->io.port);
	memcpy(&val, data, run->io.size);
	if (run->io.port == PORT_MODE && run->io.size == 1) {
		mode_report(d, val);
		d->mode_exits++;
	} else if (run->io.port == PORT_RESULT && run->io.size == 4) {
		check_result(d, val);
		d->result_exits++;
	} else {
		fail("OUT of %u bytes to unknown port %#x", run->io.size,
		     run->io.port);
	}
}

/* A pretend device at MMIO_DEVICE: an id register, then a mailbox. */
static void handle_mmio(struct demo *d)
{
	struct vmm_run *run = d->run;
	uint64_t off = run->mmio.phys_addr - MMIO_DEVICE;
	uint32_t val = 0;

	d->mmio_exits++;
	if (run->mmio.phys_addr < MMIO_DEVICE || off > 4 ||
	    run->mmio.len != 4)
		fail("MMIO %s of %u bytes at %#llx, outside the demo device",
		     run->mmio.is_write ? "write" : "read", run->mmio.len,
		     (unsigned long long)run->mmio.phys_addr);
	if (!run->mmio.is_write && off == 0) {
		val = MMIO_ANSWER;
		memcpy(run->mmio.data, &val, 4);
		d->mmio_read = true;
		printf("exit: mmio read of 4 bytes at %#llx (no memory there): answered %#x\n",
		       (unsigned long long)run->mmio.phys_addr, val);
		return;
	}
	if (run->mmio.is_write && off == 4) {
		memcpy(&val, run->mmio.data, 4);
		printf("exit: mmio write of 4 bytes at %#llx: %#x, %s\n",
		       (unsigned long long)run->mmio.phys_addr, val,
		       val == MMIO_ANSWER + 1 ? "our answer + 1, as expected" :
		       "NOT our answer + 1");
		if (!d->mmio_read || val != MMIO_ANSWER + 1)
			fail("the guest did not see the MMIO answer");
		d->mmio_ok = true;
		return;
	}
	fail("unexpected MMIO %s at %#llx", run->mmio.is_write ? "write" :
	     "read", (unsigned long long)run->mmio.phys_addr);
}

/* Anything we did not ask for: say what it was and where. */
static void unexpected_exit(struct demo *d)
{
	struct vmm_run *run = d->run;
	struct vmm_regs regs = { 0 };
	const char *what;

	ioctl(d->vcpu_fd, VMM_GET_REGS, &regs);
	switch (run->exit_reason) {
	case VMM_EXIT_SHUTDOWN:
		what = "shutdown (triple fault)";
		break;
	case VMM_EXIT_FAIL_ENTRY:
		what = "entry failed (invalid guest state)";
		fprintf(stderr, "vmm-demo: hardware reason %#llx\n",
			(unsigned long long)
			run->fail_entry.hardware_entry_failure_reason);
		break;
	case VMM_EXIT_INTERNAL_ERROR:
		what = "internal error";
		fprintf(stderr, "vmm-demo: suberror %u, data %#llx %#llx\n",
			run->internal.suberror,
			(unsigned long long)run->internal.data[0],
			(unsigned long long)run->internal.data[1]);
		break;
	default:
		what = "unexpected exit";
	}
	fail("%s (exit reason %u) at rip %#llx", what, run->exit_reason,
	     (unsigned long long)regs.rip);
}

static void run_guest(struct demo *d)
{
	for (;;) {
		if (d->returns >= MAX_EXITS)
			fail("%d exits and no HLT: the guest is lost", MAX_EXITS);
		if (ioctl(d->vcpu_fd, VMM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			die("VMM_RUN");
		}
		d->returns++;
		switch (d->run->exit_reason) {
		case VMM_EXIT_IO:
			handle_io(d);
			break;
		case VMM_EXIT_MMIO:
			handle_mmio(d);
			break;
		case VMM_EXIT_HLT:
			d->hlt_exits++;
			if (d->line_len)
				console_line(d);
			printf("exit: hlt: the guest is done\n");
			return;
		default:
			unexpected_exit(d);
		}
	}
}

static void summary(struct demo *d)
{
	unsigned long long total = d->run->exit_count;

	printf("\nsummary: VMM_RUN returned %lu times; the vCPU took %llu exits, %llu of them handled in the kernel\n",
	       d->returns, total,
	       total > d->returns ? total - d->returns : 0ull);
	printf("  io out, console %#-6x %5lu (%lu bytes; %lu by REP OUTSB)\n",
	       PORT_CONSOLE, d->console_exits, d->console_bytes,
	       d->string_exits);
	printf("  io out, mode %#-9x %5lu\n", PORT_MODE, d->mode_exits);
	printf("  io out, result %#-7x %5lu\n", PORT_RESULT, d->result_exits);
	printf("  %-22s %5lu\n", "mmio", d->mmio_exits);
	printf("  %-22s %5lu\n", "hlt", d->hlt_exits);

	if (d->mode != MODE_LONG)
		fail("the guest never reached long mode");
	/* Long mode prints with REP OUTSB: one exit per string. */
	if (!d->string_exits)
		fail("the guest's REP OUTSB console writes never reached this program: string I/O lost in the kernel?");
	if (!d->result_ok)
		fail("the guest never reported its result");
	if (!d->vendor_ok)
		fail("the guest never reported its CPUID vendor");
	if (!d->mmio_ok)
		fail("the guest never completed its MMIO exchange");
	printf("vmm-demo: OK\n");
}

int main(int argc, char **argv)
{
	struct demo d = { 0 };

	if (argc > 1) {
		fprintf(stderr, "usage: %s\n"
			"Runs a small guest on /dev/vmm through real, protected and long mode.\n",
			argv[0]);
		return argc == 2 && !strcmp(argv[1], "-h") ? 0 : 2;
	}
	/* Console lines and exit lines interleave in order. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	open_system(&d);
	create_vm(&d);
	reset_vcpu(&d);
	printf("running the guest from real mode at 0000:%04x\n\n",
	       GUEST_CODE);
	run_guest(&d);
	summary(&d);
	return 0;
}
