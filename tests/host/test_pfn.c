/*
 * test_pfn.c - host unit tests of the PFN database's bookkeeping (mm/pfn.c):
 * building the lists from RAM runs, allocation and free, counts per usage,
 * and the bugchecks for corrupt frees. The database is a heap array here;
 * the boot-time helpers it calls are stubs.
 */
#include <setjmp.h>
#include "htest.h"
#include "../../mm/mi.h"

PHYSICAL_MEMORY_DESCRIPTOR MmPhysicalMemoryBlock;
/* mm/specpool.c's low resources simulation, which MmAllocatePhysicalPage
 * asks: off unless a test turns it on, and then every allocation fails. */
BOOLEAN MiLowResourcesActive;
static int InjectedFailures;
BOOLEAN MiVerifierInjectFailureSlow(void)
{
    InjectedFailures++;
    return TRUE;
}

static jmp_buf BugCheckJump;
static ULONG BugCheckCode;
static ULONG_PTR BugCheckParameter1;
static int ZeroCalls;

void KeBugCheckEx(ULONG Code, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR P4)
{
    (void)P2, (void)P3, (void)P4;
    BugCheckCode = Code;
    BugCheckParameter1 = P1;
    longjmp(BugCheckJump, 1);
}

void KiAssertionFailed(const char *Expression, const char *File, int Line)
{
    printf("assertion failed: %s (%s:%d)\n", Expression, File, Line);
    KeBugCheckEx(ASSERTION_FAILURE, 0, 0, 0, 0);
}

/* Frames 256..299: the kernel image; 300..309: boot page tables. */
MI_PFN_USAGE MiBootUsageOfPage(PFN_NUMBER Pfn)
{
    return (Pfn >= 256 && Pfn < 300) ? MiUsageKernelImage : MiUsageFree;
}

PFN_NUMBER MiBootExclusionLimit(void)
{
    return 310;
}

BOOLEAN MiIsEarlyAllocated(PFN_NUMBER Pfn)
{
    return Pfn >= 300 && Pfn < 310;
}

/* mm/wsmgr.c's wake-up and threshold: no manager on the host. */
PFN_NUMBER MmMinimumAvailablePages;
void MiWakeWorkingSetManager(void)
{
}

/* mm/pagefile.c: no pagefile on the host, so no slot is ever released. */
PMMPAGING_FILE MmPagingFile[MI_MAX_PAGING_FILES];
ULONG64 MmPagesWritten, MmPageFileWrites, MmPageFileReads, MmPageFilePagesRead;
PFN_NUMBER MmModifiedPageMaximum = (PFN_NUMBER)-1;
void MiWakeModifiedPageWriter(void)
{
}

/* Nobody waits for frames on the host. */
ULONG MiAvailablePagesWaiters;
ULONG64 MiAvailablePagesGeneration;
void MiSignalAvailablePages(void)
{
}

void MiReleasePageFileSlot(PFN_NUMBER Slot)
{
    (void)Slot;
    KeBugCheckEx(MEMORY_MANAGEMENT, 0x7778, 0, 0, 0);
}

/* Reusing a standby page rewrites its PTE through hyperspace; the host
 * tests put no page on standby, so the window is never asked for. */
PVOID MiMapPageInHyperspace(PFN_NUMBER Pfn, PKIRQL OldIrql)
{
    (void)Pfn, (void)OldIrql;
    KeBugCheckEx(MEMORY_MANAGEMENT, 0x7777, 0, 0, 0);
    return NULL;
}

void MiUnmapPageInHyperspace(PVOID Va, KIRQL OldIrql)
{
    (void)Va, (void)OldIrql;
}

void MiZeroPhysicalPage(PFN_NUMBER Pfn)
{
    (void)Pfn;
    ZeroCalls++;
}

#define RUN0_BASE 256
#define RUN0_PAGES 1000
#define RUN1_BASE 4096
#define RUN1_PAGES 500
#define TOTAL (RUN0_PAGES + RUN1_PAGES)
#define BOOT_USED 54

static PMMPFN HostDatabase;

static void Setup(void)
{
    free(HostDatabase);
    HostDatabase = calloc(RUN1_BASE + RUN1_PAGES, sizeof(MMPFN));
    MmPfnDatabase = HostDatabase;
    memset(&MmPhysicalMemoryBlock, 0, sizeof(MmPhysicalMemoryBlock));
    MmPhysicalMemoryBlock.NumberOfRuns = 2;
    MmPhysicalMemoryBlock.Run[0] = (PHYSICAL_MEMORY_RUN){RUN0_BASE, RUN0_PAGES};
    MmPhysicalMemoryBlock.Run[1] = (PHYSICAL_MEMORY_RUN){RUN1_BASE, RUN1_PAGES};
    MmPhysicalMemoryBlock.NumberOfPages = TOTAL;
    MmFreePageListHead = (MMPFNLIST){0, FreePageList, MM_EMPTY_LIST, MM_EMPTY_LIST};
    MmZeroedPageListHead = (MMPFNLIST){0, ZeroedPageList, MM_EMPTY_LIST, MM_EMPTY_LIST};
    /* Usage counters are static in pfn.c: give back what the last test
     * left by freeing nothing; each test starts from its own baseline. */
    MiPfnDatabaseReady = FALSE;
    MiInitializePfnDatabase();
}

