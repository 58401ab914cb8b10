/*
 * test_vadtree.c - host unit tests for mm/vadtree.c, the AVL tree behind
 * the VADs: basic insert, lookup and remove; every shape of overlap;
 * in-order walks; the aligned gap search, bottom-up and top-down; a long
 * randomized run checked after every step against a page-by-page model; and
 * the height bound under ascending and descending inserts.
 *
 * Build and run (see tests/host/htest.h):
 *   gcc -std=c11 -DPAGODA_HOST -g -O1 -fsanitize=address,undefined -Wall
 *       -Wextra -Werror -I. -Iinclude tests/host/test_vadtree.c mm/vadtree.c
 *       -o build/host/test_vadtree && build/host/test_vadtree
 */
#include <stdint.h>

#include "htest.h"
#include "../../mm/vadtree.h"

#define MAX_VPN ((ULONG_PTR)~(ULONG_PTR)0)

/* ---- helpers ---------------------------------------------------------- */

static PMMADDRESS_NODE SetRange(PMMADDRESS_NODE Node, ULONG_PTR Start, ULONG_PTR End)
{
    memset(Node, 0xA5, sizeof(*Node));  /* garbage links: insert must set them */
    Node->StartingVpn = Start;
    Node->EndingVpn = End;
    return Node;
}

static NTSTATUS InsertRange(PMM_AVL_TABLE Table, PMMADDRESS_NODE Node,
                            ULONG_PTR Start, ULONG_PTR End)
{
    return MiInsertNode(Table, SetRange(Node, Start, End));
}

/* Height in nodes: empty tree 0, a single node 1. */
static int TreeHeight(PMMADDRESS_NODE Node)
{
    int Left, Right;

    if (Node == NULL) {
        return 0;
    }
    Left = TreeHeight(Node->LeftChild);
    Right = TreeHeight(Node->RightChild);
    return 1 + (Left > Right ? Left : Right);
}

/* log2 without libm: integer part by halving, fraction by squaring. */
static double Log2(double X)
{
    double Result = 0, Bit = 1;
    int i;

    while (X >= 2) {
        X /= 2;
        Result += 1;
    }
    while (X < 1) {
        X *= 2;
        Result -= 1;
    }
    for (i = 0; i < 40; i++) {
        X *= X;
        Bit /= 2;
        if (X >= 2) {
            X /= 2;
            Result += Bit;
        }
    }
    return Result;
}

/*
 * The AVL height bounds for n nodes: h <= 1.44 log2(n + 2), and the exact
 * one, n >= Fib(h + 2) - 1 (the sparsest AVL tree of height h).
 */
static int HeightWithinAvlBound(int Height, unsigned long Count)
{
    unsigned long long A = 0, B = 1, T;     /* Fib(0), Fib(1) */
    int i;

    if (Height > 1.44 * Log2((double)Count + 2)) {
        printf("  height %d > 1.44 log2(%lu + 2)\n", Height, Count);
        return 0;
    }
    for (i = 0; i < Height + 2; i++) {      /* A becomes Fib(Height + 2) */
        T = A + B;
        A = B;
        B = T;
    }
    if (Count < A - 1) {
        printf("  height %d needs at least %llu nodes, have %lu\n", Height, A - 1, Count);
        return 0;
    }
    return 1;
}

/* Snapshot of every link, to prove a failed insert changed nothing. */
typedef struct SNAPSHOT {
    PMMADDRESS_NODE Root;
    ULONG Count;
    MMADDRESS_NODE Nodes[16];
} SNAPSHOT;

static void TakeSnapshot(SNAPSHOT *Snap, PMM_AVL_TABLE Table, PMMADDRESS_NODE Nodes, int N)
{
    memset(Snap, 0, sizeof(*Snap));
    Snap->Root = Table->Root;
    Snap->Count = Table->NumberGenericTableElements;
    memcpy(Snap->Nodes, Nodes, (size_t)N * sizeof(MMADDRESS_NODE));
}

static int SameSnapshot(const SNAPSHOT *A, const SNAPSHOT *B)
{
    return memcmp(A, B, sizeof(*A)) == 0;
}

/* ---- basics ------------------------------------------------------------ */

HTEST(empty_table)
{
    MM_AVL_TABLE Table;
    ULONG_PTR Base = 0;

    MiInitializeAvlTable(&Table);
    HT_ASSERT(Table.Root == NULL && Table.NumberGenericTableElements == 0);
    HT_ASSERT(MiVerifyAvlTable(&Table));
    HT_ASSERT(MiFirstNode(&Table) == NULL);
    HT_ASSERT(MiLastNode(&Table) == NULL);
    HT_ASSERT(MiLocateAddress(&Table, 0) == NULL);
    HT_ASSERT(MiLocateAddress(&Table, MAX_VPN) == NULL);
    HT_ASSERT(MiFindConflict(&Table, 0, MAX_VPN) == NULL);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 16, 16, 0x10, 0x7FFFFFFEF, FALSE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x10);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 16, 16, 0x10, 0x7FFFFFFEF, TRUE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x7FFFFFFE0);
}

