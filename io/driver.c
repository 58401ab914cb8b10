/*
 * driver.c - driver objects: IoCreateDriver for the drivers linked into
 * the kernel, the default dispatch routine, and unloading (tests only).
 *
 * A driver object is an object of type "Driver" named \Driver\X. Its body
 * is one block: the DRIVER_OBJECT, its DRIVER_EXTENSION, then the
 * characters of its name. References: the I/O manager holds one while the
 * driver is loaded, the namespace one (the name is permanent), and each of
 * its devices one; the object goes when all are gone.
 *
 * IRQL: everything here is PASSIVE_LEVEL but IopInvalidDeviceRequest,
 * which runs wherever IoCallDriver does (<= DISPATCH_LEVEL).
 */
#include "iop.h"
#include "../rtl/rtl.h"

#define IOP_DRIVER_PREFIX       u"\\Driver\\"
#define IOP_DRIVER_PREFIX_CHARS 8
#define IOP_SERVICES_KEY        u"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\"
#define IOP_MAXIMUM_DRIVER_NAME 64  /* characters of X in \Driver\X */

NTSTATUS IopInvalidDeviceRequest(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_INVALID_DEVICE_REQUEST;
}

NTSTATUS IopDispatchSuccess(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    return IopCompleteIrp(Irp, STATUS_SUCCESS, 0, IO_NO_INCREMENT);
}

void IopSetOpenCloseDispatch(PDRIVER_OBJECT DriverObject)
{
    DriverObject->MajorFunction[IRP_MJ_CREATE] = IopDispatchSuccess;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = IopDispatchSuccess;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = IopDispatchSuccess;
}

void IopDeleteDriver(PVOID Object)
{
    PDRIVER_OBJECT Driver = Object;
    /* Every device holds a reference on its driver. */
    ASSERT(Driver->DeviceObject == NULL);
    (void)Driver;
}

/* "\Driver\X" with X of 1..IOP_MAXIMUM_DRIVER_NAME characters, no
 * backslash in X. */
static BOOLEAN IopIsDriverName(PCUNICODE_STRING Name)
{
    ULONG Chars = Name->Length / sizeof(WCHAR);
    if (Name->Buffer == NULL || (Name->Length & 1) != 0 || Chars <= IOP_DRIVER_PREFIX_CHARS ||
        Chars > IOP_DRIVER_PREFIX_CHARS + IOP_MAXIMUM_DRIVER_NAME)
        return FALSE;
    if (memcmp(Name->Buffer, IOP_DRIVER_PREFIX, IOP_DRIVER_PREFIX_CHARS * sizeof(WCHAR)) != 0)
        return FALSE;
    for (ULONG i = IOP_DRIVER_PREFIX_CHARS; i < Chars; i++) {
        if (Name->Buffer[i] == u'\\')
            return FALSE;
    }
    return TRUE;
}

/* Fill a new driver object (zeroed body of BodySize bytes). */
static void IopInitializeDriverObject(PDRIVER_OBJECT Driver, PCUNICODE_STRING DriverName,
                                      ULONG BodySize, PDRIVER_INITIALIZE DriverEntry)
{
    PDRIVER_EXTENSION Extension = (PDRIVER_EXTENSION)(Driver + 1);
    PWSTR NameBuffer = (PWSTR)(Extension + 1);

    Driver->Type = IO_TYPE_DRIVER;
    Driver->Size = (SHORT)BodySize;
    Driver->DriverExtension = Extension;
    Driver->DriverInit = DriverEntry;
    for (ULONG i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        Driver->MajorFunction[i] = IopInvalidDeviceRequest;
    memcpy(NameBuffer, DriverName->Buffer, DriverName->Length);
    Driver->DriverName.Buffer = NameBuffer;
    Driver->DriverName.Length = Driver->DriverName.MaximumLength = DriverName->Length;

    Extension->DriverObject = Driver;
    Extension->ServiceKeyName.Buffer = NameBuffer + IOP_DRIVER_PREFIX_CHARS;
    Extension->ServiceKeyName.Length = Extension->ServiceKeyName.MaximumLength =
        (USHORT)(DriverName->Length - IOP_DRIVER_PREFIX_CHARS * sizeof(WCHAR));
}

/* Remove the driver's name and the I/O manager's reference. */
static void IopRemoveDriver(PDRIVER_OBJECT Driver)
{
    IopRemoveDriverList(Driver);
    ObMakeTemporaryObject(Driver);
    ObDereferenceObject(Driver);
}

/* IoCreateDriver: the contract is in io/io.h. */
NTSTATUS IoCreateDriver(PCUNICODE_STRING DriverName, PDRIVER_INITIALIZE InitializationFunction)
{
    static const WCHAR ServicesKey[] = IOP_SERVICES_KEY;
    WCHAR PathBuffer[ARRAYSIZE(ServicesKey) + IOP_MAXIMUM_DRIVER_NAME];
    OBJECT_ATTRIBUTES Attributes;
    PDRIVER_OBJECT Driver;
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);

    if (DriverName == NULL || !IopIsDriverName(DriverName) || InitializationFunction == NULL)
        return STATUS_OBJECT_NAME_INVALID;
    ULONG BodySize = sizeof(DRIVER_OBJECT) + sizeof(DRIVER_EXTENSION) + DriverName->Length;
    NTSTATUS Status = ObCreateObject(IoDriverObjectType, BodySize, (PVOID *)&Driver);
    if (!NT_SUCCESS(Status))
        return Status;
    IopInitializeDriverObject(Driver, DriverName, BodySize, InitializationFunction);

    /* The I/O manager's reference, kept while the driver is loaded;
     * ObInsertObject consumes the creation reference, success or not. */
    ObReferenceObject(Driver);
    InitializeObjectAttributes(&Attributes, &Driver->DriverName, OBJ_PERMANENT, NULL, NULL);
    Status = ObInsertObject(Driver, &Attributes, 0, KernelMode, NULL);
    if (!NT_SUCCESS(Status)) {
        ObDereferenceObject(Driver);
        return Status;
    }

    /* The registry path its service would have (no registry: a name). */
    PUNICODE_STRING Service = &Driver->DriverExtension->ServiceKeyName;
    ULONG KeyBytes = sizeof(ServicesKey) - sizeof(WCHAR);
    memcpy(PathBuffer, ServicesKey, KeyBytes);
    memcpy((PUCHAR)PathBuffer + KeyBytes, Service->Buffer, Service->Length);
    UNICODE_STRING RegistryPath = {(USHORT)(KeyBytes + Service->Length), sizeof(PathBuffer),
                                   PathBuffer};

    IopInsertDriverList(Driver);
    Driver->DriverExtension->Count++;
    Status = InitializationFunction(Driver, &RegistryPath);
    if (!NT_SUCCESS(Status))
        IopRemoveDriver(Driver);
    return Status;
}

/* IopUnloadDriver: the contract is in io/iop.h. */
NTSTATUS IopUnloadDriver(PDRIVER_OBJECT DriverObject)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    if (DriverObject->DriverUnload == NULL)
        return STATUS_INVALID_DEVICE_REQUEST;
    DriverObject->DriverUnload(DriverObject);
    IopRemoveDriver(DriverObject);
    return STATUS_SUCCESS;
}
