/*
 * test_pool.c - host unit tests for the pool allocator (mm/poolcore.c, its
 * checks in mm/poolcheck.c and the lookaside fast paths in mm/poolcore.h):
 * every small size class and many big sizes, contents that never overlap,
 * tag accounting back to zero, thousands of random operations checked by
 * ExpValidatePool, pages returned by merging, running out of pages, the
 * big page table growing, and the bugchecks (double free, wrong tag, frees
 * of addresses that are not blocks, overruns, corrupt free lists), and the
 * lookaside fast paths: what they hand out and take back, and what they
 * leave to the locked path, which then bugchecks as before.
 *
 * Pages come from an arena (aligned_alloc) with a page bitmap, so a test
 * can count pages in use and exhaust them; pages the pool does not hold are
 * poisoned for AddressSanitizer, so the core touching a page it gave back
 * is caught. KeBugCheckEx is a stub that records the code and parameters
 * and longjmps back into the test that expected it.
 *
 * Build and run (see tests/host/htest.h):
 *   gcc -std=c11 -DPAGODA_HOST -g -O1 -fsanitize=address,undefined -Wall
 *       -Wextra -Werror -I. -Iinclude tests/host/test_pool.c mm/poolcore.c mm/poolcheck.c
 *       -o build/host/test_pool && build/host/test_pool
 */
#include <setjmp.h>
#include <stdint.h>

#include "htest.h"
#include "../../include/bugcodes.h"
#include "../../mm/poolcore.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(Va, Bytes)   ASAN_POISON_MEMORY_REGION(Va, Bytes)
#define UNPOISON(Va, Bytes) ASAN_UNPOISON_MEMORY_REGION(Va, Bytes)
#else
#define POISON(Va, Bytes)   ((void)(Va), (void)(Bytes))
#define UNPOISON(Va, Bytes) ((void)(Va), (void)(Bytes))
#endif

#define TAG_TEST POOL_TAG('T', 'e', 's', 't')
#define TAG_PROC POOL_TAG('P', 'r', 'o', 'c')
#define TAG_FILE POOL_TAG('F', 'i', 'l', 'e')

/* ---- the KeBugCheckEx stub -------------------------------------------- */

static jmp_buf BugcheckJump;
static volatile int BugcheckArmed;
static ULONG BugcheckCode;
static ULONG_PTR BugcheckParameter[4];

void KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR Parameter1, ULONG_PTR Parameter2,
                  ULONG_PTR Parameter3, ULONG_PTR Parameter4)
{
    BugcheckCode = BugCheckCode;
    BugcheckParameter[0] = Parameter1;
    BugcheckParameter[1] = Parameter2;
    BugcheckParameter[2] = Parameter3;
    BugcheckParameter[3] = Parameter4;
    if (BugcheckArmed) {
        BugcheckArmed = 0;
        longjmp(BugcheckJump, 1);
    }
    printf("unexpected bugcheck 0x%X (0x%llx, 0x%llx, 0x%llx, 0x%llx) in %s\n", BugCheckCode,
           (unsigned long long)Parameter1, (unsigned long long)Parameter2,
           (unsigned long long)Parameter3, (unsigned long long)Parameter4, HtestCurrentName);
    abort();
}

/* Run Statement, which must bugcheck with Code and parameter 1 Param1. */
#define EXPECT_BUGCHECK(Code, Param1, Statement)                               \
    do {                                                                       \
        BugcheckCode = 0;                                                      \
        if (setjmp(BugcheckJump) == 0) {                                       \
            BugcheckArmed = 1;                                                 \
            Statement;                                                         \
            BugcheckArmed = 0;                                                 \
        }                                                                      \
        if (BugcheckCode != (Code) || BugcheckParameter[0] != (ULONG_PTR)(Param1)) \
            printf("  got bugcheck 0x%X/0x%llx, want 0x%X/0x%llx\n", BugcheckCode, \
                   (unsigned long long)BugcheckParameter[0], (unsigned)(Code),  \
                   (unsigned long long)(Param1));                              \
        HT_ASSERT(BugcheckCode == (Code));                                     \
        HT_ASSERT(BugcheckParameter[0] == (ULONG_PTR)(Param1));                \
    } while (0)

/* ---- the page arena --------------------------------------------------- */

typedef struct TEST_POOL {
    POOL_DESCRIPTOR Pool;
    PUCHAR Arena;
    ULONG_PTR Pages;        /* pages in the arena */
    ULONG_PTR Limit;        /* at most this many handed out at once */
    ULONG_PTR InUse;
    ULONG64 *Bitmap;        /* bit set: page handed out */
    ULONG_PTR *RunLength;   /* at a run's first page: its length */
    ULONG_PTR AllocateCalls;
    ULONG_PTR FreeCalls;
    HT_DEFERRED *Deleter;       /* frees all this after the case, or at DeletePool */
} TEST_POOL;

static BOOLEAN PageUsed(const TEST_POOL *T, ULONG_PTR Page)
{
    return (T->Bitmap[Page / 64] >> (Page % 64)) & 1;
}

static void SetPages(TEST_POOL *T, ULONG_PTR First, ULONG_PTR Count, BOOLEAN Used)
{
    for (ULONG_PTR Page = First; Page < First + Count; Page++) {
        if (Used)
            T->Bitmap[Page / 64] |= 1ULL << (Page % 64);
        else
            T->Bitmap[Page / 64] &= ~(1ULL << (Page % 64));
    }
}

static PVOID TestAllocatePages(PPOOL_DESCRIPTOR Pool, ULONG_PTR PageCount)
{
    TEST_POOL *T = Pool->Context;
    ULONG_PTR Page, Start = 0, Run = 0;
    PUCHAR Va;

    T->AllocateCalls++;
    if (PageCount == 0 || T->InUse + PageCount > T->Limit)
        return NULL;
    for (Page = 0; Page < T->Pages; Page++) {
        if (PageUsed(T, Page)) {
            Run = 0;
            continue;
        }
        if (Run++ == 0)
            Start = Page;
        if (Run == PageCount) {
            SetPages(T, Start, PageCount, TRUE);
            T->RunLength[Start] = PageCount;
            T->InUse += PageCount;
            Va = T->Arena + Start * PAGE_SIZE;
            UNPOISON(Va, PageCount * PAGE_SIZE);
            memset(Va, 0xCC, PageCount * PAGE_SIZE); /* never zeroed for the pool */
            return Va;
        }
    }
    return NULL;
}

static VOID TestFreePages(PPOOL_DESCRIPTOR Pool, PVOID Va, ULONG_PTR PageCount)
{
    TEST_POOL *T = Pool->Context;
    ULONG_PTR Offset = (PUCHAR)Va - T->Arena, First = Offset / PAGE_SIZE;

    T->FreeCalls++;
    if (Offset % PAGE_SIZE != 0 || First >= T->Pages || T->RunLength[First] != PageCount) {
        printf("FreePages(%p, %llu): not a run AllocatePages returned\n", Va,
               (unsigned long long)PageCount);
        abort();
    }
    for (ULONG_PTR Page = First; Page < First + PageCount; Page++) {
        if (!PageUsed(T, Page)) {
            printf("FreePages(%p, %llu): page %llu not in use\n", Va,
                   (unsigned long long)PageCount, (unsigned long long)Page);
            abort();
        }
    }
    SetPages(T, First, PageCount, FALSE);
    T->RunLength[First] = 0;
    T->InUse -= PageCount;
    memset(Va, 0xDD, PageCount * PAGE_SIZE);
    POISON(Va, PageCount * PAGE_SIZE);
}

static void FreeTestPool(void *Context)
{
    TEST_POOL *T = Context;

    UNPOISON(T->Arena, T->Pages * PAGE_SIZE);
    free(T->Arena);
    free(T->Bitmap);
    free(T->RunLength);
    free(T);
}

/* A new pool, freed by DeletePool or, if a failed assertion stops the case first, after it. */
static TEST_POOL *NewPool(POOL_TYPE Type, ULONG_PTR Pages, ULONG LookasideDepth)
{
    TEST_POOL *T = calloc(1, sizeof(*T));

    T->Pages = Pages;
    T->Limit = Pages;
    T->Arena = aligned_alloc(PAGE_SIZE, Pages * PAGE_SIZE);
    T->Bitmap = calloc((Pages + 63) / 64, sizeof(ULONG64));
    T->RunLength = calloc(Pages, sizeof(ULONG_PTR));
    POISON(T->Arena, Pages * PAGE_SIZE);
    ExpInitializePoolDescriptor(&T->Pool, Type, T->Arena, T->Arena + Pages * PAGE_SIZE,
                                TestAllocatePages, TestFreePages, T);
    ExpSetLookasideDepth(&T->Pool, LookasideDepth);
    T->Deleter = HtDefer(FreeTestPool, T);
    return T;
}

static void DeletePool(TEST_POOL *T)
{
    HtCleanupNow(T->Deleter);
}

