// SPDX-License-Identifier: MIT
/*
 * cluster: gossip wiring of the agent.
 *
 * What travels, and how:
 *  - membership: swim (memberlist 0.2.2 dialect), so serf agents can join;
 *  - node meta: Serf's tag format with our tags (driver/values.c);
 *  - table updates: user messages whose payload starts with VXM_MSG_ENTRY
 *    (0x80: Serf ignores types >= 10), carrying one gt_entry;
 *  - whole tables: the push/pull user state, wrapped as a valid Serf
 *    push/pull state, so a serf peer merges nothing and logs nothing, and a
 *    vxmesh peer finds the table.
 *
 * Every table change is written to the state database, then turned into
 * core calls by a deferred sync: networks in the table become local
 * networks; endpoints of other hosts become the core's remote set, live
 * while their host is alive (withdrawn while it is dead or left), their
 * addresses held either way.  Owners not yet seen by swim (just after a
 * restart) keep their entries for OWNER_GRACE_MS, so a restart does not
 * drop traffic.  Ownership entries go to the allocator once stored.
 */
#include "driver/cluster.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/reactor.h"
#include "common/vec.h"
#include "driver/alloc.h"
#include "driver/cluster_int.h"
#include "driver/config.h"
#include "driver/core.h"
#include "driver/keyring.h"
#include "driver/state.h"
#include "driver/values.h"
#include "gossip/swim.h"
#include "gossip/transport.h"
#include "vxlan/encc.h"
#include "vxlan/vxlan.h"

#define VXM_MSG_ENTRY  0x80
#define OWNER_GRACE_MS 30000
/* How long a delete is remembered: the partitions it survives.  (A shorter
 * age for endpoints was tried against the soak and does not bound them:
 * a tombstone one host has reaped comes back from a peer's push/pull with
 * a fresh local age; see docs/benchmarks.md, "Soak".) */
#define TOMBSTONE_MAX_AGE_MS (24ull * 3600 * 1000)
#define JOIN_RETRY_MS	     2000
#define HOUSEKEEPING_MS	     10000
#define DIRECT_FANOUT_MAX    32 /* members, self included */

static void sync_later(struct drv_cluster *cl);

/* ---- publishing ---- */

static int fans_out(struct drv_cluster *cl)
{
	size_t n = 0;

	for (enum gw_state st = GW_STATE_ALIVE; st <= GW_STATE_LEFT; st++)
		n += swim_member_count(cl->swim, st);
	return n <= DIRECT_FANOUT_MAX;
}

/* In a small cluster, send an own change straight to every live vxmesh
 * member as well: gossip alone spreads a burst of changes over several
 * rounds (each update is retransmitted a few times to random members), and
 * a peer that missed one waits for the next push/pull. */
static void direct_fanout(struct drv_cluster *cl, const uint8_t *msg, size_t len)
{
	struct swim_member *ms;
	size_t n;

	if (!fans_out(cl) || swim_members(cl->swim, &ms, &n))
		return;
	if (n <= DIRECT_FANOUT_MAX)
		for (size_t i = 0; i < n; i++) {
			struct drv_peer_info pi;

			if (ms[i].state != GW_STATE_ALIVE || !strcmp(ms[i].name, cl->name))
				continue;
			drv_meta_decode(ms[i].meta, ms[i].meta_len, &pi, 0);
			if (pi.vxmesh)
				(void)swim_send_user(cl->swim, ms[i].name, msg, len);
		}
	free(ms);
}

/* An entry as a user message: VXM_MSG_ENTRY + the encoded entry. */
static uint8_t *entry_msg(const struct gt_entry *e, size_t *len)
{
	uint8_t *buf, *msg;
	size_t n;

	if (gt_entry_encode(e, &buf, &n))
		return NULL;
	msg = malloc(n + 1);
	if (msg) {
		msg[0] = VXM_MSG_ENTRY;
		memcpy(msg + 1, buf, n);
		*len = n + 1;
	}
	free(buf);
	return msg;
}

/* Queue e for gossip; own changes (own) also go straight to the members. */
static void broadcast_entry(struct drv_cluster *cl, const struct gt_entry *e, int own)
{
	char key[GT_KEY_MAX + 8];
	uint8_t *msg;
	size_t len;

	if (!cl->swim || !(msg = entry_msg(e, &len)))
		return;
	snprintf(key, sizeof(key), "t%u:%s", e->kind, e->key);
	if (swim_broadcast_user(cl->swim, key, msg, len))
		log_warn("gossip: cannot queue the update of %s", e->key);
	if (own)
		direct_fanout(cl, msg, len);
	gx_kick(cl->gx);
	free(msg);
}

static void forget_unstored(struct drv_cluster *cl)
{
	for (size_t i = 0; i < cl->nunstored; i++)
		gt_forget(cl->tab, cl->unstored[i].kind, cl->unstored[i].key);
	cl->nunstored = 0;
}

/* Write, persist (through table_change_cb), then gossip; an entry the
 * database refused is not sent.  Takes value. */
static int publish_as(struct drv_cluster *cl, uint8_t kind, const char *key, const char *owner,
		      uint8_t *value, size_t len)
{
	const struct gt_entry *cur = gt_get(cl->tab, kind, key), *out;
	int ret = 0;

	if (!value) {
		log_err("gossip: out of memory publishing %s", key);
		return -ENOMEM;
	}
	/* Unchanged values are not republished: restarts stay quiet. */
	if (!cur || cur->deleted || cur->value_len != len || memcmp(cur->value, value, len) ||
	    strcmp(cur->owner, owner)) {
		cl->persist_err = 0;
		ret = gt_put(cl->tab, kind, key, owner, value, len, rx_now_ms(cl->loop), &out);
		if (!ret && cl->persist_err)
			ret = cl->persist_err;
		else if (!ret)
			broadcast_entry(cl, out, 1);
		forget_unstored(cl);
	}
	free(value);
	return ret;
}

static int unpublish(struct drv_cluster *cl, uint8_t kind, const char *key)
{
	const struct gt_entry *out;
	int ret;

	cl->persist_err = 0;
	ret = gt_del(cl->tab, kind, key, rx_now_ms(cl->loop), &out);
	if (!ret && cl->persist_err)
		ret = cl->persist_err;
	else if (!ret)
		broadcast_entry(cl, out, 1);
	forget_unstored(cl);
	return ret;
}

