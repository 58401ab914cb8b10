/*
 * sysinfo.c - NtQuerySystemInformation: what the shell's ps, mem, pool,
 * pte, vad, drivers and devices commands show, as snapshots the kernel
 * copies out.
 *
 *   class                      in (at the start of Buffer)   out
 *   SystemProcessInformation   -                             SYSTEM_PROCESS_ENTRY[]
 *   SystemMemoryInformation    -                             SYSTEM_MEMORY_INFORMATION
 *   SystemPoolTagInformation   -                             SYSTEM_POOLTAG[] (both pools)
 *   SystemPteInformation       SYSTEM_PTE_QUERY              SYSTEM_PTE_INFORMATION
 *   SystemVadInformation       SYSTEM_VAD_QUERY              SYSTEM_VAD_ENTRY[]
 *   SystemInterruptInformation -                             SYSTEM_INTERRUPT_ENTRY[]
 *   SystemPciInformation       -                             SYSTEM_PCI_ENTRY[]
 *   SystemModuleInformation    -                             SYSTEM_MODULE_ENTRY[]
 *   SystemDeviceInformation    -                             SYSTEM_DEVICE_ENTRY[]
 *   SystemProcessorStateInformation -                        SYSTEM_PROCESSOR_ENTRY[]
 *
 * Every class is answered the same way: gather the answer into a kernel
 * buffer (EXP_QUERY_ANSWER) with whatever locks the data needs, release
 * them, and only then copy to the caller - user memory can fault, and a
 * fault must never happen under a lock or at DISPATCH_LEVEL. When Length
 * is smaller than the answer, nothing is copied: the result is
 * STATUS_INFO_LENGTH_MISMATCH and *ReturnLength (optional) says how many
 * bytes are needed, so the caller can grow its buffer and ask again (the
 * answer may have grown meanwhile: ask in a loop).
 *
 * Everything comes through public headers: the memory manager's counters,
 * page-table walk and VAD enumeration (mm/mm.h: MmQueryMemoryCounters,
 * MmWalkPageTables, MmEnumerateVads), the scheduler's counters
 * (kernel/ke.h), the process list (ps/ps.h), the interrupt objects
 * (KeQueryInterrupts, kernel/ke.h), the processor table
 * (KeQueryProcessorInformation, kernel/ke.h), the PCI scan (hal/hal.h), the loaded drivers and
 * every driver's devices (io/io.h: IoQueryDriverInformation).
 *
 * Locking and IRQL: the service runs at PASSIVE_LEVEL. The process list is
 * read at DISPATCH_LEVEL: ps/psmgr.c changes it under its process lock,
 * a spin lock, so at that IRQL, which on this single processor keeps
 * every other thread away (kernel/irql.c). The Mm
 * routines take the locks their data needs (the PFN lock, the VM mutex)
 * and return without them.
 */
#include "ex.h"
#include "../kernel/ke.h"
#include "../ps/ps.h"
#include "../mm/mm.h"
#include "../hal/hal.h"
#include "../io/io.h"
#include "../rtl/rtl.h"
#include "../include/ntapi.h"

#define EXP_QUERY_TAG POOL_TAG('E', 'x', 'Q', 'i')

/* Extra entries allocated beyond the count just seen, for processes or
 * VADs created between the count and the copy. */
#define EXP_QUERY_SLACK 4

STATIC_ASSERT(MiUsageMaximum <= ARRAYSIZE(((SYSTEM_MEMORY_INFORMATION *)0)->PagesByUsage));

/* An answer gathered in the kernel: Size bytes at Data, a pool block (tag
 * EXP_QUERY_TAG) when Pool is TRUE, else the caller's stack. */
typedef struct _EXP_QUERY_ANSWER {
    PVOID Data;
    SIZE_T Size;
    BOOLEAN Pool;
} EXP_QUERY_ANSWER;

/* ------------------------------------------------------------------------
 * Processes
 * ------------------------------------------------------------------------ */

static ULONG ExpCountProcesses(void)
{
    ULONG Count = 0;
    for (PLIST_ENTRY Link = PsActiveProcessHead.Flink; Link != &PsActiveProcessHead;
         Link = Link->Flink)
        Count++;
    return Count;
}

/* One line of ps. At DISPATCH_LEVEL (ExpLockProcessList): the process is
 * on the list, so its body is still there (ps/psmgr.c unlinks it before
 * freeing). */
