// SPDX-License-Identifier: MIT
/*
 * addr: strict parsing of user- and peer-supplied address strings.
 * inet_pton() already refuses leading zeros' octal meaning and trailing
 * garbage for dotted quads; prefix lengths and ports are parsed by hand so
 * that "10.0.0.0/024" or "1.2.3.4:+80" are refused too.
 */
#include "common/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int parse_uint(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int ip4_from(const char *s, size_t len, struct in_addr *out)
{
	char buf[INET_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, out) == 1 ? 0 : -EINVAL;
}

int addr_parse_ip4(const char *s, struct in_addr *out)
{
	return ip4_from(s, strlen(s), out);
}

static uint32_t plen_mask(uint8_t len)
{
	return len ? htonl(~0u << (32 - len)) : 0;
}

int addr_parse_prefix(const char *s, int strict, struct addr_prefix *out)
{
	const char *slash = strchr(s, '/');
	struct addr_prefix p;
	unsigned len;

	if (!slash || ip4_from(s, (size_t)(slash - s), &p.addr) ||
	    parse_uint(slash + 1, strlen(slash + 1), 32, &len))
		return -EINVAL;
	p.len = (uint8_t)len;
	if (strict && (p.addr.s_addr & ~plen_mask(p.len)))
		return -EDOM;
	p.addr.s_addr &= plen_mask(p.len);
	*out = p;
	return 0;
}

char *addr_fmt_ip4(struct in_addr a, char buf[ADDR_IP4_STRLEN])
{
	uint32_t h = ntohl(a.s_addr);

	snprintf(buf, ADDR_IP4_STRLEN, "%u.%u.%u.%u", h >> 24, (h >> 16) & 0xff, (h >> 8) & 0xff,
		 h & 0xff);
	return buf;
}

uint32_t addr_ip4_h(struct in_addr a)
{
	return ntohl(a.s_addr);
}

struct in_addr addr_ip4_from_h(uint32_t h)
{
	return (struct in_addr){.s_addr = htonl(h)};
}

void addr_fmt_prefix(const struct addr_prefix *p, char buf[ADDR_PREFIX_STRLEN])
{
	char ip[ADDR_IP4_STRLEN];

	snprintf(buf, ADDR_PREFIX_STRLEN, "%s/%u", addr_fmt_ip4(p->addr, ip), p->len);
}

int addr_prefix_contains(const struct addr_prefix *p, struct in_addr ip)
{
	return ((ip.s_addr ^ p->addr.s_addr) & plen_mask(p->len)) == 0;
}

int addr_prefix_overlaps(const struct addr_prefix *a, const struct addr_prefix *b)
{
	uint8_t len = a->len < b->len ? a->len : b->len;

	return ((a->addr.s_addr ^ b->addr.s_addr) & plen_mask(len)) == 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int addr_parse_mac(const char *s, uint8_t mac[ADDR_MAC_LEN])
{
	uint8_t m[ADDR_MAC_LEN];

	if (strlen(s) != ADDR_MAC_STRLEN - 1)
		return -EINVAL;
	for (int i = 0; i < ADDR_MAC_LEN; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < ADDR_MAC_LEN - 1 && s[3 * i + 2] != ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, m, ADDR_MAC_LEN);
	return 0;
}

void addr_fmt_mac(const uint8_t mac[ADDR_MAC_LEN], char buf[ADDR_MAC_STRLEN])
{
	snprintf(buf, ADDR_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
}

int addr_mac_is_unicast(const uint8_t mac[ADDR_MAC_LEN])
{
	static const uint8_t zero[ADDR_MAC_LEN];

	return !(mac[0] & 1) && memcmp(mac, zero, ADDR_MAC_LEN) != 0;
}

int addr_parse_hostport(const char *s, struct in_addr *ip, uint16_t *port)
{
	const char *colon = strchr(s, ':');
	struct in_addr a;
	unsigned p;

	if (!colon)
		return addr_parse_ip4(s, ip);
	if (ip4_from(s, (size_t)(colon - s), &a) ||
	    parse_uint(colon + 1, strlen(colon + 1), 65535, &p) || p == 0)
		return -EINVAL;
	*ip = a;
	*port = (uint16_t)p;
	return 0;
}
