// SPDX-License-Identifier: MIT
/*
 * Unit tests for driver/keyring.c: the keyring file (save/load round trip in
 * a mkdtemp() directory, mode 0600 even over a stale 0644 temp file, files
 * readable by others refused, malformed files refused), join tokens (round
 * trips, a fixed token so the format cannot drift, a table of malformed
 * tokens that leave no key behind) and the key fingerprint's fixed vector.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "driver/keyring.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* Bytes 0..31, its base64 and its fingerprint (python3 hashlib, base64). */
#define KEY_B64	  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_FP	  "sha256:630dcd2966c43366"
#define KEY31_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="
#define KEY33_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"

static void key_seq(uint8_t key[GW_KEY_LEN], uint8_t first)
{
	for (unsigned i = 0; i < GW_KEY_LEN; i++)
		key[i] = (uint8_t)(first + i);
}

/* ---- keyring file ---- */

struct tmp {
	char dir[64];
	char path[128];
};

static void tmp_init(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/vxmesh-keyring-XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/keyring.json", t->dir);
}

static void tmp_fini(struct tmp *t)
{
	char tmp[160];

	snprintf(tmp, sizeof(tmp), "%s.tmp", t->path);
	unlink(tmp);
	unlink(t->path);
	cr_expect_eq(rmdir(t->dir), 0, "%s left files behind", t->dir);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	cr_assert_eq(fchmod(fd, mode), 0); /* past the umask */
	close(fd);
}

static mode_t file_mode(const char *path)
{
	struct stat sb;

	cr_assert_eq(stat(path, &sb), 0, "%s", path);
	return sb.st_mode & 07777;
}

Test(keyring_file, save_then_load_gives_the_same_keys_in_order)
{
	struct gw_keyring kr = {.n = 3}, back = {0};
	struct tmp t;
	json_t *arr;

	tmp_init(&t);
	for (unsigned i = 0; i < kr.n; i++)
		key_seq(kr.keys[i], (uint8_t)(i * 40));
	cr_assert_eq(drv_keyring_save(&kr, t.path), 0);
	cr_expect_eq(file_mode(t.path), 0600);
	cr_assert_eq(drv_keyring_load(&back, t.path), 0);
	cr_expect_eq(back.n, 3);
	cr_expect_arr_eq(back.keys, kr.keys, 3 * GW_KEY_LEN);
	/* Serf's format: a JSON array of base64 keys, primary first. */
	arr = json_load_file(t.path, 0, NULL);
	cr_assert(json_is_array(arr));
	cr_expect_eq(json_array_size(arr), 3);
	cr_expect_str_eq(json_string_value(json_array_get(arr, 0)), KEY_B64);
	json_decref(arr);
	tmp_fini(&t);
}

Test(keyring_file, save_over_a_stale_0644_tmp_file_still_writes_0600)
{
	struct gw_keyring kr = {.n = 1};
	char tmpfile[160];
	struct tmp t;

	tmp_init(&t);
	key_seq(kr.keys[0], 0);
	snprintf(tmpfile, sizeof(tmpfile), "%s.tmp", t.path);
	write_file(tmpfile, "[\"stale\", \"and longer than the new file will be\"]", 0644);
	cr_assert_eq(drv_keyring_save(&kr, t.path), 0);
	cr_expect_eq(file_mode(t.path), 0600);
	cr_expect_neq(access(tmpfile, F_OK), 0, "the temp file is renamed away");
	tmp_fini(&t);
}

Test(keyring_file, save_replaces_an_existing_keyring)
{
	struct gw_keyring kr = {.n = 1}, back = {0};
	struct tmp t;

	tmp_init(&t);
	write_file(t.path, "[\"" KEY31_B64 "\"]", 0600);
	key_seq(kr.keys[0], 0);
	cr_assert_eq(drv_keyring_save(&kr, t.path), 0);
	cr_assert_eq(drv_keyring_load(&back, t.path), 0);
	cr_expect_eq(back.n, 1);
	cr_expect_arr_eq(back.keys[0], kr.keys[0], GW_KEY_LEN);
	tmp_fini(&t);
}

