// SPDX-License-Identifier: MIT
/*
 * Unit tests for ipam/ring.c: space arithmetic, creation, allocation and
 * claims, donation (half of the largest free run, single addresses, range
 * edges, refusal when nothing is free), merging with its overlap rule and
 * pruning, reclaim (and the hazard it carries when the node was not really
 * dead), donor choice, the wire form with a table of malformed inputs, and
 * property tests with fixed seeds: up to 50 simulated nodes doing random
 * allocations, releases, donations, specific claims, crashes, restarts,
 * state loss, partitions with late and duplicated delivery, and node rm,
 * checked after every step against the invariants in docs/ipam.md and a
 * brute-force model of the merge.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <msgpack.h>

#include "common/addr.h"
#include "ipam/ring.h"

#define NET24	    0xc0000200u /* 192.0.2.0/24 */
#define CLOCK_LIMIT (UINT64_C(1) << 63)

static struct ring *mk(uint32_t first, uint32_t end, const char *self)
{
	struct ring *r = NULL;

	cr_assert_eq(ring_create(&r, first, end, self), 0);
	return r;
}

static struct ring *mk24(const char *self)
{
	return mk(NET24 + 1, NET24 + 255, self);
}

static struct ring_entry ent(uint32_t s, uint32_t e, uint64_t c, const char *owner,
			     const char *origin)
{
	struct ring_entry x;

	memset(&x, 0, sizeof(x));
	x.start = s;
	x.end = e;
	x.clock = c;
	snprintf(x.owner, sizeof(x.owner), "%s", owner);
	snprintf(x.origin, sizeof(x.origin), "%s", origin);
	return x;
}

static void must_merge(struct ring *r, struct ring_entry e, int want)
{
	cr_assert_eq(ring_merge(r, &e), want, "merge [%u,%u) %s@%llu", e.start, e.end, e.owner,
		     (unsigned long long)e.clock);
}

static const char *owner_of(const struct ring *r, uint32_t ip)
{
	static char buf[RING_ID_MAX]; /* test helper only */

	if (ring_owner(r, ip, buf))
		return "-";
	return buf;
}

/* ---- space and creation ---- */

struct space_case {
	const char *pfx;
	int err;
	uint32_t first, end;
};

