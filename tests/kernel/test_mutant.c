/*
 * test_mutant.c - mutants and semaphores (kernel/mutant.c,
 * kernel/semaphore.c) in waits, mixed with events, and priority boosts
 * (kernel/wait.c, kernel/sched.c), checked against NT's documented rules:
 *   - a mutant is recursive for its owner, and a release by anyone else is
 *     STATUS_MUTANT_NOT_OWNED (KeReleaseMutex: bugcheck
 *     THREAD_NOT_MUTEX_OWNER);
 *   - a mutant whose owner ends is abandoned: the next wait that takes it
 *     returns STATUS_ABANDONED_WAIT_0 + its index;
 *   - a kernel mutex puts its owner in a critical region;
 *   - a semaphore never passes its limit (STATUS_SEMAPHORE_LIMIT_EXCEEDED,
 *     KeReleaseSemaphore: bugcheck KMODE_EXCEPTION_NOT_HANDLED) and a
 *     release of n wakes at most n waiters;
 *   - WaitAll over a semaphore, a mutant and an event takes all at once;
 *   - a thread woken with an increment runs boosted, and the boost decays
 *     one level per quantum.
 * Every test checks nonpaged pool and kernel stacks against a baseline.
 */
#include "../../include/ktest.h"
#include "../../kernel/ki.h"
#include "../../ob/ob.h"
#include "../../ps/ps.h"
#include "../../mm/mm.h"
#include "ktbaseline.h"


static KMUTANT KtMutant;
static KMUTEX KtMutex;
static KSEMAPHORE KtSemaphore;
static KEVENT KtEvent;

/* A helper thread: runs Routine(Context), then ends. */
typedef struct _KT_HELPER {
    HANDLE Handle;
    PETHREAD Thread;
} KT_HELPER;

static NTSTATUS KtStartHelper(KT_HELPER *Helper, PKSTART_ROUTINE Routine, PVOID Context)
{
    NTSTATUS Status = PsCreateSystemThread(&Helper->Handle, 0, NULL, NULL, NULL, Routine,
                                           Context);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = PsReferenceThreadByHandle(Helper->Handle, KernelMode, &Helper->Thread);
    if (!NT_SUCCESS(Status)) {
        (void)ZwClose(Helper->Handle);
        Helper->Thread = NULL;
    }
    return Status;
}

static BOOLEAN KtJoinHelper(KT_HELPER *Helper)
{
    LARGE_INTEGER Timeout = {.QuadPart = KT_MS(3000)};
    if (Helper->Thread == NULL)
        return TRUE;
    if (KeWaitForSingleObject(&Helper->Thread->Tcb, Executive, KernelMode, FALSE, &Timeout) !=
        STATUS_SUCCESS)
        return FALSE;
    ObDereferenceObject(Helper->Thread);
    (void)ZwClose(Helper->Handle);
    Helper->Thread = NULL;
    return TRUE;
}

/* ------------------------------------------------------------------------
 * Mutants
 * ------------------------------------------------------------------------ */

KTEST(mutant, owner_acquires_recursively_and_releases_as_often)
{
    KT_BASELINE Before = KtBaseline();
    PKTHREAD Self = KeGetCurrentThread();
    LONG Previous = 99;

    KeInitializeMutant(&KtMutant, FALSE);
    KT_ASSERT_EQ(KeReadStateMutex(&KtMutant), 1);
    for (int I = 0; I < 3; I++)
        KT_ASSERT_EQ(KeWaitForSingleObject(&KtMutant, Executive, KernelMode, FALSE, NULL),
                     STATUS_SUCCESS);
    KT_ASSERT_EQ(KeReadStateMutex(&KtMutant), -2);
    KT_ASSERT_EQ(KtMutant.OwnerThread, Self);
    KT_ASSERT_EQ(KeReleaseMutant(&KtMutant, 0, FALSE, &Previous), STATUS_SUCCESS);
    KT_ASSERT_EQ(Previous, -2);
    KT_ASSERT_EQ(KeReleaseMutex(&KtMutant, FALSE), -1);
    KT_ASSERT_EQ(KtMutant.OwnerThread, Self);
    KT_ASSERT_EQ(KeReleaseMutex(&KtMutant, FALSE), 0);
    KT_ASSERT_EQ(KtMutant.OwnerThread, NULL);
    KT_ASSERT_EQ(KeReadStateMutex(&KtMutant), 1);
    /* Free now: a further release is by a non-owner. */
    KT_ASSERT_EQ(KeReleaseMutant(&KtMutant, 0, FALSE, NULL), STATUS_MUTANT_NOT_OWNED);
    KT_ASSERT_EQ(KeReadStateMutex(&KtMutant), 1);
    KT_ASSERT_BASELINE(Before);
}

