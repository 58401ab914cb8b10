/*
 * timer.c - kernel timers (KTIMER) and the timer list.
 *
 * A KTIMER is a dispatcher object: threads can wait on it, and it becomes
 * signalled when its due time passes. It may also name a DPC to queue at
 * that moment, and a period to re-arm itself with.
 *
 * Time is the interrupt time (KiInterruptTime, kernel/interrupt.c): 100 ns
 * units since boot, advanced by KI_TIME_INCREMENT on every clock tick.
 * Timers therefore have the resolution of a tick (1 ms here).
 *
 * The timer list: every set timer is on KiTimerListHead, sorted by DueTime,
 * earliest first. NT hashes timers into a 256-entry timer table by due
 * time so that inserting one is O(1); a teaching kernel has a handful of
 * timers and keeps one sorted list (O(n) insertion, O(1) "is the first one
 * due?"), which is easier to print and to reason about.
 *
 * The life of a one-shot timer with a DPC, set at tick 100 for 20 ms:
 *
 *   tick 100  KeSetTimer(T, -200000, D)        (PASSIVE_LEVEL)
 *             dispatcher lock: T.DueTime = now + 200000, T.SignalState = 0,
 *             T inserted in the sorted list, KiNextTimerDueTime updated
 *   tick 101..119  KiCheckTimers: InterruptTime < KiNextTimerDueTime
 *   tick 120  clock ISR at CLOCK_LEVEL -> KiCheckTimers: due ->
 *             KeInsertQueueDpc(&KiTimerExpireDpc); nothing else
 *             ISR returns, IRQL drops, KiRetireDpcList at DISPATCH_LEVEL:
 *               KiTimerExpiration: T off the list, T.SignalState = 1,
 *               KiWaitTest(T) releases its waiters, D queued
 *               D's routine runs (same drain, after KiTimerExpiration)
 *   later     KeReadStateTimer(T) == TRUE until T is set again; a
 *             periodic timer is re-inserted at DueTime + Period instead
 *
 * Locking: the list and every KTIMER field are protected by the dispatcher
 * lock (a spin lock taken at DISPATCH_LEVEL). The clock ISR runs above
 * it and so must not walk the list; it reads only KiNextTimerDueTime, a
 * 64-bit copy of the first DueTime that the lock holders keep up to date
 * (an aligned 64-bit load cannot tear on x64). A stale value costs at most
 * one useless DPC or one tick of delay.
 */
#include "ki.h"

STATIC_ASSERT(sizeof(KTIMER) / sizeof(LONG) <= 0xFF);

static void KiTimerExpiration(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                              PVOID SystemArgument2);

/* Every set timer, sorted by DueTime. Dispatcher lock. Initialized
 * statically so that timers work before KiInitializeTimers runs. */
static LIST_ENTRY KiTimerListHead = {&KiTimerListHead, &KiTimerListHead};

/* DueTime of the first timer on the list, or ~0 when it is empty. Written
 * with the dispatcher lock held, read by the clock ISR without it. */
static volatile ULONG64 KiNextTimerDueTime = ~0ULL;

/* Queued by KiCheckTimers; runs KiTimerExpiration at DISPATCH_LEVEL. */
static KDPC KiTimerExpireDpc = {
    .Type = 0x13,
    .Importance = 1,
    .DeferredRoutine = KiTimerExpiration,
};

/* Milliseconds to 100 ns units. */
#define KI_MS_TO_100NS(Ms) ((ULONG64)(Ms) * 10000ULL)

static void KiUpdateNextTimerDueTime(void)
{
    if (IsListEmpty(&KiTimerListHead))
        KiNextTimerDueTime = ~0ULL;
    else
        KiNextTimerDueTime =
            CONTAINING_RECORD(KiTimerListHead.Flink, KTIMER, TimerListEntry)->DueTime;
}

/* Put Timer, whose DueTime is set, in its place in the sorted list: after
 * every timer due at the same time or earlier, so equal times expire in
 * the order they were set. Dispatcher lock held. */
static void KiLinkTimer(PKTIMER Timer)
{
    PLIST_ENTRY Entry = KiTimerListHead.Blink;

    /* Walk from the tail: a new timer is usually due after the others. */
    while (Entry != &KiTimerListHead &&
           CONTAINING_RECORD(Entry, KTIMER, TimerListEntry)->DueTime > Timer->DueTime)
        Entry = Entry->Blink;
    InsertHeadList(Entry, &Timer->TimerListEntry);   /* i.e. just after Entry */
    Timer->Inserted = TRUE;
    KiUpdateNextTimerDueTime();
}

