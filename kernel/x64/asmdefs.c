/*
 * asmdefs.c - the numbers the assembly code and the linker script use, taken
 * from the C headers that define them.
 *
 * This file is never linked. The Makefile compiles it with -S; each DEFINE
 * below leaves a line "#ASMDEF NAME HIGH LOW" (the value's two 32-bit
 * halves) in the assembler output, and
 * tools/genasmdefs.py turns those lines into
 *   build/gen/asmdefs.inc   %define NAME VALUE, for NASM (boot/ and
 *                           kernel/x64/ assembly: %include "asmdefs.inc"),
 *   build/gen/asmdefs.ld    KERNEL_VMA and KERNEL_PHYS, for linker.ld.
 * So every constant is written once, in C: structure offsets come from
 * offsetof, architectural numbers from the headers that C code uses too.
 * tools/asmlint.py (run by make test) rejects a number copied by hand into
 * the assembly files instead.
 *
 * Naming: a structure field is TYPE_Field (KTRAP_FRAME_Rip), a size is
 * TYPE_SIZE; a constant keeps its C name.
 */
#include "../ki.h"
#include "../../mm/mm.h"
#include "../../include/loader.h"
#include "../../include/ntstatus.h"

/* Two signed 32-bit halves: %c prints an immediate only when it fits one. */
#define DEFINE(Name, Value)                                                \
    __asm__ volatile("\n#ASMDEF " #Name " %c0 %c1\n"                      \
                     :                                                     \
                     : "n"((int)((ULONG64)(Value) >> 32)), "n"((int)(ULONG64)(Value)))
#define OFFSET(Type, Field) DEFINE(Type##_##Field, offsetof(Type, Field))
#define SIZE(Type)          DEFINE(Type##_SIZE, sizeof(Type))

void KiGenerateAssemblyDefinitions(void);

static void KiDefineStructures(void)
{
    /* The processor control region: gs:[field] in the entry code. */
    OFFSET(KPCR, Self);
    OFFSET(KPCR, CurrentThread);
    OFFSET(KPCR, UserRsp);
    OFFSET(KPCR, KernelRsp);

    /* The application processors' trampoline (boot/aptrampoline.asm). */
    OFFSET(KI_AP_STARTUP_BLOCK, Pml4);
    OFFSET(KI_AP_STARTUP_BLOCK, ApicId);
    OFFSET(KI_AP_STARTUP_BLOCK, Claim);
    OFFSET(KI_AP_STARTUP_BLOCK, Stack);
    OFFSET(KI_AP_STARTUP_BLOCK, Entry);
    OFFSET(KI_AP_STARTUP_BLOCK, Argument);

    /* The trap frame, as trap.asm and syscall.asm build it. */
    OFFSET(KTRAP_FRAME, Rax);
    OFFSET(KTRAP_FRAME, Rbx);
    OFFSET(KTRAP_FRAME, Rcx);
    OFFSET(KTRAP_FRAME, Rdx);
    OFFSET(KTRAP_FRAME, Rsi);
    OFFSET(KTRAP_FRAME, Rdi);
    OFFSET(KTRAP_FRAME, Rbp);
    OFFSET(KTRAP_FRAME, R8);
    OFFSET(KTRAP_FRAME, R9);
    OFFSET(KTRAP_FRAME, R10);
    OFFSET(KTRAP_FRAME, R11);
    OFFSET(KTRAP_FRAME, R12);
    OFFSET(KTRAP_FRAME, R13);
    OFFSET(KTRAP_FRAME, R14);
    OFFSET(KTRAP_FRAME, R15);
    OFFSET(KTRAP_FRAME, Vector);
    OFFSET(KTRAP_FRAME, ErrorCode);
    OFFSET(KTRAP_FRAME, Rip);
    OFFSET(KTRAP_FRAME, SegCs);
    OFFSET(KTRAP_FRAME, EFlags);
    OFFSET(KTRAP_FRAME, Rsp);
    OFFSET(KTRAP_FRAME, SegSs);
    SIZE(KTRAP_FRAME);

    /* A page-table entry, and its high half for 32-bit code that writes
     * one as two dwords (LowPart, HighPart: the LARGE_INTEGER layout). */
    SIZE(MMPTE);
    OFFSET(LARGE_INTEGER, HighPart);
}

