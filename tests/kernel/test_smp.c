/*
 * test_smp.c - the ACPI MADT (hal/acpi.c) and the application processors
 * (kernel/mp.c, docs/smp.md).
 *
 * The machine tests compare what the kernel read with what QEMU was given:
 * the harness boots with -smp N and the key ktestcpus=N (tests/run.py),
 * and QEMU's PC wires ISA IRQ 0 to GSI 2 through an interrupt source
 * override. The parser test feeds HalParseMadt a table built here, so its
 * every branch is checked whatever the machine.
 */
#include "../../include/ktest.h"
#include "../../kernel/ki.h"
#include "../../hal/hal.h"
#include "../../rtl/rtl.h"
#include "ktbaseline.h"

KTEST(smp, madt_counts_processors)
{
    KT_ASSERT(HalMadt.Present);
    KT_EXPECT(HalMadt.ProcessorCount >= 1);
    if (KeBootOptions.TestProcessors != 0)
        KT_EXPECT_EQ(HalMadt.ProcessorCount, KeBootOptions.TestProcessors);
    KT_EXPECT_EQ(HalMadt.DisabledProcessors, 0);
    KT_EXPECT_EQ(KeRegisteredProcessors, HalMadt.ProcessorCount);
    /* The boot processor is in the MADT: its APIC id is listed once. */
    ULONG Seen = 0;
    for (ULONG i = 0; i < HalMadt.ProcessorCount; i++)
        Seen += HalMadt.Processors[i].ApicId == HalGetCurrentApicId();
    KT_EXPECT_EQ(Seen, 1);
}

KTEST(smp, madt_has_the_pc_ioapic_and_irq0_override)
{
    KT_ASSERT(HalMadt.Present);
    KT_ASSERT(HalMadt.IoApicCount >= 1);
    KT_EXPECT_EQ(HalMadt.IoApics[0].Address, 0xFEC00000);
    KT_EXPECT_EQ(HalMadt.IoApics[0].GsiBase, 0);
    KT_EXPECT_EQ(HalMadt.LocalApicAddress, 0xFEE00000);
    BOOLEAN Irq0 = FALSE;
    for (ULONG i = 0; i < HalMadt.OverrideCount; i++) {
        if (HalMadt.Overrides[i].Bus == 0 && HalMadt.Overrides[i].Source == 0) {
            KT_EXPECT_EQ(HalMadt.Overrides[i].Gsi, 2);
            Irq0 = TRUE;
        }
        /* No override moves the lines Pagoda's drivers use (1, 4, 14). */
        KT_EXPECT(HalMadt.Overrides[i].Source != 1 && HalMadt.Overrides[i].Source != 4 &&
                  HalMadt.Overrides[i].Source != 14);
    }
    KT_EXPECT(Irq0);
}

/* The BIOS search finds the RSDP GRUB copied into the multiboot2 tag (the
 * boot used the tag, so this is the search's only run). */
KTEST(smp, bios_area_search_finds_the_loaders_rsdp)
{
    UCHAR Rsdp[LOADER_RSDP_MAX_SIZE] = {0};
    ULONG64 Physical = 0;
    KT_ASSERT(KeLoaderBlock.RsdpSize >= LOADER_RSDP_V1_SIZE);
    KT_ASSERT(HalSearchBiosRsdp(Rsdp, &Physical));
    KT_EXPECT(Physical >= 0x80000 && Physical < 0x100000);
    KT_EXPECT_EQ(Physical & 15, 0);
    KT_EXPECT(memcmp(Rsdp, KeLoaderBlock.Rsdp, LOADER_RSDP_V1_SIZE) == 0);
}

/* The lines connected at boot (keyboard IRQ 1, COM1 IRQ 4) are programmed
 * at the input the MADT gives them, unmasked, edge-triggered, active high,
 * to the boot processor; IRQ 0 would go through its override to GSI 2. */
