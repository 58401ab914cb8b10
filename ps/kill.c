/*
 * kill.c - how threads and processes end: PsExitCurrentThread, termination of
 * another thread or a whole process, and the reaper.
 *
 * When a process ends (its last thread exits, NtTerminateProcess, or an
 * exception in user mode), its object is signalled, and the reaper thread
 * closes its handle table and deletes its address space: every frame, page
 * table, VAD and handle it held goes back (the tests check the counters).
 *
 * Ending a thread: Ps records the exit status, releases the user stack and
 * takes the thread off its process's list; Ke (KeTerminateThread) signals
 * the thread and, for the last thread, the process, and switches away.
 * Ending another thread: Ps marks it (ETHREAD.Terminating) and Ke queues
 * it NT's exit APC (KeAlertThreadForTermination), which makes a system
 * service it waits in unwind; the thread leaves itself at its next return
 * toward user mode (KiCheckUserReturn).
 *
 * Locking: PspProcessLock (ps/psmgr.c) for the flags and lists Ps keeps;
 * PspReaperLock for the reaper's list alone, since the scheduler adds to
 * it. The rundown (handle table, address space) runs in the reaper at
 * PASSIVE_LEVEL with no lock held, after waiting for the services that
 * hold the process's rundown protection (EPROCESS.RundownProtect,
 * PsAcquireProcessExitSynchronization): a service on another process
 * never sees its table or address space freed under it.
 */
#include "psp.h"
#include "../include/intrin.h"
#include "../mm/mm.h"
#include "../io/io.h"
#include "../rtl/rtl.h"
#include "../include/ntapi.h"

/* ------------------------------------------------------------------------
 * The reaper: a system thread that finishes off dead threads and ended
 * processes at PASSIVE_LEVEL, off the dying thread's stack.
 * ------------------------------------------------------------------------ */
static LIST_ENTRY PspReaperList;
static KSPIN_LOCK PspReaperLock;
static KEVENT PspReaperEvent;

/* Called by the scheduler right after switching away from a thread that
 * ended (DISPATCH_LEVEL, interrupts disabled). */
void PsInsertDeadThread(PKTHREAD Thread)
{
    KeAcquireSpinLockAtDpcLevel(&PspReaperLock);
    InsertTailList(&PspReaperList, &((PETHREAD)Thread)->ReaperLink);
    KeReleaseSpinLockFromDpcLevel(&PspReaperLock);
    KeSetEvent(&PspReaperEvent, 0, FALSE);
}

NTSTATUS PsAcquireProcessExitSynchronization(PEPROCESS Process)
{
    return ExAcquireRundownProtection(&Process->RundownProtect) ? STATUS_SUCCESS
                                                               : STATUS_PROCESS_IS_TERMINATING;
}

void PsReleaseProcessExitSynchronization(PEPROCESS Process)
{
    ExReleaseRundownProtection(&Process->RundownProtect);
}

void PspProcessRundown(PEPROCESS Process)
{
    /* Once: RundownDone under the process lock. Then wait until no service
     * uses the table or the address space (they hold RundownProtect; from
     * now on nobody new can), detach both under the process lock, so the
     * queries that read them at DISPATCH_LEVEL see either all of it or
     * nothing, and free them. */
    KIRQL OldIrql;
    KeAcquireSpinLock(&PspProcessLock, &OldIrql);
    if (Process->RundownDone) {
        KeReleaseSpinLock(&PspProcessLock, OldIrql);
        return;
    }
    Process->RundownDone = TRUE;
    KeReleaseSpinLock(&PspProcessLock, OldIrql);
    ExWaitForRundownProtectionRelease(&Process->RundownProtect);

    KeAcquireSpinLock(&PspProcessLock, &OldIrql);
    PHANDLE_TABLE Table = Process->ObjectTable;
    Process->ObjectTable = NULL;
    PMMADDRESS_SPACE Space = Process->OwnsAddressSpace ? Process->Pcb.AddressSpace : NULL;
    Process->OwnsAddressSpace = FALSE;
    Process->Pcb.AddressSpace = NULL;
    KeReleaseSpinLock(&PspProcessLock, OldIrql);
    if (Table)
        ObDestroyHandleTable(Table);
    if (Space)
        MmDeleteProcessAddressSpace(Space);
}

