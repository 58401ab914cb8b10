/*
 * mm.h - the memory manager's public interface: the address-space layout,
 * the page-table entry format, physical frames, and the routines other
 * components call. Private details live in mm/mi.h (and mm/vadtree.h),
 * which no other folder includes.
 *
 * Locks named in the contracts below (docs/memory.md, "Locking"):
 *   the PFN lock        the page lists and PFN entries; on this one
 *                       processor it is raising to DISPATCH_LEVEL
 *   the region lock     each system-VA bitmap (mm/sysva.c); also DISPATCH_LEVEL
 *   the VM mutex        a fast mutex (APC_LEVEL) around every change to a
 *                       user half: VAD tree, commit counts, user page tables
 *                       (mm/virtual.c; one for all address spaces)
 * Every public routine takes the locks it needs and returns without them.
 */
#ifndef PAGODA_MM_H
#define PAGODA_MM_H

#include "../include/ntdef.h"
#include "../include/ntstatus.h"
#include "../include/loader.h"
#include "../include/ntmmapi.h"
#include "../kernel/ke.h"    /* KPROCESSOR_MODE, for the MDL routines */

/* ------------------------------------------------------------------------
 * The virtual address space (48-bit, 4 levels; DESIGN.md and docs/memory.md).
 * Each system region sits in PML4 slots that are created once at boot and
 * shared by every address space, except the self-map and hyperspace, which
 * each address space has its own of.
 * ------------------------------------------------------------------------ */
#define MM_LOWEST_USER_ADDRESS   0x0000000000010000ULL
#define MM_HIGHEST_USER_ADDRESS  0x00007FFFFFFEFFFFULL
#define MM_USER_PROBE_ADDRESS    0x00007FFFFFFF0000ULL /* first address past user space */
#define MM_SYSTEM_RANGE_START    0xFFFF800000000000ULL

/* The self-map: PML4 entry 0x1ED points at the PML4 itself, so every
 * page-table page of the current address space appears at a fixed place. */
#define MM_SELFMAP_INDEX         0x1ED
#define PTE_BASE                 0xFFFFF68000000000ULL
#define PDE_BASE                 0xFFFFF6FB40000000ULL
#define PPE_BASE                 0xFFFFF6FB7DA00000ULL
#define PXE_BASE                 0xFFFFF6FB7DBED000ULL
#define PTE_TOP                  0xFFFFF6FFFFFFFFFFULL

#define MM_HYPERSPACE_INDEX      0x1EE
#define MM_HYPERSPACE_BASE       0xFFFFF70000000000ULL /* per address space */
#define MM_SHARED_USER_DATA_VA   0xFFFFF78000000000ULL /* KUSER_SHARED_DATA, system view */
#define MM_SHARED_USER_DATA_USER 0x000000007FFE0000ULL /* its read-only view in every process */
#define MM_SYSTEM_PTE_BASE       0xFFFFF88000000000ULL /* kernel stacks, MDL and I/O mappings */
#define MM_SYSTEM_PTE_SIZE       (16ULL << 30)
#define MM_PAGED_POOL_START      0xFFFFF8A000000000ULL
#define MM_PAGED_POOL_SIZE       (128ULL << 30)
#define MM_PFN_DATABASE          0xFFFFFA8000000000ULL
#define MM_PFN_DATABASE_SIZE     (128ULL << 30)
#define MM_NONPAGED_POOL_START   0xFFFFFAA000000000ULL
#define MM_NONPAGED_POOL_SIZE    (128ULL << 30)
#define MM_KERNEL_IMAGE_BASE     0xFFFFFFFF80000000ULL /* + physical address, for the image */
#define MM_HAL_VA_START          0xFFFFFFFFFFC00000ULL /* fixed mappings: VGA text, ... */
#define MM_HAL_VGA_TEXT          (MM_HAL_VA_START + 0x0000)

/* Pagoda will not start with less usable RAM than this. */
#define MM_MINIMUM_MEMORY_MB     24

/* ------------------------------------------------------------------------
 * A page-table entry at any level (NT's MMPTE): the hardware format and
 * every software one, with their bit layouts, are in mm/mmpte.h.
 * ------------------------------------------------------------------------ */
#include "mmpte.h"

/* Where the entries for Va live, through the self-map. */
static inline PMMPTE MiGetPteAddress(const void *Va)
{
    return (PMMPTE)(PTE_BASE + (((ULONG_PTR)Va >> 9) & 0x7FFFFFFFF8ULL));
}
static inline PMMPTE MiGetPdeAddress(const void *Va)
{
    return (PMMPTE)(PDE_BASE + (((ULONG_PTR)Va >> 18) & 0x3FFFFFF8ULL));
}
static inline PMMPTE MiGetPpeAddress(const void *Va)
{
    return (PMMPTE)(PPE_BASE + (((ULONG_PTR)Va >> 27) & 0x1FFFF8ULL));
}
static inline PMMPTE MiGetPxeAddress(const void *Va)
{
    return (PMMPTE)(PXE_BASE + (((ULONG_PTR)Va >> 36) & 0xFF8ULL));
}
/* The inverse: the virtual address a PTE maps. */
static inline PVOID MiGetVirtualAddressMappedByPte(const MMPTE *Pte)
{
    return (PVOID)((LONG64)(((ULONG_PTR)Pte - PTE_BASE) << 25) >> 16);
}

#define MiGetPxeOffset(Va) ((ULONG)(((ULONG_PTR)(Va) >> 39) & 0x1FF))
#define MiGetPpeOffset(Va) ((ULONG)(((ULONG_PTR)(Va) >> 30) & 0x1FF))
#define MiGetPdeOffset(Va) ((ULONG)(((ULONG_PTR)(Va) >> 21) & 0x1FF))
#define MiGetPteOffset(Va) ((ULONG)(((ULONG_PTR)(Va) >> 12) & 0x1FF))

/* ------------------------------------------------------------------------
 * Physical frames (mm/pfn.c)
 * ------------------------------------------------------------------------ */

/* What a frame is used for, kept in its PFN entry so that the shell and
 * gdb can say where memory went. */
typedef enum _MI_PFN_USAGE {
    MiUsageFree = 0,
    MiUsageKernelImage,
    MiUsageLoaderBlock,         /* multiboot2 information and modules (initrd) */
    MiUsagePageTable,
    MiUsagePfnDatabase,
    MiUsageNonPagedPool,
    MiUsagePagedPool,
    MiUsageKernelStack,
    MiUsageUser,
    MiUsageSystemPte,
    MiUsageDriver,              /* MmAllocatePhysicalPage callers outside mm/ */
    MiUsageSharedUserData,      /* the one KUSER_SHARED_DATA frame */
    MiUsageMaximum
} MI_PFN_USAGE;