Test(ring, space_of_prefix)
{
	static const struct space_case cases[] = {
		{"192.0.2.0/24", 0, NET24 + 1, NET24 + 255},
		{"192.0.2.0/30", 0, NET24 + 1, NET24 + 3},
		{"10.0.0.0/8", 0, 0x0a000001u, 0x0affffffu},
		{"192.0.2.0/31", -EINVAL, 0, 0},
		{"10.0.0.0/7", -EINVAL, 0, 0},
		{"192.0.2.1/24", -EINVAL, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct addr_prefix p;
		uint32_t first = 0, end = 0;
		char buf[32], *slash;

		/* Built by hand: the parser would refuse some of these itself. */
		snprintf(buf, sizeof(buf), "%s", cases[i].pfx);
		slash = strchr(buf, '/');
		*slash = '\0';
		cr_assert_eq(inet_pton(AF_INET, buf, &p.addr), 1);
		p.len = (uint8_t)atoi(slash + 1);
		cr_assert_eq(ring_space(&p, &first, &end), cases[i].err, "%s", cases[i].pfx);
		if (!cases[i].err) {
			cr_assert_eq(first, cases[i].first, "%s", cases[i].pfx);
			cr_assert_eq(end, cases[i].end, "%s", cases[i].pfx);
		}
	}
}

Test(ring, create_refuses_bad_ids_and_empty_space)
{
	char longid[RING_ID_MAX + 1];
	struct ring *r = NULL;

	memset(longid, 'a', RING_ID_MAX);
	longid[RING_ID_MAX] = '\0';
	cr_assert_eq(ring_create(&r, 1, 10, ""), -EINVAL);
	cr_assert_eq(ring_create(&r, 1, 10, "a/b"), -EINVAL);
	cr_assert_eq(ring_create(&r, 1, 10, "a b"), -EINVAL);
	cr_assert_eq(ring_create(&r, 1, 10, longid), -EINVAL);
	cr_assert_eq(ring_create(&r, 10, 10, "a"), -EINVAL);
	cr_assert_eq(ring_create(&r, 1, 10, NULL), -EINVAL);
	longid[RING_ID_MAX - 1] = '\0';
	cr_assert_eq(ring_create(&r, 1, 10, longid), 0);
	ring_destroy(r);
	ring_destroy(NULL);
}

Test(ring, creator_owns_whole_space_once)
{
	struct ring *r = mk24("A");
	struct ring_entry e, *map = NULL;
	size_t n = 0;

	cr_assert_eq(ring_init_space(r, &e), 0);
	cr_assert_eq(e.start, NET24 + 1);
	cr_assert_eq(e.end, NET24 + 255);
	cr_assert_str_eq(e.owner, "A");
	cr_assert_str_eq(e.origin, "A");
	cr_assert_eq(e.clock, 1);
	cr_assert_eq(ring_owned(r, "A"), 254);
	cr_assert_eq(ring_init_space(r, &e), -EEXIST);
	cr_assert_eq(ring_map(r, &map, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(map[0].start, NET24 + 1);
	free(map);
	ring_destroy(r);

	/* Knowing someone else's creation is enough to refuse. */
	r = mk24("B");
	must_merge(r, e, 1);
	cr_assert_eq(ring_init_space(r, &e), -EEXIST);
	cr_assert_eq(ring_owned(r, "B"), 0);
	ring_destroy(r);
}

/* ---- leases, allocation, claims ---- */

Test(ring, lease_set)
{
	struct ring_leases l;

	ring_leases_init(&l);
	for (uint32_t ip = 100; ip > 0; ip -= 10)
		cr_assert_eq(ring_leases_add(&l, ip), 0);
	cr_assert_eq(ring_leases_add(&l, 50), -EEXIST);
	cr_assert(ring_leases_has(&l, 50));
	cr_assert_not(ring_leases_has(&l, 51));
	cr_assert_eq(ring_leases_count(&l, 10, 51), 5);
	cr_assert_eq(ring_leases_count(&l, 51, 10), 0);
	cr_assert_eq(ring_leases_del(&l, 50), 0);
	cr_assert_eq(ring_leases_del(&l, 50), -ENOENT);
	cr_assert_eq(l.n, 9);
	for (size_t i = 1; i < l.n; i++)
		cr_assert_lt(l.ip[i - 1], l.ip[i]);
	ring_leases_fini(&l);
	ring_leases_fini(NULL);
}

Test(ring, alloc_slash30_with_gateway_held_out)
{
	struct ring *r = mk(NET24 + 1, NET24 + 3, "A");
	struct ring_leases l;
	struct ring_entry e;
	uint32_t ip = 0;

	ring_leases_init(&l);
	cr_assert_eq(ring_alloc(r, &l, &ip), -ENOSPC, "nothing owned yet");
	cr_assert_eq(ring_init_space(r, &e), 0);
	cr_assert_eq(ring_leases_add(&l, NET24 + 1), 0); /* the gateway */
	cr_assert_eq(ring_free(r, &l), 1);
	cr_assert_eq(ring_alloc(r, &l, &ip), 0);
	cr_assert_eq(ip, NET24 + 2);
	cr_assert_eq(ring_alloc(r, &l, &ip), -ENOSPC);
	cr_assert_eq(ring_free(r, &l), 0);
	cr_assert_eq(ring_leases_del(&l, NET24 + 2), 0);
	cr_assert_eq(ring_alloc(r, &l, &ip), 0, "wraps around to the released address");
	cr_assert_eq(ip, NET24 + 2);
	ring_leases_fini(&l);
	ring_destroy(r);
}

Test(ring, alloc_walks_forward_past_released)
{
	struct ring *r = mk24("A");
	struct ring_leases l;
	struct ring_entry e;
	uint32_t a, b, c;

	ring_leases_init(&l);
	cr_assert_eq(ring_init_space(r, &e), 0);
	cr_assert_eq(ring_alloc(r, &l, &a), 0);
	cr_assert_eq(ring_alloc(r, &l, &b), 0);
	cr_assert_eq(ring_leases_del(&l, a), 0);
	cr_assert_eq(ring_alloc(r, &l, &c), 0);
	cr_assert_eq(a, NET24 + 1);
	cr_assert_eq(b, NET24 + 2);
	cr_assert_eq(c, NET24 + 3);
	ring_leases_fini(&l);
	ring_destroy(r);
}

Test(ring, alloc_only_from_self_owned_ranges)
{
	struct ring *r = mk24("B");
	struct ring_leases l;
	uint32_t ip;

	ring_leases_init(&l);
	must_merge(r, ent(NET24 + 1, NET24 + 255, 1, "A", "A"), 1);
	must_merge(r, ent(NET24 + 100, NET24 + 102, 2, "B", "A"), 1);
	cr_assert_eq(ring_alloc(r, &l, &ip), 0);
	cr_assert_eq(ip, NET24 + 100);
	cr_assert_eq(ring_alloc(r, &l, &ip), 0);
	cr_assert_eq(ip, NET24 + 101);
	cr_assert_eq(ring_alloc(r, &l, &ip), -ENOSPC);
	ring_leases_fini(&l);
	ring_destroy(r);
}

Test(ring, claim_cases)
{
	struct ring *r = mk24("B");
	struct ring_leases l;
	char owner[RING_ID_MAX] = "";

	ring_leases_init(&l);
	cr_assert_eq(ring_claim(r, &l, NET24 + 5, owner), -ENOENT, "no owner known yet");
	must_merge(r, ent(NET24 + 1, NET24 + 255, 1, "A", "A"), 1);
	must_merge(r, ent(NET24 + 5, NET24 + 6, 2, "B", "A"), 1);
	cr_assert_eq(ring_claim(r, &l, NET24 + 5, owner), 0);
	cr_assert_eq(ring_claim(r, &l, NET24 + 5, owner), -EADDRINUSE);
	cr_assert_eq(ring_claim(r, &l, NET24 + 6, owner), -EREMOTE);
	cr_assert_str_eq(owner, "A");
	cr_assert_eq(ring_claim(r, &l, NET24, owner), -EDOM, "network address");
	cr_assert_eq(ring_claim(r, &l, NET24 + 255, owner), -EDOM, "broadcast");
	cr_assert_eq(l.n, 1);
	ring_leases_fini(&l);
	ring_destroy(r);
}

/* ---- donation ---- */

Test(ring, donate_gives_upper_half_of_largest_free_run)
{
	struct ring *a = mk24("A"), *c = mk24("C");
	struct ring_leases l;
	struct ring_entry e, d;

	ring_leases_init(&l);
	cr_assert_eq(ring_init_space(a, &e), 0);
	cr_assert_eq(ring_donate(a, &l, "B", 0, &d), 0);
	cr_assert_eq(d.start, NET24 + 128);
	cr_assert_eq(d.end, NET24 + 255);
	cr_assert_str_eq(d.owner, "B");
	cr_assert_str_eq(d.origin, "A");
	cr_assert_gt(d.clock, e.clock);
	cr_assert_eq(ring_owned(a, "A"), 127);
	cr_assert_eq(ring_owned(a, "B"), 127);

	/* A third node that learns only the donation knows exactly what B owns. */
	must_merge(c, d, 1);
	cr_assert_str_eq(owner_of(c, NET24 + 128), "B");
	cr_assert_str_eq(owner_of(c, NET24 + 254), "B");
	cr_assert_str_eq(owner_of(c, NET24 + 127), "-");

	/* Leases split the free runs: [1,10) leased 10, free run [11,128) is largest. */
	cr_assert_eq(ring_leases_add(&l, NET24 + 10), 0);
	cr_assert_eq(ring_donate(a, &l, "C", 0, &d), 0);
	cr_assert_eq(d.end, NET24 + 128);
	cr_assert_eq(d.start, NET24 + 128 - 117 / 2);
	cr_assert_not(d.start <= NET24 + 10 && NET24 + 10 < d.end);

	/* want caps the size. */
	cr_assert_eq(ring_donate(a, &l, "C", 3, &d), 0);
	cr_assert_eq(d.end - d.start, 3);
	ring_leases_fini(&l);
	ring_destroy(a);
	ring_destroy(c);
}

Test(ring, donate_refused_when_nothing_free)
{
	struct ring *a = mk(NET24 + 1, NET24 + 3, "A");
	struct ring_leases l;
	struct ring_entry e, d;
	uint32_t ip;

	ring_leases_init(&l);
	cr_assert_eq(ring_donate(a, &l, "B", 0, &d), -ENOSPC, "owns nothing");
	cr_assert_eq(ring_init_space(a, &e), 0);
	cr_assert_eq(ring_donate(a, &l, "A", 0, &d), -EINVAL, "to self");
	cr_assert_eq(ring_donate(a, &l, "", 0, &d), -EINVAL);
	cr_assert_eq(ring_alloc(a, &l, &ip), 0);
	/* One free address left: a run of one is given whole. */
	cr_assert_eq(ring_donate(a, &l, "B", 0, &d), 0);
	cr_assert_eq(d.end - d.start, 1);
	cr_assert_neq(d.start, ip);
	cr_assert_eq(ring_donate(a, &l, "B", 0, &d), -ENOSPC, "all leased or given");
	cr_assert_eq(ring_owned(a, "A"), 1);
	ring_leases_fini(&l);
	ring_destroy(a);
}

struct edge_case {
	uint32_t ip;
	size_t segs;
};

Test(ring, donate_single_addresses_at_edges_and_middle)
{
	static const struct edge_case cases[] = {
		{NET24 + 1, 2}, {NET24 + 254, 2}, {NET24 + 100, 3}, {NET24 + 2, 3}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ring *a = mk24("A");
		struct ring_leases l;
		struct ring_entry e, d, *map;
		size_t n;

		ring_leases_init(&l);
		cr_assert_eq(ring_init_space(a, &e), 0);
		cr_assert_eq(ring_donate_ip(a, &l, "B", cases[i].ip, &d), 0);
		cr_assert_eq(d.start, cases[i].ip);
		cr_assert_eq(d.end, cases[i].ip + 1);
		cr_assert_eq(ring_map(a, &map, &n), 0);
		cr_assert_eq(n, cases[i].segs, "ip .%u", cases[i].ip - NET24);
		free(map);
		cr_assert_str_eq(owner_of(a, cases[i].ip), "B");
		cr_assert_eq(ring_donate_ip(a, &l, "C", cases[i].ip, &d), -EREMOTE, "gone");
		cr_assert_eq(ring_owned(a, "A"), 253);
		ring_leases_fini(&l);
		ring_destroy(a);
	}
}

Test(ring, donate_ip_errors)
{
	struct ring *a = mk24("A");
	struct ring_leases l;
	struct ring_entry e, d;

	ring_leases_init(&l);
	cr_assert_eq(ring_donate_ip(a, &l, "B", NET24 + 7, &d), -EREMOTE, "owns nothing");
	cr_assert_eq(ring_init_space(a, &e), 0);
	cr_assert_eq(ring_leases_add(&l, NET24 + 7), 0);
	cr_assert_eq(ring_donate_ip(a, &l, "B", NET24 + 7, &d), -EADDRINUSE);
	cr_assert_eq(ring_donate_ip(a, &l, "B", NET24, &d), -EDOM);
	cr_assert_eq(ring_donate_ip(a, &l, "B", NET24 + 255, &d), -EDOM);
	cr_assert_eq(ring_donate_ip(a, &l, "A", NET24 + 8, &d), -EINVAL);
	cr_assert_eq(ring_entry_count(a), 1, "nothing written");
	ring_leases_fini(&l);
	ring_destroy(a);
}

Test(ring, donated_space_can_be_donated_on)
{
	struct ring *a = mk24("A"), *b = mk24("B");
	struct ring_leases l;
	struct ring_entry e, d1, d2;

	ring_leases_init(&l);
	cr_assert_eq(ring_init_space(a, &e), 0);
	cr_assert_eq(ring_donate(a, &l, "B", 0, &d1), 0);
	must_merge(b, d1, 1);
	cr_assert_eq(ring_donate(b, &l, "C", 0, &d2), 0);
	cr_assert_gt(d2.clock, d1.clock, "Lamport: above everything B knew");
	must_merge(a, d2, 1);
	cr_assert_eq(ring_owned(a, "C"), 63);
	cr_assert_eq(ring_owned(a, "B"), 64);
	cr_assert_eq(ring_owned(a, "A"), 127);
	ring_leases_fini(&l);
	ring_destroy(a);
	ring_destroy(b);
}

/* ---- merge ---- */

Test(ring, overlap_higher_stamp_wins_in_any_order)
{
	struct ring_entry x = ent(NET24 + 1, NET24 + 255, 1, "A", "A");
	struct ring_entry y = ent(NET24 + 50, NET24 + 60, 5, "B", "A");
	struct ring *r1 = mk24("Z"), *r2 = mk24("Z");
	uint8_t *b1, *b2;
	size_t l1, l2;

	must_merge(r1, x, 1);
	must_merge(r1, y, 1);
	must_merge(r2, y, 1);
	must_merge(r2, x, 1);
	must_merge(r2, x, 0);
	must_merge(r2, y, 0);
	cr_assert_str_eq(owner_of(r1, NET24 + 55), "B");
	cr_assert_str_eq(owner_of(r1, NET24 + 60), "A");
	cr_assert_eq(ring_encode(r1, &b1, &l1), 0);
	cr_assert_eq(ring_encode(r2, &b2, &l2), 0);
	cr_assert_eq(l1, l2);
	cr_assert_eq(memcmp(b1, b2, l1), 0);
	free(b1);
	free(b2);
	ring_destroy(r1);
	ring_destroy(r2);
}

Test(ring, equal_clock_tie_broken_by_origin)
{
	struct ring *r = mk24("Z");

	must_merge(r, ent(NET24 + 1, NET24 + 10, 3, "P", "a"), 1);
	must_merge(r, ent(NET24 + 5, NET24 + 20, 3, "Q", "b"), 1);
	cr_assert_str_eq(owner_of(r, NET24 + 7), "Q");
	cr_assert_str_eq(owner_of(r, NET24 + 2), "P");
	ring_destroy(r);
}

Test(ring, shadowed_entries_are_dropped)
{
	struct ring *r = mk24("Z");

	must_merge(r, ent(NET24 + 10, NET24 + 20, 1, "A", "A"), 1);
	must_merge(r, ent(NET24 + 10, NET24 + 15, 2, "B", "A"), 1);
	cr_assert_eq(ring_entry_count(r), 2);
	must_merge(r, ent(NET24 + 15, NET24 + 20, 3, "C", "A"), 1);
	cr_assert_eq(ring_entry_count(r), 2, "the first entry wins nowhere now");
	/* An older entry arriving late, covered everywhere: not stored. */
	must_merge(r, ent(NET24 + 11, NET24 + 19, 1, "X", "X"), 0);
	cr_assert_eq(ring_entry_count(r), 2);
	/* Partly uncovered: stored, wins only the gap. */
	must_merge(r, ent(NET24 + 18, NET24 + 25, 1, "X", "X"), 1);
	cr_assert_str_eq(owner_of(r, NET24 + 19), "C");
	cr_assert_str_eq(owner_of(r, NET24 + 20), "X");
	cr_assert_eq(ring_clock(r), 3);
	ring_destroy(r);
}

Test(ring, malformed_entries_change_nothing)
{
	char longid[RING_ID_MAX + 8];
	struct ring *r = mk24("Z");
	struct ring_entry bad[8];
	size_t n = 0;

	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	bad[n++] = ent(NET24 + 5, NET24 + 5, 1, "A", "A");   /* empty */
	bad[n++] = ent(NET24 + 6, NET24 + 5, 1, "A", "A");   /* reversed */
	bad[n++] = ent(NET24, NET24 + 5, 1, "A", "A");	     /* network address */
	bad[n++] = ent(NET24 + 1, NET24 + 256, 1, "A", "A"); /* past the space */
	bad[n++] = ent(NET24 + 1, NET24 + 5, 0, "A", "A");   /* clock 0 */
	bad[n++] = ent(NET24 + 1, NET24 + 5, CLOCK_LIMIT, "A", "A");
	bad[n++] = ent(NET24 + 1, NET24 + 5, 1, "", "A");
	bad[n] = ent(NET24 + 1, NET24 + 5, 1, "A", "A");
	memcpy(bad[n++].origin, longid, RING_ID_MAX); /* not terminated */
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(ring_merge(r, &bad[i]), -EINVAL, "case %zu", i);
	cr_assert_eq(ring_entry_count(r), 0);
	cr_assert_eq(ring_clock(r), 0);
	ring_destroy(r);
}

/* ---- reclaim ---- */

Test(ring, reclaim_takes_dead_nodes_runs)
{
	struct ring *a = mk24("A"), *c = mk24("C");
	struct ring_leases l;
	struct ring_entry e, d1, d2, *rec = NULL;
	size_t n = 0;

	ring_leases_init(&l);
	cr_assert_eq(ring_init_space(a, &e), 0);
	cr_assert_eq(ring_donate_ip(a, &l, "D", NET24 + 10, &d1), 0);
	cr_assert_eq(ring_donate_ip(a, &l, "D", NET24 + 11, &d2), 0);
	cr_assert_eq(ring_donate_ip(a, &l, "D", NET24 + 50, &d2), 0);
	cr_assert_eq(ring_reclaim(a, "A", &rec, &n), -EINVAL);
	cr_assert_eq(ring_reclaim(a, "nobody", &rec, &n), -ENOENT);
	cr_assert_eq(ring_reclaim(a, "D", &rec, &n), 0);
	cr_assert_eq(n, 2, "adjacent runs join");
	cr_assert_eq(rec[0].start, NET24 + 10);
	cr_assert_eq(rec[0].end, NET24 + 12);
	cr_assert_eq(rec[1].start, NET24 + 50);
	cr_assert_eq(rec[0].clock, rec[1].clock, "one step");
	cr_assert_eq(ring_owned(a, "D"), 0);
	cr_assert_eq(ring_owned(a, "A"), 254);
	{
		struct ring_entry *none = NULL;
		size_t nn = 0;

		cr_assert_eq(ring_reclaim(a, "D", &none, &nn), -ENOENT, "nothing left");
		cr_assert_null(none);
	}

	/* Elsewhere, the reclaim beats D's space whatever the arrival order. */
	must_merge(c, rec[1], 1);
	must_merge(c, rec[0], 1);
	must_merge(c, d2, 0);
	must_merge(c, d1, 0);
	must_merge(c, e, 1);
	cr_assert_eq(ring_owned(c, "A"), 254);
	free(rec);
	ring_leases_fini(&l);
	ring_destroy(a);
	ring_destroy(c);
}

/* The documented trade-off: reclaiming a node that is alive takes its space
 * from under its leases.  The ring makes it visible, it cannot prevent it. */
Test(ring, reclaim_of_a_live_node_takes_its_leased_space)
{
	struct ring *a = mk24("A"), *b = mk24("B");
	struct ring_leases la, lb;
	struct ring_entry e, d, *rec;
	uint32_t ipb, ipa;
	size_t n;

	ring_leases_init(&la);
	ring_leases_init(&lb);
	cr_assert_eq(ring_init_space(a, &e), 0);
	cr_assert_eq(ring_donate(a, &la, "B", 0, &d), 0);
	must_merge(b, d, 1);
	cr_assert_eq(ring_alloc(b, &lb, &ipb), 0);
	cr_assert_eq(ring_reclaim(a, "B", &rec, &n), 0); /* wrongly declared dead */
	must_merge(b, rec[0], 1);
	cr_assert_str_eq(owner_of(b, ipb), "A", "B's lease is now in A's space");
	cr_assert_eq(ring_claim(a, &la, ipb, NULL), 0, "A can hand it out again: duplicate");
	(void)ipa;
	free(rec);
	ring_leases_fini(&la);
	ring_leases_fini(&lb);
	ring_destroy(a);
	ring_destroy(b);
}

/* ---- donor choice ---- */

Test(ring, pick_donor_weighted_by_reported_free_space)
{
	struct ring *r = mk24("S");
	struct ring_report rep[4];
	char out[RING_ID_MAX];
	int hits[2] = {0, 0};

	memset(rep, 0, sizeof(rep));
	strcpy(rep[0].id, "S"); /* self: never */
	rep[0].free = 1000;
	strcpy(rep[1].id, "P");
	rep[1].free = 10;
	strcpy(rep[2].id, "Q");
	rep[2].free = 30;
	strcpy(rep[3].id, "E"); /* nothing free: never */
	for (uint64_t rnd = 0; rnd < 40; rnd++) {
		cr_assert_eq(ring_pick_donor(r, rep, 4, rnd, out), 0);
		cr_assert(!strcmp(out, "P") || !strcmp(out, "Q"), "picked %s", out);
		hits[!strcmp(out, "Q")]++;
	}
	cr_assert_eq(hits[0], 10);
	cr_assert_eq(hits[1], 30);

	/* No usable reports: the biggest owner in this view. */
	cr_assert_eq(ring_pick_donor(r, rep, 1, 0, out), -ENOENT);
	must_merge(r, ent(NET24 + 1, NET24 + 255, 1, "A", "A"), 1);
	must_merge(r, ent(NET24 + 1, NET24 + 200, 2, "B", "A"), 1);
	must_merge(r, ent(NET24 + 200, NET24 + 201, 3, "S", "A"), 1);
	cr_assert_eq(ring_pick_donor(r, NULL, 0, 0, out), 0);
	cr_assert_str_eq(out, "B");
	ring_destroy(r);
}

/* ---- wire form ---- */

Test(ring, entry_roundtrip)
{
	struct ring_entry e = ent(NET24 + 3, NET24 + 9, 77, "owner-1", "origin.2"), d;
	uint8_t *buf;
	size_t len;

	cr_assert_eq(ring_entry_encode(&e, &buf, &len), 0);
	cr_assert_eq(ring_entry_decode(buf, len, &d), 0);
	cr_assert_eq(memcmp(&e, &d, sizeof(e)), 0);
	cr_assert_eq(ring_entry_decode(buf, len - 1, &d), -EINVAL);
	free(buf);
	e.clock = 0;
	cr_assert_eq(ring_entry_encode(&e, &buf, &len), -EINVAL);
}

/* Hand-packed maps: each must be refused (or, for `ok`, accepted). */
struct wire_case {
	const char *name;
	int ok;
	void (*pack)(msgpack_packer *pk);
};

static void kv_str(msgpack_packer *pk, const char *k, const char *v, size_t vlen)
{
	msgpack_pack_str(pk, strlen(k));
	msgpack_pack_str_body(pk, k, strlen(k));
	msgpack_pack_str(pk, vlen);
	msgpack_pack_str_body(pk, v, vlen);
}

static void kv_u(msgpack_packer *pk, const char *k, uint64_t v)
{
	msgpack_pack_str(pk, strlen(k));
	msgpack_pack_str_body(pk, k, strlen(k));
	msgpack_pack_uint64(pk, v);
}

static void good_fields(msgpack_packer *pk, int skip)
{
	if (skip != 0)
		kv_u(pk, "s", 10);
	if (skip != 1)
		kv_u(pk, "e", 20);
	if (skip != 2)
		kv_u(pk, "c", 5);
	if (skip != 3)
		kv_str(pk, "o", "A", 1);
	if (skip != 4)
		kv_str(pk, "w", "B", 1);
}

static void p_good(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	good_fields(pk, -1);
}

static void p_unknown_field(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 6);
	good_fields(pk, -1);
	msgpack_pack_str(pk, 1);
	msgpack_pack_str_body(pk, "x", 1);
	msgpack_pack_array(pk, 2);
	msgpack_pack_nil(pk);
	msgpack_pack_true(pk);
}

static void p_missing_owner(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 4);
	good_fields(pk, 4);
}

static void p_dup_field(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 6);
	good_fields(pk, -1);
	kv_u(pk, "s", 11);
}

