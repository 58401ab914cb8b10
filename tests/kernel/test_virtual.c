/*
 * test_virtual.c - reserving, committing, decommitting, releasing,
 * protecting and querying user memory (mm/virtual.c), in a fresh address
 * space per test, with the status codes Windows gives.
 *
 * Every test body runs attached to its own address space (KT_VM_TEST): the
 * wrapper creates and attaches it, and afterwards checks the VAD tree,
 * detaches, deletes the space and checks that no pool was leaked - also
 * when the body failed half-way.
 *
 * User pages are touched only through MmCopyToUser / MmCopyFromUser, as a
 * system service would (SMAP forbids anything else), and those return
 * STATUS_ACCESS_VIOLATION instead of faulting the kernel when a page is
 * reserved, decommitted, no-access or read-only.
 */
#include "../../include/ktest.h"
#include "../../mm/mi.h"
#include "../../rtl/rtl.h"
#include "ktframes.h"

#define KT_PAGE ((SIZE_T)PAGE_SIZE)
#define KT_64K ((SIZE_T)MM_ALLOCATION_GRANULARITY)
#define KT_USER_END (MM_HIGHEST_USER_ADDRESS + 1)

#define KT_VM_TEST(name)                                                                  \
    static void KtVm_##name(PMMADDRESS_SPACE Space);                                      \
    KTEST(vm, name)                                                                       \
    {                                                                                     \
        SIZE_T PoolBytes = ExpPoolSmallBytesInUse(ExGetPoolDescriptor(NonPagedPool));            \
        PMMADDRESS_SPACE Space;                                                           \
        KT_ASSERT(NT_SUCCESS(MmCreateProcessAddressSpace(&Space)));                       \
        PMMADDRESS_SPACE Previous = MmAttachAddressSpace(Space);                          \
        KtVm_##name(Space);                                                               \
        BOOLEAN TreeOk = MiVerifyAvlTable(&Space->VadRoot);                               \
        MmAttachAddressSpace(Previous);                                                   \
        MmDeleteProcessAddressSpace(Space);                                               \
        KT_ASSERT(TreeOk);                                                                \
        KT_ASSERT_EQ(ExpPoolSmallBytesInUse(ExGetPoolDescriptor(NonPagedPool)), PoolBytes);      \
    }                                                                                     \
    static void KtVm_##name(PMMADDRESS_SPACE Space)

/* ---- helpers ---------------------------------------------------------- */

static NTSTATUS KtAllocate(PMMADDRESS_SPACE Space, ULONG_PTR *Base, SIZE_T *Size, ULONG Type,
                           ULONG Protect)
{
    PVOID B = (PVOID)*Base;
    SIZE_T S = *Size;
    NTSTATUS Status = MmAllocateVirtualMemory(Space, &B, &S, Type, Protect);
    *Base = (ULONG_PTR)B;
    *Size = S;
    return Status;
}

/* Allocate at Base (0: anywhere) and return the status only. */
static NTSTATUS KtTryAllocate(PMMADDRESS_SPACE Space, ULONG_PTR Base, SIZE_T Size, ULONG Type,
                              ULONG Protect)
{
    return KtAllocate(Space, &Base, &Size, Type, Protect);
}

static NTSTATUS KtFree(PMMADDRESS_SPACE Space, ULONG_PTR *Base, SIZE_T *Size, ULONG Type)
{
    PVOID B = (PVOID)*Base;
    SIZE_T S = *Size;
    NTSTATUS Status = MmFreeVirtualMemory(Space, &B, &S, Type);
    *Base = (ULONG_PTR)B;
    *Size = S;
    return Status;
}

static NTSTATUS KtTryFree(PMMADDRESS_SPACE Space, ULONG_PTR Base, SIZE_T Size, ULONG Type)
{
    return KtFree(Space, &Base, &Size, Type);
}

static NTSTATUS KtProtect(PMMADDRESS_SPACE Space, ULONG_PTR *Base, SIZE_T *Size, ULONG Protect,
                          PULONG Old)
{
    PVOID B = (PVOID)*Base;
    SIZE_T S = *Size;
    NTSTATUS Status = MmProtectVirtualMemory(Space, &B, &S, Protect, Old);
    *Base = (ULONG_PTR)B;
    *Size = S;
    return Status;
}

static NTSTATUS KtTryProtect(PMMADDRESS_SPACE Space, ULONG_PTR Base, SIZE_T Size, ULONG Protect)
{
    ULONG Old;
    return KtProtect(Space, &Base, &Size, Protect, &Old);
}

static NTSTATUS KtWrite(ULONG_PTR Va, ULONG64 Value)
{
    return MmCopyToUser((PVOID)Va, &Value, sizeof(Value));
}

static NTSTATUS KtRead(ULONG_PTR Va, ULONG64 *Value)
{
    return MmCopyFromUser(Value, (const void *)Va, sizeof(*Value));
}

static PMMVAD KtVadAt(PMMADDRESS_SPACE Space, ULONG_PTR Va)
{
    PMMADDRESS_NODE Node = MiLocateAddress(&Space->VadRoot, Va >> PAGE_SHIFT);
    return Node ? CONTAINING_RECORD(Node, MMVAD, Node) : NULL;
}

static ULONG KtVadCount(PMMADDRESS_SPACE Space)
{
    return Space->VadRoot.NumberGenericTableElements;
}

/* Query Va and compare every field of MEMORY_BASIC_INFORMATION. */
#define KT_ASSERT_REGION(va_, base_, allocbase_, allocprot_, size_, state_, prot_, type_)  \
    do {                                                                                  \
        MEMORY_BASIC_INFORMATION KtI_;                                                    \
        memset(&KtI_, 0xCC, sizeof(KtI_));                                                \
        KT_ASSERT_EQ(MmQueryVirtualMemory(Space, (PVOID)(va_), &KtI_), STATUS_SUCCESS);   \
        KT_ASSERT_EQ(KtI_.BaseAddress, (base_));                                          \
        KT_ASSERT_EQ(KtI_.AllocationBase, (allocbase_));                                  \
        KT_ASSERT_EQ(KtI_.AllocationProtect, (allocprot_));                               \
        KT_ASSERT_EQ(KtI_.PartitionId, 0);                                                \
        KT_ASSERT_EQ(KtI_.RegionSize, (size_));                                           \
        KT_ASSERT_EQ(KtI_.State, (state_));                                               \
        KT_ASSERT_EQ(KtI_.Protect, (prot_));                                              \
        KT_ASSERT_EQ(KtI_.Type, (type_));                                                 \
    } while (0)

#define KT_ASSERT_FREE(va_, size_)                                                        \
    KT_ASSERT_REGION(va_, ALIGN_DOWN_BY(va_, PAGE_SIZE), 0, 0, size_, MEM_FREE, PAGE_NOACCESS, 0)

/* ---- tests ------------------------------------------------------------ */

/*
 * The everyday path: VirtualAlloc(NULL, n, MEM_RESERVE | MEM_COMMIT), write,
 * read back, VirtualFree(MEM_RELEASE) - and every count returns.
 */
