/*
 * pagefile.c - the pagefile and the modified page writer (docs/paging.md).
 *
 * The pagefile (NT's MMPAGING_FILE, MmPagingFile[0]) is a run of disk
 * sectors cut into page-sized slots: \Device\Harddisk0\Partition1 of
 * the partition driver, which must be of type 0xDA (tools/mkdisk.py makes
 * it, from LBA 2048 to the end of the disk). A slot
 * bitmap says which slots hold a page; slot 0 is never used, so that a
 * pagefile PTE (PageFileHigh = slot) never looks like demand-zero.
 *
 *   boot:   MmInitializePagingFile (kernel/init.c, after the partition driver)
 *           "pagefile=SIZE" caps the size, "pagefile=off" turns it off;
 *           without a disk it says so once and the system runs as before
 *   write:  the modified page writer (MiModifiedPageWriter, a System thread
 *           at NT's priority 17) takes up to MI_WRITE_CLUSTER pages off the
 *           head of the modified list, gives them consecutive slots, and
 *           writes them with ONE paging IRP (the cluster: modified-list
 *           neighbours, not virtual neighbours as NT's); each frame then
 *           goes to standby with OriginalPte = the pagefile PTE of its slot
 *   read:   a hard fault (mm/fault.c) reads the faulting page and up to
 *           MI_READ_CLUSTER - 1 neighbours whose PTEs are pagefile PTEs at
 *           consecutive slots in the same page table, with ONE MiPageFileIo
 *           into frames marked ReadInProgress; the neighbours then wait on
 *           the standby list in transition (a touch is a soft fault)
 *
 * Paging I/O is NT's IoPageRead / IoSynchronousPageWrite: an IRP built here
 * (IoAllocateIrp) with IRP_PAGING_IO | IRP_NOCACHE, an MDL whose PFN array
 * names the frames (no virtual buffer: the driver maps the frames), sent
 * with IoCallDriver; a completion routine signals an event on the caller's
 * stack and keeps the IRP (STATUS_MORE_PROCESSING_REQUIRED): no APC, no
 * thread owns it. The caller waits at PASSIVE or APC level, never with the
 * PFN lock held.
 *
 * Where the slot of a page lives: while the frame is on the modified list
 * or being written, nowhere (the writer holds it); once written, in
 * MMPFN.OriginalPte, which a standby reuse writes into the PTE
 * (mm/pfn.c). A page read back keeps its slot (OriginalPte) until it is
 * found dirty at a trim, an MDL unlock or the end of a write
 * (MiDropPageFileCopy), or freed; a PTE in the pagefile state owns its
 * slot until decommit, process exit or paged pool free (mm/pte.c,
 * mm/procsup.c).
 *
 * Locking: the bitmap and the counters are under the PFN lock
 * (DISPATCH_LEVEL). One writer at a time (MiWriterMutex, a fast mutex):
 * the thread, or a test's MmFlushModifiedPages. The writer gathers and
 * ends its pages under the PFN lock and writes them without it.
 */
#include "mi.h"
#include "../io/io.h"
#include "../ob/ob.h"
#include "../ps/ps.h"
#include "../rtl/rtl.h"

#define MI_WRITE_CLUSTER 16 /* pages in one write IRP at most */
#define MI_MODIFIED_WRITER_PRIORITY 17 /* NT's */
#define MI_PAGEFILE_TAG POOL_TAG('M', 'm', 'P', 'f')
#define MI_INPAGE_TAG POOL_TAG('M', 'm', 'I', 'n')
#define MI_PARTITION_TYPE_PAGEFILE 0xDA
/* A second, relative, in 100 ns units. */
#define MI_WRITER_PERIOD (-1000LL * 10000)

