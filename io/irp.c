/*
 * irp.c - I/O request packets: allocation (two lookaside lists for the
 * common stack sizes), IoCallDriver, IoCompleteRequest and cancellation.
 *
 * An IRP is one nonpaged pool block (tag "Irp "): the IRP, then StackCount
 * IO_STACK_LOCATIONs. Location StackCount - 1 (the last in memory) is the
 * first driver's, location 0 the lowest driver's: IoCallDriver moves
 * CurrentLocation (1-based) and CurrentStackLocation one step down,
 * IoCompleteRequest walks them back up, calling the completion routine
 * each driver above left in the location below its own.
 *
 *   CurrentLocation  StackCount + 2   completed (a second completion is a bugcheck)
 *                    StackCount + 1   not sent yet: IoGetNextIrpStackLocation
 *                                     is the first driver's location
 *                    1 .. StackCount  sent: the current driver's location
 *
 * The lookaside lists keep up to IOP_IRP_LOOKASIDE_DEPTH freed IRPs each:
 * one list for IRPs of 1 location, one for 2..IOP_LARGE_IRP_STACK_LOCATIONS
 * (all allocated at the large size); bigger IRPs go straight to the pool.
 *
 * Locking and IRQL: the lookaside lists are touched with CR8 at
 * HIGH_LEVEL for a few instructions (IopRaiseToHigh: one processor, no
 * interrupt gets in), cheaper than a spin lock; the cancel spin lock covers
 * Cancel / CancelRoutine handoffs. Everything here runs at
 * IRQL <= DISPATCH_LEVEL; an IRP is touched only by the driver holding it.
 */
#include "iop.h"
#include "../ps/ps.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"

/* I/O verification ("verifier=io"): the checks of NT's Driver Verifier
 * whose DRIVER_VERIFIER_IOMANAGER_VIOLATION (0xC9) codes Microsoft
 * documents: 0x02 an IRP freed while still on its thread's list, 0x05 the
 * IRQL changed across a dispatch routine, 0x07 an IRP completed with its
 * cancel routine still set, and the I/O verification error 0x228 (as the
 * first parameter, then the routine, the IRP, the device) for a completion
 * routine that saw PendingReturned and did not call IoMarkIrpPending; and
 * with io/vfirp.c, what a dispatch routine did with its IRP (0x23D, 0x23E,
 * 0x226). */
#define IOP_VERIFY_IO() (MmVerifierFlags & VERIFIER_IO_CHECKING)

typedef struct _IOP_IRP_LOOKASIDE {
    PIRP Head; /* IopRaiseToHigh: parked IRPs, linked through
                                     * Tail.Overlay.ListEntry.Flink */
    ULONG Depth; /* IopRaiseToHigh: how many */
    CCHAR StackSize;                /* the locations every IRP of this list has room for */
} IOP_IRP_LOOKASIDE;

static IOP_IRP_LOOKASIDE IopIrpLookaside[2];
static volatile ULONG64 IopIrpLookasideHits, IopIrpLookasideMisses;
static KSPIN_LOCK IopCancelSpinLock;

void IopInitializeIrpLookasides(void)
{
    IopIrpLookaside[0].StackSize = 1;
    IopIrpLookaside[1].StackSize = IOP_LARGE_IRP_STACK_LOCATIONS;
    KeInitializeSpinLock(&IopCancelSpinLock);
}

/* The list an IRP of StackSize locations comes from, or NULL. */
static IOP_IRP_LOOKASIDE *IopLookasideFor(CCHAR StackSize)
{
    if (StackSize == 1)
        return &IopIrpLookaside[0];
    if (StackSize <= IOP_LARGE_IRP_STACK_LOCATIONS)
        return &IopIrpLookaside[1];
    return NULL;
}

static PIRP IopPopLookaside(IOP_IRP_LOOKASIDE *List)
{
    KIRQL OldIrql = IopRaiseToHigh();
    PIRP Irp = List->Head;
    if (Irp != NULL) {
        List->Head = (PIRP)Irp->Tail.Overlay.ListEntry.Flink;
        List->Depth--;
    }
    IopLowerFromHigh(OldIrql);
    return Irp;
}

