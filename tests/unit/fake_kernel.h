/* SPDX-License-Identifier: MIT */
/*
 * fake_kernel: an in-memory struct vx_kops for unit tests.  It keeps links,
 * FDB and neighbour entries, veth peers and the set of existing network
 * namespaces, behaves like the kernel where the reconciler depends on it
 * (deleting a bridge frees its ports, deleting a vxlan device drops its
 * entries, deleting a veth end drops the peer, deleting a netns drops its
 * veths), counts calls per op and fails any op on request.  Its routes are
 * a list the test sets (fk_route_add) of unicast routes in any table;
 * route_dump leaves out table local, as the real backend does.
 * Everything is static inline so several test files may include it.
 */
#ifndef VXMESH_FAKE_KERNEL_H
#define VXMESH_FAKE_KERNEL_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "vxlan/vxlan.h"

#define FK_MAX_LINKS  64
#define FK_MAX_FDB    256
#define FK_MAX_NEIGH  256
#define FK_MAX_PEERS  32
#define FK_MAX_NETNS  16
#define FK_MAX_ROUTES 32

enum fk_op {
	FK_LINK_DUMP,
	FK_FDB_DUMP,
	FK_NEIGH_DUMP,
	FK_EP_PROBE,
	FK_UNDERLAY_GET,
	FK_ROUTE_DUMP,
	FK_FIRST_MUTATION, /* the ops below change the kernel */
	FK_BRIDGE_ADD = FK_FIRST_MUTATION,
	FK_VXLAN_ADD,
	FK_LINK_FIX,
	FK_LINK_DEL,
	FK_EP_ADD,
	FK_FDB_REPLACE,
	FK_FDB_DEL,
	FK_NEIGH_REPLACE,
	FK_NEIGH_DEL,
	FK_NOPS,
};

struct fk_peer {
	int host_ifindex;
	char netns[VX_PATH_MAX];
	char ifname[IFNAMSIZ];
	uint8_t mac[6];
	struct in_addr ip;
	uint8_t plen;
	int up;
};

struct fk {
	struct vx_link links[FK_MAX_LINKS];
	size_t nlinks;
	struct vx_fdb fdb[FK_MAX_FDB];
	size_t nfdb;
	struct vx_neigh neigh[FK_MAX_NEIGH];
	size_t nneigh;
	struct fk_peer peers[FK_MAX_PEERS];
	size_t npeers;
	char netns[FK_MAX_NETNS][VX_PATH_MAX];
	size_t nnetns;
	struct vx_route routes[FK_MAX_ROUTES];
	size_t nroutes;
	int next_ifindex;
	unsigned calls[FK_NOPS];
	int fail[FK_NOPS];  /* -errno the op returns, 0 = works */
	char fail_msg[128]; /* the extended ack sent with an injected failure */
	char last_err[128];
};

static inline void fk_init(struct fk *k)
{
	memset(k, 0, sizeof(*k));
	k->next_ifindex = 10;
}

static inline unsigned fk_mutations(const struct fk *k)
{
	unsigned n = 0;
	int op;

	for (op = FK_FIRST_MUTATION; op < FK_NOPS; op++)
		n += k->calls[op];
	return n;
}

static inline void fk_calls_reset(struct fk *k)
{
	memset(k->calls, 0, sizeof(k->calls));
}

static inline struct vx_link *fk_link(struct fk *k, const char *name)
{
	size_t i;

	for (i = 0; i < k->nlinks; i++)
		if (!strcmp(k->links[i].name, name))
			return &k->links[i];
	return NULL;
}

static inline struct vx_link *fk_link_ix(struct fk *k, int ifindex)
{
	size_t i;

	for (i = 0; i < k->nlinks; i++)
		if (k->links[i].ifindex == ifindex)
			return &k->links[i];
	return NULL;
}

