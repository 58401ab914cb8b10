/*
 * fuzz - the system-call fuzzer (docs/verifier.md, "Fuzzing").
 *
 *   fuzz SEED COUNT [SEEDS] [-v]
 *
 * For each seed SEED, SEED+1, ... (SEEDS of them, default 1, and more -
 * up to SEEDS more - while the calls made fall short of COUNT x SEEDS) the
 * parent starts a child, "fuzz --child SEED COUNT SEMAPHORE FOREIGN [-v]",
 * which
 * makes COUNT calls of random services with arguments drawn from a nasty
 * set, then exits with STATUS_SUCCESS. The services are the lines of
 * include/ntsyscalls.h (a new service is fuzzed without a change here),
 * plus numbers past the end of the table. -v makes the child print every
 * call before making it, to find the one that brought the kernel down.
 *
 * A child may end early with an NT status (NtContinue into garbage, an APC
 * routine that is not code, a thread it terminated): a clean failure,
 * counted by status; the calls it did not make are made up by the seeds
 * after the last one asked for, so the run makes all the calls asked.
 * What fails the run is a child that outlives its time
 * bound (a hang: the parent terminates it), or a baseline that does not
 * come back once the child is gone: available pages, pool bytes in use of
 * every tag, the number of processes and of handles in every process.
 * (A bugcheck ends the whole machine: the test driver sees it.)
 *
 * The child reports its progress by releasing the inherited SEMAPHORE once
 * every FZ_BATCH calls (and the remainder at the end): the parent reads
 * the count to print the calls made even when a child died early.
 *
 * What the child does not do, so that it does not end itself uselessly:
 * terminate its own process (-1, 0, or a handle to itself) or its own
 * thread (-2, 0); pass SEMAPHORE or its console handle anywhere (a write of
 * garbage to the console would reach the test log, a read would wait for a
 * key); wait with no timeout or a long
 * one; make a permanent object (OBJ_PERMANENT would rightly outlive it and
 * read as drift). NtContinue and NtRegisterUserApcDispatcher are kept one
 * time in 1024 that they are drawn, and APC, timer and thread routines are
 * garbage one time in 1024 only (real code otherwise), since garbage there
 * ends the child; a child still ends early now and then, and is counted.
 *
 * Exit status: 0 when every seed passed, else STATUS_UNSUCCESSFUL.
 */
#include "pagoda.h"
#include "ntmmapi.h"
#include "ntsyscalls.h"

/* ------------------------------------------------------------------------
 * The service list, from include/ntsyscalls.h
 * ------------------------------------------------------------------------ */

typedef struct _FZ_SERVICE {
    const char *Name;
    ULONG ArgumentCount;
} FZ_SERVICE;

#define FZ_SERVICE_ENTRY(Name, Count) {#Name, Count},
static const FZ_SERVICE FzServices[] = {PAGODA_SYSTEM_SERVICES(FZ_SERVICE_ENTRY)};
#define FZ_SERVICE_NUMBER(Name, Count) FZ_##Name,
enum { PAGODA_SYSTEM_SERVICES(FZ_SERVICE_NUMBER) FZ_SERVICE_COUNT };

#define FZ_BATCH 16             /* calls per release of the progress semaphore */
#define FZ_SLOTS 64             /* handle slots the services write into */
#define FZ_SCRATCH 0x4000       /* bytes of writable scratch memory */

/* ------------------------------------------------------------------------
 * Random numbers: xorshift64*, one stream per seed
 * ------------------------------------------------------------------------ */

static ULONG64 FzState;

static ULONG64 FzRandom(void)
{
    FzState ^= FzState >> 12;
    FzState ^= FzState << 25;
    FzState ^= FzState >> 27;
    return FzState * 0x2545F4914F6CDD1DULL;
}

static ULONG FzBelow(ULONG Bound)
{
    return (ULONG)((FzRandom() >> 32) % Bound);
}

/* ------------------------------------------------------------------------
 * The nasty values
 * ------------------------------------------------------------------------ */

static const ULONG64 FzIntegers[] = {
    0, 1, 2, 3, 4, 7, 8, 0x10, 0x20, 0x7F, 0x80, 0xFF, 0x100, 0xFFF, 0x1000, 0x1001,
    0x10000, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000ULL,
    ~0ULL, ~1ULL, ~0xFFFULL, 0x8000000000000000ULL, 0x7FFFFFFFFFFFFFFFULL,
    MEM_COMMIT, MEM_RESERVE, MEM_COMMIT | MEM_RESERVE, MEM_RELEASE, MEM_DECOMMIT,
    PAGE_READWRITE, PAGE_READONLY, PAGE_NOACCESS, PAGE_GUARD | PAGE_READWRITE,
    PAGE_EXECUTE_READWRITE, 100, 101, 102, 5, 22, /* information classes */
};

