/*
 * psuser.c - user-mode processes and threads: creation from an initrd
 * image, the first entry into ring 3, exceptions that end a process alone,
 * termination and rundown, and the process and thread services.
 *
 * A new process (PspCreateUserProcess):
 *   1. find the image in the initrd and validate it (a bad image is
 *      STATUS_INVALID_IMAGE_FORMAT and nothing has been created yet);
 *   2. a process object with a new address space and a handle table
 *      (inherited from the parent when asked), plus a console handle;
 *   3. in its address space: the ELF segments, a user stack (reserved
 *      256 KiB, the lowest page left uncommitted and the next one a guard),
 *      and its PROCESS_PARAMETERS with the command line and environment;
 *   4. its first thread, whose first run (PspUserThreadStartup) builds a
 *      trap frame and "returns" to the entry point in ring 3.
 *
 * When a process ends (its last thread exits, NtTerminateProcess, or an
 * exception in user mode), its object is signalled, and the reaper thread
 * closes its handle table and deletes its address space: every frame, page
 * table, VAD and handle it held goes back (the tests check the counters).
 */
#include "ki.h"
#include "ps.h"
#include "../mm/mi.h"
#include "../rtl/rtl.h"
#include "../include/ntapi.h"

#define PSP_USER_STACK_RESERVE (256 * 1024)
#define PSP_USER_STACK_COMMIT  (16 * 1024)   /* committed at first; grows by guard pages */
#define PSP_TAG POOL_TAG('P', 's', 'U', 's')

extern POBJECT_TYPE IoConsoleObjectType;
NTSTATUS KiInsertConsoleHandle(PHANDLE_TABLE Table, PHANDLE Handle);

/* ------------------------------------------------------------------------
 * The reaper: a system thread that finishes off dead threads and ended
 * processes at PASSIVE_LEVEL, off the dying thread's stack.
 * ------------------------------------------------------------------------ */
static LIST_ENTRY PspReaperList;
static KEVENT PspReaperEvent;

/* Called by the scheduler right after switching away from a thread that
 * ended (DISPATCH_LEVEL, interrupts disabled). */
void PspDeleteDeadThread(PKTHREAD Thread)
{
    InsertTailList(&PspReaperList, &((PETHREAD)Thread)->ReaperLink);
    KeSetEvent(&PspReaperEvent, 0, FALSE);
}

static void PspProcessRundown(PEPROCESS Process)
{
    /* Detach the table and the address space under the dispatcher lock,
     * so the services that look at a process (queries, duplication) see
     * either all of it or RundownDone; then free them. */
    KIRQL OldIrql = KiAcquireDispatcherLock();
    if (Process->RundownDone) {
        KiReleaseDispatcherLock(OldIrql);
        return;
    }
    Process->RundownDone = TRUE;
    PHANDLE_TABLE Table = Process->ObjectTable;
    Process->ObjectTable = NULL;
    PMMADDRESS_SPACE Space = Process->OwnsAddressSpace ? Process->Pcb.AddressSpace : NULL;
    Process->OwnsAddressSpace = FALSE;
    Process->Pcb.AddressSpace = NULL;
    KiReleaseDispatcherLock(OldIrql);
    if (Table)
        ObDestroyHandleTable(Table);
    if (Space)
        MmDeleteProcessAddressSpace(Space);
}

static void PspReaperThread(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    for (;;) {
        KeWaitForSingleObject(&PspReaperEvent, Executive, KernelMode, FALSE, NULL);
        for (;;) {
            KIRQL OldIrql = KiAcquireDispatcherLock();
            if (IsListEmpty(&PspReaperList)) {
                KiReleaseDispatcherLock(OldIrql);
                break;
            }
            PETHREAD Thread = CONTAINING_RECORD(RemoveHeadList(&PspReaperList), ETHREAD, ReaperLink);
            KiReleaseDispatcherLock(OldIrql);
            PEPROCESS Process = CONTAINING_RECORD(Thread->Tcb.Process, EPROCESS, Pcb);
            if (Process->Pcb.ThreadCount == 0 && Process != PsInitialSystemProcess)
                PspProcessRundown(Process);
            ObDereferenceObject(Thread);
        }
    }
}

