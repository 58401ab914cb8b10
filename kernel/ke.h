/*
 * ke.h - the kernel's public interface (Ke, Dbg, and the boot information
 * the rest of the system reads). Other components include this header and
 * nothing else from kernel/.
 */
#ifndef PAGODA_KE_H
#define PAGODA_KE_H

#include "../include/ntdef.h"
#include "../include/ntstatus.h"
#include "../include/bugcodes.h"
#include "../include/loader.h"

/* ------------------------------------------------------------------------
 * Boot information (kernel/init.c)
 * ------------------------------------------------------------------------ */

/* What GRUB told us, parsed and copied at the start of KiSystemStartup. */
extern LOADER_PARAMETER_BLOCK KeLoaderBlock;
/* The decoded kernel command line. */
extern BOOT_OPTIONS KeBootOptions;

/* Processor features found by kernel/cpu.c (NT keeps the same variable). */
extern ULONG KeFeatureBits;
#define KF_SMEP  0x1            /* CR4.SMEP set: the kernel cannot execute user pages */
#define KF_SMAP  0x2            /* CR4.SMAP set: the kernel cannot touch user pages outside stac/clac */
#define KF_PGE   0x4            /* CR4.PGE set: global pages */

/* ------------------------------------------------------------------------
 * The page-fault error code (Intel SDM Vol. 3A, 4.7 and Figure 4-12): what
 * the CPU pushes with a #PF. The trap dispatcher (kernel/trap.c) passes it
 * to MmAccessFault (mm/fault.c); both read these bits, defined only here.
 * ------------------------------------------------------------------------ */
#define PF_PRESENT   (1ULL << 0)    /* 0: page not present, 1: protection violation */
#define PF_WRITE     (1ULL << 1)    /* the access was a write */
#define PF_USER      (1ULL << 2)    /* the access came from ring 3 */
#define PF_RESERVED  (1ULL << 3)    /* a reserved bit was set in a paging entry */
#define PF_FETCH     (1ULL << 4)    /* instruction fetch */
#define PF_PK        (1ULL << 5)    /* protection key */
#define PF_SS        (1ULL << 6)    /* shadow-stack access */

/* ------------------------------------------------------------------------
 * Processors (kernel/mp.c, docs/smp.md).
 *
 * The ACPI MADT (hal/acpi.c) lists the processors; the boot processor
 * starts each other one, which climbs to long mode, loads its own GDT, TSS
 * and KPCR and then IDLES: halted at DISPATCH_LEVEL, woken by IPIs only,
 * whose requests it runs (kernel/ipi.c, KeIpiGenericCall), and then the
 * DPCs targeted at it (kernel/dpc.c: a queue per KPRCB). It runs no
 * thread and takes no device interrupt. Spin locks spin (kernel/lock.c),
 * the dispatcher lock is one of them (kernel/ki.h), but the scheduler's
 * ready queues and current thread are still the single-processor ones
 * (KiPcr): SMP scheduling comes with the rest of issue 15.
 *
 * NT's names and what they mean here:
 *   KeNumberProcessors  processors that run kernel code: the boot one and
 *                       each AP that reported (the scheduler uses 1).
 *   KeActiveProcessors  their affinity mask (where KeIpiGenericCall runs).
 *   KeRegisteredProcessors (NT's name for the processors the system knows
 *                       of): the MADT's enabled processors, started or not.
 * ------------------------------------------------------------------------ */
typedef ULONG_PTR KAFFINITY;
#define KE_MAXIMUM_PROCESSORS 16 /* the table below; HAL_MAXIMUM_PROCESSORS likewise */

typedef enum _KPROCESSOR_STATE {
    KProcessorRunning = 1, /* the boot processor: runs the scheduler */
    KProcessorIdle = 2, /* started: idle at DISPATCH_LEVEL, halted between IPIs */
    KProcessorFailed = 3, /* did not report in time, or could not be prepared */
    KProcessorNotStarted = 4, /* "nosmp", or past what Pagoda prepares */
} KPROCESSOR_STATE;

/* One processor the MADT lists. Written by the boot processor while it
 * starts them (the processor itself sets State to Idle), read-only once
 * KiStartApplicationProcessors returns. */
typedef struct _KPROCESSOR_INFORMATION {
    ULONG Number; /* index in the MADT's order; the boot processor is 0 */
    UCHAR ApicId;
    UCHAR AcpiProcessorId;
    KPROCESSOR_STATE State;
    ULONG StartMicroseconds; /* from the INIT IPI to its report, in 100 us steps (0: none) */
    /* Its control registers as it reported (0 for the boot processor and
     * for one that did not start): the ktests compare them with the boot
     * processor's (NX, WP, SMEP, SMAP, PGE alike). */
    ULONG64 Cr0, Cr4, Efer;
} KPROCESSOR_INFORMATION, *PKPROCESSOR_INFORMATION;

extern CHAR KeNumberProcessors; /* NT: CCHAR */
extern KAFFINITY KeActiveProcessors;
extern ULONG KeRegisteredProcessors;

/*
 * Run BroadcastFunction(Context) on every processor in KeActiveProcessors
 * at once (kernel/ipi.c): each is interrupted (the IPI vector), all wait at
 * a barrier until all have arrived, then all run it at IPI_LEVEL; returns,
 * at the caller's IRQL, once every processor has run it, with what it
 * returned on the calling processor. IRQL <= IPI_LEVEL. The function must
 * not wait or touch pageable memory; it may take spin locks with the
 * AtDpcLevel routines.
 */
typedef ULONG_PTR (*PKIPI_BROADCAST_WORKER)(ULONG_PTR Argument);
ULONG_PTR KeIpiGenericCall(PKIPI_BROADCAST_WORKER BroadcastFunction, ULONG_PTR Context);

/*
 * TLB shootdown (kernel/flushtb.c, docs/smp.md §8): after a valid PTE
 * changed, flush its translation here and on every other processor that
 * may cache it (all active ones for a system-space address, those on this
 * processor's CR3 for a user-space one), returning once all have.
 * KeFlushEntireTb flushes everything, global entries too, on the
 * processors of ProcessorMask (this one included if in it). IRQL <=
 * IPI_LEVEL, interrupts on or off.
 */
void KeFlushSingleTb(PVOID Virtual);
void KeFlushMultipleTb(ULONG Number, PVOID const *Virtual);
void KeFlushEntireTb(KAFFINITY ProcessorMask);

/* The number of the processor the caller runs on (0: the boot processor;
 * its KPRCB's Number). Meaningful to a thread only while it cannot move:
 * at DISPATCH_LEVEL or above. */
ULONG KeGetCurrentProcessorNumber(void);

/* Copy processor Number's entry to *Information. FALSE when Number >=
 * KeRegisteredProcessors. Any IRQL. */
BOOLEAN KeQueryProcessorInformation(ULONG Number, PKPROCESSOR_INFORMATION Information);

/* How many processors are in State now. Any IRQL. */
ULONG KeCountProcessors(KPROCESSOR_STATE State);

/* ------------------------------------------------------------------------
 * Debug output (kernel/dbgprint.c)
 * ------------------------------------------------------------------------ */

/*
 * Format (rtl/rtl.h conversions) and write to the serial port and the VGA
 * screen. Returns STATUS_SUCCESS. Callable at any IRQL; never blocks.
 */
