# SPDX-License-Identifier: GPL-2.0
#
# Tests, fuzz target and benchmark of the disk layer (user/block/).
# Included by the top Makefile, which defines O, KSRC, CC, BLOCK_SRC and
# BLOCK_LIBS.
#
#   make disk-tests    build the tests into $(O)/native-tests/, where
#                      `make check` and `make check-native` run them
#   make fuzz-disk     the VHD parser under libFuzzer, FUZZ_TIME seconds
#                      (default 600), on tests/disk/corpus/
#   make bench-disk    ours next to qemu-img bench and a plain liburing
#                      reader; the table also goes to $(O)/bench-disk.txt
#
# The tests run natively under ASan and UBSan (DT_SANITIZE= turns them
# off) and need qemu-img/qemu-io (qemu-utils) for the interoperability
# cases, clang with libclang-rt for the fuzz target.

DT_DIR := tests/disk
DT_OUT := $(O)/native-tests
DT_OBJ := $(O)/disk-obj
DT_SANITIZE ?= -fsanitize=address,undefined -fno-sanitize-recover=all
DT_VMM_IMG := $(if $(wildcard user/vmm-img.c),$(O)/bin/vmm-img)
DT_DEFS := -DVMM_IMG='"$(DT_VMM_IMG)"' -DVMM_SRCDIR='"$(CURDIR)"'
DT_CFLAGS := -O1 -g -Wall -Wextra $(DT_SANITIZE) -fno-omit-frame-pointer \
	-D_GNU_SOURCE -I$(CURDIR)/user -I$(CURDIR)/user/block -I$(DT_DIR) \
	-I$(KSRC)/tools/testing/selftests $(DT_DEFS)
DT_HDRS := $(wildcard $(DT_DIR)/*.h user/block/*.h)

# The disk layer, compiled once with the tests' sanitizers.
DT_BLOCK_OBJS := $(patsubst user/block/%.c,$(DT_OBJ)/block/%.o,$(BLOCK_SRC))
DT_UTIL_OBJ := $(DT_OBJ)/disk_util.o
DT_PROGS := $(if $(BLOCK_SRC),$(patsubst $(DT_DIR)/%_test.c,\
	$(DT_OUT)/disk_%_test,$(wildcard $(DT_DIR)/*_test.c)))
DT_FUZZ_WRAP := $(if $(BLOCK_SRC),$(DT_OUT)/disk_fuzz_test)

.PHONY: disk-tests fuzz-disk bench-disk
disk-tests: $(DT_PROGS) $(DT_FUZZ_WRAP)
	@[ -n "$(BLOCK_SRC)" ] || \
		echo "disk-tests: no user/block/*.c yet, nothing built"

# make check and check-native build the disk tests too.
check check-native: disk-tests

$(DT_OBJ)/block/%.o: user/block/%.c $(DT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(DT_CFLAGS) -c -o $@ $<

$(DT_UTIL_OBJ): $(DT_DIR)/disk_util.c $(DT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(DT_CFLAGS) -Werror -c -o $@ $<

# The harness trips sign-compare and unused-parameter itself.
$(DT_OUT)/disk_%_test: $(DT_DIR)/%_test.c $(DT_UTIL_OBJ) $(DT_BLOCK_OBJS) \
		$(DT_HDRS) $(KSRC)/.stamp $(DT_VMM_IMG)
	@mkdir -p $(dir $@)
	$(CC) $(DT_CFLAGS) -Werror -Wno-sign-compare -Wno-unused-parameter \
		-o $@ $< $(DT_UTIL_OBJ) $(DT_BLOCK_OBJS) $(BLOCK_LIBS) -lpthread

# ---- fuzz target: libFuzzer, clang only ----
FUZZ_CC ?= clang
FUZZ_TIME ?= 600
FUZZ_OUT := $(O)/disk-fuzz
FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -D_GNU_SOURCE \
	-I$(CURDIR)/user -I$(CURDIR)/user/block -I$(DT_DIR)
# Without libclang-rt (Debian: libclang-rt-14-dev) clang cannot link
# -fsanitize=fuzzer: then make check reports the fuzz test skipped rather
# than failing the build, and make fuzz-disk says what is missing.
$(FUZZ_OUT)/fuzz_vhd: $(DT_DIR)/fuzz_vhd.c $(BLOCK_SRC) $(DT_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(BLOCK_SRC) $(BLOCK_LIBS) || \
		{ rm -f $@; echo "fuzz_vhd: $(FUZZ_CC) cannot build a" \
		"libFuzzer target (install clang and libclang-rt-14-dev);" \
		"the fuzz test will be skipped"; }

# In make check: a short run over the committed corpus, as one TAP test.
# Without clang the wrapper reports a skip.
$(DT_OUT)/disk_fuzz_test: $(DT_DIR)/fuzz_test.sh \
		$(if $(shell command -v $(FUZZ_CC)),$(FUZZ_OUT)/fuzz_vhd)
	@mkdir -p $(dir $@)
	sed -e 's|@FUZZ_BIN@|$(FUZZ_OUT)/fuzz_vhd|' \
		-e 's|@CORPUS@|$(CURDIR)/$(DT_DIR)/corpus|' \
		-e 's|@WORK@|$(FUZZ_OUT)|' $< >$@
	chmod +x $@

fuzz-disk: $(FUZZ_OUT)/fuzz_vhd
	@[ -x $< ] || { echo "fuzz-disk: no $<"; exit 1; }
	@mkdir -p $(FUZZ_OUT)/new
	$< -max_total_time=$(FUZZ_TIME) -max_len=65536 \
		-artifact_prefix=$(FUZZ_OUT)/ $(FUZZ_OUT)/new $(DT_DIR)/corpus

# ---- benchmark: optimised, no sanitizers ----
BENCH_OUT := $(O)/disk-bench
BENCH_CFLAGS := -O2 -g -Wall -Wextra -D_GNU_SOURCE -I$(CURDIR)/user \
	-I$(CURDIR)/user/block -I$(DT_DIR)
$(BENCH_OUT)/bench_vdisk: $(DT_DIR)/bench_vdisk.c $(BLOCK_SRC) $(DT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(BLOCK_SRC) $(BLOCK_LIBS)
$(BENCH_OUT)/bench_uring: $(DT_DIR)/bench_uring.c $(DT_DIR)/bench_util.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -luring

# BENCH_SIZE: bytes per image (default 1 GiB); BENCH_DIR: where the
# images go (default $(O)/disk-bench).
BENCH_SIZE ?= 1G
bench-disk: $(BENCH_OUT)/bench_vdisk $(BENCH_OUT)/bench_uring $(DT_VMM_IMG)
	@BENCH_SIZE=$(BENCH_SIZE) BENCH_DIR=$(or $(BENCH_DIR),$(BENCH_OUT)) \
		$(DT_DIR)/bench.sh $(BENCH_OUT) | tee $(O)/bench-disk.txt
