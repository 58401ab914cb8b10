/*
 * create.c - user-mode processes and threads: creation from an initrd
 * image, the first entry into ring 3, and the first user program.
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
 * How processes end is in ps/kill.c.
 */
#include "psp.h"
#include "../mm/mm.h"
#include "../io/io.h"
#include "../rtl/rtl.h"
#include "../include/ntapi.h"
#define PSP_USER_STACK_RESERVE (256 * 1024)
#define PSP_USER_STACK_COMMIT  (16 * 1024)   /* committed at first; grows by guard pages */
#define PSP_TAG POOL_TAG('P', 's', 'U', 's')


/* ------------------------------------------------------------------------
 * Creating user threads and processes
 * ------------------------------------------------------------------------ */

/* The first run of a user thread, in its process's address space: leave
 * for ring 3 at the entry point with RDI = the parameter. */
static void PspUserThreadStartup(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    PETHREAD Thread = (PETHREAD)KeGetCurrentThread();
    /* RSP as after a call: RSP + 8 is 16-aligned. */
    KeEnterUserMode(Thread->UserEntry, Thread->UserParameter, Thread->UserStackBase - 8);
}

/* A user stack in the process's address space Space, current or not. The
 * process's other threads may be using it: each step takes the VM mutex
 * (MmAllocateUserRange). */
