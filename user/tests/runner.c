/*
 * runner.c - runs the UT_TEST tables of user/tests/ and the helper
 * processes they start ("usertests --child MODE ARGS").
 *
 * Per test it keeps the number of failures and the stack of cleanups the
 * test deferred (UtDefer); after the test returns it runs the pending
 * cleanups, last first, and only then prints PASS, so a cleanup that
 * reports a failure still counts.
 *
 * usertests [--short] [-x NAME]... [PREFIX]: only the tests whose names
 * begin with PREFIX; each -x leaves test NAME out, with a SKIP line
 * (tests/run.py's paging.user boot says why).
 */
#include "ut.h"

struct _UT_DEFERRED {
    UT_CLEANUP_ROUTINE Routine;     /* NULL once it has run */
    PVOID Context;
};

BOOLEAN UtShort;
static const char *UtCurrent;
static int UtCurrentFailures;
static UT_DEFERRED UtDeferred[UT_MAX_DEFERRED];
static ULONG UtDeferredCount;

/* The first failure of a test is its FAIL line; later ones are "also". */
static void UtpReport(const char *Expr, const char *File, int Line, const char *Values)
{
    if (UtCurrentFailures++ == 0)
        printf("FAIL %s: %s (%s:%d)%s\n", UtCurrent, Expr, File, Line, Values);
    else
        printf("  also: %s (%s:%d)%s\n", Expr, File, Line, Values);
}

void UtFail(const char *Expr, const char *File, int Line)
{
    UtpReport(Expr, File, Line, "");
}

void UtFailValues(const char *Expr, ULONG64 Left, ULONG64 Right, const char *File, int Line)
{
    char Values[64];

    snprintf(Values, sizeof(Values), " 0x%llx != 0x%llx", (unsigned long long)Left,
             (unsigned long long)Right);
    UtpReport(Expr, File, Line, Values);
}

void UtFailStatus(const char *Expr, NTSTATUS Got, NTSTATUS Want, const char *File, int Line)
{
    const char *GotName = PgStatusName(Got);
    char Values[96];

    snprintf(Values, sizeof(Values), " got 0x%08x %s, want 0x%08x", (ULONG)Got,
             GotName ? GotName : "", (ULONG)Want);
    UtpReport(Expr, File, Line, Values);
}

PUT_DEFERRED UtDefer(UT_CLEANUP_ROUTINE Routine, PVOID Context)
{
    PUT_DEFERRED Entry;

    if (UtDeferredCount == UT_MAX_DEFERRED) {
        UtFail("UtDefer: more than UT_MAX_DEFERRED cleanups pending", __FILE__, __LINE__);
        return NULL;
    }
    Entry = &UtDeferred[UtDeferredCount++];
    Entry->Routine = Routine;
    Entry->Context = Context;
    return Entry;
}

void UtCleanupNow(PUT_DEFERRED Entry)
{
    UT_CLEANUP_ROUTINE Routine;

    if (Entry == NULL || Entry->Routine == NULL)
        return;
    Routine = Entry->Routine;
    Entry->Routine = NULL;
    Routine(Entry->Context);
    /* Entries done at the top of the stack free their slots. */
    while (UtDeferredCount > 0 && UtDeferred[UtDeferredCount - 1].Routine == NULL)
        UtDeferredCount--;
}

/* A deferred close is checked like the NtClose it replaces. */
static void UtpClose(PVOID Handle)
{
    UT_EXPECT_SUCCESS(NtClose((HANDLE)Handle));
}

PUT_DEFERRED UtDeferClose(HANDLE Handle)
{
    return UtDefer(UtpClose, (PVOID)Handle);
}

/* A child that has already ended keeps its status: terminating it fails harmlessly. */
static void UtpEndProcess(PVOID Process)
{
    NTSTATUS Exit;

    NtTerminateProcess((HANDLE)Process, STATUS_UNSUCCESSFUL);
    PgWaitProcess((HANDLE)Process, &Exit);
    NtClose((HANDLE)Process);
}

PUT_DEFERRED UtDeferEndProcess(HANDLE Process)
{
    return UtDefer(UtpEndProcess, (PVOID)Process);
}

HANDLE UtCreateEvent(EVENT_TYPE Type, BOOLEAN Signalled)
{
    HANDLE Event = NULL;
    if (!NT_SUCCESS(NtCreateEvent(&Event, EVENT_ALL_ACCESS, NULL, Type, Signalled)))
        return NULL;
    return Event;
}