PMMPAGING_FILE MmPagingFile[MI_MAX_PAGING_FILES];
ULONG MmNumberOfPagingFiles;
ULONG64 MmPagesWritten, MmPageFileWrites, MmPageFileReads, MmPageFilePagesRead;
PFN_NUMBER MmModifiedPageMaximum = (PFN_NUMBER)-1;
static MMPAGING_FILE MiPagingFile0;
static KEVENT MiModifiedPageWriterEvent;
/* The reserve: one IRP and MI_WRITE_CLUSTER system PTEs (their page
 * tables made at boot) for paging I/O when IoAllocateIrp finds no pool or
 * MmMapLockedPagesSpecifyCache no page-table frame - memory is lowest
 * exactly when pages must be written (NT keeps reserved IRPs and mapping
 * PTEs for the same reason). A synchronization event is its lock,
 * waitable at APC_LEVEL. */
static PIRP MiReserveIrp;
static USHORT MiReserveIrpSize;
static PUCHAR MiPagingReserveVa;
static KEVENT MiReserveLock;
/* NT's MmAvailablePagesEvent (notification): set when a frame reaches
 * the free or standby list while a thread waits for one. */
static KEVENT MmAvailablePagesEvent;
ULONG MiAvailablePagesWaiters;
ULONG64 MiAvailablePagesGeneration;
ULONG64 MmAvailablePagesWaits, MmAvailablePagesWakes, MmAvailablePagesTimeouts;
ULONG64 MmAvailablePagesNotWaited;
LONGLONG MiAvailablePagesTimeout = -10LL * 10000;
/* MiWaitForAvailablePages' view of a stuck machine: the generation it
 * last saw and since when (KeQueryTickCount, ms). PFN lock. */
static ULONG64 MiStuckGeneration, MiStuckSince;
#define MI_STUCK_MS 1000
static volatile BOOLEAN MiWriting; /* MiWriteModifiedPages is at work */
static FAST_MUTEX MiWriterMutex;
static BOOLEAN MiWriterStarted;

BOOLEAN MmPagingFileActive(void)
{
    return MmPagingFile[0] != NULL;
}

/* ------------------------------------------------------------------------
 * Slots. PFN lock held.
 * ------------------------------------------------------------------------ */
static inline BOOLEAN MiSlotInUse(PMMPAGING_FILE File, PFN_NUMBER Slot)
{
    return (File->Bitmap[Slot / 64] >> (Slot % 64)) & 1;
}

static PFN_NUMBER MiFindFreeSlot(PMMPAGING_FILE File)
{
    PFN_NUMBER Words = (File->Size + 63) / 64;
    PFN_NUMBER Word = File->Hint / 64;
    for (PFN_NUMBER n = 0; n <= Words; n++, Word = (Word + 1) % Words) {
        if (File->Bitmap[Word] == ~0ULL)
            continue;
        PFN_NUMBER Slot = Word * 64 + (PFN_NUMBER)__builtin_ctzll(~File->Bitmap[Word]);
        if (Slot < File->Size)
            return Slot;
    }
    return 0;
}

ULONG MiAllocatePageFileSlots(ULONG Count, PFN_NUMBER *Slot)
{
    PMMPAGING_FILE File = MmPagingFile[0];
    if (File == NULL || File->FreeSpace == 0 || Count == 0)
        return 0;
    PFN_NUMBER First = MiFindFreeSlot(File);
    if (First == 0)
        return 0;
    ULONG Got = 0;
    while (Got < Count && First + Got < File->Size && !MiSlotInUse(File, First + Got)) {
        File->Bitmap[(First + Got) / 64] |= 1ULL << ((First + Got) % 64);
        Got++;
    }
    File->FreeSpace -= Got;
    File->CurrentUsage += Got;
    if (File->CurrentUsage > File->PeakUsage)
        File->PeakUsage = File->CurrentUsage;
    File->Hint = First + Got < File->Size ? First + Got : 1;
    *Slot = First;
    return Got;
}

PFN_NUMBER MiAllocatePageFileSlot(void)
{
    PFN_NUMBER Slot;
    return MiAllocatePageFileSlots(1, &Slot) ? Slot : 0;
}

void MiReleasePageFileSlot(PFN_NUMBER Slot)
{
    PMMPAGING_FILE File = MmPagingFile[0];
    if (File == NULL || Slot == 0 || Slot >= File->Size || !MiSlotInUse(File, Slot))
        KeBugCheckEx(MEMORY_MANAGEMENT, 0x41790, Slot, File ? File->Size : 0, 0);
    File->Bitmap[Slot / 64] &= ~(1ULL << (Slot % 64));
    File->FreeSpace++;
    File->CurrentUsage--;
}

