/*
 * obp.h - private to ob/: what the reference side (obref.c), the
 * handle-table side (obhandle.c) and the namespace (obdir.c, obname.c,
 * oblink.c) of the object manager share.
 */
#ifndef PAGODA_OBP_H
#define PAGODA_OBP_H

#include "ob.h"

/* The reference a new handle holds: PointerCount, then HandleCount, then
 * the type's handle counters. Any IRQL <= DISPATCH_LEVEL. */
void ObpAddHandleReference(PVOID Object);

/* Drop a closed handle's reference: HandleCount first (at zero, the name
 * of a temporary object goes: ObpDeleteNameCheck), then
 * ObDereferenceObject, which may delete the object. No table lock held.
 * IRQL <= DISPATCH_LEVEL. */
void ObpDropHandleReference(PVOID Object);

/* ------------------------------------------------------------------------
 * The namespace (ob.h tells its rules)
 * ------------------------------------------------------------------------ */

/* Covers every directory's chains, every header's NameInfo and
 * OB_FLAG_PERMANENT. Taken after no other Ob lock; a handle table's lock
 * may be taken inside it. */
extern KSPIN_LOCK ObpNamespaceLock;

/* The root directory, \ (made by ObInitializeNamespace, permanent). */
extern POBJECT_DIRECTORY ObpRootDirectoryObject;

/* The hash of a name, which picks its chain (Hash % OB_DIRECTORY_BUCKETS):
 * one step per character, with bit 5 cleared so that the spellings a
 * case-insensitive look-up equates ('a' and 'A') hash alike. The path walk
 * takes the steps while it looks for the next backslash. */
#define OBP_HASH_STEP(Hash, Char) ((Hash) * 31 + ((Char) & ~0x20u))
ULONG ObpHashName(PCUNICODE_STRING Name);

/* The object Name (one component, whose ObpHashName is Hash) names in
 * Directory, or NULL. ObpNamespaceLock held. */
PVOID ObpLookupDirectoryEntry(POBJECT_DIRECTORY Directory, PCUNICODE_STRING Name, ULONG Hash,
                              BOOLEAN CaseInsensitive);

/* A NameInfo for Component (nonpaged pool, OB_NAME_TAG), unlinked; NULL
 * when pool is exhausted. Any IRQL <= DISPATCH_LEVEL. */
POBJECT_HEADER_NAME_INFO ObpAllocateName(PCUNICODE_STRING Component);

/* Give Object the name Info in Directory: the name references Directory,
 * the header points at it. ObpNamespaceLock held. */
void ObpInsertName(POBJECT_DIRECTORY Directory, POBJECT_HEADER_NAME_INFO Info, PVOID Object);

/* Take Header's name out of its directory; returns it for ObpFreeName,
 * called once the lock is released. ObpNamespaceLock held. */
POBJECT_HEADER_NAME_INFO ObpRemoveName(POBJECT_HEADER Header);

/* Drop a removed name's directory reference and free it. No lock held. */
void ObpFreeName(POBJECT_HEADER_NAME_INFO Info);

/* A handle count reached zero: drop the name of a named, temporary
 * object. No lock held; may delete its directory. */
void ObpDeleteNameCheck(POBJECT_HEADER Header);

/* Add Type's "Type" object to \ObjectTypes, once the namespace exists
 * (ObInitializeObjectType calls it). PASSIVE_LEVEL. */
void ObpInsertTypeObject(POBJECT_TYPE Type);
extern BOOLEAN ObpNamespaceReady;

/* Reference a directory handle (RootDirectory) with DIRECTORY_TRAVERSE;
 * NULL stays NULL. */
NTSTATUS ObpReferenceRootDirectory(HANDLE RootDirectory, KPROCESSOR_MODE Mode,
                                   POBJECT_DIRECTORY *Directory);

/* Capture a UNICODE_STRING (a user pointer when Mode is UserMode) into
 * *Captured, with its characters in pool (OB_NAME_TAG, *InPool TRUE) from
 * user mode; MaximumBytes bounds the length. Statuses as
 * ObCaptureObjectAttributes. PASSIVE_LEVEL. */
NTSTATUS ObpCaptureUnicodeString(PCUNICODE_STRING String, KPROCESSOR_MODE Mode,
                                 ULONG MaximumBytes, PUNICODE_STRING Captured, BOOLEAN *InPool);


/* Map generic rights onto directory / symbolic-link rights; with no
 * security descriptors, MAXIMUM_ALLOWED is everything. */
ACCESS_MASK ObpMapDirectoryAccess(ACCESS_MASK Access);
ACCESS_MASK ObpMapSymbolicLinkAccess(ACCESS_MASK Access);

/* Copy an ASCII string into Buffer (Count WCHARs) as UTF-16; returns the
 * characters written (no NUL). */
ULONG ObpAsciiToWide(const char *Ascii, PWSTR Buffer, ULONG Count);

#endif /* PAGODA_OBP_H */
