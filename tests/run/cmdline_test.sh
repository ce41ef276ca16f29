#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vmm-run's command line, natively: every bad option, missing file,
# non-bzImage kernel and damaged disk must give exactly one line on
# stderr naming the problem, nothing on stdout, status 2
# (Documentation/vmm-run.rst), and leave the files it was given as they
# were.  All of these are refused before /dev/vmm or /dev/kvm is opened,
# so they run on a host that cannot load the module.  TAP on stdout.
#
# Environment: VMM_BIN (default: ../bin next to this program, i.e.
# $(O)/bin when it runs from $(O)/native-tests).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "${VMM_BIN:-$here/../bin}" 2>/dev/null && pwd)
run=$bin/vmm-run
img=$bin/vmm-img

if [ ! -x "$run" ] || [ ! -x "$img" ]; then
	echo "1..0 # SKIP $run or $img not built"
	exit 0
fi

dir=$(mktemp -d)
res=$(mktemp -d)
trap 'rm -rf "$dir" "$res"' EXIT

# A bzImage as far as vmm-run's checks go: the setup header of boot
# protocol 2.15 with LOADED_HIGH and XLF_KERNEL_64, 4 setup sectors and a
# protected-mode part; no code (never run here).
poke() { printf "$2" | dd of="$1" bs=1 seek=$(($3)) conv=notrunc 2>/dev/null; }
stub=$dir/bzImage
dd if=/dev/zero of="$stub" bs=1024 count=8 2>/dev/null
poke "$stub" '\004' 0x1f1		# setup_sects
poke "$stub" 'HdrS' 0x202		# header magic
poke "$stub" '\017\002' 0x206		# version 2.15
poke "$stub" '\001' 0x211		# loadflags: LOADED_HIGH
poke "$stub" '\001' 0x236		# xloadflags: XLF_KERNEL_64
echo "not a kernel" >"$dir/text"
old=$dir/old-zimage			# a good header without LOADED_HIGH
cp "$stub" "$old"
poke "$old" '\000' 0x211
: >"$dir/empty"
mkdir "$dir/a-directory"
printf 'initrd' >"$dir/initrd"

# A dynamic VHD that is good, and a copy whose footer checksum is wrong
# (byte 0x40 of the footer, its copy at the start of the file too).
"$img" create -f dynamic "$dir/good.vhd" 16M >/dev/null || {
	echo "1..0 # SKIP vmm-img create failed"
	exit 0
}
cp "$dir/good.vhd" "$dir/bad.vhd"
size=$(stat -c %s "$dir/bad.vhd")
poke "$dir/bad.vhd" '\377\377\377\377' $((size - 512 + 0x40))
poke "$dir/bad.vhd" '\377\377\377\377' 0x40
# One whose dynamic header (where the footer points) is overwritten, and
# one cut short.
cp "$dir/good.vhd" "$dir/hdr.vhd"
hdr=$(od -An -tu1 -j 16 -N 8 "$dir/hdr.vhd" | awk '{ v = 0
	for (i = 1; i <= NF; i++) v = v * 256 + $i; print v }')
poke "$dir/hdr.vhd" 'garbage!' $((hdr + 16))
head -c 1536 "$dir/good.vhd" >"$dir/short.vhd"

n=0 failed=0
tap() {
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=1
	fi
}

# What is in the scratch directory, with every file's checksum: a
# refused command line must leave it exactly so.
state() { (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z |
	xargs -0 md5sum; find . | LC_ALL=C sort); }

