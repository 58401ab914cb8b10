/*
 * kbench.c - the in-kernel half of `make bench` (tools/bench.py).
 *
 * Under QEMU's -icount shift=0,sleep=off the guest TSC advances by one per
 * executed instruction (QEMU derives it from the instruction counter), so
 * __rdtsc() around a loop gives a deterministic instruction count. Each
 * benchmark runs its loop once to warm up (lookaside lists filled, code and
 * data touched), then KI_BENCH_REPEATS times; the median of those, less
 * the median of an empty loop of the same length, divided by the
 * iteration count, is printed as
 *
 *   BENCH name=NAME insns_per_op=N iters=N
 *
 * Two modes, chosen on the command line (this file reads it itself, from
 * KeLoaderBlock.CommandLine; kernel/bootinfo.c only warns about the key):
 *   kbench        the micro-benchmarks user mode cannot reach (pool, an
 *                 uncontended event, an uncontended kernel mutex, a
 *                 special kernel APC to the current thread, a name looked
 *                 up), then the boot goes on to init;
 *   kbench=boot   boot_to_shell: a priority-1 thread that first runs when
 *                 every other thread waits, that is when init (the shell)
 *                 first blocks in NtReadFile on the console after printing
 *                 its prompt. It prints the figure and powers off.
 *   kbench=smp    the IPI benchmarks (tools/bench.py boots it with -smp 2):
 *                 ipi_roundtrip, a request to processor 1 and the wait
 *                 for its answer; ipi_generic_call, a KeIpiGenericCall on
 *                 both. Then it powers off. Under -icount QEMU runs the
 *                 processors one at a time, round robin, so the figure
 *                 counts the instructions of BOTH processors, the sender's
 *                 spinning included (docs/performance.md).
 *
 * Everything runs at PASSIVE_LEVEL on the boot thread, before init exists,
 * so nothing else competes for the processor except the clock interrupt
 * (whose few hundred instructions per tick the median filters out).
 */
#include "../../kernel/ki.h"
#include "../../ob/ob.h"
#include "../../include/ntapi.h"
#include "../../ps/ps.h"
#include "../../ex/ex.h"
#include "../../mm/mm.h"
#include "../../rtl/rtl.h"
#include "../../include/kusershared.h"

ULONG64 KiBootTsc;

#define KI_BENCH_REPEATS 5
#define KI_BENCH_TAG     POOL_TAG('K', 'b', 'n', 'c')

/* The priority of the boot_to_shell watcher: above the zero-page thread
 * (0), below every user and system thread (8). */
#define KI_BOOT_WATCHER_PRIORITY 1

typedef enum _KI_KBENCH_MODE {
    KiKbenchOff,
    KiKbenchMicro,
    KiKbenchBoot,
    KiKbenchSmp
} KI_KBENCH_MODE;

/* The value of the "kbench" word, if any. Words after "init=" belong to
 * the init program's command line and are not looked at. */
static KI_KBENCH_MODE KiKbenchMode(void)
{
    const char *P = KeLoaderBlock.CommandLine;

    while (*P) {
        while (*P == ' ')
            P++;
        const char *Word = P;
        while (*P && *P != ' ')
            P++;
        SIZE_T Length = (SIZE_T)(P - Word);
        if (Length >= 5 && strncmp(Word, "init=", 5) == 0)
            break;
        if (Length == 6 && strncmp(Word, "kbench", 6) == 0)
            return KiKbenchMicro;
        if (Length == 11 && strncmp(Word, "kbench=boot", 11) == 0)
            return KiKbenchBoot;
        if (Length == 10 && strncmp(Word, "kbench=smp", 10) == 0)
            return KiKbenchSmp;
    }
    return KiKbenchOff;
}

BOOLEAN KiKernelBenchmarksRequested(void)
{
    return KiKbenchMode() != KiKbenchOff;
}

/* ---------------------------------------------------------------- measuring */

/* A benchmark body: run the operation Iterations times. */
typedef void (*KI_BENCH_BODY)(ULONG64 Iterations);

/* Set when an operation failed: the figure is then not printed. */
static BOOLEAN KiBenchFailed;

static void KiBenchEmpty(ULONG64 Iterations)
{
    for (ULONG64 I = 0; I < Iterations; I++)
        __asm__ volatile("" ::: "memory");
}