void PspInitializeReaper(void)
{
    HANDLE Handle;
    InitializeListHead(&PspReaperList);
    KeInitializeEvent(&PspReaperEvent, SynchronizationEvent, FALSE);
    if (!NT_SUCCESS(PsCreateSystemThread(&Handle, 0, NULL, NULL, NULL, PspReaperThread, NULL)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 0x4EA, 0, 0, 0);
    PETHREAD Reaper;
    if (NT_SUCCESS(PsReferenceThreadByHandle(Handle, KernelMode, &Reaper))) {
        KeSetPriorityThread(&Reaper->Tcb, 16);
        ObDereferenceObject(Reaper);
    }
    ZwClose(Handle);
}

/* ------------------------------------------------------------------------
 * Ending threads and processes
 * ------------------------------------------------------------------------ */

/* The calling thread ends with ExitStatus. Never returns. */
__attribute__((noreturn)) void PspExitThread(NTSTATUS ExitStatus)
{
    PETHREAD Thread = (PETHREAD)KeGetCurrentThread();
    PEPROCESS Process = CONTAINING_RECORD(Thread->Tcb.Process, EPROCESS, Pcb);

    /* A user thread's stack goes with it (the process's last thread's goes
     * with the address space anyway). */
    if (Thread->UserThread && Thread->UserStackReserve && Process->Pcb.AddressSpace &&
        KeGetCurrentIrql() == PASSIVE_LEVEL) {
        _enable();
        NTSTATUS Status = MmReleaseUserRange(Process->Pcb.AddressSpace, (PVOID)Thread->UserStackReserve);
        ASSERT(NT_SUCCESS(Status));
        UNREFERENCED_PARAMETER(Status);
        Thread->UserStackReserve = 0;
    }

    KeRaiseIrqlToDpcLevel();
    Thread->ExitStatus = ExitStatus;
    RemoveEntryList(&Thread->Tcb.ThreadListEntry);
    Thread->Tcb.Header.SignalState = 1;
    KiWaitTest(&Thread->Tcb.Header, 0);
    if (--Process->Pcb.ThreadCount == 0 && Process != PsInitialSystemProcess) {
        if (Process->ExitStatus == STATUS_PENDING)
            Process->ExitStatus = ExitStatus;
        Process->Pcb.Header.SignalState = 1;
        KiWaitTest(&Process->Pcb.Header, 0);
    }
    Thread->Tcb.State = Terminated;
    KiSwapThread();
    KeBugCheckEx(KERNEL_SECURITY_CHECK_FAILURE, 0x7E1, (ULONG_PTR)Thread, 0, 0);
}

/* Tell Thread to leave with ExitStatus: at its next return to user mode,
 * or now if it waits in a service. Dispatcher lock held. */
static void PspMarkThreadTerminating(PETHREAD Thread, NTSTATUS ExitStatus)
{
    if (Thread->Tcb.State == Terminated)
        return;
    Thread->Terminating = TRUE;
    Thread->ExitStatus = ExitStatus;
    if (Thread->Tcb.State == Waiting && Thread->Tcb.WaitMode == UserMode)
        KiUnwaitThread(&Thread->Tcb, STATUS_THREAD_IS_TERMINATING, 0);
}

/*
 * Make every thread of Process leave (the caller's own thread last, if it
 * is one of them). Threads in user mode leave at their next kernel entry
 * (the clock interrupt reaches them within a tick); threads waiting in a
 * system service are woken with STATUS_THREAD_IS_TERMINATING.
 */
static void PspTerminateProcess(PEPROCESS Process, NTSTATUS ExitStatus)
{
    PETHREAD Self = (PETHREAD)KeGetCurrentThread();
    BOOLEAN Mine = FALSE;
    KIRQL OldIrql = KiAcquireDispatcherLock();
    if (!Process->Exiting) {
        Process->Exiting = TRUE;
        Process->ExitStatus = ExitStatus;
    }
    for (PLIST_ENTRY E = Process->Pcb.ThreadListHead.Flink; E != &Process->Pcb.ThreadListHead;
         E = E->Flink) {
        PETHREAD Thread = CONTAINING_RECORD(E, ETHREAD, Tcb.ThreadListEntry);
        if (Thread == Self)
            Mine = TRUE;
        else
            PspMarkThreadTerminating(Thread, ExitStatus);
    }
    KiReleaseDispatcherLock(OldIrql);
    KiWakeConsoleReaders();
    if (Mine)
        PspExitThread(ExitStatus);
}

/* ------------------------------------------------------------------------
 * Exceptions in user mode
 * ------------------------------------------------------------------------ */

static const char *PspStatusName(NTSTATUS Status)
{
    switch (Status) {
    case STATUS_ACCESS_VIOLATION: return "STATUS_ACCESS_VIOLATION";
    case STATUS_ILLEGAL_INSTRUCTION: return "STATUS_ILLEGAL_INSTRUCTION";
    case STATUS_INTEGER_DIVIDE_BY_ZERO: return "STATUS_INTEGER_DIVIDE_BY_ZERO";
    case STATUS_PRIVILEGED_INSTRUCTION: return "STATUS_PRIVILEGED_INSTRUCTION";
    case STATUS_STACK_OVERFLOW: return "STATUS_STACK_OVERFLOW";
    case STATUS_GUARD_PAGE_VIOLATION: return "STATUS_GUARD_PAGE_VIOLATION";
    case STATUS_BREAKPOINT: return "STATUS_BREAKPOINT";
    default: return "exception";
    }
}

/* Instructions that are #GP in ring 3 because they are privileged (as
 * opposed to a bad memory access): HLT, CLI, STI, IN, OUT, and the 0F
 * forms (MOV CRn, WRMSR, RDMSR, LGDT/LIDT, INVD, WBINVD). */
static BOOLEAN PspIsPrivilegedInstruction(ULONG64 Rip)
{
    UCHAR Bytes[2] = {0, 0};
    if (!NT_SUCCESS(MmCopyFromUser(Bytes, (PVOID)Rip, 2)))
        return FALSE;
    switch (Bytes[0]) {
    case 0xF4: case 0xFA: case 0xFB: case 0xE4: case 0xE5: case 0xE6: case 0xE7:
    case 0xEC: case 0xED: case 0xEE: case 0xEF: case 0x6C: case 0x6D: case 0x6E: case 0x6F:
        return TRUE;
    case 0x0F:
        return Bytes[1] == 0x20 || Bytes[1] == 0x22 || Bytes[1] == 0x30 || Bytes[1] == 0x32 ||
               Bytes[1] == 0x01 || Bytes[1] == 0x08 || Bytes[1] == 0x09 || Bytes[1] == 0x06;
    default:
        return FALSE;
    }
}

/*
 * A user stack grows as on Windows: only its top pages are committed, with
 * a guard page below them. Touching the guard page (the fault handler has
 * already made it an ordinary page) commits the next page down as the new
 * guard, and the thread goes on. When the guard would reach the lowest page
 * of the reservation, which is never committed, the stack is full: FALSE,
 * and the thread's process ends with STATUS_STACK_OVERFLOW.
 */
static BOOLEAN PspGrowUserStack(PETHREAD Thread, ULONG_PTR FaultVa)
{
    ULONG_PTR Page = ALIGN_DOWN_BY(FaultVa, PAGE_SIZE);
    if (!Thread->UserStackReserve || Page < Thread->UserStackReserve ||
        Page >= Thread->UserStackBase)
        return FALSE; /* a guard page of the program's own */
    if (Page - PAGE_SIZE <= Thread->UserStackReserve)
        return FALSE;
    _enable();
    PEPROCESS Process = PsGetCurrentProcess();
    return NT_SUCCESS(MmCommitUserRange(Process->Pcb.AddressSpace, (PVOID)(Page - PAGE_SIZE),
                                        PAGE_SIZE, PAGE_READWRITE | PAGE_GUARD));
}

/*
 * A trap from ring 3 (kernel/trap.c). Page faults the memory manager
 * resolves return; anything else ends the process with the NT exception
 * code as its exit status, after one console line that names it.
 */
void PspDispatchUserTrap(PKTRAP_FRAME TrapFrame, ULONG_PTR FaultVa)
{
    PETHREAD Thread = (PETHREAD)KeGetCurrentThread();
    PEPROCESS Process = PsGetCurrentProcess();
    NTSTATUS Code;
    ULONG_PTR Address = 0;

    switch (TrapFrame->Vector) {
    case KI_VECTOR_PAGE_FAULT: {
        NTSTATUS Status = MmAccessFault(TrapFrame->ErrorCode, (PVOID)FaultVa, TrapFrame->Rip);
        if (NT_SUCCESS(Status))
            return;
        Address = FaultVa;
        if (Status == STATUS_GUARD_PAGE_VIOLATION && PspGrowUserStack(Thread, FaultVa))
            return; /* the stack's guard page moved down: retry the access */
        Code = Status == STATUS_GUARD_PAGE_VIOLATION ? STATUS_GUARD_PAGE_VIOLATION
                                                     : STATUS_ACCESS_VIOLATION;
        /* The last guard page or the uncommitted page below it: the stack
         * ran out. */
        if (FaultVa >= Thread->UserStackReserve && FaultVa < Thread->UserStackReserve + 2 * PAGE_SIZE)
            Code = STATUS_STACK_OVERFLOW;
        break;
    }
    case KI_VECTOR_DIVIDE_ERROR:
        Code = STATUS_INTEGER_DIVIDE_BY_ZERO;
        break;
    case KI_VECTOR_INVALID_OPCODE:
        Code = STATUS_ILLEGAL_INSTRUCTION;
        break;
    case KI_VECTOR_BREAKPOINT:
        Code = STATUS_BREAKPOINT;
        break;
    case KI_VECTOR_GENERAL_PROTECTION:
        _enable();
        Code = PspIsPrivilegedInstruction(TrapFrame->Rip) ? STATUS_PRIVILEGED_INSTRUCTION
                                                          : STATUS_ACCESS_VIOLATION;
        break;
    default:
        Code = STATUS_ACCESS_VIOLATION;
        break;
    }
    _enable();
    DbgPrint("Process %s (PID %llu) crashed: %s (0x%08x) at RIP 0x%llx, address 0x%llx; "
             "it ends alone.\n",
             Process->ImageFileName, (ULONG64)(ULONG_PTR)Process->UniqueProcessId,
             PspStatusName(Code), (ULONG)Code, TrapFrame->Rip, (ULONG64)Address);
    PspTerminateProcess(Process, Code);
}

/* ------------------------------------------------------------------------
 * Creating user threads and processes
 * ------------------------------------------------------------------------ */

/* The first run of a user thread, in its process's address space: leave
 * for ring 3 at the entry point with RDI = the parameter. */
static void PspUserThreadStartup(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    PETHREAD Thread = (PETHREAD)KeGetCurrentThread();
    KTRAP_FRAME Frame;
    memset(&Frame, 0, sizeof(Frame));
    Frame.Rip = Thread->UserEntry;
    Frame.Rdi = Thread->UserParameter;
    Frame.Rsp = Thread->UserStackBase - 8; /* as after a call: RSP + 8 is 16-aligned */
    Frame.SegCs = KGDT64_R3_CODE | 3;
    Frame.SegSs = KGDT64_R3_DATA | 3;
    Frame.EFlags = 0x202; /* IF */
    KiCheckUserReturn();
    _disable();
    KiEnterUserMode(&Frame);
}

/* A user stack in the current address space (the process's). */
static NTSTATUS PspCreateUserStack(PMMADDRESS_SPACE Space, PETHREAD Thread)
{
    PVOID Base = NULL;
    SIZE_T Size = PSP_USER_STACK_RESERVE;
    NTSTATUS Status = MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE | MEM_TOP_DOWN,
                                              PAGE_READWRITE);
    if (!NT_SUCCESS(Status))
        return Status;
    /* The top PSP_USER_STACK_COMMIT bytes committed, a guard page below
     * them; the rest of the reservation is committed a page at a time as
     * the stack grows into the guard (PspGrowUserStack). The lowest page is
     * never committed. */
    PVOID Guard = (PUCHAR)Base + Size - PSP_USER_STACK_COMMIT - PAGE_SIZE;
    SIZE_T GuardSize = PAGE_SIZE;
    Status = MmAllocateVirtualMemory(Space, &Guard, &GuardSize, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    if (NT_SUCCESS(Status)) {
        PVOID Body = (PUCHAR)Base + Size - PSP_USER_STACK_COMMIT;
        SIZE_T BodySize = PSP_USER_STACK_COMMIT;
        Status = MmAllocateVirtualMemory(Space, &Body, &BodySize, MEM_COMMIT, PAGE_READWRITE);
    }
    if (!NT_SUCCESS(Status)) {
        SIZE_T Zero = 0;
        NTSTATUS FreeStatus = MmFreeVirtualMemory(Space, &Base, &Zero, MEM_RELEASE);
        ASSERT(NT_SUCCESS(FreeStatus));
        UNREFERENCED_PARAMETER(FreeStatus);
        return Status;
    }
    Thread->UserStackReserve = (ULONG64)Base;
    Thread->UserStackBase = (ULONG64)Base + Size;
    return STATUS_SUCCESS;
}

/* A user thread of Process starting at Entry(Parameter), made ready. */
static NTSTATUS PspCreateUserThread(PEPROCESS Process, ULONG64 Entry, ULONG64 Parameter,
                                    PETHREAD *Result)
{
    PETHREAD Thread;
    NTSTATUS Status = PspCreateThreadObject(Process, 8, PspUserThreadStartup, NULL, &Thread);
    if (!NT_SUCCESS(Status))
        return Status;
    Thread->UserThread = TRUE;
    Thread->UserEntry = Entry;
    Thread->UserParameter = Parameter;
    PMMADDRESS_SPACE Previous = MmAttachAddressSpace(Process->Pcb.AddressSpace);
    Status = PspCreateUserStack(Process->Pcb.AddressSpace, Thread);
    MmAttachAddressSpace(Previous);
    if (!NT_SUCCESS(Status)) {
        PspAbandonThread(Thread);
        return Status;
    }
    *Result = Thread;
    return STATUS_SUCCESS;
}

static void PspStartThread(PETHREAD Thread)
{
    KIRQL OldIrql = KiAcquireDispatcherLock();
    KiReadyThread(&Thread->Tcb);
    KiReleaseDispatcherLock(OldIrql);
}

/* Copy a NUL-terminated user string of at most Max - 1 characters. */
static NTSTATUS PspCaptureString(const char *User, char *Buffer, SIZE_T Max)
{
    for (SIZE_T i = 0; i < Max; i++) {
        NTSTATUS Status = MmCopyFromUser(&Buffer[i], User + i, 1);
        if (!NT_SUCCESS(Status))
            return Status;
        if (Buffer[i] == 0)
            return STATUS_SUCCESS;
    }
    return STATUS_NAME_TOO_LONG;
}

/* The environment: NAME=value strings ending with an empty one. */
static NTSTATUS PspCaptureEnvironment(const char *User, char *Buffer, SIZE_T Max, SIZE_T *Length)
{
    for (SIZE_T i = 0; i + 1 < Max; i++) {
        NTSTATUS Status = MmCopyFromUser(&Buffer[i], User + i, 1);
        if (!NT_SUCCESS(Status))
            return Status;
        if (i > 0 && Buffer[i] == 0 && Buffer[i - 1] == 0) {
            *Length = i + 1;
            return STATUS_SUCCESS;
        }
        if (i == 0 && Buffer[0] == 0) {
            Buffer[1] = 0;
            *Length = 2;
            return STATUS_SUCCESS;
        }
    }
    return STATUS_NAME_TOO_LONG;
}

#define PSP_PATH_MAX 128
#define PSP_CMDLINE_MAX 512
#define PSP_ENV_MAX 2048
static const char PspDefaultEnvironment[] = "PATH=/bin\0OS=Pagoda\0";

/* Write the PROCESS_PARAMETERS page into the (current) new address space. */
static NTSTATUS PspWriteParameters(PEPROCESS Process, const char *Image, const char *CmdLine,
                                   const char *Env, SIZE_T EnvLength, PVOID *Where)
{
    PMMADDRESS_SPACE Space = Process->Pcb.AddressSpace;
    SIZE_T ImageLength = strlen(Image) + 1, CmdLength = strlen(CmdLine) + 1;
    SIZE_T Size = sizeof(PROCESS_PARAMETERS) + ImageLength + CmdLength + EnvLength;
    PVOID Base = NULL;
    NTSTATUS Status = MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT,
                                              PAGE_READWRITE);
    if (!NT_SUCCESS(Status))
        return Status;
    PUCHAR User = Base;
    PROCESS_PARAMETERS P;
    memset(&P, 0, sizeof(P));
    P.Length = sizeof(P);
    P.ProcessId = (ULONG)(ULONG_PTR)Process->UniqueProcessId;
    P.StandardInput = P.StandardOutput = Process->ConsoleHandle;
    P.ImagePathName = (PCHAR)(User + sizeof(P));
    P.CommandLine = P.ImagePathName + ImageLength;
    P.Environment = P.CommandLine + CmdLength;
    Status = MmCopyToUser(User, &P, sizeof(P));
    if (NT_SUCCESS(Status))
        Status = MmCopyToUser(P.ImagePathName, Image, ImageLength);
    if (NT_SUCCESS(Status))
        Status = MmCopyToUser(P.CommandLine, CmdLine, CmdLength);
    if (NT_SUCCESS(Status))
        Status = MmCopyToUser(P.Environment, Env, EnvLength);
    *Where = Base;
    return Status;
}

