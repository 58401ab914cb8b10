/*
 * poolcore.h - the pool allocator, private to mm/ (and to the tests): the
 * data structures behind ExAllocatePoolWithTag and ExFreePoolWithTag, the
 * routines of mm/poolcore.c (the allocator) and mm/poolcheck.c (its checks
 * and validator), and the lookaside fast paths, inline. Pure logic: pages
 * come from two callbacks in the descriptor, so the same code runs in the
 * kernel (mm/pool.c supplies mapped pool pages, the locks and the IRQL
 * checks) and in the host unit tests (tests/host/test_pool.c supplies
 * pages from an arena). What other components may use of the pool -
 * POOL_TYPE, POOL_TAG_INFO, the Ex* calls - is in include/pool.h and
 * mm/mm.h; nothing outside mm/ and tests/ includes this file.
 *
 * Locking: none inside. Every routine here reads and writes the descriptor
 * and the pool pages, so the caller must hold that pool's lock for the
 * whole call (nonpaged pool: a spin lock, callable at IRQL <=
 * DISPATCH_LEVEL; paged pool: a mutex, IRQL < DISPATCH_LEVEL because the
 * headers, the free lists and the big page table live in pageable pages).
 * The callbacks are called with that lock held. The fast paths at the end
 * need only that no other user of the pool runs meanwhile (see there).
 *
 * The design and the page picture are at the top of mm/poolcore.c, the
 * bugcheck codes at the top of mm/poolcheck.c.
 */
#ifndef PAGODA_MM_POOLCORE_H
#define PAGODA_MM_POOLCORE_H

#include "../include/pool.h" /* POOL_TYPE, POOL_TAG_INFO, POOL_TRACKER_SIZE */

#define EXP_LIKELY(x)   __builtin_expect(!!(x), 1)
#define EXP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define EXP_NOINLINE    __attribute__((noinline))
#define EXP_NORETURN    __attribute__((noreturn, noinline, cold))

/* ------------------------------------------------------------------------
 * Sizes. Small blocks are measured in 16-byte units ("block units"); the
 * header is one unit, and a free block needs a second one for its
 * LIST_ENTRY, so the smallest block is 2 units (16 usable bytes).
 * ------------------------------------------------------------------------ */
#define POOL_BLOCK_SHIFT        4
#define POOL_BLOCK_SIZE         (1u << POOL_BLOCK_SHIFT)          /* 16 */
#define POOL_PAGE_UNITS         ((ULONG)(PAGE_SIZE >> POOL_BLOCK_SHIFT)) /* 256 */
#define POOL_MIN_UNITS          2
/* Requests with NumberOfBytes + header <= PAGE_SIZE - 16 are small. */
#define POOL_SMALL_MAX_UNITS    (POOL_PAGE_UNITS - 1)              /* 255 */
#define POOL_SMALL_MAX_BYTES    ((POOL_SMALL_MAX_UNITS - 1) * POOL_BLOCK_SIZE) /* 4064 */

/* One free list per block size, indexed by the size in units (0 and 1 are
 * never used). The list of 256-unit blocks holds the empty pages. */
#define POOL_LIST_COUNT         (POOL_PAGE_UNITS + 1)
#define POOL_BITMAP_WORDS       ((POOL_LIST_COUNT + 63) / 64)

/* Lookaside lists: freed blocks of up to 32 units (496 usable bytes) are
 * parked whole, up to LookasideDepth per size, and handed out again before
 * the free lists are looked at (see "Fast path" in poolcore.c). A list is
 * an array of POOL_LOOKASIDE_MAX_DEPTH slots in the descriptor, not a chain
 * through the blocks: paged pool's fast paths may then pop and push at
 * HIGH_LEVEL without touching a pageable block (mm/pool.c). */
#define POOL_LOOKASIDE_MAX_UNITS     32
#define POOL_LOOKASIDE_DEFAULT_DEPTH 4
#define POOL_LOOKASIDE_MAX_DEPTH 8

/* Entirely free pages kept on the 256-unit list rather than returned at
 * once, so that an allocate/free loop does not churn pages. */
#define POOL_EMPTY_PAGES_KEPT   1

/* Tag tracking (!poolused): an open-addressing table of POOL_TRACKER_SIZE
 * (256, include/pool.h) slots per pool; the last slot is the overflow
 * bucket for the tags that find no room, so 255 tags get lines of their
 * own. A UCHAR indexes it. */
#define POOL_TRACKER_MAX_PROBES 32
#define POOL_TRACKER_OVERFLOW   (POOL_TRACKER_SIZE - 1) /* index of the bucket */
#define POOL_OVERFLOW_TAG       POOL_TAG('O', 'v', 'f', 'l') /* NT's name for it */

/* The big page table starts with one page of entries and doubles. */
#define POOL_BIG_TABLE_INITIAL  ((ULONG_PTR)(PAGE_SIZE / sizeof(POOL_BIG_ENTRY)))

/* ------------------------------------------------------------------------
 * Bugcheck parameter 1 values, from Microsoft's documentation of
 * BAD_POOL_CALLER (0xC2) and BAD_POOL_HEADER (0x19). The meaning of the
 * other parameters is at the top of poolcheck.c.
 * ------------------------------------------------------------------------ */
