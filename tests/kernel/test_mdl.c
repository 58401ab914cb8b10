/*
 * test_mdl.c - memory descriptor lists (mm/mdl.c, io/mdl.c): locking a
 * user buffer's frames, mapping them into system PTEs and reaching them
 * from another address space, the lock count in the PFN entry, the
 * failures that must leave nothing behind, the nonpaged-pool MDL, and
 * partial MDLs (IoBuildPartialMdl).
 *
 * Each user test builds a fresh address space with a reservation at
 * KT_BASE (KtMakeUserSpace), works in it, and tears it down through the
 * deferred cleanups, which also unlock and free any MDL a failed check
 * left behind (deleting a space with locked pages is bugcheck 0x76).
 */
#include "../../include/ktest.h"
#include "../../mm/mi.h"
#include "../../io/io.h"
#include "../../rtl/rtl.h"

#define KT_BASE  0x0000000030000000ULL  /* the test reservation */
#define KT_PAGES 16                     /* 64 KiB */
#define KT_ODD   0x123                  /* where the test buffer starts in its page */

static void KtDeleteSpace(PVOID Space)
{
    MmDeleteProcessAddressSpace(Space);
}

static void KtAttachBack(PVOID Space)
{
    MmAttachAddressSpace(Space);
}

/* An MDL from IoAllocateMdl, unlocked (and so unmapped) if still locked. */
static void KtReleaseMdl(PVOID Mdl)
{
    if (((PMDL)Mdl)->MdlFlags & MDL_PAGES_LOCKED)
        MmUnlockPages(Mdl);
    else if (((PMDL)Mdl)->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA)
        MmUnmapLockedPages(((PMDL)Mdl)->MappedSystemVa, Mdl);
    IoFreeMdl(Mdl);
}

static void KtFreeMdl(PVOID Mdl)
{
    IoFreeMdl(Mdl);
}

static PUCHAR KtPage(ULONG Index)
{
    return (PUCHAR)(KT_BASE + (ULONG64)Index * PAGE_SIZE);
}

/* Commit Count pages from Index with Protect. */
static NTSTATUS KtCommit(PMMADDRESS_SPACE Space, ULONG Index, ULONG Count, ULONG Protect)
{
    PVOID Base = KtPage(Index);
    SIZE_T Size = (SIZE_T)Count * PAGE_SIZE;
    return MmAllocateVirtualMemory(Space, &Base, &Size, MEM_COMMIT, Protect);
}

/* A new address space, attached, with KT_PAGES reserved at KT_BASE; the
 * detach and the deletion are deferred. NULL on failure. */
static PMMADDRESS_SPACE KtMakeUserSpace(void)
{
    PMMADDRESS_SPACE Space;
    if (!NT_SUCCESS(MmCreateProcessAddressSpace(&Space)))
        return NULL;
    KtDefer(KtDeleteSpace, Space);
    KtDefer(KtAttachBack, MmAttachAddressSpace(Space));
    PVOID Base = (PVOID)KT_BASE;
    SIZE_T Size = KT_PAGES * PAGE_SIZE;
    if (!NT_SUCCESS(MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE, PAGE_READWRITE)) ||
        Base != (PVOID)KT_BASE)
        return NULL;
    return Space;
}

static PFN_NUMBER KtFrameOf(PVOID Va)
{
    return MmIsAddressValid(Va) ? MiGetPteAddress(Va)->u.Hard.PageFrameNumber : 0;
}

static USHORT KtReferences(PFN_NUMBER Pfn)
{
    return MI_PFN_ELEMENT(Pfn)->ReferenceCount;
}

static UCHAR KtPatternByte(ULONG i, ULONG Seed)
{
    return (UCHAR)(i * 13 + Seed);
}

static UCHAR KtBuffer[3 * PAGE_SIZE];

/* ------------------------------------------------------------------------ */

/* The seeds' point: once locked and mapped in system PTEs, a user buffer
 * is reachable while another process's address space is current. */