Test(keyring_file, missing_file_is_no_keys)
{
	struct gw_keyring kr = {0};
	struct tmp t;

	tmp_init(&t);
	cr_expect_eq(drv_keyring_load(&kr, t.path), 0);
	cr_expect_eq(kr.n, 0);
	tmp_fini(&t);
}

Test(keyring_file, load_refuses_a_file_others_can_read)
{
	static const struct {
		mode_t mode;
		int ret;
	} cases[] = {
		{0600, 0},	{0400, 0},	{0644, -EPERM}, {0640, -EPERM}, {0604, -EPERM},
		{0660, -EPERM}, {0606, -EPERM}, {0666, -EPERM}, {0601, -EPERM},
	};

	for (size_t i = 0; i < NCASES(cases); i++) {
		struct gw_keyring kr = {0};
		struct tmp t;

		tmp_init(&t);
		write_file(t.path, "[\"" KEY_B64 "\"]", cases[i].mode);
		cr_expect_eq(drv_keyring_load(&kr, t.path), cases[i].ret, "mode %03o",
			     (unsigned)cases[i].mode);
		cr_expect_eq(kr.n, cases[i].ret ? 0u : 1u, "mode %03o", (unsigned)cases[i].mode);
		tmp_fini(&t);
	}
}

static const struct {
	const char *text;
	int ret;
	unsigned n; /* keys installed */
} load_cases[] = {
	{"[]", 0, 0},
	{"[\"" KEY_B64 "\"]", 0, 1},
	{"[\"" KEY_B64 "\", \"" KEY_B64 "\"]", 0, 1}, /* a duplicate is installed once */
	{"", -EINVAL, 0},
	{"[", -EINVAL, 0},
	{"{}", -EINVAL, 0},
	{"{\"keys\": [\"" KEY_B64 "\"]}", -EINVAL, 0},
	{"\"" KEY_B64 "\"", -EINVAL, 0},
	{"null", -EINVAL, 0},
	{"[1]", -EINVAL, 0},
	{"[null]", -EINVAL, 0},
	{"[\"not base64!\"]", -EINVAL, 0},
	{"[\"\"]", -EINVAL, 0},
	{"[\"" KEY31_B64 "\"]", -EINVAL, 0},
	{"[\"" KEY33_B64 "\"]", -EINVAL, 0},
	{"[\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\"]", -EINVAL, 0}, /* no padding */
	{"[\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\\n\"]", -EINVAL, 0},
	{"[\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\", 7]", -EINVAL, 1},
};

Test(keyring_file, load_refuses_what_is_not_an_array_of_32_byte_keys)
{
	for (size_t i = 0; i < NCASES(load_cases); i++) {
		struct gw_keyring kr = {0};
		struct tmp t;

		tmp_init(&t);
		write_file(t.path, load_cases[i].text, 0600);
		cr_expect_eq(drv_keyring_load(&kr, t.path), load_cases[i].ret, "case %zu: %s", i,
			     load_cases[i].text);
		cr_expect_eq(kr.n, load_cases[i].n, "case %zu: %u keys", i, kr.n);
		tmp_fini(&t);
	}
}

Test(keyring_file, load_beyond_the_keyring_size_is_enospc)
{
	struct gw_keyring kr = {.n = GW_KEYRING_MAX}, back = {0};
	struct tmp t;

	tmp_init(&t);
	for (unsigned i = 0; i < kr.n; i++)
		key_seq(kr.keys[i], (uint8_t)(i + 1));
	cr_assert_eq(drv_keyring_save(&kr, t.path), 0);
	back.n = 1;
	key_seq(back.keys[0], 200);
	cr_expect_eq(drv_keyring_load(&back, t.path), -ENOSPC);
	cr_expect_eq(back.n, GW_KEYRING_MAX);
	tmp_fini(&t);
}

/* ---- keys ---- */

