/*
 * ntsyscalls.h - the system service table, defined once.
 *
 * Each line is X(Name, ArgumentCount). The position in the list is the
 * service number user mode puts in EAX. kernel/syscall.c expands the list
 * into the dispatch table; user/lib/syscalls.S expands it into the user-mode
 * stubs. Add a service here and both sides follow.
 *
 * There are two lists: PAGODA_SYSTEM_SERVICES, the services of at most six
 * arguments, numbered from 0, then PAGODA_SYSTEM_SERVICES_STACK, those of
 * more, numbered on from the end of the first.
 *
 * The calling convention (a Pagoda choice, close to Linux's): arguments 1-6
 * in RDI, RSI, RDX, R10, R8, R9 (the stub moves RCX to R10, since SYSCALL
 * overwrites RCX with the return address), the number in EAX, the NTSTATUS
 * back in RAX. Arguments 7 and up stay where the C caller put them, on the
 * user stack above the stub's return address: at RSP + 8, RSP + 16, ... at
 * the SYSCALL instruction (the stub pushes nothing). The dispatcher copies
 * them from there, the NT way (NT's KiSystemService copies them from the
 * user stack too): range-checked and copied with fault recovery
 * straight to the service's argument area (kernel/syscall.c's
 * KiSystemService, one piece of assembly with the call), and a bad stack makes
 * the call fail with STATUS_ACCESS_VIOLATION before the service runs. The second list exists
 * so that the dispatcher tells the two kinds apart with the bounds check it
 * does anyway: services of six arguments or fewer pay nothing for it
 * (kernel/syscall.c).
 */
#ifndef PAGODA_NTSYSCALLS_H
#define PAGODA_NTSYSCALLS_H

#define PAGODA_SYSTEM_SERVICES(X) \
    X(NtGetCurrentProcessorNumber, 0) /* the cheapest service: benchmarks */ \
    X(NtClose, 1) \
    X(NtDuplicateObject, 6) \
    X(NtCreateEvent, 5) \
    X(NtSetEvent, 2) \
    X(NtResetEvent, 2) \
    X(NtClearEvent, 1) \
    X(NtPulseEvent, 2) \
    X(NtWaitForSingleObject, 3) \
    X(NtWaitForMultipleObjects, 5) \
    X(NtAllocateVirtualMemory, 6) \
    X(NtFreeVirtualMemory, 4) \
    X(NtProtectVirtualMemory, 5) \
    X(NtQueryVirtualMemory, 6) \
    X(NtCreateUserProcess, 3) \
    X(NtCreateThread, 5) \
    X(NtTerminateProcess, 2) \
    X(NtTerminateThread, 2) \
    X(NtQueryInformationProcess, 5) \
    X(NtDelayExecution, 2) \
    X(NtYieldExecution, 0) \
    X(NtQuerySystemInformation, 4) \
    X(NtCreateMutant, 4) \
    X(NtReleaseMutant, 2) \
    X(NtQueryMutant, 5) \
    X(NtCreateSemaphore, 5) \
    X(NtReleaseSemaphore, 3) \
    X(NtQuerySemaphore, 5) \
    X(NtCreateTimer, 4) \
    X(NtSetTimer, 6) \
    X(NtCancelTimer, 2) \
    X(NtQueryTimer, 5) \
    X(NtQueueApcThread, 5) \
    X(NtAlertThread, 1) \
    X(NtTestAlert, 0) \
    X(NtContinue, 2) \
    X(NtRegisterUserApcDispatcher, 1) \
    X(NtOpenEvent, 3) \
    X(NtCreateDirectoryObject, 3) \
    X(NtOpenDirectoryObject, 3) \
    X(NtQueryDirectoryObject, 6) \
    X(NtCreateSymbolicLinkObject, 4) \
    X(NtOpenSymbolicLinkObject, 3) \
    X(NtQuerySymbolicLinkObject, 3) \
    X(NtMakeTemporaryObject, 1) \
    X(NtOpenMutant, 3) \
    X(NtOpenSemaphore, 3) \
    X(NtOpenTimer, 3) \
    /* the I/O services (io/iosvc.c, io/file.c); those of more than six   \
     * arguments are in the list below */ \
    X(NtOpenFile, 6) \
    X(NtCancelIoFile, 2) \
    /* Loadable drivers (io/ldrsys.c) */ \
    X(NtLoadDriver, 1) \
    X(NtUnloadDriver, 1) \
    /* working sets (ex/sysinfo.c, docs/paging.md) */ \
    X(NtSetSystemInformation, 3)

/* Services of more than six arguments (at most KI_MAXIMUM_SERVICE_ARGUMENTS),
 * numbered after the list above: arguments 7 and up are on the user stack. */
#define PAGODA_SYSTEM_SERVICES_STACK(X) \
    X(NtReadFile, 9) \
    X(NtWriteFile, 9) \
    X(NtDeviceIoControlFile, 10) \
    X(NtCreateFile, 11)

/* The most arguments a service may take: six in registers, six on the stack. */
#define PAGODA_MAXIMUM_SERVICE_ARGUMENTS 12

#endif /* PAGODA_NTSYSCALLS_H */
