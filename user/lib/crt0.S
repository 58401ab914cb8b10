/*
 * crt0.S - where every user program starts.
 *
 * The kernel enters _start in ring 3 with RDI = its PROCESS_PARAMETERS
 * (include/ntapi.h) and RSP at the top of the initial thread's stack. We
 * clear the frame pointer (so backtraces end here), align the stack to
 * 16 bytes as the System V ABI wants at a call, and hand over to C
 * (PgStartup in user/lib/startup.c), which never returns.
 */
    .section .text.start, "ax"
    .globl _start
    .type _start, @function
_start:
    xor %ebp, %ebp
    and $-16, %rsp
    call PgStartup
    ud2
    .size _start, . - _start

    .section .note.GNU-stack, "", @progbits
