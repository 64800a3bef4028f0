// SPDX-License-Identifier: MIT
/*
 * docker: Docker's legacy remote NetworkDriver + IpamDriver, and mirroring
 * of vxmesh networks into dockerd (see docker.h and docs/docker.md).
 *
 * Call order on `docker network create -d vxmesh --ipam-driver vxmesh N`:
 * RequestPool, (RequestAddress for aux addresses), CreateNetwork.  On
 * container start: RequestAddress, CreateEndpoint, Join; on stop: Leave,
 * DeleteEndpoint, ReleaseAddress.  Errors are HTTP 500 {"Err": "..."}
 * (api.c's Docker style) for both interfaces.
 *
 * Addresses come from the cluster-wide allocator: RequestAddress leases
 * (lease row owner "docker"), CreateEndpoint only records the endpoint, Join
 * creates the veth pair with its peer left in this namespace for Docker to
 * move into the container, and publishes the endpoint.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/reactor.h"
#include "driver/agent_int.h"
#include "driver/api.h"
#include "driver/cluster.h"
#include "driver/docker.h"
#include "driver/dockerc.h"
#include "driver/ipamc.h"
#include "driver/state.h"
#include "gossip/table.h"
#include "ipam/ipam.h"

#define DK_ID_MAX	  72 /* Docker ids are 64 hex characters */
#define DK_AUX_MAX	  16
#define LOOKUP_MS	  100
#define LOOKUP_TRIES	  100
#define MIRROR_MS	  2000
#define PRUNE_AFTER_LISTS 3
#define DOCKER_TIMEOUT_MS 15000
#define NS_POOL		  "docker.pool"
#define NS_NET		  "docker.net"
#define NS_EP		  "docker.ep"
#define OPT_GENERIC	  "com.docker.network.generic"

struct dk_pool {
	char id[DK_ID_MAX];
	struct addr_prefix pool;
	struct in_addr gw;
	int picked;    /* chosen by us (no --subnet) */
	unsigned refs; /* RequestPools not yet released: identical ones share the id */
	struct in_addr aux[DK_AUX_MAX];
	size_t naux;
};

struct dk_net {
	char id[DK_ID_MAX];
	char name[VX_NET_NAME_MAX]; /* "" until known */
	struct addr_prefix pool;
	struct in_addr gw;
	uint32_t vni;	  /* -o vxmesh.vni, 0 = any */
	unsigned mtu;	  /* -o com.docker.network.driver.mtu */
	int no_external;  /* -o vxmesh.external=false */
	char err[256];	  /* why it cannot be used */
	unsigned lookups; /* name lookups tried */
	int lookup_busy;
	unsigned unlisted; /* consecutive dockerd lists without it */
};

struct dk_ep {
	char id[DK_ID_MAX];
	char net[DK_ID_MAX]; /* Docker network id */
	struct in_addr ip;
	uint8_t mac[6];
	char vx[VX_EP_ID_LEN + 1]; /* vxmesh endpoint while joined, else "" */
	int own_lease;		   /* leased by CreateEndpoint (Docker's own IPAM) */
};

struct mirror_req {
	struct drv_docker *d;
	char name[VX_NET_NAME_MAX];
};

struct drv_docker {
	struct agent *a;
	struct dkc *dkc;
	struct rx_timer *lookup_timer, *mirror_timer;
	struct dk_pool *pools;
	size_t npools;
	struct dk_net *nets;
	size_t nnets;
	struct dk_ep *eps;
	size_t neps;
	struct mirror_req **creating; /* mirror creations in flight */
	size_t ncreating;
	int listing;
	pid_t fw_pid; /* iptables child in flight */
	int fw_step;  /* 0 check, 1 insert */
	int fw_warned;
	unsigned long long calls, errors, mirrored_in, mirrored_out;
};

/* ---- records ---- */

static const char *jstr(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n >= DK_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' || s[i] == '_' || s[i] == '.' ||
		      s[i] == '/'))
			return 0;
	return 1;
}

/* The rule of `vxmesh net create` (agent.c name_ok): truncating or passing
 * anything else on would bind two Docker networks to one vxmesh network. */
