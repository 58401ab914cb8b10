/*
 * pfn.c - the PFN database and the page lists.
 *
 * One MMPFN per physical frame of RAM, in an array at MM_PFN_DATABASE
 * indexed by page frame number (physical address >> 12). A frame is always
 * in exactly one state (MMPFN.PageLocation):
 *
 *   ZeroedPageList   free, known to contain zeros (the zero-page thread,
 *                    mm/zeropage.c, moves frames here from the free list)
 *   FreePageList     free, contents unknown
 *   StandbyPageList  trimmed from a working set, clean: its PTE is a
 *                    transition PTE; reusable (MiRemoveStandbyPage)
 *   ModifiedPageList trimmed, dirty: stays until the modified page writer
 *                    (mm/pagefile.c) writes it to the pagefile, then goes
 *                    to standby; without a pagefile, until it is faulted
 *                    back or freed
 *   TransitionPage   in paging I/O, on no list: WriteInProgress (the
 *                    writer writes it) or ReadInProgress (a hard fault
 *                    reads it); MiEndPagingIo ends that
 *   ModifiedNoWritePageList, BadPageList: lists kept, nothing puts a frame
 *                    there yet
 *   ActiveAndValid   in use: mapped by a PTE (PteAddress) or held by the kernel
 *                    or, after its owner let it go, only by MDL locks
 *
 * The lists are doubly linked through Flink/Blink frame numbers; an
 * active page in a working set uses the same links for that working set
 * (mm/wsmgr.c). MiRemoveZeroPage prefers the zeroed list and otherwise
 * zeroes a free frame through hyperspace; MiRemoveAnyPage prefers the free
 * list; both reuse a standby page when free and zeroed are empty, writing
 * its saved PTE contents (demand-zero, or the pagefile PTE of its copy)
 * back first (docs/paging.md).
 *
 * The commit charge lives here too (below): how many user pages and
 * paged-pool pages are committed, and the limit that keeps each of them
 * able to get a frame. The free lists refuse a frame to anything but a
 * charged page when taking it would break a promise made to a committed
 * page, and a frame for a resident use (kernel stack, page table,
 * nonpaged pool, driver) when it would take resident available pages to
 * their floor (below).
 *
 * The reference count (MMPFN.ReferenceCount) is NT's: 1 for the owner
 * (the PTE that maps the frame, the pool, the stack), plus one for each
 * MDL lock on it (mm/mdl.c; LockCount counts those). Only when it drops to
 * 0 does the frame go to a list - the free list when freed, standby or
 * modified when trimmed; an owner that frees a locked frame only drops its
 * own reference (MiInsertPageInFreeList), and the last MiUnlockPageFrame
 * frees it. A locked page is never trimmed.
 *
 * Locking: the PFN lock, which on this single processor is raising to
 * DISPATCH_LEVEL (MI_LOCK_PFN below), is held around every list operation
 * and every change of a frame's list, usage or reference count; the usage
 * counts, the zeroing counters and every working set's page list and
 * counts (MMSUPPORT) are under it too. A frame off the lists
 * belongs to whoever took it: PteAddress, OriginalPte, Pageable and
 * UsedPageTableEntries are its to write without the lock (mm/mi.h says so
 * field by field). During boot (MiInitializePfnDatabase,
 * MiChangePageUsage) interrupts are off and nothing else runs. Callers
 * must be at DISPATCH_LEVEL or below.
 */
#include "mi.h"

/* The PFN lock: on one processor, raising to DISPATCH_LEVEL keeps every
 * other thread and DPC away from the lists (the page-fault handler takes
 * it around the whole resolution of a PTE). Host unit tests have no IRQL. */
#ifdef PAGODA_HOST
#define MI_LOCK_PFN() 0
#define MI_UNLOCK_PFN(Old) ((void)(Old))
#define MI_ASSERT_PFN_LOCK_ALLOWED() ((void)0)
#else
#define MI_LOCK_PFN() KeRaiseIrqlToDpcLevel()
#define MI_UNLOCK_PFN(Old) KeLowerIrql(Old)
/* The public entry points take the PFN lock: DISPATCH_LEVEL at most. */
#define MI_ASSERT_PFN_LOCK_ALLOWED() ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL)
#endif

MMPFNLIST MmZeroedPageListHead = {0, ZeroedPageList, MM_EMPTY_LIST, MM_EMPTY_LIST};
MMPFNLIST MmFreePageListHead = {0, FreePageList, MM_EMPTY_LIST, MM_EMPTY_LIST};
MMPFNLIST MmStandbyPageListHead = {0, StandbyPageList, MM_EMPTY_LIST, MM_EMPTY_LIST};
MMPFNLIST MmModifiedPageListHead = {0, ModifiedPageList, MM_EMPTY_LIST, MM_EMPTY_LIST};
MMPFNLIST MmModifiedNoWritePageListHead = {0, ModifiedNoWritePageList, MM_EMPTY_LIST,
                                           MM_EMPTY_LIST};
MMPFNLIST MmBadPageListHead = {0, BadPageList, MM_EMPTY_LIST, MM_EMPTY_LIST};
ULONG64 MmStandbyPagesReused, MmTrimmedPages;

/* MMLISTS order (NT's MmPageLocationList). */
static PMMPFNLIST const MiPageLocationList[] = {
    &MmZeroedPageListHead,          &MmFreePageListHead,
    &MmStandbyPageListHead,         &MmModifiedPageListHead,
    &MmModifiedNoWritePageListHead, &MmBadPageListHead,
};
BOOLEAN MiPfnDatabaseReady;
PFN_NUMBER MmHighestPhysicalPage;
static PFN_NUMBER MiUsageCount[MiUsageMaximum];
PMMPFN MmPfnDatabase = (PMMPFN)MM_PFN_DATABASE;

