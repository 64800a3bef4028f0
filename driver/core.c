// SPDX-License-Identifier: MIT
/*
 * core: networks, local endpoints, remote endpoints and leases (see core.h
 * for the contract).  The tables are plain arrays: tens of networks and a
 * few thousand endpoints per host; lookups walk them.
 */
#include "driver/core.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/vec.h"
#include "driver/alloc.h"
#include "ipam/ipam.h"
#include "vxlan/enc.h"
#include "vxlan/encc.h"
#include "vxlan/vxlan.h"

#define MTU_FALLBACK 1500
#define HOOKS_MAX    8

struct claim {
	char net[VX_NET_NAME_MAX];
	struct in_addr ip;
};

struct hook {
	const struct drv_core_hooks *h;
	void *arg;
};

struct drv_core {
	struct drv_core_config cfg;
	struct drv_node_rec node;
	struct drv_state *st;
	struct vx_dp *dp;
	struct drv_alloc *al;
	struct drv_net *nets;
	size_t nnets, capnets;
	struct drv_ep *eps;
	size_t neps, capeps;
	struct vx_remote *installed; /* remote endpoints in the datapath */
	size_t ninstalled;
	struct claim *claims; /* other hosts' addresses held in the pools */
	size_t nclaims;
	struct hook hooks[HOOKS_MAX];
	size_t nhooks;
	struct drv_core_stats stats;
};

/* Run hook member m of every registered set that has it. */
#define HOOKS(c, m, ...)                                                                           \
	do {                                                                                       \
		for (size_t hi_ = 0; hi_ < (c)->nhooks; hi_++)                                     \
			if ((c)->hooks[hi_].h->m)                                                  \
				(c)->hooks[hi_].h->m((c)->hooks[hi_].arg, __VA_ARGS__);            \
	} while (0)

/* The first veto of hook member m, with its reason in why. */
#define VETO(c, m, why, len, ...)                                                                  \
	({                                                                                         \
		int v_ = 0;                                                                        \
		for (size_t hi_ = 0; hi_ < (c)->nhooks && !v_; hi_++)                              \
			if ((c)->hooks[hi_].h->m)                                                  \
				v_ = (c)->hooks[hi_].h->m((c)->hooks[hi_].arg, __VA_ARGS__, why,   \
							  len);                                    \
		v_;                                                                                \
	})

/* ---- life cycle ---- */

int drv_core_open(struct drv_core **out, const struct drv_core_config *cfg,
		  const struct drv_node_rec *node, struct drv_state *st, struct vx_dp *dp,
		  struct drv_alloc *al)
{
	struct drv_core *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	c->node = *node;
	c->st = st;
	c->dp = dp;
	c->al = al;
	*out = c;
	return 0;
}

void drv_core_close(struct drv_core *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nnets; i++)
		drv_alloc_net_close(c->al, c->nets[i].an);
	free(c->nets);
	free(c->eps);
	free(c->installed);
	free(c->claims);
	free(c);
}

int drv_core_hooks_add(struct drv_core *c, const struct drv_core_hooks *h, void *arg)
{
	if (c->nhooks == HOOKS_MAX)
		return -ENOMEM;
	c->hooks[c->nhooks++] = (struct hook){.h = h, .arg = arg};
	return 0;
}

const struct drv_node_rec *drv_core_node(const struct drv_core *c)
{
	return &c->node;
}

struct in_addr drv_core_vtep(const struct drv_core *c)
{
	return c->cfg.vtep;
}

void drv_core_stats(const struct drv_core *c, struct drv_core_stats *st)
{
	*st = c->stats;
	st->remotes = c->ninstalled;
}

static void net_apply(struct drv_core *c, struct drv_net *n);

int drv_core_enc_ready(const struct drv_core *c, char *why, size_t len)
{
	return vx_encc_ready(c->cfg.enc, why, len) ? -EOPNOTSUPP : 0;
}

int drv_core_enc_keys(struct drv_core *c, const uint8_t (*keys)[32], unsigned n)
{
	if (!c->cfg.enc)
		return 0;
	if (vx_encc_keys_set(c->cfg.enc, keys, n))
		return -ENOMEM;
	for (size_t i = 0; i < c->nnets; i++)
		if (!c->nets[i].in_dp && c->nets[i].rec.encrypted)
			net_apply(c, &c->nets[i]);
	return 0;
}

