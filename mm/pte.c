/*
 * pte.c - page tables through the self-map.
 *
 * PML4 entry 0x1ED of every address space points at that PML4's own frame.
 * Walking through it once more at each level turns the four-level tree into
 * one flat array of PTEs at PTE_BASE, indexed by virtual page number:
 *
 *   PTE for Va  = PTE_BASE + (Va >> 12) * 8            (MiGetPteAddress)
 *   PDE for Va  = PDE_BASE + (Va >> 21) * 8            (the PTE of the PTE)
 *   PPE for Va  = PPE_BASE + (Va >> 30) * 8
 *   PXE for Va  = PXE_BASE + (Va >> 39) * 8            (the PML4 entry)
 *
 * so the kernel edits any page table of the current address space with an
 * ordinary memory write and never needs a map of all physical memory.
 * A table that does not exist yet is created by writing its parent entry;
 * it then appears, zeroed by us, at the address the formula gives.
 *
 * Locking: nothing in this file takes a lock of its own, except the
 * hyperspace window (DISPATCH_LEVEL while mapped) and MmWalkPageTables
 * (the VM mutex). The caller holds the lock of the range it edits: the VM
 * mutex for the user half (mm/virtual.c), DISPATCH_LEVEL for system PTEs
 * and nonpaged pool, the paged pool's mutex for paged pool; the page-fault
 * handler, at DISPATCH_LEVEL (the PFN lock), changes only the PTE of the
 * page that faulted (demand-zero, guard, transition); it grows a user stack
 * through MmCommitUserRange, under the VM mutex. New page-table frames come
 * from the PFN lists under the PFN lock. The Mm* readers
 * (MmIsAddressValid and friends) take no lock, at any IRQL.
 */
#include "mi.h"
#include "../rtl/rtl.h"

static BOOLEAN MiIsUserAddress(const void *Va)
{
    return (ULONG_PTR)Va < MM_SYSTEM_RANGE_START;
}

static PFN_NUMBER MiAllocatePageTableFrame(void)
{
    if (!MiPfnDatabaseReady)
        return MiEarlyAllocatePage();
    return MiRemoveAnyPage(MiUsagePageTable);
}

/* Count one more entry in use in the table page that holds Entry. */
static void MiIncrementTableUse(PMMPTE Entry, LONG Delta)
{
    if (!MiPfnDatabaseReady)
        return;
    PFN_NUMBER TablePfn = MiGetPteAddress(Entry)->u.Hard.PageFrameNumber;
    if (MiIsPfnInDatabase(TablePfn))
        MI_PFN_ELEMENT(TablePfn)->UsedPageTableEntries += Delta;
}

/*
 * Make sure the PML4 entry, the PDPT entry and the PDE for Va are present,
 * creating (zeroed) table pages as needed. User-half tables carry the Owner
 * bit and are counted in the current address space. Returns
 * STATUS_INSUFFICIENT_RESOURCES when no frame is left (tables created so
 * far stay; they are freed with the address space or when emptied).
 */
static NTSTATUS MiEnsurePageTables(PVOID Va)
{
    BOOLEAN User = MiIsUserAddress(Va);
    ULONG64 TableBits = MM_PTE_VALID | MM_PTE_WRITE | (User ? MM_PTE_OWNER : 0);
    PMMPTE Levels[4] = {MiGetPxeAddress(Va), MiGetPpeAddress(Va), MiGetPdeAddress(Va),
                        MiGetPteAddress(Va)};

    for (ULONG Level = 0; Level < 3; Level++) {
        PMMPTE Entry = Levels[Level];
        if (Entry->u.Hard.Valid)
            continue;
        PFN_NUMBER TablePfn = MiAllocatePageTableFrame();
        if (TablePfn == MM_EMPTY_LIST)
            return STATUS_INSUFFICIENT_RESOURCES;
        Entry->u.Long = (TablePfn << PAGE_SHIFT) | TableBits;
        MiIncrementTableUse(Entry, 1);
        /* The new table is now visible at the page holding the next level's
         * entry; nothing was cached for it (it was not present), but flush
         * anyway in case a stale translation survived an earlier unmap. */
        PVOID Table = PAGE_ALIGN(Levels[Level + 1]);
        KeFlushSingleTb(Table);
        memset(Table, 0, PAGE_SIZE);
        if (MiPfnDatabaseReady) {
            PMMPFN TablePfnEntry = MI_PFN_ELEMENT(TablePfn);
            TablePfnEntry->PteAddress = Entry;
            TablePfnEntry->UsedPageTableEntries = 0;
        }
        if (User && MmCurrentAddressSpace)
            MmCurrentAddressSpace->PageTablePages++;
        else if (!User && MiPfnDatabaseReady)
            MiSystemPageTablePages++;
    }
    return STATUS_SUCCESS;
}

