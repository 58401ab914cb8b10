/*
 * iosvc.c - the I/O services: NtReadFile, NtWriteFile,
 * NtDeviceIoControlFile, NtCancelIoFile, and the cancellation of a
 * thread's requests when it ends (IoCancelThreadIo).
 *
 * Each service checks and captures its user arguments first (the buffer
 * probed for the access the request makes, the IO_STATUS_BLOCK probed for
 * writing, ByteOffset and Key copied), references the file object and the
 * event, then builds one IRP for the top of the device's stack:
 *
 *   device / method           the driver finds the data          IRP flags
 *   DO_BUFFERED_IO, BUFFERED  AssociatedIrp.SystemBuffer (pool)  IRP_BUFFERED_IO
 *   DO_DIRECT_IO, *_DIRECT    MdlAddress (the user pages locked) -
 *   neither, NEITHER          UserBuffer / Type3InputBuffer as    -
 *                             given (valid in the requester only)
 *
 * The IRP names the thread (Tail.Overlay.Thread, RequestorMode UserMode)
 * and goes on the thread's IrpList; IoCallDriver sends it. When the driver
 * did not pend, the service finishes the request itself
 * (IopCompleteUserRequest, IRP_DEFER_IO_COMPLETION); otherwise a special
 * kernel APC does, later, in this thread (io/iocomp.c). A synchronous
 * handle (FO_SYNCHRONOUS_IO) serializes its requests through the file
 * lock (Busy, Waiters, Lock) and waits in the service for File->Event;
 * an asynchronous one returns STATUS_PENDING and the caller waits on its
 * event or for its APC routine.
 *
 * Fast I/O comes first: on a synchronous handle, with no event and no APC
 * routine, the top driver's FastIoRead / FastIoWrite / FastIoDeviceControl
 * (DRIVER_OBJECT.FastIoDispatch) may serve the request at once, without an
 * IRP; its status block is written whatever the status, as NT does.
 *
 * A failure before the IRP is sent leaves the caller's IO_STATUS_BLOCK and
 * event untouched and returns the status. PASSIVE_LEVEL; the thread's
 * IrpList is touched only by the thread, with APCs held off (APC_LEVEL,
 * or IopRaiseToHigh for a single insertion or removal).
 */
#include "iop.h"
#include "../ps/ps.h"
#include "../ex/ex.h"
#include "../rtl/rtl.h"

/* How long a thread or NtCancelIoFile waits for cancelled requests to end
 * before giving up on a driver that ignores the cancel: 100 steps of 10 ms. */
#define IOP_CANCEL_WAIT_STEPS 100
#define IOP_CANCEL_WAIT_STEP  (-10 * 10000LL)

/* What a service captured and referenced. */
typedef struct _IOP_USER_REQUEST {
    PFILE_OBJECT File;              /* referenced (the service's reference) */
    PDEVICE_OBJECT Device; /* the top of its device's stack */
    PKEVENT Event;                  /* referenced, or NULL */
    PIO_APC_ROUTINE ApcRoutine;
    PVOID ApcContext;
    PIO_STATUS_BLOCK IoStatusBlock; /* user pointer, probed */
    BOOLEAN Synchronous;            /* FO_SYNCHRONOUS_IO: the service waits */
} IOP_USER_REQUEST;

/* ------------------------------------------------------------------------
 * The file lock of synchronous handles
 * ------------------------------------------------------------------------ */

/* Take File's lock: one request at a time on a synchronous handle. The
 * wait is a user-mode one, so that a thread told to end leaves it
 * (STATUS_USER_APC, returned). */
static __attribute__((noinline)) NTSTATUS IopAcquireFileObjectLockSlow(PFILE_OBJECT File)
{
    NTSTATUS Status = STATUS_SUCCESS;
    __atomic_add_fetch(&File->Waiters, 1, __ATOMIC_SEQ_CST);
    while (__atomic_exchange_n(&File->Busy, 1, __ATOMIC_SEQ_CST) != 0) {
        Status = KeWaitForSingleObject(&File->Lock, Executive, UserMode,
                                       (File->Flags & FO_ALERTABLE_IO) != 0, NULL);
        if (Status == STATUS_USER_APC || Status == STATUS_ALERTED)
            break;
        Status = STATUS_SUCCESS;
    }
    __atomic_sub_fetch(&File->Waiters, 1, __ATOMIC_SEQ_CST);
    return Status;
}