static int vxname_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= VX_NET_NAME_MAX || !isalnum((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return 0;
	return 1;
}

/* The address of "a.b.c.d/len" (or a plain address); 0 or -EINVAL. */
static int cidr_ip(const char *s, struct in_addr *ip)
{
	char buf[INET_ADDRSTRLEN];
	size_t l = strcspn(s, "/");

	if (l >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, l);
	buf[l] = '\0';
	return addr_parse_ip4(buf, ip) ? -EINVAL : 0;
}

static int prefix_eq(const struct addr_prefix *x, const struct addr_prefix *y)
{
	return x->addr.s_addr == y->addr.s_addr && x->len == y->len;
}

static struct dk_pool *pool_find(struct drv_docker *d, const char *id)
{
	for (size_t i = 0; i < d->npools; i++)
		if (!strcmp(d->pools[i].id, id))
			return &d->pools[i];
	return NULL;
}

static struct dk_net *net_find(struct drv_docker *d, const char *id)
{
	for (size_t i = 0; i < d->nnets; i++)
		if (!strcmp(d->nets[i].id, id))
			return &d->nets[i];
	return NULL;
}

static struct dk_ep *ep_find(struct drv_docker *d, const char *id)
{
	for (size_t i = 0; i < d->neps; i++)
		if (!strcmp(d->eps[i].id, id))
			return &d->eps[i];
	return NULL;
}

static int grow(void **arr, size_t n, size_t elsz)
{
	void *g = realloc(*arr, (n + 1) * elsz);

	if (!g)
		return -ENOMEM;
	*arr = g;
	return 0;
}

static void save(struct drv_docker *d, const char *ns, const char *key, json_t *o)
{
	char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int ret = txt ? drv_state_kv_put(d->a->st, ns, key, txt) : -ENOMEM;

	if (ret)
		log_err("docker: cannot store %s %s: %s", ns, key, strerror(-ret));
	free(txt);
	json_decref(o);
}

static void pool_save(struct drv_docker *d, const struct dk_pool *p)
{
	char sub[ADDR_PREFIX_STRLEN];
	json_t *aux = json_array();

	addr_fmt_prefix(&p->pool, sub);
	for (size_t i = 0; aux && i < p->naux; i++)
		json_array_append_new(aux, json_string(inet_ntoa(p->aux[i])));
	save(d, NS_POOL, p->id,
	     json_pack("{s:s,s:s,s:b,s:I,s:o}", "pool", sub, "gateway", inet_ntoa(p->gw), "picked",
		       p->picked, "refs", (json_int_t)p->refs, "aux", aux));
}

static void net_save(struct drv_docker *d, const struct dk_net *n)
{
	char sub[ADDR_PREFIX_STRLEN];

	addr_fmt_prefix(&n->pool, sub);
	save(d, NS_NET, n->id,
	     json_pack("{s:s,s:s,s:s,s:I,s:I,s:b}", "name", n->name, "pool", sub, "gateway",
		       inet_ntoa(n->gw), "vni", (json_int_t)n->vni, "mtu", (json_int_t)n->mtu,
		       "no_external", n->no_external));
}

static void ep_save(struct drv_docker *d, const struct dk_ep *e)
{
	char mac[ADDR_MAC_STRLEN];

	addr_fmt_mac(e->mac, mac);
	save(d, NS_EP, e->id,
	     json_pack("{s:s,s:s,s:s,s:s,s:b}", "net", e->net, "ip", inet_ntoa(e->ip), "mac", mac,
		       "vx", e->vx, "own_lease", e->own_lease));
}

static void pool_load_cb(void *arg, const char *key, const char *value)
{
	struct drv_docker *d = arg;
	json_t *o = json_loads(value, 0, NULL), *aux;
	struct dk_pool p = {0};
	const char *pool = jstr(o, "pool"), *gw = jstr(o, "gateway");

	if (!id_ok(key) || !pool || !gw || addr_parse_prefix(pool, 1, &p.pool) ||
	    addr_parse_ip4(gw, &p.gw) || grow((void **)&d->pools, d->npools, sizeof(p))) {
		log_warn("docker: stored pool %s is malformed; ignored", key);
		json_decref(o);
		return;
	}
	snprintf(p.id, sizeof(p.id), "%s", key);
	p.picked = json_is_true(json_object_get(o, "picked"));
	p.refs = (unsigned)json_integer_value(json_object_get(o, "refs")) ?: 1;
	aux = json_object_get(o, "aux");
	for (size_t i = 0; i < json_array_size(aux) && p.naux < DK_AUX_MAX; i++) {
		const char *s = json_string_value(json_array_get(aux, i));

		if (s && !addr_parse_ip4(s, &p.aux[p.naux]))
			p.naux++;
	}
	d->pools[d->npools++] = p;
	json_decref(o);
}

static void net_load_cb(void *arg, const char *key, const char *value)
{
	struct drv_docker *d = arg;
	json_t *o = json_loads(value, 0, NULL);
	struct dk_net n = {0};
	const char *name = jstr(o, "name"), *pool = jstr(o, "pool"), *gw = jstr(o, "gateway");

	if (!id_ok(key) || !name || strlen(name) >= sizeof(n.name) || !pool || !gw ||
	    addr_parse_prefix(pool, 1, &n.pool) || addr_parse_ip4(gw, &n.gw) ||
	    grow((void **)&d->nets, d->nnets, sizeof(n))) {
		log_warn("docker: stored network %s is malformed; ignored", key);
		json_decref(o);
		return;
	}
	snprintf(n.id, sizeof(n.id), "%s", key);
	snprintf(n.name, sizeof(n.name), "%s", name);
	n.vni = (uint32_t)json_integer_value(json_object_get(o, "vni"));
	n.mtu = (unsigned)json_integer_value(json_object_get(o, "mtu"));
	n.no_external = json_is_true(json_object_get(o, "no_external"));
	d->nets[d->nnets++] = n;
	json_decref(o);
}

static void ep_load_cb(void *arg, const char *key, const char *value)
{
	struct drv_docker *d = arg;
	json_t *o = json_loads(value, 0, NULL);
	struct dk_ep e = {0};
	const char *net = jstr(o, "net"), *ip = jstr(o, "ip"), *mac = jstr(o, "mac"),
		   *vx = jstr(o, "vx");

	if (!id_ok(key) || !id_ok(net) || !ip || !mac || !vx || strlen(vx) > VX_EP_ID_LEN ||
	    addr_parse_ip4(ip, &e.ip) || addr_parse_mac(mac, e.mac) ||
	    grow((void **)&d->eps, d->neps, sizeof(e))) {
		log_warn("docker: stored endpoint %s is malformed; ignored", key);
		json_decref(o);
		return;
	}
	snprintf(e.id, sizeof(e.id), "%s", key);
	snprintf(e.net, sizeof(e.net), "%s", net);
	snprintf(e.vx, sizeof(e.vx), "%s", vx);
	e.own_lease = json_is_true(json_object_get(o, "own_lease"));
	d->eps[d->neps++] = e;
	json_decref(o);
}

/* ---- helpers shared by the handlers ---- */

static struct drv_docker *dk(void *arg)
{
	struct agent *a = arg;

	a->dk->calls++;
	return a->dk;
}

static void dk_err(struct drv_docker *d, struct api_resp *resp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void dk_err(struct drv_docker *d, struct api_resp *resp, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->errors++;
	log_warn("docker: %s", msg);
	api_error(resp, 500, "docker", "vxmesh: %s", msg);
}

/* agent_lease() answered with an error (or deferred): mark it as ours. */
static void dk_lease_err(struct drv_docker *d, struct api_resp *resp)
{
	const char *msg = jstr(resp->body, "Err");
	char buf[600];

	if (resp->deferred || !msg)
		return;
	d->errors++;
	snprintf(buf, sizeof(buf), "vxmesh: %s", msg);
	json_object_set_new(resp->body, "Err", json_string(buf));
}

static json_t *empty(void)
{
	return json_object();
}

/* The vxmesh network n is bound to differs from what Docker was told (it
 * was replaced in the cluster, or the binding failed before a restart). */
static int mismatch(const struct dk_net *n, const struct agent_net *an, char *why, size_t len)
{
	char sub[ADDR_PREFIX_STRLEN], have[ADDR_PREFIX_STRLEN];

	addr_fmt_prefix(&n->pool, sub);
	addr_fmt_prefix(&an->rec.subnet, have);
	if (!prefix_eq(&n->pool, &an->rec.subnet))
		snprintf(why, len,
			 "the vxmesh network \"%s\" has subnet %s, not %s: create the Docker "
			 "network with --subnet %s (or pick another name)",
			 an->rec.name, have, sub, have);
	else if (n->vni && n->vni != an->rec.vni)
		snprintf(why, len,
			 "the vxmesh network \"%s\" has VNI %u, not %u: drop -o vxmesh.vni or use "
			 "-o vxmesh.vni=%u",
			 an->rec.name, an->rec.vni, n->vni, an->rec.vni);
	else
		return 0;
	return 1;
}

/* The vxmesh network behind a Docker network, or NULL with resp set
 * (error, or deferred while its name is looked up). */
static struct agent_net *dk_vxnet(struct drv_docker *d, const struct api_req *req,
				  struct api_resp *resp, const char *netid)
{
	struct dk_net *n = netid ? net_find(d, netid) : NULL;
	struct agent_net *an;
	char why[sizeof(n->err)];

	if (!n) {
		dk_err(d, resp,
		       "unknown network %.12s: vxmesh has no record of it (was it created while "
		       "the agent ran with another state directory?); remove and create it again",
		       netid ? netid : "(none)");
		return NULL;
	}
	if (n->err[0]) {
		dk_err(d, resp, "%s", n->err);
		return NULL;
	}
	an = n->name[0] ? agent_net_find(d->a, n->name) : NULL;
	if (an && mismatch(n, an, why, sizeof(why))) {
		dk_err(d, resp, "%s", why);
		return NULL;
	}
	if (an)
		return an;
	if (req->expired && n->name[0])
		dk_err(d, resp,
		       "network %.12s is not ready: its vxmesh network \"%s\" has not reached this "
		       "host (see vxmesh net ls and the agent's log)",
		       n->id, n->name);
	else if (req->expired)
		dk_err(d, resp,
		       "network %.12s is not ready: its name is unknown (is dockerd's API socket "
		       "reachable at %s? else create the network with -o vxmesh.name=NAME)",
		       n->id, d->a->cfg.docker_socket);
	else
		api_defer(resp, IPAMC_DEFER_MS);
	return NULL;
}

/* The Docker network (pool) an IPAM PoolID belongs to: the local vxmesh
 * network with exactly that subnet. */
static struct agent_net *vxnet_by_subnet(struct agent *a, const struct addr_prefix *p)
{
	for (size_t i = 0; i < a->nnets; i++)
		if (a->nets[i].rec.subnet.addr.s_addr == p->addr.s_addr &&
		    a->nets[i].rec.subnet.len == p->len)
			return &a->nets[i];
	return NULL;
}

/* ---- binding a Docker network to a vxmesh network ---- */

/* Create or join vxmesh network name for n.  0, or -1 with n->err set. */
static int dk_bind(struct drv_docker *d, struct dk_net *n, const char *name)
{
	struct agent *a = d->a;
	char err[160];
	struct drv_net_rec rec = {0};
	struct agent_net *an;
	unsigned status;

	snprintf(n->name, sizeof(n->name), "%s", name);
	an = agent_net_find(a, name);
	if (an)
		return mismatch(n, an, n->err, sizeof(n->err)) ? -1 : 0;
	/* Known to the cluster, not yet made here: bound by name; dk_vxnet()
	 * checks it when it arrives. */
	if (drv_cluster_get(a, GT_KIND_NET, name))
		return 0;
	snprintf(rec.name, sizeof(rec.name), "%s", name);
	rec.subnet = n->pool;
	rec.gw = n->gw;
	rec.vni = n->vni;
	rec.mtu = n->mtu;
	rec.port = (uint16_t)a->cfg.vxlan_port;
	status = agent_net_create(a, &rec, err, sizeof(err));
	if (status != 201) {
		snprintf(n->err, sizeof(n->err), "cannot create vxmesh network \"%s\": %s", name,
			 err);
		return -1;
	}
	log_info("docker: network %.12s is vxmesh network %s (created)", n->id, name);
	return 0;
}

static void lookup_done(void *arg, int err, long status, json_t *body, const char *msg);
static void records_apply(struct drv_docker *d);

static void lookup_start(struct drv_docker *d)
{
	for (size_t i = 0; i < d->nnets; i++) {
		struct dk_net *n = &d->nets[i];
		char path[128];

		if (n->name[0] || n->err[0] || n->lookup_busy || !d->dkc)
			continue;
		snprintf(path, sizeof(path), "/networks/%s", n->id);
		if (dkc_request(d->dkc, "GET", path, NULL, DOCKER_TIMEOUT_MS, lookup_done, d) == 0)
			n->lookup_busy = 1;
	}
}

static void lookup_timer_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	lookup_start(arg);
}

static void lookup_done(void *arg, int err, long status, json_t *body, const char *msg)
{
	struct drv_docker *d = arg;
	const char *id = jstr(body, "Id"), *name = jstr(body, "Name");
	int again = 0;

	for (size_t i = 0; i < d->nnets; i++) {
		struct dk_net *n = &d->nets[i];
		int ret;

		if (!n->lookup_busy || (id && strcmp(id, n->id)))
			continue;
		if (!id) {
			/* No answer to tell which: each failed one counts a try. */
			n->lookup_busy = 0;
			if (++n->lookups >= LOOKUP_TRIES)
				snprintf(n->err, sizeof(n->err),
					 "cannot learn the name of Docker network %.12s from "
					 "dockerd "
					 "(%s); create it with -o vxmesh.name=NAME",
					 n->id, err ? strerror(-err) : msg);
			else
				again = 1;
			break;
		}
		n->lookup_busy = 0;
		if (!name || !name[0]) {
			again = 1;
			continue;
		}
		if (!vxname_ok(name)) {
			snprintf(n->err, sizeof(n->err),
				 "Docker network name \"%.80s\" cannot be a vxmesh network name "
				 "(at most %d of A-Z a-z 0-9 _ . -); create it with "
				 "-o vxmesh.name=NAME",
				 name, VX_NET_NAME_MAX - 1);
			ret = -1;
		} else {
			ret = dk_bind(d, n, name);
		}
		/* A failed binding is not stored: it is looked up (and its error
		 * found) again after a restart. */
		if (ret < 0)
			n->name[0] = '\0';
		net_save(d, n);
		records_apply(d);
		agent_api_retry(d->a);
	}
	(void)status;
	if (again)
		rx_timer_arm(d->lookup_timer, LOOKUP_MS, 0);
}

/* ---- NetworkDriver ---- */

static void h_activate(void *arg, const struct api_req *req, struct api_resp *resp)
{
	resp->body = json_pack("{s:[s,s]}", "Implements", "NetworkDriver", "IpamDriver");
}

static void h_net_caps(void *arg, const struct api_req *req, struct api_resp *resp)
{
	resp->body = json_pack("{s:s,s:s}", "Scope", "local", "ConnectivityScope", "global");
}

static void h_ok(void *arg, const struct api_req *req, struct api_resp *resp)
{
	resp->body = empty();
}

/* Options of CreateNetwork: -o k=v arrive under com.docker.network.generic. */
static int net_opts(struct drv_docker *d, const json_t *opts, struct dk_net *n, char *name,
		    struct api_resp *resp)
{
	const json_t *gen = json_object_get(opts, OPT_GENERIC);
	const char *k;
	json_t *v;

	name[0] = '\0';
	json_object_foreach((json_t *)gen, k, v)
	{
		const char *s = json_string_value(v);
		unsigned long num;

		if (!s)
			continue;
		if (!strcmp(k, "vxmesh.name")) {
			if (!vxname_ok(s)) {
				dk_err(d, resp,
				       "-o vxmesh.name=%.80s: expected 1-%d of A-Z a-z 0-9 _ . - "
				       "starting with a letter or digit",
				       s, VX_NET_NAME_MAX - 1);
				return -1;
			}
			snprintf(name, VX_NET_NAME_MAX, "%s", s);
		} else if (!strcmp(k, "vxmesh.vni")) {
			char *end;

			num = strtoul(s, &end, 10);
			if (*end || !*s || num < 1 || num > VX_VNI_MAX) {
				dk_err(d, resp, "-o vxmesh.vni=%s: expected 1-%u", s, VX_VNI_MAX);
				return -1;
			}
			n->vni = (uint32_t)num;
		} else if (!strcmp(k, "com.docker.network.driver.mtu") ||
			   !strcmp(k, "vxmesh.mtu")) {
			char *end;

			num = strtoul(s, &end, 10);
			if (*end || !*s || num < 576 || num > 65535) {
				dk_err(d, resp, "-o %s=%s: expected 576-65535", k, s);
				return -1;
			}
			n->mtu = (unsigned)num;
		} else if (!strcmp(k, "vxmesh.external")) {
			if (strcmp(s, "true") && strcmp(s, "false")) {
				dk_err(d, resp, "-o vxmesh.external=%s: expected true or false", s);
				return -1;
			}
			n->no_external = !strcmp(s, "false");
		} else if (!strncmp(k, "vxmesh.", 7)) {
			dk_err(d, resp,
			       "unknown option -o %s (known: vxmesh.name, vxmesh.vni, vxmesh.mtu, "
			       "vxmesh.external)",
			       k);
			return -1;
		}
	}
	return 0;
}

static void h_create_network(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_docker *d = dk(arg);
	const char *id = jstr(req->body, "NetworkID"), *pool, *gw;
	const json_t *v4 = json_object_get(req->body, "IPv4Data"), *v6;
	char name[VX_NET_NAME_MAX];
	struct dk_net n = {0};

	if (!id_ok(id)) {
		dk_err(d, resp, "CreateNetwork without a valid NetworkID");
		return;
	}
	v6 = json_object_get(req->body, "IPv6Data");
	if (json_array_size(v6)) {
		dk_err(d, resp, "IPv6 is not supported; create the network without --ipv6");
		return;
	}
	if (json_array_size(v4) != 1) {
		dk_err(d, resp, "exactly one IPv4 subnet is supported (got %zu)",
		       json_array_size(v4));
		return;
	}
	pool = jstr(json_array_get(v4, 0), "Pool");
	gw = jstr(json_array_get(v4, 0), "Gateway");
	if (!pool || addr_parse_prefix(pool, 1, &n.pool) || n.pool.len < IPAM_PLEN_MIN ||
	    n.pool.len > IPAM_PLEN_MAX) {
		dk_err(d, resp, "subnet \"%s\": expected an IPv4 CIDR from /%d to /%d",
		       pool ? pool : "", IPAM_PLEN_MIN, IPAM_PLEN_MAX);
		return;
	}
	if (gw) {
		if (cidr_ip(gw, &n.gw) || !addr_prefix_contains(&n.pool, n.gw)) {
			dk_err(d, resp, "gateway \"%s\" is not inside %s", gw, pool);
			return;
		}
	}
	snprintf(n.id, sizeof(n.id), "%s", id);
	if (net_opts(d, json_object_get(req->body, "Options"), &n, name, resp))
		return;
	if (net_find(d, id)) {
		resp->body = empty(); /* a repeated call */
		return;
	}
	/* Only the same subnet can be the same network; refuse overlaps now. */
	for (size_t i = 0; i < d->a->nnets; i++) {
		const struct agent_net *an = &d->a->nets[i];
		char sub[ADDR_PREFIX_STRLEN];

		if (!addr_prefix_overlaps(&an->rec.subnet, &n.pool) ||
		    (an->rec.subnet.addr.s_addr == n.pool.addr.s_addr &&
		     an->rec.subnet.len == n.pool.len))
			continue;
		addr_fmt_prefix(&an->rec.subnet, sub);
		dk_err(d, resp, "subnet %s overlaps vxmesh network \"%s\" (%s)", pool, an->rec.name,
		       sub);
		return;
	}
	if (grow((void **)&d->nets, d->nnets, sizeof(n))) {
		dk_err(d, resp, "out of memory");
		return;
	}
	if (name[0] && dk_bind(d, &n, name)) {
		dk_err(d, resp, "%s", n.err);
		return;
	}
	d->nets[d->nnets++] = n;
	net_save(d, &n);
	records_apply(d);
	if (!n.name[0]) {
		d->nets[d->nnets - 1].lookups = 0;
		rx_timer_arm(d->lookup_timer, LOOKUP_MS, 0);
	}
	log_info("docker: network %.12s created (subnet %s%s%s)", id, pool, n.name[0] ? ", " : "",
		 n.name);
	resp->body = empty();
}

static void ep_drop(struct drv_docker *d, struct dk_ep *e);

static void h_delete_network(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_docker *d = dk(arg);
	const char *id = jstr(req->body, "NetworkID");
	struct dk_net *n = id ? net_find(d, id) : NULL;
	struct agent_net *an;
	char err[256];
	int shared = 0;

	if (!n) {
		resp->body = empty(); /* nothing of ours: already gone */
		return;
	}
	/* Only the vxmesh network this Docker network really uses, and only
	 * when no other Docker network here is bound to it. */
	an = n->name[0] && !n->err[0] ? agent_net_find(d->a, n->name) : NULL;
	if (an && mismatch(n, an, err, sizeof(err)))
		an = NULL;
	for (size_t i = 0; an && i < d->nnets; i++)
		shared |=
			&d->nets[i] != n && !d->nets[i].err[0] && !strcmp(d->nets[i].name, n->name);
	/* dockerd deletes networks without endpoints only: ours left on it are
	 * stale (dockerd lost them) and would keep the vxmesh network busy. */
	for (size_t i = 0; i < d->neps;) {
		if (strcmp(d->eps[i].net, n->id)) {
			i++;
			continue;
		}
		log_warn("docker: network %.12s is deleted: dropping its stale endpoint %.12s",
			 n->id, d->eps[i].id);
		ep_drop(d, &d->eps[i]);
	}
	if (an && !shared) {
		unsigned status = agent_net_destroy(d->a, n->name, err, sizeof(err));

		if (status != 200) {
			dk_err(d, resp,
			       "%s (a Docker network vxmesh is one network on every host; it goes "
			       "when no host uses it)",
			       err);
			return;
		}
		log_info("docker: network %s removed cluster-wide", n->name);
	}
	(void)drv_state_kv_delete(d->a->st, NS_NET, n->id);
	*n = d->nets[--d->nnets];
	resp->body = empty();
}

/* Leased here by RequestAddress (a lease row owned by "docker"). */
static int docker_leased(struct drv_docker *d, const char *net, struct in_addr ip)
{
	struct drv_lease_rec *l = NULL;
	size_t n = 0;
	int found = 0;

	if (drv_state_lease_list(d->a->st, net, &l, &n))
		return 0;
	for (size_t i = 0; i < n && !found; i++)
		found = l[i].ip.s_addr == ip.s_addr && !strcmp(l[i].owner, "docker");
	free(l);
	return found;
}

static void h_create_endpoint(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_docker *d = dk(arg);
	const char *netid = jstr(req->body, "NetworkID"), *epid = jstr(req->body, "EndpointID");
	const json_t *itf = json_object_get(req->body, "Interface");
	const char *addr = jstr(itf, "Address"), *mac = jstr(itf, "MacAddress"),
		   *addr6 = jstr(itf, "AddressIPv6");
	struct agent_net *an;
	struct dk_ep e = {0};
	char ip[INET_ADDRSTRLEN], macs[ADDR_MAC_STRLEN];
	int chose_mac = 0;

	if (!id_ok(epid)) {
		dk_err(d, resp, "CreateEndpoint without a valid EndpointID");
		return;
	}
	if (ep_find(d, epid)) {
		dk_err(d, resp, "endpoint %.12s already exists", epid);
		return;
	}
	if (addr6 && addr6[0]) {
		dk_err(d, resp, "IPv6 addresses are not supported");
		return;
	}
	an = dk_vxnet(d, req, resp, netid);
	if (!an)
		return;
	if (!addr || !addr[0]) {
		dk_err(d, resp, "endpoint %.12s has no IPv4 address (use --ipam-driver vxmesh)",
		       epid);
		return;
	}
	if (cidr_ip(addr, &e.ip) || !addr_prefix_contains(&an->rec.subnet, e.ip)) {
		dk_err(d, resp, "address %s is not inside network %s", addr, an->rec.name);
		return;
	}
	if (mac && mac[0]) {
		if (addr_parse_mac(mac, e.mac) || !addr_mac_is_unicast(e.mac)) {
			dk_err(d, resp, "MAC %s is not a unicast MAC address", mac);
			return;
		}
	} else {
		if (getrandom(e.mac, sizeof(e.mac), 0) != (ssize_t)sizeof(e.mac)) {
			dk_err(d, resp, "no randomness for a MAC address");
			return;
		}
		e.mac[0] = (uint8_t)((e.mac[0] & 0xfe) | 0x02);
		chose_mac = 1;
	}
	inet_ntop(AF_INET, &e.ip, ip, sizeof(ip));
	for (size_t i = 0; i < d->neps; i++) {
		const struct dk_net *o = net_find(d, d->eps[i].net);

		if (d->eps[i].ip.s_addr == e.ip.s_addr && o && !strcmp(o->name, an->rec.name)) {
			dk_err(d, resp, "address %s is already in use by endpoint %.12s", ip,
			       d->eps[i].id);
			return;
		}
	}
	if (grow((void **)&d->eps, d->neps, sizeof(e))) {
		dk_err(d, resp, "out of memory");
		return;
	}
	/* Not from our RequestAddress (Docker's own IPAM gave it): lease it
	 * cluster-wide here, which fails if any host holds it. */
	if (!docker_leased(d, an->rec.name, e.ip)) {
		struct drv_lease_rec l = {.ip = e.ip, .created = time(NULL)};
		struct in_addr got;
		int ret;

		if (agent_lease(d->a, an, &e.ip, &got, req, resp)) {
			dk_lease_err(d, resp);
			return;
		}
		snprintf(l.net, sizeof(l.net), "%s", an->rec.name);
		snprintf(l.owner, sizeof(l.owner), "docker");
		ret = drv_state_lease_insert(d->a->st, &l);
		if (ret) {
			ipamc_release(d->a, an, e.ip);
			dk_err(d, resp, "state database: %s", strerror(-ret));
			return;
		}
		e.own_lease = 1;
	}
	snprintf(e.id, sizeof(e.id), "%s", epid);
	snprintf(e.net, sizeof(e.net), "%s", netid);
	d->eps[d->neps++] = e;
	ep_save(d, &e);
	addr_fmt_mac(e.mac, macs);
	resp->body = chose_mac ? json_pack("{s:{s:s}}", "Interface", "MacAddress", macs) : empty();
}

static void release_lease(struct drv_docker *d, const char *net, struct in_addr ip)
{
	struct agent_net *an = agent_net_find(d->a, net);

	(void)drv_state_lease_delete(d->a->st, net, ip);
	if (an)
		ipamc_release(d->a, an, ip);
}

static void leave(struct drv_docker *d, struct dk_ep *e)
{
	struct agent_ep *ae = e->vx[0] ? agent_ep_find(d->a, e->vx) : NULL;

	if (ae && agent_ep_remove(d->a, ae, 0))
		log_err("docker: endpoint %.12s: cannot remove vxmesh endpoint %s", e->id, e->vx);
	e->vx[0] = '\0';
}

/* Leave, release what CreateEndpoint leased, forget e (swap-removed). */
static void ep_drop(struct drv_docker *d, struct dk_ep *e)
{
	struct dk_net *n = net_find(d, e->net);

	leave(d, e);
	if (e->own_lease && n && n->name[0])
		release_lease(d, n->name, e->ip);
	(void)drv_state_kv_delete(d->a->st, NS_EP, e->id);
	*e = d->eps[--d->neps];
}

static void h_delete_endpoint(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_docker *d = dk(arg);
	const char *epid = jstr(req->body, "EndpointID");
	struct dk_ep *e = epid ? ep_find(d, epid) : NULL;

	/* Unknown: dockerd cleans up endpoints of dead containers at start. */
	if (e)
		ep_drop(d, e);
	resp->body = empty();
}

static void h_join(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_docker *d = dk(arg);
	const char *epid = jstr(req->body, "EndpointID"), *netid = jstr(req->body, "NetworkID");
	struct dk_ep *e = epid ? ep_find(d, epid) : NULL;
	struct drv_ep_rec rec = {0};
	struct agent_net *an;
	struct dk_net *n;
	uint8_t rnd[VX_EP_ID_LEN / 2];
	char err[256];
	unsigned status;

	if (!e || !netid || strcmp(e->net, netid)) {
		dk_err(d, resp,
		       "unknown endpoint %.12s in network %.12s: vxmesh has no record of it; "
		       "remove the container and start it again",
		       epid ? epid : "", netid ? netid : "");
		return;
	}
	an = dk_vxnet(d, req, resp, netid);
	if (!an)
		return;
	n = net_find(d, netid);
	if (e->vx[0] && !agent_ep_find(d->a, e->vx)) {
		/* Its vxmesh endpoint was removed behind Docker's back (vxmesh ep
		 * rm, lost state): SrcName would name nothing, make a new one. */
		log_warn("docker: endpoint %.12s: vxmesh endpoint %s is gone; creating another",
			 e->id, e->vx);
		e->vx[0] = '\0';
	}
	if (!e->vx[0]) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			dk_err(d, resp, "no randomness for an endpoint id");
			return;
		}
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(rec.id + 2 * i, 3, "%02x", rnd[i]);
		snprintf(rec.net, sizeof(rec.net), "%s", an->rec.name);
		snprintf(rec.ifname, sizeof(rec.ifname), "vxd%.12s", rec.id);
		rec.ip = e->ip;
		memcpy(rec.mac, e->mac, 6);
		rec.created = time(NULL);
		status = agent_ep_add(d->a, an, &rec, 0, err, sizeof(err));
		if (status != 201) {
			dk_err(d, resp, "cannot create the interface: %s", err);
			return;
		}
		snprintf(e->vx, sizeof(e->vx), "%s", rec.id);
		ep_save(d, e);
	}
	snprintf(err, sizeof(err), "vxd%.12s", e->vx);
	resp->body = json_pack("{s:{s:s,s:s},s:b}", "InterfaceName", "SrcName", err, "DstPrefix",
			       "eth", "DisableGatewayService", n && n->no_external);
}

