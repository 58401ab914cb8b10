/*
 * vademo - two processes, one virtual address, two physical frames.
 *
 * "vademo" starts two copies of itself, "vademo child A" and "vademo child
 * B". Each reserves and commits three pages at the same address,
 * 0x7F793950000, fills them with its letter, asks the kernel for the PTE of
 * each page (SystemPteInformation, ProcessId 0 = itself) and prints
 *
 *   A: VA 0x7F793950000 -> frame 0x1234 (PTE 0x8000000001234867)
 *
 * then holds its pages for a while and checks they still hold its own
 * letter although the other process wrote its letter at the same address.
 * Meanwhile the parent reads both children's PTEs by process id and prints
 * them side by side: same VA, different frames, because each process has
 * its own page tables.
 *
 * "vademo MS" holds the pages for MS milliseconds instead of 1.5 s, and
 * waits a second before starting the children, so that an observer
 * (tools/pictures.py, or you in gdb) can look before and during: the
 * parent prints "vademo: children start in 1 s" and, once both children
 * have printed their frames, "vademo: holding for MS ms".
 */
#include "pagoda.h"

#define DEMO_VA    0x7F793950000ULL
#define DEMO_PAGES 3

static BOOLEAN QueryPte(ULONG ProcessId, ULONG64 Va, SYSTEM_PTE_INFORMATION *Info)
{
    union {
        SYSTEM_PTE_QUERY Query;
        SYSTEM_PTE_INFORMATION Info;
    } Buffer;
    ULONG Length = 0;

    memset(&Buffer, 0, sizeof(Buffer));
    Buffer.Query.ProcessId = ProcessId;
    Buffer.Query.VirtualAddress = Va;
    if (!NT_SUCCESS(NtQuerySystemInformation(SystemPteInformation, &Buffer, sizeof(Buffer),
                                             &Length)))
        return FALSE;
    *Info = Buffer.Info;
    return Info->Levels == 4 && (Info->Entry[3] & 1);
}

static ULONG64 Frame(ULONG64 Pte)
{
    return (Pte >> 12) & 0xFFFFFFFFFULL;
}

static int Child(char Letter, int HoldMs)
{
    PVOID Base = (PVOID)DEMO_VA;
    SIZE_T Size = DEMO_PAGES * PAGE_SIZE;
    NTSTATUS Status;
    int Bad = 0;

    Status = NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                     MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!NT_SUCCESS(Status)) {
        printf("%c: NtAllocateVirtualMemory at %p failed: %x\n", Letter, (PVOID)DEMO_VA,
               (ULONG)Status);
        return Status;
    }
    /* Touch one page at a time, pausing in between, while the other child
     * does the same: each first touch is a demand-zero fault that takes
     * the next free frame, so the two children's faults interleave and
     * three contiguous virtual pages land in frames that are not. */
    for (int I = 0; I < DEMO_PAGES; I++) {
        memset((char *)Base + I * PAGE_SIZE, Letter, PAGE_SIZE);
        PgSleep(40);
    }
    for (int I = 0; I < DEMO_PAGES; I++) {
        SYSTEM_PTE_INFORMATION Info;
        ULONG64 Va = DEMO_VA + I * PAGE_SIZE;
        if (QueryPte(0, Va, &Info))
            printf("%c: VA 0x%llX -> frame 0x%llx (PTE 0x%016llx)\n", Letter, Va,
                   Frame(Info.Entry[3]), Info.Entry[3]);
        else
            printf("%c: VA 0x%llX -> no PTE\n", Letter, Va);
    }
    /* Stay alive while the other child writes the same addresses. */
    PgSleep(HoldMs);
    for (SIZE_T I = 0; I < Size; I++)
        Bad += ((volatile char *)Base)[I] != Letter;
    printf("%c: my %d pages still hold only '%c': %s\n", Letter, DEMO_PAGES, Letter,
           Bad ? "NO" : "yes");
    return Bad ? 1 : 0;
}

int main(int Argc, char **Argv, char **Envp)
{
    HANDLE Process[2];
    ULONG Pid[2];
    SYSTEM_PTE_INFORMATION Info[2][DEMO_PAGES];
    BOOLEAN Have[2] = {FALSE, FALSE};
    NTSTATUS Status, Exit;
    UNREFERENCED_PARAMETER(Envp);

    if (Argc >= 3 && !strcmp(Argv[1], "child"))
        return Child(Argv[2][0], Argc >= 4 ? atoi(Argv[3]) : 1500);

    int HoldMs = Argc >= 2 ? atoi(Argv[1]) : 0;
    if (HoldMs > 0) {
        printf("vademo: children start in 1 s\n");
        PgSleep(1000);
    }
    for (int C = 0; C < 2; C++) {
        char CommandLine[48];
        snprintf(CommandLine, sizeof(CommandLine), "vademo child %c %d", 'A' + C,
                 HoldMs > 0 ? HoldMs : 1500);
        Status = PgSpawn("/bin/vademo", CommandLine, 0, &Process[C], &Pid[C]);
        if (!NT_SUCCESS(Status)) {
            printf("vademo: cannot start child %c: %x\n", 'A' + C, (ULONG)Status);
            return 1;
        }
    }
    /* Read the children's page tables by process id while they hold their pages. */
    for (int Try = 0; Try < 200 && !(Have[0] && Have[1]); Try++) {
        for (int C = 0; C < 2; C++) {
            BOOLEAN All = TRUE;
            if (Have[C])
                continue;
            for (int I = 0; I < DEMO_PAGES && All; I++)
                All = QueryPte(Pid[C], DEMO_VA + I * PAGE_SIZE, &Info[C][I]);
            Have[C] = All;
        }
        if (!(Have[0] && Have[1]))
            PgSleep(10);
    }
    if (Have[0] && Have[1]) {
        printf("\n%-16s  %-24s  %-24s\n", "VA", "A (pid)", "B (pid)");
        for (int I = 0; I < DEMO_PAGES; I++)
            printf("0x%-14llX  frame 0x%-8llx (%-4u)    frame 0x%-8llx (%-4u)\n",
                   DEMO_VA + I * PAGE_SIZE, Frame(Info[0][I].Entry[3]), Pid[0],
                   Frame(Info[1][I].Entry[3]), Pid[1]);
        printf("same virtual addresses, different frames: each process has its own page tables\n\n");
        if (HoldMs > 0)
            printf("vademo: holding for %d ms\n", HoldMs);
    } else {
        printf("vademo: could not read both children's PTEs\n");
    }
    for (int C = 0; C < 2; C++) {
        if (NT_SUCCESS(PgWaitProcess(Process[C], &Exit)) && Exit != 0)
            printf("vademo: child %c exited with 0x%x\n", 'A' + C, (ULONG)Exit);
        NtClose(Process[C]);
    }
    return 0;
}
