/*
 * io.h - the I/O manager's public interface (Io): driver and device
 * objects, device stacks, IRPs and their stack locations, completion and
 * cancellation (io/iomgr.c, io/driver.c, io/device.c, io/irp.c,
 * io/irpbuild.c, io/drivers/null.c; docs/io.md); the allocation of MDLs
 * (io/mdl.c; the rest of MDLs is Mm's: mm/mm.h); the console driver, whose
 * handle every user process inherits; the initial RAM disk the image
 * loader reads programs from; file objects and the I/O services
 * (io/file.c, io/iosvc.c, io/iocomp.c): every user read, write and control
 * is an IRP; interrupt objects for drivers (io/irq.c); and loadable
 * drivers (io/ldr*.c, docs/drivers.md).
 */
#ifndef PAGODA_IO_H
#define PAGODA_IO_H

#include "../kernel/ke.h"
#include "../ob/ob.h"
#include "../mm/mm.h"
#include "../include/ntapi.h"

/* ------------------------------------------------------------------------
 * The console driver (io/drivers/console.c): \Device\Console and \??\CON,
 * a client of the keyboard (io/drivers/kbdclass.c) and serial
 * (io/drivers/serial.c) drivers. Every user process gets two handles on
 * it, to file objects of its own: its input (read) and its output (write).
 * ------------------------------------------------------------------------ */

/* Connect the interrupt service routines of the console's input drivers
 * with IoConnectInterrupt - the PS/2 keyboard's (IRQ 1, IRQL 5;
 * io/drivers/kbdclass.c) and COM1's receive interrupt (IRQ 4, IRQL 4; the
 * UART is told to interrupt; io/drivers/serial.c) - whose DPCs complete
 * the reads the console keeps pending on them. Boot, once interrupts are
 * on, PASSIVE_LEVEL; a failure is reported (serial reads then poll the UART). */
void IoConsoleConnectInterrupts(void);

/* Open \Device\Console twice (two synchronous file objects, IRP_MJ_CREATE
 * sent for each) and insert a handle to each into Table (a new
 * process's): *Input with read access (its StandardInput), *Output with
 * write access (its StandardOutput). Two file objects, so that a thread
 * waiting in a read on the input holds only the input's file lock, and
 * another thread's output goes on. Returns the statuses of the opens and
 * of ObInsertHandle; on failure neither handle is left. PASSIVE_LEVEL. */
NTSTATUS IoInsertConsoleHandles(PHANDLE_TABLE Table, PHANDLE Input, PHANDLE Output);

/* ------------------------------------------------------------------------
 * MDLs (io/mdl.c): the structure, the lock and the mapping are Mm's
 * (mm/mm.h, mm/mdl.c); the I/O manager allocates and frees them.
 * ------------------------------------------------------------------------ */
struct _IRP;

/* Pool tag of MDLs, as NT's: "Mdl ". */
#define IO_MDL_TAG POOL_TAG('M', 'd', 'l', ' ')
/* The largest buffer one MDL can describe: Size is a SHORT. */
#define IO_MDL_MAXIMUM_PAGES ((0x7FFF - sizeof(MDL)) / sizeof(PFN_NUMBER))

/*
 * IoAllocateMdl - allocate an MDL from nonpaged pool for the buffer
 * [VirtualAddress, VirtualAddress + Length) and fill its header
 * (MmInitializeMdl; MDL_ALLOCATED_FIXED_SIZE). Nothing is locked or
 * mapped: MmProbeAndLockPages or MmBuildMdlForNonPagedPool come next.
 * Returns NULL when the pool is short or the buffer spans more than
 * IO_MDL_MAXIMUM_PAGES pages. ChargeQuota is ignored (no quotas).
 * With an Irp, the MDL is attached to it, as NT does: it becomes
 * Irp->MdlAddress (replacing what was there), or with SecondaryBuffer it
 * is linked at the end of the chain that starts there (MDL.Next), which
 * the I/O manager unlocks and frees with the IRP when it built it.
 * IRQL <= DISPATCH_LEVEL. The caller frees an MDL it owns with IoFreeMdl.
 */
PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
                   BOOLEAN ChargeQuota, struct _IRP *Irp);

/* Free an MDL from IoAllocateMdl, which must be unlocked and unmapped
 * (MmUnlockPages, MmUnmapLockedPages) - freeing a locked one would leak
 * the lock (asserted); a partial MDL's own view is unmapped here
 * (MmPrepareMdlForReuse). IRQL <= DISPATCH_LEVEL. */
void IoFreeMdl(PMDL Mdl);

/*
 * IoBuildPartialMdl - make TargetMdl (from IoAllocateMdl, big enough for
 * the part) describe [VirtualAddress, VirtualAddress + Length) of the
 * buffer SourceMdl describes (Length 0: to its end): its PFN array gets
 * the part's frames from SourceMdl's, its flags MDL_PARTIAL and the
 * source's MDL_SOURCE_IS_NONPAGED_POOL, MDL_WRITE_OPERATION and
 * MDL_IO_SPACE. Nothing is locked: SourceMdl (locked, or built for
 * nonpaged pool) must stay so while the part is used.
 * MmGetSystemAddressForMdlSafe gives the part a view of its own
 * (MDL_PARTIAL_HAS_BEEN_MAPPED), which MmPrepareMdlForReuse (before
 * building TargetMdl again) or IoFreeMdl unmaps. A part outside the
 * source, or a TargetMdl too small for it, is a driver bug (asserted).
 * IRQL <= DISPATCH_LEVEL.
 */
void IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress, ULONG Length);

/* ------------------------------------------------------------------------
 * The initial RAM disk (io/initrd.c)
 * ------------------------------------------------------------------------ */

/* Map the first multiboot2 module (the initrd) read-only and no-execute in
 * system space. Boot, PASSIVE_LEVEL; reports a mapping failure and goes on. */
void IoInitializeInitrd(void);

/* TRUE when GRUB loaded an initrd and it is mapped. */
BOOLEAN IoIsInitrdPresent(void);

/* Find the file Path ("/bin/sh" or "bin/sh") in the initrd: *Data points
 * into the mapping (read-only, never freed), *Size is its length.
 * STATUS_OBJECT_NAME_NOT_FOUND when it is not there, STATUS_NO_SUCH_FILE
 * when there is no initrd. Any IRQL <=
 * DISPATCH_LEVEL (the mapping is nonpaged). */
