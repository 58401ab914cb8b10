/*
 * pool.c - ExAllocatePoolWithTag and friends: the kernel side of the pools.
 *
 * The allocator itself (headers, free lists, big pages, tag accounting)
 * is mm/poolcore.c, its corruption checks mm/poolcheck.c, both pure logic
 * behind mm/poolcore.h. This file gives them pages, locks and IRQL rules:
 *
 *   nonpaged pool   virtual pages from MiNonPagedPoolRegion, each backed by
 *                   a frame at once (resident, never paged: usable at
 *                   DISPATCH_LEVEL, e.g. in DPCs and by the pager itself)
 *   paged pool      virtual pages from MiPagedPoolRegion, each with a
 *                   zeroed frame taken at once (ExpBackPagedPage), marked
 *                   pageable in the PFN database (its demand-zero PTE form
 *                   kept as the frame's OriginalPte) and put into the
 *                   system working set (MmSystemAddressSpace.Vm), which
 *                   may trim it to the standby or modified list; the
 *                   modified page writer may write it to the pagefile; a
 *                   soft or hard fault brings it back (mm/fault.c,
 *                   docs/paging.md). Taken now, not at the first touch:
 *                   with no pagefile a touch that finds no frame could
 *                   only bugcheck, while a frame missing here is a NULL
 *                   for the caller (with a pagefile it first waits for
 *                   frames, ExpWaitForPagingOut). Its pages are charged
 *                   to commit while the pool holds them (as NT does):
 *                   past the commit limit, NULL
 *
 * Data: the two POOL_DESCRIPTORs (ExpNonPagedPool, ExpPagedPool), a spin
 * lock, a fast mutex, and the lists paged pool's fast paths see
 * (ExpPagedLookasides, ExpPagedLookasidesBusy).
 *
 * IRQL rules (DDK): nonpaged pool at IRQL <= DISPATCH_LEVEL, paged pool
 * below DISPATCH_LEVEL (ExpPoolMaximumIrql); breaking them is bugcheck
 * IRQL_NOT_LESS_OR_EQUAL. Running out is NULL for the caller.
 *
 * Locking: a spin lock for nonpaged pool, a fast mutex for paged pool
 * (whose own headers may be paged out, so it cannot be used at
 * DISPATCH_LEVEL); the pool core itself takes no locks.
 *
 * Fast paths. Most allocations and frees are small blocks that a
 * lookaside list of the core can serve (ExpAllocatePoolFastEx and
 * ExpFreePoolFastEx in poolcore.h): a pop or push plus the header checks
 * and one tag count kept in the list, a few dozen instructions - less
 * than taking the lock. So
 * ExAllocatePoolWithTag and ExFreePoolWithTag try them first, under the
 * cheapest exclusion that is still correct, and fall back to the locked
 * path (which repeats every check and bugchecks) when they say no. Each
 * pool has its own copy, with the pool's type a constant:
 *
 *   nonpaged pool   inline in ExAllocatePoolWithTag and ExFreePoolWithTag,
 *                   from any IRQL <= DISPATCH_LEVEL, with CR8 raised to
 *                   HIGH_LEVEL: the local APIC then holds back every
 *                   interrupt, so on one processor nothing else - no
 *                   interrupt, no DPC, no other thread - runs until CR8
 *                   goes back. The interrupts held back arrive at that
 *                   moment and the way out of each runs the DPCs it queued
 *                   (kernel/irql.c), so the restore needs no pending-DPC
 *                   test. That is three instructions (two CR8 writes and
 *                   a constant) against pushfq/popq/cli/pushq/popfq's five.
 *                   The locked path runs at DISPATCH_LEVEL, where only
 *                   interrupt service routines could get in - and those
 *                   may not use the pool (their IRQL is above
 *                   DISPATCH_LEVEL, the IRQL check bugchecks) - so a fast
 *                   path never meets a half-done locked one. Nothing
 *                   touched is pageable: the descriptor is kernel .bss,
 *                   the blocks nonpaged pool.
 *
 *   paged pool      inline too (ExpAllocatePaged, ExpFreePaged), but in
 *                   two parts, because the headers of paged-pool blocks
 *                   live in pageable pages: a paged-pool page may be
 *                   trimmed from the system working set, and touching it
 *                   then is a soft fault; with a pagefile it may fault
 *                   and wait for the disk. Either is legal only below
 *                   DISPATCH_LEVEL (mm/fault.c stops an access at
 *                   DISPATCH_LEVEL even when the page is there). The
 *                   lookaside lists are arrays of block pointers in the
 *                   descriptor (nonpaged .bss), not chains through the
 *                   blocks, so the list part - pop or push, Depth and
 *                   Room, the pending tag count, the batch slot's image -
 *                   runs at HIGH_LEVEL as nonpaged pool's does and touches
 *                   nothing pageable; the header part runs at the caller's
 *                   IRQL (<= APC_LEVEL) on a block that is the caller's
 *                   alone: the free checks the header and marks it 'L'
 *                   before the push (and puts it back if the push says
 *                   no), the allocation checks the popped block's parked
 *                   header and writes it as allocated after the pop (a
 *                   header damaged while parked is then its own bugcheck,
 *                   BAD_POOL_HEADER 0x0D). NT does the same in spirit: its
 *                   per-processor lookaside lists serve paged pool without
 *                   the paged pool's lock. The mutex is not taken; instead
 *                   a thread that owns it (a locked path, a query, a trim)
 *                   points ExpPagedLookasides at ExpPagedLookasidesBusy,
 *                   lists that are all empty and all full, so a fast path
 *                   that runs while that thread is preempted says no and
 *                   goes the locked way, which waits - one store each way
 *                   on the locked path, no test on the fast one. What a
 *                   reader can see: between the two parts a block is off
 *                   its list but still 'L' (after a pop) or 'L' but not
 *                   yet on it (before a push); ExpValidatePool, run then
 *                   by another thread, would report it. With SMP the lists
 *                   must become per-processor (NT's KPRCB lookasides),
 *                   exactly as nonpaged pool's.
 *
 * The hot copies are told not to change a list's batch slot (Rebatch
 * FALSE), which would be a call: when a block is not of the list's batch
 * slot they say no. Nonpaged pool then tries once more with the version
 * that may (ExpAllocateNonPagedRebatch, ExpFreeNonPagedRebatch); paged
 * pool, and both when that says no too, take the locked path, whose
 * allocation also sets the batch slot (ExpAllocatePoolCore). A free
 * finds its pool in one pass: the two pools' ranges differ in one address
 * bit (ExpPoolOffset).
 *
 * Driver Verifier (mm/specpool.c, docs/verifier.md) is asked only on the
 * locked path: ExpAllocateLocked lets MiVerifierAllocate serve or fail a
 * request first, ExpFreeSlow hands it special pool's blocks (which lie
 * in the system PTEs, outside both pools, so no fast path takes them and
 * every free of one ends there).
 * While a check is on, MiSetPoolLookasides has turned the lookaside lists
 * off, so that every request reaches the locked path; the fast paths
 * themselves never look at the verifier.
 *
 * Every way out of a fast path that calls something (the locked path, the
 * nonpaged second try) is a tail call, so the
 * fast paths save few or no registers; the slow routines they jump to find
 * the caller of ExAllocatePoolWithTag or ExFreePoolWithTag in their own
 * return address, for the IRQL bugcheck's fourth parameter.
 */
