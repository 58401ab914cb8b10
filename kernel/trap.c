/*
 * trap.c - what happens after an exception vector's stub (x64/trap.asm)
 * has saved the registers in a KTRAP_FRAME: KiDispatchTrap, the one
 * dispatcher of every exception and interrupt.
 *
 * Page faults, kernel or user mode, go to the memory manager once
 * (MmAccessFault, mm/fault.c), which resolves them (demand-zero, user
 * stack growth through the guard page, later the pagefile) or says with
 * which status the access fails:
 *
 *   #PF -> KiDispatchTrap -> MmAccessFault -> STATUS_SUCCESS: the access is retried
 *                                          -> failure, user mode: Ps ends the process
 *                                          -> failure, kernel mode: copy-routine fixup,
 *                                             else bugcheck
 *
 * A trap from ring 3 that nothing resolved becomes the NT status Windows
 * reports for it (KiExceptionCodeForUserTrap: STATUS_ACCESS_VIOLATION,
 * STATUS_STACK_OVERFLOW, STATUS_INTEGER_DIVIDE_BY_ZERO, ...), and
 * PsTerminateProcessOnException (ps/psexcept.c) ends that process alone.
 * Anything the kernel cannot handle becomes a bugcheck with the stop code
 * Windows uses:
 *   - a page fault in kernel mode that nobody resolved:
 *       write to a read-only page         ATTEMPTED_WRITE_TO_READONLY_MEMORY (0xBE)
 *       fetch from a no-execute page      ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY (0xFC)
 *       anything else                     PAGE_FAULT_IN_NONPAGED_AREA (0x50)
 *   - #UD, #GP, #BP, #AC, #XM, #MF in kernel mode: KMODE_EXCEPTION_NOT_HANDLED (0x1E)
 *     with the NT exception code (STATUS_ILLEGAL_INSTRUCTION, ...);
 *   - #DE, #DF, #TS, #NP, #SS, NMI, #MC and the rest: UNEXPECTED_KERNEL_MODE_TRAP
 *     (0x7F) with the vector number, as NT's KiTrap handlers do.
 * The exception: a #PF or #GP at an instruction of the user-copy routines
 * (kernel/x64/usercopy.asm) resumes at that instruction's fixup, which
 * returns STATUS_GUARD_PAGE_VIOLATION when the access hit a guard page and
 * STATUS_ACCESS_VIOLATION otherwise (the exception table, end of this
 * file).
 *
 * Interrupts: the stub enters with them disabled. A page fault, and any
 * exception from ring 3, is handled with the interrupt flag of the
 * interrupted code (KiDispatchTrap sets it in one place); everything is
 * disabled again before the return to the stub.
 */
#include "ki.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"
#include "../ps/ps.h"

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

/* The NT exception code of a kernel-mode trap, for bugcheck 0x1E. */
static NTSTATUS KiExceptionCodeForVector(ULONG64 Vector)
{
    switch (Vector) {
    case KI_VECTOR_INVALID_OPCODE:
        return STATUS_ILLEGAL_INSTRUCTION;
    case KI_VECTOR_BREAKPOINT:
        return STATUS_BREAKPOINT;
    case KI_VECTOR_GENERAL_PROTECTION:
        return STATUS_PRIVILEGED_INSTRUCTION;
    default:
        return STATUS_UNSUCCESSFUL;
    }
}

/* Instructions that are #GP in ring 3 because they are privileged (as
 * opposed to a bad memory access): HLT, CLI, STI, IN, OUT, INS, OUTS, and
 * the 0F forms (MOV to/from CRn, WRMSR, RDMSR, LGDT/LIDT, INVD, WBINVD,
 * CLTS). The bytes are read with the user-copy routine: RIP may point
 * anywhere. PASSIVE_LEVEL. */
static BOOLEAN KiIsPrivilegedInstruction(ULONG64 Rip)
{
    UCHAR Bytes[2] = {0, 0};
    if (!NT_SUCCESS(MmCopyFromUser(Bytes, (PVOID)Rip, 2)))
        return FALSE;
    switch (Bytes[0]) {
    case 0xF4: case 0xFA: case 0xFB: case 0xE4: case 0xE5: case 0xE6: case 0xE7:
    case 0xEC: case 0xED: case 0xEE: case 0xEF: case 0x6C: case 0x6D: case 0x6E: case 0x6F:
        return TRUE;
    case 0x0F:
        return Bytes[1] == 0x20 || Bytes[1] == 0x22 || Bytes[1] == 0x30 || Bytes[1] == 0x32 ||
               Bytes[1] == 0x01 || Bytes[1] == 0x08 || Bytes[1] == 0x09 || Bytes[1] == 0x06;
    default:
        return FALSE;
    }
}

