/*
 * sh - the Pagoda shell, on the console (serial and VGA/keyboard both
 * arrive through NtReadFile on StandardInput).
 *
 * Built-ins inspect the system through NtQuerySystemInformation, the way
 * the kernel debugger's !process, !vm, !poolused and !pte do on Windows;
 * anything else is a program of /bin, started with NtCreateUserProcess.
 * The shell keeps a handle to every process it started (Jobs), which is
 * what lets it wait for and kill them: a PID alone grants nothing.
 *
 *   sh              interactive, prompt "pagoda> "
 *   sh -c "CMDS"    run the commands (separated by ';') and exit
 */
#include "pagoda.h"

#define SH_MAX_ARGS 32
#define SH_MAX_JOBS 32

typedef struct _SH_JOB {
    HANDLE Process;                 /* NULL: free slot */
    ULONG ProcessId;
    char Name[32];
} SH_JOB;

static SH_JOB ShJobs[SH_MAX_JOBS];
static BOOLEAN ShExit;

typedef void (*SH_COMMAND_ROUTINE)(int Argc, char **Argv);
typedef struct _SH_COMMAND {
    const char *Name;
    const char *Usage;
    SH_COMMAND_ROUTINE Routine;
} SH_COMMAND;

static void ShPrintStatus(NTSTATUS Status)
{
    const char *Name = PgStatusName(Status);
    printf("0x%08x%s%s%s", (ULONG)Status, Name ? " (" : "", Name ? Name : "", Name ? ")" : "");
}

static void ShFailed(const char *What, NTSTATUS Status)
{
    printf("%s: ", What);
    ShPrintStatus(Status);
    printf("\n");
}

static SH_JOB *ShFindJob(ULONG ProcessId)
{
    for (int I = 0; I < SH_MAX_JOBS; I++)
        if (ShJobs[I].Process && ShJobs[I].ProcessId == ProcessId)
            return &ShJobs[I];
    return NULL;
}

static void ShForgetJob(SH_JOB *Job)
{
    NtClose(Job->Process);
    Job->Process = NULL;
}

/* Report and forget the background jobs that have ended. */
static void ShReapJobs(void)
{
    for (int I = 0; I < SH_MAX_JOBS; I++) {
        SH_JOB *Job = &ShJobs[I];
        LARGE_INTEGER Zero;
        NTSTATUS Exit;
        Zero.QuadPart = 0;
        if (!Job->Process || NtWaitForSingleObject(Job->Process, FALSE, &Zero) != STATUS_WAIT_0)
            continue;
        if (NT_SUCCESS(PgWaitProcess(Job->Process, &Exit))) {
            printf("[%u] %s done, exit status ", Job->ProcessId, Job->Name);
            ShPrintStatus(Exit);
            printf("\n");
        }
        ShForgetJob(Job);
    }
}

static void ShWaitJob(SH_JOB *Job)
{
    NTSTATUS Exit = 0;
    NTSTATUS Status = PgWaitProcess(Job->Process, &Exit);

    if (!NT_SUCCESS(Status))
        ShFailed("wait", Status);
    else if (Exit != 0) {
        printf("[%u] %s exited with ", Job->ProcessId, Job->Name);
        ShPrintStatus(Exit);
        printf("\n");
    }
    ShForgetJob(Job);
}

/* run PROGRAM ARGS [&] */
static void ShRun(int Argc, char **Argv)
{
    char Line[256];
    size_t Used = 0;
    BOOLEAN Background = FALSE;
    SH_JOB *Job = NULL;
    HANDLE Process;
    ULONG Pid;
    NTSTATUS Status;
    const char *Base;

    if (Argc > 0 && !strcmp(Argv[Argc - 1], "&")) {
        Background = TRUE;
        Argc--;
    } else if (Argc > 0) {
        size_t Length = strlen(Argv[Argc - 1]);
        if (Length > 1 && Argv[Argc - 1][Length - 1] == '&') {
            Argv[Argc - 1][Length - 1] = '\0';
            Background = TRUE;
        }
    }
    if (Argc < 1) {
        printf("usage: run PROGRAM [ARGS] [&]\n");
        return;
    }
    for (int I = 0; I < SH_MAX_JOBS && !Job; I++)
        if (!ShJobs[I].Process)
            Job = &ShJobs[I];
    if (!Job) {
        printf("run: too many jobs; wait for some first\n");
        return;
    }
    Base = strrchr(Argv[0], '/') ? strrchr(Argv[0], '/') + 1 : Argv[0];
    Line[0] = '\0';
    for (int I = 0; I < Argc; I++)
        Used += snprintf(Line + Used, Used < sizeof(Line) ? sizeof(Line) - Used : 0, "%s%s",
                         I ? " " : "", I ? Argv[I] : Base);
    Status = PgSpawn(Argv[0], Line, 0, &Process, &Pid);
    if (!NT_SUCCESS(Status)) {
        printf("%s: cannot start: ", Argv[0]);
        ShPrintStatus(Status);
        printf("%s\n", Status == STATUS_OBJECT_NAME_NOT_FOUND || Status == STATUS_NO_SUCH_FILE
                           ? " - no such program in /bin (try help)"
                           : "");
        return;
    }
    Job->Process = Process;
    Job->ProcessId = Pid;
    RtlStringCopy(Job->Name, Base, sizeof(Job->Name));
    if (Background)
        printf("[%u] %s\n", Pid, Job->Name);
    else
        ShWaitJob(Job);
}

