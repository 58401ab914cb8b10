/*
 * partition.c - the partition driver, \Driver\PartMgr: reads the master
 * boot record of \Device\Harddisk0\DR0 at boot and makes one device per
 * primary partition, \Device\Harddisk0\Partition1..4 (NT's names; NT also
 * has \Device\Harddisk0\Partition0, a link to the whole disk, made here
 * too). tools/mkdisk.py writes one partition of type 0xDA, the pagefile's.
 *
 * A partition device is a window onto the disk. It is not attached to
 * DR0's stack; its dispatch routine checks that a request stays inside the
 * partition, copies its stack location to the next one, moves the byte
 * offset by the partition's start and sends the IRP on to DR0 with
 * IoCallDriver. The MDL, the buffer and the completion are the disk's:
 *
 *   NtReadFile(Partition1, offset 4096)
 *     stack location 2 (PartMgr):  IRP_MJ_READ  ByteOffset 4096
 *     stack location 1 (Atapi):    IRP_MJ_READ  ByteOffset 4096 + 2048 * 512
 *
 * so the partition device's StackSize is one more than the disk's.
 * IOCTL_DISK_GET_PARTITION_INFO and IOCTL_DISK_GET_LENGTH_INFO are
 * answered here; other device controls (the geometry) go to the disk.
 *
 * Not read: extended partitions and GPT (the entry types 0x05, 0x0F and
 * 0xEE are listed and skipped).
 *
 * IRQL: the MBR is read at boot at PASSIVE_LEVEL; dispatch runs wherever
 * IoCallDriver runs (<= DISPATCH_LEVEL) and only reads the extension,
 * which is written once before the device is initialized.
 */
#include "partition.h"
#include "../iop.h"
#include "../../rtl/rtl.h"

#define MBR_SIGNATURE_OFFSET 510
#define MBR_TABLE_OFFSET 446
#define MBR_ENTRY_SIZE 16

PDEVICE_OBJECT IoPartitionDevices[PARTITION_MAX_PRIMARY + 1];

/* Whole sectors inside the partition, as the disk checks its own range:
 * a read at or past the end is STATUS_END_OF_FILE, anything else outside
 * STATUS_INVALID_PARAMETER (the disk checks the sector alignment). */
static NTSTATUS PartpCheckRange(PPARTITION_EXTENSION Ext, BOOLEAN Write, LONGLONG Offset,
                                ULONG Length)
{
#if PAGODA_SOLUTION(10)
    LONGLONG Size = Ext->Info.PartitionLength.QuadPart;
    if (Offset < 0)
        return STATUS_INVALID_PARAMETER;
    if (Offset >= Size && Length != 0)
        return Write ? STATUS_INVALID_PARAMETER : STATUS_END_OF_FILE;
    if (Offset + (LONGLONG)Length > Size)
        return STATUS_INVALID_PARAMETER;
    return STATUS_SUCCESS;
#else
    /* Lab 10: a request must stay inside the partition: a read that
     * starts at or past its end is STATUS_END_OF_FILE (a write there, or
     * any request that starts inside and runs past the end, or a negative
     * offset, is STATUS_INVALID_PARAMETER). Length 0 is always fine. */
    UNREFERENCED_PARAMETER(Ext);
    UNREFERENCED_PARAMETER(Write);
    UNREFERENCED_PARAMETER(Offset);
    UNREFERENCED_PARAMETER(Length);
    return STATUS_SUCCESS;
#endif /* PAGODA_SOLUTION(10) */
}

static NTSTATUS PartpReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PPARTITION_EXTENSION Ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION Sp = IoGetCurrentIrpStackLocation(Irp);
    LONGLONG Offset = Sp->Parameters.Read.ByteOffset.QuadPart; /* Write's: same layout */
    NTSTATUS Status =
        PartpCheckRange(Ext, Sp->MajorFunction == IRP_MJ_WRITE, Offset, Sp->Parameters.Read.Length);
    if (!NT_SUCCESS(Status))
        return IopCompleteIrp(Irp, Status, 0, IO_NO_INCREMENT);
#if PAGODA_SOLUTION(10)
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoGetNextIrpStackLocation(Irp)->Parameters.Read.ByteOffset.QuadPart =
        Offset + Ext->Info.StartingOffset.QuadPart;
    return IoCallDriver(Ext->Disk, Irp);
#else
    /* Lab 10: send the IRP on to the disk (Ext->Disk) with the next stack
     * location a copy of this one whose byte offset is moved by the
     * partition's start, and return what the disk's driver returns. */
    return IopCompleteIrp(Irp, STATUS_NOT_IMPLEMENTED, 0, IO_NO_INCREMENT);
#endif /* PAGODA_SOLUTION(10) */
}

