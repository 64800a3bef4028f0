// SPDX-License-Identifier: MIT
/*
 * Unit tests for driver/values.c: round trips of node meta, network and
 * endpoint table values and the Serf push/pull envelope; byte-exact encodes
 * (Serf tags, sorted compact JSON, the push/pull map, Serf's leave intent)
 * so the wire format cannot drift silently; and tables of malformed input
 * from peers that every decoder must refuse.  Inputs are copied to exact-size
 * allocations so ASan sees any read past the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "common/version.h"
#include "driver/values.h"
#include "gossip/wire.h"
#include "tests/unit/dup_exact.h"

/* A string literal as (bytes, length), embedded NULs included. */
#define LIT(s)	  (const uint8_t *)(s), sizeof(s) - 1
#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static struct in_addr ip4(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1, "%s", s);
	return a;
}

/* An entry holding a copy of value (NULL: a tombstone); free e->value. */
static struct gt_entry entry(const char *key, const char *value)
{
	struct gt_entry e = {.kind = 0, .clock = 1};

	snprintf(e.key, sizeof(e.key), "%s", key);
	if (value) {
		e.value = dup_exact(value, strlen(value));
		e.value_len = strlen(value);
	}
	return e;
}

static void expect_bytes(const uint8_t *got, size_t glen, const uint8_t *want, size_t wlen,
			 const char *what)
{
	cr_expect_eq(glen, wlen, "%s: length %zu, want %zu", what, glen, wlen);
	if (glen == wlen)
		cr_expect_arr_eq(got, want, wlen, "%s: bytes differ", what);
}

/* msgpack v4 raw header (fixraw or raw16), as values.c packs strings. */
static size_t raw_head(uint8_t *p, size_t len)
{
	if (len < 32) {
		p[0] = (uint8_t)(0xa0 | len);
		return 1;
	}
	p[0] = 0xda;
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)len;
	return 3;
}

static size_t put_raw(uint8_t *p, const char *s)
{
	size_t h = raw_head(p, strlen(s));

	memcpy(p + h, s, strlen(s));
	return h + strlen(s);
}

/* ---- node meta ---- */

static void meta_decode_exact(const uint8_t *in, size_t len, struct drv_peer_info *pi, int tags)
{
	uint8_t *d = dup_exact(in, len);

	drv_meta_decode(d, len, pi, tags);
	free(d);
}

Test(values_meta, encode_then_decode_gives_id_vtep_and_version_tags)
{
	uint8_t meta[GW_META_MAX];
	struct drv_peer_info pi;
	size_t len = 0;

	cr_assert_eq(drv_meta_encode("0123456789abcdef0123456789abcdef", ip4("192.0.2.7"), 8472, 0,
				     0, meta, &len),
		     0);
	meta_decode_exact(meta, len, &pi, 1);
	cr_expect_eq(pi.vxmesh, 1);
	cr_expect_str_eq(pi.id, "0123456789abcdef0123456789abcdef");
	cr_expect_eq(pi.vtep.s_addr, ip4("192.0.2.7").s_addr);
	cr_expect_eq(pi.vtep_port, 8472);
	cr_assert_not_null(pi.tags);
	cr_expect_eq(json_object_size(pi.tags), 3);
	cr_expect_str_eq(json_string_value(json_object_get(pi.tags, "vtep")), "192.0.2.7:8472");
	cr_expect_str_eq(json_string_value(json_object_get(pi.tags, "vxmesh")), vxmesh_version);
	json_decref(pi.tags);
}

Test(values_meta, decode_without_tags_leaves_tags_null)
{
	uint8_t meta[GW_META_MAX];
	struct drv_peer_info pi;
	size_t len = 0;

	cr_assert_eq(drv_meta_encode("n1", ip4("192.0.2.1"), 4789, 0, 0, meta, &len), 0);
	meta_decode_exact(meta, len, &pi, 0);
	cr_expect_eq(pi.vxmesh, 1);
	cr_expect_null(pi.tags);
}

Test(values_meta, encoding_is_serf_tags_ff_then_map_of_id_vtep_vxmesh)
{
	uint8_t meta[GW_META_MAX], want[GW_META_MAX];
	size_t len = 0, n = 0;

	cr_assert_eq(drv_meta_encode("node-1", ip4("192.0.2.1"), 4789, 0, 0, meta, &len), 0);
	want[n++] = 0xff;
	want[n++] = 0x83;
	n += put_raw(want + n, "id");
	n += put_raw(want + n, "node-1");
	n += put_raw(want + n, "vtep");
	n += put_raw(want + n, "192.0.2.1:4789");
	n += put_raw(want + n, "vxmesh");
	n += put_raw(want + n, vxmesh_version);
	expect_bytes(meta, len, want, n, "meta");
}

