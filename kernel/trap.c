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
 * STATUS_STACK_OVERFLOW, STATUS_INTEGER_DIVIDE_BY_ZERO or
 * STATUS_INTEGER_OVERFLOW after reading the divisor, STATUS_BREAKPOINT,
 * STATUS_SINGLE_STEP, STATUS_PRIVILEGED_INSTRUCTION, ...), and
 * PsTerminateProcessOnException (ps/psexcept.c) ends that process alone.
 * Anything the kernel cannot handle becomes a bugcheck with the stop code
 * Windows uses:
 *   - a page fault in kernel mode that nobody resolved:
 *       special pool's guard page         DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION (0xD6)
 *       special pool's freed block        DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL (0xD5)
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

/* ------------------------------------------------------------------------
 * Reading the user instruction that trapped, to tell apart the kinds of
 * #GP and #DE (Intel SDM Vol. 2, chapter 2: prefixes, REX, opcode, ModRM,
 * SIB, displacement).
 * ------------------------------------------------------------------------ */
typedef struct _KI_USER_INSTRUCTION {
    UCHAR Bytes[15];        /* an x64 instruction is at most 15 bytes */
    ULONG Count;            /* how many of them could be read */
    ULONG Opcode;           /* index of the first opcode byte */
    UCHAR Rex;              /* the REX prefix, or 0 */
    BOOLEAN OperandSize16;  /* 66 prefix */
    BOOLEAN AddressSize32;  /* 67 prefix */
    BOOLEAN SegmentFsGs;    /* 64 or 65 prefix: a base this file does not know */
} KI_USER_INSTRUCTION;

/* Read the instruction at Rip (user memory: any byte may be unreadable)
 * and skip its legacy prefixes and REX. FALSE if no opcode byte could be
 * read. PASSIVE_LEVEL. */
static BOOLEAN KiReadUserInstruction(ULONG64 Rip, KI_USER_INSTRUCTION *Insn)
{
    memset(Insn, 0, sizeof(*Insn));
    while (Insn->Count < sizeof(Insn->Bytes) &&
           NT_SUCCESS(MmCopyFromUser(&Insn->Bytes[Insn->Count], (PVOID)(Rip + Insn->Count), 1)))
        Insn->Count++;
    ULONG i = 0;
    for (; i < Insn->Count; i++) {
        UCHAR B = Insn->Bytes[i];
        if (B == 0x66)
            Insn->OperandSize16 = TRUE;
        else if (B == 0x67)
            Insn->AddressSize32 = TRUE;
        else if (B == 0x64 || B == 0x65)
            Insn->SegmentFsGs = TRUE;
        else if (B != 0xF0 && B != 0xF2 && B != 0xF3 && B != 0x26 && B != 0x2E && B != 0x36 &&
                 B != 0x3E)
            break;
    }
    if (i < Insn->Count && (Insn->Bytes[i] & 0xF0) == 0x40)
        Insn->Rex = Insn->Bytes[i++];
    Insn->Opcode = i;
    return i < Insn->Count;
}

/* Instructions that are #GP in ring 3 because they are privileged (as
 * opposed to a bad memory access): HLT, CLI, STI, IN, OUT, INS, OUTS, and
 * the 0F forms (MOV to/from CRn and DRn, WRMSR, RDMSR, LGDT/LIDT, INVD,
 * WBINVD, CLTS, SYSRET, SYSEXIT). PASSIVE_LEVEL. */
static BOOLEAN KiIsPrivilegedInstruction(ULONG64 Rip)
{
    KI_USER_INSTRUCTION Insn;
    if (!KiReadUserInstruction(Rip, &Insn))
        return FALSE;
    UCHAR First = Insn.Bytes[Insn.Opcode];
    UCHAR Second = Insn.Opcode + 1 < Insn.Count ? Insn.Bytes[Insn.Opcode + 1] : 0;
    switch (First) {
    case 0xF4: case 0xFA: case 0xFB: case 0xE4: case 0xE5: case 0xE6: case 0xE7:
    case 0xEC: case 0xED: case 0xEE: case 0xEF: case 0x6C: case 0x6D: case 0x6E: case 0x6F:
        return TRUE;
    case 0x0F:
        switch (Second) {
        case 0x20: case 0x21: case 0x22: case 0x23: /* MOV CRn / DRn */
        case 0x30: case 0x32:                       /* WRMSR, RDMSR */
        case 0x01: case 0x06: case 0x08: case 0x09: /* LGDT/LIDT..., CLTS, INVD, WBINVD */
        case 0x07: case 0x35:                       /* SYSRET, SYSEXIT */
            return TRUE;
        default:
            return FALSE;
        }
    default:
        return FALSE;
    }
}

