/*
 * elf64.h - the ELF64 file format as the kernel's two loaders read it:
 * static executables (ps/ldr.c, user programs from the initrd) and
 * relocatable objects (io/ldr.c, loadable .sys drivers). Layouts and
 * values from the System V ABI ("ELF-64 Object File Format" 1.5) and its
 * AMD64 supplement (relocation types, 4.4).
 */
#ifndef PAGODA_ELF64_H
#define PAGODA_ELF64_H

#include "ntdef.h"

typedef struct {
    UCHAR Ident[16];
    USHORT Type, Machine;
    ULONG Version;
    ULONG64 Entry, PhOff, ShOff;
    ULONG Flags;
    USHORT EhSize, PhEntSize, PhNum, ShEntSize, ShNum, ShStrNdx;
} ELF64_EHDR;
typedef struct {
    ULONG Type, Flags;
    ULONG64 Offset, VAddr, PAddr, FileSz, MemSz, Align;
} ELF64_PHDR;
typedef struct {
    ULONG Name, Type;
    ULONG64 Flags, Addr, Offset, Size;
    ULONG Link, Info;
    ULONG64 AddrAlign, EntSize;
} ELF64_SHDR;
typedef struct {
    ULONG Name;
    UCHAR Info, Other;
    USHORT Shndx;
    ULONG64 Value, Size;
} ELF64_SYM;
typedef struct {
    ULONG64 Offset, Info;
    LONG64 Addend;
} ELF64_RELA;
STATIC_ASSERT(sizeof(ELF64_EHDR) == 64);
STATIC_ASSERT(sizeof(ELF64_PHDR) == 56);
STATIC_ASSERT(sizeof(ELF64_SHDR) == 64);
STATIC_ASSERT(sizeof(ELF64_SYM) == 24);
STATIC_ASSERT(sizeof(ELF64_RELA) == 24);

/* e_type, e_machine */
#define ET_REL 1
#define ET_EXEC 2
#define EM_X86_64 62

/* Program headers (executables) */
#define PT_LOAD 1
#define PT_DYNAMIC 2
#define PT_INTERP 3
#define PF_X 1
#define PF_W 2
#define PF_R 4

/* Sections, symbols and relocations (relocatable objects) */
#define SHT_PROGBITS 1
#define SHT_SYMTAB 2
#define SHT_STRTAB 3
#define SHT_RELA 4
#define SHT_NOBITS 8
#define SHT_REL 9
#define SHF_WRITE 0x1
#define SHF_ALLOC 0x2
#define SHF_EXECINSTR 0x4
#define SHN_UNDEF 0
#define SHN_LORESERVE 0xFF00
#define SHN_ABS 0xFFF1
#define STB_GLOBAL 1
#define STT_OBJECT 1
#define STT_FUNC 2
#define R_X86_64_64 1
#define R_X86_64_PC32 2
#define R_X86_64_PLT32 4
#define R_X86_64_32 10
#define R_X86_64_32S 11
#define R_X86_64_PC64 24

/* Whether [Start, Start + Size) lies within [0, Limit), without overflow:
 * a part of the file (Limit: its size) or of an address range. */
static inline BOOLEAN Elf64RangeOk(ULONG64 Start, ULONG64 Size, ULONG64 Limit)
{
    return Start <= Limit && Size <= Limit - Start;
}

/* Whether the Size bytes at Image start with the identity and header of a
 * little-endian ELF64 file of Type (ET_EXEC, ET_REL) for x86-64, version 1,
 * whose header has its own size. The loaders check the rest. */
static inline BOOLEAN Elf64IsHeaderOf(const UCHAR *Image, SIZE_T Size, USHORT Type)
{
    const ELF64_EHDR *Eh = (const ELF64_EHDR *)Image;
    return Size >= sizeof(*Eh) && Image[0] == 0x7F && Image[1] == 'E' && Image[2] == 'L' &&
           Image[3] == 'F' && Eh->Ident[4] == 2 /* 64-bit */ &&
           Eh->Ident[5] == 1 /* little endian */ && Eh->Ident[6] == 1 /* version */ &&
           Eh->Type == Type && Eh->Machine == EM_X86_64 && Eh->Version == 1 &&
           Eh->EhSize == sizeof(*Eh);
}

#endif /* PAGODA_ELF64_H */
