// SPDX-License-Identifier: MIT
/*
 * DOC: enc_seg - the encrypted datapath's segmentation and coalescing.
 *
 * Send side: the TAP hands over TSO/USO super-packets (IFF_VNET_HDR); they
 * are cut into wire-sized frames laid out for one UDP_SEGMENT send, each
 * TCP/UDP checksum left as the pseudo-header sum (CHECKSUM_PARTIAL) for
 * the receiving kernel to finish: the AEAD protects every byte on the way.
 * Receive side: consecutive segments of one TCP flow are merged back into
 * one GSO write to the TAP (GRO), the rules of the kernel's own GRO and of
 * wireguard-go's tcpGRO.
 *
 * Both sides find a frame's checksum with the same parse() rule, so a
 * frame sent as ENC_F_CSUM_PARTIAL is one the receiver can locate: frames
 * it could not (IPv6 extension headers) leave with complete checksums.
 * Every length is checked against the frame's before a byte is read: the
 * TAP's frames come from containers, the received ones from peers.
 */
#include "vxlan/enc.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define ETH_HLEN     14
#define VLAN_HLEN    4
#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86dd
#define ETH_P_8021Q  0x8100
#define IP4_HLEN     20
#define IP4_MF	     0x2000
#define IP4_OFFSET   0x1fff
#define IP6_HLEN     40
#define IP6_HOPOPTS  0
#define IP6_DSTOPTS  60
#define IP6_EXT_MAX  8 /* extension headers walked at most */
#define IP_MAXLEN    65535
#define PROTO_TCP    6
#define PROTO_UDP    17
#define TCP_HLEN     20
#define TCP_CSUM_OFF 16
#define UDP_HLEN     8
#define UDP_CSUM_OFF 6

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- RFC 1071 ---- */

/*
 * 32-bit loads into four 64-bit accumulators: no carry to propagate inside
 * the loop (one could overflow after 64 GiB, hence the 1 GiB chunks),
 * independent adds, and the compilers vectorise it.  The words are summed
 * in memory order and byte-swapped once at the end, which RFC 1071
 * section 2(B) allows; loads are memcpy()s, so any alignment will do.
 */
static uint64_t sum_native(const uint8_t *p, size_t len)
{
	uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, acc;

	while (len >= 32) {
		size_t n = len < ((size_t)1 << 30) ? len : ((size_t)1 << 30);
		uint64_t b0 = 0, b1 = 0, b2 = 0, b3 = 0;

		n &= ~(size_t)31;
		len -= n;
		for (; n; n -= 32, p += 32) {
			uint32_t w[8];

			memcpy(w, p, sizeof(w));
			b0 += (uint64_t)w[0] + w[4];
			b1 += (uint64_t)w[1] + w[5];
			b2 += (uint64_t)w[2] + w[6];
			b3 += (uint64_t)w[3] + w[7];
		}
		/* fold each to 33 bits so the sums below cannot overflow */
		a0 += (b0 & 0xffffffff) + (b0 >> 32);
		a1 += (b1 & 0xffffffff) + (b1 >> 32);
		a2 += (b2 & 0xffffffff) + (b2 >> 32);
		a3 += (b3 & 0xffffffff) + (b3 >> 32);
	}
	acc = a0 + a1 + a2 + a3;
	for (; len >= 4; len -= 4, p += 4) {
		uint32_t w;

		memcpy(&w, p, sizeof(w));
		acc += w;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, sizeof(w));
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len) /* the odd byte is the first of a word padded with zero */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		acc += p[0];
#else
		acc += (uint32_t)p[0] << 8;
#endif
	return acc;
}

static inline uint16_t fold64(uint64_t acc)
{
	acc = (acc & 0xffffffff) + (acc >> 32);
	acc = (acc & 0xffffffff) + (acc >> 32);
	return enc_csum_fold((uint32_t)acc);
}

uint16_t enc_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t enc_csum_add(uint32_t sum, const void *data, size_t len)
{
	uint16_t s = fold64(sum_native(data, len));

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = (uint16_t)(s << 8 | s >> 8);
#endif
	return fold64((uint64_t)sum + s);
}

/* ---- parsing ---- */

/* Where a frame's headers lie; parse() checked that each fits. */
struct pos {
	size_t l3;     /* the IP header */
	size_t l4;     /* the TCP or UDP header */
	size_t pay;    /* the payload, after the TCP or UDP header */
	uint8_t ver;   /* 4 or 6 */
	uint8_t proto; /* PROTO_TCP or PROTO_UDP */
	bool ext;      /* IPv6 extension headers between l3 and l4 */
};

