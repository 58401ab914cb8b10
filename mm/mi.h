/*
 * mi.h - private to mm/: the PFN database, the boot-time frame allocator,
 * page-table helpers, VADs, the system-VA regions and the VM mutex. No
 * folder but mm/ (and tests/) includes it.
 */
#ifndef PAGODA_MI_H
#define PAGODA_MI_H

#include "mm.h"
#include "vadtree.h"
#include "poolcore.h"   /* the pool allocator, private to mm/ */
#include "../kernel/ke.h"
#include "../include/intrin.h"

/* ------------------------------------------------------------------------
 * The PFN database: one MMPFN per physical frame that RAM runs contain,
 * an array at MM_PFN_DATABASE indexed by frame number. Only the parts
 * covering real RAM are mapped (a sparse array: the holes of the memory
 * map cost no memory).
 * ------------------------------------------------------------------------ */

/* The page lists, with the numbers NT gives them. */
typedef enum _MMLISTS {
    ZeroedPageList = 0,
    FreePageList = 1,
    StandbyPageList = 2,
    ModifiedPageList = 3,
    ModifiedNoWritePageList = 4,
    BadPageList = 5,
    ActiveAndValid = 6,
    TransitionPage = 7,
} MMLISTS;

#define MM_EMPTY_LIST ((PFN_NUMBER)-1)

/*
 * Which lock protects each field. "PFN lock": raising to DISPATCH_LEVEL
 * (mm/pfn.c), taken around every move onto or off a list, into or out of
 * a working set. "Owner": the code that took the frame off the free lists
 * (the frame is ActiveAndValid, no list touches it) writes these without
 * a lock, until it gives the frame back. For a page-table page the owner
 * is whoever holds the lock of the range it maps: the VM mutex for the
 * user half, the region lock (DISPATCH_LEVEL) for system PTEs and
 * nonpaged pool, the paged pool's mutex for paged pool.
 *
 * The counts, as NT keeps them (docs/paging.md, "PFN entries"):
 *   ShareCount      valid PTEs that map the frame: 1 for a resident
 *                   pageable page, 0 once it is trimmed (transition)
 *   LockCount       MDL locks on it (mm/mdl.c); such a page is never trimmed
 *   ReferenceCount  reasons the frame may not go to a list: 1 for the owner
 *                   (a valid PTE, the pool, a stack) + LockCount. When a
 *                   trimmed page's reaches 0 it goes to standby (clean) or
 *                   modified (dirty); a freed frame's, to the free list.
 */
typedef struct _MMPFN {
    union {
        PFN_NUMBER Flink; /* next frame on its list, or MM_EMPTY_LIST; for an
                                 * active page in a working set, the next (newer)
                                 * page of that working set. PFN lock */
        /* While ReadInProgress (on no list, in no working set): the
         * in-page block whose event collided faults wait on (NT's
         * u1.Event overlays Flink the same way). PFN lock */
        struct _MI_INPAGE_SUPPORT *InPage;
    };
    PFN_NUMBER Blink; /* previous frame, the same way. PFN lock */
    PMMPTE PteAddress; /* the entry that maps this frame (self-map VA), when
                                 * active or in transition. Owner; cleared under the
                                 * PFN lock on free (also when paging I/O still
                                 * holds the frame: the I/O's end then frees it) */
    MMPTE OriginalPte; /* what that entry held before the frame was mapped:
                                 * demand-zero and its protection, or the pagefile
                                 * PTE of the slot that holds a copy of the page
                                 * (written, or read back, and not dirtied since):
                                 * written back when a standby frame is reused.
                                 * Owner; PFN lock while on a list */
    PFN_NUMBER PteFrame; /* the page-table frame that holds PteAddress, so the
                                 * entry can be rewritten from any address space
                                 * (through hyperspace). Owner */
    PMMSUPPORT WorkingSet; /* the working set the page is in, or was trimmed from
                                 * while it is on standby or modified; NULL for frames
                                 * no working set has. PFN lock */
    USHORT ReferenceCount; /* see above. PFN lock */
    USHORT ShareCount; /* see above. PFN lock */
    USHORT LockCount; /* see above. PFN lock */
    UCHAR PageLocation;         /* MMLISTS. PFN lock */
    UCHAR Usage;                /* MI_PFN_USAGE. PFN lock (boot: MiChangePageUsage, none) */
    UCHAR Pageable; /* may leave its working set (user pages, paged pool).
                                 * Owner (the fault that maps it, or the pool that
                                 * takes the page); cleared under the PFN lock */
    UCHAR Modified : 1; /* its contents differ from its backing store (zeros,
                                 * or later the pagefile): written through a PTE (D
                                 * bit, noted at trim) or an MDL. PFN lock */
    UCHAR ReadInProgress : 1; /* a hard fault's paging read fills it (mm/fault.c):
                                 * location TransitionPage. PFN lock */
    UCHAR WriteInProgress : 1; /* the modified page writer writes it to the
                                 * pagefile (mm/pagefile.c). PFN lock */
    UCHAR Spare : 5;
    UCHAR WsAge; /* trim passes it was not accessed in. PFN lock */
    UCHAR Reserved;
    ULONG UsedPageTableEntries; /* for page-table pages: entries in use. Owner */
} MMPFN, *PMMPFN;
STATIC_ASSERT(sizeof(MMPFN) == 64);
STATIC_ASSERT(offsetof(MMPFN, ReferenceCount) == 48 && offsetof(MMPFN, UsedPageTableEntries) == 60);

