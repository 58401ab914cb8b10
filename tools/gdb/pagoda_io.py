# tools/gdb/pagoda_io.py - gdb commands for the I/O manager (io/, docs/io.md),
# in the spirit of WinDbg's !irp, !devobj, !drvobj, !devstack and !thread.
#
# Sourced by tools/gdb/pagoda.py, whose helpers (address_of, containing,
# list_entries, THREAD_STATES) it uses: gdb runs every sourced script in
# one namespace. Commands:
#
#     pagoda-irp IRP            an IRP: its flags, status, buffers, thread and
#                               every stack location (the current one marked)
#     pagoda-devobj DEVICE      a device object: name, driver, flags, stack
#                               size, the devices attached above and below
#     pagoda-drvobj DRIVER      a driver object: its devices and its
#                               MajorFunction table, with symbol names
#     pagoda-devstack DEVICE    the device stack DEVICE is in, top to bottom
#     pagoda-thread [THREAD]    a thread: state, what it waits for, its stack,
#                               and its pending IRPs (ETHREAD.IrpList, when the
#                               kernel has it)
#
# DEVICE and DRIVER are a gdb expression (a pointer, `Irp->...`, `$rdi`) or
# an object name that starts with a backslash: \Device\Null, \Driver\Null,
# \??\NUL (symbolic links are followed). The name is looked up by walking
# the object directories from ObpRootDirectoryObject (ob/obdir.c), as
# ObReferenceObjectByName would, without taking its lock: gdb has stopped
# the processor, nothing moves.
#
# Names of constants (IRP_MJ_*, DO_*, IRP_*, SL_*, STATUS_*) come from the
# headers themselves (io/io.h, include/ntstatus.h): a new code added there
# is printed by name with no change here.

import os
import re
import sys

import gdb

# This file's directory (not __file__: that is the outermost sourced script's).
_HERE = os.path.dirname(os.path.abspath(sys._getframe().f_code.co_filename))
_ROOT = os.path.dirname(os.path.dirname(_HERE))
_DEFINES = {}

IO_TYPE_DEVICE, IO_TYPE_DRIVER, IO_TYPE_IRP = 3, 4, 6


def header_defines(path):
    """{name: value} of the `#define NAME <integer>` lines of PATH (from the
    top of the tree), casts like ((NTSTATUS)0x103L) included."""
    if path not in _DEFINES:
        found = {}
        rx = re.compile(r"#define\s+(\w+)\s+\(*(?:\(\w+\))?\s*(0x[0-9A-Fa-f]+|\d+)[uUlL]*\)*"
                        r"\s*(?:/\*.*)?$")
        with open(os.path.join(_ROOT, path)) as f:
            for line in f:
                m = rx.match(line.strip())
                if m:
                    found[m.group(1)] = int(m.group(2), 0)
        _DEFINES[path] = found
    return _DEFINES[path]


def names_with(path, prefix, exclude=()):
    """[(value, name)] of PATH's defines that start with PREFIX, in file order."""
    return [(v, n) for n, v in header_defines(path).items()
            if n.startswith(prefix) and not any(n.startswith(x) for x in exclude)]


def flag_names(value, table):
    names = [n for bit, n in table if bit and value & bit == bit]
    return "|".join(names) if names else "0"


def status_name(status):
    status &= 0xFFFFFFFF
    for name, value in header_defines("include/ntstatus.h").items():
        if value == status:
            return "%s (0x%x)" % (name, status)
    return "0x%x" % status


def major_name(major):
    for value, name in names_with("io/io.h", "IRP_MJ_", ("IRP_MJ_MAXIMUM",)):
        if value == major:
            return name
    return "IRP_MJ_0x%x" % major


def do_flags():
    return names_with("io/io.h", "DO_")


def irp_flags():
    return names_with("io/io.h", "IRP_", ("IRP_MJ_", "IRP_ALLOCATED", "IRP_LOOKASIDE"))


def sl_flags():
    return names_with("io/io.h", "SL_")


