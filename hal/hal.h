/*
 * hal.h - the hardware abstraction layer's public interface (Hal): the
 * ACPI MADT, the interrupt controllers and the clock's timer, the IPIs
 * that start the other processors, the low-level serial and VGA
 * output that the debugger print and the bugcheck screen need, and turning
 * the machine off.
 *
 * Everything here talks to one piece of hardware through ports or a
 * memory-mapped register page, and knows nothing of threads, IRQL or
 * objects: the kernel (kernel/) decides, the HAL pokes the device. Output
 * routines take no lock and never block, so they work at any IRQL and
 * inside a bugcheck.
 */
#ifndef PAGODA_HAL_H
#define PAGODA_HAL_H

#include "../include/ntdef.h"

/* ------------------------------------------------------------------------
 * Interrupt controllers and the clock's timer (hal/apic.c)
 * ------------------------------------------------------------------------ */

/*
 * Mask the legacy 8259 PICs, enable and map the local APIC and the
 * IO-APICs (where HalInitializeAcpi's MADT says they are; without a MADT
 * the PC's addresses, with a warning), mask every IO-APIC input, mask the local APIC's LINT0/LINT1/error entries, calibrate the
 * APIC timer against PIT channel 2 and start it as a periodic interrupt of
 * ClockHz on ClockVector. Returns the calibrated APIC timer ticks per
 * millisecond. Boot only, interrupts disabled, after MmMapIoSpace works;
 * bugchecks PHASE0_INITIALIZATION_FAILED when a controller cannot be mapped.
 */
ULONG HalInitializeInterruptControllers(ULONG ClockHz, ULONG ClockVector, ULONG SpuriousVector);

/* The buses a device's interrupt line is named on (NT's INTERFACE_TYPE). */
typedef enum _INTERFACE_TYPE {
    Internal = 0,
    Isa = 1,
    PCIBus = 5,
} INTERFACE_TYPE;

/*
 * The system vector and IRQL of a bus interrupt line, as NT's
 * HalGetInterruptVector: BusInterruptLevel is the ISA IRQ (for PCI, the
 * configuration space's interrupt line, which the firmware routed to an
 * ISA IRQ). Pagoda's table places each IRQ at a fixed vector whose upper
 * nibble is its IRQL (hal/apic.c: the keyboard 0x55, COM1 0x44, the IDE
 * channels 0x6E/0x6F...). Returns 0 (and *Irql 0) for a line with no
 * vector. Which IO-APIC input the IRQ arrives on is the HAL's business
 * (the MADT's interrupt source overrides, hal/apic.c). Any IRQL.
 */
ULONG HalGetInterruptVector(INTERFACE_TYPE InterfaceType, ULONG BusNumber, ULONG BusInterruptLevel,
                            ULONG BusInterruptVector, PUCHAR Irql, PULONG_PTR Affinity);

/* Unmask the IO-APIC input behind Vector (through the MADT's interrupt
 * source override for its ISA IRQ, if any), programmed with the override's
 * polarity and trigger mode, or where they conform to the bus, for Mode
 * (0 level, active low; 1 edge, active high); fixed delivery to the boot
 * processor's APIC; and mask it again. FALSE when no input is behind Vector (a vector only software or a
 * self-IPI raises). Called by KeConnectInterrupt/KeDisconnectInterrupt with
 * interrupts disabled. */
BOOLEAN HalEnableSystemInterrupt(ULONG Vector, UCHAR Irql, ULONG Mode);
BOOLEAN HalDisableSystemInterrupt(ULONG Vector, UCHAR Irql);

/* Where ISA IRQ Irq arrives, as HalEnableSystemInterrupt programs it: its
 * GSI and the override's INTI flags (0: no override or conforming), the
 * IO-APIC (index in MADT order) and input, and that input's redirection
 * entry as read back now. FALSE when Irq >= 16 or no IO-APIC serves the
 * GSI. Any IRQL (interrupts are disabled around the register pair). */
