/*
 * test_ata.c - the ATA disk driver (io/drivers/ata.c) through IRPs.
 *
 * The harness (tests/run.py, ktest step) boots these with an 8 MiB image
 * from tools/mkdisk.py --pattern: sector L (L >= 1) holds L as a 64-bit
 * little-endian number, then bytes (L + i) & 0xFF. After the boot it reads
 * the image on the host and checks the sectors ata.write_read_back_and_flush
 * wrote (KtWritten below), so the data is known to have reached the disk
 * file, not only the driver.
 *
 * Requests are built with IoBuildSynchronousFsdRequest (direct I/O: the
 * buffer is locked and described by an MDL) and sent with IoCallDriver;
 * the driver pends them and completes them from its DPC.
 */
#include "../../include/ktest.h"
#include "../../kernel/ke.h"
#include "../../io/drivers/ata.h"
#include "../../rtl/rtl.h"

#define KT_TAG POOL_TAG('K', 't', 'A', 't')
#define KT_DISK_SECTORS 16384               /* the harness's 8 MiB image */
#define KT_WRITE_LBA    1000                /* the host checks 1000-1007 ... */
#define KT_WRITE48_LBA  1010                /* ... and 1010-1011 */

static UCHAR KtPattern(ULONG64 Lba, ULONG i)
{
    return i < 8 ? (UCHAR)(Lba >> (8 * i)) : (UCHAR)(Lba + i);
}

/* What ata.write_read_back_and_flush writes (tests/run.py has the same). */
static UCHAR KtWritten(ULONG64 Lba, ULONG i)
{
    return (UCHAR)((Lba * 3 + i * 7) ^ 0x5A);
}

static void KtFree(PVOID Block)
{
    ExFreePoolWithTag(Block, KT_TAG);
}

static PUCHAR KtAlloc(SIZE_T Bytes)
{
    PUCHAR Block = ExAllocatePoolWithTag(NonPagedPool, Bytes, KT_TAG);
    if (Block)
        KtDefer(KtFree, Block);
    return Block;
}

static PATA_EXTENSION KtDisk(void)
{
    return AtaDiskDevice ? AtaDiskDevice->DeviceExtension : NULL;
}

/* One request to the disk, waited for; its status, *Information the bytes. */
static NTSTATUS KtDiskIo(ULONG Major, PVOID Buffer, ULONG Length, ULONG64 Offset,
                         ULONG_PTR *Information)
{
    KEVENT Event;
    IO_STATUS_BLOCK Iosb = {{STATUS_PENDING}, 0xDEAD};
    LARGE_INTEGER Start = {.QuadPart = (LONGLONG)Offset};
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    PIRP Irp = IoBuildSynchronousFsdRequest(Major, AtaDiskDevice, Buffer, Length, &Start, &Event,
                                            &Iosb);
    if (!Irp)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS Status = IoCallDriver(AtaDiskDevice, Irp);
    if (Status == STATUS_PENDING) {
        (void)KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, NULL);
        Status = Iosb.Status;
    }
    if (Information)
        *Information = Iosb.Information;
    return Status;
}

/* The first byte of Buffer (Sectors sectors from Lba) that is not the
 * harness pattern, or -1. */
static LONG KtFirstMismatch(const UCHAR *Buffer, ULONG64 Lba, ULONG Sectors)
{
    for (ULONG s = 0; s < Sectors; s++)
        for (ULONG i = 0; i < ATA_SECTOR_SIZE; i++)
            if (Buffer[s * ATA_SECTOR_SIZE + i] != KtPattern(Lba + s, i))
                return (LONG)(s * ATA_SECTOR_SIZE + i);
    return -1;
}

static void KtSetHooks(ULONG Drop, ULONG64 ForceLba, BOOLEAN Lba48)
{
    PATA_EXTENSION Ext = KtDisk();
    KIRQL OldIrql;
    KeAcquireSpinLock(&Ext->Lock, &OldIrql);
    Ext->TestDropInterrupts = Drop;
    Ext->TestForceLba = ForceLba;
    Ext->TestUseLba48 = Lba48;
    KeReleaseSpinLock(&Ext->Lock, OldIrql);
}

