/*
 * iop.h - private to io/: what the console's input devices share with the
 * console object (io/console.c), and what the I/O manager's files share
 * with each other (the device database lock, the IRP lookaside lists, the
 * built-in drivers).
 */
#ifndef PAGODA_IOP_H
#define PAGODA_IOP_H

#include "io.h"

/* At device IRQL: store C in the console's input ring (dropped when the
 * ring is full) and queue the console's DPC, which wakes readers. */
void IopConsoleInputPush(char C);

/* Covers every driver's device list and every AttachedDevice / AttachedTo
 * link (io/device.c). A spin lock: taken at DISPATCH_LEVEL. */
extern KSPIN_LOCK IopDatabaseLock;

/* The dispatch routine every MajorFunction starts with: complete the IRP
 * with STATUS_INVALID_DEVICE_REQUEST (io/driver.c). */
NTSTATUS IopInvalidDeviceRequest(PDEVICE_OBJECT DeviceObject, PIRP Irp);

/* The Delete procedures of the Driver and Device types (io/driver.c,
 * io/device.c): drop what the object holds. */
void IopDeleteDriver(PVOID Object);
void IopDeleteDevice(PVOID Object);

/*
 * Take a driver from IoCreateDriver away again (tests; loaded drivers go
 * through IoUnloadDriver, io/ldrsys.c): call its DriverUnload, which deletes its devices,
 * then remove its name and drop the I/O manager's reference (the object
 * goes when its devices are gone too). A driver without DriverUnload is
 * refused with STATUS_INVALID_DEVICE_REQUEST. PASSIVE_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS IopUnloadDriver(PDRIVER_OBJECT DriverObject);

/* Put a new driver object on the list of all drivers the `drivers` and
 * `devices` queries walk, and take it off again (io/ldrsys.c). Any IRQL
 * <= DISPATCH_LEVEL; take IopDatabaseLock. */
void IopInsertDriverList(PDRIVER_OBJECT DriverObject);
void IopRemoveDriverList(PDRIVER_OBJECT DriverObject);

/* The loader's lock and module list (io/ldrsys.c). Boot, PASSIVE_LEVEL. */
void IopInitializeLoader(void);

/* Set up the IRP lookaside lists and the cancel spin lock (io/irp.c).
 * Boot, PASSIVE_LEVEL. */
void IopInitializeIrpLookasides(void);

/* Give every IRP parked on the lookaside lists back to the pool, so that
 * IO_IRP_TAG counts only IRPs in use (tests). IRQL <= DISPATCH_LEVEL. */
void IopTrimIrpLookasides(void);

/* Counters of the IRP lookaside lists, for tests and the benchmarks. */
typedef struct _IOP_IRP_LOOKASIDE_INFO {
    ULONG Depth[2];                 /* IRPs parked now: [small], [large] */
    ULONG64 Hits;                   /* allocations served from a list */
    ULONG64 Misses;                 /* allocations that went to the pool */
} IOP_IRP_LOOKASIDE_INFO;
void IopQueryIrpLookasides(IOP_IRP_LOOKASIDE_INFO *Info);

/* The stack sizes the two lookaside lists hold (an IRP of 1 location; of
 * 2..IOP_LARGE_IRP_STACK_LOCATIONS locations), and how many each parks. */
#define IOP_LARGE_IRP_STACK_LOCATIONS 4
#define IOP_IRP_LOOKASIDE_DEPTH       16

/*
 * The end of an IRP built by IoBuildSynchronousFsdRequest or
 * IoBuildDeviceIoControlRequest (io/irpbuild.c), called by
 * IoCompleteRequest when the walk reaches the top: copy buffered output
 * to UserBuffer, free the system buffer, unlock and free the MDLs, store
 * IoStatus in *UserIosb, free the IRP, signal UserEvent.
 * IRQL <= DISPATCH_LEVEL.
 */
void IopCompleteBuiltRequest(PIRP Irp);

/* DriverEntry of the built-in null driver (io/drivers/null.c). */
NTSTATUS IopNullDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

#endif /* PAGODA_IOP_H */
