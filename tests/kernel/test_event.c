/*
 * test_event.c - events and waits (kernel/event.c, kernel/wait.c), seen
 * from threads: who gets released, when, with which status, and that the
 * objects end in the state Windows leaves them in.
 *
 * Every test that starts threads keeps its events and waiters in static
 * storage and first calls KtDeferJoinWaiters: whatever happens, the runner
 * then releases and joins its threads after it returns (KtJoinWaiters), so
 * a failed check cannot leave a thread blocked on an object the next test
 * reinitializes, and checks that nonpaged pool and kernel-stack pages are
 * back where they were.
 */
#include "../../include/ktest.h"
#include "../../kernel/ki.h"
#include "../../ob/ob.h"
#include "../../ps/ps.h"
#include "../../mm/mm.h"
#include "../../rtl/rtl.h"

#define KT_WAITERS 8

/*
 * A test thread: optionally sleeps DelayMs, then (Count > 0) waits for its
 * objects, counts the return in Runs and keeps the status, then optionally
 * sets SetEvent, and ends.
 */
typedef struct _KT_WAITER {
    ULONG DelayMs;
    ULONG Count;
    PVOID Objects[THREAD_WAIT_OBJECTS];
    WAIT_TYPE WaitType;
    BOOLEAN HasTimeout;
    LARGE_INTEGER Timeout;
    PKEVENT SetEvent;
    volatile LONG Runs;
    volatile NTSTATUS Status;
    HANDLE Handle;
    PKTHREAD Thread;            /* referenced while the test runs */
} KT_WAITER, *PKT_WAITER;

static KEVENT KtEventA, KtEventB;
static KTIMER KtTimer;
static KT_WAITER KtWaiters[KT_WAITERS];
static KEVENT KtManyEvents[MAXIMUM_WAIT_OBJECTS];
static KWAIT_BLOCK KtWaitBlocks[MAXIMUM_WAIT_OBJECTS];

static void KtSleepMs(ULONG Ms)
{
    LARGE_INTEGER Interval = {.QuadPart = KT_MS(Ms)};
    (void)KeDelayExecutionThread(KernelMode, FALSE, &Interval);
}

