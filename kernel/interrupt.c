/*
 * interrupt.c - the interrupt dispatcher, interrupt objects and the clock.
 *
 * KiInitializeInterrupts asks the HAL (hal/apic.c) for the controllers: the
 * APIC timer as the clock, KI_CLOCK_HZ times a second on vector 0xD1 (IRQL
 * 13, CLOCK_LEVEL). Once interrupts are on, the console connects its
 * service routines for COM1 (IRQ4 -> vector 0x44, IRQL 4) and the PS/2
 * keyboard (IRQ1 -> vector 0x55, IRQL 5) through IoConnectInterrupt, as
 * every other driver does.
 *
 * Interrupt objects (KINTERRUPT, kernel/ke.h): each vector has a chain of
 * connected objects, KiInterruptChains[Vector]. KeConnectInterrupt and
 * KeDisconnectInterrupt change a chain with interrupts disabled, which on
 * this one processor keeps the dispatcher out; the first object on a
 * vector unmasks its IO-APIC input and the last one out masks it again.
 *
 *   vector 0x6E: [ata channel 0] -> [a second driver sharing IRQ 14] -> head
 *
 * KiDispatchInterrupt runs for vectors 32-255 (kernel/trap.c): it raises
 * the IRQL to the vector's level, enables interrupts so that higher levels
 * can still come in, runs the clock or walks the vector's chain (each
 * routine at its SynchronizeIrql, holding its spin lock; a level-sensitive
 * vector stops at the first routine that claims the interrupt, a latched
 * one calls them all), sends the EOI, drops back to the interrupted IRQL
 * and delivers pending DPCs and reschedules. An interrupt nobody claims is
 * counted per vector (the shell's irq shows it) and otherwise ignored.
 * The IPI vector (0xE1, any processor) goes straight to KiIpiInterrupt
 * (kernel/ipi.c), which raises to IPI_LEVEL and sends its own EOI.
 *
 * The idle thread halts through KeIdleHalt, which notes the TSC in
 * KiHaltedAt; the interrupt that wakes it adds the time halted to
 * KUSER_SHARED_DATA.IdleHaltCycles (a device's at its entry, a clock
 * tick's after its own work), so benchmarks can leave out the idle time
 * QEMU skips under -icount (docs/performance.md). One processor: one
 * KiHaltedAt.
 */
#include "ki.h"
#include "../mm/mm.h"
#include "../io/io.h"
#include "../include/kusershared.h"

volatile ULONG64 KeTickCount;
volatile ULONG64 KiInterruptTime;

static void KiClockInterrupt(void);
static LIST_ENTRY KiInterruptChains[KI_IDT_VECTORS];
static volatile ULONG64 KiHaltedAt; /* TSC when the idle thread halted; 0: not halted */
static volatile ULONG64 KiUnclaimedInterrupts[KI_IDT_VECTORS];

/*
 * Bring up the interrupt controllers and start the clock. Called once the
 * memory manager can map device memory, with interrupts disabled; the
 * caller enables them, then drivers connect their interrupts (the
 * console's first: KiSystemStartup).
 */
void KiInitializeInterrupts(void)
{
    for (ULONG i = 0; i < KI_IDT_VECTORS; i++)
        InitializeListHead(&KiInterruptChains[i]);
    ULONG TicksPerMs =
        HalInitializeInterruptControllers(KI_CLOCK_HZ, KI_CLOCK_VECTOR, KI_SPURIOUS_VECTOR);

    KdPrintBoot("Interrupts: local APIC timer %u ticks/ms (calibrated against PIT channel 2), "
                "clock %u Hz on vector 0x%x; IO-APIC lines unmasked as drivers connect "
                "(COM1 -> 0x%x, keyboard -> 0x%x)\n",
                TicksPerMs, KI_CLOCK_HZ, KI_CLOCK_VECTOR, KI_COM1_VECTOR, KI_KEYBOARD_VECTOR);
}

/* ------------------------------------------------------------------------
 * Interrupt objects
 * ------------------------------------------------------------------------ */

void KeInitializeInterrupt(PKINTERRUPT Interrupt, PKSERVICE_ROUTINE ServiceRoutine,
                           PVOID ServiceContext, PKSPIN_LOCK SpinLock, ULONG Vector, KIRQL Irql,
                           KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                           BOOLEAN ShareVector, CHAR ProcessorNumber, BOOLEAN FloatingSave)
{
    UNREFERENCED_PARAMETER(ProcessorNumber);
    UNREFERENCED_PARAMETER(FloatingSave);
    Interrupt->Type = KI_INTERRUPT_OBJECT;
    Interrupt->Size = sizeof(KINTERRUPT);
    InitializeListHead(&Interrupt->InterruptListEntry);
    Interrupt->ServiceRoutine = ServiceRoutine;
    Interrupt->ServiceContext = ServiceContext;
    KeInitializeSpinLock(&Interrupt->SpinLock);
    Interrupt->ActualLock = SpinLock ? SpinLock : &Interrupt->SpinLock;
    Interrupt->Vector = Vector;
    Interrupt->Irql = Irql;
    Interrupt->SynchronizeIrql = SynchronizeIrql;
    Interrupt->ShareVector = ShareVector;
    Interrupt->Connected = FALSE;
    Interrupt->Mode = InterruptMode;
    Interrupt->InterruptCount = 0;
    Interrupt->ServiceCount = 0;
}

