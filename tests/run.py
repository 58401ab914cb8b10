#!/usr/bin/env python3
"""tests/run.py - the `make test` driver: host unit tests, then Pagoda booted
in QEMU (TCG) in every way the automation contract of DESIGN.md (shared with the project) promises.

    python3 tests/run.py [--kernel build/kernel.elf] [--initrd build/initrd.tar]
                         [--host-test build/host/PROG]... [--only STEP]...
                         [--timeout 300] [-j 2] [-v]

Steps (--only takes a substring of these names; repeat it or use commas):

  layers    tools/check_layers.py on the tree: each violation (a folder
            including another's private header, user mode including a kernel
            header, a non-test function over 80 lines) is a result
            "layers: file:line"; then its --self-test, whose lines are
            results layers.selftest.NAME.
  host      every --host-test program; each of its "PASS x" / "FAIL x: why"
            lines is a result named host.PROG.x, and it must end with
            "N passed, N failed" and exit 0 when nothing failed.
  ktest     boot with `ktest`: each "ktest: PASS|FAIL|SKIP name" is a result
            ktest.name; the run must close with "N passed, N failed" whose
            counts match the lines, and exit 33 (35 when tests failed). The
            boot has a 16 MiB IDE disk (tools/mkdisk.py --pattern: 8 MiB
            of pattern, a 7 MiB pagefile partition, a 1 MiB partition of
            pattern for partition.*); the
            sectors the ata.* tests wrote are checked in the image on the
            host (ktest.ata_image_on_host), then a second boot of the same
            image (ata=pio) reads them back with /bin/disk through the
            shell and writes more with `disk fill`, checked on the host
            after it (disk.*: persistence across boots).
  bugcheck  for each "ktest: BUGCHECK-TEST name expect=0xCODE" of the ktest
            boot, boot with `ktest=name`: it must bugcheck (exit 37) with
            "*** STOP: 0xCODE".
  lowres    boot init=/bin/usertests under Driver Verifier's low resources
            simulation, special pool and I/O verification (verifier=special,io,lowres:SEED,
            docs/verifier.md): tests may fail, but cleanly - no bugcheck,
            the suite's closing line, exit 33 or 35, the kernel's count of
            failed allocations above 0, and no special-pool block still
            allocated when init ended (a leak on a failure path).
  mem       boot with `ktest=PATTERN` (--mem-pattern) at each --mem-sizes
            size, with no disk, and require success and the kernel's one
            "no disk" and one "no pagefile" line; at --too-small require exit 39 and the
            kernel's "needs at least" sentence; with -cpu max,-sse4.2
            require exit 39 and the boot code's "lacks SSE4.2" sentence.
  paging    -m 32M with a pagefile, three boots. paging: the whole ktest
            suite (--paging-pattern to narrow it) on the pattern disk with
            a 129 MiB pagefile partition: every test passes, a skip only
            for PAGING_SKIPS and SMP_REQUIRED_PASSES (tests that run in
            another boot), the paged pool test used twice RAM, the ata.*
            writes are in the image
            (paging.ata_image_on_host), and the kernel's closing
            "Pagefile: N pages written ..." line shows pages written and
            read. paging.user: /bin/usertests as init on the same layout,
            every test passing but PAGING_USER_LEFT_OUT (usertests -x,
            one SKIP result each, saying why), pages written.
            paging.pagestress: /bin/pagestress from the shell (3x RAM in
            one process, four processes, a merge sort larger than RAM, 100
            processes that page out and exit) on make run's disk layout:
            every word right, hard faults seen, pages written and read, the
            pagefile's slots in use back at baseline after the exits.
  gdb       QEMU waiting for gdb on a free port, kernel command line `quiet`;
            tools/gdb/test_backtrace.py runs a student's session: the first
            stop on KiSystemStartup's first line, backtraces that end at the
            outermost frame (boot code, system-call entry), every pagoda-*
            command while the shell is in a system service, the way back to
            user mode. Then a second boot, ktest= the four I/O tests of
            GDB_IO_KTESTS, where tools/gdb/test_io.py stops inside them and
            checks pagoda-irp, -devobj, -drvobj, -devstack, -thread and
            -mdl against the real IRPs, devices and MDLs (gdb.io.*).
            gdb.no-warnings and gdb.io.no-warnings fail on any "warning:"
            or "Internal error" line gdb printed.
  pictures  tools/pictures.py --check: two vademo processes map the same
            virtual pages to different frames, their PML4s share the system
            half, the self-map points at each one's own PML4; then the SVGs.
  fuzz      boot init=/bin/fuzz SEED CALLS SEEDS (--fuzz, default "1 2000 4":
            seeds 1..4, 2000 calls each): it must end with exit 33 (no hang,
            no drift of free pages, pool bytes per tag or handle counts)
            and its closing lines; a bugcheck is a failure. One result per
            seed (fuzz.seed.N), its figures printed (docs/verifier.md).
  smp       more than one processor (docs/smp.md): the whole ktest suite
            with -smp 2 (smp.ktest2) and usertests with -smp 2
            (smp.user2), the smp, lock, interrupt, scheduler and DPC tests
            with -smp 4 (smp.ktest4), and -smp 2 with nosmp (smp.nosmp).
            Each log must report N processors in the ACPI MADT and N-1
            idle, 0 failed (none started with nosmp), and every test pass;
            the tests that need a second processor (SMP_REQUIRED_PASSES)
            must PASS in smp.ktest2 and smp.ktest4, not skip. smp.bugcheck2:
            a bugcheck in IPI work on processor 1 must stop with its code
            and say "On processor 1; 1 other processor frozen (NMI)". The
            command line carries ktestcpus=N for smp.madt_counts_processors.
  labs      tests/check_labs.py: for every lab of tests/labs.py, its markers
            and handout, full marks for the staff tree (tests/grade.py), and
            the student tree (tools/mklab.py) built without a warning and
            scoring exactly what its handout says is given.

Results are printed as they come ("PASS name", "FAIL name: why" followed by
indented details, "SKIP name: why"); the last line is "N passed, N failed"
(", N skipped" when some were). Exit status 1 if anything failed or timed
out. Every boot keeps its serial log in build/test-logs/NAME.log (QEMU's own
messages in NAME.stderr) and its ISO in build/test-isos/NAME.iso.

QEMU exit statuses (isa-debug-exit: the guest writes B, QEMU exits 2B+1):
33 success, 35 tests failed, 37 bugcheck, 39 cannot boot on this machine,
41 GRUB could not load the kernel (boot/grub.cfg.in); 0 is a triple fault.

Python 3 standard library only.
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK_LAYERS = ROOT / "tools" / "check_layers.py"
MKISO = ROOT / "tools" / "mkiso.sh"
QEMU = ROOT / "tools" / "qemu.sh"
GDB_TEST = ROOT / "tools" / "gdb" / "test_backtrace.py"
GDB_IO_TEST = ROOT / "tools" / "gdb" / "test_io.py"
# The in-kernel tests the I/O session stops in (tools/gdb/test_io.py).
# irp.direct_read_write_and_control, irp.pended_request_completed_from_a_dpc,
# irp.filter_above_null_counts_irps, irp.completion_routines_run_bottom_up;
# short patterns: the kernel keeps 127 characters of a value.
PAGING_PATTERN = ""            # the paging boot runs every ktest
PAGING_PAGEFILE_MIB = 129
# Tests the paging boot may skip, and the boot where each runs instead.
PAGING_SKIPS = {"vm.out_of_memory_rolls_back": "mem.* (the commit rules without a pagefile)",
                "pool.paged_pool_without_a_frame_is_null":
                    "mem.* (with a pagefile paged pool gets a frame by paging out)"}
# User tests the paging boot leaves out (usertests -x NAME), each with why
# and the boot where it runs instead. None now: robust.process_exhaustion_
# fails_cleanly runs at 32M since resident available pages (docs/paging.md §9).
PAGING_USER_LEFT_OUT = {}
RE_PAGING_SUMMARY = re.compile(r"Pagefile: (\d+) pages written in (\d+) writes, (\d+) reads, "
                               r"(\d+) hard faults; peak (\d+) of (\d+) slots; (\d+) waits for "
                               r"frames \((\d+) woken, (\d+) timed out\), (\d+) not waited")
MEM_PATTERN = "pfn.*,vm.out_of_memory_rolls_back,pool.paged_pool_without_a_frame_is_null"
GDB_IO_KTESTS = "irp.direct*,irp.pended*,irp.filter*,irp.completion_routines*"

STEPS = ("layers", "host", "ktest", "bugcheck", "mem", "paging", "gdb", "user", "lowres", "shell",
         "bench", "labs", "pictures", "fuzz", "smp")

EXIT_SUCCESS, EXIT_TESTS_FAILED, EXIT_BUGCHECK, EXIT_CANNOT_BOOT, EXIT_GRUB = (
    33, 35, 37, 39, 41)
EXIT_MEANING = {
    EXIT_SUCCESS: "success",
    EXIT_TESTS_FAILED: "tests failed",
    EXIT_BUGCHECK: "bugcheck",
    EXIT_CANNOT_BOOT: "cannot boot on this machine",
    EXIT_GRUB: "GRUB could not load the kernel",
    0: "triple fault (the CPU reset and -no-reboot ended QEMU), "
       "or power-off without isa-debug-exit",
}

RE_PASS = re.compile(r"ktest: PASS (\S+)")
RE_FAIL = re.compile(r"ktest: FAIL (\S+?):\s*(.*)$")
RE_SKIP = re.compile(r"ktest: SKIP (\S+?)(?::\s*(.*))?$")
RE_BUGCHECK_TEST = re.compile(
    r"ktest: BUGCHECK-TEST (\S+) expect=0x([0-9A-Fa-f]{1,8})\b")
RE_CLOSING = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$")
RE_STOP = re.compile(r"\*\*\* STOP: 0x([0-9A-Fa-f]{8})\b")
RE_HOST = re.compile(r"^(PASS|FAIL|SKIP) (\S+?)(?::\s*(.*))?$")

STOP_CONTEXT = 40   # log lines shown after an unexpected STOP line
TAIL = 20           # log lines shown after a timeout or a crash


class Report:
    """Results, printed as they arrive; safe to call from any thread."""

    def __init__(self, verbose):
        self.lock = threading.Lock()
        self.verbose = verbose
        self.passed = self.failed = self.skipped = 0
        self.muted = False  # after an interrupt: boots we killed are no result

    def _emit(self, counter, first, details):
        with self.lock:
            if self.muted:
                return
            if counter:
                setattr(self, counter, getattr(self, counter) + 1)
            print(first)
            for line in details or ():
                print("    " + line)
            sys.stdout.flush()

    def ok(self, name, details=None):
        self._emit("passed", "PASS " + name, details if self.verbose else None)

    def fail(self, name, why, details=None):
        self._emit("failed", "FAIL %s: %s" % (name, why), details)

    def skip(self, name, why):
        self._emit("skipped", "SKIP %s: %s" % (name, why), None)

    def info(self, text):
        """A line printed whatever the verbosity (the fuzz step's figures)."""
        self._emit(None, text, None)

    def note(self, text):
        if self.verbose:
            self._emit(None, "  " + text, None)

    def closing(self):
        line = "%d passed, %d failed" % (self.passed, self.failed)
        if self.skipped:
            line += ", %d skipped" % self.skipped
        return line


def safe(name):
    """A test name made safe for a file name."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def log_lines(text):
    return text.replace("\r", "").split("\n")


class Boot:
    """How one QEMU run ended, and what it printed."""

    def __init__(self, name, words, mem, log_path):
        self.name, self.words, self.mem, self.log_path = name, words, mem, log_path
        self.rc = None
        self.timed_out = False
        self.seconds = 0.0
        self.log = ""
        self.stderr = ""

    @property
    def lines(self):
        return log_lines(self.log)

    def what(self):
        return "-m %s, command line '%s'" % (self.mem, " ".join(self.words))

    def stop(self):
        """(index, code) of the first STOP line, or (None, None)."""
        for i, line in enumerate(self.lines):
            m = RE_STOP.search(line)
            if m:
                return i, int(m.group(1), 16)
        return None, None

    def tail(self, n=TAIL):
        lines = [l for l in self.lines if l.strip()]
        if not lines:
            return ["(no serial output at all: the kernel never printed; "
                    "did GRUB start it?)"]
        return ["| " + l for l in lines[-n:]]

    def stop_block(self):
        i, _ = self.stop()
        if i is None:
            return []
        block = self.lines[i:i + 1 + STOP_CONTEXT]
        while block and not block[-1].strip():
            block.pop()
        return ["| " + l for l in block]

    def grub_block(self):
        return ["| " + re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", l)
                for l in self.lines if l.strip()][:TAIL]

    def stderr_block(self):
        lines = [l for l in log_lines(self.stderr)
                 if l.strip() and "terminating on signal" not in l]
        return ["qemu: " + l for l in lines[:10]]

    def ending(self):
        """One phrase for how the boot ended, and lines that show why."""
        where = ["log: %s" % os.path.relpath(self.log_path)]
        if self.timed_out:
            return ("timed out after %.0f s" % self.seconds,
                    self.tail() + where)
        meaning = EXIT_MEANING.get(self.rc)
        if self.rc == EXIT_BUGCHECK:
            return "bugcheck", (self.stop_block() or self.tail()) + where
        if self.rc == EXIT_GRUB:
            return ("exit 41: GRUB could not load kernel.elf and initrd.tar "
                    "with -m %s" % self.mem, self.grub_block() + where)
        if self.rc == EXIT_CANNOT_BOOT:
            need = [l for l in self.lines if "needs at least" in l]
            return ("exit 39: the kernel cannot boot with -m %s" % self.mem,
                    ["| " + l for l in need] + where)
        if meaning:
            return "exit %d (%s)" % (self.rc, meaning), self.tail() + where
        return ("QEMU exit status %s" % self.rc,
                self.stderr_block() + self.tail() + where)


class Harness:
    def __init__(self, args, report):
        self.args = args
        self.report = report
        self.build = ROOT / "build"
        self.logs = self.build / "test-logs"
        self.isos = self.build / "test-isos"
        self.procs = set()
        self.procs_lock = threading.Lock()
        self.pool = None
        self.futures = []
        self.futures_lock = threading.Lock()
        self.stopping = False

    # -- processes ---------------------------------------------------------

    def _track(self, proc):
        with self.procs_lock:
            self.procs.add(proc)
            if self.stopping:  # interrupted while this one was starting
                proc.kill()

    def _end(self, proc):
        """Stop a process we started (and its group), then reap it."""
        if proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=3)
                    break
                except subprocess.TimeoutExpired:
                    continue
        with self.procs_lock:
            self.procs.discard(proc)

    def end_all(self):
        with self.procs_lock:
            self.stopping = True
            procs = list(self.procs)
        for p in procs:
            self._end(p)

    def submit(self, fn, *a):
        with self.futures_lock:
            self.futures.append(self.pool.submit(self._guard, fn, *a))

    def _guard(self, fn, *a):
        try:
            fn(*a)
        except Exception as e:  # a harness bug must not hide the other results
            if self.stopping:
                return
            step = fn.__name__.replace("step_", "")
            self.report.fail(".".join([step] + [str(x) for x in a if isinstance(x, str)]),
                             "harness error: %s: %s" % (type(e).__name__, e))

    # -- booting -----------------------------------------------------------

    def make_iso(self, name, words):
        iso = self.isos / (safe(name) + ".iso")
        r = subprocess.run(
            ["bash", str(MKISO), str(self.args.kernel), str(self.args.initrd),
             str(iso)] + list(words),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise RuntimeError("tools/mkiso.sh failed: " + r.stdout.strip())
        return iso

    def start_qemu(self, name, iso, mem, gdb_port=None, disk=None, extra=""):
        log = self.logs / (safe(name) + ".log")
        err = self.logs / (safe(name) + ".stderr")
        for p in (log, err):
            if p.exists():
                p.unlink()
        cmd = ["bash", str(QEMU), "--log", str(log), "--mem", mem, "--iso", str(iso)]
        if gdb_port:
            cmd += ["--gdb-port", str(gdb_port)]
        if disk:
            cmd += ["--disk", str(disk)]
        self.report.note("%s: %s" % (name, " ".join(cmd)))
        with open(err, "w") as errf:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                    stdout=errf, stderr=errf,
                                    start_new_session=True, cwd=ROOT,
                                    env=dict(os.environ, EXTRA=extra))
        self._track(proc)
        return proc, log, err

    def boot(self, name, words, mem=None, timeout=None, disk=None, extra=""):
        """Make an ISO with command line WORDS, boot it (with the raw image
        DISK as the IDE disk, if given) until QEMU exits or TIMEOUT seconds
        pass; return a Boot. EXTRA: further QEMU arguments (tools/qemu.sh's
        $EXTRA)."""
        mem = mem or self.args.mem
        timeout = timeout or self.args.timeout
        iso = self.make_iso(name, words)
        t0 = time.monotonic()
        proc, log, err = self.start_qemu(name, iso, mem, disk=disk, extra=extra)
        b = Boot(name, words, mem, log)
        try:
            b.rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            b.timed_out = True
        finally:
            self._end(proc)
        b.seconds = time.monotonic() - t0
        b.log = log.read_text(errors="replace") if log.exists() else ""
        b.stderr = err.read_text(errors="replace") if err.exists() else ""
        self.report.note("%s: %s -> %s in %.1f s" % (
            name, b.what(), "timeout" if b.timed_out else "exit %s" % b.rc,
            b.seconds))
        return b

    # -- a: host unit tests ------------------------------------------------

    def step_host(self, path):
        prog = Path(path).name
        prefix = "host." + prog
        if not os.access(path, os.X_OK):
            return self.report.fail(prefix, "%s: not an executable (make builds "
                                    "host tests into build/host/)" % path)
        try:
            r = subprocess.run([str(Path(path).resolve())], cwd=ROOT,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, errors="replace",
                               timeout=self.args.host_timeout)
        except subprocess.TimeoutExpired as e:
            out = e.stdout or ""
            out = out.decode(errors="replace") if isinstance(out, bytes) else out
            self._host_lines(prefix, out)
            return self.report.fail(prefix, "timed out after %d s"
                                    % self.args.host_timeout)
        (self.logs / (prefix + ".out")).write_text(r.stdout + r.stderr)
        npass, nfail, nskip, closing = self._host_lines(prefix, r.stdout)
        problems = []
        if r.returncode < 0:
            problems.append("killed by signal %d" % -r.returncode)
        elif r.returncode != 0 and nfail == 0:
            problems.append("exit status %d with no FAIL line" % r.returncode)
        elif r.returncode == 0 and nfail:
            problems.append("exit status 0 despite %d FAIL lines" % nfail)
        if closing is None:
            problems.append("no closing 'N passed, N failed' line")
        elif closing[:2] != (npass, nfail):
            problems.append("closing line says %d passed, %d failed; the "
                            "output has %d PASS and %d FAIL lines"
                            % (closing[0], closing[1], npass, nfail))
        if problems:
            err = [l for l in log_lines(r.stderr) if l.strip()]
            self.report.fail(prefix, "; ".join(problems),
                             ["stderr: " + l for l in err[:30]])

    def _host_lines(self, prefix, out):
        npass = nfail = nskip = 0
        closing = None
        for line in log_lines(out):
            m = RE_HOST.match(line)
            if m:
                kind, name, why = m.groups()
                if kind == "PASS":
                    npass += 1
                    self.report.ok("%s.%s" % (prefix, name))
                elif kind == "FAIL":
                    nfail += 1
                    self.report.fail("%s.%s" % (prefix, name), why or "failed")
                else:
                    nskip += 1
                    self.report.skip("%s.%s" % (prefix, name), why or "skipped")
                continue
            m = RE_CLOSING.match(line)
            if m:
                closing = (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
        return npass, nfail, nskip, closing

    # -- b, c: in-kernel tests and bugcheck tests --------------------------

    def make_test_disk(self, name, pagefile_mib=7):
        """tools/mkdisk.py --pattern: 8 MiB of the pattern the ata.* tests
        know, a pagefile partition of PAGEFILE_MIB, 1 MiB of pattern in
        partition 2 for the partition.* tests (tests/kernel/test_ata.c)."""
        disk = self.logs / (safe(name) + "-disk.img")
        subprocess.run([sys.executable, str(ROOT / "tools" / "mkdisk.py"), str(disk),
                        "--pattern", "--pagefile-mib", str(pagefile_mib), "--force"],
                       check=True, stdout=subprocess.DEVNULL)
        return disk

    def check_disk_writes(self, b, disk, name="ktest.ata_image_on_host"):
        """After ata.write_read_back_and_flush passed in the guest, the
        sectors it wrote must be in the image file, byte for byte (the same
        formula as KtWritten in tests/kernel/test_ata.c)."""
        if not any(re.search(r"ktest: PASS ata\.write_read_back_and_flush", l) for l in b.lines):
            self.report.fail(name, "ata.write_read_back_and_flush did not pass in the guest")
            return False
        data = disk.read_bytes()
        bad = [(lba, i) for lba in list(range(1000, 1008)) + [1010, 1011] for i in range(512)
               if data[lba * 512 + i] != ((lba * 3 + i * 7) ^ 0x5A) & 0xFF]
        untouched = data[999 * 512] == (999 & 0xFF) and data[1008 * 512] == (1008 & 0xFF)
        if bad or not untouched:
            self.report.fail(name, "%d bytes differ (first at LBA %s); neighbours intact: %s"
                             % (len(bad), bad[0] if bad else "-", untouched))
            return False
        self.report.ok(name)
        return True

    def step_ktest(self, report_tests, run_bugchecks):
        disk = self.make_test_disk("ktest")
        # ktestcpus=1: QEMU's default -smp (smp.madt_counts_processors).
        b = self.boot("ktest", ["ktest", "ktestcpus=1"], disk=disk)
        if self.check_disk_writes(b, disk):
            self.submit(step_disk, self, disk)
        counts = [0, 0, 0]
        closing = None
        bugchecks = []
        for line in b.lines:
            m = RE_PASS.search(line)
            if m:
                counts[0] += 1
                if report_tests:
                    self.report.ok("ktest." + m.group(1))
                continue
            m = RE_FAIL.search(line)
            if m:
                counts[1] += 1
                if report_tests:
                    self.report.fail("ktest." + m.group(1), m.group(2))
                continue
            m = RE_SKIP.search(line)
            if m:
                counts[2] += 1
                if report_tests:
                    self.report.skip("ktest." + m.group(1), m.group(2) or "skipped")
                continue
            m = RE_BUGCHECK_TEST.search(line)
            if m:
                bugchecks.append((m.group(1), int(m.group(2), 16)))
                continue
            m = RE_CLOSING.search(line)
            if m:
                closing = tuple(int(g or 0) for g in m.groups())

        problems, details = [], []
        if b.rc in (EXIT_SUCCESS, EXIT_TESTS_FAILED):
            if closing is None:
                problems.append("no closing 'N passed, N failed' line")
            elif closing != tuple(counts):
                problems.append(
                    "closing line says %d passed, %d failed, %d skipped; the log "
                    "has %d PASS, %d FAIL, %d SKIP lines (serial output lost?)"
                    % (closing + tuple(counts)))
            if b.rc == EXIT_SUCCESS and counts[1]:
                problems.append("exit 33 (success) despite FAIL lines")
            if b.rc == EXIT_TESTS_FAILED and not counts[1]:
                problems.append("exit 35 (tests failed) but no FAIL line")
        else:
            why, details = b.ending()
            if b.rc == EXIT_BUGCHECK:
                last = [l for l in b.lines if re.search(r"ktest: (PASS|FAIL|SKIP) ", l)]
                why = "unexpected bugcheck" + (
                    " after '%s'" % last[-1].strip() if last else "")
            problems.append(why)
        if problems:
            self.report.fail("ktest", "; ".join(problems),
                             details or ["log: %s" % os.path.relpath(b.log_path)])
        elif report_tests:
            self.report.note("ktest: %d passed, %d failed, %d skipped, %d "
                             "bugcheck tests, %.1f s" % (tuple(counts) + (len(bugchecks), b.seconds)))

        if run_bugchecks:
            if not bugchecks and b.rc not in (EXIT_SUCCESS, EXIT_TESTS_FAILED):
                self.report.fail("bugcheck", "cannot list the bugcheck tests: "
                                 "the ktest boot did not finish")
            for name, code in bugchecks:
                self.submit(self.step_bugcheck, name, code)

    def step_bugcheck(self, name, expect):
        b = self.boot("bugcheck." + name, ["ktest=" + name])
        result = "bugcheck." + name
        i, code = b.stop()
        if b.rc == EXIT_BUGCHECK and code == expect:
            return self.report.ok(result, ["STOP 0x%08X in %.1f s" % (code, b.seconds)])
        if b.rc == EXIT_BUGCHECK and code is None:
            why = "exit 37 (bugcheck) but no '*** STOP: 0x...' line"
            details = b.tail()
        elif b.rc == EXIT_BUGCHECK:
            name_line = b.lines[i + 1].strip() if i + 1 < len(b.lines) else ""
            why = "STOP 0x%08X %s, expected 0x%08X" % (code, name_line, expect)
            details = b.stop_block()
        else:
            ending, details = b.ending()
            why = "expected STOP 0x%08X, got %s" % (expect, ending)
            return self.report.fail(result, why, details)
        self.report.fail(result, why,
                         details + ["log: %s" % os.path.relpath(b.log_path)])

    # -- d: memory sizes ---------------------------------------------------

    def step_mem(self, size):
        pattern = self.args.mem_pattern
        b = self.boot("mem." + size, ["ktest=" + pattern], mem=size)
        closing = None
        fails = []
        for line in b.lines:
            m = RE_CLOSING.search(line)
            if m:
                closing = tuple(int(g or 0) for g in m.groups())
            m = RE_FAIL.search(line)
            if m:
                fails.append(line.strip())
        name = "mem." + size
        # These boots have no disk: the kernel must say so once, and say
        # that there is no pagefile and what to do about it.
        for said in ("ATA: no disk on the primary channel", "Pagefile: none"):
            times = sum(said in l for l in b.lines)
            if times != 1:
                return self.report.fail(name, "a boot without a disk printed %r %d times, not "
                                        "once" % (said, times), b.tail())
        if b.rc == EXIT_SUCCESS and closing and not fails:
            return self.report.ok(name, ["ktest=%s: %d passed, %d failed, %d skipped in %.1f s"
                                         % ((pattern,) + closing + (b.seconds,))])
        if b.rc == EXIT_TESTS_FAILED or fails:
            return self.report.fail(name, "ktest=%s failed with -m %s" % (pattern, size),
                                    ["| " + l for l in fails] +
                                    ["log: %s" % os.path.relpath(b.log_path)])
        if b.rc == EXIT_SUCCESS:
            return self.report.fail(name, "exit 33 but no closing line", b.tail())
        why, details = b.ending()
        self.report.fail(name, "with -m %s: %s" % (size, why), details)

    # -- paging: a small machine with a large pagefile ----------------------

    def step_paging(self):
        """-m 32M, the pattern disk with a 129 MiB pagefile partition: the
        whole ktest suite (or --paging-pattern). Every test passes; a skip
        only where PAGING_SKIPS says the test runs in another boot; the
        paged pool test used twice RAM; the ata.* writes are in the image;
        the pagefile was written and read (the kernel's summary line)."""
        pattern = self.args.paging_pattern
        disk = self.make_test_disk("paging", PAGING_PAGEFILE_MIB)
        words = ["ktest=" + pattern] if pattern else ["ktest", "ktestcpus=1"]
        b = self.boot("paging", words, mem="32M", disk=disk)
        closing, fails, skips, twice = None, [], [], False
        for line in b.lines:
            m = RE_CLOSING.search(line)
            if m:
                closing = tuple(int(g or 0) for g in m.groups())
            if RE_FAIL.search(line):
                fails.append(line.strip())
            m = RE_SKIP.search(line)
            # The paging boot has one processor: the tests that need two
            # must pass in the smp step instead (SMP_REQUIRED_PASSES).
            if m and m.group(1) not in PAGING_SKIPS and m.group(1) not in SMP_REQUIRED_PASSES:
                skips.append(line.strip())
            m = re.search(r"paged pool test: \d+ blocks of 64 KiB \((\d+) pages, RAM (\d+) pages\)",
                          line)
            if m and int(m.group(1)) >= 2 * int(m.group(2)) - 16:
                twice = True
        where = ["log: %s" % os.path.relpath(b.log_path)]
        if b.rc == EXIT_TESTS_FAILED or fails:
            return self.report.fail("paging", "%s failed with -m 32M and a pagefile"
                                    % " ".join(words), ["| " + l for l in fails] + where)
        if b.rc != EXIT_SUCCESS or not closing:
            why, details = b.ending()
            return self.report.fail("paging", why, details)
        paged = paging_summary(b)
        problems = []
        if skips:
            problems.append("tests skipped that run in no other boot: " + "; ".join(skips))
        if not pattern and not twice:
            problems.append("the paged pool test did not use twice RAM")
        if not paged or paged["written"] == 0 or paged["reads"] == 0:
            problems.append("the pagefile was not both written and read: %s" % paged)
        if problems:
            return self.report.fail("paging", "; ".join(problems), where)
        if not pattern:
            self.check_disk_writes(b, disk, "paging.ata_image_on_host")
        self.report.ok("paging", ["%s at -m 32M: %d passed, %d failed, %d skipped in %.1f s; %s"
                                  % ((" ".join(words),) + closing + (b.seconds, paged))])

    def step_paging_user(self):
        """-m 32M and the paging boot's disk layout: /bin/usertests as
        init, every test passing but those of PAGING_USER_LEFT_OUT (each a
        SKIP result that says why), and the pagefile written."""
        disk = self.make_test_disk("paging-user", PAGING_PAGEFILE_MIB)
        words = ["init=/bin/usertests"]
        for name in PAGING_USER_LEFT_OUT:
            words += ["-x", name]
        b = self.boot("paging-user", words, mem="32M", disk=disk)
        passed = [l for l in b.lines if RE_USER_PASS.match(l.strip())]
        fails = [l.strip() for l in b.lines if RE_USER_FAIL.match(l.strip())]
        skipped = [l.split()[1].rstrip(":") for l in b.lines if l.startswith("SKIP ")]
        closing = [m.groups() for m in map(RE_CLOSING.search, b.lines) if m]
        paged = paging_summary(b)
        for name in skipped:
            self.report.skip("paging.user." + name, PAGING_USER_LEFT_OUT.get(name, "?"))
        if b.rc == EXIT_SUCCESS and closing and not fails and paged is not None \
                and paged["written"] > 0 and int(closing[-1][0]) == len(passed) \
                and sorted(skipped) == sorted(PAGING_USER_LEFT_OUT):
            return self.report.ok("paging.user", ["%d passed at -m 32M in %.1f s; %s"
                                                  % (len(passed), b.seconds, paged)])
        why, details = b.ending()
        self.report.fail("paging.user", "usertests at -m 32M with a pagefile: %s, %d PASS, "
                         "%d FAIL, skipped %s, closing %s, pagefile %s"
                         % (why, len(passed), len(fails), skipped, closing, paged),
                         ["| " + l for l in fails[:20]] + details)

    # The user programs of the paging issue, at -m 32M with the same pagefile
    # size: one process over three times the RAM, four processes of 12 MiB
    # at once, a merge sort of 16 MiB of keys (32 MiB with its scratch), and
    # 100 processes one after another that each page 1 MiB out and end
    # holding it (the pagefile's slots in use must come back to baseline).
    PAGESTRESS_RUNS = ("pagestress 3x", "pagestress -p 4 12", "pagestress --sort 16",
                       "pagestress --exits 100 1")

    def step_pagestress(self):
        """Boot -m 32M with a fresh 130 MiB disk and run PAGESTRESS_RUNS from
        the shell: each must end with its parent's PASS line, every round
        must find every word right, pages must really have come back from
        the pagefile (hard faults in the rounds' figures), and after the 100
        exits the slots in use must equal the baseline."""
        disk = self.logs / "pagestress-disk.img"
        subprocess.run([sys.executable, str(ROOT / "tools" / "mkdisk.py"), str(disk),
                        "--size-mib", "130", "--force"], check=True, stdout=subprocess.DEVNULL)
        b = self.boot("pagestress", ["init=/bin/sh", "-c", "; ".join(self.PAGESTRESS_RUNS)],
                      mem="32M", disk=disk)
        rounds = [re.search(r"pagestress\[(\d+)\]: round \d+: .* (\d+) bad \w+ .*hard faults "
                            r"\+(\d+)", l) for l in b.lines]
        rounds = [m for m in rounds if m]
        verdicts = [l.strip() for l in b.lines if re.search(r"pagestress\[\d+\]: (PASS|FAIL)", l)]
        bad = sum(int(m.group(2)) for m in rounds)
        hard = sum(int(m.group(3)) for m in rounds)
        exits = [m for m in (re.search(r"(\d+) processes each paged out (\d+) pages and ended: "
                                       r"pagefile slots in use (\d+) before, (\d+) after", l)
                             for l in b.lines) if m]
        slots_back = (len(exits) == 1 and exits[0].group(1) == "100"
                      and exits[0].group(3) == exits[0].group(4))
        summary = "%d rounds, %d bad, %d hard faults, slots after 100 exits: %s, %s" % (
            len(rounds), bad, hard,
            "%s before, %s after" % exits[0].group(3, 4) if exits else "no line",
            ", ".join(verdicts[-3:]))
        paged = paging_summary(b)
        summary += "; %s" % paged
        # 3x: 1 verdict; -p 4: 4 children and the parent; --sort: 1;
        # --exits: 1 (its children print none when they pass).
        ok = (b.rc == EXIT_SUCCESS and len(rounds) == 6 and bad == 0 and hard > 0 and slots_back
              and len(verdicts) == 8 and all(v.endswith("PASS") for v in verdicts)
              and paged is not None and paged["written"] > 0 and paged["reads"] > 0)
        if ok:
            return self.report.ok("paging.pagestress", [summary + " in %.1f s" % b.seconds])
        why, details = b.ending()
        self.report.fail("paging.pagestress", "%s (%s)" % (summary, why), details)

    def step_too_small(self, size):
        pattern = self.args.mem_pattern
        name = "mem.too-small." + size
        b = self.boot(name, ["ktest=" + pattern], mem=size)
        need = [l.strip() for l in b.lines if "needs at least" in l]
        if b.rc == EXIT_CANNOT_BOOT and need:
            return self.report.ok(name, need)
        if b.rc == EXIT_CANNOT_BOOT:
            return self.report.fail(name, "exit 39 but no 'needs at least' sentence "
                                    "saying how much memory is needed", b.tail())
        if b.rc == EXIT_GRUB:
            return self.report.fail(
                name, "GRUB could not load kernel.elf and initrd.tar into %s, so "
                "the kernel's own check never ran; pick a larger --too-small "
                "(just under the kernel's minimum)" % size, b.ending()[1])
        if not b.log.strip():
            why = ("no kernel output at all with -m %s (%s): the BIOS or GRUB "
                   "itself cannot run in that little memory; pick a larger "
                   "--too-small" % (size, "timed out" if b.timed_out else
                                    "exit %s" % b.rc))
            return self.report.fail(name, why, b.stderr_block())
        if b.rc == EXIT_SUCCESS:
            return self.report.fail(
                name, "the kernel booted and passed with only -m %s: it must "
                "refuse to boot below its minimum (exit 39), or --too-small "
                "is not below that minimum" % size,
                ["log: %s" % os.path.relpath(b.log_path)])
        why, details = b.ending()
        self.report.fail(name, "expected exit 39 and 'needs at least', got " + why,
                         details)

    def step_old_cpu(self):
        """A CPU without SSE4.2 (the pool's crc32) is refused by the boot
        code with exit 39 and a sentence naming what is missing."""
        name = "cpu.no-sse4.2"
        b = self.boot(name, ["quiet"], extra="-cpu max,-sse4.2", timeout=60)
        said = [l.strip() for l in b.lines if "lacks SSE4.2" in l]
        if b.rc == EXIT_CANNOT_BOOT and said:
            return self.report.ok(name, said)
        why, details = b.ending()
        self.report.fail(name, "expected exit 39 and 'lacks SSE4.2', got " + why, details)

    # -- e: gdb ------------------------------------------------------------

    def step_gdb(self):
        gdb = shutil.which("gdb")
        if not gdb:
            return self.report.fail("gdb", "gdb is not installed "
                                    "(tools/ensure-tools.sh installs it)")
        self.gdb_session(gdb, "gdb", GDB_TEST, ["quiet"], "gdb.")
        self.gdb_session(gdb, "gdb-io", GDB_IO_TEST, ["quiet", "ktest=" + GDB_IO_KTESTS],
                         "gdb.io.")

    def gdb_session(self, gdb, name, script, words, prefix):
        """Boot WORDS with QEMU waiting for gdb, run SCRIPT in gdb against it,
        report its PREFIX* lines, then PREFIX + "no-warnings"."""
        with socket.socket() as s:  # a free port; QEMU binds it right after
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        iso = self.make_iso(name, words)
        proc, log, _ = self.start_qemu(name, iso, self.args.mem, gdb_port=port)
        out_path = self.logs / (name + ".out")
        t0 = time.monotonic()
        timed_out = False
        try:
            g = subprocess.run(
                [gdb, "-nx", "-batch", "-x", str(script), str(self.args.kernel)],
                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, timeout=self.args.timeout,
                env=dict(os.environ, PAGODA_GDB_PORT=str(port)),
                start_new_session=True)
            out = g.stdout
        except subprocess.TimeoutExpired as e:
            out = e.stdout or b""
            timed_out = True
        finally:
            self._end(proc)
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
        out_path.write_text(out)
        seen = 0
        where = ["gdb output: %s" % os.path.relpath(out_path),
                 "serial log: %s" % os.path.relpath(log)]
        for line in log_lines(out):
            m = RE_HOST.match(line)
            if m and m.group(2).startswith(prefix):
                seen += 1
                if m.group(1) == "PASS":
                    self.report.ok(m.group(2))
                else:
                    self.report.fail(m.group(2), m.group(3) or "failed", where)
                    where = None  # once is enough
        # gdb's complaints about the debug information (or anything else)
        # are what a student sees first: none may appear.
        noise = [l for l in log_lines(out) if re.search(r"warning:|Internal error", l)]
        if seen and not timed_out:
            if noise:
                self.report.fail(prefix + "no-warnings",
                                 "gdb printed %d warning line(s)" % len(noise),
                                 ["| " + l for l in noise[:TAIL]] + (where or []))
            else:
                self.report.ok(prefix + "no-warnings")
        if timed_out or not seen:
            tail = [l for l in log_lines(out) if l.strip()][-TAIL:]
            why = ("timed out after %.0f s" % (time.monotonic() - t0) if timed_out
                   else "%s reported nothing" % os.path.relpath(script, ROOT))
            self.report.fail(name, why, ["| " + l for l in tail] + (where or []))


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Pagoda test driver (make test).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="steps: " + ", ".join(STEPS))
    p.add_argument("--kernel", default=str(ROOT / "build" / "kernel.elf"))
    p.add_argument("--initrd", default=str(ROOT / "build" / "initrd.tar"))
    p.add_argument("--host-test", action="append", default=[], metavar="PATH",
                   help="a host unit-test program to run (repeatable)")
    p.add_argument("--timeout", type=float, default=300,
                   help="seconds allowed for each boot (default 300)")
    p.add_argument("--host-timeout", type=float, default=120,
                   help="seconds allowed for each host test program")
    p.add_argument("--mem", default="256M", help="guest RAM for ktest, "
                   "bugcheck and gdb boots (default 256M)")
    p.add_argument("--mem-pattern", default=MEM_PATTERN,
                   help="ktest=PATTERN for the memory-size boots (default %s: the "
                   "commit test needs a boot without a pagefile)" % MEM_PATTERN)
    p.add_argument("--paging-pattern", default=PAGING_PATTERN,
                   help="ktest=PATTERN for the paging boot (default: every test)")
    p.add_argument("--mem-sizes", default="32M,4G",
                   help="comma-separated sizes that must boot (default 32M,4G)")
    p.add_argument("--too-small", default="16M",
                   help="a size below the kernel's minimum: must exit 39 "
                   "(default 16M; empty to skip)")
    p.add_argument("--fuzz", default="1 2000 4", metavar="'SEED CALLS SEEDS'",
                   help="the fuzz step's arguments to /bin/fuzz (make fuzz: a million calls)")
    p.add_argument("--only", action="append", default=[], metavar="STEP",
                   help="run only steps whose name contains STEP (repeatable, "
                   "or comma-separated)")
    p.add_argument("-j", "--jobs", type=int,
                   default=max(1, min(2, os.cpu_count() or 1)),
                   help="QEMU boots at a time (default 2, or 1 on one CPU)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="show commands, boot times and details of passes")
    a = p.parse_args(argv)
    a.only = [s for o in a.only for s in o.split(",") if s]
    return a


# ---------------------------------------------------------------- ring 3

RE_USER_PASS = re.compile(r"^PASS (\S+)")
RE_USER_FAIL = re.compile(r"^FAIL (\S+?):? (.*)$")
RE_BENCH = re.compile(r"^BENCH name=([a-z0-9_]+) insns_per_op=(\d+) iters=(\d+)\s*$")


# -- smp: more than one processor (docs/smp.md) ------------------------------

RE_SMP_SUMMARY = re.compile(r"SMP: (\d+) processors? in the MADT: 1 running .*?, (\d+) idle \(answering IPIs\), "
                            r"(\d+) failed")
RE_ACPI_COUNT = re.compile(r"ACPI: RSDP from .*, (\d+) processors? \(")

# The boots of the smp step: name, -smp N, command line, what must hold.
# The whole ktest suite and the user tests run once with two processors
# (the others idle, answering IPIs); four processors run the smp, interrupt and scheduler
# tests; nosmp leaves the second processor alone.
SMP_BOOTS = (
    ("smp.ktest2", 2, ["ktest", "ktestcpus=2"], "started"),
    ("smp.ktest4", 4, ["ktest=smp.*,lock.*,interrupt.*,sched.*,dpc*", "ktestcpus=4"], "started"),
    ("smp.user2", 2, ["init=/bin/usertests"], "started"),
    ("smp.nosmp", 2, ["nosmp", "ktest=smp.*", "ktestcpus=2"], "nosmp"),
    ("smp.bugcheck2", 2, ["ktest=smp.bugcheck_in_ipi_work_freezes_the_other_processors",
                          "ktestcpus=2"], "bugcheck"),
)

# The ktests that skip on one processor: with -smp 2 and -smp 4 they must
# run and pass (a SKIP there is a failure of the step).
SMP_REQUIRED_PASSES = (
    "smp.spin_lock_counter_from_every_processor_is_exact",
    "smp.queued_spin_lock_counter_from_every_processor_is_exact",
    "smp.ipis_sent_both_ways_at_once_do_not_deadlock",
    "smp.tb_flush_of_a_remapped_page_reaches_the_other_processor",
    "smp.dpc_targeted_at_processor_1_runs_there",
    "smp.dpc_queued_twice_on_a_target_runs_once",
    "smp.dpc_importance_orders_another_processors_queue",
    "smp.dpcs_bounced_between_processors_each_run_once",
    "smp.dpc_on_processor_1_and_waits_on_processor_0_share_the_dispatcher_lock",
)
SMP_BUGCHECK_LINE = "On processor 1; 1 other processor frozen (NMI)."


def smp_problems(b, cpus, expect):
    """What is wrong with an smp boot's log: the MADT count, the start-up
    summary, the tests' outcome."""
    problems = []
    acpi = [int(m.group(1)) for m in map(RE_ACPI_COUNT.search, b.lines) if m]
    if acpi != [cpus]:
        problems.append("the ACPI line should report %d processors, found %s" % (cpus, acpi))
    if expect == "nosmp":
        if not any("SMP: nosmp: %d processors in the MADT" % cpus in l for l in b.lines):
            problems.append("no 'SMP: nosmp: %d processors' line" % cpus)
        if any(RE_SMP_SUMMARY.search(l) for l in b.lines):
            problems.append("processors were started despite nosmp")
    else:
        summary = [m.groups() for m in map(RE_SMP_SUMMARY.search, b.lines) if m]
        want = (str(cpus), str(cpus - 1), "0")
        if summary != [want]:
            problems.append("the SMP summary should say %s processors, %s idle, %s failed; "
                            "found %s" % (want + (summary,)))
    if expect == "bugcheck":
        stops = [m.group(1).lower() for m in map(RE_STOP.search, b.lines) if m]
        if b.rc != EXIT_BUGCHECK or stops[:1] != ["000000e2"]:
            problems.append("want a bugcheck 0xE2, got exit %s, stops %s" % (b.rc, stops))
        if not any(SMP_BUGCHECK_LINE in l for l in b.lines):
            problems.append("no '%s' line" % SMP_BUGCHECK_LINE)
        return problems
    if b.words[0] == "ktest" or b.words[0].startswith("ktest="):
        passed = set(m.group(1) for m in map(RE_PASS.search, b.lines) if m)
        for name in SMP_REQUIRED_PASSES:
            if expect == "started" and name not in passed:
                problems.append("%s did not PASS with -smp %d" % (name, cpus))
    fails = [l.strip() for l in b.lines if RE_FAIL.search(l) or l.startswith("FAIL ")]
    closing = [l.strip() for l in b.lines if RE_CLOSING.search(l.strip())]
    if b.rc != EXIT_SUCCESS or fails or not closing:
        why, details = b.ending()
        problems.append("%s, %d FAIL lines, closing line %s" % (why, len(fails), closing or "none"))
        problems += fails[:10]
    return problems


def step_smp_boot(h, name, cpus, words, expect):
    disk = h.make_test_disk(name) if words[0] == "ktest" else None
    b = h.boot(name, words, disk=disk, extra="-smp %d" % cpus)
    problems = smp_problems(b, cpus, expect)
    if problems:
        return h.report.fail(name, problems[0], problems[1:] +
                             ["log: %s" % os.path.relpath(b.log_path)])
    closing = [l.strip() for l in b.lines if RE_CLOSING.search(l.strip())]
    h.report.ok(name, ["-smp %d, %s: %s in %.1f s" % (cpus, " ".join(words), closing[-1] if closing else "bugcheck as required",
                                                      b.seconds)])


def step_user(h):
    """Boot init=/bin/usertests: each PASS/FAIL line is a result; the run
    must end with its closing line and exit 33 (init ended with status 0)."""
    b = h.boot("user", ["init=/bin/usertests"])
    counts = [0, 0]
    closing = None
    for line in b.lines:
        line = line.strip()
        m = RE_USER_PASS.match(line)
        if m:
            counts[0] += 1
            h.report.ok("user." + m.group(1))
            continue
        m = RE_USER_FAIL.match(line)
        if m:
            counts[1] += 1
            h.report.fail("user." + m.group(1), m.group(2))
            continue
        m = RE_CLOSING.search(line)
        if m:
            closing = (int(m.group(1)), int(m.group(2)))
    if closing is None or closing != tuple(counts) or b.rc not in (EXIT_SUCCESS, EXIT_TESTS_FAILED):
        why, details = b.ending()
        h.report.fail("user", "usertests did not finish cleanly (%s; closing line %s, "
                      "%d PASS, %d FAIL seen)" % (why, closing, counts[0], counts[1]), details)
    elif b.rc == EXIT_TESTS_FAILED and counts[1] == 0:
        h.report.fail("user", "exit 35 but no FAIL line", b.tail())


LOWRES_SEED = "1f2e3d4c"
RE_LOWRES_ON = re.compile(r"Driver Verifier: low resources simulation on")
RE_LOWRES_COUNT = re.compile(r"Driver Verifier: (\d+) allocations failed on purpose")
RE_SPECIAL_LEFT = re.compile(r"Driver Verifier: still allocated: ")
RE_SPECIAL_COUNT = re.compile(r"Driver Verifier: special pool gave out (\d+) blocks, (\d+) freed, "
                              r"(\d+) requests served by the ordinary pool")


def step_lowres(h):
    """Boot init=/bin/usertests with verifier=special,io,lowres:SEED: a seeded
    fraction of pool and page allocations fail once init exists. FAIL lines
    are expected (they are the clean failures); a bugcheck, a hang, a
    missing closing line, no injected failure at all, or a special-pool
    block still allocated when init ended (a leak on a failure path; the
    kernel lists each with its tag) is not."""
    b = h.boot("lowres", ["verifier=special,io,lowres:" + LOWRES_SEED, "init=/bin/usertests"])
    counts = [0, 0]
    closing = None
    on = injected = special = None
    for line in b.lines:
        line = line.strip()
        if RE_USER_PASS.match(line):
            counts[0] += 1
        elif RE_USER_FAIL.match(line):
            counts[1] += 1
        elif RE_LOWRES_ON.search(line):
            on = True
        m = RE_CLOSING.search(line)
        if m:
            closing = (int(m.group(1)), int(m.group(2)))
        m = RE_LOWRES_COUNT.search(line)
        if m:
            injected = int(m.group(1))
        m = RE_SPECIAL_COUNT.search(line)
        if m:
            special = tuple(int(g) for g in m.groups())
    summary = "%d PASS, %d FAIL, %s allocations failed on purpose, special pool " \
        "(given, freed, fallbacks) %s" % (counts[0], counts[1], injected, special)
    if b.rc not in (EXIT_SUCCESS, EXIT_TESTS_FAILED) or closing != tuple(counts):
        why, details = b.ending()
        h.report.fail("lowres.usertests", "usertests under verifier=lowres did not end "
                      "cleanly (%s; closing line %s; %s)" % (why, closing, summary), details)
    elif not on or not injected:
        h.report.fail("lowres.usertests", "no allocation was made to fail (%s)" % summary,
                      b.tail())
    elif special is None or special[0] == 0:
        h.report.fail("lowres.usertests", "special pool watched nothing (%s)" % summary,
                      b.tail())
    elif special[0] != special[1]:
        # Every block given out after the verifier started belongs to
        # something init's programs made; when init has ended, nothing of
        # theirs may be left (the kernel prints each block still allocated,
        # with its tag, after the summary).
        left = [l.strip() for l in b.lines if RE_SPECIAL_LEFT.search(l)]
        h.report.fail("lowres.usertests", "%d special-pool blocks still allocated when init "
                      "ended (%s)" % (special[0] - special[1], summary), left or b.tail())
    else:
        if special[2] != 0:
            h.report.info("lowres: %d requests served by the ordinary pool" % special[2])
        h.report.ok("lowres.usertests", [summary])


def step_layers(h):
    """tools/check_layers.py: one FAIL per violation, one PASS when there is
    none; then its self-test, which must catch every planted violation."""
    r = subprocess.run([sys.executable, str(CHECK_LAYERS)], cwd=ROOT,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    lines = [l for l in log_lines(r.stdout) if l.strip()]
    found = [l for l in lines if re.match(r"^\S+:\d+: ", l)]
    for line in found:
        where, why = line.split(": ", 1)
        h.report.fail("layers: " + where, why)
    if r.returncode == 0 and not found:
        h.report.ok("layers.check")
    elif not found:
        h.report.fail("layers.check", "exit status %d and no violation line"
                      % r.returncode, ["| " + l for l in lines[-TAIL:]])
    r = subprocess.run([sys.executable, str(CHECK_LAYERS), "--self-test"], cwd=ROOT,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    npass, nfail, _, closing = h._host_lines("layers.selftest", r.stdout)
    if closing is None or closing[:2] != (npass, nfail) or (r.returncode != 0) != (nfail > 0):
        h.report.fail("layers.selftest", "exit status %d, closing line %s, %d PASS, "
                      "%d FAIL" % (r.returncode, closing, npass, nfail),
                      ["| " + l for l in log_lines(r.stdout)[-TAIL:]])


def step_bench(h):
    """make test does not benchmark, but /bin/ubench must start and print
    at least one well-formed BENCH line in its short mode."""
    b = h.boot("bench", ["init=/bin/ubench", "--short"])
    lines = [l.strip() for l in b.lines if l.startswith("BENCH ")]
    good = [l for l in lines if RE_BENCH.match(l)]
    if b.rc != EXIT_SUCCESS or not good or len(good) != len(lines):
        why, details = b.ending()
        h.report.fail("bench.ubench-short", "%d BENCH lines, %d well formed; %s"
                      % (len(lines), len(good), why), details)
    else:
        h.report.ok("bench.ubench-short")


RE_FUZZ_SEED = re.compile(r"^fuzz: seed (\d+): (\d+) calls, ended (0x[0-9a-f]{8})(.*)$")
RE_FUZZ_END = re.compile(r"^fuzz: (\d+) hangs, (\d+) drifts: (passed|FAILED)\s*$")


def step_fuzz(h):
    """Boot init=/bin/fuzz ARGS: each "fuzz: seed N: ..." line is a result
    (a HANG or DRIFT on it fails), the figures are printed, and the run must
    end with "0 hangs, 0 drifts: passed" and exit 33, with at least the
    seeds asked for reported. A bugcheck or a
    timeout fails the step with the seed that was running."""
    words = h.args.fuzz.split()
    b = h.boot("fuzz", ["init=/bin/fuzz"] + words)
    seeds, end = 0, None
    for line in b.lines:
        line = line.strip()
        m = RE_FUZZ_SEED.match(line)
        if m:
            seeds += 1
            name = "fuzz.seed.%s" % m.group(1)
            if "HANG" in m.group(4) or "DRIFT" in m.group(4):
                h.report.fail(name, line)
            else:
                h.report.ok(name, [line])
            continue
        if RE_FUZZ_END.match(line):
            end = RE_FUZZ_END.match(line)
        if line.startswith("fuzz: ") and not line.startswith("fuzz: call "):
            h.report.info("  " + line)
    # At least the seeds asked for: more when children that ended early
    # left calls to make up (at most twice as many, fuzz.c).
    want = int(words[2]) if len(words) > 2 else 1
    if (b.rc != EXIT_SUCCESS or end is None or end.group(3) != "passed"
            or not want <= seeds <= 2 * want):
        why, details = b.ending()
        h.report.fail("fuzz", "/bin/fuzz %s did not pass (%s; %d of %d seeds reported)"
                      % (" ".join(words), why, seeds, want), details)
    else:
        h.report.ok("fuzz")


class Console:
    """QEMU with COM1 on a pipe: the harness types, the shell answers."""

    def __init__(self, h, name, words, extra=(), disk=None):
        iso = h.make_iso(name, words)
        self.log_path = h.logs / (safe(name) + ".log")
        cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", h.args.mem,
               "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
               "-cdrom", str(iso), "-boot", "d", "-display", "none", "-serial", "stdio",
               "-monitor", "none", "-nic", "none"] + list(extra)
        if disk:  # as tools/qemu.sh --disk: the primary channel's master
            cmd += ["-drive", "file=%s,format=raw,if=ide,index=0,media=disk" % disk]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        h._track(self.proc)
        self.h = h
        self.buffer = b""
        self.seen = 0

    def check(self, name, command, until, wants, fold=False):
        """Type COMMAND, wait for UNTIL, and report NAME: passed when the
        output holds every string of WANTS (compared without case when
        FOLD). A command that never finishes is reported as such."""
        self.type(command + "\r")
        try:
            out = self.expect(until, timeout=120)
        except TimeoutError as e:
            tail = self.buffer[self.seen:].decode(errors="replace").splitlines()[-15:]
            return self.h.report.fail(name, str(e), ["| " + l for l in tail])
        seen = out.lower() if fold else out
        missing = [w for w in wants if (w.lower() if fold else w) not in seen]
        if missing:
            return self.h.report.fail(name, "output lacks %s" % ", ".join(repr(w) for w in missing),
                                      ["| " + l for l in out.splitlines()[-15:]])
        self.h.report.ok(name)

    def exit(self):
        """Type exit: QEMU's exit status (33 when the shell powered off), or
        None when it did not end within a minute."""
        self.type("exit\r")
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            return None

    def expect(self, pattern, timeout=60):
        """Read until PATTERN (a regex) appears after what was matched
        before; return the text read, or raise TimeoutError."""
        import select
        rx = re.compile(pattern.encode())
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buffer, self.seen)
            if m:
                text = self.buffer[self.seen:m.end()].decode(errors="replace")
                self.seen = m.end()
                return text
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise TimeoutError("no /%s/ in the output" % pattern)
            r, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.5))
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    continue
                self.buffer += chunk

    def type(self, text):
        # One character at a time, as a person types: the UART's FIFO is
        # 16 bytes and the shell echoes each one.
        for c in text.encode():
            self.proc.stdin.write(bytes([c]))
            self.proc.stdin.flush()
            time.sleep(0.002)

    def close(self):
        self.h._end(self.proc)
        self.log_path.write_bytes(self.buffer)


