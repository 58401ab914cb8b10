/*
 * device.c - device objects, their names and links, and device stacks.
 *
 * A device object is an object of type "Device", usually named under
 * \Device. Its body is one block:
 *
 *   +0     DEVICE_OBJECT        what drivers see
 *   +n     DEVOBJ_EXTENSION     the I/O manager's part (AttachedTo)
 *   +m     DeviceExtension      the driver's part, 16-byte aligned, zeroed
 *
 * References: the driver's device list holds one (dropped by
 * IoDeleteDevice), a permanent name one (dropped with the name), each
 * device attached above one on the device below it. A device holds one on
 * its driver.
 *
 * A device stack is a chain of AttachedDevice pointers going up and
 * AttachedTo pointers going down; an IRP is sent to the top and each
 * driver passes it to the device below (its AttachedTo, which
 * IoAttachDeviceToDeviceStack returned to it).
 *
 * Locking: IopDatabaseLock covers the device lists and both chains;
 * IoGetAttachedDevice walks AttachedDevice without it (NT's rule: a stack
 * is changed only while no request goes through it).
 */
#include "iop.h"
#include "../rtl/rtl.h"

KSPIN_LOCK IopDatabaseLock;

#define IOP_DEVICE_EXTENSION_OFFSET \
    ((sizeof(DEVICE_OBJECT) + sizeof(DEVOBJ_EXTENSION) + 15) & ~(SIZE_T)15)
#define IOP_MAXIMUM_DEVICE_EXTENSION (0xFFFF - IOP_DEVICE_EXTENSION_OFFSET)

void IopDeleteDevice(PVOID Object)
{
    PDEVICE_OBJECT Device = Object;
    ObDereferenceObject(Device->DriverObject);
}

/* Fill a new device object (zeroed body of BodySize bytes). */
static void IopInitializeDeviceObject(PDEVICE_OBJECT Device, PDRIVER_OBJECT Driver,
                                      ULONG BodySize, DEVICE_TYPE DeviceType,
                                      ULONG Characteristics, BOOLEAN Exclusive)
{
    PDEVOBJ_EXTENSION Extension = (PDEVOBJ_EXTENSION)(Device + 1);

    Device->Type = IO_TYPE_DEVICE;
    Device->Size = (USHORT)BodySize;
    Device->DriverObject = Driver;
    Device->Flags = DO_DEVICE_INITIALIZING | (Exclusive ? DO_EXCLUSIVE : 0);
    Device->Characteristics = Characteristics;
    Device->DeviceExtension = (PUCHAR)Device + IOP_DEVICE_EXTENSION_OFFSET;
    Device->DeviceType = DeviceType;
    Device->StackSize = 1;
    Device->DeviceObjectExtension = Extension;
    Extension->Type = IO_TYPE_DEVICE;
    Extension->Size = sizeof(*Extension);
    Extension->DeviceObject = Device;
}

/* IoCreateDevice: the contract is in io/io.h. */
NTSTATUS IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                        PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                        ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                        PDEVICE_OBJECT *DeviceObject)
{
    OBJECT_ATTRIBUTES Attributes;
    PDEVICE_OBJECT Device;
    KIRQL OldIrql;
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    ASSERT(DriverObject != NULL && DriverObject->Type == IO_TYPE_DRIVER);

    *DeviceObject = NULL;
    if (DeviceExtensionSize > IOP_MAXIMUM_DEVICE_EXTENSION)
        return STATUS_INVALID_PARAMETER;
    ULONG BodySize = (ULONG)IOP_DEVICE_EXTENSION_OFFSET + DeviceExtensionSize;
    NTSTATUS Status = ObCreateObject(IoDeviceObjectType, BodySize, (PVOID *)&Device);
    if (!NT_SUCCESS(Status))
        return Status;
    ObReferenceObject(DriverObject); /* the device's, dropped by IopDeleteDevice */
    IopInitializeDeviceObject(Device, DriverObject, BodySize, DeviceType, DeviceCharacteristics,
                              Exclusive);

    if (DeviceName != NULL) {
        /* ObInsertObject consumes the creation reference, success or
         * not; the one taken here is the device list's. */
        ObReferenceObject(Device);
        InitializeObjectAttributes(&Attributes, DeviceName, OBJ_PERMANENT | OBJ_CASE_INSENSITIVE,
                                   NULL, NULL);
        Status = ObInsertObject(Device, &Attributes, 0, KernelMode, NULL);
        if (!NT_SUCCESS(Status)) {
            ObDereferenceObject(Device);
            return Status;
        }
    }

    KeAcquireSpinLock(&IopDatabaseLock, &OldIrql);
    Device->NextDevice = DriverObject->DeviceObject;
    DriverObject->DeviceObject = Device;
    KeReleaseSpinLock(&IopDatabaseLock, OldIrql);
    *DeviceObject = Device;
    return STATUS_SUCCESS;
}

