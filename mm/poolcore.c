/*
 * poolcore.c - the pool allocator: small blocks carved from pool pages,
 * their free lists and lookaside lists, big blocks of whole pages and the
 * big page table that records them, and per-tag accounting. The checks
 * that turn misuse and corruption into NT bugchecks, and the validator,
 * are beside it in mm/poolcheck.c. Pure logic: pages come from the
 * descriptor's callbacks, nothing here locks, maps or raises IRQL, so the
 * host tests run this very file. The kernel's ExAllocatePoolWithTag,
 * ExFreePoolWithTag, ExAllocatePool2 and ExFreePool (mm/pool.c) pick the
 * descriptor, take its lock and call in here.
 *
 * Data structures (mm/poolcore.h): the POOL_DESCRIPTOR of each pool, the
 * POOL_HEADER in front of each small block, POOL_BIG_ENTRY and
 * POOL_TRACKER_ENTRY; described below.
 *
 * Locking and IRQL: none inside. The caller holds the pool's lock across
 * every call - nonpaged pool: a spin lock, IRQL <= DISPATCH_LEVEL; paged
 * pool: a fast mutex, IRQL < DISPATCH_LEVEL, because headers, free lists
 * and the big page table live in pageable pages - and the callbacks run
 * under it. The lookaside fast paths (poolcore.h) run under whatever
 * cheaper exclusion mm/pool.c gives them.
 *
 * ---- Small blocks -------------------------------------------------------
 *
 * Requests of up to 4064 bytes (NumberOfBytes + 16-byte header <= PAGE_SIZE
 * - 16) come from pool pages, in units of 16 bytes. Each block starts with a
 * POOL_HEADER; the blocks of a page tile it exactly, and each header holds
 * the size of the block before it, so the page can be walked both ways:
 *
 *    page + 0x000 +-------------------------+ PreviousSize 0   BlockSize 5
 *                 | POOL_HEADER  'A' "Proc" |
 *           0x010 |   64 bytes of body      | <- the caller's pointer
 *                 |                         |
 *           0x050 +-------------------------+ PreviousSize 5   BlockSize 3
 *                 | POOL_HEADER  'F'        |
 *           0x060 |   LIST_ENTRY ------------> Pool->FreeLists[3]
 *                 |   (16 unused bytes)     |
 *           0x080 +-------------------------+ PreviousSize 3   BlockSize 248
 *                 | POOL_HEADER  'A' "File" |
 *           0x090 |   3952 bytes of body    |
 *                 |          ...            |
 *           0x1000+-------------------------+ (next page: a new chain, PreviousSize 0)
 *
 *   POOL_HEADER, 16 bytes:
 *     +0 PreviousSize  +2 BlockSize  +4 PoolType  +5 State  +6 TrackIndex
 *     +7 Reserved  +8 PoolTag  +12 RequestedBytes  +14 HeaderCheck
 *
 * The sizes are USHORTs: a page is 256 units, one more than a UCHAR holds.
 * State is 'A' (allocated), 'F' (free, on a free list) or 'L' (freed onto a
 * lookaside list). The two fields beyond NT's are:
 *   - HeaderCheck, a 16-bit hash of PreviousSize, BlockSize and the
 *     block's address: the low 16 bits of one CRC32C step (the crc32
 *     instruction) over the body's address, started from the two sizes.
 *     A header copied from elsewhere - another block, another pool - is
 *     at another address and fails. It makes every free O(1) yet safe:
 *     bytes in the middle of a block, or a header smashed by an overrun,
 *     almost never carry the right check (1 in 65536), and only then does
 *     the free walk the page from its start to say precisely what is wrong
 *     (a pointer inside a block, or which header broke). A good check also
 *     proves the sizes are ones the pool wrote, so the block lies inside
 *     its page without the free testing bounds. It leaves out the state,
 *     tag and TrackIndex, which change on every allocation, so the fast
 *     paths never recompute it; PoolType and State are compared directly.
 *   - RequestedBytes, what the caller asked for: BlockSize says what it got,
 *     the difference is the slack (internal fragmentation) that the
 *     validator and a debugger can show.
 * TrackIndex remembers the tag-table slot charged, so a free never hashes;
 * it is a UCHAR and the table has 256 slots, so it needs no bounds check.
 * Free blocks keep their last owner's tag, as on NT, for post-mortems.
 *
 * Free small blocks sit on one doubly linked list per size (the LIST_ENTRY
 * lives in the free block's body), with a bitmap of the non-empty lists.
 * An allocation takes the exact size if that list is not empty, else the
 * next larger non-empty size found through the bitmap (best fit by size),
 * splitting off the rest as a new free block, else a fresh page. Remainders
 * smaller than 2 units are not split off: the block keeps them. A free
 * merges the block with free neighbours in its page; a page that becomes
 * entirely free (one 256-unit block) goes back to FreePages, except that
 * POOL_EMPTY_PAGES_KEPT (1) such page stays on the 256-unit list so that
 * allocate/free loops do not take and return a page every time.
 *
 * Fast path: a lookaside list per size up to 32 units (496 usable bytes;
 * NT keeps lookaside lists for the same sizes). A free of such a block,
 * after all its checks, parks it whole on its size's list (up to
 * LookasideDepth blocks, at most POOL_LOOKASIDE_MAX_DEPTH, state 'L')
 * instead of merging; an allocation of that size pops it back. A list is a
 * stack of block pointers in the descriptor (POOL_LOOKASIDE), not a chain
 * through the blocks' bodies: nothing in a parked block but its header is
 * read, and paged pool's fast paths can work the list without touching a
 * pageable page (mm/pool.c). An allocate+free pair of 64 bytes then costs
 * about a quarter of what splitting a block and merging it back costs, and
 * most of what is left pays for the checks a free makes and for the tag
 * accounting (the lock-free versions in poolcore.h, which mm/pool.c runs
 * first, are counted in docs/performance.md). Neither rewrites a header
 * check: the check leaves out the fields they change. Parked
 * blocks count as freed for the counters and tags, but hold their pages
 * until ExpTrimPoolCore - which an allocation calls by itself before it
 * gives up for want of pages. LookasideDepth 0 turns the lists off.
 *
 * ---- Big blocks ---------------------------------------------------------
 *
 * Larger requests take BYTES_TO_PAGES(NumberOfBytes) pages straight from
 * AllocatePages and return them page-aligned, with no header (so a
 * page-aligned pointer is never a small block). Their size and tag live in
 * the big page table, as on NT: an open-addressing hash table keyed by the
 * first page's address, with linear probing, kept at most 3/4 full,
 * doubled when live entries pass half of it and rebuilt smaller when they
 * fall to one in eight (ExpShrinkBigTable), so that a burst of big blocks
 * does not leave its pages behind. The table's pages come from the pool itself
 * (AllocatePages): it costs nothing until the pool takes its first page,
 * grows with demand with no fixed limit, and shows up in the pool's page
 * count (TablePages). A table inside the descriptor would have to pick
 * between a small limit and kilobytes of static data per pool.
 *   The table also records every page carved into small blocks (kind
 * SMALL). That costs one entry per page, taken and dropped only when pages
 * come and go, and lets the diagnostics prove whether an address lies in a
 * page of small blocks, in a big block, or in neither - and lets
 * ExpValidatePool find every page.
 *   A deleted entry becomes a tombstone (Va | 1) until the next rebuild;
 * it keeps probe chains intact and lets a second free of a big block be
 * told apart from a free of an address that was never allocated.
 *
 * ---- Tags ---------------------------------------------------------------
 *
 * Each pool has a table of 256 slots (open addressing, at most
 * POOL_TRACKER_MAX_PROBES probes) with allocations, frees and bytes in use
 * per tag; bytes are block bytes (header and rounding for small blocks,
 * whole pages for big ones), so the table sums to the pool's own counters.
 * Tags that find no slot are charged to the last slot, the "Ovfl" bucket,
 * as on NT. Slots are never reused: a tag seen once keeps its line, as in
 * !poolused. The lock-free fast paths do not write the table: each
 * lookaside list counts the fast allocations and frees of its "batch
 * slot" itself (POOL_LOOKASIDE in poolcore.h), and those counts are
 * folded into the table (ExpFoldLookasideCounts) before anyone reads it -
 * ExpQueryPoolTags folds, ExpQueryPoolTotals adds them in, the callers of
 * ExpValidatePool fold first - so every reader sees exact figures.
 *
 * ---- Checks --------------------------------------------------------------
 *
 * Every block a free gives back, and every free or parked block taken off
 * its list, is checked first (mm/poolcheck.c, which lists the bugcheck
 * codes and their parameters); the allocator itself bugchecks only for a
 * wrong tag, an address outside the pool, and neighbours that stopped
 * agreeing while it merges or splits.
 */