/* May Interrupt join the chain of its vector? Interrupts disabled. */
static BOOLEAN KiCanConnect(PKINTERRUPT Interrupt)
{
    ULONG Vector = Interrupt->Vector;
    if (Interrupt->Connected || Vector < KE_FIRST_DEVICE_VECTOR || Vector > KE_LAST_DEVICE_VECTOR ||
        Interrupt->Irql != (KIRQL)(Vector >> 4) || Interrupt->SynchronizeIrql < Interrupt->Irql ||
        Interrupt->SynchronizeIrql >= CLOCK_LEVEL)
        return FALSE;
    PLIST_ENTRY Head = &KiInterruptChains[Vector];
    for (PLIST_ENTRY Entry = Head->Flink; Entry != Head; Entry = Entry->Flink) {
        PKINTERRUPT Other = CONTAINING_RECORD(Entry, KINTERRUPT, InterruptListEntry);
        if (!Other->ShareVector || !Interrupt->ShareVector || Other->Mode != Interrupt->Mode)
            return FALSE;
    }
    return TRUE;
}

BOOLEAN KeConnectInterrupt(PKINTERRUPT Interrupt)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ULONG64 Flags = __readeflags();
    _disable();
    BOOLEAN Ok = KiCanConnect(Interrupt);
    if (Ok) {
        PLIST_ENTRY Head = &KiInterruptChains[Interrupt->Vector];
        BOOLEAN First = IsListEmpty(Head);
        InsertTailList(Head, &Interrupt->InterruptListEntry);
        Interrupt->Connected = TRUE;
        if (First)
            HalEnableSystemInterrupt(Interrupt->Vector, Interrupt->Irql, Interrupt->Mode);
    }
    __writeeflags(Flags);
    return Ok;
}

BOOLEAN KeDisconnectInterrupt(PKINTERRUPT Interrupt)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ULONG64 Flags = __readeflags();
    _disable();
    BOOLEAN Was = Interrupt->Connected;
    if (Was) {
        RemoveEntryList(&Interrupt->InterruptListEntry);
        InitializeListHead(&Interrupt->InterruptListEntry);
        Interrupt->Connected = FALSE;
        if (IsListEmpty(&KiInterruptChains[Interrupt->Vector]))
            HalDisableSystemInterrupt(Interrupt->Vector, Interrupt->Irql);
    }
    __writeeflags(Flags);
    return Was;
}

BOOLEAN KeSynchronizeExecution(PKINTERRUPT Interrupt, PKSYNCHRONIZE_ROUTINE SynchronizeRoutine,
                               PVOID SynchronizeContext)
{
    KIRQL OldIrql;
    KeRaiseIrql(Interrupt->SynchronizeIrql, &OldIrql);
    KeAcquireSpinLockAtDpcLevel(Interrupt->ActualLock);
    BOOLEAN Result = SynchronizeRoutine(SynchronizeContext);
    KeReleaseSpinLockFromDpcLevel(Interrupt->ActualLock);
    KeLowerIrql(OldIrql);
    return Result;
}

/* Call one object's service routine as KeSynchronizeExecution would run
 * its routine: at its SynchronizeIrql, holding its lock. At the vector's
 * IRQL, interrupts enabled. */
static BOOLEAN KiCallServiceRoutine(PKINTERRUPT Interrupt)
{
    KIRQL Irql = (KIRQL)__readcr8();
    if (Interrupt->SynchronizeIrql > Irql)
        __writecr8(Interrupt->SynchronizeIrql);
    KeAcquireSpinLockAtDpcLevel(Interrupt->ActualLock);
    Interrupt->InterruptCount++;
    BOOLEAN Claimed = Interrupt->ServiceRoutine(Interrupt, Interrupt->ServiceContext);
    if (Claimed)
        Interrupt->ServiceCount++;
    KeReleaseSpinLockFromDpcLevel(Interrupt->ActualLock);
    __writecr8(Irql);
    return Claimed;
}

/* Walk Vector's chain. The chain cannot change meanwhile: connecting and
 * disconnecting happen at or below DISPATCH_LEVEL with interrupts off. */
