/*
 * symbols.c - kernel symbol lookup for backtraces.
 *
 * The build links the kernel twice (Makefile): the first link's symbols
 * (`nm`) are turned by tools/gensyms.py into build/ksyms.c, a sorted table
 * of text symbols placed in the .ksyms section, which the linker script
 * puts after everything else so that the second link moves nothing.
 * Addresses inside loaded drivers are named by the I/O manager's loader
 * from the driver's own symbol table (IoFormatDriverAddress).
 */
#include "ki.h"
#include "../io/io.h" /* IoFormatDriverAddress: addresses in loaded drivers */

typedef struct _KSYMBOL {
    ULONG64 Address;
    ULONG NameOffset;           /* into KiSymbolNames */
    ULONG Size;                 /* up to the next symbol */
} KSYMBOL;

extern const KSYMBOL KiSymbolTable[];
extern const ULONG KiSymbolCount;
extern const char KiSymbolNames[];

/*
 * Find the kernel symbol containing Address: its name (in the image, never
 * freed), with *Offset = Address - the symbol's start; NULL (and *Offset
 * untouched) when Address is in no symbol. Any IRQL: the table is read-only
 * data in the image.
 */
const char *KeLookupSymbol(ULONG_PTR Address, ULONG_PTR *Offset)
{
#if PAGODA_SOLUTION(1)
    ULONG Low = 0, High = KiSymbolCount;

    /* Binary search for the last symbol at or below Address. */
    while (Low < High) {
        ULONG Mid = Low + (High - Low) / 2;
        if (KiSymbolTable[Mid].Address <= Address)
            Low = Mid + 1;
        else
            High = Mid;
    }
    if (Low == 0)
        return NULL;
    const KSYMBOL *Symbol = &KiSymbolTable[Low - 1];
    if (Address - Symbol->Address >= Symbol->Size)
        return NULL;
    *Offset = Address - Symbol->Address;
    return &KiSymbolNames[Symbol->NameOffset];
#else
    /* Lab 1: find the symbol in KiSymbolTable (sorted by Address; each
     * entry covers [Address, Address + Size)) and its name in
     * KiSymbolNames. Until then, backtraces show bare addresses. */
    UNREFERENCED_PARAMETER(Address);
    UNREFERENCED_PARAMETER(Offset);
    return NULL;
#endif /* PAGODA_SOLUTION(1) */
}

/* A kernel symbol, else a loaded driver's ("hello.sys!HelloCrash+0x1c",
 * io/ldrsys.c), else the bare address. Any IRQL. */
void KePrintSymbol(ULONG_PTR Address)
{
    ULONG_PTR Offset;
    char Driver[96];
    const char *Name = KeLookupSymbol(Address, &Offset);
    if (Name)
        DbgPrint("%p %s+0x%llx", (PVOID)Address, Name, (ULONG64)Offset);
    else if (IoFormatDriverAddress(Address, Driver, sizeof(Driver)))
        DbgPrint("%p %s", (PVOID)Address, Driver);
    else
        DbgPrint("%p", (PVOID)Address);
}
