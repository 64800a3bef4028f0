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
 */
#include "gossip/wire.h"

#include <errno.h>
#include <limits.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

const uint8_t gw_vsn_default[GW_VSN_LEN] = {1, 5, 2, 2, 5, 5};

#define MP_DEPTH     32 /* nesting accepted inside skipped values */
#define WALK_DEPTH   8	/* packet wrapper nesting */
#define PP_NODES_MAX 65536
#define VSN_WIRE_MAX 64 /* longest Vsn accepted (only 6 are kept) */
#define STREAM_SLACK (64u << 10)

/* ------------------------------------------------------------------------------------------ */
/* msgpack reading                                                                             */

enum tok_type { T_NIL, T_BOOL, T_UINT, T_NINT, T_FLOAT, T_STR, T_BIN, T_ARRAY, T_MAP, T_EXT };

struct tok {
	enum tok_type type;
	uint64_t u; /* T_UINT, T_BOOL */
	int64_t i;  /* T_NINT */
	uint64_t n; /* body bytes (STR, BIN, EXT, FLOAT) or element count (ARRAY, MAP) */
};

static uint64_t be_read(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Parse one value header.  1 and *hlen on success, 0 when more bytes are needed, -EBADMSG. */
static int head_parse(const uint8_t *p, size_t avail, struct tok *t, size_t *hlen)
{
	static const uint8_t fixext_len[5] = {1, 2, 4, 8, 16};
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
	} else {
		switch (b) {
		case 0xc0:
			t->type = T_NIL;
			break;
		case 0xc2:
		case 0xc3:
			t->type = T_BOOL;
			t->u = b == 0xc3;
			break;
		case 0xc4:
		case 0xc5:
		case 0xc6:
			t->type = T_BIN;
			w = 1u << (b - 0xc4);
			break;
		case 0xc7:
		case 0xc8:
		case 0xc9:
			t->type = T_EXT;
			w = 1u << (b - 0xc7);
			break;
		case 0xca:
			t->type = T_FLOAT;
			t->n = 4;
			break;
		case 0xcb:
			t->type = T_FLOAT;
			t->n = 8;
			break;
		case 0xcc:
		case 0xcd:
		case 0xce:
		case 0xcf:
			t->type = T_UINT;
			w = 1u << (b - 0xcc);
			break;
		case 0xd0:
		case 0xd1:
		case 0xd2:
		case 0xd3:
			t->type = T_NINT;
			w = 1u << (b - 0xd0);
			break;
		case 0xd4:
		case 0xd5:
		case 0xd6:
		case 0xd7:
		case 0xd8:
			t->type = T_EXT;
			t->n = 1u + fixext_len[b - 0xd4];
			break;
		case 0xd9:
		case 0xda:
		case 0xdb:
			t->type = T_STR;
			w = 1u << (b - 0xd9);
			break;
		case 0xdc:
		case 0xdd:
			t->type = T_ARRAY;
			w = 2u << (b - 0xdc);
			break;
		case 0xde:
		case 0xdf:
			t->type = T_MAP;
			w = 2u << (b - 0xde);
			break;
		default:
			return -EBADMSG; /* 0xc1 */
		}
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

/*
 * Resumable skipper: measures `count` consecutive values starting at pos.
 * Progress is kept at value boundaries, so feeding more bytes resumes where
 * it stopped.  1 done (pos = end), 0 need more, -EBADMSG.
 */
struct skip {
	size_t pos;
	unsigned depth;
	uint64_t left[MP_DEPTH];
};

static void skip_init(struct skip *s, size_t pos, uint64_t count)
{
	s->pos = pos;
	s->depth = 1;
	s->left[0] = count;
}

static int skip_run(struct skip *s, const uint8_t *b, size_t len)
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

/* Cursor over a complete buffer. */
struct cur {
	const uint8_t *p;
	size_t len, off;
};

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

static int cur_skip(struct cur *c)
{
	struct tok t;
	int r = cur_tok(c, &t);

	return r ? r : cur_skip_rest(c, &t);
}

/* ------------------------------------------------------------------------------------------ */
/* field tables                                                                                */

enum kind {
	K_U32,	 /* uint32_t */
	K_U16,	 /* uint16_t */
	K_U8,	 /* uint8_t */
	K_BOOL,	 /* int */
	K_I64,	 /* int64_t (Go int) */
	K_ENUM,	 /* int-sized enum (Go int) */
	K_STR,	 /* char[size], refused when too long */
	K_STRT,	 /* char[size], truncated when too long (error texts) */
	K_IP,	 /* struct in_addr as a 4-byte raw */
	K_BYTES, /* uint8_t[size] + size_t at len_off */
	K_VSN,	 /* uint8_t[GW_VSN_LEN] */
	K_REF,	 /* const uint8_t * + size_t at len_off, pointing into the input */
};

struct field {
	const char *key;
	enum kind kind;
	size_t off, size, len_off;
	bool omitempty;
};

#define F(st, name, k, member)                                                                     \
	{                                                                                          \
		name, k, offsetof(st, member), sizeof(((st *)0)->member), 0, false                 \
	}
#define FO(st, name, k, member)                                                                    \
	{                                                                                          \
		name, k, offsetof(st, member), sizeof(((st *)0)->member), 0, true                  \
	}
#define FL(st, name, k, member, lenm)                                                              \
	{                                                                                          \
		name, k, offsetof(st, member), sizeof(((st *)0)->member), offsetof(st, lenm),      \
			false                                                                      \
	}

struct table {
	const struct field *f;
	size_t n;
};
#define TABLE(a)                                                                                   \
	{                                                                                          \
		a, sizeof(a) / sizeof(a[0])                                                        \
	}

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

struct compress_hdr {
	uint8_t algo;
	const uint8_t *buf;
	size_t len;
};
static const struct field compress_fields[] = {
	F(struct compress_hdr, "Algo", K_U8, algo),
	FL(struct compress_hdr, "Buf", K_REF, buf, len),
};

struct pp_header {
	int join;
	int64_t nodes;
	int64_t user_len;
};
static const struct field pp_header_fields[] = {
	F(struct pp_header, "Join", K_BOOL, join),
	F(struct pp_header, "Nodes", K_I64, nodes),
	F(struct pp_header, "UserStateLen", K_I64, user_len),
};
static const struct field pp_node_fields[] = {
	F(struct gw_pp_node, "Addr", K_IP, addr),
	F(struct gw_pp_node, "Incarnation", K_U32, inc),
	FL(struct gw_pp_node, "Meta", K_BYTES, meta, meta_len),
	F(struct gw_pp_node, "Name", K_STR, name),
	F(struct gw_pp_node, "Port", K_U16, port),
	F(struct gw_pp_node, "State", K_ENUM, state),
	F(struct gw_pp_node, "Vsn", K_VSN, vsn),
};

struct user_header {
	int64_t len;
};
static const struct field user_header_fields[] = {
	F(struct user_header, "UserMsgLen", K_I64, len),
};

_Static_assert(sizeof(enum gw_state) == sizeof(int), "K_ENUM stores an int");

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

static int decode_field(struct cur *c, const struct field *f, uint8_t *obj)
{
	uint8_t tmp[VSN_WIRE_MAX > GW_META_MAX ? VSN_WIRE_MAX : GW_META_MAX];
	void *dst = obj + f->off;
	const uint8_t *bp;
	size_t blen;
	uint64_t u;
	int64_t i;
	bool neg;
	int r;

	switch (f->kind) {
	case K_U32:
	case K_U16:
	case K_U8: {
		uint64_t max = f->kind == K_U32	  ? UINT32_MAX
			       : f->kind == K_U16 ? UINT16_MAX
						  : UINT8_MAX;

		r = read_int(c, &neg, &u, &i);
		if (r)
			return r;
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
	case K_I64:
	case K_ENUM:
		r = read_int(c, &neg, &u, &i);
		if (r)
			return r;
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
	case K_BOOL: {
		struct tok t;

		r = cur_tok(c, &t);
		if (r)
			return r;
		if (t.type == T_NIL)
			t.u = 0;
		else if (t.type != T_BOOL && !(t.type == T_UINT && t.u <= 1))
			return -EBADMSG;
		*(int *)dst = (int)t.u;
		return 0;
	}
	case K_STR:
	case K_STRT: {
		struct tok t;
		char *s = dst;

		r = cur_tok(c, &t);
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
	case K_IP: {
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		struct in_addr *a = dst;

		r = read_bytes(c, tmp, 16, &bp, &blen);
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
static int decode_struct(struct cur *c, const struct table *t, void *obj)
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

struct wbuf {
	uint8_t *p;
	size_t len, cap, max;
	bool dyn;
	int err;
};

static int wbuf_write(void *data, const char *b, size_t n)
{
	struct wbuf *w = data;

	if (w->err)
		return -1;
	if (w->dyn && n > w->max - w->len) {
		w->err = -E2BIG;
		return -1;
	}
	if (n > w->cap - w->len) {
		size_t ncap = w->cap ? w->cap : 256;
		uint8_t *np;

		if (!w->dyn) {
			w->err = -ENOSPC;
			return -1;
		}
		while (ncap - w->len < n)
			ncap = ncap > w->max / 2 ? w->max : ncap * 2;
		np = realloc(w->p, ncap);
		if (!np) {
			w->err = -ENOMEM;
			return -1;
		}
		w->p = np;
		w->cap = ncap;
	}
	memcpy(w->p + w->len, b, n);
	w->len += n;
	return 0;
}

static void wbuf_byte(struct wbuf *w, uint8_t b)
{
	wbuf_write(w, (const char *)&b, 1);
}

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

static int encode_struct(msgpack_packer *pk, const struct table *t, const void *obj)
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

static void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
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
static int uncompress_msg(const uint8_t *b, size_t len, size_t max_out, uint8_t **out,
			  size_t *out_len)
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

/* ------------------------------------------------------------------------------------------ */
/* encryption                                                                                  */

#define NONCE_LEN crypto_aead_aes256gcm_NPUBBYTES
#define TAG_LEN	  crypto_aead_aes256gcm_ABYTES
#define ENC_VSN	  1

_Static_assert(GW_KEY_LEN == crypto_aead_aes256gcm_KEYBYTES, "AES-256 keys");
_Static_assert(GW_ENC_OVERHEAD == 1 + NONCE_LEN + TAG_LEN, "version 1 overhead");

int gw_crypto_init(void)
{
	if (sodium_init() < 0)
		return -EIO;
	return crypto_aead_aes256gcm_is_available() ? 0 : -ENOTSUP;
}

static int keyring_find(const struct gw_keyring *kr, const uint8_t *key)
{
	for (unsigned i = 0; i < kr->n && i < GW_KEYRING_MAX; i++)
		if (!sodium_memcmp(kr->keys[i], key, GW_KEY_LEN))
			return (int)i;
	return -ENOENT;
}

int gw_keyring_install(struct gw_keyring *kr, const uint8_t key[static GW_KEY_LEN])
{
	if (keyring_find(kr, key) >= 0)
		return -EEXIST;
	if (kr->n >= GW_KEYRING_MAX)
		return -ENOSPC;
	memcpy(kr->keys[kr->n++], key, GW_KEY_LEN);
	return 0;
}

int gw_keyring_use(struct gw_keyring *kr, const uint8_t key[static GW_KEY_LEN])
{
	uint8_t tmp[GW_KEY_LEN];
	int i = keyring_find(kr, key);

	if (i < 0)
		return i;
	/* Move it to the front, keeping the others in order (memberlist's UseKey). */
	memcpy(tmp, kr->keys[i], GW_KEY_LEN);
	memmove(kr->keys[1], kr->keys[0], (size_t)i * GW_KEY_LEN);
	memcpy(kr->keys[0], tmp, GW_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return 0;
}

int gw_keyring_remove(struct gw_keyring *kr, const uint8_t key[static GW_KEY_LEN])
{
	int i = keyring_find(kr, key);

	if (i < 0)
		return i;
	if (i == 0)
		return -EBUSY;
	memmove(kr->keys[i], kr->keys[i + 1], (kr->n - (unsigned)i - 1) * GW_KEY_LEN);
	kr->n--;
	sodium_memzero(kr->keys[kr->n], GW_KEY_LEN);
	return 0;
}

void gw_keyring_wipe(struct gw_keyring *kr)
{
	if (kr)
		sodium_memzero(kr, sizeof(*kr));
}

static bool keyring_usable(const struct gw_keyring *kr)
{
	return kr && kr->n && kr->n <= GW_KEYRING_MAX;
}

/*
 * Open vsn|nonce|ct+tag with every key, primary first.  out needs
 * len - 1 - NONCE_LEN - TAG_LEN bytes.  Version 0 padding is stripped.
 */
static int open_sealed(const struct gw_keyring *kr, const uint8_t *in, size_t len,
		       const uint8_t *ad, size_t adlen, uint8_t *out, size_t *out_len)
{
	unsigned long long mlen = 0;
	bool ok = false;

	if (!keyring_usable(kr) || len < 1 + NONCE_LEN + TAG_LEN || in[0] > 1)
		return -EBADMSG;
	for (unsigned k = 0; k < kr->n && !ok; k++)
		ok = !crypto_aead_aes256gcm_decrypt(out, &mlen, NULL, in + 1 + NONCE_LEN,
						    len - 1 - NONCE_LEN, ad, adlen, in + 1,
						    kr->keys[k]);
	if (!ok)
		return -EBADMSG;
	if (in[0] == 0) {
		uint8_t pad = mlen ? out[mlen - 1] : 0;

		if (pad < 1 || pad > 16 || pad > mlen)
			return -EBADMSG;
		for (unsigned i = 1; i <= pad; i++)
			if (out[mlen - i] != pad)
				return -EBADMSG;
		mlen -= pad;
	}
	*out_len = (size_t)mlen;
	return 0;
}

static void seal(const struct gw_keyring *kr, const uint8_t *in, size_t len, const uint8_t *ad,
		 size_t adlen, uint8_t *out)
{
	unsigned long long clen;

	out[0] = ENC_VSN;
	randombytes_buf(out + 1, NONCE_LEN);
	crypto_aead_aes256gcm_encrypt(out + 1 + NONCE_LEN, &clen, in, len, ad, adlen, NULL, out + 1,
				      kr->keys[0]);
}

int gw_encrypt_packet(const struct gw_keyring *kr, const uint8_t *in, size_t len, uint8_t *out,
		      size_t cap, size_t *out_len)
{
	if (!keyring_usable(kr) || !len)
		return -EINVAL;
	if (cap < GW_ENC_OVERHEAD || len > cap - GW_ENC_OVERHEAD)
		return -ENOSPC;
	seal(kr, in, len, NULL, 0, out);
	*out_len = len + GW_ENC_OVERHEAD;
	return 0;
}

int gw_decrypt_packet(const struct gw_keyring *kr, const uint8_t *in, size_t len, uint8_t *out,
		      size_t cap, size_t *out_len)
{
	if (len < GW_ENC_OVERHEAD)
		return -EBADMSG;
	if (cap < len - GW_ENC_OVERHEAD)
		return -ENOSPC;
	return open_sealed(kr, in, len, NULL, 0, out, out_len);
}

int gw_encrypt_stream(const struct gw_keyring *kr, const uint8_t *in, size_t len, uint8_t **out,
		      size_t *out_len)
{
	uint8_t *o;
	size_t flen;

	if (!keyring_usable(kr) || !len)
		return -EINVAL;
	if (len > GW_STREAM_MAX - GW_ENC_OVERHEAD)
		return -E2BIG;
	flen = len + GW_ENC_OVERHEAD;
	o = malloc(5 + flen);
	if (!o)
		return -ENOMEM;
	o[0] = GW_ENCRYPT;
	be32_put(o + 1, (uint32_t)flen);
	seal(kr, in, len, o, 5, o + 5);
	*out = o;
	*out_len = 5 + flen;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* push/pull                                                                                   */

void gw_pushpull_free(struct gw_pushpull *pp)
{
	if (!pp)
		return;
	free(pp->nodes);
	free(pp->user_state);
	pp->nodes = NULL;
	pp->user_state = NULL;
	pp->n = 0;
	pp->user_state_len = 0;
}

int gw_pushpull_encode(const struct gw_pushpull *pp, uint8_t **out, size_t *out_len)
{
	struct pp_header h = {pp->join ? 1 : 0, (int64_t)pp->n, (int64_t)pp->user_state_len};
	struct table th = TABLE(pp_header_fields), tn = TABLE(pp_node_fields);
	struct wbuf w = {.dyn = true, .max = GW_STREAM_MAX};
	msgpack_packer pk;
	int r = 0;

	if (pp->n > PP_NODES_MAX || (pp->n && !pp->nodes) || pp->user_state_len > GW_STREAM_MAX ||
	    (pp->user_state_len && !pp->user_state))
		return -EINVAL;
	msgpack_packer_init(&pk, &w, wbuf_write);
	wbuf_byte(&w, GW_PUSHPULL);
	r = encode_struct(&pk, &th, &h);
	for (size_t i = 0; !r && i < pp->n; i++) {
		if (!pp->nodes[i].name[0] || (unsigned)pp->nodes[i].state > GW_STATE_LEFT)
			r = -EINVAL;
		else
			r = encode_struct(&pk, &tn, &pp->nodes[i]);
	}
	if (!r && pp->user_state_len)
		wbuf_write(&w, (const char *)pp->user_state, pp->user_state_len);
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

/* ------------------------------------------------------------------------------------------ */
/* stream reader                                                                               */

enum pstage { P_TYPE, P_OBJ, P_PP_HDR, P_PP_NODES, P_PP_USER, P_USER_HDR, P_USER_BODY };

/* Resumable parse of one plain stream message (type byte first). */
struct pstate {
	enum pstage stage;
	uint8_t type;
	struct skip sk;
	struct pp_header pp;
	size_t nodes_off, body_off;
	int64_t body_len;
	size_t end;
};

struct gw_stream {
	const struct gw_keyring *kr;
	uint8_t *buf;
	size_t len, cap;
	size_t consumed; /* bytes of the message returned last, dropped on the next feed */
	int err;	 /* sticky */
	const char *errmsg;
	struct pstate ps;
	uint8_t *plain; /* decrypted payload of the current message */
	uint8_t *dec;	/* decompressed payload */
	struct gw_pushpull pp;
};

static const char ERR_NOT_ENCRYPTED[] =
	"Encryption is configured but remote state is not encrypted";
static const char ERR_NOT_CONFIGURED[] =
	"Remote state is encrypted and encryption is not configured";
static const char ERR_DECRYPT[] =
	"Failed to decrypt remote state: No installed keys could decrypt the message";
static const char ERR_DECOMPRESS[] = "Failed to decompress remote state";
static const char ERR_MALFORMED[] = "Malformed stream message";
static const char ERR_TOO_BIG[] = "Remote state is too large";

static int plain_parse(struct pstate *ps, const uint8_t *b, size_t len)
{
	int r;

	for (;;) {
		switch (ps->stage) {
		case P_TYPE:
			if (!len)
				return 0;
			ps->type = b[0];
			switch (ps->type) {
			case GW_PING:
			case GW_ACK:
			case GW_ERR:
				ps->stage = P_OBJ;
				break;
			case GW_PUSHPULL:
				ps->stage = P_PP_HDR;
				break;
			case GW_USER:
				ps->stage = P_USER_HDR;
				break;
			default:
				return -EBADMSG;
			}
			skip_init(&ps->sk, 1, 1);
			break;
		case P_OBJ:
			r = skip_run(&ps->sk, b, len);
			if (r <= 0)
				return r;
			ps->end = ps->sk.pos;
			return 1;
		case P_PP_HDR:
		case P_USER_HDR: {
			struct cur c = {b, 0, 1};

			r = skip_run(&ps->sk, b, len);
			if (r <= 0)
				return r;
			c.len = ps->sk.pos;
			if (ps->stage == P_PP_HDR) {
				struct table t = TABLE(pp_header_fields);

				memset(&ps->pp, 0, sizeof(ps->pp));
				r = decode_struct(&c, &t, &ps->pp);
				if (r)
					return r;
				if (ps->pp.nodes < 0 || ps->pp.nodes > PP_NODES_MAX ||
				    ps->pp.user_len < 0 || ps->pp.user_len > GW_STREAM_MAX)
					return -EBADMSG;
				ps->nodes_off = ps->sk.pos;
				ps->body_len = ps->pp.user_len;
				skip_init(&ps->sk, ps->sk.pos, (uint64_t)ps->pp.nodes);
				ps->stage = P_PP_NODES;
			} else {
				struct table t = TABLE(user_header_fields);
				struct user_header uh = {0};

				r = decode_struct(&c, &t, &uh);
				if (r)
					return r;
				if (uh.len < 0 || uh.len > GW_STREAM_MAX)
					return -EBADMSG;
				ps->body_len = uh.len;
				ps->body_off = ps->sk.pos;
				ps->stage = P_USER_BODY;
			}
			break;
		}
		case P_PP_NODES:
			r = skip_run(&ps->sk, b, len);
			if (r <= 0)
				return r;
			ps->body_off = ps->sk.pos;
			ps->stage = P_PP_USER;
			break;
		case P_PP_USER:
		case P_USER_BODY:
			if (len - ps->body_off < (size_t)ps->body_len)
				return 0;
			ps->end = ps->body_off + (size_t)ps->body_len;
			return 1;
		}
	}
}

/* Build *m from a plain message b[0..ps->end) that plain_parse completed. */
static int plain_build(struct gw_stream *s, const struct pstate *ps, const uint8_t *b,
		       struct gw_stream_msg *m)
{
	struct table tn = TABLE(pp_node_fields);
	struct cur c;
	int r;

	memset(m, 0, sizeof(*m));
	switch (ps->type) {
	case GW_PING:
	case GW_ACK:
	case GW_ERR:
		m->kind = ps->type == GW_PING  ? GW_STREAM_PING
			  : ps->type == GW_ACK ? GW_STREAM_ACK
					       : GW_STREAM_ERR;
		return gw_msg_decode(b, ps->end, &m->msg) == 0 ? 0 : -EBADMSG;
	case GW_USER:
		m->kind = GW_STREAM_USER;
		m->msg.type = GW_USER;
		m->msg.u.user.data = b + ps->body_off;
		m->msg.u.user.len = (size_t)ps->body_len;
		return 0;
	case GW_PUSHPULL:
		break;
	default:
		return -EBADMSG;
	}
	m->kind = GW_STREAM_PUSHPULL;
	s->pp.join = ps->pp.join;
	if (ps->pp.nodes) {
		s->pp.nodes = calloc((size_t)ps->pp.nodes, sizeof(*s->pp.nodes));
		if (!s->pp.nodes)
			return -ENOMEM;
	}
	c = (struct cur){b, ps->body_off, ps->nodes_off};
	for (int64_t i = 0; i < ps->pp.nodes; i++) {
		struct gw_pp_node *nd = &s->pp.nodes[s->pp.n];
		size_t start = c.off;

		memset(nd, 0, sizeof(*nd));
		r = decode_struct(&c, &tn, nd);
		/* IPv6 nodes and unknown states are left out, as Go's merge ignores states
		 * it does not know: the rest of the table stays usable. */
		if (r == -EAFNOSUPPORT) {
			c.off = start;
			if (cur_skip(&c))
				return -EBADMSG;
			continue;
		}
		if (r)
			return r;
		if ((unsigned)nd->state > GW_STATE_LEFT)
			continue;
		s->pp.n++;
	}
	if (ps->body_len) {
		s->pp.user_state = malloc((size_t)ps->body_len);
		if (!s->pp.user_state)
			return -ENOMEM;
		memcpy(s->pp.user_state, b + ps->body_off, (size_t)ps->body_len);
		s->pp.user_state_len = (size_t)ps->body_len;
	}
	m->pp = s->pp;
	return 0;
}

int gw_stream_create(struct gw_stream **out, const struct gw_keyring *kr)
{
	struct gw_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->kr = kr;
	*out = s;
	return 0;
}

static void stream_release(struct gw_stream *s)
{
	gw_pushpull_free(&s->pp);
	free(s->plain);
	s->plain = NULL;
	free(s->dec);
	s->dec = NULL;
}

void gw_stream_free(struct gw_stream *s)
{
	if (!s)
		return;
	stream_release(s);
	free(s->buf);
	free(s);
}

static int stream_append(struct gw_stream *s, const uint8_t *b, size_t n)
{
	const size_t max = GW_STREAM_MAX + STREAM_SLACK;
	uint8_t *nb;
	size_t ncap;

	if (!n)
		return 0;
	if (n > max - s->len)
		return -E2BIG;
	if (n > s->cap - s->len) {
		ncap = s->cap ? s->cap : 4096;
		while (ncap - s->len < n)
			ncap = ncap > max / 2 ? max : ncap * 2;
		nb = realloc(s->buf, ncap);
		if (!nb)
			return -ENOMEM;
		s->buf = nb;
		s->cap = ncap;
	}
	memcpy(s->buf + s->len, b, n);
	s->len += n;
	return 0;
}

/* A whole plain message in b (already unwrapped): parse it in one go. */
static int plain_complete(struct gw_stream *s, const uint8_t *b, size_t len,
			  struct gw_stream_msg *m)
{
	struct pstate ps = {.stage = P_TYPE};
	int r = plain_parse(&ps, b, len);

	if (r == 0)
		return -EBADMSG; /* truncated inside its wrapper */
	if (r < 0)
		return r;
	return plain_build(s, &ps, b, m);
}

/* Decompress b (09 wrapper) into s->dec and parse the message inside. */
static int compressed_complete(struct gw_stream *s, const uint8_t *b, size_t len,
			       struct gw_stream_msg *m)
{
	size_t dlen;
	int r = uncompress_msg(b, len, GW_DECOMPRESS_MAX, &s->dec, &dlen);

	if (r) {
		s->errmsg = ERR_DECOMPRESS;
		return r;
	}
	if (!dlen || s->dec[0] == GW_COMPRESS || s->dec[0] == GW_ENCRYPT)
		return -EBADMSG;
	return plain_complete(s, s->dec, dlen, m);
}

static int stream_step(struct gw_stream *s, struct gw_stream_msg *m)
{
	bool keys = keyring_usable(s->kr);
	const uint8_t *b = s->buf;
	int r;

	if (!s->len)
		return 0;
	if (b[0] == GW_ENCRYPT) {
		size_t flen, plen;

		if (!keys) {
			s->errmsg = ERR_NOT_CONFIGURED;
			return -EKEYREJECTED;
		}
		if (s->len < 5)
			return 0;
		flen = (size_t)be_read(b + 1, 4);
		if (flen > GW_STREAM_MAX) {
			s->errmsg = ERR_TOO_BIG;
			return -E2BIG;
		}
		if (s->len - 5 < flen)
			return 0;
		if (flen < GW_ENC_OVERHEAD)
			return -EBADMSG;
		s->plain = malloc(flen - GW_ENC_OVERHEAD + 1);
		if (!s->plain)
			return -ENOMEM;
		r = open_sealed(s->kr, b + 5, flen, b, 5, s->plain, &plen);
		if (r) {
			s->errmsg = ERR_DECRYPT;
			return -EKEYREJECTED;
		}
		s->consumed = 5 + flen;
		if (!plen)
			return -EBADMSG;
		if (s->plain[0] == GW_COMPRESS)
			r = compressed_complete(s, s->plain, plen, m);
		else if (s->plain[0] == GW_ENCRYPT)
			r = -EBADMSG;
		else
			r = plain_complete(s, s->plain, plen, m);
		return r ? r : 1;
	}
	if (keys) {
		s->errmsg = ERR_NOT_ENCRYPTED;
		return -EKEYREJECTED;
	}
	if (b[0] == GW_COMPRESS) {
		if (s->ps.stage == P_TYPE) {
			skip_init(&s->ps.sk, 1, 1);
			s->ps.stage = P_OBJ;
		}
		r = skip_run(&s->ps.sk, b, s->len);
		if (r <= 0)
			return r;
		s->consumed = s->ps.sk.pos;
		r = compressed_complete(s, b, s->ps.sk.pos, m);
		return r ? r : 1;
	}
	r = plain_parse(&s->ps, b, s->len);
	if (r <= 0)
		return r;
	s->consumed = s->ps.end;
	r = plain_build(s, &s->ps, b, m);
	return r ? r : 1;
}

int gw_stream_feed(struct gw_stream *s, const uint8_t *buf, size_t len, struct gw_stream_msg *m,
		   const char **errmsg)
{
	int r;

	if (errmsg)
		*errmsg = NULL;
	if (s->err)
		goto fail;
	stream_release(s);
	if (s->consumed) {
		memmove(s->buf, s->buf + s->consumed, s->len - s->consumed);
		s->len -= s->consumed;
		s->consumed = 0;
		memset(&s->ps, 0, sizeof(s->ps));
	}
	r = stream_append(s, buf, len);
	if (!r)
		r = stream_step(s, m);
	if (r >= 0)
		return r;
	stream_release(s);
	s->err = r;
	if (!s->errmsg)
		s->errmsg = r == -E2BIG ? ERR_TOO_BIG : ERR_MALFORMED;
fail:
	if (errmsg)
		*errmsg = s->errmsg;
	return s->err;
}

int gw_stream_frame(const struct gw_keyring *kr, const uint8_t *msg, size_t len, uint8_t **out,
		    size_t *out_len)
{
	uint8_t *z;
	size_t zlen;
	int r = gw_compress_wrap(msg, len, &z, &zlen);

	if (r)
		return r;
	if (!keyring_usable(kr)) {
		*out = z;
		*out_len = zlen;
		return 0;
	}
	r = gw_encrypt_stream(kr, z, zlen, out, out_len);
	free(z);
	return r;
}
