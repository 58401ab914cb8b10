/*
 * probe.c - safe access to user memory: ProbeForRead, ProbeForWrite,
 * MmCopyFromUser and MmCopyToUser. Every Nt* service reads and writes its
 * callers' buffers through these, and nothing else in the kernel touches a
 * user address.
 *
 * Two things stand between the kernel and a user pointer:
 *
 *  - SMAP (Intel SDM Vol. 3A, 5.6.1). With CR4.SMAP set, a kernel-mode
 *    data access to a user page (U/S=1) faults unless RFLAGS.AC is set.
 *    Only kernel/x64/usercopy.asm sets it (stac), around one instruction,
 *    and clears it (clac) on every way out. A stray dereference of a user
 *    pointer anywhere else is a page fault, then a bugcheck: the bug shows
 *    up where it is, not as a security hole later.
 *
 *  - The exception table. A user pointer can be bad in ways the checks
 *    below cannot see cheaply (unmapped, reserved but not committed,
 *    decommitted, read-only, freed by another thread a moment ago). So the
 *    copy simply runs, and if it faults the trap handler recovers:
 *
 *      MmCopyFromUser(Kernel, User, Length)
 *        |  range check: NULL page, kernel half, non-canonical,
 *        |  wrap-around -> STATUS_ACCESS_VIOLATION, nothing touched
 *        v
 *      KiCopyUserMemory (x64/usercopy.asm)       KiDispatchTrap (kernel/trap.c)
 *
 *              stac
 *       .copy: rep movsq ------- #PF / #GP ------> MmAccessFault(CR2)
 *       .tail: rep movsb   (the last 0-7 bytes)      |             |
 *                 ^                                  |             |
 *                 +---- iretq: the copy goes on -----+ resolved    | refused
 *              clac                                   (demand-     v
 *              xor eax, eax                            zero)    KiFindExceptionFixup(RIP)
 *              ret     -> STATUS_SUCCESS                        finds .copy/.tail in .ex_table:
 *                                                               RIP = .fault,
 *      .fault: clac    <------------- iretq ------------------  RAX = 0xC0000005
 *              ret     -> STATUS_ACCESS_VIOLATION                (0x80000001 for
 *                                                                a guard page)
 *
 *    A guard page (PAGE_GUARD, not the thread's stack guard, which grows
 *    the stack) that a copy or probe touches first is consumed, as when
 *    the program touches it, and the copy fails with
 *    STATUS_GUARD_PAGE_VIOLATION, as NT's probes do; the next try works.
 *
 *    A fault at any RIP that is not in the table (or on the kernel side
 *    of a copy) is still a bugcheck.
 *
 * NT's ProbeForRead/ProbeForWrite raise exceptions caught by __try; Pagoda
 * has no structured exception handling, so everything here returns an
 * NTSTATUS instead.
 *
 * Locking and IRQL: no locks. The copies may page-fault (demand-zero,
 * later the pagefile), so callers must be at IRQL < DISPATCH_LEVEL with
 * the target process's address space current (attached).
 */
#include "mi.h"

static BOOLEAN MiIsValidProbeAlignment(ULONG Alignment)
{
    return Alignment == 1 || Alignment == 2 || Alignment == 4 || Alignment == 8 ||
           Alignment == 16;
}

/*
 * TRUE when [Start, Start + Length) lies inside the user half a probe may
 * touch, [MM_LOWEST_USER_ADDRESS, MM_USER_PROBE_ADDRESS). Length > 0.
 * This also rejects every non-canonical and every kernel address, so the
 * copy routines never see one. MmProbeAndLockPages (mm/mdl.c) applies the
 * same rule to a user-mode lock. Any IRQL; no lock.
 *
 * NOTE: NT only checks the end against MmUserProbeAddress and lets a
 * NULL-page access fault inside __try. Pagoda rejects the 64 KiB null
 * guard here too: it can never be mapped, and rejecting it early keeps
 * NULL pointers away from the copy routines altogether.
 */
