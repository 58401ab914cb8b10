#!/usr/bin/env python3
"""tools/check_layers.py - the layering and function-length rules of the
tree, checked on every `make test` (tests/run.py, step "layers").

    python3 tools/check_layers.py [ROOT]        check the tree (default: this one)
    python3 tools/check_layers.py --self-test   plant each kind of violation in a
                                                temporary tree and check that it is caught

Each violation is printed as "file:line: what (why)", then a count; the exit
status is 1 when there is any, 0 when there is none.

The rules
---------
Folders. Every C or header file belongs to the folder at the top of its path.
A *component* folder (kernel/, hal/, mm/, ob/, ps/, ex/, io/, rtl/) has exactly
one public header, named in COMPONENTS below (kernel/ke.h, mm/mm.h, ...).
Every other header in that folder, today's or tomorrow's, is *private* to it
(kernel/ki.h, mm/mi.h, mm/vadtree.h, ...): no file outside that folder may
include it. include/ holds the headers shared by everyone, user mode too.
user/ is ring-3 code. tests/ may include anything. A C or header file in any
other folder is itself a violation: the rule has to say where it belongs.

  1. private header: a file outside component X includes a header of X other
     than X's public header.
  2. user mode: a file under user/ includes a header outside include/, rtl/
     and user/ (a kernel header would compile against the wrong world).
  3. shared headers: a file under include/ or rtl/ includes a header outside
     include/ and rtl/ - user mode and the host tests include these, so they
     must not pull a kernel header in behind the user's back.

An #include is resolved as the compilers of the Makefile resolve it: the
including file's folder first (for "..." only), then -I. -Iinclude
-Iuser/include. Includes that resolve to no file of the tree (<string.h>)
are the C library's and are not checked. Comments are ignored.

  4. function length: a function defined in non-test C (kernel/ hal/ mm/ ob/
     ps/ ex/ io/ rtl/ user/, but not tests/ or user/tests/) may be at most
     MAX_FUNCTION_LINES long. Its length is counted from the line of the
     brace that opens its body to the line of the brace that closes it, both
     included, blank lines and comments too: what a reader scrolls through.
     The signature is not counted (a long parameter list is not a long body).

How functions are found: comments, strings, character constants and
preprocessor lines are blanked out (line numbers kept); a '{' at brace depth 0
whose preceding declaration text ends in ')' and contains no '=' opens a
function body, and the identifier before the parameter list names it.

Python 3 standard library only.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

MAX_FUNCTION_LINES = 80

# Component folder -> its one public header. Everything else in the folder
# is private to it.
COMPONENTS = {
    "kernel": "ke.h",
    "hal": "hal.h",
    "mm": "mm.h",
    "ob": "ob.h",
    "ps": "ps.h",
    "ex": "ex.h",
    "io": "io.h",
    "rtl": "rtl.h",
    "drivers": "ntddk.h",   # sample drivers (docs/drivers.md); each subfolder is one driver
}
SHARED = "include"            # everyone's headers, user mode's too
USER = "user"                 # ring-3 code
TESTS = "tests"               # may include anything
USER_MAY_INCLUDE = {SHARED, "rtl", USER}
SHARED_MAY_INCLUDE = {SHARED, "rtl"}
KNOWN = set(COMPONENTS) | {SHARED, USER, TESTS}

# Folders whose functions are held to MAX_FUNCTION_LINES; test folders are not.
LENGTH_FOLDERS = set(COMPONENTS) | {USER}
LENGTH_EXEMPT = ("tests/", "user/tests/")

# Folders never looked at: generated output and version control.
SKIP_DIRS = {"build", ".git"}

INCLUDE_DIRS = [".", "include", "user/include"]   # -I flags of the Makefile
C_SUFFIXES = (".c", ".h")
RE_INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def c_files(root):
    """Every .c and .h file of the tree, as paths relative to root."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in SKIP_DIRS and not d.startswith("."))
        for f in sorted(filenames):
            if f.endswith(C_SUFFIXES):
                out.append(Path(dirpath, f).relative_to(root).as_posix())
    return out


