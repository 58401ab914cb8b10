/*
 * test_string.c - host unit tests for rtl/string.c.
 *
 * A host test normally links against the C library's memcpy and friends, so
 * rtl/string.c built with PAGODA_HOST defines none of them. To test the
 * kernel's own versions, this file compiles rtl/string.c a second time,
 * without PAGODA_HOST and with every name changed to Kt* by the macros
 * below; they then live beside the C library's and can be compared with it.
 * RtlStringCopy is renamed as well, so linking rtl/string.c too is harmless.
 *
 * Build and run (from the top of the tree):
 *   gcc -std=c11 -DPAGODA_HOST -g -O1 -fsanitize=address,undefined -Wall -Wextra
 *       -Werror -I. -Iinclude tests/host/test_string.c -o build/host/test_string
 *       && build/host/test_string
 */
#include "htest.h"

#undef PAGODA_HOST
#define memcpy KtMemcpy
#define memmove KtMemmove
#define memset KtMemset
#define memcmp KtMemcmp
#define strlen KtStrlen
#define strnlen KtStrnlen
#define strcmp KtStrcmp
#define strncmp KtStrncmp
#define strchr KtStrchr
#define RtlStringCopy KtRtlStringCopy
#include "../../rtl/string.c"
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef strlen
#undef strnlen
#undef strcmp
#undef strncmp
#undef strchr
#undef RtlStringCopy

/* Only the sign of a comparison is defined. */
static int Sign(int Value)
{
    return (Value > 0) - (Value < 0);
}

HTEST(string_memcpy)
{
    char Src[64], Dest[64];

    for (size_t i = 0; i < sizeof(Src); i++) {
        Src[i] = (char)(i * 7 + 1);
    }
    /* Every length and a few misalignments, with guard bytes around. */
    for (size_t Offset = 0; Offset < 4; Offset++) {
        for (size_t Count = 0; Count + Offset + 1 < sizeof(Dest); Count++) {
            memset(Dest, 0x5A, sizeof(Dest));
            HT_ASSERT(KtMemcpy(Dest + Offset, Src, Count) == Dest + Offset);
            HT_ASSERT(memcmp(Dest + Offset, Src, Count) == 0);
            HT_ASSERT(Offset == 0 || Dest[Offset - 1] == 0x5A);
            HT_ASSERT(Dest[Offset + Count] == 0x5A);
        }
    }
}

HTEST(string_memmove_overlap)
{
    char Buf[16];

    /* Destination above the source: must copy backwards. */
    memcpy(Buf, "abcdefghij", 11);
    HT_ASSERT(KtMemmove(Buf + 2, Buf, 6) == Buf + 2);
    HT_ASSERT(memcmp(Buf, "ababcdefij", 10) == 0);

    /* Destination below the source: forwards. */
    memcpy(Buf, "abcdefghij", 11);
    HT_ASSERT(KtMemmove(Buf, Buf + 3, 7) == Buf);
    HT_ASSERT(memcmp(Buf, "defghijhij", 10) == 0);

    /* Same place, and nothing at all. */
    memcpy(Buf, "abcdefghij", 11);
    KtMemmove(Buf, Buf, 10);
    KtMemmove(Buf + 1, Buf, 0);
    HT_ASSERT_STR(Buf, "abcdefghij");
}

HTEST(string_memset)
{
    unsigned char Buf[32];

    memset(Buf, 0x11, sizeof(Buf));
    HT_ASSERT(KtMemset(Buf + 1, 0xAB, 30) == Buf + 1);
    HT_ASSERT(Buf[0] == 0x11 && Buf[31] == 0x11);
    for (int i = 1; i < 31; i++) {
        HT_ASSERT(Buf[i] == 0xAB);
    }
    KtMemset(Buf, 0x141, 4); /* only the low byte counts */
    HT_ASSERT(Buf[0] == 0x41 && Buf[3] == 0x41 && Buf[4] == 0xAB);
    KtMemset(Buf, 0, 0);
    HT_ASSERT(Buf[0] == 0x41);
}

