// SPDX-License-Identifier: MIT
/*
 * Unit tests for driver/core.c: a real state database in a temporary
 * directory, a real datapath over the fake kernel (fake_kernel.h), a real
 * allocator on a real rx_loop whose peers are one gossip/table.c replica
 * (this host alone in its cluster), and hooks that record what they saw.
 * Every refusal is checked for its errno (core.h's list) and for leaving
 * state rows, kernel objects and the core's tables as they were.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/reactor.h"
#include "driver/alloc.h"
#include "driver/core.h"
#include "driver/state.h"
#include "gossip/table.h"
#include "tests/unit/core_fixture.h"
#include "tests/unit/fake_kernel.h"
#include "vxlan/vxlan.h"

#define SELF CFX_SELF
#define NS1  CFX_NS1
#define NS2  CFX_NS2
#define EP1  "0123456789ab"
#define EP2  "0123456789ac"
#define EP3  "0123456789ad"
#define VTEP CFX_VTEP

/* What the hooks saw, and what they are told to answer. */
struct seen {
	unsigned net_added, net_removed, ep_added, ep_removed;
	int created, destroyed;
	char net[VX_NET_NAME_MAX];
	char ep[VX_EP_ID_LEN + 1];
	size_t ring_entries; /* ownership entries in the table when net_added ran */
	char veto_name[VX_NET_NAME_MAX];
	uint32_t veto_vni;
	int veto_destroy;
	struct addr_prefix used; /* subnet_used answers yes for overlaps */
};

static struct world {
	struct core_fixture f;
	struct seen seen;
} w;

/* ---- recording hooks ---- */

static int h_net_check(void *arg, const struct drv_net_rec *rec, char *why, size_t len)
{
	struct seen *s = arg;

	if ((rec->name[0] && !strcmp(rec->name, s->veto_name)) ||
	    (s->veto_vni && rec->vni == s->veto_vni)) {
		snprintf(why, len, "taken in the cluster");
		return 1;
	}
	return 0;
}

static int h_net_destroy_check(void *arg, const char *name, char *why, size_t len)
{
	struct seen *s = arg;

	if (s->veto_destroy)
		snprintf(why, len, "endpoints on host B");
	return s->veto_destroy;
}

static int h_subnet_used(void *arg, const struct addr_prefix *p)
{
	struct seen *s = arg;

	return s->used.len && addr_prefix_overlaps(&s->used, p);
}

static void count_cb(void *arg, const struct gt_entry *e)
{
	(*(size_t *)arg)++;
}

static void h_net_added(void *arg, const struct drv_net *n, int created)
{
	struct seen *s = arg;

	s->net_added++;
	s->created = created;
	snprintf(s->net, sizeof(s->net), "%s", n->rec.name);
	s->ring_entries = 0;
	gt_foreach(w.f.tab, GT_KIND_RING, 0, count_cb, &s->ring_entries);
}

static void h_net_removed(void *arg, const char *name, int destroyed)
{
	struct seen *s = arg;

	s->net_removed++;
	s->destroyed = destroyed;
	snprintf(s->net, sizeof(s->net), "%s", name);
}

static void h_ep_added(void *arg, const struct drv_ep *e)
{
	struct seen *s = arg;

	s->ep_added++;
	snprintf(s->ep, sizeof(s->ep), "%s", e->rec.id);
}

static void h_ep_removed(void *arg, const struct drv_ep_rec *e)
{
	struct seen *s = arg;

	s->ep_removed++;
	snprintf(s->ep, sizeof(s->ep), "%s", e->id);
}

static const struct drv_core_hooks hooks = {
	.net_check = h_net_check,
	.net_destroy_check = h_net_destroy_check,
	.subnet_used = h_subnet_used,
	.net_added = h_net_added,
	.net_removed = h_net_removed,
	.ep_added = h_ep_added,
	.ep_removed = h_ep_removed,
};

/* ---- the world ---- */

static struct in_addr ip4(const char *s)
{
	struct in_addr a;

	cr_assert_eq(addr_parse_ip4(s, &a), 0, "bad test address %s", s);
	return a;
}

static struct addr_prefix prefix(const char *s)
{
	struct addr_prefix p;

	cr_assert_eq(addr_parse_prefix(s, 1, &p), 0, "bad test prefix %s", s);
	return p;
}