KT_VM_TEST(reserve_commit_touch_release)
{
    /* Warm up the pool once so that its pages do not move the baseline. */
    ULONG_PTR Base = 0;
    SIZE_T Size = KT_PAGE;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    Size = 0;
    KT_ASSERT_EQ(KtFree(Space, &Base, &Size, MEM_RELEASE), STATUS_SUCCESS);

    PFN_NUMBER Available = MmAvailablePages();
    PFN_NUMBER Committed = Space->CommittedPages;
    PFN_NUMBER Tables = Space->PageTablePages;
    ULONG64 Faults = Space->DemandZeroFaults;
    ULONG Vads = KtVadCount(Space);

    Base = 0;
    Size = 3 * KT_PAGE + 1;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    /* Bottom-up in a fresh space: the lowest 64 KiB boundary of user space;
     * the size rounded up to whole pages. */
    KT_ASSERT_EQ(Base, MM_LOWEST_USER_ADDRESS);
    KT_ASSERT_EQ(Size, 4 * KT_PAGE);
    KT_ASSERT_EQ(KtVadCount(Space), Vads + 1);
    KT_ASSERT_EQ(Space->CommittedPages, Committed + 4);
    KT_ASSERT_EQ(KtVadAt(Space, Base)->CommittedPages, 4);
    KT_ASSERT_EQ(KtVadAt(Space, Base)->AllocationProtect, PAGE_READWRITE);
    KT_ASSERT(MiVerifyAvlTable(&Space->VadRoot));
    KT_ASSERT_REGION(Base + 5, Base, Base, PAGE_READWRITE, 4 * KT_PAGE, MEM_COMMIT,
                     PAGE_READWRITE, MEM_PRIVATE);
    /* Committed, not yet resident: no frame until the first touch. */
    KT_ASSERT_EQ(Space->ResidentPages, 0);

    for (ULONG i = 0; i < 4; i++)
        KT_ASSERT_EQ(KtWrite(Base + i * KT_PAGE + 8, 0x1111ULL * (i + 1)), STATUS_SUCCESS);
    KT_ASSERT_EQ(Space->ResidentPages, 4);
    KT_ASSERT_EQ(Space->DemandZeroFaults, Faults + 4);
    for (ULONG i = 0; i < 4; i++) {
        ULONG64 Value = 1;
        KT_ASSERT_EQ(KtRead(Base + i * KT_PAGE + 8, &Value), STATUS_SUCCESS);
        KT_ASSERT_EQ(Value, 0x1111ULL * (i + 1));
        KT_ASSERT_EQ(KtRead(Base + i * KT_PAGE, &Value), STATUS_SUCCESS);
        KT_ASSERT_EQ(Value, 0); /* demand-zero */
    }
    /* Past the end of the reservation: free, so the copy fails cleanly. */
    KT_ASSERT_EQ(KtWrite(Base + 4 * KT_PAGE, 1), STATUS_ACCESS_VIOLATION);

    ULONG_PTR FreedBase = Base;
    SIZE_T FreedSize = 0;
    KT_ASSERT_EQ(KtFree(Space, &FreedBase, &FreedSize, MEM_RELEASE), STATUS_SUCCESS);
    KT_ASSERT_EQ(FreedBase, Base);
    KT_ASSERT_EQ(FreedSize, 4 * KT_PAGE);
    KT_ASSERT_EQ(KtVadCount(Space), Vads);
    KT_ASSERT_EQ(Space->CommittedPages, Committed);
    KT_ASSERT_EQ(Space->ResidentPages, 0);
    KT_ASSERT_EQ(Space->PageTablePages, Tables);
    KT_ASSERT_EQ(MmAvailablePages(), Available);
    KT_ASSERT_FREE(Base, MM_SHARED_USER_DATA_USER - Base);
    KT_ASSERT_EQ(KtRead(Base + 8, &(ULONG64){0}), STATUS_ACCESS_VIOLATION);
}

/*
 * MEM_RESERVE at a given base (rounded down to 64 KiB), then MEM_COMMIT of
 * a few pages inside (rounded to pages), MEM_DECOMMIT of one, and a
 * decommit of the whole VAD with size 0.
 */
