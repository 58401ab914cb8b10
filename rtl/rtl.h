/*
 * rtl.h - the run-time library shared by the kernel, user mode and the host
 * unit tests: memory and string routines with their C names (gcc emits calls
 * to memcpy and memset on its own, so those names must exist), and the
 * formatter behind DbgPrint, RtlStringCbPrintfA and the user-mode printf.
 *
 * Everything here is pure: no locks, no allocation, no IRQL rules, safe at
 * any IRQL and in any mode.
 */
#ifndef PAGODA_RTL_H
#define PAGODA_RTL_H

#include "../include/ntdef.h"

#ifdef PAGODA_HOST
#include <string.h>
#else
void *memcpy(void *Dest, const void *Src, size_t Count);
void *memmove(void *Dest, const void *Src, size_t Count);
void *memset(void *Dest, int Value, size_t Count);
int memcmp(const void *A, const void *B, size_t Count);
size_t strlen(const char *S);
size_t strnlen(const char *S, size_t Max);
int strcmp(const char *A, const char *B);
int strncmp(const char *A, const char *B, size_t Count);
char *strchr(const char *S, int C);
#endif

/*
 * Copy at most Size - 1 bytes of Src into Dest and always terminate it
 * (when Size > 0). Returns strlen(Src), so truncation is Ret >= Size.
 */
size_t RtlStringCopy(char *Dest, const char *Src, size_t Size);

/*
 * The formatter. Output goes character by character to a sink, so the same
 * code serves the serial port, a bounded buffer and a user-mode stream.
 *
 * Conversions: %d %i %u %x %X %p %s %c %%, with the length modifiers
 * l, ll, z (and h, hh accepted), a field width (digits or *), the flags
 * '0' (zero padding) and '-' (left justify), and a precision for %s
 * (digits or *). %p prints 0x and 16 hex digits. A NULL %s prints "(null)".
 * An unknown conversion is printed as-is, so mistakes stay visible.
 *
 * Details, as C's printf unless said otherwise:
 *  - Also accepted: the flags '+' and ' ' (sign of %d/%i), '#' (0x before a
 *    non-zero %x), and a precision on integers (minimum number of digits;
 *    it turns '0' off, and "%.0d" of 0 prints nothing).
 *  - ULONG64/LONG64/ULONG_PTR/PFN_NUMBER are long long (as Windows'
 *    __int64; include/ntdef.h): print them with %llu/%llx/%lld, SIZE_T
 *    with %zu, and ULONG/LONG (32 bits, LLP64) with %u/%x/%d. The format
 *    attribute makes gcc check every call.
 *  - %p of NULL prints 0x0000000000000000 (glibc prints "(nil)"); width
 *    and '-' apply, '0', '#' and a precision do not.
 *  - "As-is" means the whole specification is echoed ("%-5q" prints
 *    "%-5q") and consumes no argument. %n is not supported.
 *  - Widths and precisions are clamped to 4096.
 */
typedef void (*RTL_FORMAT_SINK)(PVOID Context, char C);

/* Returns the number of characters produced. */
int RtlFormatV(RTL_FORMAT_SINK Sink, PVOID Context, const char *Format, va_list Args);

/*
 * Bounded formatting into a buffer, like C's vsnprintf: writes at most
 * Size - 1 characters and a terminating NUL (when Size > 0) and returns the
 * length the full output would have had. Buffer may be NULL when Size is 0,
 * to measure the output.
 */
int RtlFormatBufferV(char *Buffer, size_t Size, const char *Format, va_list Args);
int RtlFormatBuffer(char *Buffer, size_t Size, const char *Format, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * TRUE when Name matches Pattern (rtl/pattern.c): a comma-separated list of
 * alternatives, each exact or with '*' (anywhere, any number of times)
 * matching any run of characters, the empty run included. An empty or NULL
 * pattern matches everything; an empty alternative inside a list ("a,,b")
 * matches nothing. Pure: any IRQL.
 */
BOOLEAN RtlMatchNamePattern(const char *Pattern, const char *Name);

#endif /* PAGODA_RTL_H */
