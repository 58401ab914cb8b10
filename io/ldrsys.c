/*
 * ldrsys.c - loading and unloading drivers at run time: the module list,
 * IoLoadDriver / IoUnloadDriver and the services NtLoadDriver /
 * NtUnloadDriver, the checks Driver Verifier makes at unload, the images
 * of the last unloaded drivers (calls into them are 0xCE), the list of
 * every driver object (for the `drivers` and `devices` queries), and the
 * backtrace's look-up of addresses inside loaded drivers.
 *
 *   IopLoadedModuleList --> IOP_LDR_MODULE "hello.sys" --> ...
 *                             DllBase: text | rodata | data+bss (io/ldr.c)
 *                             DriverObject --> \Driver\hello
 *                             PoolAllocations --> what it has not freed
 *
 * A load or an unload runs whole under IopLoadMutex (a kernel mutex: the
 * caller stays at PASSIVE_LEVEL, as DriverEntry and DriverUnload need).
 * IopLdrLock (a spin lock) covers the module list's links, so that the
 * queries can walk it; the bugcheck path walks it without a lock. The list
 * of all drivers is covered by IopDatabaseLock.
 */
#include "ldrp.h"
#include "../include/ntapi.h"
#include "../rtl/rtl.h"

#define DRVO_UNLOAD_INVOKED 0x00000001 /* DRIVER_OBJECT.Flags: DriverUnload has run (NT's) */
#define IOP_SERVICES_KEY "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\"
#define IOP_MAX_SERVICE (IOP_LDR_MAX_NAME - 5) /* leaves room for ".sys" */

LIST_ENTRY IopLoadedModuleList;
KSPIN_LOCK IopLdrLock;
static KMUTEX IopLoadMutex;
static LIST_ENTRY IopDriverList; /* IopDatabaseLock: DRIVER_EXTENSION.DriverListEntry */
static ULONG IopLoadCount; /* IopLoadMutex: loads so far, for LoadOrderIndex */

void IopInitializeLoader(void)
{
    InitializeListHead(&IopLoadedModuleList);
    InitializeListHead(&IopDriverList);
    KeInitializeSpinLock(&IopLdrLock);
    KeInitializeMutex(&IopLoadMutex, 0);
}

PLIST_ENTRY IopDriverListHead(void)
{
    return &IopDriverList;
}

void IopInsertDriverList(PDRIVER_OBJECT DriverObject)
{
    KIRQL OldIrql;
    KeAcquireSpinLock(&IopDatabaseLock, &OldIrql);
    InsertTailList(&IopDriverList, &DriverObject->DriverExtension->DriverListEntry);
    KeReleaseSpinLock(&IopDatabaseLock, OldIrql);
}

void IopRemoveDriverList(PDRIVER_OBJECT DriverObject)
{
    KIRQL OldIrql;
    KeAcquireSpinLock(&IopDatabaseLock, &OldIrql);
    RemoveEntryList(&DriverObject->DriverExtension->DriverListEntry);
    KeReleaseSpinLock(&IopDatabaseLock, OldIrql);
}

/* ------------------------------------------------------------------------
 * Names: what NtLoadDriver's string means.
 * ------------------------------------------------------------------------ */

typedef struct _IOP_DRIVER_NAME {
    char Service[IOP_LDR_MAX_NAME]; /* "hello" */
    char Path[IOP_LDR_MAX_NAME + 16]; /* "drivers/hello.sys" */
    char Module[IOP_LDR_MAX_NAME]; /* "hello.sys" */
} IOP_DRIVER_NAME;

/* "hello", "\Registry\...\Services\hello" or "/drivers/hello.sys" (any
 * directory). Printable ASCII, no backslash in the service name. */
