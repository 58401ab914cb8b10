/*
 * intrin.h - x64 instructions the kernel uses, as inline functions with the
 * names Microsoft's compiler gives them (__readcr3, __writemsr, __outbyte,
 * ...), so code reads like Windows kernel code. Kernel only: most of these
 * fault in user mode.
 */
#ifndef PAGODA_INTRIN_H
#define PAGODA_INTRIN_H

#include "ntdef.h"

#define DEFINE_READ_CR(n)                                                \
    static inline ULONG64 __readcr##n(void)                              \
    {                                                                    \
        ULONG64 Value;                                                   \
        __asm__ volatile("mov %%cr" #n ", %0" : "=r"(Value));            \
        return Value;                                                    \
    }
#define DEFINE_WRITE_CR(n)                                               \
    static inline void __writecr##n(ULONG64 Value)                       \
    {                                                                    \
        __asm__ volatile("mov %0, %%cr" #n : : "r"(Value) : "memory");   \
    }

DEFINE_READ_CR(0)
DEFINE_READ_CR(2)
DEFINE_READ_CR(3)
DEFINE_READ_CR(4)
DEFINE_READ_CR(8)
DEFINE_WRITE_CR(0)
DEFINE_WRITE_CR(3)
DEFINE_WRITE_CR(4)
DEFINE_WRITE_CR(8)

static inline ULONG64 __readmsr(ULONG Msr)
{
    ULONG Low, High;
    __asm__ volatile("rdmsr" : "=a"(Low), "=d"(High) : "c"(Msr));
    return ((ULONG64)High << 32) | Low;
}

static inline void __writemsr(ULONG Msr, ULONG64 Value)
{
    __asm__ volatile("wrmsr" : : "c"(Msr), "a"((ULONG)Value), "d"((ULONG)(Value >> 32))
                     : "memory");
}

static inline void __outbyte(USHORT Port, UCHAR Value)
{
    __asm__ volatile("outb %0, %1" : : "a"(Value), "Nd"(Port));
}

static inline void __outword(USHORT Port, USHORT Value)
{
    __asm__ volatile("outw %0, %1" : : "a"(Value), "Nd"(Port));
}

static inline UCHAR __inbyte(USHORT Port)
{
    UCHAR Value;
    __asm__ volatile("inb %1, %0" : "=a"(Value) : "Nd"(Port));
    return Value;
}

static inline USHORT __inword(USHORT Port)
{
    USHORT Value;
    __asm__ volatile("inw %1, %0" : "=a"(Value) : "Nd"(Port));
    return Value;
}

static inline void __outdword(USHORT Port, ULONG Value)
{
    __asm__ volatile("outl %0, %1" : : "a"(Value), "Nd"(Port));
}

static inline ULONG __indword(USHORT Port)
{
    ULONG Value;
    __asm__ volatile("inl %1, %0" : "=a"(Value) : "Nd"(Port));
    return Value;
}

/* rep insw / rep outsw: Count words between Port and Buffer (the ATA data
 * register's PIO transfers). */
static inline void __inwordstring(USHORT Port, USHORT *Buffer, ULONG Count)
{
    __asm__ volatile("rep insw" : "+D"(Buffer), "+c"(Count) : "d"(Port) : "memory");
}

static inline void __outwordstring(USHORT Port, const USHORT *Buffer, ULONG Count)
{
    __asm__ volatile("rep outsw" : "+S"(Buffer), "+c"(Count) : "d"(Port) : "memory");
}

static inline void __invlpg(const void *Address)
{
    __asm__ volatile("invlpg (%0)" : : "r"(Address) : "memory");
}

/* The spin-wait hint (Intel SDM Vol. 2B, PAUSE): tells the processor this
 * is a spin loop, so it does not flood the memory order machinery. */
static inline void _mm_pause(void)
{
    __asm__ volatile("pause" : : : "memory");
}

static inline void __halt(void)
{
    __asm__ volatile("hlt");
}

static inline void _disable(void)
{
    __asm__ volatile("cli" : : : "memory");
}

static inline void _enable(void)
{
    __asm__ volatile("sti" : : : "memory");
}

static inline ULONG64 __readeflags(void)
{
    ULONG64 Flags;
    __asm__ volatile("pushfq; popq %0" : "=r"(Flags));
    return Flags;
}

static inline void __writeeflags(ULONG64 Flags)
{
    __asm__ volatile("pushq %0; popfq" : : "r"(Flags) : "memory", "cc");
}

/* CPUID: Registers[0..3] = EAX, EBX, ECX, EDX. */
static inline void __cpuidex(ULONG Registers[4], ULONG Leaf, ULONG SubLeaf)
{
    __asm__ volatile("cpuid"
                     : "=a"(Registers[0]), "=b"(Registers[1]), "=c"(Registers[2]),
                       "=d"(Registers[3])
                     : "a"(Leaf), "c"(SubLeaf));
}

static inline ULONG64 __rdtsc(void)
{
    ULONG Low, High;
    __asm__ volatile("rdtsc" : "=a"(Low), "=d"(High));
    return ((ULONG64)High << 32) | Low;
}

/* SMAP (Intel SDM Vol. 3A, 4.6.1): stac lets supervisor code touch user
 * pages until clac. Only the user-copy routines may use them. */
static inline void __stac(void)
{
    __asm__ volatile("stac" : : : "memory");
}

static inline void __clac(void)
{
    __asm__ volatile("clac" : : : "memory");
}

#define __builtin_frame_address0() ((ULONG_PTR)__builtin_frame_address(0))

/* Control-register and MSR bits the kernel sets (Intel SDM Vol. 3A, 2.5). */
#define CR0_PE (1ULL << 0)
#define CR0_WP       (1ULL << 16)
#define CR0_PG       (1ULL << 31)
#define CR4_PAE      (1ULL << 5)
#define CR4_PGE      (1ULL << 7)
#define CR4_OSFXSR   (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define CR4_SMEP     (1ULL << 20)
#define CR4_SMAP     (1ULL << 21)
#define MSR_EFER     0xC0000080
#define EFER_SCE     (1ULL << 0)
#define EFER_LME     (1ULL << 8)
#define EFER_NXE     (1ULL << 11)
#define MSR_GS_BASE        0xC0000101
#define MSR_KERNEL_GS_BASE 0xC0000102

/* EFLAGS.ID: CPUID exists when software can toggle it (Intel SDM Vol. 1, 19.1). */
#define EFLAGS_ID    (1ULL << 21)

/* CPUID leaves and feature bits the boot code checks (Intel SDM Vol. 2A,
 * CPUID): leaf 1 EDX.PAE, leaf 0x80000001 EDX.NX and EDX.LM. */
#define CPUID_EXTENDED_MAX_LEAF  0x80000000
#define CPUID_EXTENDED_FEATURES  0x80000001
#define CPUID_1_EDX_PAE          (1u << 6)
#define CPUID_1_ECX_SSE42        (1u << 20) /* crc32: the pool's header check */
#define CPUID_80000001_EDX_NX    (1u << 20)
#define CPUID_80000001_EDX_LM    (1u << 29)

#endif /* PAGODA_INTRIN_H */