/* The array's base: MM_PFN_DATABASE in the kernel, a heap block in the
 * host unit tests of mm/pfn.c. */
extern PMMPFN MmPfnDatabase;
#define MI_PFN_ELEMENT(Pfn) (&MmPfnDatabase[(Pfn)])

typedef struct _MMPFNLIST {
    PFN_NUMBER Total;
    MMLISTS ListName;
    PFN_NUMBER Flink;
    PFN_NUMBER Blink;
} MMPFNLIST, *PMMPFNLIST;

/* The RAM the PFN database describes, as runs of frames (NT's
 * PHYSICAL_MEMORY_DESCRIPTOR). */
#define MI_MAX_PHYSICAL_RUNS 64
typedef struct _PHYSICAL_MEMORY_RUN {
    PFN_NUMBER BasePage;
    PFN_NUMBER PageCount;
} PHYSICAL_MEMORY_RUN;

typedef struct _PHYSICAL_MEMORY_DESCRIPTOR {
    ULONG NumberOfRuns;
    PFN_NUMBER NumberOfPages;
    PHYSICAL_MEMORY_RUN Run[MI_MAX_PHYSICAL_RUNS];
} PHYSICAL_MEMORY_DESCRIPTOR;

/* The RAM runs: filled at boot (mm/init.c), read-only afterwards. */
extern PHYSICAL_MEMORY_DESCRIPTOR MmPhysicalMemoryBlock;
/* The page lists (mm/pfn.c). PFN lock. */
extern MMPFNLIST MmZeroedPageListHead;
extern MMPFNLIST MmFreePageListHead;
extern MMPFNLIST MmStandbyPageListHead;
extern MMPFNLIST MmModifiedPageListHead;
extern MMPFNLIST MmModifiedNoWritePageListHead;
extern MMPFNLIST MmBadPageListHead;
/* Standby frames handed to a new owner, their old PTE made demand-zero
 * again; pages trimmed from any working set. PFN lock. */
extern ULONG64 MmStandbyPagesReused, MmTrimmedPages;
/* Zeroed frames handed out from the zeroed list, and frames that had to be
 * zeroed on demand because the list was empty. PFN lock. */
extern ULONG64 MmZeroedPagesServed, MmPagesZeroedOnDemand;
extern BOOLEAN MiPfnDatabaseReady;
/* Page-table pages of system space made since the PFN database exists
 * (mm/pte.c). System tables are shared by every process and never freed:
 * the count only grows, up to what the system regions' addresses need.
 * Changed at DISPATCH_LEVEL (the system ranges' lock). */
