/*
 * test_ob.c - in-kernel tests of the object manager (ob/): object
 * lifetime, handle values, growth, reuse, errors, duplication, inheritance,
 * enumeration, kernel handles, and the pool they give back.
 *
 * Every test uses private handle tables (ObCreateHandleTable), so none
 * depends on the process manager, and ends with the pool usage of the test
 * type's tag back at zero.
 */
#include "../../include/ktest.h"
#include "../../ob/ob.h"
#include "../../mm/mm.h"
#include "../../rtl/rtl.h"
#include "ktdefer.h"
#include "ktbaseline.h"

/* Two types: "ObTest" (tag 'ObTe') counts its deletions, "ObOther"
 * ('ObOt') is only there to be the wrong type. */
static OBJECT_TYPE KtObType, KtObOtherType;
static ULONG KtObDeletes;
static PVOID KtObLastDeleted;

#define KT_OB_TAG POOL_TAG('O', 'b', 'T', 'e')

typedef struct _KT_OB_BODY {
    ULONG64 Value;
    UCHAR Bytes[100];
} KT_OB_BODY;

static void KtObDelete(PVOID Object)
{
    KtObDeletes++;
    KtObLastDeleted = Object;
}

static void KtObSetup(void)
{
    if (!KtObType.Initialized)
        ObInitializeObjectType(&KtObType, "ObTest", KtObDelete);
    if (!KtObOtherType.Initialized)
        ObInitializeObjectType(&KtObOtherType, "ObOther", NULL);
    KtObDeletes = 0;
    KtObLastDeleted = NULL;
}

static SIZE_T KtObBytesInUse(ULONG Tag)
{
    static POOL_TAG_INFO Tags[POOL_TRACKER_SIZE + 1];
    ULONG Count = ExQueryPoolTags(NonPagedPool, Tags, ARRAYSIZE(Tags));
    for (ULONG i = 0; i < Count; i++) {
        if (Tags[i].Tag == Tag)
            return Tags[i].BytesInUse;
    }
    return 0;
}

/* Deferred cleanups (KtDefer): a test that stops early still gives back
 * its tables and its references, so later tests see clean counts. */
static void KtObDestroyTable(PVOID Table)
{
    ObDestroyHandleTable(Table);
}

static void KtObDereference(PVOID Object)
{
    ObDereferenceObject(Object);
}

static PVOID KtObNew(void)
{
    PVOID Object;
    if (!NT_SUCCESS(ObCreateObject(&KtObType, sizeof(KT_OB_BODY), &Object)))
        return NULL;
    return Object;
}

KTEST(ob, delete_procedure_runs_once_when_count_hits_zero)
{
    KtObSetup();
    SIZE_T Baseline = KtObBytesInUse(KT_OB_TAG);
    PVOID Object = KtObNew();
    KT_ASSERT(Object != NULL);
    KT_ASSERT(KtObBytesInUse(KT_OB_TAG) > Baseline);
    KT_ASSERT_EQ(KtObType.TotalNumberOfObjects, 1);
    KT_ASSERT_EQ(ObQueryPointerCount(Object), 1);
    KT_ASSERT_EQ(ObQueryHandleCount(Object), 0);

    KT_ASSERT_EQ(ObReferenceObject(Object), 2);
    KT_ASSERT_EQ(ObReferenceObject(Object), 3);
    KT_ASSERT_EQ(ObDereferenceObject(Object), 2);
    KT_ASSERT_EQ(ObDereferenceObject(Object), 1);
    KT_ASSERT_EQ(KtObDeletes, 0);
    KT_ASSERT_EQ(ObDereferenceObject(Object), 0);
    KT_ASSERT_EQ(KtObDeletes, 1);
    KT_ASSERT(KtObLastDeleted == Object);
    KT_ASSERT_EQ(KtObType.TotalNumberOfObjects, 0);
    KT_ASSERT_EQ(KtObBytesInUse(KT_OB_TAG), Baseline);
}

KTEST(ob, body_is_zeroed_aligned_and_typed)
{
    KtObSetup();
    KT_OB_BODY *Body = KtObNew();
    KT_ASSERT(Body != NULL);
    KT_ASSERT_EQ((ULONG_PTR)Body & 15, 0);
    KT_ASSERT_EQ(Body->Value, 0);
    for (ULONG i = 0; i < sizeof(Body->Bytes); i++)
        KT_ASSERT_EQ(Body->Bytes[i], 0);
    POBJECT_HEADER Header = OBJECT_TO_OBJECT_HEADER(Body);
    KT_ASSERT(OBJECT_HEADER_TO_BODY(Header) == (PVOID)Body);
    KT_ASSERT_EQ((ULONG_PTR)Body - (ULONG_PTR)Header, 0x30); /* past the header and its NameInfo */
    KT_ASSERT(Header->Type == &KtObType);
    KT_ASSERT(ObGetObjectType(Body) == &KtObType);
    KT_ASSERT_EQ(Header->BodySize, sizeof(KT_OB_BODY));
    KT_ASSERT_EQ(KtObType.PoolTag, KT_OB_TAG);

    /* ObReferenceObjectByPointer checks the type before referencing. */
    KT_ASSERT_EQ(ObReferenceObjectByPointer(Body, 0, &KtObOtherType, KernelMode),
                 STATUS_OBJECT_TYPE_MISMATCH);
    KT_ASSERT_EQ(ObQueryPointerCount(Body), 1);
    KT_ASSERT_EQ(ObReferenceObjectByPointer(Body, 0, &KtObType, KernelMode), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObDereferenceObject(Body), 1);
    ObDereferenceObject(Body);
    KT_ASSERT_EQ(KtObDeletes, 1);
}