def shell_check_name(command, names):
    """shell.WORD_WORD from the command's first two words, with more of
    its words while that name is taken (three pagestress runs); a
    command run twice (ps, mem) keeps its name."""
    words = [w.strip("-") for w in command.split()]
    name = "shell." + "_".join(words[:2])
    for n in range(3, len(words) + 1):
        if name not in names:
            break
        name = "shell." + "_".join(words[:n])
    names.add(name)
    return name


def paging_summary(b):
    """The kernel's "Pagefile: N pages written ..." line at the end of a
    boot with a pagefile (MmPrintPagingSummary), as a dict; None without."""
    keys = ("written", "writes", "reads", "hard", "peak", "slots", "waits", "woken", "timeouts",
            "not_waited")
    found = [m for m in map(RE_PAGING_SUMMARY.search, b.lines) if m]
    return dict(zip(keys, map(int, found[-1].groups()))) if found else None


def ata_written(lba, i, seed=0x5A):
    """What ata.write_read_back_and_flush and `disk fill` write: byte I of
    sector LBA (KtWritten in tests/kernel/test_ata.c, user/bin/disk.c)."""
    return ((lba * 3 + i * 7) ^ seed) & 0xFF


def step_disk(h, disk):
    """The second boot of the persistence check (after the ktest boot
    wrote its sectors and the host checked them in the image): the shell
    on the same image, under `ata=pio`, runs /bin/disk. Its CRC-32s of the
    sectors boot 1 wrote must equal the host's of the image, its hexdump
    must show them, its stats must say PIO; `disk fill` writes sectors the
    host then finds in the image, byte for byte, after QEMU exits."""
    import zlib
    image = disk.read_bytes()

    def crc(lba, count):
        return "%08x" % zlib.crc32(image[lba * 512:(lba + count) * 512])

    first = " ".join("%02x" % ata_written(1000, i) for i in range(16))
    sectors = len(image) // 512
    prompt = r"pagoda> "
    checks = [
        ("sum", "run disk sum DR0 1000 8", ["crc32 " + crc(1000, 8)]),
        ("sum_lba48", "run disk sum PhysicalDrive0 1010 2", ["crc32 " + crc(1010, 2)]),
        ("read", "run disk read \\Device\\Harddisk0\\DR0 1000", ["0007d000  " + first]),
        ("fill", "run disk fill DR0 14000 300",
         ["filled 300 sectors (153600 bytes) from LBA 14000"]),
        ("past_the_end", "run disk read DR0 %d" % sectors,
         ["not inside the disk (%d sectors)" % sectors]),
        ("stats", "run disk stats", ["mode          PIO", "DMA 0,"]),
        ("devices", "devices", ["DR0"]),
    ]
    c = Console(h, "disk", ["ata=pio"], disk=disk)
    try:
        c.expect(prompt, timeout=h.args.timeout)
        for short, command, wants in checks:
            c.check("disk." + short, command, prompt, wants)
        rc = c.exit()
    except TimeoutError as e:
        h.report.fail("disk.prompt", str(e),
                      ["| " + l for l in c.buffer.decode(errors="replace").splitlines()[-20:]])
        return
    finally:
        c.close()
    image = disk.read_bytes()
    bad = [(lba, i) for lba in range(14000, 14300) for i in range(512)
           if image[lba * 512 + i] != ata_written(lba, i)]
    if rc != EXIT_SUCCESS or bad:
        h.report.fail("disk.fill_on_host", "QEMU exit %s; %d bytes differ%s"
                      % (rc, len(bad), " (first at LBA %d)" % bad[0][0] if bad else ""))
    else:
        h.report.ok("disk.fill_on_host")


