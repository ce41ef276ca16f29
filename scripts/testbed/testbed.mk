# SPDX-License-Identifier: GPL-2.0
#
# The emulated test bed (scripts/testbed/), included by the top Makefile.
#
#   make check         native tests, then the selftests and Linux guests
#                      in the QEMU machine (5- and 4-level host paging,
#                      npt=0, the 6.12 kernel), then one pass of the
#                      selftests in Bochs' Haswell (VT-x; TB_BOCHS=0 leaves
#                      it out); the last line says "N passed, N failed,
#                      N skipped"
#   make check-full    the whole matrix: make check with the Bochs VT-x
#                      pass, which also boots the Linux guest on vmm and
#                      on kvm-intel, then the selftests and the Linux guest
#                      on Bochs' Zambezi (SVM with NRIPS, flush-by-ASID)
#   make check-native  only the programs in build/native-tests/
#   make demo          vmm-run boots Linux in the machine, console shown
#                      (on /dev/vmm, or /dev/kvm while vmm cannot)
#   make demo-tiny     the machine runs build/bin/vmm-demo, console shown
#   make check-linux   job linux: vmm-run boots Linux on kvm and on vmm,
#                      small and big (-c 2 -m 3600); timings in
#                      build/testbed/linux.log ("vmm-linux:" lines)
#   make bench         the machine runs build/bin/vmm-bench next to KVM,
#                      then boots Linux TB_BOOTS (5) times on each; both
#                      tables also go to build/bench.txt
#   make bench-bochs   vmm-bench in Bochs' Haswell: vmm's VT-x engine
#                      next to kvm-intel in the same machine; the table
#                      goes to build/bench-bochs.txt (TB_BOCHS_BENCH: its
#                      options, TB_BOCHS_BOOTS: Linux boots, default 0)
#   make testbed-kvm   the machine with KVM's modules only: tests the bed
#
# Settings: TB_CPUS (vCPUs for check, default 2), TB_TIMEOUT (seconds per
# QEMU boot), VMM_PARAMS (insmod vmm.ko parameters, e.g. VMM_PARAMS=npt=0),
# TB_BOCHS (0: make check leaves its Bochs VT-x pass out; default 1),
# TB_BOCHS_TIMEOUT (seconds per Bochs run, default 1200).
# Logs: build/testbed/NAME.log (console), NAME.tap (results).

TB := scripts/testbed
TB_OUT := $(O)/testbed
TB_CPUS ?= 2
TB_TIMEOUT ?= 300
VMM_PARAMS ?=
TB_RUN = $(TB)/run-qemu.sh -t $(TB_TIMEOUT) -p "$(VMM_PARAMS)"

TB_BOCHS ?= 1
TB_BOCHS_TIMEOUT ?= 1200

.PHONY: testbed-kvm demo-tiny check-linux check-full bench-bochs

# Native tests come from tests/native/native.mk (NT_PROGS, target
# native-tests) when the top Makefile includes it; the second expansion
# happens after every makefile is read, so include order does not matter.
.SECONDEXPANSION:
NATIVE_TESTS = $$(if $$(NT_PROGS),native-tests)

check: all kmod-next $(NATIVE_TESTS)
	@TB_BOCHS=$(TB_BOCHS) TB_BOCHS_TIMEOUT=$(TB_BOCHS_TIMEOUT) \
		VMM_PARAMS="$(VMM_PARAMS)" \
		$(TB)/check.sh -t $(TB_TIMEOUT) -c $(TB_CPUS) -p "$(VMM_PARAMS)"

check-full: all kmod-next $(NATIVE_TESTS)
	@TB_FULL=1 TB_BOCHS_TIMEOUT=$(TB_BOCHS_TIMEOUT) \
		VMM_PARAMS="$(VMM_PARAMS)" \
		$(TB)/check.sh -t $(TB_TIMEOUT) -c $(TB_CPUS) -p "$(VMM_PARAMS)"

check-native: $(NATIVE_TESTS)
	@$(TB)/run-native.sh

demo: all
	@$(TB_RUN) -n demo -j demo

demo-tiny: all
	@$(TB_RUN) -n demo-tiny -j demo-tiny

# The machine gets 2 GiB: the big guest's 3600 MiB are faulted in only
# as it touches them, but its memmap alone is ~60 MiB.
check-linux: all
	@$(TB_RUN) -n linux -m 2048 -j linux -a "vmm_guest_big=1 vmm_guest_stops=1"; rc=$$?; \
	tr -d '\r' <$(TB_OUT)/linux.log | grep '^vmm-linux:'; exit $$rc

# The console is kept in build/testbed/bench.log; the tables are what
# vmm-bench printed (cost per exit), then TB_BOOTS Linux boots on each
# accelerator (scripts/testbed/bench-linux.sh: medians, ratios, the goal).
TB_BOOTS ?= 5
bench: all
	@$(TB)/run-qemu.sh -t $$(($(TB_TIMEOUT) + 60 * $(TB_BOOTS))) \
		-p "$(VMM_PARAMS)" -n bench -5 -j bench -q \
		-a "vmm_bench_boots=$(TB_BOOTS)"; rc=$$?; \
	awk '{ sub(/\r+$$/, "") } / vmm-testbed end vmm-bench /{ f = 0 } \
		f; / vmm-testbed begin vmm-bench /{ f = 1 }' \
		$(TB_OUT)/bench.log >$(O)/bench.txt; \
	echo >>$(O)/bench.txt; \
	$(TB)/bench-linux.sh $(TB_OUT)/bench.log >>$(O)/bench.txt || rc=1; \
	cat $(O)/bench.txt; \
	[ -s $(O)/bench.txt ] || tail -n 40 $(TB_OUT)/bench.log; \
	exit $$rc

testbed-kvm:
	@$(TB_RUN) -n kvm -j kvm

# The exit-cost table under VT-x: Bochs' Haswell runs vmm-bench with
# vmm's VT-x engine and kvm-intel loaded side by side (where vmm.ko cannot
# load, KVM's column alone, and the run fails).  An exit costs more
# emulated time under Bochs than under QEMU: fewer iterations by default.
TB_BOCHS_BENCH ?= -n 20000 -r 5
TB_BOCHS_BOOTS ?= 0
bench-bochs: all
	@$(TB)/run-bochs.sh -t $(TB_BOCHS_TIMEOUT) -p "$(VMM_PARAMS)" \
		-n bench-bochs -M corei7_haswell_4770 -j bench -q \
		-a "vmm_bench_boots=$(TB_BOCHS_BOOTS) vmm_bench_args=\"$(TB_BOCHS_BENCH)\""; \
		rc=$$?; \
	awk '{ sub(/\r+$$/, "") } / vmm-testbed end vmm-bench /{ f = 0 } \
		f; / vmm-testbed begin vmm-bench /{ f = 1 }' \
		$(TB_OUT)/bench-bochs.log >$(O)/bench-bochs.txt; \
	if [ "$(TB_BOCHS_BOOTS)" != 0 ]; then echo >>$(O)/bench-bochs.txt; \
		$(TB)/bench-linux.sh $(TB_OUT)/bench-bochs.log \
			>>$(O)/bench-bochs.txt || rc=1; fi; \
	cat $(O)/bench-bochs.txt; \
	[ -s $(O)/bench-bochs.txt ] || tail -n 40 $(TB_OUT)/bench-bochs.log; \
	exit $$rc
