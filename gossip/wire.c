// SPDX-License-Identifier: MIT
/*
 * DOC: wire - memberlist 0.2.2 codec (see wire.h and shared/reference/memberlist-wire.md).
 *
 * Encoding goes through msgpack-c's packer with the old "raw" string family,
 * which is what go-msgpack 0.5.5 emits.  Decoding does not use msgpack-c's
 * object unpacker: that one sizes allocations from counts on the wire
 * (array32 of 2^32 elements in 5 bytes).  Instead a small cursor reads
 * values in place, and a resumable skipper measures where an object ends,
 * so the TCP reader can tell "need more bytes" from "malformed" without
 * re-parsing what it has already seen.  Every struct is described by a
 * field table (Go name, kind, offset) used both ways.
 *
 * This file holds the msgpack reader and writer, the field tables, single
 * messages and the UDP packet layers; the LZW codec is in lzw.c, the
 * keyring and AES-GCM framing in crypt.c, push/pull and the TCP stream
 * reader in stream.c.  What they share is declared in wire_int.h.
 */
#include "gossip/wire.h"

#include "gossip/wire_int.h"

#include <errno.h>
#include <limits.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

const uint8_t gw_vsn_default[GW_VSN_LEN] = {1, 5, 2, 2, 5, 5};

#define WALK_DEPTH   8	/* packet wrapper nesting */
#define VSN_WIRE_MAX 64 /* longest Vsn accepted (only 6 are kept) */

/* ------------------------------------------------------------------------------------------ */
/* msgpack reading                                                                             */

enum tok_type { T_NIL, T_BOOL, T_UINT, T_NINT, T_FLOAT, T_STR, T_BIN, T_ARRAY, T_MAP, T_EXT };

struct tok {
	enum tok_type type;
	uint64_t u; /* T_UINT, T_BOOL */
	int64_t i;  /* T_NINT */
	uint64_t n; /* body bytes (STR, BIN, EXT, FLOAT) or element count (ARRAY, MAP) */
};

/* Type bytes 0xc0..0xdf, less 0xc0: the token type, the width of the length
 * or value field after the type byte, or else the fixed body size (float;
 * fixext with its type byte).  0xc1 is never used. */
static const struct head {
	uint8_t type, w, n;
} heads[32] = {
	/* nil, (0xc1 unused), false, true */
	[0x00] = {T_NIL, 0, 0},
	[0x02] = {T_BOOL, 0, 0},
	[0x03] = {T_BOOL, 0, 0},
	/* bin 8, 16, 32 */
	[0x04] = {T_BIN, 1, 0},
	[0x05] = {T_BIN, 2, 0},
	[0x06] = {T_BIN, 4, 0},
	/* ext 8, 16, 32 */
	[0x07] = {T_EXT, 1, 0},
	[0x08] = {T_EXT, 2, 0},
	[0x09] = {T_EXT, 4, 0},
	/* float 32, 64 */
	[0x0a] = {T_FLOAT, 0, 4},
	[0x0b] = {T_FLOAT, 0, 8},
	/* uint 8, 16, 32, 64 */
	[0x0c] = {T_UINT, 1, 0},
	[0x0d] = {T_UINT, 2, 0},
	[0x0e] = {T_UINT, 4, 0},
	[0x0f] = {T_UINT, 8, 0},
	/* int 8, 16, 32, 64 */
	[0x10] = {T_NINT, 1, 0},
	[0x11] = {T_NINT, 2, 0},
	[0x12] = {T_NINT, 4, 0},
	[0x13] = {T_NINT, 8, 0},
	/* fixext 1, 2, 4, 8, 16 */
	[0x14] = {T_EXT, 0, 2},
	[0x15] = {T_EXT, 0, 3},
	[0x16] = {T_EXT, 0, 5},
	[0x17] = {T_EXT, 0, 9},
	[0x18] = {T_EXT, 0, 17},
	/* str 8, 16, 32 */
	[0x19] = {T_STR, 1, 0},
	[0x1a] = {T_STR, 2, 0},
	[0x1b] = {T_STR, 4, 0},
	/* array 16, 32; map 16, 32 */
	[0x1c] = {T_ARRAY, 2, 0},
	[0x1d] = {T_ARRAY, 4, 0},
	[0x1e] = {T_MAP, 2, 0},
	[0x1f] = {T_MAP, 4, 0},
};

