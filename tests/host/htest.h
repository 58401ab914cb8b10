/*
 * htest.h - the host unit-test framework: pure kernel logic (the formatter,
 * the multiboot2 parser, the frame bookkeeping, the VAD tree, the pool) is
 * compiled for Linux and exercised here under AddressSanitizer and UBSan.
 *
 * A test program defines cases with HTEST(name) { ... } and ends with
 * HTEST_MAIN(). Each case prints one line, "PASS name" or
 * "FAIL name: expression (file:line)" (later failures of the same case
 * follow as "  also: ..." lines), and the program closes with
 * "N passed, N failed" and exits non-zero when anything failed.
 *
 * The assertion style, the same in all three test frameworks (HT_ here,
 * KT_ in include/ktest.h, UT_ in user/tests/ut.h):
 *
 *   HT_ASSERT(e)             e must hold; if not, fail and return from the
 *                            function it is written in (the case stops)
 *   HT_EXPECT(e)             e should hold; if not, fail and go on
 *   HT_ASSERT_EQ(a, b)       a == b as 64-bit integers; a failure prints both
 *   HT_EXPECT_EQ(a, b)
 *   HT_ASSERT_STATUS(c, s)   the NTSTATUS c is s; a failure prints both
 *   HT_EXPECT_STATUS(c, s)
 *   HT_ASSERT_STR(g, w)      the C strings g and w are equal; a failure
 *   HT_EXPECT_STR(g, w)      prints both
 *
 * Cleanup that must happen even when an assertion stops the case (memory
 * to free, a pool to tear down) is registered with HtDefer(Routine,
 * Context) right after the thing is made; HTEST_MAIN runs the deferred
 * routines after the case returns, last registered first, passed or
 * failed, so AddressSanitizer's leak check stays quiet. HtCleanupNow runs
 * one of them early, once.
 */
#ifndef PAGODA_HTEST_H
#define PAGODA_HTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct HTEST_CASE {
    const char *Name;
    void (*Run)(void);
    struct HTEST_CASE *Next;
} HTEST_CASE;

static HTEST_CASE *HtestFirst, **HtestLast = &HtestFirst;
static int HtestCurrentFailed;

static inline void HtestRegister(HTEST_CASE *Case)
{
    *HtestLast = Case;
    HtestLast = &Case->Next;
}

