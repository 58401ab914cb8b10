/*
 * ipi.c - inter-processor interrupts: running a routine on other
 * processors and waiting until they have (docs/smp.md §7).
 *
 * A request is a KI_IPI_PACKET on the SENDER's stack: the routine, its
 * argument, and TargetSet, the processors that have not yet run it. Each
 * processor's KPRCB has one request slot, IpiPacket:
 *
 *   sender, at IPI_LEVEL:                     target (IPI vector 0xE1, or polling):
 *     for each target n:                        P = xchg(Prcb->IpiPacket, NULL)
 *       cmpxchg(KiProcessorBlock[n]->IpiPacket,   [barrier: count down, wait for 0]
 *               NULL -> &Packet)                  P->Worker(P->Argument)
 *         (taken? serve my own slot, retry)       TargetSet &= ~me  (P may be gone now)
 *       HalRequestIpi(its APIC id, 0xE1)
 *     while (Packet.TargetSet != 0)
 *       serve my own slot; pause
 *
 * The sender waits at IPI_LEVEL, where the IPI vector itself is held back
 * (CR8 = 14 masks vector class 14), so while it waits it polls its own slot
 * and runs what it finds (KiIpiServiceRequests): two processors sending to
 * each other at the same moment each run the other's request while waiting
 * for their own, as NT's KiIpiStallOnPacketTargets does. Without that, each
 * would wait for ever for the other.
 *
 * KeIpiGenericCall adds a barrier: every processor, the sender included,
 * counts Barrier down and waits (still serving its slot) until it reaches
 * 0, so the routine starts on all of them at the same time, with every
 * processor at IPI_LEVEL, and none runs anything else meanwhile.
 *
 * Routines run at IPI_LEVEL (interrupts disabled in the IPI handler, as
 * the caller had them on the sending processor): they may take spin
 * locks (AtDpcLevel), must not wait, fault on pageable memory or send a
 * KeIpiGenericCall of their own (KiIpiSendPacket is fine: the packet is on
 * the stack, and a nested send serves the slot like any other).
 *
 * Locking: the slot is one pointer, written by compare-exchange from NULL
 * (senders) and exchange to NULL (its processor); TargetSet and Barrier are
 * atomics. KiProcessorBlock and KeActiveProcessors are written at boot
 * only.
 */
#include "ki.h"

/* Run Packet's routine on this processor: the barrier first for a generic
 * call, then the routine, then take this processor out of TargetSet (the
 * last touch: the sender may return and its stack frame go). */
static void KiIpiRunPacket(PKI_IPI_PACKET Packet, PKPRCB Prcb)
{
    if (Packet->Synchronize) {
        __atomic_sub_fetch(&Packet->Barrier, 1, __ATOMIC_ACQ_REL);
        while (__atomic_load_n(&Packet->Barrier, __ATOMIC_ACQUIRE) != 0) {
            KiIpiServiceRequests();
            _mm_pause();
        }
    }
    Packet->Worker(Packet->Argument);
    Prcb->IpiRequestsServiced++;
    __atomic_and_fetch(&Packet->TargetSet, ~Prcb->SetMember, __ATOMIC_RELEASE);
}

void KiIpiServiceRequests(void)
{
    PKPRCB Prcb = KeGetCurrentPrcb();
    PKI_IPI_PACKET Packet;
    while ((Packet = __atomic_exchange_n(&Prcb->IpiPacket, NULL, __ATOMIC_ACQUIRE)) != NULL)
        KiIpiRunPacket(Packet, Prcb);
}

/* The IPI vector (kernel/interrupt.c sends it here), interrupts disabled. */
void KiIpiInterrupt(void)
{
    KIRQL OldIrql = (KIRQL)__readcr8();
    PKPRCB Prcb = KeGetCurrentPrcb();
    Prcb->IpiInterrupts++;
    __writecr8(IPI_LEVEL);
    KiIpiServiceRequests();
    HalEndOfInterrupt();
    /* The boot processor may have been below DISPATCH_LEVEL with a DPC
     * pending; an application processor idles at DISPATCH_LEVEL. */
    if (OldIrql < DISPATCH_LEVEL && Prcb == &KiPcr.Prcb)
        KiDeliverSoftwareInterrupts(OldIrql);
    else
        __writecr8(OldIrql);
}

