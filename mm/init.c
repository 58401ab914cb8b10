/*
 * init.c - MmInitSystem: from GRUB's memory map and the boot page tables to
 * the kernel's own page tables and the PFN database.
 *
 * The steps, in order (docs/boot.md and docs/memory.md draw them):
 *   1. RAM runs: the memory map's available ranges above 1 MiB, page
 *      aligned, sorted and merged (MmPhysicalMemoryBlock). Too little RAM
 *      stops the boot here with a sentence saying what is needed.
 *   2. The boot-time allocator hands out frames below 4 GiB that are not the
 *      kernel image, the multiboot2 information or a module. It serves until
 *      the PFN database exists.
 *   3. New page tables, built through the boot identity map (physical
 *      address = virtual address below 4 GiB): the self-map entry, the
 *      system slots every address space will share, the kernel image
 *      section by section (W^X), the VGA text buffer. Then CR3 switches to
 *      them; the identity map is gone from that moment.
 *   4. The PFN database, mapped only where RAM is (MiMapPage, through the
 *      self-map), then filled (mm/pfn.c).
 * Runs once, on the boot processor, with interrupts disabled.
 */
#include "mi.h"
#include "../hal/hal.h"
#include "../rtl/rtl.h"

extern char __kernel_phys_start[], __kernel_phys_end[];
extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __data_end[], __ksyms_start[], __ksyms_end[];

PHYSICAL_MEMORY_DESCRIPTOR MmPhysicalMemoryBlock;

/* Physical ranges that are RAM but never free: the kernel image and what
 * the boot loader left for us. */
typedef struct _MI_BOOT_RANGE {
    ULONG64 Base;
    ULONG64 End;
    MI_PFN_USAGE Usage;
} MI_BOOT_RANGE;
static MI_BOOT_RANGE MiBootRanges[2 + LOADER_MAX_MODULES];
static ULONG MiBootRangeCount;

/* The boot-time allocator: a cursor over the runs, and the spans it handed
 * out (so the PFN database can mark them in use). */
#define MI_MAX_EARLY_SPANS 32
static struct {
    PFN_NUMBER Base;
    PFN_NUMBER Count;
} MiEarlySpans[MI_MAX_EARLY_SPANS];
static ULONG MiEarlySpanCount;
static ULONG MiEarlyRun;
static PFN_NUMBER MiEarlyNext;
static PFN_NUMBER MiEarlyPagesUsed;
#define MI_EARLY_LIMIT_PFN (0x100000000ULL >> PAGE_SHIFT) /* identity-mapped by boot/start.asm */

static ULONG64 MiKernelPml4Physical;

static void MiAddBootRange(ULONG64 Base, ULONG64 End, MI_PFN_USAGE Usage)
{
    if (End > Base && MiBootRangeCount < ARRAYSIZE(MiBootRanges))
        MiBootRanges[MiBootRangeCount++] = (MI_BOOT_RANGE){Base, End, Usage};
}

MI_PFN_USAGE MiBootUsageOfPage(PFN_NUMBER Pfn)
{
    ULONG64 Start = (ULONG64)Pfn << PAGE_SHIFT, End = Start + PAGE_SIZE;
    for (ULONG i = 0; i < MiBootRangeCount; i++) {
        if (Start < MiBootRanges[i].End && MiBootRanges[i].Base < End)
            return MiBootRanges[i].Usage;
    }
    return MiUsageFree;
}

PFN_NUMBER MiBootExclusionLimit(void)
{
    PFN_NUMBER Limit = 0;
    for (ULONG i = 0; i < MiBootRangeCount; i++) {
        PFN_NUMBER End = ALIGN_UP_BY(MiBootRanges[i].End, PAGE_SIZE) >> PAGE_SHIFT;
        if (End > Limit)
            Limit = End;
    }
    for (ULONG i = 0; i < MiEarlySpanCount; i++) {
        if (MiEarlySpans[i].Base + MiEarlySpans[i].Count > Limit)
            Limit = MiEarlySpans[i].Base + MiEarlySpans[i].Count;
    }
    return Limit;
}

