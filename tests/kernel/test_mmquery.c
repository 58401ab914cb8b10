/*
 * test_mmquery.c - what mm/ exports for NtQuerySystemInformation
 * (ex/sysinfo.c): MmQueryMemoryCounters, MmWalkPageTables and
 * MmEnumerateVads, and the locks they promise to take.
 */
#include "../../include/ktest.h"
#include "../../ps/ps.h"
#include "../../mm/mi.h"

#define KT_USER_VA ((PVOID)0x10000000ULL)

KTEST(mmquery, memory_counters_add_up_and_follow_an_allocation)
{
    MM_MEMORY_COUNTERS Before, After;
    MmQueryMemoryCounters(&Before);

    /* Every frame is either on a free list or in use for one purpose
     * (standby and modified frames keep the usage of their page). */
    PFN_NUMBER InUse = 0;
    for (ULONG Usage = MiUsageFree + 1; Usage < MiUsageMaximum; Usage++)
        InUse += Before.PagesByUsage[Usage];
    KT_ASSERT_EQ(InUse + Before.FreePages + Before.ZeroedPages, Before.TotalPages);
    KT_ASSERT_EQ(Before.AvailablePages,
                 Before.FreePages + Before.ZeroedPages + Before.StandbyPages);
    KT_ASSERT(Before.ZeroedPages <= Before.AvailablePages);
    KT_ASSERT_EQ(Before.TotalPages, MmNumberOfPhysicalPages());

    PFN_NUMBER Pfn;
    KT_ASSERT(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, TRUE, &Pfn)));
    MmQueryMemoryCounters(&After);
    KT_ASSERT_EQ(After.PagesByUsage[MiUsageDriver], Before.PagesByUsage[MiUsageDriver] + 1);
    KT_ASSERT_EQ(After.AvailablePages, Before.AvailablePages - 1);
    KT_ASSERT_EQ(After.ZeroedPagesServed + After.PagesZeroedOnDemand,
                 Before.ZeroedPagesServed + Before.PagesZeroedOnDemand + 1);
    MmFreePhysicalPage(Pfn);
}

KTEST(mmquery, page_table_walk_of_another_address_space)
{
    PMMADDRESS_SPACE Space;
    MM_PTE_WALK Walk;
    KT_ASSERT(NT_SUCCESS(MmCreateProcessAddressSpace(&Space)));

    /* One page committed and touched in Space, from inside it. */
    PMMADDRESS_SPACE Previous = MmAttachAddressSpace(Space);
    PVOID Base = KT_USER_VA;
    SIZE_T Size = PAGE_SIZE;
    KT_ASSERT(NT_SUCCESS(MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT,
                                                 PAGE_READWRITE)));
    ULONG Value = 0x5A5A; /* SMAP: user memory only through the copy routines */
    KT_ASSERT(NT_SUCCESS(MmCopyToUser(Base, &Value, sizeof(Value))));
    KT_ASSERT(MiGetPteAddress(Base)->u.Hard.Valid);
    ULONG64 Expected = MiGetPteAddress(Base)->u.Long;
    MmAttachAddressSpace(Previous);

    /* Walked from here (another address space): four levels, the leaf
     * is the PTE seen from inside, and we are back where we were. */
    KT_ASSERT_EQ(MmWalkPageTables(Space, (ULONG64)Base, &Walk), STATUS_SUCCESS);
    KT_ASSERT(MmCurrentAddressSpace == Previous);
    KT_ASSERT_EQ(Walk.Levels, 4);
    KT_ASSERT_EQ(Walk.Entry[3], Expected);
    KT_ASSERT_EQ(Walk.EntryAddress[3], (ULONG64)MiGetPteAddress(Base));

    /* A user address with no page table: the walk stops at the first
     * entry that is not present. */
    KT_ASSERT_EQ(MmWalkPageTables(Space, 0x00007F0000000000ULL, &Walk), STATUS_SUCCESS);
    KT_ASSERT(Walk.Levels < 4);
    KT_ASSERT(!(Walk.Entry[Walk.Levels - 1] & MM_PTE_VALID));

    /* Not canonical: refused, as the pte command's users would expect. */
    KT_ASSERT_EQ(MmWalkPageTables(Space, 0x0000800000000000ULL, &Walk), STATUS_INVALID_PARAMETER);
    MmDeleteProcessAddressSpace(Space);
}

