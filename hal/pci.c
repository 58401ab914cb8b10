/*
 * pci.c - PCI configuration space: the boot scan, the device table, and
 * the accessors drivers use to find and program their device.
 *
 * Hardware (PCI Local Bus Specification 3.0, 3.2.2.3.2 and 6.1-6.2):
 * configuration mechanism 1 is a pair of 32-bit ports. A write of
 *
 *   0xCF8  CONFIG_ADDRESS  bit 31 enable | bus << 16 | device << 11 |
 *                          function << 8 | register offset (dword aligned)
 *
 * selects one dword of one function's 256-byte configuration space, which
 * then reads and writes through 0xCFC (CONFIG_DATA; byte and word accesses
 * at 0xCFC + offset % 4). A function that does not exist reads as all
 * ones, so vendor ID 0xFFFF means "nobody here". The header (type 0):
 *
 *   0x00 vendor ID, device ID     0x04 command, status
 *   0x08 revision, prog-if, subclass, class
 *   0x0E header type (bit 7: the device has functions 1-7)
 *   0x10-0x24 BAR0-BAR5           0x3C interrupt line, interrupt pin
 *
 * A BAR's size is found by writing all ones and reading back which address
 * bits stick (with the device's decoding turned off meanwhile, so that it
 * never answers at the probe address).
 *
 * The scan runs once at boot and fills HalpPciDevices; afterwards the
 * table is only read, so lookups take no lock. Config accesses are two
 * port operations that must not be split: they run with interrupts
 * disabled (one processor).
 */
#include "hal.h"
#include "../kernel/ke.h"
#include "../rtl/rtl.h"
#include "../include/intrin.h"

#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA    0xCFC
#define PCI_COMMAND_IO     0x0001
#define PCI_COMMAND_MEMORY 0x0002

static PCI_DEVICE_INFO HalpPciDevices[HAL_PCI_MAX_DEVICES];
static ULONG HalpPciDeviceCount;
static ULONG HalpPciDevicesMissed;

static void HalpSelect(UCHAR Bus, UCHAR Device, UCHAR Function, ULONG Offset)
{
    __outdword(PCI_CONFIG_ADDRESS, 0x80000000u | (ULONG)Bus << 16 | (ULONG)(Device & 31) << 11 |
                                       (ULONG)(Function & 7) << 8 | (Offset & 0xFC));
}

ULONG HalReadPciConfig(UCHAR Bus, UCHAR Device, UCHAR Function, ULONG Offset, PVOID Buffer,
                       ULONG Length)
{
    if ((Length != 1 && Length != 2 && Length != 4) || Offset % Length || Offset + Length > 256)
        return 0;
    ULONG64 Flags = __readeflags();
    _disable();
    HalpSelect(Bus, Device, Function, Offset);
    ULONG Dword = __indword(PCI_CONFIG_DATA);
    __writeeflags(Flags);
    Dword >>= 8 * (Offset & 3);
    if (Length == 1)
        *(PUCHAR)Buffer = (UCHAR)Dword;
    else if (Length == 2)
        *(PUSHORT)Buffer = (USHORT)Dword;
    else
        *(PULONG)Buffer = Dword;
    return Length;
}

ULONG HalWritePciConfig(UCHAR Bus, UCHAR Device, UCHAR Function, ULONG Offset,
                        const void *Buffer, ULONG Length)
{
    if ((Length != 1 && Length != 2 && Length != 4) || Offset % Length || Offset + Length > 256)
        return 0;
    ULONG64 Flags = __readeflags();
    _disable();
    HalpSelect(Bus, Device, Function, Offset);
    if (Length == 4) {
        __outdword(PCI_CONFIG_DATA, *(const ULONG *)Buffer);
    } else {
        /* Read-modify-write the dword: mechanism 1 also allows narrow
         * accesses at 0xCFC + n, but one path is simpler to check. */
        ULONG Dword = __indword(PCI_CONFIG_DATA);
        ULONG Shift = 8 * (Offset & 3);
        ULONG Mask = (Length == 1 ? 0xFFu : 0xFFFFu) << Shift;
        ULONG Value = Length == 1 ? *(const UCHAR *)Buffer : *(const USHORT *)Buffer;
        __outdword(PCI_CONFIG_DATA, (Dword & ~Mask) | (Value << Shift));
    }
    __writeeflags(Flags);
    return Length;
}

