/*
 * ntobject.c - the object, event and wait system services, and the Event
 * object type they hand out:
 *
 *   handles   NtClose, NtDuplicateObject
 *   events    NtCreateEvent, NtSetEvent, NtResetEvent, NtClearEvent,
 *             NtPulseEvent
 *   waits     NtWaitForSingleObject, NtWaitForMultipleObjects,
 *             NtDelayExecution, NtYieldExecution
 *   misc      NtGetCurrentProcessorNumber (the cheapest service there is:
 *             what the system-call benchmark measures)
 *
 * Every service works in three steps (STYLE.md, "validate and capture"):
 *
 *   1. capture  copy each input that lives in user memory (a handle array,
 *               a timeout) into a kernel variable with MmCopyFromUser, and
 *               probe each output with ProbeForWrite, so that a bad pointer
 *               of any kind - NULL, kernel, non-canonical, unmapped,
 *               read-only - is STATUS_ACCESS_VIOLATION before anything
 *               changes;
 *   2. resolve  turn handles into referenced objects in the caller's handle
 *               table with UserMode, which refuses kernel handles
 *               (STATUS_INVALID_HANDLE) and wrong types
 *               (STATUS_OBJECT_TYPE_MISMATCH);
 *   3. act      on the kernel copies only, then copy results out with
 *               MmCopyToUser and drop the references.
 *
 * An Event object is an OBJECT_HEADER followed by a KEVENT (kernel/ob.h):
 * the body is what KeSetEvent and KeWaitForSingleObject take, so a handle
 * turns into a dispatcher object with one ObReferenceObjectByHandle.
 *
 * Access: event handles carry NT's event rights (kernel/ex.h) and
 * NtSetEvent & co. need EVENT_MODIFY_STATE, as on NT. Waits do not check
 * SYNCHRONIZE yet: PsCreateSystemThread grants whatever its kernel caller
 * asked (often 0), and those handles must stay waitable.
 *
 * Locking and IRQL: every service runs at PASSIVE_LEVEL on the caller's
 * thread, with the caller's address space current, and takes no lock of
 * its own (Ob and Ke lock inside). Objects stay referenced for as long as
 * a service uses them - across a wait too - so closing a handle meanwhile
 * cannot free what a waiter is linked into.
 */
#include "ex.h"
#include "ps.h"
#include "../mm/mm.h"
#include "../include/ntapi.h"

/* Pool tag of the wait-block arrays of waits for more than
 * THREAD_WAIT_OBJECTS objects. */
#define EXP_WAIT_BLOCK_TAG POOL_TAG('E', 'x', 'W', 'b')

/* Generic rights (winnt.h) and what they mean for an event. */
#define GENERIC_READ       0x80000000u
#define GENERIC_WRITE      0x40000000u
#define GENERIC_EXECUTE    0x20000000u
#define GENERIC_ALL        0x10000000u
#define MAXIMUM_ALLOWED    0x02000000u
#define STANDARD_RIGHTS_READ 0x00020000u

/* The smallest timeout the timer code can negate without overflow. */
#define EXP_MINIMUM_INTERVAL (-0x7FFFFFFFFFFFFFFFLL)

static OBJECT_TYPE ExpEventObjectType;
POBJECT_TYPE ExEventObjectType = &ExpEventObjectType;

/*
 * ExpInitializeExecutiveObjects - register the Event type (body: KEVENT,
 * nothing to release on delete). Idempotent, so tests may call it too.
 * PASSIVE_LEVEL, at boot.
 */
void ExpInitializeExecutiveObjects(void)
{
    if (!ExpEventObjectType.Initialized)
        ObInitializeObjectType(&ExpEventObjectType, "Event", NULL);
}

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static BOOLEAN ExpIsPseudoHandle(HANDLE Handle)
{
    return Handle == NtCurrentProcess() || Handle == NtCurrentThread();
}

static BOOLEAN ExpIsKernelHandle(HANDLE Handle)
{
    return ((ULONG_PTR)Handle & KERNEL_HANDLE_MASK) == KERNEL_HANDLE_MASK;
}

/* An optional output the service writes at the end: probe it now. */
static NTSTATUS ExpProbeOptionalOutput(PVOID Output, SIZE_T Length)
{
    return Output != NULL ? ProbeForWrite(Output, Length, 1) : STATUS_SUCCESS;
}

