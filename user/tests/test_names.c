/*
 * test_names.c - the object namespace from ring 3: named events that a
 * second process opens (NtOpenEvent), OBJ_OPENIF and collisions, the
 * status of each kind of bad name, OBJ_PERMANENT and NtMakeTemporaryObject,
 * directories (NtCreateDirectoryObject, NtOpenDirectoryObject,
 * NtQueryDirectoryObject), symbolic links, and access masks checked on
 * every reference - through a duplicate with fewer rights too.
 *
 * Each test ends by checking that the name and event pool and this
 * process's handle count are back where they started (UtNamesSettled).
 */
#include "ut.h"

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

#define UT_TAG(a, b, c, d) \
    ((ULONG)(a) | ((ULONG)(b) << 8) | ((ULONG)(c) << 16) | ((ULONG)(d) << 24))

typedef struct _UT_NAMES_BASELINE {
    ULONG64 NameBytes, EventBytes, DirectoryBytes, LinkBytes;
    ULONG Handles;
} UT_NAMES_BASELINE;

static void UtNamesSnapshot(UT_NAMES_BASELINE *B)
{
    SYSTEM_PROCESS_ENTRY Self;
    ULONG Length;
    NTSTATUS Status;
    SYSTEM_POOLTAG *Tags = PgQuerySystem(SystemPoolTagInformation, NULL, 0, &Length, &Status);

    memset(B, 0, sizeof(*B));
    for (ULONG i = 0; Tags && i < Length / sizeof(*Tags); i++) {
        if (Tags[i].PoolType != 0)
            continue;
        if (Tags[i].Tag == UT_TAG('O', 'b', 'N', 'm'))
            B->NameBytes = Tags[i].BytesInUse;
        else if (Tags[i].Tag == UT_TAG('E', 'v', 'e', 'n'))
            B->EventBytes = Tags[i].BytesInUse;
        else if (Tags[i].Tag == UT_TAG('D', 'i', 'r', 'e'))
            B->DirectoryBytes = Tags[i].BytesInUse;
        else if (Tags[i].Tag == UT_TAG('S', 'y', 'm', 'b'))
            B->LinkBytes = Tags[i].BytesInUse;
    }
    free(Tags);
    if (UtOwnProcessEntry(&Self))
        B->Handles = Self.HandleCount;
}

/* TRUE once pool and handles are back at the baseline (children's handle
 * tables go when the reaper gets to them: wait up to a second). */
static BOOLEAN UtNamesSettled(const UT_NAMES_BASELINE *B)
{
    UT_NAMES_BASELINE Now;
    for (int Try = 0; Try < 100; Try++) {
        UtNamesSnapshot(&Now);
        if (!memcmp(&Now, B, sizeof(Now)))
            return TRUE;
        PgSleep(10);
    }
    printf("  names %llu/%llu events %llu/%llu dirs %llu/%llu links %llu/%llu handles %u/%u\n",
           Now.NameBytes, B->NameBytes, Now.EventBytes, B->EventBytes, Now.DirectoryBytes,
           B->DirectoryBytes, Now.LinkBytes, B->LinkBytes, Now.Handles, B->Handles);
    return FALSE;
}

static NTSTATUS Poll(HANDLE Handle)
{
    LARGE_INTEGER Zero;
    Zero.QuadPart = 0;
    return NtWaitForSingleObject(Handle, FALSE, &Zero);
}

/* Attributes for an ASCII path; Buffer holds its UTF-16 form. */
typedef struct _UT_NAME {
    OBJECT_ATTRIBUTES Attributes;
    UNICODE_STRING String;
    WCHAR Buffer[300];
} UT_NAME;

static POBJECT_ATTRIBUTES UtName(UT_NAME *N, const char *Path, ULONG Attributes, HANDLE Root)
{
    (void)PgInitUnicodeStringFromAnsi(&N->String, N->Buffer, ARRAYSIZE(N->Buffer), Path);
    InitializeObjectAttributes(&N->Attributes, &N->String, Attributes, Root, NULL);
    return &N->Attributes;
}

static NTSTATUS UtCreateNamedEvent(PHANDLE Event, const char *Path, ULONG Attributes)
{
    UT_NAME N;
    *Event = NULL;
    return NtCreateEvent(Event, EVENT_ALL_ACCESS, UtName(&N, Path, Attributes, NULL),
                         NotificationEvent, FALSE);
}