/* Free (the common case): one exchange, no waiter count, no call. */
static inline NTSTATUS IopAcquireFileObjectLock(PFILE_OBJECT File)
{
    if (__atomic_exchange_n(&File->Busy, 1, __ATOMIC_SEQ_CST) == 0)
        return STATUS_SUCCESS;
    return IopAcquireFileObjectLockSlow(File);
}

static void IopReleaseFileObjectLock(PFILE_OBJECT File)
{
    __atomic_store_n(&File->Busy, 0, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&File->Waiters, __ATOMIC_SEQ_CST) != 0)
        KeSetEvent(&File->Lock, IO_NO_INCREMENT, FALSE);
}

/*
 * Write a request's status and information into the caller's
 * IO_STATUS_BLOCK, which IopBeginUserRequest checked to be aligned and in
 * user space: two stores, as NT's I/O manager makes them, with the user
 * access opened (stac) for just those two. A store that faults (the block
 * unmapped or read-only since) resumes at the fixup with the status in
 * EAX, through the exception table (kernel/trap.c), as the user copies of
 * kernel/x64/usercopy.asm do; the request's status is returned anyway, as
 * NT returns it when writing the block raises. Returns STATUS_SUCCESS,
 * STATUS_ACCESS_VIOLATION or STATUS_GUARD_PAGE_VIOLATION. One copy, out of
 * line: each copy of the stores is two more exception-table entries.
 */
__attribute__((noinline)) NTSTATUS IopWriteUserIoStatus(PIO_STATUS_BLOCK UserIosb,
                                                        const IO_STATUS_BLOCK *IoStatus)
{
    NTSTATUS Result = STATUS_SUCCESS;
    __asm__ volatile(
        "stac\n"
        "1: movl %k[status], (%[iosb])\n"
        "2: movq %[info], 8(%[iosb])\n"
        "3: clac\n"
        ".pushsection .ex_table, \"a\"\n"
        ".balign 8\n"
        ".quad 1b, 3b\n"
        ".quad 2b, 3b\n"
        ".popsection\n"
        : "+a"(Result)
        : [iosb] "r"(UserIosb), [status] "r"(IoStatus->Status), [info] "r"(IoStatus->Information)
        : "memory");
    return Result;
}

/* ------------------------------------------------------------------------
 * Capture and reference
 * ------------------------------------------------------------------------ */

/* Probe the status block, reference the file (with Access) and the event,
 * and take the file lock of a synchronous handle. On failure nothing is
 * held. */
static inline __attribute__((always_inline)) NTSTATUS
IopBeginUserRequest(HANDLE FileHandle, ACCESS_MASK Access, HANDLE EventHandle,
                    PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock,
                    IOP_USER_REQUEST *Request)
{
    Request->Event = NULL;
    Request->ApcRoutine = ApcRoutine;
    Request->ApcContext = ApcContext;
    Request->IoStatusBlock = IoStatusBlock;
    /* The status block is only written by fault-recovering copies: a range
     * check now is enough (it must be aligned and in user space). */
    ULONG_PTR Iosb = (ULONG_PTR)IoStatusBlock;
    if ((Iosb & 3) != 0)
        return STATUS_DATATYPE_MISALIGNMENT;
    if (Iosb + sizeof(IO_STATUS_BLOCK) > MM_USER_PROBE_ADDRESS || Iosb == 0)
        return STATUS_ACCESS_VIOLATION;
    NTSTATUS Status = ObReferenceObjectByHandle(FileHandle, Access, IoFileObjectType, UserMode,
                                                (PVOID *)&Request->File, NULL);
    if (!NT_SUCCESS(Status))
        return Status;
    if (EventHandle != NULL) {
        Status = ObReferenceObjectByHandle(EventHandle, EVENT_MODIFY_STATE, ExEventObjectType,
                                           UserMode, (PVOID *)&Request->Event, NULL);
        if (!NT_SUCCESS(Status))
            goto dereference_file;
    }
    Request->Device = IoGetRelatedDeviceObject(Request->File);
    Request->Synchronous = (Request->File->Flags & FO_SYNCHRONOUS_IO) != 0;
    if (Request->Synchronous) {
        Status = IopAcquireFileObjectLock(Request->File);
        if (Status != STATUS_SUCCESS)
            goto dereference_event;
    }
    return STATUS_SUCCESS;

dereference_event:
    if (Request->Event != NULL)
        ObDereferenceObject(Request->Event);
dereference_file:
    ObDereferenceObject(Request->File);
    return Status;
}

