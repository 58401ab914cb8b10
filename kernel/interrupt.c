/*
 * interrupt.c - the interrupt controllers and the interrupt dispatcher.
 *
 * Hardware (Intel SDM Vol. 3A, chapter 13 "APIC"; the 82093AA IO-APIC
 * datasheet; the 8259A and 8254 datasheets):
 *   - the legacy 8259 PICs are remapped to vectors 0x20-0x2F and masked:
 *     every interrupt comes through the APICs;
 *   - the local APIC (0xFEE00000) gives the clock: its timer, calibrated
 *     against PIT channel 2, fires KI_CLOCK_HZ times a second on vector
 *     0xD1 (IRQL 13, CLOCK_LEVEL);
 *   - the IO-APIC (0xFEC00000) routes the ISA lines: IRQ4 (COM1 input) to
 *     vector 0x44 (IRQL 4) and IRQ1 (PS/2 keyboard) to vector 0x55 (IRQL 5).
 *     ISA IRQs 1 and 4 are wired to IO-APIC inputs 1 and 4 on QEMU's
 *     machines; Pagoda does not read the ACPI MADT to check (a shortcut).
 *
 * KiDispatchInterrupt runs for vectors 32-255 (kernel/trap.c): it raises
 * the IRQL to the vector's level, enables interrupts so that higher levels
 * can still come in, calls the service routine, sends the EOI, drops back to
 * the interrupted IRQL and delivers pending DPCs and reschedules.
 */
#include "ki.h"
#include "../mm/mm.h"
#include "../include/kusershared.h"

#define LAPIC_PHYSICAL      0xFEE00000ULL
#define IOAPIC_PHYSICAL     0xFEC00000ULL
#define LAPIC_ID            0x020
#define LAPIC_EOI           0x0B0
#define LAPIC_SVR           0x0F0
#define LAPIC_LVT_TIMER     0x320
#define LAPIC_LVT_LINT0     0x350
#define LAPIC_LVT_LINT1     0x360
#define LAPIC_LVT_ERROR     0x370
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE  0x3E0
#define LAPIC_MASKED        (1u << 16)
#define LAPIC_PERIODIC      (1u << 17)
#define MSR_APIC_BASE       0x1B

static volatile ULONG *KiLapic;
static volatile ULONG *KiIoApic;
ULONG KiApicTicksPerMs;

volatile ULONG64 KeTickCount;
volatile ULONG64 KiInterruptTime;

static ULONG KiLapicRead(ULONG Register)
{
    return KiLapic[Register / 4];
}

static void KiLapicWrite(ULONG Register, ULONG Value)
{
    KiLapic[Register / 4] = Value;
}

static void KiIoApicWrite(ULONG Register, ULONG Value)
{
    KiIoApic[0] = Register;         /* IOREGSEL */
    KiIoApic[4] = Value;            /* IOWIN at +0x10 */
}

/* Route ISA line Irq to Vector, edge-triggered, active high, to APIC 0. */
static void KiIoApicRoute(ULONG Irq, ULONG Vector)
{
    KiIoApicWrite(0x10 + 2 * Irq + 1, 0);          /* destination: APIC ID 0 */
    KiIoApicWrite(0x10 + 2 * Irq, Vector);         /* fixed, physical, unmasked */
}

static void KiMaskLegacyPic(void)
{
    /* ICW1-ICW4: init, vector bases 0x20/0x28, cascade on IRQ2, 8086 mode;
     * then mask every line. Remapping first keeps a stray 8259 interrupt
     * from landing on an exception vector. */
    __outbyte(0x20, 0x11);
    __outbyte(0xA0, 0x11);
    __outbyte(0x21, 0x20);
    __outbyte(0xA1, 0x28);
    __outbyte(0x21, 0x04);
    __outbyte(0xA1, 0x02);
    __outbyte(0x21, 0x01);
    __outbyte(0xA1, 0x01);
    __outbyte(0x21, 0xFF);
    __outbyte(0xA1, 0xFF);
}

/* Count APIC timer ticks during 1 ms of PIT channel 2 (1.193182 MHz, so
 * 1,193 counts: 0.1% resolution, plenty for a 1 kHz clock). Longer would be
 * more precise and cost boot time: the wait is a busy loop. */
