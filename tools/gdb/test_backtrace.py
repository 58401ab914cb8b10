# tools/gdb/test_backtrace.py - the gdb step of `make test` (tests/run.py).
#
#   PAGODA_GDB_PORT=PORT gdb -nx -batch -x tools/gdb/test_backtrace.py build/kernel.elf
#
# QEMU must already be waiting on PORT (-gdb tcp:127.0.0.1:PORT -S) and boot
# the shell (no init= on the command line). The session a student would
# have, from the reset vector to a system service and back:
#
#   connect                   64-bit mode at the reset vector, pagoda.py loaded
#   first-stop                hbreak KiSystemStartup stops on its own first
#                             line in kernel/init.c (not an inlined helper)
#   first-stop-backtrace      bt there: KiSystemStartup, then KiBootHigherHalf
#                             (boot/start64.asm), and nothing more
#   backtrace-MmInitSystem    bt from MmInitSystem ends at KiBootHigherHalf too
#   pagoda-pte                the page-table walk of a kernel address
#   service-backtrace         break NtWriteFile (the shell prints its prompt):
#                             bt is NtWriteFile, KiSystemService,
#                             KiSystemCall64 naming the trap frame's user RIP
#                             and RSP, and ends there
#   pagoda-ps ... pagoda-irq  every pagoda-* helper at that stop, while the
#                             shell is the running user process; pagoda-ps
#                             shows exactly one Running thread, the current one
#   pagoda-thread             the current thread: the shell's, Running, a user
#                             thread (the I/O commands: tools/gdb/test_io.py)
#   back-to-user-mode         finish, finish, then a hardware breakpoint on the
#                             trap frame's RIP: the shell runs on in ring 3
#   blocking-service-backtrace
#                             break NtReadFile while the shell waits for input:
#                             the same clean three-frame backtrace
#
# tests/run.py also fails the step when gdb printed any "warning:" or
# "Internal error" line. Prints one line per check, "PASS gdb.NAME" or
# "FAIL gdb.NAME: why"; a failed check skips the ones that depend on it
# (reported as failed, with the reason).

import os
import re
import sys

import gdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gdbtest  # noqa: E402
from gdbtest import Failed, run  # noqa: E402

CHECKS = ["connect", "first-stop", "first-stop-backtrace", "backtrace-MmInitSystem",
          "pagoda-pte", "service-backtrace", "pagoda-ps", "pagoda-poolused", "pagoda-pfn",
          "pagoda-vad", "pagoda-irq", "pagoda-pte-user", "pagoda-thread", "back-to-user-mode",
          "blocking-service-backtrace"]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CHECKS_RUN = gdbtest.Checks('gdb.', CHECKS)
check = CHECKS_RUN.check


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


def bt_text():
    return run("bt").strip()


def expect_frames(names, last_file=None):
    """The backtrace is exactly NAMES, innermost first, and gdb finds no
    frame beyond the last one (the outermost-frame CFI worked)."""
    stack = list(frames())
    got = [f.name() for f in stack]
    bt = bt_text().replace("\n", " | ")
    if got != names:
        raise Failed("frames %s, expected %s: %s" % (got, names, bt))
    if last_file:
        sal = stack[-1].find_sal()
        if sal.symtab is None or not sal.symtab.filename.endswith(last_file):
            raise Failed("outermost frame %s, expected a line of %s"
                         % (where(stack[-1]), last_file))
    if len(bt.split(" | ")) != len(names):
        raise Failed("bt prints %d lines for %d frames: %s"
                     % (len(bt.split(" | ")), len(names), bt))


def first_statement_line(path, function):
    """The line of FUNCTION's first statement in PATH (after its '{')."""
    lines = open(os.path.join(ROOT, path)).read().split("\n")
    start = next(i for i, l in enumerate(lines) if re.match(r"\w.*\b%s\(" % function, l))
    brace = next(i for i in range(start, len(lines)) if lines[i].strip() == "{")
    return next(i for i in range(brace + 1, len(lines)) if lines[i].strip()) + 1


def first_stop():
    run("hbreak KiSystemStartup")
    run("continue")
    f = gdb.selected_frame()
    sal = f.find_sal()
    want = first_statement_line("kernel/init.c", "KiSystemStartup")
    if f.name() != "KiSystemStartup":
        raise Failed("stopped in %s, not KiSystemStartup" % where(f))
    if sal.symtab is None or not sal.symtab.filename.endswith("kernel/init.c") \
            or sal.line != want:
        raise Failed("stopped at %s, expected kernel/init.c:%d (its first statement)"
                     % (where(f), want))