static void KtWaiterRoutine(PVOID Context)
{
    PKT_WAITER Waiter = Context;

    if (Waiter->DelayMs != 0)
        KtSleepMs(Waiter->DelayMs);
    if (Waiter->Count != 0) {
        Waiter->Status = KeWaitForMultipleObjects(Waiter->Count, Waiter->Objects,
                                                  Waiter->WaitType, Executive, KernelMode,
                                                  FALSE,
                                                  Waiter->HasTimeout ? &Waiter->Timeout : NULL,
                                                  NULL);
        __atomic_add_fetch(&Waiter->Runs, 1, __ATOMIC_SEQ_CST);
    }
    if (Waiter->SetEvent != NULL)
        (void)KeSetEvent(Waiter->SetEvent, 0, FALSE);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

/* Describe a waiter on one object (more with KtAddObject). */
static void KtInitWaiter(PKT_WAITER Waiter, PVOID Object, WAIT_TYPE WaitType)
{
    *Waiter = (KT_WAITER){0};
    Waiter->WaitType = WaitType;
    if (Object != NULL)
        Waiter->Objects[Waiter->Count++] = Object;
    Waiter->Status = STATUS_PENDING;
}

static NTSTATUS KtStartWaiter(PKT_WAITER Waiter)
{
    NTSTATUS Status;

    Status = PsCreateSystemThread(&Waiter->Handle, 0, NULL, NULL, NULL, KtWaiterRoutine, Waiter);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObReferenceObjectByHandle(Waiter->Handle, 0, PsThreadType, KernelMode,
                                       (PVOID *)&Waiter->Thread, NULL);
    if (!NT_SUCCESS(Status)) {
        /* Cannot join it without its object: let it run to its end. */
        (void)ZwClose(Waiter->Handle);
        Waiter->Handle = NULL;
        return Status;
    }
    ASSERT(Waiter->Thread->Header.Type == ThreadObject);
    return STATUS_SUCCESS;
}

/*
 * Make sure Count waiters end and free them: set every event they may be
 * waiting for (again and again: a synchronization event lets one through
 * per set), wait for each thread, drop the reference and close the handle.
 * Returns FALSE if a thread did not end within seconds.
 */
static BOOLEAN KtJoinWaiters(PKT_WAITER Waiters, ULONG Count)
{
    LARGE_INTEGER Poll = {.QuadPart = 0};
    BOOLEAN AllEnded = TRUE;
    ULONG Index, Object, Round;

    for (Index = 0; Index < Count; Index++) {
        PKT_WAITER Waiter = &Waiters[Index];

        if (Waiter->Thread == NULL)
            continue;
        for (Round = 0; Round < 500; Round++) {
            if (KeWaitForSingleObject(Waiter->Thread, Executive, KernelMode, FALSE, &Poll) ==
                STATUS_SUCCESS)
                break;
            for (Object = 0; Object < Waiter->Count; Object++) {
                UCHAR Type = ((PDISPATCHER_HEADER)Waiter->Objects[Object])->Type;
                if (Type == EventNotificationObject || Type == EventSynchronizationObject)
                    (void)KeSetEvent(Waiter->Objects[Object], 0, FALSE);
            }
            KtSleepMs(2);
        }
        if (Round == 500) {
            AllEnded = FALSE;
            continue;       /* still blocked: keep its object and handle */
        }
        ObDereferenceObject(Waiter->Thread);
        (void)ZwClose(Waiter->Handle);
        Waiter->Thread = NULL;
    }
    return AllEnded;
}

static ULONG KtWaitListLength(PDISPATCHER_HEADER Object)
{
    ULONG Length = 0;
    KIRQL OldIrql = KiAcquireDispatcherLock();

    for (PLIST_ENTRY Entry = Object->WaitListHead.Flink; Entry != &Object->WaitListHead;
         Entry = Entry->Flink)
        Length++;
    KiReleaseDispatcherLock(OldIrql);
    return Length;
}

static LONG KtTotalRuns(PKT_WAITER Waiters, ULONG Count)
{
    LONG Total = 0;

    for (ULONG Index = 0; Index < Count; Index++)
        Total += Waiters[Index].Runs;
    return Total;
}

/* Nonpaged pool in use, all tags but the handle tables' (a table may
 * legitimately grow during a test and keep its larger array). */
static SIZE_T KtPoolBytesInUse(void)
{
    static POOL_TAG_INFO Tags[256];
    ULONG Count = ExQueryPoolTags(NonPagedPool, Tags, ARRAYSIZE(Tags));
    SIZE_T Bytes = 0;

    for (ULONG Index = 0; Index < Count; Index++) {
        if (Tags[Index].Tag != OB_HANDLE_TABLE_TAG)
            Bytes += Tags[Index].BytesInUse;
    }
    return Bytes;
}

typedef struct _KT_RESOURCES {
    SIZE_T PoolBytes;
    PFN_NUMBER StackPages;
} KT_RESOURCES;

static KT_RESOURCES KtSnapshot(void)
{
    return (KT_RESOURCES){KtPoolBytesInUse(), MmPagesInUse(MiUsageKernelStack)};
}

/* Checked at the end of the thread tests: every thread object, stack and
 * handle they made is gone again. */
#define KT_ASSERT_NO_LEAK(Before)                                               \
    do {                                                                        \
        KT_RESOURCES ktNow_ = KtSnapshot();                                     \
        KT_ASSERT_EQ(ktNow_.PoolBytes, (Before).PoolBytes);                     \
        KT_ASSERT_EQ(ktNow_.StackPages, (Before).StackPages);                   \
    } while (0)

static KT_RESOURCES KtBefore;     /* taken by KtDeferJoinWaiters */

/* The cleanup of every thread test: join the waiters, then no leak. */
static void KtJoinWaitersAndCheck(PVOID Unused)
{
    (void)Unused;
    KT_ASSERT(KtJoinWaiters(KtWaiters, KT_WAITERS));
    KT_ASSERT_NO_LEAK(KtBefore);
}

static void KtCancelTimer(PVOID Timer)
{
    (void)KeCancelTimer(Timer);
}

/*
 * Called first by each test that starts waiters: remember the pool and
 * stack pages in use now, and make the runner join every waiter and check
 * those counts are back after the test, whether it passed or not.
 */
static void KtDeferJoinWaiters(void)
{
    KtBefore = KtSnapshot();
    KtDefer(KtJoinWaitersAndCheck, NULL);
}

/* ------------------------------------------------------------------------
 * Object state alone (no threads)
 * ------------------------------------------------------------------------ */

KTEST(event, set_reset_return_previous_state)
{
    KeInitializeEvent(&KtEventA, NotificationEvent, FALSE);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 0);
    KT_ASSERT_EQ(KeSetEvent(&KtEventA, 0, FALSE), 0);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 1);
    KT_ASSERT_EQ(KeSetEvent(&KtEventA, 0, FALSE), 1);   /* already signalled */
    KT_ASSERT_EQ(KeResetEvent(&KtEventA), 1);
    KT_ASSERT_EQ(KeResetEvent(&KtEventA), 0);
    KT_ASSERT_EQ(KeSetEvent(&KtEventA, 0, FALSE), 0);
    KeClearEvent(&KtEventA);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 0);

    KeInitializeEvent(&KtEventA, SynchronizationEvent, TRUE);
    KT_ASSERT_EQ(KtEventA.Header.Type, EventSynchronizationObject);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 1);
    KT_ASSERT_EQ(KeResetEvent(&KtEventA), 1);
    /* Set with nobody waiting: it stays signalled until one wait takes it. */
    KT_ASSERT_EQ(KeSetEvent(&KtEventA, 0, FALSE), 0);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 1);
}

/*
 * The header bytes NT's initialisers write, read back at NT's offsets from
 * storage that held 0xA5 everywhere: Type (+0), Size in LONGs (+2),
 * SignalState (+4), an empty WaitListHead (+8); +1 (Absolute) and +3
 * (Inserted) keep the old bytes, except that a timer clears Inserted.
 */
