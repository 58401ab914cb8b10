/*
 * test_dpc_timer.c - IRQL, DPCs, timers, spin locks and fast mutexes
 * (kernel/irql.c, dpc.c, timer.c, lock.c).
 *
 * Every test runs at PASSIVE_LEVEL with interrupts enabled and the clock
 * ticking (KI_CLOCK_HZ = 1000: one tick is 1 ms). Time is measured in
 * ticks, the unit the timers themselves use, so the bounds do not depend
 * on how fast QEMU runs.
 *
 * A test that fails must not leave a timer set or the IRQL raised: the
 * timers and DPCs are static (a stale one on a list still points to valid
 * memory), and each test observes first, cleans up, then asserts.
 */
#include "../../include/ktest.h"
#include "../../kernel/ki.h"
#include "../../ps/ps.h"
#include "ktdefer.h"

#define EFLAGS_IF (1ULL << 9)

/* What the test DPC routine saw. */
typedef struct _KT_DPC_RECORD {
    volatile LONG Count;
    volatile KIRQL Irql;                /* KeGetCurrentIrql() inside */
    volatile BOOLEAN RoutineActive;     /* KiPcr.DpcRoutineActive inside */
    volatile BOOLEAN InsertedInside; /* Dpc->DpcData != NULL inside */
    PVOID Argument1, Argument2;
    volatile ULONG64 Ticks[16];         /* KeQueryTickCount() at each run */
    volatile LONG Requeue;              /* queue itself again this many times */
} KT_DPC_RECORD, *PKT_DPC_RECORD;

static KT_DPC_RECORD KtRecord;
static KDPC KtDpc, KtDpc2, KtDpc3;
static KTIMER KtTimer;

static void KtResetRecord(void)
{
    KT_DPC_RECORD Zero = {0};
    KtRecord = Zero;
}

static void KtRecordDpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    PKT_DPC_RECORD Record = Context;
    LONG Index = Record->Count;

    if (Index < (LONG)ARRAYSIZE(Record->Ticks))
        Record->Ticks[Index] = KeQueryTickCount();
    Record->Irql = KeGetCurrentIrql();
    Record->RoutineActive = KiPcr.DpcRoutineActive;
    Record->InsertedInside = Dpc->DpcData != NULL;
    Record->Argument1 = Argument1;
    Record->Argument2 = Argument2;
    Record->Count = Index + 1;
    if (Record->Requeue > 0) {
        Record->Requeue--;
        KeInsertQueueDpc(Dpc, Argument1, Argument2);
    }
}

/*
 * Poll (PASSIVE_LEVEL, interrupts on) until *Counter reaches Target or
 * MaxTicks clock ticks have passed. Returns the ticks waited. The spin
 * bound stops a dead clock from hanging the run.
 */
static ULONG64 KtWaitFor(volatile LONG *Counter, LONG Target, ULONG64 MaxTicks)
{
    ULONG64 Start = KeQueryTickCount();
    ULONG64 Spins = 0;

    while (*Counter < Target && KeQueryTickCount() - Start < MaxTicks &&
           ++Spins < 4000000000ULL)
        __asm__ volatile("pause" ::: "memory");
    return KeQueryTickCount() - Start;
}

static void KtWaitTicks(ULONG64 Ticks)
{
    static volatile LONG Never;
    KtWaitFor(&Never, 1, Ticks);
}

/* The environment every test here assumes. */
static BOOLEAN KtClockRunning(void)
{
    return KeGetCurrentIrql() == PASSIVE_LEVEL && (__readeflags() & EFLAGS_IF) &&
           KtWaitFor(&KtRecord.Count, 0x7fffffff, 2) >= 2;
}

/* ------------------------------------------------------------------ IRQL */

