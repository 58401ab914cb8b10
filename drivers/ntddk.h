/*
 * ntddk.h - what a driver includes: the kernel's public headers (the I/O
 * manager's io/io.h brings Ke, Ob and Mm along). A loadable driver (.sys)
 * may call only what the kernel exports (io/ldrexp.c lists it); the
 * static inline helpers of these headers (IoGetCurrentIrpStackLocation,
 * IoSkipCurrentIrpStackLocation, ...) are compiled into the driver. The
 * loader's side is docs/drivers.md.
 */
#ifndef PAGODA_NTDDK_H
#define PAGODA_NTDDK_H

#include "../io/io.h"
#include "../rtl/rtl.h"

/* A driver's entry point. A .sys exports it by this name; a driver built
 * into the kernel as well renames it (drivers/nullflt/nullflt.c). */
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

#endif /* PAGODA_NTDDK_H */
