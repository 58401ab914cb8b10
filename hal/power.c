/*
 * power.c - turning the machine off, with an exit code QEMU can report.
 *
 * QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4,iosize=4)
 * makes QEMU exit with status (value << 1) | 1 when a value is written to
 * its port: the test harness learns the outcome without parsing text. On a
 * machine without it, the write goes nowhere; we then try the ACPI power-off
 * of QEMU's PIIX4 and Q35 chipsets (port 0x604, value 0x2000; QEMU's fixed
 * PM1a control block), and finally halt with a message.
 */
#include "hal.h"
#include "../kernel/ke.h"
#include "../include/intrin.h"

#define QEMU_ACPI_PM1A_CONTROL 0x604
#define ACPI_SLP_EN_S5 0x2000

void HalPowerOff(HAL_EXIT_CODE Code)
{
    _disable();
    __outbyte(HAL_DEBUG_EXIT_PORT, (UCHAR)Code);
    __outword(QEMU_ACPI_PM1A_CONTROL, ACPI_SLP_EN_S5);
    DbgPrint("Pagoda: the system is halted (exit code 0x%x); you can turn the machine off.\n",
             (ULONG)Code);
    for (;;)
        __halt();
}