/* The median of KI_BENCH_REPEATS timed runs of Body, after one warm-up. */
static ULONG64 KiBenchMedian(KI_BENCH_BODY Body, ULONG64 Iterations)
{
    ULONG64 Samples[KI_BENCH_REPEATS];

    Body(Iterations);
    for (ULONG R = 0; R < KI_BENCH_REPEATS; R++) {
        ULONG64 Start = __rdtsc();
        Body(Iterations);
        Samples[R] = __rdtsc() - Start;
    }
    /* Insertion sort: five values. */
    for (ULONG I = 1; I < KI_BENCH_REPEATS; I++)
        for (ULONG J = I; J > 0 && Samples[J - 1] > Samples[J]; J--) {
            ULONG64 T = Samples[J];
            Samples[J] = Samples[J - 1];
            Samples[J - 1] = T;
        }
    return Samples[KI_BENCH_REPEATS / 2];
}

static void KiBenchReport(const char *Name, KI_BENCH_BODY Body, ULONG64 Iterations)
{
    ULONG64 Total = KiBenchMedian(Body, Iterations);
    ULONG64 Empty = KiBenchMedian(KiBenchEmpty, Iterations);

    Total = Total > Empty ? Total - Empty : 0;
    if (KiBenchFailed) {
        DbgPrint("kbench: %s failed; no figure\n", Name);
        KiBenchFailed = FALSE;
        return;
    }
    DbgPrint("BENCH name=%s insns_per_op=%llu iters=%llu\n", Name,
             (Total + Iterations / 2) / Iterations, Iterations);
}

/* ---------------------------------------------------------------- bodies */

static void KiBenchPool(POOL_TYPE Type, SIZE_T Size, ULONG64 Iterations)
{
    for (ULONG64 I = 0; I < Iterations; I++) {
        PVOID P = ExAllocatePoolWithTag(Type, Size, KI_BENCH_TAG);
        if (P == NULL) {
            KiBenchFailed = TRUE;
            continue;
        }
        ExFreePoolWithTag(P, KI_BENCH_TAG);
    }
}

static void KiBenchNonPaged64(ULONG64 Iterations)
{
    KiBenchPool(NonPagedPool, 64, Iterations);
}

static void KiBenchPaged64(ULONG64 Iterations)
{
    KiBenchPool(PagedPool, 64, Iterations);
}

static void KiBenchNonPaged4k(ULONG64 Iterations)
{
    KiBenchPool(NonPagedPool, PAGE_SIZE, Iterations);
}

static KEVENT KiBenchEvent;

/* Set, then wait: the wait is satisfied at once and resets the
 * synchronization event, so the thread never blocks. */
static void KiBenchSetWait(ULONG64 Iterations)
{
    for (ULONG64 I = 0; I < Iterations; I++) {
        KeSetEvent(&KiBenchEvent, 0, FALSE);
        KeWaitForSingleObject(&KiBenchEvent, Executive, KernelMode, FALSE, NULL);
    }
}

static KMUTEX KiBenchKernelMutex;

/* An uncontended kernel mutex: a wait that takes it at once (and enters
 * the owner's critical region), then the release (which leaves it). */
static void KiBenchMutex(ULONG64 Iterations)
{
    for (ULONG64 I = 0; I < Iterations; I++) {
        KeWaitForSingleObject(&KiBenchKernelMutex, Executive, KernelMode, FALSE, NULL);
        KeReleaseMutex(&KiBenchKernelMutex, FALSE);
    }
}

static KAPC KiBenchApc;

static void KiBenchApcRoutine(PKAPC Apc, PKNORMAL_ROUTINE *NormalRoutine, PVOID *NormalContext,
                              PVOID *SystemArgument1, PVOID *SystemArgument2)
{
    UNREFERENCED_PARAMETER(Apc);
    UNREFERENCED_PARAMETER(NormalRoutine);
    UNREFERENCED_PARAMETER(NormalContext);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
}

/* A special kernel APC to the current thread at PASSIVE_LEVEL: queued,
 * then delivered as KeInsertQueueApc drops the dispatcher lock (the
 * APC_LEVEL software interrupt), before it returns. */
static void KiBenchApcKernel(ULONG64 Iterations)
{
    for (ULONG64 I = 0; I < Iterations; I++) {
        if (!KeInsertQueueApc(&KiBenchApc, NULL, NULL, 0) || KiBenchApc.Inserted)
            KiBenchFailed = TRUE;
    }
}

