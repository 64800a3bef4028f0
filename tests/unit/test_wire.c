// SPDX-License-Identifier: MIT
/*
 * Unit tests for gossip/wire.h (wire.c, lzw.c, crypt.c, stream.c):
 * byte-exact encodes against the captured packets of memberlist-wire.md §15,
 * the decoder acceptance matrix of §8.2, LZW (hand-derived vectors, round
 * trips across the 4095-code reset, broken input), CRC and compound
 * framing, the packet walk, AES-GCM versions 0 and 1 with key rotation,
 * push/pull, and the incremental stream reader fed one byte at a time,
 * plain, compressed and encrypted.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <criterion/criterion.h>

#include "gossip/wire.h"

/* "0c ac 39 'Node' a1" -> bytes: hex pairs and quoted ASCII. */
static size_t hx(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*s) {
		if (isspace((unsigned char)*s)) {
			s++;
		} else if (*s == '\'') {
			for (s++; *s && *s != '\''; s++) {
				cr_assert_lt(n, cap);
				out[n++] = (uint8_t)*s;
			}
			cr_assert_eq(*s, '\'', "unterminated quote");
			s++;
		} else {
			unsigned v;

			cr_assert(sscanf(s, "%2x", &v) == 1 && isxdigit((unsigned char)s[1]),
				  "bad hex near '%s'", s);
			cr_assert_lt(n, cap);
			out[n++] = (uint8_t)v;
			s += 2;
		}
	}
	return n;
}

static void assert_bytes(const uint8_t *got, size_t glen, const uint8_t *want, size_t wlen)
{
	cr_assert_eq(glen, wlen, "length %zu, want %zu", glen, wlen);
	for (size_t i = 0; i < wlen; i++)
		cr_assert_eq(got[i], want[i], "byte %zu: %02x, want %02x", i, got[i], want[i]);
}

static struct in_addr ip4(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* ---- §15 vectors -------------------------------------------------------------------------- */

#define ALIVE_A                                                                                    \
	"04 86 a4 'Addr' a4 7f 00 00 01 ab 'Incarnation' 01 a4 'Meta' b0 ff 82 a4 'role' a3 "      \
	"'web' "                                                                                   \
	"a2 'dc' a1 'x' a4 'Node' a1 'a' a4 'Port' cd 46 1a a3 'Vsn' a6 01 05 02 02 05 05"
#define ALIVE_B                                                                                    \
	"04 86 a4 'Addr' a4 7f 00 00 02 ab 'Incarnation' 01 a4 'Meta' a2 ff 80 a4 'Node' a1 'b' "  \
	"a4 'Port' cd 46 1a a3 'Vsn' a6 01 05 02 02 05 05"
#define PING_B                                                                                     \
	"00 85 a4 'Node' a1 'a' a5 'SeqNo' 01 aa 'SourceAddr' a4 7f 00 00 02 aa 'SourceNode' a1 "  \
	"'b' "                                                                                     \
	"aa 'SourcePort' cd 46 1a"
#define NACK_14	   "0b 81 a5 'SeqNo' 0e"
#define SUSPECT_C  "03 83 a4 'From' a1 'b' ab 'Incarnation' 01 a4 'Node' a1 'c'"
#define TCP_ACK_14 "02 82 a7 'Payload' c0 a5 'SeqNo' 0e"

static struct gw_msg msg_ping_b(void)
{
	struct gw_msg m = {.type = GW_PING};

	m.u.ping.seq = 1;
	strcpy(m.u.ping.node, "a");
	m.u.ping.src_addr = ip4("127.0.0.2");
	m.u.ping.src_port = 17946;
	strcpy(m.u.ping.src_node, "b");
	return m;
}

static struct gw_msg msg_alive(const char *node, const char *ip, const char *meta_hex)
{
	struct gw_msg m = {.type = GW_ALIVE};

	m.u.alive.inc = 1;
	strcpy(m.u.alive.node, node);
	m.u.alive.addr = ip4(ip);
	m.u.alive.port = 17946;
	m.u.alive.meta_len = hx(meta_hex, m.u.alive.meta, sizeof(m.u.alive.meta));
	memcpy(m.u.alive.vsn, gw_vsn_default, GW_VSN_LEN);
	return m;
}

static struct gw_msg msg_nack14(void)
{
	struct gw_msg m = {.type = GW_NACK};

	m.u.nack.seq = 14;
	return m;
}

static struct gw_msg msg_suspect_c(void)
{
	struct gw_msg m = {.type = GW_SUSPECT};

	m.u.suspect.inc = 1;
	strcpy(m.u.suspect.node, "c");
	strcpy(m.u.suspect.from, "b");
	return m;
}

static struct gw_msg msg_tcp_ack14(void)
{
	struct gw_msg m = {.type = GW_ACK};

	m.u.ack.seq = 14;
	return m;
}

static void assert_msg_eq(const struct gw_msg *a, const struct gw_msg *b)
{
	cr_assert_eq(a->type, b->type);
	switch (a->type) {
	case GW_PING:
		cr_assert_eq(a->u.ping.seq, b->u.ping.seq);
		cr_assert_str_eq(a->u.ping.node, b->u.ping.node);
		cr_assert_eq(a->u.ping.src_addr.s_addr, b->u.ping.src_addr.s_addr);
		cr_assert_eq(a->u.ping.src_port, b->u.ping.src_port);
		cr_assert_str_eq(a->u.ping.src_node, b->u.ping.src_node);
		break;
	case GW_ALIVE:
		cr_assert_eq(a->u.alive.inc, b->u.alive.inc);
		cr_assert_str_eq(a->u.alive.node, b->u.alive.node);
		cr_assert_eq(a->u.alive.addr.s_addr, b->u.alive.addr.s_addr);
		cr_assert_eq(a->u.alive.port, b->u.alive.port);
		cr_assert_eq(a->u.alive.meta_len, b->u.alive.meta_len);
		cr_assert_arr_eq(a->u.alive.meta, b->u.alive.meta, a->u.alive.meta_len);
		cr_assert_arr_eq(a->u.alive.vsn, b->u.alive.vsn, GW_VSN_LEN);
		break;
	case GW_NACK:
		cr_assert_eq(a->u.nack.seq, b->u.nack.seq);
		break;
	case GW_SUSPECT:
	case GW_DEAD:
		cr_assert_eq(a->u.suspect.inc, b->u.suspect.inc);
		cr_assert_str_eq(a->u.suspect.node, b->u.suspect.node);
		cr_assert_str_eq(a->u.suspect.from, b->u.suspect.from);
		break;
	case GW_ACK:
		cr_assert_eq(a->u.ack.seq, b->u.ack.seq);
		cr_assert_eq(a->u.ack.payload_len, b->u.ack.payload_len);
		if (a->u.ack.payload_len)
			cr_assert_arr_eq(a->u.ack.payload, b->u.ack.payload, a->u.ack.payload_len);
		break;
	default:
		cr_assert_fail("type %d not compared", a->type);
	}
}

struct vec {
	const char *name;
	struct gw_msg (*make)(void);
	const char *hex;
};

static struct gw_msg msg_alive_a(void)
{
	return msg_alive("a", "127.0.0.1", "ff 82 a4 'role' a3 'web' a2 'dc' a1 'x'");
}

static struct gw_msg msg_alive_b(void)
{
	return msg_alive("b", "127.0.0.2", "ff 80");
}

static const struct vec vectors[] = {
	{"15.1 ping", msg_ping_b, PING_B},
	{"15.3 alive a", msg_alive_a, ALIVE_A},
	{"15.3 alive b", msg_alive_b, ALIVE_B},
	{"15.4 nack", msg_nack14, NACK_14},
	{"15.4 suspect", msg_suspect_c, SUSPECT_C},
	{"15.2/10.2 tcp ack", msg_tcp_ack14, TCP_ACK_14},
};

Test(wire_vec, encode_decode_exact)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t want[256], got[256];
		size_t wlen = hx(vectors[i].hex, want, sizeof(want)), glen;
		struct gw_msg m = vectors[i].make(), d;

		cr_log_info("vector %s", vectors[i].name);
		cr_assert_eq(gw_msg_encode(&m, got, sizeof(got), &glen), 0);
		assert_bytes(got, glen, want, wlen);
		cr_assert_eq(gw_msg_decode(want, wlen, &d), 0, "%s", vectors[i].name);
		assert_msg_eq(&d, &m);
		/* one byte short of the space needed */
		cr_assert_eq(gw_msg_encode(&m, got, wlen - 1, &glen), -ENOSPC);
	}
}

Test(wire_vec, ping_sizes_and_pieces)
{
	uint8_t b[128];
	size_t n;
	struct gw_msg m = msg_ping_b();

	cr_assert_eq(gw_msg_encode(&m, b, sizeof(b), &n), 0);
	cr_assert_eq(n, 59); /* §15.1: 59 bytes */
	/* Vsn and a 4-byte IP, exactly as Go writes them (§8.1) */
	uint8_t al[160], vsn[7], ipb[5];
	struct gw_msg a = msg_alive_b();

	cr_assert_eq(gw_msg_encode(&a, al, sizeof(al), &n), 0);
	hx("a6 01 05 02 02 05 05", vsn, 7);
	hx("a4 7f 00 00 02", ipb, 5);
	cr_assert(memmem(al, n, vsn, 7));
	cr_assert(memmem(al, n, ipb, 5));
	/* omitempty: a ping without source fields is a 2-entry map */
	struct gw_msg p = {.type = GW_PING};
	uint8_t want[32];
	size_t wlen = hx("00 82 a4 'Node' a0 a5 'SeqNo' cd 01 00", want, sizeof(want));

	p.u.ping.seq = 256;
	cr_assert_eq(gw_msg_encode(&p, b, sizeof(b), &n), 0);
	assert_bytes(b, n, want, wlen);
}

Test(wire_vec, crc_compound_15_3)
{
	uint8_t p1[128], p2[128], comp[300], pkt[300], want[300];
	size_t l1, l2, clen, plen;
	struct gw_msg a = msg_alive_a(), b = msg_alive_b();
	size_t wlen =
		hx("0c ac 39 06 a9 07 02 00 49 00 3b " ALIVE_A " " ALIVE_B, want, sizeof(want));

	cr_assert_eq(gw_msg_encode(&a, p1, sizeof(p1), &l1), 0);
	cr_assert_eq(gw_msg_encode(&b, p2, sizeof(p2), &l2), 0);
	cr_assert_eq(l1, 73);
	cr_assert_eq(l2, 59);
	const uint8_t *parts[] = {p1, p2};
	size_t lens[] = {l1, l2};

	cr_assert_eq(gw_compound_encode(parts, lens, 2, comp, sizeof(comp), &clen), 0);
	cr_assert_eq(gw_crc_wrap(comp, clen, pkt, sizeof(pkt), &plen), 0);
	cr_assert_eq(plen, 143);
	assert_bytes(pkt, plen, want, wlen);
}

Test(wire_vec, compound_15_4)
{
	uint8_t p1[32], p2[64], comp[128], want[128];
	size_t l1, l2, clen;
	struct gw_msg n = msg_nack14(), s = msg_suspect_c();
	size_t wlen = hx("07 02 00 09 00 1d " NACK_14 " " SUSPECT_C, want, sizeof(want));

	cr_assert_eq(gw_msg_encode(&n, p1, sizeof(p1), &l1), 0);
	cr_assert_eq(gw_msg_encode(&s, p2, sizeof(p2), &l2), 0);
	const uint8_t *parts[] = {p1, p2};
	size_t lens[] = {l1, l2};

	cr_assert_eq(gw_compound_encode(parts, lens, 2, comp, sizeof(comp), &clen), 0);
	cr_assert_eq(clen, 44);
	assert_bytes(comp, clen, want, wlen);
}

/* §15.2: the payload's float values are elided in the fact sheet, so only the
 * framing (str16 of 130 bytes) can be checked, with a stand-in payload. */
Test(wire_vec, ack_with_str16_payload)
{
	uint8_t payload[130], b[200], pre[16], post[16];
	size_t n, npre = hx("02 82 a7 'Payload' da 00 82", pre, sizeof(pre));
	size_t npost = hx("a5 'SeqNo' 01", post, sizeof(post));
	struct gw_msg m = {.type = GW_ACK}, d;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	m.u.ack.seq = 1;
	m.u.ack.payload = payload;
	m.u.ack.payload_len = sizeof(payload);
	cr_assert_eq(gw_msg_encode(&m, b, sizeof(b), &n), 0);
	cr_assert_eq(n, 150); /* §15.2: 150 bytes */
	cr_assert_arr_eq(b, pre, npre);
	cr_assert_arr_eq(b + npre, payload, sizeof(payload));
	cr_assert_arr_eq(b + npre + sizeof(payload), post, npost);
	cr_assert_eq(gw_msg_decode(b, n, &d), 0);
	cr_assert_eq(d.u.ack.payload, b + npre, "payload points into the input");
	assert_msg_eq(&d, &m);
}

/* §15.5: the node part of the join push/pull is given in full; the 585 bytes of
 * user state are not (elided), so a stand-in of that length is used. */