static void net_publish(struct drv_cluster *cl, const struct drv_net *n)
{
	size_t len;
	uint8_t *v = drv_net_value(&n->rec, &len);

	(void)publish_as(cl, GT_KIND_NET, n->rec.name, cl->self, v, len);
}

static void ep_publish(struct drv_cluster *cl, const struct drv_ep_rec *r)
{
	size_t len;
	uint8_t *v = drv_ep_value(r, cl->vtep_addr, cl->vtep_port, cl->name, &len);

	(void)publish_as(cl, GT_KIND_EP, r->id, cl->self, v, len);
}

/* ---- the core's hooks: local changes to replicate, cluster vetoes ---- */

static int stamp_lt(const struct gt_entry *a, const struct gt_entry *b)
{
	return a->clock < b->clock || (a->clock == b->clock && strcmp(a->origin, b->origin) < 0);
}

/* Does another live network hold this one's VNI with an older stamp?  Then
 * this one lost: the same rule on every host. */
struct vni_scan {
	const struct gt_entry *e;
	uint32_t vni;
	const struct gt_entry *winner;
};

static void vni_scan_cb(void *arg, const struct gt_entry *other)
{
	struct vni_scan *vs = arg;
	struct drv_net_rec r;

	if (other == vs->e || !strcmp(other->key, vs->e->key) || drv_net_parse(other, &r) ||
	    r.vni != vs->vni)
		return;
	if (stamp_lt(other, vs->e) && (!vs->winner || stamp_lt(other, vs->winner)))
		vs->winner = other;
}

static const struct gt_entry *vni_winner(struct drv_cluster *cl, const struct gt_entry *e,
					 uint32_t vni)
{
	struct vni_scan vs = {.e = e, .vni = vni};

	gt_foreach(cl->tab, GT_KIND_NET, 0, vni_scan_cb, &vs);
	return vs.winner;
}

/* Would a new local network clash with one the cluster knows (the name
 * taken, or its VNI used by a live network)? */
static int hook_net_check(void *arg, const struct drv_net_rec *rec, char *why, size_t len)
{
	struct drv_cluster *cl = arg;
	struct gt_entry probe = {.clock = UINT64_MAX, .origin = "\xff"};
	const struct gt_entry *e = gt_get(cl->tab, GT_KIND_NET, rec->name), *w;

	if (e && !e->deleted) {
		snprintf(why, len, "network \"%s\" already exists in the cluster (created by %s)",
			 rec->name, e->owner);
		return 1;
	}
	snprintf(probe.key, sizeof(probe.key), "%s", rec->name);
	w = vni_winner(cl, &probe, rec->vni);
	if (w) {
		snprintf(why, len, "VNI %u is already used by network \"%s\" in the cluster",
			 rec->vni, w->key);
		return 1;
	}
	return 0;
}

struct count_scan {
	struct drv_cluster *cl;
	const char *net;
	size_t n;
};

static void count_cb(void *arg, const struct gt_entry *e)
{
	struct count_scan *cs = arg;
	struct drv_ep_val v;

	if (strcmp(e->owner, cs->cl->self) && !drv_ep_parse(e, &v) && !strcmp(v.net, cs->net))
		cs->n++;
}

/* Refuse to destroy a network other hosts' endpoints still use. */
static int hook_net_destroy_check(void *arg, const char *name, char *why, size_t len)
{
	struct count_scan cs = {.cl = arg, .net = name};

	gt_foreach(cs.cl->tab, GT_KIND_EP, 0, count_cb, &cs);
	if (!cs.n)
		return 0;
	snprintf(why, len,
		 "network \"%s\" still has %zu endpoint(s) on other hosts; detach them there first",
		 name, cs.n);
	return 1;
}

struct subnet_scan {
	const struct addr_prefix *p;
	int used;
};

static void subnet_scan_cb(void *arg, const struct gt_entry *e)
{
	struct subnet_scan *ss = arg;
	struct drv_net_rec r;

	if (!drv_net_parse(e, &r) && addr_prefix_overlaps(&r.subnet, ss->p))
		ss->used = 1;
}

static int hook_subnet_used(void *arg, const struct addr_prefix *p)
{
	struct drv_cluster *cl = arg;
	struct subnet_scan ss = {.p = p};

	gt_foreach(cl->tab, GT_KIND_NET, 0, subnet_scan_cb, &ss);
	return ss.used;
}

static void hook_net_added(void *arg, const struct drv_net *n, int created)
{
	if (created)
		net_publish(arg, n);
}

static void hook_net_removed(void *arg, const char *name, int destroyed)
{
	if (destroyed)
		(void)unpublish(arg, GT_KIND_NET, name);
}

static void hook_ep_added(void *arg, const struct drv_ep *e)
{
	ep_publish(arg, &e->rec);
}

static void hook_ep_removed(void *arg, const struct drv_ep_rec *e)
{
	(void)unpublish(arg, GT_KIND_EP, e->id);
}

static const struct drv_core_hooks core_hooks = {
	.net_check = hook_net_check,
	.net_destroy_check = hook_net_destroy_check,
	.subnet_used = hook_subnet_used,
	.net_added = hook_net_added,
	.net_removed = hook_net_removed,
	.ep_added = hook_ep_added,
	.ep_removed = hook_ep_removed,
};

int drv_cluster_net_known(const struct drv_cluster *cl, const char *name)
{
	const struct gt_entry *e = cl ? gt_get(cl->tab, GT_KIND_NET, name) : NULL;

	return e && !e->deleted;
}

/* ---- from the tables to the core ---- */

static int net_same(const struct drv_net_rec *x, const struct drv_net_rec *y)
{
	return x->vni == y->vni && x->subnet.addr.s_addr == y->subnet.addr.s_addr &&
	       x->subnet.len == y->subnet.len && x->gw.s_addr == y->gw.s_addr && x->mtu == y->mtu &&
	       x->port == y->port && !strcmp(x->ring, y->ring);
}

