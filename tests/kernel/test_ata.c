/*
 * test_ata.c - the ATA disk driver (io/drivers/ata.c) through IRPs.
 *
 * The harness (tests/run.py) boots these with an image from
 * tools/mkdisk.py --pattern, the same layout with or without paging: the
 * first 8 MiB (LBA 0-16383, the MBR then the pattern), Partition1 (type
 * 0xDA, the pagefile, 7 MiB in the ktest boot, 129 MiB in the paging boot)
 * and Partition2 (type 0x7F, the pattern) in the last 1 MiB. Pattern
 * sector L holds L as a 64-bit little-endian number, then bytes
 * (L + i) & 0xFF. The tests read and write only outside the pagefile
 * partition, which the kernel may be paging to while they run; its size
 * they learn from the disk (IDENTIFY) and the MBR. After the boot the
 * harness reads the image on the host and checks the sectors
 * ata.write_read_back_and_flush wrote (KtWritten below), so the data is
 * known to have reached the disk file, not only the driver.
 *
 * Requests are built with IoBuildSynchronousFsdRequest (direct I/O: the
 * buffer is locked and described by an MDL) and sent with IoCallDriver;
 * the driver pends them and completes them from its DPC.
 */
#include "../../include/ktest.h"
#include "../../kernel/ke.h"
#include "../../io/drivers/ata.h"
#include "../../ps/ps.h"
#include "../../hal/hal.h"
#include "../../rtl/rtl.h"
#include "ktdefer.h"
#include "ktio.h"

#define KT_TAG POOL_TAG('K', 't', 'A', 't')
#define KT_PATTERN_SECTORS 16384 /* LBA 0-16383: before the pagefile partition */
#define KT_TEST_PART_SECTORS 2048 /* Partition2: the disk's last 1 MiB */
#define KT_WRITE_LBA    1000                /* the host checks 1000-1007 ... */
#define KT_WRITE48_LBA  1010                /* ... and 1010-1011 */
#define KT_SCRATCH_LBA 12000 /* 12000-13999: written by the tests below, */
/* which read nothing there they did not write */

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

/* The disk's sectors, as IDENTIFY counted them (checked against the MBR
 * by ata.identify_geometry_and_length); the pattern is in the first
 * KT_PATTERN_SECTORS and in the last KT_TEST_PART_SECTORS. */
static ULONG64 KtDiskSectors(void)
{
    return KtDisk()->Sectors;
}

static ULONG64 KtTestPartStart(void)
{
    return KtDiskSectors() - KT_TEST_PART_SECTORS;
}

