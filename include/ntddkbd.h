/*
 * ntddkbd.h - the interface of the keyboard class device,
 * \Device\KeyboardClass0 (io/drivers/kbdclass.c), with the layout and
 * values of NT's ntddkbd.h: a read returns whole KEYBOARD_INPUT_DATA
 * records, one per key press or release, in the order they happened.
 * Shared by the driver, its clients (the console driver) and the tests.
 *
 * MakeCode is the key's scan code of set 1 without the release bit
 * (0x1E for A); Flags says whether the key went down (KEY_MAKE) or up
 * (KEY_BREAK) and which prefix byte came before the code (KEY_E0: the
 * arrows, the right Ctrl and Alt, the keypad's Enter and /; KEY_E1: the
 * Pause key's first record). Nothing is translated to characters here:
 * the keyboard layout is the client's business.
 */
#ifndef PAGODA_NTDDKBD_H
#define PAGODA_NTDDKBD_H

#include "ntdef.h"

#define DD_KEYBOARD_DEVICE_NAME_0 u"\\Device\\KeyboardClass0"

typedef struct _KEYBOARD_INPUT_DATA {
    USHORT UnitId; /* which keyboard: the N of KeyboardPortN (0) */
    USHORT MakeCode; /* the scan code, release bit cleared */
    USHORT Flags; /* KEY_MAKE or KEY_BREAK, | KEY_E0 / KEY_E1 */
    USHORT Reserved;
    ULONG ExtraInformation; /* device-specific; 0 */
} KEYBOARD_INPUT_DATA, *PKEYBOARD_INPUT_DATA;

STATIC_ASSERT(sizeof(KEYBOARD_INPUT_DATA) == 12);
STATIC_ASSERT(offsetof(KEYBOARD_INPUT_DATA, ExtraInformation) == 8);

/* KEYBOARD_INPUT_DATA.Flags */
#define KEY_MAKE 0
#define KEY_BREAK 1
#define KEY_E0 2
#define KEY_E1 4

#endif /* PAGODA_NTDDKBD_H */
