#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Packs the initramfs of the vmm test machine: busybox, /init, vmm.ko, the
# selftests and user tools, KVM's own modules (the peer for the bench),
# and a Linux guest for vmm-run (/guest: the same kernel, mkguest.sh's
# initramfs).
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

# kvm-amd and its dependencies, in load order, one "file params" a line.
# modules.dep lists a module's dependencies so that loading them
# last-to-first works (that is what modprobe does), e.g.
# kvm-amd.ko: ccp.ko kvm.ko irqbypass.ko.
kvm_amd=$(grep -o '^[^:]*/kvm-amd\.ko[^:]*' "$mods/modules.dep" || true)
if [ -n "$kvm_amd" ]; then
	deps=$(grep "^$kvm_amd:" "$mods/modules.dep" | cut -d: -f2)
	order=$(echo "$deps" | tr ' ' '\n' | grep . | tac || true)
	for m in $order $kvm_amd; do
		cp "$mods/$m" "$root/lib/kvm/"
		# Newer kvm turns SVM on at load time and would keep it from
		# us; 6.1's has no such parameter. Asked here, because
		# busybox modinfo cannot read a module outside its tree.
		arg=
		modinfo -F parm "$mods/$m" | grep -q '^enable_virt_at_load:' &&
			arg=enable_virt_at_load=0
		echo "$(basename "$m") $arg" >>"$root/lib/kvm/order"
	done
else
	echo "mkinitramfs: kvm-amd not in $mods/modules.dep; bench has no peer" >&2
fi

mkdir -p "$(dirname "$out")"
# Uncompressed: the emulated kernel would spend longer inflating it than
# the host spends copying it.
(cd "$root" && find . | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) >"$out"
echo "mkinitramfs: $out ($(du -h "$out" | cut -f1))"