def step_shell(h):
    """Drive the shell through the serial port: run a demo, ps, pte, pool,
    obj (the namespace, the I/O manager's drivers, devices and links), load,
    drivers, devices (with the keyboard's and COM1's) and unload (loadable
    drivers), mem, irq (the keyboard and serial drivers' interrupt objects), pci (the boot scan), trim (the shell's own working
    set, then the System process's: paged pool), mem and ps again (page lists, soft faults, working-set sizes), vm,
    a crash that ends alone, pagestress (two processes write and check
    their memory; a sort; a commit far past the limit fails alone), cpu
    (two processors: QEMU runs this boot with -smp 2, the second idle),
    then exit (QEMU exits 33)."""
    c = Console(h, "shell", [], extra=["-smp", "2"])
    prompt = r"pagoda> "
    checks = [
        ("help", r"run .*\n(.*\n)*.*" + prompt, ["ps", "pte", "pool"]),
        ("run hello one two", prompt, ["hello from pid", "argv[2] = \"two\""]),
        ("ps", prompt, ["System", "sh"]),
        ("pte 0x140001000", prompt, ["PXE", "PTE"]),
        ("pool", prompt, ["Proc", "Thre"]),
        ("obj", prompt, ["BaseNamedObjects", "ObjectTypes", "Device", "??  ", "Directory"]),
        ("obj \\ObjectTypes", prompt, ["Event", "Process", "Type"]),
        ("obj \\ObjectTypes\\Event", prompt, ["\\ObjectTypes\\Event  Type"]),
        ("obj \\Device", prompt, ["Null", "Device"]),
        ("obj \\Driver", prompt, ["Null", "Driver"]),
        ("obj \\??", prompt, ["NUL", "COM1", "SymbolicLink"]),
        ("load hello", prompt, ["loaded: hello"]),
        ("load nullflt", prompt, ["loaded: nullflt"]),
        ("drivers", prompt, ["kernel.elf", "hello.sys", "nullflt.sys"]),
        ("devices", prompt, ["Hello", "(unnamed)", "nullflt", "Null 0x", "KeyboardClass0 kbdclass",
                             "Serial0"]),
        ("unload nullflt", prompt, ["unloaded: nullflt"]),
        ("unload hello", prompt, ["unloaded: hello"]),
        ("load badimp", prompt, ["STATUS_DRIVER_ENTRYPOINT_NOT_FOUND"]),
        ("mem", prompt, ["free"]),
        ("irq", prompt, ["IopSerialInterrupt", "IopKeyboardInterrupt", "KiClockInterrupt"]),
        ("pci", prompt, ["00:01.1 IDE controller [0101] 8086:7010", "BAR4: I/O ports"]),
        ("trim", prompt, ["emptied"]),
        ("trim 4", prompt, ["emptied"]),
        ("mem", prompt, ["standby", "modified", "soft faults"]),
        ("ps", prompt, ["PEAKWS", "SOFT", "PGFILE"]),
        ("vm", prompt, ["0x"]),
        ("run vademo", prompt, ["A: VA 0x7f793950000", "B: VA 0x7f793950000"]),
        ("run crash av", prompt, ["crashed: STATUS_ACCESS_VIOLATION", "ends alone"]),
        ("run pagestress -p 2 -r 2 4", prompt,
         ["round 2: 4 MiB written and checked, 0 bad words", ": PASS"]),
        ("run pagestress --sort 2", prompt, ["2 MiB of keys sorted and checked, 0 bad sorts"]),
        ("run pagestress 64x", prompt, ["failed: STATUS_COMMITMENT_LIMIT", ": FAIL"]),
        ("ps", prompt, ["sh"]),
        ("cpu", prompt, ["0       0       0 running", "1       1       1 idle   ",
                         "the scheduler uses CPU 0 only"]),
    ]
    names = set()
    try:
        c.expect(prompt, timeout=h.args.timeout)
        h.report.ok("shell.prompt")
        for command, until, wants in checks:
            c.check(shell_check_name(command, names), command, until, wants, fold=True)
        rc = c.exit()
        if rc == EXIT_SUCCESS:
            h.report.ok("shell.exit")
        else:
            h.report.fail("shell.exit", "QEMU exit status %s after 'exit' (want 33)" % rc)
    except TimeoutError as e:
        h.report.fail("shell.prompt", str(e),
                      ["| " + l for l in c.buffer.decode(errors="replace").splitlines()[-20:]])
    finally:
        c.close()


