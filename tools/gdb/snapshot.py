# tools/gdb/snapshot.py - gdb side of tools/pictures.py: attach to a running
# Pagoda, write what the pictures need as JSON, detach (the guest goes on).
#
#     PAGODA_GDB_PORT=1234 PAGODA_SNAPSHOT=out.json PAGODA_DEMO_VA=0x7F793950000 \
#         gdb -nx -batch -x tools/gdb/snapshot.py build/kernel.elf
#
# What it records:
#   processes  PID, name and CR3 of every process (PsActiveProcessHead), and
#              for each the 512 entries of its PML4 and the translation of
#              three pages at PAGODA_DEMO_VA (entry at every level, frame,
#              the first byte of the page)
#   frames     for every run of RAM (MmPhysicalMemoryBlock), the list and
#              usage of each frame from the PFN database
# Page tables and page contents are read by physical address through QEMU's
# monitor (`monitor xp`), so another process's tables can be read while any
# CR3 is loaded; the PFN database is system space, mapped in every process.

import json
import os
import re

import gdb

ADDR_MASK = 0x000FFFFFFFFFF000
PAGES = 3


def xp(pa, count):
    """COUNT quadwords of guest physical memory at PA."""
    out = gdb.execute("monitor xp /%dgx 0x%x" % (count, pa), to_string=True)
    values = []
    for line in out.splitlines():
        if ":" not in line:
            continue
        values += [int(v, 16) for v in re.findall(r"0x([0-9a-fA-F]+)", line.split(":", 1)[1])]
    if len(values) != count:
        raise gdb.GdbError("monitor xp at 0x%x gave %d values, wanted %d" % (pa, len(values), count))
    return values


def walk(cr3, va):
    """The four entries translating VA under CR3 (fewer when one is not
    present or maps a large page), and the frame (or None)."""
    va48 = va & ((1 << 48) - 1)
    table = cr3 & ADDR_MASK
    entries = []
    for level, shift in enumerate((39, 30, 21, 12)):
        entry = xp(table + ((va48 >> shift) & 0x1FF) * 8, 1)[0]
        entries.append(entry)
        if not entry & 1:
            return entries, None
        if level in (1, 2) and entry & (1 << 7):
            return entries, None  # a large page: not what the demo maps
        table = entry & ADDR_MASK
    return entries, table >> 12


def lookup(type_name):
    """A type by its typedef name, else by its struct or enum tag (_NAME)."""
    for name in (type_name, "struct _" + type_name, "enum _" + type_name):
        try:
            return gdb.lookup_type(name)
        except gdb.error:
            continue
    raise gdb.GdbError("no type %s in the kernel's debug information" % type_name)


def offset_of(type_name, field):
    t = lookup(type_name).strip_typedefs()
    off = 0
    for name in field.split("."):
        f = [x for x in t.fields() if x.name == name][0]
        off += f.bitpos // 8
        t = f.type.strip_typedefs()
    return off


def processes(demo_va):
    head = gdb.parse_and_eval("PsActiveProcessHead")
    link_off = offset_of("EPROCESS", "ActiveProcessLinks")
    ptr = lookup("EPROCESS").pointer()
    result = []
    entry = head["Flink"]
    while int(entry) != int(head.address) and len(result) < 1024:
        p = gdb.Value(int(entry) - link_off).cast(ptr)
        cr3 = int(p["Pcb"]["DirectoryTableBase"])
        info = {"pid": int(p["UniqueProcessId"]), "name": p["ImageFileName"].string(),
                "cr3": cr3, "pml4": xp(cr3 & ADDR_MASK, 512), "pages": []}
        for i in range(PAGES):
            va = demo_va + i * 4096
            entries, pfn = walk(cr3, va)
            first = xp(pfn << 12, 1)[0] & 0xFF if pfn is not None else None
            info["pages"].append({"va": va, "entries": entries, "pfn": pfn, "byte": first})
        result.append(info)
        entry = entry["Flink"]
    return result


def frames():
    block = gdb.parse_and_eval("MmPhysicalMemoryBlock")
    base = int(gdb.parse_and_eval("(unsigned long)MmPfnDatabase"))
    size = lookup("MMPFN").sizeof
    loc_off = offset_of("MMPFN", "PageLocation")
    use_off = offset_of("MMPFN", "Usage")
    inferior = gdb.selected_inferior()
    runs = []
    for r in range(int(block["NumberOfRuns"])):
        first = int(block["Run"][r]["BasePage"])
        count = int(block["Run"][r]["PageCount"])
        raw = bytes(inferior.read_memory(base + first * size, count * size))
        runs.append({"base": first, "location": [raw[i * size + loc_off] for i in range(count)],
                     "usage": [raw[i * size + use_off] for i in range(count)]})
    return runs


def enum_names(type_name):
    t = lookup(type_name).strip_typedefs()
    return {int(f.enumval): f.name for f in t.fields()}


def main():
    gdb.execute("set architecture i386:x86-64", to_string=True)
    gdb.execute("set pagination off")
    gdb.execute("target remote 127.0.0.1:%s" % os.environ["PAGODA_GDB_PORT"], to_string=True)
    demo_va = int(os.environ.get("PAGODA_DEMO_VA", "0x7F793950000"), 0)
    snap = {"processes": processes(demo_va), "frames": frames(),
            "usage_names": enum_names("MI_PFN_USAGE"), "list_names": enum_names("MMLISTS"),
            "demo_va": demo_va}
    with open(os.environ["PAGODA_SNAPSHOT"], "w") as f:
        json.dump(snap, f)
    gdb.execute("detach", to_string=True)


try:
    main()
except Exception as e:  # batch gdb: say what failed, exit non-zero
    print("snapshot: %s: %s" % (type(e).__name__, e))
    gdb.execute("quit 1")
