/*
 * delay.c - \Device\Delay (and \??\Delay): the teaching driver for the
 * seeds' scenario, "a driver's completion runs in an arbitrary thread".
 *
 * Every read pends. A timer fires DelayMs later; its DPC takes the oldest
 * read off the queue and completes it - at DISPATCH_LEVEL, in whatever
 * thread the processor was running when the timer expired, which is
 * usually not the thread that asked (that one is waiting for the answer).
 * The three read control codes (include/ntdddelay.h) differ only in their
 * transfer method, and so in how the DPC reaches the requester's buffer:
 *
 *   NEITHER   Irp->UserBuffer, the requester's virtual address, written
 *             from the DPC. Right only when the requester happens to be
 *             current; otherwise the same address means another
 *             process's memory (the data lands there) or nothing at all (a
 *             real driver would take a page fault at DISPATCH_LEVEL:
 *             DRIVER_IRQL_NOT_LESS_OR_EQUAL). To keep the lesson visible
 *             rather than fatal, this driver looks the address up in the
 *             current page tables first and skips the write it would have
 *             faulted on; the log says which of the three happened.
 *   BUFFERED  Irp->AssociatedIrp.SystemBuffer, pool the I/O manager
 *             allocated; the I/O manager copies it to the user's buffer
 *             later, in the requester's own thread (the completion APC).
 *   DIRECT    Irp->MdlAddress, the requester's pages locked by the I/O
 *             manager, written through a system-space mapping of the MDL:
 *             the same physical pages, reachable from any thread.
 *
 * Locking: the device extension's Lock (a spin lock, DISPATCH_LEVEL)
 * covers the queue, the timer's arming and the log. Cancellation follows
 * NT's pattern: a queued IRP has DelayCancel as its cancel routine; whoever
 * clears the routine first (the DPC, DelayCancel through IoCancelIrp, or
 * cleanup) owns the IRP and completes it.
 */
#include "../ntddk.h"
#include "../../ps/ps.h"
#include "../../include/intrin.h"
#include "../../include/ntdddelay.h"

#define DELAY_DEFAULT_MS 20
#define DELAY_MAXIMUM_MS 1000

typedef struct _DELAY_EXTENSION {
    KSPIN_LOCK Lock;
    LIST_ENTRY Queue; /* pending reads, oldest first. Lock */
    KTIMER Timer; /* armed while Queue is not empty. Lock */
    KDPC Dpc;
    ULONG DelayMs; /* Lock */
    ULONG NextSequence; /* Lock */
    ULONG LogNext; /* the slot the next entry goes to. Lock */
    ULONG LogCount; /* Lock */
    DELAY_LOG_ENTRY Log[DELAY_LOG_ENTRIES]; /* a ring. Lock */
} DELAY_EXTENSION, *PDELAY_EXTENSION;

/* What the dispatch routine records in the IRP for the DPC. */
#define DELAY_IRP_SEQUENCE(Irp) ((Irp)->Tail.Overlay.DriverContext[0])
#define DELAY_IRP_REQUESTER(Irp) ((Irp)->Tail.Overlay.DriverContext[1])

static PDELAY_EXTENSION DelayExtension(PDEVICE_OBJECT DeviceObject)
{
    return (PDELAY_EXTENSION)DeviceObject->DeviceExtension;
}

static NTSTATUS DelayComplete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static ULONG DelayProcessId(PEPROCESS Process)
{
    return (ULONG)(ULONG_PTR)Process->UniqueProcessId;
}

