/*
 * ob.h - the object manager's public interface (Ob): object types,
 * reference-counted objects with a header in front of the body, and handle
 * tables that turn small integers into referenced object pointers.
 *
 *   HANDLE 0x0C
 *     |  index = 0x0C / 4 - 1 = 2
 *     |
 *     |    HANDLE_TABLE (one per process)     Segments[0]: entries 0-31
 *     |    +----------------------+           +--------+---------------+------------+
 *     |    | Segments[0] ---------+-----> [0]  | Object | GrantedAccess | Attributes |
 *     |    | Segments[1] (32-95)  |      [1]  | NULL   | (free slot)   |            |
 *     +----| ...                  |-----> [2]  | Object | 0x001F0003    | OBJ_INHERIT|
 *          | Lock, Capacity, ...  |           +---|----+---------------+------------+
 *          +----------------------+               |  (bit 0 of Object: the entry's lock)
 *                                                 |
 *   one pool block (tag = the type's, e.g. 'Even')|
 *   +0x00 OBJECT_HEADER  PointerCount             |     references, one per handle too
 *   +0x08                HandleCount              |     handles open, in all tables
 *   +0x10                Type ------------------------> OBJECT_TYPE "Event":
 *   +0x18                BodySize, Flags          |       DeleteProcedure, counters
 *   +0x20                NameInfo ----------------|---> its name and directory, if
 *   +0x30 body  <---------------------------------+     named (ob/obdir.c)
 *         (what ObCreateObject returns and every Ob routine takes)
 *
 * An object lives while PointerCount > 0. Every handle holds one reference
 * (so PointerCount >= HandleCount always); kernel code that keeps a pointer
 * holds its own with ObReferenceObject. When the count reaches zero the
 * type's DeleteProcedure runs on the body and the block goes back to pool.
 *
 * Handle values are (index + 1) * 4: 4, 8, 12, ... 0 is never a handle.
 * Kernel handles (OBJ_KERNEL_HANDLE) carry KERNEL_HANDLE_MASK, live in
 * ObpKernelHandleTable and are refused to UserMode callers, as on NT.
 *
 * Locking and IRQL: each handle table has a spin lock that covers its
 * inserts, closes, growth and counters; nothing is allocated, freed or
 * deleted while it is held (growth allocates a new segment first and adds
 * it under the lock; segments never move). A handle look-up takes no table
 * lock: it locks the one entry (bit 0 of its Object) for a few
 * instructions with interrupts off (ob/obhandle.c). Reference counts are
 * atomic. Every routine here may be called
 * at IRQL <= DISPATCH_LEVEL; objects and tables live in nonpaged pool. A
 * DeleteProcedure runs at the IRQL of whoever dropped the last reference.
 */
#ifndef PAGODA_OB_H
#define PAGODA_OB_H

#include "../kernel/ke.h"

/* ------------------------------------------------------------------------
 * Handle attributes and options (values of Windows' ntdef.h / winnt.h)
 * ------------------------------------------------------------------------ */
/* OBJ_INHERIT, OBJ_KERNEL_HANDLE and the other OBJ_* attributes are in
 * include/ntdef.h, which user mode shares. */
#ifndef DUPLICATE_CLOSE_SOURCE
#define DUPLICATE_CLOSE_SOURCE    0x00000001
#define DUPLICATE_SAME_ACCESS     0x00000002
#define DUPLICATE_SAME_ATTRIBUTES 0x00000004
#endif

/* Kernel handles have the top 33 bits set (NT's KERNEL_HANDLE_MASK on
 * x64), so they are negative and never collide with a process's handles. */
#define KERNEL_HANDLE_MASK      ((ULONG_PTR)0xFFFFFFFF80000000ULL)

/* NtCurrentProcess() (-1) and NtCurrentThread() (-2): not entries of any
 * table, they name the caller's own process and thread. */
static inline BOOLEAN ObIsPseudoHandle(HANDLE Handle)
{
    return Handle == (HANDLE)(LONG_PTR)-1 || Handle == (HANDLE)(LONG_PTR)-2;
}

/* A handle of the kernel handle table (KERNEL_HANDLE_MASK set). */
static inline BOOLEAN ObIsKernelHandle(HANDLE Handle)
{
    return ((ULONG_PTR)Handle & KERNEL_HANDLE_MASK) == KERNEL_HANDLE_MASK;
}

/* Pool tag of handle tables and their entry arrays (NT's "Obtb"). Objects
 * use their type's tag, OBJECT_TYPE.PoolTag. */
#define OB_HANDLE_TABLE_TAG     POOL_TAG('O', 'b', 't', 'b')

