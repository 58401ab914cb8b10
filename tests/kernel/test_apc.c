/*
 * test_apc.c - APCs (kernel/apc.c), checked against what the NT
 * documentation says of them:
 *   - a special kernel APC runs as soon as the IRQL drops below APC_LEVEL,
 *     inside a critical region too, but not inside a guarded region;
 *   - a normal kernel APC waits for the end of a critical region
 *     (KeLeaveCriticalRegion delivers what was held), and its normal
 *     routine runs at PASSIVE_LEVEL;
 *   - a fast mutex holds APC_LEVEL: nothing is delivered until release;
 *   - a kernel APC that arrives during a non-alertable wait runs, and the
 *     wait goes on with the remaining timeout;
 *   - a user APC is not delivered to a non-alertable wait; an alertable
 *     user-mode wait returns STATUS_USER_APC;
 *   - KeAlertThread ends an alertable wait with STATUS_ALERTED;
 *   - APCs queued for a thread's own process while it is attached to
 *     another wait until KeUnstackDetachProcess.
 * Every test checks that nonpaged pool and kernel stacks are back at
 * their baseline.
 */
#include "../../include/ktest.h"
#include "../../kernel/ki.h"
#include "../../ob/ob.h"
#include "../../ps/ps.h"
#include "../../mm/mm.h"
#include "ktbaseline.h"


typedef struct _KT_APC_RECORD {
    volatile LONG KernelRuns;
    volatile LONG NormalRuns;
    volatile LONG Rundowns;
    volatile KIRQL KernelIrql;
    volatile KIRQL NormalIrql;
    PKTHREAD volatile KernelThread;
    PVOID volatile Argument;
} KT_APC_RECORD;

static KT_APC_RECORD KtRecord;
static KAPC KtApc, KtApc2;
static KEVENT KtApcEvent;

static void KtKernelRoutine(PKAPC Apc, PKNORMAL_ROUTINE *NormalRoutine, PVOID *NormalContext,
                            PVOID *SystemArgument1, PVOID *SystemArgument2)
{
    UNREFERENCED_PARAMETER(Apc);
    UNREFERENCED_PARAMETER(NormalRoutine);
    UNREFERENCED_PARAMETER(NormalContext);
    UNREFERENCED_PARAMETER(SystemArgument2);
    KtRecord.KernelIrql = KeGetCurrentIrql();
    KtRecord.KernelThread = KeGetCurrentThread();
    KtRecord.Argument = *SystemArgument1;
    KtRecord.KernelRuns++;
}

static void KtNormalRoutine(PVOID NormalContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    UNREFERENCED_PARAMETER(NormalContext);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    KtRecord.NormalIrql = KeGetCurrentIrql();
    KtRecord.NormalRuns++;
}

static void KtRundownRoutine(PKAPC Apc)
{
    UNREFERENCED_PARAMETER(Apc);
    KtRecord.Rundowns++;
}

/* ------------------------------------------------------------------------
 * The current thread
 * ------------------------------------------------------------------------ */

KTEST(apc, special_apc_runs_when_irql_drops_below_apc_level)
{
    KT_BASELINE Before = KtBaseline();
    KIRQL OldIrql;

    KtRecord = (KT_APC_RECORD){0};
    KeInitializeApc(&KtApc, KeGetCurrentThread(), OriginalApcEnvironment, KtKernelRoutine,
                    NULL, NULL, KernelMode, NULL);
    KeRaiseIrql(APC_LEVEL, &OldIrql);
    KT_ASSERT(KeInsertQueueApc(&KtApc, (PVOID)0x1234, NULL, 0));
    KT_ASSERT(!KeInsertQueueApc(&KtApc, NULL, NULL, 0));        /* queued already */
    BOOLEAN RanAtApcLevel = KtRecord.KernelRuns != 0;
    KeLowerIrql(OldIrql);
    KT_ASSERT(!RanAtApcLevel);
    KT_ASSERT_EQ(KtRecord.KernelRuns, 1);
    KT_ASSERT_EQ(KtRecord.KernelIrql, APC_LEVEL);
    KT_ASSERT_EQ(KtRecord.KernelThread, KeGetCurrentThread());
    KT_ASSERT_EQ(KtRecord.Argument, (PVOID)0x1234);
    KT_ASSERT(!KtApc.Inserted);

    /* At PASSIVE_LEVEL it runs before KeInsertQueueApc returns. */
    KT_ASSERT(KeInsertQueueApc(&KtApc, NULL, NULL, 0));
    KT_ASSERT_EQ(KtRecord.KernelRuns, 2);
    KT_ASSERT_BASELINE(Before);
}

