/*
 * test_kbd.c - the console's input drivers: the keyboard class driver
 * (\Device\KeyboardClass0, io/drivers/kbdclass.c), the serial driver
 * (\Device\Serial0, io/drivers/serial.c) and the console driver that keeps
 * a read pending on each (\Device\Console, io/drivers/console.c).
 *
 * Nobody presses keys during a test, so the input comes from the drivers'
 * test hooks, which hand scan codes or bytes to the same ring and DPC the
 * ISR uses: IopKeyboardTestInput, IopSerialTestInput. The kbd.* and
 * serial.* tests read the devices with IRPs of their own; the console's
 * reads would take the input first, so they stop it (IopConsoleStopInput)
 * and a deferred cleanup starts it again. The console.* tests leave it
 * running and read \Device\Console.
 *
 * Each read is an IRP from IoAllocateIrp whose completion routine records
 * the call (how often, the status, the byte count, the IRQL) and returns
 * STATUS_MORE_PROCESSING_REQUIRED; the cleanup frees it.
 */
#include "../../include/ktest.h"
#include "../../include/ntddkbd.h"
#include "../../io/iop.h"
#include "../../ob/ob.h"
#include "../../rtl/rtl.h"
#include "ktbaseline.h"
#include "ktdefer.h"

#define KT_KBD_TAG POOL_TAG('K', 't', 'K', 'b')

typedef struct _KT_READ {
    PIRP Irp;
    NTSTATUS Returned; /* what IoCallDriver said */
    KEVENT Done;
    volatile LONG Completions;
    NTSTATUS Status;
    ULONG_PTR Information;
    KIRQL Irql;
    UCHAR Buffer[16 * sizeof(KEYBOARD_INPUT_DATA)];
} KT_READ;

/* A referenced device object by name (a u"" literal), dropped after the test. */
#define KtKbdOpen(Literal) KtKbdOpenName(&(UNICODE_STRING)RTL_CONSTANT_STRING(Literal))

static PDEVICE_OBJECT KtKbdOpenName(PCUNICODE_STRING Name)
{
    PDEVICE_OBJECT Device;
    if (!NT_SUCCESS(
            ObReferenceObjectByName(Name, 0, IoDeviceObjectType, KernelMode, (PVOID *)&Device)))
        return NULL;
    KtDeferDereference(Device);
    return Device;
}

