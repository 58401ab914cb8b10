/*
 * test_smptb.c - TLB shootdown (kernel/flushtb.c, docs/smp.md §8).
 *
 * The shootdown test makes a stale translation visible instead of hoping
 * for a crash: a system-space view is pointed alternately at two frames
 * holding different words. Each round the last processor reads the view
 * inside an IPI request (its TLB now caches view -> current frame), the
 * boot processor re-points the PTE at the other frame and calls
 * KeFlushSingleTb, and the last processor reads again: it must see the
 * other frame's word. Had the flush reached only the boot processor, the
 * second read would go through the cached translation and return the old
 * word (QEMU's TCG keeps a software TLB per virtual processor and drops an
 * entry only on invlpg, a CR3 write or a global flush, as the hardware
 * does).
 */
#include "../../include/ktest.h"
#include "../../kernel/ki.h"
#include "../../mm/mm.h"
#include "../../mm/mmpte.h"
#include "ktdefer.h"
#include "ktspace.h"

#define KT_TB_TAG POOL_TAG('K', 't', 'T', 'b')
#define KT_TB_ROUNDS 2000
#define KT_WORD_A 0xAAAAAAAA5A5A0001ULL
#define KT_WORD_B 0xBBBBBBBB5A5A0002ULL

static void KtFreeTbPage(PVOID Block)
{
    if (Block)
        ExFreePoolWithTag(Block, KT_TB_TAG);
}

static volatile ULONG64 *KtView;
static volatile ULONG64 KtSeen;

static ULONG_PTR KtReadView(ULONG_PTR Argument)
{
    UNREFERENCED_PARAMETER(Argument);
    KtSeen = *KtView;
    return 0;
}

/* Ask the last processor to read the view; what it saw. */
static ULONG64 KtRemoteRead(void)
{
    KtSeen = 0;
    KiIpiSendPacket((KAFFINITY)1 << (KeNumberProcessors - 1), KtReadView, 0);
    return KtSeen;
}

static void KtPointPte(PMMPTE Pte, ULONG64 Physical)
{
    MMPTE New = *Pte;
    New.u.Hard.PageFrameNumber = Physical >> PAGE_SHIFT;
    *(volatile ULONG64 *)&Pte->u.Long = New.u.Long;
}

KTEST(smp, tb_flush_of_a_remapped_page_reaches_the_other_processor)
{
    KT_SKIP_IF(KeNumberProcessors < 2,
               "needs a second processor: the smp step runs it with -smp 2 and -smp 4");
    ULONG64 *A = ExAllocatePoolWithTag(NonPagedPool, PAGE_SIZE, KT_TB_TAG);
    ULONG64 *B = ExAllocatePoolWithTag(NonPagedPool, PAGE_SIZE, KT_TB_TAG);
    KtDefer(KtFreeTbPage, A);
    KtDefer(KtFreeTbPage, B);
    KT_ASSERT(A && B);
    KT_ASSERT(((ULONG_PTR)A & (PAGE_SIZE - 1)) == 0 && ((ULONG_PTR)B & (PAGE_SIZE - 1)) == 0);
    A[0] = KT_WORD_A;
    B[0] = KT_WORD_B;
    ULONG64 PhysicalA = MmGetPhysicalAddress(A), PhysicalB = MmGetPhysicalAddress(B);
    PHYSICAL_ADDRESS Where = {.QuadPart = (LONGLONG)PhysicalA};
    KtView = MmMapIoSpace(Where, PAGE_SIZE, FALSE);
    KT_ASSERT(KtView != NULL);
    PMMPTE Pte = MiGetPteAddress((PVOID)KtView);
    ULONG64 SentBefore = KeGetCurrentPrcb()->TbShootdownsSent;

    ULONG Stale = 0, Wrong = 0;
    for (ULONG Round = 0; Round < KT_TB_ROUNDS; Round++) {
        BOOLEAN ToB = (Round & 1) == 0;
        ULONG64 Before = KtRemoteRead(); /* loads view -> the current frame */
        if (Before != (ToB ? KT_WORD_A : KT_WORD_B))
            Wrong++;
        KtPointPte(Pte, ToB ? PhysicalB : PhysicalA);
        KeFlushSingleTb((PVOID)KtView);
        ULONG64 After = KtRemoteRead();
        if (After != (ToB ? KT_WORD_B : KT_WORD_A))
            Stale++;
    }
    ULONG64 Sent = KeGetCurrentPrcb()->TbShootdownsSent - SentBefore;
    /* An even number of rounds: the view is on A again, as mapped. */
    MmUnmapIoSpace((PVOID)KtView, PAGE_SIZE);
    KeFlushSingleTb((PVOID)KtView); /* nobody keeps the view */
    KT_EXPECT_EQ(Stale, 0);
    KT_EXPECT_EQ(Wrong, 0);
    /* At least one shootdown per round (other threads' flushes may add). */
    KT_EXPECT(Sent >= KT_TB_ROUNDS);
}

/* Who a flush must reach: every other active processor for a system-space
 * address; for a user-space one only those on this CR3. The test thread
 * normally runs on the System process's CR3, as the idle APs do
 * (kernel/mp.c): a user-space flush then reaches them all. Attached to a
 * private address space it reaches none of them: nobody else runs there. */
KTEST(smp, tb_flush_targets_follow_the_address_space)
{
    KIRQL Old;
    KAFFINITY Others = KeActiveProcessors & ~(KAFFINITY)1;
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    KAFFINITY System = KiTbFlushTargets((PVOID)KtReadView);
    KAFFINITY User = KiTbFlushTargets((PVOID)KT_SPACE_BASE);
    ULONG64 Cr3 = __readcr3() & ~0xFFFULL;
    KeLowerIrql(Old);
    ULONG64 SystemCr3 = MmSystemAddressSpace.DirectoryTableBase & ~0xFFFULL;
    KT_EXPECT_EQ(System, Others);
    KT_EXPECT_EQ(User, Cr3 == SystemCr3 ? Others : 0);
    for (ULONG n = 1; n < (ULONG)KeNumberProcessors; n++)
        KT_EXPECT_EQ(KiProcessorBlock[n]->DirectoryTableBase, SystemCr3);

    KT_ASSERT(KtMakeSpace(1) != NULL); /* attached from here on */
    KeRaiseIrql(DISPATCH_LEVEL, &Old);
    KAFFINITY PrivateUser = KiTbFlushTargets((PVOID)KT_SPACE_BASE);
    KAFFINITY PrivateSystem = KiTbFlushTargets((PVOID)KtReadView);
    KeLowerIrql(Old);
    KT_EXPECT_EQ(PrivateUser, 0);
    KT_EXPECT_EQ(PrivateSystem, Others);
}

/* KeFlushEntireTb reaches exactly the processors of its mask. */
KTEST(smp, flush_entire_tb_reaches_the_mask)
{
    KAFFINITY Mask = KeActiveProcessors & ~(KAFFINITY)1; /* all but the boot processor */
    ULONG64 Before[KE_MAXIMUM_PROCESSORS];
    for (ULONG n = 0; n < (ULONG)KeNumberProcessors; n++)
        Before[n] = KiProcessorBlock[n]->TbShootdownsReceived;
    KeFlushEntireTb(Mask | 1);
    for (ULONG n = 0; n < (ULONG)KeNumberProcessors; n++)
        KT_EXPECT_EQ(KiProcessorBlock[n]->TbShootdownsReceived - Before[n],
                     (ULONG64)((Mask >> n) & 1));
}
