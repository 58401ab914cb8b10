/*
 * apc.c - asynchronous procedure calls: a routine run in the context of
 * one particular thread, the next time that thread can take it.
 *
 * A KAPC names a thread, a kernel routine, an optional normal routine and
 * its arguments. KeInsertQueueApc puts it on one of the thread's queues:
 *
 *   KTHREAD
 *     ApcState                      (the environment it runs in now)
 *       ApcListHead[KernelMode] --> special APCs first, then normal ones
 *       ApcListHead[UserMode]   --> user APCs
 *       KernelApcPending / UserApcPending / KernelApcInProgress
 *     SavedApcState                 (its own process's, while attached)
 *     ApcStatePointer[Original], [Attached], ApcStateIndex
 *     KernelApcDisable  (< 0: critical region)  SpecialApcDisable (< 0: guarded)
 *
 * Three kinds, three rules (NT's):
 *   - special kernel APC (no normal routine): its kernel routine runs at
 *     APC_LEVEL as soon as the thread's IRQL drops below APC_LEVEL, unless
 *     the thread is in a guarded region (KeEnterGuardedRegion);
 *   - normal kernel APC: the kernel routine at APC_LEVEL, then the normal
 *     routine at PASSIVE_LEVEL, only outside critical and guarded regions
 *     and never inside another normal kernel APC;
 *   - user APC: only on the way back to user mode, and only when the
 *     thread asked for it: an alertable user-mode wait (which returns
 *     STATUS_USER_APC) or NtTestAlert. The kernel routine runs in the
 *     kernel; the normal routine runs in user mode, entered through the
 *     process's user APC dispatcher (user/lib/apc.c), which calls it and
 *     resumes the interrupted context with NtContinue.
 *
 * Delivery of kernel APCs is the APC_LEVEL software interrupt
 * (kernel/irql.c): KeInsertQueueApc sets KPCR.ApcInterruptRequested for the
 * current thread, the context switch sets it for a thread that has kernel
 * APCs pending, and whoever lowers the IRQL to PASSIVE_LEVEL then runs
 * KiDeliverApc. A thread in a wait entered at PASSIVE_LEVEL is woken with
 * STATUS_KERNEL_APC; the wait code (kernel/wait.c) lets the APC run and
 * waits again for the rest of the timeout. A kernel APC that a thread at
 * PASSIVE_LEVEL queues to itself is delivered before KeInsertQueueApc
 * returns, the interrupt taken directly; a special one with nothing queued
 * ahead of it is run without even being linked (KiRunSpecialApcAtOnce).
 *
 * Locking: the queues, the pending flags and the disable counts of other
 * threads change under the dispatcher lock (DISPATCH_LEVEL); a thread's
 * own disable counts are changed by that thread only.
 */
#include "ki.h"
#include "../mm/mm.h"

static inline PKTHREAD KiCurrentThread(void)
{
    PKTHREAD Thread;
    __asm__ volatile("mov %%gs:8, %0" : "=r"(Thread));
    return Thread;
}

static void KiInitializeApcState(PKAPC_STATE State, PKPROCESS Process)
{
    InitializeListHead(&State->ApcListHead[KernelMode]);
    InitializeListHead(&State->ApcListHead[UserMode]);
    State->Process = Process;
    State->KernelApcInProgress = FALSE;
    State->KernelApcPending = FALSE;
    State->UserApcPending = FALSE;
    State->Reserved = 0;
}

/* A new thread: empty queues in its own process's environment, no
 * region, no alert, APCs accepted. Before it runs; no lock needed. */
void KiInitializeThreadApcs(PKTHREAD Thread)
{
    KiInitializeApcState(&Thread->ApcState, Thread->Process);
    KiInitializeApcState(&Thread->SavedApcState, NULL);
    Thread->ApcStatePointer[OriginalApcEnvironment] = &Thread->ApcState;
    Thread->ApcStatePointer[AttachedApcEnvironment] = &Thread->SavedApcState;
    Thread->ApcStateIndex = OriginalApcEnvironment;
    Thread->ApcQueueable = TRUE;
    Thread->KernelApcDisable = 0;
    Thread->SpecialApcDisable = 0;
    Thread->Alerted[KernelMode] = Thread->Alerted[UserMode] = FALSE;
    Thread->ContextRestored = FALSE;
    Thread->WaitIrql = PASSIVE_LEVEL;
    InitializeListHead(&Thread->MutantListHead);
}

