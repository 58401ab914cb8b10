/*
 * badimp.c - a driver the loader must refuse: it calls a routine the
 * kernel does not export (KeNotExportedRoutine), so loading it fails with
 * STATUS_DRIVER_ENTRYPOINT_NOT_FOUND and a message naming that routine,
 * and DriverEntry never runs. Used by the loader's tests.
 */
#include "../ntddk.h"

void KeNotExportedRoutine(void);

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)DriverObject;
    (void)RegistryPath;
    KeNotExportedRoutine();
    return STATUS_SUCCESS;
}
