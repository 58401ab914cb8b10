/*
 * test_io.c - the I/O services from ring 3 (NtCreateFile, NtReadFile,
 * NtWriteFile, NtDeviceIoControlFile, NtCancelIoFile), after the ReactOS
 * kmtests' model: every IO_STATUS_BLOCK starts filled with a pattern, so
 * that a test sees exactly what the kernel wrote and when.
 *
 * The devices: \Device\Null (\??\NUL), and the I/O test driver
 * \Device\IoTest (include/iotest.h), whose reads pend until
 * IOCTL_IOTEST_COMPLETE_READS completes them. The rules checked are NT's:
 * a request that fails before it pends writes nothing the caller sees; a
 * pending one writes its IO_STATUS_BLOCK and signals its event only when it
 * is over; a buffered read copies exactly Information bytes; bad or kernel
 * pointers give STATUS_ACCESS_VIOLATION and leak nothing; NtCancelIoFile
 * and the end of the requesting thread cancel pending reads. A test that
 * stops early leaves no read behind: closing its handle makes the driver
 * cancel the file's reads (IRP_MJ_CLEANUP).
 */
#include "ut.h"
#include "iotest.h"

#define IOSB_PATTERN ((NTSTATUS)0x55AA55AA)
#define IOSB_PATTERN_LEN ((ULONG_PTR)0xA5A5A5A5A5A5A5A5ULL)

static void FillIosb(PIO_STATUS_BLOCK Iosb)
{
    Iosb->Status = IOSB_PATTERN;
    Iosb->Information = IOSB_PATTERN_LEN;
}

static BOOLEAN IosbUntouched(const IO_STATUS_BLOCK *Iosb)
{
    return Iosb->Status == IOSB_PATTERN && Iosb->Information == IOSB_PATTERN_LEN;
}

/* Open Name (a kernel namespace path) with Options; the handle is closed
 * after the test. NULL on failure (the status in *Status, if given). */
static HANDLE OpenDevice(PCWSTR Name, ULONG Options)
{
    UNICODE_STRING String;
    OBJECT_ATTRIBUTES Attributes;
    IO_STATUS_BLOCK Iosb;
    HANDLE Handle = NULL;

    RtlInitUnicodeString(&String, Name);
    InitializeObjectAttributes(&Attributes, &String, 0, NULL, NULL);
    FillIosb(&Iosb);
    NTSTATUS Status =
        NtCreateFile(&Handle, FILE_GENERIC_READ | FILE_GENERIC_WRITE, &Attributes, &Iosb, NULL, 0,
                     FILE_SHARE_READ | FILE_SHARE_WRITE, FILE_OPEN, Options, NULL, 0);
    if (!NT_SUCCESS(Status) || Iosb.Status != STATUS_SUCCESS || Iosb.Information != FILE_OPENED)
        return NULL;
    UtDeferClose(Handle);
    return Handle;
}

/* How many reads \Device\IoTest holds now. */
static ULONG PendingReads(HANDLE Device)
{
    IO_STATUS_BLOCK Iosb;
    ULONG Count = 0xFFFFFFFF;
    if (!NT_SUCCESS(NtDeviceIoControlFile(Device, NULL, NULL, NULL, &Iosb,
                                          IOCTL_IOTEST_PENDING_READS, NULL, 0, &Count,
                                          sizeof(Count))))
        return 0xFFFFFFFF;
    return Count;
}

/* Complete every pending read of \Device\IoTest with Status and Data;
 * returns how many there were. */
static ULONG CompleteReads(HANDLE Device, NTSTATUS Status, const char *Data)
{
    struct {
        IOTEST_COMPLETION Head;
        char Data[64];
    } In = {{Status, 0}, {0}};
    ULONG Length = (ULONG)strlen(Data);
    IO_STATUS_BLOCK Iosb;
    ULONG Count = 0xFFFFFFFF;
    memcpy(In.Data, Data, Length);
    if (!NT_SUCCESS(NtDeviceIoControlFile(Device, NULL, NULL, NULL, &Iosb,
                                          IOCTL_IOTEST_COMPLETE_READS, &In,
                                          sizeof(In.Head) + Length, &Count, sizeof(Count))))
        return 0xFFFFFFFF;
    return Count;
}

static BOOLEAN IsSignalled(HANDLE Event)
{
    LARGE_INTEGER Zero = {.QuadPart = 0};
    return NtWaitForSingleObject(Event, FALSE, &Zero) == STATUS_SUCCESS;
}

/* The bytes in use of the I/O manager's pool tags. */
static ULONG64 IoPoolBytes(void)
{
    static const ULONG Tags[] = {POOL_TAG('I', 'r', 'p', ' '), POOL_TAG('I', 'o', 'B', 'f'),
                                 POOL_TAG('M', 'd', 'l', ' '), POOL_TAG('F', 'i', 'l', 'e')};
    ULONG Length;
    NTSTATUS Status;
    ULONG64 Bytes = 0;
    SYSTEM_POOLTAG *Pool = PgQuerySystem(SystemPoolTagInformation, NULL, 0, &Length, &Status);
    if (Pool == NULL)
        return ~0ULL;
    for (ULONG I = 0; I < Length / sizeof(*Pool); I++)
        for (size_t T = 0; T < ARRAYSIZE(Tags); T++)
            if (Pool[I].Tag == Tags[T])
                Bytes += Pool[I].BytesInUse;
    free(Pool);
    return Bytes;
}

