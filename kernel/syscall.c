/*
 * syscall.c - system services: the dispatch table, the way in from ring 3
 * and the way back.
 *
 *   user: mov r10, rcx; mov eax, N; syscall          (user/lib/syscalls.S)
 *     -> KiSystemCall64 (x64/syscall.asm): swapgs, kernel stack, KTRAP_FRAME
 *     -> KiSystemService: KiServiceTable[N](RDI, RSI, RDX, R10, R8, R9)
 *        (a service of more than six arguments: the rest copied from the
 *        user stack straight into its argument area, in inline assembly
 *        with an exception-table entry)
 *     <- status in RAX; SYSRET (or IRETQ when SYSRET would be unsafe, or
 *        when NtContinue replaced the whole register state)
 *
 * On the way out a thread may be diverted: a thread that must end leaves
 * through PsExitCurrentThread, and a pending user APC rewrites the frame
 * to enter the process's APC dispatcher (kernel/apcsvc.c).
 *
 * The table comes from include/ntsyscalls.h, the same list the user-mode
 * stubs are generated from. Services take user pointers and check them
 * themselves (STYLE.md: only Nt* code touches raw user pointers).
 */
#include "ki.h"
#include "../ps/ps.h"
#include "../mm/mm.h"
#include "../include/ntapi.h"
#include "../include/ntsyscalls.h"

#define MSR_STAR  0xC0000081
#define MSR_LSTAR 0xC0000082
#define MSR_FMASK 0xC0000084

typedef NTSTATUS (*KSYSTEM_SERVICE)(ULONG_PTR, ULONG_PTR, ULONG_PTR, ULONG_PTR, ULONG_PTR,
                                    ULONG_PTR);

/* The stack-argument area of a service of more than six arguments: the
 * most any takes (PAGODA_MAXIMUM_SERVICE_ARGUMENTS), in 16-byte units so
 * that the call keeps the ABI's stack alignment. */
#define KI_STACK_ARGUMENTS ((PAGODA_MAXIMUM_SERVICE_ARGUMENTS - 6 + 1) & ~1)

typedef struct _KSERVICE_ENTRY {
    KSYSTEM_SERVICE Routine;
    ULONG ArgumentCount;
    const char *Name;
} KSERVICE_ENTRY;

#define KI_SERVICE_ENTRY(Name, Count) {(KSYSTEM_SERVICE)(PVOID)Name, Count, #Name},
/* One table: the register services first, then the stack-argument ones. */
const KSERVICE_ENTRY KiServiceTable[] = {PAGODA_SYSTEM_SERVICES(KI_SERVICE_ENTRY)
                                             PAGODA_SYSTEM_SERVICES_STACK(KI_SERVICE_ENTRY)};
const ULONG KiServiceCount = ARRAYSIZE(KiServiceTable);
#define KI_COUNT_SERVICE(Name, Count) +1
/* Services below this number take at most six arguments. */
#define KI_REGISTER_SERVICE_COUNT (0 PAGODA_SYSTEM_SERVICES(KI_COUNT_SERVICE))
#define KI_CHECK_STACK_SERVICE(Name, Count) \
    STATIC_ASSERT(Count > 6 && Count <= PAGODA_MAXIMUM_SERVICE_ARGUMENTS);
#define KI_CHECK_REGISTER_SERVICE(Name, Count) STATIC_ASSERT(Count <= 6);
PAGODA_SYSTEM_SERVICES_STACK(KI_CHECK_STACK_SERVICE)
PAGODA_SYSTEM_SERVICES(KI_CHECK_REGISTER_SERVICE)
volatile ULONG64 KiSystemCalls;

extern void KiSystemCall64(void);

/* Program the SYSCALL MSRs (Intel SDM Vol. 2B, SYSCALL; Vol. 3A, 5.8.8). */
void KiInitializeSystemCalls(void)
{
    /* STAR[47:32]: kernel CS (SS = CS + 8); STAR[63:48]: base for SYSRET,
     * which loads CS = base + 16 and SS = base + 8 (with RPL 3). */
    __writemsr(MSR_STAR, ((ULONG64)KGDT64_R0_CODE << 32) | ((ULONG64)(KGDT64_R3_CMCODE | 3) << 48));
    __writemsr(MSR_LSTAR, (ULONG64)KiSystemCall64);
    /* Cleared on entry: IF (no interrupts until the frame is built), TF,
     * DF, AC (SMAP stays on), NT. */
    __writemsr(MSR_FMASK, (1u << 9) | (1u << 8) | (1u << 10) | (1u << 18) | (1u << 14));
    __writemsr(MSR_EFER, __readmsr(MSR_EFER) | EFER_SCE);
}

/* Before any return to ring 3: a thread whose process is ending, or that
 * was told to end, leaves here instead. */
void KiCheckUserReturn(void)
{
    PETHREAD Thread = (PETHREAD)KeGetCurrentThread();
    if (Thread->Terminating)
        PsExitCurrentThread(Thread->ExitStatus);
}

/*
 * The rare ends of a system service: the thread must leave (its process
 * ends, or it was told to), NtContinue rewrote the trap frame, or a user
 * APC is to be delivered. Returns TRUE when the exit must use IRETQ.
 */
