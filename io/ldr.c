/*
 * ldr.c - the driver image loader: an ELF64 relocatable object (ET_REL,
 * what `gcc -c -mcmodel=large` writes; a .sys in Pagoda) becomes a running
 * image in system space. NT's MmLoadSystemImage does the same for PE files.
 *
 *   1. Check every header the loader relies on (IopCheckElfHeaders).
 *   2. Lay out the SHF_ALLOC sections in three page-aligned groups, so that
 *      each page has one protection: text (SHF_EXECINSTR) with the pool
 *      thunks at its end, read-only data, then data and bss (SHF_WRITE).
 *      A section both writable and executable is refused.
 *   3. Map the pages (MmAllocateSystemImage: zeroed, RW+NX) and copy the
 *      PROGBITS sections in; NOBITS (bss) stays zero.
 *   4. Give every symbol its address: a defined one is its section's
 *      address + st_value; an undefined one is an import, looked up in the
 *      kernel's export table (io/ldrexp.c) and nothing else - an unknown
 *      name fails the load with its name on the debug output.
 *   5. Apply the RELA relocations of the loaded sections: R_X86_64_64 and
 *      PC64 anywhere; PC32/PLT32/32/32S when the value fits (it does for
 *      references inside the image; a large-model object has no others).
 *   6. W^X: text RX, read-only data R, data RW+NX (MmProtectSystemImage).
 *
 * ELF64: System V ABI and its AMD64 supplement (relocation types, 4.4).
 * IRQL: PASSIVE_LEVEL, with the loader's mutex held (io/ldrsys.c); the
 * symbol lookup runs at any IRQL and reads only the image and the initrd.
 */
#include "ldrp.h"
#include "../rtl/rtl.h"
#include "../include/elf64.h"

#define IOP_MAX_SECTIONS 256

enum { IopText, IopReadOnly, IopData, IopGroups };

/* What one load works on: the file's headers and the symbols' values. */
typedef struct _IOP_ELF {
    PIOP_LDR_MODULE Module;
    const ELF64_EHDR *Eh;
    const ELF64_SHDR *Sh;
    const ELF64_SHDR *SymTab; /* the one SHT_SYMTAB */
    const char *StrTab; /* its names */
    ULONG SymbolCount;
    ULONG64 *SymbolValue; /* pool, freed at the end of the load */
    ULONG64 GroupOffset[IopGroups]; /* bytes of each group, then its base */
} IOP_ELF;

static NTSTATUS IopBadImage(PIOP_LDR_MODULE Module, const char *Why, ULONG64 Detail)
{
    DbgPrint("ldr: %s: %s (%llu)\n", Module->BaseDllName, Why, Detail);
    return STATUS_INVALID_IMAGE_FORMAT;
}

static const ELF64_SHDR *IopSection(const IOP_ELF *Elf, ULONG Index)
{
    return &Elf->Sh[Index];
}

static ULONG IopGroupOf(const ELF64_SHDR *Section)
{
    if (Section->Flags & SHF_EXECINSTR)
        return IopText;
    return (Section->Flags & SHF_WRITE) ? IopData : IopReadOnly;
}