/* The fixture's agent, with the recording hooks. */
static void agent_start(void)
{
	char err[256];

	cr_assert_eq(cfx_agent_start(&w.f, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(drv_core_hooks_add(w.f.c, &hooks, &w.seen), 0);
}

static void agent_stop(void)
{
	cfx_agent_stop(&w.f);
}

static void setup(void)
{
	char err[256];

	log_set_level(LOG_LVL_ERROR);
	memset(&w, 0, sizeof(w));
	cr_assert_eq(cfx_open(&w.f, "/tmp/vxmesh-test-core-XXXXXX", err, sizeof(err)), 0, "%s",
		     err);
	agent_start();
}

static void teardown(void)
{
	cfx_close(&w.f);
}

TestSuite(core, .init = setup, .fini = teardown);

static struct drv_net_rec net_rec(const char *name, uint32_t vni, const char *subnet,
				  const char *gw)
{
	struct drv_net_rec r = {.vni = vni, .port = VX_PORT_DEFAULT};

	snprintf(r.name, sizeof(r.name), "%s", name);
	r.subnet = prefix(subnet);
	if (gw)
		r.gw = ip4(gw);
	return r;
}

static void net_create(const char *name, uint32_t vni, const char *subnet)
{
	struct drv_net_rec r = net_rec(name, vni, subnet, NULL);
	char why[256] = "";

	cr_assert_eq(drv_core_net_create(w.f.c, &r, why, sizeof(why)), 0, "create %s: %s", name,
		     why);
}

/* Network blue: VNI 100, 10.20.0.0/24, gateway .1. */
static void blue(void)
{
	struct drv_net_rec r = net_rec("blue", 100, "10.20.0.0/24", "10.20.0.1");
	char why[256] = "";

	cr_assert_eq(drv_core_net_create(w.f.c, &r, why, sizeof(why)), 0, "%s", why);
}

static struct drv_ep_rec ep_rec(const char *id, const char *net, const char *netns,
				const char *ifname, uint8_t mac)
{
	struct drv_ep_rec e = {.created = 1700000000};

	snprintf(e.id, sizeof(e.id), "%s", id);
	snprintf(e.net, sizeof(e.net), "%s", net);
	snprintf(e.netns, sizeof(e.netns), "%s", netns);
	snprintf(e.ifname, sizeof(e.ifname), "%s", ifname);
	memcpy(e.mac, (uint8_t[6]){0x02, 0x42, 0x0a, 0x14, 0x00, mac}, 6);
	return e;
}

/* An endpoint with a leased address (want: that one); its address. */
static struct in_addr ep_create(const char *id, const char *netns, uint8_t mac, const char *want)
{
	struct drv_ep_rec e = ep_rec(id, "blue", netns, "eth0", mac);
	char why[256] = "";

	if (want)
		e.ip = ip4(want);
	cr_assert_eq(drv_core_ep_create(w.f.c, &e, want != NULL, why, sizeof(why)), 0, "ep %s: %s",
		     id, why);
	return e.ip;
}

static int lease(const char *net, const char *want, const char *owner, struct in_addr *out)
{
	struct in_addr wa, got = {0};
	char why[256];

	if (want)
		wa = ip4(want);
	return drv_core_lease(w.f.c, net, want ? &wa : NULL, owner, out ? out : &got, why,
			      sizeof(why));
}

/* ---- "nothing changed" ---- */

struct snap {
	size_t net_rows, ep_rows, lease_rows;
	size_t links, peers, fdb, neigh;
	size_t nets, eps;
	uint64_t leased; /* allocator's local leases of network blue, when it exists */
	unsigned hooks;
};

static struct snap snap_take(void)
{
	struct drv_net_rec *nets = NULL;
	struct drv_ep_rec *eps = NULL;
	struct drv_lease_rec *leases = NULL;
	const struct drv_net *b = drv_core_net_find(w.f.c, "blue");
	struct snap s = {0};

	cr_assert_eq(drv_state_net_list(w.f.st, &nets, &s.net_rows), 0);
	cr_assert_eq(drv_state_ep_list(w.f.st, NULL, &eps, &s.ep_rows), 0);
	cr_assert_eq(drv_state_lease_list(w.f.st, NULL, &leases, &s.lease_rows), 0);
	free(nets);
	free(eps);
	free(leases);
	s.links = w.f.k.nlinks;
	s.peers = w.f.k.npeers;
	s.fdb = w.f.k.nfdb;
	s.neigh = w.f.k.nneigh;
	drv_core_nets(w.f.c, &s.nets);
	drv_core_eps(w.f.c, &s.eps);
	if (b) {
		struct drv_alloc_counts cnt;

		drv_alloc_counts(w.f.al, b->an, &cnt);
		s.leased = cnt.leased;
	}
	s.hooks = w.seen.net_added + w.seen.net_removed + w.seen.ep_added + w.seen.ep_removed;
	return s;
}

static void snap_same(const struct snap *a, const char *what)
{
	struct snap b = snap_take();

	cr_expect_eq(a->net_rows, b.net_rows, "%s: network rows", what);
	cr_expect_eq(a->ep_rows, b.ep_rows, "%s: endpoint rows", what);
	cr_expect_eq(a->lease_rows, b.lease_rows, "%s: lease rows", what);
	cr_expect_eq(a->links, b.links, "%s: kernel links", what);
	cr_expect_eq(a->peers, b.peers, "%s: veth peers", what);
	cr_expect_eq(a->fdb, b.fdb, "%s: FDB entries", what);
	cr_expect_eq(a->neigh, b.neigh, "%s: neighbour entries", what);
	cr_expect_eq(a->nets, b.nets, "%s: core networks", what);
	cr_expect_eq(a->eps, b.eps, "%s: core endpoints", what);
	cr_expect_eq(a->leased, b.leased, "%s: allocator leases", what);
	cr_expect_eq(a->hooks, b.hooks, "%s: hooks ran", what);
}

static size_t lease_rows(const char *net)
{
	struct drv_lease_rec *l = NULL;
	size_t n = 0;

	cr_assert_eq(drv_state_lease_list(w.f.st, net, &l, &n), 0);
	free(l);
	return n;
}

static int ep_row(const char *id)
{
	struct drv_ep_rec r;

	return drv_state_ep_get(w.f.st, id, &r) == 0;
}

static int net_row(const char *name)
{
	struct drv_net_rec r;

	return drv_state_net_get(w.f.st, name, &r) == 0;
}

/* ---- networks ---- */

Test(core, created_network_has_a_row_kernel_objects_and_its_space_before_the_hook)
{
	struct drv_net_rec r = net_rec("blue", 100, "10.20.0.0/24", "10.20.0.1"), row;
	const struct drv_net *n;
	struct vx_link *br, *vx;
	char why[256] = "";

	cr_assert_eq(drv_core_net_create(w.f.c, &r, why, sizeof(why)), 0, "%s", why);
	cr_assert(drv_alloc_ring_id_ok(r.ring) && r.ring[0], "ring id set: %s", r.ring);
	cr_assert_gt(r.created, 0);
	cr_assert_eq(drv_state_net_get(w.f.st, "blue", &row), 0);
	cr_assert_eq(row.vni, 100);
	cr_assert_str_eq(row.ring, r.ring);
	br = fk_link(&w.f.k, "vxmb100");
	vx = fk_link(&w.f.k, "vxmv100");
	cr_assert_not_null(br);
	cr_assert_not_null(vx);
	cr_assert_eq(br->kind, VX_KIND_BRIDGE);
	cr_assert_eq(vx->kind, VX_KIND_VXLAN);
	cr_assert_eq(vx->master, br->ifindex);
	cr_assert_eq(vx->vni, 100);
	cr_assert_eq(vx->local.s_addr, ip4(VTEP).s_addr);
	cr_assert_eq(vx->mtu, 1500 - VX_OVERHEAD, "derived from the underlay");
	n = drv_core_net_find(w.f.c, "blue");
	cr_assert_not_null(n);
	cr_assert(n->in_dp);
	cr_assert_eq(drv_core_net_find_vni(w.f.c, 100), n);
	cr_assert_eq(w.seen.net_added, 1);
	cr_assert_eq(w.seen.created, 1);
	cr_assert_str_eq(w.seen.net, "blue");
	cr_assert_geq(w.seen.ring_entries, 1, "ownership entry put before the hook ran");
}

Test(core, vni_zero_picks_one_free_here_and_in_the_cluster)
{
	struct drv_net_rec r = net_rec("green", 0, "10.21.0.0/24", NULL);
	char why[256] = "";

	net_create("blue", 1, "10.20.0.0/24");
	w.seen.veto_vni = 2; /* used elsewhere in the cluster */
	cr_assert_eq(drv_core_net_create(w.f.c, &r, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(r.vni, 3);
	cr_assert_not_null(fk_link(&w.f.k, "vxmv3"));
	cr_assert_eq(drv_core_net_find_vni(w.f.c, 3), drv_core_net_find(w.f.c, "green"));
}

struct net_refusal {
	const char *what;
	const char *name;
	uint32_t vni;
	const char *subnet;
	int err;
	const char *why; /* part of the reason */
};

Test(core, network_refusals_have_their_errno_and_change_nothing)
{
	static const struct net_refusal cases[] = {
		{"empty name", "", 200, "10.30.0.0/24", -EINVAL, "invalid network name"},
		{"bad character", "a b", 200, "10.30.0.0/24", -EINVAL, "invalid network name"},
		{"leading dash", "-x", 200, "10.30.0.0/24", -EINVAL, "invalid network name"},
		{"same name", "blue", 200, "10.30.0.0/24", -EEXIST, "already exists"},
		{"same VNI", "green", 100, "10.30.0.0/24", -EADDRINUSE, "VNI 100"},
		{"name vetoed", "taken", 200, "10.30.0.0/24", -EEXIST, "taken in the cluster"},
		{"VNI vetoed", "green", 300, "10.30.0.0/24", -EEXIST, "taken in the cluster"},
		{"subnet too small", "green", 200, "10.30.0.0/31", -EINVAL, "green"},
	};

	blue();
	snprintf(w.seen.veto_name, sizeof(w.seen.veto_name), "taken");
	w.seen.veto_vni = 300;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct net_refusal *t = &cases[i];
		struct drv_net_rec r = net_rec(t->name, t->vni, t->subnet, NULL);
		struct snap before = snap_take();
		size_t ring_before = gt_count(w.f.tab, GT_KIND_RING, 1);
		char why[256] = "";

		cr_expect_eq(drv_core_net_create(w.f.c, &r, why, sizeof(why)), t->err, "%s: %s",
			     t->what, why);
		cr_expect(strstr(why, t->why), "%s: reason \"%s\"", t->what, why);
		snap_same(&before, t->what);
		cr_expect_eq(gt_count(w.f.tab, GT_KIND_RING, 1), ring_before, "%s: ring entries",
			     t->what);
	}
}

struct kernel_refusal {
	const char *what;
	enum fk_op op;
	int fail;
	int foreign; /* a foreign bridge holds the name */
	int err;
};

Test(core, kernel_refusals_leave_no_row_and_nothing_in_the_kernel)
{
	static const struct kernel_refusal cases[] = {
		{"bridge add fails", FK_BRIDGE_ADD, -ENOBUFS, 0, -EIO},
		{"vxlan add fails", FK_VXLAN_ADD, -EPERM, 0, -EIO},
		{"link dump fails", FK_LINK_DUMP, -EINTR, 0, -EIO},
		{"foreign bridge has the name", FK_NOPS, 0, 1, -EEXIST},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct kernel_refusal *t = &cases[i];
		struct drv_net_rec r = net_rec("blue", 100, "10.20.0.0/24", NULL);
		struct snap before;
		char why[256] = "";

		if (t->foreign)
			cr_assert_not_null(fk_link_add(&w.f.k, "vxmb100", VX_KIND_BRIDGE, ""));
		else
			w.f.k.fail[t->op] = t->fail;
		before = snap_take();
		cr_expect_eq(drv_core_net_create(w.f.c, &r, why, sizeof(why)), t->err, "%s: %s",
			     t->what, why);
		cr_expect(why[0], "%s: a reason", t->what);
		snap_same(&before, t->what);
		cr_expect_not(net_row("blue"), "%s: no row", t->what);
		cr_expect_null(drv_core_net_find(w.f.c, "blue"), "%s", t->what);
		cr_expect_null(fk_link(&w.f.k, "vxmv100"), "%s: no vxlan device", t->what);
		if (t->foreign)
			cr_expect_eq(fk_link(&w.f.k, "vxmb100")->alias[0], '\0',
				     "foreign left alone");
		else
			cr_expect_null(fk_link(&w.f.k, "vxmb100"), "%s: no bridge", t->what);
		/* The same network can be made once the kernel works. */
		if (!t->foreign)
			w.f.k.fail[t->op] = 0;
		else
			fk_link_remove(&w.f.k, fk_link(&w.f.k, "vxmb100")->ifindex);
		r = net_rec("blue", 100, "10.20.0.0/24", NULL);
		cr_expect_eq(drv_core_net_create(w.f.c, &r, why, sizeof(why)), 0, "%s: again: %s",
			     t->what, why);
		cr_expect_eq(drv_core_net_remove(w.f.c, "blue"), 0);
		memset(&w.seen, 0, sizeof(w.seen));
	}
}

Test(core, network_whose_space_cannot_be_recorded_is_not_created)
{
	struct drv_net_rec r = net_rec("blue", 100, "10.20.0.0/24", NULL);
	struct snap before = snap_take();
	char why[256] = "";

	drv_alloc_set_peers(w.f.al, NULL, NULL); /* put() fails: -ENOTCONN */
	cr_assert_eq(drv_core_net_create(w.f.c, &r, why, sizeof(why)), -EIO);
	cr_assert(strstr(why, "address space"), "%s", why);
	snap_same(&before, "no peers");
	cr_assert_not(net_row("blue"));
	cr_assert_null(fk_link(&w.f.k, "vxmb100"));
	cr_assert_null(drv_core_net_find(w.f.c, "blue"));
}

Test(core, network_from_outside_is_added_with_created_zero)
{
	struct drv_net_rec r = net_rec("red", 300, "10.30.0.0/24", "10.30.0.1");
	char why[256] = "";
	struct in_addr got;

	cr_assert_eq(drv_core_net_add(w.f.c, &r, why, sizeof(why)), 0, "%s", why);
	cr_assert(net_row("red"));
	cr_assert_not_null(fk_link(&w.f.k, "vxmb300"));
	cr_assert_not_null(fk_link(&w.f.k, "vxmv300"));
	cr_assert_eq(w.seen.net_added, 1);
	cr_assert_eq(w.seen.created, 0);
	cr_assert_str_eq(w.seen.net, "red");
	cr_assert_eq(gt_count(w.f.tab, GT_KIND_RING, 1), 0, "no space taken: not the creator");
	cr_assert_eq(lease("red", NULL, "docker", &got), 0, "a ring-less pool leases locally");
}

Test(core, network_with_its_own_mtu_keeps_it)
{
	struct drv_net_rec r = net_rec("jumbo", 400, "10.40.0.0/24", NULL);
	char why[256] = "";

	r.mtu = 8950;
	cr_assert_eq(drv_core_net_create(w.f.c, &r, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(drv_core_net_find(w.f.c, "jumbo")->mtu, 8950);
	cr_assert_eq(fk_link(&w.f.k, "vxmv400")->mtu, 8950);
	cr_assert_eq(fk_link(&w.f.k, "vxmb400")->mtu, 8950);
}

Test(core, network_from_outside_is_refused_like_a_created_one)
{
	static const struct net_refusal cases[] = {
		{"same name", "blue", 300, "10.30.0.0/24", -EEXIST, "blue"},
		{"same VNI", "red", 100, "10.30.0.0/24", -EADDRINUSE, "red"},
		{"subnet too small", "red", 300, "10.30.0.0/31", -EINVAL, "red"},
	};

	blue();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct net_refusal *t = &cases[i];
		struct drv_net_rec r = net_rec(t->name, t->vni, t->subnet, NULL);
		struct snap before = snap_take();
		char why[256] = "";

		cr_expect_eq(drv_core_net_add(w.f.c, &r, why, sizeof(why)), t->err, "%s: %s",
			     t->what, why);
		cr_expect(strstr(why, t->why), "%s: reason \"%s\"", t->what, why);
		snap_same(&before, t->what);
	}
	cr_assert_eq(drv_core_net_find(w.f.c, "blue")->rec.vni, 100, "the first one stays");
}

Test(core, network_removal_needs_an_existing_network_without_endpoints)
{
	struct snap before;

	blue();
	ep_create(EP1, NS1, 2, NULL);
	cr_assert_eq(drv_core_net_remove(w.f.c, "nope"), -ENOENT);
	before = snap_take();
	cr_assert_eq(drv_core_net_remove(w.f.c, "blue"), -EBUSY);
	snap_same(&before, "busy");
	cr_assert_eq(drv_core_ep_remove(w.f.c, EP1, 1), 0);
	cr_assert_eq(drv_core_net_remove(w.f.c, "blue"), 0);
	cr_assert_not(net_row("blue"));
	cr_assert_eq(lease_rows("blue"), 0);
	cr_assert_null(fk_link(&w.f.k, "vxmb100"));
	cr_assert_null(fk_link(&w.f.k, "vxmv100"));
	cr_assert_null(drv_core_net_find(w.f.c, "blue"));
	cr_assert_eq(w.seen.net_removed, 1);
	cr_assert_eq(w.seen.destroyed, 0);
	cr_assert_str_eq(w.seen.net, "blue");
}

Test(core, network_destruction_is_refused_while_in_use_here_or_elsewhere)
{
	struct snap before;
	char why[256] = "";

	blue();
	cr_assert_eq(drv_core_net_destroy(w.f.c, "nope", why, sizeof(why)), -ENOENT);
	ep_create(EP1, NS1, 2, NULL);
	before = snap_take();
	cr_assert_eq(drv_core_net_destroy(w.f.c, "blue", why, sizeof(why)), -EBUSY);
	cr_assert(strstr(why, "1 endpoint"), "%s", why);
	snap_same(&before, "local endpoint");
	cr_assert_eq(drv_core_ep_remove(w.f.c, EP1, 1), 0);
	w.seen.veto_destroy = 1;
	before = snap_take();
	cr_assert_eq(drv_core_net_destroy(w.f.c, "blue", why, sizeof(why)), -EBUSY);
	cr_assert(strstr(why, "host B"), "the hook's reason: %s", why);
	snap_same(&before, "vetoed");
	cr_assert(net_row("blue"));
	w.seen.veto_destroy = 0;
	cr_assert_eq(drv_core_net_destroy(w.f.c, "blue", why, sizeof(why)), 0, "%s", why);
	cr_assert_not(net_row("blue"));
	cr_assert_null(fk_link(&w.f.k, "vxmb100"));
	cr_assert_null(drv_core_net_find(w.f.c, "blue"));
	cr_assert_eq(w.seen.net_removed, 1);
	cr_assert_eq(w.seen.destroyed, 1);
}

/* ---- subnet pick ---- */

static void picks(const struct addr_prefix *avoid, size_t navoid, const char *want)
{
	struct addr_prefix got;
	char sub[ADDR_PREFIX_STRLEN];

	cr_assert_eq(drv_core_subnet_pick(w.f.c, avoid, navoid, &got), 0, "wanted %s", want);
	addr_fmt_prefix(&got, sub);
	cr_assert_str_eq(sub, want);
}

Test(core, subnet_pick_skips_local_networks_routes_the_cluster_and_avoid)
{
	struct addr_prefix got, avoid = prefix("10.100.3.0/24");

	picks(NULL, 0, "10.100.0.0/24");
	net_create("blue", 100, "10.100.0.0/25"); /* overlaps the first */
	fk_route_add(&w.f.k, "0.0.0.0/0", RT_TABLE_MAIN, 2);
	fk_route_add(&w.f.k, "10.100.1.128/26", 100, 2); /* policy table counts */
	picks(NULL, 0, "10.100.2.0/24");
	w.seen.used = prefix("10.100.2.0/23"); /* the cluster has .2 and .3 */
	cr_assert_eq(drv_core_subnet_pick(w.f.c, NULL, 0, &got), -ENOSPC);
	w.seen.used = prefix("10.100.2.0/24");
	picks(NULL, 0, "10.100.3.0/24");
	cr_assert_eq(drv_core_subnet_pick(w.f.c, &avoid, 1, &got), -ENOSPC);
}

Test(core, subnet_pick_without_a_pool_is_einval)
{
	struct addr_prefix got;

	agent_stop();
	w.f.cfg.pool = (struct addr_prefix){0};
	agent_start();
	cr_assert_eq(drv_core_subnet_pick(w.f.c, NULL, 0, &got), -EINVAL);
	agent_stop();
	w.f.cfg.pool = prefix("10.100.0.0/22");
	w.f.cfg.subnet_len = 20; /* shorter than the pool's */
	agent_start();
	cr_assert_eq(drv_core_subnet_pick(w.f.c, NULL, 0, &got), -EINVAL);
}

/* ---- endpoints ---- */

Test(core, endpoint_gets_a_lease_its_rows_a_veth_and_the_hook)
{
	struct drv_ep_rec row;
	struct drv_lease_rec *l = NULL;
	const struct drv_ep *e;
	struct fk_peer *p;
	struct vx_link *host;
	struct in_addr a;
	char owner[64];
	size_t n = 0;

	blue();
	a = ep_create(EP1, NS1, 2, NULL);
	cr_assert_eq(ntohl(a.s_addr) >> 8, ntohl(ip4("10.20.0.0").s_addr) >> 8, "in the subnet");
	cr_assert_neq(a.s_addr, ip4("10.20.0.1").s_addr, "not the gateway");
	cr_assert_eq(drv_state_lease_list(w.f.st, "blue", &l, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(l[0].ip.s_addr, a.s_addr);
	cr_assert_str_eq(l[0].owner, "ep:" EP1);
	free(l);
	cr_assert_eq(drv_core_lease_owner(w.f.c, "blue", a, owner, sizeof(owner)), 0);
	cr_assert_str_eq(owner, "ep:" EP1);
	cr_assert_eq(drv_state_ep_get(w.f.st, EP1, &row), 0);
	cr_assert_eq(row.ip.s_addr, a.s_addr);
	cr_assert_str_eq(row.netns, NS1);
	p = fk_peer(&w.f.k, NS1, "eth0");
	cr_assert_not_null(p);
	cr_assert_eq(p->ip.s_addr, a.s_addr);
	cr_assert_eq(p->plen, 24);
	cr_assert_eq(p->mac[5], 2);
	host = fk_link_ix(&w.f.k, p->host_ifindex);
	cr_assert_not_null(host);
	cr_assert_eq(host->master, fk_link(&w.f.k, "vxmb100")->ifindex);
	e = drv_core_ep_find(w.f.c, EP1);
	cr_assert_not_null(e);
	cr_assert(e->in_dp);
	cr_assert_eq(e->status, 0);
	cr_assert_eq(drv_core_net_ep_count(w.f.c, "blue"), 1);
	cr_assert_eq(w.seen.ep_added, 1);
	cr_assert_str_eq(w.seen.ep, EP1);
	cr_assert_eq(lease("blue", NULL, "docker", &a), 0);
	cr_assert_neq(a.s_addr, p->ip.s_addr, "the next lease is another address");
}

Test(core, endpoint_with_want_ip_gets_that_address)
{
	blue();
	cr_assert_eq(ep_create(EP1, NS1, 2, "10.20.0.77").s_addr, ip4("10.20.0.77").s_addr);
	cr_assert_eq(fk_peer(&w.f.k, NS1, "eth0")->ip.s_addr, ip4("10.20.0.77").s_addr);
	cr_assert_eq(lease("blue", "10.20.0.77", "docker", NULL), -EADDRINUSE);
}

struct ep_refusal {
	const char *what;
	const char *id, *net, *netns, *ifname;
	uint8_t mac;
	const char *want; /* NULL: any address */
	int err;
};

Test(core, endpoint_refusals_have_their_errno_and_change_nothing)
{
	static const struct ep_refusal cases[] = {
		{"address taken", EP2, "blue", NS2, "eth0", 3, "10.20.0.10", -EADDRINUSE},
		{"outside the subnet", EP2, "blue", NS2, "eth0", 3, "10.21.0.5", -EDOM},
		{"the gateway", EP2, "blue", NS2, "eth0", 3, "10.20.0.1", -EADDRNOTAVAIL},
		{"interface taken", EP2, "blue", NS1, "eth0", 3, NULL, -EEXIST},
		{"MAC taken", EP2, "blue", NS2, "eth0", 2, NULL, -EADDRINUSE},
		{"unknown network", EP2, "nope", NS2, "eth0", 3, NULL, -ENOENT},
		{"netns gone", EP2, "blue", "/run/netns/gone", "eth0", 3, NULL, -EINVAL},
	};

	blue();
	ep_create(EP1, NS1, 2, "10.20.0.10");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ep_refusal *t = &cases[i];
		struct drv_ep_rec e = ep_rec(t->id, t->net, t->netns, t->ifname, t->mac);
		struct snap before = snap_take();
		char why[256] = "";

		if (t->want)
			e.ip = ip4(t->want);
		cr_expect_eq(drv_core_ep_create(w.f.c, &e, t->want != NULL, why, sizeof(why)),
			     t->err, "%s: %s", t->what, why);
		cr_expect(why[0], "%s: a reason", t->what);
		snap_same(&before, t->what);
		cr_expect_not(ep_row(EP2), "%s", t->what);
		cr_expect_null(drv_core_ep_find(w.f.c, EP2), "%s", t->what);
	}
}

Test(core, endpoint_id_taken_is_eexist_and_changes_nothing)
{
	struct drv_ep_rec e = ep_rec(EP1, "blue", NS2, "eth1", 3);
	struct snap before;
	char why[256] = "";

	blue();
	ep_create(EP1, NS1, 2, NULL);
	before = snap_take();
	cr_expect_eq(drv_core_ep_create(w.f.c, &e, 0, why, sizeof(why)), -EEXIST, "%s", why);
	snap_same(&before, "id taken");
	cr_expect_null(fk_peer(&w.f.k, NS2, "eth1"));
}

Test(core, endpoint_the_kernel_refuses_gives_its_address_back)
{
	struct drv_ep_rec e = ep_rec(EP1, "blue", NS1, "eth0", 2);
	struct snap before;
	char why[256] = "";

	blue();
	e.ip = ip4("10.20.0.9");
	before = snap_take();
	w.f.k.fail[FK_EP_ADD] = -ENOBUFS;
	cr_assert_eq(drv_core_ep_create(w.f.c, &e, 1, why, sizeof(why)), -EIO, "%s", why);
	snap_same(&before, "kernel refused");
	cr_assert_not(ep_row(EP1));
	cr_assert_eq(lease_rows("blue"), 0);
	cr_assert_null(fk_peer(&w.f.k, NS1, "eth0"));
	cr_assert_eq(w.seen.ep_added, 0);
	cr_assert_eq(lease("blue", "10.20.0.9", "docker", NULL), 0, "the address is free again");
	cr_assert_eq(drv_core_lease_release(w.f.c, "blue", ip4("10.20.0.9")), 0);
	w.f.k.fail[FK_EP_ADD] = 0;
	cr_assert_eq(ep_create(EP1, NS1, 2, "10.20.0.9").s_addr, ip4("10.20.0.9").s_addr);
}

Test(core, docker_endpoint_is_added_without_a_lease_row)
{
	struct drv_ep_rec e = ep_rec(EP1, "blue", "", "vxd0", 2);
	char why[256] = "";

	blue();
	cr_assert_eq(lease("blue", NULL, "docker", &e.ip), 0);
	cr_assert_eq(drv_core_ep_add(w.f.c, &e, why, sizeof(why)), 0, "%s", why);
	cr_assert(ep_row(EP1));
	cr_assert_eq(lease_rows("blue"), 1, "only Docker's own");
	cr_assert_not_null(fk_peer(&w.f.k, "", "vxd0"), "the peer waits for Docker");
	cr_assert_eq(w.seen.ep_added, 1);
	e = ep_rec(EP2, "nope", "", "vxd1", 3);
	cr_assert_eq(drv_core_ep_add(w.f.c, &e, why, sizeof(why)), -ENOENT);
	cr_assert_eq(drv_core_ep_remove(w.f.c, EP1, 0), 0);
	cr_assert_not(ep_row(EP1));
	cr_assert_eq(lease_rows("blue"), 1, "Docker releases its address itself");
	cr_assert_null(fk_peer(&w.f.k, "", "vxd0"));
}

Test(core, endpoint_removal_releases_the_lease_only_when_asked)
{
	struct in_addr a1, a2;
	char owner[64];
	struct snap before;

	blue();
	a1 = ep_create(EP1, NS1, 2, NULL);
	a2 = ep_create(EP2, NS2, 3, NULL);
	before = snap_take();
	cr_assert_eq(drv_core_ep_remove(w.f.c, "ffffffffffff", 1), -ENOENT);
	snap_same(&before, "unknown id");

	cr_assert_eq(drv_core_ep_remove(w.f.c, EP1, 1), 0);
	cr_assert_not(ep_row(EP1));
	cr_assert_eq(drv_core_lease_owner(w.f.c, "blue", a1, owner, sizeof(owner)), -ENOENT);
	cr_assert_null(fk_peer(&w.f.k, NS1, "eth0"));
	cr_assert_null(drv_core_ep_find(w.f.c, EP1));
	cr_assert_eq(w.seen.ep_removed, 1);
	cr_assert_str_eq(w.seen.ep, EP1);
	cr_assert_eq(lease("blue", inet_ntoa(a1), "docker", NULL), 0, "released");

	cr_assert_eq(drv_core_ep_remove(w.f.c, EP2, 0), 0);
	cr_assert_not(ep_row(EP2));
	cr_assert_null(fk_peer(&w.f.k, NS2, "eth0"));
	cr_assert_eq(drv_core_lease_owner(w.f.c, "blue", a2, owner, sizeof(owner)), 0, "kept");
	cr_assert_str_eq(owner, "ep:" EP2);
	cr_assert_eq(lease("blue", inet_ntoa(a2), "docker", NULL), -EADDRINUSE, "still leased");
	cr_assert_eq(w.seen.ep_removed, 2);
}

/* ---- leases ---- */

Test(core, leases_have_an_owner_until_released)
{
	struct in_addr a;
	char owner[64];

	blue();
	cr_assert_eq(lease("nope", NULL, "docker", &a), -ENOENT);
	cr_assert_eq(lease("blue", NULL, "docker", &a), 0);
	cr_assert_eq(drv_core_lease_owner(w.f.c, "blue", a, owner, sizeof(owner)), 0);
	cr_assert_str_eq(owner, "docker");
	cr_assert_eq(lease("blue", inet_ntoa(a), "other", NULL), -EADDRINUSE);
	cr_assert_eq(lease("blue", "10.20.0.200", "docker", NULL), 0);
	cr_assert_eq(lease_rows("blue"), 2);
	cr_assert_eq(drv_core_lease_owner(w.f.c, "blue", ip4("10.20.0.201"), owner, sizeof(owner)),
		     -ENOENT);
	cr_assert_eq(drv_core_lease_owner(w.f.c, "nope", a, owner, sizeof(owner)), -ENOENT);
	cr_assert_eq(drv_core_lease_release(w.f.c, "blue", a), 0);
	cr_assert_eq(drv_core_lease_owner(w.f.c, "blue", a, owner, sizeof(owner)), -ENOENT);
	cr_assert_eq(drv_core_lease_release(w.f.c, "blue", a), -ENOENT);
	cr_assert_eq(lease_rows("blue"), 1);
	cr_assert_eq(lease("blue", inet_ntoa(a), "docker", NULL), 0, "free again");
}

Test(core, reserved_addresses_are_never_leased)
{
	blue();
	cr_assert_eq(drv_core_reserve(w.f.c, "nope", ip4("10.20.0.5")), -ENOENT);
	cr_assert_eq(drv_core_reserve(w.f.c, "blue", ip4("10.20.0.5")), 0);
	cr_assert_eq(lease("blue", "10.20.0.5", "docker", NULL), -EADDRNOTAVAIL);
	cr_assert_eq(lease_rows("blue"), 0);
	cr_assert_eq(drv_core_reserve(w.f.c, "blue", ip4("10.21.0.5")), -EDOM);
}

/* ---- remote endpoints ---- */

static const uint8_t *mac_of(uint8_t last)
{
	static uint8_t m[6];

	memcpy(m, (uint8_t[6]){0x02, 0x00, 0x00, 0x00, 0x00, last}, 6);
	return m;
}

static struct drv_remote remote(const char *ip, uint8_t mac, const char *vtep, int live)
{
	struct drv_remote r = {.live = live};

	snprintf(r.net, sizeof(r.net), "blue");
	r.ip = ip4(ip);
	memcpy(r.mac, mac_of(mac), 6);
	r.vtep = ip4(vtep);
	return r;
}

static int vxix(void)
{
	struct vx_link *l = fk_link(&w.f.k, "vxmv100");

	cr_assert_not_null(l);
	return l->ifindex;
}

static struct drv_core_stats stats(void)
{
	struct drv_core_stats s;

	drv_core_stats(w.f.c, &s);
	return s;
}

Test(core, live_remotes_are_installed_replaced_withdrawn_and_freed)
{
	struct drv_remote r[2] = {remote("10.20.0.50", 0x51, "198.51.100.2", 1),
				  remote("10.20.0.60", 0x61, "198.51.100.3", 1)};
	struct drv_remote gone = remote("10.20.0.70", 0x71, "198.51.100.4", 1);
	struct vx_fdb *f;
	struct vx_neigh *nb;

	snprintf(gone.net, sizeof(gone.net), "nope"); /* unknown network: ignored */
	blue();
	cr_assert_eq(drv_core_remotes_set(w.f.c, r, 2), 0);
	f = fk_fdb(&w.f.k, vxix(), mac_of(0x51));
	cr_assert_not_null(f);
	cr_assert_eq(f->dst.s_addr, ip4("198.51.100.2").s_addr);
	nb = fk_neigh(&w.f.k, vxix(), ip4("10.20.0.50"));
	cr_assert_not_null(nb);
	cr_assert_eq(nb->mac[5], 0x51);
	cr_assert_eq(stats().remotes, 2);
	cr_assert_eq(lease("blue", "10.20.0.50", "docker", NULL), -EADDRINUSE, "held");

	/* Replaced: its host moved. */
	r[0].vtep = ip4("198.51.100.9");
	cr_assert_eq(drv_core_remotes_set(w.f.c, r, 2), 0);
	cr_assert_eq(fk_fdb(&w.f.k, vxix(), mac_of(0x51))->dst.s_addr, ip4("198.51.100.9").s_addr);
	cr_assert_eq(stats().remotes, 2);

	/* Withdrawn: its host is dead; the address stays held. */
	r[0].live = 0;
	cr_assert_eq(drv_core_remotes_set(w.f.c, r, 2), 0);
	cr_assert_null(fk_fdb(&w.f.k, vxix(), mac_of(0x51)));
	cr_assert_null(fk_neigh(&w.f.k, vxix(), ip4("10.20.0.50")));
	cr_assert_not_null(fk_fdb(&w.f.k, vxix(), mac_of(0x61)));
	cr_assert_eq(stats().remotes, 1);
	cr_assert_eq(lease("blue", "10.20.0.50", "docker", NULL), -EADDRINUSE, "still held");

	/* Gone from the set: the address is free. */
	r[0] = gone;
	cr_assert_eq(drv_core_remotes_set(w.f.c, r, 2), 0);
	cr_assert_eq(stats().remotes, 1);
	cr_assert_eq(lease("blue", "10.20.0.50", "docker", NULL), 0, "free again");
	cr_assert_eq(lease("blue", "10.20.0.60", "docker", NULL), -EADDRINUSE);
	cr_assert_eq(drv_core_remotes_set(w.f.c, NULL, 0), 0);
	cr_assert_null(fk_fdb(&w.f.k, vxix(), mac_of(0x61)));
	cr_assert_eq(stats().remotes, 0);
	cr_assert_eq(stats().addr_conflicts, 0);
}

Test(core, remote_the_kernel_refuses_is_held_and_tried_again_on_the_next_set)
{
	struct drv_remote r = remote("10.20.0.50", 0x51, "198.51.100.2", 1);

	blue();
	w.f.k.fail[FK_FDB_REPLACE] = -ENOBUFS;
	cr_assert_eq(drv_core_remotes_set(w.f.c, &r, 1), 0);
	cr_assert_null(fk_fdb(&w.f.k, vxix(), mac_of(0x51)));
	cr_assert_eq(stats().remotes, 0, "not counted as installed");
	cr_assert_eq(lease("blue", "10.20.0.50", "docker", NULL), -EADDRINUSE, "held all the same");
	w.f.k.fail[FK_FDB_REPLACE] = 0;
	cr_assert_eq(drv_core_remotes_set(w.f.c, &r, 1), 0);
	cr_assert_not_null(fk_fdb(&w.f.k, vxix(), mac_of(0x51)));
	cr_assert_not_null(fk_neigh(&w.f.k, vxix(), ip4("10.20.0.50")));
	cr_assert_eq(stats().remotes, 1);
}

Test(core, remote_with_a_locally_leased_address_is_a_conflict_that_frees_nothing)
{
	struct drv_remote r = remote("10.20.0.60", 0x61, "198.51.100.3", 1);
	char owner[64];

	blue();
	cr_assert_eq(lease("blue", "10.20.0.60", "docker", NULL), 0);
	cr_assert_eq(drv_core_remotes_set(w.f.c, &r, 1), 0);
	cr_assert_eq(stats().addr_conflicts, 1);
	cr_assert_not_null(fk_fdb(&w.f.k, vxix(), mac_of(0x61)), "installed all the same");
	cr_assert_eq(drv_core_remotes_set(w.f.c, NULL, 0), 0);
	cr_assert_eq(drv_core_lease_owner(w.f.c, "blue", ip4("10.20.0.60"), owner, sizeof(owner)),
		     0);
	cr_assert_str_eq(owner, "docker");
	cr_assert_eq(lease("blue", "10.20.0.60", "other", NULL), -EADDRINUSE, "still leased here");
}

Test(core, remotes_of_a_network_added_again_are_installed_again)
{
	struct drv_remote r = remote("10.20.0.50", 0x51, "198.51.100.2", 1);
	struct drv_net_rec rec = net_rec("blue", 100, "10.20.0.0/24", "10.20.0.1");
	char why[256] = "";

	cr_assert_eq(drv_core_net_add(w.f.c, &rec, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(drv_core_remotes_set(w.f.c, &r, 1), 0);
	cr_assert_not_null(fk_fdb(&w.f.k, vxix(), mac_of(0x51)));
	/* Redefined elsewhere: removed here, then added back. */
	cr_assert_eq(drv_core_net_remove(w.f.c, "blue"), 0);
	cr_assert_eq(drv_core_net_add(w.f.c, &rec, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(drv_core_remotes_set(w.f.c, &r, 1), 0);
	cr_expect_not_null(fk_fdb(&w.f.k, vxix(), mac_of(0x51)), "installed in the new network");
	drv_core_reconcile(w.f.c);
	cr_expect_not_null(fk_fdb(&w.f.k, vxix(), mac_of(0x51)), "and the reconciler keeps it");
	cr_expect_eq(lease("blue", "10.20.0.50", "docker", NULL), -EADDRINUSE, "held again");
}

/* ---- restart ---- */

/* blue with two endpoints, red (from outside) and a Docker lease. */
static void restart_world(struct in_addr *a1, struct in_addr *a2, struct in_addr *d)
{
	struct drv_net_rec red = net_rec("red", 300, "10.30.0.0/24", NULL);
	char why[256] = "";

	blue();
	cr_assert_eq(drv_core_net_add(w.f.c, &red, why, sizeof(why)), 0, "%s", why);
	*a1 = ep_create(EP1, NS1, 2, NULL);
	*a2 = ep_create(EP2, NS2, 3, NULL);
	cr_assert_eq(lease("red", NULL, "docker", d), 0);
}

static void restart(void)
{
	agent_stop();
	agent_start();
	fk_calls_reset(&w.f.k);
	memset(&w.seen, 0, sizeof(w.seen));
	cr_assert_eq(drv_core_load(w.f.c), 0);
}

Test(core, restart_loads_networks_endpoints_and_leases_and_adopts_the_kernel)
{
	struct in_addr a1, a2, d;
	size_t links, nn, ne;
	const struct drv_net *nets;
	const struct drv_ep *eps;
	const struct drv_net *b;
	char owner[64];

	restart_world(&a1, &a2, &d);
	links = w.f.k.nlinks;
	restart();
	cr_assert_eq(fk_mutations(&w.f.k), 0, "adopted untouched");
	cr_assert_eq(w.f.k.nlinks, links);
	nets = drv_core_nets(w.f.c, &nn);
	cr_assert_eq(nn, 2);
	for (size_t i = 0; i < nn; i++)
		cr_assert(nets[i].in_dp, "%s in place", nets[i].rec.name);
	b = drv_core_net_find(w.f.c, "blue");
	cr_assert_not_null(b);
	cr_assert_eq(b->rec.vni, 100);
	cr_assert_eq(b->mtu, 1500 - VX_OVERHEAD);
	cr_assert_eq(drv_core_net_find(w.f.c, "red")->rec.vni, 300);
	eps = drv_core_eps(w.f.c, &ne);
	cr_assert_eq(ne, 2);
	for (size_t i = 0; i < ne; i++) {
		cr_assert(eps[i].in_dp, "%s in place", eps[i].rec.id);
		cr_assert_eq(eps[i].status, 0);
	}
	cr_assert_eq(drv_core_ep_find(w.f.c, EP1)->rec.ip.s_addr, a1.s_addr);
	cr_assert_eq(drv_core_ep_find(w.f.c, EP2)->rec.ip.s_addr, a2.s_addr);
	cr_assert_eq(lease("blue", inet_ntoa(a1), "docker", NULL), -EADDRINUSE);
	cr_assert_eq(lease("blue", inet_ntoa(a2), "docker", NULL), -EADDRINUSE);
	cr_assert_eq(lease("red", inet_ntoa(d), "other", NULL), -EADDRINUSE);
	cr_assert_eq(drv_core_lease_owner(w.f.c, "red", d, owner, sizeof(owner)), 0);
	cr_assert_str_eq(owner, "docker");
	cr_assert_eq(w.seen.net_added + w.seen.ep_added, 0, "loading announces nothing");
	drv_core_reconcile(w.f.c);
	cr_assert_eq(stats().last_reconcile, 0);
	cr_assert_eq(fk_mutations(&w.f.k), 0, "the reconciler finds nothing to do");
	/* The loaded tables work as before. */
	cr_assert_eq(drv_core_ep_remove(w.f.c, EP1, 1), 0);
	cr_assert_eq(lease("blue", inet_ntoa(a1), "docker", NULL), 0);
}

Test(core, endpoint_whose_netns_vanished_stays_with_status_enoent)
{
	struct in_addr a1, a2, d;
	const struct drv_ep *e;

	restart_world(&a1, &a2, &d);
	fk_netns_del(&w.f.k, NS2);
	restart();
	e = drv_core_ep_find(w.f.c, EP2);
	cr_assert_not_null(e);
	cr_assert_eq(e->status, -ENOENT);
	drv_core_reconcile(w.f.c);
	e = drv_core_ep_find(w.f.c, EP2);
	cr_assert_not_null(e, "it stays");
	cr_assert_eq(e->status, -ENOENT);
	cr_assert(e->err[0]);
	cr_assert(ep_row(EP2));
	cr_assert_eq(drv_core_ep_find(w.f.c, EP1)->status, 0);
	cr_assert_eq(lease("blue", inet_ntoa(a2), "docker", NULL), -EADDRINUSE, "still leased");
	/* The namespace comes back: the next reconcile puts the endpoint in. */
	fk_netns_add(&w.f.k, NS2);
	drv_core_reconcile(w.f.c);
	e = drv_core_ep_find(w.f.c, EP2);
	cr_assert_eq(e->status, 0);
	cr_assert(e->in_dp);
	cr_assert_not_null(fk_peer(&w.f.k, NS2, "eth0"));
}

Test(core, network_the_kernel_refuses_at_start_is_put_in_by_a_later_reconcile)
{
	struct in_addr a1, a2, d;
	const struct drv_net *n;
	const struct drv_ep *e;

	restart_world(&a1, &a2, &d);
	/* A reboot: the kernel forgot everything, then refuses bridges. */
	fk_init(&w.f.k);
	fk_netns_add(&w.f.k, NS1);
	fk_netns_add(&w.f.k, NS2);
	w.f.k.fail[FK_BRIDGE_ADD] = -ENOBUFS;
	restart();
	n = drv_core_net_find(w.f.c, "blue");
	cr_assert_not_null(n, "kept from the state database");
	cr_assert_not(n->in_dp);
	cr_assert(n->err[0]);
	e = drv_core_ep_find(w.f.c, EP1);
	cr_assert_not_null(e);
	cr_assert_eq(e->status, -ENETDOWN);
	cr_assert_not(e->in_dp, "not in the datapath");
	cr_assert(ep_row(EP1));
	cr_assert(net_row("blue"));
	w.f.k.fail[FK_BRIDGE_ADD] = 0;
	drv_core_reconcile(w.f.c);
	cr_assert(drv_core_net_find(w.f.c, "blue")->in_dp);
	cr_assert(drv_core_net_find(w.f.c, "red")->in_dp);
	e = drv_core_ep_find(w.f.c, EP1);
	cr_assert(e->in_dp);
	cr_assert_eq(e->status, 0, "status %d", e->status);
	cr_assert_eq(fk_peer(&w.f.k, NS1, "eth0")->ip.s_addr, a1.s_addr);
	cr_assert_eq(fk_peer(&w.f.k, NS2, "eth0")->ip.s_addr, a2.s_addr);
}

Test(core, netns_that_vanishes_while_running_shows_in_the_status)
{
	blue();
	ep_create(EP1, NS1, 2, NULL);
	fk_netns_del(&w.f.k, NS1);
	drv_core_reconcile(w.f.c);
	cr_assert_eq(drv_core_ep_find(w.f.c, EP1)->status, -ENOENT);
	cr_assert(ep_row(EP1));
}

/* ---- stats ---- */

Test(core, stats_count_successful_attaches_and_detaches)
{
	struct drv_ep_rec bad = ep_rec(EP3, "blue", NS1, "eth0", 9);
	char why[256];

	blue();
	ep_create(EP1, NS1, 2, NULL);
	ep_create(EP2, NS2, 3, NULL);
	cr_assert_eq(drv_core_ep_create(w.f.c, &bad, 0, why, sizeof(why)), -EEXIST);
	cr_assert_eq(drv_core_ep_remove(w.f.c, EP1, 1), 0);
	cr_assert_eq(drv_core_ep_remove(w.f.c, EP1, 1), -ENOENT);
	cr_assert_eq(stats().ep_attached, 2);
	cr_assert_eq(stats().ep_detached, 1);
	cr_assert_eq(stats().remotes, 0);
	cr_assert_eq(drv_core_vtep(w.f.c).s_addr, ip4(VTEP).s_addr);
	cr_assert_str_eq(drv_core_node(w.f.c)->id, SELF);
}