#define PP_15_5_HEAD                                                                               \
	"06 83 a4 'Join' c3 a5 'Nodes' 01 ac 'UserStateLen' cd 02 49 87 a4 'Addr' a4 7f 00 00 02 " \
	"ab 'Incarnation' 01 a4 'Meta' a2 ff 80 a4 'Name' a1 'b' a4 'Port' cd 46 1a a5 'State' "   \
	"00 "                                                                                      \
	"a3 'Vsn' a6 01 05 02 02 05 05"

static void make_pp_15_5(struct gw_pushpull *pp, struct gw_pp_node *nd, uint8_t *us)
{
	memset(nd, 0, sizeof(*nd));
	strcpy(nd->name, "b");
	nd->addr = ip4("127.0.0.2");
	nd->port = 17946;
	nd->inc = 1;
	nd->state = GW_STATE_ALIVE;
	nd->meta[0] = 0xff;
	nd->meta[1] = 0x80;
	nd->meta_len = 2;
	memcpy(nd->vsn, gw_vsn_default, GW_VSN_LEN);
	us[0] = 0x02;
	for (size_t i = 1; i < 585; i++)
		us[i] = (uint8_t)(i % 3 ? 0xc0 : i);
	*pp = (struct gw_pushpull){
		.join = 1, .nodes = nd, .n = 1, .user_state = us, .user_state_len = 585};
}

Test(wire_vec, pushpull_15_5)
{
	struct gw_pushpull pp;
	struct gw_pp_node nd;
	uint8_t us[585], want[128], *out, *z, *fr;
	size_t n, wlen = hx(PP_15_5_HEAD, want, sizeof(want)), zlen, frlen;

	make_pp_15_5(&pp, &nd, us);
	cr_assert_eq(gw_pushpull_encode(&pp, &out, &n), 0);
	cr_assert_eq(n, 681, "§15.5: 681 bytes after LZW decoding");
	cr_assert_arr_eq(out, want, wlen);
	cr_assert_arr_eq(out + wlen, us, 585);

	/* The LZW stream starts as captured: 00 0d 0c 22 a5 e4 4d 1a 37 */
	uint8_t zwant[9];

	hx("00 0d 0c 22 a5 e4 4d 1a 37", zwant, 9);
	cr_assert_eq(gw_lzw_encode(out, n, &z, &zlen), 0);
	cr_assert_arr_eq(z, zwant, 9);
	free(z);

	/* and the stream frame is 09 82 a4 Algo 00 a3 Buf da LL LL */
	uint8_t fwant[16];
	size_t fwl = hx("09 82 a4 'Algo' 00 a3 'Buf' da", fwant, sizeof(fwant));

	cr_assert_eq(gw_stream_frame(NULL, out, n, &fr, &frlen), 0);
	cr_assert_arr_eq(fr, fwant, fwl);
	cr_assert_eq((size_t)(fr[fwl] << 8 | fr[fwl + 1]), frlen - fwl - 2);
	free(fr);
	free(out);
}

/* ---- encode refusals ----------------------------------------------------------------------- */

Test(wire_enc, refusals)
{
	uint8_t b[256];
	size_t n;
	struct gw_msg m = msg_alive_b();

	m.u.alive.vsn[0] = 0; /* pmin 0: Go ignores such an alive */
	cr_assert_eq(gw_msg_encode(&m, b, sizeof(b), &n), -EINVAL);
	m = msg_alive_b();
	m.u.alive.meta_len = GW_META_MAX + 1;
	cr_assert_eq(gw_msg_encode(&m, b, sizeof(b), &n), -EINVAL);
	m = msg_alive_b();
	m.u.alive.node[0] = 0;
	cr_assert_eq(gw_msg_encode(&m, b, sizeof(b), &n), -EINVAL);

	struct gw_msg u = {.type = GW_USER};

	u.u.user.data = b;
	u.u.user.len = 0;
	cr_assert_eq(gw_msg_encode(&u, b, sizeof(b), &n), -EINVAL, "empty user message");
	struct gw_msg w = {.type = GW_COMPOUND};

	cr_assert_eq(gw_msg_encode(&w, b, sizeof(b), &n), -EINVAL);

	const uint8_t *parts[1] = {b};
	size_t zero[1] = {0};

	cr_assert_eq(gw_compound_encode(parts, zero, 1, b, sizeof(b), &n), -EINVAL);
	cr_assert_eq(gw_compound_encode(parts, zero, 0, b, sizeof(b), &n), -EINVAL);
	cr_assert_eq(gw_crc_wrap(b, 0, b, sizeof(b), &n), -EINVAL, "CRC around nothing");
	uint8_t *o;

	cr_assert_eq(gw_compress_wrap(b, 0, &o, &n), -EINVAL);
}

Test(wire_enc, compound_limits)
{
	static uint8_t buf[2 + 2 * 128 + 128 * 2];
	const uint8_t *parts[128];
	size_t lens[128], n;
	uint8_t one[2] = {0x0b, 0x80};

	for (int i = 0; i < 128; i++) {
		parts[i] = one;
		lens[i] = 2;
	}
	cr_assert_eq(gw_compound_encode(parts, lens, 127, buf, sizeof(buf), &n), 0);
	cr_assert_eq(buf[1], 127);
	cr_assert_eq(gw_compound_encode(parts, lens, 128, buf, sizeof(buf), &n), -EINVAL);
	cr_assert_eq(gw_compound_encode(parts, lens, 2, buf, 2 + 4 + 3, &n), -ENOSPC);
}

Test(wire_enc, user_roundtrip)
{
	uint8_t b[16], data[3] = {0x80, 1, 2};
	size_t n;
	struct gw_msg u = {.type = GW_USER}, d;

	u.u.user.data = data;
	u.u.user.len = 3;
	cr_assert_eq(gw_msg_encode(&u, b, sizeof(b), &n), 0);
	cr_assert_eq(n, 4);
	cr_assert_eq(b[0], 8);
	cr_assert_eq(gw_msg_decode(b, n, &d), 0);
	cr_assert_eq(d.type, GW_USER);
	cr_assert_eq(d.u.user.len, 3);
	cr_assert_eq(d.u.user.data, b + 1);
}

Test(wire_enc, indirect_ping_dead_err_roundtrip)
{
	uint8_t b[512];
	size_t n;
	struct gw_msg m = {.type = GW_INDIRECT_PING}, d;

	m.u.iping.seq = 70000;
	m.u.iping.target = ip4("192.0.2.7");
	m.u.iping.port = 7946;
	strcpy(m.u.iping.node, "target");
	m.u.iping.nack = 1;
	cr_assert_eq(gw_msg_encode(&m, b, sizeof(b), &n), 0);
	cr_assert_eq(b[1], 0x85, "3 omitempty source fields left out");
	cr_assert_eq(gw_msg_decode(b, n, &d), 0);
	cr_assert_eq(d.u.iping.seq, 70000);
	cr_assert_eq(d.u.iping.target.s_addr, m.u.iping.target.s_addr);
	cr_assert_eq(d.u.iping.port, 7946);
	cr_assert_str_eq(d.u.iping.node, "target");
	cr_assert_eq(d.u.iping.nack, 1);
	cr_assert_eq(d.u.iping.src_addr.s_addr, 0);

	struct gw_msg e = {.type = GW_ERR};

	strcpy(e.u.err.error, "Remote state is encrypted and encryption is not configured");
	cr_assert_eq(gw_msg_encode(&e, b, sizeof(b), &n), 0);
	cr_assert_eq(b[1], 0x81);
	cr_assert_eq(b[8], 0xda, "58-byte string goes str16, never str8");
	cr_assert_eq(gw_msg_decode(b, n, &d), 0);
	cr_assert_str_eq(d.u.err.error, e.u.err.error);

	struct gw_msg k = {.type = GW_DEAD};

	k.u.dead.inc = 3;
	strcpy(k.u.dead.node, "x");
	strcpy(k.u.dead.from, "x");
	cr_assert_eq(gw_msg_encode(&k, b, sizeof(b), &n), 0);
	cr_assert_eq(b[0], 5);
	cr_assert_eq(gw_msg_decode(b, n, &d), 0);
	assert_msg_eq(&d, &k);
}

/* ---- decoder acceptance matrix (§8.2) ------------------------------------------------------ */

struct dcase {
	const char *name;
	const char *hex;
	int ret;
	void (*check)(const struct gw_msg *m);
};

static void chk_nack14(const struct gw_msg *m)
{
	cr_assert_eq(m->u.nack.seq, 14);
}

static void chk_alive_b(const struct gw_msg *m)
{
	struct gw_msg want = msg_alive_b();

	assert_msg_eq(m, &want);
}

static void chk_ping_nack(const struct gw_msg *m)
{
	cr_assert_eq(m->u.iping.nack, 1);
	cr_assert_eq(m->u.iping.seq, 5);
}

static void chk_ping_empty(const struct gw_msg *m)
{
	cr_assert_eq(m->u.ping.seq, 0);
	cr_assert_str_eq(m->u.ping.node, "");
	cr_assert_eq(m->u.ping.src_addr.s_addr, 0);
}

static void chk_mapped(const struct gw_msg *m)
{
	cr_assert_eq(m->u.ping.src_addr.s_addr, ip4("127.0.0.9").s_addr);
}

static void chk_u32max(const struct gw_msg *m)
{
	cr_assert_eq(m->u.nack.seq, UINT32_MAX);
}

static void chk_ack_arr(const struct gw_msg *m)
{
	cr_assert_eq(m->u.ack.payload_len, 3);
	cr_assert_eq(m->u.ack.payload[0], 1);
	cr_assert_eq(m->u.ack.payload[2], 3);
}

static void chk_short_vsn(const struct gw_msg *m)
{
	static const uint8_t z[GW_VSN_LEN] = {1, 5, 2, 0, 0, 0};

	cr_assert_arr_eq(m->u.alive.vsn, z, GW_VSN_LEN);
}

static const struct dcase dcases[] = {
	{"Go bytes", ALIVE_B, 0, chk_alive_b},
	{"str8 keys and bin byte fields (msgpack-c style)",
	 "04 86 d9 04 'Addr' c4 04 7f 00 00 02 d9 0b 'Incarnation' 01 d9 04 'Meta' c4 02 ff 80 "
	 "d9 04 'Node' d9 01 'b' d9 04 'Port' cd 46 1a d9 03 'Vsn' c4 06 01 05 02 02 05 05",
	 0, chk_alive_b},
	{"keys in any order, wide ints",
	 "04 86 a3 'Vsn' a6 01 05 02 02 05 05 a4 'Port' ce 00 00 46 1a a4 'Node' a1 'b' "
	 "a4 'Meta' a2 ff 80 ab 'Incarnation' cf 00 00 00 00 00 00 00 01 a4 'Addr' a4 7f 00 00 02",
	 0, chk_alive_b},
	{"byte fields as arrays of ints",
	 "04 86 a4 'Addr' 94 7f 00 00 02 ab 'Incarnation' 01 a4 'Meta' 92 cc ff cc 80 a4 'Node' "
	 "a1 'b' a4 'Port' cd 46 1a a3 'Vsn' 96 01 05 02 02 05 05",
	 0, chk_alive_b},
	{"ack payload as fixint array points in place",
	 "02 82 a7 'Payload' 93 01 02 03 a5 'SeqNo' 01", 0, chk_ack_arr},
	{"ack payload as array with u8 elements", "02 81 a7 'Payload' 92 cc ff 01", -EBADMSG, NULL},
	{"unknown keys skipped",
	 "0b 83 a3 'Foo' 92 81 a1 'x' c0 cb 00 00 00 00 00 00 00 00 a5 'SeqNo' 0e a4 'Zzzz' c4 00",
	 0, chk_nack14},
	{"missing keys left zero", "00 80", 0, chk_ping_empty},
	{"nil for string, int and bytes", "00 83 a4 'Node' c0 a5 'SeqNo' c0 aa 'SourceAddr' c0", 0,
	 chk_ping_empty},
	{"bool as c3", "01 82 a4 'Nack' c3 a5 'SeqNo' 05", 0, chk_ping_nack},
	{"bool as fixint 1", "01 82 a4 'Nack' 01 a5 'SeqNo' 05", 0, chk_ping_nack},
	{"bool as 2 rejected", "01 82 a4 'Nack' 02 a5 'SeqNo' 05", -EBADMSG, NULL},
	{"bin-encoded key rejected", "0b 81 c4 05 'SeqNo' 0e", -EBADMSG, NULL},
	{"bin for a string field rejected", "00 81 a4 'Node' c4 01 'a'", -EBADMSG, NULL},
	{"SeqNo 2^32 rejected", "0b 81 a5 'SeqNo' cf 00 00 00 01 00 00 00 00", -EBADMSG, NULL},
	{"SeqNo 2^32-1 accepted", "0b 81 a5 'SeqNo' ce ff ff ff ff", 0, chk_u32max},
	{"negative SeqNo rejected", "0b 81 a5 'SeqNo' ff", -EBADMSG, NULL},
	{"Port 65536 rejected", "04 81 a4 'Port' ce 00 01 00 00", -EBADMSG, NULL},
	{"16-byte mapped IPv4 accepted",
	 "00 81 aa 'SourceAddr' b0 00 00 00 00 00 00 00 00 00 00 ff ff 7f 00 00 09", 0, chk_mapped},
	{"IPv6 address refused",
	 "00 81 aa 'SourceAddr' b0 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01", -EAFNOSUPPORT,
	 NULL},
	{"5-byte address rejected", "00 81 aa 'SourceAddr' a5 01 02 03 04 05", -EBADMSG, NULL},
	{"short Vsn accepted, zero padded", "04 81 a3 'Vsn' a3 01 05 02", 0, chk_short_vsn},
	{"name too long",
	 "03 81 a4 'Node' da 00 80 "
	 "'0123456789012345678901234567890123456789012345678901234567890123'"
	 "'0123456789012345678901234567890123456789012345678901234567890123'",
	 -EBADMSG, NULL},
	{"NUL inside a name", "03 81 a4 'Node' a3 61 00 62", -EBADMSG, NULL},
	{"struct as array not accepted", "0b 91 0e", -EBADMSG, NULL},
	{"truncated map", "0b 82 a5 'SeqNo' 0e", -EBADMSG, NULL},
	{"truncated string", "00 81 a4 'Node' a5 'ab'", -EBADMSG, NULL},
	{"reserved c1", "0b 81 a5 'SeqNo' c1", -EBADMSG, NULL},
	{"float for an int", "0b 81 a5 'SeqNo' ca 00 00 00 00", -EBADMSG, NULL},
	{"deep nesting in a skipped value",
	 "0b 81 a1 'x' 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 "
	 "91 91 91 91 91 91 91 91 91 c0",
	 -EBADMSG, NULL},
	{"huge array count, tiny buffer", "0b 81 a1 'x' dd ff ff ff ff", -EBADMSG, NULL},
	{"compound is not a message", "07 01 00 01 0b", -EPROTONOSUPPORT, NULL},
	{"push/pull is not a UDP message", "06 80", -EPROTONOSUPPORT, NULL},
	{"unknown type", "7e 80", -EPROTONOSUPPORT, NULL},
	{"empty", "", -EBADMSG, NULL},
};

