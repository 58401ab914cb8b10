/*
 * null.c - the null device, \Device\Null (and \??\NUL): reads find the end
 * of the file at once (STATUS_END_OF_FILE, 0 bytes), writes succeed with
 * every byte "written" and nothing kept; opening, cleaning up and closing
 * succeed. Everything else is STATUS_INVALID_DEVICE_REQUEST, the default.
 *
 * The smallest whole driver: a DriverEntry that creates its device and a
 * link, and dispatch routines that complete every IRP at once, never
 * touching the buffer (the device asks for neither buffered nor direct
 * I/O). Reads and writes on a synchronous handle never become IRPs: its
 * fast I/O routines answer them in the caller's thread, as NT's null
 * driver does. Dispatch routines run at the caller's IRQL
 * (<= DISPATCH_LEVEL); the fast I/O routines at PASSIVE_LEVEL.
 */
#include "../iop.h"

static NTSTATUS IopNullRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    return IopCompleteIrp(Irp, STATUS_END_OF_FILE, 0, IO_NO_INCREMENT);
}

static NTSTATUS IopNullWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    return IopCompleteIrp(Irp, STATUS_SUCCESS,
                          IoGetCurrentIrpStackLocation(Irp)->Parameters.Write.Length,
                          IO_NO_INCREMENT);
}

/* Fast I/O: the same answers without an IRP, in the caller's thread. */
static BOOLEAN IopNullFastRead(PFILE_OBJECT FileObject, PLARGE_INTEGER FileOffset, ULONG Length,
                               BOOLEAN Wait, ULONG LockKey, PVOID Buffer, PIO_STATUS_BLOCK IoStatus,
                               PDEVICE_OBJECT DeviceObject)
{
    (void)FileObject, (void)FileOffset, (void)Length, (void)Wait, (void)LockKey, (void)Buffer;
    (void)DeviceObject;
    IoStatus->Status = STATUS_END_OF_FILE;
    IoStatus->Information = 0;
    return TRUE;
}

static BOOLEAN IopNullFastWrite(PFILE_OBJECT FileObject, PLARGE_INTEGER FileOffset, ULONG Length,
                                BOOLEAN Wait, ULONG LockKey, PVOID Buffer,
                                PIO_STATUS_BLOCK IoStatus, PDEVICE_OBJECT DeviceObject)
{
    (void)FileObject, (void)FileOffset, (void)Wait, (void)LockKey, (void)Buffer;
    (void)DeviceObject;
    IoStatus->Status = STATUS_SUCCESS;
    IoStatus->Information = Length;
    return TRUE;
}

static FAST_IO_DISPATCH IopNullFastIo = {
    .SizeOfFastIoDispatch = sizeof(FAST_IO_DISPATCH),
    .FastIoRead = IopNullFastRead,
    .FastIoWrite = IopNullFastWrite,
};

/* IopNullDriverEntry: the contract is in io/iop.h. */
NTSTATUS IopNullDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    static UNICODE_STRING DeviceName = RTL_CONSTANT_STRING(u"\\Device\\Null");
    static UNICODE_STRING LinkName = RTL_CONSTANT_STRING(u"\\??\\NUL");
    PDEVICE_OBJECT Device;
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    (void)RegistryPath;

    IopSetOpenCloseDispatch(DriverObject);
    DriverObject->MajorFunction[IRP_MJ_READ] = IopNullRead;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = IopNullWrite;
    DriverObject->FastIoDispatch = &IopNullFastIo;

    NTSTATUS Status = IoCreateDevice(DriverObject, 0, &DeviceName, FILE_DEVICE_NULL, 0, FALSE,
                                     &Device);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = IoCreateSymbolicLink(&LinkName, &DeviceName);
    if (!NT_SUCCESS(Status)) {
        IoDeleteDevice(Device);
        return Status;
    }
    Device->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}