static void ShHelp(int Argc, char **Argv);

static void ShPs(int Argc, char **Argv)
{
    ULONG Length;
    NTSTATUS Status;
    SYSTEM_PROCESS_ENTRY *Entries;
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);

    Entries = PgQuerySystem(SystemProcessInformation, NULL, 0, &Length, &Status);
    if (!Entries) {
        ShFailed("ps", Status);
        return;
    }
    printf("%5s %5s %4s %7s %9s %8s %6s %6s %6s %7s %6s %5s %6s  %-10s %s\n", "PID", "PPID", "THR",
           "HANDLES", "COMMITTED", "RESIDENT", "PTPAGE", "WS", "PEAKWS", "FAULTS", "SOFT", "HARD",
           "PGFILE", "STATUS", "NAME");
    for (ULONG I = 0; I < Length / sizeof(SYSTEM_PROCESS_ENTRY); I++) {
        SYSTEM_PROCESS_ENTRY *E = &Entries[I];
        char StatusText[16];
        if (E->ExitStatus == STATUS_PENDING)
            RtlStringCopy(StatusText, "running", sizeof(StatusText));
        else
            snprintf(StatusText, sizeof(StatusText), "0x%08x", (ULONG)E->ExitStatus);
        printf("%5u %5u %4u %7u %9llu %8llu %6llu %6llu %6llu %7llu %6llu %5llu %6llu  %-10s "
               "%.16s%s\n",
               E->ProcessId, E->ParentProcessId, E->ThreadCount, E->HandleCount, E->CommittedPages,
               E->ResidentPages, E->PageTablePages, E->WorkingSetSize, E->PeakWorkingSetSize,
               E->PageFaultCount, E->TransitionFaults, E->HardFaults, E->PageFilePages, StatusText,
               E->ImageName, ShFindJob(E->ProcessId) ? " *" : "");
    }
    printf("(* started by this shell: kill and wait work on it; pages: RESIDENT has a frame,\n"
           " WS valid now, FAULTS made a page valid, SOFT of them without I/O, HARD read\n"
           " from the pagefile, PGFILE in the pagefile and not resident - trim PID; the\n"
           " pagefile's use is in mem)\n");
    free(Entries);
}

static void ShKill(int Argc, char **Argv)
{
    SH_JOB *Job;
    NTSTATUS Status;

    if (Argc < 2) {
        printf("usage: kill PID\n");
        return;
    }
    Job = ShFindJob((ULONG)strtoull(Argv[1], NULL, 0));
    if (!Job) {
        printf("kill: %s was not started by this shell, so it holds no handle to it "
               "(a process can only be ended through a handle)\n",
               Argv[1]);
        return;
    }
    Status = NtTerminateProcess(Job->Process, (NTSTATUS)0xC000013A /* STATUS_CONTROL_C_EXIT */);
    if (!NT_SUCCESS(Status))
        ShFailed("kill", Status);
    else
        ShWaitJob(Job);
}

static void ShWait(int Argc, char **Argv)
{
    SH_JOB *Job;

    if (Argc < 2) {
        for (int I = 0; I < SH_MAX_JOBS; I++)
            if (ShJobs[I].Process)
                ShWaitJob(&ShJobs[I]);
        return;
    }
    Job = ShFindJob((ULONG)strtoull(Argv[1], NULL, 0));
    if (!Job)
        printf("wait: %s is not a job of this shell\n", Argv[1]);
    else
        ShWaitJob(Job);
}

static void ShMemPageFile(const SYSTEM_MEMORY_INFORMATION *Info)
{
    if (Info->PageFilePages == 0) {
        printf("pagefile: none (boot with a disk: make run attaches one)\n");
        return;
    }
    printf("pagefile: %llu slots (%llu KiB), %llu in use, peak %llu\n", Info->PageFilePages,
           Info->PageFilePages * 4, Info->PageFileInUse, Info->PageFilePeak);
    printf("  %llu pages written in %llu writes; %llu hard faults (%llu reads of %llu pages: "
           "%llu.%02llu per read), %llu collided\n",
           Info->PagesWritten, Info->PageFileWrites, Info->HardFaults, Info->PageFileReads,
           Info->PagesRead, Info->PageFileReads ? Info->PagesRead / Info->PageFileReads : 0,
           Info->PageFileReads ? Info->PagesRead * 100 / Info->PageFileReads % 100 : 0,
           Info->CollidedFaults);
}

