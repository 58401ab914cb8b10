/*
 * ntmmapi.h - the virtual-memory vocabulary shared by the kernel and user
 * mode: page protections (PAGE_*), allocation types (MEM_*) and
 * MEMORY_BASIC_INFORMATION, with the values and layout Windows uses.
 */
#ifndef PAGODA_NTMMAPI_H
#define PAGODA_NTMMAPI_H

#include "ntdef.h"

#define PAGE_NOACCESS          0x01
#define PAGE_READONLY          0x02
#define PAGE_READWRITE         0x04
#define PAGE_WRITECOPY         0x08   /* not for private memory: rejected */
#define PAGE_EXECUTE           0x10
#define PAGE_EXECUTE_READ      0x20
#define PAGE_EXECUTE_READWRITE 0x40
#define PAGE_EXECUTE_WRITECOPY 0x80   /* not for private memory: rejected */
#define PAGE_GUARD             0x100
#define PAGE_NOCACHE           0x200  /* not supported: rejected */
#define PAGE_WRITECOMBINE      0x400  /* not supported: rejected */

#define MEM_COMMIT             0x00001000
#define MEM_RESERVE            0x00002000
#define MEM_DECOMMIT           0x00004000
#define MEM_RELEASE            0x00008000
#define MEM_FREE               0x00010000
#define MEM_PRIVATE            0x00020000
#define MEM_MAPPED             0x00040000
#define MEM_TOP_DOWN           0x00100000

/* Virtual memory is reserved in 64 KiB units, committed in pages. */
#define MM_ALLOCATION_GRANULARITY 0x10000

typedef struct _MEMORY_BASIC_INFORMATION {
    PVOID BaseAddress;          /* the page the query started at */
    PVOID AllocationBase;       /* base of the reservation (VAD), or NULL when free */
    ULONG AllocationProtect;    /* protection given at reservation */
    USHORT PartitionId;
    SIZE_T RegionSize;          /* bytes from BaseAddress with the same state and protection */
    ULONG State;                /* MEM_COMMIT, MEM_RESERVE or MEM_FREE */
    ULONG Protect;              /* PAGE_*; 0 when reserved-only or free */
    ULONG Type;                 /* MEM_PRIVATE, or 0 when free */
} MEMORY_BASIC_INFORMATION, *PMEMORY_BASIC_INFORMATION;

#endif /* PAGODA_NTMMAPI_H */
