/*
 * test_pool.c - ExAllocatePoolWithTag and friends in the running kernel:
 * sizes from 1 byte to 1 MiB, tag accounting back to zero, random frees,
 * nonpaged pages resident, paged pages backed at once and pageable, paged
 * pool with no frame left, pages back after a burst, and the
 * bugchecks for double free, overrun and wrong tag.
 */
#include "../../include/ktest.h"
#include "../../mm/mi.h"
#include "../../rtl/rtl.h"
#include "ktframes.h"

#define KT_TAG  POOL_TAG('K', 't', 'P', 'l')
#define KT_TAG2 POOL_TAG('K', 't', 'P', '2')

static BOOLEAN KtFindTag(POOL_TYPE Type, ULONG Tag, POOL_TAG_INFO *Out)
{
    static POOL_TAG_INFO Tags[POOL_TRACKER_SIZE + 1];
    ULONG Count = ExQueryPoolTags(Type, Tags, ARRAYSIZE(Tags));
    for (ULONG i = 0; i < Count; i++) {
        if (Tags[i].Tag == Tag) {
            *Out = Tags[i];
            return TRUE;
        }
    }
    return FALSE;
}

static SIZE_T KtBytesInUse(POOL_TYPE Type, ULONG Tag)
{
    POOL_TAG_INFO Info;
    return KtFindTag(Type, Tag, &Info) ? Info.BytesInUse : 0;
}

static ULONG KtRandomState = 12345;
static ULONG KtRandom(void)
{
    KtRandomState = KtRandomState * 1103515245 + 12345;
    return KtRandomState >> 8;
}

/* Deferred frees (KtDefer): a test that stops early still gives its
 * blocks back, so the tag counts of the tests after it start at zero. */
static void KtFreeBlock(PVOID Block)
{
    if (Block != NULL)
        ExFreePoolWithTag(Block, KT_TAG);
}

static void KtFreeUntagged(PVOID Block)
{
    ExFreePool(Block);
}

static void KtPoolSizes(POOL_TYPE Type)
{
    static const SIZE_T Sizes[] = {1, 2, 15, 16, 17, 63, 64, 100, 496, 500, 1000, 2048, 4000,
                                   4064, 4065, 4096, 4097, 8192, 12345, 65536, 300000, 1 << 20};
    PVOID Blocks[ARRAYSIZE(Sizes)];
    PKT_DEFERRED Free[ARRAYSIZE(Sizes)];
    PFN_NUMBER Available = MmAvailablePages();
    for (ULONG i = 0; i < ARRAYSIZE(Sizes); i++) {
        Blocks[i] = ExAllocatePoolWithTag(Type, Sizes[i], KT_TAG);
        KT_ASSERT(Blocks[i] != NULL);
        Free[i] = KtDefer(KtFreeBlock, Blocks[i]);
        KT_ASSERT(ExpQueryPoolBlockSize(ExGetPoolDescriptor(Type), Blocks[i]) >= Sizes[i]);
        memset(Blocks[i], (int)i + 1, Sizes[i]);
    }
    KT_ASSERT_EQ(KtBytesInUse(Type, KT_TAG) > 0, 1);
    /* Nothing overlaps: every block still holds its own pattern. */
    for (ULONG i = 0; i < ARRAYSIZE(Sizes); i++) {
        PUCHAR P = Blocks[i];
        KT_ASSERT(P[0] == (UCHAR)(i + 1) && P[Sizes[i] - 1] == (UCHAR)(i + 1));
    }
    for (ULONG i = 0; i < ARRAYSIZE(Sizes); i++)
        KtCleanupNow(Free[i]);          /* ExFreePoolWithTag(Blocks[i], KT_TAG) */
    KT_ASSERT_EQ(KtBytesInUse(Type, KT_TAG), 0);
    PCSTR Problem = NULL;
    ExFoldPoolTagCounts(Type);
    KT_ASSERT(ExpValidatePool(ExGetPoolDescriptor(Type), &Problem));
    /* Pages come back (at most the one empty page the pool keeps). */
    KT_ASSERT(MmAvailablePages() + POOL_EMPTY_PAGES_KEPT + 1 >= Available);
}

KTEST(pool, nonpaged_sizes_from_1_byte_to_1_mib)
{
    KtPoolSizes(NonPagedPool);
}

KTEST(pool, paged_sizes_from_1_byte_to_1_mib)
{
    KtPoolSizes(PagedPool);
}

