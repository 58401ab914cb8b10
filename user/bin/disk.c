/*
 * disk - read, write, fill and checksum sectors of a disk device, like a
 * careful dd, and print the ATA driver's counters (docs/disk.md).
 *
 *   disk read  DEV LBA [COUNT]          read COUNT sectors (default 1), hexdump the first
 *   disk write DEV LBA COUNT BYTE       every byte of the sectors = BYTE (0-255, 0x.. too)
 *   disk fill  DEV LBA COUNT [SEED]     byte i of sector L = (L * 3 + i * 7) ^ SEED
 *                                       (default 0x5A: what the kernel tests write,
 *                                       tests/kernel/test_ata.c KtWritten)
 *   disk sum   DEV LBA COUNT            CRC-32 (IEEE, zlib's crc32) of the sectors
 *   disk stats [DEV]                    IOCTL_ATA_GET_COUNTERS (include/ntddata.h)
 *
 * DEV is a kernel namespace name (\Device\Harddisk0\DR0) or a name in \??
 * (PhysicalDrive0); "DR0" is short for \Device\Harddisk0\DR0. The range is
 * checked against IOCTL_DISK_GET_LENGTH_INFO before anything moves. Data
 * moves by NtReadFile/NtWriteFile of at most 64 KiB at explicit byte
 * offsets on a synchronous handle, through a page-aligned buffer (so the
 * driver can use DMA straight into it). Exit status 0 when everything
 * worked, else the failing NTSTATUS.
 */
#include "pagoda.h"
#include "ntddata.h"

#define SECTOR 512
#define CHUNK_SECTORS 128 /* 64 KiB per request */

static HANDLE Disk;
static PUCHAR Buffer;       /* CHUNK_SECTORS sectors, page-aligned */
static ULONG64 DiskSectors;

static NTSTATUS Failed(const char *What, NTSTATUS Status)
{
    const char *Name = PgStatusName(Status);
    if (Name)
        printf("disk: %s: %s\n", What, Name);
    else
        printf("disk: %s: 0x%08x\n", What, (ULONG)Status);
    return Status;
}

/* Open DEV (see above) and learn its length. */
static NTSTATUS OpenDisk(const char *Device)
{
    char Path[128];
    WCHAR Wide[128];
    UNICODE_STRING Name;
    if (!strcmp(Device, "DR0"))
        snprintf(Path, sizeof(Path), "\\Device\\Harddisk0\\DR0");
    else if (Device[0] == '\\')
        snprintf(Path, sizeof(Path), "%s", Device);
    else
        snprintf(Path, sizeof(Path), "\\??\\%s", Device);
    NTSTATUS Status = PgInitUnicodeStringFromAnsi(&Name, Wide, ARRAYSIZE(Wide), Path);
    if (NT_SUCCESS(Status))
        Status = PgOpenDevice(Wide, FILE_SYNCHRONOUS_IO_NONALERT, &Disk);
    if (!NT_SUCCESS(Status))
        return Failed(Path, Status);
    GET_LENGTH_INFORMATION Length;
    IO_STATUS_BLOCK Iosb;
    Status = NtDeviceIoControlFile(Disk, NULL, NULL, NULL, &Iosb, IOCTL_DISK_GET_LENGTH_INFO, NULL,
                                   0, &Length, sizeof(Length));
    if (!NT_SUCCESS(Status))
        return Failed("IOCTL_DISK_GET_LENGTH_INFO", Status);
    DiskSectors = (ULONG64)Length.Length.QuadPart / SECTOR;
    return STATUS_SUCCESS;
}

static NTSTATUS AllocateBuffer(void)
{
    PVOID Base = NULL;
    SIZE_T Size = CHUNK_SECTORS * SECTOR;
    NTSTATUS Status = NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                              MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!NT_SUCCESS(Status))
        return Failed("NtAllocateVirtualMemory", Status);
    Buffer = Base;
    return STATUS_SUCCESS;
}

/* A number: decimal or 0x hex, all of the word. */
static BOOLEAN ParseNumber(const char *Text, ULONG64 *Value)
{
    char *End;
    if (!Text || !*Text)
        return FALSE;
    *Value = strtoull(Text, &End, 0);
    return *End == '\0';
}

