/*
 * iop.h - private to io/: the boot and test entry points of the console
 * and its input drivers (io/drivers/console.c, kbdclass.c, serial.c), and what the I/O manager's files
 * share with each other (the device database lock, the IRP lookaside
 * lists, the buffer helpers, the end of user requests, the built-in
 * drivers).
 */
#ifndef PAGODA_IOP_H
#define PAGODA_IOP_H

#include "io.h"
#include "../include/intrin.h"

/* An error status (severity 3), as ntdef.h's NT_ERROR: warnings (2) still
 * transfer data and count as completed. */
#ifndef NT_ERROR
#define NT_ERROR(Status) ((ULONG)(Status) >> 30 == 3)
#endif

/*
 * The console and its input drivers (io/drivers/console.c, kbdclass.c,
 * serial.c). IopKeyboardConnectInterrupt and IopSerialConnectInterrupt
 * connect the keyboard's ISR (IRQ 1) and COM1's (IRQ 4; the UART is told
 * to interrupt on received data) and print the driver's boot line; boot,
 * once interrupts are on, PASSIVE_LEVEL (IoConsoleConnectInterrupts).
 *
 * For the tests, which cannot press a key: IopKeyboardTestInput hands
 * Count scan codes of set 1 to the keyboard driver as its ISR would (into
 * its scan-code ring, then its DPC), IopSerialTestInput Count received
 * bytes to the serial driver's ring and DPC; IRQL <= DISPATCH_LEVEL.
 * IopConsoleStopInput cancels the reads the console keeps pending on the
 * two devices and waits until they are back, so that a test's own reads
 * there are the only ones; IopConsoleRestartInput sends them again.
 * PASSIVE_LEVEL.
 */
NTSTATUS IopKeyboardConnectInterrupt(void);
NTSTATUS IopSerialConnectInterrupt(void);
void IopKeyboardTestInput(const UCHAR *Codes, ULONG Count);
void IopSerialTestInput(const UCHAR *Bytes, ULONG Count);
void IopConsoleStopInput(void);
void IopConsoleRestartInput(void);

/*
 * The cheapest exclusion on this one processor, as the pool's fast paths
 * use it (mm/pool.c): CR8 at HIGH_LEVEL makes the local APIC hold back
 * every interrupt, so no interrupt, DPC, APC or other thread runs until CR8
 * goes back; the interrupts held back arrive then, and the way out of each
 * runs the DPCs and APCs it requested. For a few instructions on data
 * nothing above DISPATCH_LEVEL touches (the IRP lookaside lists, a thread's
 * IrpList). IopRaiseToHigh returns the IRQL to give to IopLowerFromHigh.
 */
static inline KIRQL IopRaiseToHigh(void)
{
    KIRQL Old = KeGetCurrentIrql();
    __asm__ volatile("mov %0, %%cr8" : : "r"((ULONG64)HIGH_LEVEL) : "memory");
    return Old;
}

static inline void IopLowerFromHigh(KIRQL Old)
{
    __asm__ volatile("mov %0, %%cr8" : : "r"((ULONG64)Old) : "memory");
}

/*
 * A "threaded" IRP is on its requesting thread's IrpList while it is in
 * flight: the I/O services' requests (io/iosvc.c) and the IRPs
 * IoBuildSynchronousFsdRequest and IoBuildDeviceIoControlRequest build
 * (io/irpbuild.c), as on NT; `pagoda-thread` in gdb lists them, and a
 * thread that ends cancels them. IopQueueThreadIrp puts Irp on
 * Irp->Tail.Overlay.Thread's list; IopDequeueThreadIrp takes it off and
 * leaves the entry pointing at itself, so taking off twice, or an IRP that
 * was never queued, is harmless (IoFreeIrp calls it only for an IRP still
 * on a list, so a free stays off CR8 otherwise). A user
 * request leaves the list in its completion APC, in its thread; a built
 * IRP wherever it completes, which is safe with CR8 at HIGH_LEVEL on one
 * processor (on several, NT ends these in the thread's APC as well).
 */
