/*
 * ktspace.h - a private address space for a memory-manager test: Pages
 * committed read/write at KT_SPACE_BASE, attached, with the detach and the
 * deletion deferred (test_wset.c, test_pagefile.c). PASSIVE_LEVEL, the
 * test's own thread.
 */
#ifndef PAGODA_KTSPACE_H
#define PAGODA_KTSPACE_H

#include "../../include/ktest.h"
#include "../../mm/mi.h"

#define KT_SPACE_BASE 0x0000000040000000ULL

static inline void KtDeleteSpace(PVOID Space)
{
    MmDeleteProcessAddressSpace(Space);
}

static inline void KtAttachBack(PVOID Space)
{
    MmAttachAddressSpace(Space);
}

/* Page Index of the test's region. */
static inline PUCHAR KtPage(ULONG Index)
{
    return (PUCHAR)(KT_SPACE_BASE + (ULONG64)Index * PAGE_SIZE);
}

/* A new address space with Pages committed read/write at KT_SPACE_BASE,
 * attached; NULL (what was made is deferred away) when it cannot be. */
static inline PMMADDRESS_SPACE KtMakeSpace(ULONG Pages)
{
    PMMADDRESS_SPACE Space;
    if (!NT_SUCCESS(MmCreateProcessAddressSpace(&Space)))
        return NULL;
    KtDefer(KtDeleteSpace, Space);
    KtDefer(KtAttachBack, MmAttachAddressSpace(Space));
    PVOID Base = (PVOID)KT_SPACE_BASE;
    SIZE_T Size = (SIZE_T)Pages * PAGE_SIZE;
    if (!NT_SUCCESS(MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE | MEM_COMMIT,
                                            PAGE_READWRITE)) ||
        Base != (PVOID)KT_SPACE_BASE)
        return NULL;
    return Space;
}

#endif /* PAGODA_KTSPACE_H */
