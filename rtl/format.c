/*
 * format.c - the printf-style formatter behind DbgPrint, RtlStringCbPrintfA
 * and the user-mode printf.
 *
 * RtlFormatV walks the format string once. Ordinary characters go straight
 * to the sink; each '%' starts a conversion specification, which is parsed
 * into an RTLP_SPEC (flags, width, precision, length modifier) and then
 * turned into one output field:
 *
 *     [spaces] [prefix: sign or 0x] [zeros] body [spaces]
 *
 * Every conversion ends up in RtlpEmitField, so padding and justification
 * are written exactly once. There is no floating point (the kernel is built
 * with -mgeneral-regs-only), no allocation and no global state, so the code
 * is safe at any IRQL, re-entrant, and the same in kernel, user and host
 * builds.
 */
#include "rtl.h"

/*
 * Widths and precisions are clamped to this value, so that a silly format
 * such as "%99999999999d" cannot overflow the padding arithmetic.
 */
#define RTLP_MAX_FIELD 4096

/* The length modifier: which C type va_arg must fetch. */
typedef enum _RTLP_LENGTH {
    RtlpLengthInt,      /* none: int or unsigned int */
    RtlpLengthChar,     /* hh: passed as int, printed as (unsigned) char */
    RtlpLengthShort,    /* h:  passed as int, printed as (unsigned) short */
    RtlpLengthLong,     /* l:  long (64 bits on x86-64, unlike ULONG) */
    RtlpLengthLongLong, /* ll: long long */
    RtlpLengthSize,     /* z:  size_t */
} RTLP_LENGTH;

/* One parsed conversion specification, e.g. "%-08.3lx". */
typedef struct _RTLP_SPEC {
    BOOLEAN LeftJustify; /* '-': pad on the right */
    BOOLEAN ZeroPad;     /* '0': pad numbers with zeros after the sign */
    BOOLEAN PlusSign;    /* '+': print '+' before non-negative numbers */
    BOOLEAN SpaceSign;   /* ' ': print ' ' before non-negative numbers */
    BOOLEAN Alternate;   /* '#': print 0x before non-zero %x */
    int Width;           /* minimum field width; 0 when absent */
    int Precision;       /* max chars for %s, min digits for numbers; -1 when absent */
    RTLP_LENGTH Length;
} RTLP_SPEC;

/* Where the characters go, and how many have gone there so far. */
typedef struct _RTLP_OUTPUT {
    RTL_FORMAT_SINK Sink;
    PVOID Context;
    int Count;
} RTLP_OUTPUT;

static void RtlpPut(RTLP_OUTPUT *Out, char C)
{
    Out->Sink(Out->Context, C);
    Out->Count++;
}

static void RtlpPutChars(RTLP_OUTPUT *Out, const char *S, int Length)
{
    for (int i = 0; i < Length; i++) {
        RtlpPut(Out, S[i]);
    }
}

/* Put Count copies of C; a Count of zero or less puts nothing. */
static void RtlpPad(RTLP_OUTPUT *Out, char C, int Count)
{
    for (int i = 0; i < Count; i++) {
        RtlpPut(Out, C);
    }
}

/*
 * The length of S, but never reading more than Max characters: with "%.3s"
 * the argument need not be NUL-terminated at all.
 */
static int RtlpBoundedLength(const char *S, int Max)
{
    int Length = 0;

    while (Length < Max && S[Length] != '\0') {
        Length++;
    }
    return Length;
}

/*
 * Write one field: the prefix (a sign or "0x"), then Zeros zeros, then the
 * body, padded with spaces to the field width on the left, or on the right
 * when the '-' flag was given.
 */
static void RtlpEmitField(RTLP_OUTPUT *Out, const RTLP_SPEC *Spec, const char *Prefix,
                          int Zeros, const char *Body, int BodyLength)
{
    int PrefixLength = RtlpBoundedLength(Prefix, 2);
    int Spaces = Spec->Width - (PrefixLength + Zeros + BodyLength);

    if (!Spec->LeftJustify) {
        RtlpPad(Out, ' ', Spaces);
    }
    RtlpPutChars(Out, Prefix, PrefixLength);
    RtlpPad(Out, '0', Zeros);
    RtlpPutChars(Out, Body, BodyLength);
    if (Spec->LeftJustify) {
        RtlpPad(Out, ' ', Spaces);
    }
}

