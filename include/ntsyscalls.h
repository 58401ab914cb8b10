/*
 * ntsyscalls.h - the system service table, defined once.
 *
 * Each line is X(Name, ArgumentCount). The position in the list is the
 * service number user mode puts in EAX. kernel/syscall.c expands the list
 * into the dispatch table; user/lib/syscalls.S expands it into the user-mode
 * stubs. Add a service here and both sides follow.
 *
 * The calling convention (a Pagoda choice, close to Linux's): arguments in
 * RDI, RSI, RDX, R10, R8, R9 (the stub moves RCX to R10, since SYSCALL
 * overwrites RCX with the return address), the number in EAX, the NTSTATUS
 * back in RAX. At most six arguments: services that need more take a
 * pointer to a structure.
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
    X(NtReadFile, 5) \
    X(NtWriteFile, 5) \
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
    X(NtSetSystemInformation, 3)

#endif /* PAGODA_NTSYSCALLS_H */
