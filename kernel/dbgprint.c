/*
 * dbgprint.c - DbgPrint: formatted output to every console (COM1 and the
 * VGA screen), through the HAL's polled output (hal/serial.c, hal/vga.c).
 *
 * The formatter is rtl/format.c, shared with user mode. DbgPrint takes no
 * lock and never blocks, so it works in trap handlers and bugchecks; when
 * several threads print at once (kernel/ after the scheduler exists) their
 * lines may interleave character by character.
 */
#include "ki.h"
#include "../rtl/rtl.h"

static void KiConsoleSink(PVOID Context, char C)
{
    UNREFERENCED_PARAMETER(Context);
    HalSerialPutChar(C);
    HalVgaPutChar(C);
}

ULONG vDbgPrint(const char *Format, va_list Args)
{
    RtlFormatV(KiConsoleSink, NULL, Format, Args);
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
