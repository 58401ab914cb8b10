/*
 * oblink.c - symbolic link objects and their services:
 * NtCreateSymbolicLinkObject, NtOpenSymbolicLinkObject,
 * NtQuerySymbolicLinkObject; and NtMakeTemporaryObject.
 *
 * A symbolic link is a named object whose body is a path, its target
 * (OBJECT_SYMBOLIC_LINK, the characters in the same pool block). The path
 * walk (ob/obname.c) replaces a link it meets by what the target names:
 * "\??\Ev\X" with \??\Ev -> "\BaseNamedObjects" names \BaseNamedObjects\X.
 * The target is not checked when the link is made; a link to nothing
 * makes every path through it STATUS_OBJECT_PATH_NOT_FOUND (or, as the
 * last component, STATUS_OBJECT_NAME_NOT_FOUND).
 *
 * Locking and IRQL: a link's target never changes after creation, so it
 * is read without a lock by whoever holds a reference, and under
 * ObpNamespaceLock by the walk. Services at PASSIVE_LEVEL.
 */
#include "obp.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"
#include "../include/ntapi.h"

static OBJECT_TYPE ObpSymbolicLinkType;
POBJECT_TYPE ObSymbolicLinkObjectType = &ObpSymbolicLinkType;

ACCESS_MASK ObpMapSymbolicLinkAccess(ACCESS_MASK Access)
{
    if (Access & (GENERIC_READ | GENERIC_EXECUTE))
        Access |= READ_CONTROL | SYMBOLIC_LINK_QUERY;
    if (Access & GENERIC_WRITE)
        Access |= READ_CONTROL;
    if (Access & (GENERIC_ALL | MAXIMUM_ALLOWED))
        Access |= SYMBOLIC_LINK_ALL_ACCESS;
    return Access & SYMBOLIC_LINK_ALL_ACCESS;
}

/* ObCreateSymbolicLink: the contract is in ob/ob.h. */
NTSTATUS ObCreateSymbolicLink(POBJECT_ATTRIBUTES ObjectAttributes, PCUNICODE_STRING LinkTarget,
                              ACCESS_MASK DesiredAccess, KPROCESSOR_MODE AccessMode,
                              PHANDLE Handle)
{
    POBJECT_SYMBOLIC_LINK Link;
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);

    if (ObjectAttributes == NULL || ObjectAttributes->ObjectName == NULL)
        return STATUS_OBJECT_NAME_INVALID;
    NTSTATUS Status = ObCreateObject(ObSymbolicLinkObjectType,
                                     sizeof(OBJECT_SYMBOLIC_LINK) + LinkTarget->Length,
                                     (PVOID *)&Link);
    if (!NT_SUCCESS(Status))
        return Status;
    memcpy(Link->TargetBuffer, LinkTarget->Buffer, LinkTarget->Length);
    Link->LinkTarget.Length = Link->LinkTarget.MaximumLength = LinkTarget->Length;
    Link->LinkTarget.Buffer = Link->TargetBuffer;
    return ObInsertObject(Link, ObjectAttributes, DesiredAccess, AccessMode, Handle);
}

/*
 * NtCreateSymbolicLinkObject - create a link named by ObjectAttributes
 * whose target is *LinkTarget (a path, not checked), and return a handle
 * with DesiredAccess. Returns the statuses of ObCaptureObjectAttributes
 * (for the target too: at most OB_MAXIMUM_NAME_LENGTH bytes) and
 * ObInsertObject. PASSIVE_LEVEL.
 */
NTSTATUS NtCreateSymbolicLinkObject(PHANDLE LinkHandle, ACCESS_MASK DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes,
                                    PUNICODE_STRING LinkTarget)
{
    OB_CAPTURED_ATTRIBUTES Captured;
    UNICODE_STRING Target;
    BOOLEAN TargetInPool;
    HANDLE Handle = NULL;

    NTSTATUS Status = ProbeForWrite(LinkHandle, sizeof(HANDLE), 1);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObpCaptureUnicodeString(LinkTarget, UserMode, OB_MAXIMUM_NAME_LENGTH, &Target,
                                     &TargetInPool);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObCaptureObjectAttributes(ObjectAttributes, UserMode, &Captured);
    if (NT_SUCCESS(Status)) {
        Status = ObCreateSymbolicLink(&Captured.Attributes, &Target,
                                      ObpMapSymbolicLinkAccess(DesiredAccess), UserMode, &Handle);
        ObReleaseObjectAttributes(&Captured);
    }
    if (TargetInPool)
        ExFreePoolWithTag(Target.Buffer, OB_NAME_TAG);
    return ObReturnUserHandle(LinkHandle, Handle, Status);
}

/*
 * NtOpenSymbolicLinkObject - open the link ObjectAttributes names (the
 * link itself, not its target). Returns the statuses of
 * ObOpenObjectByName. PASSIVE_LEVEL.
 */
