/*
 * semaphore.c - semaphores (KSEMAPHORE): a counter of free units with a
 * limit.
 *
 * SignalState is the count, 0..Limit; the semaphore is signalled while it
 * is above 0. Each satisfied wait takes one unit (kernel/wait.c's
 * KiConsumeObject); KeReleaseSemaphore gives Adjustment units back and so
 * can release up to Adjustment waiters at once (KiWaitTest keeps going
 * while the count is above 0). A release that would carry the count past
 * Limit changes nothing and fails: NT raises STATUS_SEMAPHORE_LIMIT_EXCEEDED.
 *
 *   KeInitializeSemaphore(S, 0, 2)   count 0; waiters A B C block
 *   KeReleaseSemaphore(S, 1, 2, F)   count 2; A and B take one each: 0
 *   KeReleaseSemaphore(S, 1, 3, F)   0 + 3 > 2: limit exceeded, count stays
 *                                    0 and C keeps waiting
 *
 * Unlike a mutant a semaphore has no owner: any thread may release it.
 * Locking: under the dispatcher lock; IRQL <= DISPATCH_LEVEL.
 */
#include "ki.h"

STATIC_ASSERT(sizeof(KSEMAPHORE) / sizeof(LONG) <= 0xFF);

/* KeInitializeSemaphore: see kernel/ke.h. 0 <= Count <= Limit, Limit > 0.
 * Any IRQL; nonpaged storage. */
void KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit)
{
    ASSERT(Semaphore != NULL);
    ASSERT(Limit > 0 && Count >= 0 && Count <= Limit);

    Semaphore->Header.Type = SemaphoreObject;
    Semaphore->Header.Size = KE_DISPATCHER_SIZE(KSEMAPHORE);
    Semaphore->Header.SignalState = Count;
    InitializeListHead(&Semaphore->Header.WaitListHead);
    Semaphore->Limit = Limit;
}

/* KeReleaseSemaphoreChecked: see kernel/ke.h. Adjustment > 0. */
NTSTATUS KeReleaseSemaphoreChecked(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment,
                                   PLONG PreviousCount)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Semaphore != NULL && Semaphore->Header.Type == SemaphoreObject);
    ASSERT(Adjustment > 0);

#if PAGODA_SOLUTION(5)
    KIRQL OldIrql = KiAcquireDispatcherLock();
    LONG Previous = Semaphore->Header.SignalState;
    /* Written as a subtraction so that a large Adjustment cannot overflow. */
    if (Adjustment > Semaphore->Limit - Previous) {
        KiReleaseDispatcherLock(OldIrql);
        return STATUS_SEMAPHORE_LIMIT_EXCEEDED;
    }
    Semaphore->Header.SignalState = Previous + Adjustment;
    /* Only a count coming up from 0 can have waiters to release. */
    if (Previous == 0 && !IsListEmpty(&Semaphore->Header.WaitListHead))
        KiWaitTest(&Semaphore->Header, Increment);
    KiReleaseDispatcherLock(OldIrql);
    if (PreviousCount != NULL)
        *PreviousCount = Previous;
    return STATUS_SUCCESS;
#else
    /* Lab 5: under the dispatcher lock, refuse an Adjustment that would
     * take the count past Semaphore->Limit (STATUS_SEMAPHORE_LIMIT_EXCEEDED,
     * nothing changed, *PreviousCount not written); otherwise add it, wake
     * the waiters the new count can satisfy (KiWaitTest, with Increment),
     * and return the previous count in *PreviousCount when it is not NULL. */
    UNREFERENCED_PARAMETER(Increment);
    UNREFERENCED_PARAMETER(PreviousCount);
    return STATUS_NOT_IMPLEMENTED;
#endif /* PAGODA_SOLUTION(5) */
}

/* KeReleaseSemaphore: see kernel/ke.h. */
LONG KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment,
                        BOOLEAN Wait)
{
    LONG Previous = 0;

    /* Wait = TRUE: at DISPATCH_LEVEL around the release, so that no
     * thread it readies runs on this processor before the caller's next
     * wait, and the dispatcher lock taken again after it (the release
     * takes and drops it itself) and kept for that wait (KiEndSignal). */
    KIRQL OldIrql = PASSIVE_LEVEL;
    if (Wait)
        KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
    if (KeReleaseSemaphoreChecked(Semaphore, Increment, Adjustment, &Previous) != STATUS_SUCCESS)
        KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)STATUS_SEMAPHORE_LIMIT_EXCEEDED,
                     (ULONG_PTR)__builtin_return_address(0), (ULONG_PTR)Semaphore, 0);
    if (Wait) {
        KeAcquireSpinLockAtDpcLevel(&KiDispatcherLock);
        KiEndSignal(OldIrql, TRUE);
    }
    return Previous;
}

/* The count. A snapshot. Any IRQL. */
LONG KeReadStateSemaphore(PRKSEMAPHORE Semaphore)
{
    return *(volatile LONG *)&Semaphore->Header.SignalState;
}
