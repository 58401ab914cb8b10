/*
 * mp.c - starting the application processors, and the table of processors.
 *
 * The ACPI MADT (hal/acpi.c) lists one local APIC per processor. For each
 * one other than the boot processor, KiStartApplicationProcessors:
 *   1. gives it what it needs of its own (kept for ever once it claims its
 *      start, see 4): a kernel stack and three IST stacks (MmCreateKernelStack: guard pages below), and
 *      a KI_PROCESSOR_BLOCK in nonpaged pool with its GDT, TSS and KPCR;
 *   2. fills the startup block in the trampoline's frame (below 1 MiB,
 *      ki.h) with that processor's APIC id, stack, entry and argument;
 *   3. sends INIT, STARTUP, STARTUP (HalStartProcessor);
 *   4. waits up to KI_AP_REPORT_TIMEOUT_US for it to report (its State
 *      becomes KProcessorIdle); a processor that does not is reported
 *      and left out (State KProcessorFailed). Whether its stacks can be
 *      freed then is settled by the startup block's Claim word, which the
 *      processor takes in the trampoline before it touches them and the
 *      boot processor takes when it gives up (ki.h).
 * One processor at a time: the startup block is one.
 *
 * The processor runs boot/aptrampoline.asm (real -> protected -> long
 * mode) and then KiStartApplicationProcessor here, which loads the
 * kernel's CR3, its own GDT/TSS, the shared IDT, the boot processor's
 * protection features (NX, WP, SMEP, SMAP, PGE: kernel/cpu.c), GS base =
 * its KPCR, enables its local APIC with everything masked, reports, and
 * IDLES: at DISPATCH_LEVEL, sti; hlt, woken only by IPIs (kernel/ipi.c),
 * whose requests it runs. From its report on it is in KeActiveProcessors
 * and counted in KeNumberProcessors: the processors that run kernel code.
 *
 * Why no threads: the scheduler is single-processor: the ready queues
 * and the current thread live in the one KiPcr (docs/smp.md §11 lists
 * what still relies on that). So an application processor runs no thread
 * and takes no device interrupt; it runs IPI requests, which take real
 * spin locks (kernel/lock.c) and touch only what their sender gives them,
 * and the DPCs targeted at it (kernel/dpc.c: its own queue, drained in
 * its idle loop), which may signal dispatcher objects under the
 * dispatcher spin lock (kernel/ki.h).
 *
 * Locking: the table is written by the boot processor during boot (the
 * starting processor writes only its own entry: Cr0, Cr4, Efer, then
 * State with release order, which the boot processor reads with acquire
 * order); after KiStartApplicationProcessors it is read-only.
 */
#include "ki.h"
#include "../mm/mm.h"
#include "../rtl/rtl.h"

CHAR KeNumberProcessors = 1;
KAFFINITY KeActiveProcessors = 1;
ULONG KeRegisteredProcessors = 1;
PKPRCB KiProcessorBlock[KE_MAXIMUM_PROCESSORS] = {&KiPcr.Prcb};

ULONG KeGetCurrentProcessorNumber(void)
{
    return KeGetCurrentPrcb()->Number;
}

static KPROCESSOR_INFORMATION KiProcessorTable[KE_MAXIMUM_PROCESSORS] = {
    {.Number = 0, .State = KProcessorRunning},
};

#define KI_AP_REPORT_TIMEOUT_US 1000000 /* generous: TCG on a busy host is slow */
#define KI_AP_POLL_US 100
#define KI_PROCESSOR_TAG POOL_TAG('P', 'r', 'c', 'b')
#define KI_IST_PAGES (KI_IST_STACK_SIZE / PAGE_SIZE)

/* What one application processor owns. Never freed once the processor
 * has claimed its start (KI_AP_STARTUP_BLOCK.Claim): even one that then
 * fails to report may still be on its way up and use it. */
typedef struct _KI_PROCESSOR_BLOCK {
    KI_PROCESSOR_TABLES Tables;
    KPCR Pcr;
    ULONG64 SystemCr3;
    PVOID StackTop;
    ULONG64 IstTops[3];
    PKPROCESSOR_INFORMATION Information;
} KI_PROCESSOR_BLOCK, *PKI_PROCESSOR_BLOCK;

