# SPDX-License-Identifier: GPL-2.0
#
# Native tests of vmm-run's command line (tests/run/): bad options,
# missing files and damaged disks are refused before any accelerator is
# opened, so they run on the build host.  Included by the top Makefile.
#
#   make run-tests   put them into $(O)/native-tests/, where `make check`
#                    and `make check-native` run them (they find vmm-run
#                    and vmm-img in $(O)/bin/, next to native-tests/)

RT_DIR := tests/run
RT_OUT := $(O)/native-tests
RT_PROGS := $(patsubst $(RT_DIR)/%_test.sh,$(RT_OUT)/run_%_test,\
	$(wildcard $(RT_DIR)/*_test.sh))

.PHONY: run-tests
run-tests: $(RT_PROGS)

check check-native: run-tests

$(RT_OUT)/run_%_test: $(RT_DIR)/%_test.sh $(O)/bin/vmm-run $(O)/bin/vmm-img
	@mkdir -p $(dir $@)
	install -m 755 $< $@
