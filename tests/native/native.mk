# SPDX-License-Identifier: GPL-2.0
#
# Native tests of the engine-independent instruction code (kmod/bt/,
# kmod/mmu/gwalk.c): the same sources the module builds, compiled for this
# host with the kselftest harness, under ASan and UBSan.  Included by the
# top Makefile, which defines O, KSRC and CC.
#
#   make native-tests   build them into $(O)/native-tests/
#   make check-native   (scripts/testbed/) runs everything there
#
# decode_test also checks lengths against GNU as: decode_cases.S is a
# table of instructions the assembler encodes, each with its length.

NT_DIR := tests/native
NT_OUT := $(O)/native-tests
NT_OBJ := $(O)/native-obj
# NT_SANITIZE= (empty) builds without ASan/UBSan, e.g. where ASan's
# shadow memory cannot be mapped.
NT_SANITIZE ?= -fsanitize=address,undefined -fno-sanitize-recover=all
NT_CFLAGS := -O1 -g -Wall -Wextra -Werror $(NT_SANITIZE) \
	-fno-omit-frame-pointer \
	-I$(CURDIR)/kmod -I$(KSRC)/tools/testing/selftests
NT_CODE := kmod/bt/decode.c kmod/bt/mmio.c kmod/mmu/gwalk.c \
	kmod/mmu/tdp_pt.c
NT_HDRS := kmod/bt/decode.h kmod/bt/mmio.h kmod/bt/types.h \
	kmod/mmu/gwalk.h kmod/mmu/tdp_pt.h $(wildcard $(NT_DIR)/*.h)
NT_PROGS := $(patsubst $(NT_DIR)/%.c,$(NT_OUT)/%,\
	$(wildcard $(NT_DIR)/*_test.c))

.PHONY: native-tests
native-tests: $(NT_PROGS)

# The code under test gets every warning; the tests relax sign-compare,
# and unused-parameter, which the harness itself trips.
NT_CODE_OBJS := $(patsubst kmod/%.c,$(NT_OBJ)/%.o,$(NT_CODE))
$(NT_OBJ)/%.o: kmod/%.c $(NT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(NT_CFLAGS) -c -o $@ $<

# The interrupt controller models (kmod/irq/) are kernel code: they build
# against small stand-ins for the kernel headers they include
# (shim/linux/*.h, all one shim/kshim.h with a fake clock and hrtimers),
# and each links into its own test, whose fakes of the functions the
# model calls out to replace the model's weak placeholders.
NT_SHIM := $(NT_DIR)/shim
NT_IRQ_CFLAGS := -I$(CURDIR)/$(NT_SHIM) -Wno-unused-parameter
NT_IRQ_HDRS := kmod/irq/irq.h $(wildcard $(NT_SHIM)/*.h $(NT_SHIM)/linux/*.h)
$(NT_OBJ)/irq/%.o: kmod/irq/%.c $(NT_IRQ_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(NT_CFLAGS) $(NT_IRQ_CFLAGS) -c -o $@ $<
$(NT_OBJ)/irq/kshim.o: $(NT_SHIM)/kshim.c $(NT_IRQ_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(NT_CFLAGS) $(NT_IRQ_CFLAGS) -c -o $@ $<
NT_IRQ_TESTS := $(patsubst %,$(NT_OUT)/%_test,pic ioapic pit)
$(NT_IRQ_TESTS): private NT_CFLAGS += $(NT_IRQ_CFLAGS)
$(NT_IRQ_TESTS): $(NT_OUT)/%_test: $(NT_OBJ)/irq/%.o $(NT_OBJ)/irq/kshim.o

# GNU as itself, whatever CC is: the lengths are its encodings.
AS ?= as
$(NT_OBJ)/decode_cases.o: $(NT_DIR)/decode_cases.S
	@mkdir -p $(dir $@)
	$(CC) -E -P -x assembler-with-cpp $< | $(AS) --64 -o $@

$(NT_OUT)/decode_test: $(NT_OBJ)/decode_cases.o

$(NT_OUT)/%_test: $(NT_DIR)/%_test.c $(NT_CODE_OBJS) $(NT_HDRS) \
		$(KSRC)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(NT_CFLAGS) -Wno-sign-compare -Wno-unused-parameter \
		-o $@ $< $(NT_CODE_OBJS) \
		$(filter $(NT_OBJ)/decode_cases.o $(NT_OBJ)/irq/%.o,$^)

# A developer's cross-check of decoder lengths against objdump (not run
# by check-native): see tests/native/tools/objdump-xcheck.py.
.PHONY: decode-xcheck
decode-xcheck: $(NT_OBJ)/decode-lengths
	python3 $(NT_DIR)/tools/objdump-xcheck.py $< 3
$(NT_OBJ)/decode-lengths: $(NT_DIR)/tools/decode-lengths.c \
		$(NT_OBJ)/bt/decode.o
	$(CC) $(NT_CFLAGS) -o $@ $^
