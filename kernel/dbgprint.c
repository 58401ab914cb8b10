/*
 * dbgprint.c - DbgPrint: formatted output to every console (COM1 and the
 * VGA screen), through the HAL's polled output (hal/serial.c, hal/vga.c).
 *
 * The formatter is rtl/format.c, shared with user mode. It formats into a
 * buffer on the caller's stack (interrupts as the caller has them: an
 * argument may be pageable memory), and each full buffer, and the rest at
 * the end, goes out with interrupts disabled, so nothing else on this
 * processor prints in the middle of it: a line of up to
 * KI_DBGPRINT_CHUNK bytes printed by one DbgPrint (and so by one
 * NtWriteFile of the console, io/drivers/console.c) is never cut by another
 * thread's, an interrupt's or a DPC's. DbgPrint takes no lock and never
 * blocks, so it works in trap handlers and bugchecks. (The application
 * processors are parked and print nothing; with SMP scheduling the output
 * needs a lock the processors share.)
 */
#include "ki.h"
#include "../rtl/rtl.h"
#include "../include/intrin.h"

#define KI_DBGPRINT_CHUNK 256

typedef struct _KI_DBGPRINT_BUFFER {
    ULONG Used;
    char Text[KI_DBGPRINT_CHUNK];
} KI_DBGPRINT_BUFFER;

/* The buffered text to COM1 and the VGA screen, in one piece. */
static void KiFlushDbgPrint(KI_DBGPRINT_BUFFER *Buffer)
{
    ULONG64 Flags = __readeflags();
    _disable();
    for (ULONG i = 0; i < Buffer->Used; i++) {
        HalSerialPutChar(Buffer->Text[i]);
        HalVgaPutChar(Buffer->Text[i]);
    }
    __writeeflags(Flags);
    Buffer->Used = 0;
}

static void KiConsoleSink(PVOID Context, char C)
{
    KI_DBGPRINT_BUFFER *Buffer = Context;
    if (Buffer->Used == KI_DBGPRINT_CHUNK)
        KiFlushDbgPrint(Buffer);
    Buffer->Text[Buffer->Used++] = C;
}

ULONG vDbgPrint(const char *Format, va_list Args)
{
    KI_DBGPRINT_BUFFER Buffer;
    Buffer.Used = 0;
    RtlFormatV(KiConsoleSink, &Buffer, Format, Args);
    KiFlushDbgPrint(&Buffer);
    return STATUS_SUCCESS;
}

ULONG DbgPrint(const char *Format, ...)
{
    va_list Args;
    va_start(Args, Format);
    vDbgPrint(Format, Args);
    va_end(Args);
    return STATUS_SUCCESS;
}
