/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Instructions encoded by GNU as, for decode_test: each case records its
 * offset in bt_case_code, its length as the assembler made it, its mode
 * (enum bt_mode) and its text.  The code is data: it never runs.
 */
#define M16 1	/* BT_MODE_PROT16 */
#define M32 2	/* BT_MODE_PROT32 */
#define M64 3	/* BT_MODE_LONG64 */

	.section .rodata.bt_code, "a"
	.globl bt_case_code
bt_case_code:
	.section .rodata.bt_names, "a"
bt_case_names_start:
	.section .rodata.bt_cases, "a"
	.balign 4
	.globl bt_cases
bt_cases:

.macro CASE mode, code, insn:vararg
	.section .rodata.bt_code, "a"
	\code
990:	\insn
991:
	.code64
	.section .rodata.bt_names, "a"
992:	.asciz "\insn"
	.section .rodata.bt_cases, "a"
	.long 990b - bt_case_code
	.long 992b - bt_case_names_start
	.byte 991b - 990b, \mode, 0, 0
.endm

.macro C16 insn:vararg
	CASE M16, .code16, \insn
.endm
.macro C32 insn:vararg
	CASE M32, .code32, \insn
.endm
.macro C64 insn:vararg
	CASE M64, .code64, \insn
.endm

/* ---- 64-bit mode ---- */
	C64 nop
	C64 ret
	C64 ret $8
	C64 lretq
	C64 int3
	C64 int $0x80
	C64 hlt
	C64 cpuid
	C64 rdtsc
	C64 rdmsr
	C64 wrmsr
	C64 syscall
	C64 sysretq
	C64 ud2
	C64 pause
	C64 mov %eax, %ebx
	C64 mov %rax, %r15
	C64 mov %r8b, (%rax)
	C64 mov %ah, (%rbx)
	C64 mov %al, 0x12(%rcx)
	C64 mov %ax, 0x1234(%rdx,%rsi,4)
	C64 mov %eax, (%rsp)
	C64 mov %rax, 0x12345678(%rbp)
	C64 mov (%r12), %r13
	C64 mov (%r13), %r14
	C64 mov 0x10(%rip), %eax
	C64 mov %eax, 0x12345678
	C64 mov (,%rax,8), %rbx
	C64 mov 0x10(,%r9,2), %ecx
	C64 mov %sil, (%rdi)
	C64 mov (%rax), %dil
	C64 movb $0x12, (%rax)
	C64 movw $0x1234, (%rax)
	C64 movl $0x12345678, 0x10(%rax)
	C64 movq $-1, (%rax)
	C64 movq $0x12345678, 0x12345678(%rax,%rbx,8)
	C64 movabs $0x1122334455667788, %rax
	C64 mov $0x12345678, %eax
	C64 mov $0x1234, %ax
	C64 mov $0x12, %al
	C64 mov $0x12, %r10b
	C64 movabs 0x1122334455667788, %al
	C64 movabs 0x1122334455667788, %eax
	C64 movabs %rax, 0x1122334455667788
	C64 movabs %ax, 0x1122334455667788
	C64 movzbl (%rax), %eax
	C64 movzwl (%rax), %eax
	C64 movsbq (%rax), %rax
	C64 movswq 0x10(%rax), %r11
	C64 movzbw (%rax), %ax
	C64 movslq (%rax), %rax
	C64 lea 0x10(%rax,%rbx,2), %rcx
	C64 add %eax, (%rbx)
	C64 add (%rbx), %eax
	C64 add $1, %al
	C64 add $0x1234, %ax
	C64 add $0x12345678, %eax
	C64 add $0x12345678, %rax
	C64 addb $1, (%rax)
	C64 addw $0x1234, (%rax)
	C64 addl $0x12345678, (%rax)
	C64 addl $1, (%rax)
	C64 addq $-0x80, (%rax)
	C64 or %cl, (%rdx)
	C64 adc (%rdx), %r9
	C64 sbbw $3, 0x40(%rsp)
	C64 and $0xf0, %al
	C64 sub %r8, 0x1000(%r9,%r10,8)
	C64 xor %eax, %eax
	C64 cmpb $5, (%rax)
	C64 cmp (%rax), %r12d
	C64 test %eax, (%rax)
	C64 testb $1, (%rax)
	C64 testw $0x1234, (%rax)
	C64 testl $0x12345678, (%rax)
	C64 test $0x12345678, %eax
	C64 notl (%rax)
	C64 negq (%rax)
	C64 incb (%rax)
	C64 decw (%rax)
	C64 mull (%rax)
	C64 idivq 8(%rax)
	C64 xchg %eax, (%rax)
	C64 xchg %al, (%rbx)
	C64 xchg %eax, %ecx
	C64 xchg %r8, %rax
	C64 lock addl $1, (%rax)
	C64 lock cmpxchg %ecx, (%rdx)
	C64 lock xadd %rax, (%rdx)
	C64 lock cmpxchg16b (%rdi)
	C64 lock btsl $3, (%rax)
	C64 lock incq 8(%rbx)
	C64 cmpxchg8b (%rdi)
	C64 rep stosb
	C64 rep stosq
	C64 rep movsb
	C64 rep movsl
	C64 stosw
	C64 lodsb
	C64 lodsq
	C64 repne scasb
	C64 repe cmpsb
	C64 movsb %fs:(%rsi), %es:(%rdi)
	C64 addr32 rep stosb
	C64 push %rax
	C64 push %r12
	C64 pop %rbx
	C64 push $0x12
	C64 push $0x12345678
	C64 pushq (%rax)
	C64 popq (%rax)
	C64 pushw $0x1234
	C64 pushf
	C64 popf
	C64 push %fs
	C64 pop %gs
	C64 call *%rax
	C64 call *(%rax)
	C64 jmp *0x10(%rip)
	C64 ljmp *(%rax)
	C64 lcall *(%rax)
	C64 jmp .+0x100
	C64 jmp .+2
	C64 je .+0x1000
	C64 jne .+4
	C64 call .+0x100
	C64 loop .
	C64 jrcxz .
	C64 enter $0x10, $1
	C64 leave
	C64 shl $3, %eax
	C64 shll %cl, (%rax)
	C64 roll (%rax)
	C64 sar $1, %rax
	C64 shrd $4, %eax, (%rbx)
	C64 shld %cl, %eax, %ebx
	C64 bt %eax, (%rbx)
	C64 btsl $3, (%rbx)
	C64 bsf (%rax), %ecx
	C64 popcnt %rax, %rbx
	C64 lzcnt (%rax), %ecx
	C64 tzcnt %r8, %r9
	C64 imul $0x12345678, (%rax), %ecx
	C64 imul $3, %eax, %ecx
	C64 imul (%rax), %ecx
	C64 cmove (%rax), %ecx
	C64 sete (%rax)
	C64 bswap %eax
	C64 bswap %r9
	C64 in $0x60, %al
	C64 out %al, $0x80
	C64 in (%dx), %eax
	C64 outsb
	C64 insw
	C64 cli
	C64 sti
	C64 cmc
	C64 lahf
	C64 cbw
	C64 cdqe
	C64 cqo
	C64 xlat
	C64 flds (%rax)
	C64 fldl 0x10(%rax)
	C64 fadd %st(1), %st
	C64 fstp %st(0)
	C64 fnstsw %ax
	C64 fxsave (%rax)
	C64 fxrstor64 (%rax)
	C64 movaps (%rax), %xmm0
	C64 movups %xmm1, (%rbx)
	C64 movdqa %xmm8, (%rax)
	C64 movdqu (%rax), %xmm15
	C64 movq %xmm0, %rax
	C64 movd %eax, %xmm0
	C64 movq (%rax), %mm0
	C64 pshufd $0x1b, %xmm0, %xmm1
	C64 pshufb %xmm1, %xmm0
	C64 palignr $4, %xmm1, %xmm0
	C64 pextrd $1, %xmm0, (%rax)
	C64 pinsrq $1, %rax, %xmm0
	C64 roundss $1, %xmm0, %xmm1
	C64 crc32b (%rax), %eax
	C64 crc32q %rax, %rax
	C64 movbe (%rax), %eax
	C64 cvtsi2sd %rax, %xmm0
	C64 cmpps $1, %xmm0, %xmm1
	C64 shufps $0, %xmm0, %xmm1
	C64 psrlw $3, %xmm0
	C64 pslldq $4, %xmm0
	C64 aesenc %xmm0, %xmm1
	C64 pclmulqdq $0, %xmm0, %xmm1
	C64 sha1rnds4 $0, %xmm0, %xmm1
	C64 extrq $4, $8, %xmm0
	C64 insertq $4, $8, %xmm1, %xmm0
	C64 pfadd %mm1, %mm0
	C64 femms
	C64 prefetcht0 (%rax)
	C64 prefetchw (%rax)
	C64 clflush (%rax)
	C64 lfence
	C64 mfence
	C64 nopw 0x0(%rax,%rax,1)
	C64 nopl 0x0(%rax)
	C64 mov %cr0, %rax
	C64 mov %rax, %cr3
	C64 mov %cr8, %rax
	C64 mov %db7, %rax
	C64 lgdt (%rax)
	C64 sgdt (%rax)
	C64 lidt 0x10(%rax)
	C64 invlpg (%rax)
	C64 vmrun
	C64 vmmcall
	C64 vmload
	C64 vmsave
	C64 stgi
	C64 clgi
	C64 skinit
	C64 invlpga
	C64 rdtscp
	C64 swapgs
	C64 monitor
	C64 mwait
	C64 xgetbv
	C64 xsetbv
	C64 lar (%rax), %eax
	C64 lsl %ax, %ecx
	C64 ltr (%rax)
	C64 str %eax
	C64 verr (%rax)
	C64 rdrand %eax
	C64 rdseed %rax
	C64 xsave (%rax)
	C64 xrstor (%rax)
	C64 xsaveopt (%rax)
	C64 rdfsbase %rax
	C64 wrgsbase %rax
	C64 movnti %eax, (%rax)
	C64 cmpxchg %ecx, (%rax)
	C64 xadd %eax, (%rbx)
	C64 vmread %rax, %rbx
	C64 vmwrite (%rax), %rbx
	C64 vmcall
	C64 vmlaunch
	C64 vmresume
	C64 vmxoff
	C64 vmptrld (%rax)
	C64 vmclear (%rax)
	C64 vmxon (%rax)
	C64 invept (%rax), %rax
	C64 invpcid (%rax), %rax
	C64 adcx %eax, %ebx
	C64 adox (%rax), %rbx
	C64 endbr64
	C64 ud1 (%rax), %eax
	C64 xbegin .+0x100
	C64 xabort $1
	C64 xend
	C64 xtest
	C64 lss (%rax), %eax
	C64 lfs (%rax), %ecx
	C64 lgs (%rax), %ax
	C64 sldt %eax
	C64 iretq
	C64 iretl
	C64 sysenter
	C64 cs nop
	C64 fs movl (%rax), %eax
	C64 gs movq (%rax,%rbx,2), %rsi
	C64 addr32 movw $1, (%eax)
	C64 movl $1, 0x12345678(,%r15,8)
	C64 mov 0x7f(%r13,%r12,1), %spl
	C64 mov (%r13,%rax,2), %eax
	C64 mov (%r12,%r13,4), %r8
	C64 mov 0x12345678(%r13), %r9w
	C64 lea (%rbp,%r12), %rax
	C64 add %r11b, 0x80(%r12)
	C64 lea -0x80(%rbp), %rsp
	C64 movss 0x10(%rip), %xmm3
	C64 notrack jmp *%rax
	C64 clac
	C64 stac
	C64 wbinvd
	C64 invd
	C64 getsec
	C64 rsm
	C64 emms
	C64 rdpmc
	C64 sysexitl
	C64 ud0 (%rax), %eax

