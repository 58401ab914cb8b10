/*
 * test_apc.c - user APCs and alerts from ring 3 (NtQueueApcThread,
 * NtTestAlert, NtAlertThread, NtContinue, alertable waits and sleeps),
 * as NT documents them: a user APC runs only when its thread waits
 * alertably (the wait returns STATUS_USER_APC, after the routine has run)
 * or calls NtTestAlert; never in a non-alertable wait. Each test checks
 * that handles and pool come back to their baseline.
 */
#include "ut.h"

static volatile LONG ApcRuns;
static volatile ULONG_PTR ApcArguments[3];
static volatile ULONG_PTR ApcOrder[4];

static void RecordApc(PVOID A1, PVOID A2, PVOID A3)
{
    ApcArguments[0] = (ULONG_PTR)A1;
    ApcArguments[1] = (ULONG_PTR)A2;
    ApcArguments[2] = (ULONG_PTR)A3;
    if (ApcRuns < 4)
        ApcOrder[ApcRuns] = (ULONG_PTR)A1;
    __atomic_add_fetch(&ApcRuns, 1, __ATOMIC_SEQ_CST);
}

static void TestAlertDeliversQueuedApc(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    volatile ULONG64 Canary = 0xC0FFEE1234ULL;

    ApcRuns = 0;
    UT_EXPECT_SUCCESS(NtQueueApcThread(NtCurrentThread(), RecordApc, (PVOID)1, (PVOID)2, (PVOID)3));
    UT_EXPECT(ApcRuns == 0);                  /* queued, not run: no alertable point yet */
    UT_EXPECT_SUCCESS(NtTestAlert());
    UT_EXPECT(ApcRuns == 1);
    UT_EXPECT(ApcArguments[0] == 1 && ApcArguments[1] == 2 && ApcArguments[2] == 3);
    UT_EXPECT(Canary == 0xC0FFEE1234ULL);     /* the interrupted frame came back intact */
    UT_EXPECT_SUCCESS(NtTestAlert());                /* nothing left */
    UT_EXPECT(ApcRuns == 1);
    UT_EXPECT(UtBackToBaseline(Before));
}

static void NonAlertableWaitDoesNotDeliver(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE);
    LARGE_INTEGER Timeout = {.QuadPart = -200000}; /* 20 ms */

    UT_ASSERT(E != NULL);
    ApcRuns = 0;
    UT_EXPECT_SUCCESS(NtQueueApcThread(NtCurrentThread(), RecordApc, (PVOID)7, NULL, NULL));
    UT_EXPECT_STATUS(NtWaitForSingleObject(E, FALSE, &Timeout), STATUS_TIMEOUT);
    UT_EXPECT(ApcRuns == 0);
    /* An alertable wait takes it at once, without waiting for the event. */
    UT_EXPECT_STATUS(NtWaitForSingleObject(E, TRUE, NULL), STATUS_USER_APC);
    UT_EXPECT(ApcRuns == 1 && ApcArguments[0] == 7);
    NtClose(E);
    UT_EXPECT(UtBackToBaseline(Before));
}

static void TwoApcsRunInOrder(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();

    ApcRuns = 0;
    UT_EXPECT_SUCCESS(NtQueueApcThread(NtCurrentThread(), RecordApc, (PVOID)10, NULL, NULL));
    UT_EXPECT_SUCCESS(NtQueueApcThread(NtCurrentThread(), RecordApc, (PVOID)20, NULL, NULL));
    LARGE_INTEGER Sleep = {.QuadPart = -10000000}; /* 1 s: ends at once */
    UT_EXPECT_STATUS(NtDelayExecution(TRUE, &Sleep), STATUS_USER_APC);
    UT_EXPECT(ApcRuns == 2);
    UT_EXPECT(ApcOrder[0] == 10 && ApcOrder[1] == 20);
    UT_EXPECT(UtBackToBaseline(Before));
}

static HANDLE WorkerEvent;
static volatile NTSTATUS WorkerStatus;

static NTSTATUS AlertableWaiter(PVOID Parameter)
{
    (void)Parameter;
    WorkerStatus = NtWaitForSingleObject(WorkerEvent, TRUE, NULL);
    return WorkerStatus;
}

static void ApcWakesAlertableWaitOfAnotherThread(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    HANDLE Thread;
    LARGE_INTEGER Poll = {.QuadPart = 0};

    WorkerEvent = UtCreateEvent(NotificationEvent, FALSE);
    UT_ASSERT(WorkerEvent != NULL);
    ApcRuns = 0;
    WorkerStatus = STATUS_PENDING;
    UT_EXPECT_SUCCESS(PgCreateThread(AlertableWaiter, NULL, &Thread));
    PgSleep(20);
    UT_EXPECT_STATUS(NtWaitForSingleObject(Thread, FALSE, &Poll), STATUS_TIMEOUT); /* blocked */
    UT_EXPECT_SUCCESS(NtQueueApcThread(Thread, RecordApc, (PVOID)0x55, NULL, NULL));
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(Thread, FALSE, NULL));
    UT_EXPECT(ApcRuns == 1 && ApcArguments[0] == 0x55);
    UT_EXPECT_STATUS(WorkerStatus, STATUS_USER_APC);
    NtClose(Thread);
    NtClose(WorkerEvent);
    UT_EXPECT(UtBackToBaseline(Before));
}

