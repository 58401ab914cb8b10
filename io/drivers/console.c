/*
 * console.c - the console driver: \Device\Console (and \??\CON). A write
 * prints (COM1 and the VGA screen, through DbgPrint: the HAL directly, not
 * the serial driver, so that the kernel's own messages and the programs'
 * output go out the same way at any IRQL); a read completes with what the
 * keyboard and the serial port typed, and pends until something is typed.
 *
 * The console owns no hardware. It is a client of two input drivers, the
 * keyboard class driver (io/drivers/kbdclass.c, \Device\KeyboardClass0)
 * and the serial driver (io/drivers/serial.c, \Device\Serial0), and keeps
 * one read IRP of its own pending on each: the "driver that keeps a read
 * pending below it" of NT, where win32k's raw input thread reads kbdclass.
 * The seeds' scenario, on every keystroke:
 *
 *   keyboard IRQ -> kbdclass ISR: scan code -> ring, IoRequestDpc
 *     -> kbdclass DPC (DISPATCH_LEVEL, whatever thread was running):
 *        records into the console's IRP, IoCompleteRequest
 *     -> IopConsoleInputComplete, the console's completion routine (same
 *        DPC, same thread): make codes -> characters (US layout, Shift),
 *        complete the program's pending read from its system buffer
 *        (IO_KEYBOARD_INCREMENT), send the IRP down again,
 *        STATUS_MORE_PROCESSING_REQUIRED
 *     -> the program's completion APC, in its own thread (io/iocomp.c):
 *        UserBuffer <- SystemBuffer
 *
 * COM1 is the same with the serial driver's ISR and DPC, and bytes that
 * need no translation. The console's two IRPs are its own: nonpaged pool
 * of its tag ("Cons"), set up with IoInitializeIrp at start-up and again
 * before every read, as NT lets a driver that allocates its IRPs itself
 * do (so the I/O manager's "Irp " tag still counts only IRPs in flight
 * for a request; these live as long as the system). Their buffers are the
 * console's own nonpaged memory.
 *
 * Reads are raw (the shell does its own echo and editing) and take what is
 * there, at least one byte. Typed characters wait in IopInputRing; pending
 * reads in IopConsoleReadQueue (a cancel-safe queue, io/pendq.c); both are under
 * IopConsoleLock (a spin lock: the completion routines run at
 * DISPATCH_LEVEL). IRPs are completed after the lock is released.
 */
#include "../iop.h"
#include "../../include/ntddkbd.h"

static KSPIN_LOCK IopConsoleLock;
static IOP_PENDING_QUEUE IopConsoleReadQueue; /* IopConsoleLock: pending reads (io/pendq.c) */
static PDEVICE_OBJECT IopConsoleDevice;

#define IOP_CONSOLE_TAG POOL_TAG('C', 'o', 'n', 's')

/* IOP_CONSOLE_INPUT.SendState (atomic): a completion inside IoCallDriver
 * leaves the next send to the sender's loop, so that a device with plenty
 * of input queued does not nest one completion inside the next. */
#define IOP_INPUT_IDLE 0 /* the IRP pended (or is home) */
#define IOP_INPUT_SENDING 1 /* IopConsoleSendRead is in IoCallDriver */
#define IOP_INPUT_RESEND 2 /* ... and the IRP came back wanting to go again */

#define IOP_INPUT_RING 256
static char IopInputRing[IOP_INPUT_RING]; /* IopConsoleLock: typed, not read yet */
static ULONG IopInputHead, IopInputTail;
static BOOLEAN IopConsoleShift; /* a Shift key is down (the keyboard's completion routine) */

/* One input device the console reads, with the IRP it keeps pending there. */
typedef struct _IOP_CONSOLE_INPUT {
    const char *Name;
    UNICODE_STRING DeviceName;
    BOOLEAN Keyboard; /* KEYBOARD_INPUT_DATA records, or bytes */
    PVOID Buffer; /* the IRP's system buffer */
    ULONG Length;
    PDEVICE_OBJECT Device; /* the top of that device's stack, referenced */
    PIRP Irp; /* ours (IOP_CONSOLE_TAG): sent again after each completion */
    CCHAR StackSize; /* its locations: Device->StackSize */
    volatile BOOLEAN Stop; /* IopConsoleStopInput: do not send it again */
    LONG SendState; /* IOP_INPUT_*: is IopConsoleSendRead inside IoCallDriver? */
    KEVENT Home; /* signalled while the IRP is not sent */
} IOP_CONSOLE_INPUT;

