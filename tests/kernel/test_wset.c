/*
 * test_wset.c - working sets, trimming and soft faults (mm/wsmgr.c,
 * mm/pfn.c, mm/fault.c; docs/paging.md): a trim turns valid PTEs into
 * transition PTEs, read back from the page tables, with the frames on the
 * standby list (clean) or the modified list (written); touching the pages
 * again is a soft fault that brings the same frames back with their
 * contents; an MDL-locked page stays; a clean standby page can be reused,
 * its PTE going back to demand-zero, while a written one cannot; and no
 * frame is lost when an address space ends with pages in transition.
 *
 * Each test builds its own address space at KT_BASE, attached, touching
 * user memory only through MmCopyToUser / MmCopyFromUser (SMAP).
 */
#include "../../include/ktest.h"
#include "../../mm/mi.h"
#include "../../io/io.h"
#include "../../rtl/rtl.h"
#include "ktspace.h"

#define KT_BASE KT_SPACE_BASE
#define KT_PAGES 8

/* A new address space with Pages committed read/write at KT_BASE,
 * attached; the detach and the deletion deferred. */
/* Fill page Index with a pattern that names it (a write: D set). */
static NTSTATUS KtWritePage(ULONG Index)
{
    static UCHAR Buffer[PAGE_SIZE];
    for (ULONG i = 0; i < PAGE_SIZE; i++)
        Buffer[i] = (UCHAR)(Index * 31 + i);
    return MmCopyToUser(KtPage(Index), Buffer, PAGE_SIZE);
}

/* TRUE when page Index holds KtWritePage's pattern (Written) or zeros. */
static BOOLEAN KtCheckPage(ULONG Index, BOOLEAN Written)
{
    static UCHAR Buffer[PAGE_SIZE];
    if (!NT_SUCCESS(MmCopyFromUser(Buffer, KtPage(Index), PAGE_SIZE)))
        return FALSE;
    for (ULONG i = 0; i < PAGE_SIZE; i++)
        if (Buffer[i] != (Written ? (UCHAR)(Index * 31 + i) : 0))
            return FALSE;
    return TRUE;
}

static MMPTE KtPte(ULONG Index)
{
    return *MiGetPteAddress(KtPage(Index));
}

/* Half the pages written (modified when trimmed), half only read (clean:
 * standby); trim; PTEs and lists; touch again; counts back. */
