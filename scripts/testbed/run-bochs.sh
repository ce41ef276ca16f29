#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots Debian's kernel with the test initramfs in Bochs (VT-x emulated,
# with EPT on the default model) and runs one /init job. The Bochs twin of
# run-qemu.sh, for the VT-x engine (issue 5); not part of make check yet.
#
#   run-bochs.sh [-n NAME] [-j JOB] [-M MODEL] [-m MiB] [-p VMM_PARAMS]
#                [-t SECONDS] [-a APPEND] [-i INITRAMFS] [-q]
#
#   -n  run name: logs go to $O/testbed/NAME.log (console) and NAME.tap;
#       the machine's files (ISO, bochsrc, Bochs' own log) to NAME.bochs/
#   -j  check (default), linux, demo, demo-tiny, bench, kvm, none (see
#       scripts/testbed/init)
#   -M  Bochs CPU model (default corei7_haswell_4770: VMX, EPT,
#       unrestricted guest, VPID); zambezi or trinity_apu for SVM with
#       NRIPS and flush-by-ASID
#   -m  the machine's RAM in MiB (default 1024)
#   -p  parameters for insmod vmm.ko
#   -t  timeout in seconds (default 900: Bochs needs about a minute to
#       reach /init)
#   -a  more kernel command line words; key=value ones reach /init and
#       the tests as environment variables
#   -i  boot this initramfs instead of packing one with mkinitramfs.sh
#   -q  do not copy the console to stdout
#
# Runs wait for each other, and for run-qemu.sh, through flock on
# /tmp/vmm-testbed.lock (TB_LOCK=path to change it, TB_LOCK= to turn it off).
#
# Exit: 0 the job passed, 1 a test failed, 2 the machine did not run to the
# end (panic, hang, Bochs gave up). Bochs exits 1 however the machine ends
# and has no isa-debug-exit, so the verdict comes from the serial log:
# /init's "vmm-testbed: end job=JOB status=N" line, after which it powers
# off (ACPI S5) and Bochs quits.
#
# Debian packages (for .ci/run): bochs bochsbios vgabios isolinux syslinux
# syslinux-common xorriso mtools
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
KVER=${KVER:?KVER is not set}
O=${O:-build}
name=run job=check model=corei7_haswell_4770 secs=900 mem=1024
params='' append='' initrd='' quiet=''
while getopts n:j:M:m:p:t:a:i:q opt; do
	case $opt in
	n) name=$OPTARG ;;
	j) job=$OPTARG ;;
	M) model=$OPTARG ;;
	m) mem=$OPTARG ;;
	p) params=$OPTARG ;;
	t) secs=$OPTARG ;;
	a) append=$OPTARG ;;
	i) initrd=$OPTARG ;;
	q) quiet=1 ;;
	*) sed -n '/^#   run-bochs.sh/,/^#   -q/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done

for tool in bochs xorriso; do
	if ! command -v "$tool" >/dev/null; then
		echo "run-bochs: $tool is not installed (apt-get install" \
			"bochs bochsbios vgabios isolinux syslinux" \
			"syslinux-common xorriso mtools)" >&2
		exit 2
	fi
done
isolinux=/usr/lib/ISOLINUX/isolinux.bin
ldlinux=/usr/lib/syslinux/modules/bios/ldlinux.c32
for f in "$isolinux" "$ldlinux" /usr/share/bochs/BIOS-bochs-latest \
	 /usr/share/vgabios/vgabios.bin "/boot/vmlinuz-$KVER"; do
	[ -r "$f" ] || { echo "run-bochs: $f is missing" >&2; exit 2; }
done

out=$O/testbed
mkdir -p "$out"
log=$out/$name.log
tap=$out/$name.tap
dir=$out/$name.bochs

. "$here/lib.sh"
tb_lock run-bochs

rm -rf "$tap" "$dir"
mkdir -p "$dir/iso/isolinux"
tb_initramfs

# No panic=-1 as under QEMU: Bochs would reboot into the ISO and run the
# job again. A panic stops the kernel and the watch below ends the run.
cmdline="console=ttyS0,115200 panic=0 oops=panic quiet vmm_job=$job"
# Bochs 2.7 with SVM stops the whole machine at an SVM guest's triple
# fault (it panics before it looks at the SHUTDOWN intercept; VMX is
# fine): tests that need it skip when vmm_emulator_lacks names it.
case $model in
amd_*|athlon*|turion*|phenom*|zambezi|trinity_apu|ryzen)
	cmdline="$cmdline vmm_emulator_lacks=svm-shutdown" ;;
esac
[ -n "$params" ] && cmdline="$cmdline vmm_params=\"$params\""
[ -n "$append" ] && cmdline="$cmdline $append"

# Bochs has no -kernel: isolinux loads the kernel and the initramfs from
# an El Torito CD through the BIOS.
cp "$isolinux" "$ldlinux" "$dir/iso/isolinux/"
cp "/boot/vmlinuz-$KVER" "$dir/iso/vmlinuz"
cp "$initrd" "$dir/iso/initrd.img"
cat >"$dir/iso/isolinux/isolinux.cfg" <<EOF
DEFAULT vmm
PROMPT 0
TIMEOUT 0
LABEL vmm
	KERNEL /vmlinuz
	APPEND initrd=/initrd.img $cmdline
EOF
if ! xorriso -as mkisofs -quiet -o "$dir/boot.iso" \
	-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot \
	-boot-load-size 4 -boot-info-table "$dir/iso" 2>"$dir/xorriso.txt"; then
	cat "$dir/xorriso.txt" >&2
	echo "not ok $name: the boot ISO could not be made" >"$tap"
	exit 2
fi
rm -rf "$dir/iso"

