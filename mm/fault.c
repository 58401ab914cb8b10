/*
 * fault.c - MmAccessFault, the memory manager's half of the page-fault
 * handler.
 *
 * KiDispatchTrap (kernel/trap.c) calls it once for every #PF, kernel or
 * user mode, with the error code and CR2; nothing else calls it. It
 * returns an explicit outcome: STATUS_SUCCESS when the faulting access can
 * be retried, or the status the access fails with. The caller decides what
 * a failure means: for user mode, Ps ends the process with that status;
 * for kernel mode, the copy routines' fixup or a bugcheck.
 *
 *   fault at Va
 *     |
 *     +-- user half (Va < MM_USER_PROBE_ADDRESS)
 *     |     PTE zero / tables missing ........ STATUS_ACCESS_VIOLATION (not committed)
 *     |     PTE valid (so: protection) ....... STATUS_ACCESS_VIOLATION
 *     |     software PTE, PAGE_GUARD ......... clear the guard, then:
 *     |         on this thread's user stack .. next page down becomes the guard, STATUS_SUCCESS
 *     |         the stack's last guard ....... STATUS_STACK_OVERFLOW
 *     |         anywhere else ................ STATUS_GUARD_PAGE_VIOLATION
 *     |     software PTE, access not allowed . STATUS_ACCESS_VIOLATION
 *     |     transition PTE ................... valid again, same frame; a soft
 *     |         fault when the frame was on standby/modified (trimmed,
 *     |         mm/wsmgr.c, or being written by the modified page
 *     |         writer): back into the working set, no I/O
 *     |         frame ReadInProgress ......... collided fault: wait for that
 *     |         read (the in-page block's event), retry, no second read
 *     |     pagefile PTE ..................... hard fault: a frame, ReadInProgress,
 *     |         the PTE in transition, a paging read at APC_LEVEL, then
 *     |         valid and in the working set (STATUS_IN_PAGE_ERROR if the
 *     |         read fails)
 *     |     demand-zero PTE .................. zeroed frame, valid PTE, joins the
 *     |         working set, STATUS_SUCCESS
 *     |         (without a pagefile always found at once: the commit
 *     |         charge kept one for every committed page, mm/pfn.c; with
 *     |         one, maybe after waiting for the modified page writer)
 *     |
 *     +-- paged pool, demand-zero PTE ......... zeroed frame, joins the system
 *     |         working set (MmSystemAddressSpace.Vm), STATUS_SUCCESS
 *     +-- paged pool, transition PTE .......... soft (or collided) fault: back
 *     |         from standby or modified into the system working set
 *     +-- paged pool, pagefile PTE ............ hard fault, as for a user page
 *     +-- anything else in system space ....... STATUS_ACCESS_VIOLATION (caller bugchecks)
 *
 * The stack grows the same way whether the thread touched its guard page
 * or a system service's copy routine touched it on the thread's behalf.
 *
 * Locking and IRQL: the handler runs with interrupts as the faulting code
 * had them (KiDispatchTrap sets that). Pageable memory faulted at
 * DISPATCH_LEVEL or above is bugcheck 0xA. A PTE is examined and resolved
 * at DISPATCH_LEVEL (on one processor, the PFN lock): no other thread or
 * DPC can see it half done. The I/O of a hard fault, and a collided
 * fault's wait, run at APC_LEVEL with no lock held: the frame's
 * ReadInProgress and the transition PTE stand for the fault meanwhile.
 * Stack growth commits the new guard page below DISPATCH_LEVEL, under the
 * address-space lock of mm/ntvm.c.
 */
#include "mi.h"
#include "../ps/ps.h"   /* PsGetCurrentThreadUserStackLimits */

volatile MM_FAULT_COUNTERS MmFaultCounters;
void (*MmHardFaultReadHook)(PFN_NUMBER Pfn);

/* What a resolution at DISPATCH_LEVEL leaves to do below it
 * (STATUS_PENDING): read the page and its cluster (Reader), or wait for
 * another fault's read of it (a collided fault). */
