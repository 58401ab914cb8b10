/*
 * poolcheck.c - the pool's checks and its validator: how the allocator in
 * mm/poolcore.c turns misuse and corruption into NT bugchecks, and the
 * slow walk (ExpValidatePool) that cross-checks a whole pool for tests and
 * the debugger. Pure logic, built for the host tests too.
 *
 * Data structures: none of its own. It reads what poolcore.c writes - the
 * POOL_HEADER in front of every small block (its HeaderCheck, sizes, state
 * and tag), the free lists and lookaside lists, the big page table and the
 * tag table (all in poolcore.h) - and changes nothing, except that the
 * checks on the free path stop the system.
 *
 * Locking and IRQL: none inside, as in poolcore.c. The caller holds the
 * pool's lock (nonpaged pool: its spin lock, IRQL <= DISPATCH_LEVEL; paged
 * pool: its fast mutex, IRQL < DISPATCH_LEVEL, since the headers read here
 * are pageable). The lock-free fast paths in poolcore.h make the cheapest
 * of these checks themselves and never bugcheck: when one fails they hand
 * the block to the locked path, which ends up here.
 *
 * ---- How a free is checked ----------------------------------------------
 *
 * ExpCheckSmallBlock is the O(1) check every locked free and size query
 * of a small block makes: Va 16-byte aligned, the header's check value
 * good (so its sizes are ones the pool wrote), its type this pool's and
 * its state 'A', and both neighbours agreeing with its sizes - the header
 * after it is where an overrun of this block lands. Only when one of these
 * fails does ExpReportBadSmallBlock, here, walk the page from its start to
 * say exactly what is wrong; it runs once, right before the system stops.
 * Big blocks are checked against the big page table (ExpCheckBigBlock);
 * free and parked blocks when they are taken off their lists
 * (ExpCheckFreeBlock, ExpCheckParkedBlock). The O(1) checks themselves are
 * inline in poolcore.h, so that the allocator's paths run them without a
 * call; what they do when one fails is here (ExpReport*).
 *
 * ---- Bugchecks (parameter 1 values from Microsoft's documentation) ------
 *
 * BAD_POOL_CALLER (0xC2), the caller's fault:
 *   0x07 (0, header Ulong1 or big block's tag, address)  freed twice
 *   0x0A (address, allocator's tag, tag given)          wrong tag
 *   0x42 (address, 0, 0)         address outside the pool's range
 *   0x46 (address, 0, 0)         in the pool, but not the start of a block
 * BAD_POOL_HEADER (0x19), the pool is damaged (maybe not by this caller):
 *   0x03 (list entry, read-back flink, read-back blink) corrupt free list;
 *        in a healthy list all three are equal. For a lookaside list
 *        (a damaged descriptor): (the list, the bad slot, its Depth).
 *   0x05 (entry, its header Ulong1, other entry) two neighbours disagree
 *   0x07 (0, header Ulong1, entry)  header check/type/state wrong
 *   0x08 (0, header Ulong1, entry)  block size zero
 *   0x09 (computed next entry, header Ulong1, entry)  size runs off the page
 *   0x0D (entry, header Ulong1, expected units)  a free or parked block's
 *        header changed after it was freed
 *   0x20 (entry, next entry, next's Ulong1)  on free: the next header does
 *        not agree with this block's size - typically this block overran
 * Pagoda fills the parameters Microsoft lists as "reserved" with the
 * header's first eight bytes (Ulong1), to save a trip to the debugger.
 * The wrong-tag (0x0A) and outside-the-pool (0x42) checks are in
 * ExpFreePoolCore itself, before it calls in here.
 *
 * ---- The validator -------------------------------------------------------
 *
 * ExpValidatePool walks every page the big page table lists, every free
 * list, lookaside list and tag, and checks each against the others and
 * against the descriptor's counters. It returns FALSE with a sentence
 * instead of bugchecking, so the shell or a test can call it on a sick
 * pool. It is O(pool size): for tests and debugging only.
 */
#include "poolcore.h"
#include "../include/bugcodes.h"
#include "../rtl/rtl.h"

/* ------------------------------------------------------------------------
 * Links and owners
 * ------------------------------------------------------------------------ */