Test(wire_dec, acceptance_matrix)
{
	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		uint8_t b[512];
		size_t n = hx(dcases[i].hex, b, sizeof(b));
		struct gw_msg m;
		int r = gw_msg_decode(b, n, &m);

		cr_assert_eq(r, dcases[i].ret, "%s: got %d want %d", dcases[i].name, r,
			     dcases[i].ret);
		if (!r && dcases[i].check)
			dcases[i].check(&m);
	}
}

Test(wire_dec, every_prefix_of_a_valid_message)
{
	uint8_t b[256];
	size_t n = hx(ALIVE_A, b, sizeof(b));
	struct gw_msg m;

	for (size_t k = 0; k < n; k++) {
		uint8_t *cp = malloc(k ? k : 1); /* exact-size copy: ASan sees overreads */

		memcpy(cp, b, k);
		cr_assert_neq(gw_msg_decode(cp, k, &m), 0, "prefix %zu decoded", k);
		free(cp);
	}
}

/* ---- LZW -------------------------------------------------------------------------------- */

struct lzw_vec {
	const char *in;
	const char *out;
};

/* Derived by hand from Go's LSB bit packing: CLEAR(256), codes at 9 bits, EOF(257), a final
 * partial byte. */
static const struct lzw_vec lzw_vecs[] = {
	{"", "00 03 02"},	     /* CLEAR EOF */
	{"'A'", "00 83 04 04"},	     /* CLEAR 41 EOF */
	{"'AB'", "00 83 08 09 08"},  /* CLEAR 41 42 EOF */
	{"'AAA'", "00 83 08 0c 08"}, /* CLEAR 41 258 EOF: KwKwK on decode */
};

Test(wire_lzw, hand_vectors)
{
	for (size_t i = 0; i < sizeof(lzw_vecs) / sizeof(lzw_vecs[0]); i++) {
		uint8_t in[16], want[16], *z, *d;
		size_t ilen = hx(lzw_vecs[i].in, in, sizeof(in));
		size_t wlen = hx(lzw_vecs[i].out, want, sizeof(want)), zlen, dlen;

		cr_assert_eq(gw_lzw_encode(in, ilen, &z, &zlen), 0);
		assert_bytes(z, zlen, want, wlen);
		cr_assert_eq(gw_lzw_decode(want, wlen, 1 << 20, &d, &dlen), 0);
		assert_bytes(d, dlen, in, ilen);
		free(z);
		free(d);
	}
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

static void lzw_roundtrip(const uint8_t *in, size_t len, size_t *zlen_out)
{
	uint8_t *z, *d;
	size_t zlen, dlen;

	cr_assert_eq(gw_lzw_encode(in, len, &z, &zlen), 0);
	cr_assert_eq(gw_lzw_decode(z, zlen, len, &d, &dlen), 0, "len %zu", len);
	cr_assert_eq(dlen, len);
	if (len)
		cr_assert_arr_eq(d, in, len);
	if (len) {
		uint8_t *d2;

		/* the output limit is exact */
		cr_assert_eq(gw_lzw_decode(z, zlen, len - 1, &d2, &dlen), -E2BIG);
	}
	/* one byte short: the EOF code is gone */
	uint8_t *cut = malloc(zlen - 1);

	memcpy(cut, z, zlen - 1);
	cr_assert_eq(gw_lzw_decode(cut, zlen - 1, len + 1, &d, &dlen), -EBADMSG, "len %zu", len);
	free(cut);
	*zlen_out = zlen;
	free(z);
	free(d);
}

/* Count CLEAR codes by replaying the code widths the decoder would use. */
static unsigned lzw_count_clears(const uint8_t *z, size_t zlen)
{
	uint32_t bits = 0, hi = 257, overflow = 512;
	unsigned nbits = 0, width = 9, clears = 0;
	size_t pos = 0;
	int last_valid = 0;

	for (;;) {
		while (nbits < width) {
			cr_assert_lt(pos, zlen);
			bits |= (uint32_t)z[pos++] << nbits;
			nbits += 8;
		}
		uint32_t code = bits & ((1u << width) - 1);

		bits >>= width;
		nbits -= width;
		if (code == 256) {
			clears++;
			width = 9;
			hi = 257;
			overflow = 512;
			last_valid = 0;
			continue;
		}
		if (code == 257)
			return clears;
		(void)last_valid;
		last_valid = 1;
		if (++hi >= overflow) {
			if (width == 12)
				hi--;
			else {
				width++;
				overflow <<= 1;
			}
		}
	}
}

Test(wire_lzw, roundtrips)
{
	static const size_t sizes[] = {0, 1, 12, 768, 9000, 20000};
	uint32_t seed = 42;

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t len = sizes[k], zlen;
		uint8_t *in = malloc(len + 1);

		for (size_t i = 0; i < len; i++) {
			if (len == 9000)
				in[i] = (uint8_t)lcg(&seed); /* random */
			else if (len == 20000)
				in[i] = (uint8_t) "abcdefgh"[lcg(&seed) % 8]; /* low entropy */
			else
				in[i] = (uint8_t)(i * 31);
		}
		lzw_roundtrip(in, len, &zlen);
		free(in);
	}
}

Test(wire_lzw, code_space_reset)
{
	/* Random bytes give about one code per byte, so 9000 of them run through the
	 * 4095-code limit twice: Go emits CLEAR at start + once per reset. */
	uint32_t seed = 7;
	size_t len = 9000, zlen;
	uint8_t *in = malloc(len), *z;

	for (size_t i = 0; i < len; i++)
		in[i] = (uint8_t)lcg(&seed);
	cr_assert_eq(gw_lzw_encode(in, len, &z, &zlen), 0);
	cr_assert_geq(lzw_count_clears(z, zlen), 3);
	free(z);
	/* low entropy (8 symbols), 20000 bytes: longer matches, still two resets */
	free(in);
	len = 20000;
	in = malloc(len);
	for (size_t i = 0; i < len; i++)
		in[i] = (uint8_t)(lcg(&seed) % 8);
	cr_assert_eq(gw_lzw_encode(in, len, &z, &zlen), 0);
	cr_assert_geq(lzw_count_clears(z, zlen), 2);
	lzw_roundtrip(in, len, &zlen);
	free(z);
	free(in);
}

Test(wire_lzw, decoder_edge_cases)
{
	uint8_t *d;
	size_t dlen;
	uint8_t b[16];
	size_t n;

	/* no CLEAR first is fine for the decoder: 41 EOF */
	n = hx("41 02 02", b, sizeof(b));
	cr_assert_eq(gw_lzw_decode(b, n, 16, &d, &dlen), 0);
	cr_assert_eq(dlen, 1);
	cr_assert_eq(d[0], 'A');
	free(d);
	/* CLEAR in the middle: CLEAR 41 CLEAR 42 EOF */
	n = hx("00 83 00 14 12 10", b, sizeof(b));
	cr_assert_eq(gw_lzw_decode(b, n, 16, &d, &dlen), 0);
	cr_assert_eq(dlen, 2);
	cr_assert_eq(d[1], 'B');
	free(d);
	/* a code above the next free one: CLEAR 41 300 */
	n = hx("00 83 b0 04", b, sizeof(b));
	cr_assert_eq(gw_lzw_decode(b, n, 16, &d, &dlen), -EBADMSG);
	/* code 258 right after CLEAR is undefined */
	n = hx("00 04 00 04", b, sizeof(b));
	cr_assert_eq(gw_lzw_decode(b, n, 16, &d, &dlen), -EBADMSG);
	/* empty input, and CLEAR alone: no EOF */
	cr_assert_eq(gw_lzw_decode(b, 0, 16, &d, &dlen), -EBADMSG);
	n = hx("00 01", b, sizeof(b));
	cr_assert_eq(gw_lzw_decode(b, n, 16, &d, &dlen), -EBADMSG);
	/* trailing bytes after EOF are ignored (Go stops reading) */
	n = hx("00 03 02 ff ff", b, sizeof(b));
	cr_assert_eq(gw_lzw_decode(b, n, 16, &d, &dlen), 0);
	cr_assert_eq(dlen, 0);
	free(d);
}

Test(wire_lzw, full_table_without_clear)
{
	/* Hand-built stream that fills the table to 4095 and keeps going at width 12
	 * (Go's encoder resets first, but its decoder must accept this). */
	uint8_t *z = calloc(1, 16384), *d;
	size_t pos = 0, dlen;
	uint32_t bits = 0, hi = 257, overflow = 512;
	unsigned nbits = 0, width = 9, codes = 0;

#define PUT(c)                                                                                     \
	do {                                                                                       \
		bits |= (uint32_t)(c) << nbits;                                                    \
		nbits += width;                                                                    \
		while (nbits >= 8) {                                                               \
			z[pos++] = (uint8_t)bits;                                                  \
			bits >>= 8;                                                                \
			nbits -= 8;                                                                \
		}                                                                                  \
	} while (0)
	PUT(256);
	for (codes = 0; codes < 5000; codes++) {
		PUT(codes % 7 + 'a');
		if (++hi >= overflow) {
			if (width == 12)
				hi--;
			else {
				width++;
				overflow <<= 1;
			}
		}
	}
	PUT(4095); /* defined: the last entry made before the table filled */
	PUT(257);
	if (nbits)
		z[pos++] = (uint8_t)bits;
#undef PUT
	cr_assert_eq(gw_lzw_decode(z, pos, 1 << 20, &d, &dlen), 0);
	cr_assert_eq(dlen, 5000 + 2);
	free(d);
	free(z);
}

Test(wire_lzw, garbage_never_crashes)
{
	uint32_t seed = 99;

	for (int t = 0; t < 2000; t++) {
		size_t len = lcg(&seed) % 64, dlen;
		uint8_t *in = malloc(len + 1), *d;

		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)lcg(&seed);
		int r = gw_lzw_decode(in, len, 4096, &d, &dlen);

		cr_assert(r == 0 || r == -EBADMSG || r == -E2BIG);
		if (!r)
			free(d);
		free(in);
	}
}

/*
 * Real Go output: the complete TCP push/pull replies of Debian's serf 0.9.4
 * (memberlist 0.2.2, Go compress/lzw) to a push/pull from this codec, captured
 * on loopback (127.0.0.1:17946, node "s1"; our node "cprobe").  The big one
 * carries 24 user events in its user state: 7108 codes, so the encoder reset
 * its code space at 4095 once (two CLEAR codes in all).  Decoding must give
 * a push/pull, and our encoder must reproduce Go's LZW bytes exactly.
 */
static const char GO_PP_SMALL[] = "CYKkQWxnbwCjQnVm2gDIAA0MIqXkTRo3wko5eUOmzJwArKrMKSNnCp0wdMowKeOm"
				  "mQAlh0gFIUNGDqk/AAAEWJXEzZgw"
				  "ctxgTPPGTQBSTcpcFPUPECknYdqUETUnBikob+"
				  "TQaWZEQymLGMsAGGVljhtTAQoIEFBAqyFVRexwpMOEShqhAUyFHTuH"
				  "mwAAwOLKnUu3rt27ePPq3cu3r9+/gAMLHky4sOHDiBMrXsy4seO/"
				  "pcqeLbNyoxk6OduIoTgHkqoodSjmkYyWFVQ6deaQ"
				  "dhiIaAwAAQE=";