static void h_leave(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_docker *d = dk(arg);
	const char *epid = jstr(req->body, "EndpointID");
	struct dk_ep *e = epid ? ep_find(d, epid) : NULL;

	if (e) {
		leave(d, e);
		ep_save(d, e);
	}
	resp->body = empty();
}

static void h_oper_info(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_docker *d = dk(arg);
	const char *epid = jstr(req->body, "EndpointID");
	struct dk_ep *e = epid ? ep_find(d, epid) : NULL;
	struct dk_net *n = e ? net_find(d, e->net) : NULL;

	if (!e) {
		dk_err(d, resp,
		       "unknown endpoint %.12s: vxmesh has no record of it; remove the container "
		       "and start it again",
		       epid ? epid : "");
		return;
	}
	resp->body = json_pack("{s:{s:s,s:s}}", "Value", "vxmesh.endpoint", e->vx, "vxmesh.network",
			       n ? n->name : "");
}

/* ---- IpamDriver ---- */

static void h_ipam_caps(void *arg, const struct api_req *req, struct api_resp *resp)
{
	resp->body = json_pack("{s:b,s:b}", "RequiresMACAddress", 0, "RequiresRequestReplay", 0);
}

static void h_spaces(void *arg, const struct api_req *req, struct api_resp *resp)
{
	resp->body = json_pack("{s:s,s:s}", "LocalDefaultAddressSpace", "vxmesh",
			       "GlobalDefaultAddressSpace", "vxmesh");
}

