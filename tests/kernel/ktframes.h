/*
 * ktframes.h - for kernel tests that need memory to run out: take every
 * free frame as a driver would (so the frames promised to committed user
 * pages stay promised), and give them all back. Used by test_virtual.c
 * (commit past the limit) and test_pool.c (paged pool with no frame).
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

static inline PFN_NUMBER KtTakeAllFrames(void)
{
    PFN_NUMBER List = MM_EMPTY_LIST, Pfn;
    PULONG64 Window = NULL;
    ULONG Used = KT_LIST_SLOTS;
    KIRQL HyperIrql = PASSIVE_LEVEL;

    /* Not zeroed: MiRemoveAnyPage never needs the hyperspace window. */
    while (NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, FALSE, &Pfn))) {
        if (Used == KT_LIST_SLOTS) {
            if (Window != NULL)
                MiUnmapPageInHyperspace(Window, HyperIrql);
            Window = MiMapPageInHyperspace(Pfn, &HyperIrql);
            Window[0] = List;
            List = Pfn;
            Used = 1;
        } else {
            Window[Used++] = Pfn;
        }
    }
    if (Window != NULL) {
        while (Used < KT_LIST_SLOTS)
            Window[Used++] = MM_EMPTY_LIST;
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
