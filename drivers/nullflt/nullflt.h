/*
 * nullflt.h - the null filter's interface (drivers/nullflt/nullflt.c):
 * its query I/O control and, for the kernel it is linked into, its entry.
 */
#ifndef PAGODA_NULLFLT_H
#define PAGODA_NULLFLT_H

#define NULLFLT_TAG POOL_TAG('N', 'F', 'l', 't')

/* METHOD_BUFFERED, sent to the top of \Device\Null's stack (the filter
 * answers it and does not pass it down): NULLFLT_COUNTS out. */
#define IOCTL_NULLFLT_QUERY_COUNTS \
    CTL_CODE(FILE_DEVICE_NULL, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _NULLFLT_COUNTS {
    ULONG Irps[IRP_MJ_MAXIMUM_FUNCTION + 1]; /* IRPs seen, by major function */
} NULLFLT_COUNTS;

/* DriverEntry of the copy linked into the kernel (the .sys has it as
 * DriverEntry): load it with IoCreateDriver(\Driver\NullFilter, ...). */
NTSTATUS NullFilterDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

#endif /* PAGODA_NULLFLT_H */
