// SPDX-License-Identifier: MIT
/*
 * docker_rec: the Docker adapter's records.  Docker's pool, network and
 * endpoint ids and their vxmesh counterparts live in the state database's
 * kv table (namespaces docker.pool, docker.net, docker.ep), since dockerd
 * does not replay CreateNetwork after a restart.  Stored records are
 * checked field by field when loaded; a malformed one is skipped.
 */
#include "driver/docker_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/reactor.h"
#include "driver/core.h"
#include "driver/state.h"
#include "ipam/ipam.h"

const char *dk_jstr(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int dk_id_ok(const char *s)
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

/* The address of "a.b.c.d/len" (or a plain address); 0 or -EINVAL. */
int dk_cidr_ip(const char *s, struct in_addr *ip)
{
	char buf[INET_ADDRSTRLEN];
	size_t l = strcspn(s, "/");

	if (l >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, l);
	buf[l] = '\0';
	return addr_parse_ip4(buf, ip) ? -EINVAL : 0;
}

int dk_prefix_eq(const struct addr_prefix *x, const struct addr_prefix *y)
{
	return x->addr.s_addr == y->addr.s_addr && x->len == y->len;
}

struct dk_pool *dk_pool_find(struct drv_docker *d, const char *id)
{
	for (size_t i = 0; i < d->npools; i++)
		if (!strcmp(d->pools[i].id, id))
			return &d->pools[i];
	return NULL;
}

struct dk_net *dk_net_find(struct drv_docker *d, const char *id)
{
	for (size_t i = 0; i < d->nnets; i++)
		if (!strcmp(d->nets[i].id, id))
			return &d->nets[i];
	return NULL;
}

struct dk_ep *dk_ep_find(struct drv_docker *d, const char *id)
{
	for (size_t i = 0; i < d->neps; i++)
		if (!strcmp(d->eps[i].id, id))
			return &d->eps[i];
	return NULL;
}

int dk_grow(void **arr, size_t n, size_t elsz)
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
	int ret = txt ? drv_state_kv_put(d->st, ns, key, txt) : -ENOMEM;

	if (ret)
		log_err("docker: cannot store %s %s: %s", ns, key, strerror(-ret));
	free(txt);
	json_decref(o);
}

void dk_pool_save(struct drv_docker *d, const struct dk_pool *p)
{
	char sub[ADDR_PREFIX_STRLEN];
	json_t *aux = json_array();

	addr_fmt_prefix(&p->pool, sub);
	for (size_t i = 0; aux && i < p->naux; i++)
		json_array_append_new(aux, json_string(ADDR_IP4_STR(p->aux[i])));
	save(d, NS_POOL, p->id,
	     json_pack("{s:s,s:s,s:b,s:I,s:o}", "pool", sub, "gateway", ADDR_IP4_STR(p->gw),
		       "picked", p->picked, "refs", (json_int_t)p->refs, "aux", aux));
}

void dk_net_save(struct drv_docker *d, const struct dk_net *n)
{
	char sub[ADDR_PREFIX_STRLEN];

	addr_fmt_prefix(&n->pool, sub);
	save(d, NS_NET, n->id,
	     json_pack("{s:s,s:s,s:s,s:I,s:I,s:b,s:b}", "name", n->name, "pool", sub, "gateway",
		       ADDR_IP4_STR(n->gw), "vni", (json_int_t)n->vni, "mtu", (json_int_t)n->mtu,
		       "no_external", n->no_external, "encrypted", n->encrypted));
}

void dk_ep_save(struct drv_docker *d, const struct dk_ep *e)
{
	char mac[ADDR_MAC_STRLEN];

	addr_fmt_mac(e->mac, mac);
	save(d, NS_EP, e->id,
	     json_pack("{s:s,s:s,s:s,s:s,s:b}", "net", e->net, "ip", ADDR_IP4_STR(e->ip), "mac",
		       mac, "vx", e->vx, "own_lease", e->own_lease));
}

