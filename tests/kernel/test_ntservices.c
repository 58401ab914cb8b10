/*
 * test_ntservices.c - the system services of ob/obsvc.c, ob/obwait.c,
 * ex/event.c, kernel/kesvc.c, mm/ntvm.c and ex/sysinfo.c, called directly
 * from kernel code.
 *
 * The services take user pointers, so each test makes a process of its
 * own (PsCreateProcess), opens a handle to it in the System process's
 * table (the table the services look handles up in while the tests run),
 * attaches to its address space and lays out one 64 KiB reservation
 * there:
 *
 *   pages 0..13   read/write, committed: arguments and result buffers
 *   page 14       read-only: an output there is an access violation
 *   page 15       reserved, never committed: so is anything there
 *
 * Arguments are written into it with MmCopyToUser and results read back
 * with MmCopyFromUser; the kernel never dereferences those pointers
 * itself (SMAP would stop it). Each test also feeds the services NULL,
 * kernel, non-canonical and unmapped pointers, bad and kernel handles and
 * handles of the wrong type, and checks that nothing changed.
 *
 * Every test is a body run after KtNtSetup, with KtNtTeardown deferred
 * (KtDefer) before the setup starts: whether the setup or the body fails
 * or not, the runner detaches and frees afterwards. Threads, objects and
 * other processes a body makes are deferred the same way.
 */
#include "../../include/ktest.h"
#include "ktdefer.h"
#include "../../include/ntapi.h"
#include "../../ex/ex.h"
#include "../../ps/ps.h"
#include "../../mm/mi.h"
#include "../../rtl/rtl.h"

#define KT_REGION_PAGES   16
#define KT_RW_PAGES       14
#define KT_READ_ONLY_PAGE 14
#define KT_RESERVED_PAGE  15

/* Bad pointers of every kind (the first three fail the range check, the
 * last the copy itself). */
static volatile ULONG64 KtNtKernelGlobal;
#define KT_BAD_POINTERS 5
static PVOID KtBadPointer(ULONG Index, PUCHAR User)
{
    switch (Index) {
    case 0: return NULL;
    case 1: return (PVOID)&KtNtKernelGlobal;               /* kernel half */
    case 2: return (PVOID)0x0000800000000000ULL;          /* non-canonical */
    case 3: return (PVOID)0x0000600000000000ULL;          /* unmapped, no VAD */
    default: return User + KT_RESERVED_PAGE * PAGE_SIZE;  /* reserved, not committed */
    }
}

typedef struct _KT_NT {
    PEPROCESS Process;          /* ours: the user buffers live in its address space */
    HANDLE ProcessHandle;       /* to it, in the System process's table */
    PMMADDRESS_SPACE Previous;  /* to attach back to */
    PUCHAR User;                /* the 64 KiB region */
} KT_NT;

static NTSTATUS KtNtSetup(KT_NT *T, const char *Name)
{
    NTSTATUS Status;
    PVOID Base = NULL;
    SIZE_T Size = KT_REGION_PAGES * PAGE_SIZE;

    memset(T, 0, sizeof(*T));
    ExpInitializeExecutiveObjects();
    Status = PsCreateProcess(Name, &T->Process);
    if (!NT_SUCCESS(Status))
        return Status;
    Status = ObOpenObjectByPointer(T->Process, 0, PROCESS_ALL_ACCESS, PsProcessType, KernelMode,
                                   &T->ProcessHandle);
    if (!NT_SUCCESS(Status))
        return Status;
    PMMADDRESS_SPACE Space = T->Process->Pcb.AddressSpace;
    T->Previous = MmAttachAddressSpace(Space);
    Status = MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE, PAGE_READWRITE);
    if (!NT_SUCCESS(Status))
        return Status;
    T->User = Base;
    Size = KT_RW_PAGES * PAGE_SIZE;
    Status = MmAllocateVirtualMemory(Space, &Base, &Size, MEM_COMMIT, PAGE_READWRITE);
    if (!NT_SUCCESS(Status))
        return Status;
    Base = T->User + KT_READ_ONLY_PAGE * PAGE_SIZE;
    Size = PAGE_SIZE;
    return MmAllocateVirtualMemory(Space, &Base, &Size, MEM_COMMIT, PAGE_READONLY);
}

static void KtNtTeardown(PVOID Context)
{
    KT_NT *T = Context;

    if (T->Previous != NULL)
        MmAttachAddressSpace(T->Previous);
    if (T->ProcessHandle != NULL)
        (void)ZwClose(T->ProcessHandle);
    if (T->Process != NULL)
        ObDereferenceObject(T->Process); /* the last reference: its address space goes */
}

