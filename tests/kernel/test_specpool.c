/*
 * test_specpool.c - Driver Verifier's special pool (mm/specpool.c).
 *
 * Each test turns special pool on for its own tag through MmSetSpecialPool
 * (no boot key needed) and off again in a deferred cleanup. The ordinary
 * tests check the layout and that every planted overrun of 1 to 16 bytes
 * is caught one way or the other: bytes that land in the alignment slack
 * are found by the free's pattern check, bytes past the slack land on an
 * unmapped guard page. The KTEST_BUGCHECK tests then plant each mistake
 * for real and the harness checks the stop code.
 */
#include "../../include/ktest.h"
#include "../../kernel/ke.h"
#include "../../mm/mi.h"
#include "../../rtl/rtl.h"

#define KT_SPECIAL_TAG POOL_TAG('K', 't', 'S', 'p')
#define KT_OTHER_TAG   POOL_TAG('K', 't', 'O', 't')
#define KT_PATTERN     0xA5 /* mm/specpool.c's fill */

static void KtSpecialPoolOff(PVOID Unused)
{
    UNREFERENCED_PARAMETER(Unused);
    MmSetSpecialPool(FALSE, FALSE, 0);
}

static void KtSpecialPoolOn(BOOLEAN Underrun)
{
    MmSetSpecialPool(TRUE, Underrun, KT_SPECIAL_TAG);
    KtDefer(KtSpecialPoolOff, NULL);
}

static void KtFreeSpecial(PVOID Block)
{
    ExFreePoolWithTag(Block, KT_SPECIAL_TAG);
}

KTEST(specpool, block_ends_against_an_unmapped_guard_page)
{
    KtSpecialPoolOn(FALSE);
    for (SIZE_T Size = 0; Size <= 64; Size++) {
        PUCHAR P = ExAllocatePoolWithTag(NonPagedPool, Size, KT_SPECIAL_TAG);
        SIZE_T Rounded = ALIGN_UP_BY(Size ? Size : 1, 16);

        KT_ASSERT(P != NULL);
        KT_EXPECT(MmIsSpecialPoolAddress(P));
        KT_EXPECT_EQ((ULONG_PTR)P & 15, 0);
        KT_EXPECT_EQ(BYTE_OFFSET(P + Rounded), 0);
        KT_EXPECT(MmIsAddressValid(P + Rounded - 1));
        KT_EXPECT(!MmIsAddressValid(P + Rounded));
        KT_EXPECT(MmFindSpecialPoolCorruption(P) == NULL);
        if (Size != 0)
            memset(P, 0x11, Size); /* the whole block is the caller's */
        KT_EXPECT(MmFindSpecialPoolCorruption(P) == NULL);
        ExFreePoolWithTag(P, KT_SPECIAL_TAG);
        /* Freed: the data page is gone, the run still belongs to special pool. */
        KT_EXPECT(!MmIsAddressValid(P));
        KT_EXPECT(MmIsSpecialPoolAddress(P));
    }
}

KTEST(specpool, every_overrun_of_1_to_16_bytes_is_caught)
{
    ULONG Caught = 0, ByPattern = 0, ByGuard = 0;

    KtSpecialPoolOn(FALSE);
    /* 16 sizes, one for each distance from the end to the guard. */
    for (SIZE_T Size = 33; Size <= 48; Size++) {
        for (SIZE_T Over = 1; Over <= 16; Over++) {
            PUCHAR P = ExAllocatePoolWithTag(NonPagedPool, Size, KT_SPECIAL_TAG);
            PUCHAR Last = P + Size + Over - 1; /* the farthest byte the overrun writes */

            KT_ASSERT(P != NULL);
            if (BYTE_OFFSET(Last) < BYTE_OFFSET(P)) {
                /* Past the page: an unmapped guard, so the write faults. */
                KT_EXPECT(!MmIsAddressValid(Last));
                ByGuard++;
                Caught++;
            } else {
                P[Size + Over - 1] = 0x00;
                if (MmFindSpecialPoolCorruption(P) == Last) {
                    ByPattern++;
                    Caught++;
                }
                P[Size + Over - 1] = KT_PATTERN; /* repaired, so the free passes */
            }
            ExFreePoolWithTag(P, KT_SPECIAL_TAG);
        }
    }
    KT_EXPECT_EQ(Caught, 16 * 16);
    /* Both ways were used: size 48 has no slack, size 33 fifteen bytes. */
    KT_EXPECT_EQ(ByPattern, 15 * 16 / 2);
    KT_EXPECT_EQ(ByGuard, 16 * 16 - 15 * 16 / 2);
}