static KEYBOARD_INPUT_DATA IopConsoleKeyData[16];
static UCHAR IopConsoleSerialData[64];
static IOP_CONSOLE_INPUT IopConsoleInputs[] = {
    {.Name = "keyboard",
     .DeviceName = RTL_CONSTANT_STRING(DD_KEYBOARD_DEVICE_NAME_0),
     .Keyboard = TRUE,
     .Buffer = IopConsoleKeyData,
     .Length = sizeof(IopConsoleKeyData)},
    {.Name = "serial",
     .DeviceName = RTL_CONSTANT_STRING(u"\\Device\\Serial0"),
     .Keyboard = FALSE,
     .Buffer = IopConsoleSerialData,
     .Length = sizeof(IopConsoleSerialData)},
};

/* ------------------------------------------------------------------------
 * Input: the keyboard's records become characters.
 * ------------------------------------------------------------------------ */
static const char IopScanCodes[0x3A] = {
    0,    27,  '1', '2', '3', '4', '5', '6', '7', '8', '9',  '0', '-', '=',  '\b',
    '\t', 'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p',  '[', ']', '\r', 0,
    'a',  's', 'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0,   '\\', 'z',
    'x',  'c', 'v', 'b', 'n', 'm', ',', '.', '/', 0,   '*',  0,   ' ',
};
static const char IopScanCodesShift[0x3A] = {
    0,    27,  '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+',  '\b',
    '\t', 'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\r', 0,
    'A',  'S', 'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0,   '|',  'Z',
    'X',  'C', 'V', 'B', 'N', 'M', '<', '>', '?', 0,   '*', 0,   ' ',
};

/* The character a key record types (0: none). US layout: letters, digits,
 * punctuation, Enter, Backspace, Tab, Escape, Shift; everything else
 * (arrows, function keys, Ctrl, Alt) types nothing for now. An E0 key
 * types what its unprefixed twin does (the keypad's Enter and /), but the
 * E0-prefixed Shift codes some keyboards send around other keys are no
 * Shift. */
static char IopConsoleTranslate(const KEYBOARD_INPUT_DATA *Key)
{
    BOOLEAN Release = (Key->Flags & KEY_BREAK) != 0;
    if (Key->Flags & KEY_E1)
        return 0;
    if (Key->MakeCode == 0x2A || Key->MakeCode == 0x36) { /* left / right Shift */
        if (!(Key->Flags & KEY_E0))
            IopConsoleShift = !Release;
        return 0;
    }
    if (Release || Key->MakeCode >= sizeof(IopScanCodes))
        return 0;
    return IopConsoleShift ? IopScanCodesShift[Key->MakeCode] : IopScanCodes[Key->MakeCode];
}

/* Under IopConsoleLock: one typed character into the ring (dropped when full). */
static void IopConsolePutChar(char C)
{
    ULONG Next = (IopInputHead + 1) % IOP_INPUT_RING;
    if (C == 0 || Next == IopInputTail)
        return;
    IopInputRing[IopInputHead] = C;
    IopInputHead = Next;
}

/* Under IopConsoleLock: move up to Length typed bytes into Buffer; how many. */
static ULONG IopConsoleTakeInput(PUCHAR Buffer, ULONG Length)
{
    ULONG Done = 0;
    while (Done < Length && IopInputTail != IopInputHead) {
        Buffer[Done++] = (UCHAR)IopInputRing[IopInputTail];
        IopInputTail = (IopInputTail + 1) % IOP_INPUT_RING;
    }
    return Done;
}

/* Complete the pending reads, oldest first, while there is input.
 * IRQL <= DISPATCH_LEVEL; takes IopConsoleLock. */
static void IopConsoleServeReads(void)
{
    LIST_ENTRY Done;
    KIRQL OldIrql;

    InitializeListHead(&Done);
    KeAcquireSpinLock(&IopConsoleLock, &OldIrql);
    PIRP Irp;
    while (IopInputTail != IopInputHead &&
           (Irp = IopDequeuePendingIrp(&IopConsoleReadQueue)) != NULL) {
        Irp->IoStatus.Information =
            IopConsoleTakeInput(Irp->AssociatedIrp.SystemBuffer,
                                IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length);
        InsertTailList(&Done, &Irp->Tail.Overlay.ListEntry);
    }
    KeReleaseSpinLock(&IopConsoleLock, OldIrql);
    /* I/O completion: the reader gets NT's keyboard boost, so an
     * interactive program answers ahead of busy ones (kernel/sched.c). */
    while (!IsListEmpty(&Done)) {
        PIRP Irp = CONTAINING_RECORD(RemoveHeadList(&Done), IRP, Tail.Overlay.ListEntry);
        IopCompleteIrp(Irp, STATUS_SUCCESS, Irp->IoStatus.Information, IO_KEYBOARD_INCREMENT);
    }
}

/* What one of the console's reads brought (Information bytes in its
 * buffer) into the ring, as characters. */
