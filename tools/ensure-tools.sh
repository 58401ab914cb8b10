#!/usr/bin/env bash
# tools/ensure-tools.sh - install the host tools Pagoda needs, if missing.
#
#   tools/ensure-tools.sh            check, and apt-get install what is missing
#   tools/ensure-tools.sh --check    only check; exit 1 and name what is missing
#
# Needed: qemu-system-x86_64 (boot the kernel), nasm (boot/ and kernel/x64/
# assembly), grub-mkrescue + xorriso + mtools and the BIOS GRUB modules in
# /usr/lib/grub/i386-pc (make the ISO), gdb (make gdb, the gdb test) and
# python3 (tests/run.py). Quiet and quick when everything is present; else
# one line says what it installs and why. Uses sudo when not root. Safe to
# run again at any time (CI runs it on a fresh Debian 12 machine).
set -euo pipefail

check_only=0
[[ ${1:-} == --check ]] && check_only=1

# package : what must exist for it to count as installed : why we need it
wanted=(
    "qemu-system-x86:cmd:qemu-system-x86_64:to boot the kernel"
    "nasm:cmd:nasm:to assemble boot/ and kernel/x64/"
    "grub-common:cmd:grub-mkrescue:to build the ISO"
    "grub-pc-bin:dir:/usr/lib/grub/i386-pc:GRUB's BIOS modules for the ISO"
    "xorriso:cmd:xorriso:grub-mkrescue writes the ISO with it"
    "mtools:cmd:mformat:grub-mkrescue needs it"
    "gdb:cmd:gdb:make gdb and the gdb test"
    "python3:cmd:python3:tests/run.py"
)

missing=()
why=()
for w in "${wanted[@]}"; do
    IFS=: read -r pkg kind what reason <<<"$w"
    case $kind in
    cmd) command -v "$what" >/dev/null 2>&1 && continue ;;
    dir) [[ -d $what ]] && continue ;;
    esac
    missing+=("$pkg")
    why+=("$pkg ($reason)")
done

[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $check_only == 1 ]]; then
    echo "ensure-tools: missing: $(IFS=,; echo "${why[*]}" | sed 's/,/, /g')" >&2
    exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "ensure-tools: need root or sudo to install: ${missing[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-tools: no apt-get here; please install: ${why[*]}" >&2
    exit 1
fi

echo "ensure-tools: installing $(IFS=,; echo "${why[*]}" | sed 's/,/, /g')"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false)
log=$(mktemp "${TMPDIR:-/tmp}/ensure-tools.XXXXXX")
trap 'rm -f "$log"' EXIT
# apt-get is noisy; keep its output for when it fails.
if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update >"$log" 2>&1 ||
   ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install "${apt_opts[@]}" "${missing[@]}" >>"$log" 2>&1; then
    cat "$log" >&2
    echo "ensure-tools: apt-get failed" >&2
    exit 1
fi

# Check again: a package that installed but did not bring the tool is a bug
# in the list above, better found here than in the middle of a build.
exec bash "$0" --check