NTSTATUS IoFindInitrdFile(const char *Path, const UCHAR **Data, SIZE_T *Size);

/* ------------------------------------------------------------------------
 * The I/O manager proper: driver objects, device objects, IRPs.
 *
 *   DRIVER_OBJECT  \Driver\Null             DEVICE_OBJECT  \Device\Null
 *   +------------------------+   DeviceObject   +-------------------------+
 *   | MajorFunction[0..0x1B] |----------------->| DriverObject (ref)      |
 *   |   [IRP_MJ_READ] = ...  |<-----------------| NextDevice (the driver's|
 *   | DriverUnload, StartIo  |                  |   other devices)        |
 *   | DriverExtension        |                  | AttachedDevice (above)  |
 *   +------------------------+                  | DeviceExtension, Flags  |
 *                                               | StackSize               |
 *                                               +-------------------------+
 *
 * Both are objects of the object manager (types "Driver" and "Device"),
 * named in \Driver and \Device. An IRP is one pool block: the IRP header,
 * then StackCount IO_STACK_LOCATIONs, one per driver the request goes
 * through (docs/io.md draws it).
 *
 * Locking and IRQL: IopDatabaseLock (a spin lock, io/device.c) covers each
 * driver's device list and every change of an AttachedDevice / AttachedTo
 * link (IoGetAttachedDevice reads them without it, as NT's); the
 * cancel spin lock (IoAcquireCancelSpinLock) covers CancelRoutine handoffs;
 * an IRP belongs to whichever driver holds it and needs no lock. Creating
 * and deleting drivers, devices and links is PASSIVE_LEVEL; IRPs move at
 * IRQL <= DISPATCH_LEVEL.
 * ------------------------------------------------------------------------ */

/* Types of the I/O manager's structures (their Type field, NT's values). */
#define IO_TYPE_DEVICE      3
#define IO_TYPE_DRIVER      4
#define IO_TYPE_FILE        5
#define IO_TYPE_IRP         6

/* Pool tags: IRPs ("Irp "), the buffers of buffered I/O ("IoBf"). Driver
 * and device objects carry their object types' tags ("Driv", "Devi"). */
#define IO_IRP_TAG          POOL_TAG('I', 'r', 'p', ' ')
#define IO_BUFFER_TAG       POOL_TAG('I', 'o', 'B', 'f')

/* Major function codes (wdm.h values). */
#define IRP_MJ_CREATE                   0x00
#define IRP_MJ_CREATE_NAMED_PIPE        0x01
#define IRP_MJ_CLOSE                    0x02
#define IRP_MJ_READ                     0x03
#define IRP_MJ_WRITE                    0x04
#define IRP_MJ_QUERY_INFORMATION        0x05
#define IRP_MJ_SET_INFORMATION          0x06
#define IRP_MJ_QUERY_EA                 0x07
#define IRP_MJ_SET_EA                   0x08
#define IRP_MJ_FLUSH_BUFFERS            0x09
#define IRP_MJ_QUERY_VOLUME_INFORMATION 0x0A
#define IRP_MJ_SET_VOLUME_INFORMATION   0x0B
#define IRP_MJ_DIRECTORY_CONTROL        0x0C
#define IRP_MJ_FILE_SYSTEM_CONTROL      0x0D
#define IRP_MJ_DEVICE_CONTROL           0x0E
#define IRP_MJ_INTERNAL_DEVICE_CONTROL  0x0F
#define IRP_MJ_SHUTDOWN                 0x10
#define IRP_MJ_LOCK_CONTROL             0x11
#define IRP_MJ_CLEANUP                  0x12
#define IRP_MJ_CREATE_MAILSLOT          0x13
#define IRP_MJ_QUERY_SECURITY           0x14
#define IRP_MJ_SET_SECURITY             0x15
#define IRP_MJ_POWER                    0x16
#define IRP_MJ_SYSTEM_CONTROL           0x17
#define IRP_MJ_DEVICE_CHANGE            0x18
#define IRP_MJ_QUERY_QUOTA              0x19
#define IRP_MJ_SET_QUOTA                0x1A
#define IRP_MJ_PNP                      0x1B
#define IRP_MJ_MAXIMUM_FUNCTION         0x1B

/* I/O control codes: CTL_CODE and the METHOD_* values are in include/ntapi.h. */

/* Device types (devioctl.h values) and DEVICE_OBJECT.Flags. */
#define FILE_DEVICE_CONSOLE 0x00000050
#define FILE_DEVICE_KEYBOARD 0x0000000B
#define FILE_DEVICE_SERIAL_PORT 0x0000001B
#define FILE_DEVICE_NULL    0x00000015
#define FILE_DEVICE_UNKNOWN 0x00000022
#define DO_BUFFERED_IO          0x00000004 /* the I/O manager copies through SystemBuffer */
#define DO_EXCLUSIVE \
    0x00000008 /* one open at a time: a second NtCreateFile is
                                            * STATUS_ACCESS_DENIED */
#define DO_DIRECT_IO            0x00000010 /* the I/O manager locks the caller's pages (MDL) */
#define DO_DEVICE_INITIALIZING  0x00000080 /* cleared by the driver when it is ready */

/* IO_STACK_LOCATION.Control */
#define SL_PENDING_RETURNED     0x01
#define SL_ERROR_RETURNED       0x02
#define SL_INVOKE_ON_CANCEL     0x20
#define SL_INVOKE_ON_SUCCESS    0x40
#define SL_INVOKE_ON_ERROR      0x80

/* IRP.Flags (wdm.h values). */
#define IRP_NOCACHE 0x00000001 /* paging I/O: straight to the device, no cache */
#define IRP_PAGING_IO 0x00000002 /* the memory manager's own read or write (mm/pagefile.c) */
#define IRP_SYNCHRONOUS_API 0x00000004 /* a synchronous handle's request: the service waits */
#define IRP_BUFFERED_IO         0x00000010 /* AssociatedIrp.SystemBuffer is the I/O manager's copy */
#define IRP_DEALLOCATE_BUFFER   0x00000020 /* free SystemBuffer at completion */
#define IRP_INPUT_OPERATION     0x00000040 /* copy SystemBuffer out to UserBuffer at completion */
#define IRP_READ_OPERATION      0x00000100
#define IRP_WRITE_OPERATION     0x00000200
#define IRP_DEFER_IO_COMPLETION 0x00000800 /* not pended: the service finishes it, no APC */

