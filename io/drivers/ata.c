/*
 * ata.c - the ATA disk driver: the first disk of QEMU's PIIX IDE controller
 * (primary channel, ports 0x1F0-0x1F7 and 0x3F6, ISA IRQ 14, bus-master
 * registers at PCI BAR4), as \Device\Harddisk0\DR0 with the link
 * \??\PhysicalDrive0. docs/disk.md is its chapter.
 *
 * Hardware (ATA/ATAPI-6, T13/1410D: 6.2 registers, 8.15 IDENTIFY DEVICE,
 * 8.23/8.24 READ DMA (EXT), 8.27/8.60 READ/WRITE SECTOR(S) (EXT), 8.45/8.46
 * WRITE DMA (EXT), 8.11 FLUSH CACHE (EXT), 9.5-9.7 the PIO data-in and
 * data-out protocols, 9.10 the DMA protocol; the PIIX3/4 datasheet, "Bus
 * Master IDE Registers" and the physical region descriptor format):
 *
 *   base+0 data (16 bits)   base+1 error   base+2 sector count
 *   base+3..5 LBA low/mid/high   base+6 device (0xE0: master, LBA mode)
 *   base+7 status (read; reading it acknowledges the interrupt) / command
 *   ctrl+0 alternate status (read, no acknowledge) / device control
 *          (bit 1 nIEN: interrupts off, bit 2 SRST: reset the channel)
 *   status bits: BSY 0x80, DRDY 0x40, DF 0x20, DRQ 0x08, ERR 0x01
 *   BAR4+0 bus-master command: bit 0 start, bit 3 direction (1: the
 *          controller writes memory, i.e. a disk read)
 *   BAR4+2 bus-master status: bit 0 active, bit 1 error, bit 2 interrupt
 *          (bits 1-2 cleared by writing 1), bits 5-6 drive DMA capable
 *   BAR4+4 the physical address of the PRD table (dword aligned, < 4 GiB)
 *
 * One request at a time goes to the device; the others wait on the
 * driver's queue (the IRP's Tail.Overlay.ListEntry), with a cancel routine
 * so that a queued IRP can be cancelled (the one on the wire finishes). A
 * read or write is split into commands of at most 256 sectors, LBA28
 * unless the sectors lie beyond 2^28 (then LBA48, when IDENTIFY says the
 * disk has it). Two ways to move the data, chosen per request:
 *
 *   DMA  (word-aligned buffer below 4 GiB, DMA mode): a PRD table built
 *        from the MDL's page frames (MmGetMdlPfnArray), READ/WRITE DMA,
 *        start the bus master; the controller moves every sector into or
 *        out of the requester's locked pages and interrupts once.
 *   PIO  (no BAR4, no DMA in IDENTIFY, "ata=pio", or an odd buffer): the
 *        MDL mapped in system space, READ/WRITE SECTORS, one interrupt per
 *        sector, 256 words moved by rep insw/outsw in the DPC.
 *
 *   dispatch (caller's thread)    queue the IRP, start it if the disk is idle
 *   start (DISPATCH_LEVEL)        choose DMA or PIO, write the registers and the command;
 *                                 DMA: start the engine; PIO write: send the first
 *                                 sector; arm the watchdog
 *   ISR (IRQL 6, vector 0x6E)     the bus-master status says it is ours: stop the engine,
 *                                 clear its status, read the device status (the device
 *                                 drops INTRQ), keep both, IoRequestDpc
 *   DpcForIsr (DISPATCH_LEVEL)    take the statuses (KeSynchronizeExecution); DMA: the
 *                                 command is done; PIO read: move the sector in; PIO
 *                                 write: the next one out; at the end of the command
 *                                 issue the next one or complete the IRP and start the next
 *   watchdog DPC (KTIMER)         no interrupt for ATA_WATCHDOG_MS while the device is not
 *                                 busy (or ATA_WATCHDOG_MAX_EXTENSIONS more while it is):
 *                                 stop the engine, reset the channel, STATUS_IO_TIMEOUT
 *
 * A device error (ERR or DF, or the bus master's error bit) repeats the
 * command once, then ends the IRP with STATUS_DEVICE_DATA_ERROR. IRPs are
 * completed after the lock is released (a completion routine may send the
 * next request here).
 *
 * Locking: ATA_EXTENSION.Lock (spin lock) covers the queue, the request
 * state, the mode and the counters; the ISR shares only the Isr* fields
 * with the DPC, under the interrupt object's lock, and reads RequestDma,
 * which changes only while no command is on the wire. Polling happens
 * only at boot (IDENTIFY, at PASSIVE_LEVEL) and for the ATA
 * specification's short waits (400 ns after selecting, DRQ before a PIO
 * write's first sector, the reset).
 */
#include "ata.h"
#include "../iop.h"
#include "../../hal/hal.h"
#include "../../include/intrin.h"
#include "../../rtl/rtl.h"

#define ATA_REG_DATA     0
#define ATA_REG_ERROR    1
#define ATA_REG_COUNT    2
#define ATA_REG_LBA0     3
#define ATA_REG_LBA1     4
#define ATA_REG_LBA2     5
#define ATA_REG_DEVICE   6
#define ATA_REG_STATUS   7
#define ATA_REG_COMMAND  7
#define ATA_SR_BSY       0x80
#define ATA_SR_DF        0x20
#define ATA_SR_DRQ       0x08
#define ATA_SR_ERR       0x01
#define ATA_CTL_NIEN     0x02
#define ATA_CTL_SRST     0x04
#define ATA_CMD_READ     0x20
#define ATA_CMD_READ_EXT 0x24
#define ATA_CMD_WRITE    0x30
#define ATA_CMD_WRITE_EXT 0x34
#define ATA_CMD_FLUSH    0xE7
#define ATA_CMD_FLUSH_EXT 0xEA
#define ATA_CMD_IDENTIFY 0xEC
#define ATA_CMD_READ_DMA 0xC8
#define ATA_CMD_READ_DMA_EXT 0x25
#define ATA_CMD_WRITE_DMA 0xCA
#define ATA_CMD_WRITE_DMA_EXT 0x35
#define BM_COMMAND 0
#define BM_STATUS        2
#define BM_PRD_TABLE 4
#define BM_CMD_START 0x01
#define BM_CMD_TO_MEMORY 0x08 /* the controller writes memory: a read */
#define BM_STATUS_ACTIVE 0x01
#define BM_STATUS_ERROR 0x02
#define BM_STATUS_INTR   0x04
#define BM_STATUS_CAPABLE 0x60 /* drive 0/1 DMA capable (BIOS-set, R/W) */
#define PCI_COMMAND_OFFSET 0x04
#define PCI_COMMAND_BUS_MASTER 0x0004
#define IDENTIFY_CAPABILITIES 49 /* word 49 bit 8: DMA supported */
#define ATA_WATCHDOG_MAX_EXTENSIONS 5 /* more periods while the device is busy */
#define ATA_SHORT_WAIT   100000  /* status reads: far beyond any short wait QEMU needs */

