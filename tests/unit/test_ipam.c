// SPDX-License-Identifier: MIT
/*
 * Unit tests for ipam/pool.c: creation limits, capacity arithmetic, every
 * error class of claim/reserve/release, the forward-walking cursor, memory
 * that scales with leases rather than the subnet, and a randomized run
 * checked step by step against a plain array model of a /22.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "common/addr.h"
#include "ipam/ipam.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#endif

#ifdef TEST_ASAN
/* ASan replaces malloc, so glibc's mallinfo2() would see nothing. */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
#include <malloc.h>
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}
#endif

static struct in_addr ip4(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1, "bad test address %s", s);
	return a;
}

static struct in_addr ip4_h(uint32_t host_order)
{
	struct in_addr a = {.s_addr = htonl(host_order)};

	return a;
}

static uint32_t h(struct in_addr a)
{
	return ntohl(a.s_addr);
}

static struct addr_prefix pfx(const char *s)
{
	struct addr_prefix p;
	char buf[32];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	cr_assert_not_null(slash, "bad test prefix %s", s);
	*slash = '\0';
	p.addr = ip4(buf);
	p.len = (uint8_t)atoi(slash + 1);
	return p;
}

/* Pool on subnet s with optional gateway g ("" for none); asserts success. */
static struct ipam_pool *pool_new(const char *s, const char *g)
{
	struct addr_prefix p = pfx(s);
	struct in_addr gw;
	struct ipam_pool *pool = NULL;
	int err;

	if (g[0])
		gw = ip4(g);
	err = ipam_pool_create(&pool, &p, g[0] ? &gw : NULL);
	cr_assert_eq(err, 0, "create %s gw %s: %d", s, g, err);
	cr_assert_not_null(pool);
	return pool;
}

static void expect_counts(const struct ipam_pool *pool, size_t cap, size_t leased)
{
	cr_expect_eq(ipam_pool_capacity(pool), cap, "capacity %zu, want %zu",
		     ipam_pool_capacity(pool), cap);
	cr_expect_eq(ipam_pool_leased(pool), leased, "leased %zu, want %zu", ipam_pool_leased(pool),
		     leased);
	cr_expect_eq(ipam_pool_free(pool), cap - leased, "free %zu, want %zu", ipam_pool_free(pool),
		     cap - leased);
}

/* ---- create ---------------------------------------------------------- */

struct create_case {
	char subnet[24];
	char gw[16];
	int err;
};

