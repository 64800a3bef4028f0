// SPDX-License-Identifier: MIT
/*
 * alloc: cluster-wide address allocation (see alloc.h and docs/ipam.md).
 *
 * Per network: the local pool (validity, leases, other hosts' addresses),
 * the ring replica, `held`, the pool's taken set mirrored as the ring's
 * lease set so the ring never allocates or donates an address taken here,
 * and `local`, the subset of it this host leased (endpoints, Docker).
 * Every pool change goes through take()/untake() below, which keep the pool
 * and `held` in step; `local` changes only in lease, restore and release.
 */
#include "driver/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <jansson.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/reactor.h"
#include "driver/api.h"
#include "gossip/table.h"
#include "ipam/broker.h"
#include "ipam/ipam.h"
#include "ipam/ring.h"

#define TICK_MS	  IPAM_BROKER_TICK_MS
#define REPORT_MS 1000

_Static_assert(DRV_ALLOC_MSG_SPACE_REQ == IPAM_MSG_SPACE_REQ &&
		       DRV_ALLOC_MSG_SPACE_ANS == IPAM_MSG_SPACE_ANS &&
		       DRV_ALLOC_MSG_IP_REQ == IPAM_MSG_IP_REQ &&
		       DRV_ALLOC_MSG_IP_ANS == IPAM_MSG_IP_ANS,
	       "wire type bytes are the broker's message types");

struct drv_alloc_net {
	struct drv_alloc *al; /* the broker's ops reach the peers through it */
	struct drv_net_rec rec;
	struct ipam_pool *pool;
	struct ring *ring;	    /* NULL: no ring id (per-host pool only) */
	struct ipam_broker *broker; /* with ring: the request protocol */
	struct ring_leases held;
	struct ring_leases local; /* this host's leases, a subset of held */
	uint32_t first, end;
	int dirty;	  /* report to publish */
	int check;	  /* look for leases outside own space */
	size_t conflicts; /* local leases found outside it */
};

struct drv_alloc {
	struct rx_loop *loop;
	char self[GT_ID_MAX];
	const struct drv_alloc_peers *peers;
	void *parg;
	void (*wake)(void *arg);
	void *wake_arg;
	struct rx_timer *timer;
	struct rx_timer *wake_timer;
	struct drv_alloc_net **nets; /* in open order; close moves the last into the hole */
	size_t nnets;
	int retired;
	uint64_t last_report;
	unsigned long long bad;
	struct ipam_broker_stats closed; /* closed networks' brokers: counters never go back */
};

/* ---- small helpers ---- */

/* A host-order address as text (ring arithmetic is in host order). */
static char *ipstr(uint32_t h, char buf[ADDR_IP4_STRLEN])
{
	return addr_fmt_ip4(addr_ip4_from_h(h), buf);
}

