/*
 * test_events.c - NtCreateEvent, NtSetEvent, NtResetEvent, NtClearEvent,
 * NtPulseEvent: NT semantics of notification and synchronization events,
 * and every bad argument refused before anything changes.
 */
#include "ut.h"

static NTSTATUS Poll(HANDLE Handle)
{
    LARGE_INTEGER Zero;
    Zero.QuadPart = 0;
    return NtWaitForSingleObject(Handle, FALSE, &Zero);
}

static void NotificationStaysSignalled(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE);
    LONG Previous = 7;

    UT_ASSERT(E != NULL);
    UT_EXPECT_STATUS(Poll(E), STATUS_TIMEOUT);
    UT_EXPECT_SUCCESS(NtSetEvent(E, &Previous));
    UT_EXPECT(Previous == 0);
    UT_EXPECT_STATUS(Poll(E), STATUS_WAIT_0);
    UT_EXPECT_STATUS(Poll(E), STATUS_WAIT_0);
    UT_EXPECT_SUCCESS(NtResetEvent(E, &Previous));
    UT_EXPECT(Previous == 1);
    UT_EXPECT_STATUS(Poll(E), STATUS_TIMEOUT);
    UT_EXPECT_SUCCESS(NtClose(E));
}

static void SynchronizationResetsItself(void)
{
    HANDLE E = UtCreateEvent(SynchronizationEvent, TRUE);

    UT_ASSERT(E != NULL);
    UT_EXPECT_STATUS(Poll(E), STATUS_WAIT_0);
    UT_EXPECT_STATUS(Poll(E), STATUS_TIMEOUT);
    UT_EXPECT_SUCCESS(NtSetEvent(E, NULL));
    UT_EXPECT_SUCCESS(NtSetEvent(E, NULL)); /* two sets, one waiter's worth */
    UT_EXPECT_STATUS(Poll(E), STATUS_WAIT_0);
    UT_EXPECT_STATUS(Poll(E), STATUS_TIMEOUT);
    UT_EXPECT_SUCCESS(NtClose(E));
}

static void ClearAndPulse(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, TRUE);
    LONG Previous = 7;

    UT_ASSERT(E != NULL);
    UT_EXPECT_SUCCESS(NtClearEvent(E));
    UT_EXPECT_STATUS(Poll(E), STATUS_TIMEOUT);
    /* A pulse with nobody waiting leaves the event not signalled. */
    UT_EXPECT_SUCCESS(NtPulseEvent(E, &Previous));
    UT_EXPECT(Previous == 0);
    UT_EXPECT_STATUS(Poll(E), STATUS_TIMEOUT);
    UT_EXPECT_SUCCESS(NtClose(E));
}