/*
 * Write Value in Base (10 or 16) after Prefix. The precision is the minimum
 * number of digits, 1 by default; as in C, a precision of 0 prints the value
 * 0 as no digits at all. The '0' flag widens the run of leading zeros to fill
 * the field, but only when there is neither a precision nor a '-' flag.
 */
static void RtlpEmitNumber(RTLP_OUTPUT *Out, const RTLP_SPEC *Spec, const char *Prefix,
                           ULONG64 Value, unsigned Base, BOOLEAN Upper)
{
    const char *DigitSet = Upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char Buffer[20]; /* 2^64 - 1 has 20 decimal digits, 16 hex ones */
    char *Digits = Buffer + sizeof(Buffer);
    int MinDigits = Spec->Precision >= 0 ? Spec->Precision : 1;
    int DigitCount, Zeros, Used;

    /* Produce the digits from the right, least significant first. */
    while (Value != 0) {
        *--Digits = DigitSet[Value % Base];
        Value /= Base;
    }
    DigitCount = (int)(Buffer + sizeof(Buffer) - Digits);

    Zeros = MinDigits > DigitCount ? MinDigits - DigitCount : 0;
    if (Spec->ZeroPad && !Spec->LeftJustify && Spec->Precision < 0) {
        Used = RtlpBoundedLength(Prefix, 2) + Zeros + DigitCount;
        if (Spec->Width > Used) {
            Zeros += Spec->Width - Used;
        }
    }
    RtlpEmitField(Out, Spec, Prefix, Zeros, Digits, DigitCount);
}

/*
 * Fetch the next argument of a signed or unsigned conversion as the type
 * the caller passed (char and short arrive promoted to int), and widen it
 * to 64 bits.
 */
static LONG64 RtlpFetchSigned(va_list *Args, RTLP_LENGTH Length)
{
    switch (Length) {
    case RtlpLengthChar:
        return (signed char)va_arg(*Args, int);
    case RtlpLengthShort:
        return (short)va_arg(*Args, int);
    case RtlpLengthLong:
        return va_arg(*Args, long);
    case RtlpLengthLongLong:
        return va_arg(*Args, long long);
    case RtlpLengthSize:
        return va_arg(*Args, ptrdiff_t); /* the signed type of size_t's width */
    default:
        return va_arg(*Args, int);
    }
}

static ULONG64 RtlpFetchUnsigned(va_list *Args, RTLP_LENGTH Length)
{
    switch (Length) {
    case RtlpLengthChar:
        return (unsigned char)va_arg(*Args, unsigned int);
    case RtlpLengthShort:
        return (unsigned short)va_arg(*Args, unsigned int);
    case RtlpLengthLong:
        return va_arg(*Args, unsigned long);
    case RtlpLengthLongLong:
        return va_arg(*Args, unsigned long long);
    case RtlpLengthSize:
        return va_arg(*Args, size_t);
    default:
        return va_arg(*Args, unsigned int);
    }
}

/*
 * Parse a decimal field (width or precision) starting at *Format, clamped to
 * RTLP_MAX_FIELD, and advance *Format past it.
 */
static int RtlpParseDecimal(const char **Format)
{
    int Value = 0;

    while (**Format >= '0' && **Format <= '9') {
        if (Value < RTLP_MAX_FIELD) {
            Value = Value * 10 + (**Format - '0');
        }
        (*Format)++;
    }
    return Value < RTLP_MAX_FIELD ? Value : RTLP_MAX_FIELD;
}

/*
 * Parse the part of a conversion specification between the '%' and the
 * conversion character: flags, width, precision, length modifier. Format
 * points just past the '%'; the return value points at the conversion
 * character (which may be the terminating NUL of a malformed format).
 * A '*' width or precision consumes an int argument.
 */
