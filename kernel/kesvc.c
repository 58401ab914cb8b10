/*
 * kesvc.c - the kernel's own system services: NtDelayExecution,
 * NtYieldExecution, NtGetCurrentProcessorNumber, and the timeout capture
 * every waiting service shares (KeCaptureUserTimeout).
 *
 * PASSIVE_LEVEL, on the caller's thread; no lock of their own.
 */
#include "ki.h"
#include "../mm/mm.h"
#include "../include/ntapi.h"

/* The smallest timeout the timer code can negate without overflow. */
#define KI_MINIMUM_INTERVAL (-0x7FFFFFFFFFFFFFFFLL)

/*
 * Capture an optional timeout (100 ns units; NULL: wait for ever). *Timeout
 * becomes NULL or Captured. The most negative value is nudged by one: the
 * timer code negates relative times, and -LLONG_MIN overflows.
 */
NTSTATUS KeCaptureUserTimeout(PLARGE_INTEGER UserTimeout, PLARGE_INTEGER Captured,
                              PLARGE_INTEGER *Timeout)
{
    *Timeout = NULL;
    if (UserTimeout == NULL)
        return STATUS_SUCCESS;
    NTSTATUS Status = MmCopyFromUser(Captured, UserTimeout, sizeof(*Captured));
    if (!NT_SUCCESS(Status))
        return Status;
    if (Captured->QuadPart < KI_MINIMUM_INTERVAL)
        Captured->QuadPart = KI_MINIMUM_INTERVAL;
    *Timeout = Captured;
    return STATUS_SUCCESS;
}

/*
 * NtDelayExecution - sleep for *Interval (negative: relative; positive: an
 * absolute interrupt time; 100 ns units). Returns STATUS_SUCCESS or
 * STATUS_ACCESS_VIOLATION (bad Interval, NULL included). PASSIVE_LEVEL.
 */
NTSTATUS NtDelayExecution(BOOLEAN Alertable, PLARGE_INTEGER Interval)
{
    LARGE_INTEGER CapturedInterval;
    PLARGE_INTEGER KernelInterval;

    if (Interval == NULL)
        return STATUS_ACCESS_VIOLATION;
    NTSTATUS Status = KeCaptureUserTimeout(Interval, &CapturedInterval, &KernelInterval);
    if (!NT_SUCCESS(Status))
        return Status;
    return KeDelayExecutionThread(UserMode, Alertable != FALSE, KernelInterval);
}

/*
 * NtYieldExecution - let another ready thread of the same priority run.
 * STATUS_SUCCESS, or STATUS_NO_YIELD_PERFORMED when there was none.
 */
NTSTATUS NtYieldExecution(void)
{
    return ZwYieldExecution();
}

/* NtGetCurrentProcessorNumber - 0: Pagoda runs on one processor. Does
 * nothing else, which is why the system-call benchmark calls it. */
NTSTATUS NtGetCurrentProcessorNumber(void)
{
    return 0;
}