ParameterizedTestParameters(ipam, create_table)
{
	static struct create_case cases[] = {
		{"10.0.0.0/7", "", -EINVAL},
		{"0.0.0.0/0", "", -EINVAL},
		{"192.0.2.0/31", "", -EINVAL},
		{"192.0.2.1/32", "", -EINVAL},
		{"192.0.2.0/32", "", -EINVAL},
		{"192.0.2.1/24", "", -EINVAL},
		{"192.0.2.128/24", "", -EINVAL},
		{"10.1.0.0/8", "", -EINVAL},
		{"192.0.2.8/29", "192.0.2.9", 0},
		{"192.0.2.4/29", "192.0.2.5", -EINVAL},
		{"192.0.2.0/24", "198.51.100.1", -EDOM},
		{"192.0.2.0/24", "192.0.3.1", -EDOM},
		{"192.0.2.0/24", "192.0.2.0", -EDOM},
		{"192.0.2.0/24", "192.0.2.255", -EDOM},
		{"192.0.2.0/30", "192.0.2.3", -EDOM},
		{"192.0.2.0/24", "", 0},
		{"192.0.2.0/24", "192.0.2.1", 0},
		{"192.0.2.0/24", "192.0.2.254", 0},
		{"192.0.2.0/30", "192.0.2.2", 0},
		{"10.0.0.0/8", "10.0.0.1", 0},
		{"255.0.0.0/8", "255.255.255.254", 0},
	};

	return cr_make_param_array(struct create_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct create_case *c, ipam, create_table)
{
	struct addr_prefix p = pfx(c->subnet);
	struct ipam_pool *pool = NULL;
	struct in_addr gw;
	int err;

	if (c->gw[0])
		gw = ip4(c->gw);
	err = ipam_pool_create(&pool, &p, c->gw[0] ? &gw : NULL);
	cr_assert_eq(err, c->err, "create %s gw '%s': got %d want %d", c->subnet, c->gw, err,
		     c->err);
	if (err == 0)
		cr_assert_not_null(pool);
	ipam_pool_destroy(pool);
}

Test(ipam, create_null_subnet)
{
	struct ipam_pool *pool = NULL;

	cr_assert_eq(ipam_pool_create(&pool, NULL, NULL), -EINVAL);
	ipam_pool_destroy(NULL);
}

/* ---- capacity -------------------------------------------------------- */

Test(ipam, capacity_table)
{
	static const struct {
		const char *subnet, *gw;
		size_t cap;
	} cases[] = {
		{"192.0.2.0/30", "", 2},
		{"192.0.2.0/30", "192.0.2.1", 1},
		{"192.0.2.0/29", "", 6},
		{"192.0.2.0/28", "192.0.2.14", 13},
		{"192.0.2.0/24", "", 254},
		{"192.0.2.0/24", "192.0.2.1", 253},
		{"10.20.0.0/22", "10.20.0.1", 1021},
		{"172.16.0.0/12", "", (1u << 20) - 2},
		{"10.0.0.0/8", "10.0.0.1", (1u << 24) - 3},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ipam_pool *pool = pool_new(cases[i].subnet, cases[i].gw);

		cr_expect_eq(ipam_pool_capacity(pool), cases[i].cap, "%s gw '%s': %zu want %zu",
			     cases[i].subnet, cases[i].gw, ipam_pool_capacity(pool), cases[i].cap);
		expect_counts(pool, cases[i].cap, 0);
		ipam_pool_destroy(pool);
	}
}

Test(ipam, slash30_gives_exactly_two)
{
	struct ipam_pool *pool = pool_new("192.0.2.0/30", "");
	struct in_addr a, b, c;

	cr_assert_eq(ipam_pool_alloc(pool, &a), 0);
	cr_assert_eq(ipam_pool_alloc(pool, &b), 0);
	cr_expect_eq(h(a), h(ip4("192.0.2.1")));
	cr_expect_eq(h(b), h(ip4("192.0.2.2")));
	cr_expect_eq(ipam_pool_alloc(pool, &c), -ENOSPC);
	expect_counts(pool, 2, 2);
	ipam_pool_destroy(pool);
}

Test(ipam, slash24_with_gateway_gives_253)
{
	struct ipam_pool *pool = pool_new("192.0.2.0/24", "192.0.2.1");
	uint8_t seen[256] = {0};
	struct in_addr a;

	for (int i = 0; i < 253; i++) {
		cr_assert_eq(ipam_pool_alloc(pool, &a), 0, "alloc #%d", i);
		cr_assert_eq(h(a) >> 8, h(ip4("192.0.2.0")) >> 8, "outside: %08x", h(a));
		uint8_t host = h(a) & 0xff;

		cr_assert(host != 0 && host != 1 && host != 255, "handed out .%u", host);
		cr_assert_eq(seen[host], 0, "duplicate .%u", host);
		seen[host] = 1;
		cr_assert_eq(ipam_pool_is_leased(pool, a), 1);
	}
	cr_expect_eq(ipam_pool_alloc(pool, &a), -ENOSPC);
	expect_counts(pool, 253, 253);
	ipam_pool_destroy(pool);
}

Test(ipam, exhaust_slash28)
{
	struct ipam_pool *pool = pool_new("192.0.2.16/28", "192.0.2.17");
	struct in_addr a;

	/* Hosts .17-.30, gateway .17: .18 .. .30 in order. */
	for (uint32_t want = h(ip4("192.0.2.18")); want <= h(ip4("192.0.2.30")); want++) {
		cr_assert_eq(ipam_pool_alloc(pool, &a), 0);
		cr_assert_eq(h(a), want, "got %08x want %08x", h(a), want);
	}
	expect_counts(pool, 13, 13);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(ipam_pool_alloc(pool, &a), -ENOSPC);
	expect_counts(pool, 13, 13);

	cr_assert_eq(ipam_pool_release(pool, ip4("192.0.2.24")), 0);
	expect_counts(pool, 13, 12);
	cr_assert_eq(ipam_pool_alloc(pool, &a), 0);
	cr_expect_eq(h(a), h(ip4("192.0.2.24")));
	cr_expect_eq(ipam_pool_alloc(pool, &a), -ENOSPC);
	ipam_pool_destroy(pool);
}

/* ---- claim, release, reserve errors ----------------------------------- */

/* 192.0.2.0/24, gateway .1, aux .10 reserved, .20 leased. */
static struct ipam_pool *pool_fixture(void)
{
	struct ipam_pool *pool = pool_new("192.0.2.0/24", "192.0.2.1");

	cr_assert_eq(ipam_pool_reserve(pool, ip4("192.0.2.10")), 0);
	cr_assert_eq(ipam_pool_claim(pool, ip4("192.0.2.20")), 0);
	expect_counts(pool, 252, 1);
	return pool;
}

/* clang-format off */
static const struct addr_case {
	const char *ip;
	int claim, release, reserve, leased;
} addr_cases[] = {
	/* ip                claim           release  reserve      is_leased */
	{ "198.51.100.5",    -EDOM,          -ENOENT, -EDOM,       0 },
	{ "192.0.1.255",     -EDOM,          -ENOENT, -EDOM,       0 },
	{ "192.0.3.0",       -EDOM,          -ENOENT, -EDOM,       0 },
	{ "0.0.0.0",         -EDOM,          -ENOENT, -EDOM,       0 },
	{ "255.255.255.255", -EDOM,          -ENOENT, -EDOM,       0 },
	{ "192.0.2.0",       -EADDRNOTAVAIL, -ENOENT, -EEXIST,     0 },
	{ "192.0.2.255",     -EADDRNOTAVAIL, -ENOENT, -EEXIST,     0 },
	{ "192.0.2.1",       -EADDRNOTAVAIL, -ENOENT, -EEXIST,     0 },
	{ "192.0.2.10",      -EADDRNOTAVAIL, -ENOENT, -EEXIST,     0 },
	{ "192.0.2.20",      -EADDRINUSE,    0,       -EADDRINUSE, 1 },
	{ "192.0.2.30",      0,              -ENOENT, 0,           0 },
	{ "192.0.2.254",     0,              -ENOENT, 0,           0 },
};
/* clang-format on */

#define N_ADDR_CASES (sizeof(addr_cases) / sizeof(addr_cases[0]))

Test(ipam, claim_table)
{
	for (size_t i = 0; i < N_ADDR_CASES; i++) {
		const struct addr_case *c = &addr_cases[i];
		struct ipam_pool *pool = pool_fixture();
		int err = ipam_pool_claim(pool, ip4(c->ip));

		cr_expect_eq(err, c->claim, "claim %s: got %d want %d", c->ip, err, c->claim);
		expect_counts(pool, 252, c->claim == 0 ? 2 : 1);
		if (c->claim == 0)
			cr_expect_eq(ipam_pool_is_leased(pool, ip4(c->ip)), 1, "%s", c->ip);
		ipam_pool_destroy(pool);
	}
}

Test(ipam, release_table)
{
	for (size_t i = 0; i < N_ADDR_CASES; i++) {
		const struct addr_case *c = &addr_cases[i];
		struct ipam_pool *pool = pool_fixture();
		int err = ipam_pool_release(pool, ip4(c->ip));

		cr_expect_eq(err, c->release, "release %s: got %d want %d", c->ip, err, c->release);
		expect_counts(pool, 252, c->release == 0 ? 0 : 1);
		cr_expect_eq(ipam_pool_is_leased(pool, ip4(c->ip)), 0, "%s", c->ip);
		cr_expect_eq(ipam_pool_release(pool, ip4(c->ip)), -ENOENT, "second release %s",
			     c->ip);
		ipam_pool_destroy(pool);
	}
}

Test(ipam, reserve_table)
{
	for (size_t i = 0; i < N_ADDR_CASES; i++) {
		const struct addr_case *c = &addr_cases[i];
		struct ipam_pool *pool = pool_fixture();
		int err = ipam_pool_reserve(pool, ip4(c->ip));

		cr_expect_eq(err, c->reserve, "reserve %s: got %d want %d", c->ip, err, c->reserve);
		expect_counts(pool, c->reserve == 0 ? 251 : 252, 1);
		if (c->reserve == 0) {
			cr_expect_eq(ipam_pool_reserve(pool, ip4(c->ip)), -EEXIST);
			cr_expect_eq(ipam_pool_claim(pool, ip4(c->ip)), -EADDRNOTAVAIL);
			cr_expect_eq(ipam_pool_release(pool, ip4(c->ip)), -ENOENT);
			cr_expect_eq(ipam_pool_is_leased(pool, ip4(c->ip)), 0);
			expect_counts(pool, 251, 1);
		}
		ipam_pool_destroy(pool);
	}
}

Test(ipam, is_leased_table)
{
	struct ipam_pool *pool = pool_fixture();

	for (size_t i = 0; i < N_ADDR_CASES; i++)
		cr_expect_eq(ipam_pool_is_leased(pool, ip4(addr_cases[i].ip)), addr_cases[i].leased,
			     "%s", addr_cases[i].ip);
	ipam_pool_destroy(pool);
}

Test(ipam, alloc_skips_reserved_and_gateway)
{
	struct ipam_pool *pool = pool_new("192.0.2.0/29", "192.0.2.2");
	static const char *const want[] = {"192.0.2.1", "192.0.2.5", "192.0.2.6"};
	struct in_addr a;

	cr_assert_eq(ipam_pool_reserve(pool, ip4("192.0.2.3")), 0);
	cr_assert_eq(ipam_pool_reserve(pool, ip4("192.0.2.4")), 0);
	expect_counts(pool, 3, 0);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(ipam_pool_alloc(pool, &a), 0);
		cr_expect_eq(h(a), h(ip4(want[i])), "alloc #%zu: %08x want %s", i, h(a), want[i]);
	}
	cr_expect_eq(ipam_pool_alloc(pool, &a), -ENOSPC);
	cr_expect_eq(ipam_pool_reserve(pool, ip4("192.0.2.5")), -EADDRINUSE);
	cr_assert_eq(ipam_pool_release(pool, ip4("192.0.2.5")), 0);
	cr_assert_eq(ipam_pool_reserve(pool, ip4("192.0.2.5")), 0);
	expect_counts(pool, 2, 2);
	cr_expect_eq(ipam_pool_alloc(pool, &a), -ENOSPC);
	ipam_pool_destroy(pool);
}