/* BAD_POOL_CALLER: the caller did something wrong. */
#define POOL_CALLER_DOUBLE_FREE     0x07  /* (0, header or tag, address) */
#define POOL_CALLER_WRONG_TAG       0x0A  /* (address, allocator's tag, tag given) */
#define POOL_CALLER_NOT_IN_POOL     0x42  /* (address, 0, 0) */
#define POOL_CALLER_BAD_ADDRESS     0x46  /* (address, 0, 0) */
/* BAD_POOL_HEADER: the pool's own structures are corrupt. */
/* 0x03: a free list (entry, read-back flink, read-back blink), or a
 * lookaside list (list, slot, Depth). */
#define POOL_HEADER_LIST_CORRUPT 0x03
#define POOL_HEADER_NEIGHBOURS      0x05  /* (entry, header, other entry) */
#define POOL_HEADER_CORRUPT         0x07  /* (0, header, entry) */
#define POOL_HEADER_SIZE_ZERO       0x08  /* (0, header, entry) */
#define POOL_HEADER_SIZE_TOO_LARGE  0x09  /* (computed next entry, header, entry) */
#define POOL_HEADER_FREE_MODIFIED   0x0D  /* (entry, header, expected units) */
#define POOL_HEADER_NEXT_MISMATCH   0x20  /* (entry, next entry, header of next) */

/* ------------------------------------------------------------------------
 * The pool header: 16 bytes in front of every small block.
 * ------------------------------------------------------------------------ */
typedef struct _POOL_HEADER {
    union {
        struct {
            USHORT PreviousSize;   /* units of the block before; 0 at a page start */
            USHORT BlockSize;      /* units of this block, header included: 2..256 */
            UCHAR PoolType;        /* the owning descriptor's POOL_TYPE (0 or 1) */
            UCHAR State;           /* POOL_STATE_*: allocated, free, lookaside */
            UCHAR TrackIndex;      /* tracker slot charged for it (allocated only) */
            UCHAR Reserved;        /* zero */
        };
        ULONG64 Ulong1;            /* all of the above, for dumps and bugchecks */
    };
    ULONG PoolTag;                 /* the owner's four characters */
    USHORT RequestedBytes;         /* NumberOfBytes the caller asked for */
    USHORT HeaderCheck;            /* hash of the sizes and the address; see poolcore.c */
} POOL_HEADER, *PPOOL_HEADER;
STATIC_ASSERT(sizeof(POOL_HEADER) == POOL_BLOCK_SIZE);
STATIC_ASSERT(offsetof(POOL_HEADER, BlockSize) == 2);
STATIC_ASSERT(offsetof(POOL_HEADER, PoolType) == 4);
STATIC_ASSERT(offsetof(POOL_HEADER, State) == 5);
STATIC_ASSERT(offsetof(POOL_HEADER, TrackIndex) == 6);
STATIC_ASSERT(offsetof(POOL_HEADER, PoolTag) == 8);
STATIC_ASSERT(offsetof(POOL_HEADER, HeaderCheck) == 14);

/* Header states: printable, so that a hex dump reads "A", "F" or "L". */
#define POOL_STATE_ALLOCATED    'A'
#define POOL_STATE_FREE         'F'   /* on a free list, may be merged */
#define POOL_STATE_LOOKASIDE    'L'   /* freed, parked on a lookaside list */

/* ------------------------------------------------------------------------
 * The big page table: one entry per page run the pool holds, other than the
 * table's own pages - every big block, and every page carved into small
 * blocks (so a page can be proved to be ours).
 * ------------------------------------------------------------------------ */
#define POOL_BIG_FREED          ((ULONG_PTR)1) /* in Va: entry deleted (tombstone) */
#define POOL_BIG_KIND_BLOCK     1  /* a big allocation */
#define POOL_BIG_KIND_SMALL     2  /* a page of small blocks */

typedef struct _POOL_BIG_ENTRY {
    ULONG_PTR Va;               /* first page; 0 = never used; | POOL_BIG_FREED = deleted */
    ULONG_PTR PageCount;
    SIZE_T NumberOfBytes;       /* requested (big blocks) */
    ULONG Tag;                  /* big blocks */
    UCHAR TrackIndex;           /* big blocks */
    UCHAR Kind;                 /* POOL_BIG_KIND_* */
    USHORT Reserved;
} POOL_BIG_ENTRY, *PPOOL_BIG_ENTRY;
STATIC_ASSERT(sizeof(POOL_BIG_ENTRY) == 32);

/* ------------------------------------------------------------------------
 * Tag accounting. Bytes are block bytes: header and rounding included for
 * small blocks, whole pages for big ones - what the pool really spends, so
 * the table adds up to the descriptor's own counters.
 * ------------------------------------------------------------------------ */
typedef struct _POOL_TRACKER_ENTRY {
    ULONG Tag;
    ULONG Reserved;
    SIZE_T Allocations;         /* 0 means the slot is unused */
    SIZE_T Frees;
    SIZE_T BytesInUse;
} POOL_TRACKER_ENTRY, *PPOOL_TRACKER_ENTRY;

/*
 * A lookaside list, and the tag counts of its fast paths. The fast paths
 * do not update the tag table: a block of the list's batch slot - the
 * tracker slot named in its images - counts its fast allocation or free in
 * PendingAllocations or PendingFrees here, one increment each, and
 * ExpFoldLookasideCounts moves them into the slot (Allocations, Frees,
 * and BytesInUse by the list's block size) whenever the tag table is read:
 * ExpQueryPoolTags folds first, ExpQueryPoolTotals adds them in, and
 * whoever calls ExpValidatePool folds first. A block of another slot makes
 * the fast path fold the list and take that slot as its batch slot.
 *
 * The blocks are a stack of bodies (the caller's pointers) in Slots[1] to
 * Slots[Depth]; Slots[0] is always ExpNoParkedBlock's body, whose zeroed
 * header matches no image and no Mark, so that a pop of an empty list
 * reads a block every check refuses instead of testing Depth first.
 */
