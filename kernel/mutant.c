/*
 * mutant.c - mutants (KMUTANT), NT's mutual-exclusion dispatcher object,
 * and kernel mutexes (KMUTEX, the same structure).
 *
 * A mutant is signalled when nobody owns it. Waiting for it takes it: the
 * waiter becomes its owner (KiAcquireMutant, called by the wait code when
 * the wait is satisfied). The owner may wait for it again and again
 * without blocking - ownership is recursive - and must release it as many
 * times:
 *
 *   SignalState   1   free                     OwnerThread NULL
 *                 0   owned once               OwnerThread T
 *                -n   owned n+1 times by T
 *
 * Only the owner can release it (anyone else gets STATUS_MUTANT_NOT_OWNED;
 * KeReleaseMutex makes that bugcheck THREAD_NOT_MUTEX_OWNER). The owner
 * keeps its mutants on KTHREAD.MutantListHead; a thread that ends owning
 * one abandons it (KeRundownThread, kernel/apc.c): the mutant becomes free
 * with Abandoned set, and the next thread whose wait takes it gets
 * STATUS_ABANDONED_WAIT_0 + i instead of STATUS_WAIT_0 + i - a warning
 * that whatever the mutant protected may be half-updated.
 *
 * A kernel mutex (KeInitializeMutex) differs in one point: its owner runs
 * in a critical region (normal kernel APCs held) while it owns it.
 *
 * Locking: every field changes under the dispatcher lock. IRQL <=
 * DISPATCH_LEVEL for releases; waits follow kernel/wait.c's rules.
 */
#include "ki.h"

STATIC_ASSERT(sizeof(KMUTANT) / sizeof(LONG) <= 0xFF);

static inline PKTHREAD KiCurrentThread(void)
{
    PKTHREAD Thread;
    __asm__ volatile("mov %%gs:8, %0" : "=r"(Thread));
    return Thread;
}

/* KeInitializeMutant: see kernel/ke.h. Any IRQL <= DISPATCH_LEVEL; an
 * initial owner must be a thread. */
void KeInitializeMutant(PRKMUTANT Mutant, BOOLEAN InitialOwner)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Mutant != NULL);

    Mutant->Header.Type = MutantObject;
    Mutant->Header.Size = KE_DISPATCHER_SIZE(KMUTANT);
    InitializeListHead(&Mutant->Header.WaitListHead);
    Mutant->Abandoned = FALSE;
    Mutant->ApcDisable = 0;
    Mutant->OwnerThread = NULL;
    Mutant->MutantListEntry.Flink = Mutant->MutantListEntry.Blink = NULL;
    if (!InitialOwner) {
        Mutant->Header.SignalState = 1;
        return;
    }
    PKTHREAD Thread = KiCurrentThread();
    ASSERT(Thread != NULL);
    KIRQL OldIrql = KiAcquireDispatcherLock();
    Mutant->Header.SignalState = 0;
    Mutant->OwnerThread = Thread;
    InsertHeadList(&Thread->MutantListHead, &Mutant->MutantListEntry);
    KiReleaseDispatcherLock(OldIrql);
}

/* KeInitializeMutex: see kernel/ke.h. */
void KeInitializeMutex(PRKMUTEX Mutex, ULONG Level)
{
    UNREFERENCED_PARAMETER(Level);
    KeInitializeMutant(Mutex, FALSE);
    Mutex->ApcDisable = 1;
}

/* Deliver what a kernel mutex's critical region held (its release ended
 * the region): at PASSIVE_LEVEL now, else when the IRQL drops. */
static void KiLeaveMutexRegion(PKTHREAD Thread)
{
    Thread->KernelApcDisable++;
    if (Thread->KernelApcDisable == 0 && Thread->SpecialApcDisable == 0 &&
        !IsListEmpty(&Thread->ApcState.ApcListHead[KernelMode])) {
        Thread->ApcState.KernelApcPending = TRUE;
        KiPcr.ApcInterruptRequested = TRUE;
    }
}