/* A link added behind the agent's back. */
static inline struct vx_link *fk_link_add(struct fk *k, const char *name, enum vx_kind kind,
					  const char *alias)
{
	struct vx_link *l;

	if (k->nlinks == FK_MAX_LINKS || fk_link(k, name))
		return NULL;
	l = &k->links[k->nlinks++];
	memset(l, 0, sizeof(*l));
	l->ifindex = k->next_ifindex++;
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(l->alias, sizeof(l->alias), "%s", alias);
	l->kind = kind;
	l->up = 1;
	l->mtu = 1500;
	return l;
}

static inline struct vx_fdb *fk_fdb(struct fk *k, int ifindex, const uint8_t mac[6])
{
	size_t i;

	for (i = 0; i < k->nfdb; i++)
		if (k->fdb[i].ifindex == ifindex && !memcmp(k->fdb[i].mac, mac, 6))
			return &k->fdb[i];
	return NULL;
}

static inline struct vx_neigh *fk_neigh(struct fk *k, int ifindex, struct in_addr ip)
{
	size_t i;

	for (i = 0; i < k->nneigh; i++)
		if (k->neigh[i].ifindex == ifindex && k->neigh[i].ip.s_addr == ip.s_addr)
			return &k->neigh[i];
	return NULL;
}

static inline struct fk_peer *fk_peer(struct fk *k, const char *netns, const char *ifname)
{
	size_t i;

	for (i = 0; i < k->npeers; i++)
		if (!strcmp(k->peers[i].netns, netns) && !strcmp(k->peers[i].ifname, ifname))
			return &k->peers[i];
	return NULL;
}

static inline int fk_netns_exists(const struct fk *k, const char *path)
{
	size_t i;

	if (!path[0])
		return 1;
	for (i = 0; i < k->nnetns; i++)
		if (!strcmp(k->netns[i], path))
			return 1;
	return 0;
}

static inline void fk_netns_add(struct fk *k, const char *path)
{
	if (k->nnetns < FK_MAX_NETNS && !fk_netns_exists(k, path))
		snprintf(k->netns[k->nnetns++], VX_PATH_MAX, "%s", path);
}

static inline void fk_link_remove(struct fk *k, int ifindex);

/* The namespace dies with its veth ends; their host ends go too. */
static inline void fk_netns_del(struct fk *k, const char *path)
{
	size_t i;

	for (i = 0; i < k->nnetns; i++) {
		if (strcmp(k->netns[i], path))
			continue;
		memmove(k->netns[i], k->netns[i + 1], (k->nnetns - i - 1) * VX_PATH_MAX);
		k->nnetns--;
		break;
	}
	for (i = 0; i < k->npeers;) {
		int host = k->peers[i].host_ifindex;

		if (strcmp(k->peers[i].netns, path)) {
			i++;
			continue;
		}
		k->peers[i] = k->peers[--k->npeers];
		fk_link_remove(k, host);
	}
}

/* Delete a link the way the kernel does, with what hangs off it. */
static inline void fk_link_remove(struct fk *k, int ifindex)
{
	size_t i;

	for (i = 0; i < k->nlinks; i++) {
		if (k->links[i].master == ifindex)
			k->links[i].master = 0;
	}
	for (i = 0; i < k->nfdb;) {
		if (k->fdb[i].ifindex == ifindex)
			k->fdb[i] = k->fdb[--k->nfdb];
		else
			i++;
	}
	for (i = 0; i < k->nneigh;) {
		if (k->neigh[i].ifindex == ifindex)
			k->neigh[i] = k->neigh[--k->nneigh];
		else
			i++;
	}
	for (i = 0; i < k->npeers;) {
		if (k->peers[i].host_ifindex == ifindex)
			k->peers[i] = k->peers[--k->npeers];
		else
			i++;
	}
	for (i = 0; i < k->nlinks; i++) {
		if (k->links[i].ifindex != ifindex)
			continue;
		memmove(&k->links[i], &k->links[i + 1], (k->nlinks - i - 1) * sizeof(k->links[0]));
		k->nlinks--;
		break;
	}
}

