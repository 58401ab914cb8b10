/*
 * test_mutant.c - mutants, semaphores and timers from ring 3
 * (NtCreateMutant/NtReleaseMutant/NtQueryMutant, NtCreateSemaphore/
 * NtReleaseSemaphore/NtQuerySemaphore, NtCreateTimer/NtSetTimer/
 * NtCancelTimer/NtQueryTimer), alone and mixed with events and threads in
 * WaitAny and WaitAll. Each test checks that handles and pool come back
 * to their baseline.
 */
#include "ut.h"

static MUTANT_BASIC_INFORMATION QueryMutant(HANDLE Mutant)
{
    MUTANT_BASIC_INFORMATION Info;
    memset(&Info, 0x5A, sizeof(Info));
    (void)NtQueryMutant(Mutant, MutantBasicInformation, &Info, sizeof(Info), NULL);
    return Info;
}

static void MutantOwnershipAndRecursion(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    HANDLE M;
    LONG Previous = 0;
    ULONG Returned = 0;
    MUTANT_BASIC_INFORMATION Info;

    UT_EXPECT_SUCCESS(NtCreateMutant(&M, MUTANT_ALL_ACCESS, NULL, TRUE));
    UT_EXPECT_SUCCESS(NtQueryMutant(M, MutantBasicInformation, &Info, sizeof(Info), &Returned));
    UT_EXPECT(Returned == sizeof(Info));
    UT_EXPECT(Info.CurrentCount == 0 && Info.OwnedByCaller && !Info.AbandonedState);
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(M, FALSE, NULL));            /* recursive */
    UT_EXPECT(QueryMutant(M).CurrentCount == -1);
    UT_EXPECT_SUCCESS(NtReleaseMutant(M, &Previous));
    UT_EXPECT(Previous == -1);
    UT_EXPECT_SUCCESS(NtReleaseMutant(M, &Previous));
    UT_EXPECT(Previous == 0);
    Info = QueryMutant(M);
    UT_EXPECT(Info.CurrentCount == 1 && !Info.OwnedByCaller);
    UT_EXPECT_STATUS(NtReleaseMutant(M, NULL), STATUS_MUTANT_NOT_OWNED);
    UT_EXPECT_SUCCESS(NtClose(M));
    UT_EXPECT(UtBackToBaseline(Before));
}

static HANDLE SharedMutant;
static volatile NTSTATUS HelperStatus;

static NTSTATUS TakeMutantAndEnd(PVOID Parameter)
{
    (void)Parameter;
    HelperStatus = NtWaitForSingleObject(SharedMutant, FALSE, NULL);
    return STATUS_SUCCESS;                      /* ends owning it */
}

static NTSTATUS ReleaseOthersMutant(PVOID Parameter)
{
    (void)Parameter;
    HelperStatus = NtReleaseMutant(SharedMutant, NULL);
    return STATUS_SUCCESS;
}

static void MutantAbandonedByExitingThread(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    HANDLE Thread, Handles[2];

    UT_EXPECT_SUCCESS(NtCreateMutant(&SharedMutant, MUTANT_ALL_ACCESS, NULL, FALSE));
    UT_EXPECT_SUCCESS(PgCreateThread(TakeMutantAndEnd, NULL, &Thread));
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(Thread, FALSE, NULL));
    UT_EXPECT_SUCCESS(HelperStatus);
    UT_EXPECT(QueryMutant(SharedMutant).AbandonedState);
    Handles[0] = UtCreateEvent(NotificationEvent, FALSE);
    Handles[1] = SharedMutant;
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(2, Handles, WaitAny, FALSE, NULL),
              STATUS_ABANDONED_WAIT_0 + 1);
    MUTANT_BASIC_INFORMATION Info = QueryMutant(SharedMutant);
    UT_EXPECT(Info.OwnedByCaller && !Info.AbandonedState);
    UT_EXPECT_SUCCESS(NtReleaseMutant(SharedMutant, NULL));
    NtClose(Handles[0]);
    NtClose(Thread);
    NtClose(SharedMutant);
    UT_EXPECT(UtBackToBaseline(Before));
}

