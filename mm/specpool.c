/*
 * specpool.c - Driver Verifier's special pool and low-resources
 * simulation: the pool allocations that the "verifier=" boot key (or a
 * test, through MmSetSpecialPool) asks to watch. docs/verifier.md is the
 * user's guide.
 *
 * Special pool. A watched allocation does not come from a pool page shared
 * with others: it gets a page of its own from the system PTEs, next to a
 * page that is never mapped (the guard), and the block sits against the
 * guard, so the first byte touched beyond it faults at once:
 *
 *   overrun mode (default)              underrun mode ("verifier=underrun")
 *
 *   | data page          | guard |      | guard | data page          |
 *   | hdr  pattern ..blk |  ---  |      |  ---  | blk ... pattern hdr|
 *                     ^ P                        ^ P
 *
 * Blocks keep the pool's 16-byte alignment, so in overrun mode up to 15
 * bytes of slack may lie between the block's end and the guard. Those
 * bytes, and everything else of the page that is neither the block nor
 * its 16-byte header, are filled with MI_SPECIAL_POOL_PATTERN; the free
 * checks them, so an overrun too small to reach the guard is still caught,
 * at the free. The header (MI_SPECIAL_POOL_HEADER) repeats what the table
 * below knows, for a reader with a hex dump.
 *
 * A free unmaps the data page (its frame goes back to the free list) but
 * keeps the virtual pages reserved, so a use after free faults too. The
 * freed run stays so until its table slot is needed again - the slots are
 * reused round-robin, so the most recently freed runs are the last to go.
 *
 * The bugchecks (NT's codes; Microsoft's bug check reference gives the
 * parameters, and Pagoda puts the allocation's tag where NT has
 * "reserved"):
 *
 *   touch of a guard page    DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION 0xD6
 *                            (address, 0 read / 1 write, RIP, tag)
 *   touch of a freed run     DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL 0xD5
 *                            (address, 0 read / 1 write, RIP, tag)
 *   pattern damaged at free  SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION 0xC1
 *                            (block, first damaged byte, tag, 0x24 when it is
 *                            after the block, 0x23 when before)
 *   free of a bad address    0xC1 (address, bytes requested, the block's
 *                            address, 0x21) inside a run; elsewhere in the
 *                            system PTEs the ordinary pool's BAD_POOL_CALLER
 *   second free              BAD_POOL_CALLER 0x07, wrong tag 0x0A, as the
 *                            ordinary pool
 *
 * The faults reach MmCheckSpecialPoolFault from the kernel's page-fault
 * bugcheck (kernel/trap.c): nothing resolves them, so they were going to
 * stop the system anyway, and this file only says which stop it is.
 *
 * Low resources ("verifier=lowres[:SEED]"): once the system has booted
 * (MmVerifierBootCompleted, when init exists), one pool allocation or
 * page allocation in MI_LOW_RESOURCES_ONE_IN fails, chosen by a
 * pseudo-random sequence from SEED, as NT's fault injection does. Every
 * caller must then fail cleanly.
 *
 * How the pool reaches this file: mm/pool.c's lookaside fast paths know
 * nothing of the verifier. Whenever a check is on, MiSetPoolLookasides
 * turns the lookaside lists off, so every allocation and free takes the
 * locked path, and there ExpAllocateLocked asks MiVerifierAllocate first
 * and ExpFreeSlow sends special-pool addresses here. A kernel without
 * "verifier=" pays nothing on its fast paths.
 *
 * Data and locking: MiSpecialPool (the table of runs) under
 * MiSpecialPoolLock, a spin lock (DISPATCH_LEVEL); MmCheckSpecialPoolFault
 * reads it without the lock, on its way to a bugcheck. MmVerifierFlags
 * and MmSpecialPoolTag change only at PASSIVE_LEVEL, in MmSetSpecialPool
 * and at boot.
 */
#include "mi.h"
#include "../rtl/rtl.h"
#include "../include/loader.h"

ULONG MmVerifierFlags;
ULONG MmSpecialPoolTag;