typedef struct _HAL_ISA_IRQ_ROUTE {
    ULONG Gsi;
    USHORT Flags;
    ULONG IoApic;
    ULONG Input;
    ULONG RedirectionLow; /* vector, delivery, polarity (bit 13), trigger (15), mask (16) */
    ULONG RedirectionHigh; /* destination APIC id in bits 24-31 */
} HAL_ISA_IRQ_ROUTE, *PHAL_ISA_IRQ_ROUTE;
BOOLEAN HalQueryIsaIrqRoute(ULONG Irq, PHAL_ISA_IRQ_ROUTE Route);

/* Send this processor an interrupt on Vector through the local APIC's
 * interrupt command register (self shorthand, fixed delivery): it arrives
 * as a device interrupt would, held back while the IRQL is >= Vector >> 4.
 * The kernel tests use it to raise a device vector. Any IRQL. */
void HalSendSelfIpi(ULONG Vector);

/* Start the processor whose local APIC id is ApicId at the page
 * StartupPhysical (below 1 MiB, page-aligned): INIT, 10 ms, STARTUP,
 * 200 us, STARTUP, 200 us (Intel SDM Vol. 3A, "Typical BSP Initialization
 * Sequence"). FALSE when the
 * local APIC did not accept an IPI; TRUE says nothing about whether the
 * processor runs (kernel/mp.c waits for it to report). Boot processor,
 * PASSIVE_LEVEL, after HalInitializeInterruptControllers. */
BOOLEAN HalStartProcessor(UCHAR ApicId, ULONG64 StartupPhysical);
/* An inter-processor interrupt on Vector (fixed delivery) to the processor
 * with ApicId; returns once the local APIC has sent it. Any IRQL. */
void HalRequestIpi(UCHAR ApicId, ULONG Vector);
/* A non-maskable interrupt to ApicId (the bugcheck freezes the other
 * processors with it). Any IRQL. */
void HalSendNmi(UCHAR ApicId);

/* The local APIC id of the processor that calls it. Any IRQL. */
UCHAR HalGetCurrentApicId(void);

/* On an application processor: enable its local APIC (software enable,
 * SpuriousVector), mask its timer, LINT0/LINT1 and error entries and set
 * its task priority (CR8) to HIGH_LEVEL. Interrupts disabled. */
void HalInitializeApplicationProcessor(ULONG SpuriousVector);

/* Busy-wait MicroSeconds on PIT channel 2, as NT's HAL exports it. Boot
 * processor only (the PIT is one for all), any IRQL. */
void KeStallExecutionProcessor(ULONG MicroSeconds);

/* Signal end of interrupt to the local APIC (nothing before it is mapped).
 * Any IRQL, interrupts disabled. */
void HalEndOfInterrupt(void);

/* The calibrated APIC timer rate (0 before HalInitializeInterruptControllers). */
extern ULONG HalApicTicksPerMs;

/* ------------------------------------------------------------------------
 * ACPI tables (hal/acpi.c): the RSDP, the RSDT/XSDT and the MADT, read once
 * at boot. The MADT ("APIC" table, ACPI spec 5.2.12) lists the processors'
 * local APICs, the IO-APICs and how the ISA IRQs reach them.
 * ------------------------------------------------------------------------ */

/* What one boot records; a larger machine's extra entries are counted and
 * reported, not recorded. */
#define HAL_MAXIMUM_PROCESSORS 16
#define HAL_MAXIMUM_IO_APICS 4
#define HAL_MAXIMUM_OVERRIDES 16
#define HAL_MAXIMUM_LAPIC_NMIS 8

/* MPS INTI flags of an override or NMI entry (ACPI spec, Table 5.50). */
#define HAL_INTI_POLARITY_MASK 0x3
#define HAL_INTI_POLARITY_HIGH 0x1
#define HAL_INTI_POLARITY_LOW 0x3
#define HAL_INTI_TRIGGER_MASK 0xC
#define HAL_INTI_TRIGGER_EDGE 0x4
#define HAL_INTI_TRIGGER_LEVEL 0xC
/* (00 in either field: "conforms to the bus": ISA is edge, active high.) */