BOOLEAN MiIsEarlyAllocated(PFN_NUMBER Pfn)
{
    for (ULONG i = 0; i < MiEarlySpanCount; i++) {
        if (Pfn >= MiEarlySpans[i].Base && Pfn < MiEarlySpans[i].Base + MiEarlySpans[i].Count)
            return TRUE;
    }
    return FALSE;
}

/* Hand out the next free frame below 4 GiB. Running out here means the
 * minimum-memory check was wrong: a bugcheck, not an error. */
PFN_NUMBER MiEarlyAllocatePage(void)
{
    ASSERT(!MiPfnDatabaseReady);
    for (; MiEarlyRun < MmPhysicalMemoryBlock.NumberOfRuns; MiEarlyRun++) {
        PHYSICAL_MEMORY_RUN *Run = &MmPhysicalMemoryBlock.Run[MiEarlyRun];
        if (MiEarlyNext < Run->BasePage)
            MiEarlyNext = Run->BasePage;
        for (; MiEarlyNext < Run->BasePage + Run->PageCount && MiEarlyNext < MI_EARLY_LIMIT_PFN;
             MiEarlyNext++) {
            PFN_NUMBER Pfn = MiEarlyNext;
            if (MiBootUsageOfPage(Pfn) != MiUsageFree)
                continue;
            MiEarlyNext++;
            if (MiEarlySpanCount > 0 &&
                MiEarlySpans[MiEarlySpanCount - 1].Base + MiEarlySpans[MiEarlySpanCount - 1].Count == Pfn) {
                MiEarlySpans[MiEarlySpanCount - 1].Count++;
            } else {
                if (MiEarlySpanCount == MI_MAX_EARLY_SPANS)
                    KeBugCheckEx(NO_PAGES_AVAILABLE, 1, MiEarlyPagesUsed, 0, 0);
                MiEarlySpans[MiEarlySpanCount].Base = Pfn;
                MiEarlySpans[MiEarlySpanCount].Count = 1;
                MiEarlySpanCount++;
            }
            MiEarlyPagesUsed++;
            return Pfn;
        }
    }
    KeBugCheckEx(NO_PAGES_AVAILABLE, 2, MiEarlyPagesUsed, 0, 0);
}

/* Step 1: RAM runs from the memory map, above 1 MiB, sorted and merged. */
static void MiBuildPhysicalRuns(const LOADER_PARAMETER_BLOCK *Lb)
{
    PHYSICAL_MEMORY_DESCRIPTOR *Pmd = &MmPhysicalMemoryBlock;

    for (ULONG i = 0; i < Lb->MemoryRangeCount; i++) {
        const LOADER_MEMORY_RANGE *R = &Lb->MemoryRanges[i];
        if (R->Type != LoaderMemoryAvailable)
            continue;
        ULONG64 Base = ALIGN_UP_BY(R->Base, PAGE_SIZE);
        ULONG64 End = ALIGN_DOWN_BY(R->Base + R->Length, PAGE_SIZE);
        if (Base < 0x100000)
            Base = 0x100000;
        if (End <= Base)
            continue;
        if (Pmd->NumberOfRuns == MI_MAX_PHYSICAL_RUNS) {
            DbgPrint("mm: more than %u RAM ranges; ignoring the range at 0x%llx.\n",
                     MI_MAX_PHYSICAL_RUNS, Base);
            continue;
        }
        /* Insertion sort by base. */
        ULONG j = Pmd->NumberOfRuns++;
        while (j > 0 && Pmd->Run[j - 1].BasePage > (Base >> PAGE_SHIFT)) {
            Pmd->Run[j] = Pmd->Run[j - 1];
            j--;
        }
        Pmd->Run[j].BasePage = Base >> PAGE_SHIFT;
        Pmd->Run[j].PageCount = (End - Base) >> PAGE_SHIFT;
    }

    /* Merge overlapping or touching runs (firmware maps can overlap). */
    ULONG Out = 0;
    for (ULONG i = 0; i < Pmd->NumberOfRuns; i++) {
        PHYSICAL_MEMORY_RUN *R = &Pmd->Run[i];
        if (Out > 0) {
            PHYSICAL_MEMORY_RUN *Last = &Pmd->Run[Out - 1];
            if (R->BasePage <= Last->BasePage + Last->PageCount) {
                PFN_NUMBER End = R->BasePage + R->PageCount;
                if (End > Last->BasePage + Last->PageCount)
                    Last->PageCount = End - Last->BasePage;
                continue;
            }
        }
        Pmd->Run[Out++] = *R;
    }
    Pmd->NumberOfRuns = Out;
    Pmd->NumberOfPages = 0;
    for (ULONG i = 0; i < Out; i++) {
        Pmd->NumberOfPages += Pmd->Run[i].PageCount;
        MmHighestPhysicalPage = Pmd->Run[i].BasePage + Pmd->Run[i].PageCount - 1;
    }
}