PDEVICE_OBJECT AtaDiskDevice;
static ATA_EXTENSION AtapProbe;     /* what the boot probe found, copied into the device */
static PCI_DEVICE_INFO AtapPciFunction; /* the IDE controller's PCI function */

static UCHAR AtapIn(PATA_EXTENSION Ext, ULONG Reg)
{
    return __inbyte((USHORT)(Ext->CommandBase + Reg));
}

static void AtapOut(PATA_EXTENSION Ext, ULONG Reg, UCHAR Value)
{
    __outbyte((USHORT)(Ext->CommandBase + Reg), Value);
}

/* 400 ns for the device to put its status up: four alternate-status reads. */
static UCHAR AtapSettle(PATA_EXTENSION Ext)
{
    UCHAR Status = 0;
    for (int i = 0; i < 4; i++)
        Status = __inbyte(Ext->ControlBase);
    return Status;
}

/* Poll the alternate status until (Status & Mask) == Want; FALSE after the
 * short wait. Any IRQL. */
static BOOLEAN AtapWaitStatus(PATA_EXTENSION Ext, UCHAR Mask, UCHAR Want, PUCHAR Status)
{
    for (ULONG i = 0; i < ATA_SHORT_WAIT; i++) {
        *Status = __inbyte(Ext->ControlBase);
        if ((*Status & Mask) == Want)
            return TRUE;
    }
    return FALSE;
}

/* ------------------------------------------------------------------------
 * Boot: find the controller, IDENTIFY the primary master
 * ------------------------------------------------------------------------ */

/* An IDENTIFY string: words of two bytes, the first character in the high
 * byte; trailing blanks dropped. */
static void AtapIdentifyString(const USHORT *Words, ULONG Count, PCHAR Out)
{
    ULONG n = 0;
    for (ULONG i = 0; i < Count; i++) {
        Out[n++] = (CHAR)(Words[i] >> 8);
        Out[n++] = (CHAR)Words[i];
    }
    while (n > 0 && (Out[n - 1] == ' ' || Out[n - 1] == 0))
        n--;
    Out[n] = 0;
}

/* IDENTIFY DEVICE on the master, polled, its interrupt off (nIEN). FALSE
 * when nobody answers or the device is not an ATA disk (the ATAPI CD-ROM
 * answers with its signature in LBA mid/high). PASSIVE_LEVEL. */
static BOOLEAN AtapIdentify(PATA_EXTENSION Ext, USHORT *Id)
{
    UCHAR Status;
    __outbyte(Ext->ControlBase, ATA_CTL_NIEN);
    AtapOut(Ext, ATA_REG_DEVICE, 0xA0);
    if (AtapSettle(Ext) == 0xFF)                       /* floating bus: no drive at all */
        return FALSE;
    for (ULONG Reg = ATA_REG_COUNT; Reg <= ATA_REG_LBA2; Reg++)
        AtapOut(Ext, Reg, 0);
    AtapOut(Ext, ATA_REG_COMMAND, ATA_CMD_IDENTIFY);
    if (AtapSettle(Ext) == 0)
        return FALSE;
    if (!AtapWaitStatus(Ext, ATA_SR_BSY, 0, &Status))
        return FALSE;
    if (AtapIn(Ext, ATA_REG_LBA1) != 0 || AtapIn(Ext, ATA_REG_LBA2) != 0)
        return FALSE;
    if (!AtapWaitStatus(Ext, ATA_SR_DRQ | ATA_SR_ERR, ATA_SR_DRQ, &Status))
        return FALSE;
    __inwordstring(Ext->CommandBase + ATA_REG_DATA, Id, 256);
    (void)AtapIn(Ext, ATA_REG_STATUS);
    return TRUE;
}

/* Find the PIIX IDE function and a disk on its primary channel; fill
 * AtapProbe. FALSE (with the reason printed once) when there is none. */
static BOOLEAN AtapProbeDisk(void)
{
    static USHORT Id[256];
    PCI_DEVICE_INFO Pci;
    PATA_EXTENSION Ext = &AtapProbe;

    if (!HalFindPciDevice(PCI_ANY_ID, PCI_ANY_ID, 0x01, 0x01, 0, &Pci)) {
        DbgPrint("ATA: no IDE controller on the PCI bus: no disk\n");
        return FALSE;
    }
    /* Prog-if bit 0 clear: the primary channel is at the ISA compatibility
     * ports and IRQ 14, which is how the PIIX always starts. */
    if (Pci.ProgIf & 1) {
        DbgPrint("ATA: the IDE controller's primary channel is in native mode: not supported\n");
        return FALSE;
    }
    Ext->CommandBase = 0x1F0;
    Ext->ControlBase = 0x3F6;
    Ext->BusMasterBase = Pci.Bar[4].Io ? (USHORT)Pci.Bar[4].Base : 0;
    if (!AtapIdentify(Ext, Id)) {
        DbgPrint("ATA: no disk on the primary channel (make run attaches build/disk.img)\n");
        return FALSE;
    }
    AtapIdentifyString(&Id[27], 20, Ext->Model);
    AtapIdentifyString(&Id[10], 10, Ext->Serial);
    Ext->Lba48 = (Id[83] & (1u << 10)) != 0;
    Ext->Sectors = Ext->Lba48 ? (ULONG64)Id[100] | (ULONG64)Id[101] << 16 |
                                    (ULONG64)Id[102] << 32 | (ULONG64)Id[103] << 48
                              : (ULONG64)Id[60] | (ULONG64)Id[61] << 16;
    /* DMA wants the controller's bus-master registers and a disk that
     * says it can; the PRD table comes in AtapSetUpDma. */
    Ext->DmaAvailable = Ext->BusMasterBase != 0 && (Id[IDENTIFY_CAPABILITIES] & (1u << 8));
    AtapPciFunction = Pci;
    return Ext->Sectors != 0;
}