KTEST(dpc, irql_raise_lower_order)
{
    KIRQL Old[4], Seen[7];

    Seen[0] = KeGetCurrentIrql();
    KeRaiseIrql(APC_LEVEL, &Old[0]);
    Seen[1] = KeGetCurrentIrql();
    KeRaiseIrql(DISPATCH_LEVEL, &Old[1]);
    Seen[2] = KeGetCurrentIrql();
    KeRaiseIrql(HIGH_LEVEL, &Old[2]);
    Seen[3] = KeGetCurrentIrql();
    KeLowerIrql(Old[2]);
    Seen[4] = KeGetCurrentIrql();
    KeLowerIrql(Old[1]);
    Seen[5] = KeGetCurrentIrql();
    KeLowerIrql(Old[0]);
    Seen[6] = KeGetCurrentIrql();

    KT_ASSERT_EQ(Seen[0], PASSIVE_LEVEL);
    KT_ASSERT_EQ(Old[0], PASSIVE_LEVEL);
    KT_ASSERT_EQ(Seen[1], APC_LEVEL);
    KT_ASSERT_EQ(Old[1], APC_LEVEL);
    KT_ASSERT_EQ(Seen[2], DISPATCH_LEVEL);
    KT_ASSERT_EQ(Old[2], DISPATCH_LEVEL);
    KT_ASSERT_EQ(Seen[3], HIGH_LEVEL);
    KT_ASSERT_EQ(Seen[4], DISPATCH_LEVEL);
    KT_ASSERT_EQ(Seen[5], APC_LEVEL);
    KT_ASSERT_EQ(Seen[6], PASSIVE_LEVEL);
}

KTEST(dpc, irql_raise_to_dpc_level_returns_old)
{
    KIRQL Old = KeRaiseIrqlToDpcLevel();
    KIRQL Seen = KeGetCurrentIrql();
    KeLowerIrql(Old);

    KT_ASSERT_EQ(Old, PASSIVE_LEVEL);
    KT_ASSERT_EQ(Seen, DISPATCH_LEVEL);
    KT_ASSERT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

KTEST_BUGCHECK(dpc, irql_raise_below_current_bugchecks, IRQL_NOT_GREATER_OR_EQUAL)
{
    KIRQL Old, Ignored;
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    KeRaiseIrql(APC_LEVEL, &Ignored);
}

/* ------------------------------------------------------------------ DPCs */

KTEST(dpc, queued_at_dispatch_runs_when_irql_drops)
{
    KIRQL Old;
    BOOLEAN First, Second;
    LONG CountAtDispatch, CountAfter;
    ULONG64 DpcsRun = KeSchedulerCounters.DpcsRun;

    KtResetRecord();
    KeInitializeDpc(&KtDpc, KtRecordDpc, &KtRecord);
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    First = KeInsertQueueDpc(&KtDpc, (PVOID)0x11, (PVOID)0x22);
    Second = KeInsertQueueDpc(&KtDpc, (PVOID)0x33, (PVOID)0x44);
    KtWaitTicks(2);                     /* clock interrupts come and go meanwhile */
    CountAtDispatch = KtRecord.Count;
    KeLowerIrql(Old);
    CountAfter = KtRecord.Count;

    KT_ASSERT(First);
    KT_ASSERT(!Second);                 /* already queued */
    KT_ASSERT_EQ(CountAtDispatch, 0);   /* held back at DISPATCH_LEVEL */
    KT_ASSERT_EQ(CountAfter, 1);        /* ran once, as the IRQL dropped */
    KT_ASSERT_EQ(KtRecord.Irql, DISPATCH_LEVEL);
    KT_ASSERT(KtRecord.RoutineActive);
    KT_ASSERT(!KtRecord.InsertedInside);
    KT_ASSERT_EQ(KtRecord.Argument1, 0x11);   /* the second insert changed nothing */
    KT_ASSERT_EQ(KtRecord.Argument2, 0x22);
    KT_ASSERT(KtDpc.DpcData == NULL);
    KT_ASSERT(KeSchedulerCounters.DpcsRun >= DpcsRun + 1);
    KT_ASSERT(!KiPcr.DpcRoutineActive);

    /* Nothing left over: it does not run again. */
    KtWaitTicks(3);
    KT_ASSERT_EQ(KtRecord.Count, 1);
}

KTEST(dpc, queued_at_passive_runs_before_insert_returns)
{
    BOOLEAN Inserted;

    KtResetRecord();
    KeInitializeDpc(&KtDpc, KtRecordDpc, &KtRecord);
    Inserted = KeInsertQueueDpc(&KtDpc, NULL, NULL);

    KT_ASSERT(Inserted);
    KT_ASSERT_EQ(KtRecord.Count, 1);
    KT_ASSERT_EQ(KtRecord.Irql, DISPATCH_LEVEL);
    KT_ASSERT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_ASSERT(KtDpc.DpcData == NULL);
}

KTEST(dpc, remove_queue_dpc)
{
    KIRQL Old;
    BOOLEAN Inserted, Removed, RemovedAgain, RemovedIdle;

    KtResetRecord();
    KeInitializeDpc(&KtDpc, KtRecordDpc, &KtRecord);
    RemovedIdle = KeRemoveQueueDpc(&KtDpc);
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    Inserted = KeInsertQueueDpc(&KtDpc, NULL, NULL);
    Removed = KeRemoveQueueDpc(&KtDpc);
    RemovedAgain = KeRemoveQueueDpc(&KtDpc);
    KeLowerIrql(Old);

    KT_ASSERT(!RemovedIdle);
    KT_ASSERT(Inserted);
    KT_ASSERT(Removed);
    KT_ASSERT(!RemovedAgain);
    KT_ASSERT_EQ(KtRecord.Count, 0);    /* removed before it could run */

    /* It can be queued again afterwards, and then runs. */
    KT_ASSERT(KeInsertQueueDpc(&KtDpc, NULL, NULL));
    KT_ASSERT_EQ(KtRecord.Count, 1);
}

static LONG KtOrder[3];
static volatile LONG KtOrderCount;

static void KtOrderDpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    if (KtOrderCount < 3)
        KtOrder[KtOrderCount] = (LONG)(ULONG_PTR)Context;
    KtOrderCount++;
}

