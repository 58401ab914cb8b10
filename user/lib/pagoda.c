/*
 * pagoda.c - helpers over the system services that several programs share:
 * time from KUSER_SHARED_DATA, sleeping, starting and waiting for
 * processes, growing buffers for NtQuerySystemInformation, status names.
 */
#include "pagoda.h"

/* Read a KSYSTEM_TIME without a lock (kusershared.h explains the protocol). */
static ULONG64 PgpReadSystemTime(const volatile KSYSTEM_TIME *Time)
{
    for (;;) {
        LONG High1 = Time->High1Time;
        ULONG Low = Time->LowPart;
        if (High1 == Time->High2Time)
            return ((ULONG64)(ULONG)High1 << 32) | Low;
    }
}

ULONG64 PgTickCount(void)
{
    return PgpReadSystemTime(&PG_SHARED_USER_DATA->TickCount);
}

ULONG64 PgInterruptTime100ns(void)
{
    return PgpReadSystemTime(&PG_SHARED_USER_DATA->InterruptTime);
}

void PgSleep(ULONG Milliseconds)
{
    LARGE_INTEGER Interval;
    Interval.QuadPart = -(LONGLONG)Milliseconds * 10000;
    NtDelayExecution(FALSE, &Interval);
}

ULONG PgCurrentProcessId(void)
{
    return PgProcessParameters->ProcessId;
}

NTSTATUS PgSpawn(const char *Image, const char *CommandLine, ULONG Flags, PHANDLE Process,
                 PULONG ProcessId)
{
    char Path[128];
    CREATE_PROCESS_INFO Info;
    HANDLE Thread = NULL;
    NTSTATUS Status;

    if (strchr(Image, '/'))
        RtlStringCopy(Path, Image, sizeof(Path));
    else
        snprintf(Path, sizeof(Path), "/bin/%s", Image);
    memset(&Info, 0, sizeof(Info));
    Info.ImagePath = Path;
    Info.CommandLine = CommandLine;
    Info.Flags = Flags;
    *Process = NULL;
    Status = NtCreateUserProcess(Process, &Thread, &Info);
    if (!NT_SUCCESS(Status))
        return Status;
    if (Thread)
        NtClose(Thread);
    if (ProcessId)
        *ProcessId = PgProcessIdOf(*Process);
    return Status;
}

NTSTATUS PgWaitProcess(HANDLE Process, NTSTATUS *ExitStatus)
{
    PROCESS_BASIC_INFORMATION Info;
    NTSTATUS Status = NtWaitForSingleObject(Process, FALSE, NULL);

    if (!NT_SUCCESS(Status))
        return Status;
    Status = NtQueryInformationProcess(Process, ProcessBasicInformation, &Info, sizeof(Info),
                                       NULL);
    if (NT_SUCCESS(Status))
        *ExitStatus = Info.ExitStatus;
    return Status;
}

NTSTATUS PgRun(const char *Image, const char *CommandLine, NTSTATUS *ExitStatus)
{
    HANDLE Process;
    NTSTATUS Status = PgSpawn(Image, CommandLine, 0, &Process, NULL);

    if (!NT_SUCCESS(Status))
        return Status;
    Status = PgWaitProcess(Process, ExitStatus);
    NtClose(Process);
    return Status;
}

ULONG PgProcessIdOf(HANDLE Process)
{
    PROCESS_BASIC_INFORMATION Info;

    if (!NT_SUCCESS(NtQueryInformationProcess(Process, ProcessBasicInformation, &Info,
                                              sizeof(Info), NULL)))
        return 0;
    return (ULONG)Info.UniqueProcessId;
}

