# tools/gdb/test_backtrace.py - the gdb step of `make test` (tests/run.py).
#
#   PAGODA_GDB_PORT=PORT gdb -nx -batch -x tools/gdb/test_backtrace.py build/kernel.elf
#
# QEMU must already be waiting on PORT (-gdb tcp:127.0.0.1:PORT -S). Checks
# the recipe of tools/gdb/gdbinit end to end: connect in 64-bit mode at the
# reset vector, run to a hardware breakpoint on KiSystemStartup across the
# 32-to-64-bit switch, then a software breakpoint on MmInitSystem and a
# backtrace through both, and the pagoda-pte command. Prints one line per
# check, "PASS gdb.NAME" or "FAIL gdb.NAME: why"; a failed check skips the
# ones that depend on it (they are reported as failed, with the reason).

import os
import sys

import gdb

CHECKS = ["connect", "hbreak-KiSystemStartup", "backtrace-MmInitSystem",
          "pagoda-pte", "pagoda-ps", "pagoda-poolused", "pagoda-pfn", "pagoda-vad"]
results = {}


def report(name, ok, why=""):
    results[name] = ok
    print("PASS gdb.%s" % name if ok else "FAIL gdb.%s: %s" % (name, why))
    sys.stdout.flush()


def run(cmd):
    return gdb.execute(cmd, to_string=True)


def frames():
    f = gdb.newest_frame()
    while f is not None:
        yield f
        f = f.older()


def where(frame):
    sal = frame.find_sal()
    if sal.symtab is None or sal.line == 0:
        return "%s at 0x%x (no source line)" % (frame.name(), frame.pc())
    return "%s at %s:%d" % (frame.name(), sal.symtab.filename, sal.line)


def main():
    port = os.environ.get("PAGODA_GDB_PORT", "1234")
    here = os.path.dirname(os.path.abspath(__file__))
    run("set pagination off")
    run("set confirm off")
    # The order matters: see tools/gdb/gdbinit.
    run("set architecture i386:x86-64")
    try:
        run("target remote 127.0.0.1:%s" % port)
    except gdb.error as e:
        return report("connect", False, str(e))
    report("connect", True)

    try:
        run("hbreak KiSystemStartup")
        run("continue")
        f = gdb.selected_frame()
        sal = f.find_sal()
        if f.name() != "KiSystemStartup":
            return report("hbreak-KiSystemStartup", False,
                          "stopped in %s, not KiSystemStartup" % where(f))
        if sal.symtab is None or sal.line == 0:
            return report("hbreak-KiSystemStartup", False,
                          "no source line at 0x%x (kernel.elf built without -g?)"
                          % f.pc())
    except gdb.error as e:
        return report("hbreak-KiSystemStartup", False, str(e))
    report("hbreak-KiSystemStartup", True)

    try:
        run("break MmInitSystem")
        run("continue")
        stack = list(frames())
        names = [f.name() for f in stack]
        bt = run("bt 8").strip().replace("\n", " | ")
        if names[0] != "MmInitSystem":
            return report("backtrace-MmInitSystem", False,
                          "frame #0 is %s: %s" % (names[0], bt))
        if "KiSystemStartup" not in names[1:]:
            return report("backtrace-MmInitSystem", False,
                          "no KiSystemStartup in an outer frame: %s" % bt)
    except gdb.error as e:
        return report("backtrace-MmInitSystem", False, str(e))
    report("backtrace-MmInitSystem", True)

    try:
        run("source %s" % os.path.join(here, "pagoda.py"))
        out = run("pagoda-pte MmInitSystem")
        if "VA -> phys" not in out:
            return report("pagoda-pte", False,
                          "unexpected output: " + out.strip().replace("\n", " | "))
    except gdb.error as e:
        return report("pagoda-pte", False, str(e))
    report("pagoda-pte", True)

    # Once processes and threads exist (just before init starts), the
    # structure views must show them.
    try:
        run("break PsRunInitProcess")
        run("continue")
    except gdb.error as e:
        return report("pagoda-ps", False, "could not reach PsRunInitProcess: %s" % e)
    views = [
        ("pagoda-ps", "pagoda-ps", ["PID 0  Idle", "PID 4  System", "THREAD"]),
        ("pagoda-poolused", "pagoda-poolused", ["Proc", "Thre"]),
        ("pagoda-pfn", "pagoda-pfn $cr3 >> 12", ["Active", "MiUsagePageTable"]),
        ("pagoda-vad", "pagoda-vad &MmSystemAddressSpace", ["VADs of address space"]),
    ]
    for name, cmd, wants in views:
        try:
            out = run(cmd)
        except gdb.error as e:
            report(name, False, str(e))
            continue
        missing = [w for w in wants if w not in out]
        report(name, not missing, "output lacks %s: %s" % (
            missing, out.strip().replace("\n", " | ")[:300]))


main()
for name in CHECKS:
    if name not in results:
        report(name, False, "not reached (an earlier gdb check failed)")
try:
    gdb.execute("kill", to_string=True)
except gdb.error:
    pass