/* Park Irp on List; FALSE when the list is full. */
static BOOLEAN IopPushLookaside(IOP_IRP_LOOKASIDE *List, PIRP Irp)
{
    BOOLEAN Parked = FALSE;
    KIRQL OldIrql = IopRaiseToHigh();
    if (List->Depth < IOP_IRP_LOOKASIDE_DEPTH) {
        Irp->Tail.Overlay.ListEntry.Flink = (PLIST_ENTRY)List->Head;
        List->Head = Irp;
        List->Depth++;
        Parked = TRUE;
    }
    IopLowerFromHigh(OldIrql);
    return Parked;
}

void IoTrimIrpLookasides(void)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    for (ULONG i = 0; i < ARRAYSIZE(IopIrpLookaside); i++) {
        PIRP Irp;
        while ((Irp = IopPopLookaside(&IopIrpLookaside[i])) != NULL)
            ExFreePoolWithTag(Irp, IO_IRP_TAG);
    }
}

void IopQueryIrpLookasides(IOP_IRP_LOOKASIDE_INFO *Info)
{
    for (ULONG i = 0; i < ARRAYSIZE(IopIrpLookaside); i++)
        Info->Depth[i] = IopIrpLookaside[i].Depth;
    Info->Hits = IopIrpLookasideHits;
    Info->Misses = IopIrpLookasideMisses;
}

/* IoInitializeIrp: the contract is in io/io.h. */
void IoInitializeIrp(PIRP Irp, USHORT PacketSize, CCHAR StackSize)
{
    ASSERT(PacketSize >= IoSizeOfIrp(StackSize));
    memset(Irp, 0, PacketSize);
    Irp->Type = IO_TYPE_IRP;
    Irp->Size = PacketSize;
    Irp->StackCount = StackSize;
    Irp->CurrentLocation = (CHAR)(StackSize + 1);
    Irp->Tail.Overlay.CurrentStackLocation = (PIO_STACK_LOCATION)(Irp + 1) + StackSize;
    InitializeListHead(&Irp->Tail.Overlay.ListEntry);
    InitializeListHead(&Irp->ThreadListEntry);
}

/* IopQueueThreadIrp, IopDequeueThreadIrp: the contract is in io/iop.h. */
void IopQueueThreadIrp(PIRP Irp)
{
    KIRQL OldIrql = IopRaiseToHigh();
    InsertHeadList(&Irp->Tail.Overlay.Thread->IrpList, &Irp->ThreadListEntry);
    IopLowerFromHigh(OldIrql);
}

void IopDequeueThreadIrp(PIRP Irp)
{
    KIRQL OldIrql = IopRaiseToHigh();
    RemoveEntryList(&Irp->ThreadListEntry);
    InitializeListHead(&Irp->ThreadListEntry);
    IopLowerFromHigh(OldIrql);
}

/* IoAllocateIrp: the contract is in io/io.h. */
PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    (void)ChargeQuota;
    if (StackSize < 1 || StackSize > IO_MAXIMUM_STACK_SIZE)
        return NULL;

    IOP_IRP_LOOKASIDE *List = IopLookasideFor(StackSize);
    USHORT PacketSize = IoSizeOfIrp(List != NULL ? List->StackSize : StackSize);
    PIRP Irp = List != NULL ? IopPopLookaside(List) : NULL;
    if (Irp != NULL) {
        __atomic_add_fetch(&IopIrpLookasideHits, 1, __ATOMIC_RELAXED);
    } else {
        __atomic_add_fetch(&IopIrpLookasideMisses, 1, __ATOMIC_RELAXED);
        Irp = ExAllocatePoolWithTag(NonPagedPool, PacketSize, IO_IRP_TAG);
        if (Irp == NULL)
            return NULL;
    }
    IoInitializeIrp(Irp, PacketSize, StackSize);
    if (List != NULL)
        Irp->AllocationFlags = IRP_ALLOCATED_FIXED_SIZE | IRP_LOOKASIDE_ALLOCATION;
    return Irp;
}

