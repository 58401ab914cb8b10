/*
 * test_bugcheck.c - tests that must stop the system with a given code.
 * Each runs alone in its own boot ("ktest=NAME"); the harness checks the
 * stop code and that the bugcheck screen carries a symbolized backtrace.
 */
#include "../../include/ktest.h"
#include "../../kernel/ke.h"
#include "../../mm/mm.h"

void KiSystemStartup(ULONG_PTR MbiPhysical, ULONG Magic);

KTEST_BUGCHECK(bugcheck, write_to_kernel_text, ATTEMPTED_WRITE_TO_READONLY_MEMORY)
{
    *(volatile UCHAR *)KiSystemStartup = 0xCC;
}

KTEST_BUGCHECK(bugcheck, read_unmapped_kernel_address, PAGE_FAULT_IN_NONPAGED_AREA)
{
    /* System PTE space is reserved but nothing is mapped there yet. */
    volatile ULONG64 *Unmapped = (volatile ULONG64 *)(MM_SYSTEM_PTE_BASE + 0x10000000);
    (void)*Unmapped;
}

static UCHAR KtDataCode[16] = {0xC3}; /* "ret", in a no-execute data page */

KTEST_BUGCHECK(bugcheck, execute_data, ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY)
{
    ((void (*)(void))(ULONG_PTR)KtDataCode)();
}

KTEST_BUGCHECK(bugcheck, invalid_opcode, KMODE_EXCEPTION_NOT_HANDLED)
{
    __asm__ volatile("ud2");
}

KTEST_BUGCHECK(bugcheck, divide_by_zero, UNEXPECTED_KERNEL_MODE_TRAP)
{
    ULONG Zero = 0;
    __asm__ volatile("divl %1" : : "a"(1), "r"(Zero), "d"(0));
}

KTEST_BUGCHECK(bugcheck, assertion_failure, ASSERTION_FAILURE)
{
    volatile int Value = 1;
    ASSERT(Value == 2);
}

KTEST_BUGCHECK(bugcheck, explicit_call, MANUALLY_INITIATED_CRASH)
{
    KeBugCheckEx(MANUALLY_INITIATED_CRASH, 1, 2, 3, 4);
}
