/*
 * test_wsaging.c - the working-set manager's aging (mm/wsmgr.c,
 * docs/paging.md section 4): a page the program keeps touching stays in
 * its working set, a page it leaves alone grows older at each periodic
 * pass and is trimmed once it is MI_TRIM_AGE passes old - and only while
 * the set is above its maximum.
 *
 * The passes are MiWorkingSetManagerPass(TRUE), the periodic pass the
 * manager thread makes once a second; the thread's own passes may fall
 * between the test's and only age pages further, which changes nothing
 * asserted here (the touched pages are touched again before every pass of
 * the test's, so no two passes see them untouched).
 */
#include "../../include/ktest.h"
#include "../../mm/mi.h"
#include "ktspace.h"

#define KT_PAGES 8
#define KT_KEPT (KT_PAGES / 2) /* pages 0..3 touched before every pass */

/* Read one byte of each of pages First..First+Count-1 (sets A in their
 * PTEs); FALSE if a read failed. */
static BOOLEAN KtTouch(ULONG First, ULONG Count)
{
    UCHAR Byte;
    for (ULONG i = First; i < First + Count; i++)
        if (!NT_SUCCESS(MmCopyFromUser(&Byte, KtPage(i), 1)))
            return FALSE;
    return TRUE;
}

static MI_PTE_STATE KtState(ULONG Index)
{
    return MiPteState(*MiGetPteAddress(KtPage(Index)));
}

KTEST(wset, aging_trims_only_pages_left_untouched)
{
    PMMADDRESS_SPACE Space = KtMakeSpace(KT_PAGES);
    KT_ASSERT(Space != NULL);
    /* Memory must not be low: a low-memory pass trims young pages too
     * (down to each set's minimum), which is another test's subject. */
    KT_ASSERT(MmAvailablePages() > 4 * MmMinimumAvailablePages);
    KT_ASSERT(KtTouch(0, KT_PAGES));
    KT_ASSERT_EQ(Space->Vm.WorkingSetSize, KT_PAGES);
    /* Above its maximum from now on: old pages may go. */
    Space->Vm.MaximumWorkingSetSize = 0;

    /* Pass 1: every page was touched, so every page is young (age 0) and
     * its Accessed bit is cleared; nothing is trimmed. */
    (void)MiWorkingSetManagerPass(TRUE);
    for (ULONG i = 0; i < KT_PAGES; i++) {
        KT_ASSERT_EQ(KtState(i), MiPteValid);
        KT_EXPECT(!MiGetPteAddress(KtPage(i))->u.Hard.Accessed);
    }
    KT_EXPECT_EQ(Space->Vm.WorkingSetSize, KT_PAGES);

    /* Pass 2: pages 4..7 were not touched since pass 1: age 1, still in. */
    KT_ASSERT(KtTouch(0, KT_KEPT));
    (void)MiWorkingSetManagerPass(TRUE);
    for (ULONG i = 0; i < KT_PAGES; i++)
        KT_ASSERT_EQ(KtState(i), MiPteValid);

    /* Pass 3: pages 4..7 are two passes old: trimmed (transition PTEs,
     * clean frames to standby); pages 0..3, touched again, stay. */
    ULONG64 Trimmed = Space->Vm.TrimmedPages;
    KT_ASSERT(KtTouch(0, KT_KEPT));
    (void)MiWorkingSetManagerPass(TRUE);
    for (ULONG i = 0; i < KT_PAGES; i++)
        KT_EXPECT_EQ(KtState(i), i < KT_KEPT ? MiPteValid : MiPteTransition);
    KT_EXPECT_EQ(Space->Vm.WorkingSetSize, KT_KEPT);
    KT_EXPECT_EQ(Space->Vm.TrimmedPages, Trimmed + KT_PAGES - KT_KEPT);

    /* At its maximum again, a set keeps even its oldest pages. */
    Space->Vm.MaximumWorkingSetSize = KT_KEPT;
    (void)MiWorkingSetManagerPass(TRUE);
    (void)MiWorkingSetManagerPass(TRUE);
    (void)MiWorkingSetManagerPass(TRUE);
    for (ULONG i = 0; i < KT_KEPT; i++)
        KT_EXPECT_EQ(KtState(i), MiPteValid);
    KT_EXPECT_EQ(Space->Vm.WorkingSetSize, KT_KEPT);
}
