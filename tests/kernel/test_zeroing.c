/*
 * test_zeroing.c - the zeroed list and the zero-page thread (mm/pfn.c,
 * mm/zeropage.c): frames move from the free list to the zeroed list in
 * the background, and a caller who needs a zero-filled frame gets one from
 * the zeroed list without paying for the zeroing. Graded by lab 3
 * (docs/labs/lab3.md).
 */
#include "../../include/ktest.h"
#include "../../mm/mi.h"
#include "../../rtl/rtl.h"

/* Fill Pfn with Byte through the hyperspace window. */
static void TzFill(PFN_NUMBER Pfn, UCHAR Byte)
{
    KIRQL OldIrql;
    PVOID Va = MiMapPageInHyperspace(Pfn, &OldIrql);
    memset(Va, Byte, PAGE_SIZE);
    MiUnmapPageInHyperspace(Va, OldIrql);
}

/* TRUE when every byte of Pfn is zero. */
static BOOLEAN TzIsZero(PFN_NUMBER Pfn)
{
    KIRQL OldIrql;
    const ULONG64 *Va = MiMapPageInHyperspace(Pfn, &OldIrql);
    ULONG64 Any = 0;
    for (ULONG i = 0; i < PAGE_SIZE / sizeof(ULONG64); i++)
        Any |= Va[i];
    MiUnmapPageInHyperspace((PVOID)Va, OldIrql);
    return Any == 0;
}

/* Put up to Count (<= 64) dirty frames on the free list, so there is work
 * to do: all are allocated before any is freed, or each allocation would
 * take back the frame just freed. */
static void TzMakeDirtyFreeFrames(ULONG Count)
{
    PFN_NUMBER Frames[64];
    ULONG Got = 0;
    ASSERT(Count <= ARRAYSIZE(Frames));
    while (Got < Count && NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Frames[Got])))
        TzFill(Frames[Got++], 0xA5);
    while (Got > 0)
        MmFreePhysicalPage(Frames[--Got]);
}

KTEST(zeroing, one_step_moves_the_free_head_to_the_zeroed_list_zeroed)
{
    TzMakeDirtyFreeFrames(4);
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel(); /* the PFN lock, on one processor */
    PFN_NUMBER Head = MmFreePageListHead.Flink;
    PFN_NUMBER Free = MmFreePageListHead.Total, Zeroed = MmZeroedPageListHead.Total;
    KeLowerIrql(OldIrql);
    KT_ASSERT(Head != MM_EMPTY_LIST);

    KT_ASSERT(MiZeroOneFreePage());
    KT_ASSERT_EQ(MmFreePageListHead.Total, Free - 1);
    KT_ASSERT_EQ(MmZeroedPageListHead.Total, Zeroed + 1);
    KT_ASSERT_EQ(MI_PFN_ELEMENT(Head)->PageLocation, ZeroedPageList);
    KT_ASSERT(TzIsZero(Head));
}

KTEST(zeroing, zeroed_list_serves_first_without_zeroing_again)
{
    TzMakeDirtyFreeFrames(1);
    KT_ASSERT(MiZeroOneFreePage());
    ULONG64 Served = MmZeroedPagesServed, OnDemand = MmPagesZeroedOnDemand;
    PFN_NUMBER ZeroedHead = MmZeroedPageListHead.Flink;
    PFN_NUMBER Zeroed = MmZeroedPageListHead.Total;

    PFN_NUMBER Pfn;
    KT_ASSERT_EQ(MmAllocatePhysicalPage(MiUsageDriver, TRUE, &Pfn), STATUS_SUCCESS);
    KT_EXPECT_EQ(Pfn, ZeroedHead);
    KT_EXPECT_EQ(MmZeroedPagesServed, Served + 1);
    KT_EXPECT_EQ(MmPagesZeroedOnDemand, OnDemand);
    KT_EXPECT_EQ(MmZeroedPageListHead.Total, Zeroed - 1);
    KT_EXPECT(TzIsZero(Pfn));
    KT_EXPECT_EQ(MI_PFN_ELEMENT(Pfn)->PageLocation, ActiveAndValid);
    MmFreePhysicalPage(Pfn);
}

