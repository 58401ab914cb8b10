/*
 * test_format.c - host unit tests for the formatter in rtl/format.c.
 *
 * Expected strings are written out by hand; the C library's snprintf is used
 * only as an extra cross-check, for the cases where C defines the result.
 *
 * Build and run (from the top of the tree):
 *   gcc -std=c11 -DPAGODA_HOST -g -O1 -fsanitize=address,undefined -Wall -Wextra
 *       -Werror -I. -Iinclude tests/host/test_format.c rtl/format.c rtl/string.c
 *       -o build/host/test_format && build/host/test_format
 */
#include "htest.h"
#include "rtl/rtl.h"

#include <limits.h>

/*
 * gcc knows printf-like functions well enough to object to an empty format
 * and to a NULL %s, and to predict output larger than INT_MAX; here those
 * are exactly the cases under test.
 */
#pragma GCC diagnostic ignored "-Wformat-zero-length"
#pragma GCC diagnostic ignored "-Wformat-overflow"

static char Out[256];

/*
 * Format into Out and check both the text and the return value, which for
 * a buffer this large is simply the length of the text.
 */
#define CHECK_FMT(want, ...)                                               \
    do {                                                                   \
        int n_ = RtlFormatBuffer(Out, sizeof(Out), __VA_ARGS__);           \
        HT_ASSERT_STR(Out, want);                                          \
        HT_ASSERT(n_ == (int)strlen(want));                                \
    } while (0)

HTEST(format_plain_text)
{
    CHECK_FMT("", "");
    CHECK_FMT("hello, world\n", "hello, world\n");
    CHECK_FMT("100%", "100%%");
    CHECK_FMT("%%", "%%%%");
}

HTEST(format_signed_decimal)
{
    CHECK_FMT("0", "%d", 0);
    CHECK_FMT("42", "%d", 42);
    CHECK_FMT("-42", "%d", -42);
    CHECK_FMT("-7", "%i", -7);
    CHECK_FMT("2147483647", "%d", INT_MAX);
    CHECK_FMT("-2147483648", "%d", INT_MIN);
    CHECK_FMT("a1b-2c", "a%db%dc", 1, -2);
}

HTEST(format_unsigned_and_hex)
{
    CHECK_FMT("0", "%u", 0u);
    CHECK_FMT("4294967295", "%u", UINT_MAX);
    CHECK_FMT("0", "%x", 0u);
    CHECK_FMT("deadbeef", "%x", 0xDEADBEEFu);
    CHECK_FMT("DEADBEEF", "%X", 0xDEADBEEFu);
    CHECK_FMT("ffffffff", "%x", UINT_MAX);
    CHECK_FMT("ffffffff", "%x", -1); /* the bits of an int, as C does */
}

HTEST(format_length_hh_h)
{
    CHECK_FMT("-56", "%hhd", 200);  /* (signed char)200 */
    CHECK_FMT("5", "%hhu", 261);    /* (unsigned char)261 */
    CHECK_FMT("ff", "%hhx", -1);
    CHECK_FMT("-128", "%hhd", -128);
    CHECK_FMT("-25536", "%hd", 40000); /* (short)40000 */
    CHECK_FMT("65535", "%hu", -1);
    CHECK_FMT("FFFF", "%hX", -1);
    CHECK_FMT("-32768", "%hd", SHRT_MIN);
}

