/*
 * test_vm.c - NtAllocateVirtualMemory, NtFreeVirtualMemory,
 * NtProtectVirtualMemory, NtQueryVirtualMemory, and the isolation of one
 * process's memory from another's.
 */
#include "ut.h"

#define TEST_VA 0x7F7A0000000ULL

static NTSTATUS Allocate(PVOID *Base, SIZE_T Size, ULONG Type, ULONG Protect)
{
    SIZE_T S = Size;
    return NtAllocateVirtualMemory(NtCurrentProcess(), Base, 0, &S, Type, Protect);
}

static NTSTATUS Release(PVOID Base)
{
    SIZE_T Size = 0;
    return NtFreeVirtualMemory(NtCurrentProcess(), &Base, &Size, MEM_RELEASE);
}

static void AllocateWriteQueryFree(void)
{
    PVOID Base = NULL;
    SIZE_T Size = 3 * PAGE_SIZE;
    MEMORY_BASIC_INFORMATION Info;

    UT_ASSERT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                              MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    UT_ASSERT(Base != NULL);
    UT_EXPECT(((ULONG_PTR)Base & (MM_ALLOCATION_GRANULARITY - 1)) == 0);
    UT_EXPECT(Size == 3 * PAGE_SIZE);
    UT_EXPECT(*(volatile ULONG *)Base == 0); /* demand-zero */
    memset(Base, 0x5A, Size);
    UT_EXPECT(((volatile UCHAR *)Base)[Size - 1] == 0x5A);
    memset(&Info, 0, sizeof(Info));
    UT_EXPECT_SUCCESS(NtQueryVirtualMemory(NtCurrentProcess(), Base, 0, &Info, sizeof(Info), NULL));
    UT_EXPECT(Info.State == MEM_COMMIT);
    UT_EXPECT(Info.Protect == PAGE_READWRITE);
    UT_EXPECT(Info.AllocationBase == Base);
    UT_EXPECT(Info.RegionSize == 3 * PAGE_SIZE);
    UT_EXPECT_SUCCESS(Release(Base));
    UT_EXPECT_SUCCESS(NtQueryVirtualMemory(NtCurrentProcess(), Base, 0, &Info, sizeof(Info), NULL));
    UT_EXPECT(Info.State == MEM_FREE);
}

static void AllocateAtGivenBase(void)
{
    PVOID Base = (PVOID)TEST_VA, Again = (PVOID)TEST_VA;

    UT_ASSERT_SUCCESS(Allocate(&Base, PAGE_SIZE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    UT_EXPECT(Base == (PVOID)TEST_VA);
    UT_EXPECT_STATUS(Allocate(&Again, PAGE_SIZE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                     STATUS_CONFLICTING_ADDRESSES);
    UT_EXPECT_SUCCESS(Release(Base));
}

static void AllocateBadArguments(void)
{
    PVOID Base = NULL, Kernel = UT_KERNEL_VA, High = UT_NONCANONICAL;
    SIZE_T Size = PAGE_SIZE, Zero = 0;

    UT_EXPECT_STATUS(NtAllocateVirtualMemory(NtCurrentProcess(), NULL, 0, &Size,
                                             MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, NULL,
                                             MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtAllocateVirtualMemory(NtCurrentProcess(), (PVOID *)UT_KERNEL_VA, 0, &Size,
                                             MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, (PSIZE_T)UT_UNMAPPED,
                                             MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE),
                     STATUS_ACCESS_VIOLATION);
    Size = PAGE_SIZE;
    UT_EXPECT(!NT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &Kernel, 0, &Size,
                                                  MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE)));
    Size = PAGE_SIZE;
    UT_EXPECT(!NT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &High, 0, &Size,
                                                  MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE)));
    Base = NULL;
    UT_EXPECT(!NT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Zero,
                                                  MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE)));
    Base = NULL;
    Size = PAGE_SIZE;
    UT_EXPECT_STATUS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                             MEM_COMMIT | MEM_RESERVE, PAGE_WRITECOPY),
                     STATUS_INVALID_PAGE_PROTECTION);
    Base = NULL;
    Size = PAGE_SIZE;
    UT_EXPECT(!NT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size, 0x80000000,
                                                  PAGE_READWRITE)));
    Base = NULL;
    Size = PAGE_SIZE;
    UT_EXPECT_STATUS(NtAllocateVirtualMemory(UT_BAD_HANDLE, &Base, 0, &Size,
                                             MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE),
                     STATUS_INVALID_HANDLE);
}

