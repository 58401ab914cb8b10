/*
 * test_obns.c - in-kernel tests of the object namespace (ob/obdir.c,
 * ob/obname.c, ob/oblink.c): the tree at boot, names given and found,
 * the NT statuses of each kind of bad path, OBJ_OPENIF, OBJ_CASE_INSENSITIVE,
 * OBJ_PERMANENT, names relative to a directory, symbolic links, and the
 * rule that a name lives with the handles and the object with the
 * references.
 *
 * The tests call the Ob routines as a kernel caller (KernelMode, kernel
 * strings); handles go into the current (System) process's table. Every
 * test ends with the pool of names, events, directories and links, and
 * the handle count, back at their baselines (KtNsBaseline / KtNsCheck).
 * The ring-3 side - two processes, capture, access - is
 * user/tests/test_names.c.
 */
#include "../../include/ktest.h"
#include "../../include/ntapi.h"
#include "../../ob/ob.h"
#include "../../ex/ex.h"
#include "../../ps/ps.h"
#include "../../mm/mm.h"
#include "../../rtl/rtl.h"

#define KT_NS_TAGS 4
static const ULONG KtNsTags[KT_NS_TAGS] = {
    OB_NAME_TAG, POOL_TAG('E', 'v', 'e', 'n'), POOL_TAG('D', 'i', 'r', 'e'),
    POOL_TAG('S', 'y', 'm', 'b')};

typedef struct _KT_NS_BASELINE {
    SIZE_T Bytes[KT_NS_TAGS];
    ULONG Handles;
} KT_NS_BASELINE;

static SIZE_T KtNsBytesInUse(ULONG Tag)
{
    static POOL_TAG_INFO Tags[POOL_TRACKER_SIZE + 1];
    ULONG Count = ExQueryPoolTags(NonPagedPool, Tags, ARRAYSIZE(Tags));
    for (ULONG i = 0; i < Count; i++) {
        if (Tags[i].Tag == Tag)
            return Tags[i].BytesInUse;
    }
    return 0;
}

static void KtNsBaseline(KT_NS_BASELINE *B)
{
    ExpInitializeExecutiveObjects();
    for (ULONG i = 0; i < KT_NS_TAGS; i++)
        B->Bytes[i] = KtNsBytesInUse(KtNsTags[i]);
    B->Handles = PsGetCurrentProcess()->ObjectTable->HandleCount;
}

/* TRUE when pool and handles are back where KtNsBaseline found them. */
static BOOLEAN KtNsCheck(const KT_NS_BASELINE *B)
{
    for (ULONG i = 0; i < KT_NS_TAGS; i++) {
        if (KtNsBytesInUse(KtNsTags[i]) != B->Bytes[i]) {
            DbgPrint("  pool tag %.4s: %llu bytes, baseline %llu\n", (const char *)&KtNsTags[i],
                     (ULONG64)KtNsBytesInUse(KtNsTags[i]), (ULONG64)B->Bytes[i]);
            return FALSE;
        }
    }
    return PsGetCurrentProcess()->ObjectTable->HandleCount == B->Handles;
}

/* Create an event (or a directory) named Name with Attributes; returns
 * the status of ObInsertObject, the handle in *Handle. */
static NTSTATUS KtNsCreate(POBJECT_TYPE Type, PCUNICODE_STRING Name, ULONG Attributes,
                           HANDLE Root, PHANDLE Handle)
{
    OBJECT_ATTRIBUTES Oa;
    PVOID Object;
    InitializeObjectAttributes(&Oa, (PUNICODE_STRING)Name, Attributes, Root, NULL);
    ULONG Size = Type == ExEventObjectType ? sizeof(KEVENT) : sizeof(OBJECT_DIRECTORY);
    NTSTATUS Status = ObCreateObject(Type, Size, &Object);
    if (!NT_SUCCESS(Status))
        return Status;
    if (Type == ExEventObjectType)
        KeInitializeEvent(Object, NotificationEvent, FALSE);
    *Handle = NULL;
    return ObInsertObject(Object, &Oa, 0x1F000F, KernelMode, Handle);
}