/* A new table has room for this many handles; when full it grows by a
 * segment twice the size of the last (32 -> 96 -> 224 -> ...) while it is
 * below the maximum (NT's limit, 2^24), which keeps handle values below
 * 2^31. */
#define OB_HANDLE_TABLE_INITIAL_ENTRIES 32
#define OB_HANDLE_TABLE_MAXIMUM_ENTRIES (1UL << 24)

/* The low two bits of a handle value: ignored on look-up, as in NT, so
 * applications may tag handles with them. */
#define OB_HANDLE_TAG_BITS ((ULONG_PTR)3)
#define OB_HANDLE_TO_INDEX(Handle) (((ULONG_PTR)(Handle) >> 2) - 1)
#define OB_INDEX_TO_HANDLE(Index)  ((HANDLE)(((ULONG_PTR)(Index) + 1) << 2))

/* ------------------------------------------------------------------------
 * Object types
 * ------------------------------------------------------------------------ */

/* Called once, when the last reference goes, before the block is freed:
 * release what the body owns (not the body itself). Runs at the IRQL of
 * the last ObDereferenceObject, with no Ob lock held. */
typedef void (*OB_DELETE_METHOD)(PVOID Object);

/* Called each time a handle to an object of the type is closed, after the
 * handle count dropped to HandleCount and before the handle's reference
 * goes (NT's CloseProcedure; the I/O manager sends IRP_MJ_CLEANUP when it
 * reaches 0). Runs at the IRQL of the close, with no Ob lock held. */
typedef void (*OB_CLOSE_METHOD)(PVOID Object, LONG_PTR HandleCount);

typedef struct _OBJECT_TYPE {
    LIST_ENTRY TypeListEntry;       /* ObpTypeListLock: every type, for the shell */
    const char *Name;               /* "Process", "Thread", "Event", ... */
    ULONG PoolTag;                  /* first four characters of Name */
    BOOLEAN Initialized;
    OB_DELETE_METHOD DeleteProcedure; /* may be NULL */
    OB_CLOSE_METHOD CloseProcedure; /* may be NULL; set after ObInitializeObjectType */
    /* NT's DefaultObject: where in a body the dispatcher object lies that
     * NtWaitForSingleObject / NtWaitForMultipleObjects wait on for a handle
     * of this type (File: FILE_OBJECT.Event); 0 for the types whose body
     * is one (events, processes, ...) or that are not waitable. Set after
     * ObInitializeObjectType. */
    ULONG DefaultObject;
    /* Atomic counters (what WinDbg's !object \ObjectTypes shows). */
    volatile LONG TotalNumberOfObjects;
    volatile LONG TotalNumberOfHandles;
    volatile LONG HighWaterNumberOfObjects;
    volatile LONG HighWaterNumberOfHandles;
} OBJECT_TYPE, *POBJECT_TYPE;

/* ------------------------------------------------------------------------
 * The object header: in front of every body, in the same pool block.
 * ------------------------------------------------------------------------ */
struct _OBJECT_HEADER_NAME_INFO;

typedef struct _OBJECT_HEADER {
    volatile LONG_PTR PointerCount; /* atomic: references, handles included */
    volatile LONG_PTR HandleCount;  /* atomic: handles open on it, all tables */
    POBJECT_TYPE Type;              /* set at creation, never changes */
    ULONG BodySize;                 /* bytes asked of ObCreateObject */
    ULONG Flags;                    /* ObpNamespaceLock: OB_FLAG_* */
    struct _OBJECT_HEADER_NAME_INFO *NameInfo; /* ObpNamespaceLock: its name, or NULL */
    UCHAR Body[] __attribute__((aligned(16))); /* the object itself */
} OBJECT_HEADER, *POBJECT_HEADER;

/* OBJECT_HEADER.Flags */
#define OB_FLAG_PERMANENT 0x1       /* OBJ_PERMANENT: the namespace holds a reference */
#define OB_FLAG_KERNEL_PERMANENT 0x2 /* ... asked in kernel mode: user mode cannot undo it */

STATIC_ASSERT(offsetof(OBJECT_HEADER, PointerCount) == 0x00);
STATIC_ASSERT(offsetof(OBJECT_HEADER, HandleCount) == 0x08);
STATIC_ASSERT(offsetof(OBJECT_HEADER, Type) == 0x10);
STATIC_ASSERT(offsetof(OBJECT_HEADER, NameInfo) == 0x20);
STATIC_ASSERT(offsetof(OBJECT_HEADER, Body) == 0x30);
STATIC_ASSERT(offsetof(OBJECT_HEADER, Body) % 16 == 0);

