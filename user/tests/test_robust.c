/*
 * test_robust.c - what a program may do to itself or to another process
 * without hurting the kernel: release a thread's user stack under it, and
 * call services on a process while it ends (the process's rundown
 * protection, docs/processes-and-handles.md section 4).
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

/* ------------------------------------------------------------------------
 * Services on a process while it ends
 * ------------------------------------------------------------------------ */

static HANDLE volatile UtpRaceChild;
static volatile ULONG UtpRaceChildId;
static volatile LONG UtpRaceStop;
static volatile LONG UtpRaceBad;            /* statuses that are neither of the allowed */
static volatile NTSTATUS UtpRaceBadStatus;
static volatile LONG UtpRaceCalls, UtpRaceRefused;
static HANDLE UtpRaceEvent;

/* A thread created in the child: it ends at once. The child runs the same
 * image, so this address is code there too. */
static void UtpEndThisThread(PVOID Parameter)
{
    (void)Parameter;
    NtTerminateThread(NtCurrentThread(), 0);
}

/* A call on a process that may be ending succeeds, or fails with
 * STATUS_PROCESS_IS_TERMINATING, or with Also. */
static void UtpRaceCheck(NTSTATUS Status, NTSTATUS Also)
{
    __atomic_fetch_add(&UtpRaceCalls, 1, __ATOMIC_SEQ_CST);
    if (Status == STATUS_PROCESS_IS_TERMINATING)
        __atomic_fetch_add(&UtpRaceRefused, 1, __ATOMIC_SEQ_CST);
    else if (Status != STATUS_SUCCESS && Status != Also) {
        UtpRaceBadStatus = Status;
        __atomic_fetch_add(&UtpRaceBad, 1, __ATOMIC_SEQ_CST);
    }
}

/* The address-space services and NtCreateThread on the child, in a loop. */
static NTSTATUS UtpHammerMemory(PVOID Parameter)
{
    (void)Parameter;
    while (!UtpRaceStop) {
        HANDLE Child = UtpRaceChild, Thread;
        PVOID Base = NULL;
        SIZE_T Size = 32 * PAGE_SIZE;
        MEMORY_BASIC_INFORMATION Info;
        NTSTATUS Status = NtAllocateVirtualMemory(Child, &Base, 0, &Size, MEM_RESERVE | MEM_COMMIT,
                                                  PAGE_READWRITE);
        UtpRaceCheck(Status, STATUS_SUCCESS);
        if (NT_SUCCESS(Status)) {
            Size = 0;
            UtpRaceCheck(NtFreeVirtualMemory(Child, &Base, &Size, MEM_RELEASE), STATUS_SUCCESS);
        }
        UtpRaceCheck(NtQueryVirtualMemory(Child, (PVOID)0x140001000ULL, 0, &Info, sizeof(Info),
                                          NULL), STATUS_SUCCESS);
        Status = NtCreateThread(&Thread, Child, UtpEndThisThread, NULL, NULL);
        UtpRaceCheck(Status, STATUS_SUCCESS);
        if (NT_SUCCESS(Status))
            NtClose(Thread);
    }
    return STATUS_SUCCESS;
}

/* The handle services into and out of the child, and the queries that
 * name it by ID (which fail with STATUS_INVALID_PARAMETER once it is off
 * the process list), in a loop. */
