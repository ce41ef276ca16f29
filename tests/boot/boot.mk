# SPDX-License-Identifier: GPL-2.0
#
# Native tests of vmm-run's Linux loader and ACPI tables (user/boot/) on a
# fake machine: tests/boot/boot_test.c.  Included by the top Makefile.
#
#   make boot-tests   build them into $(O)/native-tests/, where
#                     `make check` and `make check-native` run them

BT_OUT := $(O)/native-tests
BT_PROG := $(BT_OUT)/boot_test

.PHONY: boot-tests
boot-tests: $(BT_PROG)

check check-native: boot-tests

$(BT_PROG): tests/boot/boot_test.c $(wildcard user/boot/*.c user/boot/*.h) \
		$(O)/boot/dsdt.hex user/vmm-run.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -fsanitize=address,undefined \
		-fno-sanitize-recover=all -o $@ $< \
		user/boot/acpi.c user/boot/bzimage.c -I$(O)/boot