static NTSTATUS IopParseDriverName(PCUNICODE_STRING String, IOP_DRIVER_NAME *Name)
{
    char Text[sizeof(IOP_SERVICES_KEY) + IOP_LDR_MAX_NAME + 16];
    ULONG Chars = String->Length / sizeof(WCHAR);
    if (String->Buffer == NULL || Chars == 0 || Chars >= sizeof(Text) || (String->Length & 1))
        return STATUS_OBJECT_NAME_INVALID;
    for (ULONG i = 0; i < Chars; i++) {
        if (String->Buffer[i] < 0x21 || String->Buffer[i] > 0x7E)
            return STATUS_OBJECT_NAME_INVALID;
        Text[i] = (char)String->Buffer[i];
    }
    Text[Chars] = 0;

    const char *Service = Text;
    SIZE_T KeyLength = sizeof(IOP_SERVICES_KEY) - 1;
    if (Chars > KeyLength && RtlMatchNamePattern(IOP_SERVICES_KEY "*", Text))
        Service = Text + KeyLength;
    const char *Slash = NULL;
    for (const char *C = Service; *C; C++) {
        if (*C == '/')
            Slash = C;
        if (*C == '\\')
            return STATUS_OBJECT_NAME_INVALID;
    }
    if (Slash) {
        /* An initrd path: the service is its last component less ".sys". */
        SIZE_T Length = strlen(Slash + 1);
        if (Length <= 4 || Length - 4 > IOP_MAX_SERVICE ||
            strcmp(Slash + 1 + Length - 4, ".sys") != 0 || strlen(Service) >= sizeof(Name->Path))
            return STATUS_OBJECT_NAME_INVALID;
        RtlStringCopy(Name->Path, Service, sizeof(Name->Path));
        RtlStringCopy(Name->Service, Slash + 1, Length - 4 + 1);
    } else {
        if (strlen(Service) > IOP_MAX_SERVICE)
            return STATUS_OBJECT_NAME_INVALID;
        RtlStringCopy(Name->Service, Service, sizeof(Name->Service));
        RtlFormatBuffer(Name->Path, sizeof(Name->Path), "/drivers/%s.sys", Service);
    }
    RtlFormatBuffer(Name->Module, sizeof(Name->Module), "%s.sys", Name->Service);
    return STATUS_SUCCESS;
}

static PIOP_LDR_MODULE IopFindModule(const char *ModuleName)
{
    for (PLIST_ENTRY E = IopLoadedModuleList.Flink; E != &IopLoadedModuleList; E = E->Flink) {
        PIOP_LDR_MODULE Module = CONTAINING_RECORD(E, IOP_LDR_MODULE, InLoadOrderLinks);
        if (strcmp(Module->BaseDllName, ModuleName) == 0)
            return Module;
    }
    return NULL;
}

static void IopLinkModule(PIOP_LDR_MODULE Module, BOOLEAN Insert)
{
    KIRQL OldIrql;
    KeAcquireSpinLock(&IopLdrLock, &OldIrql);
    if (Insert)
        InsertTailList(&IopLoadedModuleList, &Module->InLoadOrderLinks);
    else
        RemoveEntryList(&Module->InLoadOrderLinks);
    KeReleaseSpinLock(&IopLdrLock, OldIrql);
}

/* ------------------------------------------------------------------------
 * Driver Verifier's checks on what a driver leaves behind.
 * ------------------------------------------------------------------------ */

/* Pool the driver still holds: print each block with its tag, then stop
 * the system as Driver Verifier does (0xC4, 0x62). */
static void IopCheckPoolLeaks(PIOP_LDR_MODULE Module, const char *When)
{
    if (Module->PoolCount == 0)
        return;
    DbgPrint("ldr: %s %s with %u pool block(s), %llu bytes, not freed:\n", Module->BaseDllName,
             When, Module->PoolCount, (ULONG64)Module->PoolBytes);
    for (PLIST_ENTRY E = Module->PoolAllocations.Flink; E != &Module->PoolAllocations;
         E = E->Flink) {
        IOP_LDR_POOL_RECORD *Record = CONTAINING_RECORD(E, IOP_LDR_POOL_RECORD, Links);
        ULONG Tag = Record->Tag;
        DbgPrint("ldr:   tag '%c%c%c%c' %llu bytes at %p (%s)\n", (char)Tag, (char)(Tag >> 8),
                 (char)(Tag >> 16), (char)(Tag >> 24), (ULONG64)Record->Bytes, Record->Block,
                 Record->PoolType == PagedPool ? "paged" : "nonpaged");
    }
    KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, 0x62, (ULONG_PTR)Module->BaseDllName,
                 Module->PoolCount, Module->PoolBytes);
}