static void MutantReleaseByOtherThreadRefused(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    HANDLE Thread;

    UT_EXPECT_SUCCESS(NtCreateMutant(&SharedMutant, MUTANT_ALL_ACCESS, NULL, TRUE));
    UT_EXPECT_SUCCESS(PgCreateThread(ReleaseOthersMutant, NULL, &Thread));
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(Thread, FALSE, NULL));
    UT_EXPECT_STATUS(HelperStatus, STATUS_MUTANT_NOT_OWNED);
    UT_EXPECT(QueryMutant(SharedMutant).OwnedByCaller);
    UT_EXPECT_SUCCESS(NtReleaseMutant(SharedMutant, NULL));
    NtClose(Thread);
    NtClose(SharedMutant);
    /* Closing the last handle of a mutant one still owns deletes it. */
    UT_EXPECT_SUCCESS(NtCreateMutant(&SharedMutant, MUTANT_ALL_ACCESS, NULL, TRUE));
    NtClose(SharedMutant);
    UT_EXPECT(UtBackToBaseline(Before));
}

static void SemaphoreLimitAndQuery(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    HANDLE S;
    LONG Previous = 0;
    SEMAPHORE_BASIC_INFORMATION Info;
    LARGE_INTEGER Zero = {.QuadPart = 0};

    UT_EXPECT_STATUS(NtCreateSemaphore(&S, SEMAPHORE_ALL_ACCESS, NULL, 3, 2), STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtCreateSemaphore(&S, SEMAPHORE_ALL_ACCESS, NULL, 0, 0), STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtCreateSemaphore(&S, SEMAPHORE_ALL_ACCESS, NULL, -1, 2), STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtCreateSemaphore((PHANDLE)UT_KERNEL_VA, SEMAPHORE_ALL_ACCESS, NULL, 0, 2),
              STATUS_ACCESS_VIOLATION);
    UT_EXPECT_SUCCESS(NtCreateSemaphore(&S, SEMAPHORE_ALL_ACCESS, NULL, 1, 2));
    UT_EXPECT_SUCCESS(NtReleaseSemaphore(S, 1, &Previous));
    UT_EXPECT(Previous == 1);
    UT_EXPECT_STATUS(NtReleaseSemaphore(S, 1, &Previous), STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    UT_EXPECT_STATUS(NtReleaseSemaphore(S, 0, NULL), STATUS_INVALID_PARAMETER);
    UT_EXPECT_SUCCESS(NtQuerySemaphore(S, SemaphoreBasicInformation, &Info, sizeof(Info), NULL));
    UT_EXPECT(Info.CurrentCount == 2 && Info.MaximumCount == 2);
    UT_EXPECT_STATUS(NtQuerySemaphore(S, SemaphoreBasicInformation, &Info, 4, NULL),
              STATUS_INFO_LENGTH_MISMATCH);
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(S, FALSE, &Zero));
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(S, FALSE, &Zero));
    UT_EXPECT_STATUS(NtWaitForSingleObject(S, FALSE, &Zero), STATUS_TIMEOUT);
    UT_EXPECT_STATUS(NtReleaseMutant(S, NULL), STATUS_OBJECT_TYPE_MISMATCH);
    NtClose(S);
    UT_EXPECT(UtBackToBaseline(Before));
}

static void TimerSetWaitCancelQuery(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    HANDLE T;
    TIMER_BASIC_INFORMATION Info;
    BOOLEAN State = TRUE;
    LARGE_INTEGER Due = {.QuadPart = -200000};   /* 20 ms */
    LARGE_INTEGER Zero = {.QuadPart = 0};

    UT_EXPECT_STATUS(NtCreateTimer(&T, TIMER_ALL_ACCESS, NULL, (TIMER_TYPE)7), STATUS_INVALID_PARAMETER);
    UT_EXPECT_SUCCESS(NtCreateTimer(&T, TIMER_ALL_ACCESS, NULL, NotificationTimer));
    UT_EXPECT_STATUS(NtWaitForSingleObject(T, FALSE, &Zero), STATUS_TIMEOUT);
    UT_EXPECT_SUCCESS(NtSetTimer(T, &Due, NULL, NULL, 0, &State));
    UT_EXPECT(State == FALSE);
    UT_EXPECT_SUCCESS(NtQueryTimer(T, TimerBasicInformation, &Info, sizeof(Info), NULL));
    UT_EXPECT(!Info.TimerState && Info.RemainingTime.QuadPart > 0 &&
              Info.RemainingTime.QuadPart <= 200000);
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(T, FALSE, NULL));
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(T, FALSE, &Zero));      /* notification: stays */
    /* Set again (not signalled any more), then cancelled before it fires. */
    Due.QuadPart = -10000000;
    UT_EXPECT_SUCCESS(NtSetTimer(T, &Due, NULL, NULL, 0, &State));
    UT_EXPECT(State == TRUE);
    UT_EXPECT_SUCCESS(NtCancelTimer(T, &State));
    UT_EXPECT(State == FALSE);
    UT_EXPECT_STATUS(NtWaitForSingleObject(T, FALSE, &Zero), STATUS_TIMEOUT);
    UT_EXPECT_STATUS(NtSetTimer(T, &Due, UT_KERNEL_VA, NULL, 0, NULL), STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtSetTimer(T, &Due, NULL, NULL, -1, NULL), STATUS_INVALID_PARAMETER);
    NtClose(T);

    /* A periodic synchronization timer: each period releases one wait. */
    UT_EXPECT_SUCCESS(NtCreateTimer(&T, TIMER_ALL_ACCESS, NULL, SynchronizationTimer));
    Due.QuadPart = -50000;
    UT_EXPECT_SUCCESS(NtSetTimer(T, &Due, NULL, NULL, 5, NULL));
    for (int I = 0; I < 3; I++)
        UT_EXPECT_SUCCESS(NtWaitForSingleObject(T, FALSE, NULL));
    NtClose(T);   /* still set: deleting it takes it off the timer list */
    UT_EXPECT(UtBackToBaseline(Before));
}