KT_VM_TEST(reserve_then_commit_and_decommit)
{
    PFN_NUMBER Committed = Space->CommittedPages;
    ULONG_PTR Base = 0x10001234;
    SIZE_T Size = 0xE000;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE, PAGE_EXECUTE_READWRITE),
                 STATUS_SUCCESS);
    /* Start down to 64 KiB, end (0x1000F233) up to a page. */
    KT_ASSERT_EQ(Base, 0x10000000);
    KT_ASSERT_EQ(Size, 0x10000);
    KT_ASSERT_EQ(Space->CommittedPages, Committed);
    KT_ASSERT_REGION(0x10000000, 0x10000000, 0x10000000, PAGE_EXECUTE_READWRITE, 0x10000,
                     MEM_RESERVE, 0, MEM_PRIVATE);
    /* Reserved is not accessible. */
    KT_ASSERT_EQ(KtWrite(0x10003000, 1), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KtRead(0x10003000, &(ULONG64){0}), STATUS_ACCESS_VIOLATION);

    ULONG_PTR CommitBase = 0x10002010;
    SIZE_T CommitSize = 0x2000;
    KT_ASSERT_EQ(KtAllocate(Space, &CommitBase, &CommitSize, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    /* Pages 2..4: 0x10002010 down to a page, 0x1000400F up to one. */
    KT_ASSERT_EQ(CommitBase, 0x10002000);
    KT_ASSERT_EQ(CommitSize, 0x3000);
    KT_ASSERT_EQ(Space->CommittedPages, Committed + 3);
    KT_ASSERT_EQ(KtVadAt(Space, Base)->CommittedPages, 3);
    KT_ASSERT_REGION(0x10000000, 0x10000000, 0x10000000, PAGE_EXECUTE_READWRITE, 0x2000,
                     MEM_RESERVE, 0, MEM_PRIVATE);
    KT_ASSERT_REGION(0x10002FFF, 0x10002000, 0x10000000, PAGE_EXECUTE_READWRITE, 0x3000,
                     MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    KT_ASSERT_REGION(0x10005000, 0x10005000, 0x10000000, PAGE_EXECUTE_READWRITE, 0xB000,
                     MEM_RESERVE, 0, MEM_PRIVATE);
    for (ULONG_PTR Va = 0x10002000; Va < 0x10005000; Va += KT_PAGE)
        KT_ASSERT_EQ(KtWrite(Va, Va), STATUS_SUCCESS);
    KT_ASSERT_EQ(Space->ResidentPages, 3);

    /* Decommit the middle page: its frame goes back, the page is reserved. */
    PFN_NUMBER Available = MmAvailablePages();
    ULONG_PTR DecommitBase = 0x10003800;
    SIZE_T DecommitSize = 0x10;
    KT_ASSERT_EQ(KtFree(Space, &DecommitBase, &DecommitSize, MEM_DECOMMIT), STATUS_SUCCESS);
    KT_ASSERT_EQ(DecommitBase, 0x10003000);
    KT_ASSERT_EQ(DecommitSize, KT_PAGE);
    KT_ASSERT_EQ(MmAvailablePages(), Available + 1);
    KT_ASSERT_EQ(Space->ResidentPages, 2);
    KT_ASSERT_EQ(Space->CommittedPages, Committed + 2);
    KT_ASSERT_EQ(KtVadAt(Space, Base)->CommittedPages, 2);
    KT_ASSERT_REGION(0x10002000, 0x10002000, 0x10000000, PAGE_EXECUTE_READWRITE, 0x1000,
                     MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    KT_ASSERT_REGION(0x10003000, 0x10003000, 0x10000000, PAGE_EXECUTE_READWRITE, 0x1000,
                     MEM_RESERVE, 0, MEM_PRIVATE);
    KT_ASSERT_REGION(0x10004000, 0x10004000, 0x10000000, PAGE_EXECUTE_READWRITE, 0x1000,
                     MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    KT_ASSERT_EQ(KtWrite(0x10003000, 1), STATUS_ACCESS_VIOLATION);
    ULONG64 Value = 0;
    KT_ASSERT_EQ(KtRead(0x10004000, &Value), STATUS_SUCCESS);
    KT_ASSERT_EQ(Value, 0x10004000);

    /* Decommitting reserved pages is not an error. */
    KT_ASSERT_EQ(KtTryFree(Space, 0x10008000, 0x4000, MEM_DECOMMIT), STATUS_SUCCESS);
    KT_ASSERT_EQ(Space->CommittedPages, Committed + 2);

    /* Recommit the decommitted page: it comes back zeroed. */
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x10003000, KT_PAGE, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KtRead(0x10003000, &Value), STATUS_SUCCESS);
    KT_ASSERT_EQ(Value, 0);
    KT_ASSERT_EQ(Space->CommittedPages, Committed + 3);

    /* Size 0 at the VAD's base: decommit the whole VAD, keep it reserved. */
    DecommitBase = 0x10000000;
    DecommitSize = 0;
    KT_ASSERT_EQ(KtFree(Space, &DecommitBase, &DecommitSize, MEM_DECOMMIT), STATUS_SUCCESS);
    KT_ASSERT_EQ(DecommitBase, 0x10000000);
    KT_ASSERT_EQ(DecommitSize, 0x10000);
    KT_ASSERT_EQ(Space->CommittedPages, Committed);
    KT_ASSERT_EQ(Space->ResidentPages, 0);
    KT_ASSERT_REGION(0x10000000, 0x10000000, 0x10000000, PAGE_EXECUTE_READWRITE, 0x10000,
                     MEM_RESERVE, 0, MEM_PRIVATE);
    KT_ASSERT(KtVadAt(Space, 0x10000000) != NULL);
    KT_ASSERT_EQ(KtTryFree(Space, 0x10000000, 0, MEM_RELEASE), STATUS_SUCCESS);
    KT_ASSERT(KtVadAt(Space, 0x10000000) == NULL);
}

/*
 * MEM_COMMIT over pages that are committed already: no error, no new
 * charge, contents kept, and the pages take the new protection (Windows
 * calls MiProtectVirtualMemory for them).
 */
KT_VM_TEST(commit_over_committed_pages_changes_protection)
{
    ULONG_PTR Base = 0x20000000;
    SIZE_T Size = 4 * KT_PAGE;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KtWrite(Base, 0xC0FFEE), STATUS_SUCCESS);
    PFN_NUMBER Committed = Space->CommittedPages;

    ULONG_PTR CommitBase = Base;
    SIZE_T CommitSize = 2 * KT_PAGE;
    KT_ASSERT_EQ(KtAllocate(Space, &CommitBase, &CommitSize, MEM_COMMIT, PAGE_READONLY),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(CommitBase, Base);
    KT_ASSERT_EQ(CommitSize, 2 * KT_PAGE);
    KT_ASSERT_EQ(Space->CommittedPages, Committed);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_READWRITE, 2 * KT_PAGE, MEM_COMMIT, PAGE_READONLY,
                     MEM_PRIVATE);
    KT_ASSERT_REGION(Base + 2 * KT_PAGE, Base + 2 * KT_PAGE, Base, PAGE_READWRITE, 2 * KT_PAGE,
                     MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ULONG64 Value = 0;
    KT_ASSERT_EQ(KtRead(Base, &Value), STATUS_SUCCESS);
    KT_ASSERT_EQ(Value, 0xC0FFEE);
    KT_ASSERT_EQ(KtWrite(Base, 1), STATUS_ACCESS_VIOLATION);      /* resident, read-only */
    KT_ASSERT_EQ(KtWrite(Base + KT_PAGE, 1), STATUS_ACCESS_VIOLATION); /* demand-zero, read-only */
    KT_ASSERT_EQ(KtRead(Base + KT_PAGE, &Value), STATUS_SUCCESS);
    KT_ASSERT_EQ(Value, 0);

    /* A commit over a mix: the reserved half is charged, all of it RW. */
    KT_ASSERT_EQ(KtTryFree(Space, Base + 3 * KT_PAGE, KT_PAGE, MEM_DECOMMIT), STATUS_SUCCESS);
    KT_ASSERT_EQ(Space->CommittedPages, Committed - 1);
    KT_ASSERT_EQ(KtTryAllocate(Space, Base, 4 * KT_PAGE, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(Space->CommittedPages, Committed);
    KT_ASSERT_EQ(KtVadAt(Space, Base)->CommittedPages, 4);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_READWRITE, 4 * KT_PAGE, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    KT_ASSERT_EQ(KtRead(Base, &Value), STATUS_SUCCESS);
    KT_ASSERT_EQ(Value, 0xC0FFEE);
    KT_ASSERT_EQ(KtWrite(Base, 2), STATUS_SUCCESS);
}

/*
 * A commit-only request over a large, partly committed range remembers the
 * committed pages in a pool bitmap (more than the on-stack 1024 pages).
 */
KT_VM_TEST(commit_mixed_large_range)
{
    ULONG_PTR Base = 0x30000000;
    SIZE_T Size = 2048 * KT_PAGE;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE, PAGE_READWRITE), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtTryAllocate(Space, Base + 1500 * KT_PAGE, KT_PAGE, MEM_COMMIT, PAGE_READONLY),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KtTryAllocate(Space, Base + 7, 2048 * KT_PAGE - 7, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KtVadAt(Space, Base)->CommittedPages, 2048);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_READWRITE, 2048 * KT_PAGE, MEM_COMMIT,
                     PAGE_READWRITE, MEM_PRIVATE);
    /* Leave it committed: address-space teardown (MiDeleteAllVads) frees it. */
}

/*
 * Where MmAllocateVirtualMemory puts a reservation without a base:
 * bottom-up from MM_LOWEST_USER_ADDRESS, or top-down from
 * MM_HIGHEST_USER_ADDRESS with MEM_TOP_DOWN, on 64 KiB boundaries even for
 * a single page; MEM_TOP_DOWN with a given base is ignored.
 */
KT_VM_TEST(chosen_base_bottom_up_top_down_64k)
{
    ULONG_PTR Base = 0;
    SIZE_T Size = KT_PAGE;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE, PAGE_READWRITE), STATUS_SUCCESS);
    KT_ASSERT_EQ(Base, 0x10000);
    KT_ASSERT_EQ(Size, KT_PAGE);
    Base = 0;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE, PAGE_READWRITE), STATUS_SUCCESS);
    KT_ASSERT_EQ(Base, 0x20000); /* not 0x11000: reservations start on 64 KiB */
    Base = 0;
    Size = 0x11000;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(Base, 0x30000);
    KT_ASSERT_EQ(Size, 0x11000);
    Base = 0;
    Size = KT_PAGE;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE, PAGE_READWRITE), STATUS_SUCCESS);
    KT_ASSERT_EQ(Base, 0x50000); /* 0x40000 holds the end of the previous one */
    /* The free gap between 0x10000's page and 0x20000 is not handed out. */
    KT_ASSERT_FREE(0x11000, 0xF000);

    Base = 0;
    Size = KT_PAGE;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(Base, 0x7FFFFFFE0000ULL); /* the highest 64 KiB boundary that fits */
    Base = 0;
    Size = 2 * KT_64K;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN,
                            PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(Base, 0x7FFFFFFC0000ULL);
    KT_ASSERT_EQ(Size, 2 * KT_64K);
    KT_ASSERT_REGION(Base + KT_64K, Base + KT_64K, Base, PAGE_READWRITE, KT_64K, MEM_COMMIT,
                     PAGE_READWRITE, MEM_PRIVATE);
    KT_ASSERT_EQ(KtWrite(Base + 2 * KT_64K - 8, 7), STATUS_SUCCESS);
    /* The top page of user space, and what lies above the last VAD. */
    KT_ASSERT_FREE(0x7FFFFFFE1000ULL, KT_USER_END - 0x7FFFFFFE1000ULL);

    /* A given base wins over MEM_TOP_DOWN. */
    Base = 0x60000000;
    Size = KT_PAGE;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(Base, 0x60000000);

    /* MEM_COMMIT alone with a NULL base reserves and commits, as on Windows. */
    Base = 0;
    Size = 2 * KT_PAGE;
    PFN_NUMBER Committed = Space->CommittedPages;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS);
    KT_ASSERT_EQ(Base, 0x60000); /* the lowest free 64 KiB boundary */
    KT_ASSERT_EQ(Size, 2 * KT_PAGE);
    KT_ASSERT_EQ(Space->CommittedPages, Committed + 2);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_READWRITE, 2 * KT_PAGE, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    KT_ASSERT_EQ(KtVadCount(Space), 9); /* eight and the shared user data VAD */
    KT_ASSERT(MiVerifyAvlTable(&Space->VadRoot));
}

/*
 * Every way MmAllocateVirtualMemory says no, and that a refusal changes
 * nothing.
 */