/* Parse one value header.  1 and *hlen on success, 0 when more bytes are needed, -EBADMSG. */
static int head_parse(const uint8_t *p, size_t avail, struct tok *t, size_t *hlen)
{
	unsigned w = 0; /* width of the length/value field after the type byte */
	uint8_t b;

	if (!avail)
		return 0;
	b = p[0];
	memset(t, 0, sizeof(*t));
	if (b <= 0x7f) {
		t->type = T_UINT;
		t->u = b;
	} else if (b >= 0xe0) {
		t->type = T_NINT;
		t->i = (int8_t)b;
	} else if ((b & 0xf0) == 0x80) {
		t->type = T_MAP;
		t->n = b & 0x0f;
	} else if ((b & 0xf0) == 0x90) {
		t->type = T_ARRAY;
		t->n = b & 0x0f;
	} else if ((b & 0xe0) == 0xa0) {
		t->type = T_STR;
		t->n = b & 0x1f;
	} else if (b == 0xc1) {
		return -EBADMSG;
	} else {
		const struct head *h = &heads[b - 0xc0];

		t->type = (enum tok_type)h->type;
		t->n = h->n;
		if (t->type == T_BOOL)
			t->u = b == 0xc3;
		w = h->w;
	}
	if (avail - 1 < w)
		return 0;
	if (w) {
		uint64_t v = be_read(p + 1, w);

		switch (t->type) {
		case T_UINT:
			t->u = v;
			break;
		case T_NINT: {
			/* sign-extend from w bytes */
			unsigned sh = 64 - 8 * w;
			t->i = (int64_t)(v << sh) >> sh;
			if (t->i >= 0) {
				t->type = T_UINT;
				t->u = (uint64_t)t->i;
			}
			break;
		}
		case T_EXT:
			t->n = v + 1;
			break; /* + the ext type byte */
		default:
			t->n = v;
			break;
		}
	}
	*hlen = 1 + w;
	return 1;
}

static bool tok_has_body(const struct tok *t)
{
	return t->type == T_STR || t->type == T_BIN || t->type == T_EXT || t->type == T_FLOAT;
}
void skip_init(struct skip *s, size_t pos, uint64_t count)
{
	s->pos = pos;
	s->depth = 1;
	s->left[0] = count;
}

int skip_run(struct skip *s, const uint8_t *b, size_t len)
{
	while (s->depth) {
		struct tok t;
		size_t h;
		int r;

		if (!s->left[s->depth - 1]) {
			s->depth--;
			continue;
		}
		r = head_parse(b + s->pos, len - s->pos, &t, &h);
		if (r <= 0)
			return r;
		if (t.type == T_ARRAY || t.type == T_MAP) {
			uint64_t n = t.type == T_MAP ? 2 * t.n : t.n;

			s->left[s->depth - 1]--;
			s->pos += h;
			if (n) {
				if (s->depth == MP_DEPTH)
					return -EBADMSG;
				s->left[s->depth++] = n;
			}
			continue;
		}
		if (tok_has_body(&t) && len - s->pos - h < t.n)
			return 0;
		s->pos += h + (tok_has_body(&t) ? t.n : 0);
		s->left[s->depth - 1]--;
	}
	return 1;
}
static int cur_tok(struct cur *c, struct tok *t)
{
	size_t h;
	int r = head_parse(c->p + c->off, c->len - c->off, t, &h);

	if (r <= 0)
		return -EBADMSG;
	c->off += h;
	if (tok_has_body(t) && c->len - c->off < t->n)
		return -EBADMSG;
	return 0;
}

/* Skip the body of a token already read (containers: all their elements). */
static int cur_skip_rest(struct cur *c, const struct tok *t)
{
	struct skip s;

	if (t->type == T_ARRAY || t->type == T_MAP) {
		skip_init(&s, c->off, t->type == T_MAP ? 2 * t->n : t->n);
		if (skip_run(&s, c->p, c->len) != 1)
			return -EBADMSG;
		c->off = s.pos;
	} else if (tok_has_body(t)) {
		c->off += t->n;
	}
	return 0;
}

int cur_skip(struct cur *c)
{
	struct tok t;
	int r = cur_tok(c, &t);

	return r ? r : cur_skip_rest(c, &t);
}

/* ------------------------------------------------------------------------------------------ */
/* field tables                                                                                */

