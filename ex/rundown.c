/*
 * rundown.c - rundown protection (NT's EX_RUNDOWN_REF): many holders at
 * once, and one rundown that waits for them to leave and shuts out later
 * ones. Ps guards each process's handle table and address space with one
 * (EPROCESS.RundownProtect): a service that works on another process
 * acquires it first and fails with STATUS_PROCESS_IS_TERMINATING when it
 * cannot; the reaper waits for the holders before it tears them down.
 *
 * The state is one word, changed only by atomic operations:
 *
 *   Count = holders * 2 | EX_RUNDOWN_ACTIVE
 *
 *   acquire   compare-exchange Count -> Count + 2, unless ACTIVE is set
 *   release   Count -= 2; if that leaves exactly ACTIVE, wake the waiter
 *   rundown   Waiter = an event on its stack; Count |= ACTIVE; wait for the
 *             event unless there were no holders
 *
 * The waiter's event is published before ACTIVE, so a release that sees
 * ACTIVE sees the event too. (NT keeps the wait block's address in the
 * count word itself; a second field is easier to read.) On one processor
 * KeSetEvent returns before the woken waiter runs, so the event on the
 * waiter's stack outlives the call. NOTE: with SMP the releaser must not
 * touch the event after the waiter could have returned; NT's wait block
 * has that rule.
 */
#include "ex.h"

void ExInitializeRundownProtection(PEX_RUNDOWN_REF Ref)
{
    Ref->Count = 0;
    Ref->Waiter = NULL;
}

BOOLEAN ExAcquireRundownProtection(PEX_RUNDOWN_REF Ref)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ULONG_PTR Old = __atomic_load_n(&Ref->Count, __ATOMIC_SEQ_CST);
    for (;;) {
        if (Old & EX_RUNDOWN_ACTIVE)
            return FALSE;
        if (__atomic_compare_exchange_n(&Ref->Count, &Old, Old + 2, FALSE, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return TRUE;
    }
}

void ExReleaseRundownProtection(PEX_RUNDOWN_REF Ref)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ULONG_PTR New = __atomic_sub_fetch(&Ref->Count, 2, __ATOMIC_SEQ_CST);
    ASSERT((LONG_PTR)New >= 0);
    if (New == EX_RUNDOWN_ACTIVE)
        KeSetEvent(Ref->Waiter, 0, FALSE);
}

void ExWaitForRundownProtectionRelease(PEX_RUNDOWN_REF Ref)
{
    ASSERT(KeGetCurrentIrql() < DISPATCH_LEVEL);
    KEVENT Event;
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    Ref->Waiter = &Event;
    ULONG_PTR Old = __atomic_fetch_or(&Ref->Count, EX_RUNDOWN_ACTIVE, __ATOMIC_SEQ_CST);
    ASSERT(!(Old & EX_RUNDOWN_ACTIVE));
    if (Old != 0)
        KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, NULL);
    Ref->Waiter = NULL;
}
