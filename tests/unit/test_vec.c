/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for common/vec.c: vec_grow's capacity steps, contents kept
 * across growth, nothing touched when there is room or on overflow, and
 * struct vec's zeroed pushes and hand-over.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/vec.h"

Test(vec, grow_doubles_from_the_minimum_until_need_fits)
{
	static const struct {
		size_t cap, need, want;
	} cases[] = {
		{0, 1, VEC_MIN_CAP},
		{0, VEC_MIN_CAP, VEC_MIN_CAP},
		{0, VEC_MIN_CAP + 1, 2 * VEC_MIN_CAP},
		{0, 100, 128},
		{8, 8, 8},
		{8, 9, 16},
		{16, 3, 16},
		{3, 4, 6},
		{8, 65, 128},
		{0, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t cap = cases[i].cap;
		void *arr = cap ? calloc(cap, sizeof(int)) : NULL;

		cr_expect_eq(vec_grow(&arr, &cap, cases[i].need, sizeof(int)), 0);
		cr_expect_eq(cap, cases[i].want, "cap %zu need %zu: %zu, want %zu", cases[i].cap,
			     cases[i].need, cap, cases[i].want);
		free(arr);
	}
}

Test(vec, grow_keeps_the_contents)
{
	int *arr = NULL;
	size_t cap = 0, n;

	for (n = 0; n < 1000; n++) {
		cr_assert_eq(vec_grow((void **)&arr, &cap, n + 1, sizeof(*arr)), 0);
		cr_assert_geq(cap, n + 1);
		arr[n] = (int)n * 7;
	}
	for (n = 0; n < 1000; n++)
		cr_expect_eq(arr[n], (int)n * 7);
	free(arr);
}

Test(vec, grow_refuses_overflow_and_leaves_the_array_alone)
{
	static const struct {
		size_t need, elem;
	} cases[] = {
		{SIZE_MAX, 1},
		{SIZE_MAX / 2 + 2, 1},
		{SIZE_MAX / 4, 16},
		{(SIZE_MAX / 8) + 1, 8},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t cap = VEC_MIN_CAP;
		void *arr = malloc(VEC_MIN_CAP * cases[i].elem), *orig = arr;

		cr_expect_eq(vec_grow(&arr, &cap, cases[i].need, cases[i].elem), -ENOMEM,
			     "need %zu x %zu", cases[i].need, cases[i].elem);
		cr_expect_eq(arr, orig);
		cr_expect_eq(cap, VEC_MIN_CAP);
		free(arr);
	}
}

struct pair {
	int a, b;
};

Test(vec, push_gives_zeroed_slots_in_order)
{
	struct vec v = {.elem = sizeof(struct pair)};
	struct pair *p;
	size_t n;

	for (int i = 0; i < 50; i++) {
		p = vec_push(&v);
		cr_assert_not_null(p);
		cr_expect(p->a == 0 && p->b == 0, "slot %d not zeroed", i);
		p->a = i;
		p->b = -i;
	}
	p = vec_take(&v, &n);
	cr_assert_eq(n, 50);
	for (size_t i = 0; i < n; i++)
		cr_expect(p[i].a == (int)i && p[i].b == -(int)i);
	cr_expect_null(v.p, "take leaves the vec empty");
	cr_expect_eq(v.n, 0);
	free(p);
}

Test(vec, take_of_an_empty_vec_is_null)
{
	struct vec v = {.elem = 4};
	size_t n = 99;

	cr_expect_null(vec_take(&v, &n));
	cr_expect_eq(n, 0);
	/* pushed and then emptied by the caller (a dump run again): freed, NULL */
	cr_assert_not_null(vec_push(&v));
	v.n = 0;
	cr_expect_null(vec_take(&v, &n));
	cr_expect_eq(n, 0);
}
