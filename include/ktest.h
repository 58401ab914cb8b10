/*
 * ktest.h - in-kernel tests.
 *
 * A test is a function registered in the .ktest linker section:
 *
 *     static void KtFreeBlock(PVOID Block) { ExFreePoolWithTag(Block, KT_TAG); }
 *
 *     KTEST(pool, block_keeps_what_is_written)
 *     {
 *         PUCHAR Block = ExAllocatePoolWithTag(NonPagedPool, 64, KT_TAG);
 *         KT_ASSERT(Block != NULL);
 *         KtDefer(KtFreeBlock, Block);      // freed even if a check fails
 *         Block[63] = 0x5A;
 *         KT_EXPECT_EQ(Block[63], 0x5A);
 *     }
 *
 * Booting with "ktest" runs every test, "ktest=PATTERN" the ones whose
 * name ("suite.name") matches (see RtlMatchNamePattern). Files run in link
 * order; within a file gcc emits the cases last first. Tests must not
 * depend on their order. Each prints one serial line, "ktest: PASS
 * suite.name" or "ktest: FAIL suite.name: expression (file:line)" (later
 * failures of the same test follow as "ktest:   also: ..." lines), and the
 * run ends with "N passed, N failed" and a power-off whose exit code says
 * the result.
 *
 * The assertion style, the same in all three test frameworks (KT_ here,
 * UT_ in user/tests/ut.h, HT_ in tests/host/htest.h):
 *
 *   KT_ASSERT(e)             e must hold; if not, fail and return from the
 *                            function it is written in (the test stops)
 *   KT_EXPECT(e)             e should hold; if not, fail and go on
 *   KT_ASSERT_EQ(a, b)       a == b as 64-bit integers; a failure prints both
 *   KT_EXPECT_EQ(a, b)
 *   KT_ASSERT_STATUS(c, s)   the NTSTATUS c is s; a failure prints both
 *   KT_EXPECT_STATUS(c, s)
 *
 * Cleanup that must happen even when an assertion stops the test (threads to
 * join, handles to close, pool to free, mappings to undo) is registered with
 * KtDefer(Routine, Context) right after the thing is created. The runner
 * runs the deferred routines after the test returns, last registered first,
 * passed or failed. A test that must undo something before its end (to
 * check that a count is back at its baseline, say) calls KtCleanupNow on
 * the value KtDefer returned, which runs that one routine at once and only
 * once (the entry is spent after that). Context must outlive the test:
 * static storage, the pool or a handle value, never the address of a local
 * of the test.
 *
 * The runner also checks that each test returns at PASSIVE_LEVEL: one that
 * left the IRQL raised fails and is lowered back before its cleanups run.
 *
 * A test that must end in a bugcheck is declared with KTEST_BUGCHECK and the
 * stop code it expects. A plain "ktest" run only lists those
 * ("ktest: BUGCHECK-TEST name expect=0x..."); the harness boots once per
 * such test with "ktest=name" and checks the stop code it ends with.
 */
#ifndef PAGODA_KTEST_H
#define PAGODA_KTEST_H

#include "ntdef.h"

typedef struct _KTEST_CASE {
    const char *Name;           /* "suite.name" */
    void (*Run)(void);
    ULONG ExpectedBugCheck;     /* 0: an ordinary test */
    ULONG Line;
    const char *File;
} KTEST_CASE, *PKTEST_CASE;

