/*
 * vga.c - the VGA text screen: 80 x 25 cells at physical 0xB8000, each a
 * character byte and an attribute byte (background << 4 | foreground).
 *
 * At boot the buffer is reached through the boot identity map; once the
 * memory manager has its own page tables it maps the buffer in system space
 * and calls KeSetVgaTextBuffer. The cursor is the hardware cursor of the CRT
 * controller (ports 0x3D4/0x3D5, registers 0x0E/0x0F).
 */
#include "ki.h"

#define VGA_COLUMNS 80
#define VGA_ROWS    25
#define VGA_DEFAULT_ATTRIBUTE 0x07  /* light grey on black */

static volatile USHORT *KiVgaBuffer;
static ULONG KiVgaRow, KiVgaColumn;
static UCHAR KiVgaAttribute = VGA_DEFAULT_ATTRIBUTE;

static void KiVgaUpdateCursor(void)
{
    USHORT Position = (USHORT)(KiVgaRow * VGA_COLUMNS + KiVgaColumn);
    __outbyte(0x3D4, 0x0F);
    __outbyte(0x3D5, (UCHAR)(Position & 0xFF));
    __outbyte(0x3D4, 0x0E);
    __outbyte(0x3D5, (UCHAR)(Position >> 8));
}

void KiVgaInitialize(PVOID TextBuffer)
{
    KiVgaBuffer = TextBuffer;
    KiVgaClear();
}

void KeSetVgaTextBuffer(PVOID TextBuffer)
{
    KiVgaBuffer = TextBuffer;
}

void KiVgaSetColor(UCHAR Attribute)
{
    KiVgaAttribute = Attribute;
}

void KiVgaClear(void)
{
    if (!KiVgaBuffer)
        return;
    for (ULONG i = 0; i < VGA_COLUMNS * VGA_ROWS; i++)
        KiVgaBuffer[i] = (USHORT)(KiVgaAttribute << 8 | ' ');
    KiVgaRow = KiVgaColumn = 0;
    KiVgaUpdateCursor();
}

static void KiVgaScroll(void)
{
    for (ULONG i = 0; i < VGA_COLUMNS * (VGA_ROWS - 1); i++)
        KiVgaBuffer[i] = KiVgaBuffer[i + VGA_COLUMNS];
    for (ULONG i = VGA_COLUMNS * (VGA_ROWS - 1); i < VGA_COLUMNS * VGA_ROWS; i++)
        KiVgaBuffer[i] = (USHORT)(KiVgaAttribute << 8 | ' ');
    KiVgaRow = VGA_ROWS - 1;
}

void KiVgaPutChar(char C)
{
    if (!KiVgaBuffer)
        return;
    switch (C) {
    case '\n':
        KiVgaColumn = 0;
        KiVgaRow++;
        break;
    case '\r':
        KiVgaColumn = 0;
        break;
    case '\b':
        if (KiVgaColumn > 0)
            KiVgaColumn--;
        break;
    case '\t':
        KiVgaColumn = (KiVgaColumn + 8) & ~7u;
        break;
    default:
        KiVgaBuffer[KiVgaRow * VGA_COLUMNS + KiVgaColumn] =
            (USHORT)(KiVgaAttribute << 8 | (UCHAR)C);
        KiVgaColumn++;
        break;
    }
    if (KiVgaColumn >= VGA_COLUMNS) {
        KiVgaColumn = 0;
        KiVgaRow++;
    }
    if (KiVgaRow >= VGA_ROWS)
        KiVgaScroll();
    KiVgaUpdateCursor();
}
