/*
 * obname.c - names in, objects out: capturing OBJECT_ATTRIBUTES from user
 * mode, walking a path through directories and symbolic links, and the
 * three routines built on the walk: ObInsertObject (give a new object its
 * name and a handle), ObOpenObjectByName and ObReferenceObjectByName.
 *
 * A path is "\A\B\C" from the root, or "B\C" from a RootDirectory handle.
 * Each component is looked up in the directory the previous one named;
 * a symbolic link on the way is replaced by the object its target names
 * (itself looked up from the root, at most OB_MAXIMUM_REPARSE links deep).
 * The last component is what a create names and an open opens:
 *
 *   "\BaseNamedObjects\Work"   Parent = \BaseNamedObjects, Component = "Work"
 *   "\??\Lnk\X" with \??\Lnk -> "\BaseNamedObjects":
 *                              Parent = \BaseNamedObjects, Component = "X"
 *
 * Locking and IRQL: the walk runs under ObpNamespaceLock (ob/obdir.c), and
 * so does what is done with its result - the new name linked in, or the
 * handle opened - so nothing can close the last handle of what it found
 * in between. The services call these at PASSIVE_LEVEL; the lock raises
 * to DISPATCH_LEVEL while held.
 */
#include "obp.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"

/* ------------------------------------------------------------------------
 * Capture
 * ------------------------------------------------------------------------ */