static void ShMem(int Argc, char **Argv)
{
    static const char *const Usage[] = {
        "free",       "kernel image", "loader block",  "page tables",
        "PFN database", "nonpaged pool", "paged pool", "kernel stacks",
        "user",       "system PTEs",  "drivers",       "shared user data",
    };
    SYSTEM_MEMORY_INFORMATION Info;
    NTSTATUS Status;
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);

    memset(&Info, 0, sizeof(Info));
    Status = NtQuerySystemInformation(SystemMemoryInformation, &Info, sizeof(Info), NULL);
    if (!NT_SUCCESS(Status)) {
        ShFailed("mem", Status);
        return;
    }
    printf("physical memory: %llu pages (%llu KiB)\n", Info.TotalPages, Info.TotalPages * 4);
    printf("  available      %8llu pages (zeroed + free + standby)\n", Info.AvailablePages);
    printf("page lists:\n");
    printf("  zeroed         %8llu\n", Info.ZeroedPages);
    printf("  free           %8llu\n", Info.FreePages);
    printf("  standby        %8llu (clean, trimmed: reusable)\n", Info.StandbyPages);
    printf("  modified       %8llu (dirty, trimmed: %s)\n", Info.ModifiedPages,
           Info.PageFilePages ? "waiting for the modified page writer"
                              : "no pagefile to write them to");
    printf("  modified-nowrite %6llu\n", Info.ModifiedNoWritePages);
    printf("  bad            %8llu\n", Info.BadPages);
    printf("working sets: %llu pages trimmed, %llu soft faults, %llu standby pages reused\n",
           Info.TrimmedPages, Info.TransitionFaults, Info.StandbyPagesReused);
    printf("commit charge: %llu pages (%llu of them paged pool), limit %llu pages%s\n",
           Info.CommittedPages, Info.PagedPoolCommittedPages, Info.CommitLimit,
           Info.PageFilePages ? " (RAM + pagefile)" : " (RAM: no pagefile)");
    printf("resident available: %llu pages (not pinned; kernel stacks, page tables, nonpaged "
           "pool and locks stop at %llu)\n",
           Info.ResidentAvailablePages, Info.MinimumResidentAvailablePages);
    ShMemPageFile(&Info);
    printf("pages by usage:\n");
    for (size_t I = 0; I < ARRAYSIZE(Usage) && I < ARRAYSIZE(Info.PagesByUsage); I++)
        printf("  %-16s %8llu\n", Usage[I], Info.PagesByUsage[I]);
    printf("pool: nonpaged %llu pages, paged %llu pages\n", Info.NonPagedPoolPages,
           Info.PagedPoolPages);
    printf("demand-zero faults %llu: %llu served from the zeroed list, %llu zeroed on demand\n",
           Info.DemandZeroFaults, Info.ZeroedPagesServed, Info.PagesZeroedOnDemand);
    printf("context switches %llu, CR3 switches %llu\n", Info.ContextSwitches,
           Info.Cr3Switches);
}

static int ShComparePoolBytes(const void *A, const void *B)
{
    const SYSTEM_POOLTAG *X = A, *Y = B;
    return X->BytesInUse < Y->BytesInUse ? 1 : X->BytesInUse > Y->BytesInUse ? -1 : 0;
}

static void ShPool(int Argc, char **Argv)
{
    ULONG Length, Count;
    NTSTATUS Status;
    SYSTEM_POOLTAG *Tags;
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);

    Tags = PgQuerySystem(SystemPoolTagInformation, NULL, 0, &Length, &Status);
    if (!Tags) {
        ShFailed("pool", Status);
        return;
    }
    Count = Length / sizeof(SYSTEM_POOLTAG);
    qsort(Tags, Count, sizeof(SYSTEM_POOLTAG), ShComparePoolBytes);
    printf(" Tag  Type      %10s %10s %10s %12s\n", "Allocs", "Frees", "Diff", "Bytes");
    for (ULONG I = 0; I < Count; I++) {
        SYSTEM_POOLTAG *T = &Tags[I];
        char Tag[5];
        for (int J = 0; J < 4; J++) {
            char C = (char)(T->Tag >> (8 * J));
            Tag[J] = C >= 0x20 && C < 0x7F ? C : '.';
        }
        Tag[4] = '\0';
        printf(" %s %-8s %10llu %10llu %10llu %12llu\n", Tag, T->PoolType ? "Paged" : "Nonp",
               T->Allocations, T->Frees, T->Allocations - T->Frees, T->BytesInUse);
    }
    free(Tags);
}

static const char *ShProtectName(ULONG Protect)
{
    switch (Protect & 0xFF) {
    case PAGE_NOACCESS: return "NOACCESS";
    case PAGE_READONLY: return "READONLY";
    case PAGE_READWRITE: return "READWRITE";
    case PAGE_EXECUTE: return "EXECUTE";
    case PAGE_EXECUTE_READ: return "EXECUTE_READ";
    case PAGE_EXECUTE_READWRITE: return "EXECUTE_READWRITE";
    default: return "?";
    }
}