/* Keys in byte order, as Go sends them. */
static const struct field ping_fields[] = {
	F(struct gw_ping, "Node", K_STR, node),
	F(struct gw_ping, "SeqNo", K_U32, seq),
	FO(struct gw_ping, "SourceAddr", K_IP, src_addr),
	FO(struct gw_ping, "SourceNode", K_STR, src_node),
	FO(struct gw_ping, "SourcePort", K_U16, src_port),
};
static const struct field iping_fields[] = {
	F(struct gw_indirect_ping, "Nack", K_BOOL, nack),
	F(struct gw_indirect_ping, "Node", K_STR, node),
	F(struct gw_indirect_ping, "Port", K_U16, port),
	F(struct gw_indirect_ping, "SeqNo", K_U32, seq),
	FO(struct gw_indirect_ping, "SourceAddr", K_IP, src_addr),
	FO(struct gw_indirect_ping, "SourceNode", K_STR, src_node),
	FO(struct gw_indirect_ping, "SourcePort", K_U16, src_port),
	F(struct gw_indirect_ping, "Target", K_IP, target),
};
static const struct field ack_fields[] = {
	FL(struct gw_ack, "Payload", K_REF, payload, payload_len),
	F(struct gw_ack, "SeqNo", K_U32, seq),
};
static const struct field nack_fields[] = {
	F(struct gw_nack, "SeqNo", K_U32, seq),
};
static const struct field accuse_fields[] = {
	F(struct gw_accuse, "From", K_STR, from),
	F(struct gw_accuse, "Incarnation", K_U32, inc),
	F(struct gw_accuse, "Node", K_STR, node),
};
static const struct field alive_fields[] = {
	F(struct gw_alive, "Addr", K_IP, addr),
	F(struct gw_alive, "Incarnation", K_U32, inc),
	FL(struct gw_alive, "Meta", K_BYTES, meta, meta_len),
	F(struct gw_alive, "Node", K_STR, node),
	F(struct gw_alive, "Port", K_U16, port),
	F(struct gw_alive, "Vsn", K_VSN, vsn),
};
static const struct field err_fields[] = {
	F(struct gw_err, "Error", K_STRT, error),
};

/* Message type -> table; NULL for types that are not one msgpack struct. */
static const struct table msg_tables[] = {
	[GW_PING] = TABLE(ping_fields),	  [GW_INDIRECT_PING] = TABLE(iping_fields),
	[GW_ACK] = TABLE(ack_fields),	  [GW_SUSPECT] = TABLE(accuse_fields),
	[GW_ALIVE] = TABLE(alive_fields), [GW_DEAD] = TABLE(accuse_fields),
	[GW_NACK] = TABLE(nack_fields),	  [GW_ERR] = TABLE(err_fields),
};

/* ------------------------------------------------------------------------------------------ */
/* struct decoding                                                                             */

static int read_int(struct cur *c, bool *neg, uint64_t *u, int64_t *i)
{
	struct tok t;
	int r = cur_tok(c, &t);

	if (r)
		return r;
	*neg = false;
	*u = 0;
	*i = 0;
	switch (t.type) {
	case T_NIL:
		return 0;
	case T_UINT:
		*u = t.u;
		return 0;
	case T_NINT:
		*neg = true;
		*i = t.i;
		return 0;
	default:
		return -EBADMSG;
	}
}

/*
 * Read a []byte field: str, bin, nil or an array of ints 0..255.  Array
 * elements are copied into tmp (cap tmpcap); with tmp NULL the array is only
 * accepted when every element is a positive fixint, whose encoded bytes then
 * are the values themselves and can be pointed at in place.
 */
static int read_bytes(struct cur *c, uint8_t *tmp, size_t tmpcap, const uint8_t **ptr, size_t *len)
{
	struct tok t;
	int r = cur_tok(c, &t);

	if (r)
		return r;
	switch (t.type) {
	case T_NIL:
		*ptr = NULL;
		*len = 0;
		return 0;
	case T_STR:
	case T_BIN:
		*ptr = c->p + c->off;
		*len = t.n;
		c->off += t.n;
		return 0;
	case T_ARRAY:
		if (!tmp) {
			if (c->len - c->off < t.n)
				return -EBADMSG;
			for (uint64_t k = 0; k < t.n; k++)
				if (c->p[c->off + k] > 0x7f)
					return -EBADMSG;
			*ptr = c->p + c->off;
			*len = t.n;
			c->off += t.n;
			return 0;
		}
		if (t.n > tmpcap)
			return -EBADMSG;
		for (uint64_t k = 0; k < t.n; k++) {
			struct tok e;

			if (cur_tok(c, &e) || e.type != T_UINT || e.u > 0xff)
				return -EBADMSG;
			tmp[k] = (uint8_t)e.u;
		}
		*ptr = tmp;
		*len = t.n;
		return 0;
	default:
		return -EBADMSG;
	}
}