static NTSTATUS UtpSpawnV(PHANDLE Process, ULONG Flags, const char *Format, va_list Args)
{
    char Line[160];
    int Used = snprintf(Line, sizeof(Line), "usertests --child ");
    vsnprintf(Line + Used, sizeof(Line) - Used, Format, Args);
    return PgSpawn("/bin/usertests", Line, Flags, Process, NULL);
}

NTSTATUS UtSpawnChild(PHANDLE Process, ULONG Flags, const char *Format, ...)
{
    va_list Args;
    NTSTATUS Status;
    va_start(Args, Format);
    Status = UtpSpawnV(Process, Flags, Format, Args);
    va_end(Args);
    return Status;
}

NTSTATUS UtExitStatus(HANDLE Process)
{
    NTSTATUS Exit = STATUS_UNSUCCESSFUL;
    NTSTATUS Status = PgWaitProcess(Process, &Exit);
    return NT_SUCCESS(Status) ? Exit : Status;
}

NTSTATUS UtRunChild(ULONG Flags, const char *Format, ...)
{
    va_list Args;
    HANDLE Process;
    NTSTATUS Status;

    va_start(Args, Format);
    Status = UtpSpawnV(&Process, Flags, Format, Args);
    va_end(Args);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = UtExitStatus(Process);
    NtClose(Process);
    return Status;
}

ULONG64 UtAvailablePages(void)
{
    SYSTEM_MEMORY_INFORMATION Info;
    memset(&Info, 0, sizeof(Info));
    if (!NT_SUCCESS(NtQuerySystemInformation(SystemMemoryInformation, &Info, sizeof(Info), NULL)))
        return 0;
    return Info.AvailablePages;
}

ULONG64 UtSettledAvailablePages(void)
{
    PgSleep(50);
    return UtAvailablePages();
}

BOOLEAN UtOwnProcessEntry(SYSTEM_PROCESS_ENTRY *Entry)
{
    ULONG Length;
    NTSTATUS Status;
    SYSTEM_PROCESS_ENTRY *All = PgQuerySystem(SystemProcessInformation, NULL, 0, &Length, &Status);
    BOOLEAN Found = FALSE;

    if (!All)
        return FALSE;
    for (ULONG I = 0; I < Length / sizeof(*All); I++) {
        if (All[I].ProcessId == PgCurrentProcessId()) {
            *Entry = All[I];
            Found = TRUE;
        }
    }
    free(All);
    return Found;
}

/* The "opensync" child (test_names.c): named mutant, semaphore, timer. */
static NTSTATUS UtpOpenSyncChild(void)
{
    OBJECT_ATTRIBUTES Attributes;
    UNICODE_STRING Name;
    WCHAR Buffer[64];
    HANDLE Semaphore, Timer, Mutant;
    LARGE_INTEGER Due, Zero;

    InitializeObjectAttributes(&Attributes, &Name, 0, NULL, NULL);
    (void)PgInitUnicodeStringFromAnsi(&Name, Buffer, ARRAYSIZE(Buffer),
                                      "\\BaseNamedObjects\\UtSemaphore");
    NTSTATUS Status = NtOpenSemaphore(&Semaphore, SEMAPHORE_MODIFY_STATE, &Attributes);
    if (!NT_SUCCESS(Status) || !NT_SUCCESS(Status = NtReleaseSemaphore(Semaphore, 1, NULL)))
        return Status;
    (void)PgInitUnicodeStringFromAnsi(&Name, Buffer, ARRAYSIZE(Buffer),
                                      "\\BaseNamedObjects\\UtTimer");
    Due.QuadPart = -10000; /* 1 ms */
    Status = NtOpenTimer(&Timer, TIMER_MODIFY_STATE, &Attributes);
    if (!NT_SUCCESS(Status) ||
        !NT_SUCCESS(Status = NtSetTimer(Timer, &Due, NULL, NULL, 0, NULL)))
        return Status;
    (void)PgInitUnicodeStringFromAnsi(&Name, Buffer, ARRAYSIZE(Buffer),
                                      "\\BaseNamedObjects\\UtMutant");
    Zero.QuadPart = 0;
    Status = NtOpenMutant(&Mutant, SYNCHRONIZE, &Attributes);
    if (!NT_SUCCESS(Status))
        return Status;
    return NtWaitForSingleObject(Mutant, FALSE, &Zero); /* 0: owned, and kept */
}