/* Addresses no service may touch: kernel space, non-canonical, the top of
 * user space, the null page, read-only pages. */
static const ULONG64 FzBadAddresses[] = {
    0x8, 0x1000, 0xFFFF800000000000ULL, 0xFFFFF78000000000ULL, 0xFFFFF6FB7DBED000ULL,
    0xFFFFFFFF80000000ULL, 0xFFFFFFFF80100000ULL, 0xFFFFFFFFFFFFF000ULL,
    0x0000800000000000ULL, 0x00007FFFFFFFFFF8ULL, 0x00FF000000000000ULL,
    0x8000000000000000ULL, 0xFFFF7FFFFFFFFFF8ULL, 0x00007FFFFFFF0000ULL,
    0x00007FFFFFFEFFF8ULL, 0x00007FFFFFFEF000ULL, 0x00007FFFFFFEFFFFULL,
    0x7FFE0000, 0x7FFE0FFC, /* KUSER_SHARED_DATA: read-only */
};

/* The straddling layout (FzMapLayout): page 0 read-write, page 1 reserved
 * and never committed, page 2 read-only, page 3 no-access, page 4 guard,
 * page 5 read-write; and a region allocated, then released. */
static ULONG64 FzLayout, FzReleased;
static ULONG64 FzStraddles[12];

static UCHAR FzScratch[FZ_SCRATCH] __attribute__((aligned(4096)));
static HANDLE FzSlots[FZ_SLOTS];
static LARGE_INTEGER FzTimeouts[4];
static OBJECT_ATTRIBUTES FzAttributes;
static UNICODE_STRING FzName;
static CREATE_PROCESS_INFO FzCreateInfo;
static HANDLE FzClosed, FzForeign, FzSemaphore, FzStdIn, FzStdOut;
static ULONG FzOwnProcessId;
static BOOLEAN FzVerbose;

static const WCHAR *const FzNames[] = {
    u"\\BaseNamedObjects\\FuzzA", u"\\BaseNamedObjects\\FuzzB", u"\\FuzzRoot", u"\\",
    u"\\ObjectTypes", u"\\BaseNamedObjects\\..", u"relative", u"\\BaseNamedObjects\\",
};

static ULONG64 FzPick(const ULONG64 *Table, ULONG Count)
{
    return Table[FzBelow(Count)];
}

/* A handle: a slot (what services returned, or garbage written there), a
 * pseudo-handle, a closed one, one of the parent's, or any number. */
static ULONG64 FzHandle(void)
{
    switch (FzBelow(8)) {
    case 0: return (ULONG64)-1;
    case 1: return (ULONG64)-2;
    case 2: return (ULONG64)FzClosed;
    case 3: return (ULONG64)FzForeign;
    case 4: return FzBelow(64) * 4;
    case 5: return FzPick(FzIntegers, ARRAYSIZE(FzIntegers));
    default: return (ULONG64)FzSlots[FzBelow(FZ_SLOTS)];
    }
}

/* A pointer to memory this process owns: scratch (some of it unaligned),
 * the handle slots, or one of the prepared structures. */
static ULONG64 FzBuffer(void)
{
    switch (FzBelow(10)) {
    case 0: return (ULONG64)&FzScratch[FzBelow(64) * 8];
    case 1: return (ULONG64)&FzScratch[1 + FzBelow(7)];
    case 2: return (ULONG64)&FzSlots[FzBelow(FZ_SLOTS)];
    case 3: return (ULONG64)&FzSlots[0];
    case 4: return (ULONG64)&FzAttributes;
    case 5: return (ULONG64)&FzName;
    case 6: return (ULONG64)&FzTimeouts[FzBelow(4)];
    case 7: return (ULONG64)&FzCreateInfo;
    case 8: return (ULONG64)&FzScratch[FZ_SCRATCH - 8 * (1 + FzBelow(8))];
    default: return (ULONG64)FzScratch;
    }
}

static ULONG64 FzArgument(void)
{
    switch (FzBelow(8)) {
    case 0:
    case 1: return FzHandle();
    case 2:
    case 3: return FzPick(FzIntegers, ARRAYSIZE(FzIntegers));
    case 4: return FzPick(FzBadAddresses, ARRAYSIZE(FzBadAddresses));
    case 5: return FzStraddles[FzBelow(ARRAYSIZE(FzStraddles))];
    default: return FzBuffer();
    }
}