KTEST(dpc, queue_is_fifo)
{
    KIRQL Old;
    ULONG Depth;

    KtOrderCount = 0;
    KeInitializeDpc(&KtDpc, KtOrderDpc, (PVOID)1);
    KeInitializeDpc(&KtDpc2, KtOrderDpc, (PVOID)2);
    KeInitializeDpc(&KtDpc3, KtOrderDpc, (PVOID)3);
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    Depth = KiPcr.Prcb.DpcQueueDepth;
    KeInsertQueueDpc(&KtDpc, NULL, NULL);
    KeInsertQueueDpc(&KtDpc2, NULL, NULL);
    KeInsertQueueDpc(&KtDpc3, NULL, NULL);
    /* Only our three: an expiring timer could add its own DPC meanwhile. */
    BOOLEAN DepthGrew = KiPcr.Prcb.DpcQueueDepth >= Depth + 3;
    KeLowerIrql(Old);

    KT_ASSERT(DepthGrew);
    KT_ASSERT_EQ(KtOrderCount, 3);
    KT_ASSERT_EQ(KtOrder[0], 1);
    KT_ASSERT_EQ(KtOrder[1], 2);
    KT_ASSERT_EQ(KtOrder[2], 3);
    KT_ASSERT_EQ(KiPcr.Prcb.DpcQueueDepth, 0);
    KT_ASSERT(!KiPcr.DpcInterruptRequested);
}

KTEST(dpc, routine_may_requeue_itself)
{
    KIRQL Old;

    KtResetRecord();
    KtRecord.Requeue = 4;
    KeInitializeDpc(&KtDpc, KtRecordDpc, &KtRecord);
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    KeInsertQueueDpc(&KtDpc, NULL, NULL);
    KeLowerIrql(Old);

    /* One drain ran it 1 + 4 times: Inserted is clear while it runs. */
    KT_ASSERT_EQ(KtRecord.Count, 5);
    KT_ASSERT(KtDpc.DpcData == NULL);
}

/* ---------------------------------------------------------------- timers */

KTEST(timer, one_shot_fires_once_in_time)
{
    LARGE_INTEGER Due = {.QuadPart = KT_MS(20)};
    BOOLEAN WasSet, StateBefore, StateAfter, CancelAfter;
    ULONG64 Start, DueTime;
    LONG CountLater;

    KtResetRecord();
    KT_ASSERT(KtClockRunning());
    KeInitializeTimer(&KtTimer);
    KeInitializeDpc(&KtDpc, KtRecordDpc, &KtRecord);

    Start = KeQueryTickCount();
    DueTime = KeQueryInterruptTime() + 200000;
    WasSet = KeSetTimer(&KtTimer, Due, &KtDpc);
    StateBefore = KeReadStateTimer(&KtTimer);
    KtWaitFor(&KtRecord.Count, 1, 200);
    StateAfter = KeReadStateTimer(&KtTimer);
    KtWaitTicks(30);
    CountLater = KtRecord.Count;
    CancelAfter = KeCancelTimer(&KtTimer);

    KT_ASSERT(!WasSet);
    KT_ASSERT(!StateBefore);
    KT_ASSERT_EQ(KtRecord.Count, 1);
    KT_ASSERT(StateAfter);
    KT_ASSERT_EQ(KtRecord.Irql, DISPATCH_LEVEL);
    /* Due 20 ms (20 ticks) after it was set: not before, and not much
     * later. */
    KT_ASSERT(KtRecord.Ticks[0] - Start >= 19);
    KT_ASSERT(KtRecord.Ticks[0] - Start <= 40);
    /* SystemArgument1: the low part of the interrupt time at expiry. */
    KT_ASSERT((ULONG)((ULONG)(ULONG_PTR)KtRecord.Argument1 - (ULONG)DueTime) < 0x80000000UL);
    KT_ASSERT_EQ(CountLater, 1);        /* one-shot */
    KT_ASSERT(!CancelAfter);            /* expired: nothing to cancel */
    KT_ASSERT(KeReadStateTimer(&KtTimer));
}

