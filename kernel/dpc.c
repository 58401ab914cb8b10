/*
 * dpc.c - deferred procedure calls.
 *
 * An interrupt service routine runs at its device's IRQL (the clock at
 * CLOCK_LEVEL) and must be short: it may not touch dispatcher state, wait,
 * or take the dispatcher lock. Whatever it cannot do it hands to a DPC: a
 * KDPC names a routine and its arguments, and KeInsertQueueDpc puts it on
 * a processor's DPC queue. The queue is drained at DISPATCH_LEVEL, the
 * first moment the IRQL drops below DISPATCH_LEVEL - NT's "DPC software
 * interrupt". Pagoda has no real software interrupt: KeLowerIrql
 * (kernel/irql.c) looks at the KPCR's DpcInterruptRequested when it
 * crosses DISPATCH_LEVEL downwards and calls KiRetireDpcList.
 *
 * Each processor has its own queue, in its KPRCB (docs/smp.md §6):
 *
 *   KiProcessorBlock[n]->DpcListHead  (DpcQueueDepth = 3, under DpcLock)
 *     |
 *     v
 *   +--------+    +--------+    +-------------------+
 *   | KDPC H | -> | KDPC A | -> | KiTimerExpireDpc  | -> back to the head
 *   +--------+    +--------+    +-------------------+
 *   DpcData=n     DpcData=n     DpcData=n           (the KPRCB it is on)
 *
 *   KeInsertQueueDpc(C)   the target queue: processor m if C was given one
 *                         (KeSetTargetProcessorDpc), else this processor's;
 *                         C goes at the head if HighImportance, else at the
 *                         tail (KeSetImportanceDpc); FALSE if C is queued
 *                         already, on any queue - a DPC is queued at most
 *                         once. A queue of another processor: that one is
 *                         sent an IPI (kernel/ipi.c), on whose way out, or
 *                         in whose idle loop (kernel/mp.c), it drains.
 *   KiRetireDpcList       pops H, clears H->DpcData, runs H's routine,
 *                         pops A, ... until this processor's queue is empty
 *
 * Because DpcData is cleared before the routine runs, a routine may queue
 * its own DPC again (it will run once more, later in the same drain, or on
 * the processor it targets).
 *
 * Locking: a queue is touched from every IRQL, including interrupt service
 * routines above DISPATCH_LEVEL, and, since it is per processor but
 * written by all, from other processors. So every manipulation runs with
 * interrupts disabled (nothing on this processor can come in) AND holding
 * the queue's spin lock, KPRCB.DpcLock (no other processor can; with
 * one processor the lock is skipped, KiDpcLocking). A KDPC's
 * DpcData is set by compare-exchange under the lock of the queue it joins
 * (two processors queueing the same DPC on different queues: one wins)
 * and cleared under the same lock; the KPCR's DpcInterruptRequested is set
 * and cleared under it too, so a drain never stops with a DPC behind it.
 * The routines themselves run with interrupts enabled, at DISPATCH_LEVEL,
 * without the lock: devices and the clock still interrupt them; threads,
 * and other DPCs on this processor, do not.
 */
#include "ki.h"

/* IF, the interrupt-enable flag (Intel SDM Vol. 3A, 2.3). */
#define EFLAGS_IF (1ULL << 9)

/* Disable interrupts; returns the previous RFLAGS for KiRestoreInterrupts. */
static inline ULONG64 KiDisableInterrupts(void)
{
    ULONG64 Flags = __readeflags();
    _disable();
    return Flags;
}

static inline void KiRestoreInterrupts(ULONG64 Flags)
{
    __writeeflags(Flags);
}

/*
 * The queue's lock, for the drain. With one processor running kernel
 * code, interrupts off already exclude everybody who could touch a queue,
 * so the lock is skipped: the uniprocessor path costs what it did before
 * there were several queues. KeNumberProcessors changes only while the
 * boot processor starts the others, when no DPC is queued anywhere else.
 */
static inline BOOLEAN KiDpcLocking(void)
{
    return KeNumberProcessors > 1;
}

