/*
 * bootinfo.c - read what the boot loader told us: the multiboot2 information
 * (into a LOADER_PARAMETER_BLOCK), the kernel command line (into
 * BOOT_OPTIONS) and the ktest name patterns.
 *
 * The multiboot2 information (multiboot2 spec, 3.6) is an 8-byte fixed part
 *
 *     u32 total_size   bytes of the whole information, end tag included
 *     u32 reserved     always 0, ignored
 *
 * followed by tags, each starting on an 8-byte boundary with
 *
 *     u32 type         0 ends the list (and then size is 8)
 *     u32 size         bytes of the tag, header included, padding excluded
 *
 * We keep four kinds of tag: 1 (command line), 2 (boot loader name),
 * 3 (module) and 6 (memory map). GRUB sends many others (framebuffer, ACPI,
 * ELF sections, ...); they are skipped without a word.
 *
 * Nothing from the boot loader is trusted: every read is bounded by both the
 * header's total_size and the number of bytes the caller says it can read,
 * and every field is read byte by byte so that no alignment is assumed.
 * Each problem becomes one sentence through the caller's warning routine and
 * one more in Block->WarningCount; parsing then carries on with whatever is
 * still well formed. Only an unusable fixed part makes the parse fail.
 *
 * Memory ranges are kept in the loader's order. GRUB passes the firmware's
 * map (E820 on a PC) as it is, which is usually sorted by base but is not
 * promised to be, and ranges may even overlap; the PFN database code must not
 * rely on the order. We do drop ranges that are empty or wrap past the top of
 * the 64-bit address space, so Base + Length never overflows.
 *
 * Locking and IRQL: none. KiParseMultiboot2 runs once on the boot CPU before
 * anything else exists; the two command-line routines are pure and may be
 * called at any IRQL.
 */

#include "../rtl/rtl.h"
#include "../include/loader.h"

/* The information tag types we act on (multiboot2 spec, 3.6.5 - 3.6.9) and
 * MB2_TAG_ALIGNMENT are in include/loader.h, shared with boot/header.asm. */

#define MB2_FIXED_PART_SIZE   8   /* total_size, reserved */
#define MB2_TAG_HEADER_SIZE   8   /* type, size */
#define MB2_END_TAG_SIZE      8
#define MB2_MODULE_FIXED_SIZE 16  /* type, size, mod_start, mod_end; then the string */
#define MB2_MMAP_FIXED_SIZE   16  /* type, size, entry_size, entry_version; then entries */
#define MB2_MMAP_ENTRY_SIZE   24  /* u64 base_addr, u64 length, u32 type, u32 reserved */

/* State of one walk over the information. */
typedef struct _KI_MB2_PARSER {
    const UCHAR *Base;              /* first byte of the information */
    ULONG Limit;                    /* bytes we may read: min(total_size, MbiSize) */
    PLOADER_PARAMETER_BLOCK Block;  /* what we fill */
    LOADER_WARNING_ROUTINE Warn;    /* may be NULL: then warnings are only counted */
    BOOLEAN SawMemoryMapTag;        /* a type 6 tag was met, usable or not */
    BOOLEAN ModulesFull;            /* "too many modules" was already said */
} KI_MB2_PARSER, *PKI_MB2_PARSER;

/*
 * One warning: count it in the block, then hand the sentence to the caller.
 * A macro because LOADER_WARNING_ROUTINE takes "..." and not a va_list.
 */
#define KiMb2Warn(Parser, ...)                      \
    do {                                            \
        (Parser)->Block->WarningCount++;            \
        if ((Parser)->Warn != NULL) {               \
            (Parser)->Warn(__VA_ARGS__);            \
        }                                           \
    } while (0)

#define KiOptionWarn(Warn, ...)                     \
    do {                                            \
        if ((Warn) != NULL) {                       \
            (Warn)(__VA_ARGS__);                    \
        }                                           \
    } while (0)

/*
 * Multiboot2 is little-endian, like x86. Reading byte by byte keeps us free
 * of alignment and aliasing assumptions about a structure we did not build;
 * gcc turns each of these into a single load anyway.
 */
static ULONG KiReadUlong(const UCHAR *Bytes)
{
    return (ULONG)Bytes[0] | ((ULONG)Bytes[1] << 8) | ((ULONG)Bytes[2] << 16) |
           ((ULONG)Bytes[3] << 24);
}

static ULONG64 KiReadUlong64(const UCHAR *Bytes)
{
    return (ULONG64)KiReadUlong(Bytes) | ((ULONG64)KiReadUlong(Bytes + 4) << 32);
}