static void KtCheckHeader(PVOID Object, UCHAR Type, SIZE_T Bytes, LONG SignalState, UCHAR Inserted)
{
    PUCHAR Raw = Object;
    PDISPATCHER_HEADER Header = Object;

    KT_EXPECT_EQ(Raw[0], Type);
    KT_EXPECT_EQ(Raw[1], 0xA5);
    KT_EXPECT_EQ(Raw[2], Bytes / sizeof(LONG));
    KT_EXPECT_EQ(Raw[3], Inserted);
    KT_EXPECT_EQ(*(LONG *)(Raw + 4), SignalState);
    KT_EXPECT(Header->WaitListHead.Flink == &Header->WaitListHead);
    KT_EXPECT(Header->WaitListHead.Blink == &Header->WaitListHead);
}

KTEST(event, initialisers_write_the_header_as_nt)
{
    static union {
        KEVENT Event;
        KMUTANT Mutant;
        KSEMAPHORE Semaphore;
        KTIMER Timer;
    } Storage;

    memset(&Storage, 0xA5, sizeof(Storage));
    KeInitializeEvent(&Storage.Event, NotificationEvent, TRUE);
    KtCheckHeader(&Storage, EventNotificationObject, 24, 1, 0xA5);
    memset(&Storage, 0xA5, sizeof(Storage));
    KeInitializeEvent(&Storage.Event, SynchronizationEvent, FALSE);
    KtCheckHeader(&Storage, EventSynchronizationObject, 24, 0, 0xA5);
    memset(&Storage, 0xA5, sizeof(Storage));
    KeInitializeMutant(&Storage.Mutant, FALSE);
    KtCheckHeader(&Storage, MutantObject, sizeof(KMUTANT), 1, 0xA5);
    memset(&Storage, 0xA5, sizeof(Storage));
    KeInitializeSemaphore(&Storage.Semaphore, 2, 5);
    KtCheckHeader(&Storage, SemaphoreObject, sizeof(KSEMAPHORE), 2, 0xA5);
    memset(&Storage, 0xA5, sizeof(Storage));
    KeInitializeTimerEx(&Storage.Timer, SynchronizationTimer);
    KtCheckHeader(&Storage, TimerSynchronizationObject, sizeof(KTIMER), 0, 0);
}

KTEST(event, pulse_without_waiters_leaves_it_reset)
{
    KeInitializeEvent(&KtEventA, NotificationEvent, TRUE);
    KT_ASSERT_EQ(KePulseEvent(&KtEventA, 0, FALSE), 1);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 0);
    KT_ASSERT_EQ(KePulseEvent(&KtEventA, 0, FALSE), 0);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 0);
}

KTEST(event, zero_timeout_polls_without_blocking)
{
    LARGE_INTEGER Zero = {.QuadPart = 0};
    PKTHREAD Self = KeGetCurrentThread();
    KIRQL OldIrql;

    KeInitializeEvent(&KtEventA, NotificationEvent, FALSE);
    KeInitializeEvent(&KtEventB, SynchronizationEvent, TRUE);

    KT_ASSERT_EQ(KeWaitForSingleObject(&KtEventA, Executive, KernelMode, FALSE, &Zero),
                 STATUS_TIMEOUT);
    KT_ASSERT_EQ(Self->State, Running);
    KT_ASSERT_EQ(KtWaitListLength(&KtEventA.Header), 0);
    KT_ASSERT(!Self->Timer.Inserted);

    /* A poll that succeeds consumes a synchronization event... */
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtEventB, Executive, KernelMode, FALSE, &Zero),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventB), 0);
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtEventB, Executive, KernelMode, FALSE, &Zero),
                 STATUS_TIMEOUT);

    /* ...and is the one wait allowed at DISPATCH_LEVEL. */
    KeSetEvent(&KtEventB, 0, FALSE);
    KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
    NTSTATUS First = KeWaitForSingleObject(&KtEventB, Executive, KernelMode, FALSE, &Zero);
    NTSTATUS Second = KeWaitForSingleObject(&KtEventB, Executive, KernelMode, FALSE, &Zero);
    KIRQL IrqlAfter = KeGetCurrentIrql();
    KeLowerIrql(OldIrql);
    KT_ASSERT_EQ(First, STATUS_SUCCESS);
    KT_ASSERT_EQ(Second, STATUS_TIMEOUT);
    KT_ASSERT_EQ(IrqlAfter, DISPATCH_LEVEL);
}

KTEST(event, relative_timeout_expires_after_its_ticks)
{
    LARGE_INTEGER Timeout = {.QuadPart = KT_MS(50)};
    PKTHREAD Self = KeGetCurrentThread();
    ULONG64 Start, Elapsed;

    KeInitializeEvent(&KtEventA, NotificationEvent, FALSE);
    Start = KeQueryTickCount();
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtEventA, Executive, KernelMode, FALSE, &Timeout),
                 STATUS_TIMEOUT);
    Elapsed = KeQueryTickCount() - Start;
    KT_ASSERT(Elapsed >= 50 * KI_CLOCK_HZ / 1000 - 1);
    KT_ASSERT(Elapsed < 5 * KI_CLOCK_HZ);
    /* The wait left nothing behind: no block on the event, no armed timer. */
    KT_ASSERT_EQ(KtWaitListLength(&KtEventA.Header), 0);
    KT_ASSERT(!Self->Timer.Inserted);
    KT_ASSERT_EQ(KtWaitListLength(&Self->Timer.Header), 0);
}