NTSTATUS MiMapPage(PVOID Va, PFN_NUMBER Pfn, ULONG64 Flags)
{
    NTSTATUS Status = MiEnsurePageTables(Va);
    if (!NT_SUCCESS(Status))
        return Status;
    PMMPTE Pte = MiGetPteAddress(Va);
    ASSERT(!Pte->u.Hard.Valid);
    BOOLEAN WasEmpty = Pte->u.Long == 0;
    Pte->u.Long = (Pfn << PAGE_SHIFT) | Flags | MM_PTE_VALID;
    KeFlushSingleTb(Va);
    if (WasEmpty)
        MiIncrementTableUse(Pte, 1);
    /* A frame mapped in several places (the shared user data page) keeps
     * the first PTE as its back pointer. */
    if (MiPfnDatabaseReady && MiIsPfnInDatabase(Pfn) && MI_PFN_ELEMENT(Pfn)->PteAddress == NULL)
        MI_PFN_ELEMENT(Pfn)->PteAddress = Pte;
    return STATUS_SUCCESS;
}

MMPTE MiUnmapPage(PVOID Va)
{
    PMMPTE Pte = MiGetPteAddress(Va);
    MMPTE Old = *Pte;
    ASSERT(MmIsAddressValid(Pte));
    Pte->u.Long = 0;
    KeFlushSingleTb(Va);
    if (Old.u.Long != 0)
        MiIncrementTableUse(Pte, -1);
    if (Old.u.Hard.Valid && MiPfnDatabaseReady && MiIsPfnInDatabase(Old.u.Hard.PageFrameNumber) &&
        MI_PFN_ELEMENT(Old.u.Hard.PageFrameNumber)->PteAddress == Pte)
        MI_PFN_ELEMENT(Old.u.Hard.PageFrameNumber)->PteAddress = NULL;
    return Old;
}

/* ------------------------------------------------------------------------
 * User pages: committing, decommitting, protecting.
 * ------------------------------------------------------------------------ */

ULONG MiMakeProtectionMask(ULONG Win32Protect)
{
    ULONG Guard = Win32Protect & PAGE_GUARD;
    ULONG Mask;
    switch (Win32Protect & ~PAGE_GUARD) {
    case PAGE_NOACCESS: Mask = MM_NOACCESS; break;
    case PAGE_READONLY: Mask = MM_READONLY; break;
    case PAGE_READWRITE: Mask = MM_READWRITE; break;
    case PAGE_EXECUTE: Mask = MM_EXECUTE; break;
    case PAGE_EXECUTE_READ: Mask = MM_EXECUTE_READ; break;
    case PAGE_EXECUTE_READWRITE: Mask = MM_EXECUTE_READWRITE; break;
    default: return MM_INVALID_PROTECTION; /* none, several, write-copy, nocache, ... */
    }
    if (Guard) {
        if (Mask == MM_NOACCESS)
            return MM_INVALID_PROTECTION;
        Mask |= MM_GUARD_PAGE;
    }
    return Mask;
}

