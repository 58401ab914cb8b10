/*
 * acpi.c - the ACPI tables the HAL needs: the RSDP, the RSDT/XSDT and the
 * MADT (ACPI specification 6.x, 5.2.5 "Root System Description Pointer",
 * 5.2.7 RSDT, 5.2.8 XSDT, 5.2.12 "Multiple APIC Description Table").
 *
 *   RSDP ("RSD PTR ", 20 bytes; 36 from revision 2)
 *     |  RsdtAddress (32-bit)          XsdtAddress (64-bit, revision 2+)
 *     v                                  v
 *   RSDT: header + u32 entries   or   XSDT: header + u64 entries
 *     |  one of the entries has the signature "APIC":
 *     v
 *   MADT: header, u32 local APIC address, u32 flags, then entries
 *         (u8 type, u8 length, ...): 0 processor local APIC, 1 IO-APIC,
 *         2 interrupt source override, 4 local APIC NMI, others skipped.
 *
 * Where the RSDP comes from: GRUB copies it into multiboot2 tag 15 (ACPI
 * 2.0+) or 14 (1.0); kernel/bootinfo.c keeps the copy in the loader block.
 * Without a tag the BIOS way is searched: the first KiB of the extended
 * BIOS data area (its segment at physical 0x40E) and 0xE0000-0xFFFFF, on
 * 16-byte boundaries, for the signature with a valid checksum.
 *
 * Every table is checked (its bytes sum to 0 mod 256) before it is used.
 * Tables are mapped with MmMapIoSpace (cached: they are RAM) only while
 * they are read; HalMadt keeps a copy of what matters. Boot only, one
 * processor, no lock: HalMadt is written once, then only read.
 */
#include "hal.h"
#include "../kernel/ke.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"
#include "../include/loader.h"

HAL_MADT_INFORMATION HalMadt;

#define ACPI_HEADER_SIZE 36 /* the common description header */
#define ACPI_MADT_FIXED 44 /* header + local APIC address + flags */
#define ACPI_RSDP_V2_SIZE 36
#define ACPI_MAX_TABLE_SIZE (64 * 1024) /* more than any MADT/RSDT we would read */
#define ACPI_BDA_EBDA_SEGMENT 0x40E /* BIOS data area: EBDA segment (u16) */
#define ACPI_BIOS_AREA 0xE0000
#define ACPI_BIOS_AREA_SIZE 0x20000

#define MADT_LOCAL_APIC 0
#define MADT_IO_APIC 1
#define MADT_OVERRIDE 2
#define MADT_LOCAL_APIC_NMI 4
#define MADT_LAPIC_ENABLED 0x1
#define MADT_LAPIC_ONLINE_CAPABLE 0x2

static ULONG HalpRead32(const UCHAR *P)
{
    return P[0] | (ULONG)P[1] << 8 | (ULONG)P[2] << 16 | (ULONG)P[3] << 24;
}

static USHORT HalpRead16(const UCHAR *P)
{
    return (USHORT)(P[0] | P[1] << 8);
}

static BOOLEAN HalpChecksumOk(const UCHAR *Bytes, ULONG Length)
{
    UCHAR Sum = 0;
    for (ULONG i = 0; i < Length; i++)
        Sum += Bytes[i];
    return Sum == 0;
}

static void HalpRecordProcessor(PHAL_MADT_INFORMATION Madt, const UCHAR *E)
{
    ULONG Flags = HalpRead32(E + 4);
    if (!(Flags & (MADT_LAPIC_ENABLED | MADT_LAPIC_ONLINE_CAPABLE))) {
        Madt->DisabledProcessors++;
        return;
    }
    if (Madt->ProcessorCount == HAL_MAXIMUM_PROCESSORS) {
        Madt->Dropped++;
        return;
    }
    HAL_MADT_PROCESSOR *P = &Madt->Processors[Madt->ProcessorCount++];
    P->AcpiProcessorId = E[2];
    P->ApicId = E[3];
}

