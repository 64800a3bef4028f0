// SPDX-License-Identifier: MIT
/*
 * Unit tests for vxlan/enc.c (the header codec, keys, AEAD and replay
 * window of vxlan/enc.h; not segmentation, enc_seg.c): exact header
 * bytes and every refusal, known-answer vectors for the key schedule and
 * both AEADs, a cross-check against libsodium's independent AEADs,
 * tampering, and the replay window's edges against a naive model.
 *
 * Vectors: computed once with Python 3.11, independently of enc.c:
 *   tag  = hashlib.blake2b(G, digest_size=32).digest()[0]
 *   root = hashlib.blake2b(b'', key=G, salt=pack('<Q', 1) + bytes(8),
 *                          person=b'vxmdata1' + bytes(8), digest_size=32)
 *          (libsodium's crypto_kdf_derive_from_key, subkey id 1)
 *   key  = hashlib.blake2b(b'vxmesh-dp-v1' + pack('>IQQ', vni, session,
 *                          epoch), key=root, digest_size=32)
 *   sealed = AESGCM(key) / ChaCha20Poly1305(key) of the `cryptography`
 *          package 48.0 (its own OpenSSL 4.0 build, not the system's 3.0)
 *          .encrypt(bytes(4) + pack('>Q', counter), frame, header)
 * with G = bytes(range(32)), VNI 0x123456, session 0x0102030405060708,
 * counter 0x12345678 (epoch 2), flags ENC_F_CSUM_PARTIAL, frame byte
 * i = 7 i + 3, 61 bytes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vxlan/enc.h"

#define V_VNI	  0x123456
#define V_SESSION 0x0102030405060708ull
#define V_COUNTER 0x12345678ull
#define V_FLEN	  61
#define MIN_DGRAM (ENC_HDR_LEN + ENC_FRAME_MIN + ENC_TAG_LEN)

static const uint8_t v_tag = 0xcb;
static const uint8_t v_root[ENC_KEY_LEN] = {
	0xc5, 0x76, 0x9f, 0x2f, 0xe0, 0x2c, 0xbd, 0x6e, 0x2e, 0xd8, 0xd2,
	0x36, 0x3d, 0x0c, 0x8c, 0xcb, 0x9e, 0xee, 0xd2, 0x3d, 0x3f, 0xcd,
	0x4f, 0x50, 0xc9, 0xb9, 0x0e, 0x71, 0x6a, 0xf5, 0x97, 0x2d,
};
/* (V_VNI, V_SESSION, epoch 2) and (VNI 1, session 0, epoch 0) */
static const uint8_t v_key[ENC_KEY_LEN] = {
	0x36, 0xd5, 0x1a, 0x9f, 0xe8, 0xed, 0x15, 0xce, 0xdc, 0xb3, 0x14,
	0x1a, 0x18, 0xa8, 0x2b, 0x69, 0x5d, 0x4e, 0xb3, 0x36, 0x81, 0xb8,
	0x4d, 0x14, 0xd9, 0x66, 0x95, 0x09, 0x1f, 0xf4, 0xef, 0xe8,
};
static const uint8_t v_key100[ENC_KEY_LEN] = {
	0x6b, 0xef, 0x4a, 0x4b, 0x1e, 0x28, 0x66, 0x86, 0x01, 0x81, 0x1d,
	0x88, 0xa0, 0x09, 0xa7, 0x26, 0x1c, 0x0b, 0x74, 0x5e, 0x13, 0xd8,
	0x47, 0xe8, 0x30, 0xdc, 0xdb, 0x23, 0xe8, 0x87, 0x4d, 0xce,
};
/* the AES-256-GCM header; ChaCha20-Poly1305's differs in byte 0 only */
static const uint8_t v_hdr[ENC_HDR_LEN] = {
	0x01, 0xcb, 0x01, 0x00, 0x12, 0x34, 0x56, 0x00, 0x01, 0x02, 0x03, 0x04,
	0x05, 0x06, 0x07, 0x08, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78,
};
static const uint8_t v_sealed[2][V_FLEN + ENC_TAG_LEN] = {
	{
		0xe9, 0x67, 0x83, 0x02, 0xe2, 0x8e, 0xc7, 0x02, 0xaa, 0x70, 0x60, 0xf5, 0x67,
		0x8b, 0x3b, 0xb4, 0x13, 0xe1, 0x23, 0x52, 0x1e, 0x20, 0x83, 0xd7, 0x96, 0xd8,
		0x0b, 0xa3, 0x50, 0xc8, 0x6c, 0xef, 0x02, 0x9a, 0xa8, 0xc9, 0x9b, 0x6e, 0xaa,
		0x00, 0xb8, 0x52, 0x11, 0xb6, 0xb2, 0xe2, 0xd9, 0x2a, 0xa2, 0x94, 0xe4, 0x75,
		0x17, 0x03, 0xd2, 0x7e, 0x0d, 0xbc, 0xdd, 0xb9, 0xad, 0x83, 0x92, 0x72, 0xb3,
		0x62, 0x7f, 0x01, 0x4c, 0xd7, 0x14, 0x3a, 0x50, 0x28, 0x42, 0x01, 0x21,
	},
	{
		0xef, 0x04, 0x9b, 0x59, 0x8a, 0xf8, 0xe8, 0xb0, 0x88, 0x2b, 0xa6, 0xf6, 0x29,
		0xf8, 0xdb, 0x8a, 0x07, 0x49, 0x1d, 0xd4, 0x03, 0x17, 0x7c, 0xbe, 0xe8, 0x07,
		0x6b, 0x5e, 0x61, 0x99, 0x69, 0xe0, 0x77, 0xf6, 0x3a, 0xc2, 0x02, 0xbb, 0x72,
		0x18, 0x8b, 0x5c, 0xbd, 0x44, 0x5c, 0x51, 0x8e, 0xcb, 0xf9, 0xa1, 0x0e, 0x58,
		0xbb, 0x5b, 0xa2, 0xe5, 0x2c, 0xac, 0x2d, 0x2c, 0x6d, 0x4b, 0xfa, 0xa0, 0xa1,
		0x27, 0x50, 0x91, 0xd6, 0xad, 0x06, 0x55, 0x86, 0xa2, 0xee, 0x5d, 0x5f,
	},
};