/* The spec's name for a tag type, for warnings. */
static const char *KiMb2TagName(ULONG Type)
{
    static const char *const Names[] = {
        "end",                      /*  0 */
        "command line",             /*  1 */
        "boot loader name",         /*  2 */
        "module",                   /*  3 */
        "basic memory information", /*  4 */
        "BIOS boot device",         /*  5 */
        "memory map",               /*  6 */
        "VBE info",                 /*  7 */
        "framebuffer info",         /*  8 */
        "ELF symbols",              /*  9 */
        "APM table",                /* 10 */
        "EFI 32-bit system table",  /* 11 */
        "EFI 64-bit system table",  /* 12 */
        "SMBIOS tables",            /* 13 */
        "ACPI 1.0 RSDP",            /* 14 */
        "ACPI 2.0 RSDP",            /* 15 */
        "networking information",   /* 16 */
        "EFI memory map",           /* 17 */
        "EFI boot services not terminated", /* 18 */
        "EFI 32-bit image handle",  /* 19 */
        "EFI 64-bit image handle",  /* 20 */
        "image load base address",  /* 21 */
    };

    return Type < ARRAYSIZE(Names) ? Names[Type] : "unknown type";
}

/*
 * Copy the string that starts StringOffset bytes into the tag at TagOffset
 * (of TagSize bytes) into Dest[DestSize], always terminating Dest. A string
 * without a NUL before the end of its tag is warned about and taken up to
 * the end of the tag. Returns the string's full length, so the caller can
 * tell (Length >= DestSize) that it was truncated and say so in its words.
 */
static ULONG KiTakeTagString(PKI_MB2_PARSER Parser, ULONG Type, ULONG TagOffset,
                             ULONG TagSize, ULONG StringOffset, PCHAR Dest, ULONG DestSize)
{
    const UCHAR *String = Parser->Base + TagOffset + StringOffset;
    ULONG Available = TagSize - StringOffset;
    ULONG Length = 0;
    ULONG Copied;

    while (Length < Available && String[Length] != '\0') {
        Length++;
    }
    if (Length == Available) {
        KiMb2Warn(Parser,
                  "multiboot2: tag %u (%s) at offset 0x%x is not NUL-terminated within its "
                  "%u bytes; its string was taken up to the end of the tag.",
                  Type, KiMb2TagName(Type), TagOffset, TagSize);
    }

    Copied = Length < DestSize ? Length : DestSize - 1;
    memcpy(Dest, String, Copied);
    Dest[Copied] = '\0';
    return Length;
}

/* Tags 1 and 2: one string each. A second copy of either is ignored. */
static void KiParseStringTag(PKI_MB2_PARSER Parser, ULONG Type, ULONG Offset, ULONG Size,
                             PCHAR Dest, ULONG DestSize, PBOOLEAN Present, const char *What)
{
    ULONG Length;

    if (*Present) {
        KiMb2Warn(Parser,
                  "multiboot2: a second tag %u (%s) at offset 0x%x; the first one is kept.",
                  Type, KiMb2TagName(Type), Offset);
        return;
    }

    Length = KiTakeTagString(Parser, Type, Offset, Size, MB2_TAG_HEADER_SIZE, Dest, DestSize);
    *Present = TRUE;
    if (Length >= DestSize) {
        KiMb2Warn(Parser, "multiboot2: %s is %u characters long; only the first %u were kept.",
                  What, Length, DestSize - 1);
    }
}

/*
 * Tag 3 (multiboot2 spec, 3.6.6): u32 mod_start, u32 mod_end, then the
 * module's string. GRUB sets mod_end one past the last byte, which is what
 * LOADER_MODULE.End means; an empty module (end == start) is allowed.
 */
static void KiParseModuleTag(PKI_MB2_PARSER Parser, ULONG Offset, ULONG Size)
{
    PLOADER_PARAMETER_BLOCK Block = Parser->Block;
    const UCHAR *Tag = Parser->Base + Offset;
    PLOADER_MODULE Module;
    ULONG Start, End, Length;

    if (Size < MB2_MODULE_FIXED_SIZE) {
        KiMb2Warn(Parser,
                  "multiboot2: tag %u (%s) at offset 0x%x has size %u, smaller than its "
                  "%u-byte header; skipped.",
                  MB2_TAG_MODULE, KiMb2TagName(MB2_TAG_MODULE), Offset, Size,
                  MB2_MODULE_FIXED_SIZE);
        return;
    }
    if (Block->ModuleCount == LOADER_MAX_MODULES) {
        if (!Parser->ModulesFull) {
            KiMb2Warn(Parser, "multiboot2: more than %u modules; the rest are ignored.",
                      LOADER_MAX_MODULES);
            Parser->ModulesFull = TRUE;
        }
        return;
    }

    /* Take the name into the next free slot first, so a warning can quote it. */
    Module = &Block->Modules[Block->ModuleCount];
    Start = KiReadUlong(Tag + 8);
    End = KiReadUlong(Tag + 12);
    Length = KiTakeTagString(Parser, MB2_TAG_MODULE, Offset, Size, MB2_MODULE_FIXED_SIZE,
                             Module->Name, sizeof(Module->Name));

    if (End < Start) {
        KiMb2Warn(Parser,
                  "multiboot2: module '%s' at offset 0x%x ends at 0x%x, before its start "
                  "at 0x%x; skipped.",
                  Module->Name, Offset, End, Start);
        memset(Module, 0, sizeof(*Module));
        return;
    }
    if (Length >= sizeof(Module->Name)) {
        KiMb2Warn(Parser,
                  "multiboot2: the name of module %u is %u characters long; only the "
                  "first %u were kept.",
                  Block->ModuleCount, Length, (ULONG)sizeof(Module->Name) - 1);
    }

    Module->Start = Start;
    Module->End = End;
    Block->ModuleCount++;
}

