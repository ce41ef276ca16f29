# SPDX-License-Identifier: GPL-2.0
#
# Native tests of vmm-run's platform devices (serial8250.c, acpi_pm.c) on
# h4's fake machine (tests/devices/fake_machine.c), under ASan/UBSan.
# Included by the top Makefile.
#
#   make platform-tests   build $(O)/native-tests/platform_test, which
#                         `make check` and `make check-native` run

PT_OUT := $(O)/native-tests
PT_PROG := $(PT_OUT)/platform_test
PT_SRC := tests/platform/platform_test.c tests/devices/fake_machine.c \
	user/devices/serial8250.c user/devices/acpi_pm.c

.PHONY: platform-tests
platform-tests: $(PT_PROG)

check check-native: platform-tests

$(PT_PROG): $(PT_SRC) tests/devices/fake_machine.h user/machine.h \
		user/devices/devices.h
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined \
		-fno-sanitize-recover=all -I$(CURDIR)/user \
		-I$(CURDIR)/user/devices -Itests/devices -o $@ $(PT_SRC) \
		-lpthread
