// SPDX-License-Identifier: MIT
/*
 * DOC: enc - the wire header codec, the key schedule (libsodium's BLAKE2b),
 * the AEAD seal and open in place (OpenSSL EVP, one context per key and
 * direction, keyed once, only the IV set per packet) and the RFC 6479
 * replay window of the encrypted datapath (see enc.h).  Segmentation and
 * coalescing are enc_seg.c's.
 */
#include "vxlan/enc.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_LEN     12
#define KDF_LABEL     "vxmesh-dp-v1"
#define KDF_LABEL_LEN 12
#define ROOT_CTX      "vxmdata1"
#define ROOT_SUBKEY   1

_Static_assert(sizeof(KDF_LABEL) - 1 == KDF_LABEL_LEN, "label without its NUL");
_Static_assert(sizeof(ROOT_CTX) - 1 == crypto_kdf_CONTEXTBYTES, "kdf context");
_Static_assert(ENC_KEY_LEN == crypto_kdf_KEYBYTES, "gossip keys are kdf master keys");

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* ---- header ---- */

void enc_hdr_put(uint8_t out[static ENC_HDR_LEN], const struct enc_hdr *h)
{
	out[0] = h->type;
	out[1] = h->tag;
	out[2] = h->flags;
	out[3] = 0;
	out[4] = (uint8_t)(h->vni >> 16);
	out[5] = (uint8_t)(h->vni >> 8);
	out[6] = (uint8_t)h->vni;
	out[7] = 0;
	put_be64(out + 8, h->session);
	put_be64(out + 16, h->counter);
}

int enc_hdr_get(const uint8_t *in, size_t len, struct enc_hdr *h)
{
	uint32_t vni;

	if (len < ENC_HDR_LEN + ENC_FRAME_MIN + ENC_TAG_LEN)
		return -EBADMSG;
	if (in[0] != ENC_AES256GCM && in[0] != ENC_CHACHA20POLY1305)
		return -EBADMSG;
	if ((in[2] & ~ENC_F_ALL) || in[3] || in[7])
		return -EBADMSG;
	vni = (uint32_t)in[4] << 16 | (uint32_t)in[5] << 8 | in[6];
	if (!vni)
		return -EBADMSG;
	h->type = in[0];
	h->tag = in[1];
	h->flags = in[2];
	h->vni = vni;
	h->session = get_be64(in + 8);
	h->counter = get_be64(in + 16);
	return 0;
}

/* ---- keys ---- */

void enc_root_derive(const uint8_t gossip_key[static ENC_KEY_LEN], struct enc_root *r)
{
	uint8_t id[crypto_generichash_BYTES];

	crypto_generichash(id, sizeof(id), gossip_key, ENC_KEY_LEN, NULL, 0);
	r->tag = id[0];
	crypto_kdf_derive_from_key(r->key, sizeof(r->key), ROOT_SUBKEY, ROOT_CTX, gossip_key);
	sodium_memzero(id, sizeof(id));
}

void enc_root_wipe(struct enc_root *r)
{
	if (r)
		sodium_memzero(r, sizeof(*r));
}

void enc_key_derive(const struct enc_root *r, uint32_t vni, uint64_t session, uint64_t epoch,
		    uint8_t key[static ENC_KEY_LEN])
{
	uint8_t in[KDF_LABEL_LEN + 4 + 8 + 8];

	memcpy(in, KDF_LABEL, KDF_LABEL_LEN);
	put_be32(in + KDF_LABEL_LEN, vni);
	put_be64(in + KDF_LABEL_LEN + 4, session);
	put_be64(in + KDF_LABEL_LEN + 12, epoch);
	crypto_generichash(key, ENC_KEY_LEN, in, sizeof(in), r->key, sizeof(r->key));
}

/* ---- AEAD ---- */

struct enc_aead_ctx {
	EVP_CIPHER_CTX *seal, *open;
};

int enc_aes_hw(void)
{
	/* sodium_init() fills the CPU feature flags the probe reads. */
	if (sodium_init() < 0)
		return 0;
	return crypto_aead_aes256gcm_is_available();
}

