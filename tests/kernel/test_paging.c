/*
 * test_paging.c - the kernel's own page tables, read back through the
 * self-map: W^X of the image, no identity map, the self-map entry itself,
 * and the protection bits in CR0/CR4/EFER.
 */
#include "../../include/ktest.h"
#include "../../include/intrin.h"
#include "../../kernel/ke.h"
#include "../../mm/mi.h"
#include "../../rtl/rtl.h"

/* The IRQL to restore after a hyperspace mapping (one at a time). */
static KIRQL KtHyperIrql;

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __data_end[];
extern UCHAR KiBootStack[];
void KiSystemStartup(ULONG_PTR MbiPhysical, ULONG Magic);

__attribute__((used)) static const ULONG KtRodataValue[2] = {0x1234, 0x5678};
static volatile ULONG KtDataValue = 1;
static volatile ULONG KtBssValue;

KTEST(paging, text_is_read_execute)
{
    for (char *Va = __text_start; Va < __text_end; Va += PAGE_SIZE) {
        MMPTE Pte = *MiGetPteAddress(Va);
        KT_ASSERT(Pte.u.Hard.Valid);
        KT_ASSERT(!Pte.u.Hard.Write);
        KT_ASSERT(!Pte.u.Hard.NoExecute);
        KT_ASSERT(!Pte.u.Hard.Owner);
    }
    MMPTE Pte = *MiGetPteAddress((PVOID)KiSystemStartup);
    KT_ASSERT(Pte.u.Hard.Valid && !Pte.u.Hard.Write && !Pte.u.Hard.NoExecute);
}

KTEST(paging, rodata_is_read_only_no_execute)
{
    for (char *Va = __rodata_start; Va < __rodata_end; Va += PAGE_SIZE) {
        MMPTE Pte = *MiGetPteAddress(Va);
        KT_ASSERT(Pte.u.Hard.Valid);
        KT_ASSERT(!Pte.u.Hard.Write);
        KT_ASSERT(Pte.u.Hard.NoExecute);
        KT_ASSERT(!Pte.u.Hard.Owner);
    }
    MMPTE Pte = *MiGetPteAddress((PVOID)KtRodataValue);
    KT_ASSERT(Pte.u.Hard.Valid && !Pte.u.Hard.Write && Pte.u.Hard.NoExecute);
}

KTEST(paging, data_bss_and_stack_are_read_write_no_execute)
{
    for (char *Va = __data_start; Va < __data_end; Va += PAGE_SIZE) {
        MMPTE Pte = *MiGetPteAddress(Va);
        KT_ASSERT(Pte.u.Hard.Valid);
        KT_ASSERT(Pte.u.Hard.Write);
        KT_ASSERT(Pte.u.Hard.NoExecute);
        KT_ASSERT(!Pte.u.Hard.Owner);
    }
    const void *Probes[] = {(const void *)&KtDataValue, (const void *)&KtBssValue, KiBootStack,
                            __builtin_frame_address(0)};
    for (ULONG i = 0; i < ARRAYSIZE(Probes); i++) {
        MMPTE Pte = *MiGetPteAddress(Probes[i]);
        KT_ASSERT(Pte.u.Hard.Valid && Pte.u.Hard.Write && Pte.u.Hard.NoExecute);
    }
}

KTEST(paging, no_identity_map_and_user_half_empty)
{
    PMMPTE Pxe = (PMMPTE)PXE_BASE;
    for (ULONG i = 0; i < 256; i++)
        KT_ASSERT(!Pxe[i].u.Hard.Valid);
    KT_ASSERT(!MmIsAddressValid((PVOID)0x100000));        /* where the kernel was loaded */
    KT_ASSERT(!MmIsAddressValid((PVOID)0xB8000));         /* the VGA buffer's physical address */
    KT_ASSERT(!MmIsAddressValid((PVOID)MM_LOWEST_USER_ADDRESS));
    KT_ASSERT(MmGetPhysicalAddress((PVOID)0x100000) == 0);
}

KTEST(paging, self_map_points_at_the_pml4)
{
    PMMPTE SelfMap = &((PMMPTE)PXE_BASE)[MM_SELFMAP_INDEX];
    KT_ASSERT(SelfMap->u.Hard.Valid);
    KT_ASSERT(!SelfMap->u.Hard.Owner);
    KT_ASSERT(SelfMap->u.Hard.NoExecute);
    KT_ASSERT_EQ(SelfMap->u.Hard.PageFrameNumber, __readcr3() >> PAGE_SHIFT);
    /* PXE_BASE is the PML4 seen through the self-map four times. */
    KT_ASSERT_EQ((ULONG64)MiGetPxeAddress((PVOID)PTE_BASE), PXE_BASE + MM_SELFMAP_INDEX * 8);
    KT_ASSERT_EQ(MmGetPhysicalAddress((PVOID)PXE_BASE), __readcr3() & MM_PTE_FRAME_MASK);
}