HTEST(initialization_puts_every_other_frame_on_the_free_list)
{
    PFN_NUMBER KernelBefore = MmPagesInUse(MiUsageKernelImage);
    PFN_NUMBER TablesBefore = MmPagesInUse(MiUsagePageTable);
    Setup();
    HT_ASSERT(MiPfnDatabaseReady);
    HT_ASSERT(MmAvailablePages() == TOTAL - BOOT_USED);
    HT_ASSERT(MmPagesInUse(MiUsageKernelImage) - KernelBefore == 44);
    HT_ASSERT(MmPagesInUse(MiUsagePageTable) - TablesBefore == 10);
    HT_ASSERT(MI_PFN_ELEMENT(256)->PageLocation == ActiveAndValid);
    HT_ASSERT(MI_PFN_ELEMENT(310)->PageLocation == FreePageList);
    HT_ASSERT(MiIsPfnInDatabase(RUN1_BASE + RUN1_PAGES - 1));
    HT_ASSERT(!MiIsPfnInDatabase(RUN1_BASE + RUN1_PAGES));
    HT_ASSERT(!MiIsPfnInDatabase(RUN0_BASE + RUN0_PAGES));
    HT_ASSERT(!MiIsPfnInDatabase(RUN0_BASE - 1));
}

HTEST(allocating_everything_gives_each_frame_once_then_fails_cleanly)
{
    Setup();
    PFN_NUMBER Available = MmAvailablePages();
    PFN_NUMBER DriverBefore = MmPagesInUse(MiUsageDriver);
    static unsigned char Seen[RUN1_BASE + RUN1_PAGES];
    memset(Seen, 0, sizeof(Seen));
    PFN_NUMBER Pfn, Count = 0, Drivers;
    /* A driver (a resident use) stops at the floor of resident available
     * pages (NT's rule, mm/pfn.c); the frames below it go to pageable
     * uses only: take them as user frames. */
    for (BOOLEAN Pageable = FALSE;; Pageable = TRUE) {
        while (Pageable ? (Pfn = MiRemoveAnyPage(MiUsageUser)) != MM_EMPTY_LIST
                        : NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn))) {
            HT_ASSERT(MiIsPfnInDatabase(Pfn));
            HT_ASSERT(!Seen[Pfn]);
            HT_ASSERT(MiBootUsageOfPage(Pfn) == MiUsageFree && !MiIsEarlyAllocated(Pfn));
            HT_ASSERT(MI_PFN_ELEMENT(Pfn)->PageLocation == ActiveAndValid);
            Seen[Pfn] = 1;
            Count++;
        }
        if (Pageable)
            break;
        Drivers = Count;
        HT_ASSERT(MiResidentAvailablePages() == MiMinimumResidentAvailablePages());
    }
    HT_ASSERT(Drivers == Available - MiMinimumResidentAvailablePages());
    HT_ASSERT(Count == Available);
    HT_ASSERT(MmAvailablePages() == 0);
    HT_ASSERT(MmPagesInUse(MiUsageDriver) - DriverBefore == Drivers);
    HT_ASSERT(MmAllocatePhysicalPage(MiUsageDriver, TRUE, &Pfn) == STATUS_INSUFFICIENT_RESOURCES);
    for (PFN_NUMBER i = 0; i < RUN1_BASE + RUN1_PAGES; i++) {
        if (Seen[i])
            MmFreePhysicalPage(i);
    }
    HT_ASSERT(MmAvailablePages() == Available);
    HT_ASSERT(MmPagesInUse(MiUsageDriver) == DriverBefore);
}

HTEST(low_resources_simulation_fails_an_allocation_without_taking_a_frame)
{
    Setup();
    PFN_NUMBER Available = MmAvailablePages();
    PFN_NUMBER Pfn = 12345;

    MiLowResourcesActive = TRUE;
    InjectedFailures = 0;
    HT_ASSERT(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn) == STATUS_INSUFFICIENT_RESOURCES);
    MiLowResourcesActive = FALSE;
    HT_ASSERT(InjectedFailures == 1);
    HT_ASSERT(Pfn == 12345);
    HT_ASSERT(MmAvailablePages() == Available);
    HT_ASSERT(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn)));
    HT_ASSERT(InjectedFailures == 1);
    MmFreePhysicalPage(Pfn);
}

HTEST(zeroed_allocation_zeroes_a_frame_from_the_free_list)
{
    Setup();
    PFN_NUMBER Pfn;
    int Before = ZeroCalls;
    HT_ASSERT(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, TRUE, &Pfn)));
    HT_ASSERT(ZeroCalls == Before + 1);
    HT_ASSERT(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn)));
    HT_ASSERT(ZeroCalls == Before + 1);
}