static void p_start_as_string(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	good_fields(pk, 0);
	kv_str(pk, "s", "10", 2);
}

static void p_negative_start(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	good_fields(pk, 0);
	msgpack_pack_str(pk, 1);
	msgpack_pack_str_body(pk, "s", 1);
	msgpack_pack_int64(pk, -1);
}

static void p_start_too_big(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	good_fields(pk, 0);
	kv_u(pk, "s", UINT64_C(1) << 32);
}

static void p_end_not_above_start(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	good_fields(pk, 1);
	kv_u(pk, "e", 10);
}

static void p_clock_zero(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	good_fields(pk, 2);
	kv_u(pk, "c", 0);
}

static void p_clock_huge(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	good_fields(pk, 2);
	kv_u(pk, "c", CLOCK_LIMIT);
}

static void p_owner_nul(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	good_fields(pk, 4);
	kv_str(pk, "w", "B\0C", 3);
}

static void p_owner_slash(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	good_fields(pk, 4);
	kv_str(pk, "w", "B/C", 3);
}

static void p_owner_long(msgpack_packer *pk)
{
	char id[RING_ID_MAX];

	memset(id, 'a', sizeof(id));
	msgpack_pack_map(pk, 5);
	good_fields(pk, 4);
	kv_str(pk, "w", id, sizeof(id));
}