static ULONG HalpRead32(UCHAR Bus, UCHAR Device, UCHAR Function, ULONG Offset)
{
    ULONG Value = 0xFFFFFFFF;
    HalReadPciConfig(Bus, Device, Function, Offset, &Value, 4);
    return Value;
}

static void HalpWrite32(UCHAR Bus, UCHAR Device, UCHAR Function, ULONG Offset, ULONG Value)
{
    HalWritePciConfig(Bus, Device, Function, Offset, &Value, 4);
}

/* Size BAR Index of a type-0 function (decoding is off); returns how many
 * BAR slots it used (2 for a 64-bit memory BAR). */
static ULONG HalpSizeBar(PPCI_DEVICE_INFO Info, ULONG Index)
{
    UCHAR B = Info->Bus, D = Info->Device, F = Info->Function;
    ULONG Offset = 0x10 + 4 * Index;
    ULONG Original = HalpRead32(B, D, F, Offset);
    HalpWrite32(B, D, F, Offset, 0xFFFFFFFF);
    ULONG Mask = HalpRead32(B, D, F, Offset);
    HalpWrite32(B, D, F, Offset, Original);
    if (Mask == 0 || Mask == 0xFFFFFFFF)
        return 1;
    if (Original & 1) {                              /* I/O space */
        Info->Bar[Index].Io = TRUE;
        Info->Bar[Index].Base = Original & ~3u;
        Info->Bar[Index].Size = (~(Mask & ~3u) + 1) & 0xFFFF;
        return 1;
    }
    Info->Bar[Index].Base = Original & ~0xFu;
    Info->Bar[Index].Size = ~(Mask & ~0xFu) + 1;
    Info->Bar[Index].Prefetchable = (Original & 8) != 0;
    if (((Original >> 1) & 3) == 2 && Index < 5) {   /* 64-bit: the next BAR is the high half */
        Info->Bar[Index].Base |= (ULONG64)HalpRead32(B, D, F, Offset + 4) << 32;
        return 2;
    }
    return 1;
}

static void HalpReadFunction(UCHAR Bus, UCHAR Device, UCHAR Function, PPCI_DEVICE_INFO Info)
{
    ULONG Id = HalpRead32(Bus, Device, Function, 0);
    ULONG Class = HalpRead32(Bus, Device, Function, 8);
    ULONG Interrupt = HalpRead32(Bus, Device, Function, 0x3C);
    memset(Info, 0, sizeof(*Info));
    Info->Bus = Bus;
    Info->Device = Device;
    Info->Function = Function;
    Info->VendorId = (USHORT)Id;
    Info->DeviceId = (USHORT)(Id >> 16);
    Info->RevisionId = (UCHAR)Class;
    Info->ProgIf = (UCHAR)(Class >> 8);
    Info->SubClass = (UCHAR)(Class >> 16);
    Info->BaseClass = (UCHAR)(Class >> 24);
    Info->HeaderType = (UCHAR)(HalpRead32(Bus, Device, Function, 0x0C) >> 16) & 0x7F;
    Info->InterruptLine = (UCHAR)Interrupt;
    Info->InterruptPin = (UCHAR)(Interrupt >> 8);
    Info->Command = (USHORT)HalpRead32(Bus, Device, Function, 4);
    if (Info->HeaderType != 0)
        return;                                      /* bridges: no BARs decoded here */
    USHORT Off = Info->Command & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    HalWritePciConfig(Bus, Device, Function, 4, &Off, 2);
    for (ULONG Index = 0; Index < 6;)
        Index += HalpSizeBar(Info, Index);
    HalWritePciConfig(Bus, Device, Function, 4, &Info->Command, 2);
}