#define MI_SPECIAL_POOL_ENTRIES  4096          /* runs live or freed at a time */
#define MI_SPECIAL_POOL_PATTERN  0xA5          /* fill of every unused byte */
#define MI_SPECIAL_POOL_MAGIC    POOL_TAG('S', 'p', 'c', 'P')
#define MI_SPECIAL_POOL_MAX_BYTES (PAGE_SIZE - 2 * POOL_BLOCK_SIZE) /* 4064 */
#define MI_LOW_RESOURCES_ONE_IN  16

/* 0xC1's parameter 4 (Microsoft's bug check reference). */
#define MI_SPECIAL_FREE_BAD_ADDRESS    0x21
#define MI_SPECIAL_CORRUPT_BEFORE      0x23
#define MI_SPECIAL_CORRUPT_AFTER       0x24

typedef enum _MI_SPECIAL_STATE {
    MiSpecialUnused = 0,
    MiSpecialLive,
    MiSpecialFreed,
} MI_SPECIAL_STATE;

/* One run: two virtual pages, a data page and its guard. */
typedef struct _MI_SPECIAL_POOL_ENTRY {
    ULONG_PTR Va;               /* first of the two pages */
    PVOID Block;                /* what the caller got */
    ULONG Tag;
    ULONG NumberOfBytes;
    UCHAR State;                /* MI_SPECIAL_STATE */
    UCHAR Underrun;             /* guard before the data page */
    UCHAR PoolType;             /* NonPagedPool or PagedPool */
    UCHAR Reserved[5];
} MI_SPECIAL_POOL_ENTRY, *PMI_SPECIAL_POOL_ENTRY;

/* 16 bytes at the far side of the data page from the guard. */
typedef struct _MI_SPECIAL_POOL_HEADER {
    ULONG Magic;                /* MI_SPECIAL_POOL_MAGIC: "SpcP" in a dump */
    ULONG Tag;
    ULONG NumberOfBytes;
    ULONG Index;                /* slot in MiSpecialPool */
} MI_SPECIAL_POOL_HEADER, *PMI_SPECIAL_POOL_HEADER;
STATIC_ASSERT(sizeof(MI_SPECIAL_POOL_HEADER) == POOL_BLOCK_SIZE);

static MI_SPECIAL_POOL_ENTRY MiSpecialPool[MI_SPECIAL_POOL_ENTRIES];
static ULONG MiSpecialPoolNext;             /* where the next slot search starts */
static KSPIN_LOCK MiSpecialPoolLock;        /* 0 is an initialized, free spin lock */
BOOLEAN MiLowResourcesActive;               /* after boot, with VERIFIER_LOW_RESOURCES */
static ULONG MiLowResourcesState;           /* xorshift32 state, never 0 */
MM_VERIFIER_COUNTERS MmVerifierCounters;

static PUCHAR MiSpecialDataPage(const MI_SPECIAL_POOL_ENTRY *Entry)
{
    return (PUCHAR)Entry->Va + (Entry->Underrun ? PAGE_SIZE : 0);
}

static PMI_SPECIAL_POOL_HEADER MiSpecialHeader(const MI_SPECIAL_POOL_ENTRY *Entry)
{
    PUCHAR Data = MiSpecialDataPage(Entry);
    return (PMI_SPECIAL_POOL_HEADER)(Entry->Underrun ? Data + PAGE_SIZE - POOL_BLOCK_SIZE : Data);
}

/* The run whose two pages hold Va, or NULL. A linear search: special pool
 * is a debugging aid, and the frees and faults that search are slow
 * already. Caller holds MiSpecialPoolLock, or is about to bugcheck. */
static PMI_SPECIAL_POOL_ENTRY MiFindSpecialPoolEntry(ULONG_PTR Va)
{
    for (ULONG i = 0; i < MI_SPECIAL_POOL_ENTRIES; i++) {
        PMI_SPECIAL_POOL_ENTRY Entry = &MiSpecialPool[i];
        if (Entry->State != MiSpecialUnused && Va - Entry->Va < 2 * PAGE_SIZE)
            return Entry;
    }
    return NULL;
}

/* A slot for a new run: an unused one, or the next freed one round-robin
 * (its virtual pages are given back now). NULL when every slot is live.
 * Caller holds MiSpecialPoolLock. */
