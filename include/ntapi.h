/*
 * ntapi.h - the system services as user mode calls them (and the kernel
 * implements them): prototypes, and the structures they exchange. Shared
 * by kernel/, mm/ and user/. Every pointer argument is a user pointer: the
 * kernel probes and captures it (mm/probe.c) before use.
 */
#ifndef PAGODA_NTAPI_H
#define PAGODA_NTAPI_H

#include "ntdef.h"
#include "ntstatus.h"
#include "ntmmapi.h"

#define NtCurrentProcess() ((HANDLE)(LONG_PTR)-1)
#define NtCurrentThread()  ((HANDLE)(LONG_PTR)-2)

/* Access masks (NT values); EVENT_TYPE and WAIT_TYPE are in ntdef.h. */
#define EVENT_QUERY_STATE       0x0001
#define EVENT_MODIFY_STATE      0x0002
#define EVENT_ALL_ACCESS        0x1F0003
#define PROCESS_ALL_ACCESS      0x1FFFFF
#define THREAD_ALL_ACCESS       0x1FFFFF
#ifndef DUPLICATE_CLOSE_SOURCE  /* also in ob/ob.h */
#define DUPLICATE_CLOSE_SOURCE  0x1
#define DUPLICATE_SAME_ACCESS   0x2
#define DUPLICATE_SAME_ATTRIBUTES 0x4
#endif

/* Directory and symbolic link objects (the object namespace). */
#ifndef DIRECTORY_QUERY /* also in ob/ob.h */
#define DIRECTORY_QUERY               0x0001
#define DIRECTORY_TRAVERSE            0x0002
#define DIRECTORY_CREATE_OBJECT       0x0004
#define DIRECTORY_CREATE_SUBDIRECTORY 0x0008
#define DIRECTORY_ALL_ACCESS          (STANDARD_RIGHTS_REQUIRED | 0xF)
#define SYMBOLIC_LINK_QUERY           0x0001
#define SYMBOLIC_LINK_ALL_ACCESS      (STANDARD_RIGHTS_REQUIRED | 0x1)
#endif

/* One entry of NtQueryDirectoryObject's answer: both strings point into
 * the same buffer, after the array (which ends with a zeroed entry). */
typedef struct _OBJECT_DIRECTORY_INFORMATION {
    UNICODE_STRING Name;
    UNICODE_STRING TypeName;
} OBJECT_DIRECTORY_INFORMATION, *POBJECT_DIRECTORY_INFORMATION;

/* Mutant, semaphore and timer access (winnt.h values). */
#define MUTANT_QUERY_STATE      0x0001
#define MUTANT_ALL_ACCESS       0x1F0001
#define SEMAPHORE_QUERY_STATE   0x0001
#define SEMAPHORE_MODIFY_STATE  0x0002
#define SEMAPHORE_ALL_ACCESS    0x1F0003
#define TIMER_QUERY_STATE       0x0001
#define TIMER_MODIFY_STATE      0x0002
#define TIMER_ALL_ACCESS        0x1F0003


/* NtQueryMutant / NtQuerySemaphore / NtQueryTimer classes and answers. */
typedef enum _MUTANT_INFORMATION_CLASS { MutantBasicInformation = 0 } MUTANT_INFORMATION_CLASS;
typedef struct _MUTANT_BASIC_INFORMATION {
    LONG CurrentCount;              /* 1 free, <= 0 owned (recursion depth 1 - count) */
    BOOLEAN OwnedByCaller;
    BOOLEAN AbandonedState;
} MUTANT_BASIC_INFORMATION;

typedef enum _SEMAPHORE_INFORMATION_CLASS {
    SemaphoreBasicInformation = 0
} SEMAPHORE_INFORMATION_CLASS;
typedef struct _SEMAPHORE_BASIC_INFORMATION {
    LONG CurrentCount;
    LONG MaximumCount;
} SEMAPHORE_BASIC_INFORMATION;

typedef enum _TIMER_INFORMATION_CLASS { TimerBasicInformation = 0 } TIMER_INFORMATION_CLASS;
typedef struct _TIMER_BASIC_INFORMATION {
    LARGE_INTEGER RemainingTime;    /* 100 ns units until it expires (0 if not set) */
    BOOLEAN TimerState;             /* signalled */
} TIMER_BASIC_INFORMATION;

