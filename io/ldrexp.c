/*
 * ldrexp.c - what a loadable driver may call: the kernel's export table,
 * and the pool routines' per-driver thunks.
 *
 * The table is explicit: a name is exported only when it is listed here
 * (IOP_EXPORT below), whatever other symbols the kernel has. These are the
 * NT routines of the public headers, plus the few Ki/Obp helpers their
 * static inline parts call (ObDereferenceObject's slow path, the assertion
 * bugcheck) - a driver compiles those inlines into itself. The IRQL and
 * spin-lock routines are the exception: a driver calls them (kernel/ke.h,
 * PAGODA_LOADABLE_DRIVER), so that Driver Verifier's IRQL checking can
 * stand in for them (kernel/vfirql.c): under VERIFIER_FORCE_IRQL_CHECKING
 * the loader binds an export's Verified routine instead of its own. A driver importing anything else fails to load
 * (STATUS_DRIVER_ENTRYPOINT_NOT_FOUND, io/ldr.c).
 *
 * Pool tracking. ExAllocatePoolWithTag, ExAllocatePool2, ExFreePoolWithTag
 * and ExFreePool are not bound to the pool itself but to a thunk the loader
 * writes into each driver's text (IOP_THUNK_SIZE bytes):
 *
 *     mov  <spare register>, <the driver's IOP_LDR_MODULE>
 *     mov  rax, IopLdrAllocatePoolWithTag (or ...)
 *     jmp  rax
 *
 * The spare register is the first argument register the routine does not
 * use (System V: RDI, RSI, RDX, RCX), so the tracker receives the module
 * as one more argument and the caller's arguments untouched. The tracker
 * calls the pool, then records the block (IOP_LDR_POOL_RECORD, tag "LdrP")
 * in the module's list; a free through the thunks removes it. At unload,
 * what is left is the driver's leak (io/ldrsys.c). Blocks the driver frees
 * that it did not allocate (an IRP's buffer, say) are simply freed.
 *
 * IRQL: the trackers run at the caller's IRQL (<= DISPATCH_LEVEL; paged
 * pool below it) and take the module's PoolLock, a spin lock.
 */
#include "ldrp.h"
#include "../ps/ps.h"
#include "../rtl/rtl.h"

static PVOID IopLdrTrack(PIOP_LDR_MODULE Module, PVOID Block, SIZE_T Bytes, ULONG Tag,
                         POOL_TYPE PoolType)
{
    if (!Block)
        return NULL;
    IOP_LDR_POOL_RECORD *Record =
        ExAllocatePoolWithTag(NonPagedPool, sizeof(*Record), IOP_LDR_POOL_TAG);
    if (!Record) {
        /* Untracked, it could not be reported: fail the allocation. */
        ExFreePoolWithTag(Block, Tag);
        return NULL;
    }
    Record->Block = Block;
    Record->Bytes = Bytes;
    Record->Tag = Tag;
    Record->PoolType = PoolType;
    KIRQL OldIrql;
    KeAcquireSpinLock(&Module->PoolLock, &OldIrql);
    InsertTailList(&Module->PoolAllocations, &Record->Links);
    Module->PoolCount++;
    Module->PoolBytes += Bytes;
    KeReleaseSpinLock(&Module->PoolLock, OldIrql);
    return Block;
}

static void IopLdrUntrack(PIOP_LDR_MODULE Module, PVOID Block)
{
    IOP_LDR_POOL_RECORD *Found = NULL;
    KIRQL OldIrql;
    KeAcquireSpinLock(&Module->PoolLock, &OldIrql);
    for (PLIST_ENTRY E = Module->PoolAllocations.Flink; E != &Module->PoolAllocations;
         E = E->Flink) {
        IOP_LDR_POOL_RECORD *Record = CONTAINING_RECORD(E, IOP_LDR_POOL_RECORD, Links);
        if (Record->Block == Block) {
            RemoveEntryList(&Record->Links);
            Module->PoolCount--;
            Module->PoolBytes -= Record->Bytes;
            Found = Record;
            break;
        }
    }
    KeReleaseSpinLock(&Module->PoolLock, OldIrql);
    if (Found)
        ExFreePoolWithTag(Found, IOP_LDR_POOL_TAG);
}

static PVOID IopLdrAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T Bytes, ULONG Tag,
                                       PIOP_LDR_MODULE Module)
{
    return IopLdrTrack(Module, ExAllocatePoolWithTag(PoolType, Bytes, Tag), Bytes, Tag, PoolType);
}

static PVOID IopLdrAllocatePool2(ULONG64 Flags, SIZE_T Bytes, ULONG Tag, PIOP_LDR_MODULE Module)
{
    POOL_TYPE Type = (Flags & POOL_FLAG_PAGED) ? PagedPool : NonPagedPool;
    return IopLdrTrack(Module, ExAllocatePool2(Flags, Bytes, Tag), Bytes, Tag, Type);
}