static KEVENT KtHelperGo;
static volatile NTSTATUS KtHelperStatus;

/* Take KtMutant and end without releasing it (or, with KtHelperGo set
 * first, wait for it to be released to us). */
static void KtOwnAndExit(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KtHelperStatus = KeWaitForSingleObject(&KtMutant, Executive, KernelMode, FALSE, NULL);
    KeWaitForSingleObject(&KtHelperGo, Executive, KernelMode, FALSE, NULL);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

KTEST(mutant, release_by_non_owner_is_refused)
{
    KT_HELPER Helper = {0};
    KT_BASELINE Before = KtBaseline();

    KeInitializeMutant(&KtMutant, FALSE);
    KeInitializeEvent(&KtHelperGo, NotificationEvent, FALSE);
    NTSTATUS Started = KtStartHelper(&Helper, KtOwnAndExit, NULL);
    KtSleepMs(5);
    NTSTATUS Release = KeReleaseMutant(&KtMutant, 0, FALSE, NULL);
    LONG State = KeReadStateMutex(&KtMutant);
    KeSetEvent(&KtHelperGo, 0, FALSE);
    BOOLEAN Joined = KtJoinHelper(&Helper);
    KT_ASSERT_EQ(Started, STATUS_SUCCESS);
    KT_ASSERT(Joined);
    KT_ASSERT_EQ(Release, STATUS_MUTANT_NOT_OWNED);
    KT_ASSERT_EQ(State, 0);
    KT_ASSERT_EQ(KtHelperStatus, STATUS_SUCCESS);
    KT_ASSERT_BASELINE(Before);
}

KTEST(mutant, abandoned_when_owner_exits_next_waiter_told)
{
    KT_HELPER Helper = {0};
    KT_BASELINE Before = KtBaseline();
    PVOID Objects[2] = {&KtEvent, &KtMutant};

    KeInitializeMutant(&KtMutant, FALSE);
    KeInitializeEvent(&KtEvent, NotificationEvent, FALSE);
    KeInitializeEvent(&KtHelperGo, NotificationEvent, FALSE);
    NTSTATUS Started = KtStartHelper(&Helper, KtOwnAndExit, NULL);
    KtSleepMs(5);
    PKTHREAD Owner = KtMutant.OwnerThread;
    KeSetEvent(&KtHelperGo, 0, FALSE);              /* it ends, owning the mutant */
    BOOLEAN Joined = KtJoinHelper(&Helper);
    BOOLEAN AbandonedFlag = KtMutant.Abandoned;
    /* The next wait to take it hears of the abandonment, once. */
    NTSTATUS First = KeWaitForMultipleObjects(2, Objects, WaitAny, Executive, KernelMode, FALSE,
                                              NULL, NULL);
    PKTHREAD NewOwner = KtMutant.OwnerThread;
    (void)KeReleaseMutex(&KtMutant, FALSE);
    NTSTATUS Second = KeWaitForSingleObject(&KtMutant, Executive, KernelMode, FALSE, NULL);
    (void)KeReleaseMutex(&KtMutant, FALSE);

    KT_ASSERT_EQ(Started, STATUS_SUCCESS);
    KT_ASSERT(Joined);
    KT_ASSERT(Owner != NULL && Owner != KeGetCurrentThread());
    KT_ASSERT(AbandonedFlag);
    KT_ASSERT_EQ(First, STATUS_ABANDONED_WAIT_0 + 1);
    KT_ASSERT_EQ(NewOwner, KeGetCurrentThread());
    KT_ASSERT_EQ(Second, STATUS_SUCCESS);
    KT_ASSERT_BASELINE(Before);
}

KTEST(mutant, waiter_blocked_on_abandoned_mutant_gets_abandoned_status)
{
    KT_BASELINE Before = KtBaseline();
    KT_HELPER Helper = {0};
    LARGE_INTEGER Timeout = {.QuadPart = KT_MS(2000)};

    KeInitializeMutant(&KtMutant, FALSE);
    KeInitializeEvent(&KtHelperGo, NotificationEvent, FALSE);
    NTSTATUS Started = KtStartHelper(&Helper, KtOwnAndExit, NULL);
    KtSleepMs(5);
    /* The owner ends once we block on the mutant. */
    KeSetEvent(&KtHelperGo, 0, FALSE);
    NTSTATUS Status = KeWaitForSingleObject(&KtMutant, Executive, KernelMode, FALSE, &Timeout);
    if (Status == STATUS_ABANDONED_WAIT_0 || Status == STATUS_SUCCESS)
        (void)KeReleaseMutex(&KtMutant, FALSE);
    BOOLEAN Joined = KtJoinHelper(&Helper);
    KT_ASSERT_EQ(Started, STATUS_SUCCESS);
    KT_ASSERT(Joined);
    KT_ASSERT_EQ(Status, STATUS_ABANDONED_WAIT_0);
    KT_ASSERT_BASELINE(Before);
}

KTEST(mutant, kernel_mutex_owner_is_in_a_critical_region)
{
    KT_BASELINE Before = KtBaseline();
    KeInitializeMutex(&KtMutex, 0);
    KT_ASSERT(!KeAreApcsDisabled());
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtMutex, Executive, KernelMode, FALSE, NULL),
                 STATUS_SUCCESS);
    BOOLEAN Disabled = KeAreApcsDisabled();
    (void)KeReleaseMutex(&KtMutex, FALSE);
    KT_ASSERT(Disabled);
    KT_ASSERT(!KeAreApcsDisabled());
    KT_ASSERT_BASELINE(Before);
}