/* One request to the disk, waited for; its status, *Information the bytes. */
static NTSTATUS KtDiskIo(ULONG Major, PVOID Buffer, ULONG Length, ULONG64 Offset,
                         ULONG_PTR *Information)
{
    return KtDeviceIo(AtaDiskDevice, Major, Buffer, Length, Offset, Information);
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

/* The run-time test hook for the mode: DMA (when the boot found it
 * available) or PIO for the requests that start from now on. */
static void KtSetDma(BOOLEAN Dma)
{
    PATA_EXTENSION Ext = KtDisk();
    KIRQL OldIrql;
    KeAcquireSpinLock(&Ext->Lock, &OldIrql);
    Ext->UseDma = Dma && Ext->DmaAvailable;
    KeReleaseSpinLock(&Ext->Lock, OldIrql);
}

static void KtRestoreDma(PVOID Unused)
{
    UNREFERENCED_PARAMETER(Unused);
    KtSetDma(TRUE);
}

/* A page-aligned nonpaged block of Bytes (freed at the end of the test). */
static PUCHAR KtAllocPages(SIZE_T Bytes)
{
    return KtAlloc(ROUND_TO_PAGES(Bytes));
}

static LONG KtFirstDifference(const UCHAR *A, const UCHAR *B, ULONG Bytes)
{
    for (ULONG i = 0; i < Bytes; i++)
        if (A[i] != B[i])
            return (LONG)i;
    return -1;
}

/* The end of the MBR's last partition: the image's size as the host
 * wrote it (tools/mkdisk.py --pattern), 0 if sector 0 cannot be read. */
static ULONG64 KtMbrEnd(void)
{
    PUCHAR Mbr = KtAlloc(ATA_SECTOR_SIZE);
    if (Mbr == NULL || !NT_SUCCESS(KtDiskIo(IRP_MJ_READ, Mbr, ATA_SECTOR_SIZE, 0, NULL)))
        return 0;
    ULONG First, Count;
    memcpy(&First, Mbr + 446 + 16 + 8, sizeof(First));
    memcpy(&Count, Mbr + 446 + 16 + 12, sizeof(Count));
    return (ULONG64)First + Count;
}

KTEST(ata, identify_geometry_and_length)
{
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL);
    /* IDENTIFY's count is the image's: Partition2 ends at its end. */
    KT_EXPECT_EQ(Ext->Sectors, KtMbrEnd());
    KT_EXPECT(Ext->Sectors >= KT_PATTERN_SECTORS + 16 * 8 + KT_TEST_PART_SECTORS);
    KT_EXPECT_EQ(strcmp(Ext->Model, "QEMU HARDDISK"), 0);
    KT_EXPECT(Ext->Lba48);
    /* QEMU's PIIX has BAR4 and its disk offers DMA: the boot chose it. */
    KT_EXPECT(Ext->BusMasterBase != 0);
    KT_EXPECT(Ext->DmaAvailable);
    KT_EXPECT(Ext->UseDma);
    KT_EXPECT_EQ(Ext->PrdTablePhysical % PAGE_SIZE, 0);
    KT_EXPECT(Ext->PrdTablePhysical != 0);
    KT_EXPECT_EQ(AtaDiskDevice->AlignmentRequirement, FILE_BYTE_ALIGNMENT);

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
    KT_EXPECT_EQ(Geometry.Cylinders.QuadPart, Ext->Sectors / (16 * 63));

    Irp = IoBuildDeviceIoControlRequest(IOCTL_DISK_GET_LENGTH_INFO, AtaDiskDevice, NULL, 0,
                                        &Length, sizeof(Length), FALSE, &Event, &Iosb);
    KT_ASSERT(Irp != NULL);
    KT_EXPECT_STATUS(IoCallDriver(AtaDiskDevice, Irp), STATUS_SUCCESS);
    KT_EXPECT_EQ(Length.Length.QuadPart, Ext->Sectors * 512);

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
    const ULONG64 End = KtDiskSectors() * 512;
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 512, End, &Done), STATUS_END_OF_FILE);
    KT_EXPECT_EQ(Done, 0);
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 1024, End - 512, NULL),
                     STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_WRITE, Buffer, 512, End, NULL), STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 512, 100, NULL), STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 100, 0, NULL), STATUS_INVALID_PARAMETER);
    /* The last sector itself is fine. */
    KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 512, End - 512, NULL), STATUS_SUCCESS);
    KT_EXPECT_EQ(KtFirstMismatch(Buffer, KtDiskSectors() - 1, 1), -1);
}

/* The device's interrupt is lost (the ISR drops it) during a DMA read: the
 * watchdog ends the request with STATUS_IO_TIMEOUT after ATA_WATCHDOG_MS,
 * stops the bus master and resets the channel; the next request works. */
/* An interrupt on IRQ 14's vector that the disk did not raise (sent by
 * the local APIC while the disk is idle): the ISR sees the bus master's
 * interrupt bit clear and declines it, the dispatcher counts it as called
 * but not serviced, the driver's counters do not move, and the next
 * request works. */
KTEST(ata, an_interrupt_the_disk_did_not_raise_is_ignored)
{
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL && Ext->BusMasterBase != 0);
    ULONG64 Calls = Ext->Interrupt->InterruptCount, Serviced = Ext->Interrupt->ServiceCount;
    ATA_COUNTERS Before = Ext->Counters;

    HalSendSelfIpi(Ext->Interrupt->Vector);
    ULONG64 Start = KeQueryTickCount();
    while (Ext->Interrupt->InterruptCount == Calls && KeQueryTickCount() - Start < 100)
        __asm__ volatile("pause");
    KT_EXPECT_EQ(Ext->Interrupt->InterruptCount, Calls + 1);
    KT_EXPECT_EQ(Ext->Interrupt->ServiceCount, Serviced);
    KT_EXPECT_EQ(Ext->Counters.Interrupts, Before.Interrupts);
    KT_EXPECT_EQ(Ext->Counters.Requests, Before.Requests);

    PUCHAR Buffer = KtAlloc(ATA_SECTOR_SIZE);
    KT_ASSERT(Buffer != NULL);
    KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, ATA_SECTOR_SIZE, 7 * 512, NULL), STATUS_SUCCESS);
    KT_EXPECT_EQ(KtFirstMismatch(Buffer, 7, 1), -1);
}