/* ------------------------------------------------------------------------
 * Paging I/O (NT's IoPageRead and IoSynchronousPageWrite).
 * ------------------------------------------------------------------------ */
static inline ULONG MiMdlPageCount(PMDL Mdl)
{
    return Mdl->ByteCount / PAGE_SIZE;
}

STATIC_ASSERT(MI_READ_CLUSTER <= MI_WRITE_CLUSTER); /* one MI_PAGING_MDL holds either */

typedef struct _MI_PAGING_MDL {
    MDL Mdl;
    PFN_NUMBER Pfns[MI_WRITE_CLUSTER];
} MI_PAGING_MDL;

/* The IRP stays ours: signal the waiter, stop the completion walk. */
static NTSTATUS MiPagingIoCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    UNREFERENCED_PARAMETER(Irp);
    KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* An IRP and a system view of the MDL's frames (the driver may map it
 * itself: it finds it mapped), from the pool and system PTEs, or else the
 * reserve (*Reserve TRUE). IRQL <= APC_LEVEL. */
static PIRP MiGetPagingIrp(PMDL Mdl, PBOOLEAN Reserve)
{
    UCHAR StackSize = (UCHAR)MmPagingFile[0]->Device->StackSize;
    PIRP Irp = IoAllocateIrp((CCHAR)StackSize, FALSE);
    PVOID View =
        MmMapLockedPagesSpecifyCache(Mdl, KernelMode, MmCached, NULL, FALSE, HighPagePriority);
    *Reserve = Irp == NULL || View == NULL;
    if (!*Reserve)
        return Irp;
    if (Irp != NULL)
        IoFreeIrp(Irp);
    if (View != NULL)
        MmUnmapLockedPages(View, Mdl);
    (void)KeWaitForSingleObject(&MiReserveLock, WrPageIn, KernelMode, FALSE, NULL);
    IoInitializeIrp(MiReserveIrp, MiReserveIrpSize, (CCHAR)StackSize);
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel(); /* system PTEs change at DISPATCH_LEVEL */
    for (ULONG i = 0; i < MiMdlPageCount(Mdl); i++) {
        if (!NT_SUCCESS(MiMapPage(MiPagingReserveVa + i * PAGE_SIZE, MmGetMdlPfnArray(Mdl)[i],
                                  MM_PTE_WRITE | MM_PTE_NO_EXECUTE)))
            KeBugCheckEx(MEMORY_MANAGEMENT, 0x41791, (ULONG_PTR)MiPagingReserveVa, i, 0);
    }
    KeLowerIrql(OldIrql);
    Mdl->MappedSystemVa = MiPagingReserveVa;
    Mdl->MdlFlags |= MDL_MAPPED_TO_SYSTEM_VA;
    return MiReserveIrp;
}

static void MiPutPagingIrp(PIRP Irp, PMDL Mdl, BOOLEAN Reserve)
{
    if (!Reserve) {
        if (Mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA)
            MmUnmapLockedPages(Mdl->MappedSystemVa, Mdl);
        IoFreeIrp(Irp);
        return;
    }
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    for (ULONG i = 0; i < MiMdlPageCount(Mdl); i++)
        (void)MiUnmapPage(MiPagingReserveVa + i * PAGE_SIZE);
    KeLowerIrql(OldIrql);
    Mdl->MdlFlags &= ~MDL_MAPPED_TO_SYSTEM_VA;
    Mdl->MappedSystemVa = NULL;
    KeSetEvent(&MiReserveLock, IO_NO_INCREMENT, FALSE);
}