static int parse_ip6_ext(const uint8_t *f, size_t len, size_t *off, uint8_t *proto)
{
	for (int n = 0; n < IP6_EXT_MAX && (*proto == IP6_HOPOPTS || *proto == IP6_DSTOPTS); n++) {
		size_t hl;

		if (len - *off < 8)
			return -EINVAL;
		hl = ((size_t)f[*off + 1] + 1) * 8;
		if (len - *off < hl)
			return -EINVAL;
		*proto = f[*off];
		*off += hl;
	}
	return 0;
}

/*
 * Ethernet (one 802.1Q tag at most), IPv4 (any IHL, not a fragment) or
 * IPv6 (after hop-by-hop and destination options headers only when ext),
 * then TCP or UDP.  0, or -EINVAL when it is none of these or a header
 * does not fit in len.  The IP length fields are not looked at.
 */
static int parse(const uint8_t *f, size_t len, bool ext, struct pos *p)
{
	size_t off = ETH_HLEN;
	uint16_t type;
	uint8_t proto;

	if (len < ETH_HLEN)
		return -EINVAL;
	type = get16(f + 12);
	if (type == ETH_P_8021Q) {
		if (len < ETH_HLEN + VLAN_HLEN)
			return -EINVAL;
		type = get16(f + 16);
		off += VLAN_HLEN;
	}
	p->l3 = off;
	p->ext = false;
	if (type == ETH_P_IP) {
		size_t ihl;

		if (len - off < IP4_HLEN || f[off] >> 4 != 4)
			return -EINVAL;
		ihl = (size_t)(f[off] & 15) * 4;
		if (ihl < IP4_HLEN || len - off < ihl || get16(f + off + 6) & (IP4_MF | IP4_OFFSET))
			return -EINVAL;
		p->ver = 4;
		proto = f[off + 9];
		off += ihl;
	} else if (type == ETH_P_IPV6) {
		if (len - off < IP6_HLEN || f[off] >> 4 != 6)
			return -EINVAL;
		p->ver = 6;
		proto = f[off + 6];
		off += IP6_HLEN;
		if (ext && parse_ip6_ext(f, len, &off, &proto))
			return -EINVAL;
		p->ext = off != p->l3 + IP6_HLEN;
	} else {
		return -EINVAL;
	}
	p->proto = proto;
	p->l4 = off;
	if (proto == PROTO_TCP) {
		size_t doff;

		if (len - off < TCP_HLEN)
			return -EINVAL;
		doff = (size_t)(f[off + 12] >> 4) * 4;
		if (doff < TCP_HLEN || len - off < doff)
			return -EINVAL;
		p->pay = off + doff;
	} else if (proto == PROTO_UDP) {
		if (len - off < UDP_HLEN)
			return -EINVAL;
		p->pay = off + UDP_HLEN;
	} else {
		return -EINVAL;
	}
	return 0;
}

static inline size_t csum_off(uint8_t proto)
{
	return proto == PROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF;
}

/* The pseudo-header's addresses and protocol, summed: add the L4 length. */
static uint32_t pseudo_base(const uint8_t *f, const struct pos *p)
{
	if (p->ver == 4)
		return enc_csum_add(p->proto, f + p->l3 + 12, 8);
	return enc_csum_add(p->proto, f + p->l3 + 8, 32);
}

/* ---- segmentation ---- */

struct split {
	uint8_t *out;
	size_t cap, headroom, tailroom, max;
	struct enc_seg *segs;
	size_t stride;
};

/* Set s->stride for n segments of at most seg bytes, the last of last
 * bytes: 0, or -ENOSPC when they need more than max slots or cap bytes. */
static int layout(struct split *s, size_t n, size_t seg, size_t last)
{
	size_t st, need;

	if (n > s->max || n > INT32_MAX)
		return -ENOSPC;
	if (__builtin_add_overflow(s->headroom, seg, &st) ||
	    __builtin_add_overflow(st, s->tailroom, &st) ||
	    __builtin_mul_overflow(n - 1, st, &need) ||
	    __builtin_add_overflow(need, st - seg + last, &need) || need > s->cap)
		return -ENOSPC;
	s->stride = st;
	return 0;
}

/* Finish a checksum in software: RFC 1071 over l4len bytes whose field
 * holds the pseudo-header sum, as the kernel's skb_checksum_help(). */
