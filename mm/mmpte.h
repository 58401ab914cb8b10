/*
 * mmpte.h - every state a page-table entry can be in, with its bit layout,
 * in one place (docs/paging.md draws them). mm/mm.h includes it: MMPTE is
 * part of the memory manager's public interface (the shell's pte command,
 * gdb, MmGetPteValue); the routines that interpret the software formats
 * are private to mm/ (mm/mi.h).
 *
 * The CPU looks only at bit 0 (P) first: when it is clear, the other 63
 * bits are the memory manager's own (Intel SDM Vol. 3A, 4.5.4: "ignored"
 * when P = 0). NT keeps its page states there, and so does Pagoda, with
 * NT's field names and, where x64 NT has them, its bit positions:
 *
 *   hardware (valid)   Valid=1: the CPU translates; frame in bits 12-51
 *   zero               not committed (the VAD says reserved or free)
 *   demand-zero        Valid=0 Transition=0 Prototype=0 PageFileHigh=0,
 *                      Protection != 0: committed, never touched, or a
 *                      clean page whose standby frame was reused
 *   transition         Valid=0 Transition=1: the frame (bits 12-51) still
 *                      holds the page - on the standby or modified list
 *                      after a trim, or active (PAGE_NOACCESS/PAGE_GUARD
 *                      set on a resident page). A touch is a soft fault.
 *   pagefile           Valid=0 Transition=0 PageFileHigh != 0: the page is
 *                      in paging file PageFileLow at page offset (slot)
 *                      PageFileHigh (slot 0 is never used, so a pagefile
 *                      PTE is never mistaken for demand-zero). Written
 *                      when a standby frame whose page the modified page
 *                      writer wrote is reused (mm/pagefile.c, mm/pfn.c);
 *                      a touch is a hard fault (mm/fault.c).
 *   prototype          Prototype=1: NT's shared (section) pages. Pagoda
 *                      has no sections; the bit is reserved, never set.
 *
 *  63 62       52 51                       12 11 10  9    5 4  3  2  1  0
 * +--+-----------+---------------------------+--+--+-------+-----------+--+
 * |NX| MM prot.  |   PageFrameNumber         |  |  |       | PCD PWT U W| 1|  hardware
 * +--+-----------+---------------------------+--+--+-------+-----------+--+
 * |  PageFileHigh (32)   |    0 (20)         |T=0|P=0|Prot | PageFileLow| 0|  software
 * +----------------------+-------------------+--+--+-------+-----------+--+
 * | 0 (12)     |   PageFrameNumber (40)      |T=1|P=0|Prot |PCD PWT U W| 0|  transition
 * +------------+-----------------------------+--+--+-------+-----------+--+
 *
 * Valid user PTEs keep their MM_* protection in the ignored bits 52-56,
 * since the hardware bits cannot tell EXECUTE from EXECUTE_READ; trimming
 * moves it to bits 5-9 of the transition PTE and a soft fault back.
 */
#ifndef PAGODA_MMPTE_H
#define PAGODA_MMPTE_H

#include "../include/ntdef.h"

/* Valid: the CPU's format (Intel SDM Vol. 3A, 4.5.4, Figure 4-11). */
typedef struct _MMPTE_HARDWARE {
    ULONG64 Valid : 1; /* P */
    ULONG64 Write : 1; /* R/W */
    ULONG64 Owner : 1; /* U/S: 1 = user */
    ULONG64 WriteThrough : 1; /* PWT */
    ULONG64 CacheDisable : 1; /* PCD */
    ULONG64 Accessed : 1; /* A, set by the CPU */
    ULONG64 Dirty : 1; /* D, set by the CPU on a write (leaf only) */
    ULONG64 LargePage : 1; /* PS in a PDE/PDPTE */
    ULONG64 Global : 1; /* G: survives CR3 writes (leaf only) */
    ULONG64 CopyOnWrite : 1; /* software */
    ULONG64 Prototype : 1; /* software */
    ULONG64 SoftwareWrite : 1; /* software */
    ULONG64 PageFrameNumber : 40;
    ULONG64 Reserved : 11; /* bits 52-56: the MM_* protection of a user page */
    ULONG64 NoExecute : 1; /* XD, needs EFER.NXE */
} MMPTE_HARDWARE;

/* Not valid, not in transition: demand-zero (PageFileHigh 0) or in the
 * pagefile (PageFileHigh != 0). NT's MMPTE_SOFTWARE. */
typedef struct _MMPTE_SOFTWARE {
    ULONG64 Valid : 1; /* 0 */
    ULONG64 PageFileLow : 4; /* which paging file (0-15) */
    ULONG64 Protection : 5; /* MM_* below */
    ULONG64 Prototype : 1; /* 0 */
    ULONG64 Transition : 1; /* 0 */
    ULONG64 Reserved : 20;
    ULONG64 PageFileHigh : 32; /* page offset in that file; 0: demand-zero */
} MMPTE_SOFTWARE;

