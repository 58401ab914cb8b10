/*
 * pendq.c - a queue of IRPs that wait for data, with NT's cancellation
 * rules, for the drivers whose reads pend until input arrives: the
 * console (io/drivers/console.c), the keyboard (kbdclass.c) and the serial
 * port (serial.c). It does what NT's cancel-safe queues (IoCsqInsertIrp,
 * IoCsqRemoveNextIrp) do for a driver, with the driver's own spin lock:
 *
 *   queue    (lock held)  set the queue's cancel routine; an IRP cancelled
 *                         before that is not queued (STATUS_CANCELLED to the
 *                         caller, who completes it); else mark it pending
 *   dequeue  (lock held)  the oldest IRP whose cancel routine can still be
 *                         cleared: that IRP is the caller's to complete. One
 *                         whose routine is gone belongs to IoCancelIrp and
 *                         is left where it is: its cancel routine takes it
 *                         off (it waits for the lock the caller holds)
 *   cancel                IopPendingQueueCancel, under the cancel spin lock:
 *                         drop that, take the queue's lock, unlink, complete
 *                         with STATUS_CANCELLED
 *
 * Whoever clears the cancel routine first owns the IRP: exactly one of the
 * dequeue and the cancel routine completes it. The queue is found from the
 * IRP through Tail.Overlay.DriverContext[3] (the IRP is the driver's while
 * it is queued, so the field is free); IRPs are linked through
 * Tail.Overlay.ListEntry.
 *
 * IRQL: the queue's lock is a spin lock, so queue and dequeue run at
 * DISPATCH_LEVEL; the cancel routine is called at DISPATCH_LEVEL.
 */
#include "iop.h"

void IopInitializePendingQueue(PIOP_PENDING_QUEUE Queue, PKSPIN_LOCK Lock)
{
    Queue->Lock = Lock;
    InitializeListHead(&Queue->Head);
}

/* The cancel routine of every queued IRP. */
static void IopPendingQueueCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIOP_PENDING_QUEUE Queue = Irp->Tail.Overlay.DriverContext[3];
    KIRQL OldIrql;
    UNREFERENCED_PARAMETER(DeviceObject);
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    KeAcquireSpinLock(Queue->Lock, &OldIrql);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    KeReleaseSpinLock(Queue->Lock, OldIrql);
    IopCompleteIrp(Irp, STATUS_CANCELLED, 0, IO_NO_INCREMENT);
}

NTSTATUS IopQueuePendingIrp(PIOP_PENDING_QUEUE Queue, PIRP Irp)
{
    Irp->Tail.Overlay.DriverContext[3] = Queue;
    IoSetCancelRoutine(Irp, IopPendingQueueCancel);
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL)
        return STATUS_CANCELLED; /* cancelled before; the routine will not run */
    IoMarkIrpPending(Irp);
    InsertTailList(&Queue->Head, &Irp->Tail.Overlay.ListEntry);
    return STATUS_PENDING;
}

PIRP IopDequeuePendingIrp(PIOP_PENDING_QUEUE Queue)
{
    for (PLIST_ENTRY E = Queue->Head.Flink; E != &Queue->Head; E = E->Flink) {
        PIRP Irp = CONTAINING_RECORD(E, IRP, Tail.Overlay.ListEntry);
        if (IoSetCancelRoutine(Irp, NULL) == NULL)
            continue; /* IoCancelIrp has it */
        RemoveEntryList(E);
        return Irp;
    }
    return NULL;
}