/* One MADT entry of Length bytes (>= 2, inside the table). */
static void HalpRecordEntry(PHAL_MADT_INFORMATION Madt, const UCHAR *E, ULONG Length)
{
    if (E[0] == MADT_LOCAL_APIC && Length >= 8) {
        HalpRecordProcessor(Madt, E);
    } else if (E[0] == MADT_IO_APIC && Length >= 12) {
        if (Madt->IoApicCount == HAL_MAXIMUM_IO_APICS) {
            Madt->Dropped++;
            return;
        }
        HAL_MADT_IO_APIC *A = &Madt->IoApics[Madt->IoApicCount++];
        A->Id = E[2];
        A->Address = HalpRead32(E + 4);
        A->GsiBase = HalpRead32(E + 8);
    } else if (E[0] == MADT_OVERRIDE && Length >= 10) {
        if (Madt->OverrideCount == HAL_MAXIMUM_OVERRIDES) {
            Madt->Dropped++;
            return;
        }
        HAL_MADT_OVERRIDE *O = &Madt->Overrides[Madt->OverrideCount++];
        O->Bus = E[2];
        O->Source = E[3];
        O->Gsi = HalpRead32(E + 4);
        O->Flags = HalpRead16(E + 8);
    } else if (E[0] == MADT_LOCAL_APIC_NMI && Length >= 6) {
        if (Madt->NmiCount == HAL_MAXIMUM_LAPIC_NMIS) {
            Madt->Dropped++;
            return;
        }
        HAL_MADT_LAPIC_NMI *N = &Madt->Nmis[Madt->NmiCount++];
        N->AcpiProcessorId = E[2];
        N->Flags = HalpRead16(E + 3);
        N->Lint = E[5];
    }
}

BOOLEAN HalParseMadt(const UCHAR *Table, ULONG Length, PHAL_MADT_INFORMATION Madt)
{
    memset(Madt, 0, sizeof(*Madt));
    if (Length < ACPI_MADT_FIXED || memcmp(Table, "APIC", 4) != 0 ||
        HalpRead32(Table + 4) != Length || !HalpChecksumOk(Table, Length))
        return FALSE;
    Madt->LocalApicAddress = HalpRead32(Table + 36);
    Madt->Flags = HalpRead32(Table + 40);
    for (ULONG Offset = ACPI_MADT_FIXED; Offset + 2 <= Length;) {
        ULONG EntryLength = Table[Offset + 1];
        if (EntryLength < 2 || Offset + EntryLength > Length)
            break; /* a broken entry: the rest cannot be trusted */
        HalpRecordEntry(Madt, Table + Offset, EntryLength);
        Offset += EntryLength;
    }
    Madt->Present = TRUE;
    return TRUE;
}

/* Map a whole description table at Physical after checking its header's
 * length; *Length receives it. NULL when it cannot be mapped or its length
 * is absurd. The caller unmaps (MmUnmapIoSpace(Table, *Length)). */
static const UCHAR *HalpMapTable(ULONG64 Physical, PULONG Length)
{
    PHYSICAL_ADDRESS Address;
    Address.QuadPart = (LONGLONG)Physical;
    const UCHAR *Header = MmMapIoSpace(Address, ACPI_HEADER_SIZE, FALSE);
    if (!Header)
        return NULL;
    *Length = HalpRead32(Header + 4);
    MmUnmapIoSpace((PVOID)Header, ACPI_HEADER_SIZE);
    if (*Length < ACPI_HEADER_SIZE || *Length > ACPI_MAX_TABLE_SIZE)
        return NULL;
    return MmMapIoSpace(Address, *Length, FALSE);
}

/* Read the MADT at Physical into HalMadt; FALSE (with a warning) when it is
 * not a valid one. */
static BOOLEAN HalpReadMadt(ULONG64 Physical)
{
    HAL_MADT_INFORMATION Madt;
    ULONG Length;
    const UCHAR *Table = HalpMapTable(Physical, &Length);
    if (!Table)
        return FALSE;
    BOOLEAN Ok = HalParseMadt(Table, Length, &Madt);
    MmUnmapIoSpace((PVOID)Table, Length);
    if (!Ok) {
        DbgPrint("warning: ACPI: the MADT at 0x%llx has a bad length or checksum; ignored\n",
                 Physical);
        return FALSE;
    }
    /* Keep where the RSDP came from (HalpFindRsdp wrote it). */
    memcpy(Madt.RsdpSource, HalMadt.RsdpSource, sizeof(Madt.RsdpSource));
    Madt.RsdpPhysical = HalMadt.RsdpPhysical;
    Madt.MadtPhysical = Physical;
    HalMadt = Madt;
    return TRUE;
}

