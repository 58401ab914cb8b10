/*
 * test_stack.c - a user stack grows through its guard page whoever touches
 * it first: the thread itself, or a system service writing an output buffer
 * that lies on the stack.
 *
 * A thread's stack is a reservation whose top pages are committed, with one
 * PAGE_GUARD page below them. When the guard page is touched, the memory
 * manager commits the next page down as the new guard and the access is
 * retried (mm/fault.c). A large output buffer on the stack can reach into
 * the guard page before the thread has touched it; then the first touch is
 * the kernel's copy routine, and the stack must grow just the same: the
 * service succeeds, and the guard is re-armed one page lower so that a
 * deep recursion afterwards still grows the stack.
 *
 * Each test runs in a child ("usertests --child stackguard MODE"), so that
 * a wrong answer ends the child, not the test runner.
 */
#include "ut.h"

/* Each frame keeps 1 KiB live, so every page of the stack is touched on
 * the way down, the guard page included. */
static __attribute__((noinline)) int UtpRecurse(int Depth)
{
    volatile char Pad[1024];
    Pad[0] = (char)Depth;
    if (Depth == 0)
        return Pad[0];
    return UtpRecurse(Depth - 1) + Pad[0];
}

/* The guard page of the calling thread's stack: walk down from the page of
 * a local variable through the committed pages. NULL if none is found. */
static PUCHAR UtpFindStackGuard(void)
{
    volatile char Here = 0;
    ULONG_PTR Page = (ULONG_PTR)&Here & ~(ULONG_PTR)(PAGE_SIZE - 1);

    for (int I = 0; I < 64; I++, Page -= PAGE_SIZE) {
        MEMORY_BASIC_INFORMATION Info;
        if (!NT_SUCCESS(NtQueryVirtualMemory(NtCurrentProcess(), (PVOID)Page, 0, &Info,
                                             sizeof(Info), NULL)))
            return NULL;
        if (Info.State != MEM_COMMIT)
            return NULL;
        if (Info.Protect & PAGE_GUARD)
            return (PUCHAR)Page;
    }
    return NULL;
}

static ULONG UtpProtectionOf(PVOID Page)
{
    MEMORY_BASIC_INFORMATION Info;
    if (!NT_SUCCESS(NtQueryVirtualMemory(NtCurrentProcess(), Page, 0, &Info, sizeof(Info), NULL)))
        return 0;
    return Info.State == MEM_COMMIT ? Info.Protect : 0;
}

/*
 * The child. A service (NtQueryVirtualMemory) writes its output to the top
 * bytes of the stack's guard page, as it would for a large output buffer
 * on the stack whose low end reaches the guard. Exit status:
 *   MODE "call":    the service's status; 0x7A1 when the guard was not
 *                   re-armed one page lower, 0x7A0 when no guard was found.
 *   MODE "recurse": after the same call (its status ignored), recurse
 *                   96 KiB deeper than the old guard: 0, or the crash.
 */
int UtStackGuardChild(const char *Mode)
{
    PUCHAR Guard = UtpFindStackGuard();
    MEMORY_BASIC_INFORMATION *Out;
    NTSTATUS Status;

    if (Guard == NULL)
        return 0x7A0;
    Out = (MEMORY_BASIC_INFORMATION *)(Guard + PAGE_SIZE - sizeof(*Out));
    Status = NtQueryVirtualMemory(NtCurrentProcess(), Guard, 0, Out, sizeof(*Out), NULL);
    if (!strcmp(Mode, "recurse"))
        return UtpRecurse(96) == 96 * 97 / 2 ? 0 : 0x7A2;
    if (!NT_SUCCESS(Status))
        return Status;
    if (Out->BaseAddress != Guard || UtpProtectionOf(Guard) != PAGE_READWRITE ||
        UtpProtectionOf(Guard - PAGE_SIZE) != (PAGE_READWRITE | PAGE_GUARD))
        return 0x7A1;
    return 0;
}

/* The service succeeds, as on Windows, and the guard moves one page down. */
static void ServiceGrowsStack(void)
{
    UT_EXPECT_SUCCESS(UtRunChild(0, "stackguard call"));
}

/* After the service grew the stack, the thread's own growth still works. */
static void RecursionAfterServiceGrowsStack(void)
{
    UT_EXPECT_SUCCESS(UtRunChild(0, "stackguard recurse"));
}

/* A plain deep recursion in this thread grows the stack page by page. */
static void DeepRecursion(void)
{
    UT_EXPECT(UtpRecurse(96) == 96 * 97 / 2);
}

const UT_TEST UtStackTests[] = {
    {"stack.service_buffer_in_guard_page_grows_stack", ServiceGrowsStack},
    {"stack.recursion_after_service_grew_stack", RecursionAfterServiceGrowsStack},
    {"stack.deep_recursion_grows_stack", DeepRecursion},
    {NULL, NULL},
};
