/*
 * ps.h - the process manager's public interface: EPROCESS and ETHREAD,
 * system threads, and the Idle and System processes.
 *
 * Locking: the fields marked "process lock" change under Ps's spin lock
 * (ps/psmgr.c), at DISPATCH_LEVEL; on one processor, code that holds the
 * dispatcher lock (also DISPATCH_LEVEL) sees them unchanged too.
 */
#ifndef PAGODA_PS_H
#define PAGODA_PS_H

#include "../kernel/ke.h"
#include "../ob/ob.h"
#include "../ex/ex.h"

/* Locks, field by field, as in kernel/ke.h: "process lock" is Ps's spin
 * lock PspProcessLock (ps/psmgr.c, DISPATCH_LEVEL); "reaper lock" the
 * reaper's (ps/kill.c); "creation" means set before any other thread can
 * reach the object, read-only afterwards; "own thread" means only the
 * thread itself writes it. */
typedef struct _EPROCESS {
    KPROCESS Pcb;
    HANDLE UniqueProcessId;         /* 0 Idle, 4 System, then multiples of 4. Creation */
    CHAR ImageFileName[16];         /* creation */
    PHANDLE_TABLE ObjectTable;      /* the private handle table. Creation; cleared under
                                     * the process lock by the rundown. The table
                                     * has its own lock (ob/ob.h). Another process's
                                     * only under RundownProtect */
    LIST_ENTRY ActiveProcessLinks;  /* PsActiveProcessHead. Process lock */
    LIST_ENTRY ThreadListHead;      /* its started ETHREADs' ThreadListEntry. Process lock */
    NTSTATUS ExitStatus;            /* STATUS_PENDING while it runs. Process lock */
    BOOLEAN OwnsAddressSpace;       /* delete it with the process. Creation; cleared
                                     * under the process lock by the rundown */
    BOOLEAN Exiting;                /* NtTerminateProcess or a crash: threads leave.
                                     * Process lock */
    BOOLEAN RundownDone;            /* the rundown has begun (handle table and address
                                     * space released, or about to be). Process lock */
    EX_RUNDOWN_REF RundownProtect;  /* held by whoever uses ObjectTable or Pcb.AddressSpace
                                     * of a process not its own (PsAcquireProcess-
                                     * ExitSynchronization); the rundown waits for the
                                     * holders, and then acquiring fails. Atomic */
    HANDLE InheritedFromUniqueProcessId; /* creation */
    PVOID ProcessParameters;        /* its PROCESS_PARAMETERS, in its user space. Creation */
    HANDLE ConsoleInput;            /* its console handles: StandardInput (read), */
    HANDLE ConsoleOutput;           /* StandardOutput (write). Creation */
} EPROCESS, *PEPROCESS;