KTEST(event, absolute_timeout_uses_interrupt_time)
{
    LARGE_INTEGER Timeout;
    ULONG64 Start, Elapsed;

    KeInitializeEvent(&KtEventA, NotificationEvent, FALSE);

    /* Already past: times out at once, like a poll. */
    Timeout.QuadPart = 1;
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtEventA, Executive, KernelMode, FALSE, &Timeout),
                 STATUS_TIMEOUT);

    Start = KeQueryTickCount();
    Timeout.QuadPart = (LONGLONG)(KeQueryInterruptTime() + 20 * 10000);
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtEventA, Executive, KernelMode, FALSE, &Timeout),
                 STATUS_TIMEOUT);
    Elapsed = KeQueryTickCount() - Start;
    KT_ASSERT(Elapsed >= 20 * KI_CLOCK_HZ / 1000 - 1);
    KT_ASSERT(KeQueryInterruptTime() >= (ULONG64)Timeout.QuadPart);
}

KTEST(event, invalid_parameters)
{
    LARGE_INTEGER Zero = {.QuadPart = 0};
    PVOID Objects[MAXIMUM_WAIT_OBJECTS + 1];

    for (ULONG Index = 0; Index <= MAXIMUM_WAIT_OBJECTS; Index++)
        Objects[Index] = &KtEventA;
    KeInitializeEvent(&KtEventA, NotificationEvent, TRUE);

    KT_ASSERT_EQ(KeWaitForMultipleObjects(0, Objects, WaitAny, Executive, KernelMode, FALSE,
                                          &Zero, NULL),
                 STATUS_INVALID_PARAMETER);
    /* More than the thread's own blocks without an array. */
    KT_ASSERT_EQ(KeWaitForMultipleObjects(THREAD_WAIT_OBJECTS + 1, Objects, WaitAny, Executive,
                                          KernelMode, FALSE, &Zero, NULL),
                 STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(KeWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS + 1, Objects, WaitAny, Executive,
                                          KernelMode, FALSE, &Zero, KtWaitBlocks),
                 STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(KeWaitForMultipleObjects(THREAD_WAIT_OBJECTS, Objects, WaitAny, Executive,
                                          KernelMode, FALSE, &Zero, NULL),
                 STATUS_WAIT_0);
}

KTEST(event, many_objects_with_wait_block_array)
{
    LARGE_INTEGER Zero = {.QuadPart = 0};
    PVOID Objects[MAXIMUM_WAIT_OBJECTS];
    ULONG Index;

    for (Index = 0; Index < MAXIMUM_WAIT_OBJECTS; Index++) {
        KeInitializeEvent(&KtManyEvents[Index], NotificationEvent, FALSE);
        Objects[Index] = &KtManyEvents[Index];
    }
    KeSetEvent(&KtManyEvents[37], 0, FALSE);
    KT_ASSERT_EQ(KeWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, Objects, WaitAny, Executive,
                                          KernelMode, FALSE, &Zero, KtWaitBlocks),
                 STATUS_WAIT_0 + 37);
    KT_ASSERT_EQ(KeWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, Objects, WaitAll, Executive,
                                          KernelMode, FALSE, &Zero, KtWaitBlocks),
                 STATUS_TIMEOUT);
    for (Index = 0; Index < MAXIMUM_WAIT_OBJECTS; Index++)
        KeSetEvent(&KtManyEvents[Index], 0, FALSE);
    KT_ASSERT_EQ(KeWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, Objects, WaitAll, Executive,
                                          KernelMode, FALSE, &Zero, KtWaitBlocks),
                 STATUS_SUCCESS);
}

/* ------------------------------------------------------------------------
 * With threads
 * ------------------------------------------------------------------------ */

/*
 * The headline case: 8 threads wait on one synchronization event;
 * each KeSetEvent lets exactly one more of them through - the one that has
 * waited longest - and the event is non-signalled again right away.
 */
