/*
 * obdir.c - directory objects and the names in them: the Directory type,
 * the directories built at boot, names given and taken back, permanent
 * objects, the "Type" objects of \ObjectTypes, and the directory services
 * NtCreateDirectoryObject, NtOpenDirectoryObject, NtQueryDirectoryObject.
 * Paths are walked in ob/obname.c; symbolic links are ob/oblink.c.
 *
 * Data structures (ob/ob.h has the picture of the tree):
 *   OBJECT_DIRECTORY         the body of a Directory: OB_DIRECTORY_BUCKETS
 *                            chains of names, hashed without case
 *   OBJECT_HEADER_NAME_INFO  one per named object, nonpaged pool tagged
 *                            OB_NAME_TAG: a chain link, the directory (one
 *                            reference on it), the component's characters
 *
 * Lifetime: a directory does not reference what it names. A temporary
 * object's name goes when its handle count reaches zero
 * (ObpDeleteNameCheck, called by obref.c before the closing handle drops
 * its reference, so the object is still alive while its name goes). A
 * permanent object (OB_FLAG_PERMANENT) holds one reference for its name
 * until ObMakeTemporaryObject. So every object a directory names has
 * PointerCount >= 1 while ObpNamespaceLock is held.
 *
 * Locking and IRQL: ObpNamespaceLock (a spin lock: DISPATCH_LEVEL while
 * held) covers the chains, every NameInfo pointer and OB_FLAG_PERMANENT.
 * Only nonpaged pool is allocated under it; names are freed and
 * directories dereferenced after it is released.
 */
#include "obp.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"
#include "../include/ntapi.h"

KSPIN_LOCK ObpNamespaceLock;
BOOLEAN ObpNamespaceReady;

static OBJECT_TYPE ObpDirectoryType, ObpTypeType;
POBJECT_TYPE ObDirectoryObjectType = &ObpDirectoryType;
POBJECT_TYPE ObTypeObjectType = &ObpTypeType;
POBJECT_DIRECTORY ObpRootDirectoryObject;

/* Pool tag of NtQueryDirectoryObject's staging buffer, and its size: a
 * bigger user buffer just gets more calls' worth of entries. */
#define OBP_QUERY_TAG    POOL_TAG('O', 'b', 'Q', 'd')
#define OBP_QUERY_LENGTH 4096

/* ------------------------------------------------------------------------
 * Names and chains (ObpNamespaceLock held unless said otherwise)
 * ------------------------------------------------------------------------ */

/* Case folding for names: ASCII letters only (NOTE: NT folds all of
 * Unicode through its upcase table). */
static inline WCHAR ObpUpcase(WCHAR C)
{
    return (C >= 'a' && C <= 'z') ? (WCHAR)(C - ('a' - 'A')) : C;
}

ULONG ObpHashName(PCUNICODE_STRING Name)
{
    ULONG Hash = 0;
    for (ULONG i = 0; i < Name->Length / sizeof(WCHAR); i++)
        Hash = OBP_HASH_STEP(Hash, Name->Buffer[i]);
    return Hash;
}

/* Exact spelling first, four characters at a time (the common case: the
 * name as it was created); then, for a case-insensitive look-up, folded. */
static BOOLEAN ObpNamesEqual(PCUNICODE_STRING A, PCUNICODE_STRING B, BOOLEAN CaseInsensitive)
{
    if (A->Length != B->Length)
        return FALSE;
    ULONG Bytes = A->Length, i = 0;
    const UCHAR *X = (const UCHAR *)A->Buffer, *Y = (const UCHAR *)B->Buffer;
    BOOLEAN Same = TRUE;
    for (; Same && i + 8 <= Bytes; i += 8) {
        ULONG64 U, V; /* __builtin_memcpy: one unaligned load each, no call */
        __builtin_memcpy(&U, X + i, 8);
        __builtin_memcpy(&V, Y + i, 8);
        Same = U == V;
    }
    for (; Same && i < Bytes; i += sizeof(WCHAR))
        Same = *(const WCHAR *)(X + i) == *(const WCHAR *)(Y + i);
    if (Same)
        return TRUE;
    if (!CaseInsensitive)
        return FALSE;
    for (i = 0; i < A->Length / sizeof(WCHAR); i++) {
        if (ObpUpcase(A->Buffer[i]) != ObpUpcase(B->Buffer[i]))
            return FALSE;
    }
    return TRUE;
}

