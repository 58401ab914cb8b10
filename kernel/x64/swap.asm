; swap.asm - the context switch: one thread's stack for another's.
;
;   void KiSwapContext(PVOID *OldStack, PVOID NewStack);
;
; Called by kernel/sched.c at DISPATCH_LEVEL with interrupts disabled. Only
; what the System V ABI says a callee must preserve (RBX, RBP, R12-R15) and
; RFLAGS are saved: everything else is already saved by the C caller, or in
; a trap frame further up the stack. The x87/SSE state is saved in C
; (FXSAVE, kernel/sched.c). A new thread's stack is prepared so that the
; final "ret" lands in KiStartThread, below.

bits 64
%include "kernel/x64/cfi.inc"
extern KiThreadStartup
section .text

global KiSwapContext:function (KiSwapContext.end - KiSwapContext)
KiSwapContext:
    pushfq
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp                  ; OldThread->KernelStack = RSP
    mov rsp, rsi                    ; RSP = NewThread->KernelStack
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    popfq
    ret
.end:

; void KiStartThread(void): where a new thread's first KiSwapContext
; returns (kernel/sched.c builds that initial frame), with RBP = 0 and the
; stack 16-byte aligned. It calls KiThreadStartup (kernel/thrdobj.c),
; which never returns. Its call-frame information makes it the outermost
; frame of every thread's backtrace in gdb.
global KiStartThread:function (KiStartThread.end - KiStartThread)
KiStartThread:
    call KiThreadStartup
    ud2                             ; not reached: KiThreadStartup ends the thread
.end:

CFI_CIE
CFI_OUTERMOST KiStartThread, KiStartThread.end