/* \BaseNamedObjects\KBench\Event: three components to walk. */
static UNICODE_STRING KiBenchEventName = RTL_CONSTANT_STRING(u"\\BaseNamedObjects\\KBench\\Event");

/* Open the event by its name (a look-up per component and a new handle),
 * then close the handle: what NtOpenEvent and NtClose do past capture. */
static void KiBenchNamedOpenClose(ULONG64 Iterations)
{
    OBJECT_ATTRIBUTES Attributes;
    InitializeObjectAttributes(&Attributes, &KiBenchEventName, 0, NULL, NULL);
    for (ULONG64 I = 0; I < Iterations; I++) {
        HANDLE Handle;
        if (!NT_SUCCESS(ObOpenObjectByName(&Attributes, ExEventObjectType, KernelMode,
                                           SYNCHRONIZE, &Handle))) {
            KiBenchFailed = TRUE;
            continue;
        }
        (void)ObCloseHandle(Handle, KernelMode);
    }
}

/* Make the directory and the event named_open_close opens, run it, and
 * close both again (their names go with the handles). */
static void KiBenchNames(void)
{
    static UNICODE_STRING DirectoryName = RTL_CONSTANT_STRING(u"\\BaseNamedObjects\\KBench");
    OBJECT_ATTRIBUTES Attributes;
    HANDLE Directory = NULL, Event = NULL;
    PVOID Object;

    InitializeObjectAttributes(&Attributes, &DirectoryName, 0, NULL, NULL);
    if (!NT_SUCCESS(ObCreateObject(ObDirectoryObjectType, sizeof(OBJECT_DIRECTORY), &Object)) ||
        !NT_SUCCESS(ObInsertObject(Object, &Attributes, DIRECTORY_ALL_ACCESS, KernelMode,
                                   &Directory)))
        goto fail;
    InitializeObjectAttributes(&Attributes, &KiBenchEventName, 0, NULL, NULL);
    if (!NT_SUCCESS(ObCreateObject(ExEventObjectType, sizeof(KEVENT), &Object)))
        goto fail;
    KeInitializeEvent(Object, NotificationEvent, FALSE);
    if (!NT_SUCCESS(ObInsertObject(Object, &Attributes, EVENT_ALL_ACCESS, KernelMode, &Event)))
        goto fail;
    KiBenchReport("named_open_close", KiBenchNamedOpenClose, 5000);
    goto close;
fail:
    DbgPrint("kbench: named_open_close: cannot make its names\n");
close:
    if (Event != NULL)
        (void)ObCloseHandle(Event, KernelMode);
    if (Directory != NULL)
        (void)ObCloseHandle(Directory, KernelMode);
}

/* ---------------------------------------------------------------- IPIs */

static ULONG_PTR KiBenchIpiNothing(ULONG_PTR Argument)
{
    return Argument;
}

static void KiBenchIpiRoundTrip(ULONG64 Iterations)
{
    for (ULONG64 I = 0; I < Iterations; I++)
        KiIpiSendPacket((KAFFINITY)1 << 1, KiBenchIpiNothing, 0);
}

static void KiBenchIpiGenericCall(ULONG64 Iterations)
{
    for (ULONG64 I = 0; I < Iterations; I++)
        KeIpiGenericCall(KiBenchIpiNothing, 0);
}

/* kbench=smp: the IPI figures, then power off. */
static __attribute__((noreturn)) void KiRunIpiBenchmarks(void)
{
    if (KeNumberProcessors < 2) {
        DbgPrint("kbench: ipi_roundtrip needs a second processor (-smp 2); no figure\n");
        HalPowerOff(HalExitTestsFailed);
    }
    KiBenchReport("ipi_roundtrip", KiBenchIpiRoundTrip, 2000);
    KiBenchReport("ipi_generic_call", KiBenchIpiGenericCall, 2000);
    HalPowerOff(HalExitSuccess);
}

/* ---------------------------------------------------------------- boot_to_shell */

/*
 * Runs for the first time when nothing above priority 1 is ready: the boot
 * thread waits for init, and init waits for its first line of input. The
 * TSC then is the whole boot, power-on included; less KiBootTsc, the
 * kernel's part.
 */