typedef struct _HAL_MADT_PROCESSOR {
    UCHAR AcpiProcessorId; /* the ACPI processor UID (type 0 entry) */
    UCHAR ApicId; /* its local APIC's id: where an IPI goes */
} HAL_MADT_PROCESSOR;

typedef struct _HAL_MADT_IO_APIC {
    UCHAR Id;
    ULONG Address; /* physical base of its register window */
    ULONG GsiBase; /* the global system interrupt of input 0 */
} HAL_MADT_IO_APIC;

typedef struct _HAL_MADT_OVERRIDE {
    UCHAR Bus; /* 0: ISA */
    UCHAR Source; /* the ISA IRQ */
    ULONG Gsi; /* the global system interrupt it arrives on */
    USHORT Flags; /* HAL_INTI_* */
} HAL_MADT_OVERRIDE;

typedef struct _HAL_MADT_LAPIC_NMI {
    UCHAR AcpiProcessorId; /* 0xFF: every processor */
    USHORT Flags; /* HAL_INTI_* */
    UCHAR Lint; /* 0 or 1: LINT0/LINT1 */
} HAL_MADT_LAPIC_NMI;

/* The MADT as hal/acpi.c read it. Present is FALSE when no RSDP, no valid
 * RSDT/XSDT or no valid MADT was found (the HAL then routes by the old
 * assumption, ISA IRQ n = IO-APIC input n). */
typedef struct _HAL_MADT_INFORMATION {
    BOOLEAN Present;
    CHAR RsdpSource[24]; /* "multiboot2 tag 15", "BIOS area"... */
    ULONG64 RsdpPhysical; /* 0 when the RSDP came from a multiboot2 tag */
    ULONG64 MadtPhysical;
    ULONG LocalApicAddress; /* physical, from the MADT header */
    ULONG Flags; /* bit 0: PCAT_COMPAT, 8259s present */
    ULONG ProcessorCount; /* enabled local APICs recorded */
    ULONG DisabledProcessors; /* local APIC entries neither enabled nor online-capable */
    ULONG IoApicCount;
    ULONG OverrideCount;
    ULONG NmiCount;
    ULONG Dropped; /* entries past the limits above */
    HAL_MADT_PROCESSOR Processors[HAL_MAXIMUM_PROCESSORS];
    HAL_MADT_IO_APIC IoApics[HAL_MAXIMUM_IO_APICS];
    HAL_MADT_OVERRIDE Overrides[HAL_MAXIMUM_OVERRIDES];
    HAL_MADT_LAPIC_NMI Nmis[HAL_MAXIMUM_LAPIC_NMIS];
} HAL_MADT_INFORMATION, *PHAL_MADT_INFORMATION;

struct _LOADER_PARAMETER_BLOCK;

/*
 * Find the RSDP (the loader block's copy from multiboot2 tag 15/14, else a
 * search of the EBDA's first KiB and 0xE0000-0xFFFFF on 16-byte
 * boundaries), check it, walk the XSDT (revision 2+) or RSDT, and read the
 * MADT into HalMadt; print what it found (unless quiet). Every table's
 * checksum is checked; a bad one is a warning and the table is skipped.
 * The tables are mapped with MmMapIoSpace for the walk and unmapped again.
 * Boot, once, after the memory manager is up and before
 * HalInitializeInterruptControllers; PASSIVE_LEVEL.
 */
void HalInitializeAcpi(const struct _LOADER_PARAMETER_BLOCK *LoaderBlock);

/* The BIOS way to the RSDP: the first KiB of the EBDA, then
 * 0xE0000-0xFFFFF, for "RSD PTR " on a 16-byte boundary with a good
 * checksum. TRUE with a copy (LOADER_RSDP_MAX_SIZE bytes) in Rsdp and its
 * address in *Physical. PASSIVE_LEVEL (it maps the areas). */
