/*
 * ktest.c - runs the in-kernel tests (include/ktest.h) when the command
 * line says "ktest" or "ktest=PATTERN", then powers off with an exit code
 * that tells the harness the result.
 */
#include "ki.h"
#include "../include/ktest.h"
#include "../rtl/rtl.h"

extern const KTEST_CASE __ktest_start[], __ktest_end[];

static const KTEST_CASE *KiCurrentTest;
static BOOLEAN KiCurrentTestFailed;

void KtFail(const char *Expression, const char *File, int Line)
{
    DbgPrint("ktest: FAIL %s: %s (%s:%d)\n", KiCurrentTest ? KiCurrentTest->Name : "?",
             Expression, File, Line);
    KiCurrentTestFailed = TRUE;
}

void KtFailValues(const char *Expression, ULONG64 Left, ULONG64 Right, const char *File, int Line)
{
    DbgPrint("ktest: FAIL %s: %s (0x%llx != 0x%llx) (%s:%d)\n",
             KiCurrentTest ? KiCurrentTest->Name : "?", Expression, Left, Right, File, Line);
    KiCurrentTestFailed = TRUE;
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
    ULONG Passed = 0, Failed = 0;

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
        KiCurrentTestFailed = FALSE;
        Case->Run();
        if (KiCurrentTestFailed) {
            Failed++;
        } else {
            Passed++;
            DbgPrint("ktest: PASS %s\n", Case->Name);
        }
    }
    KiCurrentTest = NULL;
    DbgPrint("%u passed, %u failed\n", Passed, Failed);
    HalPowerOff(Failed ? HalExitTestsFailed : HalExitSuccess);
}