def blank_comments_and_strings(text):
    """Text with comments, strings and character constants replaced by
    spaces; newlines are kept so line numbers stay right."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def blank_preprocessor(text):
    """Blank every preprocessor line (and its backslash continuations)."""
    lines = text.split("\n")
    inside = False
    for k, line in enumerate(lines):
        if inside or line.lstrip().startswith("#"):
            inside = line.rstrip().endswith("\\")
            lines[k] = ""
    return "\n".join(lines)


# ---------------------------------------------------------------- includes

def resolve(root, includer, quote, name):
    """The tree-relative path an #include names, or None (a C library header)."""
    dirs = ([str(Path(includer).parent)] if quote == '"' else []) + INCLUDE_DIRS
    for d in dirs:
        p = os.path.normpath(os.path.join(d, name))
        if not p.startswith("..") and (root / p).is_file():
            return Path(p).as_posix()
    return None


def folder(path):
    return path.split("/", 1)[0] if "/" in path else ""


def include_violation(src, target):
    """Why src may not include target, or None when it may."""
    a, b = folder(src), folder(target)
    if a == TESTS or a == b:
        return None
    if a == USER and b not in USER_MAY_INCLUDE:
        return ("user-mode code includes %s: user/ may include only include/, "
                "rtl/ and user/ headers" % target)
    if a in (SHARED, "rtl") and b not in SHARED_MAY_INCLUDE:
        return ("%s/ is shared with user mode and the host tests, so it may "
                "include only include/ and rtl/ headers, not %s" % (a, target))
    if b in COMPONENTS and Path(target).name != COMPONENTS[b] \
            and target.endswith(".h"):
        return ("includes %s, a private header of %s/ (only %s/%s is public)"
                % (target, b, b, COMPONENTS[b]))
    if b in COMPONENTS and not target.endswith(".h"):
        return "includes %s, a source file of %s/" % (target, b)
    return None


def check_includes(root, path, text):
    problems = []
    stripped = blank_comments_and_strings_keep_includes(text)
    for lineno, line in enumerate(stripped.split("\n"), 1):
        m = RE_INCLUDE.match(line)
        if not m:
            continue
        target = resolve(root, path, m.group(1), m.group(2))
        if target is None:
            continue
        why = include_violation(path, target)
        if why:
            problems.append((path, lineno, why))
    return problems


def blank_comments_and_strings_keep_includes(text):
    """Comments blanked, but the "file" of an #include line kept."""
    blanked = blank_comments_and_strings(text).split("\n")
    original = text.split("\n")
    for k, line in enumerate(blanked):
        if re.match(r'^\s*#\s*include\s*"', line):
            m = RE_INCLUDE.match(original[k])
            if m:
                blanked[k] = original[k]
    return "\n".join(blanked)


# ---------------------------------------------------------------- functions

RE_IDENT = re.compile(r"[A-Za-z_]\w*")


def function_name(header):
    """The name of the function whose declaration text is header (everything
    since the previous ';' or '}' at depth 0), or None when it is not one."""
    h = header.rstrip()
    if not h.endswith(")") or "=" in h:
        return None
    # Walk back over paren groups: __attribute__((...)) after the parameters,
    # then the parameter list itself; the identifier before it is the name.
    end = len(h)
    while True:
        depth, i = 0, end - 1
        while i >= 0:
            if h[i] == ")":
                depth += 1
            elif h[i] == "(":
                depth -= 1
                if depth == 0:
                    break
            i -= 1
        if i < 0:
            return None
        m = re.search(r"([A-Za-z_]\w*)\s*$", h[:i])
        if not m:
            return None
        if m.group(1) in ("__attribute__", "__declspec"):
            end = len(h[:m.start()].rstrip())
            if not h[:end].endswith(")"):
                return None
            continue
        if m.group(1) in ("if", "while", "for", "switch", "return", "sizeof"):
            return None
        return m.group(1)