#include "poolcore.h"
#include "../include/bugcodes.h"
#include "../rtl/rtl.h"

#define POOL_TRACKER_SHIFT 8
STATIC_ASSERT((1u << POOL_TRACKER_SHIFT) == POOL_TRACKER_SIZE);
STATIC_ASSERT(POOL_TRACKER_SIZE - 1 <= (UCHAR)~0); /* TrackIndex is a UCHAR */
STATIC_ASSERT(POOL_PAGE_UNITS == 256);
STATIC_ASSERT(POOL_LOOKASIDE_MAX_UNITS <= POOL_SMALL_MAX_UNITS);

/* ------------------------------------------------------------------------
 * Headers
 * ------------------------------------------------------------------------ */

static inline VOID ExpUpdateCheck(const POOL_DESCRIPTOR *Pool, PPOOL_HEADER Entry)
{
    Entry->HeaderCheck = ExpComputeHeaderCheck(Pool, Entry);
}

/* A brand-new header: a fresh page, or the rest of a split block. */
static VOID ExpInitHeader(const POOL_DESCRIPTOR *Pool, PPOOL_HEADER Entry,
                          ULONG PreviousSize, ULONG BlockSize, UCHAR State)
{
    Entry->PreviousSize = (USHORT)PreviousSize;
    Entry->BlockSize = (USHORT)BlockSize;
    Entry->PoolType = (UCHAR)Pool->PoolType;
    Entry->State = State;
    Entry->TrackIndex = 0;
    Entry->Reserved = 0;
    Entry->PoolTag = 0;
    Entry->RequestedBytes = 0;
    ExpUpdateCheck(Pool, Entry);
}

/* Slots[0] of every lookaside list (poolcore.h): a header of zeroes -
 * no size, type, state or tag any list's Mark or images hold - and a body
 * behind it that nothing ever writes. */
const POOL_HEADER ExpNoParkedBlock[2];

/* ------------------------------------------------------------------------
 * Pages from the callbacks
 * ------------------------------------------------------------------------ */

static PVOID ExpGetPages(PPOOL_DESCRIPTOR Pool, ULONG_PTR PageCount)
{
    PVOID Va = Pool->AllocatePages(Pool, PageCount);
    ULONG_PTR Offset = (ULONG_PTR)Va - Pool->Base;

    if (Va == NULL)
        return NULL;
    POOL_ASSERT(BYTE_OFFSET(Va) == 0 && Offset < Pool->Size &&
                PageCount <= (Pool->Size - Offset) >> PAGE_SHIFT);
    Pool->PagesInUse += PageCount;
    return Va;
}

static VOID ExpPutPages(PPOOL_DESCRIPTOR Pool, PVOID Va, ULONG_PTR PageCount)
{
    Pool->PagesInUse -= PageCount;
    Pool->FreePages(Pool, Va, PageCount);
}

/* ------------------------------------------------------------------------
 * The big page table
 * ------------------------------------------------------------------------ */

static inline ULONG_PTR ExpBigHash(const POOL_DESCRIPTOR *Pool, ULONG_PTR Va)
{
    ULONG64 X = (ULONG64)(Va >> PAGE_SHIFT) * 0x9E3779B97F4A7C15ULL;
    return (ULONG_PTR)(X >> 32) & (Pool->BigTableSize - 1);
}