/* The file header and the section table; the symbol table and its names. */
static NTSTATUS IopCheckElfHeaders(IOP_ELF *Elf)
{
    PIOP_LDR_MODULE Module = Elf->Module;
    const ELF64_EHDR *Eh = (const ELF64_EHDR *)Module->File;
    if (!Elf64IsHeaderOf((const UCHAR *)Eh, Module->FileSize, ET_REL) ||
        Eh->ShEntSize != sizeof(ELF64_SHDR) || Eh->ShNum == 0 || Eh->ShNum > IOP_MAX_SECTIONS ||
        (Eh->ShOff & 7) ||
        !Elf64RangeOk(Eh->ShOff, (ULONG64)Eh->ShNum * sizeof(ELF64_SHDR), Module->FileSize))
        return IopBadImage(Module, "not an x86-64 ELF relocatable object", Module->FileSize);
    Elf->Eh = Eh;
    Elf->Sh = (const ELF64_SHDR *)(Module->File + Eh->ShOff);

    for (ULONG i = 1; i < Eh->ShNum; i++) {
        const ELF64_SHDR *S = IopSection(Elf, i);
        if (S->Type != SHT_NOBITS && !Elf64RangeOk(S->Offset, S->Size, Module->FileSize))
            return IopBadImage(Module, "section outside the file", i);
        if (!(S->Flags & SHF_ALLOC))
            goto NotLoaded;
        if (S->AddrAlign > PAGE_SIZE || (S->AddrAlign & (S->AddrAlign - 1)))
            return IopBadImage(Module, "section alignment", i);
        if ((S->Flags & SHF_WRITE) && (S->Flags & SHF_EXECINSTR))
            return IopBadImage(Module, "section both writable and executable (W^X)", i);
        if (S->Size > 16 * 1024 * 1024)
            return IopBadImage(Module, "section too large", i);
    NotLoaded:
        if (S->Type == SHT_SYMTAB) {
            if (Elf->SymTab || S->EntSize != sizeof(ELF64_SYM) || S->Link >= Eh->ShNum ||
                IopSection(Elf, S->Link)->Type != SHT_STRTAB || (S->Offset & 7))
                return IopBadImage(Module, "symbol table", i);
            Elf->SymTab = S;
        }
    }
    if (!Elf->SymTab)
        return IopBadImage(Module, "no symbol table", 0);
    const ELF64_SHDR *Str = IopSection(Elf, Elf->SymTab->Link);
    if (Str->Size == 0 || Module->File[Str->Offset + Str->Size - 1] != 0)
        return IopBadImage(Module, "symbol names", Elf->SymTab->Link);
    Elf->StrTab = (const char *)Module->File + Str->Offset;
    Elf->SymbolCount = (ULONG)(Elf->SymTab->Size / sizeof(ELF64_SYM));
    return STATUS_SUCCESS;
}

static const ELF64_SYM *IopSymbol(const IOP_ELF *Elf, ULONG Index)
{
    return (const ELF64_SYM *)(Elf->Module->File + Elf->SymTab->Offset) + Index;
}

static const char *IopSymbolName(const IOP_ELF *Elf, const ELF64_SYM *Sym)
{
    const ELF64_SHDR *Str = IopSection(Elf, Elf->SymTab->Link);
    return Sym->Name < Str->Size ? Elf->StrTab + Sym->Name : "?";
}

/* Step 2: each loaded section's offset in its group (in SectionAddress,
 * made absolute once the image is mapped), each group's size. */
static NTSTATUS IopLayOutSections(IOP_ELF *Elf)
{
    PIOP_LDR_MODULE Module = Elf->Module;
    Module->SectionCount = Elf->Eh->ShNum;
    Module->SectionAddress =
        ExAllocatePoolWithTag(NonPagedPool, Module->SectionCount * sizeof(ULONG64), IOP_LDR_TAG);
    if (!Module->SectionAddress)
        return STATUS_INSUFFICIENT_RESOURCES;
    memset(Module->SectionAddress, 0, Module->SectionCount * sizeof(ULONG64));
    memset(Elf->GroupOffset, 0, sizeof(Elf->GroupOffset));

    for (ULONG i = 1; i < Module->SectionCount; i++) {
        const ELF64_SHDR *S = IopSection(Elf, i);
        if (!(S->Flags & SHF_ALLOC) || S->Size == 0)
            continue;
        ULONG Group = IopGroupOf(S);
        ULONG64 Align = S->AddrAlign ? S->AddrAlign : 1;
        Elf->GroupOffset[Group] = ALIGN_UP_BY(Elf->GroupOffset[Group], Align);
        Module->SectionAddress[i] = Elf->GroupOffset[Group];
        Elf->GroupOffset[Group] += S->Size;
    }
    /* The pool thunks close the text group. */
    Elf->GroupOffset[IopText] = ALIGN_UP_BY(Elf->GroupOffset[IopText], IOP_THUNK_SIZE);
    ULONG64 ThunkOffset = Elf->GroupOffset[IopText];
    Elf->GroupOffset[IopText] += IOP_MAX_THUNKS * IOP_THUNK_SIZE;

    Module->TextPages = (ULONG)BYTES_TO_PAGES(Elf->GroupOffset[IopText]);
    Module->ReadOnlyPages = (ULONG)BYTES_TO_PAGES(Elf->GroupOffset[IopReadOnly]);
    Module->Pages = Module->TextPages + Module->ReadOnlyPages +
        (ULONG)BYTES_TO_PAGES(Elf->GroupOffset[IopData]);
    Module->DllBase = MmAllocateSystemImage(Module->Pages);
    if (!Module->DllBase)
        return STATUS_INSUFFICIENT_RESOURCES;

    /* From offsets to addresses. */
    Elf->GroupOffset[IopText] = (ULONG64)Module->DllBase;
    Elf->GroupOffset[IopReadOnly] =
        Elf->GroupOffset[IopText] + (ULONG64)Module->TextPages * PAGE_SIZE;
    Elf->GroupOffset[IopData] =
        Elf->GroupOffset[IopReadOnly] + (ULONG64)Module->ReadOnlyPages * PAGE_SIZE;
    Module->Thunks = Module->DllBase + ThunkOffset;
    for (ULONG i = 1; i < Module->SectionCount; i++) {
        const ELF64_SHDR *S = IopSection(Elf, i);
        if (!(S->Flags & SHF_ALLOC) || S->Size == 0)
            continue;
        Module->SectionAddress[i] += Elf->GroupOffset[IopGroupOf(S)];
        if (S->Type != SHT_NOBITS)
            memcpy((PVOID)Module->SectionAddress[i], Module->File + S->Offset, S->Size);
    }
    return STATUS_SUCCESS;
}