int drv_core_enc_nodes(struct drv_core *c, const struct vx_encc_node *nodes, size_t n)
{
	return c->cfg.enc ? vx_encc_nodes_set(c->cfg.enc, nodes, n) : 0;
}

uint64_t drv_core_enc_session(const struct drv_core *c)
{
	return vx_encc_session(c->cfg.enc);
}

json_t *drv_core_enc_stats(struct drv_core *c)
{
	return vx_encc_stats(c->cfg.enc);
}

void drv_core_dp_stats(const struct drv_core *c, struct vx_dp_stats *st)
{
	vx_dp_stats_get(c->dp, st);
}

int drv_core_fdb_report(struct drv_core *c, uint32_t vni, vx_fdb_row_cb cb, void *arg)
{
	return vx_dp_fdb_report(c->dp, vni, cb, arg);
}

/* ---- lookups and rules ---- */

const struct drv_net *drv_core_nets(const struct drv_core *c, size_t *n)
{
	*n = c->nnets;
	return c->nets;
}

const struct drv_ep *drv_core_eps(const struct drv_core *c, size_t *n)
{
	*n = c->neps;
	return c->eps;
}

static struct drv_net *net_find(const struct drv_core *c, const char *name)
{
	for (size_t i = 0; i < c->nnets; i++)
		if (!strcmp(c->nets[i].rec.name, name))
			return &c->nets[i];
	return NULL;
}

static struct drv_ep *ep_find(const struct drv_core *c, const char *id)
{
	for (size_t i = 0; i < c->neps; i++)
		if (!strcmp(c->eps[i].rec.id, id))
			return &c->eps[i];
	return NULL;
}

const struct drv_net *drv_core_net_find(const struct drv_core *c, const char *name)
{
	return net_find(c, name);
}

const struct drv_net *drv_core_net_find_vni(const struct drv_core *c, uint32_t vni)
{
	for (size_t i = 0; i < c->nnets; i++)
		if (c->nets[i].rec.vni == vni)
			return &c->nets[i];
	return NULL;
}

const struct drv_ep *drv_core_ep_find(const struct drv_core *c, const char *id)
{
	return ep_find(c, id);
}

size_t drv_core_net_ep_count(const struct drv_core *c, const char *net)
{
	size_t n = 0;

	for (size_t i = 0; i < c->neps; i++)
		n += !strcmp(c->eps[i].rec.net, net);
	return n;
}

/* ---- datapath specs ---- */

int drv_core_host_addr(struct drv_core *c, struct in_addr *out)
{
	struct ifaddrs *ifs, *i;
	char want[IF_NAMESIZE] = "";
	unsigned mtu;
	int ifindex = 0, found = 0;

	if (c->cfg.ko->underlay_get(c->cfg.ko_ctx, (struct in_addr){0}, &ifindex, &mtu) == 0)
		if_indextoname((unsigned)ifindex, want);
	if (getifaddrs(&ifs))
		return -errno;
	for (int pass = 0; pass < 2 && !found; pass++)
		for (i = ifs; i && !found; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
			    (i->ifa_flags & IFF_LOOPBACK))
				continue;
			if (pass == 0 && strcmp(i->ifa_name, want))
				continue;
			*out = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
			found = 1;
		}
	freeifaddrs(ifs);
	return found ? 0 : -EADDRNOTAVAIL;
}

static void net_spec(const struct drv_core *c, const struct drv_net *n, struct vx_net_spec *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", n->rec.name);
	s->vni = n->rec.vni;
	s->port = n->rec.port;
	s->local = c->cfg.vtep;
	s->mtu = n->mtu;
	s->encrypted = n->rec.encrypted;
	vx_net_names(s);
}

static void ep_spec(const struct drv_net *n, const struct drv_ep_rec *r, struct vx_ep_spec *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->id, r->id, sizeof(s->id));
	s->vni = n->rec.vni;
	snprintf(s->netns, sizeof(s->netns), "%s", r->netns);
	snprintf(s->ifname, sizeof(s->ifname), "%s", r->ifname);
	s->ip = r->ip;
	s->plen = n->rec.subnet.len;
	s->gw = n->rec.gw;
	memcpy(s->mac, r->mac, sizeof(s->mac));
	s->mtu = n->mtu;
	vx_ep_names(s);
}

/* Underlay MTU minus the VXLAN (or sealed) overhead, unless the network
 * fixes its own. */
