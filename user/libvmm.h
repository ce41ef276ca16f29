/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvmm - a thin C wrapper over the /dev/vmm ioctls, and helpers that put
 * a vCPU into real, 32-bit protected or 64-bit long mode.
 *
 * Every function returns -1 (or NULL) with errno set on failure, as the
 * system calls under it do.  The wrapper keeps no state the kernel does
 * not also have, except the list of memory slots, which the guest setup
 * helpers need to write guest memory (GDT, IDT, page tables).
 *
 * Guest code is written in GNU assembler inside the C files that use it:
 * a top-level asm() block between two labels in a section of its own,
 * copied into guest memory with vmm_load_code():
 *
 *	asm(".pushsection .rodata.guest, \"a\"\n"
 *	    ".code16\n"
 *	    "hello_start:\n"
 *	    "	outb %al, $0x10\n"
 *	    "	hlt\n"
 *	    "hello_end:\n"
 *	    ".code64\n"
 *	    ".popsection\n");
 *	VMM_GUEST_CODE(hello);
 *	...
 *	vmm_load_code(vm, 0x1000, hello_start, hello_end);
 *
 * Guest code must be position independent (relative jumps, RIP-relative
 * addressing), or compute absolute addresses as "label - start + load
 * address" in the assembler.
 */
#ifndef _LIBVMM_H
#define _LIBVMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vmm.h>

#define VMM_DEV_PATH		"/dev/vmm"
#define VMM_LIB_MAX_SLOTS	32	/* slots the library tracks per VM */
#define VMM_PAGE_SIZE		4096ULL

/* Declares the two labels around a block of guest code. */
#define VMM_GUEST_CODE(name) \
	extern const unsigned char name##_start[], name##_end[]

/* A guest-physical address of a label, when @start is loaded at @load. */
#define VMM_GUEST_ADDR(label, start, load) \
	((uint64_t)((const unsigned char *)(label) - \
		    (const unsigned char *)(start)) + (load))

/*
 * The system area the protected- and long-mode helpers build in guest
 * memory, at a 4 KiB aligned guest-physical address the caller chooses
 * (it must lie in RAM below 4 GiB and be VMM_SYS_AREA_SIZE long).
 */
#define VMM_SYS_GDT		0x0000	/* GDT (selectors below) */
#define VMM_SYS_TSS		0x0800	/* a TSS for TR, never switched to */
#define VMM_SYS_IDT		0x1000	/* 256 gates, all not present */
#define VMM_SYS_PML4		0x2000	/* long mode: the page tables */
#define VMM_SYS_PDPT		0x3000
#define VMM_SYS_PD		0x4000	/* 4 PDs: 0-4 GiB in 2 MiB pages */
#define VMM_SYS_PT_POOL		0x8000	/* pages for vmm_map_2m() tables */
#define VMM_SYS_AREA_SIZE	0x10000

/* GDT selectors of the protected- and long-mode setups. */
#define VMM_SEL_CODE32		0x08
#define VMM_SEL_DATA		0x10
#define VMM_SEL_CODE64		0x18
#define VMM_SEL_TSS		0x20

/* Architectural bits the setup helpers and tests use. */
#define VMM_CR0_PE		(1ULL << 0)
#define VMM_CR0_MP		(1ULL << 1)
#define VMM_CR0_ET		(1ULL << 4)
#define VMM_CR0_NE		(1ULL << 5)
#define VMM_CR0_NW		(1ULL << 29)
#define VMM_CR0_CD		(1ULL << 30)
#define VMM_CR0_PG		(1ULL << 31)
#define VMM_CR4_PAE		(1ULL << 5)
#define VMM_CR4_OSFXSR		(1ULL << 9)
#define VMM_CR4_OSXMMEXCPT	(1ULL << 10)
#define VMM_EFER_SCE		(1ULL << 0)
#define VMM_EFER_LME		(1ULL << 8)
#define VMM_EFER_LMA		(1ULL << 10)
#define VMM_RFLAGS_FIXED	(1ULL << 1)
#define VMM_RFLAGS_IF		(1ULL << 9)

