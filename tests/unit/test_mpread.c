// SPDX-License-Identifier: MIT
/* Unit tests for common/mpread.c: the bounded msgpack reader. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mpread.h"
#include "tests/unit/dup_exact.h"

#define B(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

struct head_case {
	const char *what;
	const uint8_t *in;
	size_t len;
	enum mpr_type type;
	uint64_t u;
	size_t body_off, body_len; /* body: in[body_off .. +body_len] */
	size_t used;		   /* bytes mpr_head() consumes */
};

#define HC(what, type, u, off, blen, used, ...)                                                    \
	{                                                                                          \
		what, B(__VA_ARGS__), type, u, off, blen, used                                     \
	}

static const struct head_case heads[] = {
	HC("positive fixint 0", MPR_UINT, 0, 0, 0, 1, 0x00),
	HC("positive fixint 127", MPR_UINT, 127, 0, 0, 1, 0x7f),
	HC("fixmap 0", MPR_MAP, 0, 0, 0, 1, 0x80),
	HC("fixmap 1", MPR_MAP, 1, 0, 0, 1, 0x81, 0x01, 0x02),
	HC("fixarray 0", MPR_ARRAY, 0, 0, 0, 1, 0x90),
	HC("fixarray 2", MPR_ARRAY, 2, 0, 0, 1, 0x92, 0xc0, 0xc0),
	HC("fixstr 0", MPR_STR, 0, 1, 0, 1, 0xa0),
	HC("fixstr 3", MPR_STR, 0, 1, 3, 4, 0xa3, 'a', 'b', 'c'),
	HC("nil", MPR_NIL, 0, 0, 0, 1, 0xc0),
	HC("false", MPR_BOOL, 0, 0, 0, 1, 0xc2),
	HC("true", MPR_BOOL, 1, 0, 0, 1, 0xc3),
	HC("bin8", MPR_BIN, 0, 2, 2, 4, 0xc4, 0x02, 0xaa, 0xbb),
	HC("bin16", MPR_BIN, 0, 3, 1, 4, 0xc5, 0x00, 0x01, 0xaa),
	HC("bin32", MPR_BIN, 0, 5, 1, 6, 0xc6, 0x00, 0x00, 0x00, 0x01, 0xaa),
	HC("ext8", MPR_EXT, 0, 2, 2, 4, 0xc7, 0x01, 0x05, 0xaa),
	HC("ext16", MPR_EXT, 0, 3, 1, 4, 0xc8, 0x00, 0x00, 0x05),
	HC("ext32", MPR_EXT, 0, 5, 2, 7, 0xc9, 0x00, 0x00, 0x00, 0x01, 0x05, 0xaa),
	HC("float32", MPR_FLOAT, 0, 1, 4, 5, 0xca, 0x3f, 0x80, 0x00, 0x00),
	HC("float64", MPR_FLOAT, 0, 1, 8, 9, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0),
	HC("uint8", MPR_UINT, 0xff, 0, 0, 2, 0xcc, 0xff),
	HC("uint16", MPR_UINT, 0x1234, 0, 0, 3, 0xcd, 0x12, 0x34),
	HC("uint32", MPR_UINT, 0x12345678, 0, 0, 5, 0xce, 0x12, 0x34, 0x56, 0x78),
	HC("uint64", MPR_UINT, UINT64_MAX, 0, 0, 9, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	   0xff),
	HC("int8 positive", MPR_UINT, 5, 0, 0, 2, 0xd0, 0x05),
	HC("int8 -1", MPR_NEG, (uint64_t)-1, 0, 0, 2, 0xd0, 0xff),
	HC("int16 -2", MPR_NEG, (uint64_t)-2, 0, 0, 3, 0xd1, 0xff, 0xfe),
	HC("int16 positive", MPR_UINT, 0x7fff, 0, 0, 3, 0xd1, 0x7f, 0xff),
	HC("int32 min", MPR_NEG, (uint64_t)(int64_t)INT32_MIN, 0, 0, 5, 0xd2, 0x80, 0, 0, 0),
	HC("int64 min", MPR_NEG, (uint64_t)INT64_MIN, 0, 0, 9, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0),
	HC("int64 max", MPR_UINT, INT64_MAX, 0, 0, 9, 0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
	   0xff, 0xff),
	HC("fixext1", MPR_EXT, 0, 1, 2, 3, 0xd4, 0x01, 0xaa),
	HC("fixext2", MPR_EXT, 0, 1, 3, 4, 0xd5, 0x01, 0xaa, 0xbb),
	HC("fixext4", MPR_EXT, 0, 1, 5, 6, 0xd6, 0x01, 1, 2, 3, 4),
	HC("fixext8", MPR_EXT, 0, 1, 9, 10, 0xd7, 0x01, 1, 2, 3, 4, 5, 6, 7, 8),
	HC("fixext16", MPR_EXT, 0, 1, 17, 18, 0xd8, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
	   14, 15, 16),
	HC("str8", MPR_STR, 0, 2, 1, 3, 0xd9, 0x01, 'x'),
	HC("str16", MPR_STR, 0, 3, 2, 5, 0xda, 0x00, 0x02, 'x', 'y'),
	HC("str32", MPR_STR, 0, 5, 0, 5, 0xdb, 0x00, 0x00, 0x00, 0x00),
	HC("array16", MPR_ARRAY, 1, 0, 0, 3, 0xdc, 0x00, 0x01, 0xc0),
	HC("array32", MPR_ARRAY, 2, 0, 0, 5, 0xdd, 0x00, 0x00, 0x00, 0x02, 0xc0, 0xc0),
	HC("map16", MPR_MAP, 1, 0, 0, 3, 0xde, 0x00, 0x01, 0xc0, 0xc0),
	HC("map32", MPR_MAP, 0, 0, 0, 5, 0xdf, 0x00, 0x00, 0x00, 0x00),
	HC("negative fixint -1", MPR_NEG, (uint64_t)-1, 0, 0, 1, 0xff),
	HC("negative fixint -32", MPR_NEG, (uint64_t)-32, 0, 0, 1, 0xe0),
};