def functions(text):
    """(name, first line, last line) of each function body in C text."""
    code = blank_preprocessor(blank_comments_and_strings(text))
    found = []
    depth = 0
    header_start = 0
    open_at = None
    name = None
    line = 1
    for i, c in enumerate(code):
        if c == "\n":
            line += 1
        elif c == "{":
            if depth == 0:
                name = function_name(code[header_start:i])
                open_at = line
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                if name:
                    found.append((name, open_at, line))
                name = None
                header_start = i + 1
            depth = max(depth, 0)
        elif c == ";" and depth == 0:
            header_start = i + 1
    return found


def length_applies(path):
    return folder(path) in LENGTH_FOLDERS and not path.startswith(LENGTH_EXEMPT)


def check_lengths(path, text):
    problems = []
    for name, first, last in functions(text):
        n = last - first + 1
        if n > MAX_FUNCTION_LINES:
            problems.append((path, first, "%s is %d lines long (brace to brace); "
                             "non-test functions stay at most %d: split it into "
                             "helpers" % (name, n, MAX_FUNCTION_LINES)))
    return problems


# ---------------------------------------------------------------- the tree

def check_tree(root):
    """Every violation in the tree at root, as (file, line, why)."""
    root = Path(root)
    problems = []
    for path in c_files(root):
        text = (root / path).read_text(errors="replace")
        if folder(path) not in KNOWN:
            problems.append((path, 1, "%s/ is not a folder the layering rule "
                             "knows: add it to tools/check_layers.py (as a "
                             "component with its public header) or move the "
                             "file" % (folder(path) or ".")))
            continue
        problems += check_includes(root, path, text)
        if length_applies(path):
            problems += check_lengths(path, text)
    return problems


def main_check(root):
    problems = check_tree(root)
    for path, line, why in problems:
        print("%s:%d: %s" % (path, line, why))
    print("check_layers: %d violation%s" % (len(problems), "" if len(problems) == 1 else "s"))
    return 1 if problems else 0


# ---------------------------------------------------------------- self-test

CLEAN_TREE = {
    "include/ntdef.h": '#include <stdint.h>\ntypedef int LONG;\n',
    "kernel/ke.h": '#include "../include/ntdef.h"\nvoid KeThing(void);\n',
    "kernel/ki.h": '#include "ke.h"\n',
    "kernel/a.c": '#include "ki.h"\n#include "../mm/mm.h"\n'
                  '/* #include "../mm/mi.h" is only a comment */\n'
                  'static const char *S = "#include \\"../mm/mi.h\\"";\n'
                  'void KeThing(void)\n{\n' + "    ;\n" * 78 + '}\n',
    "mm/mm.h": '#include "ntdef.h"\n#include "pool.h"\n',
    "mm/pool.h": '',
    "mm/mi.h": '#include "mm.h"\n#include "../kernel/ke.h"\n',
    "mm/b.c": '#include "mi.h"\nint MiTable[] = {\n' + "    1,\n" * 100 + '};\n'
              'struct X {\n' + "    int a;\n" * 100 + '};\n',
    "rtl/rtl.h": '#include "../include/ntdef.h"\n#include <string.h>\n',
    "user/include/pagoda.h": '#include "ntdef.h"\n#include "../../rtl/rtl.h"\n',
    "user/bin/p.c": '#include "pagoda.h"\nint main(void)\n{\n    return 0;\n}\n',
    "user/tests/t.c": '#include "pagoda.h"\nvoid UtLong(void)\n{\n' + "    ;\n" * 100 + '}\n',
    "tests/kernel/t.c": '#include "../../kernel/ki.h"\n#include "../../mm/mi.h"\n'
                        'void KtLong(void)\n{\n' + "    ;\n" * 100 + '}\n',
}