/*
 * Capture an optional timeout (100 ns units; NULL: wait for ever). *Timeout
 * becomes NULL or Captured. The most negative value is nudged by one: the
 * timer code negates relative times, and -LLONG_MIN overflows.
 */
static NTSTATUS ExpCaptureTimeout(PLARGE_INTEGER UserTimeout, PLARGE_INTEGER Captured,
                                  PLARGE_INTEGER *Timeout)
{
    *Timeout = NULL;
    if (UserTimeout == NULL)
        return STATUS_SUCCESS;
    NTSTATUS Status = MmCopyFromUser(Captured, UserTimeout, sizeof(*Captured));
    if (!NT_SUCCESS(Status))
        return Status;
    if (Captured->QuadPart < EXP_MINIMUM_INTERVAL)
        Captured->QuadPart = EXP_MINIMUM_INTERVAL;
    *Timeout = Captured;
    return STATUS_SUCCESS;
}

/* Map generic rights onto event rights (NT's GENERIC_MAPPING for events);
 * with no security descriptors, MAXIMUM_ALLOWED is everything. */
static ACCESS_MASK ExpMapEventAccess(ACCESS_MASK Access)
{
    if (Access & GENERIC_READ)
        Access |= STANDARD_RIGHTS_READ | EVENT_QUERY_STATE;
    if (Access & GENERIC_WRITE)
        Access |= STANDARD_RIGHTS_READ | EVENT_MODIFY_STATE;
    if (Access & GENERIC_EXECUTE)
        Access |= STANDARD_RIGHTS_READ | SYNCHRONIZE;
    if (Access & (GENERIC_ALL | MAXIMUM_ALLOWED))
        Access |= EVENT_ALL_ACCESS;
    return Access & EVENT_ALL_ACCESS;
}

/* Reference the event Handle names in the caller's table, with Access. */
static NTSTATUS ExpReferenceEvent(HANDLE Handle, ACCESS_MASK Access, PKEVENT *Event)
{
    /* A process or thread is not an event (NT answers the same). */
    if (ExpIsPseudoHandle(Handle))
        return STATUS_OBJECT_TYPE_MISMATCH;
    return ObReferenceObjectByHandle(Handle, Access, ExEventObjectType, UserMode, (PVOID *)Event,
                                     NULL);
}

/*
 * TRUE when Object may be handed to KeWaitFor*: its Ob type is one whose
 * body starts with a DISPATCHER_HEADER, and that header's type is a
 * waitable KOBJECTS value. The Ob type is checked first because only then
 * is the first byte of the body a dispatcher type at all.
 * NOTE: a new waitable object type (a timer, a semaphore) joins the list.
 */
static BOOLEAN ExpIsWaitableObject(PVOID Object)
{
    POBJECT_TYPE Type = ObGetObjectType(Object);
    if (Type != ExEventObjectType && Type != PsProcessType && Type != PsThreadType)
        return FALSE;
    switch (((PDISPATCHER_HEADER)Object)->Type) {
    case EventNotificationObject:
    case EventSynchronizationObject:
    case ProcessObject:
    case ThreadObject:
    case TimerNotificationObject:
    case TimerSynchronizationObject:
        return TRUE;
    default:
        return FALSE;
    }
}

/* Reference what a wait handle names (the pseudo handles included) and
 * check it is waitable; *Object is NULL on failure. */
