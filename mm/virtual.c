/*
 * virtual.c - the virtual memory of a process's user half: reserving,
 * committing, decommitting, releasing, protecting and querying it, with the
 * rules of NtAllocateVirtualMemory, NtFreeVirtualMemory,
 * NtProtectVirtualMemory and NtQueryVirtualMemory (what VirtualAlloc,
 * VirtualFree, VirtualProtect and VirtualQuery call).
 *
 * Every page of the user half is in one of three states:
 *
 *   free       no VAD covers it                 any touch: access violation
 *   reserved   a VAD covers it, its PTE is 0     any touch: access violation
 *   committed  a VAD covers it, its PTE is not 0 first touch: a zeroed frame
 *              (a software PTE holding the MM_* protection until the first
 *              touch, mm/fault.c; a valid PTE afterwards)
 *
 * A VAD (MMVAD, mm/mi.h) is one reservation: a range of pages that starts on
 * a 64 KiB boundary (MM_ALLOCATION_GRANULARITY; a piece left by releasing
 * part of a reservation may start on any page) and ends on a page
 * boundary, with the protection it was reserved with and the number of its
 * pages that are committed. The VADs of an address space never overlap and
 * live in an AVL tree ordered by address (mm/vadtree.c), so "which VAD holds
 * this address?" is O(log n):
 *
 *   user half (one address space)               its VAD tree
 *
 *   0x00000000'00000000 +-------------------+
 *                       | null guard, 64 K  |   never reservable
 *   0x00000000'00010000 +-------------------+
 *                       | VAD A             |                 [B]
 *                       |  C C C R R R R R  |                /   \
 *                       +-------------------+             [A]     [S]
 *                       | free              |                    /
 *   0x00000000'10000000 +-------------------+                 [C]
 *                       | VAD B (reserved)  |
 *                       +-------------------+   C = committed page
 *                       | free              |   R = reserved page
 *   0x00000000'7FF00000 | VAD C  R C C R    |
 *   0x00000000'7FFE0000 | VAD S  shared user data, read-only, fixed
 *                       | free              |
 *   0x00007FFF'FFFEFFFF +-------------------+   MM_HIGHEST_USER_ADDRESS
 *
 * The rules, as Windows has them (the WRK's allocvm.c, freevm.c and
 * protect.c are the reference):
 *   - MEM_RESERVE (or a NULL base) makes a VAD: a given base is rounded
 *     down to 64 KiB and the end up to a page; a NULL base takes the lowest
 *     (MEM_TOP_DOWN: the highest) free 64 KiB-aligned range that fits.
 *   - MEM_COMMIT of a given base commits pages of one existing VAD; pages
 *     already committed keep their contents and take the new protection.
 *   - MEM_DECOMMIT returns pages to reserved (frames freed); MEM_RELEASE
 *     decommits a whole VAD and deletes it, or a part of one and shrinks
 *     or splits the VAD around it.
 *   - Protection changes need every page of the range committed.
 *   - Commit charge: VAD->CommittedPages and AddressSpace->CommittedPages
 *     count committed pages (the shared user data page is not charged),
 *     and the system's total (mm/pfn.c) is charged before a page is
 *     committed: a commit that would pass the commit limit fails with
 *     STATUS_COMMITMENT_LIMIT, so every committed page can be faulted in.
 *
 * Windows deviations, all deliberate:
 * Bad arguments are NT's numbered STATUS_INVALID_PARAMETER_2..5: the number
 * is the argument's 1-based position in the Nt service's signature
 * (NtAllocateVirtualMemory(ProcessHandle, BaseAddress, ZeroBits,
 * RegionSize, AllocationType, Protect): a bad base is _2, a bad size _4, a
 * bad AllocationType _5; NtFreeVirtualMemory and NtProtectVirtualMemory:
 * base _2, size _3, FreeType _4). The Mm routines return them too, since
 * they check the arguments for the services. NtQueryVirtualMemory's
 * address above the user half stays plain STATUS_INVALID_PARAMETER, as NT.
 *   NOTE: NT leaves the pages of a MEM_RESERVE | MEM_COMMIT allocation
 *   "implicitly committed" by a VAD flag until they are touched; Pagoda
 *   writes a demand-zero PTE for every committed page, so the page tables
 *   show the commit at once.
 *   NOTE: a base below the 64 KiB null guard is STATUS_INVALID_PARAMETER_2
 *   (Windows 8 and later also refuse the null page).
 *   NOTE: the shared user data VAD stands for NT's secured, no-change VADs:
 *   committing in it is STATUS_CONFLICTING_ADDRESSES, protecting it
 *   STATUS_INVALID_PAGE_PROTECTION (both as NT), freeing or decommitting it
 *   STATUS_INVALID_PARAMETER (NT's secured-VAD check would say
 *   STATUS_INVALID_PAGE_PROTECTION).
 *   NOTE: MEM_RESET, MEM_LARGE_PAGES, MEM_PHYSICAL, MEM_WRITE_WATCH and
 *   ZeroBits are not supported.
 *
 * Locking and IRQL: the VM mutex (MiVirtualMemoryMutex, below) is one fast
 * mutex for every address space. The Mm*VirtualMemory routines run with it
 * held, at APC_LEVEL, and with AddressSpace current (attached): the
 * Nt*VirtualMemory services (mm/ntvm.c), MmCommitUserRange and
 * MmReleaseUserRange take it and attach through MiEnterAddressSpace. The
 * one caller without it is ps/ldr.c, mapping the image of a process that
 * has no thread yet, at PASSIVE_LEVEL. Under the mutex nobody else changes
 * the VAD tree, the commit counts or the user page tables; page faults
 * still happen (the mutex leaves interrupts on) and only turn demand-zero
 * PTEs valid. Frames come and go under the PFN lock (mm/pfn.c). Every
 * routine validates all of its arguments before it changes anything, and a
 * failure part-way through puts back what it had done.
 */
