/*
 * obref.c - the object manager's objects: object types, the header in
 * front of each body, and reference counting. Handle tables are in
 * ob/obhandle.c. The picture of the object layout is at the top of ob/ob.h.
 *
 * Data structures:
 *   OBJECT_TYPE    caller-owned, for ever; linked on ObpTypeListHead
 *   OBJECT_HEADER  in front of each body, one nonpaged pool block per
 *                  object, tagged with the type's tag
 *
 * Reference counting: PointerCount counts every reference, and each open
 * handle holds one of them, so PointerCount >= HandleCount >= 0 at every
 * instant. To keep that true without a lock, a new handle increments
 * PointerCount before HandleCount (ObpAddHandleReference), and a closing
 * handle decrements HandleCount before PointerCount
 * (ObpDropHandleReference). Breaking the invariant is a reference-counting
 * bug in a caller: bugcheck REFERENCE_BY_POINTER.
 *
 * Locking and IRQL: the counts are atomic and need no lock; the type list
 * is under ObpTypeListLock (a spin lock). The DeleteProcedure runs at the
 * IRQL of the last dereference.
 *
 * NOTE: NT defers deletions that happen at raised IRQL to a worker thread;
 * here the DeleteProcedure runs at the IRQL of the last dereference.
 */
#include "obp.h"
#include "../ps/ps.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"

static KSPIN_LOCK ObpTypeListLock;
static LIST_ENTRY ObpTypeListHead = {&ObpTypeListHead, &ObpTypeListHead};

/* ------------------------------------------------------------------------
 * Counters
 * ------------------------------------------------------------------------ */

static void ObpRaiseHighWater(volatile LONG *HighWater, LONG Value)
{
    LONG Seen = __atomic_load_n(HighWater, __ATOMIC_RELAXED);
    while (Value > Seen &&
           !__atomic_compare_exchange_n(HighWater, &Seen, Value, FALSE, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED))
        ;
}

static void ObpCountUp(volatile LONG *Counter, volatile LONG *HighWater)
{
    ObpRaiseHighWater(HighWater, __atomic_add_fetch(Counter, 1, __ATOMIC_SEQ_CST));
}

static void ObpCountDown(volatile LONG *Counter)
{
    __atomic_sub_fetch(Counter, 1, __ATOMIC_SEQ_CST);
}

/* ------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------ */

void ObInitializeObjectType(POBJECT_TYPE Type, const char *Name, OB_DELETE_METHOD DeleteProcedure)
{
    ASSERT(Type != NULL && Name != NULL && Name[0] != '\0');
    ASSERT(!Type->Initialized);

    /* The tag is the name's first four characters, padded with blanks, as
     * NT tags object bodies ("Proc", "Thre", "Even"). */
    char Tag[4] = {' ', ' ', ' ', ' '};
    for (ULONG i = 0; i < 4 && Name[i] != '\0'; i++)
        Tag[i] = Name[i];

    memset(Type, 0, sizeof(*Type));
    Type->Name = Name;
    Type->PoolTag = POOL_TAG(Tag[0], Tag[1], Tag[2], Tag[3]);
    Type->DeleteProcedure = DeleteProcedure;
    Type->Initialized = TRUE;

    KIRQL OldIrql;
    KeAcquireSpinLock(&ObpTypeListLock, &OldIrql);
    InsertTailList(&ObpTypeListHead, &Type->TypeListEntry);
    KeReleaseSpinLock(&ObpTypeListLock, OldIrql);

    /* Types made before the namespace are listed by ObInitSystem. */
    if (ObpNamespaceReady)
        ObpInsertTypeObject(Type);
}

void ObEnumerateObjectTypes(OB_ENUM_TYPE_ROUTINE Callback, PVOID Context)
{
    KIRQL OldIrql;
    KeAcquireSpinLock(&ObpTypeListLock, &OldIrql);
    for (PLIST_ENTRY Link = ObpTypeListHead.Flink; Link != &ObpTypeListHead; Link = Link->Flink)
        Callback(CONTAINING_RECORD(Link, OBJECT_TYPE, TypeListEntry), Context);
    KeReleaseSpinLock(&ObpTypeListLock, OldIrql);
}

/* ------------------------------------------------------------------------
 * Objects and references
 * ------------------------------------------------------------------------ */

__attribute__((noreturn)) void ObpBadReferenceCount(POBJECT_HEADER Header, LONG_PTR CountBefore)
{
    KeBugCheckEx(REFERENCE_BY_POINTER, (ULONG_PTR)Header->Type,
                 (ULONG_PTR)OBJECT_HEADER_TO_BODY(Header), (ULONG_PTR)CountBefore,
                 (ULONG_PTR)Header->HandleCount);
}

