// SPDX-License-Identifier: MIT
/*
 * Kernel test of the datapath: vx_nl_ops (vxlan/nl.c) driven by the
 * reconciler (vxlan/dp.c) against the running kernel, inside network
 * namespaces this program creates and removes (also on failure or signal).
 * Run as root.  Prints "ok N - name" / "not ok N - name", exits 1 on any
 * failure.
 *
 *   ct-a (10.77.0.1/24, eth0)                      ct-b (10.77.0.2/24, eth0)
 *        |  veth vxm0a0000000001                        |  veth vxm0b0000000001
 *   +----+---------------------------+         +-------+-------------------------+
 *   | vxmb100 (bridge) - vxmv100     |         | vxmb100 (bridge) - vxmv100      |
 *   |   (vxlan 100, 192.0.2.1:4789)  |         |   (vxlan 100, 192.0.2.2:4789)   |
 *   | ul0 192.0.2.1/24  ns "a"       |=========| ul0 192.0.2.2/24  ns "b"        |
 *   +--------------------------------+  veth   +---------------------------------+
 *
 * The test process setns()es into "a" and opens a vx_nl there; it opens a
 * second one while visiting "b".  Checks read the kernel back through
 * `ip -j` / `bridge -j` and through the backend's own dumps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "common/addr.h"
#include "vxlan/vxlan.h"

#define VNI	  100
#define NET_MTU	  1400
#define CMD_MAX	  512
#define OUT_MAX	  (1 << 20)
#define TIMEOUT_S 120

enum { NS_A, NS_B, NS_CA, NS_CB, NS_S, NS_NUM };
static const char *const ns_sfx[NS_NUM] = {"a", "b", "ca", "cb", "s"};
static char ns_name[NS_NUM][64];
static char ns_path[NS_NUM][VX_PATH_MAX];
static const char *ip_bin;
static char bridge_bin[VX_PATH_MAX];
static int orig_ns = -1;
static volatile sig_atomic_t cleaned;
static volatile pid_t churn_pid;

static struct vx_nl *nla, *nlb;
static struct vx_dp *dpa, *dpb;
static int ul_a; /* ul0 in ns a */

static const uint8_t mac_ca[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xa1};
static const uint8_t mac_cb[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xb1};
static const uint8_t mac_r2[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xb2};
#define MAC_CA	    "02:00:00:00:00:a1"
#define MAC_CB	    "02:00:00:00:00:b1"
#define MAC_R2	    "02:00:00:00:00:b2"
#define MAC_FOREIGN "02:00:00:00:00:f0"
#define MAC_STALE   "02:00:00:00:00:e0"
#define EP_A	    "0a0000000001"
#define EP_B	    "0b0000000001"

/* ---- cleanup: async-signal-safe (fork/execv/waitpid) ---- */

static void ns_del_all(void)
{
	if (cleaned)
		return;
	cleaned = 1;
	if (churn_pid > 0) {
		kill(churn_pid, SIGKILL);
		while (waitpid(churn_pid, NULL, 0) < 0 && errno == EINTR)
			;
		churn_pid = 0;
	}
	if (orig_ns >= 0)
		(void)setns(orig_ns, CLONE_NEWNET);
	for (int i = 0; i < NS_NUM; i++) {
		char *argv[] = {(char *)ip_bin, "netns", "del", ns_name[i], NULL};
		pid_t pid;
		int devnull;

		if (!ns_name[i][0] || !ip_bin)
			continue;
		pid = fork();
		if (pid == 0) {
			devnull = open("/dev/null", O_WRONLY);
			if (devnull >= 0) {
				dup2(devnull, 1);
				dup2(devnull, 2);
			}
			execv(ip_bin, argv);
			_exit(127);
		}
		if (pid > 0)
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
	}
}

static void on_signal(int sig)
{
	static const char msg[] = "Bail out! signal or timeout, cleaning up\n";

	(void)!write(1, msg, sizeof(msg) - 1);
	ns_del_all();
	_exit(1);
}

/* ---- shell helpers ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[CMD_MAX];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run a command and parse its stdout as JSON; NULL on failure. */
static json_t *jrun(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *jrun(const char *fmt, ...)
{
	char cmd[CMD_MAX];
	json_error_t jerr;
	json_t *j;
	char *out;
	size_t n = 0, r;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out = malloc(OUT_MAX);
	if (!out)
		return NULL;
	fflush(stdout);
	f = popen(cmd, "r");
	if (!f) {
		free(out);
		return NULL;
	}
	while (n < OUT_MAX - 1 && (r = fread(out + n, 1, OUT_MAX - 1 - n, f)) > 0)
		n += r;
	out[n] = '\0';
	if (pclose(f) != 0) {
		free(out);
		return NULL;
	}
	j = json_loads(out, 0, &jerr);
	free(out);
	return j;
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static int jarr_has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return 1;
	}
	return 0;
}

/* The element of array arr whose key equals val, or NULL. */
static json_t *jfind(const json_t *arr, const char *key, const char *val)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		if (jstr(v, key) && !strcmp(jstr(v, key), val))
			return v;
	}
	return NULL;
}

/* ---- test plumbing ---- */

