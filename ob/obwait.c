/*
 * obwait.c - the wait services on handles: NtWaitForSingleObject and
 * NtWaitForMultipleObjects. Each handle is turned into a referenced
 * dispatcher object (an event, a mutant, a semaphore, a timer, a process,
 * a thread, or the one a type's DefaultObject names: a file's Event) in the
 * caller's table,
 * and the kernel's KeWaitForSingleObject / KeWaitForMultipleObjects wait
 * on the bodies.
 *
 * Services capture and probe their user inputs first, resolve handles
 * second, act last (ex/event.c's header tells the three steps). The
 * objects stay referenced for the whole wait, so a handle closed meanwhile
 * cannot free what a waiter is linked into. PASSIVE_LEVEL; no lock of
 * their own.
 */
#include "obp.h"
#include "../ex/ex.h"
#include "../ps/ps.h"
#include "../mm/mm.h"
#include "../include/ntapi.h"

/* Pool tag of the wait-block arrays of waits for more than
 * THREAD_WAIT_OBJECTS objects. */
#define OBP_WAIT_BLOCK_TAG POOL_TAG('O', 'b', 'W', 'b')

/*
 * The dispatcher object a wait on Object waits on, or NULL when there is
 * none: the body itself when its Ob type is one whose body starts with a
 * DISPATCHER_HEADER, the object at the type's DefaultObject offset for a
 * type that names one (a file's Event, as NT's DefaultObject); and that
 * header's type must be a waitable KOBJECTS value. The Ob type is checked
 * first because only then is the first byte a dispatcher type at all.
 * A new waitable object type joins the list or sets DefaultObject.
 */
static PVOID ObpGetWaitObject(PVOID Object)
{
    POBJECT_TYPE Type = ObGetObjectType(Object);
    PVOID WaitObject = Object;
    if (Type != ExEventObjectType && Type != ExMutantObjectType && Type != ExSemaphoreObjectType &&
        Type != ExTimerObjectType && Type != PsProcessType && Type != PsThreadType) {
        if (Type->DefaultObject == 0)
            return NULL;
        WaitObject = (PUCHAR)Object + Type->DefaultObject;
    }
    switch (((PDISPATCHER_HEADER)WaitObject)->Type) {
    case EventNotificationObject:
    case EventSynchronizationObject:
    case MutantObject:
    case SemaphoreObject:
    case ProcessObject:
    case ThreadObject:
    case TimerNotificationObject:
    case TimerSynchronizationObject:
        return WaitObject;
    default:
        return NULL;
    }
}

/* Reference what a wait handle names, which needs SYNCHRONIZE access as
 * on NT, and find what to wait on (*WaitObject, ObpGetWaitObject); *Object
 * is NULL on failure. The pseudo handles are taken only with AllowPseudo
 * (NtWaitForSingleObject; NtWaitForMultipleObjects, as NT's, looks its
 * handles up in the table alone: STATUS_INVALID_HANDLE). */
static NTSTATUS ObpReferenceWaitableObject(HANDLE Handle, BOOLEAN AllowPseudo, PVOID *Object,
                                           PVOID *WaitObject)
{
    NTSTATUS Status;

    *Object = NULL;
    if (!AllowPseudo && ObIsPseudoHandle(Handle))
        return STATUS_INVALID_HANDLE;
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
        Status = ObReferenceObjectByHandle(Handle, SYNCHRONIZE, NULL, UserMode, Object, NULL);
    }
    if (!NT_SUCCESS(Status))
        return Status;
    *WaitObject = ObpGetWaitObject(*Object);
    if (*WaitObject == NULL) {
        ObDereferenceObject(*Object);
        *Object = NULL;
        return STATUS_OBJECT_TYPE_MISMATCH;
    }
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------
 * Waits
 * ------------------------------------------------------------------------ */

/*
 * NtWaitForSingleObject - wait for the object Handle names (an event, a
 * mutant, a semaphore, a timer, a process, a thread, a file: its Event,
 * set when a request on it ends; NtCurrentProcess() and NtCurrentThread()
 * included) until it is signalled or *Timeout passes
 * (NULL: for ever; 0: poll; negative: relative, 100 ns units). Returns
 * STATUS_SUCCESS, STATUS_ABANDONED_WAIT_0 (an abandoned mutant, now the
 * caller's), STATUS_TIMEOUT; an Alertable wait also STATUS_ALERTED or
 * STATUS_USER_APC (the APC has run when the caller sees it); STATUS_ACCESS_VIOLATION (bad Timeout),
 * STATUS_INVALID_HANDLE, STATUS_ACCESS_DENIED (no SYNCHRONIZE),
 * STATUS_OBJECT_TYPE_MISMATCH (not waitable).
 * PASSIVE_LEVEL; blocks.
 */
NTSTATUS NtWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    LARGE_INTEGER CapturedTimeout;
    PLARGE_INTEGER KernelTimeout;
    PVOID Object, WaitObject;

    NTSTATUS Status = KeCaptureUserTimeout(Timeout, &CapturedTimeout, &KernelTimeout);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObpReferenceWaitableObject(Handle, TRUE, &Object, &WaitObject);
    if (!NT_SUCCESS(Status))
        return Status;
    Status =
        KeWaitForSingleObject(WaitObject, UserRequest, UserMode, Alertable != FALSE, KernelTimeout);
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
 * handle errors of NtWaitForSingleObject, and STATUS_INVALID_HANDLE for
 * the pseudo handles NtCurrentProcess() and NtCurrentThread(), which only
 * NtWaitForSingleObject accepts (as on NT). PASSIVE_LEVEL; blocks.
 */
NTSTATUS NtWaitForMultipleObjects(ULONG Count, HANDLE Handles[], WAIT_TYPE WaitType,
                                  BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    HANDLE CapturedHandles[MAXIMUM_WAIT_OBJECTS];
    PVOID Objects[MAXIMUM_WAIT_OBJECTS];
    PVOID WaitObjects[MAXIMUM_WAIT_OBJECTS];
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
    Status = KeCaptureUserTimeout(Timeout, &CapturedTimeout, &KernelTimeout);
    if (!NT_SUCCESS(Status))
        return Status;

    for (Referenced = 0; Referenced < Count; Referenced++) {
        Status = ObpReferenceWaitableObject(CapturedHandles[Referenced], FALSE,
                                            &Objects[Referenced], &WaitObjects[Referenced]);
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
                                           OBP_WAIT_BLOCK_TAG);
        if (WaitBlocks == NULL) {
            Status = STATUS_INSUFFICIENT_RESOURCES;
            goto deref_objects;
        }
    }

    Status = KeWaitForMultipleObjects(Count, WaitObjects, WaitType, UserRequest, UserMode,
                                      Alertable != FALSE, KernelTimeout, WaitBlocks);

    if (WaitBlocks != NULL)
        ExFreePoolWithTag(WaitBlocks, OBP_WAIT_BLOCK_TAG);
deref_objects:
    while (Referenced > 0)
        ObDereferenceObject(Objects[--Referenced]);
    return Status;
}