/*
 * Create a process running ImagePath from the initrd. Kernel buffers only
 * (NtCreateUserProcess captured them). On success the process and its
 * first thread are referenced in *ProcessOut / *ThreadOut and running.
 */
NTSTATUS PspCreateUserProcess(const char *ImagePath, const char *CmdLine, const char *Env,
                              SIZE_T EnvLength, BOOLEAN InheritHandles, PEPROCESS *ProcessOut,
                              PETHREAD *ThreadOut)
{
    const UCHAR *Image;
    SIZE_T ImageSize;
    ULONG64 Entry;
    NTSTATUS Status = KeFindInitrdFile(ImagePath, &Image, &ImageSize);
    if (!NT_SUCCESS(Status))
        return Status == STATUS_NO_SUCH_FILE ? STATUS_OBJECT_PATH_NOT_FOUND : Status;
    Status = KiValidateElfImage(Image, ImageSize, &Entry);
    if (!NT_SUCCESS(Status))
        return Status;

    const char *Name = ImagePath;
    for (const char *C = ImagePath; *C; C++)
        if (*C == '/')
            Name = C + 1;
    PEPROCESS Parent = PsGetCurrentProcess();
    PEPROCESS Process;
    Status = PsCreateProcess(Name, &Process);
    if (!NT_SUCCESS(Status))
        return Status;
    Process->ExitStatus = STATUS_PENDING;
    Process->InheritedFromUniqueProcessId = Parent->UniqueProcessId;
    if (InheritHandles && Parent->ObjectTable) {
        PHANDLE_TABLE Inherited;
        Status = ObInheritHandleTable(Parent->ObjectTable, &Inherited);
        if (!NT_SUCCESS(Status))
            goto fail;
        ObDestroyHandleTable(Process->ObjectTable);
        Process->ObjectTable = Inherited;
    }
    Status = KiInsertConsoleHandle(Process->ObjectTable, &Process->ConsoleHandle);
    if (!NT_SUCCESS(Status))
        goto fail;

    PMMADDRESS_SPACE Previous = MmAttachAddressSpace(Process->Pcb.AddressSpace);
    Status = KiMapElfImage(Process->Pcb.AddressSpace, Image);
    if (NT_SUCCESS(Status))
        Status = PspWriteParameters(Process, ImagePath, CmdLine, Env, EnvLength,
                                    &Process->ProcessParameters);
    MmAttachAddressSpace(Previous);
    if (!NT_SUCCESS(Status))
        goto fail;

    PETHREAD Thread;
    Status = PspCreateUserThread(Process, Entry, (ULONG64)Process->ProcessParameters, &Thread);
    if (!NT_SUCCESS(Status))
        goto fail;
    ObReferenceObject(Thread);
    PspStartThread(Thread);
    *ProcessOut = Process;
    *ThreadOut = Thread;
    return STATUS_SUCCESS;

fail:
    /* Never ran: release what it has and drop it. */
    PspProcessRundown(Process);
    ObDereferenceObject(Process);
    return Status;
}

