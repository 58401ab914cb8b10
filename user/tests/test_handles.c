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

    UT_CHECK(E != NULL);
    UT_SUCCESS(NtClose(E));
    UT_STATUS(NtClose(E), STATUS_INVALID_HANDLE);
    UT_STATUS(NtClose(UT_BAD_HANDLE), STATUS_INVALID_HANDLE);
    UT_STATUS(NtClose(NULL), STATUS_INVALID_HANDLE);
    UT_STATUS(NtClose((HANDLE)(ULONG_PTR)3), STATUS_INVALID_HANDLE);
    UT_STATUS(NtClose((HANDLE)(ULONG_PTR)0xFFFFFFFF80000004ULL), STATUS_INVALID_HANDLE);
}

static void HandleCountFollowsCreateAndClose(void)
{
    SYSTEM_PROCESS_ENTRY Before, During, After;
    HANDLE E[10];

    UT_CHECK(UtOwnProcessEntry(&Before));
    for (int I = 0; I < 10; I++)
        UT_CHECK((E[I] = UtCreateEvent(NotificationEvent, FALSE)) != NULL);
    UT_CHECK(UtOwnProcessEntry(&During));
    for (int I = 0; I < 10; I++)
        UT_SUCCESS(NtClose(E[I]));
    UT_CHECK(UtOwnProcessEntry(&After));
    UT_EXPECT(During.HandleCount == Before.HandleCount + 10);
    UT_EXPECT(After.HandleCount == Before.HandleCount);
}

static void DuplicateWithinProcess(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE), Copy = NULL;

    UT_CHECK(E != NULL);
    UT_SUCCESS(NtDuplicateObject(NtCurrentProcess(), E, NtCurrentProcess(), &Copy, 0,
                                 DUPLICATE_SAME_ACCESS));
    UT_CHECK(Copy != NULL && Copy != E);
    UT_SUCCESS(NtSetEvent(Copy, NULL));
    UT_STATUS(Poll(E), STATUS_WAIT_0);
    /* The object lives while any handle does. */
    UT_SUCCESS(NtClose(E));
    UT_SUCCESS(NtResetEvent(Copy, NULL));
    UT_STATUS(Poll(Copy), STATUS_TIMEOUT);
    UT_SUCCESS(NtClose(Copy));
}

static void DuplicateCloseSource(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE), Copy = NULL;

    UT_CHECK(E != NULL);
    UT_SUCCESS(NtDuplicateObject(NtCurrentProcess(), E, NtCurrentProcess(), &Copy, 0,
                                 DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    UT_STATUS(NtSetEvent(E, NULL), STATUS_INVALID_HANDLE);
    UT_SUCCESS(NtSetEvent(Copy, NULL));
    UT_SUCCESS(NtClose(Copy));
}

static void DuplicateBadArguments(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE), Copy = NULL;
    SYSTEM_PROCESS_ENTRY Before, After;

    UT_CHECK(E != NULL);
    UT_CHECK(UtOwnProcessEntry(&Before));
    UT_STATUS(NtDuplicateObject(NtCurrentProcess(), UT_BAD_HANDLE, NtCurrentProcess(), &Copy, 0,
                                DUPLICATE_SAME_ACCESS),
              STATUS_INVALID_HANDLE);
    UT_STATUS(NtDuplicateObject(UT_BAD_HANDLE, E, NtCurrentProcess(), &Copy, 0,
                                DUPLICATE_SAME_ACCESS),
              STATUS_INVALID_HANDLE);
    UT_STATUS(NtDuplicateObject(E, E, NtCurrentProcess(), &Copy, 0, DUPLICATE_SAME_ACCESS),
              STATUS_OBJECT_TYPE_MISMATCH);
    UT_STATUS(NtDuplicateObject(NtCurrentProcess(), E, E, &Copy, 0, DUPLICATE_SAME_ACCESS),
              STATUS_OBJECT_TYPE_MISMATCH);
    UT_STATUS(NtDuplicateObject(NtCurrentProcess(), E, NtCurrentProcess(), (PHANDLE)UT_KERNEL_VA,
                                0, DUPLICATE_SAME_ACCESS),
              STATUS_ACCESS_VIOLATION);
    UT_STATUS(NtDuplicateObject(NtCurrentProcess(), E, NtCurrentProcess(),
                                (PHANDLE)UT_NONCANONICAL, 0, DUPLICATE_SAME_ACCESS),
              STATUS_ACCESS_VIOLATION);
    UT_CHECK(UtOwnProcessEntry(&After));
    UT_EXPECT(After.HandleCount == Before.HandleCount); /* nothing leaked */
    UT_SUCCESS(NtClose(E));
}

/* Duplicate into a child: the child finds the handle and signals through it. */
static void DuplicateIntoAnotherProcess(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE), Child, Target = NULL;
    LARGE_INTEGER Timeout;

    UT_CHECK(E != NULL);
    UT_SUCCESS(UtSpawnChild(&Child, 0, "findevent"));
    UT_SUCCESS(NtDuplicateObject(NtCurrentProcess(), E, Child, &Target, 0, DUPLICATE_SAME_ACCESS));
    Timeout.QuadPart = -50000000LL; /* 5 s */
    UT_STATUS(NtWaitForSingleObject(E, FALSE, &Timeout), STATUS_WAIT_0);
    UT_EXPECT(UtExitStatus(Child) == (NTSTATUS)(ULONG_PTR)Target);
    NtClose(Child);
    NtClose(E);
}

static void InheritedHandleWorksInChild(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE);

    UT_CHECK(E != NULL);
    UT_SUCCESS(UtRunChild(CREATE_PROCESS_INHERIT_HANDLES, "setevent %p", E));
    UT_STATUS(Poll(E), STATUS_WAIT_0);
    NtClose(E);
}

static void HandlesNotInheritedWithoutTheFlag(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE);

    UT_CHECK(E != NULL);
    UT_EXPECT(!NT_SUCCESS(UtRunChild(0, "setevent %p", E)));
    UT_STATUS(Poll(E), STATUS_TIMEOUT);
    NtClose(E);
}

const UT_TEST UtHandleTests[] = {
    {"handle.close_bad_handles", CloseBadHandles},
    {"handle.count_follows_create_and_close", HandleCountFollowsCreateAndClose},
    {"handle.duplicate_within_process", DuplicateWithinProcess},
    {"handle.duplicate_close_source", DuplicateCloseSource},
    {"handle.duplicate_bad_arguments", DuplicateBadArguments},
    {"handle.duplicate_into_another_process", DuplicateIntoAnotherProcess},
    {"handle.inherited_handle_works_in_child", InheritedHandleWorksInChild},
    {"handle.not_inherited_without_flag", HandlesNotInheritedWithoutTheFlag},
    {NULL, NULL},
};