/* KeInitializeApc: see kernel/ke.h. */
void KeInitializeApc(PRKAPC Apc, PKTHREAD Thread, KAPC_ENVIRONMENT Environment,
                     PKKERNEL_ROUTINE KernelRoutine, PKRUNDOWN_ROUTINE RundownRoutine,
                     PKNORMAL_ROUTINE NormalRoutine, KPROCESSOR_MODE ApcMode,
                     PVOID NormalContext)
{
    ASSERT(Apc != NULL && Thread != NULL && KernelRoutine != NULL);
    ASSERT(Environment <= InsertApcEnvironment);
    ASSERT(ApcMode == KernelMode || (ApcMode == UserMode && NormalRoutine != NULL));

    Apc->Type = ApcObject;
    Apc->ApcStateIndex = (UCHAR)(Environment == CurrentApcEnvironment ? Thread->ApcStateIndex
                                                                      : Environment);
    Apc->ApcMode = NormalRoutine != NULL ? ApcMode : KernelMode;
    Apc->Inserted = FALSE;
    Apc->Thread = Thread;
    Apc->ApcListEntry.Flink = Apc->ApcListEntry.Blink = NULL;
    Apc->KernelRoutine = KernelRoutine;
    Apc->RundownRoutine = RundownRoutine;
    Apc->NormalRoutine = NormalRoutine;
    Apc->NormalContext = NormalRoutine != NULL ? NormalContext : NULL;
    Apc->SystemArgument1 = Apc->SystemArgument2 = NULL;
}

/* The kernel APC at the head of Thread's current queue could run now at
 * a wait entered at PASSIVE_LEVEL (special ones sit in front, so the head
 * decides). Dispatcher lock held. */
BOOLEAN KiKernelApcDeliverable(PKTHREAD Thread)
{
    PLIST_ENTRY Head = &Thread->ApcState.ApcListHead[KernelMode];

    if (IsListEmpty(Head) || Thread->SpecialApcDisable != 0)
        return FALSE;
    PKAPC Apc = CONTAINING_RECORD(Head->Flink, KAPC, ApcListEntry);
    return Apc->NormalRoutine == NULL ||
           (Thread->KernelApcDisable == 0 && !Thread->ApcState.KernelApcInProgress);
}

/* Put Apc on its queue: a special kernel APC after the other special ones
 * (before every normal one), anything else at the tail. */
static void KiLinkApc(PKAPC Apc, PKAPC_STATE State)
{
    PLIST_ENTRY Head = &State->ApcListHead[(UCHAR)Apc->ApcMode];
    PLIST_ENTRY Entry = Head->Flink;

    if (Apc->NormalRoutine == NULL) {
        while (Entry != Head &&
               CONTAINING_RECORD(Entry, KAPC, ApcListEntry)->NormalRoutine == NULL)
            Entry = Entry->Flink;
        InsertTailList(Entry, &Apc->ApcListEntry);   /* i.e. just before Entry */
    } else {
        InsertTailList(Head, &Apc->ApcListEntry);
    }
    Apc->Inserted = TRUE;
}

/* An APC was queued to Thread's current environment: request delivery or
 * wake the thread as the rules say. Dispatcher lock held. */
static void KiSignalApc(PKAPC Apc, PKTHREAD Thread, KPRIORITY Increment)
{
    if (Apc->ApcMode == KernelMode) {
        Thread->ApcState.KernelApcPending = TRUE;
        if (Thread == KiCurrentThread())
            KiPcr.ApcInterruptRequested = TRUE;
        else if (Thread->State == Waiting && Thread->WaitIrql == PASSIVE_LEVEL &&
                 KiKernelApcDeliverable(Thread))
            KiUnwaitThread(Thread, STATUS_KERNEL_APC, Increment);
    } else if (Thread->State == Waiting && Thread->WaitMode == UserMode && Thread->Alertable) {
        Thread->ApcState.UserApcPending = TRUE;
        KiUnwaitThread(Thread, STATUS_USER_APC, Increment);
    }
}

/*
 * The common case, a special APC that a thread at PASSIVE_LEVEL queues to
 * itself with no kernel APC queued ahead of it and no guarded region: the
 * APC interrupt would take it the moment the lock drops. Run it so here,
 * without linking and unlinking it: down to APC_LEVEL (pending DPCs run
 * first, as they would), the kernel routine, down to PASSIVE_LEVEL.
 * Returns FALSE, having done nothing, in every other case. Entered with
 * the dispatcher lock held (from PASSIVE_LEVEL); returns TRUE with it
 * released.
 */