ULONG DbgPrint(const char *Format, ...) __attribute__((format(printf, 1, 2)));
ULONG vDbgPrint(const char *Format, va_list Args);

/* Informational boot output, suppressed by the "quiet" command-line key. */
#define KdPrintBoot(...)                                                   \
    do {                                                                   \
        if (!KeBootOptions.Quiet)                                          \
            DbgPrint(__VA_ARGS__);                                         \
    } while (0)

/* ------------------------------------------------------------------------
 * Assertions and bugchecks (kernel/bugcheck.c)
 * ------------------------------------------------------------------------ */

__attribute__((noreturn)) void KiAssertionFailed(const char *Expression, const char *File,
                                                 int Line);

/* ASSERT checks preconditions (IRQL, locks, alignment); a failure is a
 * bugcheck naming the expression. Kept in every build: this is a teaching
 * kernel and a broken invariant should stop it where it broke. */
#define ASSERT(expr)                                                        \
    do {                                                                    \
        if (!(expr))                                                        \
            KiAssertionFailed(#expr, __FILE__, __LINE__);                   \
    } while (0)

/* The name of a stop code ("PAGE_FAULT_IN_NONPAGED_AREA"), or NULL. */
const char *KeBugCheckName(ULONG BugCheckCode);

/* ------------------------------------------------------------------------
 * Symbols (kernel/symbols.c)
 * ------------------------------------------------------------------------ */

/* Find the kernel symbol containing Address. Returns its name and sets
 * *Offset, or returns NULL. The table is built into the image. */
const char *KeLookupSymbol(ULONG_PTR Address, ULONG_PTR *Offset);

/* Print "name+0xoff" (or the bare address) for Address. */
void KePrintSymbol(ULONG_PTR Address);

/* ------------------------------------------------------------------------
 * IRQL (kernel/irql.c). The IRQL is CR8, the local APIC's task-priority
 * register, as on x64 Windows: an interrupt whose vector >> 4 is at or
 * below CR8 is held back until the IRQL drops.
 * ------------------------------------------------------------------------ */
#define PASSIVE_LEVEL  0
#define LOW_LEVEL      0
#define APC_LEVEL      1
#define DISPATCH_LEVEL 2
#define CMCI_LEVEL     5
#define CLOCK_LEVEL    13
#define IPI_LEVEL      14
#define POWER_LEVEL    14
#define PROFILE_LEVEL  15
#define HIGH_LEVEL     15

/* Where in the processor control region (gs:) the three software-interrupt
 * requests sit, side by side in one 32-bit word: a DPC is queued, a
 * reschedule is wanted, a kernel APC waits for the current thread
 * (kernel/ki.h's KPCR asserts these offsets). */
#define KE_PCR_SOFTWARE_INTERRUPTS_OFFSET 0x30

void KiRaiseIrqlFailed(KIRQL Current, KIRQL NewIrql) __attribute__((noreturn));
void KiLowerIrqlFailed(KIRQL Current, KIRQL NewIrql) __attribute__((noreturn));
void KiLowerIrqlSlow(KIRQL NewIrql);

/* The IRQL routines are inline, as on x64 Windows: each is a CR8 access
 * and a check. The "memory" clobber keeps the compiler from moving memory
 * accesses across an IRQL change. */
static inline KIRQL KeGetCurrentIrql(void)
{
    ULONG64 Irql;
    __asm__ volatile("mov %%cr8, %0" : "=r"(Irql));
    return (KIRQL)Irql;
}

/* The three software-interrupt requests as one word: nonzero when a DPC,
 * a reschedule or a kernel APC waits for the IRQL to drop. */
static inline ULONG KeSoftwareInterruptsPending(void)
{
    ULONG Pending;
    __asm__ volatile("movl %%gs:%c1, %0"
                     : "=r"(Pending)
                     : "i"(KE_PCR_SOFTWARE_INTERRUPTS_OFFSET)
                     : "memory");
    return Pending;
}

#ifdef PAGODA_LOADABLE_DRIVER
/* A loadable driver calls the kernel to raise and lower the IRQL (NT's
 * x86 KfRaiseIrql and KfLowerIrql), so that Driver Verifier's IRQL
 * checking can stand in (kernel/vfirql.c); the contracts are the inline
 * routines' below. */
KIRQL KfRaiseIrql(KIRQL NewIrql);
void KfLowerIrql(KIRQL NewIrql);
#define KeRaiseIrql(NewIrql, OldIrql) (*(OldIrql) = KfRaiseIrql(NewIrql))
#define KeLowerIrql(NewIrql) KfLowerIrql(NewIrql)
#else
/* Raise to NewIrql (>= current, else bugcheck IRQL_NOT_GREATER_OR_EQUAL);
 * *OldIrql receives the previous IRQL. */
static inline void KeRaiseIrql(KIRQL NewIrql, PKIRQL OldIrql)
{
    KIRQL Current = KeGetCurrentIrql();
    if (NewIrql < Current)
        KiRaiseIrqlFailed(Current, NewIrql);
    __asm__ volatile("mov %0, %%cr8" : : "r"((ULONG64)NewIrql) : "memory");
    *OldIrql = Current;
}

/* Lower to NewIrql (<= current). Dropping below DISPATCH_LEVEL runs the
 * pending DPCs and, below that, a pending reschedule; dropping below
 * APC_LEVEL then runs the current thread's pending kernel APCs: NT's
 * software interrupts (kernel/irql.c). */
static inline void KeLowerIrql(KIRQL NewIrql)
{
    KIRQL Current = KeGetCurrentIrql();
    if (NewIrql > Current)
        KiLowerIrqlFailed(Current, NewIrql);
    if (NewIrql < DISPATCH_LEVEL && KeSoftwareInterruptsPending())
        KiLowerIrqlSlow(NewIrql);
    else
        __asm__ volatile("mov %0, %%cr8" : : "r"((ULONG64)NewIrql) : "memory");
}

/* The out-of-line copies a loadable driver imports as KfRaiseIrql and
 * KfLowerIrql (kernel/irql.c; io/ldrexp.c), and Driver Verifier's checking
 * versions of them and of KeRaiseIrqlToDpcLevel (kernel/vfirql.c). */
KIRQL KiExportRaiseIrql(KIRQL NewIrql);
void KiExportLowerIrql(KIRQL NewIrql);
KIRQL VfRaiseIrql(KIRQL NewIrql);
void VfLowerIrql(KIRQL NewIrql);
KIRQL VfRaiseIrqlToDpcLevel(void);
#endif /* PAGODA_LOADABLE_DRIVER */

KIRQL KeRaiseIrqlToDpcLevel(void);

/* ------------------------------------------------------------------------
 * Dispatcher objects: every waitable object starts with this header.
 * ------------------------------------------------------------------------ */
typedef enum _KOBJECTS {
    EventNotificationObject = 0,
    EventSynchronizationObject = 1,
    MutantObject = 2,
    ProcessObject = 3,
    SemaphoreObject = 5,
    ThreadObject = 6,
    TimerNotificationObject = 8,
    TimerSynchronizationObject = 9,
    ApcObject = 0x12,
    DpcObject = 0x13,
} KOBJECTS;

/*
 * NT's layout, byte for byte, so that a debugger extension written for NT
 * reads it (docs/events.md):
 *
 *   +0 Type  +1 Absolute  +2 Size  +3 Inserted | +4 SignalState | +8 WaitListHead
 *
 * The initialisers write what NT's write: Type, Size (the object's size
 * in LONGs, sizeof(KEVENT) / sizeof(LONG) == 6), SignalState and an empty
 * WaitListHead; KeInitializeTimerEx also clears Inserted. Absolute (and
 * Inserted for the other types) are left as the caller's memory had them,
 * as NT leaves them: Pagoda keeps a timer's state in KTIMER itself, so no
 * code reads those two bytes. Lock overlays the first four bytes (NT's
 * per-object lock on multiprocessors); nothing here uses it.
 */
typedef struct _DISPATCHER_HEADER {
    union {
        struct {
            UCHAR Type; /* KOBJECTS */
            UCHAR Absolute; /* timers, in NT; left alone */
            UCHAR Size; /* in LONGs */
            UCHAR Inserted; /* timers, in NT; cleared by KeInitializeTimerEx */
        };
        volatile LONG Lock;
    };
    LONG SignalState;           /* > 0: signalled */
    LIST_ENTRY WaitListHead;    /* KWAIT_BLOCKs of the threads waiting on it */
} DISPATCHER_HEADER, *PDISPATCHER_HEADER;
STATIC_ASSERT(sizeof(DISPATCHER_HEADER) == 24);
STATIC_ASSERT(offsetof(DISPATCHER_HEADER, Size) == 2);
STATIC_ASSERT(offsetof(DISPATCHER_HEADER, SignalState) == 4);
STATIC_ASSERT(offsetof(DISPATCHER_HEADER, WaitListHead) == 8);

/* DISPATCHER_HEADER.Size of an object of type T, as NT computes it (a
 * type of more than 1,020 bytes, like KTHREAD, does not fit: see
 * docs/events.md). */
#define KE_DISPATCHER_SIZE(T) ((UCHAR)(sizeof(T) / sizeof(LONG)))

/* EVENT_TYPE, TIMER_TYPE and WAIT_TYPE are in include/ntdef.h (user mode
 * names them too). */
typedef enum _KPROCESSOR_MODE { KernelMode = 0, UserMode = 1 } KPROCESSOR_MODE_VALUES;
typedef CHAR KPROCESSOR_MODE;
typedef enum _KWAIT_REASON {
    Executive = 0, FreePage, PageIn, PoolAllocation, DelayExecution, Suspended, UserRequest,
    WrExecutive, WrFreePage, WrPageIn, WrPoolAllocation, WrDelayExecution, WrSuspended,
    WrUserRequest, MaximumWaitReason
} KWAIT_REASON;

typedef struct _KEVENT {
    DISPATCHER_HEADER Header;
} KEVENT, *PKEVENT, *PRKEVENT;

/*
 * A mutant (kernel/mutant.c): SignalState 1 when free; each acquisition by
 * the owner takes one off (0, -1, ... : recursion), each release gives one
 * back. The owner keeps it on its MutantListHead, so that a thread that
 * ends abandons what it still owns.
 */
typedef struct _KMUTANT {
    DISPATCHER_HEADER Header;
    LIST_ENTRY MutantListEntry;     /* in OwnerThread->MutantListHead */
    struct _KTHREAD *OwnerThread;   /* NULL when free */
    BOOLEAN Abandoned;              /* its owner ended holding it */
    UCHAR ApcDisable;               /* 1: a kernel mutex (owner in a critical region) */
} KMUTANT, *PKMUTANT, *PRKMUTANT, KMUTEX, *PKMUTEX, *PRKMUTEX;

/* A semaphore (kernel/semaphore.c): SignalState is the count, 0..Limit. */
typedef struct _KSEMAPHORE {
    DISPATCHER_HEADER Header;
    LONG Limit;
} KSEMAPHORE, *PKSEMAPHORE, *PRKSEMAPHORE;

/* Priority increments a signaller passes to the woken thread (wdm.h). */
#define IO_NO_INCREMENT       0
#define EVENT_INCREMENT       1
#define MUTANT_INCREMENT      1
#define SEMAPHORE_INCREMENT   1
#define IO_KEYBOARD_INCREMENT 6
#define IO_SERIAL_INCREMENT   2

struct _KTHREAD;
typedef struct _KWAIT_BLOCK {
    LIST_ENTRY WaitListEntry;   /* in the object's WaitListHead */
    struct _KTHREAD *Thread;
    PVOID Object;
    struct _KWAIT_BLOCK *NextWaitBlock; /* circular list of the thread's blocks */
    USHORT WaitKey;             /* index: STATUS_WAIT_0 + WaitKey when satisfied */
    UCHAR WaitType;             /* WaitAny / WaitAll */
    UCHAR Reserved;
} KWAIT_BLOCK, *PKWAIT_BLOCK;

#define THREAD_WAIT_OBJECTS 3   /* wait blocks built into every thread */
#define MAXIMUM_WAIT_OBJECTS 64

/* ------------------------------------------------------------------------
 * DPCs and timers (kernel/dpc.c, kernel/timer.c)
 * ------------------------------------------------------------------------ */
struct _KDPC;
typedef void (*PKDEFERRED_ROUTINE)(struct _KDPC *Dpc, PVOID DeferredContext,
                                   PVOID SystemArgument1, PVOID SystemArgument2);

/* KeSetImportanceDpc: where on the queue a DPC goes (NT's values).
 * HighImportance: at the head; the others: at the tail. */
typedef enum _KDPC_IMPORTANCE {
    LowImportance = 0,
    MediumImportance = 1,
    HighImportance = 2,
    MediumHighImportance = 3,
} KDPC_IMPORTANCE;

typedef struct _KDPC {
    UCHAR Type;
    UCHAR Importance; /* a KDPC_IMPORTANCE */
    volatile USHORT Number; /* 0: the processor that queues it; KE_MAXIMUM_PROCESSORS + n:
                                 * processor n (KeSetTargetProcessorDpc) */
    LIST_ENTRY DpcListEntry;
    PKDEFERRED_ROUTINE DeferredRoutine;
    PVOID DeferredContext;
    PVOID SystemArgument1;
    PVOID SystemArgument2;
    /* The KPRCB whose DPC queue holds it, or NULL when it is not queued
     * (NT's DpcData). Set by compare-exchange under that queue's DpcLock,
     * cleared under the same lock (kernel/dpc.c). */
    PVOID volatile DpcData;
} KDPC, *PKDPC, *PRKDPC;

void KeInitializeDpc(PKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext);
/* Queue the DPC (TRUE) unless it is queued already, on any processor's
 * queue (FALSE). Any IRQL. */
BOOLEAN KeInsertQueueDpc(PKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2);
/* Take a queued DPC off its queue (TRUE) or say it was not queued. */
BOOLEAN KeRemoveQueueDpc(PKDPC Dpc);
/* Run Dpc on processor Number from now on (its queue, drained there at
 * DISPATCH_LEVEL; another processor is sent an IPI). Number must be a
 * started processor's. Not while Dpc is queued. */
void KeSetTargetProcessorDpc(PKDPC Dpc, CHAR Number);
/* Set where Dpc goes on its queue (KDPC_IMPORTANCE). Not while queued. */
void KeSetImportanceDpc(PKDPC Dpc, KDPC_IMPORTANCE Importance);

typedef struct _KTIMER {
    DISPATCHER_HEADER Header;   /* waitable: signalled when it expires */
    ULONG64 DueTime;            /* interrupt time (100 ns units) of expiry */
    LIST_ENTRY TimerListEntry;  /* in the timer list, sorted by DueTime */
    PKDPC Dpc;                  /* queued on expiry, or NULL */
    LONG Period;                /* milliseconds; 0: one-shot */
    BOOLEAN Inserted;
} KTIMER, *PKTIMER, *PRKTIMER;

void KeInitializeTimer(PKTIMER Timer);
void KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type);
/* DueTime: negative = relative, positive = absolute interrupt time, both in
 * 100 ns units. Returns TRUE when the timer was already set (and is reset). */
