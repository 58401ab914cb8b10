# tools/gdb/gdbtest.py - what the gdb sessions of `make test` share
# (tools/gdb/test_backtrace.py and tools/gdb/test_io.py import it): one
# PASS/FAIL line per named check, a check that fails on Failed or a gdb
# error, connecting to QEMU with pagoda.py loaded, and the ending that
# reports the checks an earlier failure kept from running.

import os
import sys

import gdb

HERE = os.path.dirname(os.path.abspath(__file__))


class Failed(Exception):
    pass


def run(cmd):
    return gdb.execute(cmd, to_string=True)


class Checks:
    """The checks of one session, printed as "PASS PREFIXNAME" or
    "FAIL PREFIXNAME: why"."""

    def __init__(self, prefix, names):
        self.prefix, self.names, self.results = prefix, names, {}

    def report(self, name, ok, why=""):
        self.results[name] = ok
        print("PASS %s%s" % (self.prefix, name) if ok
              else "FAIL %s%s: %s" % (self.prefix, name, why))
        sys.stdout.flush()
        return ok

    def check(self, name, fn):
        """Run fn; PASS unless it raises Failed or a gdb.error. Returns ok."""
        try:
            fn()
        except (Failed, gdb.error) as e:
            return self.report(name, False, str(e))
        return self.report(name, True)

    def connect(self):
        """64-bit gdb attached to QEMU on $PAGODA_GDB_PORT, pagoda.py loaded
        (the check "connect"). Returns ok."""
        port = os.environ.get("PAGODA_GDB_PORT", "1234")
        run("set pagination off")
        run("set confirm off")
        # The order matters: see tools/gdb/gdbinit.
        run("set architecture i386:x86-64")
        if not self.check("connect", lambda: run("target remote 127.0.0.1:%s" % port)):
            return False
        run("source %s" % os.path.join(HERE, "pagoda.py"))
        return True

    def finish(self):
        """Report every check not reached, then end QEMU."""
        for name in self.names:
            if name not in self.results:
                self.report(name, False, "not reached (an earlier gdb check failed)")
        try:
            gdb.execute("kill", to_string=True)
        except gdb.error:
            pass