BOOLEAN MiIsPfnInDatabase(PFN_NUMBER Pfn)
{
    for (ULONG i = 0; i < MmPhysicalMemoryBlock.NumberOfRuns; i++) {
        const PHYSICAL_MEMORY_RUN *Run = &MmPhysicalMemoryBlock.Run[i];
        if (Pfn >= Run->BasePage && Pfn < Run->BasePage + Run->PageCount)
            return TRUE;
    }
    return FALSE;
}

static PMMPFNLIST MiListHead(MMLISTS List)
{
    if ((ULONG)List > BadPageList)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x9B, List, 0, 0);
    return MiPageLocationList[List];
}

/* At the tail: the standby and modified lists are FIFO (the page trimmed
 * longest ago is reused or written first). */
static void MiInsertPageInListTail(PMMPFNLIST List, PFN_NUMBER Pfn)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    Entry->Flink = MM_EMPTY_LIST;
    Entry->Blink = List->Blink;
    if (List->Blink != MM_EMPTY_LIST)
        MI_PFN_ELEMENT(List->Blink)->Flink = Pfn;
    else
        List->Flink = Pfn;
    List->Blink = Pfn;
    List->Total++;
    Entry->PageLocation = (UCHAR)List->ListName;
    if (List == &MmStandbyPageListHead) { /* a frame to reuse: MiWaitForAvailablePages */
        MiAvailablePagesGeneration++;
        if (MiAvailablePagesWaiters != 0)
            MiSignalAvailablePages();
    }
}

static void MiInsertPageInList(PMMPFNLIST List, PFN_NUMBER Pfn)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    Entry->Flink = List->Flink;
    Entry->Blink = MM_EMPTY_LIST;
    if (List->Flink != MM_EMPTY_LIST)
        MI_PFN_ELEMENT(List->Flink)->Blink = Pfn;
    else
        List->Blink = Pfn;
    List->Flink = Pfn;
    List->Total++;
    Entry->PageLocation = (UCHAR)List->ListName;
}

static void MiUnlinkPage(PFN_NUMBER Pfn)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    PMMPFNLIST List = MiListHead((MMLISTS)Entry->PageLocation);
    if (Entry->Blink != MM_EMPTY_LIST)
        MI_PFN_ELEMENT(Entry->Blink)->Flink = Entry->Flink;
    else
        List->Flink = Entry->Flink;
    if (Entry->Flink != MM_EMPTY_LIST)
        MI_PFN_ELEMENT(Entry->Flink)->Blink = Entry->Blink;
    else
        List->Blink = Entry->Blink;
    List->Total--;
}

static void MiMarkActive(PFN_NUMBER Pfn, MI_PFN_USAGE Usage)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    Entry->Flink = Entry->Blink = MM_EMPTY_LIST;
    Entry->PageLocation = ActiveAndValid;
    Entry->ReferenceCount = 1;
    Entry->ShareCount = 1;
    Entry->LockCount = 0;
    Entry->Usage = (UCHAR)Usage;
    Entry->Pageable = 0;
    Entry->Modified = 0;
    Entry->ReadInProgress = 0;
    Entry->WriteInProgress = 0;
    Entry->WsAge = 0;
    Entry->WorkingSet = NULL;
    Entry->PteAddress = NULL;
    Entry->PteFrame = 0;
    Entry->OriginalPte.u.Long = 0;
    Entry->UsedPageTableEntries = 0;
    MiUsageCount[Usage]++;
}

/* ------------------------------------------------------------------------
 * The commit charge.
 *
 * A committed user page is a promise: its first touch will find a frame
 * (mm/fault.c), and the page a place to live. That place is RAM or the
 * pagefile, so the memory manager keeps count of the promises and refuses
 * to make more than RAM and the pagefile can keep, as NT does:
 *
 *   MmTotalCommittedPages  committed pages of every user half, resident or
 *                          not (the sum of the CommittedPages of all
 *                          address spaces; mm/virtual.c charges it), and
 *                          paged pool's pages (mm/pool.c charges them when
 *                          the pool grows: MmPagedPoolCommittedPages);
 *   unbacked commitment    committed pages with no frame yet:
 *                          MmTotalCommittedPages - frames in MiUsageUser
 *                          and MiUsagePagedPool (MiChargedFrames);
 *   commit limit           frames that charged pages hold or could hold:
 *                          charged frames + available frames - a reserve,
 *                          + the pagefile's slots (MiPageFileCommitPages).
 *
 * Two rules keep every promise:
 *   1. A charge that would pass the limit is refused
 *      (STATUS_COMMITMENT_LIMIT): afterwards the available frames cover
 *      the unbacked commitment plus the reserve.
 *   2. A frame for anything but a charged page (a page table, nonpaged
 *      pool, a kernel stack, a driver) is refused while the available frames are no more
 *      than the unbacked commitment: the kernel may use the reserve and
 *      whatever is not promised, never a promised frame. With a pagefile,
 *      the pagefile's slots count against the unbacked commitment: those
 *      promises are kept by paging other pages out.
 * So without a pagefile a demand-zero fault on a committed page always
 * finds a frame at once; with one, it may have to wait for the modified
 * page writer to make a frame free (MiWaitForAvailablePages). The page
 * tables a committed page needs are made when it is committed (its PTE is
 * written then), so the fault needs exactly one frame.
 *
 * The reserve (MiCommitReserve) is what the kernel keeps for itself before
 * any commit: page tables for new commits, pool, kernel stacks. It is
 * RAM / 16, at least MI_MIN_COMMIT_RESERVE pages. The limit moves as the
 * kernel's own use of frames moves. NOTE: a user frame whose page was freed while an MDL held it locked
 * (MiInsertPageInFreeList) still counts as MiUsageUser until the unlock.
 * For that while the limit counts it as usable and the unbacked
 * commitment comes out one lower per such frame, so rule 2 may let the
 * kernel take that many promised frames. The window is as long as the
 * driver's I/O; a lock never given back ends in bugcheck 0x76 when its
 * process goes (mm/procsup.c).
 * All of it is under the PFN lock.
 * ------------------------------------------------------------------------ */
