/*
 * irq.c - interrupts for drivers: IoConnectInterrupt and
 * IoDisconnectInterrupt, the I/O manager's wrappers around the kernel's
 * interrupt objects (kernel/interrupt.c).
 *
 * A driver learns its vector and IRQL from the HAL (HalGetInterruptVector,
 * from the bus and the IRQ it found, e.g. in PCI configuration space), then
 * connects its ISR here. The ISR runs at the device IRQL: it acknowledges
 * the device, saves what it must and queues the driver's DPC
 * (IoRequestDpc), which finishes the work at DISPATCH_LEVEL.
 *
 * The objects come from nonpaged pool (IO_INTERRUPT_TAG, "Intr"), because
 * the dispatcher reads them at device IRQL. PASSIVE_LEVEL.
 */
#include "io.h"

NTSTATUS IoConnectInterrupt(PKINTERRUPT *InterruptObject, PKSERVICE_ROUTINE ServiceRoutine,
                            PVOID ServiceContext, PKSPIN_LOCK SpinLock, ULONG Vector, KIRQL Irql,
                            KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                            BOOLEAN ShareVector, KAFFINITY ProcessorEnableMask,
                            BOOLEAN FloatingSave)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    *InterruptObject = NULL;
    if ((ProcessorEnableMask & 1) == 0 || ServiceRoutine == NULL)
        return STATUS_INVALID_PARAMETER;
    PKINTERRUPT Interrupt =
        ExAllocatePoolWithTag(NonPagedPool, sizeof(KINTERRUPT), IO_INTERRUPT_TAG);
    if (!Interrupt)
        return STATUS_INSUFFICIENT_RESOURCES;
    KeInitializeInterrupt(Interrupt, ServiceRoutine, ServiceContext, SpinLock, Vector, Irql,
                          SynchronizeIrql, InterruptMode, ShareVector, 0, FloatingSave);
    if (!KeConnectInterrupt(Interrupt)) {
        ExFreePoolWithTag(Interrupt, IO_INTERRUPT_TAG);
        return STATUS_INVALID_PARAMETER;
    }
    *InterruptObject = Interrupt;
    return STATUS_SUCCESS;
}

void IoDisconnectInterrupt(PKINTERRUPT InterruptObject)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    KeDisconnectInterrupt(InterruptObject);
    ExFreePoolWithTag(InterruptObject, IO_INTERRUPT_TAG);
}