/* IRP.AllocationFlags */
#define IRP_ALLOCATED_FIXED_SIZE 0x04      /* the block is one of the lookaside sizes */
#define IRP_LOOKASIDE_ALLOCATION 0x08      /* ... and goes back to its lookaside list */

/* Priority boosts for IoCompleteRequest (accepted; the waiter's boost is
 * not applied yet). */
#define IO_NO_INCREMENT         0

typedef ULONG DEVICE_TYPE;
typedef CHAR CCHAR;

/* IO_STATUS_BLOCK, PIO_APC_ROUTINE, the FILE_* access rights and options
 * come from include/ntapi.h, which user mode shares. */

typedef struct _DRIVER_OBJECT DRIVER_OBJECT, *PDRIVER_OBJECT;
typedef struct _DEVICE_OBJECT DEVICE_OBJECT, *PDEVICE_OBJECT;
typedef struct _IRP IRP, *PIRP;
typedef struct _FILE_OBJECT FILE_OBJECT, *PFILE_OBJECT;

typedef NTSTATUS (*PDRIVER_INITIALIZE)(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
typedef NTSTATUS (*PDRIVER_DISPATCH)(PDEVICE_OBJECT DeviceObject, PIRP Irp);
typedef NTSTATUS (*PDRIVER_ADD_DEVICE)(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Pdo);
typedef void (*PDRIVER_STARTIO)(PDEVICE_OBJECT DeviceObject, PIRP Irp);
typedef void (*PDRIVER_UNLOAD)(PDRIVER_OBJECT DriverObject);
typedef void (*PDRIVER_CANCEL)(PDEVICE_OBJECT DeviceObject, PIRP Irp);
typedef NTSTATUS (*PIO_COMPLETION_ROUTINE)(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context);

/*
 * Fast I/O (NT's FAST_IO_DISPATCH, the three entries the services use): a
 * driver that can serve a synchronous request at once, in the caller's
 * thread, without an IRP, says so here. The I/O manager calls the routine
 * of the top device's driver for a synchronous handle (FO_SYNCHRONOUS_IO)
 * with no event and no APC routine; TRUE means done, the result in
 * *IoStatus (written to the caller's IO_STATUS_BLOCK, whatever it is);
 * FALSE means "send an IRP". Buffer, InputBuffer and OutputBuffer are the
 * caller's user pointers, probed for range only: the routine copies with
 * MmCopyFromUser / MmCopyToUser. PASSIVE_LEVEL, the file lock held.
 */
typedef BOOLEAN (*PFAST_IO_READ)(PFILE_OBJECT FileObject, PLARGE_INTEGER FileOffset, ULONG Length,
                                 BOOLEAN Wait, ULONG LockKey, PVOID Buffer,
                                 PIO_STATUS_BLOCK IoStatus, PDEVICE_OBJECT DeviceObject);
typedef PFAST_IO_READ PFAST_IO_WRITE; /* the same arguments, Buffer read */
typedef BOOLEAN (*PFAST_IO_DEVICE_CONTROL)(PFILE_OBJECT FileObject, BOOLEAN Wait, PVOID InputBuffer,
                                           ULONG InputBufferLength, PVOID OutputBuffer,
                                           ULONG OutputBufferLength, ULONG IoControlCode,
                                           PIO_STATUS_BLOCK IoStatus, PDEVICE_OBJECT DeviceObject);
typedef struct _FAST_IO_DISPATCH {
    ULONG SizeOfFastIoDispatch;
    PFAST_IO_READ FastIoRead;
    PFAST_IO_WRITE FastIoWrite;
    PFAST_IO_DEVICE_CONTROL FastIoDeviceControl;
} FAST_IO_DISPATCH, *PFAST_IO_DISPATCH;

typedef struct _DRIVER_EXTENSION {
    PDRIVER_OBJECT DriverObject;
    PDRIVER_ADD_DEVICE AddDevice;   /* Plug and Play: not called yet */
    ULONG Count;                    /* times DriverEntry ran */
    UNICODE_STRING ServiceKeyName;  /* "Null" for \Driver\Null */
    LIST_ENTRY DriverListEntry; /* IopDatabaseLock: in every driver's list (io/ldrsys.c) */
} DRIVER_EXTENSION, *PDRIVER_EXTENSION;

struct _DRIVER_OBJECT {
    SHORT Type;                     /* IO_TYPE_DRIVER */
    SHORT Size;
    PDEVICE_OBJECT DeviceObject;    /* IopDatabaseLock: the driver's devices, newest first */
    ULONG Flags;
    PDRIVER_EXTENSION DriverExtension; /* in the same block, after the object */
    UNICODE_STRING DriverName;      /* "\Driver\Null"; characters in the same block */
    PFAST_IO_DISPATCH FastIoDispatch; /* NULL: every request is an IRP */
    PDRIVER_INITIALIZE DriverInit;  /* its DriverEntry */
    PDRIVER_STARTIO DriverStartIo;  /* NULL: the driver queues its own IRPs */
    PDRIVER_UNLOAD DriverUnload;    /* NULL: it cannot be unloaded */
    PDRIVER_DISPATCH MajorFunction[IRP_MJ_MAXIMUM_FUNCTION + 1];
};

/* The I/O manager's private part of a device (NT's DEVOBJ_EXTENSION). */
typedef struct _DEVOBJ_EXTENSION {
    SHORT Type;                     /* IO_TYPE_DEVICE */
    USHORT Size;
    PDEVICE_OBJECT DeviceObject;
    PDEVICE_OBJECT AttachedTo;      /* IopDatabaseLock: the device below (holds a reference) */
} DEVOBJ_EXTENSION, *PDEVOBJ_EXTENSION;

struct _DEVICE_OBJECT {
    SHORT Type;                     /* IO_TYPE_DEVICE */
    USHORT Size;                    /* the object and its extensions */
    LONG ReferenceCount; /* file objects open on it (atomic) */
    PDRIVER_OBJECT DriverObject;    /* holds a reference on the driver */
    PDEVICE_OBJECT NextDevice;      /* IopDatabaseLock: the driver's next device */
    PDEVICE_OBJECT AttachedDevice;  /* IopDatabaseLock: the device above, or NULL */
    PIRP CurrentIrp;                /* for StartIo drivers */
    ULONG Flags;                    /* DO_* */
    ULONG Characteristics;          /* FILE_DEVICE_SECURE_OPEN, ... (recorded) */
    PVOID DeviceExtension;          /* DeviceExtensionSize bytes, zeroed, the driver's */
    DEVICE_TYPE DeviceType;         /* FILE_DEVICE_* */
    CCHAR StackSize;                /* stack locations an IRP to this device needs */
    ULONG AlignmentRequirement;
    PDEVOBJ_EXTENSION DeviceObjectExtension;
    KDPC Dpc; /* the DpcForIsr (IoInitializeDpcRequest) */
};

/* What IRP_MJ_CREATE carries about the opener (wdm.h's IO_SECURITY_CONTEXT;
 * there are no security descriptors: AccessState and SecurityQos are NULL). */
typedef struct _IO_SECURITY_CONTEXT {
    PVOID SecurityQos;
    PVOID AccessState;
    ACCESS_MASK DesiredAccess; /* generic rights mapped, SYNCHRONIZE added */
    ULONG FullCreateOptions;
} IO_SECURITY_CONTEXT, *PIO_SECURITY_CONTEXT;

/* One driver's part of an IRP: what it is asked to do and how to tell the
 * driver above that it is done. */
typedef struct _IO_STACK_LOCATION {
    UCHAR MajorFunction;            /* IRP_MJ_* */
    UCHAR MinorFunction;
    UCHAR Flags;
    UCHAR Control;                  /* SL_* */
    union {
        struct {
            PIO_SECURITY_CONTEXT SecurityContext; /* DesiredAccess: what the opener asked */
            ULONG Options; /* CreateOptions, disposition in the top byte */
            USHORT FileAttributes;
            USHORT ShareAccess; /* FILE_SHARE_*: for IoCheckShareAccess */
            ULONG EaLength;
        } Create;
        struct {
            ULONG Length;
            ULONG Key;
            LARGE_INTEGER ByteOffset;
        } Read;
        struct {
            ULONG Length;
            ULONG Key;
            LARGE_INTEGER ByteOffset;
        } Write;
        struct {
            ULONG OutputBufferLength;
            ULONG InputBufferLength;
            ULONG IoControlCode;
            PVOID Type3InputBuffer; /* METHOD_NEITHER: the caller's input */
        } DeviceIoControl;
        struct {
            PVOID Argument1, Argument2, Argument3, Argument4;
        } Others;
    } Parameters;
    PDEVICE_OBJECT DeviceObject;    /* the device this location was sent to */
    PFILE_OBJECT FileObject;
    PIO_COMPLETION_ROUTINE CompletionRoutine; /* set by the driver above */
    PVOID Context;                  /* its argument */
} IO_STACK_LOCATION, *PIO_STACK_LOCATION;

struct _IRP {
    SHORT Type;                     /* IO_TYPE_IRP */
    USHORT Size;                    /* the IRP and its stack locations */
    PMDL MdlAddress;                /* DO_DIRECT_IO: the caller's locked pages (mm/mm.h) */
    ULONG Flags;                    /* IRP_* */
    union {
        PVOID SystemBuffer;         /* DO_BUFFERED_IO: the I/O manager's copy */
    } AssociatedIrp;
    IO_STATUS_BLOCK IoStatus;       /* the result, set by whoever completes */
    KPROCESSOR_MODE RequestorMode;
    BOOLEAN PendingReturned;        /* during completion: the location just left pended */
    CHAR StackCount;                /* locations after the header */
    CHAR CurrentLocation;           /* StackCount + 1 before the first IoCallDriver */
    BOOLEAN Cancel;                 /* cancel spin lock: IoCancelIrp was called */
    KIRQL CancelIrql;               /* the IRQL to give back when a cancel routine runs */
    UCHAR AllocationFlags;          /* IRP_ALLOCATED_FIXED_SIZE, IRP_LOOKASIDE_ALLOCATION */
    PIO_STATUS_BLOCK UserIosb;      /* where IoStatus goes at the end, or NULL */
    PKEVENT UserEvent;              /* signalled at the end, or NULL */
    PDRIVER_CANCEL CancelRoutine;   /* cancel spin lock (IoSetCancelRoutine) */
    PVOID UserBuffer;               /* the requester's buffer */
    LIST_ENTRY ThreadListEntry; /* in the requester's ETHREAD.IrpList (threaded IRPs, io/iop.h) */
    union {
        struct {
            PIO_APC_ROUTINE UserApcRoutine; /* queued as a user APC at the end, or NULL */
            PVOID UserApcContext;
        } AsynchronousParameters;
    } Overlay;
    struct {
        struct {
            PVOID DriverContext[4]; /* the driver holding the IRP may use these */
            struct _ETHREAD *Thread; /* the requesting thread; NULL: a driver's own IRP */
            LIST_ENTRY ListEntry;   /* the driver holding the IRP may queue it here */
            PIO_STACK_LOCATION CurrentStackLocation;
            PFILE_OBJECT OriginalFileObject; /* a user request's file (referenced) */
        } Overlay;
        /* The completion APC of a user request (io/iocomp.c). NOTE: NT
         * overlays it on Overlay, a union; here it has room of its own. */
        KAPC Apc;
    } Tail;
};

/* ------------------------------------------------------------------------
 * File objects (io/file.c): one per open of a device. The handle a
 * program gets from NtCreateFile names one; every IRP of its requests
 * carries it in its stack locations and in Tail.Overlay.OriginalFileObject.
 * ------------------------------------------------------------------------ */

/* FILE_OBJECT.Flags (wdm.h values). */
#define FO_FILE_OPEN 0x00000001
#define FO_SYNCHRONOUS_IO 0x00000002 /* FILE_SYNCHRONOUS_IO_*: the services wait */
#define FO_ALERTABLE_IO 0x00000004 /* FILE_SYNCHRONOUS_IO_ALERT: ... alertably */
#define FO_CLEANUP_COMPLETE 0x00004000 /* IRP_MJ_CLEANUP was sent (the last handle closed) */
#define FO_HANDLE_CREATED 0x00040000

struct _FILE_OBJECT {
    SHORT Type; /* IO_TYPE_FILE */
    SHORT Size;
    PDEVICE_OBJECT DeviceObject; /* the device opened (referenced); IRPs go to the
                                     * top of its stack. Creation */
    PVOID FsContext; /* the driver's, per open */
    PVOID FsContext2;
    BOOLEAN ReadAccess; /* the data access the open asked for: set at the open, */
    BOOLEAN WriteAccess; /* and again by IoCheckShareAccess / IoSetShareAccess */
    BOOLEAN DeleteAccess;
    BOOLEAN SharedRead; /* ShareAccess at the open, the same way */
    BOOLEAN SharedWrite;
    BOOLEAN SharedDelete;
    ULONG Flags; /* FO_*. Creation, FO_CLEANUP_COMPLETE at the last close */
    LARGE_INTEGER CurrentByteOffset; /* synchronous handles: where the next transfer is
                                     * (the file lock) */
    volatile LONG Busy; /* synchronous handles: 1 while a service holds the
                                     * file lock (atomic exchange) */
    volatile LONG Waiters; /* services waiting for it (atomic) */
    KEVENT Lock; /* synchronization event the waiters wait on */
    KEVENT Event; /* notification event: signalled when a request on
                                     * this file ends */
    NTSTATUS FinalStatus; /* the status of the last request that ended */
};

extern POBJECT_TYPE IoFileObjectType; /* "File" */

/*
 * Share access (io/share.c; NT's): a driver that enforces FILE_SHARE_*
 * keeps one SHARE_ACCESS per device and, under a lock of its own, calls
 * IoCheckShareAccess at IRP_MJ_CREATE and IoRemoveShareAccess at
 * IRP_MJ_CLEANUP. The I/O manager itself checks nothing (only DO_EXCLUSIVE).
 */
typedef struct _SHARE_ACCESS {
    ULONG OpenCount; /* opens that asked for read, write or delete */
    ULONG Readers;
    ULONG Writers;
    ULONG Deleters;
    ULONG SharedRead; /* opens that let others read */
    ULONG SharedWrite;
    ULONG SharedDelete;
} SHARE_ACCESS, *PSHARE_ACCESS;

/*
 * Record in FileObject what an open with DesiredAccess (FILE_READ_DATA /
 * FILE_EXECUTE, FILE_WRITE_DATA / FILE_APPEND_DATA, DELETE) and
 * DesiredShareAccess (FILE_SHARE_*) asks for, and check it against the
 * opens ShareAccess counts: STATUS_SHARING_VIOLATION when it wants an
 * access one of them does not share, or does not share one they have;
 * otherwise STATUS_SUCCESS, and with Update the open is counted. An open
 * asking for none of the three always succeeds and is not counted.
 * IoSetShareAccess counts the first open of a fresh SHARE_ACCESS without a
 * check; IoUpdateShareAccess counts an open checked before without Update;
 * IoRemoveShareAccess takes FileObject's open out (at IRP_MJ_CLEANUP).
 * The caller serializes calls on one SHARE_ACCESS. IRQL <= DISPATCH_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS IoCheckShareAccess(ACCESS_MASK DesiredAccess, ULONG DesiredShareAccess,
                                                PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess,
                                                BOOLEAN Update);
void IoSetShareAccess(ACCESS_MASK DesiredAccess, ULONG DesiredShareAccess, PFILE_OBJECT FileObject,
                      PSHARE_ACCESS ShareAccess);
void IoUpdateShareAccess(PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess);
void IoRemoveShareAccess(PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess);

/* ------------------------------------------------------------------------
 * Start-up, drivers, devices (io/iomgr.c, io/driver.c, io/device.c)
 * ------------------------------------------------------------------------ */

extern POBJECT_TYPE IoDriverObjectType;     /* "Driver" */
extern POBJECT_TYPE IoDeviceObjectType;     /* "Device" */

/*
 * Initialize the I/O manager at boot: the Driver and Device types, the
 * \Driver directory, the IRP lookaside lists and the built-in drivers
 * (\Driver\Null with \Device\Null and \??\NUL). After ObInitSystem and
 * PsInitializeSystem. Bugchecks PHASE1_INITIALIZATION_FAILED when any of it
 * fails. PASSIVE_LEVEL.
 */
void IoInitSystem(void);

/*
 * Create the driver object DriverName ("\Driver\X"; kernel memory) for a
 * driver linked into the kernel, with every MajorFunction completing
 * STATUS_INVALID_DEVICE_REQUEST, and call InitializationFunction
 * (its DriverEntry) with the registry path its service would have
 * ("\Registry\Machine\System\CurrentControlSet\Services\X"; there is no
 * registry, the string only names it). The driver lives for ever, unless
 * DriverEntry fails: then its devices must be gone and the object is
 * deleted. Returns DriverEntry's status, STATUS_OBJECT_NAME_INVALID (no
 * "\Driver\" prefix), STATUS_OBJECT_NAME_COLLISION, or
 * STATUS_INSUFFICIENT_RESOURCES. PASSIVE_LEVEL. (NT's IoCreateDriver.)
 */
MUST_INSPECT_RESULT NTSTATUS
IoCreateDriver(PCUNICODE_STRING DriverName, PDRIVER_INITIALIZE InitializationFunction);

/*
 * Create a device object for DriverObject with DeviceExtensionSize bytes
 * of zeroed extension, named DeviceName (under \Device, kernel memory; NULL
 * for an unnamed device), and put it at the head of the driver's device
 * list with StackSize 1 and Flags DO_DEVICE_INITIALIZING (plus
 * DO_EXCLUSIVE when Exclusive), which the driver clears when it is ready.
 * *DeviceObject receives it; the driver deletes it with IoDeleteDevice.
 * Returns STATUS_OBJECT_NAME_COLLISION, STATUS_INSUFFICIENT_RESOURCES and
 * the look-up statuses of ObInsertObject. PASSIVE_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS
IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize, PUNICODE_STRING DeviceName,
               DEVICE_TYPE DeviceType, ULONG DeviceCharacteristics, BOOLEAN Exclusive,
               PDEVICE_OBJECT *DeviceObject);

/*
 * Take DeviceObject off its driver's list and out of the namespace; the
 * object itself goes with its last reference (IRPs in flight and
 * IoGetAttachedDeviceReference callers hold theirs). It must not be
 * attached to or from anything (IoDetachDevice first). PASSIVE_LEVEL.
 */
void IoDeleteDevice(PDEVICE_OBJECT DeviceObject);

/*
 * Create the permanent symbolic link SymbolicLinkName (e.g. "\??\NUL")
 * whose target is DeviceName; IoDeleteSymbolicLink removes it. Returns the
 * statuses of ObCreateSymbolicLink; IoDeleteSymbolicLink returns those of
 * ObReferenceObjectByName. PASSIVE_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS
IoCreateSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName);
NTSTATUS IoDeleteSymbolicLink(PUNICODE_STRING SymbolicLinkName);

/*
 * Attach SourceDevice on top of the stack TargetDevice is in: it goes
 * above the highest device now there, its StackSize becomes that one's
 * plus one, and IRPs sent to the stack's top reach it first. Returns the
 * device it was attached to (referenced by the attachment until
 * IoDetachDevice), or NULL when SourceDevice is already attached.
 * IRQL <= DISPATCH_LEVEL.
 */
PDEVICE_OBJECT IoAttachDeviceToDeviceStack(PDEVICE_OBJECT SourceDevice,
                                           PDEVICE_OBJECT TargetDevice);

/*
 * Undo an attachment: TargetDevice is the device IoAttachDeviceToDeviceStack
 * returned; whatever is attached to it comes off, and the attachment's
 * reference on TargetDevice goes. IRQL <= DISPATCH_LEVEL.
 */
void IoDetachDevice(PDEVICE_OBJECT TargetDevice);

/*
 * The highest device in DeviceObject's stack (DeviceObject itself when
 * nothing is attached). IoGetAttachedDevice takes no lock, as NT's: each
 * link is read once, and the caller must know the stack is not being
 * torn down (a driver detaches only when no request is sent through it);
 * the I/O services use it once per request. IoGetAttachedDeviceReference
 * walks under IopDatabaseLock and takes a reference on the top, which the
 * caller drops with ObDereferenceObject. IRQL <= DISPATCH_LEVEL.
 */
PDEVICE_OBJECT IoGetAttachedDevice(PDEVICE_OBJECT DeviceObject);
PDEVICE_OBJECT IoGetAttachedDeviceReference(PDEVICE_OBJECT DeviceObject);

/* ------------------------------------------------------------------------
 * IRPs (io/irp.c, io/irpbuild.c)
 * ------------------------------------------------------------------------ */

/* Bytes of an IRP with StackSize locations. */
#define IoSizeOfIrp(StackSize) \
    ((USHORT)(sizeof(IRP) + (ULONG)(StackSize) * sizeof(IO_STACK_LOCATION)))

/*
 * Allocate an IRP with StackSize (1..IO_MAXIMUM_STACK_SIZE) stack locations
 * from nonpaged pool, through a lookaside list for the common sizes, and
 * initialize it (IoInitializeIrp). No thread owns it: the caller frees it
 * with IoFreeIrp, usually from its completion routine. Returns NULL when
 * pool is exhausted or StackSize is out of range. ChargeQuota is accepted
 * (there are no quotas). IRQL <= DISPATCH_LEVEL.
 */
#define IO_MAXIMUM_STACK_SIZE 32
PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota);