/*
 * The live entry whose pages contain Va (a big block or a page of small
 * blocks), or NULL when Va's page is none of the pool's. Searches back at
 * most as many pages as the largest big block ever had: diagnostics only.
 */
static PPOOL_BIG_ENTRY ExpFindPageOwner(const POOL_DESCRIPTOR *Pool, ULONG_PTR Va)
{
    ULONG_PTR Page = Va & ~(PAGE_SIZE - 1), Back, Limit;
    PPOOL_BIG_ENTRY Entry;

    Limit = Pool->LargestBigPages > 1 ? Pool->LargestBigPages : 1;
    if (Limit > ((Page - Pool->Base) >> PAGE_SHIFT) + 1)
        Limit = ((Page - Pool->Base) >> PAGE_SHIFT) + 1;
    for (Back = 0; Back < Limit; Back++) {
        Entry = ExpLookupBig(Pool, Page - Back * PAGE_SIZE, NULL);
        if (Entry != NULL)
            return Page < Entry->Va + Entry->PageCount * PAGE_SIZE ? Entry : NULL;
    }
    return NULL;
}

/* ------------------------------------------------------------------------
 * Blocks taken off the free and lookaside lists
 * ------------------------------------------------------------------------ */

/* ExpCheckFreeBlock (poolcore.h) found something wrong: say what. */
VOID ExpReportBadFreeBlock(const POOL_DESCRIPTOR *Pool, PPOOL_HEADER Entry, ULONG Units)
{
    PLIST_ENTRY Links = ExpBlockLinks(Entry), Flink, Blink;

    if (!ExpHeaderCheckOk(Pool, Entry) || Entry->State != POOL_STATE_FREE ||
        Entry->BlockSize != Units)
        KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_FREE_MODIFIED, (ULONG_PTR)Entry,
                     Entry->Ulong1, Units);
    Flink = Links->Flink;
    Blink = Links->Blink;
    if (!ExpIsLinkPlausible(Pool, Flink) || !ExpIsLinkPlausible(Pool, Blink))
        KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_LIST_CORRUPT, (ULONG_PTR)Links,
                     (ULONG_PTR)Flink, (ULONG_PTR)Blink);
    KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_LIST_CORRUPT, (ULONG_PTR)Links,
                 (ULONG_PTR)Flink->Blink, (ULONG_PTR)Blink->Flink);
}


/* Check a parked block before it is merged: header untouched since it was
 * parked, neighbours still agreeing with it. */
VOID ExpCheckParkedBlock(const POOL_DESCRIPTOR *Pool, PPOOL_HEADER Entry, ULONG Units)
{
    PPOOL_HEADER Next = Entry + Units;

    if (!ExpHeaderCheckOk(Pool, Entry) || Entry->State != POOL_STATE_LOOKASIDE ||
        Entry->BlockSize != Units ||
        BYTE_OFFSET(Entry) + ((ULONG_PTR)Units << POOL_BLOCK_SHIFT) > PAGE_SIZE)
        KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_FREE_MODIFIED, (ULONG_PTR)Entry,
                     Entry->Ulong1, Units);
    if (BYTE_OFFSET(Next) != 0 && Next->PreviousSize != Units)
        KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_NEIGHBOURS, (ULONG_PTR)Next, Next->Ulong1,
                     (ULONG_PTR)Entry);
    if (Entry->PreviousSize != 0 && (Entry - Entry->PreviousSize)->BlockSize != Entry->PreviousSize)
        KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_NEIGHBOURS, (ULONG_PTR)Entry, Entry->Ulong1,
                     (ULONG_PTR)(Entry - Entry->PreviousSize));
}

/* ------------------------------------------------------------------------
 * Blocks being freed: the O(1) checks, and the diagnosis when one fails
 * ------------------------------------------------------------------------ */