#define OBJECT_TO_OBJECT_HEADER(Object) CONTAINING_RECORD((Object), OBJECT_HEADER, Body)
#define OBJECT_HEADER_TO_BODY(Header)   ((PVOID)(Header)->Body)

/* ------------------------------------------------------------------------
 * Handle tables
 * ------------------------------------------------------------------------ */
typedef struct _HANDLE_TABLE_ENTRY {
    PVOID Object; /* the body; NULL: free slot; bit 0: the entry's lock */
    ACCESS_MASK GrantedAccess;
    ULONG Attributes;               /* OBJ_INHERIT */
} HANDLE_TABLE_ENTRY, *PHANDLE_TABLE_ENTRY;
STATIC_ASSERT(sizeof(HANDLE_TABLE_ENTRY) == 16);

/* Bit 0 of HANDLE_TABLE_ENTRY.Object (bodies are 16-byte aligned): set
 * while a look-up references the entry's object or a close or a
 * duplicate rewrites the entry. */
#define OB_HANDLE_ENTRY_LOCK ((ULONG_PTR)1)

/* Segment k holds the entries [32 * (2^k - 1), 32 * (2^(k+1) - 1)): 32,
 * 64, 128, ... entries, so a table of n segments has 32 * (2^n - 1). A
 * segment, once added, stays where it is until the table is destroyed:
 * a look-up without the table lock never reads a moved or freed entry.
 * 20 segments pass NT's limit of 2^24 handles. */
#define OB_HANDLE_TABLE_SEGMENTS 20

typedef struct _HANDLE_TABLE {
    KSPIN_LOCK Lock; /* inserts, closes, growth: every field below */
    PHANDLE_TABLE_ENTRY Segments[OB_HANDLE_TABLE_SEGMENTS]; /* Lock to add; never move */
    ULONG Capacity; /* Lock to write (after the segment); read lock-free */
    ULONG SegmentCount; /* Lock: segments present */
    ULONG HandleCount;              /* Lock: entries in use */
    ULONG FreeHint;                 /* Lock: no free entry has a lower index */
    ULONG HighWaterHandleCount;     /* Lock: the most handles ever open at once */
} HANDLE_TABLE, *PHANDLE_TABLE;

/* What a handle grants, as ObReferenceObjectByHandle reports it (DDK). */
typedef struct _OBJECT_HANDLE_INFORMATION {
    ULONG HandleAttributes;
    ACCESS_MASK GrantedAccess;
} OBJECT_HANDLE_INFORMATION, *POBJECT_HANDLE_INFORMATION;

/* ------------------------------------------------------------------------
 * Types and objects (ob/obref.c)
 * ------------------------------------------------------------------------ */

/*
 * Initialize a type in caller-provided storage that lives for ever (types
 * are never deleted) and add it to the list ObEnumerateObjectTypes walks.
 * Name must outlive it too; its first four characters become the pool tag
 * of the type's objects. Call once per type. IRQL <= DISPATCH_LEVEL.
 */
void ObInitializeObjectType(POBJECT_TYPE Type, const char *Name, OB_DELETE_METHOD DeleteProcedure);

/*
 * Allocate an object of Type with BodySize bytes of zeroed body from
 * nonpaged pool. On success *Object is the body, PointerCount 1 (the
 * caller's reference, dropped with ObDereferenceObject), HandleCount 0.
 * Returns STATUS_INSUFFICIENT_RESOURCES when pool is exhausted.
 * IRQL <= DISPATCH_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS
ObCreateObject(POBJECT_TYPE Type, ULONG BodySize, PVOID *Object);

/*
 * Take one more reference on a live object; returns the new count.
 * Referencing an object whose count is already 0 (being deleted, or
 * freed) is bugcheck REFERENCE_BY_POINTER. Any IRQL <= DISPATCH_LEVEL.
 */
static inline LONG_PTR ObReferenceObject(PVOID Object);

/*
 * Drop one reference; returns the new count. At 0 the type's
 * DeleteProcedure runs (at the caller's IRQL, no Ob lock held) and the
 * block is freed, so the caller must not touch Object afterwards. Dropping
 * below zero, or to zero while handles are still open, is bugcheck
 * REFERENCE_BY_POINTER (type, object, count before, handle count). (A
 * drop below the handle count that leaves the count above zero cannot be
 * caught: reading the handle count then would race with the free.)
 * IRQL <= DISPATCH_LEVEL.
 */
static inline LONG_PTR ObDereferenceObject(PVOID Object);

