/*
 * nullflt.c - a filter driver: it attaches a device of its own above
 * \Device\Null (IoAttachDeviceToDeviceStack), so every IRP sent to the
 * null device reaches it first. It counts them by major function and
 * passes them down unchanged (IoSkipCurrentIrpStackLocation + IoCallDriver
 * to the device below); IOCTL_NULLFLT_QUERY_COUNTS is its own and is
 * answered at once. The counts are printed again at unload.
 *
 * Built twice (Makefile): as drivers/nullflt.sys in the initrd, loaded by
 * NtLoadDriver (entry DriverEntry), and linked into the kernel with
 * PAGODA_BUILTIN_DRIVER (entry NullFilterDriverEntry) so the kernel tests
 * can start it with IoCreateDriver.
 *
 * IRQL: DriverEntry and DriverUnload at PASSIVE_LEVEL; the dispatch
 * routine wherever IoCallDriver runs (<= DISPATCH_LEVEL): the counts are
 * updated atomically and live in the device extension (nonpaged).
 */
#include "../ntddk.h"
#include "nullflt.h"

#ifdef PAGODA_BUILTIN_DRIVER
#define NullFilterEntry NullFilterDriverEntry
#else
#define NullFilterEntry DriverEntry
#endif

typedef struct _NULLFLT_EXTENSION {
    PDEVICE_OBJECT Lower; /* what IoAttachDeviceToDeviceStack returned */
    PDEVICE_OBJECT NullDevice; /* \Device\Null, referenced */
    NULLFLT_COUNTS Counts;
} NULLFLT_EXTENSION;

static PDEVICE_OBJECT NullFilterDevice;

static NTSTATUS NullFilterDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    NULLFLT_EXTENSION *Extension = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION Stack = IoGetCurrentIrpStackLocation(Irp);

    __atomic_fetch_add(&Extension->Counts.Irps[Stack->MajorFunction], 1, __ATOMIC_RELAXED);
    if (Stack->MajorFunction == IRP_MJ_DEVICE_CONTROL &&
        Stack->Parameters.DeviceIoControl.IoControlCode == IOCTL_NULLFLT_QUERY_COUNTS) {
        NTSTATUS Status = STATUS_BUFFER_TOO_SMALL;
        ULONG_PTR Information = 0;
        if (Stack->Parameters.DeviceIoControl.OutputBufferLength >= sizeof(NULLFLT_COUNTS)) {
            memcpy(Irp->AssociatedIrp.SystemBuffer, &Extension->Counts, sizeof(NULLFLT_COUNTS));
            Status = STATUS_SUCCESS;
            Information = sizeof(NULLFLT_COUNTS);
        }
        Irp->IoStatus.Status = Status;
        Irp->IoStatus.Information = Information;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return Status;
    }
    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(Extension->Lower, Irp);
}

static void NullFilterUnload(PDRIVER_OBJECT DriverObject)
{
    NULLFLT_EXTENSION *Extension = NullFilterDevice->DeviceExtension;
    (void)DriverObject;

    DbgPrint("nullflt: saw create %u, read %u, write %u, ioctl %u, close %u\n",
             Extension->Counts.Irps[IRP_MJ_CREATE], Extension->Counts.Irps[IRP_MJ_READ],
             Extension->Counts.Irps[IRP_MJ_WRITE], Extension->Counts.Irps[IRP_MJ_DEVICE_CONTROL],
             Extension->Counts.Irps[IRP_MJ_CLOSE]);
    IoDetachDevice(Extension->Lower);
    ObDereferenceObject(Extension->NullDevice);
    IoDeleteDevice(NullFilterDevice);
    NullFilterDevice = NULL;
}

NTSTATUS NullFilterEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    static UNICODE_STRING NullName = RTL_CONSTANT_STRING(u"\\Device\\Null");
    PDEVICE_OBJECT Null, Device;
    (void)RegistryPath;

    NTSTATUS Status = ObReferenceObjectByName(&NullName, OBJ_CASE_INSENSITIVE, IoDeviceObjectType,
                                              KernelMode, (PVOID *)&Null);
    if (!NT_SUCCESS(Status))
        return Status;
    /* Unnamed, as filter devices are: it is reached through the stack. */
    Status = IoCreateDevice(DriverObject, sizeof(NULLFLT_EXTENSION), NULL, FILE_DEVICE_NULL, 0,
                            FALSE, &Device);
    if (!NT_SUCCESS(Status)) {
        ObDereferenceObject(Null);
        return Status;
    }
    NULLFLT_EXTENSION *Extension = Device->DeviceExtension;
    Extension->NullDevice = Null;
    Extension->Lower = IoAttachDeviceToDeviceStack(Device, Null);
    if (Extension->Lower == NULL) {
        IoDeleteDevice(Device);
        ObDereferenceObject(Null);
        return STATUS_NO_SUCH_DEVICE;
    }
    /* Look like the device below to whoever sends IRPs to the stack. */
    Device->Flags |= Extension->Lower->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO);
    Device->DeviceType = Extension->Lower->DeviceType;
    for (ULONG i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        DriverObject->MajorFunction[i] = NullFilterDispatch;
    DriverObject->DriverUnload = NullFilterUnload;
    NullFilterDevice = Device;
    Device->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}