static void h_request_pool(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_docker *d = dk(arg);
	const char *pool = jstr(req->body, "Pool"), *sub = jstr(req->body, "SubPool");
	char id[ADDR_PREFIX_STRLEN + 16], s[ADDR_PREFIX_STRLEN], gw[ADDR_PREFIX_STRLEN + 4];
	struct dk_pool p = {0}, *have;
	struct agent_net *an;

	if (json_is_true(json_object_get(req->body, "V6"))) {
		dk_err(d, resp, "IPv6 is not supported; create the network without --ipv6");
		return;
	}
	if (sub && sub[0]) {
		dk_err(d, resp, "--ip-range is not supported: the whole subnet is shared");
		return;
	}
	if (pool && pool[0]) {
		if (addr_parse_prefix(pool, 1, &p.pool) || p.pool.len < IPAM_PLEN_MIN ||
		    p.pool.len > IPAM_PLEN_MAX) {
			dk_err(d, resp,
			       "subnet \"%s\": expected an IPv4 CIDR from /%d to /%d "
			       "with no host bits set",
			       pool, IPAM_PLEN_MIN, IPAM_PLEN_MAX);
			return;
		}
	} else {
		/* Docker asks again while earlier picks overlap host routes; never
		 * hand out a pool that is held. */
		struct addr_prefix held[64];
		size_t nheld = 0;

		for (size_t i = 0; i < d->npools && nheld < 64; i++)
			held[nheld++] = d->pools[i].pool;
		if (ipamc_subnet_pick(d->a, held, nheld, &p.pool)) {
			dk_err(d, resp, "no unused /%u left in the default pool %s; give --subnet",
			       d->a->cfg.default_subnet_len, d->a->cfg.default_pool);
			return;
		}
		p.picked = 1;
	}
	addr_fmt_prefix(&p.pool, s);
	snprintf(id, sizeof(id), "vxmesh-%s", s);
	*strchr(id, '/') = '_';
	have = pool_find(d, id);
	an = vxnet_by_subnet(d->a, &p.pool);
	if (have) {
		have->refs++;
		pool_save(d, have);
		p = *have;
	} else {
		p.refs = 1;
		if (an)
			p.gw = an->rec.gw;
		else
			p.gw.s_addr = htonl(ntohl(p.pool.addr.s_addr) + 1);
		snprintf(p.id, sizeof(p.id), "%s", id);
		if (grow((void **)&d->pools, d->npools, sizeof(p))) {
			dk_err(d, resp, "out of memory");
			return;
		}
		d->pools[d->npools++] = p;
		pool_save(d, &p);
	}
	resp->body = json_pack("{s:s,s:s,s:{}}", "PoolID", id, "Pool", s, "Data");
	if (p.gw.s_addr) {
		snprintf(gw, sizeof(gw), "%s/%u", inet_ntoa(p.gw), p.pool.len);
		json_object_set_new(json_object_get(resp->body, "Data"),
				    "com.docker.network.gateway", json_string(gw));
	}
}

