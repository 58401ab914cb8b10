/*
 * test_translation.c - the four-level walk through the self-map
 * (MmWalkPageTables, mm/pte.c) and its printed form (MmDumpPte), what the
 * shell's pte command shows. Graded by lab 2 (docs/labs/lab2.md).
 */
#include "../../include/ktest.h"
#include "../../mm/mi.h"
#include "../../rtl/rtl.h"

void KiSystemStartup(ULONG_PTR MbiPhysical, ULONG Magic);

/* The kernel image is linked at KERNEL_VMA + its physical address. */
#define TT_IMAGE_DELTA 0xFFFFFFFF80000000ULL

static NTSTATUS TtWalk(const void *Va, PMM_PTE_WALK Walk)
{
    memset(Walk, 0xCC, sizeof(*Walk));
    return MmWalkPageTables(&MmSystemAddressSpace, (ULONG64)(ULONG_PTR)Va, Walk);
}

KTEST(translation, kernel_text_walks_four_levels_to_its_physical_frame)
{
    MM_PTE_WALK Walk;
    KT_ASSERT_EQ(TtWalk((PVOID)KiSystemStartup, &Walk), STATUS_SUCCESS);
    KT_ASSERT_EQ(Walk.Levels, 4);
    ULONG64 Physical = (ULONG64)(ULONG_PTR)KiSystemStartup - TT_IMAGE_DELTA;
    KT_ASSERT_EQ(Walk.Entry[3] & MM_PTE_FRAME_MASK, Physical & ~0xFFFULL);
    for (ULONG Level = 0; Level < 4; Level++)
        KT_ASSERT(Walk.Entry[Level] & MM_PTE_VALID);
    /* .text is read-execute, kernel-only. */
    KT_ASSERT(!(Walk.Entry[3] & MM_PTE_WRITE));
    KT_ASSERT(!(Walk.Entry[3] & MM_PTE_NO_EXECUTE));
    KT_ASSERT(!(Walk.Entry[3] & MM_PTE_OWNER));
}

KTEST(translation, each_entry_is_read_through_the_self_map)
{
    MM_PTE_WALK Walk;
    const void *Va = (const void *)&MmSystemAddressSpace;
    KT_ASSERT_EQ(TtWalk(Va, &Walk), STATUS_SUCCESS);
    KT_ASSERT_EQ(Walk.Levels, 4);
    KT_ASSERT_EQ(Walk.EntryAddress[0], (ULONG64)MiGetPxeAddress(Va));
    KT_ASSERT_EQ(Walk.EntryAddress[1], (ULONG64)MiGetPpeAddress(Va));
    KT_ASSERT_EQ(Walk.EntryAddress[2], (ULONG64)MiGetPdeAddress(Va));
    KT_ASSERT_EQ(Walk.EntryAddress[3], (ULONG64)MiGetPteAddress(Va));
    for (ULONG Level = 0; Level < 4; Level++)
        KT_ASSERT_EQ(Walk.Entry[Level], *(volatile ULONG64 *)Walk.EntryAddress[Level]);
    /* Data is read-write and no-execute. */
    KT_ASSERT(Walk.Entry[3] & MM_PTE_WRITE);
    KT_ASSERT(Walk.Entry[3] & MM_PTE_NO_EXECUTE);
}

KTEST(translation, walk_stops_at_the_first_entry_not_present)
{
    MM_PTE_WALK Walk;
    /* PML4 slot 0x100 (the start of the system half) is never used. */
    const void *Va = (const void *)0xFFFF800000000000ULL;
    KT_ASSERT(!(MiGetPxeAddress(Va)->u.Hard.Valid));
    KT_ASSERT_EQ(TtWalk(Va, &Walk), STATUS_SUCCESS);
    KT_ASSERT_EQ(Walk.Levels, 1);
    KT_ASSERT(!(Walk.Entry[0] & MM_PTE_VALID));
    KT_ASSERT_EQ(Walk.EntryAddress[0], (ULONG64)MiGetPxeAddress(Va));

}

KTEST(translation, the_self_map_walks_to_the_pml4_itself)
{
    MM_PTE_WALK Walk;
    /* The PML4 seen through the self-map: its own entry 0x1ED maps it. */
    const void *Pml4 = (const void *)MiGetPxeAddress((PVOID)0);
    KT_ASSERT_EQ(TtWalk(Pml4, &Walk), STATUS_SUCCESS);
    KT_ASSERT_EQ(Walk.Levels, 4);
    ULONG64 Cr3 = __readcr3() & MM_PTE_FRAME_MASK;
    for (ULONG Level = 0; Level < 4; Level++)
        KT_ASSERT_EQ(Walk.Entry[Level] & MM_PTE_FRAME_MASK, Cr3);
}

KTEST(translation, non_canonical_addresses_are_refused)
{
    MM_PTE_WALK Walk;
    KT_ASSERT_EQ(TtWalk((PVOID)0x0000800000000000ULL, &Walk), STATUS_INVALID_PARAMETER);
}

/* The grader checks the lines this prints (tests/labs.py, l2.dump). */
KTEST(translation, dump_prints_every_level)
{
    MmDumpPte((PVOID)KiSystemStartup);
    MmDumpPte((PVOID)0xFFFF800000000000ULL);
}