/* ---- cursor ------------------------------------------------------------ */

Test(ipam, released_address_not_reused_until_wrap)
{
	struct ipam_pool *pool = pool_new("192.0.2.0/29", ""); /* hosts .1 - .6 */
	static const char *const want[] = {
		"192.0.2.1", "192.0.2.2", "192.0.2.3", /* then .2 is released */
		"192.0.2.4", "192.0.2.5", "192.0.2.6", /* walk on past the hole */
		"192.0.2.2",			       /* wrap: the hole, skipping .1 */
	};
	struct in_addr a;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (i == 3)
			cr_assert_eq(ipam_pool_release(pool, ip4("192.0.2.2")), 0);
		cr_assert_eq(ipam_pool_alloc(pool, &a), 0, "alloc #%zu", i);
		cr_expect_eq(h(a), h(ip4(want[i])), "alloc #%zu: %08x want %s", i, h(a), want[i]);
	}
	cr_expect_eq(ipam_pool_alloc(pool, &a), -ENOSPC);

	/* Full pool, cursor at .2: releasing .1 and .5 hands out .5 first. */
	cr_assert_eq(ipam_pool_release(pool, ip4("192.0.2.1")), 0);
	cr_assert_eq(ipam_pool_release(pool, ip4("192.0.2.5")), 0);
	cr_assert_eq(ipam_pool_alloc(pool, &a), 0);
	cr_expect_eq(h(a), h(ip4("192.0.2.5")));
	cr_assert_eq(ipam_pool_alloc(pool, &a), 0);
	cr_expect_eq(h(a), h(ip4("192.0.2.1")));
	expect_counts(pool, 6, 6);
	ipam_pool_destroy(pool);
}