/* Fresh contents for the scratch words and prepared structures the
 * services read: nasty integers and addresses, never this process's own
 * buffers (a NtFreeVirtualMemory of the scratch would only end the child). */
static void FzRefresh(void)
{
    ULONG64 *Words = (ULONG64 *)FzScratch;
    static const ULONG Attributes[] = {0,
                                       OBJ_OPENIF,
                                       OBJ_CASE_INSENSITIVE,
                                       OBJ_INHERIT,
                                       OBJ_KERNEL_HANDLE,
                                       OBJ_OPENLINK | OBJ_OPENIF,
                                       0xFFFFFFFF,
                                       OBJ_VALID_ATTRIBUTES};
    const WCHAR *Name = FzNames[FzBelow(ARRAYSIZE(FzNames))];
    USHORT Bytes = 0;

    for (int i = 0; i < 8; i++)
        Words[FzBelow(64)] = FzBelow(2) ? FzPick(FzIntegers, ARRAYSIZE(FzIntegers))
                                        : FzPick(FzBadAddresses, ARRAYSIZE(FzBadAddresses));
    while (Name[Bytes / 2])
        Bytes += 2;
    FzName.Buffer = (PWSTR)Name;
    FzName.Length = FzName.MaximumLength = Bytes;
    switch (FzBelow(8)) {
    case 0: FzName.Length = Bytes + 1; break;
    case 1: FzName.Length = 0xFFFE; break;
    case 2: FzName.Buffer = (PWSTR)FzPick(FzBadAddresses, ARRAYSIZE(FzBadAddresses)); break;
    case 3: FzName.Buffer = (PWSTR)FzStraddles[0]; break;
    }
    FzAttributes.Length = FzBelow(8) ? sizeof(OBJECT_ATTRIBUTES) : (ULONG)FzRandom();
    FzAttributes.RootDirectory = FzBelow(4) ? NULL : (HANDLE)FzHandle();
    FzAttributes.ObjectName = FzBelow(4) ? &FzName : (PUNICODE_STRING)FzArgument();
    /* Never permanent: such an object rightly outlives the child. */
    FzAttributes.Attributes = Attributes[FzBelow(ARRAYSIZE(Attributes))] & ~OBJ_PERMANENT;
    FzTimeouts[0].QuadPart = 0;
    FzTimeouts[1].QuadPart = -1;
    FzTimeouts[2].QuadPart = -10000; /* 1 ms */
    FzTimeouts[3].QuadPart = -(LONGLONG)FzBelow(10000);
    FzCreateInfo.ImagePath = FzBelow(2) ? "/bin/true" : (const char *)FzArgument();
    FzCreateInfo.CommandLine = FzBelow(2) ? NULL : (const char *)FzArgument();
    FzCreateInfo.Environment = NULL;
    FzCreateInfo.Flags = (ULONG)FzPick(FzIntegers, ARRAYSIZE(FzIntegers));
}

/* ------------------------------------------------------------------------
 * The child
 * ------------------------------------------------------------------------ */

/* Routines the services may be given that are real code. */
static void FzThreadStart(PVOID Parameter)
{
    LARGE_INTEGER Interval;
    UNREFERENCED_PARAMETER(Parameter);
    Interval.QuadPart = -20000; /* 2 ms, alertable: APCs and alerts land here */
    NtDelayExecution(TRUE, &Interval);
    NtTerminateThread(NtCurrentThread(), STATUS_SUCCESS);
}

static void FzApcRoutine(PVOID A, PVOID B, PVOID C)
{
    UNREFERENCED_PARAMETER(A);
    UNREFERENCED_PARAMETER(B);
    UNREFERENCED_PARAMETER(C);
}

/* The handles the child must keep: its semaphore, and its console input
 * and output (a read of the console blocks until a key is typed). As in
 * NT, a handle's two low bits are ignored, so 0x0D names the handle 0x0C:
 * compare without them. */
static BOOLEAN FzIsProtected(ULONG64 Value)
{
    Value &= ~3ULL;
    return Value &&
        (Value == (ULONG64)FzSemaphore || Value == (ULONG64)FzStdIn || Value == (ULONG64)FzStdOut);
}

/* TRUE when Handle names this process (NtCurrentProcess, NULL, or a handle
 * to it, which NtDuplicateObject can make). */
static BOOLEAN FzIsSelf(ULONG64 Handle)
{
    PROCESS_BASIC_INFORMATION Info;
    if (Handle == (ULONG64)-1 || Handle == 0)
        return TRUE;
    return NT_SUCCESS(NtQueryInformationProcess((HANDLE)Handle, ProcessBasicInformation, &Info,
                                                sizeof(Info), NULL)) &&
           Info.UniqueProcessId == FzOwnProcessId;
}

