/*
 * ki.h - private to kernel/: CPU structures (GDT, TSS, IDT), the trap frame,
 * and the internal routines of the console, traps and tests.
 */
#ifndef PAGODA_KI_H
#define PAGODA_KI_H

#include "ke.h"
#include "../include/intrin.h"
#include "../hal/hal.h"

/* ------------------------------------------------------------------------
 * Segments. The selectors are the ones 64-bit Windows uses (KGDT64_*), so
 * what a student sees in gdb matches what WinDbg shows on Windows. The
 * order of the user entries is dictated by SYSRET (Intel SDM Vol. 2B,
 * SYSRET): user data must follow the 32-bit user code, user 64-bit code
 * must follow user data.
 * ------------------------------------------------------------------------ */
#define KGDT64_NULL      0x00
#define KGDT64_R0_CODE   0x10
#define KGDT64_R0_DATA   0x18
#define KGDT64_R3_CMCODE 0x20
#define KGDT64_R3_DATA   0x28
#define KGDT64_R3_CODE   0x30
#define KGDT64_SYS_TSS   0x40
#define KGDT64_ENTRIES   12        /* TSS descriptors take two slots */
#define RPL_MASK         3         /* a selector's requested privilege level */

/* Code/data descriptor bits (Intel SDM Vol. 3A, 3.4.5): present, DPL, S=1,
 * type; L (bit 53) for 64-bit code; G and D/B for the 32-bit user code. */
#define SEG_PRESENT   (1ULL << 47)
#define SEG_DPL(n)    ((ULONG64)(n) << 45)
#define SEG_S         (1ULL << 44)
#define SEG_CODE      (0xAULL << 40)  /* execute/read */
#define SEG_DATA      (0x2ULL << 40)  /* read/write */
#define SEG_LONG      (1ULL << 53)
#define SEG_DB        (1ULL << 54)
#define SEG_GRAN      (1ULL << 55)
#define SEG_LIMIT_MAX 0x000F00000000FFFFULL

/* The boot GDT's two descriptors (boot/start.asm): flat 4 GiB ring-0 64-bit
 * code and data, enough to carry the processor into long mode until
 * kernel/cpu.c loads the real GDT. */
#define KI_BOOT_GDT_CODE64 \
    (SEG_PRESENT | SEG_S | SEG_CODE | SEG_LONG | SEG_GRAN | SEG_LIMIT_MAX | SEG_DPL(0))
#define KI_BOOT_GDT_DATA \
    (SEG_PRESENT | SEG_S | SEG_DATA | SEG_DB | SEG_GRAN | SEG_LIMIT_MAX | SEG_DPL(0))

/* ------------------------------------------------------------------------
 * The boot path's memory layout, shared by boot/start.asm, linker.ld (both
 * through kernel/x64/asmdefs.c) and kernel/init.c.
 * ------------------------------------------------------------------------ */
#define KI_KERNEL_LOAD_ADDRESS    0x100000ULL  /* physical: GRUB loads the image at 1 MiB */
#define KI_BOOT_IDENTITY_MAP_SIZE (4ULL << 30) /* the boot page tables identity-map 4 GiB */
#define KI_BOOT_PAGE_SHIFT        21           /* ... with 2 MiB pages (PDE.PS) */
#define KI_BOOT_STACK32_SIZE      PAGE_SIZE    /* the 32-bit code's stack (boot/start.asm) */
#define KI_BOOT_STACK_SIZE        (16 * 1024)  /* KiSystemStartup's stack (kernel/init.c) */

/* Interrupt stack table slots (TSS.IST1..7) for traps that must not run on
 * a possibly broken stack (Intel SDM Vol. 3A, 7.14.5). */
#define KI_IST_DOUBLE_FAULT  1
#define KI_IST_NMI           2
#define KI_IST_MACHINE_CHECK 3
#define KI_IST_STACK_SIZE    (4 * PAGE_SIZE)