static inline BOOLEAN KiRunSpecialApcAtOnce(PKAPC Apc, PKTHREAD Thread)
{
    if (Apc->NormalRoutine != NULL || Thread != KiCurrentThread() ||
        Apc->ApcStateIndex != Thread->ApcStateIndex || Thread->SpecialApcDisable != 0 ||
        !IsListEmpty(&Thread->ApcState.ApcListHead[KernelMode]))
        return FALSE;
    PKNORMAL_ROUTINE Normal = NULL;
    PVOID Context = NULL, Argument1 = Apc->SystemArgument1, Argument2 = Apc->SystemArgument2;
    KiReleaseDispatcherLock(APC_LEVEL);
    Apc->KernelRoutine(Apc, &Normal, &Context, &Argument1, &Argument2);
    KeLowerIrql(PASSIVE_LEVEL);
    return TRUE;
}

/* The first half of a queueing, dispatcher lock held: FALSE when Apc is
 * queued already or its thread takes no more APCs; else its environment
 * and system arguments are set. */
static BOOLEAN KiPrepareApc(PRKAPC Apc, PVOID SystemArgument1, PVOID SystemArgument2)
{
    PKTHREAD Thread = Apc->Thread;
    if (Apc->Inserted || !Thread->ApcQueueable)
        return FALSE;
    if (Apc->ApcStateIndex == InsertApcEnvironment)
        Apc->ApcStateIndex = Thread->ApcStateIndex;
    Apc->SystemArgument1 = SystemArgument1;
    Apc->SystemArgument2 = SystemArgument2;
    return TRUE;
}

/* The second half: on its queue, and the thread told. Dispatcher lock. */
static void KiQueueApc(PRKAPC Apc, KPRIORITY Increment)
{
    PKTHREAD Thread = Apc->Thread;
    KiLinkApc(Apc, Thread->ApcStatePointer[Apc->ApcStateIndex]);
    /* An APC for the other environment waits until the thread attaches
     * or detaches to it (KeUnstackDetachProcess). */
    if (Apc->ApcStateIndex == Thread->ApcStateIndex)
        KiSignalApc(Apc, Thread, Increment);
}

BOOLEAN KiInsertQueueApc(PRKAPC Apc, PVOID SystemArgument1, PVOID SystemArgument2,
                         KPRIORITY Increment)
{
    if (!KiPrepareApc(Apc, SystemArgument1, SystemArgument2))
        return FALSE;
    KiQueueApc(Apc, Increment);
    return TRUE;
}

/* KeInsertQueueApc: see kernel/ke.h. */
BOOLEAN KeInsertQueueApc(PRKAPC Apc, PVOID SystemArgument1, PVOID SystemArgument2,
                         KPRIORITY Increment)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Apc != NULL && Apc->Type == ApcObject);

    KIRQL OldIrql = KiAcquireDispatcherLock();
    if (!KiPrepareApc(Apc, SystemArgument1, SystemArgument2)) {
        KiReleaseDispatcherLock(OldIrql);
        return FALSE;
    }
    if (OldIrql == PASSIVE_LEVEL && KiRunSpecialApcAtOnce(Apc, Apc->Thread))
        return TRUE;
    KiQueueApc(Apc, Increment);
    if (OldIrql == PASSIVE_LEVEL && KiPcr.ApcInterruptRequested) {
        /* A kernel APC for the current thread at PASSIVE_LEVEL runs before
         * this returns: the APC software interrupt, taken directly - down
         * to APC_LEVEL (pending DPCs run first), deliver, down to
         * PASSIVE_LEVEL. */
        KiPcr.ApcInterruptRequested = FALSE;
        KiReleaseDispatcherLock(APC_LEVEL);
        KiDeliverApc();
        KeLowerIrql(OldIrql);
        return TRUE;
    }
    KiReleaseDispatcherLock(OldIrql);
    return TRUE;
}

/* KeRemoveQueueApc: see kernel/ke.h. */
BOOLEAN KeRemoveQueueApc(PRKAPC Apc)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);

    KIRQL OldIrql = KiAcquireDispatcherLock();
    BOOLEAN WasQueued = Apc->Inserted;
    if (WasQueued) {
        RemoveEntryList(&Apc->ApcListEntry);
        Apc->Inserted = FALSE;
    }
    KiReleaseDispatcherLock(OldIrql);
    return WasQueued;
}

