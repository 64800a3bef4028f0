// SPDX-License-Identifier: MIT
/*
 * Unit tests for vxlan/enc_seg.c: the RFC 1071 helpers against a plain
 * reference; enc_seg_split() on real Ethernet/IP/TCP|UDP frames built here
 * (TSO4 of 64 KiB, TSO6, USO4/6, VLAN, IPv6 extension headers, GSO_NONE
 * with and without NEEDS_CSUM), its stride layout, -ENOSPC and the
 * malformed inputs; enc_gro_add/flush: split segments merge back into the
 * original frame, and each rule that ends or refuses a merge.  Checksums
 * are checked with this file's own byte-pair sum, never with the code
 * under test.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vxlan/enc.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define BIG	     (70 * 1024)
#define MAXSEGS	     128
#define HEADROOM     24 /* ENC_HDR_LEN, as the datapath will ask */
#define TAILROOM     16

/* ---- reference checksum: 16-bit big-endian words, one at a time ---- */

static uint64_t ref_sum(const uint8_t *p, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t ref_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

/* ---- frames ---- */

struct spec {
	int ver;       /* 4 or 6 */
	uint8_t proto; /* 6 TCP, 17 UDP */
	size_t pay;    /* payload bytes */
	uint32_t seq, ack;
	uint8_t tcpflags;
	size_t opts;	/* TCP option bytes, a multiple of 4 */
	size_t ip4opts; /* IPv4 option bytes, a multiple of 4 */
	size_t ext;	/* IPv6 hop-by-hop header bytes (a multiple of 8), 0: none */
	uint16_t id;
	bool vlan;
	bool partial; /* the L4 field holds the pseudo-header sum only */
	uint8_t seed; /* payload pattern */
	uint16_t sport;
	uint8_t tos, ttl;
};

/* Where mk() put things. */
struct lay {
	size_t l3, l4, pay, len;
};

static struct spec tcp4(size_t pay)
{
	return (struct spec){.ver = 4,
			     .proto = 6,
			     .pay = pay,
			     .seq = 0xfffff000, /* wraps during a 64 KiB split */
			     .ack = 0x01020304,
			     .tcpflags = 0x10,
			     .opts = 12,
			     .id = 0xfff0,
			     .partial = true,
			     .seed = 1,
			     .sport = 40000,
			     .ttl = 64};
}

static struct spec tcp6(size_t pay)
{
	struct spec s = tcp4(pay);

	s.ver = 6;
	return s;
}

static struct spec udp(int ver, size_t pay)
{
	struct spec s = tcp4(pay);

	s.ver = ver;
	s.proto = 17;
	s.opts = 0;
	return s;
}

static uint8_t pat(const struct spec *s, size_t i)
{
	return (uint8_t)(s->seed + i * 7 + (i >> 8));
}

/* The pseudo-header sum of the frame's addresses, protocol and l4len. */
static uint64_t ref_pseudo(const uint8_t *f, const struct lay *y, int ver, uint8_t proto,
			   size_t l4len)
{
	if (ver == 4)
		return ref_sum(f + y->l3 + 12, 8) + proto + l4len;
	return ref_sum(f + y->l3 + 8, 32) + proto + (l4len >> 16) + (l4len & 0xffff);
}

/* The full checksum of the L4 segment from scratch (its field read as 0). */
static uint16_t ref_l4_csum(const uint8_t *f, const struct lay *y, int ver, uint8_t proto)
{
	size_t l4len = y->len - y->l4, off = proto == 6 ? 16 : 6;
	uint64_t s = ref_pseudo(f, y, ver, proto, l4len) + ref_sum(f + y->l4, l4len) -
		     rd16(f + y->l4 + off);
	uint16_t c = (uint16_t)~ref_fold(s);

	return proto == 17 && !c ? 0xffff : c;
}

/* What the receiving kernel does with CHECKSUM_PARTIAL: the field holds
 * the pseudo-header sum, sum from csum_start to the end, store ~sum. */
static uint16_t ref_complete(const uint8_t *f, size_t len, size_t start)
{
	return (uint16_t)~ref_fold(ref_sum(f + start, len - start));
}

static size_t mk(uint8_t *f, const struct spec *s, struct lay *y)
{
	static const uint8_t mac[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
	size_t o = 12, l4h = s->proto == 6 ? 20 + s->opts : 8;

	memcpy(f, mac, 12);
	if (s->vlan) {
		wr16(f + o, 0x8100);
		wr16(f + o + 2, 100);
		o += 4;
	}
	wr16(f + o, s->ver == 4 ? 0x0800 : 0x86dd);
	y->l3 = o + 2;
	if (s->ver == 4) {
		uint8_t *ip = f + y->l3;
		size_t ihl = 20 + s->ip4opts;

		ip[0] = (uint8_t)(0x40 | ihl / 4);
		ip[1] = s->tos;
		wr16(ip + 2, (uint32_t)(ihl + l4h + s->pay));
		wr16(ip + 4, s->id);
		wr16(ip + 6, 0x4000);
		ip[8] = s->ttl;
		ip[9] = s->proto;
		wr16(ip + 10, 0);
		wr32(ip + 12, 0x0a000001);
		wr32(ip + 16, 0x0a000002);
		memset(ip + 20, 1, s->ip4opts); /* NOPs */
		wr16(ip + 10, (uint16_t)~ref_fold(ref_sum(ip, ihl)));
		y->l4 = y->l3 + ihl;
	} else {
		uint8_t *ip = f + y->l3;

		wr32(ip, 0x60000000u | (uint32_t)s->tos << 20 | 0x12345);
		wr16(ip + 4, (uint32_t)(s->ext + l4h + s->pay));
		ip[6] = s->ext ? 0 : s->proto;
		ip[7] = s->ttl;
		memset(ip + 8, 0, 32);
		ip[8] = ip[24] = 0xfd;
		ip[23] = 1;
		ip[39] = 2;
		y->l4 = y->l3 + 40;
		if (s->ext) {
			uint8_t *h = f + y->l4;

			memset(h, 0, s->ext);
			h[0] = s->proto;
			h[1] = (uint8_t)(s->ext / 8 - 1);
			h[2] = 1; /* PadN */
			h[3] = (uint8_t)(s->ext - 4);
			y->l4 += s->ext;
		}
	}
	uint8_t *t = f + y->l4;

	wr16(t, s->sport);
	wr16(t + 2, 5201);
	if (s->proto == 6) {
		wr32(t + 4, s->seq);
		wr32(t + 8, s->ack);
		t[12] = (uint8_t)((20 + s->opts) / 4 << 4);
		t[13] = s->tcpflags;
		wr16(t + 14, 0xfaf0);
		wr16(t + 16, 0);
		wr16(t + 18, 0);
		memset(t + 20, 1, s->opts);
		if (s->opts >= 12) { /* NOP NOP timestamps */
			t[22] = 8;
			t[23] = 10;
			wr32(t + 24, 0x11223344);
			wr32(t + 28, 0x55667788);
		}
	} else {
		wr16(t + 4, (uint32_t)(8 + s->pay));
		wr16(t + 6, 0);
	}
	y->pay = y->l4 + l4h;
	for (size_t i = 0; i < s->pay; i++)
		f[y->pay + i] = pat(s, i);
	y->len = y->pay + s->pay;
	size_t off = s->proto == 6 ? 16 : 6;

	if (s->partial)
		wr16(t + off, ref_fold(ref_pseudo(f, y, s->ver, s->proto, y->len - y->l4)));
	else
		wr16(t + off, ref_l4_csum(f, y, s->ver, s->proto));
	return y->len;
}

static uint8_t *frame_buf(void)
{
	uint8_t *f = calloc(1, BIG);

	cr_assert(f);
	return f;
}

/* ---- RFC 1071 helpers ---- */

Test(csum, rfc1071_example_and_fold)
{
	/* RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 */
	static const uint8_t ex[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};

	cr_assert_eq(enc_csum_fold(enc_csum_add(0, ex, sizeof(ex))), 0xddf2);
	cr_assert_eq(enc_csum_fold(0x0001fffe), 0xffff);
	cr_assert_eq(enc_csum_fold(0xffffffff), 0xffff);
	cr_assert_eq(enc_csum_fold(0), 0);
	cr_assert_eq(enc_csum_fold(0x12345678), ref_fold(0x12345678));
	cr_assert_eq(enc_csum_add(0, ex, 0), 0);
	cr_assert_eq(enc_csum_add(0x1234, ex, 0), 0x1234);
	/* an odd tail is the high byte of a word */
	cr_assert_eq(enc_csum_add(0, ex + 2, 1), 0xf200);
}

Test(csum, matches_the_reference_at_every_length_and_alignment)
{
	uint8_t *buf = frame_buf();

	srand(7);
	for (size_t i = 0; i < 4200; i++)
		buf[i] = (uint8_t)rand();
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n < 4096; n += n < 80 ? 1 : 37) {
			uint32_t seed = (uint32_t)(n * 2654435761u);
			uint16_t want = ref_fold(ref_sum(buf + off, n) + seed);

			cr_assert_eq(enc_csum_fold(enc_csum_add(seed, buf + off, n)), want,
				     "off %zu len %zu", off, n);
		}
	/* all ones: the accumulators' worst case */
	memset(buf, 0xff, BIG);
	cr_assert_eq(enc_csum_fold(enc_csum_add(0, buf, BIG)), ref_fold(ref_sum(buf, BIG)));
	free(buf);
}

Test(csum, chains_over_even_length_pieces)
{
	uint8_t buf[301];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + 5);
	for (size_t cut = 0; cut <= sizeof(buf); cut += 2) {
		uint32_t s = enc_csum_add(0, buf, cut);

		s = enc_csum_add(s, buf + cut, sizeof(buf) - cut);
		cr_assert_eq(enc_csum_fold(s), ref_fold(ref_sum(buf, sizeof(buf))), "cut %zu", cut);
	}
}