KTEST(timer, absolute_due_time)
{
    LARGE_INTEGER Due;
    ULONG64 Start;

    KtResetRecord();
    KT_ASSERT(KtClockRunning());
    KeInitializeTimer(&KtTimer);
    KeInitializeDpc(&KtDpc, KtRecordDpc, &KtRecord);

    Start = KeQueryTickCount();
    Due.QuadPart = (LONG64)(KeQueryInterruptTime() + 10 * 10000);
    KeSetTimer(&KtTimer, Due, &KtDpc);
    KtWaitFor(&KtRecord.Count, 1, 200);
    KeCancelTimer(&KtTimer);

    KT_ASSERT_EQ(KtRecord.Count, 1);
    KT_ASSERT(KtRecord.Ticks[0] - Start >= 9);
    KT_ASSERT(KtRecord.Ticks[0] - Start <= 30);
}

KTEST(timer, periodic_fires_about_period_apart)
{
    LARGE_INTEGER Due = {.QuadPart = KT_MS(10)};
    LONG Count, CountAfterCancel;
    BOOLEAN Cancelled;

    KtResetRecord();
    KT_ASSERT(KtClockRunning());
    KeInitializeTimer(&KtTimer);
    KeInitializeDpc(&KtDpc, KtRecordDpc, &KtRecord);

    KeSetTimerEx(&KtTimer, Due, 10, &KtDpc);
    KtWaitTicks(55);                    /* about 5 periods */
    Cancelled = KeCancelTimer(&KtTimer);
    Count = KtRecord.Count;
    KtWaitTicks(25);
    CountAfterCancel = KtRecord.Count;

    KT_ASSERT(Cancelled);               /* a periodic timer stays set */
    KT_ASSERT(Count >= 3);
    KT_ASSERT(Count <= 6);
    KT_ASSERT_EQ(CountAfterCancel, Count);
    for (LONG i = 1; i < Count && i < (LONG)ARRAYSIZE(KtRecord.Ticks); i++) {
        ULONG64 Gap = KtRecord.Ticks[i] - KtRecord.Ticks[i - 1];
        KT_ASSERT(Gap >= 5 && Gap <= 20);
    }
    KT_ASSERT((KtRecord.Ticks[Count - 1] - KtRecord.Ticks[0]) / (ULONG64)(Count - 1) >= 8);
    KT_ASSERT((KtRecord.Ticks[Count - 1] - KtRecord.Ticks[0]) / (ULONG64)(Count - 1) <= 13);
}

KTEST(timer, cancel_before_expiry_never_fires)
{
    LARGE_INTEGER Due = {.QuadPart = KT_MS(20)};
    BOOLEAN WasSet, Cancelled, CancelledAgain;

    KtResetRecord();
    KT_ASSERT(KtClockRunning());
    KeInitializeTimer(&KtTimer);
    KeInitializeDpc(&KtDpc, KtRecordDpc, &KtRecord);

    WasSet = KeSetTimer(&KtTimer, Due, &KtDpc);
    Cancelled = KeCancelTimer(&KtTimer);
    CancelledAgain = KeCancelTimer(&KtTimer);
    KtWaitTicks(40);

    KT_ASSERT(!WasSet);
    KT_ASSERT(Cancelled);
    KT_ASSERT(!CancelledAgain);
    KT_ASSERT_EQ(KtRecord.Count, 0);
    KT_ASSERT(!KeReadStateTimer(&KtTimer));
}

