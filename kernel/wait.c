/*
 * wait.c - waiting for dispatcher objects: KeWaitForSingleObject,
 * KeWaitForMultipleObjects, and the two internal routines every signaller
 * calls, KiWaitTest and KiUnwaitThread.
 *
 * Any object that starts with a DISPATCHER_HEADER can be waited for:
 * events (kernel/event.c), mutants (kernel/mutant.c), semaphores
 * (kernel/semaphore.c), timers (kernel/timer.c), threads and processes
 * (signalled when they end). SignalState > 0 means signalled; a mutant is
 * also available to the thread that owns it (recursive acquisition).
 *
 * Data structures. A waiting thread describes its wait with one KWAIT_BLOCK
 * per object:
 *
 *      KTHREAD                          objects (DISPATCHER_HEADER)
 *   +---------------+              +-----------------------------+
 *   | WaitBlockList-+--> block 0 --+-> WaitListEntry in event A  |
 *   |               |       |      +-----------------------------+
 *   |               |    block 1 --+-> WaitListEntry in event B  |
 *   |               |       |      +-----------------------------+
 *   | Timer  <------+-- block 3 ---+-> WaitListEntry in Timer    |
 *   +---------------+  (timeout)   +-----------------------------+
 *
 *   - WaitListEntry links the block into its object's WaitListHead (FIFO:
 *     the longest waiter is released first);
 *   - NextWaitBlock links the thread's blocks into a ring, so whoever
 *     satisfies one block can find (and unlink) all the others;
 *   - WaitKey is the index in the caller's Object[] array: a satisfied
 *     WaitAny wait returns STATUS_WAIT_0 + WaitKey;
 *   - a timeout is just one more object: the thread's own KTIMER, waited
 *     for through WaitBlock[THREAD_WAIT_OBJECTS] with WaitType WaitAny and
 *     WaitKey STATUS_TIMEOUT. When the timer expires, the timer DPC calls
 *     KiWaitTest on it like on any object, and the wait returns
 *     STATUS_WAIT_0 + STATUS_TIMEOUT == STATUS_TIMEOUT. No special case.
 *   The first THREAD_WAIT_OBJECTS blocks live in the KTHREAD; a wait for
 *   more objects needs the caller's WaitBlockArray (nonpaged, one per
 *   object), as on Windows.
 *
 * Satisfying a wait "consumes" what it waited for: a synchronization event
 * or synchronization timer goes back to non-signalled (that is how exactly
 * one waiter gets through), a semaphore loses one unit, a mutant becomes
 * the waiter's (KiAcquireMutant; an abandoned one makes the status
 * STATUS_ABANDONED_WAIT_0 + i); notification events and timers, threads
 * and processes stay signalled. A WaitAll wait is satisfied only at a moment
 * when all of its objects are signalled together, and then consumes all of
 * them at once; until then it consumes nothing, so the other waiters of
 * those objects are not robbed by a wait that cannot complete.
 *
 * Locking and IRQL: everything here runs under the dispatcher lock (a
 * spin lock taken at DISPATCH_LEVEL, kernel/ki.h). A waiter checks the
 * objects, links its blocks, marks itself Waiting and calls KiSwapThread,
 * all without dropping the lock, so a signal cannot slip in between the
 * check and the sleep (the "lost wake-up"); the switch hands the lock to
 * the next thread, which releases it. KiSwapThread returns, still at
 * DISPATCH_LEVEL but with the lock released, once KiUnwaitThread has
 * readied the thread and the scheduler has run it again. A wait that follows a signal with Wait =
 * TRUE finds the lock already held (the thread's WaitNext, kernel/ki.h
 * KiEndSignal) and takes it over (KiEnterWait), returning to the IRQL the
 * signal was called at.
 *
 * APCs and alerts (kernel/apc.c). Before blocking, an alertable wait
 * returns STATUS_ALERTED if the thread was alerted (NtAlertThread), and an
 * alertable user-mode wait returns STATUS_USER_APC if a user APC is
 * queued (the APC then runs on the way back to user mode). A blocked wait
 * is ended the same way by KeAlertThread and KeInsertQueueApc. A kernel
 * APC for a thread whose wait began at PASSIVE_LEVEL ends the wait with
 * STATUS_KERNEL_APC instead, which never reaches the caller: the wait
 * drops the lock (the APC runs), takes it again and waits on, with the
 * timeout that is left - the absolute due time its timer had - so a
 * non-alertable wait is not shortened by an APC, only interrupted.
 * A kernel stack is never paged out.
 */