void IopQueueThreadIrp(PIRP Irp);
void IopDequeueThreadIrp(PIRP Irp);

/* A driver's queue of IRPs waiting for data, cancel-safe (io/pendq.c says
 * the rules). Lock is the driver's spin lock, held around queue and
 * dequeue. */
typedef struct _IOP_PENDING_QUEUE {
    PKSPIN_LOCK Lock;
    LIST_ENTRY Head; /* through Tail.Overlay.ListEntry, oldest first */
} IOP_PENDING_QUEUE, *PIOP_PENDING_QUEUE;

void IopInitializePendingQueue(PIOP_PENDING_QUEUE Queue, PKSPIN_LOCK Lock);
/* Lock held: Irp pending on the queue with the queue's cancel routine, and
 * STATUS_PENDING; or, for an IRP cancelled already, STATUS_CANCELLED and
 * not queued: the caller completes it so, after releasing the lock. */
NTSTATUS IopQueuePendingIrp(PIOP_PENDING_QUEUE Queue, PIRP Irp);
/* Lock held: the oldest queued IRP that is not being cancelled, off the
 * queue and the caller's to complete; NULL when there is none. */
PIRP IopDequeuePendingIrp(PIOP_PENDING_QUEUE Queue);

static inline BOOLEAN IopPendingQueueEmpty(PIOP_PENDING_QUEUE Queue)
{
    return IsListEmpty(&Queue->Head);
}

/* Run Routine(Context) excluded from the ISR of Interrupt: under the
 * interrupt object's lock at its IRQL (KeSynchronizeExecution), or, before
 * the driver has connected its interrupt (Interrupt NULL), with interrupts
 * disabled. The input drivers' rings (io/drivers/kbdclass.c, serial.c). */
static inline BOOLEAN IopSynchronizeWithIsr(PKINTERRUPT Interrupt, PKSYNCHRONIZE_ROUTINE Routine,
                                            PVOID Context)
{
    if (Interrupt != NULL)
        return KeSynchronizeExecution(Interrupt, Routine, Context);
    ULONG64 Flags = __readeflags();
    _disable();
    BOOLEAN Result = Routine(Context);
    __writeeflags(Flags);
    return Result;
}

/* Complete Irp with Status and Information and return Status: the last
 * lines of every built-in driver's dispatch routine that answers at once. */
static inline NTSTATUS IopCompleteIrp(PIRP Irp, NTSTATUS Status, ULONG_PTR Information,
                                      CCHAR PriorityBoost)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, PriorityBoost);
    return Status;
}

/* Covers every driver's device list and every change of an AttachedDevice
 * / AttachedTo link (io/device.c; IoGetAttachedDevice reads without it).
 * A spin lock: taken at DISPATCH_LEVEL. */
extern KSPIN_LOCK IopDatabaseLock;

/* The dispatch routine every MajorFunction starts with: complete the IRP
 * with STATUS_INVALID_DEVICE_REQUEST (io/driver.c). */
NTSTATUS IopInvalidDeviceRequest(PDEVICE_OBJECT DeviceObject, PIRP Irp);

/* A dispatch routine that completes the IRP with STATUS_SUCCESS and no
 * data, and the driver entries that use it for IRP_MJ_CREATE,
 * IRP_MJ_CLEANUP and IRP_MJ_CLOSE: a device with nothing to do when it is
 * opened or closed (the built-in drivers of io/drivers/). */
NTSTATUS IopDispatchSuccess(PDEVICE_OBJECT DeviceObject, PIRP Irp);
void IopSetOpenCloseDispatch(PDRIVER_OBJECT DriverObject);

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

