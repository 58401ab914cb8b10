/*
 * test_probe.c - safe access to user memory (mm/probe.c, the copy routines
 * in kernel/x64/usercopy.asm and the exception table in kernel/trap.c).
 *
 * Each test builds a fresh address space, attaches to it and lays out one
 * 64 KiB reservation at KT_BASE (see KT_PAGE_*): committed pages with and
 * without a frame yet, a read-only page between two read/write ones, a
 * reserved-only page and a decommitted one. Then it checks that copies to
 * and from good pages work (demand-zero included), that every bad buffer
 * gives STATUS_ACCESS_VIOLATION with nothing corrupted around it, and that
 * the user-access window (RFLAGS.AC under SMAP) is closed after each call.
 */
#include "../../include/ktest.h"
#include "../../include/intrin.h"
#include "../../kernel/ke.h"
#include "../../kernel/ki.h"
#include "../../mm/mi.h"
#include "../../rtl/rtl.h"
#include "ktpages.h"

/* The IRQL to restore after a hyperspace mapping (one at a time). */
static KIRQL KtHyperIrql;

/* KiCopyUserMemory and KiProbeUserByteForWrite (kernel/x64/usercopy.asm,
 * declared in mm/mi.h) are called directly to reach the #GP fixup that
 * mm/probe.c's range checks never let happen. */
extern const ULONG_PTR __ex_table_start[], __ex_table_end[];

#define KT_BASE       0x0000000010000000ULL  /* the test reservation */
#define KT_PAGES      16                     /* 64 KiB: one allocation granule */
#define KT_UNMAPPED   0x0000000020000000ULL  /* no VAD, no page table */

/* The layout of the reservation. */
enum {
    KT_PAGE_TOUCHED = 0,    /* read/write, filled with KT_FILL_TOUCHED */
    KT_PAGE_FRESH_READ,     /* read/write, never touched: first access is a read */
    KT_PAGE_FRESH_WRITE,    /* read/write, never touched: first access is a write */
    KT_PAGE_BEFORE_RO,      /* read/write, filled with KT_FILL_BEFORE_RO */
    KT_PAGE_READ_ONLY,      /* PAGE_READONLY, never touched (reads as zeros) */
    KT_PAGE_AFTER_RO,       /* read/write, filled with KT_FILL_AFTER_RO */
    KT_PAGE_RESERVED,       /* reserved, never committed */
    KT_PAGE_DECOMMITTED,    /* committed, written, decommitted */
    KT_PAGE_AFTER_DECOMMIT, /* read/write, filled with KT_FILL_AFTER_DECOMMIT */
    /* the rest of the 16 pages: reserved only */
};
#define KT_FILL_TOUCHED        0xA1
#define KT_FILL_BEFORE_RO      0xB2
#define KT_FILL_AFTER_RO       0xC3
#define KT_FILL_DECOMMITTED    0xD4
#define KT_FILL_AFTER_DECOMMIT 0xE5

typedef struct _KT_USER_SPACE {
    PMMADDRESS_SPACE Space;
    PMMADDRESS_SPACE Previous;
    BOOLEAN Attached;
} KT_USER_SPACE;

static PUCHAR KtPage(ULONG Index)
{
    return (PUCHAR)(KT_BASE + (ULONG64)Index * PAGE_SIZE);
}

/* A kernel buffer with guard bytes on both sides, to see overruns. */
#define KT_GUARD 64
#define KT_DATA  (2 * PAGE_SIZE)
static struct {
    UCHAR Before[KT_GUARD];
    UCHAR Data[KT_DATA];
    UCHAR After[KT_GUARD];
} KtBuffer;
static UCHAR KtPattern[KT_DATA];
static volatile ULONG64 KtKernelGlobal = 0x4B65726E656C21ULL;

static void KtResetBuffer(void)
{
    memset(KtBuffer.Before, 0x5A, KT_GUARD);
    memset(KtBuffer.Data, 0x11, KT_DATA);
    memset(KtBuffer.After, 0x5A, KT_GUARD);
}

static BOOLEAN KtAllBytes(const UCHAR *Bytes, SIZE_T Length, UCHAR Value)
{
    for (SIZE_T i = 0; i < Length; i++) {
        if (Bytes[i] != Value)
            return FALSE;
    }
    return TRUE;
}

static BOOLEAN KtGuardsIntact(void)
{
    return KtAllBytes(KtBuffer.Before, KT_GUARD, 0x5A) && KtAllBytes(KtBuffer.After, KT_GUARD, 0x5A);
}

