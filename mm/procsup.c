/*
 * procsup.c - address spaces: creating, switching and deleting them.
 *
 * Every address space is a PML4 frame:
 *
 *   entries 0..255     user half: private, described by the VAD tree,
 *                      page tables created on commit, freed when empty
 *   entry 0x1ED        self-map: this PML4's own frame
 *   entry 0x1EE        hyperspace: this space's own PDPT -> PD -> PT, whose
 *                      first PTE is the per-space mapping window
 *   other 256..511     copied from the boot PML4 when the space is created;
 *                      they never change afterwards (DESIGN.md), so every
 *                      process sees the same system space
 *
 * The shared user data page (KUSER_SHARED_DATA) is one frame, writable at
 * MM_SHARED_USER_DATA_VA in system space and read-only at 0x7FFE0000 in
 * every user half.
 *
 * Locking: an address space has no lock of its own. While it is created
 * or deleted nobody else can reach it, so no lock is taken; afterwards its
 * user half is changed under the VM mutex (mm/virtual.c). CR3 and
 * MmCurrentAddressSpace change together with interrupts disabled
 * (MmAttachAddressSpace, and the scheduler's context switch). Frames come
 * and go under the PFN lock; the hyperspace window is used at
 * DISPATCH_LEVEL.
 */
#include "mi.h"
#include "../rtl/rtl.h"

#define MI_ADDRESS_SPACE_TAG POOL_TAG('M', 'm', 'A', 's')

/* Its working set is paged pool's, empty until the first paged pool
 * fault (which may come before MiInitializeSystemAddressSpace). */
MMADDRESS_SPACE MmSystemAddressSpace = {.Vm = {.WsFlink = MM_EMPTY_LIST, .WsBlink = MM_EMPTY_LIST}};
PMMADDRESS_SPACE MmCurrentAddressSpace;
PFN_NUMBER MiSharedUserDataPfn;

/* Called by MmInitSystem once the PFN database and the pools exist. */
void MiInitializeSystemAddressSpace(void)
{
    MmSystemAddressSpace.DirectoryTableBase = __readcr3() & MM_PTE_FRAME_MASK;
    MiInitializeAvlTable(&MmSystemAddressSpace.VadRoot);
    MmCurrentAddressSpace = &MmSystemAddressSpace;
    /* Its working set is the system's: paged pool (mm/wsmgr.c). Its
     * ResidentPages counts paged pool pages with a frame. */
    MiInitializeWorkingSet(&MmSystemAddressSpace);

    MiSharedUserDataPfn = MiRemoveZeroPage(MiUsageSharedUserData);
    if (MiSharedUserDataPfn == MM_EMPTY_LIST ||
        !NT_SUCCESS(MiMapPage((PVOID)MM_SHARED_USER_DATA_VA, MiSharedUserDataPfn,
                              MM_PTE_WRITE | MM_PTE_NO_EXECUTE | MM_PTE_GLOBAL)))
        KeBugCheckEx(PHASE0_INITIALIZATION_FAILED, 0x5D, 0, 0, 0);
}

PMMADDRESS_SPACE MmAttachAddressSpace(PMMADDRESS_SPACE AddressSpace)
{
    /* CR3 and MmCurrentAddressSpace change together: no interrupt (and so
     * no context switch, which saves and restores them) in between. */
    ULONG64 Flags = __readeflags();
    _disable();
    PMMADDRESS_SPACE Previous = MmCurrentAddressSpace;
    if (AddressSpace != Previous) {
        /* Writing CR3 flushes every non-global translation: the user half
         * and hyperspace of the old space vanish, system space stays. */
        __writecr3(AddressSpace->DirectoryTableBase);
        MmCurrentAddressSpace = AddressSpace;
    }
    __writeeflags(Flags);
    return Previous;
}

static void MiFreeFrames(PFN_NUMBER *Pfns, ULONG Count)
{
    for (ULONG i = 0; i < Count; i++) {
        if (Pfns[i] != MM_EMPTY_LIST)
            MiInsertPageInFreeList(Pfns[i]);
    }
}

/* Write one entry of a frame that is not mapped here, through hyperspace. */
static void MiWriteEntryOfFrame(PFN_NUMBER TablePfn, ULONG Index, ULONG64 Value)
{
    KIRQL HyperIrql;
    PMMPTE Table = MiMapPageInHyperspace(TablePfn, &HyperIrql);
    Table[Index].u.Long = Value;
    MiUnmapPageInHyperspace(Table, HyperIrql);
}