/* The 64-bit TSS (Intel SDM Vol. 3A, Figure 9-11). */
typedef struct __attribute__((packed)) _KTSS64 {
    ULONG Reserved0;
    ULONG64 Rsp0;               /* stack for a ring 3 -> ring 0 transition */
    ULONG64 Rsp1;
    ULONG64 Rsp2;
    ULONG64 Ist[8];             /* Ist[1..7]; Ist[0] is the reserved slot at 0x1C */
    ULONG64 Reserved2;
    USHORT Reserved3;
    USHORT IoMapBase;
} KTSS64, *PKTSS64;
STATIC_ASSERT(sizeof(KTSS64) == 104);
STATIC_ASSERT(offsetof(KTSS64, Ist) + 8 == 0x24); /* IST1 at 0x24 */

/* A 64-bit interrupt gate (Intel SDM Vol. 3A, Figure 7-8). */
typedef struct _KIDTENTRY64 {
    USHORT OffsetLow;
    USHORT Selector;
    USHORT IstIndex : 3;
    USHORT Reserved0 : 5;
    USHORT Type : 5;            /* 0xE: interrupt gate (IF cleared on entry) */
    USHORT Dpl : 2;
    USHORT Present : 1;
    USHORT OffsetMiddle;
    ULONG OffsetHigh;
    ULONG Reserved1;
} KIDTENTRY64, *PKIDTENTRY64;
STATIC_ASSERT(sizeof(KIDTENTRY64) == 16);
#define KI_IDT_VECTORS       256   /* the IDT's gates, one stub each (kernel/x64/trap.asm) */
#define KI_EXCEPTION_VECTORS 32    /* 0-31: reserved by Intel for exceptions */
/* The exceptions for which the CPU pushes an error code (Intel SDM Vol. 3A,
 * Table 7-1): #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14, #AC 17,
 * #CP 21, #VC 29, #SX 30. The other stubs push a 0 in its place. */
#define KI_ERROR_CODE_VECTORS                                                              \
    ((1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) | (1u << 14) |          \
     (1u << 17) | (1u << 21) | (1u << 29) | (1u << 30))
/* The "vector" a system call's KTRAP_FRAME carries (kernel/x64/syscall.asm):
 * above every IDT vector, so no interrupt can be mistaken for it. */
#define KI_SYSCALL_VECTOR    0x100

/*
 * The trap frame: what kernel/x64/trap.asm leaves on the stack before it
 * calls KiDispatchTrap. From the top (highest address) down: the frame the
 * CPU pushes (SS, RSP, RFLAGS, CS, RIP), the error code (the CPU's, or 0),
 * the vector number, then the general registers. Keep in step with
 * trap.asm; the STATIC_ASSERTs check the hardware part's position.
 */
typedef struct _KTRAP_FRAME {
    ULONG64 Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rbp;
    ULONG64 R8, R9, R10, R11, R12, R13, R14, R15;
    ULONG64 Vector;
    ULONG64 ErrorCode;
    ULONG64 Rip;                /* pushed by the CPU from here on */
    ULONG64 SegCs;
    ULONG64 EFlags;
    ULONG64 Rsp;
    ULONG64 SegSs;
} KTRAP_FRAME, *PKTRAP_FRAME;
STATIC_ASSERT(offsetof(KTRAP_FRAME, Vector) == 15 * 8);
STATIC_ASSERT(offsetof(KTRAP_FRAME, Rip) == 17 * 8);
STATIC_ASSERT(sizeof(KTRAP_FRAME) == 22 * 8);

/* Exception vectors (Intel SDM Vol. 3A, Table 7-1). */
#define KI_VECTOR_DIVIDE_ERROR       0
#define KI_VECTOR_DEBUG              1
#define KI_VECTOR_NMI                2
#define KI_VECTOR_BREAKPOINT         3
#define KI_VECTOR_INVALID_OPCODE     6
#define KI_VECTOR_DOUBLE_FAULT       8
#define KI_VECTOR_GENERAL_PROTECTION 13
#define KI_VECTOR_PAGE_FAULT         14
#define KI_VECTOR_MACHINE_CHECK      18

/* The page-fault error code bits (PF_*) are in ke.h: mm/ reads them too. */

/* kernel/cpu.c */
void KiInitializeCpu(void);
extern KTSS64 KiTss;
/* One processor's own descriptor tables: a GDT (the same selectors as the
 * boot processor's) and a TSS with its own IST stacks. The IDT is shared. */
