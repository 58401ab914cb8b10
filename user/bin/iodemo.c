/*
 * iodemo [neither|buffered|direct|all] [ROUNDS] - the seeds' scenario, "a
 * driver completes a request in an arbitrary thread", run for real
 * against \Device\Delay (drivers/delay/delay.c, include/ntdddelay.h).
 *
 *   1. This process (the requester) asks the driver to read into its
 *      buffer and waits.
 *   2. The driver queues the request and returns; a timer fires later.
 *   3. The timer's DPC runs in whatever thread is current then: here,
 *      almost always the bystander, a second process started by the demo
 *      that keeps the processor busy.
 *   4. How the DPC reaches "the requester's buffer" decides where the data
 *      goes. METHOD_NEITHER hands the driver the requester's virtual
 *      address, and from the DPC that address means the bystander's
 *      memory. METHOD_BUFFERED and METHOD_OUT_DIRECT get it right: a
 *      system buffer copied out later in the requester's own thread, or
 *      the requester's locked pages mapped in system space.
 *
 * The driver is a loadable one (/drivers/delay.sys); the demo loads it
 * when \??\Delay does not exist yet, as `load delay` in the shell does.
 *
 * Both processes put their buffer at the same address on purpose
 * (DEMO_BUFFER), so the naive write has somewhere to land: the bystander
 * watches its buffer and reports every read that arrives in it. Each line
 * the requester prints comes from the driver's own log (who asked, who was
 * current, what happened to the data) and from what its buffer holds.
 *
 * "iodemo bystander PID" is the bystander's role (started by the demo and
 * by usertests' delay.* tests): it exits with the number of reads it saw
 * land in its buffer, when the named event \BaseNamedObjects\IoDemoStopPID
 * is set.
 */
#include "pagoda.h"
#include "ntdddelay.h"

#define DEMO_BUFFER     ((PVOID)0x30000000)
#define DEMO_LENGTH     64
#define DEMO_ROUNDS     3

/* Open \??\Delay, loading the driver first when it is not there. */
static HANDLE OpenDelay(void)
{
    UNICODE_STRING Service;
    HANDLE Handle = NULL;
    NTSTATUS Status = PgOpenDevice(DELAY_DOS_NAME, FILE_SYNCHRONOUS_IO_NONALERT, &Handle);
    if (Status == STATUS_OBJECT_NAME_NOT_FOUND) {
        printf("iodemo: no \\??\\Delay yet: loading the driver (NtLoadDriver \"delay\", "
               "as the shell's `load delay` does)\n");
        RtlInitUnicodeString(&Service, u"delay");
        Status = NtLoadDriver(&Service);
        if (NT_SUCCESS(Status))
            Status = PgOpenDevice(DELAY_DOS_NAME, FILE_SYNCHRONOUS_IO_NONALERT, &Handle);
    }
    if (!NT_SUCCESS(Status)) {
        printf("iodemo: cannot open %s: %s\n", "\\??\\Delay", PgStatusName(Status));
        return NULL;
    }
    return Handle;
}

/* The page at DEMO_BUFFER, committed and touched, so it is mapped. */
static PUCHAR MapDemoBuffer(void)
{
    PVOID Base = DEMO_BUFFER;
    SIZE_T Size = PAGE_SIZE;
    NTSTATUS Status = NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                              MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!NT_SUCCESS(Status)) {
        printf("iodemo: cannot map the buffer at %p: %s\n", DEMO_BUFFER, PgStatusName(Status));
        return NULL;
    }
    memset(Base, '.', PAGE_SIZE);
    return Base;
}

static NTSTATUS StopEventName(ULONG Pid, UNICODE_STRING *Name, WCHAR *Buffer, ULONG Chars)
{
    char Ansi[64];
    snprintf(Ansi, sizeof(Ansi), "\\BaseNamedObjects\\IoDemoStop%u", Pid);
    return PgInitUnicodeStringFromAnsi(Name, Buffer, Chars, Ansi);
}

