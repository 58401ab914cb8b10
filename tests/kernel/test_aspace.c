/*
 * test_aspace.c - private user spaces and the shared system space.
 *
 * The first test is the picture in the seed notes (Microsoft's "Virtual
 * address spaces" page): two processes each use three pages at
 * 0x7F7'93950000; each sees only its own data; the three virtual pages of
 * one process sit in frames of their own, not necessarily contiguous; the
 * same virtual address maps to different frames in the two processes.
 */
#include "../../include/ktest.h"
#include "../../mm/mi.h"
#include "../../rtl/rtl.h"
#include "ktpages.h"

#define KT_SEED_VA ((PVOID)0x7F793950000ULL)

/* Deferred cleanups: a test that stops early still goes home and deletes. */
static void KtDeleteSpace(PVOID Space)
{
    MmDeleteProcessAddressSpace(Space);
}

static void KtAttachBack(PVOID Space)
{
    MmAttachAddressSpace(Space);
}

static PFN_NUMBER KtFrameOf(PVOID Va)
{
    MMPTE Pte = *MiGetPteAddress(Va);
    return Pte.u.Hard.Valid ? Pte.u.Hard.PageFrameNumber : 0;
}

KTEST(aspace, two_processes_same_va_private_frames)
{
    PMMADDRESS_SPACE Space[2];
    PFN_NUMBER Frames[2][3];
    PFN_NUMBER Available = KtAvailablePagesBeside(0);
    KT_ASSERT(NT_SUCCESS(MmCreateProcessAddressSpace(&Space[0])));
    PKT_DEFERRED Delete0 = KtDefer(KtDeleteSpace, Space[0]);
    KT_ASSERT(NT_SUCCESS(MmCreateProcessAddressSpace(&Space[1])));
    PKT_DEFERRED Delete1 = KtDefer(KtDeleteSpace, Space[1]);
    PKT_DEFERRED AttachBack = KtDefer(KtAttachBack, MmCurrentAddressSpace);

    for (ULONG p = 0; p < 2; p++) {
        MmAttachAddressSpace(Space[p]);
        PVOID Base = KT_SEED_VA;
        SIZE_T Size = 3 * PAGE_SIZE;
        KT_ASSERT(NT_SUCCESS(MmAllocateVirtualMemory(Space[p], &Base, &Size,
                                                     MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE)));
        KT_ASSERT(Base == KT_SEED_VA);
    }
    /* Touch the pages alternately, as two running programs would: each
     * demand-zero fault takes whichever frame the lists give next, so one
     * process's three pages usually do not land in consecutive frames. */
    for (ULONG Page = 0; Page < 3; Page++) {
        for (ULONG p = 0; p < 2; p++) {
            MmAttachAddressSpace(Space[p]);
            PULONG64 Va = (PULONG64)((PUCHAR)KT_SEED_VA + Page * PAGE_SIZE);
            /* SMAP: the kernel reaches user pages only through the copy
             * routines, as a system service would. */
            ULONG64 Value = 0xA000 + p * 0x100 + Page;
            KT_ASSERT(NT_SUCCESS(MmCopyToUser(Va, &Value, sizeof(Value))));
            Frames[p][Page] = KtFrameOf(Va);
        }
    }
    /* Each process sees its own data at the same VA. */
    for (ULONG p = 0; p < 2; p++) {
        MmAttachAddressSpace(Space[p]);
        KT_ASSERT_EQ(__readcr3(), Space[p]->DirectoryTableBase);
        for (ULONG Page = 0; Page < 3; Page++) {
            PULONG64 Va = (PULONG64)((PUCHAR)KT_SEED_VA + Page * PAGE_SIZE);
            ULONG64 Seen = 0;
            KT_ASSERT(NT_SUCCESS(MmCopyFromUser(&Seen, Va, sizeof(Seen))));
            KT_ASSERT_EQ(Seen, 0xA000 + p * 0x100 + Page);
            DbgPrint("ktest: process %u  VA ", p);
            MiPrintVa((ULONG64)Va);
            DbgPrint(" -> frame 0x%llx\n", (ULONG64)Frames[p][Page]);
        }
    }
    /* Six different frames: nothing ties a page's frame to its virtual
     * address or to the other process's page there. (Whether one
     * process's frames happen to be consecutive is not asserted: the
     * frame lists are refilled by the zero-page thread, the disk driver,
     * the pool and the working-set manager in between, in any order.) */
    for (ULONG i = 0; i < 6; i++) {
        KT_ASSERT(Frames[i / 3][i % 3] != 0);
        for (ULONG j = i + 1; j < 6; j++)
            KT_ASSERT(Frames[i / 3][i % 3] != Frames[j / 3][j % 3]);
    }

    KtCleanupNow(AttachBack);
    /* Not mapped at all in the system's own space. */
    KT_ASSERT(!MmIsAddressValid(KT_SEED_VA));
    KtCleanupNow(Delete0);
    KtCleanupNow(Delete1);
    KT_ASSERT_EQ(KtAvailablePagesBeside(Available), Available);
}