/* Append one entry to the log ring and print it. Lock held. */
static void DelayLog(PDELAY_EXTENSION Ext, PIRP Irp, DELAY_OUTCOME Outcome)
{
    PIO_STACK_LOCATION Stack = IoGetCurrentIrpStackLocation(Irp);
    PEPROCESS Current = PsGetCurrentProcess();
    DELAY_LOG_ENTRY *Entry = &Ext->Log[Ext->LogNext];

    Entry->Sequence = (ULONG)(ULONG_PTR)DELAY_IRP_SEQUENCE(Irp);
    Entry->IoControlCode = Stack->Parameters.DeviceIoControl.IoControlCode;
    Entry->RequesterPid = (ULONG)(ULONG_PTR)DELAY_IRP_REQUESTER(Irp);
    Entry->CompletingPid = DelayProcessId(Current);
    Entry->Outcome = Outcome;
    Entry->Length = Stack->Parameters.DeviceIoControl.OutputBufferLength;
    Entry->UserBuffer = (ULONG64)(ULONG_PTR)Irp->UserBuffer;
    memcpy(Entry->CompletingImage, Current->ImageFileName, sizeof(Entry->CompletingImage));
    Ext->LogNext = (Ext->LogNext + 1) % DELAY_LOG_ENTRIES;
    if (Ext->LogCount < DELAY_LOG_ENTRIES)
        Ext->LogCount++;
    DbgPrint("delay: #%u asked by pid %u, completed while pid %u (%.16s) was current: %s\n",
             Entry->Sequence, Entry->RequesterPid, Entry->CompletingPid, Entry->CompletingImage,
             Outcome == DelayDeliveredInRequester ? "written at the user address, right process"
                 : Outcome == DelayLandedInOtherProcess ? "WRITTEN INTO THE WRONG PROCESS"
                 : Outcome == DelayWouldHaveFaulted ? "address not mapped here: would bugcheck 0xD1"
                 : Outcome == DelayDeliveredBySystemBuffer
                 ? "system buffer (copied out by the I/O manager)"
                 : Outcome == DelayDeliveredByMdl ? "MDL mapping"
                                                  : "cancelled");
}

/* The bytes a read delivers: the header, then the sequence's low byte. */
static void DelayFill(PUCHAR Buffer, ULONG Length, PIRP Irp)
{
    DELAY_PAYLOAD Payload = {
        .Magic = DELAY_PAYLOAD_MAGIC,
        .Sequence = (ULONG)(ULONG_PTR)DELAY_IRP_SEQUENCE(Irp),
        .RequesterPid = (ULONG)(ULONG_PTR)DELAY_IRP_REQUESTER(Irp),
        .CompletingPid = DelayProcessId(PsGetCurrentProcess()),
    };
    memcpy(Buffer, &Payload, sizeof(Payload));
    memset(Buffer + sizeof(Payload), (UCHAR)Payload.Sequence, Length - sizeof(Payload));
}

/* Whether every page of [Va, Va + Length) is a present, writable user page
 * in the address space that is current now. */
static BOOLEAN DelayIsWritableHere(ULONG_PTR Va, ULONG Length)
{
    const ULONG64 Needed = MM_PTE_VALID | MM_PTE_WRITE | MM_PTE_OWNER;
    if (Va < MM_LOWEST_USER_ADDRESS || Va + Length < Va ||
        Va + Length - 1 > MM_HIGHEST_USER_ADDRESS)
        return FALSE;
    for (ULONG_PTR Page = Va & ~(PAGE_SIZE - 1); Page < Va + Length; Page += PAGE_SIZE) {
        if ((MmGetPteValue((PVOID)Page) & Needed) != Needed)
            return FALSE;
    }
    return TRUE;
}

/* The naive way: write Irp->UserBuffer from here, whatever is current. */
static DELAY_OUTCOME DelayWriteNaively(PIRP Irp, ULONG Length)
{
    ULONG_PTR Va = (ULONG_PTR)Irp->UserBuffer;
    if (Irp->RequestorMode == KernelMode) {
        DelayFill((PUCHAR)Va, Length, Irp); /* system space is the same everywhere */
        return DelayDeliveredInRequester;
    }
    if (!DelayIsWritableHere(Va, Length))
        return DelayWouldHaveFaulted;
    __stac();
    DelayFill((PUCHAR)Va, Length, Irp);
    __clac();
    return DelayProcessId(PsGetCurrentProcess()) == (ULONG)(ULONG_PTR)DELAY_IRP_REQUESTER(Irp)
        ? DelayDeliveredInRequester
        : DelayLandedInOtherProcess;
}

/* Deliver one read and complete it (from the DPC; in the starting code of
 * lab 9, from the dispatch routine). Lock not held. Returns its status. */