/* ------------------------------------------------------------------------
 * The services
 * ------------------------------------------------------------------------ */

NTSTATUS NtCreateUserProcess(PHANDLE ProcessHandle, PHANDLE ThreadHandle, PCREATE_PROCESS_INFO Info)
{
    CREATE_PROCESS_INFO Captured;
    NTSTATUS Status = MmCopyFromUser(&Captured, Info, sizeof(Captured));
    if (!NT_SUCCESS(Status))
        return Status;
    if (Captured.Flags & ~CREATE_PROCESS_INHERIT_HANDLES)
        return STATUS_INVALID_PARAMETER;
    char *Buffers = ExAllocatePoolWithTag(PagedPool, PSP_PATH_MAX + PSP_CMDLINE_MAX + PSP_ENV_MAX,
                                          PSP_TAG);
    if (!Buffers)
        return STATUS_INSUFFICIENT_RESOURCES;
    char *Path = Buffers, *Cmd = Buffers + PSP_PATH_MAX, *Env = Cmd + PSP_CMDLINE_MAX;
    SIZE_T EnvLength = sizeof(PspDefaultEnvironment);
    Status = PspCaptureString(Captured.ImagePath, Path, PSP_PATH_MAX);
    if (NT_SUCCESS(Status))
        Status = Captured.CommandLine ? PspCaptureString(Captured.CommandLine, Cmd, PSP_CMDLINE_MAX)
                                      : (RtlStringCopy(Cmd, Path, PSP_CMDLINE_MAX), STATUS_SUCCESS);
    if (NT_SUCCESS(Status)) {
        if (Captured.Environment)
            Status = PspCaptureEnvironment(Captured.Environment, Env, PSP_ENV_MAX, &EnvLength);
        else
            memcpy(Env, PspDefaultEnvironment, sizeof(PspDefaultEnvironment));
    }
    /* The handle out-pointers must be writable before anything starts. */
    HANDLE Zero = NULL;
    if (NT_SUCCESS(Status))
        Status = MmCopyToUser(ProcessHandle, &Zero, sizeof(Zero));
    if (NT_SUCCESS(Status))
        Status = MmCopyToUser(ThreadHandle, &Zero, sizeof(Zero));

    PEPROCESS Process = NULL;
    PETHREAD Thread = NULL;
    if (NT_SUCCESS(Status))
        Status = PspCreateUserProcess(Path, Cmd, Env, EnvLength,
                                      (Captured.Flags & CREATE_PROCESS_INHERIT_HANDLES) != 0,
                                      &Process, &Thread);
    ExFreePoolWithTag(Buffers, PSP_TAG);
    if (!NT_SUCCESS(Status))
        return Status;

    HANDLE Ph = NULL, Th = NULL;
    Status = ObOpenObjectByPointer(Process, 0, PROCESS_ALL_ACCESS, PsProcessType, UserMode, &Ph);
    if (NT_SUCCESS(Status))
        Status = ObOpenObjectByPointer(Thread, 0, THREAD_ALL_ACCESS, PsThreadType, UserMode, &Th);
    ObDereferenceObject(Thread);
    ObDereferenceObject(Process);
    if (NT_SUCCESS(Status))
        Status = MmCopyToUser(ProcessHandle, &Ph, sizeof(Ph));
    if (NT_SUCCESS(Status))
        Status = MmCopyToUser(ThreadHandle, &Th, sizeof(Th));
    return Status;
}

