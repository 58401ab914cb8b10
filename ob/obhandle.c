/*
 * obhandle.c - per-process handle tables: inserting, looking up, closing,
 * duplicating and inheriting handles, and the kernel handle table.
 *
 * Data structures:
 *   HANDLE_TABLE   a header and an array of HANDLE_TABLE_ENTRY, both
 *                  nonpaged pool tagged OB_HANDLE_TABLE_TAG; the array
 *                  doubles when full and never shrinks
 *
 * Locking and IRQL: Table->Lock (a spin lock, so DISPATCH_LEVEL while
 * held) covers a table's array and counters. While holding it we only
 * read and write the table and bump reference counts (which cannot free
 * anything). Everything that can call out - pool allocation and free, a
 * DeleteProcedure, a caller's enumeration callback - happens with the lock
 * released: growth allocates the bigger array first and swaps it in under
 * the lock (and frees whichever array lost); closing takes the entry out
 * under the lock and drops the reference afterwards (ob/obref.c's
 * ObpDropHandleReference). So a DeleteProcedure may itself close handles,
 * even in the table that held the last handle.
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

PHANDLE_TABLE ObpKernelHandleTable;

/* ------------------------------------------------------------------------
 * Handle tables: helpers that run with Table->Lock held
 * ------------------------------------------------------------------------ */

/* The entry Handle names, or NULL when it names none. */
static PHANDLE_TABLE_ENTRY ObpLookupEntry(PHANDLE_TABLE Table, HANDLE Handle)
{
    ULONG_PTR Value = (ULONG_PTR)Handle & ~OB_HANDLE_TAG_BITS;
    if (Value == 0)
        return NULL;
    ULONG_PTR Index = OB_HANDLE_TO_INDEX(Value);
    if (Index >= Table->Capacity)
        return NULL;
    PHANDLE_TABLE_ENTRY Entry = &Table->Entries[Index];
    return Entry->Object != NULL ? Entry : NULL;
}

/* The lowest free index, or Capacity when the table is full. */
static ULONG ObpFindFreeEntry(PHANDLE_TABLE Table)
{
    if (Table->HandleCount == Table->Capacity)
        return Table->Capacity;
    ULONG Index = Table->FreeHint;
    while (Index < Table->Capacity && Table->Entries[Index].Object != NULL)
        Index++;
    Table->FreeHint = Index;
    return Index;
}

/* The lowest used index at or above From, or Capacity when none. */
static ULONG ObpNextUsedEntry(PHANDLE_TABLE Table, ULONG From)
{
    ULONG Index = From;
    while (Index < Table->Capacity && Table->Entries[Index].Object == NULL)
        Index++;
    return Index;
}

/* Take the entry at Index out of the table; returns its object, whose
 * handle reference the caller drops once the lock is released. */