/* Run Body(T) after a fresh setup; the teardown runs after the test. */
#define KT_NT_TEST(name, Body)                                                \
    KTEST(nt, name)                                                           \
    {                                                                         \
        static KT_NT T;                                                       \
        T = (KT_NT){0};                                                       \
        KtDefer(KtNtTeardown, &T);                                            \
        KT_ASSERT_EQ(KtNtSetup(&T, #name), STATUS_SUCCESS);                   \
        Body(&T);                                                             \
    }

/* User memory, through the copy routines. */
static PVOID KtU(KT_NT *T, ULONG Offset)
{
    return T->User + Offset;
}
static ULONG64 KtGet64(PVOID User)
{
    ULONG64 Value = 0xBADBADBADBADBADULL;
    (void)MmCopyFromUser(&Value, User, sizeof(Value));
    return Value;
}
static ULONG KtGet32(PVOID User)
{
    ULONG Value = 0xBADBAD;
    (void)MmCopyFromUser(&Value, User, sizeof(Value));
    return Value;
}
static void KtPut64(PVOID User, ULONG64 Value)
{
    (void)MmCopyToUser(User, &Value, sizeof(Value));
}
static void KtPut32(PVOID User, ULONG Value)
{
    (void)MmCopyToUser(User, &Value, sizeof(Value));
}

static ULONG KtHandleCount(void)
{
    return PsGetCurrentProcess()->ObjectTable->HandleCount;
}

/* Create an event through the service; the handle is returned. */
static HANDLE KtCreateEvent(KT_NT *T, EVENT_TYPE Type, BOOLEAN Signalled)
{
    PHANDLE Out = KtU(T, 0x800);
    KtPut64(Out, 0);
    if (NtCreateEvent(Out, EVENT_ALL_ACCESS, NULL, Type, Signalled) != STATUS_SUCCESS)
        return NULL;
    return (HANDLE)KtGet64(Out);
}

/* Poll an object through NtWaitForSingleObject with a zero timeout. */
static NTSTATUS KtPoll(KT_NT *T, HANDLE Handle)
{
    PLARGE_INTEGER Zero = KtU(T, 0x900);
    KtPut64(Zero, 0);
    return NtWaitForSingleObject(Handle, FALSE, Zero);
}

/* ------------------------------------------------------------------------
 * Cheap services
 * ------------------------------------------------------------------------ */

KTEST(nt, processor_number_and_yield)
{
    KT_ASSERT_EQ(NtGetCurrentProcessorNumber(), 0);
    NTSTATUS Status = NtYieldExecution();
    KT_ASSERT(Status == STATUS_SUCCESS || Status == STATUS_NO_YIELD_PERFORMED);
}

static void KtDelay(KT_NT *T)
{
    PLARGE_INTEGER Interval = KtU(T, 0x100);
    KtPut64(Interval, (ULONG64)-10000LL); /* 1 ms */
    ULONG64 Before = KeQueryInterruptTime();
    KT_ASSERT_EQ(NtDelayExecution(FALSE, Interval), STATUS_SUCCESS);
    KT_ASSERT(KeQueryInterruptTime() - Before >= 10000);
    for (ULONG i = 0; i < KT_BAD_POINTERS; i++)
        KT_ASSERT_EQ(NtDelayExecution(FALSE, KtBadPointer(i, T->User)), STATUS_ACCESS_VIOLATION);
}
KT_NT_TEST(delay_execution, KtDelay)

/* ------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------ */

static void KtCreateEventBadArguments(KT_NT *T)
{
    ULONG Handles = KtHandleCount();
    LONG Events = ExEventObjectType->TotalNumberOfObjects;

    for (ULONG i = 0; i < KT_BAD_POINTERS; i++)
        KT_ASSERT_EQ(NtCreateEvent(KtBadPointer(i, T->User), EVENT_ALL_ACCESS, NULL,
                                   NotificationEvent, FALSE),
                     STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(NtCreateEvent(KtU(T, KT_READ_ONLY_PAGE * PAGE_SIZE), EVENT_ALL_ACCESS, NULL,
                               NotificationEvent, FALSE),
                 STATUS_ACCESS_VIOLATION);
    /* A handle straddling the last writable page and the read-only one. */
    KT_ASSERT_EQ(NtCreateEvent(KtU(T, KT_READ_ONLY_PAGE * PAGE_SIZE - 4), EVENT_ALL_ACCESS, NULL,
                               NotificationEvent, FALSE),
                 STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(NtCreateEvent(KtU(T, 0), EVENT_ALL_ACCESS, NULL, (EVENT_TYPE)2, FALSE),
                 STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(KtHandleCount(), Handles);
    KT_ASSERT_EQ(ExEventObjectType->TotalNumberOfObjects, Events);
}
KT_NT_TEST(create_event_bad_arguments, KtCreateEventBadArguments)

static void KtEventOperations(KT_NT *T)
{
    PLONG Previous = KtU(T, 0x200);
    HANDLE Event = KtCreateEvent(T, NotificationEvent, FALSE);
    KT_ASSERT(Event != NULL);
    KT_ASSERT_EQ(KtPoll(T, Event), STATUS_TIMEOUT);

    KtPut32(Previous, 0x55);
    KT_ASSERT_EQ(NtSetEvent(Event, Previous), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtGet32(Previous), 0);
    KT_ASSERT_EQ(KtPoll(T, Event), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtPoll(T, Event), STATUS_SUCCESS); /* notification: stays signalled */

    KT_ASSERT_EQ(NtResetEvent(Event, Previous), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtGet32(Previous), 1);
    KT_ASSERT_EQ(KtPoll(T, Event), STATUS_TIMEOUT);

    KT_ASSERT_EQ(NtPulseEvent(Event, NULL), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtPoll(T, Event), STATUS_TIMEOUT);
    KT_ASSERT_EQ(NtSetEvent(Event, NULL), STATUS_SUCCESS);
    KT_ASSERT_EQ(NtClearEvent(Event), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtPoll(T, Event), STATUS_TIMEOUT);

    /* A bad PreviousState (NULL is "not wanted"): refused before the
     * event changes. */
    for (ULONG i = 1; i < KT_BAD_POINTERS; i++)
        KT_ASSERT_EQ(NtSetEvent(Event, KtBadPointer(i, T->User)), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(NtSetEvent(Event, KtU(T, KT_READ_ONLY_PAGE * PAGE_SIZE)),
                 STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KtPoll(T, Event), STATUS_TIMEOUT);

    /* Synchronization: one wait consumes the signal. */
    HANDLE Sync = KtCreateEvent(T, SynchronizationEvent, TRUE);
    KT_ASSERT(Sync != NULL);
    KT_ASSERT_EQ(KtPoll(T, Sync), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtPoll(T, Sync), STATUS_TIMEOUT);

    KT_ASSERT_EQ(NtClose(Sync), STATUS_SUCCESS);
    KT_ASSERT_EQ(NtClose(Event), STATUS_SUCCESS);
    KT_ASSERT_EQ(NtClose(Event), STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(NtSetEvent(Event, NULL), STATUS_INVALID_HANDLE);
}
KT_NT_TEST(event_operations, KtEventOperations)

static void KtEventHandles(KT_NT *T)
{
    PHANDLE Out = KtU(T, 0x300);
    PKEVENT Body;
    HANDLE KernelHandle;

    /* Without EVENT_MODIFY_STATE the event cannot be set. */
    KT_ASSERT_EQ(NtCreateEvent(Out, SYNCHRONIZE, NULL, NotificationEvent, FALSE), STATUS_SUCCESS);
    HANDLE WaitOnly = (HANDLE)KtGet64(Out);
    KT_ASSERT_EQ(NtSetEvent(WaitOnly, NULL), STATUS_ACCESS_DENIED);
    KT_ASSERT_EQ(KtPoll(T, WaitOnly), STATUS_TIMEOUT);
    KT_ASSERT_EQ(NtClose(WaitOnly), STATUS_SUCCESS);

    /* Handles that name nothing. */
    static const ULONG_PTR Bad[] = {0, 3, 0x7FFFFFFC, 0x1000};
    for (ULONG i = 0; i < ARRAYSIZE(Bad); i++) {
        KT_ASSERT_EQ(NtSetEvent((HANDLE)Bad[i], NULL), STATUS_INVALID_HANDLE);
        KT_ASSERT_EQ(KtPoll(T, (HANDLE)Bad[i]), STATUS_INVALID_HANDLE);
        KT_ASSERT_EQ(NtClose((HANDLE)Bad[i]), STATUS_INVALID_HANDLE);
    }

    /* A kernel handle is invisible to the services. */
    HANDLE Event = KtCreateEvent(T, NotificationEvent, FALSE);
    KT_ASSERT(Event != NULL);
    KT_ASSERT_EQ(ObReferenceObjectByHandle(Event, 0, ExEventObjectType, KernelMode,
                                           (PVOID *)&Body, NULL),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(ObOpenObjectByPointer(Body, OBJ_KERNEL_HANDLE, EVENT_ALL_ACCESS,
                                       ExEventObjectType, KernelMode, &KernelHandle),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(NtSetEvent(KernelHandle, NULL), STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(KtPoll(T, KernelHandle), STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(NtClose(KernelHandle), STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(ZwClose(KernelHandle), STATUS_SUCCESS); /* it was still open */
    KT_ASSERT_EQ(KeReadStateEvent(Body), 0);

    /* Wrong types. */
    KT_ASSERT_EQ(NtSetEvent(T->ProcessHandle, NULL), STATUS_OBJECT_TYPE_MISMATCH);
    KT_ASSERT_EQ(NtResetEvent(NtCurrentProcess(), NULL), STATUS_OBJECT_TYPE_MISMATCH);
    KT_ASSERT_EQ(NtClearEvent(NtCurrentThread()), STATUS_OBJECT_TYPE_MISMATCH);

    ObDereferenceObject(Body);
    KT_ASSERT_EQ(NtClose(Event), STATUS_SUCCESS);
}
KT_NT_TEST(event_handles, KtEventHandles)

/* ------------------------------------------------------------------------
 * Waits
 * ------------------------------------------------------------------------ */

/* A type whose body is not a dispatcher object. */
static OBJECT_TYPE KtNotWaitableType;

/* Sleep 5 ms, then set the event (a kernel pointer: no user memory). */
static void KtSignallerThread(PVOID Context)
{
    LARGE_INTEGER Delay = {.QuadPart = -50000};
    (void)KeDelayExecutionThread(KernelMode, FALSE, &Delay);
    (void)KeSetEvent(Context, 0, FALSE);
}

static void KtWaitSingle(KT_NT *T)
{
    PLARGE_INTEGER Timeout = KtU(T, 0x100);
    HANDLE Event = KtCreateEvent(T, NotificationEvent, FALSE);
    PKEVENT Body;
    HANDLE Thread;
    KT_ASSERT(Event != NULL);

    /* A relative timeout expires. */
    KtPut64(Timeout, (ULONG64)-20000LL);
    KT_ASSERT_EQ(NtWaitForSingleObject(Event, FALSE, Timeout), STATUS_TIMEOUT);
    for (ULONG i = 0; i < KT_BAD_POINTERS; i++) {
        if (KtBadPointer(i, T->User) != NULL) /* NULL: wait for ever */
            KT_ASSERT_EQ(NtWaitForSingleObject(Event, FALSE, KtBadPointer(i, T->User)),
                         STATUS_ACCESS_VIOLATION);
    }

    /* A real block, ended by another thread; and a wait for that thread. */
    KT_ASSERT_EQ(ObReferenceObjectByHandle(Event, 0, ExEventObjectType, KernelMode,
                                           (PVOID *)&Body, NULL),
                 STATUS_SUCCESS);
    PKT_DEFERRED Dereference = KtDeferDereference(Body);
    KT_ASSERT_EQ(PsCreateSystemThread(&Thread, THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                      KtSignallerThread, Body),
                 STATUS_SUCCESS);
    PKT_DEFERRED Join = KtDeferJoinThread(Thread);
    LONG_PTR References = ObQueryPointerCount(Body);
    KT_ASSERT_EQ(NtWaitForSingleObject(Event, FALSE, NULL), STATUS_SUCCESS);
    KT_ASSERT_EQ(ObQueryPointerCount(Body), References); /* the wait's reference is gone */
    KT_ASSERT_EQ(NtWaitForSingleObject(Thread, FALSE, NULL), STATUS_SUCCESS);
    KtCleanupNow(Join);                 /* waits (it has ended) and closes */
    KtCleanupNow(Dereference);

    /* Processes: ours has no thread that ended, so it is not signalled. */
    KT_ASSERT_EQ(KtPoll(T, T->ProcessHandle), STATUS_TIMEOUT);
    KT_ASSERT_EQ(KtPoll(T, NtCurrentProcess()), STATUS_TIMEOUT);
    KT_ASSERT_EQ(KtPoll(T, NtCurrentThread()), STATUS_TIMEOUT);

    /* Something that is not waitable. */
    PVOID Object;
    HANDLE NotWaitable;
    if (!KtNotWaitableType.Initialized)
        ObInitializeObjectType(&KtNotWaitableType, "KtNw", NULL);
    KT_ASSERT_EQ(ObCreateObject(&KtNotWaitableType, 64, &Object), STATUS_SUCCESS);
    memset(Object, 0, 64); /* its first byte looks like a notification event */
    KT_ASSERT_EQ(ObOpenObjectByPointer(Object, 0, SYNCHRONIZE, NULL, KernelMode, &NotWaitable),
                 STATUS_SUCCESS);
    ObDereferenceObject(Object);
    KT_ASSERT_EQ(KtPoll(T, NotWaitable), STATUS_OBJECT_TYPE_MISMATCH);
    KT_ASSERT_EQ(ZwClose(NotWaitable), STATUS_SUCCESS);

    KT_ASSERT_EQ(NtClose(Event), STATUS_SUCCESS);
}
KT_NT_TEST(wait_single, KtWaitSingle)

#define KT_EVENTS 5 /* more than THREAD_WAIT_OBJECTS: pool wait blocks */

static void KtWaitMultiple(KT_NT *T)
{
    PHANDLE Array = KtU(T, 0x400);
    PLARGE_INTEGER Zero = KtU(T, 0x100);
    HANDLE Events[KT_EVENTS];
    PKEVENT Bodies[KT_EVENTS];
    LONG_PTR References[KT_EVENTS];

    KT_ASSERT(KT_EVENTS > THREAD_WAIT_OBJECTS);
    KtPut64(Zero, 0);
    for (ULONG i = 0; i < KT_EVENTS; i++) {
        Events[i] = KtCreateEvent(T, NotificationEvent, FALSE);
        KT_ASSERT(Events[i] != NULL);
        KT_ASSERT_EQ(ObReferenceObjectByHandle(Events[i], 0, ExEventObjectType, KernelMode,
                                               (PVOID *)&Bodies[i], NULL),
                     STATUS_SUCCESS);
        References[i] = ObQueryPointerCount(Bodies[i]);
    }
    KT_ASSERT_EQ(MmCopyToUser(Array, Events, sizeof(Events)), STATUS_SUCCESS);

    KT_ASSERT_EQ(NtWaitForMultipleObjects(KT_EVENTS, Array, WaitAny, FALSE, Zero), STATUS_TIMEOUT);
    KT_ASSERT_EQ(NtSetEvent(Events[3], NULL), STATUS_SUCCESS);
    KT_ASSERT_EQ(NtWaitForMultipleObjects(KT_EVENTS, Array, WaitAny, FALSE, Zero),
                 STATUS_WAIT_0 + 3);
    KT_ASSERT_EQ(NtWaitForMultipleObjects(KT_EVENTS, Array, WaitAll, FALSE, Zero), STATUS_TIMEOUT);
    for (ULONG i = 0; i < KT_EVENTS; i++)
        KT_ASSERT_EQ(NtSetEvent(Events[i], NULL), STATUS_SUCCESS);
    KT_ASSERT_EQ(NtWaitForMultipleObjects(KT_EVENTS, Array, WaitAll, FALSE, Zero), STATUS_SUCCESS);
    KT_ASSERT_EQ(NtWaitForMultipleObjects(2, Array, WaitAll, FALSE, NULL), STATUS_SUCCESS);

    /* Bad arguments. */
    KT_ASSERT_EQ(NtWaitForMultipleObjects(0, Array, WaitAny, FALSE, Zero), STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(NtWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS + 1, Array, WaitAny, FALSE, Zero),
                 STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(NtWaitForMultipleObjects(2, Array, (WAIT_TYPE)7, FALSE, Zero),
                 STATUS_INVALID_PARAMETER);
    for (ULONG i = 0; i < KT_BAD_POINTERS; i++) {
        KT_ASSERT_EQ(NtWaitForMultipleObjects(2, KtBadPointer(i, T->User), WaitAny, FALSE, Zero),
                     STATUS_ACCESS_VIOLATION);
        if (KtBadPointer(i, T->User) != NULL)
            KT_ASSERT_EQ(NtWaitForMultipleObjects(2, Array, WaitAny, FALSE,
                                                  KtBadPointer(i, T->User)),
                         STATUS_ACCESS_VIOLATION);
    }
    /* An array running off the read-only page into the reserved one. */
    PHANDLE Edge = KtU(T, KT_RESERVED_PAGE * PAGE_SIZE - 2 * sizeof(HANDLE));
    KT_ASSERT_EQ(NtWaitForMultipleObjects(4, Edge, WaitAny, FALSE, Zero), STATUS_ACCESS_VIOLATION);

    /* A bad handle in the middle: the ones before it are let go again. */
    KtPut64(&Array[2], 0x7FFC);
    KT_ASSERT_EQ(NtWaitForMultipleObjects(KT_EVENTS, Array, WaitAny, FALSE, Zero),
                 STATUS_INVALID_HANDLE);
    KtPut64(&Array[2], (ULONG64)T->ProcessHandle); /* waitable, but never signalled */
    KT_ASSERT_EQ(NtWaitForMultipleObjects(KT_EVENTS, Array, WaitAll, FALSE, Zero), STATUS_TIMEOUT);
    /* The same object twice in a WaitAll. */
    KtPut64(&Array[2], (ULONG64)Events[0]);
    KT_ASSERT_EQ(NtWaitForMultipleObjects(KT_EVENTS, Array, WaitAll, FALSE, Zero),
                 STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(NtWaitForMultipleObjects(KT_EVENTS, Array, WaitAny, FALSE, Zero), STATUS_WAIT_0);

    for (ULONG i = 0; i < KT_EVENTS; i++) {
        KT_ASSERT_EQ(ObQueryPointerCount(Bodies[i]), References[i]);
        ObDereferenceObject(Bodies[i]);
        KT_ASSERT_EQ(NtClose(Events[i]), STATUS_SUCCESS);
    }
}
KT_NT_TEST(wait_multiple, KtWaitMultiple)

/* ------------------------------------------------------------------------
 * Duplication
 * ------------------------------------------------------------------------ */

static void KtDuplicate(KT_NT *T)
{
    PHANDLE Out = KtU(T, 0x500);
    PVOID A, B;
    HANDLE Event = KtCreateEvent(T, NotificationEvent, FALSE);
    KT_ASSERT(Event != NULL);

    /* Within the caller's table. */
    KT_ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), Event, NtCurrentProcess(), Out, 0,
                                   DUPLICATE_SAME_ACCESS),
                 STATUS_SUCCESS);
    HANDLE Copy = (HANDLE)KtGet64(Out);
    KT_ASSERT(Copy != Event && Copy != NULL);
    KT_ASSERT_EQ(NtSetEvent(Copy, NULL), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtPoll(T, Event), STATUS_SUCCESS);

    /* Closing the source as it goes: within one process a move, the copy
     * has the source's value (NT's answer); then close-only. */
    KT_ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), Copy, NtCurrentProcess(), Out, 0,
                                   DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE),
                 STATUS_SUCCESS);
    KT_ASSERT((HANDLE)KtGet64(Out) == Copy);
    Copy = (HANDLE)KtGet64(Out);
    KT_ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), Copy, NULL, NULL, 0,
                                   DUPLICATE_CLOSE_SOURCE),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(NtClose(Copy), STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), Event, NULL, NULL, 0, 0),
                 STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), Event, NtCurrentProcess(), Out, 0, 0x80),
                 STATUS_INVALID_PARAMETER);

    /* Into another process's table. */
    PHANDLE_TABLE Target = T->Process->ObjectTable;
    ULONG TargetHandles = Target->HandleCount;
    KT_ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), Event, T->ProcessHandle, Out, 0,
                                   DUPLICATE_SAME_ACCESS),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(Target->HandleCount, TargetHandles + 1);
    KT_ASSERT_EQ(ObReferenceObjectByHandleInTable(Target, (HANDLE)KtGet64(Out), NULL, &A),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(ObReferenceObjectByHandle(Event, 0, NULL, KernelMode, &B, NULL), STATUS_SUCCESS);
    KT_ASSERT(A == B);
    ObDereferenceObject(A);
    ObDereferenceObject(B);

    /* Bad TargetHandle: nothing is made. */
    for (ULONG i = 1; i < KT_BAD_POINTERS; i++)
        KT_ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), Event, T->ProcessHandle,
                                       KtBadPointer(i, T->User), 0, DUPLICATE_SAME_ACCESS),
                     STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(Target->HandleCount, TargetHandles + 1);

    /* Bad and wrong handles. */
    KT_ASSERT_EQ(NtDuplicateObject((HANDLE)0x7FFC, Event, NtCurrentProcess(), Out, 0,
                                   DUPLICATE_SAME_ACCESS),
                 STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(NtDuplicateObject(Event, Event, NtCurrentProcess(), Out, 0, DUPLICATE_SAME_ACCESS),
                 STATUS_OBJECT_TYPE_MISMATCH);
    KT_ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), Event, Event, Out, 0, DUPLICATE_SAME_ACCESS),
                 STATUS_OBJECT_TYPE_MISMATCH);
    KT_ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), (HANDLE)0x7FFC, NtCurrentProcess(), Out, 0,
                                   DUPLICATE_SAME_ACCESS),
                 STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), (HANDLE)(KERNEL_HANDLE_MASK | 4),
                                   NtCurrentProcess(), Out, 0, DUPLICATE_SAME_ACCESS),
                 STATUS_INVALID_HANDLE);
    /* Widening access is refused. */
    KT_ASSERT_EQ(NtCreateEvent(Out, SYNCHRONIZE, NULL, NotificationEvent, FALSE), STATUS_SUCCESS);
    HANDLE Narrow = (HANDLE)KtGet64(Out);
    KT_ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), Narrow, NtCurrentProcess(), Out,
                                   EVENT_ALL_ACCESS, 0),
                 STATUS_ACCESS_DENIED);
    KT_ASSERT_EQ(NtClose(Narrow), STATUS_SUCCESS);

    /* The pseudo handle becomes a real handle to the process. */
    KT_ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), NtCurrentProcess(), NtCurrentProcess(), Out,
                                   0, DUPLICATE_SAME_ACCESS),
                 STATUS_SUCCESS);
    HANDLE Self = (HANDLE)KtGet64(Out);
    KT_ASSERT_EQ(ObReferenceObjectByHandle(Self, 0, PsProcessType, KernelMode, &A, NULL),
                 STATUS_SUCCESS);
    KT_ASSERT(A == PsGetCurrentProcess());
    ObDereferenceObject(A);
    KT_ASSERT_EQ(NtClose(Self), STATUS_SUCCESS);

    KT_ASSERT_EQ(NtClose(Event), STATUS_SUCCESS);
}
KT_NT_TEST(duplicate_object, KtDuplicate)