/* Total frames the PFN database describes (fixed after boot); frames free,
 * zeroed or on standby (NT's MmAvailablePages); frames in use for Usage. Any IRQL, no
 * lock: each is one read, possibly stale by the time it is used. */
PFN_NUMBER MmNumberOfPhysicalPages(void);
PFN_NUMBER MmAvailablePages(void);
PFN_NUMBER MmPagesInUse(MI_PFN_USAGE Usage);

/* Where the frames are, taken together under the PFN lock so that the
 * numbers agree with each other (the shell's mem command). */
typedef struct _MM_MEMORY_COUNTERS {
    PFN_NUMBER TotalPages;              /* frames the PFN database describes */
    PFN_NUMBER AvailablePages; /* free + zeroed + standby */
    PFN_NUMBER ZeroedPages;             /* on the zeroed list */
    PFN_NUMBER PagesByUsage[MiUsageMaximum];
    ULONG64 ZeroedPagesServed;          /* handed out from the zeroed list */
    ULONG64 PagesZeroedOnDemand;        /* zeroed at allocation: the list was empty */
    PFN_NUMBER CommittedPages; /* the commit charge: user halves, paged pool */
    PFN_NUMBER CommitLimit;             /* what it may grow to now (mm/pfn.c) */
    PFN_NUMBER PagedPoolCommittedPages; /* paged pool's part of CommittedPages */
    PFN_NUMBER ResidentAvailablePages; /* frames not pinned (mm/pfn.c) */
    PFN_NUMBER MinimumResidentAvailablePages; /* its floor for pinning more */
    PFN_NUMBER SystemPageTablePages; /* system-space tables made after boot: kept for
                                         * good (mm/pte.c) */
    PFN_NUMBER FreePages; /* on the free list */
    PFN_NUMBER StandbyPages; /* clean, trimmed, reusable */
    PFN_NUMBER ModifiedPages; /* dirty, trimmed, waiting for a writer */
    PFN_NUMBER ModifiedNoWritePages;
    PFN_NUMBER BadPages;
    ULONG64 StandbyPagesReused; /* standby frames given to a new owner */
    ULONG64 TrimmedPages; /* pages trimmed from any working set */
    PFN_NUMBER PageFilePages; /* slots of the pagefile (0: no pagefile), slot 0 included */
    PFN_NUMBER PageFileInUse; /* slots holding a page now */
    PFN_NUMBER PageFilePeak;
    ULONG64 PagesWritten; /* by the modified page writer */
    ULONG64 PageFileWrites; /* its write IRPs (PagesWritten / this = cluster size) */
    ULONG64 PageFileReads; /* hard faults' read IRPs */
    ULONG64 PageFilePagesRead; /* pages they read (PageFilePagesRead / PageFileReads:
                                * the average read cluster) */
} MM_MEMORY_COUNTERS, *PMM_MEMORY_COUNTERS;

/* Fill *Counters (mm/pfn.c). IRQL <= DISPATCH_LEVEL; takes and releases
 * the PFN lock. */
void MmQueryMemoryCounters(PMM_MEMORY_COUNTERS Counters);

/*
 * Take one frame off the free lists for Usage (MiUsageDriver for callers
 * outside mm/), zero-filled when Zero is TRUE. Returns
 * STATUS_INSUFFICIENT_RESOURCES when no frame is left that is not promised
 * to a committed user page (mm/pfn.c, "The commit charge"). The caller owns the
 * frame until MmFreePhysicalPage. IRQL <= DISPATCH_LEVEL; takes and
 * releases the PFN lock.
 */
MUST_INSPECT_RESULT NTSTATUS
MmAllocatePhysicalPage(MI_PFN_USAGE Usage, BOOLEAN Zero, PPFN_NUMBER Pfn);

/* Return a frame from MmAllocatePhysicalPage to the free list. Freeing a
 * frame that is not in use is bugcheck PFN_LIST_CORRUPT. IRQL <=
 * DISPATCH_LEVEL; takes and releases the PFN lock. */
void MmFreePhysicalPage(PFN_NUMBER Pfn);

/* The working-set manager's body (mm/wsmgr.c): ps/psmgr.c starts it as a
 * System thread. It ages every working set each second and trims when
 * available pages run low. PASSIVE_LEVEL; never returns. */
void MmWorkingSetManager(PVOID Context);

/* mm/pagefile.c: open the pagefile (after the disk driver; "pagefile=" at
 * boot) and start the modified page writer, which writes modified pages to
 * it (docs/paging.md). Without a disk or with "pagefile=off" it says so once
 * and the system runs without one, as before. PASSIVE_LEVEL, once. */
void MmInitializePagingFile(void);
/* Write every page now on the modified list to the pagefile in the
 * calling thread (what the writer does when woken), and return the pages
 * written; 0 without a pagefile. For tests and the shell. PASSIVE_LEVEL. */
PFN_NUMBER MmFlushModifiedPages(void);
/* TRUE when a pagefile is open. */
BOOLEAN MmPagingFileActive(void);
/* With a pagefile, print one line of what it saw: pages written, reads,
 * hard faults, peak slots, waits for frames. PASSIVE_LEVEL. */
void MmPrintPagingSummary(void);

/* The zero-page thread's body (mm/zeropage.c): ps/psmgr.c starts it as a
 * System thread at priority 0. PASSIVE_LEVEL; takes the PFN lock for one
 * frame at a time; never returns. */
void MmZeroPageThread(PVOID Context);

/* ------------------------------------------------------------------------
 * Mappings (mm/pte.c)
 * ------------------------------------------------------------------------ */

/*
 * These four read the current address space's tables through the
 * self-map, at any IRQL and without a lock (the bugcheck backtrace and the
 * debugger use them with anything held): the answer is a snapshot that
 * another thread may change as soon as it is taken.
 */
/* TRUE when Va is mapped by a present entry at every level (a read would
 * not fault). */
BOOLEAN MmIsAddressValid(const void *Va);

/* The leaf entry that maps Va (a PTE, or the PDE/PDPTE of a large page),
 * or 0 when the walk stops at a not-present entry. */
ULONG64 MmGetPteValue(const void *Va);

