/*
 * test_rtl.c - the formatter built with the kernel's flags (no SSE, no red
 * zone, mcmodel=kernel), on the cases the boot log relies on. The host
 * tests (tests/host/test_format.c) cover the rest.
 */
#include "../../include/ktest.h"
#include "../../rtl/rtl.h"

KTEST(rtl, format_edge_cases)
{
    char B[64];
    RtlFormatBuffer(B, sizeof(B), "%d|%i|%u|%x|%X", -42, 7, 4000000000u, 0xbeef, 0xBEEF);
    KT_ASSERT(strcmp(B, "-42|7|4000000000|beef|BEEF") == 0);
    RtlFormatBuffer(B, sizeof(B), "%016llx %p", 0xFFFFFFFF80100000ULL, (PVOID)0);
    KT_ASSERT(strcmp(B, "ffffffff80100000 0x0000000000000000") == 0);
    RtlFormatBuffer(B, sizeof(B), "[%5s][%-5s][%c][%%][%zu]", "ab", "cd", 'x', (size_t)12);
    KT_ASSERT(strcmp(B, "[   ab][cd   ][x][%][12]") == 0);
    RtlFormatBuffer(B, sizeof(B), "%lld %llu", -9223372036854775807LL - 1, 18446744073709551615ULL);
    KT_ASSERT(strcmp(B, "-9223372036854775808 18446744073709551615") == 0);
    KT_ASSERT(RtlFormatBuffer(B, 4, "%s", "truncated") == 9);
    KT_ASSERT(strcmp(B, "tru") == 0);
    const char *volatile Null = NULL; /* hidden from gcc's format check */
    RtlFormatBuffer(B, sizeof(B), "%s", Null);
    KT_ASSERT(strcmp(B, "(null)") == 0);
}
