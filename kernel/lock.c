/*
 * lock.c - spin locks and fast mutexes.
 *
 * Spin locks (KSPIN_LOCK) protect data touched at DISPATCH_LEVEL - by
 * DPCs, and by threads that raise to DISPATCH_LEVEL to touch it. Taking
 * one is two steps:
 *
 *   1. raise the IRQL to DISPATCH_LEVEL: on this processor nothing else
 *      that could want the lock can run now (no thread switch, no DPC);
 *   2. take the lock word with an atomic exchange: this excludes the other
 *      processors, which spin until the holder writes 0 back.
 *
 * Step 2 is test-and-test-and-set: one compare-exchange 0 -> owner when
 * the word reads free (the inline fast path in kernel/ke.h); otherwise
 * KiAcquireSpinLockContended spins reading the word (plain loads, which
 * stay in this processor's cache until the holder's store arrives) with
 * pause, and tries the exchange again when it reads 0. Release is a plain
 * store of 0 with release order: x86 keeps stores in order, so everything
 * written under the lock is visible before the lock is seen free.
 *
 * The lock word holds the owner (kernel/ke.h, KiSpinLockOwner: the
 * current thread's address | 1, or the KPCR's | 1 on a processor that runs
 * no thread), for the debugger and for one check: a spinner that finds
 * ITSELF the holder - it took the lock and then tried again - would spin
 * for ever, so that is a bugcheck (SPIN_LOCK_ALREADY_OWNED) that shows
 * where it happened. Each processor counts its contended acquires in its
 * KPRCB (SpinLockContentionCount, SpinLockSpinCount).
 *
 * In-stack queued spin locks (KeAcquireInStackQueuedSpinLock) are an MCS
 * queue: the lock word points to the last waiter's KSPIN_LOCK_QUEUE, each
 * waiter spins on its own entry (one cache line per waiter, not one for
 * all), and a release hands the lock to the next in arrival order: fair,
 * and no stampede when it is freed.
 *
 *   lock word ──► [C's entry]          (the tail: the last to arrive)
 *   A holds:  A.Next ──► B.Next ──► C.Next = NULL
 *             B, C spin on their own Lock & LOCK_QUEUE_WAIT
 *   A releases: B.Lock &= ~WAIT (B now holds); A's entry is dead
 *   C releases with no successor: compare-exchange lock word C -> 0
 *
 * Code that holds a spin lock runs at DISPATCH_LEVEL: it must not wait,
 * touch pageable memory, or hold the lock long.
 *
 * The routines are inline (kernel/ke.h) for the kernel; a loadable driver
 * calls out-of-line copies (KiExport* below, exported under NT's names by
 * io/ldrexp.c), which Driver Verifier's IRQL checking can replace
 * (kernel/vfirql.c).
 *
 * Fast mutexes (FAST_MUTEX) protect data touched only by threads at IRQL <=
 * APC_LEVEL, for longer: a thread that finds one owned waits (gives up the
 * processor) on the mutex's synchronization event. Acquiring raises the
 * IRQL to APC_LEVEL (no APCs while holding it) and records the owner.
 *
 *   Count  1  free
 *          0  owned, nobody waiting
 *         -n  owned, n threads waiting (or about to) on Event
 *
 * Acquire decrements Count; whoever takes it from 1 to 0 owns the mutex,
 * the others wait on Event. Release increments it; if it does not come
 * back to 1 somebody waits, and KeSetEvent hands the mutex to exactly one
 * of them (a synchronization event releases one waiter and resets). If the
 * release comes between a loser's decrement and its wait, the event stays
 * signalled and the wait returns at once.
 */
#include "ki.h"

/* Spin locks: ------------------------------------------------------------ */

/* Make SpinLock free. Any IRQL. */
void KeInitializeSpinLock(PKSPIN_LOCK SpinLock)
{
    *SpinLock = 0;
}

/* The slow path of KeAcquireSpinLockAtDpcLevel (kernel/ke.h): the word was
 * taken. Spin reading it (test) until it is free, then exchange (and set);
 * lose the race to another spinner and spin again. */
