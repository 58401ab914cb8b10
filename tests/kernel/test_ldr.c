/*
 * test_ldr.c - loadable drivers (io/ldr.c, io/ldrsys.c, io/ldrexp.c;
 * docs/drivers.md): the sample drivers of drivers/ loaded from the initrd
 * (hello.sys, nullflt.sys, badimp.sys) and the filter linked into the
 * kernel. Each test checks that nonpaged pool, system PTEs and driver-image
 * frames are back at their baseline afterwards; the IRP lookasides are
 * trimmed before each measurement, so IRPs parked there do not count.
 */
#include "../../include/ktest.h"
#include "../../include/ntapi.h"
#include "../../io/ldrp.h"
#include "../../ob/ob.h"
#include "../../mm/mm.h"
#include "../../rtl/rtl.h"
#include "../../drivers/hello/hello.h"
#include "../../drivers/nullflt/nullflt.h"
#include "ktbaseline.h"
#include "ktio.h"

static UNICODE_STRING KtHello = RTL_CONSTANT_STRING(u"hello");
static UNICODE_STRING KtNullFilter = RTL_CONSTANT_STRING(u"nullflt");

typedef struct _KT_LDR_BASELINE {
    SIZE_T PoolBytes;
    ULONG_PTR SystemPtes;
    PFN_NUMBER DriverPages;
} KT_LDR_BASELINE;

static KT_LDR_BASELINE KtLdrBaseline(void)
{
    IoTrimIrpLookasides();
    return (KT_LDR_BASELINE){KtNonPagedPoolBytes(), MmQuerySystemPtesInUse(),
                             MmPagesInUse(MiUsageDriver)};
}

#define KT_EXPECT_LDR_BASELINE(Before) \
    do { \
        KT_LDR_BASELINE ktNow_ = KtLdrBaseline(); \
        KT_EXPECT_EQ(ktNow_.PoolBytes, (Before).PoolBytes); \
        KT_EXPECT_EQ(ktNow_.SystemPtes, (Before).SystemPtes); \
        KT_EXPECT_EQ(ktNow_.DriverPages, (Before).DriverPages); \
    } while (0)

/* Deferred: unload if still loaded (NOT_FOUND when the test did it). */
static void KtUnloadRoutine(PVOID Context)
{
    NTSTATUS Status = IoUnloadDriver(Context);
    if (!NT_SUCCESS(Status) && Status != STATUS_OBJECT_NAME_NOT_FOUND)
        DbgPrint("test_ldr: cleanup could not unload: 0x%08x\n", (ULONG)Status);
}

static PVOID KtReferenceByName(const WCHAR *Text, POBJECT_TYPE Type)
{
    UNICODE_STRING Name = {0, 0, (PWSTR)Text};
    while (Text[Name.Length / sizeof(WCHAR)])
        Name.Length += sizeof(WCHAR);
    Name.MaximumLength = Name.Length;
    PVOID Object = NULL;
    if (!NT_SUCCESS(
            ObReferenceObjectByName(&Name, OBJ_CASE_INSENSITIVE, Type, KernelMode, &Object)))
        return NULL;
    return Object;
}

static BOOLEAN KtExists(const WCHAR *Text, POBJECT_TYPE Type)
{
    PVOID Object = KtReferenceByName(Text, Type);
    if (Object)
        ObDereferenceObject(Object);
    return Object != NULL;
}

/* One synchronous IRP to Device: an IOCTL (Major IRP_MJ_DEVICE_CONTROL)
 * or a read or write; the status, with the bytes in *Information. */
static NTSTATUS KtSendIrp(PDEVICE_OBJECT Device, ULONG Major, ULONG Code, PVOID Buffer,
                          ULONG Length, ULONG_PTR *Information)
{
    if (Major == IRP_MJ_DEVICE_CONTROL)
        return KtDeviceControl(Device, Code, NULL, 0, Buffer, Length, Information);
    return KtDeviceIo(Device, Major, Buffer, Length, 0, Information);
}

/* An IOCTL to \Device\Hello. */
static NTSTATUS KtHelloControl(ULONG Code, PVOID Buffer, ULONG Length)
{
    PDEVICE_OBJECT Hello = KtReferenceByName(u"\\Device\\Hello", IoDeviceObjectType);
    if (!Hello)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    NTSTATUS Status = KtSendIrp(Hello, IRP_MJ_DEVICE_CONTROL, Code, Buffer, Length, NULL);
    ObDereferenceObject(Hello);
    return Status;
}