extern PFN_NUMBER MiSystemPageTablePages;
extern PFN_NUMBER MmHighestPhysicalPage;

/* TRUE when Pfn has an entry in the database. */
BOOLEAN MiIsPfnInDatabase(PFN_NUMBER Pfn);

/* mm/pfn.c */
void MiInitializePfnDatabase(void);
/* mm/init.c: after MiInitializePfnDatabase, note which entry maps each
 * page-table and PFN-database frame of the boot tables. */
void MiRecordBootPageTables(void);
/* Move a frame's accounting from one usage to another (boot only). */
void MiChangePageUsage(PFN_NUMBER Pfn, MI_PFN_USAGE Usage);
PFN_NUMBER MiRemoveAnyPage(MI_PFN_USAGE Usage);   /* MM_EMPTY_LIST when none */
PFN_NUMBER MiRemoveZeroPage(MI_PFN_USAGE Usage);  /* zero-filled; MM_EMPTY_LIST when none */
/* The owner gives Pfn up: it goes to the free list, or, while MDLs hold it
 * locked, waits for the last MiUnlockPageFrame (mm/pfn.c). IRQL <=
 * DISPATCH_LEVEL; takes and releases the PFN lock. */
void MiInsertPageInFreeList(PFN_NUMBER Pfn);
/* One more lock on an active frame (ReferenceCount + 1); FALSE, nothing
 * changed, when it already has MI_MAXIMUM_REFERENCE_COUNT, or when it is a
 * pageable frame not locked yet and pinning it would take resident
 * available pages to their floor (mm/pfn.c). The caller holds the PFN lock
 * (DISPATCH_LEVEL). */
#define MI_MAXIMUM_REFERENCE_COUNT 0xFFFF
BOOLEAN MiLockPageFrame(PFN_NUMBER Pfn);
/* One lock less; the frame goes to the free list when it was the last
 * reference (its owner freed it meanwhile). IRQL <= DISPATCH_LEVEL; takes
 * and releases the PFN lock. */
void MiUnlockPageFrame(PFN_NUMBER Pfn);
BOOLEAN MiZeroOneFreePage(void);

/* Working sets and the transition lists (mm/pfn.c; docs/paging.md). Each
 * is called with the PFN lock held (DISPATCH_LEVEL). */
/* The page Pfn, just made valid by a fault, joins WorkingSet (newest). */
void MiInsertWorkingSetPage(PMMSUPPORT WorkingSet, PFN_NUMBER Pfn);
/* The page, whose PTE the caller has just made a transition PTE (and
 * flushed), leaves its working set for the standby list, or the modified
 * list when Dirty or already Modified. It must be active, pageable and
 * not locked. */
void MiTrimPageToList(PFN_NUMBER Pfn, BOOLEAN Dirty);
/* A soft fault: the page comes off the standby or modified list back into
 * WorkingSet, active; the caller makes its PTE valid. */
void MiRestoreTransitionPage(PMMSUPPORT WorkingSet, PFN_NUMBER Pfn);
/* mm/wsmgr.c: an address space's working set joins the list the manager
 * walks (at creation) and leaves it, for good, before its user half is
 * torn down; the manager's pass (Age: clear Accessed bits and age pages
 * first), returning the pages trimmed; the wake-up mm/pfn.c gives when
 * available pages fall below MmMinimumAvailablePages (0 until the manager
 * runs). Pass at PASSIVE_LEVEL, the others at <= DISPATCH_LEVEL. */
void MiInitializeWorkingSet(PMMADDRESS_SPACE AddressSpace);
void MiDeleteWorkingSet(PMMADDRESS_SPACE AddressSpace);
PFN_NUMBER MiWorkingSetManagerPass(BOOLEAN Age);
void MiWakeWorkingSetManager(void);
extern PFN_NUMBER MmMinimumAvailablePages;
/* Passes that had to trim working sets below their minimums. */
extern ULONG64 MmBelowMinimumTrimPasses;
extern LIST_ENTRY MmWorkingSetExpansionHead;
/*
 * The pagefile (mm/pagefile.c; docs/paging.md). MmPagingFile[0] is the one
 * paging file, NULL when there is none. Slots are pages of the file; slot
 * 0 is never used, so a pagefile PTE is never zero in PageFileHigh.
 */