def u64(value):
    return int(value.cast(gdb.lookup_type("unsigned long")))


def symbol(address):
    """FUNCTION or FUNCTION+0xOFF for a code address, hex if unknown."""
    if not address:
        return "NULL"
    try:
        out = gdb.execute("info symbol %#x" % address, to_string=True)
    except gdb.error:
        out = ""
    if out.startswith("No symbol"):
        return "%#x" % address
    return out.split(" in section")[0].replace(" + ", "+").strip()


def read_unicode(ustr):
    """The text of a UNICODE_STRING value."""
    length = int(ustr["Length"])
    if not length or not u64(ustr["Buffer"]):
        return ""
    data = gdb.selected_inferior().read_memory(u64(ustr["Buffer"]), length).tobytes()
    return data.decode("utf-16-le", errors="replace")


# ---------------------------------------------------------------------------
# Object names: OBJECT_HEADER.NameInfo, up the chain of directories.
# ---------------------------------------------------------------------------

def object_header(body):
    """The OBJECT_HEADER * in front of an object's body (ob/ob.h)."""
    return containing(body, "OBJECT_HEADER", "Body")


def object_type_name(body):
    t = object_header(body)["Type"]
    return t["Name"].string() if u64(t) else "?"


def object_name(body):
    """Full name ("\\Device\\Null") of an object, "" when it has none."""
    parts = []
    root = u64(gdb.parse_and_eval("ObpRootDirectoryObject"))
    addr = int(body)
    for _ in range(32):
        if addr == root:
            return "\\" + "\\".join(reversed(parts))
        info = object_header(addr)["NameInfo"]
        if not u64(info):
            break
        parts.append(read_unicode(info["Name"]))
        addr = u64(info["Directory"])
    return ""  # unnamed, or a name in a directory no longer linked


def directory_entries(directory):
    """(name, body address) of every entry of an OBJECT_DIRECTORY."""
    d = gdb.Value(directory).cast(ktype("OBJECT_DIRECTORY").pointer())
    buckets = d["HashBuckets"]
    lo, hi = buckets.type.range()
    for i in range(lo, hi + 1):
        info = buckets[i]
        while u64(info):
            yield read_unicode(info["Name"]), u64(info["Object"])
            info = info["ChainLink"]


def lookup_name(path, depth=0):
    """The body address of the object named PATH, following links."""
    if depth > 8:
        raise gdb.GdbError("%s: too many symbolic links" % path)
    addr = u64(gdb.parse_and_eval("ObpRootDirectoryObject"))
    parts = [p for p in path.split("\\") if p]
    for i, part in enumerate(parts):
        if object_type_name(addr) != "Directory":
            raise gdb.GdbError("%s: %s is a %s, not a directory"
                               % (path, object_name(addr), object_type_name(addr)))
        match = [a for n, a in directory_entries(addr) if n.lower() == part.lower()]
        if not match:
            raise gdb.GdbError("%s: no %s in %s" % (path, part, object_name(addr) or "\\"))
        addr = match[0]
        if object_type_name(addr) == "SymbolicLink":
            link = gdb.Value(addr).cast(ktype("OBJECT_SYMBOLIC_LINK").pointer())
            rest = "\\".join(parts[i + 1:])
            target = read_unicode(link["LinkTarget"])
            return lookup_name(target + ("\\" + rest if rest else ""), depth + 1)
    return addr


def object_argument(arg, type_name, io_type, what):
    """ARG as a TYPE_NAME * (a name that starts with a backslash, or a gdb
    expression), checked to be one by its Type field (IO_TYPE_*)."""
    arg = arg.strip()
    if not arg:
        raise gdb.GdbError("usage: give a %s: an address, an expression or a name "
                           "such as \\Device\\Null" % what)
    addr = lookup_name(arg) if arg.startswith("\\") else address_of(arg)
    obj = gdb.Value(addr).cast(ktype(type_name).pointer())
    if int(obj["Type"]) != io_type:
        raise gdb.GdbError("0x%x is not a %s (its Type is %d, not %d)"
                           % (addr, what, int(obj["Type"]), io_type))
    return obj