/* The loaded module called Name in the SystemModuleInformation answer. */
static BOOLEAN KtFindModule(const char *Name, SYSTEM_MODULE_ENTRY *Found)
{
    PVOID Data;
    SIZE_T Size;
    BOOLEAN Any = FALSE;
    if (!NT_SUCCESS(IoQueryDriverInformation(SystemModuleInformation, IOP_LDR_TAG, &Data, &Size)))
        return FALSE;
    SYSTEM_MODULE_ENTRY *Entries = Data;
    for (SIZE_T i = 0; i < Size / sizeof(*Entries); i++) {
        if (strcmp(Entries[i].Name, Name) == 0) {
            *Found = Entries[i];
            Any = TRUE;
        }
    }
    ExFreePoolWithTag(Data, IOP_LDR_TAG);
    return Any;
}

/* Load, look, unload - 100 times: every page, PTE and pool byte comes back. */
KTEST(ldr, load_unload_100_times)
{
    KT_LDR_BASELINE Before = KtLdrBaseline();
    for (ULONG i = 0; i < 100; i++) {
        KT_ASSERT_STATUS(IoLoadDriver(&KtHello), STATUS_SUCCESS);
        if (i == 0) {
            SYSTEM_MODULE_ENTRY Module;
            KT_EXPECT(KtExists(u"\\Driver\\hello", IoDriverObjectType));
            KT_EXPECT(KtExists(u"\\Device\\Hello", IoDeviceObjectType));
            KT_ASSERT(KtFindModule("hello.sys", &Module));
            KT_EXPECT_EQ(Module.PoolAllocations, 1); /* DriverEntry's block, tracked */
            KT_EXPECT_EQ(MmQuerySystemPtesInUse(),
                         Before.SystemPtes + Module.ImageSize / PAGE_SIZE);
        }
        KT_ASSERT_STATUS(IoUnloadDriver(&KtHello), STATUS_SUCCESS);
    }
    KT_EXPECT(!KtExists(u"\\Driver\\hello", IoDriverObjectType));
    KT_EXPECT(!KtExists(u"\\Device\\Hello", IoDeviceObjectType));
    SYSTEM_MODULE_ENTRY Module;
    KT_EXPECT(!KtFindModule("hello.sys", &Module));
    KT_EXPECT_LDR_BASELINE(Before);
}

/* badimp.sys calls KeNotExportedRoutine: the load fails before DriverEntry
 * and leaves nothing. */
KTEST(ldr, unknown_import_fails_cleanly)
{
    UNICODE_STRING Bad = RTL_CONSTANT_STRING(u"badimp");
    KT_LDR_BASELINE Before = KtLdrBaseline();
    KT_EXPECT_STATUS(IoLoadDriver(&Bad), STATUS_DRIVER_ENTRYPOINT_NOT_FOUND);
    KT_EXPECT(!KtExists(u"\\Driver\\badimp", IoDriverObjectType));
    SYSTEM_MODULE_ENTRY Module;
    KT_EXPECT(!KtFindModule("badimp.sys", &Module));
    KT_EXPECT_STATUS(IoUnloadDriver(&Bad), STATUS_OBJECT_NAME_NOT_FOUND);
    KT_EXPECT_LDR_BASELINE(Before);
    /* A name the kernel has but does not export fails the same way. */
    KT_EXPECT(IopFindExport("KeBugCheckEx") != NULL);
    KT_EXPECT(IopFindExport("MiMapPage") == NULL);
    KT_EXPECT(IopFindExport("IopLoadedModuleList") == NULL);
}