PVOID ObpLookupDirectoryEntry(POBJECT_DIRECTORY Directory, PCUNICODE_STRING Name, ULONG Hash,
                              BOOLEAN CaseInsensitive)
{
    POBJECT_HEADER_NAME_INFO Info = Directory->HashBuckets[Hash % OB_DIRECTORY_BUCKETS];
    for (; Info != NULL; Info = Info->ChainLink) {
        if (ObpNamesEqual(&Info->Name, Name, CaseInsensitive))
            return Info->Object;
    }
    return NULL;
}

POBJECT_HEADER_NAME_INFO ObpAllocateName(PCUNICODE_STRING Component)
{
    SIZE_T Size = sizeof(OBJECT_HEADER_NAME_INFO) + Component->Length;
    POBJECT_HEADER_NAME_INFO Info = ExAllocatePoolWithTag(NonPagedPool, Size, OB_NAME_TAG);
    if (Info == NULL)
        return NULL;
    memset(Info, 0, sizeof(*Info));
    memcpy(Info->NameBuffer, Component->Buffer, Component->Length);
    Info->Name.Length = Info->Name.MaximumLength = Component->Length;
    Info->Name.Buffer = Info->NameBuffer;
    return Info;
}

void ObpInsertName(POBJECT_DIRECTORY Directory, POBJECT_HEADER_NAME_INFO Info, PVOID Object)
{
    ULONG Bucket = ObpHashName(&Info->Name) % OB_DIRECTORY_BUCKETS;
    ObReferenceObject(Directory);
    Info->Directory = Directory;
    Info->Object = Object;
    Info->ChainLink = Directory->HashBuckets[Bucket];
    Directory->HashBuckets[Bucket] = Info;
    Directory->EntryCount++;
    OBJECT_TO_OBJECT_HEADER(Object)->NameInfo = Info;
}

POBJECT_HEADER_NAME_INFO ObpRemoveName(POBJECT_HEADER Header)
{
    POBJECT_HEADER_NAME_INFO Info = Header->NameInfo;
    POBJECT_DIRECTORY Directory = Info->Directory;
    POBJECT_HEADER_NAME_INFO *Link =
        &Directory->HashBuckets[ObpHashName(&Info->Name) % OB_DIRECTORY_BUCKETS];
    while (*Link != Info)
        Link = &(*Link)->ChainLink;
    *Link = Info->ChainLink;
    Directory->EntryCount--;
    Header->NameInfo = NULL;
    return Info;
}

void ObpFreeName(POBJECT_HEADER_NAME_INFO Info)
{
    POBJECT_DIRECTORY Directory = Info->Directory;
    ExFreePoolWithTag(Info, OB_NAME_TAG);
    ObDereferenceObject(Directory); /* may delete an emptied temporary directory */
}

void ObpDeleteNameCheck(POBJECT_HEADER Header)
{
    POBJECT_HEADER_NAME_INFO Info = NULL;
    KIRQL OldIrql;

    /* Checked again under the lock: a look-up may have opened a new handle
     * since the count reached zero, and then the name stays. */
    KeAcquireSpinLock(&ObpNamespaceLock, &OldIrql);
    if (Header->NameInfo != NULL && !(Header->Flags & OB_FLAG_PERMANENT) &&
        __atomic_load_n(&Header->HandleCount, __ATOMIC_SEQ_CST) == 0)
        Info = ObpRemoveName(Header);
    KeReleaseSpinLock(&ObpNamespaceLock, OldIrql);
    if (Info != NULL)
        ObpFreeName(Info);
}

