#!/usr/bin/env python3
"""asmlint.py - keep hand-copied numbers out of the assembly code.

    asmlint.py --defs build/gen/asmdefs.inc FILE...     check FILEs
    asmlint.py --defs build/gen/asmdefs.inc --self-test  check this checker

Structure offsets and architectural constants reach boot/*.asm and
kernel/x64/*.asm only through build/gen/asmdefs.inc, generated from the C
headers (kernel/x64/asmdefs.c). A number typed into an assembly file instead
is a copy that goes stale when the C changes; this checker rejects:

  1. a number inside a memory operand: [rsp + 24], [gs:0x18],
     [boot_pml4 + 511 * 8]. Offsets are named (KTRAP_FRAME_SegCs - ...),
     and so are scale factors (ecx * MMPTE_SIZE).
  2. a definition (NAME equ ..., %define NAME ...) of a name that
     asmdefs.inc defines, or of a number 16 or more that equals a value
     asmdefs.inc provides (KPCR_USER_RSP equ 0x10).
  3. a number 16 or more in an instruction operand or in data (push 0x33,
     mov ecx, 0xC0000080, dq 0x00AF9A000000FFFF, resb 4096, %rep 224),
     also when written as an expression of numbers (1 << 29).

Allowed, because they are not copies of anything:
  - numbers below 16 outside memory operands: push 0 for a missing error
    code, dw 0 for tag flags, CPUID leaf 1, the 8 between two pushed
    registers;
  - shift and rotate counts (shr eax, 32 - KI_BOOT_PAGE_SHIFT);
  - align, bits, section attributes, %assign counters, macro parameter
    counts, and numbers in strings and comments;
  - a local name for a number only the assembly uses, given once with
    equ (VGA_WHITE_ON_RED equ 0x4F), as long as rule 2 does not apply;
    when its value merely equals an unrelated generated one (the DWARF
    encodings of kernel/x64/cfi.inc), the line says so with a comment
    "asmlint: local", which lifts rule 2's value test (not its name test)
    for that line.

Not caught: a copy whose value asmdefs.inc does not provide and that is
below 16, or a local equ of a value nothing generated equals (USER_CS equ
0x33 would pass; push KGDT64_R3_CODE | RPL_MASK is the way).

Exit status 0 when clean; 1 with one "FILE:LINE: why" per finding.
"""
import argparse
import os
import re
import sys
import tempfile

SMALL = 16
SHIFTS = {"shl", "shr", "sal", "sar", "rol", "ror", "rcl", "rcr", "shld", "shrd"}
SKIP_DIRECTIVES = {"align", "alignb", "bits", "default", "global", "extern", "section",
                   "segment", "cpu", "use64", "use32"}
SKIP_PREPROC = {"%include", "%macro", "%imacro", "%error", "%warning", "%assign",
                "%endmacro", "%endif", "%else", "%endrep", "%rotate"}
RE_TOKEN = re.compile(r"[A-Za-z_.$?@%][\w.$?@#%]*|\d\w*")
RE_STRING = re.compile(r"\"[^\"]*\"|'[^']*'|`[^`]*`")


def number(tok):
    """The value of a NASM numeric literal, or None."""
    t = tok.replace("_", "").lower()
    try:
        if t.startswith(("0x", "0b", "0o")):
            return int(t, 0)
        if t.endswith("h") and re.fullmatch(r"[0-9][0-9a-f]*h", t):
            return int(t[:-1], 16)
        if t.endswith("b") and re.fullmatch(r"[01]+b", t):
            return int(t[:-1], 2)
        return int(t, 10)
    except ValueError:
        return None


def read_defs(path):
    defs = {}
    for line in open(path):
        m = re.match(r"%define\s+(\w+)\s+(\S+)", line)
        if m:
            defs[m.group(1)] = number(m.group(2))
    if not defs:
        sys.exit("%s: no %%define lines" % path)
    return defs


def strip(line):
    """The line without its comment and with strings blanked."""
    line = RE_STRING.sub('""', line)
    return line.split(";", 1)[0].strip()


