/*
 * test_ktest.c - the test framework itself (include/ktest.h, kernel/ktest.c):
 * deferred cleanups run after the test, last registered first, each once,
 * and KtCleanupNow runs one early. The check sits in the cleanup that was
 * registered first, which runs last, after the test has returned: a
 * failure there fails this test like any other.
 */
#include "../../include/ktest.h"

static ULONG64 KtCleanupLog;     /* one hex digit per cleanup that ran, in order */
static BOOLEAN KtTestReturned;

static void KtLogCleanup(PVOID Digit)
{
    KtCleanupLog = KtCleanupLog * 16 + (ULONG_PTR)Digit;
}

static void KtCheckCleanupOrder(PVOID Unused)
{
    (void)Unused;
    KT_EXPECT(KtTestReturned);
    /* 2 by KtCleanupNow during the test, then 3 and 1 by the runner. */
    KT_EXPECT_EQ(KtCleanupLog, 0x231);
}

KTEST(ktest, cleanups_run_after_the_test_last_first_once)
{
    KtCleanupLog = 0;
    KtTestReturned = FALSE;
    KT_ASSERT(KtDefer(KtCheckCleanupOrder, NULL) != NULL);
    KtDefer(KtLogCleanup, (PVOID)1);
    PKT_DEFERRED Two = KtDefer(KtLogCleanup, (PVOID)2);
    KtDefer(KtLogCleanup, (PVOID)3);
    KtCleanupNow(Two);
    KT_ASSERT_EQ(KtCleanupLog, 0x2);
    KtTestReturned = TRUE;
}
