/*
 * sysldr.c - the memory of loadable driver images (NT's MmLoadSystemImage
 * does this part of loading a driver; the ELF work is io/ldr.c's).
 *
 * A driver image is a run of system PTEs, each backed by a zeroed frame
 * counted as MiUsageDriver. It starts read/write and no-execute, so the
 * loader can copy and relocate it; the loader then gives each page its
 * final protection (MmProtectSystemImage): text RX, read-only data R, data
 * and bss RW+NX - W^X, as for the kernel image. No guard pages: sections
 * are laid out page by page inside the run.
 *
 * Locking: as for kernel stacks (mm/sysva.c) - the system PTE region lock
 * and the PFN lock, both at DISPATCH_LEVEL, taken and released here.
 * Callers are at PASSIVE_LEVEL (the loader).
 */
#include "mi.h"
#include "../rtl/rtl.h"

static void MiFreeImagePages(PUCHAR Base, ULONG Mapped)
{
    for (ULONG i = 0; i < Mapped; i++)
        MiInsertPageInFreeList(MiUnmapPage(Base + (SIZE_T)i * PAGE_SIZE).u.Hard.PageFrameNumber);
}

/* MmAllocateSystemImage: the contract is in mm/mm.h. */
PVOID MmAllocateSystemImage(ULONG Pages)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    if (Pages == 0 || MiVerifierInjectFailure())
        return NULL;
    PUCHAR Base = MiReserveVa(&MiSystemPteRegion, Pages);
    if (!Base)
        return NULL;
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    for (ULONG i = 0; i < Pages; i++) {
        PFN_NUMBER Pfn = MiRemoveZeroPage(MiUsageDriver);
        if (Pfn == MM_EMPTY_LIST ||
            !NT_SUCCESS(
                MiMapPage(Base + (SIZE_T)i * PAGE_SIZE, Pfn, MM_PTE_WRITE | MM_PTE_NO_EXECUTE))) {
            if (Pfn != MM_EMPTY_LIST)
                MiInsertPageInFreeList(Pfn);
            MiFreeImagePages(Base, i);
            KeLowerIrql(OldIrql);
            MiReleaseVa(&MiSystemPteRegion, Base, Pages);
            return NULL;
        }
    }
    KeLowerIrql(OldIrql);
    return Base;
}

/* MmProtectSystemImage: the contract is in mm/mm.h. */
NTSTATUS MmProtectSystemImage(PVOID Base, ULONG Pages, ULONG Protect)
{
    ULONG64 Set;
    switch (Protect) {
    case PAGE_READONLY:
        Set = MM_PTE_NO_EXECUTE;
        break;
    case PAGE_READWRITE:
        Set = MM_PTE_WRITE | MM_PTE_NO_EXECUTE;
        break;
    case PAGE_EXECUTE_READ:
        Set = 0;
        break;
    default:
        return STATUS_INVALID_PAGE_PROTECTION; /* W+X, or no access */
    }
    if (!MiIsVaReserved(&MiSystemPteRegion, Base, Pages))
        return STATUS_INVALID_PARAMETER;
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    for (ULONG i = 0; i < Pages; i++) {
        PMMPTE Pte = MiGetPteAddress((PUCHAR)Base + (SIZE_T)i * PAGE_SIZE);
        ASSERT(Pte->u.Hard.Valid);
        MiWritePte(Pte, (Pte->u.Long & ~(MM_PTE_WRITE | MM_PTE_NO_EXECUTE)) | Set);
    }
    KeLowerIrql(OldIrql);
    return STATUS_SUCCESS;
}

/* MmFreeSystemImage: the contract is in mm/mm.h. */
void MmFreeSystemImage(PVOID Base, ULONG Pages)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    MiFreeImagePages(Base, Pages);
    KeLowerIrql(OldIrql);
    MiReleaseVa(&MiSystemPteRegion, Base, Pages);
}

/* MmQuerySystemPtesInUse: the contract is in mm/mm.h. */
ULONG_PTR MmQuerySystemPtesInUse(void)
{
    return MiSystemPteRegion.PagesReserved;
}