/* Devices the driver did not delete: name them; TRUE when there are any. */
static BOOLEAN IopReportDevicesLeft(PIOP_LDR_MODULE Module)
{
    BOOLEAN Any = FALSE;
    KIRQL OldIrql;
    KeAcquireSpinLock(&IopDatabaseLock, &OldIrql);
    for (PDEVICE_OBJECT D = Module->DriverObject->DeviceObject; D; D = D->NextDevice) {
        char Name[48];
        if (!ObQueryObjectName(D, Name, sizeof(Name)))
            RtlStringCopy(Name, "(unnamed)", sizeof(Name));
        DbgPrint("ldr: %s: DriverUnload left device %s (%p) behind; the driver stays loaded\n",
                 Module->BaseDllName, Name, D);
        Any = TRUE;
    }
    KeReleaseSpinLock(&IopDatabaseLock, OldIrql);
    return Any;
}

/* A device still open (file objects on it, DeviceObject->ReferenceCount):
 * requests may be pending in the driver, so DriverUnload is not called
 * (NT defers the unload until the last close; Pagoda refuses it). Names
 * them; TRUE when there are any. */
static BOOLEAN IopReportDevicesOpen(PIOP_LDR_MODULE Module)
{
    BOOLEAN Any = FALSE;
    KIRQL OldIrql;
    KeAcquireSpinLock(&IopDatabaseLock, &OldIrql);
    for (PDEVICE_OBJECT D = Module->DriverObject->DeviceObject; D; D = D->NextDevice) {
        LONG Opens = __atomic_load_n(&D->ReferenceCount, __ATOMIC_SEQ_CST);
        char Name[48];
        if (Opens == 0)
            continue;
        if (!ObQueryObjectName(D, Name, sizeof(Name)))
            RtlStringCopy(Name, "(unnamed)", sizeof(Name));
        DbgPrint("ldr: %s: device %s is open %d time(s): not unloaded\n", Module->BaseDllName, Name,
                 Opens);
        Any = TRUE;
    }
    KeReleaseSpinLock(&IopDatabaseLock, OldIrql);
    return Any;
}

/* ------------------------------------------------------------------------
 * The last unloaded drivers (NT's MmLastUnloadedDrivers): where their
 * images were, so that a call into one - a cancel or completion routine of
 * an IRP the driver kept, a dispatch routine of a device still referenced
 * - is named and stopped (IopCheckUnloadedDriverCall) instead of jumping
 * into freed system PTEs. IopLdrLock; IopUnloadedDriverCount is read
 * without it by the I/O manager's fast test (io/iop.h).
 * ------------------------------------------------------------------------ */
#define IOP_UNLOADED_DRIVERS 8
typedef struct _IOP_UNLOADED_DRIVER {
    char Name[IOP_LDR_MAX_NAME];
    ULONG_PTR Start, End; /* 0, 0: a free slot */
} IOP_UNLOADED_DRIVER;
static IOP_UNLOADED_DRIVER IopUnloadedDrivers[IOP_UNLOADED_DRIVERS];
static ULONG IopUnloadedNext; /* the slot the next unload takes (a ring) */
volatile LONG IopUnloadedDriverCount;

/* Module's image is about to go (Remember), or a new one now covers
 * [DllBase, DllBase + Pages pages) and older entries there are forgotten. */