static NTSTATUS UtpHammerHandles(PVOID Parameter)
{
    (void)Parameter;
    while (!UtpRaceStop) {
        HANDLE Child = UtpRaceChild, Handle;
        SYSTEM_VAD_QUERY VadQuery = {UtpRaceChildId};
        SYSTEM_PTE_QUERY PteQuery = {UtpRaceChildId, 0, 0x140001000ULL};
        ULONG Length;
        HANDLE InChild = NULL;
        NTSTATUS Status = NtDuplicateObject(NtCurrentProcess(), UtpRaceEvent, Child, &InChild, 0,
                                            DUPLICATE_SAME_ACCESS);
        UtpRaceCheck(Status, STATUS_SUCCESS);
        if (NT_SUCCESS(Status)) {
            /* And back out of it, by the handle it has now. */
            Status = NtDuplicateObject(Child, InChild, NtCurrentProcess(), &Handle, 0,
                                       DUPLICATE_SAME_ACCESS);
            UtpRaceCheck(Status, STATUS_SUCCESS);
            if (NT_SUCCESS(Status))
                NtClose(Handle);
        }
        free(PgQuerySystem(SystemVadInformation, &VadQuery, sizeof(VadQuery), &Length, &Status));
        UtpRaceCheck(Status, STATUS_INVALID_PARAMETER);
        free(PgQuerySystem(SystemPteInformation, &PteQuery, sizeof(PteQuery), &Length, &Status));
        UtpRaceCheck(Status, STATUS_INVALID_PARAMETER);
    }
    return STATUS_SUCCESS;
}

/* One round: a child that lives a few milliseconds (ended by its own
 * exit or by NtTerminateProcess), two threads calling services on it all
 * the while, and on for a moment after its end, through its rundown.
 * FALSE if the round could not be set up. */
static BOOLEAN UtpRaceRound(int Round)
{
    HANDLE Child, Hammers[2];
    if (!NT_SUCCESS(UtSpawnChild(&Child, 0, "sleep %d", Round % 4)))
        return FALSE;
    PUT_DEFERRED EndChild = UtDeferEndProcess(Child);
    UtpRaceChild = Child;
    UtpRaceChildId = PgProcessIdOf(Child);
    UtpRaceStop = 0;
    if (!NT_SUCCESS(PgCreateThread(UtpHammerMemory, NULL, &Hammers[0]))) {
        UtCleanupNow(EndChild);
        return FALSE;
    }
    if (!NT_SUCCESS(PgCreateThread(UtpHammerHandles, NULL, &Hammers[1])))
        Hammers[1] = NULL;
    if (Round & 1) {
        PgSleep(Round % 3);
        NtTerminateProcess(Child, 0x1234);
    }
    UtExitStatus(Child);
    PgSleep(1 + Round % 3);
    UtpRaceStop = 1;
    NtWaitForMultipleObjects(Hammers[1] ? 2 : 1, Hammers, WaitAll, FALSE, NULL);
    NtClose(Hammers[0]);
    if (Hammers[1])
        NtClose(Hammers[1]);
    UtCleanupNow(EndChild);
    return Hammers[1] != NULL;
}

/* The MI_PFN_USAGE indices of SYSTEM_MEMORY_INFORMATION.PagesByUsage
 * (mm/mm.h). */
#define UTP_USAGE_NONPAGED_POOL 5
#define UTP_USAGE_KERNEL_STACK  7
#define UTP_USAGE_USER          8

static BOOLEAN UtpUsageBack(const SYSTEM_MEMORY_INFORMATION *Before,
                            const SYSTEM_MEMORY_INFORMATION *After, int Usage)
{
    if (After->PagesByUsage[Usage] <= Before->PagesByUsage[Usage] + 16)
        return TRUE;
    printf("  pages of usage %d: %llu before, %llu after\n", Usage,
           (unsigned long long)Before->PagesByUsage[Usage],
           (unsigned long long)After->PagesByUsage[Usage]);
    return FALSE;
}

/* Many rounds of services racing a process's exit: each call succeeds or
 * says STATUS_PROCESS_IS_TERMINATING, the kernel survives, and every
 * child's memory comes back: its user pages, the kernel stacks of its
 * threads, the pool its handle table used. (Not the page-table count: the
 * system-PTE region hands out kernel-stack addresses from a rotating hint,
 * and the kernel's page tables for that region stay once made.) */