typedef struct _ETHREAD {
    KTHREAD Tcb;
    CLIENT_ID Cid;                  /* creation */
    PKSTART_ROUTINE StartRoutine;   /* creation */
    PVOID StartContext;             /* creation */
    NTSTATUS ExitStatus;            /* process lock */
    ULONG StackPages;               /* 0: a stack not ours to free (the boot stack). Creation */
    BOOLEAN UserThread;             /* runs in ring 3 (its kernel stack is for traps). Creation */
    BOOLEAN Terminating;            /* told to end, or ending: leave at the next return to
                                     * user mode. Process lock (the thread reads it alone) */
    LIST_ENTRY ThreadListEntry;     /* in its EPROCESS.ThreadListHead while started.
                                     * Process lock */
    ULONG64 UserStackBase;          /* top of its user stack. Creation */
    ULONG64 UserStackReserve;       /* lowest address of the reservation (guard below
                                     * commit). Creation; cleared by its own thread as
                                     * it exits */
    LIST_ENTRY ReaperLink;          /* on the reaper's list after it ended. Reaper lock */
    ULONG64 UserEntry;              /* where it enters ring 3. Creation */
    ULONG64 UserParameter;          /* RDI at that entry. Creation */
    LIST_ENTRY IrpList; /* its pending user I/O requests (IRP.ThreadListEntry).
                                     * Own thread, at APC_LEVEL (io/iosvc.c) */
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
 * its process and thread IDs. The handle grants DesiredAccess as given
 * (THREAD_ALL_ACCESS is the usual choice: a handle without SYNCHRONIZE
 * cannot be waited on through NtWaitForSingleObject); ObjectAttributes is
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

/*
 * Reference the process Handle names (NtCurrentProcess() included) in the
 * current process's table: STATUS_INVALID_HANDLE /
 * STATUS_OBJECT_TYPE_MISMATCH otherwise. Release with ObDereferenceObject.
 */
NTSTATUS PsReferenceProcessByHandle(HANDLE Handle, KPROCESSOR_MODE Mode, PEPROCESS *Process);
/* The same for threads (NtCurrentThread() included). */
NTSTATUS PsReferenceThreadByHandle(HANDLE Handle, KPROCESSOR_MODE Mode, PETHREAD *Thread);

/*
 * NT's names for the process's rundown protection (ps/kill.c): a service
 * that uses the handle table or the address space of a process (another
 * one, or one named by a handle) acquires it first, and releases it when
 * done; meanwhile the reaper cannot tear either down. Returns
 * STATUS_SUCCESS, or STATUS_PROCESS_IS_TERMINATING (nothing held) once the
 * rundown has begun. The caller holds a reference on Process. IRQL <=
 * DISPATCH_LEVEL; never blocks.
 */
NTSTATUS PsAcquireProcessExitSynchronization(PEPROCESS Process);
void PsReleaseProcessExitSynchronization(PEPROCESS Process);

/* Start the reaper thread (ps/kill.c). Boot, PASSIVE_LEVEL. */
void PsInitializeReaper(void);

/* The scheduler, right after switching away from a thread that ended:
 * hand Thread to the reaper, which frees its stack and object at
 * PASSIVE_LEVEL (ps/kill.c). DISPATCH_LEVEL, interrupts disabled. */
void PsInsertDeadThread(PKTHREAD Thread);

/* The calling thread ends with ExitStatus: its user stack is released (if
 * the program has not released it itself), its object and (if it was the
 * last) its process's are signalled, and it never runs again (ps/kill.c).
 * PASSIVE_LEVEL, or DISPATCH_LEVEL when the stack cannot be released.
 * Never returns. */
__attribute__((noreturn)) void PsExitCurrentThread(NTSTATUS ExitStatus);

/*
 * An exception in user mode that nothing resolved (kernel/trap.c decided
 * its NT status, ExceptionCode): print one console line naming the process,
 * the status, the faulting instruction ExceptionAddress and, for a page
 * fault, the address FaultAddress (else 0), then end the current process
 * with ExceptionCode as its exit status (ps/psexcept.c). Never returns.
 * PASSIVE_LEVEL, interrupts enabled.
 */
__attribute__((noreturn)) void PsTerminateProcessOnException(NTSTATUS ExceptionCode,
                                                             ULONG_PTR ExceptionAddress,
                                                             ULONG_PTR FaultAddress);

/*
 * The current thread's user stack, as Windows' GetCurrentThreadStackLimits
 * gives it: *LowLimit the lowest address of the reservation (that page is
 * never committed), *HighLimit the top. FALSE, and nothing written, for a
 * thread without one (a system thread). Read by MmAccessFault to grow the
 * stack through its guard page (ps/create.c). Any IRQL.
 */
BOOLEAN PsGetCurrentThreadUserStackLimits(PULONG_PTR LowLimit, PULONG_PTR HighLimit);

/* Start init (the "init=" command line, else /bin/sh), wait for it, and
 * return its exit status (ps/create.c). A missing initrd or program is
 * reported with what to do. PASSIVE_LEVEL. */
NTSTATUS PsRunInitProcess(void);

/* Phase 1 of boot: the Idle and System processes, the boot code as the
 * System process's first thread, the idle and zero-page threads. */
void PsInitializeSystem(PVOID BootStackBase, PVOID BootStackLimit);

#endif /* PAGODA_PS_H */