static unsigned net_mtu(const struct drv_core *c, const struct drv_net_rec *rec)
{
	unsigned mtu = MTU_FALLBACK;
	int ifindex;

	if (rec->mtu)
		return rec->mtu;
	if (c->cfg.ko->underlay_get(c->cfg.ko_ctx, c->cfg.vtep, &ifindex, &mtu))
		log_warn("no underlay route found for the VTEP; assuming MTU %u", MTU_FALLBACK);
	return mtu - (rec->encrypted ? ENC_MTU_OVERHEAD : VX_OVERHEAD);
}

static void net_apply(struct drv_core *c, struct drv_net *n)
{
	struct vx_net_spec spec;
	int ret;

	net_spec(c, n, &spec);
	ret = vx_dp_net_put(c->dp, &spec, n->err, sizeof(n->err));
	n->in_dp = ret == 0;
	if (ret)
		log_err("network %s: %s", n->rec.name, n->err);
}

static void ep_apply(struct drv_core *c, struct drv_ep *e)
{
	struct drv_net *n = net_find(c, e->rec.net);
	struct vx_ep_spec spec;
	int ret;

	if (!n || !n->in_dp) {
		e->status = -ENETDOWN;
		snprintf(e->err, sizeof(e->err), "network %s is not in place", e->rec.net);
		return;
	}
	ep_spec(n, &e->rec, &spec);
	ret = vx_dp_ep_put(c->dp, &spec, e->err, sizeof(e->err));
	if (ret && e->status != ret)
		log_warn("endpoint %s: %s", e->rec.id, e->err);
	e->in_dp = ret == 0;
	e->status = ret;
}

void drv_core_reconcile(struct drv_core *c)
{
	for (size_t i = 0; i < c->nnets; i++)
		if (!c->nets[i].in_dp)
			net_apply(c, &c->nets[i]);
	for (size_t i = 0; i < c->neps; i++)
		if (!c->eps[i].in_dp)
			ep_apply(c, &c->eps[i]);
	c->stats.last_reconcile = vx_dp_reconcile(c->dp);
	for (size_t i = 0; i < c->neps; i++) {
		struct drv_ep *e = &c->eps[i];

		if (!e->in_dp)
			continue;
		e->status = vx_dp_ep_status(c->dp, e->rec.id);
		if (e->status)
			snprintf(e->err, sizeof(e->err), "%s", strerror(-e->status));
	}
}

/* ---- networks ---- */

/* A VNI free here and in the cluster (a probe without a name asks about the
 * VNI only).  0 when none is left. */
static uint32_t vni_pick(struct drv_core *c)
{
	struct drv_net_rec probe = {0};
	char why[8];

	for (uint32_t v = 1; v <= VX_VNI_MAX; v++) {
		if (drv_core_net_find_vni(c, v))
			continue;
		probe.vni = v;
		if (!VETO(c, net_check, why, sizeof(why), &probe))
			return v;
	}
	return 0;
}

/* A failed state-database write, for the caller: a full disk keeps -ENOSPC
 * and says so (the operator's to fix; nothing was kept), the rest is -EIO
 * with what failed. */
static int state_err(int ret, const char *what, char *why, size_t len)
{
	if (ret == -ENOSPC) {
		snprintf(why, len, "state database: disk full");
		return -ENOSPC;
	}
	snprintf(why, len, "state database: %s", what);
	return -EIO;
}

