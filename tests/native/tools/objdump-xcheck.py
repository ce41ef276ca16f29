#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Compare bt_decode() lengths with objdump's on random instructions.
# A developer's tool, not a test: objdump knows more opcodes than the
# CPU (and fewer), merges FWAIT into x87 forms and prints unused
# prefixes as instructions, so what is left after the filters below is
# to be read by a person.  Known, intended differences:
#   66 + near branch in 64-bit mode (objdump: AMD, rel16; we: Intel)
#   LOCK on a non-lockable form (we: -EINVAL, #UD)
#   register-only / memory-only forms objdump calls (bad)
#   FWAIT (9B) before an x87 instruction: two instructions to the CPU
#
#   make -f Makefile -f tests/native/native.mk decode-xcheck
#   python3 tests/native/tools/objdump-xcheck.py BIN MODE [N [SEED]]
# MODE: 1 (16-bit), 2 (32-bit), 3 (64-bit).
import collections
import random
import re
import subprocess
import sys
import tempfile

BLK, PAD = 16, 32
MACHINE = {1: 'i8086', 2: 'i386', 3: 'i386:x86-64'}


def blocks(mode, n, rng):
    for _ in range(n):
        b = []
        r = rng.random()
        if r < 0.45:
            b.append(rng.randrange(256))
        elif r < 0.85:
            b += [0x0f, rng.randrange(256)]
        else:
            b += [0x0f, rng.choice([0x38, 0x3a]), rng.randrange(256)]
        b += [rng.randrange(256) for _ in range(BLK - len(b))]
        yield bytes(b)


def main():
    tool, mode = sys.argv[1], int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    cases = list(blocks(mode, n, rng))
    with tempfile.NamedTemporaryFile() as raw, \
            tempfile.NamedTemporaryFile() as padded:
        raw.write(b''.join(cases))
        raw.flush()
        # NOP padding longer than any instruction resyncs objdump.
        padded.write(b''.join(c[:15] + b'\x90' * (PAD - 15) for c in cases))
        padded.flush()
        mine = [tuple(map(int, l.split())) for l in subprocess.run(
            [tool, raw.name, str(mode)], capture_output=True, text=True,
            check=True).stdout.splitlines()]
        dump = subprocess.run(
            ['objdump', '-D', '-w', '-b', 'binary', '-m', MACHINE[mode],
             padded.name], capture_output=True, text=True,
            check=True).stdout
    insns = []
    for line in dump.splitlines():
        m = re.match(r'\s*([0-9a-f]+):\t[0-9a-f ]+\t(.*)', line)
        if m:
            insns.append((int(m.group(1), 16), m.group(2)))
    theirs = {}
    for i, (addr, text) in enumerate(insns):
        if addr % PAD == 0 and i + 1 < len(insns):
            theirs[addr // PAD] = (insns[i + 1][0] - addr, text)
    diff, example = collections.Counter(), {}
    for i, case in enumerate(cases):
        ret, length = mine[i]
        olen, text = theirs.get(i, (None, '?'))
        bad = '(bad)' in text
        if (ret == 0 and not bad and olen == length) or (ret and bad):
            continue
        # objdump prints a prefix it finds unused as an instruction.
        if re.match(r'(rex(\.[WRXB]+)?|data16|addr32|[cdefgs]s)$', text):
            continue
        key = (ret, text.split()[0] if text else '')
        diff[key] += 1
        example.setdefault(key, (case.hex(), length, olen, text))
    for key, count in diff.most_common():
        print(count, key, example[key])


if __name__ == '__main__':
    main()