/* Every call into probe.c goes through these, which also check that SMAP
 * is on and RFLAGS.AC is clear afterwards, success or failure. */
static ULONG KtWindowLeaks;

static NTSTATUS KtCheckWindow(NTSTATUS Status)
{
    if (!(__readcr4() & CR4_SMAP) || (__readeflags() & EFLAGS_AC))
        KtWindowLeaks++;
    return Status;
}
#define KT_FROM(Kernel, User, Length) KtCheckWindow(MmCopyFromUser((Kernel), (PVOID)(User), (Length)))
#define KT_TO(User, Kernel, Length)   KtCheckWindow(MmCopyToUser((PVOID)(User), (Kernel), (Length)))
#define KT_PROBE_READ(A, L, Al)       KtCheckWindow(ProbeForRead((PVOID)(A), (L), (Al)))
#define KT_PROBE_WRITE(A, L, Al)      KtCheckWindow(ProbeForWrite((PVOID)(A), (L), (Al)))

/* TRUE when all Length bytes of user memory at User equal Value (read
 * through MmCopyFromUser, which the first tests establish). */
static BOOLEAN KtUserBytesAre(const UCHAR *User, SIZE_T Length, UCHAR Value)
{
    static UCHAR Scratch[PAGE_SIZE];
    while (Length > 0) {
        SIZE_T Chunk = Length < sizeof(Scratch) ? Length : sizeof(Scratch);
        if (KT_FROM(Scratch, User, Chunk) != STATUS_SUCCESS || !KtAllBytes(Scratch, Chunk, Value))
            return FALSE;
        User += Chunk;
        Length -= Chunk;
    }
    return TRUE;
}

static NTSTATUS KtFillUserPage(ULONG Index, UCHAR Value)
{
    static UCHAR Fill[PAGE_SIZE];
    memset(Fill, Value, sizeof(Fill));
    return KT_TO(KtPage(Index), Fill, PAGE_SIZE);
}

static NTSTATUS KtCommit(PMMADDRESS_SPACE Space, ULONG Index, ULONG Protect)
{
    PVOID Base = KtPage(Index);
    SIZE_T Size = PAGE_SIZE;
    return MmAllocateVirtualMemory(Space, &Base, &Size, MEM_COMMIT, Protect);
}

static NTSTATUS KtLayOut(PMMADDRESS_SPACE Space)
{
    PVOID Base = (PVOID)KT_BASE;
    SIZE_T Size = KT_PAGES * PAGE_SIZE;
    NTSTATUS Status = MmAllocateVirtualMemory(Space, &Base, &Size, MEM_RESERVE, PAGE_READWRITE);
    if (!NT_SUCCESS(Status))
        return Status;
    if (Base != (PVOID)KT_BASE || Size != KT_PAGES * PAGE_SIZE)
        return STATUS_CONFLICTING_ADDRESSES;

    static const struct {
        ULONG Index;
        ULONG Protect;
        UCHAR Fill;             /* 0: leave it untouched */
    } Commits[] = {
        {KT_PAGE_TOUCHED, PAGE_READWRITE, KT_FILL_TOUCHED},
        {KT_PAGE_FRESH_READ, PAGE_READWRITE, 0},
        {KT_PAGE_FRESH_WRITE, PAGE_READWRITE, 0},
        {KT_PAGE_BEFORE_RO, PAGE_READWRITE, KT_FILL_BEFORE_RO},
        {KT_PAGE_READ_ONLY, PAGE_READONLY, 0},
        {KT_PAGE_AFTER_RO, PAGE_READWRITE, KT_FILL_AFTER_RO},
        {KT_PAGE_DECOMMITTED, PAGE_READWRITE, KT_FILL_DECOMMITTED},
        {KT_PAGE_AFTER_DECOMMIT, PAGE_READWRITE, KT_FILL_AFTER_DECOMMIT},
    };
    for (ULONG i = 0; i < ARRAYSIZE(Commits); i++) {
        Status = KtCommit(Space, Commits[i].Index, Commits[i].Protect);
        if (NT_SUCCESS(Status) && Commits[i].Fill)
            Status = KtFillUserPage(Commits[i].Index, Commits[i].Fill);
        if (!NT_SUCCESS(Status))
            return Status;
    }

    Base = KtPage(KT_PAGE_DECOMMITTED);
    Size = PAGE_SIZE;
    return MmFreeVirtualMemory(Space, &Base, &Size, MEM_DECOMMIT);
}