/*
 * Initialize Timer as a NotificationTimer (stays signalled, releases every
 * waiter) or a SynchronizationTimer (releases one waiter and resets). It
 * starts not signalled and not set. Any IRQL; Timer in non-paged memory.
 */
void KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type)
{
    ASSERT(Type == NotificationTimer || Type == SynchronizationTimer);

    Timer->Header.Type = (UCHAR)(TimerNotificationObject + Type);
    Timer->Header.Inserted = FALSE;
    Timer->Header.Size = KE_DISPATCHER_SIZE(KTIMER);
    Timer->Header.SignalState = 0;
    InitializeListHead(&Timer->Header.WaitListHead);
    Timer->DueTime = 0;
    InitializeListHead(&Timer->TimerListEntry);
    Timer->Dpc = NULL;
    Timer->Period = 0;
    Timer->Inserted = FALSE;
}

/* KeInitializeTimerEx(Timer, NotificationTimer). */
void KeInitializeTimer(PKTIMER Timer)
{
    KeInitializeTimerEx(Timer, NotificationTimer);
}

/*
 * Set Timer to expire at DueTime (negative: that many 100 ns units from
 * now; positive: that interrupt time), then every Period milliseconds if
 * Period > 0, queueing Dpc (may be NULL) each time. If Timer was set, it
 * is cancelled first. Timer becomes not signalled. Returns TRUE if Timer
 * was on the timer list. Dispatcher lock held (DISPATCH_LEVEL). This is
 * KeSetTimerEx without the lock; the wait code uses it for the timeout of
 * a wait on the thread's own KTHREAD.Timer.
 */
BOOLEAN KiInsertTimer(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc)
{
    BOOLEAN WasSet;

    ASSERT(KeGetCurrentIrql() >= DISPATCH_LEVEL);
    ASSERT(Period >= 0);

    WasSet = KiRemoveTimer(Timer);
    if (DueTime.QuadPart < 0)
        Timer->DueTime = KiInterruptTime + (ULONG64)(-DueTime.QuadPart);
    else
        Timer->DueTime = (ULONG64)DueTime.QuadPart;
    Timer->Period = Period;
    Timer->Dpc = Dpc;
    Timer->Header.SignalState = 0;
    /* A due time already past is simply the first on the list: the next
     * clock tick expires it. */
    KiLinkTimer(Timer);
    return WasSet;
}

/*
 * Take Timer off the timer list. Returns TRUE if it was on it (set and not
 * yet expired, or periodic). Its signal state does not change. Dispatcher
 * lock held.
 */
BOOLEAN KiRemoveTimer(PKTIMER Timer)
{
    ASSERT(KeGetCurrentIrql() >= DISPATCH_LEVEL);

    if (!Timer->Inserted)
        return FALSE;
    RemoveEntryList(&Timer->TimerListEntry);
    InitializeListHead(&Timer->TimerListEntry);
    Timer->Inserted = FALSE;
    KiUpdateNextTimerDueTime();
    return TRUE;
}

/* KeSetTimerEx(Timer, DueTime, 0, Dpc). */
BOOLEAN KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc)
{
    return KeSetTimerEx(Timer, DueTime, 0, Dpc);
}

/*
 * Set Timer (see KiInsertTimer for DueTime, Period and Dpc). Returns TRUE
 * if it was already set - it is then cancelled and set anew, so its old
 * due time and DPC no longer apply (a DPC already queued still runs).
 * IRQL <= DISPATCH_LEVEL.
 */
BOOLEAN KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc)
{
    KIRQL OldIrql;
    BOOLEAN WasSet;

    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Period >= 0);

    OldIrql = KiAcquireDispatcherLock();
    WasSet = KiInsertTimer(Timer, DueTime, Period, Dpc);
    KiReleaseDispatcherLock(OldIrql);
    return WasSet;
}

/*
 * Cancel Timer. Returns TRUE if it was set (it will not expire now), FALSE
 * if it was not - never set, or expired already. Its signal state does not
 * change, and a DPC it queued already is not removed. IRQL <=
 * DISPATCH_LEVEL.
 */
BOOLEAN KeCancelTimer(PKTIMER Timer)
{
    KIRQL OldIrql;
    BOOLEAN WasSet;

    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);

    OldIrql = KiAcquireDispatcherLock();
    WasSet = KiRemoveTimer(Timer);
    KiReleaseDispatcherLock(OldIrql);
    return WasSet;
}

