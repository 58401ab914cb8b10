/*
 * ki.h - private to kernel/: CPU structures (GDT, TSS, IDT), the trap frame,
 * and the internal routines of the console, traps and tests.
 */
#ifndef PAGODA_KI_H
#define PAGODA_KI_H

#include "ke.h"
#include "../include/intrin.h"

/* ------------------------------------------------------------------------
 * Segments. The selectors are the ones 64-bit Windows uses (KGDT64_*), so
 * what a student sees in gdb matches what WinDbg shows on Windows. The
 * order of the user entries is dictated by SYSRET (Intel SDM Vol. 2B,
 * SYSRET): user data must follow the 32-bit user code, user 64-bit code
 * must follow user data.
 * ------------------------------------------------------------------------ */
#define KGDT64_NULL      0x00
#define KGDT64_R0_CODE   0x10
#define KGDT64_R0_DATA   0x18
#define KGDT64_R3_CMCODE 0x20
#define KGDT64_R3_DATA   0x28
#define KGDT64_R3_CODE   0x30
#define KGDT64_SYS_TSS   0x40
#define KGDT64_ENTRIES   12        /* TSS descriptors take two slots */

/* Interrupt stack table slots (TSS.IST1..7) for traps that must not run on
 * a possibly broken stack (Intel SDM Vol. 3A, 7.14.5). */
#define KI_IST_DOUBLE_FAULT  1
#define KI_IST_NMI           2
#define KI_IST_MACHINE_CHECK 3
#define KI_IST_STACK_SIZE    (4 * PAGE_SIZE)

/* The 64-bit TSS (Intel SDM Vol. 3A, Figure 9-11). */
typedef struct __attribute__((packed)) _KTSS64 {
    ULONG Reserved0;
    ULONG64 Rsp0;               /* stack for a ring 3 -> ring 0 transition */
    ULONG64 Rsp1;
    ULONG64 Rsp2;
    ULONG64 Ist[8];             /* Ist[1..7]; Ist[0] is the reserved slot at 0x1C */
    ULONG64 Reserved2;
    USHORT Reserved3;
    USHORT IoMapBase;
} KTSS64, *PKTSS64;
STATIC_ASSERT(sizeof(KTSS64) == 104);
STATIC_ASSERT(offsetof(KTSS64, Ist) + 8 == 0x24); /* IST1 at 0x24 */

/* A 64-bit interrupt gate (Intel SDM Vol. 3A, Figure 7-8). */
typedef struct _KIDTENTRY64 {
    USHORT OffsetLow;
    USHORT Selector;
    USHORT IstIndex : 3;
    USHORT Reserved0 : 5;
    USHORT Type : 5;            /* 0xE: interrupt gate (IF cleared on entry) */
    USHORT Dpl : 2;
    USHORT Present : 1;
    USHORT OffsetMiddle;
    ULONG OffsetHigh;
    ULONG Reserved1;
} KIDTENTRY64, *PKIDTENTRY64;
STATIC_ASSERT(sizeof(KIDTENTRY64) == 16);

/*
 * The trap frame: what kernel/x64/trap.asm leaves on the stack before it
 * calls KiDispatchTrap. From the top (highest address) down: the frame the
 * CPU pushes (SS, RSP, RFLAGS, CS, RIP), the error code (the CPU's, or 0),
 * the vector number, then the general registers. Keep in step with
 * trap.asm; the STATIC_ASSERTs check the hardware part's position.
 */
typedef struct _KTRAP_FRAME {
    ULONG64 Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rbp;
    ULONG64 R8, R9, R10, R11, R12, R13, R14, R15;
    ULONG64 Vector;
    ULONG64 ErrorCode;
    ULONG64 Rip;                /* pushed by the CPU from here on */
    ULONG64 SegCs;
    ULONG64 EFlags;
    ULONG64 Rsp;
    ULONG64 SegSs;
} KTRAP_FRAME, *PKTRAP_FRAME;
STATIC_ASSERT(offsetof(KTRAP_FRAME, Vector) == 15 * 8);
STATIC_ASSERT(offsetof(KTRAP_FRAME, Rip) == 17 * 8);
STATIC_ASSERT(sizeof(KTRAP_FRAME) == 22 * 8);

/* Exception vectors (Intel SDM Vol. 3A, Table 7-1). */
#define KI_VECTOR_DIVIDE_ERROR       0
#define KI_VECTOR_DEBUG              1
#define KI_VECTOR_NMI                2
#define KI_VECTOR_BREAKPOINT         3
#define KI_VECTOR_INVALID_OPCODE     6
#define KI_VECTOR_DOUBLE_FAULT       8
#define KI_VECTOR_GENERAL_PROTECTION 13
#define KI_VECTOR_PAGE_FAULT         14
#define KI_VECTOR_MACHINE_CHECK      18

/* Page-fault error code bits (Intel SDM Vol. 3A, 5.7 / Figure 5-12). */
#define PF_PRESENT   (1 << 0)       /* 0: not present, 1: protection violation */
#define PF_WRITE     (1 << 1)
#define PF_USER      (1 << 2)
#define PF_RESERVED  (1 << 3)       /* a reserved bit was set in an entry */
#define PF_FETCH     (1 << 4)       /* instruction fetch */
#define PF_PK        (1 << 5)
#define PF_SS        (1 << 6)

/* kernel/cpu.c */
void KiInitializeCpu(void);
extern KTSS64 KiTss;

/* kernel/trap.c */
void KiDispatchTrap(PKTRAP_FRAME TrapFrame);
/* The trap frame of the trap being handled when a bugcheck started (or
 * NULL), so the bugcheck screen shows the faulting registers. */
extern PKTRAP_FRAME KiBugCheckTrapFrame;
void KiDescribePageFaultCode(ULONG64 ErrorCode, char *Buffer, size_t Size);
/* The exception table of kernel/x64/usercopy.asm: the fixup RIP for a
 * faulting instruction at Rip, or 0 when it is not a user-copy instruction.
 * KiDispatchTrap resumes there instead of bugchecking. */
ULONG_PTR KiFindExceptionFixup(ULONG_PTR Rip);
#define EFLAGS_AC    (1ULL << 18)   /* alignment check / SMAP override (Intel SDM Vol. 3A, 2.3) */

/* kernel/serial.c */
void KiSerialInitialize(void);
void KiSerialPutChar(char C);
int KiSerialGetChar(void);

/* kernel/vga.c */
void KiVgaInitialize(PVOID TextBuffer);
void KiVgaPutChar(char C);
void KiVgaSetColor(UCHAR Attribute);
void KiVgaClear(void);

/* kernel/ktest.c */
void KiRunTests(const char *Pattern);

/* kernel/bugcheck.c */
/* Rsp: the interrupted stack pointer, or 0 (see bugcheck.c). */
void KiPrintBacktrace(ULONG_PTR Rbp, ULONG_PTR Rip, ULONG_PTR Rsp);

#endif /* PAGODA_KI_H */