static void MiCheckMinimumMemory(void)
{
    ULONG64 Megabytes = (MmPhysicalMemoryBlock.NumberOfPages * PAGE_SIZE) >> 20;
    if (Megabytes >= MM_MINIMUM_MEMORY_MB)
        return;
    DbgPrint("\nPagoda needs at least %u MiB of usable RAM above 1 MiB, and this machine has "
             "%llu MiB.\nGive it more memory: in QEMU, -m 32M or more (make run MEM=64M).\n",
             MM_MINIMUM_MEMORY_MB, Megabytes);
    HalPowerOff(HalExitCannotBoot);
}

/* ------------------------------------------------------------------------
 * Step 3: the kernel's page tables, built through the identity map.
 * ------------------------------------------------------------------------ */

static PMMPTE MiPhysicalToPointer(ULONG64 Physical)
{
    return (PMMPTE)Physical; /* valid only while the boot identity map is live */
}

static ULONG64 MiEarlyAllocateTable(void)
{
    ULONG64 Physical = (ULONG64)MiEarlyAllocatePage() << PAGE_SHIFT;
    memset(MiPhysicalToPointer(Physical), 0, PAGE_SIZE);
    return Physical;
}

/* The next-level table under Table[Index], created when missing. Upper
 * levels are permissive (present, writable, executable); the leaf entry
 * decides, since the CPU combines the levels (Intel SDM Vol. 3A, 5.6). */
static PMMPTE MiEarlyNextTable(PMMPTE Table, ULONG Index)
{
    if (!(Table[Index].u.Long & MM_PTE_VALID))
        Table[Index].u.Long = MiEarlyAllocateTable() | MM_PTE_VALID | MM_PTE_WRITE;
    return MiPhysicalToPointer(Table[Index].u.Long & MM_PTE_FRAME_MASK);
}

static PMMPTE MiEarlyGetPte(ULONG64 Va)
{
    PMMPTE Pml4 = MiPhysicalToPointer(MiKernelPml4Physical);
    PMMPTE Pdpt = MiEarlyNextTable(Pml4, MiGetPxeOffset(Va));
    PMMPTE Pd = MiEarlyNextTable(Pdpt, MiGetPpeOffset(Va));
    PMMPTE Pt = MiEarlyNextTable(Pd, MiGetPdeOffset(Va));
    return &Pt[MiGetPteOffset(Va)];
}

static void MiEarlyMapRange(ULONG64 Va, ULONG64 End, ULONG64 Physical, ULONG64 Flags)
{
    for (; Va < End; Va += PAGE_SIZE, Physical += PAGE_SIZE)
        MiEarlyGetPte(Va)->u.Long = Physical | Flags | MM_PTE_VALID;
}