int drv_alloc_ring_id_ok(const char *s)
{
	size_t len = strlen(s);

	if (!len)
		return 1;
	if (len != DRV_RING_ID_LEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int drv_alloc_ring_id_new(char out[DRV_RING_ID_LEN + 1])
{
	uint8_t b[DRV_RING_ID_LEN / 2];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -EIO;
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

static int node_id_ok(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= RING_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '/')
			return 0;
	return 1;
}

static struct drv_alloc_net *net_by_ring(const struct drv_alloc *al, const char *rid)
{
	for (size_t i = 0; i < al->nnets; i++)
		if (al->nets[i]->ring && !strcmp(al->nets[i]->rec.ring, rid))
			return al->nets[i];
	return NULL;
}

static struct drv_alloc_net *net_by_name(const struct drv_alloc *al, const char *name)
{
	for (size_t i = 0; i < al->nnets; i++)
		if (!strcmp(al->nets[i]->rec.name, name))
			return al->nets[i];
	return NULL;
}

/* ---- the peers, or their absence ---- */

static int p_put(struct drv_alloc *al, uint8_t kind, const char *key, const char *owner,
		 uint8_t *value, size_t len)
{
	if (!al->peers) {
		free(value);
		return -ENOTCONN;
	}
	return al->peers->put(al->parg, kind, key, owner, value, len);
}

static int p_del(struct drv_alloc *al, uint8_t kind, const char *key)
{
	return al->peers ? al->peers->del(al->parg, kind, key) : -ENOTCONN;
}

static const struct gt_entry *p_get(const struct drv_alloc *al, uint8_t kind, const char *key)
{
	return al->peers ? al->peers->get(al->parg, kind, key) : NULL;
}

static void p_foreach(const struct drv_alloc *al, uint8_t kind, gt_entry_cb cb, void *arg)
{
	if (al->peers)
		al->peers->foreach (al->parg, kind, cb, arg);
}

static int p_send(struct drv_alloc *al, const char *id, const uint8_t *msg, size_t len)
{
	return al->peers ? al->peers->send(al->parg, id, msg, len) : -ENOTCONN;
}

static int p_send_entry(struct drv_alloc *al, const char *id, uint8_t kind, const char *key)
{
	return al->peers ? al->peers->send_entry(al->parg, id, kind, key) : -ENOTCONN;
}

static int p_fans_out(struct drv_alloc *al)
{
	return al->peers ? al->peers->fans_out(al->parg) : 0;
}

static int p_member_state(const struct drv_alloc *al, const char *id, char *name, size_t len)
{
	return al->peers ? al->peers->member_state(al->parg, id, name, len) : -1;
}

static int p_member_by_name(const struct drv_alloc *al, const char *name, char *id, size_t len)
{
	return al->peers ? al->peers->member_by_name(al->parg, name, id, len) : -1;
}

/* ---- names ---- */

struct name_scan {
	const char *id, *name; /* look up the name of id, or the id named name */
	char out[GT_ID_MAX];
	unsigned found; /* 2: several ids carry the name */
};

/* The host name in a node's ipam reports.  Membership forgets a dead member
 * after gossip_to_the_dead_time; its reports keep its name. */
static void name_scan_cb(void *arg, const struct gt_entry *g)
{
	struct name_scan *ns = arg;
	const char *id = strchr(g->key, '/'), *host;
	json_t *o;

	if (!id || !node_id_ok(++id) || (ns->id && strcmp(id, ns->id)))
		return;
	o = json_loadb((const char *)g->value, g->value_len, 0, NULL);
	if (o && !json_unpack(o, "{s:s}", "host", &host) && node_id_ok(host) &&
	    (!ns->name || !strcmp(host, ns->name))) {
		if (ns->found && strcmp(ns->out, ns->id ? host : id))
			ns->found = 2;
		else if (!ns->found)
			ns->found = 1;
		snprintf(ns->out, sizeof(ns->out), "%s", ns->id ? host : id);
	}
	json_decref(o);
}

/* Gossip name of a node id, else the name its reports carry, else the id. */
static const char *node_name(const struct drv_alloc *al, const char *id, char *buf, size_t len)
{
	struct name_scan ns = {.id = id};

	if (p_member_state(al, id, buf, len) >= 0)
		return buf;
	p_foreach(al, GT_KIND_IPREPORT, name_scan_cb, &ns);
	if (ns.found)
		snprintf(buf, len, "%s", ns.out);
	else
		snprintf(buf, len, "%.12s", id);
	return buf;
}

/* ---- the taken set ---- */

/* Mirror an address the pool just took into held, or give it back. */
static int held_add(struct drv_alloc_net *an, struct in_addr ip)
{
	int ret = ring_leases_add(&an->held, addr_ip4_h(ip));

	if (ret && ret != -EEXIST) {
		ipam_pool_release(an->pool, ip);
		return ret;
	}
	return 0;
}

static int take(struct drv_alloc_net *an, struct in_addr ip)
{
	int ret = ipam_pool_claim(an->pool, ip);

	return ret ? ret : held_add(an, ip);
}

static void untake(struct drv_alloc_net *an, struct in_addr ip)
{
	if (ipam_pool_release(an->pool, ip) == 0)
		ring_leases_del(&an->held, addr_ip4_h(ip));
}

int drv_alloc_hold(struct drv_alloc_net *an, struct in_addr ip)
{
	return take(an, ip);
}

void drv_alloc_unhold(struct drv_alloc_net *an, struct in_addr ip)
{
	/* Never a local lease: those leave through drv_alloc_release(). */
	if (!ring_leases_has(&an->local, addr_ip4_h(ip)))
		untake(an, ip);
}

int drv_alloc_is_taken(const struct drv_alloc_net *an, struct in_addr ip)
{
	return ipam_pool_is_leased(an->pool, ip);
}

int drv_alloc_reserve(struct drv_alloc_net *an, struct in_addr ip)
{
	int ret = ipam_pool_reserve(an->pool, ip);

	if (ret)
		return ret;
	ret = ring_leases_add(&an->held, addr_ip4_h(ip));
	return ret == -EEXIST ? 0 : ret;
}

/* ---- ring entries in the table ---- */

static void ring_key(const char *rid, const struct ring_entry *e, char key[GT_KEY_MAX])
{
	snprintf(key, GT_KEY_MAX, "%s/%s/%llu/%08x", rid, e->origin, (unsigned long long)e->clock,
		 e->start);
}

static uint8_t *ring_value(const char *net, const struct ring_entry *e, size_t *len)
{
	char s[ADDR_IP4_STRLEN], en[ADDR_IP4_STRLEN];
	json_t *o;
	char *txt;

	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "net", net, "start", ipstr(e->start, s), "end",
		      ipstr(e->end, en), "owner", e->owner, "origin", e->origin, "clock",
		      (json_int_t)e->clock);
	txt = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	*len = txt ? strlen(txt) : 0;
	return (uint8_t *)txt;
}

/* A ring entry from the table, checked against its key.  0 or -EINVAL. */
static int ring_parse(const struct gt_entry *g, char rid[DRV_RING_ID_LEN + 1], struct ring_entry *e)
{
	const char *start, *end, *owner, *origin, *net;
	struct in_addr s, en;
	char key[GT_KEY_MAX];
	json_int_t clock;
	json_t *o;
	int ret = -EINVAL;

	memset(e, 0, sizeof(*e));
	if (!g->value || strlen(g->key) <= DRV_RING_ID_LEN || g->key[DRV_RING_ID_LEN] != '/')
		return -EINVAL;
	memcpy(rid, g->key, DRV_RING_ID_LEN);
	rid[DRV_RING_ID_LEN] = '\0';
	if (!drv_alloc_ring_id_ok(rid))
		return -EINVAL;
	o = json_loadb((const char *)g->value, g->value_len, JSON_REJECT_DUPLICATES, NULL);
	if (!o || json_unpack(o, "{s:s,s:s,s:s,s:s,s:s,s:I}", "net", &net, "start", &start, "end",
			      &end, "owner", &owner, "origin", &origin, "clock", &clock))
		goto out;
	if (addr_parse_ip4(start, &s) || addr_parse_ip4(end, &en) || clock < 1 ||
	    !node_id_ok(owner) || !node_id_ok(origin))
		goto out;
	e->start = addr_ip4_h(s);
	e->end = addr_ip4_h(en);
	e->clock = (uint64_t)clock;
	snprintf(e->owner, sizeof(e->owner), "%s", owner);
	snprintf(e->origin, sizeof(e->origin), "%s", origin);
	ring_key(rid, e, key);
	if (e->start >= e->end || strcmp(key, g->key) || strcmp(g->owner, e->owner))
		goto out;
	ret = 0;
out:
	json_decref(o);
	return ret;
}

static void bad_input(struct drv_alloc *al, const char *what, const char *key)
{
	static struct log_ratelimit rl;

	al->bad++;
	if (log_ratelimit_ok(&rl))
		log_warn("ipam: refused %s %s", what, key);
}

/* Store and gossip an entry this node wrote (the ring already holds it). */
static int ring_publish(struct drv_alloc *al, struct drv_alloc_net *an, const struct ring_entry *e)
{
	char key[GT_KEY_MAX];
	uint8_t *v;
	size_t len;
	int ret;

	ring_key(an->rec.ring, e, key);
	v = ring_value(an->rec.name, e, &len);
	ret = p_put(al, GT_KIND_RING, key, e->owner, v, len);
	if (ret)
		log_err("ipam: network %s: cannot store ownership entry %s: %s", an->rec.name, key,
			strerror(-ret));
	return ret;
}

/* ---- waking deferred callers, conflicts ---- */

static void wake_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct drv_alloc *al = arg;

	if (al->wake)
		al->wake(al->wake_arg);
}