static void csum_complete(uint8_t *l4, size_t l4len, uint8_t proto)
{
	uint16_t c = (uint16_t)~enc_csum_fold(enc_csum_add(0, l4, l4len));

	if (proto == PROTO_UDP && !c)
		c = 0xffff; /* 0 means "no checksum" in UDP */
	put16(l4 + csum_off(proto), c);
}

static int split_none(const struct enc_vnet *vh, const uint8_t *f, size_t len, struct split *s)
{
	size_t cs = vh->csum_start, co = vh->csum_offset;
	bool csum = vh->flags & ENC_VNET_F_NEEDS_CSUM;
	uint8_t *d, flags = 0;
	struct pos p;
	int err;

	if (csum && (cs >= len || co + 2 > len - cs))
		return -EINVAL;
	err = layout(s, 1, len, len);
	if (err)
		return err;
	d = s->out + s->headroom;
	memcpy(d, f, len);
	if (csum) {
		if (!parse(f, len, false, &p) && cs == p.l4 && co == csum_off(p.proto))
			flags = ENC_F_CSUM_PARTIAL;
		else /* as skb_checksum_help(): it may not be UDP, so no 0 rule */
			put16(d + cs + co,
			      (uint16_t)~enc_csum_fold(enc_csum_add(0, d + cs, len - cs)));
	}
	s->segs[0] = (struct enc_seg){.off = s->headroom, .len = len, .flags = flags};
	return 1;
}

/* The IPv4 header's sum without total length, id and checksum. */
static uint32_t ip4_base(const uint8_t *ip, size_t ihl)
{
	uint8_t h[60];

	memcpy(h, ip, ihl);
	memset(h + 2, 0, 4);
	memset(h + 10, 0, 2);
	return enc_csum_add(0, h, ihl);
}

/* One segment's headers, after they were copied from the super-packet. */
static void seg_fix(uint8_t *d, const struct pos *p, size_t slen, size_t i, size_t n,
		    const uint8_t *f, uint32_t ipbase, uint32_t base, size_t gso)
{
	size_t l4len = slen - p->l4;

	if (p->ver == 4) {
		uint16_t id = (uint16_t)(get16(f + p->l3 + 4) + i);
		uint32_t tot = (uint32_t)(slen - p->l3);

		put16(d + p->l3 + 2, tot);
		put16(d + p->l3 + 4, id);
		put16(d + p->l3 + 10, (uint16_t)~enc_csum_fold(ipbase + tot + id));
	} else {
		put16(d + p->l3 + 4, (uint32_t)(slen - p->l3 - IP6_HLEN));
	}
	if (p->proto == PROTO_TCP) {
		uint8_t fl = f[p->l4 + 13];

		if (i + 1 < n)
			fl &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (i)
			fl &= (uint8_t)~TCP_CWR;
		d[p->l4 + 13] = fl;
		put32(d + p->l4 + 4, get32(f + p->l4 + 4) + (uint32_t)(i * gso));
	} else {
		put16(d + p->l4 + 4, (uint32_t)l4len);
	}
	put16(d + p->l4 + csum_off(p->proto), enc_csum_fold(base + (uint32_t)l4len));
	/* Behind extension headers the receiver would not find the field
	 * (it parses without them): send the checksum complete. */
	if (p->ext)
		csum_complete(d + p->l4, l4len, p->proto);
}

/* GSO_TCPV4/TCPV6 (ver 4 or 6, proto TCP) and GSO_UDP_L4 (ver 0: either). */
static int split_gso(const struct enc_vnet *vh, const uint8_t *f, size_t len, uint8_t ver,
		     uint8_t proto, struct split *s)
{
	size_t gso = vh->gso_size, pay, n, seg;
	uint32_t base, ipbase = 0;
	struct pos p;
	int err;

	/* hdr_len is not trusted: the kernel may set it to the whole first
	 * segment (forwarding path); the headers are parsed instead. */
	if (!gso || parse(f, len, true, &p) || p.proto != proto || (ver && p.ver != ver))
		return -EINVAL;
	pay = len - p.pay;
	n = pay ? (pay - 1) / gso + 1 : 1;
	seg = p.pay + (pay < gso ? pay : gso);
	if (seg - p.l3 - (p.ver == 6 ? IP6_HLEN : 0) > IP_MAXLEN)
		return -EINVAL;
	err = layout(s, n, seg, len - (n - 1) * gso);
	if (err)
		return err;
	base = pseudo_base(f, &p);
	if (p.ver == 4)
		ipbase = ip4_base(f + p.l3, p.l4 - p.l3);
	for (size_t i = 0; i < n; i++) {
		size_t off = i * s->stride + s->headroom;
		size_t chunk = i + 1 < n ? gso : pay - i * gso;
		uint8_t *d = s->out + off;

		memcpy(d, f, p.pay);
		memcpy(d + p.pay, f + p.pay + i * gso, chunk);
		seg_fix(d, &p, p.pay + chunk, i, n, f, ipbase, base, gso);
		s->segs[i] = (struct enc_seg){
			.off = off,
			.len = p.pay + chunk,
			.flags = p.ext ? 0 : ENC_F_CSUM_PARTIAL,
		};
	}
	return (int)n;
}