static PVOID ObpRemoveEntry(PHANDLE_TABLE Table, ULONG Index)
{
    PHANDLE_TABLE_ENTRY Entry = &Table->Entries[Index];
    PVOID Object = Entry->Object;
    ASSERT(Object != NULL);
    Entry->Object = NULL;
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

static PHANDLE_TABLE_ENTRY ObpAllocateEntries(ULONG Capacity)
{
    SIZE_T Size = (SIZE_T)Capacity * sizeof(HANDLE_TABLE_ENTRY);
    PHANDLE_TABLE_ENTRY Entries = ExAllocatePoolWithTag(NonPagedPool, Size, OB_HANDLE_TABLE_TAG);
    if (Entries != NULL)
        memset(Entries, 0, Size);
    return Entries;
}

static NTSTATUS ObpAllocateHandleTable(ULONG Capacity, PHANDLE_TABLE *Table)
{
    PHANDLE_TABLE New = ExAllocatePoolWithTag(NonPagedPool, sizeof(*New), OB_HANDLE_TABLE_TAG);
    if (New == NULL)
        goto fail;
    memset(New, 0, sizeof(*New));
    New->Entries = ObpAllocateEntries(Capacity);
    if (New->Entries == NULL)
        goto free_table;
    KeInitializeSpinLock(&New->Lock);
    New->Capacity = Capacity;
    *Table = New;
    return STATUS_SUCCESS;

free_table:
    ExFreePoolWithTag(New, OB_HANDLE_TABLE_TAG);
fail:
    *Table = NULL;
    return STATUS_INSUFFICIENT_RESOURCES;
}

static void ObpFreeHandleTable(PHANDLE_TABLE Table)
{
    ExFreePoolWithTag(Table->Entries, OB_HANDLE_TABLE_TAG);
    ExFreePoolWithTag(Table, OB_HANDLE_TABLE_TAG);
}

/*
 * Double a table that was seen full with SeenCapacity entries. The new
 * array is allocated before taking the lock; if another thread grew the
 * table meanwhile, ours is thrown away. Either way the caller looks for a
 * free slot again.
 */
static NTSTATUS ObpGrowHandleTable(PHANDLE_TABLE Table, ULONG SeenCapacity)
{
    if (SeenCapacity >= OB_HANDLE_TABLE_MAXIMUM_ENTRIES)
        return STATUS_INSUFFICIENT_RESOURCES;
    ULONG NewCapacity = SeenCapacity * 2;
    PHANDLE_TABLE_ENTRY NewEntries = ObpAllocateEntries(NewCapacity);
    if (NewEntries == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;

    PHANDLE_TABLE_ENTRY Unused = NewEntries;
    KIRQL OldIrql;
    KeAcquireSpinLock(&Table->Lock, &OldIrql);
    if (Table->Capacity == SeenCapacity) {
        memcpy(NewEntries, Table->Entries, (SIZE_T)SeenCapacity * sizeof(HANDLE_TABLE_ENTRY));
        Unused = Table->Entries;
        Table->Entries = NewEntries;
        Table->Capacity = NewCapacity;
    }
    KeReleaseSpinLock(&Table->Lock, OldIrql);

    ExFreePoolWithTag(Unused, OB_HANDLE_TABLE_TAG);
    return STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------
 * Handle tables: the public routines
 * ------------------------------------------------------------------------ */

NTSTATUS ObCreateHandleTable(PHANDLE_TABLE *Table)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Table != NULL);
    return ObpAllocateHandleTable(OB_HANDLE_TABLE_INITIAL_ENTRIES, Table);
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
        Index = ObpNextUsedEntry(Table, Index);
        if (Index >= Table->Capacity) {
            KeReleaseSpinLock(&Table->Lock, OldIrql);
            break;
        }
        PVOID Object = ObpRemoveEntry(Table, Index);
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
        ULONG SeenCapacity = Table->Capacity;
        KeReleaseSpinLock(&Table->Lock, OldIrql);
        NTSTATUS Status = ObpGrowHandleTable(Table, SeenCapacity);
        if (!NT_SUCCESS(Status))
            return Status;
    }

    PHANDLE_TABLE_ENTRY Entry = &Table->Entries[Index];
    Entry->Object = Object;
    Entry->GrantedAccess = GrantedAccess;
    Entry->Attributes = Attributes;
    ObpAddHandleReference(Object);
    Table->HandleCount++;
    if (Table->HandleCount > Table->HighWaterHandleCount)
        Table->HighWaterHandleCount = Table->HandleCount;
    Table->FreeHint = Index + 1;
    KeReleaseSpinLock(&Table->Lock, OldIrql);

    *Handle = OB_INDEX_TO_HANDLE(Index);
    return STATUS_SUCCESS;
}