/* K_U32, K_U16, K_U8: an unsigned int within the field's range; K_I64,
 * K_ENUM: a Go int, an enum within an int.  nil reads as 0. */
static int decode_int(struct cur *c, const struct field *f, void *dst)
{
	uint64_t u;
	int64_t i;
	bool neg;
	int r = read_int(c, &neg, &u, &i);

	if (r)
		return r;
	if (f->kind == K_U32 || f->kind == K_U16 || f->kind == K_U8) {
		uint64_t max = f->kind == K_U32	  ? UINT32_MAX
			       : f->kind == K_U16 ? UINT16_MAX
						  : UINT8_MAX;

		if (neg || u > max)
			return -EBADMSG;
		if (f->kind == K_U32)
			*(uint32_t *)dst = (uint32_t)u;
		else if (f->kind == K_U16)
			*(uint16_t *)dst = (uint16_t)u;
		else
			*(uint8_t *)dst = (uint8_t)u;
		return 0;
	}
	if (!neg) {
		if (u > INT64_MAX)
			return -EBADMSG;
		i = (int64_t)u;
	}
	if (f->kind == K_I64) {
		*(int64_t *)dst = i;
	} else {
		if (i < INT_MIN || i > INT_MAX)
			return -EBADMSG;
		*(int *)dst = (int)i;
	}
	return 0;
}

/* K_BOOL: bool, nil (false) or the ints 0 and 1. */
static int decode_bool(struct cur *c, void *dst)
{
	struct tok t;
	int r = cur_tok(c, &t);

	if (r)
		return r;
	if (t.type == T_NIL)
		t.u = 0;
	else if (t.type != T_BOOL && !(t.type == T_UINT && t.u <= 1))
		return -EBADMSG;
	*(int *)dst = (int)t.u;
	return 0;
}

/* K_STR, K_STRT: a string without NULs (nil = ""), refused or truncated
 * when it does not fit the field. */
static int decode_str(struct cur *c, const struct field *f, char *s)
{
	const uint8_t *bp;
	size_t blen;
	struct tok t;
	int r = cur_tok(c, &t);

	if (r)
		return r;
	if (t.type == T_NIL) {
		s[0] = 0;
		return 0;
	}
	if (t.type != T_STR)
		return -EBADMSG;
	bp = c->p + c->off;
	blen = t.n;
	c->off += t.n;
	if (memchr(bp, 0, blen))
		return -EBADMSG;
	if (blen >= f->size) {
		if (f->kind == K_STR)
			return -EBADMSG;
		blen = f->size - 1;
	}
	memcpy(s, bp, blen);
	s[blen] = 0;
	return 0;
}

/* K_IP: 4 bytes, 16 IPv4-mapped ones (-EAFNOSUPPORT for other IPv6), or
 * nothing (0.0.0.0). */
static int decode_ip(struct cur *c, struct in_addr *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	uint8_t tmp[16];
	const uint8_t *bp;
	size_t blen;
	int r = read_bytes(c, tmp, sizeof(tmp), &bp, &blen);

	if (r)
		return r;
	if (blen == 0)
		a->s_addr = 0;
	else if (blen == 4)
		memcpy(&a->s_addr, bp, 4);
	else if (blen == 16 && !memcmp(bp, mapped, 12))
		memcpy(&a->s_addr, bp + 12, 4);
	else if (blen == 16)
		return -EAFNOSUPPORT;
	else
		return -EBADMSG;
	return 0;
}