KTEST(event, synchronization_event_releases_one_waiter_per_set)
{
    KtDeferJoinWaiters();
    ULONG Set, Index;

    KeInitializeEvent(&KtEventA, SynchronizationEvent, FALSE);
    for (Index = 0; Index < KT_WAITERS; Index++) {
        KtInitWaiter(&KtWaiters[Index], &KtEventA, WaitAny);
        KT_ASSERT_EQ(KtStartWaiter(&KtWaiters[Index]), STATUS_SUCCESS);
    }
    KtSleepMs(20);
    KT_ASSERT_EQ(KtWaitListLength(&KtEventA.Header), KT_WAITERS);
    for (Index = 0; Index < KT_WAITERS; Index++) {
        KT_ASSERT_EQ(KtWaiters[Index].Thread->State, Waiting);
        KT_ASSERT_EQ(KtWaiters[Index].Thread->WaitReason, Executive);
    }

    for (Set = 0; Set < KT_WAITERS; Set++) {
        PKTHREAD Oldest = CONTAINING_RECORD(KtEventA.Header.WaitListHead.Flink, KWAIT_BLOCK,
                                            WaitListEntry)->Thread;

        KT_ASSERT_EQ(KeSetEvent(&KtEventA, 0, FALSE), 0);
        /* The released waiter consumed the signal. */
        KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 0);
        KtSleepMs(5);
        KT_ASSERT_EQ(KtTotalRuns(KtWaiters, KT_WAITERS), Set + 1);
        KT_ASSERT_EQ(KtWaitListLength(&KtEventA.Header), KT_WAITERS - Set - 1);
        for (Index = 0; Index < KT_WAITERS; Index++) {
            KT_ASSERT(KtWaiters[Index].Runs <= 1);
            if (KtWaiters[Index].Thread == Oldest) {
                KT_ASSERT_EQ(KtWaiters[Index].Runs, 1);
                KT_ASSERT_EQ(KtWaiters[Index].Status, STATUS_WAIT_0);
            }
        }
    }
    /* Nobody left: the next set stays. */
    KT_ASSERT_EQ(KeSetEvent(&KtEventA, 0, FALSE), 0);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 1);
}

KTEST(event, notification_event_releases_all_and_stays_signalled)
{
    LARGE_INTEGER Zero = {.QuadPart = 0};
    KtDeferJoinWaiters();
    ULONG Index;

    KeInitializeEvent(&KtEventA, NotificationEvent, FALSE);
    for (Index = 0; Index < KT_WAITERS; Index++) {
        KtInitWaiter(&KtWaiters[Index], &KtEventA, WaitAny);
        KT_ASSERT_EQ(KtStartWaiter(&KtWaiters[Index]), STATUS_SUCCESS);
    }
    KtSleepMs(20);
    KT_ASSERT_EQ(KtWaitListLength(&KtEventA.Header), KT_WAITERS);
    KT_ASSERT_EQ(KtTotalRuns(KtWaiters, KT_WAITERS), 0);

    KT_ASSERT_EQ(KeSetEvent(&KtEventA, 0, FALSE), 0);
    KT_ASSERT_EQ(KtWaitListLength(&KtEventA.Header), 0);
    KtSleepMs(10);
    for (Index = 0; Index < KT_WAITERS; Index++) {
        KT_ASSERT_EQ(KtWaiters[Index].Runs, 1);
        KT_ASSERT_EQ(KtWaiters[Index].Status, STATUS_WAIT_0);
    }
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 1);
    /* A late waiter passes straight through, and does not consume it. */
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtEventA, Executive, KernelMode, FALSE, NULL),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 1);

    /* Reset: waits block again. */
    KT_ASSERT_EQ(KeResetEvent(&KtEventA), 1);
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtEventA, Executive, KernelMode, FALSE, &Zero),
                 STATUS_TIMEOUT);
}

KTEST(event, pulse_releases_current_waiters_and_ends_reset)
{
    LARGE_INTEGER Zero = {.QuadPart = 0};
    KtDeferJoinWaiters();
    ULONG Index;

    /* Notification event: every current waiter goes. */
    KeInitializeEvent(&KtEventA, NotificationEvent, FALSE);
    for (Index = 0; Index < 4; Index++) {
        KtInitWaiter(&KtWaiters[Index], &KtEventA, WaitAny);
        KT_ASSERT_EQ(KtStartWaiter(&KtWaiters[Index]), STATUS_SUCCESS);
    }
    KtSleepMs(20);
    KT_ASSERT_EQ(KtWaitListLength(&KtEventA.Header), 4);
    KT_ASSERT_EQ(KePulseEvent(&KtEventA, 0, FALSE), 0);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 0);
    KtSleepMs(10);
    KT_ASSERT_EQ(KtTotalRuns(KtWaiters, 4), 4);
    /* Whoever comes after the pulse blocks. */
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtEventA, Executive, KernelMode, FALSE, &Zero),
                 STATUS_TIMEOUT);

    /* Synchronization event: one per pulse. */
    KeInitializeEvent(&KtEventB, SynchronizationEvent, FALSE);
    for (Index = 4; Index < 6; Index++) {
        KtInitWaiter(&KtWaiters[Index], &KtEventB, WaitAny);
        KT_ASSERT_EQ(KtStartWaiter(&KtWaiters[Index]), STATUS_SUCCESS);
    }
    KtSleepMs(20);
    KT_ASSERT_EQ(KePulseEvent(&KtEventB, 0, FALSE), 0);
    KtSleepMs(10);
    KT_ASSERT_EQ(KtTotalRuns(&KtWaiters[4], 2), 1);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventB), 0);
    KT_ASSERT_EQ(KePulseEvent(&KtEventB, 0, FALSE), 0);
    KtSleepMs(10);
    KT_ASSERT_EQ(KtTotalRuns(&KtWaiters[4], 2), 2);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventB), 0);
}

/* A wait satisfied before its timeout returns the object's status and
 * disarms the thread's timer. */
