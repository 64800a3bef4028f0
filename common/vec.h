/* SPDX-License-Identifier: MIT */
/*
 * vec: growable arrays.  vec_grow() for arrays kept as (pointer, count,
 * capacity) fields of a larger struct; struct vec for a result array being
 * built and then handed over (a kernel dump).
 */
#ifndef VXMESH_VEC_H
#define VXMESH_VEC_H

#include <stddef.h>

#define VEC_MIN_CAP 8

/* Room for need elements of elem bytes in *arr, whose capacity is *cap:
 * doubles the capacity (from VEC_MIN_CAP) until it fits.  0 or -ENOMEM
 * (also on size overflow); *arr and *cap change only on success. */
int vec_grow(void **arr, size_t *cap, size_t need, size_t elem) __attribute__((warn_unused_result));

/* Zero-initialise with .elem set: struct vec v = {.elem = sizeof(T)}. */
struct vec {
	void *p;
	size_t n, cap, elem;
};

/* Append a zeroed element: a pointer to it (valid until the next push) or
 * NULL when out of memory. */
void *vec_push(struct vec *v);
/* Hand the array over: the caller free()s it.  NULL with *n 0 when empty. */
void *vec_take(struct vec *v, size_t *n);

#endif
