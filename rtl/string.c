/*
 * string.c - memory and string routines under their C names, plus
 * RtlStringCopy.
 *
 * A freestanding kernel has no C library, yet gcc emits calls to memcpy,
 * memmove, memset and memcmp on its own (for structure copies and
 * initialisers), so those must exist. memcpy and memset use the x86 string
 * string instructions (`rep movsq`/`rep stosq` for the bulk, `rep movsb`/
 * `rep stosb` for the tail; Intel SDM Vol. 1, 7.3.9.3); the others
 * are plain byte loops, easy to read and fast enough for a teaching kernel.
 *
 * Host unit tests define PAGODA_HOST and link against the C library, so in
 * that build only RtlStringCopy is defined here.
 *
 * Everything is pure: no locks, no state, safe at any IRQL.
 */
#include "rtl.h"

#ifndef PAGODA_HOST

/*
 * gcc recognises loops that copy, fill or scan bytes and replaces them with
 * calls to memcpy, memmove, memset or strlen - inside those very functions
 * that is infinite recursion (without -ffreestanding, gcc 12 -O3 turns the
 * strlen loop below into a call to strlen). -ffreestanding normally prevents
 * it; this attribute keeps the file safe whatever the flags.
 */
#if defined(__clang__)
#define RTLP_NO_LIBCALLS /* clang has no such attribute; rely on -ffreestanding */
#else
#define RTLP_NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif

/*
 * Copy Count bytes from Src to Dest, which must not overlap. Returns Dest.
 * `rep movsb` copies RCX bytes from [RSI] to [RDI], forwards because the
 * System V ABI guarantees the direction flag is clear on function entry.
 */
void *memcpy(void *Dest, const void *Src, size_t Count)
{
    void *Result = Dest;
    size_t Quads = Count / 8, Bytes = Count % 8;

    /* Eight bytes per step (`rep movsq`), then the rest byte by byte. On
     * hardware both run at full speed; under QEMU's -icount each step is
     * one counted instruction, so a page copies in 512, not 4,096. */
    __asm__ volatile("rep movsq"
                     : "+D"(Dest), "+S"(Src), "+c"(Quads)
                     :
                     : "memory");
    __asm__ volatile("rep movsb"
                     : "+D"(Dest), "+S"(Src), "+c"(Bytes)
                     :
                     : "memory");
    return Result;
}

/*
 * Copy Count bytes from Src to Dest; the two may overlap. Returns Dest.
 * When Dest lies above Src, copying forwards would overwrite source bytes
 * before reading them, so that case copies backwards.
 */
RTLP_NO_LIBCALLS void *memmove(void *Dest, const void *Src, size_t Count)
{
    unsigned char *D = Dest;
    const unsigned char *S = Src;

    if (D < S) {
        while (Count-- > 0) {
            *D++ = *S++;
        }
    } else if (D > S) {
        while (Count-- > 0) {
            D[Count] = S[Count];
        }
    }
    return Dest;
}

/* Fill Count bytes at Dest with (unsigned char)Value. Returns Dest. */
void *memset(void *Dest, int Value, size_t Count)
{
    void *Result = Dest;

    /* `rep stosq` stores RAX (the byte repeated eight times) into RCX
     * quadwords at [RDI]; `rep stosb` does the remaining bytes. */
    size_t Quads = Count / 8, Bytes = Count % 8;
    unsigned long long Pattern = (unsigned char)Value * 0x0101010101010101ULL;
    __asm__ volatile("rep stosq"
                     : "+D"(Dest), "+c"(Quads)
                     : "a"(Pattern)
                     : "memory");
    __asm__ volatile("rep stosb"
                     : "+D"(Dest), "+c"(Bytes)
                     : "a"(Pattern)
                     : "memory");
    return Result;
}

/*
 * Compare Count bytes as unsigned chars. Returns <0, 0 or >0 as A sorts
 * before, equal to or after B.
 */
RTLP_NO_LIBCALLS int memcmp(const void *A, const void *B, size_t Count)
{
    const unsigned char *P = A, *Q = B;

    for (size_t i = 0; i < Count; i++) {
        if (P[i] != Q[i]) {
            return P[i] - Q[i];
        }
    }
    return 0;
}

/* The number of characters before the terminating NUL. */
RTLP_NO_LIBCALLS size_t strlen(const char *S)
{
    size_t Length = 0;

    while (S[Length] != '\0') {
        Length++;
    }
    return Length;
}

/* Like strlen, but reads at most Max characters and returns at most Max. */
RTLP_NO_LIBCALLS size_t strnlen(const char *S, size_t Max)
{
    size_t Length = 0;

    while (Length < Max && S[Length] != '\0') {
        Length++;
    }
    return Length;
}

/*
 * Compare two strings as unsigned chars. Returns <0, 0 or >0 as A sorts
 * before, equal to or after B.
 */
RTLP_NO_LIBCALLS int strcmp(const char *A, const char *B)
{
    const unsigned char *P = (const unsigned char *)A;
    const unsigned char *Q = (const unsigned char *)B;

    while (*P != '\0' && *P == *Q) {
        P++;
        Q++;
    }
    return *P - *Q;
}

/* Like strcmp, but compares at most Count characters. */
RTLP_NO_LIBCALLS int strncmp(const char *A, const char *B, size_t Count)
{
    const unsigned char *P = (const unsigned char *)A;
    const unsigned char *Q = (const unsigned char *)B;

    for (size_t i = 0; i < Count; i++) {
        if (P[i] != Q[i] || P[i] == '\0') {
            return P[i] - Q[i];
        }
    }
    return 0;
}

/*
 * The first occurrence of (char)C in S, or NULL. As in C, the terminating
 * NUL is part of the string, so strchr(S, '\0') points at it.
 */
RTLP_NO_LIBCALLS char *strchr(const char *S, int C)
{
    for (;; S++) {
        if (*S == (char)C) {
            return (char *)S;
        }
        if (*S == '\0') {
            return NULL;
        }
    }
}

#endif /* !PAGODA_HOST */

/*
 * Copy at most Size - 1 bytes of Src into Dest and terminate it (when
 * Size > 0). Returns strlen(Src), so the copy was truncated if the result
 * is >= Size. Dest and Src must not overlap.
 */
size_t RtlStringCopy(char *Dest, const char *Src, size_t Size)
{
    size_t Length = strlen(Src);

    if (Size > 0) {
        size_t Copied = Length < Size - 1 ? Length : Size - 1;
        memcpy(Dest, Src, Copied);
        Dest[Copied] = '\0';
    }
    return Length;
}