KTEST(pool, random_frees_return_accounting_to_zero)
{
    static PVOID Blocks[512];
    static ULONG Tags[512];
    POOL_TYPE Type = NonPagedPool;
    for (ULONG Round = 0; Round < 2; Round++, Type = PagedPool) {
        for (ULONG i = 0; i < ARRAYSIZE(Blocks); i++) {
            Tags[i] = (i & 1) ? KT_TAG : KT_TAG2;
            Blocks[i] = ExAllocatePoolWithTag(Type, 1 + KtRandom() % 3000, Tags[i]);
            KT_ASSERT(Blocks[i] != NULL);
        }
        /* Fisher-Yates order of frees. */
        for (ULONG i = ARRAYSIZE(Blocks) - 1; i > 0; i--) {
            ULONG j = KtRandom() % (i + 1);
            PVOID B = Blocks[i];
            ULONG T = Tags[i];
            Blocks[i] = Blocks[j];
            Tags[i] = Tags[j];
            Blocks[j] = B;
            Tags[j] = T;
        }
        for (ULONG i = 0; i < ARRAYSIZE(Blocks); i++) {
            ExFreePoolWithTag(Blocks[i], Tags[i]);
            if (i % 64 == 0) {
                PCSTR Problem = NULL;
                ExFoldPoolTagCounts(Type);
                KT_ASSERT(ExpValidatePool(ExGetPoolDescriptor(Type), &Problem));
            }
        }
        KT_ASSERT_EQ(KtBytesInUse(Type, KT_TAG), 0);
        KT_ASSERT_EQ(KtBytesInUse(Type, KT_TAG2), 0);
        POOL_TAG_INFO Info;
        KT_ASSERT(KtFindTag(Type, KT_TAG, &Info));
        KT_ASSERT_EQ(Info.Allocations, Info.Frees);
    }
}

KTEST(pool, nonpaged_is_resident_paged_is_resident_and_pageable)
{
    PUCHAR Np = ExAllocatePoolWithTag(NonPagedPool, 3 * PAGE_SIZE, KT_TAG);
    PKT_DEFERRED FreeNp = KtDefer(KtFreeBlock, Np);
    PFN_NUMBER PagedFrames = MmPagesInUse(MiUsagePagedPool);
    ULONG64 Faults = MmFaultCounters.PagedPoolDemandZero;
    PUCHAR Pp = ExAllocatePoolWithTag(PagedPool, 3 * PAGE_SIZE, KT_TAG);
    PKT_DEFERRED FreePp = KtDefer(KtFreeBlock, Pp);
    KT_ASSERT(Np && Pp);
    /* Paged pool's frames come with the allocation (so that one that
     * cannot be had is a NULL, not a fault with no frame later). */
    KT_ASSERT_EQ(MmPagesInUse(MiUsagePagedPool), PagedFrames + 3);
    for (ULONG i = 0; i < 3; i++) {
        MMPTE Pte = *MiGetPteAddress(Np + i * PAGE_SIZE);
        KT_ASSERT(Pte.u.Hard.Valid && Pte.u.Hard.Write && Pte.u.Hard.NoExecute && !Pte.u.Hard.Owner);
        KT_ASSERT_EQ(MI_PFN_ELEMENT(Pte.u.Hard.PageFrameNumber)->Usage, MiUsageNonPagedPool);
        KT_ASSERT_EQ(MI_PFN_ELEMENT(Pte.u.Hard.PageFrameNumber)->Pageable, 0);
        Pte = *MiGetPteAddress(Pp + i * PAGE_SIZE);
        KT_ASSERT(Pte.u.Hard.Valid && Pte.u.Hard.Write && Pte.u.Hard.NoExecute &&
                  !Pte.u.Hard.Owner);
        PMMPFN Pfn = MI_PFN_ELEMENT(Pte.u.Hard.PageFrameNumber);
        KT_ASSERT_EQ(Pfn->Usage, MiUsagePagedPool);
        KT_ASSERT_EQ(Pfn->Pageable, 1);
        KT_ASSERT(Pfn->PteAddress == MiGetPteAddress(Pp + i * PAGE_SIZE));
        /* The software form the pager will put back: demand-zero. */
        KT_ASSERT_EQ(MiGetSoftwareProtection(Pfn->OriginalPte), MM_READWRITE);
        KT_ASSERT_EQ(Pp[i * PAGE_SIZE + 6], 0); /* a zeroed frame */
    }
    ((volatile UCHAR *)Pp)[PAGE_SIZE + 5] = 7;
    KT_ASSERT_EQ(MmFaultCounters.PagedPoolDemandZero, Faults); /* no fault */
    KtCleanupNow(FreePp);               /* ExFreePoolWithTag(Pp, KT_TAG) */
    KT_ASSERT_EQ(MmPagesInUse(MiUsagePagedPool), PagedFrames);
    KtCleanupNow(FreeNp);
}