/* Bus-master DMA: enable the function's bus mastering (PCI command bit 2),
 * allocate the PRD table (one nonpaged page: aligned, inside one 64 KiB
 * block) and note the drive-capable bits. FALSE, and PIO for good, when
 * any of it fails or the table lies above 4 GiB. PASSIVE_LEVEL. */
static BOOLEAN AtapSetUpDma(PATA_EXTENSION Ext)
{
    PCI_DEVICE_INFO *Pci = &AtapPciFunction;
    USHORT Command = 0;
    if (HalReadPciConfig(Pci->Bus, Pci->Device, Pci->Function, PCI_COMMAND_OFFSET, &Command, 2) !=
        2)
        return FALSE;
    Command |= PCI_COMMAND_BUS_MASTER;
    if (HalWritePciConfig(Pci->Bus, Pci->Device, Pci->Function, PCI_COMMAND_OFFSET, &Command, 2) !=
        2)
        return FALSE;
    Ext->PrdTable = ExAllocatePoolWithTag(NonPagedPool, PAGE_SIZE, ATA_TAG);
    if (!Ext->PrdTable)
        return FALSE;
    ULONG64 Physical = MmGetPhysicalAddress(Ext->PrdTable);
    if (Physical == 0 || Physical + PAGE_SIZE > 0x100000000ULL || (Physical & (PAGE_SIZE - 1))) {
        ExFreePoolWithTag(Ext->PrdTable, ATA_TAG);
        Ext->PrdTable = NULL;
        return FALSE;
    }
    Ext->PrdTablePhysical = (ULONG)Physical;
    Ext->BusMasterCapable = __inbyte(Ext->BusMasterBase + BM_STATUS) & BM_STATUS_CAPABLE;
    __outbyte(Ext->BusMasterBase + BM_COMMAND, 0);
    __outbyte(Ext->BusMasterBase + BM_STATUS,
              Ext->BusMasterCapable | BM_STATUS_ERROR | BM_STATUS_INTR);
    __outdword(Ext->BusMasterBase + BM_PRD_TABLE, Ext->PrdTablePhysical);
    return TRUE;
}

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------ */

static void AtapSetWatchdogTimer(PATA_EXTENSION Ext)
{
    LARGE_INTEGER Due = {.QuadPart = -(LONGLONG)ATA_WATCHDOG_MS * 10000};
    Ext->ArmedAt = KeQueryInterruptTime();
    KeSetTimer(&Ext->Watchdog, Due, &Ext->WatchdogDpc);
}

/* A command went out (or a PIO sector moved): a fresh watchdog period. */
static void AtapArmWatchdog(PATA_EXTENSION Ext)
{
    Ext->WatchdogExtensions = 0;
    AtapSetWatchdogTimer(Ext);
}

/* Write the task-file registers: LBA28 (the top four bits in the device
 * register) or LBA48 (each register twice: high bytes first). */
static void AtapSetTaskFile(PATA_EXTENSION Ext, ULONG64 Lba, ULONG Count, BOOLEAN Use48)
{
    AtapOut(Ext, ATA_REG_DEVICE, (UCHAR)(0xE0 | (Use48 ? 0 : (Lba >> 24) & 0x0F)));
    if (Use48) {
        AtapOut(Ext, ATA_REG_COUNT, (UCHAR)(Count >> 8));
        AtapOut(Ext, ATA_REG_LBA0, (UCHAR)(Lba >> 24));
        AtapOut(Ext, ATA_REG_LBA1, (UCHAR)(Lba >> 32));
        AtapOut(Ext, ATA_REG_LBA2, (UCHAR)(Lba >> 40));
    }
    AtapOut(Ext, ATA_REG_COUNT, (UCHAR)Count);         /* 256 -> 0, which means 256 */
    AtapOut(Ext, ATA_REG_LBA0, (UCHAR)Lba);
    AtapOut(Ext, ATA_REG_LBA1, (UCHAR)(Lba >> 8));
    AtapOut(Ext, ATA_REG_LBA2, (UCHAR)(Lba >> 16));
}

/* The PRD table for Bytes of the current request from Ext->Offset: one
 * entry per piece of a page, straight from the MDL's frames (a page never
 * crosses a 64 KiB boundary, so no entry does). Lock held. */
static void AtapBuildPrdTable(PATA_EXTENSION Ext, ULONG Bytes)
{
    PMDL Mdl = Ext->Current->MdlAddress;
    PPFN_NUMBER Pfns = MmGetMdlPfnArray(Mdl);
    ULONG Position = MmGetMdlByteOffset(Mdl) + Ext->Offset; /* from the MDL's first page */
    ULONG n = 0;
    while (Bytes) {
        ULONG InPage = Position & (PAGE_SIZE - 1);
        ULONG Chunk = PAGE_SIZE - InPage < Bytes ? PAGE_SIZE - InPage : Bytes;
        ASSERT(n < ATA_PRD_ENTRIES);
        Ext->PrdTable[n].Base = (ULONG)(Pfns[Position >> PAGE_SHIFT] << PAGE_SHIFT) + InPage;
        Ext->PrdTable[n].ByteCount = (USHORT)Chunk;
        Ext->PrdTable[n].Flags = 0;
        n++;
        Position += Chunk;
        Bytes -= Chunk;
    }
    Ext->PrdTable[n - 1].Flags = ATA_PRD_END_OF_TABLE;
}