typedef struct _POOL_LOOKASIDE {
    PVOID Slots[1 + POOL_LOOKASIDE_MAX_DEPTH]; /* [0] the empty list's stand-in, then bodies */
    union {
        struct {
            USHORT Depth;       /* blocks on the list */
            SHORT Room;         /* blocks it may still take: LookasideDepth - Depth;
                                   0 for ever on the sizes that have no list */
        };
        LONG DepthAndRoom;      /* both, so that one add moves a block in or out
                                   and its sign says the list was full */
    };
    ULONG Mark;                 /* BlockSize, PoolType, State of a block parked here,
                                   as the header's bytes 2-5 read as a ULONG */
    ULONG64 ParkedImage; /* header bytes 4-11 (ExpHeaderImage) of a block parked
                                   here by the batch slot: PoolType, 'L', TrackIndex,
                                   Reserved 0, PoolTag; at first the overflow
                                   bucket's, "Ovfl" */
    ULONG64 AllocatedImage; /* the same with State 'A': such a block handed out.
                                   Its high half is the batch slot's tag */
    SIZE_T PendingAllocations;  /* fast allocations and frees of blocks of the */
    SIZE_T PendingFrees;        /* batch slot, not yet in the tag table */
    ULONG64 Reserved[2];
} POOL_LOOKASIDE;
/* 128 bytes, eight block units: a block's size in bytes times eight is
 * its list's offset (a scaled index in one address). */
STATIC_ASSERT(sizeof(POOL_LOOKASIDE) == 8 * POOL_BLOCK_SIZE);
STATIC_ASSERT(offsetof(POOL_LOOKASIDE, Room) == offsetof(POOL_LOOKASIDE, Depth) + 2);
STATIC_ASSERT(POOL_LOOKASIDE_MAX_DEPTH <= 0x7FFF); /* Room is a SHORT */

/* Added to DepthAndRoom: one block more on the list (Depth + 1, Room - 1;
 * negative when Room was 0), one block fewer (Depth - 1, Room + 1). */
#define POOL_LOOKASIDE_PUSH ((LONG)(1 - 0x10000))
#define POOL_LOOKASIDE_POP  ((LONG)(0x10000 - 1))

/* poolcore.c: the empty lists' stand-in, a zeroed header and body. */
extern const POOL_HEADER ExpNoParkedBlock[2];

/* ------------------------------------------------------------------------
 * The pool descriptor. Every field is protected by the pool's lock, which
 * the caller of every Exp*Core routine holds.
 * ------------------------------------------------------------------------ */
struct _POOL_DESCRIPTOR;

/* Return PageCount contiguous, mapped, page-aligned pages inside [Base, End),
 * or NULL when there are none. Called with the pool lock held. */
typedef PVOID (*PPOOL_ALLOCATE_PAGES)(struct _POOL_DESCRIPTOR *Pool, ULONG_PTR PageCount);
/* Take back pages AllocatePages returned (the same run, whole). */
typedef VOID (*PPOOL_FREE_PAGES)(struct _POOL_DESCRIPTOR *Pool, PVOID Va, ULONG_PTR PageCount);

typedef struct _POOL_DESCRIPTOR {
    /* Set by ExpInitializePoolDescriptor. */
    POOL_TYPE PoolType;
    ULONG LookasideDepth;       /* blocks kept per lookaside list; 0 disables them.
                                   Read only: ExpSetLookasideDepth changes it */
    ULONG_PTR Base;             /* the pool's virtual range [Base, End) */
    ULONG_PTR End;
    ULONG_PTR Size;             /* End - Base */
    ULONG_PTR SizeInUnits; /* Size >> POOL_BLOCK_SHIFT, for ExpIsPoolBlockAddress */
    USHORT AllocatedMark;       /* PoolType and State of an allocated header, as a USHORT */
    USHORT Reserved;
    ULONG Reserved2;
    PPOOL_ALLOCATE_PAGES AllocatePages;
    PPOOL_FREE_PAGES FreePages;
    PVOID Context;              /* for the callbacks; the core never reads it */

    /* Counters of pages and big blocks, kept by the locked paths. The
     * totals of blocks and bytes are not kept: ExpQueryPoolTotals adds
     * them up from the tag table and the lookaside lists, so that the fast
     * paths update one set of counters, the tag's, instead of two. */
    SIZE_T PagesInUse;          /* all pages held: small + big + table */
    SIZE_T SmallPages;          /* pages carved into small blocks */
    SIZE_T BigPages;            /* pages of big blocks */
    SIZE_T BigBlocks;           /* big blocks allocated */
    SIZE_T TablePages;          /* pages of the big page table */
    SIZE_T EmptyPages;          /* entirely free small pages kept */
    SIZE_T FailedAllocations;   /* NULL returns */

    /* Small blocks. */
    ULONG64 FreeListBitmap[POOL_BITMAP_WORDS]; /* bit n: FreeLists[n] not empty */
    LIST_ENTRY FreeLists[POOL_LIST_COUNT];
    /* One per block size, so that a block's size in bytes, times eight, is
     * the offset of its list; those above POOL_LOOKASIDE_MAX_UNITS stay
     * empty with Room 0, so the fast free needs no test of the size. */
    POOL_LOOKASIDE Lookaside[POOL_PAGE_UNITS + 1];

    /* The big page table (open addressing, linear probing). */
    PPOOL_BIG_ENTRY BigTable;   /* NULL until the first page is taken */
    ULONG_PTR BigTableSize;     /* entries, a power of two */
    ULONG_PTR BigTableUsed;     /* live entries */
    ULONG_PTR BigTableFreed;    /* tombstones */
    ULONG_PTR LargestBigPages;  /* largest big block so far, for diagnostics */

    /* Tags: slots 0-254, then the overflow bucket. */
    POOL_TRACKER_ENTRY Tracker[POOL_TRACKER_SIZE];
} POOL_DESCRIPTOR, *PPOOL_DESCRIPTOR;