/* Check one header met while walking a page from its start. */
static VOID ExpCheckWalkedHeader(const POOL_DESCRIPTOR *Pool, PPOOL_HEADER Walk,
                                 PPOOL_HEADER Prev)
{
    ULONG Expected = Prev != NULL ? Prev->BlockSize : 0;

    if (Walk->BlockSize == 0)
        KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_SIZE_ZERO, 0, Walk->Ulong1, (ULONG_PTR)Walk);
    if (BYTE_OFFSET(Walk) + ((ULONG_PTR)Walk->BlockSize << POOL_BLOCK_SHIFT) > PAGE_SIZE)
        KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_SIZE_TOO_LARGE,
                     (ULONG_PTR)Walk + ((ULONG_PTR)Walk->BlockSize << POOL_BLOCK_SHIFT),
                     Walk->Ulong1, (ULONG_PTR)Walk);
    if (Walk->PreviousSize != Expected)
        KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_NEIGHBOURS, (ULONG_PTR)Walk, Walk->Ulong1,
                     (ULONG_PTR)Prev);
    if (!ExpHeaderCheckOk(Pool, Walk) || Walk->BlockSize < POOL_MIN_UNITS ||
        (Walk->State != POOL_STATE_ALLOCATED && Walk->State != POOL_STATE_FREE &&
         Walk->State != POOL_STATE_LOOKASIDE))
        KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_CORRUPT, 0, Walk->Ulong1, (ULONG_PTR)Walk);
}

/*
 * ExpCheckSmallBlock's O(1) checks (poolcore.h) on the block at Va failed:
 * find out why and bugcheck. Slow on purpose - it runs once, right before
 * the system stops.
 */
VOID ExpReportBadSmallBlock(const POOL_DESCRIPTOR *Pool, ULONG_PTR Va)
{
    PPOOL_HEADER Entry = (PPOOL_HEADER)Va - 1, Walk, Prev = NULL, Next;
    PPOOL_BIG_ENTRY Owner;

    if (Va & (POOL_BLOCK_SIZE - 1))
        KeBugCheckEx(BAD_POOL_CALLER, POOL_CALLER_BAD_ADDRESS, Va, 0, 0);
    Owner = ExpFindPageOwner(Pool, Va);
    if (Owner == NULL || Owner->Kind != POOL_BIG_KIND_SMALL)
        KeBugCheckEx(BAD_POOL_CALLER, POOL_CALLER_BAD_ADDRESS, Va, 0, 0);

    /* A good header that is not allocated is a block freed before - or
     * the header it had, left behind when it was merged into a neighbour. */
    if (ExpHeaderCheckOk(Pool, Entry) &&
        (Entry->State == POOL_STATE_FREE || Entry->State == POOL_STATE_LOOKASIDE))
        KeBugCheckEx(BAD_POOL_CALLER, POOL_CALLER_DOUBLE_FREE, 0, Entry->Ulong1, Va);

    /* Walk from the page's first header: either it lands on Entry, and
     * every header up to it is sound, or it steps over it. */
    for (Walk = (PPOOL_HEADER)PAGE_ALIGN(Va);; Walk += Walk->BlockSize) {
        ExpCheckWalkedHeader(Pool, Walk, Prev);
        if (Walk == Entry)
            break;
        if (Entry < Walk + Walk->BlockSize)
            KeBugCheckEx(BAD_POOL_CALLER, POOL_CALLER_BAD_ADDRESS, Va, 0, 0);
        Prev = Walk;
    }

    if (Entry->State == POOL_STATE_ALLOCATED) {
        Next = Entry + Entry->BlockSize;
        if (BYTE_OFFSET(Next) != 0 && Next->PreviousSize != Entry->BlockSize)
            KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_NEXT_MISMATCH, (ULONG_PTR)Entry,
                         (ULONG_PTR)Next, Next->Ulong1);
    }
    KeBugCheckEx(BAD_POOL_HEADER, POOL_HEADER_CORRUPT, 0, Entry->Ulong1, (ULONG_PTR)Entry);
}


/* ExpCheckBigBlock (poolcore.h) found no live big block at Va: a double
 * free when a tombstone says it was one, else a bad address. */
VOID ExpReportBadBigBlock(const POOL_DESCRIPTOR *Pool, ULONG_PTR Va)
{
    PPOOL_BIG_ENTRY Freed = NULL, Big = ExpLookupBig(Pool, Va, &Freed);

    if (Big == NULL && Freed != NULL && Freed->Kind == POOL_BIG_KIND_BLOCK)
        KeBugCheckEx(BAD_POOL_CALLER, POOL_CALLER_DOUBLE_FREE, 0, Freed->Tag, Va);
    KeBugCheckEx(BAD_POOL_CALLER, POOL_CALLER_BAD_ADDRESS, Va, 0, 0);
}