/* General register Index (the ModRM/SIB numbering: RAX, RCX, RDX, RBX,
 * RSP, RBP, RSI, RDI, R8..R15) of the interrupted code. */
static ULONG64 KiGetUserRegister(PKTRAP_FRAME TrapFrame, ULONG Index)
{
    const ULONG64 Registers[16] = {
        TrapFrame->Rax, TrapFrame->Rcx, TrapFrame->Rdx, TrapFrame->Rbx,
        TrapFrame->Rsp, TrapFrame->Rbp, TrapFrame->Rsi, TrapFrame->Rdi,
        TrapFrame->R8,  TrapFrame->R9,  TrapFrame->R10, TrapFrame->R11,
        TrapFrame->R12, TrapFrame->R13, TrapFrame->R14, TrapFrame->R15,
    };
    return Registers[Index & 15];
}

/* The address of the memory operand of ModRM at Insn->Bytes[At]; FALSE if
 * the bytes ran out or it uses FS/GS. At returns past the operand. */
static BOOLEAN KiUserOperandAddress(PKTRAP_FRAME TrapFrame, const KI_USER_INSTRUCTION *Insn,
                                    ULONG *At, ULONG64 *Address)
{
    UCHAR ModRm = Insn->Bytes[(*At)++];
    ULONG Mod = ModRm >> 6, Rm = ModRm & 7;
    ULONG DispBytes = Mod == 1 ? 1 : Mod == 2 ? 4 : 0;
    ULONG64 Ea = 0;
    BOOLEAN RipRelative = FALSE;
    if (Rm == 4) {                                          /* a SIB byte follows */
        if (*At >= Insn->Count)
            return FALSE;
        UCHAR Sib = Insn->Bytes[(*At)++];
        ULONG Index = ((Sib >> 3) & 7) | ((Insn->Rex & 2) << 2), Base = Sib & 7;
        if (Index != 4)                                     /* 4 without REX.X: none */
            Ea = KiGetUserRegister(TrapFrame, Index) << (Sib >> 6);
        if (Base == 5 && Mod == 0)
            DispBytes = 4;                                  /* disp32, no base */
        else
            Ea += KiGetUserRegister(TrapFrame, Base | ((Insn->Rex & 1) << 3));
    } else if (Rm == 5 && Mod == 0) {
        RipRelative = TRUE;                                 /* RIP + disp32 */
        DispBytes = 4;
    } else {
        Ea = KiGetUserRegister(TrapFrame, Rm | ((Insn->Rex & 1) << 3));
    }
    if (*At + DispBytes > Insn->Count || Insn->SegmentFsGs)
        return FALSE;
    LONG64 Disp = 0;
    if (DispBytes == 1)
        Disp = (CHAR)Insn->Bytes[*At];
    else if (DispBytes == 4)
        Disp = (LONG)((ULONG)Insn->Bytes[*At] | (ULONG)Insn->Bytes[*At + 1] << 8 |
                      (ULONG)Insn->Bytes[*At + 2] << 16 | (ULONG)Insn->Bytes[*At + 3] << 24);
    *At += DispBytes;
    if (RipRelative)
        Ea = TrapFrame->Rip + *At;                          /* the next instruction */
    Ea += (ULONG64)Disp;
    *Address = Insn->AddressSize32 ? (ULONG)Ea : Ea;
    return TRUE;
}

/*
 * A #DE from ring 3: DIV and IDIV (F6 /6 /7, F7 /6 /7) fault on a zero
 * divisor and on a quotient too large for the destination (IDIV of the
 * most negative value by -1). The divisor is read from the register or
 * memory operand to tell which. An instruction that cannot be read is
 * taken for a zero divisor. PASSIVE_LEVEL.
 */