void KiAcquireSpinLockContended(PKSPIN_LOCK SpinLock, KSPIN_LOCK Owner)
{
    PKPRCB Prcb = KeGetCurrentPrcb();
    Prcb->SpinLockContentionCount++;
    for (;;) {
        KSPIN_LOCK Holder;
        while ((Holder = __atomic_load_n(SpinLock, __ATOMIC_RELAXED)) != 0) {
            if (Holder == Owner)
                KiSpinLockAlreadyOwned(SpinLock, Holder);
            Prcb->SpinLockSpinCount++;
            _mm_pause();
        }
        KSPIN_LOCK Expected = 0;
        if (__atomic_compare_exchange_n(SpinLock, &Expected, Owner, FALSE, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return;
    }
}

/* The holder tried again: it would spin for ever. */
void KiSpinLockAlreadyOwned(PKSPIN_LOCK SpinLock, KSPIN_LOCK Holder)
{
    KeBugCheckEx(SPIN_LOCK_ALREADY_OWNED, (ULONG_PTR)SpinLock, Holder,
                 (ULONG_PTR)KeGetCurrentThread(), 0);
}

void KiSpinLockNotOwned(PKSPIN_LOCK SpinLock)
{
    KeBugCheckEx(SPIN_LOCK_NOT_OWNED, (ULONG_PTR)SpinLock, 0, 0, 0);
}

/* What a loadable driver calls for KeAcquireSpinLock and the others
 * (kernel/ke.h, PAGODA_LOADABLE_DRIVER): the inline routines, out of line. */
KIRQL KiExportAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock)
{
    KIRQL OldIrql;
    KeAcquireSpinLock(SpinLock, &OldIrql);
    return OldIrql;
}

void KiExportReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
    KeReleaseSpinLock(SpinLock, NewIrql);
}

void KiExportAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    KeAcquireSpinLockAtDpcLevel(SpinLock);
}

void KiExportReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
    KeReleaseSpinLockFromDpcLevel(SpinLock);
}

BOOLEAN KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    KSPIN_LOCK Expected = 0;
    ASSERT(KeGetCurrentIrql() >= DISPATCH_LEVEL);
    return __atomic_compare_exchange_n(SpinLock, &Expected, KiSpinLockOwner(), FALSE,
                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Queued spin locks: ------------------------------------------------------ */

#define KI_LOCK_QUEUE_BITS ((ULONG_PTR)(LOCK_QUEUE_WAIT | LOCK_QUEUE_OWNER))

void KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
    PKSPIN_LOCK_QUEUE Entry = &LockHandle->LockQueue;
    ASSERT(KeGetCurrentIrql() >= DISPATCH_LEVEL);
    Entry->Next = NULL;
    /* WAIT before the entry is reachable: the predecessor clears it. */
    Entry->Lock = (PKSPIN_LOCK)((ULONG_PTR)SpinLock | LOCK_QUEUE_WAIT);
    PKSPIN_LOCK_QUEUE Previous =
        __atomic_exchange_n((PKSPIN_LOCK_QUEUE *)SpinLock, Entry, __ATOMIC_ACQ_REL);
    if (Previous) {
        KeGetCurrentPrcb()->SpinLockContentionCount++;
        __atomic_store_n(&Previous->Next, Entry, __ATOMIC_RELEASE);
        while ((ULONG_PTR)__atomic_load_n(&Entry->Lock, __ATOMIC_ACQUIRE) & LOCK_QUEUE_WAIT) {
            KeGetCurrentPrcb()->SpinLockSpinCount++;
            _mm_pause();
        }
    }
    Entry->Lock = (PKSPIN_LOCK)((ULONG_PTR)SpinLock | LOCK_QUEUE_OWNER);
}

void KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle)
{
    PKSPIN_LOCK_QUEUE Entry = &LockHandle->LockQueue;
    PKSPIN_LOCK SpinLock = (PKSPIN_LOCK)((ULONG_PTR)Entry->Lock & ~KI_LOCK_QUEUE_BITS);
    if (!((ULONG_PTR)Entry->Lock & LOCK_QUEUE_OWNER) || *(volatile KSPIN_LOCK *)SpinLock == 0)
        KiSpinLockNotOwned(SpinLock);
    Entry->Lock = SpinLock;

    PKSPIN_LOCK_QUEUE Next = __atomic_load_n(&Entry->Next, __ATOMIC_ACQUIRE);
    if (!Next) {
        /* Nobody queued behind: free the lock, unless somebody has just
         * swapped itself in as the tail and is about to link to us. */
        PKSPIN_LOCK_QUEUE Expected = Entry;
        if (__atomic_compare_exchange_n((PKSPIN_LOCK_QUEUE *)SpinLock, &Expected, NULL, FALSE,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            return;
        while (!(Next = __atomic_load_n(&Entry->Next, __ATOMIC_ACQUIRE)))
            _mm_pause();
    }
    /* Hand over: the next waiter's WAIT bit off, with release order. */
    __atomic_store_n(&Next->Lock, SpinLock, __ATOMIC_RELEASE);
}

void KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
    KeRaiseIrql(DISPATCH_LEVEL, &LockHandle->OldIrql);
    KeAcquireInStackQueuedSpinLockAtDpcLevel(SpinLock, LockHandle);
}

void KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle)
{
    KeReleaseInStackQueuedSpinLockFromDpcLevel(LockHandle);
    KeLowerIrql(LockHandle->OldIrql);
}

/* Fast mutexes: ---------------------------------------------------------- */

/* Make FastMutex free. IRQL <= DISPATCH_LEVEL; non-paged memory. */
void ExInitializeFastMutex(PFAST_MUTEX FastMutex)
{
    FastMutex->Count = 1;
    FastMutex->Owner = NULL;
    FastMutex->Contention = 0;
    KeInitializeEvent(&FastMutex->Event, SynchronizationEvent, FALSE);
    FastMutex->OldIrql = PASSIVE_LEVEL;
}

/*
 * Acquire FastMutex for the current thread, waiting while another thread
 * owns it. IRQL <= APC_LEVEL on entry; APC_LEVEL on return (the previous
 * IRQL is kept in the mutex and restored by ExReleaseFastMutex). Not
 * recursive: acquiring a mutex the thread owns already would wait for
 * ever, so it is an ASSERT failure.
 */
void ExAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    PKTHREAD Thread = KeGetCurrentThread();
    KIRQL OldIrql;

    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    ASSERT(Thread != NULL);                 /* losers wait: threads must exist */
    ASSERT(FastMutex->Owner != Thread);     /* not recursive */

    KeRaiseIrql(APC_LEVEL, &OldIrql);
    if (__atomic_sub_fetch(&FastMutex->Count, 1, __ATOMIC_ACQUIRE) != 0) {
        /* Owned: wait until the owner hands it over. The wait takes the
         * mutex's event, which nobody else will see signalled. */
        FastMutex->Contention++;
        NTSTATUS Status = KeWaitForSingleObject(&FastMutex->Event, WrExecutive, KernelMode,
                                                FALSE, NULL);
        ASSERT(Status == STATUS_SUCCESS);
    }
    FastMutex->Owner = Thread;
    FastMutex->OldIrql = OldIrql;
}

/*
 * Release FastMutex, owned by the current thread, handing it to one waiter
 * if there is any, and lower the IRQL to what it was before
 * ExAcquireFastMutex. APC_LEVEL on entry. Releasing a mutex the thread does
 * not own is bugcheck THREAD_NOT_MUTEX_OWNER(current thread, FastMutex,
 * owner).
 */
void ExReleaseFastMutex(PFAST_MUTEX FastMutex)
{
    PKTHREAD Thread = KeGetCurrentThread();
    KIRQL OldIrql;

    /* Count > 0: nobody owns it, whatever Owner says. */
    if (FastMutex->Owner != Thread || FastMutex->Count > 0)
        KeBugCheckEx(THREAD_NOT_MUTEX_OWNER, (ULONG_PTR)Thread, (ULONG_PTR)FastMutex,
                     (ULONG_PTR)FastMutex->Owner, 0);
    ASSERT(KeGetCurrentIrql() == APC_LEVEL);

    OldIrql = FastMutex->OldIrql;
    FastMutex->Owner = NULL;
    if (__atomic_add_fetch(&FastMutex->Count, 1, __ATOMIC_RELEASE) != 1)
        KeSetEvent(&FastMutex->Event, 0, FALSE);
    KeLowerIrql(OldIrql);
}
