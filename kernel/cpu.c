/*
 * cpu.c - the processor's descriptor tables and control registers.
 *
 * The boot GDT from boot/start.asm only got us into long mode. Here the
 * kernel installs, in its own (higher-half) memory:
 *   - a GDT with the Windows x64 selectors (kernel/ki.h) and a TSS,
 *   - the TSS with IST stacks for double fault, NMI and machine check, so
 *     those run on a known-good stack even when the kernel stack is gone,
 *   - an IDT whose 32 exception vectors go to kernel/x64/trap.asm,
 *   - CR0.WP (supervisor writes honour read-only pages), and CR4.SMEP,
 *     CR4.SMAP and CR4.PGE when CPUID says the CPU has them.
 * Each processor has its own GDT and TSS (a TSS descriptor is marked busy
 * when loaded, and each processor needs its own IST stacks): the boot
 * processor's are the static KiGdt/KiTss here, an application processor's
 * come from kernel/mp.c (KiInitializeProcessorTables). The IDT is one for
 * all: it is written once, before any other processor starts, and only
 * read after that.
 */
#include "ki.h"

static ULONG64 KiGdt[KGDT64_ENTRIES] __attribute__((aligned(16)));
static KIDTENTRY64 KiIdt[KI_IDT_VECTORS] __attribute__((aligned(16)));
KTSS64 KiTss __attribute__((aligned(16)));
ULONG KeFeatureBits;

static UCHAR KiIstStacks[4][KI_IST_STACK_SIZE] __attribute__((aligned(16)));

extern const ULONG64 KiTrapStubs[KI_IDT_VECTORS];

typedef struct __attribute__((packed)) _KDESCRIPTOR {
    USHORT Limit;
    ULONG64 Base;
} KDESCRIPTOR;

static void KiSetTssDescriptor(ULONG64 *Gdt, ULONG Index, PVOID Base, ULONG Limit)
{
    ULONG64 B = (ULONG64)Base;
    /* A 16-byte system descriptor, type 9 = available 64-bit TSS
     * (Intel SDM Vol. 3A, Figure 9-4). */
    Gdt[Index] = (Limit & 0xFFFFULL) | ((B & 0xFFFFFFULL) << 16) | (0x9ULL << 40) | SEG_PRESENT |
        ((ULONG64)(Limit >> 16 & 0xF) << 48) | ((B >> 24 & 0xFF) << 56);
    Gdt[Index + 1] = B >> 32;
}

static void KiSetIdtGate(ULONG Vector, ULONG64 Handler, ULONG Ist, ULONG Dpl)
{
    PKIDTENTRY64 Gate = &KiIdt[Vector];
    Gate->OffsetLow = (USHORT)Handler;
    Gate->OffsetMiddle = (USHORT)(Handler >> 16);
    Gate->OffsetHigh = (ULONG)(Handler >> 32);
    Gate->Selector = KGDT64_R0_CODE;
    Gate->IstIndex = Ist;
    Gate->Type = 0xE;
    Gate->Dpl = Dpl;
    Gate->Present = 1;
}

static void KiLoadSegments(ULONG64 *Gdt)
{
    KDESCRIPTOR Gdtr = {sizeof(KiGdt) - 1, (ULONG64)Gdt};
    __asm__ volatile("lgdt %0" : : "m"(Gdtr));
    /* Reload CS with a far return, then the data segments. */
    __asm__ volatile("pushq %0\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movw %w1, %%ds\n\t"
                     "movw %w1, %%es\n\t"
                     "movw %w1, %%ss\n\t"
                     "xorl %%eax, %%eax\n\t"
                     "movw %%ax, %%fs\n\t"
                     "movw %%ax, %%gs\n\t"
                     :
                     : "i"((ULONG64)KGDT64_R0_CODE), "r"((ULONG)KGDT64_R0_DATA)
                     : "rax", "memory");
    __asm__ volatile("ltr %w0" : : "r"((USHORT)KGDT64_SYS_TSS));
}

static void KiEnableCpuFeatures(void)
{
    ULONG Regs[4];

    /* WP: supervisor writes honour read-only pages. MP set and EM clear,
     * with CR4.OSFXSR/OSXMMEXCPT: user programs may use SSE, and FXSAVE
     * saves it on a switch (Intel SDM Vol. 3A, 2.5 and 14.1.3). */
    __writecr0((__readcr0() | CR0_WP | (1ULL << 1)) & ~(1ULL << 2));

    __cpuidex(Regs, 0, 0);
    ULONG MaxLeaf = Regs[0];
    ULONG64 Cr4 = __readcr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
    __cpuidex(Regs, 1, 0);
    if (Regs[3] & (1u << 13)) {          /* EDX.PGE */
        Cr4 |= CR4_PGE;
        KeFeatureBits |= KF_PGE;
    }
    if (MaxLeaf >= 7) {
        __cpuidex(Regs, 7, 0);
        if (Regs[1] & (1u << 7)) {       /* EBX.SMEP */
            Cr4 |= CR4_SMEP;
            KeFeatureBits |= KF_SMEP;
        }
        if (Regs[1] & (1u << 20)) {      /* EBX.SMAP */
            Cr4 |= CR4_SMAP;
            KeFeatureBits |= KF_SMAP;
        }
    }
    __writecr4(Cr4);
    /* EFER.NXE was set by the boot code; keep it explicit. */
    __writemsr(MSR_EFER, __readmsr(MSR_EFER) | EFER_NXE);
}