#include "ki.h"

/* The thread's wait block for its timeout timer (after the object blocks). */
#define KI_TIMER_WAIT_BLOCK THREAD_WAIT_OBJECTS

static inline BOOLEAN KiIsSignalled(PDISPATCHER_HEADER Object)
{
    return Object->SignalState > 0;
}

/* Can Thread's wait take Object now: signalled, or a mutant it owns. */
static inline BOOLEAN KiIsAvailable(PDISPATCHER_HEADER Object, PKTHREAD Thread)
{
    return Object->SignalState > 0 ||
           (Object->Type == MutantObject && ((PKMUTANT)Object)->OwnerThread == Thread);
}

/* Is Block the thread's timeout block (not one of the caller's objects)? */
static inline BOOLEAN KiIsTimeoutBlock(PKWAIT_BLOCK Block)
{
    return Block->Object == &Block->Thread->Timer;
}

static inline BOOLEAN KiIsWaitableType(UCHAR Type)
{
    return Type == EventNotificationObject || Type == EventSynchronizationObject ||
           Type == MutantObject || Type == SemaphoreObject || Type == ProcessObject ||
           Type == ThreadObject || Type == TimerNotificationObject ||
           Type == TimerSynchronizationObject;
}

/*
 * A wait of Thread on Object was satisfied: take what the wait consumes.
 * The auto-reset kinds reset, a semaphore loses a unit, a mutant becomes
 * Thread's; everything else stays signalled so every other waiter gets
 * through as well. Returns TRUE when Object was an abandoned mutant.
 */
static inline BOOLEAN KiConsumeObject(PDISPATCHER_HEADER Object, PKTHREAD Thread)
{
    switch (Object->Type) {
    case EventSynchronizationObject:
    case TimerSynchronizationObject:
        Object->SignalState = 0;
        return FALSE;
    case SemaphoreObject:
#if PAGODA_SOLUTION(5)
        Object->SignalState--;
#else
        /* Lab 5: a satisfied wait takes one unit of the semaphore. */
#endif /* PAGODA_SOLUTION(5) */
        return FALSE;
    case MutantObject:
        return KiAcquireMutant((PKMUTANT)Object, Thread);
    default:
        return FALSE;
    }
}

/* Every object of the WaitAll wait that Block belongs to is signalled now. */
static BOOLEAN KiAllSignalled(PKWAIT_BLOCK Block)
{
    PKWAIT_BLOCK Current = Block;

    do {
        if (!KiIsTimeoutBlock(Current) && !KiIsAvailable(Current->Object, Current->Thread))
            return FALSE;
        Current = Current->NextWaitBlock;
    } while (Current != Block);
    return TRUE;
}

/* Consume every object of the WaitAll wait that Block belongs to; TRUE if
 * one was an abandoned mutant. */
static BOOLEAN KiConsumeAll(PKWAIT_BLOCK Block)
{
    PKWAIT_BLOCK Current = Block;
    BOOLEAN Abandoned = FALSE;

    do {
        if (!KiIsTimeoutBlock(Current))
            Abandoned |= KiConsumeObject(Current->Object, Current->Thread);
        Current = Current->NextWaitBlock;
    } while (Current != Block);
    return Abandoned;
}

/*
 * KiWaitTest - Object has just become signalled: satisfy, oldest first,
 * the waits it can satisfy now, until none is left or Object is no longer
 * signalled (a synchronization object or a mutant stops after one, a
 * semaphore after its count). A WaitAny block is satisfied by Object
 * alone (status STATUS_WAIT_0 + its WaitKey); a WaitAll block only when
 * all of its thread's objects are available (status STATUS_SUCCESS).
 * An abandoned mutant makes them STATUS_ABANDONED_WAIT_0 (+ WaitKey). Increment is the priority boost for the threads
 * released (see KiUnwaitThread). Dispatcher lock held (DISPATCH_LEVEL); the released threads
 * run once the caller drops it.
 */