int enc_seg_split(const struct enc_vnet *vh, const uint8_t *frame, size_t len, uint8_t *out,
		  size_t cap, size_t headroom, size_t tailroom, struct enc_seg *segs, size_t max,
		  size_t *stride)
{
	struct split s = {
		.out = out,
		.cap = cap,
		.headroom = headroom,
		.tailroom = tailroom,
		.max = max,
		.segs = segs,
	};
	int n;

	*stride = 0;
	if (len < ENC_FRAME_MIN)
		return -EINVAL;
	switch (vh->gso_type) {
	case ENC_VNET_GSO_NONE:
		n = split_none(vh, frame, len, &s);
		break;
	case ENC_VNET_GSO_TCPV4:
	case ENC_VNET_GSO_TCPV4 | ENC_VNET_GSO_ECN:
		n = split_gso(vh, frame, len, 4, PROTO_TCP, &s);
		break;
	case ENC_VNET_GSO_TCPV6:
	case ENC_VNET_GSO_TCPV6 | ENC_VNET_GSO_ECN:
		n = split_gso(vh, frame, len, 6, PROTO_TCP, &s);
		break;
	case ENC_VNET_GSO_UDP_L4:
		n = split_gso(vh, frame, len, 0, PROTO_UDP, &s);
		break;
	default:
		return -EINVAL;
	}
	if (n > 0)
		*stride = s.stride;
	return n;
}

/* ---- coalescing ---- */

void enc_gro_init(struct enc_gro *g, uint8_t *buf, size_t cap,
		  void (*emit_cb)(void *arg, const struct enc_vnet *vh, const uint8_t *frame,
				  size_t len),
		  void *arg)
{
	memset(g, 0, sizeof(*g));
	g->buf = buf;
	g->cap = cap;
	g->emit_cb = emit_cb;
	g->arg = arg;
}

/* A frame on its own: CHECKSUM_PARTIAL where its checksum is found (as
 * the sender marked it), else DATA_VALID, which the AEAD backs. */
static void emit_one(struct enc_gro *g, const uint8_t *f, size_t len, uint8_t flags)
{
	struct enc_vnet vh = {.flags = ENC_VNET_F_DATA_VALID};
	struct pos p;

	if ((flags & ENC_F_CSUM_PARTIAL) && !parse(f, len, false, &p)) {
		vh.flags = ENC_VNET_F_NEEDS_CSUM;
		vh.hdr_len = (uint16_t)p.pay;
		vh.csum_start = (uint16_t)p.l4;
		vh.csum_offset = (uint16_t)csum_off(p.proto);
	}
	g->single++;
	g->emit_cb(g->arg, &vh, f, len);
}

/* A TCP segment that may start or join a merged packet: untagged, IPv4
 * with IHL 5 or IPv6 without extension headers, its IP length the frame's,
 * flags exactly ACK or ACK|PSH, some payload. */
static bool gro_candidate(const uint8_t *f, size_t len, uint8_t flags, struct pos *p)
{
	uint8_t tf;

	if (!(flags & ENC_F_CSUM_PARTIAL) || parse(f, len, false, p) || p->proto != PROTO_TCP ||
	    p->l3 != ETH_HLEN || p->pay == len)
		return false;
	if (p->ver == 4 ? p->l4 != ETH_HLEN + IP4_HLEN || get16(f + ETH_HLEN + 2) != len - ETH_HLEN
			: get16(f + ETH_HLEN + 4) != len - ETH_HLEN - IP6_HLEN)
		return false;
	tf = f[p->l4 + 13];
	return tf == TCP_ACK || tf == (TCP_ACK | TCP_PSH);
}

/* Does candidate f continue the pending packet?  Its Ethernet header
 * equal means the same IP version, so the same offsets as the pending's. */