KTEST(apc, critical_region_holds_normal_apcs_not_special_ones)
{
    KT_BASELINE Before = KtBaseline();

    KtRecord = (KT_APC_RECORD){0};
    KeInitializeApc(&KtApc, KeGetCurrentThread(), OriginalApcEnvironment, KtKernelRoutine,
                    NULL, KtNormalRoutine, KernelMode, NULL);
    KeInitializeApc(&KtApc2, KeGetCurrentThread(), OriginalApcEnvironment, KtKernelRoutine,
                    NULL, NULL, KernelMode, NULL);
    KeEnterCriticalRegion();
    KT_ASSERT(KeAreApcsDisabled());
    KT_ASSERT(KeInsertQueueApc(&KtApc, NULL, NULL, 0));
    LONG KernelHeld = KtRecord.KernelRuns, NormalHeld = KtRecord.NormalRuns;
    /* A special APC is not held by a critical region. */
    KT_ASSERT(KeInsertQueueApc(&KtApc2, NULL, NULL, 0));
    LONG SpecialRan = KtRecord.KernelRuns;
    KeLeaveCriticalRegion();
    KT_ASSERT_EQ(KernelHeld, 0);
    KT_ASSERT_EQ(NormalHeld, 0);
    KT_ASSERT_EQ(SpecialRan, 1);
    /* KeLeaveCriticalRegion delivered what was held. */
    KT_ASSERT_EQ(KtRecord.KernelRuns, 2);
    KT_ASSERT_EQ(KtRecord.NormalRuns, 1);
    KT_ASSERT_EQ(KtRecord.NormalIrql, PASSIVE_LEVEL);
    KT_ASSERT(!KeAreApcsDisabled());
    KT_ASSERT_BASELINE(Before);
}

KTEST(apc, guarded_region_holds_special_apcs)
{
    KT_BASELINE Before = KtBaseline();
    KtRecord = (KT_APC_RECORD){0};
    KeInitializeApc(&KtApc, KeGetCurrentThread(), OriginalApcEnvironment, KtKernelRoutine,
                    NULL, NULL, KernelMode, NULL);
    KeEnterGuardedRegion();
    KT_ASSERT(KeAreAllApcsDisabled());
    KT_ASSERT(KeInsertQueueApc(&KtApc, NULL, NULL, 0));
    LONG Held = KtRecord.KernelRuns;
    KeLeaveGuardedRegion();
    KT_ASSERT_EQ(Held, 0);
    KT_ASSERT_EQ(KtRecord.KernelRuns, 1);
    KT_ASSERT(!KeAreAllApcsDisabled());
    KT_ASSERT_BASELINE(Before);
}

KTEST(apc, fast_mutex_holds_apc_level_until_release)
{
    KT_BASELINE Before = KtBaseline();
    static FAST_MUTEX Mutex;

    KtRecord = (KT_APC_RECORD){0};
    ExInitializeFastMutex(&Mutex);
    KeInitializeApc(&KtApc, KeGetCurrentThread(), OriginalApcEnvironment, KtKernelRoutine,
                    NULL, NULL, KernelMode, NULL);
    ExAcquireFastMutex(&Mutex);
    KIRQL Irql = KeGetCurrentIrql();
    KT_ASSERT(KeInsertQueueApc(&KtApc, NULL, NULL, 0));
    LONG Held = KtRecord.KernelRuns;
    ExReleaseFastMutex(&Mutex);
    KT_ASSERT_EQ(Irql, APC_LEVEL);
    KT_ASSERT_EQ(Held, 0);
    KT_ASSERT_EQ(KtRecord.KernelRuns, 1);
    KT_ASSERT_BASELINE(Before);
}

KTEST(apc, remove_queue_apc_takes_it_back)
{
    KT_BASELINE Before = KtBaseline();
    KIRQL OldIrql;

    KtRecord = (KT_APC_RECORD){0};
    KeInitializeApc(&KtApc, KeGetCurrentThread(), OriginalApcEnvironment, KtKernelRoutine,
                    NULL, NULL, KernelMode, NULL);
    KeRaiseIrql(APC_LEVEL, &OldIrql);
    (void)KeInsertQueueApc(&KtApc, NULL, NULL, 0);
    BOOLEAN Removed = KeRemoveQueueApc(&KtApc);
    KeLowerIrql(OldIrql);
    KT_ASSERT(Removed);
    KT_ASSERT(!KeRemoveQueueApc(&KtApc));
    KT_ASSERT_EQ(KtRecord.KernelRuns, 0);
    KT_ASSERT_BASELINE(Before);
}