/* The local half of adding a network; notify: run net_added (created 0). */
static int net_add(struct drv_core *c, const struct drv_net_rec *rec, int notify, char *why,
		   size_t len)
{
	struct drv_net n = {.rec = *rec};
	struct vx_net_spec spec;
	char sub[ADDR_PREFIX_STRLEN];
	int ret;

	/* Nothing of an encrypted network is programmed on a host that cannot
	 * seal its frames. */
	if (rec->encrypted && (ret = drv_core_enc_ready(c, why, len)))
		return ret;
	if (c->cfg.enc && !rec->encrypted && rec->port == vx_encc_port(c->cfg.enc)) {
		snprintf(why, len, "UDP port %u is this host's encrypted datapath's (--enc-port)",
			 rec->port);
		return -EADDRINUSE;
	}
	ret = drv_alloc_net_open(c->al, &n.rec, &n.an);
	if (ret == -EEXIST) {
		snprintf(why, len, "network \"%s\" already exists", rec->name);
		return -EEXIST;
	}
	if (ret) {
		snprintf(why, len, "network %s: %s", rec->name, ipam_strerror(ret));
		return -EINVAL;
	}
	n.mtu = net_mtu(c, &n.rec);
	if (vec_grow((void **)&c->nets, &c->capnets, c->nnets + 1, sizeof(*c->nets))) {
		snprintf(why, len, "out of memory");
		ret = -ENOMEM;
		goto err_alloc;
	}
	if ((ret = drv_state_begin(c->st))) {
		ret = state_err(ret, "cannot begin a transaction", why, len);
		goto err_alloc;
	}
	ret = drv_state_net_insert(c->st, &n.rec);
	if (ret == -ENOSPC) {
		ret = state_err(ret, "", why, len);
		goto err_rollback;
	}
	if (ret) {
		snprintf(why, len, "state database refused network \"%s\": %s", rec->name,
			 strerror(-ret));
		if (ret != -EEXIST && ret != -EADDRINUSE)
			ret = -EIO;
		goto err_rollback;
	}
	net_spec(c, &n, &spec);
	ret = vx_dp_net_put(c->dp, &spec, why, len);
	if (ret) {
		if (ret != -EEXIST && ret != -EOPNOTSUPP)
			ret = -EIO;
		goto err_rollback;
	}
	if ((ret = drv_state_commit(c->st))) {
		ret = state_err(ret, "commit failed", why, len);
		vx_dp_net_del(c->dp, n.rec.vni);
		goto err_rollback;
	}
	n.in_dp = 1;
	c->nets[c->nnets++] = n;
	addr_fmt_prefix(&n.rec.subnet, sub);
	log_info("network created name=%s vni=%u subnet=%s mtu=%u", rec->name, n.rec.vni, sub,
		 n.mtu);
	if (notify)
		HOOKS(c, net_added, &c->nets[c->nnets - 1], 0);
	return 0;

err_rollback:
	drv_state_rollback(c->st);
err_alloc:
	drv_alloc_net_close(c->al, n.an);
	return ret;
}

int drv_core_net_add(struct drv_core *c, const struct drv_net_rec *rec, char *why, size_t len)
{
	return net_add(c, rec, 1, why, len);
}

static void remotes_forget(struct drv_core *c, uint32_t vni)
{
	for (size_t i = 0; i < c->ninstalled;)
		if (c->installed[i].vni == vni)
			c->installed[i] = c->installed[--c->ninstalled];
		else
			i++;
}

/* Remove a network without local endpoints here; notify: run net_removed,
 * destroyed telling the hooks whether it goes cluster-wide. */
static int net_drop(struct drv_core *c, const char *name_in, int notify, int destroyed)
{
	struct drv_net *n = net_find(c, name_in);
	char name[VX_NET_NAME_MAX];
	int ret;

	if (!n)
		return -ENOENT;
	if (drv_core_net_ep_count(c, n->rec.name))
		return -EBUSY;
	ret = drv_state_net_delete(c->st, n->rec.name);
	if (ret)
		return ret;
	if (n->in_dp) {
		ret = vx_dp_net_del(c->dp, n->rec.vni);
		if (ret)
			log_warn("network %s: kernel cleanup: %s (the reconciler retries)",
				 n->rec.name, strerror(-ret));
		/* The datapath forgot the network's remote entries: so do we, or
		 * the next remotes_set() would not put them in again. */
		if (ret != -ENOENT && ret != -EBUSY)
			remotes_forget(c, n->rec.vni);
	}
	log_info("network removed name=%s vni=%u", n->rec.name, n->rec.vni);
	snprintf(name, sizeof(name), "%s", n->rec.name);
	drv_alloc_net_close(c->al, n->an);
	*n = c->nets[--c->nnets];
	if (notify)
		HOOKS(c, net_removed, name, destroyed);
	return 0;
}

int drv_core_net_remove(struct drv_core *c, const char *name)
{
	return net_drop(c, name, 1, 0);
}