static void p_origin_empty(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	good_fields(pk, 3);
	kv_str(pk, "o", "", 0);
}

static void p_array(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 5);
	for (int i = 0; i < 5; i++)
		msgpack_pack_uint8(pk, 1);
}

static void p_map_count_lies(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 60000);
	good_fields(pk, -1);
}

static const struct wire_case wire_cases[] = {
	{"good", 1, p_good},
	{"unknown field skipped", 1, p_unknown_field},
	{"missing owner", 0, p_missing_owner},
	{"duplicate field", 0, p_dup_field},
	{"start as string", 0, p_start_as_string},
	{"negative start", 0, p_negative_start},
	{"start above 32 bits", 0, p_start_too_big},
	{"end not above start", 0, p_end_not_above_start},
	{"clock zero", 0, p_clock_zero},
	{"clock 2^63", 0, p_clock_huge},
	{"owner with NUL", 0, p_owner_nul},
	{"owner with slash", 0, p_owner_slash},
	{"owner too long", 0, p_owner_long},
	{"origin empty", 0, p_origin_empty},
	{"array, not map", 0, p_array},
	{"map count beyond the bytes", 0, p_map_count_lies},
};

Test(ring, wire_policy_table)
{
	for (size_t i = 0; i < sizeof(wire_cases) / sizeof(wire_cases[0]); i++) {
		const struct wire_case *c = &wire_cases[i];
		msgpack_sbuffer sb, set;
		msgpack_packer pk;
		struct ring_entry e;
		struct ring *r = mk(1, 100, "Z");

		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		c->pack(&pk);
		cr_assert_eq(ring_entry_decode((uint8_t *)sb.data, sb.size, &e),
			     c->ok ? 0 : -EINVAL, "%s", c->name);
		/* In a set after a good entry: all or nothing. */
		msgpack_sbuffer_init(&set);
		msgpack_packer_init(&pk, &set, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_map(&pk, 5);
		kv_u(&pk, "s", 50);
		kv_u(&pk, "e", 60);
		kv_u(&pk, "c", 1);
		kv_str(&pk, "o", "A", 1);
		kv_str(&pk, "w", "A", 1);
		msgpack_sbuffer_write(&set, sb.data, sb.size);
		cr_assert_eq(ring_merge_all(r, (uint8_t *)set.data, set.size), c->ok ? 2 : -EINVAL,
			     "%s", c->name);
		cr_assert_eq(ring_entry_count(r), c->ok ? 2 : 0, "%s", c->name);
		msgpack_sbuffer_destroy(&sb);
		msgpack_sbuffer_destroy(&set);
		ring_destroy(r);
	}
}

Test(ring, set_refuses_out_of_space_and_garbage)
{
	struct ring *r = mk(1, 15, "Z"), *big = mk(1, 100, "Z");
	struct ring_entry e;
	uint8_t *buf;
	size_t len;
	static const uint8_t huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff};

	must_merge(big, ent(10, 20, 1, "A", "A"), 1);
	cr_assert_eq(ring_encode(big, &buf, &len), 0);
	cr_assert_eq(ring_merge_all(r, buf, len), -EINVAL, "[10,20) is outside [1,15)");
	cr_assert_eq(ring_entry_count(r), 0);
	for (size_t cut = 0; cut < len; cut++)
		cr_assert_eq(ring_merge_all(big, buf, cut), -EINVAL, "cut at %zu", cut);
	free(buf);
	cr_assert_eq(ring_merge_all(r, huge_array, sizeof(huge_array)), -EINVAL);
	cr_assert_eq(ring_merge_all(r, NULL, 0), -EINVAL);
	cr_assert_eq(ring_entry_decode(NULL, 0, &e), -EINVAL);
	ring_destroy(r);
	ring_destroy(big);
}