/* ------------------------------------------------------------------------
 * Another thread, in a wait
 * ------------------------------------------------------------------------ */

typedef struct _KT_APC_WAITER {
    KPROCESSOR_MODE WaitMode;
    BOOLEAN Alertable;
    LONG TimeoutMs;                 /* 0: none */
    volatile NTSTATUS Status;
    volatile NTSTATUS Status2;      /* a second, alertable user-mode poll */
    volatile ULONG64 StartTick, EndTick;
    volatile LONG Done;
    HANDLE Handle;
    PETHREAD Thread;
} KT_APC_WAITER;

static KT_APC_WAITER KtWaiter;

static void KtApcWaiterRoutine(PVOID Context)
{
    KT_APC_WAITER *W = Context;
    LARGE_INTEGER Timeout = {.QuadPart = KT_MS(W->TimeoutMs)};
    LARGE_INTEGER Poll = {.QuadPart = 0};

    W->StartTick = KeQueryTickCount();
    W->Status = KeWaitForSingleObject(&KtApcEvent, Executive, W->WaitMode, W->Alertable,
                                      W->TimeoutMs ? &Timeout : NULL);
    W->EndTick = KeQueryTickCount();
    if (W->WaitMode == UserMode && !W->Alertable)
        W->Status2 = KeWaitForSingleObject(&KtApcEvent, Executive, UserMode, TRUE, &Poll);
    W->Done = 1;
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS KtStartApcWaiter(KPROCESSOR_MODE Mode, BOOLEAN Alertable, LONG TimeoutMs)
{
    KtWaiter = (KT_APC_WAITER){.WaitMode = Mode, .Alertable = Alertable,
                               .TimeoutMs = TimeoutMs, .Status = STATUS_PENDING,
                               .Status2 = STATUS_PENDING};
    NTSTATUS Status = PsCreateSystemThread(&KtWaiter.Handle, 0, NULL, NULL, NULL,
                                           KtApcWaiterRoutine, &KtWaiter);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = PsReferenceThreadByHandle(KtWaiter.Handle, KernelMode, &KtWaiter.Thread);
    if (!NT_SUCCESS(Status))
        return Status;
    /* Let it reach its wait. */
    for (int I = 0; I < 200 && KtWaiter.Thread->Tcb.State != Waiting; I++)
        KtSleepMs(1);
    return KtWaiter.Thread->Tcb.State == Waiting ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

/* Release the waiter (set the event) and join it. */
static BOOLEAN KtJoinApcWaiter(void)
{
    LARGE_INTEGER Timeout = {.QuadPart = KT_MS(3000)};
    if (KtWaiter.Thread == NULL)
        return TRUE;
    KeSetEvent(&KtApcEvent, 0, FALSE);
    NTSTATUS Status = KeWaitForSingleObject(&KtWaiter.Thread->Tcb, Executive, KernelMode, FALSE,
                                            &Timeout);
    if (Status != STATUS_SUCCESS)
        return FALSE;
    ObDereferenceObject(KtWaiter.Thread);
    (void)ZwClose(KtWaiter.Handle);
    KtWaiter.Thread = NULL;
    return TRUE;
}

KTEST(apc, special_apc_runs_inside_nonalertable_wait_and_the_wait_goes_on)
{
    KT_BASELINE Before = KtBaseline();

    KtRecord = (KT_APC_RECORD){0};
    KeInitializeEvent(&KtApcEvent, NotificationEvent, FALSE);
    NTSTATUS Started = KtStartApcWaiter(KernelMode, FALSE, 0);
    if (NT_SUCCESS(Started)) {
        KeInitializeApc(&KtApc, &KtWaiter.Thread->Tcb, OriginalApcEnvironment, KtKernelRoutine,
                        NULL, NULL, KernelMode, NULL);
        (void)KeInsertQueueApc(&KtApc, NULL, NULL, 0);
        KtSleepMs(5);
    }
    LONG Runs = KtRecord.KernelRuns;
    PKTHREAD RanIn = KtRecord.KernelThread;
    KIRQL RanAt = KtRecord.KernelIrql;
    UCHAR StateAfter = KtWaiter.Thread ? KtWaiter.Thread->Tcb.State : 0;
    LONG DoneBefore = KtWaiter.Done;
    BOOLEAN Joined = KtJoinApcWaiter();
    KT_ASSERT_EQ(Started, STATUS_SUCCESS);
    KT_ASSERT(Joined);
    KT_ASSERT_EQ(Runs, 1);
    KT_ASSERT(RanIn != KeGetCurrentThread() && RanIn != NULL);
    KT_ASSERT_EQ(RanAt, APC_LEVEL);
    /* The wait went on after the APC: still waiting, not returned. */
    KT_ASSERT_EQ(StateAfter, Waiting);
    KT_ASSERT_EQ(DoneBefore, 0);
    KT_ASSERT_EQ(KtWaiter.Status, STATUS_SUCCESS);
    KT_ASSERT_BASELINE(Before);
}

KTEST(apc, kernel_apc_keeps_the_remaining_timeout)
{
    KT_BASELINE Before = KtBaseline();
    KtRecord = (KT_APC_RECORD){0};
    KeInitializeEvent(&KtApcEvent, NotificationEvent, FALSE);
    NTSTATUS Started = KtStartApcWaiter(KernelMode, FALSE, 60);
    if (NT_SUCCESS(Started)) {
        KtSleepMs(25);
        KeInitializeApc(&KtApc, &KtWaiter.Thread->Tcb, OriginalApcEnvironment, KtKernelRoutine,
                        NULL, KtNormalRoutine, KernelMode, NULL);
        (void)KeInsertQueueApc(&KtApc, NULL, NULL, 0);
        for (int I = 0; I < 300 && !KtWaiter.Done; I++)
            KtSleepMs(1);
    }
    BOOLEAN Joined = KtJoinApcWaiter();
    KT_ASSERT_EQ(Started, STATUS_SUCCESS);
    KT_ASSERT(Joined);
    KT_ASSERT_EQ(KtRecord.KernelRuns, 1);
    KT_ASSERT_EQ(KtRecord.NormalRuns, 1);
    KT_ASSERT_EQ(KtWaiter.Status, STATUS_TIMEOUT);
    /* 60 ms in all, not 25 + 60: the wait resumed with what was left. */
    ULONG64 Elapsed = KtWaiter.EndTick - KtWaiter.StartTick;
    KT_ASSERT(Elapsed >= 59);
    KT_ASSERT(Elapsed < 80);
    KT_ASSERT_BASELINE(Before);
}

KTEST(apc, user_apc_not_delivered_to_nonalertable_wait)
{
    KT_BASELINE Before = KtBaseline();

    KtRecord = (KT_APC_RECORD){0};
    KeInitializeEvent(&KtApcEvent, NotificationEvent, FALSE);
    NTSTATUS Started = KtStartApcWaiter(UserMode, FALSE, 40);
    if (NT_SUCCESS(Started)) {
        KeInitializeApc(&KtApc, &KtWaiter.Thread->Tcb, OriginalApcEnvironment, KtKernelRoutine,
                        KtRundownRoutine, KtNormalRoutine, UserMode, NULL);
        (void)KeInsertQueueApc(&KtApc, NULL, NULL, 0);
        for (int I = 0; I < 300 && !KtWaiter.Done; I++)
            KtSleepMs(1);
    }
    BOOLEAN Joined = KtJoinApcWaiter();
    KT_ASSERT_EQ(Started, STATUS_SUCCESS);
    KT_ASSERT(Joined);
    /* The non-alertable wait ran to its timeout... */
    KT_ASSERT_EQ(KtWaiter.Status, STATUS_TIMEOUT);
    /* ...the next alertable user-mode wait saw the APC at once... */
    KT_ASSERT_EQ(KtWaiter.Status2, STATUS_USER_APC);
    /* ...and a system thread never returns to user mode: the APC was run
     * down when the thread ended, never delivered. */
    KT_ASSERT_EQ(KtRecord.KernelRuns, 0);
    KT_ASSERT_EQ(KtRecord.Rundowns, 1);
    KT_ASSERT_BASELINE(Before);
}

KTEST(apc, user_apc_ends_alertable_user_mode_wait)
{
    KT_BASELINE Before = KtBaseline();
    KtRecord = (KT_APC_RECORD){0};
    KeInitializeEvent(&KtApcEvent, NotificationEvent, FALSE);
    NTSTATUS Started = KtStartApcWaiter(UserMode, TRUE, 0);
    if (NT_SUCCESS(Started)) {
        KeInitializeApc(&KtApc, &KtWaiter.Thread->Tcb, OriginalApcEnvironment, KtKernelRoutine,
                        KtRundownRoutine, KtNormalRoutine, UserMode, NULL);
        (void)KeInsertQueueApc(&KtApc, NULL, NULL, 0);
        for (int I = 0; I < 300 && !KtWaiter.Done; I++)
            KtSleepMs(1);
    }
    LONG Done = KtWaiter.Done;
    BOOLEAN Joined = KtJoinApcWaiter();
    KT_ASSERT_EQ(Started, STATUS_SUCCESS);
    KT_ASSERT(Joined);
    KT_ASSERT_EQ(Done, 1);
    KT_ASSERT_EQ(KtWaiter.Status, STATUS_USER_APC);
    KT_ASSERT_EQ(KtRecord.Rundowns, 1);
    KT_ASSERT_BASELINE(Before);
}

KTEST(apc, alert_ends_alertable_wait_only)
{
    KT_BASELINE Before = KtBaseline();
    KeInitializeEvent(&KtApcEvent, NotificationEvent, FALSE);
    NTSTATUS Started = KtStartApcWaiter(KernelMode, FALSE, 0);
    BOOLEAN WasAlerted = TRUE;
    if (NT_SUCCESS(Started)) {
        WasAlerted = KeAlertThread(&KtWaiter.Thread->Tcb, KernelMode);
        KtSleepMs(5);
    }
    LONG DoneNonAlertable = KtWaiter.Done;
    BOOLEAN Joined = KtJoinApcWaiter();
    KT_ASSERT_EQ(Started, STATUS_SUCCESS);
    KT_ASSERT(Joined);
    KT_ASSERT(!WasAlerted);
    KT_ASSERT_EQ(DoneNonAlertable, 0);
    KT_ASSERT_EQ(KtWaiter.Status, STATUS_SUCCESS);

    KeInitializeEvent(&KtApcEvent, NotificationEvent, FALSE);
    Started = KtStartApcWaiter(KernelMode, TRUE, 0);
    if (NT_SUCCESS(Started)) {
        (void)KeAlertThread(&KtWaiter.Thread->Tcb, KernelMode);
        for (int I = 0; I < 300 && !KtWaiter.Done; I++)
            KtSleepMs(1);
    }
    Joined = KtJoinApcWaiter();
    KT_ASSERT_EQ(Started, STATUS_SUCCESS);
    KT_ASSERT(Joined);
    KT_ASSERT_EQ(KtWaiter.Status, STATUS_ALERTED);
    KT_ASSERT_BASELINE(Before);
}

/* ------------------------------------------------------------------------
 * Attached to another process
 * ------------------------------------------------------------------------ */

KTEST(apc, stack_attach_holds_apcs_of_the_original_process)
{
    KT_BASELINE Before = KtBaseline();
    KAPC_STATE ApcState;
    PEPROCESS Other;
    PKTHREAD Self = KeGetCurrentThread();

    KT_ASSERT_EQ(PsCreateProcess("apcattach", &Other), STATUS_SUCCESS);
    KtRecord = (KT_APC_RECORD){0};
    KeInitializeApc(&KtApc, Self, OriginalApcEnvironment, KtKernelRoutine, NULL, NULL,
                    KernelMode, NULL);
    KeInitializeApc(&KtApc2, Self, AttachedApcEnvironment, KtKernelRoutine, NULL, NULL,
                    KernelMode, NULL);

    KeStackAttachProcess(&Other->Pcb, &ApcState);
    BOOLEAN Switched = MmCurrentAddressSpace == Other->Pcb.AddressSpace;
    UCHAR Index = Self->ApcStateIndex;
    (void)KeInsertQueueApc(&KtApc, NULL, NULL, 0);
    LONG HeldWhileAttached = KtRecord.KernelRuns;
    /* One for the environment it is attached to runs at once. */
    (void)KeInsertQueueApc(&KtApc2, NULL, NULL, 0);
    LONG AttachedRan = KtRecord.KernelRuns;
    KeUnstackDetachProcess(&ApcState);
    LONG AfterDetach = KtRecord.KernelRuns;
    BOOLEAN Back = MmCurrentAddressSpace == Self->Process->AddressSpace;
    ObDereferenceObject(Other);

    KT_ASSERT(Switched);
    KT_ASSERT_EQ(Index, AttachedApcEnvironment);
    KT_ASSERT_EQ(HeldWhileAttached, 0);
    KT_ASSERT_EQ(AttachedRan, 1);
    KT_ASSERT_EQ(AfterDetach, 2);
    KT_ASSERT(Back);
    KT_ASSERT_EQ(Self->ApcStateIndex, OriginalApcEnvironment);
    KT_ASSERT_BASELINE(Before);
}