typedef struct _KI_PROCESSOR_TABLES {
    ULONG64 Gdt[KGDT64_ENTRIES] __attribute__((aligned(16)));
    KTSS64 Tss __attribute__((aligned(16)));
} KI_PROCESSOR_TABLES, *PKI_PROCESSOR_TABLES;
/* Load Tables (filled here) with IST stack tops IstTops[0..2] (double
 * fault, NMI, machine check), the shared IDT, the protection features of
 * the boot processor, and GS base = Pcr. Interrupts disabled. */
void KiInitializeProcessorTables(PKI_PROCESSOR_TABLES Tables, const ULONG64 IstTops[3], PVOID Pcr);

/* kernel/trap.c */
void KiDispatchTrap(PKTRAP_FRAME TrapFrame);
/* The trap frame of the trap being handled when a bugcheck started (or
 * NULL), so the bugcheck screen shows the faulting registers. */
extern PKTRAP_FRAME KiBugCheckTrapFrame;
void KiDescribePageFaultCode(ULONG64 ErrorCode, char *Buffer, size_t Size);
/* The exception table of kernel/x64/usercopy.asm: the fixup RIP for a
 * faulting instruction at Rip, or 0 when it is not a user-copy instruction.
 * KiDispatchTrap resumes there instead of bugchecking. */
ULONG_PTR KiFindExceptionFixup(ULONG_PTR Rip);
#define EFLAGS_IF (1ULL << 9)       /* interrupts enabled (Intel SDM Vol. 3A, 2.3) */
#define EFLAGS_AC    (1ULL << 18)   /* alignment check / SMAP override (Intel SDM Vol. 3A, 2.3) */

/* ------------------------------------------------------------------------
 * The processor control region (kernel/sched.c): one per processor, its
 * address in GS base (MSR 0xC0000101), so gs:[0] is KPCR.Self and
 * gs:[8] KPCR.CurrentThread. KiPcr is the boot processor's, the only one
 * the scheduler uses; each application processor has its own in its
 * KI_PROCESSOR_BLOCK (kernel/mp.c), at its GS base. Its KPRCB (NT's
 * "processor control block", the part other processors look at) is
 * embedded at the end; KiProcessorBlock[n] points to processor n's.
 * ------------------------------------------------------------------------ */
struct _KI_IPI_PACKET;
typedef struct _KPRCB {
    ULONG Number; /* KeGetCurrentProcessorNumber: 0 = the boot processor */
    UCHAR ApicId; /* where IPIs to it go */
    KAFFINITY SetMember; /* 1 << Number */
    /* Contended spin-lock acquires and the pause loops they spun
     * (kernel/lock.c); written only by this processor. */
    ULONG64 SpinLockContentionCount;
    ULONG64 SpinLockSpinCount;
    /* The IPI request slot (kernel/ipi.c): the packet another processor
     * asks this one to run, or NULL. Senders compare-exchange it from
     * NULL; this processor takes it with an exchange. */
    struct _KI_IPI_PACKET *volatile IpiPacket;
    volatile ULONG64 IpiRequestsServiced; /* packets this processor ran */
    volatile ULONG64 IpiInterrupts; /* IPI-vector interrupts it took */
    /* The CR3 it runs on (kernel/flushtb.c: who needs a user-space
     * shootdown). Written by this processor at its context switches
     * (kernel/sched.c) and at its start (kernel/mp.c). */
    volatile ULONG64 DirectoryTableBase;
    /* The dispatcher lock's hand-offs at this processor's context
     * switches (kernel/sched.c, KiFinishSwitch): how many, and the lock
     * word the incoming thread found at the last one (the outgoing
     * thread | 1: it held the lock across the swap). */
    ULONG64 DispatcherLockHandoffs;
    KSPIN_LOCK DispatcherLockHandoffOwner;
    ULONG64 TbShootdownsSent; /* flushes that IPIed others */
    volatile ULONG64 TbShootdownsReceived; /* flush requests it ran */
    /* The DPC queue (kernel/dpc.c): KDPCs to run on this processor, High
     * importance at the head. Any processor may queue here; only this one
     * drains. DpcLock (a spin lock, taken with interrupts off) guards the
     * list, DpcQueueDepth, each queued KDPC's DpcData and this KPCR's
     * DpcInterruptRequested. */
    KSPIN_LOCK DpcLock;
    LIST_ENTRY DpcListHead;
    ULONG DpcQueueDepth;
    ULONG64 DpcCount; /* DPC routines this processor ran (written by it only) */
} KPRCB, *PKPRCB;