/* A network entry that lost its VNI to an older one is skipped. */
static int net_lost(struct drv_cluster *cl, const struct gt_entry *e, const struct drv_net_rec *r)
{
	const struct gt_entry *w = vni_winner(cl, e, r->vni);

	if (!w)
		return 0;
	/* Only the creator needs telling; everyone else just skips it. */
	if (!strcmp(e->owner, cl->self))
		log_err("network %s lost VNI %u to network %s (created first, on node %s); remove "
			"it and create it again with another VNI",
			e->key, r->vni, w->key, w->owner);
	cl->conflicts++;
	return 1;
}

static void net_sync_cb(void *arg, const struct gt_entry *e)
{
	struct drv_cluster *cl = arg;
	const struct drv_net *have, *other;
	struct drv_net_rec r;
	char why[256];

	if (drv_net_parse(e, &r)) {
		log_warn("gossip: network entry %s from %s is malformed; ignored", e->key,
			 e->origin);
		return;
	}
	if (net_lost(cl, e, &r))
		return;
	have = drv_core_net_find(cl->core, e->key);
	if (have && net_same(&have->rec, &r))
		return;
	if (have) {
		if (drv_core_net_ep_count(cl->core, e->key)) {
			log_err("network %s was redefined by node %s (its version won), but local "
				"endpoints still use the old one; detach them to take the new "
				"definition",
				e->key, e->origin);
			cl->conflicts++;
			return;
		}
		log_warn("network %s was created concurrently elsewhere; node %s's definition "
			 "wins here and everywhere",
			 e->key, e->origin);
		if (drv_core_net_remove(cl->core, e->key))
			return;
	}
	/* A local network with this VNI that lost (or is not yet known to the
	 * table) yields when it has no endpoints. */
	other = drv_core_net_find_vni(cl->core, r.vni);
	if (other && !drv_core_net_ep_count(cl->core, other->rec.name)) {
		char name[VX_NET_NAME_MAX];

		snprintf(name, sizeof(name), "%s", other->rec.name);
		drv_core_net_remove(cl->core, name);
	}
	if (drv_core_net_add(cl->core, &r, why, sizeof(why)))
		log_err("network %s from the cluster could not be created here: %s", e->key, why);
}

static void net_tomb_cb(void *arg, const struct gt_entry *e)
{
	struct drv_cluster *cl = arg;

	if (!e->deleted || !drv_core_net_find(cl->core, e->key))
		return;
	if (drv_core_net_ep_count(cl->core, e->key)) {
		log_err("network %s was removed by node %s but has local endpoints; keeping it",
			e->key, e->origin);
		return;
	}
	log_info("network %s removed by node %s", e->key, e->origin);
	drv_core_net_remove(cl->core, e->key);
}

static void nets_sync(struct drv_cluster *cl)
{
	const struct drv_net *nets;
	size_t n;

	gt_foreach(cl->tab, GT_KIND_NET, 0, net_sync_cb, cl);
	gt_foreach(cl->tab, GT_KIND_NET, 1, net_tomb_cb, cl);
	/* Local networks the table has no live entry for are published now:
	 * made before gossip, or deleted elsewhere while local endpoints still
	 * use them (they stay, so they come back everywhere). */
	nets = drv_core_nets(cl->core, &n);
	for (size_t i = 0; i < n; i++)
		if (!gt_get(cl->tab, GT_KIND_NET, nets[i].rec.name))
			net_publish(cl, &nets[i]);
}

/* Member state of the node with this id: 1 alive/suspect, 0 dead/left,
 * -1 unknown. */
static int owner_alive(const struct swim_member *ms, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++) {
		struct drv_peer_info pi;

		drv_meta_decode(ms[i].meta, ms[i].meta_len, &pi, 0);
		if (pi.vxmesh && !strcmp(pi.id, id))
			return ms[i].state == GW_STATE_ALIVE || ms[i].state == GW_STATE_SUSPECT;
	}
	return -1;
}

struct remote_scan {
	struct drv_cluster *cl;
	struct swim_member *ms;
	size_t nms;
	struct drv_remote *want;
	size_t nwant, cap;
	int oom;
};

static void remote_scan_cb(void *arg, const struct gt_entry *e)
{
	struct remote_scan *rs = arg;
	struct drv_cluster *cl = rs->cl;
	const struct drv_net *n;
	struct drv_remote *r;
	struct drv_ep_val v;
	int alive;

	if (!strcmp(e->owner, cl->self))
		return;
	if (drv_ep_parse(e, &v)) {
		cl->user_bad++;
		return;
	}
	n = drv_core_net_find(cl->core, v.net);
	if (!n)
		return;
	if (!addr_prefix_contains(&n->rec.subnet, v.ip)) {
		cl->user_bad++;
		return;
	}
	if (vec_grow((void **)&rs->want, &rs->cap, rs->nwant + 1, sizeof(*rs->want))) {
		rs->oom = 1;
		return;
	}
	alive = owner_alive(rs->ms, rs->nms, e->owner);
	r = &rs->want[rs->nwant++];
	*r = (struct drv_remote){.ip = v.ip, .vtep = v.vtep, .port = v.vtep_port};
	snprintf(r->net, sizeof(r->net), "%s", v.net);
	memcpy(r->mac, v.mac, 6);
	/* Withdrawn while its host is dead, left or long unknown. */
	r->live = alive == 1 || (alive < 0 && rx_now_ms(cl->loop) - cl->started <= OWNER_GRACE_MS);
}

static void remotes_sync(struct drv_cluster *cl)
{
	struct remote_scan rs = {.cl = cl};

	if (swim_members(cl->swim, &rs.ms, &rs.nms))
		return;
	gt_foreach(cl->tab, GT_KIND_EP, 0, remote_scan_cb, &rs);
	free(rs.ms);
	if (!rs.oom && drv_core_remotes_set(cl->core, rs.want, rs.nwant))
		rs.oom = 1;
	if (rs.oom)
		log_warn("gossip: out of memory syncing remote endpoints; retried on the next "
			 "change");
	free(rs.want);
}