static NTSTATUS ExpReferenceWaitableObject(HANDLE Handle, PVOID *Object)
{
    NTSTATUS Status;

    *Object = NULL;
    if (Handle == NtCurrentProcess()) {
        PEPROCESS Process;
        Status = PsReferenceProcessByHandle(Handle, UserMode, &Process);
        if (NT_SUCCESS(Status))
            *Object = Process;
    } else if (Handle == NtCurrentThread()) {
        PETHREAD Thread;
        Status = PsReferenceThreadByHandle(Handle, UserMode, &Thread);
        if (NT_SUCCESS(Status))
            *Object = Thread;
    } else {
        Status = ObReferenceObjectByHandle(Handle, 0, NULL, UserMode, Object, NULL);
    }
    if (!NT_SUCCESS(Status))
        return Status;
    if (!ExpIsWaitableObject(*Object)) {
        ObDereferenceObject(*Object);
        *Object = NULL;
        return STATUS_OBJECT_TYPE_MISMATCH;
    }
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------
 * Handles
 * ------------------------------------------------------------------------ */

/*
 * NtClose - close Handle in the caller's table. Returns STATUS_SUCCESS or
 * STATUS_INVALID_HANDLE (also for kernel handles and the pseudo handles).
 */
NTSTATUS NtClose(HANDLE Handle)
{
    return ObCloseHandle(Handle, UserMode);
}

/*
 * Duplicate a pseudo handle: NtCurrentProcess() names the source process,
 * NtCurrentThread() the calling thread (as on NT). There is nothing to
 * close, so DUPLICATE_CLOSE_SOURCE is ignored; with no TargetTable there is
 * nothing to do either.
 */
static NTSTATUS ExpDuplicatePseudoHandle(PEPROCESS SourceProcess, HANDLE SourceHandle,
                                         PHANDLE_TABLE TargetTable, ACCESS_MASK DesiredAccess,
                                         ULONG Options, PHANDLE NewHandle)
{
    PVOID Object = SourceProcess;
    ACCESS_MASK FullAccess = PROCESS_ALL_ACCESS;

    if (SourceHandle == NtCurrentThread()) {
        Object = KeGetCurrentThread();
        FullAccess = THREAD_ALL_ACCESS;
    }
    if (TargetTable == NULL)
        return STATUS_SUCCESS;
    ACCESS_MASK Access = (Options & DUPLICATE_SAME_ACCESS) ? FullAccess : DesiredAccess;
    if ((Access & ~FullAccess) != 0)
        return STATUS_ACCESS_DENIED;
    return ObInsertHandle(TargetTable, Object, Access, 0, NewHandle);
}

/*
 * NtDuplicateObject - make a handle in the process TargetProcessHandle
 * names for the object SourceHandle names in the process
 * SourceProcessHandle names (either may be NtCurrentProcess(); the two may
 * be the same). Options: DUPLICATE_SAME_ACCESS (else DesiredAccess, which
 * must not widen the source's access: STATUS_ACCESS_DENIED),
 * DUPLICATE_SAME_ATTRIBUTES, DUPLICATE_CLOSE_SOURCE (closes the source
 * handle whether or not the duplicate could be made; TargetProcessHandle
 * may then be NULL: close only). TargetHandle is optional: without it the
 * handle is still made (NT's rule) but its value is not returned.
 *
 * Returns STATUS_SUCCESS; STATUS_INVALID_PARAMETER (unknown options, no
 * target without DUPLICATE_CLOSE_SOURCE); STATUS_ACCESS_VIOLATION (bad
 * TargetHandle, nothing done); STATUS_INVALID_HANDLE /
 * STATUS_OBJECT_TYPE_MISMATCH for the process handles and the source
 * handle (kernel handles are refused); STATUS_PROCESS_IS_TERMINATING when
 * a process has no handle table any more; the statuses of
 * ObDuplicateHandle. NOTE: the new handle has no attributes unless
 * DUPLICATE_SAME_ATTRIBUTES (Pagoda's NtDuplicateObject has no
 * HandleAttributes argument), and PROCESS_DUP_HANDLE is not checked.
 * PASSIVE_LEVEL.
 */
NTSTATUS NtDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle,
                           HANDLE TargetProcessHandle, PHANDLE TargetHandle,
                           ACCESS_MASK DesiredAccess, ULONG Options)
{
    const ULONG KnownOptions =
        DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS | DUPLICATE_SAME_ATTRIBUTES;
    PEPROCESS SourceProcess, TargetProcess = NULL;
    HANDLE NewHandle = NULL;
    NTSTATUS Status;

    if ((Options & ~KnownOptions) != 0)
        return STATUS_INVALID_PARAMETER;
    if (TargetProcessHandle == NULL && !(Options & DUPLICATE_CLOSE_SOURCE))
        return STATUS_INVALID_PARAMETER;
    Status = ExpProbeOptionalOutput(TargetHandle, sizeof(HANDLE));
    if (!NT_SUCCESS(Status))
        return Status;

    Status = PsReferenceProcessByHandle(SourceProcessHandle, UserMode, &SourceProcess);
    if (!NT_SUCCESS(Status))
        return Status;
    if (TargetProcessHandle != NULL) {
        Status = PsReferenceProcessByHandle(TargetProcessHandle, UserMode, &TargetProcess);
        if (!NT_SUCCESS(Status))
            goto deref_source;
    }

    PHANDLE_TABLE SourceTable = SourceProcess->ObjectTable;
    PHANDLE_TABLE TargetTable = TargetProcess != NULL ? TargetProcess->ObjectTable : NULL;
    if (SourceTable == NULL || (TargetProcess != NULL && TargetTable == NULL))
        Status = STATUS_PROCESS_IS_TERMINATING;
    else if (ExpIsPseudoHandle(SourceHandle))
        Status = ExpDuplicatePseudoHandle(SourceProcess, SourceHandle, TargetTable, DesiredAccess,
                                          Options, &NewHandle);
    else if (ExpIsKernelHandle(SourceHandle))
        Status = STATUS_INVALID_HANDLE; /* user mode never sees the kernel table */
    else
        Status = ObDuplicateHandle(SourceTable, SourceHandle, TargetTable, DesiredAccess, 0,
                                   Options, &NewHandle);

    if (TargetProcess != NULL)
        ObDereferenceObject(TargetProcess);
deref_source:
    ObDereferenceObject(SourceProcess);

    /* As NT: once the handle exists, a failing write of its value cannot
     * undo it (the target may be using it already), so it is ignored. */
    if (NT_SUCCESS(Status) && TargetHandle != NULL && TargetTable != NULL)
        (void)MmCopyToUser(TargetHandle, &NewHandle, sizeof(NewHandle));
    return Status;
}

