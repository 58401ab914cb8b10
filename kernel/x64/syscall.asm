; syscall.asm - the system-call entry (SYSCALL/SYSRET, Intel SDM Vol. 2B).
;
; SYSCALL from ring 3 arrives here (IA32_LSTAR) with RCX = the user RIP,
; R11 = the user RFLAGS, IF cleared by IA32_FMASK, CS/SS = kernel, and
; RSP still the user's. The entry swaps GS, switches to the thread's kernel
; stack (KPCR.KernelRsp), and builds the same KTRAP_FRAME the trap stubs
; build (vector KI_SYSCALL_VECTOR, kernel/ki.h), so kernel code sees one
; frame format. Offsets and selectors come from build/gen/asmdefs.inc. KiSystemService(TrapFrame) dispatches through the service table
; and leaves the status in TrapFrame->Rax.
;
; The way back uses SYSRET when it can (RCX = RIP, R11 = RFLAGS, fast) and
; IRETQ otherwise: SYSRET to a non-canonical RIP would fault in ring 0 on
; the user's stack (a classic hole), so KiSystemService returns 1 then and
; the exit goes through IRETQ.

bits 64
%include "asmdefs.inc"
%include "kernel/x64/ktrap.inc"
%include "kernel/x64/cfi.inc"
section .text

extern KiSystemService

global KiSystemCall64:function (KiSystemCall64.end - KiSystemCall64)
KiSystemCall64:
    swapgs
    mov [gs:KPCR_UserRsp], rsp
    mov rsp, [gs:KPCR_KernelRsp]
    push KGDT64_R3_DATA | RPL_MASK      ; the frame the CPU would push for an interrupt
    push qword [gs:KPCR_UserRsp]
    push r11                            ; RFLAGS
    push KGDT64_R3_CODE | RPL_MASK
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
    add rsp, KTRAP_FRAME_Rdx - KTRAP_FRAME_Rbx ; RBX (live), RCX (the RIP below)
    pop rdx
    pop rsi
    pop rdi
    add rsp, KTRAP_FRAME_R8 - KTRAP_FRAME_Rbp ; RBP (live)
    pop r8
    pop r9
    pop r10
    add rsp, KTRAP_FRAME_Rip - KTRAP_FRAME_R11 ; R11 (RFLAGS below), R12-R15 (live), vector, error code
    pop rcx                             ; RIP
    add rsp, KTRAP_FRAME_EFlags - KTRAP_FRAME_SegCs ; CS
    pop r11                             ; RFLAGS
    pop rsp                             ; the user's RSP (SS is implied by SYSRET)
    swapgs
    o64 sysret

.iretq_exit:
    extern KiExitTrap
    jmp KiExitTrap
.end:

; For gdb, this is the outermost kernel frame of a system service: the
; user-mode caller is described by the KTRAP_FRAME (tools/gdb/pagoda.py
; prints its RIP and RSP), not by a return address (kernel/x64/cfi.inc).
CFI_CIE
CFI_OUTERMOST KiSystemCall64, KiSystemCall64.end
