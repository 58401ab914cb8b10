/*
 * loader.h - what the boot loader told us, in the kernel's own words.
 *
 * KiSystemStartup parses the multiboot2 information from GRUB into a
 * LOADER_PARAMETER_BLOCK (the name NT gives the structure its boot loader
 * hands to the kernel) before the boot page tables go away; after that
 * nobody touches the multiboot2 bytes again. The block is copied, bounded and
 * validated, so later code can trust every field.
 */
#ifndef PAGODA_LOADER_H
#define PAGODA_LOADER_H

#include "ntdef.h"
#include "ntstatus.h"

/* Multiboot2 (specification 3.1 and 3.6). The magic GRUB leaves in EAX: */
#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36D76289u
/* The header in the kernel image (boot/header.asm): magic, architecture,
 * and the header tags it uses. */
#define MULTIBOOT2_HEADER_MAGIC        0xE85250D6u
#define MULTIBOOT2_ARCHITECTURE_I386   0    /* 32-bit protected mode */
#define MULTIBOOT2_HEADER_TAG_END      0
#define MULTIBOOT2_HEADER_TAG_INFORMATION_REQUEST 1
/* The information tags GRUB hands over (the header requests these ones,
 * kernel/bootinfo.c parses them). */
#define MB2_TAG_END              0
#define MB2_TAG_COMMAND_LINE     1
#define MB2_TAG_BOOT_LOADER_NAME 2
#define MB2_TAG_MODULE           3
#define MB2_TAG_MEMORY_MAP       6
#define MB2_TAG_ACPI_OLD 14 /* a copy of the ACPI 1.0 RSDP (20 bytes) */
#define MB2_TAG_ACPI_NEW 15 /* a copy of the ACPI 2.0+ RSDP (36 bytes) */
#define MB2_TAG_ALIGNMENT        8  /* header and information tags alike */

#define LOADER_MAX_MEMORY_RANGES 128
#define LOADER_MAX_MODULES       8
#define LOADER_COMMAND_LINE_MAX  512
#define LOADER_NAME_MAX          64
#define LOADER_INIT_MAX          256
#define LOADER_KTEST_PATTERN_MAX 128
#define LOADER_RSDP_V1_SIZE 20 /* ACPI RSDP, revision 0 (ACPI spec 5.2.5.3) */
#define LOADER_RSDP_MAX_SIZE 36 /* ... revision 2 and later, with the XSDT address */

/* The multiboot2 memory types (multiboot2 spec, 3.6.8), kept as numbers. */
typedef enum _LOADER_MEMORY_TYPE {
    LoaderMemoryAvailable = 1,
    LoaderMemoryReserved = 2,
    LoaderMemoryAcpiReclaimable = 3,
    LoaderMemoryAcpiNvs = 4,
    LoaderMemoryBad = 5,
} LOADER_MEMORY_TYPE;

typedef struct _LOADER_MEMORY_RANGE {
    ULONG64 Base;
    ULONG64 Length;
    ULONG Type;                 /* LOADER_MEMORY_TYPE; other values kept as given */
} LOADER_MEMORY_RANGE, *PLOADER_MEMORY_RANGE;

typedef struct _LOADER_MODULE {
    ULONG64 Start;              /* physical, first byte */
    ULONG64 End;                /* physical, one past the last byte */
    CHAR Name[LOADER_NAME_MAX]; /* the module's string from grub.cfg, truncated */
} LOADER_MODULE, *PLOADER_MODULE;

typedef struct _LOADER_PARAMETER_BLOCK {
    ULONG64 MbiPhysical;        /* where the multiboot2 information lies */
    ULONG MbiSize;              /* its total_size, cut to what the caller could read */
    BOOLEAN HasMemoryMap;
    BOOLEAN HasCommandLine;
    BOOLEAN HasBootLoaderName;
    CHAR CommandLine[LOADER_COMMAND_LINE_MAX];
    CHAR BootLoaderName[LOADER_NAME_MAX];
    /*
     * In the loader's order: not sorted, and ranges may overlap (GRUB hands
     * on the firmware's map as it is). Empty ranges and ranges that wrap
     * past 2^64 are dropped, so Base + Length never overflows.
     */
    ULONG MemoryRangeCount;
    LOADER_MEMORY_RANGE MemoryRanges[LOADER_MAX_MEMORY_RANGES];
    ULONG ModuleCount;
    LOADER_MODULE Modules[LOADER_MAX_MODULES];
    /*
     * The ACPI RSDP as GRUB copied it into tags 14/15 (not checked here:
     * hal/acpi.c checks the checksums). A tag 15 copy wins over a tag 14
     * one; RsdpSize is 0 when neither tag came (hal/acpi.c then searches
     * the BIOS area), LOADER_RSDP_V1_SIZE for tag 14, up to
     * LOADER_RSDP_MAX_SIZE for tag 15.
     */
    ULONG RsdpSize;
    ULONG RsdpTag; /* MB2_TAG_ACPI_OLD or MB2_TAG_ACPI_NEW */
    UCHAR Rsdp[LOADER_RSDP_MAX_SIZE];
    ULONG WarningCount;         /* sentences passed to the warning callback */
} LOADER_PARAMETER_BLOCK, *PLOADER_PARAMETER_BLOCK;

