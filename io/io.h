/*
 * io.h - the I/O manager's public interface (Io). Today: the console
 * driver, whose handle every user process inherits, and the initial RAM
 * disk the image loader reads programs from, and the allocation of MDLs
 * (the rest of MDLs is Mm's: mm/mm.h). The I/O manager proper (driver
 * and device objects, IRPs) grows here.
 */
#ifndef PAGODA_IO_H
#define PAGODA_IO_H

#include "../kernel/ke.h"
#include "../ob/ob.h"
#include "../mm/mm.h"

/* ------------------------------------------------------------------------
 * The console (io/console.c, io/keyboard.c)
 * ------------------------------------------------------------------------ */

/* "Console": the object type of the console handle (stdin = stdout). */
extern POBJECT_TYPE IoConsoleObjectType;

/* Create the console object, its input event and DPC. Boot, PASSIVE_LEVEL,
 * before interrupts are enabled; bugchecks PHASE1_INITIALIZATION_FAILED
 * when the pool cannot hold the object. */
void IoInitializeConsole(void);

/* Turn on COM1's receive interrupt, so typed characters reach the console
 * ring through IoConsoleSerialInterrupt. Boot, interrupts disabled. */
void IoConsoleEnableSerialInput(void);

/* The interrupt service routines of COM1 (IRQL 4) and the PS/2 keyboard
 * (IRQL 5), called by the kernel's interrupt dispatcher: move the bytes
 * into the console ring and queue the console's DPC. */
void IoConsoleSerialInterrupt(void);
void IoConsoleKeyboardInterrupt(void);

/* Insert a handle to the console into Table (a new process's), with read
 * and write access; the value in *Handle. PASSIVE_LEVEL. */
NTSTATUS IoInsertConsoleHandle(PHANDLE_TABLE Table, PHANDLE Handle);

/* Wake every thread blocked in NtReadFile on the console, so that a thread
 * being terminated sees its Terminating flag. Any IRQL <= DISPATCH_LEVEL. */
void IoWakeConsoleReaders(void);

/* ------------------------------------------------------------------------
 * MDLs (io/mdl.c): the structure, the lock and the mapping are Mm's
 * (mm/mm.h, mm/mdl.c); the I/O manager allocates and frees them.
 * ------------------------------------------------------------------------ */
struct _IRP;

/* Pool tag of MDLs, as NT's: "Mdl ". */
#define IO_MDL_TAG POOL_TAG('M', 'd', 'l', ' ')
/* The largest buffer one MDL can describe: Size is a SHORT. */
#define IO_MDL_MAXIMUM_PAGES ((0x7FFF - sizeof(MDL)) / sizeof(PFN_NUMBER))

/*
 * IoAllocateMdl - allocate an MDL from nonpaged pool for the buffer
 * [VirtualAddress, VirtualAddress + Length) and fill its header
 * (MmInitializeMdl; MDL_ALLOCATED_FIXED_SIZE). Nothing is locked or
 * mapped: MmProbeAndLockPages or MmBuildMdlForNonPagedPool come next.
 * Returns NULL when the pool is short or the buffer spans more than
 * IO_MDL_MAXIMUM_PAGES pages. ChargeQuota is ignored (no quotas).
 * NOTE: Irp must be NULL for now: attaching the MDL to Irp->MdlAddress
 * (SecondaryBuffer: at the end of its chain) comes with the IRP.
 * IRQL <= DISPATCH_LEVEL. The caller frees it with IoFreeMdl.
 */
PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
                   BOOLEAN ChargeQuota, struct _IRP *Irp);

/* Free an MDL from IoAllocateMdl, which must be unlocked and unmapped
 * (MmUnlockPages, MmUnmapLockedPages) - freeing a locked one would leak
 * the lock (asserted). IRQL <= DISPATCH_LEVEL. */
void IoFreeMdl(PMDL Mdl);

/* ------------------------------------------------------------------------
 * The initial RAM disk (io/initrd.c)
 * ------------------------------------------------------------------------ */

/* Map the first multiboot2 module (the initrd) read-only and no-execute in
 * system space. Boot, PASSIVE_LEVEL; reports a mapping failure and goes on. */
void IoInitializeInitrd(void);

/* TRUE when GRUB loaded an initrd and it is mapped. */
BOOLEAN IoIsInitrdPresent(void);

/* Find the file Path ("/bin/sh" or "bin/sh") in the initrd: *Data points
 * into the mapping (read-only, never freed), *Size is its length.
 * STATUS_OBJECT_NAME_NOT_FOUND when it is not there, STATUS_NO_SUCH_FILE
 * when there is no initrd. Any IRQL <=
 * DISPATCH_LEVEL (the mapping is nonpaged). */
NTSTATUS IoFindInitrdFile(const char *Path, const UCHAR **Data, SIZE_T *Size);

#endif /* PAGODA_IO_H */
