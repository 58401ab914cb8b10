/*
 * test_bootinfo.c - host tests for kernel/bootinfo.c: the multiboot2 parser,
 * the command-line decoder and the ktest name patterns.
 *
 * Each multiboot2 test builds an image in a byte buffer with the MbiAdd*
 * helpers below (little-endian, tags padded to 8 bytes, exactly as GRUB lays
 * them out), optionally breaks one field with MbiPut32, and checks both what
 * was parsed and the sentences sent to the warning routine, which collects
 * them in Warnings[].
 *
 * Build: gcc -std=c11 -DPAGODA_HOST -g -O1 -fsanitize=address,undefined
 *        -Wall -Wextra -Werror -I. -Iinclude tests/host/test_bootinfo.c
 *        kernel/bootinfo.c -o build/host/test_bootinfo
 */

#include <stdarg.h>
#include <stdint.h>

#include "htest.h"
#include "../../include/loader.h"

/* ---------------------------------------------------------------------- */
/* Captured warnings                                                       */
/* ---------------------------------------------------------------------- */

#define MAX_WARNINGS 32

static char Warnings[MAX_WARNINGS][512];
static int WarningTotal;

static void TestWarn(const char *Format, ...) __attribute__((format(printf, 1, 2)));

static void TestWarn(const char *Format, ...)
{
    va_list Args;

    if (WarningTotal < MAX_WARNINGS) {
        va_start(Args, Format);
        vsnprintf(Warnings[WarningTotal], sizeof(Warnings[0]), Format, Args);
        va_end(Args);
    }
    WarningTotal++;
}

static void ResetWarnings(void)
{
    memset(Warnings, 0, sizeof(Warnings));
    WarningTotal = 0;
}

/* TRUE when some captured warning contains Text. */
static int HasWarning(const char *Text)
{
    for (int i = 0; i < WarningTotal && i < MAX_WARNINGS; i++) {
        if (strstr(Warnings[i], Text) != NULL) {
            return 1;
        }
    }
    return 0;
}

/* Print what was captured, to make a failing case readable. */
static void DumpWarnings(void)
{
    for (int i = 0; i < WarningTotal && i < MAX_WARNINGS; i++) {
        printf("    warning: %s\n", Warnings[i]);
    }
}

#define HT_ASSERT_WARNING(Text)                                            \
    do {                                                                   \
        if (!HasWarning(Text)) {                                           \
            DumpWarnings();                                                \
        }                                                                  \
        HT_ASSERT(HasWarning(Text));                                       \
    } while (0)

#define HT_ASSERT_WARNING_COUNT(Block, N)                                  \
    do {                                                                   \
        if (WarningTotal != (N)) {                                         \
            DumpWarnings();                                                \
        }                                                                  \
        HT_ASSERT(WarningTotal == (N));                                    \
        HT_ASSERT((Block)->WarningCount == (ULONG)(N));                    \
    } while (0)

/* ---------------------------------------------------------------------- */
/* Building multiboot2 images                                              */
/* ---------------------------------------------------------------------- */

typedef struct MBI_IMAGE {
    _Alignas(8) uint8_t Bytes[16384];
    uint32_t Length;
} MBI_IMAGE;

typedef struct MBI_RANGE {
    uint64_t Base;
    uint64_t Length;
    uint32_t Type;
} MBI_RANGE;

#define MBI_PHYSICAL 0x9000ull

static void MbiPut32(MBI_IMAGE *Image, uint32_t Offset, uint32_t Value)
{
    for (int i = 0; i < 4; i++) {
        Image->Bytes[Offset + i] = (uint8_t)(Value >> (8 * i));
    }
}

static void MbiPut64(MBI_IMAGE *Image, uint32_t Offset, uint64_t Value)
{
    MbiPut32(Image, Offset, (uint32_t)Value);
    MbiPut32(Image, Offset + 4, (uint32_t)(Value >> 32));
}

/* Start an image: the fixed part, with total_size filled in by MbiFinish. */
static void MbiBegin(MBI_IMAGE *Image)
{
    memset(Image, 0xCC, sizeof(*Image)); /* garbage beyond what we write */
    MbiPut32(Image, 0, 0);
    MbiPut32(Image, 4, 0);
    Image->Length = 8;
}

/*
 * Append a tag with the given payload (PayloadLength bytes, may be NULL to
 * leave it zeroed) and pad to 8 bytes. Returns the tag's offset.
 */
static uint32_t MbiAddTag(MBI_IMAGE *Image, uint32_t Type, const void *Payload,
                          uint32_t PayloadLength)
{
    uint32_t Offset = Image->Length;
    uint32_t Size = 8 + PayloadLength;

    MbiPut32(Image, Offset, Type);
    MbiPut32(Image, Offset + 4, Size);
    memset(Image->Bytes + Offset + 8, 0, (Size + 7) / 8 * 8 - 8);
    if (Payload != NULL) {
        memcpy(Image->Bytes + Offset + 8, Payload, PayloadLength);
    }
    Image->Length = Offset + (Size + 7) / 8 * 8;
    return Offset;
}

/* Tags 1 and 2: a NUL-terminated string. */
static uint32_t MbiAddString(MBI_IMAGE *Image, uint32_t Type, const char *String)
{
    return MbiAddTag(Image, Type, String, (uint32_t)strlen(String) + 1);
}

static uint32_t MbiAddModule(MBI_IMAGE *Image, uint32_t Start, uint32_t End, const char *Name)
{
    uint8_t Payload[600];
    uint32_t NameSize = (uint32_t)strlen(Name) + 1;

    memcpy(Payload, &Start, 4);
    memcpy(Payload + 4, &End, 4);
    memcpy(Payload + 8, Name, NameSize);
    return MbiAddTag(Image, 3, Payload, 8 + NameSize);
}