/* ------------------------------------------------------------------------
 * Virtual memory
 * ------------------------------------------------------------------------ */

static void KtVirtualMemory(KT_NT *T)
{
    PVOID *BaseU = KtU(T, 0x600);
    PSIZE_T SizeU = KtU(T, 0x608);
    PULONG OldU = KtU(T, 0x610);
    PSIZE_T ReturnU = KtU(T, 0x618);
    PMEMORY_BASIC_INFORMATION InfoU = KtU(T, 0x700);
    MEMORY_BASIC_INFORMATION Info;
    PMM_AVL_TABLE Vads = &T->Process->Pcb.AddressSpace->VadRoot;
    ULONG VadCount = Vads->NumberGenericTableElements;

    KtPut64(BaseU, 0);
    KtPut64(SizeU, 3 * PAGE_SIZE);
    KT_ASSERT_EQ(NtAllocateVirtualMemory(T->ProcessHandle, BaseU, 0, SizeU,
                                         MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    ULONG64 Base = KtGet64(BaseU);
    KT_ASSERT(Base != 0 && Base % MM_ALLOCATION_GRANULARITY == 0);
    KT_ASSERT_EQ(KtGet64(SizeU), 3 * PAGE_SIZE);
    KT_ASSERT_EQ(Vads->NumberGenericTableElements, VadCount + 1);

    KT_ASSERT_EQ(NtQueryVirtualMemory(T->ProcessHandle, (PVOID)(Base + 5), 0, InfoU,
                                      sizeof(Info), ReturnU),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(MmCopyFromUser(&Info, InfoU, sizeof(Info)), STATUS_SUCCESS);
    KT_ASSERT_EQ((ULONG64)Info.BaseAddress, Base);
    KT_ASSERT_EQ(Info.RegionSize, 3 * PAGE_SIZE);
    KT_ASSERT_EQ(Info.State, MEM_COMMIT);
    KT_ASSERT_EQ(Info.Protect, PAGE_READWRITE);
    KT_ASSERT_EQ(KtGet64(ReturnU), sizeof(Info));

    KtPut64(SizeU, PAGE_SIZE);
    KT_ASSERT_EQ(NtProtectVirtualMemory(T->ProcessHandle, BaseU, SizeU, PAGE_READONLY, OldU),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KtGet32(OldU), PAGE_READWRITE);
    KT_ASSERT_EQ(NtProtectVirtualMemory(T->ProcessHandle, BaseU, SizeU, PAGE_READWRITE, NULL),
                 STATUS_ACCESS_VIOLATION);

    KtPut64(SizeU, PAGE_SIZE);
    KT_ASSERT_EQ(NtFreeVirtualMemory(T->ProcessHandle, BaseU, SizeU, MEM_DECOMMIT),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(NtQueryVirtualMemory(T->ProcessHandle, (PVOID)Base, 0, InfoU, sizeof(Info), NULL),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(MmCopyFromUser(&Info, InfoU, sizeof(Info)), STATUS_SUCCESS);
    KT_ASSERT_EQ(Info.State, MEM_RESERVE);

    KtPut64(SizeU, 0);
    KT_ASSERT_EQ(NtFreeVirtualMemory(T->ProcessHandle, BaseU, SizeU, MEM_RELEASE), STATUS_SUCCESS);
    KT_ASSERT_EQ(KtGet64(SizeU), 3 * PAGE_SIZE);
    KT_ASSERT_EQ(Vads->NumberGenericTableElements, VadCount);
    KT_ASSERT_EQ(NtQueryVirtualMemory(T->ProcessHandle, (PVOID)Base, 0, InfoU, sizeof(Info), NULL),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(MmCopyFromUser(&Info, InfoU, sizeof(Info)), STATUS_SUCCESS);
    KT_ASSERT_EQ(Info.State, MEM_FREE);
}
KT_NT_TEST(virtual_memory, KtVirtualMemory)

static void KtVirtualMemoryBadArguments(KT_NT *T)
{
    PVOID *BaseU = KtU(T, 0x600);
    PSIZE_T SizeU = KtU(T, 0x608);
    PSIZE_T ReturnU = KtU(T, 0x618);
    PVOID InfoU = KtU(T, 0x700);
    PMM_AVL_TABLE Vads = &T->Process->Pcb.AddressSpace->VadRoot;
    ULONG VadCount = Vads->NumberGenericTableElements;
    HANDLE Event = KtCreateEvent(T, NotificationEvent, FALSE);
    KT_ASSERT(Event != NULL);

    KtPut64(BaseU, 0);
    KtPut64(SizeU, PAGE_SIZE);
    KT_ASSERT_EQ(NtAllocateVirtualMemory(T->ProcessHandle, BaseU, 1, SizeU, MEM_COMMIT,
                                         PAGE_READWRITE),
                 STATUS_INVALID_PARAMETER_3);
    for (ULONG i = 0; i < KT_BAD_POINTERS; i++) {
        PVOID Bad = KtBadPointer(i, T->User);
        KT_ASSERT_EQ(NtAllocateVirtualMemory(T->ProcessHandle, Bad, 0, SizeU, MEM_COMMIT,
                                             PAGE_READWRITE),
                     STATUS_ACCESS_VIOLATION);
        KT_ASSERT_EQ(NtAllocateVirtualMemory(T->ProcessHandle, BaseU, 0, Bad, MEM_COMMIT,
                                             PAGE_READWRITE),
                     STATUS_ACCESS_VIOLATION);
        KT_ASSERT_EQ(NtFreeVirtualMemory(T->ProcessHandle, Bad, SizeU, MEM_RELEASE),
                     STATUS_ACCESS_VIOLATION);
        KT_ASSERT_EQ(NtQueryVirtualMemory(T->ProcessHandle, T->User, 0, Bad,
                                          sizeof(MEMORY_BASIC_INFORMATION), NULL),
                     STATUS_ACCESS_VIOLATION);
        if (Bad != NULL)
            KT_ASSERT_EQ(NtQueryVirtualMemory(T->ProcessHandle, T->User, 0, InfoU,
                                              sizeof(MEMORY_BASIC_INFORMATION), Bad),
                         STATUS_ACCESS_VIOLATION);
    }
    /* In/out arguments on a read-only page. */
    PVOID *ReadOnly = KtU(T, KT_READ_ONLY_PAGE * PAGE_SIZE);
    KT_ASSERT_EQ(NtAllocateVirtualMemory(T->ProcessHandle, ReadOnly, 0, SizeU,
                                         MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                 STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(Vads->NumberGenericTableElements, VadCount);

    /* Kernel addresses are refused by mm/virtual.c. */
    KtPut64(BaseU, MM_SYSTEM_RANGE_START);
    KT_ASSERT_EQ(NtAllocateVirtualMemory(T->ProcessHandle, BaseU, 0, SizeU,
                                         MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                 STATUS_INVALID_PARAMETER_2);
    KT_ASSERT_EQ(NtFreeVirtualMemory(T->ProcessHandle, BaseU, SizeU, MEM_RELEASE),
                 STATUS_INVALID_PARAMETER_2);
    KT_ASSERT_EQ(NtQueryVirtualMemory(T->ProcessHandle, (PVOID)MM_SYSTEM_RANGE_START, 0, InfoU,
                                      sizeof(MEMORY_BASIC_INFORMATION), NULL),
                 STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(KtGet64(BaseU), MM_SYSTEM_RANGE_START); /* untouched on failure */

    /* Classes and lengths. */
    KT_ASSERT_EQ(NtQueryVirtualMemory(T->ProcessHandle, T->User, 1, InfoU,
                                      sizeof(MEMORY_BASIC_INFORMATION), NULL),
                 STATUS_INVALID_INFO_CLASS);
    KtPut64(ReturnU, 0);
    KT_ASSERT_EQ(NtQueryVirtualMemory(T->ProcessHandle, T->User, 0, InfoU,
                                      sizeof(MEMORY_BASIC_INFORMATION) - 1, ReturnU),
                 STATUS_INFO_LENGTH_MISMATCH);
    KT_ASSERT_EQ(KtGet64(ReturnU), sizeof(MEMORY_BASIC_INFORMATION));

    /* Handles. */
    KtPut64(BaseU, 0);
    KT_ASSERT_EQ(NtAllocateVirtualMemory((HANDLE)0x7FFC, BaseU, 0, SizeU, MEM_COMMIT,
                                         PAGE_READWRITE),
                 STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(NtAllocateVirtualMemory(Event, BaseU, 0, SizeU, MEM_COMMIT, PAGE_READWRITE),
                 STATUS_OBJECT_TYPE_MISMATCH);
    KT_ASSERT_EQ(NtQueryVirtualMemory((HANDLE)(KERNEL_HANDLE_MASK | 4), T->User, 0, InfoU,
                                      sizeof(MEMORY_BASIC_INFORMATION), NULL),
                 STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(Vads->NumberGenericTableElements, VadCount);

    /* NtCurrentProcess() is the System process: its user half is empty,
     * and the answer still comes back to our (attached) buffer. */
    MEMORY_BASIC_INFORMATION Info;
    KT_ASSERT_EQ(NtQueryVirtualMemory(NtCurrentProcess(), T->User, 0, InfoU, sizeof(Info), NULL),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(MmCopyFromUser(&Info, InfoU, sizeof(Info)), STATUS_SUCCESS);
    KT_ASSERT_EQ(Info.State, MEM_FREE);
    KT_ASSERT_EQ(NtClose(Event), STATUS_SUCCESS);
}
KT_NT_TEST(virtual_memory_bad_arguments, KtVirtualMemoryBadArguments)

/* Allocate in a second process from the first's address space. */
static void KtVirtualMemoryCrossProcess(KT_NT *T)
{
    PEPROCESS Other;
    HANDLE OtherHandle;
    PVOID *BaseU = KtU(T, 0x600);
    PSIZE_T SizeU = KtU(T, 0x608);

    KT_ASSERT_EQ(PsCreateProcess("ntother", &Other), STATUS_SUCCESS);
    PKT_DEFERRED Dereference = KtDeferDereference(Other);
    NTSTATUS Status = ObOpenObjectByPointer(Other, 0, PROCESS_ALL_ACCESS, PsProcessType,
                                            KernelMode, &OtherHandle);
    KT_ASSERT_EQ(Status, STATUS_SUCCESS);
    PKT_DEFERRED Close = KtDeferClose(OtherHandle);
    ULONG Ours = T->Process->Pcb.AddressSpace->VadRoot.NumberGenericTableElements;
    ULONG Theirs = Other->Pcb.AddressSpace->VadRoot.NumberGenericTableElements;

    KtPut64(BaseU, 0);
    KtPut64(SizeU, PAGE_SIZE);
    Status = NtAllocateVirtualMemory(OtherHandle, BaseU, 0, SizeU, MEM_RESERVE | MEM_COMMIT,
                                     PAGE_READWRITE);
    ULONG OursAfter = T->Process->Pcb.AddressSpace->VadRoot.NumberGenericTableElements;
    ULONG TheirsAfter = Other->Pcb.AddressSpace->VadRoot.NumberGenericTableElements;
    BOOLEAN StillOurs = MmCurrentAddressSpace == T->Process->Pcb.AddressSpace;
    KtCleanupNow(Close);
    KtCleanupNow(Dereference);

    KT_ASSERT_EQ(Status, STATUS_SUCCESS);
    KT_ASSERT(StillOurs);
    KT_ASSERT_EQ(OursAfter, Ours);
    KT_ASSERT_EQ(TheirsAfter, Theirs + 1);
    KT_ASSERT(KtGet64(BaseU) != 0);
}
KT_NT_TEST(virtual_memory_cross_process, KtVirtualMemoryCrossProcess)

/* ------------------------------------------------------------------------
 * NtQuerySystemInformation
 * ------------------------------------------------------------------------ */

static void KtQueryProcesses(KT_NT *T)
{
    PULONG ReturnU = KtU(T, 0x10);
    PVOID Buffer = KtU(T, PAGE_SIZE);
    ULONG Room = (KT_READ_ONLY_PAGE - 1) * PAGE_SIZE;
    static SYSTEM_PROCESS_ENTRY Entries[64];

    KtPut32(ReturnU, 0);
    KT_ASSERT_EQ(NtQuerySystemInformation(SystemProcessInformation, Buffer, 0, ReturnU),
                 STATUS_INFO_LENGTH_MISMATCH);
    ULONG Needed = KtGet32(ReturnU);
    KT_ASSERT(Needed >= 2 * sizeof(SYSTEM_PROCESS_ENTRY) && Needed <= sizeof(Entries));
    KT_ASSERT_EQ(Needed % sizeof(SYSTEM_PROCESS_ENTRY), 0);
    KT_ASSERT_EQ(NtQuerySystemInformation(SystemProcessInformation, Buffer,
                                          Needed - 1, ReturnU),
                 STATUS_INFO_LENGTH_MISMATCH);

    KT_ASSERT_EQ(NtQuerySystemInformation(SystemProcessInformation, Buffer, Room, ReturnU),
                 STATUS_SUCCESS);
    ULONG Count = KtGet32(ReturnU) / sizeof(SYSTEM_PROCESS_ENTRY);
    KT_ASSERT(Count >= 2 && Count <= ARRAYSIZE(Entries));
    KT_ASSERT_EQ(MmCopyFromUser(Entries, Buffer, Count * sizeof(SYSTEM_PROCESS_ENTRY)),
                 STATUS_SUCCESS);
    BOOLEAN FoundOurs = FALSE, FoundSystem = FALSE;
    for (ULONG i = 0; i < Count; i++) {
        if (Entries[i].ProcessId == (ULONG)(ULONG_PTR)T->Process->UniqueProcessId) {
            /* The name as PsCreateProcess kept it: at most 15 characters. */
            FoundOurs = strncmp(Entries[i].ImageName, "query_processes", 15) == 0;
            KT_ASSERT(Entries[i].CommittedPages >= KT_REGION_PAGES - 1);
        }
        if (Entries[i].ProcessId == 4)
            FoundSystem = Entries[i].ThreadCount >= 1;
    }
    KT_ASSERT(FoundOurs);
    KT_ASSERT(FoundSystem);

    /* Bad buffers and return lengths. */
    for (ULONG i = 0; i < KT_BAD_POINTERS; i++) {
        KT_ASSERT_EQ(NtQuerySystemInformation(SystemProcessInformation, KtBadPointer(i, T->User),
                                              Room, ReturnU),
                     STATUS_ACCESS_VIOLATION);
        if (KtBadPointer(i, T->User) != NULL)
            KT_ASSERT_EQ(NtQuerySystemInformation(SystemProcessInformation, Buffer, Room,
                                                  KtBadPointer(i, T->User)),
                         STATUS_ACCESS_VIOLATION);
    }
    /* A buffer that runs into the read-only page. */
    KT_ASSERT_EQ(NtQuerySystemInformation(SystemProcessInformation,
                                          KtU(T, KT_READ_ONLY_PAGE * PAGE_SIZE - 16), Room,
                                          ReturnU),
                 STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(NtQuerySystemInformation((SYSTEM_INFORMATION_CLASS)7, Buffer, Room, ReturnU),
                 STATUS_INVALID_INFO_CLASS);
}
KT_NT_TEST(query_processes, KtQueryProcesses)

static void KtQueryMemoryAndPools(KT_NT *T)
{
    PULONG ReturnU = KtU(T, 0x10);
    PVOID Buffer = KtU(T, PAGE_SIZE);
    ULONG Room = (KT_READ_ONLY_PAGE - 1) * PAGE_SIZE;
    SYSTEM_MEMORY_INFORMATION Memory;
    static SYSTEM_POOLTAG Tags[2 * POOL_TRACKER_SIZE];

    KT_ASSERT_EQ(NtQuerySystemInformation(SystemMemoryInformation, Buffer, sizeof(Memory) - 1,
                                          ReturnU),
                 STATUS_INFO_LENGTH_MISMATCH);
    KT_ASSERT_EQ(KtGet32(ReturnU), sizeof(Memory));
    KT_ASSERT_EQ(NtQuerySystemInformation(SystemMemoryInformation, Buffer, sizeof(Memory), NULL),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(MmCopyFromUser(&Memory, Buffer, sizeof(Memory)), STATUS_SUCCESS);
    KT_ASSERT_EQ(Memory.TotalPages, MmNumberOfPhysicalPages());
    KT_ASSERT(Memory.AvailablePages > 0 && Memory.AvailablePages <= Memory.TotalPages);
    KT_ASSERT(Memory.PagesByUsage[MiUsagePageTable] > 0);
    KT_ASSERT(Memory.NonPagedPoolPages > 0);
    KT_ASSERT(Memory.ContextSwitches > 0);

    KT_ASSERT_EQ(NtQuerySystemInformation(SystemPoolTagInformation, Buffer, 0, ReturnU),
                 STATUS_INFO_LENGTH_MISMATCH);
    ULONG Needed = KtGet32(ReturnU);
    KT_ASSERT(Needed > 0 && Needed <= sizeof(Tags) && Needed <= Room);
    KT_ASSERT_EQ(NtQuerySystemInformation(SystemPoolTagInformation, Buffer, Room, ReturnU),
                 STATUS_SUCCESS);
    ULONG Count = KtGet32(ReturnU) / sizeof(SYSTEM_POOLTAG);
    KT_ASSERT_EQ(MmCopyFromUser(Tags, Buffer, Count * sizeof(SYSTEM_POOLTAG)), STATUS_SUCCESS);
    BOOLEAN FoundVad = FALSE;
    for (ULONG i = 0; i < Count; i++) {
        KT_ASSERT(Tags[i].PoolType <= 1);
        if (Tags[i].Tag == MI_VAD_TAG && Tags[i].PoolType == 0)
            FoundVad = Tags[i].BytesInUse > 0;
    }
    KT_ASSERT(FoundVad);
}
KT_NT_TEST(query_memory_and_pools, KtQueryMemoryAndPools)

static NTSTATUS KtQueryPte(KT_NT *T, ULONG ProcessId, ULONG64 Va, SYSTEM_PTE_INFORMATION *Info)
{
    PVOID Buffer = KtU(T, PAGE_SIZE);
    SYSTEM_PTE_QUERY Query = {ProcessId, 0, Va};
    (void)MmCopyToUser(Buffer, &Query, sizeof(Query));
    NTSTATUS Status = NtQuerySystemInformation(SystemPteInformation, Buffer, sizeof(*Info), NULL);
    if (NT_SUCCESS(Status))
        (void)MmCopyFromUser(Info, Buffer, sizeof(*Info));
    return Status;
}

static void KtQueryPtes(KT_NT *T)
{
    SYSTEM_PTE_INFORMATION Info;
    ULONG Pid = (ULONG)(ULONG_PTR)T->Process->UniqueProcessId;
    PULONG ReturnU = KtU(T, 0x10);

    /* A user page with a frame: four levels, the last one valid. */
    KtPut64(KtU(T, 2 * PAGE_SIZE), 0x1234);
    KT_ASSERT_EQ(KtQueryPte(T, Pid, (ULONG64)KtU(T, 2 * PAGE_SIZE), &Info), STATUS_SUCCESS);
    KT_ASSERT_EQ(Info.Levels, 4);
    KT_ASSERT(Info.Entry[3] & MM_PTE_VALID);
    KT_ASSERT(Info.Entry[3] & MM_PTE_OWNER);
    KT_ASSERT_EQ(Info.EntryAddress[3], (ULONG64)MiGetPteAddress(KtU(T, 2 * PAGE_SIZE)));
    KT_ASSERT_EQ(Info.Entry[3] & MM_PTE_FRAME_MASK,
                 MmGetPhysicalAddress(KtU(T, 2 * PAGE_SIZE)) & MM_PTE_FRAME_MASK);
    /* Reserved only: the page table exists, the entry is zero. */
    KT_ASSERT_EQ(KtQueryPte(T, Pid, (ULONG64)KtU(T, KT_RESERVED_PAGE * PAGE_SIZE), &Info),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(Info.Levels, 4);
    KT_ASSERT_EQ(Info.Entry[3], 0);
    /* Nothing mapped anywhere near: the walk stops at the PML4 entry. */
    KT_ASSERT_EQ(KtQueryPte(T, Pid, 0x0000600000000000ULL, &Info), STATUS_SUCCESS);
    KT_ASSERT_EQ(Info.Levels, 1);
    KT_ASSERT_EQ(Info.Entry[0] & MM_PTE_VALID, 0);
    /* The System process (ID 0: the caller) sees none of our user half. */
    KT_ASSERT_EQ(KtQueryPte(T, 0, (ULONG64)KtU(T, 2 * PAGE_SIZE), &Info), STATUS_SUCCESS);
    KT_ASSERT(Info.Levels < 4 || !(Info.Entry[3] & MM_PTE_VALID));
    /* Kernel data: present down to a valid leaf. */
    KT_ASSERT_EQ(KtQueryPte(T, 0, (ULONG64)&KtNtKernelGlobal, &Info), STATUS_SUCCESS);
    KT_ASSERT(Info.Levels >= 3);
    KT_ASSERT(Info.Entry[Info.Levels - 1] & MM_PTE_VALID);

    KT_ASSERT_EQ(KtQueryPte(T, Pid, 0x0000800000000000ULL, &Info), STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(KtQueryPte(T, 0x7FFFFFF0, 0x10000, &Info), STATUS_INVALID_PARAMETER);
    KT_ASSERT_EQ(NtQuerySystemInformation(SystemPteInformation, KtU(T, PAGE_SIZE),
                                          sizeof(SYSTEM_PTE_QUERY), ReturnU),
                 STATUS_INFO_LENGTH_MISMATCH);
    KT_ASSERT_EQ(KtGet32(ReturnU), sizeof(SYSTEM_PTE_INFORMATION));
}
KT_NT_TEST(query_ptes, KtQueryPtes)

static void KtQueryVads(KT_NT *T)
{
    PVOID Buffer = KtU(T, PAGE_SIZE);
    PULONG ReturnU = KtU(T, 0x10);
    SYSTEM_VAD_QUERY Query = {(ULONG)(ULONG_PTR)T->Process->UniqueProcessId};
    SYSTEM_VAD_ENTRY Entries[8];
    ULONG Room = (KT_READ_ONLY_PAGE - 1) * PAGE_SIZE;

    KT_ASSERT_EQ(NtQuerySystemInformation(SystemVadInformation, Buffer, 2, ReturnU),
                 STATUS_INFO_LENGTH_MISMATCH);
    KT_ASSERT_EQ(KtGet32(ReturnU), sizeof(SYSTEM_VAD_QUERY));
    KT_ASSERT_EQ(MmCopyToUser(Buffer, &Query, sizeof(Query)), STATUS_SUCCESS);
    KT_ASSERT_EQ(NtQuerySystemInformation(SystemVadInformation, Buffer, sizeof(Query), ReturnU),
                 STATUS_INFO_LENGTH_MISMATCH);
    ULONG Needed = KtGet32(ReturnU);
    /* Ours and the shared user data view. */
    KT_ASSERT_EQ(Needed, 2 * sizeof(SYSTEM_VAD_ENTRY));
    KT_ASSERT_EQ(NtQuerySystemInformation(SystemVadInformation, Buffer, Room, ReturnU),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(MmCopyFromUser(Entries, Buffer, Needed), STATUS_SUCCESS);
    KT_ASSERT_EQ(Entries[0].StartingAddress, (ULONG64)T->User);
    KT_ASSERT_EQ(Entries[0].EndingAddress, (ULONG64)T->User + KT_REGION_PAGES * PAGE_SIZE - 1);
    KT_ASSERT_EQ(Entries[0].CommittedPages, KT_REGION_PAGES - 1);
    KT_ASSERT_EQ(Entries[0].AllocationProtect, PAGE_READWRITE);
    KT_ASSERT_EQ(Entries[1].StartingAddress, MM_SHARED_USER_DATA_USER);
    KT_ASSERT(Entries[1].Flags & MM_VAD_SHARED_USER_DATA);

    Query.ProcessId = 0x7FFFFFF0;
    KT_ASSERT_EQ(MmCopyToUser(Buffer, &Query, sizeof(Query)), STATUS_SUCCESS);
    KT_ASSERT_EQ(NtQuerySystemInformation(SystemVadInformation, Buffer, Room, ReturnU),
                 STATUS_INVALID_PARAMETER);
    /* ID 0: the caller, the System process. */
    Query.ProcessId = 0;
    KT_ASSERT_EQ(MmCopyToUser(Buffer, &Query, sizeof(Query)), STATUS_SUCCESS);
    KT_ASSERT_EQ(NtQuerySystemInformation(SystemVadInformation, Buffer, Room, ReturnU),
                 STATUS_SUCCESS);
    KT_ASSERT_EQ(KtGet32(ReturnU), PsGetCurrentProcess()->Pcb.AddressSpace->VadRoot.NumberGenericTableElements *
                                       sizeof(SYSTEM_VAD_ENTRY));
}
KT_NT_TEST(query_vads, KtQueryVads)
