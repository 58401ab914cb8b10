/*
 * test_handles.c - NtClose and NtDuplicateObject: closing, duplicating
 * within a process and across processes, inheritance, handle counts.
 */
#include "ut.h"

static NTSTATUS Poll(HANDLE Handle)
{
    LARGE_INTEGER Zero;
    Zero.QuadPart = 0;
    return NtWaitForSingleObject(Handle, FALSE, &Zero);
}

static void CloseBadHandles(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE);

    UT_ASSERT(E != NULL);
    UT_EXPECT_SUCCESS(NtClose(E));
    UT_EXPECT_STATUS(NtClose(E), STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtClose(UT_BAD_HANDLE), STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtClose(NULL), STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtClose((HANDLE)(ULONG_PTR)3), STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtClose((HANDLE)(ULONG_PTR)0xFFFFFFFF80000004ULL), STATUS_INVALID_HANDLE);
}

static void HandleCountFollowsCreateAndClose(void)
{
    SYSTEM_PROCESS_ENTRY Before, During, After;
    HANDLE E[10];
    PUT_DEFERRED Close[10];

    UT_ASSERT(UtOwnProcessEntry(&Before));
    for (int I = 0; I < 10; I++) {
        UT_ASSERT((E[I] = UtCreateEvent(NotificationEvent, FALSE)) != NULL);
        Close[I] = UtDeferClose(E[I]);
    }
    UT_ASSERT(UtOwnProcessEntry(&During));
    for (int I = 0; I < 10; I++)
        UtCleanupNow(Close[I]); /* NtClose(E[I]) must succeed */
    UT_ASSERT(UtOwnProcessEntry(&After));
    UT_EXPECT(During.HandleCount == Before.HandleCount + 10);
    UT_EXPECT(After.HandleCount == Before.HandleCount);
}

static void DuplicateWithinProcess(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE), Copy = NULL;
    PUT_DEFERRED CloseE;

    UT_ASSERT(E != NULL);
    CloseE = UtDeferClose(E);
    UT_EXPECT_SUCCESS(NtDuplicateObject(NtCurrentProcess(), E, NtCurrentProcess(), &Copy, 0,
                                        DUPLICATE_SAME_ACCESS));
    UT_ASSERT(Copy != NULL && Copy != E);
    UtDeferClose(Copy); /* NtClose(Copy) must succeed */
    UT_EXPECT_SUCCESS(NtSetEvent(Copy, NULL));
    UT_EXPECT_STATUS(Poll(E), STATUS_WAIT_0);
    /* The object lives while any handle does. */
    UtCleanupNow(CloseE); /* NtClose(E) must succeed */
    UT_EXPECT_SUCCESS(NtResetEvent(Copy, NULL));
    UT_EXPECT_STATUS(Poll(Copy), STATUS_TIMEOUT);
}

/* Within one process DUPLICATE_CLOSE_SOURCE is a move, as in NT: the
 * source is closed before the copy is inserted, so the copy has the
 * source's value (and a narrower access when asked for one). */
static void DuplicateCloseSource(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE), Copy = NULL;
    HANDLE Other = UtCreateEvent(NotificationEvent, FALSE);
    SYSTEM_PROCESS_ENTRY Before, After;

    UT_ASSERT(E != NULL && Other != NULL);
    UtDeferClose(Other); /* NtClose(Other) must succeed */
    UT_ASSERT(UtOwnProcessEntry(&Before));
    UT_EXPECT_SUCCESS(NtDuplicateObject(NtCurrentProcess(), E, NtCurrentProcess(), &Copy, 0,
                                        DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    UT_EXPECT(Copy == E);
    UT_ASSERT(UtOwnProcessEntry(&After));
    UT_EXPECT(After.HandleCount == Before.HandleCount);
    UT_EXPECT_SUCCESS(NtSetEvent(Copy, NULL));

    /* A narrower access, same value: the old rights are gone. */
    HANDLE Narrow = NULL;
    UT_EXPECT_SUCCESS(NtDuplicateObject(NtCurrentProcess(), Copy, NtCurrentProcess(), &Narrow,
                                        SYNCHRONIZE | EVENT_QUERY_STATE, DUPLICATE_CLOSE_SOURCE));
    UT_EXPECT(Narrow == E);
    UT_EXPECT_STATUS(NtSetEvent(Narrow, NULL), STATUS_ACCESS_DENIED);
    UT_EXPECT_STATUS(Poll(Narrow), STATUS_WAIT_0);
    UT_EXPECT_SUCCESS(NtClose(Narrow));
    UT_EXPECT_STATUS(NtClose(E), STATUS_INVALID_HANDLE);
}

/* NT ignores the low two bits of a handle value (the caller's tag bits). */
static void TagBitsAreIgnored(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE), Copy = NULL;

    UT_ASSERT(E != NULL);
    UT_ASSERT(((ULONG_PTR)E & 3) == 0);
    HANDLE Tagged[3] = {(HANDLE)((ULONG_PTR)E | 1), (HANDLE)((ULONG_PTR)E | 2),
                        (HANDLE)((ULONG_PTR)E | 3)};
    UT_EXPECT_SUCCESS(NtSetEvent(Tagged[0], NULL));
    UT_EXPECT_STATUS(Poll(Tagged[1]), STATUS_WAIT_0);
    UT_EXPECT_SUCCESS(NtDuplicateObject(NtCurrentProcess(), Tagged[2], NtCurrentProcess(), &Copy, 0,
                                        DUPLICATE_SAME_ACCESS));
    UT_EXPECT(Copy != NULL && ((ULONG_PTR)Copy & 3) == 0 && Copy != E);
    UT_EXPECT_SUCCESS(NtClose(Copy));
    UT_EXPECT_SUCCESS(NtClose(Tagged[2]));
    UT_EXPECT_STATUS(NtClose(E), STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtClose((HANDLE)(ULONG_PTR)1), STATUS_INVALID_HANDLE);
}