void KiWaitTest(PDISPATCHER_HEADER Object, LONG Increment)
{
    PLIST_ENTRY Entry;
    PKWAIT_BLOCK Block;
    NTSTATUS Status;

    ASSERT(KeGetCurrentIrql() >= DISPATCH_LEVEL);

    Entry = Object->WaitListHead.Flink;
    while (KiIsSignalled(Object) && Entry != &Object->WaitListHead) {
        Block = CONTAINING_RECORD(Entry, KWAIT_BLOCK, WaitListEntry);
        if (Block->WaitType == WaitAny) {
            Status = KiConsumeObject(Object, Block->Thread) ? STATUS_ABANDONED_WAIT_0
                                                            : STATUS_WAIT_0;
            Status += Block->WaitKey;
        } else if (KiAllSignalled(Block)) {
            Status = KiConsumeAll(Block) ? STATUS_ABANDONED_WAIT_0 : STATUS_SUCCESS;
        } else {
            /* This WaitAll still lacks another object; it keeps its place. */
            Entry = Entry->Flink;
            continue;
        }
        KiUnwaitThread(Block->Thread, Status, Increment);
        /*
         * The unwait took all of that thread's blocks off their lists,
         * possibly more than one from this list (the same object twice in
         * one WaitAny), so Entry->Flink may be stale: start again from the
         * head, which is still the oldest remaining waiter.
         */
        Entry = Object->WaitListHead.Flink;
    }
}

/*
 * KiUnwaitThread - end Thread's wait with WaitStatus: unlink all of its
 * wait blocks from their objects, cancel its timeout timer if armed,
 * record the status KiSwapThread will return, and make it Ready. Thread
 * must be Waiting. Dispatcher lock held.
 *
 * Increment is NT's priority boost for the released thread: a thread of
 * the variable class (base below LOW_REALTIME_PRIORITY) runs at up to
 * BasePriority + Increment (never into the real-time range, never lower
 * than it runs already) with a fresh quantum; the boost wears off one
 * level per quantum end (kernel/sched.c, KiDispatchPreempt).
 */
void KiUnwaitThread(PKTHREAD Thread, NTSTATUS WaitStatus, LONG Increment)
{
    PKWAIT_BLOCK Block;

    ASSERT(KeGetCurrentIrql() >= DISPATCH_LEVEL);
    ASSERT(Thread->State == Waiting);
    ASSERT(Thread->WaitBlockList != NULL);

    Block = Thread->WaitBlockList;
    do {
        RemoveEntryList(&Block->WaitListEntry);
        Block = Block->NextWaitBlock;
    } while (Block != Thread->WaitBlockList);

    /* Satisfied before the timeout: the timer must not fire later. (If the
     * timeout is what ended the wait, the timer DPC has removed it.) */
    if (Thread->Timer.Inserted)
        KiRemoveTimer(&Thread->Timer);

    Thread->WaitStatus = WaitStatus;
    if (Increment > 0 && Thread->BasePriority < LOW_REALTIME_PRIORITY) {
        KPRIORITY Boosted = Thread->BasePriority + Increment;
        if (Boosted >= LOW_REALTIME_PRIORITY)
            Boosted = LOW_REALTIME_PRIORITY - 1;
        if (Boosted > Thread->Priority)
            Thread->Priority = Boosted;
        Thread->Quantum = KI_QUANTUM_TICKS;
    }
    KiReadyThread(Thread);
}

/*
 * The wait can be satisfied right now: consume and return its status.
 * Returns STATUS_PENDING when it cannot. WaitAny prefers the lowest index,
 * as on Windows. Dispatcher lock held.
 */
static NTSTATUS KiTrySatisfyNow(PKTHREAD Thread, ULONG Count, PVOID Object[],
                                WAIT_TYPE WaitType)
{
    BOOLEAN Abandoned = FALSE;
    ULONG Index;

    if (WaitType == WaitAny) {
        for (Index = 0; Index < Count; Index++) {
            if (KiIsAvailable(Object[Index], Thread)) {
                NTSTATUS Base = KiConsumeObject(Object[Index], Thread) ? STATUS_ABANDONED_WAIT_0
                                                                       : STATUS_WAIT_0;
                return Base + (NTSTATUS)Index;
            }
        }
        return STATUS_PENDING;
    }

    for (Index = 0; Index < Count; Index++) {
        if (!KiIsAvailable(Object[Index], Thread))
            return STATUS_PENDING;
    }
    for (Index = 0; Index < Count; Index++)
        Abandoned |= KiConsumeObject(Object[Index], Thread);
    return Abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_SUCCESS;
}