static int decode_field(struct cur *c, const struct field *f, uint8_t *obj)
{
	uint8_t tmp[VSN_WIRE_MAX > GW_META_MAX ? VSN_WIRE_MAX : GW_META_MAX];
	void *dst = obj + f->off;
	const uint8_t *bp;
	size_t blen;
	int r;

	switch (f->kind) {
	case K_U32:
	case K_U16:
	case K_U8:
	case K_I64:
	case K_ENUM:
		return decode_int(c, f, dst);
	case K_BOOL:
		return decode_bool(c, dst);
	case K_STR:
	case K_STRT:
		return decode_str(c, f, dst);
	case K_IP:
		return decode_ip(c, dst);
	case K_BYTES:
		r = read_bytes(c, tmp, f->size, &bp, &blen);
		if (r)
			return r;
		if (blen > f->size)
			return -EBADMSG;
		if (blen)
			memcpy(dst, bp, blen);
		*(size_t *)(obj + f->len_off) = blen;
		return 0;
	case K_VSN:
		r = read_bytes(c, tmp, VSN_WIRE_MAX, &bp, &blen);
		if (r)
			return r;
		if (blen > VSN_WIRE_MAX)
			return -EBADMSG;
		/* Short vectors come out zero-padded: callers reject pmin/pmax 0. */
		memset(dst, 0, GW_VSN_LEN);
		if (blen)
			memcpy(dst, bp, blen < GW_VSN_LEN ? blen : GW_VSN_LEN);
		return 0;
	case K_REF:
		r = read_bytes(c, NULL, 0, &bp, &blen);
		if (r)
			return r;
		*(const uint8_t **)dst = blen ? bp : NULL;
		*(size_t *)(obj + f->len_off) = blen;
		return 0;
	}
	return -EBADMSG;
}

