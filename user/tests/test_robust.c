/*
 * test_robust.c - what a program may do to itself or to another process
 * without hurting the kernel: release a thread's user stack under it, and
 * call services on a process while it ends.
 */
#include "ut.h"
#include "ntsyscalls.h"

/* The service numbers, in the order of include/ntsyscalls.h (the stubs of
 * user/lib/syscalls.S count them the same way). */
enum {
#define UTP_SERVICE_INDEX(Name, ArgCount) UtpIndex_##Name,
    PAGODA_SYSTEM_SERVICES(UTP_SERVICE_INDEX)
#undef UTP_SERVICE_INDEX
};

/* ------------------------------------------------------------------------
 * A released user stack
 * ------------------------------------------------------------------------ */

/* Where a thread's stack reservation begins (MEM_RELEASE wants that). */
static PVOID UtpStackBaseOf(HANDLE Process, PVOID InStack)
{
    MEMORY_BASIC_INFORMATION Info;
    if (!NT_SUCCESS(NtQueryVirtualMemory(Process, InStack, 0, &Info, sizeof(Info), NULL)))
        return NULL;
    return Info.AllocationBase;
}

static PVOID UtpReleaseBase;
static SIZE_T UtpReleaseSize;

/* Release this thread's own stack, then end the thread, without touching
 * the stack in between: two system calls in registers alone. */
static NTSTATUS ReleaseOwnStackAndExit(PVOID Parameter)
{
    volatile UCHAR Here;
    (void)Parameter;
    UtpReleaseBase = UtpStackBaseOf(NtCurrentProcess(), (PVOID)&Here);
    UtpReleaseSize = 0;
    if (UtpReleaseBase == NULL)
        return STATUS_UNSUCCESSFUL;
    register ULONG_PTR FreeType __asm__("r10") = MEM_RELEASE; /* the fourth argument */
    __asm__ volatile("mov %[Free], %%eax\n\t"
                     "syscall\n\t"
                     "mov %%eax, %%esi\n\t"       /* NtTerminateThread(self, that status) */
                     "mov $-2, %%rdi\n\t"
                     "mov %[Terminate], %%eax\n\t"
                     "syscall\n\t"
                     "ud2"
                     :
                     : [Free] "i"(UtpIndex_NtFreeVirtualMemory),
                       [Terminate] "i"(UtpIndex_NtTerminateThread),
                       "D"(NtCurrentProcess()), "S"(&UtpReleaseBase), "d"(&UtpReleaseSize),
                       "r"(FreeType)
                     : "rax", "rcx", "r11", "memory");
    __builtin_unreachable();
}

/* A thread releases its own stack and ends: the thread's exit copes, and
 * this process goes on (the release really happened: the range is free). */
static void ThreadReleasesOwnStack(void)
{
    HANDLE Thread;
    MEMORY_BASIC_INFORMATION Info;
    UtpReleaseBase = NULL;
    UT_ASSERT_SUCCESS(PgCreateThread(ReleaseOwnStackAndExit, NULL, &Thread));
    UtDeferClose(Thread);
    UT_ASSERT_SUCCESS(NtWaitForSingleObject(Thread, FALSE, NULL));
    UT_ASSERT(UtpReleaseBase != NULL);
    UT_ASSERT_SUCCESS(NtQueryVirtualMemory(NtCurrentProcess(), UtpReleaseBase, 0, &Info,
                                           sizeof(Info), NULL));
    UT_EXPECT_EQ(Info.State, MEM_FREE);
}

static HANDLE UtpBlock;
static PVOID volatile UtpWaiterStack;

static NTSTATUS WaitOnBlock(PVOID Parameter)
{
    volatile UCHAR Here;
    (void)Parameter;
    UtpWaiterStack = (PVOID)&Here;
    return NtWaitForSingleObject(UtpBlock, FALSE, NULL);
}

/* One thread releases another's stack while it waits in the kernel, then
 * terminates it. */
static void ThreadReleasesAnothersStack(void)
{
    HANDLE Thread;
    UtpBlock = UtCreateEvent(NotificationEvent, FALSE);
    UT_ASSERT(UtpBlock != NULL);
    UtDeferClose(UtpBlock);
    UtpWaiterStack = NULL;
    UT_ASSERT_SUCCESS(PgCreateThread(WaitOnBlock, NULL, &Thread));
    UtDeferClose(Thread);
    while (UtpWaiterStack == NULL)
        NtYieldExecution();
    PVOID Base = UtpStackBaseOf(NtCurrentProcess(), UtpWaiterStack);
    SIZE_T Size = 0;
    UT_ASSERT(Base != NULL);
    UT_ASSERT_SUCCESS(NtFreeVirtualMemory(NtCurrentProcess(), &Base, &Size, MEM_RELEASE));
    UT_EXPECT_SUCCESS(NtTerminateThread(Thread, 0x77));
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(Thread, FALSE, NULL));
}

/* A parent releases its child's stack through the process handle while
 * the child sleeps: the child crashes on its way back to ring 3 and ends
 * with STATUS_ACCESS_VIOLATION; nothing else happens. The child's first
 * stack is where this process's is: the same image, laid out the same. */
static void ParentReleasesChildsStack(void)
{
    volatile UCHAR Here;
    HANDLE Child;
    MEMORY_BASIC_INFORMATION Info;
    PVOID Base = UtpStackBaseOf(NtCurrentProcess(), (PVOID)&Here);
    SIZE_T Size = 0;
    UT_ASSERT(Base != NULL);
    UT_ASSERT_SUCCESS(UtSpawnChild(&Child, 0, "sleep 200"));
    UtDeferEndProcess(Child);
    UT_ASSERT_SUCCESS(NtQueryVirtualMemory(Child, Base, 0, &Info, sizeof(Info), NULL));
    UT_ASSERT(Info.AllocationBase == Base && Info.State != MEM_FREE);
    UT_ASSERT_SUCCESS(NtFreeVirtualMemory(Child, &Base, &Size, MEM_RELEASE));
    UT_EXPECT_STATUS(UtExitStatus(Child), STATUS_ACCESS_VIOLATION);
}

const UT_TEST UtRobustTests[] = {
    {"robust.thread_releases_own_stack", ThreadReleasesOwnStack},
    {"robust.thread_releases_anothers_stack", ThreadReleasesAnothersStack},
    {"robust.parent_releases_childs_stack", ParentReleasesChildsStack},
    {NULL, NULL},
};