/*
 * Arm the thread's timeout timer for Timeout (negative: relative, positive:
 * absolute interrupt time, 100 ns units). Returns FALSE when that moment
 * has already passed: the wait times out without blocking. Done before any
 * wait block is linked, so even a timer that fires at once cannot try to
 * wake a thread that has not gone to sleep. Dispatcher lock held.
 */
static BOOLEAN KiArmWaitTimer(PKTHREAD Thread, PLARGE_INTEGER Timeout)
{
    PKTIMER Timer = &Thread->Timer;

    ASSERT(!Timer->Inserted);
    if (Timeout->QuadPart > 0 && (ULONG64)Timeout->QuadPart <= KeQueryInterruptTime())
        return FALSE;

    /* A one-shot notification timer, reused by every timed wait of this
     * thread; only the wait code touches its header. */
    Timer->Header.Type = TimerNotificationObject;
    Timer->Header.Size = KE_DISPATCHER_SIZE(KTIMER);
    Timer->Header.SignalState = 0;
    InitializeListHead(&Timer->Header.WaitListHead);
    Timer->Dpc = NULL;
    Timer->Period = 0;

    (void)KiInsertTimer(Timer, *Timeout, 0, NULL);
    if (!Timer->Inserted || KiIsSignalled(&Timer->Header)) {
        if (Timer->Inserted)
            KiRemoveTimer(Timer);
        return FALSE;
    }
    return TRUE;
}

/* The current thread, read from the PCR without a call. */
static inline PKTHREAD KiCurrentThread(void)
{
    PKTHREAD Thread;
    __asm__ volatile("mov %%gs:8, %0" : "=r"(Thread));
    return Thread;
}

/*
 * The blocking half of a wait that cannot be satisfied now: arm the
 * timeout, link the wait blocks into their objects and sleep. Returns the
 * wait's status (STATUS_TIMEOUT without sleeping when the timeout is 0 or
 * already past). WaitIrql is the IRQL the wait returns to: only a wait
 * begun at PASSIVE_LEVEL is interrupted for kernel APCs. Entered holding
 * the dispatcher lock; returns with it RELEASED (the context switch hands
 * it to the next thread, kernel/sched.c), still at DISPATCH_LEVEL.
 */
static NTSTATUS KiBlockOnObjects(PKTHREAD Thread, KIRQL WaitIrql, ULONG Count, PVOID Object[],
                                 WAIT_TYPE WaitType, KWAIT_REASON WaitReason,
                                 KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                 PLARGE_INTEGER Timeout, PKWAIT_BLOCK WaitBlocks)
{
    PKWAIT_BLOCK Block, TimerBlock;
    ULONG Index;

    if (Timeout != NULL && (Timeout->QuadPart == 0 || !KiArmWaitTimer(Thread, Timeout))) {
        KeReleaseSpinLockFromDpcLevel(&KiDispatcherLock);
        return STATUS_TIMEOUT;
    }

    /* Build the ring of wait blocks, then link each into its object. */
    for (Index = 0; Index < Count; Index++) {
        Block = &WaitBlocks[Index];
        Block->Thread = Thread;
        Block->Object = Object[Index];
        Block->WaitKey = (USHORT)Index;
        Block->WaitType = (UCHAR)WaitType;
        Block->Reserved = 0;
        Block->NextWaitBlock = &WaitBlocks[Index + 1];
    }
    Block = &WaitBlocks[Count - 1];
    if (Timeout != NULL) {
        TimerBlock = &Thread->WaitBlock[KI_TIMER_WAIT_BLOCK];
        TimerBlock->Thread = Thread;
        TimerBlock->Object = &Thread->Timer;
        TimerBlock->WaitKey = (USHORT)STATUS_TIMEOUT;
        TimerBlock->WaitType = WaitAny;
        TimerBlock->Reserved = 0;
        Block->NextWaitBlock = TimerBlock;
        Block = TimerBlock;
    }
    Block->NextWaitBlock = &WaitBlocks[0];

    Block = &WaitBlocks[0];
    do {
        InsertTailList(&((PDISPATCHER_HEADER)Block->Object)->WaitListHead,
                       &Block->WaitListEntry);
        Block = Block->NextWaitBlock;
    } while (Block != &WaitBlocks[0]);

    Thread->WaitBlockList = &WaitBlocks[0];
    Thread->WaitStatus = STATUS_PENDING;
    Thread->WaitReason = (UCHAR)WaitReason;
    Thread->WaitMode = WaitMode;
    Thread->Alertable = Alertable;
    Thread->WaitIrql = WaitIrql;
    Thread->WaitTick = KeTickCount;
    Thread->State = Waiting;

    /* Sleep; KiUnwaitThread set WaitStatus before readying us. The lock
     * comes back released. */
    return KiSwapThread();
}

