/*
 * ktest.c - runs the in-kernel tests (include/ktest.h) when the command
 * line says "ktest" or "ktest=PATTERN", then powers off with an exit code
 * that tells the harness the result.
 *
 * Per test the runner keeps whether it failed and the stack of cleanups it
 * deferred (KtDefer). After the test returns it checks the IRQL is back at
 * PASSIVE_LEVEL (lowering it if not), runs the pending cleanups last first,
 * and only then prints PASS, so a cleanup that reports a failure still
 * counts. Tests run one at a time on the boot thread; a test's worker
 * threads may report failures (KtFail) at any IRQL, but only the test's own
 * thread defers cleanups.
 */
#include "ki.h"
#include "../include/ktest.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"

extern const KTEST_CASE __ktest_start[], __ktest_end[];

struct _KT_DEFERRED {
    KT_CLEANUP_ROUTINE Routine;     /* NULL once it has run */
    PVOID Context;
};

static const KTEST_CASE *KiCurrentTest;
static volatile ULONG KiCurrentTestFailures;
static const char *KiCurrentTestSkipped; /* KtSkip's reason, or NULL */
static KT_DEFERRED KiDeferred[KT_MAX_DEFERRED];
static ULONG KiDeferredCount;

/* The first failure of a test is its FAIL line; later ones are "also". */
static void KiReportFailure(const char *Text, const char *Expression, const char *File,
                            int Line)
{
    const char *Name = KiCurrentTest ? KiCurrentTest->Name : "?";

    if (KiCurrentTestFailures++ == 0)
        DbgPrint("ktest: FAIL %s: %s%s (%s:%d)\n", Name, Expression, Text, File, Line);
    else
        DbgPrint("ktest:   also: %s%s (%s:%d)\n", Expression, Text, File, Line);
}

void KtSkip(const char *Why)
{
    KiCurrentTestSkipped = Why;
}

void KtFail(const char *Expression, const char *File, int Line)
{
    KiReportFailure("", Expression, File, Line);
}

void KtFailValues(const char *Expression, ULONG64 Left, ULONG64 Right, const char *File, int Line)
{
    char Values[64];

    RtlFormatBuffer(Values, sizeof(Values), " (0x%llx != 0x%llx)", Left, Right);
    KiReportFailure(Values, Expression, File, Line);
}

void KtFailStatus(const char *Expression, NTSTATUS Got, NTSTATUS Want, const char *File, int Line)
{
    char Values[64];

    RtlFormatBuffer(Values, sizeof(Values), " (got 0x%08x, want 0x%08x)", (ULONG)Got,
                    (ULONG)Want);
    KiReportFailure(Values, Expression, File, Line);
}

PKT_DEFERRED KtDefer(KT_CLEANUP_ROUTINE Routine, PVOID Context)
{
    PKT_DEFERRED Entry;

    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    if (KiDeferredCount == KT_MAX_DEFERRED) {
        KtFail("KtDefer: more than KT_MAX_DEFERRED cleanups pending", __FILE__, __LINE__);
        return NULL;
    }
    Entry = &KiDeferred[KiDeferredCount++];
    Entry->Routine = Routine;
    Entry->Context = Context;
    return Entry;
}

void KtCleanupNow(PKT_DEFERRED Entry)
{
    KT_CLEANUP_ROUTINE Routine;

    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    if (Entry == NULL || Entry->Routine == NULL)
        return;
    Routine = Entry->Routine;
    Entry->Routine = NULL;
    Routine(Entry->Context);
    /* Entries done at the top of the stack free their slots (a loop may
     * defer and clean up thousands of times). */
    while (KiDeferredCount > 0 && KiDeferred[KiDeferredCount - 1].Routine == NULL)
        KiDeferredCount--;
}

/*
 * After a test: back to PASSIVE_LEVEL (a test that left the IRQL raised
 * fails), then every cleanup still pending, last registered first.
 */
static void KiFinishTest(void)
{
    KIRQL Irql = KeGetCurrentIrql();

    if (Irql != PASSIVE_LEVEL) {
        char Text[48];
        RtlFormatBuffer(Text, sizeof(Text), "returned at IRQL %u, not PASSIVE_LEVEL",
                        (ULONG)Irql);
        KiReportFailure("", Text, KiCurrentTest->File, (int)KiCurrentTest->Line);
        KeLowerIrql(PASSIVE_LEVEL);
    }
    while (KiDeferredCount > 0)
        KtCleanupNow(&KiDeferred[KiDeferredCount - 1]);
}

static BOOLEAN KiIsExactName(const char *Pattern, const char *Name)
{
    return Pattern[0] != '\0' && strcmp(Pattern, Name) == 0;
}

/*
 * Run every ordinary test whose name matches Pattern. Bugcheck tests run
 * only when the pattern names one exactly (one per boot: it ends the boot);
 * otherwise they are listed for the harness.
 */
void KiRunTests(const char *Pattern)
{
    ULONG Passed = 0, Failed = 0, Skipped = 0;

    for (const KTEST_CASE *Case = __ktest_start; Case < __ktest_end; Case++) {
        if (Case->ExpectedBugCheck && KiIsExactName(Pattern, Case->Name)) {
            DbgPrint("ktest: RUN %s (must end in bugcheck 0x%08x)\n", Case->Name,
                     Case->ExpectedBugCheck);
            KiCurrentTest = Case;
            Case->Run();
            DbgPrint("ktest: FAIL %s: returned instead of bugchecking with 0x%08x\n", Case->Name,
                     Case->ExpectedBugCheck);
            DbgPrint("0 passed, 1 failed\n");
            HalPowerOff(HalExitTestsFailed);
        }
    }

    DbgPrint("ktest: running tests%s%s\n", Pattern[0] ? " matching " : "", Pattern);
    for (const KTEST_CASE *Case = __ktest_start; Case < __ktest_end; Case++) {
        if (!RtlMatchNamePattern(Pattern, Case->Name))
            continue;
        if (Case->ExpectedBugCheck) {
            DbgPrint("ktest: BUGCHECK-TEST %s expect=0x%08x\n", Case->Name, Case->ExpectedBugCheck);
            continue;
        }
        KiCurrentTest = Case;
        KiCurrentTestFailures = 0;
        KiCurrentTestSkipped = NULL;
        KiDeferredCount = 0;
        Case->Run();
        KiFinishTest();
        if (KiCurrentTestFailures) {
            Failed++;
        } else if (KiCurrentTestSkipped != NULL) {
            Skipped++;
            DbgPrint("ktest: SKIP %s: %s\n", Case->Name, KiCurrentTestSkipped);
        } else {
            Passed++;
            DbgPrint("ktest: PASS %s\n", Case->Name);
        }
    }
    KiCurrentTest = NULL;
    MmPrintPagingSummary();
    if (Skipped != 0)
        DbgPrint("%u passed, %u failed, %u skipped\n", Passed, Failed, Skipped);
    else
        DbgPrint("%u passed, %u failed\n", Passed, Failed);
    HalPowerOff(Failed ? HalExitTestsFailed : HalExitSuccess);
}
