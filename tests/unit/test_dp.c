// SPDX-License-Identifier: MIT
/*
 * Unit tests for vxlan/dp.c, the datapath reconciler, against the fake kernel
 * in fake_kernel.h: creation, adoption without mutations, drift repair,
 * ownership (foreign objects untouched), failure unwinding, FDB report.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "tests/unit/fake_kernel.h"
#include "vxlan/vxlan.h"

#define NS1 "/run/netns/c1"
#define EP1 "0123456789ab"

static struct fk K;
static struct vx_dp *dp;

static void setup(void)
{
	log_set_level(LOG_LVL_ERROR);
	fk_init(&K);
	fk_netns_add(&K, NS1);
	cr_assert_eq(vx_dp_create(&dp, fk_ops(), &K), 0);
}

static void teardown(void)
{
	vx_dp_destroy(dp);
	dp = NULL;
}

TestSuite(dp, .init = setup, .fini = teardown);

/* A fresh agent on the same kernel. */
static void restart(void)
{
	vx_dp_destroy(dp);
	cr_assert_eq(vx_dp_create(&dp, fk_ops(), &K), 0);
}

static struct in_addr ip4(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1, "bad test address %s", s);
	return a;
}

static struct vx_net_spec net_spec(const char *name, uint32_t vni)
{
	struct vx_net_spec n;

	memset(&n, 0, sizeof(n));
	snprintf(n.name, sizeof(n.name), "%s", name);
	n.vni = vni;
	n.port = VX_PORT_DEFAULT;
	n.local = ip4("192.0.2.1");
	n.underlay = 2;
	n.mtu = 1450;
	return n;
}

static struct vx_ep_spec ep_spec(const char *id, uint32_t vni, const char *netns, uint8_t host)
{
	struct vx_ep_spec e;
	char ip[32];

	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "%s", id);
	e.vni = vni;
	snprintf(e.netns, sizeof(e.netns), "%s", netns);
	snprintf(e.ifname, sizeof(e.ifname), "eth0");
	snprintf(ip, sizeof(ip), "10.10.0.%u", host);
	e.ip = ip4(ip);
	e.plen = 24;
	e.gw = ip4("10.10.0.1");
	memcpy(e.mac, (uint8_t[6]){0x02, 0x42, 0x0a, 0x0a, 0x00, host}, 6);
	e.mtu = 1450;
	return e;
}

static struct vx_remote remote(uint32_t vni, uint8_t last, const char *ip, const char *vtep)
{
	struct vx_remote r;

	memset(&r, 0, sizeof(r));
	r.vni = vni;
	memcpy(r.mac, (uint8_t[6]){0x02, 0x00, 0x00, 0x00, 0x00, last}, 6);
	if (ip)
		r.ip = ip4(ip);
	r.vtep = ip4(vtep);
	return r;
}

static void put_net(const char *name, uint32_t vni)
{
	struct vx_net_spec n = net_spec(name, vni);
	char msg[256];

	cr_assert_eq(vx_dp_net_put(dp, &n, msg, sizeof(msg)), 0, "net put: %s", msg);
}

static void put_ep(const struct vx_ep_spec *e)
{
	char msg[256];

	cr_assert_eq(vx_dp_ep_put(dp, e, msg, sizeof(msg)), 0, "ep put: %s", msg);
}

static void put_remote(const struct vx_remote *r)
{
	cr_assert_eq(vx_dp_remote_put(dp, r), 0);
}

/* Network blue (vni 100), one local endpoint, a remote with an address and
 * one without. */
static void world(void)
{
	struct vx_ep_spec e = ep_spec(EP1, 100, NS1, 2);
	struct vx_remote r1 = remote(100, 0x11, "10.10.0.9", "198.51.100.2");
	struct vx_remote r2 = remote(100, 0x12, NULL, "198.51.100.3");

	put_net("blue", 100);
	put_ep(&e);
	put_remote(&r1);
	put_remote(&r2);
}

static int vxix(void)
{
	struct vx_link *l = fk_link(&K, "vxmv100");

	cr_assert_not_null(l);
	return l->ifindex;
}

static int brix(void)
{
	struct vx_link *l = fk_link(&K, "vxmb100");

	cr_assert_not_null(l);
	return l->ifindex;
}

static const uint8_t *mac_of(uint8_t last)
{
	static uint8_t mac[6];

	memcpy(mac, (uint8_t[6]){0x02, 0x00, 0x00, 0x00, 0x00, last}, 6);
	return mac;
}