/* A timeout: a short one, or an address no user-mode call can make
 * readable: kernel space or non-canonical. (Not KUSER_SHARED_DATA, whose
 * clock is a timeout of days, nor a user page: the child's own fuzzed
 * NtAllocateVirtualMemory may commit it, and the garbage written there
 * later is a timeout of years.) */
static ULONG64 FzTimeout(void)
{
    static const ULONG64 Unreadable[] = {
        0xFFFF800000000000ULL, 0xFFFFF78000000000ULL, 0xFFFFFFFF80000000ULL,
        0xFFFFFFFFFFFFFFF8ULL, 0x0000800000000000ULL, 0x00007FFFFFFFFFFCULL,
        0x8000000000000000ULL, 0xFFFF7FFFFFFFFFF8ULL,
    };
    if (FzBelow(4))
        return (ULONG64)&FzTimeouts[FzBelow(4)];
    return FzPick(Unreadable, ARRAYSIZE(Unreadable));
}

/* Keep the call from ending the child uselessly (the file header). */
static void FzConstrain(ULONG64 Number, ULONG64 *Args)
{
    for (int i = 0; i < 6; i++)
        if (FzIsProtected(Args[i]))
            Args[i] = (ULONG64)FzClosed;
    switch (Number) {
    case FZ_NtTerminateProcess:
        if (FzIsSelf(Args[0]))
            Args[0] = (ULONG64)FzClosed;
        break;
    case FZ_NtTerminateThread:
        if (Args[0] == (ULONG64)-2 || Args[0] == 0)
            Args[0] = (ULONG64)FzClosed;
        break;
    case FZ_NtWaitForSingleObject: Args[2] = FzTimeout(); break;
    case FZ_NtWaitForMultipleObjects: Args[4] = FzTimeout(); break;
    case FZ_NtDelayExecution: Args[1] = FzTimeout(); break;
    case FZ_NtCreateThread:
        if (FzBelow(1024))
            Args[2] = (ULONG64)FzThreadStart;
        break;
    case FZ_NtQueueApcThread:
        if (FzBelow(1024))
            Args[1] = (ULONG64)FzApcRoutine;
        break;
    case FZ_NtSetTimer:
        if (FzBelow(1024))
            Args[2] = FzBelow(2) ? 0 : (ULONG64)FzApcRoutine;
        break;
    }
}

/* The next service number: one of the table (NtContinue and
 * NtRegisterUserApcDispatcher one time in 1024), or one past its end. */
static ULONG64 FzService(void)
{
    for (;;) {
        ULONG Pick = FzBelow(FZ_SERVICE_COUNT + 2);
        if (Pick == FZ_SERVICE_COUNT)
            return FZ_SERVICE_COUNT + FzBelow(4);
        if (Pick == FZ_SERVICE_COUNT + 1)
            return FzPick(FzIntegers, ARRAYSIZE(FzIntegers)) | FZ_SERVICE_COUNT;
        if ((Pick == FZ_NtContinue || Pick == FZ_NtRegisterUserApcDispatcher) && FzBelow(1024))
            continue;
        return Pick;
    }
}

static void FzPrintCall(ULONG64 Index, ULONG64 Number, const ULONG64 *Args)
{
    printf("fuzz: call %llu: %s", Index,
           Number < FZ_SERVICE_COUNT ? FzServices[Number].Name : "(out of range)");
    printf(" [%llu](0x%llx, 0x%llx, 0x%llx, 0x%llx, 0x%llx, 0x%llx)\n", Number, Args[0], Args[1],
           Args[2], Args[3], Args[4], Args[5]);
}

