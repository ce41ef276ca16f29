# SPDX-License-Identifier: GPL-2.0
#
# vmm top-level build.
#
#   make              module (kmod/vmm.ko), user tools, selftests
#   make check        native tests, then the selftests in the QEMU test machine
#   make demo         boot the test machine and run a demo guest through /dev/vmm
#   make bench        exit costs, ours next to KVM's, in the same test machine
#
# KVER defaults to the kernel Debian's linux-image-amd64 points at (6.1 on
# Debian 12), else the newest /boot/vmlinuz-*; KDIR to its headers.  Both
# can be overridden: make KVER=6.12.117+deb12-amd64 builds for 6.12.

KVER ?= $(shell dpkg-query -W -f='$${Depends}' linux-image-amd64 2>/dev/null | \
	sed -n 's/^linux-image-\([^ ]*\).*/\1/p')
ifeq ($(KVER),)
KVER := $(shell ls /boot/vmlinuz-* 2>/dev/null | sed 's,/boot/vmlinuz-,,' | sort -V | tail -n 1)
endif
KDIR ?= /usr/src/linux-headers-$(KVER)
O := $(CURDIR)/build
KSRC_TAR ?= /usr/src/linux-source-6.1.tar.xz
KSRC := $(O)/ksrc/linux-source-6.1

CC ?= gcc
USER_CFLAGS := -O2 -g -Wall -Wextra -Werror=implicit-function-declaration \
	-I$(CURDIR)/include/uapi -I$(CURDIR)/user
ST_CFLAGS := $(USER_CFLAGS) -I$(KSRC)/tools/testing/selftests -I$(CURDIR)/selftests

export KVER KDIR O KSRC

.PHONY: all kmod kmod-next user selftests ksrc check check-native demo bench clean

all: kmod user selftests

# A newer LTS kernel to test beside KVER when its image and headers are
# installed (.ci/run installs Debian's 6.12): built in a copy of kmod/.
KVER_NEXT ?= $(shell ls -d /usr/src/linux-headers-6.12*-amd64 2>/dev/null | \
	sed 's,/usr/src/linux-headers-,,' | sort -V | tail -n 1)
KNEXT := $(O)/kmod-$(KVER_NEXT)
export KVER_NEXT

kmod-next:
	@if [ -z "$(KVER_NEXT)" ] || [ ! -e /boot/vmlinuz-$(KVER_NEXT) ]; then \
		echo "kmod-next: no 6.12 kernel installed, skipped"; exit 0; fi; \
	mkdir -p $(KNEXT) && cp -r kmod include Kbuild $(KNEXT)/ && \
	rm -f $(KNEXT)/kmod/.kver && \
	$(MAKE) -C /usr/src/linux-headers-$(KVER_NEXT) M=$(KNEXT) O= modules

# kbuild does not notice a change of kernel: start clean when KVER changes.
kmod:
	@if [ "$$(cat kmod/.kver 2>/dev/null)" != "$(KVER)" ]; then \
		$(MAKE) -s -C $(KDIR) M=$(CURDIR) O= clean; \
		echo "$(KVER)" >kmod/.kver; \
	fi
	$(MAKE) -C $(KDIR) M=$(CURDIR) O= modules

# Files this project uses from Debian's linux-source package, never
# committed: the kselftest harness and the kernel's style tools.
KSRC_FILES := tools/testing/selftests/kselftest_harness.h \
	tools/testing/selftests/kselftest.h scripts/checkpatch.pl \
	scripts/spelling.txt scripts/const_structs.checkpatch .clang-format
$(KSRC)/.stamp: $(KSRC_TAR)
	mkdir -p $(O)/ksrc
	tar -xJf $(KSRC_TAR) -C $(O)/ksrc $(addprefix linux-source-6.1/,$(KSRC_FILES))
	touch $@
ksrc: $(KSRC)/.stamp

# ---- user tools: user/*.c, one program each, sharing user/lib*.c; the
# programs that serve disks also get user/block/*.c and liburing ----
# vmm-run's own modules in user/ are not programs.
VMMRUN_PARTS := user/machine.c $(wildcard user/accel_*.c)
USER_PROGS := $(patsubst user/%.c,$(O)/bin/%,$(filter-out user/lib% $(VMMRUN_PARTS),$(wildcard user/*.c)))
USER_LIB := $(wildcard user/lib*.c)
BLOCK_SRC := $(wildcard user/block/*.c)
BLOCK_LIBS := -luring
BLOCK_PROGS := $(O)/bin/vmm-img $(O)/bin/vmm-run
$(BLOCK_PROGS): USER_LINK = $(BLOCK_SRC) $(BLOCK_LIBS)
$(BLOCK_PROGS): $(BLOCK_SRC) $(wildcard user/block/*.h)

# vmm-run: the launcher, its accelerators, the Linux loader and ACPI
# tables (user/boot/), the devices (user/devices/); the DSDT is ASL that
# iasl (Debian's acpica-tools) compiles into a C array acpi.c includes.
VMMRUN_SRC := $(VMMRUN_PARTS) $(wildcard user/boot/*.c user/devices/*.c)
$(O)/boot/dsdt.hex: user/boot/dsdt.asl
	@mkdir -p $(dir $@)
	@command -v iasl >/dev/null || { echo "iasl not found: apt-get install acpica-tools (.ci/run --deps-only)" >&2; exit 1; }
	iasl -tc -p $(O)/boot/dsdt $< >/dev/null
$(O)/bin/vmm-run: USER_LINK = $(VMMRUN_SRC) $(BLOCK_SRC) $(BLOCK_LIBS) \
	-I$(O)/boot -I$(CURDIR)/user/block -I$(CURDIR)/user/devices \
	-pthread
$(O)/bin/vmm-run: $(VMMRUN_SRC) $(O)/boot/dsdt.hex \
	$(wildcard user/boot/*.h user/devices/*.h)
user: $(USER_PROGS)
$(O)/bin/%: user/%.c $(USER_LIB) $(wildcard user/*.h) include/uapi/linux/vmm.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -static -o $@ $< $(USER_LIB) $(USER_LINK)

# ---- selftests: selftests/*_test.c on the kselftest harness ----
ST_PROGS := $(patsubst selftests/%.c,$(O)/selftests/%,$(wildcard selftests/*_test.c))
ST_LIB := $(wildcard selftests/lib/*.c)
selftests: $(ST_PROGS)
$(O)/selftests/%: selftests/%.c $(ST_LIB) $(USER_LIB) $(wildcard selftests/*.h selftests/lib/*.h user/*.h) include/uapi/linux/vmm.h $(KSRC)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(ST_CFLAGS) -static -pthread -o $@ $< $(ST_LIB) $(USER_LIB)

-include tests/native/native.mk
-include tests/disk/disk.mk
-include tests/devices/devices.mk
-include tests/run/run.mk
-include tests/boot/boot.mk
-include tests/platform/platform.mk
-include scripts/testbed/testbed.mk

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) O= clean || true
	rm -rf $(O) kmod/.kver
