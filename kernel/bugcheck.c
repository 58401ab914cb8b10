/*
 * bugcheck.c - KeBugCheckEx: stop the system and say why.
 *
 * The screen (VGA, white on blue) and the serial port get:
 *   *** STOP: 0x00000050 (0x..., 0x..., 0x..., 0x...)
 *   PAGE_FAULT_IN_NONPAGED_AREA
 * then the registers of the trap that caused it (or of the caller), the
 * decoded page-fault error code with CR2 for a page fault, and a backtrace
 * with symbol names. Then the machine powers off with HalExitBugCheck, so
 * QEMU exits with status 37 and the test harness knows.
 *
 * The first line's format is part of the automation contract: the harness
 * reads the stop code from it.
 *
 * More than one processor: the one that bugchecks first owns the screen.
 * It sends every other active processor an NMI (which no IRQL and no cli
 * holds back: a processor spinning with interrupts off still stops), and
 * each halts in KiFreezeIfBugCheckInProgress and counts itself; then
 * DbgPrint stops taking its lock (a frozen processor may hold it) and the
 * screen says which processor stopped and how many froze. A second
 * processor that bugchecks meanwhile freezes likewise, silently.
 */
#include "ki.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"

static volatile LONG KiBugCheckActive;
static volatile LONG KiBugCheckProcessor = -1; /* the one that owns the screen */
volatile KAFFINITY KiFrozenProcessors; /* those halted for it */

static __attribute__((noreturn)) void KiFreezeProcessor(void)
{
    __atomic_or_fetch(&KiFrozenProcessors, KeGetCurrentPrcb()->SetMember, __ATOMIC_SEQ_CST);
    for (;;) {
        _disable();
        __halt();
    }
}

void KiFreezeIfBugCheckInProgress(void)
{
    if (__atomic_load_n(&KiBugCheckActive, __ATOMIC_SEQ_CST) &&
        __atomic_load_n(&KiBugCheckProcessor, __ATOMIC_SEQ_CST) !=
            (LONG)KeGetCurrentProcessorNumber())
        KiFreezeProcessor();
}

/* NMI every other active processor and wait (a bounded spin: no timer is
 * safe to use now) until they have frozen. Returns how many did. */
static ULONG KiFreezeOtherProcessors(void)
{
    KAFFINITY Others = KeActiveProcessors & ~KeGetCurrentPrcb()->SetMember;
    for (ULONG n = 0; n < KE_MAXIMUM_PROCESSORS; n++) {
        if ((Others & ((KAFFINITY)1 << n)) && KiProcessorBlock[n])
            HalSendNmi(KiProcessorBlock[n]->ApicId);
    }
    for (ULONG Spin = 0; Spin < 100000000 &&
         (__atomic_load_n(&KiFrozenProcessors, __ATOMIC_SEQ_CST) & Others) != Others;
         Spin++)
        _mm_pause();
    KiDbgPrintUnlocked = TRUE;
    ULONG Frozen = 0;
    for (KAFFINITY Set = KiFrozenProcessors & Others; Set != 0; Set &= Set - 1)
        Frozen++;
    return Frozen;
}

typedef struct _KBUGCHECK_NAME {
    ULONG Code;
    const char *Name;
} KBUGCHECK_NAME;

