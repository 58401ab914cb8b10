/*
 * ke.h - the kernel's public interface (Ke, Dbg, and the boot information
 * the rest of the system reads). Other components include this header and
 * nothing else from kernel/.
 */
#ifndef PAGODA_KE_H
#define PAGODA_KE_H

#include "../include/ntdef.h"
#include "../include/ntstatus.h"
#include "../include/bugcodes.h"
#include "../include/loader.h"

/* ------------------------------------------------------------------------
 * Boot information (kernel/init.c)
 * ------------------------------------------------------------------------ */

/* What GRUB told us, parsed and copied at the start of KiSystemStartup. */
extern LOADER_PARAMETER_BLOCK KeLoaderBlock;
/* The decoded kernel command line. */
extern BOOT_OPTIONS KeBootOptions;

/* Processor features found by kernel/cpu.c (NT keeps the same variable). */
extern ULONG KeFeatureBits;
#define KF_SMEP  0x1            /* CR4.SMEP set: the kernel cannot execute user pages */
#define KF_SMAP  0x2            /* CR4.SMAP set: the kernel cannot touch user pages outside stac/clac */
#define KF_PGE   0x4            /* CR4.PGE set: global pages */

/* ------------------------------------------------------------------------
 * Debug output (kernel/dbgprint.c)
 * ------------------------------------------------------------------------ */

/*
 * Format (rtl/rtl.h conversions) and write to the serial port and the VGA
 * screen. Returns STATUS_SUCCESS. Callable at any IRQL; never blocks.
 */
ULONG DbgPrint(const char *Format, ...) __attribute__((format(printf, 1, 2)));
ULONG vDbgPrint(const char *Format, va_list Args);

/* Informational boot output, suppressed by the "quiet" command-line key. */
#define KdPrintBoot(...)                                                   \
    do {                                                                   \
        if (!KeBootOptions.Quiet)                                          \
            DbgPrint(__VA_ARGS__);                                         \
    } while (0)

/* Point the VGA console at a new mapping of the text buffer (the memory
 * manager moves it from the identity map to system space). */
void KeSetVgaTextBuffer(PVOID TextBuffer);

/* Read one character from the serial port; -1 when none is waiting. */
int KdPollChar(void);

/* ------------------------------------------------------------------------
 * Assertions and bugchecks (kernel/bugcheck.c)
 * ------------------------------------------------------------------------ */

__attribute__((noreturn)) void KiAssertionFailed(const char *Expression, const char *File,
                                                 int Line);

/* ASSERT checks preconditions (IRQL, locks, alignment); a failure is a
 * bugcheck naming the expression. Kept in every build: this is a teaching
 * kernel and a broken invariant should stop it where it broke. */
#define ASSERT(expr)                                                        \
    do {                                                                    \
        if (!(expr))                                                        \
            KiAssertionFailed(#expr, __FILE__, __LINE__);                   \
    } while (0)

/* The name of a stop code ("PAGE_FAULT_IN_NONPAGED_AREA"), or NULL. */
const char *KeBugCheckName(ULONG BugCheckCode);

/* ------------------------------------------------------------------------
 * Power (kernel/power.c)
 * ------------------------------------------------------------------------ */

/* Exit codes written to QEMU's isa-debug-exit port; QEMU exits with
 * (code << 1) | 1, shown in parentheses. */
typedef enum _KE_EXIT_CODE {
    KeExitSuccess = 0x10,       /* (33) normal shutdown, all tests passed */
    KeExitTestsFailed = 0x11,   /* (35) at least one ktest failed */
    KeExitBugCheck = 0x12,      /* (37) the system stopped with a bugcheck */
    KeExitCannotBoot = 0x13,    /* (39) this machine cannot run Pagoda */
} KE_EXIT_CODE;

/* Power the machine off; in QEMU the exit status tells Code. Never returns:
 * without the debug-exit device (or ACPI power-off), it halts for ever. */
__attribute__((noreturn)) void KePowerOff(KE_EXIT_CODE Code);

/* ------------------------------------------------------------------------
 * Symbols (kernel/symbols.c)
 * ------------------------------------------------------------------------ */

/* Find the kernel symbol containing Address. Returns its name and sets
 * *Offset, or returns NULL. The table is built into the image. */
const char *KeLookupSymbol(ULONG_PTR Address, ULONG_PTR *Offset);

/* Print "name+0xoff" (or the bare address) for Address. */
void KePrintSymbol(ULONG_PTR Address);

#endif /* PAGODA_KE_H */
