/*
 * apic.c - the interrupt controllers, the clock's timer, and the
 * inter-processor interrupts that start the other processors.
 *
 * Hardware (Intel SDM Vol. 3A, the chapter "APIC"; the 82093AA IO-APIC
 * datasheet; the 8259A and 8254 datasheets; the ACPI MADT, hal/acpi.c):
 *   - the legacy 8259 PICs are remapped to vectors 0x20-0x2F and masked:
 *     every interrupt comes through the APICs;
 *   - the local APIC (at the MADT's address, 0xFEE00000 on a PC) gives the
 *     clock: its timer, calibrated against PIT channel 2, fires
 *     periodically on the vector the kernel asks for (kernel/interrupt.c
 *     asks for 0xD1, CLOCK_LEVEL);
 *   - the IO-APICs (each at the MADT's address, with its GSI base) route
 *     the ISA lines to the vectors of HalpIsaVector (HalGetInterruptVector
 *     tells a driver its vector; the kernel unmasks a line when the first
 *     interrupt object connects to it, HalEnableSystemInterrupt). ISA IRQ
 *     n arrives on global system interrupt (GSI) n unless the MADT has an
 *     interrupt source override for it (on QEMU's PC: IRQ 0 -> GSI 2, and
 *     IRQs 5, 9, 10, 11 level-triggered); the override's polarity and
 *     trigger mode are programmed. Without a MADT, the old assumption (ISA
 *     IRQ n = input n of one IO-APIC at 0xFEC00000) is used, with a
 *     warning;
 *   - the local APIC's command register sends this processor a device
 *     vector (HalSendSelfIpi), for the kernel tests, and INIT and STARTUP
 *     IPIs to the other processors (HalStartProcessor, kernel/mp.c);
 *   - PIT channel 2 also measures short busy waits
 *     (KeStallExecutionProcessor).
 *
 * The register pages are mapped once at boot and never change. Only the
 * boot processor writes the IO-APICs and starts processors; any processor
 * may send an IPI (HalRequestIpi, HalSendNmi: its own local APIC, the ICR
 * written with interrupts off), so nothing here takes a lock.
 */
#include "hal.h"
#include "../kernel/ke.h"
#include "../mm/mm.h"
#include "../include/intrin.h"

#define LAPIC_PHYSICAL 0xFEE00000ULL /* without a MADT: the PC's addresses */
#define IOAPIC_PHYSICAL     0xFEC00000ULL
#define LAPIC_ID 0x020
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
ULONG HalApicTicksPerMs;

/* The IO-APICs, mapped: each serves Inputs GSIs from GsiBase. */
typedef struct _HALP_IO_APIC {
    volatile ULONG *Registers;
    ULONG GsiBase;
    ULONG Inputs;
} HALP_IO_APIC;
static HALP_IO_APIC HalpIoApics[HAL_MAXIMUM_IO_APICS];
static ULONG HalpIoApicCount;
static UCHAR HalpBootApicId; /* where device interrupts go */

static ULONG HalpLapicRead(ULONG Register)
{
    return HalpLapic[Register / 4];
}

static void HalpLapicWrite(ULONG Register, ULONG Value)
{
    HalpLapic[Register / 4] = Value;
}

static void HalpIoApicWrite(HALP_IO_APIC *IoApic, ULONG Register, ULONG Value)
{
    IoApic->Registers[0] = Register; /* IOREGSEL */
    IoApic->Registers[4] = Value; /* IOWIN at +0x10 */
}

