/*
 * test_pfn.c - the PFN database and the frame allocator, in the running
 * kernel: counts return to their baseline, no frame is handed out twice,
 * zeroed frames are zero, and the database agrees with what the boot
 * report says.
 */
#include "../../include/ktest.h"
#include "../../kernel/ke.h"
#include "../../mm/mi.h"
#include "../../ps/ps.h"
#include "../../rtl/rtl.h"
#include "ktbaseline.h"
#include "ktdefer.h"

/* The IRQL to restore after a hyperspace mapping (one at a time). */
static KIRQL KtHyperIrql;

extern char __kernel_phys_start[], __kernel_phys_end[];

#define KT_FRAMES 4096
static PFN_NUMBER KtFrames[KT_FRAMES];

static void KtSortFrames(PFN_NUMBER *A, ULONG N)
{
    /* Shell sort: short and fast enough for a few thousand entries. */
    for (ULONG Gap = N / 2; Gap > 0; Gap /= 2) {
        for (ULONG i = Gap; i < N; i++) {
            PFN_NUMBER V = A[i];
            ULONG j = i;
            for (; j >= Gap && A[j - Gap] > V; j -= Gap)
                A[j] = A[j - Gap];
            A[j] = V;
        }
    }
}

static PFN_NUMBER KtCountList(PMMPFNLIST List)
{
    PFN_NUMBER Count = 0, Previous = MM_EMPTY_LIST;
    for (PFN_NUMBER Pfn = List->Flink; Pfn != MM_EMPTY_LIST; Pfn = MI_PFN_ELEMENT(Pfn)->Flink) {
        if (MI_PFN_ELEMENT(Pfn)->Blink != Previous || MI_PFN_ELEMENT(Pfn)->PageLocation != List->ListName)
            return (PFN_NUMBER)-1;
        Previous = Pfn;
        Count++;
    }
    return Previous == List->Blink ? Count : (PFN_NUMBER)-1;
}

KTEST(pfn, lists_are_consistent)
{
    KT_ASSERT_EQ(KtCountList(&MmFreePageListHead), MmFreePageListHead.Total);
    KT_ASSERT_EQ(KtCountList(&MmZeroedPageListHead), MmZeroedPageListHead.Total);
    PFN_NUMBER InUse = 0;
    for (ULONG u = MiUsageFree + 1; u < MiUsageMaximum; u++)
        InUse += MmPagesInUse((MI_PFN_USAGE)u);
    KT_ASSERT_EQ(InUse + MmAvailablePages(), MmNumberOfPhysicalPages());
}

KTEST(pfn, alloc_free_returns_to_baseline_and_never_duplicates)
{
    PFN_NUMBER Available = MmAvailablePages();
    PFN_NUMBER Drivers = MmPagesInUse(MiUsageDriver);
    ULONG Count = Available / 2 < KT_FRAMES ? (ULONG)(Available / 2) : KT_FRAMES;

    for (ULONG i = 0; i < Count; i++) {
        KT_ASSERT(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &KtFrames[i])));
        PMMPFN Entry = MI_PFN_ELEMENT(KtFrames[i]);
        KT_ASSERT_EQ(Entry->PageLocation, ActiveAndValid);
        KT_ASSERT_EQ(Entry->Usage, MiUsageDriver);
        KT_ASSERT(MiBootUsageOfPage(KtFrames[i]) == MiUsageFree);
    }
    KT_ASSERT_EQ(MmAvailablePages(), Available - Count);
    KT_ASSERT_EQ(MmPagesInUse(MiUsageDriver), Drivers + Count);

    /* Free in an order unlike the allocation order: every other one first. */
    for (ULONG i = 0; i < Count; i += 2)
        MmFreePhysicalPage(KtFrames[i]);
    for (ULONG i = 1; i < Count; i += 2)
        MmFreePhysicalPage(KtFrames[i]);
    KT_ASSERT_EQ(MmAvailablePages(), Available);
    KT_ASSERT_EQ(MmPagesInUse(MiUsageDriver), Drivers);

    KtSortFrames(KtFrames, Count);
    for (ULONG i = 1; i < Count; i++)
        KT_ASSERT(KtFrames[i] != KtFrames[i - 1]);
    for (ULONG i = 0; i < Count; i++)
        KT_ASSERT_EQ(MI_PFN_ELEMENT(KtFrames[i])->PageLocation, FreePageList);
}

