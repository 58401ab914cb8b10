/*
 * dpc.c - deferred procedure calls.
 *
 * An interrupt service routine runs at its device's IRQL (the clock at
 * CLOCK_LEVEL) and must be short: it may not touch dispatcher state, wait,
 * or take the dispatcher lock. Whatever it cannot do it hands to a DPC: a
 * KDPC names a routine and its arguments, and KeInsertQueueDpc puts it on
 * the processor's DPC queue. The queue is drained at DISPATCH_LEVEL, the
 * first moment the IRQL drops below DISPATCH_LEVEL - NT's "DPC software
 * interrupt". Pagoda has no real software interrupt: KeLowerIrql
 * (kernel/irql.c) looks at KiPcr.DpcInterruptRequested when it crosses
 * DISPATCH_LEVEL downwards and calls KiRetireDpcList.
 *
 *   KiPcr.DpcListHead  (FIFO, DpcQueueDepth = 3)
 *     |
 *     v
 *   +--------+    +--------+    +-------------------+
 *   | KDPC A | -> | KDPC B | -> | KiTimerExpireDpc  | -> back to the head
 *   +--------+    +--------+    +-------------------+
 *   Inserted=1    Inserted=1    Inserted=1
 *
 *   KeInsertQueueDpc(C)   appends C at the tail (or returns FALSE if C is
 *                         queued already - a DPC is queued at most once)
 *   KiRetireDpcList       pops A, clears A->Inserted, runs A's routine,
 *                         pops B, ... until the queue is empty
 *
 * Because Inserted is cleared before the routine runs, a routine may queue
 * its own DPC again (it will run once more, later in the same drain).
 *
 * Locking: the queue is touched from every IRQL, including interrupt
 * service routines above DISPATCH_LEVEL, so no spin lock or IRQL can guard
 * it. Instead each manipulation runs with interrupts disabled (one
 * processor: that excludes everybody). The routines themselves run with
 * interrupts enabled, at DISPATCH_LEVEL: devices and the clock still
 * interrupt them; threads, and other DPCs, do not.
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
 * Make Dpc ready to be queued: it will call DeferredRoutine(Dpc,
 * DeferredContext, SystemArgument1, SystemArgument2). Any IRQL; the KDPC
 * must stay in non-paged memory for as long as it can be queued.
 */
void KeInitializeDpc(PKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext)
{
    ASSERT(DeferredRoutine != NULL);

    Dpc->Type = 0x13;           /* DpcObject, as NT numbers it */
    Dpc->Importance = 1;        /* MediumImportance: queued at the tail */
    Dpc->Inserted = FALSE;
    Dpc->Reserved = 0;
    Dpc->DpcListEntry.Flink = Dpc->DpcListEntry.Blink = NULL;
    Dpc->DeferredRoutine = DeferredRoutine;
    Dpc->DeferredContext = DeferredContext;
    Dpc->SystemArgument1 = NULL;
    Dpc->SystemArgument2 = NULL;
}

/*
 * Queue Dpc with the two system arguments. Returns TRUE if it was queued,
 * FALSE if it was on the queue already (then nothing changes, not even the
 * arguments). Any IRQL.
 *
 * At or above DISPATCH_LEVEL the DPC runs when the IRQL next drops below
 * DISPATCH_LEVEL. Below DISPATCH_LEVEL it runs before this call returns
 * (the software interrupt would be taken at once) - unless interrupts are
 * disabled, which holds the "interrupt" back until someone next lowers the
 * IRQL below DISPATCH_LEVEL.
 */
BOOLEAN KeInsertQueueDpc(PKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2)
{
    ULONG64 Flags = KiDisableInterrupts();
    KIRQL OldIrql;

    if (Dpc->Inserted) {
        KiRestoreInterrupts(Flags);
        return FALSE;
    }
    Dpc->SystemArgument1 = SystemArgument1;
    Dpc->SystemArgument2 = SystemArgument2;
    Dpc->Inserted = TRUE;
    InsertTailList(&KiPcr.DpcListHead, &Dpc->DpcListEntry);
    KiPcr.DpcQueueDepth++;
    KiPcr.DpcInterruptRequested = TRUE;
    KiRestoreInterrupts(Flags);

    /* Below DISPATCH_LEVEL the request is delivered now: the raise and
     * lower is the software interrupt (KeLowerIrql drains the queue). */
    if ((Flags & EFLAGS_IF) && KeGetCurrentIrql() < DISPATCH_LEVEL) {
        KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
        KeLowerIrql(OldIrql);
    }
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
    BOOLEAN WasQueued = Dpc->Inserted;

    if (WasQueued) {
        RemoveEntryList(&Dpc->DpcListEntry);
        Dpc->Inserted = FALSE;
        ASSERT(KiPcr.DpcQueueDepth > 0);
        KiPcr.DpcQueueDepth--;
    }
    KiRestoreInterrupts(Flags);
    return WasQueued;
#else
    /* Lab 6: with interrupts disabled (the DPC queue is also changed by
     * interrupt service routines), take Dpc off the processor's DPC queue
     * if it is on it, keep KiPcr.DpcQueueDepth right, and say whether it
     * was queued. Until then a queued DPC always runs. */
    UNREFERENCED_PARAMETER(Dpc);
    return FALSE;
#endif /* PAGODA_SOLUTION(6) */
}

/*
 * Run every queued DPC, oldest first, until the queue is empty - including
 * DPCs that the routines, or interrupts taken meanwhile, queue. Called by
 * KeLowerIrql at DISPATCH_LEVEL when DpcInterruptRequested is set, on its
 * way below DISPATCH_LEVEL. Each routine runs at DISPATCH_LEVEL with
 * interrupts enabled and must return at DISPATCH_LEVEL. The caller's
 * interrupt flag is restored on return.
 */
void KiRetireDpcList(void)
{
    ULONG64 CallerFlags = __readeflags();

    ASSERT(KeGetCurrentIrql() == DISPATCH_LEVEL);
    ASSERT(!KiPcr.DpcRoutineActive);

    for (;;) {
        PKDPC Dpc;
        PKDEFERRED_ROUTINE Routine;
        PVOID Context, Argument1, Argument2;

        /* Pop with interrupts off: an ISR may be appending right now. */
        _disable();
        if (IsListEmpty(&KiPcr.DpcListHead)) {
            /* Cleared only here, with the queue seen empty and interrupts
             * off, so a DPC queued by an interrupt is never left behind
             * without a request. */
            KiPcr.DpcInterruptRequested = FALSE;
            break;
        }
        Dpc = CONTAINING_RECORD(RemoveHeadList(&KiPcr.DpcListHead), KDPC, DpcListEntry);
        KiPcr.DpcQueueDepth--;
        /* Copy the arguments before Inserted is cleared: from then on the
         * DPC may be queued again with new ones. */
        Routine = Dpc->DeferredRoutine;
        Context = Dpc->DeferredContext;
        Argument1 = Dpc->SystemArgument1;
        Argument2 = Dpc->SystemArgument2;
        Dpc->Inserted = FALSE;
        KiPcr.DpcRoutineActive = TRUE;
        _enable();

        Routine(Dpc, Context, Argument1, Argument2);

        KeSchedulerCounters.DpcsRun++;
        KiPcr.DpcRoutineActive = FALSE;
        /* A DPC routine that returns at another IRQL has broken the
         * machine's accounting; stop where it happened. */
        ASSERT(KeGetCurrentIrql() == DISPATCH_LEVEL);
    }
    KiRestoreInterrupts(CallerFlags);
}