typedef struct _KPCR {
    struct _KPCR *Self;             /* gs:[0x00] */
    PKTHREAD CurrentThread;         /* gs:[0x08] */
    ULONG64 UserRsp;                /* gs:[0x10] scratch for the syscall entry */
    ULONG64 KernelRsp;              /* gs:[0x18] RSP0 of the current thread */
    PKTHREAD IdleThread;
    PKTHREAD NextThread; /* chosen but not yet running (Standby) */
    /* The software interrupts, one word (KeSoftwareInterruptsPending): */
    BOOLEAN DpcInterruptRequested; /* a DPC waits on Prcb's queue (set under its DpcLock,
                                     * by any processor) for IRQL to drop below DISPATCH */
    BOOLEAN DispatchInterruptRequested; /* a reschedule waits likewise */
    BOOLEAN ApcInterruptRequested;  /* the current thread has a kernel APC: below APC_LEVEL */
    BOOLEAN SoftwareInterruptReserved; /* always 0 */
    BOOLEAN DpcRoutineActive;       /* running the DPC list now */
    BOOLEAN QuantumEnd;             /* the running thread used up its quantum */
    ULONG ReadySummary;             /* bit n: DispatcherReadyListHead[n] not empty */
    LIST_ENTRY DispatcherReadyListHead[MAXIMUM_PRIORITY];
    KPRCB Prcb;
} KPCR, *PKPCR;
STATIC_ASSERT(offsetof(KPCR, CurrentThread) == 0x08);
STATIC_ASSERT(offsetof(KPCR, UserRsp) == 0x10);
STATIC_ASSERT(offsetof(KPCR, KernelRsp) == 0x18);
STATIC_ASSERT(offsetof(KPCR, DpcInterruptRequested) == KE_PCR_SOFTWARE_INTERRUPTS_OFFSET);
STATIC_ASSERT(offsetof(KPCR, DispatchInterruptRequested) == KE_PCR_SOFTWARE_INTERRUPTS_OFFSET + 1);
STATIC_ASSERT(offsetof(KPCR, ApcInterruptRequested) == KE_PCR_SOFTWARE_INTERRUPTS_OFFSET + 2);

extern KPCR KiPcr;
/* Processor n's KPRCB for n < KE_MAXIMUM_PROCESSORS, NULL for one that
 * never started (kernel/mp.c). Written at boot, read-only after. */
extern PKPRCB KiProcessorBlock[KE_MAXIMUM_PROCESSORS];

static inline PKPCR KeGetPcr(void)
{
    PKPCR Pcr;
    __asm__ volatile("mov %%gs:0, %0" : "=r"(Pcr));
    return Pcr;
}

static inline PKPRCB KeGetCurrentPrcb(void)
{
    return &KeGetPcr()->Prcb;
}

/*
 * The dispatcher lock (NT before Windows 7: one global spin lock,
 * KiDispatcherLock, kernel/sched.c) guards every dispatcher object's
 * state and wait list, thread states, the ready queues, the timer list
 * and the APC queues. Acquire: raise to DISPATCH_LEVEL (no DPC, no
 * reschedule on this processor), then take the spin lock (no other
 * processor). Taking it again while holding it is SPIN_LOCK_ALREADY_OWNED
 * (kernel/lock.c): its owner is the thread that took it.
 *
 * A context switch hands it over (docs/scheduling.md §"The dispatcher
 * lock across a switch"): the outgoing thread holds it into KiSwapContext,
 * and the incoming thread, which resumes in KiSwitchTo (or starts in
 * KiThreadStartup), releases it in KiFinishSwitch. So KiSwapThread returns
 * with the lock released, at DISPATCH_LEVEL.
 */
extern KSPIN_LOCK KiDispatcherLock;

static inline KIRQL KiAcquireDispatcherLock(void)
{
    KIRQL OldIrql;
    KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
    KeAcquireSpinLockAtDpcLevel(&KiDispatcherLock);
    return OldIrql;
}

static inline void KiReleaseDispatcherLock(KIRQL OldIrql)
{
    KeReleaseSpinLockFromDpcLevel(&KiDispatcherLock);
    KeLowerIrql(OldIrql);
}

