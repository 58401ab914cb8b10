/*
 * obsvc.c - the handle services: NtClose and NtDuplicateObject.
 *
 * Services capture and probe their user inputs first, resolve handles
 * second, act last (ex/event.c's header tells the three steps).
 * PASSIVE_LEVEL; the handle tables lock inside (ob/obhandle.c).
 */
#include "obp.h"
#include "../ps/ps.h"
#include "../mm/mm.h"
#include "../include/ntapi.h"

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* An optional output the service writes at the end: probe it now. */
static NTSTATUS ObpProbeOptionalOutput(PVOID Output, SIZE_T Length)
{
    return Output != NULL ? ProbeForWrite(Output, Length, 1) : STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------
 * Handles
 * ------------------------------------------------------------------------ */

/*
 * NtClose - close Handle in the caller's table. Returns STATUS_SUCCESS or
 * STATUS_INVALID_HANDLE (also for kernel handles and the pseudo handles).
 */
NTSTATUS NtClose(HANDLE Handle)
{
    return ObCloseHandle(Handle, UserMode);
}

/*
 * Duplicate a pseudo handle: NtCurrentProcess() names the source process,
 * NtCurrentThread() the calling thread (as on NT). There is nothing to
 * close, so DUPLICATE_CLOSE_SOURCE is ignored; with no TargetTable there is
 * nothing to do either.
 */
static NTSTATUS ObpDuplicatePseudoHandle(PEPROCESS SourceProcess, HANDLE SourceHandle,
                                         PHANDLE_TABLE TargetTable, ACCESS_MASK DesiredAccess,
                                         ULONG Options, PHANDLE NewHandle)
{
    PVOID Object = SourceProcess;
    ACCESS_MASK FullAccess = PROCESS_ALL_ACCESS;

    if (SourceHandle == NtCurrentThread()) {
        Object = KeGetCurrentThread();
        FullAccess = THREAD_ALL_ACCESS;
    }
    if (TargetTable == NULL)
        return STATUS_SUCCESS;
    ACCESS_MASK Access = (Options & DUPLICATE_SAME_ACCESS) ? FullAccess : DesiredAccess;
    if ((Access & ~FullAccess) != 0)
        return STATUS_ACCESS_DENIED;
    return ObInsertHandle(TargetTable, Object, Access, 0, NewHandle);
}

/*
 * NtDuplicateObject - make a handle in the process TargetProcessHandle
 * names for the object SourceHandle names in the process
 * SourceProcessHandle names (either may be NtCurrentProcess(); the two may
 * be the same). Options: DUPLICATE_SAME_ACCESS (else DesiredAccess, which
 * must not widen the source's access: STATUS_ACCESS_DENIED),
 * DUPLICATE_SAME_ATTRIBUTES, DUPLICATE_CLOSE_SOURCE (closes the source
 * handle whether or not the duplicate could be made; within one process
 * the copy gets the source's value, as in NT; TargetProcessHandle may then
 * be NULL: close only). TargetHandle is optional: without it the
 * handle is still made (NT's rule) but its value is not returned.
 *
 * Returns STATUS_SUCCESS; STATUS_INVALID_PARAMETER (unknown options, no
 * target without DUPLICATE_CLOSE_SOURCE); STATUS_ACCESS_VIOLATION (bad
 * TargetHandle, nothing done); STATUS_INVALID_HANDLE /
 * STATUS_OBJECT_TYPE_MISMATCH for the process handles and the source
 * handle (kernel handles are refused); STATUS_PROCESS_IS_TERMINATING when
 * either process's rundown has begun (its rundown protection cannot be
 * acquired: the handle table is going or gone); the statuses of
 * ObDuplicateHandle. NOTE: the new handle has no attributes unless
 * DUPLICATE_SAME_ATTRIBUTES (Pagoda's NtDuplicateObject has no
 * HandleAttributes argument), and PROCESS_DUP_HANDLE is not checked.
 * PASSIVE_LEVEL.
 */
NTSTATUS NtDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle,
                           HANDLE TargetProcessHandle, PHANDLE TargetHandle,
                           ACCESS_MASK DesiredAccess, ULONG Options)
{
    const ULONG KnownOptions =
        DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS | DUPLICATE_SAME_ATTRIBUTES;
    PEPROCESS SourceProcess, TargetProcess = NULL;
    HANDLE NewHandle = NULL;
    NTSTATUS Status;

    if ((Options & ~KnownOptions) != 0)
        return STATUS_INVALID_PARAMETER;
    if (TargetProcessHandle == NULL && !(Options & DUPLICATE_CLOSE_SOURCE))
        return STATUS_INVALID_PARAMETER;
    Status = ObpProbeOptionalOutput(TargetHandle, sizeof(HANDLE));
    if (!NT_SUCCESS(Status))
        return Status;

    /* Both processes referenced and their rundown protection held: the
     * reaper cannot destroy either handle table while we use it. */
    Status = PsReferenceProcessByHandle(SourceProcessHandle, UserMode, &SourceProcess);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = PsAcquireProcessExitSynchronization(SourceProcess);
    if (!NT_SUCCESS(Status))
        goto deref_source;
    if (TargetProcessHandle != NULL) {
        Status = PsReferenceProcessByHandle(TargetProcessHandle, UserMode, &TargetProcess);
        if (!NT_SUCCESS(Status))
            goto release_source;
        Status = PsAcquireProcessExitSynchronization(TargetProcess);
        if (!NT_SUCCESS(Status)) {
            ObDereferenceObject(TargetProcess);
            goto release_source;
        }
    }

    PHANDLE_TABLE SourceTable = SourceProcess->ObjectTable;
    PHANDLE_TABLE TargetTable = TargetProcess != NULL ? TargetProcess->ObjectTable : NULL;
    if (SourceTable == NULL || (TargetProcess != NULL && TargetTable == NULL))
        Status = STATUS_PROCESS_IS_TERMINATING;
    else if (ObIsPseudoHandle(SourceHandle))
        Status = ObpDuplicatePseudoHandle(SourceProcess, SourceHandle, TargetTable, DesiredAccess,
                                          Options, &NewHandle);
    else if (ObIsKernelHandle(SourceHandle))
        Status = STATUS_INVALID_HANDLE; /* user mode never sees the kernel table */
    else
        Status = ObDuplicateHandle(SourceTable, SourceHandle, TargetTable, DesiredAccess, 0,
                                   Options, &NewHandle);

    if (TargetProcess != NULL) {
        PsReleaseProcessExitSynchronization(TargetProcess);
        ObDereferenceObject(TargetProcess);
    }
release_source:
    PsReleaseProcessExitSynchronization(SourceProcess);
deref_source:
    ObDereferenceObject(SourceProcess);

    /* As NT: once the handle exists, a failing write of its value cannot
     * undo it (the target may be using it already), so it is ignored. */
    if (NT_SUCCESS(Status) && TargetHandle != NULL && TargetTable != NULL)
        (void)MmCopyToUser(TargetHandle, &NewHandle, sizeof(NewHandle));
    return Status;
}