NTSTATUS NtCreateThread(PHANDLE ThreadHandle, HANDLE ProcessHandle,
                        PUSER_THREAD_START_ROUTINE StartRoutine, PVOID Parameter,
                        CLIENT_ID_USER *ClientId)
{
    if ((ULONG64)StartRoutine < MM_LOWEST_USER_ADDRESS || (ULONG64)StartRoutine >= MM_USER_PROBE_ADDRESS)
        return STATUS_INVALID_PARAMETER;
    HANDLE Zero = NULL;
    NTSTATUS Status = MmCopyToUser(ThreadHandle, &Zero, sizeof(Zero));
    if (!NT_SUCCESS(Status))
        return Status;
    PEPROCESS Process;
    Status = PsReferenceProcessByHandle(ProcessHandle, UserMode, &Process);
    if (!NT_SUCCESS(Status))
        return Status;
    PETHREAD Thread = NULL;
    if (Process->Exiting || Process == PsInitialSystemProcess || !Process->Pcb.AddressSpace)
        Status = STATUS_PROCESS_IS_TERMINATING;
    else
        Status = PspCreateUserThread(Process, (ULONG64)StartRoutine, (ULONG64)Parameter, &Thread);
    ObDereferenceObject(Process);
    if (!NT_SUCCESS(Status))
        return Status;
    HANDLE Th;
    ObReferenceObject(Thread);
    PspStartThread(Thread);
    Status = ObOpenObjectByPointer(Thread, 0, THREAD_ALL_ACCESS, PsThreadType, UserMode, &Th);
    if (NT_SUCCESS(Status))
        Status = MmCopyToUser(ThreadHandle, &Th, sizeof(Th));
    if (NT_SUCCESS(Status) && ClientId) {
        CLIENT_ID_USER Cid = {Thread->Cid.UniqueProcess, Thread->Cid.UniqueThread};
        Status = MmCopyToUser(ClientId, &Cid, sizeof(Cid));
    }
    ObDereferenceObject(Thread);
    return Status;
}