/* Decode one msgpack map into obj (which the caller zeroed) following table t. */
int decode_struct(struct cur *c, const struct table *t, void *obj)
{
	struct tok m;
	int r = cur_tok(c, &m);

	if (r)
		return r;
	if (m.type != T_MAP)
		return -EBADMSG;
	for (uint64_t k = 0; k < m.n; k++) {
		const struct field *f = NULL;
		struct tok key;

		r = cur_tok(c, &key);
		if (r)
			return r;
		if (key.type != T_STR)
			return -EBADMSG;
		for (size_t j = 0; j < t->n; j++) {
			if (strlen(t->f[j].key) == key.n &&
			    !memcmp(t->f[j].key, c->p + c->off, key.n)) {
				f = &t->f[j];
				break;
			}
		}
		c->off += key.n;
		r = f ? decode_field(c, f, obj) : cur_skip(c);
		if (r)
			return r;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* encoding                                                                                    */

static void pack_raw(msgpack_packer *pk, const void *p, size_t n)
{
	msgpack_pack_v4raw(pk, n);
	if (n)
		msgpack_pack_v4raw_body(pk, p, n);
}

static bool field_empty(const struct field *f, const uint8_t *obj)
{
	const void *v = obj + f->off;

	switch (f->kind) {
	case K_U16:
		return !*(const uint16_t *)v;
	case K_IP:
		return !((const struct in_addr *)v)->s_addr;
	case K_STR:
		return !*(const char *)v;
	default:
		return false;
	}
}

static int encode_field(msgpack_packer *pk, const struct field *f, const uint8_t *obj)
{
	const void *v = obj + f->off;
	size_t n;

	switch (f->kind) {
	case K_U32:
		msgpack_pack_uint32(pk, *(const uint32_t *)v);
		break;
	case K_U16:
		msgpack_pack_uint16(pk, *(const uint16_t *)v);
		break;
	case K_U8:
		msgpack_pack_uint8(pk, *(const uint8_t *)v);
		break;
	case K_I64:
		msgpack_pack_int64(pk, *(const int64_t *)v);
		break;
	case K_ENUM:
		msgpack_pack_int(pk, *(const int *)v);
		break;
	case K_BOOL:
		if (*(const int *)v)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case K_STR:
	case K_STRT:
		n = strnlen(v, f->size);
		if (n == f->size)
			return -EINVAL;
		pack_raw(pk, v, n);
		break;
	case K_IP:
		pack_raw(pk, &((const struct in_addr *)v)->s_addr, 4);
		break;
	case K_VSN:
		pack_raw(pk, v, GW_VSN_LEN);
		break;
	case K_BYTES:
	case K_REF:
		n = *(const size_t *)(obj + f->len_off);
		if (f->kind == K_BYTES && n > f->size)
			return -EINVAL;
		if (!n) {
			msgpack_pack_nil(pk); /* Go's nil slice */
			break;
		}
		pack_raw(pk, f->kind == K_REF ? *(const uint8_t *const *)v : v, n);
		break;
	}
	return 0;
}

int encode_struct(msgpack_packer *pk, const struct table *t, const void *obj)
{
	size_t n = 0;
	int r;

	for (size_t j = 0; j < t->n; j++)
		n += !(t->f[j].omitempty && field_empty(&t->f[j], obj));
	msgpack_pack_map(pk, n);
	for (size_t j = 0; j < t->n; j++) {
		if (t->f[j].omitempty && field_empty(&t->f[j], obj))
			continue;
		pack_raw(pk, t->f[j].key, strlen(t->f[j].key));
		r = encode_field(pk, &t->f[j], obj);
		if (r)
			return r;
	}
	return 0;
}

static bool vsn_valid(const uint8_t v[GW_VSN_LEN])
{
	return v[0] && v[1] && v[0] <= v[1];
}

int gw_msg_encode(const struct gw_msg *m, uint8_t *buf, size_t cap, size_t *len)
{
	struct wbuf w = {.p = buf, .cap = cap};
	msgpack_packer pk;
	int r;

	msgpack_packer_init(&pk, &w, wbuf_write);
	switch (m->type) {
	case GW_USER:
		if (!m->u.user.len || !m->u.user.data)
			return -EINVAL;
		wbuf_byte(&w, GW_USER);
		wbuf_write(&w, (const char *)m->u.user.data, m->u.user.len);
		break;
	case GW_ALIVE:
		if (!m->u.alive.node[0] || !vsn_valid(m->u.alive.vsn))
			return -EINVAL;
		goto table;
	case GW_SUSPECT:
	case GW_DEAD:
		if (!m->u.suspect.node[0])
			return -EINVAL;
		goto table;
	case GW_PING:
	case GW_INDIRECT_PING:
	case GW_ACK:
	case GW_NACK:
	case GW_ERR:
	table:
		wbuf_byte(&w, (uint8_t)m->type);
		r = encode_struct(&pk, &msg_tables[m->type], &m->u);
		if (r)
			return r;
		break;
	default:
		return -EINVAL;
	}
	if (w.err)
		return w.err;
	*len = w.len;
	return 0;
}

int gw_msg_decode(const uint8_t *buf, size_t len, struct gw_msg *m)
{
	struct cur c = {buf, len, 1};
	uint8_t type;

	if (!len)
		return -EBADMSG;
	type = buf[0];
	memset(m, 0, sizeof(*m));
	m->type = type;
	if (type == GW_USER) {
		m->u.user.data = buf + 1;
		m->u.user.len = len - 1;
		return 0;
	}
	if (type >= sizeof(msg_tables) / sizeof(msg_tables[0]) || !msg_tables[type].f)
		return -EPROTONOSUPPORT;
	/* Bytes after the map are ignored, as Go's decoder does. */
	return decode_struct(&c, &msg_tables[type], &m->u);
}

/* ------------------------------------------------------------------------------------------ */
/* compound, CRC                                                                               */

int gw_compound_encode(const uint8_t *const parts[], const size_t lens[], size_t n, uint8_t *buf,
		       size_t cap, size_t *len)
{
	size_t total = 2 + 2 * n, off;

	if (n < 1 || n > GW_COMPOUND_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!lens[i] || lens[i] > UINT16_MAX)
			return -EINVAL;
		total += lens[i];
	}
	if (total > cap)
		return -ENOSPC;
	buf[0] = GW_COMPOUND;
	buf[1] = (uint8_t)n;
	off = 2 + 2 * n;
	for (size_t i = 0; i < n; i++) {
		buf[2 + 2 * i] = (uint8_t)(lens[i] >> 8);
		buf[3 + 2 * i] = (uint8_t)lens[i];
		memcpy(buf + off, parts[i], lens[i]);
		off += lens[i];
	}
	*len = total;
	return 0;
}

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	uLong c = crc32(0L, Z_NULL, 0);

	while (n) {
		uInt chunk = n > UINT_MAX ? UINT_MAX : (uInt)n;

		c = crc32(c, p, chunk);
		p += chunk;
		n -= chunk;
	}
	return (uint32_t)c;
}

