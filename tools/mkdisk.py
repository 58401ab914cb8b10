#!/usr/bin/env python3
"""tools/mkdisk.py - make a raw disk image for QEMU's IDE disk (io/drivers/ata.c).

    tools/mkdisk.py IMAGE [--size-mib N] [--pattern] [--force]

Writes IMAGE (default size 130 MiB: a 129 MiB pagefile, mm/pagefile.c) with a master boot record whose one
partition, type 0xDA ("non-filesystem data"), runs from LBA 2048 to the
end: the space reserved for the pagefile. An existing IMAGE is kept (data
persists between `make run`s) unless --force.

--pattern fills every sector but the MBR with a pattern the kernel tests
know (tests/kernel/test_ata.c): the sector's LBA as a little-endian 64-bit
number, then bytes (LBA + i) & 0xFF for offsets i = 8..511. The test
harness (tests/run.py) makes such an image for its ktest boot and checks
afterwards the sectors the tests wrote.
"""
import argparse
import os
import struct
import sys

SECTOR = 512
PARTITION_START = 2048
PARTITION_TYPE = 0xDA


def pattern_sector(lba):
    head = struct.pack("<Q", lba)
    return head + bytes((lba + i) & 0xFF for i in range(8, SECTOR))


def mbr(sectors):
    """Sector 0: no boot code, one partition entry, the 0x55AA signature.
    CHS fields say "use LBA" (0xFE/0xFF/0xFF), as for disks past 8 GiB."""
    entry = struct.pack("<B3sB3sII", 0x00, b"\xfe\xff\xff", PARTITION_TYPE,
                        b"\xfe\xff\xff", PARTITION_START, sectors - PARTITION_START)
    body = bytearray(SECTOR)
    body[440:444] = struct.pack("<I", 0x5041474F)   # disk signature "PAGO"
    body[446:462] = entry
    body[510:512] = b"\x55\xaa"
    return bytes(body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("image")
    ap.add_argument("--size-mib", type=int, default=130)
    ap.add_argument("--pattern", action="store_true")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    if os.path.exists(args.image) and not args.force:
        return 0
    sectors = args.size_mib * 1024 * 1024 // SECTOR
    if sectors <= PARTITION_START:
        sys.exit("mkdisk.py: %d MiB is too small" % args.size_mib)
    os.makedirs(os.path.dirname(os.path.abspath(args.image)), exist_ok=True)
    tmp = args.image + ".tmp"
    with open(tmp, "wb") as f:
        f.write(mbr(sectors))
        if args.pattern:
            for lba in range(1, sectors):
                f.write(pattern_sector(lba))
        else:
            f.truncate(sectors * SECTOR)
    os.replace(tmp, args.image)
    print("mkdisk.py: %s: %d MiB, partition 1 (type 0x%02X) at LBA %d"
          % (args.image, args.size_mib, PARTITION_TYPE, PARTITION_START))
    return 0


if __name__ == "__main__":
    sys.exit(main())