/*
 * The two above are inline: one atomic add and a test on the way that
 * every system call taking a handle goes through. What is rare - a
 * reference-counting bug (the bugcheck) and the last reference (the
 * delete) - is out of line in ob/obref.c.
 */
__attribute__((noreturn)) void ObpBadReferenceCount(POBJECT_HEADER Header, LONG_PTR CountBefore);
LONG_PTR ObpDereferenceObjectSlow(POBJECT_HEADER Header, LONG_PTR Count);

static inline LONG_PTR ObReferenceObject(PVOID Object)
{
    POBJECT_HEADER Header = OBJECT_TO_OBJECT_HEADER(Object);
    LONG_PTR Count = __atomic_add_fetch(&Header->PointerCount, 1, __ATOMIC_SEQ_CST);
    /* From 0 up means the object is being deleted or already freed:
     * whoever holds this pointer has not held a reference on it. */
    if (__builtin_expect(Count <= 1, 0))
        ObpBadReferenceCount(Header, Count - 1);
    return Count;
}

static inline LONG_PTR ObDereferenceObject(PVOID Object)
{
    POBJECT_HEADER Header = OBJECT_TO_OBJECT_HEADER(Object);
    LONG_PTR Count = __atomic_sub_fetch(&Header->PointerCount, 1, __ATOMIC_SEQ_CST);
    /* Zero: delete. Below zero: a bug. Nothing else in the header may be
     * read here: while Count > 0 another holder may drop the last
     * reference and free the block the moment after our decrement. */
    if (__builtin_expect(Count <= 0, 0))
        return ObpDereferenceObjectSlow(Header, Count);
    return Count;
}

/*
 * Reference Object after checking its type (ObjectType NULL: any).
 * Returns STATUS_OBJECT_TYPE_MISMATCH without a reference on a mismatch.
 * DesiredAccess and AccessMode are accepted for the DDK signature; there
 * is no security descriptor to check them against. IRQL <= DISPATCH_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS
ObReferenceObjectByPointer(PVOID Object, ACCESS_MASK DesiredAccess,
                           POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode);

/* The type of an object, and its counts (a snapshot: for the shell and
 * tests, never for decisions). */
static inline POBJECT_TYPE ObGetObjectType(PVOID Object)
{
    return OBJECT_TO_OBJECT_HEADER(Object)->Type;
}
LONG_PTR ObQueryPointerCount(PVOID Object);
LONG_PTR ObQueryHandleCount(PVOID Object);

/* Call Callback(Type, Context) for every initialized type, in the order
 * they were initialized, with the type list lock held (DISPATCH_LEVEL):
 * the callback must not initialize types or block. */
typedef void (*OB_ENUM_TYPE_ROUTINE)(POBJECT_TYPE Type, PVOID Context);
void ObEnumerateObjectTypes(OB_ENUM_TYPE_ROUTINE Callback, PVOID Context);

/* ------------------------------------------------------------------------
 * Handle tables, explicitly named (ob/obhandle.c). The process manager owns
 * one per process; tests use private ones.
 * ------------------------------------------------------------------------ */

/*
 * Allocate an empty table (OB_HANDLE_TABLE_INITIAL_ENTRIES slots, grows on
 * demand). The caller frees it with ObDestroyHandleTable.
 * Returns STATUS_INSUFFICIENT_RESOURCES. IRQL <= DISPATCH_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS
ObCreateHandleTable(PHANDLE_TABLE *Table);

/*
 * Close every handle still open in Table (each drops its reference, which
 * may delete objects) and free the table. Nobody may use Table during or
 * after the call. IRQL <= DISPATCH_LEVEL.
 */
void ObDestroyHandleTable(PHANDLE_TABLE Table);

/*
 * Make a new handle in Table for Object with GrantedAccess and Attributes
 * (OBJ_INHERIT or 0; anything else is STATUS_INVALID_PARAMETER). The
 * handle takes its own reference: the caller keeps the one it had. The
 * lowest free slot is used; a full table grows by a segment, and past
 * OB_HANDLE_TABLE_MAXIMUM_ENTRIES, or out of pool, the result is
 * STATUS_INSUFFICIENT_RESOURCES with nothing changed.
 * IRQL <= DISPATCH_LEVEL; Table's lock must not be held.
 */
MUST_INSPECT_RESULT NTSTATUS
ObInsertHandle(PHANDLE_TABLE Table, PVOID Object, ACCESS_MASK GrantedAccess,
               ULONG Attributes, PHANDLE Handle);

