# SPDX-License-Identifier: GPL-2.0
#
# Native tests of vmm-run's device models (user/devices/: PCI, virtio,
# RTC, i8042) against a fake machine (tests/devices/fake_machine.c: guest
# RAM in a buffer, regions dispatched by the test).  Included by the top
# Makefile, which defines O, KSRC, CC and BLOCK_SRC.
#
#   make devices-tests   build them into $(O)/native-tests/, where
#                        `make check` and `make check-native` run them
#
# Under ASan and UBSan (DV_SANITIZE= turns them off), like the disk tests.

DV_DIR := tests/devices
DV_OUT := $(O)/native-tests
DV_OBJ := $(O)/devices-obj
DV_SANITIZE ?= -fsanitize=address,undefined -fno-sanitize-recover=all
DV_CFLAGS := -O1 -g -Wall -Wextra $(DV_SANITIZE) -fno-omit-frame-pointer \
	-D_GNU_SOURCE -I$(CURDIR)/user -I$(CURDIR)/user/block \
	-I$(CURDIR)/user/devices -I$(DV_DIR) \
	-I$(KSRC)/tools/testing/selftests -DVMM_SRCDIR='"$(CURDIR)"'
# The device models this suite covers (h3's serial and PM have their own).
DV_SRC := $(wildcard $(addprefix user/devices/,pci.c virtqueue.c \
	virtio_pci.c virtio_blk.c virtio_rng.c rtc.c i8042.c))
DV_HDRS := $(wildcard $(DV_DIR)/*.h user/devices/*.h user/block/*.h \
	user/machine.h)
# The tests' own helpers: the fake machine and a virtio driver.
DV_LIB := $(patsubst $(DV_DIR)/%.c,$(DV_OBJ)/%.o,\
	$(filter-out %_test.c,$(wildcard $(DV_DIR)/*.c)))
DV_OBJS := $(patsubst user/%.c,$(DV_OBJ)/%.o,$(DV_SRC) $(BLOCK_SRC)) \
	$(DV_LIB)
DV_PROGS := $(if $(DV_SRC),$(patsubst $(DV_DIR)/%_test.c,\
	$(DV_OUT)/devices_%_test,$(wildcard $(DV_DIR)/*_test.c)))

.PHONY: devices-tests
devices-tests: $(DV_PROGS)

check check-native: devices-tests

# Kept: the tests link them, make would delete them as intermediates.
.SECONDARY: $(DV_OBJS)

# The models get every warning, as errors.
$(DV_OBJ)/devices/%.o: user/devices/%.c $(DV_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(DV_CFLAGS) -Werror -c -o $@ $<

$(DV_OBJ)/block/%.o: user/block/%.c $(DV_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(DV_CFLAGS) -c -o $@ $<

$(DV_OBJ)/%.o: $(DV_DIR)/%.c $(DV_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(DV_CFLAGS) -Werror -c -o $@ $<

# The harness trips sign-compare and unused-parameter itself.
$(DV_OUT)/devices_%_test: $(DV_DIR)/%_test.c $(DV_OBJS) $(DV_HDRS) \
		$(KSRC)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(DV_CFLAGS) -Werror -Wno-sign-compare -Wno-unused-parameter \
		-o $@ $< $(DV_OBJS) $(BLOCK_LIBS) -lpthread