static void KtClearHooks(PVOID Unused)
{
    UNREFERENCED_PARAMETER(Unused);
    KtSetHooks(0, 0, FALSE);
}

KTEST(ata, identify_geometry_and_length)
{
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL);
    KT_EXPECT_EQ(Ext->Sectors, KT_DISK_SECTORS);
    KT_EXPECT_EQ(strcmp(Ext->Model, "QEMU HARDDISK"), 0);
    KT_EXPECT(Ext->Lba48);

    DISK_GEOMETRY Geometry;
    GET_LENGTH_INFORMATION Length;
    IO_STATUS_BLOCK Iosb;
    KEVENT Event;
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    PIRP Irp = IoBuildDeviceIoControlRequest(IOCTL_DISK_GET_DRIVE_GEOMETRY, AtaDiskDevice, NULL, 0,
                                             &Geometry, sizeof(Geometry), FALSE, &Event, &Iosb);
    KT_ASSERT(Irp != NULL);
    KT_EXPECT_STATUS(IoCallDriver(AtaDiskDevice, Irp), STATUS_SUCCESS);
    KT_EXPECT_EQ(Iosb.Information, sizeof(Geometry));
    KT_EXPECT_EQ(Geometry.BytesPerSector, 512);
    KT_EXPECT_EQ(Geometry.MediaType, FixedMedia);
    KT_EXPECT_EQ(Geometry.Cylinders.QuadPart, KT_DISK_SECTORS / (16 * 63));

    Irp = IoBuildDeviceIoControlRequest(IOCTL_DISK_GET_LENGTH_INFO, AtaDiskDevice, NULL, 0,
                                        &Length, sizeof(Length), FALSE, &Event, &Iosb);
    KT_ASSERT(Irp != NULL);
    KT_EXPECT_STATUS(IoCallDriver(AtaDiskDevice, Irp), STATUS_SUCCESS);
    KT_EXPECT_EQ(Length.Length.QuadPart, KT_DISK_SECTORS * 512);

    Irp = IoBuildDeviceIoControlRequest(IOCTL_DISK_GET_LENGTH_INFO, AtaDiskDevice, NULL, 0,
                                        &Length, 4, FALSE, &Event, &Iosb);
    KT_ASSERT(Irp != NULL);
    KT_EXPECT_STATUS(IoCallDriver(AtaDiskDevice, Irp), STATUS_BUFFER_TOO_SMALL);
}

/* 300 sectors: two commands (256 + 44), into a buffer at an odd address
 * that crosses pages; one interrupt per sector. */
KTEST(ata, read_matches_the_image_across_commands_and_pages)
{
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL);
    const ULONG Sectors = 300;
    PUCHAR Block = KtAlloc(Sectors * ATA_SECTOR_SIZE + 16);
    KT_ASSERT(Block != NULL);
    PUCHAR Buffer = Block + 3;
    ULONG64 InterruptsBefore = Ext->Counters.Interrupts;
    ULONG64 IsrBefore = Ext->Interrupt->ServiceCount;
    ULONG_PTR Done = 0;

    KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, Sectors * ATA_SECTOR_SIZE, 7 * 512, &Done),
                     STATUS_SUCCESS);
    KT_EXPECT_EQ(Done, Sectors * ATA_SECTOR_SIZE);
    KT_EXPECT_EQ(KtFirstMismatch(Buffer, 7, Sectors), -1);
    KT_EXPECT_EQ(Ext->Counters.Interrupts - InterruptsBefore, Sectors);
    KT_EXPECT_EQ(Ext->Interrupt->ServiceCount - IsrBefore, Sectors);
    KT_EXPECT_EQ(Ext->Interrupt->Irql, 6);
}

