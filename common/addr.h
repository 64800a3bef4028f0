/* SPDX-License-Identifier: MIT */
/*
 * addr: parsing and printing of the address forms vxmesh accepts from users
 * and peers: IPv4 prefixes, IPv4 addresses, MAC addresses, host:port.
 * Strict: no trailing garbage, no leading zeros tricks, host bits of a
 * network prefix must be zero where the caller asks for a network.
 */
#ifndef VXMESH_ADDR_H
#define VXMESH_ADDR_H

#include <netinet/in.h>
#include <stdint.h>

#define ADDR_MAC_LEN	   6
#define ADDR_MAC_STRLEN	   18 /* "aa:bb:cc:dd:ee:ff" + NUL */
#define ADDR_PREFIX_STRLEN 24 /* "255.255.255.255/32" + NUL, rounded up */
#define ADDR_IP4_STRLEN	   16 /* "255.255.255.255" + NUL */

struct addr_prefix {
	struct in_addr addr; /* network byte order */
	uint8_t len;	     /* 0..32 */
};

/* "a.b.c.d" -> 0 or -EINVAL. */
int addr_parse_ip4(const char *s, struct in_addr *out) __attribute__((warn_unused_result));
/* "a.b.c.d/len" -> 0, -EINVAL (syntax), -EDOM (host bits set when strict). */
int addr_parse_prefix(const char *s, int strict, struct addr_prefix *out)
	__attribute__((warn_unused_result));
/* "a.b.c.d" into buf; returns buf, so two can be used in one printf. */
char *addr_fmt_ip4(struct in_addr a, char buf[ADDR_IP4_STRLEN]);
/* addr_fmt_ip4() into a buffer of the enclosing block (a compound literal):
 * one per use, so several may stand in one call. */
#define ADDR_IP4_STR(a) addr_fmt_ip4((a), (char[ADDR_IP4_STRLEN]){0})
/* The address as a host-order integer, for arithmetic, and back. */
uint32_t addr_ip4_h(struct in_addr a);
struct in_addr addr_ip4_from_h(uint32_t h);
void addr_fmt_prefix(const struct addr_prefix *p, char buf[ADDR_PREFIX_STRLEN]);
/* Is ip inside p? */
int addr_prefix_contains(const struct addr_prefix *p, struct in_addr ip);
/* Do two prefixes share any address? */
int addr_prefix_overlaps(const struct addr_prefix *a, const struct addr_prefix *b);
/* "aa:bb:cc:dd:ee:ff" (case-insensitive) -> 0 or -EINVAL. */
int addr_parse_mac(const char *s, uint8_t mac[ADDR_MAC_LEN]) __attribute__((warn_unused_result));
void addr_fmt_mac(const uint8_t mac[ADDR_MAC_LEN], char buf[ADDR_MAC_STRLEN]);
/* Unicast, not all-zero. */
int addr_mac_is_unicast(const uint8_t mac[ADDR_MAC_LEN]);
/* "a.b.c.d" or "a.b.c.d:port"; port left untouched when absent.  0 or -EINVAL. */
int addr_parse_hostport(const char *s, struct in_addr *ip, uint16_t *port)
	__attribute__((warn_unused_result));

#endif