ULONG MiMakeWin32Protection(ULONG MmProtection)
{
    if (MmProtection == MM_NOACCESS)
        return PAGE_NOACCESS;
    ULONG Guard = (MmProtection & MM_GUARD_PAGE) ? PAGE_GUARD : 0;
    switch (MmProtection & ~MM_GUARD_PAGE) {
    case MM_READONLY: return PAGE_READONLY | Guard;
    case MM_READWRITE: return PAGE_READWRITE | Guard;
    case MM_EXECUTE: return PAGE_EXECUTE | Guard;
    case MM_EXECUTE_READ: return PAGE_EXECUTE_READ | Guard;
    case MM_EXECUTE_READWRITE: return PAGE_EXECUTE_READWRITE | Guard;
    default: return 0;
    }
}

/* x86 has no execute-only pages: MM_EXECUTE is readable once valid. */
ULONG64 MiMakeUserPteBits(ULONG MmProtection)
{
    ULONG64 Bits = MM_PTE_VALID | MM_PTE_OWNER |
                   ((ULONG64)(MmProtection & 0x1F) << MM_VALID_PROTECT_SHIFT);
    switch (MmProtection) {
    case MM_READONLY: return Bits | MM_PTE_NO_EXECUTE;
    case MM_READWRITE: return Bits | MM_PTE_WRITE | MM_PTE_NO_EXECUTE;
    case MM_EXECUTE:
    case MM_EXECUTE_READ: return Bits;
    case MM_EXECUTE_READWRITE: return Bits | MM_PTE_WRITE;
    default: return 0; /* not accessible: no valid PTE */
    }
}

static BOOLEAN MiIsAccessible(ULONG MmProtection)
{
    return MiMakeUserPteBits(MmProtection) != 0;
}

/* Walk up from an emptied page table, freeing every table that has no
 * entry left (user half only; the PML4 itself stays). */
static void MiFreeEmptyTables(PMMADDRESS_SPACE AddressSpace, PVOID Va)
{
    PMMPTE Parents[3] = {MiGetPdeAddress(Va), MiGetPpeAddress(Va), MiGetPxeAddress(Va)};
    for (ULONG Level = 0; Level < 3; Level++) {
        PMMPTE Parent = Parents[Level];
        PFN_NUMBER TablePfn = Parent->u.Hard.PageFrameNumber;
        if (MI_PFN_ELEMENT(TablePfn)->UsedPageTableEntries != 0)
            return;
        /* The table is empty: unhook it, flush its self-map view, free it. */
        PVOID TableView = MiGetVirtualAddressMappedByPte(Parent);
        Parent->u.Long = 0;
        KeFlushSingleTb(TableView);
        KeFlushSingleTb(Va);
        MiIncrementTableUse(Parent, -1);
        MiInsertPageInFreeList(TablePfn);
        if (AddressSpace)
            AddressSpace->PageTablePages--;
    }
}

static BOOLEAN MiUserPageTablesPresent(PVOID Va)
{
    return MiGetPxeAddress(Va)->u.Hard.Valid && MiGetPpeAddress(Va)->u.Hard.Valid &&
           MiGetPdeAddress(Va)->u.Hard.Valid;
}

NTSTATUS MiCommitUserPage(PMMADDRESS_SPACE AddressSpace, PVOID Va, ULONG MmProtection)
{
    ASSERT(MiIsUserAddress(Va) && AddressSpace == MmCurrentAddressSpace);
    ASSERT(MmProtection != 0 && MmProtection != MM_INVALID_PROTECTION);
    NTSTATUS Status = MiEnsurePageTables(Va);
    if (!NT_SUCCESS(Status))
        return Status;
    PMMPTE Pte = MiGetPteAddress(Va);
    if (Pte->u.Long != 0)
        return STATUS_ALREADY_COMMITTED;
    /* A demand-zero PTE: not valid, the protection in bits 5-9. The first
     * touch faults and mm/fault.c gives it a zeroed frame. */
    Pte->u.Long = (ULONG64)MmProtection << MM_PROTECT_SHIFT;
    MiIncrementTableUse(Pte, 1);
    return STATUS_SUCCESS;
}