/* KeReleaseMutant: see kernel/ke.h. */
NTSTATUS KeReleaseMutant(PRKMUTANT Mutant, KPRIORITY Increment, BOOLEAN Abandon,
                         PLONG PreviousState)
{
    PKTHREAD Thread = KiCurrentThread();
    BOOLEAN LeaveRegion = FALSE;

    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Mutant != NULL && Mutant->Header.Type == MutantObject);

    KIRQL OldIrql = KiAcquireDispatcherLock();
    LONG Previous = Mutant->Header.SignalState;
    if (!Abandon && Mutant->OwnerThread != Thread) {
        KiReleaseDispatcherLock(OldIrql);
        return STATUS_MUTANT_NOT_OWNED;
    }
    if (Abandon) {
        if (Mutant->OwnerThread != NULL) {
            RemoveEntryList(&Mutant->MutantListEntry);
            Mutant->OwnerThread->KernelApcDisable += Mutant->ApcDisable;
        }
        Mutant->Header.SignalState = 1;
        Mutant->Abandoned = TRUE;
        Mutant->OwnerThread = NULL;
    } else if (++Mutant->Header.SignalState == 1) {
        /* The last release: free now. */
        RemoveEntryList(&Mutant->MutantListEntry);
        Mutant->OwnerThread = NULL;
        LeaveRegion = Mutant->ApcDisable != 0;
    }
    if (Mutant->Header.SignalState == 1 && !IsListEmpty(&Mutant->Header.WaitListHead))
        KiWaitTest(&Mutant->Header, Increment);
    if (LeaveRegion)
        KiLeaveMutexRegion(Thread);
    KiReleaseDispatcherLock(OldIrql);
    if (PreviousState != NULL)
        *PreviousState = Previous;
    return STATUS_SUCCESS;
}

/* KeReleaseMutex's rare ends, out of line so that its common path (the
 * last release, nobody waiting, Wait FALSE) calls nothing and saves no
 * registers: a release by a thread that does not own the mutex (a
 * bugcheck, as NT's), and a last release with waiters or with Wait TRUE.
 * Dispatcher lock held; the second releases it (or keeps it, Wait). */
static __attribute__((noinline, noreturn)) void KiMutexNotOwned(PKTHREAD Thread, PRKMUTEX Mutex)
{
    KeBugCheckEx(THREAD_NOT_MUTEX_OWNER, (ULONG_PTR)Thread, (ULONG_PTR)Mutex,
                 (ULONG_PTR)Mutex->OwnerThread, 0);
}

static __attribute__((noinline)) LONG KiEndMutexRelease(PRKMUTEX Mutex, PKTHREAD Thread,
                                                        KIRQL OldIrql, BOOLEAN Wait, LONG Previous)
{
    if (Mutex->Header.SignalState == 1) {
        if (!IsListEmpty(&Mutex->Header.WaitListHead))
            KiWaitTest(&Mutex->Header, MUTANT_INCREMENT);
        if (Mutex->ApcDisable != 0)
            KiLeaveMutexRegion(Thread);
    }
    KiEndSignal(OldIrql, Wait);
    return Previous;
}

/* KeReleaseMutex: see kernel/ke.h. KeReleaseMutant without the abandon
 * case, written out: it is the other half of every mutex acquisition. */
LONG KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait)
{
    PKTHREAD Thread = KiCurrentThread();

    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Mutex != NULL && Mutex->Header.Type == MutantObject);

    KIRQL OldIrql = KiAcquireDispatcherLock();
    LONG Previous = Mutex->Header.SignalState;
    if (__builtin_expect(Mutex->OwnerThread != Thread, 0))
        KiMutexNotOwned(Thread, Mutex);
    if (++Mutex->Header.SignalState != 1) /* a recursive acquisition ends */
        return KiEndMutexRelease(Mutex, Thread, OldIrql, Wait, Previous);
    RemoveEntryList(&Mutex->MutantListEntry);
    Mutex->OwnerThread = NULL;
    if (!IsListEmpty(&Mutex->Header.WaitListHead) || Wait)
        return KiEndMutexRelease(Mutex, Thread, OldIrql, Wait, Previous);
    if (Mutex->ApcDisable != 0)
        KiLeaveMutexRegion(Thread);
    KiReleaseDispatcherLock(OldIrql);
    return Previous;
}

/* The signal state (1 free, <= 0 owned). A snapshot. Any IRQL. */
LONG KeReadStateMutex(PRKMUTEX Mutex)
{
    return *(volatile LONG *)&Mutex->Header.SignalState;
}