#define MI_MIN_COMMIT_RESERVE 256    /* 1 MiB */

static PFN_NUMBER MmTotalCommittedPages;
static PFN_NUMBER MmPagedPoolCommittedPages; /* its paged-pool part (mm/pool.c) */

/* Free + zeroed: the frames that back a new promise. Standby frames hold
 * trimmed user pages (counted in MiUsageUser): reusing one for another
 * page leaves its own page unbacked, so they back nothing new - which is
 * why MmAvailablePages (zeroed + free + standby) is not used here. */
static inline PFN_NUMBER MiAvailablePagesLocked(void)
{
    return MmFreePageListHead.Total + MmZeroedPageListHead.Total;
}

static PFN_NUMBER MiCommitReserve(void)
{
    PFN_NUMBER Reserve = MmPhysicalMemoryBlock.NumberOfPages / 16;
    return Reserve < MI_MIN_COMMIT_RESERVE ? MI_MIN_COMMIT_RESERVE : Reserve;
}

/* The pagefile's share of the commit limit: its usable slots. */
static PFN_NUMBER MiPageFileCommitPages(void)
{
    return MmPagingFile[0] != NULL ? MmPagingFile[0]->Size - 1 : 0;
}

/* Frames of the pageable kinds, which the commit charge covers: user
 * pages and paged pool. */
static inline PFN_NUMBER MiChargedFrames(void)
{
    return MiUsageCount[MiUsageUser] + MiUsageCount[MiUsagePagedPool];
}

static PFN_NUMBER MiUnbackedCommitment(void)
{
    PFN_NUMBER Backed = MiChargedFrames() + MiPageFileCommitPages();
    return MmTotalCommittedPages > Backed ? MmTotalCommittedPages - Backed : 0;
}

static PFN_NUMBER MiCommitLimit(void)
{
    PFN_NUMBER Usable = MiChargedFrames() + MiAvailablePagesLocked();
    PFN_NUMBER Reserve = MiCommitReserve();
    return (Usable > Reserve ? Usable - Reserve : 0) + MiPageFileCommitPages();
}

/* Pages more, or STATUS_COMMITMENT_LIMIT; PagedPool: the charge is paged
 * pool's (MmPagedPoolCommittedPages, its part of the total). */
static NTSTATUS MiCharge(PFN_NUMBER Pages, BOOLEAN PagedPool)
{
    MI_ASSERT_PFN_LOCK_ALLOWED();
    KIRQL OldIrql = MI_LOCK_PFN();
    PFN_NUMBER Limit = MiCommitLimit();
    NTSTATUS Status = STATUS_COMMITMENT_LIMIT;
    if (Pages <= Limit && MmTotalCommittedPages <= Limit - Pages) {
        MmTotalCommittedPages += Pages;
        if (PagedPool)
            MmPagedPoolCommittedPages += Pages;
        Status = STATUS_SUCCESS;
    }
    MI_UNLOCK_PFN(OldIrql);
    return Status;
}

static void MiReturn(PFN_NUMBER Pages, BOOLEAN PagedPool)
{
    MI_ASSERT_PFN_LOCK_ALLOWED();
    KIRQL OldIrql = MI_LOCK_PFN();
    ASSERT(MmTotalCommittedPages >= Pages);
    MmTotalCommittedPages -= Pages;
    if (PagedPool) {
        ASSERT(MmPagedPoolCommittedPages >= Pages);
        MmPagedPoolCommittedPages -= Pages;
    }
    MI_UNLOCK_PFN(OldIrql);
}

NTSTATUS MiChargeCommitment(PFN_NUMBER Pages)
{
    return MiCharge(Pages, FALSE);
}

void MiReturnCommitment(PFN_NUMBER Pages)
{
    MiReturn(Pages, FALSE);
}

NTSTATUS MiChargePagedPoolCommitment(PFN_NUMBER Pages)
{
    return MiCharge(Pages, TRUE);
}

void MiReturnPagedPoolCommitment(PFN_NUMBER Pages)
{
    MiReturn(Pages, TRUE);
}

/* Write a standby page's saved PTE contents (demand-zero with its
 * protection, or the pagefile PTE of its copy) back into the transition PTE that
 * still names the frame. The PTE may be in any address space: it is
 * reached through its page-table frame in this space's hyperspace. No TLB
 * flush: a transition PTE is not present, so no translation of it is
 * cached anywhere. PFN lock held. */