void MiDecommitUserPage(PMMADDRESS_SPACE AddressSpace, PVOID Va)
{
    ASSERT(MiIsUserAddress(Va) && AddressSpace == MmCurrentAddressSpace);
    if (!MiUserPageTablesPresent(Va))
        return;
    PMMPTE Pte = MiGetPteAddress(Va);
    /* Read, clear and free in one step under the PFN lock: a transition
     * PTE's standby frame may otherwise be reused (mm/pfn.c rewrites the
     * PTE) between the read and the free. */
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    MMPTE Old = *Pte;
    if (Old.u.Long == 0) {
        KeLowerIrql(OldIrql);
        return;
    }
    Pte->u.Long = 0;
    KeFlushSingleTb(Va);
    if (Old.u.Hard.Valid || Old.u.Soft.Transition) {
        MiInsertPageInFreeList(Old.u.Hard.PageFrameNumber);
        AddressSpace->ResidentPages--;
    } else if (MiPteState(Old) == MiPtePageFile) {
        MiReleasePageFileSlot(Old.u.Soft.PageFileHigh);
        AddressSpace->PageFilePages--;
    }
    KeLowerIrql(OldIrql);
    MiIncrementTableUse(Pte, -1);
    MiFreeEmptyTables(AddressSpace, Va);
}

BOOLEAN MiQueryUserPage(PVOID Va, PULONG MmProtection)
{
    if (!MiUserPageTablesPresent(Va))
        return FALSE;
    MMPTE Pte = *MiGetPteAddress(Va);
    if (Pte.u.Long == 0)
        return FALSE;
    *MmProtection = MiGetSoftwareProtection(Pte);
    return TRUE;
}

/* A trimmed page (transition PTE, frame on the standby or modified list)
 * keeps its frame where it is and takes the new protection in its PTE and
 * in the PTE contents a reuse of the frame would restore. PFN lock held. */
static BOOLEAN MiSetTrimmedPageProtection(PMMPTE Pte, MMPTE Old, ULONG MmProtection)
{
    if (!Old.u.Soft.Transition)
        return FALSE;
    PMMPFN Entry = MI_PFN_ELEMENT(Old.u.Trans.PageFrameNumber);
    if (Entry->PageLocation == ActiveAndValid)
        return FALSE;
    Pte->u.Long = (Old.u.Long & ~MM_PROTECT_MASK) | ((ULONG64)MmProtection << MM_PROTECT_SHIFT);
    Entry->OriginalPte.u.Soft.Protection = MmProtection;
    return TRUE;
}

ULONG MiSetUserPageProtection(PVOID Va, ULONG MmProtection)
{
    PMMPTE Pte = MiGetPteAddress(Va);
    /* Under the PFN lock: a trim or a standby reuse rewrites PTEs too. */
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    MMPTE Old = *Pte;
    ULONG OldProtection = MiGetSoftwareProtection(Old);
    ASSERT(Old.u.Long != 0);
    BOOLEAN HasFrame = Old.u.Hard.Valid || Old.u.Soft.Transition;

    if (MiSetTrimmedPageProtection(Pte, Old, MmProtection)) {
        /* nothing valid: nothing to flush but the common flush below */
    } else if (!HasFrame) {
        /* Demand-zero, or in the pagefile: the slot stays. */
        Pte->u.Long = (Old.u.Long & ~MM_PROTECT_MASK) | ((ULONG64)MmProtection << MM_PROTECT_SHIFT);
    } else if (MiIsAccessible(MmProtection)) {
        Pte->u.Long = (Old.u.Long & MM_PTE_FRAME_MASK) | MiMakeUserPteBits(MmProtection) |
                      (Old.u.Long & (MM_PTE_ACCESSED | MM_PTE_DIRTY));
    } else {
        /* No access or guard while resident: keep the frame in a transition
         * PTE; the next permitted touch makes it valid again (mm/fault.c).
         * The D bit goes with the valid PTE: the frame remembers it. */
        Pte->u.Long = (Old.u.Long & MM_PTE_FRAME_MASK) | MM_PTE_TRANSITION |
                      ((ULONG64)MmProtection << MM_PROTECT_SHIFT);
        if (Old.u.Hard.Valid && Old.u.Hard.Dirty && MiIsPfnInDatabase(Old.u.Hard.PageFrameNumber))
            MI_PFN_ELEMENT(Old.u.Hard.PageFrameNumber)->Modified = 1;
    }
    KeFlushSingleTb(Va);
    KeLowerIrql(OldIrql);
    return OldProtection;
}

