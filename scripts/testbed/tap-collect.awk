# SPDX-License-Identifier: GPL-2.0
#
# Turns a console log into one TAP line per test, named RUN/PROGRAM: TEST.
#
#   awk -v run=NAME -f tap-collect.awk LOG
#
# Programs run between "=== vmm-testbed begin NAME" and
# "=== vmm-testbed end NAME rc=N" (scripts/testbed/init). Only TAP lines
# inside such a block count. A program that crashed or exited non-zero
# without a failed test, or that did not deliver its whole plan, gets a
# failed line of its own, so a broken binary cannot look like a pass.
# KSFT_SKIP (4) is the harness's "all skipped", not a failure.

function flush(rc) {
	# A program without TAP (vmm-demo, vmm-bench) is one test: its status.
	if (plan < 0 && nres == 0)
		printf "%s %s/%s: exited with status %s (no TAP)\n",
			rc == 0 ? "ok" : "not ok", run, prog, rc
	else if (rc != 0 && rc != 4 && nfail == 0)
		printf "not ok %s/%s: exited with status %s\n", run, prog, rc
	else if (plan >= 0 && nres != plan && nfail == 0)
		printf "not ok %s/%s: %d of %d results\n", run, prog, nres, plan
	prog = ""
}

{ sub(/\r+$/, "") }

$1 == "===" && $2 == "vmm-testbed" && $3 == "begin" {
	if (prog != "")
		printf "not ok %s/%s: did not finish\n", run, prog
	prog = $4; plan = -1; nres = 0; nfail = 0; last = ""
	next
}

$1 == "===" && $2 == "vmm-testbed" && $3 == "end" && prog != "" {
	rc = $5
	sub(/^rc=/, "", rc)
	flush(rc)
	next
}

prog == "" { next }

/^1\.\.[0-9]+/ {
	plan = substr($1, 4) + 0
	next
}

# The kselftest harness names a test only in its "#  RUN" line; its skip
# line reads "ok N # SKIP reason".
$1 == "#" && $2 == "RUN" {
	last = $3
	sub(/ \.\.\.$/, "", last)
	next
}

/^(not )?ok [0-9]+/ {
	nres++
	verdict = "ok"
	rest = $0
	if (rest ~ /^not /) {
		verdict = "not ok"
		nfail++
		sub(/^not /, "", rest)
	}
	sub(/^ok [0-9]+ ?(- )?/, "", rest)
	if (rest ~ /^#/ || rest == "")
		rest = last " " rest
	printf "%s %s/%s: %s\n", verdict, run, prog, rest
}

END {
	if (prog != "")
		printf "not ok %s/%s: did not finish\n", run, prog
}