/* The straddling pages and the handles the calls start from. */
static void FzMapLayout(void)
{
    static const ULONG Protect[6] = {PAGE_READWRITE, 0, PAGE_READONLY, PAGE_NOACCESS,
                                     PAGE_READWRITE | PAGE_GUARD, PAGE_READWRITE};
    PVOID Base = NULL;
    SIZE_T Size = 6 * PAGE_SIZE;

    NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size, MEM_RESERVE, PAGE_READWRITE);
    FzLayout = (ULONG64)Base;
    for (int i = 0; i < 6; i++) {
        PVOID Page = (PVOID)(FzLayout + i * PAGE_SIZE);
        Size = PAGE_SIZE;
        if (Protect[i])
            NtAllocateVirtualMemory(NtCurrentProcess(), &Page, 0, &Size, MEM_COMMIT, Protect[i]);
    }
    Base = NULL;
    Size = PAGE_SIZE;
    NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size, MEM_COMMIT | MEM_RESERVE,
                            PAGE_READWRITE);
    FzReleased = (ULONG64)Base;
    Size = 0;
    NtFreeVirtualMemory(NtCurrentProcess(), &Base, &Size, MEM_RELEASE);
    ULONG64 Straddles[12] = {
        FzLayout + PAGE_SIZE - 1,     FzLayout + PAGE_SIZE - 4,     FzLayout + PAGE_SIZE - 8,
        FzLayout + PAGE_SIZE - 0x30,  FzLayout + PAGE_SIZE,         FzLayout + 3 * PAGE_SIZE - 8,
        FzLayout + 2 * PAGE_SIZE + 8, FzLayout + 4 * PAGE_SIZE - 8, FzLayout + 5 * PAGE_SIZE - 8,
        FzLayout + 3 * PAGE_SIZE,     FzReleased,                   FzReleased + 0xFF8,
    };
    memcpy(FzStraddles, Straddles, sizeof(Straddles));
}

static void FzMakeHandles(void)
{
    HANDLE Handle;
    int Slot = 0;

    NtCreateEvent(&FzSlots[Slot++], EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE);
    NtCreateEvent(&FzSlots[Slot++], EVENT_ALL_ACCESS, NULL, SynchronizationEvent, TRUE);
    NtCreateMutant(&FzSlots[Slot++], MUTANT_ALL_ACCESS, NULL, FALSE);
    NtCreateSemaphore(&FzSlots[Slot++], SEMAPHORE_ALL_ACCESS, NULL, 1, 10);
    NtCreateTimer(&FzSlots[Slot++], TIMER_ALL_ACCESS, NULL, NotificationTimer);
    NtDuplicateObject(NtCurrentProcess(), NtCurrentProcess(), NtCurrentProcess(),
                      &FzSlots[Slot++], 0, DUPLICATE_SAME_ACCESS);
    NtCreateThread(&FzSlots[Slot++], NtCurrentProcess(), FzThreadStart, NULL, NULL);
    NtCreateEvent(&Handle, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE);
    NtClose(Handle);
    FzClosed = Handle;
}

static int FzChild(ULONG64 Seed, ULONG64 Count)
{
    ULONG64 Args[6], Done = 0;

    FzState = Seed * 0x9E3779B97F4A7C15ULL + 0x1234567;
    FzOwnProcessId = PgCurrentProcessId();
    FzStdIn = PgProcessParameters->StandardInput;
    FzStdOut = PgProcessParameters->StandardOutput;
    FzMapLayout();
    FzMakeHandles();
    for (ULONG64 Call = 0; Call < Count; Call++) {
        ULONG64 Number = FzService();
        ULONG Used = Number < FZ_SERVICE_COUNT ? FzServices[Number].ArgumentCount : 6;
        FzRefresh();
        for (ULONG i = 0; i < 6; i++)
            Args[i] = FzArgument();
        /* Past a service's own count the registers are noise it ignores. */
        for (ULONG i = Used; i < 6; i++)
            Args[i] = FzRandom();
        FzConstrain(Number, Args);
        if (FzVerbose)
            FzPrintCall(Call, Number, Args);
        PgSystemCall(Number, Args);
        if (++Done == FZ_BATCH) {
            NtReleaseSemaphore(FzSemaphore, FZ_BATCH, NULL);
            Done = 0;
        }
    }
    if (Done)
        NtReleaseSemaphore(FzSemaphore, (LONG)Done, NULL);
    return 0;
}

/* ------------------------------------------------------------------------
 * The parent: baselines, children, figures
 * ------------------------------------------------------------------------ */

#define FZ_MAX_TAGS 256
#define FZ_MAX_PROCESSES 64

/* Frame usages (SYSTEM_MEMORY_INFORMATION.PagesByUsage, mm/mm.h order). */
#define FZ_USAGE_PAGE_TABLES 3
#define FZ_USAGE_NONPAGED_POOL 5
#define FZ_USAGE_PAGED_POOL 6
static const char *const FzUsageNames[12] = {
    "free", "kernel image", "loader", "page tables", "PFN database", "nonpaged pool",
    "paged pool", "kernel stacks", "user", "system PTEs", "driver", "shared user data"};

typedef struct _FZ_BASELINE {
    ULONG64 AvailablePages; /* free, zeroed, the pools' pages and system page tables (below) */
    ULONG64 ProcessPageTables; /* page tables but system space's: every user half's */
    ULONG64 SystemPageTables; /* system space's, made since boot: kept for good */
    ULONG64 PagesByUsage[16];
    ULONG Processes, Handles, OwnHandles, Tags;
    SYSTEM_POOLTAG Tag[FZ_MAX_TAGS];
} FZ_BASELINE;