/*
 * The last unloaded drivers' images (io/ldrsys.c, NT's
 * MmLastUnloadedDrivers). Before the I/O manager calls a driver routine -
 * a dispatch routine (IoCallDriver), a completion routine
 * (IoCompleteRequest), a cancel routine (IoCancelIrp) - IopCheckDriverRoutine
 * makes sure it is not in one: a driver that unloaded with IRPs still
 * queued, a cancel routine still set or a completion routine still
 * pending left code behind that no longer exists, and that is bugcheck
 * DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS (0xCE: the address,
 * 0, Caller - the I/O manager's routine -, 0), the driver named on the
 * console. The test costs one load and branch while no driver has been
 * unloaded. Any IRQL <= DISPATCH_LEVEL.
 */
extern volatile LONG IopUnloadedDriverCount;
void IopCheckUnloadedDriverCall(PVOID Routine, PVOID Caller);
static inline void IopCheckDriverRoutine(PVOID Routine, PVOID Caller)
{
    if (__builtin_expect(IopUnloadedDriverCount != 0, 0))
        IopCheckUnloadedDriverCall(Routine, Caller);
}

/* Put a new driver object on the list of all drivers the `drivers` and
 * `devices` queries walk, and take it off again (io/ldrsys.c). Any IRQL
 * <= DISPATCH_LEVEL; take IopDatabaseLock. */
void IopInsertDriverList(PDRIVER_OBJECT DriverObject);
void IopRemoveDriverList(PDRIVER_OBJECT DriverObject);

/* The loader's lock and module list (io/ldrsys.c). Boot, PASSIVE_LEVEL. */
void IopInitializeLoader(void);

/* Write Status and Information into a user IO_STATUS_BLOCK already checked
 * to be aligned and in user space, recovering from a fault (io/iosvc.c).
 * Returns STATUS_SUCCESS, STATUS_ACCESS_VIOLATION or
 * STATUS_GUARD_PAGE_VIOLATION. IRQL < DISPATCH_LEVEL. */
NTSTATUS IopWriteUserIoStatus(PIO_STATUS_BLOCK UserIosb, const IO_STATUS_BLOCK *IoStatus);

/* I/O verification's IRP tracking (io/vfirp.c): what a dispatch routine
 * did with its IRP, checked when it returns. IoCallDriver keeps the record
 * on its stack around the routine; the completion walk calls
 * IopVerifyLeaveLocation as it leaves each location. Only with
 * VERIFIER_IO_CHECKING. Any IRQL <= DISPATCH_LEVEL. */
#define IOP_VERIFY_IRP_LOST 0x226 /* returned, not pending, not completed */
#define IOP_VERIFY_PENDING_NOT_PASSED_ON 0x228 /* a completion routine forgot the mark */
#define IOP_VERIFY_PENDING_NOT_MARKED 0x23D /* STATUS_PENDING without IoMarkIrpPending */
#define IOP_VERIFY_MARKED_NOT_PENDING 0x23E /* IoMarkIrpPending, then not STATUS_PENDING */
typedef struct _IOP_VERIFY_DISPATCH {
    LIST_ENTRY Link; /* IopVerifyDispatchList */
    PIRP Irp;
    PIO_STACK_LOCATION Location; /* the dispatch routine's location */
    BOOLEAN Completed; /* the completion walk has left Location */
    BOOLEAN MarkedPending; /* then: SL_PENDING_RETURNED was set in it */
    BOOLEAN PassedDown; /* IoCallDriver sent the IRP on meanwhile */
} IOP_VERIFY_DISPATCH;
void IopVerifyDispatchBegin(IOP_VERIFY_DISPATCH *Record, PIRP Irp, PIO_STACK_LOCATION Location);
void IopVerifyDispatchEnd(IOP_VERIFY_DISPATCH *Record, PVOID Dispatch, PDEVICE_OBJECT Device,
                          NTSTATUS Status);
void IopVerifyLeaveLocation(PIRP Irp, PIO_STACK_LOCATION Location);
/* Tests: report these errors (a line, a count) instead of stopping. */
extern BOOLEAN IopVerifyContinueOnError;
extern volatile ULONG IopVerifyErrors;
extern volatile ULONG IopVerifyLastError;

