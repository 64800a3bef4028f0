/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for common/addr.c: every parser on valid input and on each kind
 * of rejection (syntax, trailing garbage, leading zeros, out of range, host
 * bits under strict), the formatters, host-order conversion, and the
 * contains/overlaps edges at /0 and /32.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/addr.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1, "bad test address %s", s);
	return a;
}

static struct addr_prefix pfx(const char *s)
{
	struct addr_prefix p;

	cr_assert_eq(addr_parse_prefix(s, 0, &p), 0, "bad test prefix %s", s);
	return p;
}

Test(addr, ip4_parses_dotted_quads_and_refuses_everything_else)
{
	static const struct {
		const char *in;
		int ret;
		uint32_t h;
	} cases[] = {
		{"0.0.0.0", 0, 0},
		{"255.255.255.255", 0, 0xffffffff},
		{"10.1.2.3", 0, 0x0a010203},
		{"192.0.2.10", 0, 0xc000020a},
		{"", -EINVAL, 0},
		{"1.2.3", -EINVAL, 0},
		{"1.2.3.4.5", -EINVAL, 0},
		{"1.2.3.4 ", -EINVAL, 0},
		{" 1.2.3.4", -EINVAL, 0},
		{"1.2.3.4x", -EINVAL, 0},
		{"1.2.3.4/32", -EINVAL, 0},
		{"01.2.3.4", -EINVAL, 0},
		{"1.2.3.010", -EINVAL, 0},
		{"256.0.0.1", -EINVAL, 0},
		{"1.2.3.1000", -EINVAL, 0},
		{"-1.2.3.4", -EINVAL, 0},
		{"0x1.2.3.4", -EINVAL, 0},
		{"1..2.3", -EINVAL, 0},
		{"1.2.3.4.5.6.7.8.9.10.11", -EINVAL, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct in_addr a = {0};
		int ret = addr_parse_ip4(cases[i].in, &a);

		cr_expect_eq(ret, cases[i].ret, "\"%s\": %d, want %d", cases[i].in, ret,
			     cases[i].ret);
		if (!ret && !cases[i].ret)
			cr_expect_eq(addr_ip4_h(a), cases[i].h, "\"%s\"", cases[i].in);
	}
}

Test(addr, prefix_parses_and_refuses_each_bad_form)
{
	static const struct {
		const char *in;
		int strict, ret;
		const char *addr; /* the stored network when ret is 0 */
		uint8_t len;
	} cases[] = {
		{"10.0.0.0/8", 1, 0, "10.0.0.0", 8},
		{"0.0.0.0/0", 1, 0, "0.0.0.0", 0},
		{"192.0.2.7/32", 1, 0, "192.0.2.7", 32},
		{"10.1.2.3/8", 0, 0, "10.0.0.0", 8},
		{"1.2.3.4/0", 0, 0, "0.0.0.0", 0},
		{"10.1.2.3/8", 1, -EDOM, NULL, 0},
		{"1.2.3.4/0", 1, -EDOM, NULL, 0},
		{"192.0.2.1/31", 1, -EDOM, NULL, 0},
		{"10.0.0.0", 0, -EINVAL, NULL, 0},
		{"10.0.0.0/", 0, -EINVAL, NULL, 0},
		{"/8", 0, -EINVAL, NULL, 0},
		{"10.0.0.0/33", 0, -EINVAL, NULL, 0},
		{"10.0.0.0/100000", 0, -EINVAL, NULL, 0},
		{"10.0.0.0/024", 0, -EINVAL, NULL, 0},
		{"10.0.0.0/00", 0, -EINVAL, NULL, 0},
		{"010.0.0.0/8", 0, -EINVAL, NULL, 0},
		{"10.0.0.0/8x", 0, -EINVAL, NULL, 0},
		{"10.0.0.0/8 ", 0, -EINVAL, NULL, 0},
		{"10.0.0.0/8/8", 0, -EINVAL, NULL, 0},
		{"10.0.0.0/+8", 0, -EINVAL, NULL, 0},
		{"10.0.0.0/-1", 0, -EINVAL, NULL, 0},
		{"10.0.0/8", 0, -EINVAL, NULL, 0},
		{"300.0.0.0/8", 0, -EINVAL, NULL, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct addr_prefix p = {.addr.s_addr = 0x5a5a5a5a, .len = 77};
		int ret = addr_parse_prefix(cases[i].in, cases[i].strict, &p);

		cr_expect_eq(ret, cases[i].ret, "\"%s\" strict=%d: %d, want %d", cases[i].in,
			     cases[i].strict, ret, cases[i].ret);
		if (cases[i].ret) {
			cr_expect(p.addr.s_addr == 0x5a5a5a5a && p.len == 77,
				  "\"%s\": output written on failure", cases[i].in);
			continue;
		}
		cr_expect_eq(p.addr.s_addr, ip(cases[i].addr).s_addr, "\"%s\"", cases[i].in);
		cr_expect_eq(p.len, cases[i].len, "\"%s\"", cases[i].in);
	}
}

Test(addr, mac_parses_either_case_and_refuses_bad_shapes)
{
	static const struct {
		const char *in;
		int ret;
		uint8_t mac[ADDR_MAC_LEN];
	} cases[] = {
		{"aa:bb:cc:dd:ee:ff", 0, {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}},
		{"AA:BB:CC:DD:EE:FF", 0, {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}},
		{"02:00:0a:B0:00:01", 0, {0x02, 0x00, 0x0a, 0xb0, 0x00, 0x01}},
		{"", -EINVAL, {0}},
		{"aa:bb:cc:dd:ee", -EINVAL, {0}},
		{"aa:bb:cc:dd:ee:ff:", -EINVAL, {0}},
		{"aa:bb:cc:dd:ee:ff0", -EINVAL, {0}},
		{"aa-bb-cc-dd-ee-ff", -EINVAL, {0}},
		{"aa:bb:cc:dd:ee:gg", -EINVAL, {0}},
		{"aabb:cc:dd:ee:ff:", -EINVAL, {0}},
		{" a:bb:cc:dd:ee:ff", -EINVAL, {0}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t mac[ADDR_MAC_LEN] = {1, 2, 3, 4, 5, 6};
		static const uint8_t untouched[ADDR_MAC_LEN] = {1, 2, 3, 4, 5, 6};
		int ret = addr_parse_mac(cases[i].in, mac);

		cr_expect_eq(ret, cases[i].ret, "\"%s\": %d", cases[i].in, ret);
		cr_expect(!memcmp(mac, cases[i].ret ? untouched : cases[i].mac, ADDR_MAC_LEN),
			  "\"%s\": wrong bytes", cases[i].in);
	}
}

Test(addr, hostport_takes_an_optional_nonzero_port)
{
	static const struct {
		const char *in;
		int ret;
		const char *ip;
		uint16_t port; /* 7946 = left untouched */
	} cases[] = {
		{"192.0.2.1", 0, "192.0.2.1", 7946},
		{"192.0.2.1:80", 0, "192.0.2.1", 80},
		{"192.0.2.1:1", 0, "192.0.2.1", 1},
		{"192.0.2.1:65535", 0, "192.0.2.1", 65535},
		{"192.0.2.1:0", -EINVAL, NULL, 0},
		{"192.0.2.1:65536", -EINVAL, NULL, 0},
		{"192.0.2.1:080", -EINVAL, NULL, 0},
		{"192.0.2.1:+80", -EINVAL, NULL, 0},
		{"192.0.2.1:80x", -EINVAL, NULL, 0},
		{"192.0.2.1:", -EINVAL, NULL, 0},
		{":80", -EINVAL, NULL, 0},
		{"192.0.2:80", -EINVAL, NULL, 0},
		{"192.0.2.1:80:80", -EINVAL, NULL, 0},
		{"host.example:80", -EINVAL, NULL, 0},
		{"192.0.2.1 ", -EINVAL, NULL, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct in_addr a = {.s_addr = 0x5a5a5a5a};
		uint16_t port = 7946;
		int ret = addr_parse_hostport(cases[i].in, &a, &port);

		cr_expect_eq(ret, cases[i].ret, "\"%s\": %d", cases[i].in, ret);
		if (cases[i].ret) {
			cr_expect_eq(port, 7946, "\"%s\": port written on failure", cases[i].in);
			continue;
		}
		cr_expect_eq(a.s_addr, ip(cases[i].ip).s_addr, "\"%s\"", cases[i].in);
		cr_expect_eq(port, cases[i].port, "\"%s\"", cases[i].in);
	}
}

Test(addr, ip4_formats_and_two_fit_in_one_printf)
{
	static const char *const cases[] = {"0.0.0.0", "255.255.255.255", "10.0.0.1", "192.0.2.254",
					    "1.22.133.4"};
	char a[ADDR_IP4_STRLEN], b[ADDR_IP4_STRLEN], line[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(addr_fmt_ip4(ip(cases[i]), a), a);
		cr_expect_str_eq(a, cases[i]);
	}
	snprintf(line, sizeof(line), "%s -> %s", addr_fmt_ip4(ip("10.0.0.1"), a),
		 addr_fmt_ip4(ip("10.0.0.2"), b));
	cr_expect_str_eq(line, "10.0.0.1 -> 10.0.0.2");
	cr_expect_eq(strlen("255.255.255.255") + 1, ADDR_IP4_STRLEN);
}

Test(addr, host_order_round_trips)
{
	static const struct {
		const char *ip;
		uint32_t h;
	} cases[] = {
		{"0.0.0.0", 0},		 {"10.0.0.1", 0x0a000001},  {"255.255.255.255", 0xffffffff},
		{"1.2.3.4", 0x01020304}, {"128.0.0.0", 0x80000000},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct in_addr a = ip(cases[i].ip);

		cr_expect_eq(addr_ip4_h(a), cases[i].h, "%s", cases[i].ip);
		cr_expect_eq(addr_ip4_from_h(cases[i].h).s_addr, a.s_addr, "%s", cases[i].ip);
	}
	/* arithmetic is what it is for: the next address carries into the next octet */
	cr_expect_eq(addr_ip4_from_h(addr_ip4_h(ip("10.0.0.255")) + 1).s_addr,
		     ip("10.0.1.0").s_addr);
}

Test(addr, prefix_and_mac_format)
{
	static const char *const prefixes[] = {"0.0.0.0/0", "10.0.0.0/8", "255.255.255.255/32",
					       "192.0.2.128/25"};
	char buf[ADDR_PREFIX_STRLEN], mbuf[ADDR_MAC_STRLEN];
	static const uint8_t mac[ADDR_MAC_LEN] = {0x02, 0xab, 0x00, 0x0f, 0xff, 0x10};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		struct addr_prefix p = pfx(prefixes[i]);

		addr_fmt_prefix(&p, buf);
		cr_expect_str_eq(buf, prefixes[i]);
	}
	addr_fmt_mac(mac, mbuf);
	cr_expect_str_eq(mbuf, "02:ab:00:0f:ff:10");
}

Test(addr, contains_at_the_edges)
{
	static const struct {
		const char *prefix, *ip;
		int in;
	} cases[] = {
		{"0.0.0.0/0", "0.0.0.0", 1},	       {"0.0.0.0/0", "255.255.255.255", 1},
		{"192.0.2.7/32", "192.0.2.7", 1},      {"192.0.2.7/32", "192.0.2.6", 0},
		{"192.0.2.7/32", "192.0.2.8", 0},      {"192.0.2.0/24", "192.0.2.0", 1},
		{"192.0.2.0/24", "192.0.2.255", 1},    {"192.0.2.0/24", "192.0.3.0", 0},
		{"192.0.2.0/24", "192.0.1.255", 0},    {"128.0.0.0/1", "255.0.0.1", 1},
		{"128.0.0.0/1", "127.255.255.255", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct addr_prefix p = pfx(cases[i].prefix);

		cr_expect_eq(addr_prefix_contains(&p, ip(cases[i].ip)), cases[i].in, "%s in %s",
			     cases[i].ip, cases[i].prefix);
	}
}

Test(addr, overlaps_is_symmetric_and_exact_at_the_edges)
{
	static const struct {
		const char *a, *b;
		int overlap;
	} cases[] = {
		{"0.0.0.0/0", "192.0.2.0/24", 1},      {"0.0.0.0/0", "255.255.255.255/32", 1},
		{"0.0.0.0/0", "0.0.0.0/0", 1},	       {"192.0.2.0/24", "192.0.2.0/24", 1},
		{"192.0.2.0/24", "192.0.2.255/32", 1}, {"192.0.2.0/24", "192.0.3.0/32", 0},
		{"192.0.2.0/24", "192.0.3.0/24", 0},   {"192.0.2.0/23", "192.0.3.0/24", 1},
		{"10.0.0.0/8", "11.0.0.0/8", 0},       {"192.0.2.7/32", "192.0.2.7/32", 1},
		{"192.0.2.7/32", "192.0.2.8/32", 0},   {"0.0.0.0/1", "128.0.0.0/1", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct addr_prefix a = pfx(cases[i].a), b = pfx(cases[i].b);

		cr_expect_eq(addr_prefix_overlaps(&a, &b), cases[i].overlap, "%s vs %s", cases[i].a,
			     cases[i].b);
		cr_expect_eq(addr_prefix_overlaps(&b, &a), cases[i].overlap, "%s vs %s", cases[i].b,
			     cases[i].a);
	}
}

Test(addr, unicast_mac_is_neither_zero_nor_group)
{
	static const struct {
		uint8_t mac[ADDR_MAC_LEN];
		int unicast;
	} cases[] = {
		{{0x02, 0, 0, 0, 0, 1}, 1},
		{{0x00, 0, 0, 0, 0, 1}, 1},
		{{0, 0, 0, 0, 0, 0}, 0},
		{{0x01, 0, 0x5e, 0, 0, 1}, 0},
		{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0},
		{{0x03, 0, 0, 0, 0, 0}, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(addr_mac_is_unicast(cases[i].mac), cases[i].unicast, "case %zu", i);
}