static void KiDispatchChain(ULONG Vector)
{
    PLIST_ENTRY Head = &KiInterruptChains[Vector];
    BOOLEAN Claimed = FALSE;
    for (PLIST_ENTRY Entry = Head->Flink; Entry != Head; Entry = Entry->Flink) {
        PKINTERRUPT Interrupt = CONTAINING_RECORD(Entry, KINTERRUPT, InterruptListEntry);
        if (KiCallServiceRoutine(Interrupt)) {
            Claimed = TRUE;
            if (Interrupt->Mode == LevelSensitive)
                break;
        }
    }
    if (!Claimed) {
        if (KiUnclaimedInterrupts[Vector]++ == 0 && IsListEmpty(Head))
            DbgPrint("interrupt: unexpected vector 0x%x ignored (counted from now on)\n", Vector);
    }
}

/* A line of KeQueryInterrupts for Object. */
static KE_INTERRUPT_SNAPSHOT KiSnapshotInterrupt(PKINTERRUPT Object)
{
    KE_INTERRUPT_SNAPSHOT Line = {
        .Object = Object,
        .ServiceRoutine = (PVOID)Object->ServiceRoutine,
        .Vector = Object->Vector,
        .Irql = Object->Irql,
        .SynchronizeIrql = Object->SynchronizeIrql,
        .ShareVector = Object->ShareVector,
        .Mode = Object->Mode,
        .InterruptCount = Object->InterruptCount,
        .ServiceCount = Object->ServiceCount,
    };
    return Line;
}

ULONG KeQueryInterrupts(KE_INTERRUPT_SNAPSHOT *Lines, ULONG Maximum)
{
    ULONG Count = 0;
    ULONG64 Flags = __readeflags();
    _disable();
    for (ULONG Vector = 0; Vector < KI_IDT_VECTORS; Vector++) {
        KE_INTERRUPT_SNAPSHOT Line = {0};
        BOOLEAN Extra = FALSE;
        PLIST_ENTRY Head = &KiInterruptChains[Vector];
        for (PLIST_ENTRY Entry = Head->Flink; Entry != Head; Entry = Entry->Flink) {
            if (Count < Maximum)
                Lines[Count] =
                    KiSnapshotInterrupt(CONTAINING_RECORD(Entry, KINTERRUPT, InterruptListEntry));
            Count++;
        }
        if (Vector == KI_CLOCK_VECTOR) {
            Line.ServiceRoutine = (PVOID)KiClockInterrupt;
            Line.InterruptCount = Line.ServiceCount = KeSchedulerCounters.ClockInterrupts;
            Line.Mode = Latched;
            Extra = TRUE;
        } else if (KiUnclaimedInterrupts[Vector] != 0) {
            Line.InterruptCount = KiUnclaimedInterrupts[Vector];
            Extra = TRUE;
        }
        if (Extra) {
            Line.Vector = Vector;
            Line.Irql = Line.SynchronizeIrql = (KIRQL)(Vector >> 4);
            if (Count < Maximum)
                Lines[Count] = Line;
            Count++;
        }
    }
    __writeeflags(Flags);
    return Count;
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

/* The idle time that ends now: into KUSER_SHARED_DATA.IdleHaltCycles.
 * Interrupts disabled. */
static void KiEndIdle(void)
{
    ULONG64 Since = KiHaltedAt;
    if (Since) {
        KiHaltedAt = 0;
        ((KUSER_SHARED_DATA *)MM_SHARED_USER_DATA_VA)->IdleHaltCycles += __rdtsc() - Since;
    }
}

/* KeIdleHalt: see kernel/ke.h. sti's one-instruction shadow keeps an
 * interrupt from coming between it and the hlt. */
void KeIdleHalt(void)
{
    _disable();
    KiHaltedAt = __rdtsc();
    __asm__ volatile("sti; hlt" ::: "memory");
    _disable();
    KiEndIdle(); /* back without a switch: only clock ticks came */
    _enable();
}

void KiDispatchInterrupt(PKTRAP_FRAME TrapFrame)
{
    ULONG Vector = (ULONG)TrapFrame->Vector;
    if (Vector == KI_SPURIOUS_VECTOR)
        return; /* no EOI for a spurious interrupt (SDM 13.9) */
    if (Vector == KI_IPI_VECTOR) {
        KiIpiInterrupt(); /* kernel/ipi.c: any processor, its own EOI */
        return;
    }

    /* A device's interrupt ends the idle time at once; a clock tick's own
     * work counts as idle, what it starts (DPCs, a switch) does not. */
    BOOLEAN WasHalted = KiHaltedAt != 0;
    if (WasHalted && Vector != KI_CLOCK_VECTOR)
        KiEndIdle();
    KIRQL OldIrql = (KIRQL)__readcr8();
    KeSchedulerCounters.Interrupts++;
    __writecr8(Vector >> 4);
    _enable();
    if (Vector == KI_CLOCK_VECTOR)
        KiClockInterrupt();
    else
        KiDispatchChain(Vector);
    _disable();
    HalEndOfInterrupt();
    if (WasHalted)
        KiEndIdle();
    if (OldIrql < DISPATCH_LEVEL)
        KiDeliverSoftwareInterrupts(OldIrql);
    else
        __writecr8(OldIrql);
}