void MiDeletePagedPoolPage(PVOID Va)
{
    ASSERT(!MiIsUserAddress(Va));
    PMMPTE Pte = MiGetPteAddress(Va);
    /* As MiDecommitUserPage: read, clear and free under the PFN lock, so a
     * standby reuse cannot rewrite the PTE in between. */
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    MMPTE Old = *Pte;
    Pte->u.Long = 0;
    KeFlushSingleTb(Va);
    if (Old.u.Hard.Valid || Old.u.Soft.Transition) {
        MiInsertPageInFreeList(Old.u.Hard.PageFrameNumber);
        MmSystemAddressSpace.ResidentPages--;
    } else if (MiPteState(Old) == MiPtePageFile) {
        MiReleasePageFileSlot(Old.u.Soft.PageFileHigh);
        MmSystemAddressSpace.PageFilePages--;
    }
    KeLowerIrql(OldIrql);
    if (Old.u.Long != 0)
        MiIncrementTableUse(Pte, -1);
}

NTSTATUS MiMakeSystemDemandZeroPte(PVOID Va)
{
    ASSERT(!MiIsUserAddress(Va));
    NTSTATUS Status = MiEnsurePageTables(Va);
    if (!NT_SUCCESS(Status))
        return Status;
    PMMPTE Pte = MiGetPteAddress(Va);
    ASSERT(Pte->u.Long == 0);
    Pte->u.Long = (ULONG64)MM_READWRITE << MM_PROTECT_SHIFT;
    MiIncrementTableUse(Pte, 1);
    return STATUS_SUCCESS;
}

/* One window page at the start of hyperspace; its page table was created
 * at boot (mm/init.c) and is created for every new address space. */
static BOOLEAN MiHyperspaceInUse;

PVOID MiMapPageInHyperspace(PFN_NUMBER Pfn, PKIRQL OldIrql)
{
    PVOID Va = (PVOID)MM_HYPERSPACE_BASE;
    *OldIrql = KeRaiseIrqlToDpcLevel();
    PMMPTE Pte = MiGetPteAddress(Va);
    ASSERT(!MiHyperspaceInUse);
    MiHyperspaceInUse = TRUE;
    Pte->u.Long = (Pfn << PAGE_SHIFT) | MM_PTE_VALID | MM_PTE_WRITE | MM_PTE_NO_EXECUTE;
    KeFlushSingleTb(Va);
    return Va;
}

void MiUnmapPageInHyperspace(PVOID Va, KIRQL OldIrql)
{
    ASSERT(MiHyperspaceInUse && Va == (PVOID)MM_HYPERSPACE_BASE);
    MiGetPteAddress(Va)->u.Long = 0;
    KeFlushSingleTb(Va);
    MiHyperspaceInUse = FALSE;
    KeLowerIrql(OldIrql);
}

void MiZeroPhysicalPage(PFN_NUMBER Pfn)
{
    KIRQL OldIrql;
    PVOID Va = MiMapPageInHyperspace(Pfn, &OldIrql);
    memset(Va, 0, PAGE_SIZE);
    MiUnmapPageInHyperspace(Va, OldIrql);
}