/* A user APC routine (NtQueueApcThread): runs in the target thread, in
 * user mode, at its next alertable wait or NtTestAlert. */
typedef void (*PPS_APC_ROUTINE)(PVOID ApcArgument1, PVOID ApcArgument2, PVOID ApcArgument3);

/*
 * A thread's integer registers as user mode sees them: what a user APC
 * interrupts and NtContinue resumes. Pagoda's CONTEXT is the integer
 * subset of NT's (no segment, debug or floating-point state), in
 * KTRAP_FRAME order.
 */
typedef struct _CONTEXT {
    ULONG64 Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rbp;
    ULONG64 R8, R9, R10, R11, R12, R13, R14, R15;
    ULONG64 Rip;
    ULONG64 EFlags;
    ULONG64 Rsp;
} CONTEXT, *PCONTEXT;

/*
 * What the kernel puts on the user stack to deliver a user APC: the
 * process's APC dispatcher (NtRegisterUserApcDispatcher) is entered with
 * RDI pointing at it and RSP just below it (a zero return address), calls
 * NormalRoutine(NormalContext, SystemArgument1, SystemArgument2) and
 * resumes Context with NtContinue(&Context, TRUE).
 */
typedef struct _USER_APC_RECORD {
    PPS_APC_ROUTINE NormalRoutine;
    PVOID NormalContext;
    PVOID SystemArgument1;
    PVOID SystemArgument2;
    CONTEXT Context;
} USER_APC_RECORD, *PUSER_APC_RECORD;

/* What a new process finds in RDI at its entry point: its parameters, in
 * its own memory, as NT's RTL_USER_PROCESS_PARAMETERS (simplified: ANSI
 * strings). */
typedef struct _PROCESS_PARAMETERS {
    ULONG Length;                   /* sizeof(PROCESS_PARAMETERS) */
    ULONG ProcessId;
    HANDLE StandardInput; /* console handles: a file object each on \Device\Console */
    HANDLE StandardOutput;
    PCHAR ImagePathName;            /* "/bin/hello" */
    PCHAR CommandLine;              /* "hello a b" (argv[0] first) */
    PCHAR Environment;              /* "NAME=value\0NAME=value\0\0" */
} PROCESS_PARAMETERS, *PPROCESS_PARAMETERS;

/* NtCreateUserProcess(ProcessHandle, ThreadHandle, Parameters). */
#define CREATE_PROCESS_INHERIT_HANDLES 0x1
typedef struct _CREATE_PROCESS_INFO {
    const char *ImagePath;          /* a file of the initrd, "/bin/NAME" */
    const char *CommandLine;        /* NULL: the image path */
    const char *Environment;        /* double-NUL-terminated; NULL: PATH=/bin OS=Pagoda */
    ULONG Flags;                    /* CREATE_PROCESS_* */
    ULONG Reserved;
} CREATE_PROCESS_INFO, *PCREATE_PROCESS_INFO;

typedef void (*PUSER_THREAD_START_ROUTINE)(PVOID Parameter);

/* NtQueryInformationProcess classes. */
typedef enum _PROCESSINFOCLASS { ProcessBasicInformation = 0 } PROCESSINFOCLASS;
typedef struct _PROCESS_BASIC_INFORMATION {
    NTSTATUS ExitStatus;            /* STATUS_PENDING while it runs */
    PVOID PebBaseAddress;           /* its PROCESS_PARAMETERS */
    ULONG_PTR AffinityMask;
    LONG BasePriority;
    ULONG_PTR UniqueProcessId;
    ULONG_PTR InheritedFromUniqueProcessId;
} PROCESS_BASIC_INFORMATION;