typedef struct _MMPAGING_FILE {
    PFN_NUMBER Size; /* slots, including the unused slot 0 */
    PFN_NUMBER FreeSpace; /* slots free. PFN lock */
    PFN_NUMBER CurrentUsage; /* slots in use. PFN lock */
    PFN_NUMBER PeakUsage; /* PFN lock */
    ULONG64 *Bitmap; /* bit n set: slot n in use (slot 0 always). PFN lock */
    PFN_NUMBER Hint; /* where the next search starts. PFN lock */
    ULONG PageFileNumber; /* PageFileLow of its PTEs */
    struct _DEVICE_OBJECT *Device; /* the disk (referenced) */
    ULONG64 DeviceOffset; /* byte offset of slot 0 on Device */
} MMPAGING_FILE, *PMMPAGING_FILE;
#define MI_MAX_PAGING_FILES 1
extern PMMPAGING_FILE MmPagingFile[MI_MAX_PAGING_FILES];
extern ULONG MmNumberOfPagingFiles;
/* Counters (PFN lock): pages written by the modified page writer, write
 * IRPs, read IRPs of hard faults, and the pages those read (the faulting
 * pages and their clusters: MmPageFilePagesRead / MmPageFileReads is the
 * average read cluster). */
extern ULONG64 MmPagesWritten, MmPageFileWrites, MmPageFileReads, MmPageFilePagesRead;
/* Pages one hard fault reads at most: the faulting page and its
 * neighbours at consecutive slots (mm/fault.c; NT reads up to 8 around a
 * user-space fault by default). */
#define MI_READ_CLUSTER 8
/* A free slot, marked in use; 0 when the pagefile is full or absent. PFN lock. */
PFN_NUMBER MiAllocatePageFileSlot(void);
/* Up to Count consecutive free slots (at least 1), marked in use; the
 * first in *Slot, the number returned (0: none). PFN lock. */
ULONG MiAllocatePageFileSlots(ULONG Count, PFN_NUMBER *Slot);
void MiReleasePageFileSlot(PFN_NUMBER Slot);
/* The pagefile PTE of Slot with MmProtection. */
static inline MMPTE MiMakePageFilePte(PFN_NUMBER Slot, ULONG MmProtection)
{
    MMPTE Pte;
    Pte.u.Long =
        ((ULONG64)Slot << MM_PAGEFILE_HIGH_SHIFT) | ((ULONG64)MmProtection << MM_PROTECT_SHIFT);
    return Pte;
}
/* A page's PTE contents no longer describe a pagefile copy: release the
 * slot OriginalPte names, if any, and make it demand-zero with the same
 * protection. PFN lock. */
static inline void MiDropPageFileCopy(PMMPTE OriginalPte)
{
    if (MiPteState(*OriginalPte) != MiPtePageFile)
        return;
    MiReleasePageFileSlot(OriginalPte->u.Soft.PageFileHigh);
    OriginalPte->u.Long = (ULONG64)OriginalPte->u.Soft.Protection << MM_PROTECT_SHIFT;
}
/* Read (Write FALSE) or write Count frames at consecutive slots from
 * Slot, through a paging IRP to the pagefile's device; waits for it.
 * IRQL <= APC_LEVEL, no PFN lock. */
NTSTATUS MiPageFileIo(const PFN_NUMBER *Pfns, ULONG Count, PFN_NUMBER Slot, BOOLEAN Write);
/* Wake the modified page writer (any IRQL <= DISPATCH_LEVEL). */
void MiWakeModifiedPageWriter(void);
/* No frame was to be had: wake the writer and the working-set manager,
 * wait until a frame comes free (MmAvailablePagesEvent) or 10 ms pass;
 * return at once when nothing has freed one for a second and nothing can.
 * IRQL < DISPATCH_LEVEL. */