KTEST(mdl, lock_map_and_use_a_user_buffer_from_another_address_space)
{
    const ULONG Length = 2 * PAGE_SIZE + 0x456; /* three pages, starting at KT_ODD */
    PMMADDRESS_SPACE Space = KtMakeUserSpace();
    KT_ASSERT(Space != NULL);
    KT_ASSERT_STATUS(KtCommit(Space, 0, 3, PAGE_READWRITE), STATUS_SUCCESS);
    PUCHAR User = KtPage(0) + KT_ODD;
    for (ULONG i = 0; i < Length; i++)
        KtBuffer[i] = KtPatternByte(i, 1);
    KT_ASSERT_STATUS(MmCopyToUser(User, KtBuffer, Length), STATUS_SUCCESS);
    PFN_NUMBER Frames[3];
    USHORT Before[3];
    for (ULONG i = 0; i < 3; i++) {
        Frames[i] = KtFrameOf(KtPage(i));
        KT_ASSERT(Frames[i] != 0);
        Before[i] = KtReferences(Frames[i]);
        KT_ASSERT_EQ(Before[i], 1);
    }
    ULONG_PTR PtesBefore = MiSystemPteRegion.PagesReserved;

    PMDL Mdl = IoAllocateMdl(User, Length, FALSE, FALSE, NULL);
    KT_ASSERT(Mdl != NULL);
    KtDefer(KtReleaseMdl, Mdl);
    KT_ASSERT_EQ(MmGetMdlVirtualAddress(Mdl), (PVOID)User);
    KT_ASSERT_EQ(MmGetMdlByteCount(Mdl), Length);
    KT_ASSERT_EQ(MmGetMdlByteOffset(Mdl), KT_ODD);
    KT_ASSERT_EQ(Mdl->StartVa, (PVOID)KtPage(0));
    KT_ASSERT_EQ((ULONG_PTR)Mdl->Size, sizeof(MDL) + 3 * sizeof(PFN_NUMBER));
    KT_ASSERT_EQ(Mdl->MdlFlags, MDL_ALLOCATED_FIXED_SIZE);

    KT_ASSERT_STATUS(MmProbeAndLockPages(Mdl, UserMode, IoWriteAccess), STATUS_SUCCESS);
    KT_ASSERT_EQ(Mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_WRITE_OPERATION),
                 MDL_PAGES_LOCKED | MDL_WRITE_OPERATION);
    KT_ASSERT_EQ(Mdl->Process, Space);
    KT_ASSERT_EQ(MmGetLockedPageCount(Space), 3);
    for (ULONG i = 0; i < 3; i++) {
        KT_ASSERT_EQ(MmGetMdlPfnArray(Mdl)[i], Frames[i]);
        KT_ASSERT_EQ(KtReferences(Frames[i]), Before[i] + 1);
    }

    PUCHAR System = MmGetSystemAddressForMdlSafe(Mdl, NormalPagePriority);
    KT_ASSERT(System != NULL);
    KT_ASSERT(Mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
    KT_ASSERT_EQ(Mdl->MappedSystemVa, (PVOID)System);
    KT_ASSERT_EQ(BYTE_OFFSET(System), KT_ODD);
    KT_ASSERT_EQ(MiSystemPteRegion.PagesReserved, PtesBefore + 3);
    KT_ASSERT_EQ(MmGetSystemAddressForMdlSafe(Mdl, NormalPagePriority), (PVOID)System);

    /* Another address space current: the user VA means nothing here, the
     * system view still reaches the same frames. */
    PMMADDRESS_SPACE Other;
    KT_ASSERT(NT_SUCCESS(MmCreateProcessAddressSpace(&Other)));
    KtDefer(KtDeleteSpace, Other);
    PMMADDRESS_SPACE Home = MmAttachAddressSpace(Other);
    BOOLEAN UserVisible = MmIsAddressValid(User);
    ULONG Mismatches = 0;
    for (ULONG i = 0; i < Length; i++) {
        if (System[i] != KtPatternByte(i, 1))
            Mismatches++;
        System[i] = KtPatternByte(i, 7);
    }
    MmAttachAddressSpace(Home);
    KT_ASSERT(!UserVisible);
    KT_ASSERT_EQ(Mismatches, 0);

    /* Back home, the process sees what was written through the view. */
    KT_ASSERT_STATUS(MmCopyFromUser(KtBuffer, User, Length), STATUS_SUCCESS);
    for (ULONG i = 0; i < Length; i++)
        KT_ASSERT_EQ(KtBuffer[i], KtPatternByte(i, 7));

    MmUnmapLockedPages(System, Mdl);
    KT_ASSERT(!(Mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA));
    KT_ASSERT_EQ(MiSystemPteRegion.PagesReserved, PtesBefore);
    KT_ASSERT(!MmIsAddressValid(System));
    MmUnlockPages(Mdl);
    KT_ASSERT_EQ(Mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_WRITE_OPERATION), 0);
    KT_ASSERT_EQ(MmGetLockedPageCount(Space), 0);
    for (ULONG i = 0; i < 3; i++)
        KT_ASSERT_EQ(KtReferences(Frames[i]), Before[i]);
}

/* Locking faults pages in: a committed page never touched gets its
 * demand-zero frame, and MmUnlockPages unmaps a view left in place. */