/* NtQuerySystemInformation classes (Pagoda's own numbering). */
typedef enum _SYSTEM_INFORMATION_CLASS {
    SystemProcessInformation = 5, /* SYSTEM_PROCESS_ENTRY[] */
    SystemMemoryInformation = 100, /* SYSTEM_MEMORY_INFORMATION */
    SystemPoolTagInformation = 22, /* SYSTEM_POOLTAG[] */
    SystemPteInformation = 101, /* SYSTEM_PTE_QUERY in, SYSTEM_PTE_INFORMATION out */
    SystemVadInformation = 102, /* SYSTEM_VAD_QUERY in, SYSTEM_VAD_ENTRY[] out */
    SystemInterruptInformation = 23, /* SYSTEM_INTERRUPT_ENTRY[] (Pagoda's layout) */
    SystemPciInformation = 103, /* SYSTEM_PCI_ENTRY[] */
    SystemModuleInformation = 11, /* SYSTEM_MODULE_ENTRY[]: the kernel, then loaded drivers */
    SystemDeviceInformation = 120, /* SYSTEM_DEVICE_ENTRY[]: every driver's devices */
    SystemProcessorStateInformation = 105, /* SYSTEM_PROCESSOR_ENTRY[]: the MADT's processors */
    /* NtSetSystemInformation: SYSTEM_EMPTY_WORKING_SET in (docs/paging.md).
     * NOTE: NT empties one process's working set through
     * SetProcessWorkingSetSize(-1, -1); this class is Pagoda's. */
    SystemEmptyWorkingSetInformation = 104,
    /* NtSetSystemInformation: a SYSTEM_MEMORY_LIST_COMMAND in (NT's number,
     * the class RAMMap uses; docs/paging.md). */
    SystemMemoryListInformation = 80,
} SYSTEM_INFORMATION_CLASS;

/* One interrupt object, or a vector's unclaimed interrupts (Object 0), or
 * the clock (Object 0, Claimed == Interrupts). */
typedef struct _SYSTEM_INTERRUPT_ENTRY {
    ULONG Vector;
    UCHAR Irql;
    UCHAR SynchronizeIrql;
    UCHAR ShareVector;
    UCHAR Latched; /* 1 edge (ISA), 0 level-sensitive */
    ULONG64 Object; /* the KINTERRUPT's address */
    ULONG64 ServiceRoutine;
    ULONG64 Interrupts; /* times the routine was called */
    ULONG64 Claimed; /* ... and said the interrupt was its device's */
    CHAR RoutineName[40]; /* the kernel symbol of ServiceRoutine */
} SYSTEM_INTERRUPT_ENTRY;

/* One processor the ACPI MADT lists (kernel/mp.c, docs/smp.md). State:
 * SYSTEM_PROCESSOR_RUNNING (the boot processor, the only one the
 * scheduler uses), _IDLE (started: runs IPI requests, no threads), _FAILED
 * (did not report), _NOT_STARTED (nosmp). */
#define SYSTEM_PROCESSOR_RUNNING 1
#define SYSTEM_PROCESSOR_IDLE 2
#define SYSTEM_PROCESSOR_FAILED 3
#define SYSTEM_PROCESSOR_NOT_STARTED 4
typedef struct _SYSTEM_PROCESSOR_ENTRY {
    ULONG Number;
    UCHAR ApicId;
    UCHAR AcpiProcessorId;
    UCHAR State;
    UCHAR Reserved;
    ULONG StartMicroseconds; /* INIT IPI to its report */
    ULONG Reserved2;
    ULONG64 Cr0, Cr4, Efer; /* as it reported; 0 for the boot processor */
} SYSTEM_PROCESSOR_ENTRY;

/* One PCI function found by the boot scan (hal/pci.c). */
typedef struct _SYSTEM_PCI_ENTRY {
    UCHAR Bus, Device, Function, HeaderType;
    USHORT VendorId, DeviceId;
    UCHAR BaseClass, SubClass, ProgIf, RevisionId;
    UCHAR InterruptLine, InterruptPin;
    USHORT Command;
    ULONG64 BarBase[6];
    ULONG BarSize[6]; /* 0: not implemented */
    UCHAR BarIo[6]; /* 1: I/O ports */
    CHAR ClassName[26];
} SYSTEM_PCI_ENTRY;

/* The commands of SystemMemoryListInformation, NT's values. Pagoda carries
 * out MemoryFlushModifiedList (write every page on the modified list to
 * the pagefile now, as the modified page writer would); the others answer
 * STATUS_NOT_SUPPORTED. */
typedef enum _SYSTEM_MEMORY_LIST_COMMAND {
    MemoryCaptureAccessedBits = 0,
    MemoryCaptureAndResetAccessedBits = 1,
    MemoryEmptyWorkingSets = 2,
    MemoryFlushModifiedList = 3,
    MemoryPurgeStandbyList = 4,
    MemoryPurgeLowPriorityStandbyList = 5,
    MemoryCommandMax = 6,
} SYSTEM_MEMORY_LIST_COMMAND;