/* Can the current request move by DMA? The mode says so, the buffer is
 * word-aligned (the PRD's base and count must be even) and every frame is
 * below 4 GiB (the PRD's base is 32 bits). Lock held. */
static BOOLEAN AtapCanUseDma(PATA_EXTENSION Ext, PMDL Mdl)
{
    if (!Ext->UseDma || (MmGetMdlByteOffset(Mdl) & 1) || (Mdl->MdlFlags & MDL_IO_SPACE))
        return FALSE;
    PPFN_NUMBER Pfns = MmGetMdlPfnArray(Mdl);
    ULONG Pages =
        ADDRESS_AND_SIZE_TO_SPAN_PAGES(MmGetMdlVirtualAddress(Mdl), MmGetMdlByteCount(Mdl));
    for (ULONG i = 0; i < Pages; i++)
        if (Pfns[i] >= (0x100000000ULL >> PAGE_SHIFT))
            return FALSE;
    return TRUE;
}

/* DMA: the PRD table, the direction, clear the status, the command, then
 * start the engine (ATA-6 9.10: the host writes the command before it
 * starts the bus master). Lock held. */
static void AtapStartDma(PATA_EXTENSION Ext, BOOLEAN Write, ULONG Count, BOOLEAN Use48)
{
    USHORT Bm = Ext->BusMasterBase;
    UCHAR Direction = Write ? 0 : BM_CMD_TO_MEMORY;
    AtapBuildPrdTable(Ext, Count * ATA_SECTOR_SIZE);
    __outbyte(Bm + BM_COMMAND, Direction); /* stopped, direction set */
    __outdword(Bm + BM_PRD_TABLE, Ext->PrdTablePhysical);
    __outbyte(Bm + BM_STATUS, Ext->BusMasterCapable | BM_STATUS_ERROR | BM_STATUS_INTR);
    AtapOut(Ext, ATA_REG_COMMAND,
            Write ? (Use48 ? ATA_CMD_WRITE_DMA_EXT : ATA_CMD_WRITE_DMA)
                  : (Use48 ? ATA_CMD_READ_DMA_EXT : ATA_CMD_READ_DMA));
    __outbyte(Bm + BM_COMMAND, Direction | BM_CMD_START);
}

/* Start the next command of the current request. Lock held. FALSE when a
 * PIO write's device never asked for its data (the caller fails the IRP). */
static BOOLEAN AtapIssueCommand(PATA_EXTENSION Ext)
{
    UCHAR Major = IoGetCurrentIrpStackLocation(Ext->Current)->MajorFunction;
    ULONG Count = Ext->SectorsLeft < ATA_MAX_SECTORS_PER_COMMAND ? Ext->SectorsLeft
                                                                  : ATA_MAX_SECTORS_PER_COMMAND;
    ULONG64 Lba = Ext->TestForceLba ? Ext->TestForceLba : Ext->Lba;
    BOOLEAN Use48 = Ext->Lba48 && (Ext->TestUseLba48 || Lba + Count > (1ULL << 28));

    Ext->CommandLeft = Ext->CommandSectors = Count;
    Ext->LastCommandLba48 = Use48;
    AtapArmWatchdog(Ext);
    if (Major == IRP_MJ_FLUSH_BUFFERS) {
        AtapOut(Ext, ATA_REG_DEVICE, 0xE0);
        AtapOut(Ext, ATA_REG_COMMAND, Ext->Lba48 ? ATA_CMD_FLUSH_EXT : ATA_CMD_FLUSH);
        return TRUE;
    }
    AtapSetTaskFile(Ext, Lba, Count, Use48);
    if (Ext->RequestDma) {
        AtapStartDma(Ext, Major == IRP_MJ_WRITE, Count, Use48);
        return TRUE;
    }
    AtapOut(Ext, ATA_REG_COMMAND,
            Major == IRP_MJ_WRITE ? (Use48 ? ATA_CMD_WRITE_EXT : ATA_CMD_WRITE)
                                  : (Use48 ? ATA_CMD_READ_EXT : ATA_CMD_READ));
    if (Major == IRP_MJ_WRITE) {
        /* PIO data-out: the first sector goes when DRQ comes up (a short
         * wait); each interrupt after it asks for the next. */
        UCHAR Status;
        AtapSettle(Ext);
        if (!AtapWaitStatus(Ext, ATA_SR_BSY | ATA_SR_DRQ, ATA_SR_DRQ, &Status))
            return (Status & (ATA_SR_ERR | ATA_SR_DF)) != 0; /* an error interrupt follows */
        __outwordstring(Ext->CommandBase + ATA_REG_DATA, (const USHORT *)Ext->Buffer, 256);
    }
    return TRUE;
}

/* End the current request with Status: onto Done (completed once the lock
 * is gone); AtapFinish then starts the next. Lock held. */
static void AtapStartNext(PATA_EXTENSION Ext, PLIST_ENTRY Done);

static void AtapEndCurrent(PATA_EXTENSION Ext, NTSTATUS Status, PLIST_ENTRY Done)
{
    PIRP Irp = Ext->Current;
    KeCancelTimer(&Ext->Watchdog);
    Irp->IoStatus.Status = Status;
    InsertTailList(Done, &Irp->Tail.Overlay.ListEntry);
    Ext->Current = NULL;
    Ext->Buffer = NULL;
    Ext->RequestDma = FALSE;
}

static void AtapFinish(PATA_EXTENSION Ext, NTSTATUS Status, PLIST_ENTRY Done)
{
    AtapEndCurrent(Ext, Status, Done);
    AtapStartNext(Ext, Done);
}

/* Make Irp the current request: where it starts, DMA or PIO (PIO maps the
 * MDL in system space). FALSE when the mapping fails. Lock held. */