static FZ_BASELINE FzBaseline, FzNow;
static SYSTEM_PROCESS_ENTRY FzProcesses[FZ_MAX_PROCESSES];

/* Static buffers: the parent allocates nothing between two snapshots. */
static void FzSnapshot(FZ_BASELINE *B)
{
    SYSTEM_MEMORY_INFORMATION Memory;
    ULONG Length = 0;

    memset(B, 0, sizeof(*B));
    if (NT_SUCCESS(NtQuerySystemInformation(SystemMemoryInformation, &Memory, sizeof(Memory),
                                            NULL)))
    {
        /* Pages the pool grew by stay with it once freed (bytes in use per
         * tag say whether anything leaked), so they count as available.
         * So do system space's page tables: shared by every process and
         * never freed, they are made when a region's rotating hint (kernel
         * stacks, pool) first reaches an address range, and kept for its
         * next use (docs/verifier.md). User-half tables are checked apart:
         * they must all come back with the children. */
        B->SystemPageTables = Memory.SystemPageTablePages;
        B->ProcessPageTables = Memory.PagesByUsage[FZ_USAGE_PAGE_TABLES] - B->SystemPageTables;
        B->AvailablePages = Memory.AvailablePages + Memory.PagesByUsage[FZ_USAGE_NONPAGED_POOL] +
            Memory.PagesByUsage[FZ_USAGE_PAGED_POOL] + B->SystemPageTables;
        memcpy(B->PagesByUsage, Memory.PagesByUsage, sizeof(B->PagesByUsage));
    }
    if (NT_SUCCESS(NtQuerySystemInformation(SystemPoolTagInformation, B->Tag, sizeof(B->Tag),
                                            &Length)))
        B->Tags = Length / sizeof(SYSTEM_POOLTAG);
    Length = 0;
    if (NT_SUCCESS(NtQuerySystemInformation(SystemProcessInformation, FzProcesses,
                                            sizeof(FzProcesses), &Length))) {
        B->Processes = Length / sizeof(SYSTEM_PROCESS_ENTRY);
        for (ULONG i = 0; i < B->Processes; i++) {
            B->Handles += FzProcesses[i].HandleCount;
            if (FzProcesses[i].ProcessId == PgCurrentProcessId())
                B->OwnHandles = FzProcesses[i].HandleCount;
        }
    }
}

static ULONG64 FzTagBytes(const FZ_BASELINE *B, ULONG Tag, ULONG Type)
{
    for (ULONG i = 0; i < B->Tags; i++)
        if (B->Tag[i].Tag == Tag && B->Tag[i].PoolType == Type)
            return B->Tag[i].BytesInUse;
    return 0;
}

/* The tags whose bytes in use differ between A and B (a tag missing from
 * one counts as 0 bytes there). Returns how many. */
static ULONG FzTagDrift(const FZ_BASELINE *A, const FZ_BASELINE *B, BOOLEAN Print)
{
    ULONG Drift = 0;
    for (int Pass = 0; Pass < 2; Pass++) {
        const FZ_BASELINE *X = Pass ? B : A, *Y = Pass ? A : B;
        for (ULONG i = 0; i < X->Tags; i++) {
            ULONG Tag = X->Tag[i].Tag, Type = X->Tag[i].PoolType;
            BOOLEAN InY = FALSE;
            for (ULONG j = 0; j < Y->Tags; j++)
                InY |= Y->Tag[j].Tag == Tag && Y->Tag[j].PoolType == Type;
            if (Pass && InY)
                continue; /* compared in the first pass */
            ULONG64 Was = FzTagBytes(A, Tag, Type), Is = FzTagBytes(B, Tag, Type);
            if (Was == Is)
                continue;
            Drift++;
            if (Print)
                printf("fuzz:   pool tag '%.4s' (%s) %llu -> %llu bytes\n", (const char *)&Tag,
                       Type ? "paged" : "nonpaged", Was, Is);
        }
    }
    return Drift;
}

