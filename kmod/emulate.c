// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: port I/O and MMIO emulation shared by every engine.
 *
 * A port exit is described by the hardware; an MMIO exit only gives the
 * guest-physical address, so the instruction is fetched from the guest
 * (through its own page tables, mmu/gwalk.c) and decoded (bt/decode.c).
 * Nothing here trusts the guest: a walk that fails becomes a #PF for the
 * guest, an instruction we cannot emulate an internal-error exit for
 * userspace, never a host warning.
 */
#include <linux/kernel.h>
#include <asm/trapnr.h>
#include <asm/processor-flags.h>

#include "emulate.h"
#include "mmu/gwalk.h"
#include "irq/irq.h"

static u64 addr_mask(u8 addr_size)
{
	return addr_size >= 8 ? ~0ULL : (1ULL << (addr_size * 8)) - 1;
}

static void ctx_fault(struct vmm_guest_ctx *ctx, int vector, bool has_error,
		      u32 error, u64 addr)
{
	ctx->fault_vector = vector;
	ctx->fault_has_error = has_error;
	ctx->fault_error = error;
	ctx->fault_addr = addr;
}

static int gwalk_read_cb(void *opaque, u64 gpa, void *buf, unsigned int len)
{
	return vmm_read_guest(opaque, gpa, buf, len);
}

/*
 * Translate a guest linear address; on failure the #PF to inject is in
 * @ctx and -EFAULT returned.
 */
static int emul_translate(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
			  u64 gva, u32 access, u64 *gpa)
{
	struct gwalk_ctx w = {
		.cr0 = ctx->cr0, .cr3 = ctx->cr3, .cr4 = ctx->cr4,
		.efer = ctx->efer, .rflags = ctx->rflags,
	};
	u32 pfec = 0;
	int ret;

	if (ctx->cpl == 3)
		access |= GWALK_USER;
	ret = gwalk_translate(&w, gwalk_read_cb, vcpu, gva, access, gpa, &pfec);
	if (ret == -EFAULT && pfec) {
		ctx_fault(ctx, X86_TRAP_PF, true, pfec, gva);
		return -EFAULT;
	}
	return ret;
}

