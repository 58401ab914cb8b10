/*
 * ktbaseline.h - what the dispatcher tests (test_apc.c, test_mutant.c)
 * check after each test: nonpaged pool bytes (handle tables aside, which
 * grow and never shrink) and kernel stack pages are back where they were.
 * Also a sleep in milliseconds. PASSIVE_LEVEL, the test's own thread.
 */
#ifndef PAGODA_KTBASELINE_H
#define PAGODA_KTBASELINE_H

#include "../../include/ktest.h"
#include "../../kernel/ke.h"
#include "../../ob/ob.h"
#include "../../mm/mm.h"

/* Nonpaged pool in use by every tag but the handle tables'. */
static inline SIZE_T KtNonPagedPoolBytes(void)
{
    static POOL_TAG_INFO Tags[256];
    ULONG Count = ExQueryPoolTags(NonPagedPool, Tags, ARRAYSIZE(Tags));
    SIZE_T Bytes = 0;

    for (ULONG Index = 0; Index < Count; Index++)
        if (Tags[Index].Tag != OB_HANDLE_TABLE_TAG)
            Bytes += Tags[Index].BytesInUse;
    return Bytes;
}

typedef struct _KT_BASELINE {
    SIZE_T PoolBytes;
    PFN_NUMBER StackPages;
} KT_BASELINE;

static inline KT_BASELINE KtBaseline(void)
{
    return (KT_BASELINE){KtNonPagedPoolBytes(), MmPagesInUse(MiUsageKernelStack)};
}

#define KT_ASSERT_BASELINE(Before)                                              \
    do {                                                                        \
        KT_BASELINE ktNow_ = KtBaseline();                                      \
        KT_ASSERT_EQ(ktNow_.PoolBytes, (Before).PoolBytes);                     \
        KT_ASSERT_EQ(ktNow_.StackPages, (Before).StackPages);                   \
    } while (0)

static inline void KtSleepMs(ULONG Ms)
{
    LARGE_INTEGER Interval = {.QuadPart = KT_MS(Ms)};
    (void)KeDelayExecutionThread(KernelMode, FALSE, &Interval);
}

#endif /* PAGODA_KTBASELINE_H */