BOOLEAN KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc);
BOOLEAN KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc);
BOOLEAN KeCancelTimer(PKTIMER Timer);
BOOLEAN KeReadStateTimer(PKTIMER Timer);

/* Ticks of the clock interrupt since boot, and the time since boot in
 * 100 ns units (also published in the shared user data page). */
ULONG64 KeQueryTickCount(void);
ULONG64 KeQueryInterruptTime(void);
/* Length of a clock tick, 100 ns units. */
ULONG KeQueryTimeIncrement(void);

/* ------------------------------------------------------------------------
 * Events and waits (kernel/event.c, kernel/wait.c)
 * ------------------------------------------------------------------------ */
void KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State);
/* Signal; returns the previous state. Wait = TRUE (also for KePulseEvent,
 * KeReleaseMutex, KeReleaseSemaphore): returns at DISPATCH_LEVEL holding
 * the dispatcher lock, and the caller's next call must be a KeWaitXxx,
 * which takes the lock over: the signal and the wait are one atomic step
 * (NT's contract; kernel/ki.h KiEndSignal). */
LONG KeSetEvent(PRKEVENT Event, LONG Increment, BOOLEAN Wait);
LONG KeResetEvent(PRKEVENT Event);
void KeClearEvent(PRKEVENT Event);
LONG KeReadStateEvent(PRKEVENT Event);
LONG KePulseEvent(PRKEVENT Event, LONG Increment, BOOLEAN Wait);