static void ShVm(int Argc, char **Argv)
{
    SYSTEM_VAD_QUERY Query;
    SYSTEM_VAD_ENTRY *Vads;
    ULONG Length;
    NTSTATUS Status;

    Query.ProcessId = Argc > 1 ? (ULONG)strtoull(Argv[1], NULL, 0) : 0;
    Vads = PgQuerySystem(SystemVadInformation, &Query, sizeof(Query), &Length, &Status);
    if (!Vads) {
        ShFailed("vm", Status);
        return;
    }
    printf("VADs of %s%s:\n", Argc > 1 ? "pid " : "this shell", Argc > 1 ? Argv[1] : "");
    printf("  %-18s %-18s %8s %9s  %-18s %s\n", "Start", "End", "Pages", "Committed",
           "Protect", "Flags");
    for (ULONG I = 0; I < Length / sizeof(SYSTEM_VAD_ENTRY); I++) {
        SYSTEM_VAD_ENTRY *V = &Vads[I];
        printf("  0x%016llx 0x%016llx %8llu %9llu  %-18s 0x%x\n", V->StartingAddress,
               V->EndingAddress, (V->EndingAddress - V->StartingAddress + 1) >> PAGE_SHIFT,
               V->CommittedPages, ShProtectName(V->AllocationProtect), V->Flags);
    }
    free(Vads);
}

static const char *ShListName(ULONG Location)
{
    static const char *const Names[] = {"on the zeroed list",
                                        "on the free list",
                                        "on the standby list",
                                        "on the modified list",
                                        "on the modified-no-write list",
                                        "on the bad list",
                                        "active"};
    return Location < ARRAYSIZE(Names) ? Names[Location] : "not in the PFN database";
}

/* A leaf PTE that is not valid: its software format (docs/paging.md). */
static void ShPrintSoftwarePte(ULONG64 E, ULONG FrameLocation)
{
    ULONG Protection = (ULONG)(E >> 5) & 0x1F;
    if (E == 0)
        printf("  zero: not committed\n");
    else if (E & (1ULL << 10))
        printf("  prototype (not used by Pagoda)\n");
    else if (E & (1ULL << 11))
        printf("  transition: pfn 0x%llx, protection %u, frame %s (a touch is a soft fault)\n",
               (E >> 12) & 0xFFFFFFFFFFULL, Protection, ShListName(FrameLocation));
    else if (E >> 32)
        printf("  pagefile %llu offset 0x%llx, protection %u\n", (E >> 1) & 0xF, E >> 32,
               Protection);
    else
        printf("  demand-zero, protection %u (a touch gets a zeroed frame)\n", Protection);
}

static void ShTrim(int Argc, char **Argv)
{
    SYSTEM_EMPTY_WORKING_SET Request;
    NTSTATUS Status;

    memset(&Request, 0, sizeof(Request));
    Request.ProcessId = Argc > 1 ? (ULONG)strtoull(Argv[1], NULL, 0) : 0;
    Status = NtSetSystemInformation(SystemEmptyWorkingSetInformation, &Request, sizeof(Request));
    if (!NT_SUCCESS(Status))
        ShFailed("trim", Status);
    else
        printf("working set of %s%s emptied: its pages are in transition until touched\n",
               Argc > 1 ? "pid " : "this shell", Argc > 1 ? Argv[1] : "");
}

static void ShFlush(int Argc, char **Argv)
{
    SYSTEM_MEMORY_INFORMATION Before, After;
    ULONG Command = MemoryFlushModifiedList;
    NTSTATUS Status;

    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    memset(&Before, 0, sizeof(Before));
    memset(&After, 0, sizeof(After));
    (void)NtQuerySystemInformation(SystemMemoryInformation, &Before, sizeof(Before), NULL);
    Status = NtSetSystemInformation(SystemMemoryListInformation, &Command, sizeof(Command));
    (void)NtQuerySystemInformation(SystemMemoryInformation, &After, sizeof(After), NULL);
    if (!NT_SUCCESS(Status))
        ShFailed("flush", Status);
    else if (After.PageFilePages == 0)
        printf("no pagefile: the modified pages stay where they are\n");
    else
        printf("%llu pages written to the pagefile in %llu writes; their frames are on the "
               "standby list\n",
               After.PagesWritten - Before.PagesWritten,
               After.PageFileWrites - Before.PageFileWrites);
}