/* The kernel command line, decoded (DESIGN.md, automation contract). */
typedef struct _BOOT_OPTIONS {
    BOOLEAN RunTests;                           /* "ktest" or "ktest=PATTERN" */
    CHAR TestPattern[LOADER_KTEST_PATTERN_MAX]; /* empty: every test */
    BOOLEAN Quiet;                              /* "quiet" */
    CHAR Init[LOADER_INIT_MAX];                 /* "init=/bin/NAME args...", empty: the shell */
    ULONG VerifierFlags;                        /* "verifier=...": VERIFIER_* below, 0: off */
    ULONG VerifierTag;                          /* "verifiertag=TAG": special pool's tag, 0: all */
    ULONG VerifierSeed;                         /* "verifier=lowres:SEED", else 0 */
    BOOLEAN NoSmp; /* "nosmp" or "smp=off": start no other processor */
    ULONG TestProcessors; /* "ktestcpus=N": the -smp the harness gave QEMU, 0: unknown */
    BOOLEAN AtaPio; /* "ata=pio": the disk driver uses no DMA */
    /* "pagefile=SIZE" (bytes; K, M or G suffix) or "pagefile=off"
     * (mm/pagefile.c): PageFileOff set, or PageFileBytes 0 for the default
     * (the whole pagefile partition). */
    BOOLEAN PageFileOff;
    ULONG64 PageFileBytes;
} BOOT_OPTIONS, *PBOOT_OPTIONS;

/*
 * Driver Verifier's checks (docs/verifier.md), as "verifier=" selects them.
 * The low bits are NT's own DRIVER_VERIFIER_* values (the mask that
 * "verifier /flags" takes on Windows), so a hex mask means the same here;
 * the underrun mode is Pagoda's own bit (NT selects it in the registry).
 */
#define VERIFIER_SPECIAL_POOL           0x00000001UL /* "special": NT's SPECIAL_POOLING */
#define VERIFIER_FORCE_IRQL_CHECKING \
    0x00000002UL /* "irql": NT's FORCE_IRQL_CHECKING (kernel/vfirql.c) */
#define VERIFIER_LOW_RESOURCES          0x00000004UL /* "lowres": NT's INJECT_ALLOCATION_FAILURES */
#define VERIFIER_IO_CHECKING 0x00000010UL /* "io": NT's IO_CHECKING (io/irp.c) */
#define VERIFIER_SPECIAL_POOL_UNDERRUN  0x00010000UL /* "underrun": guard page before the block */
#define VERIFIER_KNOWN_FLAGS \
    (VERIFIER_SPECIAL_POOL | VERIFIER_FORCE_IRQL_CHECKING | VERIFIER_LOW_RESOURCES | \
     VERIFIER_IO_CHECKING | VERIFIER_SPECIAL_POOL_UNDERRUN)

typedef void (*LOADER_WARNING_ROUTINE)(const char *Format, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * Walk the multiboot2 information at Mbi (a readable pointer to MbiSize
 * bytes at most; the header's own total_size is checked against it) and fill
 * Block, which is zeroed first. Every malformed or missing tag is reported
 * through Warn as one clear sentence (and counted in Block->WarningCount;
 * Warn may be NULL to only count) and parsing carries on where it can:
 * a bad tag is skipped, a tag whose size cannot be trusted ends the walk.
 * Unknown tag types are skipped silently. Strings too long for their buffer
 * are truncated, with a warning. Returns STATUS_INVALID_PARAMETER only when
 * the header itself is unusable (NULL, fewer than 8 readable bytes, or
 * total_size < 8; then Block holds no ranges); STATUS_SUCCESS otherwise,
 * even with warnings. Runs once, on the boot CPU; takes no locks.
 */
NTSTATUS KiParseMultiboot2(const void *Mbi, ULONG64 MbiPhysical, ULONG MbiSize,
                           PLOADER_PARAMETER_BLOCK Block, LOADER_WARNING_ROUTINE Warn);

/*
 * Decode the command line into Options (zeroed first; NULL is an empty
 * line). Keys are separated by white space; a repeated key takes its last
 * value. Keys: "ktest" (every test), "ktest=PATTERN", "quiet",
 * "nosmp" and "smp=off" (start no application processor), "ktestcpus=N"
 * (decimal: the processors the test harness gave QEMU, which a ktest
 * compares with the ACPI MADT; a bad number warns), "verifier=LIST" (comma-separated "special", "underrun" and
 * "lowres[:SEED]", or a hex mask "0x..." of VERIFIER_* bits; "underrun"
 * implies "special"; unknown names and bits are warned about and
 * dropped), "verifiertag=TAG" (one to four characters), and
 * "init=PROGRAM ARGS..." which takes the rest of the line, arguments
 * included, trimmed of white space at both ends; keys after it belong to
 * the program. An unknown key, a value too long for its buffer (it is
 * truncated) and an empty "init=" are warnings through Warn (which may be
 * NULL), never failures. Pure: any IRQL.
 */
void KiParseBootOptions(const char *CommandLine, PBOOT_OPTIONS Options,
                        LOADER_WARNING_ROUTINE Warn);

#endif /* PAGODA_LOADER_H */