/* The live members with an encrypted datapath, to the core. */
static void enc_nodes_sync(struct drv_cluster *cl, const struct swim_member *ms, size_t n)
{
	struct vx_encc_node *nodes = calloc(n + 1, sizeof(*nodes));
	size_t k = 0;

	if (!nodes) {
		log_err("gossip: out of memory telling the encrypted datapath about members");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct drv_peer_info pi;

		if (ms[i].is_self ||
		    (ms[i].state != GW_STATE_ALIVE && ms[i].state != GW_STATE_SUSPECT))
			continue;
		drv_meta_decode(ms[i].meta, ms[i].meta_len, &pi, 0);
		if (!pi.vxmesh || !pi.enc_port)
			continue;
		nodes[k++] = (struct vx_encc_node){.vtep = pi.vtep,
						   .vport = pi.vtep_port,
						   .enc_port = pi.enc_port,
						   .session = pi.enc_session};
	}
	if (drv_core_enc_nodes(cl->core, nodes, k))
		log_err("gossip: out of memory telling the encrypted datapath about members");
	free(nodes);
}

void drv_cluster_enc_update(struct drv_cluster *cl)
{
	uint64_t s = drv_core_enc_session(cl->core);
	uint8_t meta[GW_META_MAX];
	size_t len;

	if (s == cl->enc_session || !cl->enc_port)
		return;
	cl->enc_session = s;
	if (drv_meta_encode(cl->self, cl->vtep_addr, cl->vtep_port, s ? cl->enc_port : 0, s, meta,
			    &len) ||
	    swim_set_meta(cl->swim, rx_now_ms(cl->loop), meta, len))
		log_err("gossip: cannot advertise the encrypted datapath's new session");
}

void drv_cluster_keys_push(struct drv_cluster *cl)
{
	if (cl->core && drv_core_enc_keys(cl->core, (const uint8_t(*)[32])cl->kr.keys, cl->kr.n))
		log_err("out of memory handing the keys to the encrypted datapath");
}

/* The members' VTEP addresses, live and gone, to whoever asked (admission). */
static void members_notify(struct drv_cluster *cl)
{
	struct swim_member *ms;
	struct in_addr *live, *gone;
	size_t n, nl = 0, ng = 0;

	if (swim_members(cl->swim, &ms, &n))
		return;
	enc_nodes_sync(cl, ms, n);
	if (!cl->members_cb) {
		free(ms);
		return;
	}
	live = calloc(n + 1, sizeof(*live));
	gone = calloc(n + 1, sizeof(*gone));
	if (live && gone) {
		live[nl++] = cl->vtep_addr;
		for (size_t i = 0; i < n; i++) {
			struct drv_peer_info pi;

			drv_meta_decode(ms[i].meta, ms[i].meta_len, &pi, 0);
			if (!pi.vxmesh || ms[i].is_self)
				continue;
			if (ms[i].state == GW_STATE_ALIVE || ms[i].state == GW_STATE_SUSPECT)
				live[nl++] = pi.vtep;
			else
				gone[ng++] = pi.vtep;
		}
		cl->members_cb(cl->members_arg, live, nl, gone, ng);
	} else {
		log_err("gossip: out of memory telling admission about members");
	}
	free(live);
	free(gone);
	free(ms);
}

void drv_cluster_on_members(struct drv_cluster *cl, drv_members_cb cb, void *arg)
{
	cl->members_cb = cb;
	cl->members_arg = arg;
	members_notify(cl);
}

/* Our own endpoint entries without a local endpoint: left by a crash
 * between a detach's commit and its gossip.  Collected, then
 * withdrawn (the table must not change during gt_foreach). */
static void stale_own_cb(void *arg, const struct gt_entry *e)
{
	struct drv_cluster *cl = arg;
	char **g;

	if (strcmp(e->owner, cl->self) || drv_core_ep_find(cl->core, e->key))
		return;
	g = realloc(cl->stale, (cl->nstale + 1) * sizeof(*g));
	if (!g)
		return;
	cl->stale = g;
	cl->stale[cl->nstale] = strdup(e->key);
	if (cl->stale[cl->nstale])
		cl->nstale++;
}

static void own_stale_withdraw(struct drv_cluster *cl)
{
	gt_foreach(cl->tab, GT_KIND_EP, 0, stale_own_cb, cl);
	for (size_t i = 0; i < cl->nstale; i++) {
		log_info("gossip: withdrawing endpoint %s: ours, but not attached here",
			 cl->stale[i]);
		(void)unpublish(cl, GT_KIND_EP, cl->stale[i]);
		free(cl->stale[i]);
	}
	free(cl->stale);
	cl->stale = NULL;
	cl->nstale = 0;
}

static void sync_now(struct drv_cluster *cl)
{
	cl->sync_pending = 0;
	nets_sync(cl);
	remotes_sync(cl);
	/* Table changes are the common case; the member list changes only
	 * with swim's events. */
	if (cl->members_changed) {
		cl->members_changed = 0;
		members_notify(cl);
	}
}

static void sync_cb(struct rx_loop *loop, void *arg)
{
	struct drv_cluster *cl = arg;

	if (cl->sync_pending)
		sync_now(cl);
}

static void sync_later(struct drv_cluster *cl)
{
	if (cl->sync_pending || cl->loading)
		return;
	if (rx_defer(cl->loop, sync_cb, cl) == 0)
		cl->sync_pending = 1;
}

static void table_change_cb(void *arg, const struct gt_entry *old, const struct gt_entry *cur)
{
	struct drv_cluster *cl = arg;
	int ret;

	if (!cl->loading && (ret = drv_state_gossip_put(cl->st, cur))) {
		struct unstored *u;

		log_err("state database: cannot store %s: %s", cur->key, strerror(-ret));
		cl->persist_err = ret;
		/* Not kept in memory either (after this callback): what this host
		 * has not stored it must not pass on or act on. */
		u = realloc(cl->unstored, (cl->nunstored + 1) * sizeof(*u));
		if (u) {
			cl->unstored = u;
			u[cl->nunstored].kind = cur->kind;
			memcpy(u[cl->nunstored++].key, cur->key, GT_KEY_MAX);
		}
	} else if (cur->kind >= GT_KIND_RING && cur->kind <= GT_KIND_RETIRED) {
		/* Stored first: ownership is acted on only once it survives a crash. */
		drv_alloc_table_changed(cl->al, cur);
	}
	sync_later(cl);
}

/* ---- the allocator's peers ---- */

static int peer_put(void *arg, uint8_t kind, const char *key, const char *owner, uint8_t *value,
		    size_t len)
{
	struct drv_cluster *cl = arg;

	return publish_as(cl, kind, key, owner ? owner : cl->self, value, len);
}

static int peer_del(void *arg, uint8_t kind, const char *key)
{
	return unpublish(arg, kind, key);
}