BOOLEAN KeQueryProcessorInformation(ULONG Number, PKPROCESSOR_INFORMATION Information)
{
    if (Number >= KeRegisteredProcessors)
        return FALSE;
    *Information = KiProcessorTable[Number];
    Information->State = __atomic_load_n(&KiProcessorTable[Number].State, __ATOMIC_ACQUIRE);
    return TRUE;
}

ULONG KeCountProcessors(KPROCESSOR_STATE State)
{
    ULONG Count = 0;
    for (ULONG i = 0; i < KeRegisteredProcessors; i++)
        Count += __atomic_load_n(&KiProcessorTable[i].State, __ATOMIC_ACQUIRE) == State;
    return Count;
}

/*
 * What an application processor does once it has reported: at
 * DISPATCH_LEVEL with interrupts on, halted until an IPI comes (the only
 * interrupt its local APIC lets through: the timer and LINT pins are
 * masked, device interrupts go to the boot processor). The IPI's handler
 * (kernel/ipi.c) runs the request, if any, and returns after the hlt;
 * then the loop drains this processor's DPC queue (kernel/dpc.c: a DPC
 * targeted here comes with a bare IPI) and halts again. The request flag
 * is read with interrupts off, so a DPC queued after the read comes with
 * an IPI the hlt will take (sti's shadow: no wake-up lost).
 * DISPATCH_LEVEL, not PASSIVE_LEVEL: there is no thread here to run APCs
 * for, and DPCs run at DISPATCH_LEVEL.
 */
static __attribute__((noreturn)) void KiApplicationProcessorIdle(void)
{
    PKPCR Pcr = KeGetPcr();
    __writecr8(DISPATCH_LEVEL);
    for (;;) {
        _disable();
        if (*(volatile BOOLEAN *)&Pcr->DpcInterruptRequested) {
            _enable();
            KiRetireDpcList();
            continue;
        }
        __asm__ volatile("sti; hlt" ::: "memory");
    }
}

/*
 * The application processor's first C code, on its own stack, still on the
 * trampoline's temporary page tables (which map the kernel's system half,
 * so this code and Block are reachable). Never returns.
 */
static __attribute__((noreturn)) void KiStartApplicationProcessor(PKI_PROCESSOR_BLOCK Block)
{
    /* The outermost frame: the trampoline jumped here (no caller), so tell
     * gdb's unwinder there is no return address (docs/smp.md: an idle
     * processor's backtrace in gdb ends here). */
    __asm__ volatile(".cfi_undefined rip");
    __writecr3(Block->SystemCr3);
    KiInitializeProcessorTables(&Block->Tables, Block->IstTops, &Block->Pcr);
    HalInitializeApplicationProcessor(KI_SPURIOUS_VECTOR);
    Block->Information->Cr0 = __readcr0();
    Block->Information->Cr4 = __readcr4();
    Block->Information->Efer = __readmsr(MSR_EFER);
    __atomic_store_n(&Block->Information->State, KProcessorIdle, __ATOMIC_RELEASE);
    KiApplicationProcessorIdle();
}

/* Fill the table from the MADT: the boot processor is number 0, the others
 * follow in the MADT's order. */
static void KiRegisterProcessors(void)
{
    UCHAR BootApicId = HalGetCurrentApicId();
    ULONG Count = 1;

    KiProcessorTable[0].ApicId = BootApicId;
    KiPcr.Prcb.Number = 0;
    KiPcr.Prcb.ApicId = BootApicId;
    KiPcr.Prcb.SetMember = 1;
    KiPcr.Prcb.DirectoryTableBase = __readcr3() & ~0xFFFULL;
    for (ULONG i = 0; i < HalMadt.ProcessorCount && Count < KE_MAXIMUM_PROCESSORS; i++) {
        if (HalMadt.Processors[i].ApicId == BootApicId) {
            KiProcessorTable[0].AcpiProcessorId = HalMadt.Processors[i].AcpiProcessorId;
            continue;
        }
        PKPROCESSOR_INFORMATION Info = &KiProcessorTable[Count];
        Info->Number = Count++;
        Info->ApicId = HalMadt.Processors[i].ApicId;
        Info->AcpiProcessorId = HalMadt.Processors[i].AcpiProcessorId;
        Info->State = KProcessorNotStarted;
    }
    KeRegisteredProcessors = Count;
}

