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
 * thread's, an interrupt's or a DPC's, nor by another processor's: the
 * write holds KiDbgPrintLock, a spin lock the processors share (the
 * application processors print from IPI requests). DbgPrint never waits
 * for anything but that lock, whose holders only write out one buffer, so
 * it works in trap handlers. Two exceptions keep the bugcheck screen
 * coming: a processor that faults while it holds the lock prints anyway
 * (it would wait for itself), and once a bugcheck has frozen the other
 * processors (kernel/bugcheck.c) the lock is not taken at all - a frozen
 * processor may hold it for ever.
 */
#include "ki.h"
#include "../rtl/rtl.h"
#include "../include/intrin.h"

#define KI_DBGPRINT_CHUNK 256

typedef struct _KI_DBGPRINT_BUFFER {
    ULONG Used;
    char Text[KI_DBGPRINT_CHUNK];
} KI_DBGPRINT_BUFFER;

static KSPIN_LOCK KiDbgPrintLock;
volatile BOOLEAN KiDbgPrintUnlocked;

/* Take the output lock (interrupts disabled): FALSE when it is not to be
 * taken (see the top of the file). */
static BOOLEAN KiLockDbgPrint(void)
{
    if (KiDbgPrintUnlocked || KiDbgPrintLock == KiSpinLockOwner())
        return FALSE;
    KeAcquireSpinLockAtDpcLevel(&KiDbgPrintLock);
    return TRUE;
}

/* The buffered text to COM1 and the VGA screen, in one piece. */
static void KiFlushDbgPrint(KI_DBGPRINT_BUFFER *Buffer)
{
    ULONG64 Flags = __readeflags();
    _disable();
    BOOLEAN Locked = KiLockDbgPrint();
    for (ULONG i = 0; i < Buffer->Used; i++) {
        HalSerialPutChar(Buffer->Text[i]);
        HalVgaPutChar(Buffer->Text[i]);
    }
    if (Locked)
        KeReleaseSpinLockFromDpcLevel(&KiDbgPrintLock);
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