/* ------------------------------------------------------------------------
 * Routines. The caller holds the pool's lock (see the top of this file).
 * ------------------------------------------------------------------------ */

/*
 * Make Pool an empty pool of PoolType (NonPagedPool or PagedPool) over the
 * virtual range [Base, End), both page-aligned, whose pages come from
 * AllocatePages and go back through FreePages. Context is stored for the
 * callbacks. Takes no pages yet. Lookaside lists start with depth
 * POOL_LOOKASIDE_DEFAULT_DEPTH (ExpSetLookasideDepth changes it). Bad
 * arguments are an ASSERTION_FAILURE bugcheck.
 */
VOID ExpInitializePoolDescriptor(PPOOL_DESCRIPTOR Pool, POOL_TYPE PoolType, PVOID Base,
                                 PVOID End, PPOOL_ALLOCATE_PAGES AllocatePages,
                                 PPOOL_FREE_PAGES FreePages, PVOID Context);

/*
 * Keep at most Depth blocks (0 to POOL_LOOKASIDE_MAX_DEPTH; 0 turns the
 * lists off) on each lookaside list from now on. Blocks parked already
 * stay; a list that holds more takes none until it is below Depth.
 */
VOID ExpSetLookasideDepth(PPOOL_DESCRIPTOR Pool, ULONG Depth);

/*
 * Allocate NumberOfBytes charged to Tag. Small requests (<=
 * POOL_SMALL_MAX_BYTES) return a 16-byte-aligned block inside a pool page;
 * larger ones return whole pages, page-aligned. Zero bytes is allowed, as on
 * NT: it returns a minimal block with 16 usable bytes. The memory is not
 * zeroed. Returns NULL, and counts a failed allocation, when no pages can be
 * had; never bugchecks for that. The caller frees it with ExpFreePoolCore.
 */
PVOID ExpAllocatePoolCore(PPOOL_DESCRIPTOR Pool, SIZE_T NumberOfBytes, ULONG Tag);

/*
 * Free P, which ExpAllocatePoolCore returned from this pool. When CheckTag
 * is TRUE, Tag must be the tag it was allocated with (ExFreePoolWithTag);
 * FALSE skips that check (ExFreePool). Every misuse and every corruption
 * found is a bugcheck: BAD_POOL_CALLER (0xC2) for double frees, wrong tags
 * and addresses that are not a block, BAD_POOL_HEADER (0x19) for damaged
 * headers and free lists.
 */
VOID ExpFreePoolCore(PPOOL_DESCRIPTOR Pool, PVOID P, ULONG Tag, BOOLEAN CheckTag);

/* The number of bytes the caller may use at P (at least what it asked
 * for). P is checked as ExpFreePoolCore checks it. */
SIZE_T ExpQueryPoolBlockSize(PPOOL_DESCRIPTOR Pool, PVOID P);

/*
 * Copy up to Count lines of the pool's tag table (tags that were ever
 * used, the overflow bucket last; at most POOL_TRACKER_SIZE lines) into Buffer. Returns the number of lines
 * there are, which may exceed Count. The caller prints them after dropping
 * the lock.
 */
ULONG ExpQueryPoolTags(PPOOL_DESCRIPTOR Pool, PPOOL_TAG_INFO Buffer, ULONG Count);

/* The pool-wide totals, added up from the tag table and the lookaside
 * lists by ExpQueryPoolTotals. */
typedef struct _POOL_TOTALS {
    SIZE_T Allocations;         /* successful allocations, ever */
    SIZE_T Frees;
    SIZE_T SmallBytesInUse;     /* block bytes of allocated small blocks */
    SIZE_T LookasideBlocks;     /* blocks parked on lookaside lists */
} POOL_TOTALS, *PPOOL_TOTALS;

/* Fill *Totals for Pool: O(POOL_TRACKER_SIZE). The sums are exact when the
 * caller holds the pool's lock; without it (a test's snapshot) they may
 * mix the moments before and after a concurrent fast path. */
VOID ExpQueryPoolTotals(const POOL_DESCRIPTOR *Pool, PPOOL_TOTALS Totals);

/* Block bytes of Pool's allocated small blocks (ExpQueryPoolTotals). */
static inline SIZE_T ExpPoolSmallBytesInUse(const POOL_DESCRIPTOR *Pool)
{
    POOL_TOTALS Totals;

    ExpQueryPoolTotals(Pool, &Totals);
    return Totals.SmallBytesInUse;
}