/* The world's kernel state, as world() must leave it. */
static void assert_world(void)
{
	struct vx_link *br = fk_link(&K, "vxmb100"), *vx = fk_link(&K, "vxmv100");
	struct vx_link *veth = fk_link(&K, "vxm" EP1);
	struct vx_fdb *f1, *f2;
	struct vx_neigh *nb;

	cr_assert_not_null(br);
	cr_assert_not_null(vx);
	cr_assert_not_null(veth);
	cr_assert_eq(br->kind, VX_KIND_BRIDGE);
	cr_assert_str_eq(br->alias, "vxmesh:net=blue");
	cr_assert(br->up);
	cr_assert_eq(br->mtu, 1450);
	cr_assert_eq(vx->kind, VX_KIND_VXLAN);
	cr_assert_str_eq(vx->alias, "vxmesh:net=blue");
	cr_assert_eq(vx->vni, 100);
	cr_assert_eq(vx->port, VX_PORT_DEFAULT);
	cr_assert_eq(vx->local.s_addr, ip4("192.0.2.1").s_addr);
	cr_assert_eq(vx->underlay, 2);
	cr_assert_eq(vx->learning, 0);
	cr_assert_eq(vx->proxy, 1);
	cr_assert_eq(vx->master, br->ifindex);
	cr_assert(vx->up);
	cr_assert_eq(vx->mtu, 1450);
	cr_assert_eq(veth->kind, VX_KIND_VETH);
	cr_assert_str_eq(veth->alias, "vxmesh:ep=" EP1);
	cr_assert_eq(veth->master, br->ifindex);
	cr_assert(veth->up);
	cr_assert_not_null(fk_peer(&K, NS1, "eth0"));

	cr_assert_eq(K.nfdb, 2);
	f1 = fk_fdb(&K, vx->ifindex, mac_of(0x11));
	f2 = fk_fdb(&K, vx->ifindex, mac_of(0x12));
	cr_assert_not_null(f1);
	cr_assert_not_null(f2);
	cr_assert_eq(f1->dst.s_addr, ip4("198.51.100.2").s_addr);
	cr_assert_eq(f2->dst.s_addr, ip4("198.51.100.3").s_addr);
	cr_assert_eq(f1->port, VX_PORT_DEFAULT);
	cr_assert_eq(f1->state, NUD_PERMANENT);
	cr_assert_eq(f1->flags, NTF_SELF | NTF_EXT_LEARNED);
	cr_assert_eq(K.nneigh, 1);
	nb = fk_neigh(&K, vx->ifindex, ip4("10.10.0.9"));
	cr_assert_not_null(nb);
	cr_assert_eq(memcmp(nb->mac, mac_of(0x11), 6), 0);
	cr_assert_eq(nb->state, NUD_PERMANENT);
	cr_assert_eq(nb->proto, VX_RTPROT);
}

static struct vx_dp_stats stats(void)
{
	struct vx_dp_stats st;

	vx_dp_stats_get(dp, &st);
	return st;
}

/* ---- names and strings ---- */

Test(dp, names)
{
	struct vx_net_spec n = net_spec("blue", VX_VNI_MAX);
	struct vx_ep_spec e = ep_spec(EP1, 1, "", 2);

	vx_net_names(&n);
	cr_assert_str_eq(n.brname, "vxmb16777215");
	cr_assert_str_eq(n.vxname, "vxmv16777215");
	vx_ep_names(&e);
	cr_assert_str_eq(e.host_ifname, "vxm0123456789ab");
	cr_assert_str_eq(vx_why_str(VX_WHY_REMOTE), "remote endpoint");
	cr_assert_str_eq(vx_why_str(VX_WHY_MISSING), "missing (will be installed)");
	cr_assert_str_eq(vx_why_str(VX_WHY_STALE), "stale (will be removed)");
	cr_assert_str_eq(vx_why_str(VX_WHY_FOREIGN), "not ours (left alone)");
}

/* ---- creation and adoption ---- */

Test(dp, create_on_empty_kernel)
{
	struct vx_dp_stats st;

	world();
	assert_world();
	cr_assert_eq(vx_dp_ep_status(dp, EP1), 0);
	cr_assert_eq(vx_dp_ep_status(dp, "ffffffffffff"), -ESRCH);
	st = stats();
	cr_assert_eq(st.created, 6, "3 links + 2 fdb + 1 neigh, got %llu", st.created);
	cr_assert_eq(st.errors, 0);
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	assert_world();
}

Test(dp, second_reconcile_changes_nothing)
{
	world();
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	fk_calls_reset(&K);
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_eq(fk_mutations(&K), 0);
	cr_assert_eq(K.calls[FK_LINK_DUMP], 1, "one link dump per pass");
	cr_assert_eq(stats().runs, 2);
	assert_world();
}

Test(dp, restart_adopts_without_mutations)
{
	struct vx_ep_spec e = ep_spec(EP1, 100, NS1, 2);
	struct vx_remote r1 = remote(100, 0x11, "10.10.0.9", "198.51.100.2");
	struct vx_remote r2 = remote(100, 0x12, NULL, "198.51.100.3");

	struct vx_fdb stale = {.mac = {0x02, 0, 0, 0, 0, 0x99},
			       .dst = ip4("198.51.100.9"),
			       .state = NUD_PERMANENT,
			       .flags = NTF_SELF | NTF_EXT_LEARNED};
	struct vx_neigh nstale = {.ip = ip4("10.10.0.99"),
				  .mac = {0x02, 0, 0, 0, 0, 0x99},
				  .state = NUD_PERMANENT,
				  .proto = VX_RTPROT};

	world();
	restart();
	/* Entries of remotes gossip has not re-announced yet. */
	stale.ifindex = nstale.ifindex = vxix();
	K.fdb[K.nfdb++] = stale;
	K.neigh[K.nneigh++] = nstale;
	fk_calls_reset(&K);
	/* Remotes learnt before the network is restored touch nothing. */
	put_remote(&r1);
	put_remote(&r2);
	cr_assert_eq(fk_mutations(&K), 0);
	put_net("blue", 100);
	put_ep(&e);
	cr_assert_eq(fk_mutations(&K), 0, "adopting must not change the kernel");
	cr_assert_not_null(fk_fdb(&K, vxix(), stale.mac), "net put does not prune");
	cr_assert_not_null(fk_neigh(&K, vxix(), nstale.ip));
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_eq(K.calls[FK_FDB_DEL] + K.calls[FK_NEIGH_DEL], 2, "reconcile prunes");
	cr_assert_eq(fk_mutations(&K), 2);
	cr_assert_eq(vx_dp_ep_status(dp, EP1), 0);
	cr_assert_eq(stats().created + stats().repaired, 0);
	cr_assert_eq(stats().removed, 2);
	assert_world();
}

