# tools/gdb/test_io.py - the I/O half of the gdb step of `make test`
# (tests/run.py): each I/O manager command of tools/gdb/pagoda_io.py, and
# pagoda-mdl, run against real objects while in-kernel tests send IRPs.
#
#   PAGODA_GDB_PORT=PORT gdb -nx -batch -x tools/gdb/test_io.py build/kernel.elf
#
# QEMU must be waiting on PORT, booting with ktest= the four tests of
# tests/kernel/test_irp.c that tests/run.py names in GDB_IO_KTESTS. They run in
# whatever order KiRunTests picks; a breakpoint specific to each says
# which one gdb stopped in:
#
#   KtDispatch, for a KtDirect device  irp.direct_read_write_and_control's
#                              first request: a 16-byte read into a buffer
#                              that crosses a page boundary, MDL attached
#     io.irp-direct            pagoda-irp Irp: IRP_MJ_READ, Length 0x10, the
#                              one location current, sent to Device (unnamed)
#                              of \Driver\KtIrp, its MdlAddress
#     io.mdl                   pagoda-mdl Irp->MdlAddress: PAGES_LOCKED and
#                              WRITE_OPERATION, 0x10 bytes, two pages whose
#                              PFNs are the frames pagoda-pte finds for them
#     io.drvobj-test-driver    pagoda-drvobj: \Driver\KtIrp, every entry of
#                              MajorFunction is KtDispatch, DriverUnload KtUnload
#   KtLateCompletion           irp.pended_request_completed_from_a_dpc: a timer
#                              DPC about to complete the pended read
#     io.irp-pending           pagoda-irp: the current location has
#                              SL_PENDING_RETURNED, the requesting thread named
#     io.thread-waiting        pagoda-thread on that thread: Waiting, Executive,
#                              on the IRP's UserEvent; its pending IRPs list
#                              this IRP (when ETHREAD has IrpList) or says the
#                              kernel does not keep the list
#     io.thread-current        pagoda-thread with no argument: the current
#                              thread, Running, marked as such
#   IopNullWrite               irp.filter_above_null_counts_irps: the first
#                              write (7 bytes) reaching \Device\Null through
#                              the counting filter attached above it
#     io.irp-null              pagoda-irp Irp: IRP_MJ_WRITE, Length 0x7,
#                              location 2 of 2 current, sent to \Device\Null
#                              of \Driver\Null; location 1 not used (the
#                              filter skipped its own)
#     io.devobj                pagoda-devobj \Device\Null: its driver,
#                              StackSize 1, the filter above it; the filter's
#                              view: StackSize 2, \Device\Null below
#     io.devobj-link           pagoda-devobj \??\NUL: the same device
#     io.devobj-rejects        pagoda-devobj Irp: "is not a device object"
#     io.devstack              pagoda-devstack \Device\Null: the filter, then
#                              \Device\Null (marked), top to bottom
#     io.drvobj-null           pagoda-drvobj \Driver\Null: IopNullRead,
#                              IopNullWrite, IopInvalidDeviceRequest by name
#   IopNullRead, IoCompleteRequest
#     io.irp-status            the read completed by the null driver:
#                              pagoda-irp shows STATUS_END_OF_FILE (0xc0000011)
#   KtDispatch, for a KtComplete device
#                              irp.completion_routines_run_bottom_up: the
#                              lower device of a two-device stack gets the read
#     io.irp-routines          pagoda-irp Irp: location 1 (current, the lower
#                              device's) carries the upper driver's
#                              KtUpperCompletion with its context and the three
#                              SL_INVOKE_* flags; location 2 (the upper
#                              device's) the originator's KtOriginCompletion
#
# Prints "PASS gdb.io.NAME" or "FAIL gdb.io.NAME: why" for each; tests/run.py
# also fails the step on any gdb warning.

import os
import re
import sys

import gdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gdbtest  # noqa: E402
from gdbtest import Failed, run  # noqa: E402

SCENARIOS = {
    "direct": ["irp-direct", "mdl", "drvobj-test-driver"],
    "pending": ["irp-pending", "thread-waiting", "thread-current"],
    "null": ["irp-null", "devobj", "devobj-link", "devobj-rejects", "devstack",
             "drvobj-null", "irp-status"],
    "routines": ["irp-routines"],
}
CHECKS = ["connect", "reach-tests"] + [c for s in SCENARIOS.values() for c in s]
CHECKS_RUN = gdbtest.Checks('gdb.io.', CHECKS)
check = CHECKS_RUN.check


def value(expr):
    return int(gdb.parse_and_eval(expr).cast(gdb.lookup_type("unsigned long")))


def expect(out, *needles):
    """OUT matches every regular expression in NEEDLES."""
    missing = [n for n in needles if not re.search(n, out)]
    if missing:
        raise Failed("output lacks %s: %s" % (missing, out.strip().replace("\n", " | ")[:600]))
    return out


def wants(cmd, *needles):
    return lambda: expect(run(cmd), *needles)


def hexa(n):
    return re.escape("%#x" % n)


