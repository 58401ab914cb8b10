/*
 * event.c - the Event object type and its services: NtCreateEvent,
 * NtOpenEvent, NtSetEvent, NtResetEvent, NtClearEvent, NtPulseEvent.
 *
 * Every service works in three steps (STYLE.md, "validate and capture"):
 *
 *   1. capture  copy each input that lives in user memory (a handle array,
 *               a timeout, OBJECT_ATTRIBUTES and the name they point to)
 *               into kernel memory with MmCopyFromUser, and
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
 * An Event object is an OBJECT_HEADER followed by a KEVENT (ob/ob.h):
 * the body is what KeSetEvent and KeWaitForSingleObject take, so a handle
 * turns into a dispatcher object with one ObReferenceObjectByHandle.
 *
 * Names: an event named by its OBJECT_ATTRIBUTES ("\BaseNamedObjects\Work")
 * goes into the object namespace (ob/obname.c), where NtOpenEvent in any
 * process finds it; its name lives until its last handle closes.
 * Inheritance is the caller's choice: OBJ_INHERIT in the attributes.
 *
 * Access: event handles carry NT's event rights (ex/ex.h) and
 * NtSetEvent & co. need EVENT_MODIFY_STATE, waits SYNCHRONIZE
 * (ob/obwait.c), as on NT.
 *
 * Locking and IRQL: every service runs at PASSIVE_LEVEL on the caller's
 * thread, with the caller's address space current, and takes no lock of
 * its own (Ob and Ke lock inside). Objects stay referenced for as long as
 * a service uses them - across a wait too - so closing a handle meanwhile
 * cannot free what a waiter is linked into.
 */
#include "exdisp.h"
#include "../ps/ps.h"
#include "../mm/mm.h"
#include "../include/ntapi.h"

static OBJECT_TYPE ExpEventObjectType;
POBJECT_TYPE ExEventObjectType = &ExpEventObjectType;

/*
 * ExpInitializeExecutiveObjects - register the Event type (body: KEVENT,
 * nothing to release on delete), then the Mutant, Semaphore and Timer
 * types (ex/mutant.c, ex/semaphore.c, ex/timer.c). Idempotent, so tests
 * may call it too. PASSIVE_LEVEL, at boot.
 */
void ExpInitializeExecutiveObjects(void)
{
    if (!ExpEventObjectType.Initialized)
        ObInitializeObjectType(&ExpEventObjectType, "Event", NULL);
    ExpInitializeMutantType();
    ExpInitializeSemaphoreType();
    ExpInitializeTimerType();
}

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* An optional output the service writes at the end: probe it now. */
static NTSTATUS ExpProbeOptionalOutput(PVOID Output, SIZE_T Length)
{
    return Output != NULL ? ProbeForWrite(Output, Length, 1) : STATUS_SUCCESS;
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
    if (ObIsPseudoHandle(Handle))
        return STATUS_OBJECT_TYPE_MISMATCH;
    return ObReferenceObjectByHandle(Handle, Access, ExEventObjectType, UserMode, (PVOID *)Event,
                                     NULL);
}

/* ------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------ */

/*
 * NtCreateEvent - create an event (EventType NotificationEvent or
 * SynchronizationEvent, else STATUS_INVALID_PARAMETER), signalled when
 * InitialState is nonzero, and return a handle with DesiredAccess (generic
 * rights mapped) in *EventHandle. ObjectAttributes may be NULL (no name, a
 * handle that is not inherited); its OBJ_INHERIT makes the handle
 * inheritable, its name (with RootDirectory) puts the event in the
 * namespace, OBJ_OPENIF opens an existing event of that name instead
 * (STATUS_OBJECT_NAME_EXISTS), OBJ_PERMANENT keeps the name after the last
 * handle. Returns STATUS_ACCESS_VIOLATION for a bad EventHandle or
 * ObjectAttributes (nothing is created), STATUS_INSUFFICIENT_RESOURCES, the
 * statuses of ObCaptureObjectAttributes and ObInsertObject
 * (STATUS_OBJECT_NAME_COLLISION, STATUS_OBJECT_PATH_NOT_FOUND, ...).
 * PASSIVE_LEVEL.
 */
NTSTATUS NtCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                       POBJECT_ATTRIBUTES ObjectAttributes, EVENT_TYPE EventType,
                       BOOLEAN InitialState)
{
    OB_CAPTURED_ATTRIBUTES Captured;
    PKEVENT Event;
    HANDLE Handle = NULL;
    NTSTATUS Status;

    if (EventType != NotificationEvent && EventType != SynchronizationEvent)
        return STATUS_INVALID_PARAMETER;
    Status = ProbeForWrite(EventHandle, sizeof(HANDLE), 1);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObCaptureObjectAttributes(ObjectAttributes, UserMode, &Captured);
    if (!NT_SUCCESS(Status))
        return Status;

    Status = ObCreateObject(ExEventObjectType, sizeof(KEVENT), (PVOID *)&Event);
    if (NT_SUCCESS(Status)) {
        KeInitializeEvent(Event, EventType, InitialState != FALSE);
        /* Consumes our reference: the handle holds the event now, or
         * nobody does (with STATUS_OBJECT_NAME_EXISTS, the handle is to
         * the event that had the name). */
        Status = ObInsertObject(Event, &Captured.Attributes, ExpMapEventAccess(DesiredAccess),
                                UserMode, &Handle);
    }
    ObReleaseObjectAttributes(&Captured);
    return ObReturnUserHandle(EventHandle, Handle, Status);
}

/*
 * NtOpenEvent - open the event ObjectAttributes names, with DesiredAccess
 * (generic rights mapped) and the handle attributes it gives (OBJ_INHERIT).
 * Returns STATUS_SUCCESS; STATUS_ACCESS_VIOLATION (bad EventHandle or
 * ObjectAttributes); STATUS_OBJECT_NAME_INVALID (no name); the look-up
 * statuses of ObOpenObjectByName (STATUS_OBJECT_NAME_NOT_FOUND,
 * STATUS_OBJECT_PATH_NOT_FOUND, STATUS_OBJECT_TYPE_MISMATCH when the name
 * is not an event, ...). PASSIVE_LEVEL.
 */
NTSTATUS NtOpenEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                     POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ExpOpenNamedObject(EventHandle, ExpMapEventAccess(DesiredAccess), ObjectAttributes,
                              ExEventObjectType);
}

typedef LONG (*EXP_EVENT_OPERATION)(PRKEVENT Event);

/* NtSetEvent and NtPulseEvent boost the threads they wake by
 * EVENT_INCREMENT, as on NT (kernel/sched.c explains boosts). */
static LONG ExpSetEvent(PRKEVENT Event)
{
    return KeSetEvent(Event, EVENT_INCREMENT, FALSE);
}

static LONG ExpPulseEvent(PRKEVENT Event)
{
    return KePulseEvent(Event, EVENT_INCREMENT, FALSE);
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

