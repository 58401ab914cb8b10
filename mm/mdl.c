/*
 * mdl.c - memory descriptor lists: locking a buffer's pages in memory and
 * mapping them into system space (MmProbeAndLockPages, MmUnlockPages,
 * MmMapLockedPagesSpecifyCache, MmUnmapLockedPages,
 * MmBuildMdlForNonPagedPool). IoAllocateMdl and IoFreeMdl, which only
 * allocate the structure, are the I/O manager's (io/mdl.c).
 *
 * An MDL (mm/mm.h) names a virtual buffer - StartVa, ByteOffset,
 * ByteCount - and, after the lock, the frame behind each of its pages (the
 * PFN array after the header). A driver that holds one can reach the
 * buffer when the process that owns it is not current, from a DPC, or let
 * a device write into the frames:
 *
 *   lock     MmProbeAndLockPages: touch each page (fault it in, with a
 *            write for IoWriteAccess), then, under the PFN lock, read its
 *            PTE, raise the frame's ReferenceCount and note it in the PFN
 *            array. A frame with ReferenceCount > 1 stays where it is:
 *            freeing its page (decommit, process exit) only drops the
 *            owner's reference (mm/pfn.c), and a pagefile (later) must not
 *            write it out.
 *   map      MmMapLockedPagesSpecifyCache: a run of system PTEs pointing
 *            at the same frames. System space is shared by every address
 *            space, so the view works from any thread.
 *   unmap    MmUnmapLockedPages: the PTEs back to the region.
 *   partial  IoBuildPartialMdl (io/mdl.c) copies part of a locked MDL's
 *            PFN array into another MDL (MDL_PARTIAL), which locks
 *            nothing and may get a view of its own
 *            (MDL_PARTIAL_HAS_BEEN_MAPPED), unmapped by
 *            MmPrepareMdlForReuse (mm/mm.h) before it is reused or freed.
 *   unlock   MmUnlockPages: one reference less per frame; a frame whose
 *            page was freed meanwhile goes to the free list now.
 *
 * The user pages an address space has locked are counted in its
 * LockedPages: deleting an address space while any is locked is
 * bugcheck PROCESS_HAS_LOCKED_PAGES (0x76), as NT stops when a driver
 * leaked a lock (mm/procsup.c).
 *
 * Locking and IRQL: the touches may fault, so the lock runs below
 * DISPATCH_LEVEL; each page's PTE check and reference are one step under
 * the PFN lock (DISPATCH_LEVEL), so no decommit on this processor comes
 * between them. Mapping, unmapping and unlocking touch no pageable memory
 * and run at DISPATCH_LEVEL or below; they take the region lock
 * (mm/sysva.c) and the PFN lock and return without them.
 */
#include "mi.h"

/* How many times a page is faulted in again when its PTE went away
 * between the touch and the lock (another thread decommitted and
 * recommitted it); then the lock gives up. */
#define MI_LOCK_ATTEMPTS 4

/* The outcome of looking at one page under the PFN lock. */
typedef enum _MI_LOCK_RESULT {
    MiPageLocked, /* referenced (or not RAM: nothing to reference) */
    MiPageNotResident, /* no valid PTE now: fault it in again */
    MiPageRefused, /* resident, but not for this access */
    MiPageCountFull, /* locked MI_MAXIMUM_REFERENCE_COUNT times, or at the resident floor */
} MI_LOCK_RESULT;

static BOOLEAN MiIsSystemVa(const void *Va)
{
    return (ULONG_PTR)Va >= MM_SYSTEM_RANGE_START;
}

/* Fault the page at Va in, for a write when Write. A user (or
 * non-canonical) address goes through the copy routines, whose faults the
 * exception table recovers; a system one is touched directly (a bad
 * system address from kernel mode is a kernel bug and bugchecks). */
