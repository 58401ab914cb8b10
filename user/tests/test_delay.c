/*
 * test_delay.c - delay.*: the seeds' scenario checked from ring 3. This
 * process loads the teaching driver (NtLoadDriver "delay", unloaded again
 * at the end if it was not loaded before) and asks \Device\Delay
 * (drivers/delay/delay.c) for reads while a
 * bystander process ("iodemo bystander", user/bin/iodemo.c) keeps the
 * processor busy with a buffer mapped at the same address, so the
 * driver's timer DPC runs in the bystander's context. The driver's own
 * log says who was current at each completion; the tests hold the log,
 * this process's buffer and the bystander's count against each other.
 */
#include "ut.h"
#include "ntdddelay.h"

#define DELAY_TEST_BUFFER ((PVOID)0x30000000) /* iodemo's DEMO_BUFFER */
#define DELAY_TEST_LENGTH 64
#define DELAY_TEST_READS  4

typedef struct _DELAY_FIXTURE {
    HANDLE Device, Stop, Bystander;
    ULONG BystanderPid;
    PUCHAR Buffer;
} DELAY_FIXTURE;

static void FreeDemoBuffer(PVOID Base)
{
    SIZE_T Size = 0;
    UT_EXPECT_SUCCESS(NtFreeVirtualMemory(NtCurrentProcess(), &Base, &Size, MEM_RELEASE));
}

static UNICODE_STRING DelayService = RTL_CONSTANT_STRING(u"delay");

static void UnloadDelay(PVOID Unused)
{
    (void)Unused;
    UT_EXPECT_SUCCESS(NtUnloadDriver(&DelayService));
}

/* Load the driver, open the device, map the buffer, start the bystander
 * (cleanups deferred: they run in the reverse order). */
static BOOLEAN SetUp(DELAY_FIXTURE *F)
{
    UNICODE_STRING Name;
    OBJECT_ATTRIBUTES Attributes;
    WCHAR NameBuffer[64];
    char Text[64];

    NTSTATUS Status = NtLoadDriver(&DelayService);
    if (Status == STATUS_SUCCESS)
        UtDefer(UnloadDelay, NULL);
    else
        UT_CHECK_STATUS_(Status, STATUS_IMAGE_ALREADY_LOADED, return FALSE);
    UT_CHECK_STATUS_(PgOpenDevice(DELAY_DOS_NAME, FILE_SYNCHRONOUS_IO_NONALERT, &F->Device),
                     STATUS_SUCCESS, return FALSE);
    UtDeferClose(F->Device);

    PVOID Base = DELAY_TEST_BUFFER;
    SIZE_T Size = PAGE_SIZE;
    UT_CHECK_STATUS_(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                             MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                     STATUS_SUCCESS, return FALSE);
    UtDefer(FreeDemoBuffer, Base);
    F->Buffer = Base;

    snprintf(Text, sizeof(Text), "\\BaseNamedObjects\\IoDemoStop%u", PgCurrentProcessId());
    UT_CHECK_STATUS_(PgInitUnicodeStringFromAnsi(&Name, NameBuffer, 64, Text), STATUS_SUCCESS,
                     return FALSE);
    InitializeObjectAttributes(&Attributes, &Name, 0, NULL, NULL);
    UT_CHECK_STATUS_(NtCreateEvent(&F->Stop, EVENT_ALL_ACCESS, &Attributes, NotificationEvent,
                                   FALSE),
                     STATUS_SUCCESS, return FALSE);
    UtDeferClose(F->Stop);
    snprintf(Text, sizeof(Text), "iodemo bystander %u", PgCurrentProcessId());
    UT_CHECK_STATUS_(PgSpawn("/bin/iodemo", Text, 0, &F->Bystander, &F->BystanderPid),
                     STATUS_SUCCESS, return FALSE);
    UtDeferEndProcess(F->Bystander);
    PgSleep(50); /* the bystander maps its buffer and starts spinning */
    return TRUE;
}

/* Stop the bystander; its exit status is how many reads landed in it. */
static NTSTATUS StopBystander(DELAY_FIXTURE *F)
{
    NtSetEvent(F->Stop, NULL);
    return UtExitStatus(F->Bystander);
}

/* This process's log entries from FirstSequence on, oldest first. */
static ULONG MyEntries(DELAY_FIXTURE *F, ULONG FirstSequence, DELAY_LOG_ENTRY *Out, ULONG Max)
{
    static DELAY_LOG Log;
    IO_STATUS_BLOCK Iosb;
    ULONG Count = 0;
    if (!NT_SUCCESS(NtDeviceIoControlFile(F->Device, NULL, NULL, NULL, &Iosb,
                                          IOCTL_DELAY_GET_LOG, &FirstSequence,
                                          sizeof(FirstSequence), &Log, sizeof(Log))))
        return 0;
    for (ULONG I = 0; I < Log.Count && Count < Max; I++) {
        if (Log.Entries[I].RequesterPid == PgCurrentProcessId())
            Out[Count++] = Log.Entries[I];
    }
    return Count;
}

static ULONG NextSequence(DELAY_FIXTURE *F)
{
    static DELAY_LOG Log;
    IO_STATUS_BLOCK Iosb;
    ULONG First = ~0u;
    if (!NT_SUCCESS(NtDeviceIoControlFile(F->Device, NULL, NULL, NULL, &Iosb,
                                          IOCTL_DELAY_GET_LOG, &First, sizeof(First), &Log,
                                          sizeof(Log))))
        return 0;
    return Log.NextSequence;
}

