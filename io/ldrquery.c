/*
 * ldrquery.c - the answers of NtQuerySystemInformation's
 * SystemModuleInformation (the kernel image, then each loaded driver: the
 * shell's `drivers`) and SystemDeviceInformation (every driver's devices
 * with their stacks: the shell's `devices`).
 *
 * Each answer is built in one nonpaged pool block under the lock that
 * covers what it lists (IopLdrLock for modules, IopDatabaseLock for the
 * drivers and their devices), so it is a consistent snapshot; at most
 * IOP_MAX_LISTED entries. PASSIVE_LEVEL callers.
 */
#include "ldrp.h"
#include "../include/ntapi.h"
#include "../rtl/rtl.h"

#define IOP_MAX_LISTED 128

extern char __text_start[], __text_end[], __rodata_end[], __kernel_end[];

static void IopQueryKernelModule(SYSTEM_MODULE_ENTRY *Entry)
{
    Entry->ImageBase = (ULONG64)__text_start;
    Entry->ImageSize = (ULONG)(__kernel_end - __text_start);
    Entry->TextPages = (ULONG)((__text_end - __text_start) / PAGE_SIZE);
    Entry->ReadOnlyPages = (ULONG)BYTES_TO_PAGES(__rodata_end - __text_end);
    Entry->DataPages =
        (ULONG)(BYTES_TO_PAGES(Entry->ImageSize) - Entry->TextPages - Entry->ReadOnlyPages);
    RtlStringCopy(Entry->Name, "kernel.elf", sizeof(Entry->Name));
}

static ULONG IopQueryModules(SYSTEM_MODULE_ENTRY *Out)
{
    ULONG Count = 1;
    KIRQL OldIrql;

    IopQueryKernelModule(&Out[0]);
    KeAcquireSpinLock(&IopLdrLock, &OldIrql);
    for (PLIST_ENTRY E = IopLoadedModuleList.Flink;
         E != &IopLoadedModuleList && Count < IOP_MAX_LISTED; E = E->Flink, Count++) {
        PIOP_LDR_MODULE Module = CONTAINING_RECORD(E, IOP_LDR_MODULE, InLoadOrderLinks);
        SYSTEM_MODULE_ENTRY *Entry = &Out[Count];
        Entry->ImageBase = (ULONG64)Module->DllBase;
        Entry->ImageSize = Module->Pages * PAGE_SIZE;
        Entry->LoadOrderIndex = Count;
        Entry->TextPages = Module->TextPages;
        Entry->ReadOnlyPages = Module->ReadOnlyPages;
        Entry->DataPages = Module->Pages - Module->TextPages - Module->ReadOnlyPages;
        Entry->PoolAllocations = Module->PoolCount;
        Entry->PoolBytes = Module->PoolBytes;
        RtlStringCopy(Entry->Name, Module->BaseDllName, sizeof(Entry->Name));
        if (Module->DriverObject)
            (void)ObQueryObjectName(Module->DriverObject, Entry->DriverName,
                                    sizeof(Entry->DriverName));
    }
    KeReleaseSpinLock(&IopLdrLock, OldIrql);
    return Count;
}

static void IopQueryDevice(PDEVICE_OBJECT Device, SYSTEM_DEVICE_ENTRY *Entry)
{
    PDEVICE_OBJECT Below = Device->DeviceObjectExtension->AttachedTo;
    Entry->Address = (ULONG64)Device;
    Entry->AttachedTo = (ULONG64)Below;
    Entry->DeviceType = Device->DeviceType;
    Entry->Flags = Device->Flags;
    Entry->StackSize = (ULONG)Device->StackSize;
    Entry->ReferenceCount = (ULONG)Device->ReferenceCount;
    (void)ObQueryObjectName(Device, Entry->DeviceName, sizeof(Entry->DeviceName));
    (void)ObQueryObjectName(Device->DriverObject, Entry->DriverName, sizeof(Entry->DriverName));
    if (Below)
        (void)ObQueryObjectName(Below, Entry->AttachedToName, sizeof(Entry->AttachedToName));
}

static ULONG IopQueryDevices(SYSTEM_DEVICE_ENTRY *Out)
{
    PLIST_ENTRY Head = IopDriverListHead();
    ULONG Count = 0;
    KIRQL OldIrql;

    KeAcquireSpinLock(&IopDatabaseLock, &OldIrql);
    for (PLIST_ENTRY E = Head->Flink; E != Head; E = E->Flink) {
        PDRIVER_EXTENSION Extension = CONTAINING_RECORD(E, DRIVER_EXTENSION, DriverListEntry);
        for (PDEVICE_OBJECT D = Extension->DriverObject->DeviceObject; D && Count < IOP_MAX_LISTED;
             D = D->NextDevice)
            IopQueryDevice(D, &Out[Count++]);
    }
    KeReleaseSpinLock(&IopDatabaseLock, OldIrql);
    return Count;
}

/* IoQueryDriverInformation: the contract is in io/io.h. */
NTSTATUS IoQueryDriverInformation(ULONG Class, ULONG Tag, PVOID *Data, SIZE_T *Size)
{
    SIZE_T EntrySize;
    if (Class == SystemModuleInformation)
        EntrySize = sizeof(SYSTEM_MODULE_ENTRY);
    else if (Class == SystemDeviceInformation)
        EntrySize = sizeof(SYSTEM_DEVICE_ENTRY);
    else
        return STATUS_INVALID_INFO_CLASS;
    PVOID Buffer = ExAllocatePoolWithTag(NonPagedPool, EntrySize * IOP_MAX_LISTED, Tag);
    if (!Buffer)
        return STATUS_INSUFFICIENT_RESOURCES;
    memset(Buffer, 0, EntrySize * IOP_MAX_LISTED);
    ULONG Count =
        Class == SystemModuleInformation ? IopQueryModules(Buffer) : IopQueryDevices(Buffer);
    *Data = Buffer;
    *Size = Count * EntrySize;
    return STATUS_SUCCESS;
}
