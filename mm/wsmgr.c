/*
 * wsmgr.c - working sets and the working-set manager (docs/paging.md).
 *
 * A working set (MMSUPPORT, mm/mm.h) is the set of an address space's
 * pages that are valid now. Each demand-zero or soft fault on a user page
 * adds the page (mm/fault.c); trimming takes it out again:
 *
 *   valid PTE  --trim-->  transition PTE (same frame, protection kept)
 *     frame: active --> standby list   (clean: D clear, never Modified)
 *                   --> modified list  (dirty: D set, or Modified before)
 *   transition PTE  --touch (soft fault)-->  valid, frame back in the set
 *
 * A standby frame can be reused when the free and zeroed lists are empty
 * (mm/pfn.c): its PTE gets back its demand-zero contents, or the pagefile
 * PTE of its copy. A modified frame cannot be reused until the modified
 * page writer (mm/pagefile.c) has written it to the pagefile and moved it
 * to standby; without a pagefile, modified pages stay on the modified
 * list, resident, until they are faulted back or freed. A page the writer
 * is writing is not trimmed again until the write ends. Pages an MDL holds locked
 * (LockCount != 0) are never trimmed; nor are pages whose PTE is not
 * valid (PAGE_NOACCESS or PAGE_GUARD set while resident).
 *
 * Paged pool is the system working set, MmSystemAddressSpace.Vm (NT's
 * MmSystemCacheWs): its pages join it on their demand-zero fault and are
 * aged, trimmed and soft-faulted back the same way (mm/fault.c). It is on
 * the manager's list like any address space; attaching to the system
 * address space is enough to reach paged pool's PTEs (they are in the
 * shared system half, visible from every address space).
 *
 * Aging: each pass of the manager looks at every page of every working
 * set. A page whose PTE has the Accessed bit set was used since the last
 * pass: the bit is cleared (and the TLB entry flushed, so the CPU sets it
 * again on the next use) and the age goes back to 0; otherwise the age
 * grows. When available pages (free + zeroed + standby) are below
 * MmMinimumAvailablePages, pages at least MI_TRIM_AGE passes old are
 * trimmed, as long as the set stays above its minimum; a set above its
 * maximum loses its aged pages whatever the memory. With a pagefile, when
 * that is not enough, younger pages go, and then pages below the minimum
 * (MiWorkingSetManagerPass).
 *
 * The manager is a system thread (MmWorkingSetManager, started by
 * ps/psmgr.c, running at priority 16 as NT's) that wakes every
 * MI_WS_MANAGER_PERIOD or when mm/pfn.c sees available pages fall below
 * the threshold (MiWakeWorkingSetManager).
 *
 * Locking and IRQL: every address space that has a user half is on
 * MmWorkingSetExpansionHead, under the PFN lock. A pass holds the PFN
 * lock (DISPATCH_LEVEL; one processor) for one address space at a time:
 * it attaches to it, reads and rewrites the PTEs of its working-set pages
 * through the self-map, and detaches. Faults resolve PTEs at
 * DISPATCH_LEVEL too, so neither sees the other half done. An address
 * space leaves the list (MiDeleteWorkingSet) before its user half is torn
 * down, so a pass never touches one being deleted.
 */
#include "mi.h"

/* Passes without an access before a page may be trimmed for low memory. */
#define MI_TRIM_AGE 2
#define MI_MAXIMUM_AGE 7
/* One second, relative, in 100 ns units. */
#define MI_WS_MANAGER_PERIOD (-1000LL * 10000)
#define MI_WS_MANAGER_PRIORITY 16
/* NT's defaults for a process: 50 and 345 pages. */
#define MI_DEFAULT_MINIMUM_WS 50
#define MI_DEFAULT_MAXIMUM_WS 345

LIST_ENTRY MmWorkingSetExpansionHead = {&MmWorkingSetExpansionHead, &MmWorkingSetExpansionHead};
PFN_NUMBER MmMinimumAvailablePages;
ULONG64 MmWorkingSetManagerPasses;
ULONG64 MmBelowMinimumTrimPasses; /* passes that trimmed below the minimums */
static KEVENT MiWorkingSetManagerEvent;
static BOOLEAN MiWorkingSetManagerStarted;

