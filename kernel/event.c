/*
 * event.c - kernel event objects (KEVENT).
 *
 * An event is nothing but a DISPATCHER_HEADER: a type, a signal state
 * (0 or 1) and the list of wait blocks of the threads waiting for it. The
 * two types differ only in what happens when the event releases a waiter,
 * and that decision is made in one place, KiWaitTest (kernel/wait.c):
 *
 *   NotificationEvent (EventNotificationObject): a manual-reset event. Once
 *   set it releases every waiter and stays signalled, so later waits pass
 *   straight through, until someone resets it.
 *
 *       waiters  A B C                          D (arrives late)
 *                | | |                          |
 *   state  0 ----+-+-+--[KeSetEvent]== 1 =======+=========[KeResetEvent]-- 0
 *                         A,B,C all ready       D passes without blocking
 *
 *   SynchronizationEvent (EventSynchronizationObject): an auto-reset event.
 *   Each set releases exactly one waiter (the one that waited longest: the
 *   wait list is FIFO) and the event goes back to non-signalled as part of
 *   satisfying that wait. Set it with nobody waiting and it stays
 *   signalled until exactly one wait consumes it.
 *
 *       waiters  A B C
 *                | | |
 *   state  0 ----+-+-+--[Set]-0--[Set]-0--[Set]-0--[Set]== 1 ==[wait E]- 0
 *                          A ready  B ready  C ready  nobody   E passes
 *
 *   KePulseEvent sets and resets in one step: the waiters present at that
 *   moment are released (all of them, or one for a synchronization event)
 *   and the event always ends non-signalled, so a thread that starts
 *   waiting a moment later blocks.
 *
 * Locking and IRQL: every state change happens under the dispatcher lock
 * (kernel/ki.h: a spin lock taken at DISPATCH_LEVEL), because the
 * signal state and the wait list must change together with the waiters'
 * states. All routines may be called at IRQL <= DISPATCH_LEVEL; they return
 * at the caller's IRQL - except KeSetEvent and KePulseEvent with Wait =
 * TRUE, which return at DISPATCH_LEVEL holding the lock for the caller's
 * next wait (NT's contract, kernel/ki.h KiEndSignal). Releasing a waiter
 * that outranks the caller makes the caller lose the processor as soon as
 * the lock is dropped.
 */
#include "ki.h"

STATIC_ASSERT(sizeof(KEVENT) / sizeof(LONG) <= 0xFF);

/* Stop the caller when an event routine is handed something else. */
static inline void KiAssertEvent(PRKEVENT Event)
{
    ASSERT(Event != NULL);
    ASSERT(Event->Header.Type == EventNotificationObject ||
           Event->Header.Type == EventSynchronizationObject);
}

/*
 * KeInitializeEvent - make Event a notification (manual-reset) or
 * synchronization (auto-reset) event, signalled when State is TRUE.
 * The caller owns the storage (nonpaged: waits touch it at DISPATCH_LEVEL)
 * and nobody may wait on it yet, so no lock is needed. Events are never
 * destroyed: the storage is simply reused once nobody waits on it.
 * Writes what NT's writes - Type, Size, SignalState, WaitListHead - and
 * leaves the header's other two bytes as they were (kernel/ke.h).
 * Any IRQL.
 */
void KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
    ASSERT(Event != NULL);
    ASSERT(Type == NotificationEvent || Type == SynchronizationEvent);

    /* EVENT_TYPE values equal their KOBJECTS values, as in NT. */
    Event->Header.Type = (UCHAR)(Type == NotificationEvent ? EventNotificationObject
                                                           : EventSynchronizationObject);
    Event->Header.Size = KE_DISPATCHER_SIZE(KEVENT);
    Event->Header.SignalState = State ? 1 : 0;
    InitializeListHead(&Event->Header.WaitListHead);
}

/*
 * KeSetEvent - signal Event and release the waits it can satisfy: every
 * waiter of a notification event (which stays signalled), one waiter of a
 * synchronization event (which is then non-signalled again, unless nobody
 * was waiting). Increment is the priority boost for the released threads
 * (not applied yet: see KiUnwaitThread). Returns the previous signal state
 * (nonzero: it was signalled already, and nothing changes). Wait = TRUE:
 * returns at DISPATCH_LEVEL still holding the dispatcher lock, and the
 * caller must call KeWaitForSingleObject/MultipleObjects next, which takes
 * the lock over, so the set and the wait are one atomic step (KiEndSignal,
 * kernel/ki.h). IRQL <= DISPATCH_LEVEL.
 */
LONG KeSetEvent(PRKEVENT Event, LONG Increment, BOOLEAN Wait)
{
    KIRQL OldIrql;
    LONG Previous;

    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    KiAssertEvent(Event);

    OldIrql = KiAcquireDispatcherLockForSignal();
    Previous = Event->Header.SignalState;
    Event->Header.SignalState = 1;
    /*
     * Only a transition from non-signalled can satisfy anything: had the
     * event been signalled, every wait it alone could satisfy would have
     * been satisfied already (the waits still queued need other objects
     * too, and those have not changed).
     */
    if (Previous == 0 && !IsListEmpty(&Event->Header.WaitListHead))
        KiWaitTest(&Event->Header, Increment);
    KiEndSignal(OldIrql, Wait);
    return Previous;
}

/*
 * KeResetEvent - make Event non-signalled; returns the previous signal
 * state. Waiters are not affected (they keep waiting). IRQL <=
 * DISPATCH_LEVEL.
 */
LONG KeResetEvent(PRKEVENT Event)
{
    KIRQL OldIrql;
    LONG Previous;

    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    KiAssertEvent(Event);

    OldIrql = KiAcquireDispatcherLock();
    Previous = Event->Header.SignalState;
    Event->Header.SignalState = 0;
    KiReleaseDispatcherLock(OldIrql);
    return Previous;
}

/*
 * KeClearEvent - KeResetEvent for callers that do not need the previous
 * state. IRQL <= DISPATCH_LEVEL.
 */
void KeClearEvent(PRKEVENT Event)
{
    KIRQL OldIrql;

    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    KiAssertEvent(Event);

    OldIrql = KiAcquireDispatcherLock();
    Event->Header.SignalState = 0;
    KiReleaseDispatcherLock(OldIrql);
}

/*
 * KeReadStateEvent - the current signal state (nonzero: signalled). A
 * snapshot: it may change as soon as it is returned. The LONG is read in
 * one access, so no lock is taken (NT does the same). IRQL <=
 * DISPATCH_LEVEL.
 */
LONG KeReadStateEvent(PRKEVENT Event)
{
    KiAssertEvent(Event);
    return *(volatile LONG *)&Event->Header.SignalState;
}

/*
 * KePulseEvent - set Event, release the waits that satisfies (all the
 * current waiters of a notification event, one of a synchronization
 * event), then reset it: the event always ends non-signalled. Returns the
 * previous signal state. Wait = TRUE as for KeSetEvent. IRQL <=
 * DISPATCH_LEVEL.
 */
LONG KePulseEvent(PRKEVENT Event, LONG Increment, BOOLEAN Wait)
{
    KIRQL OldIrql;
    LONG Previous;

    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    KiAssertEvent(Event);

    OldIrql = KiAcquireDispatcherLockForSignal();
    Previous = Event->Header.SignalState;
    if (Previous == 0 && !IsListEmpty(&Event->Header.WaitListHead)) {
        Event->Header.SignalState = 1;
        KiWaitTest(&Event->Header, Increment);
    }
    Event->Header.SignalState = 0;
    KiEndSignal(OldIrql, Wait);
    return Previous;
}