static const char GO_PP_BIG[] =
	"CYKkQWxnbwCjQnVm2ibrAA0MIqXkTRo3wko5eUOmzBwBrKrMKSNnCp0wdMowKeOm2YlAh0gFIUNGDqk/"
	"AAA0WZXEzZgw"
	"ctxgTPPGTQBSTcpcFPUPECknYdqUMTUGjpw3YsqQgvJGDp1mRp6UsoixDIBRVua4MRWggAABBQqEHFnyZMoALF3ClE"
	"mH"
	"pk2cOsPw9AlUqKg5MZY2fWpEw9SLGa9m3dr1a1gBhlQVscORDhMqaYRmMLW48RxuAgAAE0SZsRs6cyIJ+"
	"hm0zKgydmKc"
	"ghImD5s3YchoC4AmzRIleLDUKZMlSA4iNmpomcKkhho3ZprYMYIkCBwaOHIgGTPkTJE6UJpQYSJHz400OKogEXMDyp"
	"gm"
	"M5BAYWIFjp62MdbEuMFmCRUYcp7QESKECp4sS6yABhPYIVEHE1hkIYcTaBAhBRIrZHEEE2i0YcYKZzhRURpz0DDEEm"
	"Lk"
	"QQMVOEwhwxp5aPHCDXMkUcccYyDhRIZPCIHFgDZgYUcbLywRhxgwcLTGDEbM8UIYSEwRQxZ2JAGDEUrUgYMUWlBxg3"
	"Nv"
	"zFBDGhQ5kUYeN0QRRhRZkPFEGGME4UYadTyhBBJMhOEEEVXQgQQVRcygRBhVHJGHG2isYQMUULCxIB14BDGGHDjcUU"
	"Ue"
	"TyxkRBNvLJaEHmKwMcUdT5DpBBMt4aFGGkHUEEcSaZwhhw0vQIFDE2rcQMaBIC5hxR1LuFEEFkwMAUUMQtgRRRlYFD"
	"EG"
	"Dm1UIcQYc9wABx025DGFHDkoAYcMZ9QgxwxjmGEFHnoooUceRRSxBA5qqJcEHGJAAYMdNFgxhbVMaKGHEFGsS0UMSw"
	"iR"
	"BhxpWHFDHHAQscILZUShRymPRVZGAJxV9lloo9VlGmoyrNbaa7HNhgYZbgRBxBoyYNFEHEVa4YYWWthwRRtKGHEEHj"
	"PY"
	"YUYWcBgBQxBIYBHDinTUtgKpAgoaBQxwNJGEHFS8UYUbSqB7BslNWEEyHGMoQUQTSMBAgxI5vaCGHFmscQYNeNgxBQ"
	"5Z"
	"5CGGG3gs8YQadazhRh1pQmqGGUUc1cYaarQxRxhsnIHEElioMcQdU8QhB3Y3vIFEGXFIkcYUc2CRhhZKjEFHESsUIc"
	"On"
	"UhxB3ApuVEEDGzXcQMUcQVwhBhY4rPEGFHe0QcMZMIxRRR0zxEHDtm+"
	"IqscRMcwQAx5E3NDpz3VgUYaZQhyBwxxEjMEG"
	"EjWsgYMTalwBAxRPWPFCE3XAMcMNdFifxQx1pGEGzG2osYIRYcSgBxtQoDaDEEbIQxbEMAchvCEKcNBCDm5HBDNM4Q"
	"ov"
	"oIMZ1jeEFZxJCnKwAx2gkIcrzGpXZ7gDFV6QmjGMwQhyeIERctCGIQzJBmMQghyUdgQnlKEORQgCh5bAhCq8LAxzME"
	"KO"
	"8hAHG2ihCSdsQxKKgCYjoA442RmCEaxABTNRgQ04kAPPqvAChkFGKAKImGdAIxrSCOU0dpiBxlwDG9nQJgswEIMS7m"
	"AD"
	"KTQBB0rIgxLUIIYqTGEFYZhBEIqgOizYgHFLgIIQsmCGJPgnDDA4Ahk6NKMhGIsJZqiBq/"
	"CVA5bNYW9MwAMT7qAHNNih"
	"d3iIAg4UOMnVBYENTrASHOCAhDUpIQtveAEWjpIFOrgBDmFYmRbgkIcXgGsMNoiBEswwnxzEgApQcMMLaOCGK1xhBU"
	"qQ"
	"AxmsYIUmFGEOdtBDEPQABycEgQ4yiEIOjhAHGZRBDVOIoQxiELoltPAGQTqDFeQQBhpcQQt3KJIY6nCFM1QBBzJIAx"
	"aw"
	"oIQy2MANLsoDE6TwhDio4WlhsIKq6qAFMYjhBUwQQhDKRi4m0MBWziQDHZ5gBCdQ1IZowEINYmCDIPAwCUkYAxluQE"
	"KC"
	"LqFB7zFC82zAzSZYzg5zeMIdoiCD/"
	"iyhCFkYlBnOIMA3TKE6OCCCrUZSBSv8TgYeXAMRohAEKBhhDDJQQx7mIIMhBAEH"
	"RahmFqqgBjsQUwo0YM6cPhcEmB1ndFXAFinRgB44JIENQqiBE+"
	"rQBDYQYQhRaIIT3NAEImiBDGFQgxcdNgAxWqaMFkMj"
	"DdbIMTeiYVvVXMMT6ogbPUhhDGUwkQ3aIAQpoMtreNCiGWQgqhiw4QpoUKQUYlCFMBjhQkGggeaoMDz2LalITngBG+"
	"zQ"
	"v9e6gQpiqEEShOCEGzAhChTSwhrM0MMoeBUGwD1CGvQQBj247AUrwEEe6IDLOVQuB2PAlRLAVgci5MAJKyjDE5KwBh"
	"i0"
	"YQZskEJgi3CEJFRhDUuQQ1eNUIUb6KEI+"
	"lFD616GhSgIQQxmwoIWsKAHJNAhBk6YoBjgpYcmuIEIzHmDEbCQhyHUYAZt"
	"OJYajmSFKLxhDitogxii4LxZ4SCNTwDkFMrQszQogX0roEIVZpAHO1iBCW9AQxBkAGOYDSEMiYzULp3w5CjkQQhQqA"
	"Ic"
	"rPaCNZDhCE2AAxmSQDkZsGG1TGADLvXwAirEAQtssO8Y0iAoA7UhxziIAqHIAKo0QOEFMxiCDeFMBTrYIQ6eEyUVhG"
	"CD"
	"G6AhB3W7Ah5uUAMaICEOSgiCHc4cLjbAcF5XcEKO6VCHZZbhBUm2wvZyupwqLA0GbHDvZoVCAM9ODLSlQWMNSNtGj9"
	"Uh"
	"B0No1BHqgGI1oOkJWZzgHJxghSGYQQ8yWULs+pqFMKABCRqGsB5wgIMjkW8GdHhBErIQhyFU+"
	"VWFygPjpnCDxBbhx3rI"
	"kjPnwIYcTPINcaiBGXCA2SzAl2VDAOAc1HAHO2AhdHCIwxmAWQMkXEENKspBEYZwBDpgVgpRmAIRilC9lbWhDkb4m/"
	"rI"
	"oIcxJAENVCATHGqjBSO4gQ2tkQEZYJBZDz42C2fDAl35aIMrEisOVIjUGrhbBCkUdDlbssMQpFAcLcT0BjMQQxawsI"
	"Yb"
	"jKFQPHNCE6pABjs84QkzSIMd7CADOiiRvmTIg9f0AAXMkevScsBDDUbX3yh8bYqW7WUNruCGOxSBCle4sR7U2YQprK"
	"EO"
	"MrhBE9bQXdzEoQ5DaAJkR2SEGywhC3pYwQyqUAMx9EoG+KODDYOgBRnAQAqwyxoUsHYHJVwhCTM4A67HEAUs4OF2+"
	"ZND"
	"h/"
	"GE6dTpwXY0eMIYalAGKIhhDG6IQRhsoPopfG3YZSiAsclYsWSjxgbM7hht7CDu+LnBDmrAAx6EUAY42EAPZHiDDbTc"
	"hiM8KgfpUgN3sFhwZwdHoAdDkAZpcAdssAawRQMy8ARysEw18ARFgAOl9ylRlQNo4AYz4AQARAYxQAbg4VVOEElmcA"
	"Uo"
	"AgN1hxx1cANS8HJKkAZRcAVN0gT7Rz5yEAVFkAa9sgJmYAQ0AAMrcAQWmAVXdQdqkAMRJgekVAdIhXRmoAQrIAZD8A"
	"JT"
	"sGZ3AAVoowUzADUtRQRW2CYMYQXwUgcMYQdrEEg5IAZOsAR5EANoswZV2AZGcAY3YAdU4AY4sARDcDwzcATw0wYxUA"
	"Za"
	"sDtIYAZ00AQzFB9V4ASEkgdS8AJFkGdCEAZCMAMwMHZBoARiYASjRAUVZAbVhDINZQVlAGB2qCnwRwRqEHxPoAepcg"
	"MT"
	"xAZ1FQaRcSduNgZHcARIYANCEAdedwV6cCZ6sARkQAPKdDYt0xJR8AJ3QE1VQAQ5VwNtMEtjkAW4RAVBUAWnRAV3IA"
	"N1"
	"cAZQkGo3EHnEARQ+"
	"WASHeARs4FsSaAU1EAR0cwNlQAVIsAYvgANwAH4GMH4UY0YXYwc3kH6mdQXfIQZ3oCWF0l90cAdH"
	"cAVE8AbWZgNKsAZ+"
	"dgV5EGVHIBRmUAU2wARG8AZSoF1YYAQNUWlEoEVZ0ARPoETwZAZ1gAdhkBMPFVtsoDuwYgRBsAZt"
	"QGtQQAZBcAZpZQRwgCFkgAdlQDh4EEFzoAQ5kAVQgAR5YANOMAO2JwRFYANwUAd3gAZXEAdhcAZbdwVLIANVdgSBJI"
	"oW"
	"WAVFEHlXYAR0QAVTYAXRtGRGAGJoUAdqMAdDQAU1oAclcwNasARrYHVBEAd3QAc8QwWHeJR9tIZYIANjYAVwB45KcB"
	"9q"
	"kAR3UAO14wZIUARNEAN1EAWqlGCf5AZC4CZFIAZouQYylQRhIAZIgAO+"
	"MQRpggceaAaWlQZGsAZIEAO2NQZEaAVIAEAW"
	"dQU9ZH0xkARvkwNrcAR2JIL7kgPJxTVaGQSLJAVUYARTAHI28IFhUCpOgAdJYANIEAZx0BQdeAWvNFN2FAZTwAb7MQ"
	"Wd"
	"qIYwkBtzcAZuQCwxIAf+"
	"lVVoEGGoMSA0kANJEG0JR3doEAczwE1xkAVpAAPgdwAAiWxnhBo4YJAekwdEwD9S4Cha8AQ5"
	"YAPtRgNFoATtowYxEAOKlQdKBwNvJ0Q2djkxQAfX14bMRAN5cAQeyARMEE0b+"
	"QRmgAbxaGU2MDcQqAVjwARwwAROYJpR"
	"QF1iyYHaUmCc4gTQOWUwoARkcE1yMAc5gwaZszvvMQT1olxDkDhxkAPDBQNOYATjCEAKaAZakEqqpoRiEAZHAAVpQA"
	"ZV"
	"oAdqMEE5wAQM9pc4RAdRcAZwJJ85IAPBV1ZPwATR4QZkIANycAbVsgZ6sJ5QsAaMYzhGJS251TJaMATV4SYVtxGfgQ"
	"T9"
	"NgZxAAN5sDcXJwRCpgdOkAR0EHCgQQNNkAZ9UgU5QAVEoAdGUAMjwxRGgANCwJhF4AQ6NQTc0zL2NQO3IQVQcANGcA"
	"VY"
	"8AJ18K1s4AZ19SHY9zFqUCMyEAYy0EtGQAV2YwR4MAbAEgNWFQNMcAY2UAVvIANicAZU0ARhoBMxoFFPsAZlEAPpgg"
	"VU"
	"YHxwIARwEAVVgAbzRAYrYGA1YQc2YF5qQAdnRwQ0UAPghwAXWn4Zagc5wKG0gS5GkCtVoGgeBgd24AaRNAZEwARzwA"
	"RT"
	"8Kcy4F6GB4FkcAY3hKNc1AY4YAVZQAPihX+"
	"1AxOaWATrpAeh1IyDVAR6cENRdQW39mSi4wSTBWyPaAZkgAbR5qdKyAQw"
	"oAWxdVoUR1f8xlRZIAQB1hsvMARuIAPOuTds4I2wE0JScAZqcDZBMSBBAANVgAeJJjr06CRqgAMGFgdukAd6YAXfgw"
	"dz"
	"4EE/"
	"QwecagPUYgMMtjk2+ARQMAf3RwQGWDZ5GQc8owf2khpXlAWiG7YzkAXmZbL21AZqEwdl8FEw4AZuAAXyWBxIcAdn"
	"MJptMIm64gQeJQc7d69NAAMOagRFMAU3VgWH+"
	"ARa8AZ3QAQwYKgTJwV1kHcYMQYoVwZj8ASJ4muLmXdaOTts0FdXwEh0"
	"8GNxgAf+0VbHCqDmdgY8mKBH0GlOEAdzMAe486U2VAXQqwW186/"
	"0aEBUgDxZgAa75RQysBFGUAZHAH4JMLICSQqoEQMw"
	"gLIDyqdJmjs0lwNIEz9hkAQ9VwNCQANxcANDUzwr0gRtsIOhZEP0pQSSOwRlYAQyEHX140ig86docD9lUD0r9gbyWA"
	"Zl"
	"AANvgAUlVyVxCAVYoCZ/"
	"GHN3upV6AC5CtAJT0AZLcAeQMr+vMwdoEAaE8zc48HEASFCUUgTRZENXIAdClWD6NAPDCrNR"
	"EBMvgAZ6wFzWBjIvMwVUiwdOAFljgAZil6BP0D14YAUj2QRBYBHUdDhVZgOQak1E8AK8BXRuWQRWsAI2YAN0IAcACj"
	"pc"
	"eGhkIGligANYQAYUZQVthwW8QyJqwAQ3QDhN8AI/"
	"B5bZOgVDhyDFwQZloAfDQwcrAAdKWDJT8Blvgge28aRmMAYvkAVO"
	"awU54CYNVQY4UAaR5khJgIeG5wZLQE454ESeuQY5sAJaAANEcAUygDA0ECfAYq34IwTjtSJtAFDwfAPsiGJwcAY/"
	"WQYr"
	"EAVrwC52cAa7tJI1IEW1gwXgpwAabDEcnBqqwRpspH5giZJgawMGq0k1wARKMAUwkARPRgaWVQdWgFd/"
	"tgJFRB0evJTn"
	"YwePHAbe6hRTYJ7KIgRr8rNgOQXUBox1gChIQJHnAn964EPRy9FEcAZFmgfRI5RCwEfQcSVtQAbVMi1X4LBNAMEz0H"
	"2u"
	"dQURm81WoAQ/0hu+05qTLAZXEBTetgRjMKx1oCRoowSkGaU1sF97mQdtUNTwlgOJ5TMaFjT3UQNWME+ZRAPh/"
	"AS24a+2"
	"1RxtAIRSUHaMZQdO8AQeGIHVQgRHwNlpcAMxACRYQAc8lFuAo0hO0GBiYBCLy5NCcAU50QRH8AYYyAZagIRWkAR4gM"
	"yu"
	"RrpHkNBzQIh7YsjXaAb6xgaS1oBOgAVXMDO8pQSW9JccUdbFdSHIGwSQInhskAZqgAYsnAc1UAXMRQXfpjUFWwbOkQ"
	"Rx"
	"YAVXEAXI7QYghmtX4MISOSGGGjtzqxEjqowyAH4LMNGlUdExkDEYXVoe01BnABxxsAI09gJ5EAVPYLJOQgdiuARv4C"
	"VE"
	"cAcwYANTgCpw4BtD005WEDjEKgU+"
	"ckVi8MdEQER4IGf6JgRW0HNJkC90qRzl3B9jCacOkgV3QBJH4LorcAdasAL3Yk9z"
	"8KBnUAdEiwQjnYpkcC41OATxoQVH8AJcx95MIANzIAeuStNCkAfpuj/"
	"ZYwdMoDxVIIdoYLRyqgRoIAVC8Gy0owYBhAWi"
	"S3ZSkANTAI1JwwaplE2CKeRLUAVSUAa/"
	"QaTwpk5MFURTGj5IkAaEFAM4MAZUAAeK591hsAJrQJND0AZMtATDSl+9d39P"
	"mdeaV3vnNgNk4GZlkgdg4iFo8NpF9D3e4wY2QANhoAQ7S+"
	"FOgAQz0ASMybFXljNXMARPgIZxsCJi8ARLQEGGSQWm5K9m"
	"gAcD8gZmQJhLEEhVIBG+"
	"NQNmMENioAWWZXOQiiJCVAR9Bh5bFgd2MtUiAiSB9Tm8DH4MAOBCIeBqVODNRhuIQgTJQsNl"
	"kFZ3So+FOQX6hy01YLhUIAN20BAcVQR40L+"
	"daqKOGwNZMwOMnRtLkAQxEAVocObkYQZXeANZgASzXQN5sGNl0AZ5gAd1"
	"sAR4YLdi571vPjVlQKZUMINUkAeTEwdNoFg0AFt1WzhGAF5AyAS8zLl1YANDQE310/"
	"HfcbQ5kBFKIARGjy1zvK079Wgv"
	"EAPg7n0woHIsbARCYGF68B6y585XYJVRYEQ0AAc4QAVSoAc48wYw0CDuxASMzYfXXgU6IgdSwC3hcgRamQVXrexmUO"
	"sy"
	"AAfgZAR3QEsoijpvcAQ3AIBGwGd6MAdTgHJFEEJBECltcAN4EG2aOn8rgAR1Zzl3wCLHlQa65Csr4CA+yp/"
	"dNQR7IgdD"
	"kwaw+"
	"gJIkAQr8KViythsQGH5SL8vQMpUHwRWrk02wAZYIAVhUAQjAgVmgBHjlXNtIDC5BAc3IANxUGGdXQRJE79VgIRx"
	"4KphB34NQO9K0cGjhe8aXR9Q4DLhtFpyoAV0cAO6UQdHcAboEldvAxBLcNw5EsQGEi1Chth5MsZImzs2hMSwMgSOHi"
	"hF"
	"sFBxYmbMFDQylsAoI2RFlitKbtxQckSJlCJnbDjJYifGCiVjrsgxskTKkTlTVoSpcgeKGTdHlgwhU0PLGDp63pDJQU"
	"ZN"
	"jjtUhMC5w6YJmRVj3KhZQgNKGDc0ZJCxkodMWbRlzFihQ0UKlTBzmMigI4SGFjtwpLTRMwfGnDtw8IQRegVHkSV1Xq"
	"xR"
	"gyPJixhnnMAxM+"
	"RFGypy5kChk6chGiIvKhopQgdLmCZSkjRRs8aOESpNnlDBMQNimhVzsryRguSNGjMz2GB58eIKmzVM"
	"grzBoiTHizk55kSZEoTNjRx200zRowQLDBhynrCRHSUHDTg0iNipYwbJETNOqjzJoycPnBzMIIMMIWbAIg0oYLBijR"
	"yw"
	"2EmJImiYLojH1ChChsnggEIIPIowzoog6oBDLynymKIKMtZoA40Y5rBKjybgCAKGNJJgA4ocwqCCDTPOmOOFG6YohQ"
	"kq"
	"0mijDAcEMaUIO8pwg445IhGEFCfCOJKUMmyq4ZSz8mDjjTDI0CYANKLAY4YoXqAjiiKEiEIrN9KToYYjoBhjNhyaEO"
	"MF"
	"J/"
	"B4QQwmgIOhjTWyysMNOWogoownmMjziCyqOANCNcgKAw08lpijiDCMeIKIKMxYQg8hrEDiBT0QXOKOOWbAgwk0yLAD"
	"CiSGqMENK7JAA4kkcCgjjRuOeKKKOIyIoYY0gqAjjhntWCOJJN6gQgs0lMABCioCzCENOoiAog4jXoNCCz2WUMOKI3"
	"CI"
	"IY4yqnjjjCrQWAIPOCDVIwcl4IhDjiphuMIqIZggsIYr0hCCiiNkUGKFFZwgwompmCBCrZDCoGENNpBIAwsViTgjMC"
	"TK"
	"kDUHeOOIKYkpaMihBhtyKEMNNqY7I4g23jgCC/"
	"XCwGGgNNDI44wsQM3jMCa0WEMPwmglAwor9FCjCTmimKGJLJBYwwoq"
	"oIAiixnMWKEJN3gVI480qFhBsjY4i6IGJ5BgNgcb0tCCjTK0kOKKK4TQYoor8Ej2CipWpCMJM8RQAw4YcAgiixWgaE"
	"IJ"
	"N5rAwo4m8rKhCCXMgGGMJpoI4gwZ9IjjBdPQGLLIIx9QkkknoZSSSivLwNImG7gMw0swxSQzCS1iWAOKGJyQgogVtI"
	"jj"
	"DjHgIOMOPVaIoYg2oHijCSLwcDoIvKSowUYZ7L4CwyYgbQKGLMygAaQkhmACijRqgFAPJ/"
	"SA4d44zqBi8SZoIAwL44Zo"
	"I4kz1EAKTjACGpxghTO8QQhxGEIYbHCDO6zADjW4w2CiEIQrmEEOadBDDfBwgyuMoQZCMFgesPCGIazgBmYokBqqMA"
	"Yc"
	"MOEJaohCScaHsSzogStOCIJOsgAHG2BhBnqwQxqqUIUcXEENeJiDDZ4whChEgYg1CIMZYvCEKNxBCWqYAh4OY4UyFI"
	"GA"
	"b6hCENyQgywkIQZL+"
	"N8a8ODBOMBgCEpggxGIwIQbzOAIKygNQ6IwhxvU4QZiQFcasnOHHLABIwG8wRskVJga5OBcWMjD"
	"CthwBy5eIQYBewIU2GaGMMghBlOpgRS/"
	"twQmIKFIZ1BDGe6ABhtAAQt1CIMQzhCGMozhBU+Yg7PwAJYaVOEKITqOFt4Q"
	"BDUkYXBVmAER1lAFKlwBDnQIghmMoISPJWwOSZDCDZKwgitUMAs4sIMSnvCcGLjBVXm41BWccDojlQECq2vSk6I0pS"
	"pd"
	"KUsxuIHtcBemMVWrDGeoQxnC8Ec90GAJhXtDDSLjhCUggYdDUAMSGoQEwwRMBnXAQRrIMAckqEEGV1hRG8iQhhegtA"
	"4N"
	"goFEwoCHNrThCQU5whDQkAW9ZeGkcbhBGh4zhirA6A5CWMMQ3BCEGgzhnG4gwwy+"
	"VQM92OBYaghCFaAAhzqoUApRMJoN"
	"/teGF0xhCDSAgRSEEISTXMEOR0hCHqQJqSrkgQhLsAIeiKAEMlTBCHWogRxGVwYqJJSVM5CCHNZw07tWIQ3NdEMRbs"
	"CG"
	"VinhcVN4ghmaQAUsZEENwiPCHXCwAhggoSIbTagRILaCIchRDlhwAh3oQLolzGAICaXDGfAwhI8xYQpriEPZoGAHIU"
	"jq"
	"BlKwwwtk4Kc4BM8ObkCDHbSghSLE4AoCu4FwYgAHZx2IDkwITBHcUAMj2GwN21xB8rAAGDRUYQlxQENQzgCDOsgheX"
	"oo"
	"QhPUd4c05AAPPlIDGeQQhP8yoQlv8BgAsfCEGMAACjS4g93k8AY2ZGENQhDCEaRAB5kGYQYPgYJ8XdknHMzkCkOA55"
	"Ei"
	"QM/"
	"W3RN2+rQJDvz5JYCSKQ6WjYMVOgpdryKhWjAwnxsE44YlOOEJfcGDDKLwBCy4YQxogAEc7rSEJ5CBCdJaAxyw0AQm"
	"LKEKMpABG5wwAydMIYJTaMMZ0KAFGhhBITFgA3LqMIQ5PbENWhhCHF7jnBxgbqtMgEMWsnCELCtRU2HYpByWsAK9QU"
	"EM"
	"abABHvijBjm8gAkUyUEbjrCGK7ygBiugARuKUAYs3GwMK5iCE+"
	"owBykEQQZ3MAITsjAFOcAgMCvAHh2koNA5SDMLnqKD"
	"HQg9hzdAYcZEUKccxqCGNuQADW2Qww1w8AQjSO6AcziDDNmw3Ce88S004GgTxqAHObyECHB4AQ7kQITFMgYHSFDCUs"
	"Kw"
	"hCbMoQZo8OaCzJCG8slgwkJ4gsLcsJ+"
	"oJogGLbGBGsSg5CFYzwg4sEIUxPAE6umLdHNYgRt2CTMmsOEJSnhe5u4QA8y2"
	"SA52cBdy2FCsJZCcCVKYgwgVBgMizOANaWRLHsxQhzFQwQ1TEMMQpsAxGNSACUzQAx3coGiRSEUGMChxGSSAYnu+"
	"Lp+y"
	"22cOXpy7gOYACVC4AxZkIJp2G3m1YLsBFeoQFXLFQF4Sq5ywopBKBMoAuDWggRnMsOwyyAEKSjDCEd4SBDsQEgd5O/"
	"Ac"
	"hEDEytkhVzGQw9lq8AY9kKG1LSMOESi7Lya4YY5PiIMWxECnOsiSCmVIgli0cMCWlvlcz4uCHMxwBSKMIUfHgoJpyQ"
	"DL"
	"8z7hDXNQAgxukAU5XCdA1XoBDdzghjYQQQ8CZusNmhCF58ugCFXwyxRiYNIoEOEJZtUCFpJQhoZFiA5pEMMZmlAELd"
	"gA"
	"DTPgDRmMMDM2ZNUMLyvDHOpQB+jOINK8LOwKjkwqLDCCJKiDOygCOdCCI+AiIrgCK4iDonqCO+"
	"iyeDuDK4CfNZgWOqgB"
	"O7AfNjgDOJihOrAB+"
	"MkBLaOD3hkDK7i1lqmjMKADMmiDK2gCkaEBLBiMNciDSLqiIIiBMIgDF1kCrSsSG1CUJ8gCKLAB"
	"IgiDUEu52CtAOBiCILiDKrCe+GkDOoiw/"
	"9EZsDqjJZiRFGq6CYA618Gn2Jmdpbu6GEODASyCJ5oDK7ABuYuBzYo8PJCC"
	"IaiJI2CDHMiDHHCCIyiDgWMCzYCys4EDQjEOOEgDJugIp8GDHJiBNFADPSgDS7u7I3iBGbADIiAuK5gBYimUNoiCNj"
	"CC"
	"NKiD15AbyfjAGMiDJKiCGrACNzCD9JsDNNigOLiCKEi5ObA/"
	"LaCDmrKBJECDFXg2I0ACOQgDLciDIAiDMZCDOmiCZGwL"
	"JKiBFxiCb5GDKVAJM5gDNaATJrgKArKCF4iCHiwo7xiiI6ADG8iDNUiXIMADM+i12pqCJqiBO1kBPCAbs0oCJ7gD+"
	"hgW"
	"NYiD2qCBtqgPEDECPdCCGRAp3dICHJACMkiPF+"
	"izIGgkKlgCN9CDMbgDlGmCiZAIJYgCOlACH1wCOAiDshMDHMACKHDF"
	"95qC2lICGkgpK4C5d4OBHIgB64gZJAiD+"
	"KoDKYACeCEDKLEZi6A7KygCIrCBM8gDJsAXiWCDN5wXLTACOnhDJUACItCO"
	"RBKCLGiDGiiDOEiCGoCDJtAjPfg4JSg1n7MBUdICOMiJMAgDNmgD9muCpqMAMVSxqTPDGEBD3UGDZ6OQHmKCNaCBI6"
	"gD"
	"+9nGqagTKnhFLEiTLbOmq7EBBhTI7YIgLciCHKgCGsCDKJABJjiiLIgCISIq8iODKBgDLWgpGlADOlgDJBCCU6sBul"
	"uD"
	"hTIDKkgCG7gDP+"
	"SzG3gmAjuq7BiCMcCt6wDCM3iCOriCJ8iBFViPM0gDJDiDMViCG3CyICCNJRDL1QyDIGiCx7ACMYCb"
	"FTgDTDMCNYkDW5IBbjODIjgCsCEWOBCDIxCCIhADGYiBIyA2KigyY2SDdYOBNbgBJsCCO6BEsZiCMpA1NXgCPXiCNO"
	"Aq"
	"J1gDRKGBKrCyMsCBKUA1GQkWIWMgEuKlqMgBImgDu7KCGLhO9qoBKPgm73KtMCg69SqDPJACjgOtF2gpm2g1AY0B+"
	"BlC"
	"MsgDMWimNYiCNQgDV6FANNgLMsABWdwjNLiDOOA57JoBMtMCgoKB8qOBOTA2MpiCMzCCKDgDJDCDPKiU7yCeIZgBGp"
	"DB"
	"GxiDOOikS5OBI7gBOvANIMQDOaiCXaqvOdACMrCBpquAvZS6MswSLgPMgBLTMLCDMbAD7qKCPDiCGHg9UBuCkKkDFJ"
	"IC"
	"uGS0HHiCJSgCPluCPJgD9bmq+"
	"fELOiCNOXjHzxiVNRC6CEyDPLA0KbCPKogBXemdImADNriCG0ACJIiBrbStFQg1KJCC"
	"OFgVGjgrLMCBz4wBLRifY3ICISCMJ9DPyENINlBIGKCB3Xi8HJABT3SCM3gMCzsoKjADJUhLOxDIOSACDr0BhwyCIf"
	"jP"
	"MFiBGSiCBcuBMQiCNSCJPFiC45QglsOCXsODFTCidm2kSoqBJJiDPckzJ8iDLgsCfBUiLagCclEDKbgDOqiCjjC2K/"
	"rW"
	"GlCDPECCPLis8sIKOlg0d6qDLCg7v3GCOMhFGyCnXrMDHICleV0srnk/"
	"0WkCGTiDF7yBIrABOPDATWpaOEACJqgBNiAD"
	"OEinPMhXO8iDOKADfWECG5C37+jMG+"
	"CLK9grG3ADNhipjYGCCbMBioKBIkCDMhiCkYwBGRiCYSKCWKFNK5CclNpDISCD"
	"M6ib2RACO2g6CzhUMmQxc2VUMqGDGKiCNliCFQ0a0TECkFKDHdEDorCDHLAVPRADMWAOJGiDKUgCKkADNQilN4ADIr"
	"Az"
	"urMDW1Mk58uIsqoBGbABILnVeFUovxqCKmiCcroiZzwCMWgyMxBBNw2CUb2BMvK17TPAc2mDOHCDOwCwI5ADPEACGn"
	"CC"
	"mLiBM4ACM9GCJUCDM0gCO0CCJliBLrOarZiNPKCBIsiDPKgCMciCGrgJKjgD71oCOUACNygDfMEBttKDI8ADIUADIU"
	"CC"
	"NusPGcACMdhNCISDFTCCHKgtEoLGN+AtfVGDkEADDbKBKGADMTVYNDgCZxmCHCgttyIDKcCCKVgCKniBMzgC/"
	"UubLKAB"
	"sxFEtWsZRRQCJRACG5DTSDKawh0CAwauPqGBGRADTsOBKCCDF/"
	"CkzDPBOnADKogr96gDjIGD3nGDNEmCHMgfGiGrOkgC"
	"5iEC3LgDKxipKxADGkgCGRCCSBqCI/"
	"jA5VuBu5jTGpjhJGCCMIAChRlZMou8yRldNTCPyYGCIKCBMGi6C2DcFaM6O3BP"
	"yGWRDl6CNfCNBys9yDCCKTCkOzgfjzJVJODTGGaCRBFjwhqJXSyDLGjXA1GCZsMBMngC7CDTJ/BAPWgeYo0/"
	"GWiDPJou"
	"6ysDPIibFRiVFSCCijiCKAgkM3PAITiOcUGCJ5iBOuAyCZUCI4iDqimCNPggrVhYHKCjGUCgOkCDbgmDHEiCdzvbGj"
	"KC"
	"24iDOrACNJgcDRMCHFiTGZBcGaiCOXg/"
	"5FkDLaibMnCCKKgMLWi4VuLh3VDbMwAlo0JAPQgn16qhp4AcG8BnLdMDI7it"
	"IziCIrDNQcVdZSEp7iVmOECDw9osNuAKSZ0BurOBS8qCg2OCSmKDWMFFcY5MuuEKN7ABMajIfpzjN8ABNSAfLGACGl"
	"iB"
	"Uw0WTIoCQcIDNSCSK3i1KaACMbCR6koDRs7eYIEqGehfIsCCuAkCvruBGGgCP81KBxSCUjuDGxgWUpm0LEDVJtCDKJ"
	"oM"
	"PJiCRKSBpsMAYChswz5sxE5sxV5sxm5sx35syI5syZ5syq5sy75szM5szd5szu5sz/"
	"5s0A7tzG66AFgFJpALOpDBNhCD"
	"vJsDSFAFqs47p0SdMggAVoDJFjw1IomnOVCSMYCDB2NtABCFOYgBAAgI";