Test(dp, remote_before_network_installed_on_net_put)
{
	struct vx_remote r = remote(100, 0x11, "10.10.0.9", "198.51.100.2");

	put_remote(&r);
	cr_assert_eq(fk_mutations(&K), 0);
	cr_assert_eq(K.nfdb, 0);
	put_net("blue", 100);
	cr_assert_not_null(fk_fdb(&K, vxix(), r.mac));
	cr_assert_not_null(fk_neigh(&K, vxix(), r.ip));
}

Test(dp, kernel_default_port_is_left_out_of_dump)
{
	size_t i;

	world();
	/* The kernel omits NDA_PORT when it equals the device's port. */
	for (i = 0; i < K.nfdb; i++)
		K.fdb[i].port = 0;
	fk_calls_reset(&K);
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_eq(fk_mutations(&K), 0);
}

/* ---- FDB and neighbour repair ---- */

Test(dp, flushed_fdb_reinstalled)
{
	unsigned long long created;

	world();
	created = stats().created;
	K.nfdb = 0;
	K.nneigh = 0;
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	assert_world();
	cr_assert_eq(stats().created - created, 3);
}

Test(dp, stale_removed_foreign_left_drift_replaced)
{
	struct vx_fdb stale = {.mac = {0x02, 0, 0, 0, 0, 0x99},
			       .dst = ip4("198.51.100.9"),
			       .state = NUD_PERMANENT,
			       .flags = NTF_SELF | NTF_EXT_LEARNED};
	struct vx_fdb foreign = {.mac = {0x02, 0, 0, 0, 0, 0x98},
				 .dst = ip4("198.51.100.8"),
				 .state = NUD_PERMANENT,
				 .flags = NTF_SELF};
	struct vx_fdb learned = {.mac = {0x02, 0, 0, 0, 0, 0x97},
				 .dst = ip4("198.51.100.7"),
				 .state = NUD_REACHABLE,
				 .flags = NTF_SELF | NTF_EXT_LEARNED};
	struct vx_fdb flood = {
		.dst = ip4("198.51.100.6"), .state = NUD_PERMANENT, .flags = NTF_SELF};
	struct vx_neigh nstale = {.ip = ip4("10.10.0.99"),
				  .mac = {0x02, 0, 0, 0, 0, 0x99},
				  .state = NUD_PERMANENT,
				  .proto = VX_RTPROT};
	struct vx_neigh nforeign = {.ip = ip4("10.10.0.98"),
				    .mac = {0x02, 0, 0, 0, 0, 0x98},
				    .state = NUD_PERMANENT,
				    .proto = 4};
	struct vx_dp_stats before;
	struct vx_fdb *f;

	world();
	stale.ifindex = foreign.ifindex = learned.ifindex = flood.ifindex = vxix();
	nstale.ifindex = nforeign.ifindex = vxix();
	K.fdb[K.nfdb++] = stale;
	K.fdb[K.nfdb++] = foreign;
	K.fdb[K.nfdb++] = learned;
	K.fdb[K.nfdb++] = flood;
	K.neigh[K.nneigh++] = nstale;
	K.neigh[K.nneigh++] = nforeign;
	/* Drift on desired entries: another VTEP, another MAC. */
	fk_fdb(&K, vxix(), mac_of(0x11))->dst = ip4("198.51.100.200");
	memcpy(fk_neigh(&K, vxix(), ip4("10.10.0.9"))->mac, mac_of(0x55), 6);
	before = stats();
	fk_calls_reset(&K);

	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_null(fk_fdb(&K, vxix(), stale.mac));
	cr_assert_null(fk_neigh(&K, vxix(), nstale.ip));
	cr_assert_not_null(fk_fdb(&K, vxix(), foreign.mac));
	cr_assert_not_null(fk_fdb(&K, vxix(), learned.mac), "not permanent: not ours");
	f = fk_fdb(&K, vxix(), flood.mac);
	cr_assert_not_null(f);
	cr_assert_eq(f->dst.s_addr, flood.dst.s_addr);
	cr_assert_not_null(fk_neigh(&K, vxix(), nforeign.ip));
	cr_assert_eq(K.calls[FK_FDB_DEL], 1);
	cr_assert_eq(K.calls[FK_NEIGH_DEL], 1);
	cr_assert_eq(K.calls[FK_FDB_REPLACE], 1, "drift is overwritten, not deleted first");
	cr_assert_eq(K.calls[FK_NEIGH_REPLACE], 1);
	cr_assert_eq(stats().removed - before.removed, 2);
	cr_assert_eq(stats().repaired - before.repaired, 2);
	/* Back to the world plus the untouched foreign entries. */
	cr_assert_eq(K.nfdb, 2 + 3);
	cr_assert_eq(fk_fdb(&K, vxix(), mac_of(0x11))->dst.s_addr, ip4("198.51.100.2").s_addr);
	cr_assert_eq(memcmp(fk_neigh(&K, vxix(), ip4("10.10.0.9"))->mac, mac_of(0x11), 6), 0);
}