static NTSTATUS MiTouchPage(PUCHAR Va, BOOLEAN Write)
{
    if (!MiIsSystemVa(Va)) {
        UCHAR Byte;
        return Write ? KiProbeUserByteForWrite(Va) : KiCopyUserMemory(&Byte, Va, 1);
    }
    (void)*(volatile UCHAR *)Va; /* paged pool: demand-zero faults it in */
    return STATUS_SUCCESS;
}

/* The 4 KiB PTE that maps Va, when every level is present and no large
 * page is in the way (Pagoda's own tables have none after boot). */
static BOOLEAN MiReadLeafPte(PVOID Va, PMMPTE Pte)
{
    if (!MmIsAddressValid(Va))
        return FALSE;
    if (MiGetPpeAddress(Va)->u.Hard.LargePage || MiGetPdeAddress(Va)->u.Hard.LargePage)
        return FALSE;
    *Pte = *MiGetPteAddress(Va);
    return TRUE;
}

/* Check the page at Va for the access and reference its frame. PFN lock
 * held. *Pfn receives the frame. */
static MI_LOCK_RESULT MiLockResidentPage(PVOID Va, BOOLEAN Write, BOOLEAN FromUser,
                                         PPFN_NUMBER Pfn)
{
    MMPTE Pte;
    if (!MiReadLeafPte(Va, &Pte) || !Pte.u.Hard.Valid)
        return MiPageNotResident;
    if ((Write && !Pte.u.Hard.Write) || (FromUser && !Pte.u.Hard.Owner))
        return MiPageRefused;
    *Pfn = Pte.u.Hard.PageFrameNumber;
    if (!MiIsPfnInDatabase(*Pfn))
        return MiPageLocked; /* device memory: nothing to count */
    return MiLockPageFrame(*Pfn) ? MiPageLocked : MiPageCountFull;
}

/* Fault one page in and lock it. */
static NTSTATUS MiLockOnePage(PUCHAR Va, BOOLEAN Write, BOOLEAN FromUser, PPFN_NUMBER Pfn)
{
    for (ULONG Attempt = 0; Attempt < MI_LOCK_ATTEMPTS; Attempt++) {
        NTSTATUS Status = MiTouchPage(Va, Write);
        if (!NT_SUCCESS(Status))
            return Status;
        KIRQL OldIrql = KeRaiseIrqlToDpcLevel(); /* the PFN lock */
        MI_LOCK_RESULT Result = MiLockResidentPage(Va, Write, FromUser, Pfn);
        KeLowerIrql(OldIrql);
        if (Result == MiPageLocked)
            return STATUS_SUCCESS;
        if (Result == MiPageRefused)
            return STATUS_ACCESS_VIOLATION;
        if (Result == MiPageCountFull)
            return STATUS_INSUFFICIENT_RESOURCES;
    }
    return STATUS_ACCESS_VIOLATION;
}

/* Drop the locks on the first Count frames of an array. */
static void MiUnlockFrames(const PFN_NUMBER *Pfns, ULONG_PTR Count)
{
    for (ULONG_PTR i = 0; i < Count; i++) {
        if (MiIsPfnInDatabase(Pfns[i]))
            MiUnlockPageFrame(Pfns[i]);
    }
}

static BOOLEAN MiHasDeviceFrames(const PFN_NUMBER *Pfns, ULONG_PTR Count)
{
    for (ULONG_PTR i = 0; i < Count; i++) {
        if (!MiIsPfnInDatabase(Pfns[i]))
            return TRUE;
    }
    return FALSE;
}

static ULONG_PTR MiMdlPages(const MDL *Mdl)
{
    return ADDRESS_AND_SIZE_TO_SPAN_PAGES(Mdl->ByteOffset, Mdl->ByteCount);
}

/* Add Delta (may be negative) to AddressSpace's count of locked pages. */
static void MiChargeLockedPages(PMMADDRESS_SPACE AddressSpace, LONG_PTR Delta)
{
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel(); /* the PFN lock */
    ASSERT(Delta >= 0 || AddressSpace->LockedPages >= (PFN_NUMBER)-Delta);
    AddressSpace->LockedPages += Delta;
    KeLowerIrql(OldIrql);
}