/*
 * Flush the translation of Va from the TLB: KeFlushSingleTb invalidates
 * it here and sends a shootdown IPI to every other processor that may
 * hold it (every active one for paged pool, those with the address space
 * loaded for a user page), before the frame is given to anyone else.
 */
static inline void MiFlushSingleTb(PVOID Va)
{
    KeFlushSingleTb(Va);
}

void MiInitializeWorkingSet(PMMADDRESS_SPACE AddressSpace)
{
    PMMSUPPORT Ws = &AddressSpace->Vm; /* WsFlink, WsBlink: MM_EMPTY_LIST already */
    Ws->MinimumWorkingSetSize = MI_DEFAULT_MINIMUM_WS;
    /* The system working set (paged pool) has no maximum: only low
     * memory trims it. */
    Ws->MaximumWorkingSetSize =
        AddressSpace == &MmSystemAddressSpace ? (PFN_NUMBER)-1 : MI_DEFAULT_MAXIMUM_WS;
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    InsertTailList(&MmWorkingSetExpansionHead, &Ws->WorkingSetExpansionLinks);
    KeLowerIrql(OldIrql);
}

void MiDeleteWorkingSet(PMMADDRESS_SPACE AddressSpace)
{
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    RemoveEntryList(&AddressSpace->Vm.WorkingSetExpansionLinks);
    AddressSpace->Vm.DeletePending = TRUE;
    KeLowerIrql(OldIrql);
}

/* Trim one page of the current address space's working set: its PTE
 * becomes a transition PTE, the frame goes to standby or modified. FALSE,
 * nothing changed, for a page that may not leave (locked, not valid, not
 * pageable). PFN lock held. */
static BOOLEAN MiTrimPage(PFN_NUMBER Pfn)
{
#if PAGODA_SOLUTION(11)
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    PMMPTE Pte = Entry->PteAddress;
    /* A page the modified page writer is still writing (faulted back
     * during the write) keeps the write's reference: not now either. */
    if (!Entry->Pageable || Entry->LockCount != 0 || Entry->WriteInProgress || !Pte->u.Hard.Valid)
        return FALSE;
    /* Paged pool is read/write, kept in no PTE bits; a user page keeps
     * its MM_* protection in bits 52-56 of the valid PTE. */
    ULONG Protection = (ULONG_PTR)MiGetVirtualAddressMappedByPte(Pte) >= MM_SYSTEM_RANGE_START
        ? MM_READWRITE
        : MiGetSoftwareProtection(*Pte);
    ULONG64 Transition = (Pte->u.Long & MM_PTE_FRAME_MASK) | MM_PTE_TRANSITION |
        ((ULONG64)Protection << MM_PROTECT_SHIFT);
    /* One exchange reads the Dirty bit and retires the mapping together:
     * on SMP, a write through a stale TLB entry after this would need the
     * shootdown above before the frame changes hands (the frame does not
     * change hands here, only lists). */
    MMPTE Old;
    Old.u.Long = __atomic_exchange_n(&Pte->u.Long, Transition, __ATOMIC_SEQ_CST);
    MiFlushSingleTb(MiGetVirtualAddressMappedByPte(Pte));
    Entry->OriginalPte.u.Soft.Protection = Protection;
    MiTrimPageToList(Pfn, (BOOLEAN)Old.u.Hard.Dirty);
    return TRUE;
#else
    /* Lab 11: trim the page Pfn maps (docs/labs/lab11.md). Leave it, and
     * return FALSE, when it may not leave: not pageable, locked by an
     * MDL, being written by the modified page writer, or its PTE not
     * valid. Else make the PTE a transition PTE that keeps the frame and
     * the page's protection (paged pool: MM_READWRITE; a user page: the
     * MM_* value kept in its valid PTE, MiGetSoftwareProtection), reading
     * the old PTE's Dirty bit in the same atomic exchange; flush the TLB
     * entry; record the protection in the frame's OriginalPte; and hand
     * the frame to MiTrimPageToList with what the Dirty bit said. */
    UNREFERENCED_PARAMETER(Pfn);
    return FALSE;
#endif /* PAGODA_SOLUTION(11) */
}

/* One aging step for a page: TRUE when it is at least MinimumAge passes
 * old (so a trim candidate). PFN lock held. */
