/*
 * psmgr.c - processes and threads as objects: the Idle (PID 0) and System
 * (PID 4) processes, PsCreateSystemThread, and the deletion of a thread's
 * stack once it can no longer be running on it.
 *
 * Life of a system thread:
 *   PsCreateSystemThread: ETHREAD object (reference 1: the thread's own),
 *     a kernel stack with a guard page, KeInitThread; a handle for the
 *     caller (reference 2); PspStartThread (its process's lists, then
 *     KeReadyThread).
 *   PspSystemThreadStartup (called by Ke's KiThreadStartup at
 *     PASSIVE_LEVEL): StartRoutine(StartContext).
 *   PsTerminateSystemThread: PsExitCurrentThread (ps/kill.c), then Ke's
 *     KeTerminateThread: the object is signalled (waiters wake), the thread
 *     switches away for good; right after the switch it goes on the
 *     reaper's list (PsInsertDeadThread), and the reaper thread, at
 *     PASSIVE_LEVEL, drops the thread's own reference.
 *   ZwClose of the last handle: the last reference; the delete procedure
 *     frees the stack, then the object goes back to the pool.
 *
 * Locking: PspProcessLock, a spin lock (DISPATCH_LEVEL), for the process
 * list, each process's thread list and Exiting/ExitStatus/rundown fields,
 * and each thread's Terminating/ExitStatus. Thread states and KPROCESS's
 * lists belong to Ke, which changes them under its dispatcher lock; the
 * order is PspProcessLock, then the dispatcher lock.
 */
#include "psp.h"
#include "../include/intrin.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"
#include "../include/ntapi.h"

static OBJECT_TYPE PspProcessType, PspThreadType;
POBJECT_TYPE PsProcessType = &PspProcessType;
POBJECT_TYPE PsThreadType = &PspThreadType;
PEPROCESS PsIdleProcess;
PEPROCESS PsInitialSystemProcess;
LIST_ENTRY PsActiveProcessHead;
KSPIN_LOCK PspProcessLock;
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
    KIRQL OldIrql;
    KeAcquireSpinLock(&PspProcessLock, &OldIrql);
    RemoveEntryList(&Process->ActiveProcessLinks);
    KeReleaseSpinLock(&PspProcessLock, OldIrql);
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
    Process->Pcb.Header.Size = KE_DISPATCHER_SIZE(KPROCESS);
    InitializeListHead(&Process->Pcb.Header.WaitListHead);
    InitializeListHead(&Process->Pcb.ThreadListHead);
    InitializeListHead(&Process->ThreadListHead);
    Process->Pcb.AddressSpace = AddressSpace;
    Process->Pcb.DirectoryTableBase = AddressSpace->DirectoryTableBase;
    Process->Pcb.BasePriority = 8;
    Process->UniqueProcessId = Id;
    Process->ExitStatus = STATUS_PENDING;
    ExInitializeRundownProtection(&Process->RundownProtect);
    RtlStringCopy(Process->ImageFileName, Name, sizeof(Process->ImageFileName));
    Status = ObCreateHandleTable(&Process->ObjectTable);
    if (!NT_SUCCESS(Status)) {
        InitializeListHead(&Process->ActiveProcessLinks);
        ObDereferenceObject(Process);
        return Status;
    }
    KIRQL OldIrql;
    KeAcquireSpinLock(&PspProcessLock, &OldIrql);
    InsertTailList(&PsActiveProcessHead, &Process->ActiveProcessLinks);
    KeReleaseSpinLock(&PspProcessLock, OldIrql);
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

/* Ke's first run of every thread Ps creates: the thread's StartRoutine
 * at PASSIVE_LEVEL, then the end of the thread. */