static NTSTATUS UtOpenNamedEvent(PHANDLE Event, ACCESS_MASK Access, const char *Path)
{
    UT_NAME N;
    *Event = NULL;
    return NtOpenEvent(Event, Access, UtName(&N, Path, 0, NULL));
}

/* ------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------ */

/* A second process opens the event by its name and sets it. */
static void NamedEventAcrossProcesses(void)
{
    UT_NAMES_BASELINE B;
    HANDLE E;
    UtNamesSnapshot(&B);

    UT_EXPECT_SUCCESS(UtCreateNamedEvent(&E, "\\BaseNamedObjects\\UtShared", 0));
    UT_EXPECT_SUCCESS(UtRunChild(0, "opennamed \\BaseNamedObjects\\UtShared"));
    UT_EXPECT_STATUS(Poll(E), STATUS_WAIT_0);
    /* Another name is not found there, nor is a name in a missing directory. */
    UT_EXPECT_STATUS(UtRunChild(0, "opennamed \\BaseNamedObjects\\UtNotThere"),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    UT_EXPECT_STATUS(UtRunChild(0, "opennamed \\UtNoDir\\UtShared"), STATUS_OBJECT_PATH_NOT_FOUND);
    UT_EXPECT_SUCCESS(NtClose(E));
    /* The name went with the last handle. */
    UT_EXPECT_STATUS(UtRunChild(0, "opennamed \\BaseNamedObjects\\UtShared"),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    UT_EXPECT(UtNamesSettled(&B));
}

/* A name a child made lives while the child does, and goes when it ends. */
static void NameGoesWhenItsProcessEnds(void)
{
    UT_NAMES_BASELINE B;
    HANDLE Child, E;
    UtNamesSnapshot(&B);

    UT_EXPECT_SUCCESS(UtSpawnChild(&Child, 0, "holdnamed \\BaseNamedObjects\\UtChildName 300"));
    NTSTATUS Status = STATUS_OBJECT_NAME_NOT_FOUND;
    for (int Try = 0; Try < 200 && Status == STATUS_OBJECT_NAME_NOT_FOUND; Try++) {
        Status = UtOpenNamedEvent(&E, SYNCHRONIZE, "\\BaseNamedObjects\\UtChildName");
        if (Status == STATUS_OBJECT_NAME_NOT_FOUND)
            PgSleep(2);
    }
    UT_EXPECT_SUCCESS(Status);
    if (NT_SUCCESS(Status))
        NtClose(E);
    UT_EXPECT_SUCCESS(UtExitStatus(Child));
    NtClose(Child);
    UT_EXPECT_STATUS(UtOpenNamedEvent(&E, SYNCHRONIZE, "\\BaseNamedObjects\\UtChildName"),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    UT_EXPECT(UtNamesSettled(&B));
}

/* A taken name: STATUS_OBJECT_NAME_COLLISION, or with OBJ_OPENIF the
 * existing event and STATUS_OBJECT_NAME_EXISTS. */
static void CollisionAndOpenIf(void)
{
    UT_NAMES_BASELINE B;
    HANDLE First, Second = NULL;
    UtNamesSnapshot(&B);

    UT_EXPECT_SUCCESS(UtCreateNamedEvent(&First, "\\BaseNamedObjects\\UtTwice", 0));
    UT_EXPECT_STATUS(UtCreateNamedEvent(&Second, "\\BaseNamedObjects\\UtTwice", 0),
                     STATUS_OBJECT_NAME_COLLISION);
    UT_EXPECT(Second == NULL);
    UT_EXPECT_STATUS(UtCreateNamedEvent(&Second, "\\BaseNamedObjects\\UtTwice", OBJ_OPENIF),
                     STATUS_OBJECT_NAME_EXISTS);
    UT_ASSERT(Second != NULL && Second != First);
    UT_EXPECT_SUCCESS(NtSetEvent(Second, NULL)); /* the same event behind both handles */
    UT_EXPECT_STATUS(Poll(First), STATUS_WAIT_0);
    /* A new name with OBJ_OPENIF is simply created. */
    HANDLE Third;
    UT_EXPECT_SUCCESS(UtCreateNamedEvent(&Third, "\\BaseNamedObjects\\UtOnce", OBJ_OPENIF));
    UT_EXPECT_STATUS(Poll(Third), STATUS_TIMEOUT);
    NtClose(Third);
    NtClose(Second);
    NtClose(First);
    UT_EXPECT(UtNamesSettled(&B));
}

/* Bad names and bad attributes, each with its status; nothing is made. */
static void BadNamesAndAttributes(void)
{
    static const struct {
        const char *Path;
        NTSTATUS Status;
    } Cases[] = {
        {"BaseNamedObjects\\UtX", STATUS_OBJECT_PATH_SYNTAX_BAD},
        {"\\BaseNamedObjects\\\\UtX", STATUS_OBJECT_NAME_INVALID},
        {"\\BaseNamedObjects\\", STATUS_OBJECT_NAME_INVALID},
        {"\\UtMissing\\UtX", STATUS_OBJECT_PATH_NOT_FOUND},
        {"\\BaseNamedObjects\\UtMissing", STATUS_OBJECT_NAME_NOT_FOUND},
        {"\\BaseNamedObjects", STATUS_OBJECT_TYPE_MISMATCH}, /* a directory, not an event */
    };
    UT_NAMES_BASELINE B;
    HANDLE E = NULL;
    UT_NAME N;
    UtNamesSnapshot(&B);

    for (size_t i = 0; i < ARRAYSIZE(Cases); i++)
        UT_EXPECT_STATUS(UtOpenNamedEvent(&E, SYNCHRONIZE, Cases[i].Path), Cases[i].Status);
    UT_EXPECT_STATUS(NtOpenEvent(&E, SYNCHRONIZE, NULL), STATUS_OBJECT_NAME_INVALID);
    UT_EXPECT_STATUS(UtCreateNamedEvent(&E, "\\BaseNamedObjects\\\\UtX", 0),
                     STATUS_OBJECT_NAME_INVALID);

    /* Malformed attributes and strings. */
    POBJECT_ATTRIBUTES Oa = UtName(&N, "\\BaseNamedObjects\\UtX", 0, NULL);
    UT_EXPECT_STATUS(NtOpenEvent(&E, SYNCHRONIZE, (POBJECT_ATTRIBUTES)UT_KERNEL_VA),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtOpenEvent(&E, SYNCHRONIZE, (POBJECT_ATTRIBUTES)UT_UNMAPPED),
                     STATUS_ACCESS_VIOLATION);
    N.Attributes.Length = 40;
    UT_EXPECT_STATUS(NtOpenEvent(&E, SYNCHRONIZE, Oa), STATUS_INVALID_PARAMETER);
    N.Attributes.Length = sizeof(OBJECT_ATTRIBUTES);
    N.Attributes.Attributes = 0x80000000u;
    UT_EXPECT_STATUS(NtOpenEvent(&E, SYNCHRONIZE, Oa), STATUS_INVALID_PARAMETER);
    N.Attributes.Attributes = 0;
    N.String.Length = 5;
    UT_EXPECT_STATUS(NtOpenEvent(&E, SYNCHRONIZE, Oa), STATUS_OBJECT_NAME_INVALID);
    N.String.Length = N.String.MaximumLength + 2;
    UT_EXPECT_STATUS(NtOpenEvent(&E, SYNCHRONIZE, Oa), STATUS_OBJECT_NAME_INVALID);
    N.String.Length = 8;
    N.String.Buffer = (PWSTR)UT_KERNEL_VA;
    UT_EXPECT_STATUS(NtCreateEvent(&E, EVENT_ALL_ACCESS, Oa, NotificationEvent, FALSE),
                     STATUS_ACCESS_VIOLATION);
    N.Attributes.ObjectName = (PUNICODE_STRING)UT_UNMAPPED;
    UT_EXPECT_STATUS(NtOpenEvent(&E, SYNCHRONIZE, Oa), STATUS_ACCESS_VIOLATION);
    /* Longer than the kernel captures (OB_MAXIMUM_NAME_LENGTH, 512 bytes). */
    char Long[280];
    memset(Long, 'x', sizeof(Long) - 1);
    Long[0] = '\\';
    Long[sizeof(Long) - 1] = '\0';
    UT_EXPECT_STATUS(UtOpenNamedEvent(&E, SYNCHRONIZE, Long), STATUS_NAME_TOO_LONG);
    UT_EXPECT(E == NULL);
    UT_EXPECT(UtNamesSettled(&B));
}

/* OBJ_CASE_INSENSITIVE: the name found in any case. */
static void CaseInsensitiveOpen(void)
{
    UT_NAMES_BASELINE B;
    HANDLE E, Opened;
    UT_NAME N;
    UtNamesSnapshot(&B);

    UT_EXPECT_SUCCESS(UtCreateNamedEvent(&E, "\\BaseNamedObjects\\UtCase", 0));
    UT_EXPECT_STATUS(UtOpenNamedEvent(&Opened, SYNCHRONIZE, "\\BaseNamedObjects\\UTCASE"),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    UT_EXPECT_SUCCESS(
        NtOpenEvent(&Opened, SYNCHRONIZE,
                    UtName(&N, "\\basenamedobjects\\utcase", OBJ_CASE_INSENSITIVE, NULL)));
    NtClose(Opened);
    NtClose(E);
    UT_EXPECT(UtNamesSettled(&B));
}

/* Make a permanent event temporary again, whatever the test got to: a
 * permanent object outlives every handle, so a check that failed half-way
 * (under verifier=lowres, an allocation made to fail) would otherwise leave
 * it, and its name, in the namespace for good. A few tries: the simulated
 * failures are one allocation in 16. */
static void UtpMakeTemporary(PVOID Path)
{
    for (int Try = 0; Try < 8; Try++) {
        HANDLE H;
        NTSTATUS Status = UtOpenNamedEvent(&H, DELETE, Path);
        if (Status == STATUS_OBJECT_NAME_NOT_FOUND)
            return; /* temporary already, and gone */
        if (!NT_SUCCESS(Status))
            continue;
        Status = NtMakeTemporaryObject(H);
        NtClose(H);
        if (NT_SUCCESS(Status))
            return;
    }
}

/* OBJ_PERMANENT keeps the name without handles; NtMakeTemporaryObject
 * (DELETE access) lets it go. */
static void PermanentUntilMadeTemporary(void)
{
    UT_NAMES_BASELINE B;
    HANDLE E, Opened;
    UtNamesSnapshot(&B);

    UT_EXPECT_SUCCESS(UtCreateNamedEvent(&E, "\\BaseNamedObjects\\UtPermanent", OBJ_PERMANENT));
    static char Permanent[] = "\\BaseNamedObjects\\UtPermanent";
    UtDefer(UtpMakeTemporary, Permanent);
    NtClose(E);
    UT_EXPECT_SUCCESS(UtRunChild(0, "opennamed \\BaseNamedObjects\\UtPermanent"));
    UT_EXPECT_SUCCESS(UtOpenNamedEvent(&Opened, SYNCHRONIZE, "\\BaseNamedObjects\\UtPermanent"));
    UT_EXPECT_STATUS(Poll(Opened), STATUS_WAIT_0); /* the child's set is still there */
    UT_EXPECT_STATUS(NtMakeTemporaryObject(Opened), STATUS_ACCESS_DENIED); /* no DELETE */
    NtClose(Opened);
    UT_EXPECT_SUCCESS(UtOpenNamedEvent(&Opened, DELETE, "\\BaseNamedObjects\\UtPermanent"));
    UT_EXPECT_SUCCESS(NtMakeTemporaryObject(Opened));
    UT_EXPECT_SUCCESS(UtOpenNamedEvent(&E, SYNCHRONIZE, "\\BaseNamedObjects\\UtPermanent"));
    NtClose(E);
    NtClose(Opened); /* the last handle: the name goes */
    UT_EXPECT_STATUS(UtOpenNamedEvent(&E, SYNCHRONIZE, "\\BaseNamedObjects\\UtPermanent"),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    UT_EXPECT(UtNamesSettled(&B));
}

/* What the kernel made permanent stays, even for a handle with DELETE:
 * the boot directories and a \?? link (NT's security descriptors refuse
 * the DELETE; Pagoda refuses the call). */
static void KernelPermanentObjectsStay(void)
{
    static const struct {
        const char *Path;
        BOOLEAN Link;
    } Objects[] = {{"\\ObjectTypes", FALSE},
                   {"\\BaseNamedObjects", FALSE},
                   {"\\Device", FALSE},
                   {"\\??\\COM1", TRUE}};
    UT_NAME N;

    for (size_t i = 0; i < ARRAYSIZE(Objects); i++) {
        HANDLE H;
        NTSTATUS Status;
        if (Objects[i].Link)
            Status = NtOpenSymbolicLinkObject(&H, DELETE, UtName(&N, Objects[i].Path, 0, NULL));
        else
            Status = NtOpenDirectoryObject(&H, DELETE, UtName(&N, Objects[i].Path, 0, NULL));
        UT_ASSERT_SUCCESS(Status);
        UT_EXPECT_STATUS(NtMakeTemporaryObject(H), STATUS_ACCESS_DENIED);
        NtClose(H); /* the last handle: a temporary object would lose its name here */
    }
    HANDLE Dir;
    UT_EXPECT_SUCCESS(
        NtOpenDirectoryObject(&Dir, DIRECTORY_QUERY, UtName(&N, "\\ObjectTypes", 0, NULL)));
    NtClose(Dir);
    UT_EXPECT_SUCCESS(
        NtOpenDirectoryObject(&Dir, DIRECTORY_QUERY, UtName(&N, "\\BaseNamedObjects", 0, NULL)));
    NtClose(Dir);
}

/* Access is checked on every reference: a duplicate with fewer rights, or
 * a handle opened by name with fewer rights, is refused what it lacks. */
static void AccessDeniedThroughReducedHandles(void)
{
    UT_NAMES_BASELINE B;
    HANDLE E, WaitOnly, SetOnly, Opened;
    UtNamesSnapshot(&B);

    UT_EXPECT_SUCCESS(UtCreateNamedEvent(&E, "\\BaseNamedObjects\\UtAccess", 0));
    UT_EXPECT_SUCCESS(
        NtDuplicateObject(NtCurrentProcess(), E, NtCurrentProcess(), &WaitOnly, SYNCHRONIZE, 0));
    UT_EXPECT_SUCCESS(NtDuplicateObject(NtCurrentProcess(), E, NtCurrentProcess(), &SetOnly,
                                        EVENT_MODIFY_STATE, 0));
    UT_EXPECT_STATUS(NtSetEvent(WaitOnly, NULL), STATUS_ACCESS_DENIED);
    UT_EXPECT_STATUS(Poll(WaitOnly), STATUS_TIMEOUT);
    UT_EXPECT_STATUS(Poll(SetOnly), STATUS_ACCESS_DENIED);
    HANDLE Both[2] = {E, SetOnly};
    LARGE_INTEGER Zero;
    Zero.QuadPart = 0;
    UT_EXPECT_STATUS(NtWaitForMultipleObjects(2, Both, WaitAny, FALSE, &Zero),
                     STATUS_ACCESS_DENIED);
    UT_EXPECT_SUCCESS(NtSetEvent(SetOnly, NULL));
    UT_EXPECT_STATUS(Poll(WaitOnly), STATUS_WAIT_0);
    /* A duplicate of the reduced handle cannot widen it back. */
    UT_EXPECT_STATUS(NtDuplicateObject(NtCurrentProcess(), WaitOnly, NtCurrentProcess(), &Opened,
                                       EVENT_ALL_ACCESS, 0),
                     STATUS_ACCESS_DENIED);
    /* Opened by name with EVENT_MODIFY_STATE only. */
    UT_EXPECT_SUCCESS(
        UtOpenNamedEvent(&Opened, EVENT_MODIFY_STATE, "\\BaseNamedObjects\\UtAccess"));
    UT_EXPECT_SUCCESS(NtResetEvent(Opened, NULL));
    UT_EXPECT_STATUS(Poll(Opened), STATUS_ACCESS_DENIED);
    NtClose(Opened);
    /* And in another process: the child asks for SYNCHRONIZE only. */
    UT_EXPECT_STATUS(UtRunChild(0, "opennamed \\BaseNamedObjects\\UtAccess 0x100000"),
                     STATUS_ACCESS_DENIED);
    NtClose(SetOnly);
    NtClose(WaitOnly);
    NtClose(E);
    UT_EXPECT(UtNamesSettled(&B));
}

/* Does the directory listing in Buffer have Name of type Type? */
static BOOLEAN UtListed(const OBJECT_DIRECTORY_INFORMATION *Entries, const char *Name,
                        const char *Type)
{
    char A[64], T[32];
    for (; Entries->Name.Buffer != NULL; Entries++) {
        if (!strcmp(PgUnicodeToAnsi(&Entries->Name, A, sizeof(A)), Name))
            return !strcmp(PgUnicodeToAnsi(&Entries->TypeName, T, sizeof(T)), Type);
    }
    return FALSE;
}

/* A directory of our own: names relative to it, listed one by one and all
 * at once; and the root's listing. */
static void DirectoriesAndQuery(void)
{
    static ULONG64 Buffer[512];
    UT_NAMES_BASELINE B;
    HANDLE Dir, A, Bev, Root, Opened;
    ULONG Context = 0;
    UT_NAME N;
    UtNamesSnapshot(&B);

    UT_EXPECT_SUCCESS(NtCreateDirectoryObject(&Dir, DIRECTORY_ALL_ACCESS,
                                              UtName(&N, "\\BaseNamedObjects\\UtDir", 0, NULL)));
    UT_EXPECT_SUCCESS(
        NtCreateEvent(&A, EVENT_ALL_ACCESS, UtName(&N, "A", 0, Dir), NotificationEvent, FALSE));
    UT_EXPECT_SUCCESS(
        NtCreateEvent(&Bev, EVENT_ALL_ACCESS, UtName(&N, "Bee", 0, Dir), NotificationEvent, FALSE));
    UT_EXPECT_SUCCESS(UtOpenNamedEvent(&Opened, SYNCHRONIZE, "\\BaseNamedObjects\\UtDir\\Bee"));
    NtClose(Opened);

    UT_EXPECT_SUCCESS(NtQueryDirectoryObject(Dir, Buffer, sizeof(Buffer), FALSE, TRUE, &Context));
    UT_EXPECT(Context == 2);
    UT_EXPECT(UtListed((OBJECT_DIRECTORY_INFORMATION *)Buffer, "A", "Event"));
    UT_EXPECT(UtListed((OBJECT_DIRECTORY_INFORMATION *)Buffer, "Bee", "Event"));
    UT_EXPECT_STATUS(NtQueryDirectoryObject(Dir, Buffer, sizeof(Buffer), FALSE, FALSE, &Context),
                     STATUS_NO_MORE_ENTRIES);
    /* One at a time. */
    int Seen = 0;
    NTSTATUS Status = NtQueryDirectoryObject(Dir, Buffer, sizeof(Buffer), TRUE, TRUE, &Context);
    while (NT_SUCCESS(Status) && Status != STATUS_NO_MORE_ENTRIES && Seen < 5) {
        Seen++;
        UT_EXPECT(((OBJECT_DIRECTORY_INFORMATION *)Buffer)[1].Name.Buffer == NULL);
        Status = NtQueryDirectoryObject(Dir, Buffer, sizeof(Buffer), TRUE, FALSE, &Context);
    }
    UT_EXPECT(Seen == 2);
    UT_EXPECT_STATUS(Status, STATUS_NO_MORE_ENTRIES);
    UT_EXPECT_STATUS(NtQueryDirectoryObject(Dir, Buffer, 40, FALSE, TRUE, &Context),
                     STATUS_BUFFER_TOO_SMALL);
    UT_EXPECT_STATUS(NtQueryDirectoryObject(Dir, (PVOID)UT_KERNEL_VA, 4096, FALSE, TRUE, &Context),
                     STATUS_ACCESS_VIOLATION);
    UT_EXPECT_STATUS(NtQueryDirectoryObject(A, Buffer, sizeof(Buffer), FALSE, TRUE, &Context),
                     STATUS_OBJECT_TYPE_MISMATCH);

    /* The root as it is at boot. */
    UT_EXPECT_SUCCESS(NtOpenDirectoryObject(&Root, DIRECTORY_QUERY, UtName(&N, "\\", 0, NULL)));
    UT_EXPECT_SUCCESS(NtQueryDirectoryObject(Root, Buffer, sizeof(Buffer), FALSE, TRUE, &Context));
    static const char *const BootDirectories[] = {"ObjectTypes", "Device", "BaseNamedObjects",
                                                  "??"};
    for (size_t i = 0; i < ARRAYSIZE(BootDirectories); i++)
        UT_EXPECT(
            UtListed((OBJECT_DIRECTORY_INFORMATION *)Buffer, BootDirectories[i], "Directory"));
    NtClose(Root);
    /* Without DIRECTORY_QUERY, no listing. */
    UT_EXPECT_SUCCESS(NtOpenDirectoryObject(&Root, DIRECTORY_TRAVERSE, UtName(&N, "\\", 0, NULL)));
    UT_EXPECT_STATUS(NtQueryDirectoryObject(Root, Buffer, sizeof(Buffer), FALSE, TRUE, &Context),
                     STATUS_ACCESS_DENIED);
    NtClose(Root);
    UT_EXPECT_STATUS(NtOpenDirectoryObject(&Root, DIRECTORY_QUERY,
                                           UtName(&N, "\\BaseNamedObjects\\UtDir\\A", 0, NULL)),
                     STATUS_OBJECT_TYPE_MISMATCH);

    NtClose(Bev);
    NtClose(A);
    NtClose(Dir);
    UT_EXPECT(UtNamesSettled(&B));
}

/* A symbolic link made here: followed through \??, read back. */
static void SymbolicLinks(void)
{
    UT_NAMES_BASELINE B;
    HANDLE Link, E, Opened;
    UT_NAME N;
    UNICODE_STRING Target, Out;
    WCHAR TargetBuffer[64], OutBuffer[64];
    ULONG Returned = 0;
    char Ansi[64];
    UtNamesSnapshot(&B);

    (void)PgInitUnicodeStringFromAnsi(&Target, TargetBuffer, ARRAYSIZE(TargetBuffer),
                                      "\\BaseNamedObjects");
    UT_EXPECT_SUCCESS(NtCreateSymbolicLinkObject(&Link, SYMBOLIC_LINK_ALL_ACCESS,
                                                 UtName(&N, "\\??\\UtLink", 0, NULL), &Target));
    UT_EXPECT_SUCCESS(UtCreateNamedEvent(&E, "\\??\\UtLink\\UtLinked", 0));
    UT_EXPECT_SUCCESS(UtOpenNamedEvent(&Opened, SYNCHRONIZE, "\\BaseNamedObjects\\UtLinked"));
    NtClose(Opened);
    UT_EXPECT_SUCCESS(UtRunChild(0, "opennamed \\??\\UtLink\\UtLinked"));
    UT_EXPECT_STATUS(Poll(E), STATUS_WAIT_0);

    UT_EXPECT_SUCCESS(NtOpenSymbolicLinkObject(&Opened, SYMBOLIC_LINK_QUERY,
                                               UtName(&N, "\\??\\UtLink", 0, NULL)));
    Out.Length = 0;
    Out.MaximumLength = sizeof(OutBuffer);
    Out.Buffer = OutBuffer;
    UT_EXPECT_SUCCESS(NtQuerySymbolicLinkObject(Opened, &Out, &Returned));
    UT_EXPECT(Returned == Target.Length && Out.Length == Target.Length);
    UT_EXPECT(!strcmp(PgUnicodeToAnsi(&Out, Ansi, sizeof(Ansi)), "\\BaseNamedObjects"));
    Out.MaximumLength = 6;
    UT_EXPECT_STATUS(NtQuerySymbolicLinkObject(Opened, &Out, &Returned), STATUS_BUFFER_TOO_SMALL);
    UT_EXPECT(Returned == Target.Length);
    UT_EXPECT_STATUS(NtSetEvent(Opened, NULL), STATUS_OBJECT_TYPE_MISMATCH);
    NtClose(Opened);

    NtClose(E);
    NtClose(Link);
    UT_EXPECT_STATUS(UtOpenNamedEvent(&Opened, SYNCHRONIZE, "\\??\\UtLink\\UtLinked"),
                     STATUS_OBJECT_PATH_NOT_FOUND);
    UT_EXPECT(UtNamesSettled(&B));
}

/* Named mutants, semaphores and timers: a second process opens them with
 * NtOpenMutant / NtOpenSemaphore / NtOpenTimer; names are shared by every
 * type, so a name taken by one type collides with another. */
static void MutantSemaphoreTimerAcrossProcesses(void)
{
    UT_NAMES_BASELINE B;
    UT_BASELINE Dispatcher = UtDispatcherBaseline();
    HANDLE Mutant, Semaphore, Timer, Other = NULL;
    UT_NAME N;
    LARGE_INTEGER Zero;
    Zero.QuadPart = 0;
    UtNamesSnapshot(&B);

    UT_ASSERT_SUCCESS(NtCreateMutant(&Mutant, MUTANT_ALL_ACCESS,
                                     UtName(&N, "\\BaseNamedObjects\\UtMutant", 0, NULL), FALSE));
    PUT_DEFERRED CloseMutant = UtDeferClose(Mutant);
    UT_ASSERT_SUCCESS(NtCreateSemaphore(&Semaphore, SEMAPHORE_ALL_ACCESS,
                                        UtName(&N, "\\BaseNamedObjects\\UtSemaphore", 0, NULL),
                                        0, 2));
    PUT_DEFERRED CloseSemaphore = UtDeferClose(Semaphore);
    UT_ASSERT_SUCCESS(NtCreateTimer(&Timer, TIMER_ALL_ACCESS,
                                    UtName(&N, "\\BaseNamedObjects\\UtTimer", 0, NULL),
                                    NotificationTimer));
    PUT_DEFERRED CloseTimer = UtDeferClose(Timer);

    /* The child releases the semaphore, sets the timer, takes the mutant
     * and ends owning it: the mutant is abandoned to us. */
    UT_EXPECT_SUCCESS(UtRunChild(0, "opensync"));
    UT_EXPECT_STATUS(NtWaitForSingleObject(Semaphore, FALSE, &Zero), STATUS_WAIT_0);
    LARGE_INTEGER Second;
    Second.QuadPart = -10000000LL;
    UT_EXPECT_STATUS(NtWaitForSingleObject(Timer, FALSE, &Second), STATUS_WAIT_0);
    UT_EXPECT_STATUS(NtWaitForSingleObject(Mutant, FALSE, &Zero), STATUS_ABANDONED_WAIT_0);
    UT_EXPECT_SUCCESS(NtReleaseMutant(Mutant, NULL));

    /* One namespace for every type. */
    UT_EXPECT_STATUS(NtCreateSemaphore(&Other, SEMAPHORE_ALL_ACCESS,
                                       UtName(&N, "\\BaseNamedObjects\\UtMutant", 0, NULL), 0, 1),
                     STATUS_OBJECT_NAME_COLLISION);
    UT_EXPECT_STATUS(NtCreateSemaphore(&Other, SEMAPHORE_ALL_ACCESS,
                                       UtName(&N, "\\BaseNamedObjects\\UtMutant", OBJ_OPENIF,
                                              NULL),
                                       0, 1),
                     STATUS_OBJECT_TYPE_MISMATCH);
    UT_EXPECT_STATUS(NtOpenMutant(&Other, SYNCHRONIZE,
                                  UtName(&N, "\\BaseNamedObjects\\UtSemaphore", 0, NULL)),
                     STATUS_OBJECT_TYPE_MISMATCH);
    UT_EXPECT_STATUS(NtOpenSemaphore(&Other, SYNCHRONIZE,
                                     UtName(&N, "\\BaseNamedObjects\\UtNone", 0, NULL)),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    /* OBJ_OPENIF on a mutant of that name: the same mutant. */
    UT_EXPECT_STATUS(NtCreateMutant(&Other, MUTANT_ALL_ACCESS,
                                    UtName(&N, "\\BaseNamedObjects\\UtMutant", OBJ_OPENIF, NULL),
                                    TRUE),
                     STATUS_OBJECT_NAME_EXISTS);
    UT_EXPECT_STATUS(NtWaitForSingleObject(Other, FALSE, &Zero), STATUS_WAIT_0); /* not owned */
    UT_EXPECT_SUCCESS(NtReleaseMutant(Other, NULL));
    NtClose(Other);
    /* Access by name: a semaphore opened for SYNCHRONIZE cannot be released. */
    UT_ASSERT_SUCCESS(NtOpenSemaphore(&Other, SYNCHRONIZE,
                                      UtName(&N, "\\BaseNamedObjects\\UtSemaphore", 0, NULL)));
    UT_EXPECT_STATUS(NtReleaseSemaphore(Other, 1, NULL), STATUS_ACCESS_DENIED);
    NtClose(Other);
    UtCleanupNow(CloseTimer);
    UtCleanupNow(CloseSemaphore);
    UtCleanupNow(CloseMutant);
    UT_EXPECT(UtNamesSettled(&B));
    UT_EXPECT(UtBackToBaseline(Dispatcher));
}

const UT_TEST UtNameTests[] = {
    {"names.event_across_processes", NamedEventAcrossProcesses},
    {"names.name_goes_when_its_process_ends", NameGoesWhenItsProcessEnds},
    {"names.collision_and_openif", CollisionAndOpenIf},
    {"names.bad_names_and_attributes", BadNamesAndAttributes},
    {"names.case_insensitive", CaseInsensitiveOpen},
    {"names.permanent_until_temporary", PermanentUntilMadeTemporary},
    {"names.kernel_permanent_objects_stay", KernelPermanentObjectsStay},
    {"names.access_denied_through_reduced_handles", AccessDeniedThroughReducedHandles},
    {"names.directories_and_query", DirectoriesAndQuery},
    {"names.symbolic_links", SymbolicLinks},
    {"names.mutant_semaphore_timer_across_processes", MutantSemaphoreTimerAcrossProcesses},
    {NULL, NULL},
};