/*
 * Wait until Object is signalled or Timeout passes (NULL: for ever; 0:
 * poll; negative: relative; 100 ns units). Returns STATUS_SUCCESS,
 * STATUS_TIMEOUT. IRQL <= APC_LEVEL, or DISPATCH_LEVEL with a zero timeout
 * (anything else is bugcheck IRQL_NOT_LESS_OR_EQUAL).
 */
NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                               BOOLEAN Alertable, PLARGE_INTEGER Timeout);
/* WaitAny: STATUS_WAIT_0 + index of the object that satisfied it. WaitAll:
 * STATUS_SUCCESS when all were signalled at once. More than
 * THREAD_WAIT_OBJECTS objects need WaitBlockArray. */
NTSTATUS KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                  KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                  BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                  PKWAIT_BLOCK WaitBlockArray);

/* ------------------------------------------------------------------------
 * Spin locks and fast mutexes (kernel/lock.c)
 * ------------------------------------------------------------------------ */
typedef ULONG_PTR KSPIN_LOCK, *PKSPIN_LOCK;
void KeInitializeSpinLock(PKSPIN_LOCK SpinLock);

/* The bugchecks of the inline routines below (kernel/lock.c). */
void KiSpinLockAlreadyOwned(PKSPIN_LOCK SpinLock, KSPIN_LOCK Holder) __attribute__((noreturn));
void KiSpinLockNotOwned(PKSPIN_LOCK SpinLock) __attribute__((noreturn));

#ifdef PAGODA_LOADABLE_DRIVER
/*
 * A loadable driver (.sys, compiled with PAGODA_LOADABLE_DRIVER) calls the
 * spin-lock routines instead of inlining them (and the IRQL routines, see
 * above), as NT's drivers import
 * KeAcquireSpinLockRaiseToDpc and the others: the loader binds them to the
 * kernel's copies (kernel/lock.c), or, under Driver Verifier's IRQL
 * checking, to checking versions (kernel/vfirql.c, docs/verifier.md).
 * Their contracts are the inline routines' below.
 */
KIRQL KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock);
void KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql);
void KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
void KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock);
#define KeAcquireSpinLock(SpinLock, OldIrql) (*(OldIrql) = KeAcquireSpinLockRaiseToDpc(SpinLock))
#else

/*
 * Who takes a spin lock, as its lock word shows it: the current thread
 * (gs:8, the KPCR's CurrentThread) | 1, or, on a processor that runs no
 * thread (an application processor; the boot processor before its first
 * thread), that processor's KPCR (gs:0) | 1. A thread holding a spin lock
 * runs at DISPATCH_LEVEL or above and so cannot move to another processor:
 * the same owner value seen again means "this processor, again".
 */
static inline KSPIN_LOCK KiSpinLockOwner(void)
{
    KSPIN_LOCK Owner;
    __asm__ volatile("mov %%gs:8, %0" : "=r"(Owner));
    if (Owner == 0)
        __asm__ volatile("mov %%gs:0, %0" : "=r"(Owner));
    return Owner | 1;
}

/* The slow path (kernel/lock.c): spin until the lock word reads 0, then
 * try again; the holder being Owner itself is SPIN_LOCK_ALREADY_OWNED. */
void KiAcquireSpinLockContended(PKSPIN_LOCK SpinLock, KSPIN_LOCK Owner);

/*
 * Take SpinLock without changing the IRQL (the caller is at DISPATCH_LEVEL
 * or above). The lock word becomes KiSpinLockOwner(). A free lock is one
 * compare-exchange; a taken one is the spin of KiAcquireSpinLockContended
 * (test-and-test-and-set with pause) while another processor holds it, and
 * bugcheck SPIN_LOCK_ALREADY_OWNED when this very owner does (it would
 * spin for ever). kernel/lock.c explains the two steps of a spin lock.
 */
static inline void KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    KSPIN_LOCK Owner = KiSpinLockOwner();
    KSPIN_LOCK Expected = 0;
    if (!__atomic_compare_exchange_n(SpinLock, &Expected, Owner, FALSE, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        KiAcquireSpinLockContended(SpinLock, Owner);
}

/* Release SpinLock, staying at DISPATCH_LEVEL; releasing a free lock is
 * bugcheck SPIN_LOCK_NOT_OWNED. */
static inline void KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
    if (*(volatile KSPIN_LOCK *)SpinLock == 0)
        KiSpinLockNotOwned(SpinLock);
    __atomic_store_n(SpinLock, 0, __ATOMIC_RELEASE);
}

/* Raise to DISPATCH_LEVEL (from at most DISPATCH_LEVEL), saving the old
 * IRQL in *OldIrql, and take SpinLock. */
static inline void KeAcquireSpinLock(PKSPIN_LOCK SpinLock, PKIRQL OldIrql)
{
    KeRaiseIrql(DISPATCH_LEVEL, OldIrql);
    KeAcquireSpinLockAtDpcLevel(SpinLock);
}

/* Release SpinLock and lower the IRQL to NewIrql (KeAcquireSpinLock's). */
static inline void KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
    KeReleaseSpinLockFromDpcLevel(SpinLock);
    KeLowerIrql(NewIrql);
}