/*
 * Take the first deliverable kernel APC off the current thread's queue,
 * copying what its routines need; FALSE when there is none (the queue is
 * empty or every APC in it is held back). Dispatcher lock held.
 */
static BOOLEAN KiDequeueKernelApc(PKTHREAD Thread, PKAPC *Apc, PKKERNEL_ROUTINE *Kernel,
                                  PKNORMAL_ROUTINE *Normal, PVOID Arguments[3])
{
    PKAPC_STATE State = &Thread->ApcState;

    State->KernelApcPending = FALSE;
    if (!KiKernelApcDeliverable(Thread))
        return FALSE;
    *Apc = CONTAINING_RECORD(State->ApcListHead[KernelMode].Flink, KAPC, ApcListEntry);
    RemoveEntryList(&(*Apc)->ApcListEntry);
    (*Apc)->Inserted = FALSE;
    *Kernel = (*Apc)->KernelRoutine;
    *Normal = (*Apc)->NormalRoutine;
    Arguments[0] = (*Apc)->NormalContext;
    Arguments[1] = (*Apc)->SystemArgument1;
    Arguments[2] = (*Apc)->SystemArgument2;
    return TRUE;
}

/*
 * KiDeliverApc - the APC_LEVEL software interrupt (kernel/irql.c): run the
 * current thread's kernel APCs, oldest special ones first, until none is
 * left that may run now. Each kernel routine runs at APC_LEVEL (it may
 * free the KAPC: nothing touches it afterwards); a normal routine runs at
 * PASSIVE_LEVEL with KernelApcInProgress set, so special APCs can still
 * interrupt it but no other normal one. APC_LEVEL on entry and exit.
 */
void KiDeliverApc(void)
{
    PKTHREAD Thread = KiCurrentThread();
    PKKERNEL_ROUTINE Kernel;
    PKNORMAL_ROUTINE Normal;
    PVOID Arguments[3];
    PKAPC Apc;
    KIRQL Ignored;

    ASSERT(KeGetCurrentIrql() == APC_LEVEL);
    if (Thread == NULL || Thread == KiPcr.IdleThread)
        return;
    for (;;) {
        /* Empty: done, without the lock. An APC queued right after this
         * look requests the APC interrupt again (it is for the current
         * thread), which runs as soon as this returns. */
        if (IsListEmpty(&Thread->ApcState.ApcListHead[KernelMode])) {
            Thread->ApcState.KernelApcPending = FALSE;
            return;
        }
        KIRQL OldIrql = KiAcquireDispatcherLock();
        BOOLEAN Found = KiDequeueKernelApc(Thread, &Apc, &Kernel, &Normal, Arguments);
        KiReleaseDispatcherLock(OldIrql);
        if (!Found)
            return;
        Kernel(Apc, &Normal, &Arguments[0], &Arguments[1], &Arguments[2]);
        ASSERT(KeGetCurrentIrql() == APC_LEVEL);
        if (Normal != NULL) {
            Thread->ApcState.KernelApcInProgress = TRUE;
            KeLowerIrql(PASSIVE_LEVEL);
            Normal(Arguments[0], Arguments[1], Arguments[2]);
            KeRaiseIrql(APC_LEVEL, &Ignored);
            Thread->ApcState.KernelApcInProgress = FALSE;
        }
    }
}

/* A region ended: deliver what it held, now if the IRQL allows it, else
 * when the IRQL next drops to PASSIVE_LEVEL. The current thread only. */
static void KiCheckForKernelApcDelivery(PKTHREAD Thread)
{
    if (IsListEmpty(&Thread->ApcState.ApcListHead[KernelMode]))
        return;
    if (KeGetCurrentIrql() == PASSIVE_LEVEL) {
        KIRQL OldIrql;
        KeRaiseIrql(APC_LEVEL, &OldIrql);
        KiDeliverApc();
        KeLowerIrql(OldIrql);
    } else {
        Thread->ApcState.KernelApcPending = TRUE;
        KiPcr.ApcInterruptRequested = TRUE;
    }
}

/* Critical and guarded regions: see kernel/ke.h. */
void KeEnterCriticalRegion(void)
{
    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    KiCurrentThread()->KernelApcDisable--;
}

void KeLeaveCriticalRegion(void)
{
    PKTHREAD Thread = KiCurrentThread();

    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    ASSERT(Thread->KernelApcDisable < 0);
    if (++Thread->KernelApcDisable == 0 && Thread->SpecialApcDisable == 0)
        KiCheckForKernelApcDelivery(Thread);
}