/* Walk the RSDT (EntrySize 4) or XSDT (8) at Physical for the "APIC" table. */
static ULONG64 HalpFindMadt(ULONG64 Physical, ULONG EntrySize)
{
    ULONG Length;
    ULONG64 Madt = 0;
    const UCHAR *Table = HalpMapTable(Physical, &Length);
    if (!Table)
        return 0;
    if (memcmp(Table, EntrySize == 8 ? "XSDT" : "RSDT", 4) != 0 || !HalpChecksumOk(Table, Length)) {
        DbgPrint("warning: ACPI: the %s at 0x%llx has a bad signature or checksum\n",
                 EntrySize == 8 ? "XSDT" : "RSDT", Physical);
        goto Unmap;
    }
    for (ULONG Offset = ACPI_HEADER_SIZE; Offset + EntrySize <= Length; Offset += EntrySize) {
        ULONG64 Entry = HalpRead32(Table + Offset);
        if (EntrySize == 8)
            Entry |= (ULONG64)HalpRead32(Table + Offset + 4) << 32;
        ULONG EntryLength;
        const UCHAR *Header = HalpMapTable(Entry, &EntryLength);
        if (!Header)
            continue;
        BOOLEAN IsMadt = memcmp(Header, "APIC", 4) == 0;
        MmUnmapIoSpace((PVOID)Header, EntryLength);
        if (IsMadt) {
            Madt = Entry;
            break;
        }
    }
Unmap:
    MmUnmapIoSpace((PVOID)Table, Length);
    return Madt;
}

/* An RSDP candidate of Available bytes: the signature and the checksum of
 * the first 20 bytes (and of the whole, revision 2+). */
static BOOLEAN HalpRsdpValid(const UCHAR *Rsdp, ULONG Available)
{
    if (Available < LOADER_RSDP_V1_SIZE || memcmp(Rsdp, "RSD PTR ", 8) != 0 ||
        !HalpChecksumOk(Rsdp, LOADER_RSDP_V1_SIZE))
        return FALSE;
    if (Rsdp[15] >= 2 && Available >= ACPI_RSDP_V2_SIZE)
        return HalpChecksumOk(Rsdp, ACPI_RSDP_V2_SIZE);
    return TRUE;
}

/* Search Length bytes of physical memory at Physical for an RSDP; copy the
 * first valid one to Rsdp[LOADER_RSDP_MAX_SIZE]. */
static BOOLEAN HalpSearchRsdp(ULONG64 Physical, ULONG Length, PUCHAR Rsdp, PULONG64 Where)
{
    PHYSICAL_ADDRESS Address;
    Address.QuadPart = (LONGLONG)Physical;
    const UCHAR *Area = MmMapIoSpace(Address, Length, FALSE);
    BOOLEAN Found = FALSE;
    if (!Area)
        return FALSE;
    for (ULONG Offset = 0; Offset + LOADER_RSDP_V1_SIZE <= Length; Offset += 16) {
        ULONG Available = Length - Offset;
        if (HalpRsdpValid(Area + Offset, Available)) {
            memcpy(Rsdp, Area + Offset,
                   Available < LOADER_RSDP_MAX_SIZE ? Available : LOADER_RSDP_MAX_SIZE);
            *Where = Physical + Offset;
            Found = TRUE;
            break;
        }
    }
    MmUnmapIoSpace((PVOID)Area, Length);
    return Found;
}

/* The RSDP: the loader's copy, else the BIOS search. */
static BOOLEAN HalpFindRsdp(const struct _LOADER_PARAMETER_BLOCK *LoaderBlock, PUCHAR Rsdp)
{
    if (LoaderBlock->RsdpSize != 0) {
        memcpy(Rsdp, LoaderBlock->Rsdp, LoaderBlock->RsdpSize);
        if (HalpRsdpValid(Rsdp, LoaderBlock->RsdpSize)) {
            RtlFormatBuffer(HalMadt.RsdpSource, sizeof(HalMadt.RsdpSource), "multiboot2 tag %u",
                            LoaderBlock->RsdpTag);
            return TRUE;
        }
        DbgPrint("warning: ACPI: the RSDP in multiboot2 tag %u has a bad signature or "
                 "checksum; searching the BIOS area\n",
                 LoaderBlock->RsdpTag);
    }
    RtlFormatBuffer(HalMadt.RsdpSource, sizeof(HalMadt.RsdpSource), "BIOS area");
    return HalSearchBiosRsdp(Rsdp, &HalMadt.RsdpPhysical);
}