Test(values_meta, enc_tag_round_trips_and_bad_ones_mean_none)
{
	static const char *bad[] = {"4790",
				    "4790:",
				    "0:00000000000000aa",
				    "70000:00000000000000aa",
				    "4790:00000000000000AA",
				    "4790:0000000000000aa",
				    "4790:00000000000000aaa",
				    "x:00000000000000aa",
				    "4790:0000000000000000"};
	uint8_t meta[GW_META_MAX];
	struct drv_peer_info pi;
	size_t len = 0;

	cr_assert_eq(drv_meta_encode("n1", ip4("192.0.2.1"), 4789, 4790, 0x0123456789abcdefull,
				     meta, &len),
		     0);
	meta_decode_exact(meta, len, &pi, 1);
	cr_expect_eq(pi.vxmesh, 1);
	cr_expect_eq(pi.enc_port, 4790);
	cr_expect_eq(pi.enc_session, 0x0123456789abcdefull);
	cr_expect_str_eq(json_string_value(json_object_get(pi.tags, "enc")),
			 "4790:0123456789abcdef");
	json_decref(pi.tags);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t m[128];
		size_t n = 0;

		m[n++] = 0xff;
		m[n++] = 0x83;
		n += put_raw(m + n, "id");
		n += put_raw(m + n, "n1");
		n += put_raw(m + n, "vtep");
		n += put_raw(m + n, "192.0.2.1:4789");
		n += put_raw(m + n, "enc");
		n += put_raw(m + n, bad[i]);
		drv_meta_decode(m, n, &pi, 0);
		cr_expect_eq(pi.enc_port, 0, "\"%s\" gave port %u", bad[i], pi.enc_port);
	}
}

Test(values_meta, id_too_long_for_memberlist_meta_is_e2big)
{
	char id[GW_META_MAX];
	uint8_t meta[GW_META_MAX];
	size_t len = 0;

	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	cr_expect_eq(drv_meta_encode(id, ip4("192.0.2.1"), 4789, 0, 0, meta, &len), -E2BIG);
}

struct meta_case {
	const char *what;
	const uint8_t *in;
	size_t len;
	int vxmesh;
	const char *id;	  /* expected pi.id */
	const char *vtep; /* expected pi.vtep, NULL: 0 */
	uint16_t port;
	size_t ntags; /* tags kept when asked */
};

/* Pieces of a valid meta: "\xa2" "id" is fixstr 2 "id", and so on. */
/* clang-format off */
#define ID   "\xa2" "id" "\xa2" "n1"
#define VTEP "\xa4" "vtep" "\xae" "192.0.2.1:4789"
#define VXM  "\xa6" "vxmesh" "\xa3" "1.0"
#define ROLE "\xa4" "role" "\xa3" "web"
#define ID63 "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii"