static void DuplicateBadArguments(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE), Copy = NULL;
    SYSTEM_PROCESS_ENTRY Before, After;

    UT_ASSERT(E != NULL);
    UtDeferClose(E); /* NtClose(E) must succeed */
    UT_ASSERT(UtOwnProcessEntry(&Before));
    UT_EXPECT_STATUS(NtDuplicateObject(NtCurrentProcess(), UT_BAD_HANDLE, NtCurrentProcess(), &Copy,
                                       0, DUPLICATE_SAME_ACCESS),
                     STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(
        NtDuplicateObject(UT_BAD_HANDLE, E, NtCurrentProcess(), &Copy, 0, DUPLICATE_SAME_ACCESS),
        STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtDuplicateObject(E, E, NtCurrentProcess(), &Copy, 0, DUPLICATE_SAME_ACCESS),
                     STATUS_OBJECT_TYPE_MISMATCH);
    UT_EXPECT_STATUS(NtDuplicateObject(NtCurrentProcess(), E, E, &Copy, 0, DUPLICATE_SAME_ACCESS),
                     STATUS_OBJECT_TYPE_MISMATCH);
    UT_EXPECT_STATUS(NtDuplicateObject(NtCurrentProcess(), E, NtCurrentProcess(),
                                       (PHANDLE)UT_KERNEL_VA, 0, DUPLICATE_SAME_ACCESS),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtDuplicateObject(NtCurrentProcess(), E, NtCurrentProcess(),
                                       (PHANDLE)UT_NONCANONICAL, 0, DUPLICATE_SAME_ACCESS),
                     STATUS_ACCESS_VIOLATION);
    UT_ASSERT(UtOwnProcessEntry(&After));
    UT_EXPECT(After.HandleCount == Before.HandleCount); /* nothing leaked */
}

/* Duplicate into a child: the child finds the handle and signals through it. */
static void DuplicateIntoAnotherProcess(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE), Child, Target = NULL;
    LARGE_INTEGER Timeout;

    UT_ASSERT(E != NULL);
    UT_EXPECT_SUCCESS(UtSpawnChild(&Child, 0, "findevent"));
    UT_EXPECT_SUCCESS(
        NtDuplicateObject(NtCurrentProcess(), E, Child, &Target, 0, DUPLICATE_SAME_ACCESS));
    Timeout.QuadPart = -50000000LL; /* 5 s */
    UT_EXPECT_STATUS(NtWaitForSingleObject(E, FALSE, &Timeout), STATUS_WAIT_0);
    UT_EXPECT(UtExitStatus(Child) == (NTSTATUS)(ULONG_PTR)Target);
    NtClose(Child);
    NtClose(E);
}

/* An event whose handle has OBJ_INHERIT. */
static HANDLE CreateInheritableEvent(void)
{
    OBJECT_ATTRIBUTES Attributes;
    HANDLE E = NULL;
    InitializeObjectAttributes(&Attributes, NULL, OBJ_INHERIT, NULL, NULL);
    if (!NT_SUCCESS(NtCreateEvent(&E, EVENT_ALL_ACCESS, &Attributes, NotificationEvent, FALSE)))
        return NULL;
    return E;
}

static void InheritedHandleWorksInChild(void)
{
    HANDLE E = CreateInheritableEvent();

    UT_ASSERT(E != NULL);
    UT_EXPECT_SUCCESS(UtRunChild(CREATE_PROCESS_INHERIT_HANDLES, "setevent %p", E));
    UT_EXPECT_STATUS(Poll(E), STATUS_WAIT_0);
    NtClose(E);
}

/* Without OBJ_INHERIT (NtCreateEvent with no attributes) the handle stays
 * behind, even when the child is created with CREATE_PROCESS_INHERIT_HANDLES. */
static void HandleWithoutObjInheritStaysBehind(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE);

    UT_ASSERT(E != NULL);
    UT_EXPECT(!NT_SUCCESS(UtRunChild(CREATE_PROCESS_INHERIT_HANDLES, "setevent %p", E)));
    UT_EXPECT_STATUS(Poll(E), STATUS_TIMEOUT);
    NtClose(E);
}

static void HandlesNotInheritedWithoutTheFlag(void)
{
    HANDLE E = CreateInheritableEvent();

    UT_ASSERT(E != NULL);
    UT_EXPECT(!NT_SUCCESS(UtRunChild(0, "setevent %p", E)));
    UT_EXPECT_STATUS(Poll(E), STATUS_TIMEOUT);
    NtClose(E);
}

const UT_TEST UtHandleTests[] = {
    {"handle.close_bad_handles", CloseBadHandles},
    {"handle.count_follows_create_and_close", HandleCountFollowsCreateAndClose},
    {"handle.duplicate_within_process", DuplicateWithinProcess},
    {"handle.duplicate_close_source", DuplicateCloseSource},
    {"handle.tag_bits_are_ignored", TagBitsAreIgnored},
    {"handle.duplicate_bad_arguments", DuplicateBadArguments},
    {"handle.duplicate_into_another_process", DuplicateIntoAnotherProcess},
    {"handle.inherited_handle_works_in_child", InheritedHandleWorksInChild},
    {"handle.not_inherited_without_flag", HandlesNotInheritedWithoutTheFlag},
    {"handle.not_inherited_without_obj_inherit", HandleWithoutObjInheritStaysBehind},
    {NULL, NULL},
};