static NTSTATUS KtSetUp(KT_USER_SPACE *User)
{
    memset(User, 0, sizeof(*User));
    NTSTATUS Status = MmCreateProcessAddressSpace(&User->Space);
    if (!NT_SUCCESS(Status)) {
        User->Space = NULL;
        return Status;
    }
    User->Previous = MmAttachAddressSpace(User->Space);
    User->Attached = TRUE;
    return KtLayOut(User->Space);
}

static void KtTearDown(KT_USER_SPACE *User)
{
    if (User->Attached)
        MmAttachAddressSpace(User->Previous);
    if (User->Space)
        MmDeleteProcessAddressSpace(User->Space);
}

/* Run Body in a fresh address space laid out as above, then tear it down.
 * Body's KT_ASSERTs leave Body only, so the teardown always runs. */
static void KtRunInUserSpace(void (*Body)(void))
{
    KT_USER_SPACE User;
    PMMADDRESS_SPACE Before = MmCurrentAddressSpace;
    KtWindowLeaks = 0;
    KtResetBuffer();
    NTSTATUS Status = KtSetUp(&User);
    if (NT_SUCCESS(Status))
        Body();
    KtTearDown(&User);
    KT_ASSERT_EQ(Status, STATUS_SUCCESS);
    KT_ASSERT(MmCurrentAddressSpace == Before);
    KT_ASSERT_EQ(__readcr3() & MM_PTE_FRAME_MASK, Before->DirectoryTableBase);
    KT_ASSERT_EQ(KtWindowLeaks, 0);
}

/* ------------------------------------------------------------------------ */

static void KtCommittedRoundTrip(void)
{
    for (ULONG i = 0; i < KT_DATA; i++)
        KtPattern[i] = (UCHAR)(i * 7 + 3);

    /* Whole pages, an unaligned middle, and across the page 0/1 boundary. */
    KT_ASSERT(KtUserBytesAre(KtPage(KT_PAGE_TOUCHED), PAGE_SIZE, KT_FILL_TOUCHED));
    KT_ASSERT_EQ(KT_TO(KtPage(KT_PAGE_TOUCHED), KtPattern, PAGE_SIZE), STATUS_SUCCESS);
    KT_ASSERT_EQ(KT_FROM(KtBuffer.Data, KtPage(KT_PAGE_TOUCHED), PAGE_SIZE), STATUS_SUCCESS);
    KT_ASSERT(memcmp(KtBuffer.Data, KtPattern, PAGE_SIZE) == 0);

    PUCHAR Across = KtPage(KT_PAGE_FRESH_READ) - 1000;
    KT_ASSERT_EQ(KT_TO(Across + 1, KtPattern + 5, 2001), STATUS_SUCCESS);
    KtResetBuffer();
    KT_ASSERT_EQ(KT_FROM(KtBuffer.Data + 3, Across + 1, 2001), STATUS_SUCCESS);
    KT_ASSERT(memcmp(KtBuffer.Data + 3, KtPattern + 5, 2001) == 0);
    KT_ASSERT(KtAllBytes(KtBuffer.Data, 3, 0x11));
    KT_ASSERT(KtAllBytes(KtBuffer.Data + 2004, KT_DATA - 2004, 0x11));
    KT_ASSERT(KtGuardsIntact());

    /* Length 0 succeeds and touches nothing, whatever the pointers. */
    KT_ASSERT_EQ(KT_FROM(KtBuffer.Data, NULL, 0), STATUS_SUCCESS);
    KT_ASSERT_EQ(KT_TO(0x8000000000000000ULL, KtPattern, 0), STATUS_SUCCESS);
    KT_ASSERT(KtAllBytes(KtBuffer.Data, 3, 0x11));
}

KTEST(probe, copies_to_and_from_committed_pages)
{
    KtRunInUserSpace(KtCommittedRoundTrip);
}

