/*
 * semaphore.c - the Semaphore object type and its services:
 * NtCreateSemaphore, NtOpenSemaphore, NtReleaseSemaphore, NtQuerySemaphore.
 * A semaphore named by its OBJECT_ATTRIBUTES goes into the object
 * namespace, where NtOpenSemaphore in another process finds it.
 *
 * A Semaphore object is an OBJECT_HEADER followed by a KSEMAPHORE
 * (kernel/semaphore.c). Services follow ex/event.c's three steps.
 * PASSIVE_LEVEL, on the caller's thread; no lock of their own.
 */
#include "exdisp.h"
#include "../mm/mm.h"

static OBJECT_TYPE ExpSemaphoreObjectType;
POBJECT_TYPE ExSemaphoreObjectType = &ExpSemaphoreObjectType;

/* Register the Semaphore type (idempotent). PASSIVE_LEVEL, at boot. */
void ExpInitializeSemaphoreType(void)
{
    if (!ExpSemaphoreObjectType.Initialized)
        ObInitializeObjectType(&ExpSemaphoreObjectType, "Semaphore", NULL);
}

/* Generic rights mapped onto semaphore rights. */
static ACCESS_MASK ExpMapSemaphoreAccess(ACCESS_MASK DesiredAccess)
{
    return ExpMapGenericAccess(DesiredAccess, STANDARD_RIGHTS_READ | SEMAPHORE_QUERY_STATE,
                               STANDARD_RIGHTS_READ | SEMAPHORE_MODIFY_STATE,
                               STANDARD_RIGHTS_READ | SYNCHRONIZE, SEMAPHORE_ALL_ACCESS);
}

/*
 * NtCreateSemaphore - create a semaphore with InitialCount free units out
 * of MaximumCount and return a handle with DesiredAccess (generic rights
 * mapped) in *SemaphoreHandle. ObjectAttributes (optional) gives the handle
 * OBJ_INHERIT and the semaphore a name (OBJ_OPENIF: open the semaphore
 * that has it, STATUS_OBJECT_NAME_EXISTS). STATUS_INVALID_PARAMETER unless
 * 0 <= InitialCount <= MaximumCount and MaximumCount > 0;
 * STATUS_ACCESS_VIOLATION for a bad SemaphoreHandle or ObjectAttributes;
 * STATUS_INSUFFICIENT_RESOURCES; the statuses of ObCaptureObjectAttributes
 * and ObInsertObject. PASSIVE_LEVEL.
 */
NTSTATUS NtCreateSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                           POBJECT_ATTRIBUTES ObjectAttributes, LONG InitialCount,
                           LONG MaximumCount)
{
    OB_CAPTURED_ATTRIBUTES Captured;
    PKSEMAPHORE Semaphore;

    if (MaximumCount <= 0 || InitialCount < 0 || InitialCount > MaximumCount)
        return STATUS_INVALID_PARAMETER;
    NTSTATUS Status = ProbeForWrite(SemaphoreHandle, sizeof(HANDLE), 1);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObCaptureObjectAttributes(ObjectAttributes, UserMode, &Captured);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObCreateObject(ExSemaphoreObjectType, sizeof(KSEMAPHORE), (PVOID *)&Semaphore);
    if (NT_SUCCESS(Status)) {
        KeInitializeSemaphore(Semaphore, InitialCount, MaximumCount);
        Status = ExpInsertNewObject(Semaphore, &Captured.Attributes,
                                    ExpMapSemaphoreAccess(DesiredAccess), SemaphoreHandle);
    }
    ObReleaseObjectAttributes(&Captured);
    return Status;
}

/*
 * NtOpenSemaphore - open the semaphore ObjectAttributes names, with
 * DesiredAccess (generic rights mapped). Returns the statuses of
 * ExpOpenNamedObject. PASSIVE_LEVEL.
 */
NTSTATUS NtOpenSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                         POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ExpOpenNamedObject(SemaphoreHandle, ExpMapSemaphoreAccess(DesiredAccess),
                              ObjectAttributes, ExSemaphoreObjectType);
}

/*
 * NtReleaseSemaphore - add ReleaseCount (> 0, else STATUS_INVALID_PARAMETER)
 * units to the semaphore, waking up to that many waiters (boosted by
 * SEMAPHORE_INCREMENT); the optional *PreviousCount receives the count
 * before. STATUS_SEMAPHORE_LIMIT_EXCEEDED when the count would pass the
 * maximum (nothing changes). Needs SEMAPHORE_MODIFY_STATE. Also
 * STATUS_ACCESS_VIOLATION and the handle errors. PASSIVE_LEVEL.
 */
NTSTATUS NtReleaseSemaphore(HANDLE SemaphoreHandle, LONG ReleaseCount, PLONG PreviousCount)
{
    PKSEMAPHORE Semaphore;
    LONG Previous;

    if (ReleaseCount <= 0)
        return STATUS_INVALID_PARAMETER;
    if (PreviousCount != NULL) {
        NTSTATUS Status = ProbeForWrite(PreviousCount, sizeof(LONG), 1);
        if (!NT_SUCCESS(Status))
            return Status;
    }
    NTSTATUS Status = ExpReferenceByHandle(SemaphoreHandle, SEMAPHORE_MODIFY_STATE,
                                           ExSemaphoreObjectType, (PVOID *)&Semaphore);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = KeReleaseSemaphoreChecked(Semaphore, SEMAPHORE_INCREMENT, ReleaseCount, &Previous);
    ObDereferenceObject(Semaphore);
    if (NT_SUCCESS(Status) && PreviousCount != NULL)
        (void)MmCopyToUser(PreviousCount, &Previous, sizeof(Previous));
    return Status;
}

/*
 * NtQuerySemaphore - SemaphoreBasicInformation: the count and the maximum.
 * Needs SEMAPHORE_QUERY_STATE. Returns STATUS_SUCCESS,
 * STATUS_INVALID_INFO_CLASS, STATUS_INFO_LENGTH_MISMATCH,
 * STATUS_ACCESS_VIOLATION, the handle errors. PASSIVE_LEVEL.
 */
NTSTATUS NtQuerySemaphore(HANDLE SemaphoreHandle, SEMAPHORE_INFORMATION_CLASS InformationClass,
                          PVOID Information, ULONG Length, PULONG ReturnLength)
{
    SEMAPHORE_BASIC_INFORMATION Answer;
    PKSEMAPHORE Semaphore;

    if (InformationClass != SemaphoreBasicInformation)
        return STATUS_INVALID_INFO_CLASS;
    NTSTATUS Status = ExpProbeQueryBuffers(Information, Length, sizeof(Answer), ReturnLength);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ExpReferenceByHandle(SemaphoreHandle, SEMAPHORE_QUERY_STATE, ExSemaphoreObjectType,
                                  (PVOID *)&Semaphore);
    if (!NT_SUCCESS(Status))
        return Status;
    Answer.CurrentCount = KeReadStateSemaphore(Semaphore);
    Answer.MaximumCount = Semaphore->Limit;
    ObDereferenceObject(Semaphore);
    return ExpCopyQueryResult(Information, &Answer, sizeof(Answer), ReturnLength);
}