static void IopTrackUnloadedImage(PIOP_LDR_MODULE Module, BOOLEAN Remember)
{
    ULONG_PTR Start = (ULONG_PTR)Module->DllBase,
              End = Start + (ULONG_PTR)Module->Pages * PAGE_SIZE;
    KIRQL OldIrql;
    KeAcquireSpinLock(&IopLdrLock, &OldIrql);
    for (ULONG I = 0; I < IOP_UNLOADED_DRIVERS; I++) {
        IOP_UNLOADED_DRIVER *Entry = &IopUnloadedDrivers[I];
        if (Entry->End > Start && Entry->Start < End) {
            *Entry = (IOP_UNLOADED_DRIVER){{0}, 0, 0};
            IopUnloadedDriverCount--;
        }
    }
    if (Remember) {
        IOP_UNLOADED_DRIVER *Entry = &IopUnloadedDrivers[IopUnloadedNext];
        IopUnloadedNext = (IopUnloadedNext + 1) % IOP_UNLOADED_DRIVERS;
        if (Entry->End == 0)
            IopUnloadedDriverCount++;
        RtlStringCopy(Entry->Name, Module->BaseDllName, sizeof(Entry->Name));
        Entry->Start = Start;
        Entry->End = End;
    }
    KeReleaseSpinLock(&IopLdrLock, OldIrql);
}

/* IopCheckUnloadedDriverCall: the contract is in io/iop.h. */
void IopCheckUnloadedDriverCall(PVOID Routine, PVOID Caller)
{
    ULONG_PTR Address = (ULONG_PTR)Routine;
    for (ULONG I = 0; I < IOP_UNLOADED_DRIVERS; I++) {
        const IOP_UNLOADED_DRIVER *Entry = &IopUnloadedDrivers[I];
        if (Address < Entry->Start || Address >= Entry->End)
            continue;
        DbgPrint("io: %s+0x%llx called by %p: %s was unloaded with operations still pending\n",
                 Entry->Name, (ULONG64)(Address - Entry->Start), Caller, Entry->Name);
        KeBugCheckEx(DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS, Address, 0,
                     (ULONG_PTR)Caller, 0);
    }
}

/* ------------------------------------------------------------------------
 * Load and unload.
 * ------------------------------------------------------------------------ */

static PIOP_LDR_MODULE IopCreateModule(const IOP_DRIVER_NAME *Name, const UCHAR *File, SIZE_T Size)
{
    PIOP_LDR_MODULE Module = ExAllocatePoolWithTag(NonPagedPool, sizeof(*Module), IOP_LDR_TAG);
    if (!Module)
        return NULL;
    memset(Module, 0, sizeof(*Module));
    RtlStringCopy(Module->BaseDllName, Name->Module, sizeof(Module->BaseDllName));
    Module->File = File;
    Module->FileSize = Size;
    KeInitializeSpinLock(&Module->PoolLock);
    InitializeListHead(&Module->PoolAllocations);
    return Module;
}

static void IopDeleteModule(PIOP_LDR_MODULE Module)
{
    IopUnmapDriverImage(Module);
    ExFreePoolWithTag(Module, IOP_LDR_TAG);
}

/* Create \Driver\<Service> and run DriverEntry (IoCreateDriver), then keep
 * a reference to the driver object in the module. */
static NTSTATUS IopStartDriver(PIOP_LDR_MODULE Module, const IOP_DRIVER_NAME *Name,
                               PDRIVER_INITIALIZE Entry)
{
    WCHAR Buffer[8 + IOP_LDR_MAX_NAME];
    UNICODE_STRING DriverName = {0, sizeof(Buffer), Buffer};
    const char *Prefix = "\\Driver\\";
    ULONG Chars = 0;
    for (const char *C = Prefix; *C; C++)
        Buffer[Chars++] = (WCHAR)*C;
    for (const char *C = Name->Service; *C; C++)
        Buffer[Chars++] = (WCHAR)*C;
    DriverName.Length = (USHORT)(Chars * sizeof(WCHAR));

    NTSTATUS Status = IoCreateDriver(&DriverName, Entry);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObReferenceObjectByName(&DriverName, 0, IoDriverObjectType, KernelMode,
                                     (PVOID *)&Module->DriverObject);
    ASSERT(NT_SUCCESS(Status)); /* it is permanent, and the mutex keeps others away */
    return Status;
}

