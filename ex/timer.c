/*
 * timer.c - the Timer object type and its services: NtCreateTimer,
 * NtOpenTimer, NtSetTimer, NtCancelTimer, NtQueryTimer. A timer named by
 * its OBJECT_ATTRIBUTES goes into the object namespace.
 *
 * A Timer object is an OBJECT_HEADER followed by an ETIMER, whose first
 * member is a KTIMER (kernel/timer.c): a NotificationTimer stays signalled
 * once it expires and releases every waiter; a SynchronizationTimer
 * releases one waiter and resets. A periodic timer re-arms itself every
 * Period milliseconds.
 *
 * The timer APC. NtSetTimer may name a TimerApcRoutine: each expiry then
 * queues a user APC to the thread that set the timer, which runs
 * TimerApcRoutine(TimerContext, low and high part of the interrupt time)
 * at that thread's next alertable wait (kernel/apcsvc.c):
 *
 *   expiry -> KiTimerExpiration -> our DPC (ExpTimerDpcRoutine, DISPATCH_LEVEL)
 *          -> KeInsertQueueApc(&Timer->Apc) to ApcThread (not queued twice:
 *             expiries while it waits in the queue are one APC, as on NT)
 *
 * The KAPC and the KDPC live in the ETIMER; the setting thread's object is
 * referenced for as long as the APC is associated, so the KAPC's thread
 * pointer stays valid. Cancelling, setting again and deleting all take the
 * APC and the DPC off their queues first, so nothing points into the
 * ETIMER once it goes. ApcThread and ApcAssociated are protected by the
 * ETIMER's spin lock (the DPC takes it too).
 *
 * NOTE: ResumeTimer (NT's sixth argument of seven) is not supported.
 *
 * Services follow ex/event.c's three steps. PASSIVE_LEVEL, on the
 * caller's thread; no lock of their own.
 */
#include "exdisp.h"
#include "../ps/ps.h"
#include "../mm/mm.h"

static OBJECT_TYPE ExpTimerObjectType;
POBJECT_TYPE ExTimerObjectType = &ExpTimerObjectType;

typedef struct _ETIMER {
    KTIMER KeTimer;                 /* first: the body is waitable as a KTIMER */
    KDPC Dpc;                       /* queued at each expiry while an APC is associated */
    KAPC Apc;                       /* the user APC for ApcThread */
    KSPIN_LOCK Lock;                /* ApcThread, ApcAssociated */
    PETHREAD ApcThread;             /* referenced while associated */
    BOOLEAN ApcAssociated;
} ETIMER, *PETIMER;

/* At each expiry (DISPATCH_LEVEL): queue the APC with the interrupt time. */
static void ExpTimerDpcRoutine(PKDPC Dpc, PVOID Context, PVOID TimeLow, PVOID TimeHigh)
{
    PETIMER Timer = Context;

    UNREFERENCED_PARAMETER(Dpc);
    KeAcquireSpinLockAtDpcLevel(&Timer->Lock);
    if (Timer->ApcAssociated)
        (void)KeInsertQueueApc(&Timer->Apc, TimeLow, TimeHigh, 0);
    KeReleaseSpinLockFromDpcLevel(&Timer->Lock);
}

/* The APC's kernel and rundown routines: the KAPC belongs to the ETIMER,
 * there is nothing to free or change. */
static void ExpTimerApcKernelRoutine(PKAPC Apc, PKNORMAL_ROUTINE *NormalRoutine,
                                     PVOID *NormalContext, PVOID *SystemArgument1,
                                     PVOID *SystemArgument2)
{
    UNREFERENCED_PARAMETER(Apc);
    UNREFERENCED_PARAMETER(NormalRoutine);
    UNREFERENCED_PARAMETER(NormalContext);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
}

static void ExpTimerApcRundown(PKAPC Apc)
{
    UNREFERENCED_PARAMETER(Apc);
}

/*
 * Cancel Timer and undo its APC association: off the timer list, the DPC
 * and the APC off their queues. Returns the thread the association held
 * (the caller dereferences it once the lock is dropped), or NULL. The
 * ETIMER's lock held (DISPATCH_LEVEL).
 */
static PETHREAD ExpCancelTimerLocked(PETIMER Timer)
{
    PETHREAD Thread = Timer->ApcAssociated ? Timer->ApcThread : NULL;

    (void)KeCancelTimer(&Timer->KeTimer);
    (void)KeRemoveQueueDpc(&Timer->Dpc);
    if (Thread != NULL)
        (void)KeRemoveQueueApc(&Timer->Apc);
    Timer->ApcAssociated = FALSE;
    Timer->ApcThread = NULL;
    return Thread;
}

/* ExpCancelTimerLocked with the lock taken and the thread dereferenced.
 * IRQL <= APC_LEVEL (a thread object may be deleted). */
static void ExpCancelTimer(PETIMER Timer)
{
    KIRQL OldIrql;

    KeAcquireSpinLock(&Timer->Lock, &OldIrql);
    PETHREAD Thread = ExpCancelTimerLocked(Timer);
    KeReleaseSpinLock(&Timer->Lock, OldIrql);
    if (Thread != NULL)
        ObDereferenceObject(Thread);
}

