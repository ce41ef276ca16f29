// SPDX-License-Identifier: GPL-2.0
/*
 * decode-lengths FILE MODE: decode each 16-byte block of FILE (the first
 * 15 bytes of it) in enum bt_mode MODE and print "ret len" per block.
 * The helper of objdump-xcheck.py.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bt/decode.h"

int main(int argc, char **argv)
{
	struct bt_insn insn;
	unsigned char b[16];
	FILE *f;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s FILE MODE\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	while (fread(b, 1, sizeof(b), f) == sizeof(b)) {
		ret = bt_decode(&insn, b, 15, atoi(argv[2]));
		printf("%d %d\n", ret, ret ? 0 : insn.len);
	}
	fclose(f);
	return 0;
}
