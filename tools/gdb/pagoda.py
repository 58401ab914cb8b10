# tools/gdb/pagoda.py - gdb commands for looking inside a running Pagoda.
#
# Loaded by tools/gdb/gdbinit (`make gdb`), or by hand:
#     (gdb) source tools/gdb/pagoda.py
#
# Commands:
#     pagoda-pte VA [CR3]   walk the four page-table levels that translate VA
#     pagoda-ps, pagoda-poolused, pagoda-pfn PFN, pagoda-vad [SPACE], pagoda-mdl MDL,
#     pagoda-irq
#                           the kernel's structures, like WinDbg's !process,
#                           !poolused, !pfn, !vad, !mdl and !idt (below)
#     pagoda-irp, pagoda-devobj, pagoda-drvobj, pagoda-devstack, pagoda-thread
#                           the I/O manager's, like !irp, !devobj, !drvobj,
#                           !devstack and !thread (tools/gdb/pagoda_io.py,
#                           sourced at the end of this file)
# and a frame filter that names the KTRAP_FRAME on the line of a trap or
# system-call entry in `bt` (at the end of this file).
#
# The walk reads page tables by *physical* address through QEMU's monitor
# (`monitor xp`), so it works at any moment: before the kernel has built its
# self-map, in the 32-bit boot code, or with a CR3 that is not loaded.
# Next to each entry it prints where the kernel itself sees that entry
# through the self-map (PML4 entry 0x1ED points at the PML4, so every
# page-table page appears in the 512 GiB window at PTE_BASE), which is
# what MiGetPteAddress() and friends compute in mm/.

import re

import gdb

SELF_MAP_INDEX = 0x1ED
# Each base is the self-map address of the entry mapping the previous one:
# MiGetPteAddress(va) = PTE_BASE + ((va >> 9) & 0x7FFFFFFFF8), so
# PDE_BASE = MiGetPteAddress(PTE_BASE), and so on up to the PML4 itself.
PTE_BASE = 0xFFFFF68000000000  # sign-extended PML4 index 0x1ED << 39
PDE_BASE = 0xFFFFF6FB40000000
PPE_BASE = 0xFFFFF6FB7DA00000
PXE_BASE = 0xFFFFF6FB7DBED000
ADDR_MASK = 0x000FFFFFFFFFF000  # bits 51:12 of an entry: the next frame

# (bit, name) of a page-table entry; Intel SDM vol. 3A, 4.5 (tables 4-15..4-20)
FLAGS = [
    (0, "P"), (1, "RW"), (2, "US"), (3, "PWT"), (4, "PCD"), (5, "A"),
    (6, "D"), (7, "PS"), (8, "G"), (63, "NX"),
]


def canonical(va):
    """Sign-extend bit 47, as the CPU requires of every linear address."""
    va &= (1 << 64) - 1
    return va | 0xFFFF000000000000 if va & (1 << 47) else va & ((1 << 48) - 1)


def self_map_addresses(va):
    """Virtual addresses of the PXE, PPE, PDE and PTE that map VA, as seen
    through the self-map (what MiGetPxeAddress ... MiGetPteAddress return)."""
    va &= (1 << 48) - 1
    return [
        PXE_BASE + ((va >> 36) & 0xFF8),
        PPE_BASE + ((va >> 27) & 0x1FFFF8),
        PDE_BASE + ((va >> 18) & 0x3FFFFFF8),
        PTE_BASE + ((va >> 9) & 0x7FFFFFFFF8),
    ]


def read_phys_u64(pa):
    """Read 8 bytes of guest physical memory through QEMU's monitor."""
    out = gdb.execute("monitor xp /1gx 0x%x" % pa, to_string=True)
    m = re.search(r":\s*0x([0-9a-fA-F]+)", out)
    if not m:
        raise gdb.GdbError("cannot read physical 0x%x: %s" % (pa, out.strip()))
    return int(m.group(1), 16)


def address_of(expr):
    """Evaluate EXPR to an address; a function or array names its start."""
    v = gdb.parse_and_eval(expr)
    if v.type.strip_typedefs().code in (gdb.TYPE_CODE_FUNC, gdb.TYPE_CODE_ARRAY):
        v = v.address
    return int(v.cast(gdb.lookup_type("unsigned long")))


def decode(entry):
    names = [n for bit, n in FLAGS if entry & (1 << bit)]
    return " ".join(names) if names else "-"


