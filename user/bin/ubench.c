/*
 * ubench - user-mode micro-benchmarks (make bench; docs/performance.md).
 *
 * Under QEMU's -icount shift=0,sleep=off the guest TSC counts executed
 * instructions, so rdtsc around a loop gives a deterministic instruction
 * count per operation. Each benchmark runs once to warm up, then REPEATS
 * times; the median, less what the bare loop costs, divided by the number
 * of operations, is printed as one line:
 *
 *   BENCH name=null_syscall insns_per_op=N iters=N
 *
 * and any extra figures of a benchmark as "BENCHINFO name=NAME key=value…".
 *
 *   ubench                 every benchmark
 *   ubench NAME…           only those
 *   ubench --short         null_syscall with few iterations (make test)
 *
 * null_read and ioctl_buffered time the I/O services: a 1-byte NtReadFile
 * of \Device\Null and a 64-byte METHOD_BUFFERED control to \Device\IoTest,
 * both on synchronous handles, both completed by the driver at once.
 * disk_read_4k and disk_write_4k time a 4 KiB NtReadFile / NtWriteFile of
 * \Device\Harddisk0\DR0 (a page-aligned buffer: bus-master DMA, one
 * interrupt) and count only what the guest executes outside its idle loop:
 * the TSC less KUSER_SHARED_DATA.IdleHaltCycles, because under -icount
 * with sleep=off QEMU moves the clock past the time the guest sits halted
 * waiting for the disk.
 *   ubench --pong A B      (internal) the child of event_pingpong_process:
 *                          wait on handle A, set handle B, for ever
 *   ubench --spong         (internal) the child of semaphore_pingpong_process:
 *                          the same with the two semaphores duplicated in
 */
#include "pagoda.h"
#include "ntmmapi.h"
#include "iotest.h"
#include "ntddata.h"

#define REPEATS 5

static inline ULONG64 ReadTsc(void)
{
    ULONG Low, High;
    __asm__ volatile("lfence; rdtsc" : "=a"(Low), "=d"(High)::"memory");
    return ((ULONG64)High << 32) | Low;
}

/* A benchmark body: Iterations operations. */
typedef void (*BENCH_BODY)(ULONG64 Iterations);

static BOOLEAN BenchFailed;

static void Fail(const char *What, NTSTATUS Status)
{
    if (!BenchFailed)
        printf("ubench: %s failed: 0x%08x\n", What, (ULONG)Status);
    BenchFailed = TRUE;
}

static void SortSamples(ULONG64 *Samples, int Count)
{
    for (int I = 1; I < Count; I++)
        for (int J = I; J > 0 && Samples[J - 1] > Samples[J]; J--) {
            ULONG64 T = Samples[J];
            Samples[J] = Samples[J - 1];
            Samples[J - 1] = T;
        }
}

/* The median of REPEATS timed runs of Body, after one warm-up run. */
static ULONG64 MedianRun(BENCH_BODY Body, ULONG64 Iterations)
{
    ULONG64 Samples[REPEATS];

    Body(Iterations);
    for (int R = 0; R < REPEATS; R++) {
        ULONG64 Start = ReadTsc();
        Body(Iterations);
        Samples[R] = ReadTsc() - Start;
    }
    SortSamples(Samples, REPEATS);
    return Samples[REPEATS / 2];
}

static void EmptyLoop(ULONG64 Iterations)
{
    for (ULONG64 I = 0; I < Iterations; I++)
        __asm__ volatile("" ::: "memory");
}

static void PrintBench(const char *Name, ULONG64 Instructions, ULONG64 Operations,
                       ULONG64 Iterations)
{
    if (BenchFailed) {
        printf("ubench: %s: no figure\n", Name);
        BenchFailed = FALSE;
        return;
    }
    printf("BENCH name=%s insns_per_op=%llu iters=%llu\n", Name,
           (Instructions + Operations / 2) / Operations, Iterations);
}

/*
 * Time Body, subtract an empty loop of the same length, and print the
 * figure per operation (OpsPerIteration operations in each iteration).
 */
static void Report(const char *Name, BENCH_BODY Body, ULONG64 Iterations, ULONG64 OpsPerIteration)
{
    ULONG64 Total = MedianRun(Body, Iterations);
    ULONG64 Empty = MedianRun(EmptyLoop, Iterations);

    PrintBench(Name, Total > Empty ? Total - Empty : 0, Iterations * OpsPerIteration, Iterations);
}