/* Count sectors from Lba inside the disk? Says why not. */
static BOOLEAN RangeOk(ULONG64 Lba, ULONG64 Count)
{
    if (Count == 0 || Lba >= DiskSectors || Count > DiskSectors - Lba) {
        printf("disk: sectors %llu..%llu are not inside the disk (%llu sectors)\n", Lba,
               Lba + Count - 1, DiskSectors);
        return FALSE;
    }
    return TRUE;
}

/* Move Sectors sectors (<= CHUNK_SECTORS) at Lba between the disk and Buffer. */
static NTSTATUS Transfer(BOOLEAN Write, ULONG64 Lba, ULONG Sectors)
{
    IO_STATUS_BLOCK Iosb;
    LARGE_INTEGER Offset = {.QuadPart = (LONGLONG)(Lba * SECTOR)};
    ULONG Bytes = Sectors * SECTOR;
    NTSTATUS Status = Write ? NtWriteFile(Disk, NULL, NULL, NULL, &Iosb, Buffer, Bytes, &Offset, NULL)
                            : NtReadFile(Disk, NULL, NULL, NULL, &Iosb, Buffer, Bytes, &Offset, NULL);
    if (NT_SUCCESS(Status) && Iosb.Information != Bytes)
        Status = STATUS_UNSUCCESSFUL;
    if (!NT_SUCCESS(Status)) {
        char What[64];
        snprintf(What, sizeof(What), "%s of %u sectors at LBA %llu", Write ? "write" : "read",
                 Sectors, Lba);
        return Failed(What, Status);
    }
    return STATUS_SUCCESS;
}

static void HexDump(const UCHAR *Data, ULONG Bytes, ULONG64 Lba)
{
    for (ULONG Row = 0; Row < Bytes; Row += 16) {
        printf("%08llx ", Lba * SECTOR + Row);
        for (ULONG i = 0; i < 16; i++)
            printf(" %02x", Data[Row + i]);
        printf("  |");
        for (ULONG i = 0; i < 16; i++) {
            UCHAR C = Data[Row + i];
            printf("%c", C >= 0x20 && C < 0x7F ? C : '.');
        }
        printf("|\n");
    }
}

/* ---------------------------------------------------------------- CRC-32 */

static ULONG CrcTable[256];

static void CrcInit(void)
{
    for (ULONG n = 0; n < 256; n++) {
        ULONG c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        CrcTable[n] = c;
    }
}

static ULONG CrcUpdate(ULONG Crc, const UCHAR *Data, ULONG Bytes)
{
    Crc = ~Crc;
    for (ULONG i = 0; i < Bytes; i++)
        Crc = CrcTable[(Crc ^ Data[i]) & 0xFF] ^ (Crc >> 8);
    return ~Crc;
}

/* ---------------------------------------------------------------- commands */

typedef enum _DISK_OP { OpRead, OpWrite, OpFill, OpSum } DISK_OP;

/* Fill Buffer for Sectors sectors from Lba (write / fill). */
static void MakeData(DISK_OP Op, ULONG64 Lba, ULONG Sectors, ULONG64 Value)
{
    if (Op == OpWrite) {
        memset(Buffer, (int)Value, Sectors * SECTOR);
        return;
    }
    for (ULONG s = 0; s < Sectors; s++)
        for (ULONG i = 0; i < SECTOR; i++)
            Buffer[s * SECTOR + i] = (UCHAR)(((Lba + s) * 3 + i * 7) ^ Value);
}

/* read / write / fill / sum over Count sectors from Lba, a chunk at a time. */
static NTSTATUS RunRange(DISK_OP Op, ULONG64 Lba, ULONG64 Count, ULONG64 Value)
{
    ULONG Crc = 0;
    for (ULONG64 Done = 0; Done < Count;) {
        ULONG Sectors = Count - Done < CHUNK_SECTORS ? (ULONG)(Count - Done) : CHUNK_SECTORS;
        BOOLEAN Write = Op == OpWrite || Op == OpFill;
        if (Write)
            MakeData(Op, Lba + Done, Sectors, Value);
        NTSTATUS Status = Transfer(Write, Lba + Done, Sectors);
        if (!NT_SUCCESS(Status))
            return Status;
        if (Op == OpRead && Done == 0)
            HexDump(Buffer, SECTOR, Lba);
        if (Op == OpSum)
            Crc = CrcUpdate(Crc, Buffer, Sectors * SECTOR);
        Done += Sectors;
    }
    static const char *Verb[] = {"read", "wrote", "filled", "summed"};
    printf("disk: %s %llu sectors (%llu bytes) from LBA %llu", Verb[Op], Count, Count * SECTOR,
           Lba);
    if (Op == OpSum)
        printf(": crc32 %08x", Crc);
    printf("\n");
    return STATUS_SUCCESS;
}

