/*
 * obhandle.c - per-process handle tables: inserting, looking up, closing,
 * duplicating and inheriting handles, and the kernel handle table.
 *
 * Data structures:
 *   HANDLE_TABLE   a header and up to 20 segments of HANDLE_TABLE_ENTRY
 *                  (32, 64, 128, ... entries), all nonpaged pool tagged
 *                  OB_HANDLE_TABLE_TAG; a full table gains a segment
 *                  twice the size of the last; segments never move and
 *                  are freed only with the table
 *
 * Locking and IRQL: Table->Lock (a spin lock, so DISPATCH_LEVEL while
 * held) covers inserts, closes, duplicates, growth and the counters.
 * While holding it we only read and write the table and bump reference
 * counts (which cannot free anything). Everything that can call out - pool
 * allocation and free, a DeleteProcedure, a caller's enumeration callback
 * - happens with the lock released: growth allocates the new segment first
 * and adds it under the lock; closing takes the entry out under the lock
 * and drops the reference afterwards (ob/obref.c's
 * ObpDropHandleReference). So a DeleteProcedure may itself close handles,
 * even in the table that held the last handle.
 *
 * Look-ups take no table lock (ObpReferenceHandleInTable), as NT's do
 * not: they lock the one entry, setting bit 0 of its Object with a
 * compare-exchange, with interrupts off so that the holder cannot be
 * preempted, and reference the object before they clear it. A close or a
 * duplicate that rewrites a live entry (under Table->Lock) first takes
 * the same entry lock, spinning the few instructions a look-up holds it.
 * So a look-up either references the object before the close takes the
 * entry, and the close's drop of the handle's reference is not the last,
 * or finds the entry free. Inserts fill a free entry, which no look-up
 * locks, and publish it by storing Object last. Capacity is stored after
 * the segment pointer, so an index below the Capacity a look-up read has
 * its segment. docs/processes-and-handles.md §6 has the whole argument.
 *
 * Free-slot reuse: FreeHint is the lowest index that may be free; a close
 * lowers it, an insert scans up from it. Handles therefore come back
 * lowest first, like Unix file descriptors and like NT's handle free list
 * in practice.
 *
 * Handle values: a multiple of 4 from 4 up, index = value / 4 - 1. As in
 * NT, the low two bits of a value are ignored on look-up (they are free for
 * the caller's tagging): 0x0D names the same entry as 0x0C. Values 1 to 3
 * are 0 with tag bits, never a handle.
 */
#include "obp.h"
#include "../ps/ps.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"
#include "../include/intrin.h"

/* RFLAGS.IF (Intel SDM Vol. 3A, 2.3). */
#define OBP_EFLAGS_IF (1ULL << 9)

PHANDLE_TABLE ObpKernelHandleTable;

/* ------------------------------------------------------------------------
 * Handle tables: entries, segments and the entry lock
 * ------------------------------------------------------------------------ */

/* The entry at Index < Table->Capacity: segment k holds the indexes
 * whose Index + 32 has its highest set bit at 5 + k, and the rest of
 * Index + 32 is the offset in it. Six instructions: lea, bsr, a load,
 * btr, shl, add. */
static inline PHANDLE_TABLE_ENTRY ObpEntryAt(PHANDLE_TABLE Table, ULONG_PTR Index)
{
    ULONG_PTR Biased = Index + OB_HANDLE_TABLE_INITIAL_ENTRIES;
    ULONG_PTR High;
    __asm__("bsr %1, %0" : "=r"(High) : "rm"(Biased) : "cc");
    /* A plain load: a look-up reads Capacity (acquire) first, and the
     * segment's pointer was stored before it; under Table->Lock it cannot
     * change. */
    PHANDLE_TABLE_ENTRY Base = Table->Segments[High - 5];
    STATIC_ASSERT(OB_HANDLE_TABLE_INITIAL_ENTRIES == 1 << 5);
    return &Base[Biased & ~((ULONG_PTR)1 << High)];
}

/* An entry's object without the lock bit; NULL: free. Table->Lock held
 * (the entry's object cannot change; a look-up may hold its lock). */