/*
 * Look Handle up in Table and return its object with a new reference in
 * *Object (the caller drops it with ObDereferenceObject). ObjectType NULL
 * accepts any type. Returns STATUS_INVALID_HANDLE (0, not a multiple of
 * 4, beyond the table, or a free slot) or STATUS_OBJECT_TYPE_MISMATCH,
 * with *Object = NULL. HandleInformation, if not NULL, receives the
 * entry's access and attributes. Takes no table lock (the entry's own,
 * with interrupts off). IRQL <= DISPATCH_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS
ObReferenceObjectByHandleInTable(PHANDLE_TABLE Table, HANDLE Handle,
                                 POBJECT_TYPE ObjectType, PVOID *Object);
MUST_INSPECT_RESULT NTSTATUS
ObReferenceObjectByHandleInTableEx(PHANDLE_TABLE Table, HANDLE Handle,
                                   POBJECT_TYPE ObjectType, PVOID *Object,
                                   POBJECT_HANDLE_INFORMATION HandleInformation);

/*
 * Free Handle's slot and drop its reference (which may delete the object).
 * Returns STATUS_SUCCESS or STATUS_INVALID_HANDLE. IRQL <= DISPATCH_LEVEL.
 */
NTSTATUS ObCloseHandleInTable(PHANDLE_TABLE Table, HANDLE Handle);

/*
 * Make a handle in TargetTable for the object SourceHandle names in
 * SourceTable (the two tables may be the same). Options:
 *   DUPLICATE_SAME_ACCESS      grant the source's access (DesiredAccess ignored)
 *   DUPLICATE_SAME_ATTRIBUTES  copy the source's attributes (HandleAttributes ignored)
 *   DUPLICATE_CLOSE_SOURCE     close SourceHandle, whether or not the
 *                              duplicate could be made (NT's rule);
 *                              TargetTable may then be NULL: close only.
 *                              Into the same table the copy takes the
 *                              source's slot: *TargetHandle == SourceHandle
 *                              (tag bits cleared), as NT returns it
 * Without DUPLICATE_SAME_ACCESS, DesiredAccess must be a subset of the
 * source's access (STATUS_ACCESS_DENIED): with no security descriptors,
 * duplication must never widen access. Returns the statuses of
 * ObReferenceObjectByHandleInTable and ObInsertHandle, or
 * STATUS_INVALID_PARAMETER for unknown options or attributes.
 * IRQL <= DISPATCH_LEVEL; neither table's lock held.
 */
MUST_INSPECT_RESULT NTSTATUS
ObDuplicateHandle(PHANDLE_TABLE SourceTable, HANDLE SourceHandle,
                  PHANDLE_TABLE TargetTable, ACCESS_MASK DesiredAccess,
                  ULONG HandleAttributes, ULONG Options, PHANDLE TargetHandle);

/*
 * Create *Child holding, at the same handle values, every handle of Parent
 * marked OBJ_INHERIT (each with its own reference); the others are free
 * slots in the child. This is what process creation with
 * InheritHandles = TRUE does. Returns STATUS_INSUFFICIENT_RESOURCES.
 * IRQL <= DISPATCH_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS
ObInheritHandleTable(PHANDLE_TABLE Parent, PHANDLE_TABLE *Child);

/*
 * Call Callback(Handle, Entry, Context) for each open handle of Table in
 * increasing order, until it returns TRUE (stop, as NT's
 * ExEnumHandleTable). Entry is a copy, and the object holds an extra
 * reference for the call, so the callback runs without the table lock and
 * may use the table (handles it opens or closes meanwhile may or may not
 * be visited). Returns TRUE when the callback stopped the walk.
 * IRQL <= DISPATCH_LEVEL.
 */
typedef BOOLEAN (*OB_ENUM_HANDLE_ROUTINE)(HANDLE Handle, const HANDLE_TABLE_ENTRY *Entry,
                                          PVOID Context);
BOOLEAN ObEnumerateHandleTable(PHANDLE_TABLE Table, OB_ENUM_HANDLE_ROUTINE Callback,
                               PVOID Context);

/* ------------------------------------------------------------------------
 * The NT-named routines on the current process's handles (ob/obhandle.c).
 * ------------------------------------------------------------------------ */

/* The current process's handle table, or NULL once the process has torn
 * it down. Implemented by the process manager (ps/psmgr.c). */
PHANDLE_TABLE ObpGetCurrentHandleTable(void);

/* The table OBJ_KERNEL_HANDLE handles go to: the System process's, set by
 * the process manager when it creates it. While NULL, kernel handles go to
 * the current table (still tagged with KERNEL_HANDLE_MASK). */
extern PHANDLE_TABLE ObpKernelHandleTable;