/* Undo IopBeginUserRequest (a request that was never sent, or is over).
 * Inlined: the fast I/O path ends every request here. */
static inline __attribute__((always_inline)) void IopEndUserRequest(IOP_USER_REQUEST *Request)
{
    if (Request->Synchronous)
        IopReleaseFileObjectLock(Request->File);
    if (Request->Event != NULL)
        ObDereferenceObject(Request->Event);
    ObDereferenceObject(Request->File);
}

/* An IRP for Request with its first location for MajorFunction; it takes
 * references of its own on the file and the event. NULL when pool is
 * exhausted. */
static PIRP IopAllocateUserIrp(IOP_USER_REQUEST *Request, UCHAR MajorFunction)
{
    PIRP Irp = IoAllocateIrp(Request->Device->StackSize, FALSE);
    if (Irp == NULL)
        return NULL;
    Irp->Tail.Overlay.Thread = PsGetCurrentThread();
    Irp->Tail.Overlay.OriginalFileObject = Request->File;
    ObReferenceObject(Request->File);
    Irp->RequestorMode = UserMode;
    Irp->UserIosb = Request->IoStatusBlock;
    Irp->UserEvent = Request->Event;
    if (Request->Event != NULL)
        ObReferenceObject(Request->Event);
    Irp->Overlay.AsynchronousParameters.UserApcRoutine = Request->ApcRoutine;
    Irp->Overlay.AsynchronousParameters.UserApcContext = Request->ApcContext;
    Irp->Flags = IRP_DEFER_IO_COMPLETION | (Request->Synchronous ? IRP_SYNCHRONOUS_API : 0);
    PIO_STACK_LOCATION Stack = IoGetNextIrpStackLocation(Irp);
    Stack->MajorFunction = MajorFunction;
    Stack->FileObject = Request->File;
    return Irp;
}

/* An IRP that was never sent: its buffers, references and memory go. */
static void IopFreeUnsentIrp(PIRP Irp)
{
    IopReleaseBuffers(Irp);
    if (Irp->UserEvent != NULL)
        ObDereferenceObject(Irp->UserEvent);
    ObDereferenceObject(Irp->Tail.Overlay.OriginalFileObject);
    IoFreeIrp(Irp);
}

/* ------------------------------------------------------------------------
 * Sending and waiting
 * ------------------------------------------------------------------------ */

/* Cancel the current thread's requests on File (every one, File NULL) and
 * return how many were found. DISPATCH_LEVEL inside, so that no other
 * completion (a user request's APC, a DPC ending a built IRP) takes an IRP
 * off the list meanwhile; a cancel routine may end the very IRP it is
 * given, so the next entry is read first. */
static ULONG IopCancelThreadRequests(PETHREAD Thread, PFILE_OBJECT File)
{
    KIRQL OldIrql;
    ULONG Found = 0;
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
    for (PLIST_ENTRY E = Thread->IrpList.Flink, Next; E != &Thread->IrpList; E = Next) {
        PIRP Irp = CONTAINING_RECORD(E, IRP, ThreadListEntry);
        Next = E->Flink;
        if (File == NULL || Irp->Tail.Overlay.OriginalFileObject == File) {
            Found++;
            (void)IoCancelIrp(Irp);
        }
    }
    KeLowerIrql(OldIrql); /* their completion APCs run here, if they are over */
    return Found;
}

/* Wait (kernel mode: a thread that is ending waits too) until none of the
 * current thread's requests on File (NULL: any) is left; FALSE on time out. */