static ULONG FzDrift(BOOLEAN Print)
{
    ULONG Drift = FzTagDrift(&FzBaseline, &FzNow, Print);
    if (FzNow.ProcessPageTables != FzBaseline.ProcessPageTables) {
        Drift++;
        if (Print)
            printf("fuzz:   page tables of user halves %llu -> %llu\n",
                   FzBaseline.ProcessPageTables, FzNow.ProcessPageTables);
    }
    if (FzNow.AvailablePages != FzBaseline.AvailablePages) {
        Drift++;
        if (Print)
            printf("fuzz:   available pages %llu -> %llu\n", FzBaseline.AvailablePages,
                   FzNow.AvailablePages);
        for (ULONG i = 0; Print && i < ARRAYSIZE(FzUsageNames); i++)
            if (FzNow.PagesByUsage[i] != FzBaseline.PagesByUsage[i])
                printf("fuzz:     %s pages %llu -> %llu\n", FzUsageNames[i],
                       FzBaseline.PagesByUsage[i], FzNow.PagesByUsage[i]);
    }
    if (FzNow.Processes != FzBaseline.Processes || FzNow.Handles != FzBaseline.Handles ||
        FzNow.OwnHandles != FzBaseline.OwnHandles) {
        Drift++;
        if (Print)
            printf("fuzz:   processes %u -> %u, handles %u -> %u (own %u -> %u)\n",
                   FzBaseline.Processes, FzNow.Processes, FzBaseline.Handles, FzNow.Handles,
                   FzBaseline.OwnHandles, FzNow.OwnHandles);
    }
    return Drift;
}

/* Wait up to 3 s for the reaper and the zero-page thread to bring
 * everything back; print what did not come back. */
static BOOLEAN FzSettled(void)
{
    for (int Try = 0; Try < 300; Try++) {
        FzSnapshot(&FzNow);
        if (!FzDrift(FALSE))
            return TRUE;
        PgSleep(10);
    }
    FzDrift(TRUE);
    return FALSE;
}

typedef struct _FZ_TOTALS {
    ULONG64 Calls, Seeds, Hangs, Drifts, Failures;
    NTSTATUS Status[16];
    ULONG StatusSeeds[16], Statuses;
} FZ_TOTALS;

static void FzCountStatus(FZ_TOTALS *T, NTSTATUS Status)
{
    for (ULONG i = 0; i < T->Statuses; i++)
        if (T->Status[i] == Status) {
            T->StatusSeeds[i]++;
            return;
        }
    if (T->Statuses < ARRAYSIZE(T->Status)) {
        T->Status[T->Statuses] = Status;
        T->StatusSeeds[T->Statuses++] = 1;
    }
}

/* Start the child of Seed and wait for it at most BoundMs. Returns its
 * exit status (STATUS_TIMEOUT after a hang, which it terminates), and the
 * calls it made in *Calls. */
static NTSTATUS FzRunSeed(ULONG64 Seed, ULONG64 Count, ULONG64 BoundMs, ULONG64 *Calls)
{
    OBJECT_ATTRIBUTES Inherit;
    SEMAPHORE_BASIC_INFORMATION Progress;
    LARGE_INTEGER Bound;
    HANDLE Semaphore, Foreign, Process;
    NTSTATUS Status, ExitStatus = STATUS_UNSUCCESSFUL;
    char CommandLine[128];

    *Calls = 0;
    InitializeObjectAttributes(&Inherit, NULL, OBJ_INHERIT, NULL, NULL);
    if (!NT_SUCCESS(NtCreateSemaphore(&Semaphore, SEMAPHORE_ALL_ACCESS, &Inherit, 0, 0x7FFFFFFF)))
        return STATUS_UNSUCCESSFUL;
    NtCreateEvent(&Foreign, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE);
    snprintf(CommandLine, sizeof(CommandLine), "fuzz --child %llu %llu %llu %llu%s", Seed, Count,
             (ULONG64)Semaphore, (ULONG64)Foreign, FzVerbose ? " -v" : "");
    Status = PgSpawn("/bin/fuzz", CommandLine, CREATE_PROCESS_INHERIT_HANDLES, &Process, NULL);
    if (NT_SUCCESS(Status)) {
        Bound.QuadPart = -(LONGLONG)BoundMs * 10000;
        if (NtWaitForSingleObject(Process, FALSE, &Bound) == STATUS_TIMEOUT) {
            NtTerminateProcess(Process, STATUS_TIMEOUT);
            NtWaitForSingleObject(Process, FALSE, NULL);
            ExitStatus = STATUS_TIMEOUT;
        } else {
            PgWaitProcess(Process, &ExitStatus);
        }
        NtClose(Process);
    } else {
        printf("fuzz: seed %llu: cannot start the child: 0x%08x\n", Seed, (ULONG)Status);
    }
    if (NT_SUCCESS(NtQuerySemaphore(Semaphore, SemaphoreBasicInformation, &Progress,
                                    sizeof(Progress), NULL)))
        *Calls = (ULONG64)Progress.CurrentCount;
    NtClose(Foreign);
    NtClose(Semaphore);
    return ExitStatus;
}

