/*
 * apcsvc.c - user APCs: the services (NtQueueApcThread, NtAlertThread,
 * NtTestAlert, NtContinue, NtRegisterUserApcDispatcher) and the delivery
 * on the way back to user mode (KiDeliverUserApc).
 *
 * How a user APC reaches user mode:
 *
 *   thread T: NtWaitForSingleObject(h, Alertable=TRUE, ...)   blocks
 *   thread U: NtQueueApcThread(T, Routine, a, b, c)
 *             -> KAPC in nonpaged pool, KeInsertQueueApc: T's alertable
 *                user-mode wait ends with STATUS_USER_APC, UserApcPending
 *   T: the wait returns STATUS_USER_APC into KiSystemService, which sees
 *      UserApcPending and calls KiDeliverUserApc(TrapFrame):
 *        - the APC leaves the queue; its kernel routine frees the KAPC;
 *        - a USER_APC_RECORD (Routine, a, b, c, and the CONTEXT the trap
 *          frame holds: RAX = STATUS_USER_APC) goes onto T's user stack;
 *        - the trap frame now returns to the process's APC dispatcher
 *          (user/lib/apc.c) with RDI = the record.
 *   T, user mode: the dispatcher calls Routine(a, b, c), then
 *      NtContinue(&Record->Context, TRUE): the trap frame becomes that
 *      context again (TestAlert: the next queued user APC, if any, is
 *      delivered the same way first), and the service returns through
 *      IRETQ to the instruction after the original syscall, with RAX =
 *      STATUS_USER_APC. The caller of the wait sees STATUS_USER_APC.
 *
 * Only an alertable user-mode wait, an alertable NtDelayExecution, or
 * NtTestAlert lets a user APC through; a non-alertable wait never does.
 *
 * All services run at PASSIVE_LEVEL on the caller's thread.
 */
#include "ki.h"
#include "../mm/mm.h"
#include "../ps/ps.h"
#include "../include/ntapi.h"

#define KI_USER_APC_TAG POOL_TAG('A', 'p', 'c', 'U')
/* The red zone of the System V ABI, left alone below the user's RSP. */
#define KI_USER_RED_ZONE 128

/* The trap frame of the thread's last entry from user mode: at the top of
 * its kernel stack (syscall.asm and the CPU both start there, TSS.RSP0). */
static inline PKTRAP_FRAME KiUserTrapFrame(PKTHREAD Thread)
{
    return (PKTRAP_FRAME)((ULONG_PTR)Thread->StackBase - sizeof(KTRAP_FRAME));
}

/* The kernel and rundown routines of a user APC queued by NtQueueApcThread:
 * the KAPC is ours, free it. */
static void KiFreeUserApc(PKAPC Apc, PKNORMAL_ROUTINE *NormalRoutine, PVOID *NormalContext,
                          PVOID *SystemArgument1, PVOID *SystemArgument2)
{
    UNREFERENCED_PARAMETER(NormalRoutine);
    UNREFERENCED_PARAMETER(NormalContext);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    ExFreePoolWithTag(Apc, KI_USER_APC_TAG);
}

static void KiRundownUserApc(PKAPC Apc)
{
    ExFreePoolWithTag(Apc, KI_USER_APC_TAG);
}

/* Copy the user-visible registers of TrapFrame into Context. */
static void KiContextFromTrapFrame(const KTRAP_FRAME *TrapFrame, PCONTEXT Context)
{
    Context->Rax = TrapFrame->Rax; Context->Rbx = TrapFrame->Rbx;
    Context->Rcx = TrapFrame->Rcx; Context->Rdx = TrapFrame->Rdx;
    Context->Rsi = TrapFrame->Rsi; Context->Rdi = TrapFrame->Rdi;
    Context->Rbp = TrapFrame->Rbp; Context->R8 = TrapFrame->R8;
    Context->R9 = TrapFrame->R9; Context->R10 = TrapFrame->R10;
    Context->R11 = TrapFrame->R11; Context->R12 = TrapFrame->R12;
    Context->R13 = TrapFrame->R13; Context->R14 = TrapFrame->R14;
    Context->R15 = TrapFrame->R15; Context->Rip = TrapFrame->Rip;
    Context->EFlags = TrapFrame->EFlags; Context->Rsp = TrapFrame->Rsp;
}

/*
 * KiDeliverUserApc - see kernel/ki.h. When the record cannot be written to
 * the user stack the process ends with STATUS_ACCESS_VIOLATION, as an
 * unhandled exception would end it on NT. A process with no registered
 * dispatcher gets the kernel routine only.
 */
