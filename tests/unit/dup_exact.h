/* SPDX-License-Identifier: MIT */
/*
 * dup_exact: a test input copied to an allocation of exactly its size, so
 * ASan sees any read past the end.  Include after <criterion/criterion.h>.
 */
#ifndef VXMESH_DUP_EXACT_H
#define VXMESH_DUP_EXACT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint8_t *dup_exact(const void *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	cr_assert_not_null(d);
	if (n)
		memcpy(d, p, n);
	return d;
}

#endif