/* ---- 32-bit protected mode ---- */
	C32 push %es
	C32 pop %es
	C32 push %cs
	C32 push %ss
	C32 pusha
	C32 popa
	C32 daa
	C32 das
	C32 aaa
	C32 aas
	C32 aam
	C32 aad $5
	C32 bound %eax, (%ebx)
	C32 les (%eax), %eax
	C32 lds 0x10(%ebx), %ecx
	C32 into
	C32 arpl %ax, (%ebx)
	C32 ljmp $0x10, $0x12345678
	C32 lcall $0x10, $0x1234
	C32 inc %eax
	C32 dec %ecx
	C32 mov %eax, 0x12345678
	C32 mov 0x12345678, %al
	C32 mov (%eax), %eax
	C32 mov 0x10(%ebp), %ecx
	C32 mov (%esp), %edx
	C32 mov (%ebp,%esi,4), %edi
	C32 mov 0x12345678(,%eax,2), %ebx
	C32 addr16 mov (%bx,%si), %ax
	C32 movw $0x1234, (%eax)
	C32 movl $0x12345678, 0x1000(%eax)
	C32 movb $1, (%esi)
	C32 mov $0x12345678, %eax
	C32 mov $0x1234, %ax
	C32 rep movsl
	C32 rep stosw
	C32 call .+0x100
	C32 jmp .+0x100
	C32 jmp .+2
	C32 jz .+0x1000
	C32 push $0x12345678
	C32 pushw $0x1234
	C32 enter $8, $0
	C32 add $0x12345678, %eax
	C32 addl $0x12345678, (%ebx)
	C32 addw $0x1234, (%ebx)
	C32 testl $0x12345678, (%ecx)
	C32 testw $0x1234, (%ecx)
	C32 mov %cr0, %eax
	C32 lgdt (%eax)
	C32 movzbl (%eax), %ecx
	C32 movswl (%eax), %ecx
	C32 xchg %ecx, (%eax)
	C32 lock orl $1, (%eax)
	C32 movaps (%eax), %xmm0
	C32 pshufb (%eax), %xmm1
	C32 pextrb $1, %xmm0, (%eax)
	C32 sysenter
	C32 lret $4
	C32 fs mov %eax, (%ebx)