KTEST(wset, trim_makes_transition_and_soft_faults_return)
{
    PMMADDRESS_SPACE Space = KtMakeSpace(KT_PAGES);
    KT_ASSERT(Space != NULL);
    PFN_NUMBER Frames[KT_PAGES];
    for (ULONG i = 0; i < KT_PAGES; i++) {
        if (i < KT_PAGES / 2)
            KT_ASSERT_STATUS(KtWritePage(i), STATUS_SUCCESS);
        else
            KT_ASSERT(KtCheckPage(i, FALSE));
        KT_ASSERT_EQ(MiPteState(KtPte(i)), MiPteValid);
        Frames[i] = KtPte(i).u.Hard.PageFrameNumber;
    }
    KT_ASSERT_EQ(Space->Vm.WorkingSetSize, KT_PAGES);
    KT_ASSERT_EQ(Space->ResidentPages, KT_PAGES);

    PFN_NUMBER Standby = MmStandbyPageListHead.Total, Modified = MmModifiedPageListHead.Total;
    ULONG64 SoftFaults = MmFaultCounters.TransitionFault;
    KT_ASSERT_EQ(MmEmptyWorkingSet(Space), KT_PAGES);
    KT_EXPECT_EQ(Space->Vm.WorkingSetSize, 0);
    KT_EXPECT_EQ(Space->ResidentPages, KT_PAGES); /* the frames are still its */
    KT_EXPECT_EQ(MmStandbyPageListHead.Total, Standby + KT_PAGES / 2);
    KT_EXPECT_EQ(MmModifiedPageListHead.Total, Modified + KT_PAGES / 2);
    for (ULONG i = 0; i < KT_PAGES; i++) {
        MMPTE Pte = KtPte(i);
        KT_ASSERT_EQ(MiPteState(Pte), MiPteTransition);
        KT_ASSERT_EQ(Pte.u.Trans.PageFrameNumber, Frames[i]);
        KT_ASSERT_EQ(Pte.u.Trans.Protection, MM_READWRITE);
        KT_ASSERT(!MmIsAddressValid(KtPage(i)));
        KT_ASSERT_EQ(MiGetPageLocation(Frames[i]),
                     i < KT_PAGES / 2 ? ModifiedPageList : StandbyPageList);
        KT_EXPECT_EQ(MI_PFN_ELEMENT(Frames[i])->ShareCount, 0);
        KT_EXPECT_EQ(MI_PFN_ELEMENT(Frames[i])->ReferenceCount, 0);
    }

    for (ULONG i = 0; i < KT_PAGES; i++) {
        KT_ASSERT(KtCheckPage(i, i < KT_PAGES / 2));
        KT_ASSERT_EQ(KtPte(i).u.Hard.PageFrameNumber, Frames[i]);
        KT_ASSERT_EQ(MiGetPageLocation(Frames[i]), ActiveAndValid);
    }
    KT_EXPECT_EQ(Space->Vm.TransitionFaults, KT_PAGES);
    KT_EXPECT_EQ(MmFaultCounters.TransitionFault, SoftFaults + KT_PAGES);
    KT_EXPECT_EQ(Space->Vm.WorkingSetSize, KT_PAGES);
    KT_EXPECT_EQ(Space->Vm.PeakWorkingSetSize, KT_PAGES);
    KT_EXPECT_EQ(MmStandbyPageListHead.Total, Standby);
    KT_EXPECT_EQ(MmModifiedPageListHead.Total, Modified);

    /* A page written once stays modified: its next trim, with a clean D
     * bit, still goes to the modified list. */
    KT_ASSERT_EQ(MmEmptyWorkingSet(Space), KT_PAGES);
    KT_EXPECT_EQ(MiGetPageLocation(Frames[0]), ModifiedPageList);
    KT_EXPECT_EQ(MiGetPageLocation(Frames[KT_PAGES - 1]), StandbyPageList);
}

/* An address space that ends with its pages on standby and modified gives
 * every frame back. */