static void go_vector(const char *b64, size_t want_nodes, size_t want_user, unsigned want_clears)
{
	static uint8_t frame[16384];
	size_t flen, zoff, zlen, dlen, ourlen;
	uint8_t *d, *ours;
	struct gw_stream *s;
	struct gw_stream_msg m;
	const char *e;

	cr_assert_eq(sodium_base642bin(frame, sizeof(frame), b64, strlen(b64), NULL, &flen, NULL,
				       sodium_base64_VARIANT_ORIGINAL),
		     0);
	/* 09 82 a4 Algo 00 a3 Buf da LL LL <lzw> */
	cr_assert_eq(frame[0], 0x09);
	cr_assert_eq(frame[12], 0xda);
	zoff = 15;
	zlen = (size_t)frame[13] << 8 | frame[14];
	cr_assert_eq(zoff + zlen, flen);
	cr_assert_eq(lzw_count_clears(frame + zoff, zlen), want_clears);
	cr_assert_eq(gw_lzw_decode(frame + zoff, zlen, 1 << 20, &d, &dlen), 0);
	cr_assert_eq(d[0], GW_PUSHPULL);
	cr_assert_eq(gw_lzw_encode(d, dlen, &ours, &ourlen), 0);
	assert_bytes(ours, ourlen, frame + zoff, zlen);
	free(ours);
	free(d);

	cr_assert_eq(gw_stream_create(&s, NULL), 0);
	cr_assert_eq(gw_stream_feed(s, frame, flen, &m, &e), 1);
	cr_assert_eq(m.kind, GW_STREAM_PUSHPULL);
	cr_assert_eq(m.pp.n, want_nodes);
	size_t k = 0;

	while (k < m.pp.n && strcmp(m.pp.nodes[k].name, "s1"))
		k++;
	cr_assert_lt(k, m.pp.n, "serf's own node is listed");
	cr_assert_eq(m.pp.nodes[k].addr.s_addr, ip4("127.0.0.1").s_addr);
	cr_assert_eq(m.pp.nodes[k].port, 17946);
	cr_assert_eq(m.pp.nodes[k].state, GW_STATE_ALIVE);
	cr_assert_arr_eq(m.pp.nodes[k].vsn, gw_vsn_default, GW_VSN_LEN);
	cr_assert_eq(m.pp.user_state_len, want_user);
	cr_assert_eq(m.pp.user_state[0], 0x02, "Serf push/pull user state");
	gw_stream_free(s);
}