void MiWaitForAvailablePages(void);
/* Threads in MiWaitForAvailablePages; while there are any, a frame that
 * reaches the free or standby list (mm/pfn.c) calls
 * MiSignalAvailablePages, which sets MmAvailablePagesEvent. Every such
 * frame adds one to MiAvailablePagesGeneration. PFN lock. */
extern ULONG MiAvailablePagesWaiters;
extern ULONG64 MiAvailablePagesGeneration;
void MiSignalAvailablePages(void);
/* How those waits ended: woken by the event, or after the timeout; and
 * the calls that did not wait, nothing being able to free a frame. PFN lock. */
extern ULONG64 MmAvailablePagesWaits, MmAvailablePagesWakes, MmAvailablePagesTimeouts;
extern ULONG64 MmAvailablePagesNotWaited;
/* The wait's limit, in 100 ns units, relative (negative): 10 ms. A test
 * may lengthen it to show the event, not the timeout, ends a wait. */
extern LONGLONG MiAvailablePagesTimeout;
/* The in-page block of a hard fault: the read's event, which collided
 * faults wait on too, its status and who still uses it. PFN lock for the
 * counts. */
typedef struct _MI_INPAGE_SUPPORT {
    KEVENT Event;
    NTSTATUS Status;
    ULONG References; /* the reader + each collided waiter */
} MI_INPAGE_SUPPORT, *PMI_INPAGE_SUPPORT;
/* For tests (tests/kernel/test_pagefile.c): called by a hard fault in
 * the reading thread just before its read, at APC_LEVEL, with the frame
 * being read (ReadInProgress), so that a test can make another thread
 * collide with the read deterministically. NULL: nothing. */
extern void (*MmHardFaultReadHook)(PFN_NUMBER Pfn);
/* Modified pages whose write completes next go to the modified list
 * again when MiModifiedPageMaximum is passed (threshold for waking the
 * writer). */
extern PFN_NUMBER MmModifiedPageMaximum;
/* Frames in paging I/O: off every list (location TransitionPage). PFN lock. */
void MiMarkTransitionForIo(PFN_NUMBER Pfn);
/* The paging I/O holding Pfn is over: drop its reference; the frame goes
 * to standby (clean), modified (dirtied, or a failed write) or free (its
 * page was freed meanwhile). PFN lock. */
void MiEndPagingIo(PFN_NUMBER Pfn);

/* The list a frame is on (MMLISTS), for the shell and tests. */
static inline MMLISTS MiGetPageLocation(PFN_NUMBER Pfn)
{
    return (MMLISTS)MmPfnDatabase[Pfn].PageLocation;
}
void MiZeroPhysicalPage(PFN_NUMBER Pfn);

/* mm/pfn.c: the commit charge (see there). MiChargeCommitment adds Pages
 * to it, or returns STATUS_COMMITMENT_LIMIT and changes nothing when the
 * charge would pass the commit limit; MiReturnCommitment takes Pages off.
 * IRQL <= DISPATCH_LEVEL; each takes and releases the PFN lock. */
MUST_INSPECT_RESULT NTSTATUS MiChargeCommitment(PFN_NUMBER Pages);
void MiReturnCommitment(PFN_NUMBER Pages);
/* The same for paged pool's pages (mm/pool.c: when the pool takes pages,
 * and when it gives them back), counted apart as well (mem's "paged
 * pool" part of the charge). */
MUST_INSPECT_RESULT NTSTATUS MiChargePagedPoolCommitment(PFN_NUMBER Pages);
void MiReturnPagedPoolCommitment(PFN_NUMBER Pages);
/* Resident available pages (NT's MmResidentAvailablePages, mm/pfn.c):
 * free + zeroed + frames of pageable kinds not locked. A frame for a
 * resident use (not user, not paged pool) or an MDL lock of a pageable
 * page is refused when it would leave no more than the floor,
 * MiMinimumResidentAvailablePages. Read under the PFN lock for a value
 * that agrees with the lists; MiResidentFramesRefused counts refusals. */
PFN_NUMBER MiResidentAvailablePages(void);
PFN_NUMBER MiMinimumResidentAvailablePages(void);
extern ULONG64 MiResidentFramesRefused;

