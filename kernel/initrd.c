/*
 * initrd.c - the initial RAM disk: a USTAR archive GRUB loads as a
 * multiboot2 module ("module2 /boot/initrd.tar initrd" in grub.cfg).
 *
 * At boot the module's frames are mapped (no-execute) in system PTE space
 * with MmMapIoSpace; files are found by
 * walking the 512-byte headers (POSIX.1-1988 ustar: name[100] at 0,
 * size in octal at 124, typeflag at 156, "ustar" at 257, prefix[155] at
 * 345). Nothing is copied: a file is a pointer into the mapping.
 */
#include "ki.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"

static const UCHAR *KiInitrd;
static SIZE_T KiInitrdSize;

void KiInitializeInitrd(void)
{
    if (KeLoaderBlock.ModuleCount == 0)
        return;
    const LOADER_MODULE *Module = &KeLoaderBlock.Modules[0];
    PHYSICAL_ADDRESS Physical;
    Physical.QuadPart = (LONGLONG)Module->Start;
    KiInitrdSize = Module->End - Module->Start;
    KiInitrd = MmMapIoSpace(Physical, KiInitrdSize, FALSE);
    if (!KiInitrd)
        DbgPrint("initrd: cannot map the module (%llu bytes)\n", (ULONG64)KiInitrdSize);
}

BOOLEAN KeIsInitrdPresent(void)
{
    return KiInitrd != NULL;
}

static ULONG64 KiOctal(const UCHAR *Field, ULONG Length)
{
    ULONG64 Value = 0;
    for (ULONG i = 0; i < Length && Field[i] >= '0' && Field[i] <= '7'; i++)
        Value = Value * 8 + (Field[i] - '0');
    return Value;
}

/* The names /bin/sh, bin/sh and ./bin/sh are the same file. */
static const char *KiSkipRoot(const char *Name)
{
    while (*Name == '.' && Name[1] == '/')
        Name += 2;
    while (*Name == '/')
        Name++;
    return Name;
}

/*
 * Find Path in the initrd. Returns STATUS_SUCCESS with *Data and *Size
 * (read only, valid for ever), STATUS_OBJECT_NAME_NOT_FOUND, or
 * STATUS_NO_SUCH_FILE when there is no initrd. Any IRQL <= DISPATCH_LEVEL.
 */
NTSTATUS KeFindInitrdFile(const char *Path, const UCHAR **Data, SIZE_T *Size)
{
    if (!KiInitrd)
        return STATUS_NO_SUCH_FILE;
    const char *Wanted = KiSkipRoot(Path);
    for (SIZE_T Offset = 0; Offset + 512 <= KiInitrdSize;) {
        const UCHAR *Header = KiInitrd + Offset;
        if (Header[0] == 0)
            break; /* two zero blocks end the archive */
        char Name[256];
        Name[0] = 0;
        if (memcmp(Header + 257, "ustar", 5) == 0 && Header[345]) {
            RtlFormatBuffer(Name, sizeof(Name), "%.155s/%.100s", (const char *)Header + 345,
                            (const char *)Header);
        } else {
            RtlFormatBuffer(Name, sizeof(Name), "%.100s", (const char *)Header);
        }
        ULONG64 FileSize = KiOctal(Header + 124, 12);
        char Type = (char)Header[156];
        if ((Type == '0' || Type == 0) && strcmp(KiSkipRoot(Name), Wanted) == 0 &&
            Offset + 512 + FileSize <= KiInitrdSize) {
            *Data = Header + 512;
            *Size = FileSize;
            return STATUS_SUCCESS;
        }
        Offset += 512 + ALIGN_UP_BY(FileSize, 512);
    }
    return STATUS_OBJECT_NAME_NOT_FOUND;
}