static void h_release_pool(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_docker *d = dk(arg);
	const char *id = jstr(req->body, "PoolID");
	struct dk_pool *p = id ? pool_find(d, id) : NULL;

	if (p && p->refs > 1) {
		p->refs--;
		pool_save(d, p);
	} else if (p) {
		(void)drv_state_kv_delete(d->a->st, NS_POOL, p->id);
		*p = d->pools[--d->npools];
	}
	resp->body = empty();
}

static void h_request_address(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_docker *d = dk(arg);
	const char *id = jstr(req->body, "PoolID"), *addr = jstr(req->body, "Address");
	const char *type = jstr(json_object_get(req->body, "Options"), "RequestAddressType");
	struct dk_pool *p = id ? pool_find(d, id) : NULL;
	struct drv_lease_rec l = {.created = time(NULL)};
	struct in_addr want, got;
	struct agent_net *an;
	char out[ADDR_PREFIX_STRLEN + 4];
	int ret;

	if (!p) {
		dk_err(d, resp,
		       "unknown pool %s: vxmesh has no record of it; remove the network and create "
		       "it again",
		       id ? id : "(none)");
		return;
	}
	if (addr && addr[0] &&
	    (addr_parse_ip4(addr, &want) || !addr_prefix_contains(&p->pool, want))) {
		char s[ADDR_PREFIX_STRLEN];

		addr_fmt_prefix(&p->pool, s);
		dk_err(d, resp, "address \"%s\" is not inside the network's subnet %s", addr, s);
		return;
	}
	if (type && !strcmp(type, "com.docker.network.gateway")) {
		if (addr && addr[0])
			p->gw = want;
		pool_save(d, p);
		snprintf(out, sizeof(out), "%s/%u", inet_ntoa(p->gw), p->pool.len);
		resp->body = json_pack("{s:s,s:{}}", "Address", out, "Data");
		return;
	}
	an = vxnet_by_subnet(d->a, &p->pool);
	for (size_t i = 0; !an && i < d->nnets; i++) {
		/* A container's address on a network not bound yet: wait for it. */
		if (!prefix_eq(&d->nets[i].pool, &p->pool))
			continue;
		an = dk_vxnet(d, req, resp, d->nets[i].id);
		if (!an)
			return;
	}
	if (!an) {
		/* Before CreateNetwork: an --aux-address, held once the network exists. */
		if (!addr || !addr[0]) {
			dk_err(d, resp, "pool %s has no network yet", p->id);
			return;
		}
		if (p->naux >= DK_AUX_MAX) {
			dk_err(d, resp, "at most %d --aux-address per network", DK_AUX_MAX);
			return;
		}
		p->aux[p->naux++] = want;
		pool_save(d, p);
		snprintf(out, sizeof(out), "%s/%u", addr, p->pool.len);
		resp->body = json_pack("{s:s,s:{}}", "Address", out, "Data");
		return;
	}
	if (agent_lease(d->a, an, addr && addr[0] ? &want : NULL, &got, req, resp)) {
		dk_lease_err(d, resp);
		return;
	}
	l.ip = got;
	snprintf(l.net, sizeof(l.net), "%s", an->rec.name);
	snprintf(l.owner, sizeof(l.owner), "docker");
	ret = drv_state_lease_insert(d->a->st, &l);
	if (ret) {
		ipamc_release(d->a, an, got);
		dk_err(d, resp, "state database: %s", strerror(-ret));
		return;
	}
	snprintf(out, sizeof(out), "%s/%u", inet_ntoa(got), p->pool.len);
	resp->body = json_pack("{s:s,s:{}}", "Address", out, "Data");
}

