/*
 * sched.c - the dispatcher: ready queues, picking the next thread, the
 * context switch and preemption.
 *
 * Thread states (KTHREAD.State):
 *
 *      create            KiReadyThread            picked
 *   Initialized --------> Ready <-------------------------------+
 *                           |  ^                                |
 *                   picked  |  | preempted / quantum end        |
 *                           v  |                                |
 *                         Running ----- waits ----> Waiting ----+
 *                           |          (KiSwapThread)   KiUnwaitThread
 *                           +--- PsTerminateSystemThread ---> Terminated
 *
 * The idle thread is on no queue: KiSwapThread takes it when all queues are
 * empty. It is Running while it runs and Ready the rest of the time.
 *
 * 32 ready queues, one per priority, and ReadySummary with bit n set when
 * queue n is not empty: the next thread is the head of the highest queue.
 * Threads of equal priority take turns by quantum (KI_QUANTUM_TICKS clock
 * ticks); a thread readied at a higher priority than the running one
 * preempts it at once (when the IRQL next drops below DISPATCH_LEVEL).
 *
 * Priority boosts: a thread woken with an Increment (KeSetEvent,
 * KeReleaseSemaphore, KeReleaseMutex, I/O completion) runs at up to
 * BasePriority + Increment (kernel/wait.c, KiUnwaitThread); at each end of
 * its quantum the boost decays by one level until Priority is back at
 * BasePriority (KiDispatchPreempt). Real-time threads (base 16 and up)
 * are never boosted.
 *
 * The switch (KiSwitchTo) writes CR3 only when the next thread's address
 * space differs from the current one, sets TSS.RSP0 to the next thread's
 * stack top, saves and restores the x87/SSE state, sets the APC_LEVEL
 * software-interrupt request to whether the next thread has kernel APCs
 * pending (kernel/apc.c), and swaps stacks.
 *
 * Locking: everything here runs holding the dispatcher lock,
 * KiDispatcherLock (a spin lock, taken at DISPATCH_LEVEL), and the switch
 * itself with interrupts disabled. The lock is handed over by the switch:
 *
 *   thread A (outgoing)                      thread B (incoming)
 *   KiAcquireDispatcherLock: word = A | 1
 *   ... A Waiting / preempted, B chosen ...
 *   KiSwitchTo(A, B): CurrentThread = B
 *     KiSwapContext ───── stacks swapped ──► returns in B's KiSwitchTo (or
 *                                            KiThreadStartup, a new thread)
 *                                            KiFinishSwitch: word still A | 1;
 *                                              count the hand-off, word = 0
 *                                            B goes on at DISPATCH_LEVEL,
 *                                              the lock free
 *
 * So nobody else can take the lock between A's decision and B's first
 * instruction - the ready queues and both threads' states are consistent
 * by then - and B, not A, releases it (NT before Windows 7 did the same).
 */
#include "ki.h"
#include "../mm/mm.h"

KPCR KiPcr = {.Self = &KiPcr, .Prcb = {.Number = 0, .SetMember = 1}};
KSPIN_LOCK KiDispatcherLock;
volatile KE_SCHEDULER_COUNTERS KeSchedulerCounters;
static PKTHREAD KiDeadThread; /* terminated; dereferenced after the switch */
static PKTHREAD KiSelectPreemptingThread(PKTHREAD Current);
void PsInsertDeadThread(PKTHREAD Thread);

PKTHREAD KeGetCurrentThread(void)
{
    PKTHREAD Thread;
    __asm__ volatile("mov %%gs:8, %0" : "=r"(Thread));
    return Thread;
}

void KiInitializeScheduler(PKTHREAD BootThread, PKTHREAD IdleThread)
{
    for (ULONG i = 0; i < MAXIMUM_PRIORITY; i++)
        InitializeListHead(&KiPcr.DispatcherReadyListHead[i]);
    InitializeListHead(&KiPcr.Prcb.DpcListHead);
    KiPcr.CurrentThread = BootThread;
    KiPcr.IdleThread = IdleThread;
    BootThread->State = Running;
    IdleThread->State = Ready; /* runs when nothing else can; never on a ready queue */
    KiTss.Rsp0 = (ULONG64)BootThread->StackBase;
}