#define KTEST_DEFINE(suite, name, code)                                         \
    static void ktest_##suite##_##name(void);                                   \
    static const KTEST_CASE ktest_case_##suite##_##name                         \
        __attribute__((used, section(".ktest"), aligned(8))) = {                \
            #suite "." #name, ktest_##suite##_##name, (code), __LINE__, __FILE__}; \
    static void ktest_##suite##_##name(void)

#define KTEST(suite, name) KTEST_DEFINE(suite, name, 0)
#define KTEST_BUGCHECK(suite, name, code) KTEST_DEFINE(suite, name, (code))

/*
 * Report a failure of the running test (the macros below call these). Any
 * IRQL, any thread: a worker thread of a test may report too.
 */
void KtFail(const char *Expression, const char *File, int Line);
void KtFailValues(const char *Expression, ULONG64 Left, ULONG64 Right,
                  const char *File, int Line);
void KtFailStatus(const char *Expression, NTSTATUS Got, NTSTATUS Want,
                  const char *File, int Line);

/*
 * Skip the running test: it reports "ktest: SKIP name: Why" instead of a
 * PASS (and counts in the closing line's "N skipped"). Only for a test
 * whose subject this boot does not have (e.g. the commit rules without a
 * pagefile in a boot with one), never for a failure.
 */
void KtSkip(const char *Why);
#define KT_SKIP_IF(cond, why) \
    do { \
        if (cond) { \
            KtSkip(why); \
            return; \
        } \
    } while (0)

/* The test body stops with "return;" after a failed ASSERT; EXPECT goes on. */
#define KT_FAILED_ASSERT_ return
#define KT_FAILED_EXPECT_ (void)0

#define KT_CHECK_(expr, onfail)                                                 \
    do {                                                                        \
        if (!(expr)) {                                                          \
            KtFail(#expr, __FILE__, __LINE__);                                  \
            onfail;                                                             \
        }                                                                       \
    } while (0)

#define KT_CHECK_EQ_(a, b, onfail)                                              \
    do {                                                                        \
        ULONG64 ktA_ = (ULONG64)(a), ktB_ = (ULONG64)(b);                       \
        if (ktA_ != ktB_) {                                                     \
            KtFailValues(#a " == " #b, ktA_, ktB_, __FILE__, __LINE__);         \
            onfail;                                                             \
        }                                                                       \
    } while (0)

#define KT_CHECK_STATUS_(call, want, onfail)                                    \
    do {                                                                        \
        NTSTATUS ktGot_ = (call), ktWant_ = (NTSTATUS)(want);                   \
        if (ktGot_ != ktWant_) {                                                \
            KtFailStatus(#call " == " #want, ktGot_, ktWant_, __FILE__, __LINE__); \
            onfail;                                                             \
        }                                                                       \
    } while (0)

#define KT_ASSERT(expr)           KT_CHECK_(expr, KT_FAILED_ASSERT_)
#define KT_EXPECT(expr)           KT_CHECK_(expr, KT_FAILED_EXPECT_)
#define KT_ASSERT_EQ(a, b)        KT_CHECK_EQ_(a, b, KT_FAILED_ASSERT_)
#define KT_EXPECT_EQ(a, b)        KT_CHECK_EQ_(a, b, KT_FAILED_EXPECT_)
#define KT_ASSERT_STATUS(c, s)    KT_CHECK_STATUS_(c, s, KT_FAILED_ASSERT_)
#define KT_EXPECT_STATUS(c, s)    KT_CHECK_STATUS_(c, s, KT_FAILED_EXPECT_)

/* Deferred cleanup (see the top of this file). */
typedef void (*KT_CLEANUP_ROUTINE)(PVOID Context);
typedef struct _KT_DEFERRED KT_DEFERRED, *PKT_DEFERRED;

/* Most cleanups one test may have pending at a time. */
/* A relative time of Ms milliseconds, in 100 ns units (negative: from now),
 * for the tests' timeouts, due times and delays. */
#define KT_MS(Ms) (-(LONGLONG)(Ms)*10000)

#define KT_MAX_DEFERRED 64

/*
 * Run Routine(Context) after the running test returns, at PASSIVE_LEVEL,
 * whether it passed or failed; cleanups run last registered first. Returns
 * the entry for KtCleanupNow. With KT_MAX_DEFERRED cleanups already pending
 * the test fails and NULL comes back (the routine will not run). Call at
 * PASSIVE_LEVEL from the test's own thread.
 */
PKT_DEFERRED KtDefer(KT_CLEANUP_ROUTINE Routine, PVOID Context);

/*
 * Run a deferred cleanup now instead of after the test; it will not run
 * again. NULL does nothing. The entry is spent: its slot may serve a later
 * KtDefer, so do not pass it again. PASSIVE_LEVEL.
 */
void KtCleanupNow(PKT_DEFERRED Entry);

#endif /* PAGODA_KTEST_H */