/* ---- helpers ---------------------------------------------------------- */

static ULONG64 RandomState;

static ULONG64 Random(void)
{
    /* xorshift64* */
    RandomState ^= RandomState >> 12;
    RandomState ^= RandomState << 25;
    RandomState ^= RandomState >> 27;
    return RandomState * 0x2545F4914F6CDD1DULL;
}

static UCHAR PatternByte(ULONG_PTR Seed, SIZE_T Offset)
{
    return (UCHAR)((Seed * 0x9E3779B1u) >> 13 ^ Offset * 7 ^ Offset >> 8);
}

static void Fill(PVOID P, SIZE_T Bytes, ULONG_PTR Seed)
{
    PUCHAR Byte = P;
    for (SIZE_T Offset = 0; Offset < Bytes; Offset++)
        Byte[Offset] = PatternByte(Seed, Offset);
}

static BOOLEAN Intact(const void *P, SIZE_T Bytes, ULONG_PTR Seed)
{
    const UCHAR *Byte = P;
    for (SIZE_T Offset = 0; Offset < Bytes; Offset++) {
        if (Byte[Offset] != PatternByte(Seed, Offset))
            return FALSE;
    }
    return TRUE;
}

static BOOLEAN PoolValid(TEST_POOL *T)
{
    PCSTR Problem;

    ExpFoldLookasideCounts(&T->Pool); /* the fast paths' counts, into the tag table */
    if (ExpValidatePool(&T->Pool, &Problem))
        return TRUE;
    printf("  ExpValidatePool: %s\n", Problem);
    return FALSE;
}

/* The tag's line in the pool's tag table, or zeros when it has none. */
static POOL_TAG_INFO TagInfo(TEST_POOL *T, ULONG Tag)
{
    static POOL_TAG_INFO Lines[POOL_TRACKER_SIZE + 1];
    POOL_TAG_INFO None = { 0 };
    ULONG Count = ExpQueryPoolTags(&T->Pool, Lines, ARRAYSIZE(Lines));

    for (ULONG Index = 0; Index < Count; Index++) {
        if (Lines[Index].Tag == Tag)
            return Lines[Index];
    }
    return None;
}

/* The pool-wide totals, which the pool adds up from its tag table. */
static POOL_TOTALS Totals(TEST_POOL *T)
{
    POOL_TOTALS Result;

    ExpQueryPoolTotals(&T->Pool, &Result);
    return Result;
}

/* TRUE when every tag has as many frees as allocations and no bytes. */
static BOOLEAN TagsIdle(TEST_POOL *T)
{
    static POOL_TAG_INFO Lines[POOL_TRACKER_SIZE + 1];
    ULONG Count = ExpQueryPoolTags(&T->Pool, Lines, ARRAYSIZE(Lines));

    for (ULONG Index = 0; Index < Count; Index++) {
        if (Lines[Index].BytesInUse != 0 || Lines[Index].Allocations != Lines[Index].Frees)
            return FALSE;
    }
    return Totals(T).SmallBytesInUse == 0 && T->Pool.BigPages == 0;
}

/* After everything is freed and trimmed only the big page table remains. */
static BOOLEAN OnlyTableLeft(TEST_POOL *T)
{
    return T->Pool.PagesInUse == T->Pool.TablePages && T->InUse == T->Pool.TablePages &&
           T->Pool.SmallPages == 0 && T->Pool.BigPages == 0;
}

/* Usable bytes a small request must get: header + body rounded to 16,
 * at least 2 units; a block may keep one extra unit that was too small
 * to split off. */
static SIZE_T SmallUsable(SIZE_T Bytes)
{
    SIZE_T Units = (Bytes + 31) / 16;
    return ((Units < 2 ? 2 : Units) - 1) * 16;
}

/* ---- layout and basics ------------------------------------------------ */

HTEST(header_layout)
{
    HT_ASSERT(sizeof(POOL_HEADER) == 16);
    HT_ASSERT(offsetof(POOL_HEADER, PreviousSize) == 0);
    HT_ASSERT(offsetof(POOL_HEADER, BlockSize) == 2);
    HT_ASSERT(offsetof(POOL_HEADER, PoolTag) == 8);
    HT_ASSERT(POOL_SMALL_MAX_BYTES + 16 == PAGE_SIZE - 16);
    HT_ASSERT(POOL_PAGE_UNITS == 256);
    HT_ASSERT(NonPagedPool == 0 && PagedPool == 1);
}

HTEST(zero_bytes_get_a_minimal_block)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, POOL_LOOKASIDE_DEFAULT_DEPTH);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 0, TAG_TEST);
    PUCHAR B = ExpAllocatePoolCore(&T->Pool, 0, TAG_TEST);

    HT_ASSERT(A != NULL && B != NULL && A != B);
    HT_ASSERT(((ULONG_PTR)A & 15) == 0);
    HT_ASSERT(ExpQueryPoolBlockSize(&T->Pool, A) == 16);
    memset(A, 1, 16);
    memset(B, 2, 16);
    HT_ASSERT(((PPOOL_HEADER)A - 1)->RequestedBytes == 0);
    HT_ASSERT(TagInfo(T, TAG_TEST).Allocations == 2);
    HT_ASSERT(TagInfo(T, TAG_TEST).BytesInUse == 64);
    HT_ASSERT(PoolValid(T));
    ExpFreePoolCore(&T->Pool, A, TAG_TEST, TRUE);
    ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE);
    HT_ASSERT(PoolValid(T));
    HT_ASSERT(TagsIdle(T));
    DeletePool(T);
}

HTEST(headers_record_size_type_tag)
{
    TEST_POOL *T = NewPool(PagedPool, 64, 0);
    PUCHAR P = ExpAllocatePoolCore(&T->Pool, 100, TAG_PROC);
    PPOOL_HEADER Header = (PPOOL_HEADER)P - 1;

    HT_ASSERT(P != NULL);
    HT_ASSERT(BYTE_OFFSET(Header) == 0);        /* first block of a fresh page */
    HT_ASSERT(Header->PreviousSize == 0);
    HT_ASSERT(Header->BlockSize == 8);          /* 100 + 16 -> 128 bytes */
    HT_ASSERT(Header->PoolType == PagedPool);
    HT_ASSERT(Header->State == POOL_STATE_ALLOCATED);
    HT_ASSERT(Header->PoolTag == TAG_PROC);
    HT_ASSERT(Header->RequestedBytes == 100);
    HT_ASSERT((Header + 8)->PreviousSize == 8); /* the free rest of the page */
    HT_ASSERT((Header + 8)->BlockSize == 248);
    HT_ASSERT((Header + 8)->State == POOL_STATE_FREE);
    ExpFreePoolCore(&T->Pool, P, TAG_PROC, TRUE);
    HT_ASSERT(Header->BlockSize == 256 && Header->State == POOL_STATE_FREE);
    HT_ASSERT(T->Pool.EmptyPages == 1);
    HT_ASSERT(PoolValid(T));
    DeletePool(T);
}

/* ---- sizes and contents ----------------------------------------------- */

/* Every small size, 0 to 4064 bytes, all alive at once. */
HTEST(every_small_size)
{
    enum { COUNT = POOL_SMALL_MAX_BYTES + 1 };
    TEST_POOL *T = NewPool(NonPagedPool, 4096, POOL_LOOKASIDE_DEFAULT_DEPTH);
    static PUCHAR Block[COUNT];
    SIZE_T Bytes, Usable;

    for (Bytes = 0; Bytes < COUNT; Bytes++) {
        Block[Bytes] = ExpAllocatePoolCore(&T->Pool, Bytes, TAG_TEST + (ULONG)(Bytes % 7));
        HT_ASSERT(Block[Bytes] != NULL);
        HT_ASSERT(((ULONG_PTR)Block[Bytes] & 15) == 0 && BYTE_OFFSET(Block[Bytes]) != 0);
        Usable = ExpQueryPoolBlockSize(&T->Pool, Block[Bytes]);
        HT_ASSERT(Usable >= SmallUsable(Bytes) && Usable <= SmallUsable(Bytes) + 16);
        HT_ASSERT(BYTE_OFFSET(Block[Bytes]) + Usable <= PAGE_SIZE);
        Fill(Block[Bytes], Usable, Bytes);
        if (Bytes % 512 == 0)
            HT_ASSERT(PoolValid(T));
    }
    HT_ASSERT(PoolValid(T));
    for (Bytes = 0; Bytes < COUNT; Bytes++)
        HT_ASSERT(Intact(Block[Bytes], ExpQueryPoolBlockSize(&T->Pool, Block[Bytes]), Bytes));

    /* Free the odd ones; the even ones must not notice. */
    for (Bytes = 1; Bytes < COUNT; Bytes += 2)
        ExpFreePoolCore(&T->Pool, Block[Bytes], TAG_TEST + (ULONG)(Bytes % 7), TRUE);
    HT_ASSERT(PoolValid(T));
    for (Bytes = 0; Bytes < COUNT; Bytes += 2) {
        HT_ASSERT(Intact(Block[Bytes], ExpQueryPoolBlockSize(&T->Pool, Block[Bytes]), Bytes));
        ExpFreePoolCore(&T->Pool, Block[Bytes], TAG_TEST + (ULONG)(Bytes % 7), TRUE);
    }
    HT_ASSERT(PoolValid(T));
    HT_ASSERT(TagsIdle(T));
    ExpTrimPoolCore(&T->Pool);
    HT_ASSERT(PoolValid(T));
    HT_ASSERT(OnlyTableLeft(T));
    DeletePool(T);
}