Test(wire_lzw, go_serf_pushpull_small)
{
	go_vector(GO_PP_SMALL, 1, 586, 1);
}

Test(wire_lzw, go_serf_pushpull_reset)
{
	go_vector(GO_PP_BIG, 2, 10113, 2);
}

/* ---- CRC, compound, walk ----------------------------------------------------------------- */

struct leaves {
	int n;
	uint8_t type[16];
	size_t len[16];
};

static void leaf_cb(void *arg, const uint8_t *msg, size_t len)
{
	struct leaves *l = arg;

	cr_assert_gt(len, 0, "empty leaf delivered");
	if (l->n < 16) {
		l->type[l->n] = msg[0];
		l->len[l->n] = len;
	}
	l->n++;
}

Test(wire_walk, crc)
{
	uint8_t in[] = "123456789", b[32];
	size_t n;
	struct leaves l = {0};

	in[0] = 0x0b; /* makes it a (nonsense) nack leaf */
	cr_assert_eq(gw_crc_wrap((const uint8_t *)"123456789", 9, b, sizeof(b), &n), 0);
	cr_assert_eq(n, 14);
	cr_assert_eq((uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4],
		     0xCBF43926u, "CRC-32/IEEE check value");
	cr_assert_eq(gw_crc_wrap(in, 9, b, 13, &n), -ENOSPC);
	cr_assert_eq(gw_crc_wrap(in, 9, b, sizeof(b), &n), 0);
	cr_assert_eq(gw_packet_walk(b, n, leaf_cb, &l), 1);
	cr_assert_eq(l.type[0], 0x0b);
	cr_assert_eq(l.len[0], 9);
	b[7] ^= 1;
	cr_assert_eq(gw_packet_walk(b, n, leaf_cb, &l), -EBADMSG);
	cr_assert_eq(gw_packet_walk(b, 5, leaf_cb, &l), -EBADMSG, "CRC around nothing");
}