KTEST(event, satisfied_wait_cancels_its_timeout)
{
    LARGE_INTEGER Timeout = {.QuadPart = KT_MS(5000)};
    KtDeferJoinWaiters();
    PKTHREAD Self = KeGetCurrentThread();
    ULONG64 Start;

    KeInitializeEvent(&KtEventA, NotificationEvent, FALSE);
    KtInitWaiter(&KtWaiters[0], NULL, WaitAny);
    KtWaiters[0].DelayMs = 10;
    KtWaiters[0].SetEvent = &KtEventA;
    KT_ASSERT_EQ(KtStartWaiter(&KtWaiters[0]), STATUS_SUCCESS);

    Start = KeQueryTickCount();
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtEventA, Executive, KernelMode, FALSE, &Timeout),
                 STATUS_SUCCESS);
    KT_ASSERT(KeQueryTickCount() - Start < 5000 * KI_CLOCK_HZ / 1000);
    KT_ASSERT(!Self->Timer.Inserted);
    KT_ASSERT_EQ(KtWaitListLength(&Self->Timer.Header), 0);
}

/*
 * WaitAny over an event, a timer and a thread: the status names the
 * object that ended the wait, and only that one is consumed.
 */
KTEST(event, wait_any_over_event_timer_thread)
{
    LARGE_INTEGER Zero = {.QuadPart = 0}, Timeout = {.QuadPart = KT_MS(5000)};
    LARGE_INTEGER Due = {.QuadPart = KT_MS(20)};
    KtDeferJoinWaiters();
    PVOID Objects[3];

    KeInitializeEvent(&KtEventA, NotificationEvent, FALSE);      /* never set */
    KeInitializeEvent(&KtEventB, SynchronizationEvent, FALSE);
    KeInitializeTimerEx(&KtTimer, SynchronizationTimer);
    KtDefer(KtCancelTimer, &KtTimer);

    /* Waiter 0 ends by itself after 30 ms (its own wait times out). */
    KtInitWaiter(&KtWaiters[0], &KtEventA, WaitAny);
    KtWaiters[0].HasTimeout = TRUE;
    KtWaiters[0].Timeout.QuadPart = KT_MS(30);
    KT_ASSERT_EQ(KtStartWaiter(&KtWaiters[0]), STATUS_SUCCESS);

    Objects[0] = &KtEventB;
    Objects[1] = &KtTimer;
    Objects[2] = KtWaiters[0].Thread;
    KT_ASSERT_EQ(KeWaitForMultipleObjects(3, Objects, WaitAny, Executive, KernelMode, FALSE,
                                         &Zero, NULL),
                STATUS_TIMEOUT);

    /* The thread ends first. */
    KT_ASSERT_EQ(KeWaitForMultipleObjects(3, Objects, WaitAny, Executive, KernelMode, FALSE,
                                         &Timeout, NULL),
                STATUS_WAIT_0 + 2);
    KT_ASSERT_EQ(KtWaiters[0].Status, STATUS_TIMEOUT);

    /* The timer: a synchronization timer is consumed by the wait. */
    Objects[2] = &KtEventA;
    KeSetTimer(&KtTimer, Due, NULL);
    KT_ASSERT_EQ(KeWaitForMultipleObjects(3, Objects, WaitAny, Executive, KernelMode, FALSE,
                                         &Timeout, NULL),
                STATUS_WAIT_0 + 1);
    KT_ASSERT(!KeReadStateTimer(&KtTimer));

    /* The event, set by another thread while we wait. */
    KtInitWaiter(&KtWaiters[1], NULL, WaitAny);
    KtWaiters[1].DelayMs = 10;
    KtWaiters[1].SetEvent = &KtEventB;
    KT_ASSERT_EQ(KtStartWaiter(&KtWaiters[1]), STATUS_SUCCESS);
    KT_ASSERT_EQ(KeWaitForMultipleObjects(3, Objects, WaitAny, Executive, KernelMode, FALSE,
                                         &Timeout, NULL),
                STATUS_WAIT_0);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventB), 0);

    /* Several signalled at once: the lowest index wins, the rest stay. */
    Objects[2] = KtWaiters[0].Thread;   /* ended: signalled for ever */
    KeSetEvent(&KtEventB, 0, FALSE);
    KT_ASSERT_EQ(KeWaitForMultipleObjects(3, Objects, WaitAny, Executive, KernelMode, FALSE,
                                         &Zero, NULL),
                STATUS_WAIT_0);
    KT_ASSERT_EQ(KeWaitForMultipleObjects(3, Objects, WaitAny, Executive, KernelMode, FALSE,
                                         &Zero, NULL),
                STATUS_WAIT_0 + 2);
}

/*
 * WaitAll over two events: not satisfied while only one is set - and that
 * one is not consumed meanwhile - then satisfied, consuming the
 * synchronization event and leaving the notification event signalled.
 */
