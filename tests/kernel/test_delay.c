/*
 * test_delay.c - ktest.delay.*: the teaching driver \Device\Delay
 * (drivers/delay/delay.c, loaded from the initrd's /drivers/delay.sys by
 * the first test that needs it, and left loaded) seen from a kernel-mode
 * requester. Its reads pend
 * and complete from a timer DPC; these tests check what arrives, where,
 * and that nothing is left behind. The user-mode side of the lesson (the
 * naive method landing in another process) is user/tests/test_delay.c.
 */
#include "../../include/ktest.h"
#include "../../include/ntdddelay.h"
#include "../../io/io.h"
#include "../../ob/ob.h"
#include "../../ps/ps.h"
#include "../../mm/mm.h"
#include "../../rtl/rtl.h"
#include "ktbaseline.h"
#include "ktdefer.h"

#define KT_DELAY_PATTERN 0xA5A5A5A5A5A5A5A5ULL

/* \Device\Delay, referenced; the driver is loaded first if it is not. */
static PDEVICE_OBJECT KtDelayDevice(void)
{
    static UNICODE_STRING Name = RTL_CONSTANT_STRING(DELAY_DEVICE_NAME);
    static UNICODE_STRING Service = RTL_CONSTANT_STRING(u"delay");
    PDEVICE_OBJECT Device = NULL;
    NTSTATUS Status = IoLoadDriver(&Service);
    if (!NT_SUCCESS(Status) && Status != STATUS_IMAGE_ALREADY_LOADED)
        return NULL;
    if (!NT_SUCCESS(ObReferenceObjectByName(&Name, 0, IoDeviceObjectType, KernelMode,
                                            (PVOID *)&Device)))
        return NULL;
    return Device;
}

/* Send one IOCTL and wait for it. *Pended says whether IoCallDriver
 * returned STATUS_PENDING; Iosb is pre-filled with a pattern by the caller. */
