/*
 * vfirp.c - I/O verification's IRP tracking ("verifier=io", docs/verifier.md):
 * what a dispatch routine did with the IRP it was given, checked when it
 * returns to IoCallDriver.
 *
 * NT's rules (IoMarkIrpPending in the WDK) and the I/O verification errors
 * Microsoft lists for them under bug check 0xC9:
 *
 *   returned          the routine's location       error
 *   STATUS_PENDING    not marked, IRP not sent on  0x23D  pending, not marked
 *   anything else     marked (SL_PENDING_RETURNED) 0x23E  marked, not pending
 *   anything else     not completed                0x226  the IRP is lost: not
 *                                                         completed, not pending
 *
 * Each stops the system with DRIVER_VERIFIER_IOMANAGER_VIOLATION, the error
 * as parameter 1, then the dispatch routine, the IRP and the device (the
 * layout Microsoft gives for these errors: where, the IRP, the device).
 *
 * The difficulty is that when the routine returns, the IRP may be over
 * and freed: completed in the routine, or by a DPC on another processor
 * meanwhile. So IoCallDriver does not look at the IRP afterwards unless it
 * knows it is still there: it links a record (IOP_VERIFY_DISPATCH, on its
 * own stack) into IopVerifyDispatchList before calling the routine, and
 * the completion walk (IopCallCompletionRoutines, io/irp.c), as it leaves
 * a location, notes in every record of that IRP and location that the
 * location is done and whether it was marked pending. A nested
 * IoCallDriver of the same IRP notes in the outer records that the IRP
 * was sent on (a driver that passes an IRP down may return STATUS_PENDING
 * without marking it: its completion routine marks it later, 0x228).
 *
 * Locking and IRQL: IopVerifyDispatchLock (a spin lock; any IRQL <=
 * DISPATCH_LEVEL) covers the list and the records, and orders a record's
 * last look at a location's Control against the walk's note: either the
 * walk has noted the location (Completed) or the location is still the
 * IRP's. Only with I/O verification on: otherwise none of this runs.
 *
 * For the tests, IopVerifyContinueOnError makes these three errors print
 * a line and count (IopVerifyErrors, IopVerifyLastError) instead of
 * stopping, as NT lets a debugger ignore an I/O verification error.
 */
#include "iop.h"
#include "../mm/mm.h"

static LIST_ENTRY IopVerifyDispatchList = {&IopVerifyDispatchList, &IopVerifyDispatchList};
static KSPIN_LOCK IopVerifyDispatchLock;

BOOLEAN IopVerifyContinueOnError;
volatile ULONG IopVerifyErrors;
volatile ULONG IopVerifyLastError;

/* Before Dispatch runs: Record describes Irp at Location, and any record
 * of an outer dispatch of the same IRP learns that it was sent on. */
void IopVerifyDispatchBegin(IOP_VERIFY_DISPATCH *Record, PIRP Irp, PIO_STACK_LOCATION Location)
{
    KIRQL OldIrql;
    Record->Irp = Irp;
    Record->Location = Location;
    Record->Completed = Record->MarkedPending = Record->PassedDown = FALSE;
    KeAcquireSpinLock(&IopVerifyDispatchLock, &OldIrql);
    for (PLIST_ENTRY E = IopVerifyDispatchList.Flink; E != &IopVerifyDispatchList; E = E->Flink) {
        IOP_VERIFY_DISPATCH *Outer = CONTAINING_RECORD(E, IOP_VERIFY_DISPATCH, Link);
        if (Outer->Irp == Irp)
            Outer->PassedDown = TRUE;
    }
    InsertHeadList(&IopVerifyDispatchList, &Record->Link);
    KeReleaseSpinLock(&IopVerifyDispatchLock, OldIrql);
}

/* The completion walk leaves Location of Irp (before it clears Control). */
void IopVerifyLeaveLocation(PIRP Irp, PIO_STACK_LOCATION Location)
{
    KIRQL OldIrql;
    KeAcquireSpinLock(&IopVerifyDispatchLock, &OldIrql);
    for (PLIST_ENTRY E = IopVerifyDispatchList.Flink; E != &IopVerifyDispatchList; E = E->Flink) {
        IOP_VERIFY_DISPATCH *Record = CONTAINING_RECORD(E, IOP_VERIFY_DISPATCH, Link);
        if (Record->Irp == Irp && Record->Location == Location && !Record->Completed) {
            Record->Completed = TRUE;
            Record->MarkedPending = (Location->Control & SL_PENDING_RETURNED) != 0;
        }
    }
    KeReleaseSpinLock(&IopVerifyDispatchLock, OldIrql);
}

/* An I/O verification error: a stop, or for the tests a line and a count. */
static void IopVerifyError(ULONG Error, PVOID Routine, PIRP Irp, PDEVICE_OBJECT Device)
{
    if (!IopVerifyContinueOnError)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, Error, (ULONG_PTR)Routine, (ULONG_PTR)Irp,
                     (ULONG_PTR)Device);
    DbgPrint("io: I/O verification error 0x%x: routine %p, IRP %p, device %p\n", Error, Routine,
             Irp, Device);
    IopVerifyLastError = Error;
    __atomic_add_fetch(&IopVerifyErrors, 1, __ATOMIC_SEQ_CST);
}

/* Dispatch returned Status for Record's IRP: unlink the record and apply
 * the three rules in the file header. */
void IopVerifyDispatchEnd(IOP_VERIFY_DISPATCH *Record, PVOID Dispatch, PDEVICE_OBJECT Device,
                          NTSTATUS Status)
{
    KIRQL OldIrql;
    KeAcquireSpinLock(&IopVerifyDispatchLock, &OldIrql);
    RemoveEntryList(&Record->Link);
    BOOLEAN Completed = Record->Completed;
    /* Not completed: the location is still the IRP's, and the lock keeps
     * the walk from leaving it while we read it. */
    BOOLEAN Marked =
        Completed ? Record->MarkedPending : (Record->Location->Control & SL_PENDING_RETURNED) != 0;
    KeReleaseSpinLock(&IopVerifyDispatchLock, OldIrql);

    ULONG Error = 0;
    if (Status == STATUS_PENDING) {
        if (!Marked && !Record->PassedDown)
            Error = IOP_VERIFY_PENDING_NOT_MARKED;
    } else if (Marked) {
        Error = IOP_VERIFY_MARKED_NOT_PENDING;
    } else if (!Completed) {
        Error = IOP_VERIFY_IRP_LOST;
    }
    if (Error != 0)
        IopVerifyError(Error, Dispatch, Record->Irp, Device);
}
