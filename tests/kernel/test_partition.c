/*
 * test_partition.c - the partition driver (io/drivers/partition.c) on the
 * harness's disk image (tests/run.py, tools/mkdisk.py --pattern), the same
 * layout in every boot: Partition1 (type 0xDA, the pagefile) from LBA
 * 16384, as large as the boot's pagefile, and Partition2 (type 0x7F) in
 * the disk's last 1 MiB, whose sector L (as everything before LBA 16384)
 * holds L as a 64-bit little-endian number, then bytes (L + i) & 0xFF.
 * Requests go to \Device\Harddisk0\Partition2 with IoCallDriver; the
 * driver forwards them to DR0, shifted by the partition's start.
 * Partition1 is only asked what it is: the kernel may be paging to it.
 */
#include "../../include/ktest.h"
#include "../../kernel/ke.h"
#include "../../io/drivers/partition.h"
#include "../../ob/ob.h"
#include "../../rtl/rtl.h"
#include "ktio.h"

#define KT_TAG POOL_TAG('K', 't', 'P', 't')
#define KT_PAGEFILE_START 16384 /* tools/mkdisk.py's PATTERN_AREA */
#define KT_PART_SECTORS 2048 /* Partition2, tools/mkdisk.py's TEST_PARTITION */
#define KT_PART_START (KtDiskSectors() - KT_PART_SECTORS)
#define KT_SCRATCH 100 /* partition sector the write test uses */

static UCHAR KtPattern(ULONG64 Lba, ULONG i)
{
    return i < 8 ? (UCHAR)(Lba >> (8 * i)) : (UCHAR)(Lba + i);
}

/* The disk's sectors as IDENTIFY counted them (ata.identify_geometry_and_length
 * checks them against the image). */