static void KiDefineArchitecture(void)
{
    /* Control registers, EFER, EFLAGS, CPUID (include/intrin.h). */
    DEFINE(CR0_PG, CR0_PG);
    DEFINE(CR4_PAE, CR4_PAE);
    DEFINE(MSR_EFER, MSR_EFER);
    DEFINE(EFER_LME, EFER_LME);
    DEFINE(EFER_NXE, EFER_NXE);
    DEFINE(EFLAGS_ID, EFLAGS_ID);
    DEFINE(CPUID_EXTENDED_MAX_LEAF, CPUID_EXTENDED_MAX_LEAF);
    DEFINE(CPUID_EXTENDED_FEATURES, CPUID_EXTENDED_FEATURES);
    DEFINE(CPUID_1_EDX_PAE, CPUID_1_EDX_PAE);
    DEFINE(CPUID_1_ECX_SSE42, CPUID_1_ECX_SSE42);
    DEFINE(CPUID_80000001_EDX_NX, CPUID_80000001_EDX_NX);
    DEFINE(CPUID_80000001_EDX_LM, CPUID_80000001_EDX_LM);

    /* Selectors and descriptors (kernel/ki.h). */
    DEFINE(KGDT64_R3_CODE, KGDT64_R3_CODE);
    DEFINE(KGDT64_R3_DATA, KGDT64_R3_DATA);
    DEFINE(RPL_MASK, RPL_MASK);
    DEFINE(KI_BOOT_GDT_CODE64, KI_BOOT_GDT_CODE64);
    DEFINE(KI_AP_GDT_CODE32, KI_AP_GDT_CODE32);
    DEFINE(KI_AP_TRAMPOLINE_PHYSICAL, KI_AP_TRAMPOLINE_PHYSICAL);
    DEFINE(KI_AP_STARTUP_BLOCK_OFFSET, KI_AP_STARTUP_BLOCK_OFFSET);
    DEFINE(CR0_PE, CR0_PE);
    DEFINE(KI_AP_CLAIMED, KI_AP_CLAIMED);
    DEFINE(KI_BOOT_GDT_DATA, KI_BOOT_GDT_DATA);

    /* Vectors (kernel/ki.h). */
    DEFINE(KI_IDT_VECTORS, KI_IDT_VECTORS);
    DEFINE(KI_EXCEPTION_VECTORS, KI_EXCEPTION_VECTORS);
    DEFINE(KI_ERROR_CODE_VECTORS, KI_ERROR_CODE_VECTORS);
    DEFINE(KI_SYSCALL_VECTOR, KI_SYSCALL_VECTOR);

    /* Pages and page-table entries (include/ntdef.h, mm/mm.h). */
    DEFINE(PAGE_SHIFT, PAGE_SHIFT);
    DEFINE(PAGE_SIZE, PAGE_SIZE);
    DEFINE(MM_PTE_VALID, MM_PTE_VALID);
    DEFINE(MM_PTE_WRITE, MM_PTE_WRITE);
    DEFINE(MM_PTE_LARGE_PAGE, MM_PTE_LARGE_PAGE);

    DEFINE(STATUS_ACCESS_VIOLATION, (ULONG)STATUS_ACCESS_VIOLATION);
}