static void MiRestoreOriginalPte(PFN_NUMBER Pfn)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    KIRQL HyperIrql;
    PMMPTE Table = MiMapPageInHyperspace(Entry->PteFrame, &HyperIrql);
    PMMPTE Pte = &Table[BYTE_OFFSET(Entry->PteAddress) / sizeof(MMPTE)];
    if (MiPteState(*Pte) != MiPteTransition || Pte->u.Trans.PageFrameNumber != Pfn)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x9C, Pfn, Pte->u.Long, (ULONG_PTR)Entry->PteAddress);
    Pte->u.Long = Entry->OriginalPte.u.Long;
    MiUnmapPageInHyperspace(Table, HyperIrql);
}

/*
 * Free and zeroed are both empty: reuse the oldest standby page. Its page
 * loses its frame - its PTE gets back what it held before the frame was
 * mapped - which is honest only because a standby page is clean: its
 * contents are where OriginalPte says. Either it was never written since
 * it was zero-filled (OriginalPte demand-zero: the next touch gets zeros)
 * or the pagefile slot of OriginalPte holds them (written by the modified
 * page writer, or read from there and not written since: the next touch is
 * a hard fault). A page that was written goes to the modified list instead.
 * Pages of an address space being deleted are skipped: their PTEs are
 * going away under MiDeleteUserHalf. PFN lock held.
 */
/* Standby frame Pfn leaves its page: the PTE gets OriginalPte back, the
 * frame leaves the list, its owner counts one resident page less (and one
 * page in the pagefile more when OriginalPte is a pagefile PTE). The
 * caller gives the frame a new state. PFN lock. */
static void MiTakeStandbyPage(PFN_NUMBER Pfn)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    if (Entry->PageLocation != StandbyPageList || Entry->Modified || Entry->ReferenceCount != 0)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x9D, Pfn, Entry->PageLocation, Entry->ReferenceCount);
    MiRestoreOriginalPte(Pfn);
    MiUnlinkPage(Pfn);
    PMMADDRESS_SPACE Owner = CONTAINING_RECORD(Entry->WorkingSet, MMADDRESS_SPACE, Vm);
    Owner->ResidentPages--;
    if (Entry->OriginalPte.u.Soft.PageFileHigh != 0)
        Owner->PageFilePages++; /* its PTE owns the slot now */
}

static PFN_NUMBER MiRemoveStandbyPage(MI_PFN_USAGE Usage)
{
    PFN_NUMBER Pfn = MmStandbyPageListHead.Flink;
    while (Pfn != MM_EMPTY_LIST && MI_PFN_ELEMENT(Pfn)->WorkingSet->DeletePending)
        Pfn = MI_PFN_ELEMENT(Pfn)->Flink;
    if (Pfn == MM_EMPTY_LIST)
        return MM_EMPTY_LIST;
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    MiTakeStandbyPage(Pfn);
    MiUsageCount[Entry->Usage]--;
    MmStandbyPagesReused++;
    MiMarkActive(Pfn, Usage);
    return Pfn;
}

static void MiFreeUnreferencedPage(PFN_NUMBER Pfn);

PFN_NUMBER MmPurgeStandbyPages(PMMADDRESS_SPACE AddressSpace)
{
    PFN_NUMBER Purged = 0;
    KIRQL OldIrql = MI_LOCK_PFN();
    PFN_NUMBER Pfn = MmStandbyPageListHead.Flink;
    while (Pfn != MM_EMPTY_LIST) {
        PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
        PFN_NUMBER Next = Entry->Flink;
        if (!Entry->WorkingSet->DeletePending &&
            (AddressSpace == NULL || Entry->WorkingSet == &AddressSpace->Vm)) {
            MiTakeStandbyPage(Pfn);
            MiFreeUnreferencedPage(Pfn);
            Purged++;
        }
        Pfn = Next;
    }
    MI_UNLOCK_PFN(OldIrql);
    return Purged;
}

/* ------------------------------------------------------------------------
 * Resident available pages (NT's MmResidentAvailablePages).
 *
 * The commit limit keeps the promises made to pageable pages; it says
 * nothing about the frames the kernel pins: kernel stacks, page tables,
 * nonpaged pool, drivers' frames, pages an MDL holds locked. None of them
 * is charged to commit, and with a pagefile the limit is far above RAM, so
 * without a second count they could fill RAM while the commit limit still
 * lets processes be made - and a committed page would then find no frame
 * however much the working-set manager trimmed. NT's answer, and
 * Pagoda's: count the frames that are not pinned -
 *
 *   resident available = free + zeroed + frames of pageable kinds (user
 *                        pages, paged pool; resident, standby or modified)
 *                        - pageable frames an MDL holds locked
 *
 * - and refuse a frame for a resident use (MiIsResidentUsage) when it would
 * leave no more than MiMinimumResidentAvailablePages. The charge is taken
 * where every resident frame comes from, MiRemoveHead with its usage, so no
 * caller can forget it (NT charges at each caller: MmCreateKernelStack,
 * nonpaged pool growth, MmProbeAndLockPages...); it is given back when the
 * frame is freed (MiFreeUnreferencedPage) or unlocked. The floor is left to
 * pageable pages: with a pagefile the working-set manager can always make
 * one of them free (trimming below working-set minimums when memory is
 * short, mm/wsmgr.c) and the modified page writer write it out, so a
 * committed page's fault always gets a frame in the end. A refused resident
 * frame is the caller's STATUS_INSUFFICIENT_RESOURCES (a kernel stack, a
 * page table, a pool page: NtCreateUserProcess fails cleanly). MDL locks of
 * pageable pages are counted (MiLockedPageablePages) and refused at the
 * floor like any resident use. PFN lock.
 * ------------------------------------------------------------------------ */
static PFN_NUMBER MiLockedPageablePages;
ULONG64 MiResidentFramesRefused; /* resident frames refused (either rule) */

