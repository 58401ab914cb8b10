/*
 * mdl.c - allocating and freeing MDLs (IoAllocateMdl, IoFreeMdl). What an
 * MDL is, how its pages are locked and mapped, is the memory manager's
 * (mm/mdl.c, mm/mm.h); the I/O manager only hands the structures out, as
 * in NT, where drivers get them here and IRPs carry them.
 *
 * An MDL is one nonpaged pool block (tag "Mdl "): the header and a PFN
 * array sized for its buffer. Given an IRP, IoAllocateMdl attaches it
 * there (Irp->MdlAddress, or the end of its chain for a secondary buffer).
 * IoBuildPartialMdl makes an MDL describe a part of another's buffer (a
 * driver splitting a large transfer into what its device takes at once).
 * Locking: none; each MDL belongs to its caller. IRQL <= DISPATCH_LEVEL
 * (nonpaged pool).
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

/* IoBuildPartialMdl: the contract is in io/io.h. */
void IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress, ULONG Length)
{
    const SHORT Kept = MDL_SOURCE_IS_NONPAGED_POOL | MDL_WRITE_OPERATION | MDL_IO_SPACE;
    ULONG_PTR Start = (ULONG_PTR)MmGetMdlVirtualAddress(SourceMdl);
    ULONG_PTR Offset = (ULONG_PTR)VirtualAddress - Start;
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(SourceMdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL));
    ASSERT(!(TargetMdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA)));
    if (Length == 0)
        Length = SourceMdl->ByteCount - (ULONG)Offset;
    /* A part outside the source is a driver bug: the frames would be others'. */
    ASSERT((ULONG_PTR)VirtualAddress >= Start && Offset + Length <= SourceMdl->ByteCount);
    ASSERT((ULONG_PTR)TargetMdl->Size >= MmSizeOfMdl(VirtualAddress, Length));

    SHORT Size = TargetMdl->Size;
    SHORT Fixed = TargetMdl->MdlFlags & MDL_ALLOCATED_FIXED_SIZE;
    MmInitializeMdl(TargetMdl, VirtualAddress, Length);
    TargetMdl->Size = Size;
    TargetMdl->MdlFlags = Fixed | MDL_PARTIAL | (SourceMdl->MdlFlags & Kept);
    TargetMdl->Process = SourceMdl->Process;
    /* Page i of the part is page (first page of the part in the source) + i. */
    ULONG_PTR First =
        ((ULONG_PTR)PAGE_ALIGN(VirtualAddress) - (ULONG_PTR)SourceMdl->StartVa) / PAGE_SIZE;
    ULONG_PTR Pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(VirtualAddress, Length);
    for (ULONG_PTR I = 0; I < Pages; I++)
        MmGetMdlPfnArray(TargetMdl)[I] = MmGetMdlPfnArray(SourceMdl)[First + I];
    if (TargetMdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL)
        TargetMdl->MappedSystemVa = VirtualAddress; /* the buffer is its own view */
}

void IoFreeMdl(PMDL Mdl)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    MmPrepareMdlForReuse(Mdl); /* a partial MDL's own view goes, as on NT */
    ASSERT(!(Mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA)));
    ExFreePoolWithTag(Mdl, IO_MDL_TAG);
}