KTEST(mdl, lock_faults_in_demand_zero_pages_and_unlock_unmaps)
{
    PMMADDRESS_SPACE Space = KtMakeUserSpace();
    KT_ASSERT(Space != NULL);
    KT_ASSERT_STATUS(KtCommit(Space, 0, 2, PAGE_READWRITE), STATUS_SUCCESS);
    KT_ASSERT(!MmIsAddressValid(KtPage(0)) && !MmIsAddressValid(KtPage(1)));
    ULONG_PTR PtesBefore = MiSystemPteRegion.PagesReserved;

    PMDL Mdl = IoAllocateMdl(KtPage(0) + 8, PAGE_SIZE, FALSE, FALSE, NULL);
    KT_ASSERT(Mdl != NULL);
    KtDefer(KtReleaseMdl, Mdl);
    KT_ASSERT_STATUS(MmProbeAndLockPages(Mdl, UserMode, IoReadAccess), STATUS_SUCCESS);
    KT_ASSERT(MmIsAddressValid(KtPage(0)) && MmIsAddressValid(KtPage(1)));
    KT_ASSERT_EQ(Mdl->MdlFlags & MDL_WRITE_OPERATION, 0);
    PUCHAR System = MmGetSystemAddressForMdlSafe(Mdl, NormalPagePriority);
    KT_ASSERT(System != NULL);
    for (ULONG i = 0; i < PAGE_SIZE; i++)
        KT_ASSERT_EQ(System[i], 0);
    MmUnlockPages(Mdl);
    KT_ASSERT_EQ(Mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA), 0);
    KT_ASSERT_EQ(MiSystemPteRegion.PagesReserved, PtesBefore);
    KT_ASSERT_EQ(KtReferences(KtFrameOf(KtPage(0))), 1);
}

/* A decommit frees the page, not the frame: a device may still be
 * writing into it. The frame leaves only with the last unlock. */
KTEST(mdl, decommit_of_a_locked_page_keeps_the_frame_until_unlock)
{
    PMMADDRESS_SPACE Space = KtMakeUserSpace();
    KT_ASSERT(Space != NULL);
    KT_ASSERT_STATUS(KtCommit(Space, 0, 2, PAGE_READWRITE), STATUS_SUCCESS);
    memset(KtBuffer, 0x6B, 2 * PAGE_SIZE);
    KT_ASSERT_STATUS(MmCopyToUser(KtPage(0), KtBuffer, 2 * PAGE_SIZE), STATUS_SUCCESS);
    PFN_NUMBER Frame = KtFrameOf(KtPage(1));
    KT_ASSERT(Frame != 0);

    PMDL Mdl = IoAllocateMdl(KtPage(0) + KT_ODD, PAGE_SIZE, FALSE, FALSE, NULL);
    KT_ASSERT(Mdl != NULL);
    KtDefer(KtReleaseMdl, Mdl);
    KT_ASSERT_STATUS(MmProbeAndLockPages(Mdl, UserMode, IoModifyAccess), STATUS_SUCCESS);
    KT_ASSERT_EQ(MmGetMdlPfnArray(Mdl)[1], Frame);
    KT_ASSERT_EQ(KtReferences(Frame), 2);

    PFN_NUMBER Available = MmAvailablePages();
    PFN_NUMBER UserFrames = MmPagesInUse(MiUsageUser);
    PVOID Base = KtPage(1);
    SIZE_T Size = PAGE_SIZE;
    KT_ASSERT_STATUS(MmFreeVirtualMemory(Space, &Base, &Size, MEM_DECOMMIT), STATUS_SUCCESS);
    KT_ASSERT(!MmIsAddressValid(KtPage(1)));
    KT_ASSERT_EQ(MmAvailablePages(), Available);
    KT_ASSERT_EQ(MmPagesInUse(MiUsageUser), UserFrames);
    KT_ASSERT_EQ(MI_PFN_ELEMENT(Frame)->PageLocation, ActiveAndValid);
    KT_ASSERT_EQ(KtReferences(Frame), 1);

    /* The frame still holds the data, and the view still reaches it. */
    PUCHAR System = MmGetSystemAddressForMdlSafe(Mdl, NormalPagePriority);
    KT_ASSERT(System != NULL);
    KT_ASSERT_EQ(System[PAGE_SIZE - KT_ODD + 5], 0x6B);
    System[PAGE_SIZE - KT_ODD + 5] = 0x6C;

    MmUnlockPages(Mdl);
    KT_ASSERT_EQ(MmAvailablePages(), Available + 1);
    KT_ASSERT_EQ(MmPagesInUse(MiUsageUser), UserFrames - 1);
    KT_ASSERT_EQ(KtReferences(Frame), 0);
    KT_ASSERT(MI_PFN_ELEMENT(Frame)->PageLocation == FreePageList ||
              MI_PFN_ELEMENT(Frame)->PageLocation == ZeroedPageList);
    KT_ASSERT_EQ(KtReferences(KtFrameOf(KtPage(0))), 1);
}

/* Everything a failed lock may have taken, to compare before and after. */
typedef struct _KT_MDL_BASELINE {
    PFN_NUMBER Available;
    ULONG_PTR SystemPtes;
    PFN_NUMBER Locked;
    USHORT References[2];
} KT_MDL_BASELINE;

static void KtTakeBaseline(PMMADDRESS_SPACE Space, KT_MDL_BASELINE *Baseline)
{
    Baseline->Available = MmAvailablePages();
    Baseline->SystemPtes = MiSystemPteRegion.PagesReserved;
    Baseline->Locked = MmGetLockedPageCount(Space);
    for (ULONG i = 0; i < 2; i++)
        Baseline->References[i] = KtReferences(KtFrameOf(KtPage(i)));
}

/* Lock [Va, Va + Length) from AccessMode for Operation; the status, after
 * checking that a failure left no lock, no view and no frame behind. */