static void ReserveThenCommit(void)
{
    PVOID Base = NULL, Page;
    SIZE_T Size = 4 * PAGE_SIZE;
    MEMORY_BASIC_INFORMATION Info;

    UT_EXPECT_SUCCESS(
        NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size, MEM_RESERVE, PAGE_READWRITE));
    memset(&Info, 0, sizeof(Info));
    UT_EXPECT_SUCCESS(NtQueryVirtualMemory(NtCurrentProcess(), Base, 0, &Info, sizeof(Info), NULL));
    UT_EXPECT(Info.State == MEM_RESERVE);
    Page = (PCHAR)Base + PAGE_SIZE;
    UT_ASSERT_SUCCESS(Allocate(&Page, PAGE_SIZE, MEM_COMMIT, PAGE_READWRITE));
    *(volatile ULONG *)Page = 1;
    UT_EXPECT_SUCCESS(NtQueryVirtualMemory(NtCurrentProcess(), Page, 0, &Info, sizeof(Info), NULL));
    UT_EXPECT(Info.State == MEM_COMMIT && Info.RegionSize == PAGE_SIZE);
    Size = PAGE_SIZE;
    UT_EXPECT_SUCCESS(NtFreeVirtualMemory(NtCurrentProcess(), &Page, &Size, MEM_DECOMMIT));
    UT_EXPECT_SUCCESS(NtQueryVirtualMemory(NtCurrentProcess(), Page, 0, &Info, sizeof(Info), NULL));
    UT_EXPECT(Info.State == MEM_RESERVE);
    UT_EXPECT_SUCCESS(Release(Base));
}

static void FreeBadArguments(void)
{
    PVOID Base = NULL, Inside;
    SIZE_T Size = 2 * PAGE_SIZE;

    UT_ASSERT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                              MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    Inside = (PCHAR)Base + PAGE_SIZE;
    Size = 0;
    UT_EXPECT_STATUS(NtFreeVirtualMemory(NtCurrentProcess(), &Inside, &Size, MEM_RELEASE),
                     STATUS_FREE_VM_NOT_AT_BASE);
    Size = 0;
    UT_EXPECT_STATUS(
        NtFreeVirtualMemory(NtCurrentProcess(), (PVOID *)UT_KERNEL_VA, &Size, MEM_RELEASE),
        STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtFreeVirtualMemory(NtCurrentProcess(), &Base, NULL, MEM_RELEASE),
                     STATUS_ACCESS_VIOLATION);
    Size = 0;
    UT_EXPECT(!NT_SUCCESS(NtFreeVirtualMemory(NtCurrentProcess(), &Base, &Size,
                                              MEM_RELEASE | MEM_DECOMMIT)));
    UT_EXPECT_SUCCESS(Release(Base));
    UT_EXPECT_STATUS(Release(Base), STATUS_MEMORY_NOT_ALLOCATED);
    UT_EXPECT(!NT_SUCCESS(Release(UT_UNMAPPED)));
}

static void ProtectToReadOnly(void)
{
    PVOID Base = NULL, P;
    SIZE_T Size = PAGE_SIZE;
    ULONG Old = 0;
    SYSTEM_MEMORY_INFORMATION *Info;

    UT_ASSERT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                              MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    *(volatile ULONG *)Base = 0x1234;
    P = Base;
    UT_EXPECT_SUCCESS(NtProtectVirtualMemory(NtCurrentProcess(), &P, &Size, PAGE_READONLY, &Old));
    UT_EXPECT(Old == PAGE_READWRITE);
    UT_EXPECT(*(volatile ULONG *)Base == 0x1234);
    /* The kernel must not write for us where we cannot write ourselves. */
    Info = Base;
    UT_EXPECT_STATUS(NtQuerySystemInformation(SystemMemoryInformation, Info, sizeof(*Info), NULL),
                     STATUS_ACCESS_VIOLATION);
    P = Base;
    UT_EXPECT_STATUS(
        NtProtectVirtualMemory(NtCurrentProcess(), &P, &Size, PAGE_READWRITE, (PULONG)UT_KERNEL_VA),
        STATUS_ACCESS_VIOLATION);
    P = Base;
    UT_EXPECT_STATUS(NtProtectVirtualMemory(NtCurrentProcess(), &P, &Size, PAGE_WRITECOPY, &Old),
                     STATUS_INVALID_PAGE_PROTECTION);
    UT_EXPECT_SUCCESS(Release(Base));
}

