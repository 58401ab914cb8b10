/*
 * ps.h - the process manager's public interface: EPROCESS and ETHREAD,
 * system threads, and the Idle and System processes.
 */
#ifndef PAGODA_PS_H
#define PAGODA_PS_H

#include "ke.h"
#include "ob.h"

typedef struct _CLIENT_ID {
    HANDLE UniqueProcess;
    HANDLE UniqueThread;
} CLIENT_ID, *PCLIENT_ID;

typedef void (*PKSTART_ROUTINE)(PVOID StartContext);

typedef struct _EPROCESS {
    KPROCESS Pcb;
    HANDLE UniqueProcessId;         /* 0 Idle, 4 System, then multiples of 4 */
    CHAR ImageFileName[16];
    PHANDLE_TABLE ObjectTable;      /* the private handle table */
    LIST_ENTRY ActiveProcessLinks;  /* PsActiveProcessHead */
    NTSTATUS ExitStatus;
    BOOLEAN OwnsAddressSpace;       /* delete it with the process */
} EPROCESS, *PEPROCESS;

typedef struct _ETHREAD {
    KTHREAD Tcb;
    CLIENT_ID Cid;
    PKSTART_ROUTINE StartRoutine;
    PVOID StartContext;
    NTSTATUS ExitStatus;
    ULONG StackPages;               /* 0: a stack not ours to free (the boot stack) */
} ETHREAD, *PETHREAD;

#define PS_KERNEL_STACK_PAGES 4     /* 16 KiB, plus a guard page */

extern POBJECT_TYPE PsProcessType;
extern POBJECT_TYPE PsThreadType;
extern PEPROCESS PsIdleProcess;
extern PEPROCESS PsInitialSystemProcess;
extern LIST_ENTRY PsActiveProcessHead;

PEPROCESS PsGetCurrentProcess(void);
HANDLE PsGetCurrentProcessId(void);
HANDLE PsGetCurrentThreadId(void);

/*
 * DDK: create a thread running StartRoutine(StartContext) at PASSIVE_LEVEL
 * in the System process (ProcessHandle NULL) or in the process
 * ProcessHandle names. *ThreadHandle receives a handle to it in the
 * current process's table (close it with ZwClose); ClientId, if not NULL,
 * its process and thread IDs. DesiredAccess and ObjectAttributes are
 * accepted and ignored. The thread ends by returning from StartRoutine or
 * calling PsTerminateSystemThread; a wait on its object returns then.
 * IRQL PASSIVE_LEVEL.
 */
NTSTATUS PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess, PVOID ObjectAttributes,
                              HANDLE ProcessHandle, PCLIENT_ID ClientId,
                              PKSTART_ROUTINE StartRoutine, PVOID StartContext);

/* End the calling system thread with ExitStatus. Never returns. */
NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus);

/*
 * A process with its own new address space and handle table and no
 * threads yet (the user-mode issue adds images); referenced pointer in
 * *Process. Its system threads (PsCreateSystemThread with a handle to it)
 * run with its CR3. Released by ObDereferenceObject once its threads end.
 */
NTSTATUS PsCreateProcess(const char *Name, PEPROCESS *Process);

/* Phase 1 of boot: the Idle and System processes, the boot code as the
 * System process's first thread, the idle and zero-page threads. */
void PsInitializeSystem(PVOID BootStackBase, PVOID BootStackLimit);

#endif /* PAGODA_PS_H */