static NTSTATUS KtTryLock(PMMADDRESS_SPACE Space, ULONG_PTR Va, ULONG Length,
                          KPROCESSOR_MODE AccessMode, LOCK_OPERATION Operation)
{
    KT_MDL_BASELINE Before, After;
    KtTakeBaseline(Space, &Before);
    PMDL Mdl = IoAllocateMdl((PVOID)Va, Length, FALSE, FALSE, NULL);
    if (!Mdl)
        return STATUS_NO_MEMORY;
    NTSTATUS Status = MmProbeAndLockPages(Mdl, AccessMode, Operation);
    if (NT_SUCCESS(Status)) {
        MmUnlockPages(Mdl);
    } else {
        KT_EXPECT_EQ(Mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA), 0);
        KT_EXPECT(Mdl->Process == NULL);
    }
    IoFreeMdl(Mdl);
    KtTakeBaseline(Space, &After);
    /* A lock that worked may have faulted a demand-zero page in: that
     * frame belongs to the page, not to the lock. */
    if (NT_SUCCESS(Status))
        After.Available = Before.Available;
    KT_EXPECT_EQ(After.Available, Before.Available);
    KT_EXPECT_EQ(After.SystemPtes, Before.SystemPtes);
    KT_EXPECT_EQ(After.Locked, Before.Locked);
    KT_EXPECT_EQ(After.References[0], Before.References[0]);
    KT_EXPECT_EQ(After.References[1], Before.References[1]);
    return Status;
}

static ULONG64 KtKernelGlobal = 0x5A5A;

KTEST(mdl, bad_kernel_and_non_canonical_addresses_fail_and_leak_nothing)
{
    PMMADDRESS_SPACE Space = KtMakeUserSpace();
    KT_ASSERT(Space != NULL);
    KT_ASSERT_STATUS(KtCommit(Space, 0, 2, PAGE_READWRITE), STATUS_SUCCESS);
    KT_ASSERT_STATUS(KtCommit(Space, 3, 1, PAGE_READONLY), STATUS_SUCCESS);
    KT_ASSERT_STATUS(KtCommit(Space, 4, 1, PAGE_READWRITE | PAGE_GUARD), STATUS_SUCCESS);
    memset(KtBuffer, 1, 2 * PAGE_SIZE);
    KT_ASSERT_STATUS(MmCopyToUser(KtPage(0), KtBuffer, 2 * PAGE_SIZE), STATUS_SUCCESS);
    /* The read-only page resident too: a failing write touch of a fresh
     * one would fault its demand-zero frame in (the page's, not a leak). */
    KT_ASSERT_STATUS(MmCopyFromUser(KtBuffer, KtPage(3), 8), STATUS_SUCCESS);
    ULONG_PTR Kernel = (ULONG_PTR)&KtKernelGlobal;

    /* Outside the user half, from user mode: refused before any touch. */
    KT_EXPECT_EQ(KtTryLock(Space, Kernel, 8, UserMode, IoReadAccess), STATUS_ACCESS_VIOLATION);
    KT_EXPECT_EQ(KtTryLock(Space, 0x0000800000000000ULL, 8, UserMode, IoReadAccess),
                 STATUS_ACCESS_VIOLATION);
    KT_EXPECT_EQ(KtTryLock(Space, 0x1000, 8, UserMode, IoReadAccess), STATUS_ACCESS_VIOLATION);
    KT_EXPECT_EQ(KtTryLock(Space, MM_USER_PROBE_ADDRESS - 8, 16, UserMode, IoReadAccess),
                 STATUS_ACCESS_VIOLATION);
    /* Non-canonical from kernel mode: the touch's #GP is recovered. */
    KT_EXPECT_EQ(KtTryLock(Space, 0x0000900000000000ULL, 8, KernelMode, IoReadAccess),
                 STATUS_ACCESS_VIOLATION);
    /* Good pages first, then a reserved one: the two locked are undone. */
    KT_EXPECT_EQ(KtTryLock(Space, (ULONG_PTR)KtPage(0) + KT_ODD, 2 * PAGE_SIZE + 10, UserMode,
                           IoReadAccess),
                 STATUS_ACCESS_VIOLATION);
    /* No VAD at all; read-only for a write; a guard page (consumed). */
    KT_EXPECT_EQ(KtTryLock(Space, KT_BASE + KT_PAGES * PAGE_SIZE + 64, 8, UserMode, IoReadAccess),
                 STATUS_ACCESS_VIOLATION);
    KT_EXPECT_EQ(KtTryLock(Space, (ULONG_PTR)KtPage(3), 8, UserMode, IoWriteAccess),
                 STATUS_ACCESS_VIOLATION);
    KT_EXPECT_EQ(KtTryLock(Space, (ULONG_PTR)KtPage(3), 8, UserMode, IoReadAccess), STATUS_SUCCESS);
    KT_EXPECT_EQ(KtTryLock(Space, (ULONG_PTR)KtPage(4), 8, UserMode, IoWriteAccess),
                 STATUS_GUARD_PAGE_VIOLATION);
    KT_EXPECT_EQ(KtTryLock(Space, (ULONG_PTR)KtPage(4), 8, UserMode, IoWriteAccess), STATUS_SUCCESS);
    /* A kernel buffer from kernel mode is fine. */
    KT_EXPECT_EQ(KtTryLock(Space, Kernel, 8, KernelMode, IoWriteAccess), STATUS_SUCCESS);
    KT_EXPECT_EQ(KtTryLock(Space, (ULONG_PTR)KtPage(0), 2 * PAGE_SIZE, UserMode, IoWriteAccess),
                 STATUS_SUCCESS);
}