/* ------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------ */

/*
 * NtCreateEvent - create an event (EventType NotificationEvent or
 * SynchronizationEvent, else STATUS_INVALID_PARAMETER), signalled when
 * InitialState is nonzero, and return an inheritable handle with
 * DesiredAccess (generic rights mapped) in *EventHandle. Returns STATUS_ACCESS_VIOLATION for a bad
 * EventHandle (nothing is created), STATUS_INSUFFICIENT_RESOURCES, or the
 * statuses of ObOpenObjectByPointer. PASSIVE_LEVEL.
 */
NTSTATUS NtCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess, EVENT_TYPE EventType,
                       BOOLEAN InitialState)
{
    PKEVENT Event;
    HANDLE Handle;
    NTSTATUS Status;

    if (EventType != NotificationEvent && EventType != SynchronizationEvent)
        return STATUS_INVALID_PARAMETER;
    Status = ProbeForWrite(EventHandle, sizeof(HANDLE), 1);
    if (!NT_SUCCESS(Status))
        return Status;

    Status = ObCreateObject(ExEventObjectType, sizeof(KEVENT), (PVOID *)&Event);
    if (!NT_SUCCESS(Status))
        return Status;
    KeInitializeEvent(Event, EventType, InitialState != FALSE);
    /* NOTE: Pagoda's NtCreateEvent has no ObjectAttributes to carry
     * OBJ_INHERIT, so event handles are inheritable: a child gets them
     * only when created with CREATE_PROCESS_INHERIT_HANDLES. */
    Status = ObOpenObjectByPointer(Event, OBJ_INHERIT, ExpMapEventAccess(DesiredAccess),
                                   ExEventObjectType, UserMode, &Handle);
    ObDereferenceObject(Event); /* the handle holds it now, or nobody does */
    if (!NT_SUCCESS(Status))
        return Status;

    /* The probe passed, but another thread may have unmapped the page
     * since: then nobody can learn the handle, so take it back. */
    Status = MmCopyToUser(EventHandle, &Handle, sizeof(Handle));
    if (!NT_SUCCESS(Status))
        (void)ObCloseHandle(Handle, UserMode);
    return Status;
}

typedef LONG (*EXP_EVENT_OPERATION)(PRKEVENT Event);

static LONG ExpSetEvent(PRKEVENT Event)
{
    return KeSetEvent(Event, 0, FALSE);
}

