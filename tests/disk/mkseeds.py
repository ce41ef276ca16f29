#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Writes the hand-made seeds of the VHD fuzz corpus (tests/disk/corpus/):
# small dynamic and differencing VHDs with 4 KiB blocks, some allocated,
# parent locators of every kind, a saved-state fixed disk.  The qemu-*
# seeds come from qemu-img create; these cover what qemu cannot make.
#
#   tests/disk/mkseeds.py tests/disk/corpus
import os
import struct
import sys
import uuid


def checksum(b):
    return (~sum(b)) & 0xffffffff


def chs(size):
    # The VHD specification's geometry algorithm.
    ts = min(size // 512, 65535 * 16 * 255)
    if ts >= 65535 * 16 * 63:
        spt, heads = 255, 16
        cth = ts // spt
    else:
        spt = 17
        cth = ts // spt
        heads = max((cth + 1023) // 1024, 4)
        if cth >= heads * 1024 or heads > 16:
            spt, heads = 31, 16
            cth = ts // spt
        if cth >= heads * 1024:
            spt, heads = 63, 16
            cth = ts // spt
    return (cth // heads, heads, spt)


def footer(size, dtype, data_offset, uid, app=b"vmm ", saved=0):
    c, h, s = chs(size)
    f = bytearray(512)
    struct.pack_into(">8sIIQI4sI4sQQHBBII16sB", f, 0, b"conectix", 2,
                     0x00010000, data_offset, 0x30f0a000, app, 0x00010000,
                     b"Wi2k", size, size, c, h, s, dtype, 0, uid, saved)
    struct.pack_into(">I", f, 64, checksum(f))
    return bytes(f)


def dynamic(size, bsize, blocks, dtype=3, parent=None):
    """blocks: {index: (bitmap bytes, data bytes)}"""
    entries = (size + bsize - 1) // bsize
    bat_off = 512 + 1024
    bat_len = (entries * 4 + 511) // 512 * 512
    pos = bat_off + bat_len
    locs = []
    if parent:
        for code, text in ((b"W2ku", "C:\\vms\\" + parent),
                           (b"W2ru", ".\\" + parent),
                           (b"MacX", "file://localhost/vms/" + parent)):
            enc = (text.encode("utf-8") if code == b"MacX"
                   else text.encode("utf-16-le"))
            locs.append((code, pos, enc))
            pos += 512
    uid = uuid.UUID(int=0x1234 + size + bsize + dtype).bytes
    ftr = footer(size, dtype, 512, uid)
    h = bytearray(1024)
    struct.pack_into(">8sQQIII", h, 0, b"cxsparse", 0xffffffffffffffff,
                     bat_off, 0x00010000, entries, bsize)
    if parent:
        struct.pack_into(">16sI", h, 40, uuid.UUID(int=0xabcd).bytes,
                         0x30f00000)
        name = parent.encode("utf-16-be")
        h[64:64 + len(name)] = name
        for i, (code, off, enc) in enumerate(locs):
            struct.pack_into(">4sIIIQ", h, 576 + 24 * i, code, 1,
                             len(enc), 0, off)
    struct.pack_into(">I", h, 36, checksum(h))
    bat = [0xffffffff] * entries
    bitmap_len = (bsize // 512 // 8 + 511) // 512 * 512
    body = bytearray()
    for i in sorted(blocks):
        bat[i] = (pos + len(body)) // 512
        bm, data = blocks[i]
        body += bm.ljust(bitmap_len, b"\0") + data.ljust(bsize, b"\0")
    img = bytearray(ftr + h)
    img += struct.pack(">%dI" % entries, *bat).ljust(bat_len, b"\xff")
    for code, off, enc in locs:
        img += enc.ljust(512, b"\0")
    img += body + ftr
    return bytes(img)


def main(out):
    w = lambda name, b: open(os.path.join(out, name), "wb").write(b)
    pat = bytes(range(256)) * 16
    w("vmm-dynamic-4k-blocks.vhd",
      dynamic(64 * 1024, 4096, {0: (b"\xff", pat), 5: (b"\x81", pat[::-1])}))
    w("vmm-dynamic-empty.vhd", dynamic(1 << 20, 4096, {}))
    w("vmm-diff-locators.vhd",
      dynamic(32 * 1024, 4096, {1: (b"\x0f", pat)}, dtype=4,
              parent="base.vhd"))
    fixed = bytearray(4096) + footer(4096, 2, 0xffffffffffffffff,
                                     uuid.UUID(int=7).bytes, b"win ", 1)
    w("vmm-fixed-saved-win.vhd", bytes(fixed))


main(sys.argv[1] if len(sys.argv) > 1 else "tests/disk/corpus")
