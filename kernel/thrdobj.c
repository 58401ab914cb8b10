/*
 * thrdobj.c - the kernel's side of a thread's life, as the process manager
 * (ps/) uses it: set a thread up, add it to its process, make it ready,
 * let it enter user mode, ask it to leave, and end it.
 *
 *   KeInitThread          KTHREAD fields, and the initial frame that makes
 *                         its first switch land in KiStartThread (x64/swap.asm),
 *                         which calls KiThreadStartup
 *   KeStartThread         on its process's thread list (KPROCESS.ThreadCount)
 *   KeReadyThread         on the ready queues
 *   KiThreadStartup       first run: PASSIVE_LEVEL, then SystemRoutine(StartContext)
 *   KeEnterUserMode       a user thread's first entry into ring 3
 *   KeAlertThreadForTermination   queue it the exit APC
 *   KeTerminateThread     its mutants abandoned and its APCs run down
 *                         (KeRundownThread), the thread object signalled (and
 *                         the process's when it was the last), the thread
 *                         switches away for good, and the scheduler hands it
 *                         to Ps's reaper
 *
 * Ps keeps everything else (ETHREAD, exit status, its own lists, the
 * reaper); sched.c keeps the ready queues and the switch itself.
 *
 * Locking: thread states, KPROCESS thread lists and counts change under
 * the dispatcher lock (kernel/ki.h). A terminating thread switches away
 * holding it; the next thread releases it (kernel/sched.c).
 */
#include "ki.h"
#include "../rtl/rtl.h"
#include "../ps/ps.h"

void KeInitThread(PKTHREAD Thread, PKPROCESS Process, PVOID StackBase, PVOID StackLimit,
                  KPRIORITY Priority, PKSTART_ROUTINE SystemRoutine, PVOID StartContext)
{
    ASSERT(Priority >= LOW_PRIORITY && Priority <= HIGH_PRIORITY);
    Thread->SystemRoutine = SystemRoutine;
    Thread->StartContext = StartContext;
    KiInitializeThread(Thread, Process, StackBase, StackLimit, Priority, SystemRoutine != NULL);
}

void KeStartThread(PKTHREAD Thread)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    KIRQL OldIrql = KiAcquireDispatcherLock();
    ASSERT(Thread->State == Initialized);
    InsertTailList(&Thread->Process->ThreadListHead, &Thread->ThreadListEntry);
    Thread->Process->ThreadCount++;
    KiReleaseDispatcherLock(OldIrql);
}

void KeReadyThread(PKTHREAD Thread)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    KIRQL OldIrql = KiAcquireDispatcherLock();
    ASSERT(Thread->State == Initialized);
    KiReadyThread(Thread);
    KiReleaseDispatcherLock(OldIrql);
}

void KeInitializeScheduler(PKTHREAD BootThread, PKTHREAD IdleThread)
{
    KiInitializeScheduler(BootThread, IdleThread);
}

/* The first run of every new thread: KeInitThread's initial frame returns
 * here from the first KiSwapContext, at DISPATCH_LEVEL with interrupts
 * disabled, the dispatcher lock still held for the outgoing thread
 * (KiFinishSwitch releases it). */
void KiThreadStartup(void)
{
    KiFinishSwitch();
    KeLowerIrql(PASSIVE_LEVEL);
    _enable();
    PKTHREAD Thread = KeGetCurrentThread();
    Thread->SystemRoutine(Thread->StartContext);
    /* A system routine ends its thread itself (KeTerminateThread). */
    KeBugCheckEx(KERNEL_SECURITY_CHECK_FAILURE, 0x7E3, (ULONG_PTR)Thread,
                 (ULONG_PTR)Thread->SystemRoutine, 0);
}

void KeEnterUserMode(ULONG_PTR Entry, ULONG_PTR Parameter, ULONG_PTR StackPointer)
{
    KTRAP_FRAME Frame;

    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    memset(&Frame, 0, sizeof(Frame));
    Frame.Rip = Entry;
    Frame.Rdi = Parameter;
    Frame.Rsp = StackPointer;
    Frame.SegCs = KGDT64_R3_CODE | 3;
    Frame.SegSs = KGDT64_R3_DATA | 3;
    Frame.EFlags = EFLAGS_IF | 0x2; /* bit 1 is reserved and always set */
    KiCheckUserReturn();            /* it may have been told to end already */
    _disable();
    KiEnterUserMode(&Frame);
}

/*
 * The exit APC, a normal kernel APC as on NT. Its normal routine runs in
 * the thread being terminated, at PASSIVE_LEVEL, outside any critical
 * region (a thread holding a kernel mutex finishes with it first). It
 * does not end the thread on the spot - the thread may be deep in a system
 * service, holding references its frames will drop - but makes the
 * service unwind: its user-mode wait, current or next, ends with
 * STATUS_USER_APC (KeForceUserApcPending), the service returns, and the
 * way back to user mode sees the thread is terminating (KiCheckUserReturn).
 * A thread preempted in user mode runs the APC as its interrupt returns
 * and leaves the same way.
 */
static void KiExitSpecialApc(PKAPC Apc, PKNORMAL_ROUTINE *NormalRoutine, PVOID *NormalContext,
                             PVOID *SystemArgument1, PVOID *SystemArgument2)
{
    UNREFERENCED_PARAMETER(Apc);
    UNREFERENCED_PARAMETER(NormalRoutine);
    UNREFERENCED_PARAMETER(NormalContext);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
}

static void KiExitNormalApc(PVOID NormalContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    UNREFERENCED_PARAMETER(NormalContext);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    KeForceUserApcPending();
}

BOOLEAN KeAlertThreadForTermination(PKTHREAD Thread)
{
    BOOLEAN Queued = FALSE;

    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    KIRQL OldIrql = KiAcquireDispatcherLock();
    /* Queued at most once at a time; a thread that ends accepts no APC. */
    if (!Thread->TerminateApc.Inserted && Thread->ApcQueueable) {
        KeInitializeApc(&Thread->TerminateApc, Thread, OriginalApcEnvironment,
                        KiExitSpecialApc, NULL, KiExitNormalApc, KernelMode, NULL);
        Queued = KiInsertQueueApc(&Thread->TerminateApc, NULL, NULL, 0);
    }
    KiReleaseDispatcherLock(OldIrql);
    return Queued;
}

void KeTerminateThread(void)
{
    PKTHREAD Thread = KeGetCurrentThread();
    PKPROCESS Process = Thread->Process;

    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    /* Mutants it owns are abandoned, APCs still queued run down. */
    KeRundownThread();
    KiAcquireDispatcherLock(); /* released by the next thread, after the switch */
    RemoveEntryList(&Thread->ThreadListEntry);
    Thread->Header.SignalState = 1;
    KiWaitTest(&Thread->Header, 0);
    if (--Process->ThreadCount == 0) {
        Process->Header.SignalState = 1;
        KiWaitTest(&Process->Header, 0);
    }
    Thread->State = Terminated;
    KiSwapThread();
    KeBugCheckEx(KERNEL_SECURITY_CHECK_FAILURE, 0x7E1, (ULONG_PTR)Thread, 0, 0);
}