/* ------------------------------------------------------------------------ */

static void OpenByDeviceAndDosName(void)
{
    UNICODE_STRING String;
    OBJECT_ATTRIBUTES Attributes;
    IO_STATUS_BLOCK Iosb;
    HANDLE Handle = NULL;

    UT_EXPECT(OpenDevice(u"\\Device\\Null", FILE_SYNCHRONOUS_IO_NONALERT) != NULL);
    UT_EXPECT(OpenDevice(u"\\??\\NUL", 0) != NULL);
    UT_EXPECT(OpenDevice(u"\\??\\CON", FILE_SYNCHRONOUS_IO_NONALERT) != NULL);

    RtlInitUnicodeString(&String, u"\\Device\\NoSuchDevice");
    InitializeObjectAttributes(&Attributes, &String, 0, NULL, NULL);
    FillIosb(&Iosb);
    UT_EXPECT_STATUS(NtOpenFile(&Handle, FILE_GENERIC_READ, &Attributes, &Iosb, 0, 0),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    UT_EXPECT(IosbUntouched(&Iosb) && Handle == NULL);
    /* A name that is no device, and a disposition that would create one. */
    RtlInitUnicodeString(&String, u"\\Driver\\Null");
    UT_EXPECT_STATUS(NtOpenFile(&Handle, FILE_GENERIC_READ, &Attributes, &Iosb, 0, 0),
                     STATUS_OBJECT_TYPE_MISMATCH);
    RtlInitUnicodeString(&String, u"\\Device\\Null");
    UT_EXPECT_STATUS(NtCreateFile(&Handle, FILE_GENERIC_READ, &Attributes, &Iosb, NULL, 0, 0,
                                  FILE_CREATE, 0, NULL, 0),
                     STATUS_OBJECT_NAME_COLLISION);
    UT_EXPECT(IosbUntouched(&Iosb) && Handle == NULL);
    UT_EXPECT_STATUS(NtOpenFile(&Handle, FILE_GENERIC_READ, UT_KERNEL_VA, &Iosb, 0, 0),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtOpenFile(&Handle, FILE_GENERIC_READ, &Attributes, UT_KERNEL_VA, 0, 0),
                     STATUS_ACCESS_VIOLATION);
}

static void NullReadWrite(void)
{
    HANDLE Null = OpenDevice(u"\\Device\\Null", FILE_SYNCHRONOUS_IO_NONALERT);
    HANDLE Async = OpenDevice(u"\\Device\\Null", 0);
    IO_STATUS_BLOCK Iosb;
    char Buffer[8] = "abcdefg";

    UT_ASSERT(Null != NULL && Async != NULL);
    /* A synchronous handle: the null driver's fast I/O answers, no IRP,
     * and the status block is written whatever the status (NT's rule for
     * fast I/O). */
    FillIosb(&Iosb);
    UT_EXPECT_SUCCESS(NtWriteFile(Null, NULL, NULL, NULL, &Iosb, Buffer, 5, NULL, NULL));
    UT_EXPECT(Iosb.Status == STATUS_SUCCESS && Iosb.Information == 5);
    FillIosb(&Iosb);
    UT_EXPECT_STATUS(NtReadFile(Null, NULL, NULL, NULL, &Iosb, Buffer, 1, NULL, NULL),
                     STATUS_END_OF_FILE);
    UT_EXPECT(Iosb.Status == STATUS_END_OF_FILE && Iosb.Information == 0);
    /* An asynchronous one: an IRP, which the driver completes at once with
     * end of file - an error without pending, so the status block keeps
     * its pattern and the buffer its bytes. */
    FillIosb(&Iosb);
    UT_EXPECT_SUCCESS(NtWriteFile(Async, NULL, NULL, NULL, &Iosb, Buffer, 6, NULL, NULL));
    UT_EXPECT(Iosb.Status == STATUS_SUCCESS && Iosb.Information == 6);
    FillIosb(&Iosb);
    UT_EXPECT_STATUS(NtReadFile(Async, NULL, NULL, NULL, &Iosb, Buffer, 1, NULL, NULL),
                     STATUS_END_OF_FILE);
    UT_EXPECT(IosbUntouched(&Iosb));
    UT_EXPECT(Buffer[0] == 'a');
}

static void IosbUntouchedOnSynchronousFailure(void)
{
    HANDLE Test = OpenDevice(u"\\Device\\IoTest", 0);
    HANDLE Event = UtCreateEvent(NotificationEvent, TRUE);
    IO_STATUS_BLOCK Iosb;
    UCHAR Out[4] = {1, 2, 3, 4};

    UT_ASSERT(Test != NULL && Event != NULL);
    UtDeferClose(Event);
    FillIosb(&Iosb);
    UT_EXPECT_STATUS(
        NtDeviceIoControlFile(Test, Event, NULL, NULL, &Iosb,
                              CTL_CODE(FILE_DEVICE_IOTEST, 0x8FF, METHOD_BUFFERED, FILE_ANY_ACCESS),
                              NULL, 0, Out, sizeof(Out)),
        STATUS_INVALID_DEVICE_REQUEST);
    UT_EXPECT(IosbUntouched(&Iosb));
    UT_EXPECT(Out[0] == 1 && Out[3] == 4);
    UT_EXPECT(!IsSignalled(Event)); /* reset by the service, never set */
    /* Refused before any IRP: a bad handle, a bad event handle. */
    UT_EXPECT_STATUS(NtReadFile(UT_BAD_HANDLE, NULL, NULL, NULL, &Iosb, Out, 1, NULL, NULL),
                     STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtReadFile(Test, UT_BAD_HANDLE, NULL, NULL, &Iosb, Out, 1, NULL, NULL),
                     STATUS_INVALID_HANDLE);
    UT_EXPECT_STATUS(NtReadFile(Test, Test, NULL, NULL, &Iosb, Out, 1, NULL, NULL),
                     STATUS_OBJECT_TYPE_MISMATCH);
    UT_EXPECT(IosbUntouched(&Iosb));
    UT_EXPECT_EQ(PendingReads(Test), 0);
}

static void BufferedReadCopiesExactlyInformation(void)
{
    HANDLE Test = OpenDevice(u"\\Device\\IoTest", 0);
    HANDLE Event = UtCreateEvent(NotificationEvent, FALSE);
    IO_STATUS_BLOCK Iosb;
    UCHAR Buffer[64];

    UT_ASSERT(Test != NULL && Event != NULL);
    UtDeferClose(Event);
    memset(Buffer, 0x5A, sizeof(Buffer));
    FillIosb(&Iosb);
    UT_ASSERT_STATUS(NtReadFile(Test, Event, NULL, NULL, &Iosb, Buffer, sizeof(Buffer), NULL, NULL),
                     STATUS_PENDING);
    /* Pending: nothing written yet. */
    UT_EXPECT(IosbUntouched(&Iosb));
    UT_EXPECT(!IsSignalled(Event));
    UT_EXPECT_EQ(PendingReads(Test), 1);
    /* The driver fills its whole system buffer with 0xEE, then "abc" in front. */
    UT_ASSERT_EQ(CompleteReads(Test, STATUS_SUCCESS, "abc"), 1);
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(Event, FALSE, NULL));
    UT_EXPECT(Iosb.Status == STATUS_SUCCESS && Iosb.Information == 3);
    UT_EXPECT(Buffer[0] == 'a' && Buffer[1] == 'b' && Buffer[2] == 'c');
    ULONG Untouched = 0;
    for (ULONG I = 3; I < sizeof(Buffer); I++)
        Untouched += Buffer[I] == 0x5A;
    UT_EXPECT_EQ(Untouched, sizeof(Buffer) - 3);
    /* A pending read that ends in an error: status block written, no data. */
    FillIosb(&Iosb);
    UT_ASSERT_STATUS(NtReadFile(Test, Event, NULL, NULL, &Iosb, Buffer, 8, NULL, NULL),
                     STATUS_PENDING);
    UT_ASSERT_EQ(CompleteReads(Test, STATUS_UNSUCCESSFUL, "xyz"), 1);
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(Event, FALSE, NULL));
    UT_EXPECT(Iosb.Status == STATUS_UNSUCCESSFUL && Iosb.Information == 0);
    UT_EXPECT(Buffer[0] == 'a');
}