NTSTATUS MmProbeAndLockPages(PMDL Mdl, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Operation)
{
    ASSERT(KeGetCurrentIrql() < DISPATCH_LEVEL);
    ASSERT(Operation == IoReadAccess || Operation == IoWriteAccess || Operation == IoModifyAccess);
    ASSERT(!(Mdl->MdlFlags &
             (MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)));
    ASSERT((ULONG_PTR)Mdl->Size >= MmSizeOfMdl(Mdl->StartVa, Mdl->ByteOffset + Mdl->ByteCount));
    ULONG_PTR Start = (ULONG_PTR)MmGetMdlVirtualAddress(Mdl);
    ULONG_PTR Pages = MiMdlPages(Mdl);
    BOOLEAN FromUser = AccessMode == UserMode;
    BOOLEAN Write = Operation != IoReadAccess;

    /* Check the whole range before anything is touched or locked. */
    if (Mdl->ByteCount != 0) {
        if (FromUser && !MiIsUserRange(Start, Mdl->ByteCount))
            return STATUS_ACCESS_VIOLATION;
        if (Start + Mdl->ByteCount < Start)
            return STATUS_ACCESS_VIOLATION; /* wraps around */
    }

    PPFN_NUMBER Pfns = MmGetMdlPfnArray(Mdl);
    for (ULONG_PTR i = 0; i < Pages; i++) {
        NTSTATUS Status = MiLockOnePage((PUCHAR)Mdl->StartVa + i * PAGE_SIZE, Write, FromUser,
                                        &Pfns[i]);
        if (!NT_SUCCESS(Status)) {
            MiUnlockFrames(Pfns, i);
            return Status;
        }
    }

    Mdl->Process = NULL;
    if (Pages != 0 && !MiIsSystemVa((PVOID)Start)) {
        Mdl->Process = MmCurrentAddressSpace;
        MiChargeLockedPages(Mdl->Process, (LONG_PTR)Pages);
    }
    Mdl->MdlFlags |= MDL_PAGES_LOCKED | (Write ? MDL_WRITE_OPERATION : 0) |
                     (MiHasDeviceFrames(Pfns, Pages) ? MDL_IO_SPACE : 0);
    return STATUS_SUCCESS;
}

void MmUnlockPages(PMDL Mdl)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Mdl->MdlFlags & MDL_PAGES_LOCKED);
    if (Mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA)
        MmUnmapLockedPages(Mdl->MappedSystemVa, Mdl);
    ULONG_PTR Pages = MiMdlPages(Mdl);
    MiUnlockFrames(MmGetMdlPfnArray(Mdl), Pages);
    if (Mdl->Process) {
        MiChargeLockedPages(Mdl->Process, -(LONG_PTR)Pages);
        Mdl->Process = NULL;
    }
    Mdl->MdlFlags &= ~(MDL_PAGES_LOCKED | MDL_WRITE_OPERATION | MDL_IO_SPACE);
}

/* A mapping could not be made: NULL, or the bugcheck the caller asked for. */
static PVOID MiMappingFailed(ULONG_PTR Pages, ULONG BugCheckOnFailure)
{
    if (BugCheckOnFailure)
        KeBugCheckEx(NO_MORE_SYSTEM_PTES, 0, Pages, MiSystemPteRegion.Pages,
                     MiSystemPteRegion.PagesReserved);
    return NULL;
}

static ULONG64 MiMdlMappingPteBits(MEMORY_CACHING_TYPE CacheType, ULONG Priority)
{
    ULONG64 Bits = MM_PTE_NO_EXECUTE;
    if (!(Priority & MdlMappingNoWrite))
        Bits |= MM_PTE_WRITE;
    if (CacheType != MmCached)
        Bits |= MM_PTE_CACHE_DISABLE | MM_PTE_WRITE_THROUGH; /* no PAT: write-combined too */
    return Bits;
}

