/*
 * test_sched.c - threads and the scheduler: priorities, preemption, many
 * threads, CR3 switches between processes, and the seed's logger thread.
 */
#include "../../include/ktest.h"
#include "ktdefer.h"
#include "../../kernel/ki.h"
#include "../../ps/ps.h"
#include "../../mm/mi.h"
#include "../../rtl/rtl.h"

/* The IRQL to restore after a hyperspace mapping (one at a time). */
static KIRQL KtHyperIrql;

static LARGE_INTEGER KtMs(LONG Ms)
{
    LARGE_INTEGER T;
    T.QuadPart = -(LONGLONG)Ms * 10000;
    return T;
}

/* Create a system thread, wait for it to end, close its handle. */
static NTSTATUS KtRunThread(PKSTART_ROUTINE Routine, PVOID Context, HANDLE Process)
{
    HANDLE Handle;
    PVOID Thread;
    NTSTATUS Status = PsCreateSystemThread(&Handle, 0, NULL, Process, NULL, Routine, Context);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObReferenceObjectByHandle(Handle, 0, PsThreadType, KernelMode, &Thread, NULL);
    if (NT_SUCCESS(Status)) {
        Status = KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(Thread);
    }
    ZwClose(Handle);
    return Status;
}

/* ---------------------------------------------------------------- priorities */
static volatile ULONG KtOrder[8];
static volatile ULONG KtOrderCount;

static void KtRecordPriority(PVOID Context)
{
    KtOrder[KtOrderCount++] = (ULONG)(ULONG_PTR)Context;
}

KTEST(sched, higher_priority_runs_first)
{
    /* From a thread at priority 20 (so none of them can run yet), make
     * threads of priorities 5, 12, 9 ready, then sleep: they must run in
     * priority order, 12, 9, 5. */
    HANDLE Handles[3];
    PKT_DEFERRED Close[3];
    static const KPRIORITY Priorities[3] = {5, 12, 9};
    PKT_DEFERRED RestorePriority = KtDeferSetPriority(20);
    KtOrderCount = 0;
    for (ULONG i = 0; i < 3; i++) {
        PVOID Thread;
        KT_ASSERT(NT_SUCCESS(PsCreateSystemThread(&Handles[i], 0, NULL, NULL, NULL,
                                                  KtRecordPriority,
                                                  (PVOID)(ULONG_PTR)Priorities[i])));
        Close[i] = KtDeferClose(Handles[i]);
        KT_ASSERT(NT_SUCCESS(ObReferenceObjectByHandle(Handles[i], 0, PsThreadType, KernelMode,
                                                       &Thread, NULL)));
        KeSetPriorityThread(Thread, Priorities[i]);
        ObDereferenceObject(Thread);
    }
    KT_ASSERT_EQ(KtOrderCount, 0);
    KtCleanupNow(RestorePriority);
    LARGE_INTEGER Wait = KtMs(20);
    KeDelayExecutionThread(KernelMode, FALSE, &Wait);
    for (ULONG i = 0; i < 3; i++)
        KtCleanupNow(Close[i]);
    KT_ASSERT_EQ(KtOrderCount, 3);
    KT_ASSERT_EQ(KtOrder[0], 12);
    KT_ASSERT_EQ(KtOrder[1], 9);
    KT_ASSERT_EQ(KtOrder[2], 5);
}

/* ---------------------------------------------------------------- preemption */
static volatile BOOLEAN KtStopSpinning;
static volatile ULONG64 KtSpins;

static void KtSpinner(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    while (!KtStopSpinning)
        KtSpins++;
}

static void KtStopSpinners(PVOID Unused)
{
    UNREFERENCED_PARAMETER(Unused);
    KtStopSpinning = TRUE;
}