static inline PVOID ObpEntryObject(const HANDLE_TABLE_ENTRY *Entry)
{
    return (PVOID)((ULONG_PTR)__atomic_load_n(&Entry->Object, __ATOMIC_RELAXED) &
                   ~OB_HANDLE_ENTRY_LOCK);
}

/* Replace a used entry's Object (unlocked) by NewValue, Table->Lock held
 * (so no other writer): wait out a look-up, which holds the entry's lock
 * for a few instructions with interrupts off. NewValue is the object with
 * the lock bit (to rewrite the entry, then ObpUnlockEntry) or NULL (to
 * free it: done, since no look-up locks a free entry). Returns the
 * entry's object. */
static inline PVOID ObpExchangeEntry(PHANDLE_TABLE_ENTRY Entry, BOOLEAN Lock)
{
    for (;;) {
        PVOID Value = __atomic_load_n(&Entry->Object, __ATOMIC_RELAXED);
        ASSERT(Value != NULL);
        PVOID NewValue = Lock ? (PVOID)((ULONG_PTR)Value | OB_HANDLE_ENTRY_LOCK) : NULL;
        if (((ULONG_PTR)Value & OB_HANDLE_ENTRY_LOCK) == 0 &&
            __atomic_compare_exchange_n(&Entry->Object, &Value, NewValue, FALSE, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return Value;
        _mm_pause();
    }
}

/* Take a used entry's lock (Table->Lock held). Returns its object. */
static PVOID ObpLockEntry(PHANDLE_TABLE_ENTRY Entry)
{
    return ObpExchangeEntry(Entry, TRUE);
}

/* Release an entry's lock, leaving Object in it (NULL: now free). */
static inline void ObpUnlockEntry(PHANDLE_TABLE_ENTRY Entry, PVOID Object)
{
    __atomic_store_n(&Entry->Object, Object, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------------
 * Handle tables: helpers that run with Table->Lock held
 * ------------------------------------------------------------------------ */

/* The entry Handle names, or NULL when it names none. */
static inline __attribute__((always_inline)) PHANDLE_TABLE_ENTRY ObpLookupEntry(PHANDLE_TABLE Table,
                                                                                HANDLE Handle)
{
    ULONG_PTR Value = (ULONG_PTR)Handle & ~OB_HANDLE_TAG_BITS;
    if (Value == 0)
        return NULL;
    ULONG_PTR Index = OB_HANDLE_TO_INDEX(Value);
    if (Index >= Table->Capacity)
        return NULL;
    PHANDLE_TABLE_ENTRY Entry = ObpEntryAt(Table, Index);
    return ObpEntryObject(Entry) != NULL ? Entry : NULL;
}

/* The lowest free index, or Capacity when the table is full. */
static ULONG ObpFindFreeEntry(PHANDLE_TABLE Table)
{
    if (Table->HandleCount == Table->Capacity)
        return Table->Capacity;
    ULONG Index = Table->FreeHint;
    while (Index < Table->Capacity && ObpEntryObject(ObpEntryAt(Table, Index)) != NULL)
        Index++;
    Table->FreeHint = Index;
    return Index;
}

/* The lowest used index at or above From, or Capacity when none: a
 * segment at a time, one pointer step per entry (a process's exit walks
 * its whole table this way). */
static ULONG ObpNextUsedEntry(PHANDLE_TABLE Table, ULONG From)
{
    ULONG Index = From;
    while (Index < Table->Capacity) {
        /* Index's segment ends where Index + 32 reaches the next power
         * of two. */
        ULONG High = 31 - (ULONG)__builtin_clz(Index + OB_HANDLE_TABLE_INITIAL_ENTRIES);
        ULONG End = (2u << High) - OB_HANDLE_TABLE_INITIAL_ENTRIES;
        const HANDLE_TABLE_ENTRY *Entry = ObpEntryAt(Table, Index);
        for (; Index < End; Index++, Entry++)
            if (ObpEntryObject(Entry) != NULL)
                return Index;
    }
    return Table->Capacity;
}

/* Take the entry at Index out of the table; returns its object, whose
 * handle reference the caller drops once the lock is released. The entry
 * is emptied with the same compare-exchange a look-up locks it with, so a
 * look-up that holds it finishes its reference first. */
static PVOID ObpRemoveEntry(PHANDLE_TABLE Table, PHANDLE_TABLE_ENTRY Entry, ULONG Index)
{
    PVOID Object = ObpExchangeEntry(Entry, FALSE); /* free now: no look-up finds it */
    Entry->GrantedAccess = 0;
    Entry->Attributes = 0;
    Table->HandleCount--;
    if (Index < Table->FreeHint)
        Table->FreeHint = Index;
    return Object;
}

/* ------------------------------------------------------------------------
 * Handle tables: allocation and growth (no lock held)
 * ------------------------------------------------------------------------ */

/* Segment k, zeroed: 32 * 2^k entries. */
static PHANDLE_TABLE_ENTRY ObpAllocateSegment(ULONG Segment)
{
    SIZE_T Size = ((SIZE_T)OB_HANDLE_TABLE_INITIAL_ENTRIES << Segment) * sizeof(HANDLE_TABLE_ENTRY);
    PHANDLE_TABLE_ENTRY Entries = ExAllocatePoolWithTag(NonPagedPool, Size, OB_HANDLE_TABLE_TAG);
    if (Entries != NULL)
        memset(Entries, 0, Size);
    return Entries;
}

static void ObpFreeHandleTable(PHANDLE_TABLE Table)
{
    for (ULONG Segment = 0; Segment < Table->SegmentCount; Segment++)
        ExFreePoolWithTag(Table->Segments[Segment], OB_HANDLE_TABLE_TAG);
    ExFreePoolWithTag(Table, OB_HANDLE_TABLE_TAG);
}

/* A table with Segments segments (at least one), all entries free. */
static NTSTATUS ObpAllocateHandleTable(ULONG Segments, PHANDLE_TABLE *Table)
{
    PHANDLE_TABLE New = ExAllocatePoolWithTag(NonPagedPool, sizeof(*New), OB_HANDLE_TABLE_TAG);
    *Table = NULL;
    if (New == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    memset(New, 0, sizeof(*New));
    KeInitializeSpinLock(&New->Lock);
    for (; New->SegmentCount < Segments; New->SegmentCount++) {
        New->Segments[New->SegmentCount] = ObpAllocateSegment(New->SegmentCount);
        if (New->Segments[New->SegmentCount] == NULL) {
            ObpFreeHandleTable(New);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        New->Capacity += OB_HANDLE_TABLE_INITIAL_ENTRIES << New->SegmentCount;
    }
    *Table = New;
    return STATUS_SUCCESS;
}

/*
 * Add a segment to a table that was seen full with SeenSegments segments.
 * The segment is allocated before taking the lock; if another thread grew
 * the table meanwhile, ours is thrown away. Either way the caller looks
 * for a free slot again. Nothing moves: the segment pointer is stored
 * before the larger Capacity (release), for look-ups without the lock.
 */
static NTSTATUS ObpGrowHandleTable(PHANDLE_TABLE Table, ULONG SeenSegments)
{
    if (SeenSegments >= OB_HANDLE_TABLE_SEGMENTS ||
        Table->Capacity >= OB_HANDLE_TABLE_MAXIMUM_ENTRIES)
        return STATUS_INSUFFICIENT_RESOURCES;
    PHANDLE_TABLE_ENTRY New = ObpAllocateSegment(SeenSegments);
    if (New == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;

    KIRQL OldIrql;
    KeAcquireSpinLock(&Table->Lock, &OldIrql);
    if (Table->SegmentCount == SeenSegments) {
        __atomic_store_n(&Table->Segments[SeenSegments], New, __ATOMIC_RELEASE);
        Table->SegmentCount++;
        __atomic_store_n(&Table->Capacity,
                         Table->Capacity + (OB_HANDLE_TABLE_INITIAL_ENTRIES << SeenSegments),
                         __ATOMIC_RELEASE);
        New = NULL;
    }
    KeReleaseSpinLock(&Table->Lock, OldIrql);

    if (New != NULL)
        ExFreePoolWithTag(New, OB_HANDLE_TABLE_TAG);
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------
 * Handle tables: the public routines
 * ------------------------------------------------------------------------ */

NTSTATUS ObCreateHandleTable(PHANDLE_TABLE *Table)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Table != NULL);
    return ObpAllocateHandleTable(1, Table);
}

void ObDestroyHandleTable(PHANDLE_TABLE Table)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Table != NULL);

    /* One entry at a time, dropping each reference unlocked: a
     * DeleteProcedure may close handles of its own. */
    for (ULONG Index = 0;; Index++) {
        KIRQL OldIrql;
        KeAcquireSpinLock(&Table->Lock, &OldIrql);
        /* No handle left: the rest of the table need not be walked. */
        Index = Table->HandleCount != 0 ? ObpNextUsedEntry(Table, Index) : Table->Capacity;
        if (Index >= Table->Capacity) {
            KeReleaseSpinLock(&Table->Lock, OldIrql);
            break;
        }
        PVOID Object = ObpRemoveEntry(Table, ObpEntryAt(Table, Index), Index);
        KeReleaseSpinLock(&Table->Lock, OldIrql);
        ObpDropHandleReference(Object);
    }
    ASSERT(Table->HandleCount == 0);
    ObpFreeHandleTable(Table);
}

NTSTATUS ObInsertHandle(PHANDLE_TABLE Table, PVOID Object, ACCESS_MASK GrantedAccess,
                        ULONG Attributes, PHANDLE Handle)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Table != NULL && Object != NULL && Handle != NULL);
    if ((Attributes & ~(ULONG)OBJ_INHERIT) != 0)
        return STATUS_INVALID_PARAMETER;

    KIRQL OldIrql;
    ULONG Index;
    for (;;) {
        KeAcquireSpinLock(&Table->Lock, &OldIrql);
        Index = ObpFindFreeEntry(Table);
        if (Index < Table->Capacity)
            break;
        ULONG SeenSegments = Table->SegmentCount;
        KeReleaseSpinLock(&Table->Lock, OldIrql);
        NTSTATUS Status = ObpGrowHandleTable(Table, SeenSegments);
        if (!NT_SUCCESS(Status))
            return Status;
    }

    /* A free entry: no look-up locks it. Object last, so a look-up that
     * finds it finds the access and attributes too. */
    PHANDLE_TABLE_ENTRY Entry = ObpEntryAt(Table, Index);
    Entry->GrantedAccess = GrantedAccess;
    Entry->Attributes = Attributes;
    __atomic_store_n(&Entry->Object, Object, __ATOMIC_RELEASE);
    ObpAddHandleReference(Object);
    Table->HandleCount++;
    if (Table->HandleCount > Table->HighWaterHandleCount)
        Table->HighWaterHandleCount = Table->HandleCount;
    Table->FreeHint = Index + 1;
    KeReleaseSpinLock(&Table->Lock, OldIrql);

    *Handle = OB_INDEX_TO_HANDLE(Index);
    return STATUS_SUCCESS;
}

/*
 * The look-up every handle-taking system call makes, in one pass, without
 * the table lock: the handle value checked once, the entry found in its
 * segment, locked (bit 0 of Object, with interrupts off: a look-up
 * preempted while holding it would leave a close on the same processor
 * spinning at DISPATCH_LEVEL for ever), type- and access-checked, the
 * object referenced, the entry unlocked. A refused access takes no
 * reference to drop again. Value is the handle without the kernel bit.
 * Why this is safe against a concurrent close and growth: the file
 * header, and docs/processes-and-handles.md §6.
 */
static inline __attribute__((always_inline)) NTSTATUS
ObpReferenceHandleInTable(PHANDLE_TABLE Table, ULONG_PTR Value, ACCESS_MASK DesiredAccess,
                          POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode, PVOID *Object,
                          POBJECT_HANDLE_INFORMATION HandleInformation)
{
    /* The tag bits are the caller's (NT ignores them); 0 or no table: no
     * entry. */
    Value &= ~OB_HANDLE_TAG_BITS;
    if (Table == NULL || Value == 0)
        return STATUS_INVALID_HANDLE;
    ULONG_PTR Index = OB_HANDLE_TO_INDEX(Value);
    if (Index >= __atomic_load_n(&Table->Capacity, __ATOMIC_ACQUIRE))
        return STATUS_INVALID_HANDLE;
    PHANDLE_TABLE_ENTRY Entry = ObpEntryAt(Table, Index);

    ULONG64 Flags = __readeflags();
    _disable();
    NTSTATUS Status = STATUS_INVALID_HANDLE;
    PVOID Body;
    for (;;) {
        Body = __atomic_load_n(&Entry->Object, __ATOMIC_RELAXED);
        if (Body == NULL)
            goto done; /* a free entry */
        if (((ULONG_PTR)Body & OB_HANDLE_ENTRY_LOCK) == 0 &&
            __atomic_compare_exchange_n(&Entry->Object, &Body,
                                        (PVOID)((ULONG_PTR)Body | OB_HANDLE_ENTRY_LOCK), FALSE,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            break;
        _mm_pause(); /* a close or another look-up holds it: a few instructions */
    }
    if (ObjectType != NULL && OBJECT_TO_OBJECT_HEADER(Body)->Type != ObjectType) {
        Status = STATUS_OBJECT_TYPE_MISMATCH;
    } else if (AccessMode != KernelMode && (DesiredAccess & ~Entry->GrantedAccess) != 0) {
        Status = STATUS_ACCESS_DENIED;
    } else {
        /* Referenced under the entry's lock: a close waits for it before
         * it drops the handle's reference. */
        ObReferenceObject(Body);
        if (HandleInformation != NULL) {
            HandleInformation->HandleAttributes = Entry->Attributes;
            HandleInformation->GrantedAccess = Entry->GrantedAccess;
        }
        *Object = Body;
        Status = STATUS_SUCCESS;
    }
    ObpUnlockEntry(Entry, Body);
done:
    if (Flags & OBP_EFLAGS_IF)
        _enable();
    return Status;
}

NTSTATUS ObReferenceObjectByHandleInTableEx(PHANDLE_TABLE Table, HANDLE Handle,
                                            POBJECT_TYPE ObjectType, PVOID *Object,
                                            POBJECT_HANDLE_INFORMATION HandleInformation)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Table != NULL && Object != NULL);
    *Object = NULL;
    return ObpReferenceHandleInTable(Table, (ULONG_PTR)Handle, 0, ObjectType, KernelMode, Object,
                                     HandleInformation);
}

NTSTATUS ObReferenceObjectByHandleInTable(PHANDLE_TABLE Table, HANDLE Handle,
                                          POBJECT_TYPE ObjectType, PVOID *Object)
{
    return ObReferenceObjectByHandleInTableEx(Table, Handle, ObjectType, Object, NULL);
}

NTSTATUS ObCloseHandleInTable(PHANDLE_TABLE Table, HANDLE Handle)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Table != NULL);

    KIRQL OldIrql;
    KeAcquireSpinLock(&Table->Lock, &OldIrql);
    PHANDLE_TABLE_ENTRY Entry = ObpLookupEntry(Table, Handle);
    if (Entry == NULL) {
        KeReleaseSpinLock(&Table->Lock, OldIrql);
        return STATUS_INVALID_HANDLE;
    }
    ULONG Index = (ULONG)OB_HANDLE_TO_INDEX((ULONG_PTR)Handle & ~OB_HANDLE_TAG_BITS);
    PVOID Object = ObpRemoveEntry(Table, Entry, Index);
    KeReleaseSpinLock(&Table->Lock, OldIrql);

    ObpDropHandleReference(Object);
    return STATUS_SUCCESS;
}

