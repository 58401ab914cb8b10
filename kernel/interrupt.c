/*
 * interrupt.c - the interrupt dispatcher and the clock.
 *
 * KiInitializeInterrupts asks the HAL (hal/apic.c) for the controllers: the
 * APIC timer as the clock, KI_CLOCK_HZ times a second on vector 0xD1 (IRQL
 * 13, CLOCK_LEVEL), and the ISA lines of COM1 (IRQ4 -> vector 0x44, IRQL 4)
 * and the PS/2 keyboard (IRQ1 -> vector 0x55, IRQL 5), whose service
 * routines are the console driver's (io/drivers/console.c).
 *
 * KiDispatchInterrupt runs for vectors 32-255 (kernel/trap.c): it raises
 * the IRQL to the vector's level, enables interrupts so that higher levels
 * can still come in, calls the service routine, sends the EOI, drops back to
 * the interrupted IRQL and delivers pending DPCs and reschedules.
 */
#include "ki.h"
#include "../mm/mm.h"
#include "../io/io.h"
#include "../include/kusershared.h"

volatile ULONG64 KeTickCount;
volatile ULONG64 KiInterruptTime;

/*
 * Bring up the interrupt controllers and start the clock. Called once the
 * memory manager can map device memory, with interrupts disabled; the
 * caller enables them.
 */
void KiInitializeInterrupts(void)
{
    ULONG TicksPerMs = HalInitializeInterruptControllers(KI_CLOCK_HZ, KI_CLOCK_VECTOR,
                                                         KI_SPURIOUS_VECTOR);
    HalRouteIsaInterrupt(4, KI_COM1_VECTOR);
    HalRouteIsaInterrupt(1, KI_KEYBOARD_VECTOR);
    IoConsoleEnableSerialInput();

    KdPrintBoot("Interrupts: local APIC timer %u ticks/ms (calibrated against PIT channel 2), "
                "clock %u Hz on vector 0x%x; IO-APIC: COM1 -> 0x%x, keyboard -> 0x%x\n",
                TicksPerMs, KI_CLOCK_HZ, KI_CLOCK_VECTOR, KI_COM1_VECTOR,
                KI_KEYBOARD_VECTOR);
}

/* Publish the time where user mode can read it without a system call
 * (the KSYSTEM_TIME protocol: High2Time, LowPart, High1Time). */
void KiUpdateSharedUserData(void)
{
    KUSER_SHARED_DATA *Shared = (KUSER_SHARED_DATA *)MM_SHARED_USER_DATA_VA;
    ULONG64 Time = KiInterruptTime;
    Shared->InterruptTime.High2Time = (LONG)(Time >> 32);
    Shared->InterruptTime.LowPart = (ULONG)Time;
    Shared->InterruptTime.High1Time = (LONG)(Time >> 32);
    Shared->TickCount.High2Time = (LONG)(KeTickCount >> 32);
    Shared->TickCount.LowPart = (ULONG)KeTickCount;
    Shared->TickCount.High1Time = (LONG)(KeTickCount >> 32);
    Shared->TickCountMultiplier = 0x0FA00000; /* 1 ms ticks, in NT's 24.8 format */
}

/* The clock, at CLOCK_LEVEL: time, timers, the quantum. */
static void KiClockInterrupt(void)
{
    KeTickCount++;
    KiInterruptTime += KI_TIME_INCREMENT;
    KeSchedulerCounters.ClockInterrupts++;
    KiUpdateSharedUserData();
    KiCheckTimers(KiInterruptTime);

    PKTHREAD Thread = KiPcr.CurrentThread;
    if (Thread && Thread != KiPcr.IdleThread && --Thread->Quantum <= 0) {
        KiPcr.QuantumEnd = TRUE;
        KiPcr.DispatchInterruptRequested = TRUE;
    }
}

void KiDispatchInterrupt(PKTRAP_FRAME TrapFrame)
{
    ULONG Vector = (ULONG)TrapFrame->Vector;
    if (Vector == KI_SPURIOUS_VECTOR)
        return; /* no EOI for a spurious interrupt (SDM 13.9) */

    KIRQL OldIrql = (KIRQL)__readcr8();
    KeSchedulerCounters.Interrupts++;
    __writecr8(Vector >> 4);
    _enable();
    switch (Vector) {
    case KI_CLOCK_VECTOR:
        KiClockInterrupt();
        break;
    case KI_COM1_VECTOR:
        IoConsoleSerialInterrupt();
        break;
    case KI_KEYBOARD_VECTOR:
        IoConsoleKeyboardInterrupt();
        break;
    default:
        DbgPrint("interrupt: unexpected vector 0x%x ignored\n", Vector);
        break;
    }
    _disable();
    HalEndOfInterrupt();
    if (OldIrql < DISPATCH_LEVEL)
        KiDeliverSoftwareInterrupts(OldIrql);
    else
        __writecr8(OldIrql);
}