static BOOLEAN AtapPrepareRequest(PATA_EXTENSION Ext, PIRP Irp)
{
    PIO_STACK_LOCATION Sp = IoGetCurrentIrpStackLocation(Irp);
    Ext->Current = Irp;
    Ext->Counters.Requests++;
    Ext->Retried = 0;
    Ext->SectorsLeft = 0;
    Ext->Offset = 0;
    Ext->Buffer = NULL;
    Ext->RequestDma = FALSE;
    if (Sp->MajorFunction == IRP_MJ_FLUSH_BUFFERS)
        return TRUE;
    Ext->Lba = (ULONG64)Sp->Parameters.Read.ByteOffset.QuadPart / ATA_SECTOR_SIZE;
    Ext->SectorsLeft = Sp->Parameters.Read.Length / ATA_SECTOR_SIZE;
    if (AtapCanUseDma(Ext, Irp->MdlAddress)) {
        Ext->RequestDma = TRUE;
        Ext->Counters.DmaRequests++;
        return TRUE;
    }
    Ext->Counters.PioRequests++;
    Ext->Buffer = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
    return Ext->Buffer != NULL;
}

/* Take the next queued IRP to the device. An IRP whose cancel routine is
 * already gone belongs to IoCancelIrp: left to that routine (its list
 * entry made empty, so the routine's RemoveEntryList does nothing). Lock
 * held, DISPATCH_LEVEL. */
static void AtapStartNext(PATA_EXTENSION Ext, PLIST_ENTRY Done)
{
    while (!Ext->Current && !IsListEmpty(&Ext->Queue)) {
        PIRP Irp = CONTAINING_RECORD(RemoveHeadList(&Ext->Queue), IRP, Tail.Overlay.ListEntry);
        if (IoSetCancelRoutine(Irp, NULL) == NULL) {
            InitializeListHead(&Irp->Tail.Overlay.ListEntry);
            continue;
        }
        if (!AtapPrepareRequest(Ext, Irp))
            AtapEndCurrent(Ext, STATUS_INSUFFICIENT_RESOURCES, Done);
        else if (!AtapIssueCommand(Ext))
            AtapEndCurrent(Ext, STATUS_IO_TIMEOUT, Done);
    }
}

static void AtapCompleteDone(PLIST_ENTRY Done)
{
    while (!IsListEmpty(Done)) {
        PIRP Irp = CONTAINING_RECORD(RemoveHeadList(Done), IRP, Tail.Overlay.ListEntry);
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
    }
}

/* ------------------------------------------------------------------------
 * The interrupt, its DPC and the watchdog
 * ------------------------------------------------------------------------ */

static BOOLEAN AtapIsr(PKINTERRUPT Interrupt, PVOID Context)
{
    PATA_EXTENSION Ext = Context;
    UCHAR Bm = 0;
    UNREFERENCED_PARAMETER(Interrupt);
    if (Ext->BusMasterBase) {
        Bm = __inbyte(Ext->BusMasterBase + BM_STATUS);
        if (!(Bm & BM_STATUS_INTR))
            return FALSE;                              /* another device on the line */
        if (Ext->RequestDma) /* the PIIX wants the engine stopped */
            __outbyte(Ext->BusMasterBase + BM_COMMAND, 0);
        __outbyte(Ext->BusMasterBase + BM_STATUS, /* write 1 to clear */
                  Ext->BusMasterCapable | BM_STATUS_ERROR | BM_STATUS_INTR);
    }
    UCHAR Status = AtapIn(Ext, ATA_REG_STATUS);        /* the device drops INTRQ */
    if (Ext->TestDropInterrupts) {
        Ext->TestDropInterrupts--;                     /* as if it had never come */
        return TRUE;
    }
    Ext->IsrStatus = Status;
    Ext->IsrBusMasterStatus = Bm;
    Ext->IsrPending = TRUE;
    IoRequestDpc(Ext->DeviceObject, Ext->Current, NULL);
    return TRUE;
}

typedef struct _ATAP_ISR_RESULT {
    PATA_EXTENSION Ext;
    UCHAR Status;
    UCHAR BusMasterStatus;
    BOOLEAN Pending;
} ATAP_ISR_RESULT;

/* At the interrupt's IRQL, holding its lock: take what the ISR left. */
static BOOLEAN AtapTakeIsrResult(PVOID Context)
{
    ATAP_ISR_RESULT *Result = Context;
    Result->Status = Result->Ext->IsrStatus;
    Result->BusMasterStatus = Result->Ext->IsrBusMasterStatus;
    Result->Pending = Result->Ext->IsrPending;
    Result->Ext->IsrPending = FALSE;
    return TRUE;
}

/* One sector of a PIO read or write is done; move on. Lock held. */
static void AtapSectorDone(PATA_EXTENSION Ext, BOOLEAN Write, PLIST_ENTRY Done)
{
    if (!Write)
        __inwordstring(Ext->CommandBase + ATA_REG_DATA, (USHORT *)Ext->Buffer, 256);
    Ext->Buffer += ATA_SECTOR_SIZE;
    Ext->Offset += ATA_SECTOR_SIZE;
    Ext->Lba++;
    Ext->SectorsLeft--;
    Ext->CommandLeft--;
    Ext->Current->IoStatus.Information += ATA_SECTOR_SIZE;
    if (Write)
        Ext->Counters.SectorsWritten++;
    else
        Ext->Counters.SectorsRead++;
    if (Ext->SectorsLeft == 0) {
        AtapFinish(Ext, STATUS_SUCCESS, Done);
    } else if (Ext->CommandLeft == 0) {
        Ext->Retried = 0;
        if (!AtapIssueCommand(Ext))
            AtapFinish(Ext, STATUS_IO_TIMEOUT, Done);
    } else {
        AtapArmWatchdog(Ext);
        if (Write)
            __outwordstring(Ext->CommandBase + ATA_REG_DATA, (const USHORT *)Ext->Buffer, 256);
    }
}

/* The device said ERR or DF: once more, then STATUS_DEVICE_DATA_ERROR. */
static void AtapCommandFailed(PATA_EXTENSION Ext, PLIST_ENTRY Done)
{
    if (Ext->Retried++ == 0) {
        Ext->Counters.Retries++;
        if (AtapIssueCommand(Ext))
            return;
    }
    Ext->Counters.Errors++;
    AtapFinish(Ext, STATUS_DEVICE_DATA_ERROR, Done);
}

