/*
 * syscalls.S - the user-mode system service stubs, one per line of
 * include/ntsyscalls.h.
 *
 * Each stub is the calling convention of that header: the C arguments are
 * already in RDI, RSI, RDX, RCX, R8, R9 (System V); SYSCALL overwrites RCX
 * with the return address, so the fourth argument moves to R10. The service
 * number is the line's position in the list, counted at assembly time by
 * PgServiceIndex, which each expansion advances. The NTSTATUS comes back in
 * RAX. SYSCALL also clobbers R11, which the ABI lets a call clobber.
 * Services of more than six arguments (PAGODA_SYSTEM_SERVICES_STACK, numbered
 * after the others) have the same stub: the C caller left arguments 7 and up
 * on the stack, at RSP + 8 and up once the stub is entered, and the stub
 * pushes nothing, so the kernel finds them there.
 */
#include "ntsyscalls.h"

    .text
    .set PgServiceIndex, 0

#define PG_STUB(Name, ArgCount)          \
    .globl Name;                         \
    .type Name, @function;               \
    .p2align 4;                          \
Name:                                    \
    mov %rcx, %r10;                      \
    mov $PgServiceIndex, %eax;           \
    syscall;                             \
    ret;                                 \
    .size Name, . - Name;                \
    .set PgServiceIndex, PgServiceIndex + 1;

PAGODA_SYSTEM_SERVICES(PG_STUB)
PAGODA_SYSTEM_SERVICES_STACK(PG_STUB)

/*
 * NTSTATUS PgSystemCall(ULONG64 Number, const ULONG64 Arguments[6]) - any
 * service number with any six arguments (/bin/fuzz): the same convention
 * as the stubs above, the number in full 64 bits in RAX (the kernel
 * compares all of it with the table's size), the arguments loaded from the
 * array through R11, which SYSCALL overwrites anyway.
 */
    .globl PgSystemCall
    .type PgSystemCall, @function
    .p2align 4
PgSystemCall:
    mov %rdi, %rax
    mov %rsi, %r11
    mov 0(%r11), %rdi
    mov 8(%r11), %rsi
    mov 16(%r11), %rdx
    mov 24(%r11), %r10
    mov 32(%r11), %r8
    mov 40(%r11), %r9
    syscall
    ret
    .size PgSystemCall, . - PgSystemCall

    .section .note.GNU-stack, "", @progbits