/* Tag 6 with entries EntrySize bytes apart (24 in today's GRUB). */
static uint32_t MbiAddMemoryMap(MBI_IMAGE *Image, uint32_t EntrySize, const MBI_RANGE *Ranges,
                                uint32_t Count)
{
    uint32_t Offset = MbiAddTag(Image, 6, NULL, 8 + EntrySize * Count);

    MbiPut32(Image, Offset + 8, EntrySize);
    MbiPut32(Image, Offset + 12, 0);
    for (uint32_t i = 0; i < Count; i++) {
        uint32_t Entry = Offset + 16 + i * EntrySize;
        MbiPut64(Image, Entry, Ranges[i].Base);
        MbiPut64(Image, Entry + 8, Ranges[i].Length);
        MbiPut32(Image, Entry + 16, Ranges[i].Type);
        MbiPut32(Image, Entry + 20, 0);
    }
    return Offset;
}

static uint32_t MbiAddEnd(MBI_IMAGE *Image)
{
    return MbiAddTag(Image, 0, NULL, 0);
}

/* Set total_size to what was written. */
static void MbiFinish(MBI_IMAGE *Image)
{
    MbiPut32(Image, 0, Image->Length);
}

static NTSTATUS MbiParse(MBI_IMAGE *Image, PLOADER_PARAMETER_BLOCK Block)
{
    ResetWarnings();
    return KiParseMultiboot2(Image->Bytes, MBI_PHYSICAL, Image->Length, Block, TestWarn);
}

/* A QEMU-like E820 map: low RAM, EBDA, BIOS area, main RAM, ACPI, high RAM. */
static const MBI_RANGE QemuRanges[] = {
    { 0x0, 0x9FC00, 1 },
    { 0x9FC00, 0x400, 2 },
    { 0xF0000, 0x10000, 2 },
    { 0x100000, 0x7EE0000, 1 },
    { 0x7FE0000, 0x20000, 3 },
    { 0xFFFC0000, 0x40000, 2 },
    { 0x100000000ull, 0x40000000ull, 1 },
};

/* A small well-formed image with a memory map, for the "carry on" checks. */
static void MbiAddMinimalMap(MBI_IMAGE *Image)
{
    MbiAddMemoryMap(Image, 24, QemuRanges, 2);
}

static LOADER_PARAMETER_BLOCK Block; /* large: keep it off the stack */
static MBI_IMAGE Image;

/* ---------------------------------------------------------------------- */
/* Multiboot2: a good image                                                */
/* ---------------------------------------------------------------------- */

HTEST(grub_like_image_parses_exactly)
{
    uint8_t Opaque[20] = { 1, 2, 3, 4, 5 };

    MbiBegin(&Image);
    MbiAddString(&Image, 1, "ktest=mm_* quiet");
    MbiAddString(&Image, 2, "GRUB 2.06-13+deb12u1");
    MbiAddTag(&Image, 10, Opaque, 20);          /* APM */
    MbiAddModule(&Image, 0x200000, 0x214000, "/boot/initrd.tar");
    MbiAddModule(&Image, 0x215000, 0x215800, "symbols");
    MbiAddTag(&Image, 4, Opaque, 8);            /* basic memory info */
    MbiAddTag(&Image, 5, Opaque, 12);           /* BIOS boot device */
    MbiAddMemoryMap(&Image, 24, QemuRanges, ARRAYSIZE(QemuRanges));
    MbiAddTag(&Image, 8, Opaque, 13);           /* framebuffer, odd size */
    MbiAddTag(&Image, 14, Opaque, 20);          /* ACPI 1.0 RSDP */
    MbiAddTag(&Image, 21, Opaque, 4);           /* load base address */
    MbiAddTag(&Image, 0x7777, Opaque, 1);       /* unknown to everyone */
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 0);

    HT_ASSERT(Block.MbiPhysical == MBI_PHYSICAL);
    HT_ASSERT(Block.MbiSize == Image.Length);
    HT_ASSERT(Block.HasCommandLine);
    HT_ASSERT_STR(Block.CommandLine, "ktest=mm_* quiet");
    HT_ASSERT(Block.HasBootLoaderName);
    HT_ASSERT_STR(Block.BootLoaderName, "GRUB 2.06-13+deb12u1");

    HT_ASSERT(Block.ModuleCount == 2);
    HT_ASSERT(Block.Modules[0].Start == 0x200000);
    HT_ASSERT(Block.Modules[0].End == 0x214000);
    HT_ASSERT_STR(Block.Modules[0].Name, "/boot/initrd.tar");
    HT_ASSERT(Block.Modules[1].Start == 0x215000);
    HT_ASSERT(Block.Modules[1].End == 0x215800);
    HT_ASSERT_STR(Block.Modules[1].Name, "symbols");

    HT_ASSERT(Block.HasMemoryMap);
    HT_ASSERT(Block.MemoryRangeCount == ARRAYSIZE(QemuRanges));
    for (unsigned i = 0; i < ARRAYSIZE(QemuRanges); i++) {
        HT_ASSERT(Block.MemoryRanges[i].Base == QemuRanges[i].Base);
        HT_ASSERT(Block.MemoryRanges[i].Length == QemuRanges[i].Length);
        HT_ASSERT(Block.MemoryRanges[i].Type == QemuRanges[i].Type);
    }
}

HTEST(block_is_zeroed_first)
{
    MbiBegin(&Image);
    MbiAddMinimalMap(&Image);
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    memset(&Block, 0x5A, sizeof(Block));
    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 0);
    HT_ASSERT(!Block.HasCommandLine);
    HT_ASSERT(Block.CommandLine[0] == '\0');
    HT_ASSERT(!Block.HasBootLoaderName);
    HT_ASSERT(Block.ModuleCount == 0);
    HT_ASSERT(Block.Modules[0].Start == 0);
    HT_ASSERT(Block.MemoryRangeCount == 2);
    HT_ASSERT(Block.MemoryRanges[2].Base == 0);
}

/* Tags 14/15: the RSDP is copied as it is (hal/acpi.c checks it); the
 * 2.0 copy wins whichever order the tags come in; a short tag warns. */
