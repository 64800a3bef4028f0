// SPDX-License-Identifier: MIT
/*
 * ipamc: cluster-wide address allocation for the agent (see ipamc.h and
 * docs/ipam.md).
 *
 * Per network: the local pool (validity, leases, other hosts' addresses),
 * the ring replica, and `held`, the pool's taken set mirrored as the ring's
 * lease set so the ring never allocates or donates an address taken here.
 * Every pool change goes through ipamc_hold()/ipamc_unhold() below, which keep
 * the two in step.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/reactor.h"
#include "driver/agent_int.h"
#include "driver/api.h"
#include "driver/cluster.h"
#include "driver/ipamc.h"
#include "gossip/table.h"
#include "ipam/ipam.h"
#include "ipam/ring.h"

#define TICK_MS	       200
#define REPORT_MS      1000
#define ASK_TIMEOUT_MS 700  /* one space or address request */
#define ASK_TRIES      4    /* donors tried before giving up */
#define FAIL_HOLD_MS   3000 /* a failed space search is not retried sooner */
#define ANSWER_KEEP_MS 2000 /* an answer serves the requests waiting for it */
#define LOW_WATER      8    /* ask for more when fewer free addresses are owned */

enum ans { ANS_NONE, ANS_GRANTED, ANS_LEASED, ANS_NOT_OWNER, ANS_TIMEOUT };

struct ipreq {
	uint32_t ip; /* host order */
	char owner[RING_ID_MAX];
	uint64_t seq, deadline, at;
	enum ans ans;
};

struct ipamc_net {
	struct ring *ring; /* NULL: no ring id (per-host pool only) */
	struct ring_leases held;
	uint32_t first, end;
	/* space request in flight */
	int asking;
	char asked[RING_ID_MAX];
	uint64_t seq, deadline;
	unsigned tries;
	char refused[ASK_TRIES][RING_ID_MAX];
	size_t nrefused;
	uint64_t failed_at;
	char why[200];
	struct ipreq *ipr;
	size_t nipr;
	int dirty;	  /* report to publish */
	int check;	  /* look for leases outside own space */
	size_t conflicts; /* local leases found outside it */
};

struct ipamc {
	struct rx_timer *timer;
	uint64_t seq;
	int retired;
	uint64_t last_report;
	unsigned long long bad;
	unsigned long long space_asked, space_granted, space_none, space_given;
	unsigned long long ip_asked, ip_granted, ip_refused, ip_given;
};

/* ---- small helpers ---- */

static uint32_t h32(struct in_addr ip)
{
	return ntohl(ip.s_addr);
}

static struct in_addr ip4(uint32_t h)
{
	return (struct in_addr){htonl(h)};
}