/* ---------------------------------------------------------------- null_syscall */

static void NullSyscalls(ULONG64 Iterations)
{
    for (ULONG64 I = 0; I < Iterations; I++)
        NtGetCurrentProcessorNumber();
}

/* ---------------------------------------------------------------- null_read, ioctl_buffered */

/* The file the I/O benchmarks use, opened by name (kernel namespace). */
static HANDLE BenchFile;
static UCHAR BenchBuffer[64], BenchOutput[64];

static HANDLE OpenBenchDevice(PCWSTR Name)
{
    HANDLE Handle = NULL;
    NTSTATUS Status = PgOpenDevice(Name, FILE_SYNCHRONOUS_IO_NONALERT, &Handle);
    if (!NT_SUCCESS(Status)) {
        Fail("NtOpenFile", Status);
        return NULL;
    }
    return Handle;
}

/* 1-byte reads of \Device\Null on a synchronous handle: each is an IRP
 * the null driver completes at once with STATUS_END_OF_FILE (the status
 * block untouched: an error completed without pending). */
static void NullReads(ULONG64 Iterations)
{
    IO_STATUS_BLOCK Iosb;
    for (ULONG64 I = 0; I < Iterations; I++) {
        NTSTATUS Status =
            NtReadFile(BenchFile, NULL, NULL, NULL, &Iosb, BenchBuffer, 1, NULL, NULL);
        if (Status != STATUS_END_OF_FILE) {
            Fail("null read", Status);
            return;
        }
    }
}

/* 64-byte METHOD_BUFFERED controls to \Device\IoTest, completed at once:
 * input copied into the system buffer, output copied back. */
static void BufferedControls(ULONG64 Iterations)
{
    IO_STATUS_BLOCK Iosb;
    for (ULONG64 I = 0; I < Iterations; I++) {
        NTSTATUS Status =
            NtDeviceIoControlFile(BenchFile, NULL, NULL, NULL, &Iosb, IOCTL_IOTEST_ECHO,
                                  BenchBuffer, 64, BenchOutput, 64);
        if (!NT_SUCCESS(Status) || Iosb.Information != 64) {
            Fail("buffered control", Status);
            return;
        }
    }
}

static void BenchFileLoop(const char *Name, PCWSTR Device, BENCH_BODY Body, ULONG64 Iterations)
{
    BenchFile = OpenBenchDevice(Device);
    if (BenchFile == NULL) {
        PrintBench(Name, 0, 1, 0);
        return;
    }
    Report(Name, Body, Iterations, 1);
    NtClose(BenchFile);
}

/* ---------------------------------------------------------------- disk_read_4k, disk_write_4k */

#define DISK_BENCH_LBA 2048 /* the image's partition: nothing there the system needs */
#define DISK_BENCH_SPAN 256 /* 4 KiB blocks the requests cycle over (1 MiB) */

static PUCHAR DiskBuffer;
static BOOLEAN DiskWrite;

/* One sector-aligned 4 KiB request per iteration, each to the next block. */
static void DiskRequests(ULONG64 Iterations)
{
    IO_STATUS_BLOCK Iosb;
    for (ULONG64 I = 0; I < Iterations; I++) {
        LARGE_INTEGER Offset = {.QuadPart =
                                    (LONGLONG)((DISK_BENCH_LBA + (I % DISK_BENCH_SPAN) * 8) * 512)};
        NTSTATUS Status = DiskWrite
            ? NtWriteFile(BenchFile, NULL, NULL, NULL, &Iosb, DiskBuffer, 4096, &Offset, NULL)
            : NtReadFile(BenchFile, NULL, NULL, NULL, &Iosb, DiskBuffer, 4096, &Offset, NULL);
        if (!NT_SUCCESS(Status) || Iosb.Information != 4096) {
            Fail(DiskWrite ? "disk write" : "disk read", Status);
            return;
        }
    }
}

/* Instructions outside the idle loop for one run of Body: the TSC less the
 * ticks the idle thread spent halted (kernel/interrupt.c KeIdleHalt). */