static void KtDemandZero(void)
{
    PUCHAR Read = KtPage(KT_PAGE_FRESH_READ), Write = KtPage(KT_PAGE_FRESH_WRITE);
    KT_ASSERT(!MmIsAddressValid(Read));
    KT_ASSERT(!MmIsAddressValid(Write));
    ULONG64 Zeroed = MmFaultCounters.DemandZero;

    /* A read: the copy faults, MmAccessFault supplies a zeroed frame, the
     * copy resumes and sees zeros. */
    KT_ASSERT_EQ(KT_FROM(KtBuffer.Data, Read + 100, 300), STATUS_SUCCESS);
    KT_ASSERT(KtAllBytes(KtBuffer.Data, 300, 0));
    KT_ASSERT(KtAllBytes(KtBuffer.Data + 300, KT_DATA - 300, 0x11));
    KT_ASSERT(MmIsAddressValid(Read));
    KT_ASSERT_EQ(MmFaultCounters.DemandZero, Zeroed + 1);

    /* A write: the bytes land in the new frame (seen through hyperspace,
     * without SMAP in the way), the rest of it is zero. */
    for (ULONG i = 0; i < 64; i++)
        KtPattern[i] = (UCHAR)(0x40 + i);
    KT_ASSERT_EQ(KT_TO(Write + 8, KtPattern, 64), STATUS_SUCCESS);
    KT_ASSERT(MmIsAddressValid(Write));
    KT_ASSERT_EQ(MmFaultCounters.DemandZero, Zeroed + 2);
    ULONG64 Physical = MmGetPhysicalAddress(Write);
    KT_ASSERT(Physical != 0);
    PUCHAR Frame = MiMapPageInHyperspace(Physical >> PAGE_SHIFT, &KtHyperIrql);
    BOOLEAN Landed = memcmp(Frame + 8, KtPattern, 64) == 0 && KtAllBytes(Frame, 8, 0) &&
                     KtAllBytes(Frame + 72, PAGE_SIZE - 72, 0);
    MiUnmapPageInHyperspace(Frame, KtHyperIrql);
    KT_ASSERT(Landed);
    KT_ASSERT(KtGuardsIntact());
}

KTEST(probe, copies_demand_zero_fresh_pages)
{
    KtRunInUserSpace(KtDemandZero);
}

/* Addresses that never reach the copy routine: the range check refuses
 * them, so no fault is taken (MmFaultCounters.Total does not move). */
static void KtBadRanges(void)
{
    const struct {
        ULONG64 Address;
        SIZE_T Length;
    } Bad[] = {
        {0, 8},                                     /* NULL */
        {0x1000, 8},                                /* in the 64 KiB null guard */
        {MM_LOWEST_USER_ADDRESS - 4, 8},            /* starts in the guard, ends in user space */
        {0x0000800000000000ULL, 8},                 /* first non-canonical address */
        {0x8000000000000000ULL, 8},                 /* non-canonical, top half */
        {MM_USER_PROBE_ADDRESS, 1},                 /* the guard below the hole */
        {MM_USER_PROBE_ADDRESS - 4, 8},             /* crosses the end of user space */
        {0xFFFFFFFFFFFFFFF0ULL, 0x20},              /* wraps around from the top */
        {MM_SYSTEM_PTE_BASE, 8},                    /* system space */
        {(ULONG64)&KtKernelGlobal, sizeof(KtKernelGlobal)}, /* a kernel global */
        {KT_BASE, ~(SIZE_T)0},                      /* wraps around (probes only: no
                                                       kernel buffer is that big) */
    };
    ULONG64 Faults = MmFaultCounters.Total;
    ULONG64 Global = KtKernelGlobal;

    for (ULONG i = 0; i < ARRAYSIZE(Bad); i++) {
        ULONG64 Address = Bad[i].Address;
        SIZE_T Length = Bad[i].Length;
        if (Length <= KT_DATA) {
            KtResetBuffer();
            KT_ASSERT_EQ(KT_FROM(KtBuffer.Data, Address, Length), STATUS_ACCESS_VIOLATION);
            KT_ASSERT(KtAllBytes(KtBuffer.Data, KT_DATA, 0x11));
            KT_ASSERT(KtGuardsIntact());
            KT_ASSERT_EQ(KT_TO(Address, KtPattern, Length), STATUS_ACCESS_VIOLATION);
        }
        KT_ASSERT_EQ(KT_PROBE_READ(Address, Length, 1), STATUS_ACCESS_VIOLATION);
        KT_ASSERT_EQ(KT_PROBE_WRITE(Address, Length, 1), STATUS_ACCESS_VIOLATION);
    }
    KT_ASSERT_EQ(KtKernelGlobal, Global);
    KT_ASSERT_EQ(MmFaultCounters.Total, Faults);
}

KTEST(probe, bad_ranges_fail_without_a_fault)
{
    KtRunInUserSpace(KtBadRanges);
}

/* User-half addresses that pass the range check but have nothing behind
 * them: the copy faults, MmAccessFault refuses, the fixup returns. */