/* A timer rather than rx_defer(), as in drv_api_retry(): drv_alloc_close()
 * destroys it, where queued deferred work would outlive the allocator. */
static void wake_later(struct drv_alloc *al)
{
	rx_timer_arm(al->wake_timer, 0, 0);
}

/* Run the tick within TICK_MS.  An armed timer is left alone: moving it on
 * every event would starve the timeouts of a busy host. */
static void tick_soon(struct drv_alloc *al)
{
	if (!rx_timer_armed(al->timer))
		rx_timer_arm(al->timer, TICK_MS, 0);
}

/* Local leases in space the ring gives to another host: only a broken
 * assumption (a wrongful `node rm`, a restored old state directory) makes
 * one.  Kept as a gauge; logged when the number grows. */
static void check_conflicts(struct drv_alloc *al, struct drv_alloc_net *an)
{
	char owner[RING_ID_MAX], nm[GT_ID_MAX], s[ADDR_IP4_STRLEN];
	size_t count = 0;

	for (size_t i = 0; i < an->local.n; i++) {
		uint32_t ip = an->local.ip[i];

		if (ring_owner(an->ring, ip, owner) || !strcmp(owner, al->self))
			continue;
		if (++count > an->conflicts)
			log_err("ipam: network %s: local lease %s is in space the ownership ring "
				"gives to host %s (a wrongful `node rm`, or a restored old state "
				"directory?); detach its endpoint and attach again",
				an->rec.name, ipstr(ip, s), node_name(al, owner, nm, sizeof(nm)));
	}
	an->conflicts = count;
}

/* Ownership changed (a merge that mattered, an own write): report, look
 * for conflicts, let the broker end its search and wake its callers. */
static void changed(struct drv_alloc *al, struct drv_alloc_net *an)
{
	an->dirty = 1;
	an->check = 1;
	ipam_broker_ring_changed(an->broker);
	tick_soon(al);
	wake_later(al);
}

/* ---- the broker's ops: the request protocol over the peers ---- */

static const char *const result_str[] = {
	[IPAM_RES_GRANTED] = "granted",
	[IPAM_RES_NONE] = "none",
	[IPAM_RES_LEASED] = "leased",
	[IPAM_RES_NOT_OWNER] = "not-owner",
};

static int send_json(struct drv_alloc *al, const char *to, uint8_t type, json_t *o)
{
	char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t len = txt ? strlen(txt) : 0;
	uint8_t *msg = txt ? malloc(len + 1) : NULL;
	int ret = -ENOMEM;

	if (msg) {
		msg[0] = type;
		memcpy(msg + 1, txt, len);
		ret = p_send(al, to, msg, len + 1);
	}
	free(msg);
	free(txt);
	json_decref(o);
	return ret;
}

/* Requests {"ring","net","from","seq"[,"ip"]}, answers {"ring","seq","result"[,"ip"]}. */
static int b_send(void *arg, const char *to, const struct ipam_msg *m)
{
	struct drv_alloc_net *an = arg;
	struct drv_alloc *al = an->al;
	bool req = m->type == IPAM_MSG_SPACE_REQ || m->type == IPAM_MSG_IP_REQ;
	char s[ADDR_IP4_STRLEN];
	json_t *o;
	int ret;

	if (req)
		o = json_pack("{s:s,s:s,s:s,s:I}", "ring", an->rec.ring, "net", an->rec.name,
			      "from", al->self, "seq", (json_int_t)m->seq);
	else
		o = json_pack("{s:s,s:I,s:s}", "ring", an->rec.ring, "seq", (json_int_t)m->seq,
			      "result", result_str[m->result] ? result_str[m->result] : "none");
	if (o && m->type != IPAM_MSG_SPACE_REQ && m->type != IPAM_MSG_SPACE_ANS)
		json_object_set_new(o, "ip", json_string(ipstr(m->ip, s)));
	if (o && m->type == IPAM_MSG_SPACE_ANS && m->hint[0])
		json_object_set_new(o, "hint", json_string(m->hint));
	ret = send_json(al, to, (uint8_t)m->type, o);
	if (ret && !req)
		log_dbg("ipam: cannot answer %s", to);
	if (!ret && req)
		tick_soon(al); /* its timeout */
	if (!ret && m->type == IPAM_MSG_SPACE_REQ)
		log_dbg("ipam: network %s: asked %s for addresses", an->rec.name, to);
	return ret;
}

/* A grant this host wrote: stored and gossiped before the answer. */
static int b_publish(void *arg, const struct ring_entry *e)
{
	struct drv_alloc_net *an = arg;
	int ret = ring_publish(an->al, an, e);

	if (ret)
		return ret;
	an->dirty = 1;
	an->check = 1;
	tick_soon(an->al);
	log_info("ipam: network %s: gave %u addresses to %s", an->rec.name, e->end - e->start,
		 e->owner);
	return 0;
}

static void b_send_entry(void *arg, const char *to, const struct ring_entry *e)
{
	struct drv_alloc_net *an = arg;
	char key[GT_KEY_MAX];

	if (p_fans_out(an->al)) /* it went to every member already */
		return;
	ring_key(an->rec.ring, e, key);
	(void)p_send_entry(an->al, to, GT_KIND_RING, key);
}

static void b_wake(void *arg)
{
	wake_later(((struct drv_alloc_net *)arg)->al);
}

static int b_member_state(void *arg, const char *id)
{
	return p_member_state(((struct drv_alloc_net *)arg)->al, id, NULL, 0);
}

static bool b_retired(void *arg, const char *id)
{
	struct drv_alloc *al = ((struct drv_alloc_net *)arg)->al;

	return !strcmp(id, al->self) ? al->retired : p_get(al, GT_KIND_RETIRED, id) != NULL;
}

struct report_scan {
	const struct drv_alloc_net *an;
	ipam_broker_report_cb *cb;
	void *cbarg;
};