HTEST(insert_find_remove_basic)
{
    MM_AVL_TABLE Table;
    MMADDRESS_NODE N[5], Stray;
    static const ULONG_PTR Ranges[5][2] = {
        { 0x100, 0x1FF }, { 0x10, 0x10 }, { 0x400, 0x40F }, { 0x200, 0x2FF }, { 0x11, 0x1F },
    };
    int i;

    MiInitializeAvlTable(&Table);
    for (i = 0; i < 5; i++) {
        HT_ASSERT(InsertRange(&Table, &N[i], Ranges[i][0], Ranges[i][1]) == STATUS_SUCCESS);
        HT_ASSERT(MiVerifyAvlTable(&Table));
        HT_ASSERT(Table.NumberGenericTableElements == (ULONG)i + 1);
    }

    for (i = 0; i < 5; i++) {
        ULONG_PTR Mid = Ranges[i][0] + (Ranges[i][1] - Ranges[i][0]) / 2;
        HT_ASSERT(MiLocateAddress(&Table, Ranges[i][0]) == &N[i]);
        HT_ASSERT(MiLocateAddress(&Table, Ranges[i][1]) == &N[i]);
        HT_ASSERT(MiLocateAddress(&Table, Mid) == &N[i]);
    }
    HT_ASSERT(MiLocateAddress(&Table, 0) == NULL);
    HT_ASSERT(MiLocateAddress(&Table, 0xF) == NULL);
    HT_ASSERT(MiLocateAddress(&Table, 0x20) == NULL);
    HT_ASSERT(MiLocateAddress(&Table, 0x300) == NULL);
    HT_ASSERT(MiLocateAddress(&Table, 0x410) == NULL);
    HT_ASSERT(MiLocateAddress(&Table, MAX_VPN) == NULL);

    /* An inverted range is a caller bug, refused without change. */
    HT_ASSERT(InsertRange(&Table, &Stray, 0x900, 0x8FF) == STATUS_INVALID_PARAMETER);
    HT_ASSERT(Table.NumberGenericTableElements == 5 && MiVerifyAvlTable(&Table));

    /* Remove an inner node, a leaf, then whatever is the root. */
    HT_ASSERT(MiRemoveNode(&Table, &N[0]) == STATUS_SUCCESS);
    HT_ASSERT(N[0].Parent == NULL && N[0].LeftChild == NULL && N[0].RightChild == NULL);
    HT_ASSERT(MiVerifyAvlTable(&Table) && Table.NumberGenericTableElements == 4);
    HT_ASSERT(MiLocateAddress(&Table, 0x150) == NULL);
    HT_ASSERT(MiLocateAddress(&Table, 0x250) == &N[3]);

    HT_ASSERT(MiRemoveNode(&Table, &N[2]) == STATUS_SUCCESS);
    HT_ASSERT(MiVerifyAvlTable(&Table) && Table.NumberGenericTableElements == 3);
    HT_ASSERT(MiRemoveNode(&Table, Table.Root) == STATUS_SUCCESS);
    HT_ASSERT(MiVerifyAvlTable(&Table) && Table.NumberGenericTableElements == 2);

    /* Removing twice, or a node never inserted, is refused. */
    HT_ASSERT(MiRemoveNode(&Table, &N[0]) == STATUS_NOT_FOUND);
    SetRange(&Stray, 0x10, 0x10);       /* same range as N[1], other node */
    HT_ASSERT(MiRemoveNode(&Table, &Stray) == STATUS_NOT_FOUND);
    HT_ASSERT(MiRemoveNode(&Table, NULL) == STATUS_NOT_FOUND);
    HT_ASSERT(MiVerifyAvlTable(&Table) && Table.NumberGenericTableElements == 2);

    while (Table.Root != NULL) {
        HT_ASSERT(MiRemoveNode(&Table, Table.Root) == STATUS_SUCCESS);
        HT_ASSERT(MiVerifyAvlTable(&Table));
    }
    HT_ASSERT(Table.NumberGenericTableElements == 0);

    /* A removed node may be inserted again. */
    HT_ASSERT(InsertRange(&Table, &N[0], 0x100, 0x1FF) == STATUS_SUCCESS);
    HT_ASSERT(MiLocateAddress(&Table, 0x1FF) == &N[0] && MiVerifyAvlTable(&Table));
}