static void assert_bytes(const uint8_t *got, const uint8_t *want, size_t len)
{
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(got[i], want[i], "byte %zu: %02x, want %02x", i, got[i], want[i]);
}

static void setup(void)
{
	cr_assert_geq(sodium_init(), 0);
}

static struct enc_hdr v_h(enum enc_aead type)
{
	return (struct enc_hdr){.type = (uint8_t)type,
				.tag = v_tag,
				.flags = ENC_F_CSUM_PARTIAL,
				.vni = V_VNI,
				.session = V_SESSION,
				.counter = V_COUNTER};
}

/* ---- header ------------------------------------------------------------------------------ */

Test(enc_hdr, put_exact_bytes_and_get_back)
{
	struct enc_hdr h = v_h(ENC_AES256GCM), g;
	uint8_t d[MIN_DGRAM] = {0};

	enc_hdr_put(d, &h);
	assert_bytes(d, v_hdr, ENC_HDR_LEN);
	cr_assert_eq(enc_hdr_get(d, sizeof(d), &g), 0);
	cr_assert_eq(g.type, h.type);
	cr_assert_eq(g.tag, h.tag);
	cr_assert_eq(g.flags, h.flags);
	cr_assert_eq(g.vni, h.vni);
	cr_assert_eq(g.session, h.session);
	cr_assert_eq(g.counter, h.counter);
}

Test(enc_hdr, extremes_round_trip)
{
	const struct enc_hdr hs[] = {
		{ENC_CHACHA20POLY1305, 0xff, 0, 0xffffff, UINT64_MAX, UINT64_MAX},
		{ENC_AES256GCM, 0, ENC_F_ALL, 1, 0, 0},
	};
	uint8_t d[2000];

	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
		struct enc_hdr g;

		memset(d, 0xee, sizeof(d));
		enc_hdr_put(d, &hs[i]);
		cr_assert_eq(d[3], 0);
		cr_assert_eq(d[7], 0);
		cr_assert_eq(d[ENC_HDR_LEN], 0xee, "put writes the header only");
		cr_assert_eq(enc_hdr_get(d, sizeof(d), &g), 0);
		cr_assert(g.type == hs[i].type && g.tag == hs[i].tag && g.flags == hs[i].flags &&
			  g.vni == hs[i].vni && g.session == hs[i].session &&
			  g.counter == hs[i].counter);
	}
}