# refused NAME PATTERN ARGS...: vmm-run ARGS exits 2 with one stderr line
# matching PATTERN (grep -E), says nothing on stdout, changes no file.
refused() {
	local name=$1 pattern=$2 rc before after
	shift 2
	before=$(state)
	(cd "$dir" && timeout 20 "$run" "$@" </dev/null \
		>"$res/out" 2>"$res/err")
	rc=$?
	after=$(state)
	lines=$(wc -l <"$res/err")
	why=
	[ "$rc" = 2 ] || why="$why status $rc, not 2;"
	[ "$lines" = 1 ] || why="$why $lines lines on stderr, not 1;"
	grep -qE -- "$pattern" "$res/err" ||
		why="$why stderr does not match /$pattern/;"
	grep -q '^vmm-run: ' "$res/err" ||
		why="$why stderr does not start with 'vmm-run: ';"
	[ -s "$res/out" ] && why="$why stdout not empty;"
	[ "$before" = "$after" ] || why="$why files changed;"
	if [ -z "$why" ]; then
		tap ok "$name: $(head -n 1 "$res/err")"
	else
		tap fail "$name:$why"
		sed 's/^/# stderr: /' "$res/err" | head -n 5
	fi
}

echo "1..31"
refused "no arguments" 'no kernel'
refused "no kernel" 'no kernel' -m 256 -c 1
refused "missing kernel file" 'nonexistent.*No such file' \
	-kernel nonexistent
refused "kernel is a directory" 'a-directory.*not a regular file' \
	-kernel a-directory
refused "kernel is not a bzImage" 'text: not a bzImage' -kernel text
refused "kernel loads low (zImage)" 'zImage' -kernel old-zimage
refused "empty kernel file" 'empty: not a bzImage' -kernel empty
refused "-m not a number" '-m lots: not a size' -m lots -kernel bzImage
refused "-m negative" '-m -5: not a size' -m -5 -kernel bzImage
refused "-m too small" '-m 16: must be 32 MiB' -m 16 -kernel bzImage
refused "-m too large" '-m 2T: must be' -m 2T -kernel bzImage
refused "-m bad suffix" '-m 4Q: not a size' -m 4Q -kernel bzImage
refused "-m not whole pages" '-m 33001K: must be .*4 KiB' \
	-m 33001K -kernel bzImage
refused "-c 0" '-c 0: vCPUs are 1 to' -c 0 -kernel bzImage
refused "-c not a number" '-c two: vCPUs are 1 to' -c two -kernel bzImage
refused "-c too many" '9999: vCPUs are 1 to' --cpus=9999 \
	-kernel bzImage
refused "unknown option" '--bogus: unknown option' --bogus -kernel bzImage
refused "unknown single-dash option" '-x: unknown option' -kernel bzImage -x
refused "stray argument" 'stray: unexpected argument' -kernel bzImage stray
refused "option without its value" '-kernel needs a value' -kernel
refused "flag given a value" '--no-reboot=yes takes no value' \
	--no-reboot=yes -kernel bzImage
refused "--accel bogus" '--accel bogus: vmm or kvm' --accel bogus \
	-kernel bzImage
refused "--accel empty" '--accel=.*: vmm or kvm' --accel= -kernel bzImage
refused "missing initrd" '-initrd nonexistent.*No such file' \
	-kernel bzImage -initrd nonexistent
refused "missing disk" 'nonexistent\.vhd' -kernel bzImage \
	-initrd initrd -disk nonexistent.vhd
refused "disk without a name" '-disk: no file named' -kernel bzImage \
	-disk ,ro
refused "second disk missing" 'missing\.img' -kernel bzImage \
	-disk good.vhd -disk missing.img
refused "VHD with a bad footer checksum" 'bad\.vhd' -kernel bzImage \
	-disk bad.vhd
refused "VHD with a damaged dynamic header" 'hdr\.vhd' \
	-kernel bzImage -disk hdr.vhd
refused "VHD cut short" 'short\.vhd' -kernel bzImage -disk good.vhd,ro \
	-disk short.vhd
# The good image next to the refused ones is still good.
if "$img" check "$dir/good.vhd" >/dev/null 2>&1; then
	tap ok "the good VHD is still clean (vmm-img check)"
else
	tap fail "the good VHD is still clean (vmm-img check)"
fi
exit $failed
