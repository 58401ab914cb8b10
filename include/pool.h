/*
 * pool.h - the pool's public types, shared by the kernel's components
 * (through mm/mm.h, which declares ExAllocatePoolWithTag and friends) and
 * by the host tests of the pool (through mm/poolcore.h, the allocator's
 * private header). Nothing here says how the pool works inside.
 */
#ifndef PAGODA_POOL_H
#define PAGODA_POOL_H

#include "ntdef.h"

/* The pool types of the DDK (wdm.h), same values. Every one of them is
 * one of two pools: odd values are paged pool, the rest (and
 * NonPagedPoolNx) nonpaged pool. */
typedef enum _POOL_TYPE {
    NonPagedPool = 0,
    NonPagedPoolExecute = 0,
    PagedPool = 1,
    NonPagedPoolMustSucceed = 2,
    DontUseThisType = 3,
    NonPagedPoolCacheAligned = 4,
    PagedPoolCacheAligned = 5,
    NonPagedPoolCacheAlignedMustS = 6,
    MaxPoolType = 7,
    NonPagedPoolNx = 512,
} POOL_TYPE;

/* ExAllocatePool2's flags (wdm.h values); exactly one of NON_PAGED and
 * PAGED. */
#define POOL_FLAG_UNINITIALIZED 0x0002ULL
#define POOL_FLAG_NON_PAGED     0x0040ULL
#define POOL_FLAG_PAGED         0x0100ULL

/* Lines in one pool's tag table: the most ExQueryPoolTags returns. The
 * last line is the overflow bucket, "Ovfl", for tags that found no line. */
#define POOL_TRACKER_SIZE       256

/* One line of !poolused, as ExQueryPoolTags returns it. Bytes are what the
 * pool spends: header and rounding included for small blocks, whole pages
 * for big ones. */
typedef struct _POOL_TAG_INFO {
    ULONG Tag;
    POOL_TYPE PoolType;
    SIZE_T Allocations;
    SIZE_T Frees;
    SIZE_T BytesInUse;
} POOL_TAG_INFO, *PPOOL_TAG_INFO;

#endif /* PAGODA_POOL_H */
