/*
 * test_smpdpc.c - DPC queues per processor (kernel/dpc.c, docs/smp.md §6):
 * KeSetTargetProcessorDpc, KeSetImportanceDpc, the IPI that makes another
 * processor drain its queue, and the application processors' idle loop
 * that drains it (kernel/mp.c).
 *
 * The tests that need a second processor skip at -smp 1 with a reason;
 * the harness's smp step boots them with -smp 2 and -smp 4 and requires
 * them to PASS there (tests/run.py, SMP_REQUIRED_PASSES).
 *
 * Every wait for another processor is bounded by the clock (the boot
 * processor's, which keeps ticking: the tests wait at PASSIVE_LEVEL), and
 * a test that timed out releases what it holds before it fails, so a
 * broken queue fails the test instead of hanging the boot.
 */
#include "../../include/ktest.h"
#include "../../kernel/ki.h"

#define KT_NEEDS_TWO_PROCESSORS() \
    KT_SKIP_IF(KeNumberProcessors < 2, \
               "needs a second processor: the smp step runs it with " \
               "-smp 2 and -smp 4")

#define KT_WAIT_MS 10000 /* generous: TCG on a busy host is slow */

/* Spin at PASSIVE_LEVEL until *Value reaches Target or KT_WAIT_MS pass
 * (1 ms per clock tick). TRUE if it did. */
static BOOLEAN KtWaitForCount(volatile LONG *Value, LONG Target)
{
    ULONG64 Deadline = KeQueryTickCount() + KT_WAIT_MS;
    while (__atomic_load_n(Value, __ATOMIC_ACQUIRE) < Target) {
        if (KeQueryTickCount() > Deadline)
            return FALSE;
        _mm_pause();
    }
    return TRUE;
}

/* ------------------------------------------------ one DPC, one processor */

typedef struct _KT_WHERE {
    volatile LONG Count;
    volatile ULONG Processor;
    volatile KIRQL Irql;
    volatile BOOLEAN RoutineActive; /* the running processor's KPCR says so */
    volatile BOOLEAN Queued; /* Dpc->DpcData != NULL inside */
} KT_WHERE, *PKT_WHERE;

static void KtRecordWhere(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    PKT_WHERE Where = Context;
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    Where->Processor = KeGetCurrentProcessorNumber();
    Where->Irql = KeGetCurrentIrql();
    Where->RoutineActive = KeGetPcr()->DpcRoutineActive;
    Where->Queued = Dpc->DpcData != NULL;
    __atomic_add_fetch(&Where->Count, 1, __ATOMIC_RELEASE);
}

/* Dpc records into Where (cleared) when it runs, on processor Number. */
static void KtInitializeRecorder(PKDPC Dpc, KT_WHERE *Where, CHAR Number)
{
    KT_WHERE Zero = {0};
    *Where = Zero;
    KeInitializeDpc(Dpc, KtRecordWhere, Where);
    KeSetTargetProcessorDpc(Dpc, Number);
}

KTEST(smp, dpc_targeted_at_processor_1_runs_there)
{
    KT_NEEDS_TWO_PROCESSORS();
    static KDPC Dpc;
    static KT_WHERE Where;
    PKPRCB Target = KiProcessorBlock[1];
    ULONG64 RunBefore = Target->DpcCount;

    KtInitializeRecorder(&Dpc, &Where, 1);
    KT_ASSERT_EQ(Dpc.Number, KE_MAXIMUM_PROCESSORS + 1);
    KT_ASSERT(KeInsertQueueDpc(&Dpc, NULL, NULL));
    KT_ASSERT(KtWaitForCount(&Where.Count, 1));

    KT_EXPECT_EQ(Where.Processor, 1);
    KT_EXPECT_EQ(Where.Irql, DISPATCH_LEVEL);
    KT_EXPECT(Where.RoutineActive);
    KT_EXPECT(!Where.Queued); /* DpcData cleared before the routine runs */
    KT_EXPECT(Dpc.DpcData == NULL);
    KT_EXPECT_EQ(Target->DpcQueueDepth, 0);
    KT_EXPECT_EQ(Target->DpcLock, 0);
    KT_EXPECT_EQ(Target->DpcCount, RunBefore + 1); /* processor 1 counted it */
    KT_EXPECT(!KeGetPcr()->DpcRoutineActive);
}

/* -------------------------------------- keeping processor 1 in one DPC */

/* A DPC that holds its processor at DISPATCH_LEVEL until released: what
 * is queued there meanwhile waits on that processor's queue. */
static volatile LONG KtBlockerIn, KtBlockerRelease;

static void KtBlockerRoutine(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    __atomic_store_n(&KtBlockerIn, 1, __ATOMIC_RELEASE);
    ULONG64 Deadline = KeQueryTickCount() + KT_WAIT_MS;
    while (!__atomic_load_n(&KtBlockerRelease, __ATOMIC_ACQUIRE) && KeQueryTickCount() < Deadline)
        _mm_pause();
}