static void QueryBadArguments(void)
{
    MEMORY_BASIC_INFORMATION Info;

    UT_EXPECT_STATUS(
        NtQueryVirtualMemory(NtCurrentProcess(), UT_KERNEL_VA, 0, &Info, sizeof(Info), NULL),
        STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtQueryVirtualMemory(NtCurrentProcess(), (PVOID)0x140000000ULL, 0, NULL,
                                          sizeof(Info), NULL),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtQueryVirtualMemory(NtCurrentProcess(), (PVOID)0x140000000ULL, 0,
                                          UT_KERNEL_VA, sizeof(Info), NULL),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(
        NtQueryVirtualMemory(NtCurrentProcess(), (PVOID)0x140000000ULL, 0, &Info, 8, NULL),
        STATUS_INFO_LENGTH_MISMATCH);
    UT_EXPECT_STATUS(NtQueryVirtualMemory(NtCurrentProcess(), (PVOID)0x140000000ULL, 99, &Info,
                                          sizeof(Info), NULL),
                     STATUS_INVALID_INFO_CLASS);
}

static void SharedUserDataIsReadOnlyAndTicks(void)
{
    MEMORY_BASIC_INFORMATION Info;
    ULONG64 Before = PgInterruptTime100ns();

    memset(&Info, 0, sizeof(Info));
    UT_EXPECT_SUCCESS(
        NtQueryVirtualMemory(NtCurrentProcess(), UT_READONLY_VA, 0, &Info, sizeof(Info), NULL));
    UT_EXPECT(Info.State == MEM_COMMIT);
    UT_EXPECT(Info.Protect == PAGE_READONLY);
    PgSleep(30);
    UT_EXPECT(PgInterruptTime100ns() > Before);
    /* Writing it from user mode is an access violation, in a child. */
    UT_EXPECT_STATUS(UtRunChild(0, "write 0x7FFE0000"), STATUS_ACCESS_VIOLATION);
}

/* A child reading the parent's address finds nothing there, or its own page. */
static void ProcessesCannotSeeEachOther(void)
{
    PVOID Base = (PVOID)TEST_VA;

    UT_ASSERT_SUCCESS(Allocate(&Base, PAGE_SIZE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    *(volatile ULONG *)Base = 0xFA7E;
    UT_EXPECT_STATUS(UtRunChild(0, "read 0x%llx", TEST_VA), STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(UtRunChild(0, "private 0x%llx", TEST_VA), 0); /* zero, not 0xFA7E */
    UT_EXPECT(*(volatile ULONG *)Base == 0xFA7E);           /* its write did not reach us */
    UT_EXPECT_SUCCESS(Release(Base));
}

static void AllocationsComeBack(void)
{
    ULONG64 Before = UtSettledAvailablePages(), During, After;
    PVOID Base = NULL;
    SIZE_T Size = 64 * PAGE_SIZE;

    UT_ASSERT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                              MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    for (SIZE_T I = 0; I < Size; I += PAGE_SIZE)
        ((volatile char *)Base)[I] = 1;
    During = UtAvailablePages();
    UT_EXPECT_SUCCESS(Release(Base));
    After = UtSettledAvailablePages();
    UT_EXPECT(During + 64 <= Before + 8);
    UT_EXPECT(After + 8 >= Before);
}

/* Each bad argument is named by NT's numbered code: its 1-based position in
 * the service's signature. */
static void BadArgumentsAreNumbered(void)
{
    PVOID Base = NULL, Kernel = UT_KERNEL_VA, Null = (PVOID)0x1000, P;
    SIZE_T Size = PAGE_SIZE, Zero = 0, Huge = ~(SIZE_T)0;
    ULONG Old;

    UT_EXPECT_STATUS(NtAllocateVirtualMemory(NtCurrentProcess(), &Kernel, 0, &Size,
                                             MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE),
                     STATUS_INVALID_PARAMETER_2);
    Size = PAGE_SIZE;
    UT_EXPECT_STATUS(NtAllocateVirtualMemory(NtCurrentProcess(), &Null, 0, &Size,
                                             MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE),
                     STATUS_INVALID_PARAMETER_2);
    Size = PAGE_SIZE;
    UT_EXPECT_STATUS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 1, &Size,
                                             MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE),
                     STATUS_INVALID_PARAMETER_3);
    UT_EXPECT_STATUS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Zero,
                                             MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE),
                     STATUS_INVALID_PARAMETER_4);
    UT_EXPECT_STATUS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size, 0x80000000,
                                             PAGE_READWRITE),
                     STATUS_INVALID_PARAMETER_5);
    UT_EXPECT_STATUS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size, MEM_TOP_DOWN,
                                             PAGE_READWRITE),
                     STATUS_INVALID_PARAMETER_5);
    UT_EXPECT(Base == NULL && Size == PAGE_SIZE); /* untouched on failure */

    UT_ASSERT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                              MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    P = Base;
    Size = 0;
    UT_EXPECT_STATUS(NtFreeVirtualMemory(NtCurrentProcess(), &P, &Size, MEM_RELEASE | MEM_DECOMMIT),
                     STATUS_INVALID_PARAMETER_4);
    UT_EXPECT_STATUS(NtFreeVirtualMemory(NtCurrentProcess(), &Kernel, &Size, MEM_RELEASE),
                     STATUS_INVALID_PARAMETER_2);
    UT_EXPECT_STATUS(NtFreeVirtualMemory(NtCurrentProcess(), &P, &Huge, MEM_DECOMMIT),
                     STATUS_INVALID_PARAMETER_3);
    Size = PAGE_SIZE;
    UT_EXPECT_STATUS(NtProtectVirtualMemory(NtCurrentProcess(), &Kernel, &Size, PAGE_READONLY, &Old),
                     STATUS_INVALID_PARAMETER_2);
    UT_EXPECT_STATUS(NtProtectVirtualMemory(NtCurrentProcess(), &P, &Zero, PAGE_READONLY, &Old),
                     STATUS_INVALID_PARAMETER_3);
    UT_EXPECT_STATUS(NtProtectVirtualMemory(NtCurrentProcess(), &P, &Huge, PAGE_READONLY, &Old),
                     STATUS_INVALID_PARAMETER_3);
    UT_EXPECT_SUCCESS(Release(Base));
}

