/*
 * bugcodes.h - NT stop codes (the values of Windows' bugcodes.h) and the
 * routine that raises them. A stop code tells the reader which check failed;
 * the four parameters say where, as documented by Microsoft for each code.
 */
#ifndef PAGODA_BUGCODES_H
#define PAGODA_BUGCODES_H

#include "ntdef.h"

#define IRQL_NOT_GREATER_OR_EQUAL           0x00000009UL
#define IRQL_NOT_LESS_OR_EQUAL              0x0000000AUL
#define SPIN_LOCK_ALREADY_OWNED             0x0000000FUL
#define SPIN_LOCK_NOT_OWNED                 0x00000010UL
#define KMODE_EXCEPTION_NOT_HANDLED         0x0000001EUL
#define BAD_POOL_HEADER                     0x00000019UL
#define MEMORY_MANAGEMENT                   0x0000001AUL
#define PFN_LIST_CORRUPT                    0x0000004EUL
#define NO_PAGES_AVAILABLE                  0x0000004DUL
#define PAGE_FAULT_IN_NONPAGED_AREA         0x00000050UL
#define PROCESS_INITIALIZATION_FAILED       0x00000060UL
#define PHASE1_INITIALIZATION_FAILED        0x00000032UL
#define PHASE0_INITIALIZATION_FAILED        0x00000031UL
#define UNEXPECTED_KERNEL_MODE_TRAP         0x0000007FUL
#define NO_MORE_SYSTEM_PTES                 0x0000003FUL /* (type, pages asked, total, 0) */
#define PROCESS_HAS_LOCKED_PAGES            0x00000076UL /* (0, process, pages locked, 0) */
#define KERNEL_MODE_EXCEPTION_NOT_HANDLED   0x0000008EUL
#define MANUALLY_INITIATED_CRASH            0x000000E2UL
#define BAD_POOL_CALLER                     0x000000C2UL
#define DRIVER_IRQL_NOT_LESS_OR_EQUAL       0x000000D1UL
#define SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION 0x000000C1UL
#define DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL 0x000000D5UL
#define DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION 0x000000D6UL
#define ATTEMPTED_WRITE_TO_READONLY_MEMORY  0x000000BEUL
#define ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY 0x000000FCUL
#define KERNEL_STACK_INPAGE_ERROR           0x00000077UL
#define KERNEL_DATA_INPAGE_ERROR            0x0000007AUL
#define INVALID_PROCESS_ATTACH_ATTEMPT      0x00000005UL
#define APC_INDEX_MISMATCH                  0x00000001UL
#define THREAD_NOT_MUTEX_OWNER              0x00000011UL
#define REFERENCE_BY_POINTER                0x00000018UL /* (type, object, count before, handle count) */
#define NO_MORE_IRP_STACK_LOCATIONS         0x00000035UL /* (Irp) */
#define MULTIPLE_IRP_COMPLETE_REQUESTS      0x00000044UL /* (Irp) */
#define DRIVER_VERIFIER_IOMANAGER_VIOLATION 0x000000C9UL /* (violation, ...) */
#define DRIVER_VERIFIER_DETECTED_VIOLATION  0x000000C4UL /* (0x62, name, blocks, bytes) */
/* (address called, 0, the I/O manager's routine that called it, 0) */
#define DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS 0x000000CEUL
#define INVALID_DATA_ACCESS_TRAP            0x00000004UL
#define SYSTEM_SERVICE_EXCEPTION            0x0000003BUL
#define ATTEMPTED_SWITCH_FROM_DPC           0x000000B8UL
#define KERNEL_SECURITY_CHECK_FAILURE       0x00000139UL
#define ASSERTION_FAILURE                   0x0000DEADUL /* Pagoda's own: an ASSERT failed */
#define KTEST_REQUESTED_CRASH               0x0000DEAFUL /* Pagoda's own: a test asked for it */

/*
 * Stop the system: print the stop code with its name and parameters, the
 * registers, and a backtrace on the serial port and the screen, then power
 * off (QEMU exits with status 37, HalExitBugCheck; hal/power.c). Never returns.
 * Callable at any IRQL.
 */
__attribute__((noreturn)) void KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR Parameter1,
                                            ULONG_PTR Parameter2, ULONG_PTR Parameter3,
                                            ULONG_PTR Parameter4);

#endif /* PAGODA_BUGCODES_H */