KTEST(ata, lost_interrupt_times_out_and_the_disk_recovers)
{
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL);
    KtDefer(KtClearHooks, NULL);
    UCHAR Buffer[512] __attribute__((aligned(16))); /* word-aligned: DMA */
    ULONG64 Timeouts = Ext->Counters.Timeouts, Dma = Ext->Counters.DmaRequests;
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
    KT_EXPECT_EQ(Ext->Counters.DmaRequests - Dma, 2);
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

/* ------------------------------------------------------------------------
 * DMA, alignment, load, cancellation
 * ------------------------------------------------------------------------ */

/* Every sector of the disk outside the pagefile partition (the first
 * 8 MiB and Partition2), 256 at a time (one DMA command each): read what
 * is there, write it changed in every byte (with the LBA in the change,
 * so a write that lands on the wrong sector shows), read that back, put
 * the original back and read it back too, so the disk ends as it began
 * (the other tests and the host check rely on it). The pagefile's sectors
 * are the kernel's: a page written there between our read and our
 * restore would be lost. */
#define KT_CHUNK 256
KTEST(ata, every_sector_outside_the_pagefile_written_and_read_back)
{
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL && Ext->UseDma);
    const ULONG Bytes = KT_CHUNK * ATA_SECTOR_SIZE;
    PUCHAR Original = KtAllocPages(Bytes), Changed = KtAllocPages(Bytes),
           Back = KtAllocPages(Bytes);
    KT_ASSERT(Original && Changed && Back);
    ULONG64 DmaBefore = Ext->Counters.DmaRequests;
    ULONG64 InterruptsBefore = Ext->Counters.Interrupts;
    const ULONG64 Ranges[2][2] = {{0, KT_PATTERN_SECTORS}, {KtTestPartStart(), KtDiskSectors()}};
    const ULONG64 Chunks = (KT_PATTERN_SECTORS + KT_TEST_PART_SECTORS) / KT_CHUNK;

    for (ULONG r = 0; r < 2; r++)
        for (ULONG64 Lba = Ranges[r][0]; Lba < Ranges[r][1]; Lba += KT_CHUNK) {
            ULONG64 Offset = Lba * ATA_SECTOR_SIZE;
            KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_READ, Original, Bytes, Offset, NULL), STATUS_SUCCESS);
            for (ULONG i = 0; i < Bytes; i++)
                Changed[i] = Original[i] ^ (UCHAR)(0x80 | ((Lba + i / ATA_SECTOR_SIZE + i) & 0x7F));
            KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_WRITE, Changed, Bytes, Offset, NULL), STATUS_SUCCESS);
            memset(Back, 0, Bytes);
            KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_READ, Back, Bytes, Offset, NULL), STATUS_SUCCESS);
            KT_ASSERT_EQ(KtFirstDifference(Back, Changed, Bytes), -1);
            KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_WRITE, Original, Bytes, Offset, NULL), STATUS_SUCCESS);
            KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_READ, Back, Bytes, Offset, NULL), STATUS_SUCCESS);
            KT_ASSERT_EQ(KtFirstDifference(Back, Original, Bytes), -1);
        }
    /* 5 requests per chunk, each one DMA command and one interrupt. */
    KT_EXPECT_EQ(Ext->Counters.DmaRequests - DmaBefore, 5 * Chunks);
    KT_EXPECT_EQ(Ext->Counters.Interrupts - InterruptsBefore, 5 * Chunks);
    KT_EXPECT_EQ(KtFirstMismatch(Back + ATA_SECTOR_SIZE, KtDiskSectors() - KT_CHUNK + 1, 1), -1);
}

/* Reads of 1 sector to 256 KiB into buffers at page-aligned, even, odd and
 * page-end addresses: word-aligned ones go by DMA (a PRD entry per page
 * piece), odd ones by PIO; all give the image's bytes. Then writes at an
 * odd and an even address, read back the other way. */
