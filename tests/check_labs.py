"""tests/check_labs.py - the `labs` step of make test (tests/run.py).

For every lab in tests/labs.py:
  labs.N.markers   tools/mklab.py --check: every solution marker is well
                   formed, and lab N has at least one
  labs.N.handout   docs/labs/labN.md exists and states the lab's points
                   ("Points: T; the starting tree scores G.")
  labs.N.staff     the staff tree scores full marks (tests/grade.py)
  labs.N.student   tools/mklab.py writes the student tree (build/labs/labN,
                   reusing the staff build so only the stubs recompile); it
                   builds without a warning (-Werror) and scores exactly
                   what the handout says is given
Plus labs.mklab-selftest: the marker parser rejects each malformed marker.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tools"))
import labs  # noqa: E402
import mklab  # noqa: E402


def _run(cmd, cwd, timeout):
    try:
        r = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        return r.returncode, r.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b"").decode(errors="replace")


def _tail(text, n=15):
    return ["| " + l for l in text.splitlines() if l.strip()][-n:]


def selftest(report):
    bad = {
        "no #else": "#if PAGODA_SOLUTION(1)\nx\n#endif\n",
        "never closed": "#if PAGODA_SOLUTION(1)\nx\n#else\ny\n",
        "two #else": "#if PAGODA_SOLUTION(1)\nx\n#else\ny\n#else\nz\n#endif\n",
        "nested markers": "#if PAGODA_SOLUTION(1)\n#if PAGODA_SOLUTION(2)\n#else\n#endif\n"
                          "#else\n#endif\n",
        "stray use": "int x = PAGODA_SOLUTION(3);\n",
    }
    problems = []
    for what, text in bad.items():
        try:
            mklab.strip_markers(text, 1, what)
            problems.append("accepted a marker with " + what)
        except mklab.MarkerError:
            pass
    good = ("a\n#if PAGODA_SOLUTION(2)\n#ifdef X\ns1\n#else\ns2\n#endif\n#else\nstub\n"
            "#endif /* PAGODA_SOLUTION(2) */\nb")
    for lab, want in ((1, "a\nstub\nb"), (2, "a\nstub\nb"), (3, "a\n#ifdef X\ns1\n#else\ns2\n"
                                                              "#endif\nb")):
        got, labs_seen = mklab.strip_markers(good, lab, "good")
        if got != want or labs_seen != {2}:
            problems.append("lab %d: got %r, want %r" % (lab, got, want))
    if problems:
        report.fail("labs.mklab-selftest", "; ".join(problems))
    else:
        report.ok("labs.mklab-selftest")


def check_lab(h, n):
    report = h.report
    lab = labs.LABS[n]
    total = lab.total()
    name = "labs.%d" % n

    try:
        marked = mklab.check_all()
    except mklab.MarkerError as e:
        return report.fail(name + ".markers", str(e))
    if n not in marked:
        report.fail(name + ".markers", "no PAGODA_SOLUTION(%d) block in the tree" % n)
    else:
        report.ok(name + ".markers")

    handout = ROOT / "docs" / "labs" / ("lab%d.md" % n)
    want = "Points: %d; the starting tree scores %d." % (total, lab.given)
    if not handout.is_file():
        report.fail(name + ".handout", "%s is missing" % handout.relative_to(ROOT))
    elif want not in handout.read_text():
        report.fail(name + ".handout", "%s does not say %r" % (handout.relative_to(ROOT), want))
    else:
        report.ok(name + ".handout")

    rc, out = _run([sys.executable, "tests/grade.py", "--lab", str(n), "--expect-score",
                    str(total)], ROOT, 900)
    if rc == 0:
        report.ok(name + ".staff", ["| " + l for l in out.splitlines() if l.strip()])
    else:
        report.fail(name + ".staff", "the staff tree does not score %d/%d" % (total, total),
                    _tail(out))

    dest = ROOT / "build" / "labs" / ("lab%d" % n)
    rc, out = _run([sys.executable, "tools/mklab.py", str(n), str(dest), "--reuse-build"],
                   ROOT, 300)
    if rc != 0:
        return report.fail(name + ".student", "tools/mklab.py failed", _tail(out))
    rc, out = _run(["make", "-s", "all", "host-bins"], dest, 900)
    if rc != 0:
        return report.fail(name + ".student", "the student tree does not build "
                           "(warnings are errors)", _tail(out))
    rc, out = _run([sys.executable, "tests/grade.py", "--expect-score", str(lab.given)],
                   dest, 900)
    if rc != 0:
        return report.fail(name + ".student", "the student tree does not score the %d/%d "
                           "its handout promises" % (lab.given, total), _tail(out))
    report.ok(name + ".student", ["| " + l for l in out.splitlines() if l.strip()])


def step_labs(h):
    selftest(h.report)
    for n in sorted(labs.LABS):
        h.submit(check_lab, h, n)