/* IoFreeIrp: the contract is in io/io.h. */
void IoFreeIrp(PIRP Irp)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    if (Irp->Type != IO_TYPE_IRP)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, 1, (ULONG_PTR)Irp, 0, 0);
    if (Irp->ThreadListEntry.Flink != &Irp->ThreadListEntry) {
        /* A built IRP freed without being sent: still on its thread's list. */
        if (IOP_VERIFY_IO())
            KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, 0x02, (ULONG_PTR)Irp, 0, 0);
        IopDequeueThreadIrp(Irp);
    }
    /* A freed IRP is no IRP: freeing it again, or completing it, is caught. */
    Irp->Type = 0;
    if (Irp->AllocationFlags & IRP_LOOKASIDE_ALLOCATION) {
        IOP_IRP_LOOKASIDE *List = Irp->Size == IoSizeOfIrp(1) ? &IopIrpLookaside[0]
                                                              : &IopIrpLookaside[1];
        if (IopPushLookaside(List, Irp))
            return;
    }
    ExFreePoolWithTag(Irp, IO_IRP_TAG);
}

/* IoCallDriver: the contract is in io/io.h. */
NTSTATUS IoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Irp->Type == IO_TYPE_IRP && DeviceObject->Type == IO_TYPE_DEVICE);

    Irp->CurrentLocation--;
    if (Irp->CurrentLocation <= 0)
        KeBugCheckEx(NO_MORE_IRP_STACK_LOCATIONS, (ULONG_PTR)Irp, 0, 0, 0);
    PIO_STACK_LOCATION Stack = --Irp->Tail.Overlay.CurrentStackLocation;
    Stack->DeviceObject = DeviceObject;

    PDRIVER_DISPATCH Dispatch = IopInvalidDeviceRequest;
    if (Stack->MajorFunction <= IRP_MJ_MAXIMUM_FUNCTION)
        Dispatch = DeviceObject->DriverObject->MajorFunction[Stack->MajorFunction];
    IopCheckDriverRoutine((PVOID)Dispatch, (PVOID)IoCallDriver);
    if (!IOP_VERIFY_IO())
        return Dispatch(DeviceObject, Irp);
    KIRQL Before = KeGetCurrentIrql();
    IOP_VERIFY_DISPATCH Record;
    IopVerifyDispatchBegin(&Record, Irp, Stack);
    NTSTATUS Status = Dispatch(DeviceObject, Irp);
    if (KeGetCurrentIrql() != Before)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, 0x05, (ULONG_PTR)DeviceObject, Before,
                     KeGetCurrentIrql());
    IopVerifyDispatchEnd(&Record, (PVOID)Dispatch, DeviceObject, Status);
    return Status;
}

/* Whether the routine left in a location with Control runs for Irp. */
static BOOLEAN IopShouldInvokeCompletion(PIRP Irp, UCHAR Control)
{
    if (Irp->Cancel && (Control & SL_INVOKE_ON_CANCEL))
        return TRUE;
    if (NT_SUCCESS(Irp->IoStatus.Status))
        return (Control & SL_INVOKE_ON_SUCCESS) != 0;
    return (Control & SL_INVOKE_ON_ERROR) != 0;
}

/*
 * Walk Irp's locations from the current one up, calling completion
 * routines. Returns FALSE when one returned STATUS_MORE_PROCESSING_REQUIRED
 * (the IRP is its caller's again), TRUE when the walk reached the top.
 */
