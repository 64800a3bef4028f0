// SPDX-License-Identifier: MIT
/*
 * vec: the one growth policy for our arrays (double, from VEC_MIN_CAP).
 */
#include "common/vec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int vec_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : VEC_MIN_CAP;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	/* reallocarray() refuses this too, but ASan reports it as an error */
	if (elem && ncap > SIZE_MAX / elem)
		return -ENOMEM;
	p = reallocarray(*arr, ncap, elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

void *vec_push(struct vec *v)
{
	void *slot;

	if (vec_grow(&v->p, &v->cap, v->n + 1, v->elem))
		return NULL;
	slot = (char *)v->p + v->n++ * v->elem;
	memset(slot, 0, v->elem);
	return slot;
}

void *vec_take(struct vec *v, size_t *n)
{
	void *p = v->p;

	*n = v->n;
	if (!v->n) {
		free(p);
		p = NULL;
	}
	v->p = NULL;
	v->n = v->cap = 0;
	return p;
}
