/*
 * console.c - the console as an object user programs hold handles to:
 * NtWriteFile prints (COM1 and the VGA screen), NtReadFile reads what the
 * serial port and the keyboard typed.
 *
 * Input path, the NT way: the device's interrupt service routine (IRQL 4 or
 * 5) only moves bytes into a ring and queues a DPC; the DPC (DISPATCH_LEVEL)
 * signals an event; the reader, at PASSIVE_LEVEL, waits on the event.
 *
 *   COM1 / keyboard IRQ -> ISR: ring <- byte, KeInsertQueueDpc
 *                       -> DPC: KeSetEvent(input event)
 *                       -> NtReadFile: KeWaitForSingleObject, take bytes
 */
#include "iop.h"
#include "../hal/hal.h"
#include "../ps/ps.h"
#include "../mm/mm.h"
#include "../include/intrin.h"
#include "../include/ntapi.h"

typedef struct _IOP_CONSOLE {
    ULONG Reserved;
} IOP_CONSOLE;

static OBJECT_TYPE IopConsoleObjectType;
POBJECT_TYPE IoConsoleObjectType = &IopConsoleObjectType;
static IOP_CONSOLE *IopConsole;
static KEVENT IopConsoleInputEvent;
static KDPC IopConsoleDpc;

static void IopConsoleInputDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);
    /* I/O completion: the woken reader gets NT's keyboard boost, so an
     * interactive program answers ahead of busy ones (kernel/sched.c). */
    KeSetEvent(&IopConsoleInputEvent, IO_KEYBOARD_INCREMENT, FALSE);
}

/* ------------------------------------------------------------------------
 * Input: COM1's receive interrupt and the keyboard's both push characters
 * into one ring at device IRQL; readers take them out with interrupts off.
 * Before the receive interrupt is on, readers poll the UART directly.
 * ------------------------------------------------------------------------ */
#define IOP_INPUT_RING 256
static volatile char IopInputRing[IOP_INPUT_RING];
static volatile ULONG IopInputHead, IopInputTail;
static BOOLEAN IopSerialInterruptsOn;

void IopConsoleInputPush(char C)
{
    ULONG Next = (IopInputHead + 1) % IOP_INPUT_RING;
    if (Next == IopInputTail)
        return;
    IopInputRing[IopInputHead] = C;
    IopInputHead = Next;
    if (IopConsole)
        KeInsertQueueDpc(&IopConsoleDpc, NULL, NULL);
}

/* COM1's ISR, at IRQL 4: take every byte the UART holds. */
static BOOLEAN IopSerialInterrupt(PKINTERRUPT Interrupt, PVOID Context)
{
    UNREFERENCED_PARAMETER(Interrupt);
    UNREFERENCED_PARAMETER(Context);
    int C;
    BOOLEAN Any = FALSE;
    while ((C = HalSerialPollChar()) >= 0) {
        IopConsoleInputPush((char)C);
        Any = TRUE;
    }
    return Any;
}

void IoConsoleConnectInterrupts(void)
{
    static PKINTERRUPT SerialInterrupt;
    KIRQL Irql;
    KAFFINITY Affinity;
    ULONG Vector = HalGetInterruptVector(Isa, 0, 4, 4, &Irql, &Affinity);
    NTSTATUS Status = IoConnectInterrupt(&SerialInterrupt, IopSerialInterrupt, NULL, NULL, Vector,
                                         Irql, Irql, Latched, FALSE, Affinity, FALSE);
    if (NT_SUCCESS(Status))
        IopSerialInterruptsOn = HalSerialEnableReceiveInterrupt();
    NTSTATUS KeyboardStatus = IopConnectKeyboardInterrupt();
    if (!NT_SUCCESS(Status) || !NT_SUCCESS(KeyboardStatus))
        DbgPrint("console: connecting COM1 0x%x, keyboard 0x%x\n", (ULONG)Status,
                 (ULONG)KeyboardStatus);
}

/* The next typed character, or -1 when none is waiting. */
static int IopConsoleReadChar(void)
{
    if (!IopSerialInterruptsOn)
        return HalSerialPollChar();
    ULONG64 Flags = __readeflags();
    _disable();
    int C = -1;
    if (IopInputTail != IopInputHead) {
        C = (UCHAR)IopInputRing[IopInputTail];
        IopInputTail = (IopInputTail + 1) % IOP_INPUT_RING;
    }
    __writeeflags(Flags);
    return C;
}

