/*
 * fault.c - MmAccessFault, the memory manager's half of the page-fault
 * handler.
 *
 * kernel/trap.c calls it for every #PF with the error code and CR2. It
 * returns an explicit outcome: STATUS_SUCCESS when the faulting access can
 * be retried, or the status the access fails with. The caller decides what
 * failure means: the copy routines' fixup, an exception for a user program
 * (the user-mode issue), or a bugcheck for the kernel.
 *
 *   fault at Va
 *     |
 *     +-- user half (Va < MM_USER_PROBE_ADDRESS)
 *     |     PTE zero / tables missing ........ STATUS_ACCESS_VIOLATION (not committed)
 *     |     PTE valid (so: protection) ....... STATUS_ACCESS_VIOLATION
 *     |     software PTE, PAGE_GUARD ......... clear the guard, STATUS_GUARD_PAGE_VIOLATION
 *     |     software PTE, access not allowed . STATUS_ACCESS_VIOLATION
 *     |     transition PTE ................... valid again, same frame
 *     |     demand-zero PTE .................. zeroed frame, valid PTE, STATUS_SUCCESS
 *     |
 *     +-- paged pool, demand-zero PTE ......... zeroed frame, STATUS_SUCCESS
 *     +-- anything else in system space ....... STATUS_ACCESS_VIOLATION (caller bugchecks)
 *
 * Locking: interrupts are disabled during a fault for now; the execution
 * issue adds the IRQL rule (no faults at DISPATCH_LEVEL or above) and the
 * PFN lock.
 */
#include "mi.h"

volatile MM_FAULT_COUNTERS MmFaultCounters;

static BOOLEAN MiAccessAllowed(ULONG MmProtection, ULONG64 FaultCode)
{
    /* MM_NOACCESS (0x18) contains the guard bit (0x10): test it first. */
    if (MmProtection == MM_NOACCESS)
        return FALSE;
    ULONG Base = MmProtection & ~MM_GUARD_PAGE;
    if (Base == MM_ZERO_ACCESS)
        return FALSE;
    if ((FaultCode & PF_WRITE_BIT) && Base != MM_READWRITE && Base != MM_EXECUTE_READWRITE)
        return FALSE;
    if ((FaultCode & PF_FETCH_BIT) && Base != MM_EXECUTE && Base != MM_EXECUTE_READ &&
        Base != MM_EXECUTE_READWRITE)
        return FALSE;
    return TRUE;
}

/* Give the page Pte maps a zeroed frame (preferably one the zero-page
 * thread prepared) and make the PTE valid with HardwareBits. */
static NTSTATUS MiDemandZeroFill(PMMPTE Pte, MMPTE Entry, PVOID Va, MI_PFN_USAGE Usage,
                                 ULONG64 HardwareBits)
{
    PFN_NUMBER Pfn = MiRemoveZeroPage(Usage);
    if (Pfn == MM_EMPTY_LIST)
        return STATUS_NO_MEMORY;
    PMMPFN PfnEntry = MI_PFN_ELEMENT(Pfn);
    PfnEntry->PteAddress = Pte;
    PfnEntry->OriginalPte = Entry;
    PfnEntry->Pageable = 1;
    Pte->u.Long = ((ULONG64)Pfn << PAGE_SHIFT) | HardwareBits;
    __invlpg(Va);
    return STATUS_SUCCESS;
}

static NTSTATUS MiResolveUserFault(ULONG64 FaultCode, PVOID Va)
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

    if (Entry.u.Long & MM_PTE_TRANSITION) {
        Pte->u.Long = (Entry.u.Long & MM_PTE_FRAME_MASK) | MiMakeUserPteBits(Protection);
        __invlpg(Va);
        return STATUS_SUCCESS;
    }

    NTSTATUS Status = MiDemandZeroFill(Pte, Entry, Va, MiUsageUser, MiMakeUserPteBits(Protection));
    if (!NT_SUCCESS(Status))
        return Status;
    AddressSpace->ResidentPages++;
    AddressSpace->DemandZeroFaults++;
    MmFaultCounters.DemandZero++;
    return STATUS_SUCCESS;
}

static NTSTATUS MiResolvePagedPoolFault(PVOID Va)
{
    if (!MiIsVaReserved(&MiPagedPoolRegion, PAGE_ALIGN(Va), 1) ||
        !MiGetPdeAddress(Va)->u.Hard.Valid)
        return STATUS_ACCESS_VIOLATION;
    PMMPTE Pte = MiGetPteAddress(Va);
    MMPTE Entry = *Pte;
    if (Entry.u.Hard.Valid || MiGetSoftwareProtection(Entry) != MM_READWRITE)
        return STATUS_ACCESS_VIOLATION;
    NTSTATUS Status = MiDemandZeroFill(Pte, Entry, Va, MiUsagePagedPool,
                                       MM_PTE_VALID | MM_PTE_WRITE | MM_PTE_NO_EXECUTE);
    if (!NT_SUCCESS(Status))
        return Status;
    MmFaultCounters.PagedPoolDemandZero++;
    return STATUS_SUCCESS;
}

NTSTATUS MmAccessFault(ULONG64 FaultCode, PVOID Va, ULONG_PTR FaultingRip)
{
    MmFaultCounters.Total++;

    if (FaultCode & PF_RESERVED_BIT) {
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
                     (FaultCode & PF_FETCH_BIT) ? 8 : (FaultCode & PF_WRITE_BIT) ? 1 : 0,
                     FaultingRip);
    }

    if ((ULONG_PTR)Va < MM_USER_PROBE_ADDRESS) {
        NTSTATUS Status = MiResolveUserFault(FaultCode, Va);
        if (Status == STATUS_ACCESS_VIOLATION)
            MmFaultCounters.AccessViolation++;
        return Status;
    }

    if ((ULONG_PTR)Va >= MM_PAGED_POOL_START &&
        (ULONG_PTR)Va < MM_PAGED_POOL_START + MM_PAGED_POOL_SIZE) {
        NTSTATUS Status = MiResolvePagedPoolFault(Va);
        if (NT_SUCCESS(Status))
            return Status;
    }
    MmFaultCounters.KernelUnresolved++;
    return STATUS_ACCESS_VIOLATION;
}