/* A DMA command is done: all its sectors moved. Lock held. */
static void AtapDmaDone(PATA_EXTENSION Ext, BOOLEAN Write, PLIST_ENTRY Done)
{
    ULONG Bytes = Ext->CommandSectors * ATA_SECTOR_SIZE;
    Ext->Offset += Bytes;
    Ext->Lba += Ext->CommandSectors;
    Ext->SectorsLeft -= Ext->CommandSectors;
    Ext->CommandLeft = 0;
    Ext->Current->IoStatus.Information += Bytes;
    if (Write)
        Ext->Counters.SectorsWritten += Ext->CommandSectors;
    else
        Ext->Counters.SectorsRead += Ext->CommandSectors;
    if (Ext->SectorsLeft == 0) {
        AtapFinish(Ext, STATUS_SUCCESS, Done);
    } else {
        Ext->Retried = 0;
        if (!AtapIssueCommand(Ext))
            AtapFinish(Ext, STATUS_IO_TIMEOUT, Done);
    }
}

/* What the interrupt with Status (and the bus master's Bm) means for the
 * current request. Lock held. */
static void AtapContinue(PATA_EXTENSION Ext, UCHAR Status, UCHAR Bm, PLIST_ENTRY Done)
{
    UCHAR Major = IoGetCurrentIrpStackLocation(Ext->Current)->MajorFunction;
    if (Status & ATA_SR_BSY) {
        Ext->Counters.Spurious++;                      /* not finished: not for us */
        return;
    }
    if ((Status & (ATA_SR_ERR | ATA_SR_DF)) || (Ext->RequestDma && (Bm & BM_STATUS_ERROR))) {
        AtapCommandFailed(Ext, Done);
        return;
    }
    if (Major == IRP_MJ_FLUSH_BUFFERS) {
        Ext->Counters.Flushes++;
        AtapFinish(Ext, STATUS_SUCCESS, Done);
    } else if (Ext->RequestDma) {
        AtapDmaDone(Ext, Major == IRP_MJ_WRITE, Done);
    } else if (Major == IRP_MJ_WRITE || (Status & ATA_SR_DRQ)) {
        AtapSectorDone(Ext, Major == IRP_MJ_WRITE, Done);
    } else {
        Ext->Counters.Spurious++;                      /* a read with no data ready */
    }
}

static void AtapDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    PATA_EXTENSION Ext = DeviceObject->DeviceExtension;
    ATAP_ISR_RESULT Result = {Ext, 0, 0, FALSE};
    LIST_ENTRY Done;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Irp);
    UNREFERENCED_PARAMETER(Context);

    InitializeListHead(&Done);
    KeSynchronizeExecution(Ext->Interrupt, AtapTakeIsrResult, &Result);
    if (!Result.Pending)
        return;
    KeAcquireSpinLockAtDpcLevel(&Ext->Lock);
    Ext->Counters.Interrupts++;
    if (!Ext->Current)
        Ext->Counters.Spurious++;
    else
        AtapContinue(Ext, Result.Status, Result.BusMasterStatus, &Done);
    KeReleaseSpinLockFromDpcLevel(&Ext->Lock);
    AtapCompleteDone(&Done);
}

/* Stop the bus master, then SRST: the device drops whatever it was doing
 * (ATA-6 9.2: at least 5 us asserted, then BSY until it is ready again - a
 * short wait in QEMU). */
static void AtapResetChannel(PATA_EXTENSION Ext)
{
    UCHAR Status;
    if (Ext->BusMasterBase) {
        __outbyte(Ext->BusMasterBase + BM_COMMAND, 0);
        __outbyte(Ext->BusMasterBase + BM_STATUS,
                  Ext->BusMasterCapable | BM_STATUS_ERROR | BM_STATUS_INTR);
    }
    __outbyte(Ext->ControlBase, ATA_CTL_SRST | ATA_CTL_NIEN);
    for (int i = 0; i < 16; i++)
        AtapSettle(Ext);
    __outbyte(Ext->ControlBase, 0);
    (void)AtapWaitStatus(Ext, ATA_SR_BSY, 0, &Status);
    (void)AtapIn(Ext, ATA_REG_STATUS);
}

static BOOLEAN AtapForgetIsrResult(PVOID Context)
{
    ((PATA_EXTENSION)Context)->IsrPending = FALSE;
    return TRUE;
}

/* Is the command still being worked on? BSY, or the DMA engine still
 * active with no interrupt raised. (A PIO device with DRQ up waits for us:
 * not busy.) Lock held. */
static BOOLEAN AtapDeviceBusy(PATA_EXTENSION Ext)
{
    if (__inbyte(Ext->ControlBase) & ATA_SR_BSY)
        return TRUE;
    if (!Ext->RequestDma)
        return FALSE;
    UCHAR Bm = __inbyte(Ext->BusMasterBase + BM_STATUS);
    return (Bm & (BM_STATUS_ACTIVE | BM_STATUS_INTR)) == BM_STATUS_ACTIVE;
}

/* The watchdog expired. A device that says it is still busy gets up to
 * ATA_WATCHDOG_MAX_EXTENSIONS more periods (under -icount with sleep=off
 * QEMU skips the guest's idle time, so a host that is slow to finish the
 * file I/O looks like a slow device); one that is not busy, or busy for
 * too long, has lost the interrupt: reset, STATUS_IO_TIMEOUT. */
