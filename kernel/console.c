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
#include "ki.h"
#include "ps.h"
#include "../mm/mm.h"
#include "../include/ntapi.h"

typedef struct _KI_CONSOLE {
    ULONG Reserved;
} KI_CONSOLE;

static OBJECT_TYPE KiConsoleObjectType;
POBJECT_TYPE IoConsoleObjectType = &KiConsoleObjectType;
static KI_CONSOLE *KiConsole;
static KEVENT KiConsoleInputEvent;
static KDPC KiConsoleDpc;

static void KiConsoleInputDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);
    KeSetEvent(&KiConsoleInputEvent, 0, FALSE);
}

/* From the ISRs, at device IRQL. */
void KiConsoleInputArrived(void)
{
    if (KiConsole)
        KeInsertQueueDpc(&KiConsoleDpc, NULL, NULL);
}

void KiInitializeConsole(void)
{
    ObInitializeObjectType(IoConsoleObjectType, "Console", NULL);
    KeInitializeEvent(&KiConsoleInputEvent, SynchronizationEvent, FALSE);
    KeInitializeDpc(&KiConsoleDpc, KiConsoleInputDpc, NULL);
    if (!NT_SUCCESS(ObCreateObject(IoConsoleObjectType, sizeof(KI_CONSOLE), (PVOID *)&KiConsole)))
        KeBugCheckEx(PHASE1_INITIALIZATION_FAILED, 0xC0, 0, 0, 0);
}

/* A handle to the console in Table (for a new process). */
NTSTATUS KiInsertConsoleHandle(PHANDLE_TABLE Table, PHANDLE Handle)
{
    return ObInsertHandle(Table, KiConsole, 0x12019F /* FILE_GENERIC_READ | WRITE */, 0, Handle);
}

static NTSTATUS KiReferenceConsole(HANDLE Handle, PVOID *Console)
{
    return ObReferenceObjectByHandle(Handle, 0, IoConsoleObjectType, UserMode, Console, NULL);
}

NTSTATUS NtWriteFile(HANDLE FileHandle, const void *Buffer, ULONG Length, PULONG BytesDone,
                     PLARGE_INTEGER ByteOffset)
{
    UNREFERENCED_PARAMETER(ByteOffset);
    PVOID Console;
    NTSTATUS Status = KiReferenceConsole(FileHandle, &Console);
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
    NTSTATUS Status = KiReferenceConsole(FileHandle, &Console);
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
        while (Done < Length && Done < sizeof(Chunk) && (C = KdPollChar()) >= 0)
            Chunk[Done++] = (char)C;
        if (Done > 0)
            break;
        Status = KeWaitForSingleObject(&KiConsoleInputEvent, UserRequest, UserMode, FALSE, NULL);
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
void KiWakeConsoleReaders(void)
{
    KeSetEvent(&KiConsoleInputEvent, 0, FALSE);
}