HTEST(acpi_rsdp_tags_new_copy_wins)
{
    uint8_t Old[20], New[36];
    memset(Old, 0x11, sizeof(Old));
    memset(New, 0x22, sizeof(New));

    MbiBegin(&Image);
    MbiAddMinimalMap(&Image);
    MbiAddTag(&Image, 15, New, 36);
    MbiAddTag(&Image, 14, Old, 20);
    MbiAddEnd(&Image);
    MbiFinish(&Image);
    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 0);
    HT_ASSERT(Block.RsdpTag == MB2_TAG_ACPI_NEW);
    HT_ASSERT(Block.RsdpSize == 36);
    HT_ASSERT(memcmp(Block.Rsdp, New, 36) == 0);

    MbiBegin(&Image);
    MbiAddMinimalMap(&Image);
    MbiAddTag(&Image, 14, Old, 20);
    MbiAddEnd(&Image);
    MbiFinish(&Image);
    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT(Block.RsdpTag == MB2_TAG_ACPI_OLD);
    HT_ASSERT(Block.RsdpSize == 20);
    HT_ASSERT(memcmp(Block.Rsdp, Old, 20) == 0);

    MbiBegin(&Image);
    MbiAddMinimalMap(&Image);
    MbiAddTag(&Image, 14, Old, 12);
    MbiAddEnd(&Image);
    MbiFinish(&Image);
    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("fewer than the 20 of an RSDP");
    HT_ASSERT(Block.RsdpSize == 0);
}

HTEST(memory_ranges_keep_the_loader_order)
{
    static const MBI_RANGE Unsorted[] = {
        { 0x100000, 0x1000000, 1 },
        { 0x0, 0x9F000, 1 },
        { 0x80000, 0x40000, 2 },     /* overlaps the one before */
        { 0xFEC00000, 0x1000, 7 },   /* a type the spec does not name */
    };

    MbiBegin(&Image);
    MbiAddMemoryMap(&Image, 24, Unsorted, ARRAYSIZE(Unsorted));
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 0);
    HT_ASSERT(Block.MemoryRangeCount == ARRAYSIZE(Unsorted));
    for (unsigned i = 0; i < ARRAYSIZE(Unsorted); i++) {
        HT_ASSERT(Block.MemoryRanges[i].Base == Unsorted[i].Base);
        HT_ASSERT(Block.MemoryRanges[i].Length == Unsorted[i].Length);
        HT_ASSERT(Block.MemoryRanges[i].Type == Unsorted[i].Type);
    }
}

HTEST(larger_entry_size_is_stepped_over)
{
    uint32_t Offset;

    MbiBegin(&Image);
    Offset = MbiAddMemoryMap(&Image, 32, QemuRanges, 3);
    MbiPut64(&Image, Offset + 16 + 24, 0xDEADBEEFDEADBEEFull); /* the extra field */
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 0);
    HT_ASSERT(Block.MemoryRangeCount == 3);
    HT_ASSERT(Block.MemoryRanges[1].Base == QemuRanges[1].Base);
    HT_ASSERT(Block.MemoryRanges[2].Length == QemuRanges[2].Length);
    HT_ASSERT(Block.MemoryRanges[2].Type == QemuRanges[2].Type);
}

HTEST(empty_module_and_empty_strings_are_fine)
{
    MbiBegin(&Image);
    MbiAddString(&Image, 1, "");
    MbiAddModule(&Image, 0x300000, 0x300000, "");
    MbiAddMinimalMap(&Image);
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 0);
    HT_ASSERT(Block.HasCommandLine);
    HT_ASSERT_STR(Block.CommandLine, "");
    HT_ASSERT(Block.ModuleCount == 1);
    HT_ASSERT(Block.Modules[0].End == 0x300000);
}

HTEST(warnings_are_counted_without_a_routine)
{
    MbiBegin(&Image);
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(KiParseMultiboot2(Image.Bytes, MBI_PHYSICAL, Image.Length, &Block, NULL) ==
              STATUS_SUCCESS);
    HT_ASSERT(Block.WarningCount == 1); /* no memory map */
}

/* ---------------------------------------------------------------------- */
/* Multiboot2: an unusable header                                          */
/* ---------------------------------------------------------------------- */

HTEST(unusable_header_is_invalid_parameter)
{
    MbiBegin(&Image);
    MbiAddMinimalMap(&Image);
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    /* Fewer readable bytes than the fixed part. */
    ResetWarnings();
    HT_ASSERT(KiParseMultiboot2(Image.Bytes, MBI_PHYSICAL, 4, &Block, TestWarn) ==
              STATUS_INVALID_PARAMETER);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("only 4 bytes of the information are readable");
    HT_ASSERT(Block.MemoryRangeCount == 0);
    HT_ASSERT(!Block.HasMemoryMap);

    /* A total_size that cannot even hold the fixed part. */
    MbiPut32(&Image, 0, 4);
    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_INVALID_PARAMETER);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("total_size 4 is smaller than the 8-byte fixed part");
    HT_ASSERT(Block.MemoryRangeCount == 0);

    /* No pointer at all. */
    ResetWarnings();
    HT_ASSERT(KiParseMultiboot2(NULL, 0, 4096, &Block, TestWarn) == STATUS_INVALID_PARAMETER);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT(Block.MemoryRangeCount == 0);

    HT_ASSERT(KiParseMultiboot2(Image.Bytes, 0, Image.Length, NULL, TestWarn) ==
              STATUS_INVALID_PARAMETER);
}

HTEST(fixed_part_only_warns_twice)
{
    MbiBegin(&Image);
    MbiFinish(&Image); /* total_size 8: no tags, not even the end tag */

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 2);
    HT_ASSERT_WARNING("multiboot2: no end tag (type 0, size 8)");
    HT_ASSERT_WARNING("multiboot2: no memory map tag; the kernel cannot find usable RAM.");
}

/* ---------------------------------------------------------------------- */
/* Multiboot2: malformed fixed part and tag chain                          */
/* ---------------------------------------------------------------------- */

