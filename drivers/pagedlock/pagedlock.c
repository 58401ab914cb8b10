/*
 * pagedlock.c - a driver with a latent bug, the one Driver Verifier's
 * IRQL checking exists to find (kernel/vfirql.c, docs/verifier.md).
 *
 * DriverEntry fills a page of paged pool, then reads it back while holding
 * a spin lock - at DISPATCH_LEVEL, where no page fault can be resolved.
 * Paged pool stays resident until the working-set manager trims it, so on
 * an ordinary boot the page is there, the read works, and the driver
 * loads and prints its sum: the bug is invisible. Under "verifier=irql"
 * the spin-lock acquire trims all of paged pool first, the read faults,
 * and the system stops with IRQL_NOT_LESS_OR_EQUAL (0xA) in this driver.
 *
 * The fix would be to read the buffer before taking the lock, or to keep
 * data used under a spin lock in nonpaged pool.
 */
#include "../ntddk.h"

#define PAGEDLOCK_TAG POOL_TAG('P', 'g', 'L', 'k')
#define PAGEDLOCK_WORDS (PAGE_SIZE / sizeof(ULONG))

static KSPIN_LOCK PagedLockSpinLock;

static void PagedLockUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    volatile ULONG *Buffer = ExAllocatePoolWithTag(PagedPool, PAGE_SIZE, PAGEDLOCK_TAG);
    if (!Buffer)
        return STATUS_INSUFFICIENT_RESOURCES;
    for (ULONG i = 0; i < PAGEDLOCK_WORDS; i++)
        Buffer[i] = i;

    KIRQL OldIrql;
    ULONG Sum = 0;
    KeInitializeSpinLock(&PagedLockSpinLock);
    KeAcquireSpinLock(&PagedLockSpinLock, &OldIrql);
    for (ULONG i = 0; i < PAGEDLOCK_WORDS; i++)
        Sum += Buffer[i]; /* the bug: paged pool at DISPATCH_LEVEL */
    KeReleaseSpinLock(&PagedLockSpinLock, OldIrql);

    ExFreePoolWithTag((PVOID)Buffer, PAGEDLOCK_TAG);
    DbgPrint("pagedlock: read a page of paged pool holding a spin lock: sum %u; the page was "
             "resident this time\n",
             Sum);
    DriverObject->DriverUnload = PagedLockUnload;
    return STATUS_SUCCESS;
}
