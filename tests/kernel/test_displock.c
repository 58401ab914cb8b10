/*
 * test_displock.c - the dispatcher lock as a real spin lock (kernel/ki.h,
 * kernel/sched.c; docs/scheduling.md, "The dispatcher lock across a
 * switch"): free whenever a thread runs again, held by the outgoing thread
 * across a context switch and released by the incoming one, a second
 * acquire by its holder a bugcheck, and DPCs on another processor taking
 * it against the threads of the boot processor.
 */
#include "../../include/ktest.h"
#include "../../kernel/ki.h"
#include "ktdefer.h"

#define KT_NEEDS_TWO_PROCESSORS() \
    KT_SKIP_IF(KeNumberProcessors < 2, \
               "needs a second processor: the smp step runs it with " \
               "-smp 2 and -smp 4")

static LARGE_INTEGER KtMs(LONG Ms)
{
    LARGE_INTEGER T = {.QuadPart = -(LONGLONG)Ms * 10000};
    return T;
}

/* ------------------------------------------------------ the hand-off */

static KEVENT KtWake;
static PKTHREAD KtTester;
static volatile KSPIN_LOCK KtLockAtStart, KtOwnerAtStart, KtLockAfterSet;
static volatile LONG KtWorkerRan;

/* The worker's first instructions run right after the switch that
 * brought it in: the incoming side of the hand-off. */
static void KtHandoffWorker(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KtLockAtStart = KiDispatcherLock;
    KtOwnerAtStart = KeGetCurrentPrcb()->DispatcherLockHandoffOwner;
    KtWorkerRan = 1;
    /* Readies the tester, which outranks this thread: the release below
     * the set preempts this thread, holding the lock into the switch. */
    (void)KeSetEvent(&KtWake, 0, FALSE);
    KtLockAfterSet = KiDispatcherLock;
    PsTerminateSystemThread(STATUS_SUCCESS);
}

KTEST(dispatcher, lock_is_handed_over_by_the_switch_and_free_after_it)
{
    HANDLE Handle;
    PVOID Worker;
    PKPRCB Prcb = KeGetCurrentPrcb();
    LARGE_INTEGER Timeout = KtMs(2000);

    /* At 30, the worker at 29 above every other thread: the switches
     * below go straight from one of the two to the other. */
    KtDeferSetPriority(30);
    KtTester = KeGetCurrentThread();
    KtWorkerRan = 0;
    KtLockAtStart = KtOwnerAtStart = KtLockAfterSet = 0xBAD;
    KeInitializeEvent(&KtWake, SynchronizationEvent, FALSE);
    KT_ASSERT_STATUS(PsCreateSystemThread(&Handle, 0, NULL, NULL, NULL, KtHandoffWorker, NULL),
                     STATUS_SUCCESS);
    KtDeferJoinThread(Handle);
    KT_ASSERT_STATUS(ObReferenceObjectByHandle(Handle, 0, PsThreadType, KernelMode, &Worker, NULL),
                     STATUS_SUCCESS);
    KtDeferDereference(Worker);
    (void)KeSetPriorityThread(Worker, 29);
    KT_ASSERT_EQ(KtWorkerRan, 0);

    ULONG64 Before = Prcb->DispatcherLockHandoffs;
    NTSTATUS Status = KeWaitForSingleObject(&KtWake, Executive, KernelMode, FALSE, &Timeout);
    KSPIN_LOCK LockNow = KiDispatcherLock, Owner = Prcb->DispatcherLockHandoffOwner;
    ULONG64 Handoffs = Prcb->DispatcherLockHandoffs - Before;

    KT_ASSERT_STATUS(Status, STATUS_SUCCESS);
    KT_ASSERT_EQ(KtWorkerRan, 1);
    /* Into the worker: the tester held the lock across the swap (it
     * waited holding it), the worker found its word and released it. */
    KT_EXPECT_EQ(KtOwnerAtStart, (KSPIN_LOCK)KtTester | 1);
    KT_EXPECT_EQ(KtLockAtStart, 0);
    /* Back into the tester: the worker held it (preempted by its own
     * release, in KiDispatchPreempt), the tester released it. */
    KT_EXPECT_EQ(Owner, (KSPIN_LOCK)Worker | 1);
    KT_EXPECT_EQ(LockNow, 0);
    KT_EXPECT_EQ(Handoffs, 2);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    /* The worker has not run since it was preempted. */
    KT_EXPECT_EQ(KtLockAfterSet, 0xBAD);
}