typedef struct _MI_FAULT_IO {
    PMI_INPAGE_SUPPORT InPage;
    PFN_NUMBER Pfns[MI_READ_CLUSTER]; /* the frames, in slot order */
    ULONG Count; /* pages in the read */
    ULONG Faulting; /* the faulting page's index in Pfns */
    PFN_NUMBER Slot; /* the slot of Pfns[0] */
    BOOLEAN Reader;
    PMMSUPPORT WorkingSet;
} MI_FAULT_IO, *PMI_FAULT_IO;

/* The PTE names a frame being read by a hard fault: wait for that read
 * (NT's collided page fault) instead of reading again. PFN lock. */
static NTSTATUS MiCollidedFault(PFN_NUMBER Pfn, PMI_FAULT_IO Io)
{
    Io->InPage = MI_PFN_ELEMENT(Pfn)->InPage;
    Io->InPage->References++;
    Io->Reader = FALSE;
    MmFaultCounters.CollidedFault++;
    return STATUS_PENDING;
}

/* Is the PTE Offset entries from Pte in the same page table, and a
 * pagefile PTE at slot Slot + Offset? Then its page can be read with the
 * faulting one, in the same IRP. */
static BOOLEAN MiIsClusterNeighbour(PMMPTE Pte, LONG Offset, PFN_NUMBER Slot)
{
    PMMPTE Other = Pte + Offset;
    if (PAGE_ALIGN(Other) != PAGE_ALIGN(Pte))
        return FALSE;
    MMPTE Entry = *Other;
    return MiPteState(Entry) == MiPtePageFile &&
        Entry.u.Soft.PageFileHigh == (PFN_NUMBER)((LONG64)Slot + Offset);
}

/* Frame Pfn will receive the page of Pte (pagefile PTE Entry): marked
 * ReadInProgress and off every list (TransitionPage), InPage its in-page
 * block, and the PTE becomes a transition PTE naming it, so that a fault
 * on the page finds the read under way. PFN lock. */
static void MiPrepareInPageFrame(PFN_NUMBER Pfn, PMMPTE Pte, PMMSUPPORT WorkingSet,
                                 PMI_INPAGE_SUPPORT InPage)
{
    MMPTE Entry = *Pte;
    PMMPFN PfnEntry = MI_PFN_ELEMENT(Pfn);
    PfnEntry->PteAddress = Pte;
    PfnEntry->PteFrame = MiGetPteAddress(Pte)->u.Hard.PageFrameNumber;
    PfnEntry->OriginalPte = Entry; /* the slot stays the page's until it is dirtied */
    PfnEntry->Pageable = 1;
    PfnEntry->PageLocation = TransitionPage;
    PfnEntry->ShareCount = 0;
    PfnEntry->ReadInProgress = 1;
    PfnEntry->WorkingSet = WorkingSet;
    PfnEntry->InPage = InPage;
    Pte->u.Long = ((ULONG64)Pfn << PAGE_SHIFT) | MM_PTE_TRANSITION |
        ((ULONG64)Entry.u.Soft.Protection << MM_PROTECT_SHIFT);
    PMMADDRESS_SPACE Owner = CONTAINING_RECORD(WorkingSet, MMADDRESS_SPACE, Vm);
    Owner->ResidentPages++;
    Owner->PageFilePages--; /* the frame's OriginalPte owns the slot now */
}

/* Give the neighbours in direction Step (1 or -1) of the page at Pte
 * (slot Slot) frames for the read, while they are pagefile PTEs at
 * consecutive slots in the same page table, Room allows and memory is not
 * low; Pfns[0], [1]... get the frames, nearest first. Returns how many.
 * PFN lock. */
static ULONG MiAddClusterPages(PMMPTE Pte, PFN_NUMBER Slot, LONG Step, MI_PFN_USAGE Usage,
                               PMI_FAULT_IO Io, ULONG Room, PFN_NUMBER *Pfns)
{
    ULONG Added = 0;
    while (Added < Room && MmAvailablePages() > MmMinimumAvailablePages &&
           MiIsClusterNeighbour(Pte, Step * (LONG)(Added + 1), Slot)) {
        PFN_NUMBER Pfn = MiRemoveAnyPage(Usage);
        if (Pfn == MM_EMPTY_LIST)
            break;
        MiPrepareInPageFrame(Pfn, Pte + Step * (LONG)(Added + 1), Io->WorkingSet, Io->InPage);
        Pfns[Added++] = Pfn;
    }
    return Added;
}