static inline void KiAcquireDpcLock(PKPRCB Prcb, BOOLEAN Locking)
{
    if (Locking)
        KeAcquireSpinLockAtDpcLevel(&Prcb->DpcLock);
}

static inline void KiReleaseDpcLock(PKPRCB Prcb, BOOLEAN Locking)
{
    if (Locking)
        KeReleaseSpinLockFromDpcLevel(&Prcb->DpcLock);
}

/* The KPCR whose KPRCB Prcb is (the KPRCB is embedded at its end). */
static inline PKPCR KiPcrOfPrcb(PKPRCB Prcb)
{
    return CONTAINING_RECORD(Prcb, KPCR, Prcb);
}

/*
 * Make Dpc ready to be queued: it will call DeferredRoutine(Dpc,
 * DeferredContext, SystemArgument1, SystemArgument2). Any IRQL; the KDPC
 * must stay in non-paged memory for as long as it can be queued.
 */
void KeInitializeDpc(PKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext)
{
    ASSERT(DeferredRoutine != NULL);

    Dpc->Type = 0x13;           /* DpcObject, as NT numbers it */
    Dpc->Importance = MediumImportance; /* queued at the tail */
    Dpc->Number = 0; /* on the processor that queues it */
    Dpc->DpcData = NULL;
    Dpc->DpcListEntry.Flink = Dpc->DpcListEntry.Blink = NULL;
    Dpc->DeferredRoutine = DeferredRoutine;
    Dpc->DeferredContext = DeferredContext;
    Dpc->SystemArgument1 = NULL;
    Dpc->SystemArgument2 = NULL;
}

void KeSetTargetProcessorDpc(PKDPC Dpc, CHAR Number)
{
    ASSERT(Number >= 0 && Number < KE_MAXIMUM_PROCESSORS);
    Dpc->Number = (USHORT)(KE_MAXIMUM_PROCESSORS + Number);
}

void KeSetImportanceDpc(PKDPC Dpc, KDPC_IMPORTANCE Importance)
{
    Dpc->Importance = (UCHAR)Importance;
}

/* The KPRCB whose queue Dpc goes to: its target processor's, or Current
 * for an untargeted DPC (and for a target that never started). */
static inline PKPRCB KiDpcTargetPrcb(PKDPC Dpc, PKPRCB Current)
{
    ULONG Number = Dpc->Number;
    if (Number < KE_MAXIMUM_PROCESSORS)
        return Current;
    PKPRCB Target = KiProcessorBlock[Number - KE_MAXIMUM_PROCESSORS];
    return Target ? Target : Current;
}

/* Link Dpc into Prcb's queue (HighImportance at the head) and raise the
 * request in Prcb's KPCR. Interrupts off; Prcb's lock held, or one
 * processor. */
static inline void KiLinkDpc(PKDPC Dpc, PKPRCB Prcb, PVOID SystemArgument1, PVOID SystemArgument2)
{
    Dpc->SystemArgument1 = SystemArgument1;
    Dpc->SystemArgument2 = SystemArgument2;
    if (Dpc->Importance == HighImportance)
        InsertHeadList(&Prcb->DpcListHead, &Dpc->DpcListEntry);
    else
        InsertTailList(&Prcb->DpcListHead, &Dpc->DpcListEntry);
    Prcb->DpcQueueDepth++;
    KiPcrOfPrcb(Prcb)->DpcInterruptRequested = TRUE;
}

/* Below DISPATCH_LEVEL, with interrupts on (Flags), a DPC queued here is
 * delivered now: the raise and lower is the software interrupt
 * (KeLowerIrql drains the queue). */
static inline void KiRequestLocalDpc(ULONG64 Flags)
{
    KIRQL OldIrql;
    if ((Flags & EFLAGS_IF) && KeGetCurrentIrql() < DISPATCH_LEVEL) {
        KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
        KeLowerIrql(OldIrql);
    }
}

/* KeInsertQueueDpc with several processors, or for a targeted DPC: under
 * the target queue's lock, and an IPI when that queue is another
 * processor's. */