static void ShPte(int Argc, char **Argv)
{
    static const char *const Level[4] = {"PXE", "PPE", "PDE", "PTE"};
    union {
        SYSTEM_PTE_QUERY Query;
        SYSTEM_PTE_INFORMATION Info;
    } Buffer;
    NTSTATUS Status;

    if (Argc < 2) {
        printf("usage: pte VA [PID]\n");
        return;
    }
    memset(&Buffer, 0, sizeof(Buffer));
    Buffer.Query.VirtualAddress = strtoull(Argv[1], NULL, 16);
    Buffer.Query.ProcessId = Argc > 2 ? (ULONG)strtoull(Argv[2], NULL, 0) : 0;
    Status = NtQuerySystemInformation(SystemPteInformation, &Buffer, sizeof(Buffer), NULL);
    if (!NT_SUCCESS(Status)) {
        ShFailed("pte", Status);
        return;
    }
    printf("VA 0x%016llx: PXE index %llu, PPE %llu, PDE %llu, PTE %llu, offset 0x%llx\n",
           Buffer.Info.VirtualAddress, (Buffer.Info.VirtualAddress >> 39) & 0x1FF,
           (Buffer.Info.VirtualAddress >> 30) & 0x1FF, (Buffer.Info.VirtualAddress >> 21) & 0x1FF,
           (Buffer.Info.VirtualAddress >> 12) & 0x1FF, Buffer.Info.VirtualAddress & 0xFFF);
    for (ULONG I = 0; I < Buffer.Info.Levels && I < 4; I++) {
        ULONG64 E = Buffer.Info.Entry[I];
        printf("  %s at 0x%016llx contains 0x%016llx", Level[I], Buffer.Info.EntryAddress[I], E);
        if (E & 1)
            printf("  pfn 0x%llx %s %s %s%s%s%s\n", (E >> 12) & 0xFFFFFFFFFULL,
                   E & 2 ? "RW" : "R-", E & 4 ? "U" : "K", E & (1ULL << 63) ? "NX" : "X",
                   E & 0x20 ? " A" : "", E & 0x40 ? " D" : "", E & 0x80 ? " LARGE" : "");
        else if (I == 3)
            ShPrintSoftwarePte(E, Buffer.Info.FrameLocation);
        else
            printf("  not present\n");
    }
    if (Buffer.Info.Levels == 4 && (Buffer.Info.Entry[3] & 1))
        printf("  frame is %s\n", ShListName(Buffer.Info.FrameLocation));
    if (Buffer.Info.Levels < 4)
        printf("  (the walk stopped at level %u)\n", Buffer.Info.Levels);
}

static void ShEcho(int Argc, char **Argv)
{
    for (int I = 1; I < Argc; I++)
        printf("%s%s", I > 1 ? " " : "", Argv[I]);
    printf("\n");
}

static void ShExitCommand(int Argc, char **Argv)
{
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    ShExit = TRUE;
}

/* ---------------------------------------------------------------- obj */

/* Attributes for an ASCII path (relative to Root when Root is not NULL). */
typedef struct _SH_NAME {
    OBJECT_ATTRIBUTES Attributes;
    UNICODE_STRING String;
    WCHAR Buffer[256];
} SH_NAME;

static POBJECT_ATTRIBUTES ShName(SH_NAME *N, const char *Path, HANDLE Root)
{
    if (!NT_SUCCESS(PgInitUnicodeStringFromAnsi(&N->String, N->Buffer, ARRAYSIZE(N->Buffer),
                                                Path)))
        N->String.Length = 0;
    InitializeObjectAttributes(&N->Attributes, &N->String, OBJ_CASE_INSENSITIVE, Root, NULL);
    return &N->Attributes;
}

/* " -> TARGET" for the link Name (relative to Directory, or a full path). */
static void ShPrintLinkTarget(HANDLE Directory, const char *Name)
{
    HANDLE Link;
    SH_NAME N;
    WCHAR Buffer[256];
    char Ansi[256];
    UNICODE_STRING Target = {0, sizeof(Buffer), Buffer};

    if (!NT_SUCCESS(NtOpenSymbolicLinkObject(&Link, SYMBOLIC_LINK_QUERY,
                                             ShName(&N, Name, Directory))))
        return;
    if (NT_SUCCESS(NtQuerySymbolicLinkObject(Link, &Target, NULL)))
        printf(" -> %s", PgUnicodeToAnsi(&Target, Ansi, sizeof(Ansi)));
    NtClose(Link);
}

/* Call Visit for each entry of Directory; returns the last status. */
typedef BOOLEAN (*SH_ENTRY_ROUTINE)(HANDLE Directory, const char *Name, const char *Type,
                                    PVOID Context);
static NTSTATUS ShWalkDirectory(HANDLE Directory, SH_ENTRY_ROUTINE Visit, PVOID Context)
{
    static ULONG64 Buffer[512];
    ULONG Index = 0;
    NTSTATUS Status;
    BOOLEAN Restart = TRUE;

    do {
        Status = NtQueryDirectoryObject(Directory, Buffer, sizeof(Buffer), FALSE, Restart, &Index);
        Restart = FALSE;
        if (!NT_SUCCESS(Status) || Status == STATUS_NO_MORE_ENTRIES)
            break;
        for (OBJECT_DIRECTORY_INFORMATION *E = (OBJECT_DIRECTORY_INFORMATION *)Buffer;
             E->Name.Buffer != NULL; E++) {
            char Name[128], Type[32];
            PgUnicodeToAnsi(&E->Name, Name, sizeof(Name));
            PgUnicodeToAnsi(&E->TypeName, Type, sizeof(Type));
            if (Visit(Directory, Name, Type, Context))
                return STATUS_SUCCESS;
        }
    } while (Status == STATUS_MORE_ENTRIES);
    return Status == STATUS_NO_MORE_ENTRIES ? STATUS_SUCCESS : Status;
}