static NTSTATUS DelayFinishRead(PDELAY_EXTENSION Ext, PIRP Irp)
{
    PIO_STACK_LOCATION Stack = IoGetCurrentIrpStackLocation(Irp);
    ULONG Length = Stack->Parameters.DeviceIoControl.OutputBufferLength;
    NTSTATUS Status = STATUS_SUCCESS;
    DELAY_OUTCOME Outcome;

    switch (Stack->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_DELAY_READ_NEITHER:
        Outcome = DelayWriteNaively(Irp, Length);
        break;
    case IOCTL_DELAY_READ_BUFFERED:
        DelayFill(Irp->AssociatedIrp.SystemBuffer, Length, Irp);
        Outcome = DelayDeliveredBySystemBuffer;
        break;
    default: { /* IOCTL_DELAY_READ_DIRECT */
        PUCHAR System = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
        if (System)
            DelayFill(System, Length, Irp);
        else
            Status = STATUS_INSUFFICIENT_RESOURCES; /* out of system PTEs */
        Outcome = DelayDeliveredByMdl;
        break;
    }
    }
    KIRQL Irql;
    KeAcquireSpinLock(&Ext->Lock, &Irql);
    DelayLog(Ext, Irp, Outcome);
    KeReleaseSpinLock(&Ext->Lock, Irql);
    return DelayComplete(Irp, Status, NT_SUCCESS(Status) ? Length : 0);
}

static void DelayArmTimer(PDELAY_EXTENSION Ext)
{
    LARGE_INTEGER Due;
    Due.QuadPart = -(LONGLONG)Ext->DelayMs * 10000; /* relative, 100 ns units */
    KeSetTimer(&Ext->Timer, Due, &Ext->Dpc);
}

/* The timer's DPC: DISPATCH_LEVEL, in an arbitrary thread. */
static void DelayTimerDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    PDELAY_EXTENSION Ext = Context;
    PIRP Irp = NULL;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);

#if PAGODA_SOLUTION(9)
    KeAcquireSpinLockAtDpcLevel(&Ext->Lock);
    while (!IsListEmpty(&Ext->Queue)) {
        PLIST_ENTRY Entry = RemoveHeadList(&Ext->Queue);
        PIRP Candidate = CONTAINING_RECORD(Entry, IRP, Tail.Overlay.ListEntry);
        InitializeListHead(Entry); /* a racing DelayCancel's RemoveEntryList is then harmless */
        if (IoSetCancelRoutine(Candidate, NULL)) {
            Irp = Candidate;
            break;
        }
        /* Lost the race: DelayCancel owns this one and completes it. */
    }
    if (!IsListEmpty(&Ext->Queue))
        DelayArmTimer(Ext);
    KeReleaseSpinLockFromDpcLevel(&Ext->Lock);
    if (Irp)
        DelayFinishRead(Ext, Irp);
#else
    /* Lab 9: under Ext->Lock, take the oldest read whose cancel routine you
     * can clear off Ext->Queue (an IRP whose routine is already gone
     * belongs to DelayCancel: leave it), re-arm the timer if reads remain,
     * and, with the lock released, DelayFinishRead it. */
    UNREFERENCED_PARAMETER(Ext);
    UNREFERENCED_PARAMETER(Irp);
#endif /* PAGODA_SOLUTION(9) */
}

/* The cancel routine: called by IoCancelIrp with the cancel spin lock held. */
static void DelayCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoReleaseCancelSpinLock(Irp->CancelIrql);
#if PAGODA_SOLUTION(9)
    PDELAY_EXTENSION Ext = DelayExtension(DeviceObject);
    KIRQL Irql;
    KeAcquireSpinLock(&Ext->Lock, &Irql);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    DelayLog(Ext, Irp, DelayCancelled);
    KeReleaseSpinLock(&Ext->Lock, Irql);
    DelayComplete(Irp, STATUS_CANCELLED, 0);
#else
    /* Lab 9: the IRP is yours now. Take it off the queue under the lock,
     * log it as DelayCancelled, and complete it with STATUS_CANCELLED. */
    UNREFERENCED_PARAMETER(DeviceObject);
#endif /* PAGODA_SOLUTION(9) */
}

/* Queue a read: it pends until the timer's DPC completes it. Runs in the
 * requester's thread, so this is where the requester is recorded. */
static NTSTATUS DelayQueueRead(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG Length)
{
    PDELAY_EXTENSION Ext = DelayExtension(DeviceObject);
    if (Length < sizeof(DELAY_PAYLOAD))
        return DelayComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);

    DELAY_IRP_REQUESTER(Irp) = (PVOID)(ULONG_PTR)DelayProcessId(PsGetCurrentProcess());