NTSTATUS NtOpenSymbolicLinkObject(PHANDLE LinkHandle, ACCESS_MASK DesiredAccess,
                                  POBJECT_ATTRIBUTES ObjectAttributes)
{
    OB_CAPTURED_ATTRIBUTES Captured;
    HANDLE Handle = NULL;

    NTSTATUS Status = ProbeForWrite(LinkHandle, sizeof(HANDLE), 1);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObCaptureObjectAttributes(ObjectAttributes, UserMode, &Captured);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObOpenObjectByName(&Captured.Attributes, ObSymbolicLinkObjectType, UserMode,
                                ObpMapSymbolicLinkAccess(DesiredAccess), &Handle);
    ObReleaseObjectAttributes(&Captured);
    return ObReturnUserHandle(LinkHandle, Handle, Status);
}

/*
 * NtQuerySymbolicLinkObject - copy the target of the link LinkHandle
 * names (SYMBOLIC_LINK_QUERY access) into LinkTarget->Buffer, set
 * LinkTarget->Length, and add a NUL when MaximumLength leaves room.
 * *ReturnedLength (optional) receives the target's length in bytes.
 * Returns STATUS_BUFFER_TOO_SMALL (and the length) when MaximumLength is
 * less than the target; STATUS_ACCESS_VIOLATION; the handle statuses.
 * PASSIVE_LEVEL.
 */
NTSTATUS NtQuerySymbolicLinkObject(HANDLE LinkHandle, PUNICODE_STRING LinkTarget,
                                   PULONG ReturnedLength)
{
    UNICODE_STRING User;
    POBJECT_SYMBOLIC_LINK Link;

    NTSTATUS Status = MmCopyFromUser(&User, LinkTarget, sizeof(User));
    if (!NT_SUCCESS(Status))
        return Status;
    if (!NT_SUCCESS(Status = ProbeForWrite(LinkTarget, sizeof(User), 1)) ||
        (ReturnedLength != NULL &&
         !NT_SUCCESS(Status = ProbeForWrite(ReturnedLength, sizeof(ULONG), 1))))
        return Status;
    Status = ObReferenceObjectByHandle(LinkHandle, SYMBOLIC_LINK_QUERY, ObSymbolicLinkObjectType,
                                       UserMode, (PVOID *)&Link, NULL);
    if (!NT_SUCCESS(Status))
        return Status;

    ULONG Length = Link->LinkTarget.Length;
    if (Length > User.MaximumLength) {
        Status = STATUS_BUFFER_TOO_SMALL;
    } else {
        static const WCHAR Nul = 0;
        Status = MmCopyToUser(User.Buffer, Link->LinkTarget.Buffer, Length);
        if (NT_SUCCESS(Status) && Length + sizeof(WCHAR) <= User.MaximumLength)
            Status = MmCopyToUser((PUCHAR)User.Buffer + Length, &Nul, sizeof(Nul));
        User.Length = (USHORT)Length;
        if (NT_SUCCESS(Status))
            Status = MmCopyToUser(LinkTarget, &User, sizeof(User));
    }
    ObDereferenceObject(Link);
    if (ReturnedLength != NULL && (NT_SUCCESS(Status) || Status == STATUS_BUFFER_TOO_SMALL))
        (void)MmCopyToUser(ReturnedLength, &Length, sizeof(Length));
    return Status;
}

/*
 * NtMakeTemporaryObject - make the object Handle names temporary
 * (ObMakeTemporaryObject): its name goes with its last handle. Needs
 * DELETE access, as on NT. An object the kernel made permanent (the
 * namespace's directories and links, drivers, devices) stays:
 * STATUS_ACCESS_DENIED. NOTE: NT refuses that through the objects'
 * security descriptors (Everyone has no DELETE on them); Pagoda has none,
 * and without this rule any program could take \ObjectTypes or \Device
 * out of the namespace (the fuzzer did). Returns STATUS_SUCCESS or the
 * handle statuses. PASSIVE_LEVEL.
 */
NTSTATUS NtMakeTemporaryObject(HANDLE Handle)
{
    PVOID Object;
    NTSTATUS Status = ObReferenceObjectByHandle(Handle, DELETE, NULL, UserMode, &Object, NULL);
    if (!NT_SUCCESS(Status))
        return Status;
    /* The flag is read without ObpNamespaceLock: it is set before the
     * name is published and only ObMakeTemporaryObject clears it. */
    if (OBJECT_TO_OBJECT_HEADER(Object)->Flags & OB_FLAG_KERNEL_PERMANENT) {
        ObDereferenceObject(Object);
        return STATUS_ACCESS_DENIED;
    }
    ObMakeTemporaryObject(Object);
    ObDereferenceObject(Object);
    return STATUS_SUCCESS;
}
