/*
 * test_interrupt.c - interrupt objects for drivers (kernel/interrupt.c,
 * io/irq.c): IoConnectInterrupt / IoDisconnectInterrupt, the chain of a
 * shared vector, KeSynchronizeExecution, the DpcForIsr.
 *
 * The tests raise their vectors with a self-IPI through the local APIC
 * (HalSendSelfIpi), so the interrupt arrives as a device's would: held
 * back while the IRQL is at or above the vector's, delivered through the
 * IDT, acknowledged with an EOI. Their vectors (0x7C-0x7E, IRQL 7) have
 * no IO-APIC input behind them, so no real device can interrupt there.
 *
 * Each connected object is disconnected by a deferred cleanup, so a failed
 * check cannot leave an ISR on a vector that points into a finished test.
 */
#include "../../include/ktest.h"
#include "../../kernel/ki.h"
#include "../../hal/hal.h"
#include "../../io/io.h"
#include "../../rtl/rtl.h"
#include "ktbaseline.h"

#define KT_VECTOR 0x7C
#define KT_VECTOR2 0x7D
#define KT_IRQL 7

/* What one service routine saw. */
typedef struct _KT_ISR_RECORD {
    volatile LONG Calls;
    volatile KIRQL Irql; /* KeGetCurrentIrql() inside */
    volatile BOOLEAN LockHeld; /* *Interrupt->ActualLock != 0 inside */
    volatile BOOLEAN Claim; /* what the routine returns */
    PVOID Context;
    volatile LONG Order; /* KtOrder when it ran */
    PDEVICE_OBJECT Device; /* when set: IoRequestDpc on it */
} KT_ISR_RECORD;

static KT_ISR_RECORD KtIsr[2];
static volatile LONG KtOrder;

static BOOLEAN KtServiceRoutine(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    KT_ISR_RECORD *Record = ServiceContext;
    Record->Irql = KeGetCurrentIrql();
    Record->LockHeld = *Interrupt->ActualLock != 0;
    Record->Context = ServiceContext;
    Record->Order = ++KtOrder;
    Record->Calls++;
    if (Record->Device)
        IoRequestDpc(Record->Device, (PIRP)(ULONG_PTR)0x1A2B, Record);
    return Record->Claim;
}

static void KtResetIsr(void)
{
    KT_ISR_RECORD Zero = {0};
    KtIsr[0] = KtIsr[1] = Zero;
    KtIsr[0].Claim = KtIsr[1].Claim = TRUE;
    KtOrder = 0;
}

static void KtDisconnect(PVOID Interrupt)
{
    IoDisconnectInterrupt(Interrupt);
}

/* Connect KtServiceRoutine with Record; deferred disconnect. */
static NTSTATUS KtConnect(PKINTERRUPT *Interrupt, KT_ISR_RECORD *Record, ULONG Vector,
                          KIRQL SynchronizeIrql, KINTERRUPT_MODE Mode, BOOLEAN Share)
{
    NTSTATUS Status =
        IoConnectInterrupt(Interrupt, KtServiceRoutine, Record, NULL, Vector, (KIRQL)(Vector >> 4),
                           SynchronizeIrql, Mode, Share, 1, FALSE);
    if (NT_SUCCESS(Status))
        KtDefer(KtDisconnect, *Interrupt);
    return Status;
}

/* Give a raised vector 2 ms to arrive (it is delivered at once when the
 * IRQL allows; the wait only bounds a failure). */
static void KtWaitCalls(volatile LONG *Calls, LONG Want)
{
    ULONG64 Start = KeQueryTickCount();
    while (*Calls < Want && KeQueryTickCount() - Start < 2)
        __asm__ volatile("pause");
}

static void KtTrigger(ULONG Vector, volatile LONG *Calls, LONG Want)
{
    HalSendSelfIpi(Vector);
    KtWaitCalls(Calls, Want);
}

/* The interrupt table's line for Object, or NULL. */
static KE_INTERRUPT_SNAPSHOT KtLines[64];
static KE_INTERRUPT_SNAPSHOT *KtFindLine(PVOID Object, ULONG Vector)
{
    ULONG Count = KeQueryInterrupts(KtLines, ARRAYSIZE(KtLines));
    for (ULONG i = 0; i < Count && i < ARRAYSIZE(KtLines); i++) {
        if (KtLines[i].Object == Object && KtLines[i].Vector == Vector)
            return &KtLines[i];
    }
    return NULL;
}