Test(ipam, alloc_steps_over_claimed)
{
	struct ipam_pool *pool = pool_new("192.0.2.0/24", "192.0.2.1");
	struct in_addr a;

	cr_assert_eq(ipam_pool_claim(pool, ip4("192.0.2.3")), 0);
	cr_assert_eq(ipam_pool_claim(pool, ip4("192.0.2.4")), 0);
	cr_assert_eq(ipam_pool_claim(pool, ip4("192.0.2.6")), 0);
	cr_assert_eq(ipam_pool_alloc(pool, &a), 0);
	cr_expect_eq(h(a), h(ip4("192.0.2.2")));
	cr_assert_eq(ipam_pool_alloc(pool, &a), 0);
	cr_expect_eq(h(a), h(ip4("192.0.2.5")));
	cr_assert_eq(ipam_pool_alloc(pool, &a), 0);
	cr_expect_eq(h(a), h(ip4("192.0.2.7")));
	expect_counts(pool, 253, 6);
	ipam_pool_destroy(pool);
}

/* ---- strerror ---------------------------------------------------------- */

Test(ipam, strerror_table)
{
	/* clang-format off */
	static const struct {
		int err;
		const char *needle;
	} cases[] = {
		{ -EADDRINUSE,    "in use" },
		{ -EADDRNOTAVAIL, "reserved" },
		{ -EDOM,          "outside the subnet" },
		{ -ENOSPC,        "no free addresses" },
		{ -EINVAL,        "/8 and /30" },
		{ -EEXIST,        "already reserved" },
		{ -ENOENT,        "not leased" },
		{ -ENOMEM,        "memory" },
	};
	/* clang-format on */
	const size_t n = sizeof(cases) / sizeof(cases[0]);

	for (size_t i = 0; i < n; i++) {
		const char *m = ipam_strerror(cases[i].err);

		cr_assert_not_null(m);
		cr_expect_not_null(strstr(m, cases[i].needle), "%d: '%s' lacks '%s'", cases[i].err,
				   m, cases[i].needle);
		cr_expect_str_eq(ipam_strerror(-cases[i].err), m, "sign of %d", cases[i].err);
		for (size_t j = 0; j < i; j++)
			cr_expect_str_neq(ipam_strerror(cases[j].err), m, "%d and %d share text",
					  cases[j].err, cases[i].err);
	}
	cr_expect_not_null(ipam_strerror(-EPERM));
	cr_expect_not_null(ipam_strerror(INT32_MIN));
}