KTEST(wset, exit_with_pages_in_transition_frees_them)
{
    PFN_NUMBER UserFrames = MmPagesInUse(MiUsageUser);
    PFN_NUMBER Standby = MmStandbyPageListHead.Total, Modified = MmModifiedPageListHead.Total;
    PMMADDRESS_SPACE Space;
    KT_ASSERT_STATUS(MmCreateProcessAddressSpace(&Space), STATUS_SUCCESS);
    PMMADDRESS_SPACE Previous = MmAttachAddressSpace(Space);
    PVOID Base = (PVOID)KT_BASE;
    SIZE_T Size = (SIZE_T)KT_PAGES * PAGE_SIZE;
    BOOLEAN Ok = NT_SUCCESS(
        MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    for (ULONG i = 0; i < KT_PAGES; i++)
        Ok = Ok && (i & 1 ? NT_SUCCESS(KtWritePage(i)) : KtCheckPage(i, FALSE));
    PFN_NUMBER Trimmed = MmEmptyWorkingSet(Space);
    PFN_NUMBER OnLists = MmStandbyPageListHead.Total + MmModifiedPageListHead.Total;
    MmAttachAddressSpace(Previous);
    MmDeleteProcessAddressSpace(Space);
    KT_ASSERT(Ok);
    KT_EXPECT_EQ(Trimmed, KT_PAGES);
    KT_EXPECT_EQ(OnLists, Standby + Modified + KT_PAGES);
    KT_EXPECT_EQ(MmStandbyPageListHead.Total, Standby);
    KT_EXPECT_EQ(MmModifiedPageListHead.Total, Modified);
    KT_EXPECT_EQ(MmPagesInUse(MiUsageUser), UserFrames);
}

/* A page an MDL holds locked is never trimmed; unlocked, it is. */
KTEST(wset, mdl_locked_page_is_not_trimmed)
{
    PMMADDRESS_SPACE Space = KtMakeSpace(2);
    KT_ASSERT(Space != NULL);
    KT_ASSERT_STATUS(KtWritePage(0), STATUS_SUCCESS);
    KT_ASSERT_STATUS(KtWritePage(1), STATUS_SUCCESS);
    PMDL Mdl = IoAllocateMdl(KtPage(0), PAGE_SIZE, FALSE, FALSE, NULL);
    KT_ASSERT(Mdl != NULL);
    NTSTATUS Status = MmProbeAndLockPages(Mdl, UserMode, IoWriteAccess);
    if (!NT_SUCCESS(Status))
        IoFreeMdl(Mdl);
    KT_ASSERT_STATUS(Status, STATUS_SUCCESS);
    PFN_NUMBER Locked = MmGetMdlPfnArray(Mdl)[0];

    PFN_NUMBER Trimmed = MmEmptyWorkingSet(Space);
    MMPTE Pte0 = KtPte(0), Pte1 = KtPte(1);
    USHORT LockCount = MI_PFN_ELEMENT(Locked)->LockCount;
    MMLISTS Location = MiGetPageLocation(Locked);
    MmUnlockPages(Mdl);
    IoFreeMdl(Mdl);
    KT_EXPECT_EQ(Trimmed, 1);
    KT_EXPECT_EQ(MiPteState(Pte0), MiPteValid);
    KT_EXPECT_EQ(MiPteState(Pte1), MiPteTransition);
    KT_EXPECT_EQ(LockCount, 1);
    KT_EXPECT_EQ(Location, ActiveAndValid);

    KT_ASSERT_EQ(MmEmptyWorkingSet(Space), 1);
    KT_EXPECT_EQ(MiPteState(KtPte(0)), MiPteTransition);
    KT_EXPECT_EQ(MiGetPageLocation(Locked), ModifiedPageList);
    KT_EXPECT(KtCheckPage(0, TRUE));
}

/*
 * A clean standby page is reused once the free and zeroed lists are empty:
 * the test empties them itself (at DISPATCH_LEVEL, so nothing else runs
 * meanwhile), taking frames until it gets the page's frame. Its PTE is
 * demand-zero again and the next touch gives a zero page - which is what
 * the page held, since it was never written: with no pagefile, that is
 * the only kind of page that may be dropped. The written page, on the
 * modified list, is never taken.
 */
KTEST(wset, standby_reuse_restores_demand_zero)
{
    PMMADDRESS_SPACE Space = KtMakeSpace(2);
    KT_ASSERT(Space != NULL);
    KT_ASSERT(KtCheckPage(0, FALSE)); /* read: clean */
    KT_ASSERT_STATUS(KtWritePage(1), STATUS_SUCCESS); /* written: dirty */
    PFN_NUMBER Clean = KtPte(0).u.Hard.PageFrameNumber;
    PFN_NUMBER Dirty = KtPte(1).u.Hard.PageFrameNumber;
    KT_ASSERT_EQ(MmEmptyWorkingSet(Space), 2);
    ULONG64 Reused = MmStandbyPagesReused, DemandZero = Space->DemandZeroFaults;

    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    PFN_NUMBER Taken = MM_EMPTY_LIST, Pfn;
    ULONG64 Count = 0;
    do {
        Pfn = MiRemoveAnyPage(MiUsageUser);
        if (Pfn != MM_EMPTY_LIST) {
            MI_PFN_ELEMENT(Pfn)->Flink = Taken; /* a chain through the frames */
            Taken = Pfn;
            Count++;
        }
    } while (Pfn != MM_EMPTY_LIST && Pfn != Clean && Pfn != Dirty);
    MMPTE CleanPte = KtPte(0), DirtyPte = KtPte(1);
    MMLISTS DirtyLocation = MiGetPageLocation(Dirty);
    PFN_NUMBER Resident = Space->ResidentPages;
    while (Taken != MM_EMPTY_LIST) {
        PFN_NUMBER Next = MI_PFN_ELEMENT(Taken)->Flink;
        MI_PFN_ELEMENT(Taken)->Flink = MM_EMPTY_LIST;
        MiInsertPageInFreeList(Taken);
        Taken = Next;
    }
    KeLowerIrql(OldIrql);

    KT_ASSERT_EQ(Pfn, Clean);
    KT_EXPECT(Count > 0);
    KT_EXPECT(MmStandbyPagesReused > Reused);
    KT_EXPECT_EQ(MiPteState(CleanPte), MiPteDemandZero);
    KT_EXPECT_EQ(CleanPte.u.Soft.Protection, MM_READWRITE);
    KT_EXPECT_EQ(MiPteState(DirtyPte), MiPteTransition);
    KT_EXPECT_EQ(DirtyLocation, ModifiedPageList);
    KT_EXPECT_EQ(Resident, 1);
    KT_ASSERT(KtCheckPage(0, FALSE));
    KT_EXPECT_EQ(Space->DemandZeroFaults, DemandZero + 1);
    KT_ASSERT(KtCheckPage(1, TRUE));
}

/* Paged pool is the system working set: its pages are trimmed the same
 * way and come back, contents intact, on the next touch (at PASSIVE_LEVEL:
 * the fault is legal). Freeing a block whose pages are in transition
 * gives the frames back. */
KTEST(wset, paged_pool_trimmed_and_soft_faulted)
{
    PMMSUPPORT SystemWs = &MmSystemAddressSpace.Vm;
    /* Once first, so that whatever the pool sets up on first use (a page
     * for its own bookkeeping) is in the baseline. */
    PVOID Warm = ExAllocatePoolWithTag(PagedPool, 2 * PAGE_SIZE, POOL_TAG('K', 't', 'W', 's'));
    KT_ASSERT(Warm != NULL);
    *(volatile UCHAR *)Warm = 1;
    ExFreePoolWithTag(Warm, POOL_TAG('K', 't', 'W', 's'));
    PFN_NUMBER PagedFrames = MmPagesInUse(MiUsagePagedPool);
    /* volatile: the compiler must not answer the reads from the writes. */
    volatile ULONG *Block =
        ExAllocatePoolWithTag(PagedPool, 2 * PAGE_SIZE, POOL_TAG('K', 't', 'W', 's'));
    KT_ASSERT(Block != NULL);
    for (ULONG i = 0; i < 2 * PAGE_SIZE / sizeof(ULONG); i++)
        Block[i] = i * 2654435761u;
    PFN_NUMBER Frame = MiGetPteAddress((PVOID)Block)->u.Hard.PageFrameNumber;
    KT_ASSERT_EQ(MI_PFN_ELEMENT(Frame)->WorkingSet, SystemWs);
    ULONG64 Soft = SystemWs->TransitionFaults;

    PFN_NUMBER Trimmed = MmEmptyWorkingSet(&MmSystemAddressSpace);
    MMPTE Pte = *MiGetPteAddress((PVOID)Block);
    MMLISTS Location = MiGetPageLocation(Frame);
    BOOLEAN Intact = TRUE;
    for (ULONG i = 0; i < 2 * PAGE_SIZE / sizeof(ULONG); i++)
        Intact = Intact && Block[i] == i * 2654435761u;
    /* The faults changed the PFN database behind the compiler's back. */
    __asm__ volatile("" ::: "memory");
    MMLISTS LocationAfter = MiGetPageLocation(Frame);
    PFN_NUMBER FrameAfter = MiGetPteAddress((PVOID)Block)->u.Hard.PageFrameNumber;
    ULONG64 SoftAfter = SystemWs->TransitionFaults;

    /* Trimmed again, then freed while in transition. */
    (void)MmEmptyWorkingSet(&MmSystemAddressSpace);
    MMLISTS LocationAtFree = MiGetPageLocation(Frame);
    ExFreePoolWithTag((PVOID)Block, POOL_TAG('K', 't', 'W', 's'));

    KT_EXPECT(Trimmed >= 2);
    KT_EXPECT_EQ(MiPteState(Pte), MiPteTransition);
    KT_EXPECT_EQ(Pte.u.Trans.PageFrameNumber, Frame);
    KT_EXPECT_EQ(Pte.u.Trans.Protection, MM_READWRITE);
    KT_EXPECT_EQ(Location, ModifiedPageList); /* written */
    KT_EXPECT(Intact);
    KT_EXPECT_EQ(LocationAfter, ActiveAndValid);
    KT_EXPECT_EQ(FrameAfter, Frame);
    KT_EXPECT(SoftAfter >= Soft + 2);
    KT_EXPECT_EQ(LocationAtFree, ModifiedPageList);
    KT_EXPECT(MiGetPageLocation(Frame) == FreePageList ||
              MiGetPageLocation(Frame) == ZeroedPageList);
    KT_EXPECT_EQ(MmPagesInUse(MiUsagePagedPool), PagedFrames);
}