/* ------------------------------------------------------------------------
 * The validator
 * ------------------------------------------------------------------------ */

#if PAGODA_SOLUTION(4)
typedef struct _POOL_WALK_TOTALS {
    SIZE_T AllocatedBlocks;
    SIZE_T AllocatedBytes;
    SIZE_T FreeBlocks;
    SIZE_T ParkedBlocks;
    SIZE_T EmptyPages;
    SIZE_T TagBytes[POOL_TRACKER_SIZE]; /* by tracker slot, from the headers */
} POOL_WALK_TOTALS;

#define POOL_FAIL(Text)                                                        \
    do {                                                                       \
        if (Problem != NULL)                                                   \
            *Problem = (Text);                                                 \
        return FALSE;                                                          \
    } while (0)

static BOOLEAN ExpValidateSmallPage(const POOL_DESCRIPTOR *Pool, PPOOL_HEADER Page,
                                    POOL_WALK_TOTALS *Totals, PCSTR *Problem)
{
    PPOOL_HEADER Walk = Page, Prev = NULL;
    ULONG Units;

    do {
        Units = Walk->BlockSize;
        if (Units < POOL_MIN_UNITS ||
            BYTE_OFFSET(Walk) + ((ULONG_PTR)Units << POOL_BLOCK_SHIFT) > PAGE_SIZE)
            POOL_FAIL("block size runs off its page");
        if (Walk->PreviousSize != (Prev != NULL ? Prev->BlockSize : 0))
            POOL_FAIL("previous size disagrees with the block before");
        if (!ExpHeaderCheckOk(Pool, Walk))
            POOL_FAIL("header check or pool type wrong");
        switch (Walk->State) {
        case POOL_STATE_ALLOCATED:
            if (Walk->RequestedBytes > (Units - 1) << POOL_BLOCK_SHIFT)
                POOL_FAIL("block smaller than the bytes requested");
            if (Walk->TrackIndex != POOL_TRACKER_OVERFLOW &&
                Pool->Tracker[Walk->TrackIndex].Tag != Walk->PoolTag)
                POOL_FAIL("block's tag differs from its tracker slot's");
            Totals->AllocatedBlocks++;
            Totals->AllocatedBytes += (SIZE_T)Units << POOL_BLOCK_SHIFT;
            Totals->TagBytes[Walk->TrackIndex] += (SIZE_T)Units << POOL_BLOCK_SHIFT;
            break;
        case POOL_STATE_FREE:
            if (Prev != NULL && Prev->State == POOL_STATE_FREE)
                POOL_FAIL("two free neighbours not merged");
            Totals->FreeBlocks++;
            if (Units == POOL_PAGE_UNITS)
                Totals->EmptyPages++;
            break;
        case POOL_STATE_LOOKASIDE:
            if (Units > POOL_LOOKASIDE_MAX_UNITS)
                POOL_FAIL("parked block too large for a lookaside list");
            Totals->ParkedBlocks++;
            break;
        default:
            POOL_FAIL("header state is not A, F or L");
        }
        Prev = Walk;
        Walk += Units;
    } while (BYTE_OFFSET(Walk) != 0);
    return TRUE;
}

