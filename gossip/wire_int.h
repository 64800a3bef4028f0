/* SPDX-License-Identifier: MIT */
/*
 * wire_int: what the four files of the memberlist codec share: wire.c
 * (msgpack reading and writing, field tables, messages, packet layers),
 * lzw.c, crypt.c and stream.c.  Private to those four; every other module
 * includes gossip/wire.h only.
 */
#ifndef VXMESH_GOSSIP_WIRE_INT_H
#define VXMESH_GOSSIP_WIRE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/wire.h"

struct msgpack_packer;

#define MP_DEPTH 32 /* nesting accepted inside skipped values */

/* ---- msgpack reading (wire.c) ---- */

static inline uint64_t be_read(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
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

void skip_init(struct skip *s, size_t pos, uint64_t count);
int skip_run(struct skip *s, const uint8_t *b, size_t len);

/* Cursor over a complete buffer. */
struct cur {
	const uint8_t *p;
	size_t len, off;
};

/* Skip one value.  0 or -EBADMSG. */
int cur_skip(struct cur *c);

/* ---- field tables (wire.c) ---- */

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

/* Decode one msgpack map into obj (which the caller zeroed) following table t. */
int decode_struct(struct cur *c, const struct table *t, void *obj);

/* ---- encoding (wire.c) ---- */

struct wbuf {
	uint8_t *p;
	size_t len, cap, max;
	bool dyn;
	int err;
};

/* msgpack-c write callback into a struct wbuf; errors stick in w->err (wbuf.c). */
int wbuf_write(void *data, const char *b, size_t n);

static inline void wbuf_byte(struct wbuf *w, uint8_t b)
{
	wbuf_write(w, (const char *)&b, 1);
}

int encode_struct(struct msgpack_packer *pk, const struct table *t, const void *obj);

/* ---- LZW (lzw.c) ---- */

/* Decode a 09 {Algo, Buf} wrapper and decompress it. */
int uncompress_msg(const uint8_t *b, size_t len, size_t max_out, uint8_t **out, size_t *out_len);

/* ---- encryption (crypt.c) ---- */

static inline bool keyring_usable(const struct gw_keyring *kr)
{
	return kr && kr->n && kr->n <= GW_KEYRING_MAX;
}

/*
 * Open vsn|nonce|ct+tag with every key, primary first.  out needs
 * len - GW_ENC_OVERHEAD bytes.  Version 0 padding is stripped.
 * 0 or -EBADMSG.
 */
int open_sealed(const struct gw_keyring *kr, const uint8_t *in, size_t len, const uint8_t *ad,
		size_t adlen, uint8_t *out, size_t *out_len);

#endif