/* TRUE when the loader's memory map says the trampoline's frames are RAM. */
static BOOLEAN KiTrampolineFramesUsable(void)
{
    ULONG64 Start = KI_AP_TRAMPOLINE_PHYSICAL;
    ULONG64 End = Start + KI_AP_TRAMPOLINE_PAGES * PAGE_SIZE;
    for (ULONG i = 0; i < KeLoaderBlock.MemoryRangeCount; i++) {
        PLOADER_MEMORY_RANGE Range = &KeLoaderBlock.MemoryRanges[i];
        if (Range->Type == LoaderMemoryAvailable && Range->Base <= Start &&
            Range->Base + Range->Length >= End)
            return TRUE;
    }
    return FALSE;
}

/* Copy the trampoline into its frame and build the temporary page tables:
 * PML4[256..511] = the kernel's (the system half, the same in every
 * process), PML4[0] -> PDPT[0] -> PD[0] = a 2 MiB identity page for the
 * trampoline. Mapping is the four frames, mapped. */
static BOOLEAN KiPrepareTrampoline(PUCHAR Mapping)
{
    SIZE_T CodeSize = (SIZE_T)(KiApTrampolineEnd - KiApTrampolineStart);
    PHYSICAL_ADDRESS Pml4Physical = {.QuadPart = (LONGLONG)(__readcr3() & ~0xFFFULL)};
    if (CodeSize > KI_AP_STARTUP_BLOCK_OFFSET)
        return FALSE;
    const ULONG64 *KernelPml4 = MmMapIoSpace(Pml4Physical, PAGE_SIZE, FALSE);
    if (!KernelPml4)
        return FALSE;

    memset(Mapping, 0, KI_AP_TRAMPOLINE_PAGES * PAGE_SIZE);
    memcpy(Mapping, KiApTrampolineStart, CodeSize);
    ULONG64 *Pml4 = (ULONG64 *)(Mapping + 1 * PAGE_SIZE);
    ULONG64 *Pdpt = (ULONG64 *)(Mapping + 2 * PAGE_SIZE);
    ULONG64 *Pd = (ULONG64 *)(Mapping + 3 * PAGE_SIZE);
    for (ULONG i = 256; i < 512; i++)
        Pml4[i] = KernelPml4[i];
    MmUnmapIoSpace((PVOID)KernelPml4, PAGE_SIZE);
    Pml4[0] = KI_AP_PDPT_PHYSICAL | MM_PTE_VALID | MM_PTE_WRITE;
    Pdpt[0] = KI_AP_PD_PHYSICAL | MM_PTE_VALID | MM_PTE_WRITE;
    Pd[0] = 0 | MM_PTE_VALID | MM_PTE_WRITE | MM_PTE_LARGE_PAGE;
    return TRUE;
}

static void KiFreeProcessorBlock(PKI_PROCESSOR_BLOCK Block)
{
    if (Block->StackTop)
        MmDeleteKernelStack(Block->StackTop, KI_AP_STACK_PAGES);
    for (ULONG i = 0; i < 3; i++) {
        if (Block->IstTops[i])
            MmDeleteKernelStack((PVOID)Block->IstTops[i], KI_IST_PAGES);
    }
    ExFreePoolWithTag(Block, KI_PROCESSOR_TAG);
}