/*
 * DUPLICATE_CLOSE_SOURCE within one table. NT closes the source before it
 * inserts the copy, so the copy gets the source's slot - and value - back.
 * Done here in one step under the lock: the entry keeps its object and its
 * handle reference and takes the copy's access and attributes, so no other
 * thread's insert can take the slot in between. FALSE (nothing changed)
 * when Handle no longer names Object: someone closed it meanwhile.
 */
static BOOLEAN ObpReuseEntry(PHANDLE_TABLE Table, HANDLE Handle, PVOID Object,
                             ACCESS_MASK GrantedAccess, ULONG Attributes)
{
    KIRQL OldIrql;
    KeAcquireSpinLock(&Table->Lock, &OldIrql);
    PHANDLE_TABLE_ENTRY Entry = ObpLookupEntry(Table, Handle);
    BOOLEAN Reused = Entry != NULL && ObpEntryObject(Entry) == Object;
    if (Reused) {
        /* Under the entry's lock: a look-up reads the access under it. */
        (void)ObpLockEntry(Entry);
        Entry->GrantedAccess = GrantedAccess;
        Entry->Attributes = Attributes;
        ObpUnlockEntry(Entry, Object);
    }
    KeReleaseSpinLock(&Table->Lock, OldIrql);
    return Reused;
}

