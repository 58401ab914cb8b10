/*
 * test_vfirql.c - Driver Verifier's IRQL checking (kernel/vfirql.c,
 * docs/verifier.md): the checked spin-lock routines trim paged pool, the
 * loader binds them only under VERIFIER_FORCE_IRQL_CHECKING, and the
 * latent bug of drivers/pagedlock (paged pool read under a spin lock)
 * passes unnoticed without the verifier and stops the system with it.
 * The tests turn the flag on in MmVerifierFlags themselves (a driver is
 * bound when it is loaded) and put it back.
 */
#include "../../include/ktest.h"
#include "../../io/ldrp.h"
#include "../../mm/mm.h"
#include "../../rtl/rtl.h"

#define KT_TAG POOL_TAG('K', 't', 'V', 'i')

static UNICODE_STRING KtDelay = RTL_CONSTANT_STRING(u"delay");
static UNICODE_STRING KtPagedLock = RTL_CONSTANT_STRING(u"pagedlock");

static void KtRestoreVerifierFlags(PVOID Flags)
{
    MmVerifierFlags = (ULONG)(ULONG_PTR)Flags;
}

/* Turn IRQL checking on (or off) until the test ends. */
static void KtSetIrqlChecking(BOOLEAN On)
{
    KtDefer(KtRestoreVerifierFlags, (PVOID)(ULONG_PTR)MmVerifierFlags);
    if (On)
        MmVerifierFlags |= VERIFIER_FORCE_IRQL_CHECKING;
    else
        MmVerifierFlags &= ~VERIFIER_FORCE_IRQL_CHECKING;
}

static void KtUnload(PVOID Service)
{
    NTSTATUS Status = IoUnloadDriver(Service);
    if (!NT_SUCCESS(Status) && Status != STATUS_OBJECT_NAME_NOT_FOUND)
        DbgPrint("test_vfirql: cleanup could not unload: 0x%08x\n", (ULONG)Status);
}

/* The loaded module called Name ("delay.sys"), or NULL. */
static PIOP_LDR_MODULE KtFindModule(const char *Name)
{
    PIOP_LDR_MODULE Found = NULL;
    KIRQL OldIrql;
    KeAcquireSpinLock(&IopLdrLock, &OldIrql);
    for (PLIST_ENTRY Link = IopLoadedModuleList.Flink; Link != &IopLoadedModuleList;
         Link = Link->Flink) {
        PIOP_LDR_MODULE Module = CONTAINING_RECORD(Link, IOP_LDR_MODULE, InLoadOrderLinks);
        if (!strcmp(Module->BaseDllName, Name))
            Found = Module;
    }
    KeReleaseSpinLock(&IopLdrLock, OldIrql);
    return Found;
}

static void KtFreePaged(PVOID Block)
{
    ExFreePoolWithTag(Block, KT_TAG);
}

/* The checked acquire trims paged pool before it takes the lock: a page
 * that was valid is not any more while the lock is held, and comes back
 * intact (a soft fault) once the caller is below DISPATCH_LEVEL again. */
KTEST(vfirql, checked_acquire_trims_paged_pool_first)
{
    volatile UCHAR *Buffer = ExAllocatePoolWithTag(PagedPool, PAGE_SIZE, KT_TAG);
    KT_ASSERT(Buffer != NULL);
    KtDefer(KtFreePaged, (PVOID)Buffer);
    for (ULONG i = 0; i < PAGE_SIZE; i++)
        Buffer[i] = (UCHAR)(i * 7);
    KT_ASSERT(MmIsAddressValid((PVOID)Buffer));

    KSPIN_LOCK Lock;
    KeInitializeSpinLock(&Lock);
    KIRQL OldIrql = VfAcquireSpinLockRaiseToDpc(&Lock);
    BOOLEAN ValidUnderLock = MmIsAddressValid((PVOID)Buffer);
    KIRQL Irql = KeGetCurrentIrql();
    KSPIN_LOCK Word = Lock;
    VfReleaseSpinLock(&Lock, OldIrql);

    KT_EXPECT(!ValidUnderLock);
    KT_EXPECT_EQ(Irql, DISPATCH_LEVEL);
    KT_EXPECT(Word != 0);
    KT_EXPECT_EQ(Lock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), OldIrql);
    ULONG Bad = PAGE_SIZE;
    for (ULONG i = 0; i < PAGE_SIZE && Bad == PAGE_SIZE; i++)
        if (Buffer[i] != (UCHAR)(i * 7))
            Bad = i;
    KT_EXPECT_EQ(Bad, PAGE_SIZE);
    KT_EXPECT(MmIsAddressValid((PVOID)Buffer));

    /* The DPC-level pair: the same trim, the same lock word. */
    KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
    VfAcquireSpinLockAtDpcLevel(&Lock);
    ValidUnderLock = MmIsAddressValid((PVOID)Buffer);
    VfReleaseSpinLockFromDpcLevel(&Lock);
    KeLowerIrql(OldIrql);
    KT_EXPECT(!ValidUnderLock);
    KT_EXPECT_EQ(Lock, 0);

    /* A checked raise to DISPATCH_LEVEL trims too; one to APC_LEVEL not. */
    (void)Buffer[0]; /* touched back: a soft fault */
    KT_EXPECT(MmIsAddressValid((PVOID)Buffer));
    OldIrql = VfRaiseIrql(APC_LEVEL);
    KT_EXPECT(MmIsAddressValid((PVOID)Buffer));
    KIRQL AtApc = VfRaiseIrql(DISPATCH_LEVEL);
    ValidUnderLock = MmIsAddressValid((PVOID)Buffer);
    VfLowerIrql(AtApc);
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    VfLowerIrql(OldIrql);
    KT_EXPECT_EQ(AtApc, APC_LEVEL);
    KT_EXPECT(!ValidUnderLock);
}