static const struct gt_entry *peer_get(void *arg, uint8_t kind, const char *key)
{
	struct drv_cluster *cl = arg;

	return gt_get(cl->tab, kind, key);
}

static void peer_foreach(void *arg, uint8_t kind, gt_entry_cb cb, void *cbarg)
{
	struct drv_cluster *cl = arg;

	gt_foreach(cl->tab, kind, 0, cb, cbarg);
}

/* Gossip name and state of the vxmesh member with node id `id` (or called
 * `name`): 1 alive/suspect, 0 dead/left, -1 unknown; out gets the other of
 * the two. */
static int member_find(struct drv_cluster *cl, const char *id, const char *name, char *out,
		       size_t len)
{
	struct swim_member *ms;
	size_t n;
	int ret = -1;

	if (!cl->swim || swim_members(cl->swim, &ms, &n))
		return -1;
	for (size_t i = 0; i < n && ret < 0; i++) {
		struct drv_peer_info pi;

		drv_meta_decode(ms[i].meta, ms[i].meta_len, &pi, 0);
		if (!pi.vxmesh || (id && strcmp(pi.id, id)) || (name && strcmp(ms[i].name, name)))
			continue;
		ret = ms[i].state == GW_STATE_ALIVE || ms[i].state == GW_STATE_SUSPECT;
		if (out)
			snprintf(out, len, "%s", id ? ms[i].name : pi.id);
	}
	free(ms);
	return ret;
}

static int peer_member_state(void *arg, const char *id, char *name, size_t len)
{
	struct drv_cluster *cl = arg;

	if (!strcmp(id, cl->self)) {
		if (name)
			snprintf(name, len, "%s", cl->name);
		return 1;
	}
	return member_find(cl, id, NULL, name, len);
}

static int peer_member_by_name(void *arg, const char *name, char *id, size_t len)
{
	struct drv_cluster *cl = arg;

	if (!strcmp(name, cl->name)) {
		snprintf(id, len, "%s", cl->self);
		return 1;
	}
	return member_find(cl, NULL, name, id, len);
}

static int id_cmp(const void *x, const void *y)
{
	return strcmp(x, y);
}

static int peer_live_ids(void *arg, char (**ids)[GT_ID_MAX], size_t *n)
{
	struct drv_cluster *cl = arg;
	struct swim_member *ms;
	size_t nms;

	*ids = NULL;
	*n = 0;
	if (!cl->swim || swim_members(cl->swim, &ms, &nms))
		return -ENOMEM;
	*ids = calloc(nms ? nms : 1, sizeof(**ids));
	if (!*ids) {
		free(ms);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nms; i++) {
		struct drv_peer_info pi;

		if (ms[i].state != GW_STATE_ALIVE && ms[i].state != GW_STATE_SUSPECT)
			continue;
		drv_meta_decode(ms[i].meta, ms[i].meta_len, &pi, 0);
		if (pi.vxmesh)
			memcpy((*ids)[(*n)++], pi.id, GT_ID_MAX);
	}
	free(ms);
	qsort(*ids, *n, GT_ID_MAX, id_cmp);
	return 0;
}

static int peer_fans_out(void *arg)
{
	struct drv_cluster *cl = arg;

	return cl->swim && fans_out(cl);
}

static int peer_send(void *arg, const char *id, const uint8_t *msg, size_t len)
{
	struct drv_cluster *cl = arg;
	char name[GW_NAME_MAX];
	int st = member_find(cl, id, NULL, name, sizeof(name));

	if (st < 0)
		return -ENOENT;
	if (!st)
		return -EHOSTDOWN;
	if (swim_send_user(cl->swim, name, msg, len))
		return -EIO;
	gx_kick(cl->gx);
	return 0;
}

static int peer_send_entry(void *arg, const char *id, uint8_t kind, const char *key)
{
	struct drv_cluster *cl = arg;
	const struct gt_entry *e = gt_get(cl->tab, kind, key);
	uint8_t *msg;
	size_t len;
	int ret;

	if (!e)
		return -ENOENT;
	if (!(msg = entry_msg(e, &len)))
		return -ENOMEM;
	ret = peer_send(cl, id, msg, len);
	free(msg);
	return ret;
}

static const struct drv_alloc_peers alloc_peers = {
	.put = peer_put,
	.del = peer_del,
	.get = peer_get,
	.foreach = peer_foreach,
	.send = peer_send,
	.send_entry = peer_send_entry,
	.fans_out = peer_fans_out,
	.member_state = peer_member_state,
	.member_by_name = peer_member_by_name,
	.live_ids = peer_live_ids,
};

/* ---- swim callbacks ---- */

static void ops_send_packet(void *arg, struct in_addr dst, uint16_t port, const uint8_t *buf,
			    size_t len)
{
	struct drv_cluster *cl = arg;

	gx_send_packet(cl->gx, dst, port, buf, len);
}

static void ops_send_stream(void *arg, uint64_t id, struct in_addr dst, uint16_t port,
			    const uint8_t *msg, size_t len)
{
	struct drv_cluster *cl = arg;

	gx_send_stream(cl->gx, id, dst, port, msg, len);
}

static const char *const ev_names[] = {
	[SWIM_EV_JOIN] = "join",	 [SWIM_EV_UPDATE] = "update", [SWIM_EV_SUSPECT] = "suspect",
	[SWIM_EV_ALIVE] = "alive",	 [SWIM_EV_FAILED] = "failed", [SWIM_EV_LEFT] = "left",
	[SWIM_EV_CONFLICT] = "conflict",
};

static void ops_event(void *arg, enum swim_ev_type ev, const struct swim_member *m)
{
	struct drv_cluster *cl = arg;
	char ip[ADDR_IP4_STRLEN];

	if (ev == SWIM_EV_SUSPECT || ev == SWIM_EV_ALIVE)
		log_dbg("member %s %s:%u is %s", m->name, addr_fmt_ip4(m->addr, ip), m->port,
			ev_names[ev]);
	else
		log_info("member %s %s:%u %s (incarnation %u)", m->name, addr_fmt_ip4(m->addr, ip),
			 m->port, ev_names[ev], m->inc);
	cl->members_changed = 1;
	sync_later(cl);
}

