/*
 * test_pattern.c - host unit tests for rtl/pattern.c: the glob lists that
 * "ktest=PATTERN" uses to select in-kernel tests.
 */
#include "htest.h"
#include "../../rtl/rtl.h"

/* ---------------------------------------------------------------------- */
/* ktest name patterns                                                     */
/* ---------------------------------------------------------------------- */

HTEST(pattern_empty_matches_everything)
{
    HT_ASSERT(RtlMatchNamePattern("", "mm_pool_alloc"));
    HT_ASSERT(RtlMatchNamePattern("", ""));
    HT_ASSERT(RtlMatchNamePattern(NULL, "anything"));
    HT_ASSERT(!RtlMatchNamePattern("mm", NULL));
}

HTEST(pattern_exact)
{
    HT_ASSERT(RtlMatchNamePattern("ke_event_set", "ke_event_set"));
    HT_ASSERT(!RtlMatchNamePattern("ke_event_set", "ke_event_set2"));
    HT_ASSERT(!RtlMatchNamePattern("ke_event_set", "ke_event_se"));
    HT_ASSERT(!RtlMatchNamePattern("mm", "mm_pool"));
    HT_ASSERT(!RtlMatchNamePattern("abc", ""));
}

HTEST(pattern_prefix_and_suffix)
{
    HT_ASSERT(RtlMatchNamePattern("mm_*", "mm_pool_alloc"));
    HT_ASSERT(RtlMatchNamePattern("mm_*", "mm_"));
    HT_ASSERT(!RtlMatchNamePattern("mm_*", "mm"));
    HT_ASSERT(!RtlMatchNamePattern("mm_*", "ke_mm_x"));

    HT_ASSERT(RtlMatchNamePattern("*_free", "pool_free"));
    HT_ASSERT(RtlMatchNamePattern("*_free", "_free"));
    HT_ASSERT(!RtlMatchNamePattern("*_free", "pool_free_list"));
    HT_ASSERT(RtlMatchNamePattern("*free", "free_and_free"));

    HT_ASSERT(RtlMatchNamePattern("*", "x"));
    HT_ASSERT(RtlMatchNamePattern("*", ""));
    HT_ASSERT(RtlMatchNamePattern("**", "abc"));
}

HTEST(pattern_several_stars)
{
    HT_ASSERT(RtlMatchNamePattern("a*b*c", "abc"));
    HT_ASSERT(RtlMatchNamePattern("a*b*c", "aXXbYYc"));
    HT_ASSERT(RtlMatchNamePattern("a*b*c", "abbbcbc"));
    HT_ASSERT(!RtlMatchNamePattern("a*b*c", "aXXbYY"));
    HT_ASSERT(!RtlMatchNamePattern("a*b*c", "acb"));
    HT_ASSERT(RtlMatchNamePattern("*pool*", "mm_pool_alloc"));
    HT_ASSERT(RtlMatchNamePattern("a*b", "aXbYb"));     /* needs backtracking */
    HT_ASSERT(!RtlMatchNamePattern("a*b", "aXbY"));
    HT_ASSERT(RtlMatchNamePattern("*a*a*a*", "bababab"));
    HT_ASSERT(!RtlMatchNamePattern("*a*a*a*", "babab"));
}

HTEST(pattern_lists)
{
    const char *List = "ke_event_*,mm_pool_alloc,*_fault";

    HT_ASSERT(RtlMatchNamePattern(List, "ke_event_wait"));
    HT_ASSERT(RtlMatchNamePattern(List, "mm_pool_alloc"));
    HT_ASSERT(RtlMatchNamePattern(List, "mm_page_fault"));
    HT_ASSERT(!RtlMatchNamePattern(List, "mm_pool_free"));
    HT_ASSERT(!RtlMatchNamePattern(List, "ke_timer"));

    /* Empty alternatives match nothing; the others still count. */
    HT_ASSERT(RtlMatchNamePattern("a,,b,", "b"));
    HT_ASSERT(!RtlMatchNamePattern("a,,b,", "c"));
    HT_ASSERT(!RtlMatchNamePattern(",", "x"));
    HT_ASSERT(!RtlMatchNamePattern(",", ""));
}

HTEST_MAIN()
