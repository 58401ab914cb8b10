/*
 * ldrp.h - private to the driver loader (io/ldr.c: the ELF image,
 * io/ldrsys.c: load, unload, the services and queries, io/ldrexp.c: the
 * kernel's export table and the pool-tracking thunks). docs/drivers.md.
 */
#ifndef PAGODA_LDRP_H
#define PAGODA_LDRP_H

#include "iop.h"

#define IOP_LDR_TAG POOL_TAG('L', 'd', 'r', ' ') /* module entries, section tables */
#define IOP_LDR_POOL_TAG POOL_TAG('L', 'd', 'r', 'P') /* one per live driver allocation */
#define IOP_LDR_MAX_NAME 32 /* "hello.sys" */

/* One allocation a loaded driver made through its pool thunks. */
typedef struct _IOP_LDR_POOL_RECORD {
    LIST_ENTRY Links; /* in the module's PoolAllocations */
    PVOID Block;
    SIZE_T Bytes;
    ULONG Tag;
    POOL_TYPE PoolType;
} IOP_LDR_POOL_RECORD;

/*
 * A loaded driver image (NT's KLDR_DATA_TABLE_ENTRY). In IopLoadedModuleList
 * from before DriverEntry runs (so a crash in it is symbolized) until the
 * image is unmapped.
 *
 * Locking: the list and each entry's fields are changed under IopLdrLock
 * (a spin lock) and at PASSIVE_LEVEL with IopLoadMutex held, which
 * serializes whole loads and unloads; the bugcheck path reads the list
 * without locks (nothing else runs then). PoolAllocations, PoolCount and
 * PoolBytes: the entry's PoolLock (any IRQL <= DISPATCH_LEVEL).
 */
typedef struct _IOP_LDR_MODULE {
    LIST_ENTRY InLoadOrderLinks;
    PUCHAR DllBase; /* the image: Pages pages of system PTEs */
    ULONG Pages;
    ULONG TextPages, ReadOnlyPages; /* text first, then read-only data, then data + bss */
    PUCHAR Thunks; /* the pool thunks, at the end of text */
    char BaseDllName[IOP_LDR_MAX_NAME]; /* "hello.sys" */
    const UCHAR *File; /* the ELF object in the initrd (never freed) */
    SIZE_T FileSize;
    ULONG64 *SectionAddress; /* per section header: where it was put, 0 if not loaded */
    ULONG SectionCount;
    PDRIVER_OBJECT DriverObject; /* referenced while loaded; NULL before DriverEntry */
    KSPIN_LOCK PoolLock;
    LIST_ENTRY PoolAllocations; /* IOP_LDR_POOL_RECORDs */
    ULONG PoolCount;
    SIZE_T PoolBytes;
    ULONG VerifiedImports; /* imports bound to Driver Verifier's routines (IRQL checking) */
} IOP_LDR_MODULE, *PIOP_LDR_MODULE;

extern LIST_ENTRY IopLoadedModuleList;
extern KSPIN_LOCK IopLdrLock;

/* Every driver object, through DRIVER_EXTENSION.DriverListEntry
 * (IopDatabaseLock; io/ldrsys.c). */
PLIST_ENTRY IopDriverListHead(void);

/* How an export is bound: straight to Address, or through a thunk made
 * for each driver that records the driver in a spare argument register. */
typedef enum _IOP_EXPORT_KIND {
    IopExportDirect,
    IopExportThunkRcx, /* 3-argument routine: the module goes in RCX */
    IopExportThunkRdx, /* 2 arguments: RDX */
    IopExportThunkRsi, /* 1 argument: RSI */
} IOP_EXPORT_KIND;

typedef struct _IOP_EXPORT {
    const char *Name;
    PVOID Address; /* the routine or variable; the tracker for thunks */
    IOP_EXPORT_KIND Kind;
    ULONG ThunkSlot; /* thunked: which of the image's IOP_MAX_THUNKS slots */
    PVOID Verified; /* direct: bound instead of Address under Driver Verifier's
                       * IRQL checking (kernel/vfirql.c); NULL for most */
} IOP_EXPORT;

/* The kernel's export table (io/ldrexp.c), sorted by nothing; the
 * thunked ones are the pool routines. */
extern const IOP_EXPORT IopExportTable[];
extern const ULONG IopExportCount;
/* Bytes of one thunk: mov imm64 to the spare register, mov imm64 to RAX,
 * jmp rax. */
#define IOP_THUNK_SIZE 32
#define IOP_MAX_THUNKS 4

/* The export called Name, or NULL. Any IRQL. */
const IOP_EXPORT *IopFindExport(const char *Name);
/* Write the thunk that calls Export->Address with Module in its spare
 * register at Code (IOP_THUNK_SIZE bytes, still writable). */
void IopWriteExportThunk(PUCHAR Code, const IOP_EXPORT *Export, PIOP_LDR_MODULE Module);

/*
 * Load the ELF relocatable object File (FileSize bytes, from the initrd)
 * into Module (zeroed, with BaseDllName, File and FileSize set): lay out
 * its SHF_ALLOC sections, copy them, resolve its symbols (undefined ones
 * against IopExportTable only), apply its relocations, set W^X, and
 * return DriverEntry in *Entry. On failure nothing is left mapped or
 * allocated. STATUS_INVALID_IMAGE_FORMAT (with a message saying what);
 * STATUS_DRIVER_ENTRYPOINT_NOT_FOUND for an import the kernel does not
 * export (the message names it) or no DriverEntry;
 * STATUS_INSUFFICIENT_RESOURCES. PASSIVE_LEVEL (io/ldr.c).
 */
MUST_INSPECT_RESULT NTSTATUS IopMapDriverImage(PIOP_LDR_MODULE Module, PDRIVER_INITIALIZE *Entry);

/* Undo IopMapDriverImage. PASSIVE_LEVEL. */
void IopUnmapDriverImage(PIOP_LDR_MODULE Module);

/* Print the gdb command that loads the image's symbols at its addresses
 * (io/ldr.c). */
void IopPrintSymbolCommand(PIOP_LDR_MODULE Module);

/* The function or variable of Module's symbol table containing Address:
 * its name (in the initrd) and *Offset; NULL when none. Any IRQL, no lock
 * (io/ldr.c). */
const char *IopLookupModuleSymbol(PIOP_LDR_MODULE Module, ULONG_PTR Address, ULONG_PTR *Offset);

#endif /* PAGODA_LDRP_H */