/* ---- split ---- */

struct split_out {
	uint8_t *out;
	size_t cap, stride;
	struct enc_seg segs[MAXSEGS];
	int n;
};

static void do_split(struct split_out *o, const struct enc_vnet *vh, const uint8_t *f, size_t len)
{
	o->cap = 200 * 1024;
	o->out = malloc(o->cap);
	cr_assert(o->out);
	memset(o->out, 0xa5, o->cap);
	o->n = enc_seg_split(vh, f, len, o->out, o->cap, HEADROOM, TAILROOM, o->segs, MAXSEGS,
			     &o->stride);
}

/* Everything a TCP or UDP split must hold, against the super-packet. */
static void check_split(const struct split_out *o, const uint8_t *f, const struct spec *s,
			const struct lay *y, size_t gso)
{
	size_t hdr = y->pay, n = s->pay ? (s->pay + gso - 1) / gso : 1;
	size_t seglen = hdr + (s->pay < gso ? s->pay : gso);

	cr_assert_eq(o->n, (int)n, "segments %d, want %zu", o->n, n);
	cr_assert_eq(o->stride, HEADROOM + seglen + TAILROOM);
	for (size_t i = 0; i < n; i++) {
		const struct enc_seg *g = &o->segs[i];
		const uint8_t *d = o->out + g->off;
		size_t chunk = i + 1 < n ? gso : s->pay - i * gso;
		struct lay sy = {.l3 = y->l3, .l4 = y->l4, .pay = y->pay, .len = hdr + chunk};
		size_t csoff = s->proto == 6 ? 16 : 6;

		cr_assert_eq(g->off, i * o->stride + HEADROOM, "segment %zu offset", i);
		cr_assert_eq(g->len, hdr + chunk, "segment %zu length", i);
		/* Ethernet copied; payload the right slice */
		cr_assert_eq(memcmp(d, f, y->l3), 0);
		cr_assert_eq(memcmp(d + hdr, f + hdr + i * gso, chunk), 0, "segment %zu payload",
			     i);
		if (s->ver == 4) {
			cr_assert_eq(rd16(d + y->l3 + 2), g->len - y->l3);
			cr_assert_eq(rd16(d + y->l3 + 4), (uint16_t)(s->id + i), "segment %zu id",
				     i);
			cr_assert_eq(ref_fold(ref_sum(d + y->l3, y->l4 - y->l3)), 0xffff,
				     "segment %zu IPv4 header checksum", i);
		} else {
			cr_assert_eq(rd16(d + y->l3 + 4), g->len - y->l3 - 40);
		}
		if (s->proto == 6) {
			uint8_t want = s->tcpflags;

			if (i + 1 < n)
				want &= (uint8_t)~0x09; /* FIN, PSH */
			if (i)
				want &= (uint8_t)~0x80; /* CWR */
			cr_assert_eq(rd32(d + y->l4 + 4), (uint32_t)(s->seq + i * gso));
			cr_assert_eq(d[y->l4 + 13], want, "segment %zu flags %02x", i,
				     d[y->l4 + 13]);
			/* options and the rest of the header unchanged */
			cr_assert_eq(memcmp(d + y->l4 + 8, f + y->l4 + 8, 5), 0);
			cr_assert_eq(memcmp(d + y->l4 + 14, f + y->l4 + 14, 2), 0);
			cr_assert_eq(memcmp(d + y->l4 + 18, f + y->l4 + 18, hdr - y->l4 - 18), 0);
		} else {
			cr_assert_eq(rd16(d + y->l4 + 4), g->len - y->l4);
		}
		if (s->ext) {
			/* behind extension headers: sent complete */
			cr_assert_eq(g->flags, 0);
			cr_assert_eq(rd16(d + y->l4 + csoff),
				     ref_l4_csum(d, &sy, s->ver, s->proto));
		} else {
			uint16_t c = ref_complete(d, g->len, y->l4);
			uint16_t want = ref_l4_csum(d, &sy, s->ver, s->proto);

			cr_assert_eq(g->flags, ENC_F_CSUM_PARTIAL);
			cr_assert_eq(rd16(d + y->l4 + csoff),
				     ref_fold(ref_pseudo(d, &sy, s->ver, s->proto, g->len - y->l4)),
				     "segment %zu pseudo-header sum", i);
			/* completed as the kernel will: the independent checksum (UDP
			 * sends a computed 0 as ffff) */
			cr_assert(c == want || (s->proto == 17 && !c && want == 0xffff),
				  "segment %zu completed checksum %04x, want %04x", i, c, want);
		}
		/* the gap up to the next segment is untouched */
		size_t end = g->off + g->len, next = (i + 1) * o->stride + HEADROOM;

		for (size_t b = end; b < next && b < o->cap; b++)
			cr_assert_eq(o->out[b], 0xa5, "byte %zu after segment %zu written", b, i);
	}
	for (size_t b = 0; b < HEADROOM; b++)
		cr_assert_eq(o->out[b], 0xa5);
}