/* NT writes PAGE_NOACCESS to *OldProtect also when the call fails because
 * the range is not committed or not in one reservation. */
static void ProtectFailureSetsOldProtect(void)
{
    PVOID Base = NULL, P;
    SIZE_T Size = 2 * PAGE_SIZE, S;
    ULONG Old;

    UT_EXPECT_SUCCESS(
        NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size, MEM_RESERVE, PAGE_READWRITE));
    P = Base;
    S = PAGE_SIZE;
    UT_ASSERT_SUCCESS(Allocate(&P, PAGE_SIZE, MEM_COMMIT, PAGE_READWRITE));
    P = Base;
    S = 2 * PAGE_SIZE;
    Old = 0xDEAD;
    UT_EXPECT_STATUS(NtProtectVirtualMemory(NtCurrentProcess(), &P, &S, PAGE_READONLY, &Old),
                     STATUS_NOT_COMMITTED);
    UT_EXPECT_EQ(Old, PAGE_NOACCESS);
    P = (PCHAR)Base + PAGE_SIZE;
    S = 2 * PAGE_SIZE; /* runs past the reservation */
    Old = 0xDEAD;
    UT_EXPECT_STATUS(NtProtectVirtualMemory(NtCurrentProcess(), &P, &S, PAGE_READONLY, &Old),
                     STATUS_CONFLICTING_ADDRESSES);
    UT_EXPECT_EQ(Old, PAGE_NOACCESS);
    /* Other failures leave it alone. */
    P = Base;
    S = PAGE_SIZE;
    Old = 0xDEAD;
    UT_EXPECT_STATUS(NtProtectVirtualMemory(NtCurrentProcess(), &P, &S, PAGE_WRITECOPY, &Old),
                     STATUS_INVALID_PAGE_PROTECTION);
    UT_EXPECT_EQ(Old, 0xDEAD);
    UT_EXPECT_SUCCESS(Release(Base));
}

/* A system service whose output buffer is a guard page (not the stack's)
 * fails with STATUS_GUARD_PAGE_VIOLATION, as on NT, and consumes the guard:
 * the same call then succeeds. */