KTEST(pfn, zeroed_frames_are_zero)
{
    PFN_NUMBER Pfn;
    /* Dirty a frame, give it back, and ask for zeroed frames until it (or
     * any other) comes back: each must read as zeros. */
    KT_ASSERT(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn)));
    PUCHAR Va = MiMapPageInHyperspace(Pfn, &KtHyperIrql);
    memset(Va, 0xA5, PAGE_SIZE);
    MiUnmapPageInHyperspace(Va, KtHyperIrql);
    MmFreePhysicalPage(Pfn);

    for (ULONG Round = 0; Round < 4; Round++) {
        KT_ASSERT(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, TRUE, &KtFrames[Round])));
        PULONG64 Words = MiMapPageInHyperspace(KtFrames[Round], &KtHyperIrql);
        ULONG64 Or = 0;
        for (ULONG i = 0; i < PAGE_SIZE / 8; i++)
            Or |= Words[i];
        MiUnmapPageInHyperspace(Words, KtHyperIrql);
        KT_ASSERT_EQ(Or, 0);
    }
    for (ULONG Round = 0; Round < 4; Round++)
        MmFreePhysicalPage(KtFrames[Round]);
}

KTEST(pfn, kernel_image_and_loader_data_are_never_free)
{
    PFN_NUMBER First = (ULONG64)__kernel_phys_start >> PAGE_SHIFT;
    PFN_NUMBER Last = ((ULONG64)__kernel_phys_end - 1) >> PAGE_SHIFT;
    for (PFN_NUMBER Pfn = First; Pfn <= Last; Pfn++) {
        KT_ASSERT(MiIsPfnInDatabase(Pfn));
        KT_ASSERT_EQ(MI_PFN_ELEMENT(Pfn)->PageLocation, ActiveAndValid);
        KT_ASSERT_EQ(MI_PFN_ELEMENT(Pfn)->Usage, MiUsageKernelImage);
    }
    for (ULONG i = 0; i < KeLoaderBlock.ModuleCount; i++) {
        PFN_NUMBER Pfn = KeLoaderBlock.Modules[i].Start >> PAGE_SHIFT;
        KT_ASSERT_EQ(MI_PFN_ELEMENT(Pfn)->Usage, MiUsageLoaderBlock);
    }
    /* Nothing below 1 MiB is in the database. */
    KT_ASSERT(!MiIsPfnInDatabase(0xFF));
    KT_ASSERT(!MiIsPfnInDatabase(0));
}

KTEST(pfn, page_tables_know_their_pte)
{
    /* The PML4 frame is mapped by the self-map entry; a kernel-text PTE
     * page is mapped by its PDE. */
    PFN_NUMBER Pml4 = __readcr3() >> PAGE_SHIFT;
    KT_ASSERT_EQ(MI_PFN_ELEMENT(Pml4)->Usage, MiUsagePageTable);
    KT_ASSERT(MI_PFN_ELEMENT(Pml4)->PteAddress == &((PMMPTE)PXE_BASE)[MM_SELFMAP_INDEX]);
    PMMPTE Pde = MiGetPdeAddress((PVOID)MmDumpPte);
    PFN_NUMBER PtPfn = Pde->u.Hard.PageFrameNumber;
    KT_ASSERT_EQ(MI_PFN_ELEMENT(PtPfn)->Usage, MiUsagePageTable);
    KT_ASSERT(MI_PFN_ELEMENT(PtPfn)->PteAddress == Pde);
    KT_ASSERT(MI_PFN_ELEMENT(PtPfn)->UsedPageTableEntries > 0);
}

/* Resident available pages now, read under the PFN lock. */
static PFN_NUMBER KtResidentAvailable(PFN_NUMBER *FreeAndZeroed)
{
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    PFN_NUMBER Resident = MiResidentAvailablePages();
    if (FreeAndZeroed)
        *FreeAndZeroed = MmFreePageListHead.Total + MmZeroedPageListHead.Total;
    KeLowerIrql(OldIrql);
    return Resident;
}

/*
 * A driver takes frames until there are none for it: the next one is
 * STATUS_INSUFFICIENT_RESOURCES, not a crash, and everything comes back.
 * Where it stops is NT's rule (MmResidentAvailablePages): frames pinned
 * for a driver or the kernel stop at the floor of resident available pages,
 * which is left to pageable pages, so that a committed page can still get
 * a frame (mm/pfn.c). Without a pagefile, rule 2 of the commit charge may
 * stop it first: no free or zeroed frame is left that is not promised.
 * (This test once expected every available frame taken - 0 left - which
 * is what let kernel stacks and page tables starve user faults at 32M.)
 */