static void AlertEndsAlertableWait(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    HANDLE Thread;

    WorkerStatus = STATUS_PENDING;
    WorkerEvent = UtCreateEvent(NotificationEvent, FALSE);
    UT_ASSERT(WorkerEvent != NULL);
    UT_EXPECT_SUCCESS(PgCreateThread(AlertableWaiter, NULL, &Thread));
    PgSleep(20);
    UT_EXPECT_SUCCESS(NtAlertThread(Thread));
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(Thread, FALSE, NULL));
    UT_EXPECT_STATUS(WorkerStatus, STATUS_ALERTED);
    NtClose(Thread);
    NtClose(WorkerEvent);
    /* Alerting oneself: the next NtTestAlert reports it, once. */
    UT_EXPECT_SUCCESS(NtAlertThread(NtCurrentThread()));
    UT_EXPECT_STATUS(NtTestAlert(), STATUS_ALERTED);
    UT_EXPECT_SUCCESS(NtTestAlert());
    UT_EXPECT(UtBackToBaseline(Before));
}

static NTSTATUS NeverAlertable(PVOID Parameter)
{
    (void)Parameter;
    PgSleep(30);
    return STATUS_SUCCESS;
}

static void QueuedApcFreedWhenThreadEnds(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    HANDLE Thread;

    ApcRuns = 0;
    UT_EXPECT_SUCCESS(PgCreateThread(NeverAlertable, NULL, &Thread));
    UT_EXPECT_SUCCESS(NtQueueApcThread(Thread, RecordApc, NULL, NULL, NULL));
    UT_EXPECT(UtDispatcherBaseline().PoolBytes > Before.PoolBytes);  /* the KAPC */
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(Thread, FALSE, NULL));
    UT_EXPECT(ApcRuns == 0);
    /* Ended: a further APC is refused. */
    UT_EXPECT_STATUS(NtQueueApcThread(Thread, RecordApc, NULL, NULL, NULL), STATUS_UNSUCCESSFUL);
    NtClose(Thread);
    UT_EXPECT(UtBackToBaseline(Before));
}

static HANDLE WaitedSemaphore;

static NTSTATUS WaitOnSemaphore(PVOID Parameter)
{
    (void)Parameter;
    WorkerStatus = NtWaitForSingleObject(WaitedSemaphore, FALSE, NULL);
    return STATUS_UNSUCCESSFUL;                 /* not reached: terminated in the wait */
}

/* NtTerminateThread reaches a thread blocked in a non-alertable wait
 * through the exit APC; the service unwinds (dropping its reference to the
 * semaphore) before the thread ends, so closing the handle frees it. */
static void TerminatedInAWaitUnwinds(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    HANDLE Thread;
    LARGE_INTEGER Poll = {.QuadPart = 0};

    WorkerStatus = STATUS_PENDING;
    UT_ASSERT_SUCCESS(NtCreateSemaphore(&WaitedSemaphore, SEMAPHORE_ALL_ACCESS, NULL, 0, 1));
    UT_EXPECT_SUCCESS(PgCreateThread(WaitOnSemaphore, NULL, &Thread));
    PgSleep(20);
    UT_EXPECT_STATUS(NtWaitForSingleObject(Thread, FALSE, &Poll), STATUS_TIMEOUT);
    UT_EXPECT_SUCCESS(NtTerminateThread(Thread, 0x4321));
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(Thread, FALSE, NULL));
    /* It never got back to user mode: the wait's status was not stored. */
    UT_EXPECT_STATUS(WorkerStatus, STATUS_PENDING);
    NtClose(Thread);
    NtClose(WaitedSemaphore);
    UT_EXPECT(UtBackToBaseline(Before));
}

static void ApcBadArguments(void)
{
    UT_BASELINE Before = UtDispatcherBaseline();
    CONTEXT Context;

    UT_EXPECT_STATUS(NtQueueApcThread(NtCurrentThread(), (PPS_APC_ROUTINE)UT_KERNEL_VA, NULL, NULL,
                               NULL),
              STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtQueueApcThread(NtCurrentThread(), NULL, NULL, NULL, NULL),
              STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtQueueApcThread(UT_BAD_HANDLE, RecordApc, NULL, NULL, NULL),
              STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtAlertThread(UT_BAD_HANDLE), STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtContinue((PCONTEXT)UT_KERNEL_VA, FALSE), STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtContinue((PCONTEXT)UT_UNMAPPED, FALSE), STATUS_ACCESS_VIOLATION);
    memset(&Context, 0, sizeof(Context));
    Context.Rip = (ULONG64)UT_KERNEL_VA;
    Context.Rsp = 0x10000;
    UT_EXPECT_STATUS(NtContinue(&Context, FALSE), STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtRegisterUserApcDispatcher(UT_KERNEL_VA), STATUS_INVALID_PARAMETER);
    UT_EXPECT(UtBackToBaseline(Before));     /* refused APCs left no KAPC behind */
}

const UT_TEST UtApcTests[] = {
    {"apc.test_alert_delivers_queued_apc", TestAlertDeliversQueuedApc},
    {"apc.nonalertable_wait_does_not_deliver", NonAlertableWaitDoesNotDeliver},
    {"apc.two_apcs_run_in_order", TwoApcsRunInOrder},
    {"apc.apc_wakes_alertable_wait_of_another_thread", ApcWakesAlertableWaitOfAnotherThread},
    {"apc.alert_ends_alertable_wait", AlertEndsAlertableWait},
    {"apc.queued_apc_freed_when_thread_ends", QueuedApcFreedWhenThreadEnds},
    {"apc.terminated_in_a_wait_unwinds", TerminatedInAWaitUnwinds},
    {"apc.bad_arguments", ApcBadArguments},
    {NULL, NULL},
};