KTEST_BUGCHECK(mutant, release_mutex_by_non_owner_bugchecks, THREAD_NOT_MUTEX_OWNER)
{
    KeInitializeMutex(&KtMutex, 0);
    (void)KeReleaseMutex(&KtMutex, FALSE);
}

/* ------------------------------------------------------------------------
 * Semaphores
 * ------------------------------------------------------------------------ */

KTEST(semaphore, limit_is_never_passed)
{
    KT_BASELINE Before = KtBaseline();
    LARGE_INTEGER Zero = {.QuadPart = 0};
    LONG Previous = 99;

    KeInitializeSemaphore(&KtSemaphore, 0, 2);
    KT_ASSERT_EQ(KeReleaseSemaphore(&KtSemaphore, 0, 2, FALSE), 0);
    KT_ASSERT_EQ(KeReleaseSemaphoreChecked(&KtSemaphore, 0, 1, &Previous),
                 STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    KT_ASSERT_EQ(Previous, 99);                          /* not written */
    KT_ASSERT_EQ(KeReadStateSemaphore(&KtSemaphore), 2);
    KT_ASSERT_EQ(KeReleaseSemaphoreChecked(&KtSemaphore, 0, 0x7FFFFFFF, NULL),
                 STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtSemaphore, Executive, KernelMode, FALSE, &Zero),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtSemaphore, Executive, KernelMode, FALSE, &Zero),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtSemaphore, Executive, KernelMode, FALSE, &Zero),
                 STATUS_TIMEOUT);
    KT_ASSERT_EQ(KeReadStateSemaphore(&KtSemaphore), 0);
    KT_ASSERT_BASELINE(Before);
}

KTEST_BUGCHECK(semaphore, release_past_limit_bugchecks, KMODE_EXCEPTION_NOT_HANDLED)
{
    KeInitializeSemaphore(&KtSemaphore, 1, 1);
    (void)KeReleaseSemaphore(&KtSemaphore, 0, 1, FALSE);
}

#define KT_SEM_WAITERS 3
static volatile LONG KtSemWoken;