/*
 * Zero Irp (PacketSize bytes, from IoSizeOfIrp(StackSize)) and set it up
 * for StackSize locations: no location current yet (CurrentLocation is
 * StackSize + 1), IoGetNextIrpStackLocation is the last one. Any IRQL.
 */
void IoInitializeIrp(PIRP Irp, USHORT PacketSize, CCHAR StackSize);

/*
 * Free an IRP from IoAllocateIrp (to its lookaside list or the pool).
 * A block that is not an IRP is bugcheck
 * DRIVER_VERIFIER_IOMANAGER_VIOLATION (1, Irp). IRQL <= DISPATCH_LEVEL.
 */
void IoFreeIrp(PIRP Irp);

/* Give every IRP parked on the lookaside lists back to the pool, so that
 * IO_IRP_TAG counts only IRPs in use: for tests, and for Driver Verifier's
 * leak check when init ends (kernel/init.c). IRQL <= DISPATCH_LEVEL. */
void IoTrimIrpLookasides(void);

static inline PIO_STACK_LOCATION IoGetCurrentIrpStackLocation(PIRP Irp)
{
    return Irp->Tail.Overlay.CurrentStackLocation;
}

/* The location the next lower driver will see: fill it before IoCallDriver. */
static inline PIO_STACK_LOCATION IoGetNextIrpStackLocation(PIRP Irp)
{
    return Irp->Tail.Overlay.CurrentStackLocation - 1;
}