/* Arguments 7 and up of a system call are on the user stack: with RSP on
 * an unmapped page, the dispatcher cannot read them and the service never
 * runs. The stub's service number is its "mov $N, %eax" (user/lib/syscalls.S). */
static NTSTATUS ReadFileWithBadStack(HANDLE File, PIO_STATUS_BLOCK Iosb, PVOID Buffer)
{
    ULONG Number;
    const UCHAR *Stub;
    __asm__("lea NtReadFile(%%rip), %0" : "=r"(Stub));
    memcpy(&Number, Stub + 4, sizeof(Number));
    register ULONG64 R10 __asm__("r10") = 0;
    register ULONG64 R8 __asm__("r8") = (ULONG64)Iosb;
    register ULONG64 R9 __asm__("r9") = (ULONG64)Buffer;
    ULONG64 Rax = Number;
    __asm__ volatile("mov %%rsp, %%rbx\n\t"
                     "mov %[Bad], %%rsp\n\t"
                     "syscall\n\t"
                     "mov %%rbx, %%rsp"
                     : "+a"(Rax), "+r"(R10), "+r"(R8), "+r"(R9)
                     : "D"(File), "S"(0), "d"(0), [Bad] "r"((ULONG64)UT_UNMAPPED)
                     : "rbx", "rcx", "r11", "memory");
    return (NTSTATUS)Rax;
}