KTEST(mdl, build_for_nonpaged_pool_needs_no_system_ptes)
{
    PUCHAR Block = ExAllocatePoolWithTag(NonPagedPool, 3 * PAGE_SIZE, POOL_TAG('K', 't', 'M', 'd'));
    KT_ASSERT(Block != NULL);
    PUCHAR Buffer = Block + 100;
    const ULONG Length = 2 * PAGE_SIZE;  /* three pages, from offset 100 */
    PMDL Mdl = IoAllocateMdl(Buffer, Length, FALSE, FALSE, NULL);
    if (!Mdl)
        ExFreePoolWithTag(Block, POOL_TAG('K', 't', 'M', 'd'));
    KT_ASSERT(Mdl != NULL);
    ULONG_PTR PtesBefore = MiSystemPteRegion.PagesReserved;
    MmBuildMdlForNonPagedPool(Mdl);
    BOOLEAN FlagsOk = (Mdl->MdlFlags & (MDL_SOURCE_IS_NONPAGED_POOL | MDL_PAGES_LOCKED |
                                        MDL_MAPPED_TO_SYSTEM_VA)) == MDL_SOURCE_IS_NONPAGED_POOL;
    ULONG FramesOk = 0, ReferencesOk = 0;
    for (ULONG i = 0; i < 3; i++) {
        PFN_NUMBER Pfn = MmGetPhysicalAddress((PUCHAR)Mdl->StartVa + i * PAGE_SIZE) >> PAGE_SHIFT;
        FramesOk += MmGetMdlPfnArray(Mdl)[i] == Pfn;
        ReferencesOk += KtReferences(Pfn) == 1;   /* nonpaged: nothing was locked */
    }
    PVOID System = MmGetSystemAddressForMdlSafe(Mdl, NormalPagePriority);
    ULONG_PTR PtesAfter = MiSystemPteRegion.PagesReserved;
    IoFreeMdl(Mdl);
    ExFreePoolWithTag(Block, POOL_TAG('K', 't', 'M', 'd'));
    KT_EXPECT(FlagsOk);
    KT_EXPECT_EQ(FramesOk, 3);
    KT_EXPECT_EQ(ReferencesOk, 3);
    KT_EXPECT_EQ(System, (PVOID)Buffer);
    KT_EXPECT_EQ(PtesAfter, PtesBefore);
}

/* A kernel-mode lock of paged pool: the touch faults the demand-zero
 * pages in, the lock keeps them (a pager must leave them alone), and the
 * view aliases them. */
KTEST(mdl, kernel_mode_lock_of_paged_pool)
{
    const ULONG Tag = POOL_TAG('K', 't', 'M', 'p');
    PUCHAR Block = ExAllocatePoolWithTag(PagedPool, 2 * PAGE_SIZE, Tag);
    KT_ASSERT(Block != NULL);
    PMDL Mdl = IoAllocateMdl(Block + 16, PAGE_SIZE, FALSE, FALSE, NULL);
    NTSTATUS Status = Mdl ? MmProbeAndLockPages(Mdl, KernelMode, IoWriteAccess)
                          : STATUS_INSUFFICIENT_RESOURCES;
    ULONG Locked = 0, Aliased = 0;
    if (NT_SUCCESS(Status)) {
        for (ULONG i = 0; i < 2; i++) {
            PFN_NUMBER Pfn = MmGetMdlPfnArray(Mdl)[i];
            Locked += Pfn == KtFrameOf(Block + i * PAGE_SIZE) && KtReferences(Pfn) == 2;
        }
        PUCHAR System = MmGetSystemAddressForMdlSafe(Mdl, NormalPagePriority);
        if (System) {
            System[0] = 0x11;
            System[PAGE_SIZE - 1] = 0x22;
            Aliased = System != Block + 16 && Block[16] == 0x11 && Block[PAGE_SIZE + 15] == 0x22;
        }
        KT_EXPECT(Mdl->Process == NULL); /* a system buffer charges no address space */
        MmUnlockPages(Mdl);
    }
    if (Mdl)
        IoFreeMdl(Mdl);
    PFN_NUMBER Pfn0 = KtFrameOf(Block);
    USHORT After = Pfn0 ? KtReferences(Pfn0) : 0;
    ExFreePoolWithTag(Block, Tag);
    KT_EXPECT_STATUS(Status, STATUS_SUCCESS);
    KT_EXPECT_EQ(Locked, 2);
    KT_EXPECT(Aliased);
    KT_EXPECT_EQ(After, 1);
}