/* Give the lower driver this driver's parameters, without a completion
 * routine (the caller may set one afterwards). */
static inline void IoCopyCurrentIrpStackLocationToNext(PIRP Irp)
{
    PIO_STACK_LOCATION Current = IoGetCurrentIrpStackLocation(Irp);
    PIO_STACK_LOCATION Next = IoGetNextIrpStackLocation(Irp);
    __builtin_memcpy(Next, Current, offsetof(IO_STACK_LOCATION, CompletionRoutine));
    Next->Control = 0;
}

/* Pass the IRP down with this driver's own location: the lower driver
 * sees the same parameters, and this driver gets no completion call. */
static inline void IoSkipCurrentIrpStackLocation(PIRP Irp)
{
    Irp->CurrentLocation++;
    Irp->Tail.Overlay.CurrentStackLocation++;
}

/* Have Routine(DeviceObject of this driver, Irp, Context) called when the
 * lower driver completes the IRP with a success, an error, or after
 * IoCancelIrp, as the three flags say. */
static inline void IoSetCompletionRoutine(PIRP Irp, PIO_COMPLETION_ROUTINE Routine,
                                          PVOID Context, BOOLEAN InvokeOnSuccess,
                                          BOOLEAN InvokeOnError, BOOLEAN InvokeOnCancel)
{
    PIO_STACK_LOCATION Next = IoGetNextIrpStackLocation(Irp);
    Next->CompletionRoutine = Routine;
    Next->Context = Context;
    Next->Control = 0;
    if (InvokeOnSuccess)
        Next->Control |= SL_INVOKE_ON_SUCCESS;
    if (InvokeOnError)
        Next->Control |= SL_INVOKE_ON_ERROR;
    if (InvokeOnCancel)
        Next->Control |= SL_INVOKE_ON_CANCEL;
}