static void h_release_address(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_docker *d = dk(arg);
	const char *id = jstr(req->body, "PoolID"), *addr = jstr(req->body, "Address");
	struct dk_pool *p = id ? pool_find(d, id) : NULL;
	struct agent_net *an;
	struct in_addr ip;

	resp->body = empty();
	if (!p || !addr || addr_parse_ip4(addr, &ip) || ip.s_addr == p->gw.s_addr)
		return;
	an = vxnet_by_subnet(d->a, &p->pool);
	if (!an)
		return;
	/* Only leases RequestAddress made (not --aux-address reservations,
	 * not leases of `vxmesh ep create`), and none still in use. */
	if (!docker_leased(d, an->rec.name, ip))
		return;
	for (size_t i = 0; i < d->a->neps; i++)
		if (!strcmp(d->a->eps[i].rec.net, an->rec.name) &&
		    d->a->eps[i].rec.ip.s_addr == ip.s_addr) {
			log_warn("docker: ReleaseAddress %s while endpoint %s uses it; kept", addr,
				 d->a->eps[i].rec.id);
			return;
		}
	for (size_t i = 0; i < d->neps; i++) {
		const struct dk_net *n = net_find(d, d->eps[i].net);

		if (d->eps[i].ip.s_addr == ip.s_addr && n && !strcmp(n->name, an->rec.name)) {
			log_warn("docker: ReleaseAddress %s of Docker endpoint %.12s; kept", addr,
				 d->eps[i].id);
			return;
		}
	}
	release_lease(d, an->rec.name, ip);
}

static const struct api_route routes[] = {
	{"POST", "/Plugin.Activate", h_activate, NULL},
	{"POST", "/NetworkDriver.GetCapabilities", h_net_caps, NULL},
	{"POST", "/NetworkDriver.CreateNetwork", h_create_network, NULL},
	{"POST", "/NetworkDriver.DeleteNetwork", h_delete_network, NULL},
	{"POST", "/NetworkDriver.AllocateNetwork", h_ok, NULL},
	{"POST", "/NetworkDriver.FreeNetwork", h_ok, NULL},
	{"POST", "/NetworkDriver.CreateEndpoint", h_create_endpoint, NULL},
	{"POST", "/NetworkDriver.DeleteEndpoint", h_delete_endpoint, NULL},
	{"POST", "/NetworkDriver.EndpointOperInfo", h_oper_info, NULL},
	{"POST", "/NetworkDriver.Join", h_join, NULL},
	{"POST", "/NetworkDriver.Leave", h_leave, NULL},
	{"POST", "/NetworkDriver.ProgramExternalConnectivity", h_ok, NULL},
	{"POST", "/NetworkDriver.RevokeExternalConnectivity", h_ok, NULL},
	{"POST", "/NetworkDriver.DiscoverNew", h_ok, NULL},
	{"POST", "/NetworkDriver.DiscoverDelete", h_ok, NULL},
	{"POST", "/IpamDriver.GetCapabilities", h_ipam_caps, NULL},
	{"POST", "/IpamDriver.GetDefaultAddressSpaces", h_spaces, NULL},
	{"POST", "/IpamDriver.RequestPool", h_request_pool, NULL},
	{"POST", "/IpamDriver.ReleasePool", h_release_pool, NULL},
	{"POST", "/IpamDriver.RequestAddress", h_request_address, NULL},
	{"POST", "/IpamDriver.ReleaseAddress", h_release_address, NULL},
};