/*
 * A hard fault begins: Entry (at Pte) is a pagefile PTE. A frame for it
 * (no zeroing: the read fills it), an in-page block with the event
 * collided faults wait on, and the read cluster (NT's): the pages after
 * and then before it whose PTEs are pagefile PTEs at consecutive slots in
 * the same page table, MI_READ_CLUSTER pages in all at most, each with a
 * frame prepared the same way (MiPrepareInPageFrame). STATUS_PENDING: the
 * caller reads them with one IRP (MiPageFileIo) below DISPATCH_LEVEL,
 * then MiCompleteHardFault. STATUS_NO_MEMORY: no frame now. PFN lock.
 */
static NTSTATUS MiBeginHardFault(PMMPTE Pte, MMPTE Entry, MI_PFN_USAGE Usage, PMMSUPPORT WorkingSet,
                                 PMI_FAULT_IO Io)
{
    PMI_INPAGE_SUPPORT InPage =
        ExAllocatePoolWithTag(NonPagedPool, sizeof(*InPage), POOL_TAG('M', 'm', 'I', 'n'));
    if (InPage == NULL)
        return STATUS_NO_MEMORY;
    PFN_NUMBER Pfn = MiRemoveAnyPage(Usage);
    if (Pfn == MM_EMPTY_LIST) {
        ExFreePoolWithTag(InPage, POOL_TAG('M', 'm', 'I', 'n'));
        return STATUS_NO_MEMORY;
    }
    KeInitializeEvent(&InPage->Event, NotificationEvent, FALSE);
    InPage->Status = STATUS_PENDING;
    InPage->References = 1;
    Io->InPage = InPage;
    Io->Reader = TRUE;
    Io->WorkingSet = WorkingSet;
    MiPrepareInPageFrame(Pfn, Pte, WorkingSet, InPage);
    /* Ahead into Pfns[1..], behind into a scratch array, then in slot order. */
    PFN_NUMBER Slot = Entry.u.Soft.PageFileHigh;
    PFN_NUMBER Behind[MI_READ_CLUSTER - 1];
    ULONG Ahead = MiAddClusterPages(Pte, Slot, 1, Usage, Io, MI_READ_CLUSTER - 1, &Io->Pfns[1]);
    ULONG Back = MiAddClusterPages(Pte, Slot, -1, Usage, Io, MI_READ_CLUSTER - 1 - Ahead, Behind);
    for (ULONG i = Ahead; i >= 1; i--)
        Io->Pfns[Back + i] = Io->Pfns[i];
    Io->Pfns[Back] = Pfn;
    for (ULONG i = 0; i < Back; i++)
        Io->Pfns[Back - 1 - i] = Behind[i];
    Io->Count = 1 + Ahead + Back;
    Io->Faulting = Back;
    Io->Slot = Slot - Back;
    return STATUS_PENDING;
}

/* The valid PTE for a page read back (user: its protection may have
 * changed during the read; 0 when it is no longer accessible). */
static ULONG64 MiHardFaultPteBits(PMMSUPPORT WorkingSet, MMPTE Transition)
{
    if (WorkingSet == &MmSystemAddressSpace.Vm)
        return MM_PTE_VALID | MM_PTE_WRITE | MM_PTE_NO_EXECUTE;
    return MiMakeUserPteBits((ULONG)Transition.u.Trans.Protection);
}

/* The faulting page's read is over and succeeded: it joins its working
 * set and its PTE is made valid (unless its protection became no-access
 * meanwhile: then it stays a transition PTE on an active frame, as such
 * pages do). PFN lock. */