PVOID MmMapLockedPagesSpecifyCache(PMDL Mdl, KPROCESSOR_MODE AccessMode,
                                   MEMORY_CACHING_TYPE CacheType, PVOID RequestedAddress,
                                   ULONG BugCheckOnFailure, ULONG Priority)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL));
    ASSERT(!(Mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA));
    ULONG_PTR Pages = MiMdlPages(Mdl);
    if (AccessMode != KernelMode || RequestedAddress != NULL || Pages == 0)
        return NULL; /* user-space views: not supported */

    PUCHAR Base = MiReserveVa(&MiSystemPteRegion, Pages);
    if (!Base)
        return MiMappingFailed(Pages, BugCheckOnFailure);
    const PFN_NUMBER *Pfns = MmGetMdlPfnArray(Mdl);
    ULONG64 Bits = MiMdlMappingPteBits(CacheType, Priority);
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel(); /* system PTEs are edited at DISPATCH_LEVEL */
    for (ULONG_PTR i = 0; i < Pages; i++) {
        if (!NT_SUCCESS(MiMapPage(Base + i * PAGE_SIZE, Pfns[i], Bits))) {
            /* No frame for a page table: undo the pages mapped so far. */
            for (ULONG_PTR j = 0; j < i; j++)
                MiUnmapPage(Base + j * PAGE_SIZE);
            KeLowerIrql(OldIrql);
            MiReleaseVa(&MiSystemPteRegion, Base, Pages);
            return MiMappingFailed(Pages, BugCheckOnFailure);
        }
    }
    KeLowerIrql(OldIrql);
    Mdl->MappedSystemVa = Base + Mdl->ByteOffset;
    Mdl->MdlFlags |= MDL_MAPPED_TO_SYSTEM_VA;
    if (Mdl->MdlFlags & MDL_PARTIAL)
        Mdl->MdlFlags |= MDL_PARTIAL_HAS_BEEN_MAPPED;
    return Mdl->MappedSystemVa;
}

void MmUnmapLockedPages(PVOID BaseAddress, PMDL Mdl)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT((Mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) && BaseAddress == Mdl->MappedSystemVa);
    PUCHAR Base = PAGE_ALIGN(BaseAddress);
    ULONG_PTR Pages = MiMdlPages(Mdl);
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    for (ULONG_PTR i = 0; i < Pages; i++)
        MiUnmapPage(Base + i * PAGE_SIZE);
    KeLowerIrql(OldIrql);
    MiReleaseVa(&MiSystemPteRegion, Base, Pages);
    Mdl->MdlFlags &= ~(MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED);
    /* A nonpaged-pool MDL's system address is the buffer itself again. */
    Mdl->MappedSystemVa =
        (Mdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL) ? MmGetMdlVirtualAddress(Mdl) : NULL;
}

void MmBuildMdlForNonPagedPool(PMDL Mdl)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(!(Mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA)));
    ASSERT(MiIsSystemVa(Mdl->StartVa));
    ULONG_PTR Pages = MiMdlPages(Mdl);
    PPFN_NUMBER Pfns = MmGetMdlPfnArray(Mdl);
    for (ULONG_PTR i = 0; i < Pages; i++) {
        PUCHAR Va = (PUCHAR)Mdl->StartVa + i * PAGE_SIZE;
        MMPTE Pte;
        /* Nonpaged memory is resident for ever; anything else is the
         * caller's bug, stopped as the access would have been. */
        if (!MiReadLeafPte(Va, &Pte) || !Pte.u.Hard.Valid)
            KeBugCheckEx(PAGE_FAULT_IN_NONPAGED_AREA, (ULONG_PTR)Va, 0, (ULONG_PTR)Mdl, 0);
        Pfns[i] = Pte.u.Hard.PageFrameNumber;
    }
    Mdl->Process = NULL;
    Mdl->MappedSystemVa = MmGetMdlVirtualAddress(Mdl);
    Mdl->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL | (MiHasDeviceFrames(Pfns, Pages) ? MDL_IO_SPACE : 0);
}

PFN_NUMBER MmGetLockedPageCount(const MMADDRESS_SPACE *AddressSpace)
{
    return AddressSpace->LockedPages;
}