static BOOLEAN IopWaitThreadRequests(PETHREAD Thread, PFILE_OBJECT File)
{
    for (ULONG Step = 0; Step < IOP_CANCEL_WAIT_STEPS; Step++) {
        BOOLEAN Left = FALSE;
        KIRQL OldIrql;
        KeRaiseIrql(DISPATCH_LEVEL, &OldIrql); /* no completion meanwhile */
        for (PLIST_ENTRY E = Thread->IrpList.Flink; E != &Thread->IrpList; E = E->Flink)
            if (File == NULL ||
                CONTAINING_RECORD(E, IRP, ThreadListEntry)->Tail.Overlay.OriginalFileObject == File)
                Left = TRUE;
        KeLowerIrql(OldIrql);
        if (!Left)
            return TRUE;
        LARGE_INTEGER Interval = {.QuadPart = IOP_CANCEL_WAIT_STEP};
        (void)KeDelayExecutionThread(KernelMode, FALSE, &Interval);
    }
    return FALSE;
}

/* A synchronous handle's request pended: wait for its end (File->Event,
 * which the completion APC signals) and return its status. A wait that a
 * termination or an alert breaks cancels the request and waits for it. */
static NTSTATUS IopWaitForSynchronousRequest(PFILE_OBJECT File)
{
    NTSTATUS Status = KeWaitForSingleObject(&File->Event, Executive, UserMode,
                                            (File->Flags & FO_ALERTABLE_IO) != 0, NULL);
    if (Status == STATUS_USER_APC || Status == STATUS_ALERTED) {
        PETHREAD Thread = PsGetCurrentThread();
        (void)IopCancelThreadRequests(Thread, File);
        (void)IopWaitThreadRequests(Thread, File);
        return Status;
    }
    return File->FinalStatus;
}

/*
 * Send a built IRP for Request and see it through: on the thread's list,
 * to the top of the device's stack; finished here when the driver did not
 * pend, waited for on a synchronous handle. Ends Request. Returns the
 * service's status.
 */
static NTSTATUS IopSendUserRequest(IOP_USER_REQUEST *Request, PIRP Irp)
{
    PETHREAD Thread = PsGetCurrentThread();
    PFILE_OBJECT File = Request->File;

    if (Request->Event != NULL)
        KeClearEvent(Request->Event);
    KeClearEvent(&File->Event);
    ASSERT(Irp->Tail.Overlay.Thread == Thread);
    IopQueueThreadIrp(Irp);

    NTSTATUS Status = IoCallDriver(Request->Device, Irp);
    if (Status != STATUS_PENDING) {
        /* Not pended: IoCompleteRequest left the end to this thread. */
        IopCompleteUserRequest(Irp);
    } else if (Request->Synchronous) {
        Status = IopWaitForSynchronousRequest(File);
    }
    IopEndUserRequest(Request);
    return Status;
}

/* ------------------------------------------------------------------------
 * The services
 * ------------------------------------------------------------------------ */

/* The buffer of a read or write, as the device wants it. Returns
 * STATUS_ACCESS_VIOLATION (a buffer that cannot be read or locked),
 * STATUS_INSUFFICIENT_RESOURCES. */
static NTSTATUS IopAttachTransferBuffer(PIRP Irp, PDEVICE_OBJECT Device, PVOID Buffer, ULONG Length,
                                        BOOLEAN Read)
{
    Irp->UserBuffer = Buffer;
    Irp->Flags |= Read ? IRP_READ_OPERATION : IRP_WRITE_OPERATION;
    if (Device->Flags & DO_BUFFERED_IO) {
        if (!IopAllocateSystemBuffer(Irp, Length, NULL))
            return STATUS_INSUFFICIENT_RESOURCES;
        if (Read)
            Irp->Flags |= IRP_INPUT_OPERATION;
        else if (!NT_SUCCESS(MmCopyFromUser(Irp->AssociatedIrp.SystemBuffer, Buffer, Length)))
            return STATUS_ACCESS_VIOLATION;
    } else if (Device->Flags & DO_DIRECT_IO) {
        NTSTATUS Status = IopLockUserBuffer(Irp, Buffer, Length, UserMode,
                                            Read ? IoWriteAccess : IoReadAccess);
        if (!NT_SUCCESS(Status))
            return Status == STATUS_INSUFFICIENT_RESOURCES ? Status : STATUS_ACCESS_VIOLATION;
    }
    return STATUS_SUCCESS;
}

/* The fast I/O routines of the driver at the top of Request's stack, when
 * the request may use them: a synchronous handle, no event, no APC. */