static volatile LONG TimerApcRuns;
static volatile ULONG_PTR TimerApcContext;
static volatile ULONG64 TimerApcTime;

static void TimerApc(PVOID Context, ULONG Low, LONG High)
{
    TimerApcContext = (ULONG_PTR)Context;
    TimerApcTime = ((ULONG64)(ULONG)High << 32) | Low;
    __atomic_add_fetch(&TimerApcRuns, 1, __ATOMIC_SEQ_CST);
}

/* NtSetTimer's APC routine: a user APC to the setting thread at each
 * expiry, run only at an alertable wait; taken back by NtCancelTimer and
 * by closing the timer. */
static void TimerApcRunsAtAlertableWait(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    HANDLE T;
    LARGE_INTEGER Due = {.QuadPart = -100000};     /* 10 ms */
    LARGE_INTEGER Long = {.QuadPart = -10000000};  /* 1 s */
    ULONG64 Start = PgInterruptTime100ns();

    TimerApcRuns = 0;
    UT_ASSERT_SUCCESS(NtCreateTimer(&T, TIMER_ALL_ACCESS, NULL, NotificationTimer));
    UT_EXPECT_SUCCESS(NtSetTimer(T, &Due, (PVOID)TimerApc, (PVOID)0x77, 0, NULL));
    UT_EXPECT_STATUS(NtDelayExecution(TRUE, &Long), STATUS_USER_APC);
    UT_EXPECT(TimerApcRuns == 1 && TimerApcContext == 0x77);
    UT_EXPECT(TimerApcTime >= Start + 100000);     /* the expiry's interrupt time */

    /* A non-alertable wait on the timer does not run the APC... */
    UT_EXPECT_SUCCESS(NtSetTimer(T, &Due, (PVOID)TimerApc, (PVOID)0x78, 0, NULL));
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(T, FALSE, NULL));
    UT_EXPECT(TimerApcRuns == 1);
    /* ...NtTestAlert does. */
    UT_EXPECT_SUCCESS(NtTestAlert());
    UT_EXPECT(TimerApcRuns == 2 && TimerApcContext == 0x78);

    /* Periodic: each expiry one APC (expiries while one waits are one). */
    Due.QuadPart = -20000;
    UT_EXPECT_SUCCESS(NtSetTimer(T, &Due, (PVOID)TimerApc, NULL, 2, NULL));
    for (int I = 0; I < 3; I++)
        UT_EXPECT_STATUS(NtDelayExecution(TRUE, &Long), STATUS_USER_APC);
    UT_EXPECT(TimerApcRuns == 5);
    UT_EXPECT_SUCCESS(NtCancelTimer(T, NULL));
    PgSleep(10);
    UT_EXPECT_SUCCESS(NtTestAlert());               /* cancelled: nothing queued */
    UT_EXPECT(TimerApcRuns == 5);

    /* Closed with an APC queued: taken back, the KAPC in the timer goes. */
    UT_EXPECT_SUCCESS(NtSetTimer(T, &Due, (PVOID)TimerApc, NULL, 0, NULL));
    PgSleep(10);
    UT_EXPECT_SUCCESS(NtClose(T));
    UT_EXPECT_SUCCESS(NtTestAlert());
    UT_EXPECT(TimerApcRuns == 5);
    UT_EXPECT(UtBackToBaseline(Before));
}

static NTSTATUS ShortLived(PVOID Parameter)
{
    (void)Parameter;
    return STATUS_SUCCESS;
}

