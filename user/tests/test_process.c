/*
 * test_process.c - NtCreateUserProcess, NtTerminateProcess,
 * NtQueryInformationProcess: exit statuses, bad arguments, and 200
 * processes created and reaped with memory back to its baseline.
 */
#include "ut.h"

static void RunTrue(void)
{
    NTSTATUS Exit = -1;

    UT_EXPECT_SUCCESS(PgRun("true", NULL, &Exit));
    UT_EXPECT(Exit == 0);
    UT_EXPECT_SUCCESS(PgRun("true", "true 42", &Exit));
    UT_EXPECT(Exit == 42);
}

static void ChildKnowsItsParent(void)
{
    HANDLE Child;
    PROCESS_BASIC_INFORMATION Info;

    UT_EXPECT_SUCCESS(UtSpawnChild(&Child, 0, "sleep 10"));
    memset(&Info, 0, sizeof(Info));
    UT_EXPECT_SUCCESS(
        NtQueryInformationProcess(Child, ProcessBasicInformation, &Info, sizeof(Info), NULL));
    UT_EXPECT(Info.InheritedFromUniqueProcessId == PgCurrentProcessId());
    UT_EXPECT(Info.UniqueProcessId != 0 && Info.UniqueProcessId != PgCurrentProcessId());
    UT_EXPECT(UtExitStatus(Child) == 0);
    UT_EXPECT_SUCCESS(
        NtQueryInformationProcess(Child, ProcessBasicInformation, &Info, sizeof(Info), NULL));
    UT_EXPECT(Info.ExitStatus == 0);
    NtClose(Child);
}

static void CreateBadArguments(void)
{
    HANDLE Process = NULL, Thread = NULL;
    CREATE_PROCESS_INFO Info;

    memset(&Info, 0, sizeof(Info));
    Info.ImagePath = "/bin/nosuchprogram";
    UT_EXPECT(!NT_SUCCESS(NtCreateUserProcess(&Process, &Thread, &Info)));
    Info.ImagePath = "/bin/true";
    UT_EXPECT_STATUS(NtCreateUserProcess(&Process, &Thread, NULL), STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtCreateUserProcess(&Process, &Thread, (PCREATE_PROCESS_INFO)UT_KERNEL_VA),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtCreateUserProcess((PHANDLE)UT_KERNEL_VA, &Thread, &Info),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtCreateUserProcess(NULL, &Thread, &Info), STATUS_ACCESS_VIOLATION);
    Info.ImagePath = (const char *)UT_KERNEL_VA;
    UT_EXPECT_STATUS(NtCreateUserProcess(&Process, &Thread, &Info), STATUS_ACCESS_VIOLATION);
    Info.ImagePath = (const char *)UT_NONCANONICAL;
    UT_EXPECT_STATUS(NtCreateUserProcess(&Process, &Thread, &Info), STATUS_ACCESS_VIOLATION);
    Info.ImagePath = "/bin/true";
    Info.CommandLine = (const char *)UT_UNMAPPED;
    UT_EXPECT_STATUS(NtCreateUserProcess(&Process, &Thread, &Info), STATUS_ACCESS_VIOLATION);
}

static void TerminateChild(void)
{
    HANDLE Child;

    UT_EXPECT_SUCCESS(UtSpawnChild(&Child, 0, "sleep 100000"));
    UT_EXPECT_SUCCESS(NtTerminateProcess(Child, 0x1234));
    UT_EXPECT(UtExitStatus(Child) == 0x1234);
    /* Terminating an ended process changes nothing. */
    NtTerminateProcess(Child, 0x5678);
    UT_EXPECT(UtExitStatus(Child) == 0x1234);
    NtClose(Child);
}

/* A thread in an alertable user-mode wait is terminated too: the exit APC
 * marks a user APC pending with none queued, and the alertable wait used to
 * look only at the queue and go back to sleep (found by /bin/fuzz). */
static void TerminateAlertableSleeper(void)
{
    HANDLE Child;
    LARGE_INTEGER Timeout;

    UT_EXPECT_SUCCESS(UtSpawnChild(&Child, 0, "sleepalert 100000"));
    PgSleep(200); /* let it reach the wait */
    UT_EXPECT_SUCCESS(NtTerminateProcess(Child, 0x4321));
    Timeout.QuadPart = -5000 * 10000LL;
    NTSTATUS Status = NtWaitForSingleObject(Child, FALSE, &Timeout);
    UT_EXPECT_STATUS(Status, STATUS_WAIT_0);
    if (Status == STATUS_WAIT_0)
        UT_EXPECT(UtExitStatus(Child) == 0x4321);
    NtClose(Child);
}