void KiInitializeThread(PKTHREAD Thread, PKPROCESS Process, PVOID StackBase, PVOID StackLimit,
                        KPRIORITY Priority, BOOLEAN InitialFrame)
{
    Thread->Header.Type = ThreadObject;
    Thread->Header.SignalState = 0;
    InitializeListHead(&Thread->Header.WaitListHead);
    Thread->StackBase = StackBase;
    Thread->StackLimit = StackLimit;
    Thread->Process = Process;
    Thread->AddressSpace = Process->AddressSpace;
    Thread->State = Initialized;
    Thread->Priority = Thread->BasePriority = Priority;
    Thread->Quantum = KI_QUANTUM_TICKS;
    KeInitializeTimer(&Thread->Timer);
    KiInitializeThreadApcs(Thread);

    /* The FXSAVE image of a fresh thread: default control words
     * (x87 FCW 0x37F, MXCSR 0x1F80: all exceptions masked). */
    for (ULONG i = 0; i < sizeof(Thread->FxSaveArea); i++)
        Thread->FxSaveArea[i] = 0;
    Thread->FxSaveArea[0] = 0x7F;
    Thread->FxSaveArea[1] = 0x03;
    Thread->FxSaveArea[24] = 0x80;
    Thread->FxSaveArea[25] = 0x1F;

    if (!InitialFrame)
        return; /* the boot thread: already running on its stack */

    /* The initial frame KiSwapContext pops: six registers, RFLAGS (IF
     * clear), then the return address KiStartThread (x64/swap.asm), which
     * calls KiThreadStartup from the 16-byte aligned stack top. */
    ULONG64 *Sp = (ULONG64 *)StackBase;
    *--Sp = (ULONG64)KiStartThread;
    *--Sp = 0x2;                           /* RFLAGS: reserved bit 1 only */
    for (ULONG i = 0; i < 6; i++)
        *--Sp = 0;                         /* RBP, RBX, R12-R15 */
    Thread->KernelStack = Sp;
}

/* Highest-priority ready thread with Priority >= Minimum, removed from its
 * queue; NULL if none. */
static PKTHREAD KiSelectReadyThread(KPRIORITY Minimum)
{
    ULONG Summary = KiPcr.ReadySummary;
    if (Summary == 0)
        return NULL;
    KPRIORITY Priority = 31 - __builtin_clz(Summary);
    if (Priority < Minimum)
        return NULL;
    PLIST_ENTRY Entry = RemoveHeadList(&KiPcr.DispatcherReadyListHead[Priority]);
    if (IsListEmpty(&KiPcr.DispatcherReadyListHead[Priority]))
        KiPcr.ReadySummary &= ~(1u << Priority);
    return CONTAINING_RECORD(Entry, KTHREAD, WaitListEntry);
}

static void KiInsertReady(PKTHREAD Thread, BOOLEAN AtHead)
{
    Thread->State = Ready;
    PLIST_ENTRY Head = &KiPcr.DispatcherReadyListHead[Thread->Priority];
    if (AtHead)
        InsertHeadList(Head, &Thread->WaitListEntry);
    else
        InsertTailList(Head, &Thread->WaitListEntry);
    KiPcr.ReadySummary |= 1u << Thread->Priority;
}

void KiReadyThread(PKTHREAD Thread)
{
    ASSERT(KeGetCurrentIrql() >= DISPATCH_LEVEL);
    KiInsertReady(Thread, FALSE);
    PKTHREAD Current = KiPcr.CurrentThread;
    if (Current == KiPcr.IdleThread || Thread->Priority > Current->Priority) {
        KiPcr.DispatchInterruptRequested = TRUE;
        /* Readied on another processor (by a DPC there, under the same
         * lock): the boot processor, the one that runs threads, hears of
         * it by IPI, and reschedules on its way out of it. */
        if (KeGetPcr() != &KiPcr)
            HalRequestIpi(KiPcr.Prcb.ApicId, KI_IPI_VECTOR);
    }
}

