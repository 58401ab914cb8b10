/*
 * ntvm.c - the virtual-memory system services: NtAllocateVirtualMemory,
 * NtFreeVirtualMemory, NtProtectVirtualMemory and NtQueryVirtualMemory.
 * They are thin: mm/virtual.c holds the rules; this file moves arguments
 * between user memory and the kernel, and between address spaces.
 *
 * Two address spaces are involved in every call:
 *
 *   the caller's   where the arguments live (*BaseAddress, *RegionSize,
 *                  the MEMORY_BASIC_INFORMATION buffer...): current on
 *                  entry, read and written only with MmCopyFromUser /
 *                  MmCopyToUser / ProbeForWrite (SMAP is on);
 *   the target's   the process ProcessHandle names (NtCurrentProcess()
 *                  or a real handle), whose user half is changed: the
 *                  Mm*VirtualMemory routines work on the current address
 *                  space only.
 *
 * So each service: (1) captures its pointer arguments into kernel
 * variables and probes the outputs for writing - a bad pointer of any kind
 * is STATUS_ACCESS_VIOLATION before anything happens; (2) references the
 * target process; (3) attaches to its address space
 * (MmAttachAddressSpace), calls the Mm routine on the kernel copies, and
 * attaches back; (4) copies the results out to the caller. The user
 * pointers are never touched while attached: they mean something else
 * there.
 *
 * Addresses in the kernel half are refused by mm/virtual.c itself
 * (STATUS_INVALID_PARAMETER_2, NT's numbered code for the BaseAddress
 * argument; NtQueryVirtualMemory: STATUS_INVALID_PARAMETER): every Mm routine checks the range against
 * the user half before it looks at anything.
 *
 * Locking and IRQL: PASSIVE_LEVEL, on the caller's thread. The target
 * process stays referenced, and its rundown protection held, across the
 * call, so its address space cannot be deleted under us; step (3) holds the VM mutex (MiEnterAddressSpace,
 * mm/virtual.c), which keeps two threads from editing address spaces at
 * once.
 */
#include "mi.h"
#include "../ps/ps.h"
#include "../include/ntapi.h"

/* NtQueryVirtualMemory's classes (NT's MEMORY_INFORMATION_CLASS). */
#define MI_MEMORY_BASIC_INFORMATION 0

/*
 * Capture the in/out pair *BaseAddress, *RegionSize: both must be readable
 * and writable user memory (the results go back there).
 */
static NTSTATUS MiCaptureRange(PVOID *BaseAddress, PSIZE_T RegionSize, PVOID *Base, PSIZE_T Size)
{
    NTSTATUS Status = ProbeForWrite(BaseAddress, sizeof(*BaseAddress), 1);
    if (NT_SUCCESS(Status))
        Status = ProbeForWrite(RegionSize, sizeof(*RegionSize), 1);
    if (NT_SUCCESS(Status))
        Status = MmCopyFromUser(Base, BaseAddress, sizeof(*Base));
    if (NT_SUCCESS(Status))
        Status = MmCopyFromUser(Size, RegionSize, sizeof(*Size));
    return Status;
}

/*
 * Write the range back. As NT does (the WRK's allocvm.c, freevm.c), a
 * failure here is ignored: the change is made, and the status must say
 * so. The probe before the change makes it rare (another thread unmapping
 * the page meanwhile).
 */
static void MiReturnRange(PVOID *BaseAddress, PSIZE_T RegionSize, PVOID Base, SIZE_T Size)
{
    (void)MmCopyToUser(BaseAddress, &Base, sizeof(Base));
    (void)MmCopyToUser(RegionSize, &Size, sizeof(Size));
}

/* Reference the process ProcessHandle names and acquire its rundown
 * protection, refusing one whose rundown has begun: its address space
 * stays until the caller releases both. */