void ObMakeTemporaryObject(PVOID Object)
{
    POBJECT_HEADER Header = OBJECT_TO_OBJECT_HEADER(Object);
    POBJECT_HEADER_NAME_INFO Info = NULL;
    KIRQL OldIrql;
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);

    KeAcquireSpinLock(&ObpNamespaceLock, &OldIrql);
    BOOLEAN WasPermanent = (Header->Flags & OB_FLAG_PERMANENT) != 0;
    Header->Flags &= ~(OB_FLAG_PERMANENT | OB_FLAG_KERNEL_PERMANENT);
    if (WasPermanent && Header->NameInfo != NULL && Header->HandleCount == 0)
        Info = ObpRemoveName(Header);
    KeReleaseSpinLock(&ObpNamespaceLock, OldIrql);

    if (Info != NULL)
        ObpFreeName(Info);
    if (WasPermanent)
        ObDereferenceObject(Object); /* the namespace's reference */
}

BOOLEAN ObQueryObjectName(PVOID Object, PCHAR Buffer, ULONG Size)
{
    POBJECT_HEADER Header = OBJECT_TO_OBJECT_HEADER(Object);
    BOOLEAN Named = FALSE;
    KIRQL OldIrql;
    ASSERT(Size > 0);

    KeAcquireSpinLock(&ObpNamespaceLock, &OldIrql);
    POBJECT_HEADER_NAME_INFO Info = Header->NameInfo;
    if (Info != NULL || Object == ObpRootDirectoryObject) {
        ULONG Count = Info != NULL ? Info->Name.Length / sizeof(WCHAR) : 1;
        ULONG i;
        for (i = 0; i < Count && i + 1 < Size; i++) {
            WCHAR C = Info != NULL ? Info->Name.Buffer[i] : '\\';
            Buffer[i] = (C >= 0x20 && C < 0x7F) ? (CHAR)C : '?';
        }
        Buffer[i] = '\0';
        Named = TRUE;
    }
    KeReleaseSpinLock(&ObpNamespaceLock, OldIrql);
    if (!Named)
        Buffer[0] = '\0';
    return Named;
}

ULONG ObpAsciiToWide(const char *Ascii, PWSTR Buffer, ULONG Count)
{
    ULONG i;
    for (i = 0; i < Count && Ascii[i] != '\0'; i++)
        Buffer[i] = (UCHAR)Ascii[i];
    return i;
}

/* ------------------------------------------------------------------------
 * Access and directory handles
 * ------------------------------------------------------------------------ */

ACCESS_MASK ObpMapDirectoryAccess(ACCESS_MASK Access)
{
    if (Access & GENERIC_READ)
        Access |= READ_CONTROL | DIRECTORY_QUERY | DIRECTORY_TRAVERSE;
    if (Access & GENERIC_WRITE)
        Access |= READ_CONTROL | DIRECTORY_CREATE_OBJECT | DIRECTORY_CREATE_SUBDIRECTORY;
    if (Access & GENERIC_EXECUTE)
        Access |= READ_CONTROL | DIRECTORY_QUERY | DIRECTORY_TRAVERSE;
    if (Access & (GENERIC_ALL | MAXIMUM_ALLOWED))
        Access |= DIRECTORY_ALL_ACCESS;
    return Access & DIRECTORY_ALL_ACCESS;
}

NTSTATUS ObpReferenceRootDirectory(HANDLE RootDirectory, KPROCESSOR_MODE Mode,
                                   POBJECT_DIRECTORY *Directory)
{
    *Directory = NULL;
    if (RootDirectory == NULL)
        return STATUS_SUCCESS;
    return ObReferenceObjectByHandle(RootDirectory, DIRECTORY_TRAVERSE, ObDirectoryObjectType,
                                     Mode, (PVOID *)Directory, NULL);
}

/* ------------------------------------------------------------------------
 * Boot: the types, the tree, the type objects
 * ------------------------------------------------------------------------ */