NTSTATUS MmCreateProcessAddressSpace(PMMADDRESS_SPACE *Result)
{
    ASSERT(KeGetCurrentIrql() < DISPATCH_LEVEL);
    PFN_NUMBER Frames[4] = {MM_EMPTY_LIST, MM_EMPTY_LIST, MM_EMPTY_LIST, MM_EMPTY_LIST};
    PMMADDRESS_SPACE AddressSpace;
    PMMVAD Vad;

    AddressSpace = ExAllocatePoolWithTag(NonPagedPool, sizeof(*AddressSpace), MI_ADDRESS_SPACE_TAG);
    if (!AddressSpace)
        return STATUS_INSUFFICIENT_RESOURCES;
    Vad = ExAllocatePoolWithTag(NonPagedPool, sizeof(*Vad), MI_VAD_TAG);
    if (!Vad)
        goto free_space;
    for (ULONG i = 0; i < 4; i++) {
        Frames[i] = MiRemoveZeroPage(MiUsagePageTable);
        if (Frames[i] == MM_EMPTY_LIST)
            goto free_frames;
    }
    PFN_NUMBER Pml4 = Frames[0];

    memset(AddressSpace, 0, sizeof(*AddressSpace));
    AddressSpace->DirectoryTableBase = (ULONG64)Pml4 << PAGE_SHIFT;
    AddressSpace->Vm.WsFlink = AddressSpace->Vm.WsBlink = MM_EMPTY_LIST;
    MiInitializeAvlTable(&AddressSpace->VadRoot);
    for (ULONG i = 0; i < 3; i++)
        AddressSpace->HyperspacePfns[i] = Frames[i + 1];

    /* The system half: a copy of the current PML4's (identical in every
     * space), then this space's own self-map and hyperspace. */
    KIRQL HyperIrql;
    PMMPTE NewPml4 = MiMapPageInHyperspace(Pml4, &HyperIrql);
    const MMPTE *CurrentPml4 = (const MMPTE *)PXE_BASE;
    for (ULONG i = 256; i < 512; i++)
        NewPml4[i] = CurrentPml4[i];
    NewPml4[MM_SELFMAP_INDEX].u.Long =
        ((ULONG64)Pml4 << PAGE_SHIFT) | MM_PTE_VALID | MM_PTE_WRITE | MM_PTE_NO_EXECUTE;
    NewPml4[MM_HYPERSPACE_INDEX].u.Long =
        ((ULONG64)Frames[1] << PAGE_SHIFT) | MM_PTE_VALID | MM_PTE_WRITE;
    MiUnmapPageInHyperspace(NewPml4, HyperIrql);
    MiWriteEntryOfFrame(Frames[1], 0, ((ULONG64)Frames[2] << PAGE_SHIFT) | MM_PTE_VALID | MM_PTE_WRITE);
    MiWriteEntryOfFrame(Frames[2], 0, ((ULONG64)Frames[3] << PAGE_SHIFT) | MM_PTE_VALID | MM_PTE_WRITE);
    for (ULONG i = 0; i < 4; i++)
        MI_PFN_ELEMENT(Frames[i])->UsedPageTableEntries = (i == 0) ? 0 : (i < 3 ? 1 : 0);

    /* Inside the new space: the read-only shared user data view and the
     * VAD that reserves it. */
    PMMADDRESS_SPACE Previous = MmAttachAddressSpace(AddressSpace);
    NTSTATUS Status = MiMapPage((PVOID)MM_SHARED_USER_DATA_USER, MiSharedUserDataPfn,
                                MM_PTE_OWNER | MM_PTE_NO_EXECUTE |
                                ((ULONG64)MM_READONLY << MM_VALID_PROTECT_SHIFT));
    if (NT_SUCCESS(Status)) {
        memset(Vad, 0, sizeof(*Vad));
        Vad->Node.StartingVpn = MM_SHARED_USER_DATA_USER >> PAGE_SHIFT;
        Vad->Node.EndingVpn = Vad->Node.StartingVpn;
        Vad->AllocationProtect = PAGE_READONLY;
        Vad->Flags = MM_VAD_SHARED_USER_DATA;
        Vad->CommittedPages = 1;
        Status = MiInsertNode(&AddressSpace->VadRoot, &Vad->Node);
        ASSERT(NT_SUCCESS(Status));
    }
    MmAttachAddressSpace(Previous);
    if (!NT_SUCCESS(Status)) {
        ExFreePoolWithTag(Vad, MI_VAD_TAG);
        MmDeleteProcessAddressSpace(AddressSpace);
        return Status;
    }
    MiInitializeWorkingSet(AddressSpace); /* the manager may trim it from now on */
    *Result = AddressSpace;
    return STATUS_SUCCESS;

free_frames:
    MiFreeFrames(Frames, 4);
    ExFreePoolWithTag(Vad, MI_VAD_TAG);
free_space:
    ExFreePoolWithTag(AddressSpace, MI_ADDRESS_SPACE_TAG);
    return STATUS_INSUFFICIENT_RESOURCES;
}

