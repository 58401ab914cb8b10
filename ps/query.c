/*
 * query.c - NtQueryInformationProcess: what a process can learn about
 * itself or another process it holds a handle to.
 */
#include "psp.h"
#include "../mm/mm.h"
#include "../io/io.h"
#include "../rtl/rtl.h"
#include "../include/ntapi.h"

NTSTATUS NtQueryInformationProcess(HANDLE ProcessHandle, PROCESSINFOCLASS InformationClass,
                                   PVOID Information, ULONG Length, PULONG ReturnLength)
{
    if (InformationClass != ProcessBasicInformation)
        return STATUS_INVALID_INFO_CLASS;
    if (Length < sizeof(PROCESS_BASIC_INFORMATION))
        return STATUS_INFO_LENGTH_MISMATCH;
    PEPROCESS Process;
    NTSTATUS Status = PsReferenceProcessByHandle(ProcessHandle, UserMode, &Process);
    if (!NT_SUCCESS(Status))
        return Status;
    PROCESS_BASIC_INFORMATION Info;
    memset(&Info, 0, sizeof(Info));
    Info.ExitStatus = Process->ExitStatus;
    Info.PebBaseAddress = Process->ProcessParameters;
    Info.AffinityMask = 1;
    Info.BasePriority = Process->Pcb.BasePriority;
    Info.UniqueProcessId = (ULONG_PTR)Process->UniqueProcessId;
    Info.InheritedFromUniqueProcessId = (ULONG_PTR)Process->InheritedFromUniqueProcessId;
    ObDereferenceObject(Process);
    Status = MmCopyToUser(Information, &Info, sizeof(Info));
    if (NT_SUCCESS(Status) && ReturnLength) {
        ULONG Size = sizeof(Info);
        Status = MmCopyToUser(ReturnLength, &Size, sizeof(Size));
    }
    return Status;
}