/* Print the four levels for Va the way WinDbg's !pte does. */
void MmDumpPte(const void *Va);

/* Physical address behind a mapped Va, or 0 when not mapped. */
ULONG64 MmGetPhysicalAddress(const void *Va);

/* ------------------------------------------------------------------------
 * Address spaces (mm/procsup.c)
 *
 * An address space is a PML4 whose system half (entries 256-511) is a copy
 * of the boot PML4's, with its own self-map entry and hyperspace, and a
 * private user half described by its VAD tree. The process manager embeds
 * one in each process (EPROCESS); the System process uses
 * MmSystemAddressSpace, whose user half stays empty.
 * ------------------------------------------------------------------------ */

/* The VAD tree's node and table (NT's MMADDRESS_NODE and MM_AVL_TABLE),
 * here only because MMADDRESS_SPACE embeds the table: the routines that
 * read and change them are private to mm/ (mm/vadtree.h). A node is the
 * first field of each MMVAD (mm/mi.h). */
typedef struct _MMADDRESS_NODE {
    struct _MMADDRESS_NODE *Parent;     /* NULL for the root */
    struct _MMADDRESS_NODE *LeftChild;  /* ranges below StartingVpn */
    struct _MMADDRESS_NODE *RightChild; /* ranges above EndingVpn */
    LONG Balance;              /* height(right) - height(left), in -1..1 */
    ULONG_PTR StartingVpn;     /* first page of the range */
    ULONG_PTR EndingVpn;       /* last page of the range (inclusive) */
} MMADDRESS_NODE, *PMMADDRESS_NODE;

typedef struct _MM_AVL_TABLE {
    PMMADDRESS_NODE Root;               /* NULL when the table is empty */
    ULONG NumberGenericTableElements;   /* number of nodes in the tree */
} MM_AVL_TABLE, *PMM_AVL_TABLE;

/* Which lock protects each field: "VM mutex" is the fast mutex above,
 * "fault" means the page-fault handler, which runs with interrupts
 * disabled (an interrupt gate), so nothing else runs on this processor
 * while it changes the field. Creation and deletion touch every field
 * without a lock: nobody else can reach the space then. */
/*
 * A working set (NT's MMSUPPORT; mm/wsmgr.c, docs/paging.md): the pages of
 * an address space that are valid now. The pages are linked through their
 * PFN entries (MMPFN.Flink/Blink while active and in a working set; NT
 * keeps an array of entries instead), oldest first; each PFN entry keeps
 * the page's age. Trimming makes a page's PTE a transition PTE and moves
 * its frame to the standby or modified list; touching it again is a soft
 * fault. "PFN lock": the fields change at DISPATCH_LEVEL (faults, trims,
 * frees). "VM mutex": the expansion list, which the working-set manager
 * walks.
 */
typedef struct _MMSUPPORT {
    LIST_ENTRY WorkingSetExpansionLinks; /* on MmWorkingSetExpansionHead. VM mutex */
    PFN_NUMBER WsFlink; /* oldest page in the working set. PFN lock */
    PFN_NUMBER WsBlink; /* newest. PFN lock */
    PFN_NUMBER WorkingSetSize; /* pages in it now. PFN lock */
    PFN_NUMBER PeakWorkingSetSize; /* the most it ever had. PFN lock */
    PFN_NUMBER MinimumWorkingSetSize; /* the manager trims no further when
                                         * memory is merely low */
    PFN_NUMBER MaximumWorkingSetSize; /* above it, aged pages go first */
    ULONG64 PageFaultCount; /* faults that made a page valid
                                         * (demand-zero + soft). PFN lock */
    ULONG64 TransitionFaults; /* soft faults: back from standby or
                                         * modified, no I/O. PFN lock */
    ULONG64 HardFaults; /* faults that read from the pagefile
                                         * (also in PageFaultCount). PFN lock */
    ULONG64 TrimmedPages; /* pages trimmed from it. PFN lock */
    BOOLEAN DeletePending; /* off the expansion list, being deleted:
                                         * its standby frames are not reused. VM
                                         * mutex and PFN lock to set */
} MMSUPPORT, *PMMSUPPORT;

typedef struct _MMADDRESS_SPACE {
    ULONG64 DirectoryTableBase;    /* CR3: physical address of the PML4. Set at creation, then read-only */
    MM_AVL_TABLE VadRoot;          /* the VADs of the user half. VM mutex */
    PFN_NUMBER CommittedPages;     /* commit charge of private memory. VM mutex */
    PFN_NUMBER ResidentPages; /* user pages (MmSystemAddressSpace: paged pool
                                    * pages) with a frame now: valid, or in
                                    * transition with the frame on a list (so
                                    * >= Vm.WorkingSetSize). Raised by a fault;
                                    * lowered by decommit under the VM mutex, or
                                    * when a standby frame is reused (PFN lock) */
    PFN_NUMBER PageTablePages;     /* page-table pages of the user half. VM mutex */
    PFN_NUMBER PageFilePages; /* its pages (MmSystemAddressSpace: paged pool
                                    * pages) in the pagefile and nowhere else: PTEs
                                    * in the pagefile state, each owning a slot.
                                    * Raised when a standby frame is reused, lowered
                                    * by a hard fault, decommit or exit. PFN lock */
    ULONG64 DemandZeroFaults;      /* faults resolved with a zeroed frame. Fault */
    PFN_NUMBER LockedPages;        /* user pages MDLs hold locked (mm/mdl.c): the
                                    * space may not be deleted while any is. PFN lock */
    PFN_NUMBER HyperspacePfns[3];  /* its own hyperspace PDPT, PD and PT. Set at creation */
    MMSUPPORT Vm; /* its working set (NT's EPROCESS.Vm) */
} MMADDRESS_SPACE, *PMMADDRESS_SPACE;

/* The System and Idle processes' address space (no user half). */
extern MMADDRESS_SPACE MmSystemAddressSpace;
/* The address space whose PML4 is in CR3. Written with interrupts
 * disabled, together with CR3: by MmAttachAddressSpace and by the
 * scheduler's context switch (kernel/sched.c). */
extern PMMADDRESS_SPACE MmCurrentAddressSpace;

/*
 * Create an address space: a new PML4 with the shared system half, its own
 * self-map and hyperspace, and the read-only view of the shared user data
 * page at MM_SHARED_USER_DATA_USER. Returns STATUS_INSUFFICIENT_RESOURCES
 * when frames or pool run out (nothing is left allocated then). The caller
 * frees it with MmDeleteProcessAddressSpace. IRQL < DISPATCH_LEVEL; takes
 * the PFN lock for each frame; no lock on the new space (nobody else knows
 * it yet).
 */
