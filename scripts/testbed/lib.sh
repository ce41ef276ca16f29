# SPDX-License-Identifier: GPL-2.0
#
# Shared by run-qemu.sh and run-bochs.sh (sourced): the one-machine lock
# and the initramfs packing.  Both expect here, out, name and tap set.

# tb_lock TOOL: one machine at a time on this host (two emulators on 2
# cores slow each other down enough to trip timing-sensitive tests).
# TB_LOCK= turns the lock off.  Held on fd 9 until the script exits.
tb_lock() {
	local lock=${TB_LOCK-/tmp/vmm-testbed.lock}

	[ -n "$lock" ] || return 0
	exec 9>>"$lock"
	if ! flock -n 9; then
		echo "$1: $name: waiting for another test machine ($lock)"
		flock 9
	fi
}

# tb_initramfs: sets initrd to a freshly packed one unless -i gave it.
# Per run name and renamed into place, so that a run started from
# another shell never boots a half-written initramfs.  Exits 2 (with a
# TAP line) when packing fails.
tb_initramfs() {
	[ -z "$initrd" ] || return 0
	initrd=$out/$name.cpio
	if ! "$here/mkinitramfs.sh" "$initrd.tmp" ||
	   ! mv "$initrd.tmp" "$initrd"; then
		echo "not ok $name: the initramfs could not be packed" >"$tap"
		exit 2
	fi
}