static const struct meta_case meta_cases[] = {
	{"valid", LIT("\xff\x83" ID VTEP VXM), 1, "n1", "192.0.2.1", 4789, 3},
	{"empty", LIT(""), 0, "", NULL, 0, 0},
	{"not 0xff", LIT("\x00\x83" ID VTEP VXM), 0, "", NULL, 0, 0},
	{"msgpack without the 0xff byte", LIT("\x83" ID VTEP VXM), 0, "", NULL, 0, 0},
	{"0xff alone", LIT("\xff"), 0, "", NULL, 0, 0},
	{"not a map", LIT("\xff\x93" ID VTEP), 0, "", NULL, 0, 0},
	{"map truncated in the last value", LIT("\xff\x83" ID VTEP "\xa6" "vxmesh" "\xa3" "1."),
	 0, "", NULL, 0, 0},
	{"map with a pair missing", LIT("\xff\x84" ID VTEP VXM), 0, "", NULL, 0, 0},
	{"a plain Serf node (no tags)", LIT("\xff\x80"), 0, "", NULL, 0, 0},
	{"id missing", LIT("\xff\x82" VTEP VXM), 0, "", "192.0.2.1", 4789, 2},
	{"id empty", LIT("\xff\x83" "\xa2" "id" "\xa0" VTEP VXM), 0, "", "192.0.2.1", 4789, 3},
	{"id an integer", LIT("\xff\x83" "\xa2" "id" "\x07" VTEP VXM), 0, "", "192.0.2.1", 4789,
	 2},
	{"id a map", LIT("\xff\x83" "\xa2" "id" "\x81\x01\x02" VTEP VXM), 0, "", "192.0.2.1",
	 4789, 2},
	{"id with a NUL", LIT("\xff\x83" "\xa2" "id" "\xa3" "n\0x" VTEP VXM), 0, "", "192.0.2.1",
	 4789, 2},
	{"vtep missing", LIT("\xff\x82" ID VXM), 0, "n1", NULL, 0, 2},
	{"vtep not an address", LIT("\xff\x83" ID "\xa4" "vtep" "\xa4" "host" VXM), 0, "n1", NULL,
	 0, 3},
	{"vtep octet out of range", LIT("\xff\x83" ID "\xa4" "vtep" "\xa9" "256.0.0.1" VXM), 0,
	 "n1", NULL, 0, 3},
	{"vtep port 0", LIT("\xff\x83" ID "\xa4" "vtep" "\xab" "192.0.2.1:0" VXM), 0, "n1", NULL,
	 0, 3},
	{"vtep port 65536", LIT("\xff\x83" ID "\xa4" "vtep" "\xaf" "192.0.2.1:65536" VXM), 0,
	 "n1", NULL, 0, 3},
	{"vtep 0.0.0.0", LIT("\xff\x83" ID "\xa4" "vtep" "\xa7" "0.0.0.0" VXM), 0, "n1", NULL, 0,
	 3},
	{"vtep an integer", LIT("\xff\x83" ID "\xa4" "vtep" "\x05" VXM), 0, "n1", NULL, 0, 2},
	{"vxmesh tag missing", LIT("\xff\x82" ID VTEP), 0, "n1", "192.0.2.1", 4789, 2},
	{"unknown tags kept", LIT("\xff\x85" ID VTEP VXM ROLE "\xa2" "dc" "\xa3" "fra"),
	 1, "n1", "192.0.2.1", 4789, 5},
	{"str8 and bin values", LIT("\xff\x83" "\xa2" "id" "\xd9\x02" "n1" VTEP "\xa6" "vxmesh"
				    "\xc4\x03" "1.0"),
	 1, "n1", "192.0.2.1", 4789, 3},
	{"id of 63 bytes kept", LIT("\xff\x83" "\xa2" "id" "\xd9\x3f" ID63 VTEP VXM), 1, ID63,
	 "192.0.2.1", 4789, 3},
	{"id of 64 bytes refused, not cut", LIT("\xff\x83" "\xa2" "id" "\xd9\x40" ID63 "i" VTEP
						VXM),
	 0, "", "192.0.2.1", 4789, 3},
	{"a key of 64 bytes is skipped",
	 LIT("\xff\x84" ID VTEP VXM "\xd9\x40"
	     "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	     "\xa1" "v"),
	 1, "n1", "192.0.2.1", 4789, 3},
};
/* clang-format on */

Test(values_meta, decode_keeps_only_what_it_can_read)
{
	for (size_t i = 0; i < NCASES(meta_cases); i++) {
		const struct meta_case *t = &meta_cases[i];
		struct drv_peer_info pi;

		meta_decode_exact(t->in, t->len, &pi, 1);
		cr_expect_eq(pi.vxmesh, t->vxmesh, "%s: vxmesh %d", t->what, pi.vxmesh);
		cr_expect_str_eq(pi.id, t->id, "%s: id '%s'", t->what, pi.id);
		cr_expect_eq(pi.vtep.s_addr, t->vtep ? ip4(t->vtep).s_addr : 0, "%s: vtep",
			     t->what);
		if (t->vtep)
			cr_expect_eq(pi.vtep_port, t->port, "%s: port %u", t->what, pi.vtep_port);
		cr_assert_not_null(pi.tags, "%s", t->what);
		cr_expect_eq(json_object_size(pi.tags), t->ntags, "%s: %zu tags", t->what,
			     json_object_size(pi.tags));
		json_decref(pi.tags);
	}
}

Test(values_meta, unknown_tag_values_are_kept_as_strings)
{
	struct drv_peer_info pi;

	meta_decode_exact(LIT("\xff\x84" ID VTEP VXM ROLE), &pi, 1);
	cr_expect_str_eq(json_string_value(json_object_get(pi.tags, "role")), "web");
	cr_expect_str_eq(json_string_value(json_object_get(pi.tags, "id")), "n1");
	json_decref(pi.tags);
}

/* ---- network values ---- */

static struct drv_net_rec net_rec(const char *gw, unsigned mtu, const char *ring)
{
	struct drv_net_rec r = {.vni = 42, .mtu = mtu, .port = 4789};

	snprintf(r.name, sizeof(r.name), "blue");
	r.subnet.addr = ip4("10.1.0.0");
	r.subnet.len = 24;
	if (gw)
		r.gw = ip4(gw);
	snprintf(r.ring, sizeof(r.ring), "%s", ring);
	return r;
}

static void net_round_trip(const struct drv_net_rec *in)
{
	struct drv_net_rec out;
	struct gt_entry e = {0};
	size_t len = 0;
	uint8_t *v = drv_net_value(in, &len);

	cr_assert_not_null(v);
	snprintf(e.key, sizeof(e.key), "%s", in->name);
	e.value = v;
	e.value_len = len;
	cr_assert_eq(drv_net_parse(&e, &out), 0, "%.*s", (int)len, v);
	cr_expect_str_eq(out.name, in->name);
	cr_expect_eq(out.vni, in->vni);
	cr_expect_eq(out.subnet.addr.s_addr, in->subnet.addr.s_addr);
	cr_expect_eq(out.subnet.len, in->subnet.len);
	cr_expect_eq(out.gw.s_addr, in->gw.s_addr);
	cr_expect_eq(out.mtu, in->mtu);
	cr_expect_eq(out.port, in->port);
	cr_expect_str_eq(out.ring, in->ring);
	cr_expect_gt(out.created, 0);
	free(v);
}

Test(values_net, value_then_parse_gives_the_same_record)
{
	struct drv_net_rec full = net_rec("10.1.0.1", 1450, "0123456789abcdef");
	struct drv_net_rec bare = net_rec(NULL, 0, "");

	net_round_trip(&full);
	net_round_trip(&bare);
}

Test(values_net, value_is_compact_json_with_sorted_keys)
{
	struct drv_net_rec full = net_rec("10.1.0.1", 1450, "0123456789abcdef");
	struct drv_net_rec bare = net_rec(NULL, 0, "");
	size_t len = 0;
	uint8_t *v;

	v = drv_net_value(&full, &len);
	expect_bytes(v, len,
		     LIT("{\"gateway\":\"10.1.0.1\",\"mtu\":1450,\"port\":4789,"
			 "\"ring\":\"0123456789abcdef\",\"subnet\":\"10.1.0.0/24\",\"vni\":42}"),
		     "full");
	free(v);
	v = drv_net_value(&bare, &len);
	expect_bytes(v, len,
		     LIT("{\"gateway\":null,\"mtu\":0,\"port\":4789,\"ring\":\"\","
			 "\"subnet\":\"10.1.0.0/24\",\"vni\":42}"),
		     "bare");
	free(v);
}

Test(values_net, an_encrypted_network_says_port_0_so_older_agents_refuse_it)
{
	struct drv_net_rec sealed = net_rec(NULL, 0, "");
	struct drv_net_rec out;
	struct gt_entry e;
	size_t len = 0;
	uint8_t *v;

	sealed.encrypted = 1;
	v = drv_net_value(&sealed, &len);
	/* Older parsers require port 1-65535 and ignore "encrypted": they must
	 * refuse this value, never carry the network as plaintext VXLAN. */
	expect_bytes(v, len,
		     LIT("{\"encrypted\":true,\"gateway\":null,\"mtu\":0,\"port\":0,\"ring\":\"\","
			 "\"subnet\":\"10.1.0.0/24\",\"vni\":42}"),
		     "sealed");
	free(v);
	net_round_trip(&sealed);
	e = entry("n", "{\"encrypted\":true,\"gateway\":null,\"mtu\":0,\"port\":0,\"ring\":\"\","
		       "\"subnet\":\"10.1.0.0/24\",\"vni\":42}");
	cr_assert_eq(drv_net_parse(&e, &out), 0);
	cr_expect_eq(out.encrypted, 1);
	cr_expect_eq(out.port, 4789, "no VXLAN port: the default stands in");
	free((void *)e.value);
	e = entry("n", "{\"encrypted\":true,\"gateway\":null,\"mtu\":0,\"port\":4789,\"ring\":\"\","
		       "\"subnet\":\"10.1.0.0/24\",\"vni\":42}");
	cr_expect_eq(drv_net_parse(&e, &out), -EINVAL, "encrypted with a VXLAN port: malformed");
	free((void *)e.value);
	e = entry("n", "{\"encrypted\":false,\"gateway\":null,\"mtu\":0,\"port\":0,\"ring\":\"\","
		       "\"subnet\":\"10.1.0.0/24\",\"vni\":42}");
	cr_expect_eq(drv_net_parse(&e, &out), -EINVAL, "plaintext needs a port");
	free((void *)e.value);
}

struct net_case {
	const char *key;
	const char *value; /* NULL: a tombstone */
	int ret;
};

/* The valid value with one field replaced. */
#define NET(vni, subnet, gw, mtu, port, ring)                                                      \
	"{\"vni\":" vni ",\"subnet\":" subnet ",\"gateway\":" gw ",\"mtu\":" mtu                   \
	",\"port\":" port ring "}"
#define NET_OK	 NET("42", "\"10.1.0.0/24\"", "\"10.1.0.1\"", "1450", "4789", "")
#define RING(id) ",\"ring\":" id

static const struct net_case net_cases[] = {
	{"blue", NET_OK, 0},
	{"blue", NET("1", "\"10.1.0.0/24\"", "null", "0", "1", ""), 0},
	{"blue", NET("16777215", "\"10.0.0.0/8\"", "null", "576", "65535", ""), 0},
	{"blue", NET("42", "\"10.1.0.0/30\"", "null", "65535", "4789", ""), 0},
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "0", "4789", RING("\"\"")), 0},
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "0", "4789", RING("\"0123456789abcdef\"")),
	 0},
	{"blue",
	 "{\"vni\":42,\"subnet\":\"10.1.0.0/24\",\"gateway\":null,\"mtu\":0,\"port\":1,"
	 "\"later\":true}",
	 0},
	{"a_b.c-9", NET_OK, 0},
	/* not JSON, not an object */
	{"blue", NULL, -EINVAL},
	{"blue", "", -EINVAL},
	{"blue", "{", -EINVAL},
	{"blue", "[]", -EINVAL},
	{"blue", "42", -EINVAL},
	{"blue", NET_OK "x", -EINVAL},
	{"blue",
	 "{\"vni\":42,\"vni\":43,\"subnet\":\"10.1.0.0/24\",\"gateway\":null,\"mtu\":0,"
	 "\"port\":1}",
	 -EINVAL},
	/* fields missing */
	{"blue", "{\"subnet\":\"10.1.0.0/24\",\"gateway\":null,\"mtu\":0,\"port\":1}", -EINVAL},
	{"blue", "{\"vni\":42,\"gateway\":null,\"mtu\":0,\"port\":1}", -EINVAL},
	{"blue", "{\"vni\":42,\"subnet\":\"10.1.0.0/24\",\"mtu\":0,\"port\":1}", -EINVAL},
	{"blue", "{\"vni\":42,\"subnet\":\"10.1.0.0/24\",\"gateway\":null,\"port\":1}", -EINVAL},
	{"blue", "{\"vni\":42,\"subnet\":\"10.1.0.0/24\",\"gateway\":null,\"mtu\":0}", -EINVAL},
	/* vni */
	{"blue", NET("0", "\"10.1.0.0/24\"", "null", "0", "4789", ""), -EINVAL},
	{"blue", NET("16777216", "\"10.1.0.0/24\"", "null", "0", "4789", ""), -EINVAL},
	{"blue", NET("-1", "\"10.1.0.0/24\"", "null", "0", "4789", ""), -EINVAL},
	{"blue", NET("\"42\"", "\"10.1.0.0/24\"", "null", "0", "4789", ""), -EINVAL},
	{"blue", NET("42.5", "\"10.1.0.0/24\"", "null", "0", "4789", ""), -EINVAL},
	/* mtu */
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "575", "4789", ""), -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "65536", "4789", ""), -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "-1", "4789", ""), -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "null", "4789", ""), -EINVAL},
	/* port */
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "0", "0", ""), -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "0", "65536", ""), -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "0", "-4789", ""), -EINVAL},
	/* subnet */
	{"blue", NET("42", "\"10.1.0.1/24\"", "null", "0", "4789", ""), -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/31\"", "null", "0", "4789", ""), -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/32\"", "null", "0", "4789", ""), -EINVAL},
	{"blue", NET("42", "\"10.0.0.0/7\"", "null", "0", "4789", ""), -EINVAL},
	{"blue", NET("42", "\"10.1.0.0\"", "null", "0", "4789", ""), -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/\"", "null", "0", "4789", ""), -EINVAL},
	{"blue", NET("42", "\"fd00::/64\"", "null", "0", "4789", ""), -EINVAL},
	{"blue", NET("42", "24", "null", "0", "4789", ""), -EINVAL},
	/* gateway */
	{"blue", NET("42", "\"10.1.0.0/24\"", "\"10.1.1.1\"", "0", "4789", ""), -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/24\"", "\"10.1.0\"", "0", "4789", ""), -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/24\"", "\"\"", "0", "4789", ""), -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/24\"", "167837697", "0", "4789", ""), -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/24\"", "false", "0", "4789", ""), -EINVAL},
	/* ring */
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "0", "4789", RING("\"0123456789abcde\"")),
	 -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "0", "4789", RING("\"0123456789abcdef0\"")),
	 -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "0", "4789", RING("\"0123456789ABCDEF\"")),
	 -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "0", "4789", RING("\"0123456789abcdeg\"")),
	 -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "0", "4789", RING("7")), -EINVAL},
	{"blue", NET("42", "\"10.1.0.0/24\"", "null", "0", "4789", RING("null")), -EINVAL},
	/* the key is the network's name */
	{"", NET_OK, -EINVAL},
	{"-blue", NET_OK, -EINVAL},
	{"bl ue", NET_OK, -EINVAL},
	{"blue/1", NET_OK, -EINVAL},
	{"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", NET_OK, -EINVAL},
};