KTEST(pool, allocate_pool2_zeroes_and_checks_flags)
{
    PULONG64 P = ExAllocatePool2(POOL_FLAG_NON_PAGED, 256, KT_TAG);
    KT_ASSERT(P != NULL);
    PKT_DEFERRED Free = KtDefer(KtFreeUntagged, P);
    for (ULONG i = 0; i < 32; i++)
        KT_ASSERT_EQ(P[i], 0);
    memset(P, 0xFF, 256);
    KtCleanupNow(Free);                 /* ExFreePool(P) */
    P = ExAllocatePool2(POOL_FLAG_NON_PAGED, 256, KT_TAG); /* likely the same block again */
    KT_ASSERT(P != NULL);
    Free = KtDefer(KtFreeBlock, P);
    for (ULONG i = 0; i < 32; i++)
        KT_ASSERT_EQ(P[i], 0);
    KtCleanupNow(Free);                 /* ExFreePoolWithTag(P, KT_TAG) */
    KT_ASSERT(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_PAGED, 16, KT_TAG) == NULL);
    KT_ASSERT(ExAllocatePool2(0, 16, KT_TAG) == NULL);
}

KTEST(pool, allocate_pool2_with_tag_zero_fails)
{
    /* Microsoft's documentation: a Tag of 0 is invalid and the call fails.
     * Nothing is charged anywhere, not even as a failure. */
    POOL_TOTALS Np, Pp, NpAfter, PpAfter;
    SIZE_T NpFailed = ExGetPoolDescriptor(NonPagedPool)->FailedAllocations;
    SIZE_T PpFailed = ExGetPoolDescriptor(PagedPool)->FailedAllocations;

    ExpQueryPoolTotals(ExGetPoolDescriptor(NonPagedPool), &Np);
    ExpQueryPoolTotals(ExGetPoolDescriptor(PagedPool), &Pp);
    KT_EXPECT(ExAllocatePool2(POOL_FLAG_NON_PAGED, 16, 0) == NULL);
    KT_EXPECT(ExAllocatePool2(POOL_FLAG_PAGED, 64, 0) == NULL);
    KT_EXPECT(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED, 5000, 0) == NULL);
    ExpQueryPoolTotals(ExGetPoolDescriptor(NonPagedPool), &NpAfter);
    ExpQueryPoolTotals(ExGetPoolDescriptor(PagedPool), &PpAfter);
    KT_EXPECT_EQ(NpAfter.Allocations, Np.Allocations);
    KT_EXPECT_EQ(PpAfter.Allocations, Pp.Allocations);
    KT_EXPECT_EQ(ExGetPoolDescriptor(NonPagedPool)->FailedAllocations, NpFailed);
    KT_EXPECT_EQ(ExGetPoolDescriptor(PagedPool)->FailedAllocations, PpFailed);
    /* The same tag with ExAllocatePoolWithTag is still served. */
    PVOID P = ExAllocatePoolWithTag(NonPagedPool, 16, 0);
    KT_ASSERT(P != NULL);
    ExFreePoolWithTag(P, 0);
}

KTEST(pool, running_out_is_null_not_a_crash)
{
    /* Ask for more than the machine has: the pool cannot grow, the caller
     * gets NULL, and nothing leaks but the page tables created for the
     * pool's range on the way (system page tables stay, as NT keeps them,
     * and serve the next allocations there). */
    SIZE_T TooMuch = (SIZE_T)(MmNumberOfPhysicalPages() + 16) * PAGE_SIZE;
    PFN_NUMBER Available = MmAvailablePages();
    PFN_NUMBER Tables = MmPagesInUse(MiUsagePageTable);
    KT_ASSERT(ExAllocatePoolWithTag(NonPagedPool, TooMuch, KT_TAG) == NULL);
    /* >=: on failure the pool may also give back a page it was keeping. */
    KT_ASSERT(MmAvailablePages() + (MmPagesInUse(MiUsagePageTable) - Tables) >= Available);
    /* Requests larger than the pool's virtual range fail before any page
     * is touched. */
    Available = MmAvailablePages();
    KT_ASSERT(ExAllocatePoolWithTag(PagedPool, (SIZE_T)2 << 30, KT_TAG) == NULL);
    KT_ASSERT(ExAllocatePoolWithTag(NonPagedPool, (SIZE_T)1 << 40, KT_TAG) == NULL);
    KT_ASSERT(MmAvailablePages() >= Available);
}

