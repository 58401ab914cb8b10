; usercopy.asm - the only instructions in the kernel that touch user memory.
;
; SMAP (Intel SDM Vol. 3A, 5.6.1) makes any supervisor-mode data access to a
; user page (U/S=1) fault unless RFLAGS.AC is set. stac sets AC, clac clears
; it; they appear in this file and nowhere else, each stac paired with a
; clac on every way out, so the window in which the kernel may touch user
; memory is exactly one instruction wide.
;
; Each instruction here that dereferences a user pointer has an entry in
; the exception table (section .ex_table, gathered by linker.ld between
; __ex_table_start and __ex_table_end): a pair of 8-byte addresses
;
;       dq faulting instruction, fixup
;
; When such an instruction takes a #PF that MmAccessFault cannot resolve
; (or a #GP), KiDispatchTrap (kernel/trap.c) finds its RIP in the table,
; puts the failure status in the frame's RAX (STATUS_GUARD_PAGE_VIOLATION
; for a guard page the access consumed, else STATUS_ACCESS_VIOLATION) and
; resumes at the fixup instead of bugchecking. The fixup clears AC and
; returns that status as it finds it in EAX.
;
; All checking (is the range in the user half? not NULL? no overflow?) is
; done before in C, by mm/probe.c; these routines just copy.
;
; Calling convention: System V (RDI, RSI, RDX; result in EAX). DF is clear
; on entry (the ABI guarantees it; trap entry does cld).

bits 64
%include "kernel/x64/cfi.inc"
section .text

; One exception-table entry: fault at %1, resume at %2.
%macro EX_TABLE_ENTRY 2
section .ex_table
    dq %1, %2
section .text
%endmacro

; .ex_table is read-only data, 8-byte aligned.
section .ex_table progbits alloc noexec nowrite align=8
section .text

; NTSTATUS KiCopyUserMemory(PVOID Destination, const void *Source, SIZE_T Length)
;
; Copy Length bytes; one side is a user buffer, the other a kernel buffer
; (either direction): eight bytes a step (rep movsq), then the last 0-7
; (rep movsb) - under -icount each step of a rep is one instruction, so a
; 64-byte control buffer is 8 steps instead of 64. Returns STATUS_SUCCESS,
; or STATUS_ACCESS_VIOLATION when the user side faulted and could not be
; resolved: the 8-byte steps before the faulting one have been copied
; (so up to 7 bytes just before the faulting byte may not be), none after.
global KiCopyUserMemory:function (KiCopyUserMemory.end - KiCopyUserMemory)
KiCopyUserMemory:
    mov rcx, rdx
    shr rcx, 3
    stac
.copy:
    rep movsq                       ; may fault on either buffer; demand-zero
                                    ; faults are resolved and the copy resumes
    mov ecx, edx
    and ecx, 7
.tail:
    rep movsb
    clac
    xor eax, eax
    ret
.fault:
    clac                            ; EAX: the status KiDispatchTrap put there
    ret
.end:
EX_TABLE_ENTRY .copy, .fault
EX_TABLE_ENTRY .tail, .fault

; NTSTATUS KiProbeUserByteForWrite(PVOID Address)
;
; Check that the user byte at Address may be written, as NT's ProbeForWrite
; does by writing each page: "lock or byte [Address], 0" is a write access
; (the MMU checks R/W, demand-zero commits the page), but leaves the byte's
; value alone even if another thread writes it at the same moment - a plain
; read then write-back could undo that thread's store. Returns
; STATUS_SUCCESS or STATUS_ACCESS_VIOLATION.
global KiProbeUserByteForWrite:function (KiProbeUserByteForWrite.end - KiProbeUserByteForWrite)
KiProbeUserByteForWrite:
    stac
.touch:
    lock or byte [rdi], 0
    clac
    xor eax, eax
    ret
.fault:
    clac                            ; EAX: the status KiDispatchTrap put there
    ret
.end:
EX_TABLE_ENTRY .touch, .fault

; Both routines push nothing: the return address stays at [RSP].
CFI_CIE
CFI_FUNCTION KiCopyUserMemory, KiCopyUserMemory.end
CFI_FUNCTION KiProbeUserByteForWrite, KiProbeUserByteForWrite.end
