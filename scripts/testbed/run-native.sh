#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs every program in $O/native-tests/ on this host (tests of code that
# needs no hardware, e.g. the instruction decoder), each between the same
# markers as in the test machine, and collects their TAP into
# $O/testbed/native.tap. Without native tests it writes no .tap file.
#
# Exit: 0 all passed, 1 something failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
O=${O:-build}
tap=$O/testbed/native.tap
log=$O/testbed/native.log
mkdir -p "$O/testbed"
rm -f "$tap"

progs=()
for f in "$O"/native-tests/*; do
	[ -f "$f" ] && [ -x "$f" ] && progs+=("$f")
done
if [ ${#progs[@]} -eq 0 ]; then
	echo "run-native: no programs in $O/native-tests/"
	exit 0
fi

for f in "${progs[@]}"; do
	echo "=== vmm-testbed begin ${f##*/}"
	# A hang here would stall CI: a bound far above any sane test.
	timeout -k 5 300 "$f" </dev/null 2>&1
	echo "=== vmm-testbed end ${f##*/} rc=$?"
done | tee "$log"

awk -v run=native -f "$here/tap-collect.awk" "$log" >"$tap"
! grep -q '^not ok' "$tap"