MUST_INSPECT_RESULT NTSTATUS
MmCreateProcessAddressSpace(PMMADDRESS_SPACE *AddressSpace);

/*
 * Return every user frame, page-table page, VAD and the PML4 itself. The
 * address space must not be current, and no other thread may use it (its
 * process is being run down): no VM mutex is taken. Afterwards the
 * free-frame count is what it was before MmCreateProcessAddressSpace.
 * An MDL that still holds pages of it locked (LockedPages != 0) is
 * bugcheck PROCESS_HAS_LOCKED_PAGES (0x76).
 * IRQL < DISPATCH_LEVEL; takes the PFN lock for each frame.
 */
void MmDeleteProcessAddressSpace(PMMADDRESS_SPACE AddressSpace);

/* Make AddressSpace current (write CR3) and return the previous one, to
 * give back later. Kernel code uses it to work in another process's user
 * space; the thread stays attached across context switches (the scheduler
 * saves MmCurrentAddressSpace in KTHREAD.AddressSpace). Any IRQL; no lock:
 * interrupts are disabled while CR3 and MmCurrentAddressSpace change. */
PMMADDRESS_SPACE MmAttachAddressSpace(PMMADDRESS_SPACE AddressSpace);

/* Trim every page of AddressSpace's working set that may leave (NT's
 * "empty working set"): valid PTEs become transition PTEs, frames go to
 * the standby or modified list; the next touch of each is a soft fault.
 * Pages locked by an MDL stay. Returns the pages trimmed (0 for an address
 * space being deleted). IRQL <= APC_LEVEL; takes and releases the PFN
 * lock, attaching to AddressSpace meanwhile. The caller keeps
 * AddressSpace alive. */
PFN_NUMBER MmEmptyWorkingSet(PMMADDRESS_SPACE AddressSpace);
/* Give every standby frame of AddressSpace (NULL: of every address space
 * not being deleted) back to the free list, as a reuse would: each page's
 * PTE gets its saved contents back (demand-zero, or the pagefile PTE of
 * its copy), so its next touch is a demand-zero or hard fault. NT's
 * MemoryPurgeStandbyList; for tests and benchmarks. Returns the frames
 * freed. IRQL <= DISPATCH_LEVEL; takes the PFN lock. */
PFN_NUMBER MmPurgeStandbyPages(PMMADDRESS_SPACE AddressSpace);

/* Trim every page of the system working set (paged pool) that may leave,
 * as MmEmptyWorkingSet does for an address space: the next touch of each
 * is a fault, which at DISPATCH_LEVEL or above is a bugcheck. For Driver
 * Verifier's IRQL checking (kernel/vfirql.c), which calls it each time a
 * verified driver takes a spin lock. Returns the pages trimmed. IRQL <=
 * DISPATCH_LEVEL; takes and releases the PFN lock. */
PFN_NUMBER MmTrimAllSystemPageableMemory(void);

/* The entries that translate one address, top level first (the shell's
 * pte command). */
typedef struct _MM_PTE_WALK {
    ULONG Levels;                   /* entries read: 1..4 */
    ULONG64 EntryAddress[4];        /* where each lives (its self-map address) */
    ULONG64 Entry[4];               /* PML4E, PDPTE, PDE, PTE */
    ULONG PageLocation; /* the leaf's frame, when the PTE is valid or in
                                     * transition and the frame is RAM: its list (NT's
                                     * MMLISTS: 2 standby, 3 modified, 6 active, ...);
                                     * else MM_NO_PAGE_LOCATION */
} MM_PTE_WALK, *PMM_PTE_WALK;
#define MM_NO_PAGE_LOCATION 0xFFFFFFFFu

/*
 * Read the entries that translate Va in AddressSpace, stopping after the
 * first not-present one or a large page (mm/pte.c), as the shell's pte
 * command shows them. The caller keeps
 * AddressSpace alive (a reference on its process). Returns
 * STATUS_INVALID_PARAMETER for a non-canonical Va. PASSIVE_LEVEL; takes
 * the VM mutex (so no page table of the user half is created or freed
 * under the walk), attaches to AddressSpace, and returns with neither.
 */
MUST_INSPECT_RESULT NTSTATUS
MmWalkPageTables(PMMADDRESS_SPACE AddressSpace, ULONG64 Va, PMM_PTE_WALK Walk);

/* ------------------------------------------------------------------------
 * Virtual memory of the current address space (mm/virtual.c), with the
 * semantics of NtAllocateVirtualMemory and friends. AddressSpace must be
 * current. Pointers are kernel pointers: the Nt* services capture user
 * arguments before calling these.
 *
 * IRQL and locks: the caller holds the VM mutex (so runs at APC_LEVEL) -
 * the Nt*VirtualMemory services, MmCommitUserRange, MmReleaseUserRange and
 * MmAllocateUserRange take it - or is the only thread that can reach AddressSpace (ps/ldr.c
 * mapping the image of a process that has no thread yet, at PASSIVE_LEVEL).
 * They take the PFN lock for each frame and return with it released.
 * ------------------------------------------------------------------------ */
MUST_INSPECT_RESULT NTSTATUS
MmAllocateVirtualMemory(PMMADDRESS_SPACE AddressSpace, PVOID *BaseAddress, SIZE_T *RegionSize,
                        ULONG AllocationType, ULONG Protect);
MUST_INSPECT_RESULT NTSTATUS
MmFreeVirtualMemory(PMMADDRESS_SPACE AddressSpace, PVOID *BaseAddress, SIZE_T *RegionSize,
                    ULONG FreeType);
MUST_INSPECT_RESULT NTSTATUS
MmProtectVirtualMemory(PMMADDRESS_SPACE AddressSpace, PVOID *BaseAddress, SIZE_T *RegionSize,
                       ULONG NewProtect, PULONG OldProtect);
MUST_INSPECT_RESULT NTSTATUS
MmQueryVirtualMemory(PMMADDRESS_SPACE AddressSpace, PVOID BaseAddress,
                     PMEMORY_BASIC_INFORMATION Information);

/* Release the reservation at Base in AddressSpace, current or not (a user
 * thread's stack when the thread ends): MmFreeVirtualMemory's statuses.
 * PASSIVE_LEVEL; takes the VM mutex and attaches to AddressSpace, and
 * returns with neither. */