static NTSTATUS MiReferenceTargetProcess(HANDLE ProcessHandle, PEPROCESS *Process)
{
    NTSTATUS Status = PsReferenceProcessByHandle(ProcessHandle, UserMode, Process);
    if (!NT_SUCCESS(Status))
        return Status;
    if (!NT_SUCCESS(PsAcquireProcessExitSynchronization(*Process))) {
        ObDereferenceObject(*Process);
        *Process = NULL;
        return STATUS_PROCESS_IS_TERMINATING;
    }
    return STATUS_SUCCESS;
}

/*
 * NtAllocateVirtualMemory - reserve and/or commit pages of the process
 * ProcessHandle names (MmAllocateVirtualMemory's rules and statuses).
 * ZeroBits must be 0 (STATUS_INVALID_PARAMETER_3: not supported).
 * *BaseAddress and *RegionSize are in/out. Returns
 * STATUS_ACCESS_VIOLATION for a bad BaseAddress or RegionSize (nothing is
 * allocated), STATUS_INVALID_HANDLE / STATUS_OBJECT_TYPE_MISMATCH for the
 * handle, STATUS_PROCESS_IS_TERMINATING. PASSIVE_LEVEL.
 */
NTSTATUS NtAllocateVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress, ULONG_PTR ZeroBits,
                                 PSIZE_T RegionSize, ULONG AllocationType, ULONG Protect)
{
    PEPROCESS Process;
    PVOID Base;
    SIZE_T Size;

    if (ZeroBits != 0)
        return STATUS_INVALID_PARAMETER_3; /* NT's code for ZeroBits > 53 */
    NTSTATUS Status = MiCaptureRange(BaseAddress, RegionSize, &Base, &Size);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = MiReferenceTargetProcess(ProcessHandle, &Process);
    if (!NT_SUCCESS(Status))
        return Status;

    PMMADDRESS_SPACE Space = Process->Pcb.AddressSpace;
    PMMADDRESS_SPACE Previous = MiEnterAddressSpace(Space);
    Status = MmAllocateVirtualMemory(Space, &Base, &Size, AllocationType, Protect);
    MiLeaveAddressSpace(Previous);
    PsReleaseProcessExitSynchronization(Process);
    ObDereferenceObject(Process);

    if (NT_SUCCESS(Status))
        MiReturnRange(BaseAddress, RegionSize, Base, Size);
    return Status;
}

/*
 * NtFreeVirtualMemory - decommit (MEM_DECOMMIT) or release (MEM_RELEASE)
 * pages of the process ProcessHandle names (MmFreeVirtualMemory's rules
 * and statuses); *BaseAddress and *RegionSize are in/out. Other statuses
 * as NtAllocateVirtualMemory. PASSIVE_LEVEL.
 */
NTSTATUS NtFreeVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress, PSIZE_T RegionSize,
                             ULONG FreeType)
{
    PEPROCESS Process;
    PVOID Base;
    SIZE_T Size;

    NTSTATUS Status = MiCaptureRange(BaseAddress, RegionSize, &Base, &Size);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = MiReferenceTargetProcess(ProcessHandle, &Process);
    if (!NT_SUCCESS(Status))
        return Status;

    PMMADDRESS_SPACE Space = Process->Pcb.AddressSpace;
    PMMADDRESS_SPACE Previous = MiEnterAddressSpace(Space);
    Status = MmFreeVirtualMemory(Space, &Base, &Size, FreeType);
    MiLeaveAddressSpace(Previous);
    PsReleaseProcessExitSynchronization(Process);
    ObDereferenceObject(Process);

    if (NT_SUCCESS(Status))
        MiReturnRange(BaseAddress, RegionSize, Base, Size);
    return Status;
}

/*
 * NtProtectVirtualMemory - change the protection of committed pages of the
 * process ProcessHandle names (MmProtectVirtualMemory's rules and
 * statuses); *BaseAddress and *RegionSize are in/out, *OldProtect (not
 * optional) receives the former protection of the first page, or
 * PAGE_NOACCESS when the call fails with STATUS_CONFLICTING_ADDRESSES or
 * STATUS_NOT_COMMITTED (as NT). Other statuses as NtAllocateVirtualMemory.
 * PASSIVE_LEVEL.
 */
