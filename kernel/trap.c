/*
 * trap.c - what happens after an exception vector's stub (x64/trap.asm)
 * has saved the registers in a KTRAP_FRAME.
 *
 * Page faults go to the memory manager (MmAccessFault), which resolves
 * them (demand-zero, later the pagefile) or says it cannot. Anything the
 * kernel cannot handle becomes a bugcheck with the stop code Windows uses:
 *   - a page fault in kernel mode that nobody resolved:
 *       write to a read-only page         ATTEMPTED_WRITE_TO_READONLY_MEMORY (0xBE)
 *       fetch from a no-execute page      ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY (0xFC)
 *       anything else                     PAGE_FAULT_IN_NONPAGED_AREA (0x50)
 *   - #UD, #GP, #BP, #AC, #XM, #MF in kernel mode: KMODE_EXCEPTION_NOT_HANDLED (0x1E)
 *     with the NT exception code (STATUS_ILLEGAL_INSTRUCTION, ...);
 *   - #DE, #DF, #TS, #NP, #SS, NMI, #MC and the rest: UNEXPECTED_KERNEL_MODE_TRAP
 *     (0x7F) with the vector number, as NT's KiTrap handlers do.
 * User-mode traps arrive with the user-mode issue.
 */
#include "ki.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"

PKTRAP_FRAME KiBugCheckTrapFrame;

static const char *const KiVectorNames[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM device not available",
    "#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
    "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
    "#MC machine check", "#XM SIMD exception", "#VE virtualization",
    "#CP control protection", "reserved 22", "reserved 23", "reserved 24",
    "reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
    "#VC VMM communication", "#SX security", "reserved 31",
};

/* Spell out a page-fault error code, e.g. "0x3: protection violation,
 * write, kernel mode". */
void KiDescribePageFaultCode(ULONG64 ErrorCode, char *Buffer, size_t Size)
{
    RtlFormatBuffer(Buffer, Size, "0x%llx: %s, %s, %s mode%s%s", ErrorCode,
                    (ErrorCode & PF_PRESENT) ? "protection violation" : "page not present",
                    (ErrorCode & PF_FETCH) ? "instruction fetch"
                                           : (ErrorCode & PF_WRITE) ? "write" : "read",
                    (ErrorCode & PF_USER) ? "user" : "kernel",
                    (ErrorCode & PF_RESERVED) ? ", reserved bit set" : "",
                    (ErrorCode & PF_PK) ? ", protection key" : "");
}

static NTSTATUS KiExceptionCodeForVector(ULONG64 Vector)
{
    switch (Vector) {
    case KI_VECTOR_INVALID_OPCODE:
        return STATUS_ILLEGAL_INSTRUCTION;
    case KI_VECTOR_BREAKPOINT:
        return STATUS_BREAKPOINT;
    case KI_VECTOR_GENERAL_PROTECTION:
        return STATUS_PRIVILEGED_INSTRUCTION;
    case KI_VECTOR_DIVIDE_ERROR:
        return STATUS_INTEGER_DIVIDE_BY_ZERO;
    default:
        return STATUS_UNSUCCESSFUL;
    }
}

static __attribute__((noreturn)) void KiBugCheckPageFault(PKTRAP_FRAME TrapFrame)
{
    ULONG_PTR Va = __readcr2();
    ULONG64 Code = TrapFrame->ErrorCode;

    if ((Code & PF_PRESENT) && (Code & PF_WRITE) && !(Code & PF_FETCH)) {
        KeBugCheckEx(ATTEMPTED_WRITE_TO_READONLY_MEMORY, Va, MmGetPteValue((PVOID)Va),
                     TrapFrame->Rip, Code);
    }
    if ((Code & PF_PRESENT) && (Code & PF_FETCH)) {
        KeBugCheckEx(ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY, Va, MmGetPteValue((PVOID)Va),
                     TrapFrame->Rip, Code);
    }
    /* Parameter 2 as documented for Windows 10 and later: 0 read,
     * 2 write, 0x10 execute. Parameter 4 here is the raw error code. */
    ULONG_PTR Access = (Code & PF_FETCH) ? 0x10 : (Code & PF_WRITE) ? 2 : 0;
    KeBugCheckEx(PAGE_FAULT_IN_NONPAGED_AREA, Va, Access, TrapFrame->Rip, Code);
}

/*
 * Called by KiTrapCommon with interrupts disabled and the trap frame on the
 * stack. Returning resumes the interrupted code at TrapFrame->Rip.
 */
void KiDispatchTrap(PKTRAP_FRAME TrapFrame)
{
    ULONG64 Vector = TrapFrame->Vector;

    if (Vector == KI_VECTOR_PAGE_FAULT) {
        NTSTATUS Status = MmAccessFault(TrapFrame->ErrorCode, (PVOID)__readcr2(), TrapFrame);
        if (NT_SUCCESS(Status))
            return;
        KiBugCheckTrapFrame = TrapFrame;
        KiBugCheckPageFault(TrapFrame);
    }

    KiBugCheckTrapFrame = TrapFrame;
    DbgPrint("\n*** Unexpected kernel-mode trap: vector %llu (%s) at ", Vector,
             Vector < 32 ? KiVectorNames[Vector] : "?");
    KePrintSymbol(TrapFrame->Rip);
    DbgPrint("\n");

    switch (Vector) {
    case KI_VECTOR_INVALID_OPCODE:
    case KI_VECTOR_GENERAL_PROTECTION:
    case KI_VECTOR_BREAKPOINT:
    case 16: /* #MF */
    case 17: /* #AC */
    case 19: /* #XM */
        KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG)KiExceptionCodeForVector(Vector),
                     TrapFrame->Rip, TrapFrame->ErrorCode, Vector);
    default:
        KeBugCheckEx(UNEXPECTED_KERNEL_MODE_TRAP, Vector, TrapFrame->ErrorCode, TrapFrame->Rip,
                     0);
    }
}