/* A correct driver (delay.sys takes its spin locks right) loads verified:
 * its four spin-lock imports are bound to the checked routines. Without
 * the flag none is. (The delay tests load the driver and leave it loaded:
 * it is unloaded first, and they load it again when they need it.) */
KTEST(vfirql, a_driver_loaded_under_the_flag_is_bound_to_the_checks)
{
    NTSTATUS Status = IoUnloadDriver(&KtDelay);
    KT_ASSERT(NT_SUCCESS(Status) || Status == STATUS_OBJECT_NAME_NOT_FOUND);
    KtSetIrqlChecking(TRUE);
    KT_ASSERT_STATUS(IoLoadDriver(&KtDelay), STATUS_SUCCESS);
    PKT_DEFERRED Unload = KtDefer(KtUnload, &KtDelay);
    PIOP_LDR_MODULE Module = KtFindModule("delay.sys");
    KT_ASSERT(Module != NULL);
    KT_EXPECT_EQ(Module->VerifiedImports, 4);
    KtCleanupNow(Unload);

    MmVerifierFlags &= ~VERIFIER_FORCE_IRQL_CHECKING;
    KT_ASSERT_STATUS(IoLoadDriver(&KtDelay), STATUS_SUCCESS);
    KtDefer(KtUnload, &KtDelay);
    Module = KtFindModule("delay.sys");
    KT_ASSERT(Module != NULL);
    KT_EXPECT_EQ(Module->VerifiedImports, 0);
}

/* Without the verifier the bug of pagedlock.sys goes unseen: the page is
 * resident, the read under the lock works, the driver loads. */
KTEST(vfirql, the_latent_bug_passes_without_the_verifier)
{
    KtSetIrqlChecking(FALSE);
    KT_ASSERT_STATUS(IoLoadDriver(&KtPagedLock), STATUS_SUCCESS);
    KtDefer(KtUnload, &KtPagedLock);
    PIOP_LDR_MODULE Module = KtFindModule("pagedlock.sys");
    KT_ASSERT(Module != NULL);
    KT_EXPECT_EQ(Module->VerifiedImports, 0);
}

/* With it, the acquire trims the page and the read faults at
 * DISPATCH_LEVEL: IRQL_NOT_LESS_OR_EQUAL, in pagedlock.sys's DriverEntry. */
KTEST_BUGCHECK(vfirql, the_latent_bug_stops_the_system_under_irql_checking, IRQL_NOT_LESS_OR_EQUAL)
{
    KtSetIrqlChecking(TRUE);
    NTSTATUS Status = IoLoadDriver(&KtPagedLock);
    KT_EXPECT(FALSE); /* not reached */
    (void)Status;
}

/* A release below DISPATCH_LEVEL (the driver lowered the IRQL while
 * holding the lock): 0xC4, 0x32. */
KTEST_BUGCHECK(vfirql, release_below_dispatch_level, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KSPIN_LOCK Lock;
    KeInitializeSpinLock(&Lock);
    KIRQL OldIrql = VfAcquireSpinLockRaiseToDpc(&Lock);
    KeLowerIrql(OldIrql);
    VfReleaseSpinLock(&Lock, OldIrql);
}

/* KeLowerIrql to a higher IRQL than the current one: 0xC4, 0x31. */
KTEST_BUGCHECK(vfirql, lower_to_a_higher_irql, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    VfLowerIrql(DISPATCH_LEVEL);
}