NTSTATUS NtProtectVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress, PSIZE_T RegionSize,
                                ULONG NewProtect, PULONG OldProtect)
{
    PEPROCESS Process;
    PVOID Base;
    SIZE_T Size;
    ULONG Old = 0;

    NTSTATUS Status = MiCaptureRange(BaseAddress, RegionSize, &Base, &Size);
    if (NT_SUCCESS(Status))
        Status = ProbeForWrite(OldProtect, sizeof(*OldProtect), 1);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = MiReferenceTargetProcess(ProcessHandle, &Process);
    if (!NT_SUCCESS(Status))
        return Status;

    PMMADDRESS_SPACE Space = Process->Pcb.AddressSpace;
    PMMADDRESS_SPACE Previous = MiEnterAddressSpace(Space);
    Status = MmProtectVirtualMemory(Space, &Base, &Size, NewProtect, &Old);
    MiLeaveAddressSpace(Previous);
    PsReleaseProcessExitSynchronization(Process);
    ObDereferenceObject(Process);

    if (NT_SUCCESS(Status))
        MiReturnRange(BaseAddress, RegionSize, Base, Size);
    /* NT writes *OldProtect (PAGE_NOACCESS) also for these two failures. */
    if (NT_SUCCESS(Status) || Status == STATUS_CONFLICTING_ADDRESSES ||
        Status == STATUS_NOT_COMMITTED)
        (void)MmCopyToUser(OldProtect, &Old, sizeof(Old));
    return Status;
}

/*
 * NtQueryVirtualMemory - describe the region around BaseAddress in the
 * process ProcessHandle names (MmQueryVirtualMemory). InformationClass
 * must be 0, MemoryBasicInformation (else STATUS_INVALID_INFO_CLASS), and
 * Length at least sizeof(MEMORY_BASIC_INFORMATION) (else
 * STATUS_INFO_LENGTH_MISMATCH, with the size needed in the optional
 * *ReturnLength). On success *ReturnLength is the size written. Returns
 * STATUS_INVALID_PARAMETER for an address above the user half,
 * STATUS_ACCESS_VIOLATION for a bad Information or ReturnLength, and the
 * handle statuses of NtAllocateVirtualMemory. PASSIVE_LEVEL.
 */
NTSTATUS NtQueryVirtualMemory(HANDLE ProcessHandle, PVOID BaseAddress, ULONG InformationClass,
                              PVOID Information, SIZE_T Length, PSIZE_T ReturnLength)
{
    MEMORY_BASIC_INFORMATION Info;
    SIZE_T Needed = sizeof(Info);
    PEPROCESS Process;
    NTSTATUS Status;

    if (InformationClass != MI_MEMORY_BASIC_INFORMATION)
        return STATUS_INVALID_INFO_CLASS;
    if (ReturnLength != NULL) {
        Status = ProbeForWrite(ReturnLength, sizeof(*ReturnLength), 1);
        if (!NT_SUCCESS(Status))
            return Status;
    }
    if (Length < Needed) {
        if (ReturnLength != NULL)
            (void)MmCopyToUser(ReturnLength, &Needed, sizeof(Needed));
        return STATUS_INFO_LENGTH_MISMATCH;
    }
    Status = ProbeForWrite(Information, sizeof(Info), 1);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = MiReferenceTargetProcess(ProcessHandle, &Process);
    if (!NT_SUCCESS(Status))
        return Status;

    PMMADDRESS_SPACE Space = Process->Pcb.AddressSpace;
    PMMADDRESS_SPACE Previous = MiEnterAddressSpace(Space);
    Status = MmQueryVirtualMemory(Space, BaseAddress, &Info);
    MiLeaveAddressSpace(Previous);
    PsReleaseProcessExitSynchronization(Process);
    ObDereferenceObject(Process);
    if (!NT_SUCCESS(Status))
        return Status;

    /* A query changed nothing: a failing copy is the caller's answer. */
    Status = MmCopyToUser(Information, &Info, sizeof(Info));
    if (NT_SUCCESS(Status) && ReturnLength != NULL)
        Status = MmCopyToUser(ReturnLength, &Needed, sizeof(Needed));
    return Status;
}