NTSTATUS MiPageFileIo(const PFN_NUMBER *Pfns, ULONG Count, PFN_NUMBER Slot, BOOLEAN Write)
{
    BOOLEAN Reserve;
    PMMPAGING_FILE File = MmPagingFile[0];
    ASSERT(KeGetCurrentIrql() <= APC_LEVEL && Count >= 1 && Count <= MI_WRITE_CLUSTER);
    MI_PAGING_MDL Paging;
    PMDL Mdl = &Paging.Mdl;
    MmInitializeMdl(Mdl, NULL, (SIZE_T)Count * PAGE_SIZE);
    for (ULONG i = 0; i < Count; i++)
        Paging.Pfns[i] = Pfns[i];
    /* The frames are held by the caller's reference (ReadInProgress /
     * WriteInProgress), as a lock would hold them. */
    Mdl->MdlFlags = MDL_PAGES_LOCKED | (Write ? 0 : MDL_IO_PAGE_READ | MDL_WRITE_OPERATION);
    PIRP Irp = MiGetPagingIrp(Mdl, &Reserve);
    KEVENT Event;
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    Irp->MdlAddress = Mdl;
    Irp->Flags = IRP_PAGING_IO | IRP_NOCACHE | (Write ? IRP_WRITE_OPERATION : IRP_READ_OPERATION);
    Irp->RequestorMode = KernelMode;
    Irp->UserBuffer = MmGetMdlVirtualAddress(Mdl);
    PIO_STACK_LOCATION Sp = IoGetNextIrpStackLocation(Irp);
    Sp->MajorFunction = Write ? IRP_MJ_WRITE : IRP_MJ_READ;
    Sp->Parameters.Read.Length = Count * PAGE_SIZE;
    Sp->Parameters.Read.ByteOffset.QuadPart = (LONGLONG)(File->DeviceOffset + Slot * PAGE_SIZE);
    IoSetCompletionRoutine(Irp, MiPagingIoCompletion, &Event, TRUE, TRUE, TRUE);
    (void)IoCallDriver(File->Device, Irp);
    /* The routine runs whether the driver pended or not: always wait. */
    (void)KeWaitForSingleObject(&Event, WrPageIn, KernelMode, FALSE, NULL);
    NTSTATUS Status = Irp->IoStatus.Status;
    if (NT_SUCCESS(Status) && Irp->IoStatus.Information != (ULONG_PTR)Count * PAGE_SIZE)
        Status = STATUS_IN_PAGE_ERROR;
    MiPutPagingIrp(Irp, Mdl, Reserve);
    return Status;
}

/* ------------------------------------------------------------------------
 * The modified page writer (NT's MiModifiedPageWriter).
 * ------------------------------------------------------------------------ */

/* Up to MI_WRITE_CLUSTER pages off the modified list, with consecutive
 * slots; each is marked WriteInProgress. Returns how many. PFN lock. */
static ULONG MiGatherModifiedPages(PFN_NUMBER *Pfns, PFN_NUMBER *Slot)
{
    PFN_NUMBER Want = MmModifiedPageListHead.Total;
    if (Want > MI_WRITE_CLUSTER)
        Want = MI_WRITE_CLUSTER;
    ULONG Count = Want ? MiAllocatePageFileSlots((ULONG)Want, Slot) : 0;
    for (ULONG i = 0; i < Count; i++) {
        Pfns[i] = MmModifiedPageListHead.Flink;
        MiMarkTransitionForIo(Pfns[i]);
    }
    return Count;
}

/* The write is over. A page whose write succeeded and that nobody wrote
 * or freed meanwhile keeps its slot in OriginalPte and goes to standby;
 * otherwise the slot goes and the page back to modified (or free). PFN
 * lock. */
static void MiCompleteWrite(const PFN_NUMBER *Pfns, ULONG Count, PFN_NUMBER Slot, NTSTATUS Status)
{
    for (ULONG i = 0; i < Count; i++) {
        PMMPFN Entry = MI_PFN_ELEMENT(Pfns[i]);
        if (NT_SUCCESS(Status) && Entry->PteAddress != NULL && !Entry->Modified) {
            Entry->OriginalPte = MiMakePageFilePte(Slot + i, Entry->OriginalPte.u.Soft.Protection);
            MmPagesWritten++;
        } else {
            MiReleasePageFileSlot(Slot + i);
            if (!NT_SUCCESS(Status))
                Entry->Modified = 1;
        }
        MiEndPagingIo(Pfns[i]);
    }
    MmPageFileWrites++;
}

