/*
 * hello.c - the smallest loadable driver that does something: it creates
 * \Device\Hello, keeps one pool block for its lifetime, says hello and
 * goodbye on the debug output, and answers a few I/O controls the tests
 * use to make it misbehave (drivers/hello/hello.h). docs/drivers.md walks
 * through it line by line.
 *
 * IRQL: DriverEntry and DriverUnload run at PASSIVE_LEVEL; the dispatch
 * routine at the caller's (PASSIVE_LEVEL for the tests' IOCTLs).
 */
#include "../ntddk.h"
#include "hello.h"

typedef struct _HELLO_STATE {
    ULONG Opens;
    char Greeting[28];
} HELLO_STATE;

static const char HelloMessage[] = "hello from a loaded driver";
static ULONG HelloUnloads = 1; /* .data: initialized */
static PDEVICE_OBJECT HelloDevice; /* .bss */
static HELLO_STATE *HelloState; /* .bss: pool, freed at unload */
static BOOLEAN HelloKeepDevice;

static NTSTATUS HelloComplete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

/* The cancel routine of the IRP IOCTL_HELLO_PEND keeps. */
static void HelloCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    HelloComplete(Irp, STATUS_CANCELLED, 0);
}

/* Not static and never inlined, so the backtrace shows its name. */
__attribute__((noinline)) void HelloCrash(void)
{
    KeBugCheckEx(MANUALLY_INITIATED_CRASH, 0x4E110, 0, 0, 0);
}

static NTSTATUS HelloDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION Stack = IoGetCurrentIrpStackLocation(Irp);
    HELLO_SECTIONS *Out = Irp->AssociatedIrp.SystemBuffer;
    (void)DeviceObject;

    switch (Stack->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_HELLO_LEAK_POOL:
        if (ExAllocatePoolWithTag(NonPagedPool, 48, HELLO_LEAK_TAG) == NULL)
            return HelloComplete(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
        return HelloComplete(Irp, STATUS_SUCCESS, 0);
    case IOCTL_HELLO_KEEP_DEVICE:
        HelloKeepDevice = TRUE;
        return HelloComplete(Irp, STATUS_SUCCESS, 0);
    case IOCTL_HELLO_CRASH:
        HelloCrash();
        break;
    case IOCTL_HELLO_PEND: /* a bug on purpose: DriverUnload forgets it */
        IoMarkIrpPending(Irp);
        IoSetCancelRoutine(Irp, HelloCancel);
        return STATUS_PENDING;
    case IOCTL_HELLO_ADDRESSES:
        if (Stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(*Out))
            return HelloComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        Out->Text = (ULONG_PTR)HelloDeviceControl;
        Out->ReadOnly = (ULONG_PTR)HelloMessage;
        Out->Data = (ULONG_PTR)&HelloUnloads;
        Out->Bss = (ULONG_PTR)&HelloDevice;
        return HelloComplete(Irp, STATUS_SUCCESS, sizeof(*Out));
    }
    return HelloComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
}

static void HelloUnload(PDRIVER_OBJECT DriverObject)
{
    DbgPrint("hello: goodbye (%s, unload %u)\n", HelloState->Greeting, HelloUnloads++);
    ExFreePoolWithTag(HelloState, HELLO_POOL_TAG);
    HelloState = NULL;
    if (!HelloKeepDevice)
        IoDeleteDevice(HelloDevice);
    (void)DriverObject;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    static UNICODE_STRING DeviceName = RTL_CONSTANT_STRING(u"\\Device\\Hello");
    (void)RegistryPath;

    HelloState = ExAllocatePoolWithTag(NonPagedPool, sizeof(*HelloState), HELLO_POOL_TAG);
    if (HelloState == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlStringCopy(HelloState->Greeting, "a pool block", sizeof(HelloState->Greeting));

    NTSTATUS Status =
        IoCreateDevice(DriverObject, 0, &DeviceName, FILE_DEVICE_UNKNOWN, 0, FALSE, &HelloDevice);
    if (!NT_SUCCESS(Status)) {
        ExFreePoolWithTag(HelloState, HELLO_POOL_TAG);
        return Status;
    }
    HelloDevice->Flags |= DO_BUFFERED_IO;
    HelloDevice->Flags &= ~DO_DEVICE_INITIALIZING;
    HelloKeepDevice = FALSE;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = HelloDeviceControl;
    DriverObject->DriverUnload = HelloUnload;
    DbgPrint("hello: %s, %s\n", HelloMessage, HelloState->Greeting);
    return STATUS_SUCCESS;
}