static const char *ipstr(uint32_t h, char buf[INET_ADDRSTRLEN])
{
	struct in_addr a = ip4(h);

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

int ipamc_ring_id_ok(const char *s)
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

int ipamc_ring_id_new(char out[DRV_RING_ID_LEN + 1])
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

static struct agent_net *net_by_ring(struct agent *a, const char *rid)
{
	for (size_t i = 0; i < a->nnets; i++)
		if (a->nets[i].ic && a->nets[i].ic->ring && !strcmp(a->nets[i].rec.ring, rid))
			return &a->nets[i];
	return NULL;
}

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
static const char *node_name(struct agent *a, const char *id, char *buf, size_t len)
{
	struct name_scan ns = {.id = id};

	if (drv_cluster_member_state(a, id, buf, len) >= 0)
		return buf;
	drv_cluster_foreach(a, GT_KIND_IPREPORT, name_scan_cb, &ns);
	if (ns.found)
		snprintf(buf, len, "%s", ns.out);
	else
		snprintf(buf, len, "%.12s", id);
	return buf;
}

/* ---- the taken set ---- */

int ipamc_hold(struct agent_net *n, struct in_addr ip)
{
	int ret = ipam_pool_claim(n->pool, ip);

	if (ret)
		return ret;
	ret = ring_leases_add(&n->ic->held, h32(ip));
	if (ret && ret != -EEXIST) {
		ipam_pool_release(n->pool, ip);
		return ret;
	}
	return 0;
}

void ipamc_unhold(struct agent_net *n, struct in_addr ip)
{
	if (ipam_pool_release(n->pool, ip) == 0)
		ring_leases_del(&n->ic->held, h32(ip));
}

int ipamc_reserve(struct agent_net *n, struct in_addr ip)
{
	int ret = ipam_pool_reserve(n->pool, ip);

	if (ret)
		return ret;
	ret = ring_leases_add(&n->ic->held, h32(ip));
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
	char s[INET_ADDRSTRLEN], en[INET_ADDRSTRLEN];
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
	if (!ipamc_ring_id_ok(rid))
		return -EINVAL;
	o = json_loadb((const char *)g->value, g->value_len, JSON_REJECT_DUPLICATES, NULL);
	if (!o || json_unpack(o, "{s:s,s:s,s:s,s:s,s:s,s:I}", "net", &net, "start", &start, "end",
			      &end, "owner", &owner, "origin", &origin, "clock", &clock))
		goto out;
	if (addr_parse_ip4(start, &s) || addr_parse_ip4(end, &en) || clock < 1 ||
	    !node_id_ok(owner) || !node_id_ok(origin))
		goto out;
	e->start = h32(s);
	e->end = h32(en);
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

static void bad_input(struct agent *a, const char *what, const char *key)
{
	static struct log_ratelimit rl;

	a->ipc->bad++;
	if (log_ratelimit_ok(&rl))
		log_warn("ipam: refused %s %s", what, key);
}

/* Store and gossip an entry this node wrote (the ring already holds it). */
static int ring_publish(struct agent *a, struct agent_net *n, const struct ring_entry *e)
{
	char key[GT_KEY_MAX];
	uint8_t *v;
	size_t len;
	int ret;

	ring_key(n->rec.ring, e, key);
	v = ring_value(n->rec.name, e, &len);
	ret = drv_cluster_put(a, GT_KIND_RING, key, e->owner, v, len);
	if (ret)
		log_err("ipam: network %s: cannot store ownership entry %s: %s", n->rec.name, key,
			strerror(-ret));
	return ret;
}

/* ---- waking deferred requests, conflicts ---- */

/* Local leases in space the ring gives to another host: only a broken
 * assumption (a wrongful `node rm`, a restored old state directory) makes
 * one.  Kept as a gauge; logged when the number grows. */
static void check_conflicts(struct agent *a, struct agent_net *n)
{
	char owner[RING_ID_MAX], nm[GT_ID_MAX];
	size_t count = 0;

	for (size_t i = 0; i < a->neps; i++) {
		struct agent_ep *e = &a->eps[i];

		if (strcmp(e->rec.net, n->rec.name) ||
		    ring_owner(n->ic->ring, h32(e->rec.ip), owner) || !strcmp(owner, a->node.id))
			continue;
		if (++count > n->ic->conflicts)
			log_err("ipam: network %s: endpoint %s holds %s, which the ownership ring "
				"gives to host %s (a wrongful `node rm`, or a restored old state "
				"directory?); detach it and attach again",
				n->rec.name, e->rec.id, inet_ntoa(e->rec.ip),
				node_name(a, owner, nm, sizeof(nm)));
	}
	n->ic->conflicts = count;
}

static void changed(struct agent *a, struct agent_net *n)
{
	struct ipamc_net *ic = n->ic;

	ic->dirty = 1;
	ic->check = 1;
	if (ic->asking && ring_free(ic->ring, &ic->held) > 0) {
		ic->asking = 0;
		ic->nrefused = 0;
		ic->failed_at = 0;
	}
	if (a->ipc->timer)
		rx_timer_arm(a->ipc->timer, TICK_MS, 0);
	agent_api_retry(a);
}

/* ---- per network ---- */

static void merge_cb(void *arg, const struct gt_entry *g)
{
	struct agent_net *n = arg;
	char rid[DRV_RING_ID_LEN + 1];
	struct ring_entry e;

	if (!ring_parse(g, rid, &e) && !strcmp(rid, n->rec.ring))
		(void)!ring_merge(n->ic->ring, &e);
}

int ipamc_net_open(struct agent *a, struct agent_net *n)
{
	struct ipamc_net *ic;
	int ret;

	ret = ipam_pool_create(&n->pool, &n->rec.subnet, n->rec.gw.s_addr ? &n->rec.gw : NULL);
	if (ret)
		return ret;
	ic = calloc(1, sizeof(*ic));
	if (!ic) {
		ret = -ENOMEM;
		goto err_pool;
	}
	ring_leases_init(&ic->held);
	n->ic = ic;
	if (n->rec.gw.s_addr && (ret = ring_leases_add(&ic->held, h32(n->rec.gw))))
		goto err_ic;
	if (!n->rec.ring[0])
		return 0;
	ret = ring_space(&n->rec.subnet, &ic->first, &ic->end);
	if (!ret)
		ret = ring_create(&ic->ring, ic->first, ic->end, a->node.id);
	if (ret)
		goto err_ic;
	drv_cluster_foreach(a, GT_KIND_RING, merge_cb, n);
	ic->dirty = 1;
	return 0;

err_ic:
	ipamc_net_close(n);
	return ret;
err_pool:
	ipam_pool_destroy(n->pool);
	n->pool = NULL;
	return ret;
}

void ipamc_net_close(struct agent_net *n)
{
	if (n->ic) {
		ring_destroy(n->ic->ring);
		ring_leases_fini(&n->ic->held);
		free(n->ic->ipr);
		free(n->ic);
		n->ic = NULL;
	}
	ipam_pool_destroy(n->pool);
	n->pool = NULL;
}

int ipamc_net_init_space(struct agent *a, struct agent_net *n)
{
	struct ring_entry e;
	int ret;

	if (!n->ic->ring)
		return 0;
	ret = ring_init_space(n->ic->ring, &e);
	if (ret)
		return ret;
	ret = ring_publish(a, n, &e);
	changed(a, n);
	return ret;
}

/* ---- asking for space ---- */

struct report_scan {
	struct agent *a;
	struct agent_net *n;
	char (*live)[GT_ID_MAX]; /* live members' ids, sorted */
	size_t nlive;
	struct ring_report *rep;
	size_t nrep, cap;
};

static int refused(const struct ipamc_net *ic, const char *id)
{
	for (size_t i = 0; i < ic->nrefused; i++)
		if (!strcmp(ic->refused[i], id))
			return 1;
	return 0;
}

/* Report keys are "<ring id>/<node id>". */
static void report_cb(void *arg, const struct gt_entry *g)
{
	struct report_scan *rs = arg;
	const char *id = g->key + DRV_RING_ID_LEN + 1;
	json_int_t fr = 0;
	json_t *o;

	if (strncmp(g->key, rs->n->rec.ring, DRV_RING_ID_LEN) || g->key[DRV_RING_ID_LEN] != '/' ||
	    !node_id_ok(id) || !strcmp(id, rs->a->node.id) || refused(rs->n->ic, id) ||
	    !drv_cluster_id_in(rs->live, rs->nlive, id))
		return;
	o = json_loadb((const char *)g->value, g->value_len, 0, NULL);
	if (!o || json_unpack(o, "{s:I}", "free", &fr) || fr <= 0) {
		json_decref(o);
		return;
	}
	json_decref(o);
	if (rs->nrep == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 8;
		struct ring_report *g2 = realloc(rs->rep, cap * sizeof(*g2));

		if (!g2)
			return;
		rs->rep = g2;
		rs->cap = cap;
	}
	snprintf(rs->rep[rs->nrep].id, RING_ID_MAX, "%s", id);
	/* No honest report exceeds the space; a bogus one must not take every pick. */
	rs->rep[rs->nrep++].free = (uint64_t)fr < rs->n->ic->end - rs->n->ic->first
					   ? (uint64_t)fr
					   : rs->n->ic->end - rs->n->ic->first;
}

static int send_json(struct agent *a, const char *to, uint8_t type, json_t *o)
{
	char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t len = txt ? strlen(txt) : 0;
	uint8_t *msg = txt ? malloc(len + 1) : NULL;
	int ret = -ENOMEM;

	if (msg) {
		msg[0] = type;
		memcpy(msg + 1, txt, len);
		ret = drv_cluster_send(a, to, msg, len + 1);
	}
	free(msg);
	free(txt);
	json_decref(o);
	return ret;
}

/* Send a space request to the next donor.  0 (asking), -ENOSPC (nobody left). */
static int space_ask(struct agent *a, struct agent_net *n)
{
	struct ipamc_net *ic = n->ic;
	struct report_scan rs = {.a = a, .n = n};
	char donor[RING_ID_MAX];
	uint64_t rnd = 0;
	int ret;

	if (!drv_cluster_live_ids(a, &rs.live, &rs.nlive))
		drv_cluster_foreach(a, GT_KIND_IPREPORT, report_cb, &rs);
	free(rs.live);
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd = rx_now_ms(a->loop);
	ret = ring_pick_donor(ic->ring, rs.rep, rs.nrep, rnd, donor);
	free(rs.rep);
	/* Without reports the pick is whoever owns most: it must be usable too. */
	if (!ret && (!strcmp(donor, a->node.id) || refused(ic, donor) ||
		     drv_cluster_member_state(a, donor, NULL, 0) != 1))
		ret = -ENOENT;
	while (!ret && ic->tries < ASK_TRIES) {
		ic->seq = ++a->ipc->seq;
		ret = send_json(a, donor, IPAMC_MSG_SPACE_REQ,
				json_pack("{s:s,s:s,s:s,s:I}", "ring", n->rec.ring, "net",
					  n->rec.name, "from", a->node.id, "seq",
					  (json_int_t)ic->seq));
		ic->tries++;
		if (ret)
			break;
		a->ipc->space_asked++;
		ic->asking = 1;
		snprintf(ic->asked, sizeof(ic->asked), "%s", donor);
		ic->deadline = rx_now_ms(a->loop) + ASK_TIMEOUT_MS;
		rx_timer_arm(a->ipc->timer, TICK_MS, 0);
		log_dbg("ipam: network %s: asked %s for addresses", n->rec.name, donor);
		return 0;
	}
	ic->asking = 0;
	ic->failed_at = rx_now_ms(a->loop);
	snprintf(ic->why, sizeof(ic->why),
		 "no free addresses in network %s: this host owns none free and no reachable host "
		 "could donate (%u asked)",
		 n->rec.name, ic->tries);
	ic->tries = 0;
	ic->nrefused = 0;
	agent_api_retry(a);
	return -ENOSPC;
}

static void space_refused(struct agent *a, struct agent_net *n, const char *who)
{
	struct ipamc_net *ic = n->ic;

	if (ic->nrefused < ASK_TRIES)
		snprintf(ic->refused[ic->nrefused++], RING_ID_MAX, "%s", who);
	ic->asking = 0;
	(void)space_ask(a, n);
}

/* Start a search unless one runs or just failed.  0 (running), -ENOSPC. */
static int space_want(struct agent *a, struct agent_net *n)
{
	struct ipamc_net *ic = n->ic;

	if (ic->asking)
		return 0;
	if (ic->failed_at && rx_now_ms(a->loop) - ic->failed_at < FAIL_HOLD_MS)
		return -ENOSPC;
	ic->failed_at = 0;
	ic->tries = 0;
	ic->nrefused = 0;
	return space_ask(a, n);
}

/* ---- asking for one address ---- */

static struct ipreq *ipreq_find(struct ipamc_net *ic, uint32_t ip)
{
	for (size_t i = 0; i < ic->nipr; i++)
		if (ic->ipr[i].ip == ip)
			return &ic->ipr[i];
	return NULL;
}

static void ipreq_drop(struct ipamc_net *ic, struct ipreq *r)
{
	*r = ic->ipr[--ic->nipr];
}

static int ip_ask(struct agent *a, struct agent_net *n, uint32_t ip, const char *owner)
{
	struct ipamc_net *ic = n->ic;
	struct ipreq *r = ipreq_find(ic, ip);
	char s[INET_ADDRSTRLEN];
	int ret;

	if (!r) {
		r = realloc(ic->ipr, (ic->nipr + 1) * sizeof(*r));
		if (!r)
			return -ENOMEM;
		ic->ipr = r;
		r = &ic->ipr[ic->nipr++];
	}
	memset(r, 0, sizeof(*r));
	r->ip = ip;
	snprintf(r->owner, sizeof(r->owner), "%s", owner);
	r->seq = ++a->ipc->seq;
	r->at = rx_now_ms(a->loop);
	r->deadline = r->at + ASK_TIMEOUT_MS * 2;
	ret = send_json(a, owner, IPAMC_MSG_IP_REQ,
			json_pack("{s:s,s:s,s:s,s:I,s:s}", "ring", n->rec.ring, "net", n->rec.name,
				  "from", a->node.id, "seq", (json_int_t)r->seq, "ip",
				  ipstr(ip, s)));
	if (ret) {
		ipreq_drop(ic, r);
		return ret;
	}
	a->ipc->ip_asked++;
	rx_timer_arm(a->ipc->timer, TICK_MS, 0);
	return 0;
}

/* ---- leasing ---- */

static int lease_specific(struct agent *a, struct agent_net *n, struct in_addr want, char *err,
			  size_t len)
{
	struct ipamc_net *ic = n->ic;
	char owner[RING_ID_MAX], nm[GT_ID_MAX], s[INET_ADDRSTRLEN];
	uint32_t ip = h32(want);
	struct ipreq *r;
	int ret, st;

	inet_ntop(AF_INET, &want, s, sizeof(s));
	ret = ipam_pool_claim(n->pool, want);
	if (ret) {
		snprintf(err, len, "address %s in network %s: %s", s, n->rec.name,
			 ipam_strerror(ret));
		return ret;
	}
	if (!ic->ring) {
		(void)!ring_leases_add(&ic->held, ip);
		return 0;
	}
	ret = ring_claim(ic->ring, &ic->held, ip, owner);
	if (ret == 0) {
		r = ipreq_find(ic, ip);
		if (r)
			ipreq_drop(ic, r);
		return 0;
	}
	ipam_pool_release(n->pool, want);
	if (ret == -ENOENT) {
		/* The creation entry covers the whole space: it is on its way. */
		snprintf(err, len,
			 "address %s in network %s: no host owns it yet (waiting for the network's "
			 "ownership record)",
			 s, n->rec.name);
		return -EAGAIN;
	}
	if (ret != -EREMOTE) {
		snprintf(err, len, "address %s in network %s: %s", s, n->rec.name, strerror(-ret));
		return ret;
	}
	node_name(a, owner, nm, sizeof(nm));
	r = ipreq_find(ic, ip);
	if (r && r->ans == ANS_LEASED && rx_now_ms(a->loop) - r->at < ANSWER_KEEP_MS) {
		snprintf(err, len, "address %s in network %s is already in use on host %s", s,
			 n->rec.name, nm);
		return -EADDRINUSE;
	}
	if (r && !strcmp(r->owner, owner) && (r->ans == ANS_NONE || r->ans == ANS_GRANTED) &&
	    rx_now_ms(a->loop) < r->deadline + (r->ans == ANS_GRANTED ? ASK_TIMEOUT_MS * 3 : 0)) {
		snprintf(err, len, "address %s in network %s: waiting for host %s, its owner", s,
			 n->rec.name, nm);
		return -EAGAIN;
	}
	if (r && !strcmp(r->owner, owner) && r->ans == ANS_TIMEOUT &&
	    rx_now_ms(a->loop) - r->at < ANSWER_KEEP_MS) {
		snprintf(err, len,
			 "address %s in network %s is owned by host %s, which did not answer", s,
			 n->rec.name, nm);
		return -EHOSTUNREACH;
	}
	/* The owner in our view says it is not: its newer entry is on its way
	 * to us; wait for it rather than asking again. */
	if (r && !strcmp(r->owner, owner) && r->ans == ANS_NOT_OWNER &&
	    rx_now_ms(a->loop) - r->at < ANSWER_KEEP_MS) {
		snprintf(err, len,
			 "address %s in network %s: host %s no longer owns it; waiting for the "
			 "ownership record",
			 s, n->rec.name, nm);
		return -EAGAIN;
	}
	st = drv_cluster_member_state(a, owner, NULL, 0);
	if (st != 1) {
		snprintf(err, len,
			 "address %s in network %s is owned by host %s, which is unreachable (%s); "
			 "pick another address, or remove that host with `vxmesh node rm` if it is "
			 "gone for good",
			 s, n->rec.name, nm, st == 0 ? "dead or left" : "dead, or not a member");
		return -EHOSTUNREACH;
	}
	ret = ip_ask(a, n, ip, owner);
	if (ret) {
		snprintf(err, len, "address %s: cannot ask host %s: %s", s, nm, strerror(-ret));
		return -EHOSTUNREACH;
	}
	snprintf(err, len, "address %s in network %s: waiting for host %s, its owner", s,
		 n->rec.name, nm);
	return -EAGAIN;
}

int ipamc_lease(struct agent *a, struct agent_net *n, const struct in_addr *want,
		struct in_addr *out, char *err, size_t len)
{
	struct ipamc_net *ic = n->ic;
	uint32_t h;
	int ret;

	if (a->ipc->retired) {
		snprintf(err, len,
			 "this host was removed from the cluster with `vxmesh node rm` and may not "
			 "allocate: stop the agent, move its state directory away and start it "
			 "again to join with a new identity");
		return -EPERM;
	}
	if (want) {
		ret = lease_specific(a, n, *want, err, len);
		if (!ret)
			*out = *want;
	} else if (!ic->ring) {
		ret = ipam_pool_alloc(n->pool, out);
		if (ret)
			snprintf(err, len, "network %s: %s", n->rec.name, ipam_strerror(ret));
		else
			(void)!ring_leases_add(&ic->held, h32(*out));
	} else {
		for (;;) {
			ret = ring_alloc(ic->ring, &ic->held, &h);
			if (ret)
				break;
			*out = ip4(h);
			if (!ipam_pool_claim(n->pool, *out))
				break;
			/* Taken in the pool but not in held: cannot happen; keep it out. */
			log_err("ipam: network %s: %s is taken but was not held", n->rec.name,
				inet_ntoa(*out));
		}
		if (ret == -ENOSPC && !ring_entry_count(ic->ring)) {
			/* Learnt the network, not yet its ownership entries. */
			snprintf(err, len, "network %s: waiting for the network's ownership record",
				 n->rec.name);
			return -EAGAIN;
		}
		if (ret == -ENOSPC) {
			ret = space_want(a, n);
			if (ret == 0) {
				char nm[GT_ID_MAX];

				snprintf(err, len,
					 "network %s: waiting for host %s to donate addresses",
					 n->rec.name, node_name(a, ic->asked, nm, sizeof(nm)));
				return -EAGAIN;
			}
			snprintf(err, len, "%s", ic->why);
			return -ENOSPC;
		}
		if (ret)
			snprintf(err, len, "network %s: %s", n->rec.name, strerror(-ret));
	}
	if (ret)
		return ret;
	ic->dirty = 1;
	rx_timer_arm(a->ipc->timer, TICK_MS, 0);
	/* Ask ahead, so bursts of attaches rarely wait. */
	if (ic->ring && !ic->asking && ring_free(ic->ring, &ic->held) < LOW_WATER)
		(void)space_want(a, n);
	return 0;
}

void ipamc_release(struct agent *a, struct agent_net *n, struct in_addr ip)
{
	ipamc_unhold(n, ip);
	n->ic->dirty = 1;
	rx_timer_arm(a->ipc->timer, TICK_MS, 0);
}

/* ---- messages ---- */

static void answer(struct agent *a, const char *to, uint8_t type, const char *rid, json_int_t seq,
		   const char *ip, const char *result)
{
	json_t *o = json_pack("{s:s,s:I,s:s}", "ring", rid, "seq", seq, "result", result);

	if (o && ip)
		json_object_set_new(o, "ip", json_string(ip));
	if (send_json(a, to, type, o))
		log_dbg("ipam: cannot answer %s", to);
}

/* Space given to a node that is not a live member, or was removed, would be
 * stranded; a removed host's space belongs to its remover. */
static int may_donate(struct agent *a, const char *to)
{
	return !a->ipc->retired && drv_cluster_member_state(a, to, NULL, 0) == 1 &&
	       !drv_cluster_get(a, GT_KIND_RETIRED, to);
}

static void on_space_req(struct agent *a, struct agent_net *n, const char *from, json_int_t seq)
{
	struct ring_entry e;
	char key[GT_KEY_MAX];
	int ret = -EPERM;

	if (may_donate(a, from))
		ret = ring_donate(n->ic->ring, &n->ic->held, from, 0, &e);
	if (ret == 0)
		ret = ring_publish(a, n, &e);
	if (ret) {
		answer(a, from, IPAMC_MSG_SPACE_ANS, n->rec.ring, seq, NULL, "none");
		return;
	}
	a->ipc->space_given++;
	ring_key(n->rec.ring, &e, key);
	if (!drv_cluster_fans_out(a)) /* else it went to every member already */
		(void)drv_cluster_send_entry(a, from, GT_KIND_RING, key);
	answer(a, from, IPAMC_MSG_SPACE_ANS, n->rec.ring, seq, NULL, "granted");
	changed(a, n);
	log_info("ipam: network %s: gave %u addresses to %s", n->rec.name, e.end - e.start, from);
}

static void on_ip_req(struct agent *a, struct agent_net *n, const char *from, json_int_t seq,
		      const char *ips)
{
	struct ring_entry e;
	char key[GT_KEY_MAX];
	struct in_addr ip;
	const char *res;
	int ret;

	if (addr_parse_ip4(ips, &ip)) {
		bad_input(a, "address request for", ips);
		return;
	}
	ret = may_donate(a, from) ? ring_donate_ip(n->ic->ring, &n->ic->held, from, h32(ip), &e)
				  : -EPERM;
	if (ret == 0)
		ret = ring_publish(a, n, &e);
	if (ret == 0) {
		a->ipc->ip_given++;
		ring_key(n->rec.ring, &e, key);
		if (!drv_cluster_fans_out(a))
			(void)drv_cluster_send_entry(a, from, GT_KIND_RING, key);
		changed(a, n);
		res = "granted";
	} else {
		res = ret == -EADDRINUSE ? "leased" : "not-owner";
	}
	answer(a, from, IPAMC_MSG_IP_ANS, n->rec.ring, seq, ips, res);
}

void ipamc_user_msg(struct agent *a, const uint8_t *buf, size_t len)
{
	const char *rid, *from = NULL, *result = NULL, *ips = NULL;
	struct agent_net *n;
	json_int_t seq;
	json_t *o;

	o = json_loadb((const char *)buf + 1, len - 1, JSON_REJECT_DUPLICATES, NULL);
	if (!o ||
	    json_unpack(o, "{s:s,s:I,s?s,s?s,s?s}", "ring", &rid, "seq", &seq, "from", &from,
			"result", &result, "ip", &ips) ||
	    !ipamc_ring_id_ok(rid) || !rid[0] || (from && !node_id_ok(from))) {
		bad_input(a, "malformed message", "");
		goto out;
	}
	n = net_by_ring(a, rid);
	if (!n)
		goto out; /* a network this host does not have (yet) */
	switch (buf[0]) {
	case IPAMC_MSG_SPACE_REQ:
		if (from && strcmp(from, a->node.id))
			on_space_req(a, n, from, seq);
		break;
	case IPAMC_MSG_IP_REQ:
		if (from && ips && strcmp(from, a->node.id))
			on_ip_req(a, n, from, seq, ips);
		break;
	case IPAMC_MSG_SPACE_ANS:
		/* The granted entry is sent before the answer and usually ends
		 * the search first (changed()): still count the grant. */
		if (!result || !n->ic->seq || (uint64_t)seq != n->ic->seq)
			break;
		n->ic->seq = 0; /* one answer per request */
		if (!strcmp(result, "granted")) {
			a->ipc->space_granted++;
			/* The entry itself comes as a table update; wait for it. */
			if (n->ic->asking)
				n->ic->deadline = rx_now_ms(a->loop) + ASK_TIMEOUT_MS * 3;
		} else if (n->ic->asking) {
			a->ipc->space_none++;
			space_refused(a, n, n->ic->asked);
		}
		break;
	case IPAMC_MSG_IP_ANS: {
		struct in_addr ip;
		struct ipreq *r;

		if (!result || !ips || addr_parse_ip4(ips, &ip))
			break;
		r = ipreq_find(n->ic, h32(ip));
		if (!r || r->seq != (uint64_t)seq || (r->ans != ANS_NONE && r->ans != ANS_TIMEOUT))
			break;
		r->at = rx_now_ms(a->loop);
		if (!strcmp(result, "granted")) {
			r->ans = ANS_GRANTED;
			a->ipc->ip_granted++;
		} else {
			r->ans = !strcmp(result, "leased") ? ANS_LEASED : ANS_NOT_OWNER;
			a->ipc->ip_refused++;
		}
		agent_api_retry(a);
		break;
	}
	}
out:
	json_decref(o);
}

void ipamc_table_changed(struct agent *a, const struct gt_entry *g)
{
	char rid[DRV_RING_ID_LEN + 1];
	struct agent_net *n;
	struct ring_entry e;
	int ret;

	if (!a->ipc || g->deleted)
		return;
	if (g->kind == GT_KIND_RETIRED) {
		if (!strcmp(g->key, a->node.id) && !a->ipc->retired) {
			a->ipc->retired = 1;
			log_err("this host (node id %s) was removed from the cluster with `vxmesh "
				"node rm` by %s: its addresses were handed to other hosts and it "
				"will "
				"not allocate; stop it, move its state directory away and start "
				"again",
				a->node.id, g->origin);
		}
		return;
	}
	if (g->kind != GT_KIND_RING)
		return;
	if (ring_parse(g, rid, &e)) {
		bad_input(a, "ownership entry", g->key);
		return;
	}
	n = net_by_ring(a, rid);
	if (!n)
		return; /* kept in the table; merged when the network opens */
	ret = ring_merge(n->ic->ring, &e);
	if (ret == -ENOMEM) {
		log_err("ipam: network %s: out of memory merging %s", n->rec.name, g->key);
		return;
	}
	if (ret < 0) {
		bad_input(a, "ownership entry outside the network", g->key);
		return;
	}
	if (ret == 1)
		changed(a, n);
}

/* ---- timers: timeouts, reports ---- */

void ipamc_counts(struct agent *a, struct agent_net *n, uint64_t *owned, uint64_t *fr,
		  uint64_t *leased)
{
	*leased = 0;
	for (size_t i = 0; i < a->neps; i++)
		*leased += !strcmp(a->eps[i].rec.net, n->rec.name);
	if (n->ic && n->ic->ring) {
		*owned = ring_owned(n->ic->ring, a->node.id);
		*fr = ring_free(n->ic->ring, &n->ic->held);
	} else {
		*owned = ipam_pool_capacity(n->pool);
		*fr = ipam_pool_free(n->pool);
	}
}

static void report(struct agent *a, struct agent_net *n)
{
	char key[GT_KEY_MAX], nm[GT_ID_MAX];
	uint64_t owned, fr, leased;
	json_t *o;
	char *txt;

	n->ic->dirty = 0;
	ipamc_counts(a, n, &owned, &fr, &leased);
	snprintf(key, sizeof(key), "%s/%s", n->rec.ring, a->node.id);
	if (!owned && !leased && !drv_cluster_get(a, GT_KIND_IPREPORT, key))
		return;
	o = json_pack("{s:s,s:s,s:I,s:I,s:I}", "net", n->rec.name, "host",
		      node_name(a, a->node.id, nm, sizeof(nm)), "owned", (json_int_t)owned, "free",
		      (json_int_t)fr, "leased", (json_int_t)leased);
	txt = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (txt)
		(void)drv_cluster_put(a, GT_KIND_IPREPORT, key, NULL, (uint8_t *)txt, strlen(txt));
}

static void tick_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct agent *a = arg;
	uint64_t now = rx_now_ms(loop);
	int busy = 0, report_due = now - a->ipc->last_report >= REPORT_MS;

	for (size_t i = 0; i < a->nnets; i++) {
		struct agent_net *n = &a->nets[i];
		struct ipamc_net *ic = n->ic;

		if (!ic || !ic->ring)
			continue;
		if (ic->asking && now > ic->deadline) {
			log_dbg("ipam: network %s: %s did not answer", n->rec.name, ic->asked);
			space_refused(a, n, ic->asked);
		}
		for (size_t j = 0; j < ic->nipr; j++) {
			struct ipreq *r = &ic->ipr[j];

			if (r->ans == ANS_NONE && now > r->deadline) {
				r->ans = ANS_TIMEOUT;
				r->at = now;
				agent_api_retry(a);
			} else if (r->ans != ANS_NONE && now - r->at > ANSWER_KEEP_MS) {
				ipreq_drop(ic, r);
				j--;
			}
		}
		if (ic->check) {
			ic->check = 0;
			check_conflicts(a, n);
		}
		if (ic->dirty && report_due)
			report(a, n);
		busy |= ic->asking || ic->nipr || ic->dirty;
	}
	if (report_due)
		a->ipc->last_report = now;
	if (busy)
		rx_timer_arm(t, TICK_MS, 0);
}

int ipamc_open(struct agent *a)
{
	uint32_t seed = 0;

	a->ipc = calloc(1, sizeof(*a->ipc));
	if (!a->ipc)
		return -ENOMEM;
	/* Answers to a previous run's requests must not match this run's. */
	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint32_t)time(NULL);
	a->ipc->seq = (uint64_t)seed << 16;
	a->ipc->timer = rx_timer_create(a->loop, tick_cb, a);
	if (!a->ipc->timer) {
		free(a->ipc);
		a->ipc = NULL;
		return -ENOMEM;
	}
	rx_timer_arm(a->ipc->timer, TICK_MS, 0);
	return 0;
}