static void GuardPageInAServiceBuffer(void)
{
    PVOID Base = NULL;
    SIZE_T Size = PAGE_SIZE;
    MEMORY_BASIC_INFORMATION *Info;

    UT_ASSERT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                              MEM_RESERVE | MEM_COMMIT,
                                              PAGE_READWRITE | PAGE_GUARD));
    Info = Base;
    UT_EXPECT_STATUS(NtQueryVirtualMemory(NtCurrentProcess(), Base, 0, Info, sizeof(*Info), NULL),
                     STATUS_GUARD_PAGE_VIOLATION);
    UT_EXPECT_SUCCESS(NtQueryVirtualMemory(NtCurrentProcess(), Base, 0, Info, sizeof(*Info), NULL));
    UT_EXPECT(Info->Protect == PAGE_READWRITE); /* the guard is gone */
    UT_EXPECT_SUCCESS(Release(Base));
}

/* MEM_RELEASE of the middle of a reservation splits it, as on NT. */
static void PartialReleaseSplitsTheReservation(void)
{
    PVOID Base = NULL, P;
    SIZE_T Size = 6 * PAGE_SIZE, S;
    MEMORY_BASIC_INFORMATION Info;

    UT_ASSERT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                              MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    memset(Base, 0x3C, Size);
    P = (PCHAR)Base + 2 * PAGE_SIZE;
    S = 2 * PAGE_SIZE;
    UT_EXPECT_SUCCESS(NtFreeVirtualMemory(NtCurrentProcess(), &P, &S, MEM_RELEASE));
    UT_EXPECT(P == (PCHAR)Base + 2 * PAGE_SIZE && S == 2 * PAGE_SIZE);

    UT_EXPECT_SUCCESS(NtQueryVirtualMemory(NtCurrentProcess(), Base, 0, &Info, sizeof(Info), NULL));
    UT_EXPECT(Info.State == MEM_COMMIT && Info.AllocationBase == Base &&
              Info.RegionSize == 2 * PAGE_SIZE);
    UT_EXPECT_SUCCESS(NtQueryVirtualMemory(NtCurrentProcess(), P, 0, &Info, sizeof(Info), NULL));
    UT_EXPECT(Info.State == MEM_FREE && Info.RegionSize == 2 * PAGE_SIZE);
    P = (PCHAR)Base + 4 * PAGE_SIZE;
    UT_EXPECT_SUCCESS(NtQueryVirtualMemory(NtCurrentProcess(), P, 0, &Info, sizeof(Info), NULL));
    UT_EXPECT(Info.State == MEM_COMMIT && Info.AllocationBase == P &&
              Info.RegionSize == 2 * PAGE_SIZE);
    UT_EXPECT(((volatile UCHAR *)Base)[PAGE_SIZE] == 0x3C); /* both pieces keep their data */
    UT_EXPECT(((volatile UCHAR *)P)[PAGE_SIZE] == 0x3C);
    UT_EXPECT_SUCCESS(Release(P));
    UT_EXPECT_SUCCESS(Release(Base));
}

static void QueryMemory(SYSTEM_MEMORY_INFORMATION *Info)
{
    memset(Info, 0, sizeof(*Info));
    UT_EXPECT_SUCCESS(
        NtQuerySystemInformation(SystemMemoryInformation, Info, sizeof(*Info), NULL));
}

/*
 * The commit limit, as NT keeps it: committing more than RAM and the
 * pagefile can back is refused at once with STATUS_COMMITMENT_LIMIT
 * (2 GiB on a smaller machine), and every page committed within the limit
 * can be written - here nearly all that is left, touched page by page.
 */
