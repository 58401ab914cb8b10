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
 *   0x32  KeReleaseSpinLock not at DISPATCH_LEVEL   (IRQL, lock, 0)
 *   0x40  KeAcquireSpinLockAtDpcLevel below DISPATCH_LEVEL
 *   0x41  KeReleaseSpinLockFromDpcLevel below DISPATCH_LEVEL
 *   0x42  KeAcquireSpinLock above DISPATCH_LEVEL
 *
 * (without the verifier the first three corrupt the IRQL or the lock
 * silently, and the fourth lowers the IRQL of an interrupt routine).
 *
 * Not hooked: KeRaiseIrql, which x64 drivers inline as a CR8 write, as on
 * x64 Windows; KeSynchronizeExecution, whose routine runs at the
 * interrupt's IRQL with the interrupt's lock (a driver touching paged
 * memory there is caught by the same fault, only not forced).
 *
 * IRQL: the checks run at the caller's IRQL; the trim raises to
 * DISPATCH_LEVEL for the PFN lock, so a caller at DISPATCH_LEVEL is fine.
 */
#include "ki.h"
#include "../mm/mm.h"

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
