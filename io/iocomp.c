/*
 * iocomp.c - the end of a user's I/O request, in the thread that asked.
 *
 * A driver may complete an IRP in any thread: from a DPC, in whatever
 * thread the interrupt happened to land on, whose process is not the
 * requester's. The requester's buffer, IO_STATUS_BLOCK and APC routine are
 * user addresses of the requester's process, valid only in its address
 * space, so IoCompleteRequest does only what any thread may do (unlock the
 * MDLs) and queues a special kernel APC to the requesting thread
 * (Irp->Tail.Overlay.Thread); the APC runs IopCompleteUserRequest there:
 *
 *   DPC, any thread:     IoCompleteRequest -> IopQueueUserCompletion
 *                          MmUnlockPages(MDLs); KeInsertQueueApc(&Irp->Tail.Apc)
 *   requester, APC_LEVEL: IopCompleteUserRequest
 *                          copy SystemBuffer -> UserBuffer (Information bytes)
 *                          *UserIosb = IoStatus; KeSetEvent(UserEvent or File->Event)
 *                          queue ApcRoutine as a user APC; free the IRP
 *
 * A request the driver completed without pending (IRP_DEFER_IO_COMPLETION
 * and no PendingReturned) needs no APC: the requester is the thread that
 * called IoCallDriver, and the service finishes it when IoCallDriver
 * returns. A request that failed without pending writes nothing the caller
 * sees (NT's rule): its IO_STATUS_BLOCK keeps what it held, its event is
 * not signalled, no APC runs; the service just returns the status.
 *
 * A user request is on its thread's IrpList from the service
 * (io/iosvc.c) to IopCompleteUserRequest, which takes it off in that
 * thread; built IRPs are on the list too (IopQueueThreadIrp, io/iop.h).
 */
#include "iop.h"
#include "../ps/ps.h"
#include "../rtl/rtl.h"

/* The file and event references of a finished or abandoned request go,
 * then the IRP. */
static void IopFreeUserIrp(PIRP Irp)
{
    if (Irp->UserEvent != NULL)
        ObDereferenceObject(Irp->UserEvent);
    ObDereferenceObject(Irp->Tail.Overlay.OriginalFileObject);
    IoFreeIrp(Irp);
}

/* The user APC's kernel routine (in the thread, before the routine runs in
 * user mode) and its rundown routine (the thread ended first): the IRP
 * that carried the KAPC goes. */
static void IopUserApcKernelRoutine(PKAPC Apc, PKNORMAL_ROUTINE *NormalRoutine,
                                    PVOID *NormalContext, PVOID *SystemArgument1,
                                    PVOID *SystemArgument2)
{
    UNREFERENCED_PARAMETER(NormalRoutine);
    UNREFERENCED_PARAMETER(NormalContext);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    IoFreeIrp(CONTAINING_RECORD(Apc, IRP, Tail.Apc));
}

static void IopUserApcRundown(PKAPC Apc)
{
    IoFreeIrp(CONTAINING_RECORD(Apc, IRP, Tail.Apc));
}

/* Buffered output: Information bytes (at most the caller's length) of the
 * system buffer to the user's, unless the request failed. A fault while
 * copying becomes the request's status, as on NT. */
static void IopCopyBufferedOutput(PIRP Irp)
{
    if (!(Irp->Flags & IRP_BUFFERED_IO) || !(Irp->Flags & IRP_INPUT_OPERATION) ||
        NT_ERROR(Irp->IoStatus.Status) || Irp->UserBuffer == NULL)
        return;
    ULONG_PTR Bytes = Irp->IoStatus.Information;
    if (Bytes > IopOutputLength(Irp))
        Bytes = IopOutputLength(Irp);
    if (Bytes != 0 &&
        !NT_SUCCESS(MmCopyToUser(Irp->UserBuffer, Irp->AssociatedIrp.SystemBuffer, Bytes)))
        Irp->IoStatus.Status = STATUS_ACCESS_VIOLATION;
}

/* A synchronous handle moves on by what a read or write transferred. */
static void IopAdvanceByteOffset(PIRP Irp, PFILE_OBJECT File)
{
    PIO_STACK_LOCATION First = (PIO_STACK_LOCATION)(Irp + 1) + Irp->StackCount - 1;
    if (!(File->Flags & FO_SYNCHRONOUS_IO) || NT_ERROR(Irp->IoStatus.Status))
        return;
    if (First->MajorFunction == IRP_MJ_READ || First->MajorFunction == IRP_MJ_WRITE)
        File->CurrentByteOffset.QuadPart =
            First->Parameters.Read.ByteOffset.QuadPart + (LONG64)Irp->IoStatus.Information;
}