/* A processor's block, stacks and KPCR; NULL when memory runs out. */
static PKI_PROCESSOR_BLOCK KiAllocateProcessorBlock(PKPROCESSOR_INFORMATION Info)
{
    PKI_PROCESSOR_BLOCK Block =
        ExAllocatePoolWithTag(NonPagedPool, sizeof(KI_PROCESSOR_BLOCK), KI_PROCESSOR_TAG);
    if (!Block)
        return NULL;
    memset(Block, 0, sizeof(*Block));
    Block->StackTop = MmCreateKernelStack(KI_AP_STACK_PAGES);
    for (ULONG i = 0; i < 3; i++)
        Block->IstTops[i] = (ULONG64)MmCreateKernelStack(KI_IST_PAGES);
    if (!Block->StackTop || !Block->IstTops[0] || !Block->IstTops[1] || !Block->IstTops[2]) {
        KiFreeProcessorBlock(Block);
        return NULL;
    }
    Block->SystemCr3 = __readcr3();
    Block->Information = Info;
    Block->Pcr.Self = &Block->Pcr;
    Block->Pcr.Prcb.Number = Info->Number;
    Block->Pcr.Prcb.ApicId = Info->ApicId;
    Block->Pcr.Prcb.SetMember = (KAFFINITY)1 << Info->Number;
    Block->Pcr.Prcb.DirectoryTableBase = Block->SystemCr3 & ~0xFFFULL;
    InitializeListHead(&Block->Pcr.Prcb.DpcListHead);
    for (ULONG i = 0; i < MAXIMUM_PRIORITY; i++)
        InitializeListHead(&Block->Pcr.DispatcherReadyListHead[i]);
    return Block;
}

/* Fill the startup block in the trampoline's frame for Info's processor. */
static volatile KI_AP_STARTUP_BLOCK *
KiFillStartupBlock(PUCHAR Mapping, PKPROCESSOR_INFORMATION Info, PKI_PROCESSOR_BLOCK Block)
{
    volatile KI_AP_STARTUP_BLOCK *Startup =
        (volatile KI_AP_STARTUP_BLOCK *)(Mapping + KI_AP_STARTUP_BLOCK_OFFSET);
    Startup->Pml4 = (ULONG)KI_AP_PML4_PHYSICAL;
    Startup->ApicId = Info->ApicId;
    Startup->Claim = 0;
    Startup->Stack = (ULONG64)Block->StackTop;
    Startup->Entry = (ULONG64)KiStartApplicationProcessor;
    Startup->Argument = (ULONG64)Block;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return Startup;
}

/* Give up on a start: if the processor has not claimed it, it never will
 * (it parks in the trampoline), so its stacks and block go back; if it
 * has, they stay (it runs on them). */