/* The names NtLoadDriver takes, and the statuses of the wrong ones. */
KTEST(ldr, service_names)
{
    UNICODE_STRING Registry =
        RTL_CONSTANT_STRING(u"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\hello");
    UNICODE_STRING Path = RTL_CONSTANT_STRING(u"/drivers/hello.sys");
    UNICODE_STRING Missing = RTL_CONSTANT_STRING(u"nosuchdriver");
    UNICODE_STRING Bad = RTL_CONSTANT_STRING(u"a\\b");
    UNICODE_STRING Empty = {0, 0, NULL};
    KT_LDR_BASELINE Before = KtLdrBaseline();

    KT_EXPECT_STATUS(IoLoadDriver(&Missing), STATUS_OBJECT_NAME_NOT_FOUND);
    KT_EXPECT_STATUS(IoLoadDriver(&Bad), STATUS_OBJECT_NAME_INVALID);
    KT_EXPECT_STATUS(IoLoadDriver(&Empty), STATUS_OBJECT_NAME_INVALID);
    KT_ASSERT_STATUS(IoLoadDriver(&Registry), STATUS_SUCCESS);
    PKT_DEFERRED Unload = KtDefer(KtUnloadRoutine, &KtHello);
    KT_EXPECT_STATUS(IoLoadDriver(&KtHello), STATUS_IMAGE_ALREADY_LOADED);
    KT_EXPECT_STATUS(IoLoadDriver(&Path), STATUS_IMAGE_ALREADY_LOADED);
    KT_EXPECT_STATUS(IoUnloadDriver(&Path), STATUS_SUCCESS);
    KtCleanupNow(Unload); /* a second unload: not loaded any more */
    KT_EXPECT_STATUS(IoUnloadDriver(&KtHello), STATUS_OBJECT_NAME_NOT_FOUND);
    KT_EXPECT_LDR_BASELINE(Before);
}

/* W^X per section, read back from the PTEs: text RX, rodata R, data and
 * bss RW+NX. */
KTEST(ldr, sections_are_w_xor_x)
{
    HELLO_SECTIONS At;
    KT_ASSERT_STATUS(IoLoadDriver(&KtHello), STATUS_SUCCESS);
    KtDefer(KtUnloadRoutine, &KtHello);
    memset(&At, 0, sizeof(At));
    KT_ASSERT_STATUS(KtHelloControl(IOCTL_HELLO_ADDRESSES, &At, sizeof(At)), STATUS_SUCCESS);

    SYSTEM_MODULE_ENTRY Module;
    KT_ASSERT(KtFindModule("hello.sys", &Module));
    const ULONG64 Base = Module.ImageBase, Text = Base + (ULONG64)Module.TextPages * PAGE_SIZE;
    const ULONG64 ReadOnly = Text + (ULONG64)Module.ReadOnlyPages * PAGE_SIZE;
    KT_EXPECT(At.Text >= Base && At.Text < Text);
    KT_EXPECT(At.ReadOnly >= Text && At.ReadOnly < ReadOnly);
    KT_EXPECT(At.Data >= ReadOnly && At.Data < Base + Module.ImageSize);
    KT_EXPECT(At.Bss >= ReadOnly && At.Bss < Base + Module.ImageSize);

    ULONG64 Pte = MmGetPteValue((PVOID)At.Text);
    KT_EXPECT((Pte & MM_PTE_VALID) && !(Pte & MM_PTE_WRITE) && !(Pte & MM_PTE_NO_EXECUTE));
    KT_EXPECT(!(Pte & MM_PTE_OWNER));
    Pte = MmGetPteValue((PVOID)At.ReadOnly);
    KT_EXPECT((Pte & MM_PTE_VALID) && !(Pte & MM_PTE_WRITE) && (Pte & MM_PTE_NO_EXECUTE));
    Pte = MmGetPteValue((PVOID)At.Data);
    KT_EXPECT((Pte & MM_PTE_VALID) && (Pte & MM_PTE_WRITE) && (Pte & MM_PTE_NO_EXECUTE));
    Pte = MmGetPteValue((PVOID)At.Bss);
    KT_EXPECT((Pte & MM_PTE_VALID) && (Pte & MM_PTE_WRITE) && (Pte & MM_PTE_NO_EXECUTE));
    /* Every page of the image: never writable and executable at once. */
    for (ULONG64 Va = Base; Va < Base + Module.ImageSize; Va += PAGE_SIZE) {
        Pte = MmGetPteValue((PVOID)Va);
        KT_EXPECT(!(Pte & MM_PTE_WRITE) || (Pte & MM_PTE_NO_EXECUTE));
        KT_EXPECT_EQ(!(Pte & MM_PTE_NO_EXECUTE), Va < Text);
    }
}