KTEST(sched, a_spinning_thread_is_preempted)
{
    /* A thread at our priority spins for ever without waiting. The clock's
     * quantum end must still give the processor back to us. */
    HANDLE Handle;
    KtStopSpinning = FALSE;
    KtSpins = 0;
    ULONG64 QuantumEnds = KeSchedulerCounters.QuantumEnds;
    KT_ASSERT(NT_SUCCESS(PsCreateSystemThread(&Handle, 0, NULL, NULL, NULL, KtSpinner, NULL)));
    PKT_DEFERRED Join = KtDeferJoinThread(Handle);
    KtDefer(KtStopSpinners, NULL);      /* runs first: the join needs it */
    ULONG64 Start = KeQueryTickCount();
    /* Busy too: no waiting here either, only the quantum switches us. */
    while (KeQueryTickCount() - Start < 5 * KI_QUANTUM_TICKS)
        ;
    ULONG64 Seen = KtSpins;
    KtStopSpinning = TRUE;
    KtCleanupNow(Join);                 /* the wait for its end must succeed */
    KT_ASSERT(Seen > 0);
    KT_ASSERT(KeSchedulerCounters.QuantumEnds >= QuantumEnds + 2);
}

/* ---------------------------------------------------------------- 1,000 threads */
static volatile LONG KtThreadsRun;

static void KtCountThread(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    __atomic_fetch_add(&KtThreadsRun, 1, __ATOMIC_SEQ_CST);
}

KTEST(sched, thousand_threads_return_every_stack_and_block)
{
    /* Warm up once (pool pages, page tables of the stack region), then
     * measure: frames, kernel-stack frames and nonpaged pool bytes must
     * come back exactly. */
    KT_ASSERT(NT_SUCCESS(KtRunThread(KtCountThread, NULL, NULL)));
    LARGE_INTEGER Settle = KtMs(5);
    KeDelayExecutionThread(KernelMode, FALSE, &Settle);
    PFN_NUMBER Stacks = MmPagesInUse(MiUsageKernelStack);
    SIZE_T PoolBytes = ExpPoolSmallBytesInUse(ExGetPoolDescriptor(NonPagedPool));
    KtThreadsRun = 0;
    for (ULONG i = 0; i < 1000; i++) {
        NTSTATUS Status = KtRunThread(KtCountThread, NULL, NULL);
        KT_ASSERT_EQ(Status, STATUS_SUCCESS);
    }
    KeDelayExecutionThread(KernelMode, FALSE, &Settle);
    KT_ASSERT_EQ(KtThreadsRun, 1000);
    KT_ASSERT_EQ(MmPagesInUse(MiUsageKernelStack), Stacks);
    KT_ASSERT_EQ(ExpPoolSmallBytesInUse(ExGetPoolDescriptor(NonPagedPool)), PoolBytes);
}

/* ---------------------------------------------------------------- CR3 */
#define KT_PRIVATE_VA ((PVOID)0x7F793950000ULL)
typedef struct _KT_CR3_CONTEXT {
    ULONG Id;
    ULONG Rounds;
    ULONG Mismatches;
    ULONG64 Cr3;
} KT_CR3_CONTEXT;

static void KtCr3Thread(PVOID Context)
{
    KT_CR3_CONTEXT *C = Context;
    C->Cr3 = __readcr3();
    for (ULONG i = 0; i < C->Rounds; i++) {
        ULONG Seen = 0;
        if (!NT_SUCCESS(MmCopyFromUser(&Seen, KT_PRIVATE_VA, sizeof(Seen))) || Seen != C->Id ||
            __readcr3() != C->Cr3)
            C->Mismatches++;
        ZwYieldExecution();
    }
}

