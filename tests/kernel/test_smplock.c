/*
 * test_smplock.c - spin locks that spin, in-stack queued spin locks, the
 * KPRCB (kernel/lock.c, kernel/mp.c, docs/smp.md).
 *
 * These run on any number of processors: they check what one processor
 * sees of the locks (the lock word, the IRQL, the queue links, the
 * hand-over). The tests in which several processors fight over a lock are
 * in test_smpipi.c (they need the IPIs to get the others running).
 */
#include "../../include/ktest.h"
#include "../../kernel/ki.h"

static KSPIN_LOCK KtSmpLock;

KTEST(smp, boot_processor_is_number_zero_with_its_prcb)
{
    KIRQL Old;
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    ULONG Number = KeGetCurrentProcessorNumber();
    PKPRCB Prcb = KeGetCurrentPrcb();
    KeLowerIrql(Old);
    KT_EXPECT_EQ(Number, 0);
    KT_EXPECT_EQ((ULONG_PTR)Prcb, (ULONG_PTR)&KiPcr.Prcb);
    KT_EXPECT_EQ((ULONG_PTR)KiProcessorBlock[0], (ULONG_PTR)&KiPcr.Prcb);
    KT_EXPECT_EQ(Prcb->SetMember, 1);
    KT_EXPECT_EQ(Prcb->ApicId, HalGetCurrentApicId());
    /* Every started processor's KPRCB: its number, bit and APIC id. */
    for (ULONG i = 1; i < KeRegisteredProcessors; i++) {
        KPROCESSOR_INFORMATION Info;
        KT_ASSERT(KeQueryProcessorInformation(i, &Info));
        if (Info.State == KProcessorFailed || Info.State == KProcessorNotStarted) {
            KT_EXPECT(KiProcessorBlock[i] == NULL);
            continue;
        }
        KT_ASSERT(KiProcessorBlock[i] != NULL);
        KT_EXPECT_EQ(KiProcessorBlock[i]->Number, i);
        KT_EXPECT_EQ(KiProcessorBlock[i]->SetMember, (KAFFINITY)1 << i);
        KT_EXPECT_EQ(KiProcessorBlock[i]->ApicId, Info.ApicId);
    }
}

KTEST(lock, spin_lock_word_names_the_owning_thread)
{
    KIRQL Old;
    KeInitializeSpinLock(&KtSmpLock);
    KeAcquireSpinLock(&KtSmpLock, &Old);
    KSPIN_LOCK Word = KtSmpLock;
    KeReleaseSpinLock(&KtSmpLock, Old);
    KT_EXPECT_EQ(Word, (KSPIN_LOCK)KeGetCurrentThread() | 1);
    KT_EXPECT_EQ(KtSmpLock, 0);
}

KTEST(lock, try_to_acquire_takes_a_free_lock_and_refuses_a_held_one)
{
    KIRQL Old;
    KeInitializeSpinLock(&KtSmpLock);
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    BOOLEAN First = KeTryToAcquireSpinLockAtDpcLevel(&KtSmpLock);
    KSPIN_LOCK Word = KtSmpLock;
    BOOLEAN Second = KeTryToAcquireSpinLockAtDpcLevel(&KtSmpLock);
    KSPIN_LOCK WordAfter = KtSmpLock;
    if (First)
        KeReleaseSpinLockFromDpcLevel(&KtSmpLock);
    KeLowerIrql(Old);
    KT_EXPECT(First);
    KT_EXPECT(!Second);
    KT_EXPECT_EQ(Word, (KSPIN_LOCK)KeGetCurrentThread() | 1);
    KT_EXPECT_EQ(WordAfter, Word); /* the refused try left the holder alone */
    KT_EXPECT_EQ(KtSmpLock, 0);
}

KTEST(lock, queued_spin_lock_raises_links_and_frees)
{
    KLOCK_QUEUE_HANDLE Handle;
    KeInitializeSpinLock(&KtSmpLock);
    KIRQL Before = KeGetCurrentIrql();
    KeAcquireInStackQueuedSpinLock(&KtSmpLock, &Handle);
    KIRQL Inside = KeGetCurrentIrql();
    KSPIN_LOCK Word = KtSmpLock;
    ULONG_PTR EntryLock = (ULONG_PTR)Handle.LockQueue.Lock;
    KeReleaseInStackQueuedSpinLock(&Handle);
    KT_EXPECT_EQ(Inside, DISPATCH_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), Before);
    KT_EXPECT_EQ(Handle.OldIrql, Before);
    /* Held: the lock word is the tail of the queue - our entry - and the
     * entry says owner; released with nobody behind: the word is 0. */
    KT_EXPECT_EQ(Word, (KSPIN_LOCK)&Handle.LockQueue);
    KT_EXPECT_EQ(EntryLock, (ULONG_PTR)&KtSmpLock | LOCK_QUEUE_OWNER);
    KT_EXPECT_EQ(KtSmpLock, 0);
}

/*
 * The hand-over, on one processor: a waiter is queued by hand (as a second
 * processor's acquire would leave it: the tail, WAIT set, linked from the
 * holder's entry); the holder's release must clear that waiter's WAIT bit
 * and leave the lock word pointing at it (it holds the lock now); its
 * release then frees the word.
 */
KTEST(lock, queued_spin_lock_release_hands_over_to_the_next_waiter)
{
    KLOCK_QUEUE_HANDLE Holder, Waiter;
    KIRQL Old;
    KeInitializeSpinLock(&KtSmpLock);
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&KtSmpLock, &Holder);
    Waiter.LockQueue.Next = NULL;
    Waiter.LockQueue.Lock = (PKSPIN_LOCK)((ULONG_PTR)&KtSmpLock | LOCK_QUEUE_WAIT);
    KtSmpLock = (KSPIN_LOCK)&Waiter.LockQueue;
    Holder.LockQueue.Next = &Waiter.LockQueue;
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&Holder);
    ULONG_PTR WaiterLock = (ULONG_PTR)Waiter.LockQueue.Lock;
    KSPIN_LOCK Word = KtSmpLock;
    Waiter.LockQueue.Lock = (PKSPIN_LOCK)((ULONG_PTR)&KtSmpLock | LOCK_QUEUE_OWNER);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&Waiter);
    KeLowerIrql(Old);
    KT_EXPECT_EQ(WaiterLock & LOCK_QUEUE_WAIT, 0);
    KT_EXPECT_EQ(WaiterLock & ~(ULONG_PTR)3, (ULONG_PTR)&KtSmpLock);
    KT_EXPECT_EQ(Word, (KSPIN_LOCK)&Waiter.LockQueue);
    KT_EXPECT_EQ(KtSmpLock, 0);
}

KTEST_BUGCHECK(lock, queued_release_of_a_free_lock_bugchecks, SPIN_LOCK_NOT_OWNED)
{
    KLOCK_QUEUE_HANDLE Handle;
    KeInitializeSpinLock(&KtSmpLock);
    KeAcquireInStackQueuedSpinLock(&KtSmpLock, &Handle);
    KeReleaseInStackQueuedSpinLock(&Handle);
    KeRaiseIrql(DISPATCH_LEVEL, &Handle.OldIrql);
    KeReleaseInStackQueuedSpinLock(&Handle);
}