/*
 * The start of an event signal (KeSetEvent, KePulseEvent): take the
 * dispatcher lock - unless an earlier signal with Wait = TRUE left it
 * held for this thread's next wait (WaitNext): then it is held already,
 * and the "old IRQL" is DISPATCH_LEVEL, which KiEndSignal recognises.
 */
static inline KIRQL KiAcquireDispatcherLockForSignal(void)
{
    PKTHREAD Thread = KeGetCurrentThread();
    if (__builtin_expect(Thread != NULL && Thread->WaitNext, 0))
        return DISPATCH_LEVEL;
    return KiAcquireDispatcherLock();
}

/*
 * The end of a signal (KeSetEvent, KePulseEvent, KeReleaseMutex,
 * KeReleaseSemaphore). Wait = FALSE: release the dispatcher lock. Wait =
 * TRUE: NT's contract - return still holding it, so that the caller's next
 * KeWaitForSingleObject/MultipleObjects (which must follow at once) is
 * atomic with the signal: no thread the signal readied, however high its
 * priority, runs before the caller is waiting. Here that is: keep the
 * lock, stay at DISPATCH_LEVEL, set the thread's WaitNext and keep the
 * caller's IRQL in WaitIrql for the wait to return to (kernel/wait.c,
 * KiEnterWait). An event signal between the two finds the lock held
 * (KiAcquireDispatcherLockForSignal) and keeps it, with the first IRQL;
 * any other dispatcher call there takes the lock again, which is
 * SPIN_LOCK_ALREADY_OWNED (on NT, a deadlock).
 */
static inline void KiEndSignal(KIRQL OldIrql, BOOLEAN Wait)
{
    PKTHREAD Thread;
    if (!Wait) {
        if (__builtin_expect(OldIrql == DISPATCH_LEVEL, 0) &&
            (Thread = KeGetCurrentThread()) != NULL && Thread->WaitNext)
            return; /* held for the wait an earlier signal announced */
        KiReleaseDispatcherLock(OldIrql);
        return;
    }
    Thread = KeGetCurrentThread();
    if (!Thread->WaitNext) {
        Thread->WaitIrql = OldIrql;
        Thread->WaitNext = TRUE;
    }
}

/* kernel/sched.c, with the dispatcher lock held:
 * - KiReadyThread: Thread becomes Ready and joins its priority's queue; if
 *   it outranks the running thread a reschedule is requested (it happens
 *   when the IRQL drops below DISPATCH_LEVEL).
 * - KiSwapThread: the current thread has set its own State (Waiting or
 *   Terminated) and gives up the processor; returns its WaitStatus once
 *   someone readied it and it runs again, still at DISPATCH_LEVEL but
 *   with the dispatcher lock RELEASED (the switch handed it over).
 */
void KiReadyThread(PKTHREAD Thread);
NTSTATUS KiSwapThread(void);

/* kernel/wait.c, dispatcher lock held:
 * - KiWaitTest: Object just became signalled; satisfy the waits it can
 *   (a synchronization event or timer releases one waiter and resets).
 * - KiUnwaitThread: end Thread's wait with WaitStatus (wait blocks off their
 *   objects, timeout timer cancelled) and ready it. */
void KiWaitTest(PDISPATCHER_HEADER Object, LONG Increment);
void KiUnwaitThread(PKTHREAD Thread, NTSTATUS WaitStatus, LONG Increment);

/* kernel/timer.c: the clock interrupt calls KiCheckTimers at CLOCK_LEVEL;
 * it queues the timer-expiration DPC when the earliest timer is due. The
 * DPC (at DISPATCH_LEVEL) signals expired timers, runs KiWaitTest on them,
 * queues their DPCs and re-arms periodic ones.
 * KiInsertTimer/KiRemoveTimer: dispatcher lock held. */
void KiCheckTimers(ULONG64 InterruptTime);
BOOLEAN KiInsertTimer(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc);
BOOLEAN KiRemoveTimer(PKTIMER Timer);
void KiInitializeTimers(void);

/* kernel/dpc.c: run every queued DPC at DISPATCH_LEVEL (interrupts on). */
void KiRetireDpcList(void);