/* ---- memory ------------------------------------------------------------ */

/* A bitmap of a /8 alone would be 2 MiB; a few thousand leases need ~40 KiB. */
Test(ipam, slash8_memory_follows_leases)
{
	const size_t limit = 256 * 1024;
	size_t before = heap_in_use();
	struct ipam_pool *pool = pool_new("10.0.0.0/8", "10.0.0.1");
	uint32_t x = 12345;
	struct in_addr a;

	cr_expect_lt(heap_in_use() - before, 4096, "empty /8 pool uses %zu bytes",
		     heap_in_use() - before);
	for (uint32_t i = 0; i < 3000; i++) {
		cr_assert_eq(ipam_pool_alloc(pool, &a), 0);
		cr_assert_eq(h(a), h(ip4("10.0.0.2")) + i);
	}
	/* Scattered claims across the whole /8 (LCG, distinct enough; skip clashes). */
	size_t claimed = 0;

	for (int i = 0; i < 3000; i++) {
		x = x * 1103515245u + 12345u;
		int err = ipam_pool_claim(pool, ip4_h(h(ip4("10.0.0.0")) | (x & 0xffffff)));

		cr_assert(err == 0 || err == -EADDRINUSE || err == -EADDRNOTAVAIL, "err %d", err);
		claimed += err == 0;
	}
	cr_expect_gt(claimed, 2900);
	expect_counts(pool, (1u << 24) - 3, 3000 + claimed);
	size_t used = heap_in_use() - before;

	cr_expect_lt(used, limit, "/8 pool with %zu leases uses %zu bytes", 3000 + claimed, used);
	ipam_pool_destroy(pool);
}

