/*
 * ut.h - the ring-3 test framework of usertests.
 *
 * A test is a void function in a UT_TEST table (one table per service
 * family, one file each in user/tests/). Output, one line per test, as
 * tests/run.py reads it:
 *
 *   PASS name
 *   FAIL name: expr (file:line)
 *     also: expr (file:line)        (later failures of the same test)
 *   ...
 *   N passed, N failed
 *
 * The assertion style, the same in all three test frameworks (UT_ here,
 * KT_ in include/ktest.h, HT_ in tests/host/htest.h):
 *
 *   UT_ASSERT(e)             e must hold; if not, fail and return from the
 *                            function it is written in (the test stops)
 *   UT_EXPECT(e)             e should hold; if not, fail and go on
 *   UT_ASSERT_EQ(a, b)       a == b as 64-bit integers; a failure prints both
 *   UT_EXPECT_EQ(a, b)
 *   UT_ASSERT_STATUS(c, s)   the NTSTATUS c is s; a failure prints both, by name
 *   UT_EXPECT_STATUS(c, s)
 *   UT_ASSERT_SUCCESS(c)     the same with s = STATUS_SUCCESS
 *   UT_EXPECT_SUCCESS(c)
 *
 * Cleanup that must happen even when an assertion stops the test (handles
 * to close, child processes to end, memory to free) is registered with
 * UtDefer(Routine, Context), or UtDeferClose(Handle) and
 * UtDeferEndProcess(Process) for the usual cases, right after the thing is
 * created. The runner runs the deferred routines after the test returns,
 * last registered first, passed or failed. A test that must undo something
 * before its end (to see a handle count drop, say) calls UtCleanupNow on
 * the value UtDefer returned: that routine runs at once and only once.
 * Context must outlive the test: a handle value, static storage or the heap,
 * never the address of a local.
 */
#ifndef PAGODA_USER_UT_H
#define PAGODA_USER_UT_H

#include "pagoda.h"

typedef struct _UT_TEST {
    const char *Name;
    void (*Routine)(void);
} UT_TEST;

/* TRUE with --short: fewer iterations, for TCG. */
extern BOOLEAN UtShort;

/* Report a failure of the running test (the macros below call these). */
void UtFail(const char *Expr, const char *File, int Line);
void UtFailValues(const char *Expr, ULONG64 Left, ULONG64 Right, const char *File, int Line);
void UtFailStatus(const char *Expr, NTSTATUS Got, NTSTATUS Want, const char *File, int Line);

/* The test stops with "return;" after a failed ASSERT; EXPECT goes on. */
#define UT_FAILED_ASSERT_ return
#define UT_FAILED_EXPECT_ (void)0

