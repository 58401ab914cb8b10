; syscall.asm - the system-call entry (SYSCALL/SYSRET, Intel SDM Vol. 2B).
;
; SYSCALL from ring 3 arrives here (IA32_LSTAR) with RCX = the user RIP,
; R11 = the user RFLAGS, IF cleared by IA32_FMASK, CS/SS = kernel, and
; RSP still the user's. The entry swaps GS, switches to the thread's kernel
; stack (KPCR.KernelRsp), and builds the same KTRAP_FRAME the trap stubs
; build (vector KI_SYSCALL_VECTOR = 0x100), so kernel code sees one frame
; format. KiSystemService(TrapFrame) dispatches through the service table
; and leaves the status in TrapFrame->Rax.
;
; The way back uses SYSRET when it can (RCX = RIP, R11 = RFLAGS, fast) and
; IRETQ otherwise: SYSRET to a non-canonical RIP would fault in ring 0 on
; the user's stack (a classic hole), so KiSystemService returns 1 then and
; the exit goes through IRETQ.

bits 64
%include "kernel/x64/ktrap.inc"
section .text

extern KiSystemService

KPCR_USER_RSP   equ 0x10
KPCR_KERNEL_RSP equ 0x18
USER_CS         equ 0x33                ; KGDT64_R3_CODE | 3
USER_SS         equ 0x2B                ; KGDT64_R3_DATA | 3
KI_SYSCALL_VECTOR equ 0x100

global KiSystemCall64
KiSystemCall64:
    swapgs
    mov [gs:KPCR_USER_RSP], rsp
    mov rsp, [gs:KPCR_KERNEL_RSP]
    push USER_SS                        ; the frame the CPU would push for an interrupt
    push qword [gs:KPCR_USER_RSP]
    push r11                            ; RFLAGS
    push USER_CS
    push rcx                            ; RIP
    push 0                              ; error code
    push KI_SYSCALL_VECTOR
    KTRAP_PUSH_REGISTERS
    cld
    mov rdi, rsp
    call KiSystemService                ; returns 0: SYSRET is safe, 1: use IRETQ
    test eax, eax
    jnz .iretq_exit

    ; SYSRET: the volatile registers from the frame, RCX = RIP, R11 =
    ; RFLAGS. RBX, RBP and R12-R15 are not reloaded: KiSystemService and
    ; everything it calls preserve them (the SysV ABI), so they still hold
    ; what the frame holds; no service writes those slots of its own frame
    ; (one that did, say a set-context on the current thread, must make
    ; KiSystemService return 1, and KiExitTrap restores the whole frame).
    pop rax
    add rsp, 16                         ; RBX (live), RCX (the RIP below)
    pop rdx
    pop rsi
    pop rdi
    add rsp, 8                          ; RBP (live)
    pop r8
    pop r9
    pop r10
    add rsp, 8 * 5 + 16                 ; R11 (RFLAGS below), R12-R15 (live), vector, error code
    pop rcx                             ; RIP
    add rsp, 8                          ; CS
    pop r11                             ; RFLAGS
    pop rsp                             ; the user's RSP (SS is implied by SYSRET)
    swapgs
    o64 sysret

.iretq_exit:
    extern KiExitTrap
    jmp KiExitTrap