/* Count the call; an injected failure sets the extended ack. */
static inline int fk_enter(struct fk *k, enum fk_op op)
{
	k->calls[op]++;
	k->last_err[0] = '\0';
	if (k->fail[op]) {
		snprintf(k->last_err, sizeof(k->last_err), "%s", k->fail_msg);
		return k->fail[op];
	}
	return 0;
}

static inline void *fk_copy(const void *src, size_t n, size_t size)
{
	void *p;

	if (!n)
		return NULL;
	p = malloc(n * size);
	if (p)
		memcpy(p, src, n * size);
	return p;
}

static inline int fk_link_dump(void *ctx, struct vx_link **out, size_t *n)
{
	struct fk *k = ctx;
	int err = fk_enter(k, FK_LINK_DUMP);

	*out = NULL;
	*n = 0;
	if (err)
		return err;
	*out = fk_copy(k->links, k->nlinks, sizeof(k->links[0]));
	if (k->nlinks && !*out)
		return -ENOMEM;
	*n = k->nlinks;
	return 0;
}

static inline int fk_fdb_dump(void *ctx, int ifindex, struct vx_fdb **out, size_t *n)
{
	struct fk *k = ctx;
	int err = fk_enter(k, FK_FDB_DUMP);
	size_t i;

	*out = NULL;
	*n = 0;
	if (err)
		return err;
	if (!fk_link_ix(k, ifindex))
		return -ENODEV;
	if (!k->nfdb)
		return 0;
	*out = malloc(k->nfdb * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < k->nfdb; i++)
		if (k->fdb[i].ifindex == ifindex)
			(*out)[(*n)++] = k->fdb[i];
	return 0;
}

static inline int fk_neigh_dump(void *ctx, int ifindex, struct vx_neigh **out, size_t *n)
{
	struct fk *k = ctx;
	int err = fk_enter(k, FK_NEIGH_DUMP);
	size_t i;

	*out = NULL;
	*n = 0;
	if (err)
		return err;
	if (!fk_link_ix(k, ifindex))
		return -ENODEV;
	if (!k->nneigh)
		return 0;
	*out = malloc(k->nneigh * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < k->nneigh; i++)
		if (k->neigh[i].ifindex == ifindex)
			(*out)[(*n)++] = k->neigh[i];
	return 0;
}

static inline int fk_bridge_add(void *ctx, const struct vx_net_spec *n, int *ifindex)
{
	struct fk *k = ctx;
	struct vx_link *l;
	char alias[VX_ALIAS_MAX];
	int err = fk_enter(k, FK_BRIDGE_ADD);

	if (err)
		return err;
	snprintf(alias, sizeof(alias), VX_ALIAS_PREFIX "net=%s", n->name);
	l = fk_link_add(k, n->brname, VX_KIND_BRIDGE, alias);
	if (!l)
		return -EEXIST;
	l->mtu = n->mtu;
	*ifindex = l->ifindex;
	return 0;
}

static inline int fk_vxlan_add(void *ctx, const struct vx_net_spec *n, int br_ifindex, int *ifindex)
{
	struct fk *k = ctx;
	struct vx_link *l;
	char alias[VX_ALIAS_MAX];
	int err = fk_enter(k, FK_VXLAN_ADD);

	if (err)
		return err;
	if (!fk_link_ix(k, br_ifindex))
		return -ENODEV;
	snprintf(alias, sizeof(alias), VX_ALIAS_PREFIX "net=%s", n->name);
	l = fk_link_add(k, n->vxname, VX_KIND_VXLAN, alias);
	if (!l)
		return -EEXIST;
	l->mtu = n->mtu;
	l->master = br_ifindex;
	l->vni = n->vni;
	l->port = n->port;
	l->local = n->local;
	l->underlay = n->underlay;
	l->learning = 0;
	l->proxy = 1;
	*ifindex = l->ifindex;
	return 0;
}