static void MiBuildKernelPageTables(void)
{
    ULONG64 Global = (KeFeatureBits & KF_PGE) ? MM_PTE_GLOBAL : 0;
    PMMPTE Pml4;

    MiKernelPml4Physical = MiEarlyAllocateTable();
    Pml4 = MiPhysicalToPointer(MiKernelPml4Physical);

    /* The self-map: PML4[0x1ED] -> the PML4. Not user-accessible, no-execute. */
    Pml4[MM_SELFMAP_INDEX].u.Long =
        MiKernelPml4Physical | MM_PTE_VALID | MM_PTE_WRITE | MM_PTE_NO_EXECUTE;

    /* The system slots every address space shares get their PDPT now, so
     * the system half of the PML4 never changes after boot (a new process
     * copies it once). Hyperspace is per address space but starts here. */
    static const ULONG64 SharedSlots[] = {
        MM_HYPERSPACE_BASE, MM_SHARED_USER_DATA_VA, MM_SYSTEM_PTE_BASE,
        MM_PFN_DATABASE, MM_KERNEL_IMAGE_BASE,
    };
    for (ULONG i = 0; i < ARRAYSIZE(SharedSlots); i++)
        MiEarlyNextTable(Pml4, MiGetPxeOffset(SharedSlots[i]));

    /* The kernel image, section by section (W^X). */
    ULONG64 Delta = MM_KERNEL_IMAGE_BASE;
    MiEarlyMapRange((ULONG64)__text_start, (ULONG64)__text_end,
                    (ULONG64)__text_start - Delta, Global);
    MiEarlyMapRange((ULONG64)__rodata_start, (ULONG64)__rodata_end,
                    (ULONG64)__rodata_start - Delta, Global | MM_PTE_NO_EXECUTE);
    MiEarlyMapRange((ULONG64)__data_start, (ULONG64)__data_end, (ULONG64)__data_start - Delta,
                    Global | MM_PTE_WRITE | MM_PTE_NO_EXECUTE);
    MiEarlyMapRange((ULONG64)__ksyms_start, (ULONG64)__ksyms_end,
                    (ULONG64)__ksyms_start - Delta, Global | MM_PTE_NO_EXECUTE);

    /* The VGA text buffer (physical 0xB8000), uncached as device memory. */
    MiEarlyMapRange(MM_HAL_VGA_TEXT, MM_HAL_VGA_TEXT + 2 * PAGE_SIZE, 0xB8000,
                    Global | MM_PTE_WRITE | MM_PTE_NO_EXECUTE | MM_PTE_CACHE_DISABLE);

    /* Hyperspace's first page table, so the mapping window has a PTE. */
    MiEarlyGetPte(MM_HYPERSPACE_BASE);

    __writecr3(MiKernelPml4Physical);
    HalSetVgaTextBuffer((PVOID)MM_HAL_VGA_TEXT);
}

/* Step 4: map the parts of the PFN database that describe RAM. */
static void MiMapPfnDatabase(void)
{
    for (ULONG i = 0; i < MmPhysicalMemoryBlock.NumberOfRuns; i++) {
        PHYSICAL_MEMORY_RUN *Run = &MmPhysicalMemoryBlock.Run[i];
        ULONG64 Start = ALIGN_DOWN_BY((ULONG64)MI_PFN_ELEMENT(Run->BasePage), PAGE_SIZE);
        ULONG64 End = ALIGN_UP_BY((ULONG64)MI_PFN_ELEMENT(Run->BasePage + Run->PageCount),
                                  PAGE_SIZE);
        if (End > MM_PFN_DATABASE + MM_PFN_DATABASE_SIZE)
            KeBugCheckEx(MEMORY_MANAGEMENT, 0x1000, Run->BasePage, Run->PageCount, 0);
        for (ULONG64 Va = Start; Va < End; Va += PAGE_SIZE) {
            if (MmIsAddressValid((PVOID)Va))
                continue; /* shared with the previous run */
            NTSTATUS Status = MiMapPage((PVOID)Va, MiEarlyAllocatePage(),
                                        MM_PTE_WRITE | MM_PTE_NO_EXECUTE);
            ASSERT(NT_SUCCESS(Status));
            memset((PVOID)Va, 0, PAGE_SIZE);
        }
    }
}

/* Record, for every page-table page and every mapped RAM frame of the boot
 * tables' system half, which entry maps it. Frames the boot allocator gave
 * out are page tables unless a leaf maps them: then they are PFN database
 * pages. */