/*
 * Before blocking: does an alert or a queued APC end this wait at once?
 * STATUS_ALERTED (the alert is consumed), STATUS_USER_APC (an alertable
 * user-mode wait with a user APC queued: marked for delivery on the way
 * out), STATUS_KERNEL_APC (a kernel APC is pending that this wait would
 * have to let run), or STATUS_PENDING: block. NT's order. Dispatcher lock.
 */
static NTSTATUS KiCheckAlertability(PKTHREAD Thread, KIRQL WaitIrql, KPROCESSOR_MODE WaitMode,
                                    BOOLEAN Alertable)
{
    if (Thread->ApcState.KernelApcPending && WaitIrql == PASSIVE_LEVEL &&
        KiKernelApcDeliverable(Thread)) {
        KiPcr.ApcInterruptRequested = TRUE;
        return STATUS_KERNEL_APC;
    }
    if (Alertable) {
        if (Thread->Alerted[(UCHAR)WaitMode]) {
            Thread->Alerted[(UCHAR)WaitMode] = FALSE;
            return STATUS_ALERTED;
        }
        if (WaitMode == UserMode && !IsListEmpty(&Thread->ApcState.ApcListHead[UserMode])) {
            Thread->ApcState.UserApcPending = TRUE;
            return STATUS_USER_APC;
        }
        if (Thread->Alerted[KernelMode]) {
            Thread->Alerted[KernelMode] = FALSE;
            return STATUS_ALERTED;
        }
    }
    /* Alertable or not: the exit APC of a thread being terminated marks a
     * user APC pending with none queued (KeForceUserApcPending), and a
     * user-mode wait must end for it, or the thread never leaves. */
    if (WaitMode == UserMode && Thread->ApcState.UserApcPending)
        return STATUS_USER_APC;
    return STATUS_PENDING;
}

/*
 * The slow half of every wait: the objects cannot be taken now. Block
 * until the wait is satisfied, times out, is alerted or gets a user APC;
 * a kernel APC makes it drop the lock (the APC runs), retake it and try
 * again with the rest of the timeout. Entered with the dispatcher lock
 * held (taken from OldIrql); returns with it released, at OldIrql. After
 * a sleep the lock is already released (the switch back handed it over).
 */
static __attribute__((noinline)) NTSTATUS
KiWaitSlow(PKTHREAD Thread, KIRQL OldIrql, ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
           KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
           PLARGE_INTEGER Timeout, PKWAIT_BLOCK WaitBlocks)
{
    LARGE_INTEGER DueTime;
    NTSTATUS Status;

    for (;;) {
        Status = KiCheckAlertability(Thread, OldIrql, WaitMode, Alertable);
        if (Status == STATUS_PENDING) {
            Status = KiBlockOnObjects(Thread, OldIrql, Count, Object, WaitType, WaitReason,
                                      WaitMode, Alertable, Timeout, WaitBlocks);
            /* The lock is released now. */
            if (Status != STATUS_KERNEL_APC) {
                KeLowerIrql(OldIrql);
                return Status;
            }
            /* It slept with its timer armed: what is left of the timeout
             * is that timer's absolute due time (clamped to stay positive). */
            if (Timeout != NULL) {
                ULONG64 Due = Thread->Timer.DueTime;
                DueTime.QuadPart = Due > (ULONG64)INT64_MAX ? INT64_MAX : (LONGLONG)Due;
                Timeout = &DueTime;
            }
            KeLowerIrql(OldIrql); /* the kernel APC runs here */
        } else if (Status == STATUS_KERNEL_APC) {
            KiReleaseDispatcherLock(OldIrql); /* the kernel APC runs here */
        } else {
            break;
        }
        OldIrql = KiAcquireDispatcherLock();
        Status = KiTrySatisfyNow(Thread, Count, Object, WaitType);
        if (Status != STATUS_PENDING)
            break;
    }
    KiReleaseDispatcherLock(OldIrql);
    return Status;
}