/* The live entry for the run starting at Va, or NULL (see poolcore.h). */
PPOOL_BIG_ENTRY ExpLookupBig(const POOL_DESCRIPTOR *Pool, ULONG_PTR Va, PPOOL_BIG_ENTRY *Freed)
{
    ULONG_PTR Index, Probes, Mask = Pool->BigTableSize - 1;
    PPOOL_BIG_ENTRY Entry;

    if (Pool->BigTable == NULL)
        return NULL;
    Index = ExpBigHash(Pool, Va);
    for (Probes = 0; Probes < Pool->BigTableSize; Probes++, Index = (Index + 1) & Mask) {
        Entry = &Pool->BigTable[Index];
        if (Entry->Va == Va)
            return Entry;
        if (Entry->Va == 0)
            break;
        if (Freed != NULL && Entry->Va == (Va | POOL_BIG_FREED))
            *Freed = Entry;
    }
    return NULL;
}

/* Claim an entry for Va (not in the table); ExpReserveBigSlot made room. */
static PPOOL_BIG_ENTRY ExpInsertBig(PPOOL_DESCRIPTOR Pool, ULONG_PTR Va)
{
    ULONG_PTR Index = ExpBigHash(Pool, Va), Mask = Pool->BigTableSize - 1;
    PPOOL_BIG_ENTRY Entry, Tombstone = NULL;

    for (;;) {
        Entry = &Pool->BigTable[Index];
        if (Entry->Va == 0)
            break;
        if ((Entry->Va & POOL_BIG_FREED) && Tombstone == NULL)
            Tombstone = Entry;
        Index = (Index + 1) & Mask;
    }
    if (Tombstone != NULL) {
        Entry = Tombstone;
        Pool->BigTableFreed--;
    }
    memset(Entry, 0, sizeof(*Entry));
    Entry->Va = Va;
    Pool->BigTableUsed++;
    return Entry;
}

static VOID ExpDeleteBig(PPOOL_DESCRIPTOR Pool, PPOOL_BIG_ENTRY Entry)
{
    Entry->Va |= POOL_BIG_FREED;
    Pool->BigTableUsed--;
    Pool->BigTableFreed++;
}

/*
 * Move the table's live entries into a new one of NewSize entries (a power
 * of two) from fresh pages, and give the old table's pages back; the
 * tombstones stay behind. Returns FALSE, having changed nothing, when the
 * pages cannot be had.
 */
static BOOLEAN ExpRebuildBigTable(PPOOL_DESCRIPTOR Pool, ULONG_PTR NewSize)
{
    PPOOL_BIG_ENTRY Old = Pool->BigTable, New, Entry;
    ULONG_PTR OldSize = Pool->BigTableSize, Pages, Index;

    Pages = BYTES_TO_PAGES(NewSize * sizeof(POOL_BIG_ENTRY));
    New = ExpGetPages(Pool, Pages);
    if (New == NULL)
        return FALSE;
    memset(New, 0, Pages * PAGE_SIZE);
    Pool->BigTable = New;
    Pool->BigTableSize = NewSize;
    Pool->BigTableUsed = 0;
    Pool->BigTableFreed = 0;
    Pool->TablePages += Pages;
    if (Old != NULL) {
        for (Index = 0; Index < OldSize; Index++) {
            if (Old[Index].Va == 0 || (Old[Index].Va & POOL_BIG_FREED))
                continue;
            Entry = ExpInsertBig(Pool, Old[Index].Va);
            *Entry = Old[Index];
        }
        Pages = BYTES_TO_PAGES(OldSize * sizeof(POOL_BIG_ENTRY));
        Pool->TablePages -= Pages;
        ExpPutPages(Pool, Old, Pages);
    }
    return TRUE;
}

/*
 * Make sure one more entry fits while the table stays at most 3/4 full
 * (counting tombstones), building a new table - twice as large when live
 * entries pass half of it - if needed. Returns FALSE when there is no room
 * and no pages to grow.
 */
static BOOLEAN ExpReserveBigSlot(PPOOL_DESCRIPTOR Pool)
{
    ULONG_PTR OldSize = Pool->BigTableSize, NewSize;

    if (Pool->BigTable != NULL && (Pool->BigTableUsed + Pool->BigTableFreed + 1) * 4 <= OldSize * 3)
        return TRUE;

    NewSize = Pool->BigTable != NULL ? OldSize : POOL_BIG_TABLE_INITIAL;
    while ((Pool->BigTableUsed + 1) * 2 > NewSize)
        NewSize *= 2;
    if (ExpRebuildBigTable(Pool, NewSize))
        return TRUE;
    /* Crowded but not full is still usable: probes end at an empty slot. */
    return Pool->BigTable != NULL && Pool->BigTableUsed + Pool->BigTableFreed + 2 <= OldSize;
}

/*
 * After the run at Va left the table: when at most one entry in eight is
 * live, move the rest into a table a quarter full at most (never below
 * its first size), so that the pages a burst of big blocks made the table
 * grow to go back with the blocks - NT's big page table shrinks too. The
 * tombstone of Va is carried over, so that a second free of the block
 * just freed still reads as a double free (older tombstones are dropped,
 * as on every rebuild). If the new table's pages cannot be had, the old
 * one stays. Hysteresis: the table grows again only past half full.
 */
static VOID ExpShrinkBigTable(PPOOL_DESCRIPTOR Pool, const POOL_BIG_ENTRY *Freed)
{
    ULONG_PTR NewSize = POOL_BIG_TABLE_INITIAL;
    POOL_BIG_ENTRY Tombstone = *Freed;
    PPOOL_BIG_ENTRY Entry;

    if (Pool->BigTableSize <= POOL_BIG_TABLE_INITIAL || Pool->BigTableUsed * 8 > Pool->BigTableSize)
        return;
    while ((Pool->BigTableUsed + 1) * 4 > NewSize)
        NewSize *= 2;
    if (NewSize >= Pool->BigTableSize || !ExpRebuildBigTable(Pool, NewSize))
        return;
    Entry = ExpInsertBig(Pool, Tombstone.Va & ~POOL_BIG_FREED);
    *Entry = Tombstone;
    Entry->Va &= ~POOL_BIG_FREED;
    ExpDeleteBig(Pool, Entry);
}

/* ------------------------------------------------------------------------
 * Tags
 * ------------------------------------------------------------------------ */

/*
 * The slot to charge for Tag. The caller must count an allocation in it at
 * once: Allocations != 0 is what marks a slot used. Slots are never emptied,
 * so an unused slot ends the search - the tag is not further on - and
 * becomes the tag's own. The overflow slot is never claimed (and the home
 * slot's quick test in ExpAllocatePoolCore matches it only for the tag
 * "Ovfl" itself, which then is charged to it, as it should be).
 */