/*
 * The NT exception code of a trap from ring 3 that nothing resolved, as
 * Windows reports it: a page fault keeps the status MmAccessFault gave
 * (STATUS_STACK_OVERFLOW for the stack's last guard page,
 * STATUS_GUARD_PAGE_VIOLATION for a guard page of the program's own,
 * anything else STATUS_ACCESS_VIOLATION). PASSIVE_LEVEL, interrupts on.
 */
static NTSTATUS KiExceptionCodeForUserTrap(PKTRAP_FRAME TrapFrame, NTSTATUS FaultStatus)
{
    switch (TrapFrame->Vector) {
    case KI_VECTOR_PAGE_FAULT:
        if (FaultStatus == STATUS_STACK_OVERFLOW || FaultStatus == STATUS_GUARD_PAGE_VIOLATION)
            return FaultStatus;
        return STATUS_ACCESS_VIOLATION;
    case KI_VECTOR_DIVIDE_ERROR:
        return STATUS_INTEGER_DIVIDE_BY_ZERO;
    case KI_VECTOR_INVALID_OPCODE:
        return STATUS_ILLEGAL_INSTRUCTION;
    case KI_VECTOR_BREAKPOINT:
        return STATUS_BREAKPOINT;
    case KI_VECTOR_GENERAL_PROTECTION:
        return KiIsPrivilegedInstruction(TrapFrame->Rip) ? STATUS_PRIVILEGED_INSTRUCTION
                                                         : STATUS_ACCESS_VIOLATION;
    default:
        return STATUS_ACCESS_VIOLATION;
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

static BOOLEAN KiApplyExceptionFixup(PKTRAP_FRAME TrapFrame, ULONG_PTR FaultVa,
                                     NTSTATUS FaultStatus);
static __attribute__((noreturn)) void KiBugCheckKernelTrap(PKTRAP_FRAME TrapFrame);

/*
 * Called by KiTrapCommon with interrupts disabled and the trap frame on the
 * stack; returns with interrupts disabled, and returning resumes the
 * interrupted code at TrapFrame->Rip. Every exception and interrupt comes
 * through here; the page-fault path is:
 *
 *   #PF -> KiDispatchTrap -> MmAccessFault -> resolved: retry the access
 *                                          -> failed, user mode: Ps ends the process
 *                                          -> failed, kernel mode: copy-routine fixup,
 *                                             else bugcheck
 */
void KiDispatchTrap(PKTRAP_FRAME TrapFrame)
{
    ULONG64 Vector = TrapFrame->Vector;
    BOOLEAN FromUser = (TrapFrame->SegCs & 3) != 0;

    if (Vector >= 32) {
        KiDispatchInterrupt(TrapFrame);
        if (FromUser)
            KiCheckUserReturn();
        return;
    }

    /* CR2 first: once interrupts are on, another fault could replace it. */
    ULONG_PTR FaultVa = Vector == KI_VECTOR_PAGE_FAULT ? __readcr2() : 0;
    NTSTATUS FaultStatus = STATUS_SUCCESS;

    /* The one place the exception path sets the interrupt flag: a page
     * fault, and any exception from ring 3, is handled with interrupts as
     * the interrupted code had them (always on in ring 3), since resolving
     * it may wait. A kernel-mode exception on its way to a bugcheck stays
     * with interrupts off. */
    if ((Vector == KI_VECTOR_PAGE_FAULT || FromUser) && (TrapFrame->EFlags & EFLAGS_IF))
        _enable();

    if (Vector == KI_VECTOR_PAGE_FAULT) {
        FaultStatus = MmAccessFault(TrapFrame->ErrorCode, (PVOID)FaultVa, TrapFrame->Rip);
        if (NT_SUCCESS(FaultStatus))
            goto resume;
    }

    /* From ring 3: the process's problem, not the kernel's. */
    if (FromUser)
        PsTerminateProcessOnException(KiExceptionCodeForUserTrap(TrapFrame, FaultStatus),
                                      TrapFrame->Rip, FaultVa);

    /* A user-memory access by a copy routine: resume at its fixup. A
     * non-canonical user pointer gives #GP, not #PF (Intel SDM Vol. 3A,
     * 3.3.7.1): the copy routines recover from that too. */
    if ((Vector == KI_VECTOR_PAGE_FAULT || Vector == KI_VECTOR_GENERAL_PROTECTION) &&
        KiApplyExceptionFixup(TrapFrame, FaultVa, FaultStatus))
        goto resume;

    _disable();
    KiBugCheckKernelTrap(TrapFrame);

resume:
    if (FromUser)
        KiCheckUserReturn();
    _disable();
}

/* A kernel-mode exception nobody resolved: the bugcheck Windows gives it
 * (see the file header). Interrupts disabled. */
static __attribute__((noreturn)) void KiBugCheckKernelTrap(PKTRAP_FRAME TrapFrame)
{
    ULONG64 Vector = TrapFrame->Vector;

    KiBugCheckTrapFrame = TrapFrame;
    if (Vector == KI_VECTOR_PAGE_FAULT)
        KiBugCheckPageFault(TrapFrame);

    /* A double fault whose stack pointer sits in the guard page below the
     * thread's stack: the stack overflowed, the #PF could not push its
     * frame, and the CPU fell back to the double-fault IST stack. Say so. */
    PKTHREAD Thread = KiPcr.CurrentThread;
    if (Vector == KI_VECTOR_DOUBLE_FAULT && Thread &&
        TrapFrame->Rsp < (ULONG64)Thread->StackLimit &&
        TrapFrame->Rsp >= (ULONG64)Thread->StackLimit - 2 * PAGE_SIZE) {
        DbgPrint("\n*** Kernel stack overflow: thread %p ran below its stack limit %p "
                 "(RSP %p) into the guard page.\n",
                 (PVOID)Thread, Thread->StackLimit, (PVOID)TrapFrame->Rsp);
    }
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

/* ------------------------------------------------------------------------
 * The exception table: recovery for the user-copy routines
 * (kernel/x64/usercopy.asm, used by mm/probe.c).
 *
 * Each instruction there that dereferences a user pointer is listed in
 * .ex_table with the address of a fixup that clears RFLAGS.AC and returns
 * the status left in RAX: STATUS_GUARD_PAGE_VIOLATION when the access
 * consumed a guard page (NT's probes raise that too), else
 * STATUS_ACCESS_VIOLATION. A fault the memory manager cannot resolve at any
 * other RIP is still a bugcheck.
 * ------------------------------------------------------------------------ */
typedef struct _KI_EXCEPTION_TABLE_ENTRY {
    ULONG_PTR FaultingRip;
    ULONG_PTR FixupRip;
} KI_EXCEPTION_TABLE_ENTRY;
STATIC_ASSERT(sizeof(KI_EXCEPTION_TABLE_ENTRY) == 16); /* dq, dq in usercopy.asm */

extern const KI_EXCEPTION_TABLE_ENTRY __ex_table_start[], __ex_table_end[];

/* The fixup address for an instruction at Rip, or 0 when it has none.
 * The table has a handful of entries: a linear search. Any IRQL. */
ULONG_PTR KiFindExceptionFixup(ULONG_PTR Rip)
{
    for (const KI_EXCEPTION_TABLE_ENTRY *Entry = __ex_table_start; Entry < __ex_table_end;
         Entry++) {
        if (Entry->FaultingRip == Rip)
            return Entry->FixupRip;
    }
    return 0;
}

/*
 * A kernel-mode #PF or #GP that nothing resolved: when it hit a listed
 * instruction, make the trap return to its fixup with the failure status in
 * RAX and AC clear, and return TRUE. The status is FaultStatus (what
 * MmAccessFault said) when that is STATUS_GUARD_PAGE_VIOLATION, else
 * STATUS_ACCESS_VIOLATION.
 * FaultVa is CR2 for a #PF (0 for a #GP, which has no address): a page
 * fault on the kernel side of a copy is a kernel bug and is not hidden.
 */
static BOOLEAN KiApplyExceptionFixup(PKTRAP_FRAME TrapFrame, ULONG_PTR FaultVa,
                                     NTSTATUS FaultStatus)
{
    if ((TrapFrame->SegCs & 3) != 0 || FaultVa >= MM_USER_PROBE_ADDRESS)
        return FALSE;
    ULONG_PTR Fixup = KiFindExceptionFixup(TrapFrame->Rip);
    if (Fixup == 0)
        return FALSE;
    TrapFrame->Rip = Fixup;
    TrapFrame->Rax = (ULONG)(FaultStatus == STATUS_GUARD_PAGE_VIOLATION
                                 ? STATUS_GUARD_PAGE_VIOLATION
                                 : STATUS_ACCESS_VIOLATION);
    /* The trap did not clear AC (only IF/TF/NT/RF are cleared on entry);
     * iretq restores it, the fixup's clac clears it. Clear it here too so
     * not one instruction runs with user access open. */
    TrapFrame->EFlags &= ~EFLAGS_AC;
    return TRUE;
}