static void KtNothingBehind(void)
{
    const ULONG64 Addresses[] = {
        KT_UNMAPPED,                                    /* no VAD, no page table */
        (ULONG64)KtPage(KT_PAGE_RESERVED),              /* reserved, not committed */
        (ULONG64)KtPage(KT_PAGE_DECOMMITTED) + 0x123,   /* decommitted */
        (ULONG64)KtPage(KT_PAGES),                      /* just past the reservation */
        MM_USER_PROBE_ADDRESS - 16,                     /* top of user space, unmapped */
    };
    for (ULONG i = 0; i < ARRAYSIZE(Addresses); i++) {
        ULONG64 Refused = MmFaultCounters.AccessViolation;
        KtResetBuffer();
        KT_ASSERT_EQ(KT_FROM(KtBuffer.Data, Addresses[i], 16), STATUS_ACCESS_VIOLATION);
        KT_ASSERT(KtAllBytes(KtBuffer.Data, KT_DATA, 0x11));
        KT_ASSERT(KtGuardsIntact());
        KT_ASSERT_EQ(KT_TO(Addresses[i], KtPattern, 16), STATUS_ACCESS_VIOLATION);
        KT_ASSERT_EQ(KT_PROBE_WRITE(Addresses[i], 16, 1), STATUS_ACCESS_VIOLATION);
        /* ProbeForRead checks the range only, as NT's does. */
        KT_ASSERT_EQ(KT_PROBE_READ(Addresses[i], 16, 1), STATUS_SUCCESS);
        KT_ASSERT_EQ(MmFaultCounters.AccessViolation, Refused + 3);
        KT_ASSERT(!MmIsAddressValid((PVOID)Addresses[i]));
    }
    /* The decommitted page's old contents are gone for good; its
     * neighbour is intact. */
    KT_ASSERT(KtUserBytesAre(KtPage(KT_PAGE_AFTER_DECOMMIT), PAGE_SIZE, KT_FILL_AFTER_DECOMMIT));
}

KTEST(probe, unmapped_reserved_and_decommitted_pages_fail)
{
    KtRunInUserSpace(KtNothingBehind);
}

/* A buffer that starts in committed memory and runs into a page that is
 * not: the copy stops at the first bad byte. */
static void KtPartial(void)
{
    PUCHAR LastBytes = KtPage(KT_PAGE_RESERVED) - 16;   /* end of KT_PAGE_AFTER_RO */

    /* From user: the 16 good bytes arrive, nothing after them. */
    KtResetBuffer();
    KT_ASSERT_EQ(KT_FROM(KtBuffer.Data, LastBytes, 64), STATUS_ACCESS_VIOLATION);
    KT_ASSERT(KtAllBytes(KtBuffer.Data, 16, KT_FILL_AFTER_RO));
    KT_ASSERT(KtAllBytes(KtBuffer.Data + 16, KT_DATA - 16, 0x11));
    KT_ASSERT(KtGuardsIntact());

    /* A whole two-page kernel buffer's worth, the fault one page in. */
    KtResetBuffer();
    KT_ASSERT_EQ(KT_FROM(KtBuffer.Data, KtPage(KT_PAGE_AFTER_RO), KT_DATA), STATUS_ACCESS_VIOLATION);
    KT_ASSERT(KtAllBytes(KtBuffer.Data, PAGE_SIZE, KT_FILL_AFTER_RO));
    KT_ASSERT(KtAllBytes(KtBuffer.Data + PAGE_SIZE, PAGE_SIZE, 0x11));
    KT_ASSERT(KtGuardsIntact());

    /* To user: the reserved page stays uncommitted; the good page holds
     * the 16 bytes that fit and is otherwise unchanged. */
    memset(KtPattern, 0x77, 64);
    KT_ASSERT_EQ(KT_TO(LastBytes, KtPattern, 64), STATUS_ACCESS_VIOLATION);
    KT_ASSERT(!MmIsAddressValid(KtPage(KT_PAGE_RESERVED)));
    KT_ASSERT(KtUserBytesAre(KtPage(KT_PAGE_AFTER_RO), PAGE_SIZE - 16, KT_FILL_AFTER_RO));
    KT_ASSERT(KtUserBytesAre(LastBytes, 16, 0x77));

    /* Starting in the decommitted page: the committed page after it is
     * not written at all. */
    KT_ASSERT_EQ(KT_TO(KtPage(KT_PAGE_AFTER_DECOMMIT) - 16, KtPattern, 32), STATUS_ACCESS_VIOLATION);
    KT_ASSERT(KtUserBytesAre(KtPage(KT_PAGE_AFTER_DECOMMIT), PAGE_SIZE, KT_FILL_AFTER_DECOMMIT));
    KT_ASSERT_EQ(KT_PROBE_WRITE(KtPage(KT_PAGE_AFTER_DECOMMIT) - 16, 32, 1),
                 STATUS_ACCESS_VIOLATION);
}