#include "mi.h"
#include "../rtl/rtl.h"

#define MI_USER_SPACE_END   (MM_HIGHEST_USER_ADDRESS + 1)  /* first byte past the user half */
#define MI_LOWEST_USER_VPN  (MM_LOWEST_USER_ADDRESS >> PAGE_SHIFT)
#define MI_HIGHEST_USER_VPN (MM_HIGHEST_USER_ADDRESS >> PAGE_SHIFT)
#define MI_GRANULARITY_PAGES (MM_ALLOCATION_GRANULARITY >> PAGE_SHIFT)

/* What one table of each level maps (Intel SDM Vol. 3A, 5.5.4). */
#define MI_PAGE_TABLE_SPAN  (1ULL << 21)   /* a page table: 512 pages, 2 MiB */
#define MI_PAGE_DIR_SPAN    (1ULL << 30)   /* a page directory: 1 GiB */
#define MI_PDPT_SPAN        (1ULL << 39)   /* a page-directory-pointer table: 512 GiB */

/* Commit-only requests whose range is partly committed already remember
 * which pages were, so that a failure undoes exactly the others. Up to this
 * many pages the bitmap lives on the stack (128 bytes); above, in pool. */
#define MI_STACK_BITMAP_PAGES 1024
#define MI_COMMIT_BITMAP_TAG POOL_TAG('V', 'a', 'd', 'B')

/* One lock for every change to any user half: two threads of a process
 * must not edit its VAD tree and page tables at once. A fast mutex
 * (APC_LEVEL): page faults may still be taken while it is held.
 * NOTE: one lock for all processes is the simple choice; NT has one per
 * process (the address-creation lock). */
static FAST_MUTEX MiVirtualMemoryMutex;

void MiInitializeVirtualMemoryLock(void)
{
    ExInitializeFastMutex(&MiVirtualMemoryMutex);
}

void MiLockVirtualMemory(void)
{
    ExAcquireFastMutex(&MiVirtualMemoryMutex);
}

void MiUnlockVirtualMemory(void)
{
    ExReleaseFastMutex(&MiVirtualMemoryMutex);
}

PMMADDRESS_SPACE MiEnterAddressSpace(PMMADDRESS_SPACE Space)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    MiLockVirtualMemory();
    return MmAttachAddressSpace(Space);
}

void MiLeaveAddressSpace(PMMADDRESS_SPACE Previous)
{
    MmAttachAddressSpace(Previous);
    MiUnlockVirtualMemory();
}

static inline ULONG_PTR MiVaToVpn(ULONG_PTR Va)
{
    return Va >> PAGE_SHIFT;
}

static inline ULONG_PTR MiVpnToVa(ULONG_PTR Vpn)
{
    return Vpn << PAGE_SHIFT;
}

/* The last byte of the last page of Vad. */
static inline ULONG_PTR MiVadEnd(const MMVAD *Vad)
{
    return MiVpnToVa(Vad->Node.EndingVpn) | (PAGE_SIZE - 1);
}

static inline PMMVAD MiVadFromNode(PMMADDRESS_NODE Node)
{
    return Node ? CONTAINING_RECORD(Node, MMVAD, Node) : NULL;
}

/* Unlink Vad from AddressSpace's tree and free it. */
static void MiDeleteVad(PMMADDRESS_SPACE AddressSpace, PMMVAD Vad)
{
    NTSTATUS Status = MiRemoveNode(&AddressSpace->VadRoot, &Vad->Node);
    ASSERT(NT_SUCCESS(Status)); /* it was found in, or just put into, this tree */
    ExFreePoolWithTag(Vad, MI_VAD_TAG);
}

/* The VAD containing [Start, End] whole, or NULL (no VAD there, or the
 * range runs over a VAD's edge). */
static PMMVAD MiFindVadContaining(PMMADDRESS_SPACE AddressSpace, ULONG_PTR Start, ULONG_PTR End)
{
    PMMVAD Vad = MiVadFromNode(MiFindConflict(&AddressSpace->VadRoot, MiVaToVpn(Start),
                                              MiVaToVpn(End)));
    if (Vad == NULL || Vad->Node.StartingVpn > MiVaToVpn(Start) ||
        Vad->Node.EndingVpn < MiVaToVpn(End))
        return NULL;
    return Vad;
}

/*
 * The range arguments of every service, checked as NT checks them: Base in
 * the user half and Base + Size not past its end. Size 0 is allowed here;
 * the callers decide what it means.
 */
static BOOLEAN MiIsUserRegion(ULONG_PTR Base, SIZE_T Size)
{
    return Base <= MM_HIGHEST_USER_ADDRESS && Size <= MI_USER_SPACE_END - Base;
}

/*
 * Where the run of pages with no page table that starts at Va ends: Va
 * itself when Va's page table exists; otherwise the next boundary of the
 * highest missing level (2 MiB, 1 GiB or 512 GiB). A missing table means
 * zero PTEs, so no page of that run is committed and the page walks below
 * jump over it instead of asking about each page.
 */
static ULONG_PTR MiSkipMissingTables(ULONG_PTR Va)
{
    /* Each level's entry is reachable through the self-map only once the
     * level above it is present: test top-down. */
    if (!MiGetPxeAddress((PVOID)Va)->u.Hard.Valid)
        return (Va | (MI_PDPT_SPAN - 1)) + 1;
    if (!MiGetPpeAddress((PVOID)Va)->u.Hard.Valid)
        return (Va | (MI_PAGE_DIR_SPAN - 1)) + 1;
    if (!MiGetPdeAddress((PVOID)Va)->u.Hard.Valid)
        return (Va | (MI_PAGE_TABLE_SPAN - 1)) + 1;
    return Va;
}

