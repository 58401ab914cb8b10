/*
 * console.c - the console driver: \Device\Console (and \??\CON). A write
 * prints (COM1 and the VGA screen); a read completes with what the serial
 * port and the keyboard typed, and pends until something is typed.
 *
 * The seeds' scenario, on every keystroke: a program's read pends here; the
 * key's interrupt lands in whatever thread is running; its ISR only moves
 * the byte into a ring and queues the DPC; the DPC, still in that
 * arbitrary thread, completes the pending read into the IRP's system
 * buffer (DO_BUFFERED_IO: nonpaged pool, valid in every process); the
 * I/O manager's APC then copies it to the reader's buffer in the reader's
 * own thread (io/iocomp.c).
 *
 *   COM1 / keyboard IRQ -> ISR: ring <- byte, KeInsertQueueDpc
 *                       -> DPC: pending IRP's SystemBuffer <- ring,
 *                               IoCompleteRequest(IO_KEYBOARD_INCREMENT)
 *                       -> APC in the reader: UserBuffer <- SystemBuffer
 *
 * Reads are raw (the shell does its own echo and editing) and take what is
 * there, at least one byte. Pending reads wait in IopConsoleReadQueue with a
 * cancel routine; the queue is under IopConsoleLock (a spin lock,
 * DISPATCH_LEVEL). The ring is filled at device IRQL and emptied with
 * interrupts disabled. Before COM1's receive interrupt is on, reads poll
 * the UART. Both ISRs are connected with IoConnectInterrupt
 * (IoConsoleConnectInterrupts, once interrupts are on at boot), as any
 * driver's are.
 */
#include "../iop.h"
#include "../../hal/hal.h"
#include "../../include/intrin.h"

static KDPC IopConsoleDpc;
static BOOLEAN IopConsoleReady;
static KSPIN_LOCK IopConsoleLock;
static LIST_ENTRY IopConsoleReadQueue; /* IopConsoleLock: pending reads (Tail.Overlay.ListEntry) */
static PDEVICE_OBJECT IopConsoleDevice;

/* ------------------------------------------------------------------------
 * Input: COM1's receive interrupt and the keyboard's both push characters
 * into one ring at device IRQL; the driver takes them out with interrupts
 * off.
 * ------------------------------------------------------------------------ */
#define IOP_INPUT_RING 256
static volatile char IopInputRing[IOP_INPUT_RING];
static volatile ULONG IopInputHead, IopInputTail;
static BOOLEAN IopSerialInterruptsOn;

void IopConsoleInputPush(char C)
{
    ULONG Next = (IopInputHead + 1) % IOP_INPUT_RING;
    if (Next == IopInputTail)
        return;
    IopInputRing[IopInputHead] = C;
    IopInputHead = Next;
    if (IopConsoleReady)
        KeInsertQueueDpc(&IopConsoleDpc, NULL, NULL);
}

/* Take every byte the UART holds; TRUE if there was one. */
static BOOLEAN IopConsolePollSerial(void)
{
    int C;
    BOOLEAN Any = FALSE;
    while ((C = HalSerialPollChar()) >= 0) {
        IopConsoleInputPush((char)C);
        Any = TRUE;
    }
    return Any;
}

/* COM1's ISR, at IRQL 4: the interrupt is the UART's if it held a byte. */
static BOOLEAN IopSerialInterrupt(PKINTERRUPT Interrupt, PVOID Context)
{
    UNREFERENCED_PARAMETER(Interrupt);
    UNREFERENCED_PARAMETER(Context);
    return IopConsolePollSerial();
}

/* IoConsoleConnectInterrupts: the contract is in io/io.h. */
void IoConsoleConnectInterrupts(void)
{
    static PKINTERRUPT SerialInterrupt;
    KIRQL Irql;
    KAFFINITY Affinity;
    ULONG Vector = HalGetInterruptVector(Isa, 0, 4, 4, &Irql, &Affinity);
    NTSTATUS Status = IoConnectInterrupt(&SerialInterrupt, IopSerialInterrupt, NULL, NULL, Vector,
                                         Irql, Irql, Latched, FALSE, Affinity, FALSE);
    if (NT_SUCCESS(Status))
        IopSerialInterruptsOn = HalSerialEnableReceiveInterrupt();
    NTSTATUS KeyboardStatus = IopConnectKeyboardInterrupt();
    if (!NT_SUCCESS(Status) || !NT_SUCCESS(KeyboardStatus))
        DbgPrint("console: connecting COM1 0x%x, keyboard 0x%x\n", (ULONG)Status,
                 (ULONG)KeyboardStatus);
}