#if PAGODA_SOLUTION(9)
    KIRQL Irql;
    IoMarkIrpPending(Irp);
    KeAcquireSpinLock(&Ext->Lock, &Irql);
    DELAY_IRP_SEQUENCE(Irp) = (PVOID)(ULONG_PTR)Ext->NextSequence++;
    IoSetCancelRoutine(Irp, DelayCancel);
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL)) {
        /* Cancelled before it was queued, and the routine was not called. */
        KeReleaseSpinLock(&Ext->Lock, Irql);
        DelayComplete(Irp, STATUS_CANCELLED, 0);
        return STATUS_PENDING;
    }
    if (IsListEmpty(&Ext->Queue))
        DelayArmTimer(Ext);
    InsertTailList(&Ext->Queue, &Irp->Tail.Overlay.ListEntry);
    KeReleaseSpinLock(&Ext->Lock, Irql);
    return STATUS_PENDING;
#else
    /* Lab 9: instead of answering at once, in the requester's thread, mark
     * the IRP pending, give it a sequence number and DelayCancel as its
     * cancel routine (complete it yourself if it was cancelled before the
     * routine was set), queue it, arm the timer if the queue was empty,
     * and return STATUS_PENDING. */
    (void)DelayCancel; /* the pieces you will need */
    (void)DelayArmTimer;
    KIRQL Irql;
    KeAcquireSpinLock(&Ext->Lock, &Irql);
    DELAY_IRP_SEQUENCE(Irp) = (PVOID)(ULONG_PTR)Ext->NextSequence++;
    KeReleaseSpinLock(&Ext->Lock, Irql);
    return DelayFinishRead(Ext, Irp);
#endif /* PAGODA_SOLUTION(9) */
}

/* IOCTL_DELAY_GET_LOG: the entries numbered FirstSequence and later. */
static NTSTATUS DelayGetLog(PDELAY_EXTENSION Ext, PIRP Irp, PIO_STACK_LOCATION Stack)
{
    DELAY_LOG *Out = Irp->AssociatedIrp.SystemBuffer;
    ULONG First = 0;
    KIRQL Irql;
    if (Stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(DELAY_LOG))
        return DelayComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
    if (Stack->Parameters.DeviceIoControl.InputBufferLength >= sizeof(ULONG))
        First = *(PULONG)Irp->AssociatedIrp.SystemBuffer; /* read before Out overwrites it */

    KeAcquireSpinLock(&Ext->Lock, &Irql);
    ULONG Oldest = (Ext->LogNext + DELAY_LOG_ENTRIES - Ext->LogCount) % DELAY_LOG_ENTRIES;
    Out->Count = 0;
    Out->NextSequence = Ext->NextSequence;
    for (ULONG I = 0; I < Ext->LogCount; I++) {
        const DELAY_LOG_ENTRY *Entry = &Ext->Log[(Oldest + I) % DELAY_LOG_ENTRIES];
        if (Entry->Sequence >= First)
            Out->Entries[Out->Count++] = *Entry;
    }
    KeReleaseSpinLock(&Ext->Lock, Irql);
    return DelayComplete(Irp, STATUS_SUCCESS, sizeof(DELAY_LOG));
}