static BOOLEAN IopCallCompletionRoutines(PIRP Irp)
{
    PIO_STACK_LOCATION Stack = IoGetCurrentIrpStackLocation(Irp);

    while (Irp->CurrentLocation <= Irp->StackCount) {
        if (IOP_VERIFY_IO())
            IopVerifyLeaveLocation(Irp, Stack);
        UCHAR Control = Stack->Control;
        PIO_COMPLETION_ROUTINE Routine = Stack->CompletionRoutine;
        PVOID Context = Stack->Context;
        Irp->PendingReturned = (Control & SL_PENDING_RETURNED) != 0;
        Stack->Control = 0;
        Stack->CompletionRoutine = NULL;
        Stack->Context = NULL;

        /* Up one: the location of the driver that set Routine (none, past
         * the top: the IRP's originator). */
        Irp->CurrentLocation++;
        Irp->Tail.Overlay.CurrentStackLocation++;
        Stack++;
        BOOLEAN AtTop = Irp->CurrentLocation > Irp->StackCount;

        if (Routine != NULL && IopShouldInvokeCompletion(Irp, Control)) {
            IopCheckDriverRoutine((PVOID)Routine, (PVOID)IoCompleteRequest);
            if (Routine(AtTop ? NULL : Stack->DeviceObject, Irp, Context) ==
                STATUS_MORE_PROCESSING_REQUIRED)
                return FALSE;
            if (IOP_VERIFY_IO() && Irp->PendingReturned && !AtTop &&
                !(Stack->Control & SL_PENDING_RETURNED))
                KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VERIFY_PENDING_NOT_PASSED_ON,
                             (ULONG_PTR)Routine, (ULONG_PTR)Irp, (ULONG_PTR)Stack->DeviceObject);
        } else if (Irp->PendingReturned && !AtTop) {
            /* No routine to pass "pending" on: the I/O manager does it. */
            IoMarkIrpPending(Irp);
        }
    }
    return TRUE;
}

/* IoCompleteRequest: the contract is in io/io.h. */
void IoCompleteRequest(PIRP Irp, CCHAR PriorityBoost)
{
    KIRQL Irql = KeGetCurrentIrql();

    if (Irql > DISPATCH_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)Irp, Irql, 0,
                     (ULONG_PTR)__builtin_return_address(0));
    if (Irp->Type != IO_TYPE_IRP || Irp->CurrentLocation > Irp->StackCount + 1)
        KeBugCheckEx(MULTIPLE_IRP_COMPLETE_REQUESTS, (ULONG_PTR)Irp, 0, 0, 0);
    if (Irp->IoStatus.Status == STATUS_PENDING || Irp->IoStatus.Status == (NTSTATUS)-1)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, 6, (ULONG_PTR)Irp->IoStatus.Status,
                     (ULONG_PTR)Irp, 0);
    if (IOP_VERIFY_IO() && Irp->CancelRoutine != NULL)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, 0x07, (ULONG_PTR)Irp->CancelRoutine,
                     (ULONG_PTR)Irp, 0);

    if (!IopCallCompletionRoutines(Irp))
        return;

    /* The top: the request is over. */
    Irp->CurrentLocation = (CHAR)(Irp->StackCount + 2);
    if (Irp->RequestorMode == UserMode) {
        IopQueueUserCompletion(Irp, PriorityBoost); /* its end runs in its thread */
        return;
    }
    if (Irp->Tail.Overlay.Thread != NULL) {
        IopCompleteBuiltRequest(Irp); /* copies out and frees it */
        return;
    }
    if (Irp->UserIosb != NULL)
        *Irp->UserIosb = Irp->IoStatus;
    if (Irp->UserEvent != NULL)
        KeSetEvent(Irp->UserEvent, IO_NO_INCREMENT, FALSE);
}

void IoAcquireCancelSpinLock(PKIRQL Irql)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    KeAcquireSpinLock(&IopCancelSpinLock, Irql);
}

void IoReleaseCancelSpinLock(KIRQL Irql)
{
    KeReleaseSpinLock(&IopCancelSpinLock, Irql);
}

/* IoCancelIrp: the contract is in io/io.h. */
BOOLEAN IoCancelIrp(PIRP Irp)
{
    KIRQL Irql;
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Irp->Type == IO_TYPE_IRP);

    IoAcquireCancelSpinLock(&Irql);
    Irp->Cancel = TRUE;
    PDRIVER_CANCEL Routine = IoSetCancelRoutine(Irp, NULL);
    if (Routine == NULL) {
        IoReleaseCancelSpinLock(Irql);
        return FALSE;
    }
    /* The routine releases the cancel spin lock back to this IRQL. */
    IopCheckDriverRoutine((PVOID)Routine, (PVOID)IoCancelIrp);
    Irp->CancelIrql = Irql;
    Routine(IoGetCurrentIrpStackLocation(Irp)->DeviceObject, Irp);
    return TRUE;
}
