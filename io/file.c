/*
 * file.c - file objects: the "File" object type, NtCreateFile and
 * NtOpenFile on device names, and what closing does (IRP_MJ_CLEANUP when
 * the last handle goes, IRP_MJ_CLOSE with the last reference).
 *
 * A FILE_OBJECT is one open of a device. NtCreateFile looks the name up in
 * the object namespace (symbolic links followed: \??\NUL is \Device\Null),
 * creates the file object, and sends IRP_MJ_CREATE to the top of the
 * device's stack (IoGetAttachedDevice), so that a filter above the device
 * sees the open too; if the driver refuses, the file object goes again
 * without a handle and without IRP_MJ_CLEANUP or IRP_MJ_CLOSE.
 *
 *   handle --> FILE_OBJECT --DeviceObject--> \Device\Null  <-- the named device
 *              Flags, CurrentByteOffset,          ^
 *              Busy/Lock, Event, FinalStatus      | IRPs go to the top:
 *                                           IoGetAttachedDevice(DeviceObject)
 *
 * Opens are counted in DeviceObject->ReferenceCount; a DO_EXCLUSIVE device
 * takes one open at a time (a second is STATUS_ACCESS_DENIED, NT's answer).
 *
 * The three requests that open and close are built here, with kernel
 * buffers and an event on the stack, and waited for when the driver pends.
 * Cleanup and close may be sent at DISPATCH_LEVEL (a handle table torn down
 * there, the last reference dropped by a completion): then a driver that
 * pends them is not waited for. Creation is PASSIVE_LEVEL.
 */
#include "iop.h"
#include "../ps/ps.h"
#include "../rtl/rtl.h"

static OBJECT_TYPE IopFileType;
POBJECT_TYPE IoFileObjectType = &IopFileType;