static BOOLEAN ShPrintEntry(HANDLE Directory, const char *Name, const char *Type, PVOID Context)
{
    (*(int *)Context)++;
    printf("  %-24s %s", Name, Type);
    if (!strcmp(Type, "SymbolicLink"))
        ShPrintLinkTarget(Directory, Name);
    printf("\n");
    return FALSE;
}

typedef struct _SH_FIND {
    const char *Leaf;
    char Type[32];
} SH_FIND;

static BOOLEAN ShFindEntry(HANDLE Directory, const char *Name, const char *Type, PVOID Context)
{
    SH_FIND *Find = Context;
    UNREFERENCED_PARAMETER(Directory);
    if (strcmp(Name, Find->Leaf))
        return FALSE;
    RtlStringCopy(Find->Type, Type, sizeof(Find->Type));
    return TRUE;
}

/* PATH is not a directory: find it in its parent and print its type. */
static void ShObjLeaf(const char *Path)
{
    char Parent[256];
    SH_FIND Find = {NULL, ""};
    HANDLE Directory;
    SH_NAME N;

    RtlStringCopy(Parent, Path, sizeof(Parent));
    char *Slash = strrchr(Parent, '\\');
    if (Slash == NULL)
        return;
    Find.Leaf = Path + (Slash - Parent) + 1;
    Slash[Slash == Parent ? 1 : 0] = '\0';
    NTSTATUS Status = NtOpenDirectoryObject(&Directory, DIRECTORY_QUERY, ShName(&N, Parent, NULL));
    if (!NT_SUCCESS(Status)) {
        ShFailed("obj", Status);
        return;
    }
    (void)ShWalkDirectory(Directory, ShFindEntry, &Find);
    printf("%s  %s", Path, Find.Type[0] ? Find.Type : "?");
    if (!strcmp(Find.Type, "SymbolicLink"))
        ShPrintLinkTarget(NULL, Path);
    printf("\n");
    NtClose(Directory);
}

/* obj [PATH]: a directory's entries with their types (WinObj, !object),
 * or what a single name is. */
static void ShObj(int Argc, char **Argv)
{
    const char *Path = Argc > 1 ? Argv[1] : "\\";
    HANDLE Directory;
    SH_NAME N;
    int Count = 0;

    NTSTATUS Status = NtOpenDirectoryObject(&Directory, DIRECTORY_QUERY, ShName(&N, Path, NULL));
    if (Status == STATUS_OBJECT_TYPE_MISMATCH) {
        ShObjLeaf(Path);
        return;
    }
    if (!NT_SUCCESS(Status)) {
        ShFailed("obj", Status);
        return;
    }
    printf("Directory %s\n", Path);
    Status = ShWalkDirectory(Directory, ShPrintEntry, &Count);
    if (!NT_SUCCESS(Status))
        ShFailed("obj", Status);
    printf("  %d entr%s\n", Count, Count == 1 ? "y" : "ies");
    NtClose(Directory);
}

/* irq: every interrupt object with its counts (NT's !idt with counters). */
static void ShIrq(int Argc, char **Argv)
{
    ULONG Length;
    NTSTATUS Status;
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);

    SYSTEM_INTERRUPT_ENTRY *E =
        PgQuerySystem(SystemInterruptInformation, NULL, 0, &Length, &Status);
    if (!E) {
        ShFailed("irq", Status);
        return;
    }
    printf("VECTOR IRQL SYNC MODE  SHARE %12s %12s  ROUTINE\n", "INTERRUPTS", "CLAIMED");
    for (ULONG I = 0; I < Length / sizeof(*E); I++) {
        BOOLEAN Unclaimed = E[I].ServiceRoutine == 0; /* nobody's: no mode, no sharing */
        printf("  0x%02x %4u %4u %-5s %5s %12llu %12llu  %s\n", E[I].Vector, E[I].Irql,
               E[I].SynchronizeIrql,
               Unclaimed          ? "-"
                   : E[I].Latched ? "edge"
                                  : "level",
               Unclaimed              ? "-"
                   : E[I].ShareVector ? "yes"
                                      : "no",
               E[I].Interrupts, E[I].Claimed, E[I].RoutineName);
    }
    free(E);
}

/* load NAME / unload NAME: NtLoadDriver / NtUnloadDriver with a service
 * name ("hello": /drivers/hello.sys in the initrd) or an initrd path. The
 * kernel's messages (load address, gdb command) go to the debug output. */
static void ShDriverService(int Argc, char **Argv, BOOLEAN Load)
{
    WCHAR Buffer[128];
    UNICODE_STRING Name;

    if (Argc < 2) {
        printf("usage: %s NAME\n", Argv[0]);
        return;
    }
    NTSTATUS Status = PgInitUnicodeStringFromAnsi(&Name, Buffer, ARRAYSIZE(Buffer), Argv[1]);
    if (NT_SUCCESS(Status))
        Status = Load ? NtLoadDriver(&Name) : NtUnloadDriver(&Name);
    if (!NT_SUCCESS(Status)) {
        ShFailed(Argv[0], Status);
        return;
    }
    printf("%s: %s\n", Load ? "loaded" : "unloaded", Argv[1]);
}

