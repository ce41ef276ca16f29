// SPDX-License-Identifier: GPL-2.0
/*
 * npt_test - nested paging: guest memory is faulted in on demand and
 * follows the host's changes to its backing (the MMU notifier path).  A
 * guest walks a 64 MiB slot, page by page, on the test's command while
 * the test drops, rewrites, replaces, moves and unmaps the memory behind
 * it; a slot above 512 GiB guest-physical uses the upper levels of the
 * nested tables.  Over 2 MiB-aligned memory backed by the host's huge
 * pages, vmm maps 2 MiB at a time: the same changes must be followed
 * there, where one nested entry covers 512 host pages.
 */
#include "lib/vmm_test.h"

#include <ctype.h>
#include <sys/wait.h>
#include <sys/ioctl.h>

#define MAILBOX		__stringify(GUEST_MAILBOX)
#define BIG_GPA		0x4000000ULL		/* 64 MiB */
#define BIG_SIZE	0x4000000ULL		/* 64 MiB */
#define BIG_PAGES	(BIG_SIZE / 4096)
#define HIGH_GPA	0x8000000000ULL		/* 512 GiB */
#define HIGH_SIZE	0x200000ULL
#define HUGE		0x200000ULL		/* 2 MiB */

#define PORT_CMD	0x90	/* IN: what to do */
#define PORT_DONE	0x91	/* OUT: done */
#define CMD_WRITE	1	/* page i of the slot gets salt + i */
#define CMD_CHECK	2	/* sum and count pages holding salt + i */
#define CMD_HIGH	3	/* read the high slot, write it back + 1 */

/*
 * Mailbox: [0] salt, [1] sum of the pages' first words, [2] how many
 * pages hold salt + index, [3] what the high slot held.
 */
asm(
"	.pushsection .rodata.guest, \"a\"\n"
"	.code64\n"
"npt_guest_start:\n"
"1:	inl $" __stringify(PORT_CMD) ", %eax\n"
"	cmpl $" __stringify(CMD_WRITE) ", %eax\n"
"	je 2f\n"
"	cmpl $" __stringify(CMD_CHECK) ", %eax\n"
"	je 4f\n"
"	cmpl $" __stringify(CMD_HIGH) ", %eax\n"
"	je 7f\n"
"	hlt\n"
/* CMD_WRITE */
"2:	movq " MAILBOX ", %rdx\n"
"	movq $" __stringify(BIG_GPA) ", %rbx\n"
"	xorl %ecx, %ecx\n"
"3:	leaq (%rdx,%rcx), %rax\n"
"	movq %rax, (%rbx)\n"
"	addq $4096, %rbx\n"
"	incq %rcx\n"
"	cmpq $" __stringify(BIG_PAGES) ", %rcx\n"
"	jne 3b\n"
"	outb %al, $" __stringify(PORT_DONE) "\n"
"	jmp 1b\n"
/* CMD_CHECK */
"4:	movq " MAILBOX ", %rdx\n"
"	movq $" __stringify(BIG_GPA) ", %rbx\n"
"	xorl %ecx, %ecx\n"
"	xorl %esi, %esi\n"
"	xorl %edi, %edi\n"
"5:	movq (%rbx), %rax\n"
"	addq %rax, %rsi\n"
"	leaq (%rdx,%rcx), %r8\n"
"	cmpq %r8, %rax\n"
"	jne 6f\n"
"	incq %rdi\n"
"6:	addq $4096, %rbx\n"
"	incq %rcx\n"
"	cmpq $" __stringify(BIG_PAGES) ", %rcx\n"
"	jne 5b\n"
"	movq %rsi, " MAILBOX " + 8\n"
"	movq %rdi, " MAILBOX " + 16\n"
"	outb %al, $" __stringify(PORT_DONE) "\n"
"	jmp 1b\n"
/* CMD_HIGH: the high slot is mapped at the same virtual address */
"7:	movabsq $" __stringify(HIGH_GPA) ", %rbx\n"
"	movq 0x1000(%rbx), %rax\n"
"	movq %rax, " MAILBOX " + 24\n"
"	incq %rax\n"
"	movq %rax, 0x1000(%rbx)\n"
"	outb %al, $" __stringify(PORT_DONE) "\n"
"	jmp 1b\n"
"npt_guest_end:\n"
"	.popsection\n");
VMM_GUEST_CODE(npt_guest);