/* Called right after a switch, on the incoming thread's stack, interrupts
 * disabled: release the dispatcher lock the outgoing thread held across
 * the swap (the hand-off, counted in the KPRCB), then hand a thread that
 * ended to the reaper - its stack is no longer in use. */
void KiFinishSwitch(void)
{
    PKPRCB Prcb = KeGetCurrentPrcb();
    PKTHREAD Dead = KiDeadThread;
    KiDeadThread = NULL;
    Prcb->DispatcherLockHandoffOwner = KiDispatcherLock;
    Prcb->DispatcherLockHandoffs++;
    KeReleaseSpinLockFromDpcLevel(&KiDispatcherLock);
    if (Dead)
        PsInsertDeadThread(Dead); /* sets the reaper's event: takes the lock */
}

static void KiSwitchTo(PKTHREAD Old, PKTHREAD New)
{
    ASSERT(KeGetCurrentIrql() == DISPATCH_LEVEL);
    ULONG64 Flags = __readeflags();
    _disable();

    New->State = Running;
    New->ContextSwitches++;
    KiPcr.CurrentThread = New;
    KeSchedulerCounters.ContextSwitches++;
    if (Old->State == Terminated)
        KiDeadThread = Old;

    /* CR3 changes only when the next thread lives in (or is attached to)
     * another address space. */
    Old->AddressSpace = MmCurrentAddressSpace;
    if (New->AddressSpace != MmCurrentAddressSpace) {
        __writecr3(New->AddressSpace->DirectoryTableBase);
        MmCurrentAddressSpace = New->AddressSpace;
        /* Who runs on which CR3: user-space shootdowns (kernel/flushtb.c). */
        KiPcr.Prcb.DirectoryTableBase = New->AddressSpace->DirectoryTableBase & ~0xFFFULL;
        KeSchedulerCounters.Cr3Switches++;
    } else {
        KeSchedulerCounters.SameProcessSwitches++;
    }
    KiTss.Rsp0 = (ULONG64)New->StackBase;
    KiPcr.KernelRsp = (ULONG64)New->StackBase;
    /* The APC request belongs to the thread: raise it for New if New has
     * kernel APCs waiting, drop Old's. */
    KiPcr.ApcInterruptRequested = New->ApcState.KernelApcPending;

    __asm__ volatile("fxsave64 %0" : "=m"(*(UCHAR(*)[512])Old->FxSaveArea));
    __asm__ volatile("fxrstor64 %0" : : "m"(*(UCHAR(*)[512])New->FxSaveArea));
    KiSwapContext(&Old->KernelStack, New->KernelStack);

    /* Running again as Old (or, for a new thread, in KiThreadStartup). */
    KiFinishSwitch();
    __writeeflags(Flags);
}

NTSTATUS KiSwapThread(void)
{
    PKTHREAD Current = KiPcr.CurrentThread;
    ASSERT(KeGetCurrentIrql() == DISPATCH_LEVEL);
    ASSERT(Current->State != Running || Current == KiPcr.IdleThread);
    PKTHREAD Next = KiSelectReadyThread(0);
    if (!Next)
        Next = KiPcr.IdleThread;
    if (Next != Current)
        KiSwitchTo(Current, Next); /* the lock comes back released */
    else
        KeReleaseSpinLockFromDpcLevel(&KiDispatcherLock);
    return Current->WaitStatus;
}

/*
 * The DISPATCH_LEVEL software interrupt: the quantum ran out, or a thread
 * of higher priority became ready. Interrupts disabled, IRQL DISPATCH,
 * the dispatcher lock not held: taken here, and released here or, after
 * a switch, by the incoming thread.
 */
void KiDispatchPreempt(void)
{
    PKTHREAD Current = KiPcr.CurrentThread;
    KeAcquireSpinLockAtDpcLevel(&KiDispatcherLock);
    PKTHREAD Next = KiSelectPreemptingThread(Current);
    if (Next)
        KiSwitchTo(Current, Next);
    else
        KeReleaseSpinLockFromDpcLevel(&KiDispatcherLock);
}

/* KiDispatchPreempt's choice: the thread to switch to, Current put back
 * (or marked Ready, the idle thread), or NULL to keep running Current.
 * Dispatcher lock held. */