static ULONG64 BusyRun(BENCH_BODY Body, ULONG64 Iterations)
{
    ULONG64 Idle = PG_SHARED_USER_DATA->IdleHaltCycles;
    ULONG64 Start = ReadTsc();
    Body(Iterations);
    ULONG64 Elapsed = ReadTsc() - Start;
    return Elapsed - (PG_SHARED_USER_DATA->IdleHaltCycles - Idle);
}

static BOOLEAN DiskCounters(ATA_COUNTERS *Counters)
{
    IO_STATUS_BLOCK Iosb;
    NTSTATUS Status =
        NtDeviceIoControlFile(BenchFile, NULL, NULL, NULL, &Iosb, IOCTL_ATA_GET_COUNTERS, NULL, 0,
                              Counters, sizeof(*Counters));
    if (!NT_SUCCESS(Status))
        Fail("IOCTL_ATA_GET_COUNTERS", Status);
    return NT_SUCCESS(Status);
}

/* The median of REPEATS busy runs after a warm-up, less the empty loop;
 * with the driver's counters around them (how many went by DMA, how many
 * interrupts) and the idle time skipped per request. */
static void BenchDisk(const char *Name, BOOLEAN Write, ULONG64 Iterations)
{
    ULONG64 Samples[REPEATS];
    ATA_COUNTERS Before, After;
    ULONG64 IdleBefore;
    BenchFile = OpenBenchDevice(ATA_DISK_DEVICE_NAME);
    if (BenchFile == NULL || !DiskBuffer) {
        PrintBench(Name, 0, 1, 0);
        return;
    }
    DiskWrite = Write;
    memset(DiskBuffer, Write ? 0xA5 : 0, 4096);
    BusyRun(DiskRequests, Iterations);
    IdleBefore = PG_SHARED_USER_DATA->IdleHaltCycles;
    if (DiskCounters(&Before)) {
        for (int R = 0; R < REPEATS; R++)
            Samples[R] = BusyRun(DiskRequests, Iterations);
        if (DiskCounters(&After)) {
            ULONG64 Ops = REPEATS * Iterations;
            SortSamples(Samples, REPEATS);
            ULONG64 Empty = MedianRun(EmptyLoop, Iterations);
            ULONG64 Busy = Samples[REPEATS / 2];
            PrintBench(Name, Busy > Empty ? Busy - Empty : 0, Iterations, Iterations);
            printf("BENCHINFO name=%s requests=%llu dma_requests=%llu interrupts=%llu "
                   "timeouts=%llu idle_skipped_per_op=%llu\n",
                   Name, Ops, After.DmaRequests - Before.DmaRequests,
                   After.Interrupts - Before.Interrupts, After.Timeouts - Before.Timeouts,
                   (PG_SHARED_USER_DATA->IdleHaltCycles - IdleBefore) / Ops);
        }
    }
    NtClose(BenchFile);
}

/* Let the zero-page thread (priority 0) finish zeroing the free list
 * first: while it has work the processor never idles, and its
 * instructions would fill the time the requests wait for the disk. */
static void WaitForZeroedMemory(void)
{
    SYSTEM_MEMORY_INFORMATION Info;
    for (int Try = 0; Try < 500; Try++) {
        if (NT_SUCCESS(
                NtQuerySystemInformation(SystemMemoryInformation, &Info, sizeof(Info), NULL)) &&
            Info.FreePages == 0)
            return;
        PgSleep(20);
    }
    printf("ubench: the zero-page thread is still busy; disk figures include its work\n");
}

static void BenchDisks(BOOLEAN Read, BOOLEAN Write)
{
    PVOID Base = NULL;
    SIZE_T Size = 4096;
    NTSTATUS Status = NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                              MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!NT_SUCCESS(Status))
        Fail("NtAllocateVirtualMemory(4 KiB)", Status);
    DiskBuffer = NT_SUCCESS(Status) ? Base : NULL;
    WaitForZeroedMemory();
    if (Read)
        BenchDisk("disk_read_4k", FALSE, 200);
    if (Write)
        BenchDisk("disk_write_4k", TRUE, 200);
    if (DiskBuffer) {
        Size = 0;
        NtFreeVirtualMemory(NtCurrentProcess(), &Base, &Size, MEM_RELEASE);
    }
}

/* ---------------------------------------------------------------- event ping-pong */