Test(mpread, head_of_every_type)
{
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		const struct head_case *c = &heads[i];
		uint8_t *buf = dup_exact(c->in, c->len);
		struct mpr r;
		struct mpr_obj o;

		mpr_init(&r, buf, c->len);
		cr_assert_eq(mpr_head(&r, &o), 0, "%s", c->what);
		cr_expect_eq(o.type, c->type, "%s: type %d", c->what, o.type);
		cr_expect_eq(o.u, c->u, "%s: u %llu", c->what, (unsigned long long)o.u);
		cr_expect_eq(o.len, c->body_len, "%s: len %zu", c->what, o.len);
		if (c->type == MPR_STR || c->type == MPR_BIN || c->type == MPR_EXT ||
		    c->type == MPR_FLOAT)
			cr_expect_eq(o.ptr, buf + c->body_off, "%s: body", c->what);
		cr_expect_eq(r.p, buf + c->used, "%s: consumed", c->what);
		cr_expect_eq(r.left, c->len - c->used, "%s: left", c->what);
		free(buf);
	}
}

Test(mpread, every_first_byte)
{
	/* Each byte alone, padded: only 0xc1 is refused as a type. */
	for (unsigned int b = 0; b < 256; b++) {
		uint8_t buf[64] = {(uint8_t)b};
		struct mpr r;
		struct mpr_obj o;
		int ret;

		mpr_init(&r, buf, sizeof(buf));
		ret = mpr_head(&r, &o);
		cr_expect_eq(ret, b == 0xc1 ? -EBADMSG : 0, "byte 0x%02x: %d", b, ret);
	}
}