KTEST(interrupt, isr_runs_at_device_irql_holding_its_lock)
{
    PKINTERRUPT Interrupt;
    KtResetIsr();
    KT_ASSERT_STATUS(KtConnect(&Interrupt, &KtIsr[0], KT_VECTOR, KT_IRQL, Latched, FALSE),
                     STATUS_SUCCESS);
    KT_EXPECT_EQ(Interrupt->Irql, KT_IRQL);
    KT_EXPECT(Interrupt->Connected);

    KtTrigger(KT_VECTOR, &KtIsr[0].Calls, 1);
    KT_ASSERT_EQ(KtIsr[0].Calls, 1);
    KT_EXPECT_EQ(KtIsr[0].Irql, KT_IRQL);
    KT_EXPECT(KtIsr[0].LockHeld);
    KT_EXPECT(KtIsr[0].Context == &KtIsr[0]);
    KT_EXPECT_EQ(Interrupt->InterruptCount, 1);
    KT_EXPECT_EQ(Interrupt->ServiceCount, 1);
    KT_EXPECT_EQ(*Interrupt->ActualLock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);

    KE_INTERRUPT_SNAPSHOT *Line = KtFindLine(Interrupt, KT_VECTOR);
    KT_ASSERT(Line != NULL);
    KT_EXPECT(Line->ServiceRoutine == (PVOID)KtServiceRoutine);
    KT_EXPECT_EQ(Line->InterruptCount, 1);
    KT_EXPECT_EQ(Line->Irql, KT_IRQL);
}

KTEST(interrupt, held_back_while_irql_is_at_the_device_level)
{
    PKINTERRUPT Interrupt;
    KIRQL OldIrql;
    KtResetIsr();
    KT_ASSERT_STATUS(KtConnect(&Interrupt, &KtIsr[0], KT_VECTOR, KT_IRQL, Latched, FALSE),
                     STATUS_SUCCESS);
    KeRaiseIrql(KT_IRQL, &OldIrql);
    HalSendSelfIpi(KT_VECTOR);
    for (int i = 0; i < 10000; i++)
        __asm__ volatile("pause");
    LONG WhileRaised = KtIsr[0].Calls;
    KeLowerIrql(OldIrql);
    KtWaitCalls(&KtIsr[0].Calls, 1);
    KT_EXPECT_EQ(WhileRaised, 0);
    KT_EXPECT_EQ(KtIsr[0].Calls, 1);
}

KTEST(interrupt, disconnect_stops_delivery)
{
    PKINTERRUPT Interrupt;
    KT_BASELINE Before = KtBaseline();
    KtResetIsr();
    KT_ASSERT_STATUS(IoConnectInterrupt(&Interrupt, KtServiceRoutine, &KtIsr[0], NULL, KT_VECTOR,
                                        KT_IRQL, KT_IRQL, Latched, FALSE, 1, FALSE),
                     STATUS_SUCCESS);
    PKT_DEFERRED Undo = KtDefer(KtDisconnect, Interrupt);
    KtTrigger(KT_VECTOR, &KtIsr[0].Calls, 1);
    KT_ASSERT_EQ(KtIsr[0].Calls, 1);
    KtCleanupNow(Undo);

    /* Nobody is on the vector now: the interrupt is counted as unclaimed. */
    KE_INTERRUPT_SNAPSHOT *Line = KtFindLine(NULL, KT_VECTOR);
    ULONG64 Unclaimed = Line ? Line->InterruptCount : 0;
    HalSendSelfIpi(KT_VECTOR);
    for (int i = 0; i < 10000; i++)
        __asm__ volatile("pause");
    KT_EXPECT_EQ(KtIsr[0].Calls, 1);
    Line = KtFindLine(NULL, KT_VECTOR);
    KT_ASSERT(Line != NULL);
    KT_EXPECT_EQ(Line->InterruptCount, Unclaimed + 1);
    KT_ASSERT_BASELINE(Before);
}

static BOOLEAN KtSynchronized(PVOID Context)
{
    PKINTERRUPT Interrupt = Context;
    KtIsr[1].Irql = KeGetCurrentIrql();
    KtIsr[1].LockHeld = *Interrupt->ActualLock != 0;
    /* The device interrupts now: its ISR must wait until we are done. */
    HalSendSelfIpi(Interrupt->Vector);
    for (int i = 0; i < 10000; i++)
        __asm__ volatile("pause");
    KtIsr[1].Calls = KtIsr[0].Calls;
    return TRUE;
}