NTSTATUS ObDuplicateHandle(PHANDLE_TABLE SourceTable, HANDLE SourceHandle,
                           PHANDLE_TABLE TargetTable, ACCESS_MASK DesiredAccess,
                           ULONG HandleAttributes, ULONG Options, PHANDLE TargetHandle)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(SourceTable != NULL);
    const ULONG KnownOptions =
        DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS | DUPLICATE_SAME_ATTRIBUTES;
    if ((Options & ~KnownOptions) != 0 || (HandleAttributes & ~(ULONG)OBJ_INHERIT) != 0)
        return STATUS_INVALID_PARAMETER;
    if (TargetTable == NULL && !(Options & DUPLICATE_CLOSE_SOURCE))
        return STATUS_INVALID_PARAMETER;
    if (TargetTable != NULL && TargetHandle == NULL)
        return STATUS_INVALID_PARAMETER;

    PVOID Object;
    OBJECT_HANDLE_INFORMATION Source;
    NTSTATUS Status =
        ObReferenceObjectByHandleInTableEx(SourceTable, SourceHandle, NULL, &Object, &Source);
    if (!NT_SUCCESS(Status))
        return Status;

    Status = STATUS_SUCCESS;
    BOOLEAN Moved = FALSE;
    if (TargetTable != NULL) {
        ACCESS_MASK Access = (Options & DUPLICATE_SAME_ACCESS) ? Source.GrantedAccess : DesiredAccess;
        ULONG Attributes =
            (Options & DUPLICATE_SAME_ATTRIBUTES) ? Source.HandleAttributes : HandleAttributes;
        if ((Access & ~Source.GrantedAccess) != 0) {
            Status = STATUS_ACCESS_DENIED;
        } else if ((Options & DUPLICATE_CLOSE_SOURCE) && TargetTable == SourceTable &&
                   ObpReuseEntry(SourceTable, SourceHandle, Object, Access, Attributes)) {
            *TargetHandle = (HANDLE)((ULONG_PTR)SourceHandle & ~OB_HANDLE_TAG_BITS);
            Moved = TRUE;
        } else {
            Status = ObInsertHandle(TargetTable, Object, Access, Attributes, TargetHandle);
        }
    }
    if ((Options & DUPLICATE_CLOSE_SOURCE) && !Moved) {
        /* Someone may have closed it since we looked it up: not our error. */
        NTSTATUS CloseStatus = ObCloseHandleInTable(SourceTable, SourceHandle);
        (void)CloseStatus;
    }
    ObDereferenceObject(Object);
    return Status;
}