/* The out-of-line copies a loadable driver imports under the names above
 * (io/ldrexp.c; kernel/lock.c). */
KIRQL KiExportAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock);
void KiExportReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql);
void KiExportAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
void KiExportReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock);

/* Driver Verifier's IRQL-checking versions of the four (kernel/vfirql.c),
 * bound instead of them when VERIFIER_FORCE_IRQL_CHECKING is on. */
KIRQL VfAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock);
void VfReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql);
void VfAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
void VfReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock);
#endif /* PAGODA_LOADABLE_DRIVER */

/*
 * Take SpinLock if it is free, without spinning: TRUE when taken (release
 * it with KeReleaseSpinLockFromDpcLevel), FALSE when somebody holds it.
 * DISPATCH_LEVEL or above.
 */
BOOLEAN KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);

/*
 * In-stack queued spin locks (kernel/lock.c): an MCS queue. The lock word
 * of a KSPIN_LOCK used this way points to the last waiter's
 * KSPIN_LOCK_QUEUE (0: free); each waiter spins on a flag in its own
 * entry, which lives in the KLOCK_QUEUE_HANDLE on its stack, and the
 * holder hands the lock to the next waiter in arrival order. A lock is
 * used either queued or plain, never both. LOCK_QUEUE_WAIT and
 * LOCK_QUEUE_OWNER are NT's bits in KSPIN_LOCK_QUEUE.Lock.
 */
#define LOCK_QUEUE_WAIT 1
#define LOCK_QUEUE_OWNER 2
typedef struct _KSPIN_LOCK_QUEUE {
    struct _KSPIN_LOCK_QUEUE *volatile Next; /* the next waiter, set by it */
    PKSPIN_LOCK volatile Lock; /* the lock | LOCK_QUEUE_WAIT while waiting | OWNER once held */
} KSPIN_LOCK_QUEUE, *PKSPIN_LOCK_QUEUE;

typedef struct _KLOCK_QUEUE_HANDLE {
    KSPIN_LOCK_QUEUE LockQueue;
    KIRQL OldIrql;
} KLOCK_QUEUE_HANDLE, *PKLOCK_QUEUE_HANDLE;

/* Raise to DISPATCH_LEVEL (from at most DISPATCH_LEVEL), keep the old IRQL
 * in LockHandle, and queue for SpinLock; returns holding it. LockHandle is
 * the caller's (on its stack) until the release. */
void KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle);
/* Hand the lock to the next waiter (or free it) and lower to the IRQL the
 * acquire kept. Releasing a free lock is SPIN_LOCK_NOT_OWNED. */
void KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle);
/* The same without the IRQL change; DISPATCH_LEVEL or above. */
void KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle);
void KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle);

typedef struct _FAST_MUTEX {
    LONG Count;                 /* 1: free */
    struct _KTHREAD *Owner;
    ULONG Contention;
    KEVENT Event;               /* synchronization event the losers wait on */
    KIRQL OldIrql;
} FAST_MUTEX, *PFAST_MUTEX;
void ExInitializeFastMutex(PFAST_MUTEX FastMutex);
void ExAcquireFastMutex(PFAST_MUTEX FastMutex);   /* raises to APC_LEVEL */
void ExReleaseFastMutex(PFAST_MUTEX FastMutex);

/* ------------------------------------------------------------------------
 * Interrupt objects (kernel/interrupt.c; drivers use IoConnectInterrupt)
 * ------------------------------------------------------------------------ */

/* How the device signals: LevelSensitive (PCI: the line stays asserted
 * until the device is serviced; the chain walk stops at the first routine
 * that claims it) or Latched (ISA edge: every routine on the vector runs). */
typedef enum _KINTERRUPT_MODE {
    LevelSensitive = 0,
    Latched = 1,
} KINTERRUPT_MODE;

struct _KINTERRUPT;
/* An interrupt service routine: TRUE when its device interrupted (claimed). */
typedef BOOLEAN (*PKSERVICE_ROUTINE)(struct _KINTERRUPT *Interrupt, PVOID ServiceContext);
typedef BOOLEAN (*PKSYNCHRONIZE_ROUTINE)(PVOID SynchronizeContext);

/*
 * KINTERRUPT: one device's connection to an interrupt vector. Connected
 * objects of a vector form a chain (InterruptListEntry), changed only with
 * interrupts disabled and walked by the interrupt dispatcher, so two
 * devices can share a line. The service routine runs at Irql (= Vector >>
 * 4, the device IRQL) or SynchronizeIrql when higher, holding *ActualLock;
 * KeSynchronizeExecution takes the same IRQL and lock, so code in a thread
 * or DPC can touch what the ISR touches.
 */
typedef struct _KINTERRUPT {
    SHORT Type; /* KI_INTERRUPT_OBJECT */
    SHORT Size;
    LIST_ENTRY InterruptListEntry; /* the vector's chain (interrupts off to change) */
    PKSERVICE_ROUTINE ServiceRoutine;
    PVOID ServiceContext;
    KSPIN_LOCK SpinLock; /* the lock when the connector gave none */
    PKSPIN_LOCK ActualLock; /* &SpinLock, or a lock shared by several objects */
    ULONG Vector;
    KIRQL Irql; /* the device IRQL: Vector >> 4 */
    KIRQL SynchronizeIrql; /* >= Irql: where the ISR and KeSynchronizeExecution run */
    BOOLEAN ShareVector;
    BOOLEAN Connected;
    KINTERRUPT_MODE Mode;
    volatile ULONG64 InterruptCount; /* Pagoda: times the ISR was called */
    volatile ULONG64 ServiceCount; /* ... and returned TRUE */
} KINTERRUPT, *PKINTERRUPT;

#define KI_INTERRUPT_OBJECT 22 /* NT's InterruptObject type number */
/* The vectors a device may be connected to: IRQL 3 (0x30) to 12 (0xCF). */
#define KE_FIRST_DEVICE_VECTOR 0x30
#define KE_LAST_DEVICE_VECTOR 0xCF

/*
 * Fill in Interrupt (not yet connected). SpinLock NULL: the object's own
 * lock. Irql must be Vector >> 4 and SynchronizeIrql >= Irql (checked at
 * connection). ProcessorNumber and FloatingSave are accepted (one
 * processor; kernel code uses no FPU). Any IRQL; nonpaged memory.
 */
void KeInitializeInterrupt(PKINTERRUPT Interrupt, PKSERVICE_ROUTINE ServiceRoutine,
                           PVOID ServiceContext, PKSPIN_LOCK SpinLock, ULONG Vector, KIRQL Irql,
                           KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                           BOOLEAN ShareVector, CHAR ProcessorNumber, BOOLEAN FloatingSave);

/*
 * Put Interrupt on its vector's chain; the first object on a vector
 * unmasks the vector's IO-APIC line, if the HAL gave it one
 * (HalEnableSystemInterrupt). FALSE when already connected, the vector is
 * outside KE_FIRST/LAST_DEVICE_VECTOR, Irql is not Vector >> 4,
 * SynchronizeIrql < Irql, or the vector has objects and either side does
 * not share or the modes differ. IRQL <= DISPATCH_LEVEL.
 */
BOOLEAN KeConnectInterrupt(PKINTERRUPT Interrupt);

/* Take Interrupt off its chain (the last one masks the line); once this
 * returns its routine is not running and will not run again. FALSE when
 * it was not connected. IRQL <= DISPATCH_LEVEL. */