/* Release the pagefile slots of one page table's PTEs in the pagefile
 * state: each becomes demand-zero (the page is going anyway), so that
 * MiDeleteUserHalf sees only PTEs with or without a frame. Returns how
 * many. PFN lock. */
static PFN_NUMBER MiReleaseTablePageFileSlots(PMMPTE Pte, ULONG Used)
{
    PFN_NUMBER Released = 0;
    for (ULONG l = 0; l < 512 && Used; l++) {
        if (Pte[l].u.Long == 0)
            continue;
        Used--;
        if (MiPteState(Pte[l]) != MiPtePageFile)
            continue;
        MiReleasePageFileSlot(Pte[l].u.Soft.PageFileHigh);
        Pte[l].u.Long = (ULONG64)Pte[l].u.Soft.Protection << MM_PROTECT_SHIFT;
        Released++;
    }
    return Released;
}

/* Every pagefile slot the user half's PTEs own goes back (process exit,
 * before MiDeleteUserHalf; slots of frames' copies go with the frames,
 * mm/pfn.c). AddressSpace is current. Walks only while some PTE is in the
 * pagefile (PageFilePages), and each table only as far as its entries in
 * use: a process that never paged out pays one test (the pagefile merge
 * once walked every table of every exiting process, about 19,000
 * instructions of each spawn; docs/performance.md). */
static void MiReleaseUserPageFileSlots(PMMADDRESS_SPACE AddressSpace)
{
    PMMPTE Pxe = (PMMPTE)PXE_BASE;
    for (ULONG i = 0; i < 256 && AddressSpace->PageFilePages != 0; i++) {
        if (!Pxe[i].u.Hard.Valid)
            continue;
        PMMPTE Ppe = (PMMPTE)(PPE_BASE + (ULONG64)i * PAGE_SIZE);
        for (ULONG j = 0; j < 512 && AddressSpace->PageFilePages != 0; j++) {
            if (!Ppe[j].u.Hard.Valid)
                continue;
            PMMPTE Pde = (PMMPTE)(PDE_BASE + ((ULONG64)i * 512 + j) * PAGE_SIZE);
            for (ULONG k = 0; k < 512 && AddressSpace->PageFilePages != 0; k++) {
                if (!Pde[k].u.Hard.Valid)
                    continue;
                PFN_NUMBER PtPfn = Pde[k].u.Hard.PageFrameNumber;
                PMMPTE Pte = (PMMPTE)(PTE_BASE + (((ULONG64)i * 512 + j) * 512 + k) * PAGE_SIZE);
                KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
                AddressSpace->PageFilePages -=
                    MiReleaseTablePageFileSlots(Pte, MI_PFN_ELEMENT(PtPfn)->UsedPageTableEntries);
                KeLowerIrql(OldIrql);
            }
        }
    }
}

/* Free every frame and table of the user half, walking it through the
 * self-map (AddressSpace is current). */