static PMI_SPECIAL_POOL_ENTRY MiTakeSpecialPoolSlot(void)
{
    for (ULONG n = 0; n < MI_SPECIAL_POOL_ENTRIES; n++) {
        ULONG i = (MiSpecialPoolNext + n) % MI_SPECIAL_POOL_ENTRIES;
        PMI_SPECIAL_POOL_ENTRY Entry = &MiSpecialPool[i];

        if (Entry->State == MiSpecialLive)
            continue;
        if (Entry->State == MiSpecialFreed)
            MiReleaseVa(&MiSystemPteRegion, (PVOID)Entry->Va, 2);
        memset(Entry, 0, sizeof(*Entry));
        MiSpecialPoolNext = i + 1;
        return Entry;
    }
    return NULL;
}

/* Map a fresh frame at the data page of Entry (Va set) and lay it out:
 * pattern everywhere, then the header and the block's place. FALSE when
 * no frame or page table could be had. Caller holds MiSpecialPoolLock. */
static BOOLEAN MiBuildSpecialPoolPage(PMI_SPECIAL_POOL_ENTRY Entry)
{
    PUCHAR Data = MiSpecialDataPage(Entry);
    PFN_NUMBER Pfn = MiRemoveAnyPage(MiUsageNonPagedPool);
    PMI_SPECIAL_POOL_HEADER Header;
    ULONG Rounded;

    if (Pfn == MM_EMPTY_LIST)
        return FALSE;
    if (!NT_SUCCESS(MiMapPage(Data, Pfn, MM_PTE_WRITE | MM_PTE_NO_EXECUTE))) {
        MiInsertPageInFreeList(Pfn);
        return FALSE;
    }
    memset(Data, MI_SPECIAL_POOL_PATTERN, PAGE_SIZE);
    Header = MiSpecialHeader(Entry);
    Header->Magic = MI_SPECIAL_POOL_MAGIC;
    Header->Tag = Entry->Tag;
    Header->NumberOfBytes = Entry->NumberOfBytes;
    Header->Index = (ULONG)(Entry - MiSpecialPool);
    /* Against the guard, keeping the pool's 16-byte alignment; 0 bytes
     * take one unit, as in the ordinary pool. */
    Rounded = (ULONG)ALIGN_UP_BY(Entry->NumberOfBytes ? Entry->NumberOfBytes : 1, POOL_BLOCK_SIZE);
    Entry->Block = Entry->Underrun ? Data : Data + PAGE_SIZE - Rounded;
    return TRUE;
}

/*
 * A special-pool block of NumberOfBytes (at most MI_SPECIAL_POOL_MAX_BYTES)
 * for Tag, or NULL when the table is full or no page could be had (the
 * caller then uses the ordinary pool, as NT does when special pool runs
 * out). The block's contents are the pattern, not zero.
 * IRQL <= DISPATCH_LEVEL (the caller checked the pool's rule).
 */
static PVOID MiAllocateSpecialPool(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    PMI_SPECIAL_POOL_ENTRY Entry;
    KIRQL OldIrql;
    PVOID Va;

    KeAcquireSpinLock(&MiSpecialPoolLock, &OldIrql);
    Entry = MiTakeSpecialPoolSlot();
    Va = Entry != NULL ? MiReserveVa(&MiSystemPteRegion, 2) : NULL;
    if (Va == NULL)
        goto NoRun;
    Entry->Va = (ULONG_PTR)Va;
    Entry->Tag = Tag;
    Entry->NumberOfBytes = (ULONG)NumberOfBytes;
    Entry->Underrun = (MmVerifierFlags & VERIFIER_SPECIAL_POOL_UNDERRUN) != 0;
    Entry->PoolType = (UCHAR)(((ULONG)PoolType & 1) ? PagedPool : NonPagedPool);
    if (!MiBuildSpecialPoolPage(Entry)) {
        MiReleaseVa(&MiSystemPteRegion, Va, 2);
        goto NoRun;
    }
    Entry->State = MiSpecialLive;
    MmVerifierCounters.SpecialPoolAllocations++;
    KeReleaseSpinLock(&MiSpecialPoolLock, OldIrql);
    return Entry->Block;

NoRun:
    if (Entry != NULL)
        memset(Entry, 0, sizeof(*Entry));
    MmVerifierCounters.SpecialPoolFallbacks++;
    KeReleaseSpinLock(&MiSpecialPoolLock, OldIrql);
    return NULL;
}