static LONG ExpPulseEvent(PRKEVENT Event)
{
    return KePulseEvent(Event, 0, FALSE);
}

static LONG ExpClearEvent(PRKEVENT Event)
{
    KeClearEvent(Event);
    return 0;
}

/* The body of the four event services: probe, reference (needs
 * EVENT_MODIFY_STATE), act, and report the previous state if asked.
 * Inlined into each, so Operation is a direct call. As on
 * NT, a PreviousState that became unwritable after the probe is ignored:
 * the event has changed already. */
static inline __attribute__((always_inline)) NTSTATUS
ExpOperateOnEvent(HANDLE EventHandle, PLONG PreviousState, EXP_EVENT_OPERATION Operation)
{
    PKEVENT Event;
    NTSTATUS Status = ExpProbeOptionalOutput(PreviousState, sizeof(LONG));
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ExpReferenceEvent(EventHandle, EVENT_MODIFY_STATE, &Event);
    if (!NT_SUCCESS(Status))
        return Status;
    LONG Previous = Operation(Event);
    ObDereferenceObject(Event);
    if (PreviousState != NULL)
        (void)MmCopyToUser(PreviousState, &Previous, sizeof(Previous));
    return STATUS_SUCCESS;
}

/*
 * NtSetEvent / NtResetEvent / NtPulseEvent - KeSetEvent / KeResetEvent /
 * KePulseEvent on the event EventHandle names; the optional PreviousState
 * receives the state before (nonzero: it was signalled). NtClearEvent is
 * NtResetEvent without the previous state. Returns STATUS_SUCCESS,
 * STATUS_ACCESS_VIOLATION (bad PreviousState, nothing changed),
 * STATUS_INVALID_HANDLE, STATUS_OBJECT_TYPE_MISMATCH, STATUS_ACCESS_DENIED
 * (no EVENT_MODIFY_STATE). PASSIVE_LEVEL.
 */
NTSTATUS NtSetEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpOperateOnEvent(EventHandle, PreviousState, ExpSetEvent);
}

NTSTATUS NtResetEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpOperateOnEvent(EventHandle, PreviousState, KeResetEvent);
}

NTSTATUS NtPulseEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpOperateOnEvent(EventHandle, PreviousState, ExpPulseEvent);
}

NTSTATUS NtClearEvent(HANDLE EventHandle)
{
    return ExpOperateOnEvent(EventHandle, NULL, ExpClearEvent);
}

/* ------------------------------------------------------------------------
 * Waits
 * ------------------------------------------------------------------------ */

/*
 * NtWaitForSingleObject - wait for the object Handle names (an event, a
 * process, a thread; NtCurrentProcess() and NtCurrentThread() included)
 * until it is signalled or *Timeout passes (NULL: for ever; 0: poll;
 * negative: relative, 100 ns units). Returns STATUS_SUCCESS,
 * STATUS_TIMEOUT, STATUS_ACCESS_VIOLATION (bad Timeout),
 * STATUS_INVALID_HANDLE, STATUS_OBJECT_TYPE_MISMATCH (not waitable).
 * PASSIVE_LEVEL; blocks.
 */
NTSTATUS NtWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    LARGE_INTEGER CapturedTimeout;
    PLARGE_INTEGER KernelTimeout;
    PVOID Object;

    NTSTATUS Status = ExpCaptureTimeout(Timeout, &CapturedTimeout, &KernelTimeout);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ExpReferenceWaitableObject(Handle, &Object);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = KeWaitForSingleObject(Object, UserRequest, UserMode, Alertable != FALSE, KernelTimeout);
    ObDereferenceObject(Object);
    return Status;
}

/*
 * NtWaitForMultipleObjects - wait for Count (1..MAXIMUM_WAIT_OBJECTS)
 * objects named by the user array Handles: WaitAny returns STATUS_WAIT_0 +
 * the index of a signalled one, WaitAll STATUS_SUCCESS once all are
 * signalled together; STATUS_TIMEOUT as for NtWaitForSingleObject.
 * Returns STATUS_INVALID_PARAMETER for a bad Count or WaitType, or the same
 * object twice in a WaitAll (NOTE: NT says STATUS_INVALID_PARAMETER_MIX);
 * STATUS_ACCESS_VIOLATION for a bad Handles or Timeout;
 * STATUS_INSUFFICIENT_RESOURCES when the wait blocks (more than
 * THREAD_WAIT_OBJECTS objects: from nonpaged pool) cannot be had; the
 * handle errors of NtWaitForSingleObject. PASSIVE_LEVEL; blocks.
 */
