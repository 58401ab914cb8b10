/*
 * psp.h - private to ps/: what the process manager's files share.
 */
#ifndef PAGODA_PSP_H
#define PAGODA_PSP_H

#include "ps.h"

struct _MMADDRESS_SPACE;

/* ps/psmgr.c: a thread object of Process, not yet started; referenced
 * pointer in *Result. PASSIVE_LEVEL. */
NTSTATUS PspCreateThreadObject(PEPROCESS Process, KPRIORITY Priority, PKSTART_ROUTINE StartRoutine,
                               PVOID StartContext, PETHREAD *Result);
/* ps/psmgr.c: undo PspCreateThreadObject for a thread that never ran. */
void PspAbandonThread(PETHREAD Thread);

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