KTEST(pool, paged_pool_without_a_frame_is_null)
{
    /* Issue #16: with RAM gone, a paged-pool allocation (reached from
     * NtCreateUserProcess) used to bugcheck 0x50 in the pool's slow path,
     * writing the header of a page whose frame never came. Now its frames
     * come with the allocation: no frame, NULL. */
    static PVOID Small[64];
    ULONG Served = 0, Tried;
    PPOOL_DESCRIPTOR Paged = ExGetPoolDescriptor(PagedPool);

    /* With a pagefile there is always a frame in the end: the working-set
     * manager pages other pageable pages out, below the working sets'
     * minimums if it must (NT's rule, mm/wsmgr.c), so RAM is never gone
     * for paged pool. The mem.* boots (no disk) run it. */
    KT_SKIP_IF(MmPagingFileActive(), "no frame for paged pool needs a boot without a pagefile");

    ExTrimPoolPages(PagedPool);
    SIZE_T Pages = Paged->PagesInUse, Failed = Paged->FailedAllocations;
    PFN_NUMBER Tables = MmPagesInUse(MiUsagePageTable);
    PFN_NUMBER Available = MmAvailablePages();
    PFN_NUMBER Frames = KtTakeAllFrames(TRUE); /* past the resident floor too */
    PFN_NUMBER Left = MmAvailablePages();
    PVOID Big = ExAllocatePoolWithTag(PagedPool, 3 * PAGE_SIZE, KT_TAG);
    /* 4000 bytes: one block a page, so after the pages the pool holds
     * (none free after the trim) every one needs a fresh page. */
    for (Tried = 0; Tried < ARRAYSIZE(Small); Tried++) {
        Small[Tried] = ExAllocatePoolWithTag(PagedPool, 4000, KT_TAG);
        if (Small[Tried] == NULL)
            break;
        memset(Small[Tried], 0x5A, 4000);
        Served++;
    }
    SIZE_T PagesWhileShort = Paged->PagesInUse;
    KtGiveBackFrames(Frames);

    for (ULONG i = 0; i < Served; i++)
        ExFreePoolWithTag(Small[i], KT_TAG);
    if (Big != NULL)
        ExFreePoolWithTag(Big, KT_TAG);
    KT_EXPECT(Big == NULL);
    KT_EXPECT(Tried < ARRAYSIZE(Small)); /* a small one failed too */
    KT_EXPECT_EQ(PagesWhileShort, Pages + Served);
    KT_EXPECT(Paged->FailedAllocations >= Failed + 2);
    KT_EXPECT(Left < Available);
    PCSTR Problem = NULL;
    ExFoldPoolTagCounts(PagedPool);
    KT_EXPECT(ExpValidatePool(Paged, &Problem));
    ExTrimPoolPages(PagedPool);
    KT_EXPECT_EQ(Paged->PagesInUse, Pages);
    /* Every frame is back but the page tables the tries left (kept, as
     * NT keeps system page tables). */
    KT_EXPECT_EQ(MmAvailablePages() + (MmPagesInUse(MiUsagePageTable) - Tables), Available);
}

/*
 * Paged pool is charged to commit, as NT charges it: a burst of page-sized
 * blocks raises the system's commit charge by the pages the pool took, and
 * freeing them (the trim gives the pages back) lowers it again. Every page
 * paged pool holds is charged: its part of the charge is its page count.
 */
