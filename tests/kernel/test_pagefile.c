/*
 * test_pagefile.c - the pagefile, the modified page writer and hard faults
 * (mm/pagefile.c, mm/fault.c, mm/pfn.c; docs/paging.md): a written page is
 * trimmed, written to the pagefile, its frame reused, and read back by a
 * hard fault with the same bytes; a clean page goes back to standby
 * without a write; a dirty page is written once until it is written
 * again; an MDL-locked page is not trimmed while an I/O into it runs; two
 * threads faulting on one page cause one read; paged pool pages go to the
 * pagefile and come back; slots return when pages are decommitted and
 * when an address space ends.
 *
 * Every boot of the test harness that has a disk has a pagefile: the
 * ktest boot (8 MiB disk: a 6 MiB pagefile at -m 256M) and the paging
 * boot (-m 32M, 128 MiB pagefile). Tests touch user memory through
 * MmCopyToUser / MmCopyFromUser, attached to an address space of their own.
 */
#include "../../include/ktest.h"
#include "../../mm/mi.h"
#include "../../io/io.h"
#include "../../ps/ps.h"
#include "../../ob/ob.h"
#include "../../rtl/rtl.h"
#include "ktspace.h"

#define KT_BASE KT_SPACE_BASE
#define KT_PAGES 8
#define KT_TAG POOL_TAG('K', 't', 'P', 'f')

static MMPTE KtPte(ULONG Index)
{
    return *MiGetPteAddress(KtPage(Index));
}

static UCHAR KtByte(ULONG Index, ULONG Seed, ULONG i)
{
    return (UCHAR)(Index * 131 + Seed * 7 + i * 13 + (i >> 8));
}

static NTSTATUS KtWritePage(ULONG Index, ULONG Seed)
{
    static UCHAR Buffer[PAGE_SIZE];
    for (ULONG i = 0; i < PAGE_SIZE; i++)
        Buffer[i] = KtByte(Index, Seed, i);
    return MmCopyToUser(KtPage(Index), Buffer, PAGE_SIZE);
}

static BOOLEAN KtCheckPage(ULONG Index, ULONG Seed)
{
    static UCHAR Buffer[PAGE_SIZE];
    if (!NT_SUCCESS(MmCopyFromUser(Buffer, KtPage(Index), PAGE_SIZE)))
        return FALSE;
    for (ULONG i = 0; i < PAGE_SIZE; i++)
        if (Buffer[i] != KtByte(Index, Seed, i))
            return FALSE;
    return TRUE;
}

static BOOLEAN KtIsTaken(const PFN_NUMBER *Frames, ULONG Count, PFN_NUMBER Pfn, ULONG *Left)
{
    for (ULONG i = 0; i < Count; i++)
        if (Frames[i] == Pfn) {
            (*Left)--;
            return TRUE;
        }
    return FALSE;
}

/* Make the standby frames Frames[0..Count) be reused, as the free lists
 * running dry would: take frames (at DISPATCH_LEVEL, so nothing else runs)
 * until each of them has been taken, then give everything back. Returns
 * how many of them were reused. */
static ULONG KtReuseStandbyFrames(const PFN_NUMBER *Frames, ULONG Count)
{
    ULONG Left = Count;
    PFN_NUMBER Taken = MM_EMPTY_LIST, Pfn;
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    do {
        Pfn = MiRemoveAnyPage(MiUsageUser);
        if (Pfn != MM_EMPTY_LIST) {
            (void)KtIsTaken(Frames, Count, Pfn, &Left);
            MI_PFN_ELEMENT(Pfn)->Flink = Taken;
            Taken = Pfn;
        }
    } while (Pfn != MM_EMPTY_LIST && Left != 0);
    while (Taken != MM_EMPTY_LIST) {
        PFN_NUMBER Next = MI_PFN_ELEMENT(Taken)->Flink;
        MI_PFN_ELEMENT(Taken)->Flink = MM_EMPTY_LIST;
        MiInsertPageInFreeList(Taken);
        Taken = Next;
    }
    KeLowerIrql(OldIrql);
    return Count - Left;
}

static PFN_NUMBER KtSlotsInUse(void)
{
    MM_MEMORY_COUNTERS Counters;
    MmQueryMemoryCounters(&Counters);
    return Counters.PageFileInUse;
}