HTEST(total_size_not_multiple_of_8)
{
    MbiBegin(&Image);
    MbiAddString(&Image, 1, "quiet");
    MbiAddMinimalMap(&Image);
    MbiAddEnd(&Image);
    MbiFinish(&Image);
    MbiPut32(&Image, 0, Image.Length + 3);
    Image.Length += 3;

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("is not a multiple of 8");
    HT_ASSERT_STR(Block.CommandLine, "quiet");
    HT_ASSERT(Block.MemoryRangeCount == 2);
}

HTEST(total_size_larger_than_readable)
{
    uint32_t Readable;

    MbiBegin(&Image);
    MbiAddString(&Image, 1, "quiet");
    MbiAddMinimalMap(&Image);
    Readable = Image.Length;
    MbiAddString(&Image, 2, "GRUB");
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    /* The caller can read only up to the loader name: that tag runs past. */
    ResetWarnings();
    HT_ASSERT(KiParseMultiboot2(Image.Bytes, MBI_PHYSICAL, Readable + 8, &Block, TestWarn) ==
              STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 2);
    HT_ASSERT_WARNING("is larger than the");
    HT_ASSERT_WARNING("tag 2 (boot loader name)");
    HT_ASSERT_WARNING("runs past the end of the information");
    HT_ASSERT(Block.MbiSize == Readable + 8);
    HT_ASSERT_STR(Block.CommandLine, "quiet");
    HT_ASSERT(Block.MemoryRangeCount == 2);
    HT_ASSERT(!Block.HasBootLoaderName);

    /* Readable ends exactly after the map: the walk simply finds no end tag. */
    ResetWarnings();
    HT_ASSERT(KiParseMultiboot2(Image.Bytes, MBI_PHYSICAL, Readable, &Block, TestWarn) ==
              STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 2);
    HT_ASSERT_WARNING("is larger than the");
    HT_ASSERT_WARNING("no end tag");
    HT_ASSERT(Block.MemoryRangeCount == 2);
}

HTEST(tag_running_past_the_end)
{
    uint32_t Offset;

    MbiBegin(&Image);
    MbiAddString(&Image, 1, "quiet");
    MbiAddMinimalMap(&Image);
    Offset = MbiAddModule(&Image, 0x200000, 0x201000, "initrd");
    MbiAddEnd(&Image);
    MbiFinish(&Image);
    MbiPut32(&Image, Offset + 4, 4096);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("tag 3 (module) at offset");
    HT_ASSERT_WARNING("has size 4096 and runs past the end of the information");
    HT_ASSERT(Block.ModuleCount == 0);
    HT_ASSERT_STR(Block.CommandLine, "quiet");
    HT_ASSERT(Block.MemoryRangeCount == 2);
}

HTEST(missing_end_tag)
{
    MbiBegin(&Image);
    MbiAddString(&Image, 1, "quiet");
    MbiAddMinimalMap(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("multiboot2: no end tag (type 0, size 8) before the end of the information");
    HT_ASSERT(Block.MemoryRangeCount == 2);
}

HTEST(stray_bytes_instead_of_end_tag)
{
    MbiBegin(&Image);
    MbiAddMinimalMap(&Image);
    MbiFinish(&Image);
    MbiPut32(&Image, 0, Image.Length + 4);
    Image.Length += 4;

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 2);
    HT_ASSERT_WARNING("not a multiple of 8");
    HT_ASSERT_WARNING("the last 4 bytes");
    HT_ASSERT(Block.MemoryRangeCount == 2);
}

HTEST(end_tag_with_wrong_size)
{
    uint32_t Offset;

    MbiBegin(&Image);
    MbiAddMinimalMap(&Image);
    Offset = MbiAddEnd(&Image);
    MbiFinish(&Image);
    MbiPut32(&Image, Offset + 4, 16);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("has size 16 instead of 8");
    HT_ASSERT(Block.MemoryRangeCount == 2);
}

HTEST(tags_after_the_end_tag_are_not_read)
{
    MbiBegin(&Image);
    MbiAddMinimalMap(&Image);
    MbiAddEnd(&Image);
    MbiAddString(&Image, 1, "ktest");
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 0);
    HT_ASSERT(!Block.HasCommandLine);
}

HTEST(tag_size_below_header_stops_the_walk)
{
    uint32_t Offset;

    MbiBegin(&Image);
    MbiAddString(&Image, 1, "quiet");
    MbiAddMinimalMap(&Image);
    Offset = MbiAddTag(&Image, 9, NULL, 16);
    MbiAddString(&Image, 2, "GRUB");
    MbiAddEnd(&Image);
    MbiFinish(&Image);
    MbiPut32(&Image, Offset + 4, 0); /* would loop for ever if trusted */

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("tag 9 (ELF symbols) at offset");
    HT_ASSERT_WARNING("has size 0, smaller than the 8-byte tag header");
    HT_ASSERT_STR(Block.CommandLine, "quiet");
    HT_ASSERT(Block.MemoryRangeCount == 2);
    HT_ASSERT(!Block.HasBootLoaderName);
}

HTEST(misaligned_information_is_warned)
{
    MbiBegin(&Image);
    MbiAddMinimalMap(&Image);
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    ResetWarnings();
    HT_ASSERT(KiParseMultiboot2(Image.Bytes, 0x9004, Image.Length, &Block, TestWarn) ==
              STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("0x9004 is not 8-byte aligned");
    HT_ASSERT(Block.MemoryRangeCount == 2);
}

/* ---------------------------------------------------------------------- */
/* Multiboot2: malformed memory map                                        */
/* ---------------------------------------------------------------------- */

HTEST(memory_map_smaller_than_its_header)
{
    uint32_t Offset;

    MbiBegin(&Image);
    MbiAddString(&Image, 1, "quiet");
    MbiAddString(&Image, 2, "GRUB 2.12");
    MbiAddString(&Image, 0x100, "0123456789"); /* puts the map at offset 0x48 */
    Offset = MbiAddTag(&Image, 6, NULL, 8);
    MbiAddModule(&Image, 0x200000, 0x201000, "initrd");
    MbiAddEnd(&Image);
    MbiFinish(&Image);
    MbiPut32(&Image, Offset + 4, 12);
    HT_ASSERT(Offset == 0x48);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 2);
    HT_ASSERT_WARNING("multiboot2: tag 6 (memory map) at offset 0x48 has size 12, smaller than "
                      "its 16-byte header; skipped.");
    HT_ASSERT_WARNING("multiboot2: no memory map tag could be used; the kernel cannot find "
                      "usable RAM.");
    HT_ASSERT(!Block.HasMemoryMap);
    HT_ASSERT(Block.ModuleCount == 1); /* the tag after it was still read */
    HT_ASSERT_STR(Block.BootLoaderName, "GRUB 2.12");
}