#include "mi.h"
#include "../rtl/rtl.h"

static POOL_DESCRIPTOR ExpNonPagedPool;
static POOL_DESCRIPTOR ExpPagedPool;
static KSPIN_LOCK ExpNonPagedPoolLock;   /* nonpaged pool: a spin lock (DISPATCH_LEVEL) */
static FAST_MUTEX ExpPagedPoolMutex;     /* paged pool: a fast mutex (APC_LEVEL) */

/* The lookaside lists paged pool's fast paths see: ExpPagedPool.Lookaside,
 * or, while a thread owns ExpPagedPoolMutex, ExpPagedLookasidesBusy - all
 * empty (Depth 0), all full (Room 0), images that match no block - so
 * that a fast path never works on a list a preempted locked path is
 * half-way through, and says no without a test of its own. One store
 * each way (ExpLockPagedPool, ExpUnlockPagedPool), which no fast path can
 * straddle: they read the pointer at HIGH_LEVEL. */
static POOL_LOOKASIDE ExpPagedLookasidesBusy[POOL_PAGE_UNITS + 1];
static POOL_LOOKASIDE *ExpPagedLookasides;

/* The highest IRQL each pool may be used at. */
const KIRQL ExpPoolMaximumIrql[2] = {2 /* DISPATCH_LEVEL */, 1 /* APC_LEVEL */};

static void ExpFreePagedPages(PPOOL_DESCRIPTOR Pool, PVOID Va, ULONG_PTR PageCount);

#define EXP_POOL_NOINLINE __attribute__((noinline, noclone))

/* The address bit that tells the pools' ranges apart (ExpPoolOffset). */
#define EXP_POOL_SELECT_BIT 41
STATIC_ASSERT((MM_NONPAGED_POOL_START ^ MM_PAGED_POOL_START) == 1ULL << EXP_POOL_SELECT_BIT);
STATIC_ASSERT(MM_PAGED_POOL_SIZE <= 1ULL << EXP_POOL_SELECT_BIT &&
              MM_NONPAGED_POOL_SIZE <= 1ULL << EXP_POOL_SELECT_BIT);

static PVOID ExpAllocateNonPagedPages(PPOOL_DESCRIPTOR Pool, ULONG_PTR PageCount)
{
    UNREFERENCED_PARAMETER(Pool);
    if (MiVerifierInjectFailure())  /* "verifier=lowres" (mm/specpool.c) */
        return NULL;
    PUCHAR Base = MiReserveVa(&MiNonPagedPoolRegion, PageCount);
    if (!Base)
        return NULL;
    for (ULONG_PTR i = 0; i < PageCount; i++) {
        PFN_NUMBER Pfn = MiRemoveAnyPage(MiUsageNonPagedPool);
        if (Pfn == MM_EMPTY_LIST ||
            !NT_SUCCESS(MiMapPage(Base + i * PAGE_SIZE, Pfn, MM_PTE_WRITE | MM_PTE_NO_EXECUTE))) {
            if (Pfn != MM_EMPTY_LIST)
                MiInsertPageInFreeList(Pfn);
            for (ULONG_PTR j = 0; j < i; j++)
                MiInsertPageInFreeList(MiUnmapPage(Base + j * PAGE_SIZE).u.Hard.PageFrameNumber);
            MiReleaseVa(&MiNonPagedPoolRegion, Base, PageCount);
            return NULL;
        }
    }
    return Base;
}