int drv_core_net_create(struct drv_core *c, struct drv_net_rec *rec, char *why, size_t len)
{
	const struct drv_net *other;
	int ret;

	if ((ret = drv_net_name_check(rec->name, why, len)))
		return ret;
	/* No VXLAN port: it has no vxlan device (its value says 0). */
	if (rec->encrypted)
		rec->port = VX_PORT_DEFAULT;
	if (!rec->vni && !(rec->vni = vni_pick(c))) {
		snprintf(why, len, "no free VNI left");
		return -EADDRINUSE;
	}
	if (net_find(c, rec->name)) {
		snprintf(why, len, "network \"%s\" already exists", rec->name);
		return -EEXIST;
	}
	if ((other = drv_core_net_find_vni(c, rec->vni))) {
		snprintf(why, len, "VNI %u is already used by network \"%s\"", rec->vni,
			 other->rec.name);
		return -EADDRINUSE;
	}
	if (VETO(c, net_check, why, len, rec))
		return -EEXIST;
	rec->created = time(NULL);
	if (drv_alloc_ring_id_new(rec->ring)) {
		snprintf(why, len, "no randomness for a ring id");
		return -EIO;
	}
	ret = net_add(c, rec, 0, why, len);
	if (ret)
		return ret;
	/* The creator owns the whole space until it gives parts away: stored
	 * before the network is published, or no network at all. */
	if ((ret = drv_alloc_net_init_space(c->al, net_find(c, rec->name)->an))) {
		snprintf(why, len, "network %s: cannot record its address space: %s", rec->name,
			 strerror(-ret));
		net_drop(c, rec->name, 0, 0); /* never announced */
		return -EIO;
	}
	HOOKS(c, net_added, net_find(c, rec->name), 1);
	return 0;
}

int drv_core_net_destroy(struct drv_core *c, const char *name, char *why, size_t len)
{
	struct drv_net *n = net_find(c, name);
	size_t neps;
	int ret;

	if (!n) {
		snprintf(why, len, "no network named \"%s\"", name);
		return -ENOENT;
	}
	neps = drv_core_net_ep_count(c, n->rec.name);
	if (neps) {
		snprintf(why, len, "network \"%s\" still has %zu endpoint(s); detach them first",
			 n->rec.name, neps);
		return -EBUSY;
	}
	if (VETO(c, net_destroy_check, why, len, n->rec.name))
		return -EBUSY;
	/* Removed here first: a failure must not delete it cluster-wide. */
	ret = net_drop(c, n->rec.name, 1, 1);
	if (ret) {
		snprintf(why, len, "state database: %s", strerror(-ret));
		return -EIO;
	}
	return 0;
}

int drv_core_subnet_pick(struct drv_core *c, const struct addr_prefix *avoid, size_t navoid,
			 struct addr_prefix *out)
{
	const struct addr_prefix *pool = &c->cfg.pool;
	unsigned len = c->cfg.subnet_len;
	struct vx_route *routes = NULL;
	size_t nroutes = 0;
	uint64_t count, step;
	int ret = -ENOSPC;

	if (!pool->len || len < pool->len || len > 30)
		return -EINVAL;
	if (c->cfg.ko->route_dump(c->cfg.ko_ctx, &routes, &nroutes))
		log_warn("cannot read the routing tables; picking a subnet without them");
	count = 1ull << (len - pool->len);
	step = 1ull << (32 - len);
	for (uint64_t i = 0; i < count && ret; i++) {
		struct addr_prefix p = {
			.addr = addr_ip4_from_h((uint32_t)(addr_ip4_h(pool->addr) + i * step)),
			.len = (uint8_t)len};
		int used = vx_route_list_overlaps(routes, nroutes, &p);

		for (size_t j = 0; j < c->nnets && !used; j++)
			used = addr_prefix_overlaps(&c->nets[j].rec.subnet, &p);
		for (size_t j = 0; j < navoid && !used; j++)
			used = addr_prefix_overlaps(&avoid[j], &p);
		for (size_t hi = 0; hi < c->nhooks && !used; hi++)
			if (c->hooks[hi].h->subnet_used)
				used = c->hooks[hi].h->subnet_used(c->hooks[hi].arg, &p);
		if (!used) {
			*out = p;
			ret = 0;
		}
	}
	free(routes);
	return ret;
}

/* ---- leases ---- */

int drv_core_lease(struct drv_core *c, const char *net, const struct in_addr *want,
		   const char *owner, struct in_addr *ip, char *why, size_t len)
{
	struct drv_lease_rec l = {.created = time(NULL)};
	struct drv_net *n = net_find(c, net);
	int ret;

	if (!n) {
		snprintf(why, len, "no network named \"%s\"", net);
		return -ENOENT;
	}
	ret = drv_alloc_lease(c->al, n->an, want, ip, why, len);
	if (ret)
		return ret;
	l.ip = *ip;
	snprintf(l.net, sizeof(l.net), "%s", net);
	snprintf(l.owner, sizeof(l.owner), "%s", owner);
	ret = drv_state_lease_insert(c->st, &l);
	if (ret) {
		drv_alloc_release(c->al, n->an, *ip);
		return state_err(ret, strerror(-ret), why, len);
	}
	return 0;
}