Test(values_net, parse_accepts_edges_and_refuses_each_bad_field)
{
	for (size_t i = 0; i < NCASES(net_cases); i++) {
		const struct net_case *t = &net_cases[i];
		struct gt_entry e = entry(t->key, t->value);
		struct drv_net_rec r;
		int ret = drv_net_parse(&e, &r);

		cr_expect_eq(ret, t->ret, "case %zu (key '%s', %s): %d", i, t->key,
			     t->value ? t->value : "tombstone", ret);
		if (!ret)
			cr_expect_str_eq(r.name, t->key, "case %zu", i);
		free((void *)e.value);
	}
}

/* ---- endpoint values ---- */

static struct drv_ep_rec ep_rec(void)
{
	struct drv_ep_rec r = {.mac = {0x02, 0x42, 0x0a, 0x01, 0x00, 0x05}};

	snprintf(r.id, sizeof(r.id), "0123456789ab");
	snprintf(r.net, sizeof(r.net), "blue");
	r.ip = ip4("10.1.0.5");
	return r;
}

Test(values_ep, value_then_parse_gives_the_same_fields)
{
	struct drv_ep_rec r = ep_rec();
	struct drv_ep_val v;
	struct gt_entry e = {0};
	size_t len = 0;
	uint8_t *val = drv_ep_value(&r, ip4("192.0.2.7"), 8472, "host-1", &len);

	cr_assert_not_null(val);
	snprintf(e.key, sizeof(e.key), "%s", r.id);
	e.value = val;
	e.value_len = len;
	cr_assert_eq(drv_ep_parse(&e, &v), 0);
	cr_expect_str_eq(v.net, "blue");
	cr_expect_eq(v.ip.s_addr, r.ip.s_addr);
	cr_expect_arr_eq(v.mac, r.mac, 6);
	cr_expect_eq(v.vtep.s_addr, ip4("192.0.2.7").s_addr);
	cr_expect_eq(v.vtep_port, 8472);
	free(val);
}

