/*
 * pagoda.h - the user-mode runtime every Pagoda program includes: the
 * system services (include/ntapi.h), the RTL string routines and formatter
 * (rtl/rtl.h), and a small C library built on them (user/lib/).
 *
 * Output goes to the process's console handle (PROCESS_PARAMETERS
 * StandardOutput) through NtWriteFile, input comes from StandardInput
 * through NtReadFile. malloc carves 64 KiB chunks committed with
 * NtAllocateVirtualMemory. There is one thread per process, so nothing
 * here locks.
 */
#ifndef PAGODA_USER_PAGODA_H
#define PAGODA_USER_PAGODA_H

#include "ntapi.h"
#include "kusershared.h"
#include "../../rtl/rtl.h"

/* The parameters the kernel gave this process (user/lib/startup.c). */
extern PPROCESS_PARAMETERS PgProcessParameters;

/* KUSER_SHARED_DATA, read-only at the same address in every process. */
#define PG_SHARED_USER_DATA ((const KUSER_SHARED_DATA *)0x7FFE0000ULL)

/* ---------------------------------------------------------------- stdio */
int printf(const char *Format, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *Format, va_list Args);
int snprintf(char *Buffer, size_t Size, const char *Format, ...)
    __attribute__((format(printf, 3, 4)));
int vsnprintf(char *Buffer, size_t Size, const char *Format, va_list Args);
int puts(const char *S);           /* S and a newline */
int putchar(int C);
void PgWrite(const void *Data, size_t Length);   /* raw bytes to StandardOutput */
void fflush_stdout(void);          /* printf buffers until '\n' or full */

/* One byte from StandardInput, or -1 at end of input / error. */
int getchar(void);
/*
 * Read one line from StandardInput with echo and editing (backspace,
 * Ctrl-U kills the line). Stores at most Size - 1 characters and a NUL,
 * without the newline. Returns the length, or -1 at end of input.
 */
int readline(char *Buffer, size_t Size);

/* ---------------------------------------------------------------- stdlib */
int atoi(const char *S);
long long atoll(const char *S);
/* Base 0: 0x… hex, 0… octal, else decimal (as C's). */
unsigned long long strtoull(const char *S, char **End, int Base);
long long strtoll(const char *S, char **End, int Base);
void *malloc(size_t Size);
void *calloc(size_t Count, size_t Size);
void *realloc(void *Ptr, size_t Size);
void free(void *Ptr);
__attribute__((noreturn)) void exit(int Status);
__attribute__((noreturn)) void abort(void);
char *strcpy(char *Dest, const char *Src);
char *strdup(const char *S);
char *strrchr(const char *S, int C);
int isspace(int C);
int isdigit(int C);
void qsort(void *Base, size_t Count, size_t Size, int (*Compare)(const void *, const void *));

/* ---------------------------------------------------------------- APCs */
/* The runtime's user APC dispatcher (user/lib/apc.c): the kernel enters it
 * with a USER_APC_RECORD to run a queued user APC. Not called directly. */
__attribute__((noreturn, visibility("hidden"))) void PgUserApcDispatcher(PUSER_APC_RECORD Record);

/* ---------------------------------------------------------------- Pagoda helpers */
/* Milliseconds / clock ticks since boot, from KUSER_SHARED_DATA. */
ULONG64 PgTickCount(void);
ULONG64 PgInterruptTime100ns(void);
/* Sleep Milliseconds (NtDelayExecution with a relative timeout). */
void PgSleep(ULONG Milliseconds);
/* This process's id, from its parameters. */
ULONG PgCurrentProcessId(void);

/*
 * Start "/bin/NAME" (or the path given) with CommandLine (NULL: the path)
 * and CREATE_PROCESS_* Flags. On success *Process is a handle to the new
 * process (the caller closes it) and *ProcessId its id (may be NULL).
 */
NTSTATUS PgSpawn(const char *Image, const char *CommandLine, ULONG Flags, PHANDLE Process,
                 PULONG ProcessId);
/* Wait for a process to end and return its exit status (or the failure). */
NTSTATUS PgWaitProcess(HANDLE Process, NTSTATUS *ExitStatus);

/* Start a thread of this process running Routine(Parameter); when Routine
 * returns, the thread ends (NtTerminateThread) with that value. */
typedef NTSTATUS (*PG_THREAD_ROUTINE)(PVOID Parameter);
NTSTATUS PgCreateThread(PG_THREAD_ROUTINE Routine, PVOID Parameter, PHANDLE Thread);
/* Spawn, wait, close: the exit status of the program, or the failure. */
NTSTATUS PgRun(const char *Image, const char *CommandLine, NTSTATUS *ExitStatus);
/* The id of the process behind Handle, or 0. */
ULONG PgProcessIdOf(HANDLE Process);
/*
 * Handles given to this process after it started: find the Count
 * not-signalled waitable handles a parent duplicated in (ascending order,
 * the order they were made), waiting at most TimeoutMs for them to appear.
 * One way to pass handles; the others are inheritance (OBJ_INHERIT and
 * CREATE_PROCESS_INHERIT_HANDLES) and names (NtOpenEvent).
 */
int PgFindDuplicatedHandles(HANDLE *Handles, int Count, ULONG TimeoutMs);
/* A short name for an NTSTATUS ("STATUS_ACCESS_VIOLATION") or NULL. */
const char *PgStatusName(NTSTATUS Status);

/*
 * Service Number (include/ntsyscalls.h order, any 64-bit value) with six
 * raw arguments, whatever the service declares (user/lib/syscalls.S). For
 * /bin/fuzz; programs call the typed stubs of ntapi.h.
 */
NTSTATUS PgSystemCall(ULONG64 Number, const ULONG64 Arguments[6]);

/* ---------------------------------------------------------------- names (user/lib/ntrtl.c) */
/* NT's: String describes the NUL-terminated Source (not copied). */
void RtlInitUnicodeString(PUNICODE_STRING String, PCWSTR Source);
/* Widen Ansi into Buffer (BufferChars WCHARs, NUL included) and describe
 * it in String; STATUS_NAME_TOO_LONG when it does not fit. */
NTSTATUS PgInitUnicodeStringFromAnsi(PUNICODE_STRING String, PWSTR Buffer, ULONG BufferChars,
                                     const char *Ansi);
/* Narrow String into Buffer (Size bytes, NUL-terminated; non-ASCII as '?'). */
char *PgUnicodeToAnsi(PCUNICODE_STRING String, char *Buffer, ULONG Size);
/* NtOpenFile of the device Name (a kernel namespace path, "\??\NUL"),
 * for reading and writing, sharing both, with OpenOptions
 * (FILE_SYNCHRONOUS_IO_NONALERT, or 0 for an asynchronous handle). */
NTSTATUS PgOpenDevice(PCWSTR Name, ULONG OpenOptions, PHANDLE Handle);

/*
 * NtQuerySystemInformation into a malloc'd buffer grown until it fits.
 * Returns the buffer (caller frees) and its used length, or NULL.
 */
void *PgQuerySystem(SYSTEM_INFORMATION_CLASS Class, const void *In, ULONG InLength,
                    PULONG Length, NTSTATUS *Status);

#endif /* PAGODA_USER_PAGODA_H */
