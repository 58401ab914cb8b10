/*
 * ktdefer.h - deferred cleanups (KtDefer, include/ktest.h) that several
 * in-kernel test files need: join a thread, close a handle, drop a
 * reference, put a priority back. Each KtDeferX registers the cleanup and
 * returns the entry, for KtCleanupNow when the test wants it done early.
 * KtJoinThread joins at once and returns the status. PASSIVE_LEVEL, the
 * test's own thread.
 */
#ifndef PAGODA_KTDEFER_H
#define PAGODA_KTDEFER_H

#include "../../include/ktest.h"
#include "../../kernel/ke.h"
#include "../../ob/ob.h"
#include "../../ps/ps.h"

/* Wait for the system thread behind Handle to end, then close the handle:
 * STATUS_SUCCESS when it ended, else the failed reference's or wait's
 * status. */
static inline NTSTATUS KtJoinThread(HANDLE Handle)
{
    PVOID Thread;
    NTSTATUS Status = ObReferenceObjectByHandle(Handle, 0, PsThreadType, KernelMode, &Thread, NULL);
    if (NT_SUCCESS(Status)) {
        Status = KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(Thread);
    }
    ZwClose(Handle);
    return Status;
}

/* Wait for the thread to end (the wait must succeed), then close the handle. */
static inline void KtJoinThreadRoutine(PVOID Handle)
{
    PVOID Thread;

    KT_ASSERT_STATUS(ObReferenceObjectByHandle((HANDLE)Handle, 0, PsThreadType, KernelMode, &Thread,
                                               NULL),
                     STATUS_SUCCESS);
    KT_EXPECT_STATUS(KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, NULL),
                     STATUS_SUCCESS);
    ObDereferenceObject(Thread);
    ZwClose((HANDLE)Handle);
}

static inline PKT_DEFERRED KtDeferJoinThread(HANDLE Thread)
{
    return KtDefer(KtJoinThreadRoutine, (PVOID)Thread);
}

/* ZwClose; like the calls it replaces, its status is not checked. */
static inline void KtCloseRoutine(PVOID Handle)
{
    (void)ZwClose((HANDLE)Handle);
}

static inline PKT_DEFERRED KtDeferClose(HANDLE Handle)
{
    return KtDefer(KtCloseRoutine, (PVOID)Handle);
}

static inline void KtDereferenceRoutine(PVOID Object)
{
    ObDereferenceObject(Object);
}

static inline PKT_DEFERRED KtDeferDereference(PVOID Object)
{
    return KtDefer(KtDereferenceRoutine, Object);
}

static inline void KtRestorePriorityRoutine(PVOID Priority)
{
    KeSetPriorityThread(KeGetCurrentThread(), (KPRIORITY)(ULONG_PTR)Priority);
}

/* Set the test thread's priority; the old one comes back after the test. */
static inline PKT_DEFERRED KtDeferSetPriority(KPRIORITY Priority)
{
    KPRIORITY Old = KeSetPriorityThread(KeGetCurrentThread(), Priority);
    return KtDefer(KtRestorePriorityRoutine, (PVOID)(ULONG_PTR)Old);
}

#endif /* PAGODA_KTDEFER_H */