KTEST(ata, write_read_back_and_flush)
{
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL);
    KtDefer(KtClearHooks, NULL);
    PUCHAR Buffer = KtAlloc(8 * ATA_SECTOR_SIZE);
    KT_ASSERT(Buffer != NULL);
    ULONG_PTR Done;

    for (ULONG s = 0; s < 8; s++)
        for (ULONG i = 0; i < ATA_SECTOR_SIZE; i++)
            Buffer[s * ATA_SECTOR_SIZE + i] = KtWritten(KT_WRITE_LBA + s, i);
    KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_WRITE, Buffer, 8 * 512, KT_WRITE_LBA * 512, &Done),
                     STATUS_SUCCESS);
    KT_EXPECT_EQ(Done, 8 * 512);
    KT_EXPECT(!Ext->LastCommandLba48);
    ULONG64 Flushes = Ext->Counters.Flushes;
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_FLUSH_BUFFERS, NULL, 0, 0, NULL), STATUS_SUCCESS);
    KT_EXPECT_EQ(Ext->Counters.Flushes, Flushes + 1);

    memset(Buffer, 0, 8 * ATA_SECTOR_SIZE);
    KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 8 * 512, KT_WRITE_LBA * 512, &Done),
                     STATUS_SUCCESS);
    LONG Bad = -1;
    for (ULONG s = 0; s < 8 && Bad < 0; s++)
        for (ULONG i = 0; i < ATA_SECTOR_SIZE; i++)
            if (Buffer[s * ATA_SECTOR_SIZE + i] != KtWritten(KT_WRITE_LBA + s, i)) {
                Bad = (LONG)(s * ATA_SECTOR_SIZE + i);
                break;
            }
    KT_EXPECT_EQ(Bad, -1);

    /* The same through the LBA48 commands (READ/WRITE SECTOR(S) EXT). */
    KtSetHooks(0, 0, TRUE);
    for (ULONG s = 0; s < 2; s++)
        for (ULONG i = 0; i < ATA_SECTOR_SIZE; i++)
            Buffer[s * ATA_SECTOR_SIZE + i] = KtWritten(KT_WRITE48_LBA + s, i);
    KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_WRITE, Buffer, 2 * 512, KT_WRITE48_LBA * 512, NULL),
                     STATUS_SUCCESS);
    KT_EXPECT(Ext->LastCommandLba48);
    memset(Buffer, 0, 2 * ATA_SECTOR_SIZE);
    KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 2 * 512, KT_WRITE48_LBA * 512, NULL),
                     STATUS_SUCCESS);
    KT_EXPECT(Ext->LastCommandLba48);
    KT_EXPECT_EQ(Buffer[0], KtWritten(KT_WRITE48_LBA, 0));
    KT_EXPECT_EQ(Buffer[1023], KtWritten(KT_WRITE48_LBA + 1, 511));
}

KTEST(ata, requests_outside_the_disk_fail_with_nt_statuses)
{
    KT_ASSERT(KtDisk() != NULL);
    UCHAR Buffer[1024];
    ULONG_PTR Done = 1;
    const ULONG64 End = (ULONG64)KT_DISK_SECTORS * 512;
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 512, End, &Done), STATUS_END_OF_FILE);
    KT_EXPECT_EQ(Done, 0);
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 1024, End - 512, NULL),
                     STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_WRITE, Buffer, 512, End, NULL), STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 512, 100, NULL), STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 100, 0, NULL), STATUS_INVALID_PARAMETER);
    /* The last sector itself is fine. */
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 512, End - 512, NULL), STATUS_SUCCESS);
    KT_EXPECT_EQ(KtFirstMismatch(Buffer, KT_DISK_SECTORS - 1, 1), -1);
}

/* A sector the device refuses (past its end, sent by the test hook): the
 * driver repeats the command once, then gives STATUS_DEVICE_DATA_ERROR;
 * the next request works. */