/*
 * DDK: reference the object Handle names in the current process (or the
 * kernel table for a kernel handle from KernelMode). For UserMode callers,
 * DesiredAccess must be granted by the handle (STATUS_ACCESS_DENIED) and
 * kernel handles are STATUS_INVALID_HANDLE; KernelMode skips the access
 * check. Other results as ObReferenceObjectByHandleInTable.
 * NOTE: the pseudo handles NtCurrentProcess() (-1) and NtCurrentThread()
 * (-2) are STATUS_INVALID_HANDLE here: PsReferenceProcessByHandle and
 * PsReferenceThreadByHandle (ps/ps.h) resolve them before calling this.
 * IRQL <= DISPATCH_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS
ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                          POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                          PVOID *Object,
                          POBJECT_HANDLE_INFORMATION HandleInformation);

/*
 * Open a handle to Object (on which the caller holds a reference, and
 * keeps it) in the current process's table, or the kernel table when
 * HandleAttributes has OBJ_KERNEL_HANDLE and AccessMode is KernelMode
 * (from UserMode the flag is ignored, as on NT). HandleAttributes:
 * OBJ_INHERIT | OBJ_KERNEL_HANDLE, else STATUS_INVALID_PARAMETER; a wrong
 * ObjectType (non-NULL) is STATUS_OBJECT_TYPE_MISMATCH; a process without
 * a table is STATUS_PROCESS_IS_TERMINATING. IRQL <= DISPATCH_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS
ObOpenObjectByPointer(PVOID Object, ULONG HandleAttributes, ACCESS_MASK DesiredAccess,
                      POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                      PHANDLE Handle);

/*
 * Close Handle in the current process (or the kernel table, for a kernel
 * handle from KernelMode). STATUS_SUCCESS or STATUS_INVALID_HANDLE. ZwClose
 * is ObCloseHandle(Handle, KernelMode); NtClose will pass UserMode.
 * IRQL <= DISPATCH_LEVEL.
 */
NTSTATUS ObCloseHandle(HANDLE Handle, KPROCESSOR_MODE PreviousMode);
NTSTATUS ZwClose(HANDLE Handle);

/* ------------------------------------------------------------------------
 * The object namespace (ob/obdir.c, ob/obname.c, ob/oblink.c)
 *
 *   \                       Directory
 *   +-- ObjectTypes         Directory: one "Type" object per object type
 *   +-- Device              Directory: device objects (the I/O manager's)
 *   +-- BaseNamedObjects    Directory: named events, mutants, semaphores
 *   +-- ??                  Directory: symbolic links (DOS device names)
 *
 * A name is an OBJECT_HEADER_NAME_INFO hanging off the header: the
 * component's characters, the directory that holds it, and the link of
 * that directory's hash chain. The directory holds no reference on the
 * objects it names; each name holds one on its directory, so a directory
 * lives while anything is named in it. A name goes away when the object's
 * last handle closes (ObpDeleteNameCheck), unless the object is permanent
 * (OBJ_PERMANENT: then the namespace holds a reference of its own, until
 * ObMakeTemporaryObject). The object itself lives while it has references.
 *
 * Locking: one spin lock, ObpNamespaceLock, covers every directory, every
 * NameInfo pointer and OB_FLAG_PERMANENT. A look-up holds it from the first
 * component to the new handle, so no close can take a name away between
 * the look-up and the open. Only nonpaged pool is allocated under it.
 * ------------------------------------------------------------------------ */

/* Directory access rights (winnt.h / ntddk); also in include/ntapi.h. */
#ifndef DIRECTORY_QUERY
#define DIRECTORY_QUERY               0x0001
#define DIRECTORY_TRAVERSE            0x0002
#define DIRECTORY_CREATE_OBJECT       0x0004
#define DIRECTORY_CREATE_SUBDIRECTORY 0x0008
#define DIRECTORY_ALL_ACCESS          (STANDARD_RIGHTS_REQUIRED | 0xF)
#define SYMBOLIC_LINK_QUERY           0x0001
#define SYMBOLIC_LINK_ALL_ACCESS      (STANDARD_RIGHTS_REQUIRED | 0x1)
#endif

/* NT's hash width: 37 chains per directory. */
#define OB_DIRECTORY_BUCKETS 37

/* Pool tag of names ("ObNm"); directories, links and type objects carry
 * their type's tag ("Dire", "Symb", "Type"). */
#define OB_NAME_TAG POOL_TAG('O', 'b', 'N', 'm')

/* Names are captured from user mode up to this many bytes (Pagoda's limit;
 * NT's is the 65534 a UNICODE_STRING can hold): longer is
 * STATUS_NAME_TOO_LONG. */