HTEST(extreme_vpns)
{
    MM_AVL_TABLE Table;
    MMADDRESS_NODE N[3];

    MiInitializeAvlTable(&Table);
    HT_ASSERT(InsertRange(&Table, &N[0], 0, 0) == STATUS_SUCCESS);
    HT_ASSERT(InsertRange(&Table, &N[1], MAX_VPN, MAX_VPN) == STATUS_SUCCESS);
    HT_ASSERT(InsertRange(&Table, &N[2], 1, MAX_VPN - 1) == STATUS_SUCCESS);
    HT_ASSERT(MiVerifyAvlTable(&Table));
    HT_ASSERT(MiLocateAddress(&Table, 0) == &N[0]);
    HT_ASSERT(MiLocateAddress(&Table, MAX_VPN) == &N[1]);
    HT_ASSERT(MiLocateAddress(&Table, MAX_VPN / 2) == &N[2]);
    HT_ASSERT(MiFindConflict(&Table, 0, MAX_VPN) == &N[0]);
    HT_ASSERT(MiFindConflict(&Table, MAX_VPN, MAX_VPN) == &N[1]);
    HT_ASSERT(InsertRange(&Table, &N[0], 0, MAX_VPN) == STATUS_CONFLICTING_ADDRESSES);
}

/* ---- overlaps ---------------------------------------------------------- */

HTEST(overlap_rejection)
{
    MM_AVL_TABLE Table;
    MMADDRESS_NODE N[16];
    SNAPSHOT Before, After;
    static const struct {
        const char *Shape;
        ULONG_PTR Start, End;
        int Lowest;                 /* index of the lowest node it overlaps */
    } Cases[] = {
        { "inside",          120, 130, 1 },
        { "covering",         90, 210, 1 },
        { "left edge",        90, 100, 1 },
        { "right edge",      199, 205, 1 },
        { "identical",       100, 199, 1 },
        { "first page",      100, 100, 1 },
        { "last page",       199, 199, 1 },
        { "covers two",       55, 305, 0 },
        { "covers all",        0, 1000, 0 },
        { "bridges a gap",   199, 300, 1 },
    };
    size_t i;

    /* Nodes: [50,59] [100,199] [300,309], and free pages in between. */
    MiInitializeAvlTable(&Table);
    HT_ASSERT(InsertRange(&Table, &N[0], 50, 59) == STATUS_SUCCESS);
    HT_ASSERT(InsertRange(&Table, &N[1], 100, 199) == STATUS_SUCCESS);
    HT_ASSERT(InsertRange(&Table, &N[2], 300, 309) == STATUS_SUCCESS);

    for (i = 0; i < ARRAYSIZE(Cases); i++) {
        TakeSnapshot(&Before, &Table, N, 3);
        SetRange(&N[3], Cases[i].Start, Cases[i].End);
        if (MiInsertNode(&Table, &N[3]) != STATUS_CONFLICTING_ADDRESSES) {
            printf("  shape '%s' was accepted\n", Cases[i].Shape);
            HT_ASSERT(!"overlap accepted");
        }
        TakeSnapshot(&After, &Table, N, 3);
        HT_ASSERT(SameSnapshot(&Before, &After));
        HT_ASSERT(MiVerifyAvlTable(&Table));
        HT_ASSERT(MiFindConflict(&Table, Cases[i].Start, Cases[i].End) == &N[Cases[i].Lowest]);
    }

    /* Touching ranges do not overlap. */
    HT_ASSERT(MiFindConflict(&Table, 60, 99) == NULL);
    HT_ASSERT(MiFindConflict(&Table, 200, 299) == NULL);
    HT_ASSERT(MiFindConflict(&Table, 310, MAX_VPN) == NULL);
    HT_ASSERT(MiFindConflict(&Table, 0, 49) == NULL);
    HT_ASSERT(MiFindConflict(&Table, 130, 120) == NULL);       /* empty range */
    HT_ASSERT(InsertRange(&Table, &N[4], 99, 99) == STATUS_SUCCESS);
    HT_ASSERT(InsertRange(&Table, &N[5], 200, 200) == STATUS_SUCCESS);
    HT_ASSERT(InsertRange(&Table, &N[6], 60, 98) == STATUS_SUCCESS);
    HT_ASSERT(InsertRange(&Table, &N[7], 201, 299) == STATUS_SUCCESS);
    HT_ASSERT(MiVerifyAvlTable(&Table) && Table.NumberGenericTableElements == 7);
    HT_ASSERT(MiFindConflict(&Table, 59, 60) == &N[0]);
    HT_ASSERT(MiFindConflict(&Table, 0, MAX_VPN) == &N[0]);
}

/* ---- walks ------------------------------------------------------------- */

