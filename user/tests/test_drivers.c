/*
 * test_drivers.c - NtLoadDriver / NtUnloadDriver from user mode, and the
 * SystemModuleInformation and SystemDeviceInformation queries that show
 * what they did (io/ldrsys.c, docs/drivers.md).
 */
#include "ut.h"

static UNICODE_STRING *UtDriverName(UNICODE_STRING *Name, WCHAR *Buffer, ULONG Chars,
                                    const char *Text)
{
    if (!NT_SUCCESS(PgInitUnicodeStringFromAnsi(Name, Buffer, Chars, Text)))
        Name->Length = 0;
    return Name;
}

/* The module called Text in the SystemModuleInformation answer. */
static BOOLEAN UtModuleLoaded(const char *Text, SYSTEM_MODULE_ENTRY *Found)
{
    ULONG Length;
    NTSTATUS Status;
    BOOLEAN Any = FALSE;
    SYSTEM_MODULE_ENTRY *Modules =
        PgQuerySystem(SystemModuleInformation, NULL, 0, &Length, &Status);
    if (!Modules)
        return FALSE;
    for (ULONG I = 0; I < Length / sizeof(*Modules); I++) {
        if (!strcmp(Modules[I].Name, Text)) {
            *Found = Modules[I];
            Any = TRUE;
        }
    }
    free(Modules);
    return Any;
}

static void UtUnloadHello(PVOID Context)
{
    UNICODE_STRING Name;
    WCHAR Buffer[16];
    UNREFERENCED_PARAMETER(Context);
    (void)NtUnloadDriver(UtDriverName(&Name, Buffer, ARRAYSIZE(Buffer), "hello"));
}

static void LoadQueryUnload(void)
{
    UNICODE_STRING Name;
    WCHAR Buffer[16];
    SYSTEM_MODULE_ENTRY Module;
    ULONG Length;
    NTSTATUS Status;

    UtDriverName(&Name, Buffer, ARRAYSIZE(Buffer), "hello");
    UT_ASSERT_SUCCESS(NtLoadDriver(&Name));
    UtDefer(UtUnloadHello, NULL);
    UT_EXPECT_STATUS(NtLoadDriver(&Name), STATUS_IMAGE_ALREADY_LOADED);
    UT_ASSERT(UtModuleLoaded("hello.sys", &Module));
    UT_EXPECT(Module.ImageBase >= 0xFFFF800000000000ULL);
    UT_EXPECT_EQ(Module.ImageSize,
                 (Module.TextPages + Module.ReadOnlyPages + Module.DataPages) * PAGE_SIZE);
    UT_EXPECT(!strcmp(Module.DriverName, "hello"));
    UT_EXPECT_EQ(Module.PoolAllocations, 1);

    SYSTEM_DEVICE_ENTRY *Devices =
        PgQuerySystem(SystemDeviceInformation, NULL, 0, &Length, &Status);
    UT_ASSERT(Devices != NULL);
    BOOLEAN Hello = FALSE;
    for (ULONG I = 0; I < Length / sizeof(*Devices); I++)
        Hello |= !strcmp(Devices[I].DeviceName, "Hello") && !strcmp(Devices[I].DriverName, "hello");
    free(Devices);
    UT_EXPECT(Hello);

    UT_EXPECT_SUCCESS(NtUnloadDriver(&Name));
    UT_EXPECT(!UtModuleLoaded("hello.sys", &Module));
    UT_EXPECT_STATUS(NtUnloadDriver(&Name), STATUS_OBJECT_NAME_NOT_FOUND);
}

static void BadNamesAndPointers(void)
{
    UNICODE_STRING Name;
    WCHAR Buffer[64];
    SYSTEM_MODULE_ENTRY Module;

    UT_EXPECT_STATUS(NtLoadDriver(NULL), STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtLoadDriver((PUNICODE_STRING)UT_KERNEL_VA), STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtUnloadDriver((PUNICODE_STRING)UT_UNMAPPED), STATUS_ACCESS_VIOLATION);
    Name = (UNICODE_STRING){10, 10, (PWSTR)UT_KERNEL_VA};
    UT_EXPECT_STATUS(NtLoadDriver(&Name), STATUS_ACCESS_VIOLATION);
    Name = (UNICODE_STRING){0, 0, Buffer};
    UT_EXPECT_STATUS(NtLoadDriver(&Name), STATUS_OBJECT_NAME_INVALID);
    Name = (UNICODE_STRING){0xFFFE, 0xFFFE, Buffer};
    UT_EXPECT_STATUS(NtLoadDriver(&Name), STATUS_OBJECT_NAME_INVALID);
    UT_EXPECT_STATUS(NtLoadDriver(UtDriverName(&Name, Buffer, ARRAYSIZE(Buffer), "nosuch")),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    UT_EXPECT_STATUS(NtLoadDriver(UtDriverName(&Name, Buffer, ARRAYSIZE(Buffer), "badimp")),
                     STATUS_DRIVER_ENTRYPOINT_NOT_FOUND);
    UT_EXPECT(!UtModuleLoaded("badimp.sys", &Module));
    /* The kernel image is not a loaded driver. */
    UT_EXPECT_STATUS(NtUnloadDriver(UtDriverName(&Name, Buffer, ARRAYSIZE(Buffer), "kernel")),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    UT_ASSERT(UtModuleLoaded("kernel.elf", &Module));
    UT_EXPECT_EQ(Module.LoadOrderIndex, 0);
}

const UT_TEST UtDriverTests[] = {
    {"drivers.load_query_unload", LoadQueryUnload},
    {"drivers.bad_names_and_pointers", BadNamesAndPointers},
    {NULL, NULL},
};