KTEST(smp, isa_irqs_are_routed_as_the_madt_says)
{
    HAL_ISA_IRQ_ROUTE Route;
    UCHAR Irql;
    ULONG_PTR Affinity;
    static const ULONG Connected[] = {1, 4};
    for (ULONG i = 0; i < ARRAYSIZE(Connected); i++) {
        ULONG Vector = HalGetInterruptVector(Isa, 0, Connected[i], 0, &Irql, &Affinity);
        KT_ASSERT(HalQueryIsaIrqRoute(Connected[i], &Route));
        KT_EXPECT_EQ(Route.Gsi, Connected[i]);
        KT_EXPECT_EQ(Route.Input, Connected[i] - HalMadt.IoApics[Route.IoApic].GsiBase);
        KT_EXPECT_EQ(Route.RedirectionLow & 0xFF, Vector);
        KT_EXPECT_EQ(Route.RedirectionLow & ((1u << 16) | (1u << 15) | (1u << 13)), 0);
        KT_EXPECT_EQ(Route.RedirectionHigh >> 24, HalGetCurrentApicId());
    }
    KT_ASSERT(HalQueryIsaIrqRoute(0, &Route));
    KT_EXPECT_EQ(Route.Gsi, 2);
    KT_EXPECT_EQ(Route.Input, 2);
    KT_EXPECT(Route.RedirectionLow & (1u << 16)); /* never connected: masked */
    KT_EXPECT(!HalQueryIsaIrqRoute(16, &Route));
}

/* A MADT of our own: header, local APIC address, flags, then entries. */
typedef struct _KT_MADT {
    UCHAR Bytes[256];
    ULONG Length;
} KT_MADT;

static void KtMadtAdd(KT_MADT *M, const UCHAR *Entry, ULONG Length)
{
    memcpy(M->Bytes + M->Length, Entry, Length);
    M->Length += Length;
}

static void KtMadtFinish(KT_MADT *M)
{
    UCHAR Sum = 0;
    M->Bytes[4] = (UCHAR)M->Length;
    M->Bytes[5] = (UCHAR)(M->Length >> 8);
    M->Bytes[9] = 0;
    for (ULONG i = 0; i < M->Length; i++)
        Sum += M->Bytes[i];
    M->Bytes[9] = (UCHAR)(0 - Sum);
}

static void KtBuildMadt(KT_MADT *M)
{
    static const UCHAR Lapic0[] = {0, 8, 0, 0, 1, 0, 0, 0}; /* enabled, APIC 0 */
    static const UCHAR Lapic1[] = {0, 8, 1, 6, 1, 0, 0, 0}; /* enabled, APIC 6 */
    static const UCHAR LapicOff[] = {0, 8, 2, 7, 0, 0, 0, 0}; /* disabled */
    static const UCHAR IoApic[] = {1, 12, 9, 0, 0x00, 0x10, 0xC0, 0xFE, 24, 0, 0, 0};
    static const UCHAR Override[] = {2, 10, 0, 0, 2, 0, 0, 0, 0x0F, 0}; /* IRQ0->GSI2 low level */
    static const UCHAR Nmi[] = {4, 6, 0xFF, 0x05, 0, 1}; /* all, high edge, LINT1 */
    static const UCHAR Unknown[] = {0x7F, 4, 0, 0}; /* skipped */

    memset(M, 0, sizeof(*M));
    memcpy(M->Bytes, "APIC", 4);
    M->Bytes[8] = 3; /* revision */
    M->Bytes[36] = 0x00; /* local APIC address 0xFEE00000 */
    M->Bytes[37] = 0x00;
    M->Bytes[38] = 0xE0;
    M->Bytes[39] = 0xFE;
    M->Bytes[40] = 1; /* PCAT_COMPAT */
    M->Length = 44;
    KtMadtAdd(M, Lapic0, sizeof(Lapic0));
    KtMadtAdd(M, Unknown, sizeof(Unknown));
    KtMadtAdd(M, Lapic1, sizeof(Lapic1));
    KtMadtAdd(M, LapicOff, sizeof(LapicOff));
    KtMadtAdd(M, IoApic, sizeof(IoApic));
    KtMadtAdd(M, Override, sizeof(Override));
    KtMadtAdd(M, Nmi, sizeof(Nmi));
    KtMadtFinish(M);
}