/* Device->ReferenceCount: opens of a device; an exclusive one takes one. */
static BOOLEAN IopTakeDeviceOpen(PDEVICE_OBJECT Device)
{
    if (!(Device->Flags & DO_EXCLUSIVE)) {
        __atomic_add_fetch(&Device->ReferenceCount, 1, __ATOMIC_SEQ_CST);
        return TRUE;
    }
    LONG Expected = 0;
    return __atomic_compare_exchange_n(&Device->ReferenceCount, &Expected, 1, FALSE,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/*
 * Send MajorFunction (IRP_MJ_CREATE, _CLEANUP or _CLOSE) for File to the
 * top of its device's stack and return the status; waits when the driver
 * pends and the IRQL allows it. A create carries Security (the opener's
 * access and options) and ShareAccess in Parameters.Create; the others
 * pass NULL and 0. STATUS_INSUFFICIENT_RESOURCES when no IRP could be had
 * (cleanup and close are then skipped: the driver sees less).
 */
static NTSTATUS IopSendFileRequest(PFILE_OBJECT File, UCHAR MajorFunction,
                                   PIO_SECURITY_CONTEXT Security, ULONG ShareAccess)
{
    PDEVICE_OBJECT Device = IoGetAttachedDevice(File->DeviceObject);
    KEVENT Event;
    IO_STATUS_BLOCK Iosb = {0};

    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    PIRP Irp = IoAllocateIrp(Device->StackSize, FALSE);
    if (Irp == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    Irp->Tail.Overlay.Thread = PsGetCurrentThread();
    Irp->RequestorMode = KernelMode;
    Irp->UserIosb = &Iosb;
    Irp->UserEvent = &Event;
    Irp->Flags = IRP_SYNCHRONOUS_API;
    PIO_STACK_LOCATION Stack = IoGetNextIrpStackLocation(Irp);
    Stack->MajorFunction = MajorFunction;
    Stack->FileObject = File;
    if (Security != NULL) {
        Stack->Parameters.Create.SecurityContext = Security;
        Stack->Parameters.Create.Options =
            (FILE_OPEN << 24) | (Security->FullCreateOptions & 0x00FFFFFF);
        Stack->Parameters.Create.ShareAccess = (USHORT)ShareAccess;
    }
    NTSTATUS Status = IoCallDriver(Device, Irp);
    if (Status == STATUS_PENDING && KeGetCurrentIrql() < DISPATCH_LEVEL) {
        KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, NULL);
        Status = Iosb.Status;
    }
    return Status;
}

/* The type's close procedure: the last handle is gone, so the driver is
 * told (IRP_MJ_CLEANUP) while the file object still lives. */
static void IopCloseFile(PVOID Object, LONG_PTR HandleCount)
{
    PFILE_OBJECT File = Object;
    if (HandleCount != 0 || !(File->Flags & FO_HANDLE_CREATED))
        return;
    File->Flags |= FO_CLEANUP_COMPLETE;
    (void)IopSendFileRequest(File, IRP_MJ_CLEANUP, NULL, 0);
}

/* The type's delete procedure: the last reference is gone (no IRP holds the
 * file any more), so the driver forgets the open (IRP_MJ_CLOSE). */
static void IopDeleteFile(PVOID Object)
{
    PFILE_OBJECT File = Object;
    if (File->DeviceObject == NULL)
        return;
    if (File->Flags & FO_FILE_OPEN)
        (void)IopSendFileRequest(File, IRP_MJ_CLOSE, NULL, 0);
    __atomic_sub_fetch(&File->DeviceObject->ReferenceCount, 1, __ATOMIC_SEQ_CST);
    ObDereferenceObject(File->DeviceObject);
}

/* IopCleanupUnhandledFile: the contract is in io/iop.h. */
void IopCleanupUnhandledFile(PFILE_OBJECT File)
{
    File->Flags |= FO_CLEANUP_COMPLETE;
    (void)IopSendFileRequest(File, IRP_MJ_CLEANUP, NULL, 0);
}

void IopInitializeFileObjects(void)
{
    ObInitializeObjectType(IoFileObjectType, "File", IopDeleteFile);
    IoFileObjectType->CloseProcedure = IopCloseFile;
    /* A wait on a file handle waits for its Event (NT's DefaultObject). */
    IoFileObjectType->DefaultObject = offsetof(FILE_OBJECT, Event);
}

/* IoGetRelatedDeviceObject: the contract is in io/io.h. */
PDEVICE_OBJECT IoGetRelatedDeviceObject(PFILE_OBJECT FileObject)
{
    return IoGetAttachedDevice(FileObject->DeviceObject);
}

/*
 * Open Device (referenced by the caller, who keeps its reference) for a
 * new file object with Access and Options, and send IRP_MJ_CREATE. On
 * success *FileOut holds the file object's one reference; on failure
 * nothing is left. Returns STATUS_ACCESS_DENIED (an exclusive device
 * already open), STATUS_INSUFFICIENT_RESOURCES, or the driver's status.
 */
NTSTATUS IopOpenDevice(PDEVICE_OBJECT Device, ACCESS_MASK Access, ULONG ShareAccess,
                       ULONG Options, PFILE_OBJECT *FileOut)
{
    PFILE_OBJECT File;
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);

    if (Device->Flags & DO_DEVICE_INITIALIZING)
        return STATUS_INVALID_DEVICE_REQUEST; /* not ready yet */
    NTSTATUS Status = ObCreateObject(IoFileObjectType, sizeof(FILE_OBJECT), (PVOID *)&File);
    if (!NT_SUCCESS(Status))
        return Status;
    File->Type = IO_TYPE_FILE;
    File->Size = sizeof(FILE_OBJECT);
    KeInitializeEvent(&File->Lock, SynchronizationEvent, FALSE);
    KeInitializeEvent(&File->Event, NotificationEvent, FALSE);
    File->ReadAccess = (Access & (FILE_READ_DATA | GENERIC_READ | GENERIC_ALL)) != 0;
    File->WriteAccess = (Access & (FILE_WRITE_DATA | FILE_APPEND_DATA | GENERIC_WRITE |
                                   GENERIC_ALL)) != 0;
    File->DeleteAccess = (Access & DELETE) != 0;
    File->SharedRead = (ShareAccess & FILE_SHARE_READ) != 0;
    File->SharedWrite = (ShareAccess & FILE_SHARE_WRITE) != 0;
    File->SharedDelete = (ShareAccess & FILE_SHARE_DELETE) != 0;
    if (Options & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT))
        File->Flags |= FO_SYNCHRONOUS_IO;
    if (Options & FILE_SYNCHRONOUS_IO_ALERT)
        File->Flags |= FO_ALERTABLE_IO;

    if (!IopTakeDeviceOpen(Device)) {
        ObDereferenceObject(File); /* no device yet: the delete procedure does nothing */
        return STATUS_ACCESS_DENIED;
    }
    ObReferenceObject(Device);
    File->DeviceObject = Device;
    IO_SECURITY_CONTEXT Security = {.DesiredAccess = Access, .FullCreateOptions = Options};
    Status = IopSendFileRequest(File, IRP_MJ_CREATE, &Security, ShareAccess);
    if (!NT_SUCCESS(Status)) {
        ObDereferenceObject(File); /* not open: no IRP_MJ_CLOSE */
        return Status;
    }
    File->Flags |= FO_FILE_OPEN;
    *FileOut = File;
    return STATUS_SUCCESS;
}

/* The access a file handle is granted: generic rights mapped (NT's
 * IoFileObjectType mapping), SYNCHRONIZE always. */
static ACCESS_MASK IopMapFileAccess(ACCESS_MASK Access)
{
    if (Access & (GENERIC_READ | GENERIC_ALL))
        Access |= FILE_GENERIC_READ;
    if (Access & (GENERIC_WRITE | GENERIC_ALL))
        Access |= FILE_GENERIC_WRITE;
    Access &= ~(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL);
    return Access | SYNCHRONIZE;
}

/* The common part of NtCreateFile and NtOpenFile: every user pointer is
 * probed or captured before anything is opened. */