static NTSTATUS KiDivideErrorCode(PKTRAP_FRAME TrapFrame)
{
    KI_USER_INSTRUCTION Insn;
    if (!KiReadUserInstruction(TrapFrame->Rip, &Insn) || Insn.Opcode + 1 >= Insn.Count)
        return STATUS_INTEGER_DIVIDE_BY_ZERO;
    UCHAR Opcode = Insn.Bytes[Insn.Opcode];
    ULONG At = Insn.Opcode + 1;
    UCHAR ModRm = Insn.Bytes[At];
    if ((Opcode != 0xF6 && Opcode != 0xF7) || ((ModRm >> 3) & 7) < 6)
        return STATUS_INTEGER_DIVIDE_BY_ZERO;
    ULONG Size = Opcode == 0xF6 ? 1 : (Insn.Rex & 8) ? 8 : Insn.OperandSize16 ? 2 : 4;
    ULONG64 Divisor = 0;
    if ((ModRm >> 6) == 3) {
        ULONG Rm = (ModRm & 7) | ((Insn.Rex & 1) << 3);
        if (Size == 1 && Insn.Rex == 0 && Rm >= 4)          /* AH, CH, DH, BH */
            Divisor = KiGetUserRegister(TrapFrame, Rm - 4) >> 8;
        else
            Divisor = KiGetUserRegister(TrapFrame, Rm);
    } else {
        ULONG64 Address;
        if (!KiUserOperandAddress(TrapFrame, &Insn, &At, &Address) ||
            !NT_SUCCESS(MmCopyFromUser(&Divisor, (PVOID)Address, Size)))
            return STATUS_INTEGER_DIVIDE_BY_ZERO;
    }
    if (Size < 8)
        Divisor &= (1ULL << (Size * 8)) - 1;
    return Divisor == 0 ? STATUS_INTEGER_DIVIDE_BY_ZERO : STATUS_INTEGER_OVERFLOW;
}

/*
 * The NT exception code of a trap from ring 3 that nothing resolved, as
 * Windows reports it: a page fault keeps the status MmAccessFault gave
 * (STATUS_STACK_OVERFLOW for the stack's last guard page,
 * STATUS_GUARD_PAGE_VIOLATION for a guard page of the program's own,
 * anything else STATUS_ACCESS_VIOLATION); #DE is a zero divisor or an
 * overflowing quotient; #DB (the trap flag) STATUS_SINGLE_STEP; INT3
 * (its gate is open to ring 3) STATUS_BREAKPOINT; a #GP on a privileged
 * instruction STATUS_PRIVILEGED_INSTRUCTION. PASSIVE_LEVEL, interrupts on.
 */
static NTSTATUS KiExceptionCodeForUserTrap(PKTRAP_FRAME TrapFrame, NTSTATUS FaultStatus)
{
    switch (TrapFrame->Vector) {
    case KI_VECTOR_PAGE_FAULT:
        if (FaultStatus == STATUS_STACK_OVERFLOW || FaultStatus == STATUS_GUARD_PAGE_VIOLATION)
            return FaultStatus;
        return STATUS_ACCESS_VIOLATION;
    case KI_VECTOR_DIVIDE_ERROR:
        return KiDivideErrorCode(TrapFrame);
    case KI_VECTOR_DEBUG:
        return STATUS_SINGLE_STEP;
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

    /* A guard page or a freed run of Driver Verifier's special pool:
     * 0xD6 or 0xD5 with the allocation's tag (mm/specpool.c). */
    MmCheckSpecialPoolFault(Va, Code, TrapFrame->Rip);
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

    if (Vector == KI_VECTOR_NMI)
        KiFreezeIfBugCheckInProgress(); /* another processor's bugcheck froze this one */
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
        /* A kernel-mode fault MmAccessFault refuses with a bugcheck of its
         * own (IRQL_NOT_LESS_OR_EQUAL: pageable memory at DISPATCH_LEVEL)
         * shows the faulting frame on the screen, as KiBugCheckKernelTrap's
         * do (the previous value back after: faults nest). */
        PKTRAP_FRAME Outer = KiBugCheckTrapFrame;
        if (!FromUser)
            KiBugCheckTrapFrame = TrapFrame;
        FaultStatus = MmAccessFault(TrapFrame->ErrorCode, (PVOID)FaultVa, TrapFrame->Rip);
        KiBugCheckTrapFrame = Outer;
        if (NT_SUCCESS(FaultStatus))
            goto resume;
    }

    /* From ring 3: the process's problem, not the kernel's. INT3 is a trap:
     * RIP is past it, and the exception address, as on NT, is one less. */
    if (FromUser)
        PsTerminateProcessOnException(KiExceptionCodeForUserTrap(TrapFrame, FaultStatus),
                                      TrapFrame->Rip - (Vector == KI_VECTOR_BREAKPOINT),
                                      FaultVa);

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
 * (kernel/x64/usercopy.asm, used by mm/probe.c), the copy of a system
 * service's stack arguments (kernel/x64/syscall.asm) and the I/O
 * services' write of a fast request's IO_STATUS_BLOCK (io/iosvc.c).
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