/* IopCompleteUserRequest: the contract is in io/iop.h. */
void IopCompleteUserRequest(PIRP Irp)
{
    PFILE_OBJECT File = Irp->Tail.Overlay.OriginalFileObject;
    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    ASSERT(Irp->Tail.Overlay.Thread == PsGetCurrentThread());

    IopDequeueThreadIrp(Irp);
    IopCopyBufferedOutput(Irp);
    if (Irp->MdlAddress != NULL || (Irp->Flags & IRP_DEALLOCATE_BUFFER))
        IopReleaseBuffers(Irp);
    /* Failed at once: the caller learns it from the service's status only. */
    if (NT_ERROR(Irp->IoStatus.Status) && !Irp->PendingReturned) {
        IopFreeUserIrp(Irp);
        return;
    }

    if (Irp->UserIosb != NULL)
        (void)MmCopyToUser(Irp->UserIosb, &Irp->IoStatus, sizeof(IO_STATUS_BLOCK));
    IopAdvanceByteOffset(Irp, File);
    File->FinalStatus = Irp->IoStatus.Status;
    /* NT's rule: the caller's event if it gave one, the file's Event if it
     * did not (a wait on the file handle then sees the end) or if the
     * handle is synchronous (the service waits on it). */
    if (Irp->UserEvent != NULL)
        KeSetEvent(Irp->UserEvent, IO_NO_INCREMENT, FALSE);
    if (Irp->UserEvent == NULL || (File->Flags & FO_SYNCHRONOUS_IO))
        KeSetEvent(&File->Event, IO_NO_INCREMENT, FALSE);

    PIO_APC_ROUTINE Routine = Irp->Overlay.AsynchronousParameters.UserApcRoutine;
    if (Routine == NULL) {
        IopFreeUserIrp(Irp);
        return;
    }
    /* The IRP's KAPC once more, now for user mode: the routine runs as
     * Routine(ApcContext, IoStatusBlock, 0) in the thread's next alertable
     * wait, and the IRP goes when it is delivered. */
    if (Irp->UserEvent != NULL)
        ObDereferenceObject(Irp->UserEvent);
    Irp->UserEvent = NULL;
    ObDereferenceObject(File);
    Irp->Tail.Overlay.OriginalFileObject = NULL;
    KeInitializeApc(&Irp->Tail.Apc, &Irp->Tail.Overlay.Thread->Tcb, OriginalApcEnvironment,
                    IopUserApcKernelRoutine, IopUserApcRundown, (PKNORMAL_ROUTINE)(PVOID)Routine,
                    UserMode, Irp->Overlay.AsynchronousParameters.UserApcContext);
    if (!KeInsertQueueApc(&Irp->Tail.Apc, Irp->UserIosb, NULL, IO_NO_INCREMENT))
        IoFreeIrp(Irp);
}

/* The special kernel APC: the request's end, in its thread. */
static void IopCompletionApcRoutine(PKAPC Apc, PKNORMAL_ROUTINE *NormalRoutine,
                                    PVOID *NormalContext, PVOID *SystemArgument1,
                                    PVOID *SystemArgument2)
{
    UNREFERENCED_PARAMETER(NormalRoutine);
    UNREFERENCED_PARAMETER(NormalContext);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    IopCompleteUserRequest(CONTAINING_RECORD(Apc, IRP, Tail.Apc));
}

/* A request whose thread can no longer run its APC (it ended without the
 * request being over: a driver that ignored the cancel): its memory is
 * gone with it, so only the kernel's part is released. */
static void IopAbandonUserRequest(PIRP Irp)
{
    IopReleaseBuffers(Irp);
    IopFreeUserIrp(Irp);
}

static void IopCompletionApcRundown(PKAPC Apc)
{
    PIRP Irp = CONTAINING_RECORD(Apc, IRP, Tail.Apc);
    IopDequeueThreadIrp(Irp); /* the ending thread's own list */
    IopAbandonUserRequest(Irp);
}

/* IopQueueUserCompletion: the contract is in io/iop.h. */
void IopQueueUserCompletion(PIRP Irp, CCHAR PriorityBoost)
{
    /* Any thread may unlock the pages: they are described by frame. */
    if (Irp->MdlAddress != NULL)
        IopUnlockIrpMdls(Irp);
    if ((Irp->Flags & IRP_DEFER_IO_COMPLETION) && !Irp->PendingReturned)
        return; /* the service, in this very thread, finishes it */
    PETHREAD Thread = Irp->Tail.Overlay.Thread;
    if (Thread == NULL) {
        IopAbandonUserRequest(Irp); /* disassociated from its ended thread */
        return;
    }
    KeInitializeApc(&Irp->Tail.Apc, &Thread->Tcb, OriginalApcEnvironment,
                    IopCompletionApcRoutine, IopCompletionApcRundown, NULL, KernelMode, NULL);
    if (!KeInsertQueueApc(&Irp->Tail.Apc, NULL, NULL, PriorityBoost))
        IopAbandonUserRequest(Irp);
}