/* Report keys are "<ring id>/<node id>"; the broker filters and clips. */
static void report_cb(void *arg, const struct gt_entry *g)
{
	struct report_scan *rs = arg;
	const char *id = g->key + DRV_RING_ID_LEN + 1;
	struct ring_report rep = {0};
	json_int_t fr = 0;
	json_t *o;

	if (strncmp(g->key, rs->an->rec.ring, DRV_RING_ID_LEN) || g->key[DRV_RING_ID_LEN] != '/' ||
	    !node_id_ok(id))
		return;
	o = json_loadb((const char *)g->value, g->value_len, 0, NULL);
	if (o && !json_unpack(o, "{s:I}", "free", &fr) && fr > 0) {
		snprintf(rep.id, sizeof(rep.id), "%s", id);
		rep.free = (uint64_t)fr;
		rs->cb(rs->cbarg, &rep);
	}
	json_decref(o);
}

static void b_reports(void *arg, ipam_broker_report_cb *cb, void *cbarg)
{
	struct report_scan rs = {.an = arg, .cb = cb, .cbarg = cbarg};

	p_foreach(rs.an->al, GT_KIND_IPREPORT, report_cb, &rs);
}

static const struct ipam_broker_ops broker_ops = {
	.send = b_send,
	.publish = b_publish,
	.send_entry = b_send_entry,
	.wake = b_wake,
	.member_state = b_member_state,
	.retired = b_retired,
	.reports = b_reports,
};

/* The broker's why, worded with the peer's host name. */
static void why_fmt(const struct drv_alloc *al, const struct drv_alloc_net *an,
		    const struct ipam_broker_why_info *w, const uint32_t *ip, char *buf, size_t len)
{
	char nm[GT_ID_MAX], s[ADDR_IP4_STRLEN];

	ipam_broker_why_fmt(w, an->rec.name, ip ? ipstr(*ip, s) : NULL,
			    w->peer[0] ? node_name(al, w->peer, nm, sizeof(nm)) : NULL, buf, len);
}

/* ---- per network ---- */

static void merge_cb(void *arg, const struct gt_entry *g)
{
	struct drv_alloc_net *an = arg;
	char rid[DRV_RING_ID_LEN + 1];
	struct ring_entry e;

	if (!ring_parse(g, rid, &e) && !strcmp(rid, an->rec.ring))
		(void)!ring_merge(an->ring, &e);
}

static void net_free(struct drv_alloc_net *an)
{
	ipam_broker_destroy(an->broker);
	ring_destroy(an->ring);
	ring_leases_fini(&an->held);
	ring_leases_fini(&an->local);
	ipam_pool_destroy(an->pool);
	free(an);
}

/* The ring replica from the table and its broker. */
static int net_ring_open(struct drv_alloc *al, struct drv_alloc_net *an)
{
	struct ipam_broker_config cfg = {.held = &an->held, .self = al->self};
	int ret = ring_space(&an->rec.subnet, &an->first, &an->end);

	if (!ret)
		ret = ring_create(&an->ring, an->first, an->end, al->self);
	if (ret)
		return ret;
	/* Answers to a previous run's requests must not match this run's. */
	if (getrandom(&cfg.seed, sizeof(cfg.seed), 0) != (ssize_t)sizeof(cfg.seed))
		cfg.seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)an;
	cfg.ring = an->ring;
	ret = ipam_broker_create(&an->broker, &cfg, &broker_ops, an);
	if (ret)
		return ret;
	p_foreach(al, GT_KIND_RING, merge_cb, an);
	an->dirty = 1;
	return 0;
}

int drv_alloc_net_open(struct drv_alloc *al, const struct drv_net_rec *rec,
		       struct drv_alloc_net **out)
{
	struct drv_alloc_net *an, **grown;
	int ret;

	if (net_by_name(al, rec->name))
		return -EEXIST;
	an = calloc(1, sizeof(*an));
	if (!an)
		return -ENOMEM;
	an->al = al;
	an->rec = *rec;
	ring_leases_init(&an->held);
	ring_leases_init(&an->local);
	ret = ipam_pool_create(&an->pool, &an->rec.subnet, an->rec.gw.s_addr ? &an->rec.gw : NULL);
	if (ret)
		goto err_free;
	if (an->rec.gw.s_addr && (ret = ring_leases_add(&an->held, addr_ip4_h(an->rec.gw))))
		goto err_free;
	if (an->rec.ring[0] && (ret = net_ring_open(al, an)))
		goto err_free;
	grown = realloc(al->nets, (al->nnets + 1) * sizeof(*grown));
	if (!grown) {
		ret = -ENOMEM;
		goto err_free;
	}
	al->nets = grown;
	al->nets[al->nnets++] = an;
	*out = an;
	return 0;

err_free:
	net_free(an);
	return ret;
}

static void stats_add(struct ipam_broker_stats *sum, const struct drv_alloc_net *an)
{
	struct ipam_broker_stats st;

	if (!an->broker)
		return;
	ipam_broker_stats_get(an->broker, &st);
	sum->space_asked += st.space_asked;
	sum->space_granted += st.space_granted;
	sum->space_none += st.space_none;
	sum->space_given += st.space_given;
	sum->ip_asked += st.ip_asked;
	sum->ip_granted += st.ip_granted;
	sum->ip_refused += st.ip_refused;
	sum->ip_given += st.ip_given;
}

void drv_alloc_net_close(struct drv_alloc *al, struct drv_alloc_net *an)
{
	if (!an)
		return;
	for (size_t i = 0; i < al->nnets; i++)
		if (al->nets[i] == an) {
			al->nets[i] = al->nets[--al->nnets];
			break;
		}
	stats_add(&al->closed, an);
	net_free(an);
}

int drv_alloc_net_init_space(struct drv_alloc *al, struct drv_alloc_net *an)
{
	struct ring_entry e;
	int ret;

	if (!an->ring)
		return 0;
	ret = ring_init_space(an->ring, &e);
	if (ret)
		return ret;
	ret = ring_publish(al, an, &e);
	changed(al, an);
	return ret;
}

/* ---- leasing ---- */

