/*
 * ubench - user-mode micro-benchmarks. Under QEMU's -icount shift=0 the
 * guest TSC counts executed instructions, so rdtsc around a loop gives a
 * deterministic instruction count per operation. One line per benchmark:
 *
 *   BENCH name=null_syscall insns_per_op=N iters=N
 *
 * "--short" runs fewer iterations (what `make test` uses under TCG).
 */
#include "pagoda.h"

static inline ULONG64 ReadTsc(void)
{
    ULONG Low, High;
    __asm__ volatile("lfence; rdtsc" : "=a"(Low), "=d"(High)::"memory");
    return ((ULONG64)High << 32) | Low;
}

static void BenchNullSyscall(ULONG64 Iterations)
{
    ULONG64 Start, Empty, Total;

    /* The loop alone, so that its own instructions can be subtracted. */
    Start = ReadTsc();
    for (ULONG64 I = 0; I < Iterations; I++)
        __asm__ volatile("" ::: "memory");
    Empty = ReadTsc() - Start;

    Start = ReadTsc();
    for (ULONG64 I = 0; I < Iterations; I++)
        NtGetCurrentProcessorNumber();
    Total = ReadTsc() - Start;
    if (Total > Empty)
        Total -= Empty;
    printf("BENCH name=null_syscall insns_per_op=%llu iters=%llu\n", Total / Iterations,
           Iterations);
}

int main(int Argc, char **Argv, char **Envp)
{
    BOOLEAN Short = FALSE;
    UNREFERENCED_PARAMETER(Envp);

    for (int I = 1; I < Argc; I++)
        if (!strcmp(Argv[I], "--short"))
            Short = TRUE;
    BenchNullSyscall(Short ? 1000 : 100000);
    return 0;
}