static ULONG ExpFindTracker(PPOOL_DESCRIPTOR Pool, ULONG Tag)
{
    ULONG Index = ExpTrackerHomeSlot(Tag), Probes;
    PPOOL_TRACKER_ENTRY Tracker;

    for (Probes = 0; Probes < POOL_TRACKER_MAX_PROBES; Probes++) {
        if (Index != POOL_TRACKER_OVERFLOW) {
            Tracker = &Pool->Tracker[Index];
            if (Tracker->Allocations == 0) {
                Tracker->Tag = Tag;
                return Index;
            }
            if (Tracker->Tag == Tag)
                return Index;
        }
        Index = (Index + 1) & (POOL_TRACKER_SIZE - 1);
    }
    return POOL_TRACKER_OVERFLOW;
}

/* ------------------------------------------------------------------------
 * Free lists
 * ------------------------------------------------------------------------ */

static VOID ExpInsertFreeBlock(PPOOL_DESCRIPTOR Pool, PPOOL_HEADER Entry)
{
    ULONG Units = Entry->BlockSize;

    InsertHeadList(&Pool->FreeLists[Units], ExpBlockLinks(Entry));
    Pool->FreeListBitmap[Units >> 6] |= 1ULL << (Units & 63);
    if (Units == POOL_PAGE_UNITS)
        Pool->EmptyPages++;
}

/*
 * Take the free block Entry, of Units units, off its list, after checking
 * that its header is still the one written when it was freed and that its
 * neighbours on the list point back at it.
 */
static VOID ExpUnlinkFreeBlock(PPOOL_DESCRIPTOR Pool, PPOOL_HEADER Entry, ULONG Units)
{
    ExpCheckFreeBlock(Pool, Entry, Units);
    if (RemoveEntryList(ExpBlockLinks(Entry)))
        Pool->FreeListBitmap[Units >> 6] &= ~(1ULL << (Units & 63));
    if (Units == POOL_PAGE_UNITS)
        Pool->EmptyPages--;
}

/* Pop the first block of FreeLists[Units]. The bitmap says it is there. */
static PPOOL_HEADER ExpPopFreeList(PPOOL_DESCRIPTOR Pool, ULONG Units)
{
    PLIST_ENTRY Head = &Pool->FreeLists[Units], Links = Head->Flink;
    PPOOL_HEADER Entry;

    if (!ExpIsBlockLinks(Pool, Links))
        KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_LIST_CORRUPT, (ULONG_PTR)Head,
                     (ULONG_PTR)Links, (ULONG_PTR)Head->Blink);
    Entry = (PPOOL_HEADER)Links - 1;
    ExpUnlinkFreeBlock(Pool, Entry, Units);
    return Entry;
}

/* Smallest non-empty list of at least Units units, or 0 when none is. */
static ULONG ExpFindFreeList(const POOL_DESCRIPTOR *Pool, ULONG Units)
{
    ULONG Word = Units >> 6;
    ULONG64 Bits = Pool->FreeListBitmap[Word] & (~0ULL << (Units & 63));

    while (Bits == 0) {
        if (++Word == POOL_BITMAP_WORDS)
            return 0;
        Bits = Pool->FreeListBitmap[Word];
    }
    return Word * 64 + (ULONG)__builtin_ctzll(Bits);
}

/*
 * Set Entry->PreviousSize from Expected to NewSize, after checking Entry's
 * header and that it agreed with the block before it (Before, for the
 * report). Rewriting the check of a header nobody verified would launder
 * corruption.
 */
static VOID ExpSetPreviousSize(const POOL_DESCRIPTOR *Pool, PPOOL_HEADER Entry,
                               ULONG Expected, ULONG NewSize, PPOOL_HEADER Before)
{
    if (!ExpHeaderCheckOk(Pool, Entry) || Entry->PreviousSize != Expected)
        KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_NEIGHBOURS, (ULONG_PTR)Entry,
                     Entry->Ulong1, (ULONG_PTR)Before);
    Entry->PreviousSize = (USHORT)NewSize;
    ExpUpdateCheck(Pool, Entry);
}

/* Make the free, unlisted block Entry an allocated block of Units units,
 * returning the rest of it, if big enough, to the free lists. */
static PPOOL_HEADER ExpCarveBlock(PPOOL_DESCRIPTOR Pool, PPOOL_HEADER Entry, ULONG Units)
{
    ULONG Size = Entry->BlockSize;
    PPOOL_HEADER Rest, After;

    if (Size - Units >= POOL_MIN_UNITS) {
        Rest = Entry + Units;
        After = Entry + Size;
        if (BYTE_OFFSET(After) != 0)
            ExpSetPreviousSize(Pool, After, Size, Size - Units, Entry);
        ExpInitHeader(Pool, Rest, Units, Size - Units, POOL_STATE_FREE);
        ExpInsertFreeBlock(Pool, Rest);
        Size = Units;
    }
    Entry->BlockSize = (USHORT)Size;
    Entry->State = POOL_STATE_ALLOCATED;
    ExpUpdateCheck(Pool, Entry);
    return Entry;
}

/* A new page of small blocks, as one free 256-unit block not yet listed. */
static PPOOL_HEADER ExpTakeFreshPage(PPOOL_DESCRIPTOR Pool)
{
    PPOOL_BIG_ENTRY Big;
    PPOOL_HEADER Entry;

    if (!ExpReserveBigSlot(Pool))
        return NULL;
    Entry = ExpGetPages(Pool, 1);
    if (Entry == NULL)
        return NULL;
    Big = ExpInsertBig(Pool, (ULONG_PTR)Entry);
    Big->PageCount = 1;
    Big->Kind = POOL_BIG_KIND_SMALL;
    Pool->SmallPages++;
    ExpInitHeader(Pool, Entry, 0, POOL_PAGE_UNITS, POOL_STATE_FREE);
    return Entry;
}

static VOID ExpReleaseSmallPage(PPOOL_DESCRIPTOR Pool, PPOOL_HEADER Page)
{
    PPOOL_BIG_ENTRY Big = ExpLookupBig(Pool, (ULONG_PTR)Page, NULL);

    POOL_ASSERT(Big != NULL && Big->Kind == POOL_BIG_KIND_SMALL);
    ExpDeleteBig(Pool, Big);
    Pool->SmallPages--;
    ExpPutPages(Pool, Page, 1);
    ExpShrinkBigTable(Pool, Big);
}

