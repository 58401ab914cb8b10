/*
 * test_irp.c - the I/O manager's core (io/): driver and device objects,
 * device stacks, IRPs, completion and cancellation, and \Device\Null.
 *
 * A test driver, \Driver\KtIrp, is created for each test and unloaded by
 * its cleanup. Its devices behave as the mode in their extension says:
 * complete at once, pend (optionally with a cancel routine), pass the IRP
 * down (with a completion routine, with a copied location and no routine,
 * by skipping its location, or without setting any location up: the bug
 * that ends in NO_MORE_IRP_STACK_LOCATIONS), count IRPs by major function
 * (a filter), or serve reads, writes and controls through buffered or
 * direct I/O. The "originator" (the
 * test) sets its own completion routine, which logs its calls next to the
 * drivers' and returns STATUS_MORE_PROCESSING_REQUIRED, so the test frees
 * the IRP. Tests check that pool tags "Irp ", "IoBf", "Mdl ", "Driv" and
 * "Devi" are back at their baseline. File objects are opened on its
 * devices with IopOpenDevice (the services are ring 3's: user/tests/test_io.c).
 */
#include "../../include/ktest.h"
#include "../../io/iop.h"
#include "../../ob/ob.h"
#include "../../ps/ps.h"
#include "../../mm/mm.h"
#include "../../rtl/rtl.h"
#include "../../drivers/hello/hello.h"
#include "ktdefer.h"

#define KT_IRP_NAME(Literal) RTL_CONSTANT_STRING(Literal)

enum {
    KtComplete, /* complete with Dev->Status */
    KtPend, /* mark pending, keep in Dev->Pending */
    KtPassRoutine, /* copy the location down, completion routine, call lower */
    KtPassCopy, /* copy the location down, no routine */
    KtPassSkip, /* skip the location */
    KtPassRaw, /* call lower without setting up a location (a bug) */
    KtFilter, /* count, skip, call lower */
    KtBuffered, /* reads fill the system buffer; controls reverse the input */
    KtDirect, /* the same through the MDL's system view; writes count 0x77s */
    KtLeaveRaised, /* complete, then return at DISPATCH_LEVEL (a bug) */
    KtPendUnmarked, /* keep in Dev->Pending, return STATUS_PENDING unmarked (a bug) */
    KtMarkComplete, /* mark pending, complete, return Dev->Status (a bug) */
    KtLose, /* keep in Dev->Pending, return STATUS_SUCCESS (a bug) */
};

typedef struct _KT_DEV {
    ULONG Mode;
    NTSTATUS Status;                /* KtComplete: the status to complete with */
    NTSTATUS RoutineResult;         /* KtPassRoutine: what its completion routine returns */
    BOOLEAN Cancelable;             /* KtPend: set a cancel routine */
    BOOLEAN SawPendingReturned;     /* KtPassRoutine: PendingReturned in its routine */
    BOOLEAN ForgetsPending; /* KtPassRoutine: its routine does not pass "pending" on (a bug) */
    PDEVICE_OBJECT Lower;
    PIRP Pending;
    LONG Counts[IRP_MJ_MAXIMUM_FUNCTION + 1];
} KT_DEV;

static PDRIVER_OBJECT KtIrpDriver;

/* The order completion routines ran in, and the device each was given. */
static char KtLog[16];
static PDEVICE_OBJECT KtLogDevice[16];
static ULONG KtLogLength;
static BOOLEAN KtOriginPendingReturned, KtOriginCancel;
static NTSTATUS KtOriginStatus;

static void KtLogAppend(char Who, PDEVICE_OBJECT Device)
{
    if (KtLogLength < sizeof(KtLog) - 1) {
        KtLogDevice[KtLogLength] = Device;
        KtLog[KtLogLength++] = Who;
        KtLog[KtLogLength] = 0;
    }
}

static void KtResetLog(void)
{
    memset(KtLog, 0, sizeof(KtLog));
    KtLogLength = 0;
    KtOriginPendingReturned = KtOriginCancel = FALSE;
    KtOriginStatus = STATUS_PENDING;
}

static NTSTATUS KtOriginCompletion(PDEVICE_OBJECT Device, PIRP Irp, PVOID Context)
{
    (void)Context;
    KtLogAppend('O', Device);
    KtOriginPendingReturned = Irp->PendingReturned;
    KtOriginCancel = Irp->Cancel;
    KtOriginStatus = Irp->IoStatus.Status;
    return STATUS_MORE_PROCESSING_REQUIRED; /* the test frees the IRP */
}

static NTSTATUS KtUpperCompletion(PDEVICE_OBJECT Device, PIRP Irp, PVOID Context)
{
    KT_DEV *Dev = Context;
    KtLogAppend('U', Device);
    Dev->SawPendingReturned = Irp->PendingReturned;
    if (Irp->PendingReturned && !Dev->ForgetsPending)
        IoMarkIrpPending(Irp);
    return Dev->RoutineResult;
}