/* Two synchronization events: the main thread sets Ping and waits on Pong;
 * the partner (a thread or a process) waits on Ping and sets Pong. Each
 * iteration is two one-way hand-offs, each a set, a wait that blocks, and
 * a context switch. */
static HANDLE PingEvent, PongEvent;

static void PingPong(ULONG64 Iterations)
{
    for (ULONG64 I = 0; I < Iterations; I++) {
        NTSTATUS Status = NtSetEvent(PingEvent, NULL);
        if (NT_SUCCESS(Status))
            Status = NtWaitForSingleObject(PongEvent, FALSE, NULL);
        if (!NT_SUCCESS(Status)) {
            Fail("ping-pong", Status);
            return;
        }
    }
}

static __attribute__((noreturn)) void PongLoop(HANDLE Ping, HANDLE Pong)
{
    for (;;) {
        NTSTATUS Status = NtWaitForSingleObject(Ping, FALSE, NULL);
        if (NT_SUCCESS(Status))
            Status = NtSetEvent(Pong, NULL);
        if (!NT_SUCCESS(Status)) {
            printf("ubench: pong failed: 0x%08x\n", (ULONG)Status);
            exit(1);
        }
    }
}

static void PongThread(PVOID Parameter)
{
    UNREFERENCED_PARAMETER(Parameter);
    PongLoop(PingEvent, PongEvent);
}

/* Inheritable, so the process variant's child gets them at the same values. */
static BOOLEAN CreatePingPongEvents(void)
{
    OBJECT_ATTRIBUTES Inherit;
    InitializeObjectAttributes(&Inherit, NULL, OBJ_INHERIT, NULL, NULL);
    NTSTATUS Status =
        NtCreateEvent(&PingEvent, EVENT_ALL_ACCESS, &Inherit, SynchronizationEvent, FALSE);
    if (NT_SUCCESS(Status))
        Status = NtCreateEvent(&PongEvent, EVENT_ALL_ACCESS, &Inherit, SynchronizationEvent, FALSE);
    if (!NT_SUCCESS(Status)) {
        Fail("NtCreateEvent", Status);
        return FALSE;
    }
    return TRUE;
}

static void ClosePingPongEvents(void)
{
    NtClose(PingEvent);
    NtClose(PongEvent);
}

static void BenchPingPongThread(ULONG64 Iterations)
{
    HANDLE Thread;
    NTSTATUS Status;

    if (!CreatePingPongEvents())
        return;
    Status = NtCreateThread(&Thread, NtCurrentProcess(), PongThread, NULL, NULL);
    if (!NT_SUCCESS(Status)) {
        Fail("NtCreateThread", Status);
        goto close_events;
    }
    Report("event_pingpong_thread", PingPong, Iterations, 2);
    NtTerminateThread(Thread, 0);
    NtWaitForSingleObject(Thread, FALSE, NULL);
    NtClose(Thread);
close_events:
    ClosePingPongEvents();
}

/* The partner is this program again, "--pong PING PONG", given the two
 * event handles by inheritance (the same values in its table). */
static void BenchPingPongProcess(ULONG64 Iterations)
{
    char CommandLine[64];
    HANDLE Process;
    NTSTATUS Status;

    if (!CreatePingPongEvents())
        return;
    snprintf(CommandLine, sizeof(CommandLine), "ubench --pong %llu %llu",
             (ULONG64)(ULONG_PTR)PingEvent, (ULONG64)(ULONG_PTR)PongEvent);
    Status = PgSpawn("/bin/ubench", CommandLine, CREATE_PROCESS_INHERIT_HANDLES, &Process, NULL);
    if (!NT_SUCCESS(Status)) {
        Fail("PgSpawn(/bin/ubench --pong)", Status);
        goto close_events;
    }
    Report("event_pingpong_process", PingPong, Iterations, 2);
    NtTerminateProcess(Process, 0);
    NtWaitForSingleObject(Process, FALSE, NULL);
    NtClose(Process);
close_events:
    ClosePingPongEvents();
}

/* ---------------------------------------------------------------- semaphore ping-pong */

/* The same ping-pong with two semaphores (count 0, limit 1): release one
 * unit, wait for the other. The partner process gets the two handles by
 * NtDuplicateObject (semaphore handles are not inheritable until
 * ObjectAttributes can say OBJ_INHERIT) and finds them with
 * PgFindDuplicatedHandles, in the order they were duplicated. That search
 * polls each handle with a zero-timeout wait, which would take a unit of
 * a released semaphore: so the partner says it is ready (one unit of
 * Pong) before the first Ping is released. */