def name_or_unnamed(body):
    return object_name(body) or "(unnamed)"


def device_line(dev):
    """"\\Device\\Null (0x...) of \\Driver\\Null"."""
    if not u64(dev):
        return "NULL"
    return "%s (%#x) of %s" % (name_or_unnamed(dev), u64(dev),
                               name_or_unnamed(dev["DriverObject"]))


def thread_line(thread):
    """"0x... (TID 8, System)" for an ETHREAD *."""
    if not u64(thread):
        return "NULL"
    process = u64(thread["Tcb"]["Process"])
    name = "?"
    if process:
        p = gdb.Value(process).cast(ktype("EPROCESS").pointer())
        name = p["ImageFileName"].string()
    return "%#x (TID %d, %s)" % (u64(thread), int(thread["Cid"]["UniqueThread"]), name)


# ---------------------------------------------------------------------------
# pagoda-irp
# ---------------------------------------------------------------------------

def stack_parameters(loc):
    major = int(loc["MajorFunction"])
    p = loc["Parameters"]
    if major in (3, 4):  # IRP_MJ_READ, IRP_MJ_WRITE: the same layout
        rw = p["Read"]
        return "Length %#x  Key %#x  ByteOffset %#x" % (
            int(rw["Length"]), int(rw["Key"]), int(rw["ByteOffset"]["QuadPart"]))
    if major in (0x0E, 0x0F):  # IRP_MJ_(INTERNAL_)DEVICE_CONTROL
        c = p["DeviceIoControl"]
        code = int(c["IoControlCode"])
        methods = ["METHOD_BUFFERED", "METHOD_IN_DIRECT", "METHOD_OUT_DIRECT",
                   "METHOD_NEITHER"]
        return ("IoControlCode %#x (device %#x, function %#x, %s)  InputBufferLength %#x  "
                "OutputBufferLength %#x  Type3InputBuffer %#x"
                % (code, code >> 16, (code >> 2) & 0xFFF, methods[code & 3],
                   int(c["InputBufferLength"]), int(c["OutputBufferLength"]),
                   u64(c["Type3InputBuffer"])))
    o = p["Others"]
    return "Arguments %#x %#x %#x %#x" % tuple(u64(o["Argument%d" % i]) for i in range(1, 5))


def print_stack_location(index, loc, current):
    used = u64(loc["DeviceObject"]) or u64(loc["CompletionRoutine"]) \
        or int(loc["MajorFunction"])
    mark = ">" if current else " "
    if not used:
        print("  %s [%d] (not used)" % (mark, index))
        return
    print("  %s [%d] %s (%#x)  minor %#x  control %s  to %s"
          % (mark, index, major_name(int(loc["MajorFunction"])), int(loc["MajorFunction"]),
             int(loc["MinorFunction"]), flag_names(int(loc["Control"]), sl_flags()),
             device_line(loc["DeviceObject"])))
    print("          %s" % stack_parameters(loc))
    if u64(loc["FileObject"]):
        print("          FileObject %#x" % u64(loc["FileObject"]))
    routine = u64(loc["CompletionRoutine"])
    if routine:
        print("          completion routine %s, context %#x"
              % (symbol(routine), u64(loc["Context"])))