KTEST(ata, transfers_of_every_size_at_odd_alignments)
{
    static const ULONG Sizes[] = {1, 3, 8, 9, 64, 255, 256, 257, 512};
    static const ULONG Skews[] = {0, 2, 1, PAGE_SIZE - 2, PAGE_SIZE - 1};
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL && Ext->UseDma);
    PUCHAR Block = KtAllocPages(512 * ATA_SECTOR_SIZE + PAGE_SIZE);
    PUCHAR Copy = KtAllocPages(257 * ATA_SECTOR_SIZE + PAGE_SIZE);
    KT_ASSERT(Block && Copy);

    for (ULONG z = 0; z < ARRAYSIZE(Sizes); z++)
        for (ULONG k = 0; k < ARRAYSIZE(Skews); k++) {
            ULONG64 Lba = 1 + z * 97 + k * 13;
            PUCHAR Buffer = Block + Skews[k];
            BOOLEAN Odd = (Skews[k] & 1) != 0;
            ULONG64 Dma = Ext->Counters.DmaRequests, Pio = Ext->Counters.PioRequests;
            ULONG_PTR Done = 0;
            KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, Sizes[z] * ATA_SECTOR_SIZE,
                                      Lba * ATA_SECTOR_SIZE, &Done),
                             STATUS_SUCCESS);
            KT_EXPECT_EQ(Done, Sizes[z] * ATA_SECTOR_SIZE);
            KT_EXPECT_EQ(KtFirstMismatch(Buffer, Lba, Sizes[z]), -1);
            KT_EXPECT_EQ(Ext->Counters.DmaRequests - Dma, Odd ? 0 : 1);
            KT_EXPECT_EQ(Ext->Counters.PioRequests - Pio, Odd ? 1 : 0);
        }

    /* 257 sectors written from an odd address (PIO), read into an even
     * one (DMA), and the other way round, in the scratch area. */
    const ULONG Bytes = 257 * ATA_SECTOR_SIZE;
    for (ULONG Round = 0; Round < 2; Round++) {
        PUCHAR From = Round == 0 ? Block + 1 : Block + 2, To = Round == 0 ? Copy + 2 : Copy + 1;
        ULONG64 Offset = (ULONG64)(KT_SCRATCH_LBA + Round * 300) * ATA_SECTOR_SIZE;
        for (ULONG i = 0; i < Bytes; i++)
            From[i] = (UCHAR)(i * 13 + Round + (i >> 9));
        KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_WRITE, From, Bytes, Offset, NULL), STATUS_SUCCESS);
        memset(To, 0, Bytes);
        KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_READ, To, Bytes, Offset, NULL), STATUS_SUCCESS);
        KT_EXPECT_EQ(KtFirstDifference(To, From, Bytes), -1);
    }
}

/* The same sectors through DMA and through PIO (the mode switched at run
 * time): identical bytes, each way round, reads and writes. */
KTEST(ata, dma_and_pio_give_identical_data)
{
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL && Ext->DmaAvailable);
    KtDefer(KtRestoreDma, NULL);
    const ULONG Sectors = 40, Bytes = Sectors * ATA_SECTOR_SIZE;
    PUCHAR ByDma = KtAllocPages(Bytes), ByPio = KtAllocPages(Bytes), Data = KtAllocPages(Bytes);
    KT_ASSERT(ByDma && ByPio && Data);
    ULONG64 Dma = Ext->Counters.DmaRequests, Pio = Ext->Counters.PioRequests;

    KtSetDma(TRUE);
    KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_READ, ByDma, Bytes, 3000 * 512, NULL), STATUS_SUCCESS);
    KtSetDma(FALSE);
    KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_READ, ByPio, Bytes, 3000 * 512, NULL), STATUS_SUCCESS);
    KT_EXPECT_EQ(KtFirstDifference(ByDma, ByPio, Bytes), -1);
    KT_EXPECT_EQ(KtFirstMismatch(ByDma, 3000, Sectors), -1);

    /* Written by PIO, read by DMA; then written by DMA, read by PIO. */
    for (ULONG Round = 0; Round < 2; Round++) {
        ULONG64 Offset = (ULONG64)(KT_SCRATCH_LBA + 700 + Round * 50) * ATA_SECTOR_SIZE;
        for (ULONG i = 0; i < Bytes; i++)
            Data[i] = (UCHAR)((i * 7) ^ (Round ? 0xC3 : 0x3C));
        KtSetDma(Round == 1);
        KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_WRITE, Data, Bytes, Offset, NULL), STATUS_SUCCESS);
        KtSetDma(Round == 0);
        memset(ByDma, 0, Bytes);
        KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_READ, ByDma, Bytes, Offset, NULL), STATUS_SUCCESS);
        KT_EXPECT_EQ(KtFirstDifference(ByDma, Data, Bytes), -1);
    }
    KT_EXPECT_EQ(Ext->Counters.DmaRequests - Dma, 3);
    KT_EXPECT_EQ(Ext->Counters.PioRequests - Pio, 3);
}

