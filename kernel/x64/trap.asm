; trap.asm - entry stubs for all 256 vectors: the 32 exceptions and the
; interrupts (kernel/interrupt.c dispatches vectors 32-255).
;
; The CPU enters an interrupt gate with interrupts off, on the current stack
; (or an IST stack) with SS, RSP, RFLAGS, CS, RIP pushed, plus an error code
; for some vectors (Intel SDM Vol. 3A, 7.14). Each stub makes the frame
; uniform (pushes 0 where the CPU pushed no error code), pushes its vector
; number and jumps to KiTrapCommon, which saves the general registers in the
; order of KTRAP_FRAME (kernel/ki.h) and calls KiDispatchTrap(TrapFrame).
; All decisions are made in C. Frame offsets, selectors' RPL and the vector
; counts come from build/gen/asmdefs.inc (kernel/x64/asmdefs.c).

bits 64
%include "asmdefs.inc"
%include "kernel/x64/ktrap.inc"
%include "kernel/x64/cfi.inc"
section .text

extern KiDispatchTrap

; TRAP_WITH_ERROR for the vectors whose error code the CPU pushes
; (KI_ERROR_CODE_VECTORS, kernel/ki.h), TRAP_NO_ERROR for the others.
%macro TRAP_NO_ERROR 1
global KiTrap%1:function (%%end - KiTrap%1)
KiTrap%1:
    push 0
    push %1
    jmp KiTrapCommon
%%end:
%endmacro

%macro TRAP_WITH_ERROR 1
global KiTrap%1:function (%%end - KiTrap%1)
KiTrap%1:
    push %1
    jmp KiTrapCommon
%%end:
%endmacro

; Vectors 0-31 are exceptions; 32-255 device and software interrupts
; (never an error code).
%assign i 0
%rep KI_IDT_VECTORS
%if i < KI_EXCEPTION_VECTORS && (KI_ERROR_CODE_VECTORS >> i) & 1
TRAP_WITH_ERROR i
%else
TRAP_NO_ERROR i
%endif
%assign i i + 1
%endrep

; The stack now holds (from RSP up): vector, error code, RIP, CS, RFLAGS,
; RSP, SS. Save the registers so that RSP points at a KTRAP_FRAME.
; Coming from ring 3 (CS's low bits), GS still holds the user's base:
; swapgs makes gs:0 the processor control region again (and the way out
; swaps back).
global KiTrapCommon:function (KiExitTrap - KiTrapCommon)
KiTrapCommon:
    test byte [rsp + KTRAP_FRAME_SegCs - KTRAP_FRAME_Vector], RPL_MASK ; CS of the interrupted code
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

global KiExitTrap:function (KiEnterUserMode - KiExitTrap)
KiExitTrap:                         ; RSP = a KTRAP_FRAME to return through
    KTRAP_POP_REGISTERS
    add rsp, KTRAP_FRAME_Rip - KTRAP_FRAME_Vector ; vector and error code
    test byte [rsp + KTRAP_FRAME_SegCs - KTRAP_FRAME_Rip], RPL_MASK ; returning to ring 3?
    jz .kernel_exit
    swapgs
.kernel_exit:
    iretq

; void KiEnterUserMode(PKTRAP_FRAME TrapFrame): leave for ring 3 through
; TrapFrame (a new user thread's first entry). Interrupts must be off.
global KiEnterUserMode:function (KiEnterUserMode.end - KiEnterUserMode)
KiEnterUserMode:
    mov rsp, rdi
    jmp KiExitTrap
.end:

; For gdb, every frame in this file is the outermost: the code it
; interrupted is described by the KTRAP_FRAME, not by a return address
; (kernel/x64/cfi.inc; tools/gdb/pagoda.py names the frame's RIP and RSP).
CFI_CIE
CFI_OUTERMOST KiTrap0, KiEnterUserMode.end

; The table of stub addresses, read by kernel/cpu.c to fill the IDT.
section .rodata
global KiTrapStubs
KiTrapStubs:
%assign i 0
%rep KI_IDT_VECTORS
    dq KiTrap %+ i
%assign i i + 1
%endrep
