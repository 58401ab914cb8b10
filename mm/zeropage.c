/*
 * zeropage.c - the zero-page thread.
 *
 * Most frames the kernel hands out must be zero-filled: every user page
 * (a demand-zero fault), every page table, paged pool. Zeroing 4 KiB on
 * the spot costs the faulting thread; NT instead keeps a list of frames
 * zeroed in advance (the zeroed list, mm/pfn.c) and refills it with a
 * thread at priority 0, which runs only when no other thread wants the
 * processor. MiRemoveZeroPage takes from the zeroed list first and zeroes
 * a free frame on the spot only when the list is empty; the two counters
 * MmZeroedPagesServed and MmPagesZeroedOnDemand say how often each
 * happened (the shell's mem command shows them).
 *
 *   free list  --MiZeroOneFreePage-->  zeroed list  --MiRemoveZeroPage-->  in use
 *   (contents unknown)                 (all zeros)
 *
 * Locking and IRQL: the thread runs at PASSIVE_LEVEL. Each step
 * (MiZeroOneFreePage, mm/pfn.c) takes the PFN lock, zeroes one frame
 * through the hyperspace window and releases it, so the lock is held for
 * one page at a time and a thread that becomes ready waits at most that
 * long.
 */
#include "mi.h"

/* 50 ms, relative, in 100 ns units. */
#define MI_ZERO_PAGE_IDLE_INTERVAL (-50 * 10000LL)

void MmZeroPageThread(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    LARGE_INTEGER Interval;
    Interval.QuadPart = MI_ZERO_PAGE_IDLE_INTERVAL;
    for (;;) {
        /* Nothing left to zero: sleep rather than spin, so the idle thread
         * can halt the processor. */
        if (!MiZeroOneFreePage())
            KeDelayExecutionThread(KernelMode, FALSE, &Interval);
    }
}
