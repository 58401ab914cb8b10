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
 *   paged pool      virtual pages from MiPagedPoolRegion with demand-zero
 *                   PTEs: a frame arrives at the first touch (mm/fault.c),
 *                   is marked pageable in the PFN database and joins the
 *                   system working set, which may trim it (docs/paging.md)
 *
 * Data: the two POOL_DESCRIPTORs (ExpNonPagedPool, ExpPagedPool), a spin
 * lock and a fast mutex; nothing else.
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
 *   paged pool      out of line (ExpAllocatePaged, ExpFreeOutsideNonPaged*)
 *                   so that nonpaged pool's path carries none of its
 *                   registers; NOT at a raised IRQL: the fast paths read
 *                   and write the headers (and the lookaside link) of
 *                   paged-pool blocks, which live in pageable pages. A
 *                   paged-pool page may be trimmed (a soft fault brings it
 *                   back); with a pagefile touching one may fault and wait
 *                   for the disk, which is legal only below DISPATCH_LEVEL
 *                   with interrupts on (mm/fault.c stops an access at
 *                   DISPATCH_LEVEL even when the page is there). So the
 *                   fast path runs where the locked path runs: at
 *                   APC_LEVEL, interrupts on, owning the pool's fast
 *                   mutex - but taken inline with one compare-exchange
 *                   (free -> owned) and given back with one atomic add,
 *                   instead of the out-of-line ExAcquireFastMutex and
 *                   ExReleaseFastMutex with their checks. If the mutex is
 *                   owned (a locked path, or a query, is in progress and was
 *                   preempted) the fast path does not wait: it goes the
 *                   locked way, which waits. A thread that finds it owned
 *                   while the fast path holds it waits on the mutex's event
 *                   as usual, and the fast release sets that event.
 *                   APC_LEVEL keeps a kernel APC of this thread, which
 *                   might allocate, from running while it holds the mutex.
 *                   The fast path does not record itself as Owner (it
 *                   holds the mutex for a few dozen instructions and calls
 *                   nothing); a debugger that finds Count 0 and Owner NULL
 *                   is looking at a fast path.
 *
 * The hot copies are told not to change a list's batch slot (Rebatch
 * FALSE), which would be a call: when a block is not of the list's batch
 * slot they say no. Nonpaged pool then tries once more with the version
 * that may (ExpAllocateNonPagedRebatch, ExpFreeNonPagedRebatch); paged
 * pool, and both when that says no too, take the locked path, whose
 * allocation also sets the batch slot (ExpAllocatePoolCore).
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
 * Every way out of a fast path that calls something (the locked path, a
 * waiter to wake, DPCs to run when the IRQL drops) is a tail call, so the
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

/* The highest IRQL each pool may be used at. */
const KIRQL ExpPoolMaximumIrql[2] = {2 /* DISPATCH_LEVEL */, 1 /* APC_LEVEL */};

static void ExpFreePagedPages(PPOOL_DESCRIPTOR Pool, PVOID Va, ULONG_PTR PageCount);

#define EXP_POOL_NOINLINE __attribute__((noinline, noclone))

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

/* Paged pool pages get demand-zero PTEs (software, MM_READWRITE); the page
 * tables above them are created now, so the fault handler never has to. */
static PVOID ExpAllocatePagedPages(PPOOL_DESCRIPTOR Pool, ULONG_PTR PageCount)
{
    UNREFERENCED_PARAMETER(Pool);
    PUCHAR Base = MiReserveVa(&MiPagedPoolRegion, PageCount);
    if (!Base)
        return NULL;
    for (ULONG_PTR i = 0; i < PageCount; i++) {
        PUCHAR Va = Base + i * PAGE_SIZE;
        if (!NT_SUCCESS(MiMakeSystemDemandZeroPte(Va))) {
            ExpFreePagedPages(Pool, Base, i);
            MiReleaseVa(&MiPagedPoolRegion, Base + i * PAGE_SIZE, PageCount - i);
            return NULL;
        }
    }
    return Base;
}