static void MiMakeFaultingPageValid(PMI_FAULT_IO Io, PFN_NUMBER Pfn)
{
    PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
    PMMPTE Pte = Entry->PteAddress;
    Entry->ReadInProgress = 0;
    Entry->PageLocation = ActiveAndValid;
    Entry->ShareCount = 1;
    MiInsertWorkingSetPage(Io->WorkingSet, Pfn);
    ULONG64 Bits = MiHardFaultPteBits(Io->WorkingSet, *Pte);
    if (Bits != 0) {
        Pte->u.Long = ((ULONG64)Pfn << PAGE_SHIFT) | Bits;
        KeFlushSingleTb(MiGetVirtualAddressMappedByPte(Pte));
    }
    Io->WorkingSet->HardFaults++;
    Io->WorkingSet->PageFaultCount++;
    MmFaultCounters.HardFault++;
}

/* The read is over. Success: the faulting page becomes valid
 * (MiMakeFaultingPageValid); the cluster's other pages go to the standby
 * list, clean, their PTEs in transition (a touch is a soft fault).
 * Failure: each PTE gets its pagefile PTE back, the frames go. A page
 * freed during the read (PteAddress NULL): its frame goes. Collided
 * faults are woken. PFN lock; the PTEs are in the current address space. */
static NTSTATUS MiCompleteHardFault(PMI_FAULT_IO Io, NTSTATUS Status)
{
    PMI_INPAGE_SUPPORT InPage = Io->InPage;
    for (ULONG i = 0; i < Io->Count; i++) {
        PFN_NUMBER Pfn = Io->Pfns[i];
        PMMPFN Entry = MI_PFN_ELEMENT(Pfn);
        Entry->Flink = MM_EMPTY_LIST; /* no longer the in-page block */
        PMMPTE Pte = Entry->PteAddress;
        if (Pte != NULL && !NT_SUCCESS(Status)) {
            Pte->u.Long = Entry->OriginalPte.u.Long;
            Entry->OriginalPte.u.Long = 0; /* the PTE owns the slot again */
            Entry->PteAddress = NULL;
            PMMADDRESS_SPACE Owner = CONTAINING_RECORD(Io->WorkingSet, MMADDRESS_SPACE, Vm);
            Owner->ResidentPages--;
            Owner->PageFilePages++;
        }
        if (i == Io->Faulting && Entry->PteAddress != NULL)
            MiMakeFaultingPageValid(Io, Pfn);
        else
            MiEndPagingIo(Pfn); /* to standby, or freed */
    }
    InPage->Status = Status;
    KeSetEvent(&InPage->Event, IO_NO_INCREMENT, FALSE);
    if (--InPage->References == 0)
        ExFreePoolWithTag(InPage, POOL_TAG('M', 'm', 'I', 'n'));
    return Status;
}

/*
 * The I/O half of a hard or collided fault. Entered at DISPATCH_LEVEL
 * (the PFN lock) from the resolution; drops to APC_LEVEL (or Irql, the
 * faulting code's, if higher) - as NT's faults run, so no APC runs in
 * between and touches the page being read - reads the page and completes
 * the fault, or waits on the reader's event; returns at DISPATCH_LEVEL.
 * STATUS_SUCCESS (retry the access) or STATUS_IN_PAGE_ERROR.
 */
static __attribute__((noinline)) NTSTATUS MiFinishFaultIo(PMI_FAULT_IO Io, KIRQL Irql)
{
    NTSTATUS Status;
    KIRQL OldIrql;
    KeLowerIrql(Irql > APC_LEVEL ? Irql : APC_LEVEL);
    if (Io->Reader) {
        if (MmHardFaultReadHook != NULL)
            MmHardFaultReadHook(Io->Pfns[Io->Faulting]);
        Status = MiPageFileIo(Io->Pfns, Io->Count, Io->Slot, FALSE);
        OldIrql = KeRaiseIrqlToDpcLevel();
        MmPageFileReads++;
        MmPageFilePagesRead += Io->Count;
        Status = MiCompleteHardFault(Io, Status);
        KeLowerIrql(OldIrql);
    } else {
        PMI_INPAGE_SUPPORT InPage = Io->InPage;
        (void)KeWaitForSingleObject(&InPage->Event, WrPageIn, KernelMode, FALSE, NULL);
        OldIrql = KeRaiseIrqlToDpcLevel();
        Status = InPage->Status;
        if (--InPage->References == 0)
            ExFreePoolWithTag(InPage, POOL_TAG('M', 'm', 'I', 'n'));
        KeLowerIrql(OldIrql);
    }
    (void)KeRaiseIrqlToDpcLevel();
    return NT_SUCCESS(Status) ? STATUS_SUCCESS : STATUS_IN_PAGE_ERROR;
}