MUST_INSPECT_RESULT NTSTATUS
MmReleaseUserRange(PMMADDRESS_SPACE AddressSpace, PVOID Base);
/* Commit [Base, Base + Size) of AddressSpace with Protect (a user stack
 * growing into its guard page): MmAllocateVirtualMemory's statuses. IRQL
 * and locks as MmReleaseUserRange. */
MUST_INSPECT_RESULT NTSTATUS
MmCommitUserRange(PMMADDRESS_SPACE AddressSpace, PVOID Base, SIZE_T Size, ULONG Protect);
/* MmAllocateVirtualMemory on AddressSpace, current or not, for the
 * kernel's own allocations in a process other threads may be using (a new
 * thread's user stack, ps/create.c); kernel pointers. IRQL and locks as
 * MmReleaseUserRange (mm/procsup.c). */
MUST_INSPECT_RESULT NTSTATUS
MmAllocateUserRange(PMMADDRESS_SPACE AddressSpace, PVOID *BaseAddress, SIZE_T *RegionSize,
                    ULONG AllocationType, ULONG Protect);

/* One VAD as MmEnumerateVads reports it. */
typedef struct _MM_VAD_INFORMATION {
    ULONG_PTR StartingAddress;
    ULONG_PTR EndingAddress;        /* last byte */
    ULONG AllocationProtect;        /* PAGE_* given at MEM_RESERVE */
    ULONG Flags;                    /* MM_VAD_* */
    PFN_NUMBER CommittedPages;
} MM_VAD_INFORMATION, *PMM_VAD_INFORMATION;
#define MM_VAD_PRIVATE          0x1 /* private memory (every VAD today) */
#define MM_VAD_SHARED_USER_DATA 0x2 /* the read-only KUSER_SHARED_DATA view: cannot be freed */

/* Called once per VAD, lowest address first, with the VM mutex held
 * (APC_LEVEL): it may not wait, nor touch pageable or user memory.
 * Returns FALSE to stop the walk. */
typedef BOOLEAN (*PMM_ENUMERATE_VAD_ROUTINE)(const MM_VAD_INFORMATION *Vad, PVOID Context);

/*
 * Report the VADs of AddressSpace (current or not; the caller keeps it
 * alive) to Callback, which may be NULL to only count them. Returns the
 * number of VADs in the tree, whether or not the callback stopped early.
 * PASSIVE_LEVEL; takes the VM mutex and returns without it.
 */
ULONG MmEnumerateVads(PMMADDRESS_SPACE AddressSpace, PMM_ENUMERATE_VAD_ROUTINE Callback,
                      PVOID Context);

/* ------------------------------------------------------------------------
 * Safe access to user memory (mm/probe.c). Every Nt* service reads and
 * writes user memory only through these. They return
 * STATUS_ACCESS_VIOLATION, never fault the kernel, for a NULL, kernel,
 * non-canonical, unmapped or partly mapped user buffer. No locks; the
 * buffer's address space must be current. ProbeForRead only checks the
 * range (any IRQL); the other three touch user memory, which may fault, so
 * IRQL < DISPATCH_LEVEL.
 * NOTE: NT's ProbeForRead/ProbeForWrite raise an exception; Pagoda has no
 * structured exception handling, so they return a status instead.
 * ------------------------------------------------------------------------ */
NTSTATUS ProbeForRead(const void *Address, SIZE_T Length, ULONG Alignment);
NTSTATUS ProbeForWrite(PVOID Address, SIZE_T Length, ULONG Alignment);
NTSTATUS MmCopyFromUser(PVOID KernelDestination, const void *UserSource, SIZE_T Length);
NTSTATUS MmCopyToUser(PVOID UserDestination, const void *KernelSource, SIZE_T Length);

/* ------------------------------------------------------------------------
 * Pools, as in the DDK (mm/pool.c; the allocator behind it, mm/poolcore.c
 * and mm/poolcheck.c, is private to mm/). POOL_TYPE, POOL_FLAG_* and
 * POOL_TAG_INFO are in include/pool.h.
 * ------------------------------------------------------------------------ */
#include "../include/pool.h"

/*
 * Allocate NumberOfBytes of PoolType charged to Tag (four characters,
 * POOL_TAG('P','g','d','a')). Returns the block, not zeroed, 16-byte
 * aligned (page-aligned from 4065 bytes up), or NULL when the pool cannot
 * grow. IRQL: nonpaged types <= DISPATCH_LEVEL, paged types <
 * DISPATCH_LEVEL, else bugcheck IRQL_NOT_LESS_OR_EQUAL. The caller frees
 * it with ExFreePoolWithTag (same tag) or ExFreePool.
 */
PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
/* The same from POOL_FLAG_NON_PAGED or POOL_FLAG_PAGED (exactly one),
 * zeroed unless POOL_FLAG_UNINITIALIZED; NULL for unknown flags and for a
 * Tag of 0 (Microsoft's documentation). */
PVOID ExAllocatePool2(ULONG64 Flags, SIZE_T NumberOfBytes, ULONG Tag);
/*
 * Free P, a block from ExAllocatePoolWithTag; Tag must be the one it was
 * allocated with. IRQL as for the allocation, by P's pool. A double free,
 * a wrong tag, a pointer that is not a block or a damaged header is
 * bugcheck BAD_POOL_CALLER (0xC2) or BAD_POOL_HEADER (0x19).
 */
void ExFreePoolWithTag(PVOID P, ULONG Tag);
/* ExFreePoolWithTag without the tag check. */
void ExFreePool(PVOID P);
/* Copy up to Count lines of PoolType's tag table, like WinDbg's !poolused
 * (at most POOL_TRACKER_SIZE lines, the overflow bucket last); returns how
 * many lines there are, which may exceed Count. IRQL as for allocating
 * from PoolType; Buffer must be resident (it is filled under the lock). */
ULONG ExQueryPoolTags(POOL_TYPE PoolType, PPOOL_TAG_INFO Buffer, ULONG Count);

/* ------------------------------------------------------------------------
 * System PTEs (mm/sysva.c): virtual ranges in system space mapped on
 * request, for kernel stacks, MDL mappings and device or loader memory.
 * ------------------------------------------------------------------------ */

/* Map NumberOfBytes of physical memory at PhysicalAddress (any alignment)
 * into system space, read/write, no-execute; Uncached for device memory.
 * Returns the virtual address of PhysicalAddress, or NULL when NumberOfBytes
 * is 0 or system PTEs or page-table frames run out; the caller gives it
 * back with MmUnmapIoSpace. The frames are not the PFN database's business
 * (device memory, the loader's data). IRQL <= DISPATCH_LEVEL; takes the
 * region lock and the PFN lock (for new page tables) and releases them. */
