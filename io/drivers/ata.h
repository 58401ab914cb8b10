/*
 * ata.h - the ATA disk driver's device extension and PRD format
 * (io/drivers/ata.c), for the driver itself and its kernel tests
 * (tests/kernel/test_ata.c). Nothing outside io/ and the tests includes it:
 * other code talks to the disk with IRPs to \Device\Harddisk0\DR0, whose
 * controls and counters (ATA_COUNTERS) are in include/ntddata.h.
 */
#ifndef PAGODA_ATA_H
#define PAGODA_ATA_H

#include "../io.h"
#include "../../include/ntddata.h" /* the IOCTLs, DISK_GEOMETRY, ATA_COUNTERS */

#define ATA_SECTOR_SIZE 512
/* Sectors one command moves: the LBA28 maximum (a count of 0 means 256). */
#define ATA_MAX_SECTORS_PER_COMMAND 256
/* The watchdog: a command the device has not answered in this long ends
 * the request with STATUS_IO_TIMEOUT and resets the channel. */
#define ATA_WATCHDOG_MS 2000
#define ATA_TAG POOL_TAG('A', 't', 'a', ' ')

/* DEVICE_OBJECT.AlignmentRequirement values (wdm.h): a mask of the buffer
 * address bits that must be 0. */
#ifndef FILE_BYTE_ALIGNMENT
#define FILE_BYTE_ALIGNMENT 0x00000000
#define FILE_WORD_ALIGNMENT 0x00000001
#endif

/* Bus-master DMA (PIIX): a physical region descriptor, 8 bytes, dword
 * aligned; the table must not cross a 64 KiB boundary, nor may the region
 * one entry describes. Count 0 means 64 KiB; bit 15 of Flags ends the
 * table. A command of ATA_MAX_SECTORS_PER_COMMAND sectors spans at most 33
 * pages: one entry per page piece. */
typedef struct _ATA_PRD {
    ULONG Base; /* physical, even */
    USHORT ByteCount; /* even */
    USHORT Flags; /* ATA_PRD_END_OF_TABLE on the last */
} ATA_PRD, *PATA_PRD;
STATIC_ASSERT(sizeof(ATA_PRD) == 8);
#define ATA_PRD_END_OF_TABLE 0x8000
#define ATA_PRD_ENTRIES (ATA_MAX_SECTORS_PER_COMMAND * ATA_SECTOR_SIZE / PAGE_SIZE + 1)

/*
 * The device extension of \Device\Harddisk0\DR0.
 *
 * Locking: Lock (a spin lock, DISPATCH_LEVEL) covers the queue, the
 * request state, the mode and the counters; the DPC, the watchdog DPC,
 * the cancel routine and the dispatch routines take it. The ISR touches
 * only IsrStatus/IsrBusMasterStatus/IsrPending and the bus-master command
 * register (stopping the engine), under the interrupt's own lock (the DPC
 * reads them through KeSynchronizeExecution).
 */
typedef struct _ATA_EXTENSION {
    PDEVICE_OBJECT DeviceObject;
    USHORT CommandBase;             /* 0x1F0: data, error, count, LBA, drive, status/command */
    USHORT ControlBase;             /* 0x3F6: alternate status / device control */
    USHORT BusMasterBase; /* PIIX BAR4 (0: none): the channel's bus-master registers */
    UCHAR BusMasterCapable; /* bits 5-6 of its status register, kept on every write */
    BOOLEAN DmaAvailable; /* BAR4, IDENTIFY says DMA, a PRD table below 4 GiB */
    BOOLEAN UseDma; /* the mode (Lock): DmaAvailable and no "ata=pio"; tests flip it */
    PATA_PRD PrdTable; /* one nonpaged page: ATA_PRD_ENTRIES entries */
    ULONG PrdTablePhysical;
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
    PUCHAR Buffer; /* PIO: where the next sector goes / comes from */
    ULONG Offset; /* bytes of the request done, from the MDL's start */
    BOOLEAN RequestDma; /* this request moves by DMA (else PIO) */
    ULONG64 Lba;                    /* the next sector of the request */
    ULONG SectorsLeft;              /* in the request, from Lba on */
    ULONG CommandLeft;              /* in the command on the wire */
    ULONG CommandSectors;           /* the command's whole count */
    ULONG Retried;                  /* retries of this command */
    ULONG64 ArmedAt;                /* interrupt time the watchdog was last set */
    ULONG WatchdogExtensions; /* periods added while the device said busy */
    BOOLEAN LastCommandLba48;       /* the last command used the EXT form */
    KTIMER Watchdog;
    KDPC WatchdogDpc;
    /* ISR -> DPC (the interrupt's lock) */
    UCHAR IsrStatus;
    UCHAR IsrBusMasterStatus;
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
