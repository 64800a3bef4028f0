/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for vxlan/route.c: vx_routes_overlap() over the fake kernel's
 * route list: which routes count (any table but local, not the default
 * route), the /32 and containing-prefix edges, and dump errors.
 */
#include <criterion/criterion.h>

#include "common/addr.h"
#include "tests/unit/fake_kernel.h"

static struct fk K;

static struct addr_prefix pfx(const char *s)
{
	struct addr_prefix p;

	cr_assert_eq(addr_parse_prefix(s, 1, &p), 0, "bad test prefix %s", s);
	return p;
}

static const struct {
	const char *prefix;
	uint32_t table;
} host_routes[] = {
	{"0.0.0.0/0", RT_TABLE_MAIN},	    {"10.1.0.0/16", RT_TABLE_MAIN},
	{"192.0.2.7/32", RT_TABLE_MAIN},    {"172.20.0.0/24", 100},
	{"198.51.100.0/24", 1000},	    {"203.0.113.1/32", RT_TABLE_LOCAL},
	{"203.0.113.0/24", RT_TABLE_LOCAL},
};

static void host_setup(void)
{
	fk_init(&K);
	for (size_t i = 0; i < sizeof(host_routes) / sizeof(host_routes[0]); i++)
		fk_route_add(&K, host_routes[i].prefix, host_routes[i].table, 2);
}

Test(route, overlap_counts_every_table_but_local_and_not_the_default, .init = host_setup)
{
	static const struct {
		const char *p;
		int overlap;
	} cases[] = {
		{"10.1.2.0/24", 1},	/* inside a main-table route */
		{"10.0.0.0/8", 1},	/* contains one */
		{"10.1.0.0/16", 1},	/* equal */
		{"10.2.0.0/16", 0},	/* next to it */
		{"192.0.2.7/32", 1},	/* the host route itself */
		{"192.0.2.6/32", 0},	/* its neighbour */
		{"192.0.2.0/24", 1},	/* around the host route */
		{"172.20.0.128/25", 1}, /* table 100 */
		{"198.51.100.0/24", 1}, /* a table id above 255 */
		{"203.0.113.0/24", 0},	/* local table only */
		{"100.64.0.0/10", 0},	/* only the default route covers it */
		{"0.0.0.0/0", 1},	/* everything overlaps everything */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct addr_prefix p = pfx(cases[i].p);
		int overlap = -1;

		cr_expect_eq(vx_routes_overlap(fk_ops(), &K, &p, &overlap), 0);
		cr_expect_eq(overlap, cases[i].overlap, "%s: %d", cases[i].p, overlap);
	}
}

Test(route, an_empty_table_overlaps_nothing)
{
	struct addr_prefix p = pfx("0.0.0.0/0");
	int overlap = -1;

	fk_init(&K);
	cr_expect_eq(vx_routes_overlap(fk_ops(), &K, &p, &overlap), 0);
	cr_expect_eq(overlap, 0);
	cr_expect_eq(K.calls[FK_ROUTE_DUMP], 1);
	cr_expect_eq(fk_mutations(&K), 0);
}

Test(route, fake_dump_leaves_out_the_local_table, .init = host_setup)
{
	struct vx_route *r = NULL;
	size_t n = 0;

	cr_assert_eq(fk_ops()->route_dump(&K, &r, &n), 0);
	cr_expect_eq(n, 5);
	for (size_t i = 0; i < n; i++)
		cr_expect_neq(r[i].table, RT_TABLE_LOCAL);
	free(r);
}

Test(route, dump_errors_come_back_with_no_overlap, .init = host_setup)
{
	static const struct vx_kops no_routes = {0};
	struct addr_prefix p = pfx("10.1.0.0/16");
	int overlap = -1;

	K.fail[FK_ROUTE_DUMP] = -ENOBUFS;
	cr_expect_eq(vx_routes_overlap(fk_ops(), &K, &p, &overlap), -ENOBUFS);
	cr_expect_eq(overlap, 0);
	overlap = -1;
	cr_expect_eq(vx_routes_overlap(&no_routes, &K, &p, &overlap), -EOPNOTSUPP);
	cr_expect_eq(overlap, 0);
}