HTEST(format_length_l_ll)
{
    CHECK_FMT("-9223372036854775808", "%ld", LONG_MIN);
    CHECK_FMT("9223372036854775807", "%ld", LONG_MAX);
    CHECK_FMT("18446744073709551615", "%lu", ULONG_MAX);
    CHECK_FMT("ffffffffffffffff", "%lx", ULONG_MAX);
    CHECK_FMT("-9223372036854775808", "%lld", (long long)INT64_MIN);
    CHECK_FMT("9223372036854775807", "%lld", (long long)INT64_MAX);
    CHECK_FMT("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
    CHECK_FMT("ffffffffffffffff", "%llx", (unsigned long long)UINT64_MAX);
    CHECK_FMT("FFFFFFFF80100000", "%llX", 0xFFFFFFFF80100000ull);
    CHECK_FMT("-1", "%lli", -1ll);
    CHECK_FMT("4294967296", "%llu", 1ull << 32); /* not truncated to 32 bits */
}

HTEST(format_length_z)
{
    CHECK_FMT("0", "%zu", (size_t)0);
    CHECK_FMT("4096", "%zu", sizeof(char[4096]));
    CHECK_FMT("18446744073709551615", "%zu", SIZE_MAX);
    CHECK_FMT("ffffffffffffffff", "%zx", SIZE_MAX);
    CHECK_FMT("-1", "%zd", (ptrdiff_t)-1);
}

HTEST(format_width)
{
    CHECK_FMT("   42", "%5d", 42);
    CHECK_FMT("  -42", "%5d", -42);
    CHECK_FMT("42   |", "%-5d|", 42);
    CHECK_FMT("-42  |", "%-5d|", -42);
    CHECK_FMT("12345", "%2d", 12345); /* too narrow: never truncates */
    CHECK_FMT("12345", "%5d", 12345); /* exact */
    CHECK_FMT("    beef", "%8x", 0xBEEFu);
    CHECK_FMT("beef    |", "%-8x|", 0xBEEFu);
    CHECK_FMT("-9223372036854775808", "%5lld", (long long)INT64_MIN);
}

HTEST(format_zero_pad)
{
    CHECK_FMT("00042", "%05d", 42);
    CHECK_FMT("-0042", "%05d", -42); /* the sign comes before the zeros */
    CHECK_FMT("0000beef", "%08x", 0xBEEFu);
    CHECK_FMT("0000BEEF", "%08X", 0xBEEFu);
    CHECK_FMT("00000", "%05u", 0u);
    CHECK_FMT("123456", "%05d", 123456);
    CHECK_FMT("00000000ffffffff", "%016llx", 0xFFFFFFFFull);
}

HTEST(format_star_width)
{
    CHECK_FMT("   42", "%*d", 5, 42);
    CHECK_FMT("42   |", "%*d|", -5, 42); /* negative width: left justify */
    CHECK_FMT("42   |", "%-*d|", 5, 42);
    CHECK_FMT("00042", "%0*d", 5, 42);
    CHECK_FMT("42", "%*d", 0, 42);
    CHECK_FMT("  hi", "%*s", 4, "hi");
}

HTEST(format_sign_flags)
{
    CHECK_FMT("+5", "%+d", 5);
    CHECK_FMT("-5", "%+d", -5);
    CHECK_FMT("+0", "%+d", 0);
    CHECK_FMT(" 5", "% d", 5);
    CHECK_FMT("-5", "% d", -5);
    CHECK_FMT("+0005", "%+05d", 5);
    CHECK_FMT("   +5", "%+5d", 5);
    CHECK_FMT("+5   |", "%-+5d|", 5);
}

HTEST(format_alternate_hex)
{
    CHECK_FMT("0xff", "%#x", 255u);
    CHECK_FMT("0XFF", "%#X", 255u);
    CHECK_FMT("0", "%#x", 0u); /* C prints no 0x before a zero */
    CHECK_FMT("0x000000ff", "%#010x", 255u);
    CHECK_FMT("      0xff", "%#10x", 255u);
}

HTEST(format_integer_precision)
{
    CHECK_FMT("005", "%.3d", 5);
    CHECK_FMT("-005", "%.3d", -5);
    CHECK_FMT("12345", "%.3d", 12345);
    CHECK_FMT("", "%.0d", 0); /* C: precision 0 and value 0 print no digits */
    CHECK_FMT("", "%.d", 0);
    CHECK_FMT("     ", "%5.0d", 0);
    CHECK_FMT("  00ff", "%6.4x", 255u);
    CHECK_FMT("0x00ff", "%#.4x", 255u);
    CHECK_FMT("007", "%.*u", 3, 7u);
    CHECK_FMT("7", "%.*u", -3, 7u); /* negative precision: as if none */
}

HTEST(format_pointer)
{
    CHECK_FMT("0x0000000000000000", "%p", (void *)0);
    CHECK_FMT("0xffffffff80100000", "%p", (void *)0xFFFFFFFF80100000ull);
    CHECK_FMT("0x0000000000001234", "%p", (void *)0x1234);
    CHECK_FMT("0x00007fffffffffff", "%p", (void *)0x7FFFFFFFFFFFull);
    CHECK_FMT("  0x0000000000001234", "%20p", (void *)0x1234);
    CHECK_FMT("0x0000000000001234  |", "%-20p|", (void *)0x1234);
    CHECK_FMT("0x0000000000001234", "%5p", (void *)0x1234);
}

HTEST(format_string)
{
    CHECK_FMT("hello", "%s", "hello");
    CHECK_FMT("", "%s", "");
    CHECK_FMT("(null)", "%s", (char *)NULL);
    CHECK_FMT("     hello", "%10s", "hello");
    CHECK_FMT("hello     |", "%-10s|", "hello");
    CHECK_FMT("hello", "%3s", "hello");
    CHECK_FMT("   ", "%3s", "");
    CHECK_FMT("  (null)", "%8s", (char *)NULL);
    CHECK_FMT("[a] [b]", "[%s] [%s]", "a", "b");
}

HTEST(format_string_precision)
{
    static const char NotTerminated[3] = { 'a', 'b', 'c' };

    CHECK_FMT("hel", "%.3s", "hello");
    CHECK_FMT("", "%.0s", "hello");
    CHECK_FMT("hi", "%.10s", "hi");
    CHECK_FMT("he", "%.*s", 2, "hello");
    CHECK_FMT("hello", "%.*s", -1, "hello"); /* negative: as if none */
    CHECK_FMT("       hel", "%10.3s", "hello");
    CHECK_FMT("hel       |", "%-10.3s|", "hello");
    CHECK_FMT("  he", "%*.*s", 4, 2, "hello");
    /* Precision bounds the read too: ASan would catch a read past 'c'. */
    CHECK_FMT("abc", "%.3s", NotTerminated);
}

HTEST(format_char)
{
    CHECK_FMT("A", "%c", 'A');
    CHECK_FMT("  A", "%3c", 'A');
    CHECK_FMT("A  |", "%-3c|", 'A');
    CHECK_FMT("x=y", "%c=%c", 'x', 'y');
    CHECK_FMT("\xff", "%c", 0xFF);
}

/*
 * These formats are deliberately wrong or unusual, and gcc's format checks
 * say so; the point is what the formatter does with them.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"

HTEST(format_unknown_conversion)
{
    CHECK_FMT("%q", "%q");
    CHECK_FMT("a%qb", "a%qb");
    CHECK_FMT("%-5q", "%-5q");     /* the whole specification is echoed */
    CHECK_FMT("%y7", "%y%d", 7);   /* and it consumes no argument */
    CHECK_FMT("%n", "%n");         /* %n is not supported: no writes through arguments */
    CHECK_FMT("abc%", "abc%");     /* a lone '%' at the end */
    CHECK_FMT("%5", "%5");         /* a specification cut short by the end */
    CHECK_FMT("%ll", "%ll");
}