static void ExpFillProcessEntry(SYSTEM_PROCESS_ENTRY *Entry, PEPROCESS Process)
{
    PMMADDRESS_SPACE Space = Process->Pcb.AddressSpace;

    Entry->ProcessId = (ULONG)(ULONG_PTR)Process->UniqueProcessId;
    Entry->ParentProcessId = (ULONG)(ULONG_PTR)Process->InheritedFromUniqueProcessId;
    Entry->ThreadCount = Process->Pcb.ThreadCount;
    /* A snapshot read without the table's lock: a ULONG cannot tear. */
    Entry->HandleCount = Process->ObjectTable != NULL ? Process->ObjectTable->HandleCount : 0;
    Entry->ExitStatus = Process->ExitStatus;
    if (!Process->RundownDone && Space != NULL) {
        Entry->CommittedPages = Space->CommittedPages;
        Entry->ResidentPages = Space->ResidentPages;
        Entry->PageTablePages = Space->PageTablePages;
        Entry->WorkingSetSize = Space->Vm.WorkingSetSize;
        Entry->PeakWorkingSetSize = Space->Vm.PeakWorkingSetSize;
        Entry->PageFaultCount = Space->Vm.PageFaultCount;
        Entry->TransitionFaults = Space->Vm.TransitionFaults;
        Entry->HardFaults = Space->Vm.HardFaults;
        Entry->PageFilePages = Space->PageFilePages;
    }
    memcpy(Entry->ImageName, Process->ImageFileName, sizeof(Entry->ImageName));
    Entry->ImageName[sizeof(Entry->ImageName) - 1] = '\0';
}

/* Keep the process list still: ps/psmgr.c changes it only under its
 * process lock, a spin lock held at DISPATCH_LEVEL; on one processor,
 * being at DISPATCH_LEVEL ourselves is enough to keep it out. */
static KIRQL ExpLockProcessList(void)
{
    return KeRaiseIrqlToDpcLevel();
}

static void ExpUnlockProcessList(KIRQL OldIrql)
{
    KeLowerIrql(OldIrql);
}

/* Every process on PsActiveProcessHead. The list is counted, a buffer
 * allocated with the lock dropped (pool must not be called under the
 * dispatcher lock), and filled; if it grew past the slack, again. */
