/*
 * serial.c - the COM1 16550 UART: the kernel's first console and, in QEMU,
 * what `make run` shows on the terminal and what the test harness reads.
 *
 * Output polls the line-status register (no interrupts), so it works at any
 * IRQL and inside a bugcheck. Input is polled too (HalSerialPollChar); the
 * serial driver (io/drivers/serial.c, \Device\Serial0) turns on the
 * receive interrupt and drains the UART from its service routine, and
 * sends its writes with HalSerialWriteByte.
 *
 * Registers (offsets from the base port, with DLAB = 0 unless noted):
 *   +0 data (DLAB=1: divisor low)   +1 interrupt enable (DLAB=1: divisor high)
 *   +2 FIFO control                 +3 line control (bit 7 = DLAB)
 *   +4 modem control                +5 line status (bit 0 data ready,
 *                                                   bit 5 transmitter empty)
 */
#include "hal.h"
#include "../include/intrin.h"

static BOOLEAN HalpSerialPresent;

/* Program 115200 baud 8N1 with FIFOs. The boot code did the same, but the
 * kernel must not depend on it. */
void HalSerialInitialize(void)
{
    __outbyte(COM1_PORT + UART_IER, 0x00);
    __outbyte(COM1_PORT + UART_LCR, UART_LCR_DLAB);
    __outbyte(COM1_PORT + UART_DATA, UART_DIVISOR_115200);
    __outbyte(COM1_PORT + UART_IER, 0x00);
    __outbyte(COM1_PORT + UART_LCR, UART_LCR_8N1);
    __outbyte(COM1_PORT + UART_FCR, UART_FCR_ENABLE);
    __outbyte(COM1_PORT + UART_MCR, UART_MCR_DTR_RTS_OUT2);
    /* A missing UART reads back 0xFF from every register. */
    HalpSerialPresent = __inbyte(COM1_PORT + UART_LSR) != 0xFF;
}

static void HalpSerialWrite(UCHAR C)
{
    for (ULONG Spins = 0; Spins < 100000; Spins++) {
        if (__inbyte(COM1_PORT + UART_LSR) & LSR_THR_EMPTY)
            break;
    }
    __outbyte(COM1_PORT + UART_DATA, C);
}

/* Write one character; "\n" goes out as "\r\n" for terminals. */
void HalSerialPutChar(char C)
{
    if (!HalpSerialPresent)
        return;
    if (C == '\n')
        HalpSerialWrite('\r');
    HalpSerialWrite((UCHAR)C);
}

void HalSerialWriteByte(UCHAR C)
{
    if (HalpSerialPresent)
        HalpSerialWrite(C);
}

BOOLEAN HalSerialEnableReceiveInterrupt(void)
{
    if (!HalpSerialPresent)
        return FALSE;
    __outbyte(COM1_PORT + UART_IER, 0x01); /* received data available */
    return TRUE;
}

int HalSerialPollChar(void)
{
    if (!HalpSerialPresent || !(__inbyte(COM1_PORT + UART_LSR) & LSR_DATA_READY))
        return -1;
    return __inbyte(COM1_PORT + UART_DATA);
}