Test(split, tso4_64k_into_mss_segments)
{
	uint8_t *f = frame_buf();
	struct spec s = tcp4(65535 - 20 - 32); /* the IP maximum */
	struct split_out o;
	struct lay y;
	size_t len;

	s.tcpflags = 0x10 | 0x08 | 0x01 | 0x80; /* ACK PSH FIN CWR */
	len = mk(f, &s, &y);
	struct enc_vnet vh = {.flags = ENC_VNET_F_NEEDS_CSUM,
			      .gso_type = ENC_VNET_GSO_TCPV4 | ENC_VNET_GSO_ECN,
			      .hdr_len = (uint16_t)y.pay,
			      .gso_size = 1448,
			      .csum_start = (uint16_t)y.l4,
			      .csum_offset = 16};

	do_split(&o, &vh, f, len);
	cr_assert_eq(o.n, 46); /* 45 full, the last of 323 bytes */
	check_split(&o, f, &s, &y, 1448);
	cr_assert_eq(o.segs[45].len, y.pay + 65483 - 45 * 1448);
	free(o.out);
	free(f);
}

Test(split, hdr_len_is_not_trusted)
{
	uint8_t *f = frame_buf();
	struct spec s = tcp4(5000);
	struct split_out a, b;
	struct lay y;
	size_t len = mk(f, &s, &y);
	struct enc_vnet vh = {.flags = 1, .gso_type = 1, .hdr_len = 0, .gso_size = 1000};

	do_split(&a, &vh, f, len);
	vh.hdr_len = 60000;
	vh.csum_start = 3;
	do_split(&b, &vh, f, len);
	cr_assert_eq(a.n, 5);
	cr_assert_eq(b.n, 5);
	check_split(&a, f, &s, &y, 1000);
	cr_assert_eq(memcmp(a.out, b.out, a.cap), 0);
	free(a.out);
	free(b.out);
	free(f);
}

Test(split, payload_shorter_than_gso_size_or_empty_is_one_segment)
{
	uint8_t *f = frame_buf();
	size_t pays[] = {0, 1, 1447, 1448};

	for (size_t k = 0; k < ARRAY_LEN(pays); k++) {
		struct spec s = tcp4(pays[k]);
		struct split_out o;
		struct lay y;
		size_t len;

		s.tcpflags = 0x19; /* FIN stays on the only segment */
		len = mk(f, &s, &y);
		struct enc_vnet vh = {.flags = 1, .gso_type = 1, .gso_size = 1448};

		do_split(&o, &vh, f, len);
		check_split(&o, f, &s, &y, 1448);
		free(o.out);
	}
	free(f);
}

Test(split, tso6_uso4_uso6_vlan_and_ip_options)
{
	static const struct {
		const char *what;
		uint8_t gso_type;
		int ver, proto;
		size_t pay, gso;
		bool vlan;
		size_t ip4opts, ext;
	} cases[] = {
		{"TSO6", ENC_VNET_GSO_TCPV6, 6, 6, 20000, 1428, false, 0, 0},
		{"TSO6 ECN", ENC_VNET_GSO_TCPV6 | ENC_VNET_GSO_ECN, 6, 6, 3000, 1428, false, 0, 0},
		{"USO4", ENC_VNET_GSO_UDP_L4, 4, 17, 30000, 1472, false, 0, 0},
		{"USO6", ENC_VNET_GSO_UDP_L4, 6, 17, 30001, 1452, false, 0, 0},
		{"TSO4 VLAN", ENC_VNET_GSO_TCPV4, 4, 6, 10000, 1444, true, 0, 0},
		{"TSO4 IP options", ENC_VNET_GSO_TCPV4, 4, 6, 10000, 1440, false, 8, 0},
		{"TSO6 hop-by-hop", ENC_VNET_GSO_TCPV6, 6, 6, 10000, 1400, false, 0, 8},
		{"USO6 hop-by-hop", ENC_VNET_GSO_UDP_L4, 6, 17, 10000, 1400, false, 0, 24},
	};
	uint8_t *f = frame_buf();

	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		struct spec s = cases[k].proto == 6 ? (cases[k].ver == 4 ? tcp4(cases[k].pay)
									 : tcp6(cases[k].pay))
						    : udp(cases[k].ver, cases[k].pay);
		struct split_out o;
		struct lay y;
		size_t len;

		s.vlan = cases[k].vlan;
		s.ip4opts = cases[k].ip4opts;
		s.ext = cases[k].ext;
		s.seed = (uint8_t)k;
		s.tcpflags = 0x18;
		len = mk(f, &s, &y);
		struct enc_vnet vh = {.flags = 1,
				      .gso_type = cases[k].gso_type,
				      .gso_size = (uint16_t)cases[k].gso};

		do_split(&o, &vh, f, len);
		cr_assert_gt(o.n, 1, "%s: %d", cases[k].what, o.n);
		check_split(&o, f, &s, &y, cases[k].gso);
		free(o.out);
	}
	free(f);
}

Test(split, enospc_on_segments_or_bytes)
{
	uint8_t *f = frame_buf();
	struct spec s = tcp4(10000);
	struct enc_seg segs[MAXSEGS];
	struct lay y;
	size_t len = mk(f, &s, &y), stride = 99, seg = y.pay + 1000, last = y.pay + 1000;
	struct enc_vnet vh = {.flags = 1, .gso_type = 1, .gso_size = 1000};
	size_t need = 9 * (HEADROOM + seg + TAILROOM) + HEADROOM + last + TAILROOM;
	uint8_t *out = malloc(need);

	cr_assert(out);
	cr_assert_eq(enc_seg_split(&vh, f, len, out, need, HEADROOM, TAILROOM, segs, 9, &stride),
		     -ENOSPC);
	cr_assert_eq(stride, 0);
	cr_assert_eq(
		enc_seg_split(&vh, f, len, out, need - 1, HEADROOM, TAILROOM, segs, 10, &stride),
		-ENOSPC);
	cr_assert_eq(enc_seg_split(&vh, f, len, out, need, HEADROOM, TAILROOM, segs, 10, &stride),
		     10);
	cr_assert_eq(stride, HEADROOM + seg + TAILROOM);
	/* a shorter last segment needs only its own length */
	s.pay = 9500;
	len = mk(f, &s, &y);
	need -= 500;
	cr_assert_eq(enc_seg_split(&vh, f, len, out, need, HEADROOM, TAILROOM, segs, 10, &stride),
		     10);
	cr_assert_eq(
		enc_seg_split(&vh, f, len, out, need - 1, HEADROOM, TAILROOM, segs, 10, &stride),
		-ENOSPC);
	/* room sizes that overflow */
	cr_assert_eq(
		enc_seg_split(&vh, f, len, out, need, SIZE_MAX - 100, TAILROOM, segs, 10, &stride),
		-ENOSPC);
	vh.gso_type = 0;
	vh.flags = 0;
	cr_assert_eq(enc_seg_split(&vh, f, len, out, need, 0, 0, segs, 0, &stride), -ENOSPC);
	cr_assert_eq(enc_seg_split(&vh, f, len, out, len - 1, 0, 0, segs, 1, &stride), -ENOSPC);
	cr_assert_eq(enc_seg_split(&vh, f, len, out, len, 0, 0, segs, 1, &stride), 1);
	free(out);
	free(f);
}