/* A frame out of the way, zero-filled (Zeroed) or not: as a driver's, or,
 * once a driver may pin no more (the floor of resident available pages,
 * mm/pfn.c), as a frame of usage MiUsageUser that no working set holds. */
static BOOLEAN TzTakeFrame(BOOLEAN Zeroed, PFN_NUMBER *Pfn)
{
    if (NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, Zeroed, Pfn)))
        return TRUE;
    *Pfn = Zeroed ? MiRemoveZeroPage(MiUsageUser) : MiRemoveAnyPage(MiUsageUser);
    return *Pfn != MM_EMPTY_LIST;
}

KTEST(zeroing, empty_zeroed_list_means_zeroing_on_demand)
{
    /* Hold one dirty frame back, take every zeroed frame, then give the
     * dirty one back: the next zero-filled frame must be that one, zeroed
     * on the spot. Everything is returned afterwards. */
    PFN_NUMBER Dirty;
    KT_ASSERT_EQ(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Dirty), STATUS_SUCCESS);
    TzFill(Dirty, 0x5A);
    PFN_NUMBER Chain = MM_EMPTY_LIST, Pfn;
    while (MmZeroedPageListHead.Flink != MM_EMPTY_LIST && TzTakeFrame(TRUE, &Pfn)) {
        MI_PFN_ELEMENT(Pfn)->OriginalPte.u.Long = Chain; /* a private chain of what we hold */
        Chain = Pfn;
    }
    /* Free frames that were never zeroed must not be taken for this: move
     * them out of the way too. */
    while (MmFreePageListHead.Flink != MM_EMPTY_LIST && TzTakeFrame(FALSE, &Pfn)) {
        MI_PFN_ELEMENT(Pfn)->OriginalPte.u.Long = Chain;
        Chain = Pfn;
    }
    MmFreePhysicalPage(Dirty);
    ULONG64 OnDemand = MmPagesZeroedOnDemand;
    NTSTATUS Status = MmAllocatePhysicalPage(MiUsageDriver, TRUE, &Pfn);
    BOOLEAN Same = NT_SUCCESS(Status) && Pfn == Dirty;
    BOOLEAN Zero = NT_SUCCESS(Status) && TzIsZero(Pfn);
    ULONG64 OnDemandAfter = MmPagesZeroedOnDemand;
    if (NT_SUCCESS(Status))
        MmFreePhysicalPage(Pfn);
    while (Chain != MM_EMPTY_LIST) {
        PFN_NUMBER Next = (PFN_NUMBER)MI_PFN_ELEMENT(Chain)->OriginalPte.u.Long;
        MI_PFN_ELEMENT(Chain)->OriginalPte.u.Long = 0;
        MmFreePhysicalPage(Chain);
        Chain = Next;
    }
    KT_ASSERT_EQ(Status, STATUS_SUCCESS);
    KT_ASSERT(Same);
    KT_ASSERT(Zero);
    KT_ASSERT_EQ(OnDemandAfter, OnDemand + 1);
}

KTEST(zeroing, the_zero_page_thread_refills_the_zeroed_list)
{
    TzMakeDirtyFreeFrames(64);
    PFN_NUMBER Zeroed = MmZeroedPageListHead.Total, Free = MmFreePageListHead.Total;
    KT_ASSERT(Free >= 64);
    /* Sleep: the zero-page thread (priority 0) runs while we wait. */
    LARGE_INTEGER Interval;
    Interval.QuadPart = -100 * 10000LL; /* 100 ms */
    KeDelayExecutionThread(KernelMode, FALSE, &Interval);
    KT_ASSERT(MmZeroedPageListHead.Total >= Zeroed + 64 || MmFreePageListHead.Total == 0);
    KT_ASSERT(MmFreePageListHead.Total < Free);
}