KTEST(event, wait_all_needs_both_events)
{
    LARGE_INTEGER Zero = {.QuadPart = 0};
    KtDeferJoinWaiters();
    PVOID Objects[2] = {&KtEventA, &KtEventB};

    KeInitializeEvent(&KtEventA, SynchronizationEvent, FALSE);
    KeInitializeEvent(&KtEventB, NotificationEvent, FALSE);

    /* Polled from this thread. */
    KeSetEvent(&KtEventA, 0, FALSE);
    KT_ASSERT_EQ(KeWaitForMultipleObjects(2, Objects, WaitAll, Executive, KernelMode, FALSE,
                                         &Zero, NULL),
                STATUS_TIMEOUT);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 1);
    KeClearEvent(&KtEventA);

    /* Blocked in another thread. */
    KtInitWaiter(&KtWaiters[0], &KtEventA, WaitAll);
    KtWaiters[0].Objects[KtWaiters[0].Count++] = &KtEventB;
    KT_ASSERT_EQ(KtStartWaiter(&KtWaiters[0]), STATUS_SUCCESS);
    KtSleepMs(20);
    KT_ASSERT_EQ(KtWaiters[0].Thread->State, Waiting);

    KT_ASSERT_EQ(KeSetEvent(&KtEventA, 0, FALSE), 0);
    KtSleepMs(10);
    KT_ASSERT_EQ(KtWaiters[0].Runs, 0);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 1);        /* not taken by half a wait */

    KT_ASSERT_EQ(KeSetEvent(&KtEventB, 0, FALSE), 0);
    KtSleepMs(10);
    KT_ASSERT_EQ(KtWaiters[0].Runs, 1);
    KT_ASSERT_EQ(KtWaiters[0].Status, STATUS_SUCCESS);
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventA), 0);        /* consumed */
    KT_ASSERT_EQ(KeReadStateEvent(&KtEventB), 1);        /* notification: stays */
}

KTEST(event, wait_for_thread_until_it_ends)
{
    LARGE_INTEGER Zero = {.QuadPart = 0};
    KtDeferJoinWaiters();

    KtInitWaiter(&KtWaiters[0], NULL, WaitAny);
    KtWaiters[0].DelayMs = 20;
    KT_ASSERT_EQ(KtStartWaiter(&KtWaiters[0]), STATUS_SUCCESS);

    KT_ASSERT_EQ(KeWaitForSingleObject(KtWaiters[0].Thread, Executive, KernelMode, FALSE, &Zero),
                 STATUS_TIMEOUT);
    KT_ASSERT_EQ(KeWaitForSingleObject(KtWaiters[0].Thread, Executive, KernelMode, FALSE, NULL),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KtWaiters[0].Thread->State, Terminated);
    KT_ASSERT(KtWaiters[0].Thread->Header.SignalState > 0);
    /* A thread object is never reset by a wait. */
    KT_ASSERT_EQ(KeWaitForSingleObject(KtWaiters[0].Thread, Executive, KernelMode, FALSE, &Zero),
                 STATUS_SUCCESS);
}

/* Blocking at DISPATCH_LEVEL would need a context switch that the IRQL
 * forbids: Windows stops with IRQL_NOT_LESS_OR_EQUAL, and so do we. */
/* ------------------------------------------------------------------------
 * Wait = TRUE: the signal and the caller's next wait are one atomic step
 * ------------------------------------------------------------------------ */

typedef enum { KtSignalSet, KtSignalPulse, KtSignalSemaphore, KtSignalMutex } KT_SIGNAL;

static KSEMAPHORE KtSemaphore;
static KMUTEX KtMutex;
static PKTHREAD KtSignaller; /* the test's thread */
static volatile LONG KtWokenRuns; /* the woken thread ran */
static volatile LONG KtSignallerState; /* KtSignaller->State when it did */

/* Higher than the test thread: released by the signal, it would run at
 * once - unless the signaller still holds the dispatcher lock. */