static void CreateBadArguments(void)
{
    HANDLE E = NULL;

    UT_EXPECT_STATUS(NtCreateEvent(NULL, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(
        NtCreateEvent((PHANDLE)UT_KERNEL_VA, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE),
        STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(
        NtCreateEvent((PHANDLE)UT_NONCANONICAL, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE),
        STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(
        NtCreateEvent((PHANDLE)UT_UNMAPPED, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE),
        STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(
        NtCreateEvent((PHANDLE)UT_READONLY_VA, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE),
        STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtCreateEvent(&E, EVENT_ALL_ACCESS, NULL, (EVENT_TYPE)5, FALSE),
                     STATUS_INVALID_PARAMETER);
}

static void CreateFailureLeaksNoHandle(void)
{
    SYSTEM_PROCESS_ENTRY Before, After;

    UT_ASSERT(UtOwnProcessEntry(&Before));
    for (int I = 0; I < 8; I++)
        NtCreateEvent((PHANDLE)UT_KERNEL_VA, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE);
    UT_ASSERT(UtOwnProcessEntry(&After));
    UT_EXPECT(After.HandleCount == Before.HandleCount);
}

static void SetBadHandles(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE);

    UT_ASSERT(E != NULL);
    UT_EXPECT_STATUS(NtSetEvent(UT_BAD_HANDLE, NULL), STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtSetEvent(NULL, NULL), STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtSetEvent(NtCurrentProcess(), NULL), STATUS_OBJECT_TYPE_MISMATCH);
    UT_EXPECT_STATUS(NtResetEvent(NtCurrentThread(), NULL), STATUS_OBJECT_TYPE_MISMATCH);
    UT_EXPECT_STATUS(NtPulseEvent(UT_BAD_HANDLE, NULL), STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtClearEvent((HANDLE)(ULONG_PTR)0xFFFFFFFF80000004ULL), STATUS_INVALID_HANDLE);
    UT_EXPECT_SUCCESS(NtClose(E));
    UT_EXPECT_STATUS(NtSetEvent(E, NULL), STATUS_INVALID_HANDLE);
}

/* A bad PreviousState must fail the call before the event changes. */
static void SetBadPreviousStateChangesNothing(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE);

    UT_ASSERT(E != NULL);
    UT_EXPECT_STATUS(NtSetEvent(E, (PLONG)UT_KERNEL_VA), STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtSetEvent(E, (PLONG)UT_READONLY_VA), STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtSetEvent(E, (PLONG)UT_NONCANONICAL), STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(Poll(E), STATUS_TIMEOUT);
    UT_EXPECT_SUCCESS(NtClose(E));
}

/* Several processes waiting on one event (duplicated into each). */
static void CrossProcessSemantics(EVENT_TYPE Type, int WantWoken)
{
    HANDLE E = UtCreateEvent(Type, FALSE);
    HANDLE Child[3];
    int Woken = 0, TimedOut = 0, Started = 0;

    UT_ASSERT(E != NULL);
    for (int I = 0; I < 3; I++) {
        NTSTATUS Status = UtSpawnChild(&Child[I], 0, "waitdup %d", UtShort ? 3000 : 5000);
        if (NT_SUCCESS(Status))
            Status = NtDuplicateObject(NtCurrentProcess(), E, Child[I], NULL, 0,
                                       DUPLICATE_SAME_ACCESS);
        UT_EXPECT(NT_SUCCESS(Status));
        if (NT_SUCCESS(Status))
            Started++;
    }
    PgSleep(500); /* every child reaches its wait */
    UT_EXPECT_SUCCESS(NtSetEvent(E, NULL));
    for (int I = 0; I < Started; I++) {
        NTSTATUS Exit = UtExitStatus(Child[I]);
        Woken += Exit == STATUS_WAIT_0;
        TimedOut += Exit == STATUS_TIMEOUT;
        NtClose(Child[I]);
    }
    UT_EXPECT(Started == 3);
    UT_EXPECT(Woken == WantWoken);
    UT_EXPECT(Woken + TimedOut == 3);
    NtClose(E);
}

static void CrossProcessSynchronizationReleasesOne(void)
{
    CrossProcessSemantics(SynchronizationEvent, 1);
}

static void CrossProcessNotificationReleasesAll(void)
{
    CrossProcessSemantics(NotificationEvent, 3);
}

const UT_TEST UtEventTests[] = {
    {"event.notification_stays_signalled", NotificationStaysSignalled},
    {"event.synchronization_resets_itself", SynchronizationResetsItself},
    {"event.clear_and_pulse", ClearAndPulse},
    {"event.create_bad_arguments", CreateBadArguments},
    {"event.create_failure_leaks_no_handle", CreateFailureLeaksNoHandle},
    {"event.set_bad_handles", SetBadHandles},
    {"event.bad_previous_state_changes_nothing", SetBadPreviousStateChangesNothing},
    {"event.cross_process_sync_releases_one", CrossProcessSynchronizationReleasesOne},
    {"event.cross_process_notify_releases_all", CrossProcessNotificationReleasesAll},
    {NULL, NULL},
};