/* The last reference went: nothing may point into the ETIMER any more. */
static void ExpDeleteTimer(PVOID Object)
{
    ExpCancelTimer(Object);
}

/* Register the Timer type (idempotent). PASSIVE_LEVEL, at boot. */
void ExpInitializeTimerType(void)
{
    if (!ExpTimerObjectType.Initialized)
        ObInitializeObjectType(&ExpTimerObjectType, "Timer", ExpDeleteTimer);
}

/* Generic rights mapped onto timer rights. */
static ACCESS_MASK ExpMapTimerAccess(ACCESS_MASK DesiredAccess)
{
    return ExpMapGenericAccess(DesiredAccess, STANDARD_RIGHTS_READ | TIMER_QUERY_STATE,
                               STANDARD_RIGHTS_READ | TIMER_MODIFY_STATE,
                               STANDARD_RIGHTS_READ | SYNCHRONIZE, TIMER_ALL_ACCESS);
}

/*
 * NtCreateTimer - create a timer of TimerType (NotificationTimer or
 * SynchronizationTimer, else STATUS_INVALID_PARAMETER), not set and not
 * signalled, and return a handle with DesiredAccess (generic rights
 * mapped) in *TimerHandle. ObjectAttributes (optional) gives the handle
 * OBJ_INHERIT and the timer a name. Returns STATUS_ACCESS_VIOLATION for a
 * bad TimerHandle or ObjectAttributes, STATUS_INSUFFICIENT_RESOURCES, the
 * statuses of ObCaptureObjectAttributes and ObInsertObject. PASSIVE_LEVEL.
 */
NTSTATUS NtCreateTimer(PHANDLE TimerHandle, ACCESS_MASK DesiredAccess,
                       POBJECT_ATTRIBUTES ObjectAttributes, TIMER_TYPE TimerType)
{
    OB_CAPTURED_ATTRIBUTES Captured;
    PETIMER Timer;

    if (TimerType != NotificationTimer && TimerType != SynchronizationTimer)
        return STATUS_INVALID_PARAMETER;
    NTSTATUS Status = ProbeForWrite(TimerHandle, sizeof(HANDLE), 1);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObCaptureObjectAttributes(ObjectAttributes, UserMode, &Captured);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObCreateObject(ExTimerObjectType, sizeof(ETIMER), (PVOID *)&Timer);
    if (NT_SUCCESS(Status)) {
        KeInitializeTimerEx(&Timer->KeTimer, TimerType);
        KeInitializeDpc(&Timer->Dpc, ExpTimerDpcRoutine, Timer);
        KeInitializeSpinLock(&Timer->Lock);
        Status = ExpInsertNewObject(Timer, &Captured.Attributes, ExpMapTimerAccess(DesiredAccess),
                                    TimerHandle);
    }
    ObReleaseObjectAttributes(&Captured);
    return Status;
}

/*
 * NtOpenTimer - open the timer ObjectAttributes names, with DesiredAccess
 * (generic rights mapped). Returns the statuses of ExpOpenNamedObject.
 * PASSIVE_LEVEL.
 */
NTSTATUS NtOpenTimer(PHANDLE TimerHandle, ACCESS_MASK DesiredAccess,
                     POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ExpOpenNamedObject(TimerHandle, ExpMapTimerAccess(DesiredAccess), ObjectAttributes,
                              ExTimerObjectType);
}

/*
 * Set Timer to DueTime and Period, with the calling thread's user APC
 * (ApcRoutine, ApcContext) on each expiry if ApcRoutine is not NULL; any
 * earlier setting and association is undone first. Returns whether the
 * timer was signalled before. PASSIVE_LEVEL.
 */
static BOOLEAN ExpSetTimer(PETIMER Timer, LARGE_INTEGER DueTime, LONG Period,
                           PKNORMAL_ROUTINE ApcRoutine, PVOID ApcContext)
{
    PETHREAD Self = PsGetCurrentThread();
    PKDPC Dpc = NULL;
    KIRQL OldIrql;

    KeAcquireSpinLock(&Timer->Lock, &OldIrql);
    PETHREAD Previous = ExpCancelTimerLocked(Timer);
    BOOLEAN WasSignalled = KeReadStateTimer(&Timer->KeTimer);
    if (ApcRoutine != NULL) {
        ObReferenceObject(Self);
        KeInitializeApc(&Timer->Apc, &Self->Tcb, CurrentApcEnvironment,
                        ExpTimerApcKernelRoutine, ExpTimerApcRundown, ApcRoutine, UserMode,
                        ApcContext);
        Timer->ApcThread = Self;
        Timer->ApcAssociated = TRUE;
        Dpc = &Timer->Dpc;
    }
    (void)KeSetTimerEx(&Timer->KeTimer, DueTime, Period, Dpc);
    KeReleaseSpinLock(&Timer->Lock, OldIrql);
    if (Previous != NULL)
        ObDereferenceObject(Previous);
    return WasSignalled;
}

