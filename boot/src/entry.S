/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * PVH entry: 32-bit protected mode, paging off, %ebx = hvm_start_info
 * (xen/include/public/arch-x86/hvm/start_info.h). Steps, in order:
 *   0. read the TSC: boot time is measured from here
 *   1. clear BSS (the stack and page tables below live there)
 *   2. stack
 *   3. page tables: identity map of the first 4 GiB in 2 MiB pages
 *   4. CR4: PAE, OSFXSR, OSXMMEXCPT (SSE usable)
 *   5. EFER: LME, NXE
 *   6. CR0: PG, MP, clear EM and TS
 *   7. GDT with a 64-bit code segment, far return into long mode
 *   8. data segments, then kernel_main(start_info) with a zeroed frame link
 */

/* XEN_ELFNOTE_PHYS32_ENTRY (18): the 32-bit physical entry point. */
    .pushsection .note.Xen, "a", @note
    .p2align 2
    .long 4                 /* namesz: "Xen\0" */
    .long 4                 /* descsz */
    .long 18                /* type: XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_start32
    .popsection

    .section .text.boot, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    mov     %ebx, %esi                  /* keep hvm_start_info across the steps */

step0_tsc:
    rdtsc                               /* CR4.TSD is clear at entry */
    mov     %eax, %ebp
    mov     %edx, %ebx

step1_clear_bss:
    mov     $__bss_start, %edi
    mov     $__bss_end, %ecx
    sub     %edi, %ecx
    xor     %eax, %eax
    rep stosb
    mov     %ebp, boot_entry_tsc
    mov     %ebx, boot_entry_tsc+4

step2_stack:
    mov     $boot_stack_top, %esp

step3_page_tables:
    /* PML4[0] -> PDPT; PDPT[0..4] -> four page directories. */
    mov     $boot_pdpt, %eax
    or      $0x3, %eax                  /* present | writable */
    mov     %eax, boot_pml4
    mov     $boot_pd, %eax
    or      $0x3, %eax
    xor     %ecx, %ecx
1:  mov     %eax, boot_pdpt(,%ecx,8)
    add     $0x1000, %eax
    inc     %ecx
    cmp     $4, %ecx
    jne     1b
    /* 2048 PD entries of 2 MiB: present | writable | page size (bit 7). */
    xor     %ecx, %ecx
2:  mov     %ecx, %eax
    shl     $21, %eax
    or      $0x83, %eax
    mov     %eax, boot_pd(,%ecx,8)      /* high dword stays 0: all below 4 GiB */
    inc     %ecx
    cmp     $2048, %ecx
    jne     2b
    mov     $boot_pml4, %eax
    mov     %eax, %cr3

step4_cr4:
    mov     %cr4, %eax
    or      $((1 << 5) | (1 << 9) | (1 << 10)), %eax   /* PAE | OSFXSR | OSXMMEXCPT */
    mov     %eax, %cr4

step5_efer:
    mov     $0xc0000080, %ecx           /* IA32_EFER */
    rdmsr
    or      $((1 << 8) | (1 << 11)), %eax   /* LME | NXE */
    wrmsr

step6_cr0:
    mov     %cr0, %eax
    and     $~((1 << 2) | (1 << 3)), %eax   /* clear EM, TS */
    or      $((1 << 31) | (1 << 1) | 1), %eax   /* PG | MP | PE */
    mov     %eax, %cr0

step7_gdt:
    lgdt    boot_gdt_pointer
    push    $0x08                       /* 64-bit code selector */
    push    $long_mode
    lret

    .code64
long_mode:
step8_rust:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    xor     %eax, %eax
    mov     %ax, %fs
    mov     %ax, %gs
    mov     %esi, %edi                  /* zero-extended hvm_start_info */
    xor     %ebp, %ebp                  /* ends stack walks */
    push    %rbp                        /* fake return address: 0 */
    jmp     kernel_main
    /* kernel_main never returns; if it does, there is no return address. */

    .section .rodata.boot, "a"
    .p2align 3
boot_gdt:
    .quad 0                             /* null */
    .quad 0x00af9b000000ffff            /* 0x08: 64-bit code, DPL 0, accessed */
    .quad 0x00cf93000000ffff            /* 0x10: data, DPL 0, accessed (no write-back to rodata) */
boot_gdt_end:
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .bss.boot, "aw", @nobits
    /* linker.ld puts this section first in .bss, at a page boundary, and
       asserts boot_pml4 is page aligned; the section itself asks for 16
       bytes, so the BSS needs no page alignment in the file. Every table
       below is a multiple of 4 KiB, so each is page aligned. */
    .p2align 4
    .global boot_pml4
boot_pml4:
    .skip 0x1000
boot_pdpt:
    .skip 0x1000
boot_pd:
    .skip 0x4000
    .global boot_stack_bottom
boot_stack_bottom:
    .skip 0x10000                       /* 64 KiB boot stack: kernel_main keeps it */
    .global boot_stack_top
boot_stack_top:
    .global boot_entry_tsc
boot_entry_tsc:
    .skip 8                             /* TSC at step 0, for kernel_main */