static void ExpFreeNonPagedPages(PPOOL_DESCRIPTOR Pool, PVOID Va, ULONG_PTR PageCount)
{
    UNREFERENCED_PARAMETER(Pool);
    for (ULONG_PTR i = 0; i < PageCount; i++) {
        MMPTE Old = MiUnmapPage((PUCHAR)Va + i * PAGE_SIZE);
        ASSERT(Old.u.Hard.Valid);
        MiInsertPageInFreeList(Old.u.Hard.PageFrameNumber);
    }
    MiReleaseVa(&MiNonPagedPoolRegion, Va, PageCount);
}

/*
 * One paged-pool page: its page tables and its PTE's software form
 * (demand-zero, MM_READWRITE: MiMakeSystemDemandZeroPte), then a zeroed
 * frame behind it at once, set up as the first-touch fault would set it
 * up (MiUsagePagedPool, Pageable 1, the software form kept as OriginalPte,
 * PteFrame) and put into the system working set (MmSystemAddressSpace.Vm),
 * where the working-set manager or "trim 4" may trim it to the standby or
 * modified list, the modified page writer may write it to the pagefile,
 * and a soft or hard fault brings it back (mm/fault.c, docs/paging.md).
 * The frame is taken now, not at the first touch, because without a
 * pagefile a touch that finds no frame has nothing to wait for: it would
 * bugcheck 0x50 inside whoever touched the page, often the pool's own
 * header writes. Taken here, a frame that cannot be had is a NULL from
 * ExAllocatePoolWithTag (with a pagefile, after waiting for frames). (A
 * page trimmed while clean and never written, whose standby frame is then
 * reused, gets its demand-zero PTE back and a zeroed frame at the next
 * touch: zeros, which is what it held.)
 * Low-resources simulation ("verifier=lowres") may fail it, as it fails
 * nonpaged pool's pages. Returns FALSE, the PTE left in its software form
 * for the caller's cleanup to clear, when there is no frame.
 */
/* With a pagefile, memory full of pageable pages is not the end: wait for
 * the working-set manager and the modified page writer to make frames
 * free (MiWaitForAvailablePages, as a fault does) and say to try again,
 * up to 3000 times (10 ms each). FALSE: give up. The paged pool's mutex
 * may be held (APC_LEVEL). */
static BOOLEAN ExpWaitForPagingOut(PULONG Try)
{
    if (!MmPagingFileActive() || ++*Try > 3000)
        return FALSE;
    MiWaitForAvailablePages();
    return TRUE;
}

static BOOLEAN ExpBackPagedPage(PUCHAR Va)
{
    PMMPTE Pte = MiGetPteAddress(Va);
    MMPTE Entry = *Pte;
    PFN_NUMBER Pfn;
    PMMPFN PfnEntry;
    KIRQL OldIrql;

    if (MiVerifierInjectFailure())
        return FALSE;
    Pfn = MiRemoveZeroPage(MiUsagePagedPool);
    for (ULONG Try = 0; Pfn == MM_EMPTY_LIST && ExpWaitForPagingOut(&Try);)
        Pfn = MiRemoveZeroPage(MiUsagePagedPool);
    if (Pfn == MM_EMPTY_LIST)
        return FALSE;
    PfnEntry = MI_PFN_ELEMENT(Pfn);
    PfnEntry->PteAddress = Pte;
    PfnEntry->PteFrame = MiGetPteAddress(Pte)->u.Hard.PageFrameNumber;
    PfnEntry->OriginalPte = Entry;
    PfnEntry->Pageable = 1;
    /* The PFN lock (DISPATCH_LEVEL): a trim walks the working set and
     * rewrites PTEs; the page joins it valid, in one step. */
    OldIrql = KeRaiseIrqlToDpcLevel();
    MiInsertWorkingSetPage(&MmSystemAddressSpace.Vm, Pfn);
    Pte->u.Long = ((ULONG64)Pfn << PAGE_SHIFT) | MM_PTE_VALID | MM_PTE_WRITE | MM_PTE_NO_EXECUTE;
    KeFlushSingleTb(Va);
    MmSystemAddressSpace.ResidentPages++;
    KeLowerIrql(OldIrql);
    return TRUE;
}

/* Paged pool pages: the commit charge, the page tables, a demand-zero
 * PTE and a frame for each (ExpBackPagedPage); all or nothing. A paged
 * page is a promise like a committed user page (it may live in the
 * pagefile), so, as NT does, paged pool is charged to commit when it takes
 * pages and gives the charge back when it frees them: past the commit
 * limit the allocation is NULL. */
static PVOID ExpAllocatePagedPages(PPOOL_DESCRIPTOR Pool, ULONG_PTR PageCount)
{
    PUCHAR Base;
    ULONG_PTR Done;

    if (!NT_SUCCESS(MiChargePagedPoolCommitment(PageCount)))
        return NULL;
    Base = MiReserveVa(&MiPagedPoolRegion, PageCount);
    if (!Base) {
        MiReturnPagedPoolCommitment(PageCount);
        return NULL;
    }
    for (Done = 0; Done < PageCount; Done++) {
        PUCHAR Va = Base + Done * PAGE_SIZE;
        NTSTATUS Status = MiMakeSystemDemandZeroPte(Va); /* may need a page-table frame */
        for (ULONG Try = 0; !NT_SUCCESS(Status) && ExpWaitForPagingOut(&Try);)
            Status = MiMakeSystemDemandZeroPte(Va);
        if (!NT_SUCCESS(Status))
            goto Undo;
        if (!ExpBackPagedPage(Va)) {
            Done++; /* its PTE is written: ExpFreePagedPages clears it */
            goto Undo;
        }
    }
    return Base;

Undo:
    ExpFreePagedPages(Pool, Base, Done); /* returns Done pages' charge */
    MiReleaseVa(&MiPagedPoolRegion, Base + Done * PAGE_SIZE, PageCount - Done);
    MiReturnPagedPoolCommitment(PageCount - Done);
    return NULL;
}