typedef struct _SYSTEM_EMPTY_WORKING_SET {
    ULONG ProcessId; /* 0: the caller's */
    ULONG Reserved;
} SYSTEM_EMPTY_WORKING_SET;

typedef struct _SYSTEM_PROCESS_ENTRY {
    ULONG ProcessId;
    ULONG ParentProcessId;
    ULONG ThreadCount;
    ULONG HandleCount;
    NTSTATUS ExitStatus;            /* STATUS_PENDING while running */
    ULONG Reserved;
    ULONG64 CommittedPages;
    ULONG64 ResidentPages;
    ULONG64 PageTablePages;
    CHAR ImageName[16];
    ULONG64 WorkingSetSize; /* pages valid now (docs/paging.md) */
    ULONG64 PeakWorkingSetSize;
    ULONG64 PageFaultCount; /* faults that made a page valid */
    ULONG64 TransitionFaults; /* of those, soft faults (no I/O) */
    ULONG64 HardFaults; /* of those, read back from the pagefile */
    ULONG64 PageFilePages; /* its pages in the pagefile and not resident */
} SYSTEM_PROCESS_ENTRY;

typedef struct _SYSTEM_MEMORY_INFORMATION {
    ULONG64 TotalPages;
    ULONG64 AvailablePages;         /* free + zeroed */
    ULONG64 ZeroedPages;
    ULONG64 PagesByUsage[16];       /* MI_PFN_USAGE order (mm/mm.h) */
    ULONG64 DemandZeroFaults;
    ULONG64 ZeroedPagesServed;      /* demand-zero faults served pre-zeroed */
    ULONG64 PagesZeroedOnDemand;
    ULONG64 NonPagedPoolPages;
    ULONG64 PagedPoolPages;
    ULONG64 ContextSwitches;
    ULONG64 Cr3Switches;
    ULONG64 CommittedPages; /* commit charge of every process, and paged pool */
    ULONG64 CommitLimit;            /* what it may grow to now (docs/memory.md) */
    ULONG64 SystemPageTablePages; /* page tables of system space made since boot: shared,
                                     * never freed (among PagesByUsage's page tables) */
    /* The page lists (docs/paging.md). AvailablePages = zeroed + free + standby. */
    ULONG64 FreePages;
    ULONG64 StandbyPages;
    ULONG64 ModifiedPages;
    ULONG64 ModifiedNoWritePages;
    ULONG64 BadPages;
    ULONG64 TransitionFaults; /* soft faults, system-wide */
    ULONG64 StandbyPagesReused;
    ULONG64 TrimmedPages;
    /* The pagefile (docs/paging.md); PageFilePages 0: there is none. */
    ULONG64 HardFaults; /* faults that read from the pagefile (the faulting page and its cluster) */
    ULONG64 CollidedFaults; /* faults that waited for another's read of the page */
    ULONG64 PageFilePages; /* its slots (slot 0 included, never used) */
    ULONG64 PageFileInUse; /* slots holding a page */
    ULONG64 PageFilePeak;
    ULONG64 PagesWritten; /* by the modified page writer */
    ULONG64 PageFileWrites; /* its write IRPs: PagesWritten / this = the cluster size */
    ULONG64 PageFileReads; /* hard faults' read IRPs */
    ULONG64 PagesRead; /* the pages they read: PagesRead / PageFileReads = the read cluster */
    ULONG64 PagedPoolCommittedPages; /* paged pool's part of CommittedPages */
    ULONG64 ResidentAvailablePages; /* frames not pinned: free, zeroed, pageable and unlocked */
    ULONG64 MinimumResidentAvailablePages; /* pinning a frame stops at this floor */
} SYSTEM_MEMORY_INFORMATION;

typedef struct _SYSTEM_POOLTAG {
    ULONG Tag;
    ULONG PoolType;                 /* 0 nonpaged, 1 paged */
    ULONG64 Allocations;
    ULONG64 Frees;
    ULONG64 BytesInUse;
} SYSTEM_POOLTAG;

typedef struct _SYSTEM_PTE_QUERY {
    ULONG ProcessId;                /* 0: the caller's */
    ULONG Reserved;
    ULONG64 VirtualAddress;
} SYSTEM_PTE_QUERY;

