/*
 * pagestress - use more memory than the machine has and check every byte
 * (docs/paging.md). Nothing here knows about paging: the program commits
 * memory, writes it and reads it back, and the memory manager has to make
 * that work by sending pages to the pagefile and bringing them back.
 *
 *   pagestress [options] SIZE        SIZE: "96" or "96M" MiB, or "3x" times the RAM
 *     -p N       run N processes at once, each with SIZE (seeds differ)
 *     -r N       rounds (default 1); each round writes a new pattern
 *     -t SECS    instead of -r: rounds until SECS seconds have passed
 *     -s SEED    the first round's pattern (default: the process id)
 *     --sort     instead of a pattern: merge-sort SIZE bytes of 64-bit
 *                keys (uses 2 x SIZE) and check order and checksum
 *     --exits N  instead: N processes one after another, each pages its
 *                SIZE out (--out, below) and ends without freeing it; then
 *                the pagefile's slots in use must be back at their
 *                baseline: process exit returns its pagefile slots
 *     --out      (one child of --exits) write SIZE, empty the working
 *                set, flush the modified list to the pagefile (so every
 *                page has a slot), read the first half back and check it,
 *                and end holding all of it
 *
 * A pattern round writes word i of the region as (i * K) ^ seed, front
 * to back, then reads it all back: a word that comes back wrong names its
 * address, the bytes it held and the bytes it should hold. Each round ends
 * with one line:
 *
 *   pagestress[12]: round 1: 96 MiB written and checked, 0 bad words
 *     (system-wide: soft faults +95, hard faults +24410, pages written +30202, trimmed +30202)
 *
 * The exit status is 0 when every word of every round (and every child)
 * was right, 1 when one was not, or the NTSTATUS of a failed allocation.
 */
#include "pagoda.h"

#define PS_GOLDEN 0x9E3779B97F4A7C15ULL

typedef struct _PS_OPTIONS {
    ULONG64 Bytes;
    ULONG Processes;
    ULONG Rounds;
    ULONG Seconds;
    ULONG Exits;
    ULONG64 Seed;
    BOOLEAN Sort;
    BOOLEAN Out;
} PS_OPTIONS;

static SYSTEM_MEMORY_INFORMATION PsMemory(void)
{
    SYSTEM_MEMORY_INFORMATION Info;
    memset(&Info, 0, sizeof(Info));
    (void)NtQuerySystemInformation(SystemMemoryInformation, &Info, sizeof(Info), NULL);
    return Info;
}

/* "96" or "96M" (MiB) or "3x" (times the machine's RAM), in bytes; 0 if
 * none of those. */
static ULONG64 PsParseSize(const char *Text)
{
    char *End;
    ULONG64 Number = strtoull(Text, &End, 10);
    if (End == Text)
        return 0;
    if (*End == 'x' && End[1] == 0)
        return Number * PsMemory().TotalPages * PAGE_SIZE;
    if (*End == 0 || (*End == 'M' && End[1] == 0))
        return Number << 20;
    return 0;
}

static int PsUsage(void)
{
    printf("usage: pagestress [-p N] [-r N | -t SECS] [-s SEED] [--sort | --exits N | --out] "
           "SIZE(MiB | Nx RAM)\n");
    return 2;
}

static BOOLEAN PsParse(int Argc, char **Argv, PS_OPTIONS *Options)
{
    memset(Options, 0, sizeof(*Options));
    Options->Processes = 1;
    Options->Rounds = 1;
    Options->Seed = PgCurrentProcessId();
    for (int i = 1; i < Argc; i++) {
        const char *Arg = Argv[i];
        BOOLEAN HasValue = i + 1 < Argc;
        if (!strcmp(Arg, "--sort"))
            Options->Sort = TRUE;
        else if (!strcmp(Arg, "--out"))
            Options->Out = TRUE;
        else if (!strcmp(Arg, "--exits") && HasValue)
            Options->Exits = (ULONG)strtoull(Argv[++i], NULL, 10);
        else if (!strcmp(Arg, "-p") && HasValue)
            Options->Processes = (ULONG)strtoull(Argv[++i], NULL, 10);
        else if (!strcmp(Arg, "-r") && HasValue)
            Options->Rounds = (ULONG)strtoull(Argv[++i], NULL, 10);
        else if (!strcmp(Arg, "-t") && HasValue)
            Options->Seconds = (ULONG)strtoull(Argv[++i], NULL, 10);
        else if (!strcmp(Arg, "-s") && HasValue)
            Options->Seed = strtoull(Argv[++i], NULL, 0);
        else if (Arg[0] != '-' && !Options->Bytes)
            Options->Bytes = PsParseSize(Arg) & ~(ULONG64)(PAGE_SIZE - 1);
        else
            return FALSE;
    }
    return Options->Bytes != 0 && Options->Processes != 0 && Options->Rounds != 0;
}