static __attribute__((noinline)) BOOLEAN KiInsertQueueDpcShared(PKDPC Dpc, PVOID SystemArgument1,
                                                                PVOID SystemArgument2)
{
    ULONG64 Flags = KiDisableInterrupts();
    PKPRCB Current = KeGetCurrentPrcb();
    PKPRCB Target = KiDpcTargetPrcb(Dpc, Current);
    PVOID Expected = NULL;

    KeAcquireSpinLockAtDpcLevel(&Target->DpcLock);
    if (!__atomic_compare_exchange_n(&Dpc->DpcData, &Expected, Target, FALSE, __ATOMIC_RELAXED,
                                     __ATOMIC_RELAXED)) {
        KeReleaseSpinLockFromDpcLevel(&Target->DpcLock);
        KiRestoreInterrupts(Flags);
        return FALSE;
    }
    KiLinkDpc(Dpc, Target, SystemArgument1, SystemArgument2);
    KeReleaseSpinLockFromDpcLevel(&Target->DpcLock);

    if (Target != Current) {
        /* The other processor drains on its way out of the IPI (below
         * DISPATCH_LEVEL), when it next lowers the IRQL, or in its idle
         * loop. A bare IPI: its slot holds no request, the interrupt is
         * the message. */
        if (!(KiFrozenProcessors & Target->SetMember))
            HalRequestIpi(Target->ApicId, KI_IPI_VECTOR);
        KiRestoreInterrupts(Flags);
        return TRUE;
    }
    KiRestoreInterrupts(Flags);
    KiRequestLocalDpc(Flags);
    return TRUE;
}

/*
 * Queue Dpc with the two system arguments. Returns TRUE if it was queued,
 * FALSE if it was on a queue already (then nothing changes, not even the
 * arguments). Any IRQL.
 *
 * On this processor's queue, at or above DISPATCH_LEVEL, the DPC runs when
 * the IRQL next drops below DISPATCH_LEVEL. Below DISPATCH_LEVEL it runs
 * before this call returns (the software interrupt would be taken at once)
 * - unless interrupts are disabled, which holds the "interrupt" back until
 * someone next lowers the IRQL below DISPATCH_LEVEL. On another
 * processor's queue it runs there, at DISPATCH_LEVEL, once that processor
 * has taken the IPI this sends (or, being at DISPATCH_LEVEL or above,
 * lowers its IRQL).
 *
 * The common case - one processor, an untargeted DPC - is inline here and
 * costs what it did before there were several queues: the queue is the
 * boot processor's, and interrupts off exclude everybody else.
 */
BOOLEAN KeInsertQueueDpc(PKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2)
{
    if (__builtin_expect(KiDpcLocking() || Dpc->Number != 0, 0))
        return KiInsertQueueDpcShared(Dpc, SystemArgument1, SystemArgument2);

    ULONG64 Flags = KiDisableInterrupts();
    if (Dpc->DpcData != NULL) {
        KiRestoreInterrupts(Flags);
        return FALSE;
    }
    Dpc->DpcData = &KiPcr.Prcb;
    KiLinkDpc(Dpc, &KiPcr.Prcb, SystemArgument1, SystemArgument2);
    KiRestoreInterrupts(Flags);
    KiRequestLocalDpc(Flags);
    return TRUE;
}

/*
 * Take Dpc off the queue before it runs. Returns TRUE if it was queued
 * (its routine will not run for that insertion), FALSE if it was not - it
 * may be running right now, or have run already. Any IRQL.
 */