typedef struct _SYSTEM_PTE_INFORMATION {
    ULONG64 VirtualAddress;
    ULONG Levels;                   /* entries filled: 1..4 (the walk stops at a not-present one) */
    ULONG FrameLocation; /* a valid or transition PTE's frame: its list, 0 zeroed,
                                     * 1 free, 2 standby, 3 modified, 4 modified-no-write,
                                     * 5 bad, 6 active; else 0xFFFFFFFF */
    ULONG64 EntryAddress[4];        /* PXE, PPE, PDE, PTE: their self-map addresses */
    ULONG64 Entry[4];               /* their values */
} SYSTEM_PTE_INFORMATION;

typedef struct _SYSTEM_VAD_QUERY {
    ULONG ProcessId;                /* 0: the caller's */
} SYSTEM_VAD_QUERY;

typedef struct _SYSTEM_VAD_ENTRY {
    ULONG64 StartingAddress;
    ULONG64 EndingAddress;          /* last byte */
    ULONG AllocationProtect;
    ULONG Flags;
    ULONG64 CommittedPages;
} SYSTEM_VAD_ENTRY;

#define NTAPI_STATUS NTSTATUS

NTSTATUS NtGetCurrentProcessorNumber(void);
NTSTATUS NtClose(HANDLE Handle);
NTSTATUS NtDuplicateObject(HANDLE SourceProcess, HANDLE SourceHandle, HANDLE TargetProcess,
                           PHANDLE TargetHandle, ACCESS_MASK DesiredAccess, ULONG Options);
NTSTATUS NtCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                       POBJECT_ATTRIBUTES ObjectAttributes, EVENT_TYPE EventType,
                       BOOLEAN InitialState);
NTSTATUS NtOpenEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                     POBJECT_ATTRIBUTES ObjectAttributes);
NTSTATUS NtCreateDirectoryObject(PHANDLE DirectoryHandle, ACCESS_MASK DesiredAccess,
                                 POBJECT_ATTRIBUTES ObjectAttributes);
NTSTATUS NtOpenDirectoryObject(PHANDLE DirectoryHandle, ACCESS_MASK DesiredAccess,
                               POBJECT_ATTRIBUTES ObjectAttributes);
/* NOTE: NT's seventh argument, PULONG ReturnLength, is absent (six-argument services). */
NTSTATUS NtQueryDirectoryObject(HANDLE DirectoryHandle, PVOID Buffer, ULONG Length,
                                BOOLEAN ReturnSingleEntry, BOOLEAN RestartScan, PULONG Context);
NTSTATUS NtCreateSymbolicLinkObject(PHANDLE LinkHandle, ACCESS_MASK DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes,
                                    PUNICODE_STRING LinkTarget);
NTSTATUS NtOpenSymbolicLinkObject(PHANDLE LinkHandle, ACCESS_MASK DesiredAccess,
                                  POBJECT_ATTRIBUTES ObjectAttributes);
NTSTATUS NtQuerySymbolicLinkObject(HANDLE LinkHandle, PUNICODE_STRING LinkTarget,
                                   PULONG ReturnedLength);
NTSTATUS NtMakeTemporaryObject(HANDLE Handle);
NTSTATUS NtSetEvent(HANDLE EventHandle, PLONG PreviousState);
NTSTATUS NtResetEvent(HANDLE EventHandle, PLONG PreviousState);
NTSTATUS NtClearEvent(HANDLE EventHandle);
NTSTATUS NtPulseEvent(HANDLE EventHandle, PLONG PreviousState);
NTSTATUS NtWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout);
NTSTATUS NtWaitForMultipleObjects(ULONG Count, HANDLE Handles[], WAIT_TYPE WaitType,
                                  BOOLEAN Alertable, PLARGE_INTEGER Timeout);
NTSTATUS NtAllocateVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress, ULONG_PTR ZeroBits,
                                 PSIZE_T RegionSize, ULONG AllocationType, ULONG Protect);
NTSTATUS NtFreeVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress, PSIZE_T RegionSize,
                             ULONG FreeType);
NTSTATUS NtProtectVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress, PSIZE_T RegionSize,
                                ULONG NewProtect, PULONG OldProtect);