static const KBUGCHECK_NAME KiBugCheckNames[] = {
    {APC_INDEX_MISMATCH, "APC_INDEX_MISMATCH"},
    {INVALID_DATA_ACCESS_TRAP, "INVALID_DATA_ACCESS_TRAP"},
    {INVALID_PROCESS_ATTACH_ATTEMPT, "INVALID_PROCESS_ATTACH_ATTEMPT"},
    {IRQL_NOT_GREATER_OR_EQUAL, "IRQL_NOT_GREATER_OR_EQUAL"},
    {IRQL_NOT_LESS_OR_EQUAL, "IRQL_NOT_LESS_OR_EQUAL"},
    {THREAD_NOT_MUTEX_OWNER, "THREAD_NOT_MUTEX_OWNER"},
    {SPIN_LOCK_ALREADY_OWNED, "SPIN_LOCK_ALREADY_OWNED"},
    {SPIN_LOCK_NOT_OWNED, "SPIN_LOCK_NOT_OWNED"},
    {REFERENCE_BY_POINTER, "REFERENCE_BY_POINTER"},
    {BAD_POOL_HEADER, "BAD_POOL_HEADER"},
    {MEMORY_MANAGEMENT, "MEMORY_MANAGEMENT"},
    {KMODE_EXCEPTION_NOT_HANDLED, "KMODE_EXCEPTION_NOT_HANDLED"},
    {PHASE0_INITIALIZATION_FAILED, "PHASE0_INITIALIZATION_FAILED"},
    {PHASE1_INITIALIZATION_FAILED, "PHASE1_INITIALIZATION_FAILED"},
    {SYSTEM_SERVICE_EXCEPTION, "SYSTEM_SERVICE_EXCEPTION"},
    {NO_PAGES_AVAILABLE, "NO_PAGES_AVAILABLE"},
    {PFN_LIST_CORRUPT, "PFN_LIST_CORRUPT"},
    {PAGE_FAULT_IN_NONPAGED_AREA, "PAGE_FAULT_IN_NONPAGED_AREA"},
    {PROCESS_INITIALIZATION_FAILED, "PROCESS_INITIALIZATION_FAILED"},
    {KERNEL_STACK_INPAGE_ERROR, "KERNEL_STACK_INPAGE_ERROR"},
    {KERNEL_DATA_INPAGE_ERROR, "KERNEL_DATA_INPAGE_ERROR"},
    {UNEXPECTED_KERNEL_MODE_TRAP, "UNEXPECTED_KERNEL_MODE_TRAP"},
    {NO_MORE_SYSTEM_PTES, "NO_MORE_SYSTEM_PTES"},
    {PROCESS_HAS_LOCKED_PAGES, "PROCESS_HAS_LOCKED_PAGES"},
    {KERNEL_MODE_EXCEPTION_NOT_HANDLED, "KERNEL_MODE_EXCEPTION_NOT_HANDLED"},
    {ATTEMPTED_SWITCH_FROM_DPC, "ATTEMPTED_SWITCH_FROM_DPC"},
    {ATTEMPTED_WRITE_TO_READONLY_MEMORY, "ATTEMPTED_WRITE_TO_READONLY_MEMORY"},
    {BAD_POOL_CALLER, "BAD_POOL_CALLER"},
    {SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION, "SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION"},
    {DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL, "DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL"},
    {DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION, "DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION"},
    {DRIVER_IRQL_NOT_LESS_OR_EQUAL, "DRIVER_IRQL_NOT_LESS_OR_EQUAL"},
    {NO_MORE_IRP_STACK_LOCATIONS, "NO_MORE_IRP_STACK_LOCATIONS"},
    {MULTIPLE_IRP_COMPLETE_REQUESTS, "MULTIPLE_IRP_COMPLETE_REQUESTS"},
    {DRIVER_VERIFIER_IOMANAGER_VIOLATION, "DRIVER_VERIFIER_IOMANAGER_VIOLATION"},
    {DRIVER_VERIFIER_DETECTED_VIOLATION, "DRIVER_VERIFIER_DETECTED_VIOLATION"},
    {DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS,
     "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS"},
    {MANUALLY_INITIATED_CRASH, "MANUALLY_INITIATED_CRASH"},
    {ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY, "ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY"},
    {KERNEL_SECURITY_CHECK_FAILURE, "KERNEL_SECURITY_CHECK_FAILURE"},
    {ASSERTION_FAILURE, "ASSERTION_FAILURE"},
    {KTEST_REQUESTED_CRASH, "KTEST_REQUESTED_CRASH"},
};

const char *KeBugCheckName(ULONG BugCheckCode)
{
    for (ULONG i = 0; i < ARRAYSIZE(KiBugCheckNames); i++) {
        if (KiBugCheckNames[i].Code == BugCheckCode)
            return KiBugCheckNames[i].Name;
    }
    return NULL;
}

/* Follow the RBP chain (every kernel function keeps a frame pointer:
 * -fno-omit-frame-pointer). Each frame holds [saved RBP, return address].
 * Every frame address is checked with MmIsAddressValid before it is read,
 * so a corrupt chain ends the backtrace instead of faulting again. */
extern char __text_start[], __text_end[];

static BOOLEAN KiIsKernelText(ULONG_PTR Address)
{
    return Address >= (ULONG_PTR)__text_start && Address < (ULONG_PTR)__text_end;
}

void KiPrintBacktrace(ULONG_PTR Rbp, ULONG_PTR Rip, ULONG_PTR Rsp)
{
    ULONG Depth = 1;
    DbgPrint("Backtrace:\n");
    DbgPrint("  #0  ");
    KePrintSymbol(Rip);
    DbgPrint("\n");
    /* gcc gives small leaf functions no frame, even when asked to keep
     * frame pointers; their caller is then only in the return address on
     * top of the stack. Show it, marked with '?' as gdb does for guesses. */
    if (Rsp && MmIsAddressValid((PVOID)Rsp) && MmIsAddressValid((PVOID)Rbp) &&
        KiIsKernelText(*(ULONG_PTR *)Rsp) && *(ULONG_PTR *)Rsp != ((ULONG_PTR *)Rbp)[1]) {
        DbgPrint("  #1 ? ");
        KePrintSymbol(*(ULONG_PTR *)Rsp - 1);
        DbgPrint("\n");
        Depth = 2;
    }
    for (; Depth < 32; Depth++) {
        if (Rbp == 0 || (Rbp & 7) || Rbp < 0xFFFF800000000000ULL ||
            !MmIsAddressValid((PVOID)Rbp) || !MmIsAddressValid((PVOID)(Rbp + 8)))
            break;
        ULONG_PTR ReturnAddress = ((ULONG_PTR *)Rbp)[1];
        if (ReturnAddress == 0)
            break;
        DbgPrint("  #%-2u ", Depth);
        /* A return address points after the call; print the call itself. */
        KePrintSymbol(ReturnAddress - 1);
        DbgPrint("\n");
        ULONG_PTR Next = ((ULONG_PTR *)Rbp)[0];
        if (Next <= Rbp)
            break;
        Rbp = Next;
    }
}

