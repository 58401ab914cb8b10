/*
 * serial.c - the serial port driver: \Driver\Serial with \Device\Serial0
 * and the link \??\COM1, the 16550 UART at 0x3F8 (hal/serial.c holds its
 * registers). Buffered I/O. A read takes the bytes received so far, at
 * least one, and pends until one arrives; a write sends its bytes as they
 * are. The console driver (io/drivers/console.c) keeps a read pending
 * here, which is how what the test harness types into COM1 reaches the
 * shell.
 *
 *   byte on the line -> ISR (IRQL 4, IopSerialInterrupt): drain the UART's
 *                       FIFO into Ring, IoRequestDpc
 *                    -> DpcForIsr (DISPATCH_LEVEL, any thread): fill the
 *                       oldest pending reads' system buffers from Ring
 *                       (KeSynchronizeExecution), complete them
 *                       (IO_SERIAL_INCREMENT)
 *
 * Before IopSerialConnectInterrupt has turned the receive interrupt on
 * (early boot, or a machine without the UART), a read polls the UART
 * itself. A write polls the transmitter-empty bit before each byte
 * (HalSerialWriteByte) and completes when the last one is in the UART:
 * NOTE: no transmit interrupt, no write queue, as the kernel's own output
 * (DbgPrint) does; writes and DbgPrint share the line unsynchronized.
 *
 * NT's serial.sys completes a read according to the timeouts a client sets
 * with IOCTL_SERIAL_SET_TIMEOUTS; this driver always behaves as with
 * ReadIntervalTimeout = MAXULONG and a read that waits for its first byte
 * (there are no serial controls yet). The device is exclusive, as NT's
 * ports are: one open file at a time (the console does not open it; it
 * sends its IRPs to the device object).
 *
 * Locking: the interrupt object's lock covers Ring (the ISR fills it; the
 * DPC and the read path empty it through KeSynchronizeExecution, or with
 * interrupts disabled before the interrupt is connected). Ext->Lock (a
 * spin lock) covers the pending reads (a cancel-safe queue of
 * io/pendq.c). IRPs are completed after the lock is released.
 *
 * IopSerialTestInput puts bytes into Ring as the ISR would and queues the
 * same DPC, for the tests (tests/kernel/test_kbd.c).
 */
#include "../iop.h"
#include "../../hal/hal.h"
#include "../../include/intrin.h"

#define SERIAL_RING 256 /* received bytes nobody has read yet */

typedef struct _SERIAL_DEVICE_EXTENSION {
    PKINTERRUPT Interrupt; /* NULL until IopSerialConnectInterrupt */
    BOOLEAN ReceiveInterruptOn; /* FALSE: reads poll the UART */
    /* The interrupt object's lock: */
    volatile UCHAR Ring[SERIAL_RING];
    volatile ULONG Head, Tail;
    ULONG Dropped; /* bytes lost to a full ring */
    /* Lock: */
    KSPIN_LOCK Lock;
    IOP_PENDING_QUEUE ReadQueue; /* pending reads, oldest first (io/pendq.c) */
} SERIAL_DEVICE_EXTENSION, *PSERIAL_DEVICE_EXTENSION;

static PDEVICE_OBJECT IopSerialDevice;

/* Excluded from the ISR: one byte into the ring (dropped when full). */
static void IopSerialPushByte(PSERIAL_DEVICE_EXTENSION Ext, UCHAR Byte)
{
    ULONG Next = (Ext->Head + 1) % SERIAL_RING;
    if (Next == Ext->Tail) {
        Ext->Dropped++;
        return;
    }
    Ext->Ring[Ext->Head] = Byte;
    Ext->Head = Next;
}

/* Excluded from the ISR: every byte the UART holds into the ring; TRUE if
 * there was one. */
static BOOLEAN IopSerialDrainUart(PVOID Context)
{
    PSERIAL_DEVICE_EXTENSION Ext = Context;
    BOOLEAN Any = FALSE;
    int C;
    while ((C = HalSerialPollChar()) >= 0) {
        IopSerialPushByte(Ext, (UCHAR)C);
        Any = TRUE;
    }
    return Any;
}

/* COM1's ISR, at IRQL 4: the interrupt is the UART's if it held a byte. */
static BOOLEAN IopSerialInterrupt(PKINTERRUPT Interrupt, PVOID Context)
{
    PDEVICE_OBJECT Device = Context;
    UNREFERENCED_PARAMETER(Interrupt);
    if (!IopSerialDrainUart(Device->DeviceExtension))
        return FALSE;
    IoRequestDpc(Device, NULL, NULL);
    return TRUE;
}