NTSTATUS ObInheritHandleTable(PHANDLE_TABLE Parent, PHANDLE_TABLE *Child)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Parent != NULL && Child != NULL);

    /* Allocate at the parent's size unlocked, then copy under its lock;
     * if the parent grew in between, start again with the new size. */
    PHANDLE_TABLE New;
    KIRQL OldIrql;
    for (;;) {
        KeAcquireSpinLock(&Parent->Lock, &OldIrql);
        ULONG SeenSegments = Parent->SegmentCount;
        KeReleaseSpinLock(&Parent->Lock, OldIrql);

        NTSTATUS Status = ObpAllocateHandleTable(SeenSegments, &New);
        if (!NT_SUCCESS(Status)) {
            *Child = NULL;
            return Status;
        }
        KeAcquireSpinLock(&Parent->Lock, &OldIrql);
        if (Parent->SegmentCount == SeenSegments)
            break;
        KeReleaseSpinLock(&Parent->Lock, OldIrql);
        ObpFreeHandleTable(New);
    }

    for (ULONG Index = 0; Index < Parent->Capacity; Index++) {
        /* The parent's lock keeps the entry as it is (a look-up may hold
         * its lock bit: masked). */
        const HANDLE_TABLE_ENTRY *Entry = ObpEntryAt(Parent, Index);
        PVOID Object = ObpEntryObject(Entry);
        if (Object == NULL || !(Entry->Attributes & OBJ_INHERIT))
            continue;
        PHANDLE_TABLE_ENTRY Copy = ObpEntryAt(New, Index);
        Copy->Object = Object;
        Copy->GrantedAccess = Entry->GrantedAccess;
        Copy->Attributes = Entry->Attributes;
        ObpAddHandleReference(Object);
        New->HandleCount++;
    }
    KeReleaseSpinLock(&Parent->Lock, OldIrql);

    New->HighWaterHandleCount = New->HandleCount;
    New->FreeHint = 0;
    *Child = New;
    return STATUS_SUCCESS;
}

