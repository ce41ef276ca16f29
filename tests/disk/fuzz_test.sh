#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check's short run of the VHD parser's fuzz target (fuzz_vhd.c)
# over the committed corpus, as one TAP test.  disk.mk fills in the paths.
# FUZZ_RUNS (default 2000000) and FUZZ_SECONDS (default 20) bound it.
set -u

bin=@FUZZ_BIN@
corpus=@CORPUS@
work=@WORK@

echo "TAP version 13"
echo "1..1"
if [ ! -x "$bin" ]; then
	echo "ok 1 fuzz_vhd # SKIP not built (clang with libclang-rt needed)"
	exit 0
fi
if ! ls "$corpus"/* >/dev/null 2>&1; then
	echo "not ok 1 fuzz_vhd # no seeds in $corpus"
	exit 1
fi
new=$(mktemp -d "${TMPDIR:-/tmp}/vmm-fuzz-XXXXXX")
log=$work/fuzz-check.log
mkdir -p "$work"
# New inputs go to a scratch directory: the committed corpus is read only.
"$bin" -runs="${FUZZ_RUNS:-2000000}" -max_total_time="${FUZZ_SECONDS:-20}" \
	-max_len=65536 -seed=1 -artifact_prefix="$work/" \
	"$new" "$corpus" >"$log" 2>&1
rc=$?
rm -rf "$new"
if [ $rc -eq 0 ]; then
	echo "# $(grep -E '^#[0-9]+.*DONE|Done [0-9]+ runs' "$log" | tail -n 1)"
	echo "ok 1 fuzz_vhd"
else
	tail -n 40 "$log" | sed 's/^/# /'
	echo "not ok 1 fuzz_vhd # exit $rc, see $log"
fi
exit $rc