def step_pictures(h):
    """tools/pictures.py --check: boot vademo, read two processes' page tables
    and the PFN database through gdb, check what the pictures claim and
    draw them."""
    out = h.build / "pictures"
    try:
        p = subprocess.run([sys.executable, str(ROOT / "tools" / "pictures.py"), "--check",
                            "--out", str(out)], cwd=ROOT, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=h.args.timeout, start_new_session=True)
    except subprocess.TimeoutExpired:
        return h.report.fail("pictures", "tools/pictures.py timed out")
    text = p.stdout.decode(errors="replace")
    if p.returncode != 0:
        return h.report.fail("pictures", "tools/pictures.py failed",
                             ["| " + l for l in text.splitlines() if l.strip()][-15:])
    h.report.ok("pictures", ["| " + l for l in text.splitlines() if l.strip()])


def main(argv):
    args = parse_args(argv)
    steps = [s for s in STEPS if not args.only or any(o in s for o in args.only)]
    if not steps:
        print("run.py: --only %s matches none of: %s" % (",".join(args.only),
                                                        " ".join(STEPS)))
        return 2
    report = Report(args.verbose)
    h = Harness(args, report)
    for d in (h.logs, h.isos):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True, exist_ok=True)

    print("run.py: %s; %d boot%s at a time; logs in %s" % (
        ", ".join(steps), args.jobs, "s" if args.jobs > 1 else "",
        os.path.relpath(h.logs)), flush=True)
    t0 = time.monotonic()

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)

    need_kernel = [s for s in steps if s not in ("host", "layers")]
    missing = [f for f in (args.kernel, args.initrd) if not Path(f).is_file()]
    h.pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    try:
        # The ktest boot goes first: the bugcheck boots wait for its list.
        if need_kernel and not missing and ("ktest" in steps or "bugcheck" in steps):
            h.submit(h.step_ktest, "ktest" in steps, "bugcheck" in steps)
        if "layers" in steps:
            h.submit(step_layers, h)
        if "host" in steps:
            if not args.host_test:
                report.note("host: no --host-test programs given")
            for path in args.host_test:
                h.submit(h.step_host, path)
        if need_kernel and missing:
            for f in missing:
                report.fail("boot", "%s is missing (run make); cannot run %s"
                            % (f, ", ".join(need_kernel)))
        elif need_kernel:
            if "gdb" in steps:
                h.submit(h.step_gdb)
            if "user" in steps:
                h.submit(step_user, h)
            if "lowres" in steps:
                h.submit(step_lowres, h)
            if "shell" in steps:
                h.submit(step_shell, h)
            if "bench" in steps:
                h.submit(step_bench, h)
            if "pictures" in steps:
                h.submit(step_pictures, h)
            if "fuzz" in steps:
                h.submit(step_fuzz, h)
            if "smp" in steps:
                for boot in SMP_BOOTS:
                    h.submit(step_smp_boot, h, *boot)
            if "labs" in steps:
                import check_labs
                check_labs.step_labs(h)
            if "mem" in steps:
                for size in [s for s in args.mem_sizes.split(",") if s]:
                    h.submit(h.step_mem, size)
                if args.too_small:
                    h.submit(h.step_too_small, args.too_small)
                h.submit(h.step_old_cpu)
            if "paging" in steps:
                h.submit(h.step_paging)
                h.submit(h.step_paging_user)
                h.submit(h.step_pagestress)
        # Steps add steps (ktest submits the bugcheck boots): wait until
        # no future is left unfinished.
        while True:
            with h.futures_lock:
                pending = [f for f in h.futures if not f.done()]
            if not pending:
                break
            concurrent.futures.wait(pending)
    except KeyboardInterrupt:
        report.fail("run.py", "interrupted")
        report.muted = True
        h.pool.shutdown(wait=False, cancel_futures=True)
        h.end_all()
        print(report.closing(), flush=True)
        return 1
    finally:
        h.end_all()
    h.pool.shutdown()
    if args.verbose:
        print("  total %.1f s" % (time.monotonic() - t0))
    print(report.closing(), flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
