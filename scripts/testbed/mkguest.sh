#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Packs the initramfs of the Linux guest that vmm-run boots in the test
# machine: static busybox, guest-init as /init, and Debian's virtio
# modules for KVER (virtio-pci, virtio-blk, virtio-rng and what they need,
# from modules.dep) with the order to insmod them in.
#
#   mkguest.sh OUT.cpio
#
# Environment: KVER (the guest's kernel: the machine's own).
set -euo pipefail

out=${1:?usage: mkguest.sh OUT.cpio}
here=$(cd "$(dirname "$0")" && pwd)
KVER=${KVER:?KVER is not set}
mods=/lib/modules/$KVER
wanted="virtio_pci virtio_blk virtio-rng"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}

cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list | grep -vx busybox); do
	ln -s busybox "$root/bin/$applet"
done
cp "$here/guest-init" "$root/init"
chmod 755 "$root/init"

# Dependencies first (modules.dep lists them so that loading its list
# last-to-first works), each module once.
order=()
add() {
	local m=$1 d seen
	for seen in "${order[@]}"; do [ "$seen" = "$m" ] && return; done
	for d in $(grep "^$m:" "$mods/modules.dep" | cut -d: -f2 | tr ' ' '\n' | tac); do
		add "$d"
	done
	order+=("$m")
}
for w in $wanted; do
	m=$(grep -o "^[^:]*/$w\.ko[^:]*" "$mods/modules.dep" || true)
	if [ -z "$m" ]; then
		echo "mkguest: $w not in $mods/modules.dep (built in?)" >&2
		continue
	fi
	add "$m"
done
for m in "${order[@]}"; do
	cp "$mods/$m" "$root/lib/modules/"
	basename "$m" >>"$root/lib/modules/order"
done

mkdir -p "$(dirname "$out")"
(cd "$root" && find . | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) >"$out"
echo "mkguest: $out ($(du -h "$out" | cut -f1)): ${order[*]##*/}"