KTEST(ob, handles_are_multiples_of_4_starting_at_4)
{
    KtObSetup();
    PHANDLE_TABLE Table;
    KT_ASSERT_EQ(ObCreateHandleTable(&Table), STATUS_SUCCESS);
    PKT_DEFERRED DestroyTable = KtDefer(KtObDestroyTable, Table);
    PVOID Object = KtObNew();
    KT_ASSERT(Object != NULL);
    PKT_DEFERRED DereferenceObject = KtDefer(KtObDereference, Object);

    for (ULONG i = 0; i < 10; i++) {
        HANDLE Handle;
        KT_ASSERT_EQ(ObInsertHandle(Table, Object, 0x1F, 0, &Handle), STATUS_SUCCESS);
        KT_ASSERT_EQ((ULONG_PTR)Handle, 4 * (i + 1));
    }
    /* Each handle holds its own reference. */
    KT_ASSERT_EQ(ObQueryPointerCount(Object), 11);
    KT_ASSERT_EQ(ObQueryHandleCount(Object), 10);
    KT_ASSERT_EQ(Table->HandleCount, 10);
    KT_ASSERT_EQ(KtObType.TotalNumberOfHandles, 10);

    /* Our own reference goes; the handles keep the object alive. */
    KtCleanupNow(DereferenceObject);
    KT_ASSERT_EQ(KtObDeletes, 0);
    PVOID Found;
    KT_ASSERT_EQ(ObReferenceObjectByHandleInTable(Table, (HANDLE)40, &KtObType, &Found),
                 STATUS_SUCCESS);
    KT_ASSERT(Found == Object);
    ObDereferenceObject(Found);

    KtCleanupNow(DestroyTable);
    KT_ASSERT_EQ(KtObDeletes, 1);
    KT_ASSERT_EQ(KtObType.TotalNumberOfHandles, 0);
}

KTEST(ob, table_grows_past_initial_size)
{
    enum { COUNT = 1000 };
    static PVOID Objects[COUNT];
    KtObSetup();
    SIZE_T TableBaseline = KtObBytesInUse(OB_HANDLE_TABLE_TAG);
    PHANDLE_TABLE Table;
    KT_ASSERT_EQ(ObCreateHandleTable(&Table), STATUS_SUCCESS);
    PKT_DEFERRED DestroyTable = KtDefer(KtObDestroyTable, Table);
    KT_ASSERT_EQ(Table->Capacity, OB_HANDLE_TABLE_INITIAL_ENTRIES);

    for (ULONG i = 0; i < COUNT; i++) {
        Objects[i] = KtObNew();
        KT_ASSERT(Objects[i] != NULL);
        ((KT_OB_BODY *)Objects[i])->Value = i;
        HANDLE Handle;
        KT_ASSERT_EQ(ObInsertHandle(Table, Objects[i], 1, 0, &Handle), STATUS_SUCCESS);
        KT_ASSERT_EQ((ULONG_PTR)Handle, 4 * (i + 1));
        ObDereferenceObject(Objects[i]);    /* the handle holds it now */
    }
    KT_ASSERT(Table->Capacity >= COUNT);
    KT_ASSERT_EQ(Table->HandleCount, COUNT);
    KT_ASSERT_EQ(Table->HighWaterHandleCount, COUNT);

    /* Every handle still finds its own object after the arrays moved. */
    for (ULONG i = 0; i < COUNT; i++) {
        PVOID Found;
        KT_ASSERT_EQ(ObReferenceObjectByHandleInTable(Table, OB_INDEX_TO_HANDLE(i), &KtObType,
                                                      &Found),
                     STATUS_SUCCESS);
        KT_ASSERT(Found == Objects[i]);
        KT_ASSERT_EQ(((KT_OB_BODY *)Found)->Value, i);
        KT_ASSERT_EQ(ObQueryPointerCount(Found), 2);
        ObDereferenceObject(Found);
    }

    /* Destroying the table closes every handle, deletes every object, and
     * gives every byte back. */
    KtCleanupNow(DestroyTable);
    KT_ASSERT_EQ(KtObDeletes, COUNT);
    KT_ASSERT_EQ(KtObType.TotalNumberOfObjects, 0);
    KT_ASSERT_EQ(KtObType.TotalNumberOfHandles, 0);
    KT_ASSERT_EQ(KtObBytesInUse(KT_OB_TAG), 0);
    KT_ASSERT_EQ(KtObBytesInUse(OB_HANDLE_TABLE_TAG), TableBaseline);
}

