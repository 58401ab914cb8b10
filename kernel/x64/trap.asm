; trap.asm - entry stubs for all 256 vectors: the 32 exceptions and the
; interrupts (kernel/interrupt.c dispatches vectors 32-255).
;
; The CPU enters an interrupt gate with interrupts off, on the current stack
; (or an IST stack) with SS, RSP, RFLAGS, CS, RIP pushed, plus an error code
; for some vectors (Intel SDM Vol. 3A, 7.14). Each stub makes the frame
; uniform (pushes 0 where the CPU pushed no error code), pushes its vector
; number and jumps to KiTrapCommon, which saves the general registers in the
; order of KTRAP_FRAME (kernel/ki.h) and calls KiDispatchTrap(TrapFrame).
; All decisions are made in C.

bits 64
%include "kernel/x64/ktrap.inc"
section .text

extern KiDispatchTrap

; Vectors with a CPU error code: 8, 10-14, 17, 21, 29, 30.
%macro TRAP_NO_ERROR 1
global KiTrap%1
KiTrap%1:
    push 0
    push %1
    jmp KiTrapCommon
%endmacro

%macro TRAP_WITH_ERROR 1
global KiTrap%1
KiTrap%1:
    push %1
    jmp KiTrapCommon
%endmacro

TRAP_NO_ERROR 0
TRAP_NO_ERROR 1
TRAP_NO_ERROR 2
TRAP_NO_ERROR 3
TRAP_NO_ERROR 4
TRAP_NO_ERROR 5
TRAP_NO_ERROR 6
TRAP_NO_ERROR 7
TRAP_WITH_ERROR 8
TRAP_NO_ERROR 9
TRAP_WITH_ERROR 10
TRAP_WITH_ERROR 11
TRAP_WITH_ERROR 12
TRAP_WITH_ERROR 13
TRAP_WITH_ERROR 14
TRAP_NO_ERROR 15
TRAP_NO_ERROR 16
TRAP_WITH_ERROR 17
TRAP_NO_ERROR 18
TRAP_NO_ERROR 19
TRAP_NO_ERROR 20
TRAP_WITH_ERROR 21
TRAP_NO_ERROR 22
TRAP_NO_ERROR 23
TRAP_NO_ERROR 24
TRAP_NO_ERROR 25
TRAP_NO_ERROR 26
TRAP_NO_ERROR 27
TRAP_NO_ERROR 28
TRAP_WITH_ERROR 29
TRAP_WITH_ERROR 30
TRAP_NO_ERROR 31

; Vectors 32-255: device and software interrupts (never an error code).
%assign i 32
%rep 224
TRAP_NO_ERROR i
%assign i i + 1
%endrep

; The stack now holds (from RSP up): vector, error code, RIP, CS, RFLAGS,
; RSP, SS. Save the registers so that RSP points at a KTRAP_FRAME.
; Coming from ring 3 (CS's low bits), GS still holds the user's base:
; swapgs makes gs:0 the processor control region again (and the way out
; swaps back).
KiTrapCommon:
    test byte [rsp + 24], 3         ; CS of the interrupted code
    jz .kernel_entry
    swapgs
.kernel_entry:
    KTRAP_PUSH_REGISTERS
    cld
    mov rdi, rsp                    ; argument: the trap frame
    ; 15 registers + vector + error code + the CPU's 5 = 22 quadwords; the
    ; CPU aligned RSP to 16 before its pushes, so RSP is 16-byte aligned
    ; here as the System V ABI wants at a call.
    call KiDispatchTrap

global KiExitTrap
KiExitTrap:                         ; RSP = a KTRAP_FRAME to return through
    KTRAP_POP_REGISTERS
    add rsp, 16                     ; vector and error code
    test byte [rsp + 8], 3          ; returning to ring 3?
    jz .kernel_exit
    swapgs
.kernel_exit:
    iretq

; void KiEnterUserMode(PKTRAP_FRAME TrapFrame): leave for ring 3 through
; TrapFrame (a new user thread's first entry). Interrupts must be off.
global KiEnterUserMode
KiEnterUserMode:
    mov rsp, rdi
    jmp KiExitTrap

; The table of stub addresses, read by kernel/cpu.c to fill the IDT.
section .rodata
global KiTrapStubs
KiTrapStubs:
%assign i 0
%rep 256
    dq KiTrap %+ i
%assign i i + 1
%endrep