static NTSTATUS KtNsOpen(PCUNICODE_STRING Name, ULONG Attributes, HANDLE Root,
                         POBJECT_TYPE Type, PHANDLE Handle)
{
    OBJECT_ATTRIBUTES Oa;
    InitializeObjectAttributes(&Oa, (PUNICODE_STRING)Name, Attributes, Root, NULL);
    *Handle = NULL;
    return ObOpenObjectByName(&Oa, Type, KernelMode, SYNCHRONIZE, Handle);
}

/* The object a name names now, or NULL (the reference is dropped). */
static PVOID KtNsFind(PCUNICODE_STRING Name, ULONG Attributes, NTSTATUS *Status)
{
    PVOID Object = NULL;
    *Status = ObReferenceObjectByName(Name, Attributes, NULL, KernelMode, &Object);
    if (NT_SUCCESS(*Status))
        ObDereferenceObject(Object);
    return Object;
}

static PVOID KtNsBody(HANDLE Handle)
{
    PVOID Object = NULL;
    if (NT_SUCCESS(ObReferenceObjectByHandle(Handle, 0, NULL, KernelMode, &Object, NULL)))
        ObDereferenceObject(Object);
    return Object;
}

#define KT_NAME(Literal) RTL_CONSTANT_STRING(Literal)

/* The directories of ob/ob.h's picture, and a Type object per type. */
KTEST(obns, boot_tree)
{
    static const UNICODE_STRING Dirs[] = {KT_NAME(u"\\"), KT_NAME(u"\\ObjectTypes"),
                                          KT_NAME(u"\\Device"), KT_NAME(u"\\BaseNamedObjects"),
                                          KT_NAME(u"\\??")};
    /* A type made now (after boot) lists itself too; its Type object is
     * permanent, so the baseline is taken after it. */
    static OBJECT_TYPE LateType;
    static const UNICODE_STRING LateName = KT_NAME(u"\\ObjectTypes\\KtLate");
    if (!LateType.Initialized)
        ObInitializeObjectType(&LateType, "KtLate", NULL);
    KT_NS_BASELINE B;
    KtNsBaseline(&B);

    NTSTATUS Status;
    for (ULONG i = 0; i < ARRAYSIZE(Dirs); i++) {
        PVOID Dir = KtNsFind(&Dirs[i], 0, &Status);
        KT_ASSERT_EQ(Status, STATUS_SUCCESS);
        KT_ASSERT(ObGetObjectType(Dir) == ObDirectoryObjectType);
    }
    static const UNICODE_STRING EventType = KT_NAME(u"\\ObjectTypes\\Event");
    OBJECT_TYPE_OBJECT *TypeObject = KtNsFind(&EventType, 0, &Status);
    KT_ASSERT_EQ(Status, STATUS_SUCCESS);
    KT_ASSERT(ObGetObjectType(TypeObject) == ObTypeObjectType);
    KT_ASSERT(TypeObject->Type == ExEventObjectType);
    static const UNICODE_STRING ProcessType = KT_NAME(u"\\ObjectTypes\\Process");
    TypeObject = KtNsFind(&ProcessType, 0, &Status);
    KT_ASSERT_EQ(Status, STATUS_SUCCESS);
    KT_ASSERT(TypeObject->Type == PsProcessType);
    TypeObject = KtNsFind(&LateName, 0, &Status);
    KT_ASSERT_EQ(Status, STATUS_SUCCESS);
    KT_ASSERT(TypeObject->Type == &LateType);
    KT_ASSERT(ObQueryPointerCount(TypeObject) == 1); /* the namespace's own reference */
    KT_ASSERT(KtNsCheck(&B));
}

/* Create, open from the name, collide, OBJ_OPENIF; the name goes with the
 * last handle. */
