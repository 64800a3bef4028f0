/* SPDX-License-Identifier: MIT */
/*
 * sim_ipam: cluster-wide IPAM with N nodes in one process on a simulated
 * clock, running the product's code: each node has its ring (ipam/ring.c)
 * and its request broker (ipam/broker.c, with the agent's constants).  A
 * discrete-event loop carries the brokers' messages and granted entries
 * (1-10 ms latency, 1 % loss), gossip of ownership entries to every node
 * (50-500 ms, a lost copy arrives with the next push/pull 30-60 s later),
 * free-space reports (a snapshot every REPORT_EVERY ms, as the agent
 * publishes them) and each broker's tick (every IPAM_BROKER_TICK_MS while
 * it is busy).  One node creates the network; every other node starts at a
 * random time and leases addresses one by one through its broker, which
 * asks donors for space when it owns none free, and early below
 * IPAM_BROKER_LOW_WATER.  Deterministic for a given --seed.  Prints TAP;
 * exits 1 when a check fails.
 *
 *   sim-sim_ipam [--seed=N] [--nodes=N]
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipam/broker.h"
#include "ipam/ring.h"
#include "common/heap.h"
#include "tests/sim/tap.h"

#define LAT_MIN	       1
#define LAT_MAX	       10
#define GOSSIP_MIN     50
#define GOSSIP_MAX     500
#define REPORT_EVERY   1000 /* the agent's REPORT_MS */
#define DEFER_MS       5000 /* the API gives up on a deferred request (DRV_ALLOC_DEFER_MS) */
#define PARTITION_WAIT 1000

enum ekind { E_START, E_WANT, E_MSG, E_ENTRY, E_GOSSIP, E_REPORT, E_TICK };

struct event {
	struct heap_node hn;
	uint64_t t;
	uint32_t kind, src, dst, x; /* x: log index for E_ENTRY, E_GOSSIP; E_MSG: ip */
	uint8_t type, result;	    /* E_MSG */
	uint64_t seq;
	uint32_t hint; /* E_MSG: node index of the answer's hint, UINT32_MAX none */
};

struct sim;

struct node {
	char id[RING_ID_MAX];
	struct sim *sim;
	uint32_t idx;
	struct ring *r;
	struct ring_leases leases;
	struct ipam_broker *b;
	bool started, waiting;
	uint64_t wait_until;
	uint32_t want;	   /* addresses still to allocate */
	uint64_t tick_at;  /* the one E_WANT queued for it, 0 none */
	uint64_t btick_at; /* the one E_TICK queued for it, 0 none */
	uint32_t last_pub; /* log index of its latest publish() */
	uint64_t start_at, first_owned, done_at;
	uint32_t claim_ip; /* a specific address being asked for, 0 none */
	int group;
};

struct sim {
	struct node *nodes;
	size_t n;
	uint32_t first, end, gw;
	struct heap q; /* of struct event */
	uint64_t now, rng;
	double loss;
	struct ring_entry *log;
	size_t nlog, caplog;
	struct ring_report *reports;
	uint64_t msgs, lost, no_space, no_space_free, deferred_out;
	uint64_t claims_ok, claims_unreachable, claims_silent, claims_leased, claims_other;
	bool partitioned;
};

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p)
		abort();
	return p;
}