/* Write modified pages, a cluster per IRP, until the list is empty, the
 * pagefile is full, Limit pages are written or a write fails. Returns the
 * pages written. PASSIVE_LEVEL. */
static PFN_NUMBER MiWriteModifiedPages(PFN_NUMBER Limit)
{
    PFN_NUMBER Pfns[MI_WRITE_CLUSTER], Slot, Written = 0;
    ExAcquireFastMutex(&MiWriterMutex);
    MiWriting = TRUE;
    while (Written < Limit) {
        KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
        ULONG Count = MiGatherModifiedPages(Pfns, &Slot);
        KeLowerIrql(OldIrql);
        if (Count == 0)
            break;
        NTSTATUS Status = MiPageFileIo(Pfns, Count, Slot, TRUE);
        OldIrql = KeRaiseIrqlToDpcLevel();
        MiCompleteWrite(Pfns, Count, Slot, Status); /* to standby: wakes the waiters */
        KeLowerIrql(OldIrql);
        if (!NT_SUCCESS(Status)) {
            DbgPrint("Pagefile: a write of %u pages at slot %llu failed: 0x%08x\n", Count,
                     (ULONG64)Slot, (ULONG)Status);
            break;
        }
        Written += Count;
    }
    MiWriting = FALSE;
    ExReleaseFastMutex(&MiWriterMutex);
    return Written;
}

PFN_NUMBER MmFlushModifiedPages(void)
{
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    if (!MmPagingFileActive())
        return 0;
    return MiWriteModifiedPages((PFN_NUMBER)-1);
}

/* Is there work: the modified list past its maximum, or memory low? */
static BOOLEAN MiModifiedWriterShouldRun(void)
{
    return MmModifiedPageListHead.Total != 0 &&
        (MmModifiedPageListHead.Total >= MmModifiedPageMaximum ||
         MmAvailablePages() < 2 * MmMinimumAvailablePages);
}

static void MiModifiedPageWriter(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeSetPriorityThread(KeGetCurrentThread(), MI_MODIFIED_WRITER_PRIORITY);
    LARGE_INTEGER Period;
    Period.QuadPart = MI_WRITER_PERIOD;
    for (;;) {
        (void)KeWaitForSingleObject(&MiModifiedPageWriterEvent, WrFreePage, KernelMode, FALSE,
                                    &Period);
        if (MiModifiedWriterShouldRun())
            (void)MiWriteModifiedPages(MmModifiedPageListHead.Total);
    }
}

void MiWakeModifiedPageWriter(void)
{
    if (MiWriterStarted)
        KeSetEvent(&MiModifiedPageWriterEvent, IO_NO_INCREMENT, FALSE);
}

/* A frame reached the free or standby list with MiAvailablePagesWaiters
 * != 0 (mm/pfn.c). PFN lock held. */
void MiSignalAvailablePages(void)
{
    KeSetEvent(&MmAvailablePagesEvent, IO_NO_INCREMENT, FALSE);
}

/*
 * Can nothing free a frame? No frame has reached the free or standby list
 * for MI_STUCK_MS while threads kept waiting (each wait woke the
 * working-set manager and the writer), and the writer has nothing it
 * could write: no modified page, or no free slot, and no write under
 * way. Then a wait would only run out its 10 ms again. PFN lock held.
 */
static BOOLEAN MiNothingCanFreeFrames(void)
{
    ULONG64 Now = KeQueryTickCount();
    if (MiStuckGeneration != MiAvailablePagesGeneration || MiStuckSince == 0) {
        MiStuckGeneration = MiAvailablePagesGeneration;
        MiStuckSince = Now;
        return FALSE;
    }
    if (Now - MiStuckSince < MI_STUCK_MS || MiWriting)
        return FALSE;
    PMMPAGING_FILE File = MmPagingFile[0];
    return MmModifiedPageListHead.Total == 0 || File == NULL || File->FreeSpace == 0;
}