KTEST(pool, paged_pool_pages_are_charged_to_commit)
{
    static PVOID Blocks[64];
    PPOOL_DESCRIPTOR Paged = ExGetPoolDescriptor(PagedPool);
    MM_MEMORY_COUNTERS Before, During, After;
    ULONG Served = 0;

    ExTrimPoolPages(PagedPool);
    SIZE_T Pages = Paged->PagesInUse;
    MmQueryMemoryCounters(&Before);
    /* 4000 bytes: one block a page, a fresh page each after the trim. */
    while (Served < ARRAYSIZE(Blocks) &&
           (Blocks[Served] = ExAllocatePoolWithTag(PagedPool, 4000, KT_TAG)) != NULL)
        Served++;
    SIZE_T Added = Paged->PagesInUse - Pages;
    MmQueryMemoryCounters(&During);
    for (ULONG i = 0; i < Served; i++)
        ExFreePoolWithTag(Blocks[i], KT_TAG);
    ExTrimPoolPages(PagedPool);
    MmQueryMemoryCounters(&After);

    KT_EXPECT_EQ(Served, ARRAYSIZE(Blocks));
    KT_EXPECT_EQ(Added, Served);
    KT_EXPECT_EQ(Before.PagedPoolCommittedPages, Pages);
    KT_EXPECT_EQ(During.PagedPoolCommittedPages, Before.PagedPoolCommittedPages + Added);
    KT_EXPECT_EQ(During.CommittedPages, Before.CommittedPages + Added);
    KT_EXPECT_EQ(Paged->PagesInUse, Pages);
    KT_EXPECT_EQ(After.PagedPoolCommittedPages, Before.PagedPoolCommittedPages);
    KT_EXPECT_EQ(After.CommittedPages, Before.CommittedPages);
}

static void KtReturnCharge(PVOID Pages)
{
    MiReturnCommitment((PFN_NUMBER)(ULONG_PTR)Pages);
}

/*
 * Past the commit limit a paged-pool allocation that needs new pages is
 * NULL (and counted as failed), not a promise the pagefile cannot keep;
 * with the commit back, the same allocation is served. The test charges
 * all but a few pages of the room itself, as commits would.
 */
KTEST(pool, paged_pool_past_the_commit_limit_is_null)
{
    PPOOL_DESCRIPTOR Paged = ExGetPoolDescriptor(PagedPool);
    MM_MEMORY_COUNTERS Counters;
    MmQueryMemoryCounters(&Counters);
    KT_ASSERT(Counters.CommitLimit > Counters.CommittedPages + 16);
    PFN_NUMBER Charge = Counters.CommitLimit - Counters.CommittedPages - 4;
    KT_ASSERT_STATUS(MiChargeCommitment(Charge), STATUS_SUCCESS);
    PKT_DEFERRED Return = KtDefer(KtReturnCharge, (PVOID)(ULONG_PTR)Charge);
    SIZE_T Failed = Paged->FailedAllocations, Pages = Paged->PagesInUse;

    PVOID Big = ExAllocatePoolWithTag(PagedPool, 8 * PAGE_SIZE, KT_TAG);
    SIZE_T PagesWhileFull = Paged->PagesInUse;
    MmQueryMemoryCounters(&Counters);
    KtCleanupNow(Return);
    if (Big != NULL)
        ExFreePoolWithTag(Big, KT_TAG);
    KT_EXPECT(Big == NULL);
    KT_EXPECT_EQ(Paged->FailedAllocations, Failed + 1);
    KT_EXPECT_EQ(PagesWhileFull, Pages);
    KT_EXPECT(Counters.CommittedPages <= Counters.CommitLimit);

    PFN_NUMBER Committed = (MmQueryMemoryCounters(&Counters), Counters.CommittedPages);
    Big = ExAllocatePoolWithTag(PagedPool, 8 * PAGE_SIZE, KT_TAG);
    KT_ASSERT(Big != NULL);
    memset(Big, 0x5A, 8 * PAGE_SIZE);
    MmQueryMemoryCounters(&Counters);
    ExFreePoolWithTag(Big, KT_TAG);
    KT_EXPECT_EQ(Counters.CommittedPages, Committed + 8);
    MmQueryMemoryCounters(&Counters);
    KT_EXPECT_EQ(Counters.CommittedPages, Committed);
}

/*
 * Issue #16: a burst of allocations, freed, leaves the pools holding what
 * they held before. Small blocks give their pages back as the pages empty
 * (one kept per pool, which the trim returns); big blocks give theirs at
 * once; and the big page table, which grew to record the burst, shrinks
 * again (it kept 1,138 pages of nonpaged pool after an exhaustion).
 */