/* IoDeleteDevice: the contract is in io/io.h. */
void IoDeleteDevice(PDEVICE_OBJECT DeviceObject)
{
    PDRIVER_OBJECT Driver = DeviceObject->DriverObject;
    KIRQL OldIrql;
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    ASSERT(DeviceObject->Type == IO_TYPE_DEVICE);

    KeAcquireSpinLock(&IopDatabaseLock, &OldIrql);
    ASSERT(DeviceObject->AttachedDevice == NULL);
    ASSERT(DeviceObject->DeviceObjectExtension->AttachedTo == NULL);
    for (PDEVICE_OBJECT *Link = &Driver->DeviceObject; *Link != NULL;
         Link = &(*Link)->NextDevice) {
        if (*Link == DeviceObject) {
            *Link = DeviceObject->NextDevice;
            break;
        }
    }
    DeviceObject->NextDevice = NULL;
    KeReleaseSpinLock(&IopDatabaseLock, OldIrql);

    ObMakeTemporaryObject(DeviceObject); /* nothing for an unnamed device */
    ObDereferenceObject(DeviceObject);
}

/* IoCreateSymbolicLink: the contract is in io/io.h. */
NTSTATUS IoCreateSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName)
{
    OBJECT_ATTRIBUTES Attributes;
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);

    InitializeObjectAttributes(&Attributes, SymbolicLinkName,
                               OBJ_PERMANENT | OBJ_CASE_INSENSITIVE, NULL, NULL);
    return ObCreateSymbolicLink(&Attributes, DeviceName, SYMBOLIC_LINK_ALL_ACCESS, KernelMode,
                                NULL);
}

/* IoDeleteSymbolicLink: the contract is in io/io.h. */
NTSTATUS IoDeleteSymbolicLink(PUNICODE_STRING SymbolicLinkName)
{
    PVOID Link;
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);

    NTSTATUS Status = ObReferenceObjectByName(SymbolicLinkName, OBJ_CASE_INSENSITIVE,
                                              ObSymbolicLinkObjectType, KernelMode, &Link);
    if (!NT_SUCCESS(Status))
        return Status;
    ObMakeTemporaryObject(Link);
    ObDereferenceObject(Link);
    return STATUS_SUCCESS;
}

/* The top of DeviceObject's stack. IopDatabaseLock held. */
static PDEVICE_OBJECT IopGetAttachedDevice(PDEVICE_OBJECT DeviceObject)
{
    while (DeviceObject->AttachedDevice != NULL)
        DeviceObject = DeviceObject->AttachedDevice;
    return DeviceObject;
}

/* IoAttachDeviceToDeviceStack: the contract is in io/io.h. */
PDEVICE_OBJECT IoAttachDeviceToDeviceStack(PDEVICE_OBJECT SourceDevice,
                                           PDEVICE_OBJECT TargetDevice)
{
    PDEVICE_OBJECT Top = NULL;
    KIRQL OldIrql;
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);

    KeAcquireSpinLock(&IopDatabaseLock, &OldIrql);
    if (SourceDevice->DeviceObjectExtension->AttachedTo == NULL &&
        SourceDevice->AttachedDevice == NULL) {
        Top = IopGetAttachedDevice(TargetDevice);
        if (Top == SourceDevice) {
            Top = NULL;
        } else {
            ObReferenceObject(Top); /* the attachment's */
            SourceDevice->DeviceObjectExtension->AttachedTo = Top;
            SourceDevice->StackSize = (CCHAR)(Top->StackSize + 1);
            SourceDevice->AlignmentRequirement = Top->AlignmentRequirement;
            /* Last: IoGetAttachedDevice reads it without the lock. */
            __atomic_store_n(&Top->AttachedDevice, SourceDevice, __ATOMIC_RELEASE);
        }
    }
    KeReleaseSpinLock(&IopDatabaseLock, OldIrql);
    return Top;
}

/* IoDetachDevice: the contract is in io/io.h. */
void IoDetachDevice(PDEVICE_OBJECT TargetDevice)
{
    KIRQL OldIrql;
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);

    KeAcquireSpinLock(&IopDatabaseLock, &OldIrql);
    PDEVICE_OBJECT Upper = TargetDevice->AttachedDevice;
    if (Upper != NULL) {
        Upper->DeviceObjectExtension->AttachedTo = NULL;
        TargetDevice->AttachedDevice = NULL;
    }
    KeReleaseSpinLock(&IopDatabaseLock, OldIrql);
    if (Upper != NULL)
        ObDereferenceObject(TargetDevice);
}

/* IoGetAttachedDevice: the contract is in io/io.h. No lock: an attach
 * publishes the new top with one store, after filling it in. */
PDEVICE_OBJECT IoGetAttachedDevice(PDEVICE_OBJECT DeviceObject)
{
    PDEVICE_OBJECT Above;
    while ((Above = __atomic_load_n(&DeviceObject->AttachedDevice, __ATOMIC_ACQUIRE)) != NULL)
        DeviceObject = Above;
    return DeviceObject;
}

/* IoGetAttachedDeviceReference: the contract is in io/io.h. */
PDEVICE_OBJECT IoGetAttachedDeviceReference(PDEVICE_OBJECT DeviceObject)
{
    KIRQL OldIrql;
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);

    KeAcquireSpinLock(&IopDatabaseLock, &OldIrql);
    PDEVICE_OBJECT Top = IopGetAttachedDevice(DeviceObject);
    ObReferenceObject(Top); /* under the lock: Top cannot be detached and freed meanwhile */
    KeReleaseSpinLock(&IopDatabaseLock, OldIrql);
    return Top;
}