BOOLEAN KeDisconnectInterrupt(PKINTERRUPT Interrupt);

/* Run Routine(Context) at Interrupt's SynchronizeIrql holding its lock, as
 * its ISR runs, and return what Routine returns. IRQL <= SynchronizeIrql. */
BOOLEAN KeSynchronizeExecution(PKINTERRUPT Interrupt, PKSYNCHRONIZE_ROUTINE SynchronizeRoutine,
                               PVOID SynchronizeContext);

/* One line of the interrupt table (the shell's irq command, through
 * NtQuerySystemInformation): a connected object, or a vector's interrupts
 * that nobody claimed (Object NULL), or the clock. */
typedef struct _KE_INTERRUPT_SNAPSHOT {
    PKINTERRUPT Object;
    PVOID ServiceRoutine;
    ULONG Vector;
    KIRQL Irql;
    KIRQL SynchronizeIrql;
    BOOLEAN ShareVector;
    KINTERRUPT_MODE Mode;
    ULONG64 InterruptCount;
    ULONG64 ServiceCount;
} KE_INTERRUPT_SNAPSHOT;

/* Copy at most Maximum lines into Lines; returns how many lines exist (may
 * be more than Maximum). Any IRQL <= DISPATCH_LEVEL. */
ULONG KeQueryInterrupts(KE_INTERRUPT_SNAPSHOT *Lines, ULONG Maximum);

/* ------------------------------------------------------------------------
 * APCs (kernel/apc.c)
 * ------------------------------------------------------------------------ */
struct _KAPC;
typedef void (*PKNORMAL_ROUTINE)(PVOID NormalContext, PVOID SystemArgument1,
                                 PVOID SystemArgument2);
typedef void (*PKKERNEL_ROUTINE)(struct _KAPC *Apc, PKNORMAL_ROUTINE *NormalRoutine,
                                 PVOID *NormalContext, PVOID *SystemArgument1,
                                 PVOID *SystemArgument2);
typedef void (*PKRUNDOWN_ROUTINE)(struct _KAPC *Apc);

/* Which of a thread's APC states an APC is queued to (KeInitializeApc). */
typedef enum _KAPC_ENVIRONMENT {
    OriginalApcEnvironment = 0,     /* the thread's own process */
    AttachedApcEnvironment = 1,     /* the process it is attached to */
    CurrentApcEnvironment = 2,      /* whichever is current at KeInitializeApc */
    InsertApcEnvironment = 3,       /* whichever is current at KeInsertQueueApc */
} KAPC_ENVIRONMENT;

typedef struct _KAPC {
    UCHAR Type;                     /* ApcObject */
    UCHAR ApcStateIndex;            /* KAPC_ENVIRONMENT, resolved */
    KPROCESSOR_MODE ApcMode;        /* KernelMode or UserMode queue */
    BOOLEAN Inserted;               /* on a queue now */
    struct _KTHREAD *Thread;
    LIST_ENTRY ApcListEntry;
    PKKERNEL_ROUTINE KernelRoutine; /* runs first, at APC_LEVEL; may free the KAPC */
    PKRUNDOWN_ROUTINE RundownRoutine; /* the thread ended with the APC still queued */
    PKNORMAL_ROUTINE NormalRoutine; /* NULL: a special kernel APC */
    PVOID NormalContext;
    PVOID SystemArgument1;
    PVOID SystemArgument2;
} KAPC, *PKAPC, *PRKAPC;

/* A thread's APC queues for one process environment. */
typedef struct _KAPC_STATE {
    LIST_ENTRY ApcListHead[2];      /* [KernelMode], [UserMode] */
    struct _KPROCESS *Process;      /* the environment's process */
    BOOLEAN KernelApcInProgress;    /* a normal kernel APC's routine runs now */
    BOOLEAN KernelApcPending;       /* a kernel APC was queued, not yet looked at */
    BOOLEAN UserApcPending;         /* deliver a user APC on the way to user mode */
    UCHAR Reserved;
} KAPC_STATE, *PKAPC_STATE, *PRKAPC_STATE;

/* ------------------------------------------------------------------------
 * Threads and processes: the kernel's part (kernel/sched.c, the scheduler;
 * kernel/thrdobj.c, a thread's life). EPROCESS and ETHREAD, which begin
 * with these, are the process manager's (ps/ps.h).
 * ------------------------------------------------------------------------ */
typedef enum _KTHREAD_STATE {
    Initialized = 0, Ready = 1, Running = 2, Standby = 3, Terminated = 4, Waiting = 5,
} KTHREAD_STATE;

#define LOW_PRIORITY 0
#define LOW_REALTIME_PRIORITY 16
#define HIGH_PRIORITY 31
#define MAXIMUM_PRIORITY 32
typedef LONG KPRIORITY;

/* Locks, field by field: "dispatcher" is the dispatcher lock, a spin
 * lock taken at DISPATCH_LEVEL (kernel/ki.h); "creation"
 * means set before the object is visible to any other thread, read-only
 * afterwards; "switch" means written by the context switch
 * (kernel/sched.c), at DISPATCH_LEVEL with interrupts disabled. */
typedef struct _KPROCESS {
    DISPATCHER_HEADER Header;   /* signalled when the last thread ends. Dispatcher */
    ULONG64 DirectoryTableBase; /* CR3 of its address space. Creation */
    struct _MMADDRESS_SPACE *AddressSpace; /* creation; cleared under Ps's process
                                 * lock by the rundown (ps/kill.c) */
    LIST_ENTRY ThreadListHead;  /* its threads' ThreadListEntry. Dispatcher */
    ULONG ThreadCount;          /* threads not yet terminated. Dispatcher */
    KPRIORITY BasePriority;     /* creation */
    PVOID UserApcDispatcher;    /* user-mode entry of user APCs
                                 * (NtRegisterUserApcDispatcher). Its threads */
} KPROCESS, *PKPROCESS, *PRKPROCESS;

typedef void (*PKSTART_ROUTINE)(PVOID StartContext);