static void ExpFreePagedPages(PPOOL_DESCRIPTOR Pool, PVOID Va, ULONG_PTR PageCount)
{
    UNREFERENCED_PARAMETER(Pool);
    /* A page may be valid (in the system working set) or trimmed (a
     * transition PTE, its frame on standby or modified), or, after an
     * allocation that failed half-way, demand-zero with no frame yet:
     * MiDeletePagedPoolPage frees whichever frame there is. */
    for (ULONG_PTR i = 0; i < PageCount; i++)
        MiDeletePagedPoolPage((PUCHAR)Va + i * PAGE_SIZE);
    MiReleaseVa(&MiPagedPoolRegion, Va, PageCount);
    MiReturnPagedPoolCommitment(PageCount);
}

/* Paged pool's lock: its fast mutex, and the fast paths turned away
 * (ExpPagedLookasides). APC_LEVEL while held. */
static void ExpLockPagedPool(void)
{
    ExAcquireFastMutex(&ExpPagedPoolMutex);
    ExpPagedLookasides = ExpPagedLookasidesBusy;
}

static void ExpUnlockPagedPool(void)
{
    ExpPagedLookasides = ExpPagedPool.Lookaside;
    ExReleaseFastMutex(&ExpPagedPoolMutex);
}

void MiInitializePools(void)
{
    PMI_VA_REGION Np = &MiNonPagedPoolRegion, Pp = &MiPagedPoolRegion;
    ExpInitializePoolDescriptor(&ExpNonPagedPool, NonPagedPool, (PVOID)Np->Base,
                                (PVOID)(Np->Base + (Np->Pages << PAGE_SHIFT)),
                                ExpAllocateNonPagedPages, ExpFreeNonPagedPages, NULL);
    ExpInitializePoolDescriptor(&ExpPagedPool, PagedPool, (PVOID)Pp->Base,
                                (PVOID)(Pp->Base + (Pp->Pages << PAGE_SHIFT)),
                                ExpAllocatePagedPages, ExpFreePagedPages, NULL);
    KeInitializeSpinLock(&ExpNonPagedPoolLock);
    ExInitializeFastMutex(&ExpPagedPoolMutex);
    ExpPagedLookasides = ExpPagedPool.Lookaside;
    /* ExpPoolOffset tells the pools apart by one address bit. */
    ASSERT(ExpNonPagedPool.Base == (ExpPagedPool.Base | 1ULL << EXP_POOL_SELECT_BIT));
}

/* See mi.h. Under each pool's lock: flushed first, so that no parked block
 * is left for a fast path to hand out. */
VOID MiSetPoolLookasides(BOOLEAN Enable)
{
    ULONG Depth = Enable ? POOL_LOOKASIDE_DEFAULT_DEPTH : 0;
    KIRQL OldIrql;

    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    KeAcquireSpinLock(&ExpNonPagedPoolLock, &OldIrql);
    ExpTrimPoolCore(&ExpNonPagedPool);
    ExpSetLookasideDepth(&ExpNonPagedPool, Depth);
    KeReleaseSpinLock(&ExpNonPagedPoolLock, OldIrql);
    ExpLockPagedPool();
    ExpTrimPoolCore(&ExpPagedPool);
    ExpSetLookasideDepth(&ExpPagedPool, Depth);
    ExpUnlockPagedPool();
}

/*
 * The IRQL rule (DDK): paged pool below DISPATCH_LEVEL, nonpaged pool at
 * DISPATCH_LEVEL or below. Breaking it is IRQL_NOT_LESS_OR_EQUAL, with
 * the pool address (0 for an allocation), the IRQL, 0 for allocate / 1 for
 * free, and the caller.
 */
static void ExpCheckIrql(PPOOL_DESCRIPTOR Pool, PVOID P, ULONG_PTR Operation, PVOID Caller)
{
    KIRQL Irql = KeGetCurrentIrql();
    if (Irql > ExpPoolMaximumIrql[Pool == &ExpPagedPool])
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)P, Irql, Operation, (ULONG_PTR)Caller);
}

/* The pool's lock, then the core. */
static inline PVOID ExpAllocateUnderLock(PPOOL_DESCRIPTOR Pool, SIZE_T NumberOfBytes, ULONG Tag)
{
    PVOID P;
    if (Pool == &ExpPagedPool) {
        ExpLockPagedPool();
        P = ExpAllocatePoolCore(Pool, NumberOfBytes, Tag);
        ExpUnlockPagedPool();
    } else {
        KIRQL OldIrql;
        KeAcquireSpinLock(&ExpNonPagedPoolLock, &OldIrql);
        P = ExpAllocatePoolCore(Pool, NumberOfBytes, Tag);
        KeReleaseSpinLock(&ExpNonPagedPoolLock, OldIrql);
    }
    return P;
}

/* With a Driver Verifier check on (mm/specpool.c): the verifier serves or
 * fails the request, else the pool does. Out of line and cold, so that
 * ExpAllocateLocked keeps no variable of it in memory. */