void ipamc_close(struct agent *a)
{
	if (!a->ipc)
		return;
	rx_timer_destroy(a->ipc->timer);
	free(a->ipc);
	a->ipc = NULL;
}

/* ---- subnets ---- */

/* Does p overlap a route of this host's main table (/proc/net/route)? */
static int route_overlaps(const struct addr_prefix *p)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[256], ifname[64];
	unsigned dst, gw, flags, refcnt, use, metric, mask;
	int hit = 0;

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f)) { /* header */
		fclose(f);
		return 0;
	}
	while (!hit && fgets(line, sizeof(line), f)) {
		struct addr_prefix r;

		if (sscanf(line, "%63s %x %x %x %u %u %u %x", ifname, &dst, &gw, &flags, &refcnt,
			   &use, &metric, &mask) != 8 ||
		    !mask)
			continue;    /* the default route overlaps everything; skip it */
		r.addr.s_addr = dst; /* the file prints network order as a host integer */
		r.len = (uint8_t)__builtin_popcount(mask);
		hit = addr_prefix_overlaps(&r, p);
	}
	fclose(f);
	return hit;
}

int ipamc_subnet_pick(struct agent *a, const struct addr_prefix *avoid, size_t navoid,
		      struct addr_prefix *out)
{
	struct addr_prefix pool;
	unsigned len = a->cfg.default_subnet_len;
	uint64_t count, step;