Test(enc_hdr, put_keeps_24_bits_of_vni)
{
	struct enc_hdr h = v_h(ENC_AES256GCM), g;
	uint8_t d[MIN_DGRAM] = {0};

	h.vni = 0xab123456;
	enc_hdr_put(d, &h);
	cr_assert(d[3] == 0 && d[4] == 0x12 && d[5] == 0x34 && d[6] == 0x56 && d[7] == 0);
	cr_assert_eq(enc_hdr_get(d, sizeof(d), &g), 0);
	cr_assert_eq(g.vni, 0x123456);
}

static void assert_refused(const uint8_t *d, size_t len, const char *what)
{
	struct enc_hdr g = {.type = 0x77, .vni = 0x77};

	cr_assert_eq(enc_hdr_get(d, len, &g), -EBADMSG, "%s accepted", what);
	cr_assert(g.type == 0x77 && g.vni == 0x77, "%s: the header was written", what);
}

Test(enc_hdr, length_edges)
{
	struct enc_hdr h = v_h(ENC_AES256GCM), g;
	uint8_t d[MIN_DGRAM] = {0};

	enc_hdr_put(d, &h);
	cr_assert_eq(MIN_DGRAM, 54);
	cr_assert_eq(enc_hdr_get(d, MIN_DGRAM, &g), 0);
	for (size_t len = 0; len < MIN_DGRAM; len++)
		assert_refused(d, len, "a short datagram");
}

Test(enc_hdr, every_bad_type_flag_and_reserved_byte)
{
	struct enc_hdr h = v_h(ENC_AES256GCM), g;
	uint8_t d[MIN_DGRAM] = {0};

	enc_hdr_put(d, &h);
	for (unsigned t = 0; t < 256; t++) {
		d[0] = (uint8_t)t;
		if (t == ENC_AES256GCM || t == ENC_CHACHA20POLY1305)
			cr_assert_eq(enc_hdr_get(d, sizeof(d), &g), 0, "type %u", t);
		else
			assert_refused(d, sizeof(d), "an unknown type");
	}
	d[0] = ENC_AES256GCM;
	for (unsigned f = 0; f < 256; f++) {
		d[2] = (uint8_t)f;
		if (f & ~ENC_F_ALL)
			assert_refused(d, sizeof(d), "an unknown flag");
		else
			cr_assert_eq(enc_hdr_get(d, sizeof(d), &g), 0, "flags %u", f);
	}
	d[2] = 0;
	for (unsigned v = 1; v < 256; v++) {
		d[3] = (uint8_t)v;
		assert_refused(d, sizeof(d), "reserved byte 3");
		d[3] = 0;
		d[7] = (uint8_t)v;
		assert_refused(d, sizeof(d), "reserved byte 7");
		d[7] = 0;
	}
	cr_assert_eq(enc_hdr_get(d, sizeof(d), &g), 0);
}

Test(enc_hdr, vni_zero)
{
	struct enc_hdr h = v_h(ENC_CHACHA20POLY1305), g;
	uint8_t d[MIN_DGRAM] = {0};

	h.vni = 0;
	enc_hdr_put(d, &h);
	assert_refused(d, sizeof(d), "VNI 0");
	h.vni = 0x1000000; /* 24 bits of it are 0 too */
	enc_hdr_put(d, &h);
	assert_refused(d, sizeof(d), "VNI 2^24");
	for (unsigned i = 4; i <= 6; i++) {
		d[i] = 1;
		cr_assert_eq(enc_hdr_get(d, sizeof(d), &g), 0);
		cr_assert_eq(g.vni, 1u << (8 * (6 - i)));
		d[i] = 0;
	}
}