/* Step 4 for one undefined symbol: an export of the kernel, or the end. */
static NTSTATUS IopResolveImport(IOP_ELF *Elf, const ELF64_SYM *Sym, ULONG64 *Value)
{
    const char *Name = IopSymbolName(Elf, Sym);
    const IOP_EXPORT *Export = IopFindExport(Name);
    if (!Export) {
        DbgPrint("ldr: %s imports %s, which the kernel does not export\n", Elf->Module->BaseDllName,
                 Name);
        return STATUS_DRIVER_ENTRYPOINT_NOT_FOUND;
    }
    if (Export->Kind == IopExportDirect) {
        BOOLEAN Verify = Export->Verified && (MmVerifierFlags & VERIFIER_FORCE_IRQL_CHECKING);
        *Value = (ULONG64)(Verify ? Export->Verified : Export->Address);
        Elf->Module->VerifiedImports += Verify;
        return STATUS_SUCCESS;
    }
    PUCHAR Thunk = Elf->Module->Thunks + Export->ThunkSlot * IOP_THUNK_SIZE;
    IopWriteExportThunk(Thunk, Export, Elf->Module);
    *Value = (ULONG64)Thunk;
    return STATUS_SUCCESS;
}

/* Step 4: every symbol's value; *Entry from DriverEntry. */
static NTSTATUS IopResolveSymbols(IOP_ELF *Elf, PDRIVER_INITIALIZE *Entry)
{
    PIOP_LDR_MODULE Module = Elf->Module;
    Elf->SymbolValue = ExAllocatePoolWithTag(
        NonPagedPool, (SIZE_T)Elf->SymbolCount * sizeof(ULONG64) + 8, IOP_LDR_TAG);
    if (!Elf->SymbolValue)
        return STATUS_INSUFFICIENT_RESOURCES;
    *Entry = NULL;
    for (ULONG i = 1; i < Elf->SymbolCount; i++) {
        const ELF64_SYM *Sym = IopSymbol(Elf, i);
        ULONG64 *Value = &Elf->SymbolValue[i];
        if (Sym->Shndx == SHN_UNDEF) {
            NTSTATUS Status = IopResolveImport(Elf, Sym, Value);
            if (!NT_SUCCESS(Status))
                return Status;
        } else if (Sym->Shndx == SHN_ABS) {
            *Value = Sym->Value;
        } else if (Sym->Shndx >= SHN_LORESERVE || Sym->Shndx >= Module->SectionCount) {
            return IopBadImage(Module, "common or special symbol (build with -fno-common)", i);
        } else {
            *Value = Module->SectionAddress[Sym->Shndx] + Sym->Value; /* 0 base: not loaded */
        }
        if ((Sym->Info >> 4) == STB_GLOBAL && Sym->Shndx != SHN_UNDEF &&
            Sym->Shndx < SHN_LORESERVE && strcmp(IopSymbolName(Elf, Sym), "DriverEntry") == 0 &&
            (IopSection(Elf, Sym->Shndx)->Flags & SHF_EXECINSTR))
            *Entry = (PDRIVER_INITIALIZE)*Value;
    }
    if (*Entry == NULL) {
        DbgPrint("ldr: %s has no DriverEntry\n", Module->BaseDllName);
        return STATUS_DRIVER_ENTRYPOINT_NOT_FOUND;
    }
    return STATUS_SUCCESS;
}

