/*
 * ntddata.h - the interface of the ATA disk, \Device\Harddisk0\DR0
 * (io/drivers/ata.c), shared by the driver, user programs (/bin/disk,
 * /bin/ubench) and the tests, as NT's ntdddisk.h and ntddscsi.h describe a
 * disk's control codes.
 *
 * Reads and writes are whole 512-byte sectors at sector-aligned offsets
 * (docs/disk.md lists the statuses). The two controls of ntdddisk.h tell
 * the disk's size; IOCTL_ATA_GET_COUNTERS is Pagoda's own and returns what
 * the driver counted since boot.
 */
#ifndef PAGODA_NTDDATA_H
#define PAGODA_NTDDATA_H

#include "ntapi.h" /* CTL_CODE, METHOD_*, LARGE_INTEGER */

#define ATA_DISK_DEVICE_NAME u"\\Device\\Harddisk0\\DR0"
#define ATA_DISK_DOS_NAME    u"\\??\\PhysicalDrive0"

/* IOCTLs of ntdddisk.h (FILE_DEVICE_DISK 7, METHOD_BUFFERED). */
#define FILE_DEVICE_DISK 0x00000007
#define IOCTL_DISK_GET_DRIVE_GEOMETRY 0x00070000
#define IOCTL_DISK_GET_LENGTH_INFO    0x0007405C
/* Output: an ATA_COUNTERS. */
#define IOCTL_ATA_GET_COUNTERS CTL_CODE(FILE_DEVICE_DISK, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef enum _MEDIA_TYPE { Unknown = 0, FixedMedia = 12 } MEDIA_TYPE;
typedef struct _DISK_GEOMETRY {
    LARGE_INTEGER Cylinders;
    MEDIA_TYPE MediaType;
    ULONG TracksPerCylinder;
    ULONG SectorsPerTrack;
    ULONG BytesPerSector;
} DISK_GEOMETRY, *PDISK_GEOMETRY;
typedef struct _GET_LENGTH_INFORMATION {
    LARGE_INTEGER Length;
} GET_LENGTH_INFORMATION, *PGET_LENGTH_INFORMATION;

/* What the driver counts (IOCTL_ATA_GET_COUNTERS, /bin/disk stats, the
 * tests). Every field only grows. */
typedef struct _ATA_COUNTERS {
    ULONG64 Requests;               /* IRPs started on the device */
    ULONG64 DmaRequests;            /* ... reads and writes moved by bus-master DMA */
    ULONG64 PioRequests;            /* ... reads and writes moved by PIO */
    ULONG64 SectorsRead;
    ULONG64 SectorsWritten;
    ULONG64 Flushes;
    ULONG64 Interrupts;             /* the ISR claimed one */
    ULONG64 Spurious;               /* ... with no command in flight: ignored */
    ULONG64 Retries;                /* a command repeated after a device error */
    ULONG64 Errors;                 /* requests ended with STATUS_DEVICE_DATA_ERROR */
    ULONG64 Timeouts;               /* requests ended by the watchdog */
    ULONG64 Cancelled;              /* queued IRPs ended with STATUS_CANCELLED */
    ULONG Dma;                      /* 1: bus-master DMA is the mode now, 0: PIO */
    ULONG Reserved;
} ATA_COUNTERS, *PATA_COUNTERS;

#endif /* PAGODA_NTDDATA_H */