/* mm/init.c: the boot-time allocator, used until the PFN database exists. */
PFN_NUMBER MiEarlyAllocatePage(void);
BOOLEAN MiIsEarlyAllocated(PFN_NUMBER Pfn);
/* Excluded from the free lists for good: the kernel image, the loader's data. */
MI_PFN_USAGE MiBootUsageOfPage(PFN_NUMBER Pfn);
/* One past the highest frame MiBootUsageOfPage or MiIsEarlyAllocated can
 * claim: every frame from there up is free at boot. */
PFN_NUMBER MiBootExclusionLimit(void);

/* mm/pte.c */
/*
 * Map Va to frame Pfn with the leaf bits Flags (MM_PTE_*; VALID is added),
 * creating missing page-table pages (user ones get Owner set). Returns
 * STATUS_INSUFFICIENT_RESOURCES when a page-table page cannot be had.
 * Va must not be mapped already.
 */
NTSTATUS MiMapPage(PVOID Va, PFN_NUMBER Pfn, ULONG64 Flags);
/* Clear Va's PTE and flush it from the TLB; returns the old entry. */
MMPTE MiUnmapPage(PVOID Va);

/* A short-lived mapping of any frame in this address space's hyperspace,
 * for zeroing or copying a frame (NT's MiMapPageInHyperSpace). Raises to
 * DISPATCH_LEVEL (*OldIrql: to give back to the unmap) so nothing else can
 * run, or take the single window, until it is unmapped. */
PVOID MiMapPageInHyperspace(PFN_NUMBER Pfn, PKIRQL OldIrql);
void MiUnmapPageInHyperspace(PVOID Va, KIRQL OldIrql);

/* Write a PTE and flush the TLB entry for the address it maps. */
static inline void MiWritePte(PMMPTE Pte, ULONG64 Value)
{
    Pte->u.Long = Value;
    KeFlushSingleTb(MiGetVirtualAddressMappedByPte(Pte));
}

/* ------------------------------------------------------------------------
 * Software PTEs: a PTE with Valid = 0 that is not zero describes a
 * committed page without a valid mapping: demand-zero, transition (the
 * frame still holds it) or, later, in the pagefile. Its protection is a
 * 5-bit MM_* code in bits 5-9, as in NT. A zero PTE means "not committed"
 * (the VAD says whether it is reserved or free).
 * ------------------------------------------------------------------------ */
/* The formats and the MM_* protection codes are in mm/mmpte.h. */

static inline ULONG MiGetSoftwareProtection(MMPTE Pte)
{
    if (Pte.u.Hard.Valid)
        return (ULONG)((Pte.u.Long & MM_VALID_PROTECT_MASK) >> MM_VALID_PROTECT_SHIFT);
    return (ULONG)((Pte.u.Long & MM_PROTECT_MASK) >> MM_PROTECT_SHIFT);
}

/* PAGE_* (one of the access values, optionally | PAGE_GUARD) to MM_*,
 * or MM_INVALID_PROTECTION for anything private memory cannot have. */
ULONG MiMakeProtectionMask(ULONG Win32Protect);
/* MM_* back to PAGE_*. */
ULONG MiMakeWin32Protection(ULONG MmProtection);
/* The hardware bits (Valid, Write, Owner, NoExecute) for an accessible
 * MM_* protection of a user page. */
ULONG64 MiMakeUserPteBits(ULONG MmProtection);

/*
 * Page-level operations on the current address space's user half (mm/pte.c).
 * Each creates or frees page-table pages as needed; page tables of the user
 * half are freed when their last entry goes.
 */
/* Commit Va: a zero PTE becomes a demand-zero software PTE with
 * MmProtection. Returns STATUS_SUCCESS, STATUS_ALREADY_COMMITTED (the page
 * was committed; nothing changed) or STATUS_INSUFFICIENT_RESOURCES. */
NTSTATUS MiCommitUserPage(PMMADDRESS_SPACE AddressSpace, PVOID Va, ULONG MmProtection);
/* Decommit Va: free its frame if it has one, its pagefile slot if it is
 * in the pagefile; the PTE becomes zero. */