KTEST(dispatcher, lock_is_free_after_every_kind_of_return)
{
    KEVENT Event;
    LARGE_INTEGER Zero = {.QuadPart = 0}, Short = KtMs(2);

    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    /* A poll (no switch), a timeout (a switch to whoever, and back on the
     * timer), a yield, a satisfied wait, a set with Wait = TRUE and its
     * wait: each returns with the lock free. */
    KT_EXPECT_EQ(KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, &Zero),
                 STATUS_TIMEOUT);
    KT_EXPECT_EQ(KiDispatcherLock, 0);
    KT_EXPECT_EQ(KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, &Short),
                 STATUS_TIMEOUT);
    KT_EXPECT_EQ(KiDispatcherLock, 0);
    (void)ZwYieldExecution();
    KT_EXPECT_EQ(KiDispatcherLock, 0);
    (void)KeSetEvent(&Event, 0, TRUE);
    KT_EXPECT_EQ(KiDispatcherLock, (KSPIN_LOCK)KeGetCurrentThread() | 1); /* kept for the wait */
    KT_EXPECT_EQ(KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    KT_EXPECT_EQ(KiDispatcherLock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

/* NT's contract: a signal with Wait = TRUE must be followed by the wait.
 * Another dispatcher call in between takes the lock its caller holds. */
KTEST_BUGCHECK(dispatcher, reset_between_a_wait_true_signal_and_its_wait, SPIN_LOCK_ALREADY_OWNED)
{
    static KEVENT Event;
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    (void)KeSetEvent(&Event, 0, TRUE);
    (void)KeResetEvent(&Event);
}

/* ------------------------------------------ DPCs on another processor */

/*
 * Processor 1, in one DPC, releases a semaphore KT_RELEASES times, one
 * unit at a time, while the test thread on the boot processor takes the
 * units one wait at a time, blocking whenever the count is 0: both sides
 * change the semaphore, its wait list and the test thread's state under
 * the dispatcher lock, from two processors at once. A race would lose a
 * unit (a wait times out) or corrupt the wait list.
 */
#define KT_RELEASES 2000
static KSEMAPHORE KtUnits;
static volatile LONG KtReleasesDone;
static volatile ULONG KtReleaserProcessor;
static volatile ULONG KtTaken;

static void KtReleaseUnits(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KtReleaserProcessor = KeGetCurrentProcessorNumber();
    for (LONG i = 0; i < KT_RELEASES; i++) {
        /* Mostly in step with the waiter, so that it often blocks and is
         * readied from here; bounded, so a lost unit ends the test. */
        for (ULONG Spin = 0; KtTaken < (ULONG)i && Spin < 1000000; Spin++)
            _mm_pause();
        (void)KeReleaseSemaphore(&KtUnits, 0, 1, FALSE);
        KtReleasesDone = i + 1;
    }
}

KTEST(smp, dpc_on_processor_1_and_waits_on_processor_0_share_the_dispatcher_lock)
{
    KT_NEEDS_TWO_PROCESSORS();
    static KDPC Dpc;
    LARGE_INTEGER Timeout = KtMs(5000);
    ULONG Blocked = 0;
    ULONG64 Contention = KiProcessorBlock[1]->SpinLockContentionCount;

    KeInitializeSemaphore(&KtUnits, 0, KT_RELEASES);
    KtReleasesDone = 0;
    KtTaken = 0;
    KtReleaserProcessor = ~0u;
    KeInitializeDpc(&Dpc, KtReleaseUnits, NULL);
    KeSetTargetProcessorDpc(&Dpc, 1);
    KT_ASSERT(KeInsertQueueDpc(&Dpc, NULL, NULL));
    while (KtTaken < KT_RELEASES) {
        Blocked += KeReadStateSemaphore(&KtUnits) == 0;
        if (KeWaitForSingleObject(&KtUnits, Executive, KernelMode, FALSE, &Timeout) !=
            STATUS_SUCCESS)
            break;
        KtTaken++;
    }

    KT_EXPECT_EQ(KtTaken, KT_RELEASES);
    KT_EXPECT_EQ(KtReleasesDone, KT_RELEASES);
    KT_EXPECT_EQ(KtReleaserProcessor, 1);
    KT_EXPECT_EQ(KeReadStateSemaphore(&KtUnits), 0);
    KT_EXPECT(IsListEmpty(&KtUnits.Header.WaitListHead));
    KT_EXPECT_EQ(KiDispatcherLock, 0);
    DbgPrint("  %u units, %u waits found none left, processor 1 found the lock taken %llu "
             "times\n",
             KtTaken, Blocked, KiProcessorBlock[1]->SpinLockContentionCount - Contention);
}