/*
 * The first committed page at or after Va and not after End (page
 * aligned Va), with its protection in *Protection; End + 1 when there is
 * none. Stretches without page tables are skipped a table at a time. The
 * walks below are all "for each committed page of [Start, End]".
 */
static ULONG_PTR MiNextCommittedPage(ULONG_PTR Va, ULONG_PTR End, PULONG Protection)
{
    while (Va <= End) {
        ULONG_PTR Next = MiSkipMissingTables(Va);
        if (Next != Va) {
            Va = Next;
            continue;
        }
        if (MiQueryUserPage((PVOID)Va, Protection))
            return Va;
        Va += PAGE_SIZE;
    }
    return End + 1;
}

#define MI_FOR_EACH_COMMITTED_PAGE(Va, Start, End, Protection)                  \
    for (ULONG_PTR Va = MiNextCommittedPage((Start), (End), &(Protection));     \
         Va <= (End); Va = MiNextCommittedPage(Va + PAGE_SIZE, (End), &(Protection)))

/* The number of committed pages in [Start, End] (page aligned Start). */
static PFN_NUMBER MiCountCommittedPages(ULONG_PTR Start, ULONG_PTR End)
{
    PFN_NUMBER Count = 0;
    ULONG Protection;

    MI_FOR_EACH_COMMITTED_PAGE(Va, Start, End, Protection)
        Count++;
    return Count;
}

static inline BOOLEAN MiTestBit(const ULONG64 *Bitmap, ULONG_PTR Index)
{
    return (BOOLEAN)((Bitmap[Index / 64] >> (Index % 64)) & 1);
}

/* Set bit i of Bitmap for every committed page i of [Start, End]. */
static void MiRecordCommittedPages(ULONG_PTR Start, ULONG_PTR End, ULONG64 *Bitmap)
{
    ULONG Protection;

    MI_FOR_EACH_COMMITTED_PAGE(Va, Start, End, Protection) {
        ULONG_PTR Index = (Va - Start) >> PAGE_SHIFT;
        Bitmap[Index / 64] |= 1ULL << (Index % 64);
    }
}

/*
 * Commit the pages of [Start, End], all inside Vad, with MmProtection.
 * WasCommitted, when not NULL, has bit i set for each page i that was
 * committed before the call: those are left alone. Without it, no page of
 * the range was committed. Charges the new pages to Vad, AddressSpace and
 * the system's commit charge. On failure (STATUS_COMMITMENT_LIMIT: the
 * charge would pass the commit limit; STATUS_INSUFFICIENT_RESOURCES: no
 * frame for a page table) every page committed here is decommitted again,
 * nothing is charged, and the range is as it was.
 */
static MUST_INSPECT_RESULT NTSTATUS MiCommitPages(PMMADDRESS_SPACE AddressSpace, PMMVAD Vad,
                                              ULONG_PTR Start, ULONG_PTR End, ULONG MmProtection,
                                              const ULONG64 *WasCommitted)
{
    NTSTATUS Status = STATUS_SUCCESS;
    PFN_NUMBER NewPages = 0;
    ULONG_PTR Va;
    ULONG_PTR Index;

    /* Charge first: a page is committed only once RAM is promised to it
     * (mm/pfn.c, "The commit charge"). */
    PFN_NUMBER Charge = MiVaToVpn(End) - MiVaToVpn(Start) + 1;
    if (WasCommitted != NULL) {
        for (Index = 0; Index < MiVaToVpn(End) - MiVaToVpn(Start) + 1; Index++)
            Charge -= MiTestBit(WasCommitted, Index);
    }
    Status = MiChargeCommitment(Charge);
    if (!NT_SUCCESS(Status))
        return Status; /* STATUS_COMMITMENT_LIMIT */

    for (Va = Start, Index = 0; Va <= End; Va += PAGE_SIZE, Index++) {
        if (WasCommitted != NULL && MiTestBit(WasCommitted, Index))
            continue;
        Status = MiCommitUserPage(AddressSpace, (PVOID)Va, MmProtection);
        /* The range was surveyed a moment ago and nothing else changes it
         * (the address-space lock, later): a page here cannot be committed. */
        ASSERT(Status != STATUS_ALREADY_COMMITTED);
        if (!NT_SUCCESS(Status))
            goto undo_commits;
        NewPages++;
    }
    ASSERT(NewPages == Charge);
    Vad->CommittedPages += NewPages;
    AddressSpace->CommittedPages += NewPages;
    return STATUS_SUCCESS;

undo_commits:
    /* Every page before Va that was not committed already is ours. */
    for (ULONG_PTR Undo = Start, i = 0; Undo < Va; Undo += PAGE_SIZE, i++) {
        if (WasCommitted == NULL || !MiTestBit(WasCommitted, i))
            MiDecommitUserPage(AddressSpace, (PVOID)Undo);
    }
    MiReturnCommitment(Charge);
    return Status;
}

/* Decommit every committed page of [Start, End] and take them off the
 * commit charge of Vad, AddressSpace and the system. Frames and emptied page tables go
 * back to the free list (MiDecommitUserPage). */
static void MiDecommitPages(PMMADDRESS_SPACE AddressSpace, PMMVAD Vad, ULONG_PTR Start,
                            ULONG_PTR End)
{
    PFN_NUMBER Count = 0;
    ULONG Protection;

    MI_FOR_EACH_COMMITTED_PAGE(Va, Start, End, Protection) {
        MiDecommitUserPage(AddressSpace, (PVOID)Va);
        Count++;
    }
    ASSERT(Vad->CommittedPages >= Count && AddressSpace->CommittedPages >= Count);
    Vad->CommittedPages -= Count;
    AddressSpace->CommittedPages -= Count;
    MiReturnCommitment(Count);
}