HTEST(inorder_walk)
{
    MM_AVL_TABLE Table;
    static MMADDRESS_NODE N[200];
    PMMADDRESS_NODE Node;
    int i, k;

    /* Insert in a scrambled order: 73 is coprime with 200. */
    MiInitializeAvlTable(&Table);
    for (i = 0; i < 200; i++) {
        k = (i * 73) % 200;
        HT_ASSERT(InsertRange(&Table, &N[k], 10 * (ULONG_PTR)k + 5, 10 * (ULONG_PTR)k + 9) == STATUS_SUCCESS);
    }
    HT_ASSERT(MiVerifyAvlTable(&Table));

    for (i = 0, Node = MiFirstNode(&Table); Node != NULL; Node = MiNextNode(Node), i++) {
        HT_ASSERT(i < 200 && Node == &N[i]);
    }
    HT_ASSERT(i == 200);
    for (i = 199, Node = MiLastNode(&Table); Node != NULL; Node = MiPreviousNode(Node), i--) {
        HT_ASSERT(i >= 0 && Node == &N[i]);
    }
    HT_ASSERT(i == -1);
    HT_ASSERT(MiNextNode(&N[199]) == NULL && MiPreviousNode(&N[0]) == NULL);
}

/* ---- gap search -------------------------------------------------------- */

HTEST(gap_search_bottom_up)
{
    MM_AVL_TABLE Table;
    MMADDRESS_NODE N[4];
    ULONG_PTR Base = 0;

    /* Pages: [0x10,0x1F] [0x25,0x30] [0x40,0x4F] in use. */
    MiInitializeAvlTable(&Table);
    HT_ASSERT(InsertRange(&Table, &N[0], 0x10, 0x1F) == STATUS_SUCCESS);
    HT_ASSERT(InsertRange(&Table, &N[1], 0x25, 0x30) == STATUS_SUCCESS);
    HT_ASSERT(InsertRange(&Table, &N[2], 0x40, 0x4F) == STATUS_SUCCESS);

    /* 64 KiB = 16 pages, 64 KiB aligned: 0x20 and 0x30 collide, 0x40 is
     * taken, 0x50 is the first fit. */
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 16, 16, 0x10, 0xFFF, FALSE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x50);
    /* Unaligned, 5 pages fit exactly in [0x20,0x24]; 6 do not. */
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 5, 1, 0x10, 0xFFF, FALSE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x20);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 6, 1, 0x10, 0xFFF, FALSE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x31);
    /* Alignment 4: 0x20 (fits 4 pages), not 0x21. */
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 4, 4, 0x11, 0xFFF, FALSE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x20);
    /* A low bound in the middle of a node, and below everything. */
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 1, 1, 0x28, 0xFFF, FALSE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x31);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 16, 16, 0, 0xFFF, FALSE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0);
    /* The high bound: [0x31,0x3F] is the only hole of 15 below 0x4F. */
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 15, 1, 0x10, 0x4F, FALSE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x31);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 16, 1, 0x10, 0x4F, FALSE, &Base) == STATUS_NO_MEMORY);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 16, 16, 0x10, 0x5E, FALSE, &Base) == STATUS_NO_MEMORY);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 16, 16, 0x10, 0x5F, FALSE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x50);
    /* Windows that are empty or too small. */
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 1, 1, 0x60, 0x5F, FALSE, &Base) == STATUS_NO_MEMORY);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 3, 1, 0x60, 0x61, FALSE, &Base) == STATUS_NO_MEMORY);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 1, 1, 0x40, 0x4F, FALSE, &Base) == STATUS_NO_MEMORY);
    /* Caller bugs. */
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 0, 1, 0, 0xFFF, FALSE, &Base) == STATUS_INVALID_PARAMETER);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 1, 0, 0, 0xFFF, FALSE, &Base) == STATUS_INVALID_PARAMETER);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 1, 3, 0, 0xFFF, FALSE, &Base) == STATUS_INVALID_PARAMETER);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 1, 3, 0, 0xFFF, TRUE, &Base) == STATUS_INVALID_PARAMETER);
    HT_ASSERT(MiVerifyAvlTable(&Table) && Table.NumberGenericTableElements == 3);
}

