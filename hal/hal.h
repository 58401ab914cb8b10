/*
 * hal.h - the hardware abstraction layer's public interface (Hal): the
 * interrupt controllers and the clock's timer, the low-level serial and VGA
 * output that the debugger print and the bugcheck screen need, and turning
 * the machine off.
 *
 * Everything here talks to one piece of hardware through ports or a
 * memory-mapped register page, and knows nothing of threads, IRQL or
 * objects: the kernel (kernel/) decides, the HAL pokes the device. Output
 * routines take no lock and never block, so they work at any IRQL and
 * inside a bugcheck.
 */
#ifndef PAGODA_HAL_H
#define PAGODA_HAL_H

#include "../include/ntdef.h"

/* ------------------------------------------------------------------------
 * Interrupt controllers and the clock's timer (hal/apic.c)
 * ------------------------------------------------------------------------ */

/*
 * Mask the legacy 8259 PICs, enable and map the local APIC and the
 * IO-APIC, mask the local APIC's LINT0/LINT1/error entries, calibrate the
 * APIC timer against PIT channel 2 and start it as a periodic interrupt of
 * ClockHz on ClockVector. Returns the calibrated APIC timer ticks per
 * millisecond. Boot only, interrupts disabled, after MmMapIoSpace works;
 * bugchecks PHASE0_INITIALIZATION_FAILED when a controller cannot be mapped.
 */
ULONG HalInitializeInterruptControllers(ULONG ClockHz, ULONG ClockVector, ULONG SpuriousVector);

/* Route ISA line Irq to Vector on the IO-APIC: edge-triggered, active high,
 * fixed delivery to APIC 0, unmasked. ISA IRQ n is IO-APIC input n on QEMU's
 * machines (the ACPI MADT is not read: a shortcut). */
void HalRouteIsaInterrupt(ULONG Irq, ULONG Vector);

/* Signal end of interrupt to the local APIC (nothing before it is mapped).
 * Any IRQL, interrupts disabled. */
void HalEndOfInterrupt(void);

/* The calibrated APIC timer rate (0 before HalInitializeInterruptControllers). */
extern ULONG HalApicTicksPerMs;

/* ------------------------------------------------------------------------
 * COM1 (hal/serial.c): polled output and input, and the receive interrupt
 * switch. Any IRQL.
 * ------------------------------------------------------------------------ */
void HalSerialInitialize(void);
/* Write one character ("\n" goes out as "\r\n"); nothing when there is no UART. */
void HalSerialPutChar(char C);
/* The next character waiting in the UART, or -1. */
int HalSerialPollChar(void);
/* Ask the UART to interrupt when data arrives; FALSE when there is no UART. */
BOOLEAN HalSerialEnableReceiveInterrupt(void);

/* ------------------------------------------------------------------------
 * The VGA text screen (hal/vga.c). Any IRQL.
 * ------------------------------------------------------------------------ */
void HalVgaInitialize(PVOID TextBuffer);
/* Point the screen at a new mapping of the text buffer (the memory manager
 * moves it from the boot identity map to system space). */
void HalSetVgaTextBuffer(PVOID TextBuffer);
void HalVgaPutChar(char C);
void HalVgaSetColor(UCHAR Attribute);
void HalVgaClear(void);

/* ------------------------------------------------------------------------
 * Power (hal/power.c)
 * ------------------------------------------------------------------------ */

/* Exit codes written to QEMU's isa-debug-exit port; QEMU exits with
 * (code << 1) | 1, shown in parentheses. */
typedef enum _HAL_EXIT_CODE {
    HalExitSuccess = 0x10,      /* (33) normal shutdown, all tests passed */
    HalExitTestsFailed = 0x11,  /* (35) at least one ktest failed */
    HalExitBugCheck = 0x12,     /* (37) the system stopped with a bugcheck */
    HalExitCannotBoot = 0x13,   /* (39) this machine cannot run Pagoda */
} HAL_EXIT_CODE;

/* Power the machine off; in QEMU the exit status tells Code. Never returns:
 * without the debug-exit device (or ACPI power-off), it halts for ever.
 * Any IRQL. */
__attribute__((noreturn)) void HalPowerOff(HAL_EXIT_CODE Code);

#endif /* PAGODA_HAL_H */