# -- irp.direct_read_write_and_control ---------------------------------------

def mdl_pfns_match_page_tables():
    out = expect(run("pagoda-mdl Irp->MdlAddress"), r"PAGES_LOCKED", r"WRITE_OPERATION",
                 r"0x10 bytes", r"page 0 ", r"page 1 ")
    pages = re.findall(r"page (\d+)\s+VA (0x[0-9a-f]+)\s+PFN (0x[0-9a-f]+)", out)
    if len(pages) != 2:
        raise Failed("expected 2 pages (the buffer crosses a page boundary): " + out)
    for index, va, pfn in pages:
        walk = run("pagoda-pte %s" % va)
        m = re.search(r"VA -> phys (0x[0-9a-f]+)", walk)
        if not m or int(m.group(1), 16) >> 12 != int(pfn, 16):
            raise Failed("page %s: PFN %s, the page tables say %s"
                         % (index, pfn, m.group(1) if m else walk.strip()))


def direct_checks():
    irp, dev = value("Irp"), value("Device")
    check("irp-direct", wants("pagoda-irp Irp", r"IRP %s: 1 stack location\(s\), location 1 "
                              r"is current" % hexa(irp), r"> \[1\] IRP_MJ_READ \(0x3\)",
                              r"to \(unnamed\) \(%s\) of \\Driver\\KtIrp" % hexa(dev),
                              r"Length 0x10 ", r"MdlAddress %s" % hexa(value("Irp->MdlAddress"))))
    check("mdl", mdl_pfns_match_page_tables)
    drv = run("pagoda-drvobj Device->DriverObject")

    def driver():
        expect(drv, r"Driver object %s \\Driver\\KtIrp" % hexa(value("Device->DriverObject")),
               r"DriverUnload KtUnload", r"%s \(unnamed\)" % hexa(dev))
        if drv.count("KtDispatch") != 0x1C:
            raise Failed("KtDispatch %d times, not 28: %s" % (drv.count("KtDispatch"), drv))
    check("drvobj-test-driver", driver)


# -- irp.pended_request_completed_from_a_dpc ---------------------------------

def pending_irps_listed(out, irp):
    """ETHREAD.IrpList (added with the I/O services) lists IRP; a kernel
    without it must say so."""
    fields = [f.name for f in ktype("ETHREAD").strip_typedefs().fields()]  # noqa: F821 (pagoda.py)
    if "IrpList" in fields:
        expect(out, r"Pending IRPs \(IrpList\): \d+", r"IRP %s  IRP_MJ_READ" % hexa(irp))
    else:
        expect(out, r"Pending IRPs: not known \(this kernel's ETHREAD has no IrpList\)")


def pending_checks():
    irp = value("((KT_DEV *)Context)->Pending")
    thread = value("((KT_DEV *)Context)->Pending->Tail.Overlay.Thread")
    event = value("((KT_DEV *)Context)->Pending->UserEvent")
    check("irp-pending", wants("pagoda-irp %#x" % irp, r"> \[1\] IRP_MJ_READ .*SL_PENDING_RETURNED",
                               r"Thread %s \(TID \d+, System\)" % hexa(thread)))

    def waiting():
        out = expect(run("pagoda-thread %#x" % thread), r"THREAD %s  TID \d+" % hexa(thread),
                     r"Waiting  priority", r"Executive, KernelMode",
                     r"on %s( \S+)? \(EventNotificationObject, SignalState 0\)" % hexa(event))
        if "(the current thread)" in out:
            raise Failed("the waiting thread is shown as the current one: " + out)
        pending_irps_listed(out, irp)
    check("thread-waiting", waiting)
    check("thread-current", wants("pagoda-thread", r"THREAD %s .*\(the current thread\)"
                                  % hexa(value("KiPcr.CurrentThread")), r"\n  Running  "))


# -- irp.filter_above_null_counts_irps ----------------------------------------