int gw_crc_wrap(const uint8_t *payload, size_t plen, uint8_t *buf, size_t cap, size_t *len)
{
	if (!plen)
		return -EINVAL;
	if (cap < 5 || plen > cap - 5)
		return -ENOSPC;
	buf[0] = GW_CRC;
	be32_put(buf + 1, crc32_ieee(payload, plen));
	memmove(buf + 5, payload, plen);
	*len = plen + 5;
	return 0;
}
/* ------------------------------------------------------------------------------------------ */
/* packet walk                                                                                 */

struct walk {
	gw_leaf_cb cb;
	void *arg;
	size_t budget; /* decompressed bytes left for the whole packet */
	int leaves;
};

static int walk_rec(struct walk *w, const uint8_t *b, size_t len, unsigned depth)
{
	if (!len || depth >= WALK_DEPTH)
		return -EBADMSG;
	switch (b[0]) {
	case GW_CRC:
		if (len < 6 || (uint32_t)be_read(b + 1, 4) != crc32_ieee(b + 5, len - 5))
			return -EBADMSG;
		return walk_rec(w, b + 5, len - 5, depth + 1);
	case GW_COMPRESS: {
		uint8_t *d;
		size_t dlen;
		int r = uncompress_msg(b, len, w->budget, &d, &dlen);

		if (r)
			return r;
		w->budget -= dlen;
		r = walk_rec(w, d, dlen, depth + 1);
		free(d);
		return r;
	}
	case GW_COMPOUND: {
		size_t n, off;

		if (len < 2)
			return -EBADMSG;
		n = b[1];
		off = 2 + 2 * n;
		if (len < off)
			return -EBADMSG;
		for (size_t i = 0; i < n; i++) {
			size_t plen = (size_t)be_read(b + 2 + 2 * i, 2);

			if (plen > len - off)
				break; /* truncated: this part and all later ones are lost */
			/* A broken part does not spoil its siblings. */
			if (plen)
				(void)walk_rec(w, b + off, plen, depth + 1);
			off += plen;
		}
		return 0;
	}
	default:
		w->cb(w->arg, b, len);
		w->leaves++;
		return 0;
	}
}

int gw_packet_walk(const uint8_t *buf, size_t len, gw_leaf_cb cb, void *arg)
{
	struct walk w = {cb, arg, GW_DECOMPRESS_MAX, 0};
	int r = walk_rec(&w, buf, len, 0);

	return r < 0 ? r : w.leaves;
}

/* ---- the 09 {Algo, Buf} compression wrapper (the codec is lzw.c) ---- */

struct compress_hdr {
	uint8_t algo;
	const uint8_t *buf;
	size_t len;
};
static const struct field compress_fields[] = {
	F(struct compress_hdr, "Algo", K_U8, algo),
	FL(struct compress_hdr, "Buf", K_REF, buf, len),
};

int gw_compress_wrap(const uint8_t *msg, size_t len, uint8_t **out, size_t *out_len)
{
	struct compress_hdr h = {.algo = 0};
	struct table t = TABLE(compress_fields);
	struct wbuf w = {.dyn = true, .max = SIZE_MAX};
	msgpack_packer pk;
	uint8_t *z;
	size_t zlen;
	int r;

	if (!len)
		return -EINVAL;
	r = gw_lzw_encode(msg, len, &z, &zlen);
	if (r)
		return r;
	h.buf = z;
	h.len = zlen;
	msgpack_packer_init(&pk, &w, wbuf_write);
	wbuf_byte(&w, GW_COMPRESS);
	r = encode_struct(&pk, &t, &h);
	free(z);
	if (!r)
		r = w.err;
	if (r) {
		free(w.p);
		return r;
	}
	*out = w.p;
	*out_len = w.len;
	return 0;
}

/* Decode a 09 {Algo, Buf} wrapper and decompress it. */
int uncompress_msg(const uint8_t *b, size_t len, size_t max_out, uint8_t **out, size_t *out_len)
{
	struct cur c = {b, len, 1};
	struct compress_hdr h = {0};
	struct table t = TABLE(compress_fields);
	int r;

	if (!len || b[0] != GW_COMPRESS)
		return -EBADMSG;
	r = decode_struct(&c, &t, &h);
	if (r)
		return r;
	if (h.algo != 0 || !h.len)
		return -EBADMSG;
	return gw_lzw_decode(h.buf, h.len, max_out, out, out_len);
}