static NTSTATUS PartpDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PPARTITION_EXTENSION Ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION Sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG OutLength = Sp->Parameters.DeviceIoControl.OutputBufferLength;
    PVOID Out = Irp->AssociatedIrp.SystemBuffer;

    switch (Sp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_DISK_GET_PARTITION_INFO:
        if (OutLength < sizeof(PARTITION_INFORMATION))
            return IopCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0, IO_NO_INCREMENT);
        memcpy(Out, &Ext->Info, sizeof(PARTITION_INFORMATION));
        return IopCompleteIrp(Irp, STATUS_SUCCESS, sizeof(PARTITION_INFORMATION), IO_NO_INCREMENT);
    case IOCTL_DISK_GET_LENGTH_INFO:
        if (OutLength < sizeof(GET_LENGTH_INFORMATION))
            return IopCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0, IO_NO_INCREMENT);
        ((PGET_LENGTH_INFORMATION)Out)->Length = Ext->Info.PartitionLength;
        return IopCompleteIrp(Irp, STATUS_SUCCESS, sizeof(GET_LENGTH_INFORMATION), IO_NO_INCREMENT);
    default: /* the geometry: the disk's */
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(Ext->Disk, Irp);
    }
}

/* A flush is the disk's. */
static NTSTATUS PartpFlush(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PPARTITION_EXTENSION Ext = DeviceObject->DeviceExtension;
    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(Ext->Disk, Irp);
}

/* ------------------------------------------------------------------------
 * Boot: the MBR and the devices
 * ------------------------------------------------------------------------ */

/* Sector 0 of Disk into Sector (512 bytes of nonpaged pool). */
static NTSTATUS PartpReadMbr(PDEVICE_OBJECT Disk, PUCHAR Sector)
{
    KEVENT Event;
    IO_STATUS_BLOCK Iosb;
    LARGE_INTEGER Zero = {.QuadPart = 0};
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    PIRP Irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, Disk, Sector, ATA_SECTOR_SIZE, &Zero,
                                            &Event, &Iosb);
    if (!Irp)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS Status = IoCallDriver(Disk, Irp);
    if (Status == STATUS_PENDING) {
        (void)KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, NULL);
        Status = Iosb.Status;
    }
    return Status;
}

/* Entry Number (1..4) of the table in Mbr, as NT describes a partition;
 * FALSE for an empty, extended, protective-GPT or out-of-disk entry. */
static BOOLEAN PartpDecodeEntry(const UCHAR *Mbr, ULONG Number, ULONG64 DiskSectors,
                                PPARTITION_INFORMATION Info)
{
#if PAGODA_SOLUTION(10)
    const UCHAR *Entry = Mbr + MBR_TABLE_OFFSET + (Number - 1) * MBR_ENTRY_SIZE;
    ULONG First, Count;
    memcpy(&First, Entry + 8, sizeof(First));
    memcpy(&Count, Entry + 12, sizeof(Count));
    UCHAR Type = Entry[4];
    if (Type == 0 || Count == 0)
        return FALSE;
    if (Type == 0x05 || Type == 0x0F || Type == 0xEE || First == 0 ||
        (ULONG64)First + Count > DiskSectors) {
        KdPrintBoot("PartMgr: partition %u (type 0x%02x, LBA %u, %u sectors) not used\n", Number,
                    Type, First, Count);
        return FALSE;
    }
    memset(Info, 0, sizeof(*Info));
    Info->StartingOffset.QuadPart = (LONGLONG)First * ATA_SECTOR_SIZE;
    Info->PartitionLength.QuadPart = (LONGLONG)Count * ATA_SECTOR_SIZE;
    Info->HiddenSectors = First;
    Info->PartitionNumber = Number;
    Info->PartitionType = Type;
    Info->BootIndicator = Entry[0] == 0x80;
    Info->RecognizedPartition = TRUE;
    return TRUE;
#else
    /* Lab 10: entry Number (1..4) of the MBR's partition table (16 bytes
     * each from offset 446: byte 0 0x80 when bootable, byte 4 the type,
     * bytes 8-11 the first LBA, bytes 12-15 the number of sectors, both
     * little-endian). Fill *Info (offsets in bytes) and return TRUE for a
     * partition this driver can serve; FALSE for an empty entry, an
     * extended (0x05, 0x0F) or protective-GPT (0xEE) one, or one that
     * starts at LBA 0 or does not fit in the disk's DiskSectors. */
    UNREFERENCED_PARAMETER(Mbr);
    UNREFERENCED_PARAMETER(Number);
    UNREFERENCED_PARAMETER(DiskSectors);
    UNREFERENCED_PARAMETER(Info);
    return FALSE;
#endif /* PAGODA_SOLUTION(10) */
}