/* The device refuses the sector in either mode: one retry, then
 * STATUS_DEVICE_DATA_ERROR, and the next request in that mode works. */
KTEST(ata, device_error_in_dma_and_pio_mode)
{
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL && Ext->DmaAvailable);
    KtDefer(KtRestoreDma, NULL);
    KtDefer(KtClearHooks, NULL);
    PUCHAR Buffer = KtAllocPages(4 * ATA_SECTOR_SIZE);
    KT_ASSERT(Buffer != NULL);
    for (ULONG Dma = 0; Dma < 2; Dma++) {
        ULONG64 Errors = Ext->Counters.Errors, Retries = Ext->Counters.Retries;
        ULONG64 Moved = Dma ? Ext->Counters.DmaRequests : Ext->Counters.PioRequests;
        KtSetDma(Dma);
        KtSetHooks(0, 0x0FFFFF00, FALSE);
        NTSTATUS Status = KtDiskIo(IRP_MJ_READ, Buffer, 4 * 512, 21 * 512, NULL);
        KtSetHooks(0, 0, FALSE);
        KT_EXPECT_STATUS(Status, STATUS_DEVICE_DATA_ERROR);
        KT_EXPECT_EQ(Ext->Counters.Errors, Errors + 1);
        KT_EXPECT_EQ(Ext->Counters.Retries, Retries + 1);
        KT_EXPECT_STATUS(KtDiskIo(IRP_MJ_READ, Buffer, 4 * 512, 21 * 512, NULL), STATUS_SUCCESS);
        KT_EXPECT_EQ(KtFirstMismatch(Buffer, 21, 4), -1);
        KT_EXPECT_EQ((Dma ? Ext->Counters.DmaRequests : Ext->Counters.PioRequests) - Moved, 2);
    }
}

/* 64 requests in flight from 4 threads: each thread sends 16 (reads of the
 * image and writes to its own scratch sectors, word-aligned and odd
 * buffers mixed, so DMA and PIO requests share the queue) before it waits
 * for any; all complete with their data. */
#define KT_THREADS 4
#define KT_PER_THREAD 16
typedef struct _KT_LOAD {
    ULONG Index;
    PUCHAR Buffers; /* KT_PER_THREAD slots of KT_SLOT bytes */
    KEVENT Event[KT_PER_THREAD];
    IO_STATUS_BLOCK Iosb[KT_PER_THREAD];
    ULONG Sent;
} KT_LOAD;
#define KT_SLOT (9 * ATA_SECTOR_SIZE)

static ULONG KtLoadSectors(ULONG r)
{
    return 1 + (r * 5) % 8;
}

static ULONG64 KtLoadLba(ULONG t, ULONG r)
{
    return r & 1 ? KT_SCRATCH_LBA + 1000 + (t * KT_PER_THREAD + r) * 8
                 : 4000 + (t * KT_PER_THREAD + r) * 11;
}

static UCHAR KtLoadByte(ULONG t, ULONG r, ULONG i)
{
    return (UCHAR)(t * 31 + r * 7 + i * 3 + (i >> 9));
}

static void KtLoadThread(PVOID Context)
{
    KT_LOAD *Load = Context;
    ULONG t = Load->Index;
    for (ULONG r = 0; r < KT_PER_THREAD; r++) {
        PUCHAR Buffer = Load->Buffers + r * KT_SLOT + (r % 3 == 0 ? 1 : 0);
        ULONG Bytes = KtLoadSectors(r) * ATA_SECTOR_SIZE;
        LARGE_INTEGER Offset = {.QuadPart = (LONGLONG)(KtLoadLba(t, r) * ATA_SECTOR_SIZE)};
        if (r & 1)
            for (ULONG i = 0; i < Bytes; i++)
                Buffer[i] = KtLoadByte(t, r, i);
        KeInitializeEvent(&Load->Event[r], NotificationEvent, FALSE);
        Load->Iosb[r].Status = STATUS_PENDING;
        PIRP Irp =
            IoBuildSynchronousFsdRequest(r & 1 ? IRP_MJ_WRITE : IRP_MJ_READ, AtaDiskDevice, Buffer,
                                         Bytes, &Offset, &Load->Event[r], &Load->Iosb[r]);
        if (!Irp)
            break;
        (void)IoCallDriver(AtaDiskDevice, Irp);
        Load->Sent++;
    }
    for (ULONG r = 0; r < Load->Sent; r++)
        (void)KeWaitForSingleObject(&Load->Event[r], Executive, KernelMode, FALSE, NULL);
}