NTSTATUS NtWaitForMultipleObjects(ULONG Count, HANDLE Handles[], WAIT_TYPE WaitType,
                                  BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    HANDLE CapturedHandles[MAXIMUM_WAIT_OBJECTS];
    PVOID Objects[MAXIMUM_WAIT_OBJECTS];
    LARGE_INTEGER CapturedTimeout;
    PLARGE_INTEGER KernelTimeout;
    PKWAIT_BLOCK WaitBlocks = NULL;
    ULONG Referenced = 0;
    NTSTATUS Status;

    if (Count == 0 || Count > MAXIMUM_WAIT_OBJECTS)
        return STATUS_INVALID_PARAMETER;
    if (WaitType != WaitAny && WaitType != WaitAll)
        return STATUS_INVALID_PARAMETER;
    Status = MmCopyFromUser(CapturedHandles, Handles, Count * sizeof(HANDLE));
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ExpCaptureTimeout(Timeout, &CapturedTimeout, &KernelTimeout);
    if (!NT_SUCCESS(Status))
        return Status;

    for (Referenced = 0; Referenced < Count; Referenced++) {
        Status = ExpReferenceWaitableObject(CapturedHandles[Referenced], &Objects[Referenced]);
        if (!NT_SUCCESS(Status))
            goto deref_objects;
    }
    if (WaitType == WaitAll) {
        for (ULONG i = 0; i < Count; i++) {
            for (ULONG j = i + 1; j < Count; j++) {
                if (Objects[i] == Objects[j]) {
                    Status = STATUS_INVALID_PARAMETER;
                    goto deref_objects;
                }
            }
        }
    }
    if (Count > THREAD_WAIT_OBJECTS) {
        WaitBlocks = ExAllocatePoolWithTag(NonPagedPool, Count * sizeof(KWAIT_BLOCK),
                                           EXP_WAIT_BLOCK_TAG);
        if (WaitBlocks == NULL) {
            Status = STATUS_INSUFFICIENT_RESOURCES;
            goto deref_objects;
        }
    }

    Status = KeWaitForMultipleObjects(Count, Objects, WaitType, UserRequest, UserMode,
                                      Alertable != FALSE, KernelTimeout, WaitBlocks);

    if (WaitBlocks != NULL)
        ExFreePoolWithTag(WaitBlocks, EXP_WAIT_BLOCK_TAG);
deref_objects:
    while (Referenced > 0)
        ObDereferenceObject(Objects[--Referenced]);
    return Status;
}

/*
 * NtDelayExecution - sleep for *Interval (negative: relative; positive: an
 * absolute interrupt time; 100 ns units). Returns STATUS_SUCCESS or
 * STATUS_ACCESS_VIOLATION (bad Interval, NULL included). PASSIVE_LEVEL.
 */
NTSTATUS NtDelayExecution(BOOLEAN Alertable, PLARGE_INTEGER Interval)
{
    LARGE_INTEGER CapturedInterval;
    PLARGE_INTEGER KernelInterval;

    if (Interval == NULL)
        return STATUS_ACCESS_VIOLATION;
    NTSTATUS Status = ExpCaptureTimeout(Interval, &CapturedInterval, &KernelInterval);
    if (!NT_SUCCESS(Status))
        return Status;
    return KeDelayExecutionThread(UserMode, Alertable != FALSE, KernelInterval);
}

/*
 * NtYieldExecution - let another ready thread of the same priority run.
 * STATUS_SUCCESS, or STATUS_NO_YIELD_PERFORMED when there was none.
 */
NTSTATUS NtYieldExecution(void)
{
    return ZwYieldExecution();
}

/* NtGetCurrentProcessorNumber - 0: Pagoda runs on one processor. Does
 * nothing else, which is why the system-call benchmark calls it. */
NTSTATUS NtGetCurrentProcessorNumber(void)
{
    return 0;
}