/*
 * Give the checked block Entry (allocated or parked) back to its page:
 * merge it with free neighbours, then list the result - or return the page
 * when it became empty and one empty page is kept already.
 */
static VOID ExpReleaseSmallBlock(PPOOL_DESCRIPTOR Pool, PPOOL_HEADER Entry)
{
    ULONG Units = Entry->BlockSize, LastUnits = Units;
    PPOOL_HEADER Next = Entry + Units, Last = Entry, Prev;

    /* Marked free first: if it merges into the block before it, this
     * header stays behind in that block's body, and a second free of the
     * same pointer must read as a double free. */
    Entry->State = POOL_STATE_FREE;
    if (BYTE_OFFSET(Next) != 0 && Next->State == POOL_STATE_FREE) {
        LastUnits = Next->BlockSize;
        ExpUnlinkFreeBlock(Pool, Next, LastUnits);
        Last = Next;
        Units += LastUnits;
        Next += LastUnits;
    }
    if (Entry->PreviousSize != 0) {
        Prev = Entry - Entry->PreviousSize;
        if (Prev->State == POOL_STATE_FREE) {
            ExpUnlinkFreeBlock(Pool, Prev, Prev->BlockSize);
            Units += Prev->BlockSize;
            Entry = Prev;
        }
    }
    if (BYTE_OFFSET(Entry) + ((ULONG_PTR)Units << POOL_BLOCK_SHIFT) > PAGE_SIZE)
        KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_SIZE_TOO_LARGE, (ULONG_PTR)(Entry + Units),
                     Entry->Ulong1, (ULONG_PTR)Entry);
    if (BYTE_OFFSET(Next) != 0)
        ExpSetPreviousSize(Pool, Next, LastUnits, Units, Last);

    Entry->BlockSize = (USHORT)Units;
    Entry->State = POOL_STATE_FREE;
    ExpUpdateCheck(Pool, Entry);
    if (Units == POOL_PAGE_UNITS && Pool->EmptyPages >= POOL_EMPTY_PAGES_KEPT) {
        ExpReleaseSmallPage(Pool, Entry);
        return;
    }
    ExpInsertFreeBlock(Pool, Entry);
}

/* ------------------------------------------------------------------------
 * Lookaside lists and trimming
 * ------------------------------------------------------------------------ */

/* Merge every parked block back. Returns how many there were. */
static SIZE_T ExpFlushLookasides(PPOOL_DESCRIPTOR Pool)
{
    POOL_LOOKASIDE *Lookaside;
    PPOOL_HEADER Entry;
    SIZE_T Flushed = 0;
    ULONG Units;

    for (Units = POOL_MIN_UNITS; Units <= POOL_LOOKASIDE_MAX_UNITS; Units++) {
        Lookaside = &Pool->Lookaside[Units];
        while (Lookaside->Depth != 0) {
            Entry = (PPOOL_HEADER)Lookaside->Slots[Lookaside->Depth] - 1;
            if (Lookaside->Depth > POOL_LOOKASIDE_MAX_DEPTH ||
                !ExpIsBlockLinks(Pool, ExpBlockLinks(Entry)))
                KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_LIST_CORRUPT, (ULONG_PTR)Lookaside,
                             (ULONG_PTR)(Entry + 1), Lookaside->Depth);
            ExpCheckParkedBlock(Pool, Entry, Units);
            Lookaside->Slots[Lookaside->Depth] = NULL;
            Lookaside->DepthAndRoom += POOL_LOOKASIDE_POP;
            ExpReleaseSmallBlock(Pool, Entry);
            Flushed++;
        }
    }
    return Flushed;
}

static ULONG_PTR ExpReleaseEmptyPages(PPOOL_DESCRIPTOR Pool)
{
    ULONG_PTR Released = 0;

    while (!IsListEmpty(&Pool->FreeLists[POOL_PAGE_UNITS])) {
        ExpReleaseSmallPage(Pool, ExpPopFreeList(Pool, POOL_PAGE_UNITS));
        Released++;
    }
    return Released;
}

/*
 * Before failing an allocation: trim, and say whether another try could
 * succeed. Merged lookaside blocks can serve a small request from the free
 * lists; only pages given back can help a request for whole pages, so a
 * big one is not retried - and the callback not asked twice for a run it
 * could not map - unless some were.
 */
static BOOLEAN ExpTrimForRetry(PPOOL_DESCRIPTOR Pool, BOOLEAN NeedPages)
{
    SIZE_T Before = Pool->PagesInUse, Flushed;

    Flushed = ExpFlushLookasides(Pool);
    ExpReleaseEmptyPages(Pool);
    if (Pool->PagesInUse != Before)
        return TRUE;
    return !NeedPages && Flushed != 0;
}

ULONG_PTR ExpTrimPoolCore(PPOOL_DESCRIPTOR Pool)
{
    SIZE_T Before = Pool->PagesInUse;

    ExpFlushLookasides(Pool);
    ExpReleaseEmptyPages(Pool);
    return Before - Pool->PagesInUse;
}


/* ------------------------------------------------------------------------
 * The fast paths' pending tag counts (POOL_LOOKASIDE in poolcore.h)
 * ------------------------------------------------------------------------ */

/* Move Lookaside's pending counts into its batch slot's tag line. */
static VOID ExpFoldLookaside(PPOOL_DESCRIPTOR Pool, POOL_LOOKASIDE *Lookaside)
{
    PPOOL_TRACKER_ENTRY Tracker = &Pool->Tracker[(UCHAR)(Lookaside->ParkedImage >> 16)];
    SIZE_T Bytes = (SIZE_T)(Lookaside->Mark & 0xFFFF) << POOL_BLOCK_SHIFT;

    Tracker->Allocations += Lookaside->PendingAllocations;
    Tracker->Frees += Lookaside->PendingFrees;
    Tracker->BytesInUse += (Lookaside->PendingAllocations - Lookaside->PendingFrees) * Bytes;
    Lookaside->PendingAllocations = 0;
    Lookaside->PendingFrees = 0;
}