static __attribute__((noinline)) BOOLEAN KiSystemServiceExitSlow(PETHREAD Thread,
                                                                 PKTRAP_FRAME TrapFrame)
{
    BOOLEAN Restored = FALSE;

    if (Thread->Terminating)
        PsExitCurrentThread(Thread->ExitStatus);
    if (Thread->Tcb.ContextRestored) {
        Thread->Tcb.ContextRestored = FALSE;
        Restored = TRUE;
    }
    /* The user APC runs on the way out: the frame now enters the APC
     * dispatcher, with the status the service returned in its context. */
    if (Thread->Tcb.ApcState.UserApcPending)
        KiDeliverUserApc(TrapFrame);
    return Restored;
}

/*
 * Called by KiSystemCall64 with interrupts disabled. Returns 0 to leave
 * with SYSRET, 1 to leave with IRETQ (non-canonical or changed return
 * state: NtContinue); interrupts are disabled again on return.
 */
ULONG KiSystemService(PKTRAP_FRAME TrapFrame)
{
    ULONG64 Number = TrapFrame->Rax;
    NTSTATUS Status;
    BOOLEAN Restored = FALSE;

    _enable();
    __atomic_add_fetch(&KiSystemCalls, 1, __ATOMIC_RELAXED); /* one lock add */
    if (Number < KI_REGISTER_SERVICE_COUNT) {
        const KSERVICE_ENTRY *Entry = &KiServiceTable[Number];
        Status = Entry->Routine(TrapFrame->Rdi, TrapFrame->Rsi, TrapFrame->Rdx, TrapFrame->R10,
                                TrapFrame->R8, TrapFrame->R9);
    } else if (Number < ARRAYSIZE(KiServiceTable)) {
        /* More than six arguments: 7 and up are on the user stack, where
         * the caller's C code left them above the stub's return address
         * (include/ntsyscalls.h). The range is checked here; the copy and
         * the call are one piece of assembly, as in NT's KiSystemService:
         * the Count quadwords go straight from the user stack (stac, rep
         * movsq, clac) to the outgoing argument area below this frame,
         * the six register arguments are loaded from the trap frame, and
         * the service is called. A fault in the copy that cannot be
         * resolved resumes at the fixup through the exception table
         * (kernel/trap.c), as for the copies of x64/usercopy.asm, and the
         * service never runs. Written out here rather than in a helper,
         * so that a backtrace of the service shows KiSystemService as its
         * caller, as for any other. The area is KI_STACK_ARGUMENTS slots
         * (16-byte aligned); the slots past Count are not written: the
         * service never reads them (the caller owns the stack arguments). */
        ULONG64 Count = KiServiceTable[Number].ArgumentCount - 6;
        ULONG_PTR First = TrapFrame->Rsp + 8;
        if (First > TrapFrame->Rsp && First + Count * 8 <= MM_USER_PROBE_ADDRESS) {
            ULONG_PTR Result = (ULONG_PTR)(PVOID)KiServiceTable[Number].Routine;
            __asm__ volatile(
                "sub %[area], %%rsp\n"
                "mov %%rsp, %%rdi\n"
                "stac\n"
                "1: rep movsq\n"
                "clac\n"
                "mov %c[rdi](%[tf]), %%rdi\n"
                "mov %c[rsi](%[tf]), %%rsi\n"
                "mov %c[rdx](%[tf]), %%rdx\n"
                "mov %c[r10](%[tf]), %%rcx\n"
                "mov %c[r8](%[tf]), %%r8\n"
                "mov %c[r9](%[tf]), %%r9\n"
                "call *%%rax\n"
                "jmp 3f\n"
                "2: clac\n" /* EAX: the status KiDispatchTrap put there */
                "mov %[av], %%eax\n"
                "3: add %[area], %%rsp\n"
                ".pushsection .ex_table, \"a\"\n"
                ".balign 8\n"
                ".quad 1b, 2b\n"
                ".popsection\n"
                : "+a"(Result), "+c"(Count), "+S"(First)
                : [tf] "r"(TrapFrame), [area] "i"(KI_STACK_ARGUMENTS * 8),
                  [av] "i"(STATUS_ACCESS_VIOLATION), [rdi] "i"(offsetof(KTRAP_FRAME, Rdi)),
                  [rsi] "i"(offsetof(KTRAP_FRAME, Rsi)), [rdx] "i"(offsetof(KTRAP_FRAME, Rdx)),
                  [r10] "i"(offsetof(KTRAP_FRAME, R10)), [r8] "i"(offsetof(KTRAP_FRAME, R8)),
                  [r9] "i"(offsetof(KTRAP_FRAME, R9))
                : "rdx", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
            Status = (NTSTATUS)Result;
        } else {
            Status = STATUS_ACCESS_VIOLATION;
        }
    } else {
        Status = STATUS_INVALID_SYSTEM_SERVICE;
    }
    /* One test on the way out for the rare cases (KiSystemServiceExitSlow). */
    PETHREAD Thread;
    __asm__ volatile("mov %%gs:8, %0" : "=r"(Thread));
    if (!Thread->Tcb.ContextRestored)
        TrapFrame->Rax = (ULONG64)(LONG64)Status;
    if (__builtin_expect(Thread->Terminating | Thread->Tcb.ContextRestored |
                             Thread->Tcb.ApcState.UserApcPending, 0))
        Restored = KiSystemServiceExitSlow(Thread, TrapFrame);
    _disable();
    /* SYSRET needs a canonical user RIP, and returns RFLAGS from R11. */
    return Restored || TrapFrame->Rip >= 0x00007FFFFFFF0000ULL /* MM_USER_PROBE_ADDRESS */;
}