/* A broken frame: byte edits on a valid TSO4 frame, or a shorter length. */
Test(split, malformed_input_is_einval)
{
	enum { TRUNC, SET, GSO };
	static const struct {
		const char *what;
		int kind;
		size_t at; /* TRUNC: new length; SET: offset (from l3 when < 100, plus l4
			      when 100..199); GSO: ignored */
		uint8_t v;
		uint8_t gso_type;
		uint16_t gso_size;
	} cases[] = {
		{"shorter than Ethernet", TRUNC, 10, 0, 1, 1000},
		{"Ethernet only", TRUNC, 14, 0, 1, 1000},
		{"truncated IPv4 header", TRUNC, 14 + 19, 0, 1, 1000},
		{"truncated TCP header", TRUNC, 14 + 20 + 19, 0, 1, 1000},
		{"TCP options cut", TRUNC, 14 + 20 + 31, 0, 1, 1000},
		{"IHL 4", SET, 0, 0x44, 1, 1000},
		{"IHL 0", SET, 0, 0x40, 1, 1000},
		{"IPv4 version 6", SET, 0, 0x65, 1, 1000},
		{"TCP doff 4", SET, 112, 0x40, 1, 1000},
		{"TCP doff 0", SET, 112, 0x00, 1, 1000},
		{"UDP under TSO4", SET, 9, 17, 1, 1000},
		{"ICMP under TSO4", SET, 9, 1, 1, 1000},
		{"more fragments", SET, 6, 0x60, 1, 1000},
		{"gso_size 0", GSO, 0, 0, 1, 0},
		{"UFO (3)", GSO, 0, 0, ENC_VNET_GSO_UDP, 1000},
		{"gso type 2", GSO, 0, 0, 2, 1000},
		{"gso type 6", GSO, 0, 0, 6, 1000},
		{"TCPV6 on IPv4", GSO, 0, 0, ENC_VNET_GSO_TCPV6, 1000},
		{"UDP_L4 on TCP", GSO, 0, 0, ENC_VNET_GSO_UDP_L4, 1000},
		{"ECN on UDP_L4", GSO, 0, 0, ENC_VNET_GSO_UDP_L4 | ENC_VNET_GSO_ECN, 1000},
		{"ECN alone", GSO, 0, 0, ENC_VNET_GSO_ECN, 1000},
		{"unknown 0x40 bit", GSO, 0, 0, ENC_VNET_GSO_TCPV4 | 0x40, 1000},
	};
	uint8_t *f = frame_buf(), *g = frame_buf();
	struct enc_seg segs[MAXSEGS];
	uint8_t *out = malloc(200 * 1024);

	cr_assert(out);
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		struct spec s = tcp4(5000);
		struct lay y;
		size_t len = mk(f, &s, &y), stride = 7;
		struct enc_vnet vh = {
			.flags = 1, .gso_type = cases[k].gso_type, .gso_size = cases[k].gso_size};

		memcpy(g, f, len);
		if (cases[k].kind == TRUNC)
			len = cases[k].at;
		else if (cases[k].kind == SET)
			g[cases[k].at < 100 ? y.l3 + cases[k].at : y.l4 + cases[k].at - 100] =
				cases[k].v;
		/* exact-size copy: a read past len would show under ASan */
		uint8_t *e = malloc(len);

		cr_assert(e);
		memcpy(e, g, len);
		cr_assert_eq(enc_seg_split(&vh, e, len, out, 200 * 1024, HEADROOM, TAILROOM, segs,
					   MAXSEGS, &stride),
			     -EINVAL, "%s", cases[k].what);
		cr_assert_eq(stride, 0);
		free(e);
	}
	free(out);
	free(f);
	free(g);
}

Test(split, malformed_ipv6_and_lengths)
{
	uint8_t *f = frame_buf();
	struct enc_seg segs[MAXSEGS];
	uint8_t *out = malloc(200 * 1024);
	size_t stride;
	struct lay y;
	struct spec s = tcp6(3000);
	struct enc_vnet vh = {.flags = 1, .gso_type = ENC_VNET_GSO_TCPV6, .gso_size = 1000};
	size_t len;

	cr_assert(out);
	/* truncated IPv6 header */
	len = mk(f, &s, &y);
	cr_assert_eq(enc_seg_split(&vh, f, 14 + 39, out, 200 * 1024, 0, 0, segs, MAXSEGS, &stride),
		     -EINVAL);
	/* TCPV4 on IPv6 */
	vh.gso_type = ENC_VNET_GSO_TCPV4;
	cr_assert_eq(enc_seg_split(&vh, f, len, out, 200 * 1024, 0, 0, segs, MAXSEGS, &stride),
		     -EINVAL);
	/* a routing header is not walked (it changes the pseudo-header) */
	vh.gso_type = ENC_VNET_GSO_TCPV6;
	s = tcp6(100);
	s.ext = 16;
	len = mk(f, &s, &y);
	f[y.l3 + 6] = 43;
	cr_assert_eq(enc_seg_split(&vh, f, len, out, 200 * 1024, 0, 0, segs, MAXSEGS, &stride),
		     -EINVAL);
	/* an extension header longer than the frame */
	f[y.l3 + 6] = 0;
	f[y.l4 - 16 + 1] = 200;
	cr_assert_eq(enc_seg_split(&vh, f, len, out, 200 * 1024, 0, 0, segs, MAXSEGS, &stride),
		     -EINVAL);
	/* a segment whose IP length would pass 65535 */
	s = tcp4(66000);
	len = mk(f, &s, &y);
	vh = (struct enc_vnet){.flags = 1, .gso_type = 1, .gso_size = 65535 - 20 - 32 + 1};
	cr_assert_eq(enc_seg_split(&vh, f, len, out, 200 * 1024, 0, 0, segs, MAXSEGS, &stride),
		     -EINVAL);
	vh.gso_size--;
	cr_assert_eq(enc_seg_split(&vh, f, len, out, 200 * 1024, 0, 0, segs, MAXSEGS, &stride), 2);
	/* NEEDS_CSUM pointing outside the frame */
	s = tcp4(100);
	len = mk(f, &s, &y);
	vh = (struct enc_vnet){.flags = 1, .csum_start = (uint16_t)len, .csum_offset = 0};
	cr_assert_eq(enc_seg_split(&vh, f, len, out, 200 * 1024, 0, 0, segs, MAXSEGS, &stride),
		     -EINVAL);
	vh.csum_start = (uint16_t)(len - 1);
	cr_assert_eq(enc_seg_split(&vh, f, len, out, 200 * 1024, 0, 0, segs, MAXSEGS, &stride),
		     -EINVAL);
	vh.csum_start = (uint16_t)(len - 2);
	cr_assert_eq(enc_seg_split(&vh, f, len, out, 200 * 1024, 0, 0, segs, MAXSEGS, &stride), 1);
	vh.csum_start = 34;
	vh.csum_offset = (uint16_t)(len - 35);
	cr_assert_eq(enc_seg_split(&vh, f, len, out, 200 * 1024, 0, 0, segs, MAXSEGS, &stride),
		     -EINVAL);
	/* GSO_NONE shorter than an Ethernet header */
	vh = (struct enc_vnet){0};
	cr_assert_eq(enc_seg_split(&vh, f, 13, out, 200 * 1024, 0, 0, segs, MAXSEGS, &stride),
		     -EINVAL);
	free(out);
	free(f);
}