class PagodaPte(gdb.Command):
    """Walk the page tables for a virtual address.

Usage: pagoda-pte VA [CR3]

VA is any gdb expression (a symbol, a pointer, 0xffff...); CR3 defaults to
the current $cr3. For each level (PML4, PDPT, PD, PT) prints the index, the
physical address and value of the entry, its flags, and the virtual address
of that entry through the self-map at PTE_BASE 0xFFFFF68000000000. Stops at
the first entry that is not present or that maps a large page (PS), then
prints the physical address VA translates to."""

    def __init__(self):
        super().__init__("pagoda-pte", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if not argv or len(argv) > 2:
            raise gdb.GdbError("usage: pagoda-pte VA [CR3]")
        va = canonical(address_of(argv[0]))
        cr3 = address_of(argv[1] if len(argv) == 2 else "$cr3")
        va48 = va & ((1 << 48) - 1)
        idx = [(va48 >> s) & 0x1FF for s in (39, 30, 21, 12)]
        print("VA 0x%016x  PML4[%#x] PDPT[%#x] PD[%#x] PT[%#x] offset %#x"
              % (va, idx[0], idx[1], idx[2], idx[3], va & 0xFFF))
        print("CR3 0x%x" % cr3)
        levels = ("PML4E", "PDPTE", "PDE", "PTE")
        # Page size mapped by a PS=1 entry at that level, and offset mask.
        large = {1: 1 << 30, 2: 1 << 21}
        table = cr3 & ADDR_MASK
        smap = self_map_addresses(va)
        for level, name in enumerate(levels):
            pa = table + idx[level] * 8
            entry = read_phys_u64(pa)
            print("  %-5s @ phys 0x%012x (self-map 0x%016x) = 0x%016x  %s"
                  % (name, pa, smap[level], entry, decode(entry)))
            if not entry & 1:
                print("  not present: a reference to VA faults at this level")
                return
            if level in large and entry & (1 << 7):
                size = large[level]
                frame = entry & ADDR_MASK & ~(size - 1)
                print("  %s page: VA -> phys 0x%x"
                      % ("1 GiB" if level == 1 else "2 MiB",
                         frame + (va & (size - 1))))
                return
            table = entry & ADDR_MASK
        print("  4 KiB page: VA -> phys 0x%x (PFN 0x%x)"
              % (table + (va & 0xFFF), table >> 12))


PagodaPte()


# ---------------------------------------------------------------------------
# Kernel structures, read through the kernel's own types (DWARF from -g):
# the WinDbg-like views !process 0 0, !thread, !poolused, !pfn, !vad.
# ---------------------------------------------------------------------------

def ktype(name):
    """The kernel's type NAME ("IRP"), or its struct ("struct _IRP"): gcc
    emits a typedef only where it is used, and some (IRP, DEVICE_OBJECT)
    are only ever used through their pointer typedefs. Enums likewise."""
    for spelling in (name, "struct _" + name, "enum _" + name):
        try:
            return gdb.lookup_type(spelling)
        except gdb.error:
            pass
    raise gdb.GdbError("no type %s in the kernel's debug information" % name)


def offset_of(type_name, field_path):
    """Byte offset of FIELD_PATH ("Pcb.ThreadListHead") in TYPE_NAME."""
    t = ktype(type_name).strip_typedefs()
    off = 0
    for name in field_path.split("."):
        f = [x for x in t.fields() if x.name == name]
        if not f:
            raise gdb.GdbError("%s has no field %s" % (t, name))
        off += f[0].bitpos // 8
        t = f[0].type.strip_typedefs()
    return off


def containing(address, type_name, field_path):
    """CONTAINING_RECORD: the TYPE_NAME * whose FIELD_PATH is at ADDRESS."""
    ptr = ktype(type_name).pointer()
    return gdb.Value(int(address) - offset_of(type_name, field_path)).cast(ptr)


def list_entries(head, type_name, field_path, limit=4096):
    """Walk a LIST_ENTRY list whose head is the gdb Value HEAD."""
    head_addr = int(head.address)
    entry = head["Flink"]
    n = 0
    while int(entry) != head_addr and n < limit:
        yield containing(entry, type_name, field_path)
        entry = entry["Flink"]
        n += 1


def tag_text(tag):
    return "".join(chr((tag >> (8 * i)) & 0xFF) if 32 <= ((tag >> (8 * i)) & 0xFF) < 127
                   else "." for i in range(4))


THREAD_STATES = ["Initialized", "Ready", "Running", "Standby", "Terminated", "Waiting"]


class PagodaPs(gdb.Command):
    """List the processes and their threads (like WinDbg's !process 0 0).

Usage: pagoda-ps

Walks PsActiveProcessHead: PID, name, CR3 (DirectoryTableBase), threads,
handles; then each thread's TID, state, priority and kernel stack. The
current thread is marked with '*'."""

    def __init__(self):
        super().__init__("pagoda-ps", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        head = gdb.parse_and_eval("PsActiveProcessHead")
        current = int(gdb.parse_and_eval("KiPcr.CurrentThread"))
        for p in list_entries(head, "EPROCESS", "ActiveProcessLinks"):
            handles = 0
            table = p["ObjectTable"]
            if int(table):
                handles = int(table["HandleCount"])
            print("PROCESS %s  PID %d  %s  CR3 0x%x  threads %d  handles %d"
                  % (hex(int(p)), int(p["UniqueProcessId"]),
                     p["ImageFileName"].string(), int(p["Pcb"]["DirectoryTableBase"]),
                     int(p["Pcb"]["ThreadCount"]), handles))
            for t in list_entries(p["Pcb"]["ThreadListHead"], "ETHREAD", "Tcb.ThreadListEntry"):
                tcb = t["Tcb"]
                state = int(tcb["State"])
                print("  %s THREAD %s  TID %d  %-10s priority %2d  stack %s"
                      % ("*" if int(t) == current else " ", hex(int(t)),
                         int(t["Cid"]["UniqueThread"]),
                         THREAD_STATES[state] if state < len(THREAD_STATES) else state,
                         int(tcb["Priority"]), hex(int(tcb["StackBase"]))))


class PagodaPoolUsed(gdb.Command):
    """Pool usage by tag (like WinDbg's !poolused).

Usage: pagoda-poolused

Reads the tag trackers of the nonpaged and the paged pool descriptors
(mm/pool.c, mm/poolcore.h), plus the counts the lookaside fast paths keep
in their lists until someone folds them in (POOL_LOOKASIDE): tag,
allocations, frees, bytes in use, largest first."""

    def __init__(self):
        super().__init__("pagoda-poolused", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        rows = []
        for pool, kind in (("ExpNonPagedPool", "NonPaged"), ("ExpPagedPool", "Paged")):
            d = gdb.parse_and_eval(pool)
            tracker = d["Tracker"]
            # The fast paths' counts not yet folded into the table, by slot.
            pending = {}
            for units in range(2, 33):
                la = d["Lookaside"][units]
                allocs, frees = int(la["PendingAllocations"]), int(la["PendingFrees"])
                if allocs or frees:
                    slot = (int(la["ParkedImage"]) >> 16) & 0xFF
                    a, f, b = pending.get(slot, (0, 0, 0))
                    pending[slot] = (a + allocs, f + frees, b + (allocs - frees) * units * 16)
            lo, hi = tracker.type.range()
            for i in range(lo, hi + 1):
                e = tracker[i]
                if int(e["Allocations"]) == 0:
                    continue
                a, f, b = pending.get(i, (0, 0, 0))
                rows.append((int(e["BytesInUse"]) + b, tag_text(int(e["Tag"])), kind,
                             int(e["Allocations"]) + a, int(e["Frees"]) + f))
        rows.sort(reverse=True)
        print(" Tag  Type        Allocs      Frees       Bytes")
        for used, tag, kind, allocs, frees in rows:
            print(" %-4s %-8s %9d  %9d  %10d" % (tag, kind, allocs, frees, used))


class PagodaPfn(gdb.Command):
    """One entry of the PFN database (like WinDbg's !pfn).

Usage: pagoda-pfn PFN

Shows the frame's list state (MMLISTS), what it is used for (MI_PFN_USAGE),
the PTE that maps it, its reference, share and lock counts, whether it is
modified, its working-set age and, for a page-table page, how many entries
it uses; then whether paging I/O holds it (a hard fault's read, the modified
page writer's write) and its OriginalPte, with the pagefile slot of its copy
when it has one (docs/paging.md)."""

    def __init__(self):
        super().__init__("pagoda-pfn", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        pfn = address_of(arg)
        e = gdb.parse_and_eval("MmPfnDatabase[%d]" % pfn)
        lists = ["Zeroed", "Free", "Standby", "Modified", "ModifiedNoWrite", "Bad",
                 "Active", "Transition"]
        loc = int(e["PageLocation"])
        usage = gdb.parse_and_eval("(MI_PFN_USAGE)%d" % int(e["Usage"]))
        print("PFN 0x%x (physical 0x%x): %s, %s, PteAddress %s, references %d, "
              "share %d, locks %d, modified %d, age %d, working set %s, "
              "page-table entries used %d, pageable %d"
              % (pfn, pfn << 12, lists[loc] if loc < len(lists) else loc, usage,
                 hex(int(e["PteAddress"])), int(e["ReferenceCount"]), int(e["ShareCount"]),
                 int(e["LockCount"]), int(e["Modified"]), int(e["WsAge"]),
                 hex(int(e["WorkingSet"])), int(e["UsedPageTableEntries"]),
                 int(e["Pageable"])))
        # Paging I/O (mm/pagefile.c) and where a copy of the page lives.
        original = int(e["OriginalPte"]["u"]["Long"])
        io = ("read in progress" if int(e["ReadInProgress"]) else
              "write in progress" if int(e["WriteInProgress"]) else "no paging I/O")
        slot = original >> 32 if (original & 1) == 0 and (original & 0xC00) == 0 else 0
        print("  %s; OriginalPte 0x%x%s" % (io, original,
                                             " (pagefile slot %d)" % slot if slot else ""))


class PagodaMdl(gdb.Command):
    """An MDL: its header, its flags and each frame with its reference count
(mm/mdl.c; like WinDbg's !mdl).

Usage: pagoda-mdl MDL-ADDRESS

A frame locked by the MDL has a reference count of 2 or more (1 for its
owner, 1 per lock); 1 after its page was decommitted while locked."""

    FLAGS = [(0x0001, "MAPPED_TO_SYSTEM_VA"), (0x0002, "PAGES_LOCKED"),
             (0x0004, "SOURCE_IS_NONPAGED_POOL"), (0x0008, "ALLOCATED_FIXED_SIZE"),
             (0x0080, "WRITE_OPERATION"), (0x0800, "IO_SPACE")]

    def __init__(self):
        super().__init__("pagoda-mdl", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        mdl = gdb.parse_and_eval("(MDL *)%d" % address_of(arg)).dereference()
        flags = int(mdl["MdlFlags"]) & 0xFFFF
        names = [n for bit, n in self.FLAGS if flags & bit] or ["0"]
        start = int(mdl["StartVa"].cast(gdb.lookup_type("unsigned long")))
        offset, count = int(mdl["ByteOffset"]), int(mdl["ByteCount"])
        print("MDL at 0x%x: %s, buffer 0x%x, 0x%x bytes (offset 0x%x), Process %s, "
              "MappedSystemVa %s" % (address_of(arg), "|".join(names), start + offset, count,
                                     offset, hex(int(mdl["Process"])),
                                     hex(int(mdl["MappedSystemVa"]))))
        if not flags & 0x0006:
            return  # neither locked nor built: the PFN array is not filled
        pages = (offset + count + 0xFFF) >> 12
        pfns = (mdl.address + 1).cast(gdb.lookup_type("unsigned long").pointer())
        for i in range(pages):
            pfn = int(pfns[i])
            refs = int(gdb.parse_and_eval("MmPfnDatabase[%d].ReferenceCount" % pfn))
            print("  page %d  VA 0x%x  PFN 0x%x  references %d"
                  % (i, start + i * 4096, pfn, refs))


class PagodaVad(gdb.Command):
    """The VADs of the current address space (like WinDbg's !vad).

Usage: pagoda-vad [MMADDRESS_SPACE-EXPRESSION]

In-order walk of the AVL tree (mm/vadtree.c): start and end address,
committed pages, the protection given at reservation, flags."""

    def __init__(self):
        super().__init__("pagoda-vad", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        space = gdb.parse_and_eval(arg if arg.strip() else "MmCurrentAddressSpace")
        if space.type.strip_typedefs().code != gdb.TYPE_CODE_PTR:
            space = space.address
        node = space["VadRoot"]["Root"]

        def walk(n):
            if not int(n):
                return
            walk(n["LeftChild"])
            vad = containing(n, "MMVAD", "Node")
            print("  %016x-%016x  committed %5d  protect 0x%03x  flags 0x%x"
                  % (int(n["StartingVpn"]) << 12, ((int(n["EndingVpn"]) + 1) << 12) - 1,
                     int(vad["CommittedPages"]), int(vad["AllocationProtect"]),
                     int(vad["Flags"])))
            walk(n["RightChild"])

        print("VADs of address space %s (CR3 0x%x):"
              % (hex(int(space)), int(space["DirectoryTableBase"])))
        walk(node)


class PagodaIrq(gdb.Command):
    """The interrupt objects on each vector (like WinDbg's !idt, with counts).

Usage: pagoda-irq

Walks KiInterruptChains (kernel/interrupt.c): for each vector with
connected KINTERRUPTs, each object in chain order with its IRQL,
SynchronizeIrql, mode, sharing, how often its ISR was called and claimed
the interrupt, and the ISR's symbol; then the vectors with interrupts
nobody claimed (KiUnclaimedInterrupts)."""

    def __init__(self):
        super().__init__("pagoda-irq", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        chains = gdb.parse_and_eval("KiInterruptChains")
        unclaimed = gdb.parse_and_eval("KiUnclaimedInterrupts")
        print("Vector  KINTERRUPT          IRQL Sync Mode  Share  Calls      Claimed    ISR")
        for vector in range(256):
            head = chains[vector]
            entry = head["Flink"]
            while int(entry) != int(head.address):
                obj = containing(int(entry), "KINTERRUPT", "InterruptListEntry")
                routine = int(obj["ServiceRoutine"])
                sym = gdb.execute("info symbol %#x" % routine, to_string=True).split(" in ")[0]
                print("  0x%02x  %#018x  %4d %4d %-5s %-5s  %-10d %-10d %s"
                      % (vector, int(obj), int(obj["Irql"]), int(obj["SynchronizeIrql"]),
                         "edge" if int(obj["Mode"]) == 1 else "level",
                         "yes" if int(obj["ShareVector"]) else "no",
                         int(obj["InterruptCount"]), int(obj["ServiceCount"]), sym.strip()))
                entry = entry["Flink"]
        for vector in range(256):
            if int(unclaimed[vector]):
                print("  0x%02x  unclaimed interrupts: %d" % (vector, int(unclaimed[vector])))


PagodaPs()
PagodaPoolUsed()
PagodaPfn()
PagodaMdl()
PagodaVad()
PagodaIrq()


# ---------------------------------------------------------------------------
# Backtraces through the trap and system-call entries.
#
# KiSystemCall64 (kernel/x64/syscall.asm) and the trap stubs
# (kernel/x64/trap.asm) carry call-frame information that marks them as the
# outermost frame (kernel/x64/cfi.inc): the code they interrupted is not a
# caller with a return address, but the KTRAP_FRAME they built on the stack.
# This frame filter adds that frame to the entry's line of `bt`: its
# address, the vector, and where the interrupted code was - user mode (RIP
# and RSP of the user program) or kernel mode (RIP, as a symbol, and RSP).
# `bt -no-filters` shows the plain line.
# ---------------------------------------------------------------------------

from gdb.FrameDecorator import FrameDecorator  # noqa: E402

TRAP_ENTRIES = ("KiSystemCall64", "KiTrapCommon")
KI_SYSCALL_VECTOR = 0x100  # kernel/ki.h


def trap_frame_of(frame):
    """The KTRAP_FRAME * an entry frame called C with, or None: at the
    call in KiSystemCall64 or KiTrapCommon, RSP points at the frame."""
    if frame.name() not in TRAP_ENTRIES or frame.newer() is None:
        return None
    rsp = int(frame.read_register("rsp"))
    return gdb.Value(rsp).cast(gdb.lookup_type("KTRAP_FRAME").pointer())


def describe_trap_frame(tf):
    vector = int(tf["Vector"])
    rip, rsp = int(tf["Rip"]), int(tf["Rsp"])
    what = "system call" if vector == KI_SYSCALL_VECTOR else "vector %d" % vector
    if int(tf["SegCs"]) & 3:
        return "trap frame %#x, %s from user mode: RIP %#x RSP %#x" % (
            int(tf), what, rip, rsp)
    where = gdb.execute("info symbol %#x" % rip, to_string=True).split(" in section")[0]
    where = where.replace(" + ", "+").strip()
    return "trap frame %#x, %s in kernel mode: RIP %#x (%s) RSP %#x" % (
        int(tf), what, rip, where, rsp)


class TrapFrameDecorator(FrameDecorator):
    def __init__(self, fobj, text):
        super().__init__(fobj)
        self.text = text

    def function(self):
        return "%s [%s]" % (self.inferior_frame().name(), self.text)


class TrapFrameFilter:
    """Name the KTRAP_FRAME on the line of a trap or system-call entry."""

    def __init__(self):
        self.name = "pagoda-trap-frames"
        self.priority = 100
        self.enabled = True
        gdb.frame_filters[self.name] = self

    def filter(self, frames):
        for fobj in frames:
            try:
                tf = trap_frame_of(fobj.inferior_frame())
                if tf is not None:
                    fobj = TrapFrameDecorator(fobj, describe_trap_frame(tf))
            except gdb.error:
                pass
            yield fobj


TrapFrameFilter()

# The I/O manager's commands; they use the helpers above (one namespace).
# This file's own directory comes from the code object: __file__ is the
# outermost script's when one script sources another (tools/gdb/test_*.py).
import os  # noqa: E402
import sys  # noqa: E402
gdb.execute("source %s" % os.path.join(
    os.path.dirname(os.path.abspath(sys._getframe().f_code.co_filename)), "pagoda_io.py"))