void IoInitializeConsole(void)
{
    ObInitializeObjectType(IoConsoleObjectType, "Console", NULL);
    KeInitializeEvent(&IopConsoleInputEvent, SynchronizationEvent, FALSE);
    KeInitializeDpc(&IopConsoleDpc, IopConsoleInputDpc, NULL);
    if (!NT_SUCCESS(ObCreateObject(IoConsoleObjectType, sizeof(IOP_CONSOLE), (PVOID *)&IopConsole)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 0xC0, 0, 0, 0);
}

/* A handle to the console in Table (for a new process). */
NTSTATUS IoInsertConsoleHandle(PHANDLE_TABLE Table, PHANDLE Handle)
{
    return ObInsertHandle(Table, IopConsole, 0x12019F /* FILE_GENERIC_READ | WRITE */, 0, Handle);
}

static NTSTATUS IopReferenceConsole(HANDLE Handle, PVOID *Console)
{
    return ObReferenceObjectByHandle(Handle, 0, IoConsoleObjectType, UserMode, Console, NULL);
}

NTSTATUS NtWriteFile(HANDLE FileHandle, const void *Buffer, ULONG Length, PULONG BytesDone,
                     PLARGE_INTEGER ByteOffset)
{
    UNREFERENCED_PARAMETER(ByteOffset);
    PVOID Console;
    NTSTATUS Status = IopReferenceConsole(FileHandle, &Console);
    if (!NT_SUCCESS(Status))
        return Status;
    ULONG Done = 0;
    char Chunk[128];
    while (Done < Length) {
        ULONG Part = Length - Done < sizeof(Chunk) ? Length - Done : sizeof(Chunk);
        Status = MmCopyFromUser(Chunk, (const UCHAR *)Buffer + Done, Part);
        if (!NT_SUCCESS(Status))
            break;
        DbgPrint("%.*s", (int)Part, Chunk);
        Done += Part;
    }
    ObDereferenceObject(Console);
    if (BytesDone) {
        NTSTATUS CopyStatus = MmCopyToUser(BytesDone, &Done, sizeof(Done));
        if (NT_SUCCESS(Status))
            Status = CopyStatus;
    }
    return Status;
}

NTSTATUS NtReadFile(HANDLE FileHandle, PVOID Buffer, ULONG Length, PULONG BytesDone,
                    PLARGE_INTEGER ByteOffset)
{
    UNREFERENCED_PARAMETER(ByteOffset);
    PVOID Console;
    NTSTATUS Status = IopReferenceConsole(FileHandle, &Console);
    if (!NT_SUCCESS(Status))
        return Status;
    if (Length == 0 || !NT_SUCCESS(ProbeForWrite(Buffer, Length, 1))) {
        ObDereferenceObject(Console);
        return Length == 0 ? STATUS_INVALID_PARAMETER : STATUS_ACCESS_VIOLATION;
    }
    /* Block until at least one byte, then take what is there (raw mode:
     * the shell does its own line editing and echo). */
    char Chunk[128];
    ULONG Done = 0;
    for (;;) {
        int C;
        while (Done < Length && Done < sizeof(Chunk) && (C = IopConsoleReadChar()) >= 0)
            Chunk[Done++] = (char)C;
        if (Done > 0)
            break;
        Status = KeWaitForSingleObject(&IopConsoleInputEvent, UserRequest, UserMode, FALSE, NULL);
        if (((PETHREAD)KeGetCurrentThread())->Terminating) {
            ObDereferenceObject(Console);
            return STATUS_THREAD_IS_TERMINATING;
        }
    }
    ObDereferenceObject(Console);
    Status = MmCopyToUser(Buffer, Chunk, Done);
    if (NT_SUCCESS(Status) && BytesDone)
        Status = MmCopyToUser(BytesDone, &Done, sizeof(Done));
    return Status;
}

/* Wake a reader blocked in NtReadFile (process termination). */
void IoWakeConsoleReaders(void)
{
    KeSetEvent(&IopConsoleInputEvent, 0, FALSE);
}