static HANDLE PingSemaphore, PongSemaphore;

static void SemaphorePingPong(ULONG64 Iterations)
{
    for (ULONG64 I = 0; I < Iterations; I++) {
        NTSTATUS Status = NtReleaseSemaphore(PingSemaphore, 1, NULL);
        if (NT_SUCCESS(Status))
            Status = NtWaitForSingleObject(PongSemaphore, FALSE, NULL);
        if (!NT_SUCCESS(Status)) {
            Fail("semaphore ping-pong", Status);
            return;
        }
    }
}

static __attribute__((noreturn)) void SemaphorePongLoop(void)
{
    HANDLE Handles[2];
    if (PgFindDuplicatedHandles(Handles, 2, 5000) != 2) {
        printf("ubench: --spong: the semaphores did not arrive\n");
        exit(1);
    }
    (void)NtReleaseSemaphore(Handles[1], 1, NULL);     /* ready */
    for (;;) {
        NTSTATUS Status = NtWaitForSingleObject(Handles[0], FALSE, NULL);
        if (NT_SUCCESS(Status))
            Status = NtReleaseSemaphore(Handles[1], 1, NULL);
        if (!NT_SUCCESS(Status)) {
            printf("ubench: spong failed: 0x%08x\n", (ULONG)Status);
            exit(1);
        }
    }
}

static void BenchSemaphorePingPongProcess(ULONG64 Iterations)
{
    HANDLE Process, Copy;
    NTSTATUS Status = NtCreateSemaphore(&PingSemaphore, SEMAPHORE_ALL_ACCESS, NULL, 0, 1);
    if (NT_SUCCESS(Status))
        Status = NtCreateSemaphore(&PongSemaphore, SEMAPHORE_ALL_ACCESS, NULL, 0, 1);
    if (NT_SUCCESS(Status))
        Status = PgSpawn("/bin/ubench", "ubench --spong", 0, &Process, NULL);
    if (!NT_SUCCESS(Status)) {
        Fail("semaphores or PgSpawn(/bin/ubench --spong)", Status);
        return;
    }
    Status = NtDuplicateObject(NtCurrentProcess(), PingSemaphore, Process, &Copy, 0,
                               DUPLICATE_SAME_ACCESS);
    if (NT_SUCCESS(Status))
        Status = NtDuplicateObject(NtCurrentProcess(), PongSemaphore, Process, &Copy, 0,
                                   DUPLICATE_SAME_ACCESS);
    if (NT_SUCCESS(Status)) {
        LARGE_INTEGER Timeout = {.QuadPart = -50000000}; /* 5 s */
        Status = NtWaitForSingleObject(PongSemaphore, FALSE, &Timeout);
    }
    if (Status == STATUS_SUCCESS)
        Report("semaphore_pingpong_process", SemaphorePingPong, Iterations, 2);
    else
        Fail("NtDuplicateObject or the partner's ready signal", Status);
    NtTerminateProcess(Process, 0);
    NtWaitForSingleObject(Process, FALSE, NULL);
    NtClose(Process);
    NtClose(PingSemaphore);
    NtClose(PongSemaphore);
}

/* ---------------------------------------------------------------- page_fault */

#define FAULT_REGION_SIZE (64ULL * 1024 * 1024)
#define FAULT_PAGES       (FAULT_REGION_SIZE / PAGE_SIZE)

static BOOLEAN QueryMemory(SYSTEM_MEMORY_INFORMATION *Info)
{
    NTSTATUS Status = NtQuerySystemInformation(SystemMemoryInformation, Info, sizeof(*Info), NULL);
    if (!NT_SUCCESS(Status))
        Fail("NtQuerySystemInformation(SystemMemoryInformation)", Status);
    return NT_SUCCESS(Status);
}

/*
 * Commit 64 MiB, write one byte per page (each a demand-zero fault), then
 * write them all again (no faults: what the loop itself costs), release.
 * Returns the instructions of the first pass less the second.
 */