BOOLEAN ObEnumerateHandleTable(PHANDLE_TABLE Table, OB_ENUM_HANDLE_ROUTINE Callback,
                               PVOID Context)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Table != NULL && Callback != NULL);

    for (ULONG Index = 0;; Index++) {
        KIRQL OldIrql;
        KeAcquireSpinLock(&Table->Lock, &OldIrql);
        Index = ObpNextUsedEntry(Table, Index);
        if (Index >= Table->Capacity) {
            KeReleaseSpinLock(&Table->Lock, OldIrql);
            return FALSE;
        }
        HANDLE_TABLE_ENTRY Copy = *ObpEntryAt(Table, Index);
        Copy.Object = ObpEntryObject(&Copy);
        ObReferenceObject(Copy.Object);
        KeReleaseSpinLock(&Table->Lock, OldIrql);

        BOOLEAN Stop = Callback(OB_INDEX_TO_HANDLE(Index), &Copy, Context);
        ObDereferenceObject(Copy.Object);
        if (Stop)
            return TRUE;
    }
}

/* ------------------------------------------------------------------------
 * The current process's handles
 * ------------------------------------------------------------------------ */

/* The table where kernel handles live (see ObpKernelHandleTable). */
static PHANDLE_TABLE ObpGetKernelHandleTable(void)
{
    return ObpKernelHandleTable != NULL ? ObpKernelHandleTable : ObpGetCurrentHandleTable();
}

