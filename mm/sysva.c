/*
 * sysva.c - handing out system virtual address space in pages.
 *
 * Three regions of system space are managed this way: the system PTEs
 * (kernel stacks, MDL and I/O mappings), the nonpaged pool and the paged
 * pool. Each is a range of virtual pages with a bitmap of which pages are
 * reserved; a reservation is a run of consecutive clear bits (first fit,
 * starting at a rotating hint). Reserving virtual space maps nothing: the
 * caller decides what backs the pages (frames now, demand-zero PTEs, a
 * device's physical range).
 *
 * Only part of each region's address range is managed, so that the bitmaps
 * stay small (see the sizes below); DESIGN.md's layout reserves far more.
 *
 * Locking: each region's bitmap, hint and count are changed at
 * DISPATCH_LEVEL (the region lock: on one processor, raising the IRQL keeps
 * every other thread and DPC away). MiIsVaReserved reads without it. The
 * public routines map and unmap at DISPATCH_LEVEL too, taking the PFN lock
 * for frames and page tables; callers are at DISPATCH_LEVEL or below.
 */
#include "mi.h"
#include "../rtl/rtl.h"

#define MI_MANAGED_BYTES (1ULL << 30)                     /* 1 GiB of each region */
#define MI_MANAGED_PAGES (MI_MANAGED_BYTES >> PAGE_SHIFT)  /* 262144 pages */
#define MI_BITMAP_WORDS  (MI_MANAGED_PAGES / 64)          /* 32 KiB of bitmap */

static ULONG64 MiSystemPteBitmap[MI_BITMAP_WORDS];
static ULONG64 MiNonPagedPoolBitmap[MI_BITMAP_WORDS];
static ULONG64 MiPagedPoolBitmap[MI_BITMAP_WORDS];

MI_VA_REGION MiSystemPteRegion = {"system PTEs", MM_SYSTEM_PTE_BASE, MI_MANAGED_PAGES,
                                  MiSystemPteBitmap, 0, 0};
MI_VA_REGION MiNonPagedPoolRegion = {"nonpaged pool", MM_NONPAGED_POOL_START, MI_MANAGED_PAGES,
                                     MiNonPagedPoolBitmap, 0, 0};
MI_VA_REGION MiPagedPoolRegion = {"paged pool", MM_PAGED_POOL_START, MI_MANAGED_PAGES,
                                  MiPagedPoolBitmap, 0, 0};

static BOOLEAN MiTestBit(PMI_VA_REGION Region, ULONG_PTR Page)
{
    return (Region->Bitmap[Page / 64] >> (Page % 64)) & 1;
}

static void MiSetBits(PMI_VA_REGION Region, ULONG_PTR Page, ULONG_PTR Count, BOOLEAN Set)
{
    for (ULONG_PTR i = Page; i < Page + Count; i++) {
        if (Set)
            Region->Bitmap[i / 64] |= 1ULL << (i % 64);
        else
            Region->Bitmap[i / 64] &= ~(1ULL << (i % 64));
    }
}

/* First fit from the hint, wrapping once. Full words are skipped 64 pages
 * at a time. */
static BOOLEAN MiFindClearRun(PMI_VA_REGION Region, ULONG_PTR Start, ULONG_PTR End,
                              ULONG_PTR Count, ULONG_PTR *Found)
{
    ULONG_PTR Run = 0;
    for (ULONG_PTR Page = Start; Page < End; Page++) {
        if (Run == 0 && (Page % 64) == 0 && Page + 64 <= End && Region->Bitmap[Page / 64] == ~0ULL) {
            Page += 63;
            continue;
        }
        if (MiTestBit(Region, Page)) {
            Run = 0;
            continue;
        }
        if (++Run == Count) {
            *Found = Page + 1 - Count;
            return TRUE;
        }
    }
    return FALSE;
}

PVOID MiReserveVa(PMI_VA_REGION Region, ULONG_PTR Pages)
{
    ULONG_PTR First;
    if (Pages == 0 || Pages > Region->Pages)
        return NULL;
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel(); /* the region lock (one processor) */
    if (!MiFindClearRun(Region, Region->Hint, Region->Pages, Pages, &First) &&
        !MiFindClearRun(Region, 0, Region->Hint + Pages < Region->Pages ? Region->Hint + Pages
                                                                          : Region->Pages,
                        Pages, &First)) {
        KeLowerIrql(OldIrql);
        return NULL;
    }
    MiSetBits(Region, First, Pages, TRUE);
    Region->Hint = First + Pages;
    if (Region->Hint >= Region->Pages)
        Region->Hint = 0;
    Region->PagesReserved += Pages;
    KeLowerIrql(OldIrql);
    return (PVOID)(Region->Base + (First << PAGE_SHIFT));
}