/* ======================= property tests ======================= */

#define PMAXN	50
#define PMAXLOG 2048
#define PMAXRET 256
#define BITS(n) (((n) + 63) / 64)

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rn(uint64_t *s, uint32_t n)
{
	return (uint32_t)(rnd(s) % n);
}

struct pnode {
	char id[RING_ID_MAX];
	int gen;
	struct ring *r;
	uint8_t *disk;
	size_t disk_len;
	struct ring_leases leases; /* reserved addresses included */
	uint64_t known[BITS(PMAXLOG)], disk_known[BITS(PMAXLOG)];
	uint32_t *inbox; /* log indices */
	size_t nin, capin;
	int group;
	bool up;
	uint64_t reported;
	uint8_t *enc; /* cached ring_encode() for the sameness check */
	size_t enc_len;
};

struct world {
	uint64_t rng;
	uint32_t first, end;
	uint32_t reserved[2];
	size_t n;
	struct pnode nd[PMAXN];
	struct ring_entry log[PMAXLOG];
	size_t nlog;
	char retired[PMAXRET][RING_ID_MAX];
	char reclaimer[PMAXRET][RING_ID_MAX]; /* the one id allowed to reclaim it */
	size_t nretired;
	uint8_t *mark; /* per address scratch */
	size_t steps, checks;
	size_t stat_alloc, stat_donate, stat_claim, stat_reclaim, stat_lose, stat_crash;
};