KTEST(timer, set_again_replaces_due_time)
{
    LARGE_INTEGER Late = {.QuadPart = KT_MS(500)}, Soon = {.QuadPart = KT_MS(10)};
    BOOLEAN FirstWasSet, SecondWasSet, StillSet;
    ULONG64 Start;
    LONG CountLater;

    KtResetRecord();
    KT_ASSERT(KtClockRunning());
    KeInitializeTimer(&KtTimer);
    KeInitializeDpc(&KtDpc, KtRecordDpc, &KtRecord);

    FirstWasSet = KeSetTimer(&KtTimer, Late, &KtDpc);
    Start = KeQueryTickCount();
    SecondWasSet = KeSetTimer(&KtTimer, Soon, &KtDpc);
    KtWaitFor(&KtRecord.Count, 1, 100);
    KtWaitTicks(20);
    CountLater = KtRecord.Count;
    StillSet = KeCancelTimer(&KtTimer);

    KT_ASSERT(!FirstWasSet);
    KT_ASSERT(SecondWasSet);            /* it was in the timer list */
    KT_ASSERT_EQ(CountLater, 1);        /* once, at the new time */
    KT_ASSERT(KtRecord.Ticks[0] - Start <= 30);
    KT_ASSERT(!StillSet);               /* the 500 ms setting is gone */
}

KTEST(timer, set_clears_signal_state)
{
    LARGE_INTEGER Soon = {.QuadPart = KT_MS(2)}, Late = {.QuadPart = KT_MS(500)};
    BOOLEAN Fired, StateAfterSet;

    KtResetRecord();
    KT_ASSERT(KtClockRunning());
    KeInitializeTimer(&KtTimer);
    KeInitializeDpc(&KtDpc, KtRecordDpc, &KtRecord);

    KeSetTimer(&KtTimer, Soon, &KtDpc);
    KtWaitFor(&KtRecord.Count, 1, 100);
    Fired = KeReadStateTimer(&KtTimer);
    KeSetTimer(&KtTimer, Late, NULL);
    StateAfterSet = KeReadStateTimer(&KtTimer);
    KeCancelTimer(&KtTimer);

    KT_ASSERT(Fired);
    KT_ASSERT(!StateAfterSet);
}

KTEST(timer, many_timers_expire_in_due_order)
{
    static KTIMER Timers[3];
    static KDPC Dpcs[3];
    static const LONG DueMs[3] = {15, 5, 10};
    LARGE_INTEGER Due;

    KtOrderCount = 0;
    KT_ASSERT(KtClockRunning());
    for (LONG i = 0; i < 3; i++) {
        KeInitializeTimer(&Timers[i]);
        KeInitializeDpc(&Dpcs[i], KtOrderDpc, (PVOID)(ULONG_PTR)DueMs[i]);
        Due.QuadPart = KT_MS(DueMs[i]);
        KeSetTimer(&Timers[i], Due, &Dpcs[i]);
    }
    KtWaitFor(&KtOrderCount, 3, 200);
    for (LONG i = 0; i < 3; i++)
        KeCancelTimer(&Timers[i]);

    KT_ASSERT_EQ(KtOrderCount, 3);
    KT_ASSERT_EQ(KtOrder[0], 5);
    KT_ASSERT_EQ(KtOrder[1], 10);
    KT_ASSERT_EQ(KtOrder[2], 15);
}

/* The timer as a dispatcher object (with kernel/wait.c). */
KTEST(timer, wait_on_timer_object)
{
    LARGE_INTEGER Due = {.QuadPart = KT_MS(20)};
    NTSTATUS Status;
    ULONG64 Start, Elapsed;

    KT_ASSERT(KtClockRunning());
    KeInitializeTimer(&KtTimer);
    Start = KeQueryTickCount();
    KeSetTimer(&KtTimer, Due, NULL);
    Status = KeWaitForSingleObject(&KtTimer, Executive, KernelMode, FALSE, NULL);
    Elapsed = KeQueryTickCount() - Start;
    KeCancelTimer(&KtTimer);

    KT_ASSERT_EQ(Status, STATUS_SUCCESS);
    KT_ASSERT(Elapsed >= 19);
    KT_ASSERT(Elapsed <= 60);
    KT_ASSERT(KeReadStateTimer(&KtTimer));  /* a notification timer stays signalled */
}

KTEST(timer, synchronization_timer_resets_on_wait)
{
    LARGE_INTEGER Due = {.QuadPart = KT_MS(5)};
    NTSTATUS Status;

    KT_ASSERT(KtClockRunning());
    KeInitializeTimerEx(&KtTimer, SynchronizationTimer);
    KeSetTimer(&KtTimer, Due, NULL);
    Status = KeWaitForSingleObject(&KtTimer, Executive, KernelMode, FALSE, NULL);
    KeCancelTimer(&KtTimer);

    KT_ASSERT_EQ(Status, STATUS_SUCCESS);
    KT_ASSERT(!KeReadStateTimer(&KtTimer)); /* the wait consumed the signal */
}