/* A driver splitting a locked user buffer: IoBuildPartialMdl gives a part
 * the source's frames for exactly its pages, nothing more is locked, the
 * part's own view (MDL_PARTIAL_HAS_BEEN_MAPPED) aliases the same bytes and
 * goes with MmPrepareMdlForReuse, and IoFreeMdl unmaps a view still there. */
KTEST(mdl, partial_mdl_describes_part_of_a_locked_buffer)
{
    const ULONG Length = 3 * PAGE_SIZE; /* four pages, from KT_ODD */
    PMMADDRESS_SPACE Space = KtMakeUserSpace();
    KT_ASSERT(Space != NULL);
    KT_ASSERT_STATUS(KtCommit(Space, 0, 4, PAGE_READWRITE), STATUS_SUCCESS);
    PUCHAR User = KtPage(0) + KT_ODD;
    PMDL Source = IoAllocateMdl(User, Length, FALSE, FALSE, NULL);
    KT_ASSERT(Source != NULL);
    KtDefer(KtReleaseMdl, Source);
    KT_ASSERT_STATUS(MmProbeAndLockPages(Source, UserMode, IoWriteAccess), STATUS_SUCCESS);
    PUCHAR SourceView = MmGetSystemAddressForMdlSafe(Source, NormalPagePriority);
    KT_ASSERT(SourceView != NULL);
    ULONG_PTR PtesBefore = MiSystemPteRegion.PagesReserved;
    USHORT References = KtReferences(MmGetMdlPfnArray(Source)[1]);

    /* The part: from the last 0x10 bytes of page 1 to 0x20 into page 3. */
    PUCHAR PartVa = KtPage(2) - 0x10;
    const ULONG PartLength = PAGE_SIZE + 0x30;
    PMDL Part = IoAllocateMdl(User, Length, FALSE, FALSE, NULL); /* room for any part */
    KT_ASSERT(Part != NULL);
    PKT_DEFERRED FreePart = KtDefer(KtFreeMdl, Part);
    IoBuildPartialMdl(Source, Part, PartVa, PartLength);
    KT_EXPECT_EQ(MmGetMdlVirtualAddress(Part), (PVOID)PartVa);
    KT_EXPECT_EQ(MmGetMdlByteCount(Part), PartLength);
    KT_EXPECT_EQ(MmGetMdlByteOffset(Part), PAGE_SIZE - 0x10);
    KT_EXPECT_EQ(Part->MdlFlags, MDL_ALLOCATED_FIXED_SIZE | MDL_PARTIAL | MDL_WRITE_OPERATION);
    for (ULONG i = 0; i < 3; i++)
        KT_EXPECT_EQ(MmGetMdlPfnArray(Part)[i], MmGetMdlPfnArray(Source)[1 + i]);
    KT_EXPECT_EQ(KtReferences(MmGetMdlPfnArray(Source)[1]), References); /* nothing locked */

    PUCHAR PartView = MmGetSystemAddressForMdlSafe(Part, NormalPagePriority);
    KT_ASSERT(PartView != NULL);
    KT_EXPECT_EQ(Part->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED),
                 MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED);
    KT_EXPECT_EQ(MiSystemPteRegion.PagesReserved, PtesBefore + 3);
    PartView[0] = 0x5A;
    PartView[PartLength - 1] = 0xA5;
    ULONG First = (ULONG)(PartVa - User);
    KT_EXPECT_EQ(SourceView[First], 0x5A);
    KT_EXPECT_EQ(SourceView[First + PartLength - 1], 0xA5);

    /* Reused for the whole buffer's tail (Length 0: to the end). */
    MmPrepareMdlForReuse(Part);
    KT_EXPECT_EQ(MiSystemPteRegion.PagesReserved, PtesBefore);
    KT_EXPECT(!(Part->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED)));
    IoBuildPartialMdl(Source, Part, KtPage(3), 0);
    KT_EXPECT_EQ(MmGetMdlByteCount(Part), KT_ODD);
    KT_EXPECT_EQ(MmGetMdlPfnArray(Part)[0], MmGetMdlPfnArray(Source)[3]);
    PUCHAR Tail = MmGetSystemAddressForMdlSafe(Part, NormalPagePriority);
    KT_ASSERT(Tail != NULL);
    KT_EXPECT_EQ(Tail[0], SourceView[3 * PAGE_SIZE - KT_ODD]);
    KT_EXPECT_EQ(MiSystemPteRegion.PagesReserved, PtesBefore + 1);
    KtCleanupNow(FreePart); /* IoFreeMdl unmaps the part's view */
    KT_EXPECT_EQ(MiSystemPteRegion.PagesReserved, PtesBefore);
}