/* Pages 0..Count of a new space written, trimmed, written to the pagefile
 * and their frames reused: every PTE a pagefile PTE. Frames[] gets the
 * frames they had. */
static BOOLEAN KtPageOut(ULONG Count, ULONG Seed, PFN_NUMBER *Frames)
{
    for (ULONG i = 0; i < Count; i++) {
        if (!NT_SUCCESS(KtWritePage(i, Seed)))
            return FALSE;
        Frames[i] = KtPte(i).u.Hard.PageFrameNumber;
    }
    if (MmEmptyWorkingSet(MmCurrentAddressSpace) != Count)
        return FALSE;
    (void)MmFlushModifiedPages();
    for (ULONG i = 0; i < Count; i++)
        if (MiGetPageLocation(Frames[i]) != StandbyPageList)
            return FALSE;
    return KtReuseStandbyFrames(Frames, Count) == Count;
}

KTEST(pagefile, is_open_with_slot_zero_reserved)
{
    KT_ASSERT(MmPagingFileActive());
    PMMPAGING_FILE File = MmPagingFile[0];
    KT_EXPECT(File->Size > 16);
    KT_EXPECT_EQ(File->Bitmap[0] & 1, 1);
    KT_EXPECT_EQ(File->FreeSpace + File->CurrentUsage, File->Size - 1);
    MM_MEMORY_COUNTERS Counters;
    MmQueryMemoryCounters(&Counters);
    KT_EXPECT_EQ(Counters.PageFilePages, File->Size);
    /* The commit limit counts the pagefile. */
    KT_EXPECT(Counters.CommitLimit >= File->Size - 1);
}

/* Written, trimmed, written out, frame reused: a pagefile PTE; touched: a
 * hard fault with one read per page and the same bytes. */
KTEST(pagefile, page_written_reused_and_hard_faulted_back)
{
    KT_ASSERT(MmPagingFileActive());
    PMMADDRESS_SPACE Space = KtMakeSpace(KT_PAGES);
    KT_ASSERT(Space != NULL);
    PFN_NUMBER Frames[KT_PAGES];
    ULONG64 Written = MmPagesWritten;
    KT_ASSERT(KtPageOut(KT_PAGES, 1, Frames));
    KT_EXPECT(MmPagesWritten >= Written + KT_PAGES);
    PFN_NUMBER Slots[KT_PAGES];
    for (ULONG i = 0; i < KT_PAGES; i++) {
        MMPTE Pte = KtPte(i);
        KT_ASSERT_EQ(MiPteState(Pte), MiPtePageFile);
        KT_EXPECT_EQ(Pte.u.Soft.Protection, MM_READWRITE);
        Slots[i] = Pte.u.Soft.PageFileHigh;
        KT_EXPECT(Slots[i] != 0 && Slots[i] < MmPagingFile[0]->Size);
    }
    KT_EXPECT_EQ(Space->ResidentPages, 0);

    ULONG64 Hard = MmFaultCounters.HardFault, Reads = MmPageFileReads;
    ULONG64 PagesRead = MmPageFilePagesRead, Soft = Space->Vm.TransitionFaults;
    for (ULONG i = 0; i < KT_PAGES; i++)
        KT_EXPECT(KtCheckPage(i, 1));
    /* One read per hard fault; each page read once, by its own hard fault
     * or in another's cluster and then touched by a soft fault. */
    ULONG64 HardNow = MmFaultCounters.HardFault - Hard;
    KT_EXPECT(HardNow >= 1);
    KT_EXPECT_EQ(MmPageFileReads - Reads, HardNow);
    KT_EXPECT_EQ(MmPageFilePagesRead - PagesRead, KT_PAGES);
    KT_EXPECT_EQ(Space->Vm.HardFaults, HardNow);
    KT_EXPECT_EQ(Space->Vm.TransitionFaults - Soft, KT_PAGES - HardNow);
    KT_EXPECT_EQ(Space->ResidentPages, KT_PAGES);
    KT_EXPECT_EQ(Space->PageFilePages, 0);
    for (ULONG i = 0; i < KT_PAGES; i++) {
        MMPTE Pte = KtPte(i);
        KT_ASSERT_EQ(MiPteState(Pte), MiPteValid);
        PMMPFN Entry = MI_PFN_ELEMENT(Pte.u.Hard.PageFrameNumber);
        /* The copy stays the page's until it is written again. */
        KT_EXPECT_EQ(MiPteState(Entry->OriginalPte), MiPtePageFile);
        KT_EXPECT_EQ(Entry->OriginalPte.u.Soft.PageFileHigh, Slots[i]);
        KT_EXPECT(!Entry->ReadInProgress);
    }
}