KT_VM_TEST(allocate_errors_change_nothing)
{
    ULONG_PTR Base = 0x40000000;
    SIZE_T Size = 4 * KT_64K;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    ULONG Vads = KtVadCount(Space);
    PFN_NUMBER Committed = Space->CommittedPages;

    /* Overlap, at the front, in the middle, at the back; a base inside a
     * reservation's first 64 KiB is rounded down onto it. */
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x40000000 - KT_64K, KT_64K + 1, MEM_RESERVE,
                               PAGE_READWRITE),
                 STATUS_CONFLICTING_ADDRESSES);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x40008000, KT_PAGE, MEM_RESERVE, PAGE_READWRITE),
                 STATUS_CONFLICTING_ADDRESSES);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x40030000, 2 * KT_64K, MEM_RESERVE | MEM_COMMIT,
                               PAGE_READWRITE),
                 STATUS_CONFLICTING_ADDRESSES);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x3FF00000, 0x200000, MEM_RESERVE, PAGE_READWRITE),
                 STATUS_CONFLICTING_ADDRESSES);
    KT_ASSERT_EQ(KtTryAllocate(Space, MM_SHARED_USER_DATA_USER, KT_PAGE, MEM_RESERVE,
                               PAGE_READONLY),
                 STATUS_CONFLICTING_ADDRESSES);
    /* Right next to it is fine (checked last, below). */

    /* Outside the user half or in the null guard. */
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x1000, KT_PAGE, MEM_RESERVE, PAGE_READWRITE),
                 STATUS_INVALID_PARAMETER_2);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0xFFFF, KT_PAGE, MEM_RESERVE, PAGE_READWRITE),
                 STATUS_INVALID_PARAMETER_2);
    KT_ASSERT_EQ(KtTryAllocate(Space, KT_USER_END, KT_PAGE, MEM_RESERVE, PAGE_READWRITE),
                 STATUS_INVALID_PARAMETER_2);
    KT_ASSERT_EQ(KtTryAllocate(Space, MM_SYSTEM_RANGE_START, KT_PAGE, MEM_RESERVE,
                               PAGE_READWRITE),
                 STATUS_INVALID_PARAMETER_2);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x7FFFFFFE0000ULL, KT_64K + 1, MEM_RESERVE,
                               PAGE_READWRITE),
                 STATUS_INVALID_PARAMETER_4);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x50000000, ~(SIZE_T)0, MEM_RESERVE, PAGE_READWRITE),
                 STATUS_INVALID_PARAMETER_4);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0, KT_USER_END + 1, MEM_RESERVE, PAGE_READWRITE),
                 STATUS_INVALID_PARAMETER_4);
    /* Size 0. */
    KT_ASSERT_EQ(KtTryAllocate(Space, 0, 0, MEM_RESERVE, PAGE_READWRITE),
                 STATUS_INVALID_PARAMETER_4);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x50000000, 0, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                 STATUS_INVALID_PARAMETER_4);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x40000000, 0, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_INVALID_PARAMETER_4);

    /* Bad allocation types. */
    static const ULONG BadTypes[] = {0, MEM_TOP_DOWN, MEM_DECOMMIT, MEM_RELEASE,
                                     MEM_RESERVE | MEM_RELEASE, MEM_COMMIT | MEM_DECOMMIT,
                                     MEM_RESERVE | MEM_FREE, MEM_COMMIT | MEM_PRIVATE,
                                     MEM_RESERVE | 0x80000000u, 0x00080000 /* MEM_RESET */};
    for (ULONG i = 0; i < ARRAYSIZE(BadTypes); i++)
        KT_ASSERT_EQ(KtTryAllocate(Space, 0, KT_PAGE, BadTypes[i], PAGE_READWRITE),
                     STATUS_INVALID_PARAMETER_5);

    /* Bad protections: none, two at once, write-copy (not for private
     * memory), PAGE_GUARD with PAGE_NOACCESS or alone, cache attributes. */
    static const ULONG BadProtections[] = {
        0, PAGE_READONLY | PAGE_READWRITE, PAGE_WRITECOPY, PAGE_EXECUTE_WRITECOPY,
        PAGE_GUARD | PAGE_NOACCESS, PAGE_GUARD, PAGE_NOCACHE | PAGE_READWRITE,
        PAGE_WRITECOMBINE | PAGE_READWRITE, PAGE_NOACCESS | PAGE_READONLY, 0x800, 0x10000};
    for (ULONG i = 0; i < ARRAYSIZE(BadProtections); i++) {
        KT_ASSERT_EQ(KtTryAllocate(Space, 0, KT_PAGE, MEM_RESERVE, BadProtections[i]),
                     STATUS_INVALID_PAGE_PROTECTION);
        KT_ASSERT_EQ(KtTryAllocate(Space, 0x40000000, KT_PAGE, MEM_COMMIT, BadProtections[i]),
                     STATUS_INVALID_PAGE_PROTECTION);
    }

    /* No room: the whole user half cannot be had while anything is in it. */
    KT_ASSERT_EQ(KtTryAllocate(Space, 0, KT_USER_END - MM_LOWEST_USER_ADDRESS, MEM_RESERVE,
                               PAGE_READWRITE),
                 STATUS_NO_MEMORY);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0, KT_USER_END - MM_LOWEST_USER_ADDRESS,
                               MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE),
                 STATUS_NO_MEMORY);

    /* The outputs are untouched on failure. */
    Base = 0x40008000;
    Size = 0x1234;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE, PAGE_READWRITE),
                 STATUS_CONFLICTING_ADDRESSES);
    KT_ASSERT_EQ(Base, 0x40008000);
    KT_ASSERT_EQ(Size, 0x1234);

    KT_ASSERT_EQ(KtVadCount(Space), Vads);
    KT_ASSERT_EQ(Space->CommittedPages, Committed);
    KT_ASSERT_REGION(0x40000000, 0x40000000, 0x40000000, PAGE_READWRITE, 4 * KT_64K, MEM_COMMIT,
                     PAGE_READWRITE, MEM_PRIVATE);
    KT_ASSERT(MiVerifyAvlTable(&Space->VadRoot));

    /* Adjacent on both sides is no conflict; nor is the very last 64 KiB. */
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x40000000 - KT_64K, KT_64K, MEM_RESERVE, PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x40000000 + 4 * KT_64K, KT_PAGE, MEM_RESERVE,
                               PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x7FFFFFFE0000ULL, KT_64K, MEM_RESERVE, PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KtVadCount(Space), Vads + 3);
}

/*
 * MEM_COMMIT without MEM_RESERVE must fall inside one reservation
 * (Windows: ERROR_INVALID_ADDRESS, i.e. STATUS_CONFLICTING_ADDRESSES).
 */
KT_VM_TEST(commit_outside_reservation)
{
    ULONG_PTR Base = 0x40000000;
    SIZE_T Size = KT_64K;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE, PAGE_READWRITE), STATUS_SUCCESS);
    ULONG_PTR Next = 0x40010000;
    Size = KT_64K;
    KT_ASSERT_EQ(KtAllocate(Space, &Next, &Size, MEM_RESERVE, PAGE_READWRITE), STATUS_SUCCESS);
    PFN_NUMBER Committed = Space->CommittedPages;

    /* Nothing reserved there. */
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x50000000, KT_PAGE, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_CONFLICTING_ADDRESSES);
    /* Starting before the reservation, running past its end, spanning two
     * adjacent reservations. */
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x3FFFF000, 2 * KT_PAGE, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_CONFLICTING_ADDRESSES);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x40020000 - KT_PAGE, 2 * KT_PAGE, MEM_COMMIT,
                               PAGE_READWRITE),
                 STATUS_CONFLICTING_ADDRESSES);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x4000F000, 2 * KT_PAGE, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_CONFLICTING_ADDRESSES);
    /* The shared user data page is nobody's to commit. */
    KT_ASSERT_EQ(KtTryAllocate(Space, MM_SHARED_USER_DATA_USER, KT_PAGE, MEM_COMMIT,
                               PAGE_READWRITE),
                 STATUS_CONFLICTING_ADDRESSES);
    KT_ASSERT_EQ(KtTryAllocate(Space, MM_SHARED_USER_DATA_USER, KT_PAGE, MEM_COMMIT,
                               PAGE_READONLY),
                 STATUS_CONFLICTING_ADDRESSES);
    KT_ASSERT_EQ(Space->CommittedPages, Committed);
    KT_ASSERT_REGION(0x40000000, 0x40000000, 0x40000000, PAGE_READWRITE, KT_64K, MEM_RESERVE, 0,
                     MEM_PRIVATE);
    KT_ASSERT_REGION(0x40010000, 0x40010000, 0x40010000, PAGE_READWRITE, KT_64K, MEM_RESERVE, 0,
                     MEM_PRIVATE);
    KT_ASSERT_REGION(MM_SHARED_USER_DATA_USER, MM_SHARED_USER_DATA_USER,
                     MM_SHARED_USER_DATA_USER, PAGE_READONLY, KT_PAGE, MEM_COMMIT, PAGE_READONLY,
                     MEM_PRIVATE);

    /* The last page of one and all of the other, separately, are fine. */
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x4000F000, KT_PAGE, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KtTryAllocate(Space, 0x40010000, KT_64K, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(Space->CommittedPages, Committed + 17);
}

/*
 * Every way MmFreeVirtualMemory says no, with the Windows status codes,
 * and the forms of MEM_RELEASE that work.
 */