# name -> (file to add or replace, its text, what the report must say)
PLANTED = {
    "private_header_across_folders": (
        "ps/c.c", '#include "../kernel/ki.h"\n', "ps/c.c:1: includes kernel/ki.h, a private header"),
    "new_private_header_is_private": (
        "ex/d.c", '\n#include "../mm/pool.h"\n', "ex/d.c:2: includes mm/pool.h, a private header"),
    "private_header_via_include_path": (
        "io/e.c", '#include <mm/mi.h>\n', "io/e.c:1: includes mm/mi.h, a private header"),
    "user_includes_kernel_header": (
        "user/bin/q.c", '#include "pagoda.h"\n#include "../../kernel/ke.h"\n',
        "user/bin/q.c:2: user-mode code includes kernel/ke.h"),
    "user_test_includes_kernel_header": (
        "user/tests/u.c", '#include "../../mm/mm.h"\n',
        "user/tests/u.c:1: user-mode code includes mm/mm.h"),
    "shared_header_includes_kernel_header": (
        "include/bad.h", '#include "../kernel/ke.h"\n',
        "include/bad.h:1: include/ is shared with user mode"),
    "unknown_folder": (
        "firmware/f.c", 'int x;\n', "firmware/f.c:1: firmware/ is not a folder"),
    "function_too_long": (
        "hal/g.c", '#include "hal.h"\n\nstatic int\nHalpLong(int a,\n         int b)\n{\n'
        + "    a++;\n" * 79 + '}\n', "hal/g.c:6: HalpLong is 81 lines long"),
    "function_with_attribute_too_long": (
        "rtl/h.c", 'void __attribute__((noreturn)) RtlLong(void)\n{\n    {\n'
        + "        ;\n" * 78 + '    }\n}\n', "rtl/h.c:2: RtlLong is 82 lines long"),
    "user_function_too_long": (
        "user/bin/r.c", 'int main(void)\n{\n' + "    ;\n" * 79 + '}\n',
        "user/bin/r.c:2: main is 81 lines long"),
}


def self_test():
    """Print PASS/FAIL lines and a closing line; return the exit status."""
    passed = failed = 0

    def result(name, problems, want):
        nonlocal passed, failed
        text = ["%s:%d: %s" % p for p in problems]
        if want is None:
            ok = not text
            why = "a clean tree reports: " + "; ".join(text)
        else:
            ok = len(text) == 1 and text[0].startswith(want)
            why = "want one violation starting '%s', got %s" % (want, text or "none")
        if ok:
            passed += 1
            print("PASS %s" % name)
        else:
            failed += 1
            print("FAIL %s: %s" % (name, why))

    with tempfile.TemporaryDirectory(prefix="check_layers.") as tmp:
        def plant(files):
            for rel, text in files.items():
                (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
                (Path(tmp) / rel).write_text(text)

        plant(CLEAN_TREE)
        result("clean_tree_passes", check_tree(tmp), None)
        for name, (rel, text, want) in PLANTED.items():
            plant({rel: text})
            result(name, check_tree(tmp), want)
            (Path(tmp) / rel).unlink()
        # The exit status, as make test sees it.
        rc = subprocess.run([sys.executable, __file__, tmp],
                            stdout=subprocess.DEVNULL).returncode
        result("clean_tree_exits_0", [] if rc == 0 else [("exit", rc, "status")], None)
        plant({"kernel/ki2.h": "", "ob/x.c": '#include "../kernel/ki2.h"\n'})
        rc = subprocess.run([sys.executable, __file__, tmp],
                            stdout=subprocess.DEVNULL).returncode
        result("violation_exits_1", [("exit", rc, "status")] if rc != 1 else
               [("x", 1, "exit 1")], "x:1: exit 1")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if args == ["--self-test"]:
        sys.exit(self_test())
    if len(args) > 1 or (args and args[0].startswith("-")):
        print(__doc__.split("\n\n")[1])
        sys.exit(2)
    sys.exit(main_check(Path(args[0]) if args else Path(__file__).resolve().parent.parent))
