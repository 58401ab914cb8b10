/*
 * crash KIND - end this process with a CPU exception, one kind per
 * argument, to show that a crash in user mode ends only the crashing
 * process, with the NTSTATUS Windows would give it:
 *
 *   av      write to 0x1000, never mapped       STATUS_ACCESS_VIOLATION      0xC0000005
 *   ud      ud2                                  STATUS_ILLEGAL_INSTRUCTION   0xC000001D
 *   div     divide by zero                       STATUS_INTEGER_DIVIDE_BY_ZERO 0xC0000094
 *   divmem  divide by a zero in memory           STATUS_INTEGER_DIVIDE_BY_ZERO 0xC0000094
 *   ovf     idiv of INT_MIN by -1 (registers)    STATUS_INTEGER_OVERFLOW      0xC0000095
 *   ovfmem  idiv of INT64_MIN by a -1 in memory  STATUS_INTEGER_OVERFLOW      0xC0000095
 *   bp      int3                                 STATUS_BREAKPOINT            0x80000003
 *   step    set the trap flag (single-step)      STATUS_SINGLE_STEP           0x80000004
 *   stepsvc the same, stepping a system call     STATUS_SINGLE_STEP           0x80000004
 *   priv    hlt (ring 0 only)                    STATUS_PRIVILEGED_INSTRUCTION 0xC0000096
 *   cli     cli (IOPL 0)                         STATUS_PRIVILEGED_INSTRUCTION 0xC0000096
 *   dr      mov to debug register DR7            STATUS_PRIVILEGED_INSTRUCTION 0xC0000096
 *   sysret  sysretq (ring 0 only)                STATUS_PRIVILEGED_INSTRUCTION 0xC0000096
 *   stack   unbounded recursion                  STATUS_STACK_OVERFLOW        0xC00000FD
 *   kernel  read KUSER_SHARED_DATA's system view STATUS_ACCESS_VIOLATION      0xC0000005
 *   exec    jump into a non-executable page      STATUS_ACCESS_VIOLATION      0xC0000005
 *   ro      write to the read-only 0x7FFE0000    STATUS_ACCESS_VIOLATION      0xC0000005
 */
#include "pagoda.h"
#include "ntsyscalls.h"

/* The service numbers, in the order of include/ntsyscalls.h. */
enum {
#define CRASH_SERVICE_INDEX(Name, ArgCount) CrashIndex_##Name,
    PAGODA_SYSTEM_SERVICES(CRASH_SERVICE_INDEX)
#undef CRASH_SERVICE_INDEX
};

static volatile int PgpZero;
static volatile long long PgpMinusOne = -1;
static volatile long long PgpZero64;

/* Each frame keeps 1 KiB live so that the guard page is reached quickly.
 * The recursion is meant to be infinite: tell gcc so. */
#pragma GCC diagnostic ignored "-Winfinite-recursion"
static __attribute__((noinline)) int CrashRecurse(int Depth)
{
    volatile char Pad[1024];
    Pad[0] = (char)Depth;
    return CrashRecurse(Depth + 1) + Pad[0];
}

static void Usage(void)
{
    printf("usage: crash av|ud|div|divmem|ovf|ovfmem|bp|step|stepsvc|priv|cli|dr|sysret|stack|kernel|"
           "exec|ro\n");
}

int main(int Argc, char **Argv, char **Envp)
{
    const char *Kind = Argc > 1 ? Argv[1] : "";
    UNREFERENCED_PARAMETER(Envp);

    printf("crash: %s\n", Kind);
    if (!strcmp(Kind, "av")) {
        *(volatile int *)0x1000 = 1;
    } else if (!strcmp(Kind, "ud")) {
        __asm__ volatile("ud2");
    } else if (!strcmp(Kind, "div")) {
        /* In assembly: gcc turns 1 / x into a comparison that never faults. */
        int Divisor = PgpZero, Quotient = 1, Remainder = 0;
        __asm__ volatile("cltd; idivl %2" : "+a"(Quotient), "=&d"(Remainder) : "r"(Divisor));
        printf("quotient %d remainder %d\n", Quotient, Remainder);
    } else if (!strcmp(Kind, "divmem")) {
        long long Quotient = 1, Remainder = 0;
        __asm__ volatile("cqto; idivq %2" : "+a"(Quotient), "=&d"(Remainder) : "m"(PgpZero64));
        printf("quotient %lld remainder %lld\n", Quotient, Remainder);
    } else if (!strcmp(Kind, "ovf")) {
        /* -2^31 / -1 = 2^31 does not fit in 32 bits: #DE, but not a zero divisor. */
        int Divisor = (int)PgpMinusOne, Quotient = (int)0x80000000u, Remainder = 0;
        __asm__ volatile("cltd; idivl %2" : "+a"(Quotient), "=&d"(Remainder) : "r"(Divisor));
        printf("quotient %d remainder %d\n", Quotient, Remainder);
    } else if (!strcmp(Kind, "ovfmem")) {
        long long Quotient = (long long)0x8000000000000000ull, Remainder = 0;
        __asm__ volatile("cqto; idivq %2" : "+a"(Quotient), "=&d"(Remainder) : "m"(PgpMinusOne));
        printf("quotient %lld remainder %lld\n", Quotient, Remainder);
    } else if (!strcmp(Kind, "bp")) {
        __asm__ volatile("int3");
    } else if (!strcmp(Kind, "step")) {
        /* TF set by popfq: the CPU traps after the next instruction. */
        __asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq; nop" : : : "memory", "cc");
    } else if (!strcmp(Kind, "stepsvc")) {
        /* The instruction stepped is SYSCALL itself: the kernel must take no
         * #DB (IA32_FMASK clears TF on entry); SYSRET restores TF. */
        __asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq; syscall; nop"
                         : : "a"(CrashIndex_NtYieldExecution) : "rcx", "r11", "memory", "cc");
    } else if (!strcmp(Kind, "dr")) {
        __asm__ volatile("xorl %%eax, %%eax; movq %%rax, %%dr7" : : : "rax");
    } else if (!strcmp(Kind, "sysret")) {
        __asm__ volatile("sysretq");
    } else if (!strcmp(Kind, "priv")) {
        __asm__ volatile("hlt");
    } else if (!strcmp(Kind, "cli")) {
        __asm__ volatile("cli");
    } else if (!strcmp(Kind, "stack")) {
        return CrashRecurse(0);
    } else if (!strcmp(Kind, "kernel")) {
        volatile ULONG *Kernel = (volatile ULONG *)0xFFFFF78000000000ULL;
        printf("read %x\n", *Kernel);
    } else if (!strcmp(Kind, "exec")) {
        static unsigned char Ret[1] = {0xC3}; /* data: NX */
        ((void (*)(void))(ULONG_PTR)Ret)();
    } else if (!strcmp(Kind, "ro")) {
        *(volatile ULONG *)0x7FFE0000ULL = 1;
    } else {
        Usage();
        return 2;
    }
    printf("crash: %s did not crash!\n", Kind);
    return 1;
}