def mm_init_backtrace():
    run("break MmInitSystem")
    run("continue")
    stack = [f.name() for f in frames()]
    if stack[0] != "MmInitSystem":
        raise Failed("frame #0 is %s" % stack[0])
    expect_frames(stack[:1] + ["KiSystemStartup", "KiBootHigherHalf"], "boot/start64.asm")


def trap_frame_user_rip():
    """At a service stop: the KTRAP_FRAME's user RIP and RSP."""
    tf = gdb.parse_and_eval("*(KTRAP_FRAME *)%d" % int(gdb.newest_frame().older()
                                                       .read_var("TrapFrame")))
    return int(tf["Rip"]), int(tf["Rsp"]), int(tf["SegCs"])


def service_backtrace(service):
    expect_frames([service, "KiSystemService", "KiSystemCall64"], "kernel/x64/syscall.asm")
    rip, rsp, cs = trap_frame_user_rip()
    last = bt_text().split("\n")[-1]
    want = "from user mode: RIP %#x RSP %#x" % (rip, rsp)
    if cs & 3 != 3 or want not in last:
        raise Failed("last bt line does not name the user RIP and RSP (%s): %s" % (want, last))


def service_stop():
    run("break NtWriteFile")
    run("continue")
    if gdb.selected_frame().name() != "NtWriteFile":
        raise Failed("stopped in %s" % where(gdb.selected_frame()))
    service_backtrace("NtWriteFile")


def expect_output(cmd, *needles):
    """CMD's output matches every regular expression in NEEDLES."""
    out = run(cmd)
    missing = [n for n in needles if not re.search(n, out)]
    if missing:
        raise Failed("output lacks %s: %s" % (missing, out.strip().replace("\n", " | ")[:300]))


def check_views(user_rip):
    """Each pagoda-* helper while the shell is in a system service."""
    def ps():
        out = run("pagoda-ps")
        running = [l for l in out.split("\n") if " Running " in l]
        if "  sh  " not in out:
            raise Failed("no sh process: " + out.replace("\n", " | "))
        if len(running) != 1 or not running[0].lstrip().startswith("*"):
            raise Failed("expected one Running thread, the current (*) one: "
                         + out.replace("\n", " | "))

    def wants(cmd, *needles):
        return lambda: expect_output(cmd, *needles)

    check("pagoda-ps", ps)
    check("pagoda-poolused", wants("pagoda-poolused", "Proc", "Thre"))
    check("pagoda-pfn", wants("pagoda-pfn $cr3 >> 12", "Active", "MiUsagePageTable"))
    check("pagoda-vad", wants("pagoda-vad", "VADs of address space",
                              r"0000000140000000-"))
    check("pagoda-irq", wants("pagoda-irq", r"0x44 .* edge .*IopSerialInterrupt",
                              r"0x55 .* edge .*IopKeyboardInterrupt"))
    check("pagoda-pte-user", wants("pagoda-pte %#x" % user_rip, r"PTE .* P US", "VA -> phys"))
    check("pagoda-thread", wants("pagoda-thread", r"PID \d+  sh  \(the current thread\)",
                                 r"\n  Running  priority \d+ .* user thread\n"))


def back_to_user_mode(user_rip):
    run("delete")
    run("finish")                       # NtWriteFile -> KiSystemService
    run("finish")                       # KiSystemService -> KiSystemCall64
    if gdb.selected_frame().name() != "KiSystemCall64":
        raise Failed("finish stopped in %s" % where(gdb.selected_frame()))
    run("hbreak *%#x" % user_rip)
    run("continue")
    pc, cs = int(gdb.parse_and_eval("$pc")), int(gdb.parse_and_eval("$cs"))
    if pc != user_rip or cs & 3 != 3:
        raise Failed("stopped at %#x with CS %#x, expected the user RIP %#x in ring 3"
                     % (pc, cs, user_rip))
    run("delete")


def blocking_service():
    run("break NtReadFile")
    run("continue")
    if gdb.selected_frame().name() != "NtReadFile":
        raise Failed("stopped in %s" % where(gdb.selected_frame()))
    service_backtrace("NtReadFile")


def main():
    if not CHECKS_RUN.connect():
        return
    if not check("first-stop", first_stop):
        return
    check("first-stop-backtrace",
          lambda: expect_frames(["KiSystemStartup", "KiBootHigherHalf"], "boot/start64.asm"))
    if not check("backtrace-MmInitSystem", mm_init_backtrace):
        return
    check("pagoda-pte", lambda: expect_output("pagoda-pte MmInitSystem", "VA -> phys"))
    run("delete")
    if not check("service-backtrace", service_stop):
        return
    user_rip = trap_frame_user_rip()[0]
    check_views(user_rip)
    if not check("back-to-user-mode", lambda: back_to_user_mode(user_rip)):
        return
    check("blocking-service-backtrace", blocking_service)


main()
CHECKS_RUN.finish()