struct npt_ctx {
	struct vmm_test t;
	uint8_t *big;		/* the 64 MiB slot's memory */
	uint64_t *mailbox;
};

FIXTURE(npt) {
	struct npt_ctx c;
};

/* The VM is made in each body: a SKIP here would not stop the body. */
FIXTURE_SETUP(npt)
{
}

FIXTURE_TEARDOWN(npt)
{
	vmm_test_teardown(&self->c.t);
}

/* Skips without nested paging; else a VM running the command loop. */
#define NPT_SETUP(c) do {						\
	int __sys = vmm_open();						\
									\
	if (__sys >= 0 &&						\
	    vmm_check_cap(__sys, VMM_CAP_NESTED_PAGING) == 0) {		\
		close(__sys);						\
		SKIP(return,						\
		     "shadow paging not yet: module loaded with npt=0"); \
	}								\
	if (__sys >= 0)							\
		close(__sys);						\
	VMM_TEST_SETUP(&c->t);						\
	vm_start(_metadata, c);						\
} while (0)

static void vm_start(struct __test_metadata *_metadata, struct npt_ctx *c)
{
	struct vmm_test *t = &c->t;
	long levels = vmm_check_cap(t->vm->fd, VMM_CAP_PAGING_LEVELS);

	ASSERT_TRUE(levels == 4 || levels == 5) TH_LOG("%ld levels", levels);
	c->big = vmm_vm_add_memory(t->vm, 1, BIG_GPA, BIG_SIZE, 0);
	ASSERT_NE(NULL, c->big) TH_LOG("64 MiB slot: %s", strerror(errno));
	c->mailbox = (uint64_t *)(t->mem + GUEST_MAILBOX);
	VMM_TEST_LOAD(t, npt_guest);
	ASSERT_EQ(0, vmm_setup_long_mode(t->vcpu, GUEST_SYS, GUEST_CODE,
					 GUEST_STACK));
}

static void command(struct __test_metadata *_metadata, struct npt_ctx *c,
		    uint32_t cmd, uint64_t salt)
{
	c->mailbox[0] = salt;
	vmm_test_in(_metadata, c->t.vcpu, PORT_CMD, 4, cmd);
	vmm_test_out(_metadata, c->t.vcpu, PORT_DONE, 1);
}

/* CMD_CHECK; expects @matches pages of salt + i and a sum of @sum. */
static void check(struct __test_metadata *_metadata, struct npt_ctx *c,
		  uint64_t salt, uint64_t matches, uint64_t sum)
{
	command(_metadata, c, CMD_CHECK, salt);
	ASSERT_EQ(matches, c->mailbox[2]);
	ASSERT_EQ(sum, c->mailbox[1]);
}

static uint64_t *page_word(struct npt_ctx *c, uint64_t i)
{
	return (uint64_t *)(c->big + i * 4096);
}

/* Sum of salt + i over the pages i that are multiples of @step. */
static uint64_t pattern_sum(uint64_t salt, uint64_t step)
{
	uint64_t i, sum = 0;

	for (i = 0; i < BIG_PAGES; i += step)
		sum += salt + i;
	return sum;
}