HTEST(no_memory_map)
{
    MbiBegin(&Image);
    MbiAddString(&Image, 1, "quiet");
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_STR(Warnings[0], "multiboot2: no memory map tag; the kernel cannot find usable RAM.");
    HT_ASSERT(!Block.HasMemoryMap);
    HT_ASSERT(Block.MemoryRangeCount == 0);
    HT_ASSERT_STR(Block.CommandLine, "quiet");
}

HTEST(memory_map_entry_size_too_small)
{
    uint32_t Offset;

    MbiBegin(&Image);
    Offset = MbiAddMemoryMap(&Image, 24, QemuRanges, 2);
    MbiAddString(&Image, 1, "quiet");
    MbiAddEnd(&Image);
    MbiFinish(&Image);
    MbiPut32(&Image, Offset + 8, 16);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 2);
    HT_ASSERT_WARNING("has entry_size 16, smaller than the 24 bytes of an entry; skipped.");
    HT_ASSERT_WARNING("no memory map tag could be used");
    HT_ASSERT(Block.MemoryRangeCount == 0);
    HT_ASSERT_STR(Block.CommandLine, "quiet");

    /* entry_size 0 must not divide by zero. */
    MbiPut32(&Image, Offset + 8, 0);
    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING("has entry_size 0");
}

HTEST(memory_map_with_partial_entry)
{
    uint32_t Offset;

    MbiBegin(&Image);
    Offset = MbiAddMemoryMap(&Image, 24, QemuRanges, 3);
    MbiPut32(&Image, Offset + 4, 16 + 3 * 24 - 10); /* the last entry is cut */
    Image.Length = Offset + 80;                     /* the next tag follows the cut */
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("ends with 14 bytes that do not make a whole 24-byte entry");
    HT_ASSERT(Block.MemoryRangeCount == 2);
    HT_ASSERT(Block.MemoryRanges[1].Base == QemuRanges[1].Base);
}

HTEST(memory_map_without_entries)
{
    MbiBegin(&Image);
    MbiAddMemoryMap(&Image, 24, NULL, 0);
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("lists no ranges");
    HT_ASSERT(Block.HasMemoryMap);
    HT_ASSERT(Block.MemoryRangeCount == 0);
}

HTEST(more_ranges_than_the_maximum)
{
    static MBI_RANGE Many[LOADER_MAX_MEMORY_RANGES + 5];

    for (unsigned i = 0; i < ARRAYSIZE(Many); i++) {
        Many[i].Base = (uint64_t)i * 0x10000;
        Many[i].Length = 0x8000;
        Many[i].Type = 1 + i % 5;
    }
    MbiBegin(&Image);
    MbiAddMemoryMap(&Image, 24, Many, ARRAYSIZE(Many));
    MbiAddString(&Image, 1, "quiet");
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_STR(Warnings[0], "multiboot2: more than 128 memory ranges; the rest are ignored.");
    HT_ASSERT(Block.MemoryRangeCount == LOADER_MAX_MEMORY_RANGES);
    HT_ASSERT(Block.MemoryRanges[127].Base == 127 * 0x10000ull);
    HT_ASSERT(Block.MemoryRanges[127].Type == 1 + 127 % 5);
    HT_ASSERT_STR(Block.CommandLine, "quiet");
}

HTEST(exactly_the_maximum_ranges_is_fine)
{
    static MBI_RANGE Many[LOADER_MAX_MEMORY_RANGES];

    for (unsigned i = 0; i < ARRAYSIZE(Many); i++) {
        Many[i].Base = (uint64_t)i * 0x10000;
        Many[i].Length = 0x8000;
        Many[i].Type = 1;
    }
    MbiBegin(&Image);
    MbiAddMemoryMap(&Image, 24, Many, ARRAYSIZE(Many));
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 0);
    HT_ASSERT(Block.MemoryRangeCount == LOADER_MAX_MEMORY_RANGES);
}

HTEST(empty_and_wrapping_ranges_are_dropped)
{
    static const MBI_RANGE Odd[] = {
        { 0x0, 0x9F000, 1 },
        { 0x100000, 0, 1 },                                 /* empty */
        { 0xFFFFFFFFFFFFF000ull, 0x2000, 2 },               /* wraps */
        { 0xFFFFFFFFFFFFF000ull, 0x1000, 2 },               /* ends exactly at the top */
        { 0x100000, 0x1000000, 1 },
    };

    MbiBegin(&Image);
    MbiAddMemoryMap(&Image, 24, Odd, ARRAYSIZE(Odd));
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 2);
    HT_ASSERT_WARNING("memory range 1 (base 0x100000, type 1) has length 0; skipped.");
    HT_ASSERT_WARNING("memory range 2 (base 0xfffffffffffff000, length 0x2000) runs past the top");
    HT_ASSERT(Block.MemoryRangeCount == 3);
    HT_ASSERT(Block.MemoryRanges[1].Base == 0xFFFFFFFFFFFFF000ull);
    HT_ASSERT(Block.MemoryRanges[2].Length == 0x1000000);
}