static const char *RtlpParseSpec(const char *Format, RTLP_SPEC *Spec, va_list *Args)
{
    Spec->LeftJustify = Spec->ZeroPad = FALSE;
    Spec->PlusSign = Spec->SpaceSign = Spec->Alternate = FALSE;
    Spec->Width = 0;
    Spec->Precision = -1;
    Spec->Length = RtlpLengthInt;

    for (;; Format++) {
        if (*Format == '-') {
            Spec->LeftJustify = TRUE;
        } else if (*Format == '0') {
            Spec->ZeroPad = TRUE;
        } else if (*Format == '+') {
            Spec->PlusSign = TRUE;
        } else if (*Format == ' ') {
            Spec->SpaceSign = TRUE;
        } else if (*Format == '#') {
            Spec->Alternate = TRUE;
        } else {
            break;
        }
    }

    if (*Format == '*') {
        /* As in C, a negative '*' width means '-' plus that width. */
        int Width = va_arg(*Args, int);
        Format++;
        if (Width < 0) {
            Spec->LeftJustify = TRUE;
            Width = Width < -RTLP_MAX_FIELD ? RTLP_MAX_FIELD : -Width;
        }
        Spec->Width = Width < RTLP_MAX_FIELD ? Width : RTLP_MAX_FIELD;
    } else {
        Spec->Width = RtlpParseDecimal(&Format);
    }

    if (*Format == '.') {
        Format++;
        if (*Format == '*') {
            /* A negative '*' precision counts as no precision at all. */
            int Precision = va_arg(*Args, int);
            Format++;
            if (Precision >= 0) {
                Spec->Precision = Precision < RTLP_MAX_FIELD ? Precision : RTLP_MAX_FIELD;
            }
        } else {
            Spec->Precision = RtlpParseDecimal(&Format); /* "%.d" means 0 */
        }
    }

    if (Format[0] == 'h' && Format[1] == 'h') {
        Spec->Length = RtlpLengthChar;
        Format += 2;
    } else if (Format[0] == 'h') {
        Spec->Length = RtlpLengthShort;
        Format++;
    } else if (Format[0] == 'l' && Format[1] == 'l') {
        Spec->Length = RtlpLengthLongLong;
        Format += 2;
    } else if (Format[0] == 'l') {
        Spec->Length = RtlpLengthLong;
        Format++;
    } else if (Format[0] == 'z') {
        Spec->Length = RtlpLengthSize;
        Format++;
    }
    return Format;
}

/* %d and %i: the sign goes in the prefix, the magnitude is the body. */
static void RtlpEmitSigned(RTLP_OUTPUT *Out, const RTLP_SPEC *Spec, va_list *Args)
{
    LONG64 Signed = RtlpFetchSigned(Args, Spec->Length);
    /* Negate in unsigned arithmetic: -LONG64_MIN does not fit a LONG64. */
    ULONG64 Value = Signed < 0 ? 0 - (ULONG64)Signed : (ULONG64)Signed;
    const char *Sign;

    if (Signed < 0) {
        Sign = "-";
    } else if (Spec->PlusSign) {
        Sign = "+";
    } else if (Spec->SpaceSign) {
        Sign = " ";
    } else {
        Sign = "";
    }
    RtlpEmitNumber(Out, Spec, Sign, Value, 10, FALSE);
}

/*
 * Write the field of one conversion specification: Start points at its '%',
 * Conversion at its conversion character (which RtlpParseSpec found, and
 * which may be the terminating NUL of a malformed format). Fetches the
 * argument, if any, through Args.
 */