static PKTHREAD KiSelectPreemptingThread(PKTHREAD Current)
{
    PKTHREAD Next;

    if (KiPcr.QuantumEnd) {
        KiPcr.QuantumEnd = FALSE;
        KeSchedulerCounters.QuantumEnds++;
        Current->Quantum = KI_QUANTUM_TICKS;
        /* A boosted thread decays one level per quantum it uses up. */
        if (Current != KiPcr.IdleThread && Current->Priority > Current->BasePriority &&
            Current->Priority < LOW_REALTIME_PRIORITY)
            Current->Priority--;
        /* Round robin: another thread of the same (or higher) priority. */
        Next = KiSelectReadyThread(Current == KiPcr.IdleThread ? 0 : Current->Priority);
        if (!Next)
            return NULL;
        if (Current != KiPcr.IdleThread)
            KiInsertReady(Current, FALSE);
        else
            Current->State = Ready; /* the idle thread: runnable, on no queue */
    } else {
        Next = KiSelectReadyThread(Current == KiPcr.IdleThread ? 0 : Current->Priority + 1);
        if (!Next)
            return NULL;
        /* Preempted before its quantum ended: it keeps its place. */
        if (Current != KiPcr.IdleThread)
            KiInsertReady(Current, TRUE);
        else
            Current->State = Ready;
    }
    return Next;
}

/* KeSetPriorityThread: see kernel/ke.h. */
KPRIORITY KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority)
{
    ASSERT(Priority >= 0 && Priority < MAXIMUM_PRIORITY);
    KIRQL OldIrql = KiAcquireDispatcherLock();
    KPRIORITY Old = Thread->Priority;
    if (Thread->State == Ready) {
        RemoveEntryList(&Thread->WaitListEntry);
        if (IsListEmpty(&KiPcr.DispatcherReadyListHead[Old]))
            KiPcr.ReadySummary &= ~(1u << Old);
        Thread->Priority = Thread->BasePriority = Priority;
        KiReadyThread(Thread);
    } else {
        Thread->Priority = Thread->BasePriority = Priority;
        /* Lowering the running thread may let a ready one through. */
        if (Thread == KiPcr.CurrentThread && KiPcr.ReadySummary &&
            (LONG)(31 - __builtin_clz(KiPcr.ReadySummary)) > Priority)
            KiPcr.DispatchInterruptRequested = TRUE;
    }
    KiReleaseDispatcherLock(OldIrql);
    return Old;
}

/* KeQueryPriorityThread: see kernel/ke.h. A snapshot; any IRQL. */
KPRIORITY KeQueryPriorityThread(PKTHREAD Thread)
{
    return *(volatile KPRIORITY *)&Thread->Priority;
}

NTSTATUS ZwYieldExecution(void)
{
    KIRQL OldIrql = KiAcquireDispatcherLock();
    PKTHREAD Current = KiPcr.CurrentThread;
    NTSTATUS Status = STATUS_NO_YIELD_PERFORMED;
    PKTHREAD Next = KiSelectReadyThread(Current->Priority);
    if (Next) {
        Current->Quantum = KI_QUANTUM_TICKS;
        KiInsertReady(Current, FALSE);
        KiSwitchTo(Current, Next); /* the lock comes back released */
        KeLowerIrql(OldIrql);
        return STATUS_SUCCESS;
    }
    KiReleaseDispatcherLock(OldIrql);
    return Status;
}

NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                PLARGE_INTEGER Interval)
{
    /* Sleeping is waiting on a timer: a KTIMER on this stack, set to
     * Interval, and an untimed wait for it. An alertable sleep ends early
     * with STATUS_ALERTED or STATUS_USER_APC; a kernel APC only
     * interrupts it (the timer keeps its due time). */
    KTIMER Timer;
    KeInitializeTimer(&Timer);
    KeSetTimer(&Timer, *Interval, NULL);
    NTSTATUS Status = KeWaitForSingleObject(&Timer, DelayExecution, WaitMode, Alertable, NULL);
    KeCancelTimer(&Timer);
    return Status == STATUS_WAIT_0 ? STATUS_SUCCESS : Status;
}
