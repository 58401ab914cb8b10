/*
 * psmgr.c - processes and threads as objects: the Idle (PID 0) and System
 * (PID 4) processes, PsCreateSystemThread, thread termination and the
 * deletion of a thread's stack once it can no longer be running on it.
 *
 * Life of a system thread:
 *   PsCreateSystemThread: ETHREAD object (reference 1: the thread's own),
 *     a kernel stack with a guard page, the initial frame; a handle for the
 *     caller (reference 2); KiReadyThread.
 *   KiThreadStartup: the first run; lowers to PASSIVE_LEVEL, calls
 *     StartRoutine(StartContext).
 *   PsTerminateSystemThread: the object is signalled (waiters wake), the
 *     thread is Terminated and switches away for good; right after the
 *     switch it goes on the reaper's list (kernel/psuser.c), and the reaper
 *     thread, at PASSIVE_LEVEL, drops the thread's own reference.
 *   ZwClose of the last handle: the last reference; the delete procedure
 *     frees the stack, then the object goes back to the pool.
 *
 * Locking: the dispatcher lock (DISPATCH_LEVEL) for state changes; the
 * process list under the same.
 */
#include "psp.h"
#include "../kernel/ki.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"
#include "../include/ntapi.h"

static OBJECT_TYPE PspProcessType, PspThreadType;
POBJECT_TYPE PsProcessType = &PspProcessType;
POBJECT_TYPE PsThreadType = &PspThreadType;
PEPROCESS PsIdleProcess;
PEPROCESS PsInitialSystemProcess;
LIST_ENTRY PsActiveProcessHead;
static LONG PspNextId = 8; /* 0 Idle, 4 System */

static HANDLE PspAllocateId(void)
{
    return (HANDLE)(ULONG_PTR)__atomic_fetch_add(&PspNextId, 4, __ATOMIC_SEQ_CST);
}

PEPROCESS PsGetCurrentProcess(void)
{
    return CONTAINING_RECORD(KeGetCurrentThread()->Process, EPROCESS, Pcb);
}

HANDLE PsGetCurrentProcessId(void)
{
    return PsGetCurrentProcess()->UniqueProcessId;
}

HANDLE PsGetCurrentThreadId(void)
{
    return ((PETHREAD)KeGetCurrentThread())->Cid.UniqueThread;
}

PHANDLE_TABLE ObpGetCurrentHandleTable(void)
{
    PKTHREAD Thread = KeGetCurrentThread();
    if (!Thread)
        return PsInitialSystemProcess ? PsInitialSystemProcess->ObjectTable : NULL;
    return CONTAINING_RECORD(Thread->Process, EPROCESS, Pcb)->ObjectTable;
}

NTSTATUS PsReferenceProcessByHandle(HANDLE Handle, KPROCESSOR_MODE Mode, PEPROCESS *Process)
{
    if (Handle == NtCurrentProcess()) {
        *Process = PsGetCurrentProcess();
        ObReferenceObject(*Process);
        return STATUS_SUCCESS;
    }
    return ObReferenceObjectByHandle(Handle, 0, PsProcessType, Mode, (PVOID *)Process, NULL);
}

NTSTATUS PsReferenceThreadByHandle(HANDLE Handle, KPROCESSOR_MODE Mode, PETHREAD *Thread)
{
    if (Handle == NtCurrentThread()) {
        *Thread = (PETHREAD)KeGetCurrentThread();
        ObReferenceObject(*Thread);
        return STATUS_SUCCESS;
    }
    return ObReferenceObjectByHandle(Handle, 0, PsThreadType, Mode, (PVOID *)Thread, NULL);
}

static void PspDeleteThread(PVOID Object)
{
    PETHREAD Thread = Object;
    if (Thread->StackPages)
        MmDeleteKernelStack(Thread->Tcb.StackBase, Thread->StackPages);
    ObDereferenceObject(CONTAINING_RECORD(Thread->Tcb.Process, EPROCESS, Pcb));
}

static void PspDeleteProcess(PVOID Object)
{
    PEPROCESS Process = Object;
    KIRQL OldIrql = KiAcquireDispatcherLock();
    RemoveEntryList(&Process->ActiveProcessLinks);
    KiReleaseDispatcherLock(OldIrql);
    /* Normally the reaper released these when the last thread ended. */
    if (Process->ObjectTable)
        ObDestroyHandleTable(Process->ObjectTable);
    if (Process->OwnsAddressSpace)
        MmDeleteProcessAddressSpace(Process->Pcb.AddressSpace);
}