static void PspSystemThreadStartup(PVOID Context)
{
    PETHREAD Thread = Context;
    Thread->StartRoutine(Thread->StartContext);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

/* An ETHREAD with a fresh stack, on no list, not yet started. References
 * Process. */
NTSTATUS PspCreateThreadObject(PEPROCESS Process, KPRIORITY Priority, PKSTART_ROUTINE StartRoutine,
                               PVOID StartContext, PETHREAD *Result)
{
    PETHREAD Thread;
    NTSTATUS Status = ObCreateObject(PsThreadType, sizeof(ETHREAD), (PVOID *)&Thread);
    if (!NT_SUCCESS(Status))
        return Status;
    ObReferenceObject(Process);           /* the thread's; PspDeleteThread drops it */
    Thread->Tcb.Process = &Process->Pcb;
    InitializeListHead(&Thread->IrpList);
    PVOID StackBase = MmCreateKernelStack(PS_KERNEL_STACK_PAGES);
    if (!StackBase) {
        ObDereferenceObject(Thread);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    Thread->StackPages = PS_KERNEL_STACK_PAGES;
    KeInitThread(&Thread->Tcb, &Process->Pcb, StackBase,
                 (PUCHAR)StackBase - PS_KERNEL_STACK_PAGES * PAGE_SIZE, Priority,
                 PspSystemThreadStartup, Thread);
    Thread->Cid.UniqueProcess = Process->UniqueProcessId;
    Thread->Cid.UniqueThread = PspAllocateId();
    Thread->StartRoutine = StartRoutine;
    Thread->StartContext = StartContext;
    *Result = Thread;
    return STATUS_SUCCESS;
}

/* Undo PspCreateThreadObject for a thread that was never started. */
void PspAbandonThread(PETHREAD Thread)
{
    ObDereferenceObject(Thread);
}

/* Thread joins its process: on the process's lists (Ps's and Ke's). In a
 * process that is being terminated it is told to end at once, so it ends
 * before it reaches user mode. A process that has ended (its last thread
 * is gone and set its exit status) takes no new thread: the reaper may be
 * tearing down its address space (STATUS_PROCESS_IS_TERMINATING). */
static NTSTATUS PspInsertThread(PETHREAD Thread)
{
    PEPROCESS Process = CONTAINING_RECORD(Thread->Tcb.Process, EPROCESS, Pcb);
    KIRQL OldIrql;
    KeAcquireSpinLock(&PspProcessLock, &OldIrql);
    if (IsListEmpty(&Process->ThreadListHead) &&
        (Process->ExitStatus != STATUS_PENDING || Process->RundownDone)) {
        KeReleaseSpinLock(&PspProcessLock, OldIrql);
        return STATUS_PROCESS_IS_TERMINATING;
    }
    InsertTailList(&Process->ThreadListHead, &Thread->ThreadListEntry);
    KeStartThread(&Thread->Tcb);
    if (Process->Exiting)
        PspRequestThreadTermination(Thread, Process->ExitStatus);
    KeReleaseSpinLock(&PspProcessLock, OldIrql);
    return STATUS_SUCCESS;
}

NTSTATUS PspStartThread(PETHREAD Thread)
{
    NTSTATUS Status = PspInsertThread(Thread);
    if (NT_SUCCESS(Status))
        KeReadyThread(&Thread->Tcb);
    return Status;
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
    Status = PspStartThread(Thread);
    if (!NT_SUCCESS(Status)) {
        /* The process ended meanwhile: the handle's reference and the
         * thread's own go, and with them the thread. */
        NTSTATUS CloseStatus = ZwClose(*ThreadHandle);
        ASSERT(NT_SUCCESS(CloseStatus));
        UNREFERENCED_PARAMETER(CloseStatus);
        *ThreadHandle = NULL;
        PspAbandonThread(Thread);
        return Status;
    }
    if (ClientId)
        *ClientId = Thread->Cid;
    return STATUS_SUCCESS;
}

NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus)
{
    ASSERT(!((PETHREAD)KeGetCurrentThread())->UserThread);
    PsExitCurrentThread(ExitStatus);
}

/* The idle thread: halt until an interrupt (KeIdleHalt also counts the
 * time halted); the way out of the interrupt switches to whatever it made
 * ready. */
static void PspIdleLoop(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    for (;;)
        KeIdleHalt();
}

static ETHREAD *PspBootThread;

void PsInitializeSystem(PVOID BootStackBase, PVOID BootStackLimit)
{
    InitializeListHead(&PsActiveProcessHead);
    KeInitializeSpinLock(&PspProcessLock);
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
    InitializeListHead(&PspBootThread->IrpList);
    KeInitThread(&PspBootThread->Tcb, &PsInitialSystemProcess->Pcb, BootStackBase, BootStackLimit,
                 8, NULL, NULL);
    PspBootThread->Cid.UniqueProcess = (HANDLE)4;
    PspBootThread->Cid.UniqueThread = PspAllocateId();
    if (!NT_SUCCESS(PspInsertThread(PspBootThread)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 2, 1, 0, 0);

    PETHREAD Idle;
    if (!NT_SUCCESS(PspCreateThreadObject(PsIdleProcess, 0, PspIdleLoop, NULL, &Idle)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 3, 0, 0, 0);
    if (!NT_SUCCESS(PspInsertThread(Idle)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 3, 1, 0, 0);
    KeInitializeScheduler(&PspBootThread->Tcb, &Idle->Tcb);

    PETHREAD ZeroThread; /* runs for ever: nobody needs a handle */
    if (!NT_SUCCESS(PspCreateThreadObject(PsInitialSystemProcess, 0, MmZeroPageThread, NULL, &ZeroThread)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 4, 0, 0, 0);
    if (!NT_SUCCESS(PspStartThread(ZeroThread)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 4, 1, 0, 0);

    /* The working-set manager (mm/wsmgr.c). It raises itself to NT's 16
     * on its first run: started above the boot thread, it would run before
     * interrupts are enabled. */
    PETHREAD WsThread;
    if (!NT_SUCCESS(
            PspCreateThreadObject(PsInitialSystemProcess, 8, MmWorkingSetManager, NULL, &WsThread)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 5, 0, 0, 0);
    if (!NT_SUCCESS(PspStartThread(WsThread)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 5, 1, 0, 0);
}
