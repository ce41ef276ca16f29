#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check` after the build: native tests, the selftests in the machine
# with 5-level and with 4-level host paging, then one summary.
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
"$here/run-qemu.sh" "$@" -n la57-on -5 -j check || :
"$here/run-qemu.sh" "$@" -n la57-off -4 -j check || :

runs=("$out/la57-on.tap" "$out/la57-off.tap")
# Without native tests there is no native.tap, and that is no failure.
[ -e "$out/native.tap" ] && runs=("$out/native.tap" "${runs[@]}")
"$here/summary.sh" "${runs[@]}"