/* A page read back and not written is clean: trimmed, it goes straight to
 * standby with its slot, no write; reused, its PTE names the same slot. */
KTEST(pagefile, clean_standby_page_reused_without_write)
{
    KT_ASSERT(MmPagingFileActive());
    PMMADDRESS_SPACE Space = KtMakeSpace(1);
    KT_ASSERT(Space != NULL);
    PFN_NUMBER Frame;
    KT_ASSERT(KtPageOut(1, 2, &Frame));
    PFN_NUMBER Slot = KtPte(0).u.Soft.PageFileHigh;
    KT_ASSERT(KtCheckPage(0, 2)); /* hard fault, read only */
    Frame = KtPte(0).u.Hard.PageFrameNumber;
    ULONG64 Written = MmPagesWritten;
    KT_ASSERT_EQ(MmEmptyWorkingSet(Space), 1);
    KT_EXPECT_EQ(MiGetPageLocation(Frame), StandbyPageList);
    (void)MmFlushModifiedPages();
    KT_EXPECT_EQ(MmPagesWritten, Written);
    KT_ASSERT_EQ(KtReuseStandbyFrames(&Frame, 1), 1);
    KT_EXPECT_EQ(MmPagesWritten, Written);
    KT_ASSERT_EQ(MiPteState(KtPte(0)), MiPtePageFile);
    KT_EXPECT_EQ(KtPte(0).u.Soft.PageFileHigh, Slot);
    KT_EXPECT(KtCheckPage(0, 2));
}

/* A dirty page is written once; read back and trimmed again it is not
 * written again; written again, its old slot goes and it is written anew. */
KTEST(pagefile, dirty_page_written_once)
{
    KT_ASSERT(MmPagingFileActive());
    PMMADDRESS_SPACE Space = KtMakeSpace(1);
    KT_ASSERT(Space != NULL);
    KT_ASSERT_STATUS(KtWritePage(0, 3), STATUS_SUCCESS);
    (void)MmFlushModifiedPages(); /* nothing else on the modified list */
    PFN_NUMBER Slots = KtSlotsInUse();
    PFN_NUMBER Frame = KtPte(0).u.Hard.PageFrameNumber;
    KT_ASSERT_EQ(MmEmptyWorkingSet(Space), 1);
    KT_EXPECT_EQ(MiGetPageLocation(Frame), ModifiedPageList);
    KT_EXPECT_EQ(MmFlushModifiedPages(), 1);
    KT_EXPECT_EQ(KtSlotsInUse(), Slots + 1);
    KT_EXPECT_EQ(MiGetPageLocation(Frame), StandbyPageList);

    KT_ASSERT(KtCheckPage(0, 3)); /* soft fault, no write */
    KT_ASSERT_EQ(MmEmptyWorkingSet(Space), 1);
    KT_EXPECT_EQ(MiGetPageLocation(Frame), StandbyPageList);
    KT_EXPECT_EQ(MmFlushModifiedPages(), 0);

    KT_ASSERT_STATUS(KtWritePage(0, 4), STATUS_SUCCESS);
    KT_ASSERT_EQ(MmEmptyWorkingSet(Space), 1);
    KT_EXPECT_EQ(MiGetPageLocation(Frame), ModifiedPageList);
    KT_EXPECT_EQ(KtSlotsInUse(), Slots); /* the stale copy's slot went */
    KT_EXPECT_EQ(MmFlushModifiedPages(), 1);
    KT_EXPECT(KtCheckPage(0, 4));
}

typedef struct _KT_DISK_IO {
    KEVENT Event;
    MDL Mdl;
    PFN_NUMBER Pfn;
} KT_DISK_IO;