KTEST(pfn, exhaustion_is_an_error_not_a_crash)
{
    PFN_NUMBER Floor = MiMinimumResidentAvailablePages();
    PFN_NUMBER Resident = KtResidentAvailable(NULL);
    PFN_NUMBER Taken = 0, Head = MM_EMPTY_LIST, Pfn, FreeLeft;
    /* Take every frame we may, chaining them through their own PFN
     * entries' OriginalPte (unused while a frame is held), then give them
     * all back. */
    while (NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn))) {
        MI_PFN_ELEMENT(Pfn)->OriginalPte.u.Long = Head;
        Head = Pfn;
        Taken++;
    }
    PFN_NUMBER ResidentLeft = KtResidentAvailable(&FreeLeft);
    NTSTATUS Status = MmAllocatePhysicalPage(MiUsageDriver, TRUE, &Pfn);
    while (Head != MM_EMPTY_LIST) {
        PFN_NUMBER Next = MI_PFN_ELEMENT(Head)->OriginalPte.u.Long;
        MmFreePhysicalPage(Head);
        Head = Next;
    }
    KT_ASSERT_EQ(Status, STATUS_INSUFFICIENT_RESOURCES);
    KT_EXPECT(ResidentLeft >= Floor); /* never below the floor */
    if (ResidentLeft == Floor)
        KT_EXPECT_EQ(Taken, Resident - Floor); /* each frame taken was one pinned more */
    else
        KT_EXPECT_EQ(FreeLeft, 0); /* rule 2 stopped it first */
    KT_ASSERT_EQ(KtResidentAvailable(NULL), Resident);
}

KTEST_BUGCHECK(pfn, double_free_is_pfn_list_corrupt, PFN_LIST_CORRUPT)
{
    PFN_NUMBER Pfn;
    if (!NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn)))
        return;
    MmFreePhysicalPage(Pfn);
    MmFreePhysicalPage(Pfn);
}

/*
 * A thread that found no frame sleeps in MiWaitForAvailablePages on
 * MmAvailablePagesEvent (NT's), and the next frame to reach the free list
 * wakes it: with the wait's limit made 100 s, only the event can end it
 * in time. Before the event the wait was a 10 ms poll.
 */
static ULONG64 KtWaitTicks;

static void KtWaitForFrames(PVOID Unused)
{
    UNREFERENCED_PARAMETER(Unused);
    ULONG64 Start = KeQueryTickCount();
    MiWaitForAvailablePages();
    KtWaitTicks = KeQueryTickCount() - Start;
}

static void KtRestoreWaitTimeout(PVOID Old)
{
    MiAvailablePagesTimeout = (LONGLONG)(LONG_PTR)Old;
}

static void KtFreeFrame(PVOID Pfn)
{
    MmFreePhysicalPage((PFN_NUMBER)(ULONG_PTR)Pfn);
}

KTEST(pfn, a_freed_frame_wakes_a_thread_waiting_for_frames)
{
    PFN_NUMBER Pfn;
    KT_ASSERT_STATUS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn), STATUS_SUCCESS);
    PKT_DEFERRED Free = KtDefer(KtFreeFrame, (PVOID)(ULONG_PTR)Pfn);
    KtDefer(KtRestoreWaitTimeout, (PVOID)(LONG_PTR)MiAvailablePagesTimeout);
    MiAvailablePagesTimeout = -100LL * 1000 * 10000;
    ULONG64 Waits = MmAvailablePagesWaits, Wakes = MmAvailablePagesWakes;
    ULONG64 Timeouts = MmAvailablePagesTimeouts;
    KtWaitTicks = ~0ULL;

    HANDLE Thread;
    KT_ASSERT_STATUS(PsCreateSystemThread(&Thread, 0, NULL, NULL, NULL, KtWaitForFrames, NULL),
                     STATUS_SUCCESS);
    PKT_DEFERRED Join = KtDeferJoinThread(Thread);
    for (ULONG i = 0; i < 500 && MiAvailablePagesWaiters == 0; i++)
        KtSleepMs(10);
    KT_EXPECT_EQ(MiAvailablePagesWaiters, 1);
    ULONG64 Freed = KeQueryTickCount();
    KtCleanupNow(Free); /* the frame reaches the free list: the event */
    KtCleanupNow(Join);
    KT_EXPECT_EQ(MmAvailablePagesWaits, Waits + 1);
    KT_EXPECT_EQ(MmAvailablePagesWakes, Wakes + 1);
    KT_EXPECT_EQ(MmAvailablePagesTimeouts, Timeouts);
    KT_EXPECT_EQ(MiAvailablePagesWaiters, 0);
    /* Woken when the frame came, not after 100 s (TCG on a busy host is slow: 10 s). */
    KT_EXPECT(KtWaitTicks != ~0ULL && KeQueryTickCount() - Freed < 10000);
}