static void FzOneSeed(FZ_TOTALS *T, ULONG64 Seed, ULONG64 Count)
{
    ULONG64 Calls, Start = PgTickCount();
    /* Generous: TCG runs a service in tens of microseconds; waits last 1 ms. */
    NTSTATUS Status = FzRunSeed(Seed, Count, 30000 + Count * 10, &Calls);
    const char *Name = PgStatusName(Status);
    BOOLEAN Hang = Status == STATUS_TIMEOUT, Settled = FzSettled();

    T->Seeds++;
    T->Calls += Calls;
    FzCountStatus(T, Status);
    printf("fuzz: seed %llu: %llu calls, ended 0x%08x%s%s in %llu ms%s%s\n", Seed, Calls,
           (ULONG)Status, Name ? " " : "", Name ? Name : "", PgTickCount() - Start,
           Hang ? ", HANG" : "", Settled ? "" : ", DRIFT");
    if (Hang)
        T->Hangs++;
    if (!Settled) {
        T->Drifts++;
        FzBaseline = FzNow; /* one drift is reported once */
    }
    if (Hang || !Settled)
        T->Failures++;
}

static int FzParent(ULONG64 First, ULONG64 Count, ULONG64 Seeds)
{
    static FZ_TOTALS T;
    ULONG64 Calls, Start = PgTickCount();

    /* A child of no calls first: whatever the first process creation
     * leaves behind for good is not the fuzzer's doing. */
    FzRunSeed(0, 0, 30000, &Calls);
    PgSleep(100);
    /* Both snapshots touched once: their first touch is demand-zero faults. */
    FzSnapshot(&FzNow);
    FzSnapshot(&FzBaseline);
    ULONG64 Base0SystemPageTables = FzBaseline.SystemPageTables;
    printf("fuzz: %u services, seeds %llu..%llu, %llu calls each; baseline %llu available "
           "pages, %u pool tags, %u processes, %u handles\n",
           (ULONG)FZ_SERVICE_COUNT, First, First + Seeds - 1, Count, FzBaseline.AvailablePages,
           FzBaseline.Tags, FzBaseline.Processes, FzBaseline.Handles);
    /* The seeds asked for, then more until the calls asked for are made
     * (a child that ended early made fewer than Count); at most twice as
     * many seeds, should children keep ending at once. */
    ULONG64 Seed = First;
    while (Seed < First + Seeds || (T.Calls < Count * Seeds && Seed < First + 2 * Seeds))
        FzOneSeed(&T, Seed++, Count);
    printf("fuzz: %llu seeds, %llu calls made (%llu asked) in %llu ms\n", T.Seeds, T.Calls,
           Count * Seeds, PgTickCount() - Start);
    FzSnapshot(&FzNow);
    printf("fuzz: system page tables %llu -> %llu (made for new system addresses, kept)\n",
           Base0SystemPageTables, FzNow.SystemPageTables);
    for (ULONG i = 0; i < T.Statuses; i++) {
        const char *Name = PgStatusName(T.Status[i]);
        printf("fuzz: children ended 0x%08x %s: %u\n", (ULONG)T.Status[i], Name ? Name : "",
               T.StatusSeeds[i]);
    }
    printf("fuzz: %llu hangs, %llu drifts: %s\n", T.Hangs, T.Drifts,
           T.Failures ? "FAILED" : "passed");
    return T.Failures ? (int)STATUS_UNSUCCESSFUL : 0;
}

int main(int Argc, char **Argv, char **Envp)
{
    UNREFERENCED_PARAMETER(Envp);
    for (int i = 1; i < Argc; i++)
        if (!strcmp(Argv[i], "-v"))
            FzVerbose = TRUE;
    if (Argc >= 6 && !strcmp(Argv[1], "--child")) {
        FzSemaphore = (HANDLE)strtoull(Argv[4], NULL, 0);
        FzForeign = (HANDLE)strtoull(Argv[5], NULL, 0);
        return FzChild(strtoull(Argv[2], NULL, 0), strtoull(Argv[3], NULL, 0));
    }
    if (Argc < 3 || !isdigit(Argv[1][0]) || !isdigit(Argv[2][0])) {
        printf("usage: fuzz SEED COUNT [SEEDS] [-v]\n");
        return (int)STATUS_INVALID_PARAMETER;
    }
    return FzParent(strtoull(Argv[1], NULL, 0), strtoull(Argv[2], NULL, 0),
                    Argc > 3 && isdigit(Argv[3][0]) ? strtoull(Argv[3], NULL, 0) : 1);
}