/* \Device\Harddisk0\Partition<Number> for Info, sending to Disk. */
static NTSTATUS PartpCreateDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Disk,
                                  const PARTITION_INFORMATION *Info)
{
    static UNICODE_STRING Names[PARTITION_MAX_PRIMARY + 1] = {
        {0, 0, NULL},
        RTL_CONSTANT_STRING(u"\\Device\\Harddisk0\\Partition1"),
        RTL_CONSTANT_STRING(u"\\Device\\Harddisk0\\Partition2"),
        RTL_CONSTANT_STRING(u"\\Device\\Harddisk0\\Partition3"),
        RTL_CONSTANT_STRING(u"\\Device\\Harddisk0\\Partition4"),
    };
    PDEVICE_OBJECT Device;
    NTSTATUS Status =
        IoCreateDevice(DriverObject, sizeof(PARTITION_EXTENSION), &Names[Info->PartitionNumber],
                       FILE_DEVICE_DISK, 0, FALSE, &Device);
    if (!NT_SUCCESS(Status))
        return Status;
    PPARTITION_EXTENSION Ext = Device->DeviceExtension;
    Ext->DeviceObject = Device;
    Ext->Disk = Disk;
    Ext->Info = *Info;
    Device->StackSize = (CCHAR)(Disk->StackSize + 1);
    Device->AlignmentRequirement = Disk->AlignmentRequirement;
    Device->Flags |= DO_DIRECT_IO;
    Device->Flags &= ~DO_DEVICE_INITIALIZING;
    IoPartitionDevices[Info->PartitionNumber] = Device;
    KdPrintBoot("PartMgr: \\Device\\Harddisk0\\Partition%u: type 0x%02x, LBA %u, %llu sectors "
                "(%llu MiB)\n",
                Info->PartitionNumber, Info->PartitionType, Info->HiddenSectors,
                (ULONG64)Info->PartitionLength.QuadPart / ATA_SECTOR_SIZE,
                (ULONG64)Info->PartitionLength.QuadPart >> 20);
    return STATUS_SUCCESS;
}

/* The devices made so far, deleted (DriverEntry failed). */
static void PartpDeleteDevices(void)
{
    for (ULONG Number = 1; Number <= PARTITION_MAX_PRIMARY; Number++) {
        if (IoPartitionDevices[Number])
            IoDeleteDevice(IoPartitionDevices[Number]);
        IoPartitionDevices[Number] = NULL;
    }
}

/* One device per usable entry of the MBR in Mbr. */
static NTSTATUS PartpCreateDevices(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Disk,
                                   const UCHAR *Mbr)
{
    PATA_EXTENSION DiskExt = Disk->DeviceExtension;
    PARTITION_INFORMATION Info;
    for (ULONG Number = 1; Number <= PARTITION_MAX_PRIMARY; Number++) {
        if (!PartpDecodeEntry(Mbr, Number, DiskExt->Sectors, &Info))
            continue;
        NTSTATUS Status = PartpCreateDevice(DriverObject, Disk, &Info);
        if (!NT_SUCCESS(Status))
            return Status;
    }
    return STATUS_SUCCESS;
}

static NTSTATUS PartpDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    static UNICODE_STRING DiskName = RTL_CONSTANT_STRING(u"\\Device\\Harddisk0\\DR0");
    static UNICODE_STRING WholeDisk = RTL_CONSTANT_STRING(u"\\Device\\Harddisk0\\Partition0");
    PDEVICE_OBJECT Disk = AtaDiskDevice;
    UNREFERENCED_PARAMETER(RegistryPath);

    IopSetOpenCloseDispatch(DriverObject);
    DriverObject->MajorFunction[IRP_MJ_READ] = PartpReadWrite;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = PartpReadWrite;
    DriverObject->MajorFunction[IRP_MJ_FLUSH_BUFFERS] = PartpFlush;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = PartpDeviceControl;

    PUCHAR Mbr = ExAllocatePoolWithTag(NonPagedPool, ATA_SECTOR_SIZE, PARTITION_TAG);
    if (!Mbr)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS Status = PartpReadMbr(Disk, Mbr);
    if (NT_SUCCESS(Status) &&
        (Mbr[MBR_SIGNATURE_OFFSET] != 0x55 || Mbr[MBR_SIGNATURE_OFFSET + 1] != 0xAA)) {
        KdPrintBoot("PartMgr: no master boot record on DR0 (no 0x55AA): no partitions\n");
    } else if (NT_SUCCESS(Status)) {
        Status = PartpCreateDevices(DriverObject, Disk, Mbr);
    }
    ExFreePoolWithTag(Mbr, PARTITION_TAG);
    if (NT_SUCCESS(Status))
        Status = IoCreateSymbolicLink(&WholeDisk, &DiskName);
    if (!NT_SUCCESS(Status))
        PartpDeleteDevices();
    return Status;
}

void IoInitializePartitionDriver(void)
{
    static const UNICODE_STRING Name = RTL_CONSTANT_STRING(u"\\Driver\\PartMgr");
    if (!AtaDiskDevice)
        return;
    NTSTATUS Status = IoCreateDriver(&Name, PartpDriverEntry);
    if (!NT_SUCCESS(Status))
        DbgPrint("PartMgr: the partitions of DR0 are not available: 0x%08x\n", (ULONG)Status);
}