static void IopConsoleAcceptInput(IOP_CONSOLE_INPUT *Input, ULONG_PTR Information)
{
    KIRQL OldIrql;
    KeAcquireSpinLock(&IopConsoleLock, &OldIrql);
    if (Input->Keyboard) {
        const KEYBOARD_INPUT_DATA *Keys = Input->Buffer;
        for (ULONG i = 0; i < Information / sizeof(KEYBOARD_INPUT_DATA); i++)
            IopConsolePutChar(IopConsoleTranslate(&Keys[i]));
    } else {
        const char *Bytes = Input->Buffer;
        for (ULONG i = 0; i < Information; i++)
            IopConsolePutChar(Bytes[i]);
    }
    KeReleaseSpinLock(&IopConsoleLock, OldIrql);
}

static NTSTATUS IopConsoleInputComplete(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context);

/* Send Input's IRP (again), set up afresh: a read of its whole buffer,
 * with the completion routine; again and again while the device completes
 * it at once and the routine asks for more. IRQL <= DISPATCH_LEVEL. */
static void IopConsoleSendRead(IOP_CONSOLE_INPUT *Input)
{
    PIRP Irp = Input->Irp;
    do {
        IoInitializeIrp(Irp, IoSizeOfIrp(Input->StackSize), Input->StackSize);
        Irp->AssociatedIrp.SystemBuffer = Input->Buffer;
        PIO_STACK_LOCATION Next = IoGetNextIrpStackLocation(Irp);
        Next->MajorFunction = IRP_MJ_READ;
        Next->Parameters.Read.Length = Input->Length;
        IoSetCompletionRoutine(Irp, IopConsoleInputComplete, Input, TRUE, TRUE, TRUE);
        KeClearEvent(&Input->Home);
        __atomic_store_n(&Input->SendState, IOP_INPUT_SENDING, __ATOMIC_SEQ_CST);
        (void)IoCallDriver(Input->Device, Irp);
    } while (__atomic_exchange_n(&Input->SendState, IOP_INPUT_IDLE, __ATOMIC_SEQ_CST) ==
             IOP_INPUT_RESEND);
}

/*
 * The completion routine of the console's reads, at the IRQL of whoever
 * completed them: DISPATCH_LEVEL from the input driver's DPC, in an
 * arbitrary thread; or inside IoCallDriver, when the device had input
 * already. Take the input, serve the console's pending reads, send the
 * IRP down again (or, inside IoCallDriver, have the sender do it); the
 * IRP stays the console's
 * (STATUS_MORE_PROCESSING_REQUIRED). An error (a cancel included) or
 * IopConsoleStopInput leaves it at home.
 */