static NTSTATUS IopCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess,
                              POBJECT_ATTRIBUTES ObjectAttributes,
                              PIO_STATUS_BLOCK IoStatusBlock, ULONG ShareAccess,
                              ULONG CreateDisposition, ULONG Options)
{
    OB_CAPTURED_ATTRIBUTES Captured;
    PDEVICE_OBJECT Device;
    PFILE_OBJECT File;
    HANDLE Handle = NULL;

    if (CreateDisposition > FILE_OPEN_IF ||
        (Options & FILE_SYNCHRONOUS_IO_ALERT && Options & FILE_SYNCHRONOUS_IO_NONALERT))
        return STATUS_INVALID_PARAMETER;
    NTSTATUS Status = ProbeForWrite(FileHandle, sizeof(HANDLE), 1);
    if (NT_SUCCESS(Status))
        Status = ProbeForWrite(IoStatusBlock, sizeof(IO_STATUS_BLOCK), 4);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObCaptureObjectAttributes(ObjectAttributes, UserMode, &Captured);
    if (!NT_SUCCESS(Status))
        return Status;
    if (Captured.Attributes.ObjectName == NULL)
        Status = STATUS_OBJECT_NAME_INVALID;
    else if (Captured.Attributes.RootDirectory != NULL)
        Status = STATUS_OBJECT_PATH_SYNTAX_BAD; /* NOTE: relative opens are not built */
    else
        Status = ObReferenceObjectByName(Captured.Attributes.ObjectName,
                                         Captured.Attributes.Attributes & OBJ_CASE_INSENSITIVE,
                                         IoDeviceObjectType, UserMode, (PVOID *)&Device);
    ULONG HandleAttributes = Captured.Attributes.Attributes & OBJ_INHERIT;
    ObReleaseObjectAttributes(&Captured);
    if (!NT_SUCCESS(Status))
        return Status;
    /* Devices exist already: creating one is no open. */
    if (CreateDisposition == FILE_CREATE || CreateDisposition == FILE_SUPERSEDE) {
        ObDereferenceObject(Device);
        return STATUS_OBJECT_NAME_COLLISION;
    }

    ACCESS_MASK Access = IopMapFileAccess(DesiredAccess);
    Status = IopOpenDevice(Device, Access, ShareAccess, Options, &File);
    ObDereferenceObject(Device);
    if (!NT_SUCCESS(Status))
        return Status;
    File->Flags |= FO_HANDLE_CREATED;
    Status = ObOpenObjectByPointer(File, HandleAttributes, Access, IoFileObjectType, UserMode,
                                   &Handle);
    if (!NT_SUCCESS(Status))
        IopCleanupUnhandledFile(File);
    ObDereferenceObject(File); /* the handle holds it now, or nothing does */
    if (NT_SUCCESS(Status)) {
        IO_STATUS_BLOCK Iosb = {.Status = STATUS_SUCCESS, .Information = FILE_OPENED};
        (void)MmCopyToUser(IoStatusBlock, &Iosb, sizeof(Iosb));
    }
    return ObReturnUserHandle(FileHandle, Handle, Status);
}

/*
 * NtCreateFile - open the device ObjectAttributes names (an absolute name;
 * symbolic links followed) as a new file object and return a handle with
 * DesiredAccess (generic rights mapped, SYNCHRONIZE added). CreateOptions
 * FILE_SYNCHRONOUS_IO_NONALERT / _ALERT make a synchronous handle.
 * AllocationSize, FileAttributes, EaBuffer and EaLength are ignored (no
 * files). Returns STATUS_SUCCESS (IoStatusBlock: FILE_OPENED); the look-up
 * statuses of the namespace (STATUS_OBJECT_NAME_NOT_FOUND, ...,
 * STATUS_OBJECT_TYPE_MISMATCH for a name that is no device);
 * STATUS_OBJECT_NAME_COLLISION for FILE_CREATE / FILE_SUPERSEDE;
 * STATUS_ACCESS_DENIED for an exclusive device already open;
 * STATUS_ACCESS_VIOLATION; STATUS_INVALID_PARAMETER; the driver's refusal
 * of IRP_MJ_CREATE. PASSIVE_LEVEL.
 */
NTSTATUS NtCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess,
                      POBJECT_ATTRIBUTES ObjectAttributes, PIO_STATUS_BLOCK IoStatusBlock,
                      PLARGE_INTEGER AllocationSize, ULONG FileAttributes, ULONG ShareAccess,
                      ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer,
                      ULONG EaLength)
{
    UNREFERENCED_PARAMETER(AllocationSize);
    UNREFERENCED_PARAMETER(FileAttributes);
    UNREFERENCED_PARAMETER(EaBuffer);
    UNREFERENCED_PARAMETER(EaLength);
    return IopCreateFile(FileHandle, DesiredAccess, ObjectAttributes, IoStatusBlock, ShareAccess,
                         CreateDisposition, CreateOptions);
}

/* NtOpenFile - NtCreateFile with FILE_OPEN. PASSIVE_LEVEL. */
NTSTATUS NtOpenFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess,
                    POBJECT_ATTRIBUTES ObjectAttributes, PIO_STATUS_BLOCK IoStatusBlock,
                    ULONG ShareAccess, ULONG OpenOptions)
{
    return IopCreateFile(FileHandle, DesiredAccess, ObjectAttributes, IoStatusBlock, ShareAccess,
                         FILE_OPEN, OpenOptions);
}