/* ---- keys -------------------------------------------------------------------------------- */

static void v_root_of(struct enc_root *r)
{
	uint8_t g[ENC_KEY_LEN];

	for (unsigned i = 0; i < ENC_KEY_LEN; i++)
		g[i] = (uint8_t)i;
	enc_root_derive(g, r);
}

Test(enc_key, root_vector, .init = setup)
{
	struct enc_root r;

	v_root_of(&r);
	cr_assert_eq(r.tag, v_tag);
	assert_bytes(r.key, v_root, ENC_KEY_LEN);
	enc_root_wipe(&r);
	for (unsigned i = 0; i < ENC_KEY_LEN; i++)
		cr_assert_eq(r.key[i], 0);
	cr_assert_eq(r.tag, 0);
	enc_root_wipe(NULL);
}

Test(enc_key, packet_key_vectors, .init = setup)
{
	uint8_t k[ENC_KEY_LEN];
	struct enc_root r;

	v_root_of(&r);
	enc_key_derive(&r, V_VNI, V_SESSION, V_COUNTER >> ENC_EPOCH_SHIFT, k);
	assert_bytes(k, v_key, ENC_KEY_LEN);
	enc_key_derive(&r, 1, 0, 0, k);
	assert_bytes(k, v_key100, ENC_KEY_LEN);
	enc_root_wipe(&r);
}

Test(enc_key, every_input_matters, .init = setup)
{
	const struct {
		uint32_t vni;
		uint64_t session, epoch;
	} in[] = {
		{V_VNI, V_SESSION, 2},
		{V_VNI ^ 1, V_SESSION, 2},
		{V_VNI, V_SESSION ^ 1, 2},
		{V_VNI, V_SESSION, 3},
		{V_VNI, V_SESSION ^ (1ull << 63), 2},
		{V_VNI, V_SESSION, 2 | 1ull << 36},
	};
	uint8_t k[6][ENC_KEY_LEN];
	struct enc_root r, r2;

	v_root_of(&r);
	for (size_t i = 0; i < 6; i++)
		enc_key_derive(&r, in[i].vni, in[i].session, in[i].epoch, k[i]);
	for (size_t i = 0; i < 6; i++)
		for (size_t j = i + 1; j < 6; j++)
			cr_assert_neq(sodium_memcmp(k[i], k[j], ENC_KEY_LEN), 0, "%zu == %zu", i,
				      j);
	/* another root, same inputs */
	r2 = r;
	r2.key[31] ^= 1;
	enc_key_derive(&r2, V_VNI, V_SESSION, 2, k[1]);
	cr_assert_neq(sodium_memcmp(k[0], k[1], ENC_KEY_LEN), 0);
	enc_root_wipe(&r);
	enc_root_wipe(&r2);
}

/* ---- AEAD -------------------------------------------------------------------------------- */

static const enum enc_aead types[] = {ENC_AES256GCM, ENC_CHACHA20POLY1305};

static struct enc_aead_ctx *v_ctx(enum enc_aead type, const uint8_t *key)
{
	struct enc_aead_ctx *c = NULL;

	cr_assert_eq(enc_aead_new(&c, type, key), 0);
	cr_assert_not_null(c);
	return c;
}

/* The unit vector's datagram, unsealed, in d (ENC_HDR_LEN + V_FLEN + tag room). */
static void v_plain(uint8_t *d, enum enc_aead type)
{
	struct enc_hdr h = v_h(type);

	enc_hdr_put(d, &h);
	for (unsigned i = 0; i < V_FLEN; i++)
		d[ENC_HDR_LEN + i] = (uint8_t)(i * 7 + 3);
}

