#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Adds up the collected TAP files of one `make check`.
#
#   summary.sh RUN.tap...
#
# Prints the failed and skipped tests, then as the last line
# "N passed, N failed, N skipped". A missing or empty file means that run
# produced nothing, which is a failure of its own. Exits 1 if anything
# failed.
set -uo pipefail

all=$(mktemp)
trap 'rm -f "$all"' EXIT
for f in "$@"; do
	if [ -s "$f" ]; then
		cat "$f"
	else
		echo "not ok $(basename "$f" .tap): produced no results"
	fi
done >"$all"

# TAP: "not ok" fails; "ok ... # SKIP" (any case) is skipped; "ok" passes.
failed=$(grep -c '^not ok' "$all")
skipped=$(grep -E '^ok ' "$all" | grep -ciE '# skip')
passed=$(($(grep -c '^ok ' "$all") - skipped))

echo "==== summary of $# runs: $*"
# Skips come in groups (a feature not there yet): one line per run and
# reason, with the count.
grep -E '^ok ' "$all" | grep -iE '# skip' |
	sed -E 's,^ok ([^/:]*)[^#]*# [Ss][Kk][Ii][Pp] *,\1: ,' |
	sort | uniq -c | sed 's/^ *\([0-9]*\) /skipped: \1 in /'
grep '^not ok' "$all" | sed 's/^/FAILED:  /'
[ "$failed" -eq 0 ] ||
	echo "consoles: the .log files next to the .tap files above"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
