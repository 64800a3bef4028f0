// SPDX-License-Identifier: MIT
/*
 * DOC: crypt - the encryption layer of the memberlist codec (see wire.h):
 * the keyring and AES-256-GCM framing, version 0 and 1, for packets and
 * for the 0a|LEN stream frame.  Keys are compared with sodium_memcmp() and
 * wiped with sodium_memzero().
 */
#include "gossip/wire.h"

#include "gossip/wire_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * Open vsn|nonce|ct+tag with every key, primary first.  out needs
 * len - 1 - NONCE_LEN - TAG_LEN bytes.  Version 0 padding is stripped.
 */
int open_sealed(const struct gw_keyring *kr, const uint8_t *in, size_t len, const uint8_t *ad,
		size_t adlen, uint8_t *out, size_t *out_len)
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
