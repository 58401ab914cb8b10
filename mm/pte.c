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
 * Locking: none yet (single processor, interrupts off during boot); the
 * execution issue adds the PFN lock around the frame allocations.
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

NTSTATUS MiMapPage(PVOID Va, PFN_NUMBER Pfn, ULONG64 Flags)
{
    ULONG64 TableBits = MM_PTE_VALID | MM_PTE_WRITE | (MiIsUserAddress(Va) ? MM_PTE_OWNER : 0);
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
        __invlpg(Table);
        memset(Table, 0, PAGE_SIZE);
        if (MiPfnDatabaseReady) {
            PMMPFN TablePfnEntry = MI_PFN_ELEMENT(TablePfn);
            TablePfnEntry->PteAddress = Entry;
            TablePfnEntry->UsedPageTableEntries = 0;
        }
    }

    PMMPTE Pte = Levels[3];
    ASSERT(!Pte->u.Hard.Valid);
    Pte->u.Long = (Pfn << PAGE_SHIFT) | Flags | MM_PTE_VALID;
    __invlpg(Va);
    MiIncrementTableUse(Pte, 1);
    if (MiPfnDatabaseReady && MiIsPfnInDatabase(Pfn))
        MI_PFN_ELEMENT(Pfn)->PteAddress = Pte;
    return STATUS_SUCCESS;
}

MMPTE MiUnmapPage(PVOID Va)
{
    PMMPTE Pte = MiGetPteAddress(Va);
    MMPTE Old = *Pte;
    ASSERT(MmIsAddressValid(Pte));
    Pte->u.Long = 0;
    __invlpg(Va);
    if (Old.u.Long != 0)
        MiIncrementTableUse(Pte, -1);
    return Old;
}

/* One window page at the start of hyperspace; its page table was created
 * at boot (mm/init.c) and is created for every new address space. */
static BOOLEAN MiHyperspaceInUse;

PVOID MiMapPageInHyperspace(PFN_NUMBER Pfn)
{
    PVOID Va = (PVOID)MM_HYPERSPACE_BASE;
    PMMPTE Pte = MiGetPteAddress(Va);
    ASSERT(!MiHyperspaceInUse);
    MiHyperspaceInUse = TRUE;
    Pte->u.Long = (Pfn << PAGE_SHIFT) | MM_PTE_VALID | MM_PTE_WRITE | MM_PTE_NO_EXECUTE;
    __invlpg(Va);
    return Va;
}

void MiUnmapPageInHyperspace(PVOID Va)
{
    ASSERT(MiHyperspaceInUse && Va == (PVOID)MM_HYPERSPACE_BASE);
    MiGetPteAddress(Va)->u.Long = 0;
    __invlpg(Va);
    MiHyperspaceInUse = FALSE;
}

void MiZeroPhysicalPage(PFN_NUMBER Pfn)
{
    PVOID Va = MiMapPageInHyperspace(Pfn);
    memset(Va, 0, PAGE_SIZE);
    MiUnmapPageInHyperspace(Va);
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

/*
 * Print each level for Va as WinDbg's !pte does: where the entry lives (its
 * self-map address), its value, and what it says.
 */
void MmDumpPte(const void *Va)
{
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
}