static BOOLEAN ExpValidateBigTable(const POOL_DESCRIPTOR *Pool, POOL_WALK_TOTALS *Totals,
                                   PCSTR *Problem)
{
    SIZE_T Live = 0, Freed = 0, SmallPages = 0, BigPages = 0, BigBlocks = 0;
    const POOL_BIG_ENTRY *Entry;
    ULONG_PTR Index, Va;

    if (Pool->BigTable == NULL) {
        if (Pool->BigTableUsed != 0 || Pool->TablePages != 0)
            POOL_FAIL("no big table, yet counters say there is one");
        goto Counters;
    }
    if (Pool->BigTableSize == 0 || (Pool->BigTableSize & (Pool->BigTableSize - 1)) != 0)
        POOL_FAIL("big table size is not a power of two");
    if (Pool->TablePages != BYTES_TO_PAGES(Pool->BigTableSize * sizeof(POOL_BIG_ENTRY)))
        POOL_FAIL("table page count disagrees with the table size");
    for (Index = 0; Index < Pool->BigTableSize; Index++) {
        Entry = &Pool->BigTable[Index];
        Va = Entry->Va;
        if (Va == 0)
            continue;
        if (Va & POOL_BIG_FREED) {
            Freed++;
            continue;
        }
        Live++;
        if (BYTE_OFFSET(Va) != 0 || Va - Pool->Base >= Pool->Size || Entry->PageCount == 0 ||
            Entry->PageCount > (Pool->End - Va) >> PAGE_SHIFT)
            POOL_FAIL("big table entry outside the pool");
        if (ExpLookupBig(Pool, Va, NULL) != Entry)
            POOL_FAIL("big table entry not found by its own address");
        if (Entry->Kind == POOL_BIG_KIND_BLOCK) {
            if (BYTES_TO_PAGES(Entry->NumberOfBytes) != Entry->PageCount)
                POOL_FAIL("big block entry inconsistent");
            BigBlocks++;
            BigPages += Entry->PageCount;
            Totals->TagBytes[Entry->TrackIndex] += Entry->PageCount << PAGE_SHIFT;
        } else if (Entry->Kind == POOL_BIG_KIND_SMALL) {
            if (Entry->PageCount != 1)
                POOL_FAIL("small-block page entry with several pages");
            SmallPages++;
            if (!ExpValidateSmallPage(Pool, (PPOOL_HEADER)Va, Totals, Problem))
                return FALSE;
        } else {
            POOL_FAIL("big table entry of unknown kind");
        }
    }
    if (Live != Pool->BigTableUsed || Freed != Pool->BigTableFreed)
        POOL_FAIL("big table live or tombstone count wrong");
    if (Live + Freed >= Pool->BigTableSize)
        POOL_FAIL("big table has no empty slot");

Counters:
    if (SmallPages != Pool->SmallPages || BigPages != Pool->BigPages ||
        BigBlocks != Pool->BigBlocks)
        POOL_FAIL("page or big-block counters disagree with the table");
    if (Pool->PagesInUse != SmallPages + BigPages + Pool->TablePages)
        POOL_FAIL("pages in use is not small + big + table pages");
    return TRUE;
}

static BOOLEAN ExpValidateFreeLists(const POOL_DESCRIPTOR *Pool, const POOL_WALK_TOTALS *Totals,
                                    PCSTR *Problem)
{
    const LIST_ENTRY *Head, *Links;
    const POOL_HEADER *Entry;
    SIZE_T Count, Listed = 0;
    ULONG Units;
    BOOLEAN Bit;

    for (Units = 0; Units < POOL_BITMAP_WORDS * 64; Units++) {
        Bit = (Pool->FreeListBitmap[Units >> 6] >> (Units & 63)) & 1;
        if (Units >= POOL_LIST_COUNT) {
            if (Bit)
                POOL_FAIL("free-list bitmap bit beyond the lists");
            continue;
        }
        Head = &Pool->FreeLists[Units];
        Count = 0;
        for (Links = Head;; Links = Links->Flink) {
            if (!ExpIsLinkPlausible(Pool, Links->Flink))
                POOL_FAIL("free-list link points outside the pool");
            if (Links->Flink->Blink != Links)
                POOL_FAIL("free-list neighbour does not point back");
            if (Links->Flink == Head)
                break;
            if (++Count > Totals->FreeBlocks)
                POOL_FAIL("free list holds more blocks than the pages have");
            Entry = (const POOL_HEADER *)Links->Flink - 1;
            if (!ExpIsBlockLinks(Pool, Links->Flink) || Entry->State != POOL_STATE_FREE ||
                Entry->BlockSize != Units)
                POOL_FAIL("block on a free list is not free or has the wrong size");
        }
        if ((Count != 0) != Bit)
            POOL_FAIL("free-list bitmap disagrees with the lists");
        Listed += Count;
    }
    if (Listed != Totals->FreeBlocks)
        POOL_FAIL("a free block is missing from the free lists");
    if (Totals->EmptyPages != Pool->EmptyPages || Pool->EmptyPages > POOL_EMPTY_PAGES_KEPT)
        POOL_FAIL("empty page count wrong");
    return TRUE;
}