static BOOLEAN MiAccessAllowed(ULONG MmProtection, ULONG64 FaultCode)
{
    /* MM_NOACCESS (0x18) contains the guard bit (0x10): test it first. */
    if (MmProtection == MM_NOACCESS)
        return FALSE;
    ULONG Base = MmProtection & ~MM_GUARD_PAGE;
    if (Base == MM_ZERO_ACCESS)
        return FALSE;
    if ((FaultCode & PF_WRITE) && Base != MM_READWRITE && Base != MM_EXECUTE_READWRITE)
        return FALSE;
    if ((FaultCode & PF_FETCH) && Base != MM_EXECUTE && Base != MM_EXECUTE_READ &&
        Base != MM_EXECUTE_READWRITE)
        return FALSE;
    return TRUE;
}

/* Give the page Pte maps a zeroed frame (preferably one the zero-page
 * thread prepared) and make the PTE valid with HardwareBits. */
static NTSTATUS MiDemandZeroFill(PMMPTE Pte, MMPTE Entry, PVOID Va, MI_PFN_USAGE Usage,
                                 ULONG64 HardwareBits, PMMSUPPORT WorkingSet)
{
    PFN_NUMBER Pfn = MiRemoveZeroPage(Usage);
    if (Pfn == MM_EMPTY_LIST)
        return STATUS_NO_MEMORY;
    PMMPFN PfnEntry = MI_PFN_ELEMENT(Pfn);
    PfnEntry->PteAddress = Pte;
    PfnEntry->PteFrame = MiGetPteAddress(Pte)->u.Hard.PageFrameNumber;
    PfnEntry->OriginalPte = Entry;
    PfnEntry->Pageable = 1;
    if (WorkingSet != NULL)
        MiInsertWorkingSetPage(WorkingSet, Pfn);
    Pte->u.Long = ((ULONG64)Pfn << PAGE_SHIFT) | HardwareBits;
    KeFlushSingleTb(Va);
    return STATUS_SUCCESS;
}

/* Always inline: one copy in each of MmAccessFault's two pageable paths,
 * where User is known, so that the common fault makes no call here. */
#define MI_FAULT_INLINE inline __attribute__((always_inline))
static MI_FAULT_INLINE NTSTATUS MiResolveUserFault(ULONG64 FaultCode, PVOID Va, PMI_FAULT_IO Io)
{
    PMMADDRESS_SPACE AddressSpace = MmCurrentAddressSpace;
    if (!MiGetPxeAddress(Va)->u.Hard.Valid || !MiGetPpeAddress(Va)->u.Hard.Valid ||
        !MiGetPdeAddress(Va)->u.Hard.Valid)
        return STATUS_ACCESS_VIOLATION;
    PMMPTE Pte = MiGetPteAddress(Va);
    MMPTE Entry = *Pte;
    if (Entry.u.Long == 0 || Entry.u.Hard.Valid)
        return STATUS_ACCESS_VIOLATION;

    ULONG Protection = MiGetSoftwareProtection(Entry);
    if ((Protection & MM_GUARD_PAGE) && Protection != MM_NOACCESS) {
        /* A guard page fires once (NT's STATUS_GUARD_PAGE_VIOLATION), then
         * behaves as its protection without the guard. */
        Pte->u.Long = (Entry.u.Long & ~MM_PROTECT_MASK) |
                      ((ULONG64)(Protection & ~MM_GUARD_PAGE) << MM_PROTECT_SHIFT);
        MmFaultCounters.GuardPage++;
        return STATUS_GUARD_PAGE_VIOLATION;
    }
    if (!MiAccessAllowed(Protection, FaultCode))
        return STATUS_ACCESS_VIOLATION;

    if (Entry.u.Soft.Transition) {
        /* A soft fault when the frame was trimmed to the standby or
         * modified list: back into the working set, no I/O. (An active
         * frame is a resident page that was PAGE_NOACCESS or PAGE_GUARD:
         * it never left the working set.) The frame keeps its Modified
         * flag, so a page written before its trim goes back to the
         * modified list next time even with a clean D bit. */
        PFN_NUMBER Pfn = Entry.u.Trans.PageFrameNumber;
        if (MI_PFN_ELEMENT(Pfn)->ReadInProgress)
            return MiCollidedFault(Pfn, Io);
        if (MI_PFN_ELEMENT(Pfn)->PageLocation != ActiveAndValid) {
            MiRestoreTransitionPage(&AddressSpace->Vm, Pfn);
            AddressSpace->Vm.TransitionFaults++;
            AddressSpace->Vm.PageFaultCount++;
            MmFaultCounters.TransitionFault++;
        }
        Pte->u.Long = (Entry.u.Long & MM_PTE_FRAME_MASK) | MiMakeUserPteBits(Protection);
        KeFlushSingleTb(Va);
        return STATUS_SUCCESS;
    }

    if (Entry.u.Soft.PageFileHigh != 0) /* pagefile PTE: the only other state left */
        return MiBeginHardFault(Pte, Entry, MiUsageUser, &AddressSpace->Vm, Io);
    NTSTATUS Status = MiDemandZeroFill(Pte, Entry, Va, MiUsageUser, MiMakeUserPteBits(Protection),
                                       &AddressSpace->Vm);
    if (!NT_SUCCESS(Status))
        return Status;
    AddressSpace->ResidentPages++;
    AddressSpace->DemandZeroFaults++;
    AddressSpace->Vm.PageFaultCount++;
    MmFaultCounters.DemandZero++;
    return STATUS_SUCCESS;
}

