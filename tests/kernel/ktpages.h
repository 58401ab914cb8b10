/*
 * ktpages.h - unused frames "beside" what the kernel itself took
 * meanwhile, for the tests that check that a scenario gives every frame
 * back (test_aspace.c, test_probe.c). PASSIVE_LEVEL, the test's own thread.
 *
 * Unused means free or zeroed, not standby: the working-set manager may
 * trim a page of paged pool to the standby list (available) at any moment
 * and a touch brings it back (not available), which moves
 * MmAvailablePages without anything being leaked or given back.
 */
#ifndef PAGODA_KTPAGES_H
#define PAGODA_KTPAGES_H

#include "../../include/ktest.h"
#include "../../mm/mi.h"

/* The pages the pools and the system-space page tables hold. They are
 * the kernel's, not a leak of the test's: creating an address space or
 * touching user pages allocates pool, which may need a fresh page
 * depending on how full its pages were at the start (the pool keeps the
 * page while other blocks live in it), and the first kernel stacks in a
 * new 2 MiB range build a table kept for good (MiSystemPageTablePages). */
static inline PFN_NUMBER KtKernelHeldPages(void)
{
    return MmPagesInUse(MiUsageNonPagedPool) + MmPagesInUse(MiUsagePagedPool) +
        MiSystemPageTablePages;
}

static inline PFN_NUMBER KtUnusedPages(void)
{
    return MmFreePageListHead.Total + MmZeroedPageListHead.Total;
}

/* Unused pages, counting as unused the pages the kernel took since the
 * baseline (Baseline 0: take the baseline now and return it). */
static inline PFN_NUMBER KtAvailablePagesBeside(PFN_NUMBER Baseline)
{
    static PFN_NUMBER HeldAtBaseline;
    if (Baseline == 0) {
        HeldAtBaseline = KtKernelHeldPages();
        return KtUnusedPages();
    }
    return KtUnusedPages() + (KtKernelHeldPages() - HeldAtBaseline);
}

#endif /* PAGODA_KTPAGES_H */
