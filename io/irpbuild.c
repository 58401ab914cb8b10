/*
 * irpbuild.c - IRPs the I/O manager builds for kernel callers that want a
 * request done and its result: IoBuildSynchronousFsdRequest (read, write,
 * flush, shutdown) and IoBuildDeviceIoControlRequest, and their end,
 * IopCompleteBuiltRequest.
 *
 * Such an IRP names the thread that asked (Tail.Overlay.Thread), the
 * caller's IO_STATUS_BLOCK and event. For DO_BUFFERED_IO devices and
 * METHOD_BUFFERED controls the driver sees a nonpaged pool copy
 * (AssociatedIrp.SystemBuffer, tag "IoBf") instead of the caller's buffer;
 * at completion the copy goes back (reads, controls with output) and is
 * freed. For DO_DIRECT_IO devices and the direct control methods the
 * caller's buffer is locked instead (IoAllocateMdl, MmProbeAndLockPages)
 * and described by Irp->MdlAddress; completion unlocks and frees the MDL.
 * The caller's buffers are kernel memory, which every thread sees, so
 * completion does all this at once, in whatever thread completes; a user
 * request's end runs in its own thread instead (io/iocomp.c). The buffer
 * helpers here serve both (io/iop.h).
 *
 * IRQL: building is PASSIVE_LEVEL; completion <= DISPATCH_LEVEL.
 */
#include "iop.h"
#include "../mm/mm.h"
#include "../ps/ps.h"
#include "../rtl/rtl.h"

/* An IRP for DeviceObject's stack owned by the current thread, its first
 * location for MajorFunction. NULL when pool is exhausted. */
static PIRP IopBuildThreadIrp(UCHAR MajorFunction, PDEVICE_OBJECT DeviceObject, PKEVENT Event,
                              PIO_STATUS_BLOCK IoStatusBlock)
{
    PIRP Irp = IoAllocateIrp(DeviceObject->StackSize, FALSE);
    if (Irp == NULL)
        return NULL;
    Irp->Tail.Overlay.Thread = PsGetCurrentThread();
    Irp->RequestorMode = KernelMode;
    Irp->UserIosb = IoStatusBlock;
    Irp->UserEvent = Event;
    IoGetNextIrpStackLocation(Irp)->MajorFunction = MajorFunction;
    IopQueueThreadIrp(Irp); /* a threaded IRP (io/iop.h) */
    return Irp;
}

/* Off the thread's list, then freed (I/O verification stops a free of an
 * IRP still on it). */
static void IopFreeBuiltIrp(PIRP Irp)
{
    IopDequeueThreadIrp(Irp);
    IoFreeIrp(Irp);
}

/* IopAllocateSystemBuffer: the contract is in io/iop.h. */
BOOLEAN IopAllocateSystemBuffer(PIRP Irp, ULONG Length, const void *Source)
{
    PVOID Buffer = ExAllocatePoolWithTag(NonPagedPool, Length ? Length : 1, IO_BUFFER_TAG);
    if (Buffer == NULL)
        return FALSE;
    if (Source != NULL)
        memcpy(Buffer, Source, Length);
    Irp->AssociatedIrp.SystemBuffer = Buffer;
    Irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
    return TRUE;
}

/* IopLockUserBuffer: the contract is in io/iop.h. */
NTSTATUS IopLockUserBuffer(PIRP Irp, PVOID Buffer, ULONG Length, KPROCESSOR_MODE Mode,
                           LOCK_OPERATION Operation)
{
    if (Length == 0)
        return STATUS_SUCCESS;
    PMDL Mdl = IoAllocateMdl(Buffer, Length, FALSE, FALSE, NULL);
    if (Mdl == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS Status = MmProbeAndLockPages(Mdl, Mode, Operation);
    if (!NT_SUCCESS(Status)) {
        IoFreeMdl(Mdl);
        return Status;
    }
    Irp->MdlAddress = Mdl;
    return STATUS_SUCCESS;
}

/* IopUnlockIrpMdls: the contract is in io/iop.h. */
void IopUnlockIrpMdls(PIRP Irp)
{
    PMDL Mdl = Irp->MdlAddress;
    while (Mdl != NULL) {
        PMDL Next = Mdl->Next;
        MmUnlockPages(Mdl);
        IoFreeMdl(Mdl);
        Mdl = Next;
    }
    Irp->MdlAddress = NULL;
}

/* IopReleaseBuffers: the contract is in io/iop.h. */
void IopReleaseBuffers(PIRP Irp)
{
    IopUnlockIrpMdls(Irp);
    if (Irp->Flags & IRP_DEALLOCATE_BUFFER)
        ExFreePoolWithTag(Irp->AssociatedIrp.SystemBuffer, IO_BUFFER_TAG);
    Irp->Flags &= ~IRP_DEALLOCATE_BUFFER;
    Irp->AssociatedIrp.SystemBuffer = NULL;
}

/* IoBuildSynchronousFsdRequest: the contract is in io/io.h. */
PIRP IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                                  ULONG Length, PLARGE_INTEGER StartingOffset, PKEVENT Event,
                                  PIO_STATUS_BLOCK IoStatusBlock)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    BOOLEAN Transfer = MajorFunction == IRP_MJ_READ || MajorFunction == IRP_MJ_WRITE;
    if (!Transfer && MajorFunction != IRP_MJ_FLUSH_BUFFERS && MajorFunction != IRP_MJ_SHUTDOWN)
        return NULL;

    PIRP Irp = IopBuildThreadIrp((UCHAR)MajorFunction, DeviceObject, Event, IoStatusBlock);
    if (Irp == NULL || !Transfer)
        return Irp;

    PIO_STACK_LOCATION Stack = IoGetNextIrpStackLocation(Irp);
    BOOLEAN Read = MajorFunction == IRP_MJ_READ;
    /* Read and Write have the same layout. */
    Stack->Parameters.Read.Length = Length;
    if (StartingOffset != NULL)
        Stack->Parameters.Read.ByteOffset = *StartingOffset;
    Irp->UserBuffer = Buffer;
    Irp->Flags |= Read ? IRP_READ_OPERATION : IRP_WRITE_OPERATION;
    if (DeviceObject->Flags & DO_BUFFERED_IO) {
        if (!IopAllocateSystemBuffer(Irp, Length, Read ? NULL : Buffer)) {
            IopFreeBuiltIrp(Irp);
            return NULL;
        }
        if (Read)
            Irp->Flags |= IRP_INPUT_OPERATION;
    } else if (DeviceObject->Flags & DO_DIRECT_IO) {
        /* A read writes into the caller's pages. */
        if (!NT_SUCCESS(IopLockUserBuffer(Irp, Buffer, Length, KernelMode,
                                          Read ? IoWriteAccess : IoReadAccess))) {
            IopFreeBuiltIrp(Irp);
            return NULL;
        }
    }
    return Irp;
}

