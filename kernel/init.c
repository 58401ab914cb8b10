/*
 * init.c - KiSystemStartup, the first C code, and the boot sequence.
 *
 * boot/start.asm calls it in 64-bit mode on the boot stack, with the boot
 * page tables (identity map of the first 4 GiB plus the kernel window),
 * interrupts disabled, and:
 *   MbiPhysical  the physical address of GRUB's multiboot2 information,
 *   Magic        0x36D76289 (checked by the assembly code already).
 *
 * Order matters: the console first (so anything can be reported), then the
 * CPU tables (so any fault is a readable bugcheck, not a triple fault),
 * then the boot information (while the identity map still reaches it),
 * then the memory manager, which replaces the page tables.
 */
#include "ki.h"
#include "../mm/mm.h"
#include "../ps/ps.h"
#include "../ex/ex.h"
#include "../io/io.h"
#include "../rtl/rtl.h"

LOADER_PARAMETER_BLOCK KeLoaderBlock;
BOOT_OPTIONS KeBootOptions;

/* The boot stack (boot/start.asm starts KiSystemStartup at its top);
 * threads get their own stacks later (with guard pages). */
__attribute__((aligned(16))) UCHAR KiBootStack[KI_BOOT_STACK_SIZE];

static void KiBootWarning(const char *Format, ...)
{
    va_list Args;
    va_start(Args, Format);
    DbgPrint("warning: ");
    vDbgPrint(Format, Args);
    DbgPrint("\n");
    va_end(Args);
}

/* The largest multiboot2 information we will read; GRUB's is a few KiB. */
#define KI_MBI_MAX_SIZE (64 * 1024)

static void KiReadBootInformation(ULONG_PTR MbiPhysical)
{
    /* The boot identity map covers the first 4 GiB, and GRUB's data lies
     * there (it runs in 32-bit mode): the physical address is a pointer. */
    const ULONG *Header = (const ULONG *)MbiPhysical;
    ULONG Readable = KI_MBI_MAX_SIZE;
    if (MbiPhysical + Readable > KI_BOOT_IDENTITY_MAP_SIZE)
        Readable = (ULONG)(KI_BOOT_IDENTITY_MAP_SIZE - MbiPhysical);
    if (Header[0] < Readable)
        Readable = Header[0] < 8 ? 8 : Header[0];

    NTSTATUS Status = KiParseMultiboot2(Header, MbiPhysical, Readable, &KeLoaderBlock,
                                        KiBootWarning);
    if (!NT_SUCCESS(Status))
        DbgPrint("The multiboot2 information at 0x%llx is unusable; continuing without it.\n",
                 (ULONG64)MbiPhysical);
    KiParseBootOptions(KeLoaderBlock.CommandLine, &KeBootOptions, KiBootWarning);
}

void KiSystemStartup(ULONG_PTR MbiPhysical, ULONG Magic)
{
    HalSerialInitialize();
    HalVgaInitialize((PVOID)HAL_VGA_TEXT_PHYSICAL);
    KiInitializeCpu();

    DbgPrint("Pagoda: a teaching kernel for the Windows NT memory and driver model\n");
    if (Magic != MULTIBOOT2_BOOTLOADER_MAGIC)
        DbgPrint("warning: boot magic 0x%x is not multiboot2's\n", Magic);

    KiReadBootInformation(MbiPhysical);
    KdPrintBoot("Boot loader: %s; command line: \"%s\"\n",
                KeLoaderBlock.HasBootLoaderName ? KeLoaderBlock.BootLoaderName : "(unknown)",
                KeLoaderBlock.CommandLine);
    KdPrintBoot("CPU: NX on, WP on, SMEP %s, SMAP %s, global pages %s\n",
                (KeFeatureBits & KF_SMEP) ? "on" : "absent",
                (KeFeatureBits & KF_SMAP) ? "on" : "absent",
                (KeFeatureBits & KF_PGE) ? "on" : "absent");
    for (ULONG i = 0; i < KeLoaderBlock.ModuleCount; i++) {
        KdPrintBoot("Module %u: \"%s\" at 0x%llx, %llu bytes\n", i, KeLoaderBlock.Modules[i].Name,
                    KeLoaderBlock.Modules[i].Start,
                    KeLoaderBlock.Modules[i].End - KeLoaderBlock.Modules[i].Start);
    }
    if (KeLoaderBlock.ModuleCount == 0)
        DbgPrint("warning: no initrd module; user programs will be unavailable. "
                 "Boot through build/pagoda.iso (make run), whose grub.cfg loads build/initrd.tar.\n");

    MmInitSystem(&KeLoaderBlock);
    HalInitializeAcpi(&KeLoaderBlock); /* the MADT, before the interrupt controllers */
    if (!NT_SUCCESS(ObInitSystem()))
        KeBugCheckEx(PHASE0_INITIALIZATION_FAILED, 0, 0, 0, 0);

    /* Phase 1: processes and threads, then interrupts. From here on the
     * code runs as the System process's first thread and can be preempted. */
    KiInitializeTimers();
    PsInitializeSystem(KiBootStack + KI_BOOT_STACK_SIZE, KiBootStack);
    IoInitSystem();
    ExpInitializeExecutiveObjects();
    IoInitializeInitrd();
    KiInitializeSystemCalls();
    KiInitializeInterrupts();
    KeLowerIrql(PASSIVE_LEVEL);
    _enable();
    KiStartApplicationProcessors(); /* they park: the scheduler stays on this one */
    IoConsoleConnectInterrupts();
    HalInitializePciBus();
    IoInitializeDiskDriver();
    IoInitializePartitionDriver();
    MmInitializePagingFile(); /* on the disk's partition 1: after both drivers */
    PsInitializeReaper();
    MmInitializeVerifier(KeBootOptions.VerifierFlags, KeBootOptions.VerifierTag,
                         KeBootOptions.VerifierSeed);

    if (KeBootOptions.RunTests)
        KiRunTests(KeBootOptions.TestPattern);

    /* "kbench": the in-kernel benchmarks, then init as usual (make bench). */
    if (KiKernelBenchmarksRequested())
        KiRunKernelBenchmarks();

    /* The first user program; when it ends, so does the system, with an
     * exit code that says whether it succeeded (the test harness boots
     * init=/bin/usertests). */
    NTSTATUS Status = PsRunInitProcess();
    IoTrimIrpLookasides(); /* cached IRPs are not leaks: the summary lists what is left */
    MmVerifierPrintSummary();
    MmPrintPagingSummary();
    DbgPrint("Pagoda: init ended with status 0x%08x; powering off.\n", (ULONG)Status);
    HalPowerOff(Status == STATUS_SUCCESS ? HalExitSuccess : HalExitTestsFailed);
}