/* Big blocks: whole pages, page-aligned, from 4065 bytes to past 1 MiB. */
HTEST(big_sizes)
{
    static const SIZE_T Fixed[] = {
        POOL_SMALL_MAX_BYTES + 1, 4080, 4095, 4096, 4097, 8191, 8192, 8193, 12288,
        65535, 65536, 65537, 100000, 262144, (1 << 20) - 1, 1 << 20, (1 << 20) + 1,
    };
    enum { RANDOM = 64, COUNT = ARRAYSIZE(Fixed) + RANDOM };
    TEST_POOL *T = NewPool(NonPagedPool, 8192, POOL_LOOKASIDE_DEFAULT_DEPTH);
    SIZE_T Size[COUNT], Pages = 0;
    ULONG_PTR Seed[COUNT];
    PUCHAR Block[COUNT];
    ULONG Index, Other, Left;

    RandomState = 0x5EED0001;
    for (Index = 0; Index < COUNT; Index++) {
        Size[Index] = Index < ARRAYSIZE(Fixed)
                          ? Fixed[Index]
                          : POOL_SMALL_MAX_BYTES + 1 + Random() % (1 << 18);
        Seed[Index] = Index;
        Block[Index] = ExpAllocatePoolCore(&T->Pool, Size[Index], TAG_FILE);
        HT_ASSERT(Block[Index] != NULL);
        HT_ASSERT(BYTE_OFFSET(Block[Index]) == 0);
        HT_ASSERT(ExpQueryPoolBlockSize(&T->Pool, Block[Index]) == ROUND_TO_PAGES(Size[Index]));
        Pages += BYTES_TO_PAGES(Size[Index]);
        HT_ASSERT(T->Pool.BigPages == Pages);
        Fill(Block[Index], Size[Index], Seed[Index]);
    }
    HT_ASSERT(PoolValid(T));
    HT_ASSERT(TagInfo(T, TAG_FILE).BytesInUse == Pages * PAGE_SIZE);
    HT_ASSERT(T->InUse == Pages + T->Pool.TablePages);
    for (Index = 0; Index < COUNT; Index++)
        HT_ASSERT(Intact(Block[Index], Size[Index], Seed[Index]));

    /* Free in random order, checking the survivors now and then. */
    for (Index = COUNT; Index > 0; Index--) {
        Other = (ULONG)(Random() % Index);
        ExpFreePoolCore(&T->Pool, Block[Other], TAG_FILE, TRUE);
        Block[Other] = Block[Index - 1];
        Size[Other] = Size[Index - 1];
        Seed[Other] = Seed[Index - 1];
        if (Index % 16 == 0) {
            for (Left = 0; Left + 1 < Index; Left++)
                HT_ASSERT(Intact(Block[Left], Size[Left], Seed[Left]));
            HT_ASSERT(PoolValid(T));
        }
    }
    HT_ASSERT(PoolValid(T));
    HT_ASSERT(TagsIdle(T));
    HT_ASSERT(OnlyTableLeft(T));
    DeletePool(T);
}

/* Thousands of random allocations and frees of every kind, contents
 * checked before each free, the whole pool validated every batch - with
 * and without lookaside lists. */
static void RandomChurn(ULONG LookasideDepth, ULONG64 Seed)
{
    enum { SLOTS = 1024, OPERATIONS = 20000, BATCH = 250 };
    static const ULONG Tags[] = { TAG_TEST, TAG_PROC, TAG_FILE, POOL_TAG('I', 'r', 'p', ' '),
                                  POOL_TAG('M', 'd', 'l', ' '), POOL_TAG('N', 'o', 'n', 'e') };
    static PUCHAR Block[SLOTS];
    static SIZE_T Size[SLOTS];
    static ULONG Tag[SLOTS];
    static ULONG_PTR Seeds[SLOTS];
    TEST_POOL *T = NewPool(NonPagedPool, 8192, LookasideDepth);
    ULONG Operation, Slot, Choice;

    memset(Block, 0, sizeof(Block));
    RandomState = Seed;
    for (Operation = 0; Operation < OPERATIONS; Operation++) {
        Slot = (ULONG)(Random() % SLOTS);
        if (Block[Slot] == NULL) {
            Choice = (ULONG)(Random() % 100);
            Size[Slot] = Choice < 60   ? Random() % 497            /* lookaside sizes */
                         : Choice < 95 ? Random() % (POOL_SMALL_MAX_BYTES + 1)
                                       : POOL_SMALL_MAX_BYTES + 1 + Random() % 40000;
            Tag[Slot] = Tags[Random() % ARRAYSIZE(Tags)];
            Seeds[Slot] = Operation;
            Block[Slot] = ExpAllocatePoolCore(&T->Pool, Size[Slot], Tag[Slot]);
            HT_ASSERT(Block[Slot] != NULL);
            Fill(Block[Slot], Size[Slot], Seeds[Slot]);
        } else {
            HT_ASSERT(Intact(Block[Slot], Size[Slot], Seeds[Slot]));
            /* Some frees as ExFreePool, which checks no tag. */
            ExpFreePoolCore(&T->Pool, Block[Slot], Operation % 5 ? Tag[Slot] : 0,
                            Operation % 5 != 0);
            Block[Slot] = NULL;
        }
        if (Operation % BATCH == BATCH - 1)
            HT_ASSERT(PoolValid(T));
    }
    for (Slot = 0; Slot < SLOTS; Slot++) {
        if (Block[Slot] != NULL) {
            HT_ASSERT(Intact(Block[Slot], Size[Slot], Seeds[Slot]));
            ExpFreePoolCore(&T->Pool, Block[Slot], Tag[Slot], TRUE);
        }
    }
    HT_ASSERT(PoolValid(T));
    HT_ASSERT(TagsIdle(T));
    HT_ASSERT(Totals(T).Allocations == Totals(T).Frees);
    ExpTrimPoolCore(&T->Pool);
    HT_ASSERT(PoolValid(T));
    HT_ASSERT(OnlyTableLeft(T));
    DeletePool(T);
}

HTEST(random_churn_with_lookaside)
{
    RandomChurn(POOL_LOOKASIDE_DEFAULT_DEPTH, 0x600DF00DULL);
}

HTEST(random_churn_without_lookaside)
{
    RandomChurn(0, 0xBADC0FFEEULL);
}

HTEST(random_churn_deep_lookaside)
{
    RandomChurn(POOL_LOOKASIDE_MAX_DEPTH, 0x12345678ULL);
}

/* ---- accounting ------------------------------------------------------- */

HTEST(tag_accounting)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, POOL_LOOKASIDE_DEFAULT_DEPTH);
    PVOID A[3], B[2];
    POOL_TAG_INFO Info;
    ULONG Index;

    for (Index = 0; Index < 3; Index++)
        A[Index] = ExpAllocatePoolCore(&T->Pool, 100, TAG_PROC);  /* 128-byte blocks */
    for (Index = 0; Index < 2; Index++)
        B[Index] = ExpAllocatePoolCore(&T->Pool, 5000, TAG_FILE); /* 2 pages each */
    Info = TagInfo(T, TAG_PROC);
    HT_ASSERT(Info.PoolType == NonPagedPool);
    HT_ASSERT(Info.Allocations == 3 && Info.Frees == 0 && Info.BytesInUse == 3 * 128);
    Info = TagInfo(T, TAG_FILE);
    HT_ASSERT(Info.Allocations == 2 && Info.Frees == 0 && Info.BytesInUse == 2 * 2 * PAGE_SIZE);
    HT_ASSERT(Totals(T).SmallBytesInUse == 3 * 128);
    HT_ASSERT(Totals(T).Allocations == 5);

    ExpFreePoolCore(&T->Pool, A[0], TAG_PROC, TRUE);
    Info = TagInfo(T, TAG_PROC);
    HT_ASSERT(Info.Allocations == 3 && Info.Frees == 1 && Info.BytesInUse == 2 * 128);
    /* ExFreePool: no tag given, none checked. */
    ExpFreePoolCore(&T->Pool, A[1], 0, FALSE);
    ExpFreePoolCore(&T->Pool, B[0], POOL_TAG('?', '?', '?', '?'), FALSE);
    HT_ASSERT(PoolValid(T));
    ExpFreePoolCore(&T->Pool, A[2], TAG_PROC, TRUE);
    ExpFreePoolCore(&T->Pool, B[1], TAG_FILE, TRUE);
    HT_ASSERT(TagInfo(T, TAG_PROC).Frees == 3);
    HT_ASSERT(TagInfo(T, TAG_FILE).Frees == 2);
    HT_ASSERT(TagsIdle(T));
    HT_ASSERT(Totals(T).Frees == 5);
    HT_ASSERT(PoolValid(T));
    DeletePool(T);
}