/* Flush the lookaside lists (merging their blocks) and return every empty
 * page. Returns the number of pages given back to FreePages. The core does
 * this by itself before failing an allocation. */
ULONG_PTR ExpTrimPoolCore(PPOOL_DESCRIPTOR Pool);

/*
 * Walk the whole pool and cross-check it: every page of small blocks (sizes
 * chain, checks, no two free neighbours), the free lists and their bitmap,
 * the lookaside lists, the big page table, and the counters and tag table
 * against what the walk found. Returns TRUE when all agree; otherwise FALSE,
 * with a short description in *Problem when Problem is not NULL. Never
 * bugchecks, so the shell may call it on a sick pool. Slow: for tests and
 * debugging.
 */
BOOLEAN ExpValidatePool(PPOOL_DESCRIPTOR Pool, PCSTR *Problem);

/* ------------------------------------------------------------------------
 * The lookaside fast paths. Inline, so that the wrapper (mm/pool.c) runs
 * them under its cheapest exclusion, without a call, and with the pool's
 * type a constant: the wrapper has one copy of each per pool, and the
 * header compares become compares with an immediate.
 * They never bugcheck and never change anything unless they succeed: when
 * something is unusual - no parked block, the tag not in its home slot, a
 * header that fails a check, a full lookaside list - they return NULL or
 * FALSE and the caller takes the locked slow path (ExpAllocatePoolCore,
 * ExpFreePoolCore), which looks again with every check and bugchecks.
 * The caller excludes every other user of Pool for the call, as for the
 * Exp*Core routines. Both touch only the lookaside list and the tag's
 * tracker slot in the descriptor, and the headers of the block handed
 * out or freed and of the block after a freed one (mm/pool.c's paged
 * copies split the two, see there). No pool-wide counter: the totals are the tag table's sums.
 * ------------------------------------------------------------------------ */

/* PoolType and State read together, to compare with AllocatedMark. */
static inline USHORT ExpTypeAndState(const POOL_HEADER *Entry)
{
    return (USHORT)(Entry->Ulong1 >> 32);
}

/* Lookaside->DepthAndRoom += Delta; TRUE when the sum is negative (Room
 * went below 0). One add to memory and the branch on its sign flag: the
 * compiler, left to itself, loads, adds, stores and tests. */
static inline BOOLEAN ExpAddDepthAndRoom(LONG *DepthAndRoom, LONG Delta)
{
    BOOLEAN Negative;

    __asm__ volatile("addl %2, %0" : "+m"(*DepthAndRoom), "=@ccs"(Negative) : "ir"(Delta)
                     : "memory");
    return Negative;
}

/* Requests of up to this many bytes may come from a lookaside list. */
#define POOL_LOOKASIDE_MAX_BYTES ((POOL_LOOKASIDE_MAX_UNITS - 1) * POOL_BLOCK_SIZE) /* 496 */

/* Units of a small request: header + body rounded up; 0 bytes is 1. */
static inline ULONG ExpUnitsForBytes(SIZE_T NumberOfBytes)
{
    return (ULONG)((NumberOfBytes + (NumberOfBytes == 0) + 2 * POOL_BLOCK_SIZE - 1) >>
                   POOL_BLOCK_SHIFT);
}

/* The tag table's home slot of Tag (ExpFindTracker probes on from it). */
static inline ULONG ExpTrackerHomeSlot(ULONG Tag)
{
    return (Tag * 0x9E3779B1u) >> 24; /* 256 slots */
}

/* The header check: see "HeaderCheck" at the top of poolcore.c. One
 * CRC32C step (SSE4.2's crc32 instruction: boot/start.asm refuses a CPU
 * without it, with a message; QEMU's -cpu max has it) of the block's body
 * address, started from the header's two sizes; the low 16 bits. The pool does not enter it:
 * the address alone tells the pools apart. */
static inline USHORT ExpComputeHeaderCheck(const POOL_DESCRIPTOR *Pool, const POOL_HEADER *Entry)
{
    ULONG64 Crc = (ULONG)Entry->Ulong1;

    (void)Pool;
    __asm__("crc32q %1, %0" : "+r"(Crc) : "rm"((ULONG_PTR)(Entry + 1)));
    return (USHORT)Crc;
}

/* Hand out Entry, of Bytes block bytes, charging Tracker's slot Index
 * (the locked path ends here; the fast path below does the same inline). */
static inline PVOID ExpFinishSmallAllocation(PPOOL_DESCRIPTOR Pool, PPOOL_HEADER Entry,
                                             SIZE_T NumberOfBytes, ULONG Tag, ULONG Index)
{
    PPOOL_TRACKER_ENTRY Tracker = &Pool->Tracker[Index];

    Entry->State = POOL_STATE_ALLOCATED;
    Entry->TrackIndex = (UCHAR)Index;
    Entry->PoolTag = Tag;
    Entry->RequestedBytes = (USHORT)NumberOfBytes;
    Tracker->Allocations++;
    Tracker->BytesInUse += (ULONG)Entry->BlockSize << POOL_BLOCK_SHIFT;
    return Entry + 1;
}

/* Header bytes 4-11 - PoolType, State, TrackIndex, Reserved and PoolTag
 * - as one ULONG64, to compare with a lookaside list's images in one
 * instruction. (The size needs no compare: it chose the list.) */
static inline ULONG64 ExpHeaderImage(const POOL_HEADER *Entry)
{
    ULONG64 Image;

    __builtin_memcpy(&Image, (const UCHAR *)Entry + 4, sizeof(Image));
    return Image;
}