/* ObCreatePermanentDirectory: the contract is in ob/ob.h. */
NTSTATUS ObCreatePermanentDirectory(PCUNICODE_STRING Name)
{
    OBJECT_ATTRIBUTES Attributes;
    PVOID Directory;

    InitializeObjectAttributes(&Attributes, (PUNICODE_STRING)Name, OBJ_PERMANENT, NULL, NULL);
    NTSTATUS Status = ObCreateObject(ObDirectoryObjectType, sizeof(OBJECT_DIRECTORY), &Directory);
    if (!NT_SUCCESS(Status))
        return Status;
    return ObInsertObject(Directory, &Attributes, DIRECTORY_ALL_ACCESS, KernelMode, NULL);
}

static NTSTATUS ObpCreatePermanentDirectory(PCWSTR Path, USHORT Bytes)
{
    UNICODE_STRING Name = {Bytes, Bytes, (PWSTR)Path};
    return ObCreatePermanentDirectory(&Name);
}

#define OBP_DIRECTORY(Literal) ObpCreatePermanentDirectory((Literal), sizeof(Literal) - 2)

void ObpInsertTypeObject(POBJECT_TYPE Type)
{
    static const WCHAR Prefix[] = u"\\ObjectTypes\\";
    WCHAR Path[64];
    OBJECT_TYPE_OBJECT *Body;
    OBJECT_ATTRIBUTES Attributes;

    ULONG Prefix_ = ARRAYSIZE(Prefix) - 1;
    memcpy(Path, Prefix, Prefix_ * sizeof(WCHAR));
    ULONG Count = Prefix_ + ObpAsciiToWide(Type->Name, Path + Prefix_, ARRAYSIZE(Path) - Prefix_);
    UNICODE_STRING Name = {(USHORT)(Count * sizeof(WCHAR)), sizeof(Path), Path};
    InitializeObjectAttributes(&Attributes, &Name, OBJ_PERMANENT, NULL, NULL);
    if (!NT_SUCCESS(ObCreateObject(ObTypeObjectType, sizeof(*Body), (PVOID *)&Body)))
        return; /* NOTE: out of pool at boot, the type just is not listed */
    Body->Type = Type;
    NTSTATUS Status = ObInsertObject(Body, &Attributes, 0, KernelMode, NULL);
    (void)Status; /* a second type of the same name is simply not listed again */
}

/* Collect the types initialized so far (the type list lock is held in the
 * callback, so nothing is inserted there). */
typedef struct _OBP_TYPE_LIST {
    POBJECT_TYPE Types[32];
    ULONG Count;
} OBP_TYPE_LIST;

static void ObpCollectType(POBJECT_TYPE Type, PVOID Context)
{
    OBP_TYPE_LIST *List = Context;
    if (List->Count < ARRAYSIZE(List->Types))
        List->Types[List->Count++] = Type;
}