/*
 * Entry number Index of a memory map tag, at Entry: keep it in Block unless
 * it is empty or wraps past the top of the address space (then it is warned
 * about and skipped). FALSE when the table is full and the rest of the map
 * must be ignored.
 */
static BOOLEAN KiAddMemoryRange(PKI_MB2_PARSER Parser, ULONG Index, const UCHAR *Entry)
{
    PLOADER_PARAMETER_BLOCK Block = Parser->Block;
    ULONG64 RangeBase = KiReadUlong64(Entry);
    ULONG64 RangeLength = KiReadUlong64(Entry + 8);
    ULONG RangeType = KiReadUlong(Entry + 16);
    PLOADER_MEMORY_RANGE Range;

    if (RangeLength == 0) {
        KiMb2Warn(Parser,
                  "multiboot2: memory range %u (base 0x%llx, type %u) has length 0; "
                  "skipped.",
                  Index, (unsigned long long)RangeBase, RangeType);
        return TRUE;
    }
    /* The last byte, RangeBase + RangeLength - 1, must not wrap. */
    if (RangeLength - 1 > ~(ULONG64)0 - RangeBase) {
        KiMb2Warn(Parser,
                  "multiboot2: memory range %u (base 0x%llx, length 0x%llx) runs past the "
                  "top of the 64-bit address space; skipped.",
                  Index, (unsigned long long)RangeBase, (unsigned long long)RangeLength);
        return TRUE;
    }
    if (Block->MemoryRangeCount == LOADER_MAX_MEMORY_RANGES) {
        KiMb2Warn(Parser, "multiboot2: more than %u memory ranges; the rest are ignored.",
                  LOADER_MAX_MEMORY_RANGES);
        return FALSE;
    }

    Range = &Block->MemoryRanges[Block->MemoryRangeCount++];
    Range->Base = RangeBase;
    Range->Length = RangeLength;
    Range->Type = RangeType;
    return TRUE;
}

/*
 * Tag 6 (multiboot2 spec, 3.6.8): u32 entry_size, u32 entry_version, then
 * entries of entry_size bytes, each starting with u64 base_addr, u64 length,
 * u32 type, u32 reserved. entry_size may grow in later versions of the spec
 * (new fields go at the end), so we step by it and read only the first 24
 * bytes; entry_version is ignored for the same reason.
 */
