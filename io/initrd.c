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
#include "iop.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"

static const UCHAR *IopInitrd;
static SIZE_T IopInitrdSize;

void IoInitializeInitrd(void)
{
    if (KeLoaderBlock.ModuleCount == 0)
        return;
    const LOADER_MODULE *Module = &KeLoaderBlock.Modules[0];
    PHYSICAL_ADDRESS Physical;
    Physical.QuadPart = (LONGLONG)Module->Start;
    IopInitrdSize = Module->End - Module->Start;
    IopInitrd = MmMapIoSpace(Physical, IopInitrdSize, FALSE);
    if (!IopInitrd)
        DbgPrint("initrd: cannot map the module (%llu bytes)\n", (ULONG64)IopInitrdSize);
}

BOOLEAN IoIsInitrdPresent(void)
{
    return IopInitrd != NULL;
}

static ULONG64 IopOctal(const UCHAR *Field, ULONG Length)
{
    ULONG64 Value = 0;
    for (ULONG i = 0; i < Length && Field[i] >= '0' && Field[i] <= '7'; i++)
        Value = Value * 8 + (Field[i] - '0');
    return Value;
}

/* The names /bin/sh, bin/sh and ./bin/sh are the same file. */
static const char *IopSkipRoot(const char *Name)
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
NTSTATUS IoFindInitrdFile(const char *Path, const UCHAR **Data, SIZE_T *Size)
{
    if (!IopInitrd)
        return STATUS_NO_SUCH_FILE;
    const char *Wanted = IopSkipRoot(Path);
    for (SIZE_T Offset = 0; Offset + 512 <= IopInitrdSize;) {
        const UCHAR *Header = IopInitrd + Offset;
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
        ULONG64 FileSize = IopOctal(Header + 124, 12);
        char Type = (char)Header[156];
        if ((Type == '0' || Type == 0) && strcmp(IopSkipRoot(Name), Wanted) == 0 &&
            Offset + 512 + FileSize <= IopInitrdSize) {
            *Data = Header + 512;
            *Size = FileSize;
            return STATUS_SUCCESS;
        }
        Offset += 512 + ALIGN_UP_BY(FileSize, 512);
    }
    return STATUS_OBJECT_NAME_NOT_FOUND;
}