typedef struct _SERIAL_TAKE {
    PSERIAL_DEVICE_EXTENSION Ext;
    PUCHAR Buffer;
    ULONG Length;
    ULONG Done;
} SERIAL_TAKE;

/* Excluded from the ISR: move up to Length received bytes into Buffer. */
static BOOLEAN IopSerialTakeBytes(PVOID Context)
{
    SERIAL_TAKE *Take = Context;
    PSERIAL_DEVICE_EXTENSION Ext = Take->Ext;
    while (Take->Done < Take->Length && Ext->Tail != Ext->Head) {
        Take->Buffer[Take->Done++] = Ext->Ring[Ext->Tail];
        Ext->Tail = (Ext->Tail + 1) % SERIAL_RING;
    }
    return Take->Done != 0;
}

/* Under Lock: the received bytes for Irp's system buffer; how many. */
static ULONG IopSerialFill(PSERIAL_DEVICE_EXTENSION Ext, PIRP Irp)
{
    SERIAL_TAKE Take = {Ext, Irp->AssociatedIrp.SystemBuffer,
                        IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length, 0};
    (void)IopSynchronizeWithIsr(Ext->Interrupt, IopSerialTakeBytes, &Take);
    return Take.Done;
}

/* The DpcForIsr, at DISPATCH_LEVEL in whatever thread the interrupt found:
 * complete the pending reads, oldest first, while there are bytes. */
static void IopSerialDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Unused, PVOID Context)
{
    PSERIAL_DEVICE_EXTENSION Ext = DeviceObject->DeviceExtension;
    LIST_ENTRY Done;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Unused);
    UNREFERENCED_PARAMETER(Context);

    InitializeListHead(&Done);
    KeAcquireSpinLockAtDpcLevel(&Ext->Lock);
    PIRP Irp;
    while (Ext->Tail != Ext->Head && (Irp = IopDequeuePendingIrp(&Ext->ReadQueue)) != NULL) {
        Irp->IoStatus.Information = IopSerialFill(Ext, Irp);
        InsertTailList(&Done, &Irp->Tail.Overlay.ListEntry);
    }
    KeReleaseSpinLockFromDpcLevel(&Ext->Lock);
    while (!IsListEmpty(&Done)) {
        PIRP Irp = CONTAINING_RECORD(RemoveHeadList(&Done), IRP, Tail.Overlay.ListEntry);
        IopCompleteIrp(Irp, STATUS_SUCCESS, Irp->IoStatus.Information, IO_SERIAL_INCREMENT);
    }
}

/* IRP_MJ_READ: the bytes received already, or pend until the DPC has some. */
static NTSTATUS IopSerialRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSERIAL_DEVICE_EXTENSION Ext = DeviceObject->DeviceExtension;
    KIRQL OldIrql;

    if (IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length == 0)
        return IopCompleteIrp(Irp, STATUS_SUCCESS, 0, IO_NO_INCREMENT);
    if (!Ext->ReceiveInterruptOn)
        (void)IopSynchronizeWithIsr(Ext->Interrupt, IopSerialDrainUart,
                                    Ext); /* no interrupt: poll */
    KeAcquireSpinLock(&Ext->Lock, &OldIrql);
    if (IopPendingQueueEmpty(&Ext->ReadQueue)) {
        ULONG Done = IopSerialFill(Ext, Irp);
        if (Done != 0) {
            KeReleaseSpinLock(&Ext->Lock, OldIrql);
            return IopCompleteIrp(Irp, STATUS_SUCCESS, Done, IO_NO_INCREMENT);
        }
    }
    NTSTATUS Status = IopQueuePendingIrp(&Ext->ReadQueue, Irp);
    KeReleaseSpinLock(&Ext->Lock, OldIrql);
    if (Status == STATUS_CANCELLED)
        IopCompleteIrp(Irp, STATUS_CANCELLED, 0, IO_NO_INCREMENT);
    return Status;
}