Test(dp, remote_update_and_delete)
{
	struct vx_remote r = remote(100, 0x11, "10.10.0.9", "198.51.100.5");
	struct vx_fdb *f;

	world();
	fk_calls_reset(&K);
	put_remote(&r);
	f = fk_fdb(&K, vxix(), r.mac);
	cr_assert_eq(f->dst.s_addr, r.vtep.s_addr);
	cr_assert_eq(K.calls[FK_FDB_DEL], 0);
	/* New address: the old neighbour entry goes. */
	r.ip = ip4("10.10.0.10");
	put_remote(&r);
	cr_assert_null(fk_neigh(&K, vxix(), ip4("10.10.0.9")));
	cr_assert_not_null(fk_neigh(&K, vxix(), r.ip));
	/* Port override. */
	r.port = 4790;
	put_remote(&r);
	cr_assert_eq(fk_fdb(&K, vxix(), r.mac)->port, 4790);

	cr_assert_eq(vx_dp_remote_del(dp, 100, r.mac), 0);
	cr_assert_null(fk_fdb(&K, vxix(), r.mac));
	cr_assert_null(fk_neigh(&K, vxix(), r.ip));
	cr_assert_eq(vx_dp_remote_del(dp, 100, r.mac), -ENOENT);
	/* Already gone from the kernel: still fine. */
	K.nfdb = 0;
	cr_assert_eq(vx_dp_remote_del(dp, 100, mac_of(0x12)), 0);
	fk_calls_reset(&K);
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_eq(fk_mutations(&K), 0);
}

Test(dp, remote_put_invalid)
{
	static const struct {
		const char *what;
		uint32_t vni;
		uint8_t mac0, last;
		const char *vtep;
	} bad[] = {
		{"vni 0", 0, 0x02, 1, "198.51.100.2"},
		{"vni too big", VX_VNI_MAX + 1, 0x02, 1, "198.51.100.2"},
		{"multicast mac", 100, 0x01, 1, "198.51.100.2"},
		{"zero mac", 100, 0x00, 0, "198.51.100.2"},
		{"no vtep", 100, 0x02, 1, "0.0.0.0"},
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vx_remote r = remote(bad[i].vni, bad[i].last, NULL, bad[i].vtep);

		r.mac[0] = bad[i].mac0;
		cr_expect_eq(vx_dp_remote_put(dp, &r), -EINVAL, "%s", bad[i].what);
	}
}

Test(dp, remote_install_failure_forgets_new_remote)
{
	struct vx_remote r = remote(100, 0x21, "10.10.0.21", "198.51.100.2");

	put_net("blue", 100);
	K.fail[FK_NEIGH_REPLACE] = -ENOBUFS;
	cr_assert_eq(vx_dp_remote_put(dp, &r), -ENOBUFS);
	cr_assert_null(fk_fdb(&K, vxix(), r.mac), "partial install undone");
	K.fail[FK_NEIGH_REPLACE] = 0;
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_eq(K.nfdb, 0, "a failed new remote is not desired");
	cr_assert_eq(stats().errors, 1);
}

/* ---- links ---- */

Test(dp, deleted_vxlan_device_recreated)
{
	world();
	fk_link_remove(&K, vxix());
	cr_assert_eq(K.nfdb, 0);
	fk_calls_reset(&K);
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_eq(K.calls[FK_VXLAN_ADD], 1);
	cr_assert_eq(K.calls[FK_BRIDGE_ADD], 0);
	cr_assert_eq(K.calls[FK_EP_ADD], 0);
	assert_world();
}

Test(dp, deleted_bridge_recreated_ports_reattached)
{
	world();
	fk_link_remove(&K, brix());
	fk_calls_reset(&K);
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_eq(K.calls[FK_BRIDGE_ADD], 1);
	cr_assert_eq(K.calls[FK_LINK_FIX], 2, "vxlan device and veth re-enslaved");
	cr_assert_eq(K.calls[FK_VXLAN_ADD] + K.calls[FK_EP_ADD] + K.calls[FK_LINK_DEL], 0);
	assert_world();
}

/* Drift that link_fix repairs in place. */
Test(dp, drift_fixed_in_place)
{
	static const struct {
		const char *ifname;
		enum { MTU, MASTER, DOWN } what;
	} cases[] = {
		{"vxmv100", MTU},  {"vxmv100", MASTER}, {"vxmv100", DOWN},   {"vxmb100", MTU},
		{"vxmb100", DOWN}, {"vxm" EP1, MTU},	{"vxm" EP1, MASTER}, {"vxm" EP1, DOWN},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vx_link *l;
		unsigned long long repaired;

		fk_init(&K);
		fk_netns_add(&K, NS1);
		restart();
		world();
		repaired = stats().repaired;
		l = fk_link(&K, cases[i].ifname);
		cr_assert_not_null(l);
		if (cases[i].what == MTU)
			l->mtu = 1400;
		else if (cases[i].what == MASTER)
			l->master = 0;
		else
			l->up = 0;
		fk_calls_reset(&K);
		cr_assert_eq(vx_dp_reconcile(dp), 0, "case %zu", i);
		cr_assert_eq(K.calls[FK_LINK_FIX], 1, "case %zu", i);
		cr_assert_eq(fk_mutations(&K), 1, "case %zu: only link_fix", i);
		cr_assert_eq(stats().repaired - repaired, 1, "case %zu", i);
		assert_world();
	}
}