/* Move up to Length typed bytes into Buffer; returns how many. */
static ULONG IopConsoleTakeInput(PUCHAR Buffer, ULONG Length)
{
    ULONG Done = 0;
    ULONG64 Flags = __readeflags();
    _disable();
    while (Done < Length && IopInputTail != IopInputHead) {
        Buffer[Done++] = (UCHAR)IopInputRing[IopInputTail];
        IopInputTail = (IopInputTail + 1) % IOP_INPUT_RING;
    }
    __writeeflags(Flags);
    return Done;
}

/* The cancel routine of a pending read: off the queue, STATUS_CANCELLED. */
static void IopConsoleCancelRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    KIRQL OldIrql;
    UNREFERENCED_PARAMETER(DeviceObject);
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    KeAcquireSpinLock(&IopConsoleLock, &OldIrql);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    KeReleaseSpinLock(&IopConsoleLock, OldIrql);
    IopCompleteIrp(Irp, STATUS_CANCELLED, 0, IO_NO_INCREMENT);
}

/* The DPC: complete the pending reads, oldest first, while there is input.
 * DISPATCH_LEVEL, in whatever thread the interrupt found. */
static void IopConsoleInputDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    LIST_ENTRY Done;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);

    InitializeListHead(&Done);
    KeAcquireSpinLockAtDpcLevel(&IopConsoleLock);
    PLIST_ENTRY E = IopConsoleReadQueue.Flink;
    while (E != &IopConsoleReadQueue && IopInputTail != IopInputHead) {
        PIRP Irp = CONTAINING_RECORD(E, IRP, Tail.Overlay.ListEntry);
        E = E->Flink;
        /* NULL: IoCancelIrp has it, and its routine takes it off the queue. */
        if (IoSetCancelRoutine(Irp, NULL) == NULL)
            continue;
        RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
        Irp->IoStatus.Information =
            IopConsoleTakeInput(Irp->AssociatedIrp.SystemBuffer,
                                IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length);
        InsertTailList(&Done, &Irp->Tail.Overlay.ListEntry);
    }
    KeReleaseSpinLockFromDpcLevel(&IopConsoleLock);
    /* I/O completion: the reader gets NT's keyboard boost, so an
     * interactive program answers ahead of busy ones (kernel/sched.c). */
    while (!IsListEmpty(&Done)) {
        PIRP Irp = CONTAINING_RECORD(RemoveHeadList(&Done), IRP, Tail.Overlay.ListEntry);
        IopCompleteIrp(Irp, STATUS_SUCCESS, Irp->IoStatus.Information, IO_KEYBOARD_INCREMENT);
    }
}

/* IRP_MJ_READ: what is typed already, or pend until the DPC has some. */
static NTSTATUS IopConsoleRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    ULONG Length = IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length;
    KIRQL OldIrql;
    UNREFERENCED_PARAMETER(DeviceObject);

    if (Length == 0)
        return IopCompleteIrp(Irp, STATUS_SUCCESS, 0, IO_NO_INCREMENT);
    if (!IopSerialInterruptsOn)
        (void)IopConsolePollSerial(); /* no receive interrupt: poll */
    KeAcquireSpinLock(&IopConsoleLock, &OldIrql);
    if (IsListEmpty(&IopConsoleReadQueue)) {
        ULONG Done = IopConsoleTakeInput(Irp->AssociatedIrp.SystemBuffer, Length);
        if (Done != 0) {
            KeReleaseSpinLock(&IopConsoleLock, OldIrql);
            return IopCompleteIrp(Irp, STATUS_SUCCESS, Done, IO_NO_INCREMENT);
        }
    }
    IoSetCancelRoutine(Irp, IopConsoleCancelRead);
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
        KeReleaseSpinLock(&IopConsoleLock, OldIrql);
        return IopCompleteIrp(Irp, STATUS_CANCELLED, 0, IO_NO_INCREMENT);
    }
    IoMarkIrpPending(Irp);
    InsertTailList(&IopConsoleReadQueue, &Irp->Tail.Overlay.ListEntry);
    KeReleaseSpinLock(&IopConsoleLock, OldIrql);
    return STATUS_PENDING;
}