KTEST(ob, close_frees_the_slot_and_the_lowest_is_reused)
{
    KtObSetup();
    PHANDLE_TABLE Table;
    KT_ASSERT_EQ(ObCreateHandleTable(&Table), STATUS_SUCCESS);
    PKT_DEFERRED DestroyTable = KtDefer(KtObDestroyTable, Table);
    PVOID Object = KtObNew();
    KT_ASSERT(Object != NULL);
    PKT_DEFERRED DereferenceObject = KtDefer(KtObDereference, Object);
    HANDLE Handle;
    for (ULONG i = 0; i < 8; i++)
        KT_ASSERT_EQ(ObInsertHandle(Table, Object, 0, 0, &Handle), STATUS_SUCCESS);
    KT_ASSERT_EQ((ULONG_PTR)Handle, 32);

    KT_ASSERT_EQ(ObCloseHandleInTable(Table, (HANDLE)24), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObCloseHandleInTable(Table, (HANDLE)12), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObCloseHandleInTable(Table, (HANDLE)8), STATUS_SUCCESS);
    KT_ASSERT_EQ(Table->HandleCount, 5);
    KT_ASSERT_EQ(ObQueryHandleCount(Object), 5);
    KT_ASSERT_EQ(ObQueryPointerCount(Object), 6);

    /* Closed handles are gone, and closing again is an error. */
    PVOID Found = (PVOID)1;
    KT_ASSERT_EQ(ObReferenceObjectByHandleInTable(Table, (HANDLE)12, NULL, &Found),
                 STATUS_INVALID_HANDLE);
    KT_ASSERT(Found == NULL);
    KT_ASSERT_EQ(ObCloseHandleInTable(Table, (HANDLE)12), STATUS_INVALID_HANDLE);

    /* Lowest free slot first, then past the end. */
    static const ULONG_PTR Expected[] = {8, 12, 24, 36};
    for (ULONG i = 0; i < ARRAYSIZE(Expected); i++) {
        KT_ASSERT_EQ(ObInsertHandle(Table, Object, 0, 0, &Handle), STATUS_SUCCESS);
        KT_ASSERT_EQ((ULONG_PTR)Handle, Expected[i]);
    }

    /* The table goes but our reference keeps the object. */
    KtCleanupNow(DestroyTable);
    KT_ASSERT_EQ(KtObDeletes, 0);
    KT_ASSERT_EQ(ObQueryPointerCount(Object), 1);
    KT_ASSERT_EQ(ObQueryHandleCount(Object), 0);
    KtCleanupNow(DereferenceObject);
    KT_ASSERT_EQ(KtObDeletes, 1);
}

KTEST(ob, closing_the_last_handle_deletes_the_object)
{
    KtObSetup();
    PHANDLE_TABLE Table;
    KT_ASSERT_EQ(ObCreateHandleTable(&Table), STATUS_SUCCESS);
    PKT_DEFERRED DestroyTable = KtDefer(KtObDestroyTable, Table);
    PVOID Object = KtObNew();
    KT_ASSERT(Object != NULL);
    PKT_DEFERRED DereferenceObject = KtDefer(KtObDereference, Object);
    HANDLE First, Second;
    KT_ASSERT_EQ(ObInsertHandle(Table, Object, 0, 0, &First), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObInsertHandle(Table, Object, 0, 0, &Second), STATUS_SUCCESS);
    KtCleanupNow(DereferenceObject);
    KT_ASSERT_EQ(ObCloseHandleInTable(Table, First), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtObDeletes, 0);
    KT_ASSERT_EQ(ObCloseHandleInTable(Table, Second), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtObDeletes, 1);
    KT_ASSERT(KtObLastDeleted == Object);
    KT_ASSERT_EQ(Table->HandleCount, 0);
    KtCleanupNow(DestroyTable);
    KT_ASSERT_EQ(KtObDeletes, 1);
    KT_ASSERT_EQ(KtObBytesInUse(KT_OB_TAG), 0);
}

KTEST(ob, invalid_handles_are_refused)
{
    KtObSetup();
    PHANDLE_TABLE Table;
    KT_ASSERT_EQ(ObCreateHandleTable(&Table), STATUS_SUCCESS);
    PKT_DEFERRED DestroyTable = KtDefer(KtObDestroyTable, Table);
    PVOID Object = KtObNew();
    KT_ASSERT(Object != NULL);
    PKT_DEFERRED DereferenceObject = KtDefer(KtObDereference, Object);
    HANDLE Handle, Closed;
    KT_ASSERT_EQ(ObInsertHandle(Table, Object, 0, 0, &Handle), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObInsertHandle(Table, Object, 0, 0, &Closed), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObCloseHandleInTable(Table, Closed), STATUS_SUCCESS);
    KT_ASSERT_EQ((ULONG_PTR)Handle, 4);
    KT_ASSERT_EQ((ULONG_PTR)Closed, 8);

    const ULONG_PTR Bad[] = {
        0, /* never a handle */
        1,
        2,
        3, /* 0 with tag bits */
        8,
        9,
        11, /* closed: a free slot (tagged too) */
        12, /* never opened, inside the array */
        4 * ((ULONG_PTR)OB_HANDLE_TABLE_INITIAL_ENTRIES + 1), /* just past the array */
        (ULONG_PTR)1 << 40, /* far beyond */
        4 | KERNEL_HANDLE_MASK, /* a kernel handle, wrong table */
        (ULONG_PTR)-1,
        (ULONG_PTR)-2, /* pseudo handles */
    };
    for (ULONG i = 0; i < ARRAYSIZE(Bad); i++) {
        PVOID Found = (PVOID)1;
        KT_ASSERT_EQ(ObReferenceObjectByHandleInTable(Table, (HANDLE)Bad[i], NULL, &Found),
                     STATUS_INVALID_HANDLE);
        KT_ASSERT(Found == NULL);
        KT_ASSERT_EQ(ObCloseHandleInTable(Table, (HANDLE)Bad[i]), STATUS_INVALID_HANDLE);
    }
    /* Nothing was referenced or closed on the way. */
    KT_ASSERT_EQ(ObQueryPointerCount(Object), 2);
    KT_ASSERT_EQ(ObQueryHandleCount(Object), 1);
    KT_ASSERT_EQ(Table->HandleCount, 1);

    KtCleanupNow(DestroyTable);
    KtCleanupNow(DereferenceObject);
    KT_ASSERT_EQ(KtObDeletes, 1);
}