/* want through the pool first (validity, taken here), then the broker. */
static int lease_specific(struct drv_alloc *al, struct drv_alloc_net *an, struct in_addr want,
			  char *why, size_t len)
{
	struct ipam_broker_why_info w;
	uint32_t ip = addr_ip4_h(want), got;
	char s[ADDR_IP4_STRLEN];
	int ret;

	ret = an->ring ? ipam_pool_claim(an->pool, want) : take(an, want);
	if (ret || !an->ring) {
		if (ret)
			snprintf(why, len, "address %s in network %s: %s", addr_fmt_ip4(want, s),
				 an->rec.name, ipam_strerror(ret));
		return ret;
	}
	ret = ipam_broker_lease(an->broker, rx_now_ms(al->loop), &ip, &got, &w);
	if (ret) {
		ipam_pool_release(an->pool, want);
		why_fmt(al, an, &w, &ip, why, len);
	}
	return ret;
}

/* Any free address this host owns, else the broker asks for space. */
static int lease_any(struct drv_alloc *al, struct drv_alloc_net *an, struct in_addr *out, char *why,
		     size_t len)
{
	struct ipam_broker_why_info w;
	char s[ADDR_IP4_STRLEN];
	uint32_t h;
	int ret;

	if (!an->ring) {
		ret = ipam_pool_alloc(an->pool, out);
		if (!ret)
			ret = held_add(an, *out);
		if (ret)
			snprintf(why, len, "network %s: %s", an->rec.name, ipam_strerror(ret));
		return ret;
	}
	for (;;) {
		ret = ipam_broker_lease(an->broker, rx_now_ms(al->loop), NULL, &h, &w);
		if (ret)
			break;
		*out = addr_ip4_from_h(h);
		if (!ipam_pool_claim(an->pool, *out))
			return 0;
		/* Taken in the pool but not in held: cannot happen; keep it out. */
		log_err("ipam: network %s: %s is taken but was not held", an->rec.name,
			ipstr(h, s));
	}
	why_fmt(al, an, &w, NULL, why, len);
	return ret;
}

int drv_alloc_lease(struct drv_alloc *al, struct drv_alloc_net *an, const struct in_addr *want,
		    struct in_addr *out, char *why, size_t len)
{
	struct in_addr got;
	int ret;

	if (al->retired) { /* the broker knows too; this covers networks without a ring */
		why_fmt(al, an, &(struct ipam_broker_why_info){.why = IPAM_WHY_RETIRED}, NULL, why,
			len);
		return -EPERM;
	}
	if (want) {
		got = *want;
		ret = lease_specific(al, an, got, why, len);
	} else {
		ret = lease_any(al, an, &got, why, len);
	}
	if (ret)
		return ret;
	ret = ring_leases_add(&an->local, addr_ip4_h(got));
	if (ret && ret != -EEXIST) {
		untake(an, got);
		snprintf(why, len, "network %s: %s", an->rec.name, strerror(-ret));
		return ret;
	}
	*out = got;
	an->dirty = 1;
	tick_soon(al);
	return 0;
}

int drv_alloc_lease_restore(struct drv_alloc *al, struct drv_alloc_net *an, struct in_addr ip)
{
	int ret = take(an, ip);

	if (ret)
		return ret;
	ret = ring_leases_add(&an->local, addr_ip4_h(ip));
	if (ret && ret != -EEXIST) {
		untake(an, ip);
		return ret;
	}
	an->dirty = 1;
	return 0;
}

void drv_alloc_release(struct drv_alloc *al, struct drv_alloc_net *an, struct in_addr ip)
{
	if (ring_leases_del(&an->local, addr_ip4_h(ip)))
		return;
	untake(an, ip);
	an->dirty = 1;
	tick_soon(al);
}

/* ---- messages ---- */

static enum ipam_result result_parse(const char *s)
{
	if (!s)
		return IPAM_RES_ABSENT;
	for (size_t i = 0; i < sizeof(result_str) / sizeof(result_str[0]); i++)
		if (result_str[i] && !strcmp(s, result_str[i]))
			return (enum ipam_result)i;
	return IPAM_RES_NOT_OWNER; /* a refusal, whatever it says */
}

void drv_alloc_user_msg(struct drv_alloc *al, const uint8_t *buf, size_t len)
{
	const char *rid, *from = NULL, *result = NULL, *ips = NULL, *hint = NULL;
	struct ipam_msg m = {0};
	struct drv_alloc_net *an;
	struct in_addr ip;
	json_int_t seq;
	json_t *o;

	if (len < 1 || buf[0] < DRV_ALLOC_MSG_FIRST || buf[0] > DRV_ALLOC_MSG_LAST) {
		bad_input(al, "message", "of another type");
		return;
	}
	o = json_loadb((const char *)buf + 1, len - 1, JSON_REJECT_DUPLICATES, NULL);
	if (!o ||
	    json_unpack(o, "{s:s,s:I,s?s,s?s,s?s,s?s}", "ring", &rid, "seq", &seq, "from", &from,
			"result", &result, "ip", &ips, "hint", &hint) ||
	    !drv_alloc_ring_id_ok(rid) || !rid[0] || (from && !node_id_ok(from)) ||
	    (hint && !node_id_ok(hint))) {
		bad_input(al, "malformed message", "");
		goto out;
	}
	an = net_by_ring(al, rid);
	if (!an)
		goto out; /* a network this host does not have (yet) */
	m.type = buf[0];
	m.seq = (uint64_t)seq;
	m.result = result_parse(result);
	if (from)
		snprintf(m.from, sizeof(m.from), "%s", from);
	if (hint)
		snprintf(m.hint, sizeof(m.hint), "%s", hint);
	if (m.type == IPAM_MSG_IP_REQ || m.type == IPAM_MSG_IP_ANS) {
		if (!ips)
			goto out;
		if (addr_parse_ip4(ips, &ip)) {
			/* A peer's request is refused loudly, a bad answer dropped. */
			if (m.type == IPAM_MSG_IP_REQ && from && strcmp(from, al->self))
				bad_input(al, "address request for", ips);
			goto out;
		}
		m.ip = addr_ip4_h(ip);
	}
	ipam_broker_recv(an->broker, rx_now_ms(al->loop), &m);
out:
	json_decref(o);
}