NTSTATUS NtTerminateProcess(HANDLE ProcessHandle, NTSTATUS ExitStatus)
{
    PEPROCESS Process;
    NTSTATUS Status = PsReferenceProcessByHandle(ProcessHandle, UserMode, &Process);
    if (!NT_SUCCESS(Status))
        return Status;
    if (Process == PsInitialSystemProcess || Process == PsIdleProcess) {
        ObDereferenceObject(Process);
        return STATUS_ACCESS_DENIED;
    }
    if (Process == PsGetCurrentProcess())
        ObDereferenceObject(Process); /* we will not come back to drop it */
    PspTerminateProcess(Process, ExitStatus);
    if (Process != PsGetCurrentProcess())
        ObDereferenceObject(Process);
    return STATUS_SUCCESS;
}

NTSTATUS NtTerminateThread(HANDLE ThreadHandle, NTSTATUS ExitStatus)
{
    PETHREAD Thread;
    NTSTATUS Status = PsReferenceThreadByHandle(ThreadHandle, UserMode, &Thread);
    if (!NT_SUCCESS(Status))
        return Status;
    if (!Thread->UserThread) {
        ObDereferenceObject(Thread);
        return STATUS_ACCESS_DENIED;
    }
    if (Thread == (PETHREAD)KeGetCurrentThread()) {
        ObDereferenceObject(Thread);
        PspExitThread(ExitStatus);
    }
    KIRQL OldIrql = KiAcquireDispatcherLock();
    PspMarkThreadTerminating(Thread, ExitStatus);
    KiReleaseDispatcherLock(OldIrql);
    ObDereferenceObject(Thread);
    return STATUS_SUCCESS;
}

