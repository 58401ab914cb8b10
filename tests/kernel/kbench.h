/*
 * kbench.h - the in-kernel half of `make bench` (tests/kernel/kbench.c).
 *
 * The command line word "kbench" runs the kernel micro-benchmarks before
 * init starts; "kbench=boot" instead measures the boot itself, up to the
 * moment init (the shell) first waits for input. docs/performance.md says
 * what each figure means.
 */
#ifndef PAGODA_KBENCH_H
#define PAGODA_KBENCH_H

#include "../../kernel/ke.h"

/* The TSC at KiBootHigherHalf's first instruction, just before
 * KiSystemStartup (boot/start64.asm writes it; under -icount, the number
 * of instructions executed since reset: BIOS and GRUB). */
extern ULONG64 KiBootTsc;

/* Whether the command line asked for "kbench" or "kbench=boot". */
BOOLEAN KiKernelBenchmarksRequested(void);

/*
 * Print one "BENCH name=... insns_per_op=... iters=..." line per in-kernel
 * benchmark (or, for kbench=boot, arm the boot_to_shell watcher) and
 * return; the boot then goes on to init. IRQL PASSIVE_LEVEL, on the boot
 * thread.
 */
void KiRunKernelBenchmarks(void);

#endif /* PAGODA_KBENCH_H */
