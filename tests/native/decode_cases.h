/* SPDX-License-Identifier: GPL-2.0 */
/* The table decode_cases.S builds: instructions as GNU as encodes them. */
#ifndef _VMM_TESTS_DECODE_CASES_H
#define _VMM_TESTS_DECODE_CASES_H

struct bt_case {
	unsigned int code_off;	/* into bt_case_code */
	unsigned int name_off;	/* into bt_case_names */
	unsigned char len;	/* as the assembler made it */
	unsigned char mode;	/* enum bt_mode */
	unsigned char pad[2];
};

extern const unsigned char bt_case_code[];
extern const char bt_case_names[];
extern const struct bt_case bt_cases[], bt_cases_end[];

#endif /* _VMM_TESTS_DECODE_CASES_H */
