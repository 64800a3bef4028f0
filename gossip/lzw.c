// SPDX-License-Identifier: MIT
/*
 * DOC: lzw - the compress layer of the memberlist codec (see wire.h): Go's
 * compress/lzw with order LSB and literal width 8.  The 09 {Algo, Buf}
 * wrapper around it is a message like the others, in wire.c.
 */
#include "gossip/wire.h"

#include "gossip/wire_int.h"

#include <errno.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* LZW, as Go's compress/lzw with order LSB and literal width 8                                */

#define LZW_CLEAR     256u
#define LZW_EOF	      257u
#define LZW_MAX_CODE  4095u
#define LZW_MAX_WIDTH 12u
#define LZW_TABLE     (4 * (1u << LZW_MAX_WIDTH))
#define LZW_INVALID   0xffffu

struct lzw_enc {
	struct wbuf w;
	uint32_t bits;
	unsigned nbits, width;
	uint32_t hi, overflow;
	uint32_t *table;
};

static void lzw_put(struct lzw_enc *e, uint32_t code)
{
	e->bits |= code << e->nbits;
	e->nbits += e->width;
	while (e->nbits >= 8) {
		wbuf_byte(&e->w, (uint8_t)e->bits);
		e->bits >>= 8;
		e->nbits -= 8;
	}
}

/* Go's incHi: returns true when the code space ran out and a CLEAR was sent. */
static bool lzw_inc_hi(struct lzw_enc *e)
{
	e->hi++;
	if (e->hi == e->overflow) {
		e->width++;
		e->overflow <<= 1;
	}
	if (e->hi == LZW_MAX_CODE) {
		lzw_put(e, LZW_CLEAR);
		e->width = 9;
		e->hi = LZW_EOF;
		e->overflow = 512;
		memset(e->table, 0, LZW_TABLE * sizeof(*e->table));
		return true;
	}
	return false;
}

int gw_lzw_encode(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	struct lzw_enc e = {
		.w = {.dyn = true, .max = SIZE_MAX}, .width = 9, .hi = LZW_EOF, .overflow = 512};
	uint32_t code;

	e.table = calloc(LZW_TABLE, sizeof(*e.table));
	if (!e.table)
		return -ENOMEM;
	lzw_put(&e, LZW_CLEAR);
	if (len) {
		code = in[0];
		for (size_t i = 1; i < len; i++) {
			uint32_t lit = in[i], key = code << 8 | lit;
			uint32_t hash = (key >> 12 ^ key) & (LZW_TABLE - 1), h = hash, t;
			bool hit = false;

			for (t = e.table[h]; t; t = e.table[h]) {
				if (t >> 12 == key) {
					code = t & LZW_MAX_CODE;
					hit = true;
					break;
				}
				h = (h + 1) & (LZW_TABLE - 1);
			}
			if (hit)
				continue;
			lzw_put(&e, code);
			code = lit;
			if (lzw_inc_hi(&e))
				continue;
			while (e.table[hash])
				hash = (hash + 1) & (LZW_TABLE - 1);
			e.table[hash] = key << 12 | e.hi;
		}
		lzw_put(&e, code);
		lzw_inc_hi(&e);
	}
	lzw_put(&e, LZW_EOF);
	if (e.nbits)
		wbuf_byte(&e.w, (uint8_t)e.bits);
	free(e.table);
	if (e.w.err) {
		free(e.w.p);
		return e.w.err;
	}
	*out = e.w.p;
	*out_len = e.w.len;
	return 0;
}

int gw_lzw_decode(const uint8_t *in, size_t len, size_t max_out, uint8_t **out, size_t *out_len)
{
	uint16_t prefix[1u << LZW_MAX_WIDTH] = {0};
	uint8_t suffix[1u << LZW_MAX_WIDTH] = {0};
	uint8_t stack[(1u << LZW_MAX_WIDTH) + 2];
	struct wbuf w = {.dyn = true, .max = max_out};
	uint32_t bits = 0, hi = LZW_EOF, overflow = 512, last = LZW_INVALID;
	unsigned nbits = 0, width = 9;
	size_t pos = 0;
	int r = -EBADMSG;

	for (;;) {
		uint32_t code, c;
		size_t i;

		while (nbits < width) {
			if (pos == len)
				goto out; /* data ended before EOF */
			bits |= (uint32_t)in[pos++] << nbits;
			nbits += 8;
		}
		code = bits & ((1u << width) - 1);
		bits >>= width;
		nbits -= width;

		if (code == LZW_CLEAR) {
			width = 9;
			hi = LZW_EOF;
			overflow = 512;
			last = LZW_INVALID;
			continue;
		}
		if (code == LZW_EOF) {
			r = 0;
			break;
		}
		if (code > hi)
			goto out;
		i = sizeof(stack);
		c = code;
		if (code < LZW_CLEAR) {
			stack[--i] = (uint8_t)code;
		} else {
			if (code == hi && last != LZW_INVALID) {
				/* KwKwK: last expansion plus its own first byte */
				c = last;
				while (c >= LZW_CLEAR)
					c = prefix[c];
				stack[--i] = (uint8_t)c;
				c = last;
			}
			while (c >= LZW_CLEAR) {
				if (i == 1)
					goto out;
				stack[--i] = suffix[c];
				c = prefix[c];
			}
			stack[--i] = (uint8_t)c;
		}
		if (last != LZW_INVALID) {
			suffix[hi] = (uint8_t)c;
			prefix[hi] = (uint16_t)last;
		}
		if (wbuf_write(&w, (const char *)stack + i, sizeof(stack) - i))
			goto out;
		last = code;
		hi++;
		if (hi >= overflow) {
			if (width == LZW_MAX_WIDTH) {
				/* Full table: stop adding entries until the next CLEAR. */
				last = LZW_INVALID;
				hi--;
			} else {
				width++;
				overflow <<= 1;
			}
		}
	}
out:
	if (w.err)
		r = w.err == -E2BIG ? -E2BIG : w.err;
	if (r) {
		free(w.p);
		return r;
	}
	if (!w.p) {
		w.p = malloc(1); /* empty output: still hand back a freeable pointer */
		if (!w.p)
			return -ENOMEM;
	}
	*out = w.p;
	*out_len = w.len;
	return 0;
}