static inline BOOLEAN MiIsResidentUsage(ULONG Usage)
{
    return Usage != MiUsageUser && Usage != MiUsagePagedPool;
}

PFN_NUMBER MiResidentAvailablePages(void)
{
    return MiAvailablePagesLocked() + MiChargedFrames() - MiLockedPageablePages;
}

/* The floor: 1/64 of RAM, at least 64 pages. The working-set manager
 * takes it as its MmMinimumAvailablePages when it starts; frames are
 * handed out before that, so the floor is computed here, not read from
 * there. */
PFN_NUMBER MiMinimumResidentAvailablePages(void)
{
    PFN_NUMBER Floor = MmPhysicalMemoryBlock.NumberOfPages / 64;
    return Floor < 64 ? 64 : Floor;
}

/* May one more frame be pinned? PFN lock. */
static inline BOOLEAN MiResidentFrameAllowed(void)
{
    return MiResidentAvailablePages() > MiMinimumResidentAvailablePages();
}

/* Rule 2: are the available frames no more than the unbacked commitment?
 * A charged page (user, paged pool: most frames taken) never asks. */
static inline BOOLEAN MiFramesPromised(void)
{
    PFN_NUMBER Available = MiAvailablePagesLocked();
    if (MmPagingFile[0] != NULL)
        Available += MmStandbyPageListHead.Total;
    return Available <= MiUnbackedCommitment();
}

static PFN_NUMBER MiRemoveHead(PMMPFNLIST List, MI_PFN_USAGE Usage)
{
    /* Rule 2 above: only a charged page (user, paged pool) may take a
     * promised frame. With a pagefile a standby frame keeps no promise (its
     * page is in the pagefile, or zeros): it counts as available. And a
     * resident frame must leave the floor of resident available pages. */
    if (MiIsResidentUsage(Usage) && (MiFramesPromised() || !MiResidentFrameAllowed())) {
        MiResidentFramesRefused++;
        return MM_EMPTY_LIST;
    }
    PFN_NUMBER Pfn = List->Flink;
    if (Pfn == MM_EMPTY_LIST) {
        /* NT's order: free, zeroed, then standby. Both callers ask the free
         * list last or first with the zeroed list known empty. */
        if (List == &MmFreePageListHead && MmZeroedPageListHead.Total == 0)
            return MiRemoveStandbyPage(Usage);
        return MM_EMPTY_LIST;
    }
    if (MI_PFN_ELEMENT(Pfn)->PageLocation != List->ListName)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x99, Pfn, MI_PFN_ELEMENT(Pfn)->PageLocation, List->ListName);
    MiUnlinkPage(Pfn);
    MiMarkActive(Pfn, Usage);
    if (MmAvailablePages() < MmMinimumAvailablePages) {
        MiWakeWorkingSetManager();
        MiWakeModifiedPageWriter();
    }
    return Pfn;
}

PFN_NUMBER MiRemoveAnyPage(MI_PFN_USAGE Usage)
{
    KIRQL OldIrql = MI_LOCK_PFN();
    PFN_NUMBER Pfn = MiRemoveHead(&MmFreePageListHead, Usage);
    if (Pfn == MM_EMPTY_LIST)
        Pfn = MiRemoveHead(&MmZeroedPageListHead, Usage);
    MI_UNLOCK_PFN(OldIrql);
    return Pfn;
}

ULONG64 MmZeroedPagesServed, MmPagesZeroedOnDemand;
PFN_NUMBER MiSystemPageTablePages; /* mm/mi.h; counted in mm/pte.c */

PFN_NUMBER MiRemoveZeroPage(MI_PFN_USAGE Usage)
{
#if PAGODA_SOLUTION(3)
    KIRQL OldIrql = MI_LOCK_PFN();
    PFN_NUMBER Pfn = MiRemoveHead(&MmZeroedPageListHead, Usage);
    if (Pfn != MM_EMPTY_LIST) {
        MmZeroedPagesServed++;
    } else {
        Pfn = MiRemoveHead(&MmFreePageListHead, Usage);
        if (Pfn != MM_EMPTY_LIST) {
            MiZeroPhysicalPage(Pfn);
            MmPagesZeroedOnDemand++;
        }
    }
    MI_UNLOCK_PFN(OldIrql);
    return Pfn;
#else
    /* Lab 3: take a frame from the zeroed list when it has one (count it in
     * MmZeroedPagesServed); only when it is empty, take a free frame and
     * zero it here (MmPagesZeroedOnDemand). Until then every frame is
     * zeroed on demand, which works but makes each caller pay for it. */
    KIRQL OldIrql = MI_LOCK_PFN();
    PFN_NUMBER Pfn = MiRemoveHead(&MmFreePageListHead, Usage);
    if (Pfn == MM_EMPTY_LIST)
        Pfn = MiRemoveHead(&MmZeroedPageListHead, Usage);
    if (Pfn != MM_EMPTY_LIST)
        MiZeroPhysicalPage(Pfn);
    MI_UNLOCK_PFN(OldIrql);
    return Pfn;
#endif /* PAGODA_SOLUTION(3) */
}

/*
 * One step of the zero-page thread: move one frame from the free list to
 * the zeroed list, zeroing it on the way. FALSE when the free list is
 * empty. The frame is zeroed with the PFN lock held (the hyperspace window
 * is single), one page at a time so the lock is short.
 */