static void KtCancelRoutine(PDEVICE_OBJECT Device, PIRP Irp)
{
    KT_DEV *Dev = Device->DeviceExtension;
    Dev->Pending = NULL;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static NTSTATUS KtServeBuffered(PIRP Irp, PIO_STACK_LOCATION Stack)
{
    PUCHAR Buffer = Irp->AssociatedIrp.SystemBuffer;
    ULONG_PTR Bytes = 0;
    if (Stack->MajorFunction == IRP_MJ_READ) {
        for (ULONG i = 0; i < Stack->Parameters.Read.Length; i++)
            Buffer[i] = (UCHAR)(0xA0 + i);
        Bytes = Stack->Parameters.Read.Length;
    } else if (Stack->MajorFunction == IRP_MJ_DEVICE_CONTROL) {
        ULONG In = Stack->Parameters.DeviceIoControl.InputBufferLength;
        for (ULONG i = 0; i < In / 2; i++) {
            UCHAR T = Buffer[i];
            Buffer[i] = Buffer[In - 1 - i];
            Buffer[In - 1 - i] = T;
        }
        Bytes = In;
    }
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = Bytes;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

/* Direct I/O: the caller's pages through the MDL's system view. A read
 * fills them, a write counts the 0x77 bytes it finds, an OUT_DIRECT
 * control writes its (buffered) input reversed. */
static NTSTATUS KtServeDirect(PIRP Irp, PIO_STACK_LOCATION Stack)
{
    PMDL Mdl = Irp->MdlAddress;
    PUCHAR View = Mdl != NULL ? MmGetSystemAddressForMdlSafe(Mdl, NormalPagePriority) : NULL;
    ULONG Length = Mdl != NULL ? MmGetMdlByteCount(Mdl) : 0;
    ULONG_PTR Bytes = 0;
    NTSTATUS Status = View != NULL ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
    for (ULONG i = 0; View != NULL && i < Length; i++) {
        if (Stack->MajorFunction == IRP_MJ_READ)
            View[i] = (UCHAR)(0xD0 + i);
        else if (Stack->MajorFunction == IRP_MJ_WRITE)
            Bytes += View[i] == 0x77;
        else if (i < Stack->Parameters.DeviceIoControl.InputBufferLength)
            View[i] = ((PUCHAR)Irp->AssociatedIrp.SystemBuffer)[Stack->Parameters.DeviceIoControl.InputBufferLength - 1 - i];
    }
    if (Stack->MajorFunction != IRP_MJ_WRITE)
        Bytes = Length;
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = NT_SUCCESS(Status) ? Bytes : 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static NTSTATUS KtDispatch(PDEVICE_OBJECT Device, PIRP Irp)
{
    KT_DEV *Dev = Device->DeviceExtension;
    PIO_STACK_LOCATION Stack = IoGetCurrentIrpStackLocation(Irp);
    KT_EXPECT(Stack->DeviceObject == Device);
    Dev->Counts[Stack->MajorFunction]++;

    switch (Dev->Mode) {
    case KtComplete:
        Irp->IoStatus.Status = Dev->Status;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return Dev->Status;
    case KtPend:
        IoMarkIrpPending(Irp);
        Dev->Pending = Irp;
        if (Dev->Cancelable)
            IoSetCancelRoutine(Irp, KtCancelRoutine);
        return STATUS_PENDING;
    case KtPassRoutine:
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, KtUpperCompletion, Dev, TRUE, TRUE, TRUE);
        return IoCallDriver(Dev->Lower, Irp);
    case KtPassCopy:
        IoCopyCurrentIrpStackLocationToNext(Irp);
        return IoCallDriver(Dev->Lower, Irp);
    case KtPassSkip:
    case KtFilter:
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(Dev->Lower, Irp);
    case KtPassRaw:
        return IoCallDriver(Dev->Lower, Irp);
    case KtDirect:
        return KtServeDirect(Irp, Stack);
    case KtPendUnmarked:
        Dev->Pending = Irp;
        return STATUS_PENDING;
    case KtMarkComplete:
        IoMarkIrpPending(Irp);
        Irp->IoStatus.Status = Dev->Status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return Dev->Status;
    case KtLose:
        Dev->Pending = Irp;
        return STATUS_SUCCESS;
    case KtLeaveRaised: {
        KIRQL Ignored;
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        KeRaiseIrql(DISPATCH_LEVEL, &Ignored);
        return STATUS_SUCCESS;
    }
    default:
        return KtServeBuffered(Irp, Stack);
    }
}

/* DriverUnload: detach and delete every device, newest (highest) first. */
static void KtUnload(PDRIVER_OBJECT Driver)
{
    PDEVICE_OBJECT Device;
    while ((Device = Driver->DeviceObject) != NULL) {
        KT_DEV *Dev = Device->DeviceExtension;
        if (Device->DeviceObjectExtension->AttachedTo != NULL)
            IoDetachDevice(Device->DeviceObjectExtension->AttachedTo);
        Dev->Lower = NULL;
        IoDeleteDevice(Device);
    }
}

static NTSTATUS KtDriverEntry(PDRIVER_OBJECT Driver, PUNICODE_STRING RegistryPath)
{
    static const WCHAR Expected[] = u"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\KtIrp";
    if (RegistryPath->Length != sizeof(Expected) - sizeof(WCHAR) ||
        memcmp(RegistryPath->Buffer, Expected, RegistryPath->Length) != 0)
        return STATUS_OBJECT_NAME_INVALID;
    for (ULONG i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        Driver->MajorFunction[i] = KtDispatch;
    Driver->DriverUnload = KtUnload;
    KtIrpDriver = Driver;
    return STATUS_SUCCESS;
}

static void KtUnloadDriver(PVOID Context)
{
    NTSTATUS Status = IopUnloadDriver(Context);
    KT_EXPECT_STATUS(Status, STATUS_SUCCESS);
    KtIrpDriver = NULL;
}

/* Pool bytes in use under Tag (nonpaged). */
static SIZE_T KtIrpBytesInUse(ULONG Tag)
{
    static POOL_TAG_INFO Tags[POOL_TRACKER_SIZE + 1];
    ULONG Count = ExQueryPoolTags(NonPagedPool, Tags, ARRAYSIZE(Tags));
    for (ULONG i = 0; i < Count; i++) {
        if (Tags[i].Tag == Tag)
            return Tags[i].BytesInUse;
    }
    return 0;
}

#define KT_IRP_TAGS 5
static const ULONG KtIrpTags[KT_IRP_TAGS] = {IO_IRP_TAG, IO_BUFFER_TAG, IO_MDL_TAG,
                                             POOL_TAG('D', 'r', 'i', 'v'),
                                             POOL_TAG('D', 'e', 'v', 'i')};
static SIZE_T KtIrpBaseline[KT_IRP_TAGS];

/* Take the pool baseline (lookaside lists emptied, so "Irp " counts only
 * IRPs in use) and create \Driver\KtIrp, unloaded after the test (or by
 * KtCleanupNow on the entry returned; NULL on failure). */
static PKT_DEFERRED KtIrpSetup(void)
{
    static const UNICODE_STRING Name = KT_IRP_NAME(u"\\Driver\\KtIrp");
    IoTrimIrpLookasides();
    for (ULONG i = 0; i < KT_IRP_TAGS; i++)
        KtIrpBaseline[i] = KtIrpBytesInUse(KtIrpTags[i]);
    KtResetLog();
    NTSTATUS Status = IoCreateDriver(&Name, KtDriverEntry);
    KT_EXPECT_STATUS(Status, STATUS_SUCCESS);
    if (!NT_SUCCESS(Status))
        return NULL;
    return KtDefer(KtUnloadDriver, KtIrpDriver);
}

/* TRUE when every tag is back at its baseline (call after the unload). */
static BOOLEAN KtIrpPoolAtBaseline(void)
{
    IoTrimIrpLookasides();
    for (ULONG i = 0; i < KT_IRP_TAGS; i++) {
        SIZE_T Now = KtIrpBytesInUse(KtIrpTags[i]);
        if (Now != KtIrpBaseline[i]) {
            DbgPrint("  pool tag %.4s: %llu bytes, baseline %llu\n", (const char *)&KtIrpTags[i],
                     (ULONG64)Now, (ULONG64)KtIrpBaseline[i]);
            return FALSE;
        }
    }
    return TRUE;
}

/* A device of the test driver in Mode, ready (not initializing). */
static PDEVICE_OBJECT KtCreateDevice(ULONG Mode, ULONG Flags)
{
    PDEVICE_OBJECT Device;
    if (!NT_SUCCESS(IoCreateDevice(KtIrpDriver, sizeof(KT_DEV), NULL, FILE_DEVICE_UNKNOWN, 0,
                                   FALSE, &Device)))
        return NULL;
    ((KT_DEV *)Device->DeviceExtension)->Mode = Mode;
    Device->Flags |= Flags;
    Device->Flags &= ~DO_DEVICE_INITIALIZING;
    return Device;
}

/* A device in UpperMode attached above Lower; NULL on failure. */
static PDEVICE_OBJECT KtAttach(ULONG UpperMode, PDEVICE_OBJECT Lower)
{
    PDEVICE_OBJECT Upper = KtCreateDevice(UpperMode, 0);
    if (Upper == NULL)
        return NULL;
    KT_DEV *Dev = Upper->DeviceExtension;
    Dev->RoutineResult = STATUS_SUCCESS;
    Dev->Lower = IoAttachDeviceToDeviceStack(Upper, Lower);
    return Dev->Lower != NULL ? Upper : NULL;
}

/* An IRP for Top's stack, for Major, with the originator's routine. */
static PIRP KtNewIrp(PDEVICE_OBJECT Top, UCHAR Major, BOOLEAN OnSuccess, BOOLEAN OnError,
                     BOOLEAN OnCancel)
{
    PIRP Irp = IoAllocateIrp(Top->StackSize, FALSE);
    if (Irp == NULL)
        return NULL;
    IoGetNextIrpStackLocation(Irp)->MajorFunction = Major;
    IoSetCompletionRoutine(Irp, KtOriginCompletion, NULL, OnSuccess, OnError, OnCancel);
    return Irp;
}

static KT_DEV *KtDev(PDEVICE_OBJECT Device)
{
    return Device->DeviceExtension;
}

/* ------------------------------------------------------------------------ */

KTEST(irp, fields_after_allocation)
{
    PIRP Irp = IoAllocateIrp(3, FALSE);
    KT_ASSERT(Irp != NULL);
    PIO_STACK_LOCATION Base = (PIO_STACK_LOCATION)(Irp + 1);
    KT_EXPECT_EQ(Irp->Type, IO_TYPE_IRP);
    KT_EXPECT_EQ(Irp->Size, IoSizeOfIrp(IOP_LARGE_IRP_STACK_LOCATIONS)); /* the large list's size */
    KT_EXPECT_EQ(Irp->StackCount, 3);
    KT_EXPECT_EQ(Irp->CurrentLocation, 4);
    KT_EXPECT(IoGetCurrentIrpStackLocation(Irp) == Base + 3);
    KT_EXPECT(IoGetNextIrpStackLocation(Irp) == Base + 2);
    KT_EXPECT_EQ(Irp->AllocationFlags, IRP_ALLOCATED_FIXED_SIZE | IRP_LOOKASIDE_ALLOCATION);
    KT_EXPECT_EQ(Irp->IoStatus.Status, 0);
    KT_EXPECT_EQ(Irp->IoStatus.Information, 0);
    KT_EXPECT(!Irp->Cancel && !Irp->PendingReturned && Irp->CancelRoutine == NULL);
    KT_EXPECT(Irp->Tail.Overlay.Thread == NULL && Irp->UserIosb == NULL && Irp->UserEvent == NULL);
    KT_EXPECT(Irp->MdlAddress == NULL && Irp->AssociatedIrp.SystemBuffer == NULL);
    for (ULONG i = 0; i < 3; i++)
        KT_EXPECT(Base[i].CompletionRoutine == NULL && Base[i].Control == 0);
    IoFreeIrp(Irp);

    Irp = IoAllocateIrp(1, FALSE);
    KT_ASSERT(Irp != NULL);
    KT_EXPECT_EQ(Irp->Size, IoSizeOfIrp(1));
    IoFreeIrp(Irp);

    Irp = IoAllocateIrp(10, FALSE); /* beyond the lookaside sizes */
    KT_ASSERT(Irp != NULL);
    KT_EXPECT_EQ(Irp->Size, IoSizeOfIrp(10));
    KT_EXPECT_EQ(Irp->AllocationFlags, 0);
    IoFreeIrp(Irp);

    KT_EXPECT(IoAllocateIrp(0, FALSE) == NULL);
    KT_EXPECT(IoAllocateIrp(IO_MAXIMUM_STACK_SIZE + 1, FALSE) == NULL);
}

KTEST(irp, driver_object_defaults)
{
    static const UNICODE_STRING BadName = KT_IRP_NAME(u"\\Device\\KtIrp");
    static const UNICODE_STRING DriverName = KT_IRP_NAME(u"\\Driver\\KtIrp");
    KT_EXPECT_STATUS(IoCreateDriver(&BadName, KtDriverEntry), STATUS_OBJECT_NAME_INVALID);
    KT_ASSERT(KtIrpSetup());
    KT_EXPECT_STATUS(IoCreateDriver(&DriverName, KtDriverEntry), STATUS_OBJECT_NAME_COLLISION);

    PVOID Found;
    KT_ASSERT_STATUS(ObReferenceObjectByName(&DriverName, 0, IoDriverObjectType, KernelMode, &Found),
                     STATUS_SUCCESS);
    KT_EXPECT(Found == KtIrpDriver);
    ObDereferenceObject(Found);
    KT_EXPECT_EQ(KtIrpDriver->Type, IO_TYPE_DRIVER);
    KT_EXPECT_EQ(KtIrpDriver->DriverExtension->Count, 1);
    KT_EXPECT(KtIrpDriver->DriverExtension->DriverObject == KtIrpDriver);

    /* The null driver has no DEVICE_CONTROL routine: the default completes
     * with STATUS_INVALID_DEVICE_REQUEST. */
    static const UNICODE_STRING NullName = KT_IRP_NAME(u"\\Device\\Null");
    PDEVICE_OBJECT Null;
    KT_ASSERT_STATUS(ObReferenceObjectByName(&NullName, 0, IoDeviceObjectType, KernelMode,
                                             (PVOID *)&Null), STATUS_SUCCESS);
    KT_EXPECT(Null->DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] == IopInvalidDeviceRequest);
    PIRP Irp = KtNewIrp(Null, IRP_MJ_DEVICE_CONTROL, TRUE, TRUE, TRUE);
    KT_ASSERT(Irp != NULL);
    KT_EXPECT_STATUS(IoCallDriver(Null, Irp), STATUS_INVALID_DEVICE_REQUEST);
    KT_EXPECT_STATUS(KtOriginStatus, STATUS_INVALID_DEVICE_REQUEST);
    IoFreeIrp(Irp);
    ObDereferenceObject(Null);
}

static NTSTATUS KtFailingEntry(PDRIVER_OBJECT Driver, PUNICODE_STRING RegistryPath)
{
    (void)Driver;
    (void)RegistryPath;
    return STATUS_UNSUCCESSFUL;
}

KTEST(irp, failed_driver_entry_leaves_nothing)
{
    static const UNICODE_STRING Name = KT_IRP_NAME(u"\\Driver\\KtFails");
    SIZE_T Before = KtIrpBytesInUse(POOL_TAG('D', 'r', 'i', 'v'));
    PVOID Found;
    KT_EXPECT_STATUS(IoCreateDriver(&Name, KtFailingEntry), STATUS_UNSUCCESSFUL);
    KT_EXPECT_STATUS(ObReferenceObjectByName(&Name, 0, IoDriverObjectType, KernelMode, &Found),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    KT_EXPECT_EQ(KtIrpBytesInUse(POOL_TAG('D', 'r', 'i', 'v')), Before);
}

KTEST(irp, devices_names_and_links)
{
    static UNICODE_STRING DevName = KT_IRP_NAME(u"\\Device\\KtIrpDev");
    static UNICODE_STRING LinkName = KT_IRP_NAME(u"\\??\\KtIrpLink");
    PDEVICE_OBJECT Device, Again, Found;
    KT_ASSERT(KtIrpSetup());

    KT_ASSERT_STATUS(IoCreateDevice(KtIrpDriver, 40, &DevName, FILE_DEVICE_UNKNOWN, 0, TRUE, &Device),
                     STATUS_SUCCESS);
    KT_EXPECT_EQ(Device->Type, IO_TYPE_DEVICE);
    KT_EXPECT_EQ(Device->StackSize, 1);
    KT_EXPECT_EQ(Device->Flags, DO_DEVICE_INITIALIZING | DO_EXCLUSIVE);
    KT_EXPECT(Device->DriverObject == KtIrpDriver && KtIrpDriver->DeviceObject == Device);
    KT_EXPECT_EQ((ULONG_PTR)Device->DeviceExtension % 16, 0);
    KT_EXPECT_EQ(((PUCHAR)Device->DeviceExtension)[39], 0);
    KT_EXPECT_STATUS(IoCreateDevice(KtIrpDriver, 0, &DevName, FILE_DEVICE_UNKNOWN, 0, FALSE, &Again),
                     STATUS_OBJECT_NAME_COLLISION);
    KT_EXPECT(Again == NULL);

    /* Found by its name, and through a link. */
    KT_ASSERT_STATUS(IoCreateSymbolicLink(&LinkName, &DevName), STATUS_SUCCESS);
    KT_EXPECT_STATUS(ObReferenceObjectByName(&LinkName, OBJ_CASE_INSENSITIVE, IoDeviceObjectType,
                                             KernelMode, (PVOID *)&Found), STATUS_SUCCESS);
    KT_EXPECT(Found == Device);
    ObDereferenceObject(Found);
    KT_EXPECT_STATUS(IoDeleteSymbolicLink(&LinkName), STATUS_SUCCESS);
    KT_EXPECT_STATUS(ObReferenceObjectByName(&LinkName, 0, NULL, KernelMode, (PVOID *)&Found),
                     STATUS_OBJECT_NAME_NOT_FOUND);

    IoDeleteDevice(Device);
    KT_EXPECT(KtIrpDriver->DeviceObject == NULL);
    KT_EXPECT_STATUS(ObReferenceObjectByName(&DevName, 0, NULL, KernelMode, (PVOID *)&Found),
                     STATUS_OBJECT_NAME_NOT_FOUND);
}

KTEST(irp, device_stack_attach_and_detach)
{
    KT_ASSERT(KtIrpSetup());
    PDEVICE_OBJECT Lower = KtCreateDevice(KtComplete, 0);
    KT_ASSERT(Lower != NULL);
    PDEVICE_OBJECT Middle = KtAttach(KtPassSkip, Lower);
    KT_ASSERT(Middle != NULL);
    PDEVICE_OBJECT Top = KtAttach(KtPassSkip, Lower); /* goes above Middle */
    KT_ASSERT(Top != NULL);

    KT_EXPECT(KtDev(Top)->Lower == Middle);
    KT_EXPECT_EQ(Middle->StackSize, 2);
    KT_EXPECT_EQ(Top->StackSize, 3);
    KT_EXPECT(IoGetAttachedDevice(Lower) == Top);
    KT_EXPECT(IoGetAttachedDevice(Top) == Top);
    LONG_PTR Refs = ObQueryPointerCount(Top);
    PDEVICE_OBJECT Ref = IoGetAttachedDeviceReference(Middle);
    KT_EXPECT(Ref == Top);
    KT_EXPECT_EQ(ObQueryPointerCount(Top), Refs + 1);
    ObDereferenceObject(Ref);
    KT_EXPECT(IoAttachDeviceToDeviceStack(Top, Lower) == NULL); /* already attached */

    LONG_PTR MiddleRefs = ObQueryPointerCount(Middle);
    IoDetachDevice(Middle);
    KT_EXPECT_EQ(ObQueryPointerCount(Middle), MiddleRefs - 1);
    KT_EXPECT(IoGetAttachedDevice(Lower) == Middle);
    KT_EXPECT(Top->DeviceObjectExtension->AttachedTo == NULL);
    KtDev(Top)->Lower = NULL;
}

/* Originator -> Upper (KtPassRoutine) -> Lower (completes): the upper
 * driver's routine runs first, with its own device; the originator's
 * last, with NULL. */
KTEST(irp, completion_routines_run_bottom_up)
{
    KT_ASSERT(KtIrpSetup());
    PDEVICE_OBJECT Lower = KtCreateDevice(KtComplete, 0);
    KT_ASSERT(Lower != NULL);
    PDEVICE_OBJECT Upper = KtAttach(KtPassRoutine, Lower);
    KT_ASSERT(Upper != NULL);
    PIRP Irp = KtNewIrp(Upper, IRP_MJ_READ, TRUE, TRUE, TRUE);
    KT_ASSERT(Irp != NULL);

    KT_EXPECT_STATUS(IoCallDriver(Upper, Irp), STATUS_SUCCESS);
    KT_EXPECT(strcmp(KtLog, "UO") == 0);
    KT_EXPECT(KtLogDevice[0] == Upper);
    KT_EXPECT(KtLogDevice[1] == NULL);
    KT_EXPECT_EQ(KtDev(Lower)->Counts[IRP_MJ_READ], 1);
    KT_EXPECT_EQ(KtDev(Upper)->Counts[IRP_MJ_READ], 1);
    KT_EXPECT_EQ(Irp->CurrentLocation, Irp->StackCount + 1);
    IoFreeIrp(Irp);
}

/* The upper routine returns STATUS_MORE_PROCESSING_REQUIRED: the walk
 * stops at the upper driver's location; completing again goes on. */
KTEST(irp, more_processing_required_stops_the_walk)
{
    KT_ASSERT(KtIrpSetup());
    PDEVICE_OBJECT Lower = KtCreateDevice(KtComplete, 0);
    KT_ASSERT(Lower != NULL);
    PDEVICE_OBJECT Upper = KtAttach(KtPassRoutine, Lower);
    KT_ASSERT(Upper != NULL);
    KtDev(Upper)->RoutineResult = STATUS_MORE_PROCESSING_REQUIRED;
    PIRP Irp = KtNewIrp(Upper, IRP_MJ_WRITE, TRUE, TRUE, TRUE);
    KT_ASSERT(Irp != NULL);

    KT_EXPECT_STATUS(IoCallDriver(Upper, Irp), STATUS_SUCCESS);
    KT_EXPECT(strcmp(KtLog, "U") == 0);
    KT_EXPECT_EQ(Irp->CurrentLocation, 2);
    KT_EXPECT(IoGetCurrentIrpStackLocation(Irp)->DeviceObject == Upper);

    /* The upper driver owns the IRP again and completes it once more. */
    KtDev(Upper)->RoutineResult = STATUS_SUCCESS;
    Irp->IoStatus.Status = STATUS_UNSUCCESSFUL;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    KT_EXPECT(strcmp(KtLog, "UO") == 0);
    KT_EXPECT_STATUS(KtOriginStatus, STATUS_UNSUCCESSFUL);
    IoFreeIrp(Irp);
}

/* Send an IRP with the originator's routine set for the given cases
 * through a lower device that completes with Status; TRUE when the
 * routine ran. */
static BOOLEAN KtRoutineRuns(PDEVICE_OBJECT Lower, NTSTATUS Status, BOOLEAN OnSuccess,
                             BOOLEAN OnError)
{
    KtResetLog();
    KtDev(Lower)->Status = Status;
    PIRP Irp = KtNewIrp(Lower, IRP_MJ_READ, OnSuccess, OnError, FALSE);
    if (Irp == NULL)
        return FALSE;
    (void)IoCallDriver(Lower, Irp);
    IoFreeIrp(Irp);
    return KtLogLength == 1;
}

KTEST(irp, invoke_on_success_error_cancel)
{
    PKT_DEFERRED Unload = KtIrpSetup();
    KT_ASSERT(Unload != NULL);
    PDEVICE_OBJECT Lower = KtCreateDevice(KtComplete, 0);
    KT_ASSERT(Lower != NULL);

    KT_EXPECT(KtRoutineRuns(Lower, STATUS_SUCCESS, TRUE, FALSE));
    KT_EXPECT(!KtRoutineRuns(Lower, STATUS_UNSUCCESSFUL, TRUE, FALSE));
    KT_EXPECT(KtRoutineRuns(Lower, STATUS_UNSUCCESSFUL, FALSE, TRUE));
    KT_EXPECT(!KtRoutineRuns(Lower, STATUS_SUCCESS, FALSE, TRUE));
    /* A warning is not NT_SUCCESS: it counts as an error here. */
    KT_EXPECT(!KtRoutineRuns(Lower, STATUS_BUFFER_OVERFLOW, TRUE, FALSE));
    KT_EXPECT(KtRoutineRuns(Lower, STATUS_BUFFER_OVERFLOW, FALSE, TRUE));
    KT_EXPECT(!KtRoutineRuns(Lower, STATUS_CANCELLED, FALSE, FALSE));     /* Cancel not set */

    /* Cancelled: only SL_INVOKE_ON_CANCEL. A pended IRP with a cancel
     * routine: IoCancelIrp calls it, it completes STATUS_CANCELLED. */
    KtDev(Lower)->Mode = KtPend;
    KtDev(Lower)->Cancelable = TRUE;
    for (ULONG OnCancel = 0; OnCancel < 2; OnCancel++) {
        KtResetLog();
        PIRP Irp = KtNewIrp(Lower, IRP_MJ_READ, FALSE, FALSE, (BOOLEAN)OnCancel);
        KT_ASSERT(Irp != NULL);
        KT_EXPECT_STATUS(IoCallDriver(Lower, Irp), STATUS_PENDING);
        KT_EXPECT(KtDev(Lower)->Pending == Irp);
        KT_EXPECT(IoCancelIrp(Irp));
        KT_EXPECT(KtDev(Lower)->Pending == NULL);
        KT_EXPECT_EQ(KtLogLength, OnCancel);
        KT_EXPECT(Irp->Cancel);
        KT_EXPECT_STATUS(Irp->IoStatus.Status, STATUS_CANCELLED);
        IoFreeIrp(Irp);
    }
    KT_EXPECT(KtOriginCancel && KtOriginPendingReturned);

    /* Without a cancel routine IoCancelIrp only marks the IRP. */
    KtDev(Lower)->Cancelable = FALSE;
    PIRP Irp = KtNewIrp(Lower, IRP_MJ_READ, TRUE, TRUE, TRUE);
    KT_ASSERT(Irp != NULL);
    KT_EXPECT_STATUS(IoCallDriver(Lower, Irp), STATUS_PENDING);
    KT_EXPECT(!IoCancelIrp(Irp));
    KT_EXPECT(Irp->Cancel);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    KT_EXPECT(KtOriginCancel);
    IoFreeIrp(Irp);

    KtCleanupNow(Unload);
    KT_EXPECT(KtIrpPoolAtBaseline());
}

/* Lower pends and completes later. Through an upper driver with a routine
 * (which sees PendingReturned and passes it on), with a copied location
 * and no routine (the I/O manager passes it on), or skipped. */
KTEST(irp, pending_returned_propagates)
{
    static const ULONG Modes[] = {KtPassRoutine, KtPassCopy, KtPassSkip};
    PKT_DEFERRED Unload = KtIrpSetup();
    KT_ASSERT(Unload != NULL);
    PDEVICE_OBJECT Lower = KtCreateDevice(KtPend, 0);
    KT_ASSERT(Lower != NULL);

    for (ULONG i = 0; i < ARRAYSIZE(Modes); i++) {
        PDEVICE_OBJECT Upper = KtAttach(Modes[i], Lower);
        KT_ASSERT(Upper != NULL);
        KtResetLog();
        PIRP Irp = KtNewIrp(Upper, IRP_MJ_READ, TRUE, TRUE, TRUE);
        KT_ASSERT(Irp != NULL);
        KT_EXPECT_STATUS(IoCallDriver(Upper, Irp), STATUS_PENDING);
        KT_EXPECT_EQ(KtLogLength, 0);

        PIRP Pended = KtDev(Lower)->Pending;
        KT_ASSERT(Pended == Irp);
        KtDev(Lower)->Pending = NULL;
        Pended->IoStatus.Status = STATUS_SUCCESS;
        IoCompleteRequest(Pended, IO_NO_INCREMENT);
        KT_EXPECT(KtOriginPendingReturned);
        KT_EXPECT(strcmp(KtLog, Modes[i] == KtPassRoutine ? "UO" : "O") == 0);
        if (Modes[i] == KtPassRoutine)
            KT_EXPECT(KtDev(Upper)->SawPendingReturned);
        IoFreeIrp(Irp);

        IoDetachDevice(Lower);
        KtDev(Upper)->Lower = NULL;
        IoDeleteDevice(Upper);
    }

    /* Completed at once: PendingReturned stays FALSE. */
    KtDev(Lower)->Mode = KtComplete;
    KtResetLog();
    PIRP Irp = KtNewIrp(Lower, IRP_MJ_READ, TRUE, TRUE, TRUE);
    KT_ASSERT(Irp != NULL);
    KT_EXPECT_STATUS(IoCallDriver(Lower, Irp), STATUS_SUCCESS);
    KT_EXPECT(KtLogLength == 1 && !KtOriginPendingReturned);
    IoFreeIrp(Irp);

    KtCleanupNow(Unload);
    KT_EXPECT(KtIrpPoolAtBaseline());
}

/* A driver's own IRP with no routine: at the top, IoStatus goes to
 * UserIosb and UserEvent is signalled; the IRP stays the driver's. */
KTEST(irp, driver_irp_reports_to_iosb_and_event)
{
    PKT_DEFERRED Unload = KtIrpSetup();
    KT_ASSERT(Unload != NULL);
    PDEVICE_OBJECT Lower = KtCreateDevice(KtComplete, 0);
    KT_ASSERT(Lower != NULL);
    KtDev(Lower)->Status = STATUS_END_OF_FILE;

    KEVENT Event;
    IO_STATUS_BLOCK Iosb = {.Status = STATUS_PENDING, .Information = 99};
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    PIRP Irp = IoAllocateIrp(1, FALSE);
    KT_ASSERT(Irp != NULL);
    IoGetNextIrpStackLocation(Irp)->MajorFunction = IRP_MJ_READ;
    Irp->UserIosb = &Iosb;
    Irp->UserEvent = &Event;
    KT_EXPECT_STATUS(IoCallDriver(Lower, Irp), STATUS_END_OF_FILE);
    KT_EXPECT_STATUS(Iosb.Status, STATUS_END_OF_FILE);
    KT_EXPECT_EQ(Iosb.Information, 0);
    KT_EXPECT_EQ(KeReadStateEvent(&Event), 1);
    IoFreeIrp(Irp);

    KtCleanupNow(Unload);
    KT_EXPECT(KtIrpPoolAtBaseline());
}

static PDEVICE_OBJECT KtReferenceNull(PCUNICODE_STRING Name)
{
    PDEVICE_OBJECT Device;
    if (!NT_SUCCESS(ObReferenceObjectByName(Name, OBJ_CASE_INSENSITIVE, IoDeviceObjectType,
                                            KernelMode, (PVOID *)&Device)))
        return NULL;
    return Device;
}

static void KtDereference(PVOID Object)
{
    ObDereferenceObject(Object);
}

/* A synchronous request the way a driver makes one: build, call, wait if
 * pending. Returns the final status; *Information the byte count. */
static NTSTATUS KtSynchronousFsd(UCHAR Major, PDEVICE_OBJECT Device, PVOID Buffer, ULONG Length,
                                 ULONG_PTR *Information)
{
    KEVENT Event;
    IO_STATUS_BLOCK Iosb = {.Status = STATUS_PENDING, .Information = 0x5A5A};
    LARGE_INTEGER Offset = {.QuadPart = 0};
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    PIRP Irp = IoBuildSynchronousFsdRequest(Major, Device, Buffer, Length, &Offset, &Event, &Iosb);
    if (Irp == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS Status = IoCallDriver(Device, Irp);
    if (Status == STATUS_PENDING) {
        (void)KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, NULL);
        Status = Iosb.Status;
    }
    if (Status != Iosb.Status || KeReadStateEvent(&Event) != 1)
        return STATUS_UNSUCCESSFUL; /* the IRP did not report where it should */
    *Information = Iosb.Information;
    return Status;
}

/* The fast requests' status-block write: Status (four bytes, the rest of
 * the union untouched, as NT's store) and Information; an address that
 * faults (non-canonical: a #GP) comes back through the exception table
 * with STATUS_ACCESS_VIOLATION and the user-access window closed. */
KTEST(irp, status_block_write_recovers_from_a_fault)
{
    static IO_STATUS_BLOCK Block;
    IO_STATUS_BLOCK Value = {.Status = STATUS_END_OF_FILE, .Information = 0x1234};
    memset(&Block, 0xAA, sizeof(Block));
    KT_ASSERT_STATUS(IopWriteUserIoStatus(&Block, &Value), STATUS_SUCCESS);
    KT_EXPECT_EQ((ULONG)((ULONG_PTR)Block.Pointer & 0xFFFFFFFF), (ULONG)STATUS_END_OF_FILE);
    KT_EXPECT_EQ((ULONG_PTR)Block.Pointer >> 32, 0xAAAAAAAAull);
    KT_EXPECT_EQ(Block.Information, 0x1234);
    KT_EXPECT_STATUS(IopWriteUserIoStatus((PIO_STATUS_BLOCK)0x0000800000000000ULL, &Value),
                     STATUS_ACCESS_VIOLATION);
    KT_EXPECT((__readeflags() & (1ULL << 18)) == 0); /* RFLAGS.AC: user access closed */
}

KTEST(irp, synchronous_requests_to_device_null)
{
    static const UNICODE_STRING NullName = KT_IRP_NAME(u"\\Device\\Null");
    static const UNICODE_STRING DosName = KT_IRP_NAME(u"\\??\\nul");
    UCHAR Buffer[100];
    ULONG_PTR Bytes;
    PDEVICE_OBJECT Null = KtReferenceNull(&NullName);
    KT_ASSERT(Null != NULL);
    KtDefer(KtDereference, Null);
    PDEVICE_OBJECT ThroughLink = KtReferenceNull(&DosName);
    KT_EXPECT(ThroughLink == Null);
    if (ThroughLink != NULL)
        ObDereferenceObject(ThroughLink);
    KT_EXPECT_EQ(Null->DeviceType, FILE_DEVICE_NULL);
    KT_EXPECT_EQ(Null->Flags & (DO_DEVICE_INITIALIZING | DO_BUFFERED_IO | DO_DIRECT_IO), 0);

    IoTrimIrpLookasides();
    SIZE_T IrpBytes = KtIrpBytesInUse(IO_IRP_TAG);
    memset(Buffer, 0x33, sizeof(Buffer));
    KT_EXPECT_STATUS(KtSynchronousFsd(IRP_MJ_WRITE, Null, Buffer, sizeof(Buffer), &Bytes),
                     STATUS_SUCCESS);
    KT_EXPECT_EQ(Bytes, sizeof(Buffer));
    KT_EXPECT_STATUS(KtSynchronousFsd(IRP_MJ_READ, Null, Buffer, sizeof(Buffer), &Bytes),
                     STATUS_END_OF_FILE);
    KT_EXPECT_EQ(Bytes, 0);
    KT_EXPECT_EQ(Buffer[0], 0x33); /* nothing was read into it */
    KT_EXPECT_STATUS(KtSynchronousFsd(IRP_MJ_FLUSH_BUFFERS, Null, NULL, 0, &Bytes),
                     STATUS_INVALID_DEVICE_REQUEST);
    KT_EXPECT(IoBuildSynchronousFsdRequest(IRP_MJ_DEVICE_CONTROL, Null, NULL, 0, NULL, NULL,
                                           NULL) == NULL);
    IoTrimIrpLookasides();
    KT_EXPECT_EQ(KtIrpBytesInUse(IO_IRP_TAG), IrpBytes); /* completion freed each IRP */
}

/* Buffered I/O: the driver sees a system buffer; what it leaves there
 * reaches the caller's buffer at completion. */
KTEST(irp, buffered_read_and_control)
{
    PKT_DEFERRED Unload = KtIrpSetup();
    KT_ASSERT(Unload != NULL);
    PDEVICE_OBJECT Device = KtCreateDevice(KtBuffered, DO_BUFFERED_IO);
    KT_ASSERT(Device != NULL);
    UCHAR Buffer[24], Output[8];
    ULONG_PTR Bytes;

    memset(Buffer, 0, sizeof(Buffer));
    KT_EXPECT_STATUS(KtSynchronousFsd(IRP_MJ_READ, Device, Buffer, 16, &Bytes), STATUS_SUCCESS);
    KT_EXPECT_EQ(Bytes, 16);
    KT_EXPECT_EQ(Buffer[0], 0xA0);
    KT_EXPECT_EQ(Buffer[15], 0xAF);
    KT_EXPECT_EQ(Buffer[16], 0); /* past the request's length */

    /* METHOD_BUFFERED: 4 bytes in, reversed, out. */
    UCHAR Input[4] = {1, 2, 3, 4};
    KEVENT Event;
    IO_STATUS_BLOCK Iosb;
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    memset(Output, 0xEE, sizeof(Output));
    PIRP Irp = IoBuildDeviceIoControlRequest(CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED,
                                                      FILE_ANY_ACCESS),
                                             Device, Input, sizeof(Input), Output, sizeof(Output),
                                             FALSE, &Event, &Iosb);
    KT_ASSERT(Irp != NULL);
    KT_EXPECT(Irp->AssociatedIrp.SystemBuffer != NULL && Irp->AssociatedIrp.SystemBuffer != Input);
    KT_EXPECT_STATUS(IoCallDriver(Device, Irp), STATUS_SUCCESS);
    KT_EXPECT_STATUS(Iosb.Status, STATUS_SUCCESS);
    KT_EXPECT_EQ(Iosb.Information, 4);
    KT_EXPECT(Output[0] == 4 && Output[1] == 3 && Output[2] == 2 && Output[3] == 1);
    KT_EXPECT_EQ(Output[4], 0xEE);
    KT_EXPECT_EQ(KtDev(Device)->Counts[IRP_MJ_DEVICE_CONTROL], 1);

    KtCleanupNow(Unload);
    KT_EXPECT(KtIrpPoolAtBaseline());
}

/* Direct I/O: the builders lock the caller's buffer (across a page
 * boundary here) and hang its MDL on the IRP; the driver works through
 * the MDL's system view; completion unlocks and frees it. */
KTEST(irp, direct_read_write_and_control)
{
    static UCHAR Pages[2 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
    PUCHAR Buffer = Pages + PAGE_SIZE - 8; /* 16 bytes over two pages */
    UCHAR Input[3] = {7, 8, 9};
    ULONG_PTR Bytes;
    KEVENT Event;
    IO_STATUS_BLOCK Iosb;
    PKT_DEFERRED Unload = KtIrpSetup();
    KT_ASSERT(Unload != NULL);
    PDEVICE_OBJECT Device = KtCreateDevice(KtDirect, DO_DIRECT_IO);
    KT_ASSERT(Device != NULL);

    memset(Pages, 0, sizeof(Pages));
    KT_EXPECT_STATUS(KtSynchronousFsd(IRP_MJ_READ, Device, Buffer, 16, &Bytes), STATUS_SUCCESS);
    KT_EXPECT_EQ(Bytes, 16);
    KT_EXPECT(Buffer[0] == 0xD0 && Buffer[7] == 0xD7 && Buffer[8] == 0xD8 && Buffer[15] == 0xDF);
    KT_EXPECT(Buffer[-1] == 0 && Buffer[16] == 0);

    memset(Buffer, 0x77, 10);
    KT_EXPECT_STATUS(KtSynchronousFsd(IRP_MJ_WRITE, Device, Buffer, 16, &Bytes), STATUS_SUCCESS);
    KT_EXPECT_EQ(Bytes, 10); /* the driver saw the caller's bytes */

    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    PIRP Irp = IoBuildDeviceIoControlRequest(CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_OUT_DIRECT,
                                                      FILE_ANY_ACCESS),
                                             Device, Input, sizeof(Input), Buffer, 4, FALSE,
                                             &Event, &Iosb);
    KT_ASSERT(Irp != NULL);
    KT_EXPECT(Irp->MdlAddress != NULL && MmGetMdlByteCount(Irp->MdlAddress) == 4);
    KT_EXPECT(Irp->AssociatedIrp.SystemBuffer != NULL && !(Irp->Flags & IRP_INPUT_OPERATION));
    KT_EXPECT_STATUS(IoCallDriver(Device, Irp), STATUS_SUCCESS);
    KT_EXPECT_EQ(Iosb.Information, 4);
    KT_EXPECT(Buffer[0] == 9 && Buffer[1] == 8 && Buffer[2] == 7);

    KtCleanupNow(Unload);
    KT_EXPECT(KtIrpPoolAtBaseline());
}

/* The DPC that finishes a pended buffered read: fills the system buffer
 * and completes the IRP at DISPATCH_LEVEL, while the requester waits. */
static KDPC KtLateDpc;
static KTIMER KtLateTimer;
static volatile KIRQL KtLateIrql;

static void KtLateCompletion(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    KT_DEV *Dev = Context;
    PIRP Irp = Dev->Pending;
    (void)Dpc;
    (void)Argument1;
    (void)Argument2;
    KtLateIrql = KeGetCurrentIrql();
    if (Irp == NULL)
        return;
    Dev->Pending = NULL;
    memset(Irp->AssociatedIrp.SystemBuffer, 0x6B, 5);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 5;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static void KtCancelLateTimer(PVOID Context)
{
    (void)Context;
    KeCancelTimer(&KtLateTimer);
}

/* A built request that the driver pends: IoCallDriver returns
 * STATUS_PENDING, the requester waits on its event, and a DPC completes
 * the IRP later; the output reaches the caller's buffer and the IRP and
 * its system buffer are freed at DISPATCH_LEVEL. */
KTEST(irp, pended_request_completed_from_a_dpc)
{
    PKT_DEFERRED Unload = KtIrpSetup();
    KT_ASSERT(Unload != NULL);
    PDEVICE_OBJECT Device = KtCreateDevice(KtPend, DO_BUFFERED_IO);
    KT_ASSERT(Device != NULL);
    UCHAR Buffer[8];
    KEVENT Event;
    IO_STATUS_BLOCK Iosb = {.Status = STATUS_PENDING, .Information = 0};
    LARGE_INTEGER DueTime = {.QuadPart = -20 * 10000}; /* 20 ms */

    memset(Buffer, 0, sizeof(Buffer));
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    PIRP Irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, Device, Buffer, sizeof(Buffer), NULL,
                                            &Event, &Iosb);
    KT_ASSERT(Irp != NULL);
    KT_EXPECT(Irp->Tail.Overlay.Thread == PsGetCurrentThread());
    KT_EXPECT_EQ(Irp->Flags & (IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | IRP_INPUT_OPERATION),
                 IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | IRP_INPUT_OPERATION);
    KT_ASSERT_STATUS(IoCallDriver(Device, Irp), STATUS_PENDING);

    KtLateIrql = PASSIVE_LEVEL;
    KeInitializeDpc(&KtLateDpc, KtLateCompletion, KtDev(Device));
    KeInitializeTimer(&KtLateTimer);
    KtDefer(KtCancelLateTimer, NULL);
    KeSetTimer(&KtLateTimer, DueTime, &KtLateDpc);
    KT_ASSERT_STATUS(KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, NULL),
                     STATUS_SUCCESS);
    KT_EXPECT_EQ(KtLateIrql, DISPATCH_LEVEL);
    KT_EXPECT_STATUS(Iosb.Status, STATUS_SUCCESS);
    KT_EXPECT_EQ(Iosb.Information, 5);
    KT_EXPECT(Buffer[0] == 0x6B && Buffer[4] == 0x6B && Buffer[5] == 0);

    KtCleanupNow(Unload);
    KT_EXPECT(KtIrpPoolAtBaseline());
}

static void KtDetachFromNull(PVOID Null)
{
    IoDetachDevice(Null);
}

/* A filter attached above \Device\Null sees every IRP sent to the top of
 * the stack, counts it by major function, and passes it on unchanged. */
KTEST(irp, filter_above_null_counts_irps)
{
    static const UNICODE_STRING NullName = KT_IRP_NAME(u"\\Device\\Null");
    UCHAR Buffer[32];
    ULONG_PTR Bytes;
    PKT_DEFERRED Unload = KtIrpSetup();
    KT_ASSERT(Unload != NULL);
    PDEVICE_OBJECT Null = KtReferenceNull(&NullName);
    KT_ASSERT(Null != NULL);
    KtDefer(KtDereference, Null);
    KT_ASSERT(IoGetAttachedDevice(Null) == Null);

    PDEVICE_OBJECT Filter = KtAttach(KtFilter, Null);
    KT_ASSERT(Filter != NULL);
    PKT_DEFERRED Detach = KtDefer(KtDetachFromNull, Null);
    KT_EXPECT(KtDev(Filter)->Lower == Null);
    KT_EXPECT_EQ(Filter->StackSize, 2);

    PDEVICE_OBJECT Top = IoGetAttachedDeviceReference(Null);
    KT_EXPECT(Top == Filter);
    KT_EXPECT_STATUS(KtSynchronousFsd(IRP_MJ_WRITE, Top, Buffer, 7, &Bytes), STATUS_SUCCESS);
    KT_EXPECT_EQ(Bytes, 7);
    KT_EXPECT_STATUS(KtSynchronousFsd(IRP_MJ_WRITE, Top, Buffer, 9, &Bytes), STATUS_SUCCESS);
    KT_EXPECT_STATUS(KtSynchronousFsd(IRP_MJ_READ, Top, Buffer, 9, &Bytes), STATUS_END_OF_FILE);
    KT_EXPECT_STATUS(KtSynchronousFsd(IRP_MJ_FLUSH_BUFFERS, Top, NULL, 0, &Bytes),
                     STATUS_INVALID_DEVICE_REQUEST);
    ObDereferenceObject(Top);

    LONG *Counts = KtDev(Filter)->Counts;
    KT_EXPECT_EQ(Counts[IRP_MJ_WRITE], 2);
    KT_EXPECT_EQ(Counts[IRP_MJ_READ], 1);
    KT_EXPECT_EQ(Counts[IRP_MJ_FLUSH_BUFFERS], 1);
    KT_EXPECT_EQ(Counts[IRP_MJ_DEVICE_CONTROL], 0);

    KtCleanupNow(Detach);
    KtDev(Filter)->Lower = NULL;
    KT_EXPECT(IoGetAttachedDevice(Null) == Null);
    KT_EXPECT(Filter->DeviceObjectExtension->AttachedTo == NULL);
    KtCleanupNow(Unload);
    KT_EXPECT(KtIrpPoolAtBaseline());
}

/* File objects: IopOpenDevice sends IRP_MJ_CREATE to the top of the stack
 * (a filter above sees it), an exclusive device refuses a second open, the
 * last handle's close sends IRP_MJ_CLEANUP and the last reference
 * IRP_MJ_CLOSE, and the device's open count follows. */
KTEST(irp, file_open_exclusive_cleanup_and_close)
{
    PFILE_OBJECT File, Second;
    HANDLE Handle;
    PKT_DEFERRED Unload = KtIrpSetup();
    KT_ASSERT(Unload != NULL);
    PDEVICE_OBJECT Device = KtCreateDevice(KtComplete, DO_EXCLUSIVE);
    KT_ASSERT(Device != NULL);
    KtDev(Device)->Status = STATUS_SUCCESS;
    PDEVICE_OBJECT Filter = KtAttach(KtFilter, Device);
    KT_ASSERT(Filter != NULL);
    LONG *Below = KtDev(Device)->Counts, *Above = KtDev(Filter)->Counts;

    KT_ASSERT_STATUS(
        IopOpenDevice(Device, FILE_GENERIC_READ, 0, FILE_SYNCHRONOUS_IO_NONALERT, &File),
        STATUS_SUCCESS);
    KT_EXPECT(File->Type == IO_TYPE_FILE && File->DeviceObject == Device);
    KT_EXPECT(File->Flags & FO_SYNCHRONOUS_IO);
    KT_EXPECT(File->ReadAccess && !File->WriteAccess);
    KT_EXPECT(IoGetRelatedDeviceObject(File) == Filter);
    KT_EXPECT_EQ(Above[IRP_MJ_CREATE], 1);
    KT_EXPECT_EQ(Below[IRP_MJ_CREATE], 1);
    KT_EXPECT_EQ(Device->ReferenceCount, 1);
    /* Exclusive: a second open is refused before any IRP. */
    KT_EXPECT_STATUS(IopOpenDevice(Device, FILE_GENERIC_READ, 0, 0, &Second), STATUS_ACCESS_DENIED);
    KT_EXPECT_EQ(Below[IRP_MJ_CREATE], 1);

    File->Flags |= FO_HANDLE_CREATED;
    KT_ASSERT_STATUS(ObOpenObjectByPointer(File, OBJ_KERNEL_HANDLE, FILE_GENERIC_READ,
                                           IoFileObjectType, KernelMode, &Handle),
                     STATUS_SUCCESS);
    KT_EXPECT_STATUS(ZwClose(Handle), STATUS_SUCCESS);
    /* The last handle is gone, the caller's reference is not. */
    KT_EXPECT_EQ(Below[IRP_MJ_CLEANUP], 1);
    KT_EXPECT_EQ(Below[IRP_MJ_CLOSE], 0);
    ObDereferenceObject(File);
    KT_EXPECT_EQ(Below[IRP_MJ_CLOSE], 1);
    KT_EXPECT_EQ(Above[IRP_MJ_CLOSE], 1);
    KT_EXPECT_EQ(Device->ReferenceCount, 0);

    /* A driver that refuses the create: no handle, no cleanup, no close. */
    KtDev(Device)->Status = STATUS_ACCESS_DENIED;
    KT_EXPECT_STATUS(IopOpenDevice(Device, FILE_GENERIC_READ, 0, 0, &Second), STATUS_ACCESS_DENIED);
    KT_EXPECT_EQ(Below[IRP_MJ_CREATE], 2);
    KT_EXPECT_EQ(Below[IRP_MJ_CLOSE], 1);
    KT_EXPECT_EQ(Device->ReferenceCount, 0);
    KtDev(Device)->Status = STATUS_SUCCESS;
    KT_ASSERT_STATUS(IopOpenDevice(Device, 0, 0, 0, &Second), STATUS_SUCCESS);
    ObDereferenceObject(Second);
    KT_EXPECT_EQ(Below[IRP_MJ_CLEANUP], 1); /* never had a handle */
    KT_EXPECT_EQ(Below[IRP_MJ_CLOSE], 2);

    KtCleanupNow(Unload);
    KT_EXPECT(KtIrpPoolAtBaseline());
}

/* 10,000 IRPs of every size, some in flight at once, half of them sent to
 * \Device\Null: afterwards no "Irp " block is left beyond the lookaside
 * lists, and trimming them returns the pool to its baseline. */
KTEST(irp, pool_back_to_baseline_after_10000_irps)
{
    static const UNICODE_STRING NullName = KT_IRP_NAME(u"\\Device\\Null");
    static PIRP Batch[20];
    UCHAR Buffer[8];
    ULONG_PTR Bytes;
    PDEVICE_OBJECT Null = KtReferenceNull(&NullName);
    KT_ASSERT(Null != NULL);
    KtDefer(KtDereference, Null);
    IoTrimIrpLookasides();
    SIZE_T Baseline = KtIrpBytesInUse(IO_IRP_TAG);
    IOP_IRP_LOOKASIDE_INFO Before, After;
    IopQueryIrpLookasides(&Before);

    ULONG Done = 0;
    while (Done < 10000) {
        for (ULONG i = 0; i < ARRAYSIZE(Batch); i++) {
            Batch[i] = IoAllocateIrp((CCHAR)(1 + (Done + i) % 6), FALSE);
            KT_ASSERT(Batch[i] != NULL);
        }
        for (ULONG i = 0; i < ARRAYSIZE(Batch); i++)
            IoFreeIrp(Batch[i]);
        Done += ARRAYSIZE(Batch);
        for (ULONG i = 0; i < ARRAYSIZE(Batch); i++, Done++)
            KT_ASSERT_STATUS(KtSynchronousFsd(IRP_MJ_WRITE, Null, Buffer, 8, &Bytes), STATUS_SUCCESS);
    }
    IopQueryIrpLookasides(&After);
    KT_EXPECT(After.Hits - Before.Hits > 5000); /* the lists served most of them */
    KT_EXPECT(After.Depth[0] <= IOP_IRP_LOOKASIDE_DEPTH && After.Depth[1] <= IOP_IRP_LOOKASIDE_DEPTH);
    IoTrimIrpLookasides();
    KT_EXPECT_EQ(KtIrpBytesInUse(IO_IRP_TAG), Baseline);
    KT_EXPECT_EQ(Baseline, 0); /* nothing else holds an IRP at rest */
}

/* ------------------------------------------------------------------------
 * Unloading a driver that still has work: the loadable teaching driver
 * delay.sys (drivers/delay/delay.c), whose reads pend in its queue with a
 * cancel routine until its timer's DPC completes them.
 * ------------------------------------------------------------------------ */

static UNICODE_STRING KtDelayService = KT_IRP_NAME(u"delay");

/* Load delay.sys (if it is not) and reference \Device\Delay. */
static PDEVICE_OBJECT KtLoadDelay(void)
{
    static UNICODE_STRING Name = KT_IRP_NAME(u"\\Device\\Delay");
    PDEVICE_OBJECT Device = NULL;
    NTSTATUS Status = IoLoadDriver(&KtDelayService);
    if (!NT_SUCCESS(Status) && Status != STATUS_IMAGE_ALREADY_LOADED)
        return NULL;
    if (!NT_SUCCESS(
            ObReferenceObjectByName(&Name, 0, IoDeviceObjectType, KernelMode, (PVOID *)&Device)))
        return NULL;
    return Device;
}

/* An open device may have requests pending in its driver: the unload is
 * refused before DriverUnload runs (NT defers it to the last close), and
 * goes through once the file is closed. */
KTEST(irp, unload_refused_while_device_open)
{
    PFILE_OBJECT File;
    PDEVICE_OBJECT Device = KtLoadDelay();
    KT_ASSERT(Device != NULL);
    KtDeferDereference(Device);
    KT_ASSERT_STATUS(IopOpenDevice(Device, FILE_GENERIC_READ, 0, 0, &File), STATUS_SUCCESS);
    KT_EXPECT_EQ(Device->ReferenceCount, 1);
    KT_EXPECT_STATUS(IoUnloadDriver(&KtDelayService), STATUS_DEVICE_BUSY);
    /* DriverUnload did not run: the device is still the driver's. */
    KT_EXPECT(Device->DriverObject->DeviceObject == Device);
    ObDereferenceObject(File);
    KT_EXPECT_EQ(Device->ReferenceCount, 0);
    KT_EXPECT_STATUS(IoUnloadDriver(&KtDelayService), STATUS_SUCCESS);
    KT_EXPECT_STATUS(IoUnloadDriver(&KtDelayService), STATUS_OBJECT_NAME_NOT_FOUND);
}

/* ------------------------------------------------------------------------
 * Bugchecks: each ends the boot it runs in.
 * ------------------------------------------------------------------------ */

/* An IRP sent to \Device\Hello by a kernel component that holds the device
 * (no file object: nothing stops the unload) is still pending in the
 * driver, with its cancel routine, when the driver unloads: that routine
 * is code that no longer exists. IoCancelIrp names it and stops the system
 * with NT's 0xCE instead of jumping into freed system PTEs. */
KTEST_BUGCHECK(irp, unload_with_irp_pending, DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS)
{
    static UNICODE_STRING Service = KT_IRP_NAME(u"hello");
    static UNICODE_STRING Name = KT_IRP_NAME(u"\\Device\\Hello");
    PDEVICE_OBJECT Device;
    IO_STATUS_BLOCK Iosb;
    KEVENT Done;
    KT_ASSERT_STATUS(IoLoadDriver(&Service), STATUS_SUCCESS);
    KT_ASSERT_STATUS(
        ObReferenceObjectByName(&Name, 0, IoDeviceObjectType, KernelMode, (PVOID *)&Device),
        STATUS_SUCCESS);
    KeInitializeEvent(&Done, NotificationEvent, FALSE);
    PIRP Irp = IoBuildDeviceIoControlRequest(IOCTL_HELLO_PEND, Device, NULL, 0, NULL, 0, FALSE,
                                             &Done, &Iosb);
    KT_ASSERT(Irp != NULL);
    KT_ASSERT_STATUS(IoCallDriver(Device, Irp), STATUS_PENDING);
    KT_ASSERT(Irp->CancelRoutine != NULL);
    KT_ASSERT_STATUS(IoUnloadDriver(&Service), STATUS_SUCCESS);
    (void)IoCancelIrp(Irp);
    KT_EXPECT(FALSE); /* not reached */
}

KTEST_BUGCHECK(irp, second_completion, MULTIPLE_IRP_COMPLETE_REQUESTS)
{
    static const UNICODE_STRING NullName = KT_IRP_NAME(u"\\Device\\Null");
    PDEVICE_OBJECT Null = KtReferenceNull(&NullName);
    KT_ASSERT(Null != NULL);
    PIRP Irp = IoAllocateIrp(1, FALSE);
    KT_ASSERT(Irp != NULL);
    IoGetNextIrpStackLocation(Irp)->MajorFunction = IRP_MJ_READ;
    KT_EXPECT_STATUS(IoCallDriver(Null, Irp), STATUS_END_OF_FILE); /* null completed it */
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

KTEST_BUGCHECK(irp, no_stack_location_left, NO_MORE_IRP_STACK_LOCATIONS)
{
    KT_ASSERT(KtIrpSetup() != NULL);
    PDEVICE_OBJECT Lower = KtCreateDevice(KtComplete, 0);
    KT_ASSERT(Lower != NULL);
    PDEVICE_OBJECT Upper = KtCreateDevice(KtPassRaw, 0);
    KT_ASSERT(Upper != NULL);
    KtDev(Upper)->Lower = Lower; /* not attached: StackSize stays 1 */
    PIRP Irp = IoAllocateIrp(Upper->StackSize, FALSE);
    KT_ASSERT(Irp != NULL);
    IoGetNextIrpStackLocation(Irp)->MajorFunction = IRP_MJ_READ;
    (void)IoCallDriver(Upper, Irp);
}

KTEST_BUGCHECK(irp, complete_with_status_pending, DRIVER_VERIFIER_IOMANAGER_VIOLATION)
{
    PIRP Irp = IoAllocateIrp(1, FALSE);
    KT_ASSERT(Irp != NULL);
    Irp->IoStatus.Status = STATUS_PENDING;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

KTEST_BUGCHECK(irp, complete_above_dispatch_level, IRQL_NOT_LESS_OR_EQUAL)
{
    KIRQL OldIrql;
    PIRP Irp = IoAllocateIrp(1, FALSE);
    KT_ASSERT(Irp != NULL);
    KeRaiseIrql(CLOCK_LEVEL, &OldIrql);
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

/* ---------------------------------------------------- I/O verification */
/* "verifier=io" (the tests turn it on themselves): NT's documented
 * DRIVER_VERIFIER_IOMANAGER_VIOLATION checks in io/irp.c. */
static void KtRestoreVerifierFlags(PVOID Flags)
{
    MmVerifierFlags = (ULONG)(ULONG_PTR)Flags;
}

/* Correct drivers pass: a pended read through a filter with a completion
 * routine, a built request, and a driver's own IRP, all under the checks. */
KTEST(irp, io_verification_passes_correct_drivers)
{
    static const UNICODE_STRING NullName = KT_IRP_NAME(u"\\Device\\Null");
    KtDefer(KtRestoreVerifierFlags, (PVOID)(ULONG_PTR)MmVerifierFlags);
    MmVerifierFlags |= VERIFIER_IO_CHECKING;
    PKT_DEFERRED Unload = KtIrpSetup();
    KT_ASSERT(Unload != NULL);
    PDEVICE_OBJECT Lower = KtCreateDevice(KtPend, 0);
    KT_ASSERT(Lower != NULL);
    KtDev(Lower)->Cancelable = TRUE;
    PDEVICE_OBJECT Upper = KtAttach(KtPassRoutine, Lower);
    KT_ASSERT(Upper != NULL);
    KtResetLog();
    PIRP Irp = KtNewIrp(Upper, IRP_MJ_READ, TRUE, TRUE, TRUE);
    KT_ASSERT(Irp != NULL);
    KT_EXPECT_STATUS(IoCallDriver(Upper, Irp), STATUS_PENDING);
    PIRP Pended = KtDev(Lower)->Pending;
    KT_ASSERT(Pended == Irp);
    KtDev(Lower)->Pending = NULL;
    KT_EXPECT(IoSetCancelRoutine(Pended, NULL) != NULL); /* as a driver must, first */
    Pended->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(Pended, IO_NO_INCREMENT);
    KT_EXPECT(KtOriginPendingReturned);
    IoFreeIrp(Irp); /* a driver's own IRP: on no thread's list */

    PDEVICE_OBJECT Null = KtReferenceNull(&NullName);
    KT_ASSERT(Null != NULL);
    KtDeferDereference(Null);
    KEVENT Done;
    IO_STATUS_BLOCK Iosb;
    UCHAR Byte;
    KeInitializeEvent(&Done, NotificationEvent, FALSE);
    PIRP Built = IoBuildSynchronousFsdRequest(IRP_MJ_READ, Null, &Byte, 1, NULL, &Done, &Iosb);
    KT_ASSERT(Built != NULL);
    KT_EXPECT_STATUS(IoCallDriver(Null, Built), STATUS_END_OF_FILE);
    KT_EXPECT(KeReadStateEvent(&Done) != 0);
    KtCleanupNow(Unload);
    KT_EXPECT(KtIrpPoolAtBaseline());
}

/* 0x07: completed while its cancel routine is still set. */
KTEST_BUGCHECK(irp, verifier_completion_with_cancel_routine_set,
               DRIVER_VERIFIER_IOMANAGER_VIOLATION)
{
    MmVerifierFlags |= VERIFIER_IO_CHECKING;
    PIRP Irp = IoAllocateIrp(1, FALSE);
    KT_ASSERT(Irp != NULL);
    IoSetCancelRoutine(Irp, KtCancelRoutine);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

/* 0x02: a request built for this thread freed instead of sent. */
KTEST_BUGCHECK(irp, verifier_free_of_threaded_irp, DRIVER_VERIFIER_IOMANAGER_VIOLATION)
{
    static const UNICODE_STRING NullName = KT_IRP_NAME(u"\\Device\\Null");
    UCHAR Byte;
    IO_STATUS_BLOCK Iosb;
    KEVENT Done;
    MmVerifierFlags |= VERIFIER_IO_CHECKING;
    PDEVICE_OBJECT Null = KtReferenceNull(&NullName);
    KT_ASSERT(Null != NULL);
    KeInitializeEvent(&Done, NotificationEvent, FALSE);
    PIRP Irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, Null, &Byte, 1, NULL, &Done, &Iosb);
    KT_ASSERT(Irp != NULL);
    IoFreeIrp(Irp);
}

/* 0x05: a dispatch routine that returns at another IRQL. */
KTEST_BUGCHECK(irp, verifier_irql_changed_by_dispatch, DRIVER_VERIFIER_IOMANAGER_VIOLATION)
{
    MmVerifierFlags |= VERIFIER_IO_CHECKING;
    KT_ASSERT(KtIrpSetup() != NULL);
    PDEVICE_OBJECT Device = KtCreateDevice(KtLeaveRaised, 0);
    KT_ASSERT(Device != NULL);
    PIRP Irp = IoAllocateIrp(Device->StackSize, FALSE);
    KT_ASSERT(Irp != NULL);
    IoGetNextIrpStackLocation(Irp)->MajorFunction = IRP_MJ_READ;
    (void)IoCallDriver(Device, Irp);
}

/* I/O error 0x228: a completion routine that sees PendingReturned and does
 * not call IoMarkIrpPending, so the caller above would never learn that
 * the request pended. */
KTEST_BUGCHECK(irp, verifier_completion_routine_forgets_pending,
               DRIVER_VERIFIER_IOMANAGER_VIOLATION)
{
    MmVerifierFlags |= VERIFIER_IO_CHECKING;
    KT_ASSERT(KtIrpSetup() != NULL);
    PDEVICE_OBJECT Lower = KtCreateDevice(KtPend, 0);
    KT_ASSERT(Lower != NULL);
    PDEVICE_OBJECT Upper = KtAttach(KtPassRoutine, Lower);
    KT_ASSERT(Upper != NULL);
    KtDev(Upper)->ForgetsPending = TRUE;
    PIRP Irp = KtNewIrp(Upper, IRP_MJ_READ, TRUE, TRUE, TRUE);
    KT_ASSERT(Irp != NULL);
    KT_ASSERT_STATUS(IoCallDriver(Upper, Irp), STATUS_PENDING);
    KT_ASSERT(KtDev(Lower)->Pending == Irp);
    KtDev(Lower)->Pending = NULL;
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

/* Send a new read to a device of the test driver in Mode (Dev->Status
 * STATUS_SUCCESS) and return the status IoCallDriver gave; *Out: the IRP,
 * which the originator's routine keeps (the caller frees it). */
static NTSTATUS KtSendToMode(ULONG Mode, PIRP *Out)
{
    PDEVICE_OBJECT Device = KtCreateDevice(Mode, 0);
    *Out = NULL;
    if (Device == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    KtDev(Device)->Status = STATUS_SUCCESS;
    PIRP Irp = KtNewIrp(Device, IRP_MJ_READ, TRUE, TRUE, TRUE);
    if (Irp == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    *Out = Irp;
    return IoCallDriver(Device, Irp);
}

static void KtRestoreContinueOnError(PVOID Unused)
{
    (void)Unused;
    IopVerifyContinueOnError = FALSE;
}

/* The dispatch-routine rules of io/vfirp.c, each broken once with the
 * errors reported instead of stopping: exactly one error each, with NT's
 * code, and none for the correct pend and the correct completion. */
KTEST(irp, io_verification_names_each_dispatch_mistake)
{
    static const struct {
        ULONG Mode;
        NTSTATUS Returned;
        ULONG Error; /* 0: a correct driver */
    } Cases[] = {
        {KtPendUnmarked, STATUS_PENDING, IOP_VERIFY_PENDING_NOT_MARKED},
        {KtMarkComplete, STATUS_SUCCESS, IOP_VERIFY_MARKED_NOT_PENDING},
        {KtLose, STATUS_SUCCESS, IOP_VERIFY_IRP_LOST},
        {KtPend, STATUS_PENDING, 0},
        {KtComplete, STATUS_SUCCESS, 0},
    };
    KtDefer(KtRestoreVerifierFlags, (PVOID)(ULONG_PTR)MmVerifierFlags);
    MmVerifierFlags |= VERIFIER_IO_CHECKING;
    PKT_DEFERRED Unload = KtIrpSetup();
    KT_ASSERT(Unload != NULL);
    KtDefer(KtRestoreContinueOnError, NULL);
    IopVerifyContinueOnError = TRUE;
    for (ULONG i = 0; i < ARRAYSIZE(Cases); i++) {
        ULONG Before = IopVerifyErrors;
        IopVerifyLastError = 0;
        PIRP Irp;
        KT_EXPECT_STATUS(KtSendToMode(Cases[i].Mode, &Irp), Cases[i].Returned);
        KT_ASSERT(Irp != NULL);
        KT_EXPECT_EQ(IopVerifyErrors - Before, Cases[i].Error != 0 ? 1u : 0u);
        KT_EXPECT_EQ(IopVerifyLastError, Cases[i].Error);
        /* The device still holds the pended and the lost IRP: end them. */
        PDEVICE_OBJECT Device = KtIrpDriver->DeviceObject; /* the newest */
        if (KtDev(Device)->Pending == Irp) {
            KtDev(Device)->Pending = NULL;
            Irp->IoStatus.Status = STATUS_SUCCESS;
            IoCompleteRequest(Irp, IO_NO_INCREMENT);
        }
        KT_EXPECT_EQ(Irp->CurrentLocation, Irp->StackCount + 1); /* back with its originator */
        IoFreeIrp(Irp);
    }
    KtCleanupNow(Unload);
    KT_EXPECT(KtIrpPoolAtBaseline());
}

/* I/O error 0x23D: a dispatch routine returns STATUS_PENDING without
 * IoMarkIrpPending (and without sending the IRP on). */
KTEST_BUGCHECK(irp, verifier_dispatch_pends_without_marking, DRIVER_VERIFIER_IOMANAGER_VIOLATION)
{
    PIRP Irp;
    MmVerifierFlags |= VERIFIER_IO_CHECKING;
    KT_ASSERT(KtIrpSetup() != NULL);
    (void)KtSendToMode(KtPendUnmarked, &Irp);
}

/* I/O error 0x23E: a dispatch routine marks its IRP pending, then
 * completes it and returns STATUS_SUCCESS. */
KTEST_BUGCHECK(irp, verifier_dispatch_marks_but_does_not_pend, DRIVER_VERIFIER_IOMANAGER_VIOLATION)
{
    PIRP Irp;
    MmVerifierFlags |= VERIFIER_IO_CHECKING;
    KT_ASSERT(KtIrpSetup() != NULL);
    (void)KtSendToMode(KtMarkComplete, &Irp);
}

/* I/O error 0x226: a dispatch routine returns STATUS_SUCCESS with its IRP
 * neither completed nor pending: lost. */
KTEST_BUGCHECK(irp, verifier_dispatch_loses_irp, DRIVER_VERIFIER_IOMANAGER_VIOLATION)
{
    PIRP Irp;
    MmVerifierFlags |= VERIFIER_IO_CHECKING;
    KT_ASSERT(KtIrpSetup() != NULL);
    (void)KtSendToMode(KtLose, &Irp);
}

/* IoAllocateMdl with an IRP: the first MDL becomes Irp->MdlAddress, a
 * secondary buffer's is chained after it, a primary one replaces it. */
KTEST(irp, allocate_mdl_attaches_to_the_irp)
{
    static UCHAR Buffer[3 * PAGE_SIZE];
    SIZE_T MdlBytes = KtIrpBytesInUse(IO_MDL_TAG);
    PIRP Irp = IoAllocateIrp(1, FALSE);
    KT_ASSERT(Irp != NULL);
    KT_ASSERT(Irp->MdlAddress == NULL);
    PMDL First = IoAllocateMdl(Buffer, PAGE_SIZE, FALSE, FALSE, Irp);
    KT_ASSERT(First != NULL);
    KT_EXPECT(Irp->MdlAddress == First);
    PMDL Second = IoAllocateMdl(Buffer + PAGE_SIZE, 100, TRUE, FALSE, Irp);
    PMDL Third = IoAllocateMdl(Buffer + 2 * PAGE_SIZE, 200, TRUE, FALSE, Irp);
    KT_ASSERT(Second != NULL && Third != NULL);
    KT_EXPECT(Irp->MdlAddress == First && First->Next == Second && Second->Next == Third &&
              Third->Next == NULL);
    KT_EXPECT_EQ(MmGetMdlByteCount(Third), 200);
    PMDL Replacement = IoAllocateMdl(Buffer, 16, FALSE, FALSE, Irp);
    KT_ASSERT(Replacement != NULL);
    KT_EXPECT(Irp->MdlAddress == Replacement);
    Irp->MdlAddress = NULL;
    IoFreeMdl(Replacement);
    IoFreeMdl(Third);
    IoFreeMdl(Second);
    IoFreeMdl(First);
    IoFreeIrp(Irp);
    KT_EXPECT_EQ(KtIrpBytesInUse(IO_MDL_TAG), MdlBytes);
}