static void MiRecordMapping(PMMPTE Entry, BOOLEAN IsTable)
{
    PFN_NUMBER Pfn = Entry->u.Hard.PageFrameNumber;
    if (!MiIsPfnInDatabase(Pfn))
        return; /* device memory (VGA) */
    PMMPFN PfnEntry = MI_PFN_ELEMENT(Pfn);
    PfnEntry->PteAddress = Entry;
    if (!IsTable && PfnEntry->Usage == MiUsagePageTable)
        MiChangePageUsage(Pfn, MiUsagePfnDatabase);
}

void MiRecordBootPageTables(void)
{
    PMMPTE Pxe = (PMMPTE)PXE_BASE;
    MiRecordMapping(&Pxe[MM_SELFMAP_INDEX], TRUE);
    for (ULONG i = 256; i < 512; i++) {
        if (i == MM_SELFMAP_INDEX || !Pxe[i].u.Hard.Valid)
            continue;
        MiRecordMapping(&Pxe[i], TRUE);
        PMMPTE Ppe = (PMMPTE)(PPE_BASE + (ULONG64)i * PAGE_SIZE);
        for (ULONG j = 0; j < 512; j++) {
            if (!Ppe[j].u.Hard.Valid)
                continue;
            MiRecordMapping(&Ppe[j], TRUE);
            MI_PFN_ELEMENT(Pxe[i].u.Hard.PageFrameNumber)->UsedPageTableEntries++;
            PMMPTE Pde = (PMMPTE)(PDE_BASE + ((ULONG64)i * 512 + j) * PAGE_SIZE);
            for (ULONG k = 0; k < 512; k++) {
                if (!Pde[k].u.Hard.Valid)
                    continue;
                MiRecordMapping(&Pde[k], TRUE);
                MI_PFN_ELEMENT(Ppe[j].u.Hard.PageFrameNumber)->UsedPageTableEntries++;
                PMMPTE Pte = (PMMPTE)(PTE_BASE + (((ULONG64)i * 512 + j) * 512 + k) * PAGE_SIZE);
                for (ULONG l = 0; l < 512; l++) {
                    if (!Pte[l].u.Hard.Valid)
                        continue;
                    MiRecordMapping(&Pte[l], FALSE);
                    MI_PFN_ELEMENT(Pde[k].u.Hard.PageFrameNumber)->UsedPageTableEntries++;
                }
            }
        }
    }
}

void MiPrintVa(ULONG64 Va)
{
    DbgPrint("%08llX'%08llX", Va >> 32, Va & 0xFFFFFFFF);
}

static void MiPrintRegion(ULONG64 Start, ULONG64 Size, const char *What)
{
    DbgPrint("  0x%03X  ", MiGetPxeOffset(Start));
    MiPrintVa(Start);
    DbgPrint("  ");
    MiPrintVa(Start + Size - 1);
    DbgPrint("  %s\n", What);
}

static const char *MiMemoryTypeName(ULONG Type)
{
    switch (Type) {
    case LoaderMemoryAvailable: return "available";
    case LoaderMemoryReserved: return "reserved";
    case LoaderMemoryAcpiReclaimable: return "ACPI reclaimable";
    case LoaderMemoryAcpiNvs: return "ACPI NVS";
    case LoaderMemoryBad: return "bad";
    default: return "other";
    }
}