enum vmm_cpu_mode {
	VMM_MODE_REAL,
	VMM_MODE_PROTECTED32,
	VMM_MODE_LONG,
};

struct vmm_lib_slot {
	bool used;
	bool owned;		/* mmap'd by the library: munmap on removal */
	uint32_t flags;
	uint64_t guest_phys;
	uint64_t size;
	void *host;
};

struct vmm_vm {
	int sys_fd;		/* /dev/vmm */
	int fd;			/* the VM */
	size_t run_size;	/* VMM_GET_RUN_SIZE */
	struct vmm_lib_slot slots[VMM_LIB_MAX_SLOTS];
	uint64_t sys_gpa;	/* system area of the last mode setup */
	unsigned int pt_used;	/* pool pages vmm_map_2m() handed out */
};

struct vmm_vcpu {
	struct vmm_vm *vm;
	int fd;
	unsigned int id;
	struct vmm_run *run;	/* mmap'd, vm->run_size bytes */
};

/* ---- system fd ---- */

/* open(/dev/vmm); returns the fd. */
int vmm_open(void);
/* VMM_CHECK_CAP on a system or VM fd; returns the value (>= 0). */
long vmm_check_cap(int fd, unsigned long cap);

/* ---- VM ---- */

/* Opens /dev/vmm and creates a VM; NULL with errno on failure. */
struct vmm_vm *vmm_vm_create(void);
/* Closes the VM fd and the system fd, unmaps the library's memory. */
void vmm_vm_destroy(struct vmm_vm *vm);

/*
 * vmm_vm_add_memory - back guest-physical [gpa, gpa + size) with fresh
 * anonymous memory (MAP_PRIVATE, zeroed: MADV_DONTNEED gives zeros back)
 * in slot @slot.
 * Returns the host address of @gpa, or NULL with errno.
 */
void *vmm_vm_add_memory(struct vmm_vm *vm, uint32_t slot, uint64_t gpa,
			uint64_t size, uint32_t flags);
/* The same with memory the caller owns (and unmaps). */
int vmm_vm_set_slot(struct vmm_vm *vm, uint32_t slot, uint64_t gpa,
		    uint64_t size, void *host, uint32_t flags);
/* Deletes a slot (size 0); library-owned memory is unmapped. */
int vmm_vm_remove_memory(struct vmm_vm *vm, uint32_t slot);
/* Host address of guest-physical [gpa, gpa + len), or NULL (ENOENT). */
void *vmm_gpa_to_host(struct vmm_vm *vm, uint64_t gpa, size_t len);
/* Copies guest code [start, end) to @gpa; -1 (ENOENT) if not RAM. */
int vmm_load_code(struct vmm_vm *vm, uint64_t gpa, const void *start,
		  const void *end);

/* VMM_SET_CPUID / VMM_GET_SUPPORTED_CPUID with a malloc'd table. */
int vmm_vm_set_cpuid(struct vmm_vm *vm, const struct vmm_cpuid_entry *e,
		     uint32_t nent);
/* Returns a malloc'd table (free() it), NULL with errno. */
struct vmm_cpuid *vmm_get_supported_cpuid(struct vmm_vm *vm);

/* ---- vCPU ---- */

/* Creates vCPU @id and maps its run structure; NULL with errno. */
struct vmm_vcpu *vmm_vcpu_create(struct vmm_vm *vm, unsigned int id);
void vmm_vcpu_destroy(struct vmm_vcpu *vcpu);