PVOID MmMapIoSpace(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes, BOOLEAN Uncached);
/* Undo MmMapIoSpace (same BaseAddress and NumberOfBytes). IRQL <=
 * DISPATCH_LEVEL; takes and releases the region lock. */
void MmUnmapIoSpace(PVOID BaseAddress, SIZE_T NumberOfBytes);

/* A kernel stack of Pages pages with an unmapped guard page below it, in
 * system PTE space. Returns the stack's top (highest address + 1), or NULL
 * when system PTEs or frames run out; the caller frees it with
 * MmDeleteKernelStack. Running off its end faults on the guard page: a
 * double fault, bugcheck UNEXPECTED_KERNEL_MODE_TRAP (0x7F, 8), as on
 * Windows. IRQL <= DISPATCH_LEVEL; takes the region lock and the PFN lock
 * and releases them. */
PVOID MmCreateKernelStack(ULONG Pages);
/* Free a stack from MmCreateKernelStack (its top and its Pages), which no
 * thread may be running on. IRQL and locks as MmCreateKernelStack. */
void MmDeleteKernelStack(PVOID StackBase, ULONG Pages);

/*
 * Driver images (mm/sysldr.c; the loader is io/ldr.c). MmAllocateSystemImage
 * maps Pages zeroed frames (MiUsageDriver) read/write, no-execute, in
 * system PTE space; NULL when PTEs or frames run out. MmProtectSystemImage
 * sets Pages of it from Base to PAGE_EXECUTE_READ, PAGE_READONLY or
 * PAGE_READWRITE (no-execute) - never writable and executable at once:
 * STATUS_INVALID_PAGE_PROTECTION for anything else. MmFreeSystemImage
 * gives back the whole run. MmQuerySystemPtesInUse: pages of system PTE
 * space reserved now (stacks, MDL and I/O mappings, images), for the
 * tests' baselines. PASSIVE_LEVEL; each takes and releases the region
 * lock and the PFN lock.
 */
PVOID MmAllocateSystemImage(ULONG Pages);
MUST_INSPECT_RESULT NTSTATUS MmProtectSystemImage(PVOID Base, ULONG Pages, ULONG Protect);
void MmFreeSystemImage(PVOID Base, ULONG Pages);
ULONG_PTR MmQuerySystemPtesInUse(void);

/* ------------------------------------------------------------------------
 * Memory descriptor lists (mm/mdl.c; IoAllocateMdl and IoFreeMdl are in
 * io/mdl.c). An MDL describes a virtual buffer by the physical frames
 * behind it, so a driver can reach the buffer from any thread, at
 * DISPATCH_LEVEL too, through a mapping of its own in system PTEs
 * (docs/memory.md, "MDLs"). The layout is NT's (wdm.h), fact for fact:
 * the header, then one PFN_NUMBER per page the buffer touches.
 *
 *   StartVa + ByteOffset = the buffer's first byte; ByteCount its length;
 *   PFN array[i] = the frame behind page i of [StartVa, ...).
 *
 * Locks: an MDL belongs to whoever allocated it; Mm changes its fields
 * only inside the routines below, called by that owner.
 * ------------------------------------------------------------------------ */
typedef struct _MDL {
    struct _MDL *Next;          /* the next MDL of a chain (Irp->MdlAddress) */
    SHORT Size;                 /* bytes: this header and the PFN array */
    SHORT MdlFlags;             /* MDL_* */
    /* The address space the pages were locked in (for a user buffer;
     * NULL for a system one). NOTE: NT keeps the EPROCESS here; Pagoda's
     * Mm knows a process by its address space, which is what attaching
     * switches (MmAttachAddressSpace). */
    PMMADDRESS_SPACE Process;
    PVOID MappedSystemVa;       /* the system view, with MDL_MAPPED_TO_SYSTEM_VA
                                 * or MDL_SOURCE_IS_NONPAGED_POOL */
    PVOID StartVa;              /* the buffer's first page (page-aligned) */
    ULONG ByteCount;            /* the buffer's length */
    ULONG ByteOffset;           /* its first byte's offset in StartVa's page */
} MDL, *PMDL;
STATIC_ASSERT(sizeof(MDL) == 48);
STATIC_ASSERT(offsetof(MDL, Process) == 16 && offsetof(MDL, StartVa) == 32);

/* MdlFlags, with wdm.h's values. Pagoda sets the first six,
 * MDL_WRITE_OPERATION and MDL_IO_SPACE; the others are named for drivers
 * that test them. */
#define MDL_MAPPED_TO_SYSTEM_VA     0x0001  /* MappedSystemVa is a system-PTE mapping */
#define MDL_PAGES_LOCKED            0x0002  /* MmProbeAndLockPages referenced the frames */
#define MDL_SOURCE_IS_NONPAGED_POOL 0x0004  /* MmBuildMdlForNonPagedPool: StartVa is the view */
#define MDL_ALLOCATED_FIXED_SIZE    0x0008  /* IoAllocateMdl sized it for its buffer */
#define MDL_PARTIAL                 0x0010  /* IoBuildPartialMdl: a part of another's frames */
#define MDL_PARTIAL_HAS_BEEN_MAPPED 0x0020  /* ... with a view of its own (MmPrepareMdlForReuse) */
#define MDL_IO_PAGE_READ            0x0040
#define MDL_WRITE_OPERATION         0x0080  /* locked for IoWriteAccess or IoModifyAccess */
#define MDL_LOCKED_PAGE_TABLES      0x0100
#define MDL_FREE_EXTRA_PTES         0x0200
#define MDL_DESCRIBES_AWE           0x0400
#define MDL_IO_SPACE                0x0800  /* some frame is not RAM (no PFN entry) */
#define MDL_NETWORK_HEADER          0x1000
#define MDL_MAPPING_CAN_FAIL        0x2000
#define MDL_ALLOCATED_MUST_SUCCEED  0x4000
#define MDL_INTERNAL                0x8000

/* What the lock is for: IoWriteAccess and IoModifyAccess need writable
 * pages (the device writes into the buffer). */
typedef enum _LOCK_OPERATION { IoReadAccess = 0, IoWriteAccess = 1, IoModifyAccess = 2 } LOCK_OPERATION;