BOOLEAN MiIsVaReserved(PMI_VA_REGION Region, PVOID Va, ULONG_PTR Pages)
{
    ULONG_PTR Address = (ULONG_PTR)Va;
    if (Address < Region->Base || (Address & (PAGE_SIZE - 1)))
        return FALSE;
    ULONG_PTR First = (Address - Region->Base) >> PAGE_SHIFT;
    if (First >= Region->Pages || Pages > Region->Pages - First)
        return FALSE;
    for (ULONG_PTR i = First; i < First + Pages; i++) {
        if (!MiTestBit(Region, i))
            return FALSE;
    }
    return TRUE;
}

void MiReleaseVa(PMI_VA_REGION Region, PVOID Va, ULONG_PTR Pages)
{
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    if (!MiIsVaReserved(Region, Va, Pages))
        KeBugCheckEx(MEMORY_MANAGEMENT, 0x41, (ULONG_PTR)Va, Pages, Region->Base);
    MiSetBits(Region, ((ULONG_PTR)Va - Region->Base) >> PAGE_SHIFT, Pages, FALSE);
    Region->PagesReserved -= Pages;
    KeLowerIrql(OldIrql);
}

void MiInitializeSystemVa(void)
{
    /* The PML4 slots of these regions exist since boot (mm/init.c); the
     * lower levels appear as pages are mapped. Nothing else to do. */
}

PVOID MmMapIoSpace(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes, BOOLEAN Uncached)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ULONG64 Physical = (ULONG64)PhysicalAddress.QuadPart;
    ULONG_PTR Pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(Physical, NumberOfBytes);
    if (NumberOfBytes == 0)
        return NULL;
    PUCHAR Base = MiReserveVa(&MiSystemPteRegion, Pages);
    if (!Base)
        return NULL;
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    ULONG64 Flags = MM_PTE_WRITE | MM_PTE_NO_EXECUTE |
                    (Uncached ? MM_PTE_CACHE_DISABLE | MM_PTE_WRITE_THROUGH : 0);
    for (ULONG_PTR i = 0; i < Pages; i++) {
        PFN_NUMBER Pfn = (Physical >> PAGE_SHIFT) + i;
        if (!NT_SUCCESS(MiMapPage(Base + i * PAGE_SIZE, Pfn, Flags))) {
            for (ULONG_PTR j = 0; j < i; j++)
                MiUnmapPage(Base + j * PAGE_SIZE);
            KeLowerIrql(OldIrql);
            MiReleaseVa(&MiSystemPteRegion, Base, Pages);
            return NULL;
        }
    }
    KeLowerIrql(OldIrql);
    return Base + BYTE_OFFSET(Physical);
}

void MmUnmapIoSpace(PVOID BaseAddress, SIZE_T NumberOfBytes)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    PUCHAR Base = PAGE_ALIGN(BaseAddress);
    ULONG_PTR Pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(BaseAddress, NumberOfBytes);
    for (ULONG_PTR i = 0; i < Pages; i++)
        MiUnmapPage(Base + i * PAGE_SIZE);
    MiReleaseVa(&MiSystemPteRegion, Base, Pages);
}

PVOID MmCreateKernelStack(ULONG Pages)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    if (MiVerifierInjectFailure())  /* "verifier=lowres" (mm/specpool.c) */
        return NULL;
    /* Pages + 1 virtual pages; the lowest stays unmapped: the guard. */
    PUCHAR Guard = MiReserveVa(&MiSystemPteRegion, Pages + 1);
    if (!Guard)
        return NULL;
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    for (ULONG i = 1; i <= Pages; i++) {
        PFN_NUMBER Pfn = MiRemoveAnyPage(MiUsageKernelStack);
        if (Pfn == MM_EMPTY_LIST ||
            !NT_SUCCESS(MiMapPage(Guard + i * PAGE_SIZE, Pfn, MM_PTE_WRITE | MM_PTE_NO_EXECUTE))) {
            if (Pfn != MM_EMPTY_LIST)
                MiInsertPageInFreeList(Pfn);
            for (ULONG j = 1; j < i; j++)
                MiInsertPageInFreeList(MiUnmapPage(Guard + j * PAGE_SIZE).u.Hard.PageFrameNumber);
            KeLowerIrql(OldIrql);
            MiReleaseVa(&MiSystemPteRegion, Guard, Pages + 1);
            return NULL;
        }
    }
    KeLowerIrql(OldIrql);
    return Guard + (Pages + 1) * PAGE_SIZE;
}

void MmDeleteKernelStack(PVOID StackBase, ULONG Pages)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    PUCHAR Guard = (PUCHAR)StackBase - (Pages + 1) * PAGE_SIZE;
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    for (ULONG i = 1; i <= Pages; i++)
        MiInsertPageInFreeList(MiUnmapPage(Guard + i * PAGE_SIZE).u.Hard.PageFrameNumber);
    KeLowerIrql(OldIrql);
    MiReleaseVa(&MiSystemPteRegion, Guard, Pages + 1);
}