def split_operands(text):
    """Operands at top level (commas inside brackets do not split)."""
    ops, depth, cur = [], 0, ""
    for c in text:
        depth += c == "["
        depth -= c == "]"
        if c == "," and depth == 0:
            ops.append(cur)
            cur = ""
        else:
            cur += c
    if cur.strip():
        ops.append(cur)
    return [o.strip() for o in ops]


def numeric_value(expr):
    """The value of EXPR when it is made of numbers and operators only."""
    toks = RE_TOKEN.findall(expr)
    if not toks or any(number(t) is None for t in toks):
        return None
    py = RE_TOKEN.sub(lambda m: str(number(m.group(0))), expr)
    if not re.fullmatch(r"[\d\s()+\-*/<>|&^~]*", py):
        return None
    try:
        return int(eval(py.replace("/", "//"), {"__builtins__": {}}))
    except Exception:
        return None


class Checker:
    def __init__(self, defs):
        self.defs = defs
        self.values = {v: n for n, v in defs.items() if v is not None and v >= SMALL}

    def definition(self, name, expr, what, local=False):
        if name in self.defs:
            return ["%s %s: %s comes from asmdefs.inc (the C headers); use it" % (
                what, name, name)]
        v = numeric_value(expr)
        if v is not None and v in self.values and not local:
            return ["%s %s = 0x%X: asmdefs.inc provides that value (as %s); "
                    "use the C constant it copies" % (what, name, v, self.values[v])]
        return []

    def operands(self, mnemonic, ops):
        found = []
        for i, op in enumerate(ops):
            for mem in re.findall(r"\[([^\]]*)\]", op):
                for tok in RE_TOKEN.findall(mem):
                    if number(tok) is not None:
                        found.append("number %s in memory operand [%s]: name the offset"
                                     % (tok, mem.strip()))
            if mnemonic in SHIFTS and i == len(ops) - 1 and i > 0:
                continue
            outside = re.sub(r"\[[^\]]*\]", " ", op)
            v = numeric_value(outside)
            if v is not None and abs(v) >= SMALL:
                found.append("number %s in operand: take it from asmdefs.inc or name it"
                             % outside.strip())
                continue
            for tok in RE_TOKEN.findall(outside):
                n = number(tok)
                if n is not None and n >= SMALL:
                    found.append("number %s in operand %s: take it from asmdefs.inc or name it"
                                 % (tok, outside.strip()))
        return found

    def line(self, raw):
        text = strip(raw)
        if not text:
            return []
        local = "asmlint: local" in raw
        m = re.match(r"^([A-Za-z_.$?@][\w.$?@#]*)\s+equ\s+(.*)$", text, re.I)
        if m:
            return self.definition(m.group(1), m.group(2), "equ", local)
        m = re.match(r"^%i?x?define\s+(\w+)\s*(.*)$", text, re.I)
        if m:
            return self.definition(m.group(1), m.group(2), "%define", local)
        m = re.match(r"^%assign\s+(\w+)", text, re.I)
        if m and m.group(1) in self.defs:
            return ["%%assign %s: %s comes from asmdefs.inc" % (m.group(1), m.group(1))]
        # A leading label ("name:") is not part of the statement.
        text = re.sub(r"^[A-Za-z_.$?@][\w.$?@#%]*:\s*", "", text)
        if not text:
            return []
        first = text.split(None, 1)
        word = first[0].lower()
        if word in SKIP_DIRECTIVES or word in SKIP_PREPROC:
            return []
        if word.startswith("%"):
            # %if, %elif, %rep: their whole argument is one expression.
            return self.operands(word, [first[1]] if len(first) > 1 else [])
        rest = first[1] if len(first) > 1 else ""
        # Prefixes and size keywords are not operands.
        while word in ("lock", "rep", "repe", "repne", "o64", "o32", "o16") and rest:
            first = rest.split(None, 1)
            word, rest = first[0].lower(), first[1] if len(first) > 1 else ""
        return self.operands(word, split_operands(rest))

    def file(self, path):
        out = []
        with open(path) as f:
            for n, raw in enumerate(f, 1):
                out += ["%s:%d: %s" % (path, n, why) for why in self.line(raw)]
        return out


