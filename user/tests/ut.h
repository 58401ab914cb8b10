/*
 * ut.h - the ring-3 test framework of usertests.
 *
 * A test is a void function in a UT_TEST table (one table per service
 * family, one file each in user/tests/). UT_CHECK stops the test at the
 * first failed expectation; UT_EXPECT records it and goes on. Output, one
 * line per test, as tests/run.py reads it:
 *
 *   PASS name
 *   FAIL name: expr (file:line)
 *   ...
 *   N passed, N failed
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

void UtFail(const char *Expr, const char *File, int Line);
void UtFailStatus(const char *Expr, NTSTATUS Got, NTSTATUS Want, const char *File, int Line);

#define UT_CHECK(Expr)                                   \
    do {                                                 \
        if (!(Expr)) {                                   \
            UtFail(#Expr, __FILE__, __LINE__);           \
            return;                                      \
        }                                                \
    } while (0)

#define UT_EXPECT(Expr)                                  \
    do {                                                 \
        if (!(Expr))                                     \
            UtFail(#Expr, __FILE__, __LINE__);           \
    } while (0)

/* Expect an exact NTSTATUS; report what came back. */
#define UT_STATUS(Call, Want)                                            \
    do {                                                                 \
        NTSTATUS UtGot_ = (Call);                                        \
        if (UtGot_ != (NTSTATUS)(Want))                                  \
            UtFailStatus(#Call " == " #Want, UtGot_, (Want), __FILE__, __LINE__); \
    } while (0)

#define UT_SUCCESS(Call) UT_STATUS(Call, STATUS_SUCCESS)

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

extern const UT_TEST UtEventTests[], UtHandleTests[], UtVmTests[], UtProcessTests[],
    UtWaitTests[], UtQueryTests[], UtCrashTests[], UtThreadTests[], UtStackTests[];

/* test_stack.c: the "stackguard MODE" child. */
int UtStackGuardChild(const char *Mode);

#endif /* PAGODA_USER_UT_H */