/* IoBuildDeviceIoControlRequest: the contract is in io/io.h. */
PIRP IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject,
                                   PVOID InputBuffer, ULONG InputBufferLength, PVOID OutputBuffer,
                                   ULONG OutputBufferLength, BOOLEAN InternalDeviceIoControl,
                                   PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    ULONG Method = METHOD_FROM_CTL_CODE(IoControlCode);
    UCHAR Major = InternalDeviceIoControl ? IRP_MJ_INTERNAL_DEVICE_CONTROL : IRP_MJ_DEVICE_CONTROL;
    PIRP Irp = IopBuildThreadIrp(Major, DeviceObject, Event, IoStatusBlock);
    if (Irp == NULL)
        return NULL;
    PIO_STACK_LOCATION Stack = IoGetNextIrpStackLocation(Irp);
    Stack->Parameters.DeviceIoControl.IoControlCode = IoControlCode;
    Stack->Parameters.DeviceIoControl.InputBufferLength = InputBufferLength;
    Stack->Parameters.DeviceIoControl.OutputBufferLength = OutputBufferLength;
    Irp->UserBuffer = OutputBuffer;

    if (Method == METHOD_NEITHER) {
        Stack->Parameters.DeviceIoControl.Type3InputBuffer = InputBuffer;
        return Irp;
    }
    if (Method == METHOD_BUFFERED) {
        /* One buffer: input in, output out. */
        ULONG Length = InputBufferLength > OutputBufferLength ? InputBufferLength
                                                              : OutputBufferLength;
        if (!IopAllocateSystemBuffer(Irp, Length, NULL))
            goto free_irp;
        if (InputBufferLength != 0)
            memcpy(Irp->AssociatedIrp.SystemBuffer, InputBuffer, InputBufferLength);
        if (OutputBufferLength != 0)
            Irp->Flags |= IRP_INPUT_OPERATION;
        return Irp;
    }
    /* The direct methods: the input buffered, the output buffer locked
     * (read by the device for IN_DIRECT, written for OUT_DIRECT). */
    if (InputBufferLength != 0 && !IopAllocateSystemBuffer(Irp, InputBufferLength, InputBuffer))
        goto free_irp;
    LOCK_OPERATION Operation = Method == METHOD_IN_DIRECT ? IoReadAccess : IoWriteAccess;
    if (!NT_SUCCESS(
            IopLockUserBuffer(Irp, OutputBuffer, OutputBufferLength, KernelMode, Operation)))
        goto release_buffers;
    return Irp;

release_buffers:
    IopReleaseBuffers(Irp);
free_irp:
    IopFreeBuiltIrp(Irp);
    return NULL;
}

/* IopOutputLength: the contract is in io/iop.h. */
ULONG IopOutputLength(PIRP Irp)
{
    PIO_STACK_LOCATION First = (PIO_STACK_LOCATION)(Irp + 1) + Irp->StackCount - 1;
    if (First->MajorFunction == IRP_MJ_READ)
        return First->Parameters.Read.Length;
    return First->Parameters.DeviceIoControl.OutputBufferLength;
}

void IopCompleteBuiltRequest(PIRP Irp)
{
    PKEVENT Event = Irp->UserEvent;

    /* Warnings (0x8...) still transfer data; errors do not. */
    BOOLEAN Error = ((ULONG)Irp->IoStatus.Status >> 30) == 3;
    if ((Irp->Flags & IRP_INPUT_OPERATION) && !Error && Irp->UserBuffer != NULL) {
        ULONG_PTR Bytes = Irp->IoStatus.Information;
        if (Bytes > IopOutputLength(Irp))
            Bytes = IopOutputLength(Irp);
        memcpy(Irp->UserBuffer, Irp->AssociatedIrp.SystemBuffer, Bytes);
    }
    IopReleaseBuffers(Irp);
    if (Irp->UserIosb != NULL)
        *Irp->UserIosb = Irp->IoStatus;
    IopFreeBuiltIrp(Irp);
    if (Event != NULL)
        KeSetEvent(Event, IO_NO_INCREMENT, FALSE);
}
