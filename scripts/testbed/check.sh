#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check` after the build: native tests, the selftests in the machine
# with 5-level and with 4-level host paging, each followed by Linux guests
# under vmm-run, once more with nested paging off (npt=0: the suite must
# report its tests as skipped, not fail), once on the newer LTS kernel
# when one is installed (KVER_NEXT), once in Bochs with VT-x (TB_BOCHS),
# then one summary.
#
#   check.sh [run-qemu.sh options, e.g. -t 300 -c 2 -p npt=0]
#
# Each run leaves a .tap file; the summary judges them all, so one failed
# run does not hide the others. Exit: the summary's.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
O=${O:-build}
out=$O/testbed
mkdir -p "$out"

# A second `make check` in the same checkout would overwrite these runs'
# results before our summary reads them: one at a time per build dir.
exec 8>>"$out/.check.lock"
if ! flock -n 8; then
	echo "check: waiting for another make check in $O"
	flock 8
fi

rm -f "$out"/*.tap
"$here/run-native.sh" || :
# After the selftests, vmm-run boots the machine's own kernel (issue 4;
# scripts/testbed/init, job_check_linux): on vmm with either paging depth
# and on KVM in the same machine, reading and writing a VHD; -c 2 -m 3600
# on vmm (the machine gets 2 GiB: the guest's RAM is faulted in only as
# it is touched, but its memmap alone is ~60 MiB); SIGTERM with a synced
# disk; a triple fault.  With npt=0 the boot must report a skip.
# vmm-churn boots while the machine's shell starts programs without
# pause: a vCPU thread preempted with the guest's FPU state loaded once
# gave that state to other tasks (and theirs to the guest).
linux_on=vmm,vmm-big,kvm,vmm-sigterm,kvm-sigterm,vmm-churn,vmm-triple,kvm-triple
"$here/run-qemu.sh" "$@" -n la57-on -5 -m 2048 -j check \
	-a "vmm_linux=$linux_on" || :
"$here/run-qemu.sh" "$@" -n la57-off -4 -j check -a vmm_linux=vmm || :

"$here/run-qemu.sh" "$@" -n npt-off -5 -c 1 -p npt=0 -j check \
	-a vmm_linux=vmm || :
runs=("$out/la57-on.tap" "$out/la57-off.tap" "$out/npt-off.tap")
next_ko=$O/kmod-${KVER_NEXT:-}/kmod/vmm.ko
if [ -n "${KVER_NEXT:-}" ] && [ -e "$next_ko" ]; then
	name=k$(echo "$KVER_NEXT" | cut -d. -f1,2)
	# Its own kernel as the guest too, on vmm and on KVM beside it.
	KVER=$KVER_NEXT VMM_KO=$next_ko \
		"$here/run-qemu.sh" "$@" -n "$name" -5 -j check \
		-a vmm_linux=vmm,kvm || :
	runs+=("$out/$name.tap")
else
	echo "check: no newer kernel (KVER_NEXT) built: its run is left out"
fi
# The VT-x engine (issue 5): one pass of all selftests in Bochs' Haswell
# (VMX, EPT, unrestricted guest, VPID), judged by the same summary.
# TB_BOCHS=0 leaves it out.
# TB_FULL=1 (make check-full) adds the Linux guests to it, on vmm and on
# kvm-intel beside it, and runs the selftests once more on Bochs' AMD
# Zambezi (SVM with NRIPS and flush-by-ASID, which QEMU lacks).
if [ "${TB_BOCHS:-1}" = 1 ] || [ "${TB_FULL:-0}" = 1 ]; then
	vmx_linux=
	[ "${TB_FULL:-0}" = 1 ] && vmx_linux="vmm_linux=vmm,kvm,vmm-triple"
	"$here/run-bochs.sh" -q -n bochs-vmx -M corei7_haswell_4770 \
		-t "${TB_BOCHS_TIMEOUT:-1200}" -p "${VMM_PARAMS:-}" -j check \
		${vmx_linux:+-a "$vmx_linux"} || :
	runs+=("$out/bochs-vmx.tap")
else
	echo "check: the Bochs VT-x pass is off (TB_BOCHS=0)"
fi
if [ "${TB_FULL:-0}" = 1 ]; then
	# Its selftests take about a minute after the boot; a hang (see
	# README.md) must not hold the machine for TB_BOCHS_TIMEOUT.
	"$here/run-bochs.sh" -q -n bochs-svm -M zambezi \
		-t "${TB_BOCHS_SVM_TIMEOUT:-600}" -p "${VMM_PARAMS:-}" -j check \
		-a vmm_linux=vmm || :
	runs+=("$out/bochs-svm.tap")
fi
# Without native tests there is no native.tap, and that is no failure.
[ -e "$out/native.tap" ] && runs=("$out/native.tap" "${runs[@]}")
"$here/summary.sh" "${runs[@]}"