typedef enum _MEMORY_CACHING_TYPE {
    MmNonCached = 0,
    MmCached = 1,
    MmWriteCombined = 2,        /* mapped uncached here: Pagoda programs no PAT */
} MEMORY_CACHING_TYPE;

/* MmMapLockedPagesSpecifyCache's Priority: how hard to try when system
 * PTEs are short (one pool of them here: all try the same), or-ed with
 * MdlMappingNoWrite / MdlMappingNoExecute. */
typedef enum _MM_PAGE_PRIORITY {
    LowPagePriority = 0,
    NormalPagePriority = 16,
    HighPagePriority = 32,
} MM_PAGE_PRIORITY;
#define MdlMappingNoWrite   0x80000000u
#define MdlMappingNoExecute 0x40000000u /* every MDL mapping is no-execute here anyway */

#define MmGetMdlVirtualAddress(Mdl) ((PVOID)((PUCHAR)(Mdl)->StartVa + (Mdl)->ByteOffset))
#define MmGetMdlByteCount(Mdl)      ((Mdl)->ByteCount)
#define MmGetMdlByteOffset(Mdl)     ((Mdl)->ByteOffset)
#define MmGetMdlPfnArray(Mdl)       ((PPFN_NUMBER)((Mdl) + 1))
/* Bytes an MDL for [Base, Base + Length) takes: the header and its PFNs. */
#define MmSizeOfMdl(Base, Length) \
    (sizeof(MDL) + sizeof(PFN_NUMBER) * ADDRESS_AND_SIZE_TO_SPAN_PAGES((Base), (Length)))

/* Fill the header of an MDL for [BaseVa, BaseVa + Length) (the caller's
 * memory of MmSizeOfMdl bytes); the PFN array is left to the lock or
 * MmBuildMdlForNonPagedPool. Any IRQL. */
static inline void MmInitializeMdl(PMDL Mdl, PVOID BaseVa, SIZE_T Length)
{
    Mdl->Next = NULL;
    Mdl->Size = (SHORT)MmSizeOfMdl(BaseVa, Length);
    Mdl->MdlFlags = 0;
    Mdl->Process = NULL;
    Mdl->MappedSystemVa = NULL;
    Mdl->StartVa = PAGE_ALIGN(BaseVa);
    Mdl->ByteCount = (ULONG)Length;
    Mdl->ByteOffset = BYTE_OFFSET(BaseVa);
}

/*
 * MmProbeAndLockPages - make every page of the buffer Mdl describes
 * resident and keep it so: fault each page in (demand-zero, a stack's
 * guard page; with a write access for IoWriteAccess and IoModifyAccess),
 * raise its frame's reference count in the PFN database, and record the
 * frame in the PFN array. Sets MDL_PAGES_LOCKED (and MDL_WRITE_OPERATION).
 *
 * AccessMode UserMode: the buffer must lie in the user half, by the
 * rules of mm/probe.c (MiIsUserRange), and be in the current address
 * space (attached). KernelMode: any resident or pageable buffer; a user
 * one is reached through the same fault-safe touches.
 *
 * Returns STATUS_SUCCESS, or STATUS_ACCESS_VIOLATION (a kernel, NULL or
 * non-canonical range from UserMode; a page that is not committed, not
 * accessible or, for a write, read-only) or STATUS_GUARD_PAGE_VIOLATION
 * (a PAGE_GUARD page, consumed, as the probes do), or
 * STATUS_INSUFFICIENT_RESOURCES (a frame locked 65535 times); on failure
 * nothing stays locked. NOTE: NT raises an exception instead; Pagoda has
 * no structured exception handling, so it returns the status.
 * IRQL < DISPATCH_LEVEL (the touches may fault). The caller undoes it
 * with MmUnlockPages before freeing the MDL.
 */
MUST_INSPECT_RESULT NTSTATUS
MmProbeAndLockPages(PMDL Mdl, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Operation);

/* Drop the references MmProbeAndLockPages took, unmapping the system view
 * first if there is one. A frame freed while it was locked (its page
 * decommitted) goes to the free list now. IRQL <= DISPATCH_LEVEL; takes
 * and releases the PFN lock. */
void MmUnlockPages(PMDL Mdl);

/*
 * MmMapLockedPagesSpecifyCache - map the frames of a locked (or
 * MmBuildMdlForNonPagedPool) MDL at a new range of system PTEs,
 * read/write (read-only with MdlMappingNoWrite in Priority), no-execute,
 * uncached unless CacheType is MmCached. The view works from any thread
 * and address space. AccessMode must be KernelMode (mapping into user
 * space is not supported: NULL), RequestedAddress NULL.
 * Returns the address of the buffer's first byte in the view (it also
 * becomes Mdl->MappedSystemVa, with MDL_MAPPED_TO_SYSTEM_VA), or NULL
 * when system PTEs or page-table frames run out - unless BugCheckOnFailure,
 * then bugcheck NO_MORE_SYSTEM_PTES (0x3F). IRQL <= DISPATCH_LEVEL; takes
 * the region lock and the PFN lock and releases them. Undo with
 * MmUnmapLockedPages (or MmUnlockPages).
 */
PVOID MmMapLockedPagesSpecifyCache(PMDL Mdl, KPROCESSOR_MODE AccessMode, MEMORY_CACHING_TYPE CacheType,
                                   PVOID RequestedAddress, ULONG BugCheckOnFailure,
                                   ULONG Priority);

/* Remove the view MmMapLockedPagesSpecifyCache made (BaseAddress is what
 * it returned) and give its system PTEs back. The frames stay locked.
 * IRQL <= DISPATCH_LEVEL; takes and releases the region lock. */
void MmUnmapLockedPages(PVOID BaseAddress, PMDL Mdl);

/* Make a partial MDL (IoBuildPartialMdl, io/io.h) ready to describe
 * another part: the view of its own it may have got
 * (MDL_PARTIAL_HAS_BEEN_MAPPED) is unmapped. Must be called before the
 * partial MDL is built again or freed (IoFreeMdl does it). NT's macro.
 * IRQL <= DISPATCH_LEVEL. */
static inline void MmPrepareMdlForReuse(PMDL Mdl)
{
    if (Mdl->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED) {
        ASSERT(Mdl->MdlFlags & MDL_PARTIAL);
        MmUnmapLockedPages(Mdl->MappedSystemVa, Mdl);
    }
}