/* Complete values, each ending exactly at its last byte. */
static const struct value_case {
	const char *what;
	const uint8_t *in;
	size_t len;
} values[] = {
	{"uint64", B(0xcf, 1, 2, 3, 4, 5, 6, 7, 8)},
	{"str8", B(0xd9, 0x03, 'a', 'b', 'c')},
	{"bin16", B(0xc5, 0x00, 0x02, 0x00, 0x00)},
	{"ext32", B(0xc9, 0x00, 0x00, 0x00, 0x01, 0x07, 0xaa)},
	{"fixext4", B(0xd6, 0x01, 1, 2, 3, 4)},
	{"float64", B(0xcb, 1, 2, 3, 4, 5, 6, 7, 8)},
	{"int32", B(0xd2, 0xff, 0xff, 0xff, 0xfe)},
	{"nested map", B(0x82, 0xa1, 'a', 0x92, 0x01, 0x81, 0xa1, 'b', 0xc0, 0xa1, 'c', 0x80)},
	{"array16 of maps", B(0xdc, 0x00, 0x02, 0x81, 0x01, 0x90, 0xde, 0x00, 0x01, 0xc2, 0xc3)},
	{"map32 of str", B(0xdf, 0x00, 0x00, 0x00, 0x01, 0xa1, 'k', 0xda, 0x00, 0x01, 'v')},
	{"deep arrays", B(0x91, 0x91, 0x91, 0x91, 0x92, 0x90, 0x80)},
};

Test(mpread, truncation_at_every_byte)
{
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		const struct value_case *c = &values[i];

		for (size_t n = 0; n <= c->len; n++) {
			uint8_t *buf = dup_exact(c->in, n);
			unsigned int limits[] = {MPR_DEPTH_ANY, MPR_DEPTH_MAX};

			for (size_t k = 0; k < 2; k++) {
				struct mpr r;
				int ret;

				mpr_init(&r, buf, n);
				ret = mpr_skip(&r, limits[k]);
				if (n < c->len) {
					cr_expect_eq(ret, -EBADMSG, "%s cut at %zu: %d", c->what, n,
						     ret);
				} else {
					cr_expect_eq(ret, 0, "%s whole: %d", c->what, ret);
					cr_expect_eq(r.left, 0, "%s whole: left %zu", c->what,
						     r.left);
				}
			}
			free(buf);
		}
	}
}

Test(mpread, truncated_heads)
{
	/* Every proper prefix of a scalar, string or length field is refused. */
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		const struct head_case *c = &heads[i];

		for (size_t n = 0; n < c->used; n++) {
			uint8_t *buf = dup_exact(c->in, n);
			struct mpr r;
			struct mpr_obj o;

			mpr_init(&r, buf, n);
			cr_expect_eq(mpr_head(&r, &o), -EBADMSG, "%s cut at %zu", c->what, n);
			free(buf);
		}
	}
}

static const struct value_case huge[] = {
	{"array32 4G", B(0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0)},
	{"map32 4G", B(0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0)},
	{"array16 64K", B(0xdc, 0xff, 0xff, 0xc0)},
	{"map16 64K", B(0xde, 0xff, 0xff, 0xc0)},
	{"str32 4G", B(0xdb, 0xff, 0xff, 0xff, 0xff, 'a')},
	{"bin32 4G", B(0xc6, 0xff, 0xff, 0xff, 0xff, 'a')},
	{"ext32 4G", B(0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 'a')},
	{"str8 one short", B(0xd9, 0x03, 'a', 'b')},
	{"fixarray one short", B(0x93, 0xc0, 0xc0)},
	/* Three pairs need six bytes; four are left. */
	{"fixmap n <= left < 2n", B(0x83, 0xc0, 0xc0, 0xc0, 0xc0)},
	{"map16 n <= left < 2n", B(0xde, 0x00, 0x02, 0xc0, 0xc0, 0xc0)},
};