static void PspReaperThread(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    for (;;) {
        KeWaitForSingleObject(&PspReaperEvent, Executive, KernelMode, FALSE, NULL);
        for (;;) {
            KIRQL OldIrql;
            KeAcquireSpinLock(&PspReaperLock, &OldIrql);
            if (IsListEmpty(&PspReaperList)) {
                KeReleaseSpinLock(&PspReaperLock, OldIrql);
                break;
            }
            PETHREAD Thread = CONTAINING_RECORD(RemoveHeadList(&PspReaperList), ETHREAD, ReaperLink);
            KeReleaseSpinLock(&PspReaperLock, OldIrql);
            PEPROCESS Process = CONTAINING_RECORD(Thread->Tcb.Process, EPROCESS, Pcb);
            if (Process->Pcb.ThreadCount == 0 && Process != PsInitialSystemProcess)
                PspProcessRundown(Process);
            ObDereferenceObject(Thread);
        }
    }
}

void PsInitializeReaper(void)
{
    HANDLE Handle;
    InitializeListHead(&PspReaperList);
    KeInitializeSpinLock(&PspReaperLock);
    KeInitializeEvent(&PspReaperEvent, SynchronizationEvent, FALSE);
    if (!NT_SUCCESS(PsCreateSystemThread(&Handle, THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                         PspReaperThread, NULL)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 0x4EA, 0, 0, 0);
    PETHREAD Reaper;
    if (NT_SUCCESS(PsReferenceThreadByHandle(Handle, KernelMode, &Reaper))) {
        KeSetPriorityThread(&Reaper->Tcb, 16);
        ObDereferenceObject(Reaper);
    }
    ZwClose(Handle);
}

/* ------------------------------------------------------------------------
 * Ending threads and processes
 * ------------------------------------------------------------------------ */

/* The calling thread ends with ExitStatus. Never returns. */
__attribute__((noreturn)) void PsExitCurrentThread(NTSTATUS ExitStatus)
{
    PETHREAD Thread = (PETHREAD)KeGetCurrentThread();
    PEPROCESS Process = CONTAINING_RECORD(Thread->Tcb.Process, EPROCESS, Pcb);

    /* Its pending I/O requests are cancelled and completed first, while it
     * can still run their completion APCs (io/iocomp.c). */
    if (!IsListEmpty(&Thread->IrpList)) {
        if (KeGetCurrentIrql() == PASSIVE_LEVEL)
            _enable();
        IoCancelThreadIo(Thread);
    }

    /* A user thread's stack goes with it (the process's last thread's goes
     * with the address space anyway). The program may have released it
     * already with NtFreeVirtualMemory (this thread, another, or another
     * process through a handle): then the release fails, and that is no
     * concern of the kernel's. NOTE: a reservation the program made at the
     * same address since then is released instead; only the process
     * suffers. */
    if (Thread->UserThread && Thread->UserStackReserve && Process->Pcb.AddressSpace &&
        KeGetCurrentIrql() == PASSIVE_LEVEL) {
        _enable();
        NTSTATUS Status = MmReleaseUserRange(Process->Pcb.AddressSpace,
                                             (PVOID)Thread->UserStackReserve);
        UNREFERENCED_PARAMETER(Status); /* STATUS_MEMORY_NOT_ALLOCATED if it was */
        Thread->UserStackReserve = 0;
    }

    /* The status, and for the last thread the process's, before Ke wakes
     * whoever waits for either. */
    KeRaiseIrqlToDpcLevel(); /* for good: the thread ends at DISPATCH_LEVEL */
    KeAcquireSpinLockAtDpcLevel(&PspProcessLock);
    Thread->Terminating = TRUE;
    Thread->ExitStatus = ExitStatus;
    RemoveEntryList(&Thread->ThreadListEntry);
    if (IsListEmpty(&Process->ThreadListHead) && Process->ExitStatus == STATUS_PENDING &&
        Process != PsInitialSystemProcess)
        Process->ExitStatus = ExitStatus;
    KeReleaseSpinLockFromDpcLevel(&PspProcessLock);
    KeTerminateThread();
}

void PspRequestThreadTermination(PETHREAD Thread, NTSTATUS ExitStatus)
{
    if (Thread->Terminating)
        return;
    Thread->Terminating = TRUE;
    Thread->ExitStatus = ExitStatus;
    KeAlertThreadForTermination(&Thread->Tcb);
}

/*
 * Make every thread of Process leave (the caller's own thread last, if it
 * is one of them). Each gets the exit APC (PspRequestThreadTermination):
 * threads in user mode leave at their next kernel entry (the clock
 * interrupt reaches them within a tick); threads in a user-mode wait in a
 * system service are woken by the APC and leave once the service unwinds.
 */
void PspTerminateProcess(PEPROCESS Process, NTSTATUS ExitStatus)
{
    PETHREAD Self = (PETHREAD)KeGetCurrentThread();
    BOOLEAN Mine = FALSE;
    KIRQL OldIrql;
    KeAcquireSpinLock(&PspProcessLock, &OldIrql);
    if (!Process->Exiting) {
        Process->Exiting = TRUE;
        Process->ExitStatus = ExitStatus;
    }
    for (PLIST_ENTRY E = Process->ThreadListHead.Flink; E != &Process->ThreadListHead;
         E = E->Flink) {
        PETHREAD Thread = CONTAINING_RECORD(E, ETHREAD, ThreadListEntry);
        if (Thread == Self)
            Mine = TRUE;
        else
            PspRequestThreadTermination(Thread, ExitStatus);
    }
    KeReleaseSpinLock(&PspProcessLock, OldIrql);
    if (Mine)
        PsExitCurrentThread(ExitStatus);
}

/* ------------------------------------------------------------------------
 * The termination services
 * ------------------------------------------------------------------------ */

NTSTATUS NtTerminateProcess(HANDLE ProcessHandle, NTSTATUS ExitStatus)
{
    PEPROCESS Process;
    NTSTATUS Status = PsReferenceProcessByHandle(ProcessHandle, UserMode, &Process);
    if (!NT_SUCCESS(Status))
        return Status;
    if (Process == PsInitialSystemProcess || Process == PsIdleProcess) {
        ObDereferenceObject(Process);
        return STATUS_ACCESS_DENIED;
    }
    if (Process == PsGetCurrentProcess())
        ObDereferenceObject(Process); /* we will not come back to drop it */
    PspTerminateProcess(Process, ExitStatus);
    if (Process != PsGetCurrentProcess())
        ObDereferenceObject(Process);
    return STATUS_SUCCESS;
}

NTSTATUS NtTerminateThread(HANDLE ThreadHandle, NTSTATUS ExitStatus)
{
    PETHREAD Thread;
    NTSTATUS Status = PsReferenceThreadByHandle(ThreadHandle, UserMode, &Thread);
    if (!NT_SUCCESS(Status))
        return Status;
    if (!Thread->UserThread) {
        ObDereferenceObject(Thread);
        return STATUS_ACCESS_DENIED;
    }
    if (Thread == (PETHREAD)KeGetCurrentThread()) {
        ObDereferenceObject(Thread);
        PsExitCurrentThread(ExitStatus);
    }
    KIRQL OldIrql;
    KeAcquireSpinLock(&PspProcessLock, &OldIrql);
    PspRequestThreadTermination(Thread, ExitStatus);
    KeReleaseSpinLock(&PspProcessLock, OldIrql);
    ObDereferenceObject(Thread);
    return STATUS_SUCCESS;
}