static void ShLoad(int Argc, char **Argv)
{
    ShDriverService(Argc, Argv, TRUE);
}

static void ShUnload(int Argc, char **Argv)
{
    ShDriverService(Argc, Argv, FALSE);
}

/* drivers: the kernel image and each loaded driver (lm, !drivers). */
static void ShDrivers(int Argc, char **Argv)
{
    ULONG Length;
    NTSTATUS Status;
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);

    SYSTEM_MODULE_ENTRY *Modules =
        PgQuerySystem(SystemModuleInformation, NULL, 0, &Length, &Status);
    if (!Modules) {
        ShFailed("drivers", Status);
        return;
    }
    printf("  %-12s %-18s %8s %5s %6s %5s %6s %8s  %s\n", "Image", "Base", "Bytes", "Text",
           "Rodata", "Data", "Blocks", "Pool", "Driver");
    for (ULONG I = 0; I < Length / sizeof(SYSTEM_MODULE_ENTRY); I++) {
        SYSTEM_MODULE_ENTRY *M = &Modules[I];
        printf("  %-12s 0x%016llx %8u %5u %6u %5u %6u %8llu  %s\n", M->Name, M->ImageBase,
               M->ImageSize, M->TextPages, M->ReadOnlyPages, M->DataPages, M->PoolAllocations,
               M->PoolBytes, M->DriverName[0] ? M->DriverName : "-");
    }
    free(Modules);
}

/* devices: every driver's devices, with the device each is attached to
 * (!devobj, !devstack). */
static void ShDevices(int Argc, char **Argv)
{
    ULONG Length;
    NTSTATUS Status;
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);

    SYSTEM_DEVICE_ENTRY *Devices =
        PgQuerySystem(SystemDeviceInformation, NULL, 0, &Length, &Status);
    if (!Devices) {
        ShFailed("devices", Status);
        return;
    }
    printf("  %-18s %-14s %-12s %5s %5s %10s  %s\n", "Device", "Name", "Driver", "Type", "Stack",
           "Flags", "Attached to");
    for (ULONG I = 0; I < Length / sizeof(SYSTEM_DEVICE_ENTRY); I++) {
        SYSTEM_DEVICE_ENTRY *D = &Devices[I];
        printf("  0x%016llx %-14s %-12s %5x %5u 0x%08x  ", D->Address,
               D->DeviceName[0] ? D->DeviceName : "(unnamed)", D->DriverName, D->DeviceType,
               D->StackSize, D->Flags);
        if (D->AttachedTo)
            printf("%s 0x%016llx\n", D->AttachedToName[0] ? D->AttachedToName : "(unnamed)",
                   D->AttachedTo);
        else
            printf("-\n");
    }
    free(Devices);
}


/* pci: the functions the boot scan found, like lspci -v. */
static void ShPci(int Argc, char **Argv)
{
    ULONG Length;
    NTSTATUS Status;
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);

    SYSTEM_PCI_ENTRY *E = PgQuerySystem(SystemPciInformation, NULL, 0, &Length, &Status);
    if (!E) {
        ShFailed("pci", Status);
        return;
    }
    for (ULONG I = 0; I < Length / sizeof(*E); I++) {
        printf("%02x:%02x.%u %s [%02x%02x] %04x:%04x (prog-if %02x, rev %02x)\n", E[I].Bus,
               E[I].Device, E[I].Function, E[I].ClassName, E[I].BaseClass, E[I].SubClass,
               E[I].VendorId, E[I].DeviceId, E[I].ProgIf, E[I].RevisionId);
        if (E[I].InterruptPin)
            printf("        interrupt: pin %c, IRQ %u\n", 'A' + E[I].InterruptPin - 1,
                   E[I].InterruptLine);
        for (int B = 0; B < 6; B++) {
            if (E[I].BarSize[B])
                printf("        BAR%d: %s at 0x%llx, size 0x%x\n", B,
                       E[I].BarIo[B] ? "I/O ports" : "memory", E[I].BarBase[B], E[I].BarSize[B]);
        }
    }
    free(E);
}

/* cpu: the processors the ACPI MADT lists and what became of them. */
static void ShCpu(int Argc, char **Argv)
{
    static const char *const States[] = {"?", "running", "idle", "failed", "not started"};
    ULONG Length;
    NTSTATUS Status;
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);

    SYSTEM_PROCESSOR_ENTRY *E =
        PgQuerySystem(SystemProcessorStateInformation, NULL, 0, &Length, &Status);
    if (!E) {
        ShFailed("cpu", Status);
        return;
    }
    printf("  %3s %7s %7s %-12s %10s  %s\n", "CPU", "APIC id", "ACPI id", "state", "start us",
           "CR4 at start");
    for (ULONG I = 0; I < Length / sizeof(*E); I++) {
        printf("  %3u %7u %7u %-12s ", E[I].Number, E[I].ApicId, E[I].AcpiProcessorId,
               E[I].State < ARRAYSIZE(States) ? States[E[I].State] : "?");
        if (E[I].State == SYSTEM_PROCESSOR_IDLE)
            printf("%10u  0x%llx\n", E[I].StartMicroseconds, E[I].Cr4);
        else
            printf("%10s  %s\n", "-",
                   E[I].State == SYSTEM_PROCESSOR_RUNNING ? "(boot, scheduler)" : "-");
    }
    printf("  the scheduler uses CPU 0 only; idle processors run IPI requests (docs/smp.md)\n");
    free(E);
}