BOOLEAN MiIsUserRange(ULONG_PTR Start, SIZE_T Length)
{
#if PAGODA_SOLUTION(8)
    ULONG_PTR End = Start + Length;

    if (End < Start)
        return FALSE; /* wraps around */
    return Start >= MM_LOWEST_USER_ADDRESS && End <= MM_USER_PROBE_ADDRESS;
#else
    /* Lab 8: TRUE only when [Start, Start + Length) lies inside
     * [MM_LOWEST_USER_ADDRESS, MM_USER_PROBE_ADDRESS) without wrapping.
     * Until then every pointer is trusted: a caller can hand the kernel a
     * kernel address and read or overwrite kernel memory. */
    UNREFERENCED_PARAMETER(Start);
    UNREFERENCED_PARAMETER(Length);
    return TRUE;
#endif /* PAGODA_SOLUTION(8) */
}

/* The checks both probes share, in NT's order: alignment first, then the
 * range. Length > 0. */
static NTSTATUS MiCheckProbe(ULONG_PTR Address, SIZE_T Length, ULONG Alignment)
{
#if PAGODA_SOLUTION(8)
    /* The alignment is the caller's constant (the size of the structure it
     * expects), not user input: a bad one is a kernel bug. */
    ASSERT(MiIsValidProbeAlignment(Alignment));
    if ((Address & (Alignment - 1)) != 0)
        return STATUS_DATATYPE_MISALIGNMENT;
    if (!MiIsUserRange(Address, Length))
        return STATUS_ACCESS_VIOLATION;
    return STATUS_SUCCESS;
#else
    /* Lab 8: a misaligned Address is STATUS_DATATYPE_MISALIGNMENT, a range
     * outside the user half STATUS_ACCESS_VIOLATION (check the alignment
     * first, as NT does). */
    ASSERT(MiIsValidProbeAlignment(Alignment));
    UNREFERENCED_PARAMETER(Address);
    UNREFERENCED_PARAMETER(Length);
    return STATUS_SUCCESS;
#endif /* PAGODA_SOLUTION(8) */
}

/* A kernel buffer handed to a copy: in the system half, not wrapping.
 * Checked with ASSERT: it comes from kernel code, and a user pointer here
 * (arguments swapped) is exactly the bug SMAP exists to catch. */
static BOOLEAN MiIsKernelBuffer(const void *Buffer, SIZE_T Length)
{
    ULONG_PTR Start = (ULONG_PTR)Buffer;
    return Start >= MM_SYSTEM_RANGE_START && Start + (Length - 1) >= Start;
}

/*
 * ProbeForRead - check that a user buffer may be read, without touching it.
 *
 * Length 0: STATUS_SUCCESS, nothing is checked (as NT). Otherwise
 * Alignment must be 1, 2, 4, 8 or 16 (asserted); Address not a multiple of
 * it gives STATUS_DATATYPE_MISALIGNMENT; a range that wraps around, starts
 * in the null guard or ends above MM_USER_PROBE_ADDRESS gives
 * STATUS_ACCESS_VIOLATION. Success does not mean the pages are committed:
 * the read itself (MmCopyFromUser) can still fail. Any IRQL.
 */
NTSTATUS ProbeForRead(const void *Address, SIZE_T Length, ULONG Alignment)
{
    if (Length == 0)
        return STATUS_SUCCESS;
    return MiCheckProbe((ULONG_PTR)Address, Length, Alignment);
}

/*
 * ProbeForWrite - ProbeForRead's checks, then touch every page of the
 * buffer with a write access, as NT does, so that a read-only, reserved,
 * decommitted or unmapped page gives STATUS_ACCESS_VIOLATION now, and a
 * guard page STATUS_GUARD_PAGE_VIOLATION (the guard is consumed).
 *
 * The touch (KiProbeUserByteForWrite) is an atomic "or 0" of one byte per
 * page: the MMU checks write permission and demand-zero commits the page,
 * but no byte changes, even if a user thread stores to it meanwhile.
 * Pages touched before a failing one stay committed (as in NT).
 * IRQL < DISPATCH_LEVEL, the buffer's address space current.
 */