HTEST(gap_search_top_down)
{
    MM_AVL_TABLE Table;
    MMADDRESS_NODE N[4];
    ULONG_PTR Base = 0;

    MiInitializeAvlTable(&Table);
    HT_ASSERT(InsertRange(&Table, &N[0], 0x10, 0x1F) == STATUS_SUCCESS);
    HT_ASSERT(InsertRange(&Table, &N[1], 0x25, 0x30) == STATUS_SUCCESS);
    HT_ASSERT(InsertRange(&Table, &N[2], 0x40, 0x4F) == STATUS_SUCCESS);

    /* Like MEM_TOP_DOWN: the highest 64 KiB-aligned base that fits. */
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 16, 16, 0x10, 0x7F, TRUE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x70);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 16, 16, 0x10, 0x7E, TRUE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x60);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 1, 1, 0x10, 0x4F, TRUE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x3F);
    /* Nothing aligned to 16 fits below 0x4F: 0x30, 0x20, 0x10 all collide. */
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 16, 16, 0x10, 0x4F, TRUE, &Base) == STATUS_NO_MEMORY);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 16, 16, 0x0, 0x4F, TRUE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 15, 1, 0x10, 0x4F, TRUE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x31);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 5, 1, 0x10, 0x3F, TRUE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x3B);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 5, 1, 0x10, 0x34, TRUE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x20);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 4, 4, 0x10, 0x3E, TRUE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 0x38);
    /* The low bound cuts off the only fit. */
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 5, 1, 0x21, 0x34, TRUE, &Base) == STATUS_NO_MEMORY);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 1, 1, 0x10, 0x1F, TRUE, &Base) == STATUS_NO_MEMORY);
    HT_ASSERT(MiVerifyAvlTable(&Table) && Table.NumberGenericTableElements == 3);
}

HTEST(gap_search_no_wraparound)
{
    MM_AVL_TABLE Table;
    MMADDRESS_NODE N[2];
    ULONG_PTR Base = 0;

    MiInitializeAvlTable(&Table);
    HT_ASSERT(InsertRange(&Table, &N[0], 0, 5) == STATUS_SUCCESS);
    HT_ASSERT(InsertRange(&Table, &N[1], MAX_VPN - 5, MAX_VPN) == STATUS_SUCCESS);

    /* Near the top: a node that ends at the last VPN must not let the
     * next candidate wrap around to 0. */
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 5, 1, MAX_VPN - 10, MAX_VPN, FALSE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == MAX_VPN - 10);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 6, 1, MAX_VPN - 10, MAX_VPN, FALSE, &Base) == STATUS_NO_MEMORY);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 1, 16, MAX_VPN - 3, MAX_VPN, FALSE, &Base) == STATUS_NO_MEMORY);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 1, 16, MAX_VPN - 16, MAX_VPN, FALSE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == MAX_VPN - 15);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 6, 1, MAX_VPN - 11, MAX_VPN, TRUE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == MAX_VPN - 11);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, MAX_VPN, 1, 0, MAX_VPN, FALSE, &Base) == STATUS_NO_MEMORY);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, MAX_VPN, 1, 0, MAX_VPN, TRUE, &Base) == STATUS_NO_MEMORY);

    /* Near the bottom: a node that starts at 0 must not let the candidate
     * go below 0. */
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 6, 1, 0, 11, TRUE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 6);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 7, 1, 0, 11, TRUE, &Base) == STATUS_NO_MEMORY);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 7, 1, 0, 11, FALSE, &Base) == STATUS_NO_MEMORY);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, 6, 1, 0, 11, FALSE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 6);

    /* Everything free but the two ends: the biggest gap is all the rest. */
    HT_ASSERT(MiFindEmptyAddressRange(&Table, MAX_VPN - 11, 1, 0, MAX_VPN, TRUE, &Base) == STATUS_SUCCESS);
    HT_ASSERT(Base == 6);
    HT_ASSERT(MiFindEmptyAddressRange(&Table, MAX_VPN - 10, 1, 0, MAX_VPN, FALSE, &Base) == STATUS_NO_MEMORY);
}

/* ---- randomized run against a model ------------------------------------ */

/*
 * The model is one owner per page of a small universe: Owner[v] is 1 + the
 * index of the node holding page v, or 0. Every question the tree answers
 * can be answered by scanning it.
 */
#define UNIVERSE    2048
#define POOL        160
#define OPERATIONS  12000

static MMADDRESS_NODE Pool[POOL];
static int InTree[POOL];
static int Owner[UNIVERSE];
static int Occupied[UNIVERSE + 1];      /* prefix sums of used pages */
static int ModelCount;
static uint64_t RngState;

static uint64_t Rng(void)
{
    /* xorshift64*: small, fixed sequence for a fixed seed. */
    RngState ^= RngState >> 12;
    RngState ^= RngState << 25;
    RngState ^= RngState >> 27;
    return RngState * 0x2545F4914F6CDD1DULL;
}

static long RngBelow(long N)
{
    return (long)(Rng() % (uint64_t)N);
}

static PMMADDRESS_NODE ModelOwner(long Vpn)
{
    if (Vpn < 0 || Vpn >= UNIVERSE || Owner[Vpn] == 0) {
        return NULL;
    }
    return &Pool[Owner[Vpn] - 1];
}