static EXP_POOL_NOINLINE __attribute__((cold)) PVOID
ExpAllocateVerifying(PPOOL_DESCRIPTOR Pool, SIZE_T NumberOfBytes, ULONG Tag)
{
    PVOID P;
    if (MiVerifierAllocate(Pool->PoolType, NumberOfBytes, Tag, &P))
        return P;
    return ExpAllocateUnderLock(Pool, NumberOfBytes, Tag);
}

static PVOID ExpAllocateLocked(PPOOL_DESCRIPTOR Pool, SIZE_T NumberOfBytes, ULONG Tag, PVOID Caller)
{
    ExpCheckIrql(Pool, NULL, 0, Caller);
    /* With a verifier check on, the lookaside lists are off and every
     * allocation comes here. */
    if (EXP_UNLIKELY(MmVerifierFlags != 0))
        return ExpAllocateVerifying(Pool, NumberOfBytes, Tag);
    return ExpAllocateUnderLock(Pool, NumberOfBytes, Tag);
}

static void ExpFreeLocked(PPOOL_DESCRIPTOR Pool, PVOID P, ULONG Tag, BOOLEAN CheckTag, PVOID Caller)
{
    ExpCheckIrql(Pool, P, 1, Caller);
    if (Pool == &ExpPagedPool) {
        ExpLockPagedPool();
        ExpFreePoolCore(Pool, P, Tag, CheckTag);
        ExpUnlockPagedPool();
    } else {
        KIRQL OldIrql;
        KeAcquireSpinLock(&ExpNonPagedPoolLock, &OldIrql);
        ExpFreePoolCore(Pool, P, Tag, CheckTag);
        KeReleaseSpinLock(&ExpNonPagedPoolLock, OldIrql);
    }
}

static PPOOL_DESCRIPTOR ExpDescriptorForType(POOL_TYPE PoolType)
{
    /* Every DDK type is one of the two base pools: odd values are paged. */
    if (PoolType == NonPagedPoolNx)
        return &ExpNonPagedPool;
    return ((ULONG)PoolType & 1) ? &ExpPagedPool : &ExpNonPagedPool;
}

static PPOOL_DESCRIPTOR ExpDescriptorForAddress(PVOID P)
{
    ULONG_PTR Va = (ULONG_PTR)P;
    if (Va >= MM_PAGED_POOL_START && Va < MM_PAGED_POOL_START + MM_PAGED_POOL_SIZE)
        return &ExpPagedPool;
    return &ExpNonPagedPool; /* the core rejects addresses outside its range */
}

/* ---- The fast paths (see the file header) ----
 *
 * Shaped so that the compiler can make them leaf code: every way out that
 * calls something (the locked path, the nonpaged second try, the
 * bugcheck of a damaged parked block) is a tail call or does not return,
 * so the fast paths save no registers. */

/* Nonpaged pool's exclusion, from Irql <= DISPATCH_LEVEL (the caller
 * checked): CR8 at HIGH_LEVEL holds back every interrupt in the local APIC,
 * so on one processor nothing else - no interrupt, no DPC, no other thread
 * - runs until CR8 goes back to Irql. The interrupts held back then arrive
 * at once, and the way out of each runs the DPCs it queued
 * (kernel/irql.c), so the lowering needs no pending-DPC test: nothing in
 * the section queues one. KeRaiseIrql and KeLowerIrql without their checks
 * and that test: three instructions in all, where pushfq/popq/cli and
 * pushq/popfq took five. */
static inline void ExpRaiseToHighLevel(void)
{
    __asm__ volatile("mov %0, %%cr8" : : "r"((ULONG64)HIGH_LEVEL) : "memory");
}

static inline void ExpRestoreIrql(ULONG64 Irql)
{
    __asm__ volatile("mov %0, %%cr8" : : "r"(Irql) : "memory");
}

/* The locked allocation, after a fast path said no (or was not tried).
 * Reached only by tail calls (jmp) from ExAllocatePoolWithTag, so its
 * return address is its caller's, which the IRQL bugcheck names; that
 * keeps the fast path from loading it. */
static EXP_POOL_NOINLINE PVOID ExpAllocateSlow(POOL_TYPE PoolType, SIZE_T NumberOfBytes,
                                               ULONG Tag)
{
    return ExpAllocateLocked(ExpDescriptorForType(PoolType), NumberOfBytes, Tag,
                             __builtin_return_address(0));
}

/* Nonpaged pool's hot path found a block of another tag slot than its
 * list's batch slot (or nothing, or something wrong): once more with
 * ExpAllocatePoolFast, which may call out to change the batch slot, then
 * the locked path. Reached by tail calls, as ExpAllocateSlow, so that the
 * hot path calls nothing and saves no registers. */
static EXP_POOL_NOINLINE PVOID ExpAllocateNonPagedRebatch(SIZE_T NumberOfBytes, ULONG Tag)
{
    ULONG64 Irql = __readcr8();
    PVOID P;

    ExpRaiseToHighLevel();
    P = ExpAllocatePoolFast(&ExpNonPagedPool, NumberOfBytes, Tag);
    ExpRestoreIrql(Irql);
    if (P != NULL)
        return P;
    return ExpAllocateLocked(&ExpNonPagedPool, NumberOfBytes, Tag, __builtin_return_address(0));
}

/* Paged pool's lookaside list of blocks of Bytes block bytes, as the
 * fast paths see it (ExpPagedLookasides). At HIGH_LEVEL. */