/* The clock (kernel/interrupt.c): tick length in 100 ns units, and the time. */
#define KI_CLOCK_HZ          1000
#define KI_TIME_INCREMENT    (10000000 / KI_CLOCK_HZ)  /* 100 ns units per tick */
#define KI_QUANTUM_TICKS     10
extern volatile ULONG64 KeTickCount;
extern volatile ULONG64 KiInterruptTime;

/* Vectors: vector >> 4 is the IRQL (kernel/irql.c). */
#define KI_DISPATCH_VECTOR  0x2F   /* reserved: DPCs are delivered in software */
#define KI_COM1_VECTOR 0x44 /* IRQL 4 (hal/apic.c gives IRQ 4 this vector) */
#define KI_KEYBOARD_VECTOR 0x55 /* IRQL 5 (IRQ 1, likewise) */
#define KI_CLOCK_VECTOR     0xD1   /* IRQL 13 */
#define KI_IPI_VECTOR 0xE1 /* IRQL 14, IPI_LEVEL (kernel/ipi.c) */
#define KI_SPURIOUS_VECTOR  0xFF

/* ------------------------------------------------------------------------
 * Application processors (kernel/mp.c, boot/aptrampoline.asm).
 *
 * The trampoline is copied to a frame below 1 MiB (the PFN database never
 * holds frames below 1 MiB, mm/init.c, so nothing else hands it out); a
 * STARTUP IPI with vector KI_AP_TRAMPOLINE_PHYSICAL >> 12 starts the
 * processor there in real mode. The next three frames hold the temporary
 * page tables the trampoline turns paging on with: the system half of the
 * kernel's PML4 plus an identity map of the first 2 MiB (for the
 * trampoline itself). The startup block, at a fixed offset in the
 * trampoline's frame, is what the boot processor hands the starting one.
 * ------------------------------------------------------------------------ */
#define KI_AP_TRAMPOLINE_PHYSICAL 0x8000ULL
#define KI_AP_TRAMPOLINE_PAGES 4 /* code + PML4 + PDPT + PD */
#define KI_AP_PML4_PHYSICAL (KI_AP_TRAMPOLINE_PHYSICAL + 1 * PAGE_SIZE)
#define KI_AP_PDPT_PHYSICAL (KI_AP_TRAMPOLINE_PHYSICAL + 2 * PAGE_SIZE)
#define KI_AP_PD_PHYSICAL (KI_AP_TRAMPOLINE_PHYSICAL + 3 * PAGE_SIZE)
#define KI_AP_STARTUP_BLOCK_OFFSET 0xF00 /* in the trampoline's frame, after the code */
#define KI_AP_STACK_PAGES 4
/* The trampoline's 32-bit code segment (flat 4 GiB, D=1); its data and
 * 64-bit code segments are the boot GDT's (KI_BOOT_GDT_*). */
#define KI_AP_GDT_CODE32 \
    (SEG_PRESENT | SEG_S | SEG_CODE | SEG_DB | SEG_GRAN | SEG_LIMIT_MAX | SEG_DPL(0))

/* KI_AP_STARTUP_BLOCK.Claim: 0 while the boot processor waits; the
 * starting processor sets KI_AP_CLAIMED (lock cmpxchg, in the trampoline,
 * before it touches the stack); the boot processor, giving up, sets
 * KI_AP_ABANDONED the same way. Whoever wins decides: a claimed start owns
 * its stacks for ever, an abandoned one's are freed and a processor that
 * arrives later parks in the trampoline. */
#define KI_AP_CLAIMED 1
#define KI_AP_ABANDONED 2

typedef struct _KI_AP_STARTUP_BLOCK {
    ULONG Pml4; /* physical: the temporary PML4 (below 4 GiB for 32-bit CR3) */
    ULONG ApicId; /* the processor meant to start: another one parks at once */
    ULONG Claim; /* 0, KI_AP_CLAIMED or KI_AP_ABANDONED */
    ULONG Reserved;
    ULONG64 Stack; /* top of its kernel stack */
    ULONG64 Entry; /* KiStartApplicationProcessor */
    ULONG64 Argument; /* its KI_PROCESSOR_BLOCK */
} KI_AP_STARTUP_BLOCK, *PKI_AP_STARTUP_BLOCK;