BOOLEAN MiZeroOneFreePage(void)
{
#if PAGODA_SOLUTION(3)
    KIRQL OldIrql = MI_LOCK_PFN();
    PFN_NUMBER Pfn = MmFreePageListHead.Flink;
    if (Pfn == MM_EMPTY_LIST) {
        MI_UNLOCK_PFN(OldIrql);
        return FALSE;
    }
    MiUnlinkPage(Pfn);
    MiZeroPhysicalPage(Pfn);
    MiInsertPageInList(&MmZeroedPageListHead, Pfn);
    MI_UNLOCK_PFN(OldIrql);
    return TRUE;
#else
    /* Lab 3: move one frame from the free list to the zeroed list, zeroing
     * it on the way (MiZeroPhysicalPage), under the PFN lock; FALSE when
     * the free list is empty. Until then the zero-page thread finds
     * nothing to do. */
    return FALSE;
#endif /* PAGODA_SOLUTION(3) */
}

/* The frame's last reference is gone: onto the free list. PFN lock held. */
static void MiFreeUnreferencedPage(PFN_NUMBER Pfn)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    ASSERT(Entry->Usage < MiUsageMaximum && MiUsageCount[Entry->Usage] > 0);
    MiUsageCount[Entry->Usage]--;
    Entry->Usage = MiUsageFree;
    Entry->ReferenceCount = 0;
    Entry->ShareCount = 0;
    Entry->PteAddress = NULL;
    Entry->Pageable = 0;
    Entry->Modified = 0;
    Entry->WorkingSet = NULL;
    MiInsertPageInList(&MmFreePageListHead, Pfn);
    MiAvailablePagesGeneration++;
    if (MiAvailablePagesWaiters != 0)
        MiSignalAvailablePages(); /* wake MiWaitForAvailablePages */
}

/* ------------------------------------------------------------------------
 * Working sets (the policy is mm/wsmgr.c's; these keep the lists). A
 * working set's pages are linked through MMPFN.Flink/Blink, oldest first,
 * while they are active; trimmed, the same links put them on the standby
 * or modified list. PFN lock held for each.
 * ------------------------------------------------------------------------ */
void MiInsertWorkingSetPage(PMMSUPPORT WorkingSet, PFN_NUMBER Pfn)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    Entry->WorkingSet = WorkingSet;
    Entry->WsAge = 0;
    Entry->Flink = MM_EMPTY_LIST;
    Entry->Blink = WorkingSet->WsBlink;
    if (WorkingSet->WsBlink != MM_EMPTY_LIST)
        MI_PFN_ELEMENT(WorkingSet->WsBlink)->Flink = Pfn;
    else
        WorkingSet->WsFlink = Pfn;
    WorkingSet->WsBlink = Pfn;
    if (++WorkingSet->WorkingSetSize > WorkingSet->PeakWorkingSetSize)
        WorkingSet->PeakWorkingSetSize = WorkingSet->WorkingSetSize;
}

static void MiRemoveWorkingSetPage(PFN_NUMBER Pfn)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    PMMSUPPORT WorkingSet = Entry->WorkingSet;
    if (Entry->Blink != MM_EMPTY_LIST)
        MI_PFN_ELEMENT(Entry->Blink)->Flink = Entry->Flink;
    else
        WorkingSet->WsFlink = Entry->Flink;
    if (Entry->Flink != MM_EMPTY_LIST)
        MI_PFN_ELEMENT(Entry->Flink)->Blink = Entry->Blink;
    else
        WorkingSet->WsBlink = Entry->Blink;
    Entry->Flink = Entry->Blink = MM_EMPTY_LIST;
    Entry->WorkingSet = NULL;
    WorkingSet->WorkingSetSize--;
}

void MiTrimPageToList(PFN_NUMBER Pfn, BOOLEAN Dirty)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    PMMSUPPORT WorkingSet = Entry->WorkingSet;
    if (Entry->PageLocation != ActiveAndValid || WorkingSet == NULL || Entry->LockCount != 0 ||
        Entry->ReferenceCount != 1)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x9E, Pfn, Entry->PageLocation, Entry->ReferenceCount);
    MiRemoveWorkingSetPage(Pfn);
    /* Remembered while on the list: a soft fault puts it back there, a
     * reuse lowers that address space's resident count. */
    Entry->WorkingSet = WorkingSet;
    Entry->ShareCount = 0;
    Entry->ReferenceCount = 0;
    if (Dirty)
        Entry->Modified = 1;
    /* Written since its copy went to (or came from) the pagefile: the copy
     * is stale, its slot goes (NT keeps the slot until the page is
     * modified again; the D bit tells us only here). */
    if (Entry->Modified)
        MiDropPageFileCopy(&Entry->OriginalPte);
    MiInsertPageInListTail(Entry->Modified ? &MmModifiedPageListHead : &MmStandbyPageListHead, Pfn);
    WorkingSet->TrimmedPages++;
    MmTrimmedPages++;
    if (MmModifiedPageListHead.Total >= MmModifiedPageMaximum)
        MiWakeModifiedPageWriter();
}

void MiRestoreTransitionPage(PMMSUPPORT WorkingSet, PFN_NUMBER Pfn)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    UCHAR Location = Entry->PageLocation;
    /* Being written by the modified page writer: active again at once, the
     * write keeps its own reference (MiEndPagingIo drops it). */
    BOOLEAN Writing = Location == TransitionPage && Entry->WriteInProgress;
    if ((Location != StandbyPageList && Location != ModifiedPageList &&
         Location != ModifiedNoWritePageList && !Writing) ||
        Entry->WorkingSet != WorkingSet || Entry->ReferenceCount != (Writing ? 1 : 0))
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x9F, Pfn, Location, (ULONG_PTR)Entry->WorkingSet);
    if (!Writing)
        MiUnlinkPage(Pfn);
    Entry->PageLocation = ActiveAndValid;
    Entry->ReferenceCount++;
    Entry->ShareCount = 1;
    MiInsertWorkingSetPage(WorkingSet, Pfn);
}