static PMMADDRESS_NODE ModelLowestConflict(long Start, long End)
{
    long v;

    for (v = Start; v <= End && v < UNIVERSE; v++) {
        if (Owner[v] != 0) {
            return &Pool[Owner[v] - 1];
        }
    }
    return NULL;
}

static void ModelPrefixSums(void)
{
    int v;

    Occupied[0] = 0;
    for (v = 0; v < UNIVERSE; v++) {
        Occupied[v + 1] = Occupied[v] + (Owner[v] != 0);
    }
}

/* Brute force over every aligned base; -1 when nothing fits. */
static long ModelFindGap(long Size, long Align, long Low, long High, int TopDown)
{
    long Base;

    if (Low > High || Size > High - Low + 1) {
        return -1;
    }
    if (TopDown) {
        for (Base = (High - Size + 1) / Align * Align; Base >= Low; Base -= Align) {
            if (Occupied[Base + Size] == Occupied[Base]) {
                return Base;
            }
        }
    } else {
        for (Base = (Low + Align - 1) / Align * Align; Base + Size - 1 <= High; Base += Align) {
            if (Occupied[Base + Size] == Occupied[Base]) {
                return Base;
            }
        }
    }
    return -1;
}

/* Everything the tree says must agree with the model. */
static int TreeMatchesModel(PMM_AVL_TABLE Table, int Step)
{
    PMMADDRESS_NODE Node, Prev;
    long v, Start;
    int i, Seen;

    if (!MiVerifyAvlTable(Table)) {
        printf("  step %d: MiVerifyAvlTable failed\n", Step);
        return 0;
    }
    if ((int)Table->NumberGenericTableElements != ModelCount) {
        printf("  step %d: count %u, model %d\n", Step, Table->NumberGenericTableElements, ModelCount);
        return 0;
    }

    /* The in-order walk visits exactly the model's ranges, in order. */
    Node = MiFirstNode(Table);
    Seen = 0;
    for (v = 0; v < UNIVERSE; v++) {
        if (Owner[v] == 0 || (v > 0 && Owner[v - 1] == Owner[v])) {
            continue;
        }
        Start = v;
        while (v + 1 < UNIVERSE && Owner[v + 1] == Owner[Start]) {
            v++;
        }
        if (Node != &Pool[Owner[Start] - 1] || Node->StartingVpn != (ULONG_PTR)Start ||
            Node->EndingVpn != (ULONG_PTR)v) {
            printf("  step %d: walk differs at [%ld,%ld]\n", Step, Start, v);
            return 0;
        }
        Seen++;
        Node = MiNextNode(Node);
    }
    if (Node != NULL || Seen != ModelCount) {
        printf("  step %d: walk has extra nodes\n", Step);
        return 0;
    }

    /* Backwards too, now and then (it is O(n) per step). */
    if (Step % 16 == 0) {
        Seen = 0;
        Prev = NULL;
        for (Node = MiLastNode(Table); Node != NULL; Node = MiPreviousNode(Node)) {
            if (Prev != NULL && MiNextNode(Node) != Prev) {
                printf("  step %d: backward walk differs\n", Step);
                return 0;
            }
            Prev = Node;
            Seen++;
        }
        if (Seen != ModelCount || Prev != MiFirstNode(Table)) {
            printf("  step %d: backward walk has %d nodes\n", Step, Seen);
            return 0;
        }
    }

    /* Point lookups, including pages beyond the model's universe. */
    for (i = 0; i < 24; i++) {
        v = RngBelow(UNIVERSE + 64);
        if (MiLocateAddress(Table, (ULONG_PTR)v) != ModelOwner(v)) {
            printf("  step %d: MiLocateAddress(%ld) wrong\n", Step, v);
            return 0;
        }
    }
    return 1;
}

