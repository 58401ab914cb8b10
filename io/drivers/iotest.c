/*
 * iotest.c - the I/O test driver, \Device\IoTest (and \??\IOTEST): a
 * device whose reads pend until a control completes them, and controls of
 * each transfer method, so that ring-3 tests can drive every path of the
 * I/O services (pending, cancel, thread exit, buffered / direct / neither
 * transfers) and the benchmarks can time a control that completes at once.
 * The controls are in include/iotest.h.
 *
 * Pending reads wait in IopTestReadQueue with a cancel routine, under
 * IopTestLock (a spin lock); the cleanup of a file (its last handle closed)
 * ends its reads with STATUS_CANCELLED. The device enforces share access
 * as NT drivers that care do: IRP_MJ_CREATE checks the opener's access and
 * FILE_SHARE_* against IopTestShareAccess (IoCheckShareAccess, under
 * IopTestLock) and fails a conflict with STATUS_SHARING_VIOLATION;
 * IRP_MJ_CLEANUP takes the open out again. Dispatch routines run at PASSIVE_LEVEL in the
 * requester's thread; the fast I/O routine (IOCTL_IOTEST_ECHO on a
 * synchronous handle) at PASSIVE_LEVEL too.
 */
#include "../iop.h"
#include "../../include/iotest.h"
#include "../../rtl/rtl.h"

static KSPIN_LOCK IopTestLock;
static LIST_ENTRY IopTestReadQueue;  /* IopTestLock: pending reads (Tail.Overlay.ListEntry) */
static ULONG IopTestPending;         /* IopTestLock: how many */
static SHARE_ACCESS IopTestShareAccess; /* IopTestLock: the opens of \Device\IoTest */

static void IopTestCancelRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    KIRQL OldIrql;
    UNREFERENCED_PARAMETER(DeviceObject);
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    KeAcquireSpinLock(&IopTestLock, &OldIrql);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    IopTestPending--;
    KeReleaseSpinLock(&IopTestLock, OldIrql);
    IopCompleteIrp(Irp, STATUS_CANCELLED, 0, IO_NO_INCREMENT);
}

/* IRP_MJ_READ: always pends. */
static NTSTATUS IopTestRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    KIRQL OldIrql;
    UNREFERENCED_PARAMETER(DeviceObject);
    KeAcquireSpinLock(&IopTestLock, &OldIrql);
    IoSetCancelRoutine(Irp, IopTestCancelRead);
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
        KeReleaseSpinLock(&IopTestLock, OldIrql);
        return IopCompleteIrp(Irp, STATUS_CANCELLED, 0, IO_NO_INCREMENT);
    }
    IoMarkIrpPending(Irp);
    InsertTailList(&IopTestReadQueue, &Irp->Tail.Overlay.ListEntry);
    IopTestPending++;
    KeReleaseSpinLock(&IopTestLock, OldIrql);
    return STATUS_PENDING;
}

/* IOCTL_IOTEST_COMPLETE_READS: complete every pending read (of File only,
 * unless it is NULL) with Data. */
static ULONG IopTestCompleteReads(PFILE_OBJECT File, NTSTATUS Status, const UCHAR *Data,
                                  ULONG Length)
{
    LIST_ENTRY Taken;
    KIRQL OldIrql;
    ULONG Count = 0;
    InitializeListHead(&Taken);
    KeAcquireSpinLock(&IopTestLock, &OldIrql);
    for (PLIST_ENTRY E = IopTestReadQueue.Flink; E != &IopTestReadQueue;) {
        PIRP Irp = CONTAINING_RECORD(E, IRP, Tail.Overlay.ListEntry);
        E = E->Flink;
        if (File != NULL && IoGetCurrentIrpStackLocation(Irp)->FileObject != File)
            continue;
        if (IoSetCancelRoutine(Irp, NULL) == NULL)
            continue; /* being cancelled: its routine takes it */
        RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
        IopTestPending--;
        InsertTailList(&Taken, &Irp->Tail.Overlay.ListEntry);
    }
    KeReleaseSpinLock(&IopTestLock, OldIrql);
    while (!IsListEmpty(&Taken)) {
        PIRP Irp = CONTAINING_RECORD(RemoveHeadList(&Taken), IRP, Tail.Overlay.ListEntry);
        ULONG ReadLength = IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length;
        ULONG Bytes = Length < ReadLength ? Length : ReadLength;
        /* Bytes past Information must never reach the reader. */
        memset(Irp->AssociatedIrp.SystemBuffer, 0xEE, ReadLength);
        memcpy(Irp->AssociatedIrp.SystemBuffer, Data, Bytes);
        IopCompleteIrp(Irp, Status, NT_ERROR(Status) ? 0 : Bytes, IO_NO_INCREMENT);
        Count++;
    }
    return Count;
}