static void TerminateBadHandles(void)
{
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE);

    UT_EXPECT_STATUS(NtTerminateProcess(UT_BAD_HANDLE, 0), STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtTerminateProcess(E, 0), STATUS_OBJECT_TYPE_MISMATCH);
    UT_EXPECT_STATUS(NtTerminateThread(E, 0), STATUS_OBJECT_TYPE_MISMATCH);
    NtClose(E);
}

static void QueryInformationBadArguments(void)
{
    PROCESS_BASIC_INFORMATION Info;
    HANDLE E = UtCreateEvent(NotificationEvent, FALSE);

    memset(&Info, 0, sizeof(Info));
    UT_EXPECT_SUCCESS(NtQueryInformationProcess(NtCurrentProcess(), ProcessBasicInformation, &Info,
                                                sizeof(Info), NULL));
    UT_EXPECT(Info.UniqueProcessId == PgCurrentProcessId());
    UT_EXPECT(Info.ExitStatus == STATUS_PENDING);
    UT_EXPECT_STATUS(
        NtQueryInformationProcess(NtCurrentProcess(), ProcessBasicInformation, &Info, 4, NULL),
        STATUS_INFO_LENGTH_MISMATCH);
    UT_EXPECT_STATUS(NtQueryInformationProcess(NtCurrentProcess(), (PROCESSINFOCLASS)77, &Info,
                                               sizeof(Info), NULL),
                     STATUS_INVALID_INFO_CLASS);
    UT_EXPECT_STATUS(NtQueryInformationProcess(NtCurrentProcess(), ProcessBasicInformation, NULL,
                                               sizeof(Info), NULL),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtQueryInformationProcess(NtCurrentProcess(), ProcessBasicInformation,
                                               UT_KERNEL_VA, sizeof(Info), NULL),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtQueryInformationProcess(NtCurrentProcess(), ProcessBasicInformation, &Info,
                                               sizeof(Info), (PULONG)UT_NONCANONICAL),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtQueryInformationProcess(UT_BAD_HANDLE, ProcessBasicInformation, &Info,
                                               sizeof(Info), NULL),
                     STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(
        NtQueryInformationProcess(E, ProcessBasicInformation, &Info, sizeof(Info), NULL),
        STATUS_OBJECT_TYPE_MISMATCH);
    NtClose(E);
}

static ULONG CountProcesses(void)
{
    ULONG Length;
    NTSTATUS Status;
    void *All = PgQuerySystem(SystemProcessInformation, NULL, 0, &Length, &Status);
    free(All);
    return All ? Length / sizeof(SYSTEM_PROCESS_ENTRY) : 0;
}

static void ManyProcessesReaped(void)
{
    int Count = UtShort ? 20 : 200;
    ULONG ProcessesBefore, ProcessesAfter;
    ULONG64 Before, After;
    int Failures = 0;

    /* One run first, so that one-time allocations are not counted. */
    NTSTATUS Exit;
    UT_EXPECT_SUCCESS(PgRun("true", NULL, &Exit));
    Before = UtSettledAvailablePages();
    ProcessesBefore = CountProcesses();
    for (int I = 0; I < Count; I++) {
        if (!NT_SUCCESS(PgRun("true", NULL, &Exit)) || Exit != 0)
            Failures++;
    }
    After = UtSettledAvailablePages();
    for (int Try = 0; Try < 20 && After + 16 < Before; Try++)
        After = UtSettledAvailablePages();
    ProcessesAfter = CountProcesses();
    UT_EXPECT(Failures == 0);
    UT_EXPECT(ProcessesAfter == ProcessesBefore);
    if (After + 16 < Before)
        printf("  available pages %llu before, %llu after %d processes\n", Before, After, Count);
    UT_EXPECT(After + 16 >= Before);
}

const UT_TEST UtProcessTests[] = {
    {"process.run_true", RunTrue},
    {"process.child_knows_its_parent", ChildKnowsItsParent},
    {"process.create_bad_arguments", CreateBadArguments},
    {"process.terminate_child", TerminateChild},
    {"process.terminate_alertable_sleeper", TerminateAlertableSleeper},
    {"process.terminate_bad_handles", TerminateBadHandles},
    {"process.query_information_bad_arguments", QueryInformationBadArguments},
    {"process.many_processes_reaped", ManyProcessesReaped},
    {NULL, NULL},
};
