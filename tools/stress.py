#!/usr/bin/env python3
"""tools/stress.py - make stress: page for a long time and check every byte.

    tools/stress.py [--seconds N] [--mem 32M] [--pagefile-mib 160]
                    [--processes 4] [--size-mib 24] [--kernel K] [--initrd I]

Boots Pagoda with little RAM and a pagefile on a fresh disk image
(build/stress-disk.img, made by tools/mkdisk.py) and runs

    /bin/pagestress -p PROCESSES -t SECONDS SIZE

as init: PROCESSES processes each write a pattern over SIZE MiB and read it
back, round after round, until SECONDS have passed (docs/paging.md). With
the defaults the processes together commit three times the RAM, so pages
go out to the pagefile and come back all the time. Passes when every
round of every process found every word right and the system powered off
cleanly (QEMU exit status 33). Not part of `make test`: it takes ten
minutes by default.
"""
import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXIT_SUCCESS = 33
RE_ROUND = re.compile(r"pagestress\[(\d+)\]: round (\d+): .* (\d+) bad words")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--mem", default="32M")
    ap.add_argument("--pagefile-mib", type=int, default=160)
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--size-mib", type=int, default=24)
    ap.add_argument("--kernel", default=str(ROOT / "build" / "kernel.elf"))
    ap.add_argument("--initrd", default=str(ROOT / "build" / "initrd.tar"))
    args = ap.parse_args()

    build = ROOT / "build"
    disk, iso, log = build / "stress-disk.img", build / "stress.iso", build / "stress.log"
    subprocess.run([sys.executable, str(ROOT / "tools" / "mkdisk.py"), str(disk), "--force",
                    "--size-mib", str(args.pagefile_mib + 2)], check=True)
    words = ["pagefile=%dM" % args.pagefile_mib, "init=/bin/pagestress", "-p",
             str(args.processes), "-t", str(args.seconds), str(args.size_mib)]
    subprocess.run([str(ROOT / "tools" / "mkiso.sh"), args.kernel, args.initrd, str(iso)] + words,
                   check=True, stdout=subprocess.DEVNULL)
    print("stress: %s RAM, %d MiB pagefile, %d processes x %d MiB for %d s; log in %s"
          % (args.mem, args.pagefile_mib, args.processes, args.size_mib, args.seconds, log))
    started = time.time()
    try:
        rc = subprocess.run([str(ROOT / "tools" / "qemu.sh"), "--mem", args.mem, "--disk",
                             str(disk), "--log", str(log), str(iso)],
                            timeout=args.seconds * 3 + 300).returncode
    except subprocess.TimeoutExpired:
        rc = None
    text = log.read_text(errors="replace") if log.exists() else ""
    rounds = [m.groups() for m in RE_ROUND.finditer(text)]
    bad = sum(int(b) for _, _, b in rounds)
    processes = len({p for p, _, _ in rounds})
    print("stress: %d rounds in %d processes, %d bad words, %.0f s, QEMU exit %s"
          % (len(rounds), processes, bad, time.time() - started, rc))
    ok = (rc == EXIT_SUCCESS and bad == 0 and processes == args.processes
          and "pagestress[" in text and ": FAIL" not in text)
    if not ok:
        for line in text.splitlines()[-20:]:
            print("| " + line)
    print("stress: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