Test(enc_aead, known_answers, .init = setup)
{
	for (size_t t = 0; t < 2; t++) {
		uint8_t d[ENC_HDR_LEN + V_FLEN + ENC_TAG_LEN], p[sizeof(d)];
		struct enc_aead_ctx *c = v_ctx(types[t], v_key);

		v_plain(p, types[t]);
		memcpy(d, p, sizeof(d));
		cr_assert_eq(enc_seal(c, V_COUNTER, d, V_FLEN), 0);
		cr_assert_eq(d[0], types[t]);
		assert_bytes(d + 1, v_hdr + 1, ENC_HDR_LEN - 1);
		assert_bytes(d + ENC_HDR_LEN, v_sealed[t], V_FLEN + ENC_TAG_LEN);
		cr_assert_eq(enc_open(c, V_COUNTER, d, sizeof(d)), 0);
		assert_bytes(d, p, ENC_HDR_LEN + V_FLEN);
		enc_aead_free(c);
	}
}

/* libsodium's AEADs are separate implementations of the same constructions. */
Test(enc_aead, agrees_with_libsodium, .init = setup)
{
	static uint8_t d[ENC_HDR_LEN + 9000 + ENC_TAG_LEN], s[9000 + ENC_TAG_LEN];
	const size_t lens[] = {0, 1, 14, 15, 16, 17, 63, 64, 65, 1400, 1448, 9000};
	uint8_t n[12] = {0};

	for (size_t t = 0; t < 2; t++) {
		struct enc_aead_ctx *c = v_ctx(types[t], v_key);

		if (types[t] == ENC_AES256GCM && !crypto_aead_aes256gcm_is_available()) {
			cr_log_warn("no AES-NI: AES-256-GCM not cross-checked with libsodium");
			enc_aead_free(c);
			continue;
		}
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			uint64_t ctr = 0x1122334455667700ull + i;
			unsigned long long slen;

			v_plain(d, types[t]);
			for (size_t j = 0; j < lens[i]; j++)
				d[ENC_HDR_LEN + j] = (uint8_t)(j * 31 + i);
			for (int b = 0; b < 8; b++)
				n[4 + b] = (uint8_t)(ctr >> (56 - 8 * b));
			if (types[t] == ENC_AES256GCM)
				crypto_aead_aes256gcm_encrypt(s, &slen, d + ENC_HDR_LEN, lens[i], d,
							      ENC_HDR_LEN, NULL, n, v_key);
			else
				crypto_aead_chacha20poly1305_ietf_encrypt(s, &slen, d + ENC_HDR_LEN,
									  lens[i], d, ENC_HDR_LEN,
									  NULL, n, v_key);
			cr_assert_eq(slen, lens[i] + ENC_TAG_LEN);
			cr_assert_eq(enc_seal(c, ctr, d, lens[i]), 0);
			cr_assert_eq(memcmp(d + ENC_HDR_LEN, s, slen), 0, "type %d, %zu bytes",
				     types[t], lens[i]);
			cr_assert_eq(enc_open(c, ctr, d, ENC_HDR_LEN + slen), 0);
		}
		enc_aead_free(c);
	}
}

Test(enc_aead, round_trips_in_place, .init = setup)
{
	static uint8_t d[ENC_HDR_LEN + 65535 + ENC_TAG_LEN], p[sizeof(d)];

	for (size_t t = 0; t < 2; t++) {
		struct enc_aead_ctx *c = v_ctx(types[t], v_key);

		for (size_t len = 0; len <= 65535; len = len < 100 ? len + 1 : len * 3 + 7) {
			v_plain(p, types[t]);
			for (size_t j = 0; j < len; j++)
				p[ENC_HDR_LEN + j] = (uint8_t)(j ^ (j >> 8) ^ len);
			memcpy(d, p, ENC_HDR_LEN + len);
			cr_assert_eq(enc_seal(c, len, d, len), 0);
			if (len >= 16)
				cr_assert_neq(memcmp(d, p, ENC_HDR_LEN + len), 0);
			cr_assert_eq(enc_open(c, len, d, ENC_HDR_LEN + len + ENC_TAG_LEN), 0,
				     "%zu bytes", len);
			cr_assert_eq(memcmp(d, p, ENC_HDR_LEN + len), 0, "%zu bytes", len);
		}
		enc_aead_free(c);
	}
}

/* Every byte of header, ciphertext and tag is authenticated, and a context
 * that refused a datagram still opens the next good one. */