KTEST(interrupt, synchronize_execution_excludes_the_isr)
{
    PKINTERRUPT Interrupt;
    KtResetIsr();
    /* SynchronizeIrql above the vector's: the ISR runs there too. */
    KT_ASSERT_STATUS(KtConnect(&Interrupt, &KtIsr[0], KT_VECTOR, KT_IRQL + 1, Latched, FALSE),
                     STATUS_SUCCESS);
    BOOLEAN Result = KeSynchronizeExecution(Interrupt, KtSynchronized, Interrupt);
    KtWaitCalls(&KtIsr[0].Calls, 1);
    KT_EXPECT(Result);
    KT_EXPECT_EQ(KtIsr[1].Irql, KT_IRQL + 1);
    KT_EXPECT(KtIsr[1].LockHeld);
    KT_EXPECT_EQ(KtIsr[1].Calls, 0); /* not during the routine */
    KT_EXPECT_EQ(KtIsr[0].Calls, 1); /* right after it */
    KT_EXPECT_EQ(KtIsr[0].Irql, KT_IRQL + 1); /* at SynchronizeIrql */
    KT_EXPECT_EQ(*Interrupt->ActualLock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

KTEST(interrupt, latched_shared_vector_calls_every_routine)
{
    PKINTERRUPT First, Second, Third;
    KtResetIsr();
    KT_ASSERT_STATUS(KtConnect(&First, &KtIsr[0], KT_VECTOR, KT_IRQL, Latched, TRUE),
                     STATUS_SUCCESS);
    KT_ASSERT_STATUS(KtConnect(&Second, &KtIsr[1], KT_VECTOR, KT_IRQL, Latched, TRUE),
                     STATUS_SUCCESS);
    /* Neither an object that will not share nor one of the other mode joins. */
    KT_EXPECT_STATUS(KtConnect(&Third, &KtIsr[1], KT_VECTOR, KT_IRQL, Latched, FALSE),
                     STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(KtConnect(&Third, &KtIsr[1], KT_VECTOR, KT_IRQL, LevelSensitive, TRUE),
                     STATUS_INVALID_PARAMETER);
    KT_EXPECT(Third == NULL);

    KtTrigger(KT_VECTOR, &KtIsr[1].Calls, 1);
    KT_EXPECT_EQ(KtIsr[0].Calls, 1);
    KT_EXPECT_EQ(KtIsr[1].Calls, 1);
    KT_EXPECT_EQ(KtIsr[0].Order, 1); /* in the order they connected */
    KT_EXPECT_EQ(KtIsr[1].Order, 2);
}

KTEST(interrupt, level_shared_vector_stops_at_the_claiming_routine)
{
    PKINTERRUPT First, Second;
    KtResetIsr();
    KT_ASSERT_STATUS(KtConnect(&First, &KtIsr[0], KT_VECTOR2, KT_IRQL, LevelSensitive, TRUE),
                     STATUS_SUCCESS);
    KT_ASSERT_STATUS(KtConnect(&Second, &KtIsr[1], KT_VECTOR2, KT_IRQL, LevelSensitive, TRUE),
                     STATUS_SUCCESS);
    KtTrigger(KT_VECTOR2, &KtIsr[0].Calls, 1);
    KT_EXPECT_EQ(KtIsr[0].Calls, 1);
    KT_EXPECT_EQ(KtIsr[1].Calls, 0); /* the first claimed it */

    KtIsr[0].Claim = FALSE; /* not the first device's: ask the next */
    KtTrigger(KT_VECTOR2, &KtIsr[1].Calls, 1);
    KT_EXPECT_EQ(KtIsr[0].Calls, 2);
    KT_EXPECT_EQ(KtIsr[1].Calls, 1);
    KT_EXPECT_EQ(First->ServiceCount, 1);
    KT_EXPECT_EQ(First->InterruptCount, 2);
    KT_EXPECT_EQ(Second->ServiceCount, 1);
}

KTEST(interrupt, connect_refuses_bad_parameters_and_leaks_nothing)
{
    PKINTERRUPT Interrupt = (PKINTERRUPT)1;
    KT_BASELINE Before = KtBaseline();
    /* Below the device vectors, the clock's, an IRQL that is not Vector >> 4,
     * SynchronizeIrql below Irql, no processor 0, no routine. */
    KT_EXPECT_STATUS(IoConnectInterrupt(&Interrupt, KtServiceRoutine, NULL, NULL, 0x2F, 2, 2,
                                        Latched, FALSE, 1, FALSE),
                     STATUS_INVALID_PARAMETER);
    KT_EXPECT(Interrupt == NULL);
    KT_EXPECT_STATUS(IoConnectInterrupt(&Interrupt, KtServiceRoutine, NULL, NULL, 0xD1, 13, 13,
                                        Latched, TRUE, 1, FALSE),
                     STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(IoConnectInterrupt(&Interrupt, KtServiceRoutine, NULL, NULL, KT_VECTOR, 6, 6,
                                        Latched, FALSE, 1, FALSE),
                     STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(IoConnectInterrupt(&Interrupt, KtServiceRoutine, NULL, NULL, KT_VECTOR,
                                        KT_IRQL, KT_IRQL - 1, Latched, FALSE, 1, FALSE),
                     STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(IoConnectInterrupt(&Interrupt, KtServiceRoutine, NULL, NULL, KT_VECTOR,
                                        KT_IRQL, KT_IRQL, Latched, FALSE, 2, FALSE),
                     STATUS_INVALID_PARAMETER);
    KT_EXPECT_STATUS(IoConnectInterrupt(&Interrupt, NULL, NULL, NULL, KT_VECTOR, KT_IRQL, KT_IRQL,
                                        Latched, FALSE, 1, FALSE),
                     STATUS_INVALID_PARAMETER);
    /* The console's vectors do not share. */
    KT_EXPECT_STATUS(IoConnectInterrupt(&Interrupt, KtServiceRoutine, NULL, NULL, 0x55, 5, 5,
                                        Latched, TRUE, 1, FALSE),
                     STATUS_INVALID_PARAMETER);
    KT_ASSERT_BASELINE(Before);
}

static DEVICE_OBJECT KtDevice;
static struct {
    volatile LONG Runs;
    KIRQL Irql;
    PDEVICE_OBJECT Device;
    PIRP Irp;
    PVOID Context;
} KtDpcSeen;

static void KtDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    UNREFERENCED_PARAMETER(Dpc);
    KtDpcSeen.Irql = KeGetCurrentIrql();
    KtDpcSeen.Device = DeviceObject;
    KtDpcSeen.Irp = Irp;
    KtDpcSeen.Context = Context;
    KtDpcSeen.Runs++;
}

KTEST(interrupt, isr_queues_the_dpc_for_isr)
{
    PKINTERRUPT Interrupt;
    KtResetIsr();
    KtDpcSeen.Runs = 0;
    IoInitializeDpcRequest(&KtDevice, KtDpcForIsr);
    KtIsr[0].Device = &KtDevice;
    KT_ASSERT_STATUS(KtConnect(&Interrupt, &KtIsr[0], KT_VECTOR, KT_IRQL, Latched, FALSE),
                     STATUS_SUCCESS);
    KtTrigger(KT_VECTOR, &KtDpcSeen.Runs, 1);
    KT_ASSERT_EQ(KtDpcSeen.Runs, 1);
    KT_EXPECT_EQ(KtDpcSeen.Irql, DISPATCH_LEVEL);
    KT_EXPECT(KtDpcSeen.Device == &KtDevice);
    KT_EXPECT(KtDpcSeen.Irp == (PIRP)(ULONG_PTR)0x1A2B);
    KT_EXPECT(KtDpcSeen.Context == &KtIsr[0]);
}

/* The console's ISRs are ordinary interrupt objects now. */
KTEST(interrupt, console_isrs_are_connected_objects)
{
    ULONG Count = KeQueryInterrupts(KtLines, ARRAYSIZE(KtLines));
    BOOLEAN Keyboard = FALSE, Serial = FALSE, Clock = FALSE;
    for (ULONG i = 0; i < Count && i < ARRAYSIZE(KtLines); i++) {
        ULONG_PTR Offset;
        const char *Name = KeLookupSymbol((ULONG_PTR)KtLines[i].ServiceRoutine, &Offset);
        if (!Name)
            continue;
        if (KtLines[i].Object && KtLines[i].Vector == 0x55 &&
            strcmp(Name, "IopKeyboardInterrupt") == 0)
            Keyboard = KtLines[i].Irql == 5;
        if (KtLines[i].Object && KtLines[i].Vector == 0x44 &&
            strcmp(Name, "IopSerialInterrupt") == 0)
            Serial = KtLines[i].Irql == 4;
        if (!KtLines[i].Object && KtLines[i].Vector == KI_CLOCK_VECTOR)
            Clock = KtLines[i].InterruptCount > 0;
    }
    KT_EXPECT(Keyboard);
    KT_EXPECT(Serial);
    KT_EXPECT(Clock);
}