/* TRUE if Timer is signalled (it expired and was not set again since, nor
 * reset by a wait on a synchronization timer). Any IRQL. */
BOOLEAN KeReadStateTimer(PKTIMER Timer)
{
    return *(volatile LONG *)&Timer->Header.SignalState != 0;
}

/*
 * The clock interrupt's part, at CLOCK_LEVEL on every tick: if the first
 * timer is due at InterruptTime, queue the expiration DPC. Nothing else:
 * signalling objects and readying threads need the dispatcher lock, which
 * is below us.
 */
void KiCheckTimers(ULONG64 InterruptTime)
{
    ASSERT(KeGetCurrentIrql() >= DISPATCH_LEVEL);

    if (InterruptTime >= KiNextTimerDueTime)
        KeInsertQueueDpc(&KiTimerExpireDpc, NULL, NULL);
}

/*
 * The expiration DPC, at DISPATCH_LEVEL: expire every timer that is due.
 * For each: off the list, signalled, its waiters released (KiWaitTest),
 * its DPC queued with the interrupt time as arguments (it runs after this
 * routine, in the same drain of the DPC queue), and a periodic timer
 * re-inserted one period later.
 */
static void KiTimerExpiration(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                              PVOID SystemArgument2)
{
    KIRQL OldIrql;
    ULONG64 Now;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(DeferredContext);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);

    OldIrql = KiAcquireDispatcherLock();   /* we are at DISPATCH_LEVEL: a no-op raise */
    Now = KiInterruptTime;

    /* Always take the list's first entry afresh: KiWaitTest may end waits,
     * and ending a wait cancels that thread's timeout timer (KiRemoveTimer),
     * which may be the next entry. */
    while (!IsListEmpty(&KiTimerListHead)) {
        PKTIMER Timer = CONTAINING_RECORD(KiTimerListHead.Flink, KTIMER, TimerListEntry);

        if (Timer->DueTime > Now)
            break;
        KiRemoveTimer(Timer);

        /* Re-arm before signalling, so that a waiter released below finds
         * the timer set, as it will be. The period is added to the old due
         * time (no drift); if the DPC ran so late that this is past too,
         * the missed periods are dropped rather than expired in a burst.
         * Either way the new DueTime is after Now: this loop meets the
         * timer at most once. */
#if PAGODA_SOLUTION(6)
        if (Timer->Period > 0) {
            Timer->DueTime += KI_MS_TO_100NS(Timer->Period);
            if (Timer->DueTime <= Now)
                Timer->DueTime = Now + KI_MS_TO_100NS(Timer->Period);
            KiLinkTimer(Timer);
        }
#else
        /* Lab 6: a periodic timer (Timer->Period ms) goes back on the timer
         * list, due one period after its last due time (or after Now, if it
         * is that late). Until then every timer fires once. */
#endif /* PAGODA_SOLUTION(6) */

        Timer->Header.SignalState = 1;
        if (!IsListEmpty(&Timer->Header.WaitListHead))
            KiWaitTest(&Timer->Header, 0);

        if (Timer->Dpc != NULL)
            KeInsertQueueDpc(Timer->Dpc, (PVOID)(ULONG_PTR)(ULONG)Now,
                             (PVOID)(ULONG_PTR)(ULONG)(Now >> 32));
    }
    KiReleaseDispatcherLock(OldIrql);
}

/* Reset the timer list (it is also valid statically). Phase 0, before the
 * clock interrupt is enabled. */
void KiInitializeTimers(void)
{
    InitializeListHead(&KiTimerListHead);
    KiNextTimerDueTime = ~0ULL;
    KeInitializeDpc(&KiTimerExpireDpc, KiTimerExpiration, NULL);
}

/* The clock's counters, read atomically (aligned 64-bit loads on x64; the
 * clock ISR is their only writer). Any IRQL. */

/* Clock ticks since boot. */
ULONG64 KeQueryTickCount(void)
{
    return KeTickCount;
}

/* Time since boot in 100 ns units, with the clock's resolution (1 tick). */
ULONG64 KeQueryInterruptTime(void)
{
    return KiInterruptTime;
}

/* The length of a clock tick in 100 ns units. */
ULONG KeQueryTimeIncrement(void)
{
    return KI_TIME_INCREMENT;
}