/* A notification timer releases every thread waiting on it. */
static volatile LONG KtTimerWaitersDone;

static void KtTimerWaiter(PVOID Context)
{
    if (KeWaitForSingleObject(Context, Executive, KernelMode, FALSE, NULL) == STATUS_SUCCESS)
        __atomic_add_fetch(&KtTimerWaitersDone, 1, __ATOMIC_SEQ_CST);
}

KTEST(timer, notification_timer_releases_every_waiter)
{
    LARGE_INTEGER Due = {.QuadPart = KT_MS(30)};
    HANDLE Handles[2];
    NTSTATUS Created[2], Joined[2];
    LONG DoneBefore;

    KtTimerWaitersDone = 0;
    KT_ASSERT(KtClockRunning());
    KeInitializeTimer(&KtTimer);
    KeSetTimer(&KtTimer, Due, NULL);
    for (ULONG i = 0; i < 2; i++)
        Created[i] = PsCreateSystemThread(&Handles[i], 0, NULL, NULL, NULL, KtTimerWaiter,
                                          &KtTimer);
    /* Sleep (not poll) so that both threads run now and block on the timer. */
    LARGE_INTEGER Nap = {.QuadPart = KT_MS(5)};
    KeDelayExecutionThread(KernelMode, FALSE, &Nap);
    DoneBefore = KtTimerWaitersDone;
    for (ULONG i = 0; i < 2; i++)
        Joined[i] = NT_SUCCESS(Created[i]) ? KtJoinThread(Handles[i]) : Created[i];
    KeCancelTimer(&KtTimer);

    KT_ASSERT_EQ(Created[0], STATUS_SUCCESS);
    KT_ASSERT_EQ(Created[1], STATUS_SUCCESS);
    KT_ASSERT_EQ(DoneBefore, 0);
    KT_ASSERT_EQ(Joined[0], STATUS_SUCCESS);
    KT_ASSERT_EQ(Joined[1], STATUS_SUCCESS);
    KT_ASSERT_EQ(KtTimerWaitersDone, 2);
}

KTEST(timer, delay_execution_sleeps)
{
    LARGE_INTEGER Interval = {.QuadPart = KT_MS(20)};
    ULONG64 Start, Elapsed;
    NTSTATUS Status;

    KT_ASSERT(KtClockRunning());
    Start = KeQueryTickCount();
    Status = KeDelayExecutionThread(KernelMode, FALSE, &Interval);
    Elapsed = KeQueryTickCount() - Start;

    KT_ASSERT_EQ(Status, STATUS_SUCCESS);
    KT_ASSERT(Elapsed >= 19);
    KT_ASSERT(Elapsed <= 60);
}

KTEST(timer, query_time)
{
    ULONG64 Ticks = KeQueryTickCount(), Time = KeQueryInterruptTime();

    KT_ASSERT_EQ(KeQueryTimeIncrement(), 10000);     /* 1 ms */
    /* Read one after the other: at most a tick apart. */
    KT_ASSERT(Time / 10000 + 1 >= Ticks);
    KT_ASSERT(Ticks + 1 >= Time / 10000);
}

/* ------------------------------------------------------------ spin locks */

static KSPIN_LOCK KtLock;