/*
 * The body of KeWaitForMultipleObjects, after the arguments were checked.
 * Entered holding the dispatcher lock (taken from OldIrql); returns at
 * OldIrql with it released.
 */
static NTSTATUS KiWaitForObjects(KIRQL OldIrql, ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                 KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                 BOOLEAN Alertable, PLARGE_INTEGER Timeout, PKWAIT_BLOCK WaitBlocks)
{
    PKTHREAD Thread = KiCurrentThread();
    NTSTATUS Status = KiTrySatisfyNow(Thread, Count, Object, WaitType);
    if (Status == STATUS_PENDING)
        return KiWaitSlow(Thread, OldIrql, Count, Object, WaitType, WaitReason, WaitMode,
                          Alertable, Timeout, WaitBlocks);
    KiReleaseDispatcherLock(OldIrql);
    return Status;
}

/*
 * Waits are allowed at IRQL <= APC_LEVEL, and at DISPATCH_LEVEL only as a
 * poll (a zero timeout): a thread at DISPATCH_LEVEL cannot be switched
 * away from. Anything else is the driver bug Windows stops for.
 */
static __attribute__((noinline)) void KiCheckWaitIrqlAt(KIRQL Irql, PVOID Object,
                                                        PLARGE_INTEGER Timeout, PVOID Caller)
{
    BOOLEAN Poll = Timeout != NULL && Timeout->QuadPart == 0;

    if (Irql <= APC_LEVEL || (Irql == DISPATCH_LEVEL && Poll))
        return;
    KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)Object, Irql, 0, (ULONG_PTR)Caller);
}

/* The common case, IRQL <= APC_LEVEL, is one test inline. */
static inline __attribute__((always_inline)) void
KiCheckWaitIrql(PVOID Object, PLARGE_INTEGER Timeout, PVOID Caller)
{
    KIRQL Irql = KeGetCurrentIrql();
    if (__builtin_expect(Irql > APC_LEVEL, 0))
        KiCheckWaitIrqlAt(Irql, Object, Timeout, Caller);
}

/*
 * The start of a wait right after a signal with Wait = TRUE (KeSetEvent,
 * KePulseEvent, KeReleaseMutex, KeReleaseSemaphore): that signal returned
 * still holding the dispatcher lock (on this processor: at DISPATCH_LEVEL)
 * and set the thread's WaitNext, so nothing ran between it and this wait.
 * The wait takes the lock over (it holds it already) instead of acquiring
 * it, and returns to the
 * IRQL the signal was called at (WaitIrql), checked as if the wait had
 * been called there. Returns that IRQL.
 */
static __attribute__((noinline)) KIRQL
KiTakeOverDispatcherLock(PKTHREAD Thread, PVOID Object, PLARGE_INTEGER Timeout, PVOID Caller)
{
    ASSERT(KeGetCurrentIrql() == DISPATCH_LEVEL);
    Thread->WaitNext = FALSE;
    if (Thread->WaitIrql > APC_LEVEL)
        KiCheckWaitIrqlAt(Thread->WaitIrql, Object, Timeout, Caller);
    return Thread->WaitIrql;
}

/* Enter a wait holding the dispatcher lock: take it over from a signal
 * with Wait = TRUE, or check the IRQL and acquire it. Returns the IRQL the
 * wait returns to. */
static inline __attribute__((always_inline)) KIRQL KiEnterWait(PKTHREAD Thread, PVOID Object,
                                                               PLARGE_INTEGER Timeout, PVOID Caller)
{
    if (__builtin_expect(Thread != NULL && Thread->WaitNext, 0))
        return KiTakeOverDispatcherLock(Thread, Object, Timeout, Caller);
    KiCheckWaitIrql(Object, Timeout, Caller);
    return KiAcquireDispatcherLock();
}