Test(split, gso_none_copies_and_keeps_a_standard_partial_checksum)
{
	static const struct {
		const char *what;
		int ver, proto;
		bool vlan;
		size_t ip4opts;
	} cases[] = {
		{"TCP4", 4, 6, false, 0},	{"UDP4", 4, 17, false, 0},
		{"TCP6", 6, 6, false, 0},	{"UDP6", 6, 17, false, 0},
		{"TCP4 IHL 7", 4, 6, false, 8}, {"UDP4 VLAN", 4, 17, true, 0},
	};
	uint8_t *f = frame_buf();

	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		struct spec s = cases[k].proto == 6 ? tcp4(700) : udp(cases[k].ver, 700);
		struct split_out o;
		struct lay y;
		size_t len;

		s.ver = cases[k].ver;
		s.vlan = cases[k].vlan;
		s.ip4opts = cases[k].ip4opts;
		len = mk(f, &s, &y);
		/* without NEEDS_CSUM: a copy, flags 0 */
		struct enc_vnet vh = {0};

		do_split(&o, &vh, f, len);
		cr_assert_eq(o.n, 1);
		cr_assert_eq(o.stride, HEADROOM + len + TAILROOM);
		cr_assert_eq(o.segs[0].off, HEADROOM);
		cr_assert_eq(o.segs[0].len, len);
		cr_assert_eq(o.segs[0].flags, 0);
		cr_assert_eq(memcmp(o.out + HEADROOM, f, len), 0);
		free(o.out);
		/* with NEEDS_CSUM at the TCP/UDP field: the same bytes, CSUM_PARTIAL */
		vh = (struct enc_vnet){.flags = ENC_VNET_F_NEEDS_CSUM,
				       .csum_start = (uint16_t)y.l4,
				       .csum_offset = cases[k].proto == 6 ? 16 : 6};
		do_split(&o, &vh, f, len);
		cr_assert_eq(o.n, 1, "%s", cases[k].what);
		cr_assert_eq(o.segs[0].flags, ENC_F_CSUM_PARTIAL, "%s", cases[k].what);
		cr_assert_eq(memcmp(o.out + HEADROOM, f, len), 0);
		free(o.out);
	}
	free(f);
}

Test(split, gso_none_elsewhere_is_completed_in_software)
{
	uint8_t *f = frame_buf();
	struct split_out o;
	struct lay y;
	struct spec s = tcp6(901);
	size_t len;

	/* behind a destination options header: the receiver would not find it */
	s.ext = 16;
	len = mk(f, &s, &y);
	struct enc_vnet vh = {.flags = 1, .csum_start = (uint16_t)y.l4, .csum_offset = 16};

	do_split(&o, &vh, f, len);
	cr_assert_eq(o.n, 1);
	cr_assert_eq(o.segs[0].flags, 0);
	cr_assert_eq(rd16(o.out + HEADROOM + y.l4 + 16), ref_l4_csum(f, &y, 6, 6));
	free(o.out);
	/* an odd start and offset, as a container may ask: RFC 1071 from
	 * csum_start to the end, stored at csum_start + csum_offset */
	s = tcp4(333);
	len = mk(f, &s, &y);
	vh = (struct enc_vnet){.flags = 1, .csum_start = 23, .csum_offset = 5};
	do_split(&o, &vh, f, len);
	cr_assert_eq(o.n, 1);
	cr_assert_eq(o.segs[0].flags, 0);
	cr_assert_eq(rd16(o.out + HEADROOM + 28), (uint16_t)~ref_fold(ref_sum(f + 23, len - 23)));
	cr_assert_eq(memcmp(o.out + HEADROOM, f, 28), 0);
	cr_assert_eq(memcmp(o.out + HEADROOM + 30, f + 30, len - 30), 0);
	free(o.out);
	/* a TCP frame whose offset names the UDP field: not standard */
	vh = (struct enc_vnet){.flags = 1, .csum_start = (uint16_t)y.l4, .csum_offset = 6};
	do_split(&o, &vh, f, len);
	cr_assert_eq(o.segs[0].flags, 0);
	free(o.out);
	free(f);
}

/* ---- coalescing ---- */

struct emitted {
	struct enc_vnet vh;
	uint8_t *f;
	size_t len;
};

static struct emitted E[256];
static size_t NE;

static void emit_cb(void *arg, const struct enc_vnet *vh, const uint8_t *frame, size_t len)
{
	cr_assert_lt(NE, ARRAY_LEN(E));
	E[NE].vh = *vh;
	E[NE].f = malloc(len ? len : 1);
	cr_assert(E[NE].f);
	memcpy(E[NE].f, frame, len);
	E[NE].len = len;
	NE++;
	(*(int *)arg)++;
}

static void emitted_fini(void)
{
	for (size_t i = 0; i < NE; i++)
		free(E[i].f);
	NE = 0;
}

struct gro_fix {
	struct enc_gro g;
	uint8_t *buf;
	int calls;
};

static void gro_fix_init(struct gro_fix *x, size_t cap)
{
	x->buf = malloc(cap);
	cr_assert(x->buf);
	x->calls = 0;
	enc_gro_init(&x->g, x->buf, cap, emit_cb, &x->calls);
	NE = 0;
}

static void gro_fix_fini(struct gro_fix *x)
{
	free(x->buf);
	emitted_fini();
}

/* Feed a split's segments, then flush. */
static void feed(struct gro_fix *x, const struct split_out *o)
{
	for (int i = 0; i < o->n; i++)
		enc_gro_add(&x->g, o->out + o->segs[i].off, o->segs[i].len, o->segs[i].flags);
	enc_gro_flush(&x->g);
}

static void check_merged(const struct emitted *e, const uint8_t *orig, size_t len,
			 const struct lay *y, int ver, size_t gso)
{
	uint8_t *c = malloc(len);

	cr_assert(c);
	cr_assert_eq(e->len, len);
	cr_assert_eq(e->vh.flags, ENC_VNET_F_NEEDS_CSUM);
	cr_assert_eq(e->vh.gso_type, ver == 4 ? ENC_VNET_GSO_TCPV4 : ENC_VNET_GSO_TCPV6);
	cr_assert_eq(e->vh.gso_size, gso);
	cr_assert_eq(e->vh.hdr_len, y->pay);
	cr_assert_eq(e->vh.csum_start, y->l4);
	cr_assert_eq(e->vh.csum_offset, 16);
	/* the original super-packet, byte for byte: IP length, id, header
	 * checksum, flags, the pseudo-header sum of the whole */
	cr_assert_eq(memcmp(e->f, orig, len), 0);
	if (ver == 4)
		cr_assert_eq(ref_fold(ref_sum(e->f + 14, 20)), 0xffff);
	/* completed as the kernel will, it validates */
	memcpy(c, e->f, len);
	wr16(c + y->l4 + 16, ref_complete(c, len, y->l4));
	cr_assert_eq(
		ref_fold(ref_pseudo(c, y, ver, 6, len - y->l4) + ref_sum(c + y->l4, len - y->l4)),
		0xffff);
	free(c);
}