Test(values_ep, value_is_compact_json_with_sorted_keys)
{
	struct drv_ep_rec r = ep_rec();
	size_t len = 0;
	uint8_t *val = drv_ep_value(&r, ip4("192.0.2.7"), 4789, "host-1", &len);

	expect_bytes(val, len,
		     LIT("{\"host\":\"host-1\",\"ip\":\"10.1.0.5\",\"mac\":\"02:42:0a:01:00:05\","
			 "\"net\":\"blue\",\"vtep\":\"192.0.2.7:4789\"}"),
		     "ep");
	free(val);
}

struct ep_case {
	const char *value;
	int ret;
	uint16_t port; /* when accepted */
};

#define EP(net, ip, mac, vtep)                                                                     \
	"{\"net\":" net ",\"ip\":" ip ",\"mac\":" mac ",\"vtep\":" vtep ",\"host\":\"h\"}"
#define EP_NET	"\"blue\""
#define EP_IP	"\"10.1.0.5\""
#define EP_MAC	"\"02:42:0a:01:00:05\""
#define EP_VTEP "\"192.0.2.7:8472\""
#define NAME63	"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"

static const struct ep_case ep_cases[] = {
	{EP(EP_NET, EP_IP, EP_MAC, EP_VTEP), 0, 8472},
	{EP(EP_NET, EP_IP, EP_MAC, "\"192.0.2.7\""), 0, 4789},
	{EP(EP_NET, EP_IP, "\"02:42:0A:01:00:05\"", EP_VTEP), 0, 8472},
	{EP("\"" NAME63 "\"", EP_IP, EP_MAC, EP_VTEP), 0, 8472},
	{"{\"net\":\"blue\",\"ip\":\"10.1.0.5\",\"mac\":\"02:42:0a:01:00:05\","
	 "\"vtep\":\"192.0.2.7\"}",
	 0, 4789},
	/* not JSON, not an object, duplicates */
	{NULL, -EINVAL, 0},
	{"", -EINVAL, 0},
	{"{\"net\":", -EINVAL, 0},
	{"[\"blue\"]", -EINVAL, 0},
	{"{\"net\":\"blue\",\"net\":\"red\",\"ip\":\"10.1.0.5\",\"mac\":\"02:42:0a:01:00:05\","
	 "\"vtep\":\"192.0.2.7\"}",
	 -EINVAL, 0},
	/* fields missing or of the wrong type */
	{"{\"ip\":\"10.1.0.5\",\"mac\":\"02:42:0a:01:00:05\",\"vtep\":\"192.0.2.7\"}", -EINVAL, 0},
	{"{\"net\":\"blue\",\"mac\":\"02:42:0a:01:00:05\",\"vtep\":\"192.0.2.7\"}", -EINVAL, 0},
	{"{\"net\":\"blue\",\"ip\":\"10.1.0.5\",\"vtep\":\"192.0.2.7\"}", -EINVAL, 0},
	{"{\"net\":\"blue\",\"ip\":\"10.1.0.5\",\"mac\":\"02:42:0a:01:00:05\"}", -EINVAL, 0},
	{EP("7", EP_IP, EP_MAC, EP_VTEP), -EINVAL, 0},
	{EP(EP_NET, "167837957", EP_MAC, EP_VTEP), -EINVAL, 0},
	{EP(EP_NET, EP_IP, "null", EP_VTEP), -EINVAL, 0},
	{EP(EP_NET, EP_IP, EP_MAC, "[]"), -EINVAL, 0},
	/* net name */
	{EP("\"" NAME63 "n\"", EP_IP, EP_MAC, EP_VTEP), -EINVAL, 0},
	/* ip */
	{EP(EP_NET, "\"10.1.0.256\"", EP_MAC, EP_VTEP), -EINVAL, 0},
	{EP(EP_NET, "\"10.1.0\"", EP_MAC, EP_VTEP), -EINVAL, 0},
	{EP(EP_NET, "\"10.1.0.5/24\"", EP_MAC, EP_VTEP), -EINVAL, 0},
	{EP(EP_NET, "\"\"", EP_MAC, EP_VTEP), -EINVAL, 0},
	/* mac */
	{EP(EP_NET, EP_IP, "\"01:00:5e:00:00:01\"", EP_VTEP), -EINVAL, 0},
	{EP(EP_NET, EP_IP, "\"ff:ff:ff:ff:ff:ff\"", EP_VTEP), -EINVAL, 0},
	{EP(EP_NET, EP_IP, "\"00:00:00:00:00:00\"", EP_VTEP), -EINVAL, 0},
	{EP(EP_NET, EP_IP, "\"02:42:0a:01:00\"", EP_VTEP), -EINVAL, 0},
	{EP(EP_NET, EP_IP, "\"02-42-0a-01-00-05\"", EP_VTEP), -EINVAL, 0},
	/* vtep */
	{EP(EP_NET, EP_IP, EP_MAC, "\"0.0.0.0:4789\""), -EINVAL, 0},
	{EP(EP_NET, EP_IP, EP_MAC, "\"0.0.0.0\""), -EINVAL, 0},
	{EP(EP_NET, EP_IP, EP_MAC, "\"192.0.2.7:0\""), -EINVAL, 0},
	{EP(EP_NET, EP_IP, EP_MAC, "\"192.0.2.7:65536\""), -EINVAL, 0},
	{EP(EP_NET, EP_IP, EP_MAC, "\"192.0.2.7:\""), -EINVAL, 0},
	{EP(EP_NET, EP_IP, EP_MAC, "\"host:4789\""), -EINVAL, 0},
};