VOID ExpFoldLookasideCounts(PPOOL_DESCRIPTOR Pool)
{
    ULONG Units;

    for (Units = POOL_MIN_UNITS; Units <= POOL_LOOKASIDE_MAX_UNITS; Units++)
        ExpFoldLookaside(Pool, &Pool->Lookaside[Units]);
}

/* Make Index (a slot in use, of Tag) the batch slot of Lookaside. */
static VOID ExpSetLookasideBatch(PPOOL_DESCRIPTOR Pool, POOL_LOOKASIDE *Lookaside, ULONG Index,
                                 ULONG Tag)
{
    ExpFoldLookaside(Pool, Lookaside);
    Lookaside->ParkedImage = ExpMakeImage(Pool->PoolType, POOL_STATE_LOOKASIDE, Index, Tag);
    Lookaside->AllocatedImage = ExpMakeImage(Pool->PoolType, POOL_STATE_ALLOCATED, Index, Tag);
}

BOOLEAN ExpBatchFastAllocation(PPOOL_DESCRIPTOR Pool, POOL_LOOKASIDE *Lookaside,
                               PPOOL_HEADER Entry, ULONG Tag)
{
    ULONG Index;

    /* BlockSize, PoolType and State in one compare (the empty list's
     * stand-in has none of them). */
    if (ExpHeaderMark(Entry) != Lookaside->Mark)
        return FALSE;
    /* The tag's tracker slot. A parked block keeps its last owner's tag
     * and slot, and a tag's slot never changes (slots are never reused,
     * and a tag sent to the overflow bucket finds no slot later either),
     * so a block going back to the tag that freed it names the slot
     * itself. Otherwise the tag's home slot, if it is there and in use;
     * anything else is the slow path's probe (which claims a slot). */
    if (Entry->PoolTag == Tag) {
        Index = Entry->TrackIndex;
    } else {
        Index = ExpTrackerHomeSlot(Tag);
        if (Pool->Tracker[Index].Tag != Tag || Pool->Tracker[Index].Allocations == 0)
            return FALSE;
        Entry->TrackIndex = (UCHAR)Index;
        Entry->PoolTag = Tag;
    }
    ExpSetLookasideBatch(Pool, Lookaside, Index, Tag);
    return TRUE;
}

BOOLEAN ExpBatchFastFree(PPOOL_DESCRIPTOR Pool, POOL_LOOKASIDE *Lookaside, PPOOL_HEADER Entry,
                         POOL_TYPE PoolType, ULONG Tag, BOOLEAN CheckTag)
{
    if (ExpTypeAndState(Entry) != (USHORT)((UCHAR)PoolType | POOL_STATE_ALLOCATED << 8))
        return FALSE;
    if (CheckTag && Entry->PoolTag != Tag)
        return FALSE;
    ExpSetLookasideBatch(Pool, Lookaside, Entry->TrackIndex, Entry->PoolTag);
    return TRUE;
}

/* ------------------------------------------------------------------------
 * Allocation
 * ------------------------------------------------------------------------ */

/* No parked block of this size: free lists, then a fresh page, then one
 * more try after trimming. */
static PPOOL_HEADER ExpTakeSmallBlock(PPOOL_DESCRIPTOR Pool, ULONG Units)
{
    PPOOL_HEADER Entry;
    ULONG Attempt, Index;

    for (Attempt = 0; Attempt < 2; Attempt++) {
        Index = ExpFindFreeList(Pool, Units);
        if (Index != 0)
            return ExpCarveBlock(Pool, ExpPopFreeList(Pool, Index), Units);
        Entry = ExpTakeFreshPage(Pool);
        if (Entry != NULL)
            return ExpCarveBlock(Pool, Entry, Units);
        if (Attempt > 0 || !ExpTrimForRetry(Pool, FALSE))
            break;
    }
    return NULL;
}

/* The rest of a small allocation when the fast path cannot finish it:
 * Entry is the block it popped, or NULL when it found none. */
static EXP_NOINLINE PVOID ExpAllocateSmallSlow(PPOOL_DESCRIPTOR Pool, PPOOL_HEADER Entry,
                                               ULONG Units, SIZE_T NumberOfBytes, ULONG Tag)
{
    if (Entry == NULL) {
        Entry = ExpTakeSmallBlock(Pool, Units);
        if (Entry == NULL) {
            Pool->FailedAllocations++;
            return NULL;
        }
    }
    return ExpFinishSmallAllocation(Pool, Entry, NumberOfBytes, Tag, ExpFindTracker(Pool, Tag));
}

static EXP_NOINLINE PVOID ExpAllocateBigBlock(PPOOL_DESCRIPTOR Pool, SIZE_T NumberOfBytes,
                                              ULONG Tag)
{
    ULONG_PTR Pages = BYTES_TO_PAGES(NumberOfBytes);
    PPOOL_TRACKER_ENTRY Tracker;
    PPOOL_BIG_ENTRY Big;
    PVOID Va = NULL;
    ULONG Attempt, Index;

    if (Pages <= Pool->Size >> PAGE_SHIFT) {
        for (Attempt = 0; Attempt < 2; Attempt++) {
            if (ExpReserveBigSlot(Pool)) {
                Va = ExpGetPages(Pool, Pages);
                if (Va != NULL)
                    break;
            }
            if (Attempt > 0 || !ExpTrimForRetry(Pool, TRUE))
                break;
        }
    }
    if (Va == NULL) {
        Pool->FailedAllocations++;
        return NULL;
    }

    Index = ExpFindTracker(Pool, Tag);
    Big = ExpInsertBig(Pool, (ULONG_PTR)Va);
    Big->PageCount = Pages;
    Big->NumberOfBytes = NumberOfBytes;
    Big->Tag = Tag;
    Big->TrackIndex = (UCHAR)Index;
    Big->Kind = POOL_BIG_KIND_BLOCK;

    Tracker = &Pool->Tracker[Index];
    Tracker->Allocations++;
    Tracker->BytesInUse += Pages << PAGE_SHIFT;
    Pool->BigPages += Pages;
    Pool->BigBlocks++;
    if (Pages > Pool->LargestBigPages)
        Pool->LargestBigPages = Pages;
    return Va;
}

