// SPDX-License-Identifier: MIT
/*
 * DOC: mpread
 *
 * The bounded msgpack reader described in common/mpread.h.  Pure: it reads
 * only the caller's buffer and keeps no state beyond the cursor.
 */
#include "common/mpread.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

void mpr_init(struct mpr *r, const uint8_t *buf, size_t len)
{
	r->p = buf;
	r->left = len;
}

static int take(struct mpr *r, size_t n, const uint8_t **out)
{
	if (r->left < n)
		return -EBADMSG;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

static int take_be(struct mpr *r, size_t width, uint64_t *v)
{
	const uint8_t *b;

	if (take(r, width, &b))
		return -EBADMSG;
	*v = 0;
	for (size_t i = 0; i < width; i++)
		*v = *v << 8 | b[i];
	return 0;
}

/* A body of n bytes, after n was read from the wire. */
static int take_body(struct mpr *r, uint64_t n, struct mpr_obj *o)
{
	if (n > r->left)
		return -EBADMSG;
	o->len = (size_t)n;
	return take(r, o->len, &o->ptr);
}

static int take_body_be(struct mpr *r, size_t width, uint64_t extra, struct mpr_obj *o)
{
	uint64_t n;

	if (take_be(r, width, &n))
		return -EBADMSG;
	return take_body(r, n + extra, o);
}

int mpr_head(struct mpr *r, struct mpr_obj *o)
{
	static const uint8_t width[4] = {1, 2, 4, 8};
	const uint8_t *b;
	uint64_t v;
	uint8_t c;

	if (take(r, 1, &b))
		return -EBADMSG;
	c = *b;
	memset(o, 0, sizeof(*o));
	if (c <= 0x7f) {
		o->type = MPR_UINT;
		o->u = c;
		return 0;
	}
	if (c >= 0xe0) {
		o->type = MPR_NEG;
		o->u = (uint64_t)(int64_t)(int8_t)c;
		return 0;
	}
	if (c <= 0x9f) {
		o->type = c <= 0x8f ? MPR_MAP : MPR_ARRAY;
		o->u = c & 0x0f;
		goto count;
	}
	if (c <= 0xbf) {
		o->type = MPR_STR;
		return take_body(r, c & 0x1f, o);
	}
	switch (c) {
	case 0xc0:
		o->type = MPR_NIL;
		return 0;
	case 0xc2:
	case 0xc3:
		o->type = MPR_BOOL;
		o->u = c == 0xc3;
		return 0;
	case 0xc4:
	case 0xc5:
	case 0xc6:
		o->type = MPR_BIN;
		return take_body_be(r, width[c - 0xc4], 0, o);
	case 0xc7:
	case 0xc8:
	case 0xc9:
		o->type = MPR_EXT;
		return take_body_be(r, width[c - 0xc7], 1, o);
	case 0xca:
	case 0xcb:
		o->type = MPR_FLOAT;
		return take_body(r, c == 0xca ? 4 : 8, o);
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
		o->type = MPR_UINT;
		return take_be(r, width[c - 0xcc], &o->u);
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3: {
		unsigned int bits = 8u * width[c - 0xd0];

		if (take_be(r, width[c - 0xd0], &v))
			return -EBADMSG;
		/* Non-negative values in signed encodings read as unsigned. */
		if (v >> (bits - 1)) {
			o->type = MPR_NEG;
			o->u = bits < 64 ? v | ~UINT64_C(0) << bits : v;
		} else {
			o->type = MPR_UINT;
			o->u = v;
		}
		return 0;
	}
	case 0xd4:
	case 0xd5:
	case 0xd6:
	case 0xd7:
	case 0xd8:
		o->type = MPR_EXT;
		return take_body(r, 1 + (1u << (c - 0xd4)), o);
	case 0xd9:
	case 0xda:
	case 0xdb:
		o->type = MPR_STR;
		return take_body_be(r, width[c - 0xd9], 0, o);
	case 0xdc:
	case 0xdd:
		o->type = MPR_ARRAY;
		if (take_be(r, c == 0xdc ? 2 : 4, &o->u))
			return -EBADMSG;
		goto count;
	case 0xde:
	case 0xdf:
		o->type = MPR_MAP;
		if (take_be(r, c == 0xde ? 2 : 4, &o->u))
			return -EBADMSG;
		goto count;
	default: /* 0xc1 is never used */
		return -EBADMSG;
	}
count:
	/* Every element takes at least one byte. */
	if (o->u > r->left || (o->type == MPR_MAP && o->u * 2 > r->left))
		return -EBADMSG;
	return 0;
}

int mpr_skip(struct mpr *r, unsigned int depth_max)
{
	/* ends[d]: the value of pending at which level d + 1 is finished. */
	uint64_t ends[MPR_DEPTH_MAX + 1];
	bool limited = depth_max != MPR_DEPTH_ANY;
	uint64_t pending = 1;
	unsigned int depth = 0;
	struct mpr_obj o;

	if (limited && depth_max > MPR_DEPTH_MAX)
		return -EINVAL;
	while (pending) {
		while (depth && pending == ends[depth - 1])
			depth--;
		if (depth > depth_max || mpr_head(r, &o))
			return -EBADMSG;
		pending--;
		if ((o.type == MPR_ARRAY || o.type == MPR_MAP) && o.u) {
			if (limited)
				ends[depth++] = pending;
			pending += o.type == MPR_MAP ? 2 * o.u : o.u;
		}
		if (pending > r->left)
			return -EBADMSG;
	}
	return 0;
}

static int field_read(struct mpr *r, const struct mpr_field *f, struct mpr_obj *o)
{
	uint64_t size;

	if (mpr_head(r, o) || o->type != f->type)
		return -EBADMSG;
	size = f->type == MPR_STR || f->type == MPR_BIN ? o->len : o->u;
	if (size < f->min || size > f->max)
		return -EBADMSG;
	if (f->type == MPR_STR && memchr(o->ptr, '\0', o->len))
		return -EBADMSG;
	return 0;
}

int mpr_map_read(struct mpr *r, const struct mpr_field *pol, unsigned int n, struct mpr_obj *val,
		 uint32_t *seen)
{
	struct mpr_obj m, key;

	if (n > 32)
		return -EINVAL;
	*seen = 0;
	if (mpr_head(r, &m) || m.type != MPR_MAP)
		return -EBADMSG;
	for (uint64_t left = m.u; left > 0; left--) {
		unsigned int id = 0;

		if (mpr_head(r, &key) || key.type != MPR_STR)
			return -EBADMSG;
		while (id < n &&
		       (strlen(pol[id].name) != key.len || memcmp(pol[id].name, key.ptr, key.len)))
			id++;
		if (id == n) {
			if (mpr_skip(r, MPR_DEPTH_ANY))
				return -EBADMSG;
			continue;
		}
		if (*seen & UINT32_C(1) << id || field_read(r, &pol[id], &val[id]))
			return -EBADMSG;
		*seen |= UINT32_C(1) << id;
	}
	return 0;
}
