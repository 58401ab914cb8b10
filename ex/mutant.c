/*
 * mutant.c - the Mutant object type and its services: NtCreateMutant,
 * NtOpenMutant, NtReleaseMutant, NtQueryMutant. (Win32 calls a mutant a
 * "mutex".) A mutant named by its OBJECT_ATTRIBUTES goes into the object
 * namespace, where NtOpenMutant in another process finds it.
 *
 * A Mutant object is an OBJECT_HEADER followed by a KMUTANT
 * (kernel/mutant.c): ownership, recursion and abandonment are the
 * kernel's. Deleting the object while a thread still owns it abandons it
 * first (the KMUTANT leaves its owner's mutant list before the memory goes).
 *
 * Services follow ex/event.c's three steps (capture, resolve, act).
 * PASSIVE_LEVEL, on the caller's thread; no lock of their own.
 */
#include "exdisp.h"
#include "../mm/mm.h"

static OBJECT_TYPE ExpMutantObjectType;
POBJECT_TYPE ExMutantObjectType = &ExpMutantObjectType;

/* The last reference went: a mutant still owned is abandoned, so that it
 * is off its owner's list (kernel/mutant.c). Any IRQL <= DISPATCH_LEVEL. */
static void ExpDeleteMutant(PVOID Object)
{
    PKMUTANT Mutant = Object;

    if (Mutant->OwnerThread != NULL)
        (void)KeReleaseMutant(Mutant, MUTANT_INCREMENT, TRUE, NULL);
}

/* Register the Mutant type (idempotent). PASSIVE_LEVEL, at boot. */
void ExpInitializeMutantType(void)
{
    if (!ExpMutantObjectType.Initialized)
        ObInitializeObjectType(&ExpMutantObjectType, "Mutant", ExpDeleteMutant);
}

/* Generic rights mapped onto mutant rights. */
static ACCESS_MASK ExpMapMutantAccess(ACCESS_MASK DesiredAccess)
{
    return ExpMapGenericAccess(DesiredAccess, STANDARD_RIGHTS_READ | MUTANT_QUERY_STATE,
                               STANDARD_RIGHTS_READ, STANDARD_RIGHTS_READ | SYNCHRONIZE,
                               MUTANT_ALL_ACCESS);
}

/*
 * NtCreateMutant - create a mutant, owned by the calling thread when
 * InitialOwner is nonzero, and return a handle with DesiredAccess (generic
 * rights mapped) in *MutantHandle. ObjectAttributes (optional) gives the
 * handle OBJ_INHERIT and the mutant a name; with OBJ_OPENIF and the name
 * taken by a mutant, that one is opened (STATUS_OBJECT_NAME_EXISTS;
 * InitialOwner does not apply to it). Returns STATUS_ACCESS_VIOLATION for
 * a bad MutantHandle or ObjectAttributes (nothing is created),
 * STATUS_INSUFFICIENT_RESOURCES, the statuses of ObCaptureObjectAttributes
 * and ObInsertObject. PASSIVE_LEVEL.
 */
NTSTATUS NtCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                        POBJECT_ATTRIBUTES ObjectAttributes, BOOLEAN InitialOwner)
{
    OB_CAPTURED_ATTRIBUTES Captured;
    PKMUTANT Mutant;

    NTSTATUS Status = ProbeForWrite(MutantHandle, sizeof(HANDLE), 1);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObCaptureObjectAttributes(ObjectAttributes, UserMode, &Captured);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObCreateObject(ExMutantObjectType, sizeof(KMUTANT), (PVOID *)&Mutant);
    if (NT_SUCCESS(Status)) {
        KeInitializeMutant(Mutant, InitialOwner != FALSE);
        Status = ExpInsertNewObject(Mutant, &Captured.Attributes,
                                    ExpMapMutantAccess(DesiredAccess), MutantHandle);
    }
    ObReleaseObjectAttributes(&Captured);
    return Status;
}

/*
 * NtOpenMutant - open the mutant ObjectAttributes names, with
 * DesiredAccess (generic rights mapped). Returns the statuses of
 * ExpOpenNamedObject (STATUS_OBJECT_NAME_NOT_FOUND,
 * STATUS_OBJECT_TYPE_MISMATCH, ...). PASSIVE_LEVEL.
 */
NTSTATUS NtOpenMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                      POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ExpOpenNamedObject(MutantHandle, ExpMapMutantAccess(DesiredAccess), ObjectAttributes,
                              ExMutantObjectType);
}

/*
 * NtReleaseMutant - release the mutant MutantHandle names once; the
 * optional *PreviousCount receives its count before. Returns
 * STATUS_SUCCESS, STATUS_MUTANT_NOT_OWNED (the caller does not own it;
 * nothing changes), STATUS_ACCESS_VIOLATION (bad PreviousCount, nothing
 * changes), STATUS_INVALID_HANDLE, STATUS_OBJECT_TYPE_MISMATCH. As on NT
 * the handle needs no particular right: only the owner can release.
 * PASSIVE_LEVEL.
 */
NTSTATUS NtReleaseMutant(HANDLE MutantHandle, PLONG PreviousCount)
{
    PKMUTANT Mutant;
    LONG Previous;

    if (PreviousCount != NULL) {
        NTSTATUS Status = ProbeForWrite(PreviousCount, sizeof(LONG), 1);
        if (!NT_SUCCESS(Status))
            return Status;
    }
    NTSTATUS Status = ExpReferenceByHandle(MutantHandle, 0, ExMutantObjectType,
                                           (PVOID *)&Mutant);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = KeReleaseMutant(Mutant, MUTANT_INCREMENT, FALSE, &Previous);
    ObDereferenceObject(Mutant);
    if (NT_SUCCESS(Status) && PreviousCount != NULL)
        (void)MmCopyToUser(PreviousCount, &Previous, sizeof(Previous));
    return Status;
}

/*
 * NtQueryMutant - MutantBasicInformation: the count, whether the caller
 * owns it, whether it is abandoned. Needs MUTANT_QUERY_STATE. Returns
 * STATUS_SUCCESS, STATUS_INVALID_INFO_CLASS, STATUS_INFO_LENGTH_MISMATCH,
 * STATUS_ACCESS_VIOLATION, the handle errors. PASSIVE_LEVEL.
 */
NTSTATUS NtQueryMutant(HANDLE MutantHandle, MUTANT_INFORMATION_CLASS InformationClass,
                       PVOID Information, ULONG Length, PULONG ReturnLength)
{
    MUTANT_BASIC_INFORMATION Answer = {0};
    PKMUTANT Mutant;

    if (InformationClass != MutantBasicInformation)
        return STATUS_INVALID_INFO_CLASS;
    NTSTATUS Status = ExpProbeQueryBuffers(Information, Length, sizeof(Answer), ReturnLength);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ExpReferenceByHandle(MutantHandle, MUTANT_QUERY_STATE, ExMutantObjectType,
                                  (PVOID *)&Mutant);
    if (!NT_SUCCESS(Status))
        return Status;
    Answer.CurrentCount = KeReadStateMutex(Mutant);
    Answer.OwnedByCaller = Mutant->OwnerThread == KeGetCurrentThread();
    Answer.AbandonedState = Mutant->Abandoned;
    ObDereferenceObject(Mutant);
    return ExpCopyQueryResult(Information, &Answer, sizeof(Answer), ReturnLength);
}
