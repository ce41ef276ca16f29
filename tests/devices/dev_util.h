/* SPDX-License-Identifier: GPL-2.0 */
/* Configuration-space accesses as a guest makes them, for the tests. */
#ifndef VMM_TESTS_DEV_UTIL_H
#define VMM_TESTS_DEV_UTIL_H

#include "fake_machine.h"

static inline uint32_t cfg_addr(unsigned int slot, unsigned int reg)
{
	return 0x80000000u | slot << 11 | (reg & 0xfc);
}

static inline uint32_t cfg_read(struct machine *m, unsigned int slot,
				unsigned int reg, unsigned int size)
{
	fake_out(m, 0xcf8, cfg_addr(slot, reg), 4);
	return fake_in(m, 0xcfc + (reg & 3), size);
}

static inline void cfg_write(struct machine *m, unsigned int slot,
			     unsigned int reg, uint32_t v, unsigned int size)
{
	fake_out(m, 0xcf8, cfg_addr(slot, reg), 4);
	fake_out(m, 0xcfc + (reg & 3), v, size);
}

/* The offset of the first capability of @id at or after list entry @from. */
static inline unsigned int cfg_find_cap(struct machine *m, unsigned int slot,
					uint8_t id, unsigned int from)
{
	unsigned int p = from ? cfg_read(m, slot, from + 1, 1) :
				cfg_read(m, slot, 0x34, 1);
	unsigned int guard = 0;

	while (p && guard++ < 48) {
		if (cfg_read(m, slot, p, 1) == id)
			return p;
		p = cfg_read(m, slot, p + 1, 1);
	}
	return 0;
}

#endif /* VMM_TESTS_DEV_UTIL_H */
