/*
 * ata.h - the ATA disk driver's device extension and counters
 * (io/drivers/ata.c), for the driver itself and its kernel tests
 * (tests/kernel/test_ata.c). Nothing outside io/ and the tests includes it:
 * other code talks to the disk with IRPs to \Device\Harddisk0\DR0.
 */
#ifndef PAGODA_ATA_H
#define PAGODA_ATA_H

#include "../io.h"

#define ATA_SECTOR_SIZE 512
/* Sectors one command moves: the LBA28 maximum (a count of 0 means 256). */
#define ATA_MAX_SECTORS_PER_COMMAND 256
/* The watchdog: a command the device has not answered in this long ends
 * the request with STATUS_IO_TIMEOUT and resets the channel. */
#define ATA_WATCHDOG_MS 2000
#define ATA_TAG POOL_TAG('A', 't', 'a', ' ')

/* IOCTLs of ntdddisk.h (FILE_DEVICE_DISK 7, METHOD_BUFFERED). */
#define FILE_DEVICE_DISK 0x00000007
#define IOCTL_DISK_GET_DRIVE_GEOMETRY 0x00070000
#define IOCTL_DISK_GET_LENGTH_INFO    0x0007405C

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

/* What the driver counts (the shell's disk line, the tests). */
typedef struct _ATA_COUNTERS {
    ULONG64 Requests;               /* IRPs started on the device */
    ULONG64 SectorsRead;
    ULONG64 SectorsWritten;
    ULONG64 Flushes;
    ULONG64 Interrupts;             /* the ISR claimed one */
    ULONG64 Spurious;               /* ... with no command in flight: ignored */
    ULONG64 Retries;                /* a command repeated after a device error */
    ULONG64 Errors;                 /* requests ended with STATUS_DEVICE_DATA_ERROR */
    ULONG64 Timeouts;               /* requests ended by the watchdog */
} ATA_COUNTERS;

/*
 * The device extension of \Device\Harddisk0\DR0.
 *
 * Locking: Lock (a spin lock, DISPATCH_LEVEL) covers the queue, the
 * request state and the counters; the DPC, the watchdog DPC and the
 * dispatch routines take it. The ISR touches only IsrStatus/IsrPending,
 * under the interrupt's own lock (the DPC reads them through
 * KeSynchronizeExecution).
 */
typedef struct _ATA_EXTENSION {
    PDEVICE_OBJECT DeviceObject;
    USHORT CommandBase;             /* 0x1F0: data, error, count, LBA, drive, status/command */
    USHORT ControlBase;             /* 0x3F6: alternate status / device control */
    USHORT BusMasterBase;           /* PIIX BAR4 (0: none): its status register says "ours" */
    PKINTERRUPT Interrupt;
    /* IDENTIFY DEVICE */
    CHAR Model[41];
    CHAR Serial[21];
    BOOLEAN Lba48;
    ULONG64 Sectors;
    /* the queue and the request in progress (Lock) */
    KSPIN_LOCK Lock;
    LIST_ENTRY Queue;               /* IRPs waiting, through Tail.Overlay.ListEntry */
    PIRP Current;
    PUCHAR Buffer;                  /* where the next sector goes / comes from */
    ULONG64 Lba;                    /* the next sector of the request */
    ULONG SectorsLeft;              /* in the request, from Lba on */
    ULONG CommandLeft;              /* in the command on the wire */
    ULONG CommandSectors;           /* the command's whole count */
    ULONG Retried;                  /* retries of this command */
    ULONG64 ArmedAt;                /* interrupt time the watchdog was last set */
    BOOLEAN LastCommandLba48;       /* the last command used the EXT form */
    KTIMER Watchdog;
    KDPC WatchdogDpc;
    /* ISR -> DPC (the interrupt's lock) */
    UCHAR IsrStatus;
    BOOLEAN IsrPending;
    /* test hooks (Lock): drop the next N interrupts as if the device never
     * answered; send the next commands to this LBA instead (0: off), which
     * the device rejects when it is past the end */
    ULONG TestDropInterrupts;
    ULONG64 TestForceLba;
    BOOLEAN TestUseLba48;           /* the EXT commands even below 2^28 */
    ATA_COUNTERS Counters;
} ATA_EXTENSION, *PATA_EXTENSION;

/* The disk's device, or NULL when there is none (boot found no ATA disk). */
extern PDEVICE_OBJECT AtaDiskDevice;

#endif /* PAGODA_ATA_H */