KTEST(specpool, damage_before_the_block_is_found)
{
    KtSpecialPoolOn(FALSE);
    PUCHAR P = ExAllocatePoolWithTag(PagedPool, 100, KT_SPECIAL_TAG);
    KT_ASSERT(P != NULL);
    KtDefer(KtFreeSpecial, P);
    KT_EXPECT(MmIsSpecialPoolAddress(P));
    P[-1] = 0;
    KT_EXPECT(MmFindSpecialPoolCorruption(P) == P - 1);
    P[-1] = KT_PATTERN;
    KT_EXPECT(MmFindSpecialPoolCorruption(P) == NULL);
}

KTEST(specpool, underrun_mode_puts_the_guard_before_the_block)
{
    KtSpecialPoolOn(TRUE);
    PUCHAR P = ExAllocatePoolWithTag(NonPagedPool, 24, KT_SPECIAL_TAG);
    KT_ASSERT(P != NULL);
    KtDefer(KtFreeSpecial, P);
    KT_EXPECT_EQ(BYTE_OFFSET(P), 0);
    KT_EXPECT(!MmIsAddressValid(P - 1));
    /* Past the end is slack, checked at the free. */
    P[24] = 0;
    KT_EXPECT(MmFindSpecialPoolCorruption(P) == P + 24);
    P[24] = KT_PATTERN;
}

KTEST(specpool, other_tags_and_big_blocks_use_the_ordinary_pool)
{
    KtSpecialPoolOn(FALSE);
    PVOID Other = ExAllocatePoolWithTag(NonPagedPool, 32, KT_OTHER_TAG);
    PVOID Big = ExAllocatePoolWithTag(NonPagedPool, 4065, KT_SPECIAL_TAG);
    KT_EXPECT(Other != NULL && !MmIsSpecialPoolAddress(Other));
    KT_EXPECT(Big != NULL && !MmIsSpecialPoolAddress(Big));
    if (Other != NULL)
        ExFreePoolWithTag(Other, KT_OTHER_TAG);
    if (Big != NULL)
        ExFreePoolWithTag(Big, KT_SPECIAL_TAG);
}

KTEST(specpool, turning_it_off_gives_the_lookaside_lists_back)
{
    PPOOL_DESCRIPTOR NonPaged = ExGetPoolDescriptor(NonPagedPool);
    ULONG Before = NonPaged->LookasideDepth;

    MmSetSpecialPool(TRUE, FALSE, KT_SPECIAL_TAG);
    KT_EXPECT_EQ(NonPaged->LookasideDepth, 0);
    MmSetSpecialPool(FALSE, FALSE, 0);
    /* With no boot key the fast paths are back as they were. */
    KT_EXPECT_EQ(MmVerifierFlags, 0);
    KT_EXPECT_EQ(NonPaged->LookasideDepth, Before);
    KT_EXPECT_EQ(Before, POOL_LOOKASIDE_DEFAULT_DEPTH);
}

/* ---- The real thing: each one stops the system ---- */

/* Overrun a 40-byte block (8 bytes of slack before the guard) by Over
 * bytes, then free it: 1-8 bytes are found by the free (0xC1), 9 and more
 * reach the guard page and fault (0xD6). */
static void KtPlantOverrun(SIZE_T Over)
{
    MmSetSpecialPool(TRUE, FALSE, KT_SPECIAL_TAG);
    volatile UCHAR *P = ExAllocatePoolWithTag(NonPagedPool, 40, KT_SPECIAL_TAG);
    if (P == NULL)
        return;
    for (SIZE_T i = 0; i < Over; i++)
        P[40 + i] = (UCHAR)i;
    ExFreePoolWithTag((PVOID)P, KT_SPECIAL_TAG);
}