/*
 * NtSetTimer - set the timer to expire at *DueTime (negative: relative;
 * positive: an absolute interrupt time; 100 ns units), then every Period
 * milliseconds if Period > 0 (negative: STATUS_INVALID_PARAMETER). It
 * becomes not signalled. With a TimerApcRoutine (a user address, else
 * STATUS_INVALID_PARAMETER) each expiry queues a user APC to the calling
 * thread: TimerApcRoutine(TimerContext, interrupt time low, high) at its
 * next alertable wait. The optional *PreviousState receives whether the
 * timer was signalled before. Needs TIMER_MODIFY_STATE. Returns
 * STATUS_SUCCESS, STATUS_ACCESS_VIOLATION, the handle errors.
 * PASSIVE_LEVEL.
 */
NTSTATUS NtSetTimer(HANDLE TimerHandle, PLARGE_INTEGER DueTime, PVOID TimerApcRoutine,
                    PVOID TimerContext, LONG Period, PBOOLEAN PreviousState)
{
    LARGE_INTEGER CapturedDue;
    PLARGE_INTEGER KernelDue;
    PETIMER Timer;

    if (DueTime == NULL)
        return STATUS_ACCESS_VIOLATION;
    if (Period < 0 || (ULONG_PTR)TimerApcRoutine >= MM_USER_PROBE_ADDRESS)
        return STATUS_INVALID_PARAMETER;
    NTSTATUS Status = KeCaptureUserTimeout(DueTime, &CapturedDue, &KernelDue);
    if (NT_SUCCESS(Status) && PreviousState != NULL)
        Status = ProbeForWrite(PreviousState, sizeof(BOOLEAN), 1);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ExpReferenceByHandle(TimerHandle, TIMER_MODIFY_STATE, ExTimerObjectType,
                                  (PVOID *)&Timer);
    if (!NT_SUCCESS(Status))
        return Status;
    BOOLEAN Previous = ExpSetTimer(Timer, *KernelDue, Period, (PKNORMAL_ROUTINE)TimerApcRoutine,
                                   TimerContext);
    ObDereferenceObject(Timer);
    if (PreviousState != NULL)
        (void)MmCopyToUser(PreviousState, &Previous, sizeof(Previous));
    return STATUS_SUCCESS;
}

/*
 * NtCancelTimer - cancel the timer and its APC (one already queued to the
 * thread is taken back); its signal state does not change. The optional
 * *CurrentState receives whether it is signalled. Needs
 * TIMER_MODIFY_STATE. Returns STATUS_SUCCESS, STATUS_ACCESS_VIOLATION, the
 * handle errors. PASSIVE_LEVEL.
 */
NTSTATUS NtCancelTimer(HANDLE TimerHandle, PBOOLEAN CurrentState)
{
    PETIMER Timer;

    if (CurrentState != NULL) {
        NTSTATUS Status = ProbeForWrite(CurrentState, sizeof(BOOLEAN), 1);
        if (!NT_SUCCESS(Status))
            return Status;
    }
    NTSTATUS Status = ExpReferenceByHandle(TimerHandle, TIMER_MODIFY_STATE, ExTimerObjectType,
                                           (PVOID *)&Timer);
    if (!NT_SUCCESS(Status))
        return Status;
    ExpCancelTimer(Timer);
    BOOLEAN State = KeReadStateTimer(&Timer->KeTimer);
    ObDereferenceObject(Timer);
    if (CurrentState != NULL)
        (void)MmCopyToUser(CurrentState, &State, sizeof(State));
    return STATUS_SUCCESS;
}

/*
 * NtQueryTimer - TimerBasicInformation: the time left until it expires
 * (0 when it is not set) and whether it is signalled. Needs
 * TIMER_QUERY_STATE. Returns STATUS_SUCCESS, STATUS_INVALID_INFO_CLASS,
 * STATUS_INFO_LENGTH_MISMATCH, STATUS_ACCESS_VIOLATION, the handle errors.
 * PASSIVE_LEVEL.
 */
NTSTATUS NtQueryTimer(HANDLE TimerHandle, TIMER_INFORMATION_CLASS InformationClass,
                      PVOID Information, ULONG Length, PULONG ReturnLength)
{
    TIMER_BASIC_INFORMATION Answer = {0};
    PETIMER Timer;

    if (InformationClass != TimerBasicInformation)
        return STATUS_INVALID_INFO_CLASS;
    NTSTATUS Status = ExpProbeQueryBuffers(Information, Length, sizeof(Answer), ReturnLength);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ExpReferenceByHandle(TimerHandle, TIMER_QUERY_STATE, ExTimerObjectType,
                                  (PVOID *)&Timer);
    if (!NT_SUCCESS(Status))
        return Status;
    /* A snapshot: the timer may expire right after. */
    ULONG64 Now = KeQueryInterruptTime();
    ULONG64 Due = Timer->KeTimer.DueTime;
    if (Timer->KeTimer.Inserted && Due > Now)
        Answer.RemainingTime.QuadPart = (LONGLONG)(Due - Now);
    Answer.TimerState = KeReadStateTimer(&Timer->KeTimer);
    ObDereferenceObject(Timer);
    return ExpCopyQueryResult(Information, &Answer, sizeof(Answer), ReturnLength);
}