static void MiDeleteUserHalf(PMMADDRESS_SPACE AddressSpace)
{
#if PAGODA_SOLUTION(7)
    /* Each table page's PFN entry counts its entries in use
     * (UsedPageTableEntries): a scan stops once it has seen them all, so a
     * mostly empty table costs a few reads, not 512. */
    PMMPTE Pxe = (PMMPTE)PXE_BASE;
    for (ULONG i = 0; i < 256; i++) {
        if (!Pxe[i].u.Hard.Valid)
            continue;
        PFN_NUMBER PdptPfn = Pxe[i].u.Hard.PageFrameNumber;
        PMMPTE Ppe = (PMMPTE)(PPE_BASE + (ULONG64)i * PAGE_SIZE);
        ULONG PpeLeft = MI_PFN_ELEMENT(PdptPfn)->UsedPageTableEntries;
        for (ULONG j = 0; j < 512 && PpeLeft; j++) {
            if (Ppe[j].u.Long == 0)
                continue;
            PpeLeft--;
            PFN_NUMBER PdPfn = Ppe[j].u.Hard.PageFrameNumber;
            PMMPTE Pde = (PMMPTE)(PDE_BASE + ((ULONG64)i * 512 + j) * PAGE_SIZE);
            ULONG PdeLeft = MI_PFN_ELEMENT(PdPfn)->UsedPageTableEntries;
            for (ULONG k = 0; k < 512 && PdeLeft; k++) {
                if (Pde[k].u.Long == 0)
                    continue;
                PdeLeft--;
                PFN_NUMBER PtPfn = Pde[k].u.Hard.PageFrameNumber;
                PMMPTE Pte = (PMMPTE)(PTE_BASE + (((ULONG64)i * 512 + j) * 512 + k) * PAGE_SIZE);
                ULONG PteLeft = MI_PFN_ELEMENT(PtPfn)->UsedPageTableEntries;
                for (ULONG l = 0; l < 512 && PteLeft; l++) {
                    MMPTE Entry = Pte[l];
                    if (Entry.u.Long == 0)
                        continue;
                    PteLeft--;
                    if (!Entry.u.Hard.Valid && !(Entry.u.Long & MM_PTE_TRANSITION))
                        continue; /* committed, never touched: no frame */
                    PFN_NUMBER Pfn = Entry.u.Hard.PageFrameNumber;
                    if (Pfn == MiSharedUserDataPfn)
                        continue;
                    MiInsertPageInFreeList(Pfn);
                    AddressSpace->ResidentPages--;
                }
                MiInsertPageInFreeList(PtPfn);
            }
            MiInsertPageInFreeList(PdPfn);
        }
        MiInsertPageInFreeList(PdptPfn);
    }
#else
    /* Lab 7: free every page and every page-table page of the user half
     * (PML4 slots 0-255) of the current address space, through the
     * self-map, and count the pages in AddressSpace->ResidentPages. The
     * shared user data frame is the system's: never free it. Until then
     * every process leaks its frames when it ends. */
    UNREFERENCED_PARAMETER(AddressSpace);
#endif /* PAGODA_SOLUTION(7) */
}

void MmDeleteProcessAddressSpace(PMMADDRESS_SPACE AddressSpace)
{
    ASSERT(KeGetCurrentIrql() < DISPATCH_LEVEL);
    ASSERT(AddressSpace != MmCurrentAddressSpace && AddressSpace != &MmSystemAddressSpace);
    /* A driver still holds an MDL lock on its pages (mm/mdl.c): a device
     * may be writing into them. NT stops here too (Driver Verifier names
     * the driver); waiting for the unlock could hang the exit for ever. */
    if (AddressSpace->LockedPages != 0)
        KeBugCheckEx(PROCESS_HAS_LOCKED_PAGES, 0, (ULONG_PTR)AddressSpace,
                     AddressSpace->LockedPages, 0);
    /* Off the working-set manager's list first, and its standby frames no
     * longer reusable: their PTEs are about to go (docs/paging.md). Frames
     * in transition are freed with the others below, from the standby and
     * modified lists (MiInsertPageInFreeList). */
    if (AddressSpace->Vm.WorkingSetExpansionLinks.Flink != NULL)
        MiDeleteWorkingSet(AddressSpace);
    PMMADDRESS_SPACE Previous = MmAttachAddressSpace(AddressSpace);
    /* Frames first, then the charge they were promised under (mm/pfn.c). */
    MiReleaseUserPageFileSlots(AddressSpace);
    MiDeleteUserHalf(AddressSpace);
    MiDeleteAllVads(AddressSpace);
    MmAttachAddressSpace(Previous);

    MiFreeFrames(AddressSpace->HyperspacePfns, 3);
    MiInsertPageInFreeList(AddressSpace->DirectoryTableBase >> PAGE_SHIFT);
    ExFreePoolWithTag(AddressSpace, MI_ADDRESS_SPACE_TAG);
}

NTSTATUS MmAllocateUserRange(PMMADDRESS_SPACE AddressSpace, PVOID *BaseAddress, SIZE_T *RegionSize,
                             ULONG AllocationType, ULONG Protect)
{
    /* The VM mutex: the process's threads may be faulting, growing their
     * stacks or calling the virtual-memory services meanwhile. */
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    PMMADDRESS_SPACE Previous = MiEnterAddressSpace(AddressSpace);
    NTSTATUS Status = MmAllocateVirtualMemory(AddressSpace, BaseAddress, RegionSize, AllocationType,
                                              Protect);
    MiLeaveAddressSpace(Previous);
    return Status;
}