static void ServicesRaceProcessExit(void)
{
    int Rounds = UtShort ? 30 : 100;
    SYSTEM_MEMORY_INFORMATION Before, After;
    UtpRaceEvent = UtCreateEvent(NotificationEvent, FALSE);
    UT_ASSERT(UtpRaceEvent != NULL);
    UtDeferClose(UtpRaceEvent);
    UtpRaceBad = UtpRaceCalls = UtpRaceRefused = 0;
    /* The first rounds grow the pools (a child's handle table holds
     * thousands of duplicated handles): count pages only after them. */
    for (int Round = 0; Round < Rounds + 10; Round++) {
        if (Round == 10) {
            UtSettledAvailablePages();
            UT_ASSERT_SUCCESS(NtQuerySystemInformation(SystemMemoryInformation, &Before,
                                                       sizeof(Before), NULL));
        }
        UT_ASSERT(UtpRaceRound(Round));
    }
    if (UtpRaceBad != 0)
        printf("  %d calls gave an unexpected status, the last 0x%08x\n", (int)UtpRaceBad,
               (ULONG)UtpRaceBadStatus);
    UT_EXPECT_EQ(UtpRaceBad, 0);
    UT_EXPECT(UtpRaceRefused > 0);  /* some calls did reach an ending process */
    UT_EXPECT(UtpRaceCalls > UtpRaceRefused);
    UtSettledAvailablePages();
    UT_ASSERT_SUCCESS(NtQuerySystemInformation(SystemMemoryInformation, &After, sizeof(After),
                                               NULL));
    UT_EXPECT(UtpUsageBack(&Before, &After, UTP_USAGE_USER));
    UT_EXPECT(UtpUsageBack(&Before, &After, UTP_USAGE_KERNEL_STACK));
    UT_EXPECT(UtpUsageBack(&Before, &After, UTP_USAGE_NONPAGED_POOL));
}

/* ------------------------------------------------------------------------
 * Running out of processes
 * ------------------------------------------------------------------------ */

#define UTP_MAX_CHILDREN 2048
#define UTP_USAGE_PAGE_TABLES 3
#define UTP_USAGE_PAGED_POOL 6
static HANDLE UtpChildren[UTP_MAX_CHILDREN];

/* What every process gives back when it is gone: frames (free, plus those
 * the pools and system space's page tables keep once grown - those stay
 * by design), the other processes' page tables, and this process's
 * handles. */
typedef struct _UTP_RESOURCES {
    ULONG64 Pages, ProcessPageTables;
    ULONG Handles;
    ULONG64 PagesByUsage[16];
} UTP_RESOURCES;

static BOOLEAN UtpResources(UTP_RESOURCES *R)
{
    SYSTEM_MEMORY_INFORMATION M;
    SYSTEM_PROCESS_ENTRY Own;
    /* Own entry first: its query's heap may touch a new page, which the
     * memory figures read next then include. */
    memset(&M, 0, sizeof(M));
    if (!UtOwnProcessEntry(&Own) ||
        !NT_SUCCESS(NtQuerySystemInformation(SystemMemoryInformation, &M, sizeof(M), NULL)))
        return FALSE;
    /* This process's own pages and tables count as free: the test itself
     * touches new ones (its handle array, its heap), and gets them back
     * when it ends. Free frames are the available ones but standby: a
     * standby frame holds a trimmed page, of this process (in its
     * ResidentPages until the frame is reused) or of paged pool (in its
     * usage count); counted as available too it would count twice (at
     * -m 32M the working-set manager trims this process while the
     * children fill memory). */
    R->Pages = M.AvailablePages - M.StandbyPages + M.PagesByUsage[UTP_USAGE_NONPAGED_POOL] +
        M.PagesByUsage[UTP_USAGE_PAGED_POOL] + M.SystemPageTablePages + Own.ResidentPages +
        Own.PageTablePages;
    R->ProcessPageTables =
        M.PagesByUsage[UTP_USAGE_PAGE_TABLES] - M.SystemPageTablePages - Own.PageTablePages;
    R->Handles = Own.HandleCount;
    memcpy(R->PagesByUsage, M.PagesByUsage, sizeof(R->PagesByUsage));
    return TRUE;
}