int drv_core_lease_owner(struct drv_core *c, const char *net, struct in_addr ip, char *owner,
			 size_t len)
{
	struct drv_lease_rec *l = NULL;
	size_t n = 0;
	int ret = -ENOENT;

	if (drv_state_lease_list(c->st, net, &l, &n))
		return -ENOENT;
	for (size_t i = 0; i < n && ret; i++)
		if (l[i].ip.s_addr == ip.s_addr) {
			snprintf(owner, len, "%s", l[i].owner);
			ret = 0;
		}
	free(l);
	return ret;
}

int drv_core_lease_release(struct drv_core *c, const char *net, struct in_addr ip)
{
	struct drv_net *n = net_find(c, net);
	int ret = drv_state_lease_delete(c->st, net, ip);

	if (n)
		drv_alloc_release(c->al, n->an, ip);
	return ret;
}

int drv_core_reserve(struct drv_core *c, const char *net, struct in_addr ip)
{
	struct drv_net *n = net_find(c, net);

	return n ? drv_alloc_reserve(n->an, ip) : -ENOENT;
}

/* ---- endpoints ---- */

/* State rows (and the endpoint's own lease row with lease), kernel
 * objects, hooks. */
static int ep_insert(struct drv_core *c, struct drv_net *n, const struct drv_ep_rec *rec, int lease,
		     char *why, size_t len)
{
	struct drv_lease_rec l = {.ip = rec->ip, .created = rec->created};
	struct drv_ep e = {.rec = *rec};
	char ip[ADDR_IP4_STRLEN];
	struct vx_ep_spec spec;
	int ret;

	snprintf(l.net, sizeof(l.net), "%s", n->rec.name);
	snprintf(l.owner, sizeof(l.owner), "ep:%s", rec->id);
	if (vec_grow((void **)&c->eps, &c->capeps, c->neps + 1, sizeof(*c->eps))) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	if ((ret = drv_state_begin(c->st)))
		return state_err(ret, "cannot begin a transaction", why, len);
	if ((lease && (ret = drv_state_lease_insert(c->st, &l))) ||
	    (ret = drv_state_ep_insert(c->st, &e.rec))) {
		drv_state_rollback(c->st);
		if (ret == -EEXIST) {
			snprintf(why, len, "endpoint %s already exists", rec->id);
			return -EEXIST;
		}
		return state_err(ret, strerror(-ret), why, len);
	}
	ep_spec(n, &e.rec, &spec);
	ret = vx_dp_ep_put(c->dp, &spec, why, len);
	if (ret) {
		drv_state_rollback(c->st);
		/* The namespace is gone: the caller's argument, not our failure. */
		return ret == -EEXIST ? -EEXIST : ret == -ENOENT ? -EINVAL : -EIO;
	}
	if ((ret = drv_state_commit(c->st))) {
		ret = state_err(ret, "commit failed", why, len);
		vx_dp_ep_del(c->dp, e.rec.id);
		goto err_rollback;
	}
	e.in_dp = 1;
	c->eps[c->neps++] = e;
	c->stats.ep_attached++;
	log_info("endpoint attached id=%s net=%s netns=%s ip=%s", e.rec.id, n->rec.name,
		 e.rec.netns[0] ? e.rec.netns : "(handed to Docker)", addr_fmt_ip4(e.rec.ip, ip));
	HOOKS(c, ep_added, &c->eps[c->neps - 1]);
	return 0;

err_rollback:
	drv_state_rollback(c->st);
	return ret;
}

int drv_core_ep_add(struct drv_core *c, const struct drv_ep_rec *rec, char *why, size_t len)
{
	struct drv_net *n = net_find(c, rec->net);

	if (!n) {
		snprintf(why, len, "no network named \"%s\"", rec->net);
		return -ENOENT;
	}
	return ep_insert(c, n, rec, 0, why, len);
}

/* An interface or MAC that another local endpoint already has. */
static int ep_clash(const struct drv_core *c, const struct drv_ep_rec *rec, char *why, size_t len)
{
	char mac[ADDR_MAC_STRLEN];

	for (size_t i = 0; i < c->neps; i++) {
		const struct drv_ep_rec *o = &c->eps[i].rec;

		if (!strcmp(o->netns, rec->netns) && !strcmp(o->ifname, rec->ifname)) {
			snprintf(why, len,
				 "interface %s in %s is already endpoint %s; pick another --name",
				 rec->ifname, rec->netns, o->id);
			return -EEXIST;
		}
		if (!strcmp(o->net, rec->net) && !memcmp(o->mac, rec->mac, 6)) {
			addr_fmt_mac(rec->mac, mac);
			snprintf(why, len, "MAC %s is already used by endpoint %s", mac, o->id);
			return -EADDRINUSE;
		}
	}
	return 0;
}

