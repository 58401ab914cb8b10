#!/usr/bin/env python3
"""tests/grade.py - `make grade`: run one lab's graded tests and score them.

    python3 tests/grade.py [--lab N] [--test NAME]... [--expect-score S] [-v]

The labs and their tests are in tests/labs.py. In a student tree (made by
`make student`, see tools/mklab.py) the lab defaults to the one in
.pagoda-lab; in the staff tree --lab is required.

For every graded test: one line "name: OK (3.1 s) 10/10" or
"name: FAIL (2.0 s) 0/10: why"; the transcript (the serial log, or the host
program's output) in build/grade/NAME.log; at the end the total and
build/grade/result.json. Each test has a timeout that grows with the
machine's load (the base timeout times the load average per processor, at
least 1), so a busy machine does not fail a correct solution.

--expect-score S makes the exit status say whether the total was exactly S
(what `make test` uses to check the staff tree and each student tree);
otherwise the exit status is 0 when every test passed.

Python 3 standard library only; the QEMU plumbing is tests/run.py's.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import labs  # noqa: E402
import run  # noqa: E402

ROOT = run.ROOT
GRADE_DIR = ROOT / "build" / "grade"


def load_scale():
    """How much slower than an idle machine this one is likely to be."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return 1.0
    return max(1.0, load / (os.cpu_count() or 1))


def leftover_qemus():
    """QEMUs started from this tree (make run / make debug) still running."""
    try:
        out = subprocess.run(["ps", "-eo", "pid=,args="], stdout=subprocess.PIPE,
                             text=True).stdout
    except OSError:
        return []
    iso = str(ROOT / "build" / "pagoda.iso")
    return [l.strip() for l in out.splitlines() if "qemu-system" in l and iso in l]