Test(mpread, huge_counts_refused)
{
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		const struct value_case *c = &huge[i];
		uint8_t *buf = dup_exact(c->in, c->len);
		struct mpr r;
		struct mpr_obj o;

		mpr_init(&r, buf, c->len);
		cr_expect_eq(mpr_head(&r, &o), -EBADMSG, "%s: head", c->what);
		mpr_init(&r, buf, c->len);
		cr_expect_eq(mpr_skip(&r, MPR_DEPTH_ANY), -EBADMSG, "%s: skip", c->what);
		free(buf);
	}
}

/* n arrays, each holding the next; the innermost holds a 1, or nothing. */
static uint8_t *nest(size_t n, int empty_inner, size_t *len)
{
	uint8_t *buf = malloc(n + 1);

	cr_assert(buf);
	memset(buf, 0x91, n);
	if (empty_inner) {
		buf[n - 1] = 0x90;
		*len = n;
	} else {
		buf[n] = 0x01;
		*len = n + 1;
	}
	return buf;
}

Test(mpread, depth_limit)
{
	static const struct {
		size_t arrays;
		int empty_inner;
		unsigned int depth_max;
		int want;
	} cases[] = {
		/* The value itself is depth 0: k arrays put the 1 at depth k. */
		{1, 0, 0, -EBADMSG},
		{1, 1, 0, 0},
		{32, 0, 32, 0},
		{33, 0, 32, -EBADMSG},
		{33, 1, 32, 0}, /* innermost empty array sits at depth 32 */
		{34, 1, 32, -EBADMSG},
		{64, 0, MPR_DEPTH_MAX, 0},
		{65, 0, MPR_DEPTH_MAX, -EBADMSG},
		{1000, 0, MPR_DEPTH_MAX, -EBADMSG},
		{100000, 0, MPR_DEPTH_ANY, 0},
		{3, 0, MPR_DEPTH_MAX + 1, -EINVAL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		uint8_t *buf = nest(cases[i].arrays, cases[i].empty_inner, &len);
		struct mpr r;
		int ret;

		mpr_init(&r, buf, len);
		ret = mpr_skip(&r, cases[i].depth_max);
		cr_expect_eq(ret, cases[i].want, "case %zu: %zu arrays, limit %u: %d", i,
			     cases[i].arrays, cases[i].depth_max, ret);
		if (!ret)
			cr_expect_eq(r.left, 0, "case %zu: left %zu", i, r.left);
		free(buf);
	}
}

Test(mpread, depth_counts_maps_and_siblings)
{
	/* Depth is per path, not per object: wide but shallow values pass. */
	const struct {
		const char *what;
		const uint8_t *in;
		size_t len;
		unsigned int depth_max;
		int want;
	} cases[] = {
		{"map value at depth 1", B(0x81, 0xa1, 'k', 0x01), 1, 0},
		{"map value at depth 1, limit 0", B(0x81, 0xa1, 'k', 0x01), 0, -EBADMSG},
		{"map in map", B(0x81, 0x01, 0x81, 0x02, 0x03), 1, -EBADMSG},
		{"map in map, limit 2", B(0x81, 0x01, 0x81, 0x02, 0x03), 2, 0},
		{"siblings", B(0x93, 0x91, 0x01, 0x91, 0x02, 0x91, 0x03), 2, 0},
		{"siblings, limit 1", B(0x93, 0x91, 0x01, 0x91, 0x02, 0x91, 0x03), 1, -EBADMSG},
		{"deep then shallow", B(0x92, 0x91, 0x91, 0x01, 0x02), 3, 0},
		{"deep then shallow, limit 2", B(0x92, 0x91, 0x91, 0x01, 0x02), 2, -EBADMSG},
		{"empty containers", B(0x92, 0x90, 0x80), 1, 0},
		{"empty containers, limit 0", B(0x92, 0x90, 0x80), 0, -EBADMSG},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *buf = dup_exact(cases[i].in, cases[i].len);
		struct mpr r;

		mpr_init(&r, buf, cases[i].len);
		cr_expect_eq(mpr_skip(&r, cases[i].depth_max), cases[i].want, "%s", cases[i].what);
		mpr_init(&r, buf, cases[i].len);
		cr_expect_eq(mpr_skip(&r, MPR_DEPTH_ANY), 0, "%s, no limit", cases[i].what);
		free(buf);
	}
}

Test(mpread, skip_stops_at_the_value_end)
{
	/* {"a": [1, {"b": nil}], "c": {}} then true, then "z". */
	static const uint8_t in[] = {0x82, 0xa1, 'a', 0x92, 0x01, 0x81, 0xa1, 'b',
				     0xc0, 0xa1, 'c', 0x80, 0xc3, 0xa1, 'z'};
	uint8_t *buf = dup_exact(in, sizeof(in));
	struct mpr r;
	struct mpr_obj o;

	mpr_init(&r, buf, sizeof(in));
	cr_assert_eq(mpr_skip(&r, 32), 0);
	cr_assert_eq(r.p, buf + 12);
	cr_assert_eq(mpr_head(&r, &o), 0);
	cr_expect_eq(o.type, MPR_BOOL);
	cr_expect_eq(o.u, 1);
	cr_assert_eq(mpr_skip(&r, MPR_DEPTH_ANY), 0);
	cr_expect_eq(r.left, 0);
	cr_expect_eq(mpr_skip(&r, MPR_DEPTH_ANY), -EBADMSG, "nothing left");

	/* Walking the map by hand lands at the same place. */
	mpr_init(&r, buf, sizeof(in));
	cr_assert_eq(mpr_head(&r, &o), 0);
	cr_assert_eq(o.type, MPR_MAP);
	cr_assert_eq(o.u, 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(mpr_head(&r, &o), 0);
		cr_assert_eq(o.type, MPR_STR);
		cr_assert_eq(o.len, 1);
		cr_assert_eq(mpr_skip(&r, 2), 0);
	}
	cr_expect_eq(r.p, buf + 12);
	free(buf);
}

Test(mpread, strings_point_into_the_buffer)
{
	static const uint8_t in[] = {0x92, 0xa2, 'h', 'i', 0xc4, 0x00};
	struct mpr r;
	struct mpr_obj o;

	mpr_init(&r, in, sizeof(in));
	cr_assert_eq(mpr_head(&r, &o), 0);
	cr_assert_eq(mpr_head(&r, &o), 0);
	cr_expect_eq(o.type, MPR_STR);
	cr_expect_eq(o.ptr, in + 2);
	cr_expect_eq(o.len, 2);
	cr_assert_eq(mpr_head(&r, &o), 0);
	cr_expect_eq(o.type, MPR_BIN);
	cr_expect_eq(o.len, 0);
	cr_expect_eq(r.left, 0);
}

enum { P_NUM, P_STR, P_BIN, P_FLAG, P_COUNT };

static const struct mpr_field policy[P_COUNT] = {
	[P_NUM] = {"n", MPR_UINT, 1, 10},
	[P_STR] = {"str", MPR_STR, 1, 3},
	[P_BIN] = {"b", MPR_BIN, 0, 2},
	[P_FLAG] = {"f", MPR_BOOL, 0, 1},
};

static const struct map_case {
	const char *what;
	const uint8_t *in;
	size_t len;
	int want;
	uint32_t seen;
} maps[] = {
	{"empty map", B(0x80), 0, 0},
	{"all fields",
	 B(0x84, 0xa1, 'n', 0x0a, 0xa3, 's', 't', 'r', 0xa2, 'h', 'i', 0xa1, 'b', 0xc4, 0x00, 0xa1,
	   'f', 0xc3),
	 0, 0xf},
	{"unknown keys skipped",
	 B(0x83, 0xa1, 'x', 0x81, 0x01, 0x91, 0xc0, 0xa1, 'n', 0x01, 0xa0, 0xc0), 0, 1u << P_NUM},
	{"not a map", B(0x91, 0x01), -EBADMSG, 0},
	{"key not a string", B(0x81, 0x01, 0x01), -EBADMSG, 0},
	{"bin key", B(0x81, 0xc4, 0x01, 'n', 0x01), -EBADMSG, 0},
	{"repeated key", B(0x82, 0xa1, 'n', 0x01, 0xa1, 'n', 0x02), -EBADMSG, 0},
	{"wrong type", B(0x81, 0xa1, 'n', 0xa1, '1'), -EBADMSG, 0},
	{"signed encoding of 5 is a uint", B(0x81, 0xa1, 'n', 0xd0, 0x05), 0, 1u << P_NUM},
	{"negative", B(0x81, 0xa1, 'n', 0xff), -EBADMSG, 0},
	{"below min", B(0x81, 0xa1, 'n', 0x00), -EBADMSG, 0},
	{"above max", B(0x81, 0xa1, 'n', 0x0b), -EBADMSG, 0},
	{"string too short", B(0x81, 0xa3, 's', 't', 'r', 0xa0), -EBADMSG, 0},
	{"string too long", B(0x81, 0xa3, 's', 't', 'r', 0xa4, 'a', 'b', 'c', 'd'), -EBADMSG, 0},
	{"string with NUL", B(0x81, 0xa3, 's', 't', 'r', 0xa2, 'a', 0x00), -EBADMSG, 0},
	{"bin may hold NUL", B(0x81, 0xa1, 'b', 0xc4, 0x02, 0x00, 0x00), 0, 1u << P_BIN},
	{"bin too long", B(0x81, 0xa1, 'b', 0xc4, 0x03, 1, 2, 3), -EBADMSG, 0},
	{"key is a prefix", B(0x81, 0xa2, 's', 't', 0x01), 0, 0},
	{"truncated value", B(0x82, 0xa1, 'n', 0x01, 0xa1, 'f'), -EBADMSG, 0},
	{"truncated unknown value", B(0x81, 0xa1, 'x', 0x92, 0x01), -EBADMSG, 0},
};

Test(mpread, map_read_against_a_policy)
{
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		const struct map_case *c = &maps[i];
		uint8_t *buf = dup_exact(c->in, c->len);
		struct mpr_obj val[P_COUNT];
		struct mpr r;
		uint32_t seen = 0;
		int ret;

		mpr_init(&r, buf, c->len);
		ret = mpr_map_read(&r, policy, P_COUNT, val, &seen);
		cr_expect_eq(ret, c->want, "%s: %d", c->what, ret);
		if (!ret) {
			cr_expect_eq(seen, c->seen, "%s: seen 0x%x", c->what, seen);
			cr_expect_eq(r.left, 0, "%s: left %zu", c->what, r.left);
		}
		free(buf);
	}
}

Test(mpread, map_read_values)
{
	static const uint8_t in[] = {0x83, 0xa1, 'n', 0x07, 0xa3, 's', 't',
				     'r',  0xa2, 'h', 'i',  0xa1, 'f', 0xc2};
	struct mpr_obj val[P_COUNT];
	struct mpr r;
	uint32_t seen;

	mpr_init(&r, in, sizeof(in));
	cr_assert_eq(mpr_map_read(&r, policy, P_COUNT, val, &seen), 0);
	cr_assert_eq(seen, (1u << P_NUM) | (1u << P_STR) | (1u << P_FLAG));
	cr_expect_eq(val[P_NUM].u, 7);
	cr_expect_eq(val[P_STR].ptr, in + 9);
	cr_expect_eq(val[P_STR].len, 2);
	cr_expect_eq(val[P_FLAG].u, 0);
	mpr_init(&r, in, sizeof(in));
	cr_expect_eq(mpr_map_read(&r, policy, 33, val, &seen), -EINVAL);
}