/* ---- mirroring vxmesh networks into dockerd ---- */

static int creating(struct drv_docker *d, const char *name)
{
	for (size_t i = 0; i < d->ncreating; i++)
		if (!strcmp(d->creating[i]->name, name))
			return 1;
	return 0;
}

static void create_done(void *arg, int err, long status, json_t *body, const char *msg)
{
	struct mirror_req *m = arg;
	struct drv_docker *d = m->d;

	for (size_t i = 0; i < d->ncreating; i++)
		if (d->creating[i] == m) {
			d->creating[i] = d->creating[--d->ncreating];
			break;
		}
	if (err || status >= 300) {
		if (status != 409) /* created meanwhile, by the user or a previous pass */
			log_warn("docker: cannot mirror network %s into dockerd: %s", m->name,
				 err ? strerror(-err) : msg);
	} else {
		d->mirrored_in++;
		log_info("docker: network %s mirrored into dockerd", m->name);
	}
	free(m);
}

static void mirror_create(struct drv_docker *d, const struct agent_net *an)
{
	char sub[ADDR_PREFIX_STRLEN];
	struct mirror_req *m, **g;
	json_t *cfg, *body;

	addr_fmt_prefix(&an->rec.subnet, sub);
	cfg = json_pack("{s:s}", "Subnet", sub);
	if (cfg && an->rec.gw.s_addr)
		json_object_set_new(cfg, "Gateway", json_string(inet_ntoa(an->rec.gw)));
	body = json_pack("{s:s,s:s,s:b,s:{s:s,s:[o]},s:{s:s},s:{s:s}}", "Name", an->rec.name,
			 "Driver", "vxmesh", "CheckDuplicate", 1, "IPAM", "Driver", "vxmesh",
			 "Config", cfg, "Options", "vxmesh.name", an->rec.name, "Labels",
			 "org.vxmesh.mirrored", "true");
	m = body ? calloc(1, sizeof(*m)) : NULL;
	g = m ? realloc(d->creating, (d->ncreating + 1) * sizeof(*g)) : NULL;
	if (g)
		d->creating = g;
	if (!g) {
		free(m);
		json_decref(body);
		return;
	}
	m->d = d;
	snprintf(m->name, sizeof(m->name), "%s", an->rec.name);
	if (dkc_request(d->dkc, "POST", "/networks/create", body, DOCKER_TIMEOUT_MS, create_done,
			m))
		free(m);
	else
		d->creating[d->ncreating++] = m;
	json_decref(body);
}

static void remove_done(void *arg, int err, long status, json_t *body, const char *msg)
{
	struct drv_docker *d = arg;

	static struct log_ratelimit rl;

	/* Refused while local containers still use it (the list does not say
	 * which networks have any); tried again on the next pass. */
	if (err || (status >= 300 && status != 404)) {
		if (log_ratelimit_ok(&rl))
			log_warn("docker: cannot remove a network deleted from the cluster from "
				 "dockerd yet: %s",
				 err ? strerror(-err) : msg);
	} else {
		d->mirrored_out++;
	}
}

/* Records of Docker networks dockerd no longer has (deleted while the
 * agent was down, or force-deleted by dockerd at its start after we had
 * refused DeleteNetwork) are dropped once absent from several lists in a
 * row: a network just created is listed within milliseconds. */
static void records_prune(struct drv_docker *d, const json_t *list)
{
	for (size_t i = 0; i < d->nnets;) {
		struct dk_net *n = &d->nets[i];
		int listed = 0;

		for (size_t j = 0; j < json_array_size(list) && !listed; j++)
			listed = !strcmp(n->id, jstr(json_array_get(list, j), "Id") ?: "");
		n->unlisted = listed ? 0 : n->unlisted + 1;
		if (n->unlisted < PRUNE_AFTER_LISTS) {
			i++;
			continue;
		}
		log_info("docker: network %.12s (%s) is gone from dockerd; record dropped", n->id,
			 n->name[0] ? n->name : "unnamed");
		for (size_t k = 0; k < d->neps;) {
			if (strcmp(d->eps[k].net, n->id)) {
				k++;
				continue;
			}
			leave(d, &d->eps[k]);
			if (d->eps[k].own_lease && n->name[0])
				release_lease(d, n->name, d->eps[k].ip);
			(void)drv_state_kv_delete(d->a->st, NS_EP, d->eps[k].id);
			d->eps[k] = d->eps[--d->neps];
		}
		(void)drv_state_kv_delete(d->a->st, NS_NET, n->id);
		*n = d->nets[--d->nnets];
	}
}

static void list_done(void *arg, int err, long status, json_t *body, const char *msg)
{
	struct drv_docker *d = arg;
	struct agent *a = d->a;

	d->listing = 0;
	if (err || status != 200 || !json_is_array(body)) {
		static struct log_ratelimit rl;

		if (log_ratelimit_ok(&rl))
			log_warn("docker: cannot list dockerd's networks at %s: %s",
				 a->cfg.docker_socket, err ? strerror(-err) : msg);
		return;
	}
	/* In vxmesh, not in Docker: create it there. */
	for (size_t i = 0; i < a->nnets; i++) {
		const char *name = a->nets[i].rec.name;
		size_t j;

		for (j = 0; j < json_array_size(body); j++) {
			const json_t *dn = json_array_get(body, j);
			const struct dk_net *n = net_find(d, jstr(dn, "Id") ?: "");

			/* There under its own name, or under another one with -o vxmesh.name. */
			if (!strcmp(name, jstr(dn, "Name") ?: "") || (n && !strcmp(n->name, name)))
				break;
		}
		if (j == json_array_size(body) && !creating(d, name))
			mirror_create(d, &a->nets[i]);
	}
	/* Ours in Docker, removed from the cluster: remove it there. */
	for (size_t j = 0; j < json_array_size(body); j++) {
		const json_t *dn = json_array_get(body, j);
		const char *id = jstr(dn, "Id"), *name = jstr(dn, "Name");
		const struct gt_entry *ge;
		struct dk_net *n = id ? net_find(d, id) : NULL;
		char path[128];

		/* By the vxmesh name it is bound to (-o vxmesh.name may differ);
		 * not one whose binding failed (the user's, shown the error). */
		if (!n || !name || !n->name[0] || n->err[0] || agent_net_find(a, n->name) ||
		    (ge = drv_cluster_get(a, GT_KIND_NET, n->name)) != NULL)
			continue;
		snprintf(path, sizeof(path), "/networks/%s", id);
		if (dkc_request(d->dkc, "DELETE", path, NULL, DOCKER_TIMEOUT_MS, remove_done, d))
			break;
	}
	records_prune(d, body);
}

/*
 * dockerd sets the FORWARD policy to DROP and turns on br_netfilter, so
 * frames bridged between a container's veth and the VXLAN port of our
 * bridges are filtered by iptables and dropped.  Docker's documented hook
 * for other traffic is its DOCKER-USER chain: keep one rule there that
 * accepts what stays on vxmesh bridges.  Checked every mirror pass with
 * iptables run as a child (never through a shell), never waited for.
 */