#define UT_CHECK_(Expr, OnFail)                          \
    do {                                                 \
        if (!(Expr)) {                                   \
            UtFail(#Expr, __FILE__, __LINE__);           \
            OnFail;                                      \
        }                                                \
    } while (0)

#define UT_CHECK_EQ_(A, B, OnFail)                                       \
    do {                                                                 \
        ULONG64 UtA_ = (ULONG64)(A), UtB_ = (ULONG64)(B);                \
        if (UtA_ != UtB_) {                                              \
            UtFailValues(#A " == " #B, UtA_, UtB_, __FILE__, __LINE__);  \
            OnFail;                                                      \
        }                                                                \
    } while (0)

#define UT_CHECK_STATUS_(Call, Want, OnFail)                             \
    do {                                                                 \
        NTSTATUS UtGot_ = (Call);                                        \
        if (UtGot_ != (NTSTATUS)(Want)) {                                \
            UtFailStatus(#Call " == " #Want, UtGot_, (Want), __FILE__, __LINE__); \
            OnFail;                                                      \
        }                                                                \
    } while (0)

#define UT_ASSERT(Expr)             UT_CHECK_(Expr, UT_FAILED_ASSERT_)
#define UT_EXPECT(Expr)             UT_CHECK_(Expr, UT_FAILED_EXPECT_)
#define UT_ASSERT_EQ(A, B)          UT_CHECK_EQ_(A, B, UT_FAILED_ASSERT_)
#define UT_EXPECT_EQ(A, B)          UT_CHECK_EQ_(A, B, UT_FAILED_EXPECT_)
#define UT_ASSERT_STATUS(Call, Want) UT_CHECK_STATUS_(Call, Want, UT_FAILED_ASSERT_)
#define UT_EXPECT_STATUS(Call, Want) UT_CHECK_STATUS_(Call, Want, UT_FAILED_EXPECT_)
#define UT_ASSERT_SUCCESS(Call)     UT_ASSERT_STATUS(Call, STATUS_SUCCESS)
#define UT_EXPECT_SUCCESS(Call)     UT_EXPECT_STATUS(Call, STATUS_SUCCESS)

/* Deferred cleanup (see the top of this file). */
typedef void (*UT_CLEANUP_ROUTINE)(PVOID Context);
typedef struct _UT_DEFERRED UT_DEFERRED, *PUT_DEFERRED;
#define UT_MAX_DEFERRED 64

/*
 * Run Routine(Context) after the running test returns, whether it passed
 * or failed; last registered first. Returns the entry for UtCleanupNow, or
 * NULL (and the test fails) when UT_MAX_DEFERRED cleanups are pending.
 */
PUT_DEFERRED UtDefer(UT_CLEANUP_ROUTINE Routine, PVOID Context);
/* Run a deferred cleanup now; it will not run again. NULL does nothing.
 * The entry is spent (its slot may serve a later UtDefer): do not pass it again. */
void UtCleanupNow(PUT_DEFERRED Entry);
/* UtDefer(NtClose(Handle), which must succeed). */
PUT_DEFERRED UtDeferClose(HANDLE Handle);
/* UtDefer(end Process if it still runs, wait for it, close the handle). */
PUT_DEFERRED UtDeferEndProcess(HANDLE Process);

/* Addresses no service may accept from user mode. */
#define UT_KERNEL_VA      ((PVOID)0xFFFFF78000000000ULL) /* KUSER_SHARED_DATA, system view */
#define UT_NONCANONICAL   ((PVOID)0x0000800000000000ULL)
#define UT_UNMAPPED       ((PVOID)0x0000000012340000ULL)
#define UT_READONLY_VA    ((PVOID)0x7FFE0000ULL)         /* KUSER_SHARED_DATA, user view */
#define UT_BAD_HANDLE     ((HANDLE)0x1234)

/* Helpers (runner.c). */
HANDLE UtCreateEvent(EVENT_TYPE Type, BOOLEAN Signalled);
/* Run "usertests --child ARGS", wait, return its exit status (or the failure). */
NTSTATUS UtRunChild(ULONG Flags, const char *Format, ...) __attribute__((format(printf, 2, 3)));
/* Start "usertests --child ARGS" without waiting. */
NTSTATUS UtSpawnChild(PHANDLE Process, ULONG Flags, const char *Format, ...)
    __attribute__((format(printf, 3, 4)));
NTSTATUS UtExitStatus(HANDLE Process);  /* wait and return its exit status */
ULONG64 UtAvailablePages(void);
/* Let the zero-page thread and the reaper settle, then read AvailablePages. */
ULONG64 UtSettledAvailablePages(void);
BOOLEAN UtOwnProcessEntry(SYSTEM_PROCESS_ENTRY *Entry);
int UtChildMain(int Argc, char **Argv);

/* What a dispatcher test must give back: this process's handle count and
 * the nonpaged pool bytes of the Mutant, Semaphore and Timer objects and
 * of queued user APCs (tags "Muta", "Sema", "Time", "ApcU"). */
typedef struct _UT_BASELINE {
    ULONG HandleCount;
    ULONG64 PoolBytes;
} UT_BASELINE;
UT_BASELINE UtDispatcherBaseline(void);
/* Both back to Before (the reaper may need a moment: retried for 200 ms). */
BOOLEAN UtBackToBaseline(UT_BASELINE Before);

extern const UT_TEST UtEventTests[], UtHandleTests[], UtVmTests[], UtProcessTests[], UtWaitTests[],
    UtQueryTests[], UtCrashTests[], UtThreadTests[], UtStackTests[], UtApcTests[], UtMutantTests[],
    UtNameTests[], UtRobustTests[], UtIoTests[], UtDelayTests[], UtDriverTests[];

/* test_stack.c: the "stackguard MODE" child. */
int UtStackGuardChild(const char *Mode);

#endif /* PAGODA_USER_UT_H */