KTEST(ata, sixty_four_requests_from_four_threads)
{
    static KT_LOAD Loads[KT_THREADS];
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL);
    HANDLE Handles[KT_THREADS];
    NTSTATUS Created[KT_THREADS];
    ULONG64 Requests = Ext->Counters.Requests;
    PUCHAR Check = KtAllocPages(KT_SLOT);
    KT_ASSERT(Check != NULL);

    for (ULONG t = 0; t < KT_THREADS; t++) {
        memset(&Loads[t], 0, sizeof(Loads[t]));
        Loads[t].Index = t;
        Loads[t].Buffers = KtAllocPages(KT_PER_THREAD * KT_SLOT);
        KT_ASSERT(Loads[t].Buffers != NULL);
    }
    for (ULONG t = 0; t < KT_THREADS; t++)
        Created[t] =
            PsCreateSystemThread(&Handles[t], 0, NULL, NULL, NULL, KtLoadThread, &Loads[t]);
    for (ULONG t = 0; t < KT_THREADS; t++)
        if (NT_SUCCESS(Created[t]))
            KT_EXPECT_STATUS(KtJoinThread(Handles[t]), STATUS_SUCCESS);
    for (ULONG t = 0; t < KT_THREADS; t++) {
        KT_ASSERT_STATUS(Created[t], STATUS_SUCCESS);
        KT_ASSERT_EQ(Loads[t].Sent, KT_PER_THREAD);
        for (ULONG r = 0; r < KT_PER_THREAD; r++) {
            PUCHAR Buffer = Loads[t].Buffers + r * KT_SLOT + (r % 3 == 0 ? 1 : 0);
            ULONG Sectors = KtLoadSectors(r);
            KT_EXPECT_STATUS(Loads[t].Iosb[r].Status, STATUS_SUCCESS);
            KT_EXPECT_EQ(Loads[t].Iosb[r].Information, Sectors * ATA_SECTOR_SIZE);
            if (!(r & 1)) {
                KT_EXPECT_EQ(KtFirstMismatch(Buffer, KtLoadLba(t, r), Sectors), -1);
                continue;
            }
            KT_ASSERT_STATUS(KtDiskIo(IRP_MJ_READ, Check, Sectors * ATA_SECTOR_SIZE,
                                      KtLoadLba(t, r) * ATA_SECTOR_SIZE, NULL),
                             STATUS_SUCCESS);
            for (ULONG i = 0; i < Sectors * ATA_SECTOR_SIZE; i++)
                if (Check[i] != KtLoadByte(t, r, i)) {
                    KT_EXPECT_EQ(i, 0xFFFFFFFF); /* names the first bad byte */
                    break;
                }
        }
    }
    KT_EXPECT_EQ(Ext->Counters.Requests - Requests,
                 KT_THREADS * KT_PER_THREAD + KT_THREADS * KT_PER_THREAD / 2);
}

/* Cancellation: with the DPC held back (DISPATCH_LEVEL), a request goes on
 * the wire and two wait behind it. Cancelling the one on the wire does
 * nothing (it finishes); cancelling a queued one completes it at once with
 * STATUS_CANCELLED; the last one is served as usual. */
