/*
 * htest.h - the host unit-test framework: pure kernel logic (the formatter,
 * the multiboot2 parser, the frame bookkeeping, the VAD tree, the pool) is
 * compiled for Linux and exercised here under AddressSanitizer and UBSan.
 *
 * A test program defines cases with HTEST(name) { ... } and ends with
 * HTEST_MAIN(). Each case prints one line, "PASS name" or
 * "FAIL name: expression (file:line)", and the program closes with
 * "N passed, N failed" and exits non-zero when anything failed.
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

/* Check an expression; on failure report it once and leave the case. */
#define HCHECK(expr)                                                       \
    do {                                                                   \
        if (!(expr)) {                                                     \
            printf("FAIL %s: %s (%s:%d)\n", HtestCurrentName, #expr,       \
                   __FILE__, __LINE__);                                    \
            HtestCurrentFailed = 1;                                        \
            return;                                                        \
        }                                                                  \
    } while (0)

/* Compare two C strings, printing both when they differ. */
#define HCHECK_STR(got, want)                                              \
    do {                                                                   \
        const char *g_ = (got), *w_ = (want);                              \
        if (strcmp(g_, w_) != 0) {                                         \
            printf("FAIL %s: %s == \"%s\", want \"%s\" (%s:%d)\n",         \
                   HtestCurrentName, #got, g_, w_, __FILE__, __LINE__);    \
            HtestCurrentFailed = 1;                                        \
            return;                                                        \
        }                                                                  \
    } while (0)

static const char *HtestCurrentName;

#define HTEST_MAIN()                                                       \
    int main(void)                                                         \
    {                                                                      \
        int passed = 0, failed = 0;                                        \
        setvbuf(stdout, NULL, _IOLBF, 0); /* keep lines if a sanitizer aborts */ \
        for (HTEST_CASE *c = HtestFirst; c; c = c->Next) {                 \
            HtestCurrentName = c->Name;                                    \
            HtestCurrentFailed = 0;                                        \
            c->Run();                                                      \
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