static PULONG64 PsAllocate(ULONG64 Bytes, NTSTATUS *Status)
{
    PVOID Base = NULL;
    SIZE_T Size = Bytes;
    *Status = NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size, MEM_RESERVE | MEM_COMMIT,
                                      PAGE_READWRITE);
    if (!NT_SUCCESS(*Status)) {
        printf("pagestress[%u]: committing %llu MiB failed: %s\n", PgCurrentProcessId(),
               Bytes >> 20, PgStatusName(*Status));
        return NULL;
    }
    return Base;
}

static void PsFree(PVOID Base)
{
    SIZE_T Size = 0;
    (void)NtFreeVirtualMemory(NtCurrentProcess(), &Base, &Size, MEM_RELEASE);
}

/* One pattern round over Words words: the number of wrong words. */
static ULONG64 PsPatternRound(volatile ULONG64 *Words, ULONG64 Count, ULONG64 Seed)
{
    ULONG64 Bad = 0;
    for (ULONG64 i = 0; i < Count; i++)
        Words[i] = (i * PS_GOLDEN) ^ Seed;
    for (ULONG64 i = 0; i < Count; i++) {
        ULONG64 Want = (i * PS_GOLDEN) ^ Seed, Got = Words[i];
        if (Got == Want)
            continue;
        if (Bad++ < 4)
            printf("pagestress[%u]: %p holds %016llx, should hold %016llx\n", PgCurrentProcessId(),
                   (void *)&Words[i], Got, Want);
    }
    return Bad;
}

/* Merge the sorted runs A[0..Mid) and A[Mid..End) into Out. */
static void PsMerge(const ULONG64 *A, ULONG64 Mid, ULONG64 End, ULONG64 *Out)
{
    ULONG64 i = 0, j = Mid, k = 0;
    while (i < Mid && j < End)
        Out[k++] = A[i] <= A[j] ? A[i++] : A[j++];
    while (i < Mid)
        Out[k++] = A[i++];
    while (j < End)
        Out[k++] = A[j++];
}

/* Bottom-up merge sort of Keys with Scratch; returns where the result is. */
static ULONG64 *PsMergeSort(ULONG64 *Keys, ULONG64 *Scratch, ULONG64 Count)
{
    for (ULONG64 Width = 1; Width < Count; Width *= 2) {
        for (ULONG64 Start = 0; Start < Count; Start += 2 * Width) {
            ULONG64 Mid = Start + Width < Count ? Start + Width : Count;
            ULONG64 End = Start + 2 * Width < Count ? Start + 2 * Width : Count;
            PsMerge(Keys + Start, Mid - Start, End - Start, Scratch + Start);
        }
        ULONG64 *Swap = Keys;
        Keys = Scratch;
        Scratch = Swap;
    }
    return Keys;
}

/* One sort round: keys from xorshift64, sorted, then checked in order and
 * by their sum and xor. The number of faults found (0 or 1). */
static ULONG64 PsSortRound(ULONG64 *Keys, ULONG64 *Scratch, ULONG64 Count, ULONG64 Seed)
{
    ULONG64 State = Seed | 1, Sum = 0, Xor = 0;
    for (ULONG64 i = 0; i < Count; i++) {
        State ^= State << 13;
        State ^= State >> 7;
        State ^= State << 17;
        Keys[i] = State;
        Sum += State;
        Xor ^= State;
    }
    ULONG64 *Sorted = PsMergeSort(Keys, Scratch, Count);
    for (ULONG64 i = 0; i < Count; i++) {
        if (i > 0 && Sorted[i - 1] > Sorted[i]) {
            printf("pagestress[%u]: out of order at key %llu\n", PgCurrentProcessId(), i);
            return 1;
        }
        Sum -= Sorted[i];
        Xor ^= Sorted[i];
    }
    if (Sum || Xor)
        printf("pagestress[%u]: the sorted keys are not the keys written\n", PgCurrentProcessId());
    return Sum || Xor;
}

