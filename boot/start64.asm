; start64.asm - the kernel's first instructions at their linked address in
; the higher half, and the outermost frame of every boot-time backtrace.
;
; boot/start.asm jumps here (jmp rax) in 64-bit mode, still on the boot page
; tables, with ESI = the physical address of the multiboot2 information.
; This file holds nothing else: NASM describes one code section per object
; to gdb, so the 32-bit code and this one live in separate files.
;
; Here the code
;   - reads the TSC into KiBootTsc, the start of `make bench`'s
;     boot_to_shell (tests/kernel/kbench.c), so that KiSystemStartup's
;     first instruction is its own first line, not an inlined rdtsc;
;   - switches to the kernel boot stack KiBootStack (kernel/init.c);
;   - clears RBP, ending the frame-pointer chain that bugcheck backtraces
;     follow; the CFI below (CFI_OUTERMOST) ends gdb's backtraces here;
;   - calls KiSystemStartup(MbiPhysical, Magic) (System V ABI: RDI, RSI),
;     which never returns.

bits 64
%include "asmdefs.inc"
%include "kernel/x64/cfi.inc"

extern KiSystemStartup
extern KiBootStack
extern KiBootTsc

section .text
global KiBootHigherHalf:function (KiBootHigherHalf.end - KiBootHigherHalf)
KiBootHigherHalf:
    rdtsc                           ; EDX:EAX = instructions since power-on (under -icount)
    shl rdx, 32
    or rax, rdx
    mov [rel KiBootTsc], rax
    mov rsp, KiBootStack + KI_BOOT_STACK_SIZE ; the kernel stack in .bss
    xor ebp, ebp                    ; end of the frame-pointer chain for backtraces
    mov edi, esi                    ; RDI = MBI physical address (zero-extended)
    mov esi, MULTIBOOT2_BOOTLOADER_MAGIC ; RSI = magic (already checked)
    call KiSystemStartup
.hang:
    cli
    hlt
    jmp .hang
.end:

CFI_CIE
CFI_OUTERMOST KiBootHigherHalf, KiBootHigherHalf.end