void KeEnterGuardedRegion(void)
{
    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    KiCurrentThread()->SpecialApcDisable--;
}

void KeLeaveGuardedRegion(void)
{
    PKTHREAD Thread = KiCurrentThread();

    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    ASSERT(Thread->SpecialApcDisable < 0);
    if (++Thread->SpecialApcDisable == 0)
        KiCheckForKernelApcDelivery(Thread);
}

BOOLEAN KeAreApcsDisabled(void)
{
    PKTHREAD Thread = KiCurrentThread();
    return Thread->KernelApcDisable != 0 || Thread->SpecialApcDisable != 0;
}

BOOLEAN KeAreAllApcsDisabled(void)
{
    return KiCurrentThread()->SpecialApcDisable != 0 || KeGetCurrentIrql() >= APC_LEVEL;
}

/* KeTestAlertThread: see kernel/ke.h. */
BOOLEAN KeTestAlertThread(KPROCESSOR_MODE AlertMode)
{
    PKTHREAD Thread = KiCurrentThread();

    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    KIRQL OldIrql = KiAcquireDispatcherLock();
    BOOLEAN Alerted = Thread->Alerted[(UCHAR)AlertMode];
    if (Alerted)
        Thread->Alerted[(UCHAR)AlertMode] = FALSE;
    else if (AlertMode == UserMode && !IsListEmpty(&Thread->ApcState.ApcListHead[UserMode]))
        Thread->ApcState.UserApcPending = TRUE;
    KiReleaseDispatcherLock(OldIrql);
    return Alerted;
}

/* KeForceUserApcPending: see kernel/ke.h. */
void KeForceUserApcPending(void)
{
    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    KIRQL OldIrql = KiAcquireDispatcherLock();
    KiCurrentThread()->ApcState.UserApcPending = TRUE;
    KiReleaseDispatcherLock(OldIrql);
}

/* KeAlertThread: see kernel/ke.h. A wait is alertable by AlertMode when
 * it is alertable at all and AlertMode <= its WaitMode (a kernel-mode
 * alert also ends user-mode waits, not the reverse). */
BOOLEAN KeAlertThread(PKTHREAD Thread, KPROCESSOR_MODE AlertMode)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);

    KIRQL OldIrql = KiAcquireDispatcherLock();
    BOOLEAN Previous = Thread->Alerted[(UCHAR)AlertMode];
    if (!Previous) {
        if (Thread->State == Waiting && Thread->Alertable && AlertMode <= Thread->WaitMode)
            KiUnwaitThread(Thread, STATUS_ALERTED, 0);
        else
            Thread->Alerted[(UCHAR)AlertMode] = TRUE;
    }
    KiReleaseDispatcherLock(OldIrql);
    return Previous;
}

/* Move the queues of Source into Destination (list heads cannot be copied
 * by value: the first and last entries point back at them). */
static void KiMoveApcState(PKAPC_STATE Source, PKAPC_STATE Destination)
{
    *Destination = *Source;
    for (ULONG Mode = 0; Mode < 2; Mode++) {
        InitializeListHead(&Destination->ApcListHead[Mode]);
        while (!IsListEmpty(&Source->ApcListHead[Mode]))
            InsertTailList(&Destination->ApcListHead[Mode],
                           RemoveHeadList(&Source->ApcListHead[Mode]));
    }
}

/*
 * KeStackAttachProcess - see kernel/ke.h. The first attach keeps the
 * thread's own state in SavedApcState (and marks ApcState->Process with 1,
 * as NT does, to say so); a nested one keeps the state it replaces in the
 * caller's ApcState.
 */
void KeStackAttachProcess(PRKPROCESS Process, PRKAPC_STATE ApcState)
{
    PKTHREAD Thread = KiCurrentThread();

    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    ASSERT(Process != NULL && ApcState != NULL);
    KIRQL OldIrql = KiAcquireDispatcherLock();
    if (Thread->ApcStateIndex == OriginalApcEnvironment) {
        KiMoveApcState(&Thread->ApcState, &Thread->SavedApcState);
        ApcState->Process = (PKPROCESS)1;
        Thread->ApcStatePointer[OriginalApcEnvironment] = &Thread->SavedApcState;
        Thread->ApcStatePointer[AttachedApcEnvironment] = &Thread->ApcState;
        Thread->ApcStateIndex = AttachedApcEnvironment;
    } else {
        KiMoveApcState(&Thread->ApcState, ApcState);
    }
    KiInitializeApcState(&Thread->ApcState, Process);
    Thread->AddressSpace = Process->AddressSpace;
    (void)MmAttachAddressSpace(Process->AddressSpace);
    KiReleaseDispatcherLock(OldIrql);
}