/* A backtrace names the driver, its function and the offset. */
KTEST(ldr, addresses_name_the_driver)
{
    HELLO_SECTIONS At;
    char Text[96];
    char Want[96];
    KT_ASSERT_STATUS(IoLoadDriver(&KtHello), STATUS_SUCCESS);
    KtDefer(KtUnloadRoutine, &KtHello);
    KT_ASSERT_STATUS(KtHelloControl(IOCTL_HELLO_ADDRESSES, &At, sizeof(At)), STATUS_SUCCESS);

    KT_ASSERT(IoFormatDriverAddress(At.Text + 5, Text, sizeof(Text)));
    KT_EXPECT(strcmp(Text, "hello.sys!HelloDeviceControl+0x5") == 0);
    KT_ASSERT(IoFormatDriverAddress(At.Data, Text, sizeof(Text)));
    KT_EXPECT(strcmp(Text, "hello.sys!HelloUnloads+0x0") == 0);
    SYSTEM_MODULE_ENTRY Module;
    KT_ASSERT(KtFindModule("hello.sys", &Module));
    /* The last text page holds the pool thunks, which no symbol covers. */
    ULONG64 Thunk = Module.ImageBase + (ULONG64)Module.TextPages * PAGE_SIZE - 1;
    KT_ASSERT(IoFormatDriverAddress(Thunk, Text, sizeof(Text)));
    RtlFormatBuffer(Want, sizeof(Want), "hello.sys+0x%llx", Thunk - Module.ImageBase);
    KT_EXPECT(strcmp(Text, Want) == 0);
    KT_EXPECT(!IoFormatDriverAddress(Module.ImageBase + Module.ImageSize, Text, sizeof(Text)));
    KT_EXPECT(!IoFormatDriverAddress((ULONG_PTR)KtLdrBaseline, Text, sizeof(Text)));
}

/* DriverUnload that leaves a device behind: refused, the image stays;
 * DriverUnload is not called again; once the device is gone the unload
 * completes. */
KTEST(ldr, unload_with_device_left_is_refused)
{
    KT_LDR_BASELINE Before = KtLdrBaseline();
    KT_ASSERT_STATUS(IoLoadDriver(&KtHello), STATUS_SUCCESS);
    PKT_DEFERRED Unload = KtDefer(KtUnloadRoutine, &KtHello);
    KT_ASSERT_STATUS(KtHelloControl(IOCTL_HELLO_KEEP_DEVICE, NULL, 0), STATUS_SUCCESS);

    KT_EXPECT_STATUS(IoUnloadDriver(&KtHello), STATUS_DEVICE_BUSY);
    KT_EXPECT(KtExists(u"\\Driver\\hello", IoDriverObjectType));
    SYSTEM_MODULE_ENTRY Module;
    KT_EXPECT(KtFindModule("hello.sys", &Module));
    KT_EXPECT_EQ(Module.PoolAllocations, 0); /* DriverUnload ran and freed its block */
    KT_EXPECT_STATUS(IoUnloadDriver(&KtHello), STATUS_DEVICE_BUSY); /* still there */

    PDEVICE_OBJECT Hello = KtReferenceByName(u"\\Device\\Hello", IoDeviceObjectType);
    KT_ASSERT(Hello != NULL);
    IoDeleteDevice(Hello);
    ObDereferenceObject(Hello);
    KtCleanupNow(Unload);
    KT_EXPECT(!KtFindModule("hello.sys", &Module));
    KT_EXPECT_LDR_BASELINE(Before);
}

/* The filter above \Device\Null: it sees a read, two writes and its own
 * query, and the null device still answers below it. */