UT_BASELINE UtDispatcherBaseline(void)
{
    static const ULONG Tags[] = {POOL_TAG('M', 'u', 't', 'a'), POOL_TAG('S', 'e', 'm', 'a'),
                                 POOL_TAG('T', 'i', 'm', 'e'), POOL_TAG('A', 'p', 'c', 'U')};
    UT_BASELINE Baseline = {0};
    SYSTEM_PROCESS_ENTRY Entry;
    ULONG Length;
    NTSTATUS Status;

    if (UtOwnProcessEntry(&Entry))
        Baseline.HandleCount = Entry.HandleCount;
    SYSTEM_POOLTAG *Pool = PgQuerySystem(SystemPoolTagInformation, NULL, 0, &Length, &Status);
    if (Pool == NULL)
        return Baseline;
    for (ULONG I = 0; I < Length / sizeof(*Pool); I++)
        for (size_t T = 0; T < ARRAYSIZE(Tags); T++)
            if (Pool[I].Tag == Tags[T] && Pool[I].PoolType == 0)
                Baseline.PoolBytes += Pool[I].BytesInUse;
    free(Pool);
    return Baseline;
}

BOOLEAN UtBackToBaseline(UT_BASELINE Before)
{
    for (int Try = 0; Try < 20; Try++) {
        UT_BASELINE Now = UtDispatcherBaseline();
        if (Now.HandleCount == Before.HandleCount && Now.PoolBytes == Before.PoolBytes)
            return TRUE;
        PgSleep(10);
    }
    UT_BASELINE Now = UtDispatcherBaseline();
    printf("  baseline: handles %u -> %u, dispatcher pool bytes %llu -> %llu\n",
           Before.HandleCount, Now.HandleCount, Before.PoolBytes, Now.PoolBytes);
    return FALSE;
}

/* The children that use names (test_names.c). */
static NTSTATUS UtpNamedChild(const char *Mode, const char *Path, ULONG64 Number)
{
    OBJECT_ATTRIBUTES Attributes;
    UNICODE_STRING Name;
    WCHAR Buffer[160];
    HANDLE Event;
    NTSTATUS Status = PgInitUnicodeStringFromAnsi(&Name, Buffer, ARRAYSIZE(Buffer), Path);

    if (!NT_SUCCESS(Status))
        return Status;
    InitializeObjectAttributes(&Attributes, &Name, 0, NULL, NULL);
    if (!strcmp(Mode, "holdnamed")) {
        Status = NtCreateEvent(&Event, EVENT_ALL_ACCESS, &Attributes, NotificationEvent, FALSE);
        if (NT_SUCCESS(Status))
            PgSleep((ULONG)Number);
        return Status; /* the handle closes as the process ends */
    }
    Status = NtOpenEvent(&Event, Number != 0 ? (ACCESS_MASK)Number : EVENT_MODIFY_STATE,
                         &Attributes);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = NtSetEvent(Event, NULL);
    NtClose(Event);
    return Status;
}

/*
 * The helper processes. Each exits with a status the test checks:
 *   read ADDR          read a ULONG at ADDR, exit with it (or crash)
 *   write ADDR         write at ADDR, exit 0 (or crash)
 *   private ADDR       reserve+commit ADDR in its own space: exit 0 when the new
 *                      page reads as zero, else the value, or the failure
 *   setevent H         NtSetEvent(H): exit with its status
 *   waitevent H MS     wait for H at most MS ms: exit with the wait status
 *   findevent          NtSetEvent on handle values 4..1024: exit with the first that works
 *   waitdup MS         find the event the parent duplicated in, wait for it at most MS ms
 *   sleep MS           sleep, exit 0
 *   sleepalert MS      an alertable sleep (NtDelayExecution), exit with its status
 *   stackguard MODE    a service writes into its stack's guard page (test_stack.c)
 *   opennamed PATH [ACCESS]  NtOpenEvent(PATH, ACCESS or EVENT_MODIFY_STATE), then
 *                      NtSetEvent: exit with the first failure or STATUS_SUCCESS
 *   holdnamed PATH MS  create the event PATH, keep it MS ms, exit 0 (or the failure)
 *   opensync           open \BaseNamedObjects\UtSemaphore, UtTimer and UtMutant by
 *                      name: release the semaphore, set the timer, take the mutant
 *                      and end owning it; exit with the first failure or 0
 */