static void pool_load_cb(void *arg, const char *key, const char *value)
{
	struct drv_docker *d = arg;
	json_t *o = json_loads(value, 0, NULL), *aux;
	struct dk_pool p = {0};
	const char *pool = dk_jstr(o, "pool"), *gw = dk_jstr(o, "gateway");

	if (!dk_id_ok(key) || !pool || !gw || addr_parse_prefix(pool, 1, &p.pool) ||
	    addr_parse_ip4(gw, &p.gw) || dk_grow((void **)&d->pools, d->npools, sizeof(p))) {
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
	const char *name = dk_jstr(o, "name"), *pool = dk_jstr(o, "pool"),
		   *gw = dk_jstr(o, "gateway");

	if (!dk_id_ok(key) || !name || strlen(name) >= sizeof(n.name) || !pool || !gw ||
	    addr_parse_prefix(pool, 1, &n.pool) || addr_parse_ip4(gw, &n.gw) ||
	    dk_grow((void **)&d->nets, d->nnets, sizeof(n))) {
		log_warn("docker: stored network %s is malformed; ignored", key);
		json_decref(o);
		return;
	}
	snprintf(n.id, sizeof(n.id), "%s", key);
	snprintf(n.name, sizeof(n.name), "%s", name);
	n.vni = (uint32_t)json_integer_value(json_object_get(o, "vni"));
	n.mtu = (unsigned)json_integer_value(json_object_get(o, "mtu"));
	n.no_external = json_is_true(json_object_get(o, "no_external"));
	n.encrypted = json_is_true(json_object_get(o, "encrypted"));
	d->nets[d->nnets++] = n;
	json_decref(o);
}

static void ep_load_cb(void *arg, const char *key, const char *value)
{
	struct drv_docker *d = arg;
	json_t *o = json_loads(value, 0, NULL);
	struct dk_ep e = {0};
	const char *net = dk_jstr(o, "net"), *ip = dk_jstr(o, "ip"), *mac = dk_jstr(o, "mac"),
		   *vx = dk_jstr(o, "vx");

	if (!dk_id_ok(key) || !dk_id_ok(net) || !ip || !mac || !vx || strlen(vx) > VX_EP_ID_LEN ||
	    addr_parse_ip4(ip, &e.ip) || addr_parse_mac(mac, e.mac) ||
	    dk_grow((void **)&d->eps, d->neps, sizeof(e))) {
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

/* The Docker network (pool) an IPAM PoolID belongs to: the local vxmesh
 * network with exactly that subnet. */
const struct drv_net *dk_vxnet_by_subnet(struct drv_docker *d, const struct addr_prefix *p)
{
	size_t n;
	const struct drv_net *nets = drv_core_nets(d->core, &n);

	for (size_t i = 0; i < n; i++)
		if (dk_prefix_eq(&nets[i].rec.subnet, p))
			return &nets[i];
	return NULL;
}

void dk_release_lease(struct drv_docker *d, const char *net, struct in_addr ip)
{
	(void)drv_core_lease_release(d->core, net, ip);
}

void dk_leave(struct drv_docker *d, struct dk_ep *e)
{
	if (e->vx[0] && drv_core_ep_find(d->core, e->vx) && drv_core_ep_remove(d->core, e->vx, 0))
		log_err("docker: endpoint %.12s: cannot remove vxmesh endpoint %s", e->id, e->vx);
	e->vx[0] = '\0';
}

/* Leave, release what CreateEndpoint leased, forget e (swap-removed). */
void dk_ep_drop(struct drv_docker *d, struct dk_ep *e)
{
	struct dk_net *n = dk_net_find(d, e->net);

	dk_leave(d, e);
	if (e->own_lease && n && n->name[0])
		dk_release_lease(d, n->name, e->ip);
	(void)drv_state_kv_delete(d->st, NS_EP, e->id);
	*e = d->eps[--d->neps];
}

/* Re-apply what the records say once the networks are loaded. */
void dk_records_apply(struct drv_docker *d)
{
	for (size_t i = 0; i < d->npools; i++) {
		const struct drv_net *an = dk_vxnet_by_subnet(d, &d->pools[i].pool);

		for (size_t j = 0; an && j < d->pools[i].naux; j++) {
			int ret = drv_core_reserve(d->core, an->rec.name, d->pools[i].aux[j]);

			if (ret && ret != -EEXIST)
				log_warn("docker: aux address %s of pool %s: %s",
					 ADDR_IP4_STR(d->pools[i].aux[j]), d->pools[i].id,
					 ipam_strerror(ret));
		}
	}
	for (size_t i = 0; i < d->nnets; i++)
		if (!d->nets[i].name[0])
			rx_timer_arm(d->lookup_timer, LOOKUP_MS, 0);
}

int dk_records_load(struct drv_docker *d)
{
	int ret;

	if ((ret = drv_state_kv_foreach(d->st, NS_POOL, pool_load_cb, d)) ||
	    (ret = drv_state_kv_foreach(d->st, NS_NET, net_load_cb, d)) ||
	    (ret = drv_state_kv_foreach(d->st, NS_EP, ep_load_cb, d)))
		log_err("docker: cannot read the Docker records: %s", strerror(-ret));
	return ret;
}