static uint64_t rnd(struct sim *sim)
{
	uint64_t z = (sim->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd_in(struct sim *sim, uint64_t lo, uint64_t hi)
{
	return lo + rnd(sim) % (hi - lo + 1);
}

static bool lost(struct sim *sim)
{
	return (double)(rnd(sim) >> 11) * 0x1.0p-53 < sim->loss;
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- event heap ---- */

#include "tests/sim/evq.h" /* after struct event and struct sim */

static void at(struct sim *sim, uint64_t t, uint32_t kind, uint32_t src, uint32_t dst, uint32_t x)
{
	struct event e = {.t = t, .kind = kind, .src = src, .dst = dst, .x = x};

	ev_push(sim, e);
}

/* ---- the brokers' world ---- */

static bool reachable(const struct sim *sim, uint32_t a, uint32_t b)
{
	return sim->nodes[a].group == sim->nodes[b].group;
}

static uint32_t node_of(const struct sim *sim, const char *id)
{
	unsigned long i = id[0] == 'n' ? strtoul(id + 1, NULL, 10) : ULONG_MAX;

	return i < sim->n ? (uint32_t)i : UINT32_MAX;
}

/* A point-to-point message: latency, loss. */
static void send_event(struct sim *sim, struct event e)
{
	sim->msgs++;
	if (lost(sim)) {
		sim->lost++;
		return;
	}
	e.t = sim->now + rnd_in(sim, LAT_MIN, LAT_MAX);
	ev_push(sim, e);
}

/* A write by node i: persisted (here: it is in its ring), then gossiped. */
static uint32_t publish(struct sim *sim, uint32_t i, const struct ring_entry *e)
{
	uint32_t idx;

	if (sim->nlog == sim->caplog) {
		sim->caplog = sim->caplog ? 2 * sim->caplog : 1024;
		sim->log = xrealloc(sim->log, sim->caplog * sizeof(*sim->log));
	}
	idx = (uint32_t)sim->nlog++;
	sim->log[idx] = *e;
	for (uint32_t k = 0; k < sim->n; k++) {
		uint64_t d = rnd_in(sim, GOSSIP_MIN, GOSSIP_MAX);

		if (k == i)
			continue;
		if (lost(sim))
			d = rnd_in(sim, 30000, 60000); /* the next push/pull */
		at(sim, sim->now + d, E_GOSSIP, i, k, idx);
	}
	return idx;
}

/* One broker tick queued per node while it is busy, as the agent's timer. */
static void btick(struct sim *sim, uint32_t i)
{
	struct node *nd = &sim->nodes[i];

	if (nd->btick_at > sim->now)
		return;
	nd->btick_at = sim->now + IPAM_BROKER_TICK_MS;
	at(sim, nd->btick_at, E_TICK, i, i, 0);
}

/* One allocation attempt queued per node: the earliest wins. */
static void tick(struct sim *sim, uint32_t i, uint64_t t)
{
	struct node *nd = &sim->nodes[i];

	if (nd->tick_at > sim->now && nd->tick_at <= t)
		return;
	nd->tick_at = t;
	at(sim, t, E_WANT, i, i, 0);
}

static void merge(struct sim *sim, uint32_t i, uint32_t idx)
{
	struct node *nd = &sim->nodes[i];
	int ret = ring_merge(nd->r, &sim->log[idx]);

	if (ret < 0)
		abort();
	if (!nd->first_owned && !strcmp(sim->log[idx].owner, nd->id) && ring_owned(nd->r, nd->id))
		nd->first_owned = sim->now ? sim->now : 1;
	if (ret == 1) {
		ipam_broker_ring_changed(nd->b);
		btick(sim, i);
	}
}

static int send_cb(void *arg, const char *to, const struct ipam_msg *m)
{
	struct node *nd = arg;
	uint32_t d = node_of(nd->sim, to);

	if (d == UINT32_MAX)
		return -ENOENT;
	send_event(nd->sim,
		   (struct event){.kind = E_MSG,
				  .src = nd->idx,
				  .dst = d,
				  .x = m->ip,
				  .type = (uint8_t)m->type,
				  .result = (uint8_t)m->result,
				  .seq = m->seq,
				  .hint = m->hint[0] ? node_of(nd->sim, m->hint) : UINT32_MAX});
	return 0;
}

static int publish_cb(void *arg, const struct ring_entry *e)
{
	struct node *nd = arg;

	nd->last_pub = publish(nd->sim, nd->idx, e);
	return 0;
}

/* The agent sends a grant straight to its new owner (gossip to 1,000 nodes
 * does not fan out to every member at once). */
static void send_entry_cb(void *arg, const char *to, const struct ring_entry *e)
{
	struct node *nd = arg;
	uint32_t d = node_of(nd->sim, to);

	if (d != UINT32_MAX)
		send_event(nd->sim,
			   (struct event){
				   .kind = E_ENTRY, .src = nd->idx, .dst = d, .x = nd->last_pub});
}

static void wake_cb(void *arg)
{
	struct node *nd = arg;

	if (nd->waiting)
		tick(nd->sim, nd->idx, nd->sim->now);
}

/* Members on the other side of a partition are dead in this one's view. */
static int member_state_cb(void *arg, const char *id)
{
	struct node *nd = arg;
	uint32_t o = node_of(nd->sim, id);

	return o == UINT32_MAX ? -1 : reachable(nd->sim, nd->idx, o);
}

static bool retired_cb(void *arg, const char *id)
{
	return false;
}

static void reports_cb(void *arg, ipam_broker_report_cb *cb, void *cbarg)
{
	struct sim *sim = ((struct node *)arg)->sim;

	for (size_t k = 0; k < sim->n; k++)
		if (sim->reports[k].free)
			cb(cbarg, &sim->reports[k]);
}

static const struct ipam_broker_ops broker_ops = {
	.send = send_cb,
	.publish = publish_cb,
	.send_entry = send_entry_cb,
	.wake = wake_cb,
	.member_state = member_state_cb,
	.retired = retired_cb,
	.reports = reports_cb,
};

/* ---- node behaviour ---- */

/* Free addresses in the network: what every node owns and has not leased. */
static uint64_t free_total(const struct sim *sim)
{
	uint64_t sum = 0;

	for (size_t k = 0; k < sim->n; k++)
		sum += ring_free(sim->nodes[k].r, &sim->nodes[k].leases);
	return sum;
}

/* Until the broker wakes the node, or the API's deferral runs out. */
static void wait(struct sim *sim, uint32_t i)
{
	struct node *nd = &sim->nodes[i];

	nd->waiting = true;
	nd->wait_until = sim->now + DEFER_MS;
	tick(sim, i, nd->wait_until);
}

/* A specific address through the broker: leased if owned, else its owner
 * is asked and the attempt repeated when the broker wakes the node. */
static void claim_try(struct sim *sim, uint32_t i)
{
	struct node *nd = &sim->nodes[i];
	struct ipam_broker_why_info why;
	uint32_t ip;
	int ret = ipam_broker_lease(nd->b, sim->now, &nd->claim_ip, &ip, &why);

	btick(sim, i);
	if (ret == -EAGAIN) {
		wait(sim, i);
		return;
	}
	if (ret == 0)
		sim->claims_ok++;
	else if (ret == -EHOSTUNREACH && why.why == IPAM_WHY_SILENT)
		sim->claims_silent++;
	else if (ret == -EHOSTUNREACH)
		sim->claims_unreachable++;
	else if (ret == -EADDRINUSE)
		sim->claims_leased++;
	else
		sim->claims_other++; /* leased here already */
	nd->claim_ip = 0;
}

static void claim(struct sim *sim, uint32_t i, uint32_t ip)
{
	struct node *nd = &sim->nodes[i];

	if (nd->claim_ip)
		return; /* one at a time */
	nd->claim_ip = ip;
	claim_try(sim, i);
}

/* One allocation every 20-50 ms (endpoints attaching), through the broker;
 * a lease that has to wait is tried again when the broker wakes the node
 * (or the API's deferral runs out), one that fails after the failure hold. */
static void want(struct sim *sim, uint32_t i)
{
	struct node *nd = &sim->nodes[i];
	uint32_t ip;
	int ret;

	if (nd->waiting && sim->now >= nd->wait_until)
		sim->deferred_out++;
	nd->waiting = false;
	if (nd->claim_ip)
		claim_try(sim, i);
	if (!nd->want)
		return;
	ret = ipam_broker_lease(nd->b, sim->now, NULL, &ip, NULL);
	btick(sim, i);
	if (ret == -EAGAIN) {
		wait(sim, i);
		return;
	}
	if (ret == -ENOSPC) {
		sim->no_space++;
		sim->no_space_free += free_total(sim) > 0;
		tick(sim, i, sim->now + IPAM_BROKER_FAIL_HOLD_MS);
		return;
	}
	if (ret)
		abort();
	if (!--nd->want) {
		nd->done_at = sim->now;
		return;
	}
	tick(sim, i, sim->now + rnd_in(sim, 20, 50));
}

static bool all_done(const struct sim *sim)
{
	for (size_t i = 0; i < sim->n; i++)
		if (sim->nodes[i].want)
			return false;
	return true;
}

static void deliver(struct sim *sim, const struct event *e)
{
	struct node *nd = &sim->nodes[e->dst];

	switch (e->kind) {
	case E_START:
		nd->started = true;
		nd->start_at = sim->now;
		want(sim, e->dst);
		break;
	case E_WANT:
		if (nd->started && e->t == nd->tick_at)
			want(sim, e->dst);
		break;
	case E_MSG: {
		struct ipam_msg m = {
			.type = e->type, .seq = e->seq, .ip = e->x, .result = e->result};

		if (!reachable(sim, e->src, e->dst))
			break;
		memcpy(m.from, sim->nodes[e->src].id, sizeof(m.from));
		if (e->hint != UINT32_MAX)
			memcpy(m.hint, sim->nodes[e->hint].id, sizeof(m.hint));
		ipam_broker_recv(nd->b, sim->now, &m);
		btick(sim, e->dst);
		break;
	}
	case E_ENTRY:
		if (reachable(sim, e->src, e->dst))
			merge(sim, e->dst, e->x);
		break;
	case E_GOSSIP:
		if (!reachable(sim, e->src, e->dst)) {
			at(sim, sim->now + PARTITION_WAIT, E_GOSSIP, e->src, e->dst, e->x);
			break;
		}
		merge(sim, e->dst, e->x);
		break;
	case E_TICK:
		if (e->t != nd->btick_at)
			break;
		nd->btick_at = 0;
		if (ipam_broker_tick(nd->b, sim->now))
			btick(sim, e->dst);
		break;
	case E_REPORT:
		for (size_t k = 0; k < sim->n; k++)
			sim->reports[k].free = ring_free(sim->nodes[k].r, &sim->nodes[k].leases);
		if (!all_done(sim))
			at(sim, sim->now + REPORT_EVERY, E_REPORT, 0, 0, 0);
		break;
	}
}

/* Run until t_end or until nothing is left to happen. */
static void run_until(struct sim *sim, uint64_t t_end)
{
	while (ev_next(sim) && ev_next(sim)->t <= t_end) {
		struct event e = ev_pop(sim);

		sim->now = e.t;
		deliver(sim, &e);
	}
	if (sim->now < t_end && ev_next(sim))
		sim->now = t_end;
}

/* ---- checks ---- */

/* No address self-owned by two nodes or leased by two; every lease in its
 * leaser's own space.  Returns the number of violations. */
static size_t violations(const struct sim *sim, size_t *leased)
{
	size_t space = sim->end - sim->first, bad = 0;
	uint8_t *own = calloc(space, 1), *lease = calloc(space, 1);

	if (!own || !lease)
		abort();
	*leased = 0;
	for (size_t i = 0; i < sim->n; i++) {
		const struct node *nd = &sim->nodes[i];
		struct ring_entry *map;
		size_t n;

		if (ring_map(nd->r, &map, &n))
			abort();
		for (size_t s = 0; s < n; s++) {
			if (strcmp(map[s].owner, nd->id))
				continue;
			for (uint32_t ip = map[s].start; ip < map[s].end; ip++)
				bad += own[ip - sim->first]++ > 0;
		}
		free(map);
		for (size_t k = 0; k < nd->leases.n; k++) {
			uint32_t ip = nd->leases.ip[k];
			char owner[RING_ID_MAX];

			if (ip == sim->gw)
				continue;
			bad += lease[ip - sim->first]++ > 0;
			bad += ring_owner(nd->r, ip, owner) || strcmp(owner, nd->id);
			(*leased)++;
		}
	}
	free(own);
	free(lease);
	return bad;
}

static bool converged(const struct sim *sim)
{
	uint8_t *ref, *got;
	size_t rl, gl;
	bool same = true;

	if (ring_encode(sim->nodes[0].r, &ref, &rl))
		abort();
	for (size_t i = 1; i < sim->n && same; i++) {
		if (ring_encode(sim->nodes[i].r, &got, &gl))
			abort();
		same = gl == rl && !memcmp(got, ref, rl);
		free(got);
	}
	free(ref);
	return same;
}

/* ---- setup ---- */

static void sim_init(struct sim *sim, size_t n, uint32_t net, uint8_t plen, uint64_t seed)
{
	struct ipam_broker_config cfg;
	struct ring_entry e;

	memset(sim, 0, sizeof(*sim));
	sim->n = n;
	sim->rng = seed;
	sim->loss = 0.01;
	sim->first = net + 1;
	sim->end = net | ~(UINT32_MAX << (32 - plen));
	sim->gw = sim->first;
	sim->nodes = calloc(n, sizeof(*sim->nodes));
	sim->reports = calloc(n, sizeof(*sim->reports));
	if (!sim->nodes || !sim->reports)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct node *nd = &sim->nodes[i];

		snprintf(nd->id, sizeof(nd->id), "n%05zu", i);
		strcpy(sim->reports[i].id, nd->id);
		if (ring_create(&nd->r, sim->first, sim->end, nd->id))
			abort();
		ring_leases_init(&nd->leases);
		if (ring_leases_add(&nd->leases, sim->gw)) /* the gateway, held out */
			abort();
		nd->sim = sim;
		nd->idx = (uint32_t)i;
		cfg = (struct ipam_broker_config){
			.ring = nd->r, .held = &nd->leases, .self = nd->id, .seed = rnd(sim)};
		if (ipam_broker_create(&nd->b, &cfg, &broker_ops, nd))
			abort();
	}
	/* Node 0 creates the network: one entry, the whole space. */
	if (ring_init_space(sim->nodes[0].r, &e))
		abort();
	sim->nodes[0].first_owned = 1;
	publish(sim, 0, &e);
	at(sim, 0, E_REPORT, 0, 0, 0);
}

static void sim_fini(struct sim *sim)
{
	for (size_t i = 0; i < sim->n; i++) {
		ipam_broker_destroy(sim->nodes[i].b);
		ring_destroy(sim->nodes[i].r);
		ring_leases_fini(&sim->nodes[i].leases);
	}
	free(sim->nodes);
	free(sim->reports);
	while (ev_next(sim))
		(void)ev_pop(sim);
	heap_fini(&sim->q);
	free(sim->log);
}

/* Nodes start over `spread` ms and each allocate `per` addresses. */
static void start_all(struct sim *sim, uint64_t spread, uint32_t per)
{
	for (uint32_t i = 0; i < sim->n; i++) {
		sim->nodes[i].want = per;
		at(sim, sim->now + rnd_in(sim, 0, spread), E_START, i, i, 0);
	}
}

/* When the last node first owned space, and finished its leases; the
 * longest and mean wait from a node's start to owning space. */
static void last_times(const struct sim *sim, uint64_t *owned, uint64_t *done, uint64_t *wait_max,
		       double *wait_mean)
{
	double sum = 0;

	*owned = *done = *wait_max = 0;
	for (size_t i = 0; i < sim->n; i++) {
		uint64_t wt = sim->nodes[i].first_owned > sim->nodes[i].start_at
				      ? sim->nodes[i].first_owned - sim->nodes[i].start_at
				      : 0;

		sum += (double)wt;
		if (wt > *wait_max)
			*wait_max = wt;
		if (sim->nodes[i].first_owned > *owned)
			*owned = sim->nodes[i].first_owned;
		if (sim->nodes[i].done_at > *done)
			*done = sim->nodes[i].done_at;
	}
	*wait_mean = sum / (double)sim->n;
}

/* The brokers' counters, summed. */
static struct ipam_broker_stats stats_sum(const struct sim *sim)
{
	struct ipam_broker_stats sum = {0}, st;

	for (size_t i = 0; i < sim->n; i++) {
		ipam_broker_stats_get(sim->nodes[i].b, &st);
		sum.space_asked += st.space_asked;
		sum.space_granted += st.space_granted;
		sum.space_none += st.space_none;
		sum.space_given += st.space_given;
		sum.ip_asked += st.ip_asked;
		sum.ip_granted += st.ip_granted;
		sum.ip_refused += st.ip_refused;
		sum.ip_given += st.ip_given;
	}
	return sum;
}

/* ---- scenarios ---- */

static void concurrent(size_t n, uint32_t per, uint64_t seed)
{
	struct sim sim;
	double w = wall();
	size_t bad, leased;
	uint64_t t_owned, t_done, wait_max, mid_bad = 0;
	struct ipam_broker_stats st;
	double wait_mean;

	sim_init(&sim, n, 0x0a010000u, 16, seed);
	start_all(&sim, 2000, per);
	/* Check the invariant along the way, once per simulated second. */
	for (uint64_t t = 1000; t <= 120000 && !all_done(&sim); t += 1000) {
		run_until(&sim, t);
		mid_bad += violations(&sim, &leased);
	}
	last_times(&sim, &t_owned, &t_done, &wait_max, &wait_mean);
	tap(all_done(&sim) && mid_bad == 0,
	    "concurrent: %zu nodes on a /16 each leased %u addresses (all starting within 2 s); "
	    "every node owned space %.2f s and had all its leases %.2f s after the network was "
	    "created (simulated; wall %.1f s)",
	    n, per, (double)t_owned / 1000, (double)t_done / 1000, wall() - w);
	diag("from a node's start to owning space: mean %.0f ms, max %" PRIu64 " ms", wait_mean,
	     wait_max);
	st = stats_sum(&sim);
	diag("%llu space requests, %llu donations, %llu refused (stale free reports); %" PRIu64
	     " leases failed with no donor, %" PRIu64 " waited past the API's %d ms; %" PRIu64
	     " messages, %" PRIu64 " lost",
	     st.space_asked, st.space_given, st.space_none, sim.no_space, sim.deferred_out,
	     DEFER_MS, sim.msgs, sim.lost);
	tap(sim.no_space_free == 0,
	    "concurrent: no lease failed with -ENOSPC while the network had free space (%" PRIu64
	    " did)",
	    sim.no_space_free);
	run_until(&sim, UINT64_MAX); /* every gossip copy, the late ones too */
	bad = violations(&sim, &leased);
	tap(bad == 0 && leased == n * per,
	    "concurrent: %zu leases, no address leased twice or owned by two nodes, every lease "
	    "in its leaser's own space (%zu violations, %" PRIu64 " during the run)",
	    leased, bad, mid_bad);
	tap(converged(&sim),
	    "concurrent: after gossip all %zu replicas hold identical entries (%zu)", n,
	    ring_entry_count(sim.nodes[0].r));
	sim_fini(&sim);
}

static void partition(size_t n, uint64_t seed)
{
	struct sim sim;
	size_t bad, leased;
	uint64_t t0;

	sim_init(&sim, n, 0x0a020000u, 20, seed);
	start_all(&sim, 1000, 5);
	run_until(&sim, 30000);
	tap(all_done(&sim), "partition: %zu nodes on a /20 leased 5 each before the split", n);
	for (size_t i = 0; i < n; i++)
		sim.nodes[i].group = (int)(i % 2);
	sim.partitioned = true;
	t0 = sim.now;
	/* Both sides allocate, and ask for specific addresses anywhere. */
	for (uint32_t i = 0; i < n; i++) {
		sim.nodes[i].want += 5;
		tick(&sim, i, t0 + rnd_in(&sim, 0, 1000));
	}
	at(&sim, t0, E_REPORT, 0, 0, 0);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = (uint32_t)rnd_in(&sim, 0, n - 1);

		run_until(&sim, sim.now + 5);
		claim(&sim, i, (uint32_t)rnd_in(&sim, sim.first + 1, sim.end - 1));
	}
	run_until(&sim, t0 + 20000);
	bad = violations(&sim, &leased);
	tap(bad == 0 && all_done(&sim),
	    "partition: both sides kept allocating from space they own, %zu leases, %zu "
	    "violations; specific addresses: %" PRIu64 " granted, %" PRIu64
	    " refused as the owner is on the other side",
	    leased, bad, sim.claims_ok, sim.claims_unreachable);
	diag("specific addresses also: %" PRIu64 " in use at their owner, %" PRIu64
	     " owner silent, %" PRIu64 " leased here already",
	     sim.claims_leased, sim.claims_silent, sim.claims_other);
	for (size_t i = 0; i < n; i++)
		sim.nodes[i].group = 0;
	sim.partitioned = false;
	run_until(&sim, UINT64_MAX);
	bad = violations(&sim, &leased);
	tap(bad == 0 && converged(&sim),
	    "partition: healed, replicas identical, %zu leases, no duplicates (%zu violations)",
	    leased, bad);
	sim_fini(&sim);
}

int main(int argc, char **argv)
{
	uint64_t seed = 1;
	unsigned long nodes = 1000;
	double w = wall();

	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--seed=", 7)) {
			seed = strtoull(argv[i] + 7, NULL, 0);
		} else if (!strncmp(argv[i], "--nodes=", 8)) {
			nodes = strtoul(argv[i] + 8, NULL, 0);
			if (nodes < 2 || nodes > 10000)
				nodes = 0;
		} else {
			nodes = 0;
		}
		if (!nodes) {
			fprintf(stderr, "usage: %s [--seed=N] [--nodes=2..10000]\n", argv[0]);
			return 2;
		}
	}
	printf("TAP version 13\n");
	concurrent(nodes, 40, seed);
	partition(200, seed);
	printf("1..%d\n# wall %.1f s\n", tapn, wall() - w);
	return failures ? 1 : 0;
}