static void KiParseMemoryMapTag(PKI_MB2_PARSER Parser, ULONG Offset, ULONG Size)
{
    PLOADER_PARAMETER_BLOCK Block = Parser->Block;
    const UCHAR *Tag = Parser->Base + Offset;
    ULONG EntrySize, EntryCount, Leftover, Index;

    Parser->SawMemoryMapTag = TRUE;
    if (Size < MB2_MMAP_FIXED_SIZE) {
        KiMb2Warn(Parser,
                  "multiboot2: tag %u (%s) at offset 0x%x has size %u, smaller than its "
                  "%u-byte header; skipped.",
                  MB2_TAG_MEMORY_MAP, KiMb2TagName(MB2_TAG_MEMORY_MAP), Offset, Size,
                  MB2_MMAP_FIXED_SIZE);
        return;
    }
    if (Block->HasMemoryMap) {
        KiMb2Warn(Parser,
                  "multiboot2: a second tag %u (%s) at offset 0x%x; the first one is kept.",
                  MB2_TAG_MEMORY_MAP, KiMb2TagName(MB2_TAG_MEMORY_MAP), Offset);
        return;
    }

    EntrySize = KiReadUlong(Tag + 8);
    if (EntrySize < MB2_MMAP_ENTRY_SIZE) {
        KiMb2Warn(Parser,
                  "multiboot2: tag %u (%s) at offset 0x%x has entry_size %u, smaller than "
                  "the %u bytes of an entry; skipped.",
                  MB2_TAG_MEMORY_MAP, KiMb2TagName(MB2_TAG_MEMORY_MAP), Offset, EntrySize,
                  MB2_MMAP_ENTRY_SIZE);
        return;
    }

    EntryCount = (Size - MB2_MMAP_FIXED_SIZE) / EntrySize;
    Leftover = (Size - MB2_MMAP_FIXED_SIZE) % EntrySize;
    if (Leftover != 0) {
        KiMb2Warn(Parser,
                  "multiboot2: tag %u (%s) at offset 0x%x ends with %u bytes that do not make "
                  "a whole %u-byte entry; they are ignored.",
                  MB2_TAG_MEMORY_MAP, KiMb2TagName(MB2_TAG_MEMORY_MAP), Offset, Leftover,
                  EntrySize);
    }

    Block->HasMemoryMap = TRUE;
    if (EntryCount == 0) {
        KiMb2Warn(Parser,
                  "multiboot2: the memory map at offset 0x%x lists no ranges; the kernel "
                  "cannot find usable RAM.",
                  Offset);
        return;
    }

    for (Index = 0; Index < EntryCount; Index++) {
        if (!KiAddMemoryRange(Parser, Index, Tag + MB2_MMAP_FIXED_SIZE + Index * EntrySize)) {
            break;
        }
    }
}

/*
 * The fixed part (multiboot2 spec, 3.6.1): without a readable total_size of
 * at least 8 there is nothing to walk. A total_size that is too large or not
 * a multiple of 8 is warned about and the walk goes on within what is
 * readable. Sets Parser->Limit and Block->MbiSize.
 */
static NTSTATUS KiReadFixedPart(PKI_MB2_PARSER Parser, ULONG64 MbiPhysical, ULONG MbiSize)
{
    ULONG TotalSize;

    if (MbiSize < MB2_FIXED_PART_SIZE) {
        KiMb2Warn(Parser,
                  "multiboot2: only %u bytes of the information are readable, fewer than its "
                  "%u-byte fixed part; nothing was parsed.",
                  MbiSize, MB2_FIXED_PART_SIZE);
        return STATUS_INVALID_PARAMETER;
    }
    TotalSize = KiReadUlong(Parser->Base);
    if (TotalSize < MB2_FIXED_PART_SIZE) {
        KiMb2Warn(Parser,
                  "multiboot2: total_size %u is smaller than the %u-byte fixed part; nothing "
                  "was parsed.",
                  TotalSize, MB2_FIXED_PART_SIZE);
        return STATUS_INVALID_PARAMETER;
    }

    if ((MbiPhysical & (MB2_TAG_ALIGNMENT - 1)) != 0) {
        KiMb2Warn(Parser,
                  "multiboot2: the information at physical address 0x%llx is not 8-byte "
                  "aligned.",
                  (unsigned long long)MbiPhysical);
    }
    if ((TotalSize & (MB2_TAG_ALIGNMENT - 1)) != 0) {
        KiMb2Warn(Parser, "multiboot2: total_size %u is not a multiple of 8.", TotalSize);
    }
    Parser->Limit = TotalSize;
    if (TotalSize > MbiSize) {
        KiMb2Warn(Parser,
                  "multiboot2: total_size %u is larger than the %u bytes that can be read; "
                  "only those are parsed.",
                  TotalSize, MbiSize);
        Parser->Limit = MbiSize;
    }
    Parser->Block->MbiSize = Parser->Limit;
    return STATUS_SUCCESS;
}

/*
 * Tags 14 and 15 (multiboot2 spec, 3.6.16 and 3.6.17): a copy of the ACPI
 * RSDP, the old one (20 bytes, revision 0) or the new one (36 bytes, with
 * the XSDT's address). Copied as it is; hal/acpi.c checks it. A new copy
 * replaces an old one, never the other way round.
 */
static void KiParseAcpiTag(PKI_MB2_PARSER Parser, ULONG Type, ULONG Offset, ULONG Size)
{
    PLOADER_PARAMETER_BLOCK Block = Parser->Block;
    ULONG Length = Size - MB2_TAG_HEADER_SIZE;

    if (Length < LOADER_RSDP_V1_SIZE) {
        KiMb2Warn(Parser,
                  "multiboot2: tag %u (%s) at offset %u holds %u bytes, fewer than the "
                  "%u of an RSDP; ignored.",
                  Type, KiMb2TagName(Type), Offset, Length, LOADER_RSDP_V1_SIZE);
        return;
    }
    if (Block->RsdpTag == MB2_TAG_ACPI_NEW && Type == MB2_TAG_ACPI_OLD)
        return;
    if (Type == MB2_TAG_ACPI_OLD)
        Length = LOADER_RSDP_V1_SIZE;
    else if (Length > LOADER_RSDP_MAX_SIZE)
        Length = LOADER_RSDP_MAX_SIZE;
    memcpy(Block->Rsdp, Parser->Base + Offset + MB2_TAG_HEADER_SIZE, Length);
    Block->RsdpSize = Length;
    Block->RsdpTag = Type;
}