static NTSTATUS Stats(void)
{
    ATA_COUNTERS C;
    IO_STATUS_BLOCK Iosb;
    NTSTATUS Status = NtDeviceIoControlFile(Disk, NULL, NULL, NULL, &Iosb, IOCTL_ATA_GET_COUNTERS,
                                            NULL, 0, &C, sizeof(C));
    if (!NT_SUCCESS(Status))
        return Failed("IOCTL_ATA_GET_COUNTERS", Status);
    printf("mode          %s\n", C.Dma ? "bus-master DMA" : "PIO");
    printf("sectors       %llu (%llu MiB)\n", DiskSectors, DiskSectors / 2048);
    printf("requests      %llu (DMA %llu, PIO %llu, flushes %llu)\n", C.Requests, C.DmaRequests,
           C.PioRequests, C.Flushes);
    printf("sectors moved read %llu, written %llu\n", C.SectorsRead, C.SectorsWritten);
    printf("interrupts    %llu (spurious %llu)\n", C.Interrupts, C.Spurious);
    printf("errors        retries %llu, data errors %llu, timeouts %llu, cancelled %llu\n",
           C.Retries, C.Errors, C.Timeouts, C.Cancelled);
    return STATUS_SUCCESS;
}

static int Usage(void)
{
    printf("usage: disk read DEV LBA [COUNT] | write DEV LBA COUNT BYTE | "
           "fill DEV LBA COUNT [SEED] | sum DEV LBA COUNT | stats [DEV]\n"
           "       DEV: \\Device\\Harddisk0\\DR0, DR0, PhysicalDrive0 (in \\?\?)\n");
    return 1;
}

/* The operation and its numbers from the command line; FALSE: usage. */
static BOOLEAN ParseRange(int Argc, char **Argv, DISK_OP *Op, ULONG64 *Lba, ULONG64 *Count,
                          ULONG64 *Value)
{
    static const char *Names[] = {"read", "write", "fill", "sum"};
    for (*Op = OpRead; *Op <= OpSum; (*Op)++)
        if (!strcmp(Argv[1], Names[*Op]))
            break;
    if (*Op > OpSum || Argc < 4 || !ParseNumber(Argv[3], Lba))
        return FALSE;
    *Count = 1;
    *Value = 0x5A;
    if (Argc > 4 && !ParseNumber(Argv[4], Count))
        return FALSE;
    if ((*Op != OpRead && Argc < 5) || (*Op == OpWrite && Argc < 6))
        return FALSE;
    if (Argc > 5 && (*Op == OpRead || *Op == OpSum || !ParseNumber(Argv[5], Value) || *Value > 255))
        return FALSE;
    return Argc <= 6;
}

int main(int Argc, char **Argv, char **Envp)
{
    DISK_OP Op;
    ULONG64 Lba, Count, Value;
    UNREFERENCED_PARAMETER(Envp);

    if (Argc >= 2 && !strcmp(Argv[1], "stats") && Argc <= 3) {
        NTSTATUS Status = OpenDisk(Argc == 3 ? Argv[2] : "DR0");
        if (NT_SUCCESS(Status))
            Status = Stats();
        return NT_SUCCESS(Status) ? 0 : (int)Status;
    }
    if (Argc < 4 || !ParseRange(Argc, Argv, &Op, &Lba, &Count, &Value))
        return Usage();
    CrcInit();
    NTSTATUS Status = OpenDisk(Argv[2]);
    if (NT_SUCCESS(Status))
        Status = AllocateBuffer();
    if (NT_SUCCESS(Status) && !RangeOk(Lba, Count))
        Status = STATUS_INVALID_PARAMETER;
    if (NT_SUCCESS(Status))
        Status = RunRange(Op, Lba, Count, Value);
    if (Disk)
        NtClose(Disk);
    return NT_SUCCESS(Status) ? 0 : (int)Status;
}