/* Give every committed page of [Start, End] the protection MmProtection
 * (pages that already have it are not touched). */
static void MiProtectCommittedPages(ULONG_PTR Start, ULONG_PTR End, ULONG MmProtection)
{
    ULONG Protection;

    MI_FOR_EACH_COMMITTED_PAGE(Va, Start, End, Protection) {
        if (Protection != MmProtection)
            MiSetUserPageProtection((PVOID)Va, MmProtection);
    }
}

/*
 * MEM_RESERVE, optionally with MEM_COMMIT and MEM_TOP_DOWN (or MEM_COMMIT
 * with a NULL base, which NT treats the same way): make a VAD for
 * [Base, Base + Size), or for Size bytes anywhere when Base is 0, and
 * commit all of it when asked. Arguments are checked by the caller.
 */
static MUST_INSPECT_RESULT NTSTATUS MiReserveRange(PMMADDRESS_SPACE AddressSpace, PVOID *BaseAddress,
                                               SIZE_T *RegionSize, ULONG AllocationType,
                                               ULONG Protect, ULONG MmProtection)
{
    ULONG_PTR Base = (ULONG_PTR)*BaseAddress;
    SIZE_T Size = *RegionSize;
    ULONG_PTR StartVpn, EndVpn;
    NTSTATUS Status;

    if (Base == 0) {
        ULONG_PTR Pages = BYTES_TO_PAGES(Size);
        Status = MiFindEmptyAddressRange(&AddressSpace->VadRoot, Pages, MI_GRANULARITY_PAGES,
                                         MI_LOWEST_USER_VPN, MI_HIGHEST_USER_VPN,
                                         (AllocationType & MEM_TOP_DOWN) != 0, &StartVpn);
        if (!NT_SUCCESS(Status))
            return Status; /* STATUS_NO_MEMORY: no free range that large */
        EndVpn = StartVpn + Pages - 1;
    } else {
        ULONG_PTR Aligned = ALIGN_DOWN_BY(Base, MM_ALLOCATION_GRANULARITY);
        if (Aligned < MM_LOWEST_USER_ADDRESS)
            return STATUS_INVALID_PARAMETER_2; /* the null guard */
        StartVpn = MiVaToVpn(Aligned);
        EndVpn = MiVaToVpn(Base + Size - 1);
        if (MiFindConflict(&AddressSpace->VadRoot, StartVpn, EndVpn) != NULL)
            return STATUS_CONFLICTING_ADDRESSES;
    }

    /* Everything is checked: from here on, act. */
    PMMVAD Vad = ExAllocatePoolWithTag(NonPagedPool, sizeof(*Vad), MI_VAD_TAG);
    if (Vad == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    memset(Vad, 0, sizeof(*Vad));
    Vad->Node.StartingVpn = StartVpn;
    Vad->Node.EndingVpn = EndVpn;
    Vad->AllocationProtect = Protect;
    Vad->Flags = MM_VAD_PRIVATE;
    Status = MiInsertNode(&AddressSpace->VadRoot, &Vad->Node);
    ASSERT(NT_SUCCESS(Status)); /* the range was checked free above */

    ULONG_PTR Start = MiVpnToVa(StartVpn);
    ULONG_PTR End = MiVadEnd(Vad);
    if (AllocationType & MEM_COMMIT) {
        Status = MiCommitPages(AddressSpace, Vad, Start, End, MmProtection, NULL);
        if (!NT_SUCCESS(Status))
            goto remove_vad;
    }
    *BaseAddress = (PVOID)Start;
    *RegionSize = End - Start + 1;
    return STATUS_SUCCESS;

remove_vad:
    MiDeleteVad(AddressSpace, Vad);
    return Status;
}

/*
 * MEM_COMMIT of [Base, Base + Size) inside one reservation. Pages that are
 * committed already stay so, contents and all, and take the new protection
 * (as NT does: it calls MiProtectVirtualMemory for them afterwards).
 */
static MUST_INSPECT_RESULT NTSTATUS MiCommitRange(PMMADDRESS_SPACE AddressSpace, PVOID *BaseAddress,
                                              SIZE_T *RegionSize, ULONG MmProtection)
{
    ULONG_PTR Base = (ULONG_PTR)*BaseAddress;
    ULONG_PTR Start = (ULONG_PTR)PAGE_ALIGN(Base);
    ULONG_PTR End = (Base + *RegionSize - 1) | (PAGE_SIZE - 1);
    ULONG64 StackBitmap[MI_STACK_BITMAP_PAGES / 64];
    ULONG64 *Bitmap = NULL;
    NTSTATUS Status = STATUS_SUCCESS;

    /* Windows' ERROR_INVALID_ADDRESS: not reserved, or not in one piece. */
    PMMVAD Vad = MiFindVadContaining(AddressSpace, Start, End);
    if (Vad == NULL || (Vad->Flags & MM_VAD_SHARED_USER_DATA))
        return STATUS_CONFLICTING_ADDRESSES;

    ULONG_PTR Pages = MiVaToVpn(End) - MiVaToVpn(Start) + 1;
    PFN_NUMBER Committed = MiCountCommittedPages(Start, End);
    if (Committed != 0 && Committed != Pages) {
        /* A mix: remember which pages were committed, to undo only ours. */
        SIZE_T Bytes = ((Pages + 63) / 64) * sizeof(ULONG64);
        if (Pages <= MI_STACK_BITMAP_PAGES)
            Bitmap = StackBitmap;
        else
            Bitmap = ExAllocatePoolWithTag(NonPagedPool, Bytes, MI_COMMIT_BITMAP_TAG);
        if (Bitmap == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        memset(Bitmap, 0, Bytes);
        MiRecordCommittedPages(Start, End, Bitmap);
    }

    if (Committed != Pages) {
        Status = MiCommitPages(AddressSpace, Vad, Start, End, MmProtection, Bitmap);
        if (!NT_SUCCESS(Status))
            goto free_bitmap;
    }
    /* Only now, when nothing can fail any more, change the protection of
     * the pages that were committed before. */
    if (Committed != 0)
        MiProtectCommittedPages(Start, End, MmProtection);
    *BaseAddress = (PVOID)Start;
    *RegionSize = End - Start + 1;

free_bitmap:
    if (Bitmap != NULL && Bitmap != StackBitmap)
        ExFreePoolWithTag(Bitmap, MI_COMMIT_BITMAP_TAG);
    return Status;
}

/*
 * MmAllocateVirtualMemory - reserve and/or commit pages of the current
 * address space's user half (NtAllocateVirtualMemory without ZeroBits).
 *
 * AllocationType is MEM_RESERVE, MEM_COMMIT or both, optionally with
 * MEM_TOP_DOWN. *BaseAddress is where (NULL: the memory manager picks a
 * free 64 KiB-aligned range, lowest first or highest first with
 * MEM_TOP_DOWN); *RegionSize how many bytes. A reservation starts at the
 * base rounded down to 64 KiB, a commit at the base rounded down to a page;
 * both end on a page boundary. Protect is one PAGE_* access value,
 * optionally | PAGE_GUARD. On success *BaseAddress and *RegionSize describe
 * the range reserved or committed; on failure they are untouched and so is
 * the address space.
 *
 * Returns STATUS_SUCCESS;
 *   STATUS_INVALID_PARAMETER_2    base above the user half or in the null
 *                                 guard;
 *   STATUS_INVALID_PARAMETER_4    size 0, or the range runs past the user
 *                                 half;
 *   STATUS_INVALID_PARAMETER_5    bad AllocationType;
 *   STATUS_INVALID_PAGE_PROTECTION bad Protect;
 *   STATUS_CONFLICTING_ADDRESSES  reserve over an existing VAD, or commit
 *                                 outside one reservation;
 *   STATUS_NO_MEMORY              no free range that large (NULL base);
 *   STATUS_COMMITMENT_LIMIT       committing would pass the commit limit
 *                                 (mm/pfn.c);
 *   STATUS_INSUFFICIENT_RESOURCES no pool for the VAD or no frame for a
 *                                 page table.
 *
 * IRQL <= APC_LEVEL, the VM mutex held (mm/mm.h says when it may be
 * skipped); AddressSpace must be current. Commits a demand-zero PTE per
 * page: frames come on first touch (mm/fault.c).
 */
NTSTATUS MmAllocateVirtualMemory(PMMADDRESS_SPACE AddressSpace, PVOID *BaseAddress,
                                 SIZE_T *RegionSize, ULONG AllocationType, ULONG Protect)
{
    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    ASSERT(AddressSpace == MmCurrentAddressSpace);
    ASSERT(BaseAddress != NULL && RegionSize != NULL);

    if ((AllocationType & ~(MEM_COMMIT | MEM_RESERVE | MEM_TOP_DOWN)) != 0 ||
        (AllocationType & (MEM_COMMIT | MEM_RESERVE)) == 0)
        return STATUS_INVALID_PARAMETER_5;
    ULONG MmProtection = MiMakeProtectionMask(Protect);
    if (MmProtection == MM_INVALID_PROTECTION)
        return STATUS_INVALID_PAGE_PROTECTION;
    ULONG_PTR Base = (ULONG_PTR)*BaseAddress;
    if (Base > MM_HIGHEST_USER_ADDRESS)
        return STATUS_INVALID_PARAMETER_2;
    if (*RegionSize == 0 || !MiIsUserRegion(Base, *RegionSize))
        return STATUS_INVALID_PARAMETER_4;

    if (Base == 0 || (AllocationType & MEM_RESERVE))
        return MiReserveRange(AddressSpace, BaseAddress, RegionSize, AllocationType, Protect,
                              MmProtection);
    return MiCommitRange(AddressSpace, BaseAddress, RegionSize, MmProtection);
}

/*
 * MEM_RELEASE of [Start, End], a part of Vad that is not all of it: as NT,
 * the part's committed pages (and the page tables they emptied) are freed
 * and leave the commit charge, and the VAD shrinks to what is left. A part
 * at either end moves that end of the VAD; a part in the middle splits it
 * in two, the upper piece becoming a new VAD with the same protection and
 * flags (so its AllocationBase is its own first page). The VAD's range only
 * shrinks inside its old one, so the tree's order holds without a
 * re-insert. Returns STATUS_SUCCESS, or STATUS_INSUFFICIENT_RESOURCES (no
 * pool for the new VAD; nothing changed).
 */
static MUST_INSPECT_RESULT NTSTATUS MiReleasePartOfVad(PMMADDRESS_SPACE AddressSpace, PMMVAD Vad,
                                                   ULONG_PTR Start, ULONG_PTR End)
{
    ULONG_PTR StartVpn = MiVaToVpn(Start), EndVpn = MiVaToVpn(End);
    PMMVAD Upper = NULL;

    ASSERT(StartVpn >= Vad->Node.StartingVpn && EndVpn <= Vad->Node.EndingVpn);
    ASSERT(StartVpn != Vad->Node.StartingVpn || EndVpn != Vad->Node.EndingVpn);
    if (StartVpn != Vad->Node.StartingVpn && EndVpn != Vad->Node.EndingVpn) {
        /* The only step that can fail goes first. */
        Upper = ExAllocatePoolWithTag(NonPagedPool, sizeof(*Upper), MI_VAD_TAG);
        if (Upper == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
    }

    MiDecommitPages(AddressSpace, Vad, Start, End);
    if (Upper != NULL) {
        memset(Upper, 0, sizeof(*Upper));
        Upper->Node.StartingVpn = EndVpn + 1;
        Upper->Node.EndingVpn = Vad->Node.EndingVpn;
        Upper->AllocationProtect = Vad->AllocationProtect;
        Upper->Flags = Vad->Flags;
        Upper->CommittedPages = MiCountCommittedPages(End + 1, MiVadEnd(Vad));
        Vad->CommittedPages -= Upper->CommittedPages;
        Vad->Node.EndingVpn = StartVpn - 1;
        NTSTATUS Status = MiInsertNode(&AddressSpace->VadRoot, &Upper->Node);
        ASSERT(NT_SUCCESS(Status)); /* the range was this VAD's a moment ago */
    } else if (StartVpn == Vad->Node.StartingVpn) {
        Vad->Node.StartingVpn = EndVpn + 1;
    } else {
        Vad->Node.EndingVpn = StartVpn - 1;
    }
    return STATUS_SUCCESS;
}

/*
 * MmFreeVirtualMemory - decommit pages (FreeType MEM_DECOMMIT) or release a
 * whole reservation (MEM_RELEASE) in the current address space
 * (NtFreeVirtualMemory).
 *
 * The range is [*BaseAddress, *BaseAddress + *RegionSize) widened to pages
 * and must lie in one VAD. A size of 0 means "from the VAD's base to its
 * end", and then *BaseAddress must be in the VAD's first page. MEM_RELEASE
 * of the whole VAD deletes it; of a part, it shrinks the VAD, or splits it
 * in two when the part is in the middle (NT does the same; VirtualFree
 * itself only passes size 0). Decommitting pages that are not committed is
 * not an error. On success *BaseAddress and *RegionSize say what was
 * freed; frames and empty page tables return to the free list and the
 * pages leave the commit charge.
 *
 * Returns STATUS_SUCCESS;
 *   STATUS_INVALID_PARAMETER_2  base above the user half;
 *   STATUS_INVALID_PARAMETER_3  the range runs past the user half;
 *   STATUS_INVALID_PARAMETER_4  FreeType not exactly one of the two;
 *   STATUS_INVALID_PARAMETER    the shared user data VAD;
 *   STATUS_MEMORY_NOT_ALLOCATED no VAD at the base;
 *   STATUS_UNABLE_TO_FREE_VM    the range runs past the end of the VAD;
 *   STATUS_FREE_VM_NOT_AT_BASE  size 0 with a base that is not the VAD's;
 *   STATUS_INSUFFICIENT_RESOURCES no pool for the second VAD of a split.
 *
 * IRQL <= APC_LEVEL, the VM mutex held (mm/mm.h says when it may be
 * skipped); AddressSpace must be current.
 */
NTSTATUS MmFreeVirtualMemory(PMMADDRESS_SPACE AddressSpace, PVOID *BaseAddress,
                             SIZE_T *RegionSize, ULONG FreeType)
{
    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    ASSERT(AddressSpace == MmCurrentAddressSpace);
    ASSERT(BaseAddress != NULL && RegionSize != NULL);

    if (FreeType != MEM_DECOMMIT && FreeType != MEM_RELEASE)
        return STATUS_INVALID_PARAMETER_4;
    ULONG_PTR Base = (ULONG_PTR)*BaseAddress;
    SIZE_T Size = *RegionSize;
    if (Base > MM_HIGHEST_USER_ADDRESS)
        return STATUS_INVALID_PARAMETER_2;
    if (!MiIsUserRegion(Base, Size))
        return STATUS_INVALID_PARAMETER_3;

    ULONG_PTR Start = (ULONG_PTR)PAGE_ALIGN(Base);
    ULONG_PTR End = 0;
    PMMVAD Vad = MiVadFromNode(MiLocateAddress(&AddressSpace->VadRoot, MiVaToVpn(Start)));
    if (Vad == NULL)
        return STATUS_MEMORY_NOT_ALLOCATED;
    ULONG_PTR VadStart = MiVpnToVa(Vad->Node.StartingVpn);
    if (Size != 0) {
        End = (Base + Size - 1) | (PAGE_SIZE - 1);
        if (MiVaToVpn(End) > Vad->Node.EndingVpn)
            return STATUS_UNABLE_TO_FREE_VM;
    }
    if (Vad->Flags & MM_VAD_SHARED_USER_DATA)
        return STATUS_INVALID_PARAMETER;
    if (Size == 0) {
        if (Start != VadStart)
            return STATUS_FREE_VM_NOT_AT_BASE;
        End = MiVadEnd(Vad);
    }

    if (FreeType == MEM_RELEASE && (Start != VadStart || End != MiVadEnd(Vad))) {
        NTSTATUS Status = MiReleasePartOfVad(AddressSpace, Vad, Start, End);
        if (!NT_SUCCESS(Status))
            return Status;
    } else {
        MiDecommitPages(AddressSpace, Vad, Start, End);
        if (FreeType == MEM_RELEASE) {
            ASSERT(Vad->CommittedPages == 0);
            MiDeleteVad(AddressSpace, Vad);
        }
    }
    *BaseAddress = (PVOID)Start;
    *RegionSize = End - Start + 1;
    return STATUS_SUCCESS;
}

/*
 * MmProtectVirtualMemory - change the protection of committed pages of the
 * current address space (NtProtectVirtualMemory).
 *
 * The range [*BaseAddress, *BaseAddress + *RegionSize), widened to pages,
 * must lie in one VAD and be committed throughout. NewProtect is a PAGE_*
 * value as for MmAllocateVirtualMemory. Resident pages keep their frames
 * and contents, also through PAGE_NOACCESS and PAGE_GUARD. On success
 * *OldProtect is the former PAGE_* protection of the first page and
 * *BaseAddress, *RegionSize the page-rounded range. On
 * STATUS_CONFLICTING_ADDRESSES and STATUS_NOT_COMMITTED, *OldProtect is
 * PAGE_NOACCESS (as NT); after any other failure it is untouched.
 *
 * Returns STATUS_SUCCESS;
 *   STATUS_INVALID_PAGE_PROTECTION bad NewProtect, or the shared user data
 *                                  VAD (whose protection is fixed);
 *   STATUS_INVALID_PARAMETER_2     base above the user half;
 *   STATUS_INVALID_PARAMETER_3     size 0, or the range runs past the user
 *                                  half;
 *   STATUS_CONFLICTING_ADDRESSES   not inside one VAD;
 *   STATUS_NOT_COMMITTED           a page of the range is not committed.
 *
 * IRQL <= APC_LEVEL, the VM mutex held (mm/mm.h says when it may be
 * skipped); AddressSpace must be current.
 */
NTSTATUS MmProtectVirtualMemory(PMMADDRESS_SPACE AddressSpace, PVOID *BaseAddress,
                                SIZE_T *RegionSize, ULONG NewProtect, PULONG OldProtect)
{
    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    ASSERT(AddressSpace == MmCurrentAddressSpace);
    ASSERT(BaseAddress != NULL && RegionSize != NULL && OldProtect != NULL);

    ULONG MmProtection = MiMakeProtectionMask(NewProtect);
    if (MmProtection == MM_INVALID_PROTECTION)
        return STATUS_INVALID_PAGE_PROTECTION;
    ULONG_PTR Base = (ULONG_PTR)*BaseAddress;
    if (Base > MM_HIGHEST_USER_ADDRESS)
        return STATUS_INVALID_PARAMETER_2;
    if (*RegionSize == 0 || !MiIsUserRegion(Base, *RegionSize))
        return STATUS_INVALID_PARAMETER_3;

    ULONG_PTR Start = (ULONG_PTR)PAGE_ALIGN(Base);
    ULONG_PTR End = (Base + *RegionSize - 1) | (PAGE_SIZE - 1);
    /* NT answers these two with *OldProtect = PAGE_NOACCESS: no page of
     * the range had its protection looked at. */
    PMMVAD Vad = MiFindVadContaining(AddressSpace, Start, End);
    if (Vad == NULL) {
        *OldProtect = PAGE_NOACCESS;
        return STATUS_CONFLICTING_ADDRESSES;
    }
    if (Vad->Flags & MM_VAD_SHARED_USER_DATA)
        return STATUS_INVALID_PAGE_PROTECTION;
    if (MiCountCommittedPages(Start, End) != MiVaToVpn(End) - MiVaToVpn(Start) + 1) {
        *OldProtect = PAGE_NOACCESS;
        return STATUS_NOT_COMMITTED;
    }

    ULONG FirstProtection = 0;
    BOOLEAN Committed = MiQueryUserPage((PVOID)Start, &FirstProtection);
    ASSERT(Committed);
    for (ULONG_PTR Va = Start; Va <= End; Va += PAGE_SIZE)
        MiSetUserPageProtection((PVOID)Va, MmProtection);
    *OldProtect = MiMakeWin32Protection(FirstProtection);
    *BaseAddress = (PVOID)Start;
    *RegionSize = End - Start + 1;
    return STATUS_SUCCESS;
}

/*
 * MmQueryVirtualMemory - describe the region of the current address space
 * that contains BaseAddress, as NtQueryVirtualMemory(MemoryBasicInformation)
 * does: the run of pages from BaseAddress's page on that share one state
 * and protection.
 *
 *   free      BaseAddress = the page, AllocationBase NULL, AllocationProtect
 *             0, State MEM_FREE, Protect PAGE_NOACCESS, Type 0, RegionSize
 *             up to the next VAD or the end of the user half;
 *   in a VAD  AllocationBase = the VAD's start, AllocationProtect = its
 *             reservation protection, Type MEM_PRIVATE, and either
 *             State MEM_COMMIT with Protect = the pages' PAGE_* (| PAGE_GUARD)
 *             or State MEM_RESERVE with Protect 0; RegionSize stops at the
 *             first page that differs or at the VAD's end.
 *
 * Returns STATUS_SUCCESS, or STATUS_INVALID_PARAMETER for an address above
 * MM_HIGHEST_USER_ADDRESS. Changes nothing.
 *
 * IRQL <= APC_LEVEL, the VM mutex held (mm/mm.h says when it may be
 * skipped); AddressSpace must be current.
 */
NTSTATUS MmQueryVirtualMemory(PMMADDRESS_SPACE AddressSpace, PVOID BaseAddress,
                              PMEMORY_BASIC_INFORMATION Information)
{
    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    ASSERT(AddressSpace == MmCurrentAddressSpace);
    ASSERT(Information != NULL);

    if ((ULONG_PTR)BaseAddress > MM_HIGHEST_USER_ADDRESS)
        return STATUS_INVALID_PARAMETER;
    ULONG_PTR Va = (ULONG_PTR)PAGE_ALIGN(BaseAddress);
    ULONG_PTR Vpn = MiVaToVpn(Va);

    memset(Information, 0, sizeof(*Information));
    Information->BaseAddress = (PVOID)Va;
    PMMVAD Vad = MiVadFromNode(MiLocateAddress(&AddressSpace->VadRoot, Vpn));
    if (Vad == NULL) {
        /* Free: up to the next VAD above (the lowest one overlapping the
         * rest of the user half), or to the end of the user half. */
        PMMVAD Next = MiVadFromNode(MiFindConflict(&AddressSpace->VadRoot, Vpn,
                                                   MiVaToVpn(MM_HIGHEST_USER_ADDRESS)));
        ULONG_PTR End = Next ? MiVpnToVa(Next->Node.StartingVpn) : MI_USER_SPACE_END;
        Information->RegionSize = End - Va;
        Information->State = MEM_FREE;
        Information->Protect = PAGE_NOACCESS;
        return STATUS_SUCCESS;
    }

    ULONG_PTR VadLimit = MiVadEnd(Vad) + 1;
    ULONG FirstProtection = 0;
    BOOLEAN FirstCommitted = MiQueryUserPage((PVOID)Va, &FirstProtection);
    ULONG_PTR Next = Va + PAGE_SIZE;
    while (Next < VadLimit) {
        ULONG Protection = 0;
        if (!FirstCommitted) {
            /* A reserved run goes on over pages that have no page table. */
            ULONG_PTR Skip = MiSkipMissingTables(Next);
            if (Skip != Next) {
                Next = Skip < VadLimit ? Skip : VadLimit;
                continue;
            }
        }
        BOOLEAN Committed = MiQueryUserPage((PVOID)Next, &Protection);
        if (Committed != FirstCommitted || (Committed && Protection != FirstProtection))
            break;
        Next += PAGE_SIZE;
    }

    Information->AllocationBase = (PVOID)MiVpnToVa(Vad->Node.StartingVpn);
    Information->AllocationProtect = Vad->AllocationProtect;
    Information->RegionSize = Next - Va;
    Information->State = FirstCommitted ? MEM_COMMIT : MEM_RESERVE;
    Information->Protect = FirstCommitted ? MiMakeWin32Protection(FirstProtection) : 0;
    Information->Type = MEM_PRIVATE;
    return STATUS_SUCCESS;
}

/*
 * MiDeleteAllVads - remove and free every VAD of AddressSpace and drop its
 * commit charge to zero, returning it to the system's; for
 * MmDeleteProcessAddressSpace, which has freed the frames and page tables
 * of the user half itself before (so pages are not decommitted one by one
 * here; freeing the frames first keeps the unbacked commitment of
 * mm/pfn.c from looking smaller than it is meanwhile).
 *
 * IRQL < DISPATCH_LEVEL, no lock: AddressSpace must be current, about to
 * be deleted, and out of every other thread's reach.
 */
void MiDeleteAllVads(PMMADDRESS_SPACE AddressSpace)
{
    ASSERT(KeGetCurrentIrql() < DISPATCH_LEVEL);
    ASSERT(AddressSpace == MmCurrentAddressSpace);

    PMMADDRESS_NODE Node;
    while ((Node = AddressSpace->VadRoot.Root) != NULL) {
        PMMVAD Vad = MiVadFromNode(Node);
        /* The shared user data page is not charged to the process. */
        if (!(Vad->Flags & MM_VAD_SHARED_USER_DATA)) {
            ASSERT(AddressSpace->CommittedPages >= Vad->CommittedPages);
            AddressSpace->CommittedPages -= Vad->CommittedPages;
            MiReturnCommitment(Vad->CommittedPages);
        }
        MiDeleteVad(AddressSpace, Vad);
    }
    ASSERT(AddressSpace->CommittedPages == 0);
}

/* ------------------------------------------------------------------------
 * For kernel callers outside mm/: the same routines on an address space
 * that need not be current, under the VM mutex.
 * ------------------------------------------------------------------------ */

NTSTATUS MmReleaseUserRange(PMMADDRESS_SPACE AddressSpace, PVOID Base)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    SIZE_T Size = 0;
    PMMADDRESS_SPACE Previous = MiEnterAddressSpace(AddressSpace);
    NTSTATUS Status = MmFreeVirtualMemory(AddressSpace, &Base, &Size, MEM_RELEASE);
    MiLeaveAddressSpace(Previous);
    return Status;
}

NTSTATUS MmCommitUserRange(PMMADDRESS_SPACE AddressSpace, PVOID Base, SIZE_T Size, ULONG Protect)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    PMMADDRESS_SPACE Previous = MiEnterAddressSpace(AddressSpace);
    NTSTATUS Status = MmAllocateVirtualMemory(AddressSpace, &Base, &Size, MEM_COMMIT, Protect);
    MiLeaveAddressSpace(Previous);
    return Status;
}

/* The VAD tree lives in nonpaged pool, so no attach is needed; the mutex
 * keeps every insert, remove and rebalance out of the walk. */
ULONG MmEnumerateVads(PMMADDRESS_SPACE AddressSpace, PMM_ENUMERATE_VAD_ROUTINE Callback,
                      PVOID Context)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    MiLockVirtualMemory();
    PMM_AVL_TABLE Table = &AddressSpace->VadRoot;
    ULONG Count = Table->NumberGenericTableElements;
    for (PMMADDRESS_NODE Node = MiFirstNode(Table); Node != NULL && Callback != NULL;
         Node = MiNextNode(Node)) {
        PMMVAD Vad = MiVadFromNode(Node);
        MM_VAD_INFORMATION Info = {
            .StartingAddress = MiVpnToVa(Node->StartingVpn),
            .EndingAddress = MiVadEnd(Vad),
            .AllocationProtect = Vad->AllocationProtect,
            .Flags = Vad->Flags,
            .CommittedPages = Vad->CommittedPages,
        };
        if (!Callback(&Info, Context))
            break;
    }
    MiUnlockVirtualMemory();
    return Count;
}