/* IRP_MJ_WRITE: send the system buffer's bytes, polled (see the header). */
static NTSTATUS IopSerialWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    ULONG Length = IoGetCurrentIrpStackLocation(Irp)->Parameters.Write.Length;
    const UCHAR *Bytes = Irp->AssociatedIrp.SystemBuffer;
    UNREFERENCED_PARAMETER(DeviceObject);
    for (ULONG i = 0; i < Length; i++)
        HalSerialWriteByte(Bytes[i]);
    return IopCompleteIrp(Irp, STATUS_SUCCESS, Length, IO_SERIAL_INCREMENT);
}

/* IopSerialDriverEntry: the contract is in io/iop.h. */
NTSTATUS IopSerialDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    static UNICODE_STRING DeviceName = RTL_CONSTANT_STRING(u"\\Device\\Serial0");
    static UNICODE_STRING LinkName = RTL_CONSTANT_STRING(u"\\??\\COM1");
    PDEVICE_OBJECT Device;
    UNREFERENCED_PARAMETER(RegistryPath);

    IopSetOpenCloseDispatch(DriverObject);
    DriverObject->MajorFunction[IRP_MJ_READ] = IopSerialRead;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = IopSerialWrite;
    NTSTATUS Status = IoCreateDevice(DriverObject, sizeof(SERIAL_DEVICE_EXTENSION), &DeviceName,
                                     FILE_DEVICE_SERIAL_PORT, 0, TRUE, &Device);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = IoCreateSymbolicLink(&LinkName, &DeviceName);
    if (!NT_SUCCESS(Status)) {
        IoDeleteDevice(Device);
        return Status;
    }
    PSERIAL_DEVICE_EXTENSION Ext = Device->DeviceExtension;
    KeInitializeSpinLock(&Ext->Lock);
    IopInitializePendingQueue(&Ext->ReadQueue, &Ext->Lock);
    IoInitializeDpcRequest(Device, IopSerialDpcForIsr);
    Device->Flags |= DO_BUFFERED_IO;
    Device->Flags &= ~DO_DEVICE_INITIALIZING;
    IopSerialDevice = Device;
    return STATUS_SUCCESS;
}

/* IopSerialConnectInterrupt: the contract is in io/iop.h. */
NTSTATUS IopSerialConnectInterrupt(void)
{
    PSERIAL_DEVICE_EXTENSION Ext = IopSerialDevice->DeviceExtension;
    PKINTERRUPT Interrupt;
    KIRQL Irql;
    KAFFINITY Affinity;
    ULONG Vector = HalGetInterruptVector(Isa, 0, 4, 4, &Irql, &Affinity);
    NTSTATUS Status = IoConnectInterrupt(&Interrupt, IopSerialInterrupt, IopSerialDevice, NULL,
                                         Vector, Irql, Irql, Latched, FALSE, Affinity, FALSE);
    if (!NT_SUCCESS(Status))
        return Status;
    Ext->Interrupt = Interrupt;
    Ext->ReceiveInterruptOn = HalSerialEnableReceiveInterrupt();
    /* What arrived while reads polled: the DPC hands it to a pending read. */
    if (IopSynchronizeWithIsr(Ext->Interrupt, IopSerialDrainUart, Ext) || Ext->Head != Ext->Tail)
        IoRequestDpc(IopSerialDevice, NULL, NULL);
    KdPrintBoot("Serial: \\Device\\Serial0 (\\??\\COM1), 16550 UART at 0x%x on IRQ 4 (vector "
                "0x%x, IRQL %u), receive interrupt %s\n",
                COM1_PORT, Vector, Irql, Ext->ReceiveInterruptOn ? "on" : "off (no UART)");
    return STATUS_SUCCESS;
}

/* IopSerialTestInput: the contract is in io/iop.h. */
typedef struct _SERIAL_TEST_PUSH {
    PSERIAL_DEVICE_EXTENSION Ext;
    const UCHAR *Bytes;
    ULONG Count;
} SERIAL_TEST_PUSH;

static BOOLEAN IopSerialTestPush(PVOID Context)
{
    SERIAL_TEST_PUSH *Push = Context;
    for (ULONG i = 0; i < Push->Count; i++)
        IopSerialPushByte(Push->Ext, Push->Bytes[i]);
    return TRUE;
}

void IopSerialTestInput(const UCHAR *Bytes, ULONG Count)
{
    SERIAL_TEST_PUSH Push = {IopSerialDevice->DeviceExtension, Bytes, Count};
    (void)IopSynchronizeWithIsr(Push.Ext->Interrupt, IopSerialTestPush, &Push);
    IoRequestDpc(IopSerialDevice, NULL, NULL);
}