/*
 * No frame was to be had (a fault, a paged-pool page). As NT's
 * MiEnsureAvailablePageOrWait: wake the threads that make frames free
 * and sleep on MmAvailablePagesEvent, which the first frame to reach the
 * free or standby list after the event was reset sets (a page freed, a
 * clean page trimmed, a write ended). The reset and the count of waiters
 * change under the PFN lock, as the lists do, so a frame freed after the
 * reset is never missed; one freed between the caller's failure and the
 * reset is (the caller's retry would have found it): then the 10 ms
 * limit ends the wait. The callers count their tries (mm/fault.c,
 * mm/pool.c: 3000) and then give up. When nothing can free a frame
 * (MiNothingCanFreeFrames: a second without one, nothing to write) the
 * call returns at once, so a caller that cannot be served fails in about
 * a second, not in 3000 waits of 10 ms - what made the boots at -m 32M
 * with a pagefile slow where memory runs out on purpose.
 */
void MiWaitForAvailablePages(void)
{
    ASSERT(KeGetCurrentIrql() < DISPATCH_LEVEL);
    LARGE_INTEGER Timeout;
    Timeout.QuadPart = MiAvailablePagesTimeout;
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    if (MiNothingCanFreeFrames()) {
        MmAvailablePagesNotWaited++;
        KeLowerIrql(OldIrql);
        return;
    }
    KeResetEvent(&MmAvailablePagesEvent);
    MiAvailablePagesWaiters++;
    MmAvailablePagesWaits++;
    KeLowerIrql(OldIrql);
    MiWakeWorkingSetManager();
    MiWakeModifiedPageWriter();
    NTSTATUS Status =
        KeWaitForSingleObject(&MmAvailablePagesEvent, WrFreePage, KernelMode, FALSE, &Timeout);
    OldIrql = KeRaiseIrqlToDpcLevel();
    MiAvailablePagesWaiters--;
    if (Status == STATUS_TIMEOUT)
        MmAvailablePagesTimeouts++;
    else
        MmAvailablePagesWakes++;
    KeLowerIrql(OldIrql);
}

/* ------------------------------------------------------------------------
 * Opening the pagefile.
 * ------------------------------------------------------------------------ */

/* ntdddisk.h's IOCTL_DISK_GET_PARTITION_INFO and PARTITION_INFORMATION,
 * as the partition driver answers them (io/drivers/partition.h has the
 * same; that header is the driver's). */
#define MI_IOCTL_DISK_GET_PARTITION_INFO 0x00074004
typedef struct _MI_PARTITION_INFORMATION {
    LARGE_INTEGER StartingOffset;
    LARGE_INTEGER PartitionLength;
    ULONG HiddenSectors;
    ULONG PartitionNumber;
    UCHAR PartitionType;
    BOOLEAN BootIndicator;
    BOOLEAN RecognizedPartition;
    BOOLEAN RewritePartition;
} MI_PARTITION_INFORMATION;

/* Ask Device for its partition information (into nonpaged *Info). */
static NTSTATUS MiQueryPartition(PDEVICE_OBJECT Device, MI_PARTITION_INFORMATION *Info)
{
    KEVENT Event;
    IO_STATUS_BLOCK Iosb;
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    PIRP Irp = IoBuildDeviceIoControlRequest(MI_IOCTL_DISK_GET_PARTITION_INFO, Device, NULL, 0,
                                             Info, sizeof(*Info), FALSE, &Event, &Iosb);
    if (Irp == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS Status = IoCallDriver(Device, Irp);
    if (Status == STATUS_PENDING) {
        (void)KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, NULL);
        Status = Iosb.Status;
    }
    if (NT_SUCCESS(Status) && Iosb.Information < sizeof(*Info))
        Status = STATUS_INFO_LENGTH_MISMATCH;
    return Status;
}

/*
 * Where the pagefile lives: *Device (referenced), the byte offset of its
 * first slot there and its length in bytes: the partition device
 * \Device\Harddisk0\Partition1 of the partition driver
 * (io/drivers/partition.c), whose type must be 0xDA (tools/mkdisk.py), from
 * its offset 0 to its end. The one place that says where the pagefile is
 * (a file on a file system would change only this). PASSIVE_LEVEL.
 */