/* Which table Handle belongs to for a caller in Mode, and its value
 * there. Kernel handles are invisible to user mode. */
static NTSTATUS ObpResolveHandle(HANDLE Handle, KPROCESSOR_MODE Mode, PHANDLE_TABLE *Table,
                                 HANDLE *TableHandle)
{
    if (ObIsKernelHandle(Handle)) {
        if (Mode != KernelMode)
            return STATUS_INVALID_HANDLE;
        *Table = ObpGetKernelHandleTable();
        *TableHandle = (HANDLE)((ULONG_PTR)Handle & ~KERNEL_HANDLE_MASK);
    } else {
        *Table = ObpGetCurrentHandleTable();
        *TableHandle = Handle;
    }
    return *Table != NULL ? STATUS_SUCCESS : STATUS_INVALID_HANDLE;
}

/* ObReferenceObjectByHandle for a kernel handle, or before the first
 * thread exists: the table found the general way. */
static __attribute__((noinline)) NTSTATUS
ObpReferenceObjectByHandleSlow(HANDLE Handle, ACCESS_MASK DesiredAccess, POBJECT_TYPE ObjectType,
                               KPROCESSOR_MODE AccessMode, PVOID *Object,
                               POBJECT_HANDLE_INFORMATION HandleInformation)
{
    ULONG_PTR Value = (ULONG_PTR)Handle;
    PHANDLE_TABLE Table;
    if (ObIsKernelHandle(Handle)) {
        if (AccessMode != KernelMode)
            return STATUS_INVALID_HANDLE;
        Table = ObpGetKernelHandleTable();
        Value &= ~KERNEL_HANDLE_MASK;
    } else {
        Table = ObpGetCurrentHandleTable();
    }
    return ObpReferenceHandleInTable(Table, Value, DesiredAccess, ObjectType, AccessMode, Object,
                                     HandleInformation);
}