/* The trampoline's bytes in the kernel image (boot/aptrampoline.asm). */
extern const UCHAR KiApTrampolineStart[], KiApTrampolineEnd[];

/* Start the processors the MADT lists (unless "nosmp"); each parks. Boot,
 * PASSIVE_LEVEL, interrupts enabled, after KiInitializeInterrupts. */
void KiStartApplicationProcessors(void);

/* Start the processor Info->ApicId names (Info need not be in the table;
 * its State and StartMicroseconds are set), waiting TimeoutMicroseconds
 * for it to park. The tests call it with an APIC id nobody has, to watch
 * the give-up path: State KProcessorFailed, and since nobody claimed the
 * start, its stacks and block freed again. PASSIVE_LEVEL, after boot. */
void KiStartProcessorByApicId(PKPROCESSOR_INFORMATION Info, ULONG TimeoutMicroseconds);

/* kernel/ipi.c: a request to other processors, on the sender's stack
 * (docs/smp.md §7). */
typedef struct _KI_IPI_PACKET {
    PKIPI_BROADCAST_WORKER Worker;
    ULONG_PTR Argument;
    volatile KAFFINITY TargetSet; /* processors that have not run it yet */
    volatile LONG Barrier; /* KeIpiGenericCall: processors yet to arrive */
    BOOLEAN Synchronize; /* wait at the barrier before running Worker */
} KI_IPI_PACKET, *PKI_IPI_PACKET;

/* Run Worker(Argument) on the processors of TargetSet but this one (those
 * not in KeActiveProcessors left out) and return when all have; no
 * barrier. Serves this processor's own requests while it waits. Any IRQL
 * <= IPI_LEVEL; IPI_LEVEL while it waits, the caller's on return. */
void KiIpiSendPacket(KAFFINITY TargetSet, PKIPI_BROADCAST_WORKER Worker, ULONG_PTR Argument);
/* Run whatever requests this processor's slot holds. IPI_LEVEL. */
void KiIpiServiceRequests(void);
/* The IPI vector's handler (kernel/interrupt.c calls it), interrupts
 * disabled. */
void KiIpiInterrupt(void);

/* kernel/flushtb.c: the processors other than this one that a flush of
 * Virtual must reach (all active ones for system space; those on this
 * CR3 for user space). */
KAFFINITY KiTbFlushTargets(const void *Virtual);

/* kernel/bugcheck.c: the processors a bugcheck has frozen (IPIs leave
 * them out: they will never answer). */
extern volatile KAFFINITY KiFrozenProcessors;

/* kernel/interrupt.c */
void KiInitializeInterrupts(void);
void KiDispatchInterrupt(PKTRAP_FRAME TrapFrame);
void KiUpdateSharedUserData(void);

/* kernel/irql.c: run pending DPCs and reschedules, then (TargetIrql
 * PASSIVE_LEVEL) the current thread's kernel APCs, then settle at
 * TargetIrql (< DISPATCH_LEVEL). Interrupts disabled on entry and exit. */
void KiDeliverSoftwareInterrupts(KIRQL TargetIrql);

/* kernel/apc.c:
 * - KiDeliverApc: the APC_LEVEL software interrupt: run the current
 *   thread's deliverable kernel APCs (special ones at APC_LEVEL, normal
 *   ones' normal routines at PASSIVE_LEVEL). Entered and left at
 *   APC_LEVEL, interrupts enabled.
 * - KiDeliverUserApc: on the way back to user mode from a system service,
 *   with UserApcPending set: run the first user APC's kernel routine and
 *   rewrite TrapFrame so that user mode enters the process's APC
 *   dispatcher. PASSIVE_LEVEL.
 * - KiInitializeThreadApcs: empty queues, APCs accepted. */
void KiDeliverApc(void);
struct _KTRAP_FRAME;
void KiDeliverUserApc(struct _KTRAP_FRAME *TrapFrame);
void KiInitializeThreadApcs(PKTHREAD Thread);
/* KeInsertQueueApc for a caller that holds the dispatcher lock already
 * (delivery, if any, when it lowers the IRQL). */
BOOLEAN KiInsertQueueApc(PRKAPC Apc, PVOID SystemArgument1, PVOID SystemArgument2,
                         KPRIORITY Increment);
/* Is a kernel APC of Thread's current state deliverable at a wait entered
 * at PASSIVE_LEVEL? Dispatcher lock held. */