static void KtSemaphoreWaiter(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    if (KeWaitForSingleObject(&KtSemaphore, Executive, KernelMode, FALSE, NULL) == STATUS_SUCCESS)
        __atomic_add_fetch(&KtSemWoken, 1, __ATOMIC_SEQ_CST);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

KTEST(semaphore, release_of_n_wakes_n_waiters)
{
    KT_HELPER Helpers[KT_SEM_WAITERS] = {0};
    KT_BASELINE Before = KtBaseline();
    NTSTATUS Started = STATUS_SUCCESS;

    KtSemWoken = 0;
    KeInitializeSemaphore(&KtSemaphore, 0, 10);
    for (int I = 0; I < KT_SEM_WAITERS && NT_SUCCESS(Started); I++)
        Started = KtStartHelper(&Helpers[I], KtSemaphoreWaiter, NULL);
    KtSleepMs(10);
    LONG WokenBefore = KtSemWoken;
    (void)KeReleaseSemaphore(&KtSemaphore, 0, 2, FALSE);
    KtSleepMs(10);
    LONG WokenAfterTwo = KtSemWoken;
    LONG CountAfterTwo = KeReadStateSemaphore(&KtSemaphore);
    (void)KeReleaseSemaphore(&KtSemaphore, 0, 1, FALSE);
    BOOLEAN Joined = TRUE;
    for (int I = 0; I < KT_SEM_WAITERS; I++)
        Joined &= KtJoinHelper(&Helpers[I]);
    KT_ASSERT_EQ(Started, STATUS_SUCCESS);
    KT_ASSERT(Joined);
    KT_ASSERT_EQ(WokenBefore, 0);
    KT_ASSERT_EQ(WokenAfterTwo, 2);
    KT_ASSERT_EQ(CountAfterTwo, 0);
    KT_ASSERT_EQ(KtSemWoken, 3);
    KT_ASSERT_BASELINE(Before);
}

KTEST(semaphore, wait_all_takes_semaphore_mutant_and_event_together)
{
    KT_BASELINE Before = KtBaseline();
    LARGE_INTEGER Zero = {.QuadPart = 0};
    PVOID Objects[3] = {&KtSemaphore, &KtMutant, &KtEvent};

    KeInitializeSemaphore(&KtSemaphore, 1, 5);
    KeInitializeMutant(&KtMutant, FALSE);
    KeInitializeEvent(&KtEvent, SynchronizationEvent, FALSE);
    /* The event is not signalled: nothing is taken. */
    KT_ASSERT_EQ(KeWaitForMultipleObjects(3, Objects, WaitAll, Executive, KernelMode, FALSE,
                                          &Zero, NULL),
                 STATUS_TIMEOUT);
    KT_ASSERT_EQ(KeReadStateSemaphore(&KtSemaphore), 1);
    KT_ASSERT_EQ(KeReadStateMutex(&KtMutant), 1);
    KeSetEvent(&KtEvent, 0, FALSE);
    KT_ASSERT_EQ(KeWaitForMultipleObjects(3, Objects, WaitAll, Executive, KernelMode, FALSE,
                                          &Zero, NULL),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KeReadStateSemaphore(&KtSemaphore), 0);
    KT_ASSERT_EQ(KtMutant.OwnerThread, KeGetCurrentThread());
    KT_ASSERT_EQ(KeReadStateEvent(&KtEvent), 0);
    /* WaitAny: the semaphore is empty, the mutant is ours (recursive). */
    KT_ASSERT_EQ(KeWaitForMultipleObjects(3, Objects, WaitAny, Executive, KernelMode, FALSE,
                                          &Zero, NULL),
                 STATUS_WAIT_0 + 1);
    KT_ASSERT_EQ(KeReadStateMutex(&KtMutant), -1);
    (void)KeReleaseMutex(&KtMutant, FALSE);
    (void)KeReleaseMutex(&KtMutant, FALSE);
    KT_ASSERT_EQ(KeReadStateMutex(&KtMutant), 1);
    KT_ASSERT_BASELINE(Before);
}

/* ------------------------------------------------------------------------
 * Priority boosts
 * ------------------------------------------------------------------------ */

static volatile KPRIORITY KtBoostSeen[3];

/* Waits at base 8; records its priority when woken, then after using up
 * one quantum, then after a second. */
static void KtBoostedThread(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    PKTHREAD Self = KeGetCurrentThread();
    (void)KeWaitForSingleObject(&KtEvent, Executive, KernelMode, FALSE, NULL);
    KtBoostSeen[0] = KeQueryPriorityThread(Self);
    for (int Quantum = 1; Quantum <= 2; Quantum++) {
        ULONG64 Start = KeQueryTickCount();
        while (KeQueryTickCount() - Start < KI_QUANTUM_TICKS + 1)
            __asm__ volatile("pause");
        KtBoostSeen[Quantum] = KeQueryPriorityThread(Self);
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

KTEST(boost, set_event_boosts_then_decays_one_level_per_quantum)
{
    KT_HELPER Helper = {0};
    KT_BASELINE Before = KtBaseline();

    KeInitializeEvent(&KtEvent, SynchronizationEvent, FALSE);
    KtBoostSeen[0] = KtBoostSeen[1] = KtBoostSeen[2] = -1;
    NTSTATUS Started = KtStartHelper(&Helper, KtBoostedThread, NULL);
    KtSleepMs(5);
    KPRIORITY Base = Helper.Thread ? Helper.Thread->Tcb.BasePriority : 0;
    (void)KeSetEvent(&KtEvent, 2, FALSE);
    BOOLEAN Joined = KtJoinHelper(&Helper);
    KT_ASSERT_EQ(Started, STATUS_SUCCESS);
    KT_ASSERT(Joined);
    KT_ASSERT(Base < LOW_REALTIME_PRIORITY - 2);
    KT_ASSERT_EQ(KtBoostSeen[0], Base + 2);
    KT_ASSERT_EQ(KtBoostSeen[1], Base + 1);
    KT_ASSERT_EQ(KtBoostSeen[2], Base);
    KT_ASSERT_BASELINE(Before);
}

KTEST(boost, no_increment_no_boost)
{
    KT_BASELINE Before = KtBaseline();
    KT_HELPER Helper = {0};

    KeInitializeEvent(&KtEvent, SynchronizationEvent, FALSE);
    KtBoostSeen[0] = -1;
    NTSTATUS Started = KtStartHelper(&Helper, KtBoostedThread, NULL);
    KtSleepMs(5);
    KPRIORITY Base = Helper.Thread ? Helper.Thread->Tcb.BasePriority : 0;
    (void)KeSetEvent(&KtEvent, 0, FALSE);
    BOOLEAN Joined = KtJoinHelper(&Helper);
    KT_ASSERT_EQ(Started, STATUS_SUCCESS);
    KT_ASSERT(Joined);
    KT_ASSERT_EQ(KtBoostSeen[0], Base);
    KT_ASSERT_BASELINE(Before);
}

/*
 * The demo of docs/scheduling.md: a consumer that keeps up because of its
 * boost. A periodic timer's DPC stands for a device: every millisecond it
 * completes one item by releasing a semaphore of limit 6 - with Increment
 * IO_SERIAL_INCREMENT (2, what a serial port's completion passes) or 0. A
 * consumer thread waits on the semaphore and takes the items; a hog thread
 * of the same base priority spins meanwhile. Boosted, the consumer runs at
 * 10 the moment an item arrives and preempts the hog (8): every item is
 * taken within the tick. (The limit leaves room for a burst of clock ticks
 * that QEMU delivers back to back on a busy host.)
 * Not boosted, it waits for the hog's quantum to end (10 ticks): the
 * semaphore fills up and the device has to drop items.
 * A boost lifts a thread within the dynamic range (1-15) only: the
 * real-time system threads - the working-set manager (16) and the modified
 * page writer (17), busy in the 32 MiB boot - still outrank the consumer,
 * as in NT. So the test counts, for each dropped item, the priority of the
 * thread the device's DPC interrupted, and the boosted run must drop none
 * while a thread below LOW_REALTIME_PRIORITY ran.
 */
#define KT_DEMO_ITEMS 60
#define KT_DEMO_LIMIT 6

static KSEMAPHORE KtDemoItems;
static KTIMER KtDemoTimer;
static KDPC KtDemoDpc;
static volatile LONG KtDemoIncrement, KtDemoProduced, KtDemoDropped, KtDemoConsumed;
static volatile BOOLEAN KtDemoStop;
/* For each dropped item, the priority of the thread the device's DPC
 * interrupted: who kept the consumer from running. */
static volatile LONG KtDemoDroppedUnder[32];

static void KtDemoDevice(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);
    if (KtDemoProduced >= KT_DEMO_ITEMS)
        return;
    KtDemoProduced++;
    if (KeReleaseSemaphoreChecked(&KtDemoItems, KtDemoIncrement, 1, NULL) != STATUS_SUCCESS) {
        KtDemoDropped++;
        KtDemoDroppedUnder[KeGetCurrentThread()->Priority & 31]++;
    }
}

static void KtDemoConsumer(PVOID Context)
{
    LARGE_INTEGER Timeout = {.QuadPart = KT_MS(5)};
    UNREFERENCED_PARAMETER(Context);
    while (!KtDemoStop)
        if (KeWaitForSingleObject(&KtDemoItems, Executive, KernelMode, FALSE, &Timeout) ==
            STATUS_SUCCESS)
            KtDemoConsumed++;
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void KtDemoHog(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    while (KtDemoProduced < KT_DEMO_ITEMS)
        __asm__ volatile("pause");
    PsTerminateSystemThread(STATUS_SUCCESS);
}

/* One run: returns the items dropped while no real-time thread ran. */
static LONG KtDemoRun(LONG Increment, BOOLEAN *Ok)
{
    KT_HELPER Consumer = {0}, Hog = {0};
    LARGE_INTEGER Due = {.QuadPart = KT_MS(1)};

    KtDemoIncrement = Increment;
    KtDemoProduced = KtDemoDropped = KtDemoConsumed = 0;
    KtDemoStop = FALSE;
    for (ULONG Priority = 0; Priority < 32; Priority++)
        KtDemoDroppedUnder[Priority] = 0;
    KeInitializeSemaphore(&KtDemoItems, 0, KT_DEMO_LIMIT);
    KeInitializeTimer(&KtDemoTimer);
    KeInitializeDpc(&KtDemoDpc, KtDemoDevice, NULL);
    *Ok = NT_SUCCESS(KtStartHelper(&Consumer, KtDemoConsumer, NULL)) &&
          NT_SUCCESS(KtStartHelper(&Hog, KtDemoHog, NULL));
    (void)KeSetTimerEx(&KtDemoTimer, Due, 1, &KtDemoDpc);
    *Ok &= KtJoinHelper(&Hog);
    (void)KeCancelTimer(&KtDemoTimer);
    (void)KeRemoveQueueDpc(&KtDemoDpc);
    KtDemoStop = TRUE;
    *Ok &= KtJoinHelper(&Consumer);
    DbgPrint("ktest: boost demo, increment %d: %d items, %d taken, %d dropped\n",
             (int)Increment, (int)KtDemoProduced, (int)KtDemoConsumed, (int)KtDemoDropped);
    LONG Dropped = 0;
    for (ULONG Priority = 0; Priority < 32; Priority++) {
        if (KtDemoDroppedUnder[Priority])
            DbgPrint("ktest:   %d dropped while a thread of priority %u ran\n",
                     (int)KtDemoDroppedUnder[Priority], Priority);
        if (Priority < LOW_REALTIME_PRIORITY)
            Dropped += KtDemoDroppedUnder[Priority];
    }
    return Dropped;
}

KTEST(boost, consumer_keeps_up_because_of_its_boost)
{
    KT_BASELINE Before = KtBaseline();
    BOOLEAN BoostedOk, PlainOk;

    LONG DroppedBoosted = KtDemoRun(IO_SERIAL_INCREMENT, &BoostedOk);
    LONG DroppedPlain = KtDemoRun(IO_NO_INCREMENT, &PlainOk);
    KT_ASSERT(BoostedOk && PlainOk);
    KT_ASSERT_EQ(DroppedBoosted, 0);
    KT_ASSERT(DroppedPlain > 0);
    KT_ASSERT_BASELINE(Before);
}