void KiDeliverUserApc(PKTRAP_FRAME TrapFrame)
{
    PKTHREAD Thread = KeGetCurrentThread();
    USER_APC_RECORD Record;
    PKNORMAL_ROUTINE Normal;
    PVOID Arguments[3];
    KIRQL OldIrql;

    ASSERT(KeGetCurrentIrql() == PASSIVE_LEVEL);
    OldIrql = KiAcquireDispatcherLock();
    Thread->ApcState.UserApcPending = FALSE;
    if (IsListEmpty(&Thread->ApcState.ApcListHead[UserMode])) {
        KiReleaseDispatcherLock(OldIrql);
        return;
    }
    PKAPC Apc = CONTAINING_RECORD(RemoveHeadList(&Thread->ApcState.ApcListHead[UserMode]), KAPC,
                                  ApcListEntry);
    Apc->Inserted = FALSE;
    PKKERNEL_ROUTINE Kernel = Apc->KernelRoutine;
    Normal = Apc->NormalRoutine;
    Arguments[0] = Apc->NormalContext;
    Arguments[1] = Apc->SystemArgument1;
    Arguments[2] = Apc->SystemArgument2;
    KiReleaseDispatcherLock(APC_LEVEL);           /* the kernel routine runs at APC_LEVEL */
    Kernel(Apc, &Normal, &Arguments[0], &Arguments[1], &Arguments[2]);
    KeLowerIrql(OldIrql);

    PVOID Dispatcher = Thread->Process->UserApcDispatcher;
    if (Normal == NULL || Dispatcher == NULL)
        return;
    Record.NormalRoutine = (PPS_APC_ROUTINE)Normal;
    Record.NormalContext = Arguments[0];
    Record.SystemArgument1 = Arguments[1];
    Record.SystemArgument2 = Arguments[2];
    KiContextFromTrapFrame(TrapFrame, &Record.Context);

    /* [Base - 8]: a zero return address; [Base]: the record, 16-aligned. */
    ULONG64 Base = (TrapFrame->Rsp - KI_USER_RED_ZONE - sizeof(Record)) & ~15ULL;
    ULONG64 Zero = 0;
    if (TrapFrame->Rsp < 0x10000 + KI_USER_RED_ZONE + sizeof(Record) + 8 ||
        !NT_SUCCESS(MmCopyToUser((PVOID)Base, &Record, sizeof(Record))) ||
        !NT_SUCCESS(MmCopyToUser((PVOID)(Base - 8), &Zero, sizeof(Zero))))
        (void)NtTerminateProcess(NtCurrentProcess(), STATUS_ACCESS_VIOLATION);
    TrapFrame->Rip = (ULONG64)Dispatcher;
    TrapFrame->Rsp = Base - 8;
    TrapFrame->Rdi = Base;
}

/*
 * NtQueueApcThread - queue a user APC to the thread ThreadHandle names: at
 * its next alertable user-mode wait (or NtTestAlert) it calls
 * ApcRoutine(ApcArgument1, ApcArgument2, ApcArgument3) in user mode.
 * Returns STATUS_SUCCESS, STATUS_INVALID_PARAMETER (ApcRoutine not a user
 * address), STATUS_ACCESS_DENIED (a system thread), STATUS_UNSUCCESSFUL
 * (the thread is ending), STATUS_INSUFFICIENT_RESOURCES, the handle
 * errors. PASSIVE_LEVEL.
 */