static ULONG HalpIoApicRead(HALP_IO_APIC *IoApic, ULONG Register)
{
    IoApic->Registers[0] = Register;
    return IoApic->Registers[4];
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
#define IOAPIC_VERSION 0x01
#define IOAPIC_REDIRECTION(Input) (0x10 + 2 * (Input))

/* The GSI behind ISA IRQ Irq and the MADT's INTI flags for it (0: conforms
 * to the bus). */
static ULONG HalpIsaIrqToGsi(ULONG Irq, PUSHORT Flags)
{
    for (ULONG i = 0; i < HalMadt.OverrideCount; i++) {
        if (HalMadt.Overrides[i].Bus == 0 && HalMadt.Overrides[i].Source == Irq) {
            *Flags = HalMadt.Overrides[i].Flags;
            return HalMadt.Overrides[i].Gsi;
        }
    }
    *Flags = 0;
    return Irq;
}

/* The IO-APIC that serves Gsi, and its input there. */
static HALP_IO_APIC *HalpGsiToIoApic(ULONG Gsi, PULONG Input)
{
    for (ULONG i = 0; i < HalpIoApicCount; i++) {
        HALP_IO_APIC *IoApic = &HalpIoApics[i];
        if (Gsi >= IoApic->GsiBase && Gsi - IoApic->GsiBase < IoApic->Inputs) {
            *Input = Gsi - IoApic->GsiBase;
            return IoApic;
        }
    }
    return NULL;
}

/* The redirection entry's low word: Vector, fixed delivery, physical
 * destination, unmasked; polarity and trigger from the override's flags,
 * or, where they conform to the bus, from Mode (0 level-sensitive, active
 * low: PCI INTx; 1 latched, active high: ISA). */
static ULONG HalpRedirectionLow(ULONG Vector, ULONG Mode, USHORT Flags)
{
    ULONG Low = Vector;
    USHORT Trigger = Flags & HAL_INTI_TRIGGER_MASK;
    USHORT Polarity = Flags & HAL_INTI_POLARITY_MASK;
    if (Trigger == HAL_INTI_TRIGGER_LEVEL || (Trigger == 0 && Mode == 0))
        Low |= IOAPIC_LEVEL;
    if (Polarity == HAL_INTI_POLARITY_LOW || (Polarity == 0 && Mode == 0))
        Low |= IOAPIC_ACTIVE_LOW;
    return Low;
}

BOOLEAN HalEnableSystemInterrupt(ULONG Vector, UCHAR Irql, ULONG Mode)
{
    UNREFERENCED_PARAMETER(Irql);
    USHORT Flags;
    ULONG Input;
    int Irq = HalpVectorToIrq(Vector);
    if (Irq < 0)
        return FALSE;
    HALP_IO_APIC *IoApic = HalpGsiToIoApic(HalpIsaIrqToGsi((ULONG)Irq, &Flags), &Input);
    if (!IoApic)
        return FALSE;
    HalpIoApicWrite(IoApic, IOAPIC_REDIRECTION(Input) + 1, (ULONG)HalpBootApicId << 24);
    HalpIoApicWrite(IoApic, IOAPIC_REDIRECTION(Input), HalpRedirectionLow(Vector, Mode, Flags));
    return TRUE;
}

BOOLEAN HalDisableSystemInterrupt(ULONG Vector, UCHAR Irql)
{
    UNREFERENCED_PARAMETER(Irql);
    USHORT Flags;
    ULONG Input;
    int Irq = HalpVectorToIrq(Vector);
    if (Irq < 0)
        return FALSE;
    HALP_IO_APIC *IoApic = HalpGsiToIoApic(HalpIsaIrqToGsi((ULONG)Irq, &Flags), &Input);
    if (!IoApic)
        return FALSE;
    HalpIoApicWrite(IoApic, IOAPIC_REDIRECTION(Input), IOAPIC_MASKED | Vector);
    return TRUE;
}

BOOLEAN HalQueryIsaIrqRoute(ULONG Irq, PHAL_ISA_IRQ_ROUTE Route)
{
    ULONG Input;
    if (Irq >= 16)
        return FALSE;
    Route->Gsi = HalpIsaIrqToGsi(Irq, &Route->Flags);
    HALP_IO_APIC *IoApic = HalpGsiToIoApic(Route->Gsi, &Input);
    if (!IoApic)
        return FALSE;
    Route->IoApic = (ULONG)(IoApic - HalpIoApics);
    Route->Input = Input;
    /* IOREGSEL/IOWIN are a pair: keep an interrupt's routine out between. */
    ULONG64 Flags = __readeflags();
    _disable();
    Route->RedirectionLow = HalpIoApicRead(IoApic, IOAPIC_REDIRECTION(Input));
    Route->RedirectionHigh = HalpIoApicRead(IoApic, IOAPIC_REDIRECTION(Input) + 1);
    __writeeflags(Flags);
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

#define LAPIC_ICR_HIGH 0x310
#define LAPIC_ICR_INIT (5u << 8) /* delivery mode 101b */
#define LAPIC_ICR_STARTUP (6u << 8) /* delivery mode 110b */
#define LAPIC_ICR_ASSERT (1u << 14)
#define LAPIC_ICR_WAIT_US 1000 /* "send pending" longer than this: no one took it */

/* Write the ICR (destination first: the low word's write sends) and wait
 * for the local APIC to accept the IPI. FALSE when it stays pending. */
static BOOLEAN HalpSendIpi(UCHAR ApicId, ULONG Low)
{
    HalpLapicWrite(LAPIC_ICR_HIGH, (ULONG)ApicId << 24);
    HalpLapicWrite(LAPIC_ICR_LOW, Low);
    for (ULONG Waited = 0; Waited < LAPIC_ICR_WAIT_US; Waited += 10) {
        if (!(HalpLapicRead(LAPIC_ICR_LOW) & LAPIC_ICR_PENDING))
            return TRUE;
        KeStallExecutionProcessor(10);
    }
    return FALSE;
}

#define LAPIC_ICR_NMI (4u << 8) /* delivery mode 100b */

/* Fixed (or NMI) delivery to one APIC id, physical destination, edge (SDM
 * 11.6.1). The two ICR writes must not be split by an interrupt on this
 * processor that sends an IPI of its own: interrupts off around them. Wait
 * only for the local APIC to take the IPI (the pending bit), no stall:
 * KeStallExecutionProcessor uses the one PIT, which another processor
 * may be using. */
static void HalpSendFixedIpi(UCHAR ApicId, ULONG Low)
{
    ULONG64 Flags = __readeflags();
    _disable();
    HalpLapicWrite(LAPIC_ICR_HIGH, (ULONG)ApicId << 24);
    HalpLapicWrite(LAPIC_ICR_LOW, Low);
    while (HalpLapicRead(LAPIC_ICR_LOW) & LAPIC_ICR_PENDING)
        _mm_pause();
    __writeeflags(Flags);
}

void HalRequestIpi(UCHAR ApicId, ULONG Vector)
{
    HalpSendFixedIpi(ApicId, LAPIC_ICR_ASSERT | (Vector & 0xFF));
}

void HalSendNmi(UCHAR ApicId)
{
    HalpSendFixedIpi(ApicId, LAPIC_ICR_NMI | LAPIC_ICR_ASSERT);
}

BOOLEAN HalStartProcessor(UCHAR ApicId, ULONG64 StartupPhysical)
{
    ULONG Vector = (ULONG)(StartupPhysical >> PAGE_SHIFT) & 0xFF;
    /* Intel SDM Vol. 3A, "Typical BSP Initialization Sequence" (8.4.4.1
     * in the 2009-2022 editions): INIT, 10 ms, then
     * STARTUP twice with 200 us after each. A processor already running
     * ignores the second STARTUP. */
    if (!HalpSendIpi(ApicId, LAPIC_ICR_INIT | LAPIC_ICR_ASSERT))
        return FALSE;
    KeStallExecutionProcessor(10000);
    for (int i = 0; i < 2; i++) {
        if (!HalpSendIpi(ApicId, LAPIC_ICR_STARTUP | LAPIC_ICR_ASSERT | Vector))
            return FALSE;
        KeStallExecutionProcessor(200);
    }
    return TRUE;
}

UCHAR HalGetCurrentApicId(void)
{
    return (UCHAR)(HalpLapicRead(LAPIC_ID) >> 24);
}

void HalInitializeApplicationProcessor(ULONG SpuriousVector)
{
    __writemsr(MSR_APIC_BASE, __readmsr(MSR_APIC_BASE) | (1ULL << 11));
    HalpLapicWrite(LAPIC_SVR, 0x100 | SpuriousVector);
    HalpLapicWrite(LAPIC_LVT_TIMER, LAPIC_MASKED);
    HalpLapicWrite(LAPIC_LVT_LINT0, LAPIC_MASKED);
    HalpLapicWrite(LAPIC_LVT_LINT1, LAPIC_MASKED);
    HalpLapicWrite(LAPIC_LVT_ERROR, LAPIC_MASKED);
    __writecr8(HIGH_LEVEL);
}

/* Busy-wait on PIT channel 2 (mode 0, 1.193182 MHz), at most 50 ms per
 * round (the counter's 16 bits). */
void KeStallExecutionProcessor(ULONG MicroSeconds)
{
    while (MicroSeconds > 0) {
        ULONG Step = MicroSeconds > 50000 ? 50000 : MicroSeconds;
        ULONG Count = (ULONG)((ULONG64)Step * 1193182 / 1000000);
        if (Count < 2)
            Count = 2;
        UCHAR Gate = __inbyte(0x61);
        __outbyte(0x61, (Gate & ~0x02) | 0x01); /* speaker off, gate on */
        __outbyte(0x43, 0xB0); /* channel 2, lo/hi, mode 0 */
        __outbyte(0x42, Count & 0xFF);
        __outbyte(0x42, (Count >> 8) & 0xFF);
        while (!(__inbyte(0x61) & 0x20)) /* OUT2 goes high at 0 */
            ;
        __outbyte(0x61, Gate);
        MicroSeconds -= Step;
    }
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

/* Map one IO-APIC, mask its inputs, and add it to HalpIoApics. */
static void HalpAddIoApic(ULONG64 Physical, ULONG GsiBase)
{
    PHYSICAL_ADDRESS Address;
    Address.QuadPart = (LONGLONG)Physical;
    if (HalpIoApicCount == HAL_MAXIMUM_IO_APICS)
        return;
    HALP_IO_APIC *IoApic = &HalpIoApics[HalpIoApicCount];
    IoApic->Registers = MmMapIoSpace(Address, PAGE_SIZE, TRUE);
    if (!IoApic->Registers)
        KeBugCheckEx(PHASE0_INITIALIZATION_FAILED, 0xA91C, Physical, 0, 0);
    IoApic->GsiBase = GsiBase;
    /* Version register bits 16-23: the highest redirection entry. */
    IoApic->Inputs = ((HalpIoApicRead(IoApic, IOAPIC_VERSION) >> 16) & 0xFF) + 1;
    for (ULONG Input = 0; Input < IoApic->Inputs; Input++)
        HalpIoApicWrite(IoApic, IOAPIC_REDIRECTION(Input), IOAPIC_MASKED);
    HalpIoApicCount++;
}

/* The IO-APICs the MADT lists, or the PC's one at 0xFEC00000 (GSI base 0)
 * when there is no MADT. */
static void HalpMapIoApics(void)
{
    for (ULONG i = 0; i < HalMadt.IoApicCount; i++)
        HalpAddIoApic(HalMadt.IoApics[i].Address, HalMadt.IoApics[i].GsiBase);
    if (HalpIoApicCount == 0) {
        DbgPrint("warning: no IO-APIC in an ACPI MADT; assuming one at 0x%llx with ISA IRQ n "
                 "on its input n (no interrupt source overrides)\n",
                 IOAPIC_PHYSICAL);
        HalpAddIoApic(IOAPIC_PHYSICAL, 0);
    }
}

ULONG HalInitializeInterruptControllers(ULONG ClockHz, ULONG ClockVector, ULONG SpuriousVector)
{
    PHYSICAL_ADDRESS Physical;

    HalpMaskLegacyPic();
    __writemsr(MSR_APIC_BASE, __readmsr(MSR_APIC_BASE) | (1ULL << 11));
    Physical.QuadPart = HalMadt.Present ? HalMadt.LocalApicAddress : LAPIC_PHYSICAL;
    HalpLapic = MmMapIoSpace(Physical, PAGE_SIZE, TRUE);
    if (!HalpLapic)
        KeBugCheckEx(PHASE0_INITIALIZATION_FAILED, 0xA91C, 0, 0, 0);
    HalpBootApicId = (UCHAR)(HalpLapicRead(LAPIC_ID) >> 24);
    HalpMapIoApics();

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