/* Fill a GDT with the Windows x64 selectors and a TSS descriptor for Tss,
 * whose IST slots get IstTops (double fault, NMI, machine check), and load
 * both. */
static void KiLoadGdtAndTss(ULONG64 *Gdt, PKTSS64 Tss, const ULONG64 IstTops[3])
{
    Gdt[KGDT64_R0_CODE / 8] = SEG_PRESENT | SEG_S | SEG_CODE | SEG_LONG | SEG_DPL(0);
    Gdt[KGDT64_R0_DATA / 8] = SEG_PRESENT | SEG_S | SEG_DATA | SEG_DPL(0);
    Gdt[KGDT64_R3_CMCODE / 8] =
        SEG_PRESENT | SEG_S | SEG_CODE | SEG_DB | SEG_GRAN | SEG_LIMIT_MAX | SEG_DPL(3);
    Gdt[KGDT64_R3_DATA / 8] = SEG_PRESENT | SEG_S | SEG_DATA | SEG_DPL(3);
    Gdt[KGDT64_R3_CODE / 8] = SEG_PRESENT | SEG_S | SEG_CODE | SEG_LONG | SEG_DPL(3);

    Tss->Ist[KI_IST_DOUBLE_FAULT] = IstTops[0];
    Tss->Ist[KI_IST_NMI] = IstTops[1];
    Tss->Ist[KI_IST_MACHINE_CHECK] = IstTops[2];
    Tss->IoMapBase = sizeof(KTSS64); /* no I/O permission bitmap */
    KiSetTssDescriptor(Gdt, KGDT64_SYS_TSS / 8, Tss, sizeof(KTSS64) - 1);

    KiLoadSegments(Gdt);
}

static void KiLoadIdt(void)
{
    KDESCRIPTOR Idtr = {sizeof(KiIdt) - 1, (ULONG64)KiIdt};
    __asm__ volatile("lidt %0" : : "m"(Idtr));
}

/* GS base -> the processor control region (kernel/ki.h): gs:[8] is the
 * current thread. Entries from ring 3 swapgs first (x64/trap.asm,
 * x64/syscall.asm), so kernel code always finds the KPCR there. */
static void KiSetPcr(PVOID Pcr)
{
    __writemsr(MSR_GS_BASE, (ULONG64)Pcr);
    __writemsr(MSR_KERNEL_GS_BASE, 0);
}

/*
 * Install the GDT, TSS and IDT and enable the protection features.
 * Called first thing in KiSystemStartup, with interrupts disabled.
 */
void KiInitializeCpu(void)
{
    const ULONG64 IstTops[3] = {
        (ULONG64)(KiIstStacks[0] + KI_IST_STACK_SIZE),
        (ULONG64)(KiIstStacks[1] + KI_IST_STACK_SIZE),
        (ULONG64)(KiIstStacks[2] + KI_IST_STACK_SIZE),
    };
    KiLoadGdtAndTss(KiGdt, &KiTss, IstTops);

    for (ULONG Vector = 0; Vector < KI_IDT_VECTORS; Vector++) {
        ULONG Ist = 0;
        if (Vector == KI_VECTOR_DOUBLE_FAULT)
            Ist = KI_IST_DOUBLE_FAULT;
        else if (Vector == KI_VECTOR_NMI)
            Ist = KI_IST_NMI;
        else if (Vector == KI_VECTOR_MACHINE_CHECK)
            Ist = KI_IST_MACHINE_CHECK;
        /* INT3 may be executed in ring 3 (a debugger's breakpoint), as on
         * NT; any other INT n from ring 3 is a #GP. */
        KiSetIdtGate(Vector, KiTrapStubs[Vector], Ist, Vector == KI_VECTOR_BREAKPOINT ? 3 : 0);
    }
    KiLoadIdt();
    KiEnableCpuFeatures();
    KiSetPcr(&KiPcr);
}

void KiInitializeProcessorTables(PKI_PROCESSOR_TABLES Tables, const ULONG64 IstTops[3], PVOID Pcr)
{
    KiLoadGdtAndTss(Tables->Gdt, &Tables->Tss, IstTops);
    KiLoadIdt();
    KiEnableCpuFeatures();
    KiSetPcr(Pcr);
}