NTSTATUS NtQueueApcThread(HANDLE ThreadHandle, PPS_APC_ROUTINE ApcRoutine, PVOID ApcArgument1,
                          PVOID ApcArgument2, PVOID ApcArgument3)
{
    PETHREAD Thread;

    if (ApcRoutine == NULL || (ULONG_PTR)ApcRoutine >= MM_USER_PROBE_ADDRESS)
        return STATUS_INVALID_PARAMETER;
    NTSTATUS Status = PsReferenceThreadByHandle(ThreadHandle, UserMode, &Thread);
    if (!NT_SUCCESS(Status))
        return Status;
    if (!Thread->UserThread) {
        ObDereferenceObject(Thread);
        return STATUS_ACCESS_DENIED;
    }
    PKAPC Apc = ExAllocatePoolWithTag(NonPagedPool, sizeof(KAPC), KI_USER_APC_TAG);
    if (Apc == NULL) {
        ObDereferenceObject(Thread);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    KeInitializeApc(Apc, &Thread->Tcb, OriginalApcEnvironment, KiFreeUserApc, KiRundownUserApc,
                    (PKNORMAL_ROUTINE)ApcRoutine, UserMode, ApcArgument1);
    if (!KeInsertQueueApc(Apc, ApcArgument2, ApcArgument3, 0)) {
        ExFreePoolWithTag(Apc, KI_USER_APC_TAG);
        Status = STATUS_UNSUCCESSFUL;
    }
    ObDereferenceObject(Thread);
    return Status;
}

/*
 * NtAlertThread - alert the thread ThreadHandle names in user mode: its
 * alertable user-mode wait ends with STATUS_ALERTED, now or at its next
 * one. Returns STATUS_SUCCESS or the handle errors. PASSIVE_LEVEL.
 */
NTSTATUS NtAlertThread(HANDLE ThreadHandle)
{
    PETHREAD Thread;

    NTSTATUS Status = PsReferenceThreadByHandle(ThreadHandle, UserMode, &Thread);
    if (!NT_SUCCESS(Status))
        return Status;
    (void)KeAlertThread(&Thread->Tcb, UserMode);
    ObDereferenceObject(Thread);
    return STATUS_SUCCESS;
}

/*
 * NtTestAlert - STATUS_ALERTED (and the alert is consumed) if the caller
 * was alerted; otherwise STATUS_SUCCESS, and a queued user APC runs before
 * the service returns to user mode. PASSIVE_LEVEL.
 */
NTSTATUS NtTestAlert(void)
{
    return KeTestAlertThread(UserMode) ? STATUS_ALERTED : STATUS_SUCCESS;
}

/*
 * NtContinue - resume the user-mode context *Context (the APC dispatcher's
 * way back): the service returns into it instead of to its caller, RAX
 * included. RIP and RSP must be user addresses (else
 * STATUS_INVALID_PARAMETER and nothing changes); of RFLAGS only the
 * arithmetic flags and DF are taken (interrupts stay enabled, no trap
 * flag, no I/O privilege). TestAlert: a further queued user APC is
 * delivered first, as NtTestAlert would. STATUS_ACCESS_VIOLATION for a bad
 * Context. PASSIVE_LEVEL.
 */
NTSTATUS NtContinue(PCONTEXT Context, BOOLEAN TestAlert)
{
    PKTHREAD Thread = KeGetCurrentThread();
    CONTEXT Captured;

    NTSTATUS Status = MmCopyFromUser(&Captured, Context, sizeof(Captured));
    if (!NT_SUCCESS(Status))
        return Status;
    if (Captured.Rip >= MM_USER_PROBE_ADDRESS || Captured.Rsp >= MM_USER_PROBE_ADDRESS)
        return STATUS_INVALID_PARAMETER;

    PKTRAP_FRAME Frame = KiUserTrapFrame(Thread);
    Frame->Rax = Captured.Rax; Frame->Rbx = Captured.Rbx; Frame->Rcx = Captured.Rcx;
    Frame->Rdx = Captured.Rdx; Frame->Rsi = Captured.Rsi; Frame->Rdi = Captured.Rdi;
    Frame->Rbp = Captured.Rbp; Frame->R8 = Captured.R8; Frame->R9 = Captured.R9;
    Frame->R10 = Captured.R10; Frame->R11 = Captured.R11; Frame->R12 = Captured.R12;
    Frame->R13 = Captured.R13; Frame->R14 = Captured.R14; Frame->R15 = Captured.R15;
    Frame->Rip = Captured.Rip;
    Frame->Rsp = Captured.Rsp;
    /* CF PF AF ZF SF DF OF from the context; IF and the reserved bit 1 set. */
    Frame->EFlags = (Captured.EFlags & 0xCD5) | 0x202;
    /* KiSystemService must not store a status over RAX, and must leave
     * through IRETQ, which restores every register of the frame. */
    Thread->ContextRestored = TRUE;
    if (TestAlert)
        (void)KeTestAlertThread(UserMode);
    return STATUS_SUCCESS;
}

/*
 * NtRegisterUserApcDispatcher - Dispatcher (a user address) becomes the
 * user-mode entry of every user APC delivered to the calling process's
 * threads. The runtime calls it at startup. STATUS_INVALID_PARAMETER for
 * a kernel address. PASSIVE_LEVEL.
 */
NTSTATUS NtRegisterUserApcDispatcher(PVOID Dispatcher)
{
    if ((ULONG_PTR)Dispatcher >= MM_USER_PROBE_ADDRESS)
        return STATUS_INVALID_PARAMETER;
    KeGetCurrentThread()->Process->UserApcDispatcher = Dispatcher;
    return STATUS_SUCCESS;
}