static NTSTATUS PspCreateUserStack(PMMADDRESS_SPACE Space, PETHREAD Thread)
{
    PVOID Base = NULL;
    SIZE_T Size = PSP_USER_STACK_RESERVE;
    NTSTATUS Status = MmAllocateUserRange(Space, &Base, &Size, MEM_RESERVE | MEM_TOP_DOWN,
                                          PAGE_READWRITE);
    if (!NT_SUCCESS(Status))
        return Status;
    /* The top PSP_USER_STACK_COMMIT bytes committed, a guard page below
     * them; the rest of the reservation is committed a page at a time as
     * the stack grows into the guard (MmAccessFault, which learns the
     * limits from PsGetCurrentThreadUserStackLimits). The lowest page is
     * never committed. */
    PVOID Guard = (PUCHAR)Base + Size - PSP_USER_STACK_COMMIT - PAGE_SIZE;
    SIZE_T GuardSize = PAGE_SIZE;
    Status = MmAllocateUserRange(Space, &Guard, &GuardSize, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    if (NT_SUCCESS(Status)) {
        PVOID Body = (PUCHAR)Base + Size - PSP_USER_STACK_COMMIT;
        SIZE_T BodySize = PSP_USER_STACK_COMMIT;
        Status = MmAllocateUserRange(Space, &Body, &BodySize, MEM_COMMIT, PAGE_READWRITE);
    }
    if (!NT_SUCCESS(Status)) {
        NTSTATUS FreeStatus = MmReleaseUserRange(Space, Base);
        ASSERT(NT_SUCCESS(FreeStatus));
        UNREFERENCED_PARAMETER(FreeStatus);
        return Status;
    }
    Thread->UserStackReserve = (ULONG64)Base;
    Thread->UserStackBase = (ULONG64)Base + Size;
    return STATUS_SUCCESS;
}

BOOLEAN PsGetCurrentThreadUserStackLimits(PULONG_PTR LowLimit, PULONG_PTR HighLimit)
{
    PETHREAD Thread = PsGetCurrentThread();
    if (Thread == NULL || !Thread->UserThread || Thread->UserStackReserve == 0)
        return FALSE;
    *LowLimit = Thread->UserStackReserve;
    *HighLimit = Thread->UserStackBase;
    return TRUE;
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
    Status = PspCreateUserStack(Process->Pcb.AddressSpace, Thread);
    if (!NT_SUCCESS(Status)) {
        PspAbandonThread(Thread);
        return Status;
    }
    *Result = Thread;
    return STATUS_SUCCESS;
}

/* Start a thread PspCreateUserThread made; if its process has ended
 * meanwhile, release the thread's user stack and the thread (the caller
 * keeps the process's address space alive: its own process, or rundown
 * protection held). */
static NTSTATUS PspStartUserThread(PEPROCESS Process, PETHREAD Thread)
{
    NTSTATUS Status = PspStartThread(Thread);
    if (NT_SUCCESS(Status))
        return STATUS_SUCCESS;
    NTSTATUS FreeStatus = MmReleaseUserRange(Process->Pcb.AddressSpace,
                                             (PVOID)Thread->UserStackReserve);
    ASSERT(NT_SUCCESS(FreeStatus));
    UNREFERENCED_PARAMETER(FreeStatus);
    PspAbandonThread(Thread);
    return Status;
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
    P.StandardInput = Process->ConsoleInput;
    P.StandardOutput = Process->ConsoleOutput;
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
    NTSTATUS Status = IoFindInitrdFile(ImagePath, &Image, &ImageSize);
    if (!NT_SUCCESS(Status))
        return Status == STATUS_NO_SUCH_FILE ? STATUS_OBJECT_PATH_NOT_FOUND : Status;
    Status = PspValidateElfImage(Image, ImageSize, &Entry);
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
    Status = IoInsertConsoleHandles(Process->ObjectTable, &Process->ConsoleInput,
                                    &Process->ConsoleOutput);
    if (!NT_SUCCESS(Status))
        goto fail;

    PMMADDRESS_SPACE Previous = MmAttachAddressSpace(Process->Pcb.AddressSpace);
    Status = PspMapElfImage(Process->Pcb.AddressSpace, Image);
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
    ObReferenceObject(Thread);          /* the caller's, taken before it can run and end */
    Status = PspStartUserThread(Process, Thread);
    if (!NT_SUCCESS(Status)) {
        ObDereferenceObject(Thread);
        goto fail;
    }
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
                        PCLIENT_ID ClientId)
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
    /* The process's address space must outlive the stack's creation and
     * the thread's start (ending it may release the stack). */
    Status = PsAcquireProcessExitSynchronization(Process);
    if (!NT_SUCCESS(Status)) {
        ObDereferenceObject(Process);
        return Status;
    }
    PETHREAD Thread = NULL;
    if (Process->Exiting || Process == PsInitialSystemProcess || !Process->Pcb.AddressSpace)
        Status = STATUS_PROCESS_IS_TERMINATING;
    else
        Status = PspCreateUserThread(Process, (ULONG64)StartRoutine, (ULONG64)Parameter, &Thread);
    if (NT_SUCCESS(Status)) {
        ObReferenceObject(Thread);
        Status = PspStartUserThread(Process, Thread);
        if (!NT_SUCCESS(Status))
            ObDereferenceObject(Thread);
    }
    PsReleaseProcessExitSynchronization(Process);
    ObDereferenceObject(Process);
    if (!NT_SUCCESS(Status))
        return Status;
    HANDLE Th;
    Status = ObOpenObjectByPointer(Thread, 0, THREAD_ALL_ACCESS, PsThreadType, UserMode, &Th);
    if (NT_SUCCESS(Status))
        Status = MmCopyToUser(ThreadHandle, &Th, sizeof(Th));
    if (NT_SUCCESS(Status) && ClientId) {
        CLIENT_ID Cid = {Thread->Cid.UniqueProcess, Thread->Cid.UniqueThread};
        Status = MmCopyToUser(ClientId, &Cid, sizeof(Cid));
    }
    ObDereferenceObject(Thread);
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
    if (!IoIsInitrdPresent()) {
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
    /* The system has booted: "verifier=lowres" starts failing allocations. */
    MmVerifierBootCompleted();
    KeWaitForSingleObject(Process, Executive, KernelMode, FALSE, NULL);
    Status = Process->ExitStatus;
    ObDereferenceObject(Thread);
    ObDereferenceObject(Process);
    return Status;
}