/* The first byte of Entry's data page that is neither header nor block
 * and no longer holds the pattern, or NULL. Exported to the tests through
 * MmFindSpecialPoolCorruption. */
static PUCHAR MiFindDamagedPattern(const MI_SPECIAL_POOL_ENTRY *Entry)
{
    PUCHAR Data = MiSpecialDataPage(Entry);
    PUCHAR Header = (PUCHAR)MiSpecialHeader(Entry);
    PUCHAR Block = Entry->Block, BlockEnd = Block + Entry->NumberOfBytes;

    for (PUCHAR Byte = Data; Byte < Data + PAGE_SIZE; Byte++) {
        if ((Byte >= Block && Byte < BlockEnd) ||
            (Byte >= Header && Byte < Header + sizeof(MI_SPECIAL_POOL_HEADER)))
            continue;
        if (*Byte != MI_SPECIAL_POOL_PATTERN)
            return Byte;
    }
    return NULL;
}

/* One sentence before a special-pool bugcheck, so that the serial log
 * says in words which allocation it was: NT prints the driver's name. */
static void MiDescribeSpecialPoolBlock(const MI_SPECIAL_POOL_ENTRY *Entry, const char *What,
                                       ULONG_PTR Va)
{
    DbgPrint("\nDriver Verifier: %s at %p: special pool block %p of %u bytes, tag '%.4s', "
             "%s.\n",
             What, (PVOID)Va, Entry->Block, Entry->NumberOfBytes, (const char *)&Entry->Tag,
             Entry->State == MiSpecialFreed ? "already freed" : "allocated");
}

/* The checks of a free of P, which lies in the run Entry, in the order NT
 * makes them; each failure is a bugcheck (see the file header). Caller
 * holds MiSpecialPoolLock. */
static VOID MiCheckSpecialPoolFree(PMI_SPECIAL_POOL_ENTRY Entry, PVOID P, ULONG Tag,
                                   BOOLEAN CheckTag)
{
    PMI_SPECIAL_POOL_HEADER Header;
    PUCHAR Damaged;

    if (Entry->State == MiSpecialFreed)
        KeBugCheckEx(BAD_POOL_CALLER, POOL_CALLER_DOUBLE_FREE, 0, Entry->Tag, (ULONG_PTR)P);
    if (P != Entry->Block)
        KeBugCheckEx(SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION, (ULONG_PTR)P, Entry->NumberOfBytes,
                     (ULONG_PTR)Entry->Block, MI_SPECIAL_FREE_BAD_ADDRESS);
    Header = MiSpecialHeader(Entry);
    if (Header->Magic != MI_SPECIAL_POOL_MAGIC || Header->Tag != Entry->Tag ||
        Header->NumberOfBytes != Entry->NumberOfBytes ||
        Header->Index != (ULONG)(Entry - MiSpecialPool))
        KeBugCheckEx(SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION, (ULONG_PTR)P, (ULONG_PTR)Header,
                     Entry->Tag, MI_SPECIAL_CORRUPT_BEFORE);
    Damaged = MiFindDamagedPattern(Entry);
    if (Damaged != NULL) {
        MiDescribeSpecialPoolBlock(Entry, Damaged > (PUCHAR)P ? "overrun found by the free"
                                                              : "underrun found by the free",
                                   (ULONG_PTR)Damaged);
        KeBugCheckEx(SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION, (ULONG_PTR)P, (ULONG_PTR)Damaged,
                     Entry->Tag,
                     Damaged > (PUCHAR)P ? MI_SPECIAL_CORRUPT_AFTER : MI_SPECIAL_CORRUPT_BEFORE);
    }
    if (CheckTag && Tag != Entry->Tag)
        KeBugCheckEx(BAD_POOL_CALLER, POOL_CALLER_WRONG_TAG, (ULONG_PTR)P, Entry->Tag, Tag);
}

/* See mm/mm.h. */
BOOLEAN MmIsSpecialPoolAddress(const void *P)
{
    return (ULONG_PTR)P - MM_SYSTEM_PTE_BASE < MM_SYSTEM_PTE_SIZE &&
           MiFindSpecialPoolEntry((ULONG_PTR)P) != NULL;
}