Test(values_ep, parse_defaults_the_port_and_refuses_each_bad_field)
{
	for (size_t i = 0; i < NCASES(ep_cases); i++) {
		const struct ep_case *t = &ep_cases[i];
		struct gt_entry e = entry("0123456789ab", t->value);
		struct drv_ep_val v;
		int ret = drv_ep_parse(&e, &v);

		cr_expect_eq(ret, t->ret, "case %zu (%s): %d", i, t->value ? t->value : "tombstone",
			     ret);
		if (!ret && !t->ret)
			cr_expect_eq(v.vtep_port, t->port, "case %zu: port %u", i, v.vtep_port);
		free((void *)e.value);
	}
}

/* ---- Serf push/pull ---- */

struct calls {
	int n;
	size_t len[4];
	uint8_t tab[4][64];
};

static void record_cb(void *arg, const uint8_t *tab, size_t tlen)
{
	struct calls *c = arg;

	if (c->n < 4) {
		c->len[c->n] = tlen;
		memcpy(c->tab[c->n], tab, tlen < 64 ? tlen : 64);
	}
	c->n++;
}

static int pushpull_decode_exact(const uint8_t *in, size_t len, struct calls *c)
{
	uint8_t *d = dup_exact(in, len);
	int ret;

	memset(c, 0, sizeof(*c));
	ret = drv_pushpull_decode(d, len, record_cb, c);
	free(d);
	return ret;
}