void drv_alloc_table_changed(struct drv_alloc *al, const struct gt_entry *g)
{
	char rid[DRV_RING_ID_LEN + 1];
	struct drv_alloc_net *an;
	struct ring_entry e;
	int ret;

	if (g->deleted)
		return;
	if (g->kind == GT_KIND_RETIRED) {
		if (!strcmp(g->key, al->self) && !al->retired) {
			al->retired = 1;
			log_err("this host (node id %s) was removed from the cluster with `vxmesh "
				"node rm` by %s: its addresses were handed to other hosts and it "
				"will not allocate; stop it, move its state directory away and "
				"start again",
				al->self, g->origin);
		}
		return;
	}
	if (g->kind != GT_KIND_RING)
		return;
	if (ring_parse(g, rid, &e)) {
		bad_input(al, "ownership entry", g->key);
		return;
	}
	an = net_by_ring(al, rid);
	if (!an)
		return; /* kept in the table; merged when the network opens */
	ret = ring_merge(an->ring, &e);
	if (ret == -ENOMEM) {
		log_err("ipam: network %s: out of memory merging %s", an->rec.name, g->key);
		return;
	}
	if (ret < 0) {
		bad_input(al, "ownership entry outside the network", g->key);
		return;
	}
	if (ret == 1)
		changed(al, an);
}

/* ---- timers: timeouts, reports ---- */

void drv_alloc_counts(const struct drv_alloc *al, const struct drv_alloc_net *an,
		      struct drv_alloc_counts *c)
{
	c->capacity = ipam_pool_capacity(an->pool);
	c->leased = an->local.n;
	if (an->ring) {
		c->owned = ring_owned(an->ring, al->self);
		c->free = ring_free(an->ring, &an->held);
	} else {
		c->owned = c->capacity;
		c->free = ipam_pool_free(an->pool);
	}
}

static void report(struct drv_alloc *al, struct drv_alloc_net *an)
{
	char key[GT_KEY_MAX], nm[GT_ID_MAX];
	struct drv_alloc_counts c;
	json_t *o;
	char *txt;

	an->dirty = 0;
	drv_alloc_counts(al, an, &c);
	snprintf(key, sizeof(key), "%s/%s", an->rec.ring, al->self);
	if (!c.owned && !c.leased && !p_get(al, GT_KIND_IPREPORT, key))
		return;
	o = json_pack("{s:s,s:s,s:I,s:I,s:I}", "net", an->rec.name, "host",
		      node_name(al, al->self, nm, sizeof(nm)), "owned", (json_int_t)c.owned, "free",
		      (json_int_t)c.free, "leased", (json_int_t)c.leased);
	txt = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (txt)
		(void)p_put(al, GT_KIND_IPREPORT, key, NULL, (uint8_t *)txt, strlen(txt));
}

static void tick_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct drv_alloc *al = arg;
	uint64_t now = rx_now_ms(loop);
	int busy = 0, report_due = now - al->last_report >= REPORT_MS;

	for (size_t i = 0; i < al->nnets; i++) {
		struct drv_alloc_net *an = al->nets[i];

		if (!an->ring)
			continue;
		busy |= ipam_broker_tick(an->broker, now);
		if (an->check) {
			an->check = 0;
			check_conflicts(al, an);
		}
		if (an->dirty && report_due)
			report(al, an);
		busy |= an->dirty;
	}
	if (report_due)
		al->last_report = now;
	if (busy)
		rx_timer_arm(t, TICK_MS, 0);
}

int drv_alloc_open(struct drv_alloc **out, struct rx_loop *loop, const char *self_id,
		   void (*wake)(void *arg), void *wake_arg)
{
	struct drv_alloc *al;

	al = calloc(1, sizeof(*al));
	if (!al)
		return -ENOMEM;
	al->loop = loop;
	snprintf(al->self, sizeof(al->self), "%s", self_id);
	al->wake = wake;
	al->wake_arg = wake_arg;
	al->timer = rx_timer_create(loop, tick_cb, al);
	if (!al->timer)
		goto err_free;
	al->wake_timer = rx_timer_create(loop, wake_cb, al);
	if (!al->wake_timer)
		goto err_timer;
	tick_soon(al);
	*out = al;
	return 0;

err_timer:
	rx_timer_destroy(al->timer);
err_free:
	free(al);
	return -ENOMEM;
}

void drv_alloc_close(struct drv_alloc *al)
{
	if (!al)
		return;
	/* Networks still open are a caller's bug; do not leak them. */
	for (size_t i = 0; i < al->nnets; i++)
		net_free(al->nets[i]);
	free(al->nets);
	rx_timer_destroy(al->wake_timer);
	rx_timer_destroy(al->timer);
	free(al);
}

void drv_alloc_set_peers(struct drv_alloc *al, const struct drv_alloc_peers *peers, void *arg)
{
	al->peers = peers;
	al->parg = arg;
}

/* ---- API ---- */

struct node_sum {
	char id[RING_ID_MAX];
	uint64_t owned;
};

static const char *state_name(int st)
{
	return st > 0 ? "alive" : st == 0 ? "dead" : "unknown";
}

/* Owners in the map and what each owns, in map order.  0 or -ENOMEM. */
static int owners_sum(const struct ring_entry *map, size_t nmap, struct node_sum **out, size_t *n)
{
	struct node_sum *sum = NULL;
	size_t nsum = 0;

	for (size_t i = 0; i < nmap; i++) {
		size_t j;

		for (j = 0; j < nsum && strcmp(sum[j].id, map[i].owner); j++)
			;
		if (j == nsum) {
			struct node_sum *g = realloc(sum, (nsum + 1) * sizeof(*g));

			if (!g) {
				free(sum);
				return -ENOMEM;
			}
			sum = g;
			memset(&sum[nsum], 0, sizeof(sum[0]));
			snprintf(sum[nsum++].id, RING_ID_MAX, "%s", map[i].owner);
		}
		sum[j].owned += map[i].end - map[i].start;
	}
	*out = sum;
	*n = nsum;
	return 0;
}