NTSTATUS NtQueryVirtualMemory(HANDLE ProcessHandle, PVOID BaseAddress, ULONG InformationClass,
                              PVOID Information, SIZE_T Length, PSIZE_T ReturnLength);
NTSTATUS NtCreateUserProcess(PHANDLE ProcessHandle, PHANDLE ThreadHandle,
                             PCREATE_PROCESS_INFO Info);
NTSTATUS NtCreateThread(PHANDLE ThreadHandle, HANDLE ProcessHandle,
                        PUSER_THREAD_START_ROUTINE StartRoutine, PVOID Parameter,
                        PCLIENT_ID ClientId);
NTSTATUS NtTerminateProcess(HANDLE ProcessHandle, NTSTATUS ExitStatus);
NTSTATUS NtTerminateThread(HANDLE ThreadHandle, NTSTATUS ExitStatus);
NTSTATUS NtQueryInformationProcess(HANDLE ProcessHandle, PROCESSINFOCLASS InformationClass,
                                   PVOID Information, ULONG Length, PULONG ReturnLength);
NTSTATUS NtDelayExecution(BOOLEAN Alertable, PLARGE_INTEGER Interval);
NTSTATUS NtYieldExecution(void);
NTSTATUS NtSetSystemInformation(SYSTEM_INFORMATION_CLASS Class, PVOID Buffer, ULONG Length);
NTSTATUS NtQuerySystemInformation(SYSTEM_INFORMATION_CLASS Class, PVOID Buffer, ULONG Length,
                                  PULONG ReturnLength);

/* Mutants, semaphores, timers (ex/mutant.c, ex/semaphore.c, ex/timer.c);
 * named through their OBJECT_ATTRIBUTES, opened by name with NtOpen*. */
NTSTATUS NtCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                        POBJECT_ATTRIBUTES ObjectAttributes, BOOLEAN InitialOwner);
NTSTATUS NtOpenMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                      POBJECT_ATTRIBUTES ObjectAttributes);
NTSTATUS NtOpenSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                         POBJECT_ATTRIBUTES ObjectAttributes);
NTSTATUS NtOpenTimer(PHANDLE TimerHandle, ACCESS_MASK DesiredAccess,
                     POBJECT_ATTRIBUTES ObjectAttributes);
NTSTATUS NtReleaseMutant(HANDLE MutantHandle, PLONG PreviousCount);
NTSTATUS NtQueryMutant(HANDLE MutantHandle, MUTANT_INFORMATION_CLASS InformationClass,
                       PVOID Information, ULONG Length, PULONG ReturnLength);
NTSTATUS NtCreateSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                           POBJECT_ATTRIBUTES ObjectAttributes, LONG InitialCount,
                           LONG MaximumCount);
NTSTATUS NtReleaseSemaphore(HANDLE SemaphoreHandle, LONG ReleaseCount, PLONG PreviousCount);
NTSTATUS NtQuerySemaphore(HANDLE SemaphoreHandle, SEMAPHORE_INFORMATION_CLASS InformationClass,
                          PVOID Information, ULONG Length, PULONG ReturnLength);
NTSTATUS NtCreateTimer(PHANDLE TimerHandle, ACCESS_MASK DesiredAccess,
                       POBJECT_ATTRIBUTES ObjectAttributes, TIMER_TYPE TimerType);
/* A timer's APC routine: TimerContext, the interrupt time of the expiry. */
typedef void (*PTIMER_APC_ROUTINE)(PVOID TimerContext, ULONG TimerLowValue, LONG TimerHighValue);
/* NT's NtSetTimer less its ResumeTimer argument (six arguments at most).
 * TimerApcRoutine (a PTIMER_APC_ROUTINE, or NULL) runs as a user APC of the
 * calling thread at each expiry. Period in milliseconds. */
NTSTATUS NtSetTimer(HANDLE TimerHandle, PLARGE_INTEGER DueTime, PVOID TimerApcRoutine,
                    PVOID TimerContext, LONG Period, PBOOLEAN PreviousState);
NTSTATUS NtCancelTimer(HANDLE TimerHandle, PBOOLEAN CurrentState);
NTSTATUS NtQueryTimer(HANDLE TimerHandle, TIMER_INFORMATION_CLASS InformationClass,
                      PVOID Information, ULONG Length, PULONG ReturnLength);