/*
 * KeWaitForSingleObject - wait until Object (any dispatcher object) is
 * signalled, or Timeout passes: NULL waits for ever, 0 polls without
 * blocking, negative is relative, positive is an absolute interrupt time,
 * in 100 ns units. Returns STATUS_SUCCESS (== STATUS_WAIT_0), having
 * consumed the object (a synchronization event or timer resets, a
 * semaphore loses a unit, a mutant becomes the caller's), or
 * STATUS_ABANDONED_WAIT_0 (an abandoned mutant, now the caller's), or
 * STATUS_TIMEOUT; an Alertable wait also STATUS_ALERTED, and with WaitMode
 * UserMode STATUS_USER_APC (kernel/apc.c). IRQL <= APC_LEVEL, or DISPATCH_LEVEL with a zero
 * timeout; otherwise bugcheck IRQL_NOT_LESS_OR_EQUAL (Object, IRQL, 0,
 * caller). Returns at the caller's IRQL.
 */
NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                               BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    PDISPATCHER_HEADER Header = Object;
    NTSTATUS Status;

    PKTHREAD Thread = KiCurrentThread();
    KIRQL OldIrql = KiEnterWait(Thread, Object, Timeout, __builtin_return_address(0));
    ASSERT(Object != NULL && KiIsWaitableType(Header->Type));

    /* One pass under the dispatcher lock. Available: no wait block, no
     * timer, no switch; consume it and go. Otherwise the slow path blocks
     * on it, lock still held. */
    if (__builtin_expect(!KiIsAvailable(Header, Thread), 0))
        return KiWaitSlow(Thread, OldIrql, 1, &Object, WaitAny, WaitReason, WaitMode, Alertable,
                          Timeout, Thread->WaitBlock);
    Status = KiConsumeObject(Header, Thread) ? STATUS_ABANDONED_WAIT_0 : STATUS_SUCCESS;
    KiReleaseDispatcherLock(OldIrql);
    return Status;
}

/*
 * KeWaitForMultipleObjects - wait for Count dispatcher objects: WaitAny
 * until one is signalled (returns STATUS_WAIT_0 + its index, the lowest
 * when several are), WaitAll until all are signalled at the same moment
 * (returns STATUS_SUCCESS; each is consumed); STATUS_ABANDONED_WAIT_0
 * (+ index for WaitAny) when an abandoned mutant was among them. STATUS_TIMEOUT as for
 * KeWaitForSingleObject. More than THREAD_WAIT_OBJECTS objects need
 * WaitBlockArray (Count nonpaged blocks, not touched after the wait
 * returns). STATUS_INVALID_PARAMETER for Count 0 or above
 * MAXIMUM_WAIT_OBJECTS, for too many objects without WaitBlockArray, and
 * for an unknown WaitType (Windows bugchecks for some of these; a return
 * is friendlier to students). IRQL as for KeWaitForSingleObject.
 */
NTSTATUS KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                  KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                  BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                  PKWAIT_BLOCK WaitBlockArray)
{
    ULONG Index;
    PKTHREAD Thread = KiCurrentThread();
    KIRQL OldIrql = KiEnterWait(Thread, Object, Timeout, __builtin_return_address(0));

    if (Count == 0 || Count > MAXIMUM_WAIT_OBJECTS || Object == NULL ||
        (Count > THREAD_WAIT_OBJECTS && WaitBlockArray == NULL) ||
        (WaitType != WaitAny && WaitType != WaitAll)) {
        KiReleaseDispatcherLock(OldIrql);
        return STATUS_INVALID_PARAMETER;
    }
    for (Index = 0; Index < Count; Index++)
        ASSERT(Object[Index] != NULL &&
               KiIsWaitableType(((PDISPATCHER_HEADER)Object[Index])->Type));

    if (WaitBlockArray == NULL)
        WaitBlockArray = Thread->WaitBlock;
    return KiWaitForObjects(OldIrql, Count, Object, WaitType, WaitReason, WaitMode, Alertable,
                            Timeout, WaitBlockArray);
}
