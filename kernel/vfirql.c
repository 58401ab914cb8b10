/*
 * vfirql.c - Driver Verifier's IRQL checking ("verifier=irql", NT's
 * DRIVER_VERIFIER_FORCE_IRQL_CHECKING; docs/verifier.md).
 *
 * The bug it hunts: a driver touches pageable memory (paged pool) while
 * it holds a spin lock or runs at DISPATCH_LEVEL. Most of the time the
 * page is resident and nothing happens; the day it has been trimmed, the
 * touch is a page fault at DISPATCH_LEVEL, which cannot be resolved
 * (resolving may mean waiting for the disk, and a thread at DISPATCH_LEVEL
 * cannot wait): bugcheck IRQL_NOT_LESS_OR_EQUAL (mm/fault.c). The
 * verifier makes that day every day: each time a verified driver takes a
 * spin lock, the whole system working set - paged pool - is trimmed
 * first (MmTrimAllSystemPageableMemory), so the very first such touch
 * stops the system, in the driver, with the driver named in the backtrace.
 *
 * A loadable driver imports the spin-lock routines (kernel/ke.h,
 * PAGODA_LOADABLE_DRIVER). With the flag on when a driver is loaded, the
 * loader binds those imports to the routines below instead of the plain
 * ones (io/ldr.c, io/ldrexp.c): every driver loaded then is verified,
 * none loaded before. They also check the IRQL rules of the four
 * routines and stop with NT's DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4)
 * codes:
 *
 *   0x30  KeRaiseIrql to a lower IRQL               (IRQL, requested IRQL, 0)
 *   0x31  KeLowerIrql to a higher IRQL              (IRQL, requested IRQL, 0)
 *   0x32  KeReleaseSpinLock not at DISPATCH_LEVEL   (IRQL, lock, 0)
 *   0x40  KeAcquireSpinLockAtDpcLevel below DISPATCH_LEVEL
 *   0x41  KeReleaseSpinLockFromDpcLevel below DISPATCH_LEVEL
 *   0x42  KeAcquireSpinLock above DISPATCH_LEVEL
 *
 * (without the verifier the first two are IRQL_NOT_GREATER_OR_EQUAL or
 * IRQL_NOT_LESS_OR_EQUAL, the next three corrupt the IRQL or the lock
 * silently, and the last lowers the IRQL of an interrupt routine).
 *
 * A driver's raises go through here too: a loadable driver calls KfRaiseIrql,
 * KfLowerIrql and KeRaiseIrqlToDpcLevel (on x64 Windows KeRaiseIrql is an
 * inline CR8 write the verifier cannot see; Pagoda's drivers call it, as
 * NT's x86 drivers called KfRaiseIrql, so that every raise to
 * DISPATCH_LEVEL or above trims paged pool). Not hooked:
 * KeSynchronizeExecution, whose routine runs at the interrupt's IRQL with
 * the interrupt's lock (a driver touching paged memory there is caught by
 * the same fault, only not forced).
 *
 * IRQL: the checks run at the caller's IRQL; the trim raises to
 * DISPATCH_LEVEL for the PFN lock, so a caller at DISPATCH_LEVEL is fine.
 */
#include "ki.h"
#include "../mm/mm.h"

#define VF_RAISE_TO_LOWER 0x30
#define VF_LOWER_TO_HIGHER 0x31
#define VF_RELEASE_NOT_AT_DISPATCH 0x32
#define VF_ACQUIRE_DPC_BELOW 0x40
#define VF_RELEASE_DPC_BELOW 0x41
#define VF_ACQUIRE_ABOVE_DISPATCH 0x42

static void VfIrqlViolation(ULONG Code, PKSPIN_LOCK SpinLock)
{
    KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, Code, KeGetCurrentIrql(), (ULONG_PTR)SpinLock,
                 0);
}

KIRQL VfAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock)
{
    if (KeGetCurrentIrql() > DISPATCH_LEVEL)
        VfIrqlViolation(VF_ACQUIRE_ABOVE_DISPATCH, SpinLock);
    MmTrimAllSystemPageableMemory();
    KIRQL OldIrql;
    KeAcquireSpinLock(SpinLock, &OldIrql);
    return OldIrql;
}

void VfReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
    if (KeGetCurrentIrql() != DISPATCH_LEVEL)
        VfIrqlViolation(VF_RELEASE_NOT_AT_DISPATCH, SpinLock);
    KeReleaseSpinLock(SpinLock, NewIrql);
}

void VfAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    if (KeGetCurrentIrql() < DISPATCH_LEVEL)
        VfIrqlViolation(VF_ACQUIRE_DPC_BELOW, SpinLock);
    MmTrimAllSystemPageableMemory();
    KeAcquireSpinLockAtDpcLevel(SpinLock);
}

void VfReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
    if (KeGetCurrentIrql() < DISPATCH_LEVEL)
        VfIrqlViolation(VF_RELEASE_DPC_BELOW, SpinLock);
    KeReleaseSpinLockFromDpcLevel(SpinLock);
}

KIRQL VfRaiseIrql(KIRQL NewIrql)
{
    KIRQL Current = KeGetCurrentIrql();
    if (NewIrql < Current || NewIrql > HIGH_LEVEL)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, VF_RAISE_TO_LOWER, Current, NewIrql, 0);
    if (NewIrql >= DISPATCH_LEVEL && Current < DISPATCH_LEVEL)
        MmTrimAllSystemPageableMemory();
    KIRQL OldIrql;
    KeRaiseIrql(NewIrql, &OldIrql);
    return OldIrql;
}

void VfLowerIrql(KIRQL NewIrql)
{
    KIRQL Current = KeGetCurrentIrql();
    if (NewIrql > Current)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, VF_LOWER_TO_HIGHER, Current, NewIrql, 0);
    KeLowerIrql(NewIrql);
}

KIRQL VfRaiseIrqlToDpcLevel(void)
{
    return VfRaiseIrql(DISPATCH_LEVEL);
}