static void PsReport(ULONG Round, const PS_OPTIONS *Options, ULONG64 Bad,
                     const SYSTEM_MEMORY_INFORMATION *Before)
{
    SYSTEM_MEMORY_INFORMATION After = PsMemory();
    printf("pagestress[%u]: round %u: %llu MiB %s, %llu bad %s (system-wide: soft faults +%llu, "
           "hard faults +%llu, pages written +%llu, trimmed +%llu)\n",
           PgCurrentProcessId(), Round, Options->Bytes >> 20,
           Options->Sort ? "of keys sorted and checked" : "written and checked", Bad,
           Options->Sort ? "sorts" : "words", After.TransitionFaults - Before->TransitionFaults,
           After.HardFaults - Before->HardFaults, After.PagesWritten - Before->PagesWritten,
           After.TrimmedPages - Before->TrimmedPages);
}

static BOOLEAN PsMoreRounds(const PS_OPTIONS *Options, ULONG Done, ULONG64 StartTick)
{
    if (Options->Seconds)
        return PgTickCount() - StartTick < Options->Seconds * 1000ULL;
    return Done < Options->Rounds;
}

/* The work of one process: its rounds; 0, 1 (a wrong word) or a status. */
static int PsRun(const PS_OPTIONS *Options)
{
    NTSTATUS Status;
    ULONG64 *Keys = PsAllocate(Options->Bytes, &Status), *Scratch = NULL;
    if (!Keys)
        return (int)Status;
    if (Options->Sort && !(Scratch = PsAllocate(Options->Bytes, &Status))) {
        PsFree(Keys);
        return (int)Status;
    }
    ULONG64 Count = Options->Bytes / sizeof(ULONG64), BadTotal = 0, StartTick = PgTickCount();
    ULONG Round = 0;
    while (PsMoreRounds(Options, Round, StartTick)) {
        SYSTEM_MEMORY_INFORMATION Before = PsMemory();
        ULONG64 Seed = Options->Seed + Round * PS_GOLDEN;
        ULONG64 Bad = Options->Sort ? PsSortRound(Keys, Scratch, Count, Seed)
                                    : PsPatternRound(Keys, Count, Seed);
        PsReport(++Round, Options, Bad, &Before);
        BadTotal += Bad;
    }
    if (Scratch)
        PsFree(Scratch);
    PsFree(Keys);
    return BadTotal ? 1 : 0;
}

/* Write every page on the modified list to the pagefile now. */
static NTSTATUS PsFlushModifiedList(void)
{
    ULONG Command = MemoryFlushModifiedList;
    return NtSetSystemInformation(SystemMemoryListInformation, &Command, sizeof(Command));
}

/* --out: page SIZE out and end holding it (the exit must free the slots).
 * 0, 1 (a wrong word), 3 (the pagefile did not take the pages) or a
 * status. */
static int PsPageOutAndExit(const PS_OPTIONS *Options)
{
    SYSTEM_EMPTY_WORKING_SET Trim = {0, 0};
    NTSTATUS Status;
    volatile ULONG64 *Words = PsAllocate(Options->Bytes, &Status);
    ULONG64 Count = Options->Bytes / sizeof(ULONG64), Bad = 0;
    if (!Words)
        return (int)Status;
    for (ULONG64 i = 0; i < Count; i++)
        Words[i] = (i * PS_GOLDEN) ^ Options->Seed;
    SYSTEM_MEMORY_INFORMATION Before = PsMemory();
    Status = NtSetSystemInformation(SystemEmptyWorkingSetInformation, &Trim, sizeof(Trim));
    if (NT_SUCCESS(Status))
        Status = PsFlushModifiedList();
    if (!NT_SUCCESS(Status))
        return (int)Status;
    SYSTEM_MEMORY_INFORMATION After = PsMemory();
    if (After.PageFileInUse < Before.PageFileInUse + Options->Bytes / PAGE_SIZE) {
        printf("pagestress[%u]: only %llu of %llu pages went to the pagefile\n",
               PgCurrentProcessId(), After.PageFileInUse - Before.PageFileInUse,
               Options->Bytes / PAGE_SIZE);
        return 3;
    }
    /* Half back in (their copies stay in the pagefile), half left out. */
    for (ULONG64 i = 0; i < Count / 2; i++)
        Bad += Words[i] != ((i * PS_GOLDEN) ^ Options->Seed);
    return Bad ? 1 : 0;
}