void MiDecommitUserPage(PMMADDRESS_SPACE AddressSpace, PVOID Va);
/* TRUE when Va is committed; *MmProtection is its protection. */
BOOLEAN MiQueryUserPage(PVOID Va, PULONG MmProtection);
/* Change the protection of a committed page (valid or not), flushing the
 * TLB entry. Returns the old MM_* protection. */
ULONG MiSetUserPageProtection(PVOID Va, ULONG MmProtection);

/* A VAD: one reservation of the user half (mm/virtual.c). */
#define MI_VAD_TAG POOL_TAG('V', 'a', 'd', ' ')
typedef struct _MMVAD {
    MMADDRESS_NODE Node;            /* StartingVpn..EndingVpn, tree links */
    ULONG AllocationProtect;        /* PAGE_* given at MEM_RESERVE */
    ULONG Flags;                    /* MM_VAD_* (mm/mm.h) */
    PFN_NUMBER CommittedPages;
} MMVAD, *PMMVAD;

/* Free every VAD of AddressSpace and return its commit charge (teardown;
 * MmDeleteProcessAddressSpace frees the frames and page tables first). */
void MiDeleteAllVads(PMMADDRESS_SPACE AddressSpace);

/* ------------------------------------------------------------------------
 * Regions of system virtual space handed out in pages (mm/sysva.c): the
 * nonpaged pool, the paged pool and the system PTEs each have one. A
 * bitmap says which pages are reserved.
 * ------------------------------------------------------------------------ */
typedef struct _MI_VA_REGION {
    const char *Name;
    ULONG_PTR Base;
    ULONG_PTR Pages;            /* size of the region in pages */
    ULONG64 *Bitmap;            /* bit n set: page n reserved */
    ULONG_PTR Hint;             /* where the next search starts */
    ULONG_PTR PagesReserved;
} MI_VA_REGION, *PMI_VA_REGION;

extern MI_VA_REGION MiSystemPteRegion;
extern MI_VA_REGION MiNonPagedPoolRegion;
extern MI_VA_REGION MiPagedPoolRegion;

/* Reserve Pages consecutive pages of Region; NULL when there is no room. */
PVOID MiReserveVa(PMI_VA_REGION Region, ULONG_PTR Pages);
void MiReleaseVa(PMI_VA_REGION Region, PVOID Va, ULONG_PTR Pages);
/* TRUE when every page of [Va, Va + Pages) is reserved in Region. */
BOOLEAN MiIsVaReserved(PMI_VA_REGION Region, PVOID Va, ULONG_PTR Pages);
void MiInitializeSystemVa(void);

/* mm/pte.c: a demand-zero read/write PTE for a system page (paged pool). */
NTSTATUS MiMakeSystemDemandZeroPte(PVOID Va);
/* mm/pte.c: give back a paged pool page: its PTE becomes zero and its
 * frame, valid or in transition (trimmed from the system working set),
 * goes to the free list. The paged pool's mutex held (APC_LEVEL); takes
 * the PFN lock. */
void MiDeletePagedPoolPage(PVOID Va);

/* mm/pool.c */
void MiInitializePools(void);
/* The descriptor of the pool PoolType is one of (POOL_DESCRIPTOR is in
 * poolcore.h), for the counters and ExpValidatePool in tests. Any IRQL;
 * reading it without the pool's lock gives a snapshot that may be torn. */
PPOOL_DESCRIPTOR ExGetPoolDescriptor(POOL_TYPE PoolType);
/* Move the fast paths' pending tag counts of PoolType's pool into its tag
 * table (ExpFoldLookasideCounts under the pool's lock), so that the table
 * alone is exact for ExpValidatePool. IRQL: the pool's (<= DISPATCH_LEVEL
 * nonpaged, <= APC_LEVEL paged). */
VOID ExFoldPoolTagCounts(POOL_TYPE PoolType);
/* Merge the parked blocks of PoolType's pool back and give its entirely
 * free pages to the system (ExpTrimPoolCore under the pool's lock), so
 * that a test can compare page counts exactly. Returns the pages given
 * back. IRQL as ExFoldPoolTagCounts. */