KTEST(aspace, system_half_is_shared_and_user_half_private)
{
    PMMADDRESS_SPACE Space;
    KT_ASSERT(NT_SUCCESS(MmCreateProcessAddressSpace(&Space)));
    PKT_DEFERRED Delete = KtDefer(KtDeleteSpace, Space);
    MMPTE Before[512];
    memcpy(Before, (PVOID)PXE_BASE, sizeof(Before));
    PKT_DEFERRED AttachBack = KtDefer(KtAttachBack, MmAttachAddressSpace(Space));
    const MMPTE *Pxe = (const MMPTE *)PXE_BASE;
    for (ULONG i = 256; i < 512; i++) {
        if (i == MM_SELFMAP_INDEX || i == MM_HYPERSPACE_INDEX)
            continue;
        KT_ASSERT_EQ(Pxe[i].u.Long, Before[i].u.Long);
    }
    /* Own self-map and own hyperspace. */
    KT_ASSERT_EQ(Pxe[MM_SELFMAP_INDEX].u.Hard.PageFrameNumber, Space->DirectoryTableBase >> PAGE_SHIFT);
    KT_ASSERT(Pxe[MM_HYPERSPACE_INDEX].u.Hard.PageFrameNumber !=
              Before[MM_HYPERSPACE_INDEX].u.Hard.PageFrameNumber);
    /* The shared user data page: read-only, user, no-execute at 0x7FFE0000,
     * the same frame as the writable system view. */
    MMPTE Shared = *MiGetPteAddress((PVOID)MM_SHARED_USER_DATA_USER);
    KT_ASSERT(Shared.u.Hard.Valid && Shared.u.Hard.Owner && !Shared.u.Hard.Write &&
              Shared.u.Hard.NoExecute);
    KT_ASSERT_EQ(Shared.u.Hard.PageFrameNumber, MiSharedUserDataPfn);
    *(volatile ULONG *)MM_SHARED_USER_DATA_VA = 0x5A5A;
    ULONG Seen;
    KT_ASSERT(NT_SUCCESS(MmCopyFromUser(&Seen, (PVOID)MM_SHARED_USER_DATA_USER, sizeof(Seen))));
    KT_ASSERT_EQ(Seen, 0x5A5A);
    ULONG Value = 1;
    KT_ASSERT_EQ(MmCopyToUser((PVOID)MM_SHARED_USER_DATA_USER, &Value, sizeof(Value)),
                 STATUS_ACCESS_VIOLATION);
    KtCleanupNow(AttachBack);
    KtCleanupNow(Delete);
}

KTEST(aspace, create_and_destroy_1000_with_memory_committed)
{
    PFN_NUMBER Available = KtAvailablePagesBeside(0);
    SIZE_T NonPagedBytes = ExpPoolSmallBytesInUse(ExGetPoolDescriptor(NonPagedPool));
    SIZE_T NonPagedBig = ExGetPoolDescriptor(NonPagedPool)->BigPages;
    for (ULONG i = 0; i < 1000; i++) {
        PMMADDRESS_SPACE Space;
        KT_ASSERT(NT_SUCCESS(MmCreateProcessAddressSpace(&Space)));
        PKT_DEFERRED Delete = KtDefer(KtDeleteSpace, Space);
        PKT_DEFERRED AttachBack = KtDefer(KtAttachBack, MmAttachAddressSpace(Space));
        PVOID Base = NULL;
        SIZE_T Size = 8 * PAGE_SIZE;
        KT_ASSERT(NT_SUCCESS(MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT,
                                                     PAGE_READWRITE)));
        ULONG Value = i;
        KT_ASSERT(NT_SUCCESS(MmCopyToUser((PUCHAR)Base + (i % 8) * PAGE_SIZE, &Value, 4)));
        PVOID High = (PVOID)0x7FF000000000ULL; /* a second, far-away range: more tables */
        Size = PAGE_SIZE;
        KT_ASSERT(NT_SUCCESS(MmAllocateVirtualMemory(Space, &High, &Size, MEM_RESERVE | MEM_COMMIT,
                                                     PAGE_READWRITE)));
        KT_ASSERT(NT_SUCCESS(MmCopyToUser(High, &Value, 4)));
        KT_ASSERT(Space->ResidentPages == 2 && Space->PageTablePages >= 6);
        KtCleanupNow(AttachBack);
        KtCleanupNow(Delete);
    }
    KT_ASSERT_EQ(KtAvailablePagesBeside(Available), Available);
    KT_ASSERT_EQ(ExpPoolSmallBytesInUse(ExGetPoolDescriptor(NonPagedPool)), NonPagedBytes);
    KT_ASSERT_EQ(ExGetPoolDescriptor(NonPagedPool)->BigPages, NonPagedBig);
}

KTEST(aspace, empty_user_page_tables_are_freed)
{
    PMMADDRESS_SPACE Space;
    KT_ASSERT(NT_SUCCESS(MmCreateProcessAddressSpace(&Space)));
    PKT_DEFERRED Delete = KtDefer(KtDeleteSpace, Space);
    PKT_DEFERRED AttachBack = KtDefer(KtAttachBack, MmAttachAddressSpace(Space));
    PFN_NUMBER Tables = Space->PageTablePages;
    PVOID Base = (PVOID)0x20000000000ULL; /* PML4 slot 4: nothing else there */
    SIZE_T Size = 4 * PAGE_SIZE;
    KT_ASSERT(NT_SUCCESS(MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT,
                                                 PAGE_READWRITE)));
    KT_ASSERT(Space->PageTablePages == Tables + 3); /* its own PDPT, PD and PT */
    Size = 0;
    KT_ASSERT(NT_SUCCESS(MmFreeVirtualMemory(Space, &Base, &Size, MEM_RELEASE)));
    KT_ASSERT_EQ(Space->PageTablePages, Tables);
    KT_ASSERT(!MiGetPxeAddress(Base)->u.Hard.Valid);
    KtCleanupNow(AttachBack);
    KtCleanupNow(Delete);
}