/* ---- randomized model check ------------------------------------------- */

#define M_PLEN	22
#define M_SIZE	(1u << (32 - M_PLEN))
#define M_BASE	0x0a140000u /* 10.20.0.0/22 */
#define M_STEPS 40000

enum m_state { M_FREE, M_LEASED, M_RESERVED, M_FIXED };

struct model {
	uint8_t st[M_SIZE]; /* per offset in the subnet */
	uint32_t cursor;    /* offset of the last allocated address */
	size_t leased, reserved, fixed_hosts;
};

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(rng_next(s) % n);
}

static size_t model_capacity(const struct model *m)
{
	return M_SIZE - 2 - m->fixed_hosts - m->reserved;
}

/* Expected alloc result: offset, or 0 when full. */
static uint32_t model_next(const struct model *m)
{
	for (uint32_t k = 1; k <= M_SIZE - 2; k++) {
		uint32_t off = (m->cursor - 1 + k) % (M_SIZE - 2) + 1;

		if (m->st[off] == M_FREE)
			return off;
	}
	return 0;
}

/* An address near the subnet: mostly inside, sometimes just outside. */
static uint32_t pick_addr(uint64_t *s, const struct model *m, uint8_t prefer)
{
	if (prefer != M_FREE && rng_below(s, 4) != 0) {
		uint32_t start = rng_below(s, M_SIZE);

		for (uint32_t k = 0; k < M_SIZE; k++)
			if (m->st[(start + k) % M_SIZE] == prefer)
				return M_BASE + (start + k) % M_SIZE;
	}
	return M_BASE - 4 + rng_below(s, M_SIZE + 8);
}

static int model_claim(const struct model *m, uint32_t a)
{
	if (a < M_BASE || a >= M_BASE + M_SIZE)
		return -EDOM;
	switch (m->st[a - M_BASE]) {
	case M_FREE:
		return 0;
	case M_LEASED:
		return -EADDRINUSE;
	default:
		return -EADDRNOTAVAIL;
	}
}

static int model_reserve(const struct model *m, uint32_t a)
{
	if (a < M_BASE || a >= M_BASE + M_SIZE)
		return -EDOM;
	switch (m->st[a - M_BASE]) {
	case M_FREE:
		return 0;
	case M_LEASED:
		return -EADDRINUSE;
	default:
		return -EEXIST;
	}
}

static int model_release(const struct model *m, uint32_t a)
{
	if (a < M_BASE || a >= M_BASE + M_SIZE)
		return -ENOENT;
	return m->st[a - M_BASE] == M_LEASED ? 0 : -ENOENT;
}

static void model_full_check(const struct ipam_pool *pool, const struct model *m, uint64_t seed)
{
	for (uint32_t a = M_BASE - 2; a < M_BASE + M_SIZE + 2; a++) {
		int want = a >= M_BASE && a < M_BASE + M_SIZE && m->st[a - M_BASE] == M_LEASED;

		cr_assert_eq(ipam_pool_is_leased(pool, ip4_h(a)), want, "seed %llu: %08x",
			     (unsigned long long)seed, a);
	}
}

