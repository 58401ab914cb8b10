/*
 * ldr.c - the loader for static ELF64 executables.
 *
 * PspValidateElfImage checks every header field the loader relies on before
 * anything is created (a bad image is STATUS_INVALID_IMAGE_FORMAT and
 * nothing else happens); PspMapElfImage then copies each PT_LOAD segment
 * into the current (new) address space: reserve + commit its pages
 * read/write, copy the file bytes (the rest is demand-zero), and set the
 * final protection from the segment's flags (R, RW, RX; W+X refused).
 *
 * ELF64 layout: System V ABI, "ELF-64 Object File Format" 1.5.
 */
#include "psp.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"
#include "../include/elf64.h"

#define PSP_MAX_SEGMENTS 16

NTSTATUS PspValidateElfImage(const UCHAR *Image, SIZE_T Size, ULONG64 *Entry)
{
    const ELF64_EHDR *Eh = (const ELF64_EHDR *)Image;
    if (!Elf64IsHeaderOf(Image, Size, ET_EXEC) || Eh->PhEntSize != sizeof(ELF64_PHDR) ||
        Eh->PhNum == 0 || Eh->PhNum > PSP_MAX_SEGMENTS ||
        !Elf64RangeOk(Eh->PhOff, (ULONG64)Eh->PhNum * sizeof(ELF64_PHDR), Size) || (Eh->PhOff & 7))
        return STATUS_INVALID_IMAGE_FORMAT;

    const ELF64_PHDR *Ph = (const ELF64_PHDR *)(Image + Eh->PhOff);
    BOOLEAN EntryOk = FALSE;
    ULONG Loads = 0;
    for (ULONG i = 0; i < Eh->PhNum; i++) {
        if (Ph[i].Type == PT_INTERP || Ph[i].Type == PT_DYNAMIC)
            return STATUS_INVALID_IMAGE_FORMAT; /* static executables only */
        if (Ph[i].Type != PT_LOAD)
            continue;
        const ELF64_PHDR *P = &Ph[i];
        if (P->MemSz == 0 || P->FileSz > P->MemSz || !Elf64RangeOk(P->Offset, P->FileSz, Size) ||
            (P->Offset & (PAGE_SIZE - 1)) != (P->VAddr & (PAGE_SIZE - 1)) ||
            P->VAddr < MM_LOWEST_USER_ADDRESS ||
            !Elf64RangeOk(P->VAddr, P->MemSz, MM_USER_PROBE_ADDRESS) ||
            (P->VAddr < MM_SHARED_USER_DATA_USER + PAGE_SIZE &&
             MM_SHARED_USER_DATA_USER < P->VAddr + P->MemSz) ||
            ((P->Flags & PF_W) && (P->Flags & PF_X)) || !(P->Flags & PF_R))
            return STATUS_INVALID_IMAGE_FORMAT;
        /* Segments may not overlap (page granularity). */
        for (ULONG j = 0; j < i; j++) {
            if (Ph[j].Type != PT_LOAD)
                continue;
            ULONG64 A0 = ALIGN_DOWN_BY(P->VAddr, PAGE_SIZE), A1 = ALIGN_UP_BY(P->VAddr + P->MemSz, PAGE_SIZE);
            ULONG64 B0 = ALIGN_DOWN_BY(Ph[j].VAddr, PAGE_SIZE),
                    B1 = ALIGN_UP_BY(Ph[j].VAddr + Ph[j].MemSz, PAGE_SIZE);
            if (A0 < B1 && B0 < A1)
                return STATUS_INVALID_IMAGE_FORMAT;
        }
        if ((P->Flags & PF_X) && Eh->Entry >= P->VAddr && Eh->Entry < P->VAddr + P->MemSz)
            EntryOk = TRUE;
        Loads++;
    }
    if (Loads == 0 || !EntryOk)
        return STATUS_INVALID_IMAGE_FORMAT;
    *Entry = Eh->Entry;
    return STATUS_SUCCESS;
}

/* Map a validated image into AddressSpace (which must be current): one
 * reservation spanning every segment (the image), then each segment
 * committed, filled and protected. */
NTSTATUS PspMapElfImage(PMMADDRESS_SPACE AddressSpace, const UCHAR *Image)
{
    const ELF64_EHDR *Eh = (const ELF64_EHDR *)Image;
    const ELF64_PHDR *Ph = (const ELF64_PHDR *)(Image + Eh->PhOff);
    ULONG64 Low = ~0ULL, High = 0;
    for (ULONG i = 0; i < Eh->PhNum; i++) {
        if (Ph[i].Type != PT_LOAD)
            continue;
        if (Ph[i].VAddr < Low)
            Low = Ph[i].VAddr;
        if (Ph[i].VAddr + Ph[i].MemSz > High)
            High = Ph[i].VAddr + Ph[i].MemSz;
    }
    PVOID Base = (PVOID)ALIGN_DOWN_BY(Low, MM_ALLOCATION_GRANULARITY);
    SIZE_T Size = ALIGN_UP_BY(High, PAGE_SIZE) - (ULONG64)Base;
    NTSTATUS Status = MmAllocateVirtualMemory(AddressSpace, &Base, &Size, MEM_RESERVE, PAGE_READWRITE);
    if (!NT_SUCCESS(Status))
        return Status;

    for (ULONG i = 0; i < Eh->PhNum; i++) {
        const ELF64_PHDR *P = &Ph[i];
        if (P->Type != PT_LOAD)
            continue;
        Base = (PVOID)ALIGN_DOWN_BY(P->VAddr, PAGE_SIZE);
        Size = ALIGN_UP_BY(P->VAddr + P->MemSz, PAGE_SIZE) - (ULONG64)Base;
        Status = MmAllocateVirtualMemory(AddressSpace, &Base, &Size, MEM_COMMIT, PAGE_READWRITE);
        if (!NT_SUCCESS(Status))
            return Status;
        Status = MmCopyToUser((PVOID)P->VAddr, Image + P->Offset, P->FileSz);
        if (!NT_SUCCESS(Status))
            return Status;
        ULONG Protect = (P->Flags & PF_X) ? PAGE_EXECUTE_READ
                        : (P->Flags & PF_W) ? PAGE_READWRITE : PAGE_READONLY;
        ULONG Old;
        Status = MmProtectVirtualMemory(AddressSpace, &Base, &Size, Protect, &Old);
        if (!NT_SUCCESS(Status))
            return Status;
    }
    return STATUS_SUCCESS;
}