HTEST(double_free_is_pfn_list_corrupt)
{
    Setup();
    PFN_NUMBER Pfn;
    HT_ASSERT(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn)));
    MmFreePhysicalPage(Pfn);
    BugCheckCode = 0;
    if (setjmp(BugCheckJump) == 0)
        MmFreePhysicalPage(Pfn);
    HT_ASSERT(BugCheckCode == PFN_LIST_CORRUPT);
    HT_ASSERT(BugCheckParameter1 == 0x99);
}

HTEST(freeing_a_frame_outside_ram_is_pfn_list_corrupt)
{
    Setup();
    BugCheckCode = 0;
    if (setjmp(BugCheckJump) == 0)
        MmFreePhysicalPage(RUN0_BASE + RUN0_PAGES + 5);
    HT_ASSERT(BugCheckCode == PFN_LIST_CORRUPT);
}

HTEST(lists_stay_linked_both_ways)
{
    Setup();
    PFN_NUMBER Pfns[64];
    for (int i = 0; i < 64; i++)
        HT_ASSERT(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfns[i])));
    for (int i = 0; i < 64; i += 3)
        MmFreePhysicalPage(Pfns[i]);
    PFN_NUMBER Count = 0, Previous = MM_EMPTY_LIST;
    for (PFN_NUMBER P = MmFreePageListHead.Flink; P != MM_EMPTY_LIST; P = MI_PFN_ELEMENT(P)->Flink) {
        HT_ASSERT(MI_PFN_ELEMENT(P)->Blink == Previous);
        Previous = P;
        Count++;
    }
    HT_ASSERT(Previous == MmFreePageListHead.Blink);
    HT_ASSERT(Count == MmFreePageListHead.Total);
}

/* The MDL lock count (mm/mdl.c): a locked frame its owner frees waits,
 * off every list, for its last unlock. */
HTEST(a_frame_freed_while_locked_waits_for_its_last_unlock)
{
    Setup();
    PFN_NUMBER Pfn;
    HT_ASSERT(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn)));
    PFN_NUMBER Available = MmAvailablePages();
    PFN_NUMBER Driver = MmPagesInUse(MiUsageDriver);
    HT_ASSERT(MiLockPageFrame(Pfn) && MiLockPageFrame(Pfn));
    HT_ASSERT(MI_PFN_ELEMENT(Pfn)->ReferenceCount == 3);
    MmFreePhysicalPage(Pfn);
    HT_ASSERT(MI_PFN_ELEMENT(Pfn)->ReferenceCount == 2);
    HT_ASSERT(MI_PFN_ELEMENT(Pfn)->PageLocation == ActiveAndValid);
    HT_ASSERT(MmAvailablePages() == Available);
    MiUnlockPageFrame(Pfn);
    HT_ASSERT(MI_PFN_ELEMENT(Pfn)->PageLocation == ActiveAndValid);
    MiUnlockPageFrame(Pfn);
    HT_ASSERT(MI_PFN_ELEMENT(Pfn)->PageLocation == FreePageList);
    HT_ASSERT(MI_PFN_ELEMENT(Pfn)->ReferenceCount == 0);
    HT_ASSERT(MmAvailablePages() == Available + 1);
    HT_ASSERT(MmPagesInUse(MiUsageDriver) == Driver - 1);
}

HTEST(locking_and_unlocking_a_frame_its_owner_keeps_changes_nothing)
{
    Setup();
    PFN_NUMBER Pfn;
    HT_ASSERT(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn)));
    PFN_NUMBER Available = MmAvailablePages();
    HT_ASSERT(MiLockPageFrame(Pfn));
    MiUnlockPageFrame(Pfn);
    HT_ASSERT(MI_PFN_ELEMENT(Pfn)->ReferenceCount == 1);
    HT_ASSERT(MI_PFN_ELEMENT(Pfn)->PageLocation == ActiveAndValid);
    HT_ASSERT(MmAvailablePages() == Available);
    /* The count saturates instead of wrapping to "free". */
    MI_PFN_ELEMENT(Pfn)->ReferenceCount = MI_MAXIMUM_REFERENCE_COUNT;
    HT_ASSERT(!MiLockPageFrame(Pfn));
    HT_ASSERT(MI_PFN_ELEMENT(Pfn)->ReferenceCount == MI_MAXIMUM_REFERENCE_COUNT);
    MI_PFN_ELEMENT(Pfn)->ReferenceCount = 1;
    MmFreePhysicalPage(Pfn);
    HT_ASSERT(MmAvailablePages() == Available + 1);
}

HTEST(unlocking_a_free_frame_is_pfn_list_corrupt)
{
    Setup();
    PFN_NUMBER Pfn;
    HT_ASSERT(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn)));
    MmFreePhysicalPage(Pfn);
    BugCheckCode = 0;
    if (setjmp(BugCheckJump) == 0)
        MiUnlockPageFrame(Pfn);
    HT_ASSERT(BugCheckCode == PFN_LIST_CORRUPT);
    HT_ASSERT(BugCheckParameter1 == 0x9A);
}

HTEST_MAIN()