# Debian's Bochs has no "nogui" display: rfb with timeout=0 does not wait
# for a viewer. ignore_bad_msrs: the kernel's early RDMSR 0x1a0 would stop
# Bochs (so unknown MSRs read 0 here; RDMSR bugs can hide). clock
# sync=none runs as fast as it can. ACPI (power-off) comes with i440fx.
# sound: without a sound card, the ALSA mixer thread of Debian's Bochs 2.7
# aborts at start-up ("buffer overflow detected"); the dummy driver avoids it.
cat >"$dir/bochsrc" <<EOF
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
display_library: rfb, options="timeout=0"
cpu: model=$model, count=1, ips=200000000, reset_on_triple_fault=0, ignore_bad_msrs=1
memory: guest=$mem, host=$mem
pci: enabled=1, chipset=i440fx
ata0-master: type=cdrom, path=boot.iso, status=inserted
boot: cdrom
clock: sync=none
com1: enabled=1, mode=file, dev=serial.txt
sound: driver=dummy
log: bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
EOF
# The binary is built with its debugger and stops at its prompt: continue,
# and quit when the machine powers off.
printf 'c\nquit\n' >"$dir/dbg.rc"
: >"$dir/serial.txt"

echo "run-bochs: $name: bochs -q -f bochsrc (model=$model, $mem MiB)" \
	"append: $cmdline"
start=$(date +%s.%N)
(cd "$dir" && exec bochs -q -f bochsrc -rc dbg.rc </dev/null \
	>bochs.out 2>&1) &
bochs_pid=$!
# Stopped from outside (Ctrl-C, a timeout around make): Bochs goes too,
# or it would spin on its core and keep the next run waiting.
trap 'kill $bochs_pid 2>/dev/null; sleep 1; kill -9 $bochs_pid 2>/dev/null; exit 2' INT TERM HUP
if [ -z "$quiet" ]; then
	tail -n +1 -f --pid=$bochs_pid "$dir/serial.txt" &
	tail_pid=$!
fi

# Bochs' exit status says nothing: watch the serial log for the end marker,
# a panic, or the time running out.
why='' ended=''
deadline=$(($(date +%s) + secs))
while kill -0 $bochs_pid 2>/dev/null; do
	if [ -z "$ended" ] && grep -aq 'vmm-testbed: end job=' "$dir/serial.txt"; then
		# poweroff -f follows at once; give it a little time.
		ended=$(($(date +%s) + 30))
	fi
	if [ -n "$ended" ] && [ "$(date +%s)" -ge "$ended" ]; then
		why="did not power off after the end marker"
		break
	fi
	if grep -aq 'Kernel panic - not syncing' "$dir/serial.txt"; then
		sleep 2
		why="kernel panic"
		break
	fi
	if [ "$(date +%s)" -ge "$deadline" ]; then
		why="timed out after ${secs}s"
		break
	fi
	sleep 1
done
if kill -0 $bochs_pid 2>/dev/null; then
	kill $bochs_pid 2>/dev/null
	sleep 2
	kill -9 $bochs_pid 2>/dev/null
fi
wait $bochs_pid 2>/dev/null
rc=$?
[ -n "${tail_pid:-}" ] && { sleep 0.5; kill "$tail_pid" 2>/dev/null; wait "$tail_pid" 2>/dev/null; }
secs_taken=$(echo "$(date +%s.%N) - $start" | bc)

# Bochs writes the UART's bytes as they come: CRs and the kernel's
# terminal escapes included.
tr -d '\r' <"$dir/serial.txt" |
	sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1b[a-zA-Z]//g' >"$log"

status=$(sed -n 's/^.*vmm-testbed: end job=[^ ]* status=\([0-9]*\) .*$/\1/p' \
	"$log" | tail -n 1)
if [ -z "$status" ] && [ -z "$why" ]; then
	why="Bochs exited ($rc) before /init finished; see $dir/bochs.log"
	# poweroff -f does not wait for the tty: the UART drains at 115200
	# baud of emulated time, so up to 4 KiB of /init's last output (the
	# end line with it) can be lost. init's finish() has to let the
	# console drain first (README.md).
	grep -aq 'ACPI control: soft power off' "$dir/bochs.log" 2>/dev/null &&
		why="powered off, but /init's end line never reached the serial log (lost in the tty at poweroff -f?)"
fi

awk -v run="$name" -f "$here/tap-collect.awk" "$log" >"$tap"
if [ -n "$status" ]; then
	echo "ok $name: VM ran to the end${why:+ ($why)}" >>"$tap"
	cpu=$(sed -n 's/^vmm-testbed: kernel .*CPUs,\(.*\)$/\1/p' "$log")
	echo "run-bochs: $name: CPU:${cpu:- ?}"
else
	echo "not ok $name: VM ran to the end: $why" >>"$tap"
	echo "run-bochs: $name: $why; last lines of the console:"
	tail -n 30 "$log" | sed 's/^/    /'
	grep -a -m 5 -E '^[0-9]+[ie]* *\[.*\] *(PANIC|>>PANIC<<)' \
		"$dir/bochs.log" 2>/dev/null | sed 's/^/    bochs: /'
fi

boot_s=$(sed -n 's/^.*vmm-testbed: begin job.*uptime=\([0-9.]*\)s$/\1/p' "$log")
echo "run-bochs: $name: Bochs ran ${secs_taken}s" \
	"(guest reached /init at ${boot_s:-?}s of its own clock)," \
	"$(grep -c '^ok' "$tap") ok, $(grep -c '^not ok' "$tap") not ok"
[ -n "$status" ] || exit 2
[ "$status" -eq 0 ] && ! grep -q '^not ok' "$tap" || exit 1
exit 0