/* More tags than slots: the rest are charged to "Ovfl" and still balance. */
HTEST(tag_overflow_bucket)
{
    enum { TAGS = 600 };
    TEST_POOL *T = NewPool(NonPagedPool, 256, 0);
    static POOL_TAG_INFO Lines[POOL_TRACKER_SIZE + 1];
    static PVOID Block[TAGS];
    SIZE_T Allocations = 0;
    ULONG Index, Count;

    for (Index = 0; Index < TAGS; Index++) {
        Block[Index] = ExpAllocatePoolCore(&T->Pool, 40, POOL_TAG('T', 'g', Index & 0xFF, Index >> 8));
        HT_ASSERT(Block[Index] != NULL);
    }
    Count = ExpQueryPoolTags(&T->Pool, Lines, ARRAYSIZE(Lines));
    HT_ASSERT(Count <= POOL_TRACKER_SIZE + 1);
    for (Index = 0; Index < Count; Index++)
        Allocations += Lines[Index].Allocations;
    HT_ASSERT(Allocations == TAGS);
    HT_ASSERT(TagInfo(T, POOL_OVERFLOW_TAG).Allocations > 0);
    HT_ASSERT(ExpQueryPoolTags(&T->Pool, Lines, 3) == Count); /* count beyond the buffer */
    HT_ASSERT(PoolValid(T));
    for (Index = 0; Index < TAGS; Index++)
        ExpFreePoolCore(&T->Pool, Block[Index], POOL_TAG('T', 'g', Index & 0xFF, Index >> 8), TRUE);
    HT_ASSERT(TagsIdle(T));
    HT_ASSERT(PoolValid(T));
    DeletePool(T);
}

/* ---- merging, page return, lookaside ----------------------------------- */

HTEST(coalescing_returns_pages)
{
    enum { COUNT = 3000 };
    TEST_POOL *T = NewPool(NonPagedPool, 1024, 0);
    static PVOID Block[COUNT];
    ULONG Index, Other;

    RandomState = 0xC0A1E5CE;
    for (Index = 0; Index < COUNT; Index++) {
        Block[Index] = ExpAllocatePoolCore(&T->Pool, 1 + Random() % 700, TAG_TEST);
        HT_ASSERT(Block[Index] != NULL);
    }
    HT_ASSERT(T->Pool.SmallPages > 100);
    HT_ASSERT(PoolValid(T));
    for (Index = COUNT; Index > 0; Index--) {
        Other = (ULONG)(Random() % Index);
        ExpFreePoolCore(&T->Pool, Block[Other], TAG_TEST, TRUE);
        Block[Other] = Block[Index - 1];
        if (Index % 100 == 0)
            HT_ASSERT(PoolValid(T));
    }
    /* Every page merged back into one block and went home - but one. */
    HT_ASSERT(PoolValid(T));
    HT_ASSERT(T->Pool.SmallPages == POOL_EMPTY_PAGES_KEPT);
    HT_ASSERT(T->Pool.EmptyPages == POOL_EMPTY_PAGES_KEPT);
    HT_ASSERT(T->Pool.PagesInUse == T->Pool.TablePages + POOL_EMPTY_PAGES_KEPT);
    HT_ASSERT(ExpTrimPoolCore(&T->Pool) == POOL_EMPTY_PAGES_KEPT);
    HT_ASSERT(OnlyTableLeft(T));
    HT_ASSERT(TagsIdle(T));
    DeletePool(T);
}

/* Free the middle block last: both merges, into one whole free page. */
HTEST(merge_with_both_neighbours)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 0);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 1000, TAG_TEST);
    PUCHAR B = ExpAllocatePoolCore(&T->Pool, 1000, TAG_TEST);
    PUCHAR C = ExpAllocatePoolCore(&T->Pool, 1000, TAG_TEST);
    PUCHAR D = ExpAllocatePoolCore(&T->Pool, 1000, TAG_TEST);
    PPOOL_HEADER Page = (PPOOL_HEADER)PAGE_ALIGN(A);

    HT_ASSERT(PAGE_ALIGN(B) == Page && PAGE_ALIGN(C) == Page && PAGE_ALIGN(D) == Page);
    ExpFreePoolCore(&T->Pool, A, TAG_TEST, TRUE);
    ExpFreePoolCore(&T->Pool, C, TAG_TEST, TRUE);
    HT_ASSERT(PoolValid(T));
    ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE);     /* A+B+C merge */
    HT_ASSERT(Page->State == POOL_STATE_FREE && Page->BlockSize == 3 * 64);
    HT_ASSERT(PoolValid(T));
    ExpFreePoolCore(&T->Pool, D, TAG_TEST, TRUE);     /* and D with the rest */
    HT_ASSERT(Page->BlockSize == POOL_PAGE_UNITS);
    HT_ASSERT(T->Pool.EmptyPages == 1 && T->FreeCalls == 0);
    HT_ASSERT(PoolValid(T));
    DeletePool(T);
}

/* An allocate/free loop neither takes nor returns pages after the first. */
HTEST(empty_page_kept_for_loops)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 0);
    ULONG_PTR Calls;
    PVOID P;

    P = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    ExpFreePoolCore(&T->Pool, P, TAG_TEST, TRUE);
    Calls = T->AllocateCalls;
    for (ULONG Index = 0; Index < 1000; Index++) {
        P = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
        HT_ASSERT(P != NULL);
        ExpFreePoolCore(&T->Pool, P, TAG_TEST, TRUE);
    }
    HT_ASSERT(T->AllocateCalls == Calls);
    HT_ASSERT(T->FreeCalls == 0);
    HT_ASSERT(T->Pool.SmallPages == 1 && T->Pool.EmptyPages == 1);
    HT_ASSERT(PoolValid(T));
    DeletePool(T);
}

HTEST(lookaside_reuses_and_trims)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 4);
    PVOID P, Q, Block[10];
    ULONG Index;

    P = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    ExpFreePoolCore(&T->Pool, P, TAG_TEST, TRUE);
    HT_ASSERT(Totals(T).LookasideBlocks == 1);
    HT_ASSERT(((PPOOL_HEADER)P - 1)->State == POOL_STATE_LOOKASIDE);
    HT_ASSERT(TagsIdle(T));                  /* parked blocks count as freed */
    Q = ExpAllocatePoolCore(&T->Pool, 64, TAG_PROC);
    HT_ASSERT(Q == P);                       /* LIFO: the same block back */
    HT_ASSERT(Totals(T).LookasideBlocks == 0);
    HT_ASSERT(((PPOOL_HEADER)Q - 1)->PoolTag == TAG_PROC);
    ExpFreePoolCore(&T->Pool, Q, TAG_PROC, TRUE);

    for (Index = 0; Index < 10; Index++)
        Block[Index] = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    for (Index = 0; Index < 10; Index++)
        ExpFreePoolCore(&T->Pool, Block[Index], TAG_TEST, TRUE);
    HT_ASSERT(Totals(T).LookasideBlocks == 4); /* the depth */
    HT_ASSERT(PoolValid(T));
    HT_ASSERT(ExpTrimPoolCore(&T->Pool) == 1);
    HT_ASSERT(Totals(T).LookasideBlocks == 0);
    HT_ASSERT(OnlyTableLeft(T));
    HT_ASSERT(PoolValid(T));
    DeletePool(T);
}

/* ---- running out ------------------------------------------------------ */