/* APCs and alerts (kernel/apcsvc.c). */
NTSTATUS NtQueueApcThread(HANDLE ThreadHandle, PPS_APC_ROUTINE ApcRoutine, PVOID ApcArgument1,
                          PVOID ApcArgument2, PVOID ApcArgument3);
NTSTATUS NtAlertThread(HANDLE ThreadHandle);
NTSTATUS NtTestAlert(void);
NTSTATUS NtContinue(PCONTEXT Context, BOOLEAN TestAlert);
/* Pagoda's stand-in for ntdll's KiUserApcDispatcher, which NT finds by
 * name at boot: the runtime registers its dispatcher for the process. */
NTSTATUS NtRegisterUserApcDispatcher(PVOID Dispatcher);

/* ------------------------------------------------------------------------
 * The I/O services (io/file.c, io/iosvc.c; docs/io.md). A handle from
 * NtCreateFile / NtOpenFile names a FILE_OBJECT: one open of a device
 * (\Device\Null, \Device\Console, \??\NUL, \??\CON, ...). Each read,
 * write or control becomes an IRP sent to the top of the device's stack.
 * ------------------------------------------------------------------------ */

#ifndef PAGODA_IO_STATUS_BLOCK_DEFINED /* also in io/io.h */
#define PAGODA_IO_STATUS_BLOCK_DEFINED
/* The result of an I/O request: its status, and usually the bytes moved. */
typedef struct _IO_STATUS_BLOCK {
    union {
        NTSTATUS Status;
        PVOID Pointer;
    };
    ULONG_PTR Information; /* bytes transferred, or a request's own value */
} IO_STATUS_BLOCK, *PIO_STATUS_BLOCK;

/* A user completion routine: queued as a user APC to the requesting thread
 * when its request completes; runs in its next alertable wait. */
typedef void (*PIO_APC_ROUTINE)(PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, ULONG Reserved);

/* File access rights (winnt.h). */
#define FILE_READ_DATA 0x0001
#define FILE_WRITE_DATA 0x0002
#define FILE_APPEND_DATA 0x0004
#define FILE_EXECUTE 0x0020
#define FILE_READ_ATTRIBUTES 0x0080
#define FILE_WRITE_ATTRIBUTES 0x0100
#define FILE_GENERIC_READ 0x00120089
#define FILE_GENERIC_WRITE 0x00120116
#define FILE_ALL_ACCESS 0x001F01FF

/* ShareAccess: what the opener lets later opens do. Enforced by the
 * drivers that keep a SHARE_ACCESS (IoCheckShareAccess, io/share.c):
 * a conflict is STATUS_SHARING_VIOLATION. */
#define FILE_SHARE_READ 0x00000001
#define FILE_SHARE_WRITE 0x00000002
#define FILE_SHARE_DELETE 0x00000004

/* CreateDisposition: devices exist, so FILE_OPEN and FILE_OPEN_IF are the
 * ones that succeed. */
#define FILE_SUPERSEDE 0x00000000
#define FILE_OPEN 0x00000001
#define FILE_CREATE 0x00000002
#define FILE_OPEN_IF 0x00000003

/* CreateOptions / OpenOptions. Without a FILE_SYNCHRONOUS_IO_* option the
 * handle is asynchronous: a read or write may return STATUS_PENDING, and
 * the caller learns of the end through its event, its IO_STATUS_BLOCK, or
 * its APC routine. */
#define FILE_SYNCHRONOUS_IO_ALERT 0x00000010
#define FILE_SYNCHRONOUS_IO_NONALERT 0x00000020
#define FILE_NON_DIRECTORY_FILE 0x00000040

/* What NtCreateFile's IoStatusBlock->Information says it did. */
#define FILE_OPENED 0x00000001
#endif /* PAGODA_IO_STATUS_BLOCK_DEFINED */

/* The I/O control codes: CTL_CODE and its transfer methods (devioctl.h). */
#ifndef CTL_CODE /* also in io/io.h */
#define CTL_CODE(DeviceType, Function, Method, Access) \
    (((ULONG)(DeviceType) << 16) | ((ULONG)(Access) << 14) | ((ULONG)(Function) << 2) | \
     (ULONG)(Method))