static NTSTATUS KtDelayIoctl(PDEVICE_OBJECT Device, ULONG Code, PVOID In, ULONG InLength,
                             PVOID Out, ULONG OutLength, PIO_STATUS_BLOCK Iosb,
                             BOOLEAN *Pended)
{
    KEVENT Done;
    KeInitializeEvent(&Done, NotificationEvent, FALSE);
    PIRP Irp = IoBuildDeviceIoControlRequest(Code, Device, In, InLength, Out, OutLength, FALSE,
                                             &Done, Iosb);
    if (Irp == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS Status = IoCallDriver(Device, Irp);
    *Pended = Status == STATUS_PENDING;
    if (Status == STATUS_PENDING) {
        LARGE_INTEGER Timeout = {.QuadPart = KT_MS(5000)};
        if (KeWaitForSingleObject(&Done, Executive, KernelMode, FALSE, &Timeout) != STATUS_SUCCESS)
            return STATUS_TIMEOUT; /* the driver never completed it */
        Status = Iosb->Status;
    }
    return Status;
}

static void KtDelayFreePool(PVOID Block)
{
    ExFreePoolWithTag(Block, POOL_TAG('K', 't', 'D', 'l'));
}

/* The driver's newest log entry. */
static BOOLEAN KtDelayLastEntry(PDEVICE_OBJECT Device, DELAY_LOG_ENTRY *Entry)
{
    static DELAY_LOG Log;
    IO_STATUS_BLOCK Iosb;
    BOOLEAN Pended;
    if (!NT_SUCCESS(KtDelayIoctl(Device, IOCTL_DELAY_GET_LOG, NULL, 0, &Log, sizeof(Log), &Iosb,
                                 &Pended)) ||
        Log.Count == 0)
        return FALSE;
    *Entry = Log.Entries[Log.Count - 1];
    return TRUE;
}

/* Every byte after the header is the sequence's low byte. */
static BOOLEAN KtDelayPayloadIsWhole(const UCHAR *Buffer, ULONG Length, ULONG *Sequence)
{
    const DELAY_PAYLOAD *Payload = (const DELAY_PAYLOAD *)Buffer;
    if (Payload->Magic != DELAY_PAYLOAD_MAGIC ||
        Payload->RequesterPid != (ULONG)(ULONG_PTR)PsGetCurrentProcessId())
        return FALSE;
    for (ULONG I = sizeof(*Payload); I < Length; I++) {
        if (Buffer[I] != (UCHAR)Payload->Sequence)
            return FALSE;
    }
    *Sequence = Payload->Sequence;
    return TRUE;
}

/* A buffered read pends, then completes from the DPC with exactly the
 * requested bytes, copied out of the system buffer. */
KTEST(delay, buffered_read_pends_then_completes)
{
    PDEVICE_OBJECT Device = KtDelayDevice();
    KT_ASSERT(Device != NULL);
    KtDeferDereference(Device);
    DELAY_LOG_ENTRY Entry;
    (void)KtDelayLastEntry(Device, &Entry); /* so the IRP lookaside list holds one */
    KT_BASELINE Before = KtBaseline();
    UCHAR Buffer[80];
    memset(Buffer, 0xEE, sizeof(Buffer));
    IO_STATUS_BLOCK Iosb = {.Status = (NTSTATUS)0xA5A5A5A5, .Information = KT_DELAY_PATTERN};
    BOOLEAN Pended;

    KT_ASSERT_STATUS(KtDelayIoctl(Device, IOCTL_DELAY_READ_BUFFERED, NULL, 0, Buffer, 64, &Iosb,
                                  &Pended),
                     STATUS_SUCCESS);
    KT_EXPECT(Pended);
    KT_EXPECT_EQ(Iosb.Information, 64);
    ULONG Sequence = 0;
    KT_EXPECT(KtDelayPayloadIsWhole(Buffer, 64, &Sequence));
    for (ULONG I = 64; I < sizeof(Buffer); I++)
        KT_EXPECT_EQ(Buffer[I], 0xEE); /* nothing past Information */

    KT_ASSERT(KtDelayLastEntry(Device, &Entry));
    KT_EXPECT_EQ(Entry.Sequence, Sequence);
    KT_EXPECT_EQ(Entry.Outcome, DelayDeliveredBySystemBuffer);
    KT_EXPECT_EQ(Entry.RequesterPid, (ULONG)(ULONG_PTR)PsGetCurrentProcessId());
    KT_ASSERT_BASELINE(Before);
}

/* A direct read into a buffer that crosses a page boundary: the DPC writes
 * through the MDL's system mapping; the bytes around the buffer stay. */
KTEST(delay, direct_read_crosses_pages)
{
    PDEVICE_OBJECT Device = KtDelayDevice();
    KT_ASSERT(Device != NULL);
    KtDeferDereference(Device);
    PUCHAR Block = ExAllocatePoolWithTag(NonPagedPool, 2 * PAGE_SIZE, POOL_TAG('K', 't', 'D', 'l'));
    KT_ASSERT(Block != NULL);
    KtDefer(KtDelayFreePool, Block);
    memset(Block, 0xEE, 2 * PAGE_SIZE);
    PUCHAR Buffer = Block + PAGE_SIZE - 40;
    IO_STATUS_BLOCK Iosb;
    BOOLEAN Pended;

    KT_ASSERT_STATUS(KtDelayIoctl(Device, IOCTL_DELAY_READ_DIRECT, NULL, 0, Buffer, 96, &Iosb,
                                  &Pended),
                     STATUS_SUCCESS);
    KT_EXPECT(Pended);
    KT_EXPECT_EQ(Iosb.Information, 96);
    ULONG Sequence = 0;
    KT_EXPECT(KtDelayPayloadIsWhole(Buffer, 96, &Sequence));
    KT_EXPECT_EQ(Buffer[-1], 0xEE);
    KT_EXPECT_EQ(Buffer[96], 0xEE);
    DELAY_LOG_ENTRY Entry;
    KT_ASSERT(KtDelayLastEntry(Device, &Entry));
    KT_EXPECT_EQ(Entry.Outcome, DelayDeliveredByMdl);
}

static NTSTATUS KtDelaySetDelay(PDEVICE_OBJECT Device, ULONG Ms)
{
    IO_STATUS_BLOCK Iosb;
    BOOLEAN Pended;
    return KtDelayIoctl(Device, IOCTL_DELAY_SET_DELAY, &Ms, sizeof(Ms), NULL, 0, &Iosb, &Pended);
}

static void KtDelayRestoreDelay(PVOID Device)
{
    KT_EXPECT_STATUS(KtDelaySetDelay(Device, 20), STATUS_SUCCESS);
}

/* IoCancelIrp on a queued read: the cancel routine completes it with
 * STATUS_CANCELLED and no data, and the log says so. */
KTEST(delay, cancel_queued_read)
{
    PDEVICE_OBJECT Device = KtDelayDevice();
    KT_ASSERT(Device != NULL);
    KtDeferDereference(Device);
    KT_ASSERT_STATUS(KtDelaySetDelay(Device, 1000), STATUS_SUCCESS);
    KtDefer(KtDelayRestoreDelay, Device);
    KT_BASELINE Before = KtBaseline(); /* the IRP lookaside list holds one now */

    UCHAR Buffer[32];
    IO_STATUS_BLOCK Iosb;
    KEVENT Done;
    KeInitializeEvent(&Done, NotificationEvent, FALSE);
    PIRP Irp = IoBuildDeviceIoControlRequest(IOCTL_DELAY_READ_BUFFERED, Device, NULL, 0, Buffer,
                                             sizeof(Buffer), FALSE, &Done, &Iosb);
    KT_ASSERT(Irp != NULL);
    /* Anything but STATUS_PENDING means the IRP is already gone. */
    KT_ASSERT_STATUS(IoCallDriver(Device, Irp), STATUS_PENDING);
    KT_EXPECT(IoCancelIrp(Irp)); /* it had a cancel routine */
    LARGE_INTEGER Timeout = {.QuadPart = KT_MS(5000)};
    KT_ASSERT_STATUS(KeWaitForSingleObject(&Done, Executive, KernelMode, FALSE, &Timeout),
                     STATUS_SUCCESS);
    KT_EXPECT_STATUS(Iosb.Status, STATUS_CANCELLED);
    KT_EXPECT_EQ(Iosb.Information, 0);
    DELAY_LOG_ENTRY Entry;
    KT_ASSERT(KtDelayLastEntry(Device, &Entry));
    KT_EXPECT_EQ(Entry.Outcome, DelayCancelled);
    KT_ASSERT_BASELINE(Before);
}

/* Bad requests fail at once and never pend. */
KTEST(delay, bad_requests_fail_synchronously)
{
    PDEVICE_OBJECT Device = KtDelayDevice();
    KT_ASSERT(Device != NULL);
    KtDeferDereference(Device);
    UCHAR Small[8];
    IO_STATUS_BLOCK Iosb;
    BOOLEAN Pended;

    KT_EXPECT_STATUS(KtDelayIoctl(Device, IOCTL_DELAY_READ_BUFFERED, NULL, 0, Small,
                                  sizeof(Small), &Iosb, &Pended),
                     STATUS_BUFFER_TOO_SMALL);
    KT_EXPECT(!Pended);
    KT_EXPECT_STATUS(KtDelaySetDelay(Device, 0), STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(KtDelaySetDelay(Device, 1001), STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(KtDelayIoctl(Device, CTL_CODE(FILE_DEVICE_DELAY, 0x8FF, METHOD_BUFFERED, 0),
                                  NULL, 0, NULL, 0, &Iosb, &Pended),
                     STATUS_INVALID_DEVICE_REQUEST);
}

/* Queue Count buffered reads at once, then check they complete in order
 * with whole payloads. */
#define KT_DELAY_QUEUED 4
static void KtDelayQueuedRound(PDEVICE_OBJECT Device)
{
    static UCHAR Buffers[KT_DELAY_QUEUED][32];
    static IO_STATUS_BLOCK Iosb[KT_DELAY_QUEUED];
    static KEVENT Done[KT_DELAY_QUEUED];

    for (ULONG I = 0; I < KT_DELAY_QUEUED; I++) {
        KeInitializeEvent(&Done[I], NotificationEvent, FALSE);
        PIRP Irp = IoBuildDeviceIoControlRequest(IOCTL_DELAY_READ_BUFFERED, Device, NULL, 0,
                                                 Buffers[I], sizeof(Buffers[I]), FALSE, &Done[I],
                                                 &Iosb[I]);
        KT_ASSERT(Irp != NULL);
        KT_ASSERT_STATUS(IoCallDriver(Device, Irp), STATUS_PENDING);
    }
    ULONG Previous = 0;
    for (ULONG I = 0; I < KT_DELAY_QUEUED; I++) {
        LARGE_INTEGER Timeout = {.QuadPart = KT_MS(5000)};
        KT_ASSERT_STATUS(KeWaitForSingleObject(&Done[I], Executive, KernelMode, FALSE, &Timeout),
                         STATUS_SUCCESS);
        ULONG Sequence = 0;
        KT_EXPECT_STATUS(Iosb[I].Status, STATUS_SUCCESS);
        KT_EXPECT(KtDelayPayloadIsWhole(Buffers[I], sizeof(Buffers[I]), &Sequence));
        KT_EXPECT(Sequence > Previous);
        Previous = Sequence;
    }
}

/* Many reads queued at once complete in order, one per timer expiry, and
 * every IRP and buffer goes back where it came from: the second round,
 * measured, finds the IRP lookaside list already holding what the first
 * round (not measured) made it keep. */
KTEST(delay, queued_reads_complete_in_order)
{
    PDEVICE_OBJECT Device = KtDelayDevice();
    KT_ASSERT(Device != NULL);
    KtDeferDereference(Device);
    KtDelayQueuedRound(Device);
    KT_BASELINE Before = KtBaseline();
    KtDelayQueuedRound(Device);
    KT_ASSERT_BASELINE(Before);
}