static BOOLEAN ExpValidateLookasides(const POOL_DESCRIPTOR *Pool, const POOL_WALK_TOTALS *Totals,
                                     PCSTR *Problem)
{
    const POOL_LOOKASIDE *Lookaside;
    const POOL_HEADER *Entry;
    SIZE_T Parked = 0;
    ULONG Units, Slot;

    for (Units = 0; Units <= POOL_LOOKASIDE_MAX_UNITS; Units++) {
        Lookaside = &Pool->Lookaside[Units];
        if (Lookaside->Slots[0] != &ExpNoParkedBlock[1])
            POOL_FAIL("a lookaside list lost its empty-list stand-in");
        if (Lookaside->Depth > POOL_LOOKASIDE_MAX_DEPTH)
            POOL_FAIL("lookaside depth is larger than the list");
        for (Slot = 1; Slot <= Lookaside->Depth; Slot++) {
            if (!ExpIsBlockLinks(Pool, (const LIST_ENTRY *)Lookaside->Slots[Slot]))
                POOL_FAIL("lookaside slot points outside the pool");
            Entry = (const POOL_HEADER *)Lookaside->Slots[Slot] - 1;
            if (++Parked > Totals->ParkedBlocks)
                POOL_FAIL("lookaside lists hold more blocks than the pages have");
            if (Entry->State != POOL_STATE_LOOKASIDE || Entry->BlockSize != Units)
                POOL_FAIL("block on a lookaside list is not parked or has the wrong size");
        }
    }
    if (Parked != Totals->ParkedBlocks)
        POOL_FAIL("a parked block is missing from the lookaside lists");
    return TRUE;
}

static BOOLEAN ExpValidateTags(const POOL_DESCRIPTOR *Pool, const POOL_WALK_TOTALS *Totals,
                               PCSTR *Problem)
{
    const POOL_TRACKER_ENTRY *Tracker;
    SIZE_T Allocations = 0, Frees = 0, Bytes = 0;
    ULONG Index;

    for (Index = 0; Index < POOL_TRACKER_SIZE; Index++) {
        Tracker = &Pool->Tracker[Index];
        if (Tracker->Frees > Tracker->Allocations)
            POOL_FAIL("a tag has more frees than allocations");
        if (Tracker->BytesInUse != Totals->TagBytes[Index])
            POOL_FAIL("a tag's bytes in use differ from its blocks");
        Allocations += Tracker->Allocations;
        Frees += Tracker->Frees;
        Bytes += Tracker->BytesInUse;
    }
    if (Allocations - Frees != Totals->AllocatedBlocks + Pool->BigBlocks)
        POOL_FAIL("allocations minus frees is not the number of live blocks");
    if (Bytes != Totals->AllocatedBytes + (Pool->BigPages << PAGE_SHIFT))
        POOL_FAIL("tag bytes do not add up to the blocks' and big pages'");
    return TRUE;
}

BOOLEAN ExpValidatePool(PPOOL_DESCRIPTOR Pool, PCSTR *Problem)
{
    POOL_WALK_TOTALS Totals;

    memset(&Totals, 0, sizeof(Totals));
    if (Problem != NULL)
        *Problem = NULL;
    if (!ExpValidateBigTable(Pool, &Totals, Problem))
        return FALSE;
    return ExpValidateFreeLists(Pool, &Totals, Problem) &&
           ExpValidateLookasides(Pool, &Totals, Problem) &&
           ExpValidateTags(Pool, &Totals, Problem);
}
#else
/*
 * Lab 4: ExpValidatePool walks the whole pool and cross-checks it: every
 * page of small blocks (each header's check value, size, neighbours, state
 * and tag), the big page table, every free list and lookaside list, and
 * the tag table against what the walk added up. TRUE when everything
 * agrees; otherwise FALSE with *Problem (when not NULL) set to a sentence
 * that says what is wrong. It changes nothing and never bugchecks.
 */
BOOLEAN ExpValidatePool(PPOOL_DESCRIPTOR Pool, PCSTR *Problem)
{
    UNREFERENCED_PARAMETER(Pool);
    if (Problem != NULL)
        *Problem = "ExpValidatePool is not written yet (lab 4)";
    return FALSE;
}
#endif /* PAGODA_SOLUTION(4) */