/* Back to Before once the reaper has run (retried for up to 2 s). */
static BOOLEAN UtpResourcesBack(const UTP_RESOURCES *Before)
{
    UTP_RESOURCES Now = {0};
    for (int Try = 0; Try < 40; Try++) {
        PgSleep(50);
        if (UtpResources(&Now) && Now.Pages == Before->Pages &&
            Now.ProcessPageTables == Before->ProcessPageTables && Now.Handles == Before->Handles)
            return TRUE;
    }
    printf("  pages %llu -> %llu, user page tables %llu -> %llu, handles %u -> %u\n", Before->Pages,
           Now.Pages, Before->ProcessPageTables, Now.ProcessPageTables, Before->Handles,
           Now.Handles);
    for (int Usage = 0; Usage < 16; Usage++)
        if (Now.PagesByUsage[Usage] != Before->PagesByUsage[Usage])
            printf("  pages of usage %d: %llu -> %llu\n", Usage, Before->PagesByUsage[Usage],
                   Now.PagesByUsage[Usage]);
    return FALSE;
}

/*
 * Create sleeping children until the machine cannot make one more: the
 * creation that fails says STATUS_INSUFFICIENT_RESOURCES (NT's answer
 * when a process's memory cannot be had) - not an access violation from
 * a half-built process - and once the children are ended every frame,
 * page table and handle they held is back.
 */
static void ProcessExhaustionFailsCleanly(void)
{
    UTP_RESOURCES Before;
    NTSTATUS Status = STATUS_SUCCESS;
    ULONG Count = 0;

    PgSleep(50);
    UT_ASSERT(UtpResources(&Before)); /* twice: the first may grow the heap */
    UT_ASSERT(UtpResources(&Before));
    while (Count < UTP_MAX_CHILDREN) {
        Status = UtSpawnChild(&UtpChildren[Count], 0, "sleep 600000");
        if (!NT_SUCCESS(Status))
            break;
        Count++;
    }
    printf("  %u children made; the next: 0x%08x\n", Count, (ULONG)Status);
    for (ULONG I = 0; I < Count; I++) {
        UT_EXPECT_SUCCESS(NtTerminateProcess(UtpChildren[I], STATUS_CANCELLED));
        /* Ended by us, or - started as memory ran out - by its runtime,
         * which could not allocate its arguments. */
        NTSTATUS Exit = UtExitStatus(UtpChildren[I]);
        UT_EXPECT(Exit == STATUS_CANCELLED || Exit == STATUS_NO_MEMORY);
        UT_EXPECT_SUCCESS(NtClose(UtpChildren[I]));
    }
    UT_EXPECT(Count > 0 && Count < UTP_MAX_CHILDREN); /* it did run out */
    /* The commit charge is what runs out first (a process's image, stack
     * and parameters are committed memory): NT's STATUS_COMMITMENT_LIMIT
     * (ERROR_COMMITMENT_LIMIT from CreateProcess). When frames run out
     * first - kernel stacks and page tables are not charged -
     * STATUS_INSUFFICIENT_RESOURCES. Never an access violation. */
    UT_EXPECT(Status == STATUS_COMMITMENT_LIMIT || Status == STATUS_INSUFFICIENT_RESOURCES);
    UT_EXPECT(UtpResourcesBack(&Before));
    /* And the machine works again. */
    UT_EXPECT_SUCCESS(UtRunChild(0, "sleep 1"));
}

const UT_TEST UtRobustTests[] = {
    {"robust.thread_releases_own_stack", ThreadReleasesOwnStack},
    {"robust.thread_releases_anothers_stack", ThreadReleasesAnothersStack},
    {"robust.parent_releases_childs_stack", ParentReleasesChildsStack},
    {"robust.services_race_process_exit", ServicesRaceProcessExit},
    {"robust.process_exhaustion_fails_cleanly", ProcessExhaustionFailsCleanly},
    {NULL, NULL},
};