Test(gro, split_segments_merge_back_into_the_original)
{
	uint8_t *f = frame_buf();
	struct spec specs[] = {tcp4(65535 - 20 - 32), tcp6(65535 - 32), tcp4(3000), tcp6(1449)};

	for (size_t k = 0; k < ARRAY_LEN(specs); k++) {
		struct spec s = specs[k];
		struct gro_fix x;
		struct split_out o;
		struct lay y;
		size_t len, gso = s.ver == 4 ? 1448 : 1428;

		s.tcpflags = 0x18; /* ACK PSH: PSH only on the last */
		len = mk(f, &s, &y);
		struct enc_vnet vh = {
			.flags = 1, .gso_type = s.ver == 4 ? 1 : 4, .gso_size = (uint16_t)gso};

		do_split(&o, &vh, f, len);
		cr_assert_gt(o.n, 1);
		gro_fix_init(&x, 65535 + 14 + 40);
		feed(&x, &o);
		cr_assert_eq(NE, 1, "case %zu: %zu packets", k, NE);
		check_merged(&E[0], f, len, &y, s.ver, gso);
		cr_assert_eq(x.g.merged, (unsigned long long)o.n);
		cr_assert_eq(x.g.single, 0);
		cr_assert_eq(x.calls, 1);
		gro_fix_fini(&x);
		free(o.out);
	}
	free(f);
}

/* One segment of a bulk flow: seq n*1448, ACK, 1448 bytes (or pay). */
static size_t seg(uint8_t *f, struct lay *y, uint32_t idx, size_t pay, uint8_t flags)
{
	struct spec s = tcp4(pay);

	s.seq = 1000 + idx * 1448;
	s.tcpflags = flags;
	s.id = (uint16_t)idx;
	s.seed = (uint8_t)idx;
	return mk(f, &s, y);
}

static void add_seg(struct gro_fix *x, uint32_t idx, size_t pay, uint8_t flags)
{
	uint8_t f[1600];
	struct lay y;
	size_t len = seg(f, &y, idx, pay, flags);

	enc_gro_add(&x->g, f, len, ENC_F_CSUM_PARTIAL);
}

/* The emitted packets' shape: segments each (1 = alone), first seq. */
static void expect(const size_t *segs, const uint32_t *first, size_t n)
{
	cr_assert_eq(NE, n, "%zu packets, want %zu", NE, n);
	for (size_t i = 0; i < n; i++) {
		const struct emitted *e = &E[i];
		size_t l4 = 34, hdr = 66;

		cr_assert_eq(rd32(e->f + l4 + 4), 1000 + first[i] * 1448, "packet %zu seq", i);
		if (segs[i] == 1) {
			cr_assert_eq(e->vh.gso_type, ENC_VNET_GSO_NONE, "packet %zu", i);
			continue;
		}
		cr_assert_eq(e->vh.gso_type, ENC_VNET_GSO_TCPV4, "packet %zu", i);
		cr_assert_eq(e->vh.gso_size, 1448);
		cr_assert_gt(e->len, hdr + (segs[i] - 1) * 1448, "packet %zu length %zu", i,
			     e->len);
		cr_assert_leq(e->len, hdr + segs[i] * 1448, "packet %zu length %zu", i, e->len);
		cr_assert_eq(rd16(e->f + 16), e->len - 14);
		cr_assert_eq(ref_fold(ref_sum(e->f + 14, 20)), 0xffff);
	}
}

Test(gro, a_gap_in_seq_ends_the_merge)
{
	struct gro_fix x;

	gro_fix_init(&x, 65600);
	add_seg(&x, 0, 1448, 0x10);
	add_seg(&x, 1, 1448, 0x10);
	add_seg(&x, 3, 1448, 0x10); /* 2 is missing */
	add_seg(&x, 4, 1448, 0x10);
	add_seg(&x, 4, 1448, 0x10); /* a duplicate */
	enc_gro_flush(&x.g);
	expect((size_t[]){2, 2, 1}, (uint32_t[]){0, 3, 4}, 3);
	/* the payload of a merged packet is the segments' in order */
	for (uint32_t i = 0; i < 2; i++)
		for (size_t b = 0; b < 1448; b += 97)
			cr_assert_eq(E[0].f[66 + i * 1448 + b], (uint8_t)(i + b * 7 + (b >> 8)));
	cr_assert_eq(x.g.merged, 4);
	cr_assert_eq(x.g.single, 1);
	gro_fix_fini(&x);
}

/* Edits on the second segment that must keep it out of the first's packet. */
Test(gro, a_different_flow_ack_or_flags_does_not_merge)
{
	static const struct {
		const char *what;
		size_t at; /* offset in the frame */
		uint8_t v;
		int candidate; /* still may start a packet of its own */
	} cases[] = {
		{"SYN", 34 + 13, 0x12, 0},
		{"FIN", 34 + 13, 0x11, 0},
		{"RST", 34 + 13, 0x14, 0},
		{"URG", 34 + 13, 0x30, 0},
		{"no ACK", 34 + 13, 0x00, 0},
		{"ECE", 34 + 13, 0x50, 0},
		{"CWR", 34 + 13, 0x90, 0},
		{"ack", 34 + 11, 0x05, 1},
		{"source port", 34 + 1, 0x77, 1},
		{"dest port", 34 + 3, 0x01, 1},
		{"source address", 14 + 15, 9, 1},
		{"dest address", 14 + 19, 9, 1},
		{"ToS", 14 + 1, 0x02, 1},
		{"TTL", 14 + 8, 63, 1},
		{"DF", 14 + 6, 0x00, 1},
		{"MAC", 5, 9, 1},
		{"timestamp option", 34 + 27, 0x45, 1},
		{"reserved TCP bits", 34 + 12, 0x81, 1},
	};

	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		uint8_t f[1600];
		struct gro_fix x;
		struct lay y;
		size_t len;

		gro_fix_init(&x, 65600);
		add_seg(&x, 0, 1448, 0x10);
		len = seg(f, &y, 1, 1448, 0x10);
		f[cases[k].at] = cases[k].v;
		enc_gro_add(&x.g, f, len, ENC_F_CSUM_PARTIAL);
		add_seg(&x, 2, 1448, 0x10);
		enc_gro_flush(&x.g);
		/* 0 alone; the edited one alone; 2 alone (it continues neither) */
		cr_assert_eq(NE, 3, "%s: %zu packets", cases[k].what, NE);
		for (size_t i = 0; i < NE; i++)
			cr_assert_eq(E[i].vh.gso_type, 0, "%s: packet %zu", cases[k].what, i);
		cr_assert_eq(E[1].len, len);
		cr_assert_eq(memcmp(E[1].f, f, len), 0, "%s: not passed as it came", cases[k].what);
		gro_fix_fini(&x);
	}
}