BOOLEAN KiKernelApcDeliverable(PKTHREAD Thread);

/*
 * KiAcquireMutant - a wait of Thread took Mutant (kernel/mutant.c): it was
 * free, or Thread owns it already. The first acquisition makes Thread the
 * owner, puts the mutant on its list and, for a kernel mutex, enters its
 * critical region. Returns TRUE when the mutant had been abandoned (the
 * flag is cleared: only one wait hears of it; the wait then says
 * STATUS_ABANDONED_WAIT_0 + i). Dispatcher lock held. Inline: it is on the
 * path of every mutex acquisition.
 */
static inline BOOLEAN KiAcquireMutant(PKMUTANT Mutant, PKTHREAD Thread)
{
    BOOLEAN Abandoned = FALSE;

    if (--Mutant->Header.SignalState == 0) {
        Mutant->OwnerThread = Thread;
        Abandoned = Mutant->Abandoned;
        Mutant->Abandoned = FALSE;
        Thread->KernelApcDisable -= Mutant->ApcDisable;
        InsertHeadList(&Thread->MutantListHead, &Mutant->MutantListEntry);
    }
    return Abandoned;
}

/* kernel/sched.c */
void KiDispatchPreempt(void);
void KiInitializeScheduler(PKTHREAD BootThread, PKTHREAD IdleThread);
void KiInitializeThread(PKTHREAD Thread, PKPROCESS Process, PVOID StackBase, PVOID StackLimit,
                        KPRIORITY Priority, BOOLEAN InitialFrame);
void KiFinishSwitch(void);
/* kernel/x64/swap.asm: save callee-saved registers and RFLAGS on this
 * stack, store RSP in *OldStack, load NewStack, restore, return there. */
void KiSwapContext(PVOID *OldStack, PVOID NewStack);
/* kernel/x64/swap.asm: a new thread's first run (its initial frame returns
 * here, the outermost frame for gdb); calls KiThreadStartup. */
void KiStartThread(void);
/* kernel/thrdobj.c, called by KiStartThread: lowers to PASSIVE_LEVEL and
 * calls KTHREAD.SystemRoutine; never returns. */
void KiThreadStartup(void);

/* kernel/syscall.c */
void KiInitializeSystemCalls(void);
void KiCheckUserReturn(void);
/* kernel/x64/trap.asm */
void KiEnterUserMode(PKTRAP_FRAME TrapFrame) __attribute__((noreturn));

/* kernel/ktest.c */
void KiRunTests(const char *Pattern);

/* The in-kernel half of `make bench` (tests/kernel/kbench.c, compiled into
 * the kernel like the ktests; docs/performance.md). The command line word
 * "kbench" runs the kernel micro-benchmarks before init starts;
 * "kbench=boot" instead measures the boot itself, up to the moment init
 * (the shell) first waits for input. */

/* The TSC at KiBootHigherHalf's first instruction, just before
 * KiSystemStartup (boot/start64.asm writes it; under -icount, the number
 * of instructions executed since reset: BIOS and GRUB). */
extern ULONG64 KiBootTsc;

/* Whether the command line asked for "kbench" or "kbench=boot". */
BOOLEAN KiKernelBenchmarksRequested(void);

/* Print one "BENCH name=... insns_per_op=... iters=..." line per in-kernel
 * benchmark (or, for kbench=boot, arm the boot_to_shell watcher) and
 * return; the boot then goes on to init. IRQL PASSIVE_LEVEL, on the boot
 * thread. */
void KiRunKernelBenchmarks(void);

/* kernel/dbgprint.c: TRUE once a bugcheck froze the other processors:
 * DbgPrint stops taking its lock. */
extern volatile BOOLEAN KiDbgPrintUnlocked;

/* kernel/bugcheck.c */
/* An NMI (kernel/trap.c): when a bugcheck on another processor sent it,
 * halt here for ever (never returns); otherwise return. */
void KiFreezeIfBugCheckInProgress(void);
/* Rsp: the interrupted stack pointer, or 0 (see bugcheck.c). */
void KiPrintBacktrace(ULONG_PTR Rbp, ULONG_PTR Rip, ULONG_PTR Rsp);

#endif /* PAGODA_KI_H */