/* Header bytes 2-5 - BlockSize, PoolType, State - to compare with a
 * lookaside list's Mark. */
static inline ULONG ExpHeaderMark(const POOL_HEADER *Entry)
{
    ULONG Mark;

    __builtin_memcpy(&Mark, (const UCHAR *)Entry + 2, sizeof(Mark));
    return Mark;
}

/* A lookaside image: what ExpHeaderImage reads from a header of State,
 * charged to tracker slot Index with Tag, in a pool of PoolType. */
static inline ULONG64 ExpMakeImage(POOL_TYPE PoolType, UCHAR State, ULONG Index, ULONG Tag)
{
    return (ULONG64)(UCHAR)PoolType | (ULONG64)State << 8 | (ULONG64)(UCHAR)Index << 16 |
        (ULONG64)Tag << 32;
}

/* The lookaside list of blocks of Bytes block bytes (a multiple of 16). */
static inline POOL_LOOKASIDE *ExpLookasideForBytes(PPOOL_DESCRIPTOR Pool, ULONG_PTR Bytes)
{
    return (POOL_LOOKASIDE *)((PUCHAR)Pool->Lookaside + Bytes * 8);
}

/* poolcore.c: the fast paths' way out when a block is not of the list's
 * batch slot (see POOL_LOOKASIDE). Each checks what the images would have
 * checked, and returns FALSE, having changed nothing, when the block must
 * go to the locked path; else it folds the list's pending counts and
 * makes the block's slot (for an allocation: Tag's, rewriting the header's
 * tag and slot) the list's batch slot, and returns TRUE: the block then
 * matches the list's image. */
BOOLEAN ExpBatchFastAllocation(PPOOL_DESCRIPTOR Pool, POOL_LOOKASIDE *Lookaside,
                               PPOOL_HEADER Entry, ULONG Tag);
BOOLEAN ExpBatchFastFree(PPOOL_DESCRIPTOR Pool, POOL_LOOKASIDE *Lookaside, PPOOL_HEADER Entry,
                         POOL_TYPE PoolType, ULONG Tag, BOOLEAN CheckTag);

/*
 * Move every lookaside list's pending tag counts into the tag table, so
 * that the table alone is exact (ExpQueryPoolTags does it itself; callers
 * of ExpValidatePool do it first). Under the pool's lock, as the routines
 * above.
 */
VOID ExpFoldLookasideCounts(PPOOL_DESCRIPTOR Pool);

/*
 * Pop a parked block for a request of NumberOfBytes (1 to
 * POOL_LOOKASIDE_MAX_BYTES) from Pool and hand it out charged to Tag: the
 * header gets state 'A' and the size asked for (its check value covers
 * neither, so it stays), and the list counts one pending allocation of
 * its batch slot. The parked header is checked in one compare with the
 * list's ParkedImage, which also says the block is the batch slot's and
 * names its tag; the tag given in a second. Otherwise
 * ExpBatchFastAllocation decides. Returns NULL, having changed nothing,
 * when the list is empty (its stand-in block matches nothing), the
 * header looks wrong, or Tag's tracker slot is not found at once (the slow
 * path then probes). A request of 0 bytes computes one unit, whose list is
 * always empty (a block has two at least): the slow path serves it.
 */
static inline __attribute__((always_inline)) PVOID
ExpAllocatePoolFastEx(PPOOL_DESCRIPTOR Pool, SIZE_T NumberOfBytes, ULONG Tag, BOOLEAN Rebatch)
{
    /* Header + body rounded up to units, in bytes. */
    ULONG_PTR Bytes = (NumberOfBytes + 2 * POOL_BLOCK_SIZE - 1) & ~(ULONG_PTR)(POOL_BLOCK_SIZE - 1);
    POOL_LOOKASIDE *Lookaside = ExpLookasideForBytes(Pool, Bytes);
    PVOID Body = Lookaside->Slots[Lookaside->Depth];
    PPOOL_HEADER Entry = (PPOOL_HEADER)Body - 1;

    if (EXP_UNLIKELY(ExpHeaderImage(Entry) != Lookaside->ParkedImage || Entry->PoolTag != Tag) &&
        (!Rebatch || !ExpBatchFastAllocation(Pool, Lookaside, Entry, Tag)))
        return NULL;
    Entry->State = POOL_STATE_ALLOCATED;
    Entry->RequestedBytes = (USHORT)NumberOfBytes;
    Lookaside->DepthAndRoom += POOL_LOOKASIDE_POP;
    Lookaside->PendingAllocations++;
    return Body;
}

static inline PVOID ExpAllocatePoolFast(PPOOL_DESCRIPTOR Pool, SIZE_T NumberOfBytes, ULONG Tag)
{
    return ExpAllocatePoolFastEx(Pool, NumberOfBytes, Tag, TRUE);
}

/*
 * Park the block at P on its size's lookaside list, if it is a small block
 * whose header passes the free's quick checks - not page-aligned (a big
 * block), check value good, the next header's PreviousSize agreeing (an
 * overrun of this block lands there), then in one compare with the list's
 * AllocatedImage its type PoolType (Pool's type, a constant in the
 * caller), state 'A' and the list's batch slot and tag (else
 * ExpBatchFastFree checks type and state; the size chose the list), and
 * the tag the caller gives (when CheckTag) -
 * and the list has room (sizes above POOL_LOOKASIDE_MAX_UNITS never do).
 * The list counts one pending free of its batch slot. P must pass
 * ExpIsPoolBlockAddress for Pool (the wrapper picked Pool by it). Returns
 * FALSE, having changed nothing, otherwise; the slow path then repeats the
 * checks, adds the one on the previous neighbour, and bugchecks if one
 * fails. (The previous block's overrun would have to pass through this
 * header, whose check value would then fail here.)
 */