static void CommitLimitIsEnforced(void)
{
    SYSTEM_MEMORY_INFORMATION Mem;
    PVOID Base = NULL, Big = NULL;
    SIZE_T Size;

    QueryMemory(&Mem);
    UT_ASSERT(Mem.CommittedPages > 0 && Mem.CommitLimit > Mem.CommittedPages);
    /* RAM, and the pagefile when there is one (the 32M boot of make test). */
    UT_EXPECT(Mem.CommitLimit < Mem.TotalPages + Mem.PageFilePages);
    if (Mem.TotalPages < (2ULL << 30) / PAGE_SIZE)
        UT_EXPECT_STATUS(Allocate(&Big, 2ULL << 30, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                         STATUS_COMMITMENT_LIMIT);
    UT_EXPECT(Big == NULL);

    /* Reserving costs no commit; committing the whole reservation would. */
    ULONG64 Headroom = Mem.CommitLimit - Mem.CommittedPages;
    Size = (Headroom + 64) * PAGE_SIZE;
    UT_EXPECT_SUCCESS(
        NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size, MEM_RESERVE, PAGE_READWRITE));
    UT_EXPECT_STATUS(Allocate(&Base, Size, MEM_COMMIT, PAGE_READWRITE), STATUS_COMMITMENT_LIMIT);
    QueryMemory(&Mem);
    UT_EXPECT(Mem.CommitLimit - Mem.CommittedPages + 64 >= Headroom); /* nothing charged */

    /* All but a margin (for the kernel's own page tables and pool, and the
     * other processes) commits, is charged, and can be written in full. */
    SIZE_T Pages = Headroom > 512 ? Headroom - 512 : Headroom / 2;
    UT_ASSERT_SUCCESS(Allocate(&Base, Pages * PAGE_SIZE, MEM_COMMIT, PAGE_READWRITE));
    QueryMemory(&Mem);
    UT_EXPECT(Mem.CommittedPages >= Pages);
    UT_EXPECT_STATUS(Allocate(&Base, Size, MEM_COMMIT, PAGE_READWRITE), STATUS_COMMITMENT_LIMIT);
    for (SIZE_T I = 0; I < Pages; I++)
        ((volatile ULONG64 *)Base)[I * (PAGE_SIZE / sizeof(ULONG64))] = I;
    UT_EXPECT(((volatile ULONG64 *)Base)[(Pages - 1) * (PAGE_SIZE / sizeof(ULONG64))] ==
              Pages - 1);

    /* Decommit and release give the charge back. */
    ULONG64 Charged = Mem.CommittedPages;
    PVOID Half = Base;
    SIZE_T HalfSize = (Pages / 2) * PAGE_SIZE;
    UT_EXPECT_SUCCESS(NtFreeVirtualMemory(NtCurrentProcess(), &Half, &HalfSize, MEM_DECOMMIT));
    QueryMemory(&Mem);
    UT_EXPECT_EQ(Mem.CommittedPages, Charged - Pages / 2);
    UT_EXPECT_SUCCESS(Release(Base));
    QueryMemory(&Mem);
    UT_EXPECT_EQ(Mem.CommittedPages, Charged - Pages);
}

/* A child's commit charge goes back when it exits. */
static void CommitChargeReturnsAtExit(void)
{
    SYSTEM_MEMORY_INFORMATION Before, After;

    QueryMemory(&Before);
    UT_EXPECT_STATUS(UtRunChild(0, "private 0x%llx", TEST_VA), 0);
    PgSleep(50); /* the reaper frees the child's address space */
    QueryMemory(&After);
    UT_EXPECT_EQ(After.CommittedPages, Before.CommittedPages);
}

const UT_TEST UtVmTests[] = {
    {"vm.allocate_write_query_free", AllocateWriteQueryFree},
    {"vm.allocate_at_given_base", AllocateAtGivenBase},
    {"vm.allocate_bad_arguments", AllocateBadArguments},
    {"vm.reserve_then_commit", ReserveThenCommit},
    {"vm.free_bad_arguments", FreeBadArguments},
    {"vm.protect_to_read_only", ProtectToReadOnly},
    {"vm.query_bad_arguments", QueryBadArguments},
    {"vm.shared_user_data_read_only_and_ticks", SharedUserDataIsReadOnlyAndTicks},
    {"vm.processes_cannot_see_each_other", ProcessesCannotSeeEachOther},
    {"vm.allocations_come_back", AllocationsComeBack},
    {"vm.bad_arguments_are_numbered", BadArgumentsAreNumbered},
    {"vm.protect_failure_sets_old_protect", ProtectFailureSetsOldProtect},
    {"vm.guard_page_in_a_service_buffer", GuardPageInAServiceBuffer},
    {"vm.partial_release_splits_the_reservation", PartialReleaseSplitsTheReservation},
    {"vm.commit_limit_is_enforced", CommitLimitIsEnforced},
    {"vm.commit_charge_returns_at_exit", CommitChargeReturnsAtExit},
    {NULL, NULL},
};