Test(enc_aead, any_flipped_bit_is_refused, .init = setup)
{
	for (size_t t = 0; t < 2; t++) {
		uint8_t d[ENC_HDR_LEN + V_FLEN + ENC_TAG_LEN], good[sizeof(d)];
		struct enc_aead_ctx *c = v_ctx(types[t], v_key);

		v_plain(good, types[t]);
		cr_assert_eq(enc_seal(c, V_COUNTER, good, V_FLEN), 0);
		for (size_t i = 0; i < sizeof(d); i++) {
			for (int b = 0; b < 8; b += 7) {
				memcpy(d, good, sizeof(d));
				d[i] ^= (uint8_t)(1 << b);
				cr_assert_eq(enc_open(c, V_COUNTER, d, sizeof(d)), -EBADMSG,
					     "type %d: byte %zu bit %d", types[t], i, b);
			}
		}
		memcpy(d, good, sizeof(d));
		cr_assert_eq(enc_open(c, V_COUNTER, d, sizeof(d)), 0);
		enc_aead_free(c);
	}
}

Test(enc_aead, wrong_counter_key_type_or_length, .init = setup)
{
	uint8_t good[ENC_HDR_LEN + V_FLEN + ENC_TAG_LEN], d[sizeof(good)], k2[ENC_KEY_LEN];

	memcpy(k2, v_key, sizeof(k2));
	k2[0] ^= 0x80;
	for (size_t t = 0; t < 2; t++) {
		struct enc_aead_ctx *c = v_ctx(types[t], v_key), *wrong = v_ctx(types[t], k2),
				    *other = v_ctx(types[1 - t], v_key);
		const uint64_t ctrs[] = {V_COUNTER - 1, V_COUNTER + 1, V_COUNTER ^ (1ull << 63), 0};

		v_plain(good, types[t]);
		cr_assert_eq(enc_seal(c, V_COUNTER, good, V_FLEN), 0);
		for (size_t i = 0; i < sizeof(ctrs) / sizeof(ctrs[0]); i++) {
			memcpy(d, good, sizeof(d));
			cr_assert_eq(enc_open(c, ctrs[i], d, sizeof(d)), -EBADMSG);
		}
		memcpy(d, good, sizeof(d));
		cr_assert_eq(enc_open(wrong, V_COUNTER, d, sizeof(d)), -EBADMSG);
		memcpy(d, good, sizeof(d));
		cr_assert_eq(enc_open(other, V_COUNTER, d, sizeof(d)), -EBADMSG);
		memcpy(d, good, sizeof(d));
		cr_assert_eq(enc_open(c, V_COUNTER, d, sizeof(d) - 1), -EBADMSG);
		for (size_t len = 0; len < ENC_OVERHEAD; len++)
			cr_assert_eq(enc_open(c, V_COUNTER, d, len), -EBADMSG);
		memcpy(d, good, sizeof(d));
		cr_assert_eq(enc_open(c, V_COUNTER, d, sizeof(d)), 0);
		enc_aead_free(c);
		enc_aead_free(wrong);
		enc_aead_free(other);
	}
	sodium_memzero(k2, sizeof(k2));
}

Test(enc_aead, empty_frame_and_bad_type, .init = setup)
{
	struct enc_aead_ctx *c = (struct enc_aead_ctx *)&c;
	uint8_t d[ENC_HDR_LEN + V_FLEN + ENC_TAG_LEN];

	cr_assert_eq(enc_aead_new(&c, 0, v_key), -EINVAL);
	cr_assert_null(c);
	cr_assert_eq(enc_aead_new(&c, 3, v_key), -EINVAL);
	cr_assert_null(c);
	enc_aead_free(NULL);
	c = v_ctx(ENC_CHACHA20POLY1305, v_key);
	v_plain(d, ENC_CHACHA20POLY1305);
	cr_assert_eq(enc_seal(c, 7, d, 0), 0);
	cr_assert_eq(enc_open(c, 7, d, ENC_OVERHEAD), 0);
	d[ENC_HDR_LEN] ^= 1;
	cr_assert_eq(enc_open(c, 7, d, ENC_OVERHEAD), -EBADMSG);
	enc_aead_free(c);
}

