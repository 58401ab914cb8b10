/*
 * exdisp.h - private to ex/: what the services of the dispatcher-object
 * types (ex/mutant.c, ex/semaphore.c, ex/timer.c) share (ex/exdisp.c).
 */
#ifndef PAGODA_EXDISP_H
#define PAGODA_EXDISP_H

#include "ex.h"
#include "../include/ntapi.h"

#ifndef STANDARD_RIGHTS_READ
#define STANDARD_RIGHTS_READ 0x00020000u
#endif

/* The generic rights (winnt.h) mapped onto a type's own: Read, Write and
 * Execute are the type's rights for GENERIC_READ/WRITE/EXECUTE; GENERIC_ALL
 * and MAXIMUM_ALLOWED give All (no security descriptors yet). Returns
 * Access with the generic bits replaced, limited to All. */
ACCESS_MASK ExpMapGenericAccess(ACCESS_MASK Access, ACCESS_MASK Read, ACCESS_MASK Write,
                                ACCESS_MASK Execute, ACCESS_MASK All);

/*
 * The end of every NtCreateXxx: open a handle with Access to the new
 * Object of Type (the caller's creation reference is dropped: the handle
 * holds it, or nobody does and it is deleted) and copy it to the user's
 * *UserHandle, which the caller has probed. A copy that fails after all
 * closes the handle again. Returns STATUS_SUCCESS or the failure.
 * PASSIVE_LEVEL.
 */
NTSTATUS ExpInsertNewObject(PVOID Object, POBJECT_TYPE Type, ACCESS_MASK Access,
                            PHANDLE UserHandle);

/*
 * The common part of NtQueryXxx: check Length against Size (too small:
 * STATUS_INFO_LENGTH_MISMATCH), probe Information and the optional
 * ReturnLength. Returns STATUS_SUCCESS or the failure (nothing written).
 */
NTSTATUS ExpProbeQueryBuffers(PVOID Information, ULONG Length, ULONG Size, PULONG ReturnLength);
/* Copy Size bytes of the answer and the optional ReturnLength out. */
NTSTATUS ExpCopyQueryResult(PVOID Information, const void *Answer, ULONG Size,
                            PULONG ReturnLength);

/* Reference the object Handle names in the caller's table, of Type, with
 * Access (pseudo handles are processes and threads: a type mismatch). */
NTSTATUS ExpReferenceByHandle(HANDLE Handle, ACCESS_MASK Access, POBJECT_TYPE Type,
                              PVOID *Object);

/* Type registration, called by ExpInitializeExecutiveObjects. */
void ExpInitializeMutantType(void);
void ExpInitializeSemaphoreType(void);
void ExpInitializeTimerType(void);

#endif /* PAGODA_EXDISP_H */