KTEST(ata, device_error_is_retried_then_reported)
{
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL);
    KtDefer(KtClearHooks, NULL);
    UCHAR Buffer[512];
    ULONG64 Retries = Ext->Counters.Retries, Errors = Ext->Counters.Errors;
    KtSetHooks(0, 0x0FFFFF00, FALSE);
    NTSTATUS Status = KtDiskIo(IRP_MJ_READ, Buffer, 512, 5 * 512, NULL);
    KtSetHooks(0, 0, FALSE);
    KT_EXPECT_STATUS(Status, STATUS_DEVICE_DATA_ERROR);
    KT_EXPECT_EQ(Ext->Counters.Retries, Retries + 1);
    KT_EXPECT_EQ(Ext->Counters.Errors, Errors + 1);
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 512, 5 * 512, NULL), STATUS_SUCCESS);
    KT_EXPECT_EQ(KtFirstMismatch(Buffer, 5, 1), -1);
}

/* The device's interrupt is lost (the ISR drops it): the watchdog ends the
 * request with STATUS_IO_TIMEOUT after ATA_WATCHDOG_MS and resets the
 * channel; the next request works. */
KTEST(ata, lost_interrupt_times_out_and_the_disk_recovers)
{
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL);
    KtDefer(KtClearHooks, NULL);
    UCHAR Buffer[512];
    ULONG64 Timeouts = Ext->Counters.Timeouts;
    ULONG64 Start = KeQueryTickCount();
    KtSetHooks(1, 0, FALSE);
    NTSTATUS Status = KtDiskIo(IRP_MJ_READ, Buffer, 512, 9 * 512, NULL);
    ULONG64 Ticks = KeQueryTickCount() - Start;
    KtSetHooks(0, 0, FALSE);
    KT_EXPECT_STATUS(Status, STATUS_IO_TIMEOUT);
    KT_EXPECT_EQ(Ext->Counters.Timeouts, Timeouts + 1);
    KT_EXPECT(Ticks >= ATA_WATCHDOG_MS);
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 512, 9 * 512, NULL), STATUS_SUCCESS);
    KT_EXPECT_EQ(KtFirstMismatch(Buffer, 9, 1), -1);
}

/* 16 reads sent before any is waited for: the driver queues them and
 * completes each with its own data. */
#define KT_INFLIGHT 16
static struct {
    KEVENT Event[KT_INFLIGHT];
    IO_STATUS_BLOCK Iosb[KT_INFLIGHT];
} KtFlight;

KTEST(ata, queued_requests_all_complete_with_their_data)
{
    KT_ASSERT(KtDisk() != NULL);
    PUCHAR Buffers = KtAlloc(KT_INFLIGHT * 3 * ATA_SECTOR_SIZE);
    KT_ASSERT(Buffers != NULL);
    ULONG Pending = 0;
    for (ULONG r = 0; r < KT_INFLIGHT; r++) {
        LARGE_INTEGER Offset = {.QuadPart = (LONGLONG)(100 + 37 * r) * 512};
        KeInitializeEvent(&KtFlight.Event[r], NotificationEvent, FALSE);
        KtFlight.Iosb[r].Status = STATUS_PENDING;
        PIRP Irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, AtaDiskDevice,
                                                Buffers + r * 3 * 512, 3 * 512, &Offset,
                                                &KtFlight.Event[r], &KtFlight.Iosb[r]);
        KT_ASSERT(Irp != NULL);
        if (IoCallDriver(AtaDiskDevice, Irp) == STATUS_PENDING)
            Pending++;
    }
    for (ULONG r = 0; r < KT_INFLIGHT; r++)
        (void)KeWaitForSingleObject(&KtFlight.Event[r], Executive, KernelMode, FALSE, NULL);
    KT_EXPECT_EQ(Pending, KT_INFLIGHT);
    for (ULONG r = 0; r < KT_INFLIGHT; r++) {
        KT_EXPECT_STATUS(KtFlight.Iosb[r].Status, STATUS_SUCCESS);
        KT_EXPECT_EQ(KtFirstMismatch(Buffers + r * 3 * 512, 100 + 37 * r, 3), -1);
    }
}