KTEST(probe, partially_committed_buffers_fail)
{
    KtRunInUserSpace(KtPartial);
}

static void KtReadOnly(void)
{
    PUCHAR ReadOnly = KtPage(KT_PAGE_READ_ONLY);
    memset(KtPattern, 0x99, 64);

    /* Before its first touch (not-present write fault)... */
    KT_ASSERT(!MmIsAddressValid(ReadOnly));
    KT_ASSERT_EQ(KT_TO(ReadOnly + 32, KtPattern, 16), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KT_PROBE_WRITE(ReadOnly, PAGE_SIZE, 8), STATUS_ACCESS_VIOLATION);
    /* ...it reads (as zeros)... */
    KT_ASSERT(KtUserBytesAre(ReadOnly, PAGE_SIZE, 0));
    KT_ASSERT(MmIsAddressValid(ReadOnly));
    /* ...and once present (protection fault: CR0.WP holds the kernel to
     * R/W), still refuses writes. */
    KT_ASSERT_EQ(KT_TO(ReadOnly + 32, KtPattern, 16), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KT_PROBE_WRITE(ReadOnly + 4000, 8, 8), STATUS_ACCESS_VIOLATION);
    /* A write that runs from the page before into it: the read-only page
     * and the page after it are untouched. */
    KT_ASSERT_EQ(KT_TO(ReadOnly - 8, KtPattern, 64), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KT_PROBE_WRITE(ReadOnly - 8, 64, 1), STATUS_ACCESS_VIOLATION);
    KT_ASSERT(KtUserBytesAre(ReadOnly, PAGE_SIZE, 0));
    KT_ASSERT(KtUserBytesAre(KtPage(KT_PAGE_AFTER_RO), PAGE_SIZE, KT_FILL_AFTER_RO));
    KT_ASSERT(KtUserBytesAre(KtPage(KT_PAGE_BEFORE_RO), PAGE_SIZE - 8, KT_FILL_BEFORE_RO));
    KT_ASSERT(KtUserBytesAre(ReadOnly - 8, 8, 0x99));

    /* The shared user data page is read-only in every process. */
    KT_ASSERT_EQ(KT_FROM(KtBuffer.Data, MM_SHARED_USER_DATA_USER, 64), STATUS_SUCCESS);
    KT_ASSERT_EQ(KT_TO(MM_SHARED_USER_DATA_USER, KtPattern, 8), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KT_PROBE_WRITE(MM_SHARED_USER_DATA_USER, 8, 8), STATUS_ACCESS_VIOLATION);
    KT_ASSERT(KtGuardsIntact());
}

KTEST(probe, read_only_pages_refuse_writes)
{
    KtRunInUserSpace(KtReadOnly);
}