HTEST(format_flag_interplay)
{
    CHECK_FMT("42   |", "%-05d|", 42);     /* '-' beats '0' */
    CHECK_FMT("     005", "%08.3d", 5);   /* a precision turns '0' off */
    CHECK_FMT("+5", "%+ d", 5);           /* '+' beats ' ' */
    CHECK_FMT("   hi", "%05s", "hi");     /* '0' pads numbers only */
    CHECK_FMT("    A", "%05c", 'A');
}

HTEST(format_huge_width_is_clamped)
{
    /* Widths are clamped to 4096, so these neither overflow nor take forever. */
    HT_ASSERT(RtlFormatBuffer(Out, sizeof(Out), "%*d", INT_MIN, 1) == 4096);
    HT_ASSERT(Out[0] == '1' && Out[1] == ' ');
    HT_ASSERT(RtlFormatBuffer(Out, sizeof(Out), "%99999999999999999999d", 1) == 4096);
    HT_ASSERT(RtlFormatBuffer(Out, sizeof(Out), "%.99999999999999999999d", 1) == 4096);
    HT_ASSERT(RtlFormatBuffer(Out, sizeof(Out), "%*d", INT_MAX, 1) == 4096);
}

#pragma GCC diagnostic pop

HTEST(format_many_arguments)
{
    /* More arguments than fit in registers: the rest come from the stack. */
    CHECK_FMT("1 2 3 4 5 6 7 8 -9223372036854775808 end x 0x0000000000000010",
              "%d %d %d %d %d %d %d %d %lld %s %c %p", 1, 2, 3, 4, 5, 6, 7, 8,
              (long long)INT64_MIN, "end", 'x', (void *)16);
}

HTEST(format_truncation)
{
    char Buf[16];

    /* Size 0: nothing is written, not even a NUL; the length comes back. */
    memset(Buf, 'X', sizeof(Buf));
    HT_ASSERT(RtlFormatBuffer(Buf, 0, "hello") == 5);
    HT_ASSERT(Buf[0] == 'X');
    HT_ASSERT(RtlFormatBuffer(NULL, 0, "%d", -12345) == 6); /* measuring only */

    /* Size 1: just the NUL. */
    memset(Buf, 'X', sizeof(Buf));
    HT_ASSERT(RtlFormatBuffer(Buf, 1, "hello") == 5);
    HT_ASSERT(Buf[0] == '\0' && Buf[1] == 'X');

    /* One short: the last character makes way for the NUL. */
    memset(Buf, 'X', sizeof(Buf));
    HT_ASSERT(RtlFormatBuffer(Buf, 5, "hello") == 5);
    HT_ASSERT_STR(Buf, "hell");
    HT_ASSERT(Buf[5] == 'X');

    /* Exact fit: all five characters and the NUL, nothing beyond. */
    memset(Buf, 'X', sizeof(Buf));
    HT_ASSERT(RtlFormatBuffer(Buf, 6, "hello") == 5);
    HT_ASSERT_STR(Buf, "hello");
    HT_ASSERT(Buf[6] == 'X');

    /* Cut in the middle of a number, a padded field and a string. */
    HT_ASSERT(RtlFormatBuffer(Buf, 4, "%d", 123456) == 6);
    HT_ASSERT_STR(Buf, "123");
    HT_ASSERT(RtlFormatBuffer(Buf, 4, "%8d", 1) == 8);
    HT_ASSERT_STR(Buf, "   ");
    HT_ASSERT(RtlFormatBuffer(Buf, 8, "%s=%p", "va", (void *)0) == 21);
    HT_ASSERT_STR(Buf, "va=0x00");
}