KT_VM_TEST(free_rules_and_errors)
{
    ULONG_PTR Base = 0x40000000;
    SIZE_T Size = 4 * KT_PAGE;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    ULONG Vads = KtVadCount(Space);
    PFN_NUMBER Committed = Space->CommittedPages;

    /* Exactly one of MEM_DECOMMIT and MEM_RELEASE. */
    KT_ASSERT_EQ(KtTryFree(Space, Base, 0, MEM_DECOMMIT | MEM_RELEASE), STATUS_INVALID_PARAMETER_4);
    KT_ASSERT_EQ(KtTryFree(Space, Base, 0, 0), STATUS_INVALID_PARAMETER_4);
    KT_ASSERT_EQ(KtTryFree(Space, Base, 0, MEM_RELEASE | MEM_COMMIT), STATUS_INVALID_PARAMETER_4);
    KT_ASSERT_EQ(KtTryFree(Space, Base, 0, MEM_DECOMMIT | 0x80000000u), STATUS_INVALID_PARAMETER_4);
    /* Outside the user half. */
    KT_ASSERT_EQ(KtTryFree(Space, KT_USER_END, 0, MEM_RELEASE), STATUS_INVALID_PARAMETER_2);
    KT_ASSERT_EQ(KtTryFree(Space, MM_SYSTEM_RANGE_START, 0, MEM_DECOMMIT),
                 STATUS_INVALID_PARAMETER_2);
    KT_ASSERT_EQ(KtTryFree(Space, Base, ~(SIZE_T)0, MEM_DECOMMIT), STATUS_INVALID_PARAMETER_3);
    /* Nothing reserved there. */
    KT_ASSERT_EQ(KtTryFree(Space, 0x50000000, 0, MEM_RELEASE), STATUS_MEMORY_NOT_ALLOCATED);
    KT_ASSERT_EQ(KtTryFree(Space, 0x50000000, KT_PAGE, MEM_DECOMMIT),
                 STATUS_MEMORY_NOT_ALLOCATED);
    KT_ASSERT_EQ(KtTryFree(Space, Base + 4 * KT_PAGE, 0, MEM_RELEASE),
                 STATUS_MEMORY_NOT_ALLOCATED);
    /* Past the end of the VAD. */
    KT_ASSERT_EQ(KtTryFree(Space, Base + KT_PAGE, 4 * KT_PAGE, MEM_DECOMMIT),
                 STATUS_UNABLE_TO_FREE_VM);
    KT_ASSERT_EQ(KtTryFree(Space, Base, 5 * KT_PAGE, MEM_RELEASE), STATUS_UNABLE_TO_FREE_VM);
    /* Size 0 names the whole VAD, so the base must be the VAD's. */
    KT_ASSERT_EQ(KtTryFree(Space, Base + KT_PAGE, 0, MEM_RELEASE), STATUS_FREE_VM_NOT_AT_BASE);
    KT_ASSERT_EQ(KtTryFree(Space, Base + KT_PAGE, 0, MEM_DECOMMIT), STATUS_FREE_VM_NOT_AT_BASE);
    /* The shared user data VAD stays. */
    KT_ASSERT_EQ(KtTryFree(Space, MM_SHARED_USER_DATA_USER, 0, MEM_RELEASE),
                 STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(KtTryFree(Space, MM_SHARED_USER_DATA_USER, KT_PAGE, MEM_DECOMMIT),
                 STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(KtTryFree(Space, MM_SHARED_USER_DATA_USER, KT_PAGE, MEM_RELEASE),
                 STATUS_INVALID_PARAMETER);
    ULONG64 Value = 0;
    KT_ASSERT_EQ(KtRead(MM_SHARED_USER_DATA_USER, &Value), STATUS_SUCCESS);

    /* Outputs untouched on failure; nothing changed. */
    ULONG_PTR B = Base + KT_PAGE;
    SIZE_T S = 0;
    KT_ASSERT_EQ(KtFree(Space, &B, &S, MEM_RELEASE), STATUS_FREE_VM_NOT_AT_BASE);
    KT_ASSERT_EQ(B, Base + KT_PAGE);
    KT_ASSERT_EQ(S, 0);
    KT_ASSERT_EQ(KtVadCount(Space), Vads);
    KT_ASSERT_EQ(Space->CommittedPages, Committed);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_READWRITE, 4 * KT_PAGE, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);

    /* MEM_RELEASE with the exact size of the VAD, at an offset into its
     * first page: NT compares page numbers, and so do we. */
    B = Base + 0x10;
    S = 4 * KT_PAGE - 0x10;
    KT_ASSERT_EQ(KtFree(Space, &B, &S, MEM_RELEASE), STATUS_SUCCESS);
    KT_ASSERT_EQ(B, Base);
    KT_ASSERT_EQ(S, 4 * KT_PAGE);
    KT_ASSERT_EQ(KtVadCount(Space), Vads - 1);
    KT_ASSERT_EQ(Space->CommittedPages, Committed - 4);
    /* A second release finds nothing. */
    KT_ASSERT_EQ(KtTryFree(Space, Base, 0, MEM_RELEASE), STATUS_MEMORY_NOT_ALLOCATED);

    /* Size 0 with a base inside the first page also works. */
    Base = 0;
    Size = KT_64K;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE, PAGE_READWRITE), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtTryFree(Space, Base + 0xFFF, 0, MEM_RELEASE), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtVadCount(Space), Vads - 1);
}

/*
 * VirtualProtect: committed pages only, inside one VAD; the old protection
 * of the first page comes back; contents survive every change, including
 * PAGE_NOACCESS and back.
 */