NTSTATUS ObpCaptureUnicodeString(PCUNICODE_STRING String, KPROCESSOR_MODE Mode,
                                 ULONG MaximumBytes, PUNICODE_STRING Captured, BOOLEAN *InPool)
{
    UNICODE_STRING Copy;
    *InPool = FALSE;
    memset(Captured, 0, sizeof(*Captured));

    if (Mode == KernelMode) {
        Copy = *String;
    } else {
        NTSTATUS Status = MmCopyFromUser(&Copy, String, sizeof(Copy));
        if (!NT_SUCCESS(Status))
            return Status;
    }
    if ((Copy.Length & 1) != 0 || Copy.Length > Copy.MaximumLength)
        return STATUS_OBJECT_NAME_INVALID;
    if (Copy.Length > MaximumBytes)
        return STATUS_NAME_TOO_LONG;
    if (Mode == KernelMode || Copy.Length == 0) {
        *Captured = Copy;
        Captured->MaximumLength = Copy.Length;
        return STATUS_SUCCESS;
    }

    /* The characters go to pool, so another thread of the caller cannot
     * change them between the checks and the look-up. */
    PWSTR Buffer = ExAllocatePoolWithTag(NonPagedPool, Copy.Length, OB_NAME_TAG);
    if (Buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS Status = MmCopyFromUser(Buffer, Copy.Buffer, Copy.Length);
    if (!NT_SUCCESS(Status)) {
        ExFreePoolWithTag(Buffer, OB_NAME_TAG);
        return Status;
    }
    Captured->Length = Captured->MaximumLength = Copy.Length;
    Captured->Buffer = Buffer;
    *InPool = TRUE;
    return STATUS_SUCCESS;
}

NTSTATUS ObCaptureObjectAttributes(POBJECT_ATTRIBUTES ObjectAttributes, KPROCESSOR_MODE Mode,
                                   POB_CAPTURED_ATTRIBUTES Captured)
{
    OBJECT_ATTRIBUTES Copy;
    memset(Captured, 0, sizeof(*Captured));
    if (ObjectAttributes == NULL)
        return STATUS_SUCCESS;

    if (Mode == KernelMode) {
        Copy = *ObjectAttributes;
    } else {
        NTSTATUS Status = MmCopyFromUser(&Copy, ObjectAttributes, sizeof(Copy));
        if (!NT_SUCCESS(Status))
            return Status;
    }
    if (Copy.Length != sizeof(OBJECT_ATTRIBUTES) || (Copy.Attributes & ~OBJ_VALID_ATTRIBUTES))
        return STATUS_INVALID_PARAMETER;
    /* OBJ_KERNEL_HANDLE from user mode is ignored, as on NT. */
    if (Mode != KernelMode)
        Copy.Attributes &= ~(ULONG)OBJ_KERNEL_HANDLE;

    Captured->Attributes = Copy;
    Captured->Attributes.ObjectName = NULL;
    Captured->Attributes.SecurityDescriptor = NULL;       /* NOTE: no security model yet */
    Captured->Attributes.SecurityQualityOfService = NULL;
    if (Copy.ObjectName == NULL)
        return STATUS_SUCCESS;
    NTSTATUS Status = ObpCaptureUnicodeString(Copy.ObjectName, Mode, OB_MAXIMUM_NAME_LENGTH,
                                              &Captured->Name, &Captured->NameInPool);
    if (!NT_SUCCESS(Status))
        return Status;
    Captured->Attributes.ObjectName = &Captured->Name;
    return STATUS_SUCCESS;
}

void ObReleaseObjectAttributes(POB_CAPTURED_ATTRIBUTES Captured)
{
    if (Captured->NameInPool)
        ExFreePoolWithTag(Captured->Name.Buffer, OB_NAME_TAG);
    Captured->NameInPool = FALSE;
    Captured->Name.Buffer = NULL;
}

/* ------------------------------------------------------------------------
 * The walk (ObpNamespaceLock held)
 * ------------------------------------------------------------------------ */

typedef struct _OBP_LOOKUP {
    POBJECT_DIRECTORY Parent;       /* holds (or would hold) the last component; NULL for \ */
    UNICODE_STRING Component;       /* the last component (points into the path or a link) */
    PVOID Object;                   /* what it names, or NULL */
} OBP_LOOKUP;

static BOOLEAN ObpIsType(PVOID Object, POBJECT_TYPE Type)
{
    return Object != NULL && ObGetObjectType(Object) == Type;
}

/*
 * Walk Path from Start (NULL: the root, and Path is absolute). A final
 * symbolic link is followed when FollowFinalLink. Fills *Result, whose
 * Object is NULL when only the last component is missing.
 */
static NTSTATUS ObpLookupPath(POBJECT_DIRECTORY Start, PCUNICODE_STRING Path, ULONG Attributes,
                              BOOLEAN FollowFinalLink, ULONG Depth, OBP_LOOKUP *Result)
{
    const WCHAR *P = Path->Buffer;
    ULONG Count = Path->Length / sizeof(WCHAR), i = 0;
    BOOLEAN CaseInsensitive = (Attributes & OBJ_CASE_INSENSITIVE) != 0;
    POBJECT_DIRECTORY Directory = Start;

    memset(Result, 0, sizeof(*Result));
    if (Start == NULL) {
        if (Count == 0 || P[0] != '\\')
            return STATUS_OBJECT_PATH_SYNTAX_BAD;
        Directory = ObpRootDirectoryObject;
        i = 1;
    } else if (Count > 0 && P[0] == '\\') {
        return STATUS_OBJECT_PATH_SYNTAX_BAD;
    }
    if (i == Count) { /* "\" or an empty relative name: the directory itself */
        Result->Object = Directory;
        return STATUS_SUCCESS;
    }

    for (;;) {
        ULONG End = i, Hash = 0;
        while (End < Count && P[End] != '\\') {
            Hash = OBP_HASH_STEP(Hash, P[End]);
            End++;
        }
        if (End == i) /* "\\" inside, or a trailing backslash */
            return STATUS_OBJECT_NAME_INVALID;
        UNICODE_STRING Component = {(USHORT)((End - i) * sizeof(WCHAR)),
                                    (USHORT)((End - i) * sizeof(WCHAR)), (PWSTR)(P + i)};
        BOOLEAN Last = End == Count;
        PVOID Found = ObpLookupDirectoryEntry(Directory, &Component, Hash, CaseInsensitive);

        if (ObpIsType(Found, ObSymbolicLinkObjectType) && (!Last || FollowFinalLink)) {
            POBJECT_SYMBOLIC_LINK Link = Found;
            if (Depth >= OB_MAXIMUM_REPARSE)
                return STATUS_OBJECT_PATH_NOT_FOUND;
            if (Last)
                return ObpLookupPath(NULL, &Link->LinkTarget, Attributes, TRUE, Depth + 1, Result);
            OBP_LOOKUP Target;
            NTSTATUS Status =
                ObpLookupPath(NULL, &Link->LinkTarget, Attributes, TRUE, Depth + 1, &Target);
            if (!NT_SUCCESS(Status))
                return Status == STATUS_OBJECT_NAME_NOT_FOUND ? STATUS_OBJECT_PATH_NOT_FOUND
                                                              : Status;
            Found = Target.Object;
        }
        if (Last) {
            Result->Parent = Directory;
            Result->Component = Component;
            Result->Object = Found;
            return STATUS_SUCCESS;
        }
        if (!ObpIsType(Found, ObDirectoryObjectType))
            return STATUS_OBJECT_PATH_NOT_FOUND;
        Directory = Found;
        i = End + 1;
    }
}

/* Open a handle to Object for the caller (ObpNamespaceLock held). */
static NTSTATUS ObpOpenLocked(PVOID Object, ULONG Attributes, ACCESS_MASK DesiredAccess,
                              KPROCESSOR_MODE AccessMode, PHANDLE Handle)
{
    return ObOpenObjectByPointer(Object, Attributes & (OBJ_INHERIT | OBJ_KERNEL_HANDLE),
                                 DesiredAccess, NULL, AccessMode, Handle);
}

/* ------------------------------------------------------------------------
 * Insert, open, reference
 * ------------------------------------------------------------------------ */

/* The name is taken: open it instead (OBJ_OPENIF) or refuse. */
static NTSTATUS ObpOpenExisting(PVOID Existing, PVOID New, ULONG Attributes,
                                ACCESS_MASK DesiredAccess, KPROCESSOR_MODE AccessMode,
                                PHANDLE Handle)
{
    if (!(Attributes & OBJ_OPENIF))
        return STATUS_OBJECT_NAME_COLLISION;
    if (ObGetObjectType(Existing) != ObGetObjectType(New))
        return STATUS_OBJECT_TYPE_MISMATCH;
    if (Handle == NULL)
        return STATUS_OBJECT_NAME_COLLISION;
    NTSTATUS Status = ObpOpenLocked(Existing, Attributes, DesiredAccess, AccessMode, Handle);
    return NT_SUCCESS(Status) ? STATUS_OBJECT_NAME_EXISTS : Status;
}

/*
 * Name New as R says and open its handle, both under the lock. The name
 * comes first: another thread of the process may close the handle the
 * moment it exists, and that close must find the name to take it away.
 * On failure *Removed is a name for the caller to free after the lock.
 */
static NTSTATUS ObpNameNewObject(const OBP_LOOKUP *R, PVOID New, ULONG Attributes,
                                 ACCESS_MASK DesiredAccess, KPROCESSOR_MODE AccessMode,
                                 PHANDLE Handle, POBJECT_HEADER_NAME_INFO *Removed)
{
    POBJECT_HEADER_NAME_INFO Info = ObpAllocateName(&R->Component);
    if (Info == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    ObpInsertName(R->Parent, Info, New);
    if (Handle != NULL) {
        NTSTATUS Status = ObpOpenLocked(New, Attributes, DesiredAccess, AccessMode, Handle);
        if (!NT_SUCCESS(Status)) {
            *Removed = ObpRemoveName(OBJECT_TO_OBJECT_HEADER(New));
            return Status;
        }
    }
    if (Attributes & OBJ_PERMANENT) {
        OBJECT_TO_OBJECT_HEADER(New)->Flags |=
            OB_FLAG_PERMANENT | (AccessMode == KernelMode ? OB_FLAG_KERNEL_PERMANENT : 0);
        ObReferenceObject(New); /* the namespace's own reference */
    }
    return STATUS_SUCCESS;
}

NTSTATUS ObInsertObject(PVOID Object, POBJECT_ATTRIBUTES ObjectAttributes,
                        ACCESS_MASK DesiredAccess, KPROCESSOR_MODE AccessMode, PHANDLE Handle)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    ULONG Attributes = ObjectAttributes != NULL ? ObjectAttributes->Attributes : 0;
    POBJECT_DIRECTORY Root = NULL;
    NTSTATUS Status;

    if (ObjectAttributes == NULL || ObjectAttributes->ObjectName == NULL) {
        Status = Handle == NULL ? STATUS_INVALID_PARAMETER
                                : ObpOpenLocked(Object, Attributes, DesiredAccess, AccessMode,
                                                Handle);
        goto deref_object;
    }
    if (Handle == NULL && !(Attributes & OBJ_PERMANENT)) {
        Status = STATUS_INVALID_PARAMETER;
        goto deref_object;
    }
    Status = ObpReferenceRootDirectory(ObjectAttributes->RootDirectory, AccessMode, &Root);
    if (!NT_SUCCESS(Status))
        goto deref_object;

    OBP_LOOKUP R;
    POBJECT_HEADER_NAME_INFO Removed = NULL;
    KIRQL OldIrql;
    KeAcquireSpinLock(&ObpNamespaceLock, &OldIrql);
    Status = ObpLookupPath(Root, ObjectAttributes->ObjectName, Attributes, TRUE, 0, &R);
    if (NT_SUCCESS(Status) && R.Object != NULL)
        Status = ObpOpenExisting(R.Object, Object, Attributes, DesiredAccess, AccessMode, Handle);
    else if (NT_SUCCESS(Status))
        Status = ObpNameNewObject(&R, Object, Attributes, DesiredAccess, AccessMode, Handle,
                                  &Removed);
    KeReleaseSpinLock(&ObpNamespaceLock, OldIrql);

    if (Removed != NULL)
        ObpFreeName(Removed);
    if (Root != NULL)
        ObDereferenceObject(Root);
deref_object:
    /* The caller's reference: its handle holds the object now, or nothing
     * does and it goes (also with STATUS_OBJECT_NAME_EXISTS). */
    ObDereferenceObject(Object);
    return Status;
}

/* Walk ObjectName from RootDirectory and check the type: the common part
 * of opening and referencing by name. ObpNamespaceLock held. */
static NTSTATUS ObpFindObject(POBJECT_DIRECTORY Root, PCUNICODE_STRING ObjectName,
                              ULONG Attributes, POBJECT_TYPE ObjectType, PVOID *Object)
{
    OBP_LOOKUP R;
    BOOLEAN Follow = !(Attributes & OBJ_OPENLINK) && ObjectType != ObSymbolicLinkObjectType;
    NTSTATUS Status = ObpLookupPath(Root, ObjectName, Attributes, Follow, 0, &R);
    if (!NT_SUCCESS(Status))
        return Status;
    if (R.Object == NULL)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    if (ObjectType != NULL && ObGetObjectType(R.Object) != ObjectType)
        return STATUS_OBJECT_TYPE_MISMATCH;
    *Object = R.Object;
    return STATUS_SUCCESS;
}

NTSTATUS ObOpenObjectByName(POBJECT_ATTRIBUTES ObjectAttributes, POBJECT_TYPE ObjectType,
                            KPROCESSOR_MODE AccessMode, ACCESS_MASK DesiredAccess, PHANDLE Handle)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    POBJECT_DIRECTORY Root;
    PVOID Object;
    KIRQL OldIrql;

    if (ObjectAttributes == NULL || ObjectAttributes->ObjectName == NULL)
        return STATUS_OBJECT_NAME_INVALID;
    NTSTATUS Status =
        ObpReferenceRootDirectory(ObjectAttributes->RootDirectory, AccessMode, &Root);
    if (!NT_SUCCESS(Status))
        return Status;

    KeAcquireSpinLock(&ObpNamespaceLock, &OldIrql);
    Status = ObpFindObject(Root, ObjectAttributes->ObjectName, ObjectAttributes->Attributes,
                           ObjectType, &Object);
    if (NT_SUCCESS(Status))
        Status = ObpOpenLocked(Object, ObjectAttributes->Attributes, DesiredAccess, AccessMode,
                               Handle);
    KeReleaseSpinLock(&ObpNamespaceLock, OldIrql);

    if (Root != NULL)
        ObDereferenceObject(Root);
    return Status;
}

NTSTATUS ObReferenceObjectByName(PCUNICODE_STRING ObjectName, ULONG Attributes,
                                 POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                 PVOID *Object)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    UNREFERENCED_PARAMETER(AccessMode);
    KIRQL OldIrql;

    *Object = NULL;
    KeAcquireSpinLock(&ObpNamespaceLock, &OldIrql);
    NTSTATUS Status = ObpFindObject(NULL, ObjectName, Attributes, ObjectType, Object);
    if (NT_SUCCESS(Status))
        ObReferenceObject(*Object);
    KeReleaseSpinLock(&ObpNamespaceLock, OldIrql);
    return Status;
}
