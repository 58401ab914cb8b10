/*
 * apic.c - the interrupt controllers and the clock's timer.
 *
 * Hardware (Intel SDM Vol. 3A, chapter 13 "APIC"; the 82093AA IO-APIC
 * datasheet; the 8259A and 8254 datasheets):
 *   - the legacy 8259 PICs are remapped to vectors 0x20-0x2F and masked:
 *     every interrupt comes through the APICs;
 *   - the local APIC (0xFEE00000) gives the clock: its timer, calibrated
 *     against PIT channel 2, fires periodically on the vector the kernel
 *     asks for (kernel/interrupt.c asks for 0xD1, CLOCK_LEVEL);
 *   - the IO-APIC (0xFEC00000) routes the ISA lines to the vectors of
 *     HalpIsaVector (HalGetInterruptVector tells a driver its vector; the
 *     kernel unmasks a line when the first interrupt object connects to it,
 *     HalEnableSystemInterrupt). ISA IRQ n is wired to IO-APIC input n on
 *     QEMU's machines; Pagoda does not read the ACPI MADT to check (a
 *     shortcut until the SMP issue);
 *   - the local APIC's command register sends this processor a device
 *     vector (HalSendSelfIpi), for the kernel tests.
 *
 * The two register pages are mapped once at boot and never change, so
 * nothing here takes a lock; one processor writes them.
 */
#include "hal.h"
#include "../kernel/ke.h"
#include "../mm/mm.h"
#include "../include/intrin.h"

#define LAPIC_PHYSICAL      0xFEE00000ULL
#define IOAPIC_PHYSICAL     0xFEC00000ULL
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

static volatile ULONG *HalpLapic;
static volatile ULONG *HalpIoApic;
ULONG HalApicTicksPerMs;

static ULONG HalpLapicRead(ULONG Register)
{
    return HalpLapic[Register / 4];
}

static void HalpLapicWrite(ULONG Register, ULONG Value)
{
    HalpLapic[Register / 4] = Value;
}

static void HalpIoApicWrite(ULONG Register, ULONG Value)
{
    HalpIoApic[0] = Register;       /* IOREGSEL */
    HalpIoApic[4] = Value;          /* IOWIN at +0x10 */
}

/* ISA IRQ -> vector (0: none). The upper nibble is the IRQL: the disk
 * channels above the keyboard above the serial ports, all below the clock
 * (0xD1). IRQ 0 (the PIT) and 2 (the cascade) are not devices here. */
static const UCHAR HalpIsaVector[16] = {
    [1] = 0x55, [3] = 0x43,  [4] = 0x44,  [5] = 0x35,  [6] = 0x36,  [7] = 0x37,  [8] = 0x88,
    [9] = 0x79, [10] = 0x7A, [11] = 0x7B, [12] = 0x5C, [14] = 0x6E, [15] = 0x6F,
};

ULONG HalGetInterruptVector(INTERFACE_TYPE InterfaceType, ULONG BusNumber, ULONG BusInterruptLevel,
                            ULONG BusInterruptVector, PUCHAR Irql, PULONG_PTR Affinity)
{
    UNREFERENCED_PARAMETER(BusNumber);
    UNREFERENCED_PARAMETER(BusInterruptVector);
    *Irql = 0;
    *Affinity = 1;
    if ((InterfaceType != Isa && InterfaceType != PCIBus) || BusInterruptLevel >= 16)
        return 0;
    ULONG Vector = HalpIsaVector[BusInterruptLevel];
    *Irql = (UCHAR)(Vector >> 4);
    return Vector;
}

/* The IO-APIC input behind Vector, or -1. */
static int HalpVectorToIrq(ULONG Vector)
{
    for (int Irq = 0; Irq < 16; Irq++) {
        if (Vector != 0 && HalpIsaVector[Irq] == Vector)
            return Irq;
    }
    return -1;
}

#define IOAPIC_LEVEL (1u << 15)
#define IOAPIC_ACTIVE_LOW (1u << 13)
#define IOAPIC_MASKED (1u << 16)