static KT_MADT KtMadt;
static HAL_MADT_INFORMATION KtInfo;

KTEST(smp, madt_parser_reads_each_entry_type)
{
    KtBuildMadt(&KtMadt);
    KT_ASSERT(HalParseMadt(KtMadt.Bytes, KtMadt.Length, &KtInfo));
    KT_EXPECT(KtInfo.Present);
    KT_EXPECT_EQ(KtInfo.LocalApicAddress, 0xFEE00000);
    KT_EXPECT_EQ(KtInfo.Flags, 1);
    KT_ASSERT_EQ(KtInfo.ProcessorCount, 2);
    KT_EXPECT_EQ(KtInfo.DisabledProcessors, 1);
    KT_EXPECT_EQ(KtInfo.Processors[1].AcpiProcessorId, 1);
    KT_EXPECT_EQ(KtInfo.Processors[1].ApicId, 6);
    KT_ASSERT_EQ(KtInfo.IoApicCount, 1);
    KT_EXPECT_EQ(KtInfo.IoApics[0].Id, 9);
    KT_EXPECT_EQ(KtInfo.IoApics[0].Address, 0xFEC01000);
    KT_EXPECT_EQ(KtInfo.IoApics[0].GsiBase, 24);
    KT_ASSERT_EQ(KtInfo.OverrideCount, 1);
    KT_EXPECT_EQ(KtInfo.Overrides[0].Source, 0);
    KT_EXPECT_EQ(KtInfo.Overrides[0].Gsi, 2);
    KT_EXPECT_EQ(KtInfo.Overrides[0].Flags & HAL_INTI_POLARITY_MASK, HAL_INTI_POLARITY_LOW);
    KT_EXPECT_EQ(KtInfo.Overrides[0].Flags & HAL_INTI_TRIGGER_MASK, HAL_INTI_TRIGGER_LEVEL);
    KT_ASSERT_EQ(KtInfo.NmiCount, 1);
    KT_EXPECT_EQ(KtInfo.Nmis[0].AcpiProcessorId, 0xFF);
    KT_EXPECT_EQ(KtInfo.Nmis[0].Flags, 0x05);
    KT_EXPECT_EQ(KtInfo.Nmis[0].Lint, 1);
}

KTEST(smp, madt_parser_refuses_bad_tables)
{
    KtBuildMadt(&KtMadt);
    KtMadt.Bytes[50]++; /* checksum now wrong */
    KT_EXPECT(!HalParseMadt(KtMadt.Bytes, KtMadt.Length, &KtInfo));
    KT_EXPECT(!KtInfo.Present);

    KtBuildMadt(&KtMadt);
    KT_EXPECT(!HalParseMadt(KtMadt.Bytes, KtMadt.Length - 1, &KtInfo)); /* length differs */
    KtMadt.Bytes[0] = 'X';
    KtMadtFinish(&KtMadt);
    KT_EXPECT(!HalParseMadt(KtMadt.Bytes, KtMadt.Length, &KtInfo)); /* signature */

    /* An entry whose length runs past the table ends the walk: the entries
     * before it are kept. */
    KtBuildMadt(&KtMadt);
    KtMadt.Bytes[44 + 8 + 4 + 1] = 200; /* the second local APIC entry */
    KtMadtFinish(&KtMadt);
    KT_ASSERT(HalParseMadt(KtMadt.Bytes, KtMadt.Length, &KtInfo));
    KT_EXPECT_EQ(KtInfo.ProcessorCount, 1);
    KT_EXPECT_EQ(KtInfo.IoApicCount, 0);
}