/* See mi.h. */
BOOLEAN MiFreeSpecialPool(PVOID P, ULONG Tag, BOOLEAN CheckTag, PVOID Caller)
{
    PMI_SPECIAL_POOL_ENTRY Entry;
    KIRQL Irql = KeGetCurrentIrql();
    KIRQL OldIrql;

    if (Irql > DISPATCH_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)P, Irql, 1, (ULONG_PTR)Caller);
    KeAcquireSpinLock(&MiSpecialPoolLock, &OldIrql);
    Entry = MiFindSpecialPoolEntry((ULONG_PTR)P);
    if (Entry == NULL) {
        /* A kernel stack, an MDL mapping...: not pool at all, which the
         * ordinary pool's checks say (BAD_POOL_CALLER). */
        KeReleaseSpinLock(&MiSpecialPoolLock, OldIrql);
        return FALSE;
    }
    MiCheckSpecialPoolFree(Entry, P, Tag, CheckTag);
    if (Entry->PoolType == PagedPool && Irql > APC_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)P, Irql, 1, (ULONG_PTR)Caller);
    /* The frame goes back; the two virtual pages stay reserved and
     * unmapped, so that a late touch faults (0xD5). */
    MiInsertPageInFreeList(MiUnmapPage(MiSpecialDataPage(Entry)).u.Hard.PageFrameNumber);
    Entry->State = MiSpecialFreed;
    MmVerifierCounters.SpecialPoolFrees++;
    KeReleaseSpinLock(&MiSpecialPoolLock, OldIrql);
    return TRUE;
}

/* See mm/mm.h. */
PVOID MmFindSpecialPoolCorruption(PVOID P)
{
    PMI_SPECIAL_POOL_ENTRY Entry;
    PVOID Damaged = NULL;
    KIRQL OldIrql;

    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    KeAcquireSpinLock(&MiSpecialPoolLock, &OldIrql);
    Entry = MiFindSpecialPoolEntry((ULONG_PTR)P);
    if (Entry != NULL && Entry->State == MiSpecialLive && Entry->Block == P)
        Damaged = MiFindDamagedPattern(Entry);
    KeReleaseSpinLock(&MiSpecialPoolLock, OldIrql);
    return Damaged;
}

/* See mm/mm.h. */
VOID MmCheckSpecialPoolFault(ULONG_PTR Va, ULONG64 FaultCode, ULONG_PTR Rip)
{
    PMI_SPECIAL_POOL_ENTRY Entry;
    ULONG_PTR Access = (FaultCode & PF_WRITE) ? 1 : 0;

    if (Va - MM_SYSTEM_PTE_BASE >= MM_SYSTEM_PTE_SIZE)
        return;
    Entry = MiFindSpecialPoolEntry(Va);
    if (Entry == NULL)
        return;
    if (Entry->State == MiSpecialFreed) {
        MiDescribeSpecialPoolBlock(Entry, Access ? "write after free" : "read after free", Va);
        KeBugCheckEx(DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL, Va, Access, Rip, Entry->Tag);
    }
    if (PAGE_ALIGN(Va) != MiSpecialDataPage(Entry)) {
        MiDescribeSpecialPoolBlock(Entry, Access ? "write to the guard page" : "read of the guard page",
                                   Va);
        KeBugCheckEx(DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION, Va, Access, Rip, Entry->Tag);
    }
}

/* ---- Low resources ---- */

/* See mi.h. */
BOOLEAN MiVerifierInjectFailureSlow(void)
{
    ULONG X;

    /* xorshift32 (Marsaglia, 2003): a fixed sequence for a given seed.
     * Not atomic: an interrupt that allocates between the read and the
     * write makes the run differ from the seed's, nothing worse. */
    X = MiLowResourcesState;
    X ^= X << 13;
    X ^= X >> 17;
    X ^= X << 5;
    MiLowResourcesState = X;
    if (X % MI_LOW_RESOURCES_ONE_IN != 0)
        return FALSE;
    MmVerifierCounters.InjectedFailures++;
    return TRUE;
}