static inline const FAST_IO_DISPATCH *IopFastIo(const IOP_USER_REQUEST *Request)
{
    if (!Request->Synchronous || Request->Event != NULL || Request->ApcRoutine != NULL)
        return NULL;
    return Request->Device->DriverObject->FastIoDispatch;
}

/* A request fast I/O served: its status block written (NT writes it
 * whatever the status), a synchronous handle's offset moved on. Ends
 * Request and returns the status. */
static inline __attribute__((always_inline)) NTSTATUS IopEndFastIo(IOP_USER_REQUEST *Request,
                                                                   const IO_STATUS_BLOCK *IoStatus,
                                                                   const LARGE_INTEGER *Offset)
{
    (void)IopWriteUserIoStatus(Request->IoStatusBlock, IoStatus);
    if (Offset != NULL && !NT_ERROR(IoStatus->Status))
        Request->File->CurrentByteOffset.QuadPart =
            Offset->QuadPart + (LONG64)IoStatus->Information;
    IopEndUserRequest(Request);
    return IoStatus->Status;
}

/* The IRP half of NtReadFile and NtWriteFile (out of line: the fast I/O
 * half stays small). Ends Request. */
static __attribute__((noinline)) NTSTATUS IopReadWriteIrp(IOP_USER_REQUEST *Request, BOOLEAN Read,
                                                          PVOID Buffer, ULONG Length,
                                                          const LARGE_INTEGER *Offset, ULONG Key)
{
    PIRP Irp = IopAllocateUserIrp(Request, Read ? IRP_MJ_READ : IRP_MJ_WRITE);
    if (Irp == NULL) {
        IopEndUserRequest(Request);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    PIO_STACK_LOCATION Stack = IoGetNextIrpStackLocation(Irp);
    Stack->Parameters.Read.Length = Length; /* Read and Write have one layout */
    Stack->Parameters.Read.Key = Key;
    Stack->Parameters.Read.ByteOffset = *Offset;
    NTSTATUS Status = IopAttachTransferBuffer(Irp, Request->Device, Buffer, Length, Read);
    if (!NT_SUCCESS(Status)) {
        IopFreeUnsentIrp(Irp);
        IopEndUserRequest(Request);
        return Status;
    }
    return IopSendUserRequest(Request, Irp);
}

/* NtReadFile and NtWriteFile: the contract is in include/ntapi.h. Inlined
 * into both, so that each is one frame with Read a constant. */
static inline __attribute__((always_inline)) NTSTATUS
IopReadWrite(BOOLEAN Read, HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
             PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length,
             PLARGE_INTEGER ByteOffset, PULONG Key)
{
    LARGE_INTEGER Offset = {0};
    ULONG CapturedKey = 0;
    IOP_USER_REQUEST Request;

    NTSTATUS Status = Read ? ProbeForWrite(Buffer, Length, 1) : ProbeForRead(Buffer, Length, 1);
    if (NT_SUCCESS(Status) && ByteOffset != NULL)
        Status = MmCopyFromUser(&Offset, ByteOffset, sizeof(Offset));
    if (NT_SUCCESS(Status) && Key != NULL)
        Status = MmCopyFromUser(&CapturedKey, Key, sizeof(CapturedKey));
    if (!NT_SUCCESS(Status))
        return STATUS_ACCESS_VIOLATION;
    Status = IopBeginUserRequest(FileHandle, Read ? FILE_READ_DATA : FILE_WRITE_DATA, Event,
                                 ApcRoutine, ApcContext, IoStatusBlock, &Request);
    if (!NT_SUCCESS(Status))
        return Status;
    if (ByteOffset == NULL && Request.Synchronous)
        Offset = Request.File->CurrentByteOffset;
    const FAST_IO_DISPATCH *FastIo = IopFastIo(&Request);
    PFAST_IO_READ FastRoutine = FastIo ? (Read ? FastIo->FastIoRead : FastIo->FastIoWrite) : NULL;
    IO_STATUS_BLOCK FastStatus;
    if (FastRoutine != NULL &&
        FastRoutine(Request.File, &Offset, Length, TRUE, CapturedKey, Buffer, &FastStatus,
                    Request.Device))
        return IopEndFastIo(&Request, &FastStatus, &Offset);
    return IopReadWriteIrp(&Request, Read, Buffer, Length, &Offset, CapturedKey);
}

/* NtReadFile: the contract is in include/ntapi.h. PASSIVE_LEVEL. */
NTSTATUS NtReadFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                    PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length,
                    PLARGE_INTEGER ByteOffset, PULONG Key)
{
    return IopReadWrite(TRUE, FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, Buffer,
                        Length, ByteOffset, Key);
}