/* KeUnstackDetachProcess - undo the KeStackAttachProcess that filled
 * ApcState; the APCs queued meanwhile for the environment that comes back
 * are delivered now (kernel) or at the next alertable wait (user). */
void KeUnstackDetachProcess(PRKAPC_STATE ApcState)
{
    PKTHREAD Thread = KiCurrentThread();

    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    ASSERT(Thread->ApcStateIndex == AttachedApcEnvironment);
    KIRQL OldIrql = KiAcquireDispatcherLock();
    /* APCs still queued for the environment being left have nowhere to
     * run; NT bugchecks (INVALID_PROCESS_DETACH_ATTEMPT), so does Pagoda. */
    if (!IsListEmpty(&Thread->ApcState.ApcListHead[KernelMode]) ||
        Thread->ApcState.KernelApcInProgress)
        KeBugCheckEx(INVALID_PROCESS_ATTACH_ATTEMPT, (ULONG_PTR)Thread->ApcState.Process, 0,
                     0, 1);
    if (ApcState->Process == (PKPROCESS)1) {
        KiMoveApcState(&Thread->SavedApcState, &Thread->ApcState);
        KiInitializeApcState(&Thread->SavedApcState, NULL);
        Thread->ApcStatePointer[OriginalApcEnvironment] = &Thread->ApcState;
        Thread->ApcStatePointer[AttachedApcEnvironment] = &Thread->SavedApcState;
        Thread->ApcStateIndex = OriginalApcEnvironment;
    } else {
        KiMoveApcState(ApcState, &Thread->ApcState);
    }
    Thread->AddressSpace = Thread->ApcState.Process->AddressSpace;
    (void)MmAttachAddressSpace(Thread->AddressSpace);
    if (!IsListEmpty(&Thread->ApcState.ApcListHead[KernelMode])) {
        Thread->ApcState.KernelApcPending = TRUE;
        KiPcr.ApcInterruptRequested = TRUE;
    }
    KiReleaseDispatcherLock(OldIrql);
}

/* Unlink every APC of State's queues onto List. Dispatcher lock held. */
static void KiFlushApcState(PKAPC_STATE State, PLIST_ENTRY List)
{
    for (ULONG Mode = 0; Mode < 2; Mode++)
        while (!IsListEmpty(&State->ApcListHead[Mode]))
            InsertTailList(List, RemoveHeadList(&State->ApcListHead[Mode]));
    State->KernelApcPending = State->UserApcPending = FALSE;
}

/* KeRundownThread: see kernel/ke.h. */
void KeRundownThread(void)
{
    PKTHREAD Thread = KiCurrentThread();
    LIST_ENTRY Flushed;

    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    InitializeListHead(&Flushed);
    KIRQL OldIrql = KiAcquireDispatcherLock();
    Thread->ApcQueueable = FALSE;
    while (!IsListEmpty(&Thread->MutantListHead)) {
        PKMUTANT Mutant = CONTAINING_RECORD(Thread->MutantListHead.Flink, KMUTANT,
                                            MutantListEntry);
        RemoveEntryList(&Mutant->MutantListEntry);
        Thread->KernelApcDisable += Mutant->ApcDisable;
        Mutant->OwnerThread = NULL;
        Mutant->Abandoned = TRUE;
        Mutant->Header.SignalState = 1;
        if (!IsListEmpty(&Mutant->Header.WaitListHead))
            KiWaitTest(&Mutant->Header, MUTANT_INCREMENT);
    }
    KiFlushApcState(&Thread->ApcState, &Flushed);
    KiFlushApcState(&Thread->SavedApcState, &Flushed);
    KiReleaseDispatcherLock(OldIrql);

    /* Outside the lock: a rundown routine typically frees the KAPC. */
    while (!IsListEmpty(&Flushed)) {
        PKAPC Apc = CONTAINING_RECORD(RemoveHeadList(&Flushed), KAPC, ApcListEntry);
        Apc->Inserted = FALSE;
        if (Apc->RundownRoutine != NULL)
            Apc->RundownRoutine(Apc);
    }
}