static void KtPoolStorm(POOL_TYPE Type, ULONG Count)
{
    static const SIZE_T Sizes[] = {4000, 4096, 64, 8192, 200, 4064};
    PPOOL_DESCRIPTOR Pool = ExGetPoolDescriptor(Type);
    PVOID *Blocks = ExAllocatePoolWithTag(NonPagedPool, Count * sizeof(PVOID), KT_TAG2);
    KT_ASSERT(Blocks != NULL);
    PKT_DEFERRED FreeArray = KtDefer(KtFreeUntagged, Blocks);

    /* A big block first, so that the big page table exists at its
     * smallest (one page, kept while the pool lives, so that a second
     * free of the last big block still finds its tombstone). */
    PVOID First = ExAllocatePoolWithTag(Type, PAGE_SIZE, KT_TAG);
    KT_ASSERT(First != NULL);
    ExFreePoolWithTag(First, KT_TAG);
    ExTrimPoolPages(Type);
    SIZE_T Pages = Pool->PagesInUse, TablePages = Pool->TablePages;
    PFN_NUMBER Tables = MmPagesInUse(MiUsagePageTable);
    PFN_NUMBER Available = MmAvailablePages();
    ULONG Allocated;
    for (Allocated = 0; Allocated < Count; Allocated++) {
        Blocks[Allocated] =
            ExAllocatePoolWithTag(Type, Sizes[Allocated % ARRAYSIZE(Sizes)], KT_TAG);
        if (Blocks[Allocated] == NULL)
            break;
    }
    SIZE_T PeakPages = Pool->PagesInUse, PeakTable = Pool->TablePages;
    for (ULONG i = Allocated; i > 1; i--) { /* Fisher-Yates order of frees */
        ULONG j = KtRandom() % i;
        PVOID B = Blocks[i - 1];
        Blocks[i - 1] = Blocks[j];
        Blocks[j] = B;
    }
    for (ULONG i = 0; i < Allocated; i++)
        ExFreePoolWithTag(Blocks[i], KT_TAG);
    KT_EXPECT_EQ(Allocated, Count);
    KT_EXPECT(PeakPages > Pages + Count / 2);
    KT_EXPECT(PeakTable > TablePages); /* the table grew... */
    KT_EXPECT_EQ(Pool->TablePages, TablePages); /* ...and shrank back */
    /* Without the trim: what is left is the one empty page kept and the
     * pages that parked lookaside blocks hold. */
    KT_EXPECT(Pool->PagesInUse <= Pages + POOL_EMPTY_PAGES_KEPT +
                  POOL_LOOKASIDE_MAX_UNITS * POOL_LOOKASIDE_DEFAULT_DEPTH);
    ExTrimPoolPages(Type);
    KT_EXPECT_EQ(Pool->PagesInUse, Pages);
    KT_EXPECT_EQ(MmAvailablePages() + (MmPagesInUse(MiUsagePageTable) - Tables), Available);
    PCSTR Problem = NULL;
    ExFoldPoolTagCounts(Type);
    KT_EXPECT(ExpValidatePool(Pool, &Problem));
    KT_EXPECT_EQ(KtBytesInUse(Type, KT_TAG), 0);
    KtCleanupNow(FreeArray);
}

/* Nonpaged pool is resident: the burst is sized to the machine, at most
 * half its available pages (the blocks average 5 pages per 6), so that
 * it runs the same at -m 32M as at 256M, where it is 12000 blocks as
 * before; running out is pool.running_out_is_null_not_a_crash's. Paged
 * pool pages out: 12000 blocks wherever there is a pagefile. */
KTEST(pool, nonpaged_pages_go_back_after_a_burst)
{
    ULONG Count = (ULONG)(MmAvailablePages() / 2);
    KtPoolStorm(NonPagedPool, Count < 12000 ? Count : 12000);
}

KTEST(pool, paged_pages_go_back_after_a_burst)
{
    KtPoolStorm(PagedPool, 12000);
}

KTEST(pool, blocks_are_visible_from_another_address_space)
{
    /* System space is the same in every address space (seed 003): a pool
     * block written here reads the same after switching CR3. */
    PULONG Np = ExAllocatePoolWithTag(NonPagedPool, 64, KT_TAG);
    PULONG Pp = ExAllocatePoolWithTag(PagedPool, 64, KT_TAG);
    KtDefer(KtFreeBlock, Np);           /* ExFreePoolWithTag, after the test */
    KtDefer(KtFreeBlock, Pp);
    KT_ASSERT(Np && Pp);
    *Np = 0x11223344;
    *Pp = 0x55667788;
    PMMADDRESS_SPACE Space;
    KT_ASSERT(NT_SUCCESS(MmCreateProcessAddressSpace(&Space)));
    PMMADDRESS_SPACE Previous = MmAttachAddressSpace(Space);
    ULONG SeenNp = *Np, SeenPp = *Pp;
    ULONG64 Cr3 = __readcr3();
    MmAttachAddressSpace(Previous);
    MmDeleteProcessAddressSpace(Space);
    KT_ASSERT(Cr3 != Previous->DirectoryTableBase);
    KT_ASSERT_EQ(SeenNp, 0x11223344);
    KT_ASSERT_EQ(SeenPp, 0x55667788);
}