/* Hand one well-formed tag to the routine that reads its type. */
static void KiParseTag(PKI_MB2_PARSER Parser, ULONG Type, ULONG Offset, ULONG Size)
{
    PLOADER_PARAMETER_BLOCK Block = Parser->Block;

    switch (Type) {
    case MB2_TAG_COMMAND_LINE:
        KiParseStringTag(Parser, Type, Offset, Size, Block->CommandLine,
                         sizeof(Block->CommandLine), &Block->HasCommandLine,
                         "the command line");
        break;
    case MB2_TAG_BOOT_LOADER_NAME:
        KiParseStringTag(Parser, Type, Offset, Size, Block->BootLoaderName,
                         sizeof(Block->BootLoaderName), &Block->HasBootLoaderName,
                         "the boot loader name");
        break;
    case MB2_TAG_MODULE:
        KiParseModuleTag(Parser, Offset, Size);
        break;
    case MB2_TAG_MEMORY_MAP:
        KiParseMemoryMapTag(Parser, Offset, Size);
        break;
    case MB2_TAG_ACPI_OLD:
    case MB2_TAG_ACPI_NEW:
        KiParseAcpiTag(Parser, Type, Offset, Size);
        break;
    default:
        /* Framebuffer, ELF sections, ...: not ours to read. */
        break;
    }
}

/*
 * Walk the tags from the end of the fixed part to the end tag. A tag whose
 * header is cut short, whose size is below the header's or which runs past
 * Parser->Limit ends the walk with a warning, as does reaching the limit
 * without an end tag.
 */
static void KiWalkTags(PKI_MB2_PARSER Parser)
{
    /*
     * Offset is 64-bit: Offset + Size fits in 32 bits (it is at most Limit),
     * but rounding it up to the next tag boundary may not.
     */
    ULONG64 Offset = MB2_FIXED_PART_SIZE;

    while (Offset < Parser->Limit) {
        ULONG Left = Parser->Limit - (ULONG)Offset;
        ULONG Type, Size;

        if (Left < MB2_TAG_HEADER_SIZE) {
            KiMb2Warn(Parser,
                      "multiboot2: the last %u bytes, at offset 0x%x, are too few for a tag "
                      "header, and no end tag came before them.",
                      Left, (ULONG)Offset);
            return;
        }

        Type = KiReadUlong(Parser->Base + Offset);
        Size = KiReadUlong(Parser->Base + Offset + 4);
        if (Type == MB2_TAG_END) {
            if (Size != MB2_END_TAG_SIZE) {
                KiMb2Warn(Parser,
                          "multiboot2: the end tag at offset 0x%x has size %u instead of %u.",
                          (ULONG)Offset, Size, MB2_END_TAG_SIZE);
            }
            return;
        }
        /* Without a sane size we cannot find the next tag, so the walk ends. */
        if (Size < MB2_TAG_HEADER_SIZE) {
            KiMb2Warn(Parser,
                      "multiboot2: tag %u (%s) at offset 0x%x has size %u, smaller than the "
                      "%u-byte tag header; the tags after it cannot be found.",
                      Type, KiMb2TagName(Type), (ULONG)Offset, Size, MB2_TAG_HEADER_SIZE);
            return;
        }
        if (Size > Left) {
            KiMb2Warn(Parser,
                      "multiboot2: tag %u (%s) at offset 0x%x has size %u and runs past the "
                      "end of the information at offset 0x%x; it and anything after it are "
                      "ignored.",
                      Type, KiMb2TagName(Type), (ULONG)Offset, Size, Parser->Limit);
            return;
        }

        KiParseTag(Parser, Type, (ULONG)Offset, Size);
        Offset = ALIGN_UP_BY(Offset + Size, MB2_TAG_ALIGNMENT);
    }

    KiMb2Warn(Parser,
              "multiboot2: no end tag (type 0, size 8) before the end of the information "
              "at offset 0x%x.",
              Parser->Limit);
}

/*
 * Read the multiboot2 information into Block; see loader.h for the contract.
 * The fixed part is checked first (KiReadFixedPart), then the tags are
 * walked (KiWalkTags); a boot without a usable memory map is warned about
 * last.
 */