Test(gro, psh_closes_the_packet_and_may_join_as_its_last)
{
	struct gro_fix x;

	gro_fix_init(&x, 65600);
	add_seg(&x, 0, 1448, 0x10);
	add_seg(&x, 1, 1448, 0x18); /* PSH joins, closes */
	add_seg(&x, 2, 1448, 0x10);
	add_seg(&x, 3, 1448, 0x10);
	add_seg(&x, 4, 1448, 0x18);
	add_seg(&x, 5, 1448, 0x18); /* PSH first: alone */
	add_seg(&x, 6, 1448, 0x10);
	enc_gro_flush(&x.g);
	expect((size_t[]){2, 3, 1, 1}, (uint32_t[]){0, 2, 5, 6}, 4);
	cr_assert_eq(E[0].f[34 + 13], 0x18);
	cr_assert_eq(E[1].f[34 + 13], 0x18);
	cr_assert_eq(E[2].f[34 + 13], 0x18);
	gro_fix_fini(&x);
}

Test(gro, a_shorter_segment_is_the_last)
{
	struct gro_fix x;

	gro_fix_init(&x, 65600);
	add_seg(&x, 0, 1448, 0x10);
	add_seg(&x, 1, 1000, 0x10);
	/* seq 1000 + 2*1448 does not follow 1000 bytes; make it follow */
	{
		uint8_t f[1600];
		struct lay y;
		size_t len = seg(f, &y, 0, 1448, 0x10);

		wr32(f + 34 + 4, 1000 + 1448 + 1000);
		enc_gro_add(&x.g, f, len, ENC_F_CSUM_PARTIAL); /* contiguous, but closed */
		len = seg(f, &y, 0, 1449, 0x10);	       /* longer than gso_size */
		wr32(f + 34 + 4, 1000 + 1448 + 1000 + 1448);
		enc_gro_add(&x.g, f, len, ENC_F_CSUM_PARTIAL);
	}
	enc_gro_flush(&x.g);
	cr_assert_eq(NE, 3);
	cr_assert_eq(E[0].vh.gso_type, ENC_VNET_GSO_TCPV4);
	cr_assert_eq(E[0].len, 66 + 1448 + 1000);
	cr_assert_eq(E[1].vh.gso_type, 0);
	cr_assert_eq(E[2].vh.gso_type, 0);
	cr_assert_eq(E[2].len, 66 + 1449);
	gro_fix_fini(&x);
}

Test(gro, cap_and_the_ip_maximum_flush)
{
	struct gro_fix x;

	/* room for three segments */
	gro_fix_init(&x, 66 + 3 * 1448);
	for (uint32_t i = 0; i < 5; i++)
		add_seg(&x, i, 1448, 0x10);
	enc_gro_flush(&x.g);
	expect((size_t[]){3, 2}, (uint32_t[]){0, 3}, 2);
	gro_fix_fini(&x);
	/* plenty of room: 65535 bytes of IP hold 45 segments of 1448 */
	gro_fix_init(&x, 200000);
	for (uint32_t i = 0; i < 50; i++)
		add_seg(&x, i, 1448, 0x10);
	enc_gro_flush(&x.g);
	expect((size_t[]){45, 5}, (uint32_t[]){0, 45}, 2);
	cr_assert_eq(E[0].len, 66 + 45 * 1448);
	gro_fix_fini(&x);
	/* a frame larger than the buffer passes alone */
	gro_fix_init(&x, 1000);
	add_seg(&x, 0, 1448, 0x10);
	add_seg(&x, 1, 1448, 0x10);
	enc_gro_flush(&x.g);
	expect((size_t[]){1, 1}, (uint32_t[]){0, 1}, 2);
	cr_assert_eq(E[0].vh.flags, ENC_VNET_F_NEEDS_CSUM);
	gro_fix_fini(&x);
}

Test(gro, frames_alone_flush_first_and_keep_their_order)
{
	uint8_t f[1600];
	struct gro_fix x;
	struct lay y;
	size_t len;

	gro_fix_init(&x, 65600);
	add_seg(&x, 0, 1448, 0x10);
	add_seg(&x, 1, 1448, 0x10);
	/* not CSUM_PARTIAL: alone, DATA_VALID, after the pending packet */
	len = seg(f, &y, 2, 1448, 0x10);
	enc_gro_add(&x.g, f, len, 0);
	add_seg(&x, 3, 1448, 0x10);
	add_seg(&x, 4, 1448, 0x10);
	enc_gro_flush(&x.g);
	add_seg(&x, 5, 1448, 0x10); /* after a flush: a new packet */
	add_seg(&x, 6, 1448, 0x10);
	enc_gro_flush(&x.g);
	enc_gro_flush(&x.g); /* nothing pending: nothing emitted */
	expect((size_t[]){2, 1, 2, 2}, (uint32_t[]){0, 2, 3, 5}, 4);
	cr_assert_eq(E[1].vh.flags, ENC_VNET_F_DATA_VALID);
	cr_assert_eq(E[1].vh.csum_start, 0);
	cr_assert_eq(memcmp(E[1].f, f, len), 0);
	cr_assert_eq(x.g.merged, 6);
	cr_assert_eq(x.g.single, 1);
	gro_fix_fini(&x);
}

Test(gro, interleaved_flows_keep_arrival_order)
{
	uint8_t f[1600];
	struct gro_fix x;
	struct lay y;
	size_t len;

	gro_fix_init(&x, 65600);
	add_seg(&x, 0, 1448, 0x10);
	add_seg(&x, 1, 1448, 0x10);
	len = seg(f, &y, 7, 1448, 0x10);
	f[34 + 1] ^= 1; /* another flow */
	enc_gro_add(&x.g, f, len, ENC_F_CSUM_PARTIAL);
	add_seg(&x, 2, 1448, 0x10);
	enc_gro_flush(&x.g);
	expect((size_t[]){2, 1, 1}, (uint32_t[]){0, 7, 2}, 3);
	gro_fix_fini(&x);
}

