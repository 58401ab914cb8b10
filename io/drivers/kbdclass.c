/*
 * kbdclass.c - the PS/2 keyboard driver: \Driver\kbdclass with
 * \Device\KeyboardClass0. A read (buffered I/O) returns whole
 * KEYBOARD_INPUT_DATA records (include/ntddkbd.h: UnitId, MakeCode, Flags
 * KEY_MAKE / KEY_BREAK / KEY_E0 / KEY_E1), one per key press or release,
 * and pends until a key arrives. No characters here: the console driver
 * (io/drivers/console.c) keeps a read pending on this device and applies
 * the layout, as NT's win32k does with kbdclass.
 *
 * NT splits this in two: the port driver i8042prt owns the controller and
 * its interrupt, and hands records to the class driver kbdclass through a
 * callback in its DPC; kbdclass queues them and answers reads. Here one
 * driver does both, in the same two halves:
 *
 *   IRQ 1 -> ISR (IRQL 5, IopKeyboardInterrupt): read the scan code from
 *            port 0x60 into ScanRing, IoRequestDpc
 *         -> DpcForIsr (DISPATCH_LEVEL, whatever thread the interrupt
 *            found): take the codes (KeSynchronizeExecution), turn them
 *            into records (the E0 / E1 prefix bytes become flags of the
 *            next record), queue them, fill the oldest pending reads'
 *            system buffers and complete them (IO_KEYBOARD_INCREMENT)
 *
 * Locking: the interrupt object's lock covers ScanRing (the ISR fills it,
 * the DPC empties it through KeSynchronizeExecution; before the interrupt
 * is connected, with interrupts disabled). Ext->Lock (a spin lock,
 * DISPATCH_LEVEL) covers the prefix state, the record queue and the
 * pending reads (a cancel-safe queue of io/pendq.c).
 * IRPs are completed after the lock is released: the console's completion
 * routine sends its next read here at once.
 *
 * Tests cannot press a key, so IopKeyboardTestInput puts scan codes into
 * ScanRing as the ISR would and queues the same DPC (tests/kernel/test_kbd.c).
 */
#include "../iop.h"
#include "../../hal/hal.h"
#include "../../include/intrin.h"
#include "../../include/ntddkbd.h"

#define I8042_DATA_PORT 0x60
#define I8042_STATUS_PORT 0x64
#define I8042_OUTPUT_FULL 0x01 /* status bit 0: a byte waits in the data port */

#define KBD_SCAN_RING 64 /* scan codes between the ISR and the DPC */
#define KBD_QUEUE_SIZE 64 /* records nobody has read yet (NT's default is 100) */

typedef struct _KBD_DEVICE_EXTENSION {
    PKINTERRUPT Interrupt; /* NULL until IopKeyboardConnectInterrupt */
    /* The interrupt object's lock: */
    volatile UCHAR ScanRing[KBD_SCAN_RING];
    ULONG ScanHead, ScanTail;
    ULONG ScanDropped; /* codes lost to a full ring */
    /* Lock: */
    KSPIN_LOCK Lock;
    USHORT PrefixFlags; /* KEY_E0 / KEY_E1 for the next code */
    KEYBOARD_INPUT_DATA Queue[KBD_QUEUE_SIZE];
    ULONG QueueHead, QueueCount;
    ULONG QueueDropped; /* records lost to a full queue */
    IOP_PENDING_QUEUE ReadQueue; /* pending reads, oldest first (io/pendq.c) */
} KBD_DEVICE_EXTENSION, *PKBD_DEVICE_EXTENSION;

static PDEVICE_OBJECT IopKeyboardDevice;

/* Under the interrupt lock: one scan code into the ring (dropped when full). */
static void IopKbdPushScanCode(PKBD_DEVICE_EXTENSION Ext, UCHAR Code)
{
    ULONG Next = (Ext->ScanHead + 1) % KBD_SCAN_RING;
    if (Next == Ext->ScanTail) {
        Ext->ScanDropped++;
        return;
    }
    Ext->ScanRing[Ext->ScanHead] = Code;
    Ext->ScanHead = Next;
}

/* The ISR, at IRQL 5: not ours when the controller has no byte for us. */
static BOOLEAN IopKeyboardInterrupt(PKINTERRUPT Interrupt, PVOID Context)
{
    PDEVICE_OBJECT Device = Context;
    UNREFERENCED_PARAMETER(Interrupt);
    if (!(__inbyte(I8042_STATUS_PORT) & I8042_OUTPUT_FULL))
        return FALSE;
    IopKbdPushScanCode(Device->DeviceExtension, __inbyte(I8042_DATA_PORT));
    IoRequestDpc(Device, NULL, NULL);
    return TRUE;
}

typedef struct _KBD_SCAN_TAKE {
    PKBD_DEVICE_EXTENSION Ext;
    UCHAR Codes[KBD_SCAN_RING];
    ULONG Count;
} KBD_SCAN_TAKE;

