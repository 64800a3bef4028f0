// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the decoders of driver/values.c and the join token
 * decoder of driver/keyring.c: what peers gossip and users paste.  The
 * first byte picks the decoder, the rest is its input:
 *   0: node meta (tags kept); a vxmesh peer's meta re-encodes and decodes
 *      to the same id and vtep;
 *   1: a network entry, key up to the first NUL, value after it; an
 *      accepted record re-encodes to a fixed point;
 *   2: an endpoint entry, split the same way; likewise;
 *   3: a Serf push/pull state; every table handed on survives a re-encode;
 *   4: a join token; an accepted one with one seed re-encodes to the same,
 *      a refused one leaves no key behind;
 *   5: a base64 key.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver/keyring.h"
#include "driver/values.h"
#include "gossip/wire.h"
#include "tests/fuzz/harness.h"

#define DECODERS 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void meta(const uint8_t *p, size_t n)
{
	struct drv_peer_info pi, pi2;
	uint8_t out[GW_META_MAX];
	size_t len;

	drv_meta_decode(p, n, &pi, 1);
	assert(pi.tags);
	json_decref(pi.tags);
	/* A vtep without a port is kept as port 0, which the encoder cannot
	 * write (":0" is refused); peers' ports are only shown. */
	if (!pi.vxmesh || !pi.vtep_port)
		return;
	assert(drv_meta_encode(pi.id, pi.vtep, pi.vtep_port, pi.enc_port, pi.enc_session, out,
			       &len) == 0);
	drv_meta_decode(out, len, &pi2, 0);
	assert(pi2.vxmesh && !strcmp(pi2.id, pi.id) && pi2.vtep.s_addr == pi.vtep.s_addr &&
	       pi2.vtep_port == pi.vtep_port);
}

/* key\0value into e; 0 when the input has no NUL or too long a key. */
static int split_entry(const uint8_t *p, size_t n, struct gt_entry *e)
{
	const uint8_t *nul = memchr(p, '\0', n);

	memset(e, 0, sizeof(*e));
	if (!nul || (size_t)(nul - p) >= sizeof(e->key))
		return 0;
	memcpy(e->key, p, (size_t)(nul - p));
	e->value = nul + 1;
	e->value_len = n - (size_t)(nul - p) - 1;
	return 1;
}

static void net_value(const uint8_t *p, size_t n)
{
	struct drv_net_rec r, r2;
	struct gt_entry e;
	uint8_t *v, *v2;
	size_t len, len2;
	int ret;

	if (!split_entry(p, n, &e))
		return;
	ret = drv_net_parse(&e, &r);
	assert(ret == 0 || ret == -EINVAL);
	if (ret)
		return;
	v = drv_net_value(&r, &len);
	assert(v);
	e.value = v;
	e.value_len = len;
	assert(drv_net_parse(&e, &r2) == 0);
	assert(!strcmp(r2.name, r.name) && r2.vni == r.vni &&
	       r2.subnet.addr.s_addr == r.subnet.addr.s_addr && r2.subnet.len == r.subnet.len &&
	       r2.gw.s_addr == r.gw.s_addr && r2.mtu == r.mtu && r2.port == r.port &&
	       !strcmp(r2.ring, r.ring));
	v2 = drv_net_value(&r2, &len2);
	assert(v2 && len2 == len && !memcmp(v, v2, len));
	free(v);
	free(v2);
}

static void ep_value(const uint8_t *p, size_t n)
{
	struct drv_ep_val v, v2;
	struct drv_ep_rec r = {0};
	struct gt_entry e;
	uint8_t *val;
	size_t len;
	int ret;

	if (!split_entry(p, n, &e))
		return;
	ret = drv_ep_parse(&e, &v);
	assert(ret == 0 || ret == -EINVAL);
	if (ret)
		return;
	memcpy(r.net, v.net, sizeof(r.net));
	r.ip = v.ip;
	memcpy(r.mac, v.mac, sizeof(r.mac));
	val = drv_ep_value(&r, v.vtep, v.vtep_port, "host", &len);
	assert(val);
	e.value = val;
	e.value_len = len;
	assert(drv_ep_parse(&e, &v2) == 0);
	assert(!strcmp(v2.net, v.net) && v2.ip.s_addr == v.ip.s_addr &&
	       !memcmp(v2.mac, v.mac, sizeof(v.mac)) && v2.vtep.s_addr == v.vtep.s_addr &&
	       v2.vtep_port == v.vtep_port);
	free(val);
}

/* The table a re-encoded state must hand back, once. */
struct again {
	const uint8_t *tab;
	size_t len;
	int calls;
};

static void again_cb(void *arg, const uint8_t *tab, size_t tlen)
{
	struct again *a = arg;

	assert(tlen == a->len && !memcmp(tab, a->tab, tlen));
	a->calls++;
}

static void table_cb(void *arg, const uint8_t *tab, size_t tlen)
{
	struct again a = {tab, tlen, 0};
	uint8_t *buf;
	size_t len;

	assert(drv_pushpull_encode(tab, tlen, &buf, &len) == 0);
	assert(drv_pushpull_decode(buf, len, again_cb, &a) == 0 && a.calls == 1);
	free(buf);
}

static void pushpull(const uint8_t *p, size_t n)
{
	int ret = drv_pushpull_decode(p, n, table_cb, NULL);

	assert(ret >= 0 || ret == -EBADMSG);
}

static void token(const uint8_t *p, size_t n)
{
	static const struct drv_token zero;
	struct drv_token t, t2;
	char *s = malloc(n + 1), *tok;
	int ret;

	assert(s);
	memcpy(s, p, n);
	s[n] = '\0';
	ret = drv_token_decode(s, &t);
	assert(ret == 0 || ret == -EINVAL);
	if (ret) {
		assert(!memcmp(&t, &zero, sizeof(t)));
	} else if (t.nseeds == 1) {
		assert(t.has_key == 0 || t.has_key == 1);
		tok = drv_token_encode(t.seeds[0], t.has_key ? t.key : NULL);
		assert(tok);
		assert(drv_token_decode(tok, &t2) == 0);
		assert(t2.nseeds == 1 && !strcmp(t2.seeds[0], t.seeds[0]) &&
		       t2.has_key == t.has_key && !memcmp(t2.key, t.key, sizeof(t.key)));
		free(tok);
	}
	assert(t.nseeds <= DRV_TOKEN_SEEDS_MAX);
	free(s);
}

static void key_b64(const uint8_t *p, size_t n)
{
	uint8_t key[GW_KEY_LEN];
	char *s = malloc(n + 1);
	int ret;

	assert(s);
	memcpy(s, p, n);
	s[n] = '\0';
	ret = drv_key_from_b64(s, key);
	assert(ret == 0 || ret == -EINVAL);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const decoders[DECODERS])(const uint8_t *, size_t) = {
		meta, net_value, ep_value, pushpull, token, key_b64,
	};
	uint8_t *in;

	if (size < 1 || size > (1 << 16))
		return 0;
	in = fz_copy(data + 1, size - 1);
	decoders[data[0] % DECODERS](in, size - 1);
	free(in);
	return 0;
}