Test(keyring_key, fingerprint_is_sha256_prefix_in_hex)
{
	uint8_t key[GW_KEY_LEN];
	char fp[DRV_FINGERPRINT_LEN];

	key_seq(key, 0);
	drv_key_fingerprint(key, fp);
	cr_expect_str_eq(fp, KEY_FP);
	memset(key, 0x5c, sizeof(key));
	drv_key_fingerprint(key, fp);
	cr_expect_str_eq(fp, "sha256:3ef9448397ae2f99");
}

Test(keyring_key, from_b64_takes_exactly_32_padded_bytes)
{
	static const struct {
		const char *b64;
		int ret;
	} cases[] = {
		{KEY_B64, 0},
		{KEY31_B64, -EINVAL},
		{KEY33_B64, -EINVAL},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", -EINVAL},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=x", -EINVAL},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-_", -EINVAL},
		{"", -EINVAL},
	};

	for (size_t i = 0; i < NCASES(cases); i++) {
		uint8_t key[GW_KEY_LEN], want[GW_KEY_LEN];

		cr_expect_eq(drv_key_from_b64(cases[i].b64, key), cases[i].ret, "%s", cases[i].b64);
		key_seq(want, 0);
		if (!cases[i].ret)
			cr_expect_arr_eq(key, want, GW_KEY_LEN);
	}
}

/* ---- join tokens ---- */

/* {"seeds":["192.0.2.1:7946"],"key":null} and the same with KEY_B64. */
#define TOKEN_NOKEY "vxm1.eyJzZWVkcyI6WyIxOTIuMC4yLjE6Nzk0NiJdLCJrZXkiOm51bGx9"
#define TOKEN_KEY                                                                                  \
	"vxm1."                                                                                    \
	"eyJzZWVkcyI6WyIxOTIuMC4yLjE6Nzk0NiJdLCJrZXkiOiJBQUVDQXdRRkJnY0lDUW9MREEwT0R4QVJFaE1V"     \
	"RlJZWEdCa2FHeHdkSGg4PSJ9"

static void expect_no_key(const struct drv_token *t, const char *what)
{
	static const uint8_t zero[GW_KEY_LEN];

	cr_expect_eq(t->has_key, 0, "%s: has_key", what);
	cr_expect_arr_eq(t->key, zero, GW_KEY_LEN, "%s: key bytes left", what);
	cr_expect_eq(t->nseeds, 0, "%s: %zu seeds", what, t->nseeds);
}

Test(keyring_token, encode_is_prefix_and_base64url_of_compact_json)
{
	uint8_t key[GW_KEY_LEN];
	char *tok;

	tok = drv_token_encode("192.0.2.1:7946", NULL);
	cr_assert_not_null(tok);
	cr_expect_str_eq(tok, TOKEN_NOKEY);
	free(tok);
	key_seq(key, 0);
	tok = drv_token_encode("192.0.2.1:7946", key);
	cr_assert_not_null(tok);
	cr_expect_str_eq(tok, TOKEN_KEY);
	free(tok);
}

Test(keyring_token, encode_then_decode_gives_seed_and_key)
{
	static const char *seeds[] = {
		"192.0.2.1:7946", "192.0.2.1", "node.example:1",
		"012345678901234567890123456789012345678901234567890123456789012"};

	for (size_t i = 0; i < NCASES(seeds); i++) {
		for (int with_key = 0; with_key < 2; with_key++) {
			uint8_t key[GW_KEY_LEN], zero[GW_KEY_LEN] = {0};
			struct drv_token t;
			char *tok;

			key_seq(key, (uint8_t)(i + 1));
			tok = drv_token_encode(seeds[i], with_key ? key : NULL);
			cr_assert_not_null(tok);
			cr_expect_eq(strncmp(tok, DRV_TOKEN_PREFIX, strlen(DRV_TOKEN_PREFIX)), 0);
			cr_assert_eq(drv_token_decode(tok, &t), 0, "%s", tok);
			cr_expect_eq(t.nseeds, 1);
			cr_expect_str_eq(t.seeds[0], seeds[i]);
			cr_expect_eq(t.has_key, with_key);
			cr_expect_arr_eq(t.key, with_key ? key : zero, GW_KEY_LEN);
			sodium_memzero(tok, strlen(tok));
			free(tok);
		}
	}
}

