/*
 * test_query.c - NtQuerySystemInformation: processes, memory, pool tags,
 * page-table entries and VADs, and the buffers it must refuse; and
 * NtSetSystemInformation's one class, emptying a working set.
 */
#include "ut.h"

static void MemoryInformation(void)
{
    SYSTEM_MEMORY_INFORMATION Info;
    ULONG Length = 0;

    memset(&Info, 0, sizeof(Info));
    UT_EXPECT_SUCCESS(
        NtQuerySystemInformation(SystemMemoryInformation, &Info, sizeof(Info), &Length));
    UT_EXPECT(Length == sizeof(Info));
    UT_EXPECT(Info.TotalPages > 0);
    UT_EXPECT(Info.AvailablePages <= Info.TotalPages);
    UT_EXPECT(Info.ZeroedPages <= Info.AvailablePages);
    UT_EXPECT(Info.PagesByUsage[8] > 0); /* MiUsageUser: our own pages */
}

static void BadBuffersAndClasses(void)
{
    SYSTEM_MEMORY_INFORMATION Info;
    ULONG Length;

    UT_EXPECT_STATUS(NtQuerySystemInformation(SystemMemoryInformation, &Info, 8, NULL),
                     STATUS_INFO_LENGTH_MISMATCH);
    UT_EXPECT_STATUS(NtQuerySystemInformation(SystemMemoryInformation, NULL, sizeof(Info), NULL),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(
        NtQuerySystemInformation(SystemMemoryInformation, UT_KERNEL_VA, sizeof(Info), NULL),
        STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(
        NtQuerySystemInformation(SystemMemoryInformation, UT_NONCANONICAL, sizeof(Info), NULL),
        STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(
        NtQuerySystemInformation(SystemMemoryInformation, UT_UNMAPPED, sizeof(Info), NULL),
        STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtQuerySystemInformation(SystemMemoryInformation, &Info, sizeof(Info),
                                              (PULONG)UT_KERNEL_VA),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(
        NtQuerySystemInformation((SYSTEM_INFORMATION_CLASS)77, &Info, sizeof(Info), &Length),
        STATUS_INVALID_INFO_CLASS);
    /* A buffer that runs into the kernel half. */
    UT_EXPECT_STATUS(NtQuerySystemInformation(SystemMemoryInformation,
                                              (PVOID)(0x00007FFFFFFFFFF0ULL), sizeof(Info), NULL),
                     STATUS_ACCESS_VIOLATION);
}

static void ProcessList(void)
{
    SYSTEM_PROCESS_ENTRY Me;
    ULONG Length = 0;
    SYSTEM_PROCESS_ENTRY One;

    UT_ASSERT(UtOwnProcessEntry(&Me));
    UT_EXPECT(!strncmp(Me.ImageName, "usertests", 9));
    UT_EXPECT(Me.ThreadCount >= 1);
    UT_EXPECT(Me.HandleCount >= 1);
    UT_EXPECT(Me.ExitStatus == STATUS_PENDING);
    UT_EXPECT(Me.CommittedPages >= Me.ResidentPages || Me.CommittedPages > 0);
    UT_EXPECT(Me.ResidentPages > 0);
    /* Too small for the list: the length needed comes back. */
    UT_EXPECT_STATUS(
        NtQuerySystemInformation(SystemProcessInformation, &One, sizeof(One) - 1, &Length),
        STATUS_INFO_LENGTH_MISMATCH);
    UT_EXPECT(Length >= sizeof(One));
}

static void PoolTags(void)
{
    ULONG Length;
    NTSTATUS Status;
    SYSTEM_POOLTAG *Tags = PgQuerySystem(SystemPoolTagInformation, NULL, 0, &Length, &Status);
    BOOLEAN Sane = TRUE;

    UT_ASSERT(Tags != NULL);
    UT_EXPECT(Length >= sizeof(SYSTEM_POOLTAG));
    for (ULONG I = 0; I < Length / sizeof(*Tags); I++)
        Sane = Sane && Tags[I].Allocations >= Tags[I].Frees && Tags[I].PoolType <= 1;
    UT_EXPECT(Sane);
    free(Tags);
}

static NTSTATUS QueryPte(ULONG Pid, ULONG64 Va, SYSTEM_PTE_INFORMATION *Out)
{
    union {
        SYSTEM_PTE_QUERY Query;
        SYSTEM_PTE_INFORMATION Info;
    } B;
    NTSTATUS Status;

    memset(&B, 0, sizeof(B));
    B.Query.ProcessId = Pid;
    B.Query.VirtualAddress = Va;
    Status = NtQuerySystemInformation(SystemPteInformation, &B, sizeof(B), NULL);
    *Out = B.Info;
    return Status;
}

static void PteOfOwnPages(void)
{
    SYSTEM_PTE_INFORMATION Info;
    volatile ULONG Local = 1;
    ULONG64 Code = (ULONG64)(ULONG_PTR)&PteOfOwnPages;

    UT_EXPECT_SUCCESS(QueryPte(0, (ULONG64)(ULONG_PTR)&Local, &Info));
    UT_ASSERT(Info.Levels == 4);
    UT_EXPECT((Info.Entry[3] & 0x7) == 0x7);        /* present, RW, user */
    UT_EXPECT(Info.Entry[3] & (1ULL << 63));        /* the stack is NX */
    UT_EXPECT(Info.EntryAddress[3] >= 0xFFFFF68000000000ULL &&
              Info.EntryAddress[3] < 0xFFFFF70000000000ULL); /* in the self-map */
    UT_EXPECT_SUCCESS(QueryPte(0, Code, &Info));
    UT_ASSERT(Info.Levels == 4);
    UT_EXPECT((Info.Entry[3] & 0x5) == 0x5);        /* present, user */
    UT_EXPECT(!(Info.Entry[3] & 0x2));              /* text is not writable */
    UT_EXPECT(!(Info.Entry[3] & (1ULL << 63)));     /* and is executable */
    UT_EXPECT(!NT_SUCCESS(QueryPte(0, 0x0000800000000000ULL, &Info)));
    UT_EXPECT(!NT_SUCCESS(QueryPte(0x7FFFFFF0, Code, &Info))); /* no such process */
}

static void ReleaseRegion(PVOID Base)
{
    SIZE_T Size = 0;
    NtFreeVirtualMemory(NtCurrentProcess(), &Base, &Size, MEM_RELEASE);
}

static void VadListShowsAllocations(void)
{
    SYSTEM_VAD_QUERY Query = {0};
    SYSTEM_VAD_ENTRY *Vads;
    ULONG Length;
    NTSTATUS Status;
    PVOID Base = NULL;
    SIZE_T Size = 5 * PAGE_SIZE;
    BOOLEAN Image = FALSE, Mine = FALSE;

    UT_ASSERT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                              MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    UtDefer(ReleaseRegion, Base);
    Vads = PgQuerySystem(SystemVadInformation, &Query, sizeof(Query), &Length, &Status);
    UT_ASSERT(Vads != NULL);
    for (ULONG I = 0; I < Length / sizeof(*Vads); I++) {
        if (Vads[I].StartingAddress <= 0x140001000ULL && Vads[I].EndingAddress >= 0x140001000ULL)
            Image = TRUE;
        if (Vads[I].StartingAddress == (ULONG64)(ULONG_PTR)Base) {
            Mine = TRUE;
            UT_EXPECT(Vads[I].CommittedPages == 5);
        }
    }
    free(Vads);
    UT_EXPECT(Image);
    UT_EXPECT(Mine);
}

/* Four pages committed read/write and written with I ^ Pattern, their
 * release deferred; NULL if the commit failed. */
static volatile ULONG *CommitPatternPages(ULONG Pattern)
{
    PVOID Base = NULL;
    SIZE_T Size = 4 * PAGE_SIZE;
    if (!NT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                            MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE)))
        return NULL;
    UtDefer(ReleaseRegion, Base);
    volatile ULONG *Words = Base;
    for (ULONG I = 0; I < 4 * PAGE_SIZE / sizeof(ULONG); I++)
        Words[I] = I ^ Pattern;
    return Words;
}

static BOOLEAN PatternIntact(volatile ULONG *Words, ULONG Pattern)
{
    for (ULONG I = 0; I < 4 * PAGE_SIZE / sizeof(ULONG); I++)
        if (Words[I] != (I ^ Pattern))
            return FALSE;
    return TRUE;
}

/* NtSetSystemInformation(SystemEmptyWorkingSetInformation) on ourselves:
 * our pages become transition PTEs, the written ones with their frames on
 * the modified list, and come back with their contents as soft faults
 * (docs/paging.md). */
static void TrimOwnWorkingSet(void)
{
    SYSTEM_EMPTY_WORKING_SET Request = {0, 0};
    SYSTEM_PROCESS_ENTRY Before, After;
    SYSTEM_PTE_INFORMATION Info;
    volatile ULONG *Words = CommitPatternPages(0x5A5A5A5A);
    UT_ASSERT(Words != NULL);
    PVOID Base = (PVOID)Words;
    UT_EXPECT_SUCCESS(QueryPte(0, (ULONG64)(ULONG_PTR)Base, &Info));
    UT_EXPECT(Info.Levels == 4 && (Info.Entry[3] & 1) && Info.FrameLocation == 6); /* active */
    UT_ASSERT(UtOwnProcessEntry(&Before));

    UT_ASSERT_SUCCESS(
        NtSetSystemInformation(SystemEmptyWorkingSetInformation, &Request, sizeof(Request)));
    UT_EXPECT_SUCCESS(QueryPte(0, (ULONG64)(ULONG_PTR)Base, &Info));
    UT_ASSERT(Info.Levels == 4);
    UT_EXPECT(!(Info.Entry[3] & 1)); /* not present */
    UT_EXPECT(Info.Entry[3] & (1ULL << 11)); /* transition */
    UT_EXPECT(((Info.Entry[3] >> 5) & 0x1F) == 4); /* MM_READWRITE kept */
    UT_EXPECT(Info.FrameLocation == 3); /* written: the modified list */

    UT_EXPECT(PatternIntact(Words, 0x5A5A5A5A));
    UT_EXPECT_SUCCESS(QueryPte(0, (ULONG64)(ULONG_PTR)Base, &Info));
    UT_EXPECT((Info.Entry[3] & 1) && Info.FrameLocation == 6);
    UT_ASSERT(UtOwnProcessEntry(&After));
    UT_EXPECT(After.TransitionFaults >= Before.TransitionFaults + 4);
    UT_EXPECT(After.PageFaultCount >= Before.PageFaultCount + 4);
    UT_EXPECT(After.ResidentPages == Before.ResidentPages); /* no frame was lost */
    UT_EXPECT(After.PeakWorkingSetSize >= After.WorkingSetSize && After.WorkingSetSize > 0);
}

static void SetInformationBadArguments(void)
{
    SYSTEM_EMPTY_WORKING_SET Request = {0, 0};

    UT_EXPECT_STATUS(NtSetSystemInformation(SystemMemoryInformation, &Request, sizeof(Request)),
                     STATUS_INVALID_INFO_CLASS);
    UT_EXPECT_STATUS(NtSetSystemInformation(SystemEmptyWorkingSetInformation, &Request, 4),
                     STATUS_INFO_LENGTH_MISMATCH);
    UT_EXPECT_STATUS(
        NtSetSystemInformation(SystemEmptyWorkingSetInformation, NULL, sizeof(Request)),
        STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(
        NtSetSystemInformation(SystemEmptyWorkingSetInformation, UT_KERNEL_VA, sizeof(Request)),
        STATUS_ACCESS_VIOLATION);
    Request.ProcessId = 0x7FFFFFF0; /* no such process */
    UT_EXPECT_STATUS(
        NtSetSystemInformation(SystemEmptyWorkingSetInformation, &Request, sizeof(Request)),
        STATUS_INVALID_PARAMETER);

    ULONG Command = MemoryPurgeStandbyList; /* NT has it; Pagoda does not */
    UT_EXPECT_STATUS(NtSetSystemInformation(SystemMemoryListInformation, &Command, sizeof(Command)),
                     STATUS_NOT_SUPPORTED);
    Command = MemoryCommandMax;
    UT_EXPECT_STATUS(NtSetSystemInformation(SystemMemoryListInformation, &Command, sizeof(Command)),
                     STATUS_INVALID_PARAMETER);
    UT_EXPECT_STATUS(NtSetSystemInformation(SystemMemoryListInformation, &Command, 8),
                     STATUS_INFO_LENGTH_MISMATCH);
    UT_EXPECT_STATUS(NtSetSystemInformation(SystemMemoryListInformation, UT_KERNEL_VA, 4),
                     STATUS_ACCESS_VIOLATION);
}

/* NtSetSystemInformation(SystemMemoryListInformation, MemoryFlushModifiedList)
 * after our written pages were trimmed to the modified list: with a
 * pagefile each is written and its frame moves to the standby list (the
 * PTE stays in transition); without one there is nowhere to write and the
 * frames stay modified. Either way the data comes back intact. */
static void FlushModifiedList(void)
{
    SYSTEM_EMPTY_WORKING_SET Request = {0, 0};
    SYSTEM_MEMORY_INFORMATION Memory;
    SYSTEM_PTE_INFORMATION Info;
    ULONG Command = MemoryFlushModifiedList;
    volatile ULONG *Words = CommitPatternPages(0x3C3C3C3C);
    UT_ASSERT(Words != NULL);
    PVOID Base = (PVOID)Words;
    UT_ASSERT_SUCCESS(
        NtQuerySystemInformation(SystemMemoryInformation, &Memory, sizeof(Memory), NULL));
    ULONG64 WritesBefore = Memory.PageFileWrites;
    UT_ASSERT_SUCCESS(
        NtSetSystemInformation(SystemEmptyWorkingSetInformation, &Request, sizeof(Request)));
    UT_ASSERT_SUCCESS(
        NtSetSystemInformation(SystemMemoryListInformation, &Command, sizeof(Command)));
    UT_ASSERT_SUCCESS(
        NtQuerySystemInformation(SystemMemoryInformation, &Memory, sizeof(Memory), NULL));
    for (ULONG Page = 0; Page < 4; Page++) {
        UT_EXPECT_SUCCESS(QueryPte(0, (ULONG64)(ULONG_PTR)Base + Page * PAGE_SIZE, &Info));
        UT_EXPECT(Info.Levels == 4 && (Info.Entry[3] & (1ULL << 11))); /* transition */
        if (Memory.PageFilePages != 0)
            UT_EXPECT_EQ(Info.FrameLocation, 2); /* written: standby */
        else
            UT_EXPECT_EQ(Info.FrameLocation, 3); /* no pagefile: still modified */
    }
    if (Memory.PageFilePages != 0)
        UT_EXPECT(Memory.PageFileWrites > WritesBefore);
    else
        UT_EXPECT_EQ(Memory.PageFileWrites, WritesBefore);
    UT_EXPECT(PatternIntact(Words, 0x3C3C3C3C));
}

const UT_TEST UtQueryTests[] = {
    {"query.memory_information", MemoryInformation},
    {"query.bad_buffers_and_classes", BadBuffersAndClasses},
    {"query.process_list", ProcessList},
    {"query.pool_tags", PoolTags},
    {"query.pte_of_own_pages", PteOfOwnPages},
    {"query.vad_list_shows_allocations", VadListShowsAllocations},
    {"query.trim_own_working_set", TrimOwnWorkingSet},
    {"query.set_information_bad_arguments", SetInformationBadArguments},
    {"query.flush_modified_list", FlushModifiedList},
    {NULL, NULL},
};