static bool is_reserved(const struct world *w, uint32_t ip)
{
	return ip == w->reserved[0] || ip == w->reserved[1];
}

static void node_dirty(struct pnode *p)
{
	free(p->enc);
	p->enc = NULL;
}

static void node_fresh(struct world *w, size_t i)
{
	struct pnode *p = &w->nd[i];

	ring_destroy(p->r);
	free(p->disk);
	free(p->inbox);
	node_dirty(p);
	ring_leases_fini(&p->leases);
	snprintf(p->id, sizeof(p->id), "n%zu.g%d", i, p->gen);
	p->r = mk(w->first, w->end, p->id);
	p->disk = NULL;
	p->disk_len = 0;
	p->inbox = NULL;
	p->nin = p->capin = 0;
	memset(p->known, 0, sizeof(p->known));
	memset(p->disk_known, 0, sizeof(p->disk_known));
	ring_leases_init(&p->leases);
	for (int k = 0; k < 2; k++)
		if (w->reserved[k])
			cr_assert_eq(ring_leases_add(&p->leases, w->reserved[k]), 0);
	p->up = true;
	p->reported = 0;
}

static void flush(struct pnode *p)
{
	free(p->disk);
	cr_assert_eq(ring_encode(p->r, &p->disk, &p->disk_len), 0);
	memcpy(p->disk_known, p->known, sizeof(p->known));
}

static void inbox_push(struct pnode *p, uint32_t idx)
{
	if (p->nin == p->capin) {
		p->capin = p->capin ? p->capin * 2 : 32;
		p->inbox = realloc(p->inbox, p->capin * sizeof(*p->inbox));
		cr_assert_not_null(p->inbox);
	}
	p->inbox[p->nin++] = idx;
}

static int node_by_id(const struct world *w, const char *id)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->nd[i].id, id))
			return (int)i;
	return -1;
}

static bool reachable(const struct world *w, size_t a, size_t b)
{
	return w->nd[a].up && w->nd[b].up && w->nd[a].group == w->nd[b].group;
}

static void merge_idx(struct world *w, size_t i, uint32_t idx)
{
	struct pnode *p = &w->nd[i];
	int ret = ring_merge(p->r, &w->log[idx]);

	cr_assert_geq(ret, 0);
	p->known[idx / 64] |= UINT64_C(1) << (idx % 64);
	node_dirty(p);
}

/* A write by node i: persist, then publish to everyone's inbox. */
static uint32_t publish(struct world *w, size_t i, const struct ring_entry *e)
{
	uint32_t idx;

	cr_assert_lt(w->nlog, PMAXLOG);
	idx = (uint32_t)w->nlog++;
	w->log[idx] = *e;
	w->nd[i].known[idx / 64] |= UINT64_C(1) << (idx % 64);
	node_dirty(&w->nd[i]);
	flush(&w->nd[i]);
	for (size_t k = 0; k < w->n; k++)
		if (k != i)
			inbox_push(&w->nd[k], idx);
	return idx;
}

static bool log_full(const struct world *w)
{
	return w->nlog + 64 > PMAXLOG;
}

/* ---- operations ---- */

static void op_alloc(struct world *w, size_t i)
{
	struct pnode *p = &w->nd[i];
	uint32_t ip;

	flush(p); /* space is persisted before it is acted on */
	if (ring_alloc(p->r, &p->leases, &ip) == 0)
		w->stat_alloc++;
}

static void op_release(struct world *w, size_t i)
{
	struct pnode *p = &w->nd[i];
	uint32_t ip;

	if (p->leases.n == 0)
		return;
	ip = p->leases.ip[rn(&w->rng, (uint32_t)p->leases.n)];
	if (!is_reserved(w, ip))
		cr_assert_eq(ring_leases_del(&p->leases, ip), 0);
}

static struct ring_report *reports(struct world *w, size_t *n)
{
	struct ring_report *rep = calloc(w->n, sizeof(*rep));

	cr_assert_not_null(rep);
	for (size_t k = 0; k < w->n; k++) {
		strcpy(rep[k].id, w->nd[k].id);
		rep[k].free = w->nd[k].reported;
	}
	*n = w->n;
	return rep;
}

/* A node asks a donor for space; the donor answers at once when reachable. */
static void op_request(struct world *w, size_t i)
{
	struct pnode *p = &w->nd[i];
	struct ring_report *rep;
	char donor[RING_ID_MAX];
	struct ring_entry e;
	size_t n;
	int d;

	if (log_full(w))
		return;
	rep = reports(w, &n);
	if (ring_pick_donor(p->r, rep, n, rnd(&w->rng), donor)) {
		free(rep);
		return;
	}
	free(rep);
	d = node_by_id(w, donor);
	if (d < 0 || !reachable(w, i, (size_t)d))
		return;
	if (ring_donate(w->nd[d].r, &w->nd[d].leases, p->id,
			rn(&w->rng, 3) ? 0 : 1 + rn(&w->rng, 8), &e))
		return;
	w->stat_donate++;
	merge_idx(w, i, publish(w, (size_t)d, &e));
}

static void op_claim(struct world *w, size_t i)
{
	struct pnode *p = &w->nd[i];
	uint32_t ip = w->first + rn(&w->rng, w->end - w->first);
	char owner[RING_ID_MAX];
	struct ring_entry e;
	int ret, d;

	flush(p);
	ret = ring_claim(p->r, &p->leases, ip, owner);
	if (ret != -EREMOTE || log_full(w)) {
		w->stat_claim += ret == 0;
		return;
	}
	d = node_by_id(w, owner);
	if (d < 0 || !reachable(w, i, (size_t)d))
		return; /* "the owner is unreachable" */
	if (ring_donate_ip(w->nd[d].r, &w->nd[d].leases, p->id, ip, &e))
		return;
	merge_idx(w, i, publish(w, (size_t)d, &e));
	flush(p);
	ret = ring_claim(p->r, &p->leases, ip, owner);
	cr_assert_eq(ret, 0, "a donated address is claimable");
	w->stat_claim++;
}

static void op_deliver(struct world *w, size_t i)
{
	struct pnode *p = &w->nd[i];
	size_t budget = 1 + rn(&w->rng, 8);

	if (!p->up)
		return;
	for (size_t k = 0; k < p->nin && budget; k++) {
		size_t j = k + rn(&w->rng, (uint32_t)(p->nin - k));
		uint32_t idx = p->inbox[j];
		int src = node_by_id(w, w->log[idx].origin);

		/* Entries of retired origins travel anyway (a third node relays them). */
		if (src >= 0 && w->nd[src].group != p->group)
			continue;
		p->inbox[j] = p->inbox[k];
		p->inbox[k] = idx;
		merge_idx(w, i, idx);
		budget--;
		if (rn(&w->rng, 5) == 0)
			continue; /* keep it: delivered again later, a duplicate */
		p->inbox[k] = p->inbox[--p->nin];
		k--;
	}
}