static NTSTATUS IopConsoleInputComplete(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    IOP_CONSOLE_INPUT *Input = Context;
    NTSTATUS Status = Irp->IoStatus.Status;
    UNREFERENCED_PARAMETER(DeviceObject);

    if (NT_SUCCESS(Status)) {
        IopConsoleAcceptInput(Input, Irp->IoStatus.Information);
        IopConsoleServeReads();
    }
    if (!NT_SUCCESS(Status) || Input->Stop) {
        if (!NT_SUCCESS(Status) && !Input->Stop)
            DbgPrint("console: the %s read failed with 0x%08x; no more %s input\n", Input->Name,
                     (ULONG)Status, Input->Name);
        KeSetEvent(&Input->Home, IO_NO_INCREMENT, FALSE);
        return STATUS_MORE_PROCESSING_REQUIRED;
    }
    LONG Sending = IOP_INPUT_SENDING;
    if (!__atomic_compare_exchange_n(&Input->SendState, &Sending, IOP_INPUT_RESEND, FALSE,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        IopConsoleSendRead(Input); /* it pended: the sender is gone */
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Reference Input's device (the top of its stack), allocate the IRP and
 * send the first read. PASSIVE_LEVEL, at start-up. */
static NTSTATUS IopConsoleOpenInput(IOP_CONSOLE_INPUT *Input)
{
    PDEVICE_OBJECT Device;
    NTSTATUS Status = ObReferenceObjectByName(&Input->DeviceName, 0, IoDeviceObjectType, KernelMode,
                                              (PVOID *)&Device);
    if (!NT_SUCCESS(Status))
        return Status;
    Input->Device = IoGetAttachedDeviceReference(Device);
    ObDereferenceObject(Device);
    Input->StackSize = Input->Device->StackSize;
    Input->Irp =
        ExAllocatePoolWithTag(NonPagedPool, IoSizeOfIrp(Input->StackSize), IOP_CONSOLE_TAG);
    if (Input->Irp == NULL) {
        ObDereferenceObject(Input->Device);
        Input->Device = NULL;
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    KeInitializeEvent(&Input->Home, NotificationEvent, TRUE);
    IopConsoleSendRead(Input);
    return STATUS_SUCCESS;
}

/* IopConsoleStopInput, IopConsoleRestartInput: the contract is in io/iop.h. */
void IopConsoleStopInput(void)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    for (ULONG i = 0; i < ARRAYSIZE(IopConsoleInputs); i++) {
        IOP_CONSOLE_INPUT *Input = &IopConsoleInputs[i];
        if (Input->Irp == NULL || Input->Stop)
            continue;
        Input->Stop = TRUE;
        (void)IoCancelIrp(Input->Irp);
        (void)KeWaitForSingleObject(&Input->Home, Executive, KernelMode, FALSE, NULL);
    }
}

void IopConsoleRestartInput(void)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    for (ULONG i = 0; i < ARRAYSIZE(IopConsoleInputs); i++) {
        IOP_CONSOLE_INPUT *Input = &IopConsoleInputs[i];
        if (Input->Irp == NULL || !Input->Stop)
            continue;
        Input->Stop = FALSE;
        IopConsoleSendRead(Input);
    }
}

/* IoConsoleConnectInterrupts: the contract is in io/io.h. */
void IoConsoleConnectInterrupts(void)
{
    NTSTATUS KeyboardStatus = IopKeyboardConnectInterrupt();
    NTSTATUS SerialStatus = IopSerialConnectInterrupt();
    if (!NT_SUCCESS(SerialStatus) || !NT_SUCCESS(KeyboardStatus))
        DbgPrint("console: connecting COM1 0x%x, keyboard 0x%x\n", (ULONG)SerialStatus,
                 (ULONG)KeyboardStatus);
}

/* ------------------------------------------------------------------------
 * The console device's own requests.
 * ------------------------------------------------------------------------ */

/* IRP_MJ_READ: what is typed already, or pend until a completion routine
 * brings some. */
static NTSTATUS IopConsoleRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    ULONG Length = IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length;
    KIRQL OldIrql;
    UNREFERENCED_PARAMETER(DeviceObject);

    if (Length == 0)
        return IopCompleteIrp(Irp, STATUS_SUCCESS, 0, IO_NO_INCREMENT);
    KeAcquireSpinLock(&IopConsoleLock, &OldIrql);
    if (IopPendingQueueEmpty(&IopConsoleReadQueue)) {
        ULONG Done = IopConsoleTakeInput(Irp->AssociatedIrp.SystemBuffer, Length);
        if (Done != 0) {
            KeReleaseSpinLock(&IopConsoleLock, OldIrql);
            return IopCompleteIrp(Irp, STATUS_SUCCESS, Done, IO_NO_INCREMENT);
        }
    }
    NTSTATUS Status = IopQueuePendingIrp(&IopConsoleReadQueue, Irp);
    KeReleaseSpinLock(&IopConsoleLock, OldIrql);
    if (Status == STATUS_CANCELLED)
        IopCompleteIrp(Irp, STATUS_CANCELLED, 0, IO_NO_INCREMENT);
    return Status;
}

/* IRP_MJ_WRITE: print the system buffer. */
static NTSTATUS IopConsoleWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    ULONG Length = IoGetCurrentIrpStackLocation(Irp)->Parameters.Write.Length;
    UNREFERENCED_PARAMETER(DeviceObject);
    DbgPrint("%.*s", (int)Length, (const char *)Irp->AssociatedIrp.SystemBuffer);
    return IopCompleteIrp(Irp, STATUS_SUCCESS, Length, IO_NO_INCREMENT);
}

/* IopConsoleDriverEntry: the contract is in io/iop.h. */
NTSTATUS IopConsoleDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    static UNICODE_STRING DeviceName = RTL_CONSTANT_STRING(u"\\Device\\Console");
    static UNICODE_STRING LinkName = RTL_CONSTANT_STRING(u"\\??\\CON");
    PDEVICE_OBJECT Device;
    UNREFERENCED_PARAMETER(RegistryPath);

    KeInitializeSpinLock(&IopConsoleLock);
    IopInitializePendingQueue(&IopConsoleReadQueue, &IopConsoleLock);
    IopSetOpenCloseDispatch(DriverObject);
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
    /* Without one of its inputs the console still prints, and reads the other. */
    for (ULONG i = 0; i < ARRAYSIZE(IopConsoleInputs); i++) {
        Status = IopConsoleOpenInput(&IopConsoleInputs[i]);
        if (!NT_SUCCESS(Status))
            DbgPrint("console: no %s input (0x%08x)\n", IopConsoleInputs[i].Name, (ULONG)Status);
    }
    KdPrintBoot("Console: \\Device\\Console (\\??\\CON), a read kept pending on "
                "\\Device\\KeyboardClass0 and on \\Device\\Serial0\n");
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