static void KtCheckFilter(void)
{
    PDEVICE_OBJECT Null = KtReferenceByName(u"\\Device\\Null", IoDeviceObjectType);
    UCHAR Buffer[16];
    NULLFLT_COUNTS Counts;
    ULONG_PTR Bytes = 99;
    KT_ASSERT(Null != NULL);
    PDEVICE_OBJECT Top = IoGetAttachedDeviceReference(Null);
    KT_EXPECT(Top != Null);
    KT_EXPECT_EQ(Top->StackSize, Null->StackSize + 1);

    KT_EXPECT_STATUS(KtSendIrp(Top, IRP_MJ_READ, 0, Buffer, sizeof(Buffer), &Bytes),
                     STATUS_END_OF_FILE);
    KT_EXPECT_EQ(Bytes, 0);
    KT_EXPECT_STATUS(KtSendIrp(Top, IRP_MJ_WRITE, 0, Buffer, 7, &Bytes), STATUS_SUCCESS);
    KT_EXPECT_EQ(Bytes, 7);
    KT_EXPECT_STATUS(KtSendIrp(Top, IRP_MJ_WRITE, 0, Buffer, 3, &Bytes), STATUS_SUCCESS);
    memset(&Counts, 0xFF, sizeof(Counts));
    KT_EXPECT_STATUS(KtSendIrp(Top, IRP_MJ_DEVICE_CONTROL, IOCTL_NULLFLT_QUERY_COUNTS, &Counts,
                               sizeof(Counts), &Bytes),
                     STATUS_SUCCESS);
    KT_EXPECT_EQ(Bytes, sizeof(Counts));
    KT_EXPECT_EQ(Counts.Irps[IRP_MJ_READ], 1);
    KT_EXPECT_EQ(Counts.Irps[IRP_MJ_WRITE], 2);
    KT_EXPECT_EQ(Counts.Irps[IRP_MJ_DEVICE_CONTROL], 1);
    KT_EXPECT_EQ(Counts.Irps[IRP_MJ_CREATE], 0);
    /* Another IOCTL is not the filter's: it goes down to Null, which refuses it. */
    KT_EXPECT_STATUS(KtSendIrp(Top, IRP_MJ_DEVICE_CONTROL, 0x12345, &Counts, sizeof(Counts), NULL),
                     STATUS_INVALID_DEVICE_REQUEST);
    ObDereferenceObject(Top);
    ObDereferenceObject(Null);
}

/* After the filter is gone, \Device\Null is alone in its stack again. */
static BOOLEAN KtNullIsAlone(void)
{
    PDEVICE_OBJECT Null = KtReferenceByName(u"\\Device\\Null", IoDeviceObjectType);
    BOOLEAN Alone = Null != NULL && IoGetAttachedDevice(Null) == Null;
    if (Null)
        ObDereferenceObject(Null);
    return Alone;
}

KTEST(ldr, builtin_filter_counts_null_irps)
{
    UNICODE_STRING Name = RTL_CONSTANT_STRING(u"\\Driver\\NullFilter");
    KT_LDR_BASELINE Before = KtLdrBaseline();
    KT_ASSERT_STATUS(IoCreateDriver(&Name, NullFilterDriverEntry), STATUS_SUCCESS);
    PDRIVER_OBJECT Driver = KtReferenceByName(u"\\Driver\\NullFilter", IoDriverObjectType);
    KT_ASSERT(Driver != NULL);
    KtCheckFilter();
    KT_EXPECT_STATUS(IopUnloadDriver(Driver), STATUS_SUCCESS);
    ObDereferenceObject(Driver);
    KT_EXPECT(KtNullIsAlone());
    KT_EXPECT_LDR_BASELINE(Before);
}

KTEST(ldr, loaded_filter_counts_null_irps)
{
    KT_LDR_BASELINE Before = KtLdrBaseline();
    KT_ASSERT_STATUS(IoLoadDriver(&KtNullFilter), STATUS_SUCCESS);
    PKT_DEFERRED Unload = KtDefer(KtUnloadRoutine, &KtNullFilter);
    KtCheckFilter();
    KT_EXPECT_STATUS(IoUnloadDriver(&KtNullFilter), STATUS_SUCCESS);
    KtCleanupNow(Unload); /* nothing left to do: NOT_FOUND */
    KT_EXPECT(KtNullIsAlone());
    KT_EXPECT_LDR_BASELINE(Before);
}

/* Driver Verifier: a driver unloading with pool still allocated stops the
 * system (0xC4, 0x62), after the tags are printed. */
KTEST_BUGCHECK(ldr, unload_with_pool_left_bugchecks, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KT_ASSERT_STATUS(IoLoadDriver(&KtHello), STATUS_SUCCESS);
    KT_ASSERT_STATUS(KtHelloControl(IOCTL_HELLO_LEAK_POOL, NULL, 0), STATUS_SUCCESS);
    NTSTATUS Status = IoUnloadDriver(&KtHello);
    KT_EXPECT(FALSE); /* not reached: the unload stops the system */
    (void)Status;
}

/* A bugcheck inside a loaded driver: the backtrace names hello.sys. */
KTEST_BUGCHECK(ldr, bugcheck_in_loaded_driver, MANUALLY_INITIATED_CRASH)
{
    KT_ASSERT_STATUS(IoLoadDriver(&KtHello), STATUS_SUCCESS);
    (void)KtHelloControl(IOCTL_HELLO_CRASH, NULL, 0);
}