/* Count a read that landed in the bystander's buffer since the last look. */
static void LookForLandedRead(const UCHAR *Buffer, ULONG *LastSequence, int *Landed)
{
    const DELAY_PAYLOAD *Payload = (const DELAY_PAYLOAD *)Buffer;
    if (Payload->Magic == DELAY_PAYLOAD_MAGIC && Payload->Sequence != *LastSequence) {
        *LastSequence = Payload->Sequence;
        (*Landed)++;
        printf("  bystander (pid %u): read #%u of pid %u landed in MY buffer at %p\n",
               PgCurrentProcessId(), Payload->Sequence, Payload->RequesterPid, Buffer);
    }
}

/* The bystander: keep the processor busy, watch the buffer, count the
 * reads that land in it, until the requester sets the stop event. */
static int Bystander(ULONG RequesterPid)
{
    WCHAR NameBuffer[64];
    UNICODE_STRING Name;
    OBJECT_ATTRIBUTES Attributes;
    HANDLE Stop;
    PUCHAR Buffer = MapDemoBuffer();
    if (Buffer == NULL || !NT_SUCCESS(StopEventName(RequesterPid, &Name, NameBuffer, 64)))
        return -1;
    InitializeObjectAttributes(&Attributes, &Name, 0, NULL, NULL);
    if (!NT_SUCCESS(NtOpenEvent(&Stop, SYNCHRONIZE, &Attributes)))
        return -1;

    int Landed = 0;
    ULONG LastSequence = 0;
    LARGE_INTEGER Poll = {.QuadPart = 0};
    while (NtWaitForSingleObject(Stop, FALSE, &Poll) == STATUS_TIMEOUT)
        LookForLandedRead(Buffer, &LastSequence, &Landed);
    LookForLandedRead(Buffer, &LastSequence, &Landed); /* one that landed just before the stop */
    NtClose(Stop);
    return Landed;
}

/* The driver's log entry for the newest request this process made. */
static BOOLEAN FindMyEntry(HANDLE Device, ULONG FirstSequence, DELAY_LOG_ENTRY *Entry)
{
    static DELAY_LOG Log;
    IO_STATUS_BLOCK Iosb;
    if (!NT_SUCCESS(NtDeviceIoControlFile(Device, NULL, NULL, NULL, &Iosb, IOCTL_DELAY_GET_LOG,
                                          &FirstSequence, sizeof(FirstSequence), &Log,
                                          sizeof(Log))))
        return FALSE;
    for (ULONG I = Log.Count; I-- > 0;) {
        if (Log.Entries[I].RequesterPid == PgCurrentProcessId()) {
            *Entry = Log.Entries[I];
            return TRUE;
        }
    }
    return FALSE;
}

static const char *OutcomeText(ULONG Outcome)
{
    switch (Outcome) {
    case DelayDeliveredInRequester: return "written at my address while I was current";
    case DelayLandedInOtherProcess: return "WRITTEN INTO THE CURRENT PROCESS, not me";
    case DelayWouldHaveFaulted: return "my address is not mapped there: a real driver bugchecks";
    case DelayDeliveredBySystemBuffer: return "system buffer, copied to me in my thread";
    case DelayDeliveredByMdl: return "written to my locked pages through the MDL";
    default: return "cancelled";
    }
}

/* One read; returns 1 if the data arrived in this process's buffer. */
static int ReadOnce(HANDLE Device, ULONG Code, const char *Method, PUCHAR Buffer)
{
    IO_STATUS_BLOCK Iosb;
    DELAY_LOG_ENTRY Entry;
    memset(Buffer, '.', DEMO_LENGTH);
    NTSTATUS Status = NtDeviceIoControlFile(Device, NULL, NULL, NULL, &Iosb, Code, NULL, 0,
                                            Buffer, DEMO_LENGTH);
    const DELAY_PAYLOAD *Payload = (const DELAY_PAYLOAD *)Buffer;
    int Arrived = NT_SUCCESS(Status) && Payload->Magic == DELAY_PAYLOAD_MAGIC &&
                  Payload->RequesterPid == PgCurrentProcessId();
    if (!FindMyEntry(Device, 0, &Entry)) {
        printf("  %-8s: %s, and no log entry\n", Method, PgStatusName(Status));
        return Arrived;
    }
    printf("  %-8s #%-3u asked by pid %u, completed while pid %u (%.16s) was current:\n"
           "            %s -> %s\n",
           Method, Entry.Sequence, Entry.RequesterPid, Entry.CompletingPid, Entry.CompletingImage,
           OutcomeText(Entry.Outcome), Arrived ? "my data ARRIVED" : "my buffer is EMPTY");
    return Arrived;
}