NTSTATUS KiParseMultiboot2(const void *Mbi, ULONG64 MbiPhysical, ULONG MbiSize,
                           PLOADER_PARAMETER_BLOCK Block, LOADER_WARNING_ROUTINE Warn)
{
    KI_MB2_PARSER Parser;
    NTSTATUS Status;

    if (Block == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    memset(Block, 0, sizeof(*Block));
    Block->MbiPhysical = MbiPhysical;

    Parser.Base = Mbi;
    Parser.Limit = 0;
    Parser.Block = Block;
    Parser.Warn = Warn;
    Parser.SawMemoryMapTag = FALSE;
    Parser.ModulesFull = FALSE;

    if (Mbi == NULL) {
        KiMb2Warn(&Parser, "multiboot2: no information was passed (NULL pointer); nothing "
                           "was parsed.");
        return STATUS_INVALID_PARAMETER;
    }
    Status = KiReadFixedPart(&Parser, MbiPhysical, MbiSize);
    if (!NT_SUCCESS(Status)) {
        return Status;
    }

    KiWalkTags(&Parser);

    if (!Parser.SawMemoryMapTag) {
        KiMb2Warn(&Parser, "multiboot2: no memory map tag; the kernel cannot find usable RAM.");
    } else if (!Block->HasMemoryMap) {
        KiMb2Warn(&Parser,
                  "multiboot2: no memory map tag could be used; the kernel cannot find "
                  "usable RAM.");
    }

    return STATUS_SUCCESS;
}

/* The command line is split on the characters C's isspace() knows. */
static BOOLEAN KiIsSpace(char C)
{
    return C == ' ' || C == '\t' || C == '\n' || C == '\r' || C == '\v' || C == '\f';
}

/* TRUE when the Length characters at Token are exactly Key. */
static BOOLEAN KiTokenIs(const char *Token, SIZE_T Length, const char *Key)
{
    return Length == strlen(Key) && memcmp(Token, Key, Length) == 0;
}

/* TRUE when the Length characters at Token begin with Prefix. */
static BOOLEAN KiTokenStartsWith(const char *Token, SIZE_T Length, const char *Prefix)
{
    SIZE_T PrefixLength = strlen(Prefix);

    return Length >= PrefixLength && memcmp(Token, Prefix, PrefixLength) == 0;
}

/* Copy a key's value into its fixed buffer, warning when it does not fit. */
static void KiCopyOptionValue(PCHAR Dest, SIZE_T DestSize, const char *Value, SIZE_T Length,
                              const char *Key, LOADER_WARNING_ROUTINE Warn)
{
    SIZE_T Copied = Length < DestSize ? Length : DestSize - 1;

    memcpy(Dest, Value, Copied);
    Dest[Copied] = '\0';
    if (Length >= DestSize) {
        KiOptionWarn(Warn,
                     "kernel command line: the value of '%s' is %zu characters long; only "
                     "the first %zu were kept.",
                     Key, Length, DestSize - 1);
    }
}

/* The value of Length hex digits at Digits (an optional "0x" first), or
 * FALSE when one is not a hex digit or there are none or too many. */
static BOOLEAN KiParseHex(const char *Digits, SIZE_T Length, PULONG Value)
{
    ULONG Result = 0;

    if (Length > 2 && Digits[0] == '0' && (Digits[1] == 'x' || Digits[1] == 'X')) {
        Digits += 2;
        Length -= 2;
    }
    if (Length == 0 || Length > 8)
        return FALSE;
    for (SIZE_T i = 0; i < Length; i++) {
        char C = Digits[i];
        ULONG Digit;

        if (C >= '0' && C <= '9')
            Digit = (ULONG)(C - '0');
        else if (C >= 'a' && C <= 'f')
            Digit = (ULONG)(C - 'a' + 10);
        else if (C >= 'A' && C <= 'F')
            Digit = (ULONG)(C - 'A' + 10);
        else
            return FALSE;
        Result = (Result << 4) | Digit;
    }
    *Value = Result;
    return TRUE;
}

/* One name of a "verifier=" list: its flag into *Flags ("lowres:SEED" also
 * sets Options->VerifierSeed), or a warning. */
static void KiParseVerifierName(const char *Name, SIZE_T Length, PBOOT_OPTIONS Options,
                                PULONG Flags, LOADER_WARNING_ROUTINE Warn)
{
    if (KiTokenIs(Name, Length, "special")) {
        *Flags |= VERIFIER_SPECIAL_POOL;
    } else if (KiTokenIs(Name, Length, "underrun")) {
        *Flags |= VERIFIER_SPECIAL_POOL | VERIFIER_SPECIAL_POOL_UNDERRUN;
    } else if (KiTokenIs(Name, Length, "io")) {
        *Flags |= VERIFIER_IO_CHECKING;
    } else if (KiTokenIs(Name, Length, "irql")) {
        *Flags |= VERIFIER_FORCE_IRQL_CHECKING;
    } else if (KiTokenIs(Name, Length, "lowres")) {
        *Flags |= VERIFIER_LOW_RESOURCES;
    } else if (KiTokenStartsWith(Name, Length, "lowres:") &&
               KiParseHex(Name + 7, Length - 7, &Options->VerifierSeed)) {
        *Flags |= VERIFIER_LOW_RESOURCES;
    } else {
        KiOptionWarn(
            Warn,
            "kernel command line: verifier check '%.*s' is unknown and ignored (the "
            "checks are special, underrun, irql, io, lowres, lowres:SEED in hex, or a hex mask).",
            (int)Length, Name);
    }
}

/* "verifier=" with its value at Value: a hex mask or a comma-separated
 * list of names. Bits Pagoda does not have are warned about and dropped. */
static void KiParseVerifierOption(const char *Value, SIZE_T Length, PBOOT_OPTIONS Options,
                                  LOADER_WARNING_ROUTINE Warn)
{
    ULONG Flags = 0;

    Options->VerifierSeed = 0;
    if (Length > 2 && Value[0] == '0' && (Value[1] == 'x' || Value[1] == 'X')) {
        if (!KiParseHex(Value, Length, &Flags))
            KiOptionWarn(Warn, "kernel command line: verifier mask '%.*s' is not a hex number "
                               "of at most 8 digits; the verifier stays off.",
                         (int)Length, Value);
    } else {
        const char *End = Value + Length;

        while (Value < End) {
            const char *Comma = Value;

            while (Comma < End && *Comma != ',')
                Comma++;
            if (Comma > Value)
                KiParseVerifierName(Value, (SIZE_T)(Comma - Value), Options, &Flags, Warn);
            Value = Comma + 1;
        }
    }
    if (Flags & VERIFIER_SPECIAL_POOL_UNDERRUN)
        Flags |= VERIFIER_SPECIAL_POOL;
    if (Flags & ~VERIFIER_KNOWN_FLAGS)
        KiOptionWarn(Warn, "kernel command line: verifier flags 0x%x are not implemented and "
                           "were dropped.",
                     (unsigned int)(Flags & ~VERIFIER_KNOWN_FLAGS));
    Options->VerifierFlags = Flags & VERIFIER_KNOWN_FLAGS;
}

/* "KEY=N": a decimal number below 1000; anything else warns and leaves 0. */
static void KiParseDecimalOption(const char *Value, SIZE_T Length, PULONG Result, const char *Key,
                                 LOADER_WARNING_ROUTINE Warn)
{
    ULONG Number = 0;

    *Result = 0;
    if (Length == 0 || Length > 3)
        goto Bad;
    for (SIZE_T i = 0; i < Length; i++) {
        if (Value[i] < '0' || Value[i] > '9')
            goto Bad;
        Number = Number * 10 + (ULONG)(Value[i] - '0');
    }
    *Result = Number;
    return;
Bad:
    KiOptionWarn(Warn, "kernel command line: '%s=%.*s' is not a number from 0 to 999; ignored.",
                 Key, (int)Length, Value);
}

/* "pagefile=SIZE" with an optional K, M or G suffix, or "pagefile=off". */
static void KiParsePageFileOption(const char *Value, SIZE_T Length, PBOOT_OPTIONS Options,
                                  LOADER_WARNING_ROUTINE Warn)
{
    ULONG64 Bytes = 0;
    SIZE_T i = 0;
    if (Length == 3 && memcmp(Value, "off", 3) == 0) {
        Options->PageFileOff = TRUE;
        return;
    }
    for (; i < Length && Value[i] >= '0' && Value[i] <= '9' && Bytes < (1ULL << 40); i++)
        Bytes = Bytes * 10 + (ULONG64)(Value[i] - '0');
    ULONG Shift = 0;
    if (i + 1 == Length && (Value[i] == 'K' || Value[i] == 'k'))
        Shift = 10;
    else if (i + 1 == Length && (Value[i] == 'M' || Value[i] == 'm'))
        Shift = 20;
    else if (i + 1 == Length && (Value[i] == 'G' || Value[i] == 'g'))
        Shift = 30;
    else if (i != Length)
        i = 0; /* not a size */
    if (i == 0 || Bytes == 0 || Bytes >= (1ULL << 40) >> Shift) { /* 1 TiB at most */
        KiOptionWarn(Warn,
                     "kernel command line: pagefile '%.*s' is neither a size (such as "
                     "64M) nor 'off'; the default size is used.",
                     (int)Length, Value);
        return;
    }
    Options->PageFileOff = FALSE;
    Options->PageFileBytes = Bytes << Shift;
}

/* "verifiertag=TAG": one to four characters, in POOL_TAG's order. */
static void KiParseVerifierTag(const char *Value, SIZE_T Length, PBOOT_OPTIONS Options,
                               LOADER_WARNING_ROUTINE Warn)
{
    ULONG Tag = 0;

    if (Length == 0 || Length > 4) {
        KiOptionWarn(Warn, "kernel command line: verifiertag '%.*s' must be one to four "
                           "characters; ignored.",
                     (int)Length, Value);
        return;
    }
    for (SIZE_T i = 0; i < Length; i++)
        Tag |= (ULONG)(UCHAR)Value[i] << (8 * i);
    Options->VerifierTag = Tag;
}

/*
 * Decode the kernel command line; see loader.h for the keys. Options is
 * zeroed first, so an absent key means its default. Keys are separated by
 * white space; a repeated key takes its last value. "init=" ends the
 * parsing: everything after it, white space trimmed at both ends, is the
 * program and its arguments.
 */
void KiParseBootOptions(const char *CommandLine, PBOOT_OPTIONS Options,
                        LOADER_WARNING_ROUTINE Warn)
{
    const char *Cursor = CommandLine;

    memset(Options, 0, sizeof(*Options));
    if (Cursor == NULL) {
        return;
    }

    for (;;) {
        const char *Token;
        SIZE_T Length;

        while (KiIsSpace(*Cursor)) {
            Cursor++;
        }
        if (*Cursor == '\0') {
            break;
        }
        Token = Cursor;
        while (*Cursor != '\0' && !KiIsSpace(*Cursor)) {
            Cursor++;
        }
        Length = (SIZE_T)(Cursor - Token);

        if (KiTokenStartsWith(Token, Length, "init=")) {
            const char *Value = Token + 5;
            const char *End;

            while (KiIsSpace(*Value)) {
                Value++;
            }
            End = Value + strlen(Value);
            while (End > Value && KiIsSpace(End[-1])) {
                End--;
            }
            if (End == Value) {
                KiOptionWarn(Warn, "kernel command line: 'init=' names no program; the "
                                   "default shell will be started.");
            } else {
                KiCopyOptionValue(Options->Init, sizeof(Options->Init), Value,
                                  (SIZE_T)(End - Value), "init", Warn);
            }
            break;
        } else if (KiTokenIs(Token, Length, "ktest")) {
            Options->RunTests = TRUE;
            Options->TestPattern[0] = '\0';
        } else if (KiTokenStartsWith(Token, Length, "ktest=")) {
            Options->RunTests = TRUE;
            KiCopyOptionValue(Options->TestPattern, sizeof(Options->TestPattern), Token + 6,
                              Length - 6, "ktest", Warn);
        } else if (KiTokenIs(Token, Length, "quiet")) {
            Options->Quiet = TRUE;
        } else if (KiTokenIs(Token, Length, "nosmp") || KiTokenIs(Token, Length, "smp=off")) {
            Options->NoSmp = TRUE;
        } else if (KiTokenStartsWith(Token, Length, "ktestcpus=")) {
            KiParseDecimalOption(Token + 10, Length - 10, &Options->TestProcessors, "ktestcpus",
                                 Warn);
        } else if (KiTokenStartsWith(Token, Length, "verifier=")) {
            KiParseVerifierOption(Token + 9, Length - 9, Options, Warn);
        } else if (KiTokenStartsWith(Token, Length, "verifiertag=")) {
            KiParseVerifierTag(Token + 12, Length - 12, Options, Warn);
        } else if (KiTokenIs(Token, Length, "ata=pio")) {
            Options->AtaPio = TRUE;
        } else if (KiTokenStartsWith(Token, Length, "pagefile=")) {
            KiParsePageFileOption(Token + 9, Length - 9, Options, Warn);
        } else if (KiTokenIs(Token, Length, "kbench") || KiTokenIs(Token, Length, "kbench=boot") ||
                   KiTokenIs(Token, Length, "kbench=smp")) {
            /* The benchmarks read the command line themselves (tests/kernel/kbench.c). */
        } else {
            KiOptionWarn(
                Warn,
                "unknown kernel command-line key '%.*s' ignored (the known keys are "
                "ktest, ktest=PATTERN, ktestcpus=N, quiet, nosmp, smp=off, verifier=CHECKS, "
                "verifiertag=TAG, ata=pio, pagefile=SIZE|off, kbench, kbench=boot, kbench=smp and "
                "init=PROGRAM "
                "[ARGUMENTS]).",
                (int)Length, Token);
        }
    }
}