KTEST(obns, create_open_collide)
{
    static const UNICODE_STRING Name = KT_NAME(u"\\BaseNamedObjects\\KtNsEvent");
    KT_NS_BASELINE B;
    HANDLE First, Second, Third;
    NTSTATUS Status;
    KtNsBaseline(&B);
    LONG Events = ExEventObjectType->TotalNumberOfObjects;

    KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Name, 0, NULL, &First), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtNsOpen(&Name, 0, NULL, ExEventObjectType, &Second), STATUS_SUCCESS);
    KT_ASSERT(KtNsBody(First) == KtNsBody(Second));
    KT_ASSERT_EQ(ObQueryHandleCount(KtNsBody(First)), 2);
    /* The name is taken. */
    KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Name, 0, NULL, &Third),
                 STATUS_OBJECT_NAME_COLLISION);
    KT_ASSERT(Third == NULL);
    KT_ASSERT_EQ(ExEventObjectType->TotalNumberOfObjects, Events + 1); /* the loser is gone */
    /* OBJ_OPENIF: the existing event, and a success status that says so. */
    KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Name, OBJ_OPENIF, NULL, &Third),
                 STATUS_OBJECT_NAME_EXISTS);
    KT_ASSERT(KtNsBody(Third) == KtNsBody(First));
    KT_ASSERT_EQ(ExEventObjectType->TotalNumberOfObjects, Events + 1);
    /* ... but not an object of another type under that name. */
    HANDLE Dir;
    KT_ASSERT_EQ(KtNsCreate(ObDirectoryObjectType, &Name, OBJ_OPENIF, NULL, &Dir),
                 STATUS_OBJECT_TYPE_MISMATCH);
    KT_ASSERT_EQ(KtNsOpen(&Name, 0, NULL, ObDirectoryObjectType, &Dir),
                 STATUS_OBJECT_TYPE_MISMATCH);

    char Short[16];
    KT_ASSERT(ObQueryObjectName(KtNsBody(First), Short, sizeof(Short)));
    KT_ASSERT(strcmp(Short, "KtNsEvent") == 0);

    KT_ASSERT_EQ(ObCloseHandle(Third, KernelMode), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObCloseHandle(First, KernelMode), STATUS_SUCCESS);
    KT_ASSERT(KtNsFind(&Name, 0, &Status) != NULL); /* one handle left: still named */
    KT_ASSERT_EQ(ObCloseHandle(Second, KernelMode), STATUS_SUCCESS);
    KT_ASSERT(KtNsFind(&Name, 0, &Status) == NULL);
    KT_ASSERT_EQ(Status, STATUS_OBJECT_NAME_NOT_FOUND);
    KT_ASSERT_EQ(ExEventObjectType->TotalNumberOfObjects, Events);
    KT_ASSERT(KtNsCheck(&B));
}

/* The name goes with the last handle; the object stays while referenced. */
KTEST(obns, name_with_handles_object_with_references)
{
    static const UNICODE_STRING Name = KT_NAME(u"\\BaseNamedObjects\\KtNsHeld");
    KT_NS_BASELINE B;
    HANDLE Handle;
    NTSTATUS Status;
    KtNsBaseline(&B);

    KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Name, 0, NULL, &Handle), STATUS_SUCCESS);
    PKEVENT Event = KtNsFind(&Name, 0, &Status);
    KT_ASSERT(Event != NULL);
    ObReferenceObject(Event);
    KT_ASSERT_EQ(ObCloseHandle(Handle, KernelMode), STATUS_SUCCESS);
    KT_ASSERT(KtNsFind(&Name, 0, &Status) == NULL);
    KT_ASSERT_EQ(Status, STATUS_OBJECT_NAME_NOT_FOUND);
    KT_ASSERT_EQ(ObQueryPointerCount(Event), 1);
    KeSetEvent(Event, 0, FALSE); /* still a live event */
    KT_ASSERT_EQ(KeReadStateEvent(Event), 1);
    char Short[8];
    KT_ASSERT(!ObQueryObjectName(Event, Short, sizeof(Short)));
    /* The name is free for a new object. */
    HANDLE Again;
    KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Name, 0, NULL, &Again), STATUS_SUCCESS);
    KT_ASSERT(KtNsBody(Again) != (PVOID)Event);
    KT_ASSERT_EQ(ObCloseHandle(Again, KernelMode), STATUS_SUCCESS);
    ObDereferenceObject(Event);
    KT_ASSERT(KtNsCheck(&B));
}

