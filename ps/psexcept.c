/*
 * psexcept.c - exceptions in user mode that end a process alone: the NT
 * status each kind of trap becomes, user-stack growth, and the one console
 * line that says which process crashed and why.
 */
#include "psp.h"
#include "../kernel/ki.h"
#include "../mm/mm.h"
#include "../io/io.h"
#include "../rtl/rtl.h"
#include "../include/ntapi.h"

/* ------------------------------------------------------------------------
 * Exceptions in user mode
 * ------------------------------------------------------------------------ */

static const char *PspStatusName(NTSTATUS Status)
{
    switch (Status) {
    case STATUS_ACCESS_VIOLATION: return "STATUS_ACCESS_VIOLATION";
    case STATUS_ILLEGAL_INSTRUCTION: return "STATUS_ILLEGAL_INSTRUCTION";
    case STATUS_INTEGER_DIVIDE_BY_ZERO: return "STATUS_INTEGER_DIVIDE_BY_ZERO";
    case STATUS_PRIVILEGED_INSTRUCTION: return "STATUS_PRIVILEGED_INSTRUCTION";
    case STATUS_STACK_OVERFLOW: return "STATUS_STACK_OVERFLOW";
    case STATUS_GUARD_PAGE_VIOLATION: return "STATUS_GUARD_PAGE_VIOLATION";
    case STATUS_BREAKPOINT: return "STATUS_BREAKPOINT";
    default: return "exception";
    }
}

/* Instructions that are #GP in ring 3 because they are privileged (as
 * opposed to a bad memory access): HLT, CLI, STI, IN, OUT, and the 0F
 * forms (MOV CRn, WRMSR, RDMSR, LGDT/LIDT, INVD, WBINVD). */
static BOOLEAN PspIsPrivilegedInstruction(ULONG64 Rip)
{
    UCHAR Bytes[2] = {0, 0};
    if (!NT_SUCCESS(MmCopyFromUser(Bytes, (PVOID)Rip, 2)))
        return FALSE;
    switch (Bytes[0]) {
    case 0xF4: case 0xFA: case 0xFB: case 0xE4: case 0xE5: case 0xE6: case 0xE7:
    case 0xEC: case 0xED: case 0xEE: case 0xEF: case 0x6C: case 0x6D: case 0x6E: case 0x6F:
        return TRUE;
    case 0x0F:
        return Bytes[1] == 0x20 || Bytes[1] == 0x22 || Bytes[1] == 0x30 || Bytes[1] == 0x32 ||
               Bytes[1] == 0x01 || Bytes[1] == 0x08 || Bytes[1] == 0x09 || Bytes[1] == 0x06;
    default:
        return FALSE;
    }
}

/*
 * A user stack grows as on Windows: only its top pages are committed, with
 * a guard page below them. Touching the guard page (the fault handler has
 * already made it an ordinary page) commits the next page down as the new
 * guard, and the thread goes on. When the guard would reach the lowest page
 * of the reservation, which is never committed, the stack is full: FALSE,
 * and the thread's process ends with STATUS_STACK_OVERFLOW.
 */
static BOOLEAN PspGrowUserStack(PETHREAD Thread, ULONG_PTR FaultVa)
{
    ULONG_PTR Page = ALIGN_DOWN_BY(FaultVa, PAGE_SIZE);
    if (!Thread->UserStackReserve || Page < Thread->UserStackReserve ||
        Page >= Thread->UserStackBase)
        return FALSE; /* a guard page of the program's own */
    if (Page - PAGE_SIZE <= Thread->UserStackReserve)
        return FALSE;
    _enable();
    PEPROCESS Process = PsGetCurrentProcess();
    return NT_SUCCESS(MmCommitUserRange(Process->Pcb.AddressSpace, (PVOID)(Page - PAGE_SIZE),
                                        PAGE_SIZE, PAGE_READWRITE | PAGE_GUARD));
}

/*
 * A trap from ring 3 (kernel/trap.c). Page faults the memory manager
 * resolves return; anything else ends the process with the NT exception
 * code as its exit status, after one console line that names it.
 */
void PsDispatchUserTrap(PKTRAP_FRAME TrapFrame, ULONG_PTR FaultVa)
{
    PETHREAD Thread = (PETHREAD)KeGetCurrentThread();
    PEPROCESS Process = PsGetCurrentProcess();
    NTSTATUS Code;
    ULONG_PTR Address = 0;

    switch (TrapFrame->Vector) {
    case KI_VECTOR_PAGE_FAULT: {
        NTSTATUS Status = MmAccessFault(TrapFrame->ErrorCode, (PVOID)FaultVa, TrapFrame->Rip);
        if (NT_SUCCESS(Status))
            return;
        Address = FaultVa;
        if (Status == STATUS_GUARD_PAGE_VIOLATION && PspGrowUserStack(Thread, FaultVa))
            return; /* the stack's guard page moved down: retry the access */
        Code = Status == STATUS_GUARD_PAGE_VIOLATION ? STATUS_GUARD_PAGE_VIOLATION
                                                     : STATUS_ACCESS_VIOLATION;
        /* The last guard page or the uncommitted page below it: the stack
         * ran out. */
        if (FaultVa >= Thread->UserStackReserve && FaultVa < Thread->UserStackReserve + 2 * PAGE_SIZE)
            Code = STATUS_STACK_OVERFLOW;
        break;
    }
    case KI_VECTOR_DIVIDE_ERROR:
        Code = STATUS_INTEGER_DIVIDE_BY_ZERO;
        break;
    case KI_VECTOR_INVALID_OPCODE:
        Code = STATUS_ILLEGAL_INSTRUCTION;
        break;
    case KI_VECTOR_BREAKPOINT:
        Code = STATUS_BREAKPOINT;
        break;
    case KI_VECTOR_GENERAL_PROTECTION:
        _enable();
        Code = PspIsPrivilegedInstruction(TrapFrame->Rip) ? STATUS_PRIVILEGED_INSTRUCTION
                                                          : STATUS_ACCESS_VIOLATION;
        break;
    default:
        Code = STATUS_ACCESS_VIOLATION;
        break;
    }
    _enable();
    DbgPrint("Process %s (PID %llu) crashed: %s (0x%08x) at RIP 0x%llx, address 0x%llx; "
             "it ends alone.\n",
             Process->ImageFileName, (ULONG64)(ULONG_PTR)Process->UniqueProcessId,
             PspStatusName(Code), (ULONG)Code, TrapFrame->Rip, (ULONG64)Address);
    PspTerminateProcess(Process, Code);
}