static inline __attribute__((always_inline)) BOOLEAN
ExpFreePoolFastEx(PPOOL_DESCRIPTOR Pool, POOL_TYPE PoolType, PVOID P, ULONG Tag, BOOLEAN CheckTag,
                  BOOLEAN Rebatch)
{
    ULONG_PTR Va = (ULONG_PTR)P, Units, Bytes;
    PPOOL_HEADER Entry = (PPOOL_HEADER)Va - 1, Next;
    POOL_LOOKASIDE *Lookaside;

    if ((Va & (PAGE_SIZE - 1)) == 0)
        return FALSE;
    if (Entry->HeaderCheck != ExpComputeHeaderCheck(Pool, Entry))
        return FALSE;
    Units = Entry->BlockSize;
    Bytes = Units << POOL_BLOCK_SHIFT;
    Next = (PPOOL_HEADER)((PUCHAR)Entry + Bytes);
    if (((ULONG_PTR)Next & (PAGE_SIZE - 1)) != 0 && Next->PreviousSize != Units)
        return FALSE;
    /* Depth + 1 and Room - 1 in one add, undone when Room was 0. */
    Lookaside = ExpLookasideForBytes(Pool, Bytes);
    if (EXP_UNLIKELY(ExpAddDepthAndRoom(&Lookaside->DepthAndRoom, POOL_LOOKASIDE_PUSH)))
        goto Undo;
    if (EXP_UNLIKELY(ExpHeaderImage(Entry) != Lookaside->AllocatedImage ||
                     (CheckTag && Entry->PoolTag != Tag)) &&
        (!Rebatch || !ExpBatchFastFree(Pool, Lookaside, Entry, PoolType, Tag, CheckTag)))
        goto Undo;

    Lookaside->PendingFrees++;
    Entry->State = POOL_STATE_LOOKASIDE;
    Lookaside->Slots[Lookaside->Depth] = P; /* Depth counts it already */
    return TRUE;

Undo:
    /* Addressed anew (a cold path), so that no register holds the list's
     * address across the add. */
    ExpLookasideForBytes(Pool, (ULONG_PTR)Entry->BlockSize << POOL_BLOCK_SHIFT)->DepthAndRoom -=
        POOL_LOOKASIDE_PUSH;
    return FALSE;
}

static inline BOOLEAN ExpFreePoolFast(PPOOL_DESCRIPTOR Pool, POOL_TYPE PoolType, PVOID P,
                                      ULONG Tag, BOOLEAN CheckTag)
{
    return ExpFreePoolFastEx(Pool, PoolType, P, Tag, CheckTag, TRUE);
}

/* TRUE when Va may be a block of Pool: 16-byte aligned and inside its
 * virtual range (the wrapper's way to pick the descriptor in ExFreePool;
 * an unaligned pointer takes the locked path, which says what it is).
 * Rotated right by 4, an aligned offset is below Size / 16, an unaligned
 * one has a low bit in the top four and is not: one compare. Needs no
 * lock. */
static inline BOOLEAN ExpIsPoolBlockAddress(const POOL_DESCRIPTOR *Pool, const void *Va)
{
    ULONG_PTR Offset = (ULONG_PTR)Va - Pool->Base;
    return ((Offset >> POOL_BLOCK_SHIFT) | (Offset << (64 - POOL_BLOCK_SHIFT))) <
           Pool->SizeInUnits;
}

/* ------------------------------------------------------------------------
 * Between poolcore.c and poolcheck.c only: the allocator's helpers the
 * checks read with, and the checks the allocator calls. Same locking as
 * the routines above.
 * ------------------------------------------------------------------------ */

/* Same parameters as the kernel's ASSERT (kernel/bugcheck.c), which the
 * pool's files cannot include (they build for the host). For bugs of the
 * caller's wrapper. */
#define POOL_ASSERT(Expr)                                                      \
    do {                                                                       \
        if (!(Expr))                                                           \
            KeBugCheckEx(ASSERTION_FAILURE, (ULONG_PTR) #Expr,                 \
                         (ULONG_PTR)__FILE__, __LINE__, 0);                    \
    } while (0)


/* The header's check value is right and it is of this pool. */
static inline BOOLEAN ExpHeaderCheckOk(const POOL_DESCRIPTOR *Pool, const POOL_HEADER *Entry)
{
    return Entry->HeaderCheck == ExpComputeHeaderCheck(Pool, Entry) &&
           Entry->PoolType == (UCHAR)Pool->PoolType;
}

/* Where a header may be: inside the pool, 16-byte aligned. */
static inline BOOLEAN ExpIsHeaderAddress(const POOL_DESCRIPTOR *Pool, const void *Va)
{
    return (ULONG_PTR)Va - Pool->Base < Pool->Size && ((ULONG_PTR)Va & (POOL_BLOCK_SIZE - 1)) == 0;
}

/* The LIST_ENTRY of a free block: its body, never at a page start. */
static inline BOOLEAN ExpIsBlockLinks(const POOL_DESCRIPTOR *Pool, const LIST_ENTRY *Links)
{
    return ExpIsHeaderAddress(Pool, Links) && BYTE_OFFSET(Links) != 0;
}