/* Synchronized with the ISR: move every scan code out of the ring. */
static BOOLEAN IopKbdTakeScanCodes(PVOID Context)
{
    KBD_SCAN_TAKE *Take = Context;
    PKBD_DEVICE_EXTENSION Ext = Take->Ext;
    while (Ext->ScanTail != Ext->ScanHead) {
        Take->Codes[Take->Count++] = Ext->ScanRing[Ext->ScanTail];
        Ext->ScanTail = (Ext->ScanTail + 1) % KBD_SCAN_RING;
    }
    return Take->Count != 0;
}

/* Under Lock: one scan code of set 1 into the record queue. A prefix byte
 * only flags the next code; the controller's own answers (0xFA ack, 0xFE
 * resend, 0x00 / 0xFF errors) are no keys. */
static void IopKbdQueueScanCode(PKBD_DEVICE_EXTENSION Ext, UCHAR Code)
{
    if (Code == 0xE0 || Code == 0xE1) {
        Ext->PrefixFlags = Code == 0xE0 ? KEY_E0 : KEY_E1;
        return;
    }
    if (Code == 0x00 || Code == 0xFF || Code == 0xFA || Code == 0xFE)
        return;
    USHORT Flags = (USHORT)((Code & 0x80 ? KEY_BREAK : KEY_MAKE) | Ext->PrefixFlags);
    Ext->PrefixFlags = 0;
    if (Ext->QueueCount == KBD_QUEUE_SIZE) {
        Ext->QueueDropped++;
        return;
    }
    PKEYBOARD_INPUT_DATA Data = &Ext->Queue[(Ext->QueueHead + Ext->QueueCount) % KBD_QUEUE_SIZE];
    Data->UnitId = 0;
    Data->MakeCode = Code & 0x7F;
    Data->Flags = Flags;
    Data->Reserved = 0;
    Data->ExtraInformation = 0;
    Ext->QueueCount++;
}

/* Under Lock: move the oldest records that fit into Length bytes of
 * Buffer; returns the bytes moved. */
static ULONG IopKbdTakeRecords(PKBD_DEVICE_EXTENSION Ext, PVOID Buffer, ULONG Length)
{
    PKEYBOARD_INPUT_DATA Out = Buffer;
    ULONG Count = 0;
    while (Count < Length / sizeof(KEYBOARD_INPUT_DATA) && Ext->QueueCount != 0) {
        Out[Count++] = Ext->Queue[Ext->QueueHead];
        Ext->QueueHead = (Ext->QueueHead + 1) % KBD_QUEUE_SIZE;
        Ext->QueueCount--;
    }
    return Count * (ULONG)sizeof(KEYBOARD_INPUT_DATA);
}

/* Under Lock: take the pending reads there are records for off the queue
 * (oldest first), filled, onto Done. */
static void IopKbdServeReads(PKBD_DEVICE_EXTENSION Ext, PLIST_ENTRY Done)
{
    PIRP Irp;
    while (Ext->QueueCount != 0 && (Irp = IopDequeuePendingIrp(&Ext->ReadQueue)) != NULL) {
        Irp->IoStatus.Information =
            IopKbdTakeRecords(Ext, Irp->AssociatedIrp.SystemBuffer,
                              IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length);
        InsertTailList(Done, &Irp->Tail.Overlay.ListEntry);
    }
}

/* The DpcForIsr, at DISPATCH_LEVEL in whatever thread the interrupt found:
 * scan codes -> records -> the pending reads. */
static void IopKbdDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Unused, PVOID Context)
{
    PKBD_DEVICE_EXTENSION Ext = DeviceObject->DeviceExtension;
    KBD_SCAN_TAKE Take = {.Ext = Ext, .Count = 0};
    LIST_ENTRY Done;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Unused);
    UNREFERENCED_PARAMETER(Context);

    (void)IopSynchronizeWithIsr(Ext->Interrupt, IopKbdTakeScanCodes, &Take);
    InitializeListHead(&Done);
    KeAcquireSpinLockAtDpcLevel(&Ext->Lock);
    for (ULONG i = 0; i < Take.Count; i++)
        IopKbdQueueScanCode(Ext, Take.Codes[i]);
    IopKbdServeReads(Ext, &Done);
    KeReleaseSpinLockFromDpcLevel(&Ext->Lock);
    while (!IsListEmpty(&Done)) {
        PIRP Irp = CONTAINING_RECORD(RemoveHeadList(&Done), IRP, Tail.Overlay.ListEntry);
        IopCompleteIrp(Irp, STATUS_SUCCESS, Irp->IoStatus.Information, IO_KEYBOARD_INCREMENT);
    }
}