/* Not valid, but the frame still holds the page. NT's MMPTE_TRANSITION. */
typedef struct _MMPTE_TRANSITION {
    ULONG64 Valid : 1; /* 0 */
    ULONG64 Write : 1;
    ULONG64 Owner : 1;
    ULONG64 WriteThrough : 1;
    ULONG64 CacheDisable : 1;
    ULONG64 Protection : 5; /* MM_* below */
    ULONG64 Prototype : 1; /* 0 */
    ULONG64 Transition : 1; /* 1 */
    ULONG64 PageFrameNumber : 40;
    ULONG64 Unused : 12;
} MMPTE_TRANSITION;

/* NT's shared-page format (a pointer to a prototype PTE of a section).
 * Named for completeness: Pagoda has no sections and never sets it. */
typedef struct _MMPTE_PROTOTYPE {
    ULONG64 Valid : 1; /* 0 */
    ULONG64 Unused0 : 9;
    ULONG64 Prototype : 1; /* 1 */
    ULONG64 Unused1 : 5;
    ULONG64 ProtoAddress : 48;
} MMPTE_PROTOTYPE;

typedef struct _MMPTE {
    union {
        ULONG64 Long;
        MMPTE_HARDWARE Hard;
        MMPTE_SOFTWARE Soft;
        MMPTE_TRANSITION Trans;
        MMPTE_PROTOTYPE Proto;
    } u;
} MMPTE, *PMMPTE;
STATIC_ASSERT(sizeof(MMPTE) == 8);
STATIC_ASSERT(sizeof(MMPTE_HARDWARE) == 8 && sizeof(MMPTE_SOFTWARE) == 8);
STATIC_ASSERT(sizeof(MMPTE_TRANSITION) == 8 && sizeof(MMPTE_PROTOTYPE) == 8);

/* Hardware bits (valid PTEs, and the page-table levels above). */
#define MM_PTE_VALID (1ULL << 0)
#define MM_PTE_WRITE (1ULL << 1)
#define MM_PTE_OWNER (1ULL << 2)
#define MM_PTE_WRITE_THROUGH (1ULL << 3)
#define MM_PTE_CACHE_DISABLE (1ULL << 4)
#define MM_PTE_ACCESSED (1ULL << 5)
#define MM_PTE_DIRTY (1ULL << 6)
#define MM_PTE_LARGE_PAGE (1ULL << 7)
#define MM_PTE_GLOBAL (1ULL << 8)
#define MM_PTE_NO_EXECUTE (1ULL << 63)
#define MM_PTE_FRAME_MASK 0x000FFFFFFFFFF000ULL

/* Software bits (Valid = 0). */
#define MM_PROTECT_SHIFT 5
#define MM_PROTECT_MASK (0x1FULL << MM_PROTECT_SHIFT)
#define MM_PTE_PROTOTYPE (1ULL << 10)
#define MM_PTE_TRANSITION (1ULL << 11)
#define MM_PAGEFILE_LOW_SHIFT 1
#define MM_PAGEFILE_HIGH_SHIFT 32
/* A valid user PTE's MM_* protection, in the ignored bits 52-56. */
#define MM_VALID_PROTECT_SHIFT 52
#define MM_VALID_PROTECT_MASK (0x1FULL << MM_VALID_PROTECT_SHIFT)

/* The 5-bit MM_* protection codes of the Protection fields, NT's values. */
#define MM_ZERO_ACCESS 0
#define MM_READONLY 1
#define MM_EXECUTE 2
#define MM_EXECUTE_READ 3
#define MM_READWRITE 4
#define MM_EXECUTE_READWRITE 6
#define MM_GUARD_PAGE 0x10 /* or-ed with the above */
#define MM_NOACCESS 0x18 /* committed, no access */
#define MM_INVALID_PROTECTION 0xFFFFFFFFu

/* The state of a leaf PTE, as the tests, the shell and gdb name it. */
typedef enum _MI_PTE_STATE {
    MiPteZero = 0, /* not committed */
    MiPteValid,
    MiPteDemandZero,
    MiPteTransition,
    MiPtePageFile,
    MiPtePrototype,
} MI_PTE_STATE;

static inline MI_PTE_STATE MiPteState(MMPTE Pte)
{
    if (Pte.u.Long == 0)
        return MiPteZero;
    if (Pte.u.Hard.Valid)
        return MiPteValid;
    if (Pte.u.Soft.Prototype)
        return MiPtePrototype;
    if (Pte.u.Soft.Transition)
        return MiPteTransition;
    return Pte.u.Soft.PageFileHigh != 0 ? MiPtePageFile : MiPteDemandZero;
}

/* Bit positions the comment above promises. */
STATIC_ASSERT(MM_PTE_TRANSITION == (1ULL << 11) && MM_PTE_PROTOTYPE == (1ULL << 10));
STATIC_ASSERT(MM_PROTECT_MASK == 0x3E0ULL);

#endif /* PAGODA_MMPTE_H */