Test(keyring_token, fixed_tokens_decode)
{
	uint8_t key[GW_KEY_LEN];
	struct drv_token t;

	cr_assert_eq(drv_token_decode(TOKEN_KEY, &t), 0);
	key_seq(key, 0);
	cr_expect_eq(t.has_key, 1);
	cr_expect_arr_eq(t.key, key, GW_KEY_LEN);
	cr_expect_str_eq(t.seeds[0], "192.0.2.1:7946");
	cr_assert_eq(drv_token_decode(TOKEN_NOKEY, &t), 0);
	cr_expect_eq(t.has_key, 0);
}

/* Tokens whose prefix or base64url is wrong. */
static const char *const bad_tokens[] = {
	"",
	"vxm1.",
	"vxm1",
	"vxm2.eyJzZWVkcyI6WyIxOTIuMC4yLjE6Nzk0NiJdLCJrZXkiOm51bGx9",
	"VXM1.eyJzZWVkcyI6WyIxOTIuMC4yLjE6Nzk0NiJdLCJrZXkiOm51bGx9",
	"eyJzZWVkcyI6WyIxOTIuMC4yLjE6Nzk0NiJdLCJrZXkiOm51bGx9",
	" vxm1.eyJzZWVkcyI6WyIxOTIuMC4yLjE6Nzk0NiJdLCJrZXkiOm51bGx9",
	TOKEN_NOKEY " ",
	TOKEN_NOKEY "\n",
	TOKEN_NOKEY "=",
	TOKEN_NOKEY ".",
	"vxm1.eyJzZWVkcyI6WyIxOTIuMC4yLjE6Nzk0NiJdLCJrZXkiOm51bGx9@",
	"vxm1.eyJzZWVkcyI6WyIxOTIuMC4yLjE6Nzk0NiJdLCJrZXkiOm51bGx+",
	"vxm1.eyJzZWVkcyI6WyIxOTIuMC4yLjE6Nzk0NiJdLCJrZXkiOm51bGx/",
	"vxm1.e",
};

Test(keyring_token, decode_refuses_a_wrong_prefix_or_encoding)
{
	for (size_t i = 0; i < NCASES(bad_tokens); i++) {
		struct drv_token t;

		memset(&t, 0xaa, sizeof(t));
		cr_expect_eq(drv_token_decode(bad_tokens[i], &t), -EINVAL, "'%s'", bad_tokens[i]);
		expect_no_key(&t, bad_tokens[i]);
	}
}