KTEST(sched, threads_of_two_processes_switch_cr3)
{
    PEPROCESS Process[2];
    HANDLE ProcessHandle[2], Thread[2];
    static KT_CR3_CONTEXT Context[2];
    for (ULONG p = 0; p < 2; p++) {
        KT_ASSERT(NT_SUCCESS(PsCreateProcess(p ? "cr3-b" : "cr3-a", &Process[p])));
        KtDeferDereference(Process[p]);
        /* Each process gets one page at the same VA holding its own id. The
         * checks wait until we are back in our own address space. */
        PMMADDRESS_SPACE Space = Process[p]->Pcb.AddressSpace;
        PMMADDRESS_SPACE Previous = MmAttachAddressSpace(Space);
        PVOID Base = KT_PRIVATE_VA;
        SIZE_T Size = PAGE_SIZE;
        NTSTATUS Allocated = MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT,
                                                     PAGE_READWRITE);
        ULONG Id = 0xC300 + p;
        NTSTATUS Copied = NT_SUCCESS(Allocated) ? MmCopyToUser(KT_PRIVATE_VA, &Id, sizeof(Id))
                                                : Allocated;
        MmAttachAddressSpace(Previous);
        KT_ASSERT(NT_SUCCESS(Allocated));
        KT_ASSERT(NT_SUCCESS(Copied));
        KT_ASSERT(NT_SUCCESS(ObOpenObjectByPointer(Process[p], 0, 0, PsProcessType, KernelMode,
                                                   &ProcessHandle[p])));
        KtDeferClose(ProcessHandle[p]);
        Context[p] = (KT_CR3_CONTEXT){0xC300 + p, 200, 0, 0};
    }
    /* Both threads run at a priority above ours, so they alternate
     * (yielding to each other) without us in between. */
    ULONG64 Cr3Before = KeSchedulerCounters.Cr3Switches;
    ULONG64 SwitchesBefore = KeSchedulerCounters.ContextSwitches;
    PKT_DEFERRED Join[2] = {NULL, NULL};
    PKT_DEFERRED RestorePriority = KtDeferSetPriority(15);
    for (ULONG p = 0; p < 2; p++) {
        KT_ASSERT(NT_SUCCESS(PsCreateSystemThread(&Thread[p], 0, NULL, ProcessHandle[p], NULL,
                                                  KtCr3Thread, &Context[p])));
        Join[p] = KtDeferJoinThread(Thread[p]);
    }
    KtCleanupNow(RestorePriority);
    for (ULONG p = 0; p < 2; p++)
        KtCleanupNow(Join[p]);          /* the wait for its end must succeed */
    ULONG64 Cr3Writes = KeSchedulerCounters.Cr3Switches - Cr3Before;
    ULONG64 Switches = KeSchedulerCounters.ContextSwitches - SwitchesBefore;
    DbgPrint("ktest: %llu switches, %llu with a CR3 write\n", Switches, Cr3Writes);
    for (ULONG p = 0; p < 2; p++) {
        KT_ASSERT_EQ(Context[p].Mismatches, 0);
        KT_ASSERT_EQ(Context[p].Cr3, Process[p]->Pcb.DirectoryTableBase);
    }
    /* 200 rounds each, alternating: about 400 cross-process switches. */
    KT_ASSERT(Cr3Writes >= 390);
    KT_ASSERT(Cr3Writes <= Switches);
}

KTEST(sched, same_process_switches_do_not_write_cr3)
{
    /* Two System threads yielding to each other: switches without CR3. */
    static KT_CR3_CONTEXT Unused;
    UNREFERENCED_PARAMETER(Unused);
    ULONG64 Cr3Before = KeSchedulerCounters.Cr3Switches;
    ULONG64 SameBefore = KeSchedulerCounters.SameProcessSwitches;
    PKT_DEFERRED RestorePriority = KtDeferSetPriority(15);
    HANDLE Handles[2];
    PKT_DEFERRED Join[2] = {NULL, NULL};
    KtStopSpinning = FALSE;
    for (ULONG i = 0; i < 2; i++) {
        KT_ASSERT(NT_SUCCESS(PsCreateSystemThread(&Handles[i], 0, NULL, NULL, NULL, KtSpinner, NULL)));
        Join[i] = KtDeferJoinThread(Handles[i]);
        KtDefer(KtStopSpinners, NULL);  /* before the join, if the test stops early */
    }
    KtCleanupNow(RestorePriority);
    LARGE_INTEGER Wait = KtMs(30);
    KeDelayExecutionThread(KernelMode, FALSE, &Wait);
    KtStopSpinning = TRUE;
    for (ULONG i = 0; i < 2; i++)
        KtCleanupNow(Join[i]);
    KT_ASSERT(KeSchedulerCounters.SameProcessSwitches > SameBefore + 2);
    KT_ASSERT_EQ(KeSchedulerCounters.Cr3Switches, Cr3Before);
}