static MI_FAULT_INLINE NTSTATUS MiResolvePagedPoolFault(PVOID Va, PMI_FAULT_IO Io)
{
    if (!MiIsVaReserved(&MiPagedPoolRegion, PAGE_ALIGN(Va), 1) ||
        !MiGetPdeAddress(Va)->u.Hard.Valid)
        return STATUS_ACCESS_VIOLATION;
    PMMPTE Pte = MiGetPteAddress(Va);
    MMPTE Entry = *Pte;
    if (Entry.u.Hard.Valid || MiGetSoftwareProtection(Entry) != MM_READWRITE)
        return STATUS_ACCESS_VIOLATION;
    /* Paged pool's pages are the system working set (MmSystemAddressSpace.Vm,
     * NT's MmSystemCacheWs): trimmed like a process's, back the same way. */
    PMMSUPPORT SystemWs = &MmSystemAddressSpace.Vm;
    if (Entry.u.Soft.Transition) {
        PFN_NUMBER Pfn = Entry.u.Trans.PageFrameNumber;
        if (MI_PFN_ELEMENT(Pfn)->ReadInProgress)
            return MiCollidedFault(Pfn, Io);
        MiRestoreTransitionPage(SystemWs, Pfn);
        SystemWs->TransitionFaults++;
        SystemWs->PageFaultCount++;
        MmFaultCounters.TransitionFault++;
        Pte->u.Long =
            ((ULONG64)Pfn << PAGE_SHIFT) | MM_PTE_VALID | MM_PTE_WRITE | MM_PTE_NO_EXECUTE;
        KeFlushSingleTb(Va);
        return STATUS_SUCCESS;
    }
    if (Entry.u.Soft.PageFileHigh != 0) /* pagefile PTE: the only other state left */
        return MiBeginHardFault(Pte, Entry, MiUsagePagedPool, SystemWs, Io);
    NTSTATUS Status = MiDemandZeroFill(Pte, Entry, Va, MiUsagePagedPool,
                                       MM_PTE_VALID | MM_PTE_WRITE | MM_PTE_NO_EXECUTE, SystemWs);
    if (!NT_SUCCESS(Status))
        return Status;
    MmSystemAddressSpace.ResidentPages++;
    SystemWs->PageFaultCount++;
    MmFaultCounters.PagedPoolDemandZero++;
    return STATUS_SUCCESS;
}

