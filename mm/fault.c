/*
 * fault.c - MmAccessFault, the page-fault handler's memory-manager half.
 *
 * kernel/trap.c calls it for every #PF with the error code and CR2. It
 * returns STATUS_SUCCESS when it made the access possible (the faulting
 * instruction is restarted) and an error status when the access is
 * illegal; the caller turns that into a bugcheck (kernel mode) or, later,
 * an exception for the user program.
 *
 * At this stage nothing is resolvable: the kernel's own memory is mapped
 * up front. Demand-zero pool and user pages come with the memory-manager
 * issue.
 */
#include "mi.h"

MM_FAULT_COUNTERS MmFaultCounters;

NTSTATUS MmAccessFault(ULONG64 FaultCode, PVOID Va, struct _KTRAP_FRAME *TrapFrame)
{
    UNREFERENCED_PARAMETER(FaultCode);
    UNREFERENCED_PARAMETER(Va);
    UNREFERENCED_PARAMETER(TrapFrame);
    MmFaultCounters.Total++;
    MmFaultCounters.KernelUnresolved++;
    return STATUS_ACCESS_VIOLATION;
}