const char *HalPciClassName(UCHAR BaseClass, UCHAR SubClass)
{
    static const struct {
        UCHAR Base, Sub;
        const char *Name;
    } Names[] = {
        {0x01, 0x00, "SCSI controller"},   {0x01, 0x01, "IDE controller"},
        {0x01, 0x06, "SATA controller"},   {0x01, 0x08, "NVMe controller"},
        {0x02, 0x00, "Ethernet controller"}, {0x03, 0x00, "VGA controller"},
        {0x04, 0x01, "audio device"},      {0x06, 0x00, "host bridge"},
        {0x06, 0x01, "ISA bridge"},        {0x06, 0x04, "PCI bridge"},
        {0x06, 0x80, "bridge"},            {0x0C, 0x03, "USB controller"},
        {0x0C, 0x05, "SMBus controller"},
    };
    for (ULONG i = 0; i < ARRAYSIZE(Names); i++) {
        if (Names[i].Base == BaseClass && Names[i].Sub == SubClass)
            return Names[i].Name;
    }
    return "other";
}

static void HalpPrintDevice(const PCI_DEVICE_INFO *Info)
{
    KdPrintBoot("PCI %02x:%02x.%u %04x:%04x class %02x.%02x.%02x %s", Info->Bus, Info->Device,
                Info->Function, Info->VendorId, Info->DeviceId, Info->BaseClass, Info->SubClass,
                Info->ProgIf, HalPciClassName(Info->BaseClass, Info->SubClass));
    if (Info->InterruptPin)
        KdPrintBoot(", INT%c# IRQ %u", 'A' + Info->InterruptPin - 1, Info->InterruptLine);
    for (ULONG i = 0; i < 6; i++) {
        if (Info->Bar[i].Size)
            KdPrintBoot(", BAR%u %s 0x%llx/0x%x", i, Info->Bar[i].Io ? "io" : "mem",
                        Info->Bar[i].Base, Info->Bar[i].Size);
    }
    KdPrintBoot("\n");
}

static void HalpScanFunction(UCHAR Bus, UCHAR Device, UCHAR Function)
{
    if (HalpPciDeviceCount == HAL_PCI_MAX_DEVICES) {
        HalpPciDevicesMissed++;
        return;
    }
    PPCI_DEVICE_INFO Info = &HalpPciDevices[HalpPciDeviceCount++];
    HalpReadFunction(Bus, Device, Function, Info);
    HalpPrintDevice(Info);
}

void HalInitializePciBus(void)
{
    /* Every bus number, not only those bridges lead to: 8,192 vendor-ID
     * reads, a few milliseconds, and no bridge logic to get wrong. */
    for (ULONG Bus = 0; Bus < 256; Bus++) {
        for (UCHAR Device = 0; Device < 32; Device++) {
            if ((USHORT)HalpRead32((UCHAR)Bus, Device, 0, 0) == 0xFFFF)
                continue;
            BOOLEAN Multi = (HalpRead32((UCHAR)Bus, Device, 0, 0x0C) >> 16) & 0x80;
            for (UCHAR Function = 0; Function < (Multi ? 8 : 1); Function++) {
                if ((USHORT)HalpRead32((UCHAR)Bus, Device, Function, 0) != 0xFFFF)
                    HalpScanFunction((UCHAR)Bus, Device, Function);
            }
        }
    }
    KdPrintBoot("PCI: %u functions", HalpPciDeviceCount);
    if (HalpPciDevicesMissed)
        KdPrintBoot(" (%u more not recorded: HAL_PCI_MAX_DEVICES)", HalpPciDevicesMissed);
    KdPrintBoot("\n");
}

BOOLEAN HalFindPciDevice(USHORT VendorId, USHORT DeviceId, UCHAR BaseClass, UCHAR SubClass,
                         ULONG Index, PPCI_DEVICE_INFO Info)
{
    for (ULONG i = 0; i < HalpPciDeviceCount; i++) {
        const PCI_DEVICE_INFO *D = &HalpPciDevices[i];
        if ((VendorId != PCI_ANY_ID && D->VendorId != VendorId) ||
            (DeviceId != PCI_ANY_ID && D->DeviceId != DeviceId) ||
            (BaseClass != PCI_ANY_CLASS && D->BaseClass != BaseClass) ||
            (SubClass != PCI_ANY_CLASS && D->SubClass != SubClass))
            continue;
        if (Index-- == 0) {
            *Info = *D;
            return TRUE;
        }
    }
    return FALSE;
}

ULONG HalQueryPciDevices(PPCI_DEVICE_INFO Devices, ULONG Maximum)
{
    for (ULONG i = 0; i < HalpPciDeviceCount && i < Maximum; i++)
        Devices[i] = HalpPciDevices[i];
    return HalpPciDeviceCount;
}