static BOOLEAN MiAgePage(PMMPFN Entry, ULONG MinimumAge)
{
#if PAGODA_SOLUTION(11)
    PMMPTE Pte = Entry->PteAddress;
    if (Pte->u.Hard.Valid && Pte->u.Hard.Accessed) {
        __atomic_and_fetch(&Pte->u.Long, ~MM_PTE_ACCESSED, __ATOMIC_SEQ_CST);
        MiFlushSingleTb(MiGetVirtualAddressMappedByPte(Pte));
        Entry->WsAge = 0;
    } else if (Entry->WsAge < MI_MAXIMUM_AGE) {
        Entry->WsAge++;
    }
    return Entry->WsAge >= MinimumAge;
#else
    /* Lab 11: one aging step. A page whose PTE is valid with the Accessed
     * bit set was used since the last pass: clear the bit (and flush the
     * TLB entry, or the processor will not set it again) and make the
     * page young (WsAge 0); any other page grows one pass older, up to
     * MI_MAXIMUM_AGE. TRUE when the page is at least MinimumAge old. */
    UNREFERENCED_PARAMETER(Entry);
    UNREFERENCED_PARAMETER(MinimumAge);
    return FALSE;
#endif /* PAGODA_SOLUTION(11) */
}

/*
 * Walk the working set of the current address space, oldest page first:
 * age every page when Age, and trim pages old enough (MinimumAge; 0 takes
 * every page) while the set is larger than KeepPages, Budget pages at
 * most. Returns the pages trimmed. PFN lock held, attached to the address
 * space.
 */
static PFN_NUMBER MiTrimWorkingSet(PMMSUPPORT Ws, BOOLEAN Age, ULONG MinimumAge,
                                   PFN_NUMBER KeepPages, PFN_NUMBER Budget)
{
    PFN_NUMBER Trimmed = 0;
    PFN_NUMBER Pfn = Ws->WsFlink;
    while (Pfn != MM_EMPTY_LIST && (Age || Trimmed < Budget)) {
        PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
        PFN_NUMBER Next = Entry->Flink; /* the trim unlinks the page */
        BOOLEAN Old = Age ? MiAgePage(Entry, MinimumAge) : Entry->WsAge >= MinimumAge;
        if (Old && Ws->WorkingSetSize > KeepPages && Trimmed < Budget && MiTrimPage(Pfn))
            Trimmed++;
        Pfn = Next;
    }
    return Trimmed;
}

PFN_NUMBER MmEmptyWorkingSet(PMMADDRESS_SPACE AddressSpace)
{
    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    PFN_NUMBER Trimmed = 0;
    if (!AddressSpace->Vm.DeletePending) {
        PMMADDRESS_SPACE Previous = MmAttachAddressSpace(AddressSpace);
        Trimmed = MiTrimWorkingSet(&AddressSpace->Vm, FALSE, 0, 0, (PFN_NUMBER)-1);
        MmAttachAddressSpace(Previous);
    }
    KeLowerIrql(OldIrql);
    return Trimmed;
}

/* See mm/mm.h. The system working set needs no attach: its PTEs are in
 * the shared system half. */
PFN_NUMBER MmTrimAllSystemPageableMemory(void)
{
    KIRQL OldIrql;
    KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
    PFN_NUMBER Trimmed = MiTrimWorkingSet(&MmSystemAddressSpace.Vm, FALSE, 0, 0, (PFN_NUMBER)-1);
    KeLowerIrql(OldIrql);
    return Trimmed;
}

/* How far a pass may trim each working set. */
typedef enum _MI_TRIM_DEPTH {
    MiTrimToMaximum, /* memory is not low: only sets above their maximum */
    MiTrimToMinimum, /* low: down to each set's minimum */
    MiTrimBelowMinimum, /* still low after that: down to nothing (NT does too) */
} MI_TRIM_DEPTH;

/* Trim every working set once (MiTrimWorkingSet's arguments, Budget
 * shared by all); the pages trimmed. PFN lock held. */