static inline int fk_link_fix(void *ctx, int ifindex, int master, unsigned mtu)
{
	struct fk *k = ctx;
	struct vx_link *l;
	int err = fk_enter(k, FK_LINK_FIX);

	if (err)
		return err;
	l = fk_link_ix(k, ifindex);
	if (!l || (master > 0 && !fk_link_ix(k, master)))
		return -ENODEV;
	if (master >= 0)
		l->master = master;
	if (mtu)
		l->mtu = mtu;
	l->up = 1;
	return 0;
}

static inline int fk_link_del(void *ctx, int ifindex)
{
	struct fk *k = ctx;
	int err = fk_enter(k, FK_LINK_DEL);

	if (err)
		return err;
	if (!fk_link_ix(k, ifindex))
		return -ENODEV;
	fk_link_remove(k, ifindex);
	return 0;
}

static inline int fk_ep_add(void *ctx, const struct vx_ep_spec *e, int br_ifindex)
{
	struct fk *k = ctx;
	struct vx_link *l;
	struct fk_peer *p;
	char alias[VX_ALIAS_MAX];
	int err = fk_enter(k, FK_EP_ADD);

	if (err)
		return err;
	if (!fk_netns_exists(k, e->netns))
		return -ENOENT;
	if (!fk_link_ix(k, br_ifindex))
		return -ENODEV;
	if (fk_peer(k, e->netns, e->ifname) || k->npeers == FK_MAX_PEERS)
		return -EEXIST;
	snprintf(alias, sizeof(alias), VX_ALIAS_PREFIX "ep=%s", e->id);
	l = fk_link_add(k, e->host_ifname, VX_KIND_VETH, alias);
	if (!l)
		return -EEXIST;
	l->mtu = e->mtu;
	l->master = br_ifindex;
	p = &k->peers[k->npeers++];
	memset(p, 0, sizeof(*p));
	p->host_ifindex = l->ifindex;
	snprintf(p->netns, sizeof(p->netns), "%s", e->netns);
	snprintf(p->ifname, sizeof(p->ifname), "%s", e->ifname);
	memcpy(p->mac, e->mac, 6);
	p->ip = e->ip;
	p->plen = e->plen;
	p->up = 1;
	return 0;
}

static inline int fk_ep_probe(void *ctx, const struct vx_ep_spec *e, int *ok)
{
	struct fk *k = ctx;
	struct fk_peer *p;
	int err = fk_enter(k, FK_EP_PROBE);

	*ok = 0;
	if (err)
		return err;
	if (!fk_netns_exists(k, e->netns))
		return -ENOENT;
	p = fk_peer(k, e->netns, e->ifname);
	*ok = p && !memcmp(p->mac, e->mac, 6) && p->ip.s_addr == e->ip.s_addr &&
	      p->plen == e->plen && p->up;
	return 0;
}

static inline int fk_fdb_replace(void *ctx, const struct vx_fdb *f)
{
	struct fk *k = ctx;
	struct vx_fdb *e;
	int err = fk_enter(k, FK_FDB_REPLACE);

	if (err)
		return err;
	if (!fk_link_ix(k, f->ifindex))
		return -ENODEV;
	e = fk_fdb(k, f->ifindex, f->mac);
	if (!e) {
		if (k->nfdb == FK_MAX_FDB)
			return -ENOSPC;
		e = &k->fdb[k->nfdb++];
	}
	*e = *f;
	return 0;
}

static inline int fk_fdb_del(void *ctx, const struct vx_fdb *f)
{
	struct fk *k = ctx;
	size_t i;
	int err = fk_enter(k, FK_FDB_DEL);

	if (err)
		return err;
	for (i = 0; i < k->nfdb; i++) {
		if (k->fdb[i].ifindex != f->ifindex || memcmp(k->fdb[i].mac, f->mac, 6) ||
		    (f->dst.s_addr && k->fdb[i].dst.s_addr != f->dst.s_addr))
			continue;
		k->fdb[i] = k->fdb[--k->nfdb];
		return 0;
	}
	return -ENOENT;
}

