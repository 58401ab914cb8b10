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
    HCHECK(MiPfnDatabaseReady);
    HCHECK(MmAvailablePages() == TOTAL - BOOT_USED);
    HCHECK(MmPagesInUse(MiUsageKernelImage) - KernelBefore == 44);
    HCHECK(MmPagesInUse(MiUsagePageTable) - TablesBefore == 10);
    HCHECK(MI_PFN_ELEMENT(256)->PageLocation == ActiveAndValid);
    HCHECK(MI_PFN_ELEMENT(310)->PageLocation == FreePageList);
    HCHECK(MiIsPfnInDatabase(RUN1_BASE + RUN1_PAGES - 1));
    HCHECK(!MiIsPfnInDatabase(RUN1_BASE + RUN1_PAGES));
    HCHECK(!MiIsPfnInDatabase(RUN0_BASE + RUN0_PAGES));
    HCHECK(!MiIsPfnInDatabase(RUN0_BASE - 1));
}

HTEST(allocating_everything_gives_each_frame_once_then_fails_cleanly)
{
    Setup();
    PFN_NUMBER Available = MmAvailablePages();
    PFN_NUMBER DriverBefore = MmPagesInUse(MiUsageDriver);
    static unsigned char Seen[RUN1_BASE + RUN1_PAGES];
    memset(Seen, 0, sizeof(Seen));
    PFN_NUMBER Pfn, Count = 0;
    while (NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn))) {
        HCHECK(MiIsPfnInDatabase(Pfn));
        HCHECK(!Seen[Pfn]);
        HCHECK(MiBootUsageOfPage(Pfn) == MiUsageFree && !MiIsEarlyAllocated(Pfn));
        HCHECK(MI_PFN_ELEMENT(Pfn)->PageLocation == ActiveAndValid);
        Seen[Pfn] = 1;
        Count++;
    }
    HCHECK(Count == Available);
    HCHECK(MmAvailablePages() == 0);
    HCHECK(MmPagesInUse(MiUsageDriver) - DriverBefore == Count);
    HCHECK(MmAllocatePhysicalPage(MiUsageDriver, TRUE, &Pfn) == STATUS_INSUFFICIENT_RESOURCES);
    for (PFN_NUMBER i = 0; i < RUN1_BASE + RUN1_PAGES; i++) {
        if (Seen[i])
            MmFreePhysicalPage(i);
    }
    HCHECK(MmAvailablePages() == Available);
    HCHECK(MmPagesInUse(MiUsageDriver) == DriverBefore);
}

HTEST(zeroed_allocation_zeroes_a_frame_from_the_free_list)
{
    Setup();
    PFN_NUMBER Pfn;
    int Before = ZeroCalls;
    HCHECK(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, TRUE, &Pfn)));
    HCHECK(ZeroCalls == Before + 1);
    HCHECK(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn)));
    HCHECK(ZeroCalls == Before + 1);
}

HTEST(double_free_is_pfn_list_corrupt)
{
    Setup();
    PFN_NUMBER Pfn;
    HCHECK(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn)));
    MmFreePhysicalPage(Pfn);
    BugCheckCode = 0;
    if (setjmp(BugCheckJump) == 0)
        MmFreePhysicalPage(Pfn);
    HCHECK(BugCheckCode == PFN_LIST_CORRUPT);
    HCHECK(BugCheckParameter1 == 0x99);
}

HTEST(freeing_a_frame_outside_ram_is_pfn_list_corrupt)
{
    Setup();
    BugCheckCode = 0;
    if (setjmp(BugCheckJump) == 0)
        MmFreePhysicalPage(RUN0_BASE + RUN0_PAGES + 5);
    HCHECK(BugCheckCode == PFN_LIST_CORRUPT);
}

HTEST(lists_stay_linked_both_ways)
{
    Setup();
    PFN_NUMBER Pfns[64];
    for (int i = 0; i < 64; i++)
        HCHECK(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfns[i])));
    for (int i = 0; i < 64; i += 3)
        MmFreePhysicalPage(Pfns[i]);
    PFN_NUMBER Count = 0, Previous = MM_EMPTY_LIST;
    for (PFN_NUMBER P = MmFreePageListHead.Flink; P != MM_EMPTY_LIST; P = MI_PFN_ELEMENT(P)->Flink) {
        HCHECK(MI_PFN_ELEMENT(P)->Blink == Previous);
        Previous = P;
        Count++;
    }
    HCHECK(Previous == MmFreePageListHead.Blink);
    HCHECK(Count == MmFreePageListHead.Total);
}

HTEST_MAIN()