#define HTEST(name)                                                        \
    static void htest_##name(void);                                        \
    static HTEST_CASE htest_case_##name = { #name, htest_##name, NULL };   \
    __attribute__((constructor)) static void htest_reg_##name(void)        \
    {                                                                      \
        HtestRegister(&htest_case_##name);                                 \
    }                                                                      \
    static void htest_##name(void)

static const char *HtestCurrentName;

/* The first failure of a case is its FAIL line; later ones are "also". */
static inline void HtestReport(const char *Expr, const char *File, int Line, const char *Values)
{
    if (HtestCurrentFailed++ == 0)
        printf("FAIL %s: %s%s (%s:%d)\n", HtestCurrentName, Expr, Values, File, Line);
    else
        printf("  also: %s%s (%s:%d)\n", Expr, Values, File, Line);
}

static inline void HtestFailValues(const char *Expr, unsigned long long A, unsigned long long B,
                                   const char *File, int Line)
{
    char Values[64];
    snprintf(Values, sizeof(Values), " (0x%llx != 0x%llx)", A, B);
    HtestReport(Expr, File, Line, Values);
}

static inline void HtestFailStrings(const char *Got, const char *GotValue, const char *Want,
                                    const char *File, int Line)
{
    if (HtestCurrentFailed++ == 0)
        printf("FAIL %s: ", HtestCurrentName);
    else
        printf("  also: ");
    printf("%s == \"%s\", want \"%s\" (%s:%d)\n", Got, GotValue, Want, File, Line);
}

/* The case stops with "return;" after a failed ASSERT; EXPECT goes on. */
#define HT_FAILED_ASSERT_ return
#define HT_FAILED_EXPECT_ (void)0

#define HT_CHECK_(expr, onfail)                                            \
    do {                                                                   \
        if (!(expr)) {                                                     \
            HtestReport(#expr, __FILE__, __LINE__, "");                    \
            onfail;                                                        \
        }                                                                  \
    } while (0)

#define HT_CHECK_EQ_(a, b, onfail)                                         \
    do {                                                                   \
        unsigned long long a_ = (unsigned long long)(a);                   \
        unsigned long long b_ = (unsigned long long)(b);                   \
        if (a_ != b_) {                                                    \
            HtestFailValues(#a " == " #b, a_, b_, __FILE__, __LINE__);     \
            onfail;                                                        \
        }                                                                  \
    } while (0)

#define HT_CHECK_STR_(got, want, onfail)                                   \
    do {                                                                   \
        const char *g_ = (got), *w_ = (want);                              \
        if (strcmp(g_, w_) != 0) {                                         \
            HtestFailStrings(#got, g_, w_, __FILE__, __LINE__);            \
            onfail;                                                        \
        }                                                                  \
    } while (0)

#define HT_ASSERT(expr)          HT_CHECK_(expr, HT_FAILED_ASSERT_)
#define HT_EXPECT(expr)          HT_CHECK_(expr, HT_FAILED_EXPECT_)
#define HT_ASSERT_EQ(a, b)       HT_CHECK_EQ_(a, b, HT_FAILED_ASSERT_)
#define HT_EXPECT_EQ(a, b)       HT_CHECK_EQ_(a, b, HT_FAILED_EXPECT_)
#define HT_ASSERT_STATUS(c, s)   HT_CHECK_EQ_((unsigned)(c), (unsigned)(s), HT_FAILED_ASSERT_)
#define HT_EXPECT_STATUS(c, s)   HT_CHECK_EQ_((unsigned)(c), (unsigned)(s), HT_FAILED_EXPECT_)
#define HT_ASSERT_STR(got, want) HT_CHECK_STR_(got, want, HT_FAILED_ASSERT_)
#define HT_EXPECT_STR(got, want) HT_CHECK_STR_(got, want, HT_FAILED_EXPECT_)

/* Deferred cleanup (see the top of this file). */
typedef void (*HT_CLEANUP_ROUTINE)(void *Context);
typedef struct HT_DEFERRED {
    HT_CLEANUP_ROUTINE Routine;     /* NULL once it has run */
    void *Context;
} HT_DEFERRED;
#define HT_MAX_DEFERRED 64
static HT_DEFERRED HtestDeferred[HT_MAX_DEFERRED];
static int HtestDeferredCount;

/* Run Routine(Context) after the case returns; NULL (and a failure) when full. */
static inline HT_DEFERRED *HtDefer(HT_CLEANUP_ROUTINE Routine, void *Context)
{
    if (HtestDeferredCount == HT_MAX_DEFERRED) {
        HtestReport("HtDefer: more than HT_MAX_DEFERRED cleanups pending", __FILE__, __LINE__, "");
        return NULL;
    }
    HtestDeferred[HtestDeferredCount] = (HT_DEFERRED){Routine, Context};
    return &HtestDeferred[HtestDeferredCount++];
}

/* Run a deferred cleanup now; it will not run again. NULL does nothing.
 * The entry is spent (its slot may serve a later HtDefer): do not pass it again. */
static inline void HtCleanupNow(HT_DEFERRED *Entry)
{
    if (Entry != NULL && Entry->Routine != NULL) {
        HT_CLEANUP_ROUTINE Routine = Entry->Routine;
        Entry->Routine = NULL;
        Routine(Entry->Context);
    }
    /* Entries done at the top of the stack free their slots. */
    while (HtestDeferredCount > 0 && HtestDeferred[HtestDeferredCount - 1].Routine == NULL)
        HtestDeferredCount--;
}

#define HTEST_MAIN()                                                       \
    int main(void)                                                         \
    {                                                                      \
        int passed = 0, failed = 0;                                        \
        setvbuf(stdout, NULL, _IOLBF, 0); /* keep lines if a sanitizer aborts */ \
        for (HTEST_CASE *c = HtestFirst; c; c = c->Next) {                 \
            HtestCurrentName = c->Name;                                    \
            HtestCurrentFailed = 0;                                        \
            HtestDeferredCount = 0;                                        \
            c->Run();                                                      \
            while (HtestDeferredCount > 0)                                 \
                HtCleanupNow(&HtestDeferred[HtestDeferredCount - 1]);      \
            if (HtestCurrentFailed) {                                      \
                failed++;                                                  \
            } else {                                                       \
                passed++;                                                  \
                printf("PASS %s\n", c->Name);                              \
            }                                                              \
        }                                                                  \
        printf("%d passed, %d failed\n", passed, failed);                  \
        return failed ? 1 : 0;                                             \
    }

#endif /* PAGODA_HTEST_H */