HTEST(second_memory_map_is_ignored)
{
    MbiBegin(&Image);
    MbiAddMemoryMap(&Image, 24, QemuRanges, 2);
    MbiAddMemoryMap(&Image, 24, QemuRanges + 3, 4);
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("a second tag 6 (memory map)");
    HT_ASSERT(Block.MemoryRangeCount == 2);
    HT_ASSERT(Block.MemoryRanges[0].Base == QemuRanges[0].Base);
}

/* ---------------------------------------------------------------------- */
/* Multiboot2: strings and modules                                         */
/* ---------------------------------------------------------------------- */

HTEST(unterminated_command_line)
{
    uint32_t Offset;

    MbiBegin(&Image);
    Offset = MbiAddTag(&Image, 1, "ktest quiet", 11); /* no NUL inside the tag */
    MbiPut32(&Image, Offset + 19, 0x41414141);        /* the padding isn't NUL either */
    MbiAddMinimalMap(&Image);
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("tag 1 (command line) at offset 0x8 is not NUL-terminated within its 19 bytes");
    HT_ASSERT(Block.HasCommandLine);
    HT_ASSERT_STR(Block.CommandLine, "ktest quiet");
    HT_ASSERT(Block.MemoryRangeCount == 2);
}

HTEST(unterminated_module_name)
{
    uint32_t Offset;

    MbiBegin(&Image);
    Offset = MbiAddModule(&Image, 0x200000, 0x201000, "initrd");
    MbiPut32(&Image, Offset + 4, 16 + 6); /* drop the NUL from the size */
    Image.Bytes[Offset + 22] = 'B'; /* the NUL, now outside the tag, isn't one */
    MbiAddMinimalMap(&Image);
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("tag 3 (module) at offset 0x8 is not NUL-terminated");
    HT_ASSERT(Block.ModuleCount == 1);
    HT_ASSERT_STR(Block.Modules[0].Name, "initrd");
}

HTEST(long_strings_are_truncated)
{
    char Long[LOADER_COMMAND_LINE_MAX + 100];
    char Name[LOADER_NAME_MAX + 10];
    char Want[LOADER_COMMAND_LINE_MAX];

    memset(Long, 'c', sizeof(Long) - 1);
    Long[sizeof(Long) - 1] = '\0';
    memset(Name, 'n', sizeof(Name) - 1);
    Name[sizeof(Name) - 1] = '\0';

    MbiBegin(&Image);
    MbiAddString(&Image, 1, Long);
    MbiAddString(&Image, 2, Name);
    MbiAddModule(&Image, 0x200000, 0x201000, Name);
    MbiAddMinimalMap(&Image);
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 3);
    HT_ASSERT_WARNING("multiboot2: the command line is 611 characters long; only the first 511 "
                      "were kept.");
    HT_ASSERT_WARNING("multiboot2: the boot loader name is 73 characters long; only the first 63 "
                      "were kept.");
    HT_ASSERT_WARNING("multiboot2: the name of module 0 is 73 characters long; only the first 63 "
                      "were kept.");

    memset(Want, 'c', sizeof(Want) - 1);
    Want[sizeof(Want) - 1] = '\0';
    HT_ASSERT_STR(Block.CommandLine, Want);
    HT_ASSERT(strlen(Block.BootLoaderName) == LOADER_NAME_MAX - 1);
    HT_ASSERT(strlen(Block.Modules[0].Name) == LOADER_NAME_MAX - 1);
    HT_ASSERT(Block.ModuleCount == 1);
}

HTEST(module_ending_before_its_start)
{
    MbiBegin(&Image);
    MbiAddModule(&Image, 0x300000, 0x2FF000, "broken");
    MbiAddModule(&Image, 0x400000, 0x401000, "good");
    MbiAddMinimalMap(&Image);
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_STR(Warnings[0], "multiboot2: module 'broken' at offset 0x8 ends at 0x2ff000, before "
                               "its start at 0x300000; skipped.");
    HT_ASSERT(Block.ModuleCount == 1);
    HT_ASSERT_STR(Block.Modules[0].Name, "good");
    HT_ASSERT(Block.Modules[0].Start == 0x400000);
    HT_ASSERT(Block.Modules[1].Name[0] == '\0');
}

HTEST(module_smaller_than_its_header)
{
    uint32_t Offset;

    MbiBegin(&Image);
    Offset = MbiAddTag(&Image, 3, NULL, 4);
    MbiAddModule(&Image, 0x400000, 0x401000, "good");
    MbiAddMinimalMap(&Image);
    MbiAddEnd(&Image);
    MbiFinish(&Image);
    HT_ASSERT(Offset == 8);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_STR(Warnings[0], "multiboot2: tag 3 (module) at offset 0x8 has size 12, smaller than "
                               "its 16-byte header; skipped.");
    HT_ASSERT(Block.ModuleCount == 1);
    HT_ASSERT_STR(Block.Modules[0].Name, "good");
}

HTEST(more_modules_than_the_maximum)
{
    char Name[16];

    MbiBegin(&Image);
    for (int i = 0; i < LOADER_MAX_MODULES + 3; i++) {
        snprintf(Name, sizeof(Name), "mod%d", i);
        MbiAddModule(&Image, 0x200000 + i * 0x1000, 0x200800 + i * 0x1000, Name);
    }
    MbiAddMinimalMap(&Image);
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_STR(Warnings[0], "multiboot2: more than 8 modules; the rest are ignored.");
    HT_ASSERT(Block.ModuleCount == LOADER_MAX_MODULES);
    HT_ASSERT_STR(Block.Modules[7].Name, "mod7");
    HT_ASSERT(Block.MemoryRangeCount == 2);
}

HTEST(second_command_line_is_ignored)
{
    MbiBegin(&Image);
    MbiAddString(&Image, 1, "first");
    MbiAddString(&Image, 1, "second");
    MbiAddMinimalMap(&Image);
    MbiAddEnd(&Image);
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 1);
    HT_ASSERT_WARNING("a second tag 1 (command line) at offset 0x18; the first one is kept.");
    HT_ASSERT_STR(Block.CommandLine, "first");
}

