#!/usr/bin/env python3
"""tools/mkdisk.py - make a raw disk image for QEMU's IDE disk (io/drivers/ata.c).

    tools/mkdisk.py IMAGE [--size-mib N] [--pattern [--pagefile-mib P]] [--force]

Without --pattern (make run's disk): IMAGE of N MiB (default 130: a 129 MiB
pagefile, mm/pagefile.c) with a master boot record whose one partition,
type 0xDA ("non-filesystem data"), runs from LBA 2048 to the end: the
space reserved for the pagefile. An existing IMAGE is kept (data persists
between `make run`s) unless --force.

--pattern makes the test harness's disk (tests/run.py), one layout for
every boot that has a disk, with or without paging:

    LBA 0                   the MBR: two partitions
    LBA 1 .. 16383          the pattern (8 MiB; the ata.* tests and the
                            host's checks of what they wrote)
    Partition1, type 0xDA   LBA 16384, P MiB: the pagefile (zeros; the
                            kernel's to write, no test touches it)
    Partition2, type 0x7F   the last 1 MiB: the pattern (the partition.*
                            tests; the disk's last sector)

The pattern: sector L holds L as a little-endian 64-bit number, then bytes
(L + i) & 0xFF for offsets i = 8..511 (tests/kernel/test_ata.c). The image
is 8 + P + 1 MiB; --size-mib is ignored. 0x7F is the MBR type set aside
for experiments: the kernel gives it no meaning.
"""
import argparse
import os
import struct
import sys

SECTOR = 512
PARTITION_START = 2048
PARTITION_TYPE = 0xDA
# The pattern disk (--pattern); tests/kernel/test_ata.c and test_partition.c
# have the same numbers.
PATTERN_AREA = 16384        # sectors 0..16383 before the pagefile partition
TEST_PARTITION = 2048       # sectors of Partition2 at the end
TEST_PARTITION_TYPE = 0x7F

_BYTES = bytes(range(256)) * 3


def pattern_sector(lba):
    start = (lba + 8) & 0xFF
    return struct.pack("<Q", lba) + _BYTES[start:start + SECTOR - 8]


def entry(kind, first, count):
    """One MBR partition entry; CHS fields say "use LBA" (0xFE/0xFF/0xFF),
    as for disks past 8 GiB."""
    return struct.pack("<B3sB3sII", 0x00, b"\xfe\xff\xff", kind, b"\xfe\xff\xff", first, count)


def mbr(entries):
    """Sector 0: no boot code, the partition entries, the 0x55AA signature."""
    body = bytearray(SECTOR)
    body[440:444] = struct.pack("<I", 0x5041474F)   # disk signature "PAGO"
    for n, e in enumerate(entries):
        body[446 + 16 * n:462 + 16 * n] = e
    body[510:512] = b"\x55\xaa"
    return bytes(body)


def write_pattern(f, first, end):
    f.seek(first * SECTOR)
    for lba in range(first, end, 256):
        f.write(b"".join(pattern_sector(l) for l in range(lba, min(lba + 256, end))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("image")
    ap.add_argument("--size-mib", type=int, default=130)
    ap.add_argument("--pattern", action="store_true")
    ap.add_argument("--pagefile-mib", type=int, default=7,
                    help="with --pattern: the pagefile partition's size (default 7)")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    if os.path.exists(args.image) and not args.force:
        return 0
    if args.pattern:
        pagefile = args.pagefile_mib * 1024 * 1024 // SECTOR
        sectors = PATTERN_AREA + pagefile + TEST_PARTITION
        test_start = PATTERN_AREA + pagefile
        entries = [entry(PARTITION_TYPE, PATTERN_AREA, pagefile),
                   entry(TEST_PARTITION_TYPE, test_start, TEST_PARTITION)]
    else:
        sectors = args.size_mib * 1024 * 1024 // SECTOR
        if sectors <= PARTITION_START:
            sys.exit("mkdisk.py: %d MiB is too small" % args.size_mib)
        entries = [entry(PARTITION_TYPE, PARTITION_START, sectors - PARTITION_START)]
    os.makedirs(os.path.dirname(os.path.abspath(args.image)), exist_ok=True)
    tmp = args.image + ".tmp"
    with open(tmp, "wb") as f:
        f.write(mbr(entries))
        f.truncate(sectors * SECTOR)
        if args.pattern:
            write_pattern(f, 1, PATTERN_AREA)
            write_pattern(f, test_start, sectors)
    os.replace(tmp, args.image)
    if args.pattern:
        print("mkdisk.py: %s: %d sectors; pattern in LBA 1-%d and %d-%d; partition 1 (type "
              "0x%02X, %d MiB) at LBA %d; partition 2 (type 0x%02X) at LBA %d"
              % (args.image, sectors, PATTERN_AREA - 1, test_start, sectors - 1, PARTITION_TYPE,
                 args.pagefile_mib, PATTERN_AREA, TEST_PARTITION_TYPE, test_start))
    else:
        print("mkdisk.py: %s: %d MiB, partition 1 (type 0x%02X) at LBA %d"
              % (args.image, args.size_mib, PARTITION_TYPE, PARTITION_START))
    return 0


if __name__ == "__main__":
    sys.exit(main())