/* Copy between guest linear memory and @buf, page by page. */
static int emul_access(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
		       u64 gva, void *buf, unsigned int len, u32 access)
{
	bool write = access & GWALK_WRITE;

	while (len) {
		unsigned int n = min_t(unsigned int, len,
				       PAGE_SIZE - offset_in_page(gva));
		u64 gpa;
		int ret;

		ret = emul_translate(vcpu, ctx, gva, access, &gpa);
		if (ret)
			return ret;
		ret = write ? vmm_write_guest(vcpu, gpa, buf, n) :
			      vmm_read_guest(vcpu, gpa, buf, n);
		if (ret)
			return ret;
		gva += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static u64 seg_base(const struct vmm_guest_ctx *ctx, int seg)
{
	/* In 64-bit code only FS and GS have a base. */
	if (ctx->cs_l && seg != VMM_SEG_FS && seg != VMM_SEG_GS)
		return 0;
	return ctx->seg_base[seg];
}

static enum bt_mode emul_mode(const struct vmm_guest_ctx *ctx)
{
	if (ctx->cs_l)
		return BT_MODE_LONG64;
	if (!(ctx->cr0 & X86_CR0_PE) || (ctx->rflags & X86_EFLAGS_VM))
		return BT_MODE_REAL16;
	return ctx->cs_db ? BT_MODE_PROT32 : BT_MODE_PROT16;
}

/* Fetch and decode the instruction at CS:RIP. */
static int emul_fetch_decode(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
			     struct bt_insn *insn)
{
	u8 bytes[BT_MAX_INSN_LEN];
	u64 lin = seg_base(ctx, VMM_SEG_CS) + ctx->rip;
	unsigned int avail;
	int ret;

	if (!ctx->cs_l)
		lin = (u32)lin;
	/* Only cross into the next page if the instruction needs it. */
	avail = min_t(unsigned int, sizeof(bytes),
		      PAGE_SIZE - offset_in_page(lin));
	ret = emul_access(vcpu, ctx, lin, bytes, avail, GWALK_FETCH);
	if (ret)
		return ret;
	ret = bt_decode(insn, bytes, avail, emul_mode(ctx));
	if (ret == -ENODATA && avail < sizeof(bytes)) {
		ret = emul_access(vcpu, ctx, lin + avail, bytes + avail,
				  sizeof(bytes) - avail, GWALK_FETCH);
		if (ret)
			return ret;
		ret = bt_decode(insn, bytes, sizeof(bytes), emul_mode(ctx));
	}
	return ret;
}


/*
 * How many elements of a string I/O go out in this exit: all that RCX
 * asks for, as far as the data area holds.  The instruction is restarted
 * for the rest (RIP stays on it until RCX reaches zero).
 */
static u32 pio_string_count(struct vmm_vcpu *vcpu, const struct vmm_pio *pio)
{
	u64 rcx = vcpu->gpr[VMM_RCX] & addr_mask(pio->addr_size);

	if (!pio->rep)
		return 1;
	return min_t(u64, rcx, VMM_RUN_IO_DATA_SIZE / pio->size);
}

/* Move the index register (RSI or RDI) and RCX past @n elements. */
static void pio_string_advance(struct vmm_vcpu *vcpu,
			       struct vmm_guest_ctx *ctx,
			       const struct vmm_pio *pio, int reg, u32 n)
{
	u64 mask = addr_mask(pio->addr_size);
	s64 step = (ctx->rflags & X86_EFLAGS_DF) ? -(s64)pio->size : pio->size;
	u64 *r = &vcpu->gpr[reg];
	bool done = true;

	*r = (*r & ~mask) | ((*r + step * n) & mask);
	if (pio->rep) {
		u64 *c = &vcpu->gpr[VMM_RCX];

		*c = (*c & ~mask) | ((*c - n) & mask);
		done = !(*c & mask);
	}
	if (done)
		ctx->rip = pio->next_rip;
}

/* Guest memory of a string I/O: elements one by one, honouring DF. */
static int pio_string_copy(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
			   const struct vmm_pio *pio, u32 n, bool to_guest)
{
	int reg = to_guest ? VMM_RDI : VMM_RSI;
	int seg = to_guest ? VMM_SEG_ES : pio->seg;
	u64 mask = addr_mask(pio->addr_size);
	s64 step = (ctx->rflags & X86_EFLAGS_DF) ? -(s64)pio->size : pio->size;
	u8 *data = (u8 *)vcpu->run + VMM_RUN_IO_DATA_OFFSET;
	u32 i;
	int ret;

	for (i = 0; i < n; i++) {
		u64 off = (vcpu->gpr[reg] + step * i) & mask;
		u64 gva = seg_base(ctx, seg) + off;

		if (!ctx->cs_l)
			gva = (u32)gva;
		ret = emul_access(vcpu, ctx, gva, data + i * pio->size,
				  pio->size, to_guest ? GWALK_WRITE : 0);
		if (ret)
			return ret;
	}
	return 0;
}

static void pio_fill_run(struct vmm_vcpu *vcpu, const struct vmm_pio *pio,
			 u32 count)
{
	struct vmm_run *run = vcpu->run;

	run->exit_reason = VMM_EXIT_IO;
	run->io.direction = pio->in ? VMM_EXIT_IO_IN : VMM_EXIT_IO_OUT;
	run->io.size = pio->size;
	run->io.port = pio->port;
	run->io.count = count;
	run->io.data_offset = VMM_RUN_IO_DATA_OFFSET;
	run->io.pci_cf8 = vmm_irq_pci_cf8(vcpu->vm);
	run->io.io_pad = 0;
}

/*
 * vmm_emulate_pio - an IN/OUT/INS/OUTS exit
 * Returns 0 with run->io filled (userspace serves the port), 1 when there
 * is nothing for userspace (REP with RCX = 0, or a fault to inject), or
 * -errno.
 */
int vmm_emulate_pio(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
		    const struct vmm_pio *pio, struct vmm_pio_pending *pend)
{
	u8 *data = (u8 *)vcpu->run + VMM_RUN_IO_DATA_OFFSET;
	u32 n = 1;

	struct vmm_pio str;

	if (pio->size != 1 && pio->size != 2 && pio->size != 4)
		return vmm_exit_internal(vcpu, VMM_INTERNAL_EMULATION,
					 pio->port, pio->size);
	if (pio->string) {
		/*
		 * REP, the address size and the segment are the
		 * instruction's: decode it rather than trust the exit
		 * information (QEMU's TCG leaves those bits out).
		 */
		struct bt_insn insn;

		if (emul_fetch_decode(vcpu, ctx, &insn))
			return ctx->fault_vector >= 0 ? 1 :
			       vmm_exit_internal(vcpu, VMM_INTERNAL_EMULATION,
						 pio->port, ctx->rip);
		str = *pio;
		str.rep = insn.rep != 0;
		str.addr_size = insn.addrsize;
		str.seg = insn.seg == BT_SEG_NONE ? VMM_SEG_DS : insn.seg;
		pio = &str;
		n = pio_string_count(vcpu, pio);
		if (!n) {
			ctx->rip = pio->next_rip;
			return 1;
		}
	}
	if (pio->in) {
		pend->pending = true;
		pend->pio = *pio;
		pend->count = n;
	} else if (pio->string) {
		if (pio_string_copy(vcpu, ctx, pio, n, false))
			return ctx->fault_vector >= 0 ? 1 :
			       vmm_exit_internal(vcpu, VMM_INTERNAL_EMULATION,
						 pio->port, ctx->rip);
		pio_string_advance(vcpu, ctx, pio, VMM_RSI, n);
	} else {
		memcpy(data, &vcpu->gpr[VMM_RAX], pio->size);
		ctx->rip = pio->next_rip;
	}
	pio_fill_run(vcpu, pio, n);
	return 0;
}

static u64 string_lin(const struct vmm_guest_ctx *ctx, int seg, u64 off)
{
	u64 lin = seg_base(ctx, seg) + off;

	return ctx->cs_l ? lin : (u32)lin;
}

static void mmio_fill_run(struct vmm_vcpu *vcpu, u64 gpa,
			  const struct bt_mmio *op)
{
	struct vmm_run *run = vcpu->run;

	run->exit_reason = VMM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = op->size;
	run->mmio.is_write = op->is_write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (op->is_write)
		memcpy(run->mmio.data, &op->data, op->size);
}

/*
 * A MOVS with one side in MMIO: find which, and for a write fetch the
 * source element from RAM now.
 */
static int emul_movs(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
		     u64 gpa, struct bt_mmio *op)
{
	u64 dst = string_lin(ctx, VMM_SEG_ES, op->dst_off);
	u64 src_data = 0, dst_gpa;
	bool mmio_is_dst;
	int ret;

	ret = emul_translate(vcpu, ctx, dst, GWALK_WRITE, &dst_gpa);
	if (ret)
		return ret;
	mmio_is_dst = (dst_gpa >> PAGE_SHIFT) == (gpa >> PAGE_SHIFT);
	if (mmio_is_dst) {
		ret = emul_access(vcpu, ctx,
				  string_lin(ctx, op->src_seg, op->src_off),
				  &src_data, op->size, 0);
		if (ret)
			return ret;
	}
	return bt_mmio_movs_resolve(op, mmio_is_dst, src_data);
}

/*
 * Finish an instruction whose MMIO access is done: registers, flags and
 * RIP.  A read-modify-write turns into its write here, which goes to
 * userspace as a second exit.  Returns 0 (to userspace) or 1 (re-enter).
 */
static int emul_mmio_finish(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
			    struct vmm_mmio_pending *pend, u64 read_data)
{
	struct bt_mmio *op = &pend->op;
	bool was_write = op->is_write;
	int ret;

	if (!was_write && (op->flags & BT_MMIO_F_MOVS)) {
		/* MMIO to RAM: the element lands at ES:rDI. */
		ret = emul_access(vcpu, ctx,
				  string_lin(ctx, VMM_SEG_ES, op->dst_off),
				  &read_data, op->size, GWALK_WRITE);
		if (ret)
			return ret;
	}
	if (bt_mmio_complete(&pend->insn, op, vcpu->gpr, &ctx->rflags,
			     read_data))
		return -EINVAL;
	if (!op->repeat)
		ctx->rip += pend->insn.len;
	if (!was_write && op->is_write) {
		mmio_fill_run(vcpu, pend->gpa, op);
		return 0;
	}
	return 1;
}

/*
 * The LAPIC and IOAPIC pages are served in the kernel: the whole access
 * (a read-modify-write's write-back included) completes here.  Returns 1
 * to re-enter, -ENOENT when @pend's address is not theirs, or -errno.
 */
static int emul_mmio_irqchip(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
			     struct vmm_mmio_pending *pend)
{
	struct bt_mmio *op = &pend->op;
	u64 val = op->data;
	int ret;

	if (!vcpu->vm->irqchip)
		return -ENOENT;
	if (!vmm_irq_mmio(vcpu, pend->gpa, op->size, op->is_write, &val))
		return -ENOENT;
	ret = emul_mmio_finish(vcpu, ctx, pend, op->is_write ? 0 : val);
	if (ret == 0) {
		/* The read of a read-modify-write: now its write. */
		val = op->data;
		vmm_irq_mmio(vcpu, pend->gpa, op->size, true, &val);
		ret = 1;
	}
	if (ret < 0 && ctx->fault_vector < 0)
		return vmm_exit_internal(vcpu, VMM_INTERNAL_EMULATION,
					 pend->gpa, ctx->rip);
	return 1;
}

/*
 * vmm_emulate_mmio - a guest access to @gpa that no RAM slot backs (or a
 * write to a read-only slot)
 * Returns 0 with run->mmio filled, 1 to re-enter (a fault to inject, or
 * nothing to do), or -errno.
 */
int vmm_emulate_mmio(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
		     u64 gpa, struct vmm_mmio_pending *pend)
{
	struct bt_mmio *op = &pend->op;
	int ret;

	ret = emul_fetch_decode(vcpu, ctx, &pend->insn);
	if (ret)
		goto fail;
	ret = bt_mmio_prepare(&pend->insn, vcpu->gpr, op);
	if (ret == -ENODATA)
		return 1;	/* REP with rCX = 0: the CPU finishes it */
	if (ret < 0 || (ret & ~(BT_MMIO_F_RMW | BT_MMIO_F_MOVS |
				BT_MMIO_F_REP)))
		goto fail;
	if (op->flags & BT_MMIO_F_MOVS) {
		ret = emul_movs(vcpu, ctx, gpa, op);
		if (ret)
			goto fail;
	}
	pend->gpa = gpa;
	ret = emul_mmio_irqchip(vcpu, ctx, pend);
	if (ret != -ENOENT)
		return ret;
	mmio_fill_run(vcpu, gpa, op);
	if (op->is_write)
		return emul_mmio_finish(vcpu, ctx, pend, 0) < 0 ? -EINVAL : 0;
	pend->pending = true;
	return 0;
fail:
	if (ctx->fault_vector >= 0)
		return 1;
	return vmm_exit_internal(vcpu, VMM_INTERNAL_EMULATION, gpa, ctx->rip);
}

/*
 * vmm_emulate_complete - finish an IN or an MMIO read with the data that
 * userspace put in the run page.  Returns 1 to go on, 0/-errno as above.
 */
int vmm_emulate_complete(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
			 struct vmm_pio_pending *pio,
			 struct vmm_mmio_pending *mmio)
{
	struct vmm_run *run = vcpu->run;

	if (pio->pending) {
		const struct vmm_pio *p = &pio->pio;
		u8 *data = (u8 *)run + VMM_RUN_IO_DATA_OFFSET;

		pio->pending = false;
		if (p->string) {
			if (pio_string_copy(vcpu, ctx, p, pio->count, true))
				return ctx->fault_vector >= 0 ? 1 :
				       vmm_exit_internal(vcpu,
							 VMM_INTERNAL_EMULATION,
							 p->port, ctx->rip);
			pio_string_advance(vcpu, ctx, p, VMM_RDI, pio->count);
		} else {
			u64 *rax = &vcpu->gpr[VMM_RAX];
			u32 v = 0;

			memcpy(&v, data, p->size);
			if (p->size == 4)
				*rax = v;	/* 32-bit writes zero-extend */
			else if (p->size == 2)
				*rax = (*rax & ~0xffffULL) | (u16)v;
			else
				*rax = (*rax & ~0xffULL) | (u8)v;
			ctx->rip = p->next_rip;
		}
	}
	if (mmio->pending) {
		u64 data = 0;
		int ret;

		mmio->pending = false;
		memcpy(&data, run->mmio.data, mmio->op.size);
		ret = emul_mmio_finish(vcpu, ctx, mmio, data);
		if (ret < 0 && ctx->fault_vector < 0)
			return vmm_exit_internal(vcpu, VMM_INTERNAL_EMULATION,
						 mmio->gpa, ctx->rip);
		return ret < 0 ? 1 : ret;
	}
	return 1;
}

/* A 16-bit operand of SMSW/LMSW: register, or memory at its address. */
static int cr0_msw_operand(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
			   const struct bt_insn *insn, u64 *gva)
{
	u64 ea;
	u8 seg;

	if (bt_insn_ea(insn, vcpu->gpr, ctx->rip + insn->len, &ea, &seg))
		return -EINVAL;
	*gva = seg_base(ctx, seg) + ea;
	if (!ctx->cs_l)
		*gva = (u32)*gva;
	return 0;
}

/*
 * vmm_emulate_cr0 - MOV to and from CR0, SMSW, LMSW and CLTS, for an
 * engine that traps CR0 (to keep CR0.TS for itself while the guest's FPU
 * state is not loaded).  @cr0 is the guest's view of CR0.  A read is
 * finished here; for a write, *@new_cr0 is what the guest asks for and
 * *@write is set: the engine checks and applies it.  RIP is advanced.
 * Returns 1 to go on (or to inject ctx's fault), 0 with an internal-error
 * exit for an instruction that is not one of these.
 */
int vmm_emulate_cr0(struct vmm_vcpu *vcpu, struct vmm_guest_ctx *ctx,
		    u64 cr0, u64 *new_cr0, bool *write)
{
	struct bt_insn insn;
	u64 *r, gva;
	u16 msw;

	*write = false;
	if (emul_fetch_decode(vcpu, ctx, &insn))
		goto fail;
	if (insn.opcode_map != BT_MAP_0F)
		goto fail;
	r = &vcpu->gpr[insn.rm & 15];
	switch (insn.opcode) {
	case 0x20:	/* MOV r, CRn */
		if (insn.reg != 0)
			goto fail;
		*r = ctx->cs_l ? cr0 : (u32)cr0;
		break;
	case 0x22:	/* MOV CRn, r */
		if (insn.reg != 0)
			goto fail;
		*new_cr0 = ctx->cs_l ? *r : (u32)*r;
		*write = true;
		break;
	case 0x06:	/* CLTS */
		*new_cr0 = cr0 & ~X86_CR0_TS;
		*write = true;
		break;
	case 0x01:
		if (!insn.has_modrm || (insn.reg != 4 && insn.reg != 6))
			goto fail;
		if (insn.reg == 4) {	/* SMSW */
			if (insn.mod == 3) {
				if (insn.opsize == 2)
					*r = (*r & ~0xffffULL) | (u16)cr0;
				else
					*r = insn.opsize == 8 ? cr0 : (u32)cr0;
				break;
			}
			msw = cr0;
			if (cr0_msw_operand(vcpu, ctx, &insn, &gva) ||
			    emul_access(vcpu, ctx, gva, &msw, 2, GWALK_WRITE))
				goto fail;
			break;
		}
		/* LMSW: PE, MP, EM, TS; it can set PE but not clear it. */
		if (insn.mod == 3) {
			msw = *r;
		} else if (cr0_msw_operand(vcpu, ctx, &insn, &gva) ||
			   emul_access(vcpu, ctx, gva, &msw, 2, 0)) {
			goto fail;
		}
		*new_cr0 = (cr0 & ~0xeULL) | (msw & 0xf) | (cr0 & X86_CR0_PE);
		*write = true;
		break;
	default:
		goto fail;
	}
	ctx->rip += insn.len;
	return 1;
fail:
	if (ctx->fault_vector >= 0)
		return 1;
	return vmm_exit_internal(vcpu, VMM_INTERNAL_EMULATION, 0, ctx->rip);
}