static NTSTATUS MiOpenPagingFile(PDEVICE_OBJECT *Device, PULONG64 Offset, PULONG64 Length)
{
    static const UNICODE_STRING Name = RTL_CONSTANT_STRING(u"\\Device\\Harddisk0\\Partition1");
    PDEVICE_OBJECT Partition;
    NTSTATUS Status =
        ObReferenceObjectByName(&Name, 0, IoDeviceObjectType, KernelMode, (PVOID *)&Partition);
    if (!NT_SUCCESS(Status))
        return Status;
    MI_PARTITION_INFORMATION *Info =
        ExAllocatePoolWithTag(NonPagedPool, sizeof(*Info), MI_PAGEFILE_TAG);
    Status = Info ? MiQueryPartition(Partition, Info) : STATUS_INSUFFICIENT_RESOURCES;
    if (NT_SUCCESS(Status) &&
        (Info->PartitionType != MI_PARTITION_TYPE_PAGEFILE ||
         Info->PartitionLength.QuadPart < 16 * (LONGLONG)PAGE_SIZE))
        Status = STATUS_NO_SUCH_DEVICE;
    if (NT_SUCCESS(Status)) {
        *Offset = 0;
        *Length = (ULONG64)Info->PartitionLength.QuadPart;
    }
    if (Info)
        ExFreePoolWithTag(Info, MI_PAGEFILE_TAG);
    if (!NT_SUCCESS(Status)) {
        ObDereferenceObject(Partition);
        return Status;
    }
    *Device = Partition;
    return STATUS_SUCCESS;
}

static void MiStartModifiedPageWriter(void)
{
    HANDLE Handle;
    KeInitializeEvent(&MiModifiedPageWriterEvent, SynchronizationEvent, FALSE);
    if (!NT_SUCCESS(PsCreateSystemThread(&Handle, THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                         MiModifiedPageWriter, NULL))) {
        DbgPrint("Pagefile: the modified page writer did not start; pages are written only "
                 "on demand\n");
        return;
    }
    ObCloseHandle(Handle, KernelMode);
    MiWriterStarted = TRUE;
}

/* The reserve's system PTEs, with their page tables made now (system
 * page tables are never freed, mm/pte.c): map a frame at each page, then
 * unmap it. FALSE when there is no room. */
static BOOLEAN MiReserveMapping(void)
{
    MiPagingReserveVa = MiReserveVa(&MiSystemPteRegion, MI_WRITE_CLUSTER);
    PFN_NUMBER Pfn = MiRemoveAnyPage(MiUsageDriver);
    BOOLEAN Ok = MiPagingReserveVa != NULL && Pfn != MM_EMPTY_LIST;
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    for (ULONG i = 0; Ok && i < MI_WRITE_CLUSTER; i++) {
        Ok = NT_SUCCESS(MiMapPage(MiPagingReserveVa + i * PAGE_SIZE, Pfn, MM_PTE_NO_EXECUTE));
        if (Ok)
            (void)MiUnmapPage(MiPagingReserveVa + i * PAGE_SIZE);
    }
    KeLowerIrql(OldIrql);
    if (Pfn != MM_EMPTY_LIST)
        MiInsertPageInFreeList(Pfn);
    return Ok;
}

/* The slots: what the partition holds, cut to "pagefile=SIZE". */
static PFN_NUMBER MiPageFileSlots(ULONG64 Length)
{
    PFN_NUMBER Slots = Length / PAGE_SIZE;
    ULONG64 Wanted = KeBootOptions.PageFileBytes / PAGE_SIZE;
    if (Wanted != 0 && Wanted < Slots)
        Slots = Wanted;
    else if (Wanted > Slots)
        DbgPrint("Pagefile: pagefile=%lluM is larger than its partition: %lluM used\n",
                 KeBootOptions.PageFileBytes >> 20, (ULONG64)Slots >> 8);
    return Slots;
}

