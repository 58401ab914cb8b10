#!/usr/bin/env python3
"""tools/pictures.py - draw pictures of a live Pagoda (make pictures).

    python3 tools/pictures.py [--out build/pictures] [--check]

Boots Pagoda in QEMU with `init=/bin/vademo 20000` (two processes that
write three pages at the same virtual address and hold them), and while it
runs attaches gdb twice (tools/gdb/snapshot.py): once before the children
start, once while they hold their pages. From what gdb read it draws:

  aspace.svg   the seeds' picture, from the real page tables: process A and
               process B side by side, the same three virtual pages in each,
               the physical frames each maps them to, and the two PML4s:
               the user half private, the system half the same entries in
               both, the self-map slot (0x1ED) pointing at each process's
               own PML4.
  physmem.svg  physical memory coloured by what each frame is used for
               (from the PFN database), before and during the demo, with
               the frames that changed outlined.
  snapshot-before.json, snapshot-during.json   what gdb read.

With rsvg-convert (librsvg2-bin) or ImageMagick's convert installed, a PNG
of each picture is written too. --check also verifies what the pictures
claim (same virtual pages, different frames; identical system half) and
exits non-zero otherwise: make test runs it that way.

Python 3 standard library only; needs qemu, gdb and a built tree.
"""

import argparse
import html
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
HOLD_MS = 20000
DEMO_VA = 0x7F793950000
SELF_MAP = 0x1ED
HYPERSPACE = 0x1EE