/* IRP_MJ_READ: whole records, the ones queued already or, when there are
 * none, pend until the DPC has some. A length that is not a multiple of a
 * record is STATUS_BUFFER_TOO_SMALL, as NT's kbdclass answers. */
static NTSTATUS IopKbdRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PKBD_DEVICE_EXTENSION Ext = DeviceObject->DeviceExtension;
    ULONG Length = IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length;
    KIRQL OldIrql;

    if (Length == 0)
        return IopCompleteIrp(Irp, STATUS_SUCCESS, 0, IO_NO_INCREMENT);
    if (Length % sizeof(KEYBOARD_INPUT_DATA) != 0)
        return IopCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0, IO_NO_INCREMENT);
    KeAcquireSpinLock(&Ext->Lock, &OldIrql);
    if (IopPendingQueueEmpty(&Ext->ReadQueue) && Ext->QueueCount != 0) {
        ULONG Done = IopKbdTakeRecords(Ext, Irp->AssociatedIrp.SystemBuffer, Length);
        KeReleaseSpinLock(&Ext->Lock, OldIrql);
        return IopCompleteIrp(Irp, STATUS_SUCCESS, Done, IO_NO_INCREMENT);
    }
    NTSTATUS Status = IopQueuePendingIrp(&Ext->ReadQueue, Irp);
    KeReleaseSpinLock(&Ext->Lock, OldIrql);
    if (Status == STATUS_CANCELLED)
        IopCompleteIrp(Irp, STATUS_CANCELLED, 0, IO_NO_INCREMENT);
    return Status;
}

/* IopKeyboardClassDriverEntry: the contract is in io/iop.h. */
NTSTATUS IopKeyboardClassDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    static UNICODE_STRING DeviceName = RTL_CONSTANT_STRING(DD_KEYBOARD_DEVICE_NAME_0);
    PDEVICE_OBJECT Device;
    UNREFERENCED_PARAMETER(RegistryPath);

    IopSetOpenCloseDispatch(DriverObject);
    DriverObject->MajorFunction[IRP_MJ_READ] = IopKbdRead;
    NTSTATUS Status = IoCreateDevice(DriverObject, sizeof(KBD_DEVICE_EXTENSION), &DeviceName,
                                     FILE_DEVICE_KEYBOARD, 0, FALSE, &Device);
    if (!NT_SUCCESS(Status))
        return Status;
    PKBD_DEVICE_EXTENSION Ext = Device->DeviceExtension;
    KeInitializeSpinLock(&Ext->Lock);
    IopInitializePendingQueue(&Ext->ReadQueue, &Ext->Lock);
    IoInitializeDpcRequest(Device, IopKbdDpcForIsr);
    Device->Flags |= DO_BUFFERED_IO;
    Device->Flags &= ~DO_DEVICE_INITIALIZING;
    IopKeyboardDevice = Device;
    return STATUS_SUCCESS;
}

/* IopKeyboardConnectInterrupt: the contract is in io/iop.h. */
NTSTATUS IopKeyboardConnectInterrupt(void)
{
    PKBD_DEVICE_EXTENSION Ext = IopKeyboardDevice->DeviceExtension;
    PKINTERRUPT Interrupt;
    KIRQL Irql;
    KAFFINITY Affinity;
    ULONG Vector = HalGetInterruptVector(Isa, 0, 1, 1, &Irql, &Affinity);
    NTSTATUS Status = IoConnectInterrupt(&Interrupt, IopKeyboardInterrupt, IopKeyboardDevice, NULL,
                                         Vector, Irql, Irql, Latched, FALSE, Affinity, FALSE);
    if (!NT_SUCCESS(Status))
        return Status;
    Ext->Interrupt = Interrupt;
    KdPrintBoot("kbdclass: \\Device\\KeyboardClass0, i8042 keyboard on IRQ 1 (vector 0x%x, "
                "IRQL %u)\n",
                Vector, Irql);
    return STATUS_SUCCESS;
}

/* IopKeyboardTestInput: the contract is in io/iop.h. */
typedef struct _KBD_TEST_PUSH {
    PKBD_DEVICE_EXTENSION Ext;
    const UCHAR *Codes;
    ULONG Count;
} KBD_TEST_PUSH;

static BOOLEAN IopKbdTestPush(PVOID Context)
{
    KBD_TEST_PUSH *Push = Context;
    for (ULONG i = 0; i < Push->Count; i++)
        IopKbdPushScanCode(Push->Ext, Push->Codes[i]);
    return TRUE;
}

void IopKeyboardTestInput(const UCHAR *Codes, ULONG Count)
{
    KBD_TEST_PUSH Push = {IopKeyboardDevice->DeviceExtension, Codes, Count};
    (void)IopSynchronizeWithIsr(Push.Ext->Interrupt, IopKbdTestPush, &Push);
    IoRequestDpc(IopKeyboardDevice, NULL, NULL);
}