static void op_push_pull(struct world *w, size_t a, size_t b)
{
	uint8_t *buf;
	size_t len;

	if (a == b || !reachable(w, a, b))
		return;
	cr_assert_eq(ring_encode(w->nd[a].r, &buf, &len), 0);
	cr_assert_geq(ring_merge_all(w->nd[b].r, buf, len), 0);
	free(buf);
	cr_assert_eq(ring_encode(w->nd[b].r, &buf, &len), 0);
	cr_assert_geq(ring_merge_all(w->nd[a].r, buf, len), 0);
	free(buf);
	for (size_t k = 0; k < BITS(PMAXLOG); k++) {
		w->nd[a].known[k] |= w->nd[b].known[k];
		w->nd[b].known[k] = w->nd[a].known[k];
	}
	node_dirty(&w->nd[a]);
	node_dirty(&w->nd[b]);
}

/* Lose the in-memory view and some messages in flight; come back from disk. */
static void op_crash(struct world *w, size_t i)
{
	struct pnode *p = &w->nd[i];

	ring_destroy(p->r);
	p->r = mk(w->first, w->end, p->id);
	if (p->disk)
		cr_assert_geq(ring_merge_all(p->r, p->disk, p->disk_len), 0);
	memcpy(p->known, p->disk_known, sizeof(p->known));
	for (size_t k = 0; k < p->nin; k++)
		if (rn(&w->rng, 2))
			p->inbox[k--] = p->inbox[--p->nin];
	node_dirty(p);
	p->up = rn(&w->rng, 2);
	w->stat_crash++;
}

/* The state directory is gone: a new identity, the old one retired. */
static void op_lose_state(struct world *w, size_t i)
{
	struct pnode *p = &w->nd[i];

	if (w->nretired == PMAXRET)
		return;
	strcpy(w->retired[w->nretired], p->id);
	w->reclaimer[w->nretired++][0] = '\0';
	p->gen++;
	node_fresh(w, i);
	w->stat_lose++;
}

/* vxmesh node rm: one remover per dead id, and only once it has every
 * entry the dead node wrote (docs/ipam.md: the preconditions of reclaim). */
static void op_reclaim(struct world *w, size_t i)
{
	size_t k = rn(&w->rng, (uint32_t)(w->nretired ? w->nretired : 1));
	struct ring_entry *out;
	size_t n;

	if (!w->nretired || !w->nd[i].up || log_full(w))
		return;
	if (w->reclaimer[k][0] && strcmp(w->reclaimer[k], w->nd[i].id))
		return;
	for (size_t j = 0; j < w->nlog; j++)
		if (!strcmp(w->log[j].origin, w->retired[k]) &&
		    !(w->nd[i].known[j / 64] >> (j % 64) & 1))
			return;
	if (ring_reclaim(w->nd[i].r, w->retired[k], &out, &n))
		return;
	strcpy(w->reclaimer[k], w->nd[i].id);
	for (size_t j = 0; j < n; j++)
		publish(w, i, &out[j]);
	free(out);
	w->stat_reclaim++;
}

static void op_partition(struct world *w)
{
	uint32_t groups = 2 + rn(&w->rng, 2);

	for (size_t k = 0; k < w->n; k++)
		w->nd[k].group = (int)rn(&w->rng, groups);
}

static void op_heal(struct world *w)
{
	for (size_t k = 0; k < w->n; k++)
		w->nd[k].group = 0;
}

/* ---- checks ---- */

static const uint8_t *node_enc(struct pnode *p, size_t *len)
{
	if (!p->enc)
		cr_assert_eq(ring_encode(p->r, &p->enc, &p->enc_len), 0);
	*len = p->enc_len;
	return p->enc;
}

/* Brute force: the max-stamp known entry per address. */
static void check_model(struct world *w, size_t i)
{
	struct pnode *p = &w->nd[i];

	for (uint32_t ip = w->first; ip < w->end; ip++) {
		const struct ring_entry *best = NULL;
		char got[RING_ID_MAX];
		int ret;

		for (size_t j = 0; j < w->nlog; j++) {
			const struct ring_entry *e = &w->log[j];

			if (!(p->known[j / 64] >> (j % 64) & 1) || ip < e->start || ip >= e->end)
				continue;
			if (!best || e->clock > best->clock ||
			    (e->clock == best->clock && strcmp(e->origin, best->origin) > 0))
				best = e;
		}
		ret = ring_owner(p->r, ip, got);
		if (!best) {
			cr_assert_eq(ret, -ENOENT, "node %zu ip %u: model says unowned", i, ip);
		} else {
			cr_assert_eq(ret, 0);
			cr_assert_str_eq(got, best->owner, "node %zu ip %u", i, ip);
		}
	}
}

static void check(struct world *w)
{
	size_t space = w->end - w->first;

	w->checks++;
	/* No address believed self-owned by two nodes; none leased twice. */
	memset(w->mark, 0, space);
	for (size_t i = 0; i < w->n; i++) {
		struct ring_entry *map;
		size_t n;

		cr_assert_eq(ring_map(w->nd[i].r, &map, &n), 0);
		for (size_t s = 0; s < n; s++) {
			if (strcmp(map[s].owner, w->nd[i].id))
				continue;
			for (uint32_t ip = map[s].start; ip < map[s].end; ip++) {
				cr_assert_eq(w->mark[ip - w->first], 0,
					     "step %zu: %u owned by two nodes (one is %s)",
					     w->steps, ip, w->nd[i].id);
				w->mark[ip - w->first] = 1;
			}
		}
		free(map);
	}
	memset(w->mark, 0, space);
	for (size_t i = 0; i < w->n; i++) {
		const struct ring_leases *l = &w->nd[i].leases;

		for (size_t k = 0; k < l->n; k++) {
			uint32_t ip = l->ip[k];
			char owner[RING_ID_MAX];

			if (is_reserved(w, ip))
				continue;
			cr_assert_eq(w->mark[ip - w->first], 0, "step %zu: %u leased twice",
				     w->steps, ip);
			w->mark[ip - w->first] = 1;
			cr_assert_eq(ring_owner(w->nd[i].r, ip, owner), 0);
			cr_assert_str_eq(owner, w->nd[i].id, "step %zu: lease %u outside own space",
					 w->steps, ip);
		}
	}
	/* Same entries received, same bytes. */
	for (size_t a = 0; a < w->n; a++)
		for (size_t b = a + 1; b < w->n; b++) {
			const uint8_t *ea, *eb;
			size_t la, lb;

			if (memcmp(w->nd[a].known, w->nd[b].known, sizeof(w->nd[a].known)))
				continue;
			ea = node_enc(&w->nd[a], &la);
			eb = node_enc(&w->nd[b], &lb);
			cr_assert(la == lb && !memcmp(ea, eb, la),
				  "step %zu: nodes %zu and %zu hold the same entries, differ",
				  w->steps, a, b);
		}
}