NTSTATUS NtQueryInformationProcess(HANDLE ProcessHandle, PROCESSINFOCLASS InformationClass,
                                   PVOID Information, ULONG Length, PULONG ReturnLength)
{
    if (InformationClass != ProcessBasicInformation)
        return STATUS_INVALID_INFO_CLASS;
    if (Length < sizeof(PROCESS_BASIC_INFORMATION))
        return STATUS_INFO_LENGTH_MISMATCH;
    PEPROCESS Process;
    NTSTATUS Status = PsReferenceProcessByHandle(ProcessHandle, UserMode, &Process);
    if (!NT_SUCCESS(Status))
        return Status;
    PROCESS_BASIC_INFORMATION Info;
    memset(&Info, 0, sizeof(Info));
    Info.ExitStatus = Process->ExitStatus;
    Info.PebBaseAddress = Process->ProcessParameters;
    Info.AffinityMask = 1;
    Info.BasePriority = Process->Pcb.BasePriority;
    Info.UniqueProcessId = (ULONG_PTR)Process->UniqueProcessId;
    Info.InheritedFromUniqueProcessId = (ULONG_PTR)Process->InheritedFromUniqueProcessId;
    ObDereferenceObject(Process);
    Status = MmCopyToUser(Information, &Info, sizeof(Info));
    if (NT_SUCCESS(Status) && ReturnLength) {
        ULONG Size = sizeof(Info);
        Status = MmCopyToUser(ReturnLength, &Size, sizeof(Size));
    }
    return Status;
}

