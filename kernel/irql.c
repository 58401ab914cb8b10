/*
 * irql.c - the interrupt request level, kept in CR8 as on x64 Windows.
 *
 * CR8 is the local APIC's task-priority class (Intel SDM Vol. 3A, 13.8.6):
 * while CR8 = n, interrupts whose vector >> 4 is n or less wait in the APIC.
 * Pagoda places every vector so that vector >> 4 is its IRQL
 * (kernel/interrupt.c), so writing the IRQL to CR8 is all it takes to hold
 * back everything at or below it.
 *
 * DISPATCH_LEVEL and APC_LEVEL have no hardware source: NT raises "software
 * interrupts" for them. Pagoda delivers them here, in KeLowerIrql and on the
 * way out of every hardware interrupt: when the IRQL drops below
 * DISPATCH_LEVEL and a DPC or a reschedule is pending, it runs them first,
 * at DISPATCH_LEVEL with interrupts enabled; when it drops to PASSIVE_LEVEL
 * and the current thread has a kernel APC pending (KPCR
 * ApcInterruptRequested, set by KeInsertQueueApc and by the context switch),
 * it runs the thread's kernel APCs at APC_LEVEL (kernel/apc.c). The three
 * requests sit in one 32-bit word of the KPCR, so KeLowerIrql's fast path
 * tests them with one load.
 *
 *   IRQL 15 HIGH      everything masked (bugcheck)
 *        13 CLOCK     the APIC timer, vector 0xD1
 *      3-12 devices   COM1 0x44, keyboard 0x55
 *         2 DISPATCH  DPCs, the scheduler; no waiting, no paged memory
 *         1 APC       kernel APCs run here; fast mutexes hold it (no APC)
 *         0 PASSIVE   threads
 */
#include "ki.h"

/* The out-of-line halves of the inline routines in ke.h. */
void KiRaiseIrqlFailed(KIRQL Current, KIRQL NewIrql)
{
    KeBugCheckEx(IRQL_NOT_GREATER_OR_EQUAL, Current, NewIrql, 0,
                 (ULONG_PTR)__builtin_return_address(0));
}

void KiLowerIrqlFailed(KIRQL Current, KIRQL NewIrql)
{
    KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, Current, NewIrql, 0,
                 (ULONG_PTR)__builtin_return_address(0));
}

KIRQL KeRaiseIrqlToDpcLevel(void)
{
    KIRQL Old;
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    return Old;
}

/* What a loadable driver calls for KeRaiseIrql and KeLowerIrql
 * (kernel/ke.h, PAGODA_LOADABLE_DRIVER): the inline routines, out of line. */
KIRQL KiExportRaiseIrql(KIRQL NewIrql)
{
    KIRQL Old;
    KeRaiseIrql(NewIrql, &Old);
    return Old;
}

void KiExportLowerIrql(KIRQL NewIrql)
{
    KeLowerIrql(NewIrql);
}

/*
 * Run the pending software interrupts, then settle at TargetIrql (below
 * DISPATCH_LEVEL). Called with interrupts disabled; returns with them
 * disabled. DPCs and reschedules first, at DISPATCH_LEVEL; then, when
 * TargetIrql is PASSIVE_LEVEL, the current thread's kernel APCs at
 * APC_LEVEL - and round again, since an APC routine may queue a DPC or
 * ready a thread. A reschedule may switch threads in the middle: this
 * thread then continues here when it next runs (the switch sets the APC
 * request to what the incoming thread has pending).
 */
void KiDeliverSoftwareInterrupts(KIRQL TargetIrql)
{
    for (;;) {
        if (KiPcr.DpcInterruptRequested || KiPcr.DispatchInterruptRequested) {
            __writecr8(DISPATCH_LEVEL);
            _enable();
            if (KiPcr.DpcInterruptRequested)
                KiRetireDpcList();
            _disable();
            if (KiPcr.DispatchInterruptRequested) {
                KiPcr.DispatchInterruptRequested = FALSE;
                KiDispatchPreempt();
            }
            continue;
        }
        if (TargetIrql == PASSIVE_LEVEL && KiPcr.ApcInterruptRequested) {
            KiPcr.ApcInterruptRequested = FALSE;
            __writecr8(APC_LEVEL);
            _enable();
            KiDeliverApc();
            _disable();
            continue;
        }
        break;
    }
    __writecr8(TargetIrql);
}

/* KeLowerIrql's slow path: a DPC, a reschedule or a kernel APC is waiting. */
void KiLowerIrqlSlow(KIRQL NewIrql)
{
    ULONG64 Flags = __readeflags();
    _disable();
    KiDeliverSoftwareInterrupts(NewIrql);
    __writeeflags(Flags);
}