static NTSTATUS ExpQueryProcesses(EXP_QUERY_ANSWER *Answer)
{
    for (;;) {
        KIRQL OldIrql = ExpLockProcessList();
        ULONG Capacity = ExpCountProcesses() + EXP_QUERY_SLACK;
        ExpUnlockProcessList(OldIrql);

        SIZE_T Bytes = (SIZE_T)Capacity * sizeof(SYSTEM_PROCESS_ENTRY);
        SYSTEM_PROCESS_ENTRY *Entries = ExAllocatePoolWithTag(NonPagedPool, Bytes, EXP_QUERY_TAG);
        if (Entries == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        memset(Entries, 0, Bytes);

        ULONG Count = 0;
        BOOLEAN Fits = TRUE;
        OldIrql = ExpLockProcessList();
        for (PLIST_ENTRY Link = PsActiveProcessHead.Flink; Link != &PsActiveProcessHead;
             Link = Link->Flink) {
            if (Count == Capacity) {
                Fits = FALSE;
                break;
            }
            ExpFillProcessEntry(&Entries[Count++],
                                CONTAINING_RECORD(Link, EPROCESS, ActiveProcessLinks));
        }
        ExpUnlockProcessList(OldIrql);

        if (Fits) {
            Answer->Data = Entries;
            Answer->Size = (SIZE_T)Count * sizeof(SYSTEM_PROCESS_ENTRY);
            Answer->Pool = TRUE;
            return STATUS_SUCCESS;
        }
        ExFreePoolWithTag(Entries, EXP_QUERY_TAG);
    }
}

/*
 * Reference the process whose ID is ProcessId (0: the caller's) and
 * acquire its rundown protection, so its address space stays; release
 * both with ExpDereferenceProcess. Returns STATUS_INVALID_PARAMETER when
 * there is none (NOTE: NT says STATUS_INVALID_CID),
 * STATUS_PROCESS_IS_TERMINATING when its rundown has begun.
 */
static NTSTATUS ExpReferenceProcessById(ULONG ProcessId, PEPROCESS *Result)
{
    PEPROCESS Found = NULL;

    if (ProcessId == 0) {
        Found = PsGetCurrentProcess();
        ObReferenceObject(Found);
    } else {
        KIRQL OldIrql = ExpLockProcessList();
        for (PLIST_ENTRY Link = PsActiveProcessHead.Flink; Link != &PsActiveProcessHead;
             Link = Link->Flink) {
            PEPROCESS Process = CONTAINING_RECORD(Link, EPROCESS, ActiveProcessLinks);
            if ((ULONG_PTR)Process->UniqueProcessId != ProcessId)
                continue;
            /* A process whose last reference is gone stays on the list
             * until its delete procedure unlinks it: skip it. At
             * DISPATCH_LEVEL on one processor nobody can drop the count
             * between this check and our reference.
             * NOTE: with SMP this needs NT's ObReferenceObjectSafe. */
            if (ObQueryPointerCount(Process) > 0) {
                ObReferenceObject(Process);
                Found = Process;
            }
            break;
        }
        ExpUnlockProcessList(OldIrql);
        if (Found == NULL)
            return STATUS_INVALID_PARAMETER;
    }
    if (!NT_SUCCESS(PsAcquireProcessExitSynchronization(Found))) {
        ObDereferenceObject(Found);
        return STATUS_PROCESS_IS_TERMINATING;
    }
    *Result = Found;
    return STATUS_SUCCESS;
}

static void ExpDereferenceProcess(PEPROCESS Process)
{
    PsReleaseProcessExitSynchronization(Process);
    ObDereferenceObject(Process);
}

/* ------------------------------------------------------------------------
 * Memory and pools
 * ------------------------------------------------------------------------ */

static void ExpQueryMemory(SYSTEM_MEMORY_INFORMATION *Info)
{
    MM_MEMORY_COUNTERS Counters;

    MmQueryMemoryCounters(&Counters);
    memset(Info, 0, sizeof(*Info));
    Info->TotalPages = Counters.TotalPages;
    Info->AvailablePages = Counters.AvailablePages;
    Info->ZeroedPages = Counters.ZeroedPages;
    for (ULONG Usage = 0; Usage < MiUsageMaximum; Usage++)
        Info->PagesByUsage[Usage] = Counters.PagesByUsage[Usage];
    Info->DemandZeroFaults = MmFaultCounters.DemandZero;
    Info->ZeroedPagesServed = Counters.ZeroedPagesServed;
    Info->PagesZeroedOnDemand = Counters.PagesZeroedOnDemand;
    Info->NonPagedPoolPages = Counters.PagesByUsage[MiUsageNonPagedPool];
    Info->PagedPoolPages = Counters.PagesByUsage[MiUsagePagedPool];
    Info->ContextSwitches = KeSchedulerCounters.ContextSwitches;
    Info->Cr3Switches = KeSchedulerCounters.Cr3Switches;
    Info->CommittedPages = Counters.CommittedPages;
    Info->CommitLimit = Counters.CommitLimit;
    Info->SystemPageTablePages = Counters.SystemPageTablePages;
    Info->FreePages = Counters.FreePages;
    Info->StandbyPages = Counters.StandbyPages;
    Info->ModifiedPages = Counters.ModifiedPages;
    Info->ModifiedNoWritePages = Counters.ModifiedNoWritePages;
    Info->BadPages = Counters.BadPages;
    Info->TransitionFaults = MmFaultCounters.TransitionFault;
    Info->StandbyPagesReused = Counters.StandbyPagesReused;
    Info->TrimmedPages = Counters.TrimmedPages;
    Info->HardFaults = MmFaultCounters.HardFault;
    Info->CollidedFaults = MmFaultCounters.CollidedFault;
    Info->PageFilePages = Counters.PageFilePages;
    Info->PageFileInUse = Counters.PageFileInUse;
    Info->PageFilePeak = Counters.PageFilePeak;
    Info->PagesWritten = Counters.PagesWritten;
    Info->PageFileWrites = Counters.PageFileWrites;
    Info->PageFileReads = Counters.PageFileReads;
    Info->PagesRead = Counters.PageFilePagesRead;
    Info->PagedPoolCommittedPages = Counters.PagedPoolCommittedPages;
    Info->ResidentAvailablePages = Counters.ResidentAvailablePages;
    Info->MinimumResidentAvailablePages = Counters.MinimumResidentAvailablePages;
}

/* Both pools' tag tables, nonpaged first. A tracker has at most
 * POOL_TRACKER_SIZE lines, so the buffers are sized once. */
static NTSTATUS ExpQueryPoolTagTables(EXP_QUERY_ANSWER *Answer)
{
    static const POOL_TYPE Pools[] = {NonPagedPool, PagedPool};
    SIZE_T TagBytes = POOL_TRACKER_SIZE * sizeof(POOL_TAG_INFO);
    SIZE_T OutBytes = ARRAYSIZE(Pools) * POOL_TRACKER_SIZE * sizeof(SYSTEM_POOLTAG);
    ULONG Count = 0;

    PPOOL_TAG_INFO Tags = ExAllocatePoolWithTag(NonPagedPool, TagBytes, EXP_QUERY_TAG);
    if (Tags == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    SYSTEM_POOLTAG *Out = ExAllocatePoolWithTag(NonPagedPool, OutBytes, EXP_QUERY_TAG);
    if (Out == NULL) {
        ExFreePoolWithTag(Tags, EXP_QUERY_TAG);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memset(Out, 0, OutBytes);

    for (ULONG p = 0; p < ARRAYSIZE(Pools); p++) {
        ULONG Found = ExQueryPoolTags(Pools[p], Tags, POOL_TRACKER_SIZE);
        if (Found > POOL_TRACKER_SIZE)
            Found = POOL_TRACKER_SIZE;
        for (ULONG i = 0; i < Found; i++, Count++) {
            Out[Count].Tag = Tags[i].Tag;
            Out[Count].PoolType = (ULONG)Pools[p];
            Out[Count].Allocations = Tags[i].Allocations;
            Out[Count].Frees = Tags[i].Frees;
            Out[Count].BytesInUse = Tags[i].BytesInUse;
        }
    }
    ExFreePoolWithTag(Tags, EXP_QUERY_TAG);

    Answer->Data = Out;
    Answer->Size = (SIZE_T)Count * sizeof(SYSTEM_POOLTAG);
    Answer->Pool = TRUE;
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------
 * Page tables and VADs of a process
 * ------------------------------------------------------------------------ */

/* SystemPteInformation: the query is captured by the caller. */
static NTSTATUS ExpQueryPte(const SYSTEM_PTE_QUERY *Query, SYSTEM_PTE_INFORMATION *Info)
{
    PEPROCESS Process;
    MM_PTE_WALK Walk;

    NTSTATUS Status = ExpReferenceProcessById(Query->ProcessId, &Process);
    if (!NT_SUCCESS(Status))
        return Status;
    /* Non-canonical: STATUS_INVALID_PARAMETER from the walk. */
    Status = MmWalkPageTables(Process->Pcb.AddressSpace, Query->VirtualAddress, &Walk);
    ExpDereferenceProcess(Process);
    if (!NT_SUCCESS(Status))
        return Status;

    memset(Info, 0, sizeof(*Info));
    Info->VirtualAddress = Query->VirtualAddress;
    Info->Levels = Walk.Levels;
    Info->FrameLocation = Walk.PageLocation;
    for (ULONG Level = 0; Level < Walk.Levels; Level++) {
        Info->EntryAddress[Level] = Walk.EntryAddress[Level];
        Info->Entry[Level] = Walk.Entry[Level];
    }
    return STATUS_SUCCESS;
}

/* Where ExpCopyVad writes: Capacity entries at Entries, Count used. */
typedef struct _EXP_VAD_BUFFER {
    SYSTEM_VAD_ENTRY *Entries;
    ULONG Capacity;
    ULONG Count;
} EXP_VAD_BUFFER;

/* MmEnumerateVads callback (VM mutex held): one line of vad. */
static BOOLEAN ExpCopyVad(const MM_VAD_INFORMATION *Vad, PVOID Context)
{
    EXP_VAD_BUFFER *Buffer = Context;
    if (Buffer->Count == Buffer->Capacity)
        return FALSE;
    SYSTEM_VAD_ENTRY *Entry = &Buffer->Entries[Buffer->Count++];
    Entry->StartingAddress = Vad->StartingAddress;
    Entry->EndingAddress = Vad->EndingAddress;
    Entry->AllocationProtect = Vad->AllocationProtect;
    Entry->Flags = Vad->Flags;
    Entry->CommittedPages = Vad->CommittedPages;
    return TRUE;
}

/* SystemVadInformation: the VADs of a process, lowest address first. The
 * VADs are counted, a buffer allocated with room to spare, and filled; if
 * more VADs appeared than it holds, again. */
static NTSTATUS ExpQueryVads(const SYSTEM_VAD_QUERY *Query, EXP_QUERY_ANSWER *Answer)
{
    PEPROCESS Process;
    NTSTATUS Status = ExpReferenceProcessById(Query->ProcessId, &Process);
    if (!NT_SUCCESS(Status))
        return Status;
    PMMADDRESS_SPACE Space = Process->Pcb.AddressSpace;

    for (;;) {
        EXP_VAD_BUFFER Buffer = {NULL, MmEnumerateVads(Space, NULL, NULL) + EXP_QUERY_SLACK, 0};
        SIZE_T Bytes = (SIZE_T)Buffer.Capacity * sizeof(SYSTEM_VAD_ENTRY);
        Buffer.Entries = ExAllocatePoolWithTag(NonPagedPool, Bytes, EXP_QUERY_TAG);
        if (Buffer.Entries == NULL) {
            Status = STATUS_INSUFFICIENT_RESOURCES;
            break;
        }
        memset(Buffer.Entries, 0, Bytes);

        if (MmEnumerateVads(Space, ExpCopyVad, &Buffer) <= Buffer.Capacity) {
            Answer->Data = Buffer.Entries;
            Answer->Size = (SIZE_T)Buffer.Count * sizeof(SYSTEM_VAD_ENTRY);
            Answer->Pool = TRUE;
            Status = STATUS_SUCCESS;
            break;
        }
        ExFreePoolWithTag(Buffer.Entries, EXP_QUERY_TAG);
    }
    ExpDereferenceProcess(Process);
    return Status;
}

/* ------------------------------------------------------------------------
 * The service
 * ------------------------------------------------------------------------ */

/* Copy the query that starts the caller's buffer (PTE and VAD classes). */
static NTSTATUS ExpCaptureQuery(PVOID Buffer, ULONG Length, PVOID Query, ULONG QuerySize,
                                SIZE_T *Needed)
{
    if (Length < QuerySize) {
        *Needed = QuerySize;
        return STATUS_INFO_LENGTH_MISMATCH;
    }
    return MmCopyFromUser(Query, Buffer, QuerySize);
}

/* ------------------------------------------------------------------------
 * Interrupt objects and PCI functions: fixed-size tables, snapshotted into
 * pool (the interrupt table with interrupts off, inside KeQueryInterrupts)
 * ------------------------------------------------------------------------ */
#define EXP_MAX_INTERRUPT_LINES 64

static void ExpFillInterruptEntry(SYSTEM_INTERRUPT_ENTRY *Out, const KE_INTERRUPT_SNAPSHOT *In)
{
    ULONG_PTR Offset;
    Out->Vector = In->Vector;
    Out->Irql = In->Irql;
    Out->SynchronizeIrql = In->SynchronizeIrql;
    Out->ShareVector = In->ShareVector;
    Out->Latched = In->Mode == Latched;
    Out->Object = (ULONG64)In->Object;
    Out->ServiceRoutine = (ULONG64)In->ServiceRoutine;
    Out->Interrupts = In->InterruptCount;
    Out->Claimed = In->ServiceCount;
    const char *Name =
        In->ServiceRoutine ? KeLookupSymbol((ULONG_PTR)In->ServiceRoutine, &Offset) : "(unclaimed)";
    RtlStringCopy(Out->RoutineName, Name ? Name : "?", sizeof(Out->RoutineName));
}

static NTSTATUS ExpQueryInterrupts(EXP_QUERY_ANSWER *Answer)
{
    SIZE_T Bytes =
        EXP_MAX_INTERRUPT_LINES * (sizeof(KE_INTERRUPT_SNAPSHOT) + sizeof(SYSTEM_INTERRUPT_ENTRY));
    PUCHAR Block = ExAllocatePoolWithTag(NonPagedPool, Bytes, EXP_QUERY_TAG);
    if (!Block)
        return STATUS_INSUFFICIENT_RESOURCES;
    SYSTEM_INTERRUPT_ENTRY *Entries = (SYSTEM_INTERRUPT_ENTRY *)Block;
    KE_INTERRUPT_SNAPSHOT *Lines =
        (KE_INTERRUPT_SNAPSHOT *)(Block + EXP_MAX_INTERRUPT_LINES * sizeof(*Entries));
    ULONG Count = KeQueryInterrupts(Lines, EXP_MAX_INTERRUPT_LINES);
    if (Count > EXP_MAX_INTERRUPT_LINES)
        Count = EXP_MAX_INTERRUPT_LINES;
    memset(Entries, 0, Count * sizeof(*Entries));
    for (ULONG i = 0; i < Count; i++)
        ExpFillInterruptEntry(&Entries[i], &Lines[i]);
    *Answer = (EXP_QUERY_ANSWER){Entries, Count * sizeof(*Entries), TRUE};
    return STATUS_SUCCESS;
}

static void ExpFillPciEntry(SYSTEM_PCI_ENTRY *Out, const PCI_DEVICE_INFO *In)
{
    memset(Out, 0, sizeof(*Out));
    Out->Bus = In->Bus;
    Out->Device = In->Device;
    Out->Function = In->Function;
    Out->HeaderType = In->HeaderType;
    Out->VendorId = In->VendorId;
    Out->DeviceId = In->DeviceId;
    Out->BaseClass = In->BaseClass;
    Out->SubClass = In->SubClass;
    Out->ProgIf = In->ProgIf;
    Out->RevisionId = In->RevisionId;
    Out->InterruptLine = In->InterruptLine;
    Out->InterruptPin = In->InterruptPin;
    Out->Command = In->Command;
    for (ULONG i = 0; i < 6; i++) {
        Out->BarBase[i] = In->Bar[i].Base;
        Out->BarSize[i] = In->Bar[i].Size;
        Out->BarIo[i] = In->Bar[i].Io;
    }
    RtlStringCopy(Out->ClassName, HalPciClassName(In->BaseClass, In->SubClass),
                  sizeof(Out->ClassName));
}

static NTSTATUS ExpQueryPci(EXP_QUERY_ANSWER *Answer)
{
    SIZE_T Bytes = HAL_PCI_MAX_DEVICES * (sizeof(PCI_DEVICE_INFO) + sizeof(SYSTEM_PCI_ENTRY));
    PUCHAR Block = ExAllocatePoolWithTag(NonPagedPool, Bytes, EXP_QUERY_TAG);
    if (!Block)
        return STATUS_INSUFFICIENT_RESOURCES;
    SYSTEM_PCI_ENTRY *Entries = (SYSTEM_PCI_ENTRY *)Block;
    PCI_DEVICE_INFO *Devices = (PCI_DEVICE_INFO *)(Block + HAL_PCI_MAX_DEVICES * sizeof(*Entries));
    ULONG Count = HalQueryPciDevices(Devices, HAL_PCI_MAX_DEVICES);
    for (ULONG i = 0; i < Count; i++)
        ExpFillPciEntry(&Entries[i], &Devices[i]);
    *Answer = (EXP_QUERY_ANSWER){Entries, Count * sizeof(*Entries), TRUE};
    return STATUS_SUCCESS;
}

/* The processor table (read-only after boot): one entry per processor. */
static NTSTATUS ExpQueryProcessors(EXP_QUERY_ANSWER *Answer)
{
    STATIC_ASSERT(SYSTEM_PROCESSOR_IDLE == KProcessorIdle);
    STATIC_ASSERT(SYSTEM_PROCESSOR_NOT_STARTED == KProcessorNotStarted);
    SYSTEM_PROCESSOR_ENTRY *Entries = ExAllocatePoolWithTag(
        NonPagedPool, KE_MAXIMUM_PROCESSORS * sizeof(*Entries), EXP_QUERY_TAG);
    KPROCESSOR_INFORMATION Info;
    ULONG Count = 0;
    if (!Entries)
        return STATUS_INSUFFICIENT_RESOURCES;
    while (Count < KE_MAXIMUM_PROCESSORS && KeQueryProcessorInformation(Count, &Info)) {
        Entries[Count] = (SYSTEM_PROCESSOR_ENTRY){
            .Number = Info.Number,
            .ApicId = Info.ApicId,
            .AcpiProcessorId = Info.AcpiProcessorId,
            .State = (UCHAR)Info.State,
            .StartMicroseconds = Info.StartMicroseconds,
            .Cr0 = Info.Cr0,
            .Cr4 = Info.Cr4,
            .Efer = Info.Efer,
        };
        Count++;
    }
    *Answer = (EXP_QUERY_ANSWER){Entries, Count * sizeof(*Entries), TRUE};
    return STATUS_SUCCESS;
}

/*
 * NtQuerySystemInformation - copy a snapshot of Class (see the table at
 * the top) into Buffer, Length bytes, and its size into the optional
 * *ReturnLength.
 *
 * Returns STATUS_SUCCESS; STATUS_INFO_LENGTH_MISMATCH when Length is too
 * small for the answer (or for the query of the PTE and VAD classes):
 * nothing is copied and *ReturnLength receives the size needed;
 * STATUS_INVALID_INFO_CLASS; STATUS_ACCESS_VIOLATION when Buffer (for
 * Length bytes) or ReturnLength is not writable user memory - checked
 * first, before anything is gathered; STATUS_INVALID_PARAMETER for a
 * non-canonical address or an unknown process ID (PTE and VAD classes);
 * STATUS_PROCESS_IS_TERMINATING; STATUS_INSUFFICIENT_RESOURCES.
 * PASSIVE_LEVEL.
 */
NTSTATUS NtQuerySystemInformation(SYSTEM_INFORMATION_CLASS Class, PVOID Buffer, ULONG Length,
                                  PULONG ReturnLength)
{
    EXP_QUERY_ANSWER Answer = {NULL, 0, FALSE};
    SYSTEM_MEMORY_INFORMATION Memory;
    SYSTEM_PTE_QUERY PteQuery;
    SYSTEM_PTE_INFORMATION Pte;
    SYSTEM_VAD_QUERY VadQuery;
    SIZE_T Needed = 0;
    NTSTATUS Status;

    Status = ProbeForWrite(Buffer, Length, 1);
    if (NT_SUCCESS(Status) && ReturnLength != NULL)
        Status = ProbeForWrite(ReturnLength, sizeof(*ReturnLength), 1);
    if (!NT_SUCCESS(Status))
        return Status;

    switch (Class) {
    case SystemProcessInformation:
        Status = ExpQueryProcesses(&Answer);
        break;
    case SystemMemoryInformation:
        ExpQueryMemory(&Memory);
        Answer = (EXP_QUERY_ANSWER){&Memory, sizeof(Memory), FALSE};
        break;
    case SystemPoolTagInformation:
        Status = ExpQueryPoolTagTables(&Answer);
        break;
    case SystemPteInformation:
        /* The answer is larger than the query: ask for room for it first. */
        if (Length < sizeof(Pte)) {
            Needed = sizeof(Pte);
            Status = STATUS_INFO_LENGTH_MISMATCH;
            break;
        }
        Status = ExpCaptureQuery(Buffer, Length, &PteQuery, sizeof(PteQuery), &Needed);
        if (NT_SUCCESS(Status))
            Status = ExpQueryPte(&PteQuery, &Pte);
        if (NT_SUCCESS(Status))
            Answer = (EXP_QUERY_ANSWER){&Pte, sizeof(Pte), FALSE};
        break;
    case SystemVadInformation:
        Status = ExpCaptureQuery(Buffer, Length, &VadQuery, sizeof(VadQuery), &Needed);
        if (NT_SUCCESS(Status))
            Status = ExpQueryVads(&VadQuery, &Answer);
        break;
    case SystemInterruptInformation:
        Status = ExpQueryInterrupts(&Answer);
        break;
    case SystemPciInformation:
        Status = ExpQueryPci(&Answer);
        break;
    case SystemProcessorStateInformation:
        Status = ExpQueryProcessors(&Answer);
        break;
    case SystemModuleInformation:
    case SystemDeviceInformation:
        Status = IoQueryDriverInformation(Class, EXP_QUERY_TAG, &Answer.Data, &Answer.Size);
        Answer.Pool = NT_SUCCESS(Status);
        break;
    default:
        return STATUS_INVALID_INFO_CLASS;
    }

    if (NT_SUCCESS(Status)) {
        Needed = Answer.Size;
        if (Answer.Size > Length)
            Status = STATUS_INFO_LENGTH_MISMATCH;
        else
            Status = MmCopyToUser(Buffer, Answer.Data, Answer.Size);
    }
    if (Answer.Pool)
        ExFreePoolWithTag(Answer.Data, EXP_QUERY_TAG);

    if ((NT_SUCCESS(Status) || Status == STATUS_INFO_LENGTH_MISMATCH) && ReturnLength != NULL) {
        ULONG Returned = (ULONG)Needed;
        NTSTATUS CopyStatus = MmCopyToUser(ReturnLength, &Returned, sizeof(Returned));
        if (!NT_SUCCESS(CopyStatus))
            Status = CopyStatus;
    }
    return Status;
}

/* ------------------------------------------------------------------------
 * NtSetSystemInformation (docs/paging.md)
 * ------------------------------------------------------------------------ */

/*
 * SystemMemoryListInformation: Buffer holds a SYSTEM_MEMORY_LIST_COMMAND
 * (a ULONG, as in NT). MemoryFlushModifiedList writes the modified list to
 * the pagefile in the calling thread (MmFlushModifiedPages: without a
 * pagefile there is nothing to write and it succeeds); the other commands
 * of NT's list are not built: STATUS_NOT_SUPPORTED; past the list:
 * STATUS_INVALID_PARAMETER.
 */
static NTSTATUS ExpSetMemoryList(PVOID Buffer, ULONG Length)
{
    ULONG Command;

    if (Length != sizeof(Command))
        return STATUS_INFO_LENGTH_MISMATCH;
    NTSTATUS Status = MmCopyFromUser(&Command, Buffer, sizeof(Command));
    if (!NT_SUCCESS(Status))
        return Status;
    if (Command >= MemoryCommandMax)
        return STATUS_INVALID_PARAMETER;
    if (Command != MemoryFlushModifiedList)
        return STATUS_NOT_SUPPORTED;
    (void)MmFlushModifiedPages();
    return STATUS_SUCCESS;
}

/*
 * SystemEmptyWorkingSetInformation (SYSTEM_EMPTY_WORKING_SET in Buffer):
 * trim every page of that process's working set that may leave
 * (MmEmptyWorkingSet), so a student can watch its pages go to the standby
 * and modified lists and come back on the next touch.
 */
static NTSTATUS ExpSetEmptyWorkingSet(PVOID Buffer, ULONG Length)
{
    SYSTEM_EMPTY_WORKING_SET Request;
    PEPROCESS Process;

    if (Length != sizeof(Request))
        return STATUS_INFO_LENGTH_MISMATCH;
    NTSTATUS Status = MmCopyFromUser(&Request, Buffer, sizeof(Request));
    if (NT_SUCCESS(Status))
        Status = ExpReferenceProcessById(Request.ProcessId, &Process);
    if (!NT_SUCCESS(Status))
        return Status;
    /* The System process's is the system working set: paged pool. */
    (void)MmEmptyWorkingSet(Process->Pcb.AddressSpace);
    ExpDereferenceProcess(Process);
    return STATUS_SUCCESS;
}

/*
 * NtSetSystemInformation - change a system setting, or ask the memory
 * manager to act now. Two classes: SystemEmptyWorkingSetInformation and
 * SystemMemoryListInformation (above).
 * Returns STATUS_SUCCESS; STATUS_INVALID_INFO_CLASS;
 * STATUS_INFO_LENGTH_MISMATCH for another Length; STATUS_ACCESS_VIOLATION
 * for an unreadable Buffer; STATUS_INVALID_PARAMETER for an unknown
 * process ID or command; STATUS_NOT_SUPPORTED for a command not built;
 * STATUS_PROCESS_IS_TERMINATING. NOTE: NT asks for a privilege; Pagoda has
 * no security, any process may ask. PASSIVE_LEVEL.
 */
NTSTATUS NtSetSystemInformation(SYSTEM_INFORMATION_CLASS Class, PVOID Buffer, ULONG Length)
{
    switch (Class) {
    case SystemEmptyWorkingSetInformation:
        return ExpSetEmptyWorkingSet(Buffer, Length);
    case SystemMemoryListInformation:
        return ExpSetMemoryList(Buffer, Length);
    default:
        return STATUS_INVALID_INFO_CLASS;
    }
}