static void KiAbandonStart(volatile KI_AP_STARTUP_BLOCK *Startup, PKI_PROCESSOR_BLOCK Block)
{
    ULONG Expected = 0;
    if (__atomic_compare_exchange_n(&Startup->Claim, &Expected, KI_AP_ABANDONED, FALSE,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        KiFreeProcessorBlock(Block);
}

/* Start one processor and wait up to Timeout us for it to report. */
static void KiStartProcessor(PKPROCESSOR_INFORMATION Info, PUCHAR Mapping, ULONG Timeout)
{
    PKI_PROCESSOR_BLOCK Block = KiAllocateProcessorBlock(Info);
    if (!Block) {
        Info->State = KProcessorFailed;
        DbgPrint("warning: SMP: no memory for processor %u (APIC id %u)'s stacks; left out\n",
                 Info->Number, Info->ApicId);
        return;
    }
    volatile KI_AP_STARTUP_BLOCK *Startup = KiFillStartupBlock(Mapping, Info, Block);

    /* INIT's 10 ms and the STARTUPs' 2 x 200 us count towards the time. */
    ULONG Waited = 10400;
    BOOLEAN Sent = HalStartProcessor(Info->ApicId, KI_AP_TRAMPOLINE_PHYSICAL);
    while (Sent && __atomic_load_n(&Info->State, __ATOMIC_ACQUIRE) != KProcessorIdle &&
           Waited < Timeout) {
        KeStallExecutionProcessor(KI_AP_POLL_US);
        Waited += KI_AP_POLL_US;
    }
    if (__atomic_load_n(&Info->State, __ATOMIC_ACQUIRE) != KProcessorIdle) {
        Info->State = KProcessorFailed;
        KiAbandonStart(Startup, Block);
        DbgPrint("warning: SMP: processor %u (APIC id %u) %s; left out\n", Info->Number,
                 Info->ApicId, Sent ? "did not report in time" : "was not sent its start-up IPIs");
        return;
    }
    Info->StartMicroseconds = Waited;
    if (Info->Number < KE_MAXIMUM_PROCESSORS && KiProcessorTable + Info->Number == Info) {
        /* From here on it answers IPIs: one of the active processors. */
        KiProcessorBlock[Info->Number] = &Block->Pcr.Prcb;
        __atomic_or_fetch(&KeActiveProcessors, Block->Pcr.Prcb.SetMember, __ATOMIC_SEQ_CST);
        KeNumberProcessors++;
    }
    KdPrintBoot("SMP: processor %u (APIC id %u) reported within %u us of its INIT IPI, idle\n",
                Info->Number, Info->ApicId, Waited);
}

/* Map the trampoline's frames and (re)write the trampoline and its page
 * tables; NULL when the frames are not RAM or cannot be mapped. */
static PUCHAR KiMapTrampoline(void)
{
    PHYSICAL_ADDRESS Physical = {.QuadPart = KI_AP_TRAMPOLINE_PHYSICAL};
    PUCHAR Mapping = NULL;
    if (KiTrampolineFramesUsable())
        Mapping = MmMapIoSpace(Physical, KI_AP_TRAMPOLINE_PAGES * PAGE_SIZE, FALSE);
    if (Mapping && !KiPrepareTrampoline(Mapping)) {
        MmUnmapIoSpace(Mapping, KI_AP_TRAMPOLINE_PAGES * PAGE_SIZE);
        Mapping = NULL;
    }
    return Mapping;
}

/* A processor given up on may still arrive: the startup block then names
 * nobody, so it parks in the trampoline. */
static void KiUnmapTrampoline(PUCHAR Mapping)
{
    ((volatile KI_AP_STARTUP_BLOCK *)(Mapping + KI_AP_STARTUP_BLOCK_OFFSET))->ApicId = 0xFFFFFFFF;
    MmUnmapIoSpace(Mapping, KI_AP_TRAMPOLINE_PAGES * PAGE_SIZE);
}

void KiStartProcessorByApicId(PKPROCESSOR_INFORMATION Info, ULONG TimeoutMicroseconds)
{
    PUCHAR Mapping = KiMapTrampoline();
    Info->StartMicroseconds = 0;
    if (!Mapping) {
        Info->State = KProcessorFailed;
        return;
    }
    KiStartProcessor(Info, Mapping, TimeoutMicroseconds);
    KiUnmapTrampoline(Mapping);
}

/* Start every registered processor but the boot one, one at a time. */
static void KiStartRegisteredProcessors(void)
{
    PUCHAR Mapping = KiMapTrampoline();
    if (!Mapping) {
        DbgPrint("warning: SMP: the trampoline frames at 0x%llx cannot be used; starting no "
                 "other processor\n",
                 KI_AP_TRAMPOLINE_PHYSICAL);
        for (ULONG i = 1; i < KeRegisteredProcessors; i++)
            KiProcessorTable[i].State = KProcessorFailed;
        return;
    }
    for (ULONG i = 1; i < KeRegisteredProcessors; i++)
        KiStartProcessor(&KiProcessorTable[i], Mapping, KI_AP_REPORT_TIMEOUT_US);
    KiUnmapTrampoline(Mapping);
}

void KiStartApplicationProcessors(void)
{
    KiRegisterProcessors();
    if (!HalMadt.Present) {
        DbgPrint("warning: SMP: no ACPI MADT, so no other processor is known; running on "
                 "the boot processor alone\n");
        return;
    }
    if (KeBootOptions.NoSmp) {
        KdPrintBoot("SMP: nosmp: %u processor%s in the MADT, only the boot processor "
                    "started\n",
                    KeRegisteredProcessors, KeRegisteredProcessors == 1 ? "" : "s");
        return;
    }
    if (KeRegisteredProcessors > 1)
        KiStartRegisteredProcessors();
    KdPrintBoot("SMP: %u processor%s in the MADT: 1 running (the boot processor, APIC id "
                "%u), %u idle (answering IPIs), %u failed; the scheduler uses 1\n",
                KeRegisteredProcessors, KeRegisteredProcessors == 1 ? "" : "s",
                KiProcessorTable[0].ApicId, KeCountProcessors(KProcessorIdle),
                KeCountProcessors(KProcessorFailed));
}