static void BadPointersAreAccessViolations(void)
{
    HANDLE Test = OpenDevice(u"\\Device\\IoTest", 0);
    HANDLE Null = OpenDevice(u"\\Device\\Null", FILE_SYNCHRONOUS_IO_NONALERT);
    IO_STATUS_BLOCK Iosb;
    UCHAR Small[16] = {0};

    UT_ASSERT(Test != NULL && Null != NULL);
    ULONG64 Before = IoPoolBytes();
    FillIosb(&Iosb);
    UT_EXPECT_STATUS(NtReadFile(Test, NULL, NULL, NULL, &Iosb, UT_KERNEL_VA, 16, NULL, NULL),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtReadFile(Test, NULL, NULL, NULL, &Iosb, UT_NONCANONICAL, 16, NULL, NULL),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtReadFile(Test, NULL, NULL, NULL, UT_KERNEL_VA, Small, 16, NULL, NULL),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtReadFile(Test, NULL, NULL, NULL, &Iosb, Small, 16, UT_UNMAPPED, NULL),
                     STATUS_ACCESS_VIOLATION);
    /* A kernel address fails the probe; an unmapped user one, the copy of a
     * buffered write (the null device, neither buffered nor direct, never
     * touches its buffer: an unmapped one is no error there, as on NT). */
    UT_EXPECT_STATUS(NtWriteFile(Null, NULL, NULL, NULL, &Iosb, UT_KERNEL_VA, 16, NULL, NULL),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtWriteFile(Test, NULL, NULL, NULL, &Iosb, UT_UNMAPPED, 16, NULL, NULL),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtDeviceIoControlFile(Test, NULL, NULL, NULL, &Iosb, IOCTL_IOTEST_ECHO, Small,
                                           16, UT_KERNEL_VA, 16),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtDeviceIoControlFile(Test, NULL, NULL, NULL, &Iosb, IOCTL_IOTEST_ECHO,
                                           UT_UNMAPPED, 16, Small, 16),
                     STATUS_ACCESS_VIOLATION);
    /* Direct I/O into a read-only page cannot lock it for writing. */
    UT_EXPECT_STATUS(NtDeviceIoControlFile(Test, NULL, NULL, NULL, &Iosb, IOCTL_IOTEST_FILL_DIRECT,
                                           Small, 1, UT_READONLY_VA, 16),
                     STATUS_ACCESS_VIOLATION);
    /* METHOD_NEITHER: the driver finds the bad pointer itself. */
    UT_EXPECT_STATUS(NtDeviceIoControlFile(Test, NULL, NULL, NULL, &Iosb, IOCTL_IOTEST_COPY_NEITHER,
                                           UT_KERNEL_VA, 16, Small, 16),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(ReadFileWithBadStack(Test, &Iosb, Small), STATUS_ACCESS_VIOLATION);
    UT_EXPECT(IosbUntouched(&Iosb));
    UT_EXPECT_EQ(PendingReads(Test), 0);
    UT_EXPECT_EQ(IoPoolBytes(), Before);
}

static void DirectAndNeitherTransfers(void)
{
    HANDLE Test = OpenDevice(u"\\Device\\IoTest", FILE_SYNCHRONOUS_IO_NONALERT);
    IO_STATUS_BLOCK Iosb;
    SIZE_T Size = 3 * PAGE_SIZE;
    PVOID Base = NULL;

    UT_ASSERT(Test != NULL);
    UT_ASSERT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                              MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    /* 2 pages + 2 bytes from 1 byte before the first boundary: three pages. */
    PUCHAR Buffer = (PUCHAR)Base + PAGE_SIZE - 1;
    ULONG Length = PAGE_SIZE + 2;
    UCHAR Value = 0x3C;
    FillIosb(&Iosb);
    UT_EXPECT_SUCCESS(NtDeviceIoControlFile(Test, NULL, NULL, NULL, &Iosb, IOCTL_IOTEST_FILL_DIRECT,
                                            &Value, 1, Buffer, Length));
    UT_EXPECT(Iosb.Status == STATUS_SUCCESS && Iosb.Information == Length);
    ULONG Filled = 0;
    for (ULONG I = 0; I < Length; I++)
        Filled += Buffer[I] == Value;
    UT_EXPECT_EQ(Filled, Length);
    UT_EXPECT(Buffer[-1] == 0 && Buffer[Length] == 0);
    UT_EXPECT_SUCCESS(NtDeviceIoControlFile(Test, NULL, NULL, NULL, &Iosb, IOCTL_IOTEST_SUM_DIRECT,
                                            NULL, 0, Buffer, Length));
    UT_EXPECT_EQ(Iosb.Information, (ULONG_PTR)Length * Value);
    char In[] = "neither", Out[16] = {0};
    UT_EXPECT_SUCCESS(NtDeviceIoControlFile(Test, NULL, NULL, NULL, &Iosb,
                                            IOCTL_IOTEST_COPY_NEITHER, In, sizeof(In), Out,
                                            sizeof(Out)));
    UT_EXPECT(Iosb.Information == sizeof(In) && !strcmp(Out, "neither"));
    char Echo[64];
    UT_EXPECT_SUCCESS(NtDeviceIoControlFile(Test, NULL, NULL, NULL, &Iosb, IOCTL_IOTEST_ECHO, In,
                                            sizeof(In), Echo, sizeof(Echo)));
    UT_EXPECT(Iosb.Information == sizeof(In) && !strcmp(Echo, "neither"));
    NtFreeVirtualMemory(NtCurrentProcess(), &Base, &Size, MEM_RELEASE);
}

static volatile LONG IoApcRuns;
static volatile PVOID IoApcContext;
static volatile PIO_STATUS_BLOCK IoApcIosb;

static void RecordIoApc(PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, ULONG Reserved)
{
    (void)Reserved;
    IoApcContext = ApcContext;
    IoApcIosb = IoStatusBlock;
    __atomic_add_fetch(&IoApcRuns, 1, __ATOMIC_SEQ_CST);
}

static void ApcRoutineRunsInAlertableWait(void)
{
    HANDLE Test = OpenDevice(u"\\Device\\IoTest", 0);
    HANDLE Event = UtCreateEvent(NotificationEvent, FALSE);
    static IO_STATUS_BLOCK Iosb;
    static UCHAR Buffer[8];
    LARGE_INTEGER Short = {.QuadPart = -100000}; /* 10 ms */

    UT_ASSERT(Test != NULL && Event != NULL);
    UtDeferClose(Event);
    IoApcRuns = 0;
    FillIosb(&Iosb);
    UT_ASSERT_STATUS(NtReadFile(Test, NULL, RecordIoApc, (PVOID)0x1234, &Iosb, Buffer,
                                sizeof(Buffer), NULL, NULL),
                     STATUS_PENDING);
    UT_ASSERT_EQ(CompleteReads(Test, STATUS_SUCCESS, "apc"), 1);
    /* Over, status block written, but the routine waits for an alertable wait. */
    UT_EXPECT(Iosb.Status == STATUS_SUCCESS && Iosb.Information == 3);
    UT_EXPECT_STATUS(NtWaitForSingleObject(Event, FALSE, &Short), STATUS_TIMEOUT);
    UT_EXPECT_EQ(IoApcRuns, 0);
    UT_EXPECT_STATUS(NtWaitForSingleObject(Event, TRUE, NULL), STATUS_USER_APC);
    UT_EXPECT_EQ(IoApcRuns, 1);
    UT_EXPECT(IoApcContext == (PVOID)0x1234 && IoApcIosb == &Iosb);
    UT_EXPECT(Buffer[0] == 'a' && Buffer[2] == 'c');
}

static void CancelIoFileCancelsPendingRead(void)
{
    HANDLE Test = OpenDevice(u"\\Device\\IoTest", 0);
    HANDLE Other = OpenDevice(u"\\Device\\IoTest", 0);
    HANDLE Event = UtCreateEvent(NotificationEvent, FALSE);
    HANDLE OtherEvent = UtCreateEvent(NotificationEvent, FALSE);
    IO_STATUS_BLOCK Iosb, OtherIosb, CancelIosb;
    UCHAR Buffer[8], OtherBuffer[8];

    UT_ASSERT(Test != NULL && Other != NULL && Event != NULL && OtherEvent != NULL);
    UtDeferClose(Event);
    UtDeferClose(OtherEvent);
    FillIosb(&Iosb);
    FillIosb(&OtherIosb);
    UT_ASSERT_STATUS(NtReadFile(Test, Event, NULL, NULL, &Iosb, Buffer, 8, NULL, NULL),
                     STATUS_PENDING);
    UT_ASSERT_STATUS(
        NtReadFile(Other, OtherEvent, NULL, NULL, &OtherIosb, OtherBuffer, 8, NULL, NULL),
        STATUS_PENDING);
    UT_EXPECT_EQ(PendingReads(Test), 2);
    FillIosb(&CancelIosb);
    UT_EXPECT_SUCCESS(NtCancelIoFile(Test, &CancelIosb));
    UT_EXPECT(CancelIosb.Status == STATUS_SUCCESS && CancelIosb.Information == 0);
    /* The read on Test is over, cancelled; the one on the other file is not. */
    UT_EXPECT(IsSignalled(Event));
    UT_EXPECT(Iosb.Status == STATUS_CANCELLED && Iosb.Information == 0);
    UT_EXPECT(!IsSignalled(OtherEvent) && IosbUntouched(&OtherIosb));
    UT_EXPECT_EQ(PendingReads(Test), 1);
    UT_EXPECT_SUCCESS(NtCancelIoFile(Other, &CancelIosb));
    UT_EXPECT(OtherIosb.Status == STATUS_CANCELLED);
    UT_EXPECT_EQ(PendingReads(Test), 0);
}

static IO_STATUS_BLOCK ExitIosb;
static UCHAR ExitBuffer[8];

/* Returns (ends the thread) with the read still pending. */
static NTSTATUS ReadThenExit(PVOID Handle)
{
    return NtReadFile((HANDLE)Handle, NULL, NULL, NULL, &ExitIosb, ExitBuffer, sizeof(ExitBuffer),
                      NULL, NULL);
}

static void ThreadExitCancelsPendingRead(void)
{
    HANDLE Test = OpenDevice(u"\\Device\\IoTest", 0);
    HANDLE Thread;

    UT_ASSERT(Test != NULL);
    FillIosb(&ExitIosb);
    UT_ASSERT_SUCCESS(PgCreateThread(ReadThenExit, Test, &Thread));
    UtDeferClose(Thread);
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(Thread, FALSE, NULL));
    /* The thread's read pended, then its exit cancelled it and ran its end
     * in the thread before it died. */
    UT_EXPECT(ExitIosb.Status == STATUS_CANCELLED && ExitIosb.Information == 0);
    UT_EXPECT_EQ(PendingReads(Test), 0);
}

