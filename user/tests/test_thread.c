/*
 * test_thread.c - user threads (NtCreateThread, NtTerminateThread): threads
 * of one process share its memory and handles, a thread handle is
 * signalled when the thread ends, and a thread blocked in a wait can be
 * terminated.
 */
#include "ut.h"

static volatile LONG Counter;

static NTSTATUS AddHundred(PVOID Parameter)
{
    for (int I = 0; I < 100; I++)
        __atomic_fetch_add(&Counter, 1, __ATOMIC_SEQ_CST);
    return (NTSTATUS)(ULONG_PTR)Parameter;
}

static void TwoThreadsShareMemory(void)
{
    HANDLE Threads[2];
    Counter = 0;
    UT_EXPECT_SUCCESS(PgCreateThread(AddHundred, (PVOID)0, &Threads[0]));
    UT_EXPECT_SUCCESS(PgCreateThread(AddHundred, (PVOID)0, &Threads[1]));
    /* Both end: WaitAll on the two thread handles. */
    UT_EXPECT_SUCCESS(NtWaitForMultipleObjects(2, Threads, WaitAll, FALSE, NULL));
    UT_EXPECT(Counter == 200);
    UT_EXPECT_SUCCESS(NtClose(Threads[0]));
    UT_EXPECT_SUCCESS(NtClose(Threads[1]));
}

static HANDLE BlockingEvent;

static NTSTATUS WaitForever(PVOID Parameter)
{
    (void)Parameter;
    NtWaitForSingleObject(BlockingEvent, FALSE, NULL);
    return STATUS_UNSUCCESSFUL; /* not reached: terminated while waiting */
}

static void TerminateWaitingThread(void)
{
    HANDLE Thread;
    LARGE_INTEGER Poll = {.QuadPart = 0};
    UT_EXPECT_SUCCESS(NtCreateEvent(&BlockingEvent, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE));
    UT_EXPECT_SUCCESS(PgCreateThread(WaitForever, NULL, &Thread));
    PgSleep(20);
    UT_EXPECT_STATUS(NtWaitForSingleObject(Thread, FALSE, &Poll),
                     STATUS_TIMEOUT); /* still waiting */
    UT_EXPECT_SUCCESS(NtTerminateThread(Thread, 0x1234));
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(Thread, FALSE, NULL));
    UT_EXPECT_SUCCESS(NtClose(Thread));
    UT_EXPECT_SUCCESS(NtClose(BlockingEvent));
}

static void CreateThreadBadArguments(void)
{
    HANDLE Thread;
    UT_EXPECT_STATUS(NtCreateThread(&Thread, NtCurrentProcess(),
                                    (PUSER_THREAD_START_ROUTINE)UT_KERNEL_VA, NULL, NULL),
                     STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtCreateThread(&Thread, NtCurrentProcess(), NULL, NULL, NULL),
                     STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtCreateThread((PHANDLE)UT_KERNEL_VA, NtCurrentProcess(),
                                    (PUSER_THREAD_START_ROUTINE)(ULONG_PTR)AddHundred, NULL, NULL),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtCreateThread(&Thread, UT_BAD_HANDLE,
                                    (PUSER_THREAD_START_ROUTINE)(ULONG_PTR)AddHundred, NULL, NULL),
                     STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtTerminateThread(UT_BAD_HANDLE, 0), STATUS_INVALID_HANDLE);
}

static void ManyThreadsComeAndGo(void)
{
    int Count = UtShort ? 20 : 100;
    ULONG64 Before = UtSettledAvailablePages();
    Counter = 0;
    for (int I = 0; I < Count; I++) {
        HANDLE Thread;
        UT_EXPECT_SUCCESS(PgCreateThread(AddHundred, NULL, &Thread));
        UT_EXPECT_SUCCESS(NtWaitForSingleObject(Thread, FALSE, NULL));
        UT_EXPECT_SUCCESS(NtClose(Thread));
    }
    UT_EXPECT(Counter == 100 * Count);
    /* Each thread had its own 256 KiB user stack: all of it came back. */
    ULONG64 After = UtSettledAvailablePages();
    UT_EXPECT(After + 16 >= Before);
}

static ULONG DeepSum(ULONG Depth)
{
    volatile UCHAR Frame[1024];
    Frame[0] = (UCHAR)Depth;
    if (Depth == 0)
        return Frame[0];
    return DeepSum(Depth - 1) + Frame[0] - Frame[0] + 1;
}

static void StackGrowsThroughItsGuardPage(void)
{
    /* The stack starts with 16 KiB committed and a guard page below. A
     * page 64 KiB below this frame is only reserved; 120 KiB of frames must
     * grow the stack through it (each guard hit commits the next page
     * down), after which it is committed. */
    MEMORY_BASIC_INFORMATION Before, After;
    volatile UCHAR Here;
    PVOID Deeper = (PVOID)(((ULONG_PTR)&Here - 64 * 1024) & ~(ULONG_PTR)0xFFF);
    UT_EXPECT_SUCCESS(
        NtQueryVirtualMemory(NtCurrentProcess(), Deeper, 0, &Before, sizeof(Before), NULL));
    UT_EXPECT(Before.State == MEM_RESERVE);
    UT_EXPECT(DeepSum(120) == 120);
    UT_EXPECT_SUCCESS(
        NtQueryVirtualMemory(NtCurrentProcess(), Deeper, 0, &After, sizeof(After), NULL));
    UT_EXPECT(After.State == MEM_COMMIT && After.Protect == PAGE_READWRITE);
}

const UT_TEST UtThreadTests[] = {
    {"thread.stack_grows_through_its_guard_page", StackGrowsThroughItsGuardPage},
    {"thread.two_threads_share_memory", TwoThreadsShareMemory},
    {"thread.terminate_waiting_thread", TerminateWaitingThread},
    {"thread.create_bad_arguments", CreateThreadBadArguments},
    {"thread.many_threads_come_and_go", ManyThreadsComeAndGo},
    {NULL, NULL},
};