/* NtWriteFile: the contract is in include/ntapi.h. PASSIVE_LEVEL. */
NTSTATUS NtWriteFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
                     PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, const void *Buffer,
                     ULONG Length, PLARGE_INTEGER ByteOffset, PULONG Key)
{
    return IopReadWrite(FALSE, FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock,
                        (PVOID)Buffer, Length, ByteOffset, Key);
}

/* The buffers of a control, by its method (the table in the file header).
 * The user buffers were probed. Returns STATUS_ACCESS_VIOLATION,
 * STATUS_INSUFFICIENT_RESOURCES. */
static NTSTATUS IopAttachControlBuffers(PIRP Irp, ULONG Method, PVOID In, ULONG InLength,
                                        PVOID Out, ULONG OutLength)
{
    PIO_STACK_LOCATION Stack = IoGetNextIrpStackLocation(Irp);
    Irp->UserBuffer = Out;
    if (Method == METHOD_NEITHER) {
        Stack->Parameters.DeviceIoControl.Type3InputBuffer = In;
        return STATUS_SUCCESS;
    }
    ULONG Length = Method == METHOD_BUFFERED && OutLength > InLength ? OutLength : InLength;
    if ((Length != 0 || Method == METHOD_BUFFERED) &&
        !IopAllocateSystemBuffer(Irp, Length, NULL))
        return STATUS_INSUFFICIENT_RESOURCES;
    if (InLength != 0 && !NT_SUCCESS(MmCopyFromUser(Irp->AssociatedIrp.SystemBuffer, In, InLength)))
        return STATUS_ACCESS_VIOLATION;
    if (Method == METHOD_BUFFERED) {
        if (OutLength != 0)
            Irp->Flags |= IRP_INPUT_OPERATION;
        return STATUS_SUCCESS;
    }
    /* IN_DIRECT: the device reads the output buffer; OUT_DIRECT: writes it. */
    NTSTATUS Status = IopLockUserBuffer(Irp, Out, OutLength, UserMode,
                                        Method == METHOD_IN_DIRECT ? IoReadAccess : IoWriteAccess);
    if (!NT_SUCCESS(Status))
        return Status == STATUS_INSUFFICIENT_RESOURCES ? Status : STATUS_ACCESS_VIOLATION;
    return STATUS_SUCCESS;
}

/* The handle rights a control code asks for (its Access bits). */
static ACCESS_MASK IopControlAccess(ULONG IoControlCode)
{
    ULONG Access = (IoControlCode >> 14) & 3;
    return ((Access & FILE_READ_ACCESS) ? FILE_READ_DATA : 0) |
           ((Access & FILE_WRITE_ACCESS) ? FILE_WRITE_DATA : 0);
}