/* A part of a nonpaged-pool MDL is its own view: no system PTE. */
KTEST(mdl, partial_mdl_of_nonpaged_pool_needs_no_view)
{
    const ULONG Tag = POOL_TAG('K', 't', 'M', 'd');
    PUCHAR Block = ExAllocatePoolWithTag(NonPagedPool, 2 * PAGE_SIZE, Tag);
    KT_ASSERT(Block != NULL);
    PMDL Source = IoAllocateMdl(Block, 2 * PAGE_SIZE, FALSE, FALSE, NULL);
    PMDL Part = IoAllocateMdl(Block, 2 * PAGE_SIZE, FALSE, FALSE, NULL);
    ULONG_PTR PtesBefore = MiSystemPteRegion.PagesReserved;
    PVOID View = NULL;
    SHORT Flags = 0;
    if (Source && Part) {
        MmBuildMdlForNonPagedPool(Source);
        IoBuildPartialMdl(Source, Part, Block + PAGE_SIZE + 8, 64);
        Flags = Part->MdlFlags;
        View = MmGetSystemAddressForMdlSafe(Part, NormalPagePriority);
    }
    ULONG_PTR PtesAfter = MiSystemPteRegion.PagesReserved;
    if (Part)
        IoFreeMdl(Part);
    if (Source)
        IoFreeMdl(Source);
    ExFreePoolWithTag(Block, Tag);
    KT_ASSERT(Source != NULL && Part != NULL);
    KT_EXPECT_EQ(Flags, MDL_ALLOCATED_FIXED_SIZE | MDL_PARTIAL | MDL_SOURCE_IS_NONPAGED_POOL);
    KT_EXPECT_EQ(View, (PVOID)(Block + PAGE_SIZE + 8));
    KT_EXPECT_EQ(PtesAfter, PtesBefore);
}

/* Reserve every free page of the system PTE region, in the largest runs
 * that fit; returns how many runs (at most Max) it took. */
#define KT_MAX_RUNS 64
static ULONG KtExhaustSystemPtes(PVOID *Runs, ULONG_PTR *Sizes, ULONG Max)
{
    ULONG Count = 0;
    ULONG_PTR Size = MiSystemPteRegion.Pages - MiSystemPteRegion.PagesReserved;
    while (Size > 0 && Count < Max) {
        PVOID Run = MiReserveVa(&MiSystemPteRegion, Size);
        if (Run) {
            Runs[Count] = Run;
            Sizes[Count++] = Size;
        } else {
            Size /= 2;
        }
    }
    return Count;
}

KTEST(mdl, system_ptes_exhausted_mapping_returns_null)
{
    PUCHAR Block = ExAllocatePoolWithTag(NonPagedPool, 64, POOL_TAG('K', 't', 'M', 'd'));
    KT_ASSERT(Block != NULL);
    PMDL Mdl = IoAllocateMdl(Block, 64, FALSE, FALSE, NULL);
    KT_ASSERT(Mdl != NULL);
    MmBuildMdlForNonPagedPool(Mdl);
    ULONG_PTR PtesBefore = MiSystemPteRegion.PagesReserved;

    static PVOID Runs[KT_MAX_RUNS];
    static ULONG_PTR Sizes[KT_MAX_RUNS];
    ULONG Count = KtExhaustSystemPtes(Runs, Sizes, KT_MAX_RUNS);
    BOOLEAN Full = MiSystemPteRegion.PagesReserved == MiSystemPteRegion.Pages;
    PVOID Mapped = MmMapLockedPagesSpecifyCache(Mdl, KernelMode, MmCached, NULL, FALSE,
                                                NormalPagePriority);
    SHORT FlagsWhenFull = Mdl->MdlFlags;
    for (ULONG i = 0; i < Count; i++)
        MiReleaseVa(&MiSystemPteRegion, Runs[i], Sizes[i]);
    KT_EXPECT(Full);
    KT_EXPECT(Mapped == NULL);
    KT_EXPECT_EQ(FlagsWhenFull & MDL_MAPPED_TO_SYSTEM_VA, 0);
    KT_EXPECT_EQ(MiSystemPteRegion.PagesReserved, PtesBefore);

    /* With room again, the same call works. */
    PUCHAR View = MmMapLockedPagesSpecifyCache(Mdl, KernelMode, MmCached, NULL, FALSE,
                                               NormalPagePriority);
    KT_EXPECT(View != NULL && View != Block);
    if (View) {
        Block[5] = 0x3C;
        KT_EXPECT_EQ(View[5], 0x3C);
        MmUnmapLockedPages(View, Mdl);
        KT_EXPECT_EQ(Mdl->MappedSystemVa, (PVOID)Block);
    }
    KT_EXPECT_EQ(MiSystemPteRegion.PagesReserved, PtesBefore);
    IoFreeMdl(Mdl);
    ExFreePoolWithTag(Block, POOL_TAG('K', 't', 'M', 'd'));
}