/* ---- 16-bit protected (and real) mode ---- */
	C16 mov %ax, (%bx,%si)
	C16 mov 0x12(%bp,%di), %al
	C16 mov 0x1234(%bx), %cx
	C16 mov (%bp), %ax
	C16 mov %ax, 0x1234
	C16 movw 0x1234, %dx
	C16 movl $0x12345678, (%bx)
	C16 movw $0x1234, (%si)
	C16 movb $0x12, 0x10(%di)
	C16 mov %eax, (%ebx)
	C16 mov (%eax,%ebx,4), %ax
	C16 mov $0x1234, %ax
	C16 mov $0x12345678, %eax
	C16 push $0x12
	C16 push $0x1234
	C16 pushl $0x12345678
	C16 call .+0x100
	C16 jmp .+0x100
	C16 jz .+0x100
	C16 ljmp $0x1234, $0x5678
	C16 lcall $0x1234, $0x5678
	C16 ljmpl $0x1234, $0x12345678
	C16 enter $4, $0
	C16 int $0x10
	C16 les (%bx), %ax
	C16 in $0x60, %al
	C16 out %ax, (%dx)
	C16 rep movsb
	C16 rep stosw
	C16 rep stosl
	C16 lgdt (%bx)
	C16 lidtl (%bx)
	C16 add $0x1234, %ax
	C16 addw $0x1234, (%bx)
	C16 addl $0x12345678, (%bx)
	C16 testw $0x1234, (%si)
	C16 testl $0x12345678, (%si)
	C16 iret
	C16 mov %cr0, %eax
	C16 movzbw (%si), %ax
	C16 movsbl (%bp,%si), %eax
	C16 xchg %ax, (%bx)
	C16 lock incw (%bx)
	C16 cs movw (%bx), %ax
	C16 mov 0x1234, %al
	C16 mov %al, 0x1234

	.section .rodata.bt_cases, "a"
	.globl bt_cases_end
bt_cases_end:
	.section .rodata.bt_names, "a"
	.globl bt_case_names
bt_case_names = bt_case_names_start
	.section .note.GNU-stack, "", @progbits