static NTSTATUS KtKbdReadDone(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    KT_READ *Read = Context;
    UNREFERENCED_PARAMETER(DeviceObject);
    Read->Status = Irp->IoStatus.Status;
    Read->Information = Irp->IoStatus.Information;
    Read->Irql = KeGetCurrentIrql();
    __atomic_add_fetch(&Read->Completions, 1, __ATOMIC_SEQ_CST);
    KeSetEvent(&Read->Done, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static BOOLEAN KtKbdWait(KT_READ *Read, ULONG Ms)
{
    LARGE_INTEGER Timeout = {.QuadPart = KT_MS(Ms)};
    return KeWaitForSingleObject(&Read->Done, Executive, KernelMode, FALSE, &Timeout) ==
        STATUS_SUCCESS;
}

/* Deferred: a read still pending is cancelled and waited for, then freed. */
static void KtKbdFreeRead(PVOID Context)
{
    KT_READ *Read = Context;
    if (Read->Completions == 0) {
        (void)IoCancelIrp(Read->Irp);
        KT_EXPECT(KtKbdWait(Read, 1000));
    }
    if (Read->Completions != 0)
        IoFreeIrp(Read->Irp);
    ExFreePoolWithTag(Read, KT_KBD_TAG);
}

/* Send a read of Length bytes to Device; NULL when pool is short. */
static KT_READ *KtKbdRead(PDEVICE_OBJECT Device, ULONG Length)
{
    KT_READ *Read = ExAllocatePoolWithTag(NonPagedPool, sizeof(KT_READ), KT_KBD_TAG);
    if (Read == NULL)
        return NULL;
    memset(Read, 0, sizeof(*Read));
    memset(Read->Buffer, 0xEE, sizeof(Read->Buffer));
    KeInitializeEvent(&Read->Done, NotificationEvent, FALSE);
    Read->Irp = IoAllocateIrp(Device->StackSize, FALSE);
    if (Read->Irp == NULL) {
        ExFreePoolWithTag(Read, KT_KBD_TAG);
        return NULL;
    }
    KtDefer(KtKbdFreeRead, Read);
    Read->Irp->AssociatedIrp.SystemBuffer = Read->Buffer;
    PIO_STACK_LOCATION Next = IoGetNextIrpStackLocation(Read->Irp);
    Next->MajorFunction = IRP_MJ_READ;
    Next->Parameters.Read.Length = Length;
    IoSetCompletionRoutine(Read->Irp, KtKbdReadDone, Read, TRUE, TRUE, TRUE);
    Read->Returned = IoCallDriver(Device, Read->Irp);
    return Read;
}

static void KtKbdRestartConsole(PVOID Unused)
{
    UNREFERENCED_PARAMETER(Unused);
    IopConsoleRestartInput();
}

/* Take the console's reads off the two devices until the test ends. */
static void KtKbdStopConsole(void)
{
    IopConsoleStopInput();
    KtDefer(KtKbdRestartConsole, NULL);
}

static BOOLEAN KtKbdRecordIs(const KT_READ *Read, ULONG Index, USHORT MakeCode, USHORT Flags)
{
    const KEYBOARD_INPUT_DATA *Data = (const KEYBOARD_INPUT_DATA *)Read->Buffer + Index;
    return Data->UnitId == 0 && Data->MakeCode == MakeCode && Data->Flags == Flags &&
        Data->Reserved == 0 && Data->ExtraInformation == 0;
}

#define KT_RECORDS(n) ((n) * sizeof(KEYBOARD_INPUT_DATA))

/* A read with nothing typed pends; a key press and release complete it
 * from the driver's DPC, at DISPATCH_LEVEL, with one record each. */
KTEST(kbd, read_pends_until_a_key_make_and_break)
{
    static const UCHAR Codes[] = {0x1E, 0x9E}; /* A down, A up */
    PDEVICE_OBJECT Device = KtKbdOpen(DD_KEYBOARD_DEVICE_NAME_0);
    KT_ASSERT(Device != NULL);
    KtKbdStopConsole();

    KT_READ *Read = KtKbdRead(Device, KT_RECORDS(4));
    KT_ASSERT(Read != NULL);
    KT_ASSERT_EQ(Read->Returned, STATUS_PENDING);
    KtSleepMs(20);
    KT_ASSERT_EQ(Read->Completions, 0);

    IopKeyboardTestInput(Codes, sizeof(Codes));
    KT_ASSERT(KtKbdWait(Read, 1000));
    KT_EXPECT_EQ(Read->Completions, 1);
    KT_EXPECT_EQ(Read->Status, STATUS_SUCCESS);
    KT_EXPECT_EQ(Read->Irql, DISPATCH_LEVEL);
    KT_ASSERT_EQ(Read->Information, KT_RECORDS(2));
    KT_EXPECT(KtKbdRecordIs(Read, 0, 0x1E, KEY_MAKE));
    KT_EXPECT(KtKbdRecordIs(Read, 1, 0x1E, KEY_BREAK));
    KT_EXPECT_EQ(Read->Buffer[KT_RECORDS(2)], 0xEE); /* nothing past the records */
}

/* The prefix bytes: E0 flags the next record (an arrow key), E1 the
 * Pause key's first; the controller's acknowledgement 0xFA is no key.
 * Records queued before the read are returned at once. */
KTEST(kbd, e0_and_e1_prefixes)
{
    static const UCHAR Codes[] = {0xE0, 0x48, 0xE0, 0xC8, 0xFA, 0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5};
    PDEVICE_OBJECT Device = KtKbdOpen(DD_KEYBOARD_DEVICE_NAME_0);
    KT_ASSERT(Device != NULL);
    KtKbdStopConsole();

    KT_READ *Wait = KtKbdRead(Device, KT_RECORDS(8)); /* collects them */
    KT_ASSERT(Wait != NULL);
    KT_ASSERT_EQ(Wait->Returned, STATUS_PENDING);
    IopKeyboardTestInput(Codes, sizeof(Codes));
    KT_ASSERT(KtKbdWait(Wait, 1000));
    KT_ASSERT_EQ(Wait->Information, KT_RECORDS(6));
    KT_EXPECT(KtKbdRecordIs(Wait, 0, 0x48, KEY_MAKE | KEY_E0));
    KT_EXPECT(KtKbdRecordIs(Wait, 1, 0x48, KEY_BREAK | KEY_E0));
    KT_EXPECT(KtKbdRecordIs(Wait, 2, 0x1D, KEY_MAKE | KEY_E1));
    KT_EXPECT(KtKbdRecordIs(Wait, 3, 0x45, KEY_MAKE));
    KT_EXPECT(KtKbdRecordIs(Wait, 4, 0x1D, KEY_BREAK | KEY_E1));
    KT_EXPECT(KtKbdRecordIs(Wait, 5, 0x45, KEY_BREAK));
}

/* Whole records only: a length that is not a multiple of one is
 * STATUS_BUFFER_TOO_SMALL, 0 bytes succeed with none, and a read for one
 * record leaves the others, oldest first, for the next read, which does
 * not pend. */
KTEST(kbd, whole_records_oldest_first)
{
    static const UCHAR Codes[] = {0x10, 0x11, 0x12}; /* q w e, pressed */
    PDEVICE_OBJECT Device = KtKbdOpen(DD_KEYBOARD_DEVICE_NAME_0);
    KT_ASSERT(Device != NULL);
    KtKbdStopConsole();

    KT_READ *Odd = KtKbdRead(Device, 5);
    KT_ASSERT(Odd != NULL);
    KT_EXPECT_EQ(Odd->Returned, STATUS_BUFFER_TOO_SMALL);
    KT_EXPECT_EQ(Odd->Completions, 1);
    KT_READ *Empty = KtKbdRead(Device, 0);
    KT_ASSERT(Empty != NULL);
    KT_EXPECT_EQ(Empty->Returned, STATUS_SUCCESS);
    KT_EXPECT_EQ(Empty->Information, 0);

    KT_READ *First = KtKbdRead(Device, KT_RECORDS(1));
    KT_ASSERT(First != NULL && First->Returned == STATUS_PENDING);
    IopKeyboardTestInput(Codes, sizeof(Codes));
    KT_ASSERT(KtKbdWait(First, 1000));
    KT_ASSERT_EQ(First->Information, KT_RECORDS(1));
    KT_EXPECT(KtKbdRecordIs(First, 0, 0x10, KEY_MAKE));
    KT_READ *Rest = KtKbdRead(Device, KT_RECORDS(4));
    KT_ASSERT(Rest != NULL);
    KT_EXPECT_EQ(Rest->Returned, STATUS_SUCCESS);
    KT_ASSERT_EQ(Rest->Information, KT_RECORDS(2));
    KT_EXPECT(KtKbdRecordIs(Rest, 0, 0x11, KEY_MAKE));
    KT_EXPECT(KtKbdRecordIs(Rest, 1, 0x12, KEY_MAKE));
}

/* IoCancelIrp on a pending read: its cancel routine completes it once,
 * STATUS_CANCELLED, no data; cancelling again finds no routine; a key
 * typed afterwards goes to the next read, not to the cancelled one. */
KTEST(kbd, cancel_pending_read_once)
{
    static const UCHAR Codes[] = {0x39}; /* space down */
    PDEVICE_OBJECT Device = KtKbdOpen(DD_KEYBOARD_DEVICE_NAME_0);
    KT_ASSERT(Device != NULL);
    KtKbdStopConsole();

    KT_READ *Read = KtKbdRead(Device, KT_RECORDS(2));
    KT_ASSERT(Read != NULL && Read->Returned == STATUS_PENDING);
    KT_EXPECT(IoCancelIrp(Read->Irp));
    KT_ASSERT(KtKbdWait(Read, 1000));
    KT_EXPECT_EQ(Read->Status, STATUS_CANCELLED);
    KT_EXPECT_EQ(Read->Information, 0);
    KT_EXPECT(!IoCancelIrp(Read->Irp));

    KT_READ *Next = KtKbdRead(Device, KT_RECORDS(2));
    KT_ASSERT(Next != NULL && Next->Returned == STATUS_PENDING);
    IopKeyboardTestInput(Codes, sizeof(Codes));
    KT_ASSERT(KtKbdWait(Next, 1000));
    KT_EXPECT_EQ(Next->Information, KT_RECORDS(1));
    KT_EXPECT(KtKbdRecordIs(Next, 0, 0x39, KEY_MAKE));
    KT_EXPECT_EQ(Read->Completions, 1);
}

/* A serial read pends until bytes arrive, then takes what is there (at
 * most its length); the rest waits for the next read, which does not pend. */
KTEST(serial, read_pends_until_bytes_arrive)
{
    static const UCHAR Bytes[] = "abcdefghijklmnopqrst"; /* 20 */
    PDEVICE_OBJECT Device = KtKbdOpen(u"\\Device\\Serial0");
    KT_ASSERT(Device != NULL);
    KtKbdStopConsole();

    KT_READ *Read = KtKbdRead(Device, 16);
    KT_ASSERT(Read != NULL);
    KT_ASSERT_EQ(Read->Returned, STATUS_PENDING);
    KtSleepMs(20);
    KT_ASSERT_EQ(Read->Completions, 0);
    IopSerialTestInput(Bytes, 3);
    KT_ASSERT(KtKbdWait(Read, 1000));
    KT_EXPECT_EQ(Read->Status, STATUS_SUCCESS);
    KT_EXPECT_EQ(Read->Irql, DISPATCH_LEVEL);
    KT_ASSERT_EQ(Read->Information, 3);
    KT_EXPECT(memcmp(Read->Buffer, "abc", 3) == 0);
    KT_EXPECT_EQ(Read->Buffer[3], 0xEE);

    KT_READ *Wait = KtKbdRead(Device, 16);
    KT_ASSERT(Wait != NULL && Wait->Returned == STATUS_PENDING);
    IopSerialTestInput(Bytes, 20);
    KT_ASSERT(KtKbdWait(Wait, 1000));
    KT_EXPECT_EQ(Wait->Information, 16);
    KT_READ *Rest = KtKbdRead(Device, 16);
    KT_ASSERT(Rest != NULL);
    KT_EXPECT_EQ(Rest->Returned, STATUS_SUCCESS);
    KT_ASSERT_EQ(Rest->Information, 4);
    KT_EXPECT(memcmp(Rest->Buffer, "qrst", 4) == 0);
}

/* Cancel a pending serial read: once, STATUS_CANCELLED; the next bytes go
 * to the next read. */
KTEST(serial, cancel_pending_read_once)
{
    PDEVICE_OBJECT Device = KtKbdOpen(u"\\Device\\Serial0");
    KT_ASSERT(Device != NULL);
    KtKbdStopConsole();

    KT_READ *Read = KtKbdRead(Device, 8);
    KT_ASSERT(Read != NULL && Read->Returned == STATUS_PENDING);
    KT_EXPECT(IoCancelIrp(Read->Irp));
    KT_ASSERT(KtKbdWait(Read, 1000));
    KT_EXPECT_EQ(Read->Status, STATUS_CANCELLED);
    KT_EXPECT_EQ(Read->Information, 0);
    KT_EXPECT(!IoCancelIrp(Read->Irp));
    KT_READ *Next = KtKbdRead(Device, 8);
    KT_ASSERT(Next != NULL && Next->Returned == STATUS_PENDING);
    IopSerialTestInput((const UCHAR *)"z", 1);
    KT_ASSERT(KtKbdWait(Next, 1000));
    KT_EXPECT_EQ(Next->Information, 1);
    KT_EXPECT_EQ(Next->Buffer[0], 'z');
    KT_EXPECT_EQ(Read->Completions, 1);
}

/* A write goes out on COM1 as it is and completes with every byte. */
KTEST(serial, write_sends_every_byte)
{
    static char Text[] = "serial: this line went through \\Device\\Serial0\r\n";
    PDEVICE_OBJECT Device = KtKbdOpen(u"\\Device\\Serial0");
    KT_ASSERT(Device != NULL);
    PIRP Irp = IoAllocateIrp(Device->StackSize, FALSE);
    KT_ASSERT(Irp != NULL);
    KT_READ Result; /* only its completion fields */
    memset(&Result, 0, sizeof(Result));
    KeInitializeEvent(&Result.Done, NotificationEvent, FALSE);
    Irp->AssociatedIrp.SystemBuffer = Text;
    PIO_STACK_LOCATION Next = IoGetNextIrpStackLocation(Irp);
    Next->MajorFunction = IRP_MJ_WRITE;
    Next->Parameters.Write.Length = sizeof(Text) - 1;
    IoSetCompletionRoutine(Irp, KtKbdReadDone, &Result, TRUE, TRUE, TRUE);
    KT_EXPECT_STATUS(IoCallDriver(Device, Irp), STATUS_SUCCESS);
    KT_EXPECT_EQ(Result.Completions, 1);
    KT_EXPECT_EQ(Result.Information, sizeof(Text) - 1);
    IoFreeIrp(Irp);
}

/* The console keeps its reads pending on both devices: key records become
 * characters (US layout, Shift, the keypad's Enter) in a pending console
 * read, completed from the console's completion routine at DISPATCH_LEVEL;
 * an E0-prefixed Shift is no Shift; COM1's bytes arrive as they are. */
KTEST(console, keys_and_serial_bytes_become_input)
{
    static const UCHAR Keys[] = {
        0x2A, 0x23, 0xA3, 0xAA, /* Shift down, h, Shift up: H */
        0x17, 0x97, /* i */
        0xE0, 0x2A, 0x1E, 0x9E, 0xE0, 0xAA, /* a fake Shift around a: a */
        0x48, 0xC8, /* keypad 8 / up arrow without E0: nothing */
        0xE0, 0x1C, 0xE0, 0x9C, /* keypad Enter: \r */
    };
    PDEVICE_OBJECT Console = KtKbdOpen(u"\\Device\\Console");
    KT_ASSERT(Console != NULL);

    KT_READ *Read = KtKbdRead(Console, 16);
    KT_ASSERT(Read != NULL);
    KT_ASSERT_EQ(Read->Returned, STATUS_PENDING);
    IopKeyboardTestInput(Keys, sizeof(Keys));
    KT_ASSERT(KtKbdWait(Read, 1000));
    KT_EXPECT_EQ(Read->Irql, DISPATCH_LEVEL);
    KT_EXPECT_EQ(Read->Status, STATUS_SUCCESS);
    KT_ASSERT_EQ(Read->Information, 4);
    KT_EXPECT(memcmp(Read->Buffer, "Hia\r", 4) == 0);

    KT_READ *Serial = KtKbdRead(Console, 16);
    KT_ASSERT(Serial != NULL && Serial->Returned == STATUS_PENDING);
    IopSerialTestInput((const UCHAR *)"ok", 2);
    KT_ASSERT(KtKbdWait(Serial, 1000));
    KT_ASSERT_EQ(Serial->Information, 2);
    KT_EXPECT(memcmp(Serial->Buffer, "ok", 2) == 0);
}

/* While the console's input is stopped, keys stay with the keyboard
 * driver; once restarted, the console's read there takes them at once
 * (inside IoCallDriver), 16 records at a time: more than one IRP's worth
 * come back through the sender's loop, none lost, in order, and the
 * pending console read gets the first of them. */
KTEST(console, stop_and_restart_input)
{
    static const UCHAR Letters[] = {0x1E, 0x30, 0x2E, 0x20, 0x12, 0x21, 0x22, 0x23, 0x17, 0x24};
    UCHAR Keys[2 * sizeof(Letters)]; /* a..j, each pressed and released: 20 records */
    for (ULONG i = 0; i < sizeof(Letters); i++) {
        Keys[2 * i] = Letters[i];
        Keys[2 * i + 1] = Letters[i] | 0x80;
    }
    PDEVICE_OBJECT Console = KtKbdOpen(u"\\Device\\Console");
    KT_ASSERT(Console != NULL);

    IopConsoleStopInput();
    PKT_DEFERRED Restart = KtDefer(KtKbdRestartConsole, NULL);
    KT_READ *Read = KtKbdRead(Console, 16);
    KT_ASSERT(Read != NULL && Read->Returned == STATUS_PENDING);
    IopKeyboardTestInput(Keys, sizeof(Keys));
    KtSleepMs(20);
    KT_EXPECT_EQ(Read->Completions, 0);
    KtCleanupNow(Restart);
    KT_ASSERT(KtKbdWait(Read, 1000));
    KT_ASSERT(Read->Information >= 1 && Read->Information <= 10);
    KT_READ *Rest = KtKbdRead(Console, 16);
    KT_ASSERT(Rest != NULL);
    KT_EXPECT_EQ(Rest->Returned, STATUS_SUCCESS);
    KT_ASSERT_EQ(Read->Information + Rest->Information, 10);
    char Typed[10];
    memcpy(Typed, Read->Buffer, Read->Information);
    memcpy(Typed + Read->Information, Rest->Buffer, Rest->Information);
    KT_EXPECT(memcmp(Typed, "abcdefghij", 10) == 0);
}