typedef struct _KTHREAD {
    DISPATCHER_HEADER Header;   /* signalled when the thread ends. Dispatcher */
    PVOID KernelStack;          /* saved RSP while not running. Switch */
    PVOID StackBase;            /* top of the kernel stack (highest address). Creation */
    PVOID StackLimit;           /* lowest usable address; the guard page is below. Creation */
    PKPROCESS Process;          /* creation */
    UCHAR State;                /* KTHREAD_STATE. Dispatcher */
    UCHAR WaitReason;           /* dispatcher (set by the thread as it waits) */
    KPROCESSOR_MODE WaitMode;   /* dispatcher (likewise) */
    BOOLEAN Alertable;          /* dispatcher (likewise) */
    KPRIORITY Priority;         /* dispatcher */
    KPRIORITY BasePriority;     /* dispatcher */
    LONG Quantum;               /* clock ticks left. Dispatcher (the clock interrupt
                                 * counts it down at CLOCK_LEVEL, above it) */
    LIST_ENTRY WaitListEntry;   /* ready queue link. Dispatcher */
    LIST_ENTRY ThreadListEntry; /* in Process->ThreadListHead. Dispatcher */
    PKSTART_ROUTINE SystemRoutine; /* its first run calls SystemRoutine(StartContext).
                                 * Creation */
    PVOID StartContext;         /* creation */
    NTSTATUS WaitStatus;        /* what the wait returns. Dispatcher */
    PKWAIT_BLOCK WaitBlockList; /* dispatcher */
    KWAIT_BLOCK WaitBlock[THREAD_WAIT_OBJECTS + 1]; /* the last one: the timeout. Dispatcher */
    KTIMER Timer;               /* the wait timeout. Dispatcher */
    struct _MMADDRESS_SPACE *AddressSpace; /* CR3 to run with: its process's, or attached.
                                 * Switch (saved from MmCurrentAddressSpace) */
    ULONG64 ContextSwitches;    /* switch */
    ULONG64 WaitTick;           /* tick count when it last waited. Dispatcher */
    KIRQL WaitIrql; /* the IRQL its current wait returns to; with WaitNext,
                                 * the IRQL the signal was called at. Dispatcher */
    BOOLEAN WaitNext; /* a signal with Wait = TRUE returned holding the
                                 * dispatcher lock for its next KeWaitXxx. The thread
                                 * itself, under the dispatcher lock */
    BOOLEAN ApcQueueable;       /* FALSE once it ends: KeInsertQueueApc refuses. Dispatcher */
    BOOLEAN Alerted[2];         /* [KernelMode], [UserMode]: NtAlertThread. Dispatcher */
    UCHAR ApcStateIndex;        /* which ApcStatePointer is current (0, or 1 attached).
                                 * Dispatcher */
    UCHAR ContextRestored;      /* NtContinue rewrote the trap frame: leave by IRETQ.
                                 * The thread itself */
    SHORT KernelApcDisable;     /* < 0: in a critical region (normal kernel APCs held).
                                 * The thread itself, or the dispatcher lock */
    SHORT SpecialApcDisable;    /* < 0: in a guarded region (every kernel APC held).
                                 * The thread itself */
    KAPC_STATE ApcState;        /* the current environment's queues. Dispatcher */
    KAPC_STATE SavedApcState;   /* the original environment's while attached. Dispatcher */
    PKAPC_STATE ApcStatePointer[2]; /* [Original], [Attached] environment. Dispatcher */
    LIST_ENTRY MutantListHead;  /* KMUTANTs it owns. Dispatcher */
    KAPC TerminateApc;          /* the exit APC (KeAlertThreadForTermination). Dispatcher */
    UCHAR FxSaveArea[512] __attribute__((aligned(16))); /* FXSAVE image (x87/SSE). Switch */
} KTHREAD, *PKTHREAD, *PRKTHREAD;

PKTHREAD KeGetCurrentThread(void);

/*
 * Set up Thread of Process (kernel/thrdobj.c), as NT's KeInitThread: its
 * kernel stack is [StackLimit, StackBase), its priority Priority, and its
 * first run, at PASSIVE_LEVEL with interrupts enabled, calls
 * SystemRoutine(StartContext), which must not return (it ends the thread
 * with KeTerminateThread, through Ps). SystemRoutine NULL: the caller is
 * already running on that stack (the boot thread) and no first run is
 * prepared. The thread is Initialized and on no list. Any IRQL.
 */
void KeInitThread(PKTHREAD Thread, PKPROCESS Process, PVOID StackBase, PVOID StackLimit,
                  KPRIORITY Priority, PKSTART_ROUTINE SystemRoutine, PVOID StartContext);
/* Add an Initialized thread to its process's thread list (ThreadCount + 1),
 * as NT's KeStartThread. IRQL <= DISPATCH_LEVEL; takes the dispatcher lock. */
void KeStartThread(PKTHREAD Thread);
/* Put an Initialized thread on the ready queues; it preempts the caller if
 * it outranks it, once the IRQL drops below DISPATCH_LEVEL.
 * IRQL <= DISPATCH_LEVEL; takes the dispatcher lock. */
void KeReadyThread(PKTHREAD Thread);
/* Boot: BootThread is the code running now, IdleThread runs when nothing
 * else is ready (never on a ready queue). Once, interrupts disabled. */
void KeInitializeScheduler(PKTHREAD BootThread, PKTHREAD IdleThread);

/*
 * Leave for ring 3 for the first time: RIP = Entry, RDI = Parameter, RSP =
 * StackPointer, interrupts enabled in user mode. A thread already told to
 * end (Ps's ETHREAD.Terminating) ends here instead. Never returns: from
 * then on the thread comes back to the kernel only through system calls,
 * interrupts and exceptions. PASSIVE_LEVEL.
 */
__attribute__((noreturn)) void KeEnterUserMode(ULONG_PTR Entry, ULONG_PTR Parameter,
                                               ULONG_PTR StackPointer);

/*
 * Thread has been told to end (the caller, Ps, has marked it): queue it
 * the exit APC, NT's way (kernel/thrdobj.c). The APC runs in Thread
 * itself, outside any critical region: inside its wait if it waits (the
 * wait then ends with STATUS_USER_APC if it is a user-mode one, so the
 * system service unwinds), or as soon as it next runs. Thread leaves at
 * its next return toward user mode (KiCheckUserReturn). Returns TRUE when
 * the APC was queued, FALSE when it is queued already or Thread ends
 * anyway. IRQL <= DISPATCH_LEVEL; takes the dispatcher lock.
 */
BOOLEAN KeAlertThreadForTermination(PKTHREAD Thread);

/*
 * End the calling thread, as NT's KeTerminateThread: it leaves its
 * process's thread list, its object is signalled (waiters wake), and when
 * it was the process's last thread the process object is signalled too.
 * It switches away for good; right after, the scheduler hands it to
 * PsInsertDeadThread. Ps has recorded the exit status and released what
 * needs PASSIVE_LEVEL first. IRQL <= DISPATCH_LEVEL. Never returns.
 */
__attribute__((noreturn)) void KeTerminateThread(void);
#define PsGetCurrentThread() ((PETHREAD)KeGetCurrentThread())
/* Set Thread's base and current priority (no boost left). Returns the
 * previous current priority. IRQL <= DISPATCH_LEVEL. */
KPRIORITY KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority);
/* Thread's current (possibly boosted) priority. */
KPRIORITY KeQueryPriorityThread(PKTHREAD Thread);
/* Sleep: Interval negative = relative, 100 ns units. */
NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                PLARGE_INTEGER Interval);
/* Give the processor to another ready thread of the same priority. */
NTSTATUS ZwYieldExecution(void);

/* The idle thread's halt: wait for an interrupt with interrupts enabled,
 * and add the TSC ticks spent halted (and in clock ticks that woke it for
 * nothing) to KUSER_SHARED_DATA.IdleHaltCycles, so that benchmarks under
 * -icount can leave out the idle time QEMU skips. The idle thread only. */
void KeIdleHalt(void);

/* Scheduler counters, for tests and the shell. */
typedef struct _KE_SCHEDULER_COUNTERS {
    ULONG64 ContextSwitches;
    ULONG64 Cr3Switches;        /* switches that wrote CR3 (another process) */
    ULONG64 SameProcessSwitches;/* switches that did not */
    ULONG64 QuantumEnds;
    ULONG64 ClockInterrupts;
    ULONG64 DpcsRun;
    ULONG64 Interrupts;
} KE_SCHEDULER_COUNTERS;
extern volatile KE_SCHEDULER_COUNTERS KeSchedulerCounters;