#define KT_OVERRUN_TEST(N, Code) \
    KTEST_BUGCHECK(specpool, overrun_##N, Code) { KtPlantOverrun(N); }

KT_OVERRUN_TEST(1, SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION)
KT_OVERRUN_TEST(2, SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION)
KT_OVERRUN_TEST(3, SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION)
KT_OVERRUN_TEST(4, SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION)
KT_OVERRUN_TEST(5, SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION)
KT_OVERRUN_TEST(6, SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION)
KT_OVERRUN_TEST(7, SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION)
KT_OVERRUN_TEST(8, SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION)
KT_OVERRUN_TEST(9, DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION)
KT_OVERRUN_TEST(10, DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION)
KT_OVERRUN_TEST(11, DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION)
KT_OVERRUN_TEST(12, DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION)
KT_OVERRUN_TEST(13, DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION)
KT_OVERRUN_TEST(14, DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION)
KT_OVERRUN_TEST(15, DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION)
KT_OVERRUN_TEST(16, DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION)

/* A read one byte past a block that ends flush with its page. */
KTEST_BUGCHECK(specpool, read_past_the_end, DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION)
{
    MmSetSpecialPool(TRUE, FALSE, KT_SPECIAL_TAG);
    volatile UCHAR *P = ExAllocatePoolWithTag(PagedPool, 64, KT_SPECIAL_TAG);
    if (P != NULL)
        (void)P[64];
}

/* Underrun mode: the byte before the block is the guard page. */
KTEST_BUGCHECK(specpool, underrun, DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION)
{
    MmSetSpecialPool(TRUE, TRUE, KT_SPECIAL_TAG);
    volatile UCHAR *P = ExAllocatePoolWithTag(NonPagedPool, 40, KT_SPECIAL_TAG);
    if (P != NULL)
        P[-1] = 0;
}

/* Overrun mode: an underrun damages the pattern before the block; the free
 * finds it. */
KTEST_BUGCHECK(specpool, underrun_found_at_free, SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION)
{
    MmSetSpecialPool(TRUE, FALSE, KT_SPECIAL_TAG);
    volatile UCHAR *P = ExAllocatePoolWithTag(NonPagedPool, 40, KT_SPECIAL_TAG);
    if (P == NULL)
        return;
    P[-4] = 0;
    ExFreePoolWithTag((PVOID)P, KT_SPECIAL_TAG);
}

KTEST_BUGCHECK(specpool, read_after_free, DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL)
{
    MmSetSpecialPool(TRUE, FALSE, KT_SPECIAL_TAG);
    volatile UCHAR *P = ExAllocatePoolWithTag(NonPagedPool, 40, KT_SPECIAL_TAG);
    if (P == NULL)
        return;
    ExFreePoolWithTag((PVOID)P, KT_SPECIAL_TAG);
    (void)P[0];
}

KTEST_BUGCHECK(specpool, write_after_free, DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL)
{
    MmSetSpecialPool(TRUE, FALSE, KT_SPECIAL_TAG);
    volatile UCHAR *P = ExAllocatePoolWithTag(PagedPool, 200, KT_SPECIAL_TAG);
    if (P == NULL)
        return;
    ExFreePoolWithTag((PVOID)P, KT_SPECIAL_TAG);
    P[100] = 1;
}

/* An address of the system PTEs that is not special pool (here a kernel
 * stack's page) is not pool at all: the ordinary pool's verdict,
 * BAD_POOL_CALLER, not a special-pool corruption. */
KTEST_BUGCHECK(specpool, free_of_other_system_pte_address, BAD_POOL_CALLER)
{
    MmSetSpecialPool(TRUE, FALSE, KT_SPECIAL_TAG);
    PUCHAR StackBase = MmCreateKernelStack(1);
    if (StackBase != NULL)
        ExFreePoolWithTag(StackBase - 64, KT_SPECIAL_TAG);
}