static ULONG KiCalibrateApicTimer(void)
{
    const USHORT PitCount = 1193; /* 1 ms */
    UCHAR Gate = __inbyte(0x61);
    __outbyte(0x61, (Gate & ~0x02) | 0x01);        /* speaker off, gate on */
    __outbyte(0x43, 0xB0);                         /* channel 2, lo/hi, mode 0 */
    __outbyte(0x42, PitCount & 0xFF);
    __outbyte(0x42, PitCount >> 8);
    KiLapicWrite(LAPIC_TIMER_DIVIDE, 0x3);         /* divide by 16 */
    KiLapicWrite(LAPIC_TIMER_INITIAL, 0xFFFFFFFF);
    while (!(__inbyte(0x61) & 0x20))               /* OUT2 goes high at 0 */
        ;
    ULONG Elapsed = 0xFFFFFFFF - KiLapicRead(LAPIC_TIMER_CURRENT);
    KiLapicWrite(LAPIC_TIMER_INITIAL, 0);
    __outbyte(0x61, Gate);
    return Elapsed;
}

/*
 * Bring up the interrupt controllers and start the clock. Called once the
 * memory manager can map device memory, with interrupts disabled; the
 * caller enables them.
 */
void KiInitializeInterrupts(void)
{
    PHYSICAL_ADDRESS Physical;

    KiMaskLegacyPic();
    __writemsr(MSR_APIC_BASE, __readmsr(MSR_APIC_BASE) | (1ULL << 11));
    Physical.QuadPart = LAPIC_PHYSICAL;
    KiLapic = MmMapIoSpace(Physical, PAGE_SIZE, TRUE);
    Physical.QuadPart = IOAPIC_PHYSICAL;
    KiIoApic = MmMapIoSpace(Physical, PAGE_SIZE, TRUE);
    if (!KiLapic || !KiIoApic)
        KeBugCheckEx(PHASE0_INITIALIZATION_FAILED, 0xA91C, 0, 0, 0);

    KiLapicWrite(LAPIC_SVR, 0x100 | KI_SPURIOUS_VECTOR);  /* enable, spurious vector */
    KiLapicWrite(LAPIC_LVT_LINT0, LAPIC_MASKED);
    KiLapicWrite(LAPIC_LVT_LINT1, LAPIC_MASKED);
    KiLapicWrite(LAPIC_LVT_ERROR, LAPIC_MASKED);
    __writecr8(HIGH_LEVEL);

    KiApicTicksPerMs = KiCalibrateApicTimer();
    if (KiApicTicksPerMs == 0)
        KiApicTicksPerMs = 1;
    KiLapicWrite(LAPIC_TIMER_DIVIDE, 0x3);
    KiLapicWrite(LAPIC_LVT_TIMER, LAPIC_PERIODIC | KI_CLOCK_VECTOR);
    KiLapicWrite(LAPIC_TIMER_INITIAL, KiApicTicksPerMs * 1000 / KI_CLOCK_HZ);

    KiIoApicRoute(4, KI_COM1_VECTOR);
    KiIoApicRoute(1, KI_KEYBOARD_VECTOR);
    KiSerialEnableInterrupts();

    KdPrintBoot("Interrupts: local APIC timer %u ticks/ms (calibrated against PIT channel 2), "
                "clock %u Hz on vector 0x%x; IO-APIC: COM1 -> 0x%x, keyboard -> 0x%x\n",
                KiApicTicksPerMs, KI_CLOCK_HZ, KI_CLOCK_VECTOR, KI_COM1_VECTOR,
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
        KiSerialInterrupt();
        break;
    case KI_KEYBOARD_VECTOR:
        KiKeyboardInterrupt();
        break;
    default:
        DbgPrint("interrupt: unexpected vector 0x%x ignored\n", Vector);
        break;
    }
    _disable();
    if (KiLapic)
        KiLapicWrite(LAPIC_EOI, 0);
    if (OldIrql < DISPATCH_LEVEL)
        KiDeliverSoftwareInterrupts(OldIrql);
    else
        __writecr8(OldIrql);
}