static void KiPrintTrapFrame(PKTRAP_FRAME Tf)
{
    DbgPrint("Trap frame at %p: vector %llu, error code 0x%llx\n", (PVOID)Tf, Tf->Vector,
             Tf->ErrorCode);
    DbgPrint("RIP=%016llx CS=%04llx RFLAGS=%08llx RSP=%016llx SS=%04llx\n", Tf->Rip,
             Tf->SegCs, Tf->EFlags, Tf->Rsp, Tf->SegSs);
    DbgPrint("RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n", Tf->Rax, Tf->Rbx, Tf->Rcx,
             Tf->Rdx);
    DbgPrint("RSI=%016llx RDI=%016llx RBP=%016llx R8 =%016llx\n", Tf->Rsi, Tf->Rdi, Tf->Rbp,
             Tf->R8);
    DbgPrint("R9 =%016llx R10=%016llx R11=%016llx R12=%016llx\n", Tf->R9, Tf->R10, Tf->R11,
             Tf->R12);
    DbgPrint("R13=%016llx R14=%016llx R15=%016llx\n", Tf->R13, Tf->R14, Tf->R15);
    if (Tf->Vector == KI_VECTOR_PAGE_FAULT) {
        char Decoded[128];
        KiDescribePageFaultCode(Tf->ErrorCode, Decoded, sizeof(Decoded));
        DbgPrint("Page fault: CR2=%016llx, error code %s\n", __readcr2(), Decoded);
    }
}

void KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR Parameter1, ULONG_PTR Parameter2,
                  ULONG_PTR Parameter3, ULONG_PTR Parameter4)
{
    _disable();
    if (__atomic_exchange_n(&KiBugCheckActive, 1, __ATOMIC_SEQ_CST)) {
        /* Another processor's bugcheck is on the screen: freeze. */
        if (__atomic_load_n(&KiBugCheckProcessor, __ATOMIC_SEQ_CST) !=
            (LONG)KeGetCurrentProcessorNumber())
            KiFreezeProcessor();
        /* A fault while printing the first bugcheck: say so and stop. */
        DbgPrint("\n*** STOP 0x%08x during a bugcheck; powering off.\n", BugCheckCode);
        HalPowerOff(HalExitBugCheck);
    }

    __atomic_store_n(&KiBugCheckProcessor, (LONG)KeGetCurrentProcessorNumber(), __ATOMIC_SEQ_CST);
    ULONG Frozen = KeNumberProcessors > 1 ? KiFreezeOtherProcessors() : 0;

    HalVgaSetColor(0x1F); /* white on blue */
    HalVgaClear();

    const char *Name = KeBugCheckName(BugCheckCode);
    DbgPrint("\n*** STOP: 0x%08x (0x%016llx, 0x%016llx, 0x%016llx, 0x%016llx)\n", BugCheckCode,
             (ULONG64)Parameter1, (ULONG64)Parameter2, (ULONG64)Parameter3,
             (ULONG64)Parameter4);
    DbgPrint("%s\n\n", Name ? Name : "(unnamed stop code)");
    if (KeNumberProcessors > 1)
        DbgPrint("On processor %u; %u other processor%s frozen (NMI).\n\n",
                 KeGetCurrentProcessorNumber(), Frozen, Frozen == 1 ? "" : "s");
    DbgPrint("A problem has been detected and Pagoda has been stopped to protect the system.\n"
             "Look up the stop code in Microsoft's bug check reference; the four values\n"
             "above are its parameters.\n\n");

    ULONG_PTR Rbp, Rip, Rsp = 0;
    PKTRAP_FRAME TrapFrame = KiBugCheckTrapFrame;
    if (TrapFrame) {
        KiPrintTrapFrame(TrapFrame);
        Rbp = TrapFrame->Rbp;
        Rip = TrapFrame->Rip;
        Rsp = TrapFrame->Rsp;
    } else {
        Rbp = (ULONG_PTR)__builtin_frame_address(0);
        Rip = (ULONG_PTR)__builtin_return_address(0);
        DbgPrint("Called from ");
        KePrintSymbol(Rip);
        DbgPrint(" (no trap frame)\nCR2=%016llx CR3=%016llx RBP=%016llx\n", __readcr2(),
                 __readcr3(), (ULONG64)Rbp);
        /* Start the walk at our caller's frame. */
        Rip = ((ULONG_PTR *)Rbp)[1];
        Rbp = ((ULONG_PTR *)Rbp)[0];
    }
    KiPrintBacktrace(Rbp, Rip, Rsp);
    DbgPrint("\nThe system is powering off.\n");
    HalPowerOff(HalExitBugCheck);
}

void KiAssertionFailed(const char *Expression, const char *File, int Line)
{
    DbgPrint("\n*** Assertion failed: %s (%s:%d)\n", Expression, File, Line);
    KeBugCheckEx(ASSERTION_FAILURE, (ULONG_PTR)Expression, (ULONG_PTR)File, (ULONG_PTR)Line, 0);
}