HTEST(several_problems_all_reported)
{
    uint32_t Offset;

    MbiBegin(&Image);
    MbiAddModule(&Image, 0x300000, 0x2FF000, "broken");
    Offset = MbiAddMemoryMap(&Image, 24, QemuRanges, 2);
    MbiPut32(&Image, Offset + 8, 8);
    MbiAddString(&Image, 2, "GRUB");
    MbiFinish(&Image);

    HT_ASSERT(MbiParse(&Image, &Block) == STATUS_SUCCESS);
    HT_ASSERT_WARNING_COUNT(&Block, 4);
    HT_ASSERT_WARNING("module 'broken'");
    HT_ASSERT_WARNING("entry_size 8");
    HT_ASSERT_WARNING("no end tag");
    HT_ASSERT_WARNING("no memory map tag could be used");
    HT_ASSERT_STR(Block.BootLoaderName, "GRUB");
}

/* ---------------------------------------------------------------------- */
/* Boot options                                                            */
/* ---------------------------------------------------------------------- */

static BOOT_OPTIONS Options;

static void ParseOptions(const char *CommandLine)
{
    ResetWarnings();
    memset(&Options, 0x5A, sizeof(Options));
    KiParseBootOptions(CommandLine, &Options, TestWarn);
}

HTEST(options_empty_line_gives_defaults)
{
    ParseOptions("");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(!Options.RunTests);
    HT_ASSERT(!Options.Quiet);
    HT_ASSERT_STR(Options.TestPattern, "");
    HT_ASSERT_STR(Options.Init, "");

    ParseOptions(" \t \n ");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(!Options.RunTests);

    ParseOptions(NULL);
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(!Options.Quiet);
    HT_ASSERT_STR(Options.Init, "");
}

HTEST(options_ktest_alone_runs_everything)
{
    ParseOptions("ktest");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.RunTests);
    HT_ASSERT_STR(Options.TestPattern, "");
    HT_ASSERT(!Options.Quiet);

    ParseOptions("ktest=");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.RunTests);
    HT_ASSERT_STR(Options.TestPattern, "");
}

HTEST(options_ktest_pattern)
{
    ParseOptions("ktest=mm_*,ke_event_*");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.RunTests);
    HT_ASSERT_STR(Options.TestPattern, "mm_*,ke_event_*");

    /* The last one wins. */
    ParseOptions("ktest=a ktest=b");
    HT_ASSERT_STR(Options.TestPattern, "b");
    ParseOptions("ktest=a ktest");
    HT_ASSERT_STR(Options.TestPattern, "");
}

HTEST(options_every_key)
{
    ParseOptions("  quiet\tktest=pool_*\n init=/bin/sh");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.Quiet);
    HT_ASSERT(Options.RunTests);
    HT_ASSERT_STR(Options.TestPattern, "pool_*");
    HT_ASSERT_STR(Options.Init, "/bin/sh");
}

HTEST(options_init_takes_the_rest_of_the_line)
{
    ParseOptions("quiet init=/bin/demo -n 3   ktest  --verbose  ");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.Quiet);
    HT_ASSERT(!Options.RunTests); /* "ktest" is an argument of the program */
    HT_ASSERT_STR(Options.Init, "/bin/demo -n 3   ktest  --verbose");

    ParseOptions("init=   /bin/echo hello world");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT_STR(Options.Init, "/bin/echo hello world");

    ParseOptions("init=");
    HT_ASSERT(WarningTotal == 1);
    HT_ASSERT_WARNING("'init=' names no program");
    HT_ASSERT_STR(Options.Init, "");
}

HTEST(options_ata_pio_is_known_and_only_exact)
{
    ParseOptions("quiet ata=pio");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.AtaPio);
    ParseOptions("ata=dma quiet");
    HT_ASSERT(WarningTotal == 1);
    HT_ASSERT_WARNING("unknown kernel command-line key 'ata=dma' ignored");
    HT_ASSERT(!Options.AtaPio);
}

HTEST(options_unknown_key_warns_and_the_others_apply)
{
    ParseOptions("foo ktest=mm_* bar=1 quiet init=/bin/sh");
    HT_ASSERT(WarningTotal == 2);
    HT_ASSERT_WARNING("unknown kernel command-line key 'foo' ignored");
    HT_ASSERT_WARNING("unknown kernel command-line key 'bar=1' ignored");
    HT_ASSERT_WARNING("ktest, ktest=PATTERN, ktestcpus=N, quiet, nosmp, smp=off, "
                      "verifier=CHECKS, verifiertag=TAG, ata=pio, pagefile=SIZE|off, kbench, "
                      "kbench=boot, kbench=smp and init=");
    HT_ASSERT(Options.RunTests);
    HT_ASSERT_STR(Options.TestPattern, "mm_*");
    HT_ASSERT(Options.Quiet);
    HT_ASSERT_STR(Options.Init, "/bin/sh");

    /* Near misses are unknown keys too. */
    ParseOptions("ktests quiet=1 KTEST init");
    HT_ASSERT(WarningTotal == 4);
    HT_ASSERT(!Options.RunTests);
    HT_ASSERT(!Options.Quiet);
    HT_ASSERT_STR(Options.Init, "");
}

HTEST(options_long_values_are_truncated)
{
    char Line[1024], Want[LOADER_INIT_MAX];

    strcpy(Line, "ktest=");
    memset(Line + 6, 'p', 200);
    Line[206] = '\0';
    ParseOptions(Line);
    HT_ASSERT(WarningTotal == 1);
    HT_ASSERT_WARNING("the value of 'ktest' is 200 characters long; only the first 127 were kept.");
    HT_ASSERT(Options.RunTests);
    HT_ASSERT(strlen(Options.TestPattern) == LOADER_KTEST_PATTERN_MAX - 1);

    strcpy(Line, "quiet init=");
    memset(Line + 11, 'i', 300);
    Line[311] = '\0';
    ParseOptions(Line);
    HT_ASSERT(WarningTotal == 1);
    HT_ASSERT_WARNING("the value of 'init' is 300 characters long; only the first 255 were kept.");
    HT_ASSERT(Options.Quiet);
    memset(Want, 'i', sizeof(Want) - 1);
    Want[sizeof(Want) - 1] = '\0';
    HT_ASSERT_STR(Options.Init, Want);
}

