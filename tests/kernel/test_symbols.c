/*
 * test_symbols.c - KeLookupSymbol (kernel/symbols.c), the lookup behind
 * every symbolized backtrace. Graded by lab 1 (docs/labs/lab1.md).
 */
#include "../../include/ktest.h"
#include "../../kernel/ke.h"
#include "../../mm/mm.h"
#include "../../rtl/rtl.h"

void KiSystemStartup(ULONG_PTR MbiPhysical, ULONG Magic);

KTEST(symbols, start_of_a_function_is_offset_zero)
{
    ULONG_PTR Offset = 1;
    const char *Name = KeLookupSymbol((ULONG_PTR)KiSystemStartup, &Offset);
    KT_ASSERT(Name != NULL);
    KT_ASSERT(strcmp(Name, "KiSystemStartup") == 0);
    KT_ASSERT_EQ(Offset, 0);
}

KTEST(symbols, inside_a_function_gives_the_offset)
{
    ULONG_PTR Offset = 0;
    const char *Name = KeLookupSymbol((ULONG_PTR)MmDumpPte + 3, &Offset);
    KT_ASSERT(Name != NULL && strcmp(Name, "MmDumpPte") == 0);
    KT_ASSERT_EQ(Offset, 3);
}

KTEST(symbols, last_byte_belongs_to_the_function_first_byte_after_does_not)
{
    ULONG_PTR Offset = 0, NextOffset = 0;
    /* Find where KeLookupSymbol itself ends by walking forward: the first
     * address that is no longer "KeLookupSymbol+n". */
    ULONG_PTR Start = (ULONG_PTR)KeLookupSymbol, Va = Start;
    const char *Name;
    while ((Name = KeLookupSymbol(Va, &Offset)) != NULL && strcmp(Name, "KeLookupSymbol") == 0 &&
           Va - Start < 0x10000)
        Va++;
    KT_ASSERT(Va > Start && Va - Start < 0x10000);
    KT_ASSERT(KeLookupSymbol(Va - 1, &NextOffset) != NULL);
    KT_ASSERT_EQ(NextOffset, Va - 1 - Start);
    KT_ASSERT(Name == NULL || strcmp(Name, "KeLookupSymbol") != 0);
}

KTEST(symbols, addresses_outside_the_kernel_have_no_symbol)
{
    ULONG_PTR Offset = 0x1234;
    KT_ASSERT(KeLookupSymbol(0x1000, &Offset) == NULL);
    KT_ASSERT(KeLookupSymbol(0, &Offset) == NULL);
    KT_ASSERT(KeLookupSymbol(~(ULONG_PTR)0, &Offset) == NULL);
    KT_ASSERT_EQ(Offset, 0x1234); /* untouched on failure */
}
