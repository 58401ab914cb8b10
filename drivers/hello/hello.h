/*
 * hello.h - the hello driver's I/O controls (drivers/hello/hello.c), for
 * the tests that load it and ask it to misbehave.
 */
#ifndef PAGODA_HELLO_H
#define PAGODA_HELLO_H

#define HELLO_POOL_TAG POOL_TAG('H', 'l', 'l', 'o')
#define HELLO_LEAK_TAG POOL_TAG('L', 'e', 'a', 'k')

/* Allocate a block with HELLO_LEAK_TAG and forget it: the unload that
 * follows is Driver Verifier's 0xC4/0x62. */
#define IOCTL_HELLO_LEAK_POOL CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Make DriverUnload keep \Device\Hello: the unload is refused. */
#define IOCTL_HELLO_KEEP_DEVICE \
    CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Bugcheck from inside the driver (its name is in the backtrace). */
#define IOCTL_HELLO_CRASH CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Return the address of each of its sections' first bytes (HELLO_SECTIONS)
 * so a test can read their PTEs back. */
#define IOCTL_HELLO_ADDRESSES CTL_CODE(FILE_DEVICE_UNKNOWN, 0x803, METHOD_BUFFERED, FILE_ANY_ACCESS)

/* Keep the IRP pending, with a cancel routine, and forget it at unload: a
 * later IoCancelIrp calls code that is gone (NT's 0xCE). */
#define IOCTL_HELLO_PEND CTL_CODE(FILE_DEVICE_UNKNOWN, 0x804, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _HELLO_SECTIONS {
    ULONG_PTR Text; /* a function */
    ULONG_PTR ReadOnly; /* a const table */
    ULONG_PTR Data; /* an initialized variable */
    ULONG_PTR Bss; /* a zero-initialized one */
} HELLO_SECTIONS;

#endif /* PAGODA_HELLO_H */