static int RandomStep(PMM_AVL_TABLE Table, int Step)
{
    long Start, End, Size, Align, Low, High, Want, v;
    int Slot = (int)RngBelow(POOL), TopDown;
    long Op = RngBelow(100);
    PMMADDRESS_NODE Expected;
    ULONG_PTR Base;
    NTSTATUS Status;

    if (Op < 45) {
        /* Insert: mostly small ranges, sometimes large ones. */
        if (InTree[Slot]) {
            return TreeMatchesModel(Table, Step);
        }
        Start = RngBelow(UNIVERSE);
        Size = 1 + RngBelow(RngBelow(8) == 0 ? 200 : 24);
        End = Start + Size - 1 < UNIVERSE ? Start + Size - 1 : UNIVERSE - 1;
        Expected = ModelLowestConflict(Start, End);
        if (MiFindConflict(Table, (ULONG_PTR)Start, (ULONG_PTR)End) != Expected) {
            printf("  step %d: MiFindConflict(%ld,%ld) wrong\n", Step, Start, End);
            return 0;
        }
        Status = MiInsertNode(Table, SetRange(&Pool[Slot], (ULONG_PTR)Start, (ULONG_PTR)End));
        if (Status != (Expected ? STATUS_CONFLICTING_ADDRESSES : STATUS_SUCCESS)) {
            printf("  step %d: insert [%ld,%ld] gave %#x\n", Step, Start, End, (unsigned)Status);
            return 0;
        }
        if (Status == STATUS_SUCCESS) {
            InTree[Slot] = 1;
            ModelCount++;
            for (v = Start; v <= End; v++) {
                Owner[v] = Slot + 1;
            }
        }
    } else if (Op < 80) {
        /* Remove: a node not in the tree must be refused. */
        Status = MiRemoveNode(Table, &Pool[Slot]);
        if (Status != (InTree[Slot] ? STATUS_SUCCESS : STATUS_NOT_FOUND)) {
            printf("  step %d: remove slot %d gave %#x\n", Step, Slot, (unsigned)Status);
            return 0;
        }
        if (InTree[Slot]) {
            InTree[Slot] = 0;
            ModelCount--;
            for (v = (long)Pool[Slot].StartingVpn; v <= (long)Pool[Slot].EndingVpn; v++) {
                Owner[v] = 0;
            }
        }
    } else {
        /* Gap search in a random window, either direction. */
        Size = 1 + RngBelow(RngBelow(4) == 0 ? 256 : 32);
        Align = 1L << RngBelow(6);
        Low = RngBelow(UNIVERSE);
        High = RngBelow(5) == 0 ? UNIVERSE - 1 : RngBelow(UNIVERSE);
        TopDown = (int)RngBelow(2);
        ModelPrefixSums();
        Want = ModelFindGap(Size, Align, Low, High, TopDown);
        Base = MAX_VPN;
        Status = MiFindEmptyAddressRange(Table, (ULONG_PTR)Size, (ULONG_PTR)Align,
                                         (ULONG_PTR)Low, (ULONG_PTR)High,
                                         (BOOLEAN)TopDown, &Base);
        if (Want < 0 ? Status != STATUS_NO_MEMORY
                     : Status != STATUS_SUCCESS || Base != (ULONG_PTR)Want) {
            printf("  step %d: gap size %ld align %ld [%ld,%ld] %s: got %#x base %lu, want %ld\n",
                   Step, Size, Align, Low, High, TopDown ? "top-down" : "bottom-up",
                   (unsigned)Status, (unsigned long)Base, Want);
            return 0;
        }
    }
    return TreeMatchesModel(Table, Step);
}

HTEST(randomized_against_model)
{
    MM_AVL_TABLE Table;
    int Step, Peak = 0;

    memset(Owner, 0, sizeof(Owner));
    memset(InTree, 0, sizeof(InTree));
    ModelCount = 0;
    RngState = 0x5EED0F9A60DAULL;
    MiInitializeAvlTable(&Table);

    for (Step = 0; Step < OPERATIONS; Step++) {
        HT_ASSERT(RandomStep(&Table, Step));
        if (ModelCount > Peak) {
            Peak = ModelCount;
        }
        HT_ASSERT(HeightWithinAvlBound(TreeHeight(Table.Root), (unsigned long)ModelCount));
    }
    /* The run must actually have grown a sizeable tree. */
    HT_ASSERT(Peak >= 60);

    /* Drain it, still checking after every removal. */
    for (Step = 0; Step < POOL; Step++) {
        if (InTree[Step]) {
            HT_ASSERT(MiRemoveNode(&Table, &Pool[Step]) == STATUS_SUCCESS);
            InTree[Step] = 0;
            ModelCount--;
            memset(Owner, 0, sizeof(Owner));
            for (int s = 0; s < POOL; s++) {
                for (long v = (long)Pool[s].StartingVpn; InTree[s] && v <= (long)Pool[s].EndingVpn; v++) {
                    Owner[v] = s + 1;
                }
            }
            HT_ASSERT(TreeMatchesModel(&Table, OPERATIONS + Step));
        }
    }
    HT_ASSERT(Table.Root == NULL && Table.NumberGenericTableElements == 0);
}

/* ---- degenerate insert orders ------------------------------------------ */

#define DEGENERATE_COUNT 10000

static MMADDRESS_NODE Sequence[DEGENERATE_COUNT];

/* Insert DEGENERATE_COUNT two-page nodes in address order (or reverse),
 * checking the height bound as the tree grows; then remove them in the same
 * order, which hammers one side of the tree the same way. */
