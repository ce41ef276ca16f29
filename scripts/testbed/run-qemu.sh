#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots Debian's kernel with the test initramfs in QEMU TCG (AMD-V emulated,
# nested paging) and runs one /init job.
#
#   run-qemu.sh [-n NAME] [-j JOB] [-c CPUS] [-m MiB] [-4|-5] [-p VMM_PARAMS]
#               [-t SECONDS] [-a APPEND] [-i INITRAMFS] [-q]
#
#   -n  run name: logs go to $O/testbed/NAME.log (console) and NAME.tap
#   -j  check (default), linux, demo, demo-tiny, bench, kvm, none (see
#       scripts/testbed/init)
#   -c  vCPUs (default 1); with more than one TCG runs single-threaded,
#       because QEMU 7.2's multi-threaded TCG has aborted under nested
#       guests (TESTBED.md); TCG_THREAD=multi overrides
#   -m  the machine's RAM in MiB (default 1024; the linux job's large
#       guest wants 2048)
#   -4  -cpu max,la57=off: the kernel runs 4-level paging
#   -5  -cpu max (default): Debian's kernel turns on 5-level paging
#   -p  parameters for insmod vmm.ko
#   -t  timeout in seconds (default 600)
#   -a  more kernel command line words; key=value ones reach /init and
#       the tests as environment variables
#   -i  boot this initramfs instead of packing one with mkinitramfs.sh
#   -q  do not copy the console to stdout
#
# Runs wait for each other through flock on /tmp/vmm-testbed.lock
# (TB_LOCK=path to change it, TB_LOCK= to turn it off).
#
# Exit: 0 the job passed, 1 a test failed, 2 the machine did not run to the
# end (panic, hang, emulator crash). NAME.tap holds one line per test plus
# the host's own verdicts: "VM ran to the end" and "host paging N-level"
# (the depth asked for with -4/-5).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
KVER=${KVER:?KVER is not set}
O=${O:-build}
name=run job=check cpus=1 cpu=max levels=5 secs=600 mem=1024
params='' append='' initrd='' quiet='' retried=
while getopts n:j:c:m:45p:t:a:i:q opt; do
	case $opt in
	n) name=$OPTARG ;;
	j) job=$OPTARG ;;
	c) cpus=$OPTARG ;;
	m) mem=$OPTARG ;;
	4) cpu=max,la57=off levels=4 ;;
	5) cpu=max levels=5 ;;
	p) params=$OPTARG ;;
	t) secs=$OPTARG ;;
	a) append=$OPTARG ;;
	i) initrd=$OPTARG ;;
	q) quiet=1 ;;
	*) sed -n '/^#   run-qemu.sh/,/^#   -q/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done

out=$O/testbed
mkdir -p "$out"
log=$out/$name.log
tap=$out/$name.tap

. "$here/lib.sh"
tb_lock run-qemu

rm -f "$tap"
tb_initramfs

accel=tcg
[ "$cpus" -gt 1 ] && accel=tcg,thread=${TCG_THREAD:-single}

cmdline="console=ttyS0 panic=-1 oops=panic quiet vmm_job=$job"
[ -n "$params" ] && cmdline="$cmdline vmm_params=\"$params\""
[ -n "$append" ] && cmdline="$cmdline $append"

# shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
qemu=(qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -smp "$cpus" -m "$mem"
	-nographic -no-reboot -net none
	-device isa-debug-exit,iobase=0xf4,iosize=0x04
	-kernel "/boot/vmlinuz-$KVER" -initrd "$initrd" -append "$cmdline")

# Boots once; sets rc (QEMU's exit status) and secs_taken.
boot() {
	echo "run-qemu: $name: ${qemu[*]}"
	start=$(date +%s.%N)
	# QEMU's stdin is /dev/null: it must not take over the terminal, and
	# CI has none. --foreground keeps QEMU in our process group, so that
	# Ctrl-C stops it instead of leaving it running until the timeout.
	# sed drops the firmware's terminal resets, which would wipe the
	# terminal we stream to.
	timeout --foreground -k 10 "$secs" "${qemu[@]}" </dev/null 2>&1 |
		sed -u 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1b[a-zA-Z]//g' |
		if [ -n "$quiet" ]; then cat >"$log"; else tee "$log"; fi
	rc=${PIPESTATUS[0]}
	secs_taken=$(echo "$(date +%s.%N) - $start" | bc)
}

boot
if [ "$rc" -eq 134 ]; then
	# QEMU's own assertion abort: the emulator crashed, not our code.
	echo "run-qemu: $name: QEMU aborted (exit 134)," \
		"an emulator crash; retrying once"
	mv "$log" "$log.crash1"
	retried=" (after one emulator crash and a retry)"
	boot
	[ "$rc" -eq 134 ] && echo "run-qemu: $name: QEMU aborted again"
fi

# QEMU exits (status<<1)|1 when /init wrote status to the exit port.
status=
case $rc in
1|3|5) status=$((rc >> 1)) ;;
0) why="kernel panic or reboot before /init finished" ;;
124|137) why="timed out after ${secs}s" ;;
134) why="QEMU aborted twice (emulator crash)" ;;
*) why="QEMU exited with status $rc (a nested guest reached port 0xf4?)" ;;
esac

awk -v run="$name" -f "$here/tap-collect.awk" "$log" >"$tap"
if [ -n "$status" ]; then
	echo "ok $name: VM ran to the end$retried" >>"$tap"
	# The paging depth is the point of running twice: make sure we got
	# the one we asked for.
	got=$(tr -d '\r' <"$log" | sed -n 's/^vmm-testbed: host paging: //p')
	if [ "$got" = "$levels-level" ]; then
		echo "ok $name: host paging $got" >>"$tap"
	else
		echo "not ok $name: host paging $levels-level, got: $got" >>"$tap"
	fi
else
	echo "not ok $name: VM ran to the end: $why" >>"$tap"
	echo "run-qemu: $name: $why; last lines of the console:"
	tail -n 30 "$log" | sed 's/^/    /'
fi

boot_s=$(tr -d '\r' <"$log" |
	sed -n 's/^.*vmm-testbed: begin job.*uptime=\([0-9.]*\)s$/\1/p')
echo "run-qemu: $name: QEMU exit $rc after ${secs_taken}s" \
	"(guest reached /init at ${boot_s:-?}s)," \
	"$(grep -c '^ok' "$tap") ok, $(grep -c '^not ok' "$tap") not ok"
[ -n "$status" ] || exit 2
[ "$status" -eq 0 ] && ! grep -q '^not ok' "$tap" || exit 1
exit 0
