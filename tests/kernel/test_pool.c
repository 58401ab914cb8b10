/*
 * test_pool.c - ExAllocatePoolWithTag and friends in the running kernel:
 * sizes from 1 byte to 1 MiB, tag accounting back to zero, random frees,
 * nonpaged pages resident, paged pages demand-zero and pageable, and the
 * bugchecks for double free, overrun and wrong tag.
 */
#include "../../include/ktest.h"
#include "../../mm/mi.h"
#include "../../rtl/rtl.h"

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

KTEST(pool, nonpaged_is_resident_paged_is_demand_zero_and_pageable)
{
    PUCHAR Np = ExAllocatePoolWithTag(NonPagedPool, 3 * PAGE_SIZE, KT_TAG);
    PUCHAR Pp = ExAllocatePoolWithTag(PagedPool, 3 * PAGE_SIZE, KT_TAG);
    PKT_DEFERRED FreeNp = KtDefer(KtFreeBlock, Np);
    PKT_DEFERRED FreePp = KtDefer(KtFreeBlock, Pp);
    KT_ASSERT(Np && Pp);
    for (ULONG i = 0; i < 3; i++) {
        MMPTE Pte = *MiGetPteAddress(Np + i * PAGE_SIZE);
        KT_ASSERT(Pte.u.Hard.Valid && Pte.u.Hard.Write && Pte.u.Hard.NoExecute && !Pte.u.Hard.Owner);
        KT_ASSERT_EQ(MI_PFN_ELEMENT(Pte.u.Hard.PageFrameNumber)->Usage, MiUsageNonPagedPool);
        KT_ASSERT_EQ(MI_PFN_ELEMENT(Pte.u.Hard.PageFrameNumber)->Pageable, 0);
        /* Paged pool: committed but no frame until touched. */
        KT_ASSERT(!MiGetPteAddress(Pp + i * PAGE_SIZE)->u.Hard.Valid);
    }
    ULONG64 Faults = MmFaultCounters.PagedPoolDemandZero;
    ((volatile UCHAR *)Pp)[PAGE_SIZE + 5] = 7;   /* touch the middle page only */
    KT_ASSERT_EQ(MmFaultCounters.PagedPoolDemandZero, Faults + 1);
    MMPTE Pte = *MiGetPteAddress(Pp + PAGE_SIZE);
    KT_ASSERT(Pte.u.Hard.Valid && !Pte.u.Hard.Owner && Pte.u.Hard.NoExecute);
    KT_ASSERT_EQ(MI_PFN_ELEMENT(Pte.u.Hard.PageFrameNumber)->Usage, MiUsagePagedPool);
    KT_ASSERT_EQ(MI_PFN_ELEMENT(Pte.u.Hard.PageFrameNumber)->Pageable, 1);
    KT_ASSERT(!MiGetPteAddress(Pp)->u.Hard.Valid);
    KT_ASSERT_EQ(Pp[PAGE_SIZE + 6], 0);  /* demand-zero */
    PFN_NUMBER PagedFrames = MmPagesInUse(MiUsagePagedPool);
    KtCleanupNow(FreePp);               /* ExFreePoolWithTag(Pp, KT_TAG) */
    KT_ASSERT_EQ(MmPagesInUse(MiUsagePagedPool), PagedFrames - 1);
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
    PUCHAR A = ExAllocatePoolWithTag(NonPagedPool, 64, KT_TAG);
    PUCHAR B = ExAllocatePoolWithTag(NonPagedPool, 64, KT_TAG);
    (void)B;
    memset(A, 0x41, 64 + 32);   /* runs over A's end into whatever header follows */
    ExFreePoolWithTag(A, KT_TAG);
    ExFreePoolWithTag(B, KT_TAG);
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