HTEST(out_of_pages_returns_null)
{
    enum { LIMIT = 8 };
    TEST_POOL *T = NewPool(NonPagedPool, 64, POOL_LOOKASIDE_DEFAULT_DEPTH);
    static PVOID Block[1000];
    ULONG Count = 0, Index;
    ULONG_PTR Calls;
    PVOID Big;

    T->Limit = LIMIT;
    while ((Block[Count] = ExpAllocatePoolCore(&T->Pool, 1000, TAG_TEST)) != NULL)
        Count++;
    HT_ASSERT(Count > 0 && Count < 1000);
    HT_ASSERT(T->Pool.FailedAllocations == 1);
    HT_ASSERT(T->InUse == LIMIT);
    HT_ASSERT(PoolValid(T));

    Calls = T->AllocateCalls;
    HT_ASSERT(ExpAllocatePoolCore(&T->Pool, 3 * PAGE_SIZE, TAG_TEST) == NULL);
    HT_ASSERT(T->Pool.FailedAllocations == 2);
    HT_ASSERT(T->AllocateCalls == Calls + 1);     /* nothing to trim: no retry */
    /* More than the whole range: refused without asking for pages. */
    Calls = T->AllocateCalls;
    HT_ASSERT(ExpAllocatePoolCore(&T->Pool, T->Pool.Size + 1, TAG_TEST) == NULL);
    HT_ASSERT(ExpAllocatePoolCore(&T->Pool, ~(SIZE_T)0, TAG_TEST) == NULL);
    HT_ASSERT(T->AllocateCalls == Calls);
    HT_ASSERT(T->Pool.FailedAllocations == 4);
    HT_ASSERT(PoolValid(T));

    for (Index = 0; Index < Count; Index++)
        ExpFreePoolCore(&T->Pool, Block[Index], TAG_TEST, TRUE);
    HT_ASSERT(TagsIdle(T));
    HT_ASSERT(PoolValid(T));
    /* Everything but the table is free again - parked and kept pages are
     * given back by the allocation that needs them. */
    Big = ExpAllocatePoolCore(&T->Pool, (LIMIT - T->Pool.TablePages) * PAGE_SIZE, TAG_TEST);
    HT_ASSERT(Big != NULL);
    HT_ASSERT(Totals(T).LookasideBlocks == 0 && T->Pool.SmallPages == 0);
    HT_ASSERT(PoolValid(T));
    ExpFreePoolCore(&T->Pool, Big, TAG_TEST, TRUE);
    HT_ASSERT(OnlyTableLeft(T));
    DeletePool(T);
}

/* Free Block[From], Block[From + Step], ... (all small): first one block
 * of each page, which a lookaside list with room parks and so keeps its
 * page, then the rest. */
static void FreeParkingOnePerPage(TEST_POOL *T, PVOID *Block, ULONG Count, ULONG From, ULONG Step)
{
    ULONG_PTR Pages[64];
    ULONG PageCount = 0, Index, Seen;

    for (Index = From; Index < Count; Index += Step) {
        ULONG_PTR Page = (ULONG_PTR)Block[Index] & ~(ULONG_PTR)(PAGE_SIZE - 1);
        for (Seen = 0; Seen < PageCount && Pages[Seen] != Page; Seen++)
            ;
        if (Seen < PageCount || PageCount == ARRAYSIZE(Pages))
            continue;
        Pages[PageCount++] = Page;
        ExpFreePoolCore(&T->Pool, Block[Index], TAG_TEST, TRUE);
        Block[Index] = NULL;
    }
    for (Index = From; Index < Count; Index += Step)
        if (Block[Index] != NULL)
            ExpFreePoolCore(&T->Pool, Block[Index], TAG_TEST, TRUE);
}

/* Small blocks parked on the lookaside lists are merged back when another
 * size needs the pages. */
HTEST(out_of_pages_flushes_lookasides)
{
    enum { LIMIT = 6 };
    TEST_POOL *T = NewPool(NonPagedPool, 64, POOL_LOOKASIDE_MAX_DEPTH);
    static PVOID Block[2000];
    ULONG Count = 0;
    PVOID P;

    T->Limit = LIMIT;
    while ((Block[Count] = ExpAllocatePoolCore(&T->Pool, 48, TAG_TEST)) != NULL)
        Count++;
    HT_ASSERT(Count > POOL_LOOKASIDE_MAX_DEPTH);
    FreeParkingOnePerPage(T, Block, Count, 0, 1);
    HT_ASSERT(Totals(T).LookasideBlocks == POOL_LOOKASIDE_MAX_DEPTH);
    HT_ASSERT(T->InUse == LIMIT); /* parked blocks hold the pages */
    /* A whole page's block: no page is free of parked blocks. */
    P = ExpAllocatePoolCore(&T->Pool, POOL_SMALL_MAX_BYTES, TAG_TEST);
    HT_ASSERT(P != NULL);
    HT_ASSERT(Totals(T).LookasideBlocks == 0);
    HT_ASSERT(T->Pool.FailedAllocations == 1); /* only the one that ended the fill */
    HT_ASSERT(PoolValid(T));
    ExpFreePoolCore(&T->Pool, P, TAG_TEST, TRUE);
    DeletePool(T);
}

/* A failed big allocation asks for its pages again only when trimming
 * gave pages back; merging parked blocks alone cannot help it. */
HTEST(big_retry_only_when_pages_come_back)
{
    enum { LIMIT = 6 };
    TEST_POOL *T = NewPool(NonPagedPool, 64, POOL_LOOKASIDE_MAX_DEPTH);
    static PVOID Block[2000];
    ULONG Count = 0;
    ULONG_PTR Calls;
    PVOID Big;

    T->Limit = LIMIT;
    while ((Block[Count] = ExpAllocatePoolCore(&T->Pool, 48, TAG_TEST)) != NULL)
        Count++;
    FreeParkingOnePerPage(T, Block, Count, 0, 2); /* some parked */
    HT_ASSERT(Totals(T).LookasideBlocks != 0);
    Calls = T->AllocateCalls;
    HT_ASSERT(ExpAllocatePoolCore(&T->Pool, 2 * PAGE_SIZE, TAG_TEST) == NULL);
    HT_ASSERT(T->AllocateCalls == Calls + 1);
    HT_ASSERT(Totals(T).LookasideBlocks == 0); /* the trim merged them */
    HT_ASSERT(PoolValid(T));

    FreeParkingOnePerPage(T, Block, Count, 1, 2);
    HT_ASSERT(T->InUse == LIMIT);                  /* parked blocks hold the pages */
    Calls = T->AllocateCalls;
    Big = ExpAllocatePoolCore(&T->Pool, (LIMIT - T->Pool.TablePages) * PAGE_SIZE, TAG_TEST);
    HT_ASSERT(Big != NULL);
    HT_ASSERT(T->AllocateCalls == Calls + 2);      /* failed, trimmed, succeeded */
    HT_ASSERT(PoolValid(T));
    ExpFreePoolCore(&T->Pool, Big, TAG_TEST, TRUE);
    HT_ASSERT(TagsIdle(T));
    DeletePool(T);
}

/* Thousands of big blocks: the big page table grows as needed. */
HTEST(big_table_grows)
{
    enum { COUNT = 5000 };
    TEST_POOL *T = NewPool(NonPagedPool, 8192, 0);
    static PVOID Block[COUNT];
    ULONG Index, Other;

    RandomState = 0xB16B16;
    for (Index = 0; Index < COUNT; Index++) {
        Block[Index] = ExpAllocatePoolCore(&T->Pool, PAGE_SIZE, TAG_FILE);
        HT_ASSERT(Block[Index] != NULL);
        *(ULONG *)Block[Index] = Index;
    }
    HT_ASSERT(T->Pool.BigBlocks == COUNT && T->Pool.BigPages == COUNT);
    HT_ASSERT(T->Pool.BigTableSize >= COUNT);
    HT_ASSERT(PoolValid(T));
    for (Index = 0; Index < COUNT; Index++) {
        HT_ASSERT(*(ULONG *)Block[Index] == Index);
        HT_ASSERT(ExpQueryPoolBlockSize(&T->Pool, Block[Index]) == PAGE_SIZE);
    }
    for (Index = COUNT; Index > 0; Index--) {
        Other = (ULONG)(Random() % Index);
        ExpFreePoolCore(&T->Pool, Block[Other], TAG_FILE, TRUE);
        Block[Other] = Block[Index - 1];
    }
    HT_ASSERT(PoolValid(T));
    HT_ASSERT(T->Pool.BigTableUsed == 0);
    HT_ASSERT(OnlyTableLeft(T));
    /* Tombstones are swept by the next rebuild; the table still works. */
    for (Index = 0; Index < COUNT; Index++) {
        Block[Index] = ExpAllocatePoolCore(&T->Pool, 2 * PAGE_SIZE - 1, TAG_FILE);
        HT_ASSERT(Block[Index] != NULL);
        if (Index % 997 == 0)
            HT_ASSERT(PoolValid(T));
        if (Index % 2)
            ExpFreePoolCore(&T->Pool, Block[Index], TAG_FILE, TRUE);
    }
    HT_ASSERT(PoolValid(T));
    for (Index = 0; Index < COUNT; Index += 2)
        ExpFreePoolCore(&T->Pool, Block[Index], TAG_FILE, TRUE);
    HT_ASSERT(PoolValid(T));
    HT_ASSERT(TagsIdle(T));
    DeletePool(T);
}

/* ---- bugchecks: the caller's mistakes ----------------------------------- */

