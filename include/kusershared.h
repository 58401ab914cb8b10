/*
 * kusershared.h - KUSER_SHARED_DATA, the page the kernel writes at
 * 0xFFFFF780'00000000 and every process reads at 0x7FFE0000. The fields
 * Pagoda fills sit at the offsets Windows uses.
 */
#ifndef PAGODA_KUSERSHARED_H
#define PAGODA_KUSERSHARED_H

#include "ntdef.h"

/* A 64-bit time readable without a lock: the writer stores High2Time,
 * LowPart, then High1Time; a reader retries while High1Time != High2Time. */
typedef struct _KSYSTEM_TIME {
    ULONG LowPart;
    LONG High1Time;
    LONG High2Time;
} KSYSTEM_TIME;

typedef struct _KUSER_SHARED_DATA {
    ULONG TickCountLowDeprecated;           /* 0x000 */
    ULONG TickCountMultiplier;              /* 0x004 */
    volatile KSYSTEM_TIME InterruptTime;    /* 0x008: 100 ns units since boot */
    volatile KSYSTEM_TIME SystemTime;       /* 0x014: not kept (no real-time clock yet) */
    UCHAR Reserved[0x320 - 0x020];
    union {                                 /* 0x320: clock ticks since boot */
        volatile KSYSTEM_TIME TickCount;
        volatile ULONG64 TickCountQuad;
    };
    /* 0x330, Pagoda's own (NT keeps its Cookie here): TSC ticks the idle
     * thread spent halted, or in clock ticks that woke it for nothing.
     * Under -icount the TSC counts instructions plus the idle time QEMU
     * skips, so TSC minus this is what the guest executed outside its
     * idle loop (make bench: disk_read_4k, docs/performance.md). */
    volatile ULONG64 IdleHaltCycles;
} KUSER_SHARED_DATA;
STATIC_ASSERT(offsetof(KUSER_SHARED_DATA, InterruptTime) == 0x8);
STATIC_ASSERT(offsetof(KUSER_SHARED_DATA, TickCount) == 0x320);
STATIC_ASSERT(offsetof(KUSER_SHARED_DATA, IdleHaltCycles) == 0x330);

#endif /* PAGODA_KUSERSHARED_H */