static inline int fk_neigh_replace(void *ctx, const struct vx_neigh *nb)
{
	struct fk *k = ctx;
	struct vx_neigh *e;
	int err = fk_enter(k, FK_NEIGH_REPLACE);

	if (err)
		return err;
	if (!fk_link_ix(k, nb->ifindex))
		return -ENODEV;
	e = fk_neigh(k, nb->ifindex, nb->ip);
	if (!e) {
		if (k->nneigh == FK_MAX_NEIGH)
			return -ENOSPC;
		e = &k->neigh[k->nneigh++];
	}
	*e = *nb;
	return 0;
}

static inline int fk_neigh_del(void *ctx, const struct vx_neigh *nb)
{
	struct fk *k = ctx;
	struct vx_neigh *e;
	int err = fk_enter(k, FK_NEIGH_DEL);

	if (err)
		return err;
	e = fk_neigh(k, nb->ifindex, nb->ip);
	if (!e)
		return -ENOENT;
	*e = k->neigh[--k->nneigh];
	return 0;
}

static inline int fk_underlay_get(void *ctx, struct in_addr local, int *ifindex, unsigned *mtu)
{
	struct fk *k = ctx;
	int err = fk_enter(k, FK_UNDERLAY_GET);

	if (err)
		return err;
	*ifindex = 2;
	*mtu = 1500;
	return 0;
}

/* A unicast route "a.b.c.d/len" in table, out of oif. */
static inline void fk_route_add(struct fk *k, const char *prefix, uint32_t table, int oif)
{
	struct vx_route *r;
	char ip[INET_ADDRSTRLEN];
	unsigned plen;

	if (k->nroutes == FK_MAX_ROUTES || sscanf(prefix, "%15[0-9.]/%u", ip, &plen) != 2 ||
	    plen > 32)
		abort();
	r = &k->routes[k->nroutes++];
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, ip, &r->dst) != 1)
		abort();
	r->plen = (uint8_t)plen;
	r->table = table;
	r->oif = oif;
}

static inline int fk_route_dump(void *ctx, struct vx_route **out, size_t *n)
{
	struct fk *k = ctx;
	int err = fk_enter(k, FK_ROUTE_DUMP);
	size_t i;

	*out = NULL;
	*n = 0;
	if (err)
		return err;
	for (i = 0; i < k->nroutes; i++) {
		if (k->routes[i].table == RT_TABLE_LOCAL)
			continue;
		if (!*out) {
			*out = malloc(k->nroutes * sizeof(**out));
			if (!*out)
				return -ENOMEM;
		}
		(*out)[(*n)++] = k->routes[i];
	}
	return 0;
}

static inline const char *fk_last_error(void *ctx)
{
	return ((struct fk *)ctx)->last_err;
}

static inline const struct vx_kops *fk_ops(void)
{
	static const struct vx_kops ops = {
		.link_dump = fk_link_dump,
		.fdb_dump = fk_fdb_dump,
		.neigh_dump = fk_neigh_dump,
		.bridge_add = fk_bridge_add,
		.vxlan_add = fk_vxlan_add,
		.link_fix = fk_link_fix,
		.link_del = fk_link_del,
		.ep_add = fk_ep_add,
		.ep_probe = fk_ep_probe,
		.fdb_replace = fk_fdb_replace,
		.fdb_del = fk_fdb_del,
		.neigh_replace = fk_neigh_replace,
		.neigh_del = fk_neigh_del,
		.underlay_get = fk_underlay_get,
		.route_dump = fk_route_dump,
		.last_error = fk_last_error,
	};

	return &ops;
}

#endif