KTEST(paging, self_map_formulas_round_trip)
{
    ULONG64 Samples[] = {0x10000, 0x7F793950000ULL, 0x7FFFFFFEF000ULL, 0xFFFFF88000001000ULL,
                         (ULONG64)KiSystemStartup & ~0xFFFULL};
    for (ULONG i = 0; i < ARRAYSIZE(Samples); i++) {
        PVOID Va = (PVOID)Samples[i];
        KT_ASSERT(MiGetVirtualAddressMappedByPte(MiGetPteAddress(Va)) == Va);
        /* The PDE of Va is the PTE of Va's PTE, and so on up. */
        KT_ASSERT(MiGetPdeAddress(Va) == MiGetPteAddress(MiGetPteAddress(Va)));
        KT_ASSERT(MiGetPpeAddress(Va) == MiGetPteAddress(MiGetPdeAddress(Va)));
        KT_ASSERT(MiGetPxeAddress(Va) == MiGetPteAddress(MiGetPpeAddress(Va)));
    }
}

KTEST(paging, protection_bits_are_on)
{
    KT_ASSERT(__readcr0() & CR0_WP);
    KT_ASSERT(__readmsr(MSR_EFER) & EFER_NXE);
    ULONG Regs[4];
    __cpuidex(Regs, 7, 0);
    if (Regs[1] & (1u << 7))
        KT_ASSERT(__readcr4() & CR4_SMEP);
    if (Regs[1] & (1u << 20))
        KT_ASSERT(__readcr4() & CR4_SMAP);
    /* The test machine (-cpu max) has both; say so if it ever does not. */
    KT_ASSERT(KeFeatureBits & KF_SMEP);
    KT_ASSERT(KeFeatureBits & KF_SMAP);
}

KTEST(paging, map_and_unmap_a_system_page)
{
    PVOID Va = (PVOID)(MM_SYSTEM_PTE_BASE + 0x7FF000);
    PFN_NUMBER Pfn;
    KT_ASSERT(!MmIsAddressValid(Va));
    KT_ASSERT(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, TRUE, &Pfn)));
    KT_ASSERT(NT_SUCCESS(MiMapPage(Va, Pfn, MM_PTE_WRITE | MM_PTE_NO_EXECUTE)));
    KT_ASSERT(MmIsAddressValid(Va));
    KT_ASSERT_EQ(MmGetPhysicalAddress(Va), (ULONG64)Pfn << PAGE_SHIFT);
    KT_ASSERT_EQ(*(volatile ULONG64 *)Va, 0);           /* asked for a zeroed frame */
    *(volatile ULONG64 *)Va = 0x5061676F6461ULL;
    /* The same frame seen through hyperspace holds what we wrote. */
    PVOID Window = MiMapPageInHyperspace(Pfn, &KtHyperIrql);
    ULONG64 Seen = *(volatile ULONG64 *)Window;
    MiUnmapPageInHyperspace(Window, KtHyperIrql);
    KT_ASSERT_EQ(Seen, 0x5061676F6461ULL);
    MMPTE Old = MiUnmapPage(Va);
    KT_ASSERT_EQ(Old.u.Hard.PageFrameNumber, Pfn);
    KT_ASSERT(!MmIsAddressValid(Va));
    MmFreePhysicalPage(Pfn);
}

KTEST(boot, loader_block_describes_this_boot)
{
    KT_ASSERT(KeLoaderBlock.HasMemoryMap);
    KT_ASSERT(KeLoaderBlock.MemoryRangeCount > 0);
    KT_ASSERT(KeLoaderBlock.HasCommandLine);
    KT_ASSERT(KeLoaderBlock.CommandLine[0] != '\0');
    KT_ASSERT(KeBootOptions.RunTests);
    KT_ASSERT(KeLoaderBlock.ModuleCount == 1);
    KT_ASSERT(strcmp(KeLoaderBlock.Modules[0].Name, "initrd") == 0);
    KT_ASSERT(KeLoaderBlock.Modules[0].End > KeLoaderBlock.Modules[0].Start);
    KT_ASSERT(KeLoaderBlock.HasBootLoaderName);
    KT_ASSERT(strncmp(KeLoaderBlock.BootLoaderName, "GRUB", 4) == 0);
}