ULONG_PTR ExTrimPoolPages(POOL_TYPE PoolType);
/* mm/pool.c: turn both pools' lookaside lists on (Enable) or off (flushed
 * first), so that with a verifier check on every allocation and free takes
 * the locked path, where mm/specpool.c is asked. PASSIVE_LEVEL. */
VOID MiSetPoolLookasides(BOOLEAN Enable);

/* mm/specpool.c (Driver Verifier; see there and docs/verifier.md). */
/* Asked by the pool's locked allocation: TRUE when the verifier decided,
 * with *Block the special-pool block or NULL (an injected failure); FALSE
 * when the ordinary pool serves the request. IRQL: the pool's. */
BOOLEAN MiVerifierAllocate(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, PVOID *Block);
/* TRUE when low resources simulation says this allocation fails (and
 * counts it). Any IRQL. Inline, so that without "verifier=lowres" a page
 * allocation pays one predicted compare, not a call. */
extern BOOLEAN MiLowResourcesActive;
BOOLEAN MiVerifierInjectFailureSlow(void);
static inline BOOLEAN MiVerifierInjectFailure(void)
{
    return __builtin_expect(MiLowResourcesActive, 0) && MiVerifierInjectFailureSlow();
}
/* Free a special-pool block: every check of mm/specpool.c's header, then
 * the data page is unmapped and the run kept as freed; TRUE. FALSE, having
 * done nothing, when P lies in no special-pool run. Caller is the caller
 * of ExFreePool, for the IRQL bugcheck. IRQL <= DISPATCH_LEVEL (paged
 * pool's blocks <= APC_LEVEL). */
BOOLEAN MiFreeSpecialPool(PVOID P, ULONG Tag, BOOLEAN CheckTag, PVOID Caller);

/* mm/virtual.c: the VM mutex (mm/mm.h). MiInitializeVirtualMemoryLock is
 * called once by MmInitSystem. MiLockVirtualMemory / MiUnlockVirtualMemory
 * take and release it: PASSIVE_LEVEL (or APC_LEVEL) in, APC_LEVEL while
 * held. MiEnterAddressSpace takes it and attaches to Space, returning the
 * address space to give MiLeaveAddressSpace, which attaches back and
 * releases it. PASSIVE_LEVEL. */
void MiInitializeVirtualMemoryLock(void);
void MiLockVirtualMemory(void);
void MiUnlockVirtualMemory(void);
PMMADDRESS_SPACE MiEnterAddressSpace(PMMADDRESS_SPACE Space);
void MiLeaveAddressSpace(PMMADDRESS_SPACE Previous);

/* mm/procsup.c */
void MiInitializeSystemAddressSpace(void);
extern PFN_NUMBER MiSharedUserDataPfn;

/* mm/probe.c: TRUE when [Start, Start + Length) (Length > 0) lies in the
 * part of the user half a probe may touch, without wrapping. Any IRQL. */
BOOLEAN MiIsUserRange(ULONG_PTR Start, SIZE_T Length);
/* kernel/x64/usercopy.asm: they copy and touch user memory, the checks
 * are the callers' (mm/probe.c, mm/mdl.c). Each returns STATUS_SUCCESS
 * or, when the user side faulted and the memory manager could not
 * resolve it, STATUS_GUARD_PAGE_VIOLATION (a guard page, now consumed)
 * or STATUS_ACCESS_VIOLATION (the exception table's fixup; a #GP on a
 * non-canonical address too). IRQL < DISPATCH_LEVEL. */
MUST_INSPECT_RESULT NTSTATUS
KiCopyUserMemory(PVOID Destination, const void *Source, SIZE_T Length);
MUST_INSPECT_RESULT NTSTATUS KiProbeUserByteForWrite(PVOID Address);

/* Print a VA as WinDbg does, 0xFFFFF680'00000000. */
void MiPrintVa(ULONG64 Va);

#endif /* PAGODA_MI_H */