/*
 * A guard page of the user half was just touched, and MiResolveUserFault
 * has made it an ordinary page. If it belongs to the current thread's user
 * stack, the stack grows as on Windows: the page below becomes the new
 * guard and the access is retried (STATUS_SUCCESS), whether the thread
 * touched the guard itself or a system service's copy routine touched it
 * for the thread (an output buffer on the stack). The lowest page of the
 * reservation is never committed, so the guard right above it is the last
 * one: STATUS_STACK_OVERFLOW. A guard page that is not on the stack is the
 * program's own: STATUS_GUARD_PAGE_VIOLATION, as the fault was.
 *
 * NT reads the stack's limits from the thread's TEB; Pagoda asks Ps. Only
 * in the thread's own address space: attached to another process, the
 * kernel touches that process's memory, not this thread's stack.
 * IRQL < DISPATCH_LEVEL, interrupts enabled (the commit takes
 * the address-space lock, a fast mutex).
 */
static NTSTATUS MiCheckForUserStackOverflow(PVOID Va)
{
    PKTHREAD Thread = KeGetCurrentThread();
    ULONG_PTR Page = (ULONG_PTR)PAGE_ALIGN(Va);
    ULONG_PTR LowLimit, HighLimit;

    if (Thread == NULL || MmCurrentAddressSpace != Thread->Process->AddressSpace ||
        !PsGetCurrentThreadUserStackLimits(&LowLimit, &HighLimit) || Page < LowLimit ||
        Page >= HighLimit)
        return STATUS_GUARD_PAGE_VIOLATION;
    if (Page - PAGE_SIZE <= LowLimit)
        return STATUS_STACK_OVERFLOW;
    NTSTATUS Status = MmCommitUserRange(MmCurrentAddressSpace, (PVOID)(Page - PAGE_SIZE),
                                        PAGE_SIZE, PAGE_READWRITE | PAGE_GUARD);
    if (!NT_SUCCESS(Status))
        return Status;
    MmFaultCounters.UserStackGrowth++;
    return STATUS_SUCCESS;
}

/*
 * One attempt at a fault on pageable memory (the user half when User, else
 * paged pool) at Irql < DISPATCH_LEVEL: the PTE is examined and changed at
 * DISPATCH_LEVEL (the PFN lock); a hard or collided fault then does its
 * I/O at APC_LEVEL (MiFinishFaultIo, out of line). Inline with a constant
 * User at each call site: a demand-zero or soft fault pays for nothing
 * else (the pagefile merge once made every fault run a retry loop that
 * the compiler filled with both halves' address checks, about 60
 * instructions per fault; docs/performance.md).
 */
static MI_FAULT_INLINE NTSTATUS MiResolveOnce(ULONG64 FaultCode, PVOID Va, KIRQL Irql, BOOLEAN User)
{
    MI_FAULT_IO Io;
    KIRQL OldIrql = KeRaiseIrqlToDpcLevel();
    NTSTATUS Status =
        User ? MiResolveUserFault(FaultCode, Va, &Io) : MiResolvePagedPoolFault(Va, &Io);
    if (Status == STATUS_PENDING)
        Status = MiFinishFaultIo(&Io, Irql);
    KeLowerIrql(OldIrql);
    return Status;
}

/*
 * A fault found no frame (STATUS_NO_MEMORY). With a pagefile, wait for the
 * modified page writer and the working-set manager to make one free
 * (MiWaitForAvailablePages) and try again, for up to MI_FAULT_FRAME_TRIES
 * waits; without one, or after them, STATUS_NO_MEMORY. Out of line, with
 * its own copies of the resolution: a loop around the common path lets the
 * compiler move the address arithmetic of every try before the first.
 */
#define MI_FAULT_FRAME_TRIES 3000 /* 10 ms each: half a minute */
static __attribute__((noinline, cold)) NTSTATUS MiRetryPageableFault(ULONG64 FaultCode, PVOID Va,
                                                                     KIRQL Irql)
{
    BOOLEAN User = (ULONG_PTR)Va < MM_USER_PROBE_ADDRESS;
    NTSTATUS Status = STATUS_NO_MEMORY;
    for (ULONG Try = 0;
         Status == STATUS_NO_MEMORY && MmPagingFileActive() && Try < MI_FAULT_FRAME_TRIES; Try++) {
        MiWaitForAvailablePages();
        Status = MiResolveOnce(FaultCode, Va, Irql, User);
    }
    return Status;
}