static json_t *node_json(const struct drv_alloc *al, const struct drv_alloc_net *an,
			 const struct node_sum *sum, const struct drv_alloc_counts *c)
{
	char key[GT_KEY_MAX], nm[GT_ID_MAX];
	const struct gt_entry *g;
	json_t *node, *rep = NULL;
	int st = p_member_state(al, sum->id, nm, sizeof(nm));

	snprintf(key, sizeof(key), "%s/%s", an->rec.ring, sum->id);
	node = json_pack("{s:s,s:s,s:s,s:I}", "id", sum->id, "host", st < 0 ? "" : nm, "state",
			 p_get(al, GT_KIND_RETIRED, sum->id) ? "removed" : state_name(st), "owned",
			 (json_int_t)sum->owned);
	if (!node)
		return NULL;
	if (!strcmp(sum->id, al->self)) {
		json_object_set_new(node, "free", json_integer((json_int_t)c->free));
		json_object_set_new(node, "leased", json_integer((json_int_t)c->leased));
	} else if ((g = p_get(al, GT_KIND_IPREPORT, key)) &&
		   (rep = json_loadb((const char *)g->value, g->value_len, 0, NULL))) {
		/* A peer's report: pass on only what it should hold. */
		json_t *f = json_object_get(rep, "free"), *l = json_object_get(rep, "leased");

		if (json_is_integer(f) && json_integer_value(f) >= 0)
			json_object_set(node, "free", f);
		if (json_is_integer(l) && json_integer_value(l) >= 0)
			json_object_set(node, "leased", l);
		json_decref(rep);
	}
	return node;
}

static json_t *net_ipam_json(const struct drv_alloc *al, const struct drv_alloc_net *an)
{
	char sub[ADDR_PREFIX_STRLEN], s[ADDR_IP4_STRLEN], e[ADDR_IP4_STRLEN], nm[GT_ID_MAX];
	struct drv_alloc_counts c;
	struct ring_entry *map = NULL;
	struct node_sum *sum = NULL;
	size_t nmap = 0, nsum = 0;
	json_t *o, *ranges, *nodes;
	const char *asking;

	addr_fmt_prefix(&an->rec.subnet, sub);
	drv_alloc_counts(al, an, &c);
	o = json_pack("{s:s,s:s,s:s,s:{s:I,s:I,s:I}}", "network", an->rec.name, "subnet", sub,
		      "ring", an->rec.ring, "local", "owned", (json_int_t)c.owned, "free",
		      (json_int_t)c.free, "leased", (json_int_t)c.leased);
	ranges = json_array();
	nodes = json_array();
	if (!o || !ranges || !nodes) {
		json_decref(ranges);
		json_decref(nodes);
		goto err;
	}
	json_object_set_new(o, "ranges", ranges);
	json_object_set_new(o, "nodes", nodes);
	if (an->rec.gw.s_addr)
		json_object_set_new(o, "gateway", json_string(addr_fmt_ip4(an->rec.gw, s)));
	if (!an->ring)
		return o;
	if (ring_map(an->ring, &map, &nmap) || owners_sum(map, nmap, &sum, &nsum))
		goto err;
	for (size_t i = 0; i < nmap; i++) {
		int st = p_member_state(al, map[i].owner, nm, sizeof(nm));

		json_array_append_new(ranges, json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "start",
							ipstr(map[i].start, s), "end",
							ipstr(map[i].end - 1, e), "size",
							(json_int_t)(map[i].end - map[i].start),
							"owner", map[i].owner, "host",
							st < 0 ? "" : nm, "state", state_name(st)));
	}
	for (size_t j = 0; j < nsum; j++)
		json_array_append_new(nodes, node_json(al, an, &sum[j], &c));
	free(sum);
	free(map);
	asking = ipam_broker_asking(an->broker);
	json_object_set_new(o, "asking",
			    asking ? json_string(node_name(al, asking, nm, sizeof(nm)))
				   : json_null());
	return o;
err:
	free(sum);
	free(map);
	json_decref(o);
	return NULL;
}

static void h_ipam(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_alloc *al = arg;
	json_t *arr;

	if (req->param && req->param[0]) {
		struct drv_alloc_net *an = net_by_name(al, req->param);

		if (!an) {
			api_error(resp, 404, "not_found", "no network named \"%s\"", req->param);
			return;
		}
		resp->body = net_ipam_json(al, an);
		if (!resp->body)
			api_error(resp, 500, "internal", "out of memory");
		return;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < al->nnets; i++)
		json_array_append_new(arr, net_ipam_json(al, al->nets[i]));
	resp->body = json_pack("{s:o}", "networks", arr);
}

struct ep_scan {
	const char *id;
	char (*keys)[GT_KEY_MAX];
	size_t n;
};

static void ep_scan_cb(void *arg, const struct gt_entry *g)
{
	struct ep_scan *es = arg;
	char(*k)[GT_KEY_MAX];

	if (strcmp(g->owner, es->id))
		return;
	k = realloc(es->keys, (es->n + 1) * sizeof(*k));
	if (!k)
		return;
	es->keys = k;
	snprintf(es->keys[es->n++], GT_KEY_MAX, "%s", g->key);
}

/* Take over the space node id owns in every network; the list for the
 * answer. */
static json_t *reclaim_all(struct drv_alloc *al, const char *id)
{
	json_t *nets = json_array();
	char key[GT_KEY_MAX];

	for (size_t i = 0; i < al->nnets; i++) {
		struct drv_alloc_net *an = al->nets[i];
		struct ring_entry *ents = NULL;
		uint64_t count = 0;
		size_t ne = 0;

		if (!an->ring || ring_reclaim(an->ring, id, &ents, &ne))
			continue;
		for (size_t j = 0; j < ne; j++) {
			count += ents[j].end - ents[j].start;
			(void)ring_publish(al, an, &ents[j]);
		}
		free(ents);
		changed(al, an);
		json_array_append_new(nets, json_pack("{s:s,s:I}", "network", an->rec.name,
						      "addresses", (json_int_t)count));
		log_warn("ipam: network %s: took over %llu addresses of removed node %s",
			 an->rec.name, (unsigned long long)count, id);
		snprintf(key, sizeof(key), "%s/%s", an->rec.ring, id);
		(void)p_del(al, GT_KIND_IPREPORT, key);
	}
	return nets;
}

