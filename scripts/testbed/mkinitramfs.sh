#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Packs the initramfs of the vmm test machine: busybox, /init, vmm.ko, the
# selftests and user tools, KVM's own modules for AMD and Intel CPUs (the
# peer for the bench), and a Linux guest for vmm-run (/guest: the same
# kernel, mkguest.sh's initramfs).
#
#   mkinitramfs.sh OUT.cpio
#
# Environment: KVER (kernel the machine boots), O (build dir, default
# ./build), VMM_KO (default kmod/vmm.ko). A missing vmm.ko is not an error
# here: /init reports it inside the machine, where the test can fail.
set -euo pipefail

out=${1:?usage: mkinitramfs.sh OUT.cpio}
here=$(cd "$(dirname "$0")" && pwd)
KVER=${KVER:?KVER is not set}
O=${O:-build}
VMM_KO=${VMM_KO:-kmod/vmm.ko}
mods=/lib/modules/$KVER

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,selftests,lib/vmm,lib/kvm}

# busybox and one symlink per applet, so /init reads like a normal shell.
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list | grep -vx busybox); do
	ln -s busybox "$root/bin/$applet"
done
cp "$here/init" "$root/init"
chmod 755 "$root/init"

if [ -f "$VMM_KO" ]; then
	cp "$VMM_KO" "$root/lib/vmm/vmm.ko"
else
	echo "mkinitramfs: $VMM_KO not found; the machine will report it" >&2
fi

# All static, so nothing else needs to come along. User tools go last in
# /bin so that a tool named like an applet wins.
for f in "$O"/selftests/* "$O"/bin/*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	case $f in
	"$O"/selftests/*) cp "$f" "$root/selftests/" ;;
	*) rm -f "$root/bin/${f##*/}"; cp "$f" "$root/bin/" ;;
	esac
done

# The Linux guest of the "linux" and "demo" jobs: this kernel again, and
# a small initramfs of its own (mkguest.sh).
mkdir -p "$root/guest"
if [ -r "/boot/vmlinuz-$KVER" ] &&
   "$here/mkguest.sh" "$root/guest/initrd.cpio" >/dev/null; then
	cp "/boot/vmlinuz-$KVER" "$root/guest/bzImage"
else
	echo "mkinitramfs: no guest kernel or initramfs; the linux job will say so" >&2
fi

# KVM's modules for either vendor, so that one initramfs serves QEMU's
# AMD-V machine and Bochs' VT-x one: /lib/kvm/order.VENDOR lists kvm-amd
# or kvm-intel after its dependencies, in load order, one "file params"
# a line (init's load_kvm picks the file by the CPU's svm or vmx flag).
# modules.dep lists a module's dependencies so that loading them
# last-to-first works (that is what modprobe does), e.g.
# kvm-amd.ko: ccp.ko kvm.ko irqbypass.ko.
for vendor in amd intel; do
	main=$(grep -o "^[^:]*/kvm-$vendor\.ko[^:]*" "$mods/modules.dep" || true)
	if [ -z "$main" ]; then
		echo "mkinitramfs: kvm-$vendor not in $mods/modules.dep;" \
			"no KVM peer on $vendor CPUs" >&2
		continue
	fi
	deps=$(grep "^$main:" "$mods/modules.dep" | cut -d: -f2)
	order=$(echo "$deps" | tr ' ' '\n' | grep . | tac || true)
	for m in $order $main; do
		cp "$mods/$m" "$root/lib/kvm/"
		# Newer kvm turns SVM/VMX on at load time and would keep it
		# from us; 6.1's has no such parameter. Asked here, because
		# busybox modinfo cannot read a module outside its tree.
		arg=
		modinfo -F parm "$mods/$m" | grep -q '^enable_virt_at_load:' &&
			arg=enable_virt_at_load=0
		echo "$(basename "$m") $arg" >>"$root/lib/kvm/order.$vendor"
	done
done

mkdir -p "$(dirname "$out")"
# Uncompressed: the emulated kernel would spend longer inflating it than
# the host spends copying it.
(cd "$root" && find . | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) >"$out"
echo "mkinitramfs: $out ($(du -h "$out" | cut -f1))"