static inline POOL_LOOKASIDE *ExpPagedLookasideForBytes(ULONG_PTR Bytes)
{
    return (POOL_LOOKASIDE *)((PUCHAR)ExpPagedLookasides + Bytes * 8);
}

/* A block popped from a paged lookaside list whose header is no longer
 * the parked one: ExpCheckParkedBlock says how (BAD_POOL_HEADER 0x0D or
 * 0x05). No return, so that the fast allocation saves no registers for
 * it. */
static EXP_NORETURN void ExpReportBadParkedBlock(PPOOL_HEADER Entry, ULONG Units)
{
    ExpCheckParkedBlock(&ExpPagedPool, Entry, Units);
    KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_FREE_MODIFIED, (ULONG_PTR)Entry, Entry->Ulong1,
                 Units);
}

/*
 * Paged pool's fast allocation (see the file header), from Irql <=
 * APC_LEVEL and up to POOL_LOOKASIDE_MAX_BYTES (the caller checked both).
 * At HIGH_LEVEL: a parked block is popped, if the list has one and its
 * batch slot is Tag's, and counted. Back at Irql, on the block now the
 * caller's: its parked header is checked (size, type, 'L') - a block
 * damaged while parked is BAD_POOL_HEADER 0x0D, as on the locked path -
 * and rewritten as the batch slot's allocated block (one 8-byte store:
 * type, 'A', slot, tag) with the size asked for. Inline in
 * ExAllocatePoolWithTag; the way to the locked path is a tail call.
 */
static inline __attribute__((always_inline)) PVOID
ExpAllocatePaged(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, ULONG64 Irql)
{
    ULONG_PTR Bytes = (NumberOfBytes + 2 * POOL_BLOCK_SIZE - 1) & ~(ULONG_PTR)(POOL_BLOCK_SIZE - 1);
    POOL_LOOKASIDE *Lookaside;
    PPOOL_HEADER Entry;
    ULONG64 Image;
    PVOID Body;

    ExpRaiseToHighLevel();
    Lookaside = ExpPagedLookasideForBytes(Bytes);
    /* The batch slot's tag is the image's high half: compared in place. */
    if (EXP_UNLIKELY(Lookaside->Depth == 0 ||
                     ((const ULONG *)&Lookaside->AllocatedImage)[1] != Tag)) {
        ExpRestoreIrql(Irql);
        return ExpAllocateSlow(PoolType, NumberOfBytes, Tag);
    }
    Body = Lookaside->Slots[Lookaside->Depth];
    Image = Lookaside->AllocatedImage;
    Lookaside->DepthAndRoom += POOL_LOOKASIDE_POP;
    Lookaside->PendingAllocations++;
    ExpRestoreIrql(Irql);

    Entry = (PPOOL_HEADER)Body - 1;
    if (EXP_UNLIKELY(ExpHeaderMark(Entry) != Lookaside->Mark))
        ExpReportBadParkedBlock(Entry, (ULONG)(Bytes >> POOL_BLOCK_SHIFT));
    __builtin_memcpy((PUCHAR)Entry + 4, &Image, sizeof(Image));
    Entry->RequestedBytes = (USHORT)NumberOfBytes;
    return Body;
}

/*
 * Allocate NumberOfBytes from the pool PoolType, charged to Tag (contract
 * in mm/mm.h). IRQL: see the file header.
 *
 * Up to 496 bytes of NonPagedPool or PagedPool, a parked block of the size
 * is popped on the fast path: nonpaged pool's with CR8 at HIGH_LEVEL for
 * the whole of it, paged pool's (ExpAllocatePaged) only for its list
 * part. An IRQL above the pool's maximum
 * always goes the locked way, whose ExpCheckIrql bugchecks.
 */
PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    ULONG64 Irql = __readcr8(); /* KeGetCurrentIrql, kept 64 bits wide to write back */

    if (__builtin_expect(NumberOfBytes <= POOL_LOOKASIDE_MAX_BYTES, 1)) {
        /* Paged pool is asked first: its path is the longer one. */
        if (PoolType == PagedPool) {
            if (Irql <= APC_LEVEL)
                return ExpAllocatePaged(PoolType, NumberOfBytes, Tag, Irql);
        } else if (PoolType == NonPagedPool && Irql <= DISPATCH_LEVEL) {
            PVOID P;

            ExpRaiseToHighLevel();
            P = ExpAllocatePoolFastEx(&ExpNonPagedPool, NumberOfBytes, Tag, FALSE);
            ExpRestoreIrql(Irql);
            if (P != NULL)
                return P;
            return ExpAllocateNonPagedRebatch(NumberOfBytes, Tag);
        }
    }
    return ExpAllocateSlow(PoolType, NumberOfBytes, Tag);
}

/* The locked free, after a fast path said no (or was not tried). Reached
 * by tail calls only, as ExpAllocateSlow. */
static EXP_POOL_NOINLINE void ExpFreeSlow(PVOID P, ULONG Tag, BOOLEAN CheckTag)
{
    /* Special pool's blocks lie in the system PTEs, outside both pools:
     * this is the one way every free path sends them (mm/specpool.c). */
    if (EXP_UNLIKELY((ULONG_PTR)P - MM_SYSTEM_PTE_BASE < MM_SYSTEM_PTE_SIZE) &&
        MiFreeSpecialPool(P, Tag, CheckTag, __builtin_return_address(0)))
        return;
    ExpFreeLocked(ExpDescriptorForAddress(P), P, Tag, CheckTag, __builtin_return_address(0));
}

