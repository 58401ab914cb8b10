/*
 * psexcept.c - the end of a process whose thread took an exception in user
 * mode that nothing resolved.
 *
 * The trap dispatcher (kernel/trap.c) has already tried to resolve the
 * trap (a page fault goes to MmAccessFault, which also grows user stacks)
 * and turned what remains into an NT status (STATUS_ACCESS_VIOLATION,
 * STATUS_STACK_OVERFLOW, STATUS_ILLEGAL_INSTRUCTION, ...). Ps decides only
 * what follows: as for an unhandled exception on Windows, the process
 * ends with that status as its exit code, alone, after one console line
 * that says which process crashed and why.
 *
 * IRQL: PASSIVE_LEVEL, on the faulting thread, interrupts enabled.
 */
#include "psp.h"

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
    case STATUS_SINGLE_STEP: return "STATUS_SINGLE_STEP";
    case STATUS_INTEGER_OVERFLOW: return "STATUS_INTEGER_OVERFLOW";
    default: return "exception";
    }
}

void PsTerminateProcessOnException(NTSTATUS ExceptionCode, ULONG_PTR ExceptionAddress,
                                   ULONG_PTR FaultAddress)
{
    PEPROCESS Process = PsGetCurrentProcess();

    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    DbgPrint("Process %s (PID %llu) crashed: %s (0x%08x) at RIP 0x%llx, address 0x%llx; "
             "it ends alone.\n",
             Process->ImageFileName, (ULONG64)(ULONG_PTR)Process->UniqueProcessId,
             PspStatusName(ExceptionCode), (ULONG)ExceptionCode, (ULONG64)ExceptionAddress,
             (ULONG64)FaultAddress);
    PspTerminateProcess(Process, ExceptionCode);
    /* PspTerminateProcess ends the calling thread when it belongs to Process. */
    KeBugCheckEx(KERNEL_SECURITY_CHECK_FAILURE, 0x7E2, (ULONG_PTR)Process, 0, 0);
}