	if (addr_parse_prefix(a->cfg.default_pool, 1, &pool) || len < pool.len || len > 30)
		return -EINVAL;
	count = 1ull << (len - pool.len);
	step = 1ull << (32 - len);
	for (uint64_t i = 0; i < count; i++) {
		struct addr_prefix c = {.addr = ip4((uint32_t)(h32(pool.addr) + i * step)),
					.len = (uint8_t)len};
		int used = route_overlaps(&c) || drv_cluster_subnet_used(a, &c);

		for (size_t j = 0; j < a->nnets && !used; j++)
			used = addr_prefix_overlaps(&a->nets[j].rec.subnet, &c);
		for (size_t j = 0; j < navoid && !used; j++)
			used = addr_prefix_overlaps(&avoid[j], &c);
		if (!used) {
			*out = c;
			return 0;
		}
	}
	return -ENOSPC;
}

/* ---- API ---- */

struct node_sum {
	char id[RING_ID_MAX];
	uint64_t owned;
};

static json_t *net_ipam_json(struct agent *a, struct agent_net *n)
{
	char sub[ADDR_PREFIX_STRLEN], s[INET_ADDRSTRLEN], e[INET_ADDRSTRLEN], nm[GT_ID_MAX];
	struct ipamc_net *ic = n->ic;
	uint64_t owned, fr, leased;
	struct ring_entry *map = NULL;
	struct node_sum *sum = NULL;
	size_t nmap = 0, nsum = 0;
	json_t *o, *ranges, *nodes;

	addr_fmt_prefix(&n->rec.subnet, sub);
	ipamc_counts(a, n, &owned, &fr, &leased);
	o = json_pack("{s:s,s:s,s:s,s:{s:I,s:I,s:I}}", "network", n->rec.name, "subnet", sub,
		      "ring", n->rec.ring, "local", "owned", (json_int_t)owned, "free",
		      (json_int_t)fr, "leased", (json_int_t)leased);
	ranges = json_array();
	nodes = json_array();
	if (!o || !ranges || !nodes) {
		json_decref(ranges);
		json_decref(nodes);
		goto err;
	}
	json_object_set_new(o, "ranges", ranges);
	json_object_set_new(o, "nodes", nodes);
	if (n->rec.gw.s_addr)
		json_object_set_new(o, "gateway", json_string(inet_ntoa(n->rec.gw)));
	if (!ic->ring)
		return o;
	if (ring_map(ic->ring, &map, &nmap))
		goto err;
	for (size_t i = 0; i < nmap; i++) {
		size_t j;
		int st = drv_cluster_member_state(a, map[i].owner, nm, sizeof(nm));

		json_array_append_new(
			ranges, json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "start",
					  ipstr(map[i].start, s), "end", ipstr(map[i].end - 1, e),
					  "size", (json_int_t)(map[i].end - map[i].start), "owner",
					  map[i].owner, "host", st < 0 ? "" : nm, "state",
					  st > 0    ? "alive"
					  : st == 0 ? "dead"
						    : "unknown"));
		for (j = 0; j < nsum && strcmp(sum[j].id, map[i].owner); j++)
			;
		if (j == nsum) {
			struct node_sum *g = realloc(sum, (nsum + 1) * sizeof(*g));

			if (!g)
				goto err;
			sum = g;
			memset(&sum[nsum], 0, sizeof(sum[0]));
			snprintf(sum[nsum++].id, RING_ID_MAX, "%s", map[i].owner);
		}
		sum[j].owned += map[i].end - map[i].start;
	}
	for (size_t j = 0; j < nsum; j++) {
		char key[GT_KEY_MAX];
		const struct gt_entry *g;
		json_t *node, *rep = NULL;
		int st = drv_cluster_member_state(a, sum[j].id, nm, sizeof(nm));

		snprintf(key, sizeof(key), "%s/%s", n->rec.ring, sum[j].id);
		node = json_pack("{s:s,s:s,s:s,s:I}", "id", sum[j].id, "host", st < 0 ? "" : nm,
				 "state",
				 drv_cluster_get(a, GT_KIND_RETIRED, sum[j].id) ? "removed"
				 : st > 0					? "alive"
				 : st == 0					? "dead"
										: "unknown",
				 "owned", (json_int_t)sum[j].owned);
		if (!strcmp(sum[j].id, a->node.id)) {
			json_object_set_new(node, "free", json_integer((json_int_t)fr));
			json_object_set_new(node, "leased", json_integer((json_int_t)leased));
		} else if ((g = drv_cluster_get(a, GT_KIND_IPREPORT, key)) &&
			   (rep = json_loadb((const char *)g->value, g->value_len, 0, NULL))) {
			/* A peer's report: pass on only what it should hold. */
			json_t *f = json_object_get(rep, "free"),
			       *l = json_object_get(rep, "leased");

			if (json_is_integer(f) && json_integer_value(f) >= 0)
				json_object_set(node, "free", f);
			if (json_is_integer(l) && json_integer_value(l) >= 0)
				json_object_set(node, "leased", l);
			json_decref(rep);
		}
		json_array_append_new(nodes, node);
	}
	free(sum);
	free(map);
	json_object_set_new(o, "asking",
			    ic->asking ? json_string(node_name(a, ic->asked, nm, sizeof(nm)))
				       : json_null());
	return o;