USAGE_COLOURS = {
    "MiUsageFree": "#f2f2f2", "zeroed": "#dcefdc", "MiUsageKernelImage": "#1f77b4", "MiUsageLoaderBlock": "#aec7e8",
    "MiUsagePageTable": "#ff7f0e", "MiUsagePfnDatabase": "#9467bd",
    "MiUsageNonPagedPool": "#2ca02c", "MiUsagePagedPool": "#98df8a",
    "MiUsageKernelStack": "#d62728", "MiUsageUser": "#e377c2", "MiUsageSystemPte": "#8c564b",
    "MiUsageDriver": "#bcbd22", "MiUsageSharedUserData": "#17becf",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(log, text, timeout, proc):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def snapshot(port, out):
    env = dict(os.environ, PAGODA_GDB_PORT=str(port), PAGODA_SNAPSHOT=str(out),
               PAGODA_DEMO_VA=hex(DEMO_VA))
    r = subprocess.run(["gdb", "-nx", "-batch", "-x", str(ROOT / "tools/gdb/snapshot.py"),
                        str(BUILD / "kernel.elf")], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if r.returncode != 0 or not out.exists():
        sys.exit("pictures: gdb could not take the snapshot:\n" + r.stdout.decode(errors="replace"))
    return json.loads(out.read_text())


def take_snapshots(out_dir):
    iso = out_dir / "pictures.iso"
    log = out_dir / "serial.log"
    subprocess.run(["bash", str(ROOT / "tools/mkiso.sh"), str(BUILD / "kernel.elf"),
                    str(BUILD / "initrd.tar"), str(iso), "quiet", "init=/bin/vademo",
                    str(HOLD_MS)], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    if log.exists():
        log.unlink()
    # -gdb without -S: the guest runs at once; gdb attaches (stopping it) and
    # detaches (it goes on) when the log says the moment has come.
    proc = subprocess.Popen(["bash", str(ROOT / "tools/qemu.sh"), "--mem", "64M", "--log", str(log), "--iso",
                             str(iso), "--", "-gdb", "tcp:127.0.0.1:%d" % port],
                            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        if not wait_for(log, "children start in 1 s", 120, proc):
            sys.exit("pictures: vademo did not start (see %s)" % log)
        before = snapshot(port, out_dir / "snapshot-before.json")
        if not wait_for(log, "vademo: holding for", 120, proc):
            sys.exit("pictures: the children did not report their frames (see %s)" % log)
        during = snapshot(port, out_dir / "snapshot-during.json")
    finally:
        try:
            os.killpg(proc.pid, 15)
        except ProcessLookupError:
            pass
        proc.wait()
    return before, during


def demo_children(snap):
    """The two vademo children (A and B), found by the letter they wrote."""
    kids = {}
    for p in snap["processes"]:
        pages = p["pages"]
        if p["name"].startswith("vademo") and all(pg["pfn"] is not None for pg in pages):
            letters = {pg["byte"] for pg in pages}
            if len(letters) == 1:
                kids[chr(letters.pop())] = p
    return kids.get("A"), kids.get("B")


# ------------------------------------------------------------------ drawing

class Svg:
    def __init__(self, width, height):
        self.w, self.h, self.parts = width, height, []

    def rect(self, x, y, w, h, fill, stroke="none", sw=1, rx=0):
        self.parts.append('<rect x="%g" y="%g" width="%g" height="%g" fill="%s" stroke="%s" '
                          'stroke-width="%g" rx="%g"/>' % (x, y, w, h, fill, stroke, sw, rx))

    def row(self, x, y, cell, height, colours):
        """One row of cells, COLOURS left to right; a run of cells of one
        colour is drawn as one rectangle (the file stays small)."""
        start = 0
        for i in range(1, len(colours) + 1):
            if i == len(colours) or colours[i] != colours[start]:
                self.rect(x + start * cell, y, (i - start) * cell, height, colours[start])
                start = i

    def text(self, x, y, s, size=13, anchor="start", weight="normal", fill="#222"):
        self.parts.append('<text x="%g" y="%g" font-family="DejaVu Sans Mono, monospace" '
                          'font-size="%g" text-anchor="%s" font-weight="%s" fill="%s">%s</text>'
                          % (x, y, size, anchor, weight, fill, html.escape(s)))

    def line(self, x1, y1, x2, y2, colour, sw=2):
        self.parts.append('<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="%g" '
                          'marker-end="url(#arrow)"/>' % (x1, y1, x2, y2, colour, sw))

    def save(self, path):
        head = ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
                'viewBox="0 0 %d %d">\n<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" '
                'refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
                '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>\n'
                '<rect width="100%%" height="100%%" fill="white"/>\n'
                % (self.w, self.h, self.w, self.h))
        path.write_text(head + "\n".join(self.parts) + "\n</svg>\n")


def pml4_strip(svg, x, y, pml4, other, label):
    """512 cells, one per PML4 slot: present or not, and whether the other
    process has the very same entry there."""
    svg.text(x, y - 6, label, 12)
    cell = 1.75
    colours = []
    for i, e in enumerate(pml4):
        present = e & 1
        if not present:
            colours.append("#eeeeee")
        elif i == SELF_MAP:
            colours.append("#d62728")
        elif i == HYPERSPACE:
            colours.append("#ff9896")
        elif i >= 256:
            colours.append("#1f77b4" if e == other[i] else "#ff7f0e")
        else:
            colours.append("#e377c2")
    svg.row(x, y, cell, 18, colours)
    svg.rect(x, y, 512 * cell, 18, "none", "#999", 0.5)
    svg.text(x, y + 32, "0x000", 10)
    svg.text(x + 256 * cell, y + 32, "0x100: system half", 10, "middle")
    svg.text(x + 512 * cell, y + 32, "0x1FF", 10, "end")


def draw_aspace(snap, path):
    a, b = demo_children(snap)
    svg = Svg(1000, 620)
    svg.text(500, 30, "Two processes, one virtual address, different frames", 18, "middle", "bold")
    svg.text(500, 52, "read from the page tables of a running Pagoda (tools/pictures.py)", 12,
             "middle", fill="#666")
    frames = sorted({pg["pfn"] for p in (a, b) for pg in p["pages"]})
    fy = {pfn: 120 + i * 46 for i, pfn in enumerate(frames)}
    for col, p, colour, x in (("A", a, "#1f77b4", 60), ("B", b, "#ff7f0e", 760)):
        svg.text(x + 90, 90, "process %s  (PID %d, CR3 0x%x)" % (col, p["pid"], p["cr3"]), 13,
                 "middle", "bold", colour)
        for i, pg in enumerate(p["pages"]):
            y = 130 + i * 90
            svg.rect(x, y, 180, 40, "#fff", colour, 2, 4)
            svg.text(x + 90, y + 17, "VA 0x%X" % pg["va"], 12, "middle")
            svg.text(x + 90, y + 33, "holds '%s'" % chr(pg["byte"]), 11, "middle", fill="#666")
            fx, tx = (x + 180, 420) if col == "A" else (x, 580)
            svg.line(fx, y + 20, tx, fy[pg["pfn"]] + 18, colour)
    svg.text(500, 100, "physical frames", 13, "middle", "bold")
    for pfn in frames:
        svg.rect(420, fy[pfn], 160, 36, "#f7f7f7", "#555", 1, 3)
        svg.text(500, fy[pfn] + 23, "PFN 0x%x" % pfn, 12, "middle")
    base = 120 + len(frames) * 46 + 30
    svg.text(60, base, "PML4 of each process, slot by slot:", 13, weight="bold")
    pml4_strip(svg, 60, base + 24, a["pml4"], b["pml4"], "A")
    pml4_strip(svg, 60, base + 84, b["pml4"], a["pml4"], "B")
    same = sum(1 for i in range(256, 512) if a["pml4"][i] & 1 and a["pml4"][i] == b["pml4"][i])
    legend = [("#e377c2", "user half: private to the process"),
              ("#1f77b4", "system half: the same entry in both (%d slots)" % same),
              ("#d62728", "0x1ED self-map: points at the process's own PML4"),
              ("#ff9896", "0x1EE hyperspace: per process")]
    for i, (c, t) in enumerate(legend):
        svg.rect(60 + (i % 2) * 460, base + 140 + (i // 2) * 22, 14, 14, c)
        svg.text(80 + (i % 2) * 460, base + 152 + (i // 2) * 22, t, 12)
    svg.h = base + 200
    svg.save(path)


def draw_physmem(before, during, path):
    names = {int(k): v for k, v in during["usage_names"].items()}
    cols, cell = 256, 3
    rows_b = sum((len(r["usage"]) + cols - 1) // cols for r in before["frames"])
    panel_h = rows_b * cell + 50
    svg = Svg(cols * cell * 2 + 120, panel_h + 220)
    svg.text(svg.w / 2, 28, "Physical memory by use (PFN database)", 18, "middle", "bold")
    counts = {}
    for pi, (title, snap, other) in enumerate((("before the demo", before, None),
                                               ("while vademo's children hold their pages",
                                                during, before))):
        x0, y = 40 + pi * (cols * cell + 40), 70
        svg.text(x0, y - 10, title, 13, weight="bold")
        for ri, run in enumerate(snap["frames"]):
            prev = other["frames"][ri]["usage"] if other else None
            lists = {int(k): v for k, v in snap["list_names"].items()}
            colours = []
            for i, u in enumerate(run["usage"]):
                name = names.get(u, "?")
                if name == "MiUsageFree" and lists.get(run["location"][i]) == "ZeroedPageList":
                    name = "zeroed"
                if pi == 1:
                    counts[name] = counts.get(name, 0) + 1
                changed = prev is not None and i < len(prev) and prev[i] != u
                colours.append("#000" if changed else USAGE_COLOURS.get(name, "#777"))
            for r0 in range(0, len(colours), cols):
                svg.row(x0, y + (r0 // cols) * cell, cell, cell, colours[r0:r0 + cols])
            y += ((len(run["usage"]) + cols - 1) // cols) * cell + 10
    y = panel_h + 60
    for i, (name, colour) in enumerate(USAGE_COLOURS.items()):
        x = 40 + (i % 3) * 300
        yy = y + (i // 3) * 22
        svg.rect(x, yy - 11, 14, 14, colour, "#999", 0.5)
        label = "Free, on the zeroed list" if name == "zeroed" else name.replace("MiUsage", "")
        svg.text(x + 20, yy, "%s (%d)" % (label, counts.get(name, 0)), 12)
    svg.rect(40, y + 5 * 22 - 11, 14, 14, "#000")
    svg.text(60, y + 5 * 22, "changed between the two snapshots", 12)
    svg.text(40, y + 6 * 22 + 8, "one cell per 4 KiB frame, %d frames a row; counts are the "
             "second snapshot's" % cols, 11, fill="#666")
    svg.save(path)


def to_png(svg):
    png = svg.with_suffix(".png")
    if shutil.which("rsvg-convert"):
        cmd = ["rsvg-convert", "-o", str(png), str(svg)]
    elif shutil.which("convert") and "ImageMagick" in subprocess.run(
            ["convert", "-version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True).stdout:
        cmd = ["convert", str(svg), str(png)]
    else:
        return None
    return png if subprocess.run(cmd, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL).returncode == 0 else None


def check(before, during):
    """What the pictures claim, verified; returns a list of problems."""
    problems = []
    a, b = demo_children(during)
    if not a or not b:
        return ["the two vademo children were not found with their pages mapped"]
    pa = [pg["pfn"] for pg in a["pages"]]
    pb = [pg["pfn"] for pg in b["pages"]]
    if set(pa) & set(pb):
        problems.append("A and B share frames %s" % sorted(set(pa) & set(pb)))
    if [pg["va"] for pg in a["pages"]] != [pg["va"] for pg in b["pages"]]:
        problems.append("A and B pages are not at the same virtual addresses")
    system = [i for i in range(256, 512) if i not in (SELF_MAP, HYPERSPACE)]
    diff = [hex(i) for i in system if a["pml4"][i] != b["pml4"][i]]
    if diff:
        problems.append("system-half PML4 entries differ at %s" % ", ".join(diff[:5]))
    if (a["pml4"][SELF_MAP] & 0x000FFFFFFFFFF000) != (a["cr3"] & 0x000FFFFFFFFFF000):
        problems.append("A's self-map entry does not point at its own PML4")
    if (b["pml4"][SELF_MAP] & 0x000FFFFFFFFFF000) != (b["cr3"] & 0x000FFFFFFFFFF000):
        problems.append("B's self-map entry does not point at its own PML4")
    users = sum(1 for r in during["frames"] for u in r["usage"]
                if during["usage_names"].get(str(u)) == "MiUsageUser")
    users_before = sum(1 for r in before["frames"] for u in r["usage"]
                       if before["usage_names"].get(str(u)) == "MiUsageUser")
    if users < users_before + 2 * len(pa):
        problems.append("only %d user frames during the demo, %d before" % (users, users_before))
    return problems


def main(argv):
    p = argparse.ArgumentParser(description="Draw pictures of a live Pagoda.")
    p.add_argument("--out", default=str(BUILD / "pictures"))
    p.add_argument("--check", action="store_true",
                   help="verify what the pictures show; exit 1 if not")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for f in ("kernel.elf", "initrd.tar"):
        if not (BUILD / f).is_file():
            sys.exit("pictures: build/%s is missing: run make first" % f)
    before, during = take_snapshots(out)
    problems = check(before, during)
    if problems and a.check:
        print("pictures: FAIL: " + "; ".join(problems))
        return 1
    draw_aspace(during, out / "aspace.svg")
    draw_physmem(before, during, out / "physmem.svg")
    written = [out / "aspace.svg", out / "physmem.svg"]
    written += [png for png in map(to_png, list(written)) if png]
    print("pictures: " + ", ".join(os.path.relpath(w) for w in written))
    if problems:
        print("pictures: note: " + "; ".join(problems))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