/* METHOD_NEITHER: the driver's own copy through the user pointers. */
static NTSTATUS IopTestCopyNeither(PIRP Irp, PIO_STACK_LOCATION Stack, ULONG_PTR *Information)
{
    UCHAR Chunk[64];
    ULONG Length = Stack->Parameters.DeviceIoControl.InputBufferLength;
    if (Length > Stack->Parameters.DeviceIoControl.OutputBufferLength)
        Length = Stack->Parameters.DeviceIoControl.OutputBufferLength;
    if (Irp->RequestorMode != UserMode)
        return STATUS_INVALID_DEVICE_REQUEST;
    for (ULONG Done = 0; Done < Length; Done += sizeof(Chunk)) {
        ULONG Part = Length - Done < sizeof(Chunk) ? Length - Done : sizeof(Chunk);
        if (!NT_SUCCESS(MmCopyFromUser(Chunk, (PUCHAR)Stack->Parameters.DeviceIoControl
                                                      .Type3InputBuffer + Done, Part)) ||
            !NT_SUCCESS(MmCopyToUser((PUCHAR)Irp->UserBuffer + Done, Chunk, Part)))
            return STATUS_ACCESS_VIOLATION;
    }
    *Information = Length;
    return STATUS_SUCCESS;
}

/* The direct methods: the output buffer through its MDL. */
static NTSTATUS IopTestDirect(PIRP Irp, PIO_STACK_LOCATION Stack, ULONG_PTR *Information)
{
    ULONG Length = Stack->Parameters.DeviceIoControl.OutputBufferLength;
    if (Irp->MdlAddress == NULL)
        return STATUS_INVALID_PARAMETER;
    PUCHAR Buffer = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
    if (Buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (Stack->Parameters.DeviceIoControl.IoControlCode == IOCTL_IOTEST_FILL_DIRECT) {
        if (Stack->Parameters.DeviceIoControl.InputBufferLength < 1)
            return STATUS_INVALID_PARAMETER;
        memset(Buffer, *(PUCHAR)Irp->AssociatedIrp.SystemBuffer, Length);
        *Information = Length;
    } else {
        ULONG_PTR Sum = 0;
        for (ULONG i = 0; i < Length; i++)
            Sum += Buffer[i];
        *Information = Sum;
    }
    return STATUS_SUCCESS;
}

static NTSTATUS IopTestControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION Stack = IoGetCurrentIrpStackLocation(Irp);
    ULONG InLength = Stack->Parameters.DeviceIoControl.InputBufferLength;
    ULONG OutLength = Stack->Parameters.DeviceIoControl.OutputBufferLength;
    PUCHAR System = Irp->AssociatedIrp.SystemBuffer;
    ULONG_PTR Information = 0;
    NTSTATUS Status = STATUS_SUCCESS;
    KIRQL OldIrql;
    UNREFERENCED_PARAMETER(DeviceObject);

    switch (Stack->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_IOTEST_ECHO: /* the input is in place: it is the output */
        Information = InLength < OutLength ? InLength : OutLength;
        break;
    case IOCTL_IOTEST_COMPLETE_READS: {
        if (InLength < sizeof(IOTEST_COMPLETION))
            return IopCompleteIrp(Irp, STATUS_INVALID_PARAMETER, 0, IO_NO_INCREMENT);
        IOTEST_COMPLETION Completion;
        memcpy(&Completion, System, sizeof(Completion));
        ULONG Count = IopTestCompleteReads(NULL, Completion.Status, System + sizeof(Completion),
                                           InLength - sizeof(Completion));
        if (OutLength >= sizeof(ULONG)) {
            memcpy(System, &Count, sizeof(Count));
            Information = sizeof(Count);
        }
        break;
    }
    case IOCTL_IOTEST_PENDING_READS:
        if (OutLength < sizeof(ULONG))
            return IopCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0, IO_NO_INCREMENT);
        KeAcquireSpinLock(&IopTestLock, &OldIrql);
        memcpy(System, &IopTestPending, sizeof(ULONG));
        KeReleaseSpinLock(&IopTestLock, OldIrql);
        Information = sizeof(ULONG);
        break;
    case IOCTL_IOTEST_FILL_DIRECT:
    case IOCTL_IOTEST_SUM_DIRECT:
        Status = IopTestDirect(Irp, Stack, &Information);
        break;
    case IOCTL_IOTEST_COPY_NEITHER:
        Status = IopTestCopyNeither(Irp, Stack, &Information);
        break;
    default:
        Status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    return IopCompleteIrp(Irp, Status, Information, IO_NO_INCREMENT);
}

/* IRP_MJ_CLEANUP: the file's last handle is gone; its pending reads end,
 * cancelled, as NT drivers do at cleanup. */
