/*
 * serial.c - the COM1 16550 UART: the kernel's first console and, in QEMU,
 * what `make run` shows on the terminal and what the test harness reads.
 *
 * Output polls the line-status register (no interrupts), so it works at any
 * IRQL and inside a bugcheck. Input is polled too (KiSerialGetChar).
 *
 * Registers (offsets from the base port, with DLAB = 0 unless noted):
 *   +0 data (DLAB=1: divisor low)   +1 interrupt enable (DLAB=1: divisor high)
 *   +2 FIFO control                 +3 line control (bit 7 = DLAB)
 *   +4 modem control                +5 line status (bit 0 data ready,
 *                                                   bit 5 transmitter empty)
 */
#include "ki.h"

#define COM1_PORT 0x3F8
#define UART_DATA 0
#define UART_IER  1
#define UART_FCR  2
#define UART_LCR  3
#define UART_MCR  4
#define UART_LSR  5
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20

static BOOLEAN KiSerialPresent;

/* Program 115200 baud 8N1 with FIFOs. The boot code did the same, but the
 * kernel must not depend on it. */
void KiSerialInitialize(void)
{
    __outbyte(COM1_PORT + UART_IER, 0x00);
    __outbyte(COM1_PORT + UART_LCR, 0x80);
    __outbyte(COM1_PORT + UART_DATA, 0x01);
    __outbyte(COM1_PORT + UART_IER, 0x00);
    __outbyte(COM1_PORT + UART_LCR, 0x03);
    __outbyte(COM1_PORT + UART_FCR, 0xC7);
    __outbyte(COM1_PORT + UART_MCR, 0x0B);
    /* A missing UART reads back 0xFF from every register. */
    KiSerialPresent = __inbyte(COM1_PORT + UART_LSR) != 0xFF;
}

static void KiSerialWrite(UCHAR C)
{
    for (ULONG Spins = 0; Spins < 100000; Spins++) {
        if (__inbyte(COM1_PORT + UART_LSR) & LSR_THR_EMPTY)
            break;
    }
    __outbyte(COM1_PORT + UART_DATA, C);
}

/* Write one character; "\n" goes out as "\r\n" for terminals. */
void KiSerialPutChar(char C)
{
    if (!KiSerialPresent)
        return;
    if (C == '\n')
        KiSerialWrite('\r');
    KiSerialWrite((UCHAR)C);
}

/* ------------------------------------------------------------------------
 * Console input: COM1's receive interrupt and the keyboard's both push
 * characters into one ring; readers take them out.
 * ------------------------------------------------------------------------ */
#define KI_INPUT_RING 256
static volatile char KiInputRing[KI_INPUT_RING];
static volatile ULONG KiInputHead, KiInputTail;
static BOOLEAN KiSerialInterruptsOn;

/* At device IRQL: store C, dropping it when the ring is full. */
void KiConsoleInputPush(char C)
{
    ULONG Next = (KiInputHead + 1) % KI_INPUT_RING;
    if (Next == KiInputTail)
        return;
    KiInputRing[KiInputHead] = C;
    KiInputHead = Next;
    KiConsoleInputArrived();
}

void KiSerialEnableInterrupts(void)
{
    if (!KiSerialPresent)
        return;
    __outbyte(COM1_PORT + UART_IER, 0x01); /* received data available */
    KiSerialInterruptsOn = TRUE;
}

/* COM1's interrupt service routine (IRQL 4): drain the receive FIFO. */
void KiSerialInterrupt(void)
{
    while (__inbyte(COM1_PORT + UART_LSR) & LSR_DATA_READY)
        KiConsoleInputPush((char)__inbyte(COM1_PORT + UART_DATA));
}

/* Return the next received character, or -1 when none is waiting. */
int KiSerialGetChar(void)
{
    if (KiSerialInterruptsOn) {
        ULONG64 Flags = __readeflags();
        _disable();
        int C = -1;
        if (KiInputTail != KiInputHead) {
            C = (UCHAR)KiInputRing[KiInputTail];
            KiInputTail = (KiInputTail + 1) % KI_INPUT_RING;
        }
        __writeeflags(Flags);
        return C;
    }
    if (!KiSerialPresent || !(__inbyte(COM1_PORT + UART_LSR) & LSR_DATA_READY))
        return -1;
    return __inbyte(COM1_PORT + UART_DATA);
}
