// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the UDP side of gossip/wire.h (wire.c, lzw.c,
 * crypt.c).  The first byte picks the path:
 *   0: walk the rest as a decrypted packet;
 *   1: decrypt the rest with a fixed test key, then walk;
 *   2: encrypt the rest with that key, decrypt it again (must round-trip), walk;
 *   3: LZW-encode the rest and decode it again (must round-trip).
 * Every leaf is decoded; a decoded message that re-encodes must re-encode to
 * a fixed point (encode(decode(y)) == y).
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_keyring test_kr(void)
{
	struct gw_keyring kr = {.n = 1};

	memset(kr.keys[0], 0x5c, GW_KEY_LEN);
	return kr;
}

static void leaf_cb(void *arg, const uint8_t *msg, size_t len)
{
	static uint8_t y[GW_UDP_MAX], y2[GW_UDP_MAX];
	struct gw_msg m, m2;
	size_t ylen, y2len;
	int r;

	(void)arg;
	assert(len > 0);
	r = gw_msg_decode(msg, len, &m);
	assert(r == 0 || r == -EBADMSG || r == -EPROTONOSUPPORT || r == -EAFNOSUPPORT);
	if (r)
		return;
	if (m.type == GW_USER && !m.u.user.len)
		return;
	if (gw_msg_encode(&m, y, sizeof(y), &ylen))
		return;
	r = gw_msg_decode(y, ylen, &m2);
	assert(r == 0);
	r = gw_msg_encode(&m2, y2, sizeof(y2), &y2len);
	assert(r == 0 && y2len == ylen && !memcmp(y, y2, ylen));
}

static void walk(const uint8_t *p, size_t n)
{
	int r = gw_packet_walk(p, n, leaf_cb, NULL);

	assert(r >= 0 || r == -EBADMSG || r == -E2BIG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ct[GW_UDP_MAX + GW_ENC_OVERHEAD], pt[GW_UDP_MAX + GW_ENC_OVERHEAD];
	static int init;
	struct gw_keyring kr = test_kr();
	size_t clen, plen;
	uint8_t *z, *d;
	size_t zlen, dlen;
	int r;

	if (!init) {
		if (gw_crypto_init())
			abort();
		init = 1;
	}
	if (size < 1 || size > GW_UDP_MAX)
		return 0;
	switch (data[0] & 3) {
	case 0:
		walk(data + 1, size - 1);
		break;
	case 1:
		r = gw_decrypt_packet(&kr, data + 1, size - 1, pt, sizeof(pt), &plen);
		assert(r == 0 || r == -EBADMSG);
		if (!r)
			walk(pt, plen);
		break;
	case 2:
		if (size < 2)
			break;
		r = gw_encrypt_packet(&kr, data + 1, size - 1, ct, sizeof(ct), &clen);
		assert(r == 0);
		r = gw_decrypt_packet(&kr, ct, clen, pt, sizeof(pt), &plen);
		assert(r == 0 && plen == size - 1 && !memcmp(pt, data + 1, plen));
		walk(pt, plen);
		break;
	case 3:
		r = gw_lzw_encode(data + 1, size - 1, &z, &zlen);
		assert(r == 0);
		r = gw_lzw_decode(z, zlen, size - 1, &d, &dlen);
		assert(r == 0 && dlen == size - 1 && !memcmp(d, data + 1, dlen));
		free(z);
		free(d);
		/* and the raw input as a code stream */
		r = gw_lzw_decode(data + 1, size - 1, 1 << 20, &d, &dlen);
		assert(r == 0 || r == -EBADMSG || r == -E2BIG);
		if (!r)
			free(d);
		break;
	}
	gw_keyring_wipe(&kr);
	return 0;
}