KTEST(ata, cancel_takes_a_queued_request_not_the_one_on_the_wire)
{
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL);
    PUCHAR Buffer = KtAllocPages(3 * 64 * ATA_SECTOR_SIZE);
    KT_ASSERT(Buffer != NULL);
    KEVENT Event[3];
    IO_STATUS_BLOCK Iosb[3];
    PIRP Irp[3];
    NTSTATUS Sent[3];
    BOOLEAN Cancelled[2];
    ULONG64 CancelledBefore = Ext->Counters.Cancelled;

    for (ULONG i = 0; i < 3; i++) {
        LARGE_INTEGER Offset = {.QuadPart = (LONGLONG)(5000 + i * 64) * ATA_SECTOR_SIZE};
        KeInitializeEvent(&Event[i], NotificationEvent, FALSE);
        Iosb[i].Status = STATUS_PENDING;
        Iosb[i].Information = 0xDEAD;
        Irp[i] = IoBuildSynchronousFsdRequest(IRP_MJ_READ, AtaDiskDevice,
                                              Buffer + i * 64 * ATA_SECTOR_SIZE,
                                              64 * ATA_SECTOR_SIZE, &Offset, &Event[i], &Iosb[i]);
        KT_ASSERT(Irp[i] != NULL);
    }
    KIRQL OldIrql;
    KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
    for (ULONG i = 0; i < 3; i++)
        Sent[i] = IoCallDriver(AtaDiskDevice, Irp[i]);
    Cancelled[0] = IoCancelIrp(Irp[0]); /* on the wire: no cancel routine */
    Cancelled[1] = IoCancelIrp(Irp[1]); /* queued: its routine completes it */
    KeLowerIrql(OldIrql);
    for (ULONG i = 0; i < 3; i++)
        (void)KeWaitForSingleObject(&Event[i], Executive, KernelMode, FALSE, NULL);

    for (ULONG i = 0; i < 3; i++)
        KT_EXPECT_STATUS(Sent[i], STATUS_PENDING);
    KT_EXPECT(!Cancelled[0]);
    KT_EXPECT(Cancelled[1]);
    KT_EXPECT_STATUS(Iosb[0].Status, STATUS_SUCCESS);
    KT_EXPECT_STATUS(Iosb[1].Status, STATUS_CANCELLED);
    KT_EXPECT_EQ(Iosb[1].Information, 0);
    KT_EXPECT_STATUS(Iosb[2].Status, STATUS_SUCCESS);
    KT_EXPECT_EQ(KtFirstMismatch(Buffer, 5000, 64), -1);
    KT_EXPECT_EQ(KtFirstMismatch(Buffer + 2 * 64 * ATA_SECTOR_SIZE, 5128, 64), -1);
    KT_EXPECT_EQ(Ext->Counters.Cancelled, CancelledBefore + 1);
}

/* IOCTL_ATA_GET_COUNTERS: the driver's counters and mode, as user mode
 * sees them (/bin/disk stats); too small a buffer is refused. */
KTEST(ata, counters_control_reports_the_counters)
{
    PATA_EXTENSION Ext = KtDisk();
    KT_ASSERT(Ext != NULL);
    ATA_COUNTERS Counters;
    IO_STATUS_BLOCK Iosb;
    KEVENT Event;
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    PIRP Irp = IoBuildDeviceIoControlRequest(IOCTL_ATA_GET_COUNTERS, AtaDiskDevice, NULL, 0,
                                             &Counters, sizeof(Counters), FALSE, &Event, &Iosb);
    KT_ASSERT(Irp != NULL);
    KT_EXPECT_STATUS(IoCallDriver(AtaDiskDevice, Irp), STATUS_SUCCESS);
    KT_EXPECT_EQ(Iosb.Information, sizeof(Counters));
    KT_EXPECT_EQ(Counters.Requests, Ext->Counters.Requests);
    KT_EXPECT_EQ(Counters.DmaRequests, Ext->Counters.DmaRequests);
    KT_EXPECT_EQ(Counters.PioRequests, Ext->Counters.PioRequests);
    KT_EXPECT_EQ(Counters.Interrupts, Ext->Counters.Interrupts);
    KT_EXPECT_EQ(Counters.Dma, Ext->UseDma ? 1u : 0u);
    KT_EXPECT(Counters.DmaRequests + Counters.PioRequests + Counters.Flushes <= Counters.Requests);

    Irp = IoBuildDeviceIoControlRequest(IOCTL_ATA_GET_COUNTERS, AtaDiskDevice, NULL, 0, &Counters,
                                        sizeof(Counters) - 8, FALSE, &Event, &Iosb);
    KT_ASSERT(Irp != NULL);
    KT_EXPECT_STATUS(IoCallDriver(AtaDiskDevice, Irp), STATUS_BUFFER_TOO_SMALL);
}