static BOOLEAN MiIsCanonical(const void *Va)
{
    LONG64 V = (LONG64)(ULONG_PTR)Va;
    return (V >> 47) == 0 || (V >> 47) == -1;
}

/* Walk the levels for Va; returns the number of levels found present
 * (4 = fully mapped, or fewer when a large page ends the walk early) and
 * the last entry read. */
static ULONG MiWalk(const void *Va, MMPTE *Last, BOOLEAN *Large)
{
    PMMPTE Levels[4] = {MiGetPxeAddress(Va), MiGetPpeAddress(Va), MiGetPdeAddress(Va),
                        MiGetPteAddress(Va)};
    *Large = FALSE;
    Last->u.Long = 0;
    if (!MiIsCanonical(Va))
        return 0;
    for (ULONG Level = 0; Level < 4; Level++) {
        *Last = *Levels[Level];
        if (!Last->u.Hard.Valid)
            return Level;
        if (Level > 0 && Level < 3 && Last->u.Hard.LargePage) {
            *Large = TRUE;
            return 4;
        }
    }
    return 4;
}

BOOLEAN MmIsAddressValid(const void *Va)
{
    MMPTE Last;
    BOOLEAN Large;
    return MiWalk(Va, &Last, &Large) == 4;
}

ULONG64 MmGetPteValue(const void *Va)
{
    MMPTE Last;
    BOOLEAN Large;
    return MiWalk(Va, &Last, &Large) == 4 ? Last.u.Long : 0;
}

ULONG64 MmGetPhysicalAddress(const void *Va)
{
    MMPTE Last;
    BOOLEAN Large;
    if (MiWalk(Va, &Last, &Large) != 4 || Large)
        return 0;
    return (Last.u.Long & MM_PTE_FRAME_MASK) | BYTE_OFFSET(Va);
}

/* The walk proper, in the current address space: the PML4 page is always
 * mapped through the self-map, and each lower table is mapped exactly when
 * the entry above it is present, so stopping at the first not-present
 * entry - or at a large page, whose "table" below is data - never faults. */
static void MiWalkCurrentPageTables(const void *Va, PMM_PTE_WALK Walk)
{
#if PAGODA_SOLUTION(2)
    const PMMPTE Entries[4] = {MiGetPxeAddress(Va), MiGetPpeAddress(Va), MiGetPdeAddress(Va),
                               MiGetPteAddress(Va)};
    for (ULONG Level = 0; Level < 4; Level++) {
        MMPTE Entry;
        Entry.u.Long = *(volatile ULONG64 *)&Entries[Level]->u.Long;
        Walk->EntryAddress[Level] = (ULONG64)Entries[Level];
        Walk->Entry[Level] = Entry.u.Long;
        Walk->Levels = Level + 1;
        if (!Entry.u.Hard.Valid)
            break;
        /* PS in a PDPTE (1 GiB) or PDE (2 MiB) ends the walk (SDM 5.5.4). */
        if ((Level == 1 || Level == 2) && Entry.u.Hard.LargePage)
            break;
    }
#else
    /* Lab 2: fill Walk with the entries that translate Va, PML4E first,
     * reading each through the self-map (MiGetPxeAddress ... MiGetPteAddress
     * in mm/mi.h): its self-map address in EntryAddress[], its value in
     * Entry[], the count in Levels; stop after a not-present entry or a
     * large page. Until then every walk reports no level at all. */
    UNREFERENCED_PARAMETER(Va);
    Walk->Levels = 0;
#endif /* PAGODA_SOLUTION(2) */
}

/* The VM mutex keeps the user half's tables from being created or freed
 * under the walk. System-half tables below the PML4 are never freed, so
 * every read stays mapped; one that another thread is creating at that
 * moment may show entries not yet cleared: the walk is a snapshot for the
 * shell, never the basis of a decision. */