def null_checks():
    irp, null = value("Irp"), value("DeviceObject")
    filt = value("DeviceObject->AttachedDevice")
    check("irp-null", wants("pagoda-irp Irp", r"IRP %s: 2 stack location\(s\), location 2 is "
                            r"current" % hexa(irp), r"  \[1\] \(not used\)",
                            r"> \[2\] IRP_MJ_WRITE \(0x4\) .* to \\Device\\Null \(%s\) of "
                            r"\\Driver\\Null" % hexa(null), r"Length 0x7 "))

    def devobj():
        expect(run("pagoda-devobj \\Device\\Null"),
               r"Device object %s \\Device\\Null, driver \\Driver\\Null" % hexa(null),
               r"StackSize 1 ", r"AttachedDevice \(above\) \(unnamed\) \(%s\) of \\Driver\\KtIrp"
               % hexa(filt), r"AttachedTo \(below\)     NULL")
        expect(run("pagoda-devobj DeviceObject->AttachedDevice"), r"StackSize 2 ",
               r"AttachedTo \(below\)     \\Device\\Null \(%s\)" % hexa(null))
    check("devobj", devobj)
    check("devobj-link", wants("pagoda-devobj \\??\\NUL", r"Device object %s \\Device\\Null"
                               % hexa(null)))

    def rejects():
        try:
            run("pagoda-devobj Irp")
        except gdb.error as e:
            return expect(str(e), r"is not a device object")
        raise Failed("pagoda-devobj took an IRP for a device")
    check("devobj-rejects", rejects)

    def devstack():
        out = run("pagoda-devstack \\Device\\Null")
        rows = [l for l in out.split("\n")[1:] if l.strip()]
        if len(rows) != 2 or not rows[0].startswith("  %#x" % filt) \
                or not rows[1].startswith("> %#x" % null) or "\\Device\\Null" not in rows[1]:
            raise Failed("expected the filter %#x, then \\Device\\Null %#x marked: %s"
                         % (filt, null, out.replace("\n", " | ")))
    check("devstack", devstack)
    check("drvobj-null", wants("pagoda-drvobj \\Driver\\Null", r"\[03\] IRP_MJ_READ +0x[0-9a-f]+ "
                               r"IopNullRead\n", r"\[04\] IRP_MJ_WRITE +0x[0-9a-f]+ IopNullWrite\n",
                               r"\[0e\] IRP_MJ_DEVICE_CONTROL +0x[0-9a-f]+ IopInvalidDeviceRequest",
                               r"Devices:\n    %s \\Device\\Null" % hexa(null)))


def completion_status():
    """From IopNullRead to its IoCompleteRequest: the status it completes with."""
    run("tbreak IopNullRead")
    run("continue")
    if gdb.selected_frame().name() != "IopNullRead":
        raise Failed("stopped in %s, not IopNullRead" % gdb.selected_frame().name())
    irp = value("Irp")
    run("tbreak IoCompleteRequest")
    run("continue")
    if gdb.selected_frame().name() != "IoCompleteRequest" or value("Irp") != irp:
        raise Failed("stopped in %s, not IoCompleteRequest of IRP %#x"
                     % (gdb.selected_frame().name(), irp))
    expect(run("pagoda-irp Irp"), r"IRP %s:" % hexa(irp),
           r"IoStatus: Status STATUS_END_OF_FILE \(0xc0000011\), Information 0x0")


# -- irp.completion_routines_run_bottom_up -------------------------------------

def routines_checks():
    irp, lower = value("Irp"), value("Device")
    upper = value("Device->AttachedDevice")
    invoke = r"SL_INVOKE_ON_CANCEL\|SL_INVOKE_ON_SUCCESS\|SL_INVOKE_ON_ERROR"
    check("irp-routines", wants(
        "pagoda-irp Irp", r"IRP %s: 2 stack location\(s\), location 1 is current" % hexa(irp),
        r"> \[1\] IRP_MJ_READ \(0x3\)  minor 0x0  control %s  to \(unnamed\) \(%s\)"
        % (invoke, hexa(lower)),
        r"completion routine KtUpperCompletion, context %s\n"
        % hexa(value("Device->AttachedDevice->DeviceExtension")),
        r"  \[2\] IRP_MJ_READ \(0x3\)  minor 0x0  control %s  to \(unnamed\) \(%s\)"
        % (invoke, hexa(upper)),
        r"completion routine KtOriginCompletion, context 0x0\n"))


# -- the session ---------------------------------------------------------------

STOPS = [("KtDispatch", "direct", "((KT_DEV *)Device->DeviceExtension)->Mode == KtDirect"),
         ("KtLateCompletion", "pending", None),
         ("IopNullWrite", "null", None),
         ("KtDispatch", "routines", "((KT_DEV *)Device->DeviceExtension)->Mode == KtComplete")]


def session():
    run("hbreak KiRunTests")    # before paging only hardware breakpoints work
    run("continue")
    if gdb.selected_frame().name() != "KiRunTests":
        raise Failed("stopped in %s" % gdb.selected_frame().name())
    run("delete")
    numbers = {}
    for function, scenario, condition in STOPS:
        bp = gdb.Breakpoint(function, internal=False)
        if condition:
            bp.condition = condition
        numbers[bp.number] = (bp, scenario)
    handlers = {"direct": direct_checks, "pending": pending_checks, "null": null_checks,
                "routines": routines_checks}
    while numbers:
        counts = {n: bp.hit_count for n, (bp, s) in numbers.items()}
        run("continue")
        # The breakpoint that stopped (two share KtDispatch, with conditions).
        hit = [n for n, (bp, s) in numbers.items() if bp.hit_count != counts[n]]
        if len(hit) != 1:
            raise Failed("stopped in %s, not at one of the scenarios' breakpoints"
                         % gdb.selected_frame().name())
        bp, scenario = numbers.pop(hit[0])
        bp.delete()
        handlers[scenario]()
        if scenario == "null":
            check("irp-status", completion_status)


def main():
    if not CHECKS_RUN.connect():
        return
    check("reach-tests", session)


main()
CHECKS_RUN.finish()