/* --exits N: N --out children, one after another, then the pagefile's
 * slots in use must be back where they were. */
static int PsRunExits(const PS_OPTIONS *Options)
{
    char CommandLine[96];
    NTSTATUS Status = PsFlushModifiedList();
    if (!NT_SUCCESS(Status))
        return (int)Status;
    SYSTEM_MEMORY_INFORMATION Baseline = PsMemory();
    if (Baseline.PageFilePages == 0) {
        printf("pagestress: --exits needs a pagefile (boot with a disk: docs/paging.md)\n");
        return 2;
    }
    for (ULONG i = 0; i < Options->Exits; i++) {
        HANDLE Child;
        NTSTATUS Exit = STATUS_UNSUCCESSFUL;
        snprintf(CommandLine, sizeof(CommandLine), "pagestress --out -s %llu %lluM",
                 Options->Seed * 1000 + i, Options->Bytes >> 20);
        Status = PgSpawn("pagestress", CommandLine, 0, &Child, NULL);
        if (NT_SUCCESS(Status))
            Status = PgWaitProcess(Child, &Exit);
        if (NT_SUCCESS(Status))
            NtClose(Child);
        if (!NT_SUCCESS(Status) || Exit != 0) {
            printf("pagestress: child %u: %s, exit 0x%x\n", i, PgStatusName(Status), Exit);
            return NT_SUCCESS(Status) ? (int)Exit : (int)Status;
        }
    }
    (void)PsFlushModifiedList();
    SYSTEM_MEMORY_INFORMATION After = PsMemory();
    printf("pagestress[%u]: %u processes each paged out %llu pages and ended: pagefile slots in "
           "use %llu before, %llu after\n",
           PgCurrentProcessId(), Options->Exits, Options->Bytes / PAGE_SIZE, Baseline.PageFileInUse,
           After.PageFileInUse);
    return After.PageFileInUse == Baseline.PageFileInUse ? 0 : 4;
}

/* -p N: N copies of this program with the same work and their own seeds;
 * the first failure's exit status, or 0. */
static int PsRunChildren(const PS_OPTIONS *Options)
{
    HANDLE Children[16];
    char CommandLine[128];
    ULONG Count = Options->Processes < 16 ? Options->Processes : 16, Started = 0;
    int Result = 0;
    for (ULONG i = 0; i < Count; i++) {
        snprintf(CommandLine, sizeof(CommandLine), "pagestress -s %llu %s %s %u %lluM",
                 Options->Seed * 16 + i + 1, Options->Sort ? "--sort" : "",
                 Options->Seconds ? "-t" : "-r",
                 Options->Seconds ? Options->Seconds : Options->Rounds, Options->Bytes >> 20);
        NTSTATUS Status = PgSpawn("pagestress", CommandLine, 0, &Children[Started], NULL);
        if (!NT_SUCCESS(Status)) {
            printf("pagestress: starting child %u failed: %s\n", i, PgStatusName(Status));
            Result = (int)Status;
            continue;
        }
        Started++;
    }
    for (ULONG i = 0; i < Started; i++) {
        NTSTATUS Exit = STATUS_UNSUCCESSFUL;
        if (!NT_SUCCESS(PgWaitProcess(Children[i], &Exit)) || (Exit != 0 && Result == 0))
            Result = Exit ? (int)Exit : 1;
        NtClose(Children[i]);
    }
    return Result;
}

int main(int Argc, char **Argv, char **Envp)
{
    PS_OPTIONS Options;
    UNREFERENCED_PARAMETER(Envp);
    if (!PsParse(Argc, Argv, &Options))
        return PsUsage();
    int Result;
    if (Options.Exits)
        Result = PsRunExits(&Options);
    else if (Options.Out)
        Result = PsPageOutAndExit(&Options);
    else
        Result = Options.Processes > 1 ? PsRunChildren(&Options) : PsRun(&Options);
    if (!Options.Out || Result != 0) /* quiet --exits children that pass */
        printf("pagestress[%u]: %s\n", PgCurrentProcessId(), Result == 0 ? "PASS" : "FAIL");
    return Result;
}
