#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench-disk: the disk layer (bench_vdisk) next to qemu-img bench
# -i io_uring and a plain liburing loop on the raw file (bench_uring, the
# ceiling), on a raw, a fixed, a dynamic and a differencing image of
# BENCH_SIZE bytes (default 1G) in BENCH_DIR.
#
#   bench.sh BINDIR
#
# Every column uses the page cache (no O_DIRECT: qemu-img -t writeback),
# with each file read once first so the cache is warm.  The same offsets
# in the same order for every tool: qemu-img bench's rule (start at 0,
# add the step, modulo the size).  "4K random" is a step of 4 KiB times
# the prime 104729, which visits every 4 KiB block of the file once per
# size/4K requests in a scattered order; "1M seq" a step of 1 MiB.  Each
# number is the best of BENCH_RUNS (default 3) runs.
set -euo pipefail

bin=$1
dir=${BENCH_DIR:-$bin}
size=${BENCH_SIZE:-1G}
runs=${BENCH_RUNS:-3}
vmm_img=$(dirname "$bin")/bin/vmm-img
mkdir -p "$dir"
cd "$dir"

bytes=$(numfmt --from=iec "$size")
rstep=$((4096 * 104729))
n4k=${BENCH_4K_COUNT:-300000}
n1m=${BENCH_1M_COUNT:-$((bytes / 1048576 * 4))}
# Writes into the fresh differencing disk are first writes: each one sets
# bitmap bits, which waits for its data to be stable (an fdatasync), so
# they are far slower; fewer of them keep the run short.
ndiffw=${BENCH_DIFF_WRITE_COUNT:-20000}

say() { echo "$@" >&2; }

if [ ! -s raw.img ] || [ "$(stat -c %s raw.img)" != "$bytes" ]; then
	say "bench-disk: making $size images in $dir"
	rm -f raw.img fixed.vhd dynamic.vhd base.vhd diff.vhd
	dd if=/dev/urandom of=raw.img bs=1M count=$((bytes / 1048576)) \
		status=none
	qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on \
		raw.img fixed.vhd
	qemu-img convert -f raw -O vpc -o subformat=dynamic,force_size=on \
		raw.img dynamic.vhd
fi
# The differencing disk is new each time: the write runs allocate in it.
rm -f base.vhd diff.vhd
cp dynamic.vhd base.vhd
"$vmm_img" create -b base.vhd diff.vhd >/dev/null

# Dirty pages from making the images (or from the last write test) are
# written back first, so that no test pays for another's writeback; then
# each file's cache is dropped and read back in one sequential pass, so
# that every file has its pages cached the same way (the size of the
# page-cache folios depends on how the pages got there, and a 4 KiB write
# into a 2 MiB folio dirties, and writes back, all of it).
warm() {
	local f

	sync
	for f in "$@"; do
		dd if="$f" iflag=nocache count=0 status=none
		cat "$f" >/dev/null
	done
}

# best TOOL FILE ARGS...: the best IOPS of $runs runs, or "n/a".
best() {
	local tool=$1 file=$2 b=0 v i
	shift 2
	for ((i = 0; i < runs; i++)); do
		case $tool in
		ours)	v=$("$bin/bench_vdisk" "$@" "$file" 2>/dev/null |
				awk '{ print $8 }') || v= ;;
		ceiling) v=$("$bin/bench_uring" "$@" "$file" 2>/dev/null |
				awk '{ print $8 }') || v= ;;
		qemu-raw|qemu-vpc)
			v=$(qemu-img bench -f "${tool#qemu-}" -i io_uring \
				-t writeback "$@" "$file" 2>/dev/null |
			    awk -v c="$count" '/Run completed in/ {
				printf "%.0f", c / $4 }') || v= ;;
		esac
		[ -n "$v" ] || { echo n/a; return; }
		b=$(awk -v a="$b" -v v="$v" 'BEGIN { print (v > a ? v : a) }')
	done
	echo "$b"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "n/a" || b == "n/a" || b == 0) print "-";
		else printf "%.2fx", a / b }'
}

tests=(
	"4K random read QD1|-c $n4k -d 1 -s 4k -S $rstep"
	"4K random read QD32|-c $n4k -d 32 -s 4k -S $rstep"
	"1M seq read QD8|-c $n1m -d 8 -s 1M -S 1M"
	"4K random write QD1|-w -c $n4k -d 1 -s 4k -S $rstep"
	"4K random write QD32|-w -c $n4k -d 32 -s 4k -S $rstep"
	"1M seq write QD8|-w -c $n1m -d 8 -s 1M -S 1M"
)

echo "vmm disk benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r)"
echo "images of $size in $dir; page cache (buffered) for every column, each"
echo "file's cache dropped and read back sequentially before its rows;"
qv=$(qemu-img --version | head -n 1 | awk '{ print $3 }')
echo "IOPS (for the 1M rows IOPS = MiB/s), best of $runs;"
echo "qemu-img $qv bench -i io_uring -t writeback;"
echo "ceiling: a plain liburing loop on raw.img (bench_uring)"
echo
declare -A ceiling
printf "%-8s %-21s %10s %10s %9s %10s %9s\n" file test ours qemu-img \
	ours/qemu ceiling ours/ceil
for f in raw fixed dynamic diff; do
	case $f in
	raw) file=raw.img; q=qemu-raw ;;
	diff) file=diff.vhd; q=none ;;
	*) file=$f.vhd; q=qemu-vpc ;;
	esac
	warm "$file" raw.img
	[ $f = diff ] && warm base.vhd
	for t in "${tests[@]}"; do
		name=${t%%|*}
		key=$name
		read -r -a args <<<"${t#*|}"
		case $name in *write*) sync ;; esac
		if [ $f = diff ] && [[ $name == *write* ]]; then
			for i in "${!args[@]}"; do
				[ "${args[$i]}" = -c ] && [[ $name == 4K* ]] &&
					args[$((i + 1))]=$ndiffw
			done
			true
			name="$name *"
		fi
		count=$(printf '%s\n' "${args[@]}" | awk 'p { print; exit }
			$0 == "-c" { p = 1 }')
		ours=$(best ours "$file" "${args[@]}")
		if [ $q = none ]; then
			qemu=n/a
		else
			qemu=$(best $q "$file" "${args[@]}")
		fi
		# The ceiling is the raw file's, the same for every row.
		if [ -z "${ceiling[$key]:-}" ]; then
			warm raw.img
			ceiling[$key]=$(best ceiling raw.img "${args[@]}")
		fi
		ceil=${ceiling[$key]}
		printf "%-8s %-21s %10s %10s %9s %10s %9s\n" $f "$name" \
			"$ours" "$qemu" "$(ratio "$ours" "$qemu")" "$ceil" \
			"$(ratio "$ours" "$ceil")"
	done
done
echo
echo "* first writes into the new differencing disk, $ndiffw requests: each"
echo "  sets bitmap bits after an fdatasync of its data (disks.rst's ordering)."
echo "qemu-img cannot read differencing VHDs (its vpc driver has no parent"
echo "support), so that row has no qemu column.  Goals (issue 3): ours/qemu"
echo ">= 1.5x on the VHD rows; ours/ceiling >= 0.9x for 1M sequential."