static void KiDefineBoot(void)
{
    /* Where the image lives (mm/mm.h, kernel/ki.h). */
    DEFINE(KERNEL_VMA, MM_KERNEL_IMAGE_BASE);
    DEFINE(KERNEL_PHYS, KI_KERNEL_LOAD_ADDRESS);

    /* The boot page tables (boot/start.asm): the kernel window's PML4 and
     * PDPT slots, how many PDPT entries and 2 MiB PDEs map the identity
     * window, and the stacks. */
    DEFINE(KI_BOOT_KERNEL_PXE, MiGetPxeOffset(MM_KERNEL_IMAGE_BASE));
    DEFINE(KI_BOOT_KERNEL_PPE, MiGetPpeOffset(MM_KERNEL_IMAGE_BASE));
    DEFINE(KI_BOOT_PAGE_SHIFT, KI_BOOT_PAGE_SHIFT);
    DEFINE(KI_BOOT_PDE_COUNT, KI_BOOT_IDENTITY_MAP_SIZE >> KI_BOOT_PAGE_SHIFT);
    DEFINE(KI_BOOT_PPE_COUNT,
           (KI_BOOT_IDENTITY_MAP_SIZE >> KI_BOOT_PAGE_SHIFT) / (PAGE_SIZE / sizeof(MMPTE)));
    DEFINE(KI_BOOT_STACK32_SIZE, KI_BOOT_STACK32_SIZE);
    DEFINE(KI_BOOT_STACK_SIZE, KI_BOOT_STACK_SIZE);

    /* Multiboot2 (include/loader.h). */
    DEFINE(MULTIBOOT2_BOOTLOADER_MAGIC, MULTIBOOT2_BOOTLOADER_MAGIC);
    DEFINE(MULTIBOOT2_HEADER_MAGIC, MULTIBOOT2_HEADER_MAGIC);
    DEFINE(MULTIBOOT2_ARCHITECTURE_I386, MULTIBOOT2_ARCHITECTURE_I386);
    DEFINE(MULTIBOOT2_HEADER_TAG_END, MULTIBOOT2_HEADER_TAG_END);
    DEFINE(MULTIBOOT2_HEADER_TAG_INFORMATION_REQUEST, MULTIBOOT2_HEADER_TAG_INFORMATION_REQUEST);
    DEFINE(MB2_TAG_COMMAND_LINE, MB2_TAG_COMMAND_LINE);
    DEFINE(MB2_TAG_BOOT_LOADER_NAME, MB2_TAG_BOOT_LOADER_NAME);
    DEFINE(MB2_TAG_MODULE, MB2_TAG_MODULE);
    DEFINE(MB2_TAG_MEMORY_MAP, MB2_TAG_MEMORY_MAP);
    DEFINE(MB2_TAG_ALIGNMENT, MB2_TAG_ALIGNMENT);

    /* The devices the 32-bit code reports a failure on (hal/hal.h). */
    DEFINE(COM1_PORT, COM1_PORT);
    DEFINE(UART_DATA, UART_DATA);
    DEFINE(UART_IER, UART_IER);
    DEFINE(UART_FCR, UART_FCR);
    DEFINE(UART_LCR, UART_LCR);
    DEFINE(UART_MCR, UART_MCR);
    DEFINE(UART_LSR, UART_LSR);
    DEFINE(UART_DIVISOR_115200, UART_DIVISOR_115200);
    DEFINE(UART_LCR_DLAB, UART_LCR_DLAB);
    DEFINE(UART_LCR_8N1, UART_LCR_8N1);
    DEFINE(UART_FCR_ENABLE, UART_FCR_ENABLE);
    DEFINE(UART_MCR_DTR_RTS_OUT2, UART_MCR_DTR_RTS_OUT2);
    DEFINE(LSR_THR_EMPTY, LSR_THR_EMPTY);
    DEFINE(HAL_VGA_TEXT_PHYSICAL, HAL_VGA_TEXT_PHYSICAL);
    DEFINE(HAL_DEBUG_EXIT_PORT, HAL_DEBUG_EXIT_PORT);
    DEFINE(HAL_EXIT_CANNOT_BOOT, HalExitCannotBoot);
}

/* Never called: its body exists for the compiler's assembler output. */
void KiGenerateAssemblyDefinitions(void)
{
    KiDefineStructures();
    KiDefineArchitecture();
    KiDefineBoot();
}