static void DoubleFreeSmall(ULONG Depth)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, Depth);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    PUCHAR B = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    PUCHAR C = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    PUCHAR D, E, F;

    ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE);
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x07, ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE));
    HT_ASSERT(BugcheckParameter[3] == (ULONG_PTR)B);
    HT_ASSERT(BugcheckParameter[2] == ((PPOOL_HEADER)B - 1)->Ulong1);
    /* Detected before anything changed. */
    HT_ASSERT(PoolValid(T));

    /* Freed, then merged into a free neighbour: its old header still
     * gives it away. */
    ExpFreePoolCore(&T->Pool, A, TAG_TEST, TRUE);
    ExpTrimPoolCore(&T->Pool);
    HT_ASSERT(T->Pool.SmallPages == 1);      /* C keeps the page */
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x07, ExpFreePoolCore(&T->Pool, B, 0, FALSE));
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x07, ExpFreePoolCore(&T->Pool, A, TAG_TEST, TRUE));
    HT_ASSERT(PoolValid(T));

    /* Freed after its previous neighbour, so merged into it. */
    D = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    E = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    F = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    ExpFreePoolCore(&T->Pool, D, TAG_TEST, TRUE);
    ExpFreePoolCore(&T->Pool, E, TAG_TEST, TRUE);
    ExpTrimPoolCore(&T->Pool);
    HT_ASSERT(((PPOOL_HEADER)D - 1)->BlockSize >= 10);  /* D and E are one block */
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x07, ExpFreePoolCore(&T->Pool, E, TAG_TEST, TRUE));
    HT_ASSERT(BugcheckParameter[3] == (ULONG_PTR)E);
    HT_ASSERT(PoolValid(T));
    ExpFreePoolCore(&T->Pool, C, TAG_TEST, TRUE);
    ExpFreePoolCore(&T->Pool, F, TAG_TEST, TRUE);
    HT_ASSERT(PoolValid(T));
    DeletePool(T);
}

HTEST(bugcheck_double_free_small)
{
    DoubleFreeSmall(0);
    if (!HtestCurrentFailed)
        DoubleFreeSmall(4);
}

HTEST(bugcheck_double_free_big)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 0);
    PUCHAR P = ExpAllocatePoolCore(&T->Pool, 10000, TAG_FILE);

    ExpFreePoolCore(&T->Pool, P, TAG_FILE, TRUE);
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x07, ExpFreePoolCore(&T->Pool, P, TAG_FILE, TRUE));
    HT_ASSERT(BugcheckParameter[2] == TAG_FILE && BugcheckParameter[3] == (ULONG_PTR)P);
    HT_ASSERT(PoolValid(T));
    DeletePool(T);
}

HTEST(bugcheck_wrong_tag)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 4);
    PUCHAR Small = ExpAllocatePoolCore(&T->Pool, 200, TAG_PROC);
    PUCHAR Big = ExpAllocatePoolCore(&T->Pool, 3 * PAGE_SIZE, TAG_PROC);

    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x0A, ExpFreePoolCore(&T->Pool, Small, TAG_FILE, TRUE));
    HT_ASSERT(BugcheckParameter[1] == (ULONG_PTR)Small);
    HT_ASSERT(BugcheckParameter[2] == TAG_PROC && BugcheckParameter[3] == TAG_FILE);
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x0A, ExpFreePoolCore(&T->Pool, Big, TAG_FILE, TRUE));
    HT_ASSERT(BugcheckParameter[1] == (ULONG_PTR)Big);
    HT_ASSERT(BugcheckParameter[2] == TAG_PROC && BugcheckParameter[3] == TAG_FILE);
    HT_ASSERT(PoolValid(T));
    ExpFreePoolCore(&T->Pool, Small, TAG_PROC, TRUE);
    ExpFreePoolCore(&T->Pool, Big, TAG_PROC, TRUE);
    HT_ASSERT(TagsIdle(T));
    DeletePool(T);
}

HTEST(bugcheck_not_a_pool_address)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 4);
    TEST_POOL *Other = NewPool(PagedPool, 64, 4);
    PVOID Elsewhere = ExpAllocatePoolCore(&Other->Pool, 32, TAG_TEST);
    ULONG OnStack = 0;

    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x42, ExpFreePoolCore(&T->Pool, &OnStack, TAG_TEST, TRUE));
    HT_ASSERT(BugcheckParameter[1] == (ULONG_PTR)&OnStack);
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x42, ExpFreePoolCore(&T->Pool, NULL, 0, FALSE));
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x42, ExpFreePoolCore(&T->Pool, Elsewhere, TAG_TEST, TRUE));
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x42, ExpQueryPoolBlockSize(&T->Pool, Elsewhere));
    HT_ASSERT(ExpIsPoolBlockAddress(&Other->Pool, Elsewhere) &&
              !ExpIsPoolBlockAddress(&T->Pool, Elsewhere));
    /* Unaligned, or just past the range: not a block address. */
    HT_ASSERT(!ExpIsPoolBlockAddress(&Other->Pool, (PUCHAR)Elsewhere + 8));
    HT_ASSERT(!ExpIsPoolBlockAddress(&Other->Pool, (PVOID)Other->Pool.End));
    HT_ASSERT(ExpIsPoolBlockAddress(&Other->Pool, (PVOID)(Other->Pool.End - POOL_BLOCK_SIZE)));
    ExpFreePoolCore(&Other->Pool, Elsewhere, TAG_TEST, TRUE);
    DeletePool(Other);
    DeletePool(T);
}

HTEST(bugcheck_address_inside_a_block)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 4);
    PUCHAR Small = ExpAllocatePoolCore(&T->Pool, 256, TAG_TEST);
    PUCHAR Zeroed = ExpAllocatePoolCore(&T->Pool, 256, TAG_TEST);
    PUCHAR Big = ExpAllocatePoolCore(&T->Pool, 3 * PAGE_SIZE, TAG_TEST);

    memset(Small, 0x5A, 256);
    memset(Zeroed, 0, 256);
    memset(Big, 0, 3 * PAGE_SIZE);
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x46, ExpFreePoolCore(&T->Pool, Small + 32, TAG_TEST, TRUE));
    HT_ASSERT(BugcheckParameter[1] == (ULONG_PTR)(Small + 32));
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x46, ExpFreePoolCore(&T->Pool, Zeroed + 128, TAG_TEST, TRUE));
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x46, ExpFreePoolCore(&T->Pool, Small + 8, TAG_TEST, TRUE));
    /* A page start inside a big block, and a small-block page's start. */
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x46, ExpFreePoolCore(&T->Pool, Big + PAGE_SIZE, TAG_TEST, TRUE));
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x46, ExpFreePoolCore(&T->Pool, Big + PAGE_SIZE + 64, 0, FALSE));
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x46, ExpFreePoolCore(&T->Pool, PAGE_ALIGN(Small), 0, FALSE));
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x46, ExpQueryPoolBlockSize(&T->Pool, Small + 48));
    HT_ASSERT(PoolValid(T));
    ExpFreePoolCore(&T->Pool, Small, TAG_TEST, TRUE);
    ExpFreePoolCore(&T->Pool, Zeroed, TAG_TEST, TRUE);
    ExpFreePoolCore(&T->Pool, Big, TAG_TEST, TRUE);
    HT_ASSERT(PoolValid(T));
    DeletePool(T);
}

/* ---- bugchecks: corruption ---------------------------------------------- */

/* Writing past the end of A changes B's header: freeing A says so. */
HTEST(bugcheck_overrun_into_next_header)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 0);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 100, TAG_TEST);
    PUCHAR B = ExpAllocatePoolCore(&T->Pool, 100, TAG_TEST);
    SIZE_T Usable = ExpQueryPoolBlockSize(&T->Pool, A);

    HT_ASSERT(B == A + Usable + sizeof(POOL_HEADER));
    memset(A, 0x41, Usable + 4);             /* 4 bytes too many */
    EXPECT_BUGCHECK(BAD_POOL_HEADER, 0x20, ExpFreePoolCore(&T->Pool, A, TAG_TEST, TRUE));
    HT_ASSERT(BugcheckParameter[1] == (ULONG_PTR)(A - 16));
    HT_ASSERT(BugcheckParameter[2] == (ULONG_PTR)(B - 16));
    HT_ASSERT(!ExpValidatePool(&T->Pool, NULL));
    DeletePool(T);
}

/* Only B's previous size is wrong: freeing B finds the pair disagreeing. */
HTEST(bugcheck_previous_size_corrupt)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 0);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 100, TAG_TEST);
    PUCHAR B = ExpAllocatePoolCore(&T->Pool, 100, TAG_TEST);

    ((PPOOL_HEADER)B - 1)->PreviousSize = 3;
    EXPECT_BUGCHECK(BAD_POOL_HEADER, 0x05, ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE));
    HT_ASSERT(BugcheckParameter[1] == (ULONG_PTR)(B - 16));
    HT_ASSERT(BugcheckParameter[3] == (ULONG_PTR)(A - 16));
    DeletePool(T);
}