static NTSTATUS IopLoadDriverLocked(const IOP_DRIVER_NAME *Name)
{
    const UCHAR *File;
    SIZE_T Size;
    PDRIVER_INITIALIZE Entry;

    if (IopFindModule(Name->Module))
        return STATUS_IMAGE_ALREADY_LOADED;
    NTSTATUS Status = IoFindInitrdFile(Name->Path, &File, &Size);
    if (!NT_SUCCESS(Status))
        return Status == STATUS_NO_SUCH_FILE ? STATUS_OBJECT_NAME_NOT_FOUND : Status;
    PIOP_LDR_MODULE Module = IopCreateModule(Name, File, Size);
    if (!Module)
        return STATUS_INSUFFICIENT_RESOURCES;
    Status = IopMapDriverImage(Module, &Entry);
    if (!NT_SUCCESS(Status)) {
        DbgPrint("ldr: %s not loaded: 0x%08x\n", Module->BaseDllName, (ULONG)Status);
        IopDeleteModule(Module);
        return Status;
    }
    DbgPrint("ldr: %s at %p: %u pages (text %u, rodata %u, data %u), DriverEntry %p\n",
             Module->BaseDllName, Module->DllBase, Module->Pages, Module->TextPages,
             Module->ReadOnlyPages, Module->Pages - Module->TextPages - Module->ReadOnlyPages,
             Entry);
    if (Module->VerifiedImports)
        DbgPrint("ldr: %s: Driver Verifier's IRQL checking: %u IRQL and spin-lock imports "
                 "checked, paged pool trimmed at each raise to DISPATCH_LEVEL\n",
                 Module->BaseDllName, Module->VerifiedImports);
    IopPrintSymbolCommand(Module);
    IopTrackUnloadedImage(Module, FALSE); /* its range is a live driver again */
    IopLinkModule(Module, TRUE); /* before DriverEntry: a crash in it names the driver */
    IopLoadCount++;

    Status = IopStartDriver(Module, Name, Entry);
    if (!NT_SUCCESS(Status)) {
        DbgPrint("ldr: %s: DriverEntry failed: 0x%08x\n", Module->BaseDllName, (ULONG)Status);
        IopCheckPoolLeaks(Module, "failed DriverEntry");
        IopLinkModule(Module, FALSE);
        IopDeleteModule(Module);
    }
    return Status;
}

static NTSTATUS IopUnloadDriverLocked(PIOP_LDR_MODULE Module)
{
    PDRIVER_OBJECT Driver = Module->DriverObject;

    if (!(Driver->Flags & DRVO_UNLOAD_INVOKED)) {
        if (Driver->DriverUnload == NULL)
            return STATUS_INVALID_DEVICE_REQUEST;
        if (IopReportDevicesOpen(Module))
            return STATUS_DEVICE_BUSY;
        Driver->Flags |= DRVO_UNLOAD_INVOKED;
        Driver->DriverUnload(Driver);
    }
    if (IopReportDevicesLeft(Module))
        return STATUS_DEVICE_BUSY;
    IopCheckPoolLeaks(Module, "unloaded");

    /* What IoCreateDriver's failure path does (io/driver.c): off the list,
     * the name and the I/O manager's reference; then the loader's own. */
    IopRemoveDriverList(Driver);
    ObMakeTemporaryObject(Driver);
    ObDereferenceObject(Driver);
    ObDereferenceObject(Driver);
    Module->DriverObject = NULL;
    IopLinkModule(Module, FALSE);
    IopTrackUnloadedImage(Module, TRUE);
    DbgPrint("ldr: %s unloaded\n", Module->BaseDllName);
    IopDeleteModule(Module);
    return STATUS_SUCCESS;
}

/* IoLoadDriver: the contract is in io/io.h. */
NTSTATUS IoLoadDriver(PCUNICODE_STRING DriverServiceName)
{
    IOP_DRIVER_NAME Name;
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);

    NTSTATUS Status = IopParseDriverName(DriverServiceName, &Name);
    if (!NT_SUCCESS(Status))
        return Status;
    (void)KeWaitForSingleObject(&IopLoadMutex, Executive, KernelMode, FALSE, NULL);
    Status = IopLoadDriverLocked(&Name);
    KeReleaseMutex(&IopLoadMutex, FALSE);
    return Status;
}