/* RtlFormatV with a sink of our own: every character arrives, in order. */
typedef struct {
    char Text[64];
    int Calls;
} TEST_SINK;

static void TestSink(PVOID Context, char C)
{
    TEST_SINK *Sink = Context;

    if (Sink->Calls < (int)sizeof(Sink->Text) - 1) {
        Sink->Text[Sink->Calls] = C;
    }
    Sink->Calls++;
}

static int TestFormat(TEST_SINK *Sink, const char *Format, ...)
{
    va_list Args;
    int Count;

    memset(Sink, 0, sizeof(*Sink));
    va_start(Args, Format);
    Count = RtlFormatV(TestSink, Sink, Format, Args);
    va_end(Args);
    return Count;
}

HTEST(format_sink)
{
    TEST_SINK Sink;

    HT_ASSERT(TestFormat(&Sink, "irql=%u tag=%c%c%c%c", 2u, 'P', 'o', 'o', 'l') == 15);
    HT_ASSERT(Sink.Calls == 15);
    HT_ASSERT_STR(Sink.Text, "irql=2 tag=Pool");

    HT_ASSERT(TestFormat(&Sink, "") == 0);
    HT_ASSERT(Sink.Calls == 0);

    /* A %c of NUL is a character like any other. */
    HT_ASSERT(TestFormat(&Sink, "a%cb", '\0') == 3);
    HT_ASSERT(Sink.Calls == 3 && Sink.Text[0] == 'a' && Sink.Text[1] == '\0' && Sink.Text[2] == 'b');
}

/*
 * Cross-check against the C library for formats whose output C defines
 * (%p is left out: glibc prints "(nil)" and drops leading zeros).
 */
#define XCHECK(...)                                                        \
    do {                                                                   \
        char want_[256];                                                   \
        int nwant_ = snprintf(want_, sizeof(want_), __VA_ARGS__);          \
        int ngot_ = RtlFormatBuffer(Out, sizeof(Out), __VA_ARGS__);        \
        HT_ASSERT_STR(Out, want_);                                         \
        HT_ASSERT(ngot_ == nwant_);                                        \
    } while (0)

HTEST(format_matches_libc)
{
    static const int Ints[] = { 0, 1, -1, 9, 10, -10, 12345, INT_MAX, INT_MIN };
    static const long long Longs[] = { 0, -1, 1ll << 40, INT64_MAX, INT64_MIN };

    for (size_t i = 0; i < ARRAYSIZE(Ints); i++) {
        int V = Ints[i];
        XCHECK("%d|%i|%u|%x|%X", V, V, (unsigned)V, (unsigned)V, (unsigned)V);
        XCHECK("%12d|%-12d|%012d|%+d|% d", V, V, V, V, V);
        XCHECK("%.5d|%8.5d|%-8.5d|%.0d|%#x|%#012X", V, V, V, V, (unsigned)V, (unsigned)V);
        XCHECK("%hhd|%hhu|%hd|%hu|%hhx|%hx", V, V, V, V, V, V);
        XCHECK("%*d|%-*u|%.*x", (int)i - 4, V, (int)i, (unsigned)V, (int)i, (unsigned)V);
    }
    for (size_t i = 0; i < ARRAYSIZE(Longs); i++) {
        long long V = Longs[i];
        XCHECK("%lld|%llu|%llx|%llX|%ld|%lu|%lx", V, (unsigned long long)V,
               (unsigned long long)V, (unsigned long long)V, (long)V,
               (unsigned long)V, (unsigned long)V);
        XCHECK("%25lld|%-25lld|%025lld|%+lld|%.22lld", V, V, V, V, V);
        XCHECK("%zu|%zx|%zd", (size_t)V, (size_t)V, (ptrdiff_t)V);
    }
    XCHECK("%s|%8s|%-8s|%.2s|%8.2s|%-8.2s|%.*s|", "pagoda", "pagoda", "pagoda",
           "pagoda", "pagoda", "pagoda", 3, "pagoda");
    XCHECK("%c|%4c|%-4c|%%", 'k', 'e', 'x');
}

HTEST_MAIN()