static void EveryKindInWaitAnyAndWaitAll(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    HANDLE H[5];
    LARGE_INTEGER Zero = {.QuadPart = 0};
    LARGE_INTEGER Due = {.QuadPart = -20000};

    H[0] = UtCreateEvent(SynchronizationEvent, FALSE);
    UT_EXPECT_SUCCESS(NtCreateMutant(&H[1], MUTANT_ALL_ACCESS, NULL, FALSE));
    UT_EXPECT_SUCCESS(NtCreateSemaphore(&H[2], SEMAPHORE_ALL_ACCESS, NULL, 0, 5));
    UT_EXPECT_SUCCESS(NtCreateTimer(&H[3], TIMER_ALL_ACCESS, NULL, NotificationTimer));
    UT_EXPECT_SUCCESS(PgCreateThread(ShortLived, NULL, &H[4]));
    UT_ASSERT(H[0] != NULL);

    UT_EXPECT_STATUS(NtWaitForMultipleObjects(5, H, WaitAll, FALSE, &Zero), STATUS_TIMEOUT);
    /* WaitAny picks the lowest index that is available: the free mutant. */
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(5, H, WaitAny, FALSE, &Zero), STATUS_WAIT_0 + 1);
    UT_EXPECT_SUCCESS(NtSetEvent(H[0], NULL));
    UT_EXPECT_SUCCESS(NtReleaseSemaphore(H[2], 1, NULL));
    UT_EXPECT_SUCCESS(NtSetTimer(H[3], &Due, NULL, NULL, 0, NULL));
    /* All five: the event, the mutant (ours already), a semaphore unit,
     * the timer once it fires, the thread once it ends. */
    UT_EXPECT_SUCCESS(NtWaitForMultipleObjects(5, H, WaitAll, FALSE, NULL));
    SEMAPHORE_BASIC_INFORMATION Sem;
    UT_EXPECT_SUCCESS(NtQuerySemaphore(H[2], SemaphoreBasicInformation, &Sem, sizeof(Sem), NULL));
    UT_EXPECT(Sem.CurrentCount == 0);
    UT_EXPECT(QueryMutant(H[1]).CurrentCount == -1);
    UT_EXPECT_STATUS(NtWaitForSingleObject(H[0], FALSE, &Zero), STATUS_TIMEOUT);  /* consumed */
    UT_EXPECT_SUCCESS(NtReleaseMutant(H[1], NULL));
    UT_EXPECT_SUCCESS(NtReleaseMutant(H[1], NULL));
    for (int I = 0; I < 5; I++)
        NtClose(H[I]);
    UT_EXPECT(UtBackToBaseline(Before));
}

/* The create services capture their OBJECT_ATTRIBUTES: a wrong Length or
 * a bad pointer is refused and nothing is made. (Names themselves are
 * tested in test_names.c.) */
static void CreateChecksObjectAttributes(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    OBJECT_ATTRIBUTES Attributes;
    HANDLE H;

    InitializeObjectAttributes(&Attributes, NULL, 0, NULL, NULL);
    Attributes.Length = 40;
    UT_EXPECT_STATUS(NtCreateMutant(&H, MUTANT_ALL_ACCESS, &Attributes, FALSE),
                     STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtCreateSemaphore(&H, SEMAPHORE_ALL_ACCESS, &Attributes, 0, 1),
                     STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtCreateTimer(&H, TIMER_ALL_ACCESS, &Attributes, NotificationTimer),
                     STATUS_INVALID_PARAMETER);
    POBJECT_ATTRIBUTES Bad = (POBJECT_ATTRIBUTES)UT_KERNEL_VA;
    UT_EXPECT_STATUS(NtCreateMutant(&H, MUTANT_ALL_ACCESS, Bad, FALSE), STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtCreateSemaphore(&H, SEMAPHORE_ALL_ACCESS, Bad, 0, 1),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtCreateTimer(&H, TIMER_ALL_ACCESS, Bad, NotificationTimer),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT(UtBackToBaseline(Before));
}

const UT_TEST UtMutantTests[] = {
    {"mutant.ownership_and_recursion", MutantOwnershipAndRecursion},
    {"mutant.abandoned_by_exiting_thread", MutantAbandonedByExitingThread},
    {"mutant.release_by_other_thread_refused", MutantReleaseByOtherThreadRefused},
    {"semaphore.limit_and_query", SemaphoreLimitAndQuery},
    {"timer.set_wait_cancel_query", TimerSetWaitCancelQuery},
    {"timer.apc_runs_at_alertable_wait", TimerApcRunsAtAlertableWait},
    {"dispatcher.every_kind_in_wait_any_and_wait_all", EveryKindInWaitAnyAndWaitAll},
    {"dispatcher.create_checks_object_attributes", CreateChecksObjectAttributes},
    {NULL, NULL},
};