static void IopLdrFreePoolWithTag(PVOID P, ULONG Tag, PIOP_LDR_MODULE Module)
{
    IopLdrUntrack(Module, P);
    ExFreePoolWithTag(P, Tag);
}

static void IopLdrFreePool(PVOID P, PIOP_LDR_MODULE Module)
{
    IopLdrUntrack(Module, P);
    ExFreePool(P);
}

/* Exported as it is; through a thunk with the module in Register. */
#define IOP_EXPORT(Name) \
    { \
#Name, (PVOID) & (Name), IopExportDirect, 0, NULL \
    }
#define IOP_EXPORT_THUNK(Name, Tracker, Kind, Slot) \
    { \
#Name, (PVOID)(Tracker), Kind, Slot, NULL \
    }
/* Exported as Routine, or under VERIFIER_FORCE_IRQL_CHECKING as Verified. */
#define IOP_EXPORT_VERIFIED(Name, Routine, Verified) \
    { \
#Name, (PVOID)(Routine), IopExportDirect, 0, (PVOID)(Verified) \
    }

const IOP_EXPORT IopExportTable[] = {
    /* Pool, tracked per driver. */
    IOP_EXPORT_THUNK(ExAllocatePoolWithTag, IopLdrAllocatePoolWithTag, IopExportThunkRcx, 0),
    IOP_EXPORT_THUNK(ExAllocatePool2, IopLdrAllocatePool2, IopExportThunkRcx, 1),
    IOP_EXPORT_THUNK(ExFreePoolWithTag, IopLdrFreePoolWithTag, IopExportThunkRdx, 2),
    IOP_EXPORT_THUNK(ExFreePool, IopLdrFreePool, IopExportThunkRsi, 3),
    /* The I/O manager. */
    IOP_EXPORT(IoCreateDevice), IOP_EXPORT(IoDeleteDevice), IOP_EXPORT(IoCreateSymbolicLink),
    IOP_EXPORT(IoDeleteSymbolicLink), IOP_EXPORT(IoAttachDeviceToDeviceStack),
    IOP_EXPORT(IoDetachDevice), IOP_EXPORT(IoGetAttachedDevice),
    IOP_EXPORT(IoGetAttachedDeviceReference), IOP_EXPORT(IoAllocateIrp), IOP_EXPORT(IoFreeIrp),
    IOP_EXPORT(IoInitializeIrp), IOP_EXPORT(IoCallDriver), IOP_EXPORT(IoCompleteRequest),
    IOP_EXPORT(IoBuildSynchronousFsdRequest), IOP_EXPORT(IoBuildDeviceIoControlRequest),
    IOP_EXPORT(IoAcquireCancelSpinLock), IOP_EXPORT(IoReleaseCancelSpinLock),
    IOP_EXPORT(IoCancelIrp), IOP_EXPORT(IoAllocateMdl), IOP_EXPORT(IoFreeMdl),
    IOP_EXPORT(IoBuildPartialMdl), IOP_EXPORT(IoCheckShareAccess), IOP_EXPORT(IoSetShareAccess),
    IOP_EXPORT(IoUpdateShareAccess), IOP_EXPORT(IoRemoveShareAccess),
    IOP_EXPORT(IoDeviceObjectType), IOP_EXPORT(IoDriverObjectType),
    /* The kernel. */
    IOP_EXPORT(KeBugCheckEx), IOP_EXPORT(KeInitializeEvent),
    IOP_EXPORT_VERIFIED(KeRaiseIrqlToDpcLevel, KeRaiseIrqlToDpcLevel, VfRaiseIrqlToDpcLevel),
    IOP_EXPORT(KeSetEvent), IOP_EXPORT(KeResetEvent), IOP_EXPORT(KeClearEvent),
    IOP_EXPORT(KeReadStateEvent), IOP_EXPORT(KeWaitForSingleObject),
    IOP_EXPORT(KeWaitForMultipleObjects), IOP_EXPORT(KeDelayExecutionThread),
    IOP_EXPORT(KeInitializeDpc), IOP_EXPORT(KeInsertQueueDpc), IOP_EXPORT(KeRemoveQueueDpc),
    IOP_EXPORT(KeInitializeTimer), IOP_EXPORT(KeInitializeTimerEx), IOP_EXPORT(KeSetTimer),
    IOP_EXPORT(KeSetTimerEx), IOP_EXPORT(KeCancelTimer), IOP_EXPORT(KeReadStateTimer),
    IOP_EXPORT(KeQueryTickCount), IOP_EXPORT(KeQueryInterruptTime),
    IOP_EXPORT(KeInitializeSpinLock), IOP_EXPORT(KeInitializeMutex), IOP_EXPORT(KeReleaseMutex),
    IOP_EXPORT(KeInitializeSemaphore), IOP_EXPORT(KeReleaseSemaphore),
    IOP_EXPORT(KeEnterCriticalRegion), IOP_EXPORT(KeLeaveCriticalRegion),
    IOP_EXPORT(KeGetCurrentThread),
    /* Spin locks: out of line for drivers (kernel/ke.h), checked by
     * Driver Verifier's IRQL checking when it is on (kernel/vfirql.c). */
    IOP_EXPORT_VERIFIED(KeAcquireSpinLockRaiseToDpc, KiExportAcquireSpinLockRaiseToDpc,
                        VfAcquireSpinLockRaiseToDpc),
    IOP_EXPORT_VERIFIED(KeReleaseSpinLock, KiExportReleaseSpinLock, VfReleaseSpinLock),
    IOP_EXPORT_VERIFIED(KeAcquireSpinLockAtDpcLevel, KiExportAcquireSpinLockAtDpcLevel,
                        VfAcquireSpinLockAtDpcLevel),
    IOP_EXPORT_VERIFIED(KeReleaseSpinLockFromDpcLevel, KiExportReleaseSpinLockFromDpcLevel,
                        VfReleaseSpinLockFromDpcLevel),
    /* The IRQL: out of line for drivers as well (kernel/ke.h), checked the same way. */
    IOP_EXPORT_VERIFIED(KfRaiseIrql, KiExportRaiseIrql, VfRaiseIrql),
    IOP_EXPORT_VERIFIED(KfLowerIrql, KiExportLowerIrql, VfLowerIrql),
    /* Objects, processes, memory. */
    IOP_EXPORT(ObReferenceObjectByName), IOP_EXPORT(ObReferenceObjectByPointer),
    IOP_EXPORT(ObReferenceObjectByHandle), IOP_EXPORT(ObpDereferenceObjectSlow),
    IOP_EXPORT(ObMakeTemporaryObject), IOP_EXPORT(ZwClose), IOP_EXPORT(PsCreateSystemThread),
    IOP_EXPORT(PsTerminateSystemThread), IOP_EXPORT(PsGetCurrentProcess),
    IOP_EXPORT(PsGetCurrentProcessId), IOP_EXPORT(PsGetCurrentThreadId),
    IOP_EXPORT(MmProbeAndLockPages), IOP_EXPORT(MmUnlockPages),
    IOP_EXPORT(MmMapLockedPagesSpecifyCache), IOP_EXPORT(MmUnmapLockedPages),
    IOP_EXPORT(MmBuildMdlForNonPagedPool), IOP_EXPORT(MmGetPhysicalAddress),
    IOP_EXPORT(MmIsAddressValid),
    IOP_EXPORT(MmGetPteValue), /* Pagoda's: the teaching driver's safety net (drivers/delay) */
    IOP_EXPORT(ProbeForRead), IOP_EXPORT(ProbeForWrite),
    /* The run-time library and the debugger's output. */
    IOP_EXPORT(memcpy), IOP_EXPORT(memmove), IOP_EXPORT(memset), IOP_EXPORT(memcmp),
    IOP_EXPORT(strlen), IOP_EXPORT(strcmp), IOP_EXPORT(RtlStringCopy), IOP_EXPORT(RtlFormatBuffer),
    IOP_EXPORT(DbgPrint), IOP_EXPORT(KiAssertionFailed), /* ASSERT in a driver (NT: RtlAssert) */
};
const ULONG IopExportCount = ARRAYSIZE(IopExportTable);

