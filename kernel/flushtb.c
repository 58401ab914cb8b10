/*
 * flushtb.c - TLB shootdown: KeFlushSingleTb, KeFlushMultipleTb,
 * KeFlushEntireTb (docs/smp.md §8).
 *
 * Each processor caches translations in its own TLB; invlpg and a CR3
 * write flush only the processor that runs them (Intel SDM Vol. 3A,
 * 4.10.4 and 4.10.5: "the processor does not maintain coherency of the
 * TLBs of other processors"). So whoever changes or removes a valid PTE
 * must flush it here AND on every other processor that may hold it: the
 * routines below invlpg locally and send the rest as an IPI request
 * (kernel/ipi.c) to:
 *
 *   a system-space address (the upper half: one set of tables for every
 *   address space)         -> every other active processor
 *   a user-space address   -> the other processors whose CR3 is this
 *                             processor's now: each KPRCB's
 *                             DirectoryTableBase, written by the context
 *                             switch (kernel/sched.c) and at an AP's start
 *                             (kernel/mp.c)
 *
 * and return once they have all flushed: after the call no processor can
 * use the old translation. (NT keeps the user-space set as
 * KPROCESS.ActiveProcessors; Pagoda's CR3 belongs to an MMADDRESS_SPACE
 * that mm/ attaches without the scheduler, so the set is read from the
 * KPRCBs instead. Attach does not update the KPRCB: harmless while only
 * the boot processor runs threads - the others stay on the system CR3 -
 * and the local processor always flushes itself.)
 *
 * IRQL: any up to IPI_LEVEL, interrupts on or off (a waiting sender serves
 * its own IPI slot, so two processors flushing at once do not deadlock).
 * The caller holds whatever lock covers the PTE; the flush takes none.
 */
#include "ki.h"

#define KI_FLUSH_ENTIRE 0xFFFFFFFFu
#define KI_USER_SPACE_END 0x0000800000000000ULL /* canonical user half below */

typedef struct _KI_FLUSH_REQUEST {
    ULONG Count; /* or KI_FLUSH_ENTIRE */
    PVOID const *Virtual;
} KI_FLUSH_REQUEST, *PKI_FLUSH_REQUEST;

/* Flush every translation on this processor, the global ones too: CR4.PGE
 * off and on again (Intel SDM Vol. 3A, 4.10.4.1). Interrupts disabled. */
static void KiFlushEntireTbLocal(void)
{
    ULONG64 Cr4 = __readcr4();
    if (Cr4 & CR4_PGE) {
        __writecr4(Cr4 & ~CR4_PGE);
        __writecr4(Cr4);
    } else {
        __writecr3(__readcr3());
    }
}

static void KiFlushLocal(PKI_FLUSH_REQUEST Request)
{
    if (Request->Count == KI_FLUSH_ENTIRE) {
        ULONG64 Flags = __readeflags();
        _disable();
        KiFlushEntireTbLocal();
        __writeeflags(Flags);
        return;
    }
    for (ULONG i = 0; i < Request->Count; i++)
        __invlpg(Request->Virtual[i]);
}

/* What a target runs, at IPI_LEVEL. */
static ULONG_PTR KiFlushTbTarget(ULONG_PTR Argument)
{
    KiFlushLocal((PKI_FLUSH_REQUEST)Argument);
    KeGetCurrentPrcb()->TbShootdownsReceived++;
    return 0;
}

KAFFINITY KiTbFlushTargets(const void *Virtual)
{
    PKPRCB Self = KeGetCurrentPrcb();
    KAFFINITY Others = KeActiveProcessors & ~Self->SetMember;
    if ((ULONG_PTR)Virtual >= KI_USER_SPACE_END || Others == 0)
        return Others;
    ULONG64 Cr3 = __readcr3() & ~0xFFFULL;
    KAFFINITY Targets = 0;
    for (ULONG n = 0; n < KE_MAXIMUM_PROCESSORS; n++) {
        if ((Others & ((KAFFINITY)1 << n)) && KiProcessorBlock[n] &&
            __atomic_load_n(&KiProcessorBlock[n]->DirectoryTableBase, __ATOMIC_ACQUIRE) == Cr3)
            Targets |= (KAFFINITY)1 << n;
    }
    return Targets;
}

static void KiFlushTb(PKI_FLUSH_REQUEST Request, KAFFINITY Targets)
{
    KiFlushLocal(Request);
    if (Targets != 0) {
        KeGetCurrentPrcb()->TbShootdownsSent++;
        KiIpiSendPacket(Targets, KiFlushTbTarget, (ULONG_PTR)Request);
    }
}

void KeFlushSingleTb(PVOID Virtual)
{
    KI_FLUSH_REQUEST Request = {.Count = 1, .Virtual = &Virtual};
    KiFlushTb(&Request, KiTbFlushTargets(Virtual));
}

void KeFlushMultipleTb(ULONG Number, PVOID const *Virtual)
{
    KAFFINITY Targets = 0;
    for (ULONG i = 0; i < Number; i++)
        Targets |= KiTbFlushTargets(Virtual[i]);
    KI_FLUSH_REQUEST Request = {.Count = Number, .Virtual = Virtual};
    KiFlushTb(&Request, Targets);
}

void KeFlushEntireTb(KAFFINITY ProcessorMask)
{
    KI_FLUSH_REQUEST Request = {.Count = KI_FLUSH_ENTIRE, .Virtual = NULL};
    PKPRCB Self = KeGetCurrentPrcb();
    KAFFINITY Targets = ProcessorMask & KeActiveProcessors & ~Self->SetMember;
    if (ProcessorMask & Self->SetMember)
        KiFlushLocal(&Request);
    if (Targets != 0) {
        Self->TbShootdownsSent++;
        KiIpiSendPacket(Targets, KiFlushTbTarget, (ULONG_PTR)&Request);
    }
}