static ULONG64 FaultOnce(void)
{
    PVOID Base = NULL;
    SIZE_T Size = FAULT_REGION_SIZE;
    ULONG64 Start, Faulting, Mapped;
    NTSTATUS Status = NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                              MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!NT_SUCCESS(Status)) {
        Fail("NtAllocateVirtualMemory(64 MiB)", Status);
        return 0;
    }
    volatile UCHAR *Bytes = Base;
    Start = ReadTsc();
    for (ULONG64 Page = 0; Page < FAULT_PAGES; Page++)
        Bytes[Page * PAGE_SIZE] = 1;
    Faulting = ReadTsc() - Start;
    Start = ReadTsc();
    for (ULONG64 Page = 0; Page < FAULT_PAGES; Page++)
        Bytes[Page * PAGE_SIZE] = 2;
    Mapped = ReadTsc() - Start;
    Size = 0;
    Status = NtFreeVirtualMemory(NtCurrentProcess(), &Base, &Size, MEM_RELEASE);
    if (!NT_SUCCESS(Status))
        Fail("NtFreeVirtualMemory", Status);
    return Faulting > Mapped ? Faulting - Mapped : 0;
}

static void BenchPageFault(void)
{
    SYSTEM_MEMORY_INFORMATION Before, After;
    ULONG64 Samples[REPEATS];

    /* The zero-page thread (priority 0) runs while this one sleeps, so the
     * faults can take frames that are already zeroed. */
    PgSleep(300);
    FaultOnce();
    if (!QueryMemory(&Before))
        return;
    for (int R = 0; R < REPEATS; R++) {
        PgSleep(100); /* let it zero again what the last pass freed */
        Samples[R] = FaultOnce();
    }
    if (!QueryMemory(&After))
        return;
    SortSamples(Samples, REPEATS);
    PrintBench("page_fault", Samples[REPEATS / 2], FAULT_PAGES, FAULT_PAGES);
    printf("BENCHINFO name=page_fault faults=%llu zeroed_served=%llu zeroed_on_demand=%llu "
           "pages=%llu\n",
           After.DemandZeroFaults - Before.DemandZeroFaults,
           After.ZeroedPagesServed - Before.ZeroedPagesServed,
           After.PagesZeroedOnDemand - Before.PagesZeroedOnDemand,
           (ULONG64)(REPEATS * FAULT_PAGES));
}

/* ----------------------------------------------------------- soft_fault */

#define SOFT_FAULT_PAGES 1024ULL /* 4 MiB */

/* Empty this process's working set: every page it touched is in
 * transition now, its frame on the modified list (it was written). */
static BOOLEAN TrimSelf(void)
{
    SYSTEM_EMPTY_WORKING_SET Request = {0, 0};
    NTSTATUS Status =
        NtSetSystemInformation(SystemEmptyWorkingSetInformation, &Request, sizeof(Request));
    if (!NT_SUCCESS(Status))
        Fail("NtSetSystemInformation(SystemEmptyWorkingSetInformation)", Status);
    return NT_SUCCESS(Status);
}

/*
 * Write every page of Bytes after a trim (each a soft fault: transition to
 * valid, no I/O), then again (no faults: the loop itself). Returns the
 * instructions of the first pass less the second. The trim also takes the
 * benchmark's own code and stack pages: a handful of soft faults more per
 * pass, against SOFT_FAULT_PAGES.
 */
static ULONG64 SoftFaultOnce(volatile UCHAR *Bytes)
{
    if (!TrimSelf())
        return 0;
    ULONG64 Start = ReadTsc();
    for (ULONG64 Page = 0; Page < SOFT_FAULT_PAGES; Page++)
        Bytes[Page * PAGE_SIZE] = 3;
    ULONG64 Faulting = ReadTsc() - Start;
    Start = ReadTsc();
    for (ULONG64 Page = 0; Page < SOFT_FAULT_PAGES; Page++)
        Bytes[Page * PAGE_SIZE] = 4;
    ULONG64 Mapped = ReadTsc() - Start;
    return Faulting > Mapped ? Faulting - Mapped : 0;
}

