/*
 * stdio.c - printf and friends over the console handles.
 *
 * The console handles (StandardInput for reading, StandardOutput for
 * writing) are synchronous handles to two file objects on \Device\Console
 * of the process's own, so a thread waiting for a key does not hold up
 * another thread's output (each file has its own lock): each
 * NtWriteFile and NtReadFile is an IRP to the console driver, and the
 * service waits until it is over; the bytes moved are in the
 * IO_STATUS_BLOCK's Information.
 *
 * printf formats with RtlFormatV into a small buffer that is written with
 * NtWriteFile when it fills, at each '\n', and at the end of each call, so
 * a line reaches the console in one write (lines of different processes
 * then do not interleave mid-line). Input is read with NtReadFile, which
 * returns at least one byte (the driver's read pends until a key is
 * typed); readline does its own echo and editing because the console
 * hands over raw characters.
 */
#include "pagoda.h"

#define PGP_OUT_SIZE 256

/* A request the kernel could not start for want of memory (its IRP or its
 * system buffer: STATUS_INSUFFICIENT_RESOURCES) is tried again, a few times,
 * yielding in between: a line of output is not dropped because one pool
 * allocation failed (Driver Verifier's low resources simulation fails one
 * in 16 on purpose). */
#define PGP_IO_RETRIES 8

static NTSTATUS PgpConsoleIo(BOOLEAN Read, HANDLE Handle, void *Buffer, ULONG Length,
                             PIO_STATUS_BLOCK Iosb)
{
    NTSTATUS Status = STATUS_INSUFFICIENT_RESOURCES;
    for (int Try = 0; Try < PGP_IO_RETRIES && Status == STATUS_INSUFFICIENT_RESOURCES; Try++) {
        if (Try > 0)
            NtYieldExecution();
        Status = Read ? NtReadFile(Handle, NULL, NULL, NULL, Iosb, Buffer, Length, NULL, NULL)
                      : NtWriteFile(Handle, NULL, NULL, NULL, Iosb, Buffer, Length, NULL, NULL);
    }
    return Status;
}

static char PgpOut[PGP_OUT_SIZE];
static size_t PgpOutUsed;

void PgWrite(const void *Data, size_t Length)
{
    const char *P = Data;

    while (Length > 0) {
        IO_STATUS_BLOCK Iosb = {0};
        ULONG Chunk = Length > 0x10000 ? 0x10000 : (ULONG)Length;
        if (!NT_SUCCESS(PgpConsoleIo(FALSE, PgProcessParameters->StandardOutput, (void *)P, Chunk,
                                     &Iosb)) ||
            Iosb.Information == 0)
            return;
        ULONG Done = (ULONG)Iosb.Information;
        P += Done;
        Length -= Done;
    }
}

void fflush_stdout(void)
{
    if (PgpOutUsed) {
        PgWrite(PgpOut, PgpOutUsed);
        PgpOutUsed = 0;
    }
}

int putchar(int C)
{
    PgpOut[PgpOutUsed++] = (char)C;
    if (PgpOutUsed == PGP_OUT_SIZE || C == '\n')
        fflush_stdout();
    return (unsigned char)C;
}

static void PgpStdoutSink(PVOID Context, char C)
{
    UNREFERENCED_PARAMETER(Context);
    putchar(C);
}

int vprintf(const char *Format, va_list Args)
{
    int Count = RtlFormatV(PgpStdoutSink, NULL, Format, Args);
    fflush_stdout();
    return Count;
}

int printf(const char *Format, ...)
{
    va_list Args;
    int Count;

    va_start(Args, Format);
    Count = vprintf(Format, Args);
    va_end(Args);
    return Count;
}

int vsnprintf(char *Buffer, size_t Size, const char *Format, va_list Args)
{
    return RtlFormatBufferV(Buffer, Size, Format, Args);
}

int snprintf(char *Buffer, size_t Size, const char *Format, ...)
{
    va_list Args;
    int Count;

    va_start(Args, Format);
    Count = RtlFormatBufferV(Buffer, Size, Format, Args);
    va_end(Args);
    return Count;
}

int puts(const char *S)
{
    while (*S)
        putchar(*S++);
    putchar('\n');
    return 0;
}

/* Input: what NtReadFile returned and has not been consumed yet. */
static char PgpIn[256];
static ULONG PgpInUsed, PgpInNext;

int getchar(void)
{
    if (PgpInNext == PgpInUsed) {
        IO_STATUS_BLOCK Iosb = {0};
        fflush_stdout();
        if (!NT_SUCCESS(PgpConsoleIo(TRUE, PgProcessParameters->StandardInput, PgpIn, sizeof(PgpIn),
                                     &Iosb)) ||
            Iosb.Information == 0)
            return -1;
        PgpInUsed = (ULONG)Iosb.Information;
        PgpInNext = 0;
    }
    return (unsigned char)PgpIn[PgpInNext++];
}

int readline(char *Buffer, size_t Size)
{
    size_t Length = 0;

    for (;;) {
        int C = getchar();
        if (C < 0) {
            if (Length == 0)
                return -1;
            break;
        }
        if (C == '\r' || C == '\n') {
            /* A CR LF pair from a serial terminal is one end of line. */
            if (C == '\r' && PgpInNext < PgpInUsed && PgpIn[PgpInNext] == '\n')
                PgpInNext++;
            putchar('\n');
            break;
        }
        if (C == '\b' || C == 0x7F) {
            if (Length > 0) {
                Length--;
                PgWrite("\b \b", 3);
            }
        } else if (C == 0x15) { /* Ctrl-U */
            while (Length > 0) {
                Length--;
                PgWrite("\b \b", 3);
            }
        } else if (C == 0x03) { /* Ctrl-C: drop the line */
            PgWrite("^C\n", 3);
            Length = 0;
            break;
        } else if (C >= 0x20 && C < 0x7F && Length + 1 < Size) {
            Buffer[Length++] = (char)C;
            putchar(C);
            fflush_stdout();
        }
    }
    if (Size)
        Buffer[Length] = '\0';
    return (int)Length;
}
