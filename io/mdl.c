/*
 * mdl.c - allocating and freeing MDLs (IoAllocateMdl, IoFreeMdl). What an
 * MDL is, how its pages are locked and mapped, is the memory manager's
 * (mm/mdl.c, mm/mm.h); the I/O manager only hands the structures out, as
 * in NT, where drivers get them here and IRPs carry them.
 *
 * An MDL is one nonpaged pool block (tag "Mdl "): the header and a PFN
 * array sized for its buffer. Given an IRP, IoAllocateMdl attaches it
 * there (Irp->MdlAddress, or the end of its chain for a secondary buffer). Locking: none; each MDL belongs to its
 * caller. IRQL <= DISPATCH_LEVEL (nonpaged pool).
 */
#include "io.h"

PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
                   BOOLEAN ChargeQuota, struct _IRP *Irp)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    UNREFERENCED_PARAMETER(ChargeQuota);
    if (ADDRESS_AND_SIZE_TO_SPAN_PAGES(VirtualAddress, Length) > IO_MDL_MAXIMUM_PAGES)
        return NULL;
    PMDL Mdl = ExAllocatePoolWithTag(NonPagedPool, MmSizeOfMdl(VirtualAddress, Length), IO_MDL_TAG);
    if (!Mdl)
        return NULL;
    MmInitializeMdl(Mdl, VirtualAddress, Length);
    Mdl->MdlFlags = MDL_ALLOCATED_FIXED_SIZE;
    if (Irp != NULL && (!SecondaryBuffer || Irp->MdlAddress == NULL)) {
        Irp->MdlAddress = Mdl;
    } else if (Irp != NULL) {
        PMDL Last = Irp->MdlAddress;
        while (Last->Next != NULL)
            Last = Last->Next;
        Last->Next = Mdl;
    }
    return Mdl;
}

void IoFreeMdl(PMDL Mdl)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(!(Mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA)));
    ExFreePoolWithTag(Mdl, IO_MDL_TAG);
}