void MiMarkTransitionForIo(PFN_NUMBER Pfn)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    if (Entry->PageLocation != ModifiedPageList || Entry->ReferenceCount != 0)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0xA0, Pfn, Entry->PageLocation, Entry->ReferenceCount);
    MiUnlinkPage(Pfn);
    Entry->PageLocation = TransitionPage;
    Entry->ReferenceCount = 1;
    Entry->Modified = 0; /* a write from now on sets it again (D bit, MDL) */
    Entry->WriteInProgress = 1;
}

void MiEndPagingIo(PFN_NUMBER Pfn)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    if (Entry->ReferenceCount == 0)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0xA1, Pfn, Entry->PageLocation, 0);
    Entry->WriteInProgress = 0;
    Entry->ReadInProgress = 0;
    if (--Entry->ReferenceCount != 0)
        return; /* faulted back meanwhile: active, in its working set */
    if (Entry->PteAddress == NULL) {
        MiFreeUnreferencedPage(Pfn); /* its page was freed during the I/O */
        return;
    }
    if (Entry->Modified)
        MiDropPageFileCopy(&Entry->OriginalPte);
    MiInsertPageInListTail(Entry->Modified ? &MmModifiedPageListHead : &MmStandbyPageListHead, Pfn);
}

/*
 * The owner gives the frame up (its page decommitted, its process ended,
 * its pool page released). A trimmed page (standby, modified) has no
 * holder left: straight to the free list. An active page leaves its
 * working set; the owner's reference is the frame's last one unless an
 * MDL holds it locked (ReferenceCount > 1): then the frame stays
 * ActiveAndValid, belonging to nobody but the locks, and MiUnlockPageFrame
 * frees it when the last lock goes - a device may still be writing into
 * it, so it must not be handed to anyone else before.
 */
void MiInsertPageInFreeList(PFN_NUMBER Pfn)
{
    if (!MiIsPfnInDatabase(Pfn))
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x99, Pfn, 0, 0);
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    KIRQL OldIrql = MI_LOCK_PFN();
    /* The page is gone: so is any copy of it in the pagefile. */
    if (Entry->Pageable)
        MiDropPageFileCopy(&Entry->OriginalPte);
    switch (Entry->PageLocation) {
    case StandbyPageList:
    case ModifiedPageList:
    case ModifiedNoWritePageList:
        MiUnlinkPage(Pfn);
        MiFreeUnreferencedPage(Pfn);
        break;
    case TransitionPage:
        /* In paging I/O: the I/O's reference is the last; MiEndPagingIo
         * frees the frame when it ends (PteAddress NULL says so). */
        Entry->PteAddress = NULL;
        Entry->WorkingSet = NULL;
        Entry->Pageable = 0;
        break;
    case ActiveAndValid:
        if (Entry->WorkingSet != NULL)
            MiRemoveWorkingSetPage(Pfn);
        if (Entry->ReferenceCount > 1) {
            Entry->ReferenceCount--;
            Entry->ShareCount = 0;
            Entry->PteAddress = NULL;
            Entry->Pageable = 0;
        } else {
            MiFreeUnreferencedPage(Pfn);
        }
        break;
    default:
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x99, Pfn, Entry->PageLocation, 1);
    }
    MI_UNLOCK_PFN(OldIrql);
}

BOOLEAN MiLockPageFrame(PFN_NUMBER Pfn)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    if (Entry->PageLocation != ActiveAndValid || Entry->ReferenceCount == 0)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x9A, Pfn, Entry->PageLocation, Entry->ReferenceCount);
    if (Entry->ReferenceCount == MI_MAXIMUM_REFERENCE_COUNT)
        return FALSE;
    /* A pageable page's first lock pins it: a resident charge. */
    BOOLEAN Pins = Entry->LockCount == 0 && !MiIsResidentUsage(Entry->Usage);
    if (Pins && !MiResidentFrameAllowed())
        return FALSE;
    if (Pins)
        MiLockedPageablePages++;
    Entry->ReferenceCount++;
    Entry->LockCount++;
    return TRUE;
}

void MiUnlockPageFrame(PFN_NUMBER Pfn)
{
    MI_ASSERT_PFN_LOCK_ALLOWED();
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    KIRQL OldIrql = MI_LOCK_PFN();
    if (Entry->PageLocation != ActiveAndValid || Entry->ReferenceCount == 0 ||
        Entry->LockCount == 0)
        KeBugCheckEx(PFN_LIST_CORRUPT, 0x9A, Pfn, Entry->PageLocation, Entry->ReferenceCount);
    if (--Entry->LockCount == 0 && !MiIsResidentUsage(Entry->Usage))
        MiLockedPageablePages--; /* pageable again */
    /* A device may have written the frame behind the PTE's back (no D
     * bit): count it as modified, so a trim never takes it for clean. */
    if (Entry->Pageable) {
        Entry->Modified = 1;
        MiDropPageFileCopy(&Entry->OriginalPte);
    }
    if (--Entry->ReferenceCount == 0)
        MiFreeUnreferencedPage(Pfn); /* its owner let it go while it was locked */
    MI_UNLOCK_PFN(OldIrql);
}