static ULONG64 KtDiskSectors(void)
{
    return ((PATA_EXTENSION)AtaDiskDevice->DeviceExtension)->Sectors;
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

static BOOLEAN KtPartitionInfo(PDEVICE_OBJECT Part, PPARTITION_INFORMATION Info)
{
    ULONG_PTR Done = 0;
    return NT_SUCCESS(KtDeviceControl(Part, IOCTL_DISK_GET_PARTITION_INFO, NULL, 0, Info,
                                      sizeof(*Info), &Done)) &&
        Done == sizeof(*Info);
}

KTEST(partition, the_mbr_gives_a_pagefile_and_a_test_partition)
{
    PDEVICE_OBJECT Pagefile = IoPartitionDevices[1], Part = IoPartitionDevices[2];
    KT_ASSERT(AtaDiskDevice != NULL && Pagefile != NULL && Part != NULL);
    for (ULONG n = 3; n <= PARTITION_MAX_PRIMARY; n++)
        KT_EXPECT(IoPartitionDevices[n] == NULL);
    KT_EXPECT_EQ(Part->StackSize, AtaDiskDevice->StackSize + 1);
    KT_EXPECT(Part->Flags & DO_DIRECT_IO);
    KT_EXPECT(!(Part->Flags & DO_DEVICE_INITIALIZING));

    /* Partition1: the pagefile's, from LBA 16384 to Partition2. */
    PARTITION_INFORMATION Info;
    KT_ASSERT(KtPartitionInfo(Pagefile, &Info));
    KT_EXPECT_EQ(Info.StartingOffset.QuadPart, KT_PAGEFILE_START * 512LL);
    KT_EXPECT_EQ(Info.PartitionLength.QuadPart, (KT_PART_START - KT_PAGEFILE_START) * 512LL);
    KT_EXPECT_EQ(Info.PartitionNumber, 1);
    KT_EXPECT_EQ(Info.PartitionType, 0xDA);

    KT_ASSERT(KtPartitionInfo(Part, &Info));
    KT_EXPECT_EQ(Info.StartingOffset.QuadPart, KT_PART_START * 512LL);
    KT_EXPECT_EQ(Info.PartitionLength.QuadPart, KT_PART_SECTORS * 512LL);
    KT_EXPECT_EQ(Info.HiddenSectors, KT_PART_START);
    KT_EXPECT_EQ(Info.PartitionNumber, 2);
    KT_EXPECT_EQ(Info.PartitionType, 0x7F);
    KT_EXPECT(!Info.BootIndicator);
    KT_EXPECT_STATUS(KtDeviceControl(Part, IOCTL_DISK_GET_PARTITION_INFO, NULL, 0, &Info, 8, NULL),
                     STATUS_BUFFER_TOO_SMALL);

    GET_LENGTH_INFORMATION Length;
    KT_EXPECT_STATUS(
        KtDeviceControl(Part, IOCTL_DISK_GET_LENGTH_INFO, NULL, 0, &Length, sizeof(Length), NULL),
        STATUS_SUCCESS);
    KT_EXPECT_EQ(Length.Length.QuadPart, KT_PART_SECTORS * 512LL);

    /* The geometry is the disk's: the request goes down to DR0. */
    DISK_GEOMETRY Geometry;
    KT_EXPECT_STATUS(KtDeviceControl(Part, IOCTL_DISK_GET_DRIVE_GEOMETRY, NULL, 0, &Geometry,
                                     sizeof(Geometry), NULL),
                     STATUS_SUCCESS);
    KT_EXPECT_EQ(Geometry.BytesPerSector, 512);
    KT_EXPECT_EQ(Geometry.Cylinders.QuadPart, KtDiskSectors() / (16 * 63));
}

/* \Device\Harddisk0\Partition0 is a link to the whole disk, as on NT. */
KTEST(partition, partition0_names_the_whole_disk)
{
    static const UNICODE_STRING Name = RTL_CONSTANT_STRING(u"\\Device\\Harddisk0\\Partition0");
    PVOID Found;
    KT_ASSERT(AtaDiskDevice != NULL);
    KT_ASSERT_STATUS(ObReferenceObjectByName(&Name, 0, IoDeviceObjectType, KernelMode, &Found),
                     STATUS_SUCCESS);
    KT_EXPECT(Found == AtaDiskDevice);
    ObDereferenceObject(Found);
}

/* Partition offset 5 * 512 is disk sector start + 5: the pattern says which. */
KTEST(partition, a_read_is_shifted_by_the_partition_start)
{
    PDEVICE_OBJECT Part = IoPartitionDevices[2];
    KT_ASSERT(Part != NULL);
    PUCHAR Block = KtAlloc(3 * 512 + 8);
    KT_ASSERT(Block != NULL);
    PUCHAR Buffer = Block + 2;              /* odd, as a user buffer may be */
    ULONG_PTR Done = 0;
    KT_ASSERT_STATUS(KtDeviceIo(Part, IRP_MJ_READ, Buffer, 3 * 512, 5 * 512, &Done),
                     STATUS_SUCCESS);
    KT_EXPECT_EQ(Done, 3 * 512);
    LONG Bad = -1;
    for (ULONG s = 0; s < 3 && Bad < 0; s++)
        for (ULONG i = 0; i < 512; i++)
            if (Buffer[s * 512 + i] != KtPattern(KT_PART_START + 5 + s, i)) {
                Bad = (LONG)(s * 512 + i);
                break;
            }
    KT_EXPECT_EQ(Bad, -1);

    /* The last sector of the partition is the last of the disk. */
    KT_ASSERT_STATUS(
        KtDeviceIo(Part, IRP_MJ_READ, Buffer, 512, (KT_PART_SECTORS - 1) * 512ULL, NULL),
        STATUS_SUCCESS);
    ULONG64 Lba;
    memcpy(&Lba, Buffer, sizeof(Lba));
    KT_EXPECT_EQ(Lba, KtDiskSectors() - 1);
}

/* A request may not leave the partition, whatever the disk beyond it. */
KTEST(partition, requests_stay_inside_the_partition)
{
    PDEVICE_OBJECT Part = IoPartitionDevices[2];
    KT_ASSERT(Part != NULL);
    PUCHAR Buffer = KtAlloc(2 * 512);
    KT_ASSERT(Buffer != NULL);
    const ULONG64 End = KT_PART_SECTORS * 512ULL;

    KT_EXPECT_STATUS(KtDeviceIo(Part, IRP_MJ_READ, Buffer, 512, End, NULL), STATUS_END_OF_FILE);
    KT_EXPECT_STATUS(KtDeviceIo(Part, IRP_MJ_READ, Buffer, 2 * 512, End - 512, NULL),
                     STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(KtDeviceIo(Part, IRP_MJ_WRITE, Buffer, 512, End, NULL),
                     STATUS_INVALID_PARAMETER);
    /* Alignment is the disk's to check: the request reaches it and fails there. */
    KT_EXPECT_STATUS(KtDeviceIo(Part, IRP_MJ_READ, Buffer, 512, 100, NULL),
                     STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(KtDeviceIo(Part, IRP_MJ_FLUSH_BUFFERS, NULL, 0, 0, NULL), STATUS_SUCCESS);
}

static void KtRestoreScratch(PVOID Saved)
{
    KT_EXPECT_STATUS(KtDeviceIo(AtaDiskDevice, IRP_MJ_WRITE, Saved, 512,
                                (KT_PART_START + KT_SCRATCH) * 512ULL, NULL),
                     STATUS_SUCCESS);
}

/* Written through the partition, read back through DR0 at start + offset. */
KTEST(partition, a_write_lands_at_the_start_plus_the_offset)
{
    PDEVICE_OBJECT Part = IoPartitionDevices[2];
    KT_ASSERT(AtaDiskDevice != NULL && Part != NULL);
    PUCHAR Saved = KtAlloc(512), Buffer = KtAlloc(512);
    KT_ASSERT(Saved != NULL && Buffer != NULL);
    const ULONG64 DiskOffset = (KT_PART_START + KT_SCRATCH) * 512ULL;
    KT_ASSERT_STATUS(KtDeviceIo(AtaDiskDevice, IRP_MJ_READ, Saved, 512, DiskOffset, NULL),
                     STATUS_SUCCESS);
    KtDefer(KtRestoreScratch, Saved);

    for (ULONG i = 0; i < 512; i++)
        Buffer[i] = (UCHAR)(i * 13 + 1);
    KT_ASSERT_STATUS(KtDeviceIo(Part, IRP_MJ_WRITE, Buffer, 512, KT_SCRATCH * 512ULL, NULL),
                     STATUS_SUCCESS);
    memset(Buffer, 0, 512);
    KT_ASSERT_STATUS(KtDeviceIo(AtaDiskDevice, IRP_MJ_READ, Buffer, 512, DiskOffset, NULL),
                     STATUS_SUCCESS);
    ULONG Bad = 512;
    for (ULONG i = 0; i < 512 && Bad == 512; i++)
        if (Buffer[i] != (UCHAR)(i * 13 + 1))
            Bad = i;
    KT_EXPECT_EQ(Bad, 512);
}
