/*
 * ktio.h - one synchronous request to a device, the way a driver sends
 * one (IoBuild*Request, IoCallDriver, wait on the event if it pended), for
 * the kernel tests of the disk, partition and loadable drivers. The
 * status block starts as {STATUS_PENDING, 0xDEAD}, so a request that
 * never reached its end shows. PASSIVE_LEVEL, the test's own thread.
 */
#ifndef PAGODA_KTIO_H
#define PAGODA_KTIO_H

#include "../../include/ktest.h"
#include "../../io/io.h"

/* Send Irp (NULL: the builder failed) to Device and wait for its end: the
 * final status; *Information (if not NULL) the bytes. */
static inline NTSTATUS KtCallDriverAndWait(PDEVICE_OBJECT Device, PIRP Irp, PKEVENT Event,
                                           PIO_STATUS_BLOCK Iosb, ULONG_PTR *Information)
{
    if (Irp == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS Status = IoCallDriver(Device, Irp);
    if (Status == STATUS_PENDING) {
        (void)KeWaitForSingleObject(Event, Executive, KernelMode, FALSE, NULL);
        Status = Iosb->Status;
    }
    if (Information)
        *Information = Iosb->Information;
    return Status;
}

/* IRP_MJ_READ, IRP_MJ_WRITE or IRP_MJ_FLUSH_BUFFERS of Length bytes at
 * byte Offset (IoBuildSynchronousFsdRequest: the buffer goes as the
 * device asks, buffered or by an MDL). */
static inline NTSTATUS KtDeviceIo(PDEVICE_OBJECT Device, ULONG Major, PVOID Buffer, ULONG Length,
                                  ULONG64 Offset, ULONG_PTR *Information)
{
    KEVENT Event;
    IO_STATUS_BLOCK Iosb = {{STATUS_PENDING}, 0xDEAD};
    LARGE_INTEGER Start = {.QuadPart = (LONGLONG)Offset};
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    PIRP Irp = IoBuildSynchronousFsdRequest(Major, Device, Buffer, Length, &Start, &Event, &Iosb);
    return KtCallDriverAndWait(Device, Irp, &Event, &Iosb, Information);
}

/* IRP_MJ_DEVICE_CONTROL Code with an input and an output buffer
 * (IoBuildDeviceIoControlRequest: as the code's transfer method says). */
static inline NTSTATUS KtDeviceControl(PDEVICE_OBJECT Device, ULONG Code, PVOID In,
                                       ULONG InLength, PVOID Out, ULONG OutLength,
                                       ULONG_PTR *Information)
{
    KEVENT Event;
    IO_STATUS_BLOCK Iosb = {{STATUS_PENDING}, 0xDEAD};
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    PIRP Irp = IoBuildDeviceIoControlRequest(Code, Device, In, InLength, Out, OutLength, FALSE,
                                             &Event, &Iosb);
    return KtCallDriverAndWait(Device, Irp, &Event, &Iosb, Information);
}

#endif /* PAGODA_KTIO_H */