class PagodaIrp(gdb.Command):
    """An IRP and its stack locations (io/io.h; like WinDbg's !irp).

Usage: pagoda-irp IRP-EXPRESSION

Prints the IRP's flags, its IoStatus (the NTSTATUS by name), the buffers
(MdlAddress: see pagoda-mdl; AssociatedIrp.SystemBuffer; UserBuffer), the
requesting thread, the cancel state, then each stack location from [1]
(the lowest driver's) to [StackCount] (the top driver's): major function,
control flags, the device it was sent to with its driver, its parameters
and the completion routine the driver above set. '>' marks the current
location (CurrentLocation); before the first IoCallDriver none is."""

    def __init__(self):
        super().__init__("pagoda-irp", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        if not arg.strip():
            raise gdb.GdbError("usage: pagoda-irp IRP-EXPRESSION")
        addr = address_of(arg)
        irp = gdb.Value(addr).cast(ktype("IRP").pointer())
        if int(irp["Type"]) != IO_TYPE_IRP:
            raise gdb.GdbError("0x%x is not an IRP (its Type is %d, not %d)"
                               % (addr, int(irp["Type"]), IO_TYPE_IRP))
        count, current = int(irp["StackCount"]), int(irp["CurrentLocation"])
        overlay = irp["Tail"]["Overlay"]
        where = ("location %d is current" % current if 1 <= current <= count
                 else "not sent yet (CurrentLocation %d)" % current)
        print("IRP %#x: %d stack location(s), %s, Flags %s, %s"
              % (addr, count, where, flag_names(int(irp["Flags"]), irp_flags()),
                 "KernelMode" if int(irp["RequestorMode"]) == 0 else "UserMode"))
        print("  IoStatus: Status %s, Information %#x"
              % (status_name(int(irp["IoStatus"]["Status"])),
                 int(irp["IoStatus"]["Information"])))
        print("  MdlAddress %#x  SystemBuffer %#x  UserBuffer %#x"
              % (u64(irp["MdlAddress"]), u64(irp["AssociatedIrp"]["SystemBuffer"]),
                 u64(irp["UserBuffer"])))
        thread = thread_line(overlay["Thread"])
        print("  Thread %s  UserIosb %#x  UserEvent %#x"
              % (thread if thread != "NULL" else "NULL (a driver's own IRP)",
                 u64(irp["UserIosb"]), u64(irp["UserEvent"])))
        print("  PendingReturned %d  Cancel %d  CancelRoutine %s"
              % (int(irp["PendingReturned"]), int(irp["Cancel"]),
                 symbol(u64(irp["CancelRoutine"]))))
        base = (irp + 1).cast(ktype("IO_STACK_LOCATION").pointer())
        for i in range(count):
            print_stack_location(i + 1, base[i], i + 1 == current)


# ---------------------------------------------------------------------------
# pagoda-devobj, pagoda-drvobj, pagoda-devstack
# ---------------------------------------------------------------------------

def attached_to(dev):
    ext = dev["DeviceObjectExtension"]
    return ext["AttachedTo"] if u64(ext) else gdb.Value(0).cast(dev.type)


class PagodaDevobj(gdb.Command):
    """A device object (io/io.h; like WinDbg's !devobj).

Usage: pagoda-devobj DEVICE        (an expression, or a name: \\Device\\Null)

Its name, driver, type, Flags (DO_*), StackSize (the stack locations an IRP
sent to it needs), reference count, extension, the device attached above
it (AttachedDevice) and the one below (DeviceObjectExtension->AttachedTo),
and the driver's next device (NextDevice)."""

    def __init__(self):
        super().__init__("pagoda-devobj", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        dev = object_argument(arg, "DEVICE_OBJECT", IO_TYPE_DEVICE, "device object")
        print("Device object %#x %s, driver %s (%#x)"
              % (u64(dev), name_or_unnamed(dev), name_or_unnamed(dev["DriverObject"]),
                 u64(dev["DriverObject"])))
        print("  DeviceType %#x  Flags %s  Characteristics %#x  StackSize %d  ReferenceCount %d"
              % (int(dev["DeviceType"]), flag_names(int(dev["Flags"]), do_flags()),
                 int(dev["Characteristics"]), int(dev["StackSize"]),
                 int(dev["ReferenceCount"])))
        print("  DeviceExtension %#x  CurrentIrp %#x  NextDevice %#x"
              % (u64(dev["DeviceExtension"]), u64(dev["CurrentIrp"]), u64(dev["NextDevice"])))
        print("  AttachedDevice (above) %s" % device_line(dev["AttachedDevice"]))
        print("  AttachedTo (below)     %s" % device_line(attached_to(dev)))


class PagodaDrvobj(gdb.Command):
    """A driver object (io/io.h; like WinDbg's !drvobj DRIVER 7).

Usage: pagoda-drvobj DRIVER        (an expression, or a name: \\Driver\\Null)

Its name, DriverEntry, DriverUnload, DriverStartIo, its device objects
(the DeviceObject/NextDevice list, newest first), then the MajorFunction
table: for each IRP_MJ_* code, the dispatch routine by symbol name."""

    def __init__(self):
        super().__init__("pagoda-drvobj", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        drv = object_argument(arg, "DRIVER_OBJECT", IO_TYPE_DRIVER, "driver object")
        print("Driver object %#x %s" % (u64(drv), name_or_unnamed(drv)))
        print("  DriverInit %s  DriverUnload %s  DriverStartIo %s"
              % (symbol(u64(drv["DriverInit"])), symbol(u64(drv["DriverUnload"])),
                 symbol(u64(drv["DriverStartIo"]))))
        dev, n = drv["DeviceObject"], 0
        print("  Devices:%s" % ("" if u64(dev) else " none"))
        while u64(dev) and n < 1024:
            print("    %#x %s" % (u64(dev), name_or_unnamed(dev)))
            dev, n = dev["NextDevice"], n + 1
        print("  MajorFunction:")
        table = drv["MajorFunction"]
        lo, hi = table.type.range()
        for i in range(lo, hi + 1):
            routine = u64(table[i])
            print("    [%02x] %-32s %#x %s" % (i, major_name(i), routine, symbol(routine)))


class PagodaDevstack(gdb.Command):
    """The device stack a device is in, top to bottom (like WinDbg's !devstack).

Usage: pagoda-devstack DEVICE      (an expression, or a name: \\Device\\Null)

Goes up AttachedDevice to the top of the stack (where IoGetAttachedDevice
sends IRPs), then down AttachedTo to the bottom: one line per device with
its driver, StackSize and name. '>' marks DEVICE."""

    def __init__(self):
        super().__init__("pagoda-devstack", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        dev = object_argument(arg, "DEVICE_OBJECT", IO_TYPE_DEVICE, "device object")
        top, n = dev, 0
        while u64(top["AttachedDevice"]) and n < 64:
            top, n = top["AttachedDevice"], n + 1
        print("  %-18s %-20s %-5s %s" % ("DeviceObject", "Driver", "Stack", "Name"))
        d, n = top, 0
        while u64(d) and n < 64:
            print("%s %#-18x %-20s %-5d %s"
                  % (">" if u64(d) == u64(dev) else " ", u64(d),
                     name_or_unnamed(d["DriverObject"]), int(d["StackSize"]),
                     name_or_unnamed(d)))
            d, n = attached_to(d), n + 1


# ---------------------------------------------------------------------------
# pagoda-thread
# ---------------------------------------------------------------------------

def has_field(type_name, field):
    return any(f.name == field for f in ktype(type_name).strip_typedefs().fields())


def wait_objects(tcb):
    """(address, description) of each object a waiting thread waits for."""
    first = tcb["WaitBlockList"]
    block, n = first, 0
    while u64(block) and n < 64:
        obj = u64(block["Object"])
        header = gdb.Value(obj).cast(ktype("DISPATCHER_HEADER").pointer())
        kind = str(gdb.Value(int(header["Type"])).cast(ktype("KOBJECTS")))
        yield obj, "%s, SignalState %d" % (kind, int(header["SignalState"]))
        block, n = block["NextWaitBlock"], n + 1
        if u64(block) == u64(first):
            break


def print_pending_irps(thread):
    """The IRPs on ETHREAD.IrpList (linked by IRP.ThreadListEntry), when the
    kernel keeps that list; says so when it does not."""
    if not has_field("ETHREAD", "IrpList") or not has_field("IRP", "ThreadListEntry"):
        print("  Pending IRPs: not known (this kernel's ETHREAD has no IrpList)")
        return
    if not u64(thread["IrpList"]["Flink"]):
        print("  Pending IRPs: IrpList not initialized (Flink NULL)")
        return
    irps = list(list_entries(thread["IrpList"], "IRP", "ThreadListEntry"))
    print("  Pending IRPs (IrpList): %s" % (len(irps) if irps else "none"))
    for irp in irps:
        count, current = int(irp["StackCount"]), int(irp["CurrentLocation"])
        if 1 <= current <= count:
            loc = irp["Tail"]["Overlay"]["CurrentStackLocation"]
            what = "%s to %s" % (major_name(int(loc["MajorFunction"])),
                                 device_line(loc["DeviceObject"]))
        else:
            what = "not sent"
        print("    IRP %#x  %s  Status %s" % (u64(irp), what,
                                             status_name(int(irp["IoStatus"]["Status"]))))


class PagodaThread(gdb.Command):
    """A thread (ps/ps.h, kernel/ke.h; like WinDbg's !thread).

Usage: pagoda-thread [ETHREAD-EXPRESSION]     (default: the current thread)

Its TID and process, state, priority, what a waiting thread waits for
(reason, mode, each wait block's object), its kernel stack, its start
routine, and the IRPs it has pending: the requests it sent that are not
complete yet (ETHREAD.IrpList, each linked by IRP.ThreadListEntry, as in
NT). A kernel without that list prints that it does not know them."""

    def __init__(self):
        super().__init__("pagoda-thread", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        current = u64(gdb.parse_and_eval("KiPcr.CurrentThread"))
        addr = address_of(arg) if arg.strip() else current
        t = gdb.Value(addr).cast(ktype("ETHREAD").pointer())
        tcb = t["Tcb"]
        if int(tcb["Header"]["Type"]) != int(gdb.parse_and_eval("ThreadObject")):
            raise gdb.GdbError("%#x is not a thread (its dispatcher type is %d)"
                               % (addr, int(tcb["Header"]["Type"])))
        state = int(tcb["State"])
        state_text = THREAD_STATES[state] if state < len(THREAD_STATES) else str(state)
        process = gdb.Value(u64(tcb["Process"])).cast(ktype("EPROCESS").pointer())
        print("THREAD %#x  TID %d  of PROCESS %#x  PID %d  %s%s"
              % (addr, int(t["Cid"]["UniqueThread"]), u64(process),
                 int(process["UniqueProcessId"]), process["ImageFileName"].string(),
                 "  (the current thread)" if addr == current else ""))
        print("  %s  priority %d (base %d)  context switches %d  %s thread"
              % (state_text, int(tcb["Priority"]), int(tcb["BasePriority"]),
                 int(tcb["ContextSwitches"]), "user" if int(t["UserThread"]) else "system"))
        if state_text == "Waiting":
            reason = gdb.Value(int(tcb["WaitReason"])).cast(ktype("KWAIT_REASON"))
            print("  Waiting since tick %d: %s, %s, %salertable"
                  % (int(tcb["WaitTick"]), reason,
                     "KernelMode" if int(tcb["WaitMode"]) == 0 else "UserMode",
                     "" if int(tcb["Alertable"]) else "not "))
            for obj, what in wait_objects(tcb):
                sym = symbol(obj)
                print("    on %#x%s (%s)" % (obj, "" if sym.startswith("0x") else " " + sym,
                                            what))
        print("  Kernel stack: base %#x  limit %#x  saved RSP %#x"
              % (u64(tcb["StackBase"]), u64(tcb["StackLimit"]), u64(tcb["KernelStack"])))
        start = u64(t["StartRoutine"]) or u64(tcb["SystemRoutine"])
        if start:
            print("  Start %s(%#x)" % (symbol(start), u64(t["StartContext"])))
        else:
            print("  Start: none (the boot thread: it ran before it had a thread object)")
        print_pending_irps(t)


PagodaIrp()
PagodaDevobj()
PagodaDrvobj()
PagodaDevstack()
PagodaThread()