#define OB_MAXIMUM_NAME_LENGTH 512

typedef struct _OBJECT_DIRECTORY *POBJECT_DIRECTORY;

typedef struct _OBJECT_HEADER_NAME_INFO {
    struct _OBJECT_HEADER_NAME_INFO *ChainLink; /* ObpNamespaceLock: next in the bucket */
    POBJECT_DIRECTORY Directory;    /* holds a reference on it */
    PVOID Object;                   /* the body this names */
    UNICODE_STRING Name;            /* one component, no backslash; Buffer = NameBuffer */
    WCHAR NameBuffer[];
} OBJECT_HEADER_NAME_INFO, *POBJECT_HEADER_NAME_INFO;

typedef struct _OBJECT_DIRECTORY {
    POBJECT_HEADER_NAME_INFO HashBuckets[OB_DIRECTORY_BUCKETS]; /* ObpNamespaceLock */
    ULONG EntryCount;               /* ObpNamespaceLock */
} OBJECT_DIRECTORY;

typedef struct _OBJECT_SYMBOLIC_LINK {
    UNICODE_STRING LinkTarget;      /* a full path; Buffer = TargetBuffer */
    WCHAR TargetBuffer[];
} OBJECT_SYMBOLIC_LINK, *POBJECT_SYMBOLIC_LINK;

/* A "Type" object, in \ObjectTypes: one per OBJECT_TYPE. */
typedef struct _OBJECT_TYPE_OBJECT {
    POBJECT_TYPE Type;
} OBJECT_TYPE_OBJECT;

extern POBJECT_TYPE ObDirectoryObjectType;      /* "Directory" */
extern POBJECT_TYPE ObSymbolicLinkObjectType;   /* "SymbolicLink" */
extern POBJECT_TYPE ObTypeObjectType; /* "Type" */

/*
 * Build the namespace at boot: the Directory, SymbolicLink and Type types,
 * the directories of the picture above (permanent), and a Type object in
 * \ObjectTypes for each type initialized so far (later ones add their own
 * in ObInitializeObjectType). Call once, after the pools exist.
 * Returns STATUS_INSUFFICIENT_RESOURCES. PASSIVE_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS ObInitSystem(void);

/*
 * Object attributes as a service captured them (ObCaptureObjectAttributes):
 * every pointer is kernel memory (the name's characters in pool from
 * OB_NAME_TAG when they came from user mode), RootDirectory still a handle.
 */
typedef struct _OB_CAPTURED_ATTRIBUTES {
    OBJECT_ATTRIBUTES Attributes;   /* .ObjectName = &Name, or NULL */
    UNICODE_STRING Name;
    BOOLEAN NameInPool;             /* Name.Buffer is ours to free */
} OB_CAPTURED_ATTRIBUTES, *POB_CAPTURED_ATTRIBUTES;

/*
 * Copy *ObjectAttributes (a user pointer when Mode is UserMode; NULL
 * allowed, meaning no name and no attributes) and its name into *Captured.
 * Returns STATUS_ACCESS_VIOLATION (bad pointers), STATUS_INVALID_PARAMETER
 * (Length not sizeof(OBJECT_ATTRIBUTES), unknown OBJ_* bits),
 * STATUS_OBJECT_NAME_INVALID (odd Length, Length > MaximumLength),
 * STATUS_NAME_TOO_LONG (past OB_MAXIMUM_NAME_LENGTH),
 * STATUS_INSUFFICIENT_RESOURCES; on failure nothing needs releasing. On
 * success the caller calls ObReleaseObjectAttributes. Kernel-mode names
 * are used in place (not copied). PASSIVE_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS ObCaptureObjectAttributes(POBJECT_ATTRIBUTES ObjectAttributes, KPROCESSOR_MODE Mode,
                                    POB_CAPTURED_ATTRIBUTES Captured);
void ObReleaseObjectAttributes(POB_CAPTURED_ATTRIBUTES Captured);

/*
 * Give the new Object (from ObCreateObject; the caller's reference is
 * consumed, whatever happens) the name in ObjectAttributes, if any, and a
 * handle with DesiredAccess in the current process (or the kernel table,
 * for OBJ_KERNEL_HANDLE from KernelMode). ObjectAttributes is kernel
 * memory (captured); its RootDirectory is a handle looked up in Mode.
 * Returns STATUS_SUCCESS; STATUS_OBJECT_NAME_EXISTS with OBJ_OPENIF when
 * the name is taken by an object of the same type (*Handle is to that
 * object; the new one is deleted); STATUS_OBJECT_NAME_COLLISION without
 * OBJ_OPENIF; STATUS_OBJECT_TYPE_MISMATCH (OBJ_OPENIF, another type); the
 * look-up statuses of ObOpenObjectByName; the statuses of ObInsertHandle.
 * Handle may be NULL only for an OBJ_PERMANENT name (a kernel object that
 * nobody holds a handle to). IRQL PASSIVE_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS ObInsertObject(PVOID Object, POBJECT_ATTRIBUTES ObjectAttributes,
                         ACCESS_MASK DesiredAccess, KPROCESSOR_MODE AccessMode, PHANDLE Handle);

/* Create a permanent, empty directory object at Name (an absolute path
 * whose parent exists: "\\Driver", "\\Device\\Harddisk0"), as the boot
 * tree's directories are made. STATUS_OBJECT_NAME_COLLISION when the name
 * is taken, and ObCreateObject's failures. PASSIVE_LEVEL. */