static void world_init(struct world *w, uint64_t seed)
{
	static const uint8_t plens[] = {24, 25, 26, 27, 28, 30};
	uint8_t plen = plens[seed % sizeof(plens)];
	uint32_t net = 0x0a000000u + (uint32_t)(seed % 1000) * 256;
	struct ring_entry e;

	memset(w, 0, sizeof(*w));
	w->rng = seed * 0x9e3779b97f4a7c15ull + 1;
	w->first = (net & (UINT32_MAX << (32 - plen))) + 1;
	w->end = (net | ~(UINT32_MAX << (32 - plen)));
	w->reserved[0] = w->first; /* the gateway */
	if (plen < 30)
		w->reserved[1] = w->first + 1 + rn(&w->rng, w->end - w->first - 1); /* aux */
	w->n = 2 + rn(&w->rng, PMAXN - 1);
	w->mark = calloc(w->end - w->first, 1);
	cr_assert_not_null(w->mark);
	for (size_t i = 0; i < w->n; i++)
		node_fresh(w, i);
	cr_assert_eq(ring_init_space(w->nd[0].r, &e), 0);
	publish(w, 0, &e);
}

static void world_fini(struct world *w)
{
	for (size_t i = 0; i < w->n; i++) {
		struct pnode *p = &w->nd[i];

		ring_destroy(p->r);
		free(p->disk);
		free(p->inbox);
		free(p->enc);
		ring_leases_fini(&p->leases);
	}
	free(w->mark);
}

/* Merge algebra on real entries: random subsets, any order, any grouping,
 * duplicates, through the wire form: one result. */
static void check_algebra(struct world *w)
{
	size_t n = w->nlog, cnt[3] = {0, 0, 0};
	uint32_t *set[3];
	uint8_t *ref = NULL, *got;
	size_t reflen = 0, len;

	for (int s = 0; s < 3; s++) {
		set[s] = malloc((n + 1) * sizeof(uint32_t));
		cr_assert_not_null(set[s]);
		for (uint32_t j = 0; j < n; j++)
			if (rn(&w->rng, 2))
				set[s][cnt[s]++] = j;
	}
	for (int variant = 0; variant < 4; variant++) {
		struct ring *x = mk(w->first, w->end, "z"), *y = mk(w->first, w->end, "y");
		static const int order[4][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {0, 2, 1}};

		for (int s = 0; s < 3; s++) {
			int which = order[variant][s];
			/* variant 2: B and C meet in y first, then travel encoded. */
			struct ring *into = variant == 2 && which != 0 ? y : x;

			for (size_t k = 0; k < cnt[which]; k++) {
				size_t j = variant & 1 ? cnt[which] - 1 - k : k;

				cr_assert_geq(ring_merge(into, &w->log[set[which][j]]), 0);
				if (rn(&w->rng, 4) == 0)
					cr_assert_eq(ring_merge(into, &w->log[set[which][j]]), 0);
			}
		}
		if (variant == 2) {
			uint8_t *b;
			size_t bl;

			cr_assert_eq(ring_encode(y, &b, &bl), 0);
			cr_assert_geq(ring_merge_all(x, b, bl), 0);
			free(b);
		}
		cr_assert_eq(ring_encode(x, &got, &len), 0);
		cr_assert_eq(ring_merge_all(x, got, len), 0, "idempotent");
		if (!ref) {
			ref = got;
			reflen = len;
		} else {
			cr_assert(len == reflen && !memcmp(got, ref, len), "variant %d differs",
				  variant);
			free(got);
		}
		ring_destroy(x);
		ring_destroy(y);
	}
	free(ref);
	for (int s = 0; s < 3; s++)
		free(set[s]);
}

static void run_one(uint64_t seed, size_t steps, struct world *w)
{
	world_init(w, seed);
	for (w->steps = 0; w->steps < steps; w->steps++) {
		size_t i = rn(&w->rng, (uint32_t)w->n);
		uint32_t op = rn(&w->rng, 100);
		struct pnode *p = &w->nd[i];

		if (!p->up && op >= 10) {
			op_deliver(w, i); /* nothing: it is down */
		} else if (op < 10) {
			if (!p->up)
				p->up = true; /* restart */
			else
				op_push_pull(w, i, rn(&w->rng, (uint32_t)w->n));
		} else if (op < 35) {
			op_alloc(w, i);
			if (ring_free(p->r, &p->leases) == 0)
				op_request(w, i);
		} else if (op < 45) {
			op_release(w, i);
		} else if (op < 52) {
			op_request(w, i);
		} else if (op < 58) {
			op_claim(w, i);
		} else if (op < 80) {
			op_deliver(w, i);
		} else if (op < 84) {
			p->reported = ring_free(p->r, &p->leases);
		} else if (op < 87) {
			flush(p);
		} else if (op < 90) {
			op_crash(w, i);
		} else if (op < 91) {
			op_lose_state(w, i);
		} else if (op < 93) {
			op_reclaim(w, i);
		} else if (op < 96) {
			op_partition(w);
		} else {
			op_heal(w);
		}
		check(w);
		if (w->steps % 16 == 0)
			check_model(w, i);
	}
	for (size_t i = 0; i < w->n; i++)
		check_model(w, i);
	check_algebra(w);
}

static void run_range(uint64_t from, uint64_t to, size_t steps)
{
	static struct world w; /* large: keep it off the stack */
	size_t allocs = 0, donations = 0, reclaims = 0, losses = 0;

	for (uint64_t seed = from; seed < to; seed++) {
		run_one(seed, steps, &w);
		allocs += w.stat_alloc;
		donations += w.stat_donate;
		reclaims += w.stat_reclaim;
		losses += w.stat_lose;
		world_fini(&w);
	}
	/* The runs must exercise what they claim to. */
	cr_assert_gt(donations, (to - from) * 2, "donations %zu", donations);
	cr_assert_gt(reclaims, 0);
	cr_assert_gt(losses, 0);
	cr_assert_gt(allocs, donations);
	cr_log_info("seeds %llu..%llu: %zu allocations, %zu donations, %zu reclaims, %zu state "
		    "losses",
		    (unsigned long long)from, (unsigned long long)to, allocs, donations, reclaims,
		    losses);
}

Test(ring_property, seeds_0_500, .timeout = 300)
{
	run_range(0, 500, 400);
}

Test(ring_property, seeds_500_1000, .timeout = 300)
{
	run_range(500, 1000, 400);
}

Test(ring_property, seeds_1000_1500, .timeout = 300)
{
	run_range(1000, 1500, 400);
}

Test(ring_property, seeds_1500_2000, .timeout = 300)
{
	run_range(1500, 2000, 400);
}