static NTSTATUS IopTestCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PFILE_OBJECT File = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    KIRQL OldIrql;
    UNREFERENCED_PARAMETER(DeviceObject);
    (void)IopTestCompleteReads(File, STATUS_CANCELLED, NULL, 0);
    KeAcquireSpinLock(&IopTestLock, &OldIrql);
    IoRemoveShareAccess(File, &IopTestShareAccess);
    KeReleaseSpinLock(&IopTestLock, OldIrql);
    return IopCompleteIrp(Irp, STATUS_SUCCESS, 0, IO_NO_INCREMENT);
}

/* IRP_MJ_CREATE: an open that conflicts with the ones there is refused. */
static NTSTATUS IopTestCreate(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION Stack = IoGetCurrentIrpStackLocation(Irp);
    PIO_SECURITY_CONTEXT Security = Stack->Parameters.Create.SecurityContext;
    KIRQL OldIrql;
    UNREFERENCED_PARAMETER(DeviceObject);
    if (Security == NULL)
        return IopCompleteIrp(Irp, STATUS_INVALID_PARAMETER, 0, IO_NO_INCREMENT);
    KeAcquireSpinLock(&IopTestLock, &OldIrql);
    NTSTATUS Status =
        IoCheckShareAccess(Security->DesiredAccess, Stack->Parameters.Create.ShareAccess,
                           Stack->FileObject, &IopTestShareAccess, TRUE);
    KeReleaseSpinLock(&IopTestLock, OldIrql);
    return IopCompleteIrp(Irp, Status, 0, IO_NO_INCREMENT);
}

/* IRP_MJ_WRITE: every byte "written". IRP_MJ_CLOSE: done. */
static NTSTATUS IopTestWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    return IopCompleteIrp(Irp, STATUS_SUCCESS,
                          IoGetCurrentIrpStackLocation(Irp)->Parameters.Write.Length,
                          IO_NO_INCREMENT);
}

/* Fast I/O for IOCTL_IOTEST_ECHO on a synchronous handle: the input
 * copied to the output straight between the caller's buffers, in its
 * thread, without an IRP; FALSE for every other control (an IRP then). */
static BOOLEAN IopTestFastControl(PFILE_OBJECT FileObject, BOOLEAN Wait, PVOID InputBuffer,
                                  ULONG InputBufferLength, PVOID OutputBuffer,
                                  ULONG OutputBufferLength, ULONG IoControlCode,
                                  PIO_STATUS_BLOCK IoStatus, PDEVICE_OBJECT DeviceObject)
{
    UCHAR Chunk[64];
    (void)FileObject, (void)Wait, (void)DeviceObject;
    ULONG Length = InputBufferLength < OutputBufferLength ? InputBufferLength : OutputBufferLength;
    if (IoControlCode != IOCTL_IOTEST_ECHO || Length > sizeof(Chunk))
        return FALSE;
    IoStatus->Information = Length;
    IoStatus->Status = STATUS_SUCCESS;
    if (!NT_SUCCESS(MmCopyFromUser(Chunk, InputBuffer, Length)) ||
        !NT_SUCCESS(MmCopyToUser(OutputBuffer, Chunk, Length))) {
        IoStatus->Status = STATUS_ACCESS_VIOLATION;
        IoStatus->Information = 0;
    }
    return TRUE;
}

static FAST_IO_DISPATCH IopTestFastIo = {
    .SizeOfFastIoDispatch = sizeof(FAST_IO_DISPATCH),
    .FastIoDeviceControl = IopTestFastControl,
};

/* IopTestDriverEntry: the contract is in io/iop.h. */
NTSTATUS IopTestDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    static UNICODE_STRING DeviceName = RTL_CONSTANT_STRING(u"\\Device\\IoTest");
    static UNICODE_STRING LinkName = RTL_CONSTANT_STRING(u"\\??\\IOTEST");
    PDEVICE_OBJECT Device;
    UNREFERENCED_PARAMETER(RegistryPath);

    KeInitializeSpinLock(&IopTestLock);
    InitializeListHead(&IopTestReadQueue);
    DriverObject->MajorFunction[IRP_MJ_CREATE] = IopTestCreate;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = IopTestCleanup;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = IopDispatchSuccess;
    DriverObject->MajorFunction[IRP_MJ_READ] = IopTestRead;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = IopTestWrite;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = IopTestControl;
    DriverObject->FastIoDispatch = &IopTestFastIo;
    NTSTATUS Status = IoCreateDevice(DriverObject, 0, &DeviceName, FILE_DEVICE_IOTEST, 0, FALSE,
                                     &Device);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = IoCreateSymbolicLink(&LinkName, &DeviceName);
    if (!NT_SUCCESS(Status)) {
        IoDeleteDevice(Device);
        return Status;
    }
    Device->Flags |= DO_BUFFERED_IO;
    Device->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}
