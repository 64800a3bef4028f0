// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the TCP stream reader of gossip/wire.h (stream.c).
 * Byte 0 picks the mode, byte 1 seeds the chunk sizes; the rest is:
 *   mode 0: a raw plaintext stream;
 *   mode 1: a raw stream read with a keyring (mostly refused or failing GCM);
 *   mode 2: a message framed by gw_stream_frame without keys (compressed);
 *   mode 3: a message framed with the keyring (compressed, then encrypted).
 * The stream is fed in random chunk sizes; every complete message is checked
 * for the invariants the header promises, then reading continues.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_msg(const struct gw_stream_msg *m)
{
	volatile uint8_t sink = 0;

	switch (m->kind) {
	case GW_STREAM_PUSHPULL:
		assert(m->pp.n <= 65536);
		assert(!m->pp.n || m->pp.nodes);
		for (size_t i = 0; i < m->pp.n; i++) {
			assert(m->pp.nodes[i].meta_len <= GW_META_MAX);
			assert(memchr(m->pp.nodes[i].name, 0, GW_NAME_MAX));
			assert((unsigned)m->pp.nodes[i].state <= GW_STATE_LEFT);
		}
		assert(m->pp.user_state_len <= GW_STREAM_MAX);
		for (size_t i = 0; i < m->pp.user_state_len; i++)
			sink ^= m->pp.user_state[i];
		break;
	case GW_STREAM_USER:
		for (size_t i = 0; i < m->msg.u.user.len; i++)
			sink ^= m->msg.u.user.data[i];
		break;
	case GW_STREAM_ACK:
		for (size_t i = 0; i < m->msg.u.ack.payload_len; i++)
			sink ^= m->msg.u.ack.payload[i];
		break;
	case GW_STREAM_PING:
	case GW_STREAM_ERR:
		break;
	default:
		assert(0);
	}
	(void)sink;
}

static void feed(const struct gw_keyring *kr, const uint8_t *p, size_t n, uint32_t seed)
{
	struct gw_stream *s;
	struct gw_stream_msg m;
	const char *e;
	size_t off = 0;
	int r;

	if (gw_stream_create(&s, kr))
		abort();
	while (off < n) {
		size_t chunk;

		seed = seed * 1103515245u + 12345u;
		chunk = 1 + (seed >> 16) % ((seed >> 8 & 1) ? 4 : 512);
		if (chunk > n - off)
			chunk = n - off;
		r = gw_stream_feed(s, p + off, chunk, &m, &e);
		off += chunk;
		/* drain messages that were already complete */
		for (int k = 0; r == 1 && k < 1 << 16; k++) {
			check_msg(&m);
			r = gw_stream_feed(s, NULL, 0, &m, &e);
		}
		assert(r == 0 || r == -EBADMSG || r == -E2BIG || r == -EKEYREJECTED ||
		       r == -EAFNOSUPPORT);
		if (r < 0) {
			assert(e);
			break;
		}
	}
	gw_stream_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct gw_keyring kr = {.n = 1};
	uint8_t *fr;
	size_t frlen;
	int mode;

	if (!init) {
		if (gw_crypto_init())
			abort();
		init = 1;
	}
	if (size < 3 || size > (1u << 20))
		return 0;
	memset(kr.keys[0], 0xa7, GW_KEY_LEN);
	mode = data[0] & 3;
	switch (mode) {
	case 0:
		feed(NULL, data + 2, size - 2, data[1]);
		break;
	case 1:
		feed(&kr, data + 2, size - 2, data[1]);
		break;
	case 2:
	case 3:
		if (gw_stream_frame(mode == 3 ? &kr : NULL, data + 2, size - 2, &fr, &frlen))
			abort();
		feed(mode == 3 ? &kr : NULL, fr, frlen, data[1]);
		free(fr);
		break;
	}
	gw_keyring_wipe(&kr);
	return 0;
}