static inline PLIST_ENTRY ExpBlockLinks(PPOOL_HEADER Entry)
{
    return (PLIST_ENTRY)(Entry + 1);
}

/* poolcore.c: the live big page table entry for the run starting at Va,
 * or NULL. When Freed is not NULL and there is no live entry, *Freed
 * receives a tombstone for Va if one is still in the table. */
PPOOL_BIG_ENTRY ExpLookupBig(const POOL_DESCRIPTOR *Pool, ULONG_PTR Va, PPOOL_BIG_ENTRY *Freed);

/* poolcheck.c: what went wrong with a block the O(1) checks below
 * refused, as a bugcheck (BAD_POOL_CALLER or BAD_POOL_HEADER, the codes at
 * the top of poolcheck.c). They never return. */
EXP_NORETURN VOID ExpReportBadSmallBlock(const POOL_DESCRIPTOR *Pool, ULONG_PTR Va);
EXP_NORETURN VOID ExpReportBadBigBlock(const POOL_DESCRIPTOR *Pool, ULONG_PTR Va);
EXP_NORETURN VOID ExpReportBadFreeBlock(const POOL_DESCRIPTOR *Pool, PPOOL_HEADER Entry,
                                        ULONG Units);

/* A value a free-list link may hold: a list head or a free block's body. */
static inline BOOLEAN ExpIsLinkPlausible(const POOL_DESCRIPTOR *Pool, const LIST_ENTRY *Links)
{
    ULONG_PTR Offset = (ULONG_PTR)Links - (ULONG_PTR)&Pool->FreeLists[0];

    if (Offset < sizeof(Pool->FreeLists))
        return Offset % sizeof(LIST_ENTRY) == 0;
    return ExpIsBlockLinks(Pool, Links);
}

/*
 * The header of the allocated small block at Va (not page-aligned, in the
 * pool), after the O(1) checks of a free: Va 16-byte aligned; the header's
 * check good (so its sizes are ones the pool wrote, keeping the block
 * inside its page); its type this pool's and its state allocated; and both
 * neighbours agreeing with its sizes - the block after it is where an
 * overrun of this one lands. A failed check is a bugcheck, after
 * ExpReportBadSmallBlock has found out which.
 */
static inline __attribute__((always_inline)) PPOOL_HEADER
ExpCheckSmallBlock(const POOL_DESCRIPTOR *Pool, ULONG_PTR Va)
{
    PPOOL_HEADER Entry = (PPOOL_HEADER)Va - 1;
    ULONG Units, Previous;

    if (EXP_UNLIKELY(Va & (POOL_BLOCK_SIZE - 1)))
        ExpReportBadSmallBlock(Pool, Va);
    if (EXP_UNLIKELY(Entry->HeaderCheck != ExpComputeHeaderCheck(Pool, Entry) ||
                     ExpTypeAndState(Entry) != Pool->AllocatedMark))
        ExpReportBadSmallBlock(Pool, Va);
    Units = Entry->BlockSize;
    Previous = Entry->PreviousSize;
    if (EXP_UNLIKELY(BYTE_OFFSET(Entry + Units) != 0 && (Entry + Units)->PreviousSize != Units))
        ExpReportBadSmallBlock(Pool, Va);
    if (EXP_UNLIKELY(Previous != 0 && (Entry - Previous)->BlockSize != Previous))
        ExpReportBadSmallBlock(Pool, Va);
    return Entry;
}

/* The live big block at Va (page-aligned, in the pool), or bugcheck
 * BAD_POOL_CALLER (0x07 freed before, else 0x46). */
static inline PPOOL_BIG_ENTRY ExpCheckBigBlock(const POOL_DESCRIPTOR *Pool, ULONG_PTR Va)
{
    PPOOL_BIG_ENTRY Big = ExpLookupBig(Pool, Va, NULL);

    if (EXP_UNLIKELY(Big == NULL || Big->Kind != POOL_BIG_KIND_BLOCK))
        ExpReportBadBigBlock(Pool, Va);
    return Big;
}

/* Before the free block Entry of Units units leaves its free list: header
 * as written at its free, list neighbours pointing back; else
 * BAD_POOL_HEADER 0x0D or 0x03. */
static inline VOID ExpCheckFreeBlock(const POOL_DESCRIPTOR *Pool, PPOOL_HEADER Entry, ULONG Units)
{
    PLIST_ENTRY Links = ExpBlockLinks(Entry), Flink = Links->Flink, Blink = Links->Blink;

    if (EXP_UNLIKELY(!ExpHeaderCheckOk(Pool, Entry) || Entry->State != POOL_STATE_FREE ||
                     Entry->BlockSize != Units || !ExpIsLinkPlausible(Pool, Flink) ||
                     !ExpIsLinkPlausible(Pool, Blink) || Flink->Blink != Links ||
                     Blink->Flink != Links))
        ExpReportBadFreeBlock(Pool, Entry, Units);
}

/* poolcheck.c: before the parked block Entry of Units units is merged:
 * header as parked, neighbours agreeing; else BAD_POOL_HEADER 0x0D or
 * 0x05. */
VOID ExpCheckParkedBlock(const POOL_DESCRIPTOR *Pool, PPOOL_HEADER Entry, ULONG Units);

#endif /* PAGODA_MM_POOLCORE_H */