/* NtDeviceIoControlFile: the contract is in include/ntapi.h. PASSIVE_LEVEL. */
NTSTATUS NtDeviceIoControlFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
                               PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock,
                               ULONG IoControlCode, PVOID InputBuffer, ULONG InputBufferLength,
                               PVOID OutputBuffer, ULONG OutputBufferLength)
{
    ULONG Method = METHOD_FROM_CTL_CODE(IoControlCode);
    IOP_USER_REQUEST Request;

    /* METHOD_NEITHER's buffers are the driver's to probe: it gets them as given. */
    if (Method != METHOD_NEITHER &&
        (!NT_SUCCESS(ProbeForRead(InputBuffer, InputBufferLength, 1)) ||
         !NT_SUCCESS(Method == METHOD_IN_DIRECT
                         ? ProbeForRead(OutputBuffer, OutputBufferLength, 1)
                         : ProbeForWrite(OutputBuffer, OutputBufferLength, 1))))
        return STATUS_ACCESS_VIOLATION;
    NTSTATUS Status = IopBeginUserRequest(FileHandle, IopControlAccess(IoControlCode), Event,
                                          ApcRoutine, ApcContext, IoStatusBlock, &Request);
    if (!NT_SUCCESS(Status))
        return Status;
    const FAST_IO_DISPATCH *FastIo = IopFastIo(&Request);
    IO_STATUS_BLOCK FastStatus;
    if (FastIo != NULL && FastIo->FastIoDeviceControl != NULL &&
        FastIo->FastIoDeviceControl(Request.File, TRUE, InputBuffer, InputBufferLength,
                                    OutputBuffer, OutputBufferLength, IoControlCode, &FastStatus,
                                    Request.Device))
        return IopEndFastIo(&Request, &FastStatus, NULL);
    PIRP Irp = IopAllocateUserIrp(&Request, IRP_MJ_DEVICE_CONTROL);
    if (Irp == NULL) {
        IopEndUserRequest(&Request);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    PIO_STACK_LOCATION Stack = IoGetNextIrpStackLocation(Irp);
    Stack->Parameters.DeviceIoControl.IoControlCode = IoControlCode;
    Stack->Parameters.DeviceIoControl.InputBufferLength = InputBufferLength;
    Stack->Parameters.DeviceIoControl.OutputBufferLength = OutputBufferLength;
    Status = IopAttachControlBuffers(Irp, Method, InputBuffer, InputBufferLength, OutputBuffer,
                                     OutputBufferLength);
    if (!NT_SUCCESS(Status)) {
        IopFreeUnsentIrp(Irp);
        IopEndUserRequest(&Request);
        return Status;
    }
    return IopSendUserRequest(&Request, Irp);
}

/*
 * NtCancelIoFile - cancel the calling thread's requests on FileHandle
 * (IoCancelIrp on each) and wait until they are over; their ends run as
 * usual (status STATUS_CANCELLED from drivers that honour the cancel).
 * *IoStatusBlock gets STATUS_SUCCESS, 0. Returns STATUS_SUCCESS,
 * STATUS_ACCESS_VIOLATION, the statuses of the handle look-up. PASSIVE_LEVEL.
 */
NTSTATUS NtCancelIoFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock)
{
    PFILE_OBJECT File;
    NTSTATUS Status = ProbeForWrite(IoStatusBlock, sizeof(IO_STATUS_BLOCK), 4);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObReferenceObjectByHandle(FileHandle, 0, IoFileObjectType, UserMode, (PVOID *)&File,
                                       NULL);
    if (!NT_SUCCESS(Status))
        return Status;
    PETHREAD Thread = PsGetCurrentThread();
    if (IopCancelThreadRequests(Thread, File) != 0)
        (void)IopWaitThreadRequests(Thread, File);
    ObDereferenceObject(File);
    IO_STATUS_BLOCK Iosb = {.Status = STATUS_SUCCESS, .Information = 0};
    return MmCopyToUser(IoStatusBlock, &Iosb, sizeof(Iosb));
}

/* IoCancelThreadIo: the contract is in io/io.h. */
void IoCancelThreadIo(PETHREAD Thread)
{
    ASSERT(Thread == PsGetCurrentThread());
    if (KeGetCurrentIrql() == PASSIVE_LEVEL) {
        (void)IopCancelThreadRequests(Thread, NULL);
        if (IopWaitThreadRequests(Thread, NULL))
            return;
    }
    /* A driver kept a request past the cancel: it is cut loose from the
     * thread (a user request's end will release only the kernel's part; a
     * built IRP keeps its thread, whose caller should have waited). */
    KIRQL OldIrql = IopRaiseToHigh();
    while (!IsListEmpty(&Thread->IrpList)) {
        PIRP Irp = CONTAINING_RECORD(RemoveHeadList(&Thread->IrpList), IRP, ThreadListEntry);
        InitializeListHead(&Irp->ThreadListEntry);
        DbgPrint("io: thread %u ends with IRP %p still held by %p\n",
                 (ULONG)(ULONG_PTR)Thread->Cid.UniqueThread, Irp,
                 IoGetCurrentIrpStackLocation(Irp)->DeviceObject);
        if (Irp->RequestorMode == UserMode)
            __atomic_store_n(&Irp->Tail.Overlay.Thread, NULL, __ATOMIC_SEQ_CST);
    }
    IopLowerFromHigh(OldIrql);
}