void *PgQuerySystem(SYSTEM_INFORMATION_CLASS Class, const void *In, ULONG InLength,
                    PULONG Length, NTSTATUS *Status)
{
    ULONG Size = 4096;

    for (int Attempt = 0; Attempt < 8; Attempt++) {
        ULONG Needed = 0;
        char *Buffer = malloc(Size);
        if (!Buffer) {
            *Status = STATUS_NO_MEMORY;
            return NULL;
        }
        memset(Buffer, 0, Size);
        if (In)
            memcpy(Buffer, In, InLength);
        *Status = NtQuerySystemInformation(Class, Buffer, Size, &Needed);
        if (NT_SUCCESS(*Status)) {
            *Length = Needed ? Needed : Size;
            return Buffer;
        }
        free(Buffer);
        if (*Status != STATUS_INFO_LENGTH_MISMATCH && *Status != STATUS_BUFFER_TOO_SMALL &&
            *Status != STATUS_BUFFER_OVERFLOW)
            return NULL;
        Size = Needed > Size ? Needed + 1024 : Size * 2;
    }
    return NULL;
}

const char *PgStatusName(NTSTATUS Status)
{
    static const struct {
        NTSTATUS Status;
        const char *Name;
    } Names[] = {
        {STATUS_SUCCESS, "STATUS_SUCCESS"},
        {STATUS_TIMEOUT, "STATUS_TIMEOUT"},
        {STATUS_PENDING, "STATUS_PENDING"},
        {STATUS_UNSUCCESSFUL, "STATUS_UNSUCCESSFUL"},
        {STATUS_NOT_IMPLEMENTED, "STATUS_NOT_IMPLEMENTED"},
        {STATUS_INVALID_INFO_CLASS, "STATUS_INVALID_INFO_CLASS"},
        {STATUS_INFO_LENGTH_MISMATCH, "STATUS_INFO_LENGTH_MISMATCH"},
        {STATUS_GUARD_PAGE_VIOLATION, "STATUS_GUARD_PAGE_VIOLATION"},
        {STATUS_ACCESS_VIOLATION, "STATUS_ACCESS_VIOLATION"},
        {STATUS_INVALID_HANDLE, "STATUS_INVALID_HANDLE"},
        {STATUS_INVALID_PARAMETER, "STATUS_INVALID_PARAMETER"},
        {STATUS_INVALID_PARAMETER_1, "STATUS_INVALID_PARAMETER_1"},
        {STATUS_INVALID_PARAMETER_2, "STATUS_INVALID_PARAMETER_2"},
        {STATUS_INVALID_PARAMETER_3, "STATUS_INVALID_PARAMETER_3"},
        {STATUS_INVALID_PARAMETER_4, "STATUS_INVALID_PARAMETER_4"},
        {STATUS_INVALID_PARAMETER_5, "STATUS_INVALID_PARAMETER_5"},
        {STATUS_INVALID_PARAMETER_6, "STATUS_INVALID_PARAMETER_6"},
        {STATUS_NO_SUCH_FILE, "STATUS_NO_SUCH_FILE"},
        {STATUS_NO_MEMORY, "STATUS_NO_MEMORY"},
        {STATUS_CONFLICTING_ADDRESSES, "STATUS_CONFLICTING_ADDRESSES"},
        {STATUS_ILLEGAL_INSTRUCTION, "STATUS_ILLEGAL_INSTRUCTION"},
        {STATUS_ACCESS_DENIED, "STATUS_ACCESS_DENIED"},
        {STATUS_OBJECT_TYPE_MISMATCH, "STATUS_OBJECT_TYPE_MISMATCH"},
        {STATUS_OBJECT_NAME_NOT_FOUND, "STATUS_OBJECT_NAME_NOT_FOUND"},
        {STATUS_INVALID_IMAGE_FORMAT, "STATUS_INVALID_IMAGE_FORMAT"},
        {STATUS_INSUFFICIENT_RESOURCES, "STATUS_INSUFFICIENT_RESOURCES"},
        {STATUS_COMMITMENT_LIMIT, "STATUS_COMMITMENT_LIMIT"},
        {STATUS_DRIVER_ENTRYPOINT_NOT_FOUND, "STATUS_DRIVER_ENTRYPOINT_NOT_FOUND"},
        {STATUS_IMAGE_ALREADY_LOADED, "STATUS_IMAGE_ALREADY_LOADED"},
        {STATUS_DEVICE_BUSY, "STATUS_DEVICE_BUSY"},
        {STATUS_INTEGER_DIVIDE_BY_ZERO, "STATUS_INTEGER_DIVIDE_BY_ZERO"},
        {STATUS_INTEGER_OVERFLOW, "STATUS_INTEGER_OVERFLOW"},
        {STATUS_SINGLE_STEP, "STATUS_SINGLE_STEP"},
        {STATUS_PRIVILEGED_INSTRUCTION, "STATUS_PRIVILEGED_INSTRUCTION"},
        {STATUS_STACK_OVERFLOW, "STATUS_STACK_OVERFLOW"},
        {STATUS_INVALID_ADDRESS, "STATUS_INVALID_ADDRESS"},
        {STATUS_NOT_SUPPORTED, "STATUS_NOT_SUPPORTED"},
        {STATUS_BREAKPOINT, "STATUS_BREAKPOINT"},
    };
    for (size_t I = 0; I < ARRAYSIZE(Names); I++)
        if (Names[I].Status == Status)
            return Names[I].Name;
    return NULL;
}