KT_VM_TEST(protect)
{
    ULONG_PTR Base = 0x40000000;
    SIZE_T Size = 6 * KT_PAGE;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE, PAGE_NOACCESS), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtTryAllocate(Space, Base, 4 * KT_PAGE, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    for (ULONG i = 0; i < 4; i++)
        KT_ASSERT_EQ(KtWrite(Base + i * KT_PAGE, 0xAB00 + i), STATUS_SUCCESS);

    /* Pages 1 and 2 read-only; base and size come back rounded. */
    ULONG_PTR B = Base + KT_PAGE + 0x123;
    SIZE_T S = KT_PAGE;
    ULONG Old = 0;
    KT_ASSERT_EQ(KtProtect(Space, &B, &S, PAGE_READONLY, &Old), STATUS_SUCCESS);
    KT_ASSERT_EQ(B, Base + KT_PAGE);
    KT_ASSERT_EQ(S, 2 * KT_PAGE);
    KT_ASSERT_EQ(Old, PAGE_READWRITE);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_NOACCESS, KT_PAGE, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    KT_ASSERT_REGION(Base + KT_PAGE, Base + KT_PAGE, Base, PAGE_NOACCESS, 2 * KT_PAGE,
                     MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    KT_ASSERT_REGION(Base + 3 * KT_PAGE, Base + 3 * KT_PAGE, Base, PAGE_NOACCESS, KT_PAGE,
                     MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    KT_ASSERT_REGION(Base + 4 * KT_PAGE, Base + 4 * KT_PAGE, Base, PAGE_NOACCESS, 2 * KT_PAGE,
                     MEM_RESERVE, 0, MEM_PRIVATE);
    ULONG64 Value = 0;
    KT_ASSERT_EQ(KtWrite(Base + KT_PAGE, 1), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KtRead(Base + KT_PAGE, &Value), STATUS_SUCCESS);
    KT_ASSERT_EQ(Value, 0xAB01);
    KT_ASSERT_EQ(KtWrite(Base, 0xAB00), STATUS_SUCCESS);

    /* No access: neither read nor write; then back, contents intact. */
    B = Base + KT_PAGE;
    S = 2 * KT_PAGE;
    KT_ASSERT_EQ(KtProtect(Space, &B, &S, PAGE_NOACCESS, &Old), STATUS_SUCCESS);
    KT_ASSERT_EQ(Old, PAGE_READONLY);
    KT_ASSERT_EQ(KtRead(Base + 2 * KT_PAGE, &Value), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KtWrite(Base + 2 * KT_PAGE, 1), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_REGION(Base + KT_PAGE, Base + KT_PAGE, Base, PAGE_NOACCESS, 2 * KT_PAGE,
                     MEM_COMMIT, PAGE_NOACCESS, MEM_PRIVATE);
    B = Base;
    S = 4 * KT_PAGE;
    KT_ASSERT_EQ(KtProtect(Space, &B, &S, PAGE_EXECUTE_READWRITE, &Old), STATUS_SUCCESS);
    KT_ASSERT_EQ(Old, PAGE_READWRITE);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_NOACCESS, 4 * KT_PAGE, MEM_COMMIT,
                     PAGE_EXECUTE_READWRITE, MEM_PRIVATE);
    for (ULONG i = 0; i < 4; i++) {
        KT_ASSERT_EQ(KtRead(Base + i * KT_PAGE, &Value), STATUS_SUCCESS);
        KT_ASSERT_EQ(Value, 0xAB00 + i);
    }
    KT_ASSERT_EQ(KtWrite(Base + 2 * KT_PAGE, 2), STATUS_SUCCESS);

    /* The errors, none of which changes anything. */
    PFN_NUMBER Committed = Space->CommittedPages;
    KT_ASSERT_EQ(KtTryProtect(Space, Base + 3 * KT_PAGE, 2 * KT_PAGE, PAGE_READONLY),
                 STATUS_NOT_COMMITTED); /* page 4 is only reserved */
    KT_ASSERT_EQ(KtTryProtect(Space, Base + 5 * KT_PAGE, KT_PAGE, PAGE_READONLY),
                 STATUS_NOT_COMMITTED);
    KT_ASSERT_EQ(KtTryProtect(Space, Base, 7 * KT_PAGE, PAGE_READONLY),
                 STATUS_CONFLICTING_ADDRESSES); /* past the VAD */
    KT_ASSERT_EQ(KtTryProtect(Space, Base - KT_PAGE, 2 * KT_PAGE, PAGE_READONLY),
                 STATUS_CONFLICTING_ADDRESSES); /* from free space into it */
    KT_ASSERT_EQ(KtTryProtect(Space, 0x50000000, KT_PAGE, PAGE_READONLY),
                 STATUS_CONFLICTING_ADDRESSES); /* free */
    KT_ASSERT_EQ(KtTryProtect(Space, Base, 0, PAGE_READONLY), STATUS_INVALID_PARAMETER_3);
    KT_ASSERT_EQ(KtTryProtect(Space, KT_USER_END, KT_PAGE, PAGE_READONLY),
                 STATUS_INVALID_PARAMETER_2);
    KT_ASSERT_EQ(KtTryProtect(Space, Base, ~(SIZE_T)0, PAGE_READONLY), STATUS_INVALID_PARAMETER_3);
    KT_ASSERT_EQ(KtTryProtect(Space, Base, KT_PAGE, PAGE_WRITECOPY),
                 STATUS_INVALID_PAGE_PROTECTION);
    KT_ASSERT_EQ(KtTryProtect(Space, Base, KT_PAGE, PAGE_GUARD | PAGE_NOACCESS),
                 STATUS_INVALID_PAGE_PROTECTION);
    KT_ASSERT_EQ(KtTryProtect(Space, Base, KT_PAGE, 0), STATUS_INVALID_PAGE_PROTECTION);
    KT_ASSERT_EQ(KtTryProtect(Space, MM_SHARED_USER_DATA_USER, KT_PAGE, PAGE_READWRITE),
                 STATUS_INVALID_PAGE_PROTECTION);
    KT_ASSERT_EQ(KtTryProtect(Space, MM_SHARED_USER_DATA_USER, KT_PAGE, PAGE_READONLY),
                 STATUS_INVALID_PAGE_PROTECTION);
    B = Base;
    S = 5 * KT_PAGE;
    Old = 0x5555;
    KT_ASSERT_EQ(KtProtect(Space, &B, &S, PAGE_READONLY, &Old), STATUS_NOT_COMMITTED);
    KT_ASSERT_EQ(B, Base);
    KT_ASSERT_EQ(S, 5 * KT_PAGE);
    KT_ASSERT_EQ(Old, PAGE_NOACCESS); /* as NT, also on this failure */
    KT_ASSERT_EQ(Space->CommittedPages, Committed);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_NOACCESS, 4 * KT_PAGE, MEM_COMMIT,
                     PAGE_EXECUTE_READWRITE, MEM_PRIVATE);
    KT_ASSERT_EQ(KtWrite(MM_SHARED_USER_DATA_USER, 1), STATUS_ACCESS_VIOLATION);
}

/*
 * PAGE_GUARD: the first touch fails (STATUS_GUARD_PAGE_VIOLATION) and takes
 * the guard off that page only; the next touch works. Also for a resident
 * page made a guard page by MmProtectVirtualMemory.
 */
KT_VM_TEST(guard_pages)
{
    ULONG64 GuardHits = MmFaultCounters.GuardPage;
    ULONG_PTR Base = 0;
    SIZE_T Size = 2 * KT_PAGE;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT,
                            PAGE_READWRITE | PAGE_GUARD),
                 STATUS_SUCCESS);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_READWRITE | PAGE_GUARD, 2 * KT_PAGE, MEM_COMMIT,
                     PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
    ULONG64 Value = 1;
    /* The copy routine consumed the guard: NT's probe raises the same. */
    KT_ASSERT_EQ(KtRead(Base, &Value), STATUS_GUARD_PAGE_VIOLATION);
    KT_ASSERT_EQ(MmFaultCounters.GuardPage, GuardHits + 1);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_READWRITE | PAGE_GUARD, KT_PAGE, MEM_COMMIT,
                     PAGE_READWRITE, MEM_PRIVATE);
    KT_ASSERT_REGION(Base + KT_PAGE, Base + KT_PAGE, Base, PAGE_READWRITE | PAGE_GUARD, KT_PAGE,
                     MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
    KT_ASSERT_EQ(KtRead(Base, &Value), STATUS_SUCCESS);
    KT_ASSERT_EQ(Value, 0);
    KT_ASSERT_EQ(KtWrite(Base, 0x6A6A), STATUS_SUCCESS);

    /* A resident page turned into a guard page keeps its contents. */
    ULONG_PTR B = Base;
    SIZE_T S = KT_PAGE;
    ULONG Old = 0;
    KT_ASSERT_EQ(KtProtect(Space, &B, &S, PAGE_READWRITE | PAGE_GUARD, &Old), STATUS_SUCCESS);
    KT_ASSERT_EQ(Old, PAGE_READWRITE);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_READWRITE | PAGE_GUARD, 2 * KT_PAGE, MEM_COMMIT,
                     PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
    KT_ASSERT_EQ(KtWrite(Base, 1), STATUS_GUARD_PAGE_VIOLATION);
    KT_ASSERT_EQ(MmFaultCounters.GuardPage, GuardHits + 2);
    KT_ASSERT_EQ(KtRead(Base, &Value), STATUS_SUCCESS);
    KT_ASSERT_EQ(Value, 0x6A6A);

    /* MmProtectVirtualMemory reports the guard in the old protection. */
    B = Base + KT_PAGE;
    S = KT_PAGE;
    KT_ASSERT_EQ(KtProtect(Space, &B, &S, PAGE_READONLY, &Old), STATUS_SUCCESS);
    KT_ASSERT_EQ(Old, PAGE_READWRITE | PAGE_GUARD);
}

/*
 * MEMORY_BASIC_INFORMATION for free space, the shared user data page, the
 * edges of user space, and a large sparse reservation.
 */