static void KiBootWatcher(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    ULONG64 Now = __rdtsc();

    DbgPrint("\nBENCH name=boot_to_shell insns_per_op=%llu iters=1\n", Now - KiBootTsc);
    DbgPrint("BENCHINFO name=boot_to_shell power_on_tsc=%llu kernel_entry_tsc=%llu\n", Now,
             KiBootTsc);
    HalPowerOff(HalExitSuccess);
}

static void KiArmBootWatcher(void)
{
    HANDLE Handle;
    PETHREAD Thread;

    if (!NT_SUCCESS(PsCreateSystemThread(&Handle, THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                         KiBootWatcher, NULL))) {
        DbgPrint("kbench: cannot create the boot_to_shell thread\n");
        return;
    }
    /* Lower it before it first runs: the boot thread does not block
     * between here and its wait for init. */
    if (NT_SUCCESS(PsReferenceThreadByHandle(Handle, KernelMode, &Thread))) {
        KeSetPriorityThread(&Thread->Tcb, KI_BOOT_WATCHER_PRIORITY);
        ObDereferenceObject(Thread);
    }
    ObCloseHandle(Handle, KernelMode);
}

/* ---------------------------------------------------------------- hard_fault */

/*
 * hard_fault: pages read back from the pagefile, per page. A private
 * address space (as a process's) commits KI_HARD_FAULT_PAGES pages and
 * writes them; each round trims them (MmEmptyWorkingSet), writes them to
 * the pagefile (MmFlushModifiedPages; only the first round writes: a page
 * read back and not written keeps its slot) and purges their frames from
 * the standby list (MmPurgeStandbyPages), so every PTE is a pagefile PTE;
 * then reads 8 bytes of each page in order (MmCopyFromUser: the fault is
 * taken in kernel mode on a user address, as a system service's copy
 * takes it). A hard fault reads its page and up to 7 neighbours at
 * consecutive slots in one IRP (mm/fault.c), the neighbours then cost a
 * soft fault: the figure is all of it divided by the pages. Counted
 * outside the idle loop: the TSC less KUSER_SHARED_DATA.IdleHaltCycles,
 * since the processor halts while the disk works (-icount sleep=off moves
 * the clock past that time), and after a pause that lets the zero-page
 * thread zero the purged frames first (what it would do during the disk
 * waits would count). The loop reading mapped pages is subtracted.
 * Needs a pagefile (make bench attaches a disk with one).
 */
#define KI_HARD_FAULT_PAGES 256 /* 1 MiB */
#define KI_HARD_FAULT_BASE 0x0000000040000000ULL

static ULONG64 KiBusyTsc(void)
{
    return __rdtsc() - ((KUSER_SHARED_DATA *)MM_SHARED_USER_DATA_VA)->IdleHaltCycles;
}

static BOOLEAN KiTouchPages(BOOLEAN Write)
{
    ULONG64 Word = 0x6b62656e6368ULL;
    for (ULONG64 Page = 0; Page < KI_HARD_FAULT_PAGES; Page++) {
        PVOID Va = (PVOID)(KI_HARD_FAULT_BASE + Page * PAGE_SIZE);
        NTSTATUS Status =
            Write ? MmCopyToUser(Va, &Word, sizeof(Word)) : MmCopyFromUser(&Word, Va, sizeof(Word));
        if (!NT_SUCCESS(Status))
            return FALSE;
    }
    return TRUE;
}

/* One round: page everything out, then the instructions of reading it back
 * less those of reading it again mapped; 0 (and KiBenchFailed) on failure. */
static ULONG64 KiHardFaultRound(PMMADDRESS_SPACE Space)
{
    if (MmEmptyWorkingSet(Space) != KI_HARD_FAULT_PAGES)
        goto failed;
    (void)MmFlushModifiedPages();
    if (MmPurgeStandbyPages(Space) != KI_HARD_FAULT_PAGES)
        goto failed;
    /* The zero-page thread zeroes the purged frames now, not while the
     * faults wait for the disk (its work would count). */
    LARGE_INTEGER Delay = {.QuadPart = -100LL * 10000}; /* 100 ms */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &Delay);
    ULONG64 Start = KiBusyTsc();
    if (!KiTouchPages(FALSE))
        goto failed;
    ULONG64 Faulting = KiBusyTsc() - Start;
    Start = KiBusyTsc();
    (void)KiTouchPages(FALSE);
    ULONG64 Mapped = KiBusyTsc() - Start;
    return Faulting > Mapped ? Faulting - Mapped : 0;
