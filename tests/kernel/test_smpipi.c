/*
 * test_smpipi.c - IPIs (kernel/ipi.c) and spin locks with several
 * processors taking them (kernel/lock.c, docs/smp.md §7).
 *
 * The tests that need a second processor skip at -smp 1 with a reason;
 * the harness's smp step boots them with -smp 2 and -smp 4 and requires
 * them to PASS there (tests/run.py, SMP_REQUIRED_PASSES).
 */
#include "../../include/ktest.h"
#include "../../kernel/ki.h"

#define KT_NEEDS_TWO_PROCESSORS()                                                              \
    KT_SKIP_IF(KeNumberProcessors < 2, "needs a second processor: the smp step runs it with " \
                                       "-smp 2 and -smp 4")

static volatile KAFFINITY KtSeen;
static volatile ULONG KtIrqlWrong;

static ULONG_PTR KtRecordProcessor(ULONG_PTR Argument)
{
    if (KeGetCurrentIrql() != IPI_LEVEL)
        __atomic_add_fetch(&KtIrqlWrong, 1, __ATOMIC_RELAXED);
    __atomic_or_fetch(&KtSeen, (KAFFINITY)1 << KeGetCurrentProcessorNumber(), __ATOMIC_RELAXED);
    return Argument + KeGetCurrentProcessorNumber();
}

KTEST(smp, ipi_generic_call_runs_on_every_active_processor)
{
    KtSeen = 0;
    KtIrqlWrong = 0;
    ULONG64 Before = KiProcessorBlock[KeNumberProcessors - 1]->IpiRequestsServiced;
    ULONG_PTR Result = KeIpiGenericCall(KtRecordProcessor, 1000);
    KT_EXPECT_EQ(KtSeen, KeActiveProcessors);
    KT_EXPECT_EQ(KtIrqlWrong, 0);
    KT_EXPECT_EQ(Result, 1000); /* the caller's own: the boot processor's number is 0 */
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    if (KeNumberProcessors > 1)
        KT_EXPECT_EQ(KiProcessorBlock[KeNumberProcessors - 1]->IpiRequestsServiced, Before + 1);
}

/* ------------------------------------------------- a counter under a lock */

#define KT_INCREMENTS 3000 /* x4 processors: MCS hand-overs crawl when the host is busy */
static KSPIN_LOCK KtCounterLock;
static volatile ULONG64 KtCounter;

/* Read, let the others in if they could come, write: without the lock
 * two processors read the same value and one increment is lost. */
static inline void KtSlowIncrement(void)
{
    ULONG64 Value = KtCounter;
    _mm_pause();
    KtCounter = Value + 1;
}

static ULONG_PTR KtCountUnderSpinLock(ULONG_PTR Argument)
{
    UNREFERENCED_PARAMETER(Argument);
    for (ULONG i = 0; i < KT_INCREMENTS; i++) {
        KeAcquireSpinLockAtDpcLevel(&KtCounterLock);
        KtSlowIncrement();
        KeReleaseSpinLockFromDpcLevel(&KtCounterLock);
    }
    return 0;
}

static ULONG_PTR KtCountUnderQueuedLock(ULONG_PTR Argument)
{
    UNREFERENCED_PARAMETER(Argument);
    for (ULONG i = 0; i < KT_INCREMENTS; i++) {
        KLOCK_QUEUE_HANDLE Handle;
        KeAcquireInStackQueuedSpinLockAtDpcLevel(&KtCounterLock, &Handle);
        KtSlowIncrement();
        KeReleaseInStackQueuedSpinLockFromDpcLevel(&Handle);
    }
    return 0;
}

static ULONG64 KtContention(void)
{
    ULONG64 Sum = 0;
    for (ULONG i = 0; i < (ULONG)KeNumberProcessors; i++)
        Sum += KiProcessorBlock[i]->SpinLockContentionCount;
    return Sum;
}

static void KtCountOnEveryProcessor(PKIPI_BROADCAST_WORKER Worker)
{
    KeInitializeSpinLock(&KtCounterLock);
    KtCounter = 0;
    ULONG64 ContentionBefore = KtContention();
    KeIpiGenericCall(Worker, 0);
    KT_EXPECT_EQ(KtCounter, (ULONG64)KT_INCREMENTS * (ULONG64)KeNumberProcessors);
    KT_EXPECT_EQ(KtCounterLock, 0);
    DbgPrint("  %u processors x %u increments, %llu contended acquires\n",
            (ULONG)KeNumberProcessors, KT_INCREMENTS, KtContention() - ContentionBefore);
}

KTEST(smp, spin_lock_counter_from_every_processor_is_exact)
{
    KT_NEEDS_TWO_PROCESSORS();
    KtCountOnEveryProcessor(KtCountUnderSpinLock);
}

KTEST(smp, queued_spin_lock_counter_from_every_processor_is_exact)
{
    KT_NEEDS_TWO_PROCESSORS();
    KtCountOnEveryProcessor(KtCountUnderQueuedLock);
}

/* ---------------------------------------- IPIs crossing in both directions */

#define KT_CROSSING_ROUNDS 300
static volatile ULONG64 KtReceived[KE_MAXIMUM_PROCESSORS];

static ULONG_PTR KtCountReceived(ULONG_PTR Argument)
{
    UNREFERENCED_PARAMETER(Argument);
    __atomic_add_fetch(&KtReceived[KeGetCurrentProcessorNumber()], 1, __ATOMIC_RELAXED);
    return 0;
}

/* On every processor at once (after the generic call's barrier): send a
 * request to all the others and wait for it. Each waits at IPI_LEVEL while
 * the others' requests arrive for it: it must run them while it waits. */
static ULONG_PTR KtSendToAllOthers(ULONG_PTR Argument)
{
    UNREFERENCED_PARAMETER(Argument);
    KiIpiSendPacket(KeActiveProcessors, KtCountReceived, 0);
    return 0;
}

KTEST(smp, ipis_sent_both_ways_at_once_do_not_deadlock)
{
    KT_NEEDS_TWO_PROCESSORS();
    for (ULONG i = 0; i < KE_MAXIMUM_PROCESSORS; i++)
        KtReceived[i] = 0;
    for (ULONG Round = 0; Round < KT_CROSSING_ROUNDS; Round++)
        KeIpiGenericCall(KtSendToAllOthers, 0);
    /* Each processor ran one request from each of the others per round. */
    for (ULONG i = 0; i < (ULONG)KeNumberProcessors; i++)
        KT_EXPECT_EQ(KtReceived[i], (ULONG64)KT_CROSSING_ROUNDS * (KeNumberProcessors - 1));
}

/* ------------------------------------------------ a bugcheck on another one */

static ULONG_PTR KtBugCheckOnTheLastProcessor(ULONG_PTR Argument)
{
    if (KeGetCurrentProcessorNumber() == (ULONG)KeNumberProcessors - 1)
        KeBugCheckEx(MANUALLY_INITIATED_CRASH, Argument, 0, 0, 0);
    return 0;
}

/* The last processor bugchecks inside IPI work while the boot processor
 * waits for it at IPI_LEVEL: the screen must come anyway, from that
 * processor, with the boot processor frozen by the NMI (the smp step's
 * smp.bugcheck2 boot checks the "On processor 1; 1 other processor
 * frozen" line; at -smp 1 it is the boot processor's own bugcheck). */
KTEST_BUGCHECK(smp, bugcheck_in_ipi_work_freezes_the_other_processors, MANUALLY_INITIATED_CRASH)
{
    KeIpiGenericCall(KtBugCheckOnTheLastProcessor, 0x15);
}
