// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the VHD parser: vhd_parse_check() on the input as
 * a whole file (footer, mirror footer, dynamic header, BAT, locators,
 * bitmaps), exactly what vdisk_open() checks, with nothing opened or
 * written.  A valid image must also be a self-consistent one: it is parsed
 * a second time and must give the same answer.
 *
 *   make fuzz-disk                      run FUZZ_TIME seconds
 *   build/disk-fuzz/fuzz_vhd CRASHFILE  replay one input
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vdisk_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vdisk_error err, err2;
	int ret, again;

	memset(&err, 0, sizeof(err));
	ret = vhd_parse_check(data, size, &err);
	/* Every refusal says why. */
	if (ret && !err.msg[0])
		__builtin_trap();
	if (ret > 0)
		__builtin_trap();
	memset(&err2, 0, sizeof(err2));
	again = vhd_parse_check(data, size, &err2);
	if (again != ret)
		__builtin_trap();
	return 0;
}