/* ------------------------------------------------------------------------
 * Mutants and semaphores (kernel/mutant.c, kernel/semaphore.c)
 * ------------------------------------------------------------------------ */
/* A kernel mutex: free, and its owner runs in a critical region (normal
 * kernel APCs held) while it owns it. Level is accepted and ignored. */
void KeInitializeMutex(PRKMUTEX Mutex, ULONG Level);
/* A mutant (the object behind NtCreateMutant): owned by the caller when
 * InitialOwner is TRUE. No critical region. */
void KeInitializeMutant(PRKMUTANT Mutant, BOOLEAN InitialOwner);
/* Release a kernel mutex the current thread owns; returns the previous
 * signal state. A release by a thread that does not own it is bugcheck
 * THREAD_NOT_MUTEX_OWNER. Wait = TRUE as for KeSetEvent. IRQL <=
 * DISPATCH_LEVEL. */
LONG KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait);
/*
 * Release a mutant once (Abandon FALSE; the caller must own it) or abandon
 * it whoever owns it (Abandon TRUE). *PreviousState (may be NULL) gets the
 * signal state before. Returns STATUS_SUCCESS or STATUS_MUTANT_NOT_OWNED
 * (nothing changes). Where NT raises an exception Pagoda returns the
 * status. IRQL <= DISPATCH_LEVEL.
 */
NTSTATUS KeReleaseMutant(PRKMUTANT Mutant, KPRIORITY Increment, BOOLEAN Abandon,
                         PLONG PreviousState);
LONG KeReadStateMutex(PRKMUTEX Mutex);

/* A semaphore with Count (0..Limit) free units. */
void KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit);
/* Add Adjustment (> 0) units and wake that many waiters; returns the
 * previous count. Exceeding Limit is what NT raises as an exception
 * (STATUS_SEMAPHORE_LIMIT_EXCEEDED): with no handler in the kernel it is
 * bugcheck KMODE_EXCEPTION_NOT_HANDLED (that status, caller). Wait = TRUE
 * as for KeSetEvent. IRQL <= DISPATCH_LEVEL. */
LONG KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment,
                        BOOLEAN Wait);
/* KeReleaseSemaphore for callers that catch the limit (NtReleaseSemaphore):
 * STATUS_SEMAPHORE_LIMIT_EXCEEDED and nothing changes, or STATUS_SUCCESS
 * with the previous count in *PreviousCount (may be NULL). */
NTSTATUS KeReleaseSemaphoreChecked(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment,
                                   PLONG PreviousCount);
LONG KeReadStateSemaphore(PRKSEMAPHORE Semaphore);

/* ------------------------------------------------------------------------
 * APC routines (kernel/apc.c)
 * ------------------------------------------------------------------------ */
/*
 * Describe an APC for Thread: KernelRoutine runs at APC_LEVEL when it is
 * delivered (and may change the normal routine and arguments, or free the
 * KAPC); then NormalRoutine, if any, at PASSIVE_LEVEL (ApcMode KernelMode)
 * or in user mode (ApcMode UserMode). NormalRoutine NULL makes a special
 * kernel APC. RundownRoutine (may be NULL) is called instead if the thread
 * ends with the APC queued. Any IRQL; the KAPC in nonpaged memory.
 */
void KeInitializeApc(PRKAPC Apc, PKTHREAD Thread, KAPC_ENVIRONMENT Environment,
                     PKKERNEL_ROUTINE KernelRoutine, PKRUNDOWN_ROUTINE RundownRoutine,
                     PKNORMAL_ROUTINE NormalRoutine, KPROCESSOR_MODE ApcMode,
                     PVOID NormalContext);
/*
 * Queue Apc to its thread with the two system arguments. Returns FALSE if
 * it is queued already or the thread is ending (nothing queued). A kernel
 * APC for the current thread runs when its IRQL drops below APC_LEVEL; a
 * waiting thread (wait entered at PASSIVE_LEVEL) runs it inside its wait,
 * which then goes on. A user APC wakes an alertable user-mode wait with
 * STATUS_USER_APC. Increment boosts a thread so woken. IRQL <=
 * DISPATCH_LEVEL.
 */
BOOLEAN KeInsertQueueApc(PRKAPC Apc, PVOID SystemArgument1, PVOID SystemArgument2,
                         KPRIORITY Increment);
/* Take a queued APC off its queue: TRUE if it was queued. IRQL <=
 * DISPATCH_LEVEL. */
BOOLEAN KeRemoveQueueApc(PRKAPC Apc);

/* Critical region: normal kernel APCs held until the matching Leave,
 * which delivers what was held. Guarded region: every kernel APC held.
 * They nest. IRQL <= APC_LEVEL. */
void KeEnterCriticalRegion(void);
void KeLeaveCriticalRegion(void);
void KeEnterGuardedRegion(void);
void KeLeaveGuardedRegion(void);
BOOLEAN KeAreApcsDisabled(void);     /* in a critical or guarded region */
BOOLEAN KeAreAllApcsDisabled(void);  /* in a guarded region or at APC_LEVEL or above */

/* Is a user APC queued for the current thread? Then mark it for delivery
 * on the way back to user mode (NtTestAlert); also clears the thread's
 * user-mode alert. IRQL PASSIVE_LEVEL. */
BOOLEAN KeTestAlertThread(KPROCESSOR_MODE AlertMode);
/* The current thread's current or next user-mode wait ends with
 * STATUS_USER_APC, alertable or not, and the way back to user mode looks
 * at its user APC queue: how the exit APC (kernel/thrdobj.c) makes a system
 * service unwind, as NT's does. IRQL <= APC_LEVEL. */
void KeForceUserApcPending(void);
/* Alert Thread: an alertable wait in AlertMode ends with STATUS_ALERTED,
 * or the next one does. Returns the previous alert state. */
BOOLEAN KeAlertThread(PKTHREAD Thread, KPROCESSOR_MODE AlertMode);

/*
 * Attach the current thread to Process's address space, saving its APC
 * state in ApcState: APCs queued for its own process's environment wait
 * until KeUnstackDetachProcess (with the same ApcState) puts it back.
 * Nests. IRQL <= APC_LEVEL.
 */
void KeStackAttachProcess(PRKPROCESS Process, PRKAPC_STATE ApcState);
void KeUnstackDetachProcess(PRKAPC_STATE ApcState);

/* The current thread ends: abandon the mutants it owns (their next waiter
 * gets STATUS_ABANDONED_WAIT_0 + i), refuse further APCs, and run down the
 * ones still queued (their RundownRoutine). KeTerminateThread calls it
 * first. IRQL <= DISPATCH_LEVEL, no lock held. */
void KeRundownThread(void);

/*
 * Capture an optional user-mode timeout for a waiting service (100 ns
 * units; NULL: wait for ever): *Timeout becomes NULL or Captured. The most
 * negative value is nudged by one, because the timer code negates relative
 * times and -LLONG_MIN overflows. STATUS_ACCESS_VIOLATION for a bad
 * pointer. PASSIVE_LEVEL (kernel/kesvc.c).
 */
NTSTATUS KeCaptureUserTimeout(PLARGE_INTEGER UserTimeout, PLARGE_INTEGER Captured,
                              PLARGE_INTEGER *Timeout);

#endif /* PAGODA_KE_H */