static void fw_spawn(struct drv_docker *d, const char *op)
{
	char *argv[] = {"iptables", "-w", "5",	   (char *)op, "DOCKER-USER", "-i",
			"vxmb+",    "-o", "vxmb+", "-j",       "ACCEPT",      NULL};
	posix_spawn_file_actions_t fa;
	extern char **environ;

	if (posix_spawn_file_actions_init(&fa))
		return;
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* none of our sockets */
	if (posix_spawnp(&d->fw_pid, "iptables", &fa, NULL, argv, environ)) {
		d->fw_pid = 0;
		if (!d->fw_warned++)
			log_warn("docker: cannot run iptables: traffic on vxmesh bridges may be "
				 "dropped by Docker's FORWARD policy; see docs/docker.md");
	}
	posix_spawn_file_actions_destroy(&fa);
}

static void fw_tick(struct drv_docker *d)
{
	int st;

	if (d->fw_pid) {
		pid_t r = waitpid(d->fw_pid, &st, WNOHANG);

		if (r == 0)
			return; /* still running */
		d->fw_pid = 0;
		if (r < 0 || !WIFEXITED(st))
			return;
		if (d->fw_step == 0 && WEXITSTATUS(st) == 1) {
			d->fw_step = 1; /* not there (or no chain yet): insert it */
			fw_spawn(d, "-I");
			return;
		}
		if (d->fw_step == 1) {
			static struct log_ratelimit rl;

			if (WEXITSTATUS(st) && log_ratelimit_ok(&rl))
				log_warn("docker: could not add the DOCKER-USER rule for vxmesh "
					 "bridges (is dockerd running?); retrying");
			else if (!WEXITSTATUS(st))
				log_info("docker: DOCKER-USER accepts traffic on vxmesh bridges");
		}
		d->fw_step = 0;
		return;
	}
	d->fw_step = 0;
	fw_spawn(d, "-C");
}

static void mirror_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct drv_docker *d = arg;

	rx_timer_arm(t, MIRROR_MS, MIRROR_MS / 10);
	fw_tick(d);
	if (d->listing || !d->dkc)
		return;
	/* filters={"driver":["vxmesh"]} */
	if (dkc_request(d->dkc, "GET", "/networks?filters=%7B%22driver%22%3A%5B%22vxmesh%22%5D%7D",
			NULL, DOCKER_TIMEOUT_MS, list_done, d) == 0)
		d->listing = 1;
}

void drv_docker_nets_changed(struct agent *a)
{
	if (a->dk && a->dk->mirror_timer)
		rx_timer_arm(a->dk->mirror_timer, 100, 0);
	/* Endpoint calls may be parked until their network arrives. */
	if (a->dk)
		agent_api_retry(a);
}

/* ---- open, close, metrics ---- */

static int mkdir_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Re-apply what the records say once the networks are loaded. */
static void records_apply(struct drv_docker *d)
{
	for (size_t i = 0; i < d->npools; i++) {
		struct agent_net *an = vxnet_by_subnet(d->a, &d->pools[i].pool);

		for (size_t j = 0; an && j < d->pools[i].naux; j++) {
			int ret = ipamc_reserve(an, d->pools[i].aux[j]);

			if (ret && ret != -EEXIST)
				log_warn("docker: aux address %s of pool %s: %s",
					 inet_ntoa(d->pools[i].aux[j]), d->pools[i].id,
					 ipam_strerror(ret));
		}
	}
	for (size_t i = 0; i < d->nnets; i++)
		if (!d->nets[i].name[0])
			rx_timer_arm(d->lookup_timer, LOOKUP_MS, 0);
}

int drv_docker_open(struct agent *a)
{
	struct drv_docker *d;
	char err[256];
	int ret;

	if (!a->cfg.docker && !a->cfg.plugin_socket[0])
		return 0;
	if (!a->cfg.plugin_socket[0])
		snprintf(a->cfg.plugin_socket, sizeof(a->cfg.plugin_socket), "%s",
			 DRV_PLUGIN_SOCKET);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->a = a;
	a->dk = d;
	if ((ret = drv_state_kv_foreach(a->st, NS_POOL, pool_load_cb, d)) ||
	    (ret = drv_state_kv_foreach(a->st, NS_NET, net_load_cb, d)) ||
	    (ret = drv_state_kv_foreach(a->st, NS_EP, ep_load_cb, d))) {
		log_err("docker: cannot read the Docker records: %s", strerror(-ret));
		goto err;
	}
	d->lookup_timer = rx_timer_create(a->loop, lookup_timer_cb, d);
	d->mirror_timer = rx_timer_create(a->loop, mirror_cb, d);
	if (!d->lookup_timer || !d->mirror_timer) {
		ret = -ENOMEM;
		goto err;
	}
	ret = dkc_open(&d->dkc, a->loop, a->cfg.docker_socket, err, sizeof(err));
	if (ret) {
		log_err("docker: cannot use the Docker Engine API: %s", err);
		goto err;
	}
	ret = mkdir_parent(a->cfg.plugin_socket);
	if (!ret)
		ret = drv_api_open(&a->plugin, a->loop, a->cfg.plugin_socket, routes,
				   sizeof(routes) / sizeof(routes[0]), a);
	if (ret) {
		log_err("docker: cannot serve the plugin on %s: %s", a->cfg.plugin_socket,
			ret == -EADDRINUSE ? "another agent answers there" : strerror(-ret));
		goto err;
	}
	drv_api_set_style(a->plugin, API_STYLE_DOCKER);
	records_apply(d);
	rx_timer_arm(d->mirror_timer, 200, 0);
	log_info("docker: plugin on %s, dockerd at %s; %zu network(s), %zu endpoint(s) known",
		 a->cfg.plugin_socket, a->cfg.docker_socket, d->nnets, d->neps);
	return 0;
err:
	drv_docker_close(a);
	return ret;
}

void drv_docker_close(struct agent *a)
{
	struct drv_docker *d = a->dk;

	if (!d)
		return;
	drv_api_close(a->plugin);
	a->plugin = NULL;
	dkc_close(d->dkc);
	rx_timer_destroy(d->lookup_timer);
	rx_timer_destroy(d->mirror_timer);
	if (d->fw_pid) {
		kill(d->fw_pid, SIGTERM);
		waitpid(d->fw_pid, NULL, 0);
	}
	for (size_t i = 0; i < d->ncreating; i++)
		free(d->creating[i]);
	free(d->creating);
	free(d->pools);
	free(d->nets);
	free(d->eps);
	free(d);
	a->dk = NULL;
}

void drv_docker_metrics(struct agent *a, FILE *f)
{
	struct drv_docker *d = a->dk;

	if (!d)
		return;
	fprintf(f,
		"# HELP vxmesh_docker_calls_total Docker plugin calls, and those answered with an "
		"error.\n"
		"# TYPE vxmesh_docker_calls_total counter\n"
		"vxmesh_docker_calls_total{result=\"all\"} %llu\n"
		"vxmesh_docker_calls_total{result=\"error\"} %llu\n"
		"# HELP vxmesh_docker_networks Docker networks known, by state.\n"
		"# TYPE vxmesh_docker_networks gauge\nvxmesh_docker_networks %zu\n"
		"# HELP vxmesh_docker_endpoints Docker endpoints known.\n"
		"# TYPE vxmesh_docker_endpoints gauge\nvxmesh_docker_endpoints %zu\n"
		"# HELP vxmesh_docker_mirrored_total Networks created in or removed from dockerd "
		"by mirroring.\n"
		"# TYPE vxmesh_docker_mirrored_total counter\n"
		"vxmesh_docker_mirrored_total{op=\"create\"} %llu\n"
		"vxmesh_docker_mirrored_total{op=\"remove\"} %llu\n",
		d->calls, d->errors, d->nnets, d->neps, d->mirrored_in, d->mirrored_out);
}