KTEST(pool, fast_path_keeps_tag_accounting_exact)
{
    /* 10,000 pairs of one tag through the lookaside fast paths: every
     * allocation and every free counted, the bytes back where they were. */
    POOL_TYPE Type = NonPagedPool;
    for (ULONG Round = 0; Round < 2; Round++, Type = PagedPool) {
        POOL_TAG_INFO Before, After;
        PVOID P = ExAllocatePoolWithTag(Type, 64, KT_TAG);
        KT_ASSERT(P != NULL);
        ExFreePoolWithTag(P, KT_TAG);
        KT_ASSERT(KtFindTag(Type, KT_TAG, &Before));
        for (ULONG i = 0; i < 10000; i++) {
            PVOID Q = ExAllocatePoolWithTag(Type, 64, KT_TAG);
            BOOLEAN Parked = Q == P;
            if (Q != NULL)      /* freed before the check, which may stop the test */
                ExFreePoolWithTag(Q, KT_TAG);
            KT_ASSERT(Parked); /* the parked block, popped again */
        }
        KT_ASSERT(KtFindTag(Type, KT_TAG, &After));
        KT_ASSERT_EQ(After.Allocations - Before.Allocations, 10000);
        KT_ASSERT_EQ(After.Frees - Before.Frees, 10000);
        KT_ASSERT_EQ(After.Allocations - After.Frees, Before.Allocations - Before.Frees);
        KT_ASSERT_EQ(After.BytesInUse, Before.BytesInUse);
        PCSTR Problem = NULL;
        ExFoldPoolTagCounts(Type);
        KT_ASSERT(ExpValidatePool(ExGetPoolDescriptor(Type), &Problem));
    }
}

/* A 64-byte block that went through the lookaside fast paths: freed
 * (parked), then popped again by the next allocation of its size. */
static PVOID KtRecycled64(POOL_TYPE Type)
{
    PVOID P = ExAllocatePoolWithTag(Type, 64, KT_TAG);
    ExFreePoolWithTag(P, KT_TAG);
    PVOID Q = ExAllocatePoolWithTag(Type, 64, KT_TAG);
    return Q == P ? Q : NULL; /* NULL: not recycled, the caller's KT_ASSERT fails */
}

KTEST_BUGCHECK(pool, double_free, BAD_POOL_CALLER)
{
    PVOID P = KtRecycled64(NonPagedPool);
    KT_ASSERT(P != NULL);
    ExFreePoolWithTag(P, KT_TAG);
    ExFreePoolWithTag(P, KT_TAG);
}

KTEST_BUGCHECK(pool, double_free_paged, BAD_POOL_CALLER)
{
    PVOID P = KtRecycled64(PagedPool);
    KT_ASSERT(P != NULL);
    ExFreePoolWithTag(P, KT_TAG);
    ExFreePoolWithTag(P, KT_TAG);
}

KTEST_BUGCHECK(pool, free_with_wrong_tag, BAD_POOL_CALLER)
{
    PVOID P = KtRecycled64(PagedPool);
    KT_ASSERT(P != NULL);
    ExFreePoolWithTag(P, KT_TAG2);
}

KTEST_BUGCHECK(pool, free_with_wrong_tag_nonpaged, BAD_POOL_CALLER)
{
    PVOID P = KtRecycled64(NonPagedPool);
    KT_ASSERT(P != NULL);
    ExFreePoolWithTag(P, KT_TAG2);
}