static void AtapWatchdogDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    PATA_EXTENSION Ext = Context;
    LIST_ENTRY Done;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);

    InitializeListHead(&Done);
    KeAcquireSpinLockAtDpcLevel(&Ext->Lock);
    /* Re-armed since this expiry was queued: the device did answer. */
    BOOLEAN Stale = KeQueryInterruptTime() - Ext->ArmedAt < (ULONG64)ATA_WATCHDOG_MS * 10000;
    if (Ext->Current && !Stale && Ext->WatchdogExtensions < ATA_WATCHDOG_MAX_EXTENSIONS &&
        AtapDeviceBusy(Ext)) {
        Ext->WatchdogExtensions++;
        AtapSetWatchdogTimer(Ext);
    } else if (Ext->Current && !Stale) {
        Ext->Counters.Timeouts++;
        AtapResetChannel(Ext);
        KeSynchronizeExecution(Ext->Interrupt, AtapForgetIsrResult, Ext);
        AtapFinish(Ext, STATUS_IO_TIMEOUT, &Done);
    }
    KeReleaseSpinLockFromDpcLevel(&Ext->Lock);
    AtapCompleteDone(&Done);
}

/* ------------------------------------------------------------------------
 * Dispatch routines
 * ------------------------------------------------------------------------ */

/* The cancel routine of a queued IRP (the one on the wire has none: it
 * finishes). Called with the cancel spin lock held; off the queue,
 * STATUS_CANCELLED. */
static void AtapCancelQueued(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PATA_EXTENSION Ext = DeviceObject->DeviceExtension;
    KIRQL OldIrql;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    KeAcquireSpinLock(&Ext->Lock, &OldIrql);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry); /* a no-op if AtapStartNext took it */
    Ext->Counters.Cancelled++;
    KeReleaseSpinLock(&Ext->Lock, OldIrql);
    IopCompleteIrp(Irp, STATUS_CANCELLED, 0, IO_NO_INCREMENT);
}

/* Queue Irp for the device (it completes later, from a DPC), cancellable
 * while it waits. IRQL <= DISPATCH_LEVEL. */
static NTSTATUS AtapQueue(PATA_EXTENSION Ext, PIRP Irp)
{
    LIST_ENTRY Done;
    KIRQL OldIrql;
    InitializeListHead(&Done);
    Irp->IoStatus.Information = 0;
    KeAcquireSpinLock(&Ext->Lock, &OldIrql);
    IoSetCancelRoutine(Irp, AtapCancelQueued);
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
        Ext->Counters.Cancelled++; /* cancelled before it got here */
        KeReleaseSpinLock(&Ext->Lock, OldIrql);
        return IopCompleteIrp(Irp, STATUS_CANCELLED, 0, IO_NO_INCREMENT);
    }
    IoMarkIrpPending(Irp);
    InsertTailList(&Ext->Queue, &Irp->Tail.Overlay.ListEntry);
    AtapStartNext(Ext, &Done);
    KeReleaseSpinLock(&Ext->Lock, OldIrql);
    AtapCompleteDone(&Done);
    return STATUS_PENDING;
}

/* Whole sectors inside the disk. A read that starts at or past the end
 * finds the end of the file (NT's STATUS_END_OF_FILE); any other range
 * that is not inside the disk, or not sector-aligned, is
 * STATUS_INVALID_PARAMETER. */
static NTSTATUS AtapCheckRange(PATA_EXTENSION Ext, BOOLEAN Write, LONGLONG Offset, ULONG Length)
{
    ULONG64 Size = Ext->Sectors * ATA_SECTOR_SIZE;
    if (Offset < 0 || Offset % ATA_SECTOR_SIZE || Length % ATA_SECTOR_SIZE)
        return STATUS_INVALID_PARAMETER;
    if ((ULONG64)Offset >= Size && Length != 0)
        return Write ? STATUS_INVALID_PARAMETER : STATUS_END_OF_FILE;
    if ((ULONG64)Offset + Length > Size)
        return STATUS_INVALID_PARAMETER;
    return STATUS_SUCCESS;
}

static NTSTATUS AtapReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PATA_EXTENSION Ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION Sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG Length = Sp->Parameters.Read.Length;         /* Write's has the same layout */
    NTSTATUS Status = AtapCheckRange(Ext, Sp->MajorFunction == IRP_MJ_WRITE,
                                     Sp->Parameters.Read.ByteOffset.QuadPart, Length);
    if (NT_SUCCESS(Status) && Length != 0 && !Irp->MdlAddress)
        Status = STATUS_INVALID_PARAMETER;             /* DO_DIRECT_IO: the builder locks it */
    if (!NT_SUCCESS(Status) || Length == 0)
        return IopCompleteIrp(Irp, Status, 0, IO_NO_INCREMENT);
    return AtapQueue(Ext, Irp);
}

static NTSTATUS AtapFlush(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    return AtapQueue(DeviceObject->DeviceExtension, Irp);
}

/* A consistent copy of the counters and the mode. */
static void AtapCopyCounters(PATA_EXTENSION Ext, PATA_COUNTERS Out)
{
    KIRQL OldIrql;
    KeAcquireSpinLock(&Ext->Lock, &OldIrql);
    *Out = Ext->Counters;
    Out->Dma = Ext->UseDma;
    Out->Reserved = 0;
    KeReleaseSpinLock(&Ext->Lock, OldIrql);
}

static NTSTATUS AtapDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PATA_EXTENSION Ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION Sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG OutLength = Sp->Parameters.DeviceIoControl.OutputBufferLength;
    PVOID Out = Irp->AssociatedIrp.SystemBuffer;

    switch (Sp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_DISK_GET_DRIVE_GEOMETRY: {
        if (OutLength < sizeof(DISK_GEOMETRY))
            return IopCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0, IO_NO_INCREMENT);
        /* A made-up but usual translation: 16 heads of 63 sectors. */
        DISK_GEOMETRY *G = Out;
        G->Cylinders.QuadPart = (LONGLONG)(Ext->Sectors / (16 * 63));
        G->MediaType = FixedMedia;
        G->TracksPerCylinder = 16;
        G->SectorsPerTrack = 63;
        G->BytesPerSector = ATA_SECTOR_SIZE;
        return IopCompleteIrp(Irp, STATUS_SUCCESS, sizeof(*G), IO_NO_INCREMENT);
    }
    case IOCTL_DISK_GET_LENGTH_INFO: {
        if (OutLength < sizeof(GET_LENGTH_INFORMATION))
            return IopCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0, IO_NO_INCREMENT);
        ((GET_LENGTH_INFORMATION *)Out)->Length.QuadPart =
            (LONGLONG)(Ext->Sectors * ATA_SECTOR_SIZE);
        return IopCompleteIrp(Irp, STATUS_SUCCESS, sizeof(GET_LENGTH_INFORMATION), IO_NO_INCREMENT);
    }
    case IOCTL_ATA_GET_COUNTERS:
        if (OutLength < sizeof(ATA_COUNTERS))
            return IopCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0, IO_NO_INCREMENT);
        AtapCopyCounters(Ext, Out);
        return IopCompleteIrp(Irp, STATUS_SUCCESS, sizeof(ATA_COUNTERS), IO_NO_INCREMENT);
    default:
        return IopCompleteIrp(Irp, STATUS_INVALID_DEVICE_REQUEST, 0, IO_NO_INCREMENT);
    }
}