/* The buffer's system address: the view already made, the buffer itself
 * for nonpaged pool, else a new view (NULL when system PTEs run out).
 * Mdl is locked, built for nonpaged pool, or a partial MDL of one of
 * these. IRQL <= DISPATCH_LEVEL. */
static inline PVOID MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority)
{
    if (Mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL))
        return Mdl->MappedSystemVa;
    return MmMapLockedPagesSpecifyCache(Mdl, KernelMode, MmCached, NULL, FALSE, Priority);
}

/* Fill the PFN array of an MDL whose buffer is in nonpaged pool (resident
 * for ever: nothing is locked), set MDL_SOURCE_IS_NONPAGED_POOL and make
 * MappedSystemVa the buffer itself. IRQL <= DISPATCH_LEVEL; no lock. */
void MmBuildMdlForNonPagedPool(PMDL Mdl);

/* The number of user pages MmProbeAndLockPages holds locked in
 * AddressSpace (mm/mdl.c; for tests and the debugger). Any IRQL. */
PFN_NUMBER MmGetLockedPageCount(const MMADDRESS_SPACE *AddressSpace);

/* ------------------------------------------------------------------------
 * Initialisation and faults
 * ------------------------------------------------------------------------ */

/* Phase 0: build the kernel's page tables, switch to them, build the PFN
 * database, the system address space and the pools. Called once by
 * KiSystemStartup, with interrupts disabled and no other thread. */
void MmInitSystem(const LOADER_PARAMETER_BLOCK *LoaderBlock);

/* Resolve a page fault (mm/fault.c, whose comment has the contract);
 * kernel/trap.c's KiDispatchTrap is the only caller, for every #PF.
 * STATUS_SUCCESS: retry the access (a page was made valid, or the user
 * stack grew). Else the status the access fails with; the caller ends the
 * process (user mode), resumes at a copy routine's fixup, or bugchecks. */
NTSTATUS MmAccessFault(ULONG64 FaultCode, PVOID Va, ULONG_PTR FaultingRip);

/* Page-fault counters by outcome, for tests and the shell. */
typedef struct _MM_FAULT_COUNTERS {
    ULONG64 Total;
    ULONG64 DemandZero;             /* user pages */
    ULONG64 PagedPoolDemandZero;    /* paged pool pages */
    ULONG64 GuardPage;              /* PAGE_GUARD hits */
    ULONG64 AccessViolation;        /* user-half faults refused */
    ULONG64 KernelUnresolved;       /* system-half faults refused (bugcheck follows) */
    ULONG64 UserStackGrowth;        /* stack guard pages moved down a page */
    ULONG64 TransitionFault; /* soft faults: a trimmed page back from the
                                     * standby or modified list, no I/O */
    ULONG64 HardFault; /* hard faults: a page read back from the pagefile */
    ULONG64 CollidedFault; /* faults that waited for another fault's read of
                                     * the same page instead of reading it again */
} MM_FAULT_COUNTERS;
/* volatile: page faults update them behind the compiler's back, in the
 * middle of any code that touches memory. */
extern volatile MM_FAULT_COUNTERS MmFaultCounters;

/* ------------------------------------------------------------------------
 * Driver Verifier (mm/specpool.c, docs/verifier.md)
 * ------------------------------------------------------------------------ */

/* The checks on now: VERIFIER_* (include/loader.h), from "verifier=" at
 * boot or MmSetSpecialPool. Changed only at PASSIVE_LEVEL. */
extern ULONG MmVerifierFlags;
/* Special pool watches only this tag; 0: every allocation of up to 4064
 * bytes ("verifiertag=TAG"). */
extern ULONG MmSpecialPoolTag;

typedef struct _MM_VERIFIER_COUNTERS {
    ULONG64 SpecialPoolAllocations;  /* blocks given out from special pool */
    ULONG64 SpecialPoolFrees;
    ULONG64 SpecialPoolFallbacks;    /* watched requests served by the ordinary pool
                                        (table full, or no page) */
    ULONG64 InjectedFailures;        /* allocations low resources simulation failed */
} MM_VERIFIER_COUNTERS;
/* Updated under the special pool's lock, or (InjectedFailures) without
 * one; a snapshot for tests and the shell. */
extern MM_VERIFIER_COUNTERS MmVerifierCounters;

/*
 * Turn special pool on (Enable) for allocations of Tag (0: every
 * allocation of up to 4064 bytes) from now on, with the guard page after
 * the block, or before it when Underrun; or off. Blocks already handed
 * out stay where they are and are freed as they were allocated. What a
 * test calls to watch its own allocations without a boot key; the boot
 * key's choice is replaced. PASSIVE_LEVEL.
 */
VOID MmSetSpecialPool(BOOLEAN Enable, BOOLEAN Underrun, ULONG Tag);

/* TRUE when P lies in a special-pool run, live or freed. Any IRQL; reads
 * the table without its lock (a snapshot). */
BOOLEAN MmIsSpecialPoolAddress(const void *P);

/* The first byte around the live special-pool block P that no longer holds
 * the fill pattern (what the free would bugcheck 0xC1 for), or NULL when
 * it is intact or P is not such a block. IRQL <= DISPATCH_LEVEL. */
PVOID MmFindSpecialPoolCorruption(PVOID P);

/* A kernel-mode page fault at Va that nothing resolved, from kernel/trap.c
 * on its way to a bugcheck: when Va is in a special-pool run, bugcheck
 * 0xD5 (freed run) or 0xD6 (guard page), parameters as NT's plus the tag;
 * otherwise return, and the caller gives its usual stop. Any IRQL. */
VOID MmCheckSpecialPoolFault(ULONG_PTR Va, ULONG64 FaultCode, ULONG_PTR Rip);

/* Turn on the checks "verifier=" chose (Flags VERIFIER_*, special pool's
 * Tag or 0, low resources' Seed or 0 for the default) and print them.
 * Called once by KiSystemStartup at the start of phase 1, so allocations
 * made before (the boot's own) are never special. PASSIVE_LEVEL. */
VOID MmInitializeVerifier(ULONG Flags, ULONG Tag, ULONG Seed);

/* Print what the checks on did (allocations failed on purpose, special
 * pool's counts, then one line per special-pool block still allocated,
 * with its tag); nothing when none is on. When init has ended. Any IRQL. */
VOID MmVerifierPrintSummary(void);

/* The system has booted (init exists): low resources simulation, if
 * "verifier=lowres" asked for it, starts failing allocations now.
 * PASSIVE_LEVEL. */
VOID MmVerifierBootCompleted(void);

#endif /* PAGODA_MM_H */