NTSTATUS ObReferenceObjectByHandleInTableEx(PHANDLE_TABLE Table, HANDLE Handle,
                                            POBJECT_TYPE ObjectType, PVOID *Object,
                                            POBJECT_HANDLE_INFORMATION HandleInformation)
{
    ASSERT(KeGetCurrentIrql() <= DISPATCH_LEVEL);
    ASSERT(Table != NULL && Object != NULL);

    NTSTATUS Status;
    HANDLE_TABLE_ENTRY Copy = {0};
    KIRQL OldIrql;
    KeAcquireSpinLock(&Table->Lock, &OldIrql);
    PHANDLE_TABLE_ENTRY Entry = ObpLookupEntry(Table, Handle);
    if (Entry == NULL) {
        Status = STATUS_INVALID_HANDLE;
    } else if (ObjectType != NULL && OBJECT_TO_OBJECT_HEADER(Entry->Object)->Type != ObjectType) {
        Status = STATUS_OBJECT_TYPE_MISMATCH;
    } else {
        /* Referenced under the lock: a concurrent close cannot drop the
         * handle's reference between the lookup and ours. */
        Copy = *Entry;
        ObReferenceObject(Copy.Object);
        Status = STATUS_SUCCESS;
    }
    KeReleaseSpinLock(&Table->Lock, OldIrql);

    *Object = Copy.Object;
    if (NT_SUCCESS(Status) && HandleInformation != NULL) {
        HandleInformation->HandleAttributes = Copy.Attributes;
        HandleInformation->GrantedAccess = Copy.GrantedAccess;
    }
    return Status;
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
    PVOID Object = ObpRemoveEntry(Table, (ULONG)(Entry - Table->Entries));
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
    BOOLEAN Reused = Entry != NULL && Entry->Object == Object;
    if (Reused) {
        Entry->GrantedAccess = GrantedAccess;
        Entry->Attributes = Attributes;
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
        ULONG SeenCapacity = Parent->Capacity;
        KeReleaseSpinLock(&Parent->Lock, OldIrql);

        NTSTATUS Status = ObpAllocateHandleTable(SeenCapacity, &New);
        if (!NT_SUCCESS(Status)) {
            *Child = NULL;
            return Status;
        }
        KeAcquireSpinLock(&Parent->Lock, &OldIrql);
        if (Parent->Capacity == SeenCapacity)
            break;
        KeReleaseSpinLock(&Parent->Lock, OldIrql);
        ObpFreeHandleTable(New);
    }

    for (ULONG Index = 0; Index < Parent->Capacity; Index++) {
        const HANDLE_TABLE_ENTRY *Entry = &Parent->Entries[Index];
        if (Entry->Object == NULL || !(Entry->Attributes & OBJ_INHERIT))
            continue;
        New->Entries[Index] = *Entry;
        ObpAddHandleReference(Entry->Object);
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
        HANDLE_TABLE_ENTRY Copy = Table->Entries[Index];
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

/*
 * The look-up every handle-taking system call makes, in one pass: the
 * handle value is checked once, the entry read, type- and access-checked
 * and referenced under the table lock, and a refused access takes no
 * reference to drop again. Table is the handle's table; Value the handle
 * without the kernel bit.
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

    NTSTATUS Status;
    KIRQL OldIrql;
    KeAcquireSpinLock(&Table->Lock, &OldIrql);
    PHANDLE_TABLE_ENTRY Entry = NULL;
    PVOID Body = NULL;
    if (Index < Table->Capacity) {
        Entry = &Table->Entries[Index];
        Body = Entry->Object;
    }
    if (Body == NULL) {
        Status = STATUS_INVALID_HANDLE;
    } else if (ObjectType != NULL && OBJECT_TO_OBJECT_HEADER(Body)->Type != ObjectType) {
        Status = STATUS_OBJECT_TYPE_MISMATCH;
    } else if (AccessMode != KernelMode && (DesiredAccess & ~Entry->GrantedAccess) != 0) {
        Status = STATUS_ACCESS_DENIED;
    } else {
        /* Referenced under the lock: a concurrent close cannot drop the
         * handle's reference between the look-up and ours. */
        ObReferenceObject(Body);
        if (HandleInformation != NULL) {
            HandleInformation->HandleAttributes = Entry->Attributes;
            HandleInformation->GrantedAccess = Entry->GrantedAccess;
        }
        *Object = Body;
        Status = STATUS_SUCCESS;
    }
    KeReleaseSpinLock(&Table->Lock, OldIrql);
    return Status;
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
 * nothing before the table lock is released (the rare cases go to
 * ObpReferenceObjectByHandleSlow as a tail call), so it saves no
 * registers: the table is the current thread's process's
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