/* A push/pull state as values.c writes it, around a 1-byte table "T". */
/* clang-format off */
#define PP_HEAD                                                                                    \
	"\x02\x87"                                                                                 \
	"\xaa" "EventLTime" "\x01"                                                                 \
	"\xa5" "LTime" "\x01"                                                                      \
	"\xab" "LeftMembers" "\x90"                                                                \
	"\xaa" "QueryLTime" "\x01"                                                                 \
	"\xac" "StatusLTimes" "\x80"
#define PP_T PP_HEAD "\xa6" "Vxmesh" "\xa1" "T" "\xad" "VxmeshVersion" "\x01"
/* clang-format on */

Test(values_pushpull, encoding_is_a_serf_state_map_with_a_vxmesh_key)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	cr_assert_eq(drv_pushpull_encode((const uint8_t *)"T", 1, &buf, &len), 0);
	expect_bytes(buf, len, LIT(PP_T), "push/pull");
	free(buf);
}

Test(values_pushpull, encode_then_decode_hands_back_exactly_the_table)
{
	static const uint8_t tabs[][40] = {
		{0},
		{'x'},
		{0x00, 0xff, 0xc1, 0x02, 0x87, 'V'},
		{"0123456789012345678901234567890123456789"},
	};
	static const size_t lens[] = {0, 1, 6, 40};

	for (size_t i = 0; i < NCASES(lens); i++) {
		struct calls c;
		uint8_t *buf = NULL;
		size_t len = 0;

		cr_assert_eq(drv_pushpull_encode(tabs[i], lens[i], &buf, &len), 0);
		cr_expect_eq(pushpull_decode_exact(buf, len, &c), 0, "case %zu", i);
		cr_expect_eq(c.n, 1, "case %zu: %d calls", i, c.n);
		expect_bytes(c.tab[0], c.len[0], tabs[i], lens[i], "table");
		free(buf);
	}
}

static void count_cb(void *arg, const uint8_t *tab, size_t tlen)
{
	size_t *total = arg;

	*total += tlen;
}

Test(values_pushpull, tables_over_64k_round_trip)
{
	size_t n = 70000, total = 0, len = 0;
	uint8_t *tab = malloc(n), *buf = NULL;

	cr_assert_not_null(tab);
	for (size_t i = 0; i < n; i++)
		tab[i] = (uint8_t)(i * 7);
	cr_assert_eq(drv_pushpull_encode(tab, n, &buf, &len), 0);
	cr_expect_eq(drv_pushpull_decode(buf, len, count_cb, &total), 0);
	cr_expect_eq(total, n);
	free(buf);
	free(tab);
}

struct pp_case {
	const char *what;
	const uint8_t *in;
	size_t len;
	int ret;
	int calls;
	const char *tab; /* first call's table */
};

/* Serf's own state, with keys vxmesh never reads. */
/* clang-format off */
#define SERF_STATE                                                                                 \
	"\xa5" "LTime" "\xcd\x01\x00"                                                              \
	"\xac" "StatusLTimes" "\x81\xa2" "n1" "\x05"                                               \
	"\xab" "LeftMembers" "\x91\xa2" "n2"                                                       \
	"\xaa" "EventLTime" "\x03"                                                                 \
	"\xa6" "Events" "\x91\x82\xa5" "LTime" "\x02\xa6" "Events" "\x90"                          \
	"\xaa" "QueryLTime" "\x01"
#define VXM_T "\xa6" "Vxmesh" "\xa1" "T"

