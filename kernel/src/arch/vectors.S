/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * Interrupt and exception entry: 256 stubs, 16 bytes apart, then one common
 * path. Each stub makes the frame uniform (a 0 where the CPU pushes no error
 * code), pushes its vector, saves the general registers and calls
 * interrupt_dispatch(&mut TrapFrame). Rust code is built without SSE, so
 * there is no vector state to save.
 */
    .section .text.interrupts, "ax"
    .code64
    .p2align 4
    .global interrupt_stubs
interrupt_stubs:
    .set vector, 0
    .rept 256
    .p2align 4
    /* Vectors with a CPU error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX */
    .if !(vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 || vector == 30)
    push    $0
    .endif
    push    $vector
    jmp     interrupt_common
    .set vector, vector + 1
    .endr

interrupt_common:
    push    %rax
    push    %rbx
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %rbp
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    mov     %rsp, %rdi              /* &mut TrapFrame; 16-byte aligned here */
    cld
    call    interrupt_dispatch
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rbp
    pop     %rdi
    pop     %rsi
    pop     %rdx
    pop     %rcx
    pop     %rbx
    pop     %rax
    add     $16, %rsp               /* vector and error code */
    iretq