#define METHOD_BUFFERED 0
#define METHOD_IN_DIRECT 1
#define METHOD_OUT_DIRECT 2
#define METHOD_NEITHER 3
#define METHOD_FROM_CTL_CODE(Code) ((ULONG)(Code)&3)
#define FILE_ANY_ACCESS 0
#define FILE_READ_ACCESS 0x0001
#define FILE_WRITE_ACCESS 0x0002
#endif

/* NtCreateFile: open the device ObjectAttributes names (symbolic links
 * such as \??\NUL are followed) and send IRP_MJ_CREATE down its stack.
 * Eleven arguments (NT's): AllocationSize, FileAttributes, EaBuffer and
 * EaLength are accepted and ignored (no files, no extended attributes). */
NTSTATUS NtCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess,
                      POBJECT_ATTRIBUTES ObjectAttributes, PIO_STATUS_BLOCK IoStatusBlock,
                      PLARGE_INTEGER AllocationSize, ULONG FileAttributes, ULONG ShareAccess,
                      ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength);
/* NtOpenFile: NtCreateFile with FILE_OPEN and no allocation or EAs. */
NTSTATUS NtOpenFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess,
                    POBJECT_ATTRIBUTES ObjectAttributes, PIO_STATUS_BLOCK IoStatusBlock,
                    ULONG ShareAccess, ULONG OpenOptions);
/* Read or write Length bytes at Buffer. Event (a handle, or NULL) is reset
 * first and signalled at the end; ApcRoutine(ApcContext, IoStatusBlock, 0)
 * is queued to the caller as a user APC at the end; *IoStatusBlock gets the
 * status and the bytes moved, only once the request is over. ByteOffset and
 * Key are passed to the driver (NULL: the file's current offset, 0). */
NTSTATUS NtReadFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                    PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length,
                    PLARGE_INTEGER ByteOffset, PULONG Key);
NTSTATUS NtWriteFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                     PIO_STATUS_BLOCK IoStatusBlock, const void *Buffer, ULONG Length,
                     PLARGE_INTEGER ByteOffset, PULONG Key);
/* Send the control IoControlCode with the buffers its METHOD_* asks for. */
NTSTATUS NtDeviceIoControlFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
                               PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock,
                               ULONG IoControlCode, PVOID InputBuffer, ULONG InputBufferLength,
                               PVOID OutputBuffer, ULONG OutputBufferLength);
/* Cancel the caller's own pending requests on FileHandle (IoCancelIrp on
 * each) and wait until they are over. */
NTSTATUS NtCancelIoFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock);
/* Loadable drivers (io/ldrsys.c, docs/drivers.md). NT takes the registry
 * path of the driver's service key; Pagoda has no registry and takes a
 * service name ("hello": the initrd's /drivers/hello.sys), NT's key path
 * ("\Registry\Machine\System\CurrentControlSet\Services\hello", the
 * same), or an initrd path ("/drivers/hello.sys"). No privilege check. */
NTSTATUS NtLoadDriver(PUNICODE_STRING DriverServiceName);
NTSTATUS NtUnloadDriver(PUNICODE_STRING DriverServiceName);

typedef struct _SYSTEM_MODULE_ENTRY {
    ULONG64 ImageBase;
    ULONG ImageSize; /* bytes, whole pages */
    ULONG LoadOrderIndex; /* 0: the kernel */
    ULONG TextPages, ReadOnlyPages, DataPages;
    ULONG PoolAllocations; /* live blocks the driver allocated (0 for the kernel) */
    ULONG64 PoolBytes;
    CHAR Name[32]; /* "kernel.elf", "hello.sys" */
    CHAR DriverName[48]; /* "hello" (of \Driver\hello), "" for the kernel */
} SYSTEM_MODULE_ENTRY;

typedef struct _SYSTEM_DEVICE_ENTRY {
    ULONG64 Address; /* the DEVICE_OBJECT */
    ULONG64 AttachedTo; /* the device below it in its stack, or 0 */
    ULONG DeviceType;
    ULONG Flags; /* DO_* */
    ULONG StackSize;
    ULONG ReferenceCount;
    CHAR DeviceName[48]; /* "" when unnamed (filters) */
    CHAR DriverName[48]; /* "Null" of \Driver\Null */
    CHAR AttachedToName[48];
} SYSTEM_DEVICE_ENTRY;

#endif /* PAGODA_NTAPI_H */