static HANDLE SyncReadHandle;
static IO_STATUS_BLOCK SyncIosb;
static volatile NTSTATUS SyncStatus = STATUS_PENDING;
static UCHAR SyncBuffer[8];

static NTSTATUS SynchronousReader(PVOID Unused)
{
    (void)Unused;
    SyncStatus = NtReadFile(SyncReadHandle, NULL, NULL, NULL, &SyncIosb, SyncBuffer,
                            sizeof(SyncBuffer), NULL, NULL);
    return 0;
}

static void SynchronousHandleWaitsInService(void)
{
    HANDLE Test = OpenDevice(u"\\Device\\IoTest", 0);
    HANDLE Thread;

    SyncReadHandle = OpenDevice(u"\\Device\\IoTest", FILE_SYNCHRONOUS_IO_NONALERT);
    UT_ASSERT(Test != NULL && SyncReadHandle != NULL);
    FillIosb(&SyncIosb);
    SyncStatus = STATUS_PENDING;
    UT_ASSERT_SUCCESS(PgCreateThread(SynchronousReader, NULL, &Thread));
    UtDeferClose(Thread);
    for (int Try = 0; Try < 200 && PendingReads(Test) == 0; Try++)
        PgSleep(5);
    UT_ASSERT_EQ(PendingReads(Test), 1);
    PgSleep(20);
    UT_EXPECT(SyncStatus == STATUS_PENDING); /* still inside NtReadFile */
    UT_ASSERT_EQ(CompleteReads(Test, STATUS_SUCCESS, "sync"), 1);
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(Thread, FALSE, NULL));
    UT_EXPECT(SyncStatus == STATUS_SUCCESS);
    UT_EXPECT(SyncIosb.Status == STATUS_SUCCESS && SyncIosb.Information == 4);
    UT_EXPECT(!memcmp(SyncBuffer, "sync", 4));
}