/* NT ignores a handle's low two bits (free for the caller's tags): 5, 6
 * and 7 name the entry of 4 for look-up, close and duplication. */
KTEST(ob, tag_bits_name_the_same_entry)
{
    KtObSetup();
    PHANDLE_TABLE Table;
    KT_ASSERT_EQ(ObCreateHandleTable(&Table), STATUS_SUCCESS);
    PKT_DEFERRED DestroyTable = KtDefer(KtObDestroyTable, Table);
    PVOID Object = KtObNew();
    KT_ASSERT(Object != NULL);
    PKT_DEFERRED DereferenceObject = KtDefer(KtObDereference, Object);
    HANDLE Handle, Copy;
    KT_ASSERT_EQ(ObInsertHandle(Table, Object, 0x5, 0, &Handle), STATUS_SUCCESS);
    KT_ASSERT_EQ((ULONG_PTR)Handle, 4);

    for (ULONG_PTR Tag = 1; Tag <= 3; Tag++) {
        PVOID Found = NULL;
        KT_ASSERT_EQ(ObReferenceObjectByHandleInTable(Table, (HANDLE)(4 | Tag), &KtObType, &Found),
                     STATUS_SUCCESS);
        KT_ASSERT(Found == Object);
        ObDereferenceObject(Found);
    }
    /* A copy made from a tagged value is an ordinary value. */
    KT_ASSERT_EQ(ObDuplicateHandle(Table, (HANDLE)7, Table, 0, 0, DUPLICATE_SAME_ACCESS, &Copy),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ((ULONG_PTR)Copy, 8);
    /* ...and a move from a tagged value returns the untagged source value. */
    HANDLE Moved = NULL;
    KT_ASSERT_EQ(ObDuplicateHandle(Table, (HANDLE)10, Table, 0, 0,
                                   DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE, &Moved),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ((ULONG_PTR)Moved, 8);
    KT_ASSERT_EQ(ObCloseHandleInTable(Table, (HANDLE)11), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObCloseHandleInTable(Table, (HANDLE)6), STATUS_SUCCESS);
    KT_ASSERT_EQ(Table->HandleCount, 0);
    KT_ASSERT_EQ(ObQueryHandleCount(Object), 0);

    KtCleanupNow(DestroyTable);
    KtCleanupNow(DereferenceObject);
    KT_ASSERT_EQ(KtObDeletes, 1);
}

KTEST(ob, wrong_type_is_a_mismatch_without_a_reference)
{
    KtObSetup();
    PHANDLE_TABLE Table;
    KT_ASSERT_EQ(ObCreateHandleTable(&Table), STATUS_SUCCESS);
    PKT_DEFERRED DestroyTable = KtDefer(KtObDestroyTable, Table);
    PVOID Object = KtObNew();
    KT_ASSERT(Object != NULL);
    PKT_DEFERRED DereferenceObject = KtDefer(KtObDereference, Object);
    HANDLE Handle;
    KT_ASSERT_EQ(ObInsertHandle(Table, Object, 0x3, 0, &Handle), STATUS_SUCCESS);

    PVOID Found = (PVOID)1;
    KT_ASSERT_EQ(ObReferenceObjectByHandleInTable(Table, Handle, &KtObOtherType, &Found),
                 STATUS_OBJECT_TYPE_MISMATCH);
    KT_ASSERT(Found == NULL);
    KT_ASSERT_EQ(ObQueryPointerCount(Object), 2);

    /* The right type, or any type, succeeds and reports the handle. */
    OBJECT_HANDLE_INFORMATION Info;
    KT_ASSERT_EQ(ObReferenceObjectByHandleInTableEx(Table, Handle, &KtObType, &Found, &Info),
                 STATUS_SUCCESS);
    KT_ASSERT(Found == Object);
    KT_ASSERT_EQ(Info.GrantedAccess, 0x3);
    KT_ASSERT_EQ(Info.HandleAttributes, 0);
    ObDereferenceObject(Found);
    KT_ASSERT_EQ(ObReferenceObjectByHandleInTable(Table, Handle, NULL, &Found), STATUS_SUCCESS);
    ObDereferenceObject(Found);
    KT_ASSERT_EQ(ObQueryPointerCount(Object), 2);

    KtCleanupNow(DestroyTable);
    KtCleanupNow(DereferenceObject);
    KT_ASSERT_EQ(KtObDeletes, 1);
}

KTEST(ob, insert_refuses_unknown_attributes)
{
    KtObSetup();
    PHANDLE_TABLE Table;
    KT_ASSERT_EQ(ObCreateHandleTable(&Table), STATUS_SUCCESS);
    PKT_DEFERRED DestroyTable = KtDefer(KtObDestroyTable, Table);
    PVOID Object = KtObNew();
    KT_ASSERT(Object != NULL);
    PKT_DEFERRED DereferenceObject = KtDefer(KtObDereference, Object);
    HANDLE Handle = NULL;
    KT_ASSERT_EQ(ObInsertHandle(Table, Object, 0, 0x1, &Handle), STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(ObInsertHandle(Table, Object, 0, OBJ_KERNEL_HANDLE, &Handle),
                 STATUS_INVALID_PARAMETER);
    KT_ASSERT(Handle == NULL);
    KT_ASSERT_EQ(Table->HandleCount, 0);
    KT_ASSERT_EQ(ObQueryPointerCount(Object), 1);
    KtCleanupNow(DestroyTable);
    KtCleanupNow(DereferenceObject);
    KT_ASSERT_EQ(KtObDeletes, 1);
}

KTEST(ob, duplicate_within_and_across_tables)
{
    KtObSetup();
    PHANDLE_TABLE Source, Target;
    KT_ASSERT_EQ(ObCreateHandleTable(&Source), STATUS_SUCCESS);
    PKT_DEFERRED DestroySource = KtDefer(KtObDestroyTable, Source);
    KT_ASSERT_EQ(ObCreateHandleTable(&Target), STATUS_SUCCESS);
    PKT_DEFERRED DestroyTarget = KtDefer(KtObDestroyTable, Target);
    PVOID Object = KtObNew();
    KT_ASSERT(Object != NULL);
    PKT_DEFERRED DereferenceObject = KtDefer(KtObDereference, Object);
    HANDLE Original, Copy;
    KT_ASSERT_EQ(ObInsertHandle(Source, Object, 0x7, OBJ_INHERIT, &Original), STATUS_SUCCESS);
    KtCleanupNow(DereferenceObject);            /* handles only from here on */

    /* Same access and attributes, into another table. */
    KT_ASSERT_EQ(ObDuplicateHandle(Source, Original, Target, 0, 0,
                                   DUPLICATE_SAME_ACCESS | DUPLICATE_SAME_ATTRIBUTES, &Copy),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ((ULONG_PTR)Copy, 4);
    OBJECT_HANDLE_INFORMATION Info;
    PVOID Found;
    KT_ASSERT_EQ(ObReferenceObjectByHandleInTableEx(Target, Copy, &KtObType, &Found, &Info),
                 STATUS_SUCCESS);
    KT_ASSERT(Found == Object);
    KT_ASSERT_EQ(Info.GrantedAccess, 0x7);
    KT_ASSERT_EQ(Info.HandleAttributes, OBJ_INHERIT);
    ObDereferenceObject(Found);
    KT_ASSERT_EQ(ObQueryHandleCount(Object), 2);

    /* Narrower access is fine; wider is refused and changes nothing. */
    HANDLE Narrow, Wide = NULL;
    KT_ASSERT_EQ(ObDuplicateHandle(Source, Original, Source, 0x1, 0, 0, &Narrow), STATUS_SUCCESS);
    KT_ASSERT_EQ((ULONG_PTR)Narrow, 8);
    KT_ASSERT_EQ(ObDuplicateHandle(Source, Original, Target, 0xF, 0, 0, &Wide),
                 STATUS_ACCESS_DENIED);
    KT_ASSERT(Wide == NULL);
    KT_ASSERT_EQ(ObQueryHandleCount(Object), 3);
    KT_ASSERT_EQ(ObDuplicateHandle(Source, (HANDLE)400, Target, 0, 0, DUPLICATE_SAME_ACCESS,
                                   &Wide),
                 STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(ObDuplicateHandle(Source, Original, Target, 0, 0, 0x80, &Wide),
                 STATUS_INVALID_PARAMETER);

    /* DUPLICATE_CLOSE_SOURCE moves the handle. */
    HANDLE Moved;
    KT_ASSERT_EQ(ObDuplicateHandle(Source, Narrow, Target, 0, 0,
                                   DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE, &Moved),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ((ULONG_PTR)Moved, 8);
    KT_ASSERT_EQ(ObCloseHandleInTable(Source, Narrow), STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(Source->HandleCount, 1);
    KT_ASSERT_EQ(Target->HandleCount, 2);
    KT_ASSERT_EQ(ObQueryHandleCount(Object), 3);

    /* Into the same table, as NT: the source is closed first, so the copy
     * takes its slot and value, with the new access. */
    HANDLE Again = NULL;
    KT_ASSERT_EQ(ObInsertHandle(Source, Object, 0x7, 0, &Narrow), STATUS_SUCCESS);
    KT_ASSERT_EQ((ULONG_PTR)Narrow, 8);
    KT_ASSERT_EQ(ObDuplicateHandle(Source, Narrow, Source, 0x3, 0, DUPLICATE_CLOSE_SOURCE, &Again),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ((ULONG_PTR)Again, 8);
    KT_ASSERT_EQ(Source->HandleCount, 2);
    KT_ASSERT_EQ(ObQueryHandleCount(Object), 4);
    KT_ASSERT_EQ(ObReferenceObjectByHandleInTableEx(Source, Again, &KtObType, &Found, &Info),
                 STATUS_SUCCESS);
    ObDereferenceObject(Found);
    KT_ASSERT_EQ(Info.GrantedAccess, 0x3);
    KT_ASSERT_EQ(ObCloseHandleInTable(Source, Again), STATUS_SUCCESS);

    /* ...and with no target it only closes. */
    KT_ASSERT_EQ(ObDuplicateHandle(Source, Original, NULL, 0, 0, DUPLICATE_CLOSE_SOURCE, NULL),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(Source->HandleCount, 0);

    KtCleanupNow(DestroySource);
    KT_ASSERT_EQ(KtObDeletes, 0);
    KtCleanupNow(DestroyTarget);
    KT_ASSERT_EQ(KtObDeletes, 1);
    KT_ASSERT_EQ(KtObBytesInUse(KT_OB_TAG), 0);
}

KTEST(ob, inherit_copies_only_inheritable_handles_at_the_same_values)
{
    KtObSetup();
    PHANDLE_TABLE Parent, Child;
    KT_ASSERT_EQ(ObCreateHandleTable(&Parent), STATUS_SUCCESS);
    PKT_DEFERRED DestroyParent = KtDefer(KtObDestroyTable, Parent);
    PVOID Kept = KtObNew(), Private = KtObNew();
    KT_ASSERT(Kept != NULL && Private != NULL);
    HANDLE Handles[40];
    /* Enough handles that the parent has grown: the child must match. */
    for (ULONG i = 0; i < ARRAYSIZE(Handles); i++) {
        BOOLEAN Inherit = (i % 3) == 0;
        KT_ASSERT_EQ(ObInsertHandle(Parent, Inherit ? Kept : Private, i, Inherit ? OBJ_INHERIT : 0,
                                    &Handles[i]),
                     STATUS_SUCCESS);
    }
    KT_ASSERT_EQ(ObInheritHandleTable(Parent, &Child), STATUS_SUCCESS);
    KT_ASSERT_EQ(Child->Capacity, Parent->Capacity);
    KT_ASSERT_EQ(Child->HandleCount, 14);
    KT_ASSERT_EQ(ObQueryHandleCount(Kept), 28);
    KT_ASSERT_EQ(ObQueryHandleCount(Private), 26);

    for (ULONG i = 0; i < ARRAYSIZE(Handles); i++) {
        PVOID Found;
        OBJECT_HANDLE_INFORMATION Info;
        NTSTATUS Status =
            ObReferenceObjectByHandleInTableEx(Child, Handles[i], NULL, &Found, &Info);
        if ((i % 3) == 0) {
            KT_ASSERT_EQ(Status, STATUS_SUCCESS);
            KT_ASSERT(Found == Kept);
            KT_ASSERT_EQ(Info.GrantedAccess, i);
            KT_ASSERT_EQ(Info.HandleAttributes, OBJ_INHERIT);
            ObDereferenceObject(Found);
        } else {
            KT_ASSERT_EQ(Status, STATUS_INVALID_HANDLE);
        }
    }
    /* The child's free slots are reused lowest first too. */
    HANDLE Handle;
    KT_ASSERT_EQ(ObInsertHandle(Child, Private, 0, 0, &Handle), STATUS_SUCCESS);
    KT_ASSERT_EQ((ULONG_PTR)Handle, 8);

    KtCleanupNow(DestroyParent);
    KT_ASSERT_EQ(ObQueryHandleCount(Kept), 14);
    ObDestroyHandleTable(Child);
    KT_ASSERT_EQ(ObQueryHandleCount(Kept), 0);
    KT_ASSERT_EQ(KtObDeletes, 0);
    ObDereferenceObject(Kept);
    ObDereferenceObject(Private);
    KT_ASSERT_EQ(KtObDeletes, 2);
    KT_ASSERT_EQ(KtObBytesInUse(KT_OB_TAG), 0);
}

typedef struct _KT_OB_WALK {
    ULONG Visited;
    ULONG StopAfter;
    ULONG_PTR Sum;
} KT_OB_WALK;

static BOOLEAN KtObWalk(HANDLE Handle, const HANDLE_TABLE_ENTRY *Entry, PVOID Context)
{
    KT_OB_WALK *Walk = Context;
    Walk->Visited++;
    Walk->Sum += (ULONG_PTR)Handle + Entry->GrantedAccess;
    return Walk->Visited == Walk->StopAfter;
}

KTEST(ob, enumeration_visits_open_handles_in_order)
{
    KtObSetup();
    PHANDLE_TABLE Table;
    KT_ASSERT_EQ(ObCreateHandleTable(&Table), STATUS_SUCCESS);
    PKT_DEFERRED DestroyTable = KtDefer(KtObDestroyTable, Table);
    PVOID Object = KtObNew();
    KT_ASSERT(Object != NULL);
    PKT_DEFERRED DereferenceObject = KtDefer(KtObDereference, Object);
    HANDLE Handle;
    for (ULONG i = 0; i < 50; i++)
        KT_ASSERT_EQ(ObInsertHandle(Table, Object, 1, 0, &Handle), STATUS_SUCCESS);
    for (ULONG i = 0; i < 50; i += 2)
        KT_ASSERT_EQ(ObCloseHandleInTable(Table, OB_INDEX_TO_HANDLE(i)), STATUS_SUCCESS);

    /* Handles 8, 16, ..., 200 remain: sum 4 * (2 + 4 + ... + 50) + 25. */
    KT_OB_WALK Walk = {0, 0, 0};
    KT_ASSERT_EQ(ObEnumerateHandleTable(Table, KtObWalk, &Walk), FALSE);
    KT_ASSERT_EQ(Walk.Visited, 25);
    KT_ASSERT_EQ(Walk.Sum, 4 * 650 + 25);
    KT_OB_WALK Stopped = {0, 3, 0};
    KT_ASSERT_EQ(ObEnumerateHandleTable(Table, KtObWalk, &Stopped), TRUE);
    KT_ASSERT_EQ(Stopped.Visited, 3);
    KT_ASSERT_EQ(Stopped.Sum, 8 + 16 + 24 + 3);
    KT_ASSERT_EQ(ObQueryPointerCount(Object), 26);

    KtCleanupNow(DestroyTable);
    KtCleanupNow(DereferenceObject);
    KT_ASSERT_EQ(KtObDeletes, 1);
}

/* Look-ups take no table lock, so an entry must never move: growth adds
 * a segment and leaves the ones before it (and their entries) where they
 * were. */
KTEST(ob, growth_leaves_entries_in_place)
{
    enum { COUNT = 300 };
    KtObSetup();
    PHANDLE_TABLE Table;
    KT_ASSERT_EQ(ObCreateHandleTable(&Table), STATUS_SUCCESS);
    PKT_DEFERRED DestroyTable = KtDefer(KtObDestroyTable, Table);
    PVOID Object = KtObNew();
    KT_ASSERT(Object != NULL);
    PKT_DEFERRED DereferenceObject = KtDefer(KtObDereference, Object);

    HANDLE First;
    KT_ASSERT_EQ(ObInsertHandle(Table, Object, 1, 0, &First), STATUS_SUCCESS);
    PHANDLE_TABLE_ENTRY Segment0 = Table->Segments[0];
    KT_ASSERT(Segment0[0].Object == Object);
    for (ULONG i = 1; i < COUNT; i++) {
        HANDLE Handle;
        KT_ASSERT_EQ(ObInsertHandle(Table, Object, 1, 0, &Handle), STATUS_SUCCESS);
        KT_ASSERT_EQ((ULONG_PTR)Handle, 4 * (i + 1));
    }
    /* 32 + 64 + 128 < 300 <= 32 + 64 + 128 + 256: four segments. */
    KT_EXPECT_EQ(Table->SegmentCount, 4);
    KT_EXPECT_EQ(Table->Capacity, 480);
    KT_EXPECT(Table->Segments[0] == Segment0);
    KT_EXPECT(Segment0[0].Object == Object);
    /* The last handle of each segment and the first of the next. */
    static const ULONG Indexes[] = {31, 32, 95, 96, 223, 224, COUNT - 1};
    for (ULONG i = 0; i < ARRAYSIZE(Indexes); i++) {
        PVOID Found = NULL;
        OBJECT_HANDLE_INFORMATION Info;
        KT_EXPECT_EQ(ObReferenceObjectByHandleInTableEx(Table, OB_INDEX_TO_HANDLE(Indexes[i]),
                                                        &KtObType, &Found, &Info),
                     STATUS_SUCCESS);
        KT_EXPECT(Found == Object);
        KT_EXPECT_EQ(Info.GrantedAccess, 1);
        if (Found != NULL)
            ObDereferenceObject(Found);
    }
    PVOID Found = (PVOID)1;
    KT_EXPECT_EQ(ObReferenceObjectByHandleInTable(Table, OB_INDEX_TO_HANDLE(COUNT), NULL, &Found),
                 STATUS_INVALID_HANDLE);
    KT_EXPECT(Found == NULL);
    KT_EXPECT_EQ(ObReferenceObjectByHandleInTable(Table, OB_INDEX_TO_HANDLE(480), NULL, &Found),
                 STATUS_INVALID_HANDLE);
    KT_EXPECT_EQ(ObQueryPointerCount(Object), COUNT + 1);
    KtCleanupNow(DestroyTable);
    KT_EXPECT_EQ(ObQueryPointerCount(Object), 1);
    KtCleanupNow(DereferenceObject);
}

/* One thread makes and closes handle 4 over and over while this one looks
 * it up without the table lock: every look-up finds the object with a
 * reference of its own or finds no handle, never a freed or half-made
 * entry, and the count is back at 1 at the end. With two processors (the
 * smp step's ktest boot) the look-ups and closes run at the same time;
 * with one, the look-up's locked window has interrupts off, so they
 * interleave only between windows. */
typedef struct _KT_OB_RACE {
    PHANDLE_TABLE Table;
    PVOID Object;
    volatile LONG Stop;
    volatile ULONG Cycles;
    volatile ULONG Failures;
} KT_OB_RACE;

static void KtObRaceCloser(PVOID Context)
{
    KT_OB_RACE *Race = Context;
    while (!__atomic_load_n(&Race->Stop, __ATOMIC_ACQUIRE)) {
        HANDLE Handle;
        if (!NT_SUCCESS(ObInsertHandle(Race->Table, Race->Object, 1, 0, &Handle)) ||
            Handle != (HANDLE)4 || !NT_SUCCESS(ObCloseHandleInTable(Race->Table, Handle)))
            Race->Failures++;
        Race->Cycles++;
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

KTEST(ob, lookup_races_close_and_reinsert)
{
    KtObSetup();
    static KT_OB_RACE Race;
    memset(&Race, 0, sizeof(Race));
    KT_ASSERT_EQ(ObCreateHandleTable(&Race.Table), STATUS_SUCCESS);
    PKT_DEFERRED DestroyTable = KtDefer(KtObDestroyTable, Race.Table);
    Race.Object = KtObNew();
    KT_ASSERT(Race.Object != NULL);
    PKT_DEFERRED DereferenceObject = KtDefer(KtObDereference, Race.Object);

    HANDLE Thread;
    KT_ASSERT_EQ(PsCreateSystemThread(&Thread, 0, NULL, NULL, NULL, KtObRaceCloser, &Race),
                 STATUS_SUCCESS);
    PKT_DEFERRED Join = KtDeferJoinThread(Thread);
    ULONG Hits = 0, Misses = 0, Wrong = 0;
    for (ULONG i = 0; i < 20000; i++) {
        PVOID Found = NULL;
        NTSTATUS Status =
            ObReferenceObjectByHandleInTable(Race.Table, (HANDLE)4, &KtObType, &Found);
        if (Status == STATUS_SUCCESS && Found == Race.Object) {
            Hits++;
            ObDereferenceObject(Found);
        } else if (Status == STATUS_INVALID_HANDLE && Found == NULL) {
            Misses++;
        } else {
            Wrong++;
        }
        if (i % 1000 == 999)
            KtSleepMs(1); /* one processor: let the closer run */
    }
    __atomic_store_n(&Race.Stop, 1, __ATOMIC_RELEASE);
    KtCleanupNow(Join);
    DbgPrint("ktest: ob race: %u look-ups found it, %u found none, %u insert/close cycles\n", Hits,
             Misses, Race.Cycles);
    KT_EXPECT_EQ(Wrong, 0);
    KT_EXPECT_EQ(Race.Failures, 0);
    KT_EXPECT(Race.Cycles > 0);
    KT_EXPECT_EQ(Race.Table->HandleCount, 0);
    KT_EXPECT_EQ(ObQueryPointerCount(Race.Object), 1);
    KtCleanupNow(DestroyTable);
    KtCleanupNow(DereferenceObject);
}

KTEST(ob, kernel_handles_live_in_the_kernel_table_and_hide_from_user_mode)
{
    KtObSetup();
    PHANDLE_TABLE Saved = ObpKernelHandleTable, Table;
    KT_ASSERT_EQ(ObCreateHandleTable(&Table), STATUS_SUCCESS);
    PKT_DEFERRED DestroyTable = KtDefer(KtObDestroyTable, Table);
    ObpKernelHandleTable = Table;
    PVOID Object = KtObNew();
    KT_ASSERT(Object != NULL);
    PKT_DEFERRED DereferenceObject = KtDefer(KtObDereference, Object);

    HANDLE Handle;
    NTSTATUS Status = ObOpenObjectByPointer(Object, OBJ_KERNEL_HANDLE | OBJ_INHERIT, 0x5,
                                            &KtObType, KernelMode, &Handle);
    KT_ASSERT_EQ(Status, STATUS_SUCCESS);
    KT_ASSERT_EQ((ULONG_PTR)Handle, 4 | KERNEL_HANDLE_MASK);
    KT_ASSERT_EQ(Table->HandleCount, 1);
    KT_ASSERT_EQ(Table->Segments[0][0].Attributes, 0); /* kernel handles are never inherited */

    PVOID Found = NULL;
    OBJECT_HANDLE_INFORMATION Info;
    KT_ASSERT_EQ(ObReferenceObjectByHandle(Handle, 0xFF, &KtObType, KernelMode, &Found, &Info),
                 STATUS_SUCCESS);
    KT_ASSERT(Found == Object);
    KT_ASSERT_EQ(Info.GrantedAccess, 0x5);
    ObDereferenceObject(Found);
    KT_ASSERT_EQ(ObReferenceObjectByHandle(Handle, 0x1, &KtObType, UserMode, &Found, NULL),
                 STATUS_INVALID_HANDLE);
    KT_ASSERT(Found == NULL);
    KT_ASSERT_EQ(ObReferenceObjectByHandle(Handle, 0, &KtObOtherType, KernelMode, &Found, NULL),
                 STATUS_OBJECT_TYPE_MISMATCH);
    KT_ASSERT_EQ(ObOpenObjectByPointer(Object, 0, 0, &KtObOtherType, KernelMode, &Handle),
                 STATUS_OBJECT_TYPE_MISMATCH);
    KT_ASSERT_EQ(ObCloseHandle(Handle, UserMode), STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(ZwClose(Handle), STATUS_SUCCESS);
    KT_ASSERT_EQ(ZwClose(Handle), STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(Table->HandleCount, 0);

    ObpKernelHandleTable = Saved;
    KtCleanupNow(DestroyTable);
    KtCleanupNow(DereferenceObject);
    KT_ASSERT_EQ(KtObDeletes, 1);
}

static void KtObFindTypes(POBJECT_TYPE Type, PVOID Context)
{
    ULONG *Seen = Context;
    if (Type == &KtObType)
        *Seen |= 1;
    else if (Type == &KtObOtherType)
        *Seen |= 2;
}

KTEST(ob, types_are_enumerated)
{
    KtObSetup();
    ULONG Seen = 0;
    ObEnumerateObjectTypes(KtObFindTypes, &Seen);
    KT_ASSERT_EQ(Seen, 3);
    KT_ASSERT_EQ(KtObOtherType.PoolTag, POOL_TAG('O', 'b', 'O', 't'));
}

/* ------------------------------------------------------------------------
 * Reference-counting bugs stop the system.
 * ------------------------------------------------------------------------ */

KTEST_BUGCHECK(ob, dereference_below_zero, REFERENCE_BY_POINTER)
{
    /* A header that is not in pool, so that the count can be seen going
     * negative instead of the block being freed and reused. */
    static OBJECT_HEADER Fake __attribute__((aligned(16)));
    KtObSetup();
    Fake.PointerCount = 0;
    Fake.Type = &KtObType;
    ObDereferenceObject(OBJECT_HEADER_TO_BODY(&Fake));
}

KTEST_BUGCHECK(ob, dereference_below_handle_count, REFERENCE_BY_POINTER)
{
    KtObSetup();
    PHANDLE_TABLE Table;
    if (!NT_SUCCESS(ObCreateHandleTable(&Table)))
        return;
    PVOID Object = KtObNew();
    HANDLE Handle;
    if (Object == NULL || !NT_SUCCESS(ObInsertHandle(Table, Object, 0, 0, &Handle)))
        return;
    ObDereferenceObject(Object);    /* ours: fine, the handle keeps it */
    ObDereferenceObject(Object);    /* the handle's: a bug */
}
