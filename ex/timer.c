/*
 * timer.c - the Timer object type and its services: NtCreateTimer,
 * NtSetTimer, NtCancelTimer, NtQueryTimer.
 *
 * A Timer object is an OBJECT_HEADER followed by a KTIMER
 * (kernel/timer.c): a NotificationTimer stays signalled once it expires
 * and releases every waiter; a SynchronizationTimer releases one waiter
 * and resets. A periodic timer re-arms itself every Period milliseconds.
 * Deleting the object cancels the KTIMER first, so that the timer list
 * never points into freed memory.
 *
 * NOTE: NtSetTimer's TimerApcRoutine (a user APC queued to the setting
 * thread on expiry) and ResumeTimer are not supported yet.
 *
 * Services follow ex/event.c's three steps. PASSIVE_LEVEL, on the
 * caller's thread; no lock of their own.
 */
#include "exdisp.h"
#include "../mm/mm.h"

static OBJECT_TYPE ExpTimerObjectType;
POBJECT_TYPE ExTimerObjectType = &ExpTimerObjectType;

/* The last reference went: take the timer off the timer list. */
static void ExpDeleteTimer(PVOID Object)
{
    (void)KeCancelTimer(Object);
}

/* Register the Timer type (idempotent). PASSIVE_LEVEL, at boot. */
void ExpInitializeTimerType(void)
{
    if (!ExpTimerObjectType.Initialized)
        ObInitializeObjectType(&ExpTimerObjectType, "Timer", ExpDeleteTimer);
}

/*
 * NtCreateTimer - create a timer of TimerType (NotificationTimer or
 * SynchronizationTimer, else STATUS_INVALID_PARAMETER), not set and not
 * signalled, and return a handle with DesiredAccess (generic rights
 * mapped) in *TimerHandle. ObjectAttributes must be NULL for now. Returns
 * STATUS_ACCESS_VIOLATION for a bad TimerHandle,
 * STATUS_INSUFFICIENT_RESOURCES. PASSIVE_LEVEL.
 */
NTSTATUS NtCreateTimer(PHANDLE TimerHandle, ACCESS_MASK DesiredAccess,
                       POBJECT_ATTRIBUTES ObjectAttributes, TIMER_TYPE TimerType)
{
    PKTIMER Timer;

    if (ObjectAttributes != NULL ||
        (TimerType != NotificationTimer && TimerType != SynchronizationTimer))
        return STATUS_INVALID_PARAMETER;
    NTSTATUS Status = ProbeForWrite(TimerHandle, sizeof(HANDLE), 1);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObCreateObject(ExTimerObjectType, sizeof(KTIMER), (PVOID *)&Timer);
    if (!NT_SUCCESS(Status))
        return Status;
    KeInitializeTimerEx(Timer, TimerType);
    ACCESS_MASK Access = ExpMapGenericAccess(DesiredAccess,
                                             STANDARD_RIGHTS_READ | TIMER_QUERY_STATE,
                                             STANDARD_RIGHTS_READ | TIMER_MODIFY_STATE,
                                             STANDARD_RIGHTS_READ | SYNCHRONIZE,
                                             TIMER_ALL_ACCESS);
    return ExpInsertNewObject(Timer, ExTimerObjectType, Access, TimerHandle);
}

/*
 * NtSetTimer - set the timer to expire at *DueTime (negative: relative;
 * positive: an absolute interrupt time; 100 ns units), then every Period
 * milliseconds if Period > 0 (negative: STATUS_INVALID_PARAMETER). It
 * becomes not signalled. The optional *PreviousState receives whether it
 * was signalled before. TimerApcRoutine must be NULL (STATUS_NOT_SUPPORTED
 * otherwise) and TimerContext is then ignored. Needs TIMER_MODIFY_STATE.
 * Returns STATUS_SUCCESS, STATUS_ACCESS_VIOLATION, the handle errors.
 * PASSIVE_LEVEL.
 */
NTSTATUS NtSetTimer(HANDLE TimerHandle, PLARGE_INTEGER DueTime, PVOID TimerApcRoutine,
                    PVOID TimerContext, LONG Period, PBOOLEAN PreviousState)
{
    LARGE_INTEGER CapturedDue;
    PLARGE_INTEGER KernelDue;
    PKTIMER Timer;

    UNREFERENCED_PARAMETER(TimerContext);
    if (TimerApcRoutine != NULL)
        return STATUS_NOT_SUPPORTED;
    if (Period < 0 || DueTime == NULL)
        return DueTime == NULL ? STATUS_ACCESS_VIOLATION : STATUS_INVALID_PARAMETER;
    NTSTATUS Status = KeCaptureUserTimeout(DueTime, &CapturedDue, &KernelDue);
    if (NT_SUCCESS(Status) && PreviousState != NULL)
        Status = ProbeForWrite(PreviousState, sizeof(BOOLEAN), 1);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ExpReferenceByHandle(TimerHandle, TIMER_MODIFY_STATE, ExTimerObjectType,
                                  (PVOID *)&Timer);
    if (!NT_SUCCESS(Status))
        return Status;
    BOOLEAN Previous = KeReadStateTimer(Timer);
    (void)KeSetTimerEx(Timer, *KernelDue, Period, NULL);
    ObDereferenceObject(Timer);
    if (PreviousState != NULL)
        (void)MmCopyToUser(PreviousState, &Previous, sizeof(Previous));
    return STATUS_SUCCESS;
}

/*
 * NtCancelTimer - cancel the timer (its signal state does not change);
 * the optional *CurrentState receives whether it is signalled. Needs
 * TIMER_MODIFY_STATE. Returns STATUS_SUCCESS, STATUS_ACCESS_VIOLATION, the
 * handle errors. PASSIVE_LEVEL.
 */
NTSTATUS NtCancelTimer(HANDLE TimerHandle, PBOOLEAN CurrentState)
{
    PKTIMER Timer;

    if (CurrentState != NULL) {
        NTSTATUS Status = ProbeForWrite(CurrentState, sizeof(BOOLEAN), 1);
        if (!NT_SUCCESS(Status))
            return Status;
    }
    NTSTATUS Status = ExpReferenceByHandle(TimerHandle, TIMER_MODIFY_STATE, ExTimerObjectType,
                                           (PVOID *)&Timer);
    if (!NT_SUCCESS(Status))
        return Status;
    (void)KeCancelTimer(Timer);
    BOOLEAN State = KeReadStateTimer(Timer);
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
    PKTIMER Timer;

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
    ULONG64 Due = Timer->DueTime;
    if (Timer->Inserted && Due > Now)
        Answer.RemainingTime.QuadPart = (LONGLONG)(Due - Now);
    Answer.TimerState = KeReadStateTimer(Timer);
    ObDereferenceObject(Timer);
    return ExpCopyQueryResult(Information, &Answer, sizeof(Answer), ReturnLength);
}
