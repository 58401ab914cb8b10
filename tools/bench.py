#!/usr/bin/env python3
"""tools/bench.py - Pagoda's benchmarks (`make bench`; docs/performance.md).

Boots the kernel twice under QEMU TCG with -icount shift=0,sleep=off, where
the guest TSC counts executed instructions, so every figure is a
deterministic instruction count:

  kbench init=/bin/ubench   the in-kernel benchmarks (tests/kernel/kbench.c), then
                            the user-mode ones (user/bin/ubench.c), with an 8 MiB
                            IDE disk (build/bench/disk.img, tools/mkdisk.py: a
                            7 MiB pagefile partition) for disk_read_4k,
                            disk_write_4k and hard_fault
  kbench=boot               boot_to_shell: from KiSystemStartup to the
                            shell's first wait for input (default init)
  kbench=smp, -smp 2        ipi_roundtrip and ipi_generic_call: under -icount
                            QEMU runs the two processors one at a time, so
                            these count both processors' instructions

The three boots run side by side. Prints every `BENCH name=... insns_per_op=...
iters=...` line as the guest printed it, then a table with the target and
the Linux 6.1 reference (same QEMU) beside each figure, and writes the same
figures to build/bench.json. Exit status 0 when every benchmark reported a
figure (a missed target is reported, not an error), 1 otherwise.

  tools/bench.py [--kernel K] [--initrd I] [--json OUT] [--mem 512M]
                 [--timeout SECONDS] [--only micro|boot|smp]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name: (where, target insns/op, Linux 6.1 reference, unit of one op)
BENCHMARKS = {
    "null_syscall":           ("user",   100,        326,    "round trip (Linux: getppid)"),
    "null_read":              ("user",   300,        589,    "1-byte NtReadFile of \\Device\\Null, synchronous handle (Linux: read(2) of /dev/null)"),
    "ioctl_buffered":         ("user",   600,        None,   "64-byte METHOD_BUFFERED control, completed at once"),
    "disk_read_4k":           ("user",   12000,      47700,  "4 KiB NtReadFile of \\Device\\Harddisk0\\DR0 by bus-master DMA, instructions outside the idle loop (Linux: pread, O_DIRECT, same PIIX disk)"),
    "disk_write_4k":          ("user",   12000,      49900,  "4 KiB NtWriteFile of \\Device\\Harddisk0\\DR0 by bus-master DMA, instructions outside the idle loop (Linux: pwrite, O_DIRECT)"),
    "event_pingpong_thread":  ("user",   1000,       4670,   "one-way hand-off (Linux: futex)"),
    "event_pingpong_process": ("user",   1200,       5869,   "one-way hand-off, CR3 write (Linux: futex)"),
    "semaphore_pingpong_process": ("user", 1200,     None,   "one-way hand-off by semaphores, CR3 write"),
    "page_fault":             ("user",   1500,       3306,   "demand-zero fault, per page"),
    "soft_fault":             ("user",   600,        2200,   "transition -> valid after a trim, per page (Linux: write fault, page in page cache)"),
    "hard_fault":             ("kernel", 11000,      21700,  "a page read back from the pagefile through the DMA disk driver, per page: a hard fault reads up to 8 pages at consecutive slots in one IRP, the others cost a soft fault; instructions outside the idle loop (Linux: swap-in from the same disk, 8 pages per fault on average)"),
    "spawn":                  ("user",   80000,      414000, "create+run+exit+wait (Linux: fork+exec+exit+wait)"),
    "pool_nonpaged_64":       ("kernel", 80,         None,   "alloc+free pair"),
    "pool_paged_64":          ("kernel", 80,         None,   "alloc+free pair"),
    "pool_nonpaged_4k":       ("kernel", None,       None,   "alloc+free pair"),
    "event_set_wait":         ("kernel", 150,        None,   "KeSetEvent+KeWaitForSingleObject"),
    "mutex_uncontended":      ("kernel", 150,        None,   "KeWaitForSingleObject+KeReleaseMutex"),
    "apc_kernel":             ("kernel", 150,        None,   "KeInsertQueueApc+delivery of a special APC"),
    "named_open_close":       ("kernel", 1500,       None,   "open \\BaseNamedObjects\\KBench\\Event by name + close"),
    "boot_to_shell":          ("boot",   20000000,   None,   "KiSystemStartup to first prompt"),
    "ipi_roundtrip":          ("smp",    None,       None,   "a request to processor 1 and the wait for its answer, both processors' instructions (-smp 2)"),
    "ipi_generic_call":       ("smp",    None,       None,   "KeIpiGenericCall on 2 processors, barrier included, both processors' instructions"),
}

BENCH_RE = re.compile(r"^BENCH name=(\S+) insns_per_op=(\d+) iters=(\d+)$")
INFO_RE = re.compile(r"^BENCHINFO name=(\S+)((?: \w+=\S+)*)$")

QEMU_FLAGS = ["-accel", "tcg", "-cpu", "max", "-icount", "shift=0,sleep=off",
              "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
              "-display", "none", "-monitor", "none", "-nic", "none"]
QEMU_EXIT_SUCCESS = 33  # (HalExitSuccess 0x10 << 1) | 1, hal/power.c


def make_iso(kernel, initrd, iso, words):
    subprocess.run([os.path.join(ROOT, "tools", "mkiso.sh"), kernel, initrd, iso] + words,
                   check=True)


def start_qemu(iso, log, mem, disk=None, smp=1):
    if os.path.exists(log):
        os.remove(log)
    cmd = ["qemu-system-x86_64"] + QEMU_FLAGS + ["-m", mem, "-serial", "file:" + log,
                                                 "-cdrom", iso, "-boot", "d",
                                                 "-smp", str(smp)]
    if disk:  # the IDE disk of disk_read_4k / disk_write_4k, as tools/qemu.sh --disk
        cmd += ["-drive", "file=%s,format=raw,if=ide,index=0,media=disk" % disk]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def parse_log(path):
    """BENCH lines (as printed), figures, and BENCHINFO key=values."""
    lines, figures, info = [], {}, {}
    try:
        text = open(path, "rb").read().decode("utf-8", "replace")
    except OSError:
        return lines, figures, info
    for raw in text.splitlines():
        line = raw.strip("\r\x00 ")
        m = BENCH_RE.match(line)
        if m:
            lines.append(line)
            figures[m.group(1)] = (int(m.group(2)), int(m.group(3)))
            continue
        m = INFO_RE.match(line)
        if m:
            info[m.group(1)] = {k: int(v) if v.isdigit() else v
                                for k, v in (kv.split("=", 1) for kv in m.group(2).split())}
    return lines, figures, info


def fmt(n):
    return "-" if n is None else "{:,}".format(n)


def table(results):
    rows = [("benchmark", "insns/op", "iters", "target", "", "Linux 6.1", "vs Linux")]
    for name, (where, target, linux, _) in BENCHMARKS.items():
        r = results.get(name)
        if r is None:
            rows.append((name, "missing", "", fmt(target), "", fmt(linux), ""))
            continue
        n = r["insns_per_op"]
        ok = "" if target is None else ("ok" if n <= target else "MISSED")
        ratio = "" if not linux or not n else "%.1fx fewer" % (linux / n) if n < linux \
            else "%.1fx more" % (n / linux)
        rows.append((name, fmt(n), fmt(r["iters"]), fmt(target), ok, fmt(linux), ratio))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        out.append("  ".join(cells).rstrip())
        if i == 0:
            out.append("-" * len(out[0]))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel", default=os.path.join(ROOT, "build", "kernel.elf"))
    ap.add_argument("--initrd", default=os.path.join(ROOT, "build", "initrd.tar"))
    ap.add_argument("--json", default=os.path.join(ROOT, "build", "bench.json"))
    ap.add_argument("--mem", default="512M")
    ap.add_argument("--timeout", type=float, default=280.0,
                    help="seconds before a boot is stopped (default 280)")
    ap.add_argument("--only", choices=["micro", "boot", "smp"])
    args = ap.parse_args()

    work = os.path.join(ROOT, "build", "bench")
    os.makedirs(work, exist_ok=True)
    boots = {"micro": ["kbench", "init=/bin/ubench"], "boot": ["kbench=boot"],
             "smp": ["kbench=smp"]}
    if args.only:
        boots = {args.only: boots[args.only]}

    # A fresh 8 MiB image for the disk benchmarks (they write to it).
    disk = os.path.join(work, "disk.img")
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mkdisk.py"), disk,
                    "--size-mib", "8", "--force"], check=True, stdout=subprocess.DEVNULL)
    started = time.monotonic()
    procs = {}
    for name, words in boots.items():
        iso = os.path.join(work, name + ".iso")
        make_iso(args.kernel, args.initrd, iso, words)
        procs[name] = (start_qemu(iso, os.path.join(work, name + ".log"), args.mem,
                                  disk if name == "micro" else None,
                                  2 if name == "smp" else 1), words)

    failed = False
    for name, (proc, words) in procs.items():
        left = max(1.0, args.timeout - (time.monotonic() - started))
        try:
            proc.wait(timeout=left)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            print("bench: the '%s' boot did not finish in %d s" % (" ".join(words), args.timeout),
                  file=sys.stderr)
            failed = True
            continue
        if proc.returncode != QEMU_EXIT_SUCCESS:
            out = proc.stdout.read().decode("utf-8", "replace").strip()
            print("bench: the '%s' boot ended with QEMU status %d%s (log: %s)"
                  % (" ".join(words), proc.returncode, ": " + out if out else "",
                     os.path.join(work, name + ".log")), file=sys.stderr)
            failed = True
    elapsed = time.monotonic() - started

    results, lines = {}, []
    for name in procs:
        blines, figures, info = parse_log(os.path.join(work, name + ".log"))
        lines += blines
        for bench, (n, iters) in figures.items():
            results[bench] = {"insns_per_op": n, "iters": iters}
        for bench, kv in info.items():
            results.setdefault(bench, {})["info"] = kv

    for line in lines:
        print(line)
    print()
    print(table(results))
    pf = results.get("page_fault", {}).get("info")
    if pf:
        print("\npage_fault: %s of %s faults served pre-zeroed, %s zeroed on demand"
              % (fmt(pf.get("zeroed_served")), fmt(pf.get("faults")),
                 fmt(pf.get("zeroed_on_demand"))))
    hf = results.get("hard_fault", {}).get("info")
    if hf and hf.get("reads"):
        print("hard_fault: %s read IRPs brought back %s pages (%.2f per read; %s soft faults "
              "on the pages read ahead)" % (fmt(hf.get("reads")), fmt(hf.get("pages_read")),
                                            hf.get("pages_per_read_x100", 0) / 100.0,
                                            fmt(hf.get("soft_faults"))))
    boot = results.get("boot_to_shell", {}).get("info")
    if boot:
        print("boot_to_shell: %s instructions from power-on (BIOS and GRUB: %s); Linux 6.1 "
              "to /init: 1.7e9 TSC ticks" % (fmt(boot.get("power_on_tsc")),
                                               fmt(boot.get("kernel_entry_tsc"))))
    print("(%.0f s; -icount shift=0,sleep=off: one TSC tick per guest instruction)" % elapsed)

    doc = {"qemu_flags": QEMU_FLAGS + ["-m", args.mem], "benchmarks": {}}
    for name, (where, target, linux, unit) in BENCHMARKS.items():
        r = results.get(name)
        if r is None or "insns_per_op" not in r:
            failed = True
            print("bench: no figure for %s" % name, file=sys.stderr)
            continue
        entry = {"insns_per_op": r["insns_per_op"], "iters": r["iters"], "where": where,
                 "op": unit, "target": target, "linux_6_1": linux,
                 "meets_target": None if target is None else r["insns_per_op"] <= target}
        if "info" in r:
            entry.update(r["info"])
        doc["benchmarks"][name] = entry
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print("wrote %s" % os.path.relpath(args.json))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