NTSTATUS ObInitSystem(void)
{
    static OBP_TYPE_LIST Types;
    PVOID Root;
    NTSTATUS Status;
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    ASSERT(ObpRootDirectoryObject == NULL);

    KeInitializeSpinLock(&ObpNamespaceLock);
    ObInitializeObjectType(ObDirectoryObjectType, "Directory", NULL);
    ObInitializeObjectType(ObSymbolicLinkObjectType, "SymbolicLink", NULL);
    ObInitializeObjectType(ObTypeObjectType, "Type", NULL);

    /* The root has no name and no parent: permanent, it keeps its
     * creation reference for ever. */
    Status = ObCreateObject(ObDirectoryObjectType, sizeof(OBJECT_DIRECTORY), &Root);
    if (!NT_SUCCESS(Status))
        return Status;
    OBJECT_TO_OBJECT_HEADER(Root)->Flags |= OB_FLAG_PERMANENT;
    ObpRootDirectoryObject = Root;

    if (!NT_SUCCESS(Status = OBP_DIRECTORY(u"\\ObjectTypes")) ||
        !NT_SUCCESS(Status = OBP_DIRECTORY(u"\\Device")) ||
        !NT_SUCCESS(Status = OBP_DIRECTORY(u"\\BaseNamedObjects")) ||
        !NT_SUCCESS(Status = OBP_DIRECTORY(u"\\??")))
        return Status;

    ObEnumerateObjectTypes(ObpCollectType, &Types);
    for (ULONG i = 0; i < Types.Count; i++)
        ObpInsertTypeObject(Types.Types[i]);
    ObpNamespaceReady = TRUE;
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------
 * Services
 * ------------------------------------------------------------------------ */

/* Capture ObjectAttributes and probe Handle: the first step of every
 * service that creates or opens by name. */
static NTSTATUS ObpCaptureCreateArguments(PHANDLE Handle, POBJECT_ATTRIBUTES ObjectAttributes,
                                          POB_CAPTURED_ATTRIBUTES Captured)
{
    NTSTATUS Status = ProbeForWrite(Handle, sizeof(HANDLE), 1);
    if (!NT_SUCCESS(Status))
        return Status;
    return ObCaptureObjectAttributes(ObjectAttributes, UserMode, Captured);
}

/* Write a new handle out; if the page went away since the probe, nobody
 * can learn the handle, so it is closed again. */
NTSTATUS ObReturnUserHandle(PHANDLE UserHandle, HANDLE Handle, NTSTATUS Status)
{
    if (!NT_SUCCESS(Status))
        return Status;
    NTSTATUS CopyStatus = MmCopyToUser(UserHandle, &Handle, sizeof(Handle));
    if (!NT_SUCCESS(CopyStatus)) {
        (void)ObCloseHandle(Handle, UserMode);
        return CopyStatus;
    }
    return Status;
}

/*
 * NtCreateDirectoryObject - create a directory named by ObjectAttributes
 * (a name is required: STATUS_OBJECT_NAME_INVALID without one) and return
 * a handle with DesiredAccess (generic rights mapped). Returns the
 * statuses of ObCaptureObjectAttributes and ObInsertObject
 * (STATUS_OBJECT_NAME_COLLISION, STATUS_OBJECT_NAME_EXISTS with
 * OBJ_OPENIF, ...), STATUS_ACCESS_VIOLATION for a bad DirectoryHandle.
 * PASSIVE_LEVEL.
 */
NTSTATUS NtCreateDirectoryObject(PHANDLE DirectoryHandle, ACCESS_MASK DesiredAccess,
                                 POBJECT_ATTRIBUTES ObjectAttributes)
{
    OB_CAPTURED_ATTRIBUTES Captured;
    PVOID Directory;
    HANDLE Handle = NULL;

    NTSTATUS Status = ObpCaptureCreateArguments(DirectoryHandle, ObjectAttributes, &Captured);
    if (!NT_SUCCESS(Status))
        return Status;
    if (Captured.Attributes.ObjectName == NULL)
        Status = STATUS_OBJECT_NAME_INVALID;
    else
        Status = ObCreateObject(ObDirectoryObjectType, sizeof(OBJECT_DIRECTORY), &Directory);
    if (NT_SUCCESS(Status))
        Status = ObInsertObject(Directory, &Captured.Attributes,
                                ObpMapDirectoryAccess(DesiredAccess), UserMode, &Handle);
    ObReleaseObjectAttributes(&Captured);
    return ObReturnUserHandle(DirectoryHandle, Handle, Status);
}

/*
 * NtOpenDirectoryObject - open the directory ObjectAttributes names, with
 * DesiredAccess. Returns the statuses of ObOpenObjectByName
 * (STATUS_OBJECT_TYPE_MISMATCH when the name is not a directory).
 * PASSIVE_LEVEL.
 */
NTSTATUS NtOpenDirectoryObject(PHANDLE DirectoryHandle, ACCESS_MASK DesiredAccess,
                               POBJECT_ATTRIBUTES ObjectAttributes)
{
    OB_CAPTURED_ATTRIBUTES Captured;
    HANDLE Handle = NULL;

    NTSTATUS Status = ObpCaptureCreateArguments(DirectoryHandle, ObjectAttributes, &Captured);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObOpenObjectByName(&Captured.Attributes, ObDirectoryObjectType, UserMode,
                                ObpMapDirectoryAccess(DesiredAccess), &Handle);
    ObReleaseObjectAttributes(&Captured);
    return ObReturnUserHandle(DirectoryHandle, Handle, Status);
}

/* Where NtQueryDirectoryObject is in its staging buffer: entries from the
 * front, strings from the back. */
typedef struct _OBP_QUERY {
    PUCHAR Buffer;
    ULONG Length;
    ULONG Entries;
    ULONG StringsStart;             /* strings occupy [StringsStart, Length) */
} OBP_QUERY;

/* Append one entry (name and type name, NUL-terminated, offsets for now);
 * FALSE when it does not fit beside the zeroed entry that ends the array. */
static BOOLEAN ObpQueryAppend(OBP_QUERY *Q, POBJECT_HEADER_NAME_INFO Info)
{
    WCHAR Type[32];
    const char *TypeName = ObGetObjectType(Info->Object)->Name;
    ULONG TypeChars = ObpAsciiToWide(TypeName, Type, ARRAYSIZE(Type) - 1);
    ULONG NameBytes = Info->Name.Length + sizeof(WCHAR);
    ULONG TypeBytes = TypeChars * sizeof(WCHAR) + sizeof(WCHAR);
    ULONG Strings = (Q->Length - Q->StringsStart) + NameBytes + TypeBytes;
    ULONG Array = (Q->Entries + 2) * sizeof(OBJECT_DIRECTORY_INFORMATION);
    if (Array + ALIGN_UP_BY(Strings, 8) > Q->Length)
        return FALSE;

    Q->StringsStart -= NameBytes + TypeBytes;
    PWSTR NameOut = (PWSTR)(Q->Buffer + Q->StringsStart);
    PWSTR TypeOut = (PWSTR)(Q->Buffer + Q->StringsStart + NameBytes);
    memcpy(NameOut, Info->Name.Buffer, Info->Name.Length);
    NameOut[Info->Name.Length / sizeof(WCHAR)] = 0;
    memcpy(TypeOut, Type, TypeChars * sizeof(WCHAR));
    TypeOut[TypeChars] = 0;

    OBJECT_DIRECTORY_INFORMATION *Entry = (OBJECT_DIRECTORY_INFORMATION *)Q->Buffer + Q->Entries++;
    Entry->Name.Length = Info->Name.Length;
    Entry->Name.MaximumLength = (USHORT)NameBytes;
    Entry->Name.Buffer = (PWSTR)(ULONG_PTR)((PUCHAR)NameOut - Q->Buffer);
    Entry->TypeName.Length = (USHORT)(TypeChars * sizeof(WCHAR));
    Entry->TypeName.MaximumLength = (USHORT)TypeBytes;
    Entry->TypeName.Buffer = (PWSTR)(ULONG_PTR)((PUCHAR)TypeOut - Q->Buffer);
    return TRUE;
}

/* Fill Q with the entries of Directory from index Start on. Returns
 * STATUS_SUCCESS (all the rest fit), STATUS_MORE_ENTRIES, STATUS_NO_MORE_ENTRIES
 * (nothing at Start) or STATUS_BUFFER_TOO_SMALL (not even one fits). */
static NTSTATUS ObpQueryDirectory(POBJECT_DIRECTORY Directory, ULONG Start, BOOLEAN Single,
                                  OBP_QUERY *Q)
{
    ULONG Index = 0;
    KIRQL OldIrql;
    NTSTATUS Status = STATUS_NO_MORE_ENTRIES;

    KeAcquireSpinLock(&ObpNamespaceLock, &OldIrql);
    for (ULONG Bucket = 0; Bucket < OB_DIRECTORY_BUCKETS; Bucket++) {
        for (POBJECT_HEADER_NAME_INFO Info = Directory->HashBuckets[Bucket]; Info != NULL;
             Info = Info->ChainLink) {
            if (Index++ < Start)
                continue;
            if ((Single && Q->Entries == 1) || !ObpQueryAppend(Q, Info)) {
                Status = Q->Entries == 0 ? STATUS_BUFFER_TOO_SMALL : STATUS_MORE_ENTRIES;
                goto done;
            }
            Status = STATUS_SUCCESS;
        }
    }
done:
    KeReleaseSpinLock(&ObpNamespaceLock, OldIrql);
    return Status;
}

/*
 * NtQueryDirectoryObject - list the directory DirectoryHandle names
 * (DIRECTORY_QUERY access) into Buffer: an array of
 * OBJECT_DIRECTORY_INFORMATION ended by a zeroed entry, then the strings
 * they point to (NUL-terminated). *Context is the index to start from
 * (ignored with RestartScan, which starts at 0) and receives the index
 * after the last entry returned. ReturnSingleEntry: at most one entry.
 * Returns STATUS_SUCCESS (the rest of the directory fit), STATUS_MORE_ENTRIES
 * (call again), STATUS_NO_MORE_ENTRIES (nothing left; *Context unchanged),
 * STATUS_BUFFER_TOO_SMALL (not one entry fits), STATUS_ACCESS_VIOLATION,
 * the handle statuses. At most OBP_QUERY_LENGTH bytes are filled per call.
 * NOTE: NT's seventh argument, ReturnLength, is absent: Pagoda's services
 * take six. PASSIVE_LEVEL.
 */
NTSTATUS NtQueryDirectoryObject(HANDLE DirectoryHandle, PVOID Buffer, ULONG Length,
                                BOOLEAN ReturnSingleEntry, BOOLEAN RestartScan, PULONG Context)
{
    ULONG Start = 0;
    POBJECT_DIRECTORY Directory;
    OBP_QUERY Q = {0};

    NTSTATUS Status = MmCopyFromUser(&Start, Context, sizeof(Start));
    if (!NT_SUCCESS(Status))
        return Status;
    if (RestartScan)
        Start = 0;
    if (!NT_SUCCESS(Status = ProbeForWrite(Context, sizeof(ULONG), 1)) ||
        !NT_SUCCESS(Status = ProbeForWrite(Buffer, Length, 1)))
        return Status;
    Status = ObReferenceObjectByHandle(DirectoryHandle, DIRECTORY_QUERY, ObDirectoryObjectType,
                                       UserMode, (PVOID *)&Directory, NULL);
    if (!NT_SUCCESS(Status))
        return Status;

    Q.Length = ALIGN_DOWN_BY(Length < OBP_QUERY_LENGTH ? Length : OBP_QUERY_LENGTH, 8);
    Q.StringsStart = Q.Length;
    Q.Buffer = ExAllocatePoolWithTag(NonPagedPool, OBP_QUERY_LENGTH, OBP_QUERY_TAG);
    if (Q.Buffer == NULL) {
        Status = STATUS_INSUFFICIENT_RESOURCES;
        goto deref;
    }
    memset(Q.Buffer, 0, OBP_QUERY_LENGTH);
    Status = ObpQueryDirectory(Directory, Start, ReturnSingleEntry != FALSE, &Q);
    if (NT_SUCCESS(Status) && Status != STATUS_NO_MORE_ENTRIES) {
        /* Offsets become user addresses; then everything goes out. */
        OBJECT_DIRECTORY_INFORMATION *Entries = (OBJECT_DIRECTORY_INFORMATION *)Q.Buffer;
        for (ULONG i = 0; i < Q.Entries; i++) {
            Entries[i].Name.Buffer = (PWSTR)((PUCHAR)Buffer + (ULONG_PTR)Entries[i].Name.Buffer);
            Entries[i].TypeName.Buffer =
                (PWSTR)((PUCHAR)Buffer + (ULONG_PTR)Entries[i].TypeName.Buffer);
        }
        ULONG Next = Start + Q.Entries;
        NTSTATUS CopyStatus = MmCopyToUser(Buffer, Q.Buffer, Q.Length);
        if (NT_SUCCESS(CopyStatus))
            CopyStatus = MmCopyToUser(Context, &Next, sizeof(Next));
        if (!NT_SUCCESS(CopyStatus))
            Status = CopyStatus;
    }
    ExFreePoolWithTag(Q.Buffer, OBP_QUERY_TAG);
deref:
    ObDereferenceObject(Directory);
    return Status;
}