KTEST(lock, spin_lock_raises_to_dispatch_and_restores)
{
    KIRQL Old, Inside, Old2, Inside2, AfterRelease2, Ignored;
    KSPIN_LOCK Word, WordAfter;

    KeInitializeSpinLock(&KtLock);
    KeAcquireSpinLock(&KtLock, &Old);
    Inside = KeGetCurrentIrql();
    Word = KtLock;
    KeReleaseSpinLock(&KtLock, Old);
    WordAfter = KtLock;

    /* From APC_LEVEL, it comes back to APC_LEVEL. */
    KeRaiseIrql(APC_LEVEL, &Ignored);
    KeAcquireSpinLock(&KtLock, &Old2);
    Inside2 = KeGetCurrentIrql();
    KeReleaseSpinLock(&KtLock, Old2);
    AfterRelease2 = KeGetCurrentIrql();
    KeLowerIrql(PASSIVE_LEVEL);

    KT_ASSERT_EQ(Old, PASSIVE_LEVEL);
    KT_ASSERT_EQ(Inside, DISPATCH_LEVEL);
    KT_ASSERT(Word != 0);
    KT_ASSERT_EQ(WordAfter, 0);
    KT_ASSERT_EQ(Old2, APC_LEVEL);
    KT_ASSERT_EQ(Inside2, DISPATCH_LEVEL);
    KT_ASSERT_EQ(AfterRelease2, APC_LEVEL);
    KT_ASSERT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

KTEST(lock, spin_lock_at_dpc_level_keeps_irql)
{
    KIRQL Old, Inside, After;

    KeInitializeSpinLock(&KtLock);
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    KeAcquireSpinLockAtDpcLevel(&KtLock);
    Inside = KeGetCurrentIrql();
    KeReleaseSpinLockFromDpcLevel(&KtLock);
    After = KeGetCurrentIrql();
    KeLowerIrql(Old);

    KT_ASSERT_EQ(Inside, DISPATCH_LEVEL);
    KT_ASSERT_EQ(After, DISPATCH_LEVEL);
    KT_ASSERT_EQ(KtLock, 0);
}

KTEST(lock, dpc_waits_for_spin_lock_release)
{
    KIRQL Old;
    LONG CountHeld;

    KtResetRecord();
    KeInitializeSpinLock(&KtLock);
    KeInitializeDpc(&KtDpc, KtRecordDpc, &KtRecord);
    KeAcquireSpinLock(&KtLock, &Old);
    KeInsertQueueDpc(&KtDpc, NULL, NULL);
    CountHeld = KtRecord.Count;
    KeReleaseSpinLock(&KtLock, Old);

    KT_ASSERT_EQ(CountHeld, 0);
    KT_ASSERT_EQ(KtRecord.Count, 1);
}

KTEST_BUGCHECK(lock, spin_lock_acquired_twice_bugchecks, SPIN_LOCK_ALREADY_OWNED)
{
    KIRQL Old, Old2;
    KeInitializeSpinLock(&KtLock);
    KeAcquireSpinLock(&KtLock, &Old);
    KeAcquireSpinLock(&KtLock, &Old2);
}

KTEST_BUGCHECK(lock, release_free_spin_lock_bugchecks, SPIN_LOCK_NOT_OWNED)
{
    KIRQL Old;
    KeInitializeSpinLock(&KtLock);
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    KeReleaseSpinLock(&KtLock, Old);
}

/* ---------------------------------------------------------- fast mutexes */

static FAST_MUTEX KtMutex;

KTEST(lock, fast_mutex_raises_to_apc_and_restores)
{
    KIRQL Inside, Inside2, After2, Ignored;
    PKTHREAD Owner;
    LONG Count;

    ExInitializeFastMutex(&KtMutex);
    KT_ASSERT_EQ(KtMutex.Count, 1);
    ExAcquireFastMutex(&KtMutex);
    Inside = KeGetCurrentIrql();
    Owner = KtMutex.Owner;
    Count = KtMutex.Count;
    ExReleaseFastMutex(&KtMutex);

    /* From APC_LEVEL it comes back to APC_LEVEL. */
    KeRaiseIrql(APC_LEVEL, &Ignored);
    ExAcquireFastMutex(&KtMutex);
    Inside2 = KeGetCurrentIrql();
    ExReleaseFastMutex(&KtMutex);
    After2 = KeGetCurrentIrql();
    KeLowerIrql(PASSIVE_LEVEL);

    KT_ASSERT_EQ(Inside, APC_LEVEL);
    KT_ASSERT(Owner == KeGetCurrentThread());
    KT_ASSERT_EQ(Count, 0);
    KT_ASSERT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_ASSERT_EQ(KtMutex.Count, 1);
    KT_ASSERT(KtMutex.Owner == NULL);
    KT_ASSERT_EQ(KtMutex.Contention, 0);
    KT_ASSERT_EQ(Inside2, APC_LEVEL);
    KT_ASSERT_EQ(After2, APC_LEVEL);
}

/*
 * The hand-off when a loser has decremented Count but not yet waited: the
 * release must signal the event, and the loser's wait then succeeds at
 * once. Staged by hand with one thread (the loser's decrement is ours).
 */
KTEST(lock, fast_mutex_release_signals_waiter)
{
    LARGE_INTEGER Zero = {.QuadPart = 0};
    LONG StateAfterRelease, CountAfterRelease;
    NTSTATUS Status;

    ExInitializeFastMutex(&KtMutex);
    ExAcquireFastMutex(&KtMutex);
    __atomic_sub_fetch(&KtMutex.Count, 1, __ATOMIC_SEQ_CST);   /* the "loser" */
    ExReleaseFastMutex(&KtMutex);
    StateAfterRelease = KeReadStateEvent(&KtMutex.Event);
    CountAfterRelease = KtMutex.Count;
    Status = KeWaitForSingleObject(&KtMutex.Event, WrExecutive, KernelMode, FALSE, &Zero);

    KT_ASSERT_EQ(StateAfterRelease, 1);
    KT_ASSERT_EQ(CountAfterRelease, 0);     /* the loser now owns it */
    KT_ASSERT_EQ(Status, STATUS_SUCCESS);
    KT_ASSERT_EQ(KeReadStateEvent(&KtMutex.Event), 0);  /* one waiter only */
}

/* Real contention: a second thread blocks in ExAcquireFastMutex until the
 * owner releases, then owns it at APC_LEVEL. */
static volatile LONG KtMutexWorkerState;   /* 1: trying, 2: owns it */
static volatile KIRQL KtMutexWorkerIrql;
static PKTHREAD volatile KtMutexWorkerOwner;

static KEVENT KtMutexWorkerGo;

static void KtMutexWorker(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeWaitForSingleObject(&KtMutexWorkerGo, Executive, KernelMode, FALSE, NULL);
    KtMutexWorkerState = 1;
    ExAcquireFastMutex(&KtMutex);
    KtMutexWorkerState = 2;
    KtMutexWorkerIrql = KeGetCurrentIrql();
    KtMutexWorkerOwner = KtMutex.Owner == KeGetCurrentThread() ? KtMutex.Owner : NULL;
    ExReleaseFastMutex(&KtMutex);
}

KTEST(lock, fast_mutex_contention_waits_and_hands_over)
{
    HANDLE Handle;
    NTSTATUS Created, Joined = STATUS_UNSUCCESSFUL;
    LONG StateWhileHeld = 0, CountWhileHeld = 0;
    ULONG Contention = 0;

    KtMutexWorkerState = 0;
    KtMutexWorkerOwner = NULL;
    KT_ASSERT(KtClockRunning());
    ExInitializeFastMutex(&KtMutex);
    KeInitializeEvent(&KtMutexWorkerGo, NotificationEvent, FALSE);
    /* Threads are created at PASSIVE_LEVEL: create the worker first, let it
     * go once we own the mutex. */
    Created = PsCreateSystemThread(&Handle, 0, NULL, NULL, NULL, KtMutexWorker, NULL);
    ExAcquireFastMutex(&KtMutex);
    KeSetEvent(&KtMutexWorkerGo, 0, FALSE);
    if (NT_SUCCESS(Created)) {
        /* Sleep (allowed at APC_LEVEL) so that the worker runs and blocks. */
        LARGE_INTEGER Nap = {.QuadPart = KT_MS(10)};
        KeDelayExecutionThread(KernelMode, FALSE, &Nap);
        StateWhileHeld = KtMutexWorkerState;
        CountWhileHeld = KtMutex.Count;
        Contention = KtMutex.Contention;
    }
    ExReleaseFastMutex(&KtMutex);
    if (NT_SUCCESS(Created))
        Joined = KtJoinThread(Handle);

    KT_ASSERT_EQ(Created, STATUS_SUCCESS);
    KT_ASSERT_EQ(StateWhileHeld, 1);        /* blocked in ExAcquireFastMutex */
    KT_ASSERT_EQ(CountWhileHeld, -1);       /* owned, one waiter */
    KT_ASSERT_EQ(Contention, 1);
    KT_ASSERT_EQ(Joined, STATUS_SUCCESS);
    KT_ASSERT_EQ(KtMutexWorkerState, 2);
    KT_ASSERT_EQ(KtMutexWorkerIrql, APC_LEVEL);
    KT_ASSERT(KtMutexWorkerOwner != NULL);
    KT_ASSERT_EQ(KtMutex.Count, 1);
    KT_ASSERT(KtMutex.Owner == NULL);
}

KTEST_BUGCHECK(lock, fast_mutex_release_by_non_owner_bugchecks, THREAD_NOT_MUTEX_OWNER)
{
    KIRQL Old;
    ExInitializeFastMutex(&KtMutex);
    KeRaiseIrql(APC_LEVEL, &Old);
    ExReleaseFastMutex(&KtMutex);       /* never acquired */
}