KTEST_BUGCHECK(pool, overrun_into_next_header, BAD_POOL_HEADER)
{
    /* The overrun must reach the header of a block in use: allocate blocks
     * until two of them are neighbours in one page (the lookaside lists
     * hand blocks back in the order of earlier frees, and a block may end
     * its page, so the next block allocated need not follow it). The
     * others stay allocated: this boot ends here. */
    enum { Count = 256 };
    static PUCHAR Blocks[Count];
    PUCHAR A = NULL, B = NULL;
    for (ULONG I = 0; I < Count && B == NULL; I++) {
        Blocks[I] = ExAllocatePoolWithTag(NonPagedPool, 64, KT_TAG);
        KT_ASSERT(Blocks[I] != NULL);
        for (ULONG J = 0; J < I && B == NULL; J++) {
            for (ULONG K = 0; K < 2; K++) {
                PUCHAR First = K ? Blocks[J] : Blocks[I], Second = K ? Blocks[I] : Blocks[J];
                if (First + ((ULONG_PTR)((PPOOL_HEADER)First - 1)->BlockSize << POOL_BLOCK_SHIFT) ==
                    Second) {
                    A = First;
                    B = Second;
                }
            }
        }
    }
    KT_ASSERT(B != NULL);
    memset(A, 0x41, 64 + 32);   /* runs over A's end into B's header */
    ExFreePoolWithTag(A, KT_TAG);
    ExFreePoolWithTag(B, KT_TAG);
}

/* A paged block written after its free, while it sat on a lookaside
 * list: paged pool's fast allocation pops it at HIGH_LEVEL and checks its
 * header only afterwards, at PASSIVE_LEVEL, so it must bugcheck by itself
 * (0x0D, as the locked path does). */
KTEST_BUGCHECK(pool, paged_parked_header_overwritten, BAD_POOL_HEADER)
{
    PUCHAR A = ExAllocatePoolWithTag(PagedPool, 64, KT_TAG);
    KT_ASSERT(A != NULL);
    ExFreePoolWithTag(A, KT_TAG);
    A = ExAllocatePoolWithTag(PagedPool, 64, KT_TAG); /* the same block, fast */
    KT_ASSERT(A != NULL);
    ExFreePoolWithTag(A, KT_TAG); /* parked again */
    ((PPOOL_HEADER)A - 1)->BlockSize = 9; /* use after free */
    (void)ExAllocatePoolWithTag(PagedPool, 64, KT_TAG);
}

KTEST_BUGCHECK(pool, free_of_non_pool_address, BAD_POOL_CALLER)
{
    static UCHAR NotPool[64];
    ExFreePoolWithTag(NotPool + 16, KT_TAG);
}

/* The fast paths raise the IRQL for a moment (nonpaged pool: to
 * HIGH_LEVEL; paged pool: to APC_LEVEL) and must leave it where they
 * found it, at every IRQL each pool allows. */
KTEST(pool, fast_paths_leave_the_irql_as_they_found_it)
{
    static const KIRQL Levels[] = {PASSIVE_LEVEL, APC_LEVEL, DISPATCH_LEVEL};
    for (ULONG i = 0; i < ARRAYSIZE(Levels); i++) {
        POOL_TYPE Type = NonPagedPool;
        for (ULONG Round = 0; Round < 2; Round++, Type = PagedPool) {
            KIRQL Old;
            if (Type == PagedPool && Levels[i] >= DISPATCH_LEVEL)
                continue;
            KeRaiseIrql(Levels[i], &Old);
            PVOID P = ExAllocatePoolWithTag(Type, 64, KT_TAG);
            KT_ASSERT_EQ(KeGetCurrentIrql(), Levels[i]);
            ExFreePoolWithTag(P, KT_TAG);
            KT_ASSERT_EQ(KeGetCurrentIrql(), Levels[i]);
            PVOID Q = ExAllocatePoolWithTag(Type, 64, KT_TAG); /* the parked block */
            KT_ASSERT_EQ(KeGetCurrentIrql(), Levels[i]);
            KT_ASSERT(Q == P);
            ExFreePoolWithTag(Q, KT_TAG);
            KT_ASSERT_EQ(KeGetCurrentIrql(), Levels[i]);
            KeLowerIrql(Old);
        }
    }
}

/* Nonpaged pool's fast path holds every interrupt back while it runs; the
 * clock interrupts that arrive meanwhile must still be taken when it
 * lowers the IRQL again: the tick count goes on through a long run of
 * fast-path pairs (at 1 kHz, a million pairs span many ticks). */
KTEST(pool, clock_ticks_through_the_nonpaged_fast_path)
{
    ULONG64 Start = KeQueryTickCount();
    for (ULONG i = 0; i < 1000000 && KeQueryTickCount() < Start + 3; i++) {
        PVOID P = ExAllocatePoolWithTag(NonPagedPool, 64, KT_TAG);
        KT_ASSERT(P != NULL);
        ExFreePoolWithTag(P, KT_TAG);
    }
    KT_ASSERT(KeQueryTickCount() >= Start + 3);
}
