# tools/gdb/pagoda.py - gdb commands for looking inside a running Pagoda.
#
# Loaded by tools/gdb/gdbinit (`make gdb`), or by hand:
#     (gdb) source tools/gdb/pagoda.py
#
# Commands:
#     pagoda-pte VA [CR3]   walk the four page-table levels that translate VA
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