/* Say that this driver's dispatch routine returns STATUS_PENDING: the IRP
 * completes later, perhaps on another thread. */
static inline void IoMarkIrpPending(PIRP Irp)
{
    IoGetCurrentIrpStackLocation(Irp)->Control |= SL_PENDING_RETURNED;
}

/*
 * Send Irp to DeviceObject: its next location becomes current, records
 * DeviceObject, and the driver's MajorFunction routine for that location
 * runs. Returns what the routine returns (STATUS_PENDING: it completes
 * later). An IRP with no location left is bugcheck
 * NO_MORE_IRP_STACK_LOCATIONS (Irp). IRQL <= DISPATCH_LEVEL.
 */
NTSTATUS IoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp);

/*
 * Complete Irp with the status in Irp->IoStatus: walk the stack locations
 * upwards, calling each completion routine whose SL_INVOKE_* flag matches
 * (a routine returning STATUS_MORE_PROCESSING_REQUIRED takes the IRP back
 * and the walk stops); PendingReturned tells each routine whether the
 * driver below pended. At the top, IoStatus goes to *UserIosb, UserEvent
 * is signalled, and an IRP built by IoBuildSynchronousFsdRequest or
 * IoBuildDeviceIoControlRequest is freed (its output copied out first); a
 * driver's own IRP stays with the driver. The caller must not touch Irp
 * afterwards. Bugchecks: MULTIPLE_IRP_COMPLETE_REQUESTS (Irp) for a second
 * completion; DRIVER_VERIFIER_IOMANAGER_VIOLATION (6, status, Irp) for
 * completing with STATUS_PENDING; IRQL_NOT_LESS_OR_EQUAL above
 * DISPATCH_LEVEL. PriorityBoost is accepted. IRQL <= DISPATCH_LEVEL.
 */