def port_in_use(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return False
        except OSError:
            return True


class Outcome:
    def __init__(self, ok, why="", log=""):
        self.ok, self.why, self.log = ok, why, log


class Grader:
    def __init__(self, args):
        self.args = args
        self.report = run.Report(verbose=False)
        self.report.muted = True
        hargs = argparse.Namespace(
            kernel=str(ROOT / "build" / "kernel.elf"),
            initrd=str(ROOT / "build" / "initrd.tar"),
            mem="256M", timeout=300, verbose=False)
        self.h = run.Harness(hargs, self.report)
        self.h.logs = GRADE_DIR / "logs"
        self.h.isos = GRADE_DIR / "isos"
        for d in (self.h.logs, self.h.isos):
            d.mkdir(parents=True, exist_ok=True)

    # -- the kinds of graded test -----------------------------------------

    def boot_pattern(self, t, timeout):
        """Boot with ktest=t.pattern; a pattern the kernel would cut short
        (LOADER_KTEST_PATTERN_MAX in include/loader.h) is a grader error."""
        m = re.search(r"#define\s+LOADER_KTEST_PATTERN_MAX\s+(\d+)",
                      (ROOT / "include" / "loader.h").read_text())
        if m and len(t.pattern) >= int(m.group(1)):
            raise ValueError("ktest pattern of %d characters is longer than the kernel keeps "
                             "(LOADER_KTEST_PATTERN_MAX %s)" % (len(t.pattern), m.group(1)))
        disk = self.h.make_test_disk("grade-" + t.name) if t.disk else None
        return self.h.boot("grade-" + t.name, ["ktest=" + t.pattern], timeout=timeout, disk=disk)

    def ktest(self, t, timeout):
        """Boot with ktest=PATTERN: every selected test passes, at least
        t.count of them ran (a stub must not pass by removing tests), and
        each t.expect_text regex matches a line of the log."""
        b = self.boot_pattern(t, timeout)
        passed = [m.group(1) for m in map(run.RE_PASS.search, b.lines) if m]
        failed = [(m.group(1), m.group(2)) for m in map(run.RE_FAIL.search, b.lines) if m]
        if b.rc not in (run.EXIT_SUCCESS, run.EXIT_TESTS_FAILED):
            why, _ = b.ending()
            i, code = b.stop()
            if code is not None:
                name = b.lines[i + 1].strip() if i + 1 < len(b.lines) else ""
                why = "unexpected bugcheck: STOP 0x%08X %s" % (code, name)
            return Outcome(False, why, b.log)
        if failed:
            return Outcome(False, "; ".join("%s: %s" % f for f in failed[:3]), b.log)
        if len(passed) < t.count:
            return Outcome(False, "only %d of the %d tests matching %s ran"
                           % (len(passed), t.count, t.pattern), b.log)
        return self.expect_lines(t, b)

    def expect_lines(self, t, b):
        """Each of t.expect_text (a regex) matches some line of the log."""
        for text in t.expect_text:
            if not any(re.search(text, l) for l in b.lines):
                return Outcome(False, "the log has no line matching %r" % text, b.log)
        return Outcome(True, "", b.log)

    def bugcheck(self, t, timeout):
        """Boot with ktest=NAME: it must stop with t.code, and the bugcheck
        screen must show t.expect_text when given."""
        b = self.boot_pattern(t, timeout)
        _, code = b.stop()
        if b.rc != run.EXIT_BUGCHECK or code != t.code:
            got = "STOP 0x%08X" % code if code is not None else b.ending()[0]
            return Outcome(False, "expected STOP 0x%08X, got %s" % (t.code, got), b.log)
        return self.expect_lines(t, b)

    def host(self, t, timeout):
        """A host unit-test program: its selected tests all PASS."""
        prog = ROOT / "build" / "host" / t.pattern
        try:
            r = subprocess.run([str(prog)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout,
                               stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            return Outcome(False, "%s is missing (make builds it)" % prog.relative_to(ROOT))
        except subprocess.TimeoutExpired as e:
            return Outcome(False, "timed out", (e.stdout or b"").decode(errors="replace"))
        out = r.stdout.decode(errors="replace")
        lines = [run.RE_HOST.match(l) for l in out.splitlines()]
        mine = [m for m in lines if m and re.fullmatch(t.select, m.group(2))]
        bad = [m for m in mine if m.group(1) != "PASS"]
        if bad:
            return Outcome(False, "; ".join("%s: %s" % (m.group(2), m.group(3) or "failed")
                                            for m in bad[:3]), out)
        if len(mine) < t.count:
            return Outcome(False, "only %d of the %d selected tests ran (exit %d)"
                           % (len(mine), t.count, r.returncode), out)
        return Outcome(True, "", out)

    # -- running -----------------------------------------------------------

    def run_one(self, t):
        timeout = t.timeout * load_scale()
        t0 = time.monotonic()
        try:
            o = getattr(self, t.kind)(t, timeout)
        except Exception as e:  # a grader bug is a failure with a reason
            o = Outcome(False, "grader error: %s: %s" % (type(e).__name__, e))
        o.seconds = time.monotonic() - t0
        (GRADE_DIR / (run.safe(t.name) + ".log")).write_text(o.log or "")
        return o


def parse_args(argv):
    p = argparse.ArgumentParser(description="Grade one lab (make grade).")
    p.add_argument("--lab", type=int, help="the lab (default: .pagoda-lab)")
    p.add_argument("--test", action="append", default=[],
                   help="run only this graded test (repeatable)")
    p.add_argument("--expect-score", type=int, default=None,
                   help="exit 0 only when the total is exactly this")
    p.add_argument("--list", action="store_true", help="list the labs and their tests")
    return p.parse_args(argv)


def main(argv):
    a = parse_args(argv)
    if a.list:
        for n, lab in sorted(labs.LABS.items()):
            print("lab %d: %s (%d points, %d given in the student tree)"
                  % (n, lab.title, lab.total(), lab.given))
            for t in lab.tests:
                print("  %-40s %3d  %s %s" % (t.name, t.points, t.kind, t.pattern))
        return 0
    lab_no = a.lab
    marker = ROOT / ".pagoda-lab"
    if lab_no is None and marker.is_file():
        lab_no = int(marker.read_text().strip())
    if lab_no is None:
        print("grade: which lab? make grade LAB=N (labs: %s)"
              % " ".join(str(n) for n in sorted(labs.LABS)))
        return 2
    lab = labs.LABS.get(lab_no)
    if lab is None:
        print("grade: there is no lab %d (labs: %s)"
              % (lab_no, " ".join(str(n) for n in sorted(labs.LABS))))
        return 2
    tests = [t for t in lab.tests if not a.test or t.name in a.test]
    unknown = set(a.test) - {t.name for t in lab.tests}
    if unknown:
        print("grade: lab %d has no test %s (its tests: %s)"
              % (lab_no, ", ".join(sorted(unknown)), ", ".join(t.name for t in lab.tests)))
        return 2

    for q in leftover_qemus():
        print("grade: note: a QEMU from an earlier `make run` or `make debug` in this tree is "
              "still running and slows grading; stop it (kill %s):\n    %s"
              % (q.split()[0], q[:160]))
    if port_in_use(1234):
        print("grade: note: port 1234 (make debug's gdb port) is in use; grading does not "
              "need it, but `make debug` will fail until that process ends.")

    GRADE_DIR.mkdir(parents=True, exist_ok=True)
    g = Grader(a)
    print("grade: lab %d, %s (%d tests); transcripts in %s"
          % (lab_no, lab.title, len(tests), os.path.relpath(GRADE_DIR)), flush=True)
    results, score, total = [], 0, 0
    try:
        for t in tests:
            o = g.run_one(t)
            got = t.points if o.ok else 0
            score += got
            total += t.points
            line = "%s: %s (%.1f s) %d/%d" % (t.name, "OK" if o.ok else "FAIL", o.seconds,
                                               got, t.points)
            if not o.ok:
                line += ": " + o.why
            print(line, flush=True)
            results.append({"name": t.name, "ok": o.ok, "points": got, "max": t.points,
                            "seconds": round(o.seconds, 1), "why": o.why,
                            "log": os.path.relpath(GRADE_DIR / (run.safe(t.name) + ".log"),
                                                   ROOT)})
    finally:
        g.h.end_all()
    print("Score: %d/%d" % (score, total))
    (GRADE_DIR / "result.json").write_text(json.dumps(
        {"lab": lab_no, "title": lab.title, "score": score, "total": total,
         "tests": results}, indent=2) + "\n")
    if a.expect_score is not None:
        if score != a.expect_score:
            print("grade: expected a score of %d, got %d" % (a.expect_score, score))
            return 1
        return 0
    return 0 if score == total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