/* Each kind of bad path and its NT status. */
KTEST(obns, bad_paths)
{
    static const struct {
        UNICODE_STRING Name;
        NTSTATUS Status;
    } Cases[] = {
        {KT_NAME(u"BaseNamedObjects"), STATUS_OBJECT_PATH_SYNTAX_BAD},
        {KT_NAME(u""), STATUS_OBJECT_PATH_SYNTAX_BAD},
        {KT_NAME(u"\\BaseNamedObjects\\\\X"), STATUS_OBJECT_NAME_INVALID},
        {KT_NAME(u"\\BaseNamedObjects\\"), STATUS_OBJECT_NAME_INVALID},
        {KT_NAME(u"\\\\"), STATUS_OBJECT_NAME_INVALID},
        {KT_NAME(u"\\KtMissing\\X"), STATUS_OBJECT_PATH_NOT_FOUND},
        {KT_NAME(u"\\BaseNamedObjects\\KtMissing"), STATUS_OBJECT_NAME_NOT_FOUND},
        {KT_NAME(u"\\BaseNamedObjects\\KtNsPlain\\X"), STATUS_OBJECT_PATH_NOT_FOUND},
    };
    static const UNICODE_STRING Plain = KT_NAME(u"\\BaseNamedObjects\\KtNsPlain");
    KT_NS_BASELINE B;
    HANDLE Event, Handle;
    KtNsBaseline(&B);

    KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Plain, 0, NULL, &Event), STATUS_SUCCESS);
    for (ULONG i = 0; i < ARRAYSIZE(Cases); i++) {
        NTSTATUS Status = KtNsOpen(&Cases[i].Name, 0, NULL, NULL, &Handle);
        if (Status != Cases[i].Status)
            DbgPrint("  case %u: 0x%08x\n", i, (ULONG)Status);
        KT_ASSERT_EQ(Status, Cases[i].Status);
        KT_ASSERT(Handle == NULL);
        /* Creating there fails the same way, except where only the
         * last component was missing. */
        if (Cases[i].Status != STATUS_OBJECT_NAME_NOT_FOUND) {
            KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Cases[i].Name, 0, NULL, &Handle),
                         Cases[i].Status);
        }
    }
    /* No name at all, and an odd byte length. */
    OBJECT_ATTRIBUTES Oa;
    InitializeObjectAttributes(&Oa, NULL, 0, NULL, NULL);
    KT_ASSERT_EQ(ObOpenObjectByName(&Oa, NULL, KernelMode, 0, &Handle), STATUS_OBJECT_NAME_INVALID);
    UNICODE_STRING Odd = Plain;
    Odd.Length = 3;
    OB_CAPTURED_ATTRIBUTES Captured;
    InitializeObjectAttributes(&Oa, &Odd, 0, NULL, NULL);
    KT_ASSERT_EQ(ObCaptureObjectAttributes(&Oa, KernelMode, &Captured), STATUS_OBJECT_NAME_INVALID);
    InitializeObjectAttributes(&Oa, (PUNICODE_STRING)&Plain, 0x80000000u, NULL, NULL);
    KT_ASSERT_EQ(ObCaptureObjectAttributes(&Oa, KernelMode, &Captured), STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(ObCloseHandle(Event, KernelMode), STATUS_SUCCESS);
    KT_ASSERT(KtNsCheck(&B));
}