void IoCompleteRequest(PIRP Irp, CCHAR PriorityBoost);

/*
 * Build an IRP for IRP_MJ_READ, IRP_MJ_WRITE, IRP_MJ_FLUSH_BUFFERS or
 * IRP_MJ_SHUTDOWN to DeviceObject (the top of its stack), owned by the
 * current thread: Buffer/Length/StartingOffset in the first location; the
 * buffer goes through a pool copy for DO_BUFFERED_IO devices, and is
 * locked and described by Irp->MdlAddress for DO_DIRECT_IO devices. The
 * caller sends it with IoCallDriver and, on STATUS_PENDING, waits for
 * Event (a notification event it initialized); the result is in
 * *IoStatusBlock; completion frees the IRP, the copy and the MDL. Returns
 * NULL when pool is exhausted, for another MajorFunction, or when the
 * buffer cannot be locked. Buffer is kernel memory. PASSIVE_LEVEL.
 */
PIRP IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                                  ULONG Length, PLARGE_INTEGER StartingOffset, PKEVENT Event,
                                  PIO_STATUS_BLOCK IoStatusBlock);

/*
 * Build an IRP_MJ_DEVICE_CONTROL (or, when InternalDeviceIoControl,
 * IRP_MJ_INTERNAL_DEVICE_CONTROL) request, as IoBuildSynchronousFsdRequest
 * does. METHOD_BUFFERED: one pool buffer of the larger length carries the
 * input in and IoStatus.Information bytes of output back;
 * METHOD_IN_DIRECT / METHOD_OUT_DIRECT: the input in a pool copy, the
 * output buffer locked (for reading / for writing) and described by
 * Irp->MdlAddress; METHOD_NEITHER: the pointers as given. Returns NULL
 * when pool is exhausted or the output buffer cannot be locked. Buffers
 * are kernel memory. PASSIVE_LEVEL.
 */
PIRP IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject,
                                   PVOID InputBuffer, ULONG InputBufferLength, PVOID OutputBuffer,
                                   ULONG OutputBufferLength, BOOLEAN InternalDeviceIoControl,
                                   PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock);

/* ------------------------------------------------------------------------
 * Cancellation (io/irp.c)
 * ------------------------------------------------------------------------ */

/* Take the cancel spin lock (raising to DISPATCH_LEVEL; the old IRQL in
 * *Irql) and give it back. IRQL <= DISPATCH_LEVEL. */
void IoAcquireCancelSpinLock(PKIRQL Irql);
void IoReleaseCancelSpinLock(KIRQL Irql);

/* Set Irp's cancel routine (NULL: none) atomically; returns the previous
 * one. A driver that gets NULL back when clearing it lost the race with
 * IoCancelIrp, whose routine now owns the IRP. Any IRQL <= DISPATCH_LEVEL. */
static inline PDRIVER_CANCEL IoSetCancelRoutine(PIRP Irp, PDRIVER_CANCEL CancelRoutine)
{
    return __atomic_exchange_n(&Irp->CancelRoutine, CancelRoutine, __ATOMIC_SEQ_CST);
}

/*
 * Mark Irp cancelled and, when it has a cancel routine, call it (with the
 * cancel spin lock held, which the routine releases with
 * IoReleaseCancelSpinLock(Irp->CancelIrql)) and return TRUE; without one,
 * return FALSE (the holder sees Irp->Cancel when it next looks).
 * IRQL <= DISPATCH_LEVEL.
 */
BOOLEAN IoCancelIrp(PIRP Irp);

/* ------------------------------------------------------------------------
 * File objects and user requests (io/file.c, io/iosvc.c, io/iocomp.c)
 * ------------------------------------------------------------------------ */

/* The device a file object's requests go to: the top of the stack of the
 * device it opened. IRQL <= DISPATCH_LEVEL. */
PDEVICE_OBJECT IoGetRelatedDeviceObject(PFILE_OBJECT FileObject);

/*
 * The current thread Thread is ending: cancel its pending requests (its
 * user requests and the IRPs built for it: IoCancelIrp on each IRP of
 * Thread->IrpList) and wait, in kernel mode,
 * until their ends have run here; a request a driver still holds after a
 * second is cut loose from the thread (reported on the console), and its
 * end later releases only the kernel's part. Called by PsExitCurrentThread.
 * PASSIVE_LEVEL; at DISPATCH_LEVEL (a thread that cannot wait any more)
 * every request is cut loose at once.
 */
void IoCancelThreadIo(struct _ETHREAD *Thread);

/* ------------------------------------------------------------------------
 * Interrupts for drivers (io/irq.c; the objects are the kernel's,
 * kernel/interrupt.c, and the vectors the HAL's: HalGetInterruptVector;
 * docs/interrupts-and-devices.md)
 * ------------------------------------------------------------------------ */

/* Pool tag of the interrupt objects IoConnectInterrupt allocates. */
#define IO_INTERRUPT_TAG POOL_TAG('I', 'n', 't', 'r')

