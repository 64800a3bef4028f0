/* SPDX-License-Identifier: MIT */
/*
 * keyring: the gossip keys on disk and in join tokens.  The keyring file is
 * a JSON array of base64 keys, primary first (Serf's format), mode 0600,
 * replaced atomically; a join token is "vxm1." + base64url of
 * {"seeds": ["ADDR:PORT", ...], "key": base64 | null}.  Every copy of a key
 * made here is wiped before it is freed.
 */
#ifndef VXMESH_KEYRING_H
#define VXMESH_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "gossip/wire.h"

#define DRV_TOKEN_PREFIX    "vxm1."
#define DRV_FINGERPRINT_LEN 24 /* "sha256:" + 16 hex digits + NUL */
#define DRV_TOKEN_SEEDS_MAX 64

/* A base64 32-byte key.  0 or -EINVAL. */
int drv_key_from_b64(const char *b64, uint8_t key[GW_KEY_LEN]) __attribute__((warn_unused_result));
/* "sha256:" and the first 8 bytes of the key's SHA-256, in hex. */
void drv_key_fingerprint(const uint8_t key[GW_KEY_LEN], char out[DRV_FINGERPRINT_LEN]);

/* Install the keys of the file at path (absent: none).  0, -EPERM (readable
 * by others), -EINVAL (not a keyring; logged), -ENOSPC, -errno. */
int drv_keyring_load(struct gw_keyring *kr, const char *path) __attribute__((warn_unused_result));
/* Write kr to path (through path.tmp, fsync()ed, renamed).  0 or -errno. */
int drv_keyring_save(const struct gw_keyring *kr, const char *path)
	__attribute__((warn_unused_result));

/* What a join token carries. */
struct drv_token {
	char seeds[DRV_TOKEN_SEEDS_MAX][64]; /* "ADDR[:PORT]", unchecked */
	size_t nseeds;
	int has_key;
	uint8_t key[GW_KEY_LEN]; /* wipe with sodium_memzero() after use */
};
/* Decode a token.  0 or -EINVAL (not a vxm1 token, bad encoding or
 * fields), -ENOMEM.  On failure t holds no key. */
int drv_token_decode(const char *token, struct drv_token *t) __attribute__((warn_unused_result));
/* A token for seed carrying key (NULL: none): malloc()ed, wipe and free it
 * (its length is strlen()).  NULL when out of memory. */
char *drv_token_encode(const char *seed, const uint8_t *key);

#endif