/* A header whose size was zeroed, found while walking to the block freed. */
HTEST(bugcheck_size_zero_and_too_large)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 0);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 100, TAG_TEST);
    PUCHAR B = ExpAllocatePoolCore(&T->Pool, 100, TAG_TEST);

    ((PPOOL_HEADER)B - 1)->BlockSize = 0;
    EXPECT_BUGCHECK(BAD_POOL_HEADER, 0x08, ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE));
    HT_ASSERT(BugcheckParameter[3] == (ULONG_PTR)(B - 16));
    ((PPOOL_HEADER)B - 1)->BlockSize = 300;
    EXPECT_BUGCHECK(BAD_POOL_HEADER, 0x09, ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE));
    HT_ASSERT(BugcheckParameter[3] == (ULONG_PTR)(B - 16));
    UNREFERENCED_PARAMETER(A);
    DeletePool(T);
}

/* A corrupt tag/type byte with sizes intact: the header check catches it. */
HTEST(bugcheck_header_check)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 0);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 100, TAG_TEST);

    ((PPOOL_HEADER)A - 1)->PoolType = PagedPool;
    EXPECT_BUGCHECK(BAD_POOL_HEADER, 0x07, ExpFreePoolCore(&T->Pool, A, TAG_TEST, TRUE));
    HT_ASSERT(BugcheckParameter[3] == (ULONG_PTR)(A - 16));
    DeletePool(T);
}

/* A freed block's list links overwritten (use after free). */
HTEST(bugcheck_corrupt_free_list)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 0);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    PUCHAR X = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    PUCHAR B = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    PUCHAR Y = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);

    memset(X, 0, 64);
    ExpFreePoolCore(&T->Pool, A, TAG_TEST, TRUE);
    ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE);    /* list of 5 units: B, A */
    ((PLIST_ENTRY)B)->Flink = (PLIST_ENTRY)X;         /* plausible, but wrong */
    EXPECT_BUGCHECK(BAD_POOL_HEADER, 0x03, ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST));
    HT_ASSERT(BugcheckParameter[1] == (ULONG_PTR)B);
    HT_ASSERT(BugcheckParameter[2] == 0);                /* X's "Blink" read back */
    HT_ASSERT(BugcheckParameter[3] == (ULONG_PTR)B);
    ((PLIST_ENTRY)B)->Flink = (PLIST_ENTRY)0x1234;   /* not even in the pool */
    EXPECT_BUGCHECK(BAD_POOL_HEADER, 0x03, ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST));
    HT_ASSERT(BugcheckParameter[2] == 0x1234);
    UNREFERENCED_PARAMETER(Y);
    DeletePool(T);
}

/* A parked block written after its free (use after free). Its body is
 * nothing to the allocator (the lookaside lists are arrays in the
 * descriptor, with no link in the block), so only its header matters:
 * overwritten, it is BAD_POOL_HEADER 0x0D when the block would be handed
 * out again or merged. */
HTEST(bugcheck_parked_block_header_overwritten)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 4);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    PUCHAR B = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);

    ExpFreePoolCore(&T->Pool, A, TAG_TEST, TRUE);
    ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE); /* lookaside: B on top of A */
    memset(B, 0xEE, 64); /* the body: harmless */
    HT_ASSERT(PoolValid(T));
    memset(B - 16, 0xEE, 8); /* the header: not */
    EXPECT_BUGCHECK(BAD_POOL_HEADER, 0x0D, ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST));
    HT_ASSERT(BugcheckParameter[1] == (ULONG_PTR)(B - 16));
    EXPECT_BUGCHECK(BAD_POOL_HEADER, 0x0D, ExpTrimPoolCore(&T->Pool));
    DeletePool(T);
}

/* A free block's header overwritten - here by its neighbour overrunning. */
HTEST(bugcheck_free_block_header_modified)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 0);
    PUCHAR X = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    PUCHAR Y = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);

    ExpFreePoolCore(&T->Pool, A, TAG_TEST, TRUE);
    memset(X, 0x42, 64 + 12);                        /* 12 bytes into A's header */
    ((PPOOL_HEADER)A - 1)->PreviousSize = 5;          /* sizes happen to be right */
    ((PPOOL_HEADER)A - 1)->BlockSize = 5;
    EXPECT_BUGCHECK(BAD_POOL_HEADER, 0x0D, ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST));
    HT_ASSERT(BugcheckParameter[1] == (ULONG_PTR)(A - 16));
    UNREFERENCED_PARAMETER(Y);
    DeletePool(T);
}

/* ---- the lookaside fast paths (poolcore.h) ---------------------------- */

/* Everything the fast paths leave behind the slow paths accept, and the
 * counters stay in step: the pair the benchmark measures, on the host. */
HTEST(fast_paths_round_trip)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 4);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    POOL_TAG_INFO Info;
    PUCHAR B;

    HT_ASSERT(ExpFreePoolFast(&T->Pool, NonPagedPool, A, TAG_TEST, TRUE));
    HT_ASSERT(((PPOOL_HEADER)A - 1)->State == POOL_STATE_LOOKASIDE);
    HT_ASSERT(Totals(T).LookasideBlocks == 1 && Totals(T).SmallBytesInUse == 0);
    B = ExpAllocatePoolFast(&T->Pool, 60, TAG_TEST);
    HT_ASSERT(B == A && ((PPOOL_HEADER)B - 1)->State == POOL_STATE_ALLOCATED);
    HT_ASSERT(((PPOOL_HEADER)B - 1)->RequestedBytes == 60);
    HT_ASSERT(Totals(T).LookasideBlocks == 0 && Totals(T).SmallBytesInUse == 5 * POOL_BLOCK_SIZE);
    Info = TagInfo(T, TAG_TEST);
    HT_ASSERT(Info.Allocations == 2 && Info.Frees == 1 && Info.BytesInUse == 5 * POOL_BLOCK_SIZE);
    HT_ASSERT(PoolValid(T));
    /* The locked free takes what the fast allocation handed out. */
    ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE);
    /* And a block parked by the fast free goes to another tag whose home
     * slot holds it, retagged. */
    B = ExpAllocatePoolCore(&T->Pool, 64, TAG_PROC);
    ExpFreePoolCore(&T->Pool, B, TAG_PROC, TRUE);
    B = ExpAllocatePoolFast(&T->Pool, 64, TAG_TEST);
    HT_ASSERT(B != NULL && ((PPOOL_HEADER)B - 1)->PoolTag == TAG_TEST);
    HT_ASSERT(TagInfo(T, TAG_TEST).BytesInUse == 5 * POOL_BLOCK_SIZE);
    HT_ASSERT(PoolValid(T));
    HT_ASSERT(ExpFreePoolFast(&T->Pool, NonPagedPool, B, 0, FALSE));
    ExpTrimPoolCore(&T->Pool);
    HT_ASSERT(TagsIdle(T) && PoolValid(T));
    DeletePool(T);
}

/* The fast paths count in their list, not in the tag table; every reader
 * sees the sum: ExpQueryPoolTotals adds the pending counts in,
 * ExpQueryPoolTags and ExpFoldLookasideCounts move them into the table. */
HTEST(fast_path_counts_fold_into_the_tag_table)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 4);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    PPOOL_TRACKER_ENTRY Tracker = &T->Pool.Tracker[((PPOOL_HEADER)A - 1)->TrackIndex];
    PUCHAR B;

    HT_ASSERT(ExpFreePoolFast(&T->Pool, NonPagedPool, A, TAG_TEST, TRUE));
    B = ExpAllocatePoolFast(&T->Pool, 64, TAG_TEST);
    HT_ASSERT(B == A && ExpFreePoolFast(&T->Pool, NonPagedPool, B, TAG_TEST, TRUE));
    /* Two frees and one allocation are still the list's. */
    HT_ASSERT(Tracker->Allocations == 1 && Tracker->Frees == 0);
    HT_ASSERT(Tracker->BytesInUse == 5 * POOL_BLOCK_SIZE);
    HT_ASSERT(T->Pool.Lookaside[5].PendingAllocations == 1);
    HT_ASSERT(T->Pool.Lookaside[5].PendingFrees == 2);
    HT_ASSERT(Totals(T).Allocations == 2 && Totals(T).Frees == 2);
    HT_ASSERT(Totals(T).SmallBytesInUse == 0);
    HT_ASSERT(!ExpValidatePool(&T->Pool, NULL)); /* the table alone is behind */
    ExpFoldLookasideCounts(&T->Pool);
    HT_ASSERT(Tracker->Allocations == 2 && Tracker->Frees == 2 && Tracker->BytesInUse == 0);
    HT_ASSERT(T->Pool.Lookaside[5].PendingAllocations == 0);
    HT_ASSERT(T->Pool.Lookaside[5].PendingFrees == 0);
    HT_ASSERT(ExpValidatePool(&T->Pool, NULL));
    /* And the query folds by itself. */
    B = ExpAllocatePoolFast(&T->Pool, 64, TAG_TEST);
    HT_ASSERT(TagInfo(T, TAG_TEST).Allocations == 3 && Tracker->Allocations == 3);
    ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE);
    HT_ASSERT(PoolValid(T));
    DeletePool(T);
}