int UtChildMain(int Argc, char **Argv)
{
    const char *Mode = Argc > 0 ? Argv[0] : "";
    ULONG64 Arg1 = Argc > 1 ? strtoull(Argv[1], NULL, 0) : 0;
    ULONG64 Arg2 = Argc > 2 ? strtoull(Argv[2], NULL, 0) : 0;

    if (!strcmp(Mode, "read"))
        return (int)*(volatile ULONG *)Arg1;
    if (!strcmp(Mode, "write")) {
        *(volatile ULONG *)Arg1 = 0x57;
        return 0;
    }
    if (!strcmp(Mode, "private")) {
        PVOID Base = (PVOID)Arg1;
        SIZE_T Size = PAGE_SIZE;
        NTSTATUS Status = NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                                  MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!NT_SUCCESS(Status))
            return Status;
        Status = (NTSTATUS)*(volatile ULONG *)Base;
        *(volatile ULONG *)Base = 0xC41D;
        return Status;
    }
    if (!strcmp(Mode, "setevent"))
        return NtSetEvent((HANDLE)Arg1, NULL);
    if (!strcmp(Mode, "waitevent")) {
        LARGE_INTEGER Timeout;
        Timeout.QuadPart = -(LONGLONG)Arg2 * 10000;
        return NtWaitForSingleObject((HANDLE)Arg1, FALSE, &Timeout);
    }
    if (!strcmp(Mode, "findevent")) {
        for (int Try = 0; Try < 500; Try++) {
            for (ULONG_PTR H = 4; H <= 1024; H += 4)
                if (NtSetEvent((HANDLE)H, NULL) == STATUS_SUCCESS)
                    return (int)H;
            NtYieldExecution();
        }
        return 0;
    }
    if (!strcmp(Mode, "waitdup")) {
        HANDLE Event;
        LARGE_INTEGER Timeout;
        if (PgFindDuplicatedHandles(&Event, 1, 5000) != 1)
            return 0x7D;
        Timeout.QuadPart = -(LONGLONG)Arg1 * 10000;
        return NtWaitForSingleObject(Event, FALSE, &Timeout);
    }
    if (!strcmp(Mode, "opensync"))
        return UtpOpenSyncChild();
    if (!strcmp(Mode, "opennamed") || !strcmp(Mode, "holdnamed"))
        return UtpNamedChild(Mode, Argc > 1 ? Argv[1] : "", Arg2);
    if (!strcmp(Mode, "sleep")) {
        PgSleep((ULONG)Arg1);
        return 0;
    }
    if (!strcmp(Mode, "sleepalert")) {
        LARGE_INTEGER Interval;
        Interval.QuadPart = -(LONGLONG)Arg1 * 10000;
        return NtDelayExecution(TRUE, &Interval);
    }
    if (!strcmp(Mode, "stackguard"))
        return UtStackGuardChild(Argc > 1 ? Argv[1] : "");
    printf("usertests --child: unknown mode %s\n", Mode);
    return 0x7E;
}

static const UT_TEST *const UtSuites[] = {
    UtEventTests,  UtHandleTests, UtVmTests,     UtProcessTests, UtWaitTests,
    UtQueryTests,  UtCrashTests,  UtThreadTests, UtStackTests,   UtApcTests,
    UtMutantTests, UtNameTests,   UtRobustTests, UtIoTests,      UtDelayTests, UtDriverTests,
};

/* Is Name one of the -x names? */
static BOOLEAN UtpLeftOut(const char *Name, const char *const *Except, int Count)
{
    for (int I = 0; I < Count; I++)
        if (!strcmp(Name, Except[I]))
            return TRUE;
    return FALSE;
}

int UtMain(int Argc, char **Argv)
{
    const char *Filter = NULL, *Except[8];
    int Excepted = 0;
    int Passed = 0, Failed = 0, Skipped = 0;

    for (int I = 1; I < Argc; I++) {
        if (!strcmp(Argv[I], "--short"))
            UtShort = TRUE;
        else if (!strcmp(Argv[I], "-x") && I + 1 < Argc && Excepted < (int)ARRAYSIZE(Except))
            Except[Excepted++] = Argv[++I];
        else
            Filter = Argv[I];
    }
    printf("usertests (pid %u)%s\n", PgCurrentProcessId(), UtShort ? ", short mode" : "");
    for (size_t S = 0; S < ARRAYSIZE(UtSuites); S++) {
        for (const UT_TEST *T = UtSuites[S]; T->Name; T++) {
            if (Filter && strncmp(T->Name, Filter, strlen(Filter)))
                continue;
            if (UtpLeftOut(T->Name, Except, Excepted)) { /* -x NAME: said, not run */
                Skipped++;
                printf("SKIP %s: left out (-x)\n", T->Name);
                continue;
            }
            UtCurrent = T->Name;
            UtCurrentFailures = 0;
            UtDeferredCount = 0;
            T->Routine();
            while (UtDeferredCount > 0)
                UtCleanupNow(&UtDeferred[UtDeferredCount - 1]);
            if (UtCurrentFailures) {
                Failed++;
            } else {
                Passed++;
                printf("PASS %s\n", T->Name);
            }
        }
    }
    if (Skipped)
        printf("%d passed, %d failed, %d skipped\n", Passed, Failed, Skipped);
    else
        printf("%d passed, %d failed\n", Passed, Failed);
    return Failed ? 1 : 0;
}