err:
	free(sum);
	free(map);
	json_decref(o);
	return NULL;
}

void ipamc_h_ipam(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	json_t *arr;

	if (req->param && req->param[0]) {
		struct agent_net *n = agent_net_find(a, req->param);

		if (!n) {
			api_error(resp, 404, "not_found", "no network named \"%s\"", req->param);
			return;
		}
		resp->body = net_ipam_json(a, n);
		if (!resp->body)
			api_error(resp, 500, "internal", "out of memory");
		return;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < a->nnets; i++)
		json_array_append_new(arr, net_ipam_json(a, &a->nets[i]));
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

void ipamc_h_node_rm(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	char id[GT_ID_MAX], key[GT_KEY_MAX];
	const char *name = req->param;
	struct ep_scan es = {.id = id};
	json_t *nets;
	size_t released = 0;
	int st;
	char *txt;

	st = drv_cluster_member_by_name(a, name, id, sizeof(id));
	if (st < 0) {
		/* A member dead for long is no longer listed: its reports know it. */
		struct name_scan ns = {.name = name};

		drv_cluster_foreach(a, GT_KIND_IPREPORT, name_scan_cb, &ns);
		if (ns.found > 1) {
			api_error(resp, 409, "conflict",
				  "several former hosts were named \"%s\": give the node id from "
				  "`vxmesh ipam`",
				  name);
			return;
		}
		snprintf(id, sizeof(id), "%s", ns.found ? ns.out : name);
		st = node_id_ok(id) ? drv_cluster_member_state(a, id, NULL, 0) : -2;
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
	if (!strcmp(id, a->node.id)) {
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
		const struct gt_entry *rt = drv_cluster_get(a, GT_KIND_RETIRED, id);
		char nm[GT_ID_MAX];

		if (rt && strcmp(rt->owner, a->node.id)) {
			api_error(resp, 409, "conflict",
				  "node %s was already removed by host %s, which took over its "
				  "addresses; run `node rm` again there if needed",
				  name, node_name(a, rt->owner, nm, sizeof(nm)));
			return;
		}
	}
	nets = json_array();
	for (size_t i = 0; i < a->nnets; i++) {
		struct agent_net *n = &a->nets[i];
		struct ring_entry *ents = NULL;
		uint64_t count = 0;
		size_t ne = 0;

		if (!n->ic || !n->ic->ring || ring_reclaim(n->ic->ring, id, &ents, &ne))
			continue;
		for (size_t j = 0; j < ne; j++) {
			count += ents[j].end - ents[j].start;
			(void)ring_publish(a, n, &ents[j]);
		}
		free(ents);
		changed(a, n);
		json_array_append_new(nets, json_pack("{s:s,s:I}", "network", n->rec.name,
						      "addresses", (json_int_t)count));
		log_warn("ipam: network %s: took over %llu addresses of removed node %s",
			 n->rec.name, (unsigned long long)count, id);
		snprintf(key, sizeof(key), "%s/%s", n->rec.ring, id);
		(void)drv_cluster_del(a, GT_KIND_IPREPORT, key);
	}
	/* Its endpoints' addresses are released everywhere with their entries. */
	drv_cluster_foreach(a, GT_KIND_EP, ep_scan_cb, &es);
	for (size_t i = 0; i < es.n; i++)
		released += drv_cluster_del(a, GT_KIND_EP, es.keys[i]) == 0;
	free(es.keys);
	txt = NULL;
	{
		json_t *o = json_pack("{s:s,s:I}", "name", name, "at", (json_int_t)time(NULL));

		txt = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(o);
	}
	if (txt)
		(void)drv_cluster_put(a, GT_KIND_RETIRED, id, NULL, (uint8_t *)txt, strlen(txt));
	log_warn("node %s (%s) removed: %zu endpoint(s) released", name, id, released);
	resp->body = json_pack("{s:s,s:s,s:o,s:I}", "node", name, "id", id, "networks", nets,
			       "endpoints_released", (json_int_t)released);
}

void ipamc_metrics(struct agent *a, FILE *f)
{
	struct ipamc *c = a->ipc;
	size_t conflicts = 0;

	for (size_t i = 0; i < a->nnets; i++)
		conflicts += a->nets[i].ic ? a->nets[i].ic->conflicts : 0;
	fprintf(f, "# HELP vxmesh_ipam_addresses Addresses of this host per network, by state.\n"
		   "# TYPE vxmesh_ipam_addresses gauge\n");
	for (size_t i = 0; i < a->nnets; i++) {
		uint64_t owned, fr, leased;
		const char *nm = a->nets[i].rec.name;

		ipamc_counts(a, &a->nets[i], &owned, &fr, &leased);
		fprintf(f,
			"vxmesh_ipam_addresses{network=\"%s\",state=\"owned\"} %llu\n"
			"vxmesh_ipam_addresses{network=\"%s\",state=\"free\"} %llu\n"
			"vxmesh_ipam_addresses{network=\"%s\",state=\"leased\"} %llu\n",
			nm, (unsigned long long)owned, nm, (unsigned long long)fr, nm,
			(unsigned long long)leased);
	}
	if (!c)
		return;
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
		c->space_asked, c->space_granted, c->space_none, c->space_given, c->ip_asked,
		c->ip_granted, c->ip_refused, c->ip_given, c->bad, conflicts);
}
