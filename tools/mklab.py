#!/usr/bin/env python3
"""tools/mklab.py - write the student tree for one lab from the staff tree.

    python3 tools/mklab.py N DIR [--reuse-build]      (make student LAB=N DIR=...)
    python3 tools/mklab.py --check                    (markers well formed?)

The staff tree is the only tree: the solution of lab L is marked in the C
sources, with the code a student starts from beside it:

    #if PAGODA_SOLUTION(4)
        ... the staff solution ...
    #else
        ... the student's starting point: compiles, fails cleanly ...
    #endif /* PAGODA_SOLUTION(4) */

For lab N, every block of a lab L < N keeps its solution (the student did
those labs already), every block of lab L >= N keeps its stub, and the
marker lines disappear. The handouts of labs after N and the instructor
guide (docs/labs/README.md) are left out; the handout of lab N is copied to
LAB.md at the top, and .pagoda-lab records N so that `make grade` in the
student tree grades lab N by default.

Markers are exact lines (leading blanks allowed): `#if PAGODA_SOLUTION(n)`,
then one `#else`, then `#endif`; other preprocessor conditionals may nest
inside either half. Anything else (no #else, a second #else, a marker that
is never closed, PAGODA_SOLUTION used another way) is an error naming the
file and line, so a broken marker cannot leak a solution.

--reuse-build copies the staff tree's build/ into DIR with the files'
times kept, and writes the files this tool did not change with their
original times too: `make` in DIR then rebuilds only what the stubs
changed (make test uses it to check every lab quickly).

Python 3 standard library only.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKED_SUFFIXES = (".c", ".h")

RE_IF = re.compile(r"^\s*#\s*if\s+PAGODA_SOLUTION\((\d+)\)\s*$")
RE_ELSE = re.compile(r"^\s*#\s*else\b")
RE_ENDIF = re.compile(r"^\s*#\s*endif\b")
RE_OPEN = re.compile(r"^\s*#\s*if(n?def)?\b")
RE_ANY = re.compile(r"PAGODA_SOLUTION\(")
RE_DEFINE = re.compile(r"^\s*#\s*define\s+PAGODA_SOLUTION\(")


class MarkerError(Exception):
    pass


def strip_markers(text, lab, path="<text>"):
    """TEXT with every solution block resolved for lab LAB: returns (new
    text, set of lab numbers marked in it)."""
    out, labs = [], set()
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        m = RE_IF.match(line)
        if not m:
            if (RE_ANY.search(line) and not line.lstrip().startswith(("/*", "*", "//"))
                    and not RE_DEFINE.match(line)):
                raise MarkerError("%s:%d: PAGODA_SOLUTION outside a marker line" % (path, i + 1))
            out.append(line)
            i += 1
            continue
        marked = int(m.group(1))
        labs.add(marked)
        start = i
        solution, stub, half = [], [], "solution"
        depth = 0
        i += 1
        while True:
            if i >= len(lines):
                raise MarkerError("%s:%d: PAGODA_SOLUTION(%d) is never closed by #endif"
                                  % (path, start + 1, marked))
            line = lines[i]
            if RE_IF.match(line):
                raise MarkerError("%s:%d: solution blocks do not nest" % (path, i + 1))
            if RE_OPEN.match(line):
                depth += 1
            elif RE_ENDIF.match(line):
                if depth == 0:
                    break
                depth -= 1
            elif RE_ELSE.match(line) and depth == 0:
                if half == "stub":
                    raise MarkerError("%s:%d: a second #else in PAGODA_SOLUTION(%d)"
                                      % (path, i + 1, marked))
                half = "stub"
                i += 1
                continue
            (solution if half == "solution" else stub).append(line)
            i += 1
        if half != "stub":
            raise MarkerError("%s:%d: PAGODA_SOLUTION(%d) has no #else (every solution needs "
                              "the stub a student starts from)" % (path, start + 1, marked))
        out.extend(solution if marked < lab else stub)
        i += 1  # the #endif
    return "\n".join(out), labs


def tracked_files():
    r = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit("mklab: the staff tree must be a git checkout (git ls-files failed: %s)"
                 % r.stderr.decode(errors="replace").strip())
    return [f for f in r.stdout.decode().split("\0") if f]


def left_out(name, lab):
    """Files of the staff tree a student tree for LAB does not get."""
    if name == "docs/labs/README.md":
        return True
    m = re.match(r"docs/labs/lab(\d+)\.md$", name)
    return bool(m and int(m.group(1)) > lab)


def check_all():
    """Every marker in the tree is well formed; returns {lab: [files]}."""
    found = {}
    for name in tracked_files():
        if not name.endswith(MARKED_SUFFIXES):
            continue
        text = (ROOT / name).read_text()
        _, labs = strip_markers(text, 0, name)
        for lab in labs:
            found.setdefault(lab, []).append(name)
    return found


def write_tree(lab, dest, reuse_build):
    dest = Path(dest).resolve()
    if dest == ROOT or ROOT in dest.parents and not str(dest).startswith(str(ROOT / "build")):
        sys.exit("mklab: %s is inside the staff tree; pick a directory outside it "
                 "(or under build/)" % dest)
    handout = ROOT / "docs" / "labs" / ("lab%d.md" % lab)
    if not handout.is_file():
        sys.exit("mklab: there is no lab %d (no %s)" % (lab, handout.relative_to(ROOT)))
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    changed = 0
    for name in tracked_files():
        if left_out(name, lab):
            continue
        src, dst = ROOT / name, dest / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(MARKED_SUFFIXES):
            text = src.read_text()
            new, labs = strip_markers(text, lab, name)
            if labs:
                dst.write_text(new)
                changed += 1
                continue
        shutil.copy2(src, dst)
    shutil.copy2(handout, dest / "LAB.md")
    (dest / ".pagoda-lab").write_text("%d\n" % lab)
    if reuse_build and (ROOT / "build").is_dir():
        shutil.copytree(ROOT / "build", dest / "build", symlinks=True,
                        ignore=shutil.ignore_patterns("labs", "grade", "test-logs",
                                                      "test-isos"))
    leaks = [str(p.relative_to(dest)) for p in dest.rglob("*")
             if p.is_file() and p.suffix in MARKED_SUFFIXES
             and re.search(r"^\s*#\s*if\s+PAGODA_SOLUTION\(", p.read_text(errors="replace"), re.M)]
    if leaks:
        sys.exit("mklab: markers left in %s" % ", ".join(leaks))
    return changed


def main(argv):
    p = argparse.ArgumentParser(description="Write the student tree for lab N.")
    p.add_argument("lab", nargs="?", type=int)
    p.add_argument("dir", nargs="?")
    p.add_argument("--reuse-build", action="store_true",
                   help="copy build/ so that make rebuilds only what changed")
    p.add_argument("--check", action="store_true",
                   help="only check that every marker is well formed; list them")
    a = p.parse_args(argv)
    try:
        if a.check:
            for lab, files in sorted(check_all().items()):
                print("lab %d: %s" % (lab, ", ".join(sorted(set(files)))))
            return 0
        if a.lab is None or a.dir is None:
            p.error("give LAB and DIR (or --check)")
        n = write_tree(a.lab, a.dir, a.reuse_build)
    except MarkerError as e:
        sys.exit("mklab: %s" % e)
    print("mklab: lab %d tree in %s (%d files with stubs); start with %s/LAB.md"
          % (a.lab, a.dir, n, a.dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