Test(gro, single_frames_get_needs_csum_at_their_field)
{
	static const struct {
		const char *what;
		int ver, proto;
		bool vlan;
		size_t ip4opts, ext;
		uint8_t flags;
		uint8_t vflags;
		uint16_t start, off;
	} cases[] = {
		{"UDP4", 4, 17, false, 0, 0, 1, ENC_VNET_F_NEEDS_CSUM, 34, 6},
		{"UDP6", 6, 17, false, 0, 0, 1, ENC_VNET_F_NEEDS_CSUM, 54, 6},
		{"TCP4 alone", 4, 6, false, 0, 0, 1, ENC_VNET_F_NEEDS_CSUM, 34, 16},
		{"TCP6 alone", 6, 6, false, 0, 0, 1, ENC_VNET_F_NEEDS_CSUM, 54, 16},
		{"TCP4 IHL 6", 4, 6, false, 4, 0, 1, ENC_VNET_F_NEEDS_CSUM, 38, 16},
		{"UDP4 VLAN", 4, 17, true, 0, 0, 1, ENC_VNET_F_NEEDS_CSUM, 38, 6},
		/* the kernel then trusts the field: only a full checksum belongs here */
		{"TCP6 behind options", 6, 6, false, 0, 8, 1, ENC_VNET_F_DATA_VALID, 0, 0},
		{"UDP4 complete", 4, 17, false, 0, 0, 0, ENC_VNET_F_DATA_VALID, 0, 0},
	};

	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		uint8_t f[1600];
		struct gro_fix x;
		struct lay y;
		struct spec s = cases[k].proto == 6 ? tcp4(500) : udp(4, 500);
		size_t len;

		s.ver = cases[k].ver;
		s.vlan = cases[k].vlan;
		s.ip4opts = cases[k].ip4opts;
		s.ext = cases[k].ext;
		len = mk(f, &s, &y);
		gro_fix_init(&x, 65600);
		enc_gro_add(&x.g, f, len, cases[k].flags);
		enc_gro_flush(&x.g);
		cr_assert_eq(NE, 1, "%s", cases[k].what);
		cr_assert_eq(E[0].vh.gso_type, 0, "%s", cases[k].what);
		cr_assert_eq(E[0].vh.flags, cases[k].vflags, "%s", cases[k].what);
		cr_assert_eq(E[0].vh.csum_start, cases[k].start, "%s", cases[k].what);
		cr_assert_eq(E[0].vh.csum_offset, cases[k].off, "%s", cases[k].what);
		cr_assert_eq(E[0].len, len);
		cr_assert_eq(memcmp(E[0].f, f, len), 0);
		cr_assert_eq(x.g.single, 1);
		gro_fix_fini(&x);
	}
}

Test(gro, short_or_odd_frames_pass_alone)
{
	uint8_t f[1600];
	struct gro_fix x;
	struct lay y;
	size_t len = seg(f, &y, 0, 1448, 0x10);

	gro_fix_init(&x, 65600);
	enc_gro_add(&x.g, f, 10, ENC_F_CSUM_PARTIAL);	   /* no Ethernet header */
	enc_gro_add(&x.g, f, 14 + 30, ENC_F_CSUM_PARTIAL); /* cut in the TCP header */
	enc_gro_add(&x.g, f, len - 1, ENC_F_CSUM_PARTIAL); /* IP length says more */
	f[12] = 0x08;
	f[13] = 0x06; /* ARP */
	enc_gro_add(&x.g, f, 42, 0);
	enc_gro_flush(&x.g);
	cr_assert_eq(NE, 4);
	cr_assert_eq(E[0].vh.flags, ENC_VNET_F_DATA_VALID);
	cr_assert_eq(E[1].vh.flags, ENC_VNET_F_DATA_VALID);
	cr_assert_eq(E[2].vh.flags, ENC_VNET_F_NEEDS_CSUM); /* its header is whole */
	cr_assert_eq(E[2].vh.gso_type, 0);
	cr_assert_eq(E[3].vh.flags, ENC_VNET_F_DATA_VALID);
	gro_fix_fini(&x);
}

Test(split, udp_behind_extension_headers_never_sends_a_zero_checksum)
{
	uint8_t *f = frame_buf();
	struct split_out o;
	struct lay y;
	struct spec s = udp(6, 100);
	size_t len;
	uint16_t r;

	s.ext = 8;
	len = mk(f, &s, &y);
	/* change the last payload word so that the sum comes out 0 */
	wr16(f + len - 2, 0);
	r = (uint16_t)~ref_fold(ref_pseudo(f, &y, 6, 17, len - y.l4) +
				ref_sum(f + y.l4, len - y.l4) - rd16(f + y.l4 + 6));
	wr16(f + len - 2, r);
	cr_assert_eq((uint16_t)~ref_fold(ref_pseudo(f, &y, 6, 17, len - y.l4) +
					 ref_sum(f + y.l4, len - y.l4) - rd16(f + y.l4 + 6)),
		     0);
	struct enc_vnet vh = {.flags = 1, .gso_type = ENC_VNET_GSO_UDP_L4, .gso_size = 100};

	do_split(&o, &vh, f, len);
	cr_assert_eq(o.n, 1);
	cr_assert_eq(o.segs[0].flags, 0);
	cr_assert_eq(rd16(o.out + HEADROOM + y.l4 + 6), 0xffff);
	free(o.out);
	free(f);
}

/* IPv6 segments: seq n*1428. */
static size_t seg6(uint8_t *f, struct lay *y, uint32_t idx, bool vlan)
{
	struct spec s = tcp6(1428);

	s.seq = 1000 + idx * 1428;
	s.seed = (uint8_t)idx;
	s.vlan = vlan;
	return mk(f, &s, y);
}

Test(gro, ipv6_fields_keep_segments_apart)
{
	static const struct {
		const char *what;
		size_t at;
		uint8_t v;
	} cases[] = {
		{"none", 0, 2},
		{"traffic class", 14 + 1, 0x10},
		{"flow label", 14 + 3, 0x46},
		{"hop limit", 14 + 7, 63},
		{"source address", 14 + 23, 9},
		{"dest address", 14 + 39, 9},
		{"ack", 54 + 9, 9},
	};

	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		uint8_t f[1600];
		struct gro_fix x;
		struct lay y;
		size_t len;

		gro_fix_init(&x, 65600);
		len = seg6(f, &y, 0, false);
		enc_gro_add(&x.g, f, len, ENC_F_CSUM_PARTIAL);
		len = seg6(f, &y, 1, false);
		f[cases[k].at] = cases[k].v; /* "none": byte 0 is a MAC byte already 2 */
		enc_gro_add(&x.g, f, len, ENC_F_CSUM_PARTIAL);
		enc_gro_flush(&x.g);
		if (!k) {
			cr_assert_eq(NE, 1);
			cr_assert_eq(E[0].vh.gso_type, ENC_VNET_GSO_TCPV6);
			cr_assert_eq(E[0].vh.gso_size, 1428);
			cr_assert_eq(E[0].vh.csum_start, 54);
			cr_assert_eq(rd16(E[0].f + 18), 32 + 2 * 1428);
		} else {
			cr_assert_eq(NE, 2, "%s: %zu packets", cases[k].what, NE);
			cr_assert_eq(E[0].vh.csum_start, 54);
		}
		gro_fix_fini(&x);
	}
}

Test(gro, vlan_tagged_segments_pass_alone)
{
	uint8_t f[1600];
	struct gro_fix x;
	struct lay y;

	gro_fix_init(&x, 65600);
	for (uint32_t i = 0; i < 3; i++) {
		size_t len = seg6(f, &y, i, true);

		enc_gro_add(&x.g, f, len, ENC_F_CSUM_PARTIAL);
	}
	enc_gro_flush(&x.g);
	cr_assert_eq(NE, 3);
	for (size_t i = 0; i < NE; i++) {
		cr_assert_eq(E[i].vh.gso_type, 0);
		cr_assert_eq(E[i].vh.flags, ENC_VNET_F_NEEDS_CSUM);
		cr_assert_eq(E[i].vh.csum_start, 18 + 40);
	}
	gro_fix_fini(&x);
}