# Planted violations: each must be reported. Allowed lines: none may be.
SELF_TEST_BAD = [
    "    mov rsp, [gs:0x18]",
    "    mov [gs:KPCR_UserRsp + 8], rax",
    "    test byte [rsp + 24], 3",
    "    mov [boot_pml4 + 511 * 8], eax",
    "    mov eax, [rbx + rcx * 8]",
    "KPCR_KERNEL_RSP equ 0x18",
    "KPCR_UserRsp equ 16",
    "%define PAGE_SIZE 4096",
    "MY_MSR equ 0xC0000080",
    "    push 0x33",
    "    push 0x100",
    "    mov ecx, 0xC0000080",
    "    test edx, 1 << 29",
    "    dq 0x00AF9A000000FFFF",
    "boot_stack: resb 4096",
    "%rep 224",
    "    add rsp, 16",
    "    lock or dword [rdi + 4], 0",
    "DW_CFA_offset equ 0x80",
    "%define PAGE_SIZE 4096 ; asmlint: local",
]
SELF_TEST_GOOD = [
    "    push 0                          ; error code",
    "    dw 0                            ; flags: 0 = required",
    "    mov eax, 1",
    "    shl eax, 21",
    "    shr eax, 32 - KI_BOOT_PAGE_SHIFT",
    "align 4096",
    "bits 32",
    "section .ex_table progbits alloc noexec nowrite align=8",
    "%assign i i + 1",
    "%macro KTRAP_ASSERT_ORDER 2-*",
    "%if KTRAP_FRAME_%2 - KTRAP_FRAME_%1 != 8",
    "VGA_WHITE_ON_RED equ 0x4F ; attribute",
    "    db \"0x1234 in a string [rsp+8]\", 13, 10, 0",
    "    mov rax, [gs:KPCR_KernelRsp]    ; [gs:0x18] in a comment",
    "    mov [boot_pd + ecx * MMPTE_SIZE + LARGE_INTEGER_HighPart], eax",
    "    push KGDT64_R3_CODE | RPL_MASK",
    "KiTrap%1:",
    "    lock or byte [rdi], 0",
    "    o64 sysret",
    "DW_CFA_offset equ 0x80 ; asmlint: local (DWARF)",
    "global KiTrap%1:function (%%end - KiTrap%1)",
]


def self_test(checker):
    failed = []
    for line in SELF_TEST_BAD:
        if not checker.line(line):
            failed.append("not reported: %r" % line)
    for line in SELF_TEST_GOOD:
        why = checker.line(line)
        if why:
            failed.append("reported but allowed: %r (%s)" % (line, why[0]))
    # And the whole path, on a planted file: exit status and FILE:LINE.
    with tempfile.NamedTemporaryFile("w", suffix=".asm", delete=False) as f:
        f.write("bits 64\n    mov rsp, [gs:0x18]\n")
    try:
        found = checker.file(f.name)
        if not (len(found) == 1 and found[0].startswith(f.name + ":2:")):
            failed.append("planted file: expected one finding on line 2, got %r" % found)
    finally:
        os.unlink(f.name)
    for why in failed:
        print("asmlint self-test: " + why)
    if failed:
        return 1
    print("asmlint self-test: %d planted violations reported, %d allowed lines accepted"
          % (len(SELF_TEST_BAD), len(SELF_TEST_GOOD)))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--defs", required=True, help="build/gen/asmdefs.inc")
    p.add_argument("--self-test", action="store_true")
    p.add_argument("files", nargs="*")
    a = p.parse_args()
    checker = Checker(read_defs(a.defs))
    if a.self_test:
        return self_test(checker)
    found = []
    for path in a.files:
        found += checker.file(path)
    for line in found:
        print(line)
    if found:
        print("asmlint: %d hand-copied number(s); see tools/asmlint.py for the rules"
              % len(found))
        return 1
    print("asmlint: %d files, no hand-copied numbers" % len(a.files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