KT_VM_TEST(query)
{
    /* A fresh space holds only the shared user data page. */
    KT_ASSERT_FREE(0, MM_SHARED_USER_DATA_USER);
    KT_ASSERT_FREE(0x12345, MM_SHARED_USER_DATA_USER - 0x12000);
    KT_ASSERT_REGION(MM_SHARED_USER_DATA_USER + 0x10, MM_SHARED_USER_DATA_USER,
                     MM_SHARED_USER_DATA_USER, PAGE_READONLY, KT_PAGE, MEM_COMMIT, PAGE_READONLY,
                     MEM_PRIVATE);
    KT_ASSERT_FREE(MM_SHARED_USER_DATA_USER + KT_PAGE,
                   KT_USER_END - MM_SHARED_USER_DATA_USER - KT_PAGE);
    KT_ASSERT_FREE(MM_HIGHEST_USER_ADDRESS, KT_PAGE);

    /* Above the user half: STATUS_INVALID_PARAMETER, output untouched. */
    MEMORY_BASIC_INFORMATION Info;
    memset(&Info, 0xCC, sizeof(Info));
    KT_ASSERT_EQ(MmQueryVirtualMemory(Space, (PVOID)KT_USER_END, &Info),
                 STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(Info.State, 0xCCCCCCCC);
    KT_ASSERT_EQ(MmQueryVirtualMemory(Space, (PVOID)(MM_USER_PROBE_ADDRESS + 0x10000), &Info),
                 STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(MmQueryVirtualMemory(Space, (PVOID)MM_SYSTEM_RANGE_START, &Info),
                 STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(MmQueryVirtualMemory(Space, (PVOID)MM_SHARED_USER_DATA_VA, &Info),
                 STATUS_INVALID_PARAMETER);

    /* A 1 GiB reservation with one committed page in the middle. */
    ULONG_PTR Base = 0x100000000ULL;
    SIZE_T Size = 1ULL << 30;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE, PAGE_READWRITE), STATUS_SUCCESS);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_READWRITE, 1ULL << 30, MEM_RESERVE, 0, MEM_PRIVATE);
    ULONG_PTR Middle = Base + (1ULL << 29);
    KT_ASSERT_EQ(KtTryAllocate(Space, Middle, 1, MEM_COMMIT, PAGE_EXECUTE_READ), STATUS_SUCCESS);
    KT_ASSERT_REGION(Base + 0x5000, Base + 0x5000, Base, PAGE_READWRITE,
                     (1ULL << 29) - 0x5000, MEM_RESERVE, 0, MEM_PRIVATE);
    KT_ASSERT_REGION(Middle, Middle, Base, PAGE_READWRITE, KT_PAGE, MEM_COMMIT,
                     PAGE_EXECUTE_READ, MEM_PRIVATE);
    KT_ASSERT_REGION(Middle + KT_PAGE, Middle + KT_PAGE, Base, PAGE_READWRITE,
                     (1ULL << 29) - KT_PAGE, MEM_RESERVE, 0, MEM_PRIVATE);
    /* Free space now ends at the next VAD, whichever side it is on. */
    KT_ASSERT_FREE(MM_SHARED_USER_DATA_USER + KT_PAGE,
                   Base - MM_SHARED_USER_DATA_USER - KT_PAGE);
    KT_ASSERT_FREE(Base + Size, KT_USER_END - Base - Size);

    /* Runs split where the protection changes. */
    ULONG_PTR Small = 0x40000000;
    Size = 3 * KT_PAGE;
    KT_ASSERT_EQ(KtAllocate(Space, &Small, &Size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KtTryProtect(Space, Small + KT_PAGE, KT_PAGE, PAGE_READONLY), STATUS_SUCCESS);
    KT_ASSERT_REGION(Small, Small, Small, PAGE_READWRITE, KT_PAGE, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    KT_ASSERT_REGION(Small + KT_PAGE, Small + KT_PAGE, Small, PAGE_READWRITE, KT_PAGE,
                     MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    KT_ASSERT_REGION(Small + 2 * KT_PAGE, Small + 2 * KT_PAGE, Small, PAGE_READWRITE, KT_PAGE,
                     MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    KT_ASSERT_FREE(Small + 3 * KT_PAGE, MM_SHARED_USER_DATA_USER - Small - 3 * KT_PAGE);
}

/*
 * Many reservations, both directions, sizes from one page to several
 * 64 KiB units: the tree stays a valid AVL tree, nothing overlaps, the
 * commit charge adds up; half are released here, the rest by the
 * address-space teardown (MiDeleteAllVads).
 */
#define KT_MANY 96
static ULONG_PTR KtManyBase[KT_MANY];
static SIZE_T KtManySize[KT_MANY];

KT_VM_TEST(many_vads_keep_the_tree_valid)
{
    PFN_NUMBER Committed = Space->CommittedPages;
    ULONG Vads = KtVadCount(Space);
    PFN_NUMBER Pages = 0;

    for (ULONG i = 0; i < KT_MANY; i++) {
        KtManyBase[i] = 0;
        KtManySize[i] = ((i * 7) % 37 + 1) * KT_PAGE;
        ULONG Type = MEM_RESERVE | MEM_COMMIT | ((i % 3 == 0) ? MEM_TOP_DOWN : 0);
        KT_ASSERT_EQ(KtAllocate(Space, &KtManyBase[i], &KtManySize[i], Type, PAGE_READWRITE),
                     STATUS_SUCCESS);
        KT_ASSERT_EQ(KtManyBase[i] % KT_64K, 0);
        KT_ASSERT(MiVerifyAvlTable(&Space->VadRoot));
        Pages += KtManySize[i] / KT_PAGE;
    }
    KT_ASSERT_EQ(KtVadCount(Space), Vads + KT_MANY);
    KT_ASSERT_EQ(Space->CommittedPages, Committed + Pages);
    for (ULONG i = 0; i < KT_MANY; i++) {
        KT_ASSERT_REGION(KtManyBase[i], KtManyBase[i], KtManyBase[i], PAGE_READWRITE,
                         KtManySize[i], MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
        KT_ASSERT_EQ(KtWrite(KtManyBase[i] + KtManySize[i] - 8, i), STATUS_SUCCESS);
    }
    for (ULONG i = 0; i < KT_MANY; i += 2) {
        KT_ASSERT_EQ(KtTryFree(Space, KtManyBase[i], 0, MEM_RELEASE), STATUS_SUCCESS);
        KT_ASSERT(MiVerifyAvlTable(&Space->VadRoot));
        Pages -= KtManySize[i] / KT_PAGE;
    }
    KT_ASSERT_EQ(KtVadCount(Space), Vads + KT_MANY / 2);
    KT_ASSERT_EQ(Space->CommittedPages, Committed + Pages);
    for (ULONG i = 1; i < KT_MANY; i += 2) {
        ULONG64 Value = 0;
        KT_ASSERT_EQ(KtRead(KtManyBase[i] + KtManySize[i] - 8, &Value), STATUS_SUCCESS);
        KT_ASSERT_EQ(Value, i);
    }
}

/*
 * Out of memory: with every frame that is not promised to a committed page
 * taken, a commit fails with STATUS_COMMITMENT_LIMIT (a new reservation may
 * fail earlier, for pool) and leaves everything as it was - pages
 * committed before keep their protection, no VAD is left behind, no
 * charge, no frame - while a page committed before still gets its frame
 * when touched: the commit charge promised it one (mm/pfn.c).
 */

KT_VM_TEST(out_of_memory_rolls_back)
{
    /* With a pagefile the pagefile backs the promises (mm/pfn.c): a
     * driver may take every frame. The mem.* boots (no disk) run it. */
    KT_SKIP_IF(MmPagingFileActive(), "the commit rules without a pagefile (the mem.* boots)");
    /* 4 MiB reserved at 1 GiB: two page tables' worth. Pages 0 and 2 are
     * committed, so the page table of the first 2 MiB exists. */
    ULONG_PTR Base = 0x40000000;
    SIZE_T Size = 4ULL << 20;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE, PAGE_READWRITE), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtTryAllocate(Space, Base, KT_PAGE, MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtTryAllocate(Space, Base + 2 * KT_PAGE, KT_PAGE, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KtWrite(Base, 0x0DD), STATUS_SUCCESS);
    PMMVAD Vad = KtVadAt(Space, Base);
    KT_ASSERT(Vad != NULL);
    ULONG Vads = KtVadCount(Space);
    PFN_NUMBER Committed = Space->CommittedPages;
    PFN_NUMBER Tables = Space->PageTablePages;
    PFN_NUMBER Available = MmAvailablePages();

    MM_MEMORY_COUNTERS Counters;
    MmQueryMemoryCounters(&Counters);
    PFN_NUMBER Unbacked = Counters.CommittedPages - Counters.PagesByUsage[MiUsageUser];

    /* A driver takes every frame it can: all but the ones promised to
     * committed pages that have none yet (page 2 among them) - or, when
     * that comes first, all but the floor of resident available pages,
     * which NT keeps from resident uses (mm/pfn.c; at 32M and at 4G with
     * few user pages the floor comes first). */
    PFN_NUMBER Frames = KtTakeAllFrames(FALSE);
    PFN_NUMBER Left = MmAvailablePages();
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    BOOLEAN AtFloor = MiResidentAvailablePages() == MiMinimumResidentAvailablePages();
    KeLowerIrql(OldIrql);
    /* Pages 0..512 (1, 3..512 new): no RAM left to promise them. */
    NTSTATUS CommitStatus =
        KtTryAllocate(Space, Base, 513 * KT_PAGE, MEM_COMMIT, PAGE_READONLY);
    /* A new reservation: no pool for the VAD, or no commit for its pages. */
    NTSTATUS ReserveStatus = KtTryAllocate(Space, 0x500000000000ULL, KT_64K,
                                           MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    NTSTATUS AnywhereStatus =
        KtTryAllocate(Space, 0, KT_PAGE, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN, PAGE_READWRITE);
    /* The promise holds: the committed page 2 still gets its frame. */
    NTSTATUS TouchStatus = KtWrite(Base + 2 * KT_PAGE, 0x0D2);
    PFN_NUMBER LeftAfterTouch = MmAvailablePages();
    KtGiveBackFrames(Frames);

    KT_ASSERT(Unbacked >= 1);
    KT_ASSERT(AtFloor ? Left >= Unbacked : Left == Unbacked);
    KT_ASSERT_EQ(CommitStatus, STATUS_COMMITMENT_LIMIT);
    KT_ASSERT(ReserveStatus == STATUS_INSUFFICIENT_RESOURCES ||
              ReserveStatus == STATUS_COMMITMENT_LIMIT);
    KT_ASSERT(AnywhereStatus == STATUS_INSUFFICIENT_RESOURCES ||
              AnywhereStatus == STATUS_COMMITMENT_LIMIT);
    KT_ASSERT_EQ(TouchStatus, STATUS_SUCCESS);
    KT_ASSERT_EQ(LeftAfterTouch, Left - 1);
    KT_ASSERT_EQ(MmAvailablePages(), Available - 1); /* page 2's frame */
    KT_ASSERT_EQ(KtVadCount(Space), Vads);
    KT_ASSERT_EQ(Space->CommittedPages, Committed);
    KT_ASSERT_EQ(Vad->CommittedPages, 2);
    KT_ASSERT_EQ(Space->PageTablePages, Tables);
    KT_ASSERT(MiVerifyAvlTable(&Space->VadRoot));
    KT_ASSERT_REGION(Base, Base, Base, PAGE_READWRITE, KT_PAGE, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    KT_ASSERT_REGION(Base + KT_PAGE, Base + KT_PAGE, Base, PAGE_READWRITE, KT_PAGE, MEM_RESERVE,
                     0, MEM_PRIVATE);
    KT_ASSERT_REGION(Base + 2 * KT_PAGE, Base + 2 * KT_PAGE, Base, PAGE_READWRITE, KT_PAGE,
                     MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    KT_ASSERT_REGION(Base + 3 * KT_PAGE, Base + 3 * KT_PAGE, Base, PAGE_READWRITE,
                     Size - 3 * KT_PAGE, MEM_RESERVE, 0, MEM_PRIVATE);
    KT_ASSERT_FREE(0x500000000000ULL, KT_USER_END - 0x500000000000ULL);
    ULONG64 Value = 0;
    KT_ASSERT_EQ(KtRead(Base, &Value), STATUS_SUCCESS);
    KT_ASSERT_EQ(Value, 0x0DD);
    KT_ASSERT_EQ(KtWrite(Base, 0x0DE), STATUS_SUCCESS); /* still read/write */

    /* With memory back, the same commit works, and changes page 0's
     * protection along with the rest. */
    KT_ASSERT_EQ(KtTryAllocate(Space, Base, 513 * KT_PAGE, MEM_COMMIT, PAGE_READONLY),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(Vad->CommittedPages, 513);
    KT_ASSERT_EQ(Space->CommittedPages, Committed + 511);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_READWRITE, 513 * KT_PAGE, MEM_COMMIT, PAGE_READONLY,
                     MEM_PRIVATE);
    KT_ASSERT_EQ(KtRead(Base, &Value), STATUS_SUCCESS);
    KT_ASSERT_EQ(Value, 0x0DE);
    KT_ASSERT_EQ(KtTryFree(Space, Base, 0, MEM_RELEASE), STATUS_SUCCESS);
    KT_ASSERT_EQ(Space->PageTablePages, Tables - 1); /* the first table went with its pages */
}

/*
 * MEM_RELEASE of part of a reservation, as NT: the part's pages leave the
 * commit charge and become free, and the VAD shrinks (a part at an end) or
 * splits in two (a part in the middle; the upper piece is a VAD of its
 * own, with its own AllocationBase). Page tables the part emptied go too.
 */
KT_VM_TEST(partial_release_splits_the_vad)
{
    ULONG_PTR Base = 0x40000000;
    SIZE_T Size = 8 * KT_PAGE;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    for (ULONG i = 0; i < 8; i++)
        KT_ASSERT_EQ(KtWrite(Base + i * KT_PAGE, 0x100 + i), STATUS_SUCCESS);
    ULONG Vads = KtVadCount(Space);
    PFN_NUMBER Committed = Space->CommittedPages;
    PFN_NUMBER Available = MmAvailablePages();

    /* The middle: pages 2..4. */
    ULONG_PTR B = Base + 2 * KT_PAGE + 0x10;
    SIZE_T S = 3 * KT_PAGE - 0x10;
    KT_ASSERT_EQ(KtFree(Space, &B, &S, MEM_RELEASE), STATUS_SUCCESS);
    KT_ASSERT_EQ(B, Base + 2 * KT_PAGE);
    KT_ASSERT_EQ(S, 3 * KT_PAGE);
    KT_ASSERT_EQ(KtVadCount(Space), Vads + 1);
    KT_ASSERT_EQ(Space->CommittedPages, Committed - 3);
    KT_ASSERT(MmAvailablePages() >= Available + 3);
    KT_ASSERT_EQ(KtVadAt(Space, Base)->CommittedPages, 2);
    KT_ASSERT_EQ(KtVadAt(Space, Base + 5 * KT_PAGE)->CommittedPages, 3);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_READWRITE, 2 * KT_PAGE, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    KT_ASSERT_FREE(Base + 2 * KT_PAGE, 3 * KT_PAGE);
    KT_ASSERT_REGION(Base + 5 * KT_PAGE, Base + 5 * KT_PAGE, Base + 5 * KT_PAGE, PAGE_READWRITE,
                     3 * KT_PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ULONG64 Value = 0;
    KT_ASSERT_EQ(KtRead(Base + 3 * KT_PAGE, &Value), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KtRead(Base + KT_PAGE, &Value), STATUS_SUCCESS);
    KT_ASSERT_EQ(Value, 0x101);
    KT_ASSERT_EQ(KtRead(Base + 5 * KT_PAGE, &Value), STATUS_SUCCESS);
    KT_ASSERT_EQ(Value, 0x105);
    /* The hole is free space: committing there needs a reservation. */
    KT_ASSERT_EQ(KtTryAllocate(Space, Base + 2 * KT_PAGE, KT_PAGE, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_CONFLICTING_ADDRESSES);

    /* The front of the upper piece, the end of the lower one. */
    KT_ASSERT_EQ(KtTryFree(Space, Base + 5 * KT_PAGE, KT_PAGE, MEM_RELEASE), STATUS_SUCCESS);
    KT_ASSERT_REGION(Base + 6 * KT_PAGE, Base + 6 * KT_PAGE, Base + 6 * KT_PAGE, PAGE_READWRITE,
                     2 * KT_PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    KT_ASSERT_EQ(KtTryFree(Space, Base + KT_PAGE, KT_PAGE, MEM_RELEASE), STATUS_SUCCESS);
    KT_ASSERT_REGION(Base, Base, Base, PAGE_READWRITE, KT_PAGE, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    KT_ASSERT_FREE(Base + KT_PAGE, 5 * KT_PAGE);
    KT_ASSERT_EQ(KtVadCount(Space), Vads + 1);
    KT_ASSERT_EQ(Space->CommittedPages, Committed - 5);
    KT_ASSERT(MiVerifyAvlTable(&Space->VadRoot));

    /* Each piece is released whole by its own base. */
    KT_ASSERT_EQ(KtTryFree(Space, Base + 6 * KT_PAGE, 0, MEM_RELEASE), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtTryFree(Space, Base, 0, MEM_RELEASE), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtVadCount(Space), Vads - 1);
    KT_ASSERT_EQ(Space->CommittedPages, Committed - 8);

    /* A released middle 2 MiB takes its page table with it. */
    Base = 0x80000000;
    Size = 3 * 0x200000;
    KT_ASSERT_EQ(KtAllocate(Space, &Base, &Size, MEM_RESERVE, PAGE_READWRITE), STATUS_SUCCESS);
    PFN_NUMBER Tables = Space->PageTablePages;
    KT_ASSERT_EQ(KtTryAllocate(Space, Base + 0x200000, 2 * KT_PAGE, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KtWrite(Base + 0x200000, 1), STATUS_SUCCESS);
    KT_ASSERT(Space->PageTablePages > Tables);
    KT_ASSERT_EQ(KtTryFree(Space, Base + 0x200000, 0x200000, MEM_RELEASE), STATUS_SUCCESS);
    KT_ASSERT_EQ(Space->PageTablePages, Tables);
    KT_ASSERT_EQ(KtVadCount(Space), Vads + 1); /* two pieces */
    KT_ASSERT_FREE(Base + 0x200000, 0x200000);
}