static char *token_of(const char *json)
{
	size_t plen = strlen(DRV_TOKEN_PREFIX),
	       n = plen + sodium_base64_ENCODED_LEN(strlen(json),
						    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *tok = malloc(n);

	cr_assert_not_null(tok);
	memcpy(tok, DRV_TOKEN_PREFIX, plen);
	sodium_bin2base64(tok + plen, n - plen, (const unsigned char *)json, strlen(json),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return tok;
}

/* {"seeds": n seeds of len characters, "key": key}, malloc()ed. */
static char *seeds_json(size_t n, size_t len, const char *key)
{
	size_t cap = 32 + strlen(key) + n * (len + 3);
	char *s = malloc(cap), *p = s;

	cr_assert_not_null(s);
	p += sprintf(p, "{\"seeds\":[");
	for (size_t i = 0; i < n; i++) {
		p += sprintf(p, "%s\"", i ? "," : "");
		memset(p, 'a' + (char)(i % 26), len);
		p += len;
		*p++ = '"';
	}
	p += sprintf(p, "],\"key\":%s}", key);
	cr_assert_lt((size_t)(p - s), cap);
	return s;
}

struct json_case {
	const char *what;
	const char *json; /* NULL: seeds_json(nseeds, seedlen, key) */
	size_t nseeds, seedlen;
	const char *key;
	int ret;
};

static const struct json_case json_cases[] = {
	{"valid", "{\"seeds\":[\"192.0.2.1:7946\"],\"key\":\"" KEY_B64 "\"}", 0, 0, NULL, 0},
	{"no seeds", "{\"seeds\":[],\"key\":null}", 0, 0, NULL, 0},
	{"64 seeds", NULL, DRV_TOKEN_SEEDS_MAX, 8, "\"" KEY_B64 "\"", 0},
	{"a seed of 63 bytes", NULL, 1, 63, "\"" KEY_B64 "\"", 0},
	{"fields in the other order", "{\"key\":null,\"seeds\":[\"a\"]}", 0, 0, NULL, 0},
	{"an unknown field", "{\"seeds\":[\"a\"],\"key\":null,\"v\":2}", 0, 0, NULL, 0},
	/* refused */
	{"not JSON", "{\"seeds\":", 0, 0, NULL, -EINVAL},
	{"JSON with trailing bytes", "{\"seeds\":[],\"key\":null}x", 0, 0, NULL, -EINVAL},
	{"an array", "[\"192.0.2.1:7946\"]", 0, 0, NULL, -EINVAL},
	{"a string", "\"192.0.2.1:7946\"", 0, 0, NULL, -EINVAL},
	{"null", "null", 0, 0, NULL, -EINVAL},
	{"seeds missing", "{\"key\":\"" KEY_B64 "\"}", 0, 0, NULL, -EINVAL},
	{"key missing", "{\"seeds\":[\"a\"]}", 0, 0, NULL, -EINVAL},
	{"seeds a string", "{\"seeds\":\"a\",\"key\":\"" KEY_B64 "\"}", 0, 0, NULL, -EINVAL},
	{"seeds an object", "{\"seeds\":{\"a\":1},\"key\":null}", 0, 0, NULL, -EINVAL},
	{"a seed not a string", "{\"seeds\":[\"a\",7],\"key\":\"" KEY_B64 "\"}", 0, 0, NULL,
	 -EINVAL},
	{"65 seeds", NULL, DRV_TOKEN_SEEDS_MAX + 1, 8, "\"" KEY_B64 "\"", -EINVAL},
	{"a seed of 64 bytes", NULL, 1, 64, "\"" KEY_B64 "\"", -EINVAL},
	{"duplicate seeds", "{\"seeds\":[],\"seeds\":[],\"key\":null}", 0, 0, NULL, -EINVAL},
	{"key not base64", "{\"seeds\":[\"a\"],\"key\":\"not base64!\"}", 0, 0, NULL, -EINVAL},
	{"key of 31 bytes", "{\"seeds\":[\"a\"],\"key\":\"" KEY31_B64 "\"}", 0, 0, NULL, -EINVAL},
	{"key of 33 bytes", "{\"seeds\":[\"a\"],\"key\":\"" KEY33_B64 "\"}", 0, 0, NULL, -EINVAL},
	{"key empty", "{\"seeds\":[\"a\"],\"key\":\"\"}", 0, 0, NULL, -EINVAL},
	{"key a number", "{\"seeds\":[\"a\"],\"key\":7}", 0, 0, NULL, -EINVAL},
	{"key false", "{\"seeds\":[\"a\"],\"key\":false}", 0, 0, NULL, -EINVAL},
	{"key an array of bytes", "{\"seeds\":[\"a\"],\"key\":[0,1,2]}", 0, 0, NULL, -EINVAL},
};

Test(keyring_token, decode_refuses_bad_fields_and_leaves_no_key)
{
	for (size_t i = 0; i < NCASES(json_cases); i++) {
		const struct json_case *c = &json_cases[i];
		char *json = c->json ? strdup(c->json) : seeds_json(c->nseeds, c->seedlen, c->key);
		char *tok = token_of(json);
		struct drv_token t;
		int ret;

		memset(&t, 0xaa, sizeof(t));
		ret = drv_token_decode(tok, &t);
		cr_expect_eq(ret, c->ret, "%s: %d", c->what, ret);
		if (ret)
			expect_no_key(&t, c->what);
		else if (!c->json)
			cr_expect_eq(t.nseeds, c->nseeds, "%s: %zu seeds", c->what, t.nseeds);
		free(tok);
		free(json);
	}
}