static void ops_user_msg(void *arg, const uint8_t *buf, size_t len)
{
	struct drv_cluster *cl = arg;
	struct gt_entry e;
	int ret;

	if (len && buf[0] >= DRV_ALLOC_MSG_FIRST && buf[0] <= DRV_ALLOC_MSG_LAST) {
		cl->user_msgs++;
		drv_alloc_user_msg(cl->al, buf, len);
		return;
	}
	if (!len || buf[0] != VXM_MSG_ENTRY) {
		cl->user_foreign++; /* Serf's own messages (types 0-9), or others' */
		return;
	}
	cl->user_msgs++;
	if (gt_entry_decode(buf + 1, len - 1, &e)) {
		static struct log_ratelimit rl;

		cl->user_bad++;
		if (log_ratelimit_ok(&rl))
			log_warn("gossip: dropped a malformed table update (%zu bytes)", len);
		return;
	}
	cl->persist_err = 0;
	ret = gt_merge(cl->tab, &e, rx_now_ms(cl->loop));
	if (ret < 0) {
		cl->user_bad++;
		return;
	}
	if (cl->persist_err) {
		forget_unstored(cl);
		return;
	}
	/* memberlist does not relay user messages: news is passed on by every
	 * node that learns it, as Serf does with its own broadcasts. */
	if (ret == 1)
		broadcast_entry(
			cl, gt_get(cl->tab, e.kind, e.key) ? gt_get(cl->tab, e.kind, e.key) : &e,
			0);
}

static int ops_user_ok(void *arg, const uint8_t *meta, size_t len)
{
	struct drv_peer_info pi;

	drv_meta_decode(meta, len, &pi, 0);
	return pi.vxmesh;
}

/* Serf push/pull state with our table under an extra key. */
static void ops_local_state(void *arg, const struct swim_member *peer, int join, uint8_t **buf,
			    size_t *len)
{
	struct drv_cluster *cl = arg;
	uint8_t *tab;
	size_t tlen;

	*buf = NULL;
	*len = 0;
	if (gt_encode_all(cl->tab, &tab, &tlen))
		return;
	if (drv_pushpull_encode(tab, tlen, buf, len))
		log_warn("gossip: out of memory encoding the push/pull state");
	free(tab);
}

static void merge_one_cb(void *arg, const uint8_t *tab, size_t tlen)
{
	struct drv_cluster *cl = arg;
	int ret = gt_merge_all(cl->tab, tab, tlen, rx_now_ms(cl->loop));

	forget_unstored(cl);
	if (ret < 0)
		cl->user_bad++;
	else
		cl->merged += (unsigned)ret;
}

static void ops_merge_state(void *arg, const uint8_t *buf, size_t len, int join)
{
	struct drv_cluster *cl = arg;
	int bad = drv_pushpull_decode(buf, len, merge_one_cb, cl);

	/* Not a Serf push/pull state at all: a foreign peer's; ignored. */
	if (bad > 0)
		cl->user_bad += (unsigned)bad;
}

static const struct swim_ops swim_ops = {
	.send_packet = ops_send_packet,
	.send_stream = ops_send_stream,
	.event = ops_event,
	.user_msg = ops_user_msg,
	.local_state = ops_local_state,
	.merge_state = ops_merge_state,
	.user_ok = ops_user_ok,
};

/* ---- housekeeping ---- */

static void join_seeds(struct drv_cluster *cl)
{
	if (!cl->nseeds || cl->leaving)
		return;
	if (swim_join(cl->swim, rx_now_ms(cl->loop), cl->seeds, cl->seed_ports, cl->nseeds))
		log_warn("gossip: join could not start");
	gx_kick(cl->gx);
}

struct reap_scan {
	struct drv_cluster *cl;
	uint64_t now;
};

/* Tombstones about to be reaped leave the database first: the table fires
 * no callback for reaping. */
static void reap_row_cb(void *arg, const struct gt_entry *e)
{
	struct reap_scan *rs = arg;

	if (e->deleted && rs->now > e->deleted_at && rs->now - e->deleted_at > TOMBSTONE_MAX_AGE_MS)
		drv_state_gossip_delete(rs->cl->st, e->kind, e->key);
}

static void reap(struct drv_cluster *cl, uint64_t now)
{
	struct reap_scan rs = {.cl = cl, .now = now};

	gt_foreach(cl->tab, GT_KIND_NET, 1, reap_row_cb, &rs);
	gt_foreach(cl->tab, GT_KIND_EP, 1, reap_row_cb, &rs);
	if (gt_reap(cl->tab, now, TOMBSTONE_MAX_AGE_MS))
		log_dbg("gossip: reaped old tombstones");
}

/* Dropped input is counted where it is found (swim, transport, here) and
 * reported here, at most once per housekeeping round. */
static void bad_input_report(struct drv_cluster *cl)
{
	struct swim_stats ss;
	struct gx_stats gs;
	unsigned long long bad;

	swim_stats_get(cl->swim, &ss);
	gx_stats_get(cl->gx, &gs);
	/* Failed streams are mostly peers that went away: not counted as bad
	 * input here (they are in the metrics). */
	bad = ss.decode_errors + gs.decrypt_failures + cl->user_bad;
	if (bad > cl->logged_bad)
		log_warn("gossip: dropped input since start: %llu undecodable messages, %llu "
			 "packets no key opened, %llu bad table updates",
			 ss.decode_errors, gs.decrypt_failures, cl->user_bad);
	cl->logged_bad = bad;
}

static void housekeeping_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct drv_cluster *cl = arg;
	uint64_t now = rx_now_ms(loop);
	size_t others = swim_member_count(cl->swim, GW_STATE_ALIVE) +
			swim_member_count(cl->swim, GW_STATE_SUSPECT);

	if (cl->leaving) {
		if (swim_leave_done(cl->swim)) {
			log_info("left the cluster; stopping");
			rx_loop_stop(loop);
			return;
		}
		rx_timer_arm(t, 100, 0);
		return;
	}
	/* Alone with seeds to try: keep knocking (a seed may start later). */
	if (others <= 1 && cl->nseeds) {
		join_seeds(cl);
		rx_timer_arm(t, JOIN_RETRY_MS, JOIN_RETRY_MS / 4);
	} else {
		rx_timer_arm(t, HOUSEKEEPING_MS, HOUSEKEEPING_MS / 10);
	}
	bad_input_report(cl);
	/* Grace for owners unknown since start ends: resync once. */
	if (now - cl->started >= OWNER_GRACE_MS && now - cl->started < OWNER_GRACE_MS + 15000)
		sync_later(cl);
	reap(cl, now);
}