/* OBJ_CASE_INSENSITIVE on look-ups and on the collision check. */
KTEST(obns, case_insensitive)
{
    static const UNICODE_STRING Mixed = KT_NAME(u"\\BaseNamedObjects\\KtNsCase");
    static const UNICODE_STRING Lower = KT_NAME(u"\\basenamedobjects\\ktnscase");
    static const UNICODE_STRING Upper = KT_NAME(u"\\BaseNamedObjects\\KTNSCASE");
    KT_NS_BASELINE B;
    HANDLE A, Other, Opened;
    KtNsBaseline(&B);

    KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Mixed, 0, NULL, &A), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtNsOpen(&Lower, 0, NULL, NULL, &Opened), STATUS_OBJECT_PATH_NOT_FOUND);
    KT_ASSERT_EQ(KtNsOpen(&Lower, OBJ_CASE_INSENSITIVE, NULL, NULL, &Opened), STATUS_SUCCESS);
    KT_ASSERT(KtNsBody(Opened) == KtNsBody(A));
    KT_ASSERT_EQ(ObCloseHandle(Opened, KernelMode), STATUS_SUCCESS);
    /* Case-sensitive, "KTNSCASE" is another name; without case it collides. */
    KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Upper, OBJ_CASE_INSENSITIVE, NULL, &Other),
                 STATUS_OBJECT_NAME_COLLISION);
    KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Upper, 0, NULL, &Other), STATUS_SUCCESS);
    KT_ASSERT(KtNsBody(Other) != KtNsBody(A));
    KT_ASSERT_EQ(ObCloseHandle(Other, KernelMode), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObCloseHandle(A, KernelMode), STATUS_SUCCESS);
    KT_ASSERT(KtNsCheck(&B));
}

/* OBJ_PERMANENT: the name outlives the handles until made temporary. */
KTEST(obns, permanent_until_temporary)
{
    static const UNICODE_STRING Name = KT_NAME(u"\\BaseNamedObjects\\KtNsPermanent");
    KT_NS_BASELINE B;
    HANDLE Handle;
    NTSTATUS Status;
    KtNsBaseline(&B);
    LONG Events = ExEventObjectType->TotalNumberOfObjects;

    KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Name, OBJ_PERMANENT, NULL, &Handle),
                 STATUS_SUCCESS);
    PVOID Event = KtNsBody(Handle);
    KT_ASSERT_EQ(ObQueryPointerCount(Event), 2); /* the handle's and the name's */
    KT_ASSERT_EQ(ObCloseHandle(Handle, KernelMode), STATUS_SUCCESS);
    KT_ASSERT(KtNsFind(&Name, 0, &Status) == Event);
    KT_ASSERT_EQ(ExEventObjectType->TotalNumberOfObjects, Events + 1);

    ObMakeTemporaryObject(Event); /* no handle left: name and object go now */
    KT_ASSERT(KtNsFind(&Name, 0, &Status) == NULL);
    KT_ASSERT_EQ(Status, STATUS_OBJECT_NAME_NOT_FOUND);
    KT_ASSERT_EQ(ExEventObjectType->TotalNumberOfObjects, Events);

    /* Made temporary while a handle is open: the name goes with it. */
    KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Name, OBJ_PERMANENT, NULL, &Handle),
                 STATUS_SUCCESS);
    ObMakeTemporaryObject(KtNsBody(Handle));
    KT_ASSERT(KtNsFind(&Name, 0, &Status) != NULL);
    KT_ASSERT_EQ(ObCloseHandle(Handle, KernelMode), STATUS_SUCCESS);
    KT_ASSERT(KtNsFind(&Name, 0, &Status) == NULL);
    KT_ASSERT(KtNsCheck(&B));
}

/* Names relative to a RootDirectory handle; a directory lives while
 * something is named in it, though its own name goes with its handles. */
