#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Linux boot table of `make bench`, from the console of the bench job
# (scripts/testbed/init, job_bench_linux): for each accelerator the median
# of its boots of the machine's own kernel under vmm-run (-c 1 -m 256):
# seconds from vmm-run's start to the guest's /init and to vmm-run's exit
# after power-off, the exits that reached vmm-run per second by kind, and
# KVM's own in-kernel exit counters per second; then vmm/kvm ratios and
# whether the goal (vmm at most 0.8x KVM's time) is met.
#
#   bench-linux.sh BENCH.log
#
# The times are the test machine's (QEMU TCG): only the ratio means
# anything.  Exit: 1 if no boot of either accelerator succeeded.
set -uo pipefail

log=${1:?usage: bench-linux.sh BENCH.log}

tr -d '\r' <"$log" | awk '
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	if (n == 0)
		return ""
	for (i = 2; i <= n; i++)	# insertion sort: a handful of values
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function val(k,    i) {
	for (i = 2; i <= NF; i++)
		if (index($i, k "=") == 1)
			return substr($i, length(k) + 2)
	return ""
}
function add(key, v) {
	if (v == "" || v == "none")
		return
	vals[key] = vals[key] " " v
}
function ratio(a, b) {
	return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b)
}
function fmt(v, f) { return v == "" ? "-" : sprintf(f, v) }
$1 == "vmm-linux:" {
	acc = val("accel")
	total[acc]++
	last_acc = acc; last_ok = 0
	if (val("rc") != "0" || val("init_s") == "none")
		next
	ok[acc]++; last_ok = 1
	off = val("poweroff_s")
	add(acc " init", val("init_s"))
	add(acc " off", off)
	if (val("io") != "none" && off > 0) {
		add(acc " io/s", val("io") / off)
		add(acc " mmio/s", val("mmio") / off)
	}
	# The counters of vmm.ko (VMM_GET_STATS), as vmm-run -v printed them.
	for (i = 2; i <= NF; i++)
		if ($i ~ /^k_[a-z]*=/ && off > 0) {
			split(substr($i, 3), kv, "=")
			add("vmm k:" kv[1], kv[2] / off)
		}
	last_off = off
	next
}
# Follows its kvm boot: counters summed over the VM.
$1 == "vmm-kvm-stats:" && last_acc == "kvm" && last_ok && last_off > 0 {
	for (i = 2; i <= NF; i++) {
		split($i, kv, "=")
		add("kvm k:" kv[1], kv[2] / last_off)
		if (!(kv[1] in kseen)) {
			kseen[kv[1]] = 1
			korder[++nk] = kv[1]
		}
	}
}
END {
	for (k in vals)
		med[k] = median(vals[k])
	printf "Linux boot under vmm-run: the machine'"'"'s own kernel, -c 1 -m 256, a VHD\n"
	printf "disk; median of %d vmm and %d kvm boots that powered off (of %d, %d);\n",
		ok["vmm"], ok["kvm"], total["vmm"], total["kvm"]
	printf "seconds of the test machine (QEMU TCG): only the ratio means anything.\n\n"
	printf "%-36s %10s %10s %8s\n", "", "vmm", "kvm", "vmm/kvm"
	printf "%-36s %10s %10s %8s\n", "vmm-run start to the guest /init, s",
		fmt(med["vmm init"], "%.2f"), fmt(med["kvm init"], "%.2f"),
		ratio(med["vmm init"], med["kvm init"])
	printf "%-36s %10s %10s %8s\n", "vmm-run start to power-off, s",
		fmt(med["vmm off"], "%.2f"), fmt(med["kvm off"], "%.2f"),
		ratio(med["vmm off"], med["kvm off"])
	printf "%-36s %10s %10s %8s\n", "exits to vmm-run: port I/O per s",
		fmt(med["vmm io/s"], "%.0f"), fmt(med["kvm io/s"], "%.0f"),
		ratio(med["vmm io/s"], med["kvm io/s"])
	printf "%-36s %10s %10s %8s\n", "exits to vmm-run: MMIO per s",
		fmt(med["vmm mmio/s"], "%.0f"), fmt(med["kvm mmio/s"], "%.0f"),
		ratio(med["vmm mmio/s"], med["kvm mmio/s"])
	printf "\nexits from the guest per second, by kind (vmm: VMM_GET_STATS,\n"
	printf "kvm: debugfs; a kind one of them does not count is -)\n"
	# label, vmm kind, kvm counter: the kinds that exist on both lined up.
	nrows = split("all exits!exits!exits|port I/O (kvm: those to userspace)!io!io_exits|" \
		"HLT!hlt!halt_exits|host interrupts!intr!irq_exits|" \
		"interrupt windows!vintr!irq_window_exits|" \
		"nested page faults!npf!-|MMIO to userspace!-!mmio_exits|" \
		"MSR!msr!-|CPUID!cpuid!-|control registers!cr!-|" \
		"exceptions!exception!-|other!other!-|" \
		"instructions emulated!-!insn_emulation|" \
		"hypercalls!-!hypercalls|signals!-!signal_exits", rows, "|")
	for (i = 1; i <= nrows; i++) {
		split(rows[i], rw, "!")
		a = rw[2] == "-" ? "" : med["vmm k:" rw[2]]
		b = rw[3] == "-" ? "" : med["kvm k:" rw[3]]
		# Under one exit a second on both sides, a ratio says nothing.
		printf "%-36s %10s %10s %8s\n", rw[1], fmt(a, "%.0f"),
			fmt(b, "%.0f"), (a + 0 < 0.5 && b + 0 < 0.5) ? "-" : ratio(a, b)
	}
	printf "\n"
	r = ratio(med["vmm off"], med["kvm off"])
	if (r == "-") {
		printf "goal (vmm at most 0.8x KVM'"'"'s time): not measured\n"
	} else {
		# Judged unrounded: 0.804 is not met.
		r = med["vmm off"] / med["kvm off"]
		printf "goal (vmm at most 0.8x KVM'"'"'s time to power-off): %s (%.3fx)\n",
			r <= 0.8 ? "met" : "not met", r
	}
	exit !(ok["vmm"] + ok["kvm"])
}'