/* Set up the IRP lookaside lists and the cancel spin lock (io/irp.c).
 * Boot, PASSIVE_LEVEL. */
void IopInitializeIrpLookasides(void);

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

/* The buffer helpers of io/irpbuild.c, shared with the services:
 * IopAllocateSystemBuffer gives Irp a nonpaged system buffer of Length
 * bytes (at least one; tag IO_BUFFER_TAG), filled from Source (kernel
 * memory) unless NULL, FALSE when pool is exhausted; IopLockUserBuffer
 * locks Length bytes at Buffer for Operation, probed as Mode, and hangs the
 * MDL on Irp->MdlAddress (nothing for Length 0; the statuses of
 * IoAllocateMdl and MmProbeAndLockPages); IopUnlockIrpMdls unlocks and
 * frees the MDLs; IopReleaseBuffers does that and frees the system buffer.
 * IopOutputLength is how many bytes the requester's output buffer holds
 * (the first location's Read.Length or OutputBufferLength).
 * IRQL <= DISPATCH_LEVEL (locking: PASSIVE_LEVEL). */
BOOLEAN IopAllocateSystemBuffer(PIRP Irp, ULONG Length, const void *Source);
NTSTATUS IopLockUserBuffer(PIRP Irp, PVOID Buffer, ULONG Length, KPROCESSOR_MODE Mode,
                           LOCK_OPERATION Operation);
void IopUnlockIrpMdls(PIRP Irp);
void IopReleaseBuffers(PIRP Irp);
ULONG IopOutputLength(PIRP Irp);

/* The "File" object type (io/file.c). Boot, PASSIVE_LEVEL. */
void IopInitializeFileObjects(void);

/* Open Device for a new file object (io/file.c): IRP_MJ_CREATE sent; on
 * success *FileOut holds its one reference. PASSIVE_LEVEL. */
NTSTATUS IopOpenDevice(PDEVICE_OBJECT Device, ACCESS_MASK Access, ULONG ShareAccess, ULONG Options,
                       PFILE_OBJECT *FileOut);

/* A file opened (IRP_MJ_CREATE succeeded) whose handle could not be
 * inserted: the driver gets IRP_MJ_CLEANUP now, as if its handle had been
 * closed (NT does so too), so that what it took at the create (its share
 * access) goes; the caller then drops the file's reference (IRP_MJ_CLOSE).
 * PASSIVE_LEVEL. */
void IopCleanupUnhandledFile(PFILE_OBJECT File);

/*
 * The end of a user request (io/iocomp.c). IoCompleteRequest calls
 * IopQueueUserCompletion when the walk reaches the top of an IRP whose
 * RequestorMode is UserMode: it unlocks the MDLs and queues the special
 * kernel APC that runs IopCompleteUserRequest in the requesting thread
 * (nothing, when the service finishes the IRP itself: IRP_DEFER_IO_COMPLETION
 * and not pended). IopCompleteUserRequest, in the requesting thread (at
 * APC_LEVEL from the APC, at PASSIVE_LEVEL from the service): copies buffered output to the user buffer, writes the
 * IO_STATUS_BLOCK, signals the event and the file object, queues the user
 * APC routine, takes the IRP off the thread's list and frees it; for a
 * request that failed without pending it writes nothing and signals
 * nothing (the service returns the status).
 */
void IopQueueUserCompletion(PIRP Irp, CCHAR PriorityBoost);
void IopCompleteUserRequest(PIRP Irp);

/* DriverEntry of the built-in drivers (io/drivers/null.c, kbdclass.c,
 * serial.c, console.c, iotest.c). The console's needs the keyboard's and
 * the serial port's devices: it starts after them. */
NTSTATUS IopNullDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
NTSTATUS IopKeyboardClassDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
NTSTATUS IopSerialDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
NTSTATUS IopConsoleDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
NTSTATUS IopTestDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

#endif /* PAGODA_IOP_H */