NTSTATUS ObCreateObject(POBJECT_TYPE Type, ULONG BodySize, PVOID *Object)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Type != NULL && Type->Initialized);
    ASSERT(Object != NULL);

    *Object = NULL;
    SIZE_T Size = sizeof(OBJECT_HEADER) + (SIZE_T)BodySize;
    POBJECT_HEADER Header = ExAllocatePoolWithTag(NonPagedPool, Size, Type->PoolTag);
    if (Header == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;

    /* Pool blocks are 16-byte aligned, which puts the body on a 16-byte
     * boundary too (ob.h asserts its offset). */
    ASSERT(((ULONG_PTR)Header & 15) == 0);
    memset(Header, 0, Size);
    Header->PointerCount = 1;
    Header->Type = Type;
    Header->BodySize = BodySize;
    ObpCountUp(&Type->TotalNumberOfObjects, &Type->HighWaterNumberOfObjects);
    *Object = OBJECT_HEADER_TO_BODY(Header);
    return STATUS_SUCCESS;
}

/* ObReferenceObject is inline (ob.h). */

/* The count reached zero: nobody else can reach the object any more. */
static void ObpDeleteObject(POBJECT_HEADER Header)
{
    POBJECT_TYPE Type = Header->Type;
    /* A name goes with the last handle, before that handle's reference
     * (ob/obdir.c): a named object here lost a reference it never had. */
    if (Header->NameInfo != NULL)
        ObpBadReferenceCount(Header, 0);
    if (Type->DeleteProcedure != NULL)
        Type->DeleteProcedure(OBJECT_HEADER_TO_BODY(Header));
    ObpCountDown(&Type->TotalNumberOfObjects);
    ExFreePoolWithTag(Header, Type->PoolTag);
}

/*
 * ObDereferenceObject (inline, ob.h) found the new count at or below zero:
 * a bug, or the last reference gone.
 */
LONG_PTR ObpDereferenceObjectSlow(POBJECT_HEADER Header, LONG_PTR Count)
{
    /* Below zero, a reference dropped twice. At zero with a handle still
     * open, a handle's own reference has been dropped by someone else. The
     * handle count is safe to read here and only here: a count of zero
     * means no one else holds the object, so no one else can free it. */
    if (Count < 0 || (Count == 0 && Header->HandleCount > 0))
        ObpBadReferenceCount(Header, Count + 1);
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    if (Count == 0)
        ObpDeleteObject(Header);
    return Count;
}

NTSTATUS ObReferenceObjectByPointer(PVOID Object, ACCESS_MASK DesiredAccess,
                                    POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode)
{
    UNREFERENCED_PARAMETER(DesiredAccess);
    UNREFERENCED_PARAMETER(AccessMode);
    ASSERT(Object != NULL);

    if (ObjectType != NULL && OBJECT_TO_OBJECT_HEADER(Object)->Type != ObjectType)
        return STATUS_OBJECT_TYPE_MISMATCH;
    ObReferenceObject(Object);
    return STATUS_SUCCESS;
}

LONG_PTR ObQueryPointerCount(PVOID Object)
{
    return __atomic_load_n(&OBJECT_TO_OBJECT_HEADER(Object)->PointerCount, __ATOMIC_RELAXED);
}

LONG_PTR ObQueryHandleCount(PVOID Object)
{
    return __atomic_load_n(&OBJECT_TO_OBJECT_HEADER(Object)->HandleCount, __ATOMIC_RELAXED);
}

/* A new handle's reference: PointerCount first (see the file header). */
void ObpAddHandleReference(PVOID Object)
{
    POBJECT_HEADER Header = OBJECT_TO_OBJECT_HEADER(Object);
    ObReferenceObject(Object);
    __atomic_add_fetch(&Header->HandleCount, 1, __ATOMIC_SEQ_CST);
    ObpCountUp(&Header->Type->TotalNumberOfHandles, &Header->Type->HighWaterNumberOfHandles);
}

/* A closed handle's reference: HandleCount first; the last handle takes a
 * temporary object's name with it while its reference still keeps the
 * object alive, and the type's CloseProcedure runs while it does too. No
 * table lock held: the object may be deleted here. */
void ObpDropHandleReference(PVOID Object)
{
    POBJECT_HEADER Header = OBJECT_TO_OBJECT_HEADER(Object);
    LONG_PTR Handles = __atomic_sub_fetch(&Header->HandleCount, 1, __ATOMIC_SEQ_CST);
    if (Handles < 0)
        ObpBadReferenceCount(Header, Header->PointerCount);
    if (Handles == 0 && __atomic_load_n(&Header->NameInfo, __ATOMIC_SEQ_CST) != NULL)
        ObpDeleteNameCheck(Header);
    ObpCountDown(&Header->Type->TotalNumberOfHandles);
    if (Header->Type->CloseProcedure != NULL)
        Header->Type->CloseProcedure(Object, Handles);
    ObDereferenceObject(Object);
}