static const struct pp_case pp_cases[] = {
	{"ours", LIT(PP_T), 0, 1, "T"},
	{"Serf's own state: nothing for us", LIT("\x02\x86" SERF_STATE), 0, 0, NULL},
	{"Serf's keys skipped", LIT("\x02\x87" SERF_STATE VXM_T), 0, 1, "T"},
	{"Vxmesh first", LIT("\x02\x87" VXM_T SERF_STATE), 0, 1, "T"},
	{"Vxmesh as bin and str8", LIT("\x02\x82\xc4\x06" "Vxmesh" "\xc4\x01" "b"
				       "\xa6" "Vxmesh" "\xd9\x01" "s"),
	 0, 2, "b"},
	{"keys that only look like ours",
	 LIT("\x02\x83\xa6" "vxmesh" "\xa1" "a" "\xa7" "VxmeshX" "\xa1" "b"
	     "\xa5" "Vxmes" "\xa1" "c"),
	 0, 0, NULL},
	{"non-string keys skipped with their values",
	 LIT("\x02\x83" "\x01" "\xa6" "Vxmesh" "\x92\xa6" "Vxmesh" "\xc0" "\xa1" "x" VXM_T), 0, 1,
	 "T"},
	{"an empty map", LIT("\x02\x80"), 0, 0, NULL},
	/* values that are not raw strings: counted, not handed on */
	{"Vxmesh an integer", LIT("\x02\x81\xa6" "Vxmesh" "\x07"), 1, 0, NULL},
	{"Vxmesh nil", LIT("\x02\x81\xa6" "Vxmesh" "\xc0"), 1, 0, NULL},
	{"Vxmesh a map", LIT("\x02\x81\xa6" "Vxmesh" "\x81\xa1" "a" "\xa1" "b"), 1, 0, NULL},
	{"two bad, one good", LIT("\x02\x83\xa6" "Vxmesh" "\x90" VXM_T "\xa6" "Vxmesh" "\xc3"), 2,
	 1, "T"},
	/* not a push/pull state */
	{"empty", LIT(""), -EBADMSG, 0, NULL},
	{"type byte alone", LIT("\x02"), -EBADMSG, 0, NULL},
	{"leave intent (type 0)", LIT("\x00\x80"), -EBADMSG, 0, NULL},
	{"join intent (type 1)", LIT("\x01\x80"), -EBADMSG, 0, NULL},
	{"memberlist pushPull (type 6)", LIT("\x06\x80"), -EBADMSG, 0, NULL},
	{"not a map", LIT("\x02\x91\xa1" "T"), -EBADMSG, 0, NULL},
	{"a string", LIT("\x02\xa1" "T"), -EBADMSG, 0, NULL},
	{"map short of a pair", LIT("\x02\x82" VXM_T), -EBADMSG, 0, NULL},
	{"value length past the end", LIT("\x02\x81\xa6" "Vxmesh" "\xa5" "T"), -EBADMSG, 0, NULL},
	{"str32 length past the end", LIT("\x02\x81\xa6" "Vxmesh" "\xdb\xff\xff\xff\xff" "T"),
	 -EBADMSG, 0, NULL},
	{"map32 count past the end", LIT("\x02\xdf\xff\xff\xff\xff" VXM_T), -EBADMSG, 0, NULL},
	{"reserved byte 0xc1", LIT("\x02\x81\xa6" "Vxmesh" "\xc1"), -EBADMSG, 0, NULL},
};
/* clang-format on */

Test(values_pushpull, decode_hands_on_vxmesh_values_and_refuses_bad_states)
{
	for (size_t i = 0; i < NCASES(pp_cases); i++) {
		const struct pp_case *t = &pp_cases[i];
		struct calls c;
		int ret = pushpull_decode_exact(t->in, t->len, &c);

		cr_expect_eq(ret, t->ret, "%s: %d", t->what, ret);
		cr_expect_eq(c.n, t->calls, "%s: %d calls", t->what, c.n);
		if (t->tab && c.n)
			expect_bytes(c.tab[0], c.len[0], (const uint8_t *)t->tab, strlen(t->tab),
				     t->what);
	}
}

Test(values_pushpull, every_truncation_is_ebadmsg_with_no_call)
{
	static const uint8_t full[] = PP_T;

	for (size_t n = 0; n < sizeof(full) - 1; n++) {
		struct calls c;

		cr_expect_eq(pushpull_decode_exact(full, n, &c), -EBADMSG, "%zu bytes", n);
		cr_expect_eq(c.n, 0, "%zu bytes: %d calls", n, c.n);
	}
}

/* ---- Serf leave intent ---- */

Test(values_leave, intent_is_type_0_then_ltime_node_prune_false)
{
	static const char *names[] = {"node-1", "n", "a-node-name-of-exactly-32-bytes!",
				      "0123456789abcdef0123456789abcdef0123456789abcdef"};

	for (size_t i = 0; i < NCASES(names); i++) {
		uint8_t want[128], *buf = NULL;
		size_t n = 0, len = 0;

		want[n++] = 0x00; /* Serf's messageLeaveType */
		want[n++] = 0x83;
		n += put_raw(want + n, "LTime");
		want[n++] = 0x01;
		n += put_raw(want + n, "Node");
		n += put_raw(want + n, names[i]);
		n += put_raw(want + n, "Prune");
		want[n++] = 0xc2;
		cr_assert_eq(drv_serf_leave_encode(names[i], &buf, &len), 0);
		expect_bytes(buf, len, want, n, names[i]);
		free(buf);
	}
}

Test(values_leave, node_of_6_bytes_is_these_exact_bytes)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	cr_assert_eq(drv_serf_leave_encode("node-1", &buf, &len), 0);
	/* clang-format off */
	expect_bytes(buf, len,
		     LIT("\x00\x83" "\xa5" "LTime" "\x01" "\xa4" "Node" "\xa6" "node-1"
			 "\xa5" "Prune" "\xc2"),
		     "leave");
	/* clang-format on */
	free(buf);
}
