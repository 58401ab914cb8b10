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
    HCHECK(RtlMatchNamePattern("", "mm_pool_alloc"));
    HCHECK(RtlMatchNamePattern("", ""));
    HCHECK(RtlMatchNamePattern(NULL, "anything"));
    HCHECK(!RtlMatchNamePattern("mm", NULL));
}

HTEST(pattern_exact)
{
    HCHECK(RtlMatchNamePattern("ke_event_set", "ke_event_set"));
    HCHECK(!RtlMatchNamePattern("ke_event_set", "ke_event_set2"));
    HCHECK(!RtlMatchNamePattern("ke_event_set", "ke_event_se"));
    HCHECK(!RtlMatchNamePattern("mm", "mm_pool"));
    HCHECK(!RtlMatchNamePattern("abc", ""));
}

HTEST(pattern_prefix_and_suffix)
{
    HCHECK(RtlMatchNamePattern("mm_*", "mm_pool_alloc"));
    HCHECK(RtlMatchNamePattern("mm_*", "mm_"));
    HCHECK(!RtlMatchNamePattern("mm_*", "mm"));
    HCHECK(!RtlMatchNamePattern("mm_*", "ke_mm_x"));

    HCHECK(RtlMatchNamePattern("*_free", "pool_free"));
    HCHECK(RtlMatchNamePattern("*_free", "_free"));
    HCHECK(!RtlMatchNamePattern("*_free", "pool_free_list"));
    HCHECK(RtlMatchNamePattern("*free", "free_and_free"));

    HCHECK(RtlMatchNamePattern("*", "x"));
    HCHECK(RtlMatchNamePattern("*", ""));
    HCHECK(RtlMatchNamePattern("**", "abc"));
}

HTEST(pattern_several_stars)
{
    HCHECK(RtlMatchNamePattern("a*b*c", "abc"));
    HCHECK(RtlMatchNamePattern("a*b*c", "aXXbYYc"));
    HCHECK(RtlMatchNamePattern("a*b*c", "abbbcbc"));
    HCHECK(!RtlMatchNamePattern("a*b*c", "aXXbYY"));
    HCHECK(!RtlMatchNamePattern("a*b*c", "acb"));
    HCHECK(RtlMatchNamePattern("*pool*", "mm_pool_alloc"));
    HCHECK(RtlMatchNamePattern("a*b", "aXbYb"));     /* needs backtracking */
    HCHECK(!RtlMatchNamePattern("a*b", "aXbY"));
    HCHECK(RtlMatchNamePattern("*a*a*a*", "bababab"));
    HCHECK(!RtlMatchNamePattern("*a*a*a*", "babab"));
}

HTEST(pattern_lists)
{
    const char *List = "ke_event_*,mm_pool_alloc,*_fault";

    HCHECK(RtlMatchNamePattern(List, "ke_event_wait"));
    HCHECK(RtlMatchNamePattern(List, "mm_pool_alloc"));
    HCHECK(RtlMatchNamePattern(List, "mm_page_fault"));
    HCHECK(!RtlMatchNamePattern(List, "mm_pool_free"));
    HCHECK(!RtlMatchNamePattern(List, "ke_timer"));

    /* Empty alternatives match nothing; the others still count. */
    HCHECK(RtlMatchNamePattern("a,,b,", "b"));
    HCHECK(!RtlMatchNamePattern("a,,b,", "c"));
    HCHECK(!RtlMatchNamePattern(",", "x"));
    HCHECK(!RtlMatchNamePattern(",", ""));
}

HTEST_MAIN()