static NTSTATUS DelaySetDelay(PDELAY_EXTENSION Ext, PIRP Irp, PIO_STACK_LOCATION Stack)
{
    KIRQL Irql;
    if (Stack->Parameters.DeviceIoControl.InputBufferLength < sizeof(ULONG))
        return DelayComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
    ULONG Ms = *(PULONG)Irp->AssociatedIrp.SystemBuffer;
    if (Ms == 0 || Ms > DELAY_MAXIMUM_MS)
        return DelayComplete(Irp, STATUS_INVALID_PARAMETER, 0);
    KeAcquireSpinLock(&Ext->Lock, &Irql);
    Ext->DelayMs = Ms;
    KeReleaseSpinLock(&Ext->Lock, Irql);
    return DelayComplete(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS DelayDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION Stack = IoGetCurrentIrpStackLocation(Irp);
    switch (Stack->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_DELAY_READ_NEITHER:
    case IOCTL_DELAY_READ_BUFFERED:
    case IOCTL_DELAY_READ_DIRECT:
        return DelayQueueRead(DeviceObject, Irp,
                              Stack->Parameters.DeviceIoControl.OutputBufferLength);
    case IOCTL_DELAY_GET_LOG:
        return DelayGetLog(DelayExtension(DeviceObject), Irp, Stack);
    case IOCTL_DELAY_SET_DELAY:
        return DelaySetDelay(DelayExtension(DeviceObject), Irp, Stack);
    default:
        return DelayComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
}

/* IRP_MJ_CLEANUP: the last handle to a file object is closing; complete
 * every read still queued for it, as NT drivers must. */
static NTSTATUS DelayCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDELAY_EXTENSION Ext = DelayExtension(DeviceObject);
    PFILE_OBJECT File = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    LIST_ENTRY Cancelled;
    KIRQL Irql;
    InitializeListHead(&Cancelled);

    KeAcquireSpinLock(&Ext->Lock, &Irql);
    for (PLIST_ENTRY Entry = Ext->Queue.Flink; Entry != &Ext->Queue;) {
        PIRP Queued = CONTAINING_RECORD(Entry, IRP, Tail.Overlay.ListEntry);
        Entry = Entry->Flink;
        if (IoGetCurrentIrpStackLocation(Queued)->FileObject != File ||
            !IoSetCancelRoutine(Queued, NULL))
            continue; /* another file's, or DelayCancel is completing it */
        RemoveEntryList(&Queued->Tail.Overlay.ListEntry);
        DelayLog(Ext, Queued, DelayCancelled);
        InsertTailList(&Cancelled, &Queued->Tail.Overlay.ListEntry);
    }
    KeReleaseSpinLock(&Ext->Lock, Irql);
    while (!IsListEmpty(&Cancelled)) {
        PLIST_ENTRY Entry = RemoveHeadList(&Cancelled);
        DelayComplete(CONTAINING_RECORD(Entry, IRP, Tail.Overlay.ListEntry), STATUS_CANCELLED, 0);
    }
    return DelayComplete(Irp, STATUS_SUCCESS, 0);
}

/* IRP_MJ_CREATE, IRP_MJ_CLOSE. */
static NTSTATUS DelayCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    return DelayComplete(Irp, STATUS_SUCCESS, 0);
}

/* DriverUnload: no handle is open (so no read is queued: cleanup completed
 * them); stop the timer and its DPC, then remove the link and the device. */
static void DelayUnload(PDRIVER_OBJECT DriverObject)
{
    static UNICODE_STRING LinkName = RTL_CONSTANT_STRING(DELAY_DOS_NAME);
    PDEVICE_OBJECT Device = DriverObject->DeviceObject;
    PDELAY_EXTENSION Ext = DelayExtension(Device);
    ASSERT(IsListEmpty(&Ext->Queue));
    KeCancelTimer(&Ext->Timer);
    KeRemoveQueueDpc(&Ext->Dpc); /* one processor: at PASSIVE_LEVEL it is not running */
    DbgPrint("delay: unloading after %u reads\n", Ext->NextSequence - 1);
    IoDeleteSymbolicLink(&LinkName);
    IoDeleteDevice(Device); /* the extension goes with it */
}

/* DriverEntry: the device, its extension, timer and DPC, and the link. */
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    static UNICODE_STRING DeviceName = RTL_CONSTANT_STRING(DELAY_DEVICE_NAME);
    static UNICODE_STRING LinkName = RTL_CONSTANT_STRING(DELAY_DOS_NAME);
    PDEVICE_OBJECT Device;
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    UNREFERENCED_PARAMETER(RegistryPath);

    DriverObject->MajorFunction[IRP_MJ_CREATE] = DelayCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = DelayCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = DelayCleanup;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = DelayDeviceControl;
    DriverObject->DriverUnload = DelayUnload;

    NTSTATUS Status = IoCreateDevice(DriverObject, sizeof(DELAY_EXTENSION), &DeviceName,
                                     FILE_DEVICE_DELAY, 0, FALSE, &Device);
    if (!NT_SUCCESS(Status))
        return Status;
    PDELAY_EXTENSION Ext = DelayExtension(Device);
    KeInitializeSpinLock(&Ext->Lock);
    InitializeListHead(&Ext->Queue);
    KeInitializeTimer(&Ext->Timer);
    KeInitializeDpc(&Ext->Dpc, DelayTimerDpc, Ext);
    Ext->DelayMs = DELAY_DEFAULT_MS;
    Ext->NextSequence = 1;

    Status = IoCreateSymbolicLink(&LinkName, &DeviceName);
    if (!NT_SUCCESS(Status)) {
        IoDeleteDevice(Device);
        return Status;
    }
    Device->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}