/* Each thing the fast free must not accept: it says no and changes
 * nothing, and the locked free then bugchecks with the same code as
 * without a fast path. */
HTEST(fast_free_declines_what_the_slow_path_bugchecks)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 4);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 100, TAG_TEST);
    PUCHAR B = ExpAllocatePoolCore(&T->Pool, 100, TAG_TEST);
    PUCHAR Big = ExpAllocatePoolCore(&T->Pool, 2 * PAGE_SIZE, TAG_TEST);
    SIZE_T Usable = ExpQueryPoolBlockSize(&T->Pool, A);
    POOL_HEADER Saved = *((PPOOL_HEADER)B - 1);

    /* Wrong tag. */
    HT_ASSERT(!ExpFreePoolFast(&T->Pool, NonPagedPool, A, TAG_FILE, TRUE));
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x0A, ExpFreePoolCore(&T->Pool, A, TAG_FILE, TRUE));
    /* A header of another pool's type (the check value leaves the type
     * out), whether or not the list's batch slot is A's. */
    ((PPOOL_HEADER)A - 1)->PoolType = PagedPool;
    HT_ASSERT(!ExpFreePoolFast(&T->Pool, NonPagedPool, A, TAG_TEST, TRUE));
    HT_ASSERT(ExpFreePoolFast(&T->Pool, NonPagedPool, B, TAG_TEST, TRUE)); /* batch: A's slot */
    HT_ASSERT(ExpAllocatePoolFast(&T->Pool, 100, TAG_TEST) == B);
    HT_ASSERT(!ExpFreePoolFast(&T->Pool, NonPagedPool, A, TAG_TEST, TRUE));
    ((PPOOL_HEADER)A - 1)->PoolType = NonPagedPool;
    /* A big block. */
    HT_ASSERT(!ExpFreePoolFast(&T->Pool, NonPagedPool, Big, TAG_TEST, TRUE));
    /* Double free: the first parks it, the second is refused. */
    HT_ASSERT(ExpFreePoolFast(&T->Pool, NonPagedPool, A, TAG_TEST, TRUE));
    HT_ASSERT(!ExpFreePoolFast(&T->Pool, NonPagedPool, A, TAG_TEST, TRUE));
    HT_ASSERT(Totals(T).LookasideBlocks == 1);
    EXPECT_BUGCHECK(BAD_POOL_CALLER, 0x07, ExpFreePoolCore(&T->Pool, A, TAG_TEST, TRUE));
    /* A pointer inside a block: the header check fails. */
    HT_ASSERT(!ExpFreePoolFast(&T->Pool, NonPagedPool, B + 32, TAG_TEST, TRUE));
    /* B overruns into the header after it. */
    memset(B, 0x41, Usable + 4);
    HT_ASSERT(!ExpFreePoolFast(&T->Pool, NonPagedPool, B, TAG_TEST, TRUE));
    HT_ASSERT(memcmp((PPOOL_HEADER)B - 1, &Saved, sizeof(Saved)) == 0);
    EXPECT_BUGCHECK(BAD_POOL_HEADER, 0x20, ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE));
    DeletePool(T);
}

/* A full lookaside list, or one turned off: the fast free says no and the
 * locked free merges the block instead. */
HTEST(fast_free_respects_the_depth)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 1);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    PUCHAR B = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    PUCHAR L = ExpAllocatePoolCore(&T->Pool, 600, TAG_TEST); /* 39 units: no list */

    HT_ASSERT(ExpFreePoolFast(&T->Pool, NonPagedPool, A, TAG_TEST, TRUE));
    HT_ASSERT(!ExpFreePoolFast(&T->Pool, NonPagedPool, B, TAG_TEST, TRUE));
    HT_ASSERT(!ExpFreePoolFast(&T->Pool, NonPagedPool, L, TAG_TEST, TRUE));
    HT_ASSERT(Totals(T).LookasideBlocks == 1);
    ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE);
    ExpFreePoolCore(&T->Pool, L, TAG_TEST, TRUE);
    HT_ASSERT(PoolValid(T));
    ExpSetLookasideDepth(&T->Pool, 0);
    B = ExpAllocatePoolCore(&T->Pool, 100, TAG_TEST);
    HT_ASSERT(!ExpFreePoolFast(&T->Pool, NonPagedPool, B, TAG_TEST, TRUE));
    ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE);
    HT_ASSERT(PoolValid(T));
    DeletePool(T);
}

/* What the fast allocation must not hand out: it returns NULL, changes
 * nothing, and the locked allocation decides (and bugchecks when the
 * parked block was damaged). */
HTEST(fast_allocation_declines)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 4);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    PUCHAR B = ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST);
    POOL_HEADER Saved;
    ULONG Other = TAG_FILE;

    HT_ASSERT(ExpAllocatePoolFast(&T->Pool, 64, TAG_TEST) == NULL); /* nothing parked */
    HT_ASSERT(ExpAllocatePoolFast(&T->Pool, 0, TAG_TEST) == NULL); /* 0 bytes: slow path */
    ExpFreePoolCore(&T->Pool, A, TAG_TEST, TRUE);
    ExpFreePoolCore(&T->Pool, B, TAG_TEST, TRUE); /* lookaside: B, A */
    /* A tag whose home slot another tag holds: the slow path probes. */
    while (T->Pool.Tracker[ExpTrackerHomeSlot(Other)].Tag == Other ||
           T->Pool.Tracker[ExpTrackerHomeSlot(Other)].Allocations == 0)
        Other++;
    HT_ASSERT(ExpAllocatePoolFast(&T->Pool, 64, Other) == NULL);
    HT_ASSERT(Totals(T).LookasideBlocks == 2 && PoolValid(T));
    /* The lists are arrays in the descriptor: the top of the list is B,
     * and nothing in a parked block's body is read. */
    HT_ASSERT(T->Pool.Lookaside[5].Depth == 2 && T->Pool.Lookaside[5].Slots[2] == B);
    HT_ASSERT(T->Pool.Lookaside[5].Slots[0] == &ExpNoParkedBlock[1]);
    /* A bad slot (the descriptor itself damaged): the flush says so. */
    T->Pool.Lookaside[5].Slots[2] = (PVOID)0xDEAD0;
    EXPECT_BUGCHECK(BAD_POOL_HEADER, 0x03, ExpTrimPoolCore(&T->Pool));
    T->Pool.Lookaside[5].Slots[2] = B; /* repaired */
    /* The top block's header changed while it was parked. */
    Saved = *((PPOOL_HEADER)B - 1);
    ((PPOOL_HEADER)B - 1)->State = POOL_STATE_ALLOCATED;
    HT_ASSERT(ExpAllocatePoolFast(&T->Pool, 64, TAG_TEST) == NULL);
    HT_ASSERT(((PPOOL_HEADER)B - 1)->PoolTag == Saved.PoolTag);
    EXPECT_BUGCHECK(BAD_POOL_HEADER, 0x0D, ExpAllocatePoolCore(&T->Pool, 64, TAG_TEST));
    DeletePool(T);
}

HTEST(validate_reports_corruption)
{
    TEST_POOL *T = NewPool(NonPagedPool, 64, 0);
    PUCHAR A = ExpAllocatePoolCore(&T->Pool, 100, TAG_TEST);
    PCSTR Problem = NULL;

    HT_ASSERT(ExpValidatePool(&T->Pool, &Problem) && Problem == NULL);
    ((PPOOL_HEADER)A - 1)->BlockSize = 7;
    HT_ASSERT(!ExpValidatePool(&T->Pool, &Problem) && Problem != NULL);
    ((PPOOL_HEADER)A - 1)->BlockSize = 8;
    HT_ASSERT(ExpValidatePool(&T->Pool, NULL));
    T->Pool.Tracker[((PPOOL_HEADER)A - 1)->TrackIndex].BytesInUse++;
    HT_ASSERT(!ExpValidatePool(&T->Pool, &Problem) && Problem != NULL);
    T->Pool.Tracker[((PPOOL_HEADER)A - 1)->TrackIndex].BytesInUse--;
    T->Pool.Tracker[((PPOOL_HEADER)A - 1)->TrackIndex].Frees++;
    HT_ASSERT(!ExpValidatePool(&T->Pool, &Problem) && Problem != NULL);
    T->Pool.Tracker[((PPOOL_HEADER)A - 1)->TrackIndex].Frees--;
    T->Pool.Lookaside[5].Depth++;
    HT_ASSERT(!ExpValidatePool(&T->Pool, &Problem) && Problem != NULL);
    T->Pool.Lookaside[5].Depth--;
    T->Pool.FreeListBitmap[0] |= 1ULL << 9;
    HT_ASSERT(!ExpValidatePool(&T->Pool, &Problem) && Problem != NULL);
    DeletePool(T);
}

HTEST_MAIN()