/* Open \Device\IoTest with Access and Share; the handle is closed after
 * the test unless the caller closes it first (CloseNow). */
static NTSTATUS OpenIoTestShared(ACCESS_MASK Access, ULONG Share, PHANDLE Handle)
{
    UNICODE_STRING String;
    OBJECT_ATTRIBUTES Attributes;
    IO_STATUS_BLOCK Iosb;

    *Handle = NULL;
    RtlInitUnicodeString(&String, u"\\Device\\IoTest");
    InitializeObjectAttributes(&Attributes, &String, 0, NULL, NULL);
    FillIosb(&Iosb);
    NTSTATUS Status = NtOpenFile(Handle, Access, &Attributes, &Iosb, Share, 0);
    if (!NT_SUCCESS(Status) && !IosbUntouched(&Iosb))
        return STATUS_UNSUCCESSFUL; /* a failed open writes no status block */
    return Status;
}

/* \Device\IoTest checks share access at IRP_MJ_CREATE (IoCheckShareAccess)
 * and takes the open out at IRP_MJ_CLEANUP (IoRemoveShareAccess): NT's
 * rules, one open against another. */
static void ShareAccessIsEnforcedByTheDriver(void)
{
    const ACCESS_MASK Rw = FILE_GENERIC_READ | FILE_GENERIC_WRITE;
    HANDLE A, B, C;

    /* A reads and writes and lets others only read. */
    UT_ASSERT_SUCCESS(OpenIoTestShared(Rw, FILE_SHARE_READ, &A));
    /* B wants to write: A does not share writing. */
    UT_EXPECT_STATUS(OpenIoTestShared(Rw, FILE_SHARE_READ | FILE_SHARE_WRITE, &B),
                     STATUS_SHARING_VIOLATION);
    UT_EXPECT(B == NULL);
    /* C only reads but does not share writing, which A does. */
    UT_EXPECT_STATUS(OpenIoTestShared(FILE_GENERIC_READ, FILE_SHARE_READ, &C),
                     STATUS_SHARING_VIOLATION);
    /* Reading and sharing both: fine. */
    UT_ASSERT_SUCCESS(OpenIoTestShared(FILE_GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &C));
    /* An open for attributes and SYNCHRONIZE only is never counted. */
    UT_ASSERT_SUCCESS(OpenIoTestShared(FILE_READ_ATTRIBUTES | SYNCHRONIZE, 0, &B));
    UT_EXPECT_SUCCESS(NtClose(B));
    /* Closing A takes its open out: now a writer who shares reading fits
     * with C, and one who shares nothing does not. */
    UT_EXPECT_SUCCESS(NtClose(A));
    UT_EXPECT_STATUS(OpenIoTestShared(Rw, 0, &A), STATUS_SHARING_VIOLATION);
    UT_ASSERT_SUCCESS(OpenIoTestShared(Rw, FILE_SHARE_READ, &A));
    UT_EXPECT_SUCCESS(NtClose(A));
    UT_EXPECT_SUCCESS(NtClose(C));
    /* Everything closed: an exclusive open works, and excludes the next. */
    UT_ASSERT_SUCCESS(OpenIoTestShared(Rw, 0, &A));
    UT_EXPECT_STATUS(OpenIoTestShared(FILE_GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &B),
                     STATUS_SHARING_VIOLATION);
    UT_EXPECT_SUCCESS(NtClose(A));
    UT_ASSERT_SUCCESS(OpenIoTestShared(Rw, FILE_SHARE_READ | FILE_SHARE_WRITE, &B));
    UT_EXPECT_SUCCESS(NtClose(B));
}