Test(wire_walk, compound_truncation)
{
	uint8_t b[64];
	struct leaves l = {0};
	/* 3 parts, lengths 2, 9, 2; only 5 bytes of part 2 are there */
	size_t n = hx("07 03 00 02 00 09 00 02 0b 80 0b 81 a5 'S'", b, sizeof(b));

	cr_assert_eq(gw_packet_walk(b, n, leaf_cb, &l), 1);
	cr_assert_eq(l.n, 1);
	cr_assert_eq(l.len[0], 2);
	/* header itself cut short: nothing */
	l.n = 0;
	n = hx("07 03 00 02 00", b, sizeof(b));
	cr_assert_eq(gw_packet_walk(b, n, leaf_cb, &l), -EBADMSG);
	cr_assert_eq(l.n, 0);
	/* empty parts are skipped, never delivered */
	n = hx("07 03 00 00 00 01 00 00 08", b, sizeof(b));
	cr_assert_eq(gw_packet_walk(b, n, leaf_cb, &l), 1);
	cr_assert_eq(l.type[0], 8);
	/* zero parts */
	l.n = 0;
	n = hx("07 00", b, sizeof(b));
	cr_assert_eq(gw_packet_walk(b, n, leaf_cb, &l), 0);
	cr_assert_eq(gw_packet_walk(b, 0, leaf_cb, &l), -EBADMSG);
}

Test(wire_walk, nested_crc_compress_compound)
{
	uint8_t p1[128], p2[128], comp[300], pkt[600];
	size_t l1, l2, clen, plen, zlen;
	struct gw_msg a = msg_alive_a(), pg = msg_ping_b();
	struct leaves l = {0};
	uint8_t *z;

	cr_assert_eq(gw_msg_encode(&pg, p1, sizeof(p1), &l1), 0);
	cr_assert_eq(gw_msg_encode(&a, p2, sizeof(p2), &l2), 0);
	const uint8_t *parts[] = {p1, p2};
	size_t lens[] = {l1, l2};

	cr_assert_eq(gw_compound_encode(parts, lens, 2, comp, sizeof(comp), &clen), 0);
	cr_assert_eq(gw_compress_wrap(comp, clen, &z, &zlen), 0);
	cr_assert_eq(gw_crc_wrap(z, zlen, pkt, sizeof(pkt), &plen), 0);
	free(z);
	cr_assert_eq(gw_packet_walk(pkt, plen, leaf_cb, &l), 2);
	cr_assert_eq(l.type[0], GW_PING);
	cr_assert_eq(l.len[0], l1);
	cr_assert_eq(l.type[1], GW_ALIVE);
	cr_assert_eq(l.len[1], l2);
}

Test(wire_walk, compress_algo_and_depth)
{
	uint8_t b[64];
	struct leaves l = {0};
	/* Algo 1 */
	size_t n = hx("09 82 a4 'Algo' 01 a3 'Buf' a4 00 83 04 04", b, sizeof(b));

	cr_assert_eq(gw_packet_walk(b, n, leaf_cb, &l), -EBADMSG);
	b[7] = 0;
	cr_assert_eq(gw_packet_walk(b, n, leaf_cb, &l), 1, "Algo 0 decodes to 'A'");
	cr_assert_eq(l.type[0], 'A');
	/* decompresses to nothing */
	n = hx("09 82 a4 'Algo' 00 a3 'Buf' a3 00 03 02", b, sizeof(b));
	cr_assert_eq(gw_packet_walk(b, n, leaf_cb, &l), -EBADMSG);

	/* 7 nested compounds with a leaf are fine, 8 is too deep */
	for (int depth = 7; depth <= 8; depth++) {
		uint8_t p[64];
		size_t plen = 1;

		p[0] = 0x0b;
		for (int k = 0; k < depth; k++) {
			memmove(p + 4, p, plen);
			p[0] = 7;
			p[1] = 1;
			p[2] = 0;
			p[3] = (uint8_t)plen;
			plen += 4;
		}
		l.n = 0;
		cr_assert_eq(gw_packet_walk(p, plen, leaf_cb, &l), depth == 7 ? 1 : 0);
		cr_assert_eq(l.n, depth == 7 ? 1 : 0, "depth %d", depth);
	}
}

/* ---- encryption ----------------------------------------------------------------------------- */

static void key_fill(uint8_t k[GW_KEY_LEN], uint8_t v)
{
	memset(k, v, GW_KEY_LEN);
}

static void crypto_setup(void)
{
	cr_assert_eq(gw_crypto_init(), 0,
		     "this CPU lacks AES-NI: libsodium AES-256-GCM unavailable");
}

Test(wire_crypto, packet_roundtrip_and_wrong_key, .init = crypto_setup)
{
	struct gw_keyring kr = {0}, other = {0};
	uint8_t k1[GW_KEY_LEN], k2[GW_KEY_LEN], msg[100], ct[200], pt[200];
	size_t clen, plen;

	key_fill(k1, 1);
	key_fill(k2, 2);
	cr_assert_eq(gw_keyring_install(&kr, k1), 0);
	cr_assert_eq(gw_keyring_install(&other, k2), 0);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	cr_assert_eq(gw_encrypt_packet(&kr, msg, sizeof(msg), ct, sizeof(msg) + 28, &clen),
		     -ENOSPC);
	cr_assert_eq(gw_encrypt_packet(&kr, msg, sizeof(msg), ct, sizeof(ct), &clen), 0);
	cr_assert_eq(clen, sizeof(msg) + GW_ENC_OVERHEAD);
	cr_assert_eq(ct[0], 1, "we send version 1");
	cr_assert_eq(gw_decrypt_packet(&kr, ct, clen, pt, sizeof(pt), &plen), 0);
	assert_bytes(pt, plen, msg, sizeof(msg));
	cr_assert_eq(gw_decrypt_packet(&other, ct, clen, pt, sizeof(pt), &plen), -EBADMSG);
	ct[20] ^= 0x40;
	cr_assert_eq(gw_decrypt_packet(&kr, ct, clen, pt, sizeof(pt), &plen), -EBADMSG);
	ct[20] ^= 0x40;
	ct[0] = 2;
	cr_assert_eq(gw_decrypt_packet(&kr, ct, clen, pt, sizeof(pt), &plen), -EBADMSG);
	cr_assert_eq(gw_decrypt_packet(&kr, ct, 28, pt, sizeof(pt), &plen), -EBADMSG);
	struct gw_keyring none = {0};

	cr_assert_eq(gw_encrypt_packet(&none, msg, 1, ct, sizeof(ct), &clen), -EINVAL);
	gw_keyring_wipe(&kr);
	cr_assert_eq(kr.n, 0);
	gw_keyring_wipe(&other);
}

/* Version 0, built the way memberlist 0.2.2 does: PKCS#7 pad to 16, then seal. */
static size_t seal_v0(const uint8_t key[GW_KEY_LEN], const uint8_t *msg, size_t len, uint8_t *out)
{
	uint8_t padded[256];
	size_t pad = 16 - len % 16;
	unsigned long long clen;

	memcpy(padded, msg, len);
	memset(padded + len, (int)pad, pad);
	out[0] = 0;
	randombytes_buf(out + 1, 12);
	crypto_aead_aes256gcm_encrypt(out + 13, &clen, padded, len + pad, NULL, 0, NULL, out + 1,
				      key);
	return 13 + (size_t)clen;
}

Test(wire_crypto, version0, .init = crypto_setup)
{
	struct gw_keyring kr = {0};
	uint8_t k[GW_KEY_LEN], ct[300], pt[300], msg[64];
	size_t clen, plen;

	key_fill(k, 9);
	cr_assert_eq(gw_keyring_install(&kr, k), 0);
	for (size_t len = 1; len <= 33; len += 16) { /* 1, 17, 33; 16 tested below */
		memset(msg, 0x5a, len);
		clen = seal_v0(k, msg, len, ct);
		cr_assert_eq(gw_decrypt_packet(&kr, ct, clen, pt, sizeof(pt), &plen), 0);
		assert_bytes(pt, plen, msg, len);
	}
	clen = seal_v0(k, msg, 16, ct); /* a full block of padding */
	cr_assert_eq(clen, 1 + 12 + 32 + 16);
	cr_assert_eq(gw_decrypt_packet(&kr, ct, clen, pt, sizeof(pt), &plen), 0);
	cr_assert_eq(plen, 16);

	/* bad padding (last byte 0, or 17) is refused */
	uint8_t raw[32];
	unsigned long long cl;

	memset(raw, 0, sizeof(raw));
	ct[0] = 0;
	crypto_aead_aes256gcm_encrypt(ct + 13, &cl, raw, 32, NULL, 0, NULL, ct + 1, k);
	cr_assert_eq(gw_decrypt_packet(&kr, ct, 13 + cl, pt, sizeof(pt), &plen), -EBADMSG);
	memset(raw, 17, sizeof(raw));
	crypto_aead_aes256gcm_encrypt(ct + 13, &cl, raw, 32, NULL, 0, NULL, ct + 1, k);
	cr_assert_eq(gw_decrypt_packet(&kr, ct, 13 + cl, pt, sizeof(pt), &plen), -EBADMSG);
	gw_keyring_wipe(&kr);
}

Test(wire_crypto, keyring_rotation, .init = crypto_setup)
{
	struct gw_keyring a = {0}, b = {0};
	uint8_t k[GW_KEYRING_MAX + 1][GW_KEY_LEN], ct[128], pt[128];
	size_t clen, plen;

	for (int i = 0; i <= GW_KEYRING_MAX; i++)
		key_fill(k[i], (uint8_t)(0x10 + i));
	cr_assert_eq(gw_keyring_install(&a, k[0]), 0);
	cr_assert_eq(gw_keyring_install(&a, k[0]), -EEXIST);
	cr_assert_eq(gw_keyring_install(&b, k[0]), 0);
	/* install k1 everywhere, then a switches to it: b still decrypts (secondary) */
	cr_assert_eq(gw_keyring_install(&a, k[1]), 0);
	cr_assert_eq(gw_keyring_install(&b, k[1]), 0);
	cr_assert_eq(gw_keyring_use(&a, k[1]), 0);
	cr_assert_eq(a.keys[0][0], 0x11);
	cr_assert_eq(a.keys[1][0], 0x10);
	cr_assert_eq(gw_encrypt_packet(&a, (const uint8_t *)"\x0b\x80", 2, ct, sizeof(ct), &clen),
		     0);
	cr_assert_eq(gw_decrypt_packet(&b, ct, clen, pt, sizeof(pt), &plen), 0);
	cr_assert_eq(plen, 2);
	/* the primary cannot be removed; the old key can */
	cr_assert_eq(gw_keyring_remove(&a, k[1]), -EBUSY);
	cr_assert_eq(gw_keyring_remove(&a, k[0]), 0);
	cr_assert_eq(gw_keyring_remove(&a, k[0]), -ENOENT);
	cr_assert_eq(gw_keyring_use(&a, k[5]), -ENOENT);
	cr_assert_eq(a.n, 1);
	/* b drops k1 -> a's packets no longer open */
	cr_assert_eq(gw_keyring_remove(&b, k[1]), 0);
	cr_assert_eq(gw_decrypt_packet(&b, ct, clen, pt, sizeof(pt), &plen), -EBADMSG);
	/* capacity */
	for (int i = 1; i < GW_KEYRING_MAX; i++)
		cr_assert_eq(gw_keyring_install(&a, k[i + 1]), 0);
	cr_assert_eq(a.n, GW_KEYRING_MAX);
	cr_assert_eq(gw_keyring_install(&a, k[0]), -ENOSPC);
	/* use keeps the others in order */
	cr_assert_eq(gw_keyring_use(&a, k[4]), 0);
	cr_assert_eq(a.keys[0][0], 0x14);
	cr_assert_eq(a.keys[1][0], 0x11);
	cr_assert_eq(a.keys[2][0], 0x12);
	cr_assert_eq(a.keys[3][0], 0x13);
	cr_assert_eq(a.keys[4][0], 0x15);
	gw_keyring_wipe(&a);
	gw_keyring_wipe(&b);
}

/* ---- push/pull and the stream reader ------------------------------------------------------ */

static struct gw_keyring test_kr(void)
{
	struct gw_keyring kr = {0};
	uint8_t k[GW_KEY_LEN];

	key_fill(k, 0x33);
	cr_assert_eq(gw_keyring_install(&kr, k), 0);
	return kr;
}

/* Feed s one byte at a time: 0 until the last byte, then 1. */
static void feed_bytewise(struct gw_stream *s, const uint8_t *b, size_t n, struct gw_stream_msg *m)
{
	const char *e;

	for (size_t i = 0; i < n; i++) {
		int r = gw_stream_feed(s, b + i, 1, m, &e);

		cr_assert_eq(r, i + 1 == n ? 1 : 0, "byte %zu of %zu: %d (%s)", i, n, r,
			     e ? e : "-");
	}
}

enum wrap { W_PLAIN, W_COMPRESS, W_ENCRYPT };

static void wrap_stream(enum wrap w, const struct gw_keyring *kr, const uint8_t *msg, size_t len,
			uint8_t **out, size_t *out_len)
{
	if (w == W_PLAIN) {
		*out = malloc(len);
		memcpy(*out, msg, len);
		*out_len = len;
	} else {
		cr_assert_eq(gw_stream_frame(w == W_ENCRYPT ? kr : NULL, msg, len, out, out_len),
			     0);
		cr_assert_eq((*out)[0], w == W_ENCRYPT ? 0x0a : 0x09);
	}
}