BOOLEAN HalSearchBiosRsdp(PUCHAR Rsdp, PULONG64 Physical)
{
    PHYSICAL_ADDRESS Bda = {.QuadPart = 0};
    const UCHAR *Page0 = MmMapIoSpace(Bda, PAGE_SIZE, FALSE);
    ULONG64 Ebda = Page0 ? (ULONG64)HalpRead16(Page0 + ACPI_BDA_EBDA_SEGMENT) << 4 : 0;
    if (Page0)
        MmUnmapIoSpace((PVOID)Page0, PAGE_SIZE);
    if (Ebda >= 0x80000 && Ebda < ACPI_BIOS_AREA && HalpSearchRsdp(Ebda, 1024, Rsdp, Physical))
        return TRUE;
    return HalpSearchRsdp(ACPI_BIOS_AREA, ACPI_BIOS_AREA_SIZE, Rsdp, Physical);
}

static const char *HalpIntiText(USHORT Flags)
{
    static const char *const Text[4][4] = {
        {"conforming", "conforming, edge", "conforming, ?", "conforming, level"},
        {"high", "high, edge", "high, ?", "high, level"},
        {"?", "?, edge", "?", "?, level"},
        {"low", "low, edge", "low, ?", "low, level"},
    };
    return Text[Flags & HAL_INTI_POLARITY_MASK][(Flags & HAL_INTI_TRIGGER_MASK) >> 2];
}

static void HalpPrintMadt(void)
{
    KdPrintBoot("ACPI: RSDP from %s, MADT at 0x%llx: local APICs at 0x%x, %u processor%s "
                "(%u disabled), %u IO-APIC%s%s\n",
                HalMadt.RsdpSource, HalMadt.MadtPhysical, HalMadt.LocalApicAddress,
                HalMadt.ProcessorCount, HalMadt.ProcessorCount == 1 ? "" : "s",
                HalMadt.DisabledProcessors, HalMadt.IoApicCount,
                HalMadt.IoApicCount == 1 ? "" : "s", (HalMadt.Flags & 1) ? ", 8259s present" : "");
    for (ULONG i = 0; i < HalMadt.ProcessorCount; i++)
        KdPrintBoot("ACPI:   processor %u: ACPI id %u, APIC id %u\n", i,
                    HalMadt.Processors[i].AcpiProcessorId, HalMadt.Processors[i].ApicId);
    for (ULONG i = 0; i < HalMadt.IoApicCount; i++)
        KdPrintBoot("ACPI:   IO-APIC id %u at 0x%x, GSI base %u\n", HalMadt.IoApics[i].Id,
                    HalMadt.IoApics[i].Address, HalMadt.IoApics[i].GsiBase);
    for (ULONG i = 0; i < HalMadt.OverrideCount; i++)
        KdPrintBoot("ACPI:   override: %s IRQ %u -> GSI %u (%s)\n",
                    HalMadt.Overrides[i].Bus == 0 ? "ISA" : "bus ?", HalMadt.Overrides[i].Source,
                    HalMadt.Overrides[i].Gsi, HalpIntiText(HalMadt.Overrides[i].Flags));
    for (ULONG i = 0; i < HalMadt.NmiCount; i++)
        KdPrintBoot("ACPI:   local APIC NMI: ACPI processor %u%s, LINT%u (%s)\n",
                    HalMadt.Nmis[i].AcpiProcessorId,
                    HalMadt.Nmis[i].AcpiProcessorId == 0xFF ? " (all)" : "", HalMadt.Nmis[i].Lint,
                    HalpIntiText(HalMadt.Nmis[i].Flags));
    if (HalMadt.Dropped)
        DbgPrint("warning: ACPI: %u MADT entries past Pagoda's limits were not recorded\n",
                 HalMadt.Dropped);
}

void HalInitializeAcpi(const struct _LOADER_PARAMETER_BLOCK *LoaderBlock)
{
    UCHAR Rsdp[LOADER_RSDP_MAX_SIZE] = {0};
    ULONG64 Madt = 0;

    if (!HalpFindRsdp(LoaderBlock, Rsdp)) {
        DbgPrint("warning: ACPI: no RSDP found (no multiboot2 tag 14/15, none in the BIOS "
                 "area)\n");
        return;
    }
    if (Rsdp[15] >= 2) {
        ULONG64 Xsdt = HalpRead32(Rsdp + 24) | (ULONG64)HalpRead32(Rsdp + 28) << 32;
        if (Xsdt)
            Madt = HalpFindMadt(Xsdt, 8);
    }
    if (!Madt)
        Madt = HalpFindMadt(HalpRead32(Rsdp + 16), 4);
    if (!Madt || !HalpReadMadt(Madt)) {
        memset(&HalMadt, 0, sizeof(HalMadt));
        DbgPrint("warning: ACPI: no valid MADT (\"APIC\" table)\n");
        return;
    }
    HalpPrintMadt();
}