/* Put Packet in each target's slot and interrupt it; serve this
 * processor's own slot whenever a target's is taken. IPI_LEVEL. */
static void KiIpiPostPacket(PKI_IPI_PACKET Packet, KAFFINITY Targets)
{
    for (ULONG n = 0; Targets != 0; n++, Targets >>= 1) {
        if (!(Targets & 1))
            continue;
        PKPRCB Target = KiProcessorBlock[n];
        PKI_IPI_PACKET Expected = NULL;
        while (!__atomic_compare_exchange_n(&Target->IpiPacket, &Expected, Packet, FALSE,
                                            __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
            Expected = NULL;
            KiIpiServiceRequests();
            _mm_pause();
        }
        HalRequestIpi(Target->ApicId, KI_IPI_VECTOR);
    }
}

/* Wait until every target has run Packet, serving this processor's slot. */
static void KiIpiWaitForTargets(PKI_IPI_PACKET Packet)
{
    while (__atomic_load_n(&Packet->TargetSet, __ATOMIC_ACQUIRE) != 0) {
        KiIpiServiceRequests();
        _mm_pause();
    }
}

static KIRQL KiIpiRaise(void)
{
    KIRQL OldIrql = KeGetCurrentIrql();
    if (OldIrql < IPI_LEVEL)
        __writecr8(IPI_LEVEL); /* not KeRaiseIrql: no checks wanted on an AP */
    return OldIrql;
}

static void KiIpiLower(KIRQL OldIrql)
{
    if (OldIrql < IPI_LEVEL)
        KeLowerIrql(OldIrql);
}

void KiIpiSendPacket(KAFFINITY TargetSet, PKIPI_BROADCAST_WORKER Worker, ULONG_PTR Argument)
{
    KIRQL OldIrql = KiIpiRaise();
    TargetSet &= KeActiveProcessors & ~KeGetCurrentPrcb()->SetMember & ~KiFrozenProcessors;
    KI_IPI_PACKET Packet = {
        .Worker = Worker, .Argument = Argument, .TargetSet = TargetSet, .Synchronize = FALSE};
    if (TargetSet) {
        KiIpiPostPacket(&Packet, TargetSet);
        KiIpiWaitForTargets(&Packet);
    }
    KiIpiLower(OldIrql);
}

ULONG_PTR KeIpiGenericCall(PKIPI_BROADCAST_WORKER BroadcastFunction, ULONG_PTR Context)
{
    ASSERT(KeGetCurrentIrql() <= IPI_LEVEL);
    KIRQL OldIrql = KiIpiRaise();
    PKPRCB Prcb = KeGetCurrentPrcb();
    KAFFINITY Others = KeActiveProcessors & ~Prcb->SetMember;
    LONG Count = 1;
    for (KAFFINITY Set = Others; Set != 0; Set &= Set - 1)
        Count++;
    KI_IPI_PACKET Packet = {
        .Worker = BroadcastFunction,
        .Argument = Context,
        .TargetSet = Others,
        .Barrier = Count,
        .Synchronize = TRUE,
    };
    KiIpiPostPacket(&Packet, Others);
    /* This processor's turn at the barrier, then the routine, then wait
     * for the others to finish theirs. */
    __atomic_sub_fetch(&Packet.Barrier, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&Packet.Barrier, __ATOMIC_ACQUIRE) != 0) {
        KiIpiServiceRequests();
        _mm_pause();
    }
    ULONG_PTR Result = BroadcastFunction(Context);
    KiIpiWaitForTargets(&Packet);
    KiIpiLower(OldIrql);
    return Result;
}