HTEST(options_warn_routine_may_be_null)
{
    memset(&Options, 0x5A, sizeof(Options));
    KiParseBootOptions("nonsense ktest", &Options, NULL);
    HT_ASSERT(Options.RunTests);
    HT_ASSERT(!Options.Quiet);
}

HTEST(options_verifier_names_set_their_flags)
{
    ParseOptions("");
    HT_ASSERT(Options.VerifierFlags == 0);
    HT_ASSERT(Options.VerifierTag == 0);

    ParseOptions("verifier=special,lowres quiet");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.VerifierFlags == (VERIFIER_SPECIAL_POOL | VERIFIER_LOW_RESOURCES));
    HT_ASSERT(Options.VerifierSeed == 0);
    HT_ASSERT(Options.Quiet);

    /* "underrun" is a mode of special pool, so it turns special pool on. */
    ParseOptions("verifier=underrun");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.VerifierFlags == (VERIFIER_SPECIAL_POOL | VERIFIER_SPECIAL_POOL_UNDERRUN));

    ParseOptions("verifier=io");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.VerifierFlags == VERIFIER_IO_CHECKING);

    ParseOptions("verifier=irql,io");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.VerifierFlags == (VERIFIER_FORCE_IRQL_CHECKING | VERIFIER_IO_CHECKING));

    ParseOptions("verifier=lowres:1f2e");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.VerifierFlags == VERIFIER_LOW_RESOURCES);
    HT_ASSERT(Options.VerifierSeed == 0x1f2e);
}

HTEST(options_verifier_hex_mask_keeps_known_bits_only)
{
    ParseOptions("verifier=0x5");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.VerifierFlags == (VERIFIER_SPECIAL_POOL | VERIFIER_LOW_RESOURCES));

    /* 0x10 is NT's I/O verification and 0x2 its IRQL checking, which
     * Pagoda has; 0x20 (NT's deadlock detection) it does not. */
    ParseOptions("verifier=0x2");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.VerifierFlags == VERIFIER_FORCE_IRQL_CHECKING);
    ParseOptions("verifier=0x11");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.VerifierFlags == (VERIFIER_SPECIAL_POOL | VERIFIER_IO_CHECKING));
    ParseOptions("verifier=0x21");
    HT_ASSERT(WarningTotal == 1);
    HT_ASSERT(HasWarning("not implemented"));
    HT_ASSERT(Options.VerifierFlags == VERIFIER_SPECIAL_POOL);

    ParseOptions("verifier=0xZZ");
    HT_ASSERT(WarningTotal == 1);
    HT_ASSERT(Options.VerifierFlags == 0);
}

HTEST(options_verifier_unknown_name_warns_and_keeps_the_rest)
{
    ParseOptions("verifier=special,bogus,,lowres:xyz");
    HT_ASSERT(WarningTotal == 2);
    HT_ASSERT(HasWarning("'bogus'"));
    HT_ASSERT(HasWarning("'lowres:xyz'"));
    HT_ASSERT(Options.VerifierFlags == VERIFIER_SPECIAL_POOL);
}

HTEST(options_verifiertag_packs_like_pool_tag)
{
    ParseOptions("verifiertag=Kt1 verifier=special");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.VerifierTag == POOL_TAG('K', 't', '1', 0));

    ParseOptions("verifiertag=Vad ");
    HT_ASSERT(Options.VerifierTag == POOL_TAG('V', 'a', 'd', 0));

    ParseOptions("verifiertag=Toolong");
    HT_ASSERT(WarningTotal == 1);
    HT_ASSERT(Options.VerifierTag == 0);
}

HTEST(options_nosmp_and_ktestcpus)
{
    ParseOptions("nosmp");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.NoSmp);

    ParseOptions("smp=off ktestcpus=4");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.NoSmp);
    HT_ASSERT(Options.TestProcessors == 4);

    ParseOptions("ktestcpus=x");
    HT_ASSERT(WarningTotal == 1);
    HT_ASSERT(!Options.NoSmp);
    HT_ASSERT(Options.TestProcessors == 0);
}

HTEST(options_pagefile_size_suffixes_and_off)
{
    ParseOptions("pagefile=64M");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(!Options.PageFileOff);
    HT_ASSERT(Options.PageFileBytes == 64ULL << 20);
    ParseOptions("pagefile=512k");
    HT_ASSERT(Options.PageFileBytes == 512ULL << 10);
    ParseOptions("pagefile=2G");
    HT_ASSERT(Options.PageFileBytes == 2ULL << 30);
    ParseOptions("pagefile=8192");
    HT_ASSERT(Options.PageFileBytes == 8192);
    ParseOptions("pagefile=off");
    HT_ASSERT(WarningTotal == 0);
    HT_ASSERT(Options.PageFileOff);
    /* The last key wins, as for every key. */
    ParseOptions("pagefile=off pagefile=16M");
    HT_ASSERT(!Options.PageFileOff && Options.PageFileBytes == 16ULL << 20);
}

HTEST(options_pagefile_bad_size_warns_and_keeps_the_default)
{
    static const char *const Bad[] = {"pagefile=",
                                      "pagefile=M",
                                      "pagefile=0",
                                      "pagefile=12X",
                                      "pagefile=64MB",
                                      "pagefile=-1",
                                      "pagefile=99999999999999G",
                                      "pagefile=1048576G"};
    for (unsigned i = 0; i < sizeof(Bad) / sizeof(Bad[0]); i++) {
        ParseOptions(Bad[i]);
        HT_ASSERT(WarningTotal == 1);
        HT_ASSERT_WARNING("is neither a size (such as 64M) nor 'off'");
        HT_ASSERT(!Options.PageFileOff && Options.PageFileBytes == 0);
    }
}

HTEST_MAIN()