failed:
    KiBenchFailed = TRUE;
    return 0;
}

static void KiBenchHardFault(void)
{
    ULONG64 Samples[KI_BENCH_REPEATS];
    PMMADDRESS_SPACE Space;
    MM_MEMORY_COUNTERS Before, After;

    if (!MmPagingFileActive() || !NT_SUCCESS(MmCreateProcessAddressSpace(&Space))) {
        DbgPrint("kbench: hard_fault: no pagefile (or no address space); no figure\n");
        return;
    }
    PMMADDRESS_SPACE Previous = MmAttachAddressSpace(Space);
    PVOID Base = (PVOID)KI_HARD_FAULT_BASE;
    SIZE_T Size = KI_HARD_FAULT_PAGES * PAGE_SIZE;
    if (!NT_SUCCESS(MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT,
                                            PAGE_READWRITE)) ||
        !KiTouchPages(TRUE))
        KiBenchFailed = TRUE;
    (void)KiHardFaultRound(Space); /* warm-up; the pages are written out */
    MmQueryMemoryCounters(&Before);
    ULONG64 Hard = MmFaultCounters.HardFault, Soft = Space->Vm.TransitionFaults;
    for (ULONG R = 0; R < KI_BENCH_REPEATS && !KiBenchFailed; R++)
        Samples[R] = KiHardFaultRound(Space);
    MmQueryMemoryCounters(&After);
    Hard = MmFaultCounters.HardFault - Hard;
    Soft = Space->Vm.TransitionFaults - Soft;
    MmAttachAddressSpace(Previous);
    MmDeleteProcessAddressSpace(Space);
    if (KiBenchFailed) {
        DbgPrint("kbench: hard_fault failed; no figure\n");
        KiBenchFailed = FALSE;
        return;
    }
    for (ULONG I = 1; I < KI_BENCH_REPEATS; I++)
        for (ULONG J = I; J > 0 && Samples[J - 1] > Samples[J]; J--) {
            ULONG64 T = Samples[J];
            Samples[J] = Samples[J - 1];
            Samples[J - 1] = T;
        }
    ULONG64 Reads = After.PageFileReads - Before.PageFileReads;
    ULONG64 PagesRead = After.PageFilePagesRead - Before.PageFilePagesRead;
    DbgPrint("BENCH name=hard_fault insns_per_op=%llu iters=%u\n",
             (Samples[KI_BENCH_REPEATS / 2] + KI_HARD_FAULT_PAGES / 2) / KI_HARD_FAULT_PAGES,
             KI_HARD_FAULT_PAGES);
    DbgPrint("BENCHINFO name=hard_fault hard_faults=%llu soft_faults=%llu reads=%llu "
             "pages_read=%llu pages_per_read_x100=%llu pages=%u\n",
             Hard, Soft, Reads, PagesRead, Reads ? PagesRead * 100 / Reads : 0,
             KI_BENCH_REPEATS * KI_HARD_FAULT_PAGES);
}

void KiRunKernelBenchmarks(void)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);

    if (KiKbenchMode() == KiKbenchBoot) {
        KiArmBootWatcher();
        return;
    }
    if (KiKbenchMode() == KiKbenchSmp)
        KiRunIpiBenchmarks();
    DbgPrint("kbench: in-kernel benchmarks (TSC = instructions under -icount shift=0)\n");
    KiBenchReport("pool_nonpaged_64", KiBenchNonPaged64, 20000);
    KiBenchReport("pool_paged_64", KiBenchPaged64, 20000);
    KiBenchReport("pool_nonpaged_4k", KiBenchNonPaged4k, 5000);
    KeInitializeEvent(&KiBenchEvent, SynchronizationEvent, FALSE);
    KiBenchReport("event_set_wait", KiBenchSetWait, 20000);
    KeInitializeMutex(&KiBenchKernelMutex, 0);
    KiBenchReport("mutex_uncontended", KiBenchMutex, 20000);
    KeInitializeApc(&KiBenchApc, KeGetCurrentThread(), OriginalApcEnvironment, KiBenchApcRoutine,
                    NULL, NULL, KernelMode, NULL);
    KiBenchReport("apc_kernel", KiBenchApcKernel, 20000);
    KiBenchNames();
    KiBenchHardFault();
}