/* Drift a vxlan device cannot take in place: delete and recreate. */
Test(dp, immutable_drift_recreates_vxlan_device)
{
	static const struct {
		const char *what;
	} cases[] = {
		{"vni"},
		{"port"},
		{"local"},
		{"underlay"},
		{"learning"},
		{"proxy"},
		{"alias of another network"},
		{"kind"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vx_link *l;

		fk_init(&K);
		fk_netns_add(&K, NS1);
		restart();
		world();
		l = fk_link(&K, "vxmv100");
		switch (i) {
		case 0:
			l->vni = 999;
			break;
		case 1:
			l->port = 8472;
			break;
		case 2:
			l->local = ip4("192.0.2.77");
			break;
		case 3:
			l->underlay = 7;
			break;
		case 4:
			l->learning = 1;
			break;
		case 5:
			l->proxy = 0;
			break;
		case 6:
			snprintf(l->alias, sizeof(l->alias), "vxmesh:net=red");
			break;
		case 7:
			l->kind = VX_KIND_OTHER;
			break;
		}
		fk_calls_reset(&K);
		cr_assert_eq(vx_dp_reconcile(dp), 0, "%s", cases[i].what);
		cr_assert_eq(K.calls[FK_LINK_DEL], 1, "%s", cases[i].what);
		cr_assert_eq(K.calls[FK_VXLAN_ADD], 1, "%s", cases[i].what);
		cr_assert_eq(K.calls[FK_BRIDGE_ADD], 0, "%s", cases[i].what);
		assert_world();
	}
}

Test(dp, net_put_changes_are_applied)
{
	struct vx_net_spec n = net_spec("blue", 100);
	char msg[256];

	world();
	fk_calls_reset(&K);
	n.mtu = 1400;
	cr_assert_eq(vx_dp_net_put(dp, &n, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(K.calls[FK_LINK_FIX], 2, "bridge and vxlan MTU in place");
	cr_assert_eq(fk_link(&K, "vxmv100")->mtu, 1400);
	n.port = 4790;
	fk_calls_reset(&K);
	cr_assert_eq(vx_dp_net_put(dp, &n, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(K.calls[FK_VXLAN_ADD], 1);
	cr_assert_eq(fk_link(&K, "vxmv100")->port, 4790);
	cr_assert_eq(K.nfdb, 2, "entries reinstalled on the new device");
	cr_assert_eq(fk_fdb(&K, vxix(), mac_of(0x11))->port, 4790);
}

Test(dp, net_rename_recreates_links_and_reattaches_endpoints)
{
	struct vx_net_spec n = net_spec("green", 100);
	struct vx_link *veth;
	char msg[256];

	world();
	fk_calls_reset(&K);
	cr_assert_eq(vx_dp_net_put(dp, &n, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(K.calls[FK_BRIDGE_ADD], 1);
	cr_assert_eq(K.calls[FK_VXLAN_ADD], 1);
	cr_assert_str_eq(fk_link(&K, "vxmb100")->alias, "vxmesh:net=green");
	veth = fk_link(&K, "vxm" EP1);
	cr_assert_not_null(veth);
	cr_assert_eq(veth->master, brix(), "endpoint moved to the new bridge at once");
	cr_assert_eq(K.calls[FK_EP_ADD], 0);
	cr_assert_eq(K.nfdb, 2);
	fk_calls_reset(&K);
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_eq(fk_mutations(&K), 0);
}

Test(dp, net_put_invalid)
{
	static const struct {
		const char *what;
		const char *name;
		uint32_t vni;
		uint16_t port;
		unsigned mtu;
	} bad[] = {
		{"vni 0", "blue", 0, 4789, 1450},
		{"vni too big", "blue", VX_VNI_MAX + 1, 4789, 1450},
		{"empty name", "", 100, 4789, 1450},
		{"space in name", "bl ue", 100, 4789, 1450},
		{"port 0", "blue", 100, 0, 1450},
		{"mtu 0", "blue", 100, 4789, 0},
		{"mtu too big", "blue", 100, 4789, 70000},
	};
	char msg[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vx_net_spec n = net_spec(bad[i].name, bad[i].vni);

		n.port = bad[i].port;
		n.mtu = bad[i].mtu;
		cr_expect_eq(vx_dp_net_put(dp, &n, msg, sizeof(msg)), -EINVAL, "%s", bad[i].what);
	}
	cr_assert_eq(fk_mutations(&K), 0);
}

Test(dp, net_name_unique)
{
	struct vx_net_spec n = net_spec("blue", 200);
	char msg[256];

	put_net("blue", 100);
	cr_assert_eq(vx_dp_net_put(dp, &n, msg, sizeof(msg)), -EEXIST);
	cr_assert_not_null(strstr(msg, "blue"), "%s", msg);
	cr_assert_null(fk_link(&K, "vxmb200"));
}

/* ---- ownership ---- */

Test(dp, foreign_name_clash)
{
	static const struct {
		const char *ifname;
		enum vx_kind kind;
		const char *alias;
	} cases[] = {
		{"vxmb100", VX_KIND_BRIDGE, ""},
		{"vxmb100", VX_KIND_BRIDGE, "vxmesh"},
		{"vxmv100", VX_KIND_OTHER, "someone else's"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vx_net_spec n = net_spec("blue", 100);
		struct vx_ep_spec e = ep_spec(EP1, 100, NS1, 2);
		char msg[256], want[128];

		fk_init(&K);
		restart();
		fk_link_add(&K, cases[i].ifname, cases[i].kind, cases[i].alias);
		cr_assert_eq(vx_dp_net_put(dp, &n, msg, sizeof(msg)), -EEXIST, "case %zu", i);
		snprintf(want, sizeof(want), "interface %s exists and is not managed by vxmesh",
			 cases[i].ifname);
		cr_assert_str_eq(msg, want);
		cr_assert_eq(fk_mutations(&K), 0, "case %zu: nothing created", i);
		cr_assert_eq(K.nlinks, 1);
		cr_assert_str_eq(K.links[0].alias, cases[i].alias);
		cr_assert_eq(vx_dp_ep_put(dp, &e, msg, sizeof(msg)), -ENOENT, "not desired");
		cr_assert_eq(vx_dp_reconcile(dp), 0);
		cr_assert_eq(K.nlinks, 1, "reconcile leaves foreign links alone");
	}
}

Test(dp, foreign_clash_in_reconcile_touches_nothing)
{
	struct vx_link *l;

	world();
	fk_link_remove(&K, vxix());
	l = fk_link_add(&K, "vxmv100", VX_KIND_VXLAN, "");
	l->vni = 100;
	fk_calls_reset(&K);
	cr_assert_eq(vx_dp_reconcile(dp), -EEXIST);
	cr_assert_eq(fk_mutations(&K), 0);
	cr_assert_str_eq(fk_link(&K, "vxmv100")->alias, "");
	cr_assert_not_null(fk_link(&K, "vxm" EP1));
	cr_assert_eq(vx_dp_ep_status(dp, EP1), -EEXIST);
}

Test(dp, foreign_veth_name_clash)
{
	struct vx_ep_spec e = ep_spec(EP1, 100, NS1, 2);
	char msg[256];

	put_net("blue", 100);
	fk_link_add(&K, "vxm" EP1, VX_KIND_VETH, "");
	cr_assert_eq(vx_dp_ep_put(dp, &e, msg, sizeof(msg)), -EEXIST);
	cr_assert_str_eq(msg, "interface vxm" EP1 " exists and is not managed by vxmesh");
	cr_assert_eq(vx_dp_ep_status(dp, EP1), -ESRCH);
}

Test(dp, stale_links_removed_foreign_kept)
{
	struct vx_remote r = remote(100, 0x11, "10.10.0.9", "198.51.100.2");

	world();
	fk_link_add(&K, "eth0", VX_KIND_OTHER, "");
	fk_link_add(&K, "vxmfoo", VX_KIND_BRIDGE, "other:thing");
	fk_link_add(&K, "br0", VX_KIND_BRIDGE, "vxmes");
	restart();
	put_remote(&r);
	put_net("blue", 100);
	fk_calls_reset(&K);
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_null(fk_link(&K, "vxm" EP1), "stale endpoint veth removed");
	cr_assert_null(fk_peer(&K, NS1, "eth0"));
	cr_assert_eq(K.calls[FK_LINK_DEL], 1);
	cr_assert_not_null(fk_link(&K, "vxmb100"));
	cr_assert_eq(K.nfdb, 1, "the remote no longer desired is removed");

	restart();
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_null(fk_link(&K, "vxmb100"), "stale network removed");
	cr_assert_null(fk_link(&K, "vxmv100"));
	cr_assert_eq(stats().removed, 2);
	cr_assert_eq(K.nlinks, 3, "foreign links stay");
	cr_assert_not_null(fk_link(&K, "eth0"));
	cr_assert_not_null(fk_link(&K, "vxmfoo"));
	cr_assert_not_null(fk_link(&K, "br0"));
}

/* ---- failures ---- */

Test(dp, vxlan_add_failure_unwinds_new_network)
{
	struct vx_net_spec n = net_spec("blue", 100);
	struct vx_ep_spec e = ep_spec(EP1, 100, NS1, 2);
	char msg[256];

	K.fail[FK_VXLAN_ADD] = -EADDRINUSE;
	snprintf(K.fail_msg, sizeof(K.fail_msg),
		 "A VXLAN device with the specified VNI already exists");
	cr_assert_eq(vx_dp_net_put(dp, &n, msg, sizeof(msg)), -EADDRINUSE);
	cr_assert_not_null(strstr(msg, "vxmv100"), "%s", msg);
	cr_assert_not_null(strstr(msg, "A VXLAN device with the specified VNI already exists"),
			   "%s", msg);
	cr_assert_eq(K.nlinks, 0, "the bridge this call made is gone");
	cr_assert_eq(K.calls[FK_LINK_DEL], 1);
	cr_assert_eq(stats().errors, 1);
	cr_assert_eq(vx_dp_ep_put(dp, &e, msg, sizeof(msg)), -ENOENT, "network not desired");
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_eq(K.nlinks, 0);

	K.fail[FK_VXLAN_ADD] = 0;
	put_net("blue", 100);
	cr_assert_eq(K.nlinks, 2);
}

Test(dp, bridge_add_failure_plain_errmsg)
{
	struct vx_net_spec n = net_spec("blue", 100);
	char msg[256];

	K.fail[FK_BRIDGE_ADD] = -EPERM;
	cr_assert_eq(vx_dp_net_put(dp, &n, msg, sizeof(msg)), -EPERM);
	cr_assert_str_eq(msg, "create bridge vxmb100: Operation not permitted");
	cr_assert_eq(K.nlinks, 0);
}

Test(dp, failed_update_keeps_old_network)
{
	struct vx_net_spec n = net_spec("blue", 100);
	char msg[256];

	world();
	n.port = 4790;
	K.fail[FK_VXLAN_ADD] = -ENOMEM;
	cr_assert_eq(vx_dp_net_put(dp, &n, msg, sizeof(msg)), -ENOMEM);
	K.fail[FK_VXLAN_ADD] = 0;
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	assert_world();
	cr_assert_eq(fk_link(&K, "vxmv100")->port, VX_PORT_DEFAULT,
		     "the old spec is still desired");
}

Test(dp, reconcile_carries_on_and_returns_first_error)
{
	world();
	K.nfdb = 0;
	K.nneigh = 0;
	fk_link(&K, "vxm" EP1)->mtu = 1300;
	K.fail[FK_LINK_FIX] = -EBUSY;
	cr_assert_eq(vx_dp_reconcile(dp), -EBUSY);
	cr_assert_eq(K.nfdb, 2, "entries installed past the failure");
	cr_assert_eq(vx_dp_ep_status(dp, EP1), -EBUSY);
	K.fail[FK_LINK_FIX] = 0;
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_eq(vx_dp_ep_status(dp, EP1), 0);
	assert_world();
}

/* ---- endpoints ---- */

Test(dp, ep_netns_gone)
{
	unsigned long long errors;

	world();
	fk_netns_del(&K, NS1);
	cr_assert_null(fk_link(&K, "vxm" EP1), "the kernel drops the host end too");
	errors = stats().errors;
	cr_assert_eq(vx_dp_reconcile(dp), 0, "a gone netns is a status, not a failure");
	cr_assert_eq(vx_dp_ep_status(dp, EP1), -ENOENT);
	cr_assert_eq(stats().errors, errors);
	fk_netns_add(&K, NS1);
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_eq(vx_dp_ep_status(dp, EP1), 0);
	assert_world();
}

Test(dp, ep_put_netns_missing)
{
	struct vx_ep_spec e = ep_spec(EP1, 100, "/run/netns/nope", 2);
	char msg[256];

	put_net("blue", 100);
	cr_assert_eq(vx_dp_ep_put(dp, &e, msg, sizeof(msg)), -ENOENT);
	cr_assert_str_eq(msg, "network namespace /run/netns/nope does not exist");
	cr_assert_eq(vx_dp_ep_status(dp, EP1), -ESRCH, "a failed new endpoint is forgotten");
	cr_assert_null(fk_link(&K, "vxm" EP1));
}

Test(dp, ep_put_needs_network)
{
	struct vx_ep_spec e = ep_spec(EP1, 100, NS1, 2);
	char msg[256];

	cr_assert_eq(vx_dp_ep_put(dp, &e, msg, sizeof(msg)), -ENOENT);
	cr_assert_eq(fk_mutations(&K), 0);
}

Test(dp, ep_put_invalid)
{
	static const char *bad_ids[] = {"", "xyz", "0123456789abc", "01234567-9ab"};
	struct vx_ep_spec e;
	char msg[256];
	size_t i;

	put_net("blue", 100);
	for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		e = ep_spec(EP1, 100, NS1, 2);
		memset(e.id, 'a', sizeof(e.id));
		if (strlen(bad_ids[i]) < sizeof(e.id))
			snprintf(e.id, sizeof(e.id), "%s", bad_ids[i]);
		cr_expect_eq(vx_dp_ep_put(dp, &e, msg, sizeof(msg)), -EINVAL, "id %s", bad_ids[i]);
	}
	e = ep_spec(EP1, 100, NS1, 2);
	e.plen = 33;
	cr_expect_eq(vx_dp_ep_put(dp, &e, msg, sizeof(msg)), -EINVAL);
	e = ep_spec(EP1, 100, NS1, 2);
	e.mac[0] = 0x01;
	cr_expect_eq(vx_dp_ep_put(dp, &e, msg, sizeof(msg)), -EINVAL);
	e = ep_spec(EP1, 100, NS1, 2);
	e.ifname[0] = '\0';
	cr_expect_eq(vx_dp_ep_put(dp, &e, msg, sizeof(msg)), -EINVAL);
	cr_assert_eq(K.calls[FK_EP_ADD], 0);
}

Test(dp, ep_peer_changed_recreated)
{
	world();
	fk_peer(&K, NS1, "eth0")->ip = ip4("10.10.0.77");
	fk_calls_reset(&K);
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_assert_eq(K.calls[FK_LINK_DEL], 1);
	cr_assert_eq(K.calls[FK_EP_ADD], 1);
	cr_assert_eq(fk_peer(&K, NS1, "eth0")->ip.s_addr, ip4("10.10.0.2").s_addr);
	cr_assert_eq(vx_dp_ep_status(dp, EP1), 0);
	assert_world();
}

Test(dp, ep_del)
{
	world();
	cr_assert_eq(vx_dp_ep_del(dp, EP1), 0);
	cr_assert_null(fk_link(&K, "vxm" EP1));
	cr_assert_eq(vx_dp_ep_status(dp, EP1), -ESRCH);
	cr_assert_eq(vx_dp_ep_del(dp, EP1), -ENOENT);
}

Test(dp, net_del)
{
	world();
	cr_assert_eq(vx_dp_net_del(dp, 100), -EBUSY);
	cr_assert_not_null(fk_link(&K, "vxmb100"));
	cr_assert_eq(vx_dp_ep_del(dp, EP1), 0);
	cr_assert_eq(vx_dp_net_del(dp, 100), 0);
	cr_assert_eq(K.nlinks, 0);
	cr_assert_eq(K.nfdb, 0);
	cr_assert_eq(vx_dp_net_del(dp, 100), -ENOENT);
	/* Its remote entries went with it. */
	put_net("blue", 100);
	cr_assert_eq(K.nfdb, 0);
	cr_assert_eq(K.nneigh, 0);
}

/* ---- FDB report ---- */

struct rows {
	struct vx_fdb_row r[32];
	size_t n;
};

static void row_cb(void *arg, const struct vx_fdb_row *row)
{
	struct rows *rows = arg;

	cr_assert_lt(rows->n, 32);
	rows->r[rows->n++] = *row;
}

static const struct vx_fdb_row *row_find(const struct rows *rows, uint32_t vni,
					 const uint8_t mac[6])
{
	size_t i;

	for (i = 0; i < rows->n; i++)
		if (rows->r[i].vni == vni && !memcmp(rows->r[i].mac, mac, 6))
			return &rows->r[i];
	return NULL;
}

Test(dp, fdb_report)
{
	static const uint8_t own[6] = {0x02, 0xaa, 0, 0, 0, 1};
	struct vx_remote r3 = remote(100, 0x13, "10.10.0.13", "198.51.100.4");
	struct vx_remote r200 = remote(200, 0x31, "10.20.0.31", "198.51.100.5");
	struct vx_fdb stale = {.mac = {0x02, 0, 0, 0, 0, 0x99},
			       .dst = ip4("198.51.100.9"),
			       .port = 4790,
			       .state = NUD_PERMANENT,
			       .flags = NTF_SELF | NTF_EXT_LEARNED};
	struct vx_fdb foreign = {.mac = {0x02, 0, 0, 0, 0, 0x98},
				 .dst = ip4("198.51.100.8"),
				 .state = NUD_REACHABLE,
				 .flags = NTF_SELF};
	struct vx_fdb flood = {
		.dst = ip4("198.51.100.6"), .state = NUD_PERMANENT, .flags = NTF_SELF};
	struct vx_fdb self = {
		.mac = {0x02, 0xaa, 0, 0, 0, 1}, .state = NUD_PERMANENT, .flags = NTF_SELF};
	struct vx_neigh nforeign = {
		.ip = ip4("10.10.0.98"), .mac = {0x02, 0, 0, 0, 0, 0x98}, .state = NUD_REACHABLE};
	const struct vx_fdb_row *row;
	struct rows rows = {.n = 0};
	size_t before;

	world();
	put_net("red", 200);
	put_remote(&r200);
	stale.ifindex = foreign.ifindex = flood.ifindex = self.ifindex = vxix();
	nforeign.ifindex = vxix();
	K.fdb[K.nfdb++] = stale;
	K.fdb[K.nfdb++] = foreign;
	K.fdb[K.nfdb++] = flood;
	K.fdb[K.nfdb++] = self;
	K.neigh[K.nneigh++] = nforeign;
	/* A foreign entry for a desired MAC, listed before ours: ours wins the join. */
	memmove(&K.neigh[1], &K.neigh[0], K.nneigh * sizeof(K.neigh[0]));
	K.nneigh++;
	K.neigh[0] = (struct vx_neigh){.ifindex = vxix(),
				       .ip = ip4("10.10.0.77"),
				       .mac = {0x02, 0, 0, 0, 0, 0x11},
				       .state = NUD_STALE};
	/* Desired but not installed yet. */
	K.fail[FK_FDB_REPLACE] = -ENODEV;
	put_remote(&r3);
	K.fail[FK_FDB_REPLACE] = 0;
	cr_assert_null(fk_fdb(&K, vxix(), r3.mac));
	before = K.nfdb;

	cr_assert_eq(vx_dp_fdb_report(dp, 100, row_cb, &rows), 0);
	cr_assert_eq(K.nfdb, before, "a report changes nothing");
	cr_assert_eq(rows.n, 6, "2 remote, 1 stale, 2 foreign, 1 missing; got %zu", rows.n);
	cr_assert_null(row_find(&rows, 100, own), "own entry without dst skipped");

	row = row_find(&rows, 100, mac_of(0x11));
	cr_assert_not_null(row);
	cr_assert_eq(row->why, VX_WHY_REMOTE);
	cr_assert_str_eq(row->dev, "vxmv100");
	cr_assert_eq(row->ip.s_addr, ip4("10.10.0.9").s_addr);
	cr_assert_eq(row->dst.s_addr, ip4("198.51.100.2").s_addr);
	cr_assert_eq(row->port, VX_PORT_DEFAULT);
	cr_assert(row->permanent);
	row = row_find(&rows, 100, mac_of(0x12));
	cr_assert_eq(row->why, VX_WHY_REMOTE);
	cr_assert_eq(row->ip.s_addr, 0);
	row = row_find(&rows, 100, stale.mac);
	cr_assert_eq(row->why, VX_WHY_STALE);
	cr_assert_eq(row->port, 4790);
	row = row_find(&rows, 100, foreign.mac);
	cr_assert_eq(row->why, VX_WHY_FOREIGN);
	cr_assert_eq(row->ip.s_addr, ip4("10.10.0.98").s_addr);
	cr_assert(!row->permanent);
	row = row_find(&rows, 100, flood.mac);
	cr_assert_eq(row->why, VX_WHY_FOREIGN);
	row = row_find(&rows, 100, r3.mac);
	cr_assert_eq(row->why, VX_WHY_MISSING);
	cr_assert_eq(row->ip.s_addr, r3.ip.s_addr);
	cr_assert_eq(row->dst.s_addr, r3.vtep.s_addr);
	cr_assert_null(row_find(&rows, 200, r200.mac), "filtered by vni");

	rows.n = 0;
	cr_assert_eq(vx_dp_fdb_report(dp, 0, row_cb, &rows), 0);
	cr_assert_eq(rows.n, 7);
	row = row_find(&rows, 200, r200.mac);
	cr_assert_eq(row->why, VX_WHY_REMOTE);
	cr_assert_str_eq(row->dev, "vxmv200");
	cr_assert_eq(vx_dp_fdb_report(dp, 300, row_cb, &rows), -ENOENT);

	/* After a reconcile only desired and foreign rows remain. */
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	rows.n = 0;
	cr_assert_eq(vx_dp_fdb_report(dp, 100, row_cb, &rows), 0);
	cr_assert_eq(rows.n, 5);
	cr_assert_eq(row_find(&rows, 100, r3.mac)->why, VX_WHY_REMOTE);
	cr_assert_null(row_find(&rows, 100, stale.mac));
}

Test(dp, fdb_report_device_missing)
{
	struct rows rows = {.n = 0};

	world();
	fk_link_remove(&K, vxix());
	cr_assert_eq(vx_dp_fdb_report(dp, 100, row_cb, &rows), 0);
	cr_assert_eq(rows.n, 2);
	cr_assert_eq(rows.r[0].why, VX_WHY_MISSING);
	cr_assert_eq(rows.r[1].why, VX_WHY_MISSING);
}
