/*
 * iomgr.c - the I/O manager's start-up: the Driver, Device and File
 * object types, the \Driver directory that names driver objects, the IRP
 * lookaside lists, and the drivers linked into the kernel (null, keyboard,
 * serial port, console, the I/O test driver).
 *
 * Runs once at boot, at PASSIVE_LEVEL, after the object manager and the
 * System process exist; a failure is PHASE1_INITIALIZATION_FAILED with the
 * step in the first parameter.
 */
#include "iop.h"
#include "../mm/mm.h"

static OBJECT_TYPE IopDriverType;
static OBJECT_TYPE IopDeviceType;
POBJECT_TYPE IoDriverObjectType = &IopDriverType;
POBJECT_TYPE IoDeviceObjectType = &IopDeviceType;

/* The built-in drivers, in the order they start. */
typedef struct _IOP_BUILTIN_DRIVER {
    UNICODE_STRING Name;
    PDRIVER_INITIALIZE DriverEntry;
} IOP_BUILTIN_DRIVER;

static const IOP_BUILTIN_DRIVER IopBuiltinDrivers[] = {
    {RTL_CONSTANT_STRING(u"\\Driver\\Null"), IopNullDriverEntry},
    {RTL_CONSTANT_STRING(u"\\Driver\\kbdclass"), IopKeyboardClassDriverEntry},
    {RTL_CONSTANT_STRING(u"\\Driver\\Serial"), IopSerialDriverEntry},
    {RTL_CONSTANT_STRING(u"\\Driver\\Console"), IopConsoleDriverEntry},
    {RTL_CONSTANT_STRING(u"\\Driver\\IoTest"), IopTestDriverEntry},
};

/* \Driver: a permanent directory, as the object manager's boot tree. */
static NTSTATUS IopCreateDriverDirectory(void)
{
    static const UNICODE_STRING Name = RTL_CONSTANT_STRING(u"\\Driver");
    return ObCreatePermanentDirectory(&Name);
}

void IoInitSystem(void)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);

    KeInitializeSpinLock(&IopDatabaseLock);
    ObInitializeObjectType(IoDriverObjectType, "Driver", IopDeleteDriver);
    ObInitializeObjectType(IoDeviceObjectType, "Device", IopDeleteDevice);
    IopInitializeFileObjects();
    IopInitializeIrpLookasides();
    IopInitializeLoader();

    NTSTATUS Status = IopCreateDriverDirectory();
    if (!NT_SUCCESS(Status))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 1, (ULONG_PTR)Status, 0, 0);
    for (ULONG i = 0; i < ARRAYSIZE(IopBuiltinDrivers); i++) {
        Status = IoCreateDriver(&IopBuiltinDrivers[i].Name, IopBuiltinDrivers[i].DriverEntry);
        if (!NT_SUCCESS(Status))
            KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 2, (ULONG_PTR)Status, i, 0);
    }
}