/* ---------------------------------------------------------------- VADs */
static ULONG KtVadsSeen;
static ULONG_PTR KtFirstVadStart;

static BOOLEAN KtCountVad(const MM_VAD_INFORMATION *Vad, PVOID Context)
{
    if (KtVadsSeen++ == 0)
        KtFirstVadStart = Vad->StartingAddress;
    return KtVadsSeen < (ULONG)(ULONG_PTR)Context;
}

static volatile BOOLEAN KtEnumerated;
static volatile ULONG KtEnumeratedCount;
static KEVENT KtGo;

/* Waits for KtGo, then counts the VADs of the address space Context. */
static void KtEnumerateThread(PVOID Context)
{
    KeWaitForSingleObject(&KtGo, Executive, KernelMode, FALSE, NULL);
    KtEnumeratedCount = MmEnumerateVads(Context, NULL, NULL);
    KtEnumerated = TRUE;
}

KTEST(mmquery, vad_enumeration_reports_in_order_and_waits_for_the_vm_mutex)
{
    PMMADDRESS_SPACE Space;
    KT_ASSERT(NT_SUCCESS(MmCreateProcessAddressSpace(&Space)));
    PMMADDRESS_SPACE Previous = MmAttachAddressSpace(Space);
    PVOID Base = KT_USER_VA;
    SIZE_T Size = 3 * PAGE_SIZE;
    KT_ASSERT(NT_SUCCESS(MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE, PAGE_READWRITE)));
    MmAttachAddressSpace(Previous);

    /* Two VADs: ours (lowest) and the shared user data view. A callback
     * that stops after one still gets the full count. */
    KtVadsSeen = 0;
    KT_ASSERT_EQ(MmEnumerateVads(Space, KtCountVad, (PVOID)100), 2);
    KT_ASSERT_EQ(KtVadsSeen, 2);
    KT_ASSERT_EQ(KtFirstVadStart, (ULONG_PTR)KT_USER_VA);
    KtVadsSeen = 0;
    KT_ASSERT_EQ(MmEnumerateVads(Space, KtCountVad, (PVOID)1), 2);
    KT_ASSERT_EQ(KtVadsSeen, 1);

    /* While another thread holds the VM mutex (mid-change, for all the
     * walker knows), the walk must wait, not read a tree being rebalanced. */
    KtEnumerated = FALSE;
    KeInitializeEvent(&KtGo, NotificationEvent, FALSE);
    HANDLE Handle;
    KT_ASSERT(NT_SUCCESS(PsCreateSystemThread(&Handle, 0, NULL, NULL, NULL, KtEnumerateThread,
                                              Space)));
    MiLockVirtualMemory();
    KeSetEvent(&KtGo, 0, FALSE);
    ULONG64 Start = KeQueryTickCount();
    while (KeQueryTickCount() - Start < 30) /* a few quanta: the walker gets to run */
        ;
    BOOLEAN RanUnderTheMutex = KtEnumerated;
    MiUnlockVirtualMemory();
    PVOID Thread;
    KT_ASSERT(NT_SUCCESS(ObReferenceObjectByHandle(Handle, 0, PsThreadType, KernelMode, &Thread, NULL)));
    KT_ASSERT_EQ(KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    ObDereferenceObject(Thread);
    ZwClose(Handle);
    KT_ASSERT(!RanUnderTheMutex);
    KT_ASSERT(KtEnumerated);
    KT_ASSERT_EQ(KtEnumeratedCount, 2);
    MmDeleteProcessAddressSpace(Space);
}