static void KtProbeRules(void)
{
    PUCHAR Page = KtPage(KT_PAGE_TOUCHED);
    ULONG64 Faults = MmFaultCounters.Total;

    /* Length 0: success without any check, as in NT. */
    KT_ASSERT_EQ(KT_PROBE_READ(NULL, 0, 1), STATUS_SUCCESS);
    KT_ASSERT_EQ(KT_PROBE_READ(0x8000000000000001ULL, 0, 8), STATUS_SUCCESS);
    KT_ASSERT_EQ(KT_PROBE_WRITE((ULONG64)&KtKernelGlobal, 0, 16), STATUS_SUCCESS);
    KT_ASSERT_EQ(KT_PROBE_WRITE(Page + 1, 0, 3), STATUS_SUCCESS);   /* not even the alignment */

    /* Alignment: 1, 2, 4, 8, 16; checked before the range, as NT. */
    static const ULONG Alignments[] = {1, 2, 4, 8, 16};
    for (ULONG i = 0; i < ARRAYSIZE(Alignments); i++) {
        ULONG A = Alignments[i];
        KT_ASSERT_EQ(KT_PROBE_READ(Page + A, A, A), STATUS_SUCCESS);
        KT_ASSERT_EQ(KT_PROBE_WRITE(Page + 2 * A, 3 * A, A), STATUS_SUCCESS);
        if (A > 1) {
            KT_ASSERT_EQ(KT_PROBE_READ(Page + A / 2, A, A), STATUS_DATATYPE_MISALIGNMENT);
            KT_ASSERT_EQ(KT_PROBE_WRITE(Page + A + 1, A, A), STATUS_DATATYPE_MISALIGNMENT);
            KT_ASSERT_EQ(KT_PROBE_READ(0x8000000000000001ULL, A, A), STATUS_DATATYPE_MISALIGNMENT);
            /* Misaligned ProbeForWrite touches nothing, even a good page. */
            KT_ASSERT_EQ(KT_PROBE_WRITE(KtPage(KT_PAGE_FRESH_WRITE) + 1, A, A),
                         STATUS_DATATYPE_MISALIGNMENT);
        }
    }

    /* The range: [MM_LOWEST_USER_ADDRESS, MM_USER_PROBE_ADDRESS). */
    KT_ASSERT_EQ(KT_PROBE_READ(MM_LOWEST_USER_ADDRESS, 1, 1), STATUS_SUCCESS);
    KT_ASSERT_EQ(KT_PROBE_READ(MM_LOWEST_USER_ADDRESS - 1, 1, 1), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KT_PROBE_READ(MM_USER_PROBE_ADDRESS - 8, 8, 8), STATUS_SUCCESS);
    KT_ASSERT_EQ(KT_PROBE_READ(MM_USER_PROBE_ADDRESS - 8, 9, 8), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KT_PROBE_READ(Page, MM_USER_PROBE_ADDRESS - (ULONG64)Page, 1), STATUS_SUCCESS);
    KT_ASSERT_EQ(KT_PROBE_READ(Page, ~(SIZE_T)0 - (ULONG64)Page + 2, 1), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KT_PROBE_READ(KtPage(KT_PAGE_RESERVED), PAGE_SIZE, 4), STATUS_SUCCESS);
    KT_ASSERT_EQ(MmFaultCounters.Total, Faults);    /* ProbeForRead touches nothing */

    /* ProbeForWrite over three pages, two of them never touched: they are
     * committed by the probe, and no byte changes. */
    KT_ASSERT(!MmIsAddressValid(KtPage(KT_PAGE_FRESH_READ)));
    KT_ASSERT_EQ(KT_PROBE_WRITE(Page + PAGE_SIZE - 16, PAGE_SIZE + 32, 16), STATUS_SUCCESS);
    KT_ASSERT(MmIsAddressValid(KtPage(KT_PAGE_FRESH_READ)));
    KT_ASSERT(MmIsAddressValid(KtPage(KT_PAGE_FRESH_WRITE)));
    KT_ASSERT(KtUserBytesAre(Page, PAGE_SIZE, KT_FILL_TOUCHED));
    KT_ASSERT(KtUserBytesAre(KtPage(KT_PAGE_FRESH_READ), 2 * PAGE_SIZE, 0));
    /* One byte at the very end of a page and one at the start of the next. */
    KT_ASSERT_EQ(KT_PROBE_WRITE(KtPage(KT_PAGE_BEFORE_RO) - 1, 2, 1), STATUS_SUCCESS);
    KT_ASSERT(KtUserBytesAre(KtPage(KT_PAGE_BEFORE_RO), PAGE_SIZE, KT_FILL_BEFORE_RO));
    /* ...and the first bad page fails the whole probe. */
    KT_ASSERT_EQ(KT_PROBE_WRITE(KtPage(KT_PAGE_AFTER_RO), 2 * PAGE_SIZE, 4),
                 STATUS_ACCESS_VIOLATION);
}

KTEST(probe, probe_for_read_and_write_rules)
{
    KtRunInUserSpace(KtProbeRules);
}

/* The exception table itself, and the #GP path: a non-canonical address
 * faults with #GP, not #PF. mm/probe.c never lets one through, so call
 * the copy routines directly. Needs no user address space. */