static bool gro_joins(const struct enc_gro *g, const uint8_t *f, size_t len, const struct pos *p)
{
	const uint8_t *b = g->buf;
	size_t l3 = ETH_HLEN, l4 = p->l4, pay = len - p->pay;

	/* IPv4's total length counts its header, IPv6's payload length not */
	if (!g->len || g->closed || pay > g->vh.gso_size || pay > g->cap - g->len ||
	    g->len + pay - (p->ver == 4 ? l3 : l4) > IP_MAXLEN)
		return false;
	if (memcmp(b, f, ETH_HLEN))
		return false;
	if (p->ver == 4) {
		/* ToS; DF (no fragment: the whole word), TTL, protocol; addresses */
		if (b[l3 + 1] != f[l3 + 1] || memcmp(b + l3 + 6, f + l3 + 6, 4) ||
		    memcmp(b + l3 + 12, f + l3 + 12, 8))
			return false;
	} else if (memcmp(b + l3, f + l3, 4) || memcmp(b + l3 + 6, f + l3 + 6, 34)) {
		/* class and flow label; next header, hop limit, addresses */
		return false;
	}
	/* ports; ack and header length; flags but PSH (the pending has none);
	 * options, byte for byte */
	if (memcmp(b + l4, f + l4, 4) || memcmp(b + l4 + 8, f + l4 + 8, 5) ||
	    ((b[l4 + 13] ^ f[l4 + 13]) & (uint8_t)~TCP_PSH) ||
	    memcmp(b + l4 + TCP_HLEN, f + l4 + TCP_HLEN, p->pay - l4 - TCP_HLEN))
		return false;
	return get32(f + l4 + 4) == g->next_seq;
}

void enc_gro_add(struct enc_gro *g, const uint8_t *frame, size_t len, uint8_t flags)
{
	struct pos p;
	size_t pay;
	bool psh;

	if (!gro_candidate(frame, len, flags, &p)) {
		enc_gro_flush(g);
		emit_one(g, frame, len, flags);
		return;
	}
	pay = len - p.pay;
	psh = frame[p.l4 + 13] & TCP_PSH;
	if (gro_joins(g, frame, len, &p)) {
		memcpy(g->buf + g->len, frame + p.pay, pay);
		g->len += pay;
		g->segs++;
		g->next_seq += (uint32_t)pay;
		if (psh)
			g->buf[p.l4 + 13] |= TCP_PSH;
		/* a PSH or a short segment is the last one */
		g->closed = psh || pay < g->vh.gso_size;
		return;
	}
	enc_gro_flush(g);
	if (psh || len > g->cap) {
		emit_one(g, frame, len, flags);
		return;
	}
	memcpy(g->buf, frame, len);
	g->len = len;
	g->segs = 1;
	g->closed = 0;
	g->next_seq = get32(frame + p.l4 + 4) + (uint32_t)pay;
	g->vh.gso_size = (uint16_t)pay; /* <= 65535 - 40: the IP length matched */
}

void enc_gro_flush(struct enc_gro *g)
{
	uint8_t *b = g->buf;
	size_t len = g->len, l4;
	unsigned segs = g->segs;
	uint32_t base;

	if (!len)
		return;
	g->len = 0;
	g->segs = 0;
	g->closed = 0;
	if (segs == 1) {
		emit_one(g, b, len, ENC_F_CSUM_PARTIAL);
		return;
	}
	if (get16(b + 12) == ETH_P_IP) {
		l4 = ETH_HLEN + IP4_HLEN;
		put16(b + ETH_HLEN + 2, (uint32_t)(len - ETH_HLEN));
		put16(b + ETH_HLEN + 10, 0);
		put16(b + ETH_HLEN + 10,
		      (uint16_t)~enc_csum_fold(enc_csum_add(0, b + ETH_HLEN, 20)));
		base = enc_csum_add(PROTO_TCP, b + ETH_HLEN + 12, 8);
		g->vh.gso_type = ENC_VNET_GSO_TCPV4;
	} else {
		l4 = ETH_HLEN + IP6_HLEN;
		put16(b + ETH_HLEN + 4, (uint32_t)(len - l4));
		base = enc_csum_add(PROTO_TCP, b + ETH_HLEN + 8, 32);
		g->vh.gso_type = ENC_VNET_GSO_TCPV6;
	}
	put16(b + l4 + TCP_CSUM_OFF, enc_csum_fold(base + (uint32_t)(len - l4)));
	g->vh.flags = ENC_VNET_F_NEEDS_CSUM;
	g->vh.hdr_len = (uint16_t)(l4 + (b[l4 + 12] >> 4) * 4);
	g->vh.csum_start = (uint16_t)l4;
	g->vh.csum_offset = TCP_CSUM_OFF;
	g->merged += segs;
	g->emit_cb(g->arg, &g->vh, b, len);
}
