// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for vxlan/enc_seg.c: a frame as the TAP hands it over
 * (virtio header, Ethernet frame: a container's bytes) through
 * enc_seg_split(), its segments through enc_gro_add/flush as a peer's
 * decrypted frames, and the input frame itself through GRO.
 *
 * Input: 14 bytes, then the frame.
 *   0      virtio flags
 *   1      gso_type: < 0x80 picks one of the known types, else itself
 *   2..9   gso_size, csum_start, csum_offset, hdr_len (little endian)
 *   10     bits 0-5: max segments - 1; bit 6: headroom/tailroom 0 or 24/16;
 *          bit 7: a small GRO buffer (3000 bytes) instead of 65600
 *   11..13 if 11 is not 0: segment 11 % 8 gets byte 12 xor-ed with 13 (an
 *          offset into its first 64 bytes) before GRO
 *
 * Checks: every buffer is allocated to its exact size (ASan sees a read or
 * write one past it); the segments lie in the stride layout; a segment
 * marked ENC_F_CSUM_PARTIAL is one the receiver locates (NEEDS_CSUM);
 * every GRO output has a virtio header the TAP accepts; and unedited
 * segments come out of GRO as they went in: each packet emitted alone is
 * a segment byte for byte, each merged one splits back into the segments
 * it took.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/harness.h"
#include "vxlan/enc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR	 14
#define OUT_CAP	 (256 * 1024)
#define MAX_SEGS 64
#define RESPLIT	 (128 * 1024)

static const uint8_t gso_types[] = {
	ENC_VNET_GSO_NONE,
	ENC_VNET_GSO_TCPV4,
	ENC_VNET_GSO_TCPV6,
	ENC_VNET_GSO_UDP_L4,
	ENC_VNET_GSO_TCPV4 | ENC_VNET_GSO_ECN,
	ENC_VNET_GSO_TCPV6 | ENC_VNET_GSO_ECN,
};

/* What the GRO callbacks compare against. */
struct run {
	const uint8_t *out;
	const struct enc_seg *segs;
	int n;
	int next;		   /* the first segment not yet accounted for */
	int exact;		   /* segments unedited: outputs must round-trip */
	size_t cap;		   /* GRO buffer */
	const struct enc_vnet *vh; /* the split's input, for the cap-0 check */
};

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* A virtio header the TAP would take, over readable bytes. */
static void check_emitted(const struct enc_vnet *vh, const uint8_t *f, size_t len, size_t cap)
{
	(void)enc_csum_add(0, f, len); /* reads every byte */
	/* shorter than Ethernet only from the raw path: the datapath's
	 * enc_hdr_get() never lets one through */
	assert(len >= ENC_FRAME_MIN || vh->flags == ENC_VNET_F_DATA_VALID);
	assert(vh->flags == ENC_VNET_F_NEEDS_CSUM || vh->flags == ENC_VNET_F_DATA_VALID);
	if (vh->flags == ENC_VNET_F_NEEDS_CSUM) {
		assert(vh->csum_offset == 16 || vh->csum_offset == 6);
		assert((size_t)vh->csum_start + vh->csum_offset + 2 <= len);
		assert(vh->hdr_len <= len && vh->hdr_len > vh->csum_start);
	} else {
		assert(!vh->csum_start && !vh->csum_offset && !vh->hdr_len);
	}
	if (vh->gso_type == ENC_VNET_GSO_NONE) {
		assert(!vh->gso_size);
		return;
	}
	assert(vh->gso_type == ENC_VNET_GSO_TCPV4 || vh->gso_type == ENC_VNET_GSO_TCPV6);
	assert(vh->flags == ENC_VNET_F_NEEDS_CSUM && vh->csum_offset == 16);
	assert(vh->gso_size > 0 && len - vh->hdr_len > vh->gso_size && len <= cap);
	if (vh->gso_type == ENC_VNET_GSO_TCPV4)
		assert((size_t)(f[16] << 8 | f[17]) == len - 14);
	else
		assert((size_t)(f[18] << 8 | f[19]) == len - 54);
}

static void split_emit_cb(void *arg, const struct enc_vnet *vh, const uint8_t *f, size_t len)
{
	static uint8_t again[RESPLIT];
	struct run *r = arg;
	struct enc_seg segs[MAX_SEGS];
	size_t stride;
	int k;

	check_emitted(vh, f, len, r->cap);
	assert(r->next < r->n);
	if (!r->exact) {
		/* a merged packet took segments of gso_size, the last maybe shorter */
		r->next += vh->gso_type ? (int)((len - vh->hdr_len - 1) / vh->gso_size + 1) : 1;
		return;
	}
	if (vh->gso_type == ENC_VNET_GSO_NONE) {
		const struct enc_seg *s = &r->segs[r->next++];

		assert(len == s->len && !memcmp(f, r->out + s->off, len));
		assert(vh->flags == ((s->flags & ENC_F_CSUM_PARTIAL) ? ENC_VNET_F_NEEDS_CSUM
								     : ENC_VNET_F_DATA_VALID));
		return;
	}
	k = enc_seg_split(vh, f, len, again, sizeof(again), 0, 0, segs, MAX_SEGS, &stride);
	assert(k >= 2 && r->next + k <= r->n);
	for (int i = 0; i < k; i++) {
		const struct enc_seg *s = &r->segs[r->next + i];

		assert(segs[i].len == s->len && segs[i].flags == ENC_F_CSUM_PARTIAL);
		assert(!memcmp(again + segs[i].off, r->out + s->off, s->len));
	}
	r->next += k;
}

/* A GRO with no buffer emits every frame at once: the receiver's view. */
static void alone_emit_cb(void *arg, const struct enc_vnet *vh, const uint8_t *f, size_t len)
{
	struct run *r = arg;
	const struct enc_seg *s = &r->segs[r->next++];

	check_emitted(vh, f, len, 0);
	assert(vh->gso_type == ENC_VNET_GSO_NONE);
	if (!r->exact || !(s->flags & ENC_F_CSUM_PARTIAL))
		return;
	/* a segment sent for the far end to finish is one it can finish */
	assert(vh->flags == ENC_VNET_F_NEEDS_CSUM);
	if (r->vh->gso_type == ENC_VNET_GSO_NONE)
		assert(vh->csum_start == r->vh->csum_start &&
		       vh->csum_offset == r->vh->csum_offset);
}

static void raw_emit_cb(void *arg, const struct enc_vnet *vh, const uint8_t *f, size_t len)
{
	check_emitted(vh, f, len, *(size_t *)arg);
}

static void check_layout(const struct enc_seg *segs, int n, size_t stride, size_t headroom,
			 size_t tailroom, size_t cap)
{
	assert(n >= 1 && n <= MAX_SEGS);
	for (int i = 0; i < n; i++) {
		assert(segs[i].off == (size_t)i * stride + headroom);
		assert(segs[i].len >= ENC_FRAME_MIN);
		assert(segs[i].len + headroom + tailroom <= stride);
		assert(segs[i].off + segs[i].len + tailroom <= cap);
		assert(!(segs[i].flags & ~ENC_F_ALL));
		/* all of one size but the last */
		if (i + 1 < n)
			assert(segs[i].len == segs[0].len);
		else
			assert(segs[i].len <= segs[0].len);
	}
	assert(segs[0].len + headroom + tailroom == stride);
}

static void gro_segments(struct run *r, uint8_t *gbuf, size_t gcap)
{
	struct enc_gro g;

	r->cap = gcap;
	r->next = 0;
	enc_gro_init(&g, gbuf, gcap, split_emit_cb, r);
	for (int i = 0; i < r->n; i++)
		enc_gro_add(&g, r->out + r->segs[i].off, r->segs[i].len, r->segs[i].flags);
	enc_gro_flush(&g);
	assert(r->next == r->n);
	assert(g.merged + g.single == (unsigned long long)r->n);

	r->next = 0;
	enc_gro_init(&g, NULL, 0, alone_emit_cb, r);
	for (int i = 0; i < r->n; i++)
		enc_gro_add(&g, r->out + r->segs[i].off, r->segs[i].len, r->segs[i].flags);
	enc_gro_flush(&g);
	assert(r->next == r->n && g.single == (unsigned long long)r->n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enc_seg segs[MAX_SEGS];
	struct enc_vnet vh;
	struct enc_gro g;
	size_t len, stride, headroom, tailroom, max, gcap;
	uint8_t *frame, *out, *gbuf;
	int n;

	if (size < HDR)
		return 0;
	vh.flags = data[0];
	vh.gso_type = data[1] < 0x80 ? gso_types[data[1] % sizeof(gso_types)] : data[1];
	vh.gso_size = le16(data + 2);
	vh.csum_start = le16(data + 4);
	vh.csum_offset = le16(data + 6);
	vh.hdr_len = le16(data + 8);
	max = (data[10] & 63) + 1u;
	headroom = data[10] & 64 ? ENC_HDR_LEN : 0;
	tailroom = data[10] & 64 ? ENC_TAG_LEN : 0;
	gcap = data[10] & 128 ? 3000 : 65600;
	len = size - HDR;
	frame = fz_copy(data + HDR, len);
	out = malloc(OUT_CAP);
	gbuf = malloc(gcap);
	assert(out && gbuf);

	n = enc_seg_split(&vh, frame, len, out, OUT_CAP, headroom, tailroom, segs, max, &stride);
	assert(n >= 1 || n == -EINVAL || n == -ENOSPC);
	if (n >= 1) {
		struct run r = {.out = out, .segs = segs, .n = n, .exact = 1, .vh = &vh};

		check_layout(segs, n, stride, headroom, tailroom, OUT_CAP);
		if (data[11]) {
			const struct enc_seg *s = &segs[data[11] % 8 % n];

			out[s->off + data[12] % 64 % s->len] ^= data[13];
			r.exact = !data[13];
		}
		gro_segments(&r, gbuf, gcap);
	} else {
		assert(stride == 0);
	}

	/* the frame itself as a decrypted one, twice, either flag */
	enc_gro_init(&g, gbuf, gcap, raw_emit_cb, &gcap);
	enc_gro_add(&g, frame, len, data[0] & ENC_F_CSUM_PARTIAL);
	enc_gro_add(&g, frame, len, ENC_F_CSUM_PARTIAL);
	enc_gro_flush(&g);
	assert(g.merged + g.single == 2);

	free(gbuf);
	free(out);
	free(frame);
	return 0;
}