KTEST(probe, exception_table_recovers_from_gp)
{
    ULONG Entries = (ULONG)((__ex_table_end - __ex_table_start) / 2);
    /* KiCopyUserMemory (two: its quadword and byte steps),
     * KiProbeUserByteForWrite (usercopy.asm), the copy of a service's
     * stack arguments in KiSystemService (kernel/syscall.c; a bad user
     * stack is test_io.c's ReadFileWithBadStack), and the two stores of
     * IopWriteUserIoStatus (io/iosvc.c: a fast request's status block). */
    KT_ASSERT_EQ(Entries, 6);
    for (ULONG i = 0; i < Entries; i++) {
        ULONG_PTR Rip = __ex_table_start[2 * i], Fixup = __ex_table_start[2 * i + 1];
        KT_ASSERT(Fixup > Rip);
        KT_ASSERT_EQ(KiFindExceptionFixup(Rip), Fixup);
    }
    KT_ASSERT_EQ(KiFindExceptionFixup((ULONG_PTR)KiCopyUserMemory), 0);  /* the stac */
    KT_ASSERT_EQ(KiFindExceptionFixup((ULONG_PTR)MmCopyFromUser), 0);

    KtWindowLeaks = 0;
    KtResetBuffer();
    KT_ASSERT_EQ(KtCheckWindow(KiCopyUserMemory(KtBuffer.Data, (PVOID)0x0000800000000000ULL, 8)),
                 STATUS_ACCESS_VIOLATION);
    KT_ASSERT(KtAllBytes(KtBuffer.Data, KT_DATA, 0x11));
    KT_ASSERT_EQ(KtCheckWindow(KiCopyUserMemory((PVOID)0x8000000000000000ULL, KtPattern, 8)),
                 STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KtCheckWindow(KiProbeUserByteForWrite((PVOID)0xFFFF7FFFFFFFFFFFULL)),
                 STATUS_ACCESS_VIOLATION);
    KT_ASSERT(KtGuardsIntact());
    KT_ASSERT_EQ(KtWindowLeaks, 0);
}

/* A scenario that commits, demand-zeroes, fails and decommits. */
static void KtBusyBody(void)
{
    KT_ASSERT_EQ(KT_FROM(KtBuffer.Data, KtPage(KT_PAGE_FRESH_READ), KT_DATA), STATUS_SUCCESS);
    KT_ASSERT_EQ(KT_TO(KtPage(KT_PAGE_FRESH_WRITE), KtPattern, 100), STATUS_SUCCESS);
    KT_ASSERT_EQ(KT_PROBE_WRITE(KtPage(KT_PAGE_TOUCHED), 3 * PAGE_SIZE, 1), STATUS_SUCCESS);
    KT_ASSERT_EQ(KT_FROM(KtBuffer.Data, KtPage(KT_PAGE_READ_ONLY), 16), STATUS_SUCCESS);
    KT_ASSERT_EQ(KT_TO(KtPage(KT_PAGE_READ_ONLY), KtPattern, 16), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KT_FROM(KtBuffer.Data, KtPage(KT_PAGE_RESERVED) - 8, 16), STATUS_ACCESS_VIOLATION);
    KT_ASSERT_EQ(KT_TO(KT_UNMAPPED, KtPattern, 16), STATUS_ACCESS_VIOLATION);
}

KTEST(probe, cleanup_returns_every_page)
{
    /* The first run may grow the pools for good; measure the second, with
     * what the pools took meanwhile counted as given back (ktpages.h). */
    KtRunInUserSpace(KtBusyBody);
    PFN_NUMBER Baseline = KtAvailablePagesBeside(0);
    KtRunInUserSpace(KtBusyBody);
    KT_ASSERT_EQ(KtAvailablePagesBeside(Baseline), Baseline);
}

/* Outside the copy routines SMAP stops the kernel at a user page, even a
 * committed, resident one: a bugcheck, not a silent read. */
static void KtTouchUserPageDirectly(void)
{
    KT_ASSERT_EQ(KT_FROM(KtBuffer.Data, KtPage(KT_PAGE_TOUCHED), 8), STATUS_SUCCESS);
    KT_ASSERT(MmIsAddressValid(KtPage(KT_PAGE_TOUCHED)));
    (void)*(volatile UCHAR *)KtPage(KT_PAGE_TOUCHED);
}

KTEST_BUGCHECK(probe, direct_user_access_is_a_smap_violation, PAGE_FAULT_IN_NONPAGED_AREA)
{
    KtRunInUserSpace(KtTouchUserPageDirectly);
}

/* The fixup covers the user side only: a fault on the kernel side of a
 * copy is a kernel bug, and still a bugcheck. */
KTEST_BUGCHECK(probe, fault_on_kernel_side_is_not_hidden, PAGE_FAULT_IN_NONPAGED_AREA)
{
    NTSTATUS Unreached = KiCopyUserMemory((PVOID)(MM_SYSTEM_PTE_BASE + 0x10000000), KtPattern, 8);
    KT_ASSERT_EQ(Unreached, STATUS_SUCCESS); /* never gets here: the copy bugchecks */
}

/* The alignment argument is the caller's constant, not user input. */
KTEST_BUGCHECK(probe, bad_alignment_argument_asserts, ASSERTION_FAILURE)
{
    (void)ProbeForRead((PVOID)KT_BASE, 4, 3);
}