static void KtWokenRoutine(PVOID Context)
{
    PKT_WAITER Waiter = Context;
    LARGE_INTEGER Timeout = {.QuadPart = KT_MS(2000)};

    Waiter->Status =
        KeWaitForSingleObject(Waiter->Objects[0], Executive, KernelMode, FALSE, &Timeout);
    KtSignallerState = KtSignaller->State;
    KtWokenRuns++;
    if (Waiter->Status == STATUS_SUCCESS && Waiter->Objects[0] == &KtMutex)
        (void)KeReleaseMutex(&KtMutex, FALSE);
    (void)KeSetEvent(&KtEventB, 0, FALSE);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void KtSignalWithWait(KT_SIGNAL Signal)
{
    switch (Signal) {
    case KtSignalSet:
        (void)KeSetEvent(&KtEventA, 0, TRUE);
        break;
    case KtSignalPulse:
        (void)KePulseEvent(&KtEventA, 0, TRUE);
        break;
    case KtSignalSemaphore:
        (void)KeReleaseSemaphore(&KtSemaphore, 0, 1, TRUE);
        break;
    case KtSignalMutex:
        (void)KeReleaseMutex(&KtMutex, TRUE);
        break;
    }
}

/* One round: a higher-priority thread waits for the object, the test
 * signals it with Wait = TRUE and then waits for KtEventB, which the woken
 * thread sets. Between the signal and the wait nothing else may run: the
 * IRQL read right after the signal is DISPATCH_LEVEL, the woken thread has
 * not run yet, and when it runs the signaller is already Waiting. */
static void KtCheckSignalWithWait(KT_SIGNAL Signal)
{
    PKT_WAITER Waiter = &KtWaiters[Signal];
    LARGE_INTEGER Timeout = {.QuadPart = KT_MS(2000)};
    PVOID Object = Signal == KtSignalSemaphore ? (PVOID)&KtSemaphore
        : Signal == KtSignalMutex              ? (PVOID)&KtMutex
                                               : (PVOID)&KtEventA;

    KeInitializeEvent(&KtEventA, NotificationEvent, FALSE);
    KeInitializeEvent(&KtEventB, SynchronizationEvent, FALSE);
    KtWokenRuns = 0;
    KtSignallerState = -1;
    KtInitWaiter(Waiter, Object, WaitAny);
    if (Signal != KtSignalSemaphore && Signal != KtSignalMutex)
        Waiter->SetEvent = &KtEventA; /* lets KtJoinWaiters end it */
    KT_ASSERT_EQ(PsCreateSystemThread(&Waiter->Handle, 0, NULL, NULL, NULL, KtWokenRoutine, Waiter),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(ObReferenceObjectByHandle(Waiter->Handle, 0, PsThreadType, KernelMode,
                                           (PVOID *)&Waiter->Thread, NULL),
                 STATUS_SUCCESS);
    (void)KeSetPriorityThread(Waiter->Thread, KeQueryPriorityThread(KtSignaller) + 2);
    KtSleepMs(20);
    KT_ASSERT_EQ(KtWaitListLength(Object), 1);

    KtSignalWithWait(Signal);
    KIRQL Irql = KeGetCurrentIrql();
    LONG RunsBeforeWait = KtWokenRuns;
    NTSTATUS Status = KeWaitForSingleObject(&KtEventB, Executive, KernelMode, FALSE, &Timeout);

    KT_EXPECT_EQ(Irql, DISPATCH_LEVEL);
    KT_EXPECT_EQ(RunsBeforeWait, 0);
    KT_EXPECT_EQ(Status, STATUS_SUCCESS);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ(KtSignaller->WaitNext, FALSE);
    KT_EXPECT_EQ(KtWokenRuns, 1);
    KT_EXPECT_EQ(KtSignallerState, Waiting);
    KT_EXPECT_EQ(Waiter->Status, STATUS_SUCCESS);
}

KTEST(event, signal_with_wait_true_is_atomic_with_the_next_wait)
{
    KtDeferJoinWaiters();
    KtSignaller = KeGetCurrentThread();

    KtCheckSignalWithWait(KtSignalSet);
    KtCheckSignalWithWait(KtSignalPulse);
    KeInitializeSemaphore(&KtSemaphore, 0, 1);
    KtCheckSignalWithWait(KtSignalSemaphore);
    KeInitializeMutex(&KtMutex, 0);
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtMutex, Executive, KernelMode, FALSE, NULL),
                 STATUS_SUCCESS);
    KtCheckSignalWithWait(KtSignalMutex);
}

/* The wait after a Wait = TRUE signal may be a poll, or a wait with bad
 * arguments: either way it returns to the signaller's IRQL. */
KTEST(event, wait_after_signal_with_wait_true_returns_to_the_callers_irql)
{
    LARGE_INTEGER Zero = {.QuadPart = 0};
    PVOID Objects[1] = {&KtEventB};

    KeInitializeEvent(&KtEventA, NotificationEvent, FALSE);
    KeInitializeEvent(&KtEventB, NotificationEvent, FALSE);
    KT_ASSERT_EQ(KeSetEvent(&KtEventA, 0, TRUE), 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(KeWaitForSingleObject(&KtEventB, Executive, KernelMode, FALSE, &Zero),
                 STATUS_TIMEOUT);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);

    /* Two signals with Wait = TRUE, then the wait: back to PASSIVE_LEVEL. */
    (void)KeResetEvent(&KtEventA);
    KT_ASSERT_EQ(KeSetEvent(&KtEventA, 0, TRUE), 0);
    KT_ASSERT_EQ(KePulseEvent(&KtEventB, 0, TRUE), 0);
    KT_EXPECT_EQ(KeWaitForSingleObject(&KtEventA, Executive, KernelMode, FALSE, NULL),
                 STATUS_SUCCESS);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);

    KT_ASSERT_EQ(KeSetEvent(&KtEventA, 0, TRUE), 1);
    KT_EXPECT_EQ(
        KeWaitForMultipleObjects(0, Objects, WaitAny, Executive, KernelMode, FALSE, &Zero, NULL),
        STATUS_INVALID_PARAMETER);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentThread()->WaitNext, FALSE);
}

KTEST_BUGCHECK(event, blocking_wait_at_dispatch_level, IRQL_NOT_LESS_OR_EQUAL)
{
    KIRQL OldIrql;

    KeInitializeEvent(&KtEventA, NotificationEvent, FALSE);
    KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
    (void)KeWaitForSingleObject(&KtEventA, Executive, KernelMode, FALSE, NULL);
    KeLowerIrql(OldIrql);
}