static void ShRunCommand(int Argc, char **Argv)
{
    ShRun(Argc - 1, Argv + 1);
}

static const SH_COMMAND ShCommands[] = {
    {"help", "help                 this list", ShHelp},
    {"run", "run PROGRAM ARGS [&] start /bin/PROGRAM (& in the background)", ShRunCommand},
    {"ps", "ps                   processes: threads, handles, pages, exit status", ShPs},
    {"kill", "kill PID             end a process this shell started", ShKill},
    {"wait", "wait [PID]           wait for a background job (all without PID)", ShWait},
    {"mem", "mem                  physical memory by state and usage, faults", ShMem},
    {"pool", "pool                 pool usage by tag, largest first (!poolused)", ShPool},
    {"vm", "vm [PID]             the VAD list of a process (!vad)", ShVm},
    {"pte", "pte VA [PID]         the four page-table entries of VA (!pte)", ShPte},
    {"trim", "trim [PID]           empty a working set: pages to standby/modified", ShTrim},
    {"flush", "flush                write the modified list to the pagefile now", ShFlush},
    {"obj", "obj [PATH]           the object namespace: a directory or a name (!object)", ShObj},
    {"load", "load NAME            load driver NAME (/drivers/NAME.sys) (NtLoadDriver)", ShLoad},
    {"unload", "unload NAME          unload driver NAME (NtUnloadDriver)", ShUnload},
    {"drivers", "drivers              the kernel and the loaded drivers (lm)", ShDrivers},
    {"devices", "devices              every driver's devices and their stacks (!devobj)",
     ShDevices},
    {"irq", "irq                  interrupt objects: vector, IRQL, counts, service routine", ShIrq},
    {"pci", "pci                  PCI functions: IDs, class, interrupt, BARs (lspci -v)", ShPci},
    {"cpu", "cpu                  processors: APIC id, running/idle/failed (docs/smp.md)", ShCpu},
    {"echo", "echo WORDS           print the words", ShEcho},
    {"exit", "exit                 leave the shell", ShExitCommand},
};

static void ShHelp(int Argc, char **Argv)
{
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    printf("commands:\n");
    for (size_t I = 0; I < ARRAYSIZE(ShCommands); I++)
        printf("  %s\n", ShCommands[I].Usage);
    printf("  PROGRAM ARGS [&]     same as run\n");
    printf("programs: sh hello true vademo prodcons crash usertests ubench\n");
}

static void ShExecute(char *Line)
{
    char *Argv[SH_MAX_ARGS + 1];
    int Argc = 0;
    char *P = Line;

    while (*P && Argc < SH_MAX_ARGS) {
        while (*P == ' ' || *P == '\t')
            *P++ = '\0';
        if (!*P)
            break;
        Argv[Argc++] = P;
        while (*P && *P != ' ' && *P != '\t')
            P++;
    }
    Argv[Argc] = NULL;
    if (Argc == 0)
        return;
    for (size_t I = 0; I < ARRAYSIZE(ShCommands); I++) {
        if (!strcmp(Argv[0], ShCommands[I].Name)) {
            ShCommands[I].Routine(Argc, Argv);
            return;
        }
    }
    ShRun(Argc, Argv);
}

/* Run "a; b; c" one command after the other. */
static void ShExecuteList(char *Line)
{
    while (Line && !ShExit) {
        char *Next = strchr(Line, ';');
        if (Next)
            *Next++ = '\0';
        ShExecute(Line);
        Line = Next;
    }
}

int main(int Argc, char **Argv, char **Envp)
{
    char Line[256];
    UNREFERENCED_PARAMETER(Envp);

    if (Argc >= 3 && !strcmp(Argv[1], "-c")) {
        /* The words after -c are one command list, quoted or not. */
        size_t Used = 0;
        Line[0] = '\0';
        for (int I = 2; I < Argc && Used < sizeof(Line); I++)
            Used += snprintf(Line + Used, sizeof(Line) - Used, "%s%s", I > 2 ? " " : "", Argv[I]);
        ShExecuteList(Line);
        ShWait(1, NULL);
        return 0;
    }
    printf("Pagoda shell (pid %u). Type help for the commands.\n", PgCurrentProcessId());
    while (!ShExit) {
        ShReapJobs();
        printf("pagoda> ");
        if (readline(Line, sizeof(Line)) < 0)
            break;
        ShExecuteList(Line);
    }
    return 0;
}