static int RunSequence(int Descending)
{
    MM_AVL_TABLE Table;
    int i, k;

    MiInitializeAvlTable(&Table);
    for (i = 0; i < DEGENERATE_COUNT; i++) {
        k = Descending ? DEGENERATE_COUNT - 1 - i : i;
        if (InsertRange(&Table, &Sequence[k], 0x10 + 4 * (ULONG_PTR)k,
                        0x11 + 4 * (ULONG_PTR)k) != STATUS_SUCCESS) {
            return 0;
        }
        /* The height is an O(n) walk: check every step while the tree is
         * small, then every 97 steps. */
        if ((i < 256 || i % 97 == 0) &&
            !HeightWithinAvlBound(TreeHeight(Table.Root), (unsigned long)i + 1)) {
            return 0;
        }
        if ((i & 1023) == 0 && !MiVerifyAvlTable(&Table)) {
            return 0;
        }
    }
    if (!MiVerifyAvlTable(&Table) || Table.NumberGenericTableElements != DEGENERATE_COUNT) {
        return 0;
    }
    printf("  %s: %d nodes, height %d (bound %.1f)\n", Descending ? "descending" : "ascending",
           DEGENERATE_COUNT, TreeHeight(Table.Root), 1.44 * Log2(DEGENERATE_COUNT + 2));
    for (i = 0; i < DEGENERATE_COUNT; i++) {
        k = Descending ? DEGENERATE_COUNT - 1 - i : i;
        if (MiLocateAddress(&Table, 0x11 + 4 * (ULONG_PTR)k) != &Sequence[k] ||
            MiLocateAddress(&Table, 0x12 + 4 * (ULONG_PTR)k) != NULL) {
            return 0;
        }
    }
    for (i = 0; i < DEGENERATE_COUNT; i++) {
        k = Descending ? DEGENERATE_COUNT - 1 - i : i;
        if (MiRemoveNode(&Table, &Sequence[k]) != STATUS_SUCCESS) {
            return 0;
        }
        if ((i & 1023) == 0 && !MiVerifyAvlTable(&Table)) {
            return 0;
        }
        if ((i % 97 == 0 || i >= DEGENERATE_COUNT - 256) &&
            !HeightWithinAvlBound(TreeHeight(Table.Root), (unsigned long)(DEGENERATE_COUNT - 1 - i))) {
            return 0;
        }
    }
    return Table.Root == NULL && Table.NumberGenericTableElements == 0;
}

HTEST(degenerate_ascending)
{
    HT_ASSERT(RunSequence(0));
}

HTEST(degenerate_descending)
{
    HT_ASSERT(RunSequence(1));
}

/* ---- the verifier itself ----------------------------------------------- */

HTEST(verify_catches_corruption)
{
    MM_AVL_TABLE Table;
    MMADDRESS_NODE N[7];
    PMMADDRESS_NODE Saved;
    ULONG_PTR SavedVpn;
    int i;

    MiInitializeAvlTable(&Table);
    for (i = 0; i < 7; i++) {
        HT_ASSERT(InsertRange(&Table, &N[i], 10 * (ULONG_PTR)i, 10 * (ULONG_PTR)i + 4) == STATUS_SUCCESS);
    }
    HT_ASSERT(MiVerifyAvlTable(&Table));
    /* Ascending inserts of 7 make a perfect tree rooted at N[3]. */
    HT_ASSERT(Table.Root == &N[3] && TreeHeight(Table.Root) == 3);

    Table.NumberGenericTableElements++;                 /* wrong count */
    HT_ASSERT(!MiVerifyAvlTable(&Table));
    Table.NumberGenericTableElements--;

    N[1].Balance = 1;                                   /* wrong balance */
    HT_ASSERT(!MiVerifyAvlTable(&Table));
    N[1].Balance = 0;

    Saved = N[5].Parent;                                /* wrong parent */
    N[5].Parent = &N[1];
    HT_ASSERT(!MiVerifyAvlTable(&Table));
    N[5].Parent = Saved;

    SavedVpn = N[4].StartingVpn;                        /* out of order */
    N[4].StartingVpn = 25;
    HT_ASSERT(!MiVerifyAvlTable(&Table));
    N[4].StartingVpn = SavedVpn;

    SavedVpn = N[2].EndingVpn;                          /* overlaps N[3] */
    N[2].EndingVpn = 30;
    HT_ASSERT(!MiVerifyAvlTable(&Table));
    N[2].EndingVpn = SavedVpn;

    N[6].RightChild = &N[3];                            /* a cycle */
    HT_ASSERT(!MiVerifyAvlTable(&Table));
    N[6].RightChild = NULL;

    HT_ASSERT(MiVerifyAvlTable(&Table));
}

HTEST_MAIN()