/* An asynchronous read without an event: the file handle itself is what
 * the caller waits on (its Event, NT's DefaultObject of the File type).
 * With an event, NT signals only that event on an asynchronous handle. */
static void WaitOnFileHandleForAsynchronousRead(void)
{
    HANDLE Test = OpenDevice(u"\\Device\\IoTest", 0);
    /* The controls go through another handle: any request on Test without
     * an event would signal it too. */
    HANDLE Control = OpenDevice(u"\\Device\\IoTest", 0);
    HANDLE Event = UtCreateEvent(NotificationEvent, FALSE);
    IO_STATUS_BLOCK Iosb;
    UCHAR Buffer[8];
    LARGE_INTEGER Timeout = {.QuadPart = -500 * 10000LL};

    UT_ASSERT(Test != NULL && Control != NULL && Event != NULL);
    UtDeferClose(Event);
    FillIosb(&Iosb);
    UT_ASSERT_STATUS(NtReadFile(Test, NULL, NULL, NULL, &Iosb, Buffer, sizeof(Buffer), NULL, NULL),
                     STATUS_PENDING);
    UT_EXPECT(!IsSignalled(Test) && IosbUntouched(&Iosb));
    UT_ASSERT_EQ(CompleteReads(Control, STATUS_SUCCESS, "file"), 1);
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(Test, FALSE, &Timeout));
    UT_EXPECT(Iosb.Status == STATUS_SUCCESS && Iosb.Information == 4);
    UT_EXPECT(!memcmp(Buffer, "file", 4));
    /* The next request clears it again; given an event, only the event. */
    FillIosb(&Iosb);
    UT_ASSERT_STATUS(NtReadFile(Test, Event, NULL, NULL, &Iosb, Buffer, sizeof(Buffer), NULL, NULL),
                     STATUS_PENDING);
    UT_EXPECT(!IsSignalled(Test));
    UT_ASSERT_EQ(CompleteReads(Control, STATUS_SUCCESS, "ev"), 1);
    UT_EXPECT_SUCCESS(NtWaitForSingleObject(Event, FALSE, &Timeout));
    UT_EXPECT(!IsSignalled(Test));
    UT_EXPECT(Iosb.Status == STATUS_SUCCESS && Iosb.Information == 2);
    /* In a wait for several objects too. */
    FillIosb(&Iosb);
    UT_ASSERT_STATUS(NtReadFile(Test, NULL, NULL, NULL, &Iosb, Buffer, sizeof(Buffer), NULL, NULL),
                     STATUS_PENDING);
    HANDLE Both[2] = {Event, Test};
    UT_EXPECT_SUCCESS(NtClearEvent(Event));
    UT_ASSERT_EQ(CompleteReads(Control, STATUS_SUCCESS, "m"), 1);
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(2, Both, WaitAny, FALSE, &Timeout),
                     STATUS_WAIT_0 + 1);
    UT_EXPECT(Iosb.Status == STATUS_SUCCESS && Iosb.Information == 1);
}

static volatile NTSTATUS ConsoleReadStatus = STATUS_PENDING;
static volatile NTSTATUS ConsoleWriteStatus = STATUS_PENDING;

/* Waits for a key on the console input (none comes in the tests). */
static NTSTATUS ConsoleReader(PVOID Unused)
{
    IO_STATUS_BLOCK Iosb;
    UCHAR Byte;
    (void)Unused;
    ConsoleReadStatus = NtReadFile(PgProcessParameters->StandardInput, NULL, NULL, NULL, &Iosb,
                                   &Byte, 1, NULL, NULL);
    return 0;
}

static NTSTATUS ConsoleWriter(PVOID Unused)
{
    static const char Line[] = "io: console output while a read of the input pends\n";
    IO_STATUS_BLOCK Iosb;
    (void)Unused;
    ConsoleWriteStatus = NtWriteFile(PgProcessParameters->StandardOutput, NULL, NULL, NULL, &Iosb,
                                     Line, sizeof(Line) - 1, NULL, NULL);
    return 0;
}