NTSTATUS ProbeForWrite(PVOID Address, SIZE_T Length, ULONG Alignment)
{
    ASSERT(KeGetCurrentIrql() < DISPATCH_LEVEL);
    if (Length == 0)
        return STATUS_SUCCESS;
    NTSTATUS Status = MiCheckProbe((ULONG_PTR)Address, Length, Alignment);
    if (!NT_SUCCESS(Status))
        return Status;

#if PAGODA_SOLUTION(8)
    /* The first byte, then the first byte of each following page up to
     * the one holding the last byte. */
    ULONG_PTR Va = (ULONG_PTR)Address;
    ULONG_PTR LastPage = (ULONG_PTR)PAGE_ALIGN(Va + Length - 1);
    for (;;) {
        Status = KiProbeUserByteForWrite((PVOID)Va);
        if (!NT_SUCCESS(Status))
            return Status;
        if ((ULONG_PTR)PAGE_ALIGN(Va) == LastPage)
            return STATUS_SUCCESS;
        Va = (ULONG_PTR)PAGE_ALIGN(Va) + PAGE_SIZE;
    }
#else
    /* Lab 8: touch one byte of every page of the buffer with
     * KiProbeUserByteForWrite, so a page that cannot be written fails now.
     * Until then a read-only buffer is only found out by the copy. */
    return STATUS_SUCCESS;
#endif /* PAGODA_SOLUTION(8) */
}

/*
 * MmCopyFromUser - copy Length bytes from the current address space's user
 * buffer UserSource into the kernel buffer KernelDestination.
 *
 * Returns STATUS_SUCCESS (Length 0 included: nothing is touched), or
 * STATUS_ACCESS_VIOLATION when the source is not entirely readable user
 * memory: a range outside the user half (NULL page, kernel, non-canonical,
 * wrapping) fails before anything is read; a range that is unmapped,
 * reserved-only, decommitted or only partly committed fails at the first
 * bad byte, with the bytes before it already copied; a guard page is
 * STATUS_GUARD_PAGE_VIOLATION there instead (the guard is consumed, as NT
 * does; a second copy gets through). Never writes outside
 * KernelDestination[0 .. Length). Pages never touched before are
 * demand-zeroed by the copy. IRQL < DISPATCH_LEVEL.
 */
NTSTATUS MmCopyFromUser(PVOID KernelDestination, const void *UserSource, SIZE_T Length)
{
    ASSERT(KeGetCurrentIrql() < DISPATCH_LEVEL);
    if (Length == 0)
        return STATUS_SUCCESS;
    ASSERT(MiIsKernelBuffer(KernelDestination, Length));
    if (!MiIsUserRange((ULONG_PTR)UserSource, Length))
        return STATUS_ACCESS_VIOLATION;
    return KiCopyUserMemory(KernelDestination, UserSource, Length);
}

/*
 * MmCopyToUser - copy Length bytes from the kernel buffer KernelSource to
 * the current address space's user buffer UserDestination.
 *
 * Returns STATUS_SUCCESS (Length 0 included), or STATUS_ACCESS_VIOLATION
 * when the destination is not entirely writable user memory; as in
 * MmCopyFromUser, a bad range fails untouched and a fault part-way leaves
 * the bytes before the bad page written, and a guard page is
 * STATUS_GUARD_PAGE_VIOLATION. A read-only page is refused by the
 * MMU (CR0.WP makes kernel writes obey R/W). IRQL < DISPATCH_LEVEL.
 */
NTSTATUS MmCopyToUser(PVOID UserDestination, const void *KernelSource, SIZE_T Length)
{
    ASSERT(KeGetCurrentIrql() < DISPATCH_LEVEL);
    if (Length == 0)
        return STATUS_SUCCESS;
    ASSERT(MiIsKernelBuffer(KernelSource, Length));
    if (!MiIsUserRange((ULONG_PTR)UserDestination, Length))
        return STATUS_ACCESS_VIOLATION;
    return KiCopyUserMemory(UserDestination, KernelSource, Length);
}