/* One whole use of an MDL, as a driver makes it. */
static NTSTATUS KtLockMapUnmapUnlock(PVOID User, ULONG Length, UCHAR Value)
{
    PMDL Mdl = IoAllocateMdl(User, Length, FALSE, FALSE, NULL);
    if (!Mdl)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS Status = MmProbeAndLockPages(Mdl, UserMode, IoWriteAccess);
    if (NT_SUCCESS(Status)) {
        PUCHAR System = MmGetSystemAddressForMdlSafe(Mdl, NormalPagePriority);
        if (System) {
            System[0] = Value;
            System[Length - 1] = Value;
            MmUnmapLockedPages(System, Mdl);
        } else {
            Status = STATUS_INSUFFICIENT_RESOURCES;
        }
        MmUnlockPages(Mdl);
    }
    IoFreeMdl(Mdl);
    return Status;
}

KTEST(mdl, thousand_lock_map_unmap_unlock_cycles_return_to_baseline)
{
    PMMADDRESS_SPACE Space = KtMakeUserSpace();
    KT_ASSERT(Space != NULL);
    KT_ASSERT_STATUS(KtCommit(Space, 0, 4, PAGE_READWRITE), STATUS_SUCCESS);
    PVOID User = KtPage(0) + KT_ODD;
    const ULONG Length = 3 * PAGE_SIZE; /* four pages, from KT_ODD */
    /* The first cycle faults the pages in and may create the page tables
     * of the system PTEs it uses: measure from the second. */
    KT_ASSERT_STATUS(KtLockMapUnmapUnlock(User, Length, 0), STATUS_SUCCESS);
    PFN_NUMBER Available = MmAvailablePages();
    PFN_NUMBER PageTables = MmPagesInUse(MiUsagePageTable);
    ULONG_PTR Ptes = MiSystemPteRegion.PagesReserved;
    ExFoldPoolTagCounts(NonPagedPool);
    SIZE_T PoolBytes = ExpPoolSmallBytesInUse(ExGetPoolDescriptor(NonPagedPool));
    SIZE_T PoolBig = ExGetPoolDescriptor(NonPagedPool)->BigPages;
    USHORT References = KtReferences(KtFrameOf(KtPage(1)));

    for (ULONG i = 1; i <= 1000; i++)
        KT_ASSERT_STATUS(KtLockMapUnmapUnlock(User, Length, (UCHAR)i), STATUS_SUCCESS);

    UCHAR Last[2];
    KT_ASSERT_STATUS(MmCopyFromUser(&Last[0], User, 1), STATUS_SUCCESS);
    KT_ASSERT_STATUS(MmCopyFromUser(&Last[1], (PUCHAR)User + Length - 1, 1), STATUS_SUCCESS);
    KT_EXPECT(Last[0] == (UCHAR)1000 && Last[1] == (UCHAR)1000);
    ExFoldPoolTagCounts(NonPagedPool);
    /* Each cycle maps at the next free system PTEs (the region's hint
     * moves on), so the page tables of the region fill in as the cycles
     * walk through it, and stay, as every system page table does (at
     * most one per 2 MiB of the region). Every other frame came back. */
    PFN_NUMBER NewPageTables = MmPagesInUse(MiUsagePageTable) - PageTables;
    ULONG_PTR PagesPerCycle = ADDRESS_AND_SIZE_TO_SPAN_PAGES(User, Length);
    KT_EXPECT(NewPageTables <= (1000 * PagesPerCycle * PAGE_SIZE) / (2 << 20) + 2);
    KT_EXPECT_EQ(MmAvailablePages() + NewPageTables, Available);
    KT_EXPECT_EQ(MiSystemPteRegion.PagesReserved, Ptes);
    KT_EXPECT_EQ(ExpPoolSmallBytesInUse(ExGetPoolDescriptor(NonPagedPool)), PoolBytes);
    KT_EXPECT_EQ(ExGetPoolDescriptor(NonPagedPool)->BigPages, PoolBig);
    KT_EXPECT_EQ(KtReferences(KtFrameOf(KtPage(1))), References);
    KT_EXPECT_EQ(MmGetLockedPageCount(Space), 0);
}

/* A driver that leaks a lock: the process cannot go (the frames may still
 * be a device's target), and NT stops with PROCESS_HAS_LOCKED_PAGES. */
KTEST_BUGCHECK(mdl, deleting_a_space_with_locked_pages, PROCESS_HAS_LOCKED_PAGES)
{
    PMMADDRESS_SPACE Space;
    KT_ASSERT(NT_SUCCESS(MmCreateProcessAddressSpace(&Space)));
    PMMADDRESS_SPACE Home = MmAttachAddressSpace(Space);
    PVOID Base = (PVOID)KT_BASE;
    SIZE_T Size = PAGE_SIZE;
    KT_ASSERT(NT_SUCCESS(
        MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE)));
    PMDL Mdl = IoAllocateMdl(Base, 16, FALSE, FALSE, NULL);
    KT_ASSERT(Mdl != NULL);
    KT_ASSERT_STATUS(MmProbeAndLockPages(Mdl, UserMode, IoWriteAccess), STATUS_SUCCESS);
    MmAttachAddressSpace(Home);
    MmDeleteProcessAddressSpace(Space);
}