/* ------------------------------------------------------------------------
 * DriverEntry and start-up
 * ------------------------------------------------------------------------ */

/* \Device\Harddisk0: a permanent directory for the disk's devices. */
static NTSTATUS AtapCreateDiskDirectory(void)
{
    static const UNICODE_STRING Name = RTL_CONSTANT_STRING(u"\\Device\\Harddisk0");
    return ObCreatePermanentDirectory(&Name);
}

static NTSTATUS AtapConnect(PATA_EXTENSION Ext)
{
    KIRQL Irql;
    KAFFINITY Affinity;
    ULONG Vector = HalGetInterruptVector(Isa, 0, 14, 14, &Irql, &Affinity);
    NTSTATUS Status = IoConnectInterrupt(&Ext->Interrupt, AtapIsr, Ext, NULL, Vector, Irql, Irql,
                                         Latched, FALSE, Affinity, FALSE);
    if (NT_SUCCESS(Status))
        __outbyte(Ext->ControlBase, 0);                /* nIEN off: the device may interrupt */
    return Status;
}

static NTSTATUS AtapDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    static UNICODE_STRING DeviceName = RTL_CONSTANT_STRING(u"\\Device\\Harddisk0\\DR0");
    static UNICODE_STRING LinkName = RTL_CONSTANT_STRING(u"\\??\\PhysicalDrive0");
    PDEVICE_OBJECT Device;
    UNREFERENCED_PARAMETER(RegistryPath);

    IopSetOpenCloseDispatch(DriverObject);
    DriverObject->MajorFunction[IRP_MJ_READ] = AtapReadWrite;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = AtapReadWrite;
    DriverObject->MajorFunction[IRP_MJ_FLUSH_BUFFERS] = AtapFlush;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = AtapDeviceControl;

    NTSTATUS Status = AtapCreateDiskDirectory();
    if (NT_SUCCESS(Status))
        Status = IoCreateDevice(DriverObject, sizeof(ATA_EXTENSION), &DeviceName,
                                FILE_DEVICE_DISK, 0, FALSE, &Device);
    if (!NT_SUCCESS(Status))
        return Status;
    PATA_EXTENSION Ext = Device->DeviceExtension;
    *Ext = AtapProbe;
    Ext->DeviceObject = Device;
    KeInitializeSpinLock(&Ext->Lock);
    InitializeListHead(&Ext->Queue);
    KeInitializeTimer(&Ext->Watchdog);
    KeInitializeDpc(&Ext->WatchdogDpc, AtapWatchdogDpc, Ext);
    IoInitializeDpcRequest(Device, AtapDpcForIsr);
    Device->Flags |= DO_DIRECT_IO;
    /* Any buffer alignment: an odd buffer, which the PRD table cannot
     * describe, moves by PIO (docs/disk.md). */
    Device->AlignmentRequirement = FILE_BYTE_ALIGNMENT;
    Status = IoCreateSymbolicLink(&LinkName, &DeviceName);
    if (NT_SUCCESS(Status))
        Status = AtapConnect(Ext);
    if (!NT_SUCCESS(Status)) {
        IoDeleteDevice(Device);
        return Status;
    }
    Device->Flags &= ~DO_DEVICE_INITIALIZING;
    AtaDiskDevice = Device;
    return STATUS_SUCCESS;
}

/* How the data will move, for the boot line. */
static const char *AtapModeText(PATA_EXTENSION Ext, BOOLEAN DmaBeforeSetUp)
{
    if (Ext->UseDma)
        return "bus-master DMA";
    if (!Ext->BusMasterBase)
        return "PIO (the controller has no bus-master BAR4)";
    if (KeBootOptions.AtaPio)
        return "PIO (ata=pio)";
    return DmaBeforeSetUp ? "PIO (no PRD table below 4 GiB)" : "PIO (the disk does not offer DMA)";
}

void IoInitializeDiskDriver(void)
{
    static const UNICODE_STRING Name = RTL_CONSTANT_STRING(u"\\Driver\\Atapi");
    if (!AtapProbeDisk())
        return;
    PATA_EXTENSION Ext = &AtapProbe;
    BOOLEAN Offered = Ext->DmaAvailable;
    if (Ext->DmaAvailable && !KeBootOptions.AtaPio)
        Ext->DmaAvailable = AtapSetUpDma(Ext);
    Ext->UseDma = Ext->DmaAvailable && !KeBootOptions.AtaPio;
    KdPrintBoot("ATA: primary master \"%s\", serial \"%s\", %llu sectors (%llu MiB), LBA48 %s; "
                "%s, interrupt-driven, IRQ 14\n",
                Ext->Model, Ext->Serial, Ext->Sectors, Ext->Sectors / 2048,
                Ext->Lba48 ? "yes" : "no", AtapModeText(Ext, Offered));
    NTSTATUS Status = IoCreateDriver(&Name, AtapDriverEntry);
    if (!NT_SUCCESS(Status)) {
        DbgPrint("ATA: the driver did not start: 0x%08x\n", (ULONG)Status);
        if (Ext->PrdTable)
            ExFreePoolWithTag(Ext->PrdTable, ATA_TAG);
    }
}