KTEST(smp, application_processors_are_idle_and_active)
{
    KPROCESSOR_INFORMATION Info;
    /* Every started processor answers IPIs: it is active and counted. */
    ULONG Idle = KeCountProcessors(KProcessorIdle);
    KT_EXPECT_EQ((ULONG)KeNumberProcessors, Idle + 1);
    KT_EXPECT_EQ(KeActiveProcessors, ((KAFFINITY)1 << (Idle + 1)) - 1);
    KT_ASSERT(KeQueryProcessorInformation(0, &Info));
    KT_EXPECT_EQ(Info.State, KProcessorRunning);
    KT_EXPECT_EQ(Info.ApicId, HalGetCurrentApicId());
    KT_EXPECT(!KeQueryProcessorInformation(KeRegisteredProcessors, &Info));

    KPROCESSOR_STATE Want = KeBootOptions.NoSmp ? KProcessorNotStarted : KProcessorIdle;
    for (ULONG i = 1; i < KeRegisteredProcessors; i++) {
        KT_ASSERT(KeQueryProcessorInformation(i, &Info));
        KT_EXPECT_EQ(Info.Number, i);
        KT_EXPECT_EQ(Info.State, Want);
    }
    KT_EXPECT_EQ(KeCountProcessors(Want) + 1, KeRegisteredProcessors);
    KT_EXPECT_EQ(KeCountProcessors(KProcessorFailed), 0);
}

/* The give-up path: a start-up sent to an APIC id nobody has. Nobody
 * claims the start, so after the timeout the processor is Failed and its
 * stacks and block are freed (the baseline); the table is untouched. */
KTEST(smp, processor_that_never_reports_is_left_out_and_freed)
{
    static KPROCESSOR_INFORMATION Ghost;
    ULONG FailedBefore = KeCountProcessors(KProcessorFailed);
    KT_BASELINE Before = KtBaseline();
    Ghost = (KPROCESSOR_INFORMATION){.Number = 99, .ApicId = 0xEE, .State = KProcessorNotStarted};
    KiStartProcessorByApicId(&Ghost, 50000);
    KT_EXPECT_EQ(Ghost.State, KProcessorFailed);
    KT_EXPECT_EQ(Ghost.StartMicroseconds, 0);
    KT_ASSERT_BASELINE(Before);
    KT_EXPECT_EQ(KeCountProcessors(KProcessorFailed), FailedBefore);
}

/* Each started processor enabled what the boot processor did (kernel/cpu.c):
 * paging in long mode, WP, NX, and SMEP/SMAP/PGE where the boot one has
 * them. */
KTEST(smp, started_processors_have_the_boot_protections)
{
    KPROCESSOR_INFORMATION Info;
    ULONG Started = 0;
    for (ULONG i = 1; i < KeRegisteredProcessors; i++) {
        KT_ASSERT(KeQueryProcessorInformation(i, &Info));
        if (Info.State != KProcessorIdle)
            continue;
        Started++;
        KT_EXPECT((Info.Cr0 & CR0_PG) && (Info.Cr0 & CR0_WP) && (Info.Cr0 & CR0_PE));
        KT_EXPECT(Info.Efer & EFER_NXE);
        KT_EXPECT(Info.Efer & EFER_LME);
        KT_EXPECT(Info.Cr4 & CR4_PAE);
        KT_EXPECT_EQ(!!(Info.Cr4 & CR4_SMEP), !!(KeFeatureBits & KF_SMEP));
        KT_EXPECT_EQ(!!(Info.Cr4 & CR4_SMAP), !!(KeFeatureBits & KF_SMAP));
        KT_EXPECT_EQ(!!(Info.Cr4 & CR4_PGE), !!(KeFeatureBits & KF_PGE));
        KT_EXPECT_EQ(Info.Cr4 & (CR4_SMEP | CR4_SMAP | CR4_PGE | CR4_PAE),
                     __readcr4() & (CR4_SMEP | CR4_SMAP | CR4_PGE | CR4_PAE));
    }
    KT_EXPECT_EQ(Started, KeCountProcessors(KProcessorIdle));
}