/* IoUnloadDriver: the contract is in io/io.h. */
NTSTATUS IoUnloadDriver(PCUNICODE_STRING DriverServiceName)
{
    IOP_DRIVER_NAME Name;
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);

    NTSTATUS Status = IopParseDriverName(DriverServiceName, &Name);
    if (!NT_SUCCESS(Status))
        return Status;
    (void)KeWaitForSingleObject(&IopLoadMutex, Executive, KernelMode, FALSE, NULL);
    PIOP_LDR_MODULE Module = IopFindModule(Name.Module);
    Status = Module ? IopUnloadDriverLocked(Module) : STATUS_OBJECT_NAME_NOT_FOUND;
    KeReleaseMutex(&IopLoadMutex, FALSE);
    return Status;
}

/* Capture the caller's UNICODE_STRING (at most 128 characters). */
static NTSTATUS IopCaptureServiceName(PUNICODE_STRING User, PUNICODE_STRING Captured, PWSTR Buffer,
                                      ULONG BufferBytes)
{
    UNICODE_STRING String;
    NTSTATUS Status = MmCopyFromUser(&String, User, sizeof(String));
    if (!NT_SUCCESS(Status))
        return Status;
    if (String.Length == 0 || String.Length > BufferBytes || (String.Length & 1))
        return STATUS_OBJECT_NAME_INVALID;
    Status = MmCopyFromUser(Buffer, String.Buffer, String.Length);
    if (!NT_SUCCESS(Status))
        return Status;
    *Captured = (UNICODE_STRING){String.Length, (USHORT)BufferBytes, Buffer};
    return STATUS_SUCCESS;
}

/*
 * NtLoadDriver / NtUnloadDriver - IoLoadDriver / IoUnloadDriver for user
 * mode: the name is captured first (STATUS_ACCESS_VIOLATION for a bad
 * pointer, STATUS_OBJECT_NAME_INVALID for an empty or too long one).
 * NT checks SeLoadDriverPrivilege; Pagoda has no privileges. PASSIVE_LEVEL.
 */
NTSTATUS NtLoadDriver(PUNICODE_STRING DriverServiceName)
{
    WCHAR Buffer[128];
    UNICODE_STRING Name;
    NTSTATUS Status = IopCaptureServiceName(DriverServiceName, &Name, Buffer, sizeof(Buffer));
    return NT_SUCCESS(Status) ? IoLoadDriver(&Name) : Status;
}

NTSTATUS NtUnloadDriver(PUNICODE_STRING DriverServiceName)
{
    WCHAR Buffer[128];
    UNICODE_STRING Name;
    NTSTATUS Status = IopCaptureServiceName(DriverServiceName, &Name, Buffer, sizeof(Buffer));
    return NT_SUCCESS(Status) ? IoUnloadDriver(&Name) : Status;
}

/* ------------------------------------------------------------------------
 * Backtraces and queries.
 * ------------------------------------------------------------------------ */

/* IoFormatDriverAddress: the contract is in io/io.h. */
BOOLEAN IoFormatDriverAddress(ULONG_PTR Address, PCHAR Buffer, ULONG Size)
{
    if (IopLoadedModuleList.Flink == NULL)
        return FALSE; /* before IoInitSystem */
    for (PLIST_ENTRY E = IopLoadedModuleList.Flink; E != &IopLoadedModuleList; E = E->Flink) {
        PIOP_LDR_MODULE Module = CONTAINING_RECORD(E, IOP_LDR_MODULE, InLoadOrderLinks);
        ULONG_PTR Base = (ULONG_PTR)Module->DllBase;
        if (Address < Base || Address - Base >= (ULONG_PTR)Module->Pages * PAGE_SIZE)
            continue;
        ULONG_PTR Offset;
        const char *Symbol = IopLookupModuleSymbol(Module, Address, &Offset);
        if (Symbol)
            RtlFormatBuffer(Buffer, Size, "%s!%s+0x%llx", Module->BaseDllName, Symbol,
                            (ULONG64)Offset);
        else
            RtlFormatBuffer(Buffer, Size, "%s+0x%llx", Module->BaseDllName,
                            (ULONG64)(Address - Base));
        return TRUE;
    }
    return FALSE;
}