/* See mi.h. */
BOOLEAN MiVerifierAllocate(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, PVOID *Block)
{
    if (MiVerifierInjectFailure()) {
        *Block = NULL;
        return TRUE;
    }
    if (!(MmVerifierFlags & VERIFIER_SPECIAL_POOL) || NumberOfBytes > MI_SPECIAL_POOL_MAX_BYTES ||
        (MmSpecialPoolTag != 0 && Tag != MmSpecialPoolTag))
        return FALSE;
    *Block = MiAllocateSpecialPool(PoolType, NumberOfBytes, Tag);
    return *Block != NULL;
}

/* See mm/mm.h. */
VOID MmSetSpecialPool(BOOLEAN Enable, BOOLEAN Underrun, ULONG Tag)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    MmVerifierFlags &= ~(VERIFIER_SPECIAL_POOL | VERIFIER_SPECIAL_POOL_UNDERRUN);
    if (Enable)
        MmVerifierFlags |= VERIFIER_SPECIAL_POOL | (Underrun ? VERIFIER_SPECIAL_POOL_UNDERRUN : 0);
    MmSpecialPoolTag = Tag;
    MiSetPoolLookasides(MmVerifierFlags == 0);
}

/* See mm/mm.h. */
VOID MmVerifierBootCompleted(void)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    if (!(MmVerifierFlags & VERIFIER_LOW_RESOURCES) || MiLowResourcesActive)
        return;
    DbgPrint("Driver Verifier: low resources simulation on from now: 1 pool or page allocation "
             "in %u fails (seed 0x%x).\n",
             MI_LOW_RESOURCES_ONE_IN, MiLowResourcesState);
    MiLowResourcesActive = TRUE;
}

/* One line per special-pool block still allocated: whose (the tag) and
 * how big, so a leak names its owner. */
static void MiPrintLiveSpecialPool(void)
{
    for (ULONG i = 0; i < MI_SPECIAL_POOL_ENTRIES; i++) {
        const MI_SPECIAL_POOL_ENTRY *Entry = &MiSpecialPool[i];
        if (Entry->State == MiSpecialLive)
            DbgPrint("Driver Verifier: still allocated: %p, %u bytes, tag '%.4s'\n", Entry->Block,
                     Entry->NumberOfBytes, (const char *)&Entry->Tag);
    }
}

/* See mm/mm.h. */
VOID MmVerifierPrintSummary(void)
{
    if (MmVerifierFlags == 0)
        return;
    if (MmVerifierFlags & VERIFIER_LOW_RESOURCES)
        DbgPrint("Driver Verifier: %llu allocations failed on purpose.\n",
                 MmVerifierCounters.InjectedFailures);
    if (MmVerifierFlags & VERIFIER_SPECIAL_POOL)
        DbgPrint("Driver Verifier: special pool gave out %llu blocks, %llu freed, %llu requests "
                 "served by the ordinary pool.\n",
                 MmVerifierCounters.SpecialPoolAllocations, MmVerifierCounters.SpecialPoolFrees,
                 MmVerifierCounters.SpecialPoolFallbacks);
    MiPrintLiveSpecialPool();
}

/* See mm/mm.h. */
VOID MmInitializeVerifier(ULONG Flags, ULONG Tag, ULONG Seed)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    MmVerifierFlags = Flags;
    MmSpecialPoolTag = Tag;
    MiLowResourcesState = Seed != 0 ? Seed : 0x9E3779B9u;
    if (Flags == 0)
        return;
    MiSetPoolLookasides(FALSE);
    DbgPrint("Driver Verifier: flags 0x%x:%s%s%s%s%s", Flags,
             (Flags & VERIFIER_SPECIAL_POOL) ? " special pool" : "",
             (Flags & VERIFIER_SPECIAL_POOL_UNDERRUN) ? " (underrun mode)" : "",
             (Flags & VERIFIER_FORCE_IRQL_CHECKING) ? " IRQL checking" : "",
             (Flags & VERIFIER_IO_CHECKING) ? " I/O verification" : "",
             (Flags & VERIFIER_LOW_RESOURCES) ? " low resources" : "");
    if ((Flags & VERIFIER_SPECIAL_POOL) && Tag != 0)
        DbgPrint(", special pool for tag '%.4s' only", (const char *)&Tag);
    DbgPrint("\n");
}