/*
 * Find the Count waitable, not-signalled handles a parent duplicated into
 * this process after starting it (NtDuplicateObject), in ascending handle
 * order, which is the order the parent made them in (a new process's table
 * fills its lowest free slots). A zero-timeout wait is the probe: it has
 * no side effect on a not-signalled event, and most other handles answer
 * with an error. The console handles are skipped: a file handle is
 * waitable too (its file object's event). Gives up after TimeoutMs.
 * Returns how many it found.
 */
int PgFindDuplicatedHandles(HANDLE *Handles, int Count, ULONG TimeoutMs)
{
    ULONG64 Deadline = PgInterruptTime100ns() + (ULONG64)TimeoutMs * 10000;
    int Found = 0;

    do {
        LARGE_INTEGER Zero;
        Zero.QuadPart = 0;
        Found = 0;
        for (ULONG_PTR H = 4; H <= 1024 && Found < Count; H += 4)
            if ((HANDLE)H != PgProcessParameters->StandardInput &&
                (HANDLE)H != PgProcessParameters->StandardOutput &&
                NtWaitForSingleObject((HANDLE)H, FALSE, &Zero) == STATUS_TIMEOUT)
                Handles[Found++] = (HANDLE)H;
        if (Found == Count)
            return Found;
        PgSleep(5);
    } while (PgInterruptTime100ns() < Deadline);
    return Found;
}

/* ------------------------------------------------------------------------
 * Threads. The kernel enters a new thread at its start address with the
 * parameter in RDI and nothing to return to, so a trampoline calls the
 * routine and ends the thread with what it returned.
 * ------------------------------------------------------------------------ */
typedef struct _PG_THREAD_START {
    PG_THREAD_ROUTINE Routine;
    PVOID Parameter;
} PG_THREAD_START;

static void PgThreadTrampoline(PVOID Context)
{
    PG_THREAD_START Start = *(PG_THREAD_START *)Context;
    free(Context);
    NtTerminateThread(NtCurrentThread(), Start.Routine(Start.Parameter));
}

NTSTATUS PgCreateThread(PG_THREAD_ROUTINE Routine, PVOID Parameter, PHANDLE Thread)
{
    PG_THREAD_START *Start = malloc(sizeof(*Start));
    if (!Start)
        return STATUS_NO_MEMORY;
    Start->Routine = Routine;
    Start->Parameter = Parameter;
    NTSTATUS Status = NtCreateThread(Thread, NtCurrentProcess(), PgThreadTrampoline, Start, NULL);
    if (!NT_SUCCESS(Status))
        free(Start);
    return Status;
}