static int ctx_key(EVP_CIPHER_CTX *x, const EVP_CIPHER *cipher, const uint8_t *key, int enc)
{
	if (EVP_CipherInit_ex(x, cipher, NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
	    EVP_CIPHER_CTX_key_length(x) != ENC_KEY_LEN ||
	    EVP_CipherInit_ex(x, NULL, NULL, key, NULL, enc) != 1)
		return -EIO;
	return 0;
}

int enc_aead_new(struct enc_aead_ctx **out, enum enc_aead type,
		 const uint8_t key[static ENC_KEY_LEN])
{
	const EVP_CIPHER *cipher;
	struct enc_aead_ctx *c;
	int err = -ENOMEM;

	*out = NULL;
	if (type == ENC_AES256GCM)
		cipher = EVP_aes_256_gcm();
	else if (type == ENC_CHACHA20POLY1305)
		cipher = EVP_chacha20_poly1305();
	else
		return -EINVAL;
	if (!cipher)
		return -EIO;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->seal = EVP_CIPHER_CTX_new();
	c->open = EVP_CIPHER_CTX_new();
	if (!c->seal || !c->open)
		goto err_free_ctx;
	err = ctx_key(c->seal, cipher, key, 1);
	if (!err)
		err = ctx_key(c->open, cipher, key, 0);
	if (err)
		goto err_free_ctx;
	*out = c;
	return 0;

err_free_ctx:
	enc_aead_free(c);
	ERR_clear_error();
	return err;
}

void enc_aead_free(struct enc_aead_ctx *c)
{
	if (!c)
		return;
	/* OpenSSL's providers clear their key schedules when freed. */
	EVP_CIPHER_CTX_free(c->seal);
	EVP_CIPHER_CTX_free(c->open);
	free(c);
}

static void nonce(uint8_t iv[static NONCE_LEN], uint64_t counter)
{
	memset(iv, 0, 4);
	put_be64(iv + 4, counter);
}

/* OpenSSL may have queued errors; keep the thread's queue clean. */
static int evp_fail(int err)
{
	ERR_clear_error();
	return err;
}

int enc_seal(struct enc_aead_ctx *c, uint64_t counter, uint8_t *buf, size_t flen)
{
	uint8_t iv[NONCE_LEN], *p = buf + ENC_HDR_LEN;
	int n, fin;

	if (flen > INT_MAX - ENC_OVERHEAD)
		return -EIO;
	nonce(iv, counter);
	if (EVP_CipherInit_ex(c->seal, NULL, NULL, NULL, iv, 1) != 1 ||
	    EVP_CipherUpdate(c->seal, NULL, &n, buf, ENC_HDR_LEN) != 1 ||
	    EVP_CipherUpdate(c->seal, p, &n, p, (int)flen) != 1 ||
	    EVP_CipherFinal_ex(c->seal, p + n, &fin) != 1 || (size_t)n + (size_t)fin != flen ||
	    EVP_CIPHER_CTX_ctrl(c->seal, EVP_CTRL_AEAD_GET_TAG, ENC_TAG_LEN, p + flen) != 1)
		return evp_fail(-EIO);
	return 0;
}

int enc_open(struct enc_aead_ctx *c, uint64_t counter, uint8_t *buf, size_t len)
{
	uint8_t iv[NONCE_LEN], *p = buf + ENC_HDR_LEN;
	size_t flen;
	int n, fin;

	if (len < ENC_OVERHEAD || len > INT_MAX)
		return -EBADMSG;
	flen = len - ENC_OVERHEAD;
	nonce(iv, counter);
	if (EVP_CipherInit_ex(c->open, NULL, NULL, NULL, iv, 0) != 1 ||
	    EVP_CipherUpdate(c->open, NULL, &n, buf, ENC_HDR_LEN) != 1 ||
	    EVP_CipherUpdate(c->open, p, &n, p, (int)flen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->open, EVP_CTRL_AEAD_SET_TAG, ENC_TAG_LEN, p + flen) != 1)
		return evp_fail(-EIO);
	/* Final compares the tags in constant time. */
	if (EVP_CipherFinal_ex(c->open, p + n, &fin) != 1 || (size_t)n + (size_t)fin != flen)
		return evp_fail(-EBADMSG);
	return 0;
}

/* ---- self-test ---- */

/*
 * Known answers computed once with Python (hashlib.blake2b for the keys,
 * the cryptography package's AESGCM and ChaCha20Poly1305 over its own
 * OpenSSL 4.0 build for the AEADs): gossip key 0xa5 ^ i, VNI 0xabcdef,
 * session 0xf0e1d2c3b4a59687, counter 0x987654321 (epoch 304), flags
 * ENC_F_CSUM_PARTIAL, frame byte i = 13 i + 1, 60 bytes.
 */
#define ST_VNI	   0xabcdef
#define ST_SESSION 0xf0e1d2c3b4a59687ull
#define ST_COUNTER 0x987654321ull
#define ST_FLEN	   60

static const uint8_t st_tag = 0x20;
static const uint8_t st_root[ENC_KEY_LEN] = {
	0x63, 0x26, 0x22, 0x52, 0xe2, 0xf0, 0x3f, 0xea, 0x80, 0x52, 0x53,
	0x72, 0x4f, 0x52, 0xb2, 0x98, 0x46, 0x57, 0x1e, 0xa3, 0x30, 0x2f,
	0xcd, 0x23, 0xf2, 0xdd, 0xfa, 0x84, 0xeb, 0xd5, 0xd2, 0xa1,
};
static const uint8_t st_key[ENC_KEY_LEN] = {
	0xa6, 0x08, 0x18, 0xaf, 0xb2, 0xc1, 0xa1, 0x78, 0x56, 0x4d, 0xea,
	0xc3, 0x21, 0x65, 0xe2, 0x61, 0x41, 0xee, 0xee, 0xda, 0x2b, 0xc2,
	0xbc, 0x4f, 0xc2, 0x49, 0x27, 0x42, 0xa9, 0x4d, 0x1d, 0x2a,
};
static const uint8_t st_sealed[2][ST_FLEN + ENC_TAG_LEN] = {
	{
		0x1a, 0x67, 0x53, 0x59, 0xfa, 0x6b, 0xad, 0x16, 0xd0, 0x1d, 0x9e, 0xcd, 0xaf,
		0xdf, 0x3c, 0xd2, 0x9f, 0x1a, 0xf5, 0x45, 0xb4, 0xdf, 0x5d, 0xa2, 0xe5, 0xfe,
		0x33, 0x83, 0x71, 0xb5, 0xaa, 0x80, 0x8d, 0x54, 0xa3, 0x49, 0xd6, 0x00, 0xed,
		0x9c, 0x71, 0xf6, 0xb4, 0xb7, 0x7d, 0xb9, 0x7a, 0x82, 0x36, 0x7f, 0xbc, 0xf2,
		0x5f, 0x2f, 0x33, 0xd3, 0xdb, 0x0a, 0x89, 0xd6, 0x75, 0x5b, 0x33, 0x56, 0x52,
		0xdc, 0x7c, 0xe1, 0xe4, 0xc0, 0x85, 0x0d, 0xe7, 0x1d, 0xf4, 0xfc,
	},
	{
		0x46, 0xf0, 0x0a, 0x47, 0x38, 0x87, 0x15, 0x5d, 0x82, 0x08, 0x76, 0xb3, 0x68,
		0x95, 0x08, 0x52, 0xa4, 0xd3, 0x2d, 0xcd, 0x12, 0xae, 0xdb, 0x3d, 0x94, 0x0b,
		0xb1, 0xf4, 0x2a, 0x57, 0xee, 0x31, 0xa7, 0xbc, 0x05, 0x20, 0xba, 0x03, 0x19,
		0x39, 0x45, 0xf6, 0x8e, 0xc8, 0x51, 0xa0, 0x2c, 0xd2, 0x07, 0x1c, 0x67, 0x8a,
		0x91, 0x0d, 0xd1, 0x06, 0x20, 0xa6, 0xe0, 0x86, 0xc4, 0x1a, 0xef, 0xcc, 0xd6,
		0xa7, 0xa3, 0xc4, 0xec, 0x79, 0x80, 0x87, 0xff, 0xfa, 0x99, 0x94,
	},
};

static int st_fail(char *why, size_t len, const char *aead, const char *what)
{
	if (why && len)
		snprintf(why, len, "%s%s%s", aead ? aead : "", aead ? ": " : "", what);
	return -EIO;
}

static void st_plain(uint8_t *buf, enum enc_aead type)
{
	struct enc_hdr h = {.type = (uint8_t)type,
			    .tag = st_tag,
			    .flags = ENC_F_CSUM_PARTIAL,
			    .vni = ST_VNI,
			    .session = ST_SESSION,
			    .counter = ST_COUNTER};

	enc_hdr_put(buf, &h);
	for (unsigned i = 0; i < ST_FLEN; i++)
		buf[ENC_HDR_LEN + i] = (uint8_t)(i * 13 + 1);
}

/* Seal, compare with the known answer, open, refuse tampering: NULL, or what failed. */
static const char *st_aead_run(struct enc_aead_ctx *c, enum enc_aead type)
{
	uint8_t buf[ENC_HDR_LEN + ST_FLEN + ENC_TAG_LEN], want[ENC_HDR_LEN + ST_FLEN];
	const uint8_t *sealed = st_sealed[type - 1];
	/* flipped one at a time: the key tag, the counter, the frame, the AEAD tag;
	 * last, the right bytes under the wrong counter */
	const size_t bad[] = {1, 17, ENC_HDR_LEN + 5, sizeof(buf) - 1, 0};
	const size_t nbad = sizeof(bad) / sizeof(bad[0]);

	st_plain(want, type);
	memcpy(buf, want, sizeof(want));
	if (enc_seal(c, ST_COUNTER, buf, ST_FLEN))
		return "sealing failed";
	if (memcmp(buf, want, ENC_HDR_LEN) ||
	    sodium_memcmp(buf + ENC_HDR_LEN, sealed, ST_FLEN + ENC_TAG_LEN))
		return "sealed bytes differ from the known answer";
	if (enc_open(c, ST_COUNTER, buf, sizeof(buf)) || memcmp(buf, want, sizeof(want)))
		return "a datagram it sealed does not open";
	for (size_t i = 0; i < nbad; i++) {
		memcpy(buf, want, ENC_HDR_LEN);
		memcpy(buf + ENC_HDR_LEN, sealed, ST_FLEN + ENC_TAG_LEN);
		if (i < nbad - 1)
			buf[bad[i]] ^= 0x40;
		if (enc_open(c, ST_COUNTER + (i == nbad - 1), buf, sizeof(buf)) != -EBADMSG)
			return "a tampered datagram opens";
	}
	memcpy(buf, want, ENC_HDR_LEN);
	memcpy(buf + ENC_HDR_LEN, sealed, ST_FLEN + ENC_TAG_LEN);
	if (enc_open(c, ST_COUNTER, buf, sizeof(buf)) || memcmp(buf, want, sizeof(want)))
		return "a good datagram does not open after bad ones";
	return NULL;
}

static int st_aead(enum enc_aead type, const char *name, const uint8_t *key, char *why, size_t len)
{
	struct enc_aead_ctx *c;
	const char *what;

	if (enc_aead_new(&c, type, key))
		return st_fail(why, len, name, "OpenSSL refused the context");
	what = st_aead_run(c, type);
	enc_aead_free(c);
	return what ? st_fail(why, len, name, what) : 0;
}

int enc_selftest(char *why, size_t len)
{
	uint8_t gossip[ENC_KEY_LEN], key[ENC_KEY_LEN];
	struct enc_root root;
	int err;

	if (sodium_init() < 0)
		return st_fail(why, len, NULL, "libsodium does not initialise");
	for (unsigned i = 0; i < ENC_KEY_LEN; i++)
		gossip[i] = (uint8_t)(0xa5 ^ i);
	enc_root_derive(gossip, &root);
	enc_key_derive(&root, ST_VNI, ST_SESSION, ST_COUNTER >> ENC_EPOCH_SHIFT, key);
	if (root.tag != st_tag || sodium_memcmp(root.key, st_root, ENC_KEY_LEN))
		err = st_fail(why, len, NULL, "the data root differs from the known answer");
	else if (sodium_memcmp(key, st_key, ENC_KEY_LEN))
		err = st_fail(why, len, NULL, "the packet key differs from the known answer");
	else
		err = st_aead(ENC_AES256GCM, "AES-256-GCM", key, why, len);
	if (!err)
		err = st_aead(ENC_CHACHA20POLY1305, "ChaCha20-Poly1305", key, why, len);
	sodium_memzero(gossip, sizeof(gossip));
	sodium_memzero(key, sizeof(key));
	enc_root_wipe(&root);
	return err;
}

/* ---- replay window ---- */

#define BLOCK_BITS 64

void enc_replay_init(struct enc_replay *w)
{
	memset(w, 0, sizeof(*w));
}

/* Invariant: the ring holds the block of last - 1 and the 127 before it;
 * bits above last - 1 are clear.  UINT64_MAX would wrap last to 0. */
int enc_replay_check(const struct enc_replay *w, uint64_t counter)
{
	if (counter == UINT64_MAX)
		return 0;
	if (counter >= w->last)
		return 1;
	if (w->last - 1 - counter > ENC_REPLAY_WINDOW)
		return 0;
	return !(w->bits[(counter / BLOCK_BITS) % ENC_REPLAY_BLOCKS] &
		 (1ull << (counter % BLOCK_BITS)));
}

int enc_replay_commit(struct enc_replay *w, uint64_t counter)
{
	uint64_t block = counter / BLOCK_BITS, bit = 1ull << (counter % BLOCK_BITS), *word;

	if (counter == UINT64_MAX)
		return -EALREADY;
	if (counter >= w->last) {
		uint64_t cur = w->last ? (w->last - 1) / BLOCK_BITS : 0;
		uint64_t diff = block - cur;

		if (diff > ENC_REPLAY_BLOCKS)
			diff = ENC_REPLAY_BLOCKS;
		for (uint64_t i = 1; i <= diff; i++)
			w->bits[(cur + i) % ENC_REPLAY_BLOCKS] = 0;
		w->last = counter + 1;
	} else if (w->last - 1 - counter > ENC_REPLAY_WINDOW) {
		return -EALREADY;
	}
	word = &w->bits[block % ENC_REPLAY_BLOCKS];
	if (*word & bit)
		return -EALREADY;
	*word |= bit;
	return 0;
}
