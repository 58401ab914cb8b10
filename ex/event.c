/*
 * event.c - the Event object type and its services: NtCreateEvent,
 * NtSetEvent, NtResetEvent, NtClearEvent, NtPulseEvent.
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
 * An Event object is an OBJECT_HEADER followed by a KEVENT (ob/ob.h):
 * the body is what KeSetEvent and KeWaitForSingleObject take, so a handle
 * turns into a dispatcher object with one ObReferenceObjectByHandle.
 *
 * Access: event handles carry NT's event rights (ex/ex.h) and
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
#include "exdisp.h"
#include "../ps/ps.h"
#include "../mm/mm.h"
#include "../include/ntapi.h"

/* Generic rights (winnt.h) and what they mean for an event. */
#define GENERIC_READ       0x80000000u
#define GENERIC_WRITE      0x40000000u
#define GENERIC_EXECUTE    0x20000000u
#define GENERIC_ALL        0x10000000u
#define MAXIMUM_ALLOWED    0x02000000u
#define STANDARD_RIGHTS_READ 0x00020000u

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