static void h_node_rm(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_alloc *al = arg;
	char id[GT_ID_MAX];
	const char *name = req->param;
	struct ep_scan es = {.id = id};
	json_t *nets;
	size_t released = 0;
	int st;
	char *txt;

	st = p_member_by_name(al, name, id, sizeof(id));
	if (st < 0) {
		/* A member dead for long is no longer listed: its reports know it. */
		struct name_scan ns = {.name = name};

		p_foreach(al, GT_KIND_IPREPORT, name_scan_cb, &ns);
		if (ns.found > 1) {
			api_error(resp, 409, "conflict",
				  "several former hosts were named \"%s\": give the node id from "
				  "`vxmesh ipam`",
				  name);
			return;
		}
		snprintf(id, sizeof(id), "%s", ns.found ? ns.out : name);
		st = node_id_ok(id) ? p_member_state(al, id, NULL, 0) : -2;
		if (ns.found && st == -1)
			st = 0;
	}
	if (st == -2 || (st < 0 && strlen(name) != DRV_NODE_ID_LEN)) {
		api_error(
			resp, 404, "not_found",
			"no member named \"%s\" (give its name from `vxmesh members`, or its node "
			"id from `vxmesh ipam`)",
			name);
		return;
	}
	if (!strcmp(id, al->self)) {
		api_error(resp, 400, "invalid_argument",
			  "\"%s\" is this host; run `vxmesh node rm` on another host", name);
		return;
	}
	if (st == 1) {
		api_error(
			resp, 409, "conflict",
			"node %s is alive (or suspect): `node rm` is for hosts that are gone for "
			"good; stop its agent first and wait until `vxmesh members` shows it dead",
			name);
		return;
	}
	/* Only one host may take over a removed node's space (docs/ipam.md,
	 * assumption 5c); running it again on the same host is harmless. */
	{
		const struct gt_entry *rt = p_get(al, GT_KIND_RETIRED, id);
		char nm[GT_ID_MAX];

		if (rt && strcmp(rt->owner, al->self)) {
			api_error(resp, 409, "conflict",
				  "node %s was already removed by host %s, which took over its "
				  "addresses; run `node rm` again there if needed",
				  name, node_name(al, rt->owner, nm, sizeof(nm)));
			return;
		}
	}
	nets = reclaim_all(al, id);
	/* Its endpoints' addresses are released everywhere with their entries. */
	p_foreach(al, GT_KIND_EP, ep_scan_cb, &es);
	for (size_t i = 0; i < es.n; i++)
		released += p_del(al, GT_KIND_EP, es.keys[i]) == 0;
	free(es.keys);
	txt = NULL;
	{
		json_t *o = json_pack("{s:s,s:I}", "name", name, "at", (json_int_t)time(NULL));

		txt = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(o);
	}
	if (txt)
		(void)p_put(al, GT_KIND_RETIRED, id, NULL, (uint8_t *)txt, strlen(txt));
	log_warn("node %s (%s) removed: %zu endpoint(s) released", name, id, released);
	resp->body = json_pack("{s:s,s:s,s:o,s:I}", "node", name, "id", id, "networks", nets,
			       "endpoints_released", (json_int_t)released);
}

const struct api_route drv_alloc_routes[] = {
	{"GET", "/v1/ipam", h_ipam, NULL},
	{"GET", "/v1/ipam/", h_ipam, NULL},
	{"DELETE", "/v1/nodes/", h_node_rm, NULL},
};
const size_t drv_alloc_nroutes = sizeof(drv_alloc_routes) / sizeof(drv_alloc_routes[0]);

void drv_alloc_metrics(const struct drv_alloc *al, FILE *f)
{
	struct ipam_broker_stats st = al->closed;
	size_t conflicts = 0;

	for (size_t i = 0; i < al->nnets; i++) {
		conflicts += al->nets[i]->conflicts;
		stats_add(&st, al->nets[i]);
	}
	fprintf(f, "# HELP vxmesh_ipam_addresses Addresses of this host per network, by state.\n"
		   "# TYPE vxmesh_ipam_addresses gauge\n");
	for (size_t i = 0; i < al->nnets; i++) {
		const char *nm = al->nets[i]->rec.name;
		struct drv_alloc_counts c;

		drv_alloc_counts(al, al->nets[i], &c);
		fprintf(f,
			"vxmesh_ipam_addresses{network=\"%s\",state=\"owned\"} %llu\n"
			"vxmesh_ipam_addresses{network=\"%s\",state=\"free\"} %llu\n"
			"vxmesh_ipam_addresses{network=\"%s\",state=\"leased\"} %llu\n",
			nm, (unsigned long long)c.owned, nm, (unsigned long long)c.free, nm,
			(unsigned long long)c.leased);
	}
	fprintf(f,
		"# HELP vxmesh_ipam_requests_total Space and address requests, by direction and "
		"result.\n"
		"# TYPE vxmesh_ipam_requests_total counter\n"
		"vxmesh_ipam_requests_total{kind=\"space\",result=\"asked\"} %llu\n"
		"vxmesh_ipam_requests_total{kind=\"space\",result=\"granted\"} %llu\n"
		"vxmesh_ipam_requests_total{kind=\"space\",result=\"none\"} %llu\n"
		"vxmesh_ipam_requests_total{kind=\"space\",result=\"given\"} %llu\n"
		"vxmesh_ipam_requests_total{kind=\"address\",result=\"asked\"} %llu\n"
		"vxmesh_ipam_requests_total{kind=\"address\",result=\"granted\"} %llu\n"
		"vxmesh_ipam_requests_total{kind=\"address\",result=\"refused\"} %llu\n"
		"vxmesh_ipam_requests_total{kind=\"address\",result=\"given\"} %llu\n"
		"# HELP vxmesh_ipam_refused_total Malformed or conflicting ownership input "
		"refused.\n"
		"# TYPE vxmesh_ipam_refused_total counter\nvxmesh_ipam_refused_total %llu\n"
		"# HELP vxmesh_ipam_conflicts Local leases in another host's space (should be 0).\n"
		"# TYPE vxmesh_ipam_conflicts gauge\nvxmesh_ipam_conflicts %zu\n",
		st.space_asked, st.space_granted, st.space_none, st.space_given, st.ip_asked,
		st.ip_granted, st.ip_refused, st.ip_given, al->bad, conflicts);
}
