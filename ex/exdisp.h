/*
 * exdisp.h - private to ex/: what the services of the dispatcher-object
 * types (ex/mutant.c, ex/semaphore.c, ex/timer.c) share (ex/exdisp.c).
 */
#ifndef PAGODA_EXDISP_H
#define PAGODA_EXDISP_H

#include "ex.h"
#include "../include/ntapi.h"


/* The generic rights (winnt.h) mapped onto a type's own: Read, Write and
 * Execute are the type's rights for GENERIC_READ/WRITE/EXECUTE; GENERIC_ALL
 * and MAXIMUM_ALLOWED give All (no security descriptors yet). Returns
 * Access with the generic bits replaced, limited to All. */
ACCESS_MASK ExpMapGenericAccess(ACCESS_MASK Access, ACCESS_MASK Read, ACCESS_MASK Write,
                                ACCESS_MASK Execute, ACCESS_MASK All);

/*
 * The end of every NtCreateXxx: give the new Object the name of Attributes
 * (captured with ObCaptureObjectAttributes, or NULL) and a handle with
 * Access (ObInsertObject: the caller's creation reference is consumed;
 * with OBJ_OPENIF and the name taken, the handle is to the object that had
 * it), and copy the handle to the user's *UserHandle, which the caller has
 * probed. A copy that fails after all closes the handle again. Returns
 * STATUS_SUCCESS, STATUS_OBJECT_NAME_EXISTS, or the failure of
 * ObInsertObject or of the copy. PASSIVE_LEVEL.
 */
NTSTATUS ExpInsertNewObject(PVOID Object, POBJECT_ATTRIBUTES Attributes, ACCESS_MASK Access,
                            PHANDLE UserHandle);

/*
 * The whole of every NtOpenXxx: probe *UserHandle, capture
 * ObjectAttributes, open the object of Type it names with Access (mapped
 * by the caller) and copy the handle out. Returns the statuses of
 * ObCaptureObjectAttributes and ObOpenObjectByName, STATUS_ACCESS_VIOLATION.
 * PASSIVE_LEVEL.
 */
NTSTATUS ExpOpenNamedObject(PHANDLE UserHandle, ACCESS_MASK Access,
                            POBJECT_ATTRIBUTES ObjectAttributes, POBJECT_TYPE Type);

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
