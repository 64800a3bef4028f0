// SPDX-License-Identifier: MIT
/*
 * keyring: gossip keys in the keyring file and in join tokens (keyring.h).
 * wireguard-tools' habits: O_NOFOLLOW, a stale temp file's mode fixed,
 * unbuffered stdio so no buffer is left holding keys, jansson's copies of
 * key strings wiped, world-readable files refused.
 */
#include "driver/keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

int drv_key_from_b64(const char *b64, uint8_t key[GW_KEY_LEN])
{
	size_t len = 0;

	if (sodium_base642bin(key, GW_KEY_LEN, b64, strlen(b64), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    len != GW_KEY_LEN)
		return -EINVAL;
	return 0;
}

void drv_key_fingerprint(const uint8_t key[GW_KEY_LEN], char out[DRV_FINGERPRINT_LEN])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, key, GW_KEY_LEN);
	snprintf(out, DRV_FINGERPRINT_LEN, "sha256:%02x%02x%02x%02x%02x%02x%02x%02x", h[0], h[1],
		 h[2], h[3], h[4], h[5], h[6], h[7]);
}

/* Wipe the strings of a JSON array (jansson keeps copies) and free it. */
static void strings_wipe(json_t *arr)
{
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *s = json_array_get(arr, i);

		if (json_is_string(s))
			sodium_memzero((void *)json_string_value(s), json_string_length(s));
	}
	json_decref(arr);
}

int drv_keyring_save(const struct gw_keyring *kr, const char *path)
{
	char tmp[PATH_MAX + 24],
		b64[sodium_base64_ENCODED_LEN(GW_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
	json_t *arr = json_array();
	int ret = 0;
	FILE *f;
	int fd;

	for (unsigned i = 0; i < kr->n; i++) {
		sodium_bin2base64(b64, sizeof(b64), kr->keys[i], GW_KEY_LEN,
				  sodium_base64_VARIANT_ORIGINAL);
		json_array_append_new(arr, json_string(b64));
	}
	sodium_memzero(b64, sizeof(b64));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	/* A stale tmp file keeps its mode through O_CREAT. */
	if (fd >= 0 && fchmod(fd, 0600)) {
		close(fd);
		fd = -1;
	}
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	/* Unbuffered: no stdio buffer is left holding the keys. */
	if (f)
		setvbuf(f, NULL, _IONBF, 0);
	if (!f || json_dumpf(arr, f, 0) || fflush(f) || fsync(fileno(f)))
		ret = -EIO;
	if (f)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	strings_wipe(arr);
	return ret;
}

int drv_keyring_load(struct gw_keyring *kr, const char *path)
{
	json_error_t jerr;
	struct stat sb;
	json_t *arr;
	int ret = 0;

	if (stat(path, &sb)) {
		if (errno == ENOENT)
			return 0;
		return -errno;
	}
	if (sb.st_mode & 077) {
		log_err("%s is readable by others (mode %03o); refusing to use it: chmod 600 it",
			path, (unsigned)(sb.st_mode & 0777));
		return -EPERM;
	}
	arr = json_load_file(path, 0, &jerr);
	if (!json_is_array(arr)) {
		log_err("%s: not a JSON array of base64 keys (%s)", path, jerr.text);
		json_decref(arr);
		return -EINVAL;
	}
	for (size_t i = 0; i < json_array_size(arr) && !ret; i++) {
		const char *b64 = json_string_value(json_array_get(arr, i));
		uint8_t key[GW_KEY_LEN];

		if (!b64 || drv_key_from_b64(b64, key)) {
			log_err("%s: entry %zu is not a base64 32-byte key", path, i);
			ret = -EINVAL;
		} else if (gw_keyring_install(kr, key) == -ENOSPC) {
			ret = -ENOSPC;
		}
		sodium_memzero(key, sizeof(key));
	}
	strings_wipe(arr);
	return ret;
}

int drv_token_decode(const char *token, struct drv_token *t)
{
	size_t plen = strlen(DRV_TOKEN_PREFIX), tlen = strlen(token), blen = 0;
	json_t *o = NULL, *seeds, *key = NULL;
	char *json;
	int ret = -EINVAL;

	memset(t, 0, sizeof(*t));
	if (tlen <= plen || strncmp(token, DRV_TOKEN_PREFIX, plen))
		return -EINVAL;
	json = calloc(1, tlen);
	if (!json)
		return -ENOMEM;
	if (sodium_base642bin((unsigned char *)json, tlen - 1, token + plen, tlen - plen, NULL,
			      &blen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		goto out;
	o = json_loadb(json, blen, JSON_REJECT_DUPLICATES, NULL);
	if (!o || json_unpack(o, "{s:o,s:o}", "seeds", &seeds, "key", &key) ||
	    !json_is_array(seeds) || json_array_size(seeds) > DRV_TOKEN_SEEDS_MAX ||
	    !(json_is_string(key) || json_is_null(key)))
		goto out;
	for (size_t i = 0; i < json_array_size(seeds); i++) {
		const char *s = json_string_value(json_array_get(seeds, i));

		if (!s || strlen(s) >= sizeof(t->seeds[0]))
			goto out;
		snprintf(t->seeds[t->nseeds++], sizeof(t->seeds[0]), "%s", s);
	}
	if (json_is_string(key)) {
		if (drv_key_from_b64(json_string_value(key), t->key))
			goto out;
		t->has_key = 1;
	}
	ret = 0;
out:
	if (ret)
		sodium_memzero(t, sizeof(*t));
	sodium_memzero(json, tlen);
	free(json);
	if (json_is_string(key))
		sodium_memzero((void *)json_string_value(key), json_string_length(key));
	json_decref(o);
	return ret;
}

char *drv_token_encode(const char *seed, const uint8_t *key)
{
	char b64key[sodium_base64_ENCODED_LEN(GW_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
	size_t plen = strlen(DRV_TOKEN_PREFIX), jlen, tlen;
	char *json, *tok = NULL;
	json_t *o, *k;

	if (key)
		sodium_bin2base64(b64key, sizeof(b64key), key, GW_KEY_LEN,
				  sodium_base64_VARIANT_ORIGINAL);
	o = json_pack("{s:[s],s:o}", "seeds", seed, "key", key ? json_string(b64key) : json_null());
	sodium_memzero(b64key, sizeof(b64key));
	json = o ? json_dumps(o, JSON_COMPACT) : NULL;
	k = o ? json_object_get(o, "key") : NULL;
	if (json_is_string(k))
		sodium_memzero((void *)json_string_value(k), json_string_length(k));
	json_decref(o);
	if (!json)
		return NULL;
	jlen = strlen(json);
	tlen = plen + sodium_base64_ENCODED_LEN(jlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	tok = malloc(tlen);
	if (tok) {
		memcpy(tok, DRV_TOKEN_PREFIX, plen);
		sodium_bin2base64(tok + plen, tlen - plen, (const unsigned char *)json, jlen,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	}
	sodium_memzero(json, jlen);
	free(json);
	return tok;
}