/* Whether the buffer holds a whole payload of read Sequence for this process. */
static BOOLEAN Arrived(const UCHAR *Buffer, ULONG Sequence)
{
    const DELAY_PAYLOAD *Payload = (const DELAY_PAYLOAD *)Buffer;
    if (Payload->Magic != DELAY_PAYLOAD_MAGIC || Payload->Sequence != Sequence ||
        Payload->RequesterPid != PgCurrentProcessId())
        return FALSE;
    for (ULONG I = sizeof(*Payload); I < DELAY_TEST_LENGTH; I++) {
        if (Buffer[I] != (UCHAR)Sequence)
            return FALSE;
    }
    return TRUE;
}

/* METHOD_NEITHER: the DPC writes the requester's address in whatever
 * process is current. With the bystander busy, reads land in its buffer:
 * the log, this buffer and the bystander's own count must all agree. */
static void NeitherLandsInTheCurrentProcess(void)
{
    DELAY_FIXTURE F;
    DELAY_LOG_ENTRY Entries[DELAY_TEST_READS];
    BOOLEAN Got[DELAY_TEST_READS];
    IO_STATUS_BLOCK Iosb;
    UT_ASSERT(SetUp(&F));
    ULONG First = NextSequence(&F);
    UT_ASSERT(First != 0);

    for (ULONG I = 0; I < DELAY_TEST_READS; I++) {
        memset(F.Buffer, '.', DELAY_TEST_LENGTH);
        UT_ASSERT_SUCCESS(NtDeviceIoControlFile(F.Device, NULL, NULL, NULL, &Iosb,
                                                IOCTL_DELAY_READ_NEITHER, NULL, 0, F.Buffer,
                                                DELAY_TEST_LENGTH));
        UT_EXPECT_EQ(Iosb.Information, DELAY_TEST_LENGTH); /* the driver thinks it worked */
        Got[I] = Arrived(F.Buffer, First + I);
    }
    UT_ASSERT_EQ(MyEntries(&F, First, Entries, DELAY_TEST_READS), DELAY_TEST_READS);
    ULONG Landed = 0;
    for (ULONG I = 0; I < DELAY_TEST_READS; I++) {
        UT_EXPECT_EQ(Entries[I].Sequence, First + I);
        if (Entries[I].Outcome == DelayLandedInOtherProcess) {
            UT_EXPECT_EQ(Entries[I].CompletingPid, F.BystanderPid);
            UT_EXPECT(!Got[I]); /* it went there, not here */
            Landed++;
        } else {
            /* The requester happened to be current: then, and only then,
             * the naive write reaches it. */
            UT_EXPECT_EQ(Entries[I].Outcome, DelayDeliveredInRequester);
            UT_EXPECT(Got[I]);
        }
    }
    UT_EXPECT(Landed >= 1);
    UT_EXPECT_EQ(StopBystander(&F), (NTSTATUS)Landed);
}

/* METHOD_BUFFERED and METHOD_OUT_DIRECT: completed in the bystander's
 * context just the same, and still every byte reaches this process. */
static void BufferedAndDirectArriveWhileAnotherProcessIsCurrent(void)
{
    static const ULONG Codes[] = {IOCTL_DELAY_READ_BUFFERED, IOCTL_DELAY_READ_DIRECT};
    DELAY_FIXTURE F;
    DELAY_LOG_ENTRY Entries[2 * DELAY_TEST_READS];
    IO_STATUS_BLOCK Iosb;
    UT_ASSERT(SetUp(&F));
    ULONG First = NextSequence(&F);
    UT_ASSERT(First != 0);

    for (ULONG I = 0; I < 2 * DELAY_TEST_READS; I++) {
        memset(F.Buffer, '.', PAGE_SIZE);
        UT_ASSERT_SUCCESS(NtDeviceIoControlFile(F.Device, NULL, NULL, NULL, &Iosb,
                                                Codes[I / DELAY_TEST_READS], NULL, 0, F.Buffer,
                                                DELAY_TEST_LENGTH));
        UT_EXPECT_EQ(Iosb.Information, DELAY_TEST_LENGTH);
        UT_EXPECT(Arrived(F.Buffer, First + I));
        UT_EXPECT_EQ(F.Buffer[DELAY_TEST_LENGTH], '.'); /* nothing past Information */
    }
    UT_ASSERT_EQ(MyEntries(&F, First, Entries, 2 * DELAY_TEST_READS), 2 * DELAY_TEST_READS);
    ULONG Elsewhere = 0;
    for (ULONG I = 0; I < 2 * DELAY_TEST_READS; I++) {
        UT_EXPECT_EQ(Entries[I].Outcome, I < DELAY_TEST_READS ? DelayDeliveredBySystemBuffer
                                                              : DelayDeliveredByMdl);
        Elsewhere += Entries[I].CompletingPid != PgCurrentProcessId();
    }
    UT_EXPECT(Elsewhere >= 1); /* the point: completed in another context */
    UT_EXPECT_EQ(StopBystander(&F), 0);  /* and nothing landed in the bystander */
}

const UT_TEST UtDelayTests[] = {
    {"delay.neither_lands_in_the_current_process", NeitherLandsInTheCurrentProcess},
    {"delay.buffered_and_direct_arrive_while_another_process_is_current",
     BufferedAndDirectArriveWhileAnotherProcessIsCurrent},
    {NULL, NULL},
};