static const struct {
    const char *Name;
    ULONG Code;
} DemoMethods[] = {
    {"neither", IOCTL_DELAY_READ_NEITHER},
    {"buffered", IOCTL_DELAY_READ_BUFFERED},
    {"direct", IOCTL_DELAY_READ_DIRECT},
};

/* Start the bystander and the stop event it waits for. */
static NTSTATUS StartBystander(PHANDLE Stop, PHANDLE Process, PULONG Pid)
{
    WCHAR NameBuffer[64];
    UNICODE_STRING Name;
    OBJECT_ATTRIBUTES Attributes;
    char CommandLine[48];
    NTSTATUS Status = StopEventName(PgCurrentProcessId(), &Name, NameBuffer, 64);
    if (!NT_SUCCESS(Status))
        return Status;
    InitializeObjectAttributes(&Attributes, &Name, 0, NULL, NULL);
    Status = NtCreateEvent(Stop, EVENT_ALL_ACCESS, &Attributes, NotificationEvent, FALSE);
    if (!NT_SUCCESS(Status))
        return Status;
    snprintf(CommandLine, sizeof(CommandLine), "iodemo bystander %u", PgCurrentProcessId());
    Status = PgSpawn("/bin/iodemo", CommandLine, 0, Process, Pid);
    if (!NT_SUCCESS(Status))
        NtClose(*Stop);
    return Status;
}

static int RunDemo(const char *Which, int Rounds)
{
    HANDLE Device = OpenDelay(), Stop, Process;
    PUCHAR Buffer = MapDemoBuffer();
    ULONG BystanderPid;
    NTSTATUS ExitStatus;
    if (Device == NULL || Buffer == NULL)
        return 1;
    if (!NT_SUCCESS(StartBystander(&Stop, &Process, &BystanderPid)))
        return 1;
    printf("iodemo: requester pid %u, bystander pid %u, both with a buffer at %p\n",
           PgCurrentProcessId(), BystanderPid, Buffer);
    PgSleep(50); /* let the bystander map its buffer and start spinning */

    int Arrived = 0, Asked = 0;
    for (ULONG M = 0; M < ARRAYSIZE(DemoMethods); M++) {
        if (strcmp(Which, "all") != 0 && strcmp(Which, DemoMethods[M].Name) != 0)
            continue;
        for (int R = 0; R < Rounds; R++, Asked++)
            Arrived += ReadOnce(Device, DemoMethods[M].Code, DemoMethods[M].Name, Buffer);
    }
    NtSetEvent(Stop, NULL);
    PgWaitProcess(Process, &ExitStatus);
    printf("iodemo: %d of %d reads arrived in the requester; %d landed in the bystander\n",
           Arrived, Asked, (int)ExitStatus);
    NtClose(Process);
    NtClose(Stop);
    NtClose(Device);
    return 0;
}

int main(int Argc, char **Argv, char **Envp)
{
    (void)Envp;
    if (Argc >= 3 && strcmp(Argv[1], "bystander") == 0)
        return Bystander((ULONG)atoi(Argv[2]));
    const char *Which = Argc >= 2 ? Argv[1] : "all";
    int Rounds = Argc >= 3 ? atoi(Argv[2]) : DEMO_ROUNDS;
    if (strcmp(Which, "all") != 0 && strcmp(Which, "neither") != 0 &&
        strcmp(Which, "buffered") != 0 && strcmp(Which, "direct") != 0) {
        printf("usage: iodemo [neither|buffered|direct|all] [ROUNDS]\n");
        return 2;
    }
    return RunDemo(Which, Rounds > 0 ? Rounds : DEMO_ROUNDS);
}
