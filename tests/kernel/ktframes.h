/*
 * ktframes.h - for kernel tests that need memory to run out: take every
 * free frame as a driver would (so the frames promised to committed user
 * pages stay promised), and give them all back. Used by test_virtual.c
 * (commit past the limit) and test_pool.c (paged pool with no frame).
 *
 * A driver stops at the floor of resident available pages (mm/pfn.c), the
 * frames NT leaves to pageable pages. KtTakeAllFrames(TRUE) goes on past
 * it and takes the rest as frames of usage MiUsageUser that no working set
 * holds (nothing can trim them), which is how "RAM is gone" looks to
 * paged pool and to the zeroing code.
 */
#ifndef PAGODA_KTFRAMES_H
#define PAGODA_KTFRAMES_H

#include "../../include/ktest.h"
#include "../../mm/mi.h"

/*
 * The frames taken are remembered in frames of their own: each list frame
 * holds the previous list frame in slot 0 and up to 511 frame numbers
 * after it (MM_EMPTY_LIST ends a short one), so that only one frame in 512
 * is mapped through hyperspace. Returns the last list frame.
 */
#define KT_LIST_SLOTS (PAGE_SIZE / sizeof(ULONG64))

static inline BOOLEAN KtTakeFrame(BOOLEAN PastTheFloor, PFN_NUMBER *Pfn)
{
    if (NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, Pfn)))
        return TRUE;
    if (!PastTheFloor)
        return FALSE;
    *Pfn = MiRemoveAnyPage(MiUsageUser);
    return *Pfn != MM_EMPTY_LIST;
}

static inline PFN_NUMBER KtTakeAllFrames(BOOLEAN PastTheFloor)
{
    PFN_NUMBER List = MM_EMPTY_LIST, Pfn;
    ULONG Used = KT_LIST_SLOTS;
    KIRQL HyperIrql;

    /* The window is mapped only to write: taking a frame may need it (a
     * standby frame's PTE is restored through hyperspace). A new list
     * frame starts filled with MM_EMPTY_LIST. */
    while (KtTakeFrame(PastTheFloor, &Pfn)) {
        PULONG64 Window;
        if (Used == KT_LIST_SLOTS) {
            Window = MiMapPageInHyperspace(Pfn, &HyperIrql);
            Window[0] = List;
            for (ULONG i = 1; i < KT_LIST_SLOTS; i++)
                Window[i] = MM_EMPTY_LIST;
            List = Pfn;
            Used = 1;
        } else {
            Window = MiMapPageInHyperspace(List, &HyperIrql);
            Window[Used++] = Pfn;
        }
        MiUnmapPageInHyperspace(Window, HyperIrql);
    }
    return List;
}

/* Give back every frame KtTakeAllFrames took (List: what it returned). */
static inline void KtGiveBackFrames(PFN_NUMBER List)
{
    while (List != MM_EMPTY_LIST) {
        KIRQL HyperIrql;
        PULONG64 Window = MiMapPageInHyperspace(List, &HyperIrql);
        PFN_NUMBER Previous = Window[0];
        for (ULONG i = 1; i < KT_LIST_SLOTS && Window[i] != MM_EMPTY_LIST; i++)
            MmFreePhysicalPage(Window[i]);
        MiUnmapPageInHyperspace(Window, HyperIrql);
        MmFreePhysicalPage(List);
        List = Previous;
    }
}

#endif /* PAGODA_KTFRAMES_H */