/* ---- start-up ---- */

int drv_cluster_seeds_add(struct drv_cluster *cl, const char *list)
{
	char buf[2048], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct in_addr ip;
		uint16_t port = DRV_GOSSIP_PORT;
		void *g1, *g2;

		if (addr_parse_hostport(tok, &ip, &port)) {
			log_err("--join: '%s' is not ADDR[:PORT]", tok);
			return -EINVAL;
		}
		for (size_t i = 0; i < cl->nseeds; i++)
			if (cl->seeds[i].s_addr == ip.s_addr && cl->seed_ports[i] == port)
				goto next;
		g1 = realloc(cl->seeds, (cl->nseeds + 1) * sizeof(*cl->seeds));
		if (g1)
			cl->seeds = g1;
		g2 = realloc(cl->seed_ports, (cl->nseeds + 1) * sizeof(*cl->seed_ports));
		if (g2)
			cl->seed_ports = g2;
		if (!g1 || !g2)
			return -ENOMEM;
		cl->seeds[cl->nseeds] = ip;
		cl->seed_ports[cl->nseeds++] = port;
	next:;
	}
	return 0;
}

/* Install key as the primary key and save the keyring. */
static int key_use(struct drv_cluster *cl, const uint8_t key[GW_KEY_LEN])
{
	int ret = gw_keyring_install(&cl->kr, key);

	if (ret == 0 || ret == -EEXIST)
		ret = gw_keyring_use(&cl->kr, key);
	return ret ? ret : drv_keyring_save(&cl->kr, cl->keyring_path);
}

static int token_apply(struct drv_cluster *cl, const char *token)
{
	struct drv_token t;
	int ret = drv_token_decode(token, &t);

	for (size_t i = 0; !ret && i < t.nseeds; i++)
		ret = drv_cluster_seeds_add(cl, t.seeds[i]);
	if (!ret && t.has_key)
		ret = key_use(cl, t.key);
	sodium_memzero(&t, sizeof(t));
	if (ret == -EINVAL)
		log_err("the join token is not valid (make one with 'vxmesh token')");
	return ret;
}

/* Keys: the keyring file, then --encrypt and a token's key on top; the
 * config's copies are wiped. */
static int keys_open(struct drv_cluster *cl, struct drv_config *cfg, uint16_t bind_port)
{
	uint8_t key[GW_KEY_LEN];
	int ret;

	snprintf(cl->keyring_path, sizeof(cl->keyring_path), "%s/keyring.json", cfg->state_dir);
	if ((ret = drv_keyring_load(&cl->kr, cl->keyring_path)))
		return ret;
	if (cfg->encrypt[0]) {
		ret = drv_key_from_b64(cfg->encrypt, key);
		if (ret)
			log_err("--encrypt: not a base64 32-byte key (make one with 'vxmesh key "
				"generate')");
		else
			ret = key_use(cl, key);
		sodium_memzero(key, sizeof(key));
		if (ret)
			return ret;
	}
	if (cfg->join_token[0] && (ret = token_apply(cl, cfg->join_token)))
		return ret;
	sodium_memzero(cfg->encrypt, sizeof(cfg->encrypt));
	sodium_memzero(cfg->join_token, sizeof(cfg->join_token));
	if (cl->kr.n && gw_crypto_init()) {
		log_err("this CPU lacks AES-NI/PCLMUL, which libsodium's AES-256-GCM needs: "
			"encrypted gossip is not possible here");
		return -ENOTSUP;
	}
	if (!cl->kr.n)
		log_warn("gossip is NOT encrypted: anyone who reaches port %u can join this "
			 "cluster and change its networks (start with --encrypt KEY)",
			 bind_port);
	return 0;
}

/* Addresses: bind, advertise (what others dial), VTEP (where VXLAN goes). */
static int addrs_open(struct drv_cluster *cl, const struct drv_config *cfg,
		      struct in_addr bind_addr, uint16_t bind_port)
{
	if (cfg->advertise[0]) {
		cl->adv_port = bind_port;
		if (addr_parse_hostport(cfg->advertise, &cl->adv_addr, &cl->adv_port)) {
			log_err("--advertise: '%s' is not ADDR[:PORT]", cfg->advertise);
			return -EINVAL;
		}
	} else if (bind_addr.s_addr) {
		cl->adv_addr = bind_addr;
		cl->adv_port = bind_port;
	} else if (drv_core_host_addr(cl->core, &cl->adv_addr)) {
		log_err("no IPv4 address to advertise for gossip; use --advertise ADDR");
		return -EADDRNOTAVAIL;
	} else {
		cl->adv_port = bind_port;
	}
	cl->vtep_port = (uint16_t)cfg->vxlan_port;
	if (cfg->vtep_advertise[0]) {
		if (addr_parse_hostport(cfg->vtep_advertise, &cl->vtep_addr, &cl->vtep_port)) {
			log_err("--vtep-advertise: '%s' is not ADDR[:PORT]", cfg->vtep_advertise);
			return -EINVAL;
		}
	} else {
		struct in_addr vtep = drv_core_vtep(cl->core);

		cl->vtep_addr = vtep.s_addr ? vtep : cl->adv_addr;
	}
	if (cfg->node_name[0])
		snprintf(cl->name, sizeof(cl->name), "%s", cfg->node_name);
	else
		snprintf(cl->name, sizeof(cl->name), "%.100s-%.8s", drv_core_node(cl->core)->name,
			 cl->self);
	return 0;
}

static void load_row_cb(void *arg, const struct gt_entry *e)
{
	struct drv_cluster *cl = arg;

	if (gt_merge(cl->tab, e, rx_now_ms(cl->loop)) < 0)
		log_warn("state database: replicated entry %s is malformed; dropped", e->key);
}

