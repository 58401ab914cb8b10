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
 * Pagoda has one processor, so step 2 can never wait for anybody: if the
 * word is already taken, the holder is this very processor - it acquired
 * the lock and then tried again. Spinning would be for ever, so that is a
 * bugcheck (SPIN_LOCK_ALREADY_OWNED) that shows where it happened. The
 * lock word holds the owning thread's address | 1, for the debugger.
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

/* The slow paths of the inline routines in kernel/ke.h. */
void KiSpinLockAlreadyOwned(PKSPIN_LOCK SpinLock, KSPIN_LOCK Holder)
{
    /* On a multiprocessor the acquire would spin ("pause") until the other
     * processor wrote 0 back. With one processor the holder is this
     * processor, which will never get to release it. */
    KeBugCheckEx(SPIN_LOCK_ALREADY_OWNED, (ULONG_PTR)SpinLock, Holder,
                 (ULONG_PTR)KiPcr.CurrentThread, 0);
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