TEST_F_TIMEOUT(npt, backing_changes, 180)
{
	const uint64_t s1 = 0x100000000ULL, s2 = 0x200000000ULL;
	const uint64_t s3 = 0x300000000ULL;
	struct npt_ctx *c = &self->c;
	struct vmm_test *t = &c->t;
	uint64_t i, exits;
	void *p, *moved, *dst;

	NPT_SETUP(c);

	/*
	 * Every page is new to the guest: each is faulted in, at least one
	 * nested page fault per 2 MiB even if the host used huge pages.
	 */
	exits = t->vcpu->run->exit_count;
	command(_metadata, c, CMD_WRITE, s1);
	ASSERT_LE(exits + BIG_SIZE / 0x200000, t->vcpu->run->exit_count);
	for (i = 0; i < BIG_PAGES; i++) {
		ASSERT_EQ(s1 + i, *page_word(c, i)) TH_LOG("page %lu",
							      (unsigned long)i);
	}
	check(_metadata, c, s1, BIG_PAGES, pattern_sum(s1, 1));

	/* Dropped pages read as zeros in the guest, not as the old ones. */
	ASSERT_EQ(0, madvise(c->big, BIG_SIZE, MADV_DONTNEED));
	check(_metadata, c, s1, 0, 0);

	/* What the host writes now, the guest reads. */
	for (i = 0; i < BIG_PAGES; i += 16)
		*page_word(c, i) = s2 + i;
	check(_metadata, c, s2, BIG_PAGES / 16, pattern_sum(s2, 16));

	/* Fresh memory mapped over the old: the guest follows. */
	p = mmap(c->big, BIG_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ((void *)c->big, p);
	for (i = 0; i < BIG_PAGES; i++)
		*page_word(c, i) = s3 + i;
	check(_metadata, c, s3, BIG_PAGES, pattern_sum(s3, 1));

	/* And the guest's writes land in the new memory. */
	command(_metadata, c, CMD_WRITE, s1);
	ASSERT_EQ(s1 + 5, *page_word(c, 5));
	ASSERT_EQ(s1 + BIG_PAGES - 1, *page_word(c, BIG_PAGES - 1));

	/*
	 * Moved away with mremap: the slot points at nothing now, and the
	 * guest's next access cannot be served.
	 */
	dst = mmap(NULL, BIG_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	ASSERT_NE(MAP_FAILED, dst);
	moved = mremap(c->big, BIG_SIZE, BIG_SIZE, MREMAP_MAYMOVE |
		       MREMAP_FIXED, dst);
	ASSERT_EQ(dst, moved) TH_LOG("mremap: %s", strerror(errno));
	/* The old range is the kernel's now: the library must not unmap it. */
	t->vm->slots[1].owned = false;
	c->mailbox[0] = s1;
	vmm_test_in(_metadata, t->vcpu, PORT_CMD, 4, CMD_CHECK);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_INTERNAL_ERROR);
	ASSERT_EQ(VMM_INTERNAL_MEMORY, t->vcpu->run->internal.suberror);
	ASSERT_EQ(BIG_GPA, t->vcpu->run->internal.data[0] & ~0xfffULL);

	/* Pointed at the new place, the slot has the moved contents. */
	ASSERT_EQ(0, vmm_vm_set_slot(t->vm, 1, BIG_GPA, BIG_SIZE, moved, 0));
	t->vm->slots[1].owned = true;
	c->big = moved;
	ASSERT_EQ(0, vmm_setup_long_mode(t->vcpu, GUEST_SYS, GUEST_CODE,
					 GUEST_STACK));
	check(_metadata, c, s1, BIG_PAGES, pattern_sum(s1, 1));

	/* Deleted, the slot's range is MMIO. */
	ASSERT_EQ(0, vmm_vm_remove_memory(t->vm, 1));
	c->big = NULL;
	c->mailbox[0] = s1;
	vmm_test_in(_metadata, t->vcpu, PORT_CMD, 4, CMD_CHECK);
	vmm_test_run(_metadata, t->vcpu, VMM_EXIT_MMIO);
	ASSERT_EQ(BIG_GPA, t->vcpu->run->mmio.phys_addr);
	ASSERT_EQ(0, t->vcpu->run->mmio.is_write);
	ASSERT_EQ(8, t->vcpu->run->mmio.len);
}

/*
 * fork() makes the slot's private memory copy-on-write: the guest's next
 * writes must break the sharing like the parent's own writes do, never
 * land in the pages the child still sees.
 */
/*
 * fork(), then the guest writes pattern @now over @before: the child
 * must still see @before in every page, the parent and the guest @now.
 */
static void fork_then_write(struct __test_metadata *_metadata,
			    struct npt_ctx *c, uint64_t before, uint64_t now)
{
	int status, go[2];
	uint64_t i;
	pid_t pid;
	char b;

	ASSERT_EQ(0, pipe(go));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Once the parent's guest has written again, look. */
		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(2);
		for (i = 0; i < BIG_PAGES; i++)
			if (*page_word(c, i) != before + i)
				_exit(1);
		_exit(0);
	}
	close(go[0]);
	command(_metadata, c, CMD_WRITE, now);
	ASSERT_EQ(1, write(go[1], "x", 1));
	close(go[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("the child saw the guest's writes");
	for (i = 0; i < BIG_PAGES; i++) {
		ASSERT_EQ(now + i, *page_word(c, i)) TH_LOG("page %lu",
							    (unsigned long)i);
	}
	check(_metadata, c, now, BIG_PAGES, pattern_sum(now, 1));
}

TEST_F(npt, fork_copy_on_write)
{
	const uint64_t s1 = 0x100000000ULL, s2 = 0x200000000ULL;
	struct npt_ctx *c = &self->c;

	NPT_SETUP(c);
	command(_metadata, c, CMD_WRITE, s1);
	fork_then_write(_metadata, c, s1, s2);
}

/* A slot at 512 GiB: entries past index 0 at the upper levels. */
TEST_F(npt, high_slot)
{
	struct npt_ctx *c = &self->c;
	struct vmm_test *t = &c->t;
	uint64_t *high;

	NPT_SETUP(c);
	high = vmm_vm_add_memory(t->vm, 2, HIGH_GPA, HIGH_SIZE, 0);
	ASSERT_NE(NULL, high) TH_LOG("slot at 512 GiB: %s", strerror(errno));
	ASSERT_EQ(0, vmm_map_2m(t->vm, HIGH_GPA, HIGH_GPA));
	high[0x1000 / 8] = 0x5151515151515151ULL;

	command(_metadata, c, CMD_HIGH, 0);
	ASSERT_EQ(0x5151515151515151ULL, c->mailbox[3]);
	ASSERT_EQ(0x5151515151515152ULL, high[0x1000 / 8]);
	/* The low slots still work beside it. */
	command(_metadata, c, CMD_WRITE, 7);
	ASSERT_EQ(7 + 9, *page_word(c, 9));
}

/* KiB of @p's mapping that the host backs with huge pages (smaps). */
static unsigned long anon_huge_kb(void *p)
{
	unsigned long lo, hi, kb = 0;
	char line[256];
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		/* Headers start with the range, fields with a capital. */
		if (!isupper((unsigned char)line[0]) &&
		    sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = lo <= (unsigned long)p && (unsigned long)p < hi;
		else if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			break;
	}
	fclose(f);
	return in ? kb : 0;
}

/* BIG_SIZE of fresh memory at a 2 MiB-aligned address, THP wanted. */
static uint8_t *huge_map(void)
{
	uint8_t *p = mmap(NULL, BIG_SIZE + HUGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + HUGE - 1) & ~(HUGE - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((uint8_t *)a + BIG_SIZE, (uintptr_t)p + HUGE - a);
	madvise((void *)a, BIG_SIZE, MADV_HUGEPAGE);
	return (uint8_t *)a;
}

static uint64_t npf_count(struct __test_metadata *_metadata,
			  struct vmm_vcpu *vcpu)
{
	struct vmm_stats st;

	memset(&st, 0, sizeof(st));
	EXPECT_EQ(0, ioctl(vcpu->fd, VMM_GET_STATS, &st));
	return st.count[VMM_STAT_NPF];
}

/*
 * The slot over host huge pages: one nested page fault per 2 MiB (or per
 * 16 pages with fault-around where the host has none); a drop of part of
 * a huge page, an mremap and fork's copy-on-write are followed.
 */
TEST_F_TIMEOUT(npt, huge_pages, 180)
{
	const uint64_t s1 = 0x100000000ULL, s2 = 0x200000000ULL;
	const uint64_t s3 = 0x300000000ULL;
	const uint64_t one = 3 * 512 + 7, run = 5 * 512 + 100;	/* pages */
	struct npt_ctx *c = &self->c;
	struct vmm_test *t = &c->t;
	uint64_t i, npf, sum;
	unsigned long kb;
	uint8_t *dst;

	NPT_SETUP(c);
	/*
	 * Before the guest touches it: a range once mapped by 4 KiB pages
	 * keeps its table, and so its 4 KiB pages, until the VM dies.
	 */
	ASSERT_EQ(0, vmm_vm_remove_memory(t->vm, 1));
	c->big = huge_map();
	ASSERT_NE(NULL, c->big);
	ASSERT_EQ(0, vmm_vm_set_slot(t->vm, 1, BIG_GPA, BIG_SIZE, c->big, 0));
	t->vm->slots[1].owned = true;
	for (i = 0; i < BIG_PAGES; i++)
		*page_word(c, i) = s1 + i;
	kb = anon_huge_kb(c->big);

	/* The guest reads what the host wrote, 2 MiB per fault. */
	npf = npf_count(_metadata, t->vcpu);
	check(_metadata, c, s1, BIG_PAGES, pattern_sum(s1, 1));
	npf = npf_count(_metadata, t->vcpu) - npf;
	TH_LOG("%lu KiB in host huge pages, %lu nested page faults for %llu pages",
	       kb, (unsigned long)npf, BIG_PAGES);
	/* Some faults are the guest's own pages: code, stack, mailbox. */
	if (kb == BIG_SIZE / 1024)
		ASSERT_GE(BIG_SIZE / HUGE + 16, npf);
	ASSERT_GE(BIG_PAGES / 16 + BIG_SIZE / HUGE + 16, npf);

	/* Its writes across the huge pages reach the host's. */
	command(_metadata, c, CMD_WRITE, s2);
	for (i = 0; i < BIG_PAGES; i++) {
		ASSERT_EQ(s2 + i, *page_word(c, i)) TH_LOG("page %lu",
							    (unsigned long)i);
	}

	/* Part of a huge page dropped: those pages, and only they, read 0. */
	ASSERT_EQ(0, madvise(page_word(c, one), 4096, MADV_DONTNEED));
	ASSERT_EQ(0, madvise(page_word(c, run), 16 * 4096, MADV_DONTNEED));
	sum = pattern_sum(s2, 1) - (s2 + one);
	for (i = run; i < run + 16; i++)
		sum -= s2 + i;
	check(_metadata, c, s2, BIG_PAGES - 17, sum);
	/* What the host writes there now, the guest reads. */
	*page_word(c, one) = s2 + one;
	check(_metadata, c, s2, BIG_PAGES - 16, sum + s2 + one);
	for (i = run; i < run + 16; i++)
		*page_word(c, i) = s2 + i;

	/* Moved by mremap to another 2 MiB-aligned place, and re-slotted. */
	dst = huge_map();
	ASSERT_NE(NULL, dst);
	ASSERT_EQ(dst, mremap(c->big, BIG_SIZE, BIG_SIZE, MREMAP_MAYMOVE |
			      MREMAP_FIXED, dst));
	t->vm->slots[1].owned = false;
	ASSERT_EQ(0, vmm_vm_set_slot(t->vm, 1, BIG_GPA, BIG_SIZE, dst, 0));
	t->vm->slots[1].owned = true;
	c->big = dst;
	check(_metadata, c, s2, BIG_PAGES, pattern_sum(s2, 1));

	/* fork: the guest's writes break the sharing, the child sees s2. */
	fork_then_write(_metadata, c, s2, s3);
}

TEST_HARNESS_MAIN