/* Nonpaged pool's hot free said no: once more with ExpFreePoolFast, which
 * may call out to change the list's batch slot, then the locked path.
 * Reached by tail calls, as ExpAllocateNonPagedRebatch. */
static EXP_POOL_NOINLINE void ExpFreeNonPagedRebatch(PVOID P, ULONG Tag, BOOLEAN CheckTag)
{
    ULONG64 Irql = __readcr8();
    BOOLEAN Done = FALSE;

    if (BYTE_OFFSET(P) != 0) { /* a big block has no list */
        ExpRaiseToHighLevel();
        Done = ExpFreePoolFast(&ExpNonPagedPool, NonPagedPool, P, Tag, CheckTag);
        ExpRestoreIrql(Irql);
    }
    if (!Done)
        ExpFreeLocked(&ExpNonPagedPool, P, Tag, CheckTag, __builtin_return_address(0));
}

/* A free of P, in paged pool's range: the fast path when Irql <= APC_LEVEL
 * (see the file header) - the checks of ExpFreePoolFastEx and the mark
 * 'L' at Irql, the push at HIGH_LEVEL - else the locked path. Inline in
 * ExFreePoolWithTag and ExFreePool. */
static inline __attribute__((always_inline)) void ExpFreePaged(PVOID P, ULONG Tag, BOOLEAN CheckTag)
{
    ULONG64 Irql = __readcr8(); /* KeGetCurrentIrql, kept 64 bits wide to write back */
    PPOOL_HEADER Entry = (PPOOL_HEADER)P - 1, Next;
    POOL_LOOKASIDE *Lookaside;
    ULONG_PTR Units, Bytes;
    ULONG64 Image;

    if (Irql > APC_LEVEL || BYTE_OFFSET(P) == 0)
        goto Slow;
    /* At Irql, on the caller's block: the free's checks, as
     * ExpFreePoolFastEx makes them, then the block marked parked. */
    if (Entry->HeaderCheck != ExpComputeHeaderCheck(&ExpPagedPool, Entry))
        goto Slow;
    Units = Entry->BlockSize;
    Bytes = Units << POOL_BLOCK_SHIFT;
    Next = (PPOOL_HEADER)((PUCHAR)Entry + Bytes);
    if (BYTE_OFFSET(Next) != 0 && Next->PreviousSize != Units)
        goto Slow;
    Image = ExpHeaderImage(Entry);
    if (CheckTag && Entry->PoolTag != Tag)
        goto Slow;
    Entry->State = POOL_STATE_LOOKASIDE;

    /* At HIGH_LEVEL, the list: the block allocated ('A') and of the
     * batch slot, as the image read before says, and room for it. */
    ExpRaiseToHighLevel();
    Lookaside = ExpPagedLookasideForBytes(Bytes);
    if (EXP_UNLIKELY(Image != Lookaside->AllocatedImage))
        goto Undo;
    if (EXP_UNLIKELY(ExpAddDepthAndRoom(&Lookaside->DepthAndRoom, POOL_LOOKASIDE_PUSH))) {
        Lookaside->DepthAndRoom -= POOL_LOOKASIDE_PUSH;
        goto Undo;
    }
    Lookaside->Slots[Lookaside->Depth] = P;
    Lookaside->PendingFrees++;
    ExpRestoreIrql(Irql);
    return;

Undo:
    /* The state it had: a second free finds it as the first left it. */
    ExpRestoreIrql(Irql);
    __builtin_memcpy((PUCHAR)Entry + 4, &Image, sizeof(Image)); /* State as it was */
Slow:
    ExpFreeSlow(P, Tag, CheckTag);
}

/* Which pool's range P is in, in one pass: the two pools' ranges differ
 * in one address bit, EXP_POOL_SELECT_BIT (checked at initialisation), so
 * the offset from paged pool's base with that bit cleared is the offset
 * into whichever pool that bit names. Returns the offset, rotated right
 * by 4 as in ExpIsPoolBlockAddress, and sets *NonPaged. */
static inline ULONG_PTR ExpPoolOffset(PVOID P, BOOLEAN *NonPaged)
{
    ULONG_PTR Offset = (ULONG_PTR)P - ExpPagedPool.Base;

    __asm__("btr %2, %0" : "+r"(Offset), "=@ccc"(*NonPaged) : "i"(EXP_POOL_SELECT_BIT));
    return Offset;
}

/* Offset rotated right by 4: below the pool's SizeInUnits when aligned and
 * in range (as in ExpIsPoolBlockAddress). */
static inline ULONG_PTR ExpRotateOffset(ULONG_PTR Offset)
{
    return (Offset >> POOL_BLOCK_SHIFT) | (Offset << (64 - POOL_BLOCK_SHIFT));
}

/* ExFreePoolWithTag and ExFreePool: each pool's fast path, else the
 * locked path (every check, the bugchecks). Every way out that calls is
 * a tail call. */