int drv_core_ep_create(struct drv_core *c, struct drv_ep_rec *rec, int want_ip, char *why,
		       size_t len)
{
	struct drv_net *n = net_find(c, rec->net);
	struct in_addr want = rec->ip;
	int ret;

	if (!n) {
		snprintf(why, len, "no network named \"%s\"", rec->net);
		return -ENOENT;
	}
	if ((ret = ep_clash(c, rec, why, len)))
		return ret;
	ret = drv_alloc_lease(c->al, n->an, want_ip ? &want : NULL, &rec->ip, why, len);
	if (ret)
		return ret;
	ret = ep_insert(c, n, rec, 1, why, len);
	if (ret)
		drv_alloc_release(c->al, n->an, rec->ip);
	return ret;
}

int drv_core_ep_remove(struct drv_core *c, const char *id, int release)
{
	struct drv_ep *e = ep_find(c, id);
	struct drv_ep_rec rec;
	struct drv_net *n;
	int ret;

	if (!e)
		return -ENOENT;
	n = net_find(c, e->rec.net);
	if (drv_state_begin(c->st))
		return -EIO;
	if ((ret = drv_state_ep_delete(c->st, e->rec.id)) ||
	    (release && (ret = drv_state_lease_delete(c->st, e->rec.net, e->rec.ip))) ||
	    (ret = drv_state_commit(c->st))) {
		drv_state_rollback(c->st);
		return ret;
	}
	if (e->in_dp && (ret = vx_dp_ep_del(c->dp, e->rec.id)) && ret != -ENOENT)
		log_warn("endpoint %s: kernel cleanup: %s (the reconciler retries)", e->rec.id,
			 strerror(-ret));
	if (n && release)
		drv_alloc_release(c->al, n->an, e->rec.ip);
	c->stats.ep_detached++;
	log_info("endpoint detached id=%s net=%s", e->rec.id, e->rec.net);
	rec = e->rec;
	*e = c->eps[--c->neps];
	HOOKS(c, ep_removed, &rec);
	return 0;
}

/* ---- remote endpoints ---- */

static int remote_eq(const struct vx_remote *x, const struct vx_remote *y)
{
	return x->vni == y->vni && !memcmp(x->mac, y->mac, 6) && x->ip.s_addr == y->ip.s_addr &&
	       x->vtep.s_addr == y->vtep.s_addr && x->port == y->port;
}

static int claim_in(const struct claim *set, size_t n, const struct claim *cl)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(set[i].net, cl->net) && set[i].ip.s_addr == cl->ip.s_addr)
			return 1;
	return 0;
}

/* Hold other hosts' addresses in the local pools.  c->claims lists only
 * addresses held here, so releasing one never frees a local lease (a clash
 * is logged and counted, not recorded).  Takes want. */
static void claims_apply(struct drv_core *c, struct claim *want, size_t nwant)
{
	char ip[ADDR_IP4_STRLEN];
	size_t kept = 0;

	for (size_t i = 0; i < c->nclaims; i++) {
		struct drv_net *n = net_find(c, c->claims[i].net);

		if (n && !claim_in(want, nwant, &c->claims[i]))
			drv_alloc_unhold(n->an, c->claims[i].ip);
	}
	for (size_t j = 0; j < nwant; j++) {
		struct drv_net *n = net_find(c, want[j].net);
		int held = claim_in(c->claims, c->nclaims, &want[j]);

		/* A pool made again since (network re-created) lost the hold. */
		if (!n || (held && drv_alloc_is_taken(n->an, want[j].ip))) {
			if (n)
				want[kept++] = want[j];
			continue;
		}
		if (drv_alloc_hold(n->an, want[j].ip) == 0) {
			want[kept++] = want[j];
		} else if (drv_alloc_is_taken(n->an, want[j].ip)) {
			static struct log_ratelimit rl;

			if (log_ratelimit_ok(&rl))
				log_err("address conflict in network %s: %s is used here and on "
					"another host",
					want[j].net, addr_fmt_ip4(want[j].ip, ip));
			c->stats.addr_conflicts++;
		}
	}
	free(c->claims);
	c->claims = want;
	c->nclaims = kept;
}