static void ExpFreePagedPages(PPOOL_DESCRIPTOR Pool, PVOID Va, ULONG_PTR PageCount)
{
    UNREFERENCED_PARAMETER(Pool);
    /* Paging (docs/paging.md): a page may be valid or trimmed. */
    for (ULONG_PTR i = 0; i < PageCount; i++)
        MiDeletePagedPoolPage((PUCHAR)Va + i * PAGE_SIZE);
    MiReleaseVa(&MiPagedPoolRegion, Va, PageCount);
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
    ExAcquireFastMutex(&ExpPagedPoolMutex);
    ExpTrimPoolCore(&ExpPagedPool);
    ExpSetLookasideDepth(&ExpPagedPool, Depth);
    ExReleaseFastMutex(&ExpPagedPoolMutex);
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
        ExAcquireFastMutex(&ExpPagedPoolMutex);
        P = ExpAllocatePoolCore(Pool, NumberOfBytes, Tag);
        ExReleaseFastMutex(&ExpPagedPoolMutex);
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
        ExAcquireFastMutex(&ExpPagedPoolMutex);
        ExpFreePoolCore(Pool, P, Tag, CheckTag);
        ExReleaseFastMutex(&ExpPagedPoolMutex);
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
 * calls something (the locked path, a waiter to wake, DPCs to run when
 * the IRQL drops) is a tail call to a routine below, so a fast path saves
 * at most one register (nonpaged pool's allocation needs one more than
 * the nine the ABI lets it use freely). */

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

/* Paged pool: from Irql <= APC_LEVEL (the caller checked), raise to
 * APC_LEVEL and take the mutex if it is free; FALSE when it is owned,
 * still at APC_LEVEL. KeRaiseIrql's own check would only repeat the
 * caller's. */
static inline BOOLEAN ExpTryAcquirePagedPoolFast(void)
{
    __asm__ volatile("mov %0, %%cr8" : : "r"((ULONG64)APC_LEVEL) : "memory");
    /* Compared with the value read back, so that the compiler branches on
     * the compare-exchange's own flag instead of making a BOOLEAN of it. */
    return __sync_val_compare_and_swap(&ExpPagedPoolMutex.Count, 1, 0) == 1;
}

/* Give the mutex back and drop to Irql, when that needs no call: no thread
 * came to wait for the mutex meanwhile (the atomic add did not end at 1;
 * ExReleaseFastMutex's KeSetEvent then hands it over) and no DPC,
 * reschedule or kernel APC is pending (KeLowerIrql runs them). Returns 0 when done;
 * else, with the mutex counted back but still at APC_LEVEL, what the exit
 * routine below must do: EXP_RELEASE_WAKE (set the event and lower) or
 * EXP_RELEASE_LOWER (lower). Whether to wake comes from the add itself:
 * read later, Count could be another thread's fresh acquisition.
 * EXP_NOT_ACQUIRED is what the fast path passes when it could not take the
 * mutex: lower, nothing else. */
#define EXP_RELEASE_WAKE  1
#define EXP_RELEASE_LOWER 2
#define EXP_NOT_ACQUIRED  3
static inline ULONG ExpReleasePagedPoolFast(ULONG64 Irql)
{
    if (__atomic_add_fetch(&ExpPagedPoolMutex.Count, 1, __ATOMIC_RELEASE) != 1)
        return EXP_RELEASE_WAKE;
    if (KeSoftwareInterruptsPending())
        return EXP_RELEASE_LOWER;
    __asm__ volatile("mov %0, %%cr8" : : "r"(Irql) : "memory");
    return 0;
}

/* The rest of a paged fast path's exit when it needs a call: hand the
 * mutex to a waiter (as ExReleaseFastMutex does) if Exit says so, then
 * lower to Irql through KeLowerIrql (a no-op check when the fast path
 * lowered already). */
static inline void ExpFinishPagedExit(ULONG Exit, ULONG64 Irql)
{
    if (Exit == EXP_RELEASE_WAKE)
        KeSetEvent(&ExpPagedPoolMutex.Event, 0, FALSE);
    KeLowerIrql((KIRQL)Irql);
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

/* A paged fast allocation that needs a call on the way out: finish the
 * exit, then return P, or take the locked path when the fast path found
 * nothing (P NULL). Reached by tail calls, as ExpAllocateSlow. */
static EXP_POOL_NOINLINE PVOID ExpAllocatePagedExit(PVOID P, ULONG Exit, ULONG64 Irql,
                                                    SIZE_T NumberOfBytes, ULONG Tag)
{
    PVOID Caller = __builtin_return_address(0);

    ExpFinishPagedExit(Exit, Irql);
    if (P != NULL)
        return P;
    return ExpAllocateLocked(&ExpPagedPool, NumberOfBytes, Tag, Caller);
}

/* Paged pool's copy of the allocation: the fast path at APC_LEVEL owning
 * the mutex (see the file header), from Irql <= APC_LEVEL and up to
 * POOL_LOOKASIDE_MAX_BYTES (the caller checked both). Out of line, so that
 * the registers it needs are not saved on nonpaged pool's path; it takes
 * ExAllocatePoolWithTag's arguments in their registers (PoolType is
 * PagedPool) so that the jump to it moves none. Every way out that calls
 * is a tail call. */
static EXP_POOL_NOINLINE PVOID ExpAllocatePaged(POOL_TYPE PoolType, SIZE_T NumberOfBytes,
                                                ULONG Tag, ULONG64 Irql)
{
    PVOID P;
    ULONG Exit;

    UNREFERENCED_PARAMETER(PoolType);

    if (!ExpTryAcquirePagedPoolFast())
        return ExpAllocatePagedExit(NULL, EXP_NOT_ACQUIRED, Irql, NumberOfBytes, Tag);
    P = ExpAllocatePoolFastEx(&ExpPagedPool, NumberOfBytes, Tag, FALSE);
    Exit = ExpReleasePagedPoolFast(Irql);
    if (Exit != 0 || P == NULL)
        return ExpAllocatePagedExit(P, Exit, Irql, NumberOfBytes, Tag);
    return P;
}

/*
 * Allocate NumberOfBytes from the pool PoolType, charged to Tag (contract
 * in mm/mm.h). IRQL: see the file header.
 *
 * Up to 496 bytes of NonPagedPool or PagedPool, a parked block of the size
 * is popped on the fast path: nonpaged pool's inline here, with interrupts
 * off, paged pool's in ExpAllocatePaged. An IRQL above the pool's maximum
 * always goes the locked way, whose ExpCheckIrql bugchecks.
 */
PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    ULONG64 Irql = __readcr8(); /* KeGetCurrentIrql, kept 64 bits wide to write back */

    if (__builtin_expect(NumberOfBytes <= POOL_LOOKASIDE_MAX_BYTES, 1)) {
        if (PoolType == NonPagedPool && Irql <= DISPATCH_LEVEL) {
            PVOID P;

            ExpRaiseToHighLevel();
            P = ExpAllocatePoolFastEx(&ExpNonPagedPool, NumberOfBytes, Tag, FALSE);
            ExpRestoreIrql(Irql);
            if (P != NULL)
                return P;
            return ExpAllocateNonPagedRebatch(NumberOfBytes, Tag);
        }
        if (PoolType == PagedPool && Irql <= APC_LEVEL)
            return ExpAllocatePaged(PoolType, NumberOfBytes, Tag, Irql);
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

/* A paged fast free that needs a call on the way out: finish the exit,
 * then take the locked path when the fast path did not free P (Done
 * FALSE). Reached by tail calls, as ExpAllocateSlow. */
static EXP_POOL_NOINLINE void ExpFreePagedExit(PVOID P, ULONG Tag, BOOLEAN CheckTag, ULONG64 Irql,
                                               ULONG Exit, BOOLEAN Done)
{
    PVOID Caller = __builtin_return_address(0);

    ExpFinishPagedExit(Exit, Irql);
    if (!Done)
        ExpFreeLocked(&ExpPagedPool, P, Tag, CheckTag, Caller);
}

/* A free of P outside nonpaged pool: paged pool's fast path when P is in
 * paged pool and Irql <= APC_LEVEL (see the file header), else the locked
 * path. Inlined only into the two out-of-line copies below, one per value
 * of CheckTag, so that ExFreePoolWithTag keeps nonpaged pool's path free
 * of the registers this one needs. */
static inline __attribute__((always_inline)) void ExpFreeOutsideNonPaged(PVOID P, ULONG Tag,
                                                                         BOOLEAN CheckTag)
{
    ULONG64 Irql = __readcr8(); /* KeGetCurrentIrql, kept 64 bits wide to write back */
    BOOLEAN Done;
    ULONG Exit;

    if (!ExpIsPoolBlockAddress(&ExpPagedPool, P) || Irql > APC_LEVEL) {
        ExpFreeSlow(P, Tag, CheckTag);
        return;
    }
    if (!ExpTryAcquirePagedPoolFast()) {
        ExpFreePagedExit(P, Tag, CheckTag, Irql, EXP_NOT_ACQUIRED, FALSE);
        return;
    }
    Done = ExpFreePoolFastEx(&ExpPagedPool, PagedPool, P, Tag, CheckTag, FALSE);
    Exit = ExpReleasePagedPoolFast(Irql);
    if (Exit != 0 || !Done)
        ExpFreePagedExit(P, Tag, CheckTag, Irql, Exit, Done);
}

static EXP_POOL_NOINLINE void ExpFreeOutsideNonPagedWithTag(PVOID P, ULONG Tag)
{
    ExpFreeOutsideNonPaged(P, Tag, TRUE);
}

static EXP_POOL_NOINLINE void ExpFreeOutsideNonPagedNoTag(PVOID P)
{
    ExpFreeOutsideNonPaged(P, 0, FALSE);
}

/* ExFreePoolWithTag and ExFreePool: nonpaged pool's fast path, else the
 * locked path (every check, the bugchecks); anything outside nonpaged
 * pool goes to ExpFreeOutsideNonPaged*. Every way out that calls is a tail
 * call. */
static inline __attribute__((always_inline)) void ExpFree(PVOID P, ULONG Tag, BOOLEAN CheckTag)
{
    ULONG64 Irql;
    BOOLEAN Done;

    if (!ExpIsPoolBlockAddress(&ExpNonPagedPool, P)) {
        if (CheckTag)
            ExpFreeOutsideNonPagedWithTag(P, Tag);
        else
            ExpFreeOutsideNonPagedNoTag(P);
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
 * zeroed unless POOL_FLAG_UNINITIALIZED. Other flags: NULL. */
PVOID ExAllocatePool2(ULONG64 Flags, SIZE_T NumberOfBytes, ULONG Tag)
{
    ULONG64 Known = POOL_FLAG_NON_PAGED | POOL_FLAG_PAGED | POOL_FLAG_UNINITIALIZED;
    BOOLEAN Paged = (Flags & POOL_FLAG_PAGED) != 0;
    if ((Flags & ~Known) || Paged == ((Flags & POOL_FLAG_NON_PAGED) != 0))
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
        ExAcquireFastMutex(&ExpPagedPoolMutex);
        Result = ExpQueryPoolTags(Pool, Buffer, Count);
        ExReleaseFastMutex(&ExpPagedPoolMutex);
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
        ExAcquireFastMutex(&ExpPagedPoolMutex);
        ExpFoldLookasideCounts(Pool);
        ExReleaseFastMutex(&ExpPagedPoolMutex);
    } else {
        KIRQL OldIrql;
        KeAcquireSpinLock(&ExpNonPagedPoolLock, &OldIrql);
        ExpFoldLookasideCounts(Pool);
        KeReleaseSpinLock(&ExpNonPagedPoolLock, OldIrql);
    }
}

PPOOL_DESCRIPTOR ExGetPoolDescriptor(POOL_TYPE PoolType)
{
    return ExpDescriptorForType(PoolType);
}
