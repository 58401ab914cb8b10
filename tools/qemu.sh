#!/usr/bin/env bash
# tools/qemu.sh - run a Pagoda ISO in QEMU with the project's standard flags.
#
#   tools/qemu.sh [OPTIONS] [ISO] [-- EXTRA_QEMU_ARGS...]
#
#   --iso ISO        the image (also the first non-option argument, or $ISO;
#                    default build/pagoda.iso)
#   --mem SIZE       guest RAM, QEMU syntax: 32M, 4G (or $MEM; default 256M)
#   --log FILE       headless, for tests: no display, serial to FILE, no
#                    monitor. Without it the run is interactive: serial on
#                    this terminal, with a VGA window when $DISPLAY is set
#                    and QEMU has a GUI (package qemu-system-gui), else
#                    -nographic (quit with Ctrl-A X).
#   --disk IMG       a raw disk image as the primary channel's master
#                    (-drive ...,if=ide,index=0: ports 0x1F0, IRQ 14); the
#                    CD stays on the secondary channel (index 2), so the
#                    boot from it is unchanged. Without it there is no disk.
#   --gdb            wait for gdb before the first instruction on
#                    localhost:1234 (-s -S); `make gdb` attaches to it
#   --gdb-port PORT  same on another TCP port (the test harness uses this)
#   --dry-run        print the QEMU command instead of running it
#   $EXTRA           further QEMU arguments, split on blanks; arguments after
#                    `--` are passed on unchanged
#
# Standard flags: TCG only (there is no usable KVM for this guest, see
# ../shared/DESIGN.md), `-cpu max` so that NX, SMEP, SMAP, PCID... exist,
# `-no-reboot` so a triple fault ends QEMU (status 0) instead of looping,
# and isa-debug-exit on port 0xF4: when the kernel writes byte B there,
# QEMU exits with status (B << 1) | 1, e.g.
#   33 success  35 tests failed  37 bugcheck  39 too little memory
#   41 GRUB could not load the kernel (boot/grub.cfg.in)
# This script execs QEMU, so its exit status is QEMU's. Under TCG a boot
# through SeaBIOS and GRUB to the first kernel output takes about 0.4 s.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

iso=${ISO:-}
mem=${MEM:-256M}
log=
disk=
gdb=
dry=0
extra=()
# shellcheck disable=SC2206  # $EXTRA is split on blanks on purpose
[[ -n ${EXTRA:-} ]] && extra=($EXTRA)

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
    case $1 in
    --iso) iso=$2; shift 2 ;;
    --iso=*) iso=${1#*=}; shift ;;
    --mem|-m) mem=$2; shift 2 ;;
    --mem=*) mem=${1#*=}; shift ;;
    --log) log=$2; shift 2 ;;
    --log=*) log=${1#*=}; shift ;;
    --disk) disk=$2; shift 2 ;;
    --disk=*) disk=${1#*=}; shift ;;
    --gdb) gdb=1234; shift ;;
    --gdb-port) gdb=$2; shift 2 ;;
    --gdb-port=*) gdb=${1#*=}; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage ;;
    --) shift; extra+=("$@"); break ;;
    -*) echo "qemu.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) iso=$1; shift ;;
    esac
done
iso=${iso:-$root/build/pagoda.iso}
if [[ ! -f $iso ]]; then
    echo "qemu.sh: $iso: no such ISO (run make first)" >&2
    exit 2
fi

cmd=(qemu-system-x86_64
    -accel tcg -cpu max -m "$mem"
    -no-reboot
    -device isa-debug-exit,iobase=0xf4,iosize=0x04
    -cdrom "$iso" -boot d
    -nic none)

if [[ -n $disk ]]; then
    cmd+=(-drive "file=$disk,format=raw,if=ide,index=0,media=disk")
fi

if [[ -n $log ]]; then
    cmd+=(-display none -serial "file:$log" -monitor none)
elif [[ -n ${DISPLAY:-} ]] && compgen -G '/usr/lib/*/qemu/ui-[gs][td][kl].so' >/dev/null; then
    # A window (GTK or SDL, from Debian's qemu-system-gui) shows the VGA
    # text screen; serial stays on this terminal.
    cmd+=(-serial stdio)
else
    cmd+=(-nographic)
fi

if [[ -n $gdb ]]; then
    # Listen on the loopback only, and hold the CPU at the reset vector.
    cmd+=(-gdb "tcp:127.0.0.1:$gdb" -S)
    [[ -z $log ]] && echo "qemu.sh: waiting for gdb on localhost:$gdb (make gdb)" >&2
fi

cmd+=("${extra[@]}")

if [[ $dry == 1 ]]; then
    printf '%q ' "${cmd[@]}"
    echo
    exit 0
fi

# Some QEMU builds warn once per feature that TCG cannot give `-cpu max`
# ("TCG doesn't support requested feature"); that is expected, so drop
# those lines and let every other message through.
exec "${cmd[@]}" 2> >(grep --line-buffered -v "TCG doesn't support requested feature" >&2)
