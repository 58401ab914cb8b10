/*
 * keyboard.c - the PS/2 keyboard (i8042, port 0x60) as console input.
 *
 * Its interrupt (IRQ1 -> vector 0x55, IRQL 5, connected with
 * IoConnectInterrupt) reads one scan code of set 1 and turns key presses
 * into characters in the console ring (io/drivers/console.c), so the VGA screen
 * and keyboard work as a console like COM1. US layout, letters, digits, punctuation, Enter, Backspace, Tab,
 * Shift; everything else (arrows, function keys) is ignored for now.
 */
#include "iop.h"
#include "../hal/hal.h"
#include "../include/intrin.h"

static const char IopScanCodes[0x3A] = {
    0, 27, '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '=', '\b', '\t',
    'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', '[', ']', '\r', 0, 'a', 's',
    'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0, '\\', 'z', 'x', 'c', 'v',
    'b', 'n', 'm', ',', '.', '/', 0, '*', 0, ' ',
};
static const char IopScanCodesShift[0x3A] = {
    0, 27, '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+', '\b', '\t',
    'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\r', 0, 'A', 'S',
    'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0, '|', 'Z', 'X', 'C', 'V',
    'B', 'N', 'M', '<', '>', '?', 0, '*', 0, ' ',
};
static BOOLEAN IopShift;

#define I8042_STATUS_PORT 0x64
#define I8042_OUTPUT_FULL 0x01

/* The ISR, at IRQL 5: not ours when the controller has no byte for us. */
static BOOLEAN IopKeyboardInterrupt(PKINTERRUPT Interrupt, PVOID Context)
{
    UNREFERENCED_PARAMETER(Interrupt);
    UNREFERENCED_PARAMETER(Context);
    if (!(__inbyte(I8042_STATUS_PORT) & I8042_OUTPUT_FULL))
        return FALSE;
    UCHAR Code = __inbyte(0x60);
    BOOLEAN Release = (Code & 0x80) != 0;
    UCHAR Key = Code & 0x7F;
    if (Key == 0x2A || Key == 0x36) { /* left / right shift */
        IopShift = !Release;
        return TRUE;
    }
    if (Release || Key >= sizeof(IopScanCodes))
        return TRUE;
    char C = IopShift ? IopScanCodesShift[Key] : IopScanCodes[Key];
    if (C)
        IopConsoleInputPush(C);
    return TRUE;
}

NTSTATUS IopConnectKeyboardInterrupt(void)
{
    static PKINTERRUPT Interrupt;
    KIRQL Irql;
    KAFFINITY Affinity;
    ULONG Vector = HalGetInterruptVector(Isa, 0, 1, 1, &Irql, &Affinity);
    return IoConnectInterrupt(&Interrupt, IopKeyboardInterrupt, NULL, NULL, Vector, Irql, Irql,
                              Latched, FALSE, Affinity, FALSE);
}