/* Tables, from the database, before anything can arrive. */
static int tables_open(struct drv_cluster *cl)
{
	int ret = gt_create(&cl->tab, cl->self, table_change_cb, cl);

	if (ret)
		return ret;
	/* Ownership entries and retired ids are never deleted (docs/ipam.md). */
	gt_set_undeletable(cl->tab, GT_KIND_RING);
	gt_set_undeletable(cl->tab, GT_KIND_RETIRED);
	cl->loading = 1;
	ret = drv_state_gossip_foreach(cl->st, load_row_cb, cl);
	cl->loading = 0;
	if (ret)
		log_err("state database: cannot read the replicated tables: %s", strerror(-ret));
	return ret;
}

static void profile_apply(struct swim_config *c, const char *profile)
{
	swim_config_lan(c);
	if (!strcmp(profile, "local")) {
		c->probe_timeout = 200;
		c->indirect_checks = 1;
		c->suspicion_mult = 3;
		c->retransmit_mult = 2;
		c->gossip_interval = 100;
		c->gossip_to_the_dead_time = 15000;
		c->pushpull_interval = 15000;
		c->tcp_timeout = 1000;
	}
}

/* The gossip socket and swim. */
static int gossip_open(struct drv_cluster *cl, const struct drv_config *cfg,
		       struct in_addr bind_addr, uint16_t bind_port)
{
	struct swim_config sc;
	int ret;

	ret = gx_open(&cl->gx, cl->loop, bind_addr, bind_port, &cl->kr);
	if (ret) {
		log_err("cannot bind gossip to %s: %s", cfg->bind, strerror(-ret));
		return ret;
	}
	if (!bind_port && !cfg->advertise[0])
		cl->adv_port = gx_port(cl->gx);
	profile_apply(&sc, cfg->gossip_profile);
	snprintf(sc.name, sizeof(sc.name), "%s", cl->name);
	sc.addr = cl->adv_addr;
	sc.port = cl->adv_port;
	sc.encrypted = cl->kr.n > 0;
	randombytes_buf(&sc.seed, sizeof(sc.seed));
	/* The keys first: they start the encrypted datapath, whose session
	 * goes into our first meta (peers keep sending to us across a
	 * restart). */
	drv_cluster_keys_push(cl);
	cl->enc_session = drv_core_enc_session(cl->core);
	if ((ret = drv_meta_encode(cl->self, cl->vtep_addr, cl->vtep_port,
				   cl->enc_session ? cl->enc_port : 0, cl->enc_session, sc.meta,
				   &sc.meta_len)))
		return ret;
	ret = swim_create(&cl->swim, &sc, &swim_ops, cl, rx_now_ms(cl->loop));
	if (ret)
		return ret;
	gx_attach(cl->gx, cl->swim);
	return 0;
}

/* Local objects the table lacks (or has stale) are published now; then
 * the table is turned into core state once, synchronously, so the first
 * reconcile finds every remote entry desired. */
static void tables_sync_local(struct drv_cluster *cl)
{
	const struct drv_ep *eps;
	size_t n;

	nets_sync(cl);
	eps = drv_core_eps(cl->core, &n);
	for (size_t i = 0; i < n; i++)
		ep_publish(cl, &eps[i].rec);
	own_stale_withdraw(cl);
	sync_now(cl);
}

int drv_cluster_open(struct drv_cluster **out, struct rx_loop *loop, struct drv_config *cfg,
		     struct drv_state *st, struct drv_core *core, struct drv_alloc *al)
{
	struct drv_cluster *cl;
	struct in_addr bind_addr;
	char adv[ADDR_IP4_STRLEN], vtep[ADDR_IP4_STRLEN];
	uint16_t bind_port = DRV_GOSSIP_PORT;
	int ret;

	*out = NULL;
	if (strcmp(cfg->gossip_profile, "lan") && strcmp(cfg->gossip_profile, "local")) {
		log_err("--gossip-profile must be lan or local");
		return -EINVAL;
	}
	if (addr_parse_hostport(cfg->bind, &bind_addr, &bind_port)) {
		log_err("--bind: '%s' is not ADDR[:PORT]", cfg->bind);
		return -EINVAL;
	}
	if (sodium_init() < 0)
		return -EIO;
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	*cl = (struct drv_cluster){.loop = loop, .cfg = cfg, .st = st, .core = core, .al = al};
	snprintf(cl->self, sizeof(cl->self), "%s", drv_core_node(core)->id);
	cl->started = rx_now_ms(loop);
	if (!cfg->no_encryption)
		cl->enc_port = (uint16_t)(cfg->enc_advertise_port ? cfg->enc_advertise_port
								  : cfg->enc_port);
	if ((ret = keys_open(cl, cfg, bind_port)) ||
	    (cfg->join[0] && (ret = drv_cluster_seeds_add(cl, cfg->join))) ||
	    (ret = addrs_open(cl, cfg, bind_addr, bind_port)) || (ret = tables_open(cl)) ||
	    (ret = gossip_open(cl, cfg, bind_addr, bind_port)))
		goto err;
	drv_alloc_set_peers(al, &alloc_peers, cl);
	cl->timer = rx_timer_create(loop, housekeeping_cb, cl);
	ret = cl->timer ? drv_core_hooks_add(core, &core_hooks, cl) : -ENOMEM;
	if (ret)
		goto err; /* the hooks were not added */
	tables_sync_local(cl);
	rx_timer_arm(cl->timer, 0, 0);
	log_info("gossip: node %s, gossip %s:%u (bind %s), VXLAN %s:%u, %s, %zu table entries",
		 cl->name, addr_fmt_ip4(cl->adv_addr, adv), cl->adv_port, cfg->bind,
		 addr_fmt_ip4(cl->vtep_addr, vtep), cl->vtep_port,
		 cl->kr.n ? "encrypted" : "plaintext",
		 gt_count(cl->tab, GT_KIND_NET, 0) + gt_count(cl->tab, GT_KIND_EP, 0));
	*out = cl;
	return 0;
err:
	drv_cluster_close(cl);
	return ret;
}

void drv_cluster_close(struct drv_cluster *cl)
{
	if (!cl)
		return;
	/* The core and the allocator outlive us: no more calls into us. */
	if (cl->al)
		drv_alloc_set_peers(cl->al, NULL, NULL);
	rx_timer_destroy(cl->timer);
	gx_close(cl->gx);
	swim_destroy(cl->swim);
	gt_destroy(cl->tab);
	gw_keyring_wipe(&cl->kr);
	free(cl->unstored);
	free(cl->seeds);
	free(cl->seed_ports);
	free(cl);
}