/* Resolve a fault on pageable memory: one try, and more while frames are
 * short. User is a constant at each call site. */
static MI_FAULT_INLINE NTSTATUS MiResolvePageableFault(ULONG64 FaultCode, PVOID Va, KIRQL Irql,
                                                       BOOLEAN User)
{
    NTSTATUS Status = MiResolveOnce(FaultCode, Va, Irql, User);
    if (Status == STATUS_NO_MEMORY)
        Status = MiRetryPageableFault(FaultCode, Va, Irql);
    return Status;
}

/*
 * The page-fault handler's memory-manager half; KiDispatchTrap
 * (kernel/trap.c) is its only caller, for every #PF, kernel or user mode.
 * FaultCode is the CPU's error code (PF_* in kernel/ke.h), Va the faulting
 * address (CR2), FaultingRip the instruction, for the bugcheck parameters.
 *
 * Returns STATUS_SUCCESS when the access can be retried (a page was made
 * valid, or the user stack grew), else the status the access fails with:
 * STATUS_ACCESS_VIOLATION, STATUS_GUARD_PAGE_VIOLATION (a guard page not on
 * the stack), STATUS_STACK_OVERFLOW (the stack's last guard page),
 * STATUS_COMMITMENT_LIMIT (no commit left for the stack's next page), or
 * STATUS_NO_MEMORY (paged pool only: a committed user page always finds
 * its frame, mm/pfn.c). The caller decides what a failure means.
 *
 * IRQL: any, but touching pageable memory (the user half, paged pool) at
 * DISPATCH_LEVEL or above is bugcheck IRQL_NOT_LESS_OR_EQUAL (0xA).
 * Interrupts as the faulting code had them; the PTE is examined and
 * resolved at DISPATCH_LEVEL (the PFN lock, one processor), so no other
 * thread or DPC sees it half done.
 */
NTSTATUS MmAccessFault(ULONG64 FaultCode, PVOID Va, ULONG_PTR FaultingRip)
{
    MmFaultCounters.Total++;

    if (FaultCode & PF_RESERVED) {
        /* A reserved bit in a paging entry: our own tables are corrupt. */
        KeBugCheckEx(MEMORY_MANAGEMENT, 0x41284, (ULONG_PTR)Va, MmGetPteValue(Va), FaultCode);
    }

    /* Pageable memory (user pages, paged pool) may be touched only below
     * DISPATCH_LEVEL: resolving a fault may have to wait for the disk. NT
     * stops here even when the page happens to be resident; so do we. */
    BOOLEAN Pageable = (ULONG_PTR)Va < MM_USER_PROBE_ADDRESS ||
                       ((ULONG_PTR)Va >= MM_PAGED_POOL_START &&
                        (ULONG_PTR)Va < MM_PAGED_POOL_START + MM_PAGED_POOL_SIZE);
    KIRQL Irql = KeGetCurrentIrql();
    if (Pageable && Irql >= DISPATCH_LEVEL) {
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)Va, Irql,
                     (FaultCode & PF_FETCH) ? 8 : (FaultCode & PF_WRITE) ? 1 : 0,
                     FaultingRip);
    }

    NTSTATUS Status = STATUS_ACCESS_VIOLATION;
    if ((ULONG_PTR)Va < MM_USER_PROBE_ADDRESS) {
        Status = MiResolvePageableFault(FaultCode, Va, Irql, TRUE);
        if (Status == STATUS_GUARD_PAGE_VIOLATION)
            Status = MiCheckForUserStackOverflow(Va);
        if (Status == STATUS_ACCESS_VIOLATION)
            MmFaultCounters.AccessViolation++;
        return Status;
    }

    if (Pageable) {
        Status = MiResolvePageableFault(FaultCode, Va, Irql, FALSE);
        if (NT_SUCCESS(Status))
            return Status;
    }
    MmFaultCounters.KernelUnresolved++;
    return STATUS_ACCESS_VIOLATION;
}
