/*
 * test_wait.c - NtWaitForSingleObject, NtWaitForMultipleObjects,
 * NtDelayExecution, NtYieldExecution: timeouts, wait-any and wait-all,
 * waiting on processes, bad arguments.
 */
#include "ut.h"

static void TimeoutExpires(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE);
    LARGE_INTEGER Timeout;
    ULONG64 Start = PgInterruptTime100ns();

    UT_ASSERT(E != NULL);
    Timeout.QuadPart = -200000; /* 20 ms */
    UT_EXPECT_STATUS(NtWaitForSingleObject(E, FALSE, &Timeout), STATUS_TIMEOUT);
    UT_EXPECT(PgInterruptTime100ns() - Start >= 100000);
    NtClose(E);
}

static void WaitSingleBadArguments(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, TRUE);

    UT_EXPECT_STATUS(NtWaitForSingleObject(UT_BAD_HANDLE, FALSE, NULL), STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtWaitForSingleObject(E, FALSE, (PLARGE_INTEGER)UT_KERNEL_VA),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtWaitForSingleObject(E, FALSE, (PLARGE_INTEGER)UT_NONCANONICAL),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtWaitForSingleObject(E, FALSE, (PLARGE_INTEGER)UT_UNMAPPED),
                     STATUS_ACCESS_VIOLATION);
    NtClose(E);
    UT_EXPECT_STATUS(NtWaitForSingleObject(E, FALSE, NULL), STATUS_INVALID_HANDLE);
}

static void WaitAnyAndAll(void)
{
    HANDLE H[3];
    LARGE_INTEGER Zero;

    Zero.QuadPart = 0;
    for (int I = 0; I < 3; I++)
        UT_ASSERT((H[I] = UtCreateEvent(NotificationEvent, FALSE)) != NULL);
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(3, H, WaitAny, FALSE, &Zero), STATUS_TIMEOUT);
    NtSetEvent(H[2], NULL);
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(3, H, WaitAny, FALSE, &Zero), STATUS_WAIT_0 + 2);
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(3, H, WaitAll, FALSE, &Zero), STATUS_TIMEOUT);
    NtSetEvent(H[0], NULL);
    NtSetEvent(H[1], NULL);
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(3, H, WaitAll, FALSE, &Zero), STATUS_WAIT_0);
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(3, H, WaitAny, FALSE, &Zero), STATUS_WAIT_0);
    for (int I = 0; I < 3; I++)
        NtClose(H[I]);
}

static void WaitMultipleBadArguments(void)
{
    HANDLE H[2];
    HANDLE Many[65];
    LARGE_INTEGER Zero;

    Zero.QuadPart = 0;
    H[0] = UtCreateEvent(NotificationEvent, FALSE);
    H[1] = UT_BAD_HANDLE;
    for (int I = 0; I < 65; I++)
        Many[I] = H[0];
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(2, H, WaitAny, FALSE, &Zero), STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(0, H, WaitAny, FALSE, &Zero),
                     STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(65, Many, WaitAny, FALSE, &Zero),
                     STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(1, NULL, WaitAny, FALSE, &Zero),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(1, (HANDLE *)UT_KERNEL_VA, WaitAny, FALSE, &Zero),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(1, H, (WAIT_TYPE)7, FALSE, &Zero),
                     STATUS_INVALID_PARAMETER);
    NtClose(H[0]);
}

/* NtWaitForMultipleObjects takes handles from the table only: the
 * pseudo handles are STATUS_INVALID_HANDLE there, as on NT, though
 * NtWaitForSingleObject accepts them. */
static void WaitMultipleRefusesPseudoHandles(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, TRUE);
    LARGE_INTEGER Zero = {.QuadPart = 0};
    HANDLE H[2];

    UT_ASSERT(E != NULL);
    UtDeferClose(E);
    H[0] = NtCurrentProcess();
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(1, H, WaitAny, FALSE, &Zero), STATUS_INVALID_HANDLE);
    H[0] = NtCurrentThread();
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(1, H, WaitAll, FALSE, &Zero), STATUS_INVALID_HANDLE);
    H[0] = E;
    H[1] = NtCurrentProcess();
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(2, H, WaitAny, FALSE, &Zero), STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtWaitForSingleObject(NtCurrentProcess(), FALSE, &Zero), STATUS_TIMEOUT);
}

static void WaitForProcess(void)
{
    HANDLE Child;
    LARGE_INTEGER Zero;

    Zero.QuadPart = 0;
    UT_EXPECT_SUCCESS(UtSpawnChild(&Child, 0, "sleep 200"));
    UT_EXPECT_STATUS(NtWaitForSingleObject(Child, FALSE, &Zero), STATUS_TIMEOUT);
    UT_EXPECT_STATUS(NtWaitForSingleObject(Child, FALSE, NULL), STATUS_WAIT_0);
    UT_EXPECT_STATUS(NtWaitForSingleObject(Child, FALSE, &Zero), STATUS_WAIT_0);
    NtClose(Child);
}

static void DelayAndYield(void)
{
    LARGE_INTEGER Interval;
    NTSTATUS Status;

    Interval.QuadPart = -10000; /* 1 ms */
    UT_EXPECT_SUCCESS(NtDelayExecution(FALSE, &Interval));
    UT_EXPECT_STATUS(NtDelayExecution(FALSE, NULL), STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtDelayExecution(FALSE, (PLARGE_INTEGER)UT_KERNEL_VA),
                     STATUS_ACCESS_VIOLATION);
    Status = NtYieldExecution();
    UT_EXPECT(Status == STATUS_SUCCESS || Status == STATUS_NO_YIELD_PERFORMED);
    UT_EXPECT((ULONG)NtGetCurrentProcessorNumber() < 64);
}

const UT_TEST UtWaitTests[] = {
    {"wait.timeout_expires", TimeoutExpires},
    {"wait.single_bad_arguments", WaitSingleBadArguments},
    {"wait.any_and_all", WaitAnyAndAll},
    {"wait.multiple_bad_arguments", WaitMultipleBadArguments},
    {"wait.multiple_refuses_pseudo_handles", WaitMultipleRefusesPseudoHandles},
    {"wait.for_process", WaitForProcess},
    {"wait.delay_and_yield", DelayAndYield},
    {NULL, NULL},
};