BOOLEAN KeRemoveQueueDpc(PKDPC Dpc)
{
#if PAGODA_SOLUTION(6)
    ULONG64 Flags = KiDisableInterrupts();
    PKPRCB Queue = Dpc->DpcData;
    BOOLEAN WasQueued = FALSE;

    if (Queue != NULL) {
        KeAcquireSpinLockAtDpcLevel(&Queue->DpcLock);
        /* Drained meanwhile (or drained and queued elsewhere)? Only the
         * queue's own lock makes DpcData a fact. */
        if (Dpc->DpcData == Queue) {
            RemoveEntryList(&Dpc->DpcListEntry);
            Dpc->DpcData = NULL;
            ASSERT(Queue->DpcQueueDepth > 0);
            Queue->DpcQueueDepth--;
            WasQueued = TRUE;
        }
        KeReleaseSpinLockFromDpcLevel(&Queue->DpcLock);
    }
    KiRestoreInterrupts(Flags);
    return WasQueued;
#else
    /* Lab 6: with interrupts disabled (the DPC queue is also changed by
     * interrupt service routines) and holding the queue's DpcLock (other
     * processors queue there too), take Dpc off the queue its DpcData
     * names, if it is on one, keep that KPRCB's DpcQueueDepth right, and
     * say whether it was queued. Until then a queued DPC always runs. */
    UNREFERENCED_PARAMETER(Dpc);
    return FALSE;
#endif /* PAGODA_SOLUTION(6) */
}

/*
 * Run every DPC queued on this processor, in queue order, until the queue
 * is empty - including DPCs that the routines, interrupts taken meanwhile,
 * or other processors queue. Called at DISPATCH_LEVEL when the KPCR's
 * DpcInterruptRequested is set: by KeLowerIrql on its way below
 * DISPATCH_LEVEL, and by an application processor's idle loop. Each
 * routine runs at DISPATCH_LEVEL with interrupts enabled and must return
 * at DISPATCH_LEVEL. The caller's interrupt flag is restored on return.
 */
static inline __attribute__((always_inline)) void KiDrainDpcQueue(PKPCR Pcr, BOOLEAN Locking)
{
    PKPRCB Prcb = &Pcr->Prcb;

    for (;;) {
        PKDPC Dpc;
        PKDEFERRED_ROUTINE Routine;
        PVOID Context, Argument1, Argument2;

        /* Pop with interrupts off (an ISR may be queueing right now) and
         * the lock held (another processor may be). */
        _disable();
        KiAcquireDpcLock(Prcb, Locking);
        if (IsListEmpty(&Prcb->DpcListHead)) {
            /* Cleared only here, with the queue seen empty under its
             * lock, so a DPC queued by an interrupt or another processor
             * is never left behind without a request. */
            Pcr->DpcInterruptRequested = FALSE;
            KiReleaseDpcLock(Prcb, Locking);
            return;
        }
        Dpc = CONTAINING_RECORD(RemoveHeadList(&Prcb->DpcListHead), KDPC, DpcListEntry);
        Prcb->DpcQueueDepth--;
        /* Copy the arguments before DpcData is cleared: from then on the
         * DPC may be queued again with new ones. */
        Routine = Dpc->DeferredRoutine;
        Context = Dpc->DeferredContext;
        Argument1 = Dpc->SystemArgument1;
        Argument2 = Dpc->SystemArgument2;
        Dpc->DpcData = NULL;
        KiReleaseDpcLock(Prcb, Locking);
        Pcr->DpcRoutineActive = TRUE;
        _enable();

        Routine(Dpc, Context, Argument1, Argument2);

        Prcb->DpcCount++;
        __atomic_add_fetch(&KeSchedulerCounters.DpcsRun, 1, __ATOMIC_RELAXED);
        Pcr->DpcRoutineActive = FALSE;
        /* A DPC routine that returns at another IRQL has broken the
         * machine's accounting; stop where it happened. */
        ASSERT(KeGetCurrentIrql() == DISPATCH_LEVEL);
    }
}

void KiRetireDpcList(void)
{
    ULONG64 CallerFlags = __readeflags();

    ASSERT(KeGetCurrentIrql() == DISPATCH_LEVEL);
    ASSERT(!KeGetPcr()->DpcRoutineActive);
    /* One processor: its queue is the boot processor's, and the lock is
     * skipped (the same loop, compiled for that case). */
    if (KiDpcLocking())
        KiDrainDpcQueue(KeGetPcr(), TRUE);
    else
        KiDrainDpcQueue(&KiPcr, FALSE);
    KiRestoreInterrupts(CallerFlags);
}