static void RtlpEmitConversion(RTLP_OUTPUT *Out, RTLP_SPEC *Spec, const char *Start,
                               const char *Conversion, va_list *Args)
{
    ULONG64 Value;
    const char *Prefix;
    const char *S;
    char C;

    switch (*Conversion) {
    case 'd':
    case 'i':
        RtlpEmitSigned(Out, Spec, Args);
        break;

    case 'u':
        Value = RtlpFetchUnsigned(Args, Spec->Length);
        RtlpEmitNumber(Out, Spec, "", Value, 10, FALSE);
        break;

    case 'x':
    case 'X':
        Value = RtlpFetchUnsigned(Args, Spec->Length);
        if (Spec->Alternate && Value != 0) {
            Prefix = *Conversion == 'x' ? "0x" : "0X";
        } else {
            Prefix = "";
        }
        RtlpEmitNumber(Out, Spec, Prefix, Value, 16, *Conversion == 'X');
        break;

    case 'p':
        /* Always all 16 digits, so addresses line up in columns. */
        Value = (ULONG_PTR)va_arg(*Args, void *);
        Spec->Precision = 16;
        RtlpEmitNumber(Out, Spec, "0x", Value, 16, FALSE);
        break;

    case 's':
        S = va_arg(*Args, const char *);
        if (S == NULL) {
            S = "(null)";
        }
        RtlpEmitField(Out, Spec, "", 0, S,
                      RtlpBoundedLength(S, Spec->Precision >= 0 ? Spec->Precision : INT32_MAX));
        break;

    case 'c':
        C = (char)va_arg(*Args, int);
        RtlpEmitField(Out, Spec, "", 0, &C, 1);
        break;

    case '%':
        RtlpPut(Out, '%');
        break;

    default:
        /*
         * Unknown conversion: echo the whole specification, so that the
         * mistake is visible in the output. A '%' at the very end of the
         * format echoes just itself.
         */
        RtlpPutChars(Out, Start, (int)(Conversion - Start) + (*Conversion != '\0'));
        break;
    }
}

/*
 * Format into a sink; see rtl.h for the conversions. Returns the number of
 * characters passed to Sink. Safe at any IRQL if the sink is.
 */
int RtlFormatV(RTL_FORMAT_SINK Sink, PVOID Context, const char *Format, va_list Args)
{
    RTLP_OUTPUT Out = { Sink, Context, 0 };
    RTLP_SPEC Spec;
    va_list Ap;

    /*
     * The helpers fetch arguments through a va_list pointer. Taking the
     * address of the parameter Args would be wrong on x86-64, where va_list
     * is an array type and the parameter is really a pointer; a local copy
     * is a true va_list object.
     */
    va_copy(Ap, Args);

    while (*Format != '\0') {
        const char *Start = Format;

        if (*Format != '%') {
            RtlpPut(&Out, *Format++);
            continue;
        }

        Format = RtlpParseSpec(Format + 1, &Spec, &Ap);
        RtlpEmitConversion(&Out, &Spec, Start, Format, &Ap);
        if (*Format != '\0') {
            Format++;
        }
    }

    va_end(Ap);
    return Out.Count;
}

/* The sink of RtlFormatBufferV: store while there is room, keep one byte for the NUL. */
typedef struct _RTLP_BUFFER {
    char *Buffer;
    size_t Size;
    size_t Used;
} RTLP_BUFFER;

static void RtlpBufferSink(PVOID Context, char C)
{
    RTLP_BUFFER *Target = Context;

    if (Target->Used + 1 < Target->Size) {
        Target->Buffer[Target->Used++] = C;
    }
}

/*
 * Bounded formatting, like vsnprintf: see rtl.h. Buffer may be NULL when
 * Size is 0, to measure the output without storing it.
 */
int RtlFormatBufferV(char *Buffer, size_t Size, const char *Format, va_list Args)
{
    RTLP_BUFFER Target = { Buffer, Size, 0 };
    int Length = RtlFormatV(RtlpBufferSink, &Target, Format, Args);

    if (Size > 0) {
        Buffer[Target.Used] = '\0';
    }
    return Length;
}

int RtlFormatBuffer(char *Buffer, size_t Size, const char *Format, ...)
{
    va_list Args;
    int Length;

    va_start(Args, Format);
    Length = RtlFormatBufferV(Buffer, Size, Format, Args);
    va_end(Args);
    return Length;
}