static NTSTATUS KtDiskIoDone(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    UNREFERENCED_PARAMETER(Irp);
    KeSetEvent(&((KT_DISK_IO *)Context)->Event, 0, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* While a disk read into an MDL-locked user page is in flight, trimming
 * leaves the page alone; after the unlock it is trimmed, as modified. */
KTEST(pagefile, mdl_locked_page_not_trimmed_during_io)
{
    KT_ASSERT(MmPagingFileActive());
    PMMADDRESS_SPACE Space = KtMakeSpace(2);
    KT_ASSERT(Space != NULL);
    KT_ASSERT_STATUS(KtWritePage(0, 5), STATUS_SUCCESS);
    KT_ASSERT_STATUS(KtWritePage(1, 5), STATUS_SUCCESS);
    PMDL Mdl = IoAllocateMdl(KtPage(0), PAGE_SIZE, FALSE, FALSE, NULL);
    KT_ASSERT(Mdl != NULL);
    NTSTATUS Status = MmProbeAndLockPages(Mdl, UserMode, IoWriteAccess);
    if (!NT_SUCCESS(Status))
        IoFreeMdl(Mdl);
    KT_ASSERT_STATUS(Status, STATUS_SUCCESS);
    PDEVICE_OBJECT Disk = MmPagingFile[0]->Device;
    PIRP Irp = IoAllocateIrp(Disk->StackSize, FALSE);
    KT_ASSERT(Irp != NULL);
    KT_DISK_IO Io;
    KeInitializeEvent(&Io.Event, NotificationEvent, FALSE);
    Irp->MdlAddress = Mdl;
    PIO_STACK_LOCATION Sp = IoGetNextIrpStackLocation(Irp);
    Sp->MajorFunction = IRP_MJ_READ;
    Sp->Parameters.Read.Length = PAGE_SIZE;
    Sp->Parameters.Read.ByteOffset.QuadPart = 0; /* slot 0: never used */
    IoSetCompletionRoutine(Irp, KtDiskIoDone, &Io, TRUE, TRUE, TRUE);
    Status = IoCallDriver(Disk, Irp);
    /* In flight now, most likely (PIO: an interrupt and a DPC per sector);
     * either way the MDL's lock holds the page until MmUnlockPages. */
    PFN_NUMBER Trimmed = MmEmptyWorkingSet(Space);
    MMPTE Pte0 = KtPte(0), Pte1 = KtPte(1);
    (void)KeWaitForSingleObject(&Io.Event, Executive, KernelMode, FALSE, NULL);
    NTSTATUS IoStatus = Irp->IoStatus.Status;
    if (Mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA)
        MmUnmapLockedPages(Mdl->MappedSystemVa, Mdl);
    PFN_NUMBER Locked = MmGetMdlPfnArray(Mdl)[0];
    MmUnlockPages(Mdl);
    IoFreeMdl(Mdl);
    IoFreeIrp(Irp);
    KT_EXPECT_STATUS(Status, STATUS_PENDING);
    KT_EXPECT_STATUS(IoStatus, STATUS_SUCCESS);
    KT_EXPECT_EQ(Trimmed, 1);
    KT_EXPECT_EQ(MiPteState(Pte0), MiPteValid);
    KT_EXPECT_EQ(MiPteState(Pte1), MiPteTransition);
    KT_ASSERT_EQ(MmEmptyWorkingSet(Space), 1);
    KT_EXPECT_EQ(MiGetPageLocation(Locked), ModifiedPageList);
}

typedef struct _KT_FAULTER {
    PMMADDRESS_SPACE Space;
    KEVENT Done;
    BOOLEAN Intact;
} KT_FAULTER;

static void KtFaulterRoutine(PVOID Context)
{
    KT_FAULTER *Faulter = Context;
    PMMADDRESS_SPACE Previous = MmAttachAddressSpace(Faulter->Space);
    UCHAR Buffer[64];
    Faulter->Intact = NT_SUCCESS(MmCopyFromUser(Buffer, KtPage(0), sizeof(Buffer)));
    for (ULONG i = 0; i < sizeof(Buffer); i++)
        Faulter->Intact = Faulter->Intact && Buffer[i] == KtByte(0, 6, i);
    MmAttachAddressSpace(Previous);
    KeSetEvent(&Faulter->Done, 0, FALSE);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

/* The read hook: the first thread's read waits (up to 10 s) until the
 * second thread has found the page ReadInProgress. */
static volatile ULONG64 KtCollidedBefore;
static void KtWaitForCollision(PFN_NUMBER Pfn)
{
    UNREFERENCED_PARAMETER(Pfn);
    LARGE_INTEGER Millisecond = {.QuadPart = -10000};
    for (ULONG i = 0; i < 10000 && MmFaultCounters.CollidedFault == KtCollidedBefore; i++)
        (void)KeDelayExecutionThread(KernelMode, FALSE, &Millisecond);
}

static void KtClearReadHook(PVOID Unused)
{
    UNREFERENCED_PARAMETER(Unused);
    MmHardFaultReadHook = NULL;
}

/* Two threads touch one page in the pagefile: the first reads it, the
 * second finds ReadInProgress and waits for that read (a collided fault).
 * The read hook holds the first read back until the second thread has
 * collided: without it, the whole read may end before the second thread
 * runs at all. */
KTEST(pagefile, two_threads_faulting_one_page_read_it_once)
{
    KT_ASSERT(MmPagingFileActive());
    PMMADDRESS_SPACE Space = KtMakeSpace(1);
    KT_ASSERT(Space != NULL);
    PFN_NUMBER Frame;
    KT_ASSERT(KtPageOut(1, 6, &Frame));
    KT_ASSERT_EQ(MiPteState(KtPte(0)), MiPtePageFile);
    ULONG64 Reads = MmPageFileReads, Hard = MmFaultCounters.HardFault;
    ULONG64 Collided = MmFaultCounters.CollidedFault;
    KtCollidedBefore = Collided;
    MmHardFaultReadHook = KtWaitForCollision;
    KtDefer(KtClearReadHook, NULL);
    KT_FAULTER Faulters[2];
    HANDLE Handles[2];
    ULONG Started = 0;
    for (ULONG i = 0; i < 2; i++) {
        Faulters[i].Space = Space;
        Faulters[i].Intact = FALSE;
        KeInitializeEvent(&Faulters[i].Done, NotificationEvent, FALSE);
        if (NT_SUCCESS(PsCreateSystemThread(&Handles[i], THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                            KtFaulterRoutine, &Faulters[i])))
            Started++;
    }
    LARGE_INTEGER Timeout = {.QuadPart = -30LL * 1000 * 10000};
    BOOLEAN Ended = TRUE;
    for (ULONG i = 0; i < Started; i++) {
        Ended = Ended &&
            KeWaitForSingleObject(&Faulters[i].Done, Executive, KernelMode, FALSE, &Timeout) ==
                STATUS_SUCCESS;
        (void)ZwClose(Handles[i]);
    }
    KT_ASSERT_EQ(Started, 2);
    KT_ASSERT(Ended);
    KT_EXPECT(Faulters[0].Intact && Faulters[1].Intact);
    KT_EXPECT_EQ(MmPageFileReads, Reads + 1);
    KT_EXPECT_EQ(MmFaultCounters.HardFault, Hard + 1);
    KT_EXPECT_EQ(MmFaultCounters.CollidedFault, Collided + 1);
    KT_EXPECT_EQ(MiPteState(KtPte(0)), MiPteValid);
}

/* Point the pagefile's slot search at a run of Count free slots, so that
 * the next write of Count modified pages (one cluster) gets consecutive
 * slots. FALSE when there is no such run. */
static BOOLEAN KtHintFreeRun(ULONG Count)
{
    PMMPAGING_FILE File = MmPagingFile[0];
    BOOLEAN Found = FALSE;
    PFN_NUMBER Run = 0;
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    for (PFN_NUMBER Slot = 1; Slot < File->Size && !Found; Slot++) {
        Run = (File->Bitmap[Slot / 64] >> (Slot % 64)) & 1 ? 0 : Run + 1;
        if (Run == Count) {
            File->Hint = Slot + 1 - Count;
            Found = TRUE;
        }
    }
    KeLowerIrql(OldIrql);
    return Found;
}

/* Pages 0..Count of a new space written, trimmed, written to the pagefile
 * in one cluster at consecutive slots, and purged from standby: every PTE
 * a pagefile PTE, page i at slot *First + i. */
static BOOLEAN KtPageOutConsecutive(ULONG Count, ULONG Seed, PFN_NUMBER *First)
{
    for (ULONG i = 0; i < Count; i++)
        if (!NT_SUCCESS(KtWritePage(i, Seed)))
            return FALSE;
    (void)MmFlushModifiedPages(); /* nobody else's pages in our cluster */
    if (!KtHintFreeRun(Count) || MmEmptyWorkingSet(MmCurrentAddressSpace) != Count ||
        MmFlushModifiedPages() < Count || MmPurgeStandbyPages(MmCurrentAddressSpace) != Count)
        return FALSE;
    *First = KtPte(0).u.Soft.PageFileHigh;
    for (ULONG i = 0; i < Count; i++) {
        MMPTE Pte = KtPte(i);
        if (MiPteState(Pte) != MiPtePageFile || Pte.u.Soft.PageFileHigh != *First + i)
            return FALSE;
    }
    return TRUE;
}

/* Read clustering: after KT_PAGES consecutive pages went to consecutive
 * slots, touching the first reads all of them with ONE read IRP; the
 * others wait on the standby list in transition, and touching them is a
 * soft fault with no I/O. */
KTEST(pagefile, hard_fault_reads_its_cluster_in_one_irp)
{
    KT_ASSERT(MmPagingFileActive());
    STATIC_ASSERT(KT_PAGES == MI_READ_CLUSTER);
    PMMADDRESS_SPACE Space = KtMakeSpace(KT_PAGES);
    KT_ASSERT(Space != NULL);
    PFN_NUMBER First;
    KT_ASSERT(KtPageOutConsecutive(KT_PAGES, 11, &First));
    KT_EXPECT_EQ(Space->PageFilePages, KT_PAGES);
    KT_EXPECT_EQ(Space->ResidentPages, 0);
    MM_MEMORY_COUNTERS Before, After;
    MmQueryMemoryCounters(&Before);
    ULONG64 Hard = MmFaultCounters.HardFault, Soft = Space->Vm.TransitionFaults;

    KT_EXPECT(KtCheckPage(0, 11));
    MmQueryMemoryCounters(&After);
    KT_EXPECT_EQ(After.PageFileReads, Before.PageFileReads + 1);
    KT_EXPECT_EQ(After.PageFilePagesRead, Before.PageFilePagesRead + KT_PAGES);
    KT_EXPECT_EQ(MmFaultCounters.HardFault, Hard + 1);
    KT_EXPECT_EQ(Space->PageFilePages, 0);
    KT_EXPECT_EQ(Space->ResidentPages, KT_PAGES);
    KT_EXPECT_EQ(Space->Vm.WorkingSetSize, 1);
    for (ULONG i = 1; i < KT_PAGES; i++) {
        MMPTE Pte = KtPte(i);
        KT_ASSERT_EQ(MiPteState(Pte), MiPteTransition);
        PFN_NUMBER Pfn = Pte.u.Trans.PageFrameNumber;
        KT_EXPECT_EQ(MiGetPageLocation(Pfn), StandbyPageList);
        KT_EXPECT(!MI_PFN_ELEMENT(Pfn)->ReadInProgress);
        KT_EXPECT_EQ(MI_PFN_ELEMENT(Pfn)->OriginalPte.u.Soft.PageFileHigh, First + i);
    }
    for (ULONG i = 1; i < KT_PAGES; i++)
        KT_EXPECT(KtCheckPage(i, 11));
    MmQueryMemoryCounters(&After);
    KT_EXPECT_EQ(After.PageFileReads, Before.PageFileReads + 1);
    KT_EXPECT_EQ(MmFaultCounters.HardFault, Hard + 1);
    KT_EXPECT_EQ(Space->Vm.TransitionFaults, Soft + KT_PAGES - 1);
    KT_EXPECT_EQ(Space->Vm.WorkingSetSize, KT_PAGES);
}

/* Swap the pagefile PTEs of pages A and B (their slots and so their
 * contents change places). */
static void KtSwapPageFilePtes(ULONG A, ULONG B)
{
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    MMPTE Saved = *MiGetPteAddress(KtPage(A));
    *MiGetPteAddress(KtPage(A)) = *MiGetPteAddress(KtPage(B));
    *MiGetPteAddress(KtPage(B)) = Saved;
    KeLowerIrql(OldIrql);
}

/* Touch page Index (checking its bytes): how many pages that read from
 * the pagefile, or -1 when the bytes are wrong. */
static ULONG64 KtPagesReadBy(ULONG Index, ULONG Seed)
{
    ULONG64 Before = MmPageFilePagesRead;
    return KtCheckPage(Index, Seed) ? MmPageFilePagesRead - Before : (ULONG64)-1;
}

/* The cluster never crosses a PTE that is not in the pagefile (page 3
 * decommitted, page 4 already valid) nor a slot that is not the next one
 * (pages 5 and 6 swapped their slots). */
KTEST(pagefile, cluster_stops_at_a_gap_and_a_slot_out_of_order)
{
    KT_ASSERT(MmPagingFileActive());
    PMMADDRESS_SPACE Space = KtMakeSpace(KT_PAGES);
    KT_ASSERT(Space != NULL);
    PFN_NUMBER First;
    KT_ASSERT(KtPageOutConsecutive(KT_PAGES, 12, &First));
    PVOID Three = KtPage(3);
    SIZE_T Size = PAGE_SIZE;
    KT_ASSERT_STATUS(MmFreeVirtualMemory(Space, &Three, &Size, MEM_DECOMMIT), STATUS_SUCCESS);
    KtSwapPageFilePtes(5, 6);
    KT_EXPECT_EQ(Space->PageFilePages, KT_PAGES - 1);
    ULONG64 Reads = MmPageFileReads;

    KT_EXPECT_EQ(KtPagesReadBy(0, 12), 3); /* 0, 1, 2: 3 is not in the pagefile */
    KT_EXPECT_EQ(KtPagesReadBy(1, 12), 0); /* soft */
    KT_EXPECT_EQ(KtPagesReadBy(2, 12), 0); /* soft */
    KT_EXPECT_EQ(KtPagesReadBy(4, 12), 1); /* 3 decommitted; 5 holds slot + 6 */
    /* Page 5 now holds page 6's slot (and bytes), page 6 page 5's. */
    ULONG64 Before = MmPageFilePagesRead;
    UCHAR Buffer[16], Expected[16];
    for (ULONG i = 0; i < sizeof(Expected); i++)
        Expected[i] = KtByte(6, 12, i);
    KT_EXPECT_STATUS(MmCopyFromUser(Buffer, KtPage(5), sizeof(Buffer)), STATUS_SUCCESS);
    KT_EXPECT(memcmp(Buffer, Expected, sizeof(Buffer)) == 0);
    KT_EXPECT_EQ(MmPageFilePagesRead - Before, 1); /* 6's slot is not slot + 7 */
    Before = MmPageFilePagesRead;
    for (ULONG i = 0; i < sizeof(Expected); i++)
        Expected[i] = KtByte(5, 12, i);
    KT_EXPECT_STATUS(MmCopyFromUser(Buffer, KtPage(6), sizeof(Buffer)), STATUS_SUCCESS);
    KT_EXPECT(memcmp(Buffer, Expected, sizeof(Buffer)) == 0);
    KT_EXPECT_EQ(MmPageFilePagesRead - Before, 1); /* 7's slot is not slot + 6 */
    KT_EXPECT_EQ(KtPagesReadBy(7, 12), 1);
    KT_EXPECT_EQ(MmPageFileReads, Reads + 5);
    KT_EXPECT_EQ(Space->PageFilePages, 0);
}

/* Decommitting a page in the pagefile and ending an address space with
 * pages in the pagefile (and copies behind standby frames) give every
 * slot back. */
KTEST(pagefile, slots_return_on_decommit_and_exit)
{
    KT_ASSERT(MmPagingFileActive());
    (void)MmFlushModifiedPages();
    PFN_NUMBER Baseline = KtSlotsInUse();
    PMMADDRESS_SPACE Space;
    KT_ASSERT_STATUS(MmCreateProcessAddressSpace(&Space), STATUS_SUCCESS);
    PMMADDRESS_SPACE Previous = MmAttachAddressSpace(Space);
    PVOID Base = (PVOID)KT_BASE;
    SIZE_T Size = (SIZE_T)KT_PAGES * PAGE_SIZE;
    PFN_NUMBER Frames[KT_PAGES];
    BOOLEAN Ok = NT_SUCCESS(
        MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    Ok = Ok && KtPageOut(KT_PAGES, 7, Frames);
    PFN_NUMBER Out = KtSlotsInUse();
    /* Page 0 decommitted from the pagefile; page 1 read back (its copy
     * stays, behind a valid PTE); page 2 read back and trimmed (standby). */
    PVOID One = KtPage(0);
    SIZE_T OneSize = PAGE_SIZE;
    Ok = Ok && NT_SUCCESS(MmFreeVirtualMemory(Space, &One, &OneSize, MEM_DECOMMIT));
    PFN_NUMBER AfterDecommit = KtSlotsInUse();
    Ok = Ok && KtCheckPage(1, 7) && KtCheckPage(2, 7);
    MmAttachAddressSpace(Previous);
    MmDeleteProcessAddressSpace(Space);
    KT_ASSERT(Ok);
    KT_EXPECT_EQ(Out, Baseline + KT_PAGES);
    KT_EXPECT_EQ(AfterDecommit, Baseline + KT_PAGES - 1);
    KT_EXPECT_EQ(KtSlotsInUse(), Baseline);
}

/*
 * Paged pool twice the size of RAM (when the pagefile holds it: the
 * paging boot, -m 32M with a 128 MiB pagefile; a boot with a smaller
 * pagefile uses half its free slots), written in 64 KiB blocks, read back
 * and freed: the pages go to the pagefile and come back by hard faults.
 */
#define KT_BLOCK (64 * 1024)
KTEST(pagefile, paged_pool_twice_ram_written_read_back_freed)
{
    KT_ASSERT(MmPagingFileActive());
    PFN_NUMBER Ram = MmNumberOfPhysicalPages();
    PFN_NUMBER Free = MmPagingFile[0]->FreeSpace;
    PFN_NUMBER Pages = 2 * Ram + 2048 <= Free ? 2 * Ram : Free / 2;
    ULONG Blocks = (ULONG)(Pages / (KT_BLOCK / PAGE_SIZE));
    PFN_NUMBER Baseline = KtSlotsInUse();
    ULONG64 Hard = MmFaultCounters.HardFault;
    PULONG *Table = ExAllocatePoolWithTag(NonPagedPool, Blocks * sizeof(PULONG), KT_TAG);
    KT_ASSERT(Table != NULL);
    ULONG Got = 0;
    for (; Got < Blocks; Got++) {
        Table[Got] = ExAllocatePoolWithTag(PagedPool, KT_BLOCK, KT_TAG);
        if (Table[Got] == NULL) {
            DbgPrint("pagefile: no paged pool after %lu blocks: available %llu, modified %llu, "
                     "paged pool %llu pages\n",
                     (unsigned long)Got, (ULONG64)MmAvailablePages(),
                     (ULONG64)MmModifiedPageListHead.Total,
                     (ULONG64)MmPagesInUse(MiUsagePagedPool));
            break;
        }
        for (ULONG i = 0; i < KT_BLOCK / sizeof(ULONG); i += 16)
            Table[Got][i] = Got * 2654435761u + i;
    }
    ULONG Bad = 0;
    for (ULONG b = 0; b < Got; b++)
        for (ULONG i = 0; i < KT_BLOCK / sizeof(ULONG); i += 16)
            Bad += Table[b][i] != b * 2654435761u + i;
    ULONG64 HardFaults = MmFaultCounters.HardFault - Hard;
    for (ULONG b = 0; b < Got; b++)
        ExFreePoolWithTag(Table[b], KT_TAG);
    ExFreePoolWithTag(Table, KT_TAG);
    DbgPrint("pagefile: paged pool test: %lu blocks of 64 KiB (%llu pages, RAM %llu pages), "
             "%llu hard faults\n",
             (unsigned long)Got, (ULONG64)Got * (KT_BLOCK / PAGE_SIZE), (ULONG64)Ram, HardFaults);
    KT_EXPECT_EQ(Got, Blocks);
    KT_EXPECT_EQ(Bad, 0);
    if (Pages > Ram)
        KT_EXPECT(HardFaults > 0);
    (void)MmFlushModifiedPages();
    KT_EXPECT_EQ(KtSlotsInUse(), Baseline);
}