/* IRP_MJ_WRITE: print the system buffer. */
static NTSTATUS IopConsoleWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    ULONG Length = IoGetCurrentIrpStackLocation(Irp)->Parameters.Write.Length;
    UNREFERENCED_PARAMETER(DeviceObject);
    DbgPrint("%.*s", (int)Length, (const char *)Irp->AssociatedIrp.SystemBuffer);
    return IopCompleteIrp(Irp, STATUS_SUCCESS, Length, IO_NO_INCREMENT);
}

/* IRP_MJ_CREATE, IRP_MJ_CLEANUP, IRP_MJ_CLOSE. */
static NTSTATUS IopConsoleOpenClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    return IopCompleteIrp(Irp, STATUS_SUCCESS, 0, IO_NO_INCREMENT);
}

/* IopConsoleDriverEntry: the contract is in io/iop.h. */
NTSTATUS IopConsoleDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    static UNICODE_STRING DeviceName = RTL_CONSTANT_STRING(u"\\Device\\Console");
    static UNICODE_STRING LinkName = RTL_CONSTANT_STRING(u"\\??\\CON");
    PDEVICE_OBJECT Device;
    UNREFERENCED_PARAMETER(RegistryPath);

    KeInitializeSpinLock(&IopConsoleLock);
    InitializeListHead(&IopConsoleReadQueue);
    KeInitializeDpc(&IopConsoleDpc, IopConsoleInputDpc, NULL);
    DriverObject->MajorFunction[IRP_MJ_CREATE] = IopConsoleOpenClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = IopConsoleOpenClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = IopConsoleOpenClose;
    DriverObject->MajorFunction[IRP_MJ_READ] = IopConsoleRead;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = IopConsoleWrite;

    NTSTATUS Status =
        IoCreateDevice(DriverObject, 0, &DeviceName, FILE_DEVICE_CONSOLE, 0, FALSE, &Device);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = IoCreateSymbolicLink(&LinkName, &DeviceName);
    if (!NT_SUCCESS(Status)) {
        IoDeleteDevice(Device);
        return Status;
    }
    Device->Flags |= DO_BUFFERED_IO;
    Device->Flags &= ~DO_DEVICE_INITIALIZING;
    IopConsoleDevice = Device;
    IopConsoleReady = TRUE;
    return STATUS_SUCCESS;
}

/* Open \Device\Console once more with Access and put the handle in Table. */
static NTSTATUS IopInsertConsoleHandle(PHANDLE_TABLE Table, ACCESS_MASK Access, PHANDLE Handle)
{
    PFILE_OBJECT File;
    NTSTATUS Status = IopOpenDevice(IopConsoleDevice, Access, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                    FILE_SYNCHRONOUS_IO_NONALERT, &File);
    if (!NT_SUCCESS(Status))
        return Status;
    File->Flags |= FO_HANDLE_CREATED;
    Status = ObInsertHandle(Table, File, Access, 0, Handle);
    if (!NT_SUCCESS(Status))
        IopCleanupUnhandledFile(File);
    ObDereferenceObject(File); /* the handle holds it, or nothing does */
    return Status;
}

/* IoInsertConsoleHandles: the contract is in io/io.h. */
NTSTATUS IoInsertConsoleHandles(PHANDLE_TABLE Table, PHANDLE Input, PHANDLE Output)
{
    NTSTATUS Status = IopInsertConsoleHandle(Table, FILE_GENERIC_READ, Input);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = IopInsertConsoleHandle(Table, FILE_GENERIC_WRITE, Output);
    if (!NT_SUCCESS(Status))
        (void)ObCloseHandleInTable(Table, *Input);
    return Status;
}
