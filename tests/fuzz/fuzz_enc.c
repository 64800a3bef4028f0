// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for vxlan/enc.c as a receiver meets it: the input is one
 * datagram.  enc_hdr_get; when it parses, the packet key of a fixed root
 * (gossip key 32 x 0x5c) for its VNI, session and epoch, the replay check,
 * enc_open in place on an exact-size copy, the commit on success (then
 * refused a second time, and sealing the frame again must give the input
 * back).  A parsed header's frame is also sealed and opened (round trip).
 * Last, the input's bytes, 3 an operation, drive a replay window against a
 * naive model: kind, then a 16-bit distance from the newest counter.
 */
#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/harness.h"
#include "vxlan/enc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DGRAM 65536
#define MAX_OPS	  512

static struct enc_root root;

static void receive(const uint8_t *data, size_t size, const struct enc_hdr *h)
{
	uint8_t key[ENC_KEY_LEN], *d;
	struct enc_aead_ctx *c;
	struct enc_replay w;
	int r;

	enc_key_derive(&root, h->vni, h->session, h->counter >> ENC_EPOCH_SHIFT, key);
	r = enc_aead_new(&c, (enum enc_aead)h->type, key);
	assert(r == 0);
	sodium_memzero(key, sizeof(key));
	enc_replay_init(&w);
	if (enc_replay_check(&w, h->counter)) {
		d = fz_copy(data, size);
		r = enc_open(c, h->counter, d, size);
		assert(r == 0 || r == -EBADMSG);
		if (!r) {
			assert(!memcmp(d, data, ENC_HDR_LEN));
			assert(enc_replay_commit(&w, h->counter) == 0);
			assert(!enc_replay_check(&w, h->counter));
			assert(enc_replay_commit(&w, h->counter) == -EALREADY);
			assert(enc_seal(c, h->counter, d, size - ENC_OVERHEAD) == 0);
			assert(!memcmp(d, data, size));
		}
		free(d);
	} else {
		assert(h->counter == UINT64_MAX);
	}
	/* the bytes after the header as a frame: seal, open, the same again */
	d = malloc(size + ENC_TAG_LEN);
	assert(d);
	memcpy(d, data, size);
	assert(enc_seal(c, h->counter, d, size - ENC_HDR_LEN) == 0);
	assert(enc_open(c, h->counter, d, size + ENC_TAG_LEN) == 0);
	assert(!memcmp(d, data, size));
	d[size - 1] ^= 1;
	assert(enc_open(c, h->counter, d, size + ENC_TAG_LEN) == -EBADMSG);
	free(d);
	enc_aead_free(c);
}

static int model_seen(const uint64_t *seen, size_t n, uint64_t c)
{
	for (size_t i = 0; i < n; i++)
		if (seen[i] == c)
			return 1;
	return 0;
}

static void replay_model(const uint8_t *p, size_t size)
{
	static struct enc_replay w;
	uint64_t seen[MAX_OPS], top = 0;
	size_t n = 0;
	int any = 0;

	enc_replay_init(&w);
	for (size_t i = 0; i + 3 <= size && i / 3 < MAX_OPS; i += 3) {
		uint8_t k = p[i];
		uint64_t v = (uint64_t)p[i + 1] << 8 | p[i + 2], c;
		int want;

		switch (k & 3) {
		case 0:
			c = top + v;
			break;
		case 1:
			c = top - v;
			break;
		case 2:
			c = top - ENC_REPLAY_WINDOW + 128 - (v & 0xff); /* around the edge */
			break;
		default:
			c = k >> 3 == 31 ? UINT64_MAX - (v & 3) : top + (v << 2 * (k >> 3));
		}
		want = c != UINT64_MAX && !model_seen(seen, n, c) &&
		       (!any || c > top || top - c <= ENC_REPLAY_WINDOW);
		assert(enc_replay_check(&w, c) == want);
		if (k & 4) /* only checked: its tag did not verify */
			continue;
		assert(enc_replay_commit(&w, c) == (want ? 0 : -EALREADY));
		if (want) {
			seen[n++] = c;
			if (!any || c > top)
				top = c;
			any = 1;
		}
		assert(!enc_replay_check(&w, c));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct enc_hdr h;

	if (!init) {
		uint8_t gossip[ENC_KEY_LEN];

		if (sodium_init() < 0)
			abort();
		memset(gossip, 0x5c, sizeof(gossip));
		enc_root_derive(gossip, &root);
		init = 1;
	}
	if (size > MAX_DGRAM)
		return 0;
	if (!enc_hdr_get(data, size, &h)) {
		assert(h.type == ENC_AES256GCM || h.type == ENC_CHACHA20POLY1305);
		assert(h.vni && h.vni <= 0xffffff && !(h.flags & ~ENC_F_ALL));
		receive(data, size, &h);
	}
	replay_model(data, size);
	return 0;
}
