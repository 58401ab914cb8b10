/*
 * apc.c - the user-mode half of user APCs: the dispatcher the kernel
 * enters to run one (kernel/apcsvc.c draws the whole path).
 *
 * The kernel leaves a USER_APC_RECORD on this thread's stack - the routine,
 * its three arguments, and the CONTEXT the thread had when the APC
 * interrupted it (returning from an alertable wait or NtTestAlert) - and
 * enters PgUserApcDispatcher with RDI pointing at it, as if it had been
 * called. The dispatcher calls the routine and resumes the saved context
 * with NtContinue, which never returns here: the interrupted system call
 * then returns to its caller. PgStartup registers the dispatcher for the
 * process (NtRegisterUserApcDispatcher) before main runs.
 */
#include "pagoda.h"

__attribute__((noreturn, used, visibility("hidden"))) void PgUserApcDispatcher(PUSER_APC_RECORD Record)
{
    Record->NormalRoutine(Record->NormalContext, Record->SystemArgument1,
                          Record->SystemArgument2);
    /* TRUE: the next queued user APC, if any, is delivered first. */
    for (;;)
        NtContinue(&Record->Context, TRUE);
}