/*
 * Allocate a KINTERRUPT (nonpaged pool), initialize it with these values
 * (KeInitializeInterrupt) and connect it to Vector (KeConnectInterrupt): from
 * now on ServiceRoutine(Interrupt, ServiceContext) runs at SynchronizeIrql
 * holding the object's lock (or *SpinLock, when given) whenever Vector
 * comes in. *InterruptObject receives the object (for KeSynchronizeExecution
 * and IoDisconnectInterrupt). Returns STATUS_SUCCESS;
 * STATUS_INVALID_PARAMETER when ProcessorEnableMask leaves out processor 0
 * or the connection is refused (see KeConnectInterrupt: bad vector or
 * IRQL, or a vector taken by an object that does not share);
 * STATUS_INSUFFICIENT_RESOURCES. PASSIVE_LEVEL.
 */
NTSTATUS IoConnectInterrupt(PKINTERRUPT *InterruptObject, PKSERVICE_ROUTINE ServiceRoutine,
                            PVOID ServiceContext, PKSPIN_LOCK SpinLock, ULONG Vector, KIRQL Irql,
                            KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                            BOOLEAN ShareVector, KAFFINITY ProcessorEnableMask,
                            BOOLEAN FloatingSave);

/* Disconnect and free an object from IoConnectInterrupt; its routine is not
 * running when this returns. PASSIVE_LEVEL. */
void IoDisconnectInterrupt(PKINTERRUPT InterruptObject);

/* A driver's DpcForIsr: queued by its ISR with IoRequestDpc, it runs at
 * DISPATCH_LEVEL with the device and the two values the ISR passed. */
typedef void (*PIO_DPC_ROUTINE)(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context);

/* Set up DeviceObject's DPC (DeviceObject->Dpc) to call DpcRoutine. */
static inline void IoInitializeDpcRequest(PDEVICE_OBJECT DeviceObject, PIO_DPC_ROUTINE DpcRoutine)
{
    KeInitializeDpc(&DeviceObject->Dpc, (PKDEFERRED_ROUTINE)(void *)DpcRoutine, DeviceObject);
}

/* From the ISR: queue DeviceObject's DPC with Irp and Context (once: a
 * request while it is queued already is merged with it, as NT's). Any IRQL. */
static inline void IoRequestDpc(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    KeInsertQueueDpc(&DeviceObject->Dpc, Irp, Context);
}

/* ------------------------------------------------------------------------
 * The disk (io/drivers/ata.c; docs/disk.md)
 * ------------------------------------------------------------------------ */

/* Find the PIIX IDE controller on the PCI bus and a disk on its primary
 * channel (IDENTIFY DEVICE, printed unless quiet), and start \Driver\Atapi
 * with \Device\Harddisk0\DR0 and \??\PhysicalDrive0. Without a disk it says
 * so, once, and the system runs on without one. Boot, after the PCI scan,
 * interrupts on, PASSIVE_LEVEL. */
void IoInitializeDiskDriver(void);

/* Read the master boot record of \Device\Harddisk0\DR0 and start
 * \Driver\PartMgr with \Device\Harddisk0\Partition1..4 for its primary
 * partitions (io/drivers/partition.c) and the link
 * \Device\Harddisk0\Partition0 to the whole disk. Nothing without a
 * disk. Boot, after IoInitializeDiskDriver, PASSIVE_LEVEL. */
void IoInitializePartitionDriver(void);

/* ------------------------------------------------------------------------
 * Loadable drivers (io/ldr.c, io/ldrsys.c, io/ldrexp.c; docs/drivers.md)
 * ------------------------------------------------------------------------ */

/*
 * Load the driver DriverServiceName names (a service name "hello", NT's
 * "\Registry\Machine\System\CurrentControlSet\Services\hello", or an
 * initrd path "/drivers/hello.sys"; kernel memory): map and relocate the
 * initrd's ELF object, resolve its imports against the kernel's export
 * table, create \Driver\hello and call its DriverEntry. Returns
 * DriverEntry's status; STATUS_OBJECT_NAME_INVALID; STATUS_OBJECT_NAME_NOT_FOUND
 * (no such file); STATUS_IMAGE_ALREADY_LOADED; STATUS_INVALID_IMAGE_FORMAT;
 * STATUS_DRIVER_ENTRYPOINT_NOT_FOUND (an import the kernel does not
 * export: the debug output names it); STATUS_INSUFFICIENT_RESOURCES. A
 * failure leaves nothing behind - unless DriverEntry failed with pool
 * still allocated: Driver Verifier's bugcheck, as at unload. PASSIVE_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS IoLoadDriver(PCUNICODE_STRING DriverServiceName);

/*
 * Unload a driver IoLoadDriver loaded. A device of it still open (file
 * objects on it: requests may be pending) refuses the unload with
 * STATUS_DEVICE_BUSY before DriverUnload runs. Otherwise call its
 * DriverUnload (once), then check what it left. Devices still there:
 * STATUS_DEVICE_BUSY, the image
 * stays and a later call checks again without calling DriverUnload (NT
 * defers the unload instead). Pool still allocated through its imports:
 * the tags are printed and it is bugcheck DRIVER_VERIFIER_DETECTED_VIOLATION
 * (0x62, name, blocks, bytes), as Driver Verifier does. Otherwise the
 * driver object and the image go, and the image's addresses are remembered:
 * a later call of the I/O manager into them (a cancel or completion
 * routine of an IRP the driver kept) is bugcheck
 * DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS (0xCE).
 * STATUS_OBJECT_NAME_NOT_FOUND when no
 * such driver was loaded, STATUS_INVALID_DEVICE_REQUEST when it has no
 * DriverUnload. PASSIVE_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS IoUnloadDriver(PCUNICODE_STRING DriverServiceName);

/* When Address is in a loaded driver's image, write "hello.sys!Function+0x1c"
 * (or "hello.sys+0x41c" outside any symbol) into Buffer and return TRUE.
 * For backtraces: any IRQL, no lock (kernel/symbols.c). */
BOOLEAN IoFormatDriverAddress(ULONG_PTR Address, PCHAR Buffer, ULONG Size);

/* The answer of NtQuerySystemInformation's SystemModuleInformation or
 * SystemDeviceInformation (include/ntapi.h) in a nonpaged pool block
 * tagged Tag (*Data, *Size bytes) the caller frees. STATUS_INVALID_INFO_CLASS,
 * STATUS_INSUFFICIENT_RESOURCES. PASSIVE_LEVEL. */
NTSTATUS IoQueryDriverInformation(ULONG Class, ULONG Tag, PVOID *Data, SIZE_T *Size);

#endif /* PAGODA_IO_H */
