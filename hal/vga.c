/*
 * vga.c - the VGA text screen: 80 x 25 cells at physical 0xB8000, each a
 * character byte and an attribute byte (background << 4 | foreground).
 *
 * At boot the buffer is reached through the boot identity map; once the
 * memory manager has its own page tables it maps the buffer in system space
 * and calls HalSetVgaTextBuffer. The cursor is the hardware cursor of the CRT
 * controller (ports 0x3D4/0x3D5, registers 0x0E/0x0F).
 */
#include "hal.h"
#include "../include/intrin.h"

#define VGA_COLUMNS 80
#define VGA_ROWS    25
#define VGA_DEFAULT_ATTRIBUTE 0x07  /* light grey on black */

static volatile USHORT *HalpVgaBuffer;
static ULONG HalpVgaRow, HalpVgaColumn;
static UCHAR HalpVgaAttribute = VGA_DEFAULT_ATTRIBUTE;

static void HalpVgaUpdateCursor(void)
{
    USHORT Position = (USHORT)(HalpVgaRow * VGA_COLUMNS + HalpVgaColumn);
    __outbyte(0x3D4, 0x0F);
    __outbyte(0x3D5, (UCHAR)(Position & 0xFF));
    __outbyte(0x3D4, 0x0E);
    __outbyte(0x3D5, (UCHAR)(Position >> 8));
}

void HalVgaInitialize(PVOID TextBuffer)
{
    HalpVgaBuffer = TextBuffer;
    HalVgaClear();
}

void HalSetVgaTextBuffer(PVOID TextBuffer)
{
    HalpVgaBuffer = TextBuffer;
}

void HalVgaSetColor(UCHAR Attribute)
{
    HalpVgaAttribute = Attribute;
}

void HalVgaClear(void)
{
    if (!HalpVgaBuffer)
        return;
    for (ULONG i = 0; i < VGA_COLUMNS * VGA_ROWS; i++)
        HalpVgaBuffer[i] = (USHORT)(HalpVgaAttribute << 8 | ' ');
    HalpVgaRow = HalpVgaColumn = 0;
    HalpVgaUpdateCursor();
}

static void HalpVgaScroll(void)
{
    for (ULONG i = 0; i < VGA_COLUMNS * (VGA_ROWS - 1); i++)
        HalpVgaBuffer[i] = HalpVgaBuffer[i + VGA_COLUMNS];
    for (ULONG i = VGA_COLUMNS * (VGA_ROWS - 1); i < VGA_COLUMNS * VGA_ROWS; i++)
        HalpVgaBuffer[i] = (USHORT)(HalpVgaAttribute << 8 | ' ');
    HalpVgaRow = VGA_ROWS - 1;
}

void HalVgaPutChar(char C)
{
    if (!HalpVgaBuffer)
        return;
    switch (C) {
    case '\n':
        HalpVgaColumn = 0;
        HalpVgaRow++;
        break;
    case '\r':
        HalpVgaColumn = 0;
        break;
    case '\b':
        if (HalpVgaColumn > 0)
            HalpVgaColumn--;
        break;
    case '\t':
        HalpVgaColumn = (HalpVgaColumn + 8) & ~7u;
        break;
    default:
        HalpVgaBuffer[HalpVgaRow * VGA_COLUMNS + HalpVgaColumn] =
            (USHORT)(HalpVgaAttribute << 8 | (UCHAR)C);
        HalpVgaColumn++;
        break;
    }
    if (HalpVgaColumn >= VGA_COLUMNS) {
        HalpVgaColumn = 0;
        HalpVgaRow++;
    }
    if (HalpVgaRow >= VGA_ROWS)
        HalpVgaScroll();
    HalpVgaUpdateCursor();
}