static int failures, passes, tno;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("#   %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
			ok = 0;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_RC(expr, want)                                                                       \
	do {                                                                                       \
		int rc_ = (expr);                                                                  \
		if (rc_ != (want)) {                                                               \
			printf("#   %s:%d: %s = %d (%s), want %d\n", __FILE__, __LINE__, #expr,    \
			       rc_, strerror(rc_ < 0 ? -rc_ : rc_), (want));                       \
			ok = 0;                                                                    \
		}                                                                                  \
	} while (0)

static void report(int ok, const char *name)
{
	tno++;
	if (ok)
		passes++;
	else
		failures++;
	printf("%sok %d - %s\n", ok ? "" : "not ", tno, name);
	fflush(stdout);
}

static int enter_ns(int i)
{
	int fd = open(ns_path[i], O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static void net_spec(struct vx_net_spec *n, const char *local, int underlay)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "blue");
	n->vni = VNI;
	n->port = VX_PORT_DEFAULT;
	inet_pton(AF_INET, local, &n->local);
	n->underlay = underlay;
	n->mtu = NET_MTU;
	vx_net_names(n);
}

static void ep_spec(struct vx_ep_spec *e, const char *id, int ns, const char *ip,
		    const uint8_t mac[6])
{
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->vni = VNI;
	snprintf(e->netns, sizeof(e->netns), "%s", ns_path[ns]);
	snprintf(e->ifname, sizeof(e->ifname), "eth0");
	inet_pton(AF_INET, ip, &e->ip);
	e->plen = 24;
	inet_pton(AF_INET, "10.77.0.254", &e->gw);
	memcpy(e->mac, mac, 6);
	e->mtu = NET_MTU;
	vx_ep_names(e);
}

static void remote(struct vx_remote *r, const uint8_t mac[6], const char *ip, const char *vtep,
		   uint16_t port)
{
	memset(r, 0, sizeof(*r));
	r->vni = VNI;
	memcpy(r->mac, mac, 6);
	inet_pton(AF_INET, ip, &r->ip);
	inet_pton(AF_INET, vtep, &r->vtep);
	r->port = port;
}

/* The FDB of vxmv100 in ns, as `bridge -j fdb show` prints it. */
static json_t *fdb_show(int ns)
{
	return jrun("%s -n %s -j fdb show dev vxmv%d 2>/dev/null", bridge_bin, ns_name[ns], VNI);
}

static int fdb_has(const json_t *fdb, const char *mac, const char *dst, int port)
{
	size_t i;
	json_t *v;

	json_array_foreach(fdb, i, v)
	{
		if (!jstr(v, "mac") || strcmp(jstr(v, "mac"), mac) || !jstr(v, "dst") ||
		    strcmp(jstr(v, "dst"), dst))
			continue;
		if (port && jint(v, "port") != port)
			continue;
		if (!port && json_object_get(v, "port"))
			continue;
		return 1;
	}
	return 0;
}

static json_t *neigh_show(int ns)
{
	return jrun("%s -n %s -j neigh show dev vxmv%d 2>/dev/null", ip_bin, ns_name[ns], VNI);
}

/* A permanent neighbour ip -> mac with proto 245 (ours) or without (foreign). */
static int neigh_has(const json_t *nb, const char *ip, const char *mac, int ours)
{
	json_t *v = jfind(nb, "dst", ip);
	const char *proto;

	if (!v || !jstr(v, "lladdr") || strcmp(jstr(v, "lladdr"), mac) ||
	    !jarr_has(json_object_get(v, "state"), "PERMANENT"))
		return 0;
	proto = jstr(v, "protocol");
	return ours ? proto && !strcmp(proto, "245") : !proto;
}

static json_t *link_show(int ns, const char *dev)
{
	json_t *arr = jrun("%s -n %s -d -j link show dev %s 2>/dev/null", ip_bin, ns_name[ns], dev);
	json_t *o = json_incref(json_array_get(arr, 0));

	json_decref(arr);
	return o;
}

static int dev_has_no_addr(int ns, const char *dev)
{
	json_t *arr = jrun("%s -n %s -j addr show dev %s 2>/dev/null", ip_bin, ns_name[ns], dev);
	json_t *ai = json_object_get(json_array_get(arr, 0), "addr_info");
	int ret = json_is_array(ai) && json_array_size(ai) == 0;

	json_decref(arr);
	return ret;
}

/* ---- tests, in order; each builds on the ones before ---- */

static int t_setup(void)
{
	int ok = 1;

	for (int i = 0; i < NS_NUM; i++)
		CHECK(sh("%s netns add %s", ip_bin, ns_name[i]) == 0);
	CHECK(sh("%s -n %s link add ul0 type veth peer name ul0 netns %s", ip_bin, ns_name[NS_A],
		 ns_name[NS_B]) == 0);
	CHECK(sh("%s -n %s addr add 192.0.2.1/24 dev ul0 && %s -n %s link set ul0 up && "
		 "%s -n %s link set lo up",
		 ip_bin, ns_name[NS_A], ip_bin, ns_name[NS_A], ip_bin, ns_name[NS_A]) == 0);
	CHECK(sh("%s -n %s addr add 192.0.2.2/24 dev ul0 && %s -n %s link set ul0 up && "
		 "%s -n %s link set lo up",
		 ip_bin, ns_name[NS_B], ip_bin, ns_name[NS_B], ip_bin, ns_name[NS_B]) == 0);
	CHECK(sh("%s netns exec %s ping -q -c 1 -w 5 192.0.2.2 >/dev/null", ip_bin,
		 ns_name[NS_A]) == 0);
	return ok;
}

static int t_open(void)
{
	int ok = 1;

	CHECK_RC(enter_ns(NS_B), 0);
	CHECK_RC(vx_nl_open(&nlb), 0);
	CHECK_RC(enter_ns(NS_A), 0);
	CHECK_RC(vx_nl_open(&nla), 0);
	if (!ok)
		return 0;
	CHECK_RC(vx_dp_create(&dpa, &vx_nl_ops, nla), 0);
	CHECK_RC(vx_dp_create(&dpb, &vx_nl_ops, nlb), 0);
	ul_a = (int)if_nametoindex("ul0");
	CHECK(ul_a > 0);
	return ok;
}

static int t_underlay(void)
{
	struct in_addr a;
	unsigned mtu = 0;
	int ok = 1, idx = 0;

	inet_pton(AF_INET, "192.0.2.1", &a);
	CHECK_RC(vx_nl_ops.underlay_get(nla, a, &idx, &mtu), 0);
	CHECK(idx == ul_a && mtu == 1500);
	inet_pton(AF_INET, "198.51.100.1", &a);
	CHECK_RC(vx_nl_ops.underlay_get(nla, a, &idx, &mtu), -ENODEV);
	a.s_addr = 0;
	CHECK_RC(vx_nl_ops.underlay_get(nla, a, &idx, &mtu), -ENETUNREACH);
	CHECK(sh("%s -n %s route add default via 192.0.2.2", ip_bin, ns_name[NS_A]) == 0);
	idx = 0;
	CHECK_RC(vx_nl_ops.underlay_get(nla, a, &idx, &mtu), 0);
	CHECK(idx == ul_a && mtu == 1500);
	return ok;
}

static const struct vx_route *route_find(const struct vx_route *r, size_t n, const char *dst,
					 uint8_t plen)
{
	struct in_addr a;

	inet_pton(AF_INET, dst, &a);
	for (size_t i = 0; i < n; i++)
		if (r[i].dst.s_addr == a.s_addr && r[i].plen == plen)
			return &r[i];
	return NULL;
}

static int overlaps(const char *prefix)
{
	struct addr_prefix p;
	int overlap = -1;

	if (addr_parse_prefix(prefix, 1, &p) || vx_routes_overlap(&vx_nl_ops, nla, &p, &overlap))
		return -1;
	return overlap;
}

/* In ns a: a route via ul0 in main, one in table 1000, a blackhole. */
static int t_routes(void)
{
	const struct vx_route *f;
	struct vx_route *r = NULL;
	size_t n = 0;
	int ok = 1;

	CHECK(sh("%s -n %s route add 198.51.100.0/24 via 192.0.2.2 dev ul0", ip_bin,
		 ns_name[NS_A]) == 0);
	CHECK(sh("%s -n %s route add 203.0.113.0/24 dev ul0 table 1000", ip_bin, ns_name[NS_A]) ==
	      0);
	CHECK(sh("%s -n %s route add blackhole 198.18.0.0/15", ip_bin, ns_name[NS_A]) == 0);
	CHECK_RC(vx_nl_ops.route_dump(nla, &r, &n), 0);
	f = route_find(r, n, "198.51.100.0", 24);
	CHECK(f && f->table == RT_TABLE_MAIN && f->oif == ul_a);
	f = route_find(r, n, "203.0.113.0", 24);
	CHECK(f && f->table == 1000 && f->oif == ul_a);
	f = route_find(r, n, "192.0.2.0", 24); /* the connected route of ul0's address */
	CHECK(f && f->table == RT_TABLE_MAIN && f->oif == ul_a);
	CHECK(!route_find(r, n, "198.18.0.0", 15));
	CHECK(!route_find(r, n, "192.0.2.1", 32)); /* local table */
	for (size_t i = 0; i < n; i++)
		CHECK(r[i].table != RT_TABLE_LOCAL);
	free(r);

	CHECK(overlaps("198.51.100.128/25") == 1);
	CHECK(overlaps("198.51.0.0/16") == 1);
	CHECK(overlaps("198.51.101.0/24") == 0);
	CHECK(overlaps("203.0.113.0/24") == 1);
	CHECK(overlaps("198.18.0.0/16") == 0);
	CHECK(overlaps("100.64.0.0/10") == 0); /* only the default route covers it */

	CHECK(sh("%s -n %s route del 198.51.100.0/24 && %s -n %s route del 203.0.113.0/24 table "
		 "1000 && %s -n %s route del blackhole 198.18.0.0/15",
		 ip_bin, ns_name[NS_A], ip_bin, ns_name[NS_A], ip_bin, ns_name[NS_A]) == 0);
	CHECK(overlaps("198.51.100.0/24") == 0);
	return ok;
}

#define STRESS_PAIRS 150
#define STRESS_DUMPS 200
#define CHURN_ROUNDS 300

/* Enough links that a dump spans many messages, while another process adds
 * and deletes links so the kernel marks some dumps NLM_F_DUMP_INTR. */
static int t_dump_stress(void)
{
	char batch[] = "/tmp/vxkt-batch-XXXXXX", cmd[CMD_MAX];
	struct vx_nl *nls = NULL;
	int ok = 1, fd, bad = 0;
	FILE *f;

	fd = mkstemp(batch);
	CHECK(fd >= 0);
	if (fd < 0)
		return 0;
	f = fdopen(fd, "w");
	for (int i = 0; f && i < STRESS_PAIRS; i++)
		fprintf(f, "link add s%da type veth peer name s%db\n", i, i);
	CHECK(f && fclose(f) == 0);
	CHECK(sh("%s -n %s -b %s", ip_bin, ns_name[NS_S], batch) == 0);
	unlink(batch);
	CHECK_RC(enter_ns(NS_S), 0);
	CHECK_RC(vx_nl_open(&nls), 0);
	CHECK_RC(enter_ns(NS_A), 0);
	if (!ok)
		goto out;

	snprintf(cmd, sizeof(cmd),
		 "i=0; while [ $i -lt %d ]; do %s -n %s link add c0 type veth peer name c1; "
		 "%s -n %s link del c0; i=$((i+1)); done",
		 CHURN_ROUNDS, ip_bin, ns_name[NS_S], ip_bin, ns_name[NS_S]);
	fflush(stdout);
	churn_pid = fork();
	if (churn_pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	CHECK(churn_pid > 0);
	for (int i = 0; i < STRESS_DUMPS && !bad; i++) {
		struct vx_link *l = NULL;
		size_t n = 0, stable = 0;
		int err = vx_nl_ops.link_dump(nls, &l, &n);

		for (size_t k = 0; k < n; k++)
			stable += l[k].name[0] == 's' && l[k].kind == VX_KIND_VETH;
		if (err || stable != 2 * STRESS_PAIRS) {
			printf("#   dump %d: err %d, %zu of %d links\n", i, err, stable,
			       2 * STRESS_PAIRS);
			bad = 1;
		}
		free(l);
	}
	CHECK(!bad);
	if (churn_pid > 0) {
		kill(churn_pid, SIGKILL);
		waitpid(churn_pid, NULL, 0);
		churn_pid = 0;
	}
out:
	vx_nl_close(nls);
	return ok;
}

static int t_net_put(void)
{
	struct vx_net_spec n;
	struct vx_link *links = NULL;
	size_t nlinks = 0;
	char msg[256];
	json_t *vx, *br, *data;
	int ok = 1, seen = 0;

	net_spec(&n, "192.0.2.1", ul_a);
	CHECK_RC(vx_dp_net_put(dpa, &n, msg, sizeof(msg)), 0);
	if (!ok)
		printf("#   %s\n", msg);

	vx = link_show(NS_A, "vxmv100");
	data = json_object_get(json_object_get(vx, "linkinfo"), "info_data");
	CHECK(vx && jstr(json_object_get(vx, "linkinfo"), "info_kind") &&
	      !strcmp(jstr(json_object_get(vx, "linkinfo"), "info_kind"), "vxlan"));
	CHECK(jint(data, "id") == VNI);
	CHECK(jint(data, "port") == VX_PORT_DEFAULT);
	CHECK(jstr(data, "local") && !strcmp(jstr(data, "local"), "192.0.2.1"));
	CHECK(jstr(data, "link") && !strcmp(jstr(data, "link"), "ul0"));
	CHECK(json_is_false(json_object_get(data, "learning")));
	CHECK(json_is_true(json_object_get(data, "proxy")));
	CHECK(jstr(vx, "master") && !strcmp(jstr(vx, "master"), "vxmb100"));
	CHECK(jint(vx, "mtu") == NET_MTU);
	CHECK(jarr_has(json_object_get(vx, "flags"), "UP"));
	CHECK(jstr(vx, "ifalias") && !strcmp(jstr(vx, "ifalias"), "vxmesh:net=blue"));
	json_decref(vx);

	br = link_show(NS_A, "vxmb100");
	CHECK(br && !strcmp(jstr(json_object_get(br, "linkinfo"), "info_kind"), "bridge"));
	CHECK(jint(br, "mtu") == NET_MTU);
	CHECK(jarr_has(json_object_get(br, "flags"), "UP"));
	CHECK(jstr(br, "ifalias") && !strcmp(jstr(br, "ifalias"), "vxmesh:net=blue"));
	CHECK(jstr(br, "inet6_addr_gen_mode") && !strcmp(jstr(br, "inet6_addr_gen_mode"), "none"));
	json_decref(br);
	CHECK(dev_has_no_addr(NS_A, "vxmb100"));
	CHECK(dev_has_no_addr(NS_A, "vxmv100"));

	/* and the same through the backend's own dump */
	CHECK_RC(vx_nl_ops.link_dump(nla, &links, &nlinks), 0);
	for (size_t i = 0; i < nlinks; i++) {
		const struct vx_link *l = &links[i];

		if (strcmp(l->name, "vxmv100"))
			continue;
		seen = 1;
		CHECK(l->kind == VX_KIND_VXLAN && l->vni == VNI && l->port == VX_PORT_DEFAULT);
		CHECK(l->underlay == ul_a && !l->learning && l->proxy && l->up);
		CHECK(l->master == (int)if_nametoindex("vxmb100") && l->mtu == NET_MTU);
		CHECK(!strcmp(l->alias, "vxmesh:net=blue"));
	}
	CHECK(seen);
	free(links);
	return ok;
}

static int t_net_adopt(void)
{
	struct vx_dp_stats before, after;
	struct vx_net_spec n;
	int ok = 1, idx = (int)if_nametoindex("vxmv100");

	net_spec(&n, "192.0.2.1", ul_a);
	vx_dp_stats_get(dpa, &before);
	CHECK_RC(vx_dp_net_put(dpa, &n, NULL, 0), 0);
	CHECK_RC(vx_dp_reconcile(dpa), 0);
	vx_dp_stats_get(dpa, &after);
	CHECK(after.created == before.created && after.removed == before.removed);
	CHECK((int)if_nametoindex("vxmv100") == idx);
	return ok;
}

static int t_remote_put(void)
{
	struct vx_remote r;
	json_t *fdb, *nb, *e;
	int ok = 1;

	remote(&r, mac_cb, "10.77.0.2", "192.0.2.2", 0);
	CHECK_RC(vx_dp_remote_put(dpa, &r), 0);
	remote(&r, mac_r2, "10.77.0.3", "192.0.2.2", 4790);
	CHECK_RC(vx_dp_remote_put(dpa, &r), 0);

	fdb = fdb_show(NS_A);
	CHECK(fdb_has(fdb, MAC_CB, "192.0.2.2", 0));
	CHECK(fdb_has(fdb, MAC_R2, "192.0.2.2", 4790));
	e = jfind(fdb, "mac", MAC_R2);
	CHECK(e && jarr_has(json_object_get(e, "flags"), "self") &&
	      jarr_has(json_object_get(e, "flags"), "extern_learn"));
	CHECK(e && jstr(e, "state") && !strcmp(jstr(e, "state"), "permanent"));
	json_decref(fdb);

	nb = neigh_show(NS_A);
	CHECK(neigh_has(nb, "10.77.0.2", MAC_CB, 1));
	CHECK(neigh_has(nb, "10.77.0.3", MAC_R2, 1));
	json_decref(nb);
	return ok;
}

static int t_backend_dumps(void)
{
	int ok = 1, vx = (int)if_nametoindex("vxmv100"), got_fdb = 0, got_nb = 0;
	struct vx_fdb *f = NULL;
	struct vx_neigh *nb = NULL;
	size_t n = 0;

	CHECK_RC(vx_nl_ops.fdb_dump(nla, vx, &f, &n), 0);
	for (size_t i = 0; i < n; i++) {
		CHECK(f[i].ifindex == vx && (f[i].flags & NTF_SELF));
		if (memcmp(f[i].mac, mac_r2, 6))
			continue;
		got_fdb = 1;
		CHECK(f[i].port == 4790 && f[i].dst.s_addr == htonl(0xc0000202));
		CHECK(f[i].state == NUD_PERMANENT && (f[i].flags & NTF_EXT_LEARNED));
	}
	free(f);
	CHECK(got_fdb);
	CHECK_RC(vx_nl_ops.neigh_dump(nla, vx, &nb, &n), 0);
	for (size_t i = 0; i < n; i++) {
		CHECK(nb[i].ifindex == vx);
		if (memcmp(nb[i].mac, mac_cb, 6))
			continue;
		got_nb = 1;
		CHECK(nb[i].proto == VX_RTPROT && nb[i].state == NUD_PERMANENT);
		CHECK(nb[i].ip.s_addr == htonl(0x0a4d0002));
	}
	free(nb);
	CHECK(got_nb);
	return ok;
}

static int t_hand_delete(void)
{
	const char *a = ns_name[NS_A];
	json_t *fdb, *nb;
	int ok = 1;

	CHECK(sh("%s -n %s fdb del %s dev vxmv100 dst 192.0.2.2 self", bridge_bin, a, MAC_CB) == 0);
	CHECK(sh("%s -n %s fdb del %s dev vxmv100 dst 192.0.2.2 port 4790 self", bridge_bin, a,
		 MAC_R2) == 0);
	CHECK(sh("%s -n %s neigh flush dev vxmv100 nud all", ip_bin, a) == 0);
	fdb = fdb_show(NS_A);
	nb = neigh_show(NS_A);
	CHECK(!fdb_has(fdb, MAC_CB, "192.0.2.2", 0) && !fdb_has(fdb, MAC_R2, "192.0.2.2", 4790));
	CHECK(json_array_size(nb) == 0);
	json_decref(fdb);
	json_decref(nb);

	CHECK_RC(vx_dp_reconcile(dpa), 0);
	fdb = fdb_show(NS_A);
	nb = neigh_show(NS_A);
	CHECK(fdb_has(fdb, MAC_CB, "192.0.2.2", 0) && fdb_has(fdb, MAC_R2, "192.0.2.2", 4790));
	CHECK(neigh_has(nb, "10.77.0.2", MAC_CB, 1) && neigh_has(nb, "10.77.0.3", MAC_R2, 1));
	json_decref(fdb);
	json_decref(nb);
	return ok;
}

struct report_seen {
	int foreign, remote;
};

static void report_cb(void *arg, const struct vx_fdb_row *row)
{
	struct report_seen *s = arg;
	static const uint8_t f0[6] = {0x02, 0, 0, 0, 0, 0xf0};

	if (!memcmp(row->mac, f0, 6) && row->why == VX_WHY_FOREIGN)
		s->foreign++;
	if (!memcmp(row->mac, mac_cb, 6) && row->why == VX_WHY_REMOTE)
		s->remote++;
}

static int t_ownership(void)
{
	const char *a = ns_name[NS_A];
	struct report_seen seen = {0};
	json_t *fdb, *nb;
	int ok = 1;

	/* foreign: no extern_learn, no proto 245 -> left alone */
	CHECK(sh("%s -n %s fdb add %s dev vxmv100 dst 192.0.2.9 self permanent", bridge_bin, a,
		 MAC_FOREIGN) == 0);
	CHECK(sh("%s -n %s neigh add 10.77.0.99 lladdr %s dev vxmv100 nud permanent", ip_bin, a,
		 MAC_FOREIGN) == 0);
	/* ours by mark but not desired -> removed */
	CHECK(sh("%s -n %s fdb add %s dev vxmv100 dst 192.0.2.8 self permanent extern_learn",
		 bridge_bin, a, MAC_STALE) == 0);
	CHECK(sh("%s -n %s neigh add 10.77.0.98 lladdr %s dev vxmv100 nud permanent proto 245",
		 ip_bin, a, MAC_STALE) == 0);
	CHECK_RC(vx_dp_reconcile(dpa), 0);
	fdb = fdb_show(NS_A);
	nb = neigh_show(NS_A);
	CHECK(fdb_has(fdb, MAC_FOREIGN, "192.0.2.9", 0));
	CHECK(neigh_has(nb, "10.77.0.99", MAC_FOREIGN, 0));
	CHECK(!jfind(fdb, "mac", MAC_STALE));
	CHECK(!jfind(nb, "dst", "10.77.0.98"));
	CHECK(fdb_has(fdb, MAC_CB, "192.0.2.2", 0));
	json_decref(fdb);
	json_decref(nb);
	CHECK_RC(vx_dp_fdb_report(dpa, VNI, report_cb, &seen), 0);
	CHECK(seen.foreign >= 1 && seen.remote >= 1);
	return ok;
}

static int t_endpoint(void)
{
	struct vx_ep_spec e;
	json_t *arr, *o, *ai, *host;
	char msg[256];
	int ok = 1, probe = -1;

	ep_spec(&e, EP_A, NS_CA, "10.77.0.1", mac_ca);
	CHECK_RC(vx_dp_ep_put(dpa, &e, msg, sizeof(msg)), 0);
	if (!ok)
		printf("#   %s\n", msg);

	arr = jrun("%s -n %s -j addr show dev eth0", ip_bin, ns_name[NS_CA]);
	o = json_array_get(arr, 0);
	ai = jfind(json_object_get(o, "addr_info"), "local", "10.77.0.1");
	CHECK(ai && jint(ai, "prefixlen") == 24);
	CHECK(jstr(o, "address") && !strcmp(jstr(o, "address"), MAC_CA));
	CHECK(jarr_has(json_object_get(o, "flags"), "UP") && jint(o, "mtu") == NET_MTU);
	json_decref(arr);
	arr = jrun("%s -n %s -j route show default", ip_bin, ns_name[NS_CA]);
	CHECK(jfind(arr, "gateway", "10.77.0.254") != NULL);
	json_decref(arr);
	arr = jrun("%s -n %s -j link show dev lo", ip_bin, ns_name[NS_CA]);
	CHECK(jarr_has(json_object_get(json_array_get(arr, 0), "flags"), "UP"));
	json_decref(arr);

	host = link_show(NS_A, "vxm" EP_A);
	CHECK(host && jstr(host, "master") && !strcmp(jstr(host, "master"), "vxmb100"));
	CHECK(jstr(host, "ifalias") && !strcmp(jstr(host, "ifalias"), "vxmesh:ep=" EP_A));
	CHECK(jarr_has(json_object_get(host, "flags"), "UP") && jint(host, "mtu") == NET_MTU);
	json_decref(host);
	CHECK(dev_has_no_addr(NS_A, "vxm" EP_A));

	CHECK_RC(vx_nl_ops.ep_probe(nla, &e, &probe), 0);
	CHECK(probe == 1);
	return ok;
}

static int t_endpoint_repair(void)
{
	struct vx_ep_spec e;
	int ok = 1, probe = -1;

	ep_spec(&e, EP_A, NS_CA, "10.77.0.1", mac_ca);
	CHECK(sh("%s -n %s addr flush dev eth0", ip_bin, ns_name[NS_CA]) == 0);
	CHECK_RC(vx_nl_ops.ep_probe(nla, &e, &probe), 0);
	CHECK(probe == 0);
	CHECK_RC(vx_dp_reconcile(dpa), 0);
	CHECK_RC(vx_dp_ep_status(dpa, EP_A), 0);
	CHECK_RC(vx_nl_ops.ep_probe(nla, &e, &probe), 0);
	CHECK(probe == 1);
	return ok;
}

static int t_endpoint_errors(void)
{
	struct vx_ep_spec e;
	char path[VX_PATH_MAX];
	int ok = 1, probe = -1, br = (int)if_nametoindex("vxmb100");

	ep_spec(&e, "0c0000000001", NS_CA, "10.77.0.5", mac_r2);
	snprintf(path, sizeof(path), "/run/netns/vxkt-%d-nope", (int)getpid());
	snprintf(e.netns, sizeof(e.netns), "%s", path);
	CHECK_RC(vx_nl_ops.ep_add(nla, &e, br), -ENOENT);
	CHECK(if_nametoindex(e.host_ifname) == 0);
	CHECK_RC(vx_nl_ops.ep_probe(nla, &e, &probe), -ENOENT);

	/* the gateway is not on-link: fails after the pair exists, nothing stays behind */
	ep_spec(&e, "0c0000000001", NS_CA, "10.77.0.5", mac_r2);
	snprintf(e.ifname, sizeof(e.ifname), "eth1");
	inet_pton(AF_INET, "198.51.100.1", &e.gw);
	CHECK(vx_nl_ops.ep_add(nla, &e, br) < 0);
	CHECK(if_nametoindex(e.host_ifname) == 0);
	CHECK(sh("%s -n %s link show eth1 >/dev/null 2>&1", ip_bin, ns_name[NS_CA]) != 0);

	/* netns "": the peer stays here, unconfigured and down, for Docker to move */
	ep_spec(&e, "0d0000000001", NS_CA, "10.77.0.6", mac_r2);
	e.netns[0] = '\0';
	snprintf(e.ifname, sizeof(e.ifname), "vxkt-peer");
	CHECK_RC(vx_nl_ops.ep_add(nla, &e, br), 0);
	json_t *peer = link_show(NS_A, "vxkt-peer");
	CHECK(peer && jstr(peer, "address") && !strcmp(jstr(peer, "address"), MAC_R2));
	CHECK(peer && !jarr_has(json_object_get(peer, "flags"), "UP"));
	json_decref(peer);
	CHECK(dev_has_no_addr(NS_A, "vxkt-peer"));
	CHECK_RC(vx_nl_ops.link_del(nla, (int)if_nametoindex(e.host_ifname)), 0);
	CHECK(if_nametoindex("vxkt-peer") == 0);
	return ok;
}

static int t_extack(void)
{
	struct vx_net_spec n;
	int ok = 1, idx = 0;
	const char *msg;

	/* same VNI and port as vxmv100: the vxlan driver refuses with a message */
	net_spec(&n, "192.0.2.1", ul_a);
	snprintf(n.vxname, sizeof(n.vxname), "vxkt-dup");
	CHECK_RC(vx_nl_ops.vxlan_add(nla, &n, (int)if_nametoindex("vxmb100"), &idx), -EEXIST);
	msg = vx_nl_ops.last_error(nla);
	printf("#   extack: \"%s\"\n", msg);
	CHECK(msg && msg[0]);
	CHECK(if_nametoindex("vxkt-dup") == 0);
	return ok;
}

static int t_vxlan_recreate(void)
{
	json_t *fdb, *nb, *vx;
	int ok = 1;

	CHECK(sh("%s -n %s link del vxmv100", ip_bin, ns_name[NS_A]) == 0);
	CHECK(if_nametoindex("vxmv100") == 0);
	CHECK_RC(vx_dp_reconcile(dpa), 0);
	vx = link_show(NS_A, "vxmv100");
	CHECK(vx && jstr(vx, "master") && !strcmp(jstr(vx, "master"), "vxmb100"));
	CHECK(jint(json_object_get(json_object_get(vx, "linkinfo"), "info_data"), "id") == VNI);
	CHECK(jarr_has(json_object_get(vx, "flags"), "UP"));
	json_decref(vx);
	fdb = fdb_show(NS_A);
	nb = neigh_show(NS_A);
	CHECK(fdb_has(fdb, MAC_CB, "192.0.2.2", 0) && fdb_has(fdb, MAC_R2, "192.0.2.2", 4790));
	CHECK(neigh_has(nb, "10.77.0.2", MAC_CB, 1));
	json_decref(fdb);
	json_decref(nb);
	return ok;
}

static int t_host_b(void)
{
	struct vx_net_spec n;
	struct vx_ep_spec e;
	struct vx_remote r;
	struct in_addr local;
	unsigned mtu = 0;
	char msg[256];
	int ok = 1, ul_b = 0;

	inet_pton(AF_INET, "192.0.2.2", &local);
	CHECK_RC(vx_nl_ops.underlay_get(nlb, local, &ul_b, &mtu), 0);
	net_spec(&n, "192.0.2.2", ul_b);
	/* remote first: it waits for its network */
	remote(&r, mac_ca, "10.77.0.1", "192.0.2.1", 0);
	CHECK_RC(vx_dp_remote_put(dpb, &r), 0);
	CHECK_RC(vx_dp_net_put(dpb, &n, msg, sizeof(msg)), 0);
	ep_spec(&e, EP_B, NS_CB, "10.77.0.2", mac_cb);
	CHECK_RC(vx_dp_ep_put(dpb, &e, msg, sizeof(msg)), 0);
	if (!ok)
		printf("#   %s\n", msg);
	json_t *fdb = fdb_show(NS_B);
	CHECK(fdb_has(fdb, MAC_CA, "192.0.2.1", 0));
	json_decref(fdb);
	return ok;
}

static int t_ping(void)
{
	int ok = 1;

	CHECK(sh("%s netns exec %s ping -q -c 3 -i 0.2 -W 1 10.77.0.2 >/dev/null", ip_bin,
		 ns_name[NS_CA]) == 0);
	CHECK(sh("%s netns exec %s ping -q -c 3 -i 0.2 -W 1 10.77.0.1 >/dev/null", ip_bin,
		 ns_name[NS_CB]) == 0);
	return ok;
}

static int t_teardown(void)
{
	int ok = 1;

	CHECK_RC(vx_dp_net_del(dpa, VNI), -EBUSY);
	CHECK_RC(vx_dp_ep_del(dpa, EP_A), 0);
	CHECK(if_nametoindex("vxm" EP_A) == 0);
	CHECK_RC(vx_dp_net_del(dpa, VNI), 0);
	CHECK(if_nametoindex("vxmv100") == 0 && if_nametoindex("vxmb100") == 0);
	CHECK_RC(vx_dp_reconcile(dpa), 0);
	CHECK(if_nametoindex("vxmv100") == 0);
	return ok;
}

static const struct {
	const char *name;
	int (*fn)(void);
	int fatal;
} tests[] = {
	{"namespaces and underlay up", t_setup, 1},
	{"vx_nl_open in both hosts, vx_dp_create", t_open, 1},
	{"underlay_get: by local address, by default route, -ENODEV, -ENETUNREACH", t_underlay, 0},
	{"route_dump: every table but local, unicast only; vx_routes_overlap", t_routes, 0},
	{"link_dump stays complete over multi-part dumps while links churn", t_dump_stress, 0},
	{"net put creates bridge and vxlan with the right attributes, no IPv6", t_net_put, 1},
	{"net put again adopts without changes", t_net_adopt, 0},
	{"remote entries in bridge fdb (per-entry port) and ip neigh (proto 245)", t_remote_put, 0},
	{"backend dumps round-trip port, NTF_EXT_LEARNED and NDA_PROTOCOL", t_backend_dumps, 0},
	{"hand-deleted fdb and neighbour entries come back on reconcile", t_hand_delete, 0},
	{"foreign entries survive reconcile, stale owned ones go", t_ownership, 0},
	{"endpoint veth into a container netns with address, route, MAC", t_endpoint, 0},
	{"ep_probe sees drift, reconcile repairs the endpoint", t_endpoint_repair, 0},
	{"ep_add: -ENOENT netns, failure leaves nothing, netns \"\" peer stays down",
	 t_endpoint_errors, 0},
	{"kernel refusal: -EEXIST with extack message, nothing left", t_extack, 0},
	{"vxlan device deleted by hand is recreated by reconcile", t_vxlan_recreate, 0},
	{"host b: remote before network, network, endpoint", t_host_b, 0},
	{"containers on a and b ping across the overlay", t_ping, 0},
	{"endpoint and network delete remove their links", t_teardown, 0},
};

static const char *find_ip(void)
{
	static const char *const paths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

int main(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	size_t ntests = sizeof(tests) / sizeof(tests[0]);
	int bail = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("Bail out! must run as root (creates network namespaces)\n");
		return 1;
	}
	ip_bin = find_ip();
	if (!ip_bin) {
		printf("Bail out! iproute2 (ip) not found\n");
		return 1;
	}
	snprintf(bridge_bin, sizeof(bridge_bin), "%.*sbridge",
		 (int)(strrchr(ip_bin, '/') - ip_bin + 1), ip_bin);
	orig_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < NS_NUM; i++) {
		snprintf(ns_name[i], sizeof(ns_name[i]), "vxkt-%d-%s", (int)getpid(), ns_sfx[i]);
		snprintf(ns_path[i], sizeof(ns_path[i]), "/run/netns/%s", ns_name[i]);
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	atexit(ns_del_all);
	alarm(TIMEOUT_S);

	printf("1..%zu\n", ntests);
	for (size_t i = 0; i < ntests; i++) {
		int ok;

		if (bail) {
			printf("#   not run: an earlier fatal step failed\n");
			report(0, tests[i].name);
			continue;
		}
		ok = tests[i].fn();
		report(ok, tests[i].name);
		if (!ok && tests[i].fatal)
			bail = 1;
	}
	vx_dp_destroy(dpa);
	vx_dp_destroy(dpb);
	vx_nl_close(nla);
	vx_nl_close(nlb);
	ns_del_all();
	printf("# %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