KTEST(obns, relative_names_and_directory_lifetime)
{
    static const UNICODE_STRING DirName = KT_NAME(u"\\BaseNamedObjects\\KtNsDir");
    static const UNICODE_STRING Leaf = KT_NAME(u"Ev");
    static const UNICODE_STRING Full = KT_NAME(u"\\BaseNamedObjects\\KtNsDir\\Ev");
    static const UNICODE_STRING Absolute = KT_NAME(u"\\Ev");
    static const UNICODE_STRING Empty = KT_NAME(u"");
    KT_NS_BASELINE B;
    HANDLE Dir, Event, Opened;
    NTSTATUS Status;
    KtNsBaseline(&B);

    KT_ASSERT_EQ(KtNsCreate(ObDirectoryObjectType, &DirName, 0, NULL, &Dir), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Leaf, 0, Dir, &Event), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtNsOpen(&Full, 0, NULL, ExEventObjectType, &Opened), STATUS_SUCCESS);
    KT_ASSERT(KtNsBody(Opened) == KtNsBody(Event));
    KT_ASSERT_EQ(ObCloseHandle(Opened, KernelMode), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtNsOpen(&Absolute, 0, Dir, NULL, &Opened), STATUS_OBJECT_PATH_SYNTAX_BAD);
    KT_ASSERT_EQ(KtNsOpen(&Empty, 0, Dir, NULL, &Opened), STATUS_SUCCESS); /* the root itself */
    KT_ASSERT(KtNsBody(Opened) == KtNsBody(Dir));
    KT_ASSERT_EQ(ObCloseHandle(Opened, KernelMode), STATUS_SUCCESS);
    /* A root that is not a directory. */
    KT_ASSERT_EQ(KtNsOpen(&Leaf, 0, Event, NULL, &Opened), STATUS_OBJECT_TYPE_MISMATCH);

    POBJECT_DIRECTORY Directory = KtNsBody(Dir);
    KT_ASSERT_EQ(Directory->EntryCount, 1);
    KT_ASSERT_EQ(ObCloseHandle(Dir, KernelMode), STATUS_SUCCESS);
    KT_ASSERT(KtNsFind(&Full, 0, &Status) == NULL);      /* the directory's name went */
    KT_ASSERT_EQ(Status, STATUS_OBJECT_PATH_NOT_FOUND);
    KT_ASSERT_EQ(ObQueryPointerCount(Directory), 1);     /* Ev's name holds it */
    KT_ASSERT_EQ(ObCloseHandle(Event, KernelMode), STATUS_SUCCESS); /* and both go */
    KT_ASSERT(KtNsCheck(&B));
}

/* Symbolic links: followed on the way and at the end, not with
 * OBJ_OPENLINK; dangling links and loops. */