static void BenchSoftFault(void)
{
    SYSTEM_MEMORY_INFORMATION Before, After;
    ULONG64 Samples[REPEATS];
    PVOID Base = NULL;
    SIZE_T Size = SOFT_FAULT_PAGES * PAGE_SIZE;
    NTSTATUS Status = NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                              MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!NT_SUCCESS(Status)) {
        Fail("NtAllocateVirtualMemory(4 MiB)", Status);
        return;
    }
    volatile UCHAR *Bytes = Base;
    for (ULONG64 Page = 0; Page < SOFT_FAULT_PAGES; Page++)
        Bytes[Page * PAGE_SIZE] = 1; /* demand-zero, outside the figure */
    SoftFaultOnce(Bytes);
    if (QueryMemory(&Before)) {
        for (int R = 0; R < REPEATS; R++)
            Samples[R] = SoftFaultOnce(Bytes);
        if (QueryMemory(&After)) {
            SortSamples(Samples, REPEATS);
            PrintBench("soft_fault", Samples[REPEATS / 2], SOFT_FAULT_PAGES, SOFT_FAULT_PAGES);
            printf("BENCHINFO name=soft_fault soft_faults=%llu trimmed=%llu pages=%llu\n",
                   After.TransitionFaults - Before.TransitionFaults,
                   After.TrimmedPages - Before.TrimmedPages, (ULONG64)(REPEATS * SOFT_FAULT_PAGES));
        }
    }
    Size = 0;
    Status = NtFreeVirtualMemory(NtCurrentProcess(), &Base, &Size, MEM_RELEASE);
    if (!NT_SUCCESS(Status))
        Fail("NtFreeVirtualMemory", Status);
}

/* ---------------------------------------------------------------- spawn */

static void SpawnTrue(ULONG64 Iterations)
{
    for (ULONG64 I = 0; I < Iterations; I++) {
        HANDLE Process;
        NTSTATUS Status = PgSpawn("/bin/true", NULL, 0, &Process, NULL);
        if (!NT_SUCCESS(Status)) {
            Fail("PgSpawn(/bin/true)", Status);
            return;
        }
        NtWaitForSingleObject(Process, FALSE, NULL);
        NtClose(Process);
    }
}

/* ---------------------------------------------------------------- main */

static BOOLEAN Wanted(int Argc, char **Argv, const char *Name)
{
    BOOLEAN Any = FALSE;
    for (int I = 1; I < Argc; I++) {
        if (Argv[I][0] == '-')
            continue;
        Any = TRUE;
        if (!strcmp(Argv[I], Name))
            return TRUE;
    }
    return !Any;
}

int main(int Argc, char **Argv, char **Envp)
{
    UNREFERENCED_PARAMETER(Envp);

    if (Argc == 2 && !strcmp(Argv[1], "--spong"))
        SemaphorePongLoop();
    if (Argc == 4 && !strcmp(Argv[1], "--pong"))
        PongLoop((HANDLE)(ULONG_PTR)strtoull(Argv[2], NULL, 0),
                 (HANDLE)(ULONG_PTR)strtoull(Argv[3], NULL, 0));
    for (int I = 1; I < Argc; I++)
        if (!strcmp(Argv[I], "--short")) {
            Report("null_syscall", NullSyscalls, 1000, 1);
            return 0;
        }

    if (Wanted(Argc, Argv, "null_syscall"))
        Report("null_syscall", NullSyscalls, 20000, 1);
    if (Wanted(Argc, Argv, "null_read"))
        BenchFileLoop("null_read", u"\\Device\\Null", NullReads, 20000);
    if (Wanted(Argc, Argv, "ioctl_buffered"))
        BenchFileLoop("ioctl_buffered", u"\\Device\\IoTest", BufferedControls, 20000);
    if (Wanted(Argc, Argv, "disk_read_4k") || Wanted(Argc, Argv, "disk_write_4k"))
        BenchDisks(Wanted(Argc, Argv, "disk_read_4k"), Wanted(Argc, Argv, "disk_write_4k"));
    if (Wanted(Argc, Argv, "event_pingpong_thread"))
        BenchPingPongThread(2000);
    if (Wanted(Argc, Argv, "event_pingpong_process"))
        BenchPingPongProcess(2000);
    if (Wanted(Argc, Argv, "semaphore_pingpong_process"))
        BenchSemaphorePingPongProcess(2000);
    if (Wanted(Argc, Argv, "page_fault"))
        BenchPageFault();
    if (Wanted(Argc, Argv, "soft_fault"))
        BenchSoftFault();
    if (Wanted(Argc, Argv, "spawn"))
        Report("spawn", SpawnTrue, 20, 1);
    printf("ubench: done\n");
    return 0;
}