/*
 * The common case, a process's handle from one of its threads, calls
 * nothing (the rare cases go to ObpReferenceObjectByHandleSlow as a tail
 * call), so it saves almost no registers: the table is the current
 * thread's process's
 * (ObpGetCurrentHandleTable, ps/psmgr.c, without the calls).
 */
NTSTATUS ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                   POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                   PVOID *Object, POBJECT_HANDLE_INFORMATION HandleInformation)
{
    ASSERT(Object != NULL);
    *Object = NULL;
    PKTHREAD Thread;
    __asm__ volatile("mov %%gs:8, %0" : "=r"(Thread));
    if (__builtin_expect(ObIsKernelHandle(Handle) || Thread == NULL, 0))
        return ObpReferenceObjectByHandleSlow(Handle, DesiredAccess, ObjectType, AccessMode, Object,
                                              HandleInformation);
    PHANDLE_TABLE Table = CONTAINING_RECORD(Thread->Process, EPROCESS, Pcb)->ObjectTable;
    return ObpReferenceHandleInTable(Table, (ULONG_PTR)Handle, DesiredAccess, ObjectType,
                                     AccessMode, Object, HandleInformation);
}

NTSTATUS ObOpenObjectByPointer(PVOID Object, ULONG HandleAttributes, ACCESS_MASK DesiredAccess,
                               POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                               PHANDLE Handle)
{
    ASSERT(Object != NULL && Handle != NULL);
    if ((HandleAttributes & ~(ULONG)(OBJ_INHERIT | OBJ_KERNEL_HANDLE)) != 0)
        return STATUS_INVALID_PARAMETER;
    if (ObjectType != NULL && OBJECT_TO_OBJECT_HEADER(Object)->Type != ObjectType)
        return STATUS_OBJECT_TYPE_MISMATCH;
    if (AccessMode != KernelMode)
        HandleAttributes &= ~(ULONG)OBJ_KERNEL_HANDLE;

    BOOLEAN Kernel = (HandleAttributes & OBJ_KERNEL_HANDLE) != 0;
    PHANDLE_TABLE Table = Kernel ? ObpGetKernelHandleTable() : ObpGetCurrentHandleTable();
    if (Table == NULL)
        return STATUS_PROCESS_IS_TERMINATING;

    /* A kernel handle belongs to no process, so it is never inherited. */
    ULONG Attributes = Kernel ? 0 : (HandleAttributes & OBJ_INHERIT);
    HANDLE TableHandle;
    NTSTATUS Status = ObInsertHandle(Table, Object, DesiredAccess, Attributes, &TableHandle);
    if (!NT_SUCCESS(Status))
        return Status;
    *Handle = Kernel ? (HANDLE)((ULONG_PTR)TableHandle | KERNEL_HANDLE_MASK) : TableHandle;
    return STATUS_SUCCESS;
}

NTSTATUS ObCloseHandle(HANDLE Handle, KPROCESSOR_MODE PreviousMode)
{
    PHANDLE_TABLE Table;
    HANDLE TableHandle;
    NTSTATUS Status = ObpResolveHandle(Handle, PreviousMode, &Table, &TableHandle);
    if (!NT_SUCCESS(Status))
        return Status;
    return ObCloseHandleInTable(Table, TableHandle);
}

NTSTATUS ZwClose(HANDLE Handle)
{
    return ObCloseHandle(Handle, KernelMode);
}
