/*
 * mi.h - private to mm/: the PFN database, the boot-time frame allocator,
 * and page-table helpers.
 */
#ifndef PAGODA_MI_H
#define PAGODA_MI_H

#include "mm.h"
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

typedef struct _MMPFN {
    PFN_NUMBER Flink;           /* next frame on its list, or MM_EMPTY_LIST */
    PFN_NUMBER Blink;           /* previous frame on its list */
    PMMPTE PteAddress;          /* the entry that maps this frame (self-map VA), when active */
    MMPTE OriginalPte;          /* what that entry held before (for the pagefile) */
    USHORT ReferenceCount;      /* holders: 1 while mapped or allocated, >1 when locked */
    UCHAR PageLocation;         /* MMLISTS */
    UCHAR Usage;                /* MI_PFN_USAGE */
    UCHAR Pageable;             /* may go to the pagefile (paged pool, user pages) */
    UCHAR Reserved[3];
    ULONG UsedPageTableEntries; /* for page-table pages: entries in use */
    ULONG Reserved2;
} MMPFN, *PMMPFN;
STATIC_ASSERT(sizeof(MMPFN) == 48);

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

extern PHYSICAL_MEMORY_DESCRIPTOR MmPhysicalMemoryBlock;
extern MMPFNLIST MmZeroedPageListHead;
extern MMPFNLIST MmFreePageListHead;
extern BOOLEAN MiPfnDatabaseReady;
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
void MiInsertPageInFreeList(PFN_NUMBER Pfn);
void MiZeroPhysicalPage(PFN_NUMBER Pfn);

/* mm/init.c: the boot-time allocator, used until the PFN database exists. */
PFN_NUMBER MiEarlyAllocatePage(void);
BOOLEAN MiIsEarlyAllocated(PFN_NUMBER Pfn);
/* Excluded from the free lists for good: the kernel image, the loader's data. */
MI_PFN_USAGE MiBootUsageOfPage(PFN_NUMBER Pfn);

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
 * for zeroing or copying a frame (NT's MiMapPageInHyperSpace). Only one
 * at a time, and unmapped before anything else can run. */
PVOID MiMapPageInHyperspace(PFN_NUMBER Pfn);
void MiUnmapPageInHyperspace(PVOID Va);

/* Write a PTE and flush the TLB entry for the address it maps. */
static inline void MiWritePte(PMMPTE Pte, ULONG64 Value)
{
    Pte->u.Long = Value;
    __invlpg(MiGetVirtualAddressMappedByPte(Pte));
}

/* Print a VA as WinDbg does, 0xFFFFF680'00000000. */
void MiPrintVa(ULONG64 Va);

#endif /* PAGODA_MI_H */