/* Input and output are two synchronous file objects: a thread waiting in
 * a read of the input (holding its file lock) does not hold up a write to
 * the output. */
static void ConsoleOutputWhileInputReadPends(void)
{
    LARGE_INTEGER Second = {.QuadPart = -1000 * 10000LL};
    HANDLE Reader, Writer;

    UT_ASSERT(PgProcessParameters->StandardInput != PgProcessParameters->StandardOutput);
    ConsoleReadStatus = ConsoleWriteStatus = STATUS_PENDING;
    UT_ASSERT_SUCCESS(PgCreateThread(ConsoleReader, NULL, &Reader));
    UtDeferClose(Reader);
    PgSleep(50); /* in its read now */
    UT_ASSERT_SUCCESS(PgCreateThread(ConsoleWriter, NULL, &Writer));
    UtDeferClose(Writer);
    UT_EXPECT_STATUS(NtWaitForSingleObject(Writer, FALSE, &Second), STATUS_SUCCESS);
    UT_EXPECT_SUCCESS(ConsoleWriteStatus);
    UT_EXPECT(ConsoleReadStatus == STATUS_PENDING); /* still waiting for a key */
    /* Ending the reader breaks its wait and cancels the read. */
    UT_EXPECT_SUCCESS(NtTerminateThread(Reader, 0));
    UT_EXPECT_STATUS(NtWaitForSingleObject(Reader, FALSE, &Second), STATUS_SUCCESS);
}

static void TenThousandIosLeaveNoPool(void)
{
    HANDLE Test = OpenDevice(u"\\Device\\IoTest", 0);
    HANDLE Null = OpenDevice(u"\\Device\\Null", FILE_SYNCHRONOUS_IO_NONALERT);
    HANDLE Event = UtCreateEvent(NotificationEvent, FALSE);
    IO_STATUS_BLOCK Iosb;
    UCHAR Buffer[64] = {0}, Out[64];
    ULONG Failures = 0;

    UT_ASSERT(Test != NULL && Null != NULL && Event != NULL);
    UtDeferClose(Event);
    /* Four kinds, 2,500 each; a first round fills the IRP lookaside lists. */
    for (int Round = 0; Round < 2; Round++) {
        ULONG64 Before = IoPoolBytes();
        for (int I = 0; I < (Round ? 2500 : 50) && Failures == 0; I++) {
            Failures += NtWriteFile(Null, NULL, NULL, NULL, &Iosb, Buffer, 64, NULL, NULL) != 0;
            Failures += NtDeviceIoControlFile(Test, NULL, NULL, NULL, &Iosb, IOCTL_IOTEST_ECHO,
                                              Buffer, 64, Out, 64) != 0;
            Failures += NtDeviceIoControlFile(Test, NULL, NULL, NULL, &Iosb,
                                              IOCTL_IOTEST_FILL_DIRECT, Buffer, 1, Out, 64) != 0;
            /* Waited for only once it pends (a failure ends the loop). */
            if (NtReadFile(Test, Event, NULL, NULL, &Iosb, Out, 64, NULL, NULL) != STATUS_PENDING) {
                Failures++;
                break;
            }
            if (CompleteReads(Test, STATUS_SUCCESS, "x") != 1) {
                Failures++; /* the read goes with the handle's cleanup */
                break;
            }
            Failures += NtWaitForSingleObject(Event, FALSE, NULL) != 0;
        }
        if (Round)
            UT_EXPECT_EQ(IoPoolBytes(), Before);
    }
    UT_EXPECT_EQ(Failures, 0);
}

const UT_TEST UtIoTests[] = {
    {"io.open_by_device_and_dos_name", OpenByDeviceAndDosName},
    {"io.null_read_write_fast_and_irp", NullReadWrite},
    {"io.iosb_untouched_on_synchronous_failure", IosbUntouchedOnSynchronousFailure},
    {"io.buffered_read_copies_exactly_information", BufferedReadCopiesExactlyInformation},
    {"io.bad_pointers_are_access_violations", BadPointersAreAccessViolations},
    {"io.direct_and_neither_transfers", DirectAndNeitherTransfers},
    {"io.apc_routine_runs_in_alertable_wait", ApcRoutineRunsInAlertableWait},
    {"io.cancel_io_file_cancels_pending_read", CancelIoFileCancelsPendingRead},
    {"io.thread_exit_cancels_pending_read", ThreadExitCancelsPendingRead},
    {"io.synchronous_handle_waits_in_service", SynchronousHandleWaitsInService},
    {"io.share_access_is_enforced_by_the_driver", ShareAccessIsEnforcedByTheDriver},
    {"io.wait_on_file_handle_for_asynchronous_read", WaitOnFileHandleForAsynchronousRead},
    {"io.console_output_while_input_read_pends", ConsoleOutputWhileInputReadPends},
    {"io.ten_thousand_ios_leave_no_pool", TenThousandIosLeaveNoPool},
    {NULL, NULL},
};