Test(wire_stream, pushpull_roundtrip_each_wrap, .init = crypto_setup)
{
	struct gw_keyring kr = test_kr();
	struct gw_pushpull pp;
	struct gw_pp_node nodes[3];
	uint8_t us[585], *enc;
	size_t elen;

	make_pp_15_5(&pp, &nodes[0], us);
	nodes[1] = nodes[0];
	strcpy(nodes[1].name, "c");
	nodes[1].state = GW_STATE_LEFT;
	nodes[1].inc = 1u << 31;
	nodes[1].meta_len = GW_META_MAX;
	memset(nodes[1].meta, 0xab, GW_META_MAX);
	nodes[2] = nodes[0];
	strcpy(nodes[2].name, "d");
	nodes[2].state = GW_STATE_SUSPECT;
	nodes[2].meta_len = 0;
	pp.nodes = nodes;
	pp.n = 3;
	pp.join = 0;
	cr_assert_eq(gw_pushpull_encode(&pp, &enc, &elen), 0);
	for (int w = W_PLAIN; w <= W_ENCRYPT; w++) {
		struct gw_stream *s;
		struct gw_stream_msg m;
		uint8_t *wire;
		size_t wlen;

		wrap_stream(w, &kr, enc, elen, &wire, &wlen);
		cr_assert_eq(gw_stream_create(&s, w == W_ENCRYPT ? &kr : NULL), 0);
		feed_bytewise(s, wire, wlen, &m);
		cr_assert_eq(m.kind, GW_STREAM_PUSHPULL);
		cr_assert_eq(m.pp.join, 0);
		cr_assert_eq(m.pp.n, 3);
		for (int i = 0; i < 3; i++) {
			cr_assert_str_eq(m.pp.nodes[i].name, nodes[i].name);
			cr_assert_eq(m.pp.nodes[i].addr.s_addr, nodes[i].addr.s_addr);
			cr_assert_eq(m.pp.nodes[i].port, nodes[i].port);
			cr_assert_eq(m.pp.nodes[i].inc, nodes[i].inc);
			cr_assert_eq(m.pp.nodes[i].state, nodes[i].state);
			cr_assert_eq(m.pp.nodes[i].meta_len, nodes[i].meta_len);
			cr_assert_arr_eq(m.pp.nodes[i].meta, nodes[i].meta, nodes[i].meta_len);
			cr_assert_arr_eq(m.pp.nodes[i].vsn, gw_vsn_default, GW_VSN_LEN);
		}
		cr_assert_eq(m.pp.user_state_len, 585);
		cr_assert_arr_eq(m.pp.user_state, us, 585);
		gw_stream_free(s);
		free(wire);
	}
	free(enc);
	gw_keyring_wipe(&kr);
}

static void small_msgs(uint8_t bufs[5][300], size_t lens[5], enum gw_stream_kind kinds[5])
{
	struct gw_msg p = msg_ping_b(), a = msg_tcp_ack14(), e = {.type = GW_ERR};
	static const uint8_t user[] = {8,   0x81, 0xaa, 'U', 's',  'e',	 'r', 'M', 's',
				       'g', 'L',  'e',	'n', 0x03, 0x7e, 1,   2};

	strcpy(e.u.err.error, "boom");
	cr_assert_eq(gw_msg_encode(&p, bufs[0], 300, &lens[0]), 0);
	cr_assert_eq(gw_msg_encode(&a, bufs[1], 300, &lens[1]), 0);
	cr_assert_eq(gw_msg_encode(&e, bufs[2], 300, &lens[2]), 0);
	memcpy(bufs[3], user, sizeof(user));
	lens[3] = sizeof(user);
	/* push/pull with no nodes and no user state */
	lens[4] = hx("06 83 a4 'Join' c2 a5 'Nodes' 00 ac 'UserStateLen' 00", bufs[4], 300);
	kinds[0] = GW_STREAM_PING;
	kinds[1] = GW_STREAM_ACK;
	kinds[2] = GW_STREAM_ERR;
	kinds[3] = GW_STREAM_USER;
	kinds[4] = GW_STREAM_PUSHPULL;
}

Test(wire_stream, every_kind_bytewise, .init = crypto_setup)
{
	struct gw_keyring kr = test_kr();
	uint8_t bufs[5][300];
	size_t lens[5];
	enum gw_stream_kind kinds[5];

	small_msgs(bufs, lens, kinds);
	for (int k = 0; k < 5; k++) {
		for (int w = W_PLAIN; w <= W_ENCRYPT; w++) {
			struct gw_stream *s;
			struct gw_stream_msg m;
			uint8_t *wire;
			size_t wlen;

			wrap_stream(w, &kr, bufs[k], lens[k], &wire, &wlen);
			cr_assert_eq(gw_stream_create(&s, w == W_ENCRYPT ? &kr : NULL), 0);
			feed_bytewise(s, wire, wlen, &m);
			cr_assert_eq(m.kind, kinds[k], "kind %d wrap %d", k, w);
			switch (m.kind) {
			case GW_STREAM_PING:
				cr_assert_str_eq(m.msg.u.ping.src_node, "b");
				cr_assert_eq(m.msg.u.ping.seq, 1);
				break;
			case GW_STREAM_ACK:
				cr_assert_eq(m.msg.u.ack.seq, 14);
				cr_assert_eq(m.msg.u.ack.payload_len, 0);
				break;
			case GW_STREAM_ERR:
				cr_assert_str_eq(m.msg.u.err.error, "boom");
				break;
			case GW_STREAM_USER:
				cr_assert_eq(m.msg.u.user.len, 3);
				cr_assert_eq(m.msg.u.user.data[0], 0x7e);
				cr_assert_eq(m.msg.u.user.data[2], 2);
				break;
			case GW_STREAM_PUSHPULL:
				cr_assert_eq(m.pp.n, 0);
				cr_assert_null(m.pp.user_state);
				break;
			}
			gw_stream_free(s);
			free(wire);
		}
	}
	gw_keyring_wipe(&kr);
}

Test(wire_stream, back_to_back_messages)
{
	uint8_t bufs[5][300], all[1500];
	size_t lens[5], n = 0;
	enum gw_stream_kind kinds[5];
	struct gw_stream *s;
	struct gw_stream_msg m;
	const char *e;

	small_msgs(bufs, lens, kinds);
	for (int k = 0; k < 5; k++) {
		memcpy(all + n, bufs[k], lens[k]);
		n += lens[k];
	}
	cr_assert_eq(gw_stream_create(&s, NULL), 0);
	cr_assert_eq(gw_stream_feed(s, all, n, &m, &e), 1);
	cr_assert_eq(m.kind, GW_STREAM_PING);
	for (int k = 1; k < 5; k++) {
		cr_assert_eq(gw_stream_feed(s, NULL, 0, &m, &e), 1);
		cr_assert_eq(m.kind, kinds[k]);
	}
	cr_assert_eq(gw_stream_feed(s, NULL, 0, &m, &e), 0);
	gw_stream_free(s);
}

Test(wire_stream, encryption_mismatch, .init = crypto_setup)
{
	struct gw_keyring kr = test_kr(), other = {0}, empty = {0};
	uint8_t k2[GW_KEY_LEN], bufs[5][300], *wire;
	size_t lens[5], wlen;
	enum gw_stream_kind kinds[5];
	struct gw_stream *s;
	struct gw_stream_msg m;
	const char *e;

	small_msgs(bufs, lens, kinds);
	/* keys set, plaintext (compressed) arrives: refused at the first byte */
	wrap_stream(W_COMPRESS, &kr, bufs[4], lens[4], &wire, &wlen);
	cr_assert_eq(gw_stream_create(&s, &kr), 0);
	cr_assert_eq(gw_stream_feed(s, wire, 1, &m, &e), -EKEYREJECTED);
	cr_assert_str_eq(e, "Encryption is configured but remote state is not encrypted");
	cr_assert_eq(gw_stream_feed(s, wire + 1, 1, &m, &e), -EKEYREJECTED, "sticky");
	gw_stream_free(s);
	free(wire);

	/* no keys (NULL or an empty ring), encrypted arrives */
	wrap_stream(W_ENCRYPT, &kr, bufs[4], lens[4], &wire, &wlen);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(gw_stream_create(&s, i ? &empty : NULL), 0);
		cr_assert_eq(gw_stream_feed(s, wire, wlen, &m, &e), -EKEYREJECTED);
		cr_assert_str_eq(e, "Remote state is encrypted and encryption is not configured");
		gw_stream_free(s);
	}
	/* a key that does not fit */
	key_fill(k2, 0x44);
	cr_assert_eq(gw_keyring_install(&other, k2), 0);
	cr_assert_eq(gw_stream_create(&s, &other), 0);
	cr_assert_eq(gw_stream_feed(s, wire, wlen - 1, &m, &e), 0);
	cr_assert_eq(gw_stream_feed(s, wire + wlen - 1, 1, &m, &e), -EKEYREJECTED);
	cr_assert_not_null(e);
	gw_stream_free(s);
	/* the right key opens it */
	cr_assert_eq(gw_stream_create(&s, &kr), 0);
	cr_assert_eq(gw_stream_feed(s, wire, wlen, &m, &e), 1);
	gw_stream_free(s);
	free(wire);
	gw_keyring_wipe(&kr);
	gw_keyring_wipe(&other);
}

Test(wire_stream, limits_and_garbage)
{
	struct gw_stream *s;
	struct gw_stream_msg m;
	const char *e;
	uint8_t b[64];
	size_t n;
	struct gw_keyring kr = test_kr();

	/* encrypted LEN above 20 MiB */
	cr_assert_eq(gw_stream_create(&s, &kr), 0);
	n = hx("0a 01 40 00 01", b, sizeof(b));
	cr_assert_eq(gw_stream_feed(s, b, n, &m, &e), -E2BIG);
	gw_stream_free(s);
	/* push/pull header claiming too many nodes / negative user state */
	const char *bad[] = {
		"06 83 a4 'Join' c2 a5 'Nodes' ce 00 01 00 01 ac 'UserStateLen' 00",
		"06 83 a4 'Join' c2 a5 'Nodes' 00 ac 'UserStateLen' ff",
		"06 83 a4 'Join' c2 a5 'Nodes' 00 ac 'UserStateLen' ce 01 40 00 01",
		"08 81 aa 'UserMsgLen' ff",
		"03 80",				      /* suspect is not a stream message */
		"09 82 a4 'Algo' 00 a3 'Buf' a3 00 83 04",    /* LZW without EOF */
		"09 82 a4 'Algo' 00 a3 'Buf' a4 00 83 04 04", /* decompresses to 'A' */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(gw_stream_create(&s, NULL), 0);
		n = hx(bad[i], b, sizeof(b));
		int r = gw_stream_feed(s, b, n, &m, &e);

		cr_assert_eq(r, -EBADMSG, "case %zu: %d", i, r);
		cr_assert_not_null(e);
		gw_stream_free(s);
	}
	/* plain push/pull whose node maps are still arriving: waits, no error */
	cr_assert_eq(gw_stream_create(&s, NULL), 0);
	n = hx("06 83 a4 'Join' c2 a5 'Nodes' cd ff ff ac 'UserStateLen' 00 80 80", b, sizeof(b));
	cr_assert_eq(gw_stream_feed(s, b, n, &m, &e), 0);
	gw_stream_free(s);
	gw_stream_free(NULL);
	gw_keyring_wipe(&kr);
}

Test(wire_stream, ipv6_node_skipped)
{
	uint8_t b[300];
	size_t n = hx(
		"06 83 a4 'Join' c2 a5 'Nodes' 02 ac 'UserStateLen' 00 "
		"82 a4 'Addr' b0 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 a4 'Name' a1 'x' "
		"82 a4 'Name' a1 'y' a4 'Addr' a4 c0 00 02 01",
		b, sizeof(b));
	struct gw_stream *s;
	struct gw_stream_msg m;
	const char *e;

	cr_assert_eq(gw_stream_create(&s, NULL), 0);
	cr_assert_eq(gw_stream_feed(s, b, n, &m, &e), 1);
	cr_assert_eq(m.pp.n, 1);
	cr_assert_str_eq(m.pp.nodes[0].name, "y");
	cr_assert_eq(m.pp.nodes[0].addr.s_addr, ip4("192.0.2.1").s_addr);
	gw_stream_free(s);
}

Test(wire_stream, pushpull_encode_refusals)
{
	struct gw_pushpull pp = {0};
	struct gw_pp_node nd = {0};
	uint8_t *o;
	size_t n;

	pp.nodes = &nd;
	pp.n = 1;
	cr_assert_eq(gw_pushpull_encode(&pp, &o, &n), -EINVAL, "nameless node");
	strcpy(nd.name, "x");
	nd.state = 7;
	cr_assert_eq(gw_pushpull_encode(&pp, &o, &n), -EINVAL, "unknown state");
	nd.state = GW_STATE_DEAD;
	pp.user_state_len = 3;
	cr_assert_eq(gw_pushpull_encode(&pp, &o, &n), -EINVAL, "user state without bytes");
	pp.user_state_len = 0;
	cr_assert_eq(gw_pushpull_encode(&pp, &o, &n), 0);
	free(o);
}