HTEST(string_memcmp)
{
    HT_ASSERT(KtMemcmp("abc", "abc", 3) == 0);
    HT_ASSERT(KtMemcmp("abc", "abd", 3) < 0);
    HT_ASSERT(KtMemcmp("abd", "abc", 3) > 0);
    HT_ASSERT(KtMemcmp("abc", "xyz", 0) == 0);
    HT_ASSERT(KtMemcmp("ab\0x", "ab\0y", 4) < 0);   /* NULs are ordinary bytes */
    HT_ASSERT(KtMemcmp("\x80", "\x01", 1) > 0);     /* bytes compare unsigned */
}

HTEST(string_strlen)
{
    static const char NotTerminated[4] = { 'a', 'b', 'c', 'd' };

    HT_ASSERT(KtStrlen("") == 0);
    HT_ASSERT(KtStrlen("pagoda") == 6);
    HT_ASSERT(KtStrnlen("pagoda", 3) == 3);
    HT_ASSERT(KtStrnlen("pagoda", 6) == 6);
    HT_ASSERT(KtStrnlen("pagoda", 100) == 6);
    HT_ASSERT(KtStrnlen("pagoda", 0) == 0);
    HT_ASSERT(KtStrnlen(NotTerminated, 4) == 4); /* ASan: no read past the end */
}

HTEST(string_strcmp)
{
    static const char *Words[] = { "", "a", "ab", "abc", "abd", "b", "\x80", "\x7f" };

    for (size_t i = 0; i < ARRAYSIZE(Words); i++) {
        for (size_t j = 0; j < ARRAYSIZE(Words); j++) {
            HT_ASSERT(Sign(KtStrcmp(Words[i], Words[j])) == Sign(strcmp(Words[i], Words[j])));
            for (size_t n = 0; n < 5; n++) {
                HT_ASSERT(Sign(KtStrncmp(Words[i], Words[j], n)) ==
                          Sign(strncmp(Words[i], Words[j], n)));
            }
        }
    }
    HT_ASSERT(KtStrncmp("abcX", "abcY", 3) == 0);
    HT_ASSERT(KtStrncmp("x", "y", 0) == 0);
}

HTEST(string_strchr)
{
    const char *S = "pagoda";

    HT_ASSERT(KtStrchr(S, 'p') == S);
    HT_ASSERT(KtStrchr(S, 'a') == S + 1); /* the first one */
    HT_ASSERT(KtStrchr(S, 'z') == NULL);
    HT_ASSERT(KtStrchr(S, '\0') == S + 6); /* the terminator counts */
    HT_ASSERT(KtStrchr(S, 'g' + 256) == S + 2); /* converted to char first */
}

HTEST(string_copy)
{
    char Buf[8];

    memset(Buf, 'X', sizeof(Buf));
    HT_ASSERT(KtRtlStringCopy(Buf, "hello", sizeof(Buf)) == 5);
    HT_ASSERT_STR(Buf, "hello");
    HT_ASSERT(Buf[6] == 'X');

    /* Exact fit: five characters and the NUL in six bytes. */
    HT_ASSERT(KtRtlStringCopy(Buf, "hello", 6) == 5);
    HT_ASSERT_STR(Buf, "hello");

    /* Truncated: the result >= Size says so. */
    HT_ASSERT(KtRtlStringCopy(Buf, "hello", 5) == 5);
    HT_ASSERT_STR(Buf, "hell");
    HT_ASSERT(KtRtlStringCopy(Buf, "hello", 1) == 5);
    HT_ASSERT_STR(Buf, "");

    /* Size 0 writes nothing at all. */
    memset(Buf, 'X', sizeof(Buf));
    HT_ASSERT(KtRtlStringCopy(Buf, "hello", 0) == 5);
    HT_ASSERT(Buf[0] == 'X');
    HT_ASSERT(KtRtlStringCopy(NULL, "hello", 0) == 5);

    HT_ASSERT(KtRtlStringCopy(Buf, "", sizeof(Buf)) == 0);
    HT_ASSERT_STR(Buf, "");
}

HTEST_MAIN()