static PFN_NUMBER MiTrimAllWorkingSets(BOOLEAN Age, ULONG MinimumAge, MI_TRIM_DEPTH Depth,
                                       PFN_NUMBER Budget)
{
    PFN_NUMBER Trimmed = 0;
    for (PLIST_ENTRY Link = MmWorkingSetExpansionHead.Flink; Link != &MmWorkingSetExpansionHead;
         Link = Link->Flink) {
        PMMSUPPORT Ws = CONTAINING_RECORD(Link, MMSUPPORT, WorkingSetExpansionLinks);
        PMMADDRESS_SPACE Space = CONTAINING_RECORD(Ws, MMADDRESS_SPACE, Vm);
        PFN_NUMBER Keep = Depth == MiTrimToMaximum ? Ws->MaximumWorkingSetSize
            : Depth == MiTrimToMinimum             ? Ws->MinimumWorkingSetSize
                                                   : 0;
        PMMADDRESS_SPACE Previous = MmAttachAddressSpace(Space);
        Trimmed += MiTrimWorkingSet(Ws, Age, MinimumAge, Keep, Budget - Trimmed);
        MmAttachAddressSpace(Previous);
    }
    return Trimmed;
}

/* One pass over every working set: age (when Age: the periodic passes
 * only, so that a burst of wake-ups does not age pages faster), and trim
 * what memory pressure or a set's maximum asks for. With a pagefile, when
 * memory is low and the aged pages were not enough, younger pages go too
 * (oldest first, down to each set's minimum) until twice
 * MmMinimumAvailablePages would be available: a burst of allocations
 * has no time to age pages, and the modified page writer can now turn
 * any trimmed page into a free frame. If the minimums still hold too much
 * (a hundred small processes each under its 50 pages, and the kernel's
 * pinned frames filling the rest), the sets are trimmed below their
 * minimum, as NT trims when memory is short: a minimum is what a process
 * keeps when memory allows, not a pin, and a committed page's fault must
 * find a frame in the end (mm/pfn.c, resident available pages). Returns
 * the pages trimmed. PASSIVE_LEVEL. */
PFN_NUMBER MiWorkingSetManagerPass(BOOLEAN Age)
{
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    PFN_NUMBER Available = MmAvailablePages();
    BOOLEAN Low = Available < MmMinimumAvailablePages;
    PFN_NUMBER Trimmed = MiTrimAllWorkingSets(
        Age, MI_TRIM_AGE, Low ? MiTrimToMinimum : MiTrimToMaximum, (PFN_NUMBER)-1);
    PFN_NUMBER Wanted = 2 * MmMinimumAvailablePages - Available;
    if (Low && MmPagingFileActive() && Trimmed < Wanted)
        Trimmed += MiTrimAllWorkingSets(FALSE, 0, MiTrimToMinimum, Wanted - Trimmed);
    if (Low && MmPagingFileActive() && Trimmed < Wanted) {
        Trimmed += MiTrimAllWorkingSets(FALSE, 0, MiTrimBelowMinimum, Wanted - Trimmed);
        MmBelowMinimumTrimPasses++;
    }
    MmWorkingSetManagerPasses++;
    KeLowerIrql(OldIrql);
    if (Trimmed != 0 && Low)
        MiWakeModifiedPageWriter();
    return Trimmed;
}

void MiWakeWorkingSetManager(void)
{
    if (MiWorkingSetManagerStarted)
        KeSetEvent(&MiWorkingSetManagerEvent, 0, FALSE);
}

void MmWorkingSetManager(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    LARGE_INTEGER Period;
    Period.QuadPart = MI_WS_MANAGER_PERIOD;
    KeInitializeEvent(&MiWorkingSetManagerEvent, SynchronizationEvent, FALSE);
    /* Below this many available pages the manager trims: 1/64 of RAM,
     * at least 64 pages (NT's MmMinimumFreePages plays this part), the
     * same number as the floor of resident available pages (mm/pfn.c). */
    MmMinimumAvailablePages = MiMinimumResidentAvailablePages();
    MiWorkingSetManagerStarted = TRUE;
    /* NT runs it at 16, above every normal thread. ps/psmgr.c starts it at
     * 8: a thread readied above the boot thread's 8 runs at once, before
     * the boot has enabled interrupts, and that crashed (docs/paging.md,
     * NOTE); by its first run here the boot is past that point. */
    KeSetPriorityThread(KeGetCurrentThread(), MI_WS_MANAGER_PRIORITY);
    for (;;) {
        NTSTATUS Status =
            KeWaitForSingleObject(&MiWorkingSetManagerEvent, Executive, KernelMode, FALSE, &Period);
        (void)MiWorkingSetManagerPass(Status == STATUS_TIMEOUT);
    }
}