/* Step 5 for one entry: P is the place, S + A the value. */
static NTSTATUS IopApplyRelocation(IOP_ELF *Elf, PUCHAR Place, ULONG Type, ULONG64 Value)
{
    LONG64 Relative = (LONG64)(Value - (ULONG64)Place);
    switch (Type) {
    case R_X86_64_64:
        memcpy(Place, &Value, 8);
        return STATUS_SUCCESS;
    case R_X86_64_PC64:
        memcpy(Place, &Relative, 8);
        return STATUS_SUCCESS;
    case R_X86_64_PC32:
    case R_X86_64_PLT32:
        if (Relative != (LONG)Relative)
            break;
        memcpy(Place, &(LONG){(LONG)Relative}, 4);
        return STATUS_SUCCESS;
    case R_X86_64_32:
        if (Value != (ULONG)Value)
            break;
        memcpy(Place, &(ULONG){(ULONG)Value}, 4);
        return STATUS_SUCCESS;
    case R_X86_64_32S:
        if ((LONG64)Value != (LONG)Value)
            break;
        memcpy(Place, &(LONG){(LONG)Value}, 4);
        return STATUS_SUCCESS;
    default:
        return IopBadImage(Elf->Module, "relocation type not supported", Type);
    }
    return IopBadImage(Elf->Module, "relocation out of range (build with -mcmodel=large)", Type);
}

/* Step 5: the RELA sections of loaded sections (the debug ones are left
 * alone: gdb applies those itself from the file). */
static NTSTATUS IopRelocate(IOP_ELF *Elf)
{
    PIOP_LDR_MODULE Module = Elf->Module;
    for (ULONG i = 1; i < Module->SectionCount; i++) {
        const ELF64_SHDR *S = IopSection(Elf, i);
        if ((S->Type != SHT_RELA && S->Type != SHT_REL) || S->Info >= Module->SectionCount)
            continue;
        const ELF64_SHDR *Target = IopSection(Elf, S->Info);
        if (!(Target->Flags & SHF_ALLOC) || Target->Size == 0)
            continue;
        if (S->Type == SHT_REL || S->EntSize != sizeof(ELF64_RELA) || (S->Offset & 7) ||
            IopSection(Elf, S->Link) != Elf->SymTab || Target->Type == SHT_NOBITS)
            return IopBadImage(Module, "relocation section", i);
        const ELF64_RELA *Rela = (const ELF64_RELA *)(Module->File + S->Offset);
        for (ULONG64 r = 0; r < S->Size / sizeof(ELF64_RELA); r++) {
            ULONG Symbol = (ULONG)(Rela[r].Info >> 32), Type = (ULONG)Rela[r].Info;
            ULONG Width = (Type == R_X86_64_64 || Type == R_X86_64_PC64) ? 8 : 4;
            if (Symbol >= Elf->SymbolCount || !Elf64RangeOk(Rela[r].Offset, Width, Target->Size))
                return IopBadImage(Module, "relocation entry", r);
            PUCHAR Place = (PUCHAR)Module->SectionAddress[S->Info] + Rela[r].Offset;
            ULONG64 Value = (Symbol ? Elf->SymbolValue[Symbol] : 0) + (ULONG64)Rela[r].Addend;
            NTSTATUS Status = IopApplyRelocation(Elf, Place, Type, Value);
            if (!NT_SUCCESS(Status))
                return Status;
        }
    }
    return STATUS_SUCCESS;
}

/* Step 6: text RX, read-only data R, the rest RW+NX (as mapped). */
static NTSTATUS IopProtectImage(PIOP_LDR_MODULE Module)
{
    NTSTATUS Status = MmProtectSystemImage(Module->DllBase, Module->TextPages, PAGE_EXECUTE_READ);
    if (NT_SUCCESS(Status) && Module->ReadOnlyPages)
        Status = MmProtectSystemImage(Module->DllBase + (SIZE_T)Module->TextPages * PAGE_SIZE,
                                      Module->ReadOnlyPages, PAGE_READONLY);
    return Status;
}