static void MiPrintBootReport(const LOADER_PARAMETER_BLOCK *Lb)
{
    KdPrintBoot("Physical memory map (from %s):\n",
                Lb->HasBootLoaderName ? Lb->BootLoaderName : "the boot loader");
    for (ULONG i = 0; i < Lb->MemoryRangeCount; i++) {
        const LOADER_MEMORY_RANGE *R = &Lb->MemoryRanges[i];
        KdPrintBoot("  %016llx-%016llx %8llu KiB  %s\n", R->Base, R->Base + R->Length - 1,
                    R->Length >> 10, MiMemoryTypeName(R->Type));
    }

    KdPrintBoot("System address space (one copy, shared by every process):\n"
                "  PML4   first              last               region\n");
    if (!KeBootOptions.Quiet) {
        MiPrintRegion(PTE_BASE, 1ULL << 39, "page tables (self-map, per address space)");
        MiPrintRegion(MM_HYPERSPACE_BASE, 1ULL << 39, "hyperspace (per address space)");
        MiPrintRegion(MM_SHARED_USER_DATA_VA, PAGE_SIZE, "shared user data page");
        MiPrintRegion(MM_SYSTEM_PTE_BASE, MM_SYSTEM_PTE_SIZE, "system PTEs (stacks, MDLs, I/O)");
        MiPrintRegion(MM_PAGED_POOL_START, MM_PAGED_POOL_SIZE, "paged pool");
        MiPrintRegion(MM_PFN_DATABASE, MM_PFN_DATABASE_SIZE, "PFN database");
        MiPrintRegion(MM_NONPAGED_POOL_START, MM_NONPAGED_POOL_SIZE, "nonpaged pool");
        MiPrintRegion((ULONG64)__text_start, (ULONG64)__text_end - (ULONG64)__text_start,
                      "kernel .text   (read, execute)");
        MiPrintRegion((ULONG64)__rodata_start, (ULONG64)__rodata_end - (ULONG64)__rodata_start,
                      "kernel .rodata (read only, no-execute)");
        MiPrintRegion((ULONG64)__data_start, (ULONG64)__data_end - (ULONG64)__data_start,
                      "kernel .data/.bss (read/write, no-execute)");
        MiPrintRegion((ULONG64)__ksyms_start, (ULONG64)__ksyms_end - (ULONG64)__ksyms_start,
                      "kernel symbols (read only, no-execute)");
        MiPrintRegion(MM_HAL_VA_START, 0x400000, "HAL fixed mappings (VGA text)");
    }

    KdPrintBoot("PML4 slots in use:");
    PMMPTE Pxe = (PMMPTE)PXE_BASE;
    for (ULONG i = 0; i < 512; i++) {
        if (Pxe[i].u.Hard.Valid)
            KdPrintBoot(" 0x%03X%s", i, i == MM_SELFMAP_INDEX ? "(self-map)" : "");
    }
    KdPrintBoot("  (user half 0x000-0x0FF: empty; no identity map)\n");

    PFN_NUMBER Total = MmNumberOfPhysicalPages();
    KdPrintBoot("Memory: %llu MiB of RAM in %u runs, %llu MiB free; in use: kernel image %llu KiB, "
                "page tables %llu KiB, PFN database %llu KiB, loader data %llu KiB.\n",
                (Total * PAGE_SIZE) >> 20, MmPhysicalMemoryBlock.NumberOfRuns,
                (MmAvailablePages() * PAGE_SIZE) >> 20,
                (MmPagesInUse(MiUsageKernelImage) * PAGE_SIZE) >> 10,
                (MmPagesInUse(MiUsagePageTable) * PAGE_SIZE) >> 10,
                (MmPagesInUse(MiUsagePfnDatabase) * PAGE_SIZE) >> 10,
                (MmPagesInUse(MiUsageLoaderBlock) * PAGE_SIZE) >> 10);
}

void MmInitSystem(const LOADER_PARAMETER_BLOCK *Lb)
{
    MiAddBootRange((ULONG64)__kernel_phys_start, ALIGN_UP_BY((ULONG64)__kernel_phys_end, PAGE_SIZE),
                   MiUsageKernelImage);
    MiAddBootRange(ALIGN_DOWN_BY(Lb->MbiPhysical, PAGE_SIZE),
                   ALIGN_UP_BY(Lb->MbiPhysical + Lb->MbiSize, PAGE_SIZE), MiUsageLoaderBlock);
    for (ULONG i = 0; i < Lb->ModuleCount; i++) {
        MiAddBootRange(ALIGN_DOWN_BY(Lb->Modules[i].Start, PAGE_SIZE),
                       ALIGN_UP_BY(Lb->Modules[i].End, PAGE_SIZE), MiUsageLoaderBlock);
    }

    MiBuildPhysicalRuns(Lb);
    MiCheckMinimumMemory();
    MiBuildKernelPageTables();
    MiMapPfnDatabase();
    MiInitializePfnDatabase();
    MiRecordBootPageTables();
    MiInitializeSystemVa();
    MiInitializePools();
    MiInitializeVirtualMemoryLock();
    MiInitializeSystemAddressSpace();
    MiPrintBootReport(Lb);
}