NTSTATUS MmAllocatePhysicalPage(MI_PFN_USAGE Usage, BOOLEAN Zero, PPFN_NUMBER Pfn)
{
    MI_ASSERT_PFN_LOCK_ALLOWED();
    ASSERT(Usage > MiUsageFree && Usage < MiUsageMaximum);
    if (MiVerifierInjectFailure())  /* "verifier=lowres" (mm/specpool.c) */
        return STATUS_INSUFFICIENT_RESOURCES;
    PFN_NUMBER Frame = Zero ? MiRemoveZeroPage(Usage) : MiRemoveAnyPage(Usage);
    if (Frame == MM_EMPTY_LIST)
        return STATUS_INSUFFICIENT_RESOURCES;
    *Pfn = Frame;
    return STATUS_SUCCESS;
}

void MmFreePhysicalPage(PFN_NUMBER Pfn)
{
    MI_ASSERT_PFN_LOCK_ALLOWED();
    MiInsertPageInFreeList(Pfn);
}

void MiChangePageUsage(PFN_NUMBER Pfn, MI_PFN_USAGE Usage)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    ASSERT(Entry->PageLocation == ActiveAndValid);
    MiUsageCount[Entry->Usage]--;
    MiUsageCount[Usage]++;
    Entry->Usage = (UCHAR)Usage;
}

PFN_NUMBER MmNumberOfPhysicalPages(void)
{
    return MmPhysicalMemoryBlock.NumberOfPages;
}

PFN_NUMBER MmAvailablePages(void)
{
    return MmFreePageListHead.Total + MmZeroedPageListHead.Total + MmStandbyPageListHead.Total;
}

PFN_NUMBER MmPagesInUse(MI_PFN_USAGE Usage)
{
    return Usage < MiUsageMaximum ? MiUsageCount[Usage] : 0;
}

void MmQueryMemoryCounters(PMM_MEMORY_COUNTERS Counters)
{
    MI_ASSERT_PFN_LOCK_ALLOWED();
    KIRQL OldIrql = MI_LOCK_PFN();
    Counters->TotalPages = MmPhysicalMemoryBlock.NumberOfPages;
    Counters->AvailablePages = MmAvailablePages();
    Counters->FreePages = MmFreePageListHead.Total;
    Counters->StandbyPages = MmStandbyPageListHead.Total;
    Counters->ModifiedPages = MmModifiedPageListHead.Total;
    Counters->ModifiedNoWritePages = MmModifiedNoWritePageListHead.Total;
    Counters->BadPages = MmBadPageListHead.Total;
    Counters->StandbyPagesReused = MmStandbyPagesReused;
    Counters->TrimmedPages = MmTrimmedPages;
    Counters->ZeroedPages = MmZeroedPageListHead.Total;
    for (ULONG Usage = 0; Usage < MiUsageMaximum; Usage++)
        Counters->PagesByUsage[Usage] = MiUsageCount[Usage];
    Counters->ZeroedPagesServed = MmZeroedPagesServed;
    Counters->PagesZeroedOnDemand = MmPagesZeroedOnDemand;
    Counters->CommittedPages = MmTotalCommittedPages;
    Counters->CommitLimit = MiCommitLimit();
    Counters->PagedPoolCommittedPages = MmPagedPoolCommittedPages;
    Counters->ResidentAvailablePages = MiResidentAvailablePages();
    Counters->MinimumResidentAvailablePages = MiMinimumResidentAvailablePages();
    Counters->SystemPageTablePages = MiSystemPageTablePages;
    PMMPAGING_FILE PagingFile = MmPagingFile[0];
    Counters->PageFilePages = PagingFile ? PagingFile->Size : 0;
    Counters->PageFileInUse = PagingFile ? PagingFile->CurrentUsage : 0;
    Counters->PageFilePeak = PagingFile ? PagingFile->PeakUsage : 0;
    Counters->PagesWritten = MmPagesWritten;
    Counters->PageFileWrites = MmPageFileWrites;
    Counters->PageFileReads = MmPageFileReads;
    Counters->PageFilePagesRead = MmPageFilePagesRead;
    MI_UNLOCK_PFN(OldIrql);
}

/*
 * Fill the (already mapped, zeroed) PFN database: frames the kernel image,
 * the loader's data or the boot allocator occupy are active; every other
 * frame goes on the free list. Highest frames are inserted last, so they
 * are handed out first and low memory stays free the longest.
 */
void MiInitializePfnDatabase(void)
{
    /* Frames at or above this one are neither the image, nor the loader's
     * data, nor the boot allocator's: no need to ask for each of them (the
     * database pages are zero already, so only the list links and the list
     * name are written). This loop touches every frame of RAM: at 16 GiB,
     * four million times. */
    PFN_NUMBER Limit = MiBootExclusionLimit();
    for (ULONG i = 0; i < MmPhysicalMemoryBlock.NumberOfRuns; i++) {
        const PHYSICAL_MEMORY_RUN *Run = &MmPhysicalMemoryBlock.Run[i];
        for (PFN_NUMBER Pfn = Run->BasePage; Pfn < Run->BasePage + Run->PageCount; Pfn++) {
            MI_PFN_USAGE Usage = MiUsageFree;
            if (Pfn < Limit) {
                Usage = MiBootUsageOfPage(Pfn);
                if (Usage == MiUsageFree && MiIsEarlyAllocated(Pfn))
                    Usage = MiUsagePageTable;
            }
            if (Usage != MiUsageFree)
                MiMarkActive(Pfn, Usage);
            else
                MiInsertPageInList(&MmFreePageListHead, Pfn);
        }
    }
    MiPfnDatabaseReady = TRUE;
}