NTSTATUS MmWalkPageTables(PMMADDRESS_SPACE AddressSpace, ULONG64 Va, PMM_PTE_WALK Walk)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    if (!MiIsCanonical((PVOID)Va))
        return STATUS_INVALID_PARAMETER;
    memset(Walk, 0, sizeof(*Walk));
    PMMADDRESS_SPACE Previous = MiEnterAddressSpace(AddressSpace);
    MiWalkCurrentPageTables((PVOID)Va, Walk);
    /* Where the leaf's frame is: active, or for a trimmed page, which list. */
    Walk->PageLocation = MM_NO_PAGE_LOCATION;
    if (Walk->Levels == 4) {
        MMPTE Leaf = {.u.Long = Walk->Entry[3]};
        MI_PTE_STATE State = MiPteState(Leaf);
        if ((State == MiPteValid || State == MiPteTransition) &&
            MiIsPfnInDatabase(Leaf.u.Hard.PageFrameNumber))
            Walk->PageLocation = MiGetPageLocation(Leaf.u.Hard.PageFrameNumber);
    }
    MiLeaveAddressSpace(Previous);
    return STATUS_SUCCESS;
}

#if PAGODA_SOLUTION(2)
static void MiPrintEntryFlags(MMPTE Entry)
{
    if (!Entry.u.Hard.Valid) {
        DbgPrint("not present");
        return;
    }
    DbgPrint("pfn %llx %s %s %s%s%s%s%s%s", (ULONG64)Entry.u.Hard.PageFrameNumber,
             Entry.u.Hard.Write ? "RW" : "R-", Entry.u.Hard.NoExecute ? "NX" : "X ",
             Entry.u.Hard.Owner ? "user" : "kernel", Entry.u.Hard.Accessed ? " accessed" : "",
             Entry.u.Hard.Dirty ? " dirty" : "", Entry.u.Hard.Global ? " global" : "",
             Entry.u.Hard.LargePage ? " large" : "",
             Entry.u.Hard.CacheDisable ? " uncached" : "");
}
#else
/* Lab 2: helpers for MmDumpPte, if you want them, go here. */
#endif /* PAGODA_SOLUTION(2) */

/*
 * Print each level for Va as WinDbg's !pte does: where the entry lives (its
 * self-map address), its value, and what it says.
 */
void MmDumpPte(const void *Va)
{
#if PAGODA_SOLUTION(2)
    static const char *const Names[4] = {"PXE", "PPE", "PDE", "PTE"};
    PMMPTE Levels[4] = {MiGetPxeAddress(Va), MiGetPpeAddress(Va), MiGetPdeAddress(Va),
                        MiGetPteAddress(Va)};
    ULONG Index[4] = {MiGetPxeOffset(Va), MiGetPpeOffset(Va), MiGetPdeOffset(Va),
                      MiGetPteOffset(Va)};

    DbgPrint("VA ");
    MiPrintVa((ULONG64)(ULONG_PTR)Va);
    if (!MiIsCanonical(Va)) {
        DbgPrint(": not canonical (bits 63:47 must be all 0 or all 1)\n");
        return;
    }
    DbgPrint("\n");
    for (ULONG Level = 0; Level < 4; Level++) {
        MMPTE Entry = *Levels[Level];
        DbgPrint("  %s[%03x] at ", Names[Level], Index[Level]);
        MiPrintVa((ULONG64)(ULONG_PTR)Levels[Level]);
        DbgPrint(" = %016llx  ", Entry.u.Long);
        MiPrintEntryFlags(Entry);
        DbgPrint("\n");
        if (!Entry.u.Hard.Valid || (Level > 0 && Level < 3 && Entry.u.Hard.LargePage))
            return;
    }
#else
    /* Lab 2: print each level as the solution's format in docs/labs/lab2.md
     * shows (the entry's name and index, its self-map address, its value,
     * its flags), stopping where the walk stops. */
    DbgPrint("MmDumpPte(%p): not written yet (lab 2)\n", Va);
#endif /* PAGODA_SOLUTION(2) */
}