void MmInitializePagingFile(void)
{
    PDEVICE_OBJECT Device;
    ULONG64 Offset, Length;
    ExInitializeFastMutex(&MiWriterMutex);
    KeInitializeEvent(&MmAvailablePagesEvent, NotificationEvent, FALSE);
    if (KeBootOptions.PageFileOff) {
        KdPrintBoot("Pagefile: off (pagefile=off): memory is RAM alone\n");
        return;
    }
    NTSTATUS Status = MiOpenPagingFile(&Device, &Offset, &Length);
    if (!NT_SUCCESS(Status)) {
        KdPrintBoot("Pagefile: none (0x%08x: no \\Device\\Harddisk0\\Partition1 of type 0xDA): "
                    "memory is RAM alone. Attach a disk made by tools/mkdisk.py (make run does)\n",
                    (ULONG)Status);
        return;
    }
    PFN_NUMBER Slots = MiPageFileSlots(Length);
    SIZE_T BitmapBytes = (Slots + 63) / 64 * sizeof(ULONG64);
    ULONG64 *Bitmap = ExAllocatePoolWithTag(NonPagedPool, BitmapBytes, MI_PAGEFILE_TAG);
    MiReserveIrpSize = IoSizeOfIrp(Device->StackSize);
    MiReserveIrp = ExAllocatePoolWithTag(NonPagedPool, MiReserveIrpSize, MI_PAGEFILE_TAG);
    if (Bitmap == NULL || MiReserveIrp == NULL || !MiReserveMapping()) {
        DbgPrint("Pagefile: no pool for a bitmap of %llu slots: no pagefile\n", (ULONG64)Slots);
        if (Bitmap)
            ExFreePoolWithTag(Bitmap, MI_PAGEFILE_TAG);
        if (MiReserveIrp)
            ExFreePoolWithTag(MiReserveIrp, MI_PAGEFILE_TAG);
        ObDereferenceObject(Device);
        return;
    }
    KeInitializeEvent(&MiReserveLock, SynchronizationEvent, TRUE);
    memset(Bitmap, 0, BitmapBytes);
    Bitmap[0] = 1; /* slot 0: never used */
    PMMPAGING_FILE File = &MiPagingFile0;
    File->Size = Slots;
    File->FreeSpace = Slots - 1;
    File->Bitmap = Bitmap;
    File->Hint = 1;
    File->Device = Device;
    File->DeviceOffset = Offset;
    /* Past this many modified pages the writer starts (NT sizes its
     * MmModifiedPageMaximum by RAM too): RAM / 16, at least 64. */
    PFN_NUMBER Maximum = MmNumberOfPhysicalPages() / 16;
    MmModifiedPageMaximum = Maximum < 64 ? 64 : Maximum;
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    MmPagingFile[0] = File;
    MmNumberOfPagingFiles = 1;
    KeLowerIrql(OldIrql);
    MiStartModifiedPageWriter();
    KdPrintBoot("Pagefile: %llu MiB (%llu slots) on \\Device\\Harddisk0\\Partition1; the "
                "modified page writer starts at %llu modified pages\n",
                (ULONG64)Slots >> 8, (ULONG64)Slots, (ULONG64)MmModifiedPageMaximum);
}

/* One line that says how much paging the boot did, printed when the
 * tests or init end (kernel/ktest.c, kernel/init.c): the harness's
 * paging boots require pages written and read back (tests/run.py). */
void MmPrintPagingSummary(void)
{
    if (!MmPagingFileActive())
        return;
    MM_MEMORY_COUNTERS Counters;
    MmQueryMemoryCounters(&Counters);
    DbgPrint("Pagefile: %llu pages written in %llu writes, %llu reads, %llu hard faults; "
             "peak %llu of %llu slots; %llu waits for frames (%llu woken, %llu timed out), "
             "%llu not waited\n",
             Counters.PagesWritten, Counters.PageFileWrites, Counters.PageFileReads,
             MmFaultCounters.HardFault, (ULONG64)Counters.PageFilePeak,
             (ULONG64)Counters.PageFilePages, MmAvailablePagesWaits, MmAvailablePagesWakes,
             MmAvailablePagesTimeouts, MmAvailablePagesNotWaited);
}