static KDPC KtBlocker;

/* Occupy processor Number with the blocker; TRUE once it is inside. */
static BOOLEAN KtBlockProcessor(CHAR Number)
{
    KtBlockerIn = 0;
    KtBlockerRelease = 0;
    KeInitializeDpc(&KtBlocker, KtBlockerRoutine, NULL);
    KeSetTargetProcessorDpc(&KtBlocker, Number);
    KeInsertQueueDpc(&KtBlocker, NULL, NULL);
    return KtWaitForCount(&KtBlockerIn, 1);
}

static void KtUnblockProcessor(void)
{
    __atomic_store_n(&KtBlockerRelease, 1, __ATOMIC_RELEASE);
}

KTEST(smp, dpc_queued_twice_on_a_target_runs_once)
{
    KT_NEEDS_TWO_PROCESSORS();
    static KDPC Dpc;
    static KT_WHERE Where;
    PKPRCB Target = KiProcessorBlock[1];

    KtInitializeRecorder(&Dpc, &Where, 1);
    BOOLEAN Blocked = KtBlockProcessor(1);
    BOOLEAN First = KeInsertQueueDpc(&Dpc, NULL, NULL);
    BOOLEAN Second = KeInsertQueueDpc(&Dpc, NULL, NULL);
    PVOID QueuedOn = Dpc.DpcData;
    ULONG Depth = Target->DpcQueueDepth;
    LONG CountWhileBlocked = Where.Count;
    KtUnblockProcessor();
    BOOLEAN Ran = KtWaitForCount(&Where.Count, 1);

    KT_ASSERT(Blocked);
    KT_EXPECT(First);
    KT_EXPECT(!Second); /* queued already: NT's KeInsertQueueDpc says FALSE */
    KT_EXPECT(QueuedOn == Target); /* on processor 1's queue, not this one's */
    KT_EXPECT_EQ(Depth, 1);
    KT_EXPECT_EQ(CountWhileBlocked, 0);
    KT_ASSERT(Ran);
    /* Give a wrong second run the time to happen before counting. */
    KeStallExecutionProcessor(20000);
    KT_EXPECT_EQ(Where.Count, 1);
    KT_EXPECT_EQ(Where.Processor, 1);
    KT_EXPECT_EQ(Target->DpcQueueDepth, 0);
}

/* ------------------------------------------------------------ importance */

#define KT_ORDERED 5
static volatile LONG KtOrderCount;
static volatile ULONG KtOrder[KT_ORDERED];
static volatile ULONG KtOrderProcessor[KT_ORDERED];

static void KtRecordOrder(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    LONG Index = __atomic_fetch_add(&KtOrderCount, 1, __ATOMIC_ACQ_REL);
    if (Index < KT_ORDERED) {
        KtOrder[Index] = (ULONG)(ULONG_PTR)Context;
        KtOrderProcessor[Index] = KeGetCurrentProcessorNumber();
    }
}

static KDPC KtOrdered[KT_ORDERED];
/* Queued in this order: Low 0, Medium 1, High 2, MediumHigh 3, High 4.
 * High ones go to the head (the last one queued first), the rest to the
 * tail in the order they came. */
static const KDPC_IMPORTANCE KtImportance[KT_ORDERED] = {
    LowImportance, MediumImportance, HighImportance, MediumHighImportance, HighImportance};
static const ULONG KtExpectedOrder[KT_ORDERED] = {4, 2, 0, 1, 3};

/* Target: a processor number, or -1 for none (this processor). */
static void KtQueueOrdered(int Target)
{
    KtOrderCount = 0;
    for (ULONG i = 0; i < KT_ORDERED; i++) {
        KeInitializeDpc(&KtOrdered[i], KtRecordOrder, (PVOID)(ULONG_PTR)i);
        KeSetImportanceDpc(&KtOrdered[i], KtImportance[i]);
        if (Target >= 0)
            KeSetTargetProcessorDpc(&KtOrdered[i], (CHAR)Target);
        KeInsertQueueDpc(&KtOrdered[i], NULL, NULL);
    }
}

KTEST(dpc, high_importance_goes_to_the_head_of_the_queue)
{
    KIRQL OldIrql;
    KeInitializeDpc(&KtOrdered[0], KtRecordOrder, NULL);
    KT_ASSERT_EQ(KtOrdered[0].Importance, MediumImportance); /* NT's default */

    /* At DISPATCH_LEVEL nothing drains until the IRQL drops. */
    KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
    KtQueueOrdered(-1);
    LONG RanRaised = KtOrderCount;
    KeLowerIrql(OldIrql);

    KT_EXPECT_EQ(RanRaised, 0);
    KT_ASSERT_EQ(KtOrderCount, KT_ORDERED);
    for (ULONG i = 0; i < KT_ORDERED; i++) {
        KT_EXPECT_EQ(KtOrder[i], KtExpectedOrder[i]);
        KT_EXPECT_EQ(KtOrderProcessor[i], 0);
    }
}