Test(enc_aead, aes_hw_is_libsodiums_probe, .init = setup)
{
	int hw = enc_aes_hw();

	cr_assert(hw == 0 || hw == 1);
	cr_assert_eq(hw, crypto_aead_aes256gcm_is_available());
}

Test(enc_aead, selftest_passes)
{
	char why[128] = "";

	cr_assert_eq(enc_selftest(why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(why[0], 0, "a reason on success: %s", why);
	cr_assert_eq(enc_selftest(NULL, 0), 0);
}

/* ---- replay window ----------------------------------------------------------------------- */

static struct enc_replay W;

static void replay_setup(void)
{
	memset(&W, 0x5a, sizeof(W)); /* init must clear it all */
	enc_replay_init(&W);
}

TestSuite(enc_replay, .init = replay_setup);

static void take(uint64_t c)
{
	cr_assert_eq(enc_replay_check(&W, c), 1, "%llu not new", (unsigned long long)c);
	cr_assert_eq(enc_replay_commit(&W, c), 0, "%llu not committed", (unsigned long long)c);
	cr_assert_eq(enc_replay_check(&W, c), 0, "%llu new again", (unsigned long long)c);
}

static void refused(uint64_t c)
{
	cr_assert_eq(enc_replay_check(&W, c), 0, "%llu new", (unsigned long long)c);
	cr_assert_eq(enc_replay_commit(&W, c), -EALREADY, "%llu committed", (unsigned long long)c);
}

Test(enc_replay, window_size)
{
	cr_assert_eq(ENC_REPLAY_WINDOW, 8128);
}

Test(enc_replay, first_packet_zero_and_duplicates)
{
	cr_assert_eq(W.last, 0);
	take(0);
	cr_assert_eq(W.last, 1);
	refused(0);
	take(1);
	refused(1);
	refused(0);
	cr_assert_eq(enc_replay_check(&W, 2), 1);
}

Test(enc_replay, first_packet_far_ahead)
{
	take(1000000);
	take(1000000 - ENC_REPLAY_WINDOW);
	refused(1000000 - ENC_REPLAY_WINDOW - 1);
	refused(0);
}

/* The oldest counter still accepted is last - 1 - 8128. */
Test(enc_replay, window_edges)
{
	const uint64_t h = 10000;

	take(h);
	cr_assert_eq(enc_replay_check(&W, h - 8128), 1);
	cr_assert_eq(enc_replay_check(&W, h - 8129), 0);
	take(h - 8128);
	refused(h - 8129);
	/* moving forward by one moves the edge by one */
	take(h + 1);
	refused(h - 8128);
	cr_assert_eq(enc_replay_check(&W, h + 1 - 8128), 1);
}

Test(enc_replay, window_edges_at_zero)
{
	take(8128);
	take(0);
	replay_setup();
	take(8129);
	refused(0);
	take(1);
}

/* Every counter of the window, in the same ring slot as the newest or not. */
Test(enc_replay, whole_window_once)
{
	const uint64_t h = 64 * 1000 + 17;

	take(h);
	for (uint64_t c = h - 1; c >= h - ENC_REPLAY_WINDOW; c--)
		take(c);
	refused(h - ENC_REPLAY_WINDOW - 1);
	for (uint64_t c = h - ENC_REPLAY_WINDOW; c <= h; c++)
		refused(c);
}

Test(enc_replay, out_of_order_commits)
{
	const uint64_t order[] = {5, 3, 4, 1, 2, 0, 200, 64, 63, 65, 199, 128, 127};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		take(order[i]);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		refused(order[i]);
	cr_assert_eq(enc_replay_check(&W, 6), 1);
	cr_assert_eq(enc_replay_check(&W, 198), 1);
	cr_assert_eq(W.last, 201);
}

/* Checked, then another packet commits the counter first: commit refuses. */
Test(enc_replay, commit_after_a_racing_commit)
{
	take(10);
	cr_assert_eq(enc_replay_check(&W, 7), 1);
	cr_assert_eq(enc_replay_check(&W, 7), 1);
	cr_assert_eq(enc_replay_commit(&W, 7), 0);
	cr_assert_eq(enc_replay_commit(&W, 7), -EALREADY);
	/* checked inside the window, pushed out of it before the commit */
	cr_assert_eq(enc_replay_check(&W, 3), 1);
	take(10 + 8128);
	cr_assert_eq(enc_replay_commit(&W, 3), -EALREADY);
}

Test(enc_replay, check_is_read_only)
{
	struct enc_replay before;

	take(500);
	take(100);
	before = W;
	for (uint64_t c = 0; c < 20000; c += 7)
		(void)enc_replay_check(&W, c);
	(void)enc_replay_check(&W, UINT64_MAX);
	cr_assert_eq(memcmp(&before, &W, sizeof(W)), 0);
}

/* A jump of more than the ring clears every block: no stale bit shadows a
 * counter of the new window. */
Test(enc_replay, jump_beyond_the_ring)
{
	const uint64_t far = 100 + 3 * 64 * ENC_REPLAY_BLOCKS;

	for (uint64_t c = 0; c < 64 * ENC_REPLAY_BLOCKS; c += 3)
		take(c);
	take(far);
	refused(100);
	refused(far - ENC_REPLAY_WINDOW - 1);
	for (uint64_t c = far - ENC_REPLAY_WINDOW; c < far; c++)
		cr_assert_eq(enc_replay_check(&W, c), 1, "%llu", (unsigned long long)c);
}

/* A jump within the ring clears the skipped blocks, around the ring's end. */
Test(enc_replay, jump_wraps_the_ring)
{
	take(100);	  /* block 1, slot 1, bit 36 */
	take(6400);	  /* block 100: slots 2..100 cleared */
	take(8192 + 104); /* block 129, slot 1: slots 101..127, 0, 1 cleared */
	cr_assert_eq(enc_replay_check(&W, 8192 + 100), 1, "stale bit of 100 in slot 1");
	take(8192 + 100);
	refused(6400);
	take(6401);
}

Test(enc_replay, uint64_max_is_never_valid)
{
	refused(UINT64_MAX);
	cr_assert_eq(W.last, 0);
	take(UINT64_MAX - 1);
	cr_assert_eq(W.last, UINT64_MAX);
	refused(UINT64_MAX);
	refused(UINT64_MAX - 1);
	take(UINT64_MAX - 2);
	take(UINT64_MAX - 1 - ENC_REPLAY_WINDOW);
	refused(UINT64_MAX - 2 - ENC_REPLAY_WINDOW);
	refused(0);
}

/* Against a naive model (every seen counter in a bitmap) over random walks. */
Test(enc_replay, agrees_with_a_naive_model)
{
	enum { SPAN = 1 << 20 };
	uint8_t *seen = calloc(SPAN / 8, 1);
	uint64_t x = 0x9e3779b97f4a7c15ull, top = 0, c;
	int any = 0;

	cr_assert_not_null(seen);
	for (int i = 0; i < 300000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		switch (x % 16) {
		case 0:
			c = top + (x >> 8) % 20000; /* jump ahead, maybe beyond the ring */
			break;
		case 1:
			c = top > 9000 ? top - 8000 - (x >> 8) % 300 : top; /* around the edge */
			break;
		default:
			c = top - (top < 400 ? top : (x >> 8) % 400) + (x >> 20) % 20;
		}
		if (c >= SPAN)
			c = top;
		int want = !(seen[c / 8] & 1 << c % 8) &&
			   (!any || c > top || top - c <= ENC_REPLAY_WINDOW);
		cr_assert_eq(enc_replay_check(&W, c), want, "op %d counter %llu top %llu", i,
			     (unsigned long long)c, (unsigned long long)top);
		if (x & 0x100) /* sometimes only checked, as when the tag fails */
			continue;
		cr_assert_eq(enc_replay_commit(&W, c), want ? 0 : -EALREADY, "op %d", i);
		if (want) {
			seen[c / 8] |= (uint8_t)(1 << c % 8);
			if (!any || c > top)
				top = c;
			any = 1;
		}
	}
	free(seen);
}