BOOLEAN HalSearchBiosRsdp(PUCHAR Rsdp, PULONG64 Physical);

/* Parse a MADT (Length bytes at Table, header included) into *Madt, which
 * is zeroed first. FALSE when the signature, length or checksum is wrong.
 * Pure: any IRQL (the ktests feed it tables of their own). */
BOOLEAN HalParseMadt(const UCHAR *Table, ULONG Length, PHAL_MADT_INFORMATION Madt);

/* What HalInitializeAcpi found. Read-only after boot. */
extern HAL_MADT_INFORMATION HalMadt;

/* ------------------------------------------------------------------------
 * PCI configuration space (hal/pci.c): the bus scan at boot and how a
 * driver finds its device, in the spirit of NT's HalGetBusData.
 * ------------------------------------------------------------------------ */

/* The devices one scan records; a larger machine's extra ones are counted
 * and reported, not recorded. */
#define HAL_PCI_MAX_DEVICES 64
#define PCI_ANY_ID 0xFFFF /* HalFindPciDevice: any vendor / device */
#define PCI_ANY_CLASS 0xFF /* ... any base class / subclass */

/* One function found by the scan. A BAR's Base is its address (memory) or
 * port (I/O), with the type bits cleared; Size is what the device decodes
 * (0: the BAR is not implemented). */
typedef struct _PCI_DEVICE_INFO {
    UCHAR Bus;
    UCHAR Device; /* 0-31 */
    UCHAR Function; /* 0-7 */
    UCHAR HeaderType; /* 0 device, 1 PCI-to-PCI bridge (bit 7: multi-function dropped) */
    USHORT VendorId;
    USHORT DeviceId;
    UCHAR BaseClass;
    UCHAR SubClass;
    UCHAR ProgIf;
    UCHAR RevisionId;
    UCHAR InterruptLine; /* the ISA IRQ the firmware routed INTx to (0xFF: none) */
    UCHAR InterruptPin; /* 0 none, 1-4 INTA-INTD */
    USHORT Command;
    struct {
        ULONG64 Base;
        ULONG Size;
        BOOLEAN Io; /* an I/O-port BAR */
        BOOLEAN Prefetchable;
    } Bar[6];
} PCI_DEVICE_INFO, *PPCI_DEVICE_INFO;

/* Scan every bus, device and function through ports 0xCF8/0xCFC
 * (configuration mechanism 1), size the BARs, record what answers and
 * print it (unless quiet). Boot, PASSIVE_LEVEL, before drivers start. */
void HalInitializePciBus(void);

/* The Index-th recorded function (0, 1, ...) that matches: VendorId and
 * DeviceId (PCI_ANY_ID matches any), BaseClass and SubClass (PCI_ANY_CLASS
 * matches any). TRUE with a copy in *Info; FALSE when there is none. Any
 * IRQL. */
BOOLEAN HalFindPciDevice(USHORT VendorId, USHORT DeviceId, UCHAR BaseClass, UCHAR SubClass,
                         ULONG Index, PPCI_DEVICE_INFO Info);

/* Read / write Length bytes (1, 2 or 4, naturally aligned) of a function's
 * configuration space at Offset, as HalGetBusDataByOffset and
 * HalSetBusDataByOffset do for PCIConfiguration. Returns the bytes moved
 * (0 for a bad length or offset). Any IRQL; one processor, so the
 * address/data port pair needs no lock beyond disabled interrupts. */
ULONG HalReadPciConfig(UCHAR Bus, UCHAR Device, UCHAR Function, ULONG Offset, PVOID Buffer,
                       ULONG Length);
ULONG HalWritePciConfig(UCHAR Bus, UCHAR Device, UCHAR Function, ULONG Offset, const void *Buffer,
                        ULONG Length);

/* Copy at most Maximum recorded functions to Devices; returns how many the
 * scan recorded. Any IRQL. */
