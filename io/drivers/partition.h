/*
 * partition.h - the partition driver (io/drivers/partition.c): the device
 * extension of \Device\Harddisk0\PartitionN and the partition IOCTL, for
 * the driver and its kernel tests (tests/kernel/test_partition.c). Other
 * code reaches a partition with IRPs to its name.
 */
#ifndef PAGODA_PARTITION_H
#define PAGODA_PARTITION_H

#include "ata.h"

/* The four primary entries of a master boot record; extended partitions
 * (types 0x05/0x0F) and GPT disks are not read. */
#define PARTITION_MAX_PRIMARY 4
#define PARTITION_TAG POOL_TAG('P', 'a', 'r', 't')

/* ntdddisk.h: CTL_CODE(IOCTL_DISK_BASE, 1, METHOD_BUFFERED, FILE_READ_ACCESS). */
#define IOCTL_DISK_GET_PARTITION_INFO 0x00074004

/* ntdddisk.h's PARTITION_INFORMATION, as IOCTL_DISK_GET_PARTITION_INFO
 * returns it: offsets in bytes from the start of the disk. */
typedef struct _PARTITION_INFORMATION {
    LARGE_INTEGER StartingOffset;
    LARGE_INTEGER PartitionLength;
    ULONG HiddenSectors; /* sectors before the partition */
    ULONG PartitionNumber; /* 1..4: the N of PartitionN */
    UCHAR PartitionType; /* the MBR's system id (0xDA: Pagoda's pagefile) */
    BOOLEAN BootIndicator;
    BOOLEAN RecognizedPartition;
    BOOLEAN RewritePartition;
} PARTITION_INFORMATION, *PPARTITION_INFORMATION;

/*
 * The extension of a partition device. It is not attached to the disk's
 * device stack (DR0 stays usable on its own): the partition's dispatch
 * routine sends each request to Disk itself, shifted by StartingOffset.
 * Written once at boot, then only read: no lock.
 */
typedef struct _PARTITION_EXTENSION {
    PDEVICE_OBJECT DeviceObject; /* \Device\Harddisk0\PartitionN */
    PDEVICE_OBJECT Disk; /* \Device\Harddisk0\DR0 */
    PARTITION_INFORMATION Info;
} PARTITION_EXTENSION, *PPARTITION_EXTENSION;

/* The partition devices made at boot, by number (1..4; NULL: none). */
extern PDEVICE_OBJECT IoPartitionDevices[PARTITION_MAX_PRIMARY + 1];

#endif
