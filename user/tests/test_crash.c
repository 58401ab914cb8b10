/*
 * test_crash.c - every way /bin/crash dies ends only that process, with
 * the NTSTATUS Windows gives the exception, and gives its memory back.
 */
#include "ut.h"

static void CrashEndsOnlyTheCrasher(const char *Kind, NTSTATUS Want)
{
    char Line[32];
    NTSTATUS Exit = 0;
    ULONG64 Before, After;

    PgRun("true", NULL, &Exit); /* warm up one-time allocations */
    Before = UtSettledAvailablePages();
    snprintf(Line, sizeof(Line), "crash %s", Kind);
    UT_EXPECT_SUCCESS(PgRun("crash", Line, &Exit));
    UT_EXPECT_STATUS(Exit, Want);
    After = UtSettledAvailablePages();
    for (int Try = 0; Try < 20 && After + 16 < Before; Try++)
        After = UtSettledAvailablePages();
    UT_EXPECT(After + 16 >= Before);
}

static void Av(void) { CrashEndsOnlyTheCrasher("av", STATUS_ACCESS_VIOLATION); }
static void Ud(void) { CrashEndsOnlyTheCrasher("ud", STATUS_ILLEGAL_INSTRUCTION); }
static void Div(void) { CrashEndsOnlyTheCrasher("div", STATUS_INTEGER_DIVIDE_BY_ZERO); }
static void DivMem(void) { CrashEndsOnlyTheCrasher("divmem", STATUS_INTEGER_DIVIDE_BY_ZERO); }
static void Overflow(void) { CrashEndsOnlyTheCrasher("ovf", STATUS_INTEGER_OVERFLOW); }
static void OverflowMem(void) { CrashEndsOnlyTheCrasher("ovfmem", STATUS_INTEGER_OVERFLOW); }
static void Breakpoint(void) { CrashEndsOnlyTheCrasher("bp", STATUS_BREAKPOINT); }
static void SingleStep(void) { CrashEndsOnlyTheCrasher("step", STATUS_SINGLE_STEP); }
static void SingleStepService(void) { CrashEndsOnlyTheCrasher("stepsvc", STATUS_SINGLE_STEP); }
static void DebugRegister(void) { CrashEndsOnlyTheCrasher("dr", STATUS_PRIVILEGED_INSTRUCTION); }
static void Sysret(void) { CrashEndsOnlyTheCrasher("sysret", STATUS_PRIVILEGED_INSTRUCTION); }
static void Priv(void) { CrashEndsOnlyTheCrasher("priv", STATUS_PRIVILEGED_INSTRUCTION); }
static void Cli(void) { CrashEndsOnlyTheCrasher("cli", STATUS_PRIVILEGED_INSTRUCTION); }
static void Stack(void) { CrashEndsOnlyTheCrasher("stack", STATUS_STACK_OVERFLOW); }
static void Kernel(void) { CrashEndsOnlyTheCrasher("kernel", STATUS_ACCESS_VIOLATION); }
static void Exec(void) { CrashEndsOnlyTheCrasher("exec", STATUS_ACCESS_VIOLATION); }
static void ReadOnly(void) { CrashEndsOnlyTheCrasher("ro", STATUS_ACCESS_VIOLATION); }

/* A crashing child's handles are closed: the event it held goes away with it. */
static void CrashClosesHandles(void)
{
    SYSTEM_PROCESS_ENTRY Before, After;
    NTSTATUS Exit;

    UT_ASSERT(UtOwnProcessEntry(&Before));
    UT_EXPECT_SUCCESS(PgRun("crash", "crash av", &Exit));
    UT_ASSERT(UtOwnProcessEntry(&After));
    UT_EXPECT(After.HandleCount == Before.HandleCount);
    UT_EXPECT(Exit == STATUS_ACCESS_VIOLATION);
}

const UT_TEST UtCrashTests[] = {
    {"crash.av", Av},
    {"crash.ud", Ud},
    {"crash.div", Div},
    {"crash.div_memory", DivMem},
    {"crash.idiv_overflow", Overflow},
    {"crash.idiv_overflow_memory", OverflowMem},
    {"crash.breakpoint", Breakpoint},
    {"crash.single_step", SingleStep},
    {"crash.single_step_system_call", SingleStepService},
    {"crash.debug_register", DebugRegister},
    {"crash.sysret", Sysret},
    {"crash.priv", Priv},
    {"crash.cli", Cli},
    {"crash.stack", Stack},
    {"crash.kernel_address", Kernel},
    {"crash.execute_data", Exec},
    {"crash.write_read_only", ReadOnly},
    {"crash.parent_handle_count_unchanged", CrashClosesHandles},
    {NULL, NULL},
};