/* IopMapDriverImage: the contract is in io/ldrp.h. */
NTSTATUS IopMapDriverImage(PIOP_LDR_MODULE Module, PDRIVER_INITIALIZE *Entry)
{
    IOP_ELF Elf = {.Module = Module};
    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);

    NTSTATUS Status = IopCheckElfHeaders(&Elf);
    if (NT_SUCCESS(Status))
        Status = IopLayOutSections(&Elf);
    if (NT_SUCCESS(Status))
        Status = IopResolveSymbols(&Elf, Entry);
    if (NT_SUCCESS(Status))
        Status = IopRelocate(&Elf);
    if (NT_SUCCESS(Status))
        Status = IopProtectImage(Module);
    if (Elf.SymbolValue)
        ExFreePoolWithTag(Elf.SymbolValue, IOP_LDR_TAG);
    if (!NT_SUCCESS(Status))
        IopUnmapDriverImage(Module);
    return Status;
}

/* IopUnmapDriverImage: the contract is in io/ldrp.h. */
void IopUnmapDriverImage(PIOP_LDR_MODULE Module)
{
    if (Module->DllBase)
        MmFreeSystemImage(Module->DllBase, Module->Pages);
    if (Module->SectionAddress)
        ExFreePoolWithTag(Module->SectionAddress, IOP_LDR_TAG);
    Module->DllBase = NULL;
    Module->SectionAddress = NULL;
}

/* IopPrintSymbolCommand: the contract is in io/ldrp.h. */
void IopPrintSymbolCommand(PIOP_LDR_MODULE Module)
{
    const ELF64_EHDR *Eh = (const ELF64_EHDR *)Module->File;
    const ELF64_SHDR *Sh = (const ELF64_SHDR *)(Module->File + Eh->ShOff);
    const char *Names = (const char *)Module->File + Sh[Eh->ShStrNdx].Offset;

    DbgPrint("ldr: gdb: add-symbol-file build/drivers/%s", Module->BaseDllName);
    for (ULONG i = 1; i < Module->SectionCount; i++) {
        if (Module->SectionAddress[i] && Eh->ShStrNdx < Eh->ShNum &&
            Sh[i].Name < Sh[Eh->ShStrNdx].Size)
            DbgPrint(" -s %s 0x%llx", Names + Sh[i].Name, Module->SectionAddress[i]);
    }
    DbgPrint("\n");
}

/* IopLookupModuleSymbol: the contract is in io/ldrp.h. The symbol is the
 * nearest function or variable at or below Address in the section that
 * holds Address: st_size is not trusted, since the return address of a
 * call to a noreturn routine at a function's end lies just past it. */
const char *IopLookupModuleSymbol(PIOP_LDR_MODULE Module, ULONG_PTR Address, ULONG_PTR *Offset)
{
    IOP_ELF Elf = {.Module = Module};
    const char *Best = NULL;
    ULONG64 BestStart = 0;
    ULONG Section = 0;

    Elf.Eh = (const ELF64_EHDR *)Module->File;
    Elf.Sh = (const ELF64_SHDR *)(Module->File + Elf.Eh->ShOff);
    for (ULONG i = 1; i < Module->SectionCount && Module->SectionAddress; i++) {
        ULONG64 Start = Module->SectionAddress[i];
        if (Start && Start <= Address && Address - Start < Elf.Sh[i].Size)
            Section = i;
        if (Elf.Sh[i].Type == SHT_SYMTAB)
            Elf.SymTab = &Elf.Sh[i];
    }
    if (!Elf.SymTab || Section == 0)
        return NULL;
    Elf.StrTab = (const char *)Module->File + Elf.Sh[Elf.SymTab->Link].Offset;
    Elf.SymbolCount = (ULONG)(Elf.SymTab->Size / sizeof(ELF64_SYM));
    for (ULONG i = 1; i < Elf.SymbolCount; i++) {
        const ELF64_SYM *Sym = IopSymbol(&Elf, i);
        ULONG Type = Sym->Info & 0xF;
        if ((Type != STT_FUNC && Type != STT_OBJECT) || Sym->Shndx != Section)
            continue;
        ULONG64 Start = Module->SectionAddress[Section] + Sym->Value;
        if (Start <= Address && (!Best || Start >= BestStart)) {
            Best = IopSymbolName(&Elf, Sym);
            BestStart = Start;
        }
    }
    if (Best)
        *Offset = Address - BestStart;
    return Best;
}