/*
 * The fast path is the lookaside pop with the tag found in its home slot;
 * everything else is a tail call, so this function saves no registers.
 */
PVOID ExpAllocatePoolCore(PPOOL_DESCRIPTOR Pool, SIZE_T NumberOfBytes, ULONG Tag)
{
    POOL_LOOKASIDE *Lookaside;
    PPOOL_HEADER Entry;
    ULONG Units, Index;

    if (EXP_UNLIKELY(NumberOfBytes > POOL_SMALL_MAX_BYTES))
        return ExpAllocateBigBlock(Pool, NumberOfBytes, Tag);

    /* A parked block as the fast path takes it, but allowed to make Tag's
     * slot the list's batch slot (the kernel's hot paths are not: they
     * come here instead), so that the next fast allocation of this tag
     * and size, and the fast free of a block it got, find their images. */
    if (NumberOfBytes - 1 < POOL_LOOKASIDE_MAX_BYTES) {
        PVOID P = ExpAllocatePoolFast(Pool, NumberOfBytes, Tag);
        if (P != NULL)
            return P;
    }

    /* Header + body rounded up to units; 0 bytes gets the minimal block. */
    Units = ExpUnitsForBytes(NumberOfBytes);
    if (Units > POOL_LOOKASIDE_MAX_UNITS || Pool->Lookaside[Units].Depth == 0)
        return ExpAllocateSmallSlow(Pool, NULL, Units, NumberOfBytes, Tag);

    /* The header may have been written since the free parked it (a use
     * after free), so it is checked before the block is handed out. */
    Lookaside = &Pool->Lookaside[Units];
    Entry = (PPOOL_HEADER)Lookaside->Slots[Lookaside->Depth] - 1;
    if (EXP_UNLIKELY(ExpHeaderMark(Entry) != Lookaside->Mark))
        KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_FREE_MODIFIED, (ULONG_PTR)Entry,
                     Entry->Ulong1, Units);
    Lookaside->Slots[Lookaside->Depth] = NULL;
    Lookaside->DepthAndRoom += POOL_LOOKASIDE_POP;

    /* The tag's home slot. An unused home slot whose Tag happens to match
     * is claimed here as ExpFindTracker would claim it. */
    Index = ExpTrackerHomeSlot(Tag);
    if (EXP_UNLIKELY(Pool->Tracker[Index].Tag != Tag))
        return ExpAllocateSmallSlow(Pool, Entry, Units, NumberOfBytes, Tag);
    return ExpFinishSmallAllocation(Pool, Entry, NumberOfBytes, Tag, Index);
}

/* ------------------------------------------------------------------------
 * Free
 * ------------------------------------------------------------------------ */

static EXP_NOINLINE VOID ExpFreeBigBlock(PPOOL_DESCRIPTOR Pool, ULONG_PTR Va, ULONG Tag,
                                         BOOLEAN CheckTag)
{
    PPOOL_BIG_ENTRY Big = ExpCheckBigBlock(Pool, Va);
    PPOOL_TRACKER_ENTRY Tracker;
    ULONG_PTR Pages = Big->PageCount;

    if (CheckTag && Big->Tag != Tag)
        KeBugCheckEx(BAD_POOL_CALLER, POOL_CALLER_WRONG_TAG, Va, Big->Tag, Tag);
    Tracker = &Pool->Tracker[Big->TrackIndex];
    Tracker->Frees++;
    Tracker->BytesInUse -= Pages << PAGE_SHIFT;
    Pool->BigPages -= Pages;
    Pool->BigBlocks--;
    ExpDeleteBig(Pool, Big);
    ExpPutPages(Pool, (PVOID)Va, Pages);
    ExpShrinkBigTable(Pool, Big);
}

VOID ExpFreePoolCore(PPOOL_DESCRIPTOR Pool, PVOID P, ULONG Tag, BOOLEAN CheckTag)
{
    ULONG_PTR Va = (ULONG_PTR)P;
    PPOOL_TRACKER_ENTRY Tracker;
    POOL_LOOKASIDE *Lookaside;
    PPOOL_HEADER Entry;
    ULONG Units, Bytes;

    if (EXP_UNLIKELY(Va - Pool->Base >= Pool->Size))
        KeBugCheckEx(BAD_POOL_CALLER, POOL_CALLER_NOT_IN_POOL, Va, 0, 0);
    if (EXP_UNLIKELY(BYTE_OFFSET(Va) == 0)) {
        ExpFreeBigBlock(Pool, Va, Tag, CheckTag);
        return;
    }
    Entry = ExpCheckSmallBlock(Pool, Va);
    if (CheckTag && EXP_UNLIKELY(Entry->PoolTag != Tag))
        KeBugCheckEx(BAD_POOL_CALLER, POOL_CALLER_WRONG_TAG, Va, Entry->PoolTag, Tag);

    Units = Entry->BlockSize;
    Bytes = Units << POOL_BLOCK_SHIFT;
    Tracker = &Pool->Tracker[Entry->TrackIndex];
    Tracker->Frees++;
    Tracker->BytesInUse -= Bytes;

    /* Sizes without a list have Room 0 for ever. */
    Lookaside = &Pool->Lookaside[Units];
    if (Lookaside->Room > 0) {
        Entry->State = POOL_STATE_LOOKASIDE;
        Lookaside->DepthAndRoom += POOL_LOOKASIDE_PUSH;
        Lookaside->Slots[Lookaside->Depth] = P;
        return;
    }
    ExpReleaseSmallBlock(Pool, Entry);
}

/* ------------------------------------------------------------------------
 * Queries
 * ------------------------------------------------------------------------ */

SIZE_T ExpQueryPoolBlockSize(PPOOL_DESCRIPTOR Pool, PVOID P)
{
    ULONG_PTR Va = (ULONG_PTR)P;

    if (Va - Pool->Base >= Pool->Size)
        KeBugCheckEx(BAD_POOL_CALLER, POOL_CALLER_NOT_IN_POOL, Va, 0, 0);
    if (BYTE_OFFSET(Va) == 0)
        return ExpCheckBigBlock(Pool, Va)->PageCount << PAGE_SHIFT;
    return ((SIZE_T)ExpCheckSmallBlock(Pool, Va)->BlockSize - 1) << POOL_BLOCK_SHIFT;
}