KTEST(obns, symbolic_links)
{
    static const UNICODE_STRING LinkName = KT_NAME(u"\\??\\KtNsLink");
    static const UNICODE_STRING Target = KT_NAME(u"\\BaseNamedObjects");
    static const UNICODE_STRING Through = KT_NAME(u"\\??\\KtNsLink\\KtNsLinked");
    static const UNICODE_STRING Direct = KT_NAME(u"\\BaseNamedObjects\\KtNsLinked");
    static const UNICODE_STRING BadName = KT_NAME(u"\\??\\KtNsDangling");
    static const UNICODE_STRING BadTarget = KT_NAME(u"\\KtNowhere");
    static const UNICODE_STRING BadThrough = KT_NAME(u"\\??\\KtNsDangling\\X");
    static const UNICODE_STRING LoopName = KT_NAME(u"\\??\\KtNsLoop");
    static const UNICODE_STRING LoopThrough = KT_NAME(u"\\??\\KtNsLoop\\X");
    KT_NS_BASELINE B;
    HANDLE Link, Dangling, Loop, Event, Opened;
    NTSTATUS Status;
    OBJECT_ATTRIBUTES Oa;
    KtNsBaseline(&B);

    InitializeObjectAttributes(&Oa, (PUNICODE_STRING)&LinkName, 0, NULL, NULL);
    KT_ASSERT_EQ(ObCreateSymbolicLink(&Oa, &Target, SYMBOLIC_LINK_ALL_ACCESS, KernelMode, &Link),
                 STATUS_SUCCESS);
    /* Created through the link, found directly, and the other way round. */
    KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Through, 0, NULL, &Event), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtNsOpen(&Direct, 0, NULL, ExEventObjectType, &Opened), STATUS_SUCCESS);
    KT_ASSERT(KtNsBody(Opened) == KtNsBody(Event));
    KT_ASSERT_EQ(ObCloseHandle(Opened, KernelMode), STATUS_SUCCESS);
    /* The link itself: by its type, or with OBJ_OPENLINK; else its target. */
    KT_ASSERT(KtNsFind(&LinkName, 0, &Status) == KtNsFind(&Target, 0, &Status));
    KT_ASSERT(KtNsFind(&LinkName, OBJ_OPENLINK, &Status) == KtNsBody(Link));
    KT_ASSERT_EQ(KtNsOpen(&LinkName, 0, NULL, ObSymbolicLinkObjectType, &Opened), STATUS_SUCCESS);
    KT_ASSERT(KtNsBody(Opened) == KtNsBody(Link));
    KT_ASSERT_EQ(ObCloseHandle(Opened, KernelMode), STATUS_SUCCESS);

    /* A link to nothing, and a link to itself. */
    InitializeObjectAttributes(&Oa, (PUNICODE_STRING)&BadName, 0, NULL, NULL);
    KT_ASSERT_EQ(ObCreateSymbolicLink(&Oa, &BadTarget, 0, KernelMode, &Dangling), STATUS_SUCCESS);
    KT_ASSERT(KtNsFind(&BadName, 0, &Status) == NULL);
    KT_ASSERT_EQ(Status, STATUS_OBJECT_NAME_NOT_FOUND);
    KT_ASSERT(KtNsFind(&BadThrough, 0, &Status) == NULL);
    KT_ASSERT_EQ(Status, STATUS_OBJECT_PATH_NOT_FOUND);
    InitializeObjectAttributes(&Oa, (PUNICODE_STRING)&LoopName, 0, NULL, NULL);
    KT_ASSERT_EQ(ObCreateSymbolicLink(&Oa, &LoopName, 0, KernelMode, &Loop), STATUS_SUCCESS);
    KT_ASSERT(KtNsFind(&LoopThrough, 0, &Status) == NULL);
    KT_ASSERT_EQ(Status, STATUS_OBJECT_PATH_NOT_FOUND);

    KT_ASSERT_EQ(ObCloseHandle(Loop, KernelMode), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObCloseHandle(Dangling, KernelMode), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObCloseHandle(Event, KernelMode), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObCloseHandle(Link, KernelMode), STATUS_SUCCESS);
    KT_ASSERT(KtNsFind(&Through, 0, &Status) == NULL);
    KT_ASSERT_EQ(Status, STATUS_OBJECT_PATH_NOT_FOUND);
    KT_ASSERT(KtNsCheck(&B));
}

/* A handle opened by name grants what was asked, and user-mode references
 * are checked against it. */
KTEST(obns, access_of_named_handles)
{
    static const UNICODE_STRING Name = KT_NAME(u"\\BaseNamedObjects\\KtNsAccess");
    KT_NS_BASELINE B;
    HANDLE Full, WaitOnly;
    PVOID Object;
    KtNsBaseline(&B);

    KT_ASSERT_EQ(KtNsCreate(ExEventObjectType, &Name, 0, NULL, &Full), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtNsOpen(&Name, 0, NULL, ExEventObjectType, &WaitOnly), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObReferenceObjectByHandle(WaitOnly, EVENT_MODIFY_STATE, ExEventObjectType,
                                           UserMode, &Object, NULL),
                 STATUS_ACCESS_DENIED);
    KT_ASSERT_EQ(ObReferenceObjectByHandle(WaitOnly, SYNCHRONIZE, ExEventObjectType, UserMode,
                                           &Object, NULL),
                 STATUS_SUCCESS);
    ObDereferenceObject(Object);
    KT_ASSERT_EQ(ObCloseHandle(WaitOnly, KernelMode), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObCloseHandle(Full, KernelMode), STATUS_SUCCESS);
    KT_ASSERT(KtNsCheck(&B));
}
