/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for common/errmsg.c: formats into the buffer, truncates and
 * terminates, and leaves a NULL or zero-length buffer alone.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "common/errmsg.h"

Test(errmsg, formats_into_the_buffer)
{
	char buf[64] = "old";

	errmsg_set(buf, sizeof(buf), "vni %u: %s", 42u, "taken");
	cr_expect_str_eq(buf, "vni 42: taken");
	errmsg_set(buf, sizeof(buf), "%s", "");
	cr_expect_str_eq(buf, "");
}

Test(errmsg, truncates_and_terminates)
{
	static const struct {
		size_t len;
		const char *want;
	} cases[] = {{1, ""}, {2, "a"}, {6, "abcde"}, {7, "abcdef"}, {8, "abcdef"}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[16];

		memset(buf, 'x', sizeof(buf));
		errmsg_set(buf, cases[i].len, "%s", "abcdef");
		cr_expect_str_eq(buf, cases[i].want, "len %zu", cases[i].len);
		cr_expect_eq(buf[cases[i].len], 'x', "len %zu: wrote past the end", cases[i].len);
	}
}

Test(errmsg, null_or_empty_buffer_is_left_alone)
{
	char buf[8] = "keep";

	errmsg_set(NULL, 0, "x");
	errmsg_set(NULL, 64, "x");
	errmsg_set(buf, 0, "x");
	cr_expect_str_eq(buf, "keep");
}