NTSTATUS ObCreatePermanentDirectory(PCUNICODE_STRING Name);

/*
 * Open a handle with DesiredAccess (the caller maps generic rights) to the
 * object ObjectAttributes names (kernel memory, captured), which must be
 * of ObjectType (NULL: any). Symbolic links on the way are followed, and
 * a final one too unless OBJ_OPENLINK is given or ObjectType is
 * ObSymbolicLinkObjectType. Returns STATUS_SUCCESS;
 * STATUS_OBJECT_NAME_INVALID (no name, an empty component, a trailing
 * backslash); STATUS_OBJECT_PATH_SYNTAX_BAD (an absolute name without a
 * leading backslash, or a relative one with it); STATUS_OBJECT_PATH_NOT_FOUND
 * (a directory on the way is missing or is not a directory, or links nest
 * deeper than OB_MAXIMUM_REPARSE); STATUS_OBJECT_NAME_NOT_FOUND (the last
 * component is missing); STATUS_OBJECT_TYPE_MISMATCH; the statuses of
 * ObReferenceObjectByHandle for RootDirectory and of ObInsertHandle.
 * PASSIVE_LEVEL.
 */
#define OB_MAXIMUM_REPARSE 8
MUST_INSPECT_RESULT NTSTATUS ObOpenObjectByName(POBJECT_ATTRIBUTES ObjectAttributes, POBJECT_TYPE ObjectType,
                             KPROCESSOR_MODE AccessMode, ACCESS_MASK DesiredAccess,
                             PHANDLE Handle);

/*
 * Reference the object ObjectName (a kernel UNICODE_STRING, absolute) names,
 * with the look-up rules and statuses of ObOpenObjectByName. *Object gets
 * the reference (drop it with ObDereferenceObject). PASSIVE_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS ObReferenceObjectByName(PCUNICODE_STRING ObjectName, ULONG Attributes,
                                  POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                  PVOID *Object);

/*
 * Kernel callers: create a symbolic link whose target is LinkTarget
 * (kernel memory, copied) named by ObjectAttributes (kernel memory), and
 * insert it as ObInsertObject does (Handle NULL needs OBJ_PERMANENT).
 * Returns STATUS_OBJECT_NAME_INVALID without a name, or the statuses of
 * ObCreateObject and ObInsertObject. PASSIVE_LEVEL.
 */
MUST_INSPECT_RESULT NTSTATUS ObCreateSymbolicLink(POBJECT_ATTRIBUTES ObjectAttributes, PCUNICODE_STRING LinkTarget,
                               ACCESS_MASK DesiredAccess, KPROCESSOR_MODE AccessMode,
                               PHANDLE Handle);

/*
 * Make a permanent object temporary: its namespace reference goes and its
 * name goes with its last handle (now, if it has none). Nothing for an
 * object that is not permanent. IRQL <= DISPATCH_LEVEL.
 */
void ObMakeTemporaryObject(PVOID Object);

/*
 * Copy Object's name (its last component) into Buffer as NUL-terminated
 * ASCII (other characters as '?'); returns FALSE when it has none.
 * For the shell and the debugger. IRQL <= DISPATCH_LEVEL.
 */
BOOLEAN ObQueryObjectName(PVOID Object, PCHAR Buffer, ULONG Size);

/* The last step of a service that made Handle: write it to UserHandle
 * (probed before) and return Status; if the write fails now, the handle
 * is closed again, since nobody could learn it. Passes failures through.
 * PASSIVE_LEVEL (ob/obdir.c). */
NTSTATUS ObReturnUserHandle(PHANDLE UserHandle, HANDLE Handle, NTSTATUS Status);

#endif /* PAGODA_OB_H */