/* VMM_RUN: 0 with vcpu->run->exit_reason set, or -1 with errno. */
int vmm_vcpu_run(struct vmm_vcpu *vcpu);
int vmm_get_regs(struct vmm_vcpu *vcpu, struct vmm_regs *regs);
int vmm_set_regs(struct vmm_vcpu *vcpu, const struct vmm_regs *regs);
int vmm_get_sregs(struct vmm_vcpu *vcpu, struct vmm_sregs *sregs);
int vmm_set_sregs(struct vmm_vcpu *vcpu, const struct vmm_sregs *sregs);
int vmm_get_fpu(struct vmm_vcpu *vcpu, struct vmm_xsave *xsave);
int vmm_set_fpu(struct vmm_vcpu *vcpu, const struct vmm_xsave *xsave);
/* One MSR; returns 0, or -1 with errno (ENOENT: not handled). */
int vmm_get_msr(struct vmm_vcpu *vcpu, uint32_t index, uint64_t *data);
int vmm_set_msr(struct vmm_vcpu *vcpu, uint32_t index, uint64_t data);
/* VMM_INTERRUPT with @vector; VMM_NMI. */
int vmm_vcpu_interrupt(struct vmm_vcpu *vcpu, uint32_t vector);
int vmm_vcpu_nmi(struct vmm_vcpu *vcpu);

/* Where the data of a VMM_EXIT_IO lives. */
static inline void *vmm_io_data(struct vmm_vcpu *vcpu)
{
	return (char *)vcpu->run + vcpu->run->io.data_offset;
}

/* A name for an exit reason, for messages. */
const char *vmm_exit_name(uint32_t exit_reason);

/* ---- guest setup ---- */

/*
 * vmm_setup_real_mode - real mode at @cs:@ip with SS:SP = 0:@sp
 * DS/ES/FS/GS/SS are selector 0 (base 0), the IVT at linear 0.  General
 * registers are zeroed, RFLAGS is 2 (interrupts off).
 */
int vmm_setup_real_mode(struct vmm_vcpu *vcpu, uint16_t cs, uint16_t ip,
			uint16_t sp);

/*
 * vmm_setup_protected32 - flat 32-bit protected mode, paging off
 * Builds the GDT (VMM_SEL_*) and an empty IDT in the system area at
 * @sys_gpa, loads CS = VMM_SEL_CODE32, the data segments = VMM_SEL_DATA,
 * EIP = @eip, ESP = @esp; CR4.OSFXSR so SSE works.
 */
int vmm_setup_protected32(struct vmm_vcpu *vcpu, uint64_t sys_gpa,
			  uint32_t eip, uint32_t esp);

/*
 * vmm_setup_long_mode - 64-bit mode with guest-virtual = guest-physical
 * for the first 4 GiB (2 MiB pages), CS = VMM_SEL_CODE64, an empty IDT,
 * CR0.PG|PE, CR4.PAE|OSFXSR, EFER.LME|LMA, RIP = @rip, RSP = @rsp.
 * The tables live in the system area at @sys_gpa.
 */
int vmm_setup_long_mode(struct vmm_vcpu *vcpu, uint64_t sys_gpa,
			uint64_t rip, uint64_t rsp);

/*
 * vmm_map_2m - after vmm_setup_long_mode, map the 2 MiB page at @gva to
 * @gpa (both 2 MiB aligned) in the tables at vm->sys_gpa, taking new
 * tables from the system area's pool.
 */
int vmm_map_2m(struct vmm_vm *vm, uint64_t gva, uint64_t gpa);

/*
 * vmm_set_idt_gate - point @vector at @handler (a guest address): an
 * interrupt gate in the IDT of the current mode (64-bit or 32-bit, with
 * the setup's code selector), or an IVT entry in real mode.  The IDT is
 * the one VMM_GET_SREGS reports.
 */
int vmm_set_idt_gate(struct vmm_vcpu *vcpu, uint8_t vector, uint64_t handler);

/* The mode the vCPU is in, from its CR0 and EFER. */
int vmm_cpu_mode(struct vmm_vcpu *vcpu, enum vmm_cpu_mode *mode);

#endif /* _LIBVMM_H */
