/*
 * exdisp.c - helpers shared by the services of the dispatcher-object types
 * (mutants, semaphores, timers): generic-rights mapping, handing a new
 * object to user mode (named, if its attributes say so), opening one by
 * its name, the probes and copies of the query services.
 *
 * They follow ex/event.c's three steps (capture, resolve, act). All run at
 * PASSIVE_LEVEL on the caller's thread and take no lock of their own.
 */
#include "exdisp.h"
#include "../mm/mm.h"

/* ExpMapGenericAccess: see ex/exdisp.h. */
ACCESS_MASK ExpMapGenericAccess(ACCESS_MASK Access, ACCESS_MASK Read, ACCESS_MASK Write,
                                ACCESS_MASK Execute, ACCESS_MASK All)
{
    if (Access & GENERIC_READ)
        Access |= Read;
    if (Access & GENERIC_WRITE)
        Access |= Write;
    if (Access & GENERIC_EXECUTE)
        Access |= Execute;
    if (Access & (GENERIC_ALL | MAXIMUM_ALLOWED))
        Access |= All;
    return Access & All;
}

/* ExpInsertNewObject: see ex/exdisp.h. */
NTSTATUS ExpInsertNewObject(PVOID Object, POBJECT_ATTRIBUTES Attributes, ACCESS_MASK Access,
                            PHANDLE UserHandle)
{
    HANDLE Handle = NULL;

    NTSTATUS Status = ObInsertObject(Object, Attributes, Access, UserMode, &Handle);
    return ObReturnUserHandle(UserHandle, Handle, Status);
}

/* ExpOpenNamedObject: see ex/exdisp.h. */
NTSTATUS ExpOpenNamedObject(PHANDLE UserHandle, ACCESS_MASK Access,
                            POBJECT_ATTRIBUTES ObjectAttributes, POBJECT_TYPE Type)
{
    OB_CAPTURED_ATTRIBUTES Captured;
    HANDLE Handle = NULL;

    NTSTATUS Status = ProbeForWrite(UserHandle, sizeof(HANDLE), 1);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObCaptureObjectAttributes(ObjectAttributes, UserMode, &Captured);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObOpenObjectByName(&Captured.Attributes, Type, UserMode, Access, &Handle);
    ObReleaseObjectAttributes(&Captured);
    return ObReturnUserHandle(UserHandle, Handle, Status);
}

/* ExpProbeQueryBuffers: see ex/exdisp.h. */
NTSTATUS ExpProbeQueryBuffers(PVOID Information, ULONG Length, ULONG Size, PULONG ReturnLength)
{
    if (Length < Size)
        return STATUS_INFO_LENGTH_MISMATCH;
    NTSTATUS Status = ProbeForWrite(Information, Size, 1);
    if (NT_SUCCESS(Status) && ReturnLength != NULL)
        Status = ProbeForWrite(ReturnLength, sizeof(ULONG), 1);
    return Status;
}

/* ExpCopyQueryResult: see ex/exdisp.h. */
NTSTATUS ExpCopyQueryResult(PVOID Information, const void *Answer, ULONG Size,
                            PULONG ReturnLength)
{
    NTSTATUS Status = MmCopyToUser(Information, Answer, Size);
    if (NT_SUCCESS(Status) && ReturnLength != NULL)
        Status = MmCopyToUser(ReturnLength, &Size, sizeof(Size));
    return Status;
}

/* ExpReferenceByHandle: see ex/exdisp.h. */
NTSTATUS ExpReferenceByHandle(HANDLE Handle, ACCESS_MASK Access, POBJECT_TYPE Type,
                              PVOID *Object)
{
    if (ObIsPseudoHandle(Handle))
        return STATUS_OBJECT_TYPE_MISMATCH;
    return ObReferenceObjectByHandle(Handle, Access, Type, UserMode, Object, NULL);
}
