/*
 * ktest.h - in-kernel tests.
 *
 * A test is a function registered in the .ktest linker section:
 *
 *     KTEST(pfn, alloc_free_returns_to_baseline)
 *     {
 *         KT_ASSERT(MmFreePageCount() > 0);
 *     }
 *
 * Booting with "ktest" runs every test, "ktest=PATTERN" the ones whose
 * name ("suite.name") matches (see RtlMatchNamePattern). Files run in link
 * order; within a file gcc emits the cases last first. Tests must not
 * depend on their order. Each
 * prints one serial line, "ktest: PASS suite.name" or
 * "ktest: FAIL suite.name: expression (file:line)", and the run ends with
 * "N passed, N failed" and a power-off whose exit code says the result.
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

/* Report a failure of the running test (called by the macros below). */
void KtFail(const char *Expression, const char *File, int Line);
void KtFailValues(const char *Expression, ULONG64 Left, ULONG64 Right,
                  const char *File, int Line);

/* Fail the test and leave it when expr is false. */
#define KT_ASSERT(expr)                                                         \
    do {                                                                        \
        if (!(expr)) {                                                          \
            KtFail(#expr, __FILE__, __LINE__);                                  \
            return;                                                             \
        }                                                                       \
    } while (0)

/* Compare two integers; a failure prints both values. */
#define KT_ASSERT_EQ(a, b)                                                      \
    do {                                                                        \
        ULONG64 ktA_ = (ULONG64)(a), ktB_ = (ULONG64)(b);                       \
        if (ktA_ != ktB_) {                                                     \
            KtFailValues(#a " == " #b, ktA_, ktB_, __FILE__, __LINE__);         \
            return;                                                             \
        }                                                                       \
    } while (0)

#endif /* PAGODA_KTEST_H */