BOOLEAN HalEnableSystemInterrupt(ULONG Vector, UCHAR Irql, ULONG Mode)
{
    UNREFERENCED_PARAMETER(Irql);
    int Irq = HalpVectorToIrq(Vector);
    if (Irq < 0 || !HalpIoApic)
        return FALSE;
    ULONG Low = Vector; /* fixed, physical, unmasked */
    if (Mode == 0) /* LevelSensitive: PCI INTx */
        Low |= IOAPIC_LEVEL | IOAPIC_ACTIVE_LOW;
    HalpIoApicWrite(0x10 + 2 * Irq + 1, 0); /* destination: APIC ID 0 */
    HalpIoApicWrite(0x10 + 2 * Irq, Low);
    return TRUE;
}

BOOLEAN HalDisableSystemInterrupt(ULONG Vector, UCHAR Irql)
{
    UNREFERENCED_PARAMETER(Irql);
    int Irq = HalpVectorToIrq(Vector);
    if (Irq < 0 || !HalpIoApic)
        return FALSE;
    HalpIoApicWrite(0x10 + 2 * Irq, IOAPIC_MASKED | Vector);
    return TRUE;
}

#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_PENDING (1u << 12)
#define LAPIC_ICR_SELF (1u << 18)

void HalSendSelfIpi(ULONG Vector)
{
    /* Fixed delivery mode, edge, destination shorthand "self" (SDM 11.6.1). */
    HalpLapicWrite(LAPIC_ICR_LOW, LAPIC_ICR_SELF | (Vector & 0xFF));
    while (HalpLapicRead(LAPIC_ICR_LOW) & LAPIC_ICR_PENDING)
        ;
}

void HalEndOfInterrupt(void)
{
    if (HalpLapic)
        HalpLapicWrite(LAPIC_EOI, 0);
}

static void HalpMaskLegacyPic(void)
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
static ULONG HalpCalibrateApicTimer(void)
{
    const USHORT PitCount = 1193; /* 1 ms */
    UCHAR Gate = __inbyte(0x61);
    __outbyte(0x61, (Gate & ~0x02) | 0x01);        /* speaker off, gate on */
    __outbyte(0x43, 0xB0);                         /* channel 2, lo/hi, mode 0 */
    __outbyte(0x42, PitCount & 0xFF);
    __outbyte(0x42, PitCount >> 8);
    HalpLapicWrite(LAPIC_TIMER_DIVIDE, 0x3);       /* divide by 16 */
    HalpLapicWrite(LAPIC_TIMER_INITIAL, 0xFFFFFFFF);
    while (!(__inbyte(0x61) & 0x20))               /* OUT2 goes high at 0 */
        ;
    ULONG Elapsed = 0xFFFFFFFF - HalpLapicRead(LAPIC_TIMER_CURRENT);
    HalpLapicWrite(LAPIC_TIMER_INITIAL, 0);
    __outbyte(0x61, Gate);
    return Elapsed;
}

ULONG HalInitializeInterruptControllers(ULONG ClockHz, ULONG ClockVector, ULONG SpuriousVector)
{
    PHYSICAL_ADDRESS Physical;

    HalpMaskLegacyPic();
    __writemsr(MSR_APIC_BASE, __readmsr(MSR_APIC_BASE) | (1ULL << 11));
    Physical.QuadPart = LAPIC_PHYSICAL;
    HalpLapic = MmMapIoSpace(Physical, PAGE_SIZE, TRUE);
    Physical.QuadPart = IOAPIC_PHYSICAL;
    HalpIoApic = MmMapIoSpace(Physical, PAGE_SIZE, TRUE);
    if (!HalpLapic || !HalpIoApic)
        KeBugCheckEx(PHASE0_INITIALIZATION_FAILED, 0xA91C, 0, 0, 0);

    HalpLapicWrite(LAPIC_SVR, 0x100 | SpuriousVector);  /* enable, spurious vector */
    HalpLapicWrite(LAPIC_LVT_LINT0, LAPIC_MASKED);
    HalpLapicWrite(LAPIC_LVT_LINT1, LAPIC_MASKED);
    HalpLapicWrite(LAPIC_LVT_ERROR, LAPIC_MASKED);
    __writecr8(HIGH_LEVEL);

    HalApicTicksPerMs = HalpCalibrateApicTimer();
    if (HalApicTicksPerMs == 0)
        HalApicTicksPerMs = 1;
    HalpLapicWrite(LAPIC_TIMER_DIVIDE, 0x3);
    HalpLapicWrite(LAPIC_LVT_TIMER, LAPIC_PERIODIC | ClockVector);
    HalpLapicWrite(LAPIC_TIMER_INITIAL, HalApicTicksPerMs * 1000 / ClockHz);
    return HalApicTicksPerMs;
}
