/*
 * pool.c - ExAllocatePoolWithTag and friends: the kernel side of the pools.
 *
 * The allocator itself (headers, free lists, big pages, tag accounting,
 * corruption checks) is mm/poolcore.c. This file gives it pages:
 *
 *   nonpaged pool   virtual pages from MiNonPagedPoolRegion, each backed by
 *                   a frame at once (resident, never paged: usable at
 *                   DISPATCH_LEVEL, e.g. in DPCs and by the pager itself)
 *   paged pool      virtual pages from MiPagedPoolRegion with demand-zero
 *                   PTEs: a frame arrives at the first touch (mm/fault.c),
 *                   is marked pageable in the PFN database, and is the
 *                   pagefile's to take later
 *
 * IRQL rules (DDK): nonpaged pool at IRQL <= DISPATCH_LEVEL, paged pool
 * below DISPATCH_LEVEL (ExpPoolMaximumIrql); breaking them is bugcheck
 * IRQL_NOT_LESS_OR_EQUAL. Running out is NULL for the caller.
 *
 * Locking: a spin lock for nonpaged pool, a fast mutex for paged pool
 * (whose own headers may be paged out, so it cannot be used at
 * DISPATCH_LEVEL); the pool core itself takes no locks.
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

static PVOID ExpAllocateNonPagedPages(PPOOL_DESCRIPTOR Pool, ULONG_PTR PageCount)
{
    UNREFERENCED_PARAMETER(Pool);
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
    for (ULONG_PTR i = 0; i < PageCount; i++) {
        MMPTE Old = MiUnmapPage((PUCHAR)Va + i * PAGE_SIZE);
        if (Old.u.Hard.Valid)
            MiInsertPageInFreeList(Old.u.Hard.PageFrameNumber);
    }
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

static PVOID ExpAllocateLocked(PPOOL_DESCRIPTOR Pool, SIZE_T NumberOfBytes, ULONG Tag, PVOID Caller)
{
    PVOID P;
    ExpCheckIrql(Pool, NULL, 0, Caller);
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

/*
 * Allocate NumberOfBytes from the pool PoolType, charged to Tag (four
 * characters, e.g. POOL_TAG('P','g','d','a')). Returns NULL when the pool
 * cannot grow. The memory is not zeroed. IRQL: see the file header.
 */
PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return ExpAllocateLocked(ExpDescriptorForType(PoolType), NumberOfBytes, Tag,
                             __builtin_return_address(0));
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
    ExpFreeLocked(ExpDescriptorForAddress(P), P, Tag, TRUE, __builtin_return_address(0));
}

void ExFreePool(PVOID P)
{
    ExpFreeLocked(ExpDescriptorForAddress(P), P, 0, FALSE, __builtin_return_address(0));
}

/* For the shell, gdb and tests: the tag table of one pool (like !poolused). */
ULONG ExQueryPoolTags(POOL_TYPE PoolType, PPOOL_TAG_INFO Buffer, ULONG Count)
{
    /* Under the pool's lock, so the counters are not torn; the caller's
     * buffer must therefore be resident (not paged pool). */
    PPOOL_DESCRIPTOR Pool = ExpDescriptorForType(PoolType);
    ULONG Result;
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

PPOOL_DESCRIPTOR ExGetPoolDescriptor(POOL_TYPE PoolType)
{
    return ExpDescriptorForType(PoolType);
}