KTEST(smp, dpc_importance_orders_another_processors_queue)
{
    KT_NEEDS_TWO_PROCESSORS();
    BOOLEAN Blocked = KtBlockProcessor(1);
    KtQueueOrdered(1);
    LONG RanBlocked = KtOrderCount;
    ULONG Depth = KiProcessorBlock[1]->DpcQueueDepth;
    KtUnblockProcessor();
    BOOLEAN Ran = KtWaitForCount(&KtOrderCount, KT_ORDERED);

    KT_ASSERT(Blocked);
    KT_EXPECT_EQ(RanBlocked, 0);
    KT_EXPECT_EQ(Depth, KT_ORDERED);
    KT_ASSERT(Ran);
    for (ULONG i = 0; i < KT_ORDERED; i++) {
        KT_EXPECT_EQ(KtOrder[i], KtExpectedOrder[i]);
        KT_EXPECT_EQ(KtOrderProcessor[i], 1);
    }
}

/* ------------------------------------- 1000 DPCs bounced between processors */

/*
 * Two chains at once: DPC i's routine queues DPC i + 2, and DPC i is
 * targeted at processor (i / 2) mod N, so each chain hops to the next
 * processor at every step, and both chains queue onto each processor's
 * queue from different processors at the same time.
 */
#define KT_BOUNCES 1000
static KDPC KtBounce[KT_BOUNCES];
static volatile LONG KtBounceRuns[KT_BOUNCES];
static volatile UCHAR KtBounceRanOn[KT_BOUNCES];
static volatile LONG KtBounceTotal, KtBounceRefused;

static ULONG KtBounceTarget(ULONG i)
{
    return (i / 2) % (ULONG)KeNumberProcessors;
}

static void KtBounceRoutine(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    ULONG i = (ULONG)(ULONG_PTR)Context;
    __atomic_add_fetch(&KtBounceRuns[i], 1, __ATOMIC_RELAXED);
    KtBounceRanOn[i] = (UCHAR)KeGetCurrentProcessorNumber();
    if (i + 2 < KT_BOUNCES && !KeInsertQueueDpc(&KtBounce[i + 2], NULL, NULL))
        __atomic_add_fetch(&KtBounceRefused, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&KtBounceTotal, 1, __ATOMIC_RELEASE);
}

static ULONG64 KtDpcCountAll(void)
{
    ULONG64 Sum = 0;
    for (ULONG n = 0; n < (ULONG)KeNumberProcessors; n++)
        Sum += KiProcessorBlock[n]->DpcCount;
    return Sum;
}

KTEST(smp, dpcs_bounced_between_processors_each_run_once)
{
    KT_NEEDS_TWO_PROCESSORS();
    KtBounceTotal = 0;
    KtBounceRefused = 0;
    for (ULONG i = 0; i < KT_BOUNCES; i++) {
        KtBounceRuns[i] = 0;
        KtBounceRanOn[i] = 0xFF;
        KeInitializeDpc(&KtBounce[i], KtBounceRoutine, (PVOID)(ULONG_PTR)i);
        KeSetTargetProcessorDpc(&KtBounce[i], (CHAR)KtBounceTarget(i));
    }
    ULONG64 CountBefore = KtDpcCountAll(), OneBefore = KiProcessorBlock[1]->DpcCount;
    KT_ASSERT(KeInsertQueueDpc(&KtBounce[0], NULL, NULL));
    KT_ASSERT(KeInsertQueueDpc(&KtBounce[1], NULL, NULL));
    BOOLEAN Finished = KtWaitForCount(&KtBounceTotal, KT_BOUNCES);
    KeStallExecutionProcessor(20000); /* room for a wrong extra run */

    KT_ASSERT(Finished);
    KT_EXPECT_EQ(KtBounceTotal, KT_BOUNCES);
    KT_EXPECT_EQ(KtBounceRefused, 0);
    ULONG Wrong = 0, Misplaced = 0;
    for (ULONG i = 0; i < KT_BOUNCES; i++) {
        Wrong += KtBounceRuns[i] != 1;
        Misplaced += KtBounceRanOn[i] != KtBounceTarget(i);
    }
    KT_EXPECT_EQ(Wrong, 0);
    KT_EXPECT_EQ(Misplaced, 0);
    /* Every processor counted what it ran (clock DPCs on the boot
     * processor come on top), and every queue is empty again. */
    KT_EXPECT(KtDpcCountAll() >= CountBefore + KT_BOUNCES);
    for (ULONG n = 0; n < (ULONG)KeNumberProcessors; n++) {
        KT_EXPECT_EQ(KiProcessorBlock[n]->DpcLock, 0);
        KT_EXPECT(n == 0 || KiProcessorBlock[n]->DpcQueueDepth == 0);
    }
    DbgPrint("  %u DPCs over %u processors: %llu of them ran on processor 1\n", KT_BOUNCES,
             (ULONG)KeNumberProcessors, KiProcessorBlock[1]->DpcCount - OneBefore);
}