/* ------------------------------------------------------------------------
 * The first user program
 * ------------------------------------------------------------------------ */

/*
 * Start init (the "init=" command line, else /bin/sh), wait for it, and
 * return its exit status. A missing initrd or program is reported with
 * what to do.
 */
NTSTATUS PsRunInitProcess(void)
{
    char Path[PSP_PATH_MAX];
    const char *Init = KeBootOptions.Init[0] ? KeBootOptions.Init : "/bin/sh";
    SIZE_T i = 0;
    while (Init[i] && Init[i] != ' ' && i + 1 < sizeof(Path)) {
        Path[i] = Init[i];
        i++;
    }
    Path[i] = 0;
    if (!KeIsInitrdPresent()) {
        DbgPrint("Pagoda: no initrd, so no %s to run. Boot build/pagoda.iso (make run): its "
                 "grub.cfg loads build/initrd.tar with module2.\n", Path);
        return STATUS_NO_SUCH_FILE;
    }
    PEPROCESS Process;
    PETHREAD Thread;
    NTSTATUS Status = PspCreateUserProcess(Path, Init, PspDefaultEnvironment,
                                           sizeof(PspDefaultEnvironment), FALSE, &Process, &Thread);
    if (!NT_SUCCESS(Status)) {
        DbgPrint("Pagoda: cannot start %s: status 0x%08x%s\n", Path, (ULONG)Status,
                 Status == STATUS_OBJECT_NAME_NOT_FOUND ? " (no such file in the initrd; see "
                                                          "'make' and build/initrd-root/bin)" : "");
        return Status;
    }
    KdPrintBoot("init: %s is PID %llu\n", Init, (ULONG64)(ULONG_PTR)Process->UniqueProcessId);
    KeWaitForSingleObject(Process, Executive, KernelMode, FALSE, NULL);
    Status = Process->ExitStatus;
    ObDereferenceObject(Thread);
    ObDereferenceObject(Process);
    return Status;
}