static void model_run(uint64_t seed, int with_gw)
{
	static struct model m;
	struct ipam_pool *pool;
	struct addr_prefix p = {.addr = {htonl(M_BASE)}, .len = M_PLEN};
	struct in_addr gw = ip4_h(M_BASE + 1);
	unsigned long long n_full = 0, n_alloc = 0, n_claim = 0, n_release = 0, n_reserve = 0;
	uint64_t s = seed;

	memset(&m, 0, sizeof(m));
	m.st[0] = m.st[M_SIZE - 1] = M_FIXED;
	if (with_gw) {
		m.st[1] = M_FIXED;
		m.fixed_hosts = 1;
	}
	cr_assert_eq(ipam_pool_create(&pool, &p, with_gw ? &gw : NULL), 0);

	for (int step = 0; step < M_STEPS; step++) {
		/* Alternate filling and draining phases so the pool hits full and empty. */
		int filling = (step / 3000) % 2 == 0;
		uint32_t r = rng_below(&s, 100);
		uint32_t a;
		int err, want;

		if (r < (filling ? 55u : 20u)) {
			struct in_addr got;
			uint32_t off = model_next(&m);

			err = ipam_pool_alloc(pool, &got);
			if (off == 0) {
				cr_assert_eq(err, -ENOSPC, "seed %llu step %d: alloc on full: %d",
					     (unsigned long long)seed, step, err);
				n_full++;
			} else {
				cr_assert_eq(err, 0, "seed %llu step %d: alloc %d",
					     (unsigned long long)seed, step, err);
				a = h(got);
				cr_assert(a > M_BASE && a < M_BASE + M_SIZE - 1 &&
						  m.st[a - M_BASE] == M_FREE,
					  "seed %llu step %d: alloc gave taken %08x",
					  (unsigned long long)seed, step, a);
				cr_assert_eq(a, M_BASE + off, "seed %llu step %d: %08x want %08x",
					     (unsigned long long)seed, step, a, M_BASE + off);
				m.st[off] = M_LEASED;
				m.leased++;
				m.cursor = off;
				n_alloc++;
			}
		} else if (r < (filling ? 75u : 30u)) {
			a = pick_addr(&s, &m, M_FREE);
			want = model_claim(&m, a);
			err = ipam_pool_claim(pool, ip4_h(a));
			cr_assert_eq(err, want, "seed %llu step %d: claim %08x: %d want %d",
				     (unsigned long long)seed, step, a, err, want);
			if (!err) {
				m.st[a - M_BASE] = M_LEASED;
				m.leased++;
				n_claim++;
			}
		} else if (r < 99u) {
			a = pick_addr(&s, &m, M_LEASED);
			want = model_release(&m, a);
			err = ipam_pool_release(pool, ip4_h(a));
			cr_assert_eq(err, want, "seed %llu step %d: release %08x: %d want %d",
				     (unsigned long long)seed, step, a, err, want);
			if (!err) {
				m.st[a - M_BASE] = M_FREE;
				m.leased--;
				n_release++;
			}
		} else {
			a = pick_addr(&s, &m, rng_below(&s, 2) ? M_RESERVED : M_FREE);
			want = model_reserve(&m, a);
			err = ipam_pool_reserve(pool, ip4_h(a));
			cr_assert_eq(err, want, "seed %llu step %d: reserve %08x: %d want %d",
				     (unsigned long long)seed, step, a, err, want);
			if (!err) {
				m.st[a - M_BASE] = M_RESERVED;
				m.reserved++;
				n_reserve++;
			}
		}

		cr_assert_eq(ipam_pool_leased(pool), m.leased, "seed %llu step %d",
			     (unsigned long long)seed, step);
		cr_assert_eq(ipam_pool_capacity(pool), model_capacity(&m), "seed %llu step %d",
			     (unsigned long long)seed, step);
		cr_assert_eq(ipam_pool_free(pool), model_capacity(&m) - m.leased,
			     "seed %llu step %d", (unsigned long long)seed, step);
		if (step % 997 == 0)
			model_full_check(pool, &m, seed);
	}
	model_full_check(pool, &m, seed);

	/* The run must have exercised every path, including a full pool. */
	cr_expect_gt(n_full, 0, "seed %llu never filled the pool", (unsigned long long)seed);
	cr_expect_gt(n_alloc, 1000);
	cr_expect_gt(n_claim, 100);
	cr_expect_gt(n_release, 1000);
	cr_expect_gt(n_reserve, 5);
	ipam_pool_destroy(pool);
}

Test(ipam, model_random_with_gateway)
{
	static const uint64_t seeds[] = {1, 2, 42, 0xdeadbeef, 20240601};

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		model_run(seeds[i], 1);
}

Test(ipam, model_random_no_gateway)
{
	static const uint64_t seeds[] = {7, 99, 0xfeedface};

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		model_run(seeds[i], 0);
}