static inline __attribute__((always_inline)) void ExpFree(PVOID P, ULONG Tag, BOOLEAN CheckTag)
{
    ULONG64 Irql;
    BOOLEAN Done, NonPaged;
    ULONG_PTR Offset = ExpPoolOffset(P, &NonPaged);

    if (!NonPaged) {
        if (ExpRotateOffset(Offset) < ExpPagedPool.SizeInUnits)
            ExpFreePaged(P, Tag, CheckTag);
        else
            ExpFreeSlow(P, Tag, CheckTag);
        return;
    }
    if (ExpRotateOffset(Offset) >= ExpNonPagedPool.SizeInUnits) {
        ExpFreeSlow(P, Tag, CheckTag);
        return;
    }
    Irql = __readcr8(); /* KeGetCurrentIrql, kept 64 bits wide to write back */
    if (Irql > DISPATCH_LEVEL) {
        ExpFreeSlow(P, Tag, CheckTag); /* which bugchecks */
        return;
    }
    ExpRaiseToHighLevel();
    Done = ExpFreePoolFastEx(&ExpNonPagedPool, NonPagedPool, P, Tag, CheckTag, FALSE);
    ExpRestoreIrql(Irql);
    if (!Done)
        ExpFreeNonPagedRebatch(P, Tag, CheckTag);
}

/* ExAllocatePool2: POOL_FLAG_NON_PAGED or POOL_FLAG_PAGED (exactly one),
 * zeroed unless POOL_FLAG_UNINITIALIZED. Other flags, or a tag of 0: NULL. */
PVOID ExAllocatePool2(ULONG64 Flags, SIZE_T NumberOfBytes, ULONG Tag)
{
    ULONG64 Known = POOL_FLAG_NON_PAGED | POOL_FLAG_PAGED | POOL_FLAG_UNINITIALIZED;
    BOOLEAN Paged = (Flags & POOL_FLAG_PAGED) != 0;
    /* A tag of 0 fails, as Microsoft's documentation of ExAllocatePool2
     * says; ExAllocatePoolWithTag still takes it. */
    if ((Flags & ~Known) || Paged == ((Flags & POOL_FLAG_NON_PAGED) != 0) || Tag == 0)
        return NULL;
    PVOID P = ExAllocatePoolWithTag(Paged ? PagedPool : NonPagedPool, NumberOfBytes, Tag);
    if (P && !(Flags & POOL_FLAG_UNINITIALIZED))
        memset(P, 0, NumberOfBytes);
    return P;
}

/* Free a block; Tag must be the one it was allocated with, else
 * BAD_POOL_CALLER. */
void ExFreePoolWithTag(PVOID P, ULONG Tag)
{
    ExpFree(P, Tag, TRUE);
}

void ExFreePool(PVOID P)
{
    ExpFree(P, 0, FALSE);
}

/* For the shell, gdb and tests: the tag table of one pool (like !poolused). */
ULONG ExQueryPoolTags(POOL_TYPE PoolType, PPOOL_TAG_INFO Buffer, ULONG Count)
{
    /* Under the pool's lock, so the counters are not torn; the caller's
     * buffer must therefore be resident (not paged pool). */
    PPOOL_DESCRIPTOR Pool = ExpDescriptorForType(PoolType);
    ULONG Result;

    ASSERT(KeGetCurrentIrql() <= ExpPoolMaximumIrql[Pool == &ExpPagedPool]);
    if (Pool == &ExpPagedPool) {
        ExpLockPagedPool();
        Result = ExpQueryPoolTags(Pool, Buffer, Count);
        ExpUnlockPagedPool();
    } else {
        KIRQL OldIrql;
        KeAcquireSpinLock(&ExpNonPagedPoolLock, &OldIrql);
        Result = ExpQueryPoolTags(Pool, Buffer, Count);
        KeReleaseSpinLock(&ExpNonPagedPoolLock, OldIrql);
    }
    return Result;
}

/* For tests: fold the lookaside lists' pending tag counts into the tag
 * table of PoolType's pool, under its lock (see mi.h). */
VOID ExFoldPoolTagCounts(POOL_TYPE PoolType)
{
    PPOOL_DESCRIPTOR Pool = ExpDescriptorForType(PoolType);

    ASSERT(KeGetCurrentIrql() <= ExpPoolMaximumIrql[Pool == &ExpPagedPool]);
    if (Pool == &ExpPagedPool) {
        ExpLockPagedPool();
        ExpFoldLookasideCounts(Pool);
        ExpUnlockPagedPool();
    } else {
        KIRQL OldIrql;
        KeAcquireSpinLock(&ExpNonPagedPoolLock, &OldIrql);
        ExpFoldLookasideCounts(Pool);
        KeReleaseSpinLock(&ExpNonPagedPoolLock, OldIrql);
    }
}

/* For tests: merge PoolType's parked blocks back and return its empty
 * pages, under its lock (see mi.h). */
ULONG_PTR ExTrimPoolPages(POOL_TYPE PoolType)
{
    PPOOL_DESCRIPTOR Pool = ExpDescriptorForType(PoolType);
    ULONG_PTR Released;

    ASSERT(KeGetCurrentIrql() <= ExpPoolMaximumIrql[Pool == &ExpPagedPool]);
    if (Pool == &ExpPagedPool) {
        ExpLockPagedPool();
        Released = ExpTrimPoolCore(Pool);
        ExpUnlockPagedPool();
    } else {
        KIRQL OldIrql;
        KeAcquireSpinLock(&ExpNonPagedPoolLock, &OldIrql);
        Released = ExpTrimPoolCore(Pool);
        KeReleaseSpinLock(&ExpNonPagedPoolLock, OldIrql);
    }
    return Released;
}

PPOOL_DESCRIPTOR ExGetPoolDescriptor(POOL_TYPE PoolType)
{
    return ExpDescriptorForType(PoolType);
}