ULONG HalQueryPciDevices(PPCI_DEVICE_INFO Devices, ULONG Maximum);

/* A short name for a class ("IDE controller", "host bridge", ...), or
 * "other". */
const char *HalPciClassName(UCHAR BaseClass, UCHAR SubClass);

/* ------------------------------------------------------------------------
 * COM1 (hal/serial.c): polled output and input, and the receive interrupt
 * switch. Any IRQL.
 * ------------------------------------------------------------------------ */

/* The 16550 UART at COM1: its registers (port offsets) and the values
 * written to program 115200 baud 8N1 with FIFOs. boot/start.asm programs
 * it the same way (kernel/x64/asmdefs.c hands these to NASM). */
#define COM1_PORT 0x3F8
#define UART_DATA 0                 /* DLAB=1: divisor latch, low byte */
#define UART_IER  1                 /* DLAB=1: divisor latch, high byte */
#define UART_FCR  2
#define UART_LCR  3
#define UART_MCR  4
#define UART_LSR  5
#define UART_DIVISOR_115200 1
#define UART_LCR_DLAB       0x80    /* the divisor latch replaces DATA/IER */
#define UART_LCR_8N1        0x03    /* 8 data bits, no parity, 1 stop bit */
#define UART_FCR_ENABLE     0xC7    /* FIFOs on, both cleared, 14-byte threshold */
#define UART_MCR_DTR_RTS_OUT2 0x0B  /* OUT2 gates the UART's interrupt line */
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20

void HalSerialInitialize(void);
/* Write one character ("\n" goes out as "\r\n"); nothing when there is no UART. */
void HalSerialPutChar(char C);
/* Write one byte as it is (no "\n" translation), polling the transmitter-
 * empty bit first; nothing when there is no UART (the serial driver's writes). */
void HalSerialWriteByte(UCHAR C);
/* The next character waiting in the UART, or -1. */
int HalSerialPollChar(void);
/* Ask the UART to interrupt when data arrives; FALSE when there is no UART. */
BOOLEAN HalSerialEnableReceiveInterrupt(void);

/* ------------------------------------------------------------------------
 * The VGA text screen (hal/vga.c). Any IRQL.
 * ------------------------------------------------------------------------ */
#define HAL_VGA_TEXT_PHYSICAL 0xB8000  /* the text buffer, 80 x 25 cells of 2 bytes */
void HalVgaInitialize(PVOID TextBuffer);
/* Point the screen at a new mapping of the text buffer (the memory manager
 * moves it from the boot identity map to system space). */
void HalSetVgaTextBuffer(PVOID TextBuffer);
void HalVgaPutChar(char C);
void HalVgaSetColor(UCHAR Attribute);
void HalVgaClear(void);

/* ------------------------------------------------------------------------
 * Power (hal/power.c)
 * ------------------------------------------------------------------------ */

/* QEMU's isa-debug-exit device (tools/qemu.sh: iobase=0xf4). */
#define HAL_DEBUG_EXIT_PORT 0xF4
/* Exit codes written to QEMU's isa-debug-exit port; QEMU exits with
 * (code << 1) | 1, shown in parentheses. */
typedef enum _HAL_EXIT_CODE {
    HalExitSuccess = 0x10,      /* (33) normal shutdown, all tests passed */
    HalExitTestsFailed = 0x11,  /* (35) at least one ktest failed */
    HalExitBugCheck = 0x12,     /* (37) the system stopped with a bugcheck */
    HalExitCannotBoot = 0x13,   /* (39) this machine cannot run Pagoda */
} HAL_EXIT_CODE;

/* Power the machine off; in QEMU the exit status tells Code. Never returns:
 * without the debug-exit device (or ACPI power-off), it halts for ever.
 * Any IRQL. */
__attribute__((noreturn)) void HalPowerOff(HAL_EXIT_CODE Code);

#endif /* PAGODA_HAL_H */