/* IopFindExport: the contract is in io/ldrp.h. */
const IOP_EXPORT *IopFindExport(const char *Name)
{
    for (ULONG i = 0; i < IopExportCount; i++) {
        if (strcmp(IopExportTable[i].Name, Name) == 0)
            return &IopExportTable[i];
    }
    return NULL;
}

/* IopWriteExportThunk: the contract is in io/ldrp.h. */
void IopWriteExportThunk(PUCHAR Code, const IOP_EXPORT *Export, PIOP_LDR_MODULE Module)
{
    /* REX.W + B8+r: mov r64, imm64 (Intel SDM Vol. 2B, MOV); FF /4: jmp r/m64. */
    static const UCHAR Register[] = {
        [IopExportThunkRcx] = 0xB9, [IopExportThunkRdx] = 0xBA, [IopExportThunkRsi] = 0xBE};
    ULONG64 ModuleValue = (ULONG64)Module, Target = (ULONG64)Export->Address;

    ASSERT(Export->Kind != IopExportDirect && Export->ThunkSlot < IOP_MAX_THUNKS);
    memset(Code, 0xCC, IOP_THUNK_SIZE); /* int3 after the jump */
    Code[0] = 0x48;
    Code[1] = Register[Export->Kind];
    memcpy(Code + 2, &ModuleValue, 8);
    Code[10] = 0x48;
    Code[11] = 0xB8;
    memcpy(Code + 12, &Target, 8);
    Code[20] = 0xFF;
    Code[21] = 0xE0;
}