static NTSTATUS PspCreateProcessObject(const char *Name, HANDLE Id, PMMADDRESS_SPACE AddressSpace,
                                       PEPROCESS *Result)
{
    PEPROCESS Process;
    NTSTATUS Status = ObCreateObject(PsProcessType, sizeof(EPROCESS), (PVOID *)&Process);
    if (!NT_SUCCESS(Status))
        return Status;
    Process->Pcb.Header.Type = ProcessObject;
    InitializeListHead(&Process->Pcb.Header.WaitListHead);
    InitializeListHead(&Process->Pcb.ThreadListHead);
    Process->Pcb.AddressSpace = AddressSpace;
    Process->Pcb.DirectoryTableBase = AddressSpace->DirectoryTableBase;
    Process->Pcb.BasePriority = 8;
    Process->UniqueProcessId = Id;
    Process->ExitStatus = STATUS_PENDING;
    RtlStringCopy(Process->ImageFileName, Name, sizeof(Process->ImageFileName));
    Status = ObCreateHandleTable(&Process->ObjectTable);
    if (!NT_SUCCESS(Status)) {
        InitializeListHead(&Process->ActiveProcessLinks);
        ObDereferenceObject(Process);
        return Status;
    }
    KIRQL OldIrql = KiAcquireDispatcherLock();
    InsertTailList(&PsActiveProcessHead, &Process->ActiveProcessLinks);
    KiReleaseDispatcherLock(OldIrql);
    *Result = Process;
    return STATUS_SUCCESS;
}

NTSTATUS PsCreateProcess(const char *Name, PEPROCESS *Process)
{
    PMMADDRESS_SPACE AddressSpace;
    NTSTATUS Status = MmCreateProcessAddressSpace(&AddressSpace);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = PspCreateProcessObject(Name, PspAllocateId(), AddressSpace, Process);
    if (!NT_SUCCESS(Status)) {
        MmDeleteProcessAddressSpace(AddressSpace);
        return Status;
    }
    (*Process)->OwnsAddressSpace = TRUE;
    return STATUS_SUCCESS;
}

/* An ETHREAD with a fresh stack, not yet ready. References Process. */
NTSTATUS PspCreateThreadObject(PEPROCESS Process, KPRIORITY Priority, PKSTART_ROUTINE StartRoutine,
                               PVOID StartContext, PETHREAD *Result)
{
    PETHREAD Thread;
    NTSTATUS Status = ObCreateObject(PsThreadType, sizeof(ETHREAD), (PVOID *)&Thread);
    if (!NT_SUCCESS(Status))
        return Status;
    ObReferenceObject(Process);           /* the thread's; PspDeleteThread drops it */
    Thread->Tcb.Process = &Process->Pcb;
    PVOID StackBase = MmCreateKernelStack(PS_KERNEL_STACK_PAGES);
    if (!StackBase) {
        ObDereferenceObject(Thread);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    Thread->StackPages = PS_KERNEL_STACK_PAGES;
    KiInitializeThread(&Thread->Tcb, &Process->Pcb, StackBase,
                       (PUCHAR)StackBase - PS_KERNEL_STACK_PAGES * PAGE_SIZE, Priority, TRUE);
    Thread->Cid.UniqueProcess = Process->UniqueProcessId;
    Thread->Cid.UniqueThread = PspAllocateId();
    Thread->StartRoutine = StartRoutine;
    Thread->StartContext = StartContext;

    KIRQL OldIrql = KiAcquireDispatcherLock();
    InsertTailList(&Process->Pcb.ThreadListHead, &Thread->Tcb.ThreadListEntry);
    Process->Pcb.ThreadCount++;
    KiReleaseDispatcherLock(OldIrql);
    *Result = Thread;
    return STATUS_SUCCESS;
}

/* Undo PspCreateThreadObject for a thread that never ran. */
void PspAbandonThread(PETHREAD Thread)
{
    KIRQL OldIrql = KiAcquireDispatcherLock();
    RemoveEntryList(&Thread->Tcb.ThreadListEntry);
    Thread->Tcb.Process->ThreadCount--;
    KiReleaseDispatcherLock(OldIrql);
    ObDereferenceObject(Thread);
}

NTSTATUS PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess, PVOID ObjectAttributes,
                              HANDLE ProcessHandle, PCLIENT_ID ClientId,
                              PKSTART_ROUTINE StartRoutine, PVOID StartContext)
{
    UNREFERENCED_PARAMETER(ObjectAttributes);
    PEPROCESS Process = PsInitialSystemProcess;
    NTSTATUS Status;

    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    if (!ThreadHandle || !StartRoutine)
        return STATUS_INVALID_PARAMETER;
    if (ProcessHandle) {
        Status = ObReferenceObjectByHandle(ProcessHandle, 0, PsProcessType, KernelMode,
                                           (PVOID *)&Process, NULL);
        if (!NT_SUCCESS(Status))
            return Status;
    } else {
        ObReferenceObject(Process);
    }

    PETHREAD Thread;
    Status = PspCreateThreadObject(Process, Process->Pcb.BasePriority, StartRoutine, StartContext, &Thread);
    ObDereferenceObject(Process);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObOpenObjectByPointer(Thread, 0, DesiredAccess, PsThreadType, KernelMode, ThreadHandle);
    if (!NT_SUCCESS(Status)) {
        PspAbandonThread(Thread); /* never started */
        return Status;
    }
    if (ClientId)
        *ClientId = Thread->Cid;

    KIRQL OldIrql = KiAcquireDispatcherLock();
    KiReadyThread(&Thread->Tcb);
    KiReleaseDispatcherLock(OldIrql);
    return STATUS_SUCCESS;
}

NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus)
{
    ASSERT(!((PETHREAD)KeGetCurrentThread())->UserThread);
    PsExitCurrentThread(ExitStatus);
}

/* The first run of every new thread (kernel/sched.c's initial frame). */
void KiThreadStartup(void)
{
    KiFinishSwitch();
    KeLowerIrql(PASSIVE_LEVEL);
    _enable();
    PETHREAD Thread = (PETHREAD)KeGetCurrentThread();
    Thread->StartRoutine(Thread->StartContext);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

/* The idle thread: halt until an interrupt; the way out of the interrupt
 * switches to whatever it made ready. */
static void PspIdleLoop(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    for (;;) {
        _enable();
        __halt();
    }
}

static ETHREAD *PspBootThread;

void PsInitializeSystem(PVOID BootStackBase, PVOID BootStackLimit)
{
    InitializeListHead(&PsActiveProcessHead);
    ObInitializeObjectType(PsProcessType, "Process", PspDeleteProcess);
    ObInitializeObjectType(PsThreadType, "Thread", PspDeleteThread);

    if (!NT_SUCCESS(PspCreateProcessObject("Idle", (HANDLE)0, &MmSystemAddressSpace, &PsIdleProcess)) ||
        !NT_SUCCESS(PspCreateProcessObject("System", (HANDLE)4, &MmSystemAddressSpace,
                                           &PsInitialSystemProcess)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 1, 0, 0, 0);
    ObpKernelHandleTable = PsInitialSystemProcess->ObjectTable;

    /* The code running now becomes the System process's first thread, on
     * the boot stack (not freed: StackPages 0). */
    if (!NT_SUCCESS(ObCreateObject(PsThreadType, sizeof(ETHREAD), (PVOID *)&PspBootThread)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 2, 0, 0, 0);
    ObReferenceObject(PsInitialSystemProcess);
    KiInitializeThread(&PspBootThread->Tcb, &PsInitialSystemProcess->Pcb, BootStackBase,
                       BootStackLimit, 8, FALSE);
    PspBootThread->Cid.UniqueProcess = (HANDLE)4;
    PspBootThread->Cid.UniqueThread = PspAllocateId();
    InsertTailList(&PsInitialSystemProcess->Pcb.ThreadListHead, &PspBootThread->Tcb.ThreadListEntry);
    PsInitialSystemProcess->Pcb.ThreadCount++;

    PETHREAD Idle;
    if (!NT_SUCCESS(PspCreateThreadObject(PsIdleProcess, 0, PspIdleLoop, NULL, &Idle)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 3, 0, 0, 0);
    KiInitializeScheduler(&PspBootThread->Tcb, &Idle->Tcb);

    PETHREAD ZeroThread; /* runs for ever: nobody needs a handle */
    if (!NT_SUCCESS(PspCreateThreadObject(PsInitialSystemProcess, 0, MmZeroPageThread, NULL, &ZeroThread)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 4, 0, 0, 0);
    KIRQL OldIrql = KiAcquireDispatcherLock();
    KiReadyThread(&ZeroThread->Tcb);
    KiReleaseDispatcherLock(OldIrql);
}