VOID ExpQueryPoolTotals(const POOL_DESCRIPTOR *Pool, PPOOL_TOTALS Totals)
{
    const POOL_TRACKER_ENTRY *Tracker;
    const POOL_LOOKASIDE *Lookaside;
    SIZE_T Bytes = 0;
    ULONG Index;

    memset(Totals, 0, sizeof(*Totals));
    for (Index = 0; Index < POOL_TRACKER_SIZE; Index++) {
        Tracker = &Pool->Tracker[Index];
        Totals->Allocations += Tracker->Allocations;
        Totals->Frees += Tracker->Frees;
        Bytes += Tracker->BytesInUse;
    }
    /* And the fast paths' counts not yet folded into the table. */
    for (Index = POOL_MIN_UNITS; Index <= POOL_LOOKASIDE_MAX_UNITS; Index++) {
        Lookaside = &Pool->Lookaside[Index];
        Totals->Allocations += Lookaside->PendingAllocations;
        Totals->Frees += Lookaside->PendingFrees;
        Bytes += (Lookaside->PendingAllocations - Lookaside->PendingFrees) *
                 ((SIZE_T)Index << POOL_BLOCK_SHIFT);
        Totals->LookasideBlocks += Lookaside->Depth;
    }
    /* Tag bytes are small blocks' block bytes plus big blocks' pages. */
    Totals->SmallBytesInUse = Bytes - (Pool->BigPages << PAGE_SHIFT);
}

ULONG ExpQueryPoolTags(PPOOL_DESCRIPTOR Pool, PPOOL_TAG_INFO Buffer, ULONG Count)
{
    const POOL_TRACKER_ENTRY *Tracker;
    ULONG Index, Found = 0;

    ExpFoldLookasideCounts(Pool);
    for (Index = 0; Index < POOL_TRACKER_SIZE; Index++) {
        Tracker = &Pool->Tracker[Index];
        if (Tracker->Allocations == 0)
            continue;
        if (Found < Count) {
            Buffer[Found].Tag = Tracker->Tag;
            Buffer[Found].PoolType = Pool->PoolType;
            Buffer[Found].Allocations = Tracker->Allocations;
            Buffer[Found].Frees = Tracker->Frees;
            Buffer[Found].BytesInUse = Tracker->BytesInUse;
        }
        Found++;
    }
    return Found;
}

/* ------------------------------------------------------------------------
 * Initialization
 * ------------------------------------------------------------------------ */

VOID ExpInitializePoolDescriptor(PPOOL_DESCRIPTOR Pool, POOL_TYPE PoolType, PVOID Base,
                                 PVOID End, PPOOL_ALLOCATE_PAGES AllocatePages,
                                 PPOOL_FREE_PAGES FreePages, PVOID Context)
{
    ULONG Index;

    POOL_ASSERT(PoolType == NonPagedPool || PoolType == PagedPool);
    POOL_ASSERT(BYTE_OFFSET(Base) == 0 && BYTE_OFFSET(End) == 0);
    POOL_ASSERT((ULONG_PTR)Base < (ULONG_PTR)End);
    POOL_ASSERT(AllocatePages != NULL && FreePages != NULL);

    memset(Pool, 0, sizeof(*Pool));
    Pool->PoolType = PoolType;
    Pool->LookasideDepth = POOL_LOOKASIDE_DEFAULT_DEPTH;
    Pool->Base = (ULONG_PTR)Base;
    Pool->End = (ULONG_PTR)End;
    Pool->Size = (ULONG_PTR)End - (ULONG_PTR)Base;
    Pool->SizeInUnits = Pool->Size >> POOL_BLOCK_SHIFT;
    Pool->AllocatedMark = (USHORT)(PoolType | POOL_STATE_ALLOCATED << 8);
    Pool->AllocatePages = AllocatePages;
    Pool->FreePages = FreePages;
    Pool->Context = Context;
    /* One pass for the sizes that have a lookaside list too, then the
     * rest unrolled: the boot pays for every instruction here, twice. */
    for (Index = 0; Index <= POOL_LOOKASIDE_MAX_UNITS; Index++) {
        POOL_LOOKASIDE *Lookaside = &Pool->Lookaside[Index];

        InitializeListHead(&Pool->FreeLists[Index]);
        Lookaside->Slots[0] = (PVOID)&ExpNoParkedBlock[1];
        Lookaside->Mark = Index | (ULONG)PoolType << 16 | (ULONG)POOL_STATE_LOOKASIDE << 24;
        /* The first batch slot: the overflow bucket, under its own tag. */
        Lookaside->ParkedImage =
            ExpMakeImage(PoolType, POOL_STATE_LOOKASIDE, POOL_TRACKER_OVERFLOW, POOL_OVERFLOW_TAG);
        Lookaside->AllocatedImage =
            ExpMakeImage(PoolType, POOL_STATE_ALLOCATED, POOL_TRACKER_OVERFLOW, POOL_OVERFLOW_TAG);
        if (Index >= POOL_MIN_UNITS)
            Lookaside->Room = POOL_LOOKASIDE_DEFAULT_DEPTH;
    }
    /* The sizes without a list: Room 0, and a stand-in under Depth 0 as
     * well (nothing pops them, but the validator reads Slots[0]). */
#pragma GCC unroll 8
    for (; Index < POOL_LIST_COUNT; Index++) {
        InitializeListHead(&Pool->FreeLists[Index]);
        Pool->Lookaside[Index].Slots[0] = (PVOID)&ExpNoParkedBlock[1];
    }
    Pool->Tracker[POOL_TRACKER_OVERFLOW].Tag = POOL_OVERFLOW_TAG;
}

VOID ExpSetLookasideDepth(PPOOL_DESCRIPTOR Pool, ULONG Depth)
{
    POOL_LOOKASIDE *Lookaside;
    ULONG Units;

    POOL_ASSERT(Depth <= POOL_LOOKASIDE_MAX_DEPTH);
    Pool->LookasideDepth = Depth;
    for (Units = POOL_MIN_UNITS; Units <= POOL_LOOKASIDE_MAX_UNITS; Units++) {
        Lookaside = &Pool->Lookaside[Units];
        Lookaside->Room = (SHORT)((LONG)Depth - (LONG)Lookaside->Depth);
    }
}