int drv_core_remotes_set(struct drv_core *c, const struct drv_remote *want, size_t n)
{
	struct vx_remote *inst = calloc(n ? n : 1, sizeof(*inst));
	struct claim *claims = calloc(n ? n : 1, sizeof(*claims));
	char ip[ADDR_IP4_STRLEN];
	size_t ninst = 0, nclaims = 0, kept = 0;

	if (!inst || !claims) {
		free(inst);
		free(claims);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct drv_net *net = net_find(c, want[i].net);

		if (!net)
			continue;
		snprintf(claims[nclaims].net, sizeof(claims[nclaims].net), "%s", want[i].net);
		claims[nclaims++].ip = want[i].ip;
		if (!want[i].live)
			continue; /* withdrawn while its host is dead, left or long unknown */
		inst[ninst] = (struct vx_remote){.vni = net->rec.vni,
						 .ip = want[i].ip,
						 .vtep = want[i].vtep,
						 .port = want[i].port};
		memcpy(inst[ninst++].mac, want[i].mac, 6);
	}
	for (size_t i = 0; i < c->ninstalled; i++) {
		int keep = 0;

		for (size_t j = 0; j < ninst && !keep; j++)
			keep = remote_eq(&c->installed[i], &inst[j]);
		if (!keep)
			vx_dp_remote_del(c->dp, c->installed[i].vni, c->installed[i].mac);
	}
	for (size_t j = 0; j < ninst; j++) {
		int had = 0;

		for (size_t i = 0; i < c->ninstalled && !had; i++)
			had = remote_eq(&c->installed[i], &inst[j]);
		if (!had && vx_dp_remote_put(c->dp, &inst[j])) {
			/* Not recorded as installed: the next call tries again. */
			log_warn("remote endpoint %s: the datapath refused it",
				 addr_fmt_ip4(inst[j].ip, ip));
			continue;
		}
		inst[kept++] = inst[j];
	}
	free(c->installed);
	c->installed = inst;
	c->ninstalled = kept;
	claims_apply(c, claims, nclaims);
	return 0;
}

/* ---- loading ---- */

static int net_load(struct drv_core *c, const struct drv_net_rec *rec)
{
	struct drv_net *n = &c->nets[c->nnets];
	struct drv_lease_rec *leases = NULL;
	char ip[ADDR_IP4_STRLEN];
	size_t nl = 0;
	int ret;

	memset(n, 0, sizeof(*n));
	n->rec = *rec;
	ret = drv_alloc_net_open(c->al, &n->rec, &n->an);
	if (ret) {
		log_err("network %s in the state database is invalid: %s", n->rec.name,
			ipam_strerror(ret));
		return ret;
	}
	c->nnets++;
	ret = drv_state_lease_list(c->st, n->rec.name, &leases, &nl);
	if (ret)
		return ret;
	for (size_t j = 0; j < nl; j++)
		if (drv_alloc_lease_restore(c->al, n->an, leases[j].ip))
			log_warn("network %s: stored lease %s is not valid; ignored", n->rec.name,
				 addr_fmt_ip4(leases[j].ip, ip));
	free(leases);
	n->mtu = net_mtu(c, &n->rec);
	net_apply(c, n);
	return 0;
}

int drv_core_load(struct drv_core *c)
{
	struct drv_net_rec *nets = NULL;
	struct drv_ep_rec *eps = NULL;
	size_t nn = 0, ne = 0;
	int ret;

	ret = drv_state_net_list(c->st, &nets, &nn);
	if (ret)
		return ret;
	ret = drv_state_ep_list(c->st, NULL, &eps, &ne);
	if (ret)
		goto out;
	if ((ret = vec_grow((void **)&c->nets, &c->capnets, nn, sizeof(*c->nets))) ||
	    (ret = vec_grow((void **)&c->eps, &c->capeps, ne, sizeof(*c->eps))))
		goto out;
	for (size_t i = 0; i < nn; i++)
		if ((ret = net_load(c, &nets[i])))
			goto out;
	for (size_t i = 0; i < ne; i++) {
		c->eps[c->neps] = (struct drv_ep){.rec = eps[i]};
		ep_apply(c, &c->eps[c->neps]);
		c->neps++;
	}
	ret = 0;
out:
	free(nets);
	free(eps);
	return ret;
}