/* ---------------------------------------------------------------- the logger */
/* The seed's example: a system thread that writes a log line every tick
 * while other work goes on, stopped cleanly through an event. */
static KEVENT KtLoggerStop;
static volatile ULONG KtLogLines;

static void KtLogger(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    LARGE_INTEGER Tick;
    Tick.QuadPart = -(LONGLONG)KI_TIME_INCREMENT;
    for (;;) {
        /* Wait for the stop event with a one-tick timeout: a timeout is
         * the cue to log. */
        NTSTATUS Status = KeWaitForSingleObject(&KtLoggerStop, Executive, KernelMode, FALSE, &Tick);
        if (Status == STATUS_SUCCESS)
            break;
        KtLogLines++;
        if (KtLogLines <= 5)
            DbgPrint("ktest: logger: tick %llu, line %u\n", KeQueryTickCount(), KtLogLines);
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void KtStopLogger(PVOID Unused)
{
    UNREFERENCED_PARAMETER(Unused);
    KeSetEvent(&KtLoggerStop, 0, FALSE);
}

KTEST(sched, logger_thread_stops_through_an_event)
{
    HANDLE Handle;
    KeInitializeEvent(&KtLoggerStop, NotificationEvent, FALSE);
    KtLogLines = 0;
    KT_ASSERT(NT_SUCCESS(PsCreateSystemThread(&Handle, 0, NULL, NULL, NULL, KtLogger, NULL)));
    PKT_DEFERRED Join = KtDeferJoinThread(Handle);
    KtDefer(KtStopLogger, NULL);        /* runs first: the join needs it */
    /* Other work meanwhile: allocate and free some pool until the logger
     * has written 20 lines. Counted in lines, not ticks: on a loaded host
     * QEMU delivers late clock interrupts together, so 50 ticks may hold
     * far fewer than 50 timeouts. 5,000 ticks is the failure. */
    ULONG64 Start = KeQueryTickCount();
    ULONG Work = 0;
    while (KtLogLines < 20 && KeQueryTickCount() - Start < 5000) {
        PVOID P = ExAllocatePoolWithTag(PagedPool, 128, POOL_TAG('K', 't', 'L', 'g'));
        KT_ASSERT(P != NULL);
        ExFreePoolWithTag(P, POOL_TAG('K', 't', 'L', 'g'));
        Work++;
        ZwYieldExecution();
    }
    KeSetEvent(&KtLoggerStop, 0, FALSE);
    PVOID Thread;
    KT_ASSERT(NT_SUCCESS(ObReferenceObjectByHandle(Handle, 0, PsThreadType, KernelMode, &Thread, NULL)));
    PKT_DEFERRED Dereference = KtDeferDereference(Thread);
    KT_ASSERT_EQ(KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    KT_ASSERT_EQ(((PETHREAD)Thread)->Tcb.State, Terminated);
    KtCleanupNow(Dereference);
    KtCleanupNow(Join);
    ULONG Lines = KtLogLines;
    DbgPrint("ktest: logger wrote %u lines while the test did %u rounds of work\n", Lines, Work);
    KT_ASSERT(Lines >= 20);
    KT_ASSERT(Work > 0);
}

/* ---------------------------------------------------------------- bugchecks */
KTEST_BUGCHECK(sched, paged_pool_touch_at_dispatch_level, IRQL_NOT_LESS_OR_EQUAL)
{
    PUCHAR P = ExAllocatePoolWithTag(PagedPool, 3 * PAGE_SIZE, POOL_TAG('K', 't', 'I', 'q'));
    KIRQL Old;
    KT_ASSERT(P != NULL);
    /* Paged pool gets its frames with the allocation (mm/pool.c); take
     * the middle page's away as the pager will, its PTE back in the
     * demand-zero form, so that the touch below finds it not resident. */
    MMPTE Resident = MiUnmapPage(P + PAGE_SIZE);
    KT_ASSERT(Resident.u.Hard.Valid);
    MiInsertPageInFreeList(Resident.u.Hard.PageFrameNumber);
    KT_ASSERT_EQ(MiMakeSystemDemandZeroPte(P + PAGE_SIZE), STATUS_SUCCESS);
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    P[PAGE_SIZE] = 1; /* not resident: a page fault at DISPATCH_LEVEL */
    KeLowerIrql(Old);
}

KTEST_BUGCHECK(sched, paged_pool_allocation_at_dispatch_level, IRQL_NOT_LESS_OR_EQUAL)
{
    KIRQL Old;
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    (void)ExAllocatePoolWithTag(PagedPool, 64, POOL_TAG('K', 't', 'I', 'q'));
    KeLowerIrql(Old);
}

static volatile ULONG KtRecursionLimit = 0xFFFFFFFF; /* never reached: the stack ends first */

static ULONG KtRecurse(ULONG Depth)
{
    volatile UCHAR Buffer[512];
    Buffer[0] = (UCHAR)Depth;
    if (Depth >= KtRecursionLimit)
        return Buffer[0];
    return KtRecurse(Depth + 1) + Buffer[0];
}

static void KtOverflowThread(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KtRecurse(0);
}

KTEST_BUGCHECK(sched, kernel_stack_overflow_hits_the_guard_page, UNEXPECTED_KERNEL_MODE_TRAP)
{
    (void)KtRunThread(KtOverflowThread, NULL, NULL);
}

/* ---------------------------------------------------------------- zero-page thread */
KTEST(sched, zero_page_thread_prepares_frames)
{
    /* While this thread sleeps, the priority-0 zero-page thread moves free
     * frames to the zeroed list; a zeroed allocation then needs no work. */
    LARGE_INTEGER Wait = KtMs(30);
    KeDelayExecutionThread(KernelMode, FALSE, &Wait);
    KT_ASSERT(MmZeroedPageListHead.Total > 0);
    ULONG64 Served = MmZeroedPagesServed, OnDemand = MmPagesZeroedOnDemand;
    PFN_NUMBER Pfn;
    KT_ASSERT(NT_SUCCESS(MmAllocatePhysicalPage(MiUsageDriver, TRUE, &Pfn)));
    KT_ASSERT_EQ(MmZeroedPagesServed, Served + 1);
    KT_ASSERT_EQ(MmPagesZeroedOnDemand, OnDemand);
    PULONG64 Words = MiMapPageInHyperspace(Pfn, &KtHyperIrql);
    ULONG64 Or = 0;
    for (ULONG i = 0; i < PAGE_SIZE / 8; i++)
        Or |= Words[i];
    MiUnmapPageInHyperspace(Words, KtHyperIrql);
    MmFreePhysicalPage(Pfn);
    KT_ASSERT_EQ(Or, 0);
}

/* ---------------------------------------------------------------- thread states */

/* Only the thread on the processor is Running; the idle thread, which never
 * sits on a ready queue, is Ready whenever another thread runs (pagoda-ps in
 * gdb reads these states). Sleeping makes the processor idle for a while,
 * and the clock interrupt then switches back from the idle thread. */
KTEST(sched, only_the_current_thread_is_running)
{
    PKTHREAD Idle = KiPcr.IdleThread;
    LARGE_INTEGER Delay = KtMs(5);

    KT_ASSERT(NT_SUCCESS(KeDelayExecutionThread(KernelMode, FALSE, &Delay)));
    KT_ASSERT(KeGetCurrentThread()->State == Running);
    KT_ASSERT(Idle != KeGetCurrentThread());
    KT_ASSERT(Idle->State == Ready);
}
