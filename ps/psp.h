/*
 * psp.h - private to ps/: what the process manager's files share.
 */
#ifndef PAGODA_PSP_H
#define PAGODA_PSP_H

#include "ps.h"

struct _MMADDRESS_SPACE;

/* ps/psmgr.c: the process lock (see ps/psmgr.c's header for what it
 * guards). A spin lock: DISPATCH_LEVEL while held. */
extern KSPIN_LOCK PspProcessLock;

/* ps/psmgr.c: a thread object of Process, set up (KeInitThread) but on no
 * list and not started; referenced pointer in *Result. PASSIVE_LEVEL. */
NTSTATUS PspCreateThreadObject(PEPROCESS Process, KPRIORITY Priority, PKSTART_ROUTINE StartRoutine,
                               PVOID StartContext, PETHREAD *Result);
/* ps/psmgr.c: undo PspCreateThreadObject for a thread never started. */
void PspAbandonThread(PETHREAD Thread);
/* ps/psmgr.c: Thread joins its process (told to end at once if the
 * process is exiting) and becomes ready. STATUS_PROCESS_IS_TERMINATING,
 * and nothing done, when the process has ended (no thread left, exit
 * status set): the caller abandons the thread. IRQL <= APC_LEVEL. */
NTSTATUS PspStartThread(PETHREAD Thread);

/* ps/kill.c: tell Thread to end with ExitStatus at its next return toward
 * user mode, now if it waits in a service for user mode; nothing if it was
 * told already or is ending. PspProcessLock held. */
void PspRequestThreadTermination(PETHREAD Thread, NTSTATUS ExitStatus);

/* ps/kill.c: make every thread of Process leave with ExitStatus (the
 * caller's own thread last, if it is one of them; then it never returns).
 * PASSIVE_LEVEL. */
void PspTerminateProcess(PEPROCESS Process, NTSTATUS ExitStatus);

/* ps/kill.c: release Process's handle table and address space (once;
 * later calls do nothing). PASSIVE_LEVEL, no lock held. */
void PspProcessRundown(PEPROCESS Process);

/* ps/ldr.c: check every header field of the ELF64 image the loader relies
 * on (STATUS_INVALID_IMAGE_FORMAT otherwise; nothing is created), then map
 * its PT_LOAD segments into AddressSpace (the current one). PASSIVE_LEVEL. */
NTSTATUS PspValidateElfImage(const UCHAR *Image, SIZE_T Size, ULONG64 *Entry);
NTSTATUS PspMapElfImage(struct _MMADDRESS_SPACE *AddressSpace, const UCHAR *Image);

#endif /* PAGODA_PSP_H */
