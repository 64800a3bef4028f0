/* SPDX-License-Identifier: MIT */
/*
 * sim_swim: N gossip/swim instances in one process on a simulated network.
 * A discrete-event loop (one heap of packet deliveries, stream requests and
 * replies, and per-instance timer wake-ups) with 1-5 ms latency, per-packet
 * loss and partitions (a group per node; traffic across groups is dropped,
 * streams across groups time out).  Deterministic for a given --seed.
 * Prints TAP; exits 1 when a check fails.
 *
 *   sim-sim_swim [--seed=N] [--big]   (--big adds the 10,000-node run)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "gossip/swim.h"
#include "common/heap.h"
#include "tests/sim/tap.h"

#define PORT	       7946
#define LAT_MIN	       1
#define LAT_MAX	       5
#define STREAM_TIMEOUT 10000 /* TCP connect across a partition */

enum ekind { E_TICK, E_PKT, E_SREQ, E_SREPLY, E_SFAIL };

struct event {
	struct heap_node hn;
	uint64_t t;
	enum ekind kind;
	uint32_t src, dst;
	uint64_t id;
	uint8_t *buf;
	size_t len;
};

struct node {
	struct swim *s;
	struct sim *sim;
	uint32_t idx;
	bool up;
	int group;
	uint64_t sched;	  /* earliest E_TICK queued for it */
	uint64_t user_at; /* first arrival of the test broadcast */
};

struct sim {
	struct node *nodes;
	size_t n;
	struct heap q; /* of struct event */
	uint64_t now, rng;
	double loss;
	uint64_t udp_bytes, udp_pkts;
	/* checks */
	uint32_t victim;     /* killed node, or UINT32_MAX */
	size_t false_failed; /* FAILED events about a running, reachable node */
	bool partitioned;
	uint8_t user_payload[8];
};

static uint64_t rnd(struct sim *sim)
{
	uint64_t z = (sim->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rnd_unit(struct sim *sim)
{
	return (double)(rnd(sim) >> 11) * 0x1.0p-53;
}

static struct in_addr node_addr(uint32_t i)
{
	struct in_addr a = {htonl(0x0a000001u + i)};

	return a;
}

static uint32_t addr_node(const struct sim *sim, struct in_addr a)
{
	uint32_t i = ntohl(a.s_addr) - 0x0a000001u;

	return i < sim->n ? i : UINT32_MAX;
}

static uint32_t name_node(const char *name)
{
	return (uint32_t)strtoul(name + 1, NULL, 10);
}

/* ---- event heap ---- */

#include "tests/sim/evq.h" /* after struct event and struct sim */

static uint64_t latency(struct sim *sim)
{
	return LAT_MIN + rnd(sim) % (LAT_MAX - LAT_MIN + 1);
}

static void resched(struct node *nd)
{
	uint64_t d;

	if (!nd->up)
		return;
	d = swim_next_deadline(nd->s);
	if (d < nd->sched) {
		struct event e = {
			.t = d < nd->sim->now ? nd->sim->now : d, .kind = E_TICK, .dst = nd->idx};

		nd->sched = e.t;
		ev_push(nd->sim, e);
	}
}

static bool reachable(const struct sim *sim, uint32_t a, uint32_t b)
{
	return sim->nodes[a].up && sim->nodes[b].up && sim->nodes[a].group == sim->nodes[b].group;
}

/* ---- swim ops ---- */

static void op_send(void *arg, struct in_addr dst, uint16_t port, const uint8_t *buf, size_t len)
{
	struct node *nd = arg;
	struct sim *sim = nd->sim;
	uint32_t d = addr_node(sim, dst);
	struct event e = {.kind = E_PKT, .src = nd->idx, .dst = d, .len = len};

	sim->udp_bytes += len;
	sim->udp_pkts++;
	if (d == UINT32_MAX || port != PORT || rnd_unit(sim) < sim->loss)
		return;
	e.t = sim->now + latency(sim);
	e.buf = malloc(len);
	if (!e.buf)
		abort();
	memcpy(e.buf, buf, len);
	ev_push(sim, e);
}

static void op_stream(void *arg, uint64_t id, struct in_addr dst, uint16_t port, const uint8_t *msg,
		      size_t len)
{
	struct node *nd = arg;
	struct sim *sim = nd->sim;
	struct event e = {.kind = E_SREQ,
			  .src = nd->idx,
			  .dst = addr_node(sim, dst),
			  .id = id,
			  .len = len,
			  .t = sim->now + latency(sim)};

	e.buf = malloc(len);
	if (!e.buf)
		abort();
	memcpy(e.buf, msg, len);
	ev_push(sim, e);
}

static void op_event(void *arg, enum swim_ev_type ev, const struct swim_member *m)
{
	struct node *nd = arg;
	struct sim *sim = nd->sim;
	uint32_t who = name_node(m->name);

	if (ev != SWIM_EV_FAILED || who >= sim->n || who == sim->victim)
		return;
	if (reachable(sim, nd->idx, who))
		sim->false_failed++;
}

static void op_user(void *arg, const uint8_t *buf, size_t len)
{
	struct node *nd = arg;

	/* memberlist does not relay user messages; its delegate does (Serf re-broadcasts
	 * user events it has not seen), so this one does too */
	if (len == sizeof(nd->sim->user_payload) && !memcmp(buf, nd->sim->user_payload, len) &&
	    !nd->user_at) {
		nd->user_at = nd->sim->now;
		if (swim_broadcast_user(nd->s, "evt", buf, len))
			abort();
	}
}

static const struct swim_ops sim_ops = {
	.send_packet = op_send,
	.send_stream = op_stream,
	.event = op_event,
	.user_msg = op_user,
};

/* ---- the loop ---- */

static int read_stream(const uint8_t *buf, size_t len, struct gw_stream **rd,
		       struct gw_stream_msg *m)
{
	if (gw_stream_create(rd, NULL))
		return -ENOMEM;
	if (gw_stream_feed(*rd, buf, len, m, NULL) != 1) {
		gw_stream_free(*rd);
		*rd = NULL;
		return -EBADMSG;
	}
	return 0;
}

static void deliver(struct sim *sim, struct event *e)
{
	struct node *dst = e->dst < sim->n ? &sim->nodes[e->dst] : NULL;
	struct gw_stream *rd = NULL;
	struct gw_stream_msg m;

	switch (e->kind) {
	case E_TICK:
		if (!dst->up || e->t != dst->sched)
			return;
		dst->sched = UINT64_MAX;
		swim_tick(dst->s, sim->now);
		break;
	case E_PKT:
		if (!reachable(sim, e->src, e->dst))
			return;
		swim_handle_packet(dst->s, sim->now, node_addr(e->src), PORT, e->buf, e->len);
		break;
	case E_SREQ: {
		struct event r = {.src = e->src, .dst = e->src, .id = e->id};
		uint8_t *reply = NULL;
		size_t rlen = 0;

		if (!dst || !reachable(sim, e->src, e->dst)) {
			/* refused at once by a stopped process, timed out across a partition */
			r.kind = E_SFAIL;
			r.t = sim->now + (dst && !dst->up ? latency(sim) : STREAM_TIMEOUT);
			ev_push(sim, r);
			return;
		}
		if (read_stream(e->buf, e->len, &rd, &m) == 0 &&
		    swim_handle_stream(dst->s, sim->now, &m, &reply, &rlen) == 0 && reply) {
			r.kind = E_SREPLY;
			r.buf = reply;
			r.len = rlen;
			r.src = e->dst;
		} else {
			free(reply);
			r.kind = E_SFAIL;
		}
		r.t = sim->now + latency(sim);
		ev_push(sim, r);
		gw_stream_free(rd);
		break;
	}
	case E_SREPLY: {
		struct node *req = &sim->nodes[e->dst];

		if (!req->up)
			return;
		if (!reachable(sim, e->src, e->dst) || read_stream(e->buf, e->len, &rd, &m)) {
			swim_stream_failed(req->s, sim->now, e->id);
		} else {
			swim_stream_done(req->s, sim->now, e->id, &m);
			gw_stream_free(rd);
		}
		dst = req;
		break;
	}
	case E_SFAIL:
		if (!dst->up)
			return;
		swim_stream_failed(dst->s, sim->now, e->id);
		break;
	}
	resched(dst);
}

/* Run until t_end, or until done() holds (checked every 100 ms of simulated time). */
static bool run_until(struct sim *sim, uint64_t t_end, bool (*done)(struct sim *))
{
	uint64_t next_check = sim->now;

	while (ev_next(sim)) {
		struct event e;

		if (ev_next(sim)->t >= next_check) {
			sim->now = next_check;
			if (done && done(sim))
				return true;
			next_check += 100;
		}
		if (ev_next(sim)->t > t_end)
			break;
		e = ev_pop(sim);
		sim->now = e.t;
		deliver(sim, &e);
		free(e.buf);
	}
	sim->now = t_end;
	return done ? done(sim) : true;
}

/* ---- setup ---- */

static void sim_init(struct sim *sim, size_t n, uint64_t seed, double loss)
{
	memset(sim, 0, sizeof(*sim));
	sim->n = n;
	sim->rng = seed;
	sim->loss = loss;
	sim->victim = UINT32_MAX;
	sim->nodes = calloc(n, sizeof(*sim->nodes));
	if (!sim->nodes)
		abort();
	memcpy(sim->user_payload, "\x80usrevt", 8);
}

static void node_start(struct sim *sim, uint32_t i)
{
	struct node *nd = &sim->nodes[i];
	struct swim_config c;

	swim_config_lan(&c);
	snprintf(c.name, sizeof(c.name), "n%05u", i);
	c.addr = node_addr(i);
	c.port = PORT;
	c.meta[0] = 0xff;
	c.meta[1] = 0x80;
	c.meta_len = 2;
	c.seed = rnd(sim);
	nd->sim = sim;
	nd->idx = i;
	nd->sched = UINT64_MAX;
	if (swim_create(&nd->s, &c, &sim_ops, nd, sim->now)) {
		fprintf(stderr, "swim_create failed\n");
		exit(2);
	}
	nd->up = true;
	resched(nd);
}

static void node_join(struct sim *sim, uint32_t i, uint32_t seed)
{
	struct in_addr a = node_addr(seed);
	uint16_t p = PORT;

	if (swim_join(sim->nodes[i].s, sim->now, &a, &p, 1)) {
		fprintf(stderr, "swim_join failed\n");
		exit(2);
	}
	resched(&sim->nodes[i]);
}

static void sim_fini(struct sim *sim)
{
	size_t i;

	for (i = 0; i < sim->n; i++)
		swim_destroy(sim->nodes[i].s);
	while (ev_next(sim))
		free(ev_pop(sim).buf);
	heap_fini(&sim->q);
	free(sim->nodes);
}

static size_t live_count(const struct sim *sim)
{
	size_t i, n = 0;

	for (i = 0; i < sim->n; i++)
		n += sim->nodes[i].up;
	return n;
}

static bool all_alive(struct sim *sim)
{
	size_t i, live = live_count(sim);

	for (i = 0; i < sim->n; i++)
		if (sim->nodes[i].up && swim_member_count(sim->nodes[i].s, GW_STATE_ALIVE) != live)
			return false;
	return true;
}

/* Start n nodes over `spread` ms, each joining one of `seeds` seeds; run to convergence. */
static bool cluster_form(struct sim *sim, size_t seeds, uint64_t spread, uint64_t bound,
			 uint64_t *took)
{
	uint32_t i;
	uint64_t start = sim->now;
	bool ok;

	for (i = 0; i < sim->n; i++) {
		uint64_t at = i < seeds ? start : start + rnd(sim) % spread;

		run_until(sim, at, NULL);
		node_start(sim, i);
		if (i > 0)
			node_join(sim, i, i < seeds ? 0 : (uint32_t)(rnd(sim) % seeds));
	}
	ok = run_until(sim, start + bound, all_alive);
	*took = sim->now - start;
	return ok;
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double steady_bytes(struct sim *sim, uint64_t window)
{
	uint64_t b0 = sim->udp_bytes;

	run_until(sim, sim->now + window, NULL);
	return (double)(sim->udp_bytes - b0) / (double)live_count(sim) / ((double)window / 1000.0);
}

/* ---- scenarios ---- */

static bool victim_dead_everywhere(struct sim *sim)
{
	char name[GW_NAME_MAX];
	size_t i;

	snprintf(name, sizeof(name), "n%05u", sim->victim);
	for (i = 0; i < sim->n; i++) {
		const struct swim_member *m;

		if (!sim->nodes[i].up)
			continue;
		m = swim_member_get(sim->nodes[i].s, name);
		if (m && m->state != GW_STATE_DEAD)
			return false;
	}
	return true;
}

static bool user_everywhere(struct sim *sim)
{
	size_t i;

	for (i = 0; i < sim->n; i++)
		if (sim->nodes[i].up && !sim->nodes[i].user_at)
			return false;
	return true;
}

/* 1, 2, 4 and the 1,000 line of 5 on one cluster. */
static void big_cluster(size_t n, uint64_t seed)
{
	struct sim sim;
	uint64_t took, t0;
	double w = wall(), bps;
	bool ok;
	size_t i;

	sim_init(&sim, n, seed, 0.01);
	ok = cluster_form(&sim, 3, 10000, 120000, &took);
	tap(ok,
	    "join: %zu nodes through 3 seeds, 1%% loss, all see %zu alive after %.1f s "
	    "(joins spread over 10 s; wall %.1f s)",
	    n, n, (double)took / 1000, wall() - w);
	bps = (double)sim.udp_bytes / (double)n / ((double)took / 1000);
	diag("size %zu: %.0f UDP bytes/node/s while joining", n, bps);

	/* 2: kill one node */
	sim.victim = (uint32_t)(n / 2 + 7);
	sim.false_failed = 0;
	sim.nodes[sim.victim].up = false;
	t0 = sim.now;
	w = wall();
	ok = run_until(&sim, t0 + 120000, victim_dead_everywhere);
	tap(ok, "failure: all %zu others declare the killed node dead after %.1f s (wall %.1f s)",
	    n - 1, (double)(sim.now - t0) / 1000, wall() - w);
	run_until(&sim, sim.now + 10000, NULL);
	tap(sim.false_failed == 0, "failure: %zu false FAILED events among live nodes at 1%% loss",
	    sim.false_failed);

	/* 4: a user broadcast */
	for (i = 0; i < n; i++)
		sim.nodes[i].user_at = 0;
	t0 = sim.now;
	ok = swim_broadcast_user(sim.nodes[0].s, "evt", sim.user_payload,
				 sizeof(sim.user_payload)) == 0;
	sim.nodes[0].user_at = t0;
	resched(&sim.nodes[0]);
	ok = ok && run_until(&sim, t0 + 30000, user_everywhere);
	tap(ok,
	    "broadcast: a user message reached all %zu live nodes in %.2f s (%.0f gossip rounds)",
	    n - 1, (double)(sim.now - t0) / 1000, (double)(sim.now - t0) / 200);
	run_until(&sim, sim.now + 20000, NULL);
	bps = steady_bytes(&sim, 10000);
	tap(bps > 0 && bps < 5000,
	    "size %zu: converged in %.1f s, %.0f gossip bytes/node/s "
	    "(UDP, steady state)",
	    n, (double)took / 1000, bps);
	sim_fini(&sim);
}

static bool sides_split(struct sim *sim)
{
	size_t i;

	for (i = 0; i < sim->n; i++)
		if (swim_member_count(sim->nodes[i].s, GW_STATE_DEAD) < sim->n / 2)
			return false;
	return true;
}

static void partition(size_t n, uint64_t seed)
{
	struct sim sim;
	uint64_t took, t0;
	struct swim_stats st;
	unsigned long long refutes = 0;
	size_t i;
	bool ok;

	sim_init(&sim, n, seed, 0.01);
	ok = cluster_form(&sim, 3, 5000, 120000, &took);
	tap(ok, "partition: %zu nodes formed in %.1f s", n, (double)took / 1000);
	for (i = 0; i < n; i++)
		sim.nodes[i].group = i % 2;
	sim.partitioned = true;
	t0 = sim.now;
	ok = run_until(&sim, t0 + 180000, sides_split);
	tap(ok, "partition: 50/50 split, each side declares the other %zu dead after %.1f s", n / 2,
	    (double)(sim.now - t0) / 1000);
	for (i = 0; i < n; i++)
		sim.nodes[i].group = 0;
	sim.partitioned = false;
	t0 = sim.now;
	ok = run_until(&sim, t0 + 300000, all_alive);
	for (i = 0; i < n; i++) {
		swim_stats_get(sim.nodes[i].s, &st);
		refutes += st.refutes;
	}
	tap(ok,
	    "partition: healed, all %zu nodes see %zu alive after %.1f s (reconnect push/pull "
	    "every %d s, %llu refutations)",
	    n, n, (double)(sim.now - t0) / 1000, 30, refutes);
	sim_fini(&sim);
}

static void size_only(size_t n, uint64_t seed)
{
	struct sim sim;
	uint64_t took;
	double w = wall(), bps;
	bool ok;

	sim_init(&sim, n, seed, 0.01);
	ok = cluster_form(&sim, 3, n >= 5000 ? 60000 : 5000, n >= 5000 ? 1800000 : 120000, &took);
	run_until(&sim, sim.now + 30000, NULL);
	bps = steady_bytes(&sim, 10000);
	tap(ok, "size %zu: converged in %.1f s, %.0f gossip bytes/node/s (wall %.1f s)", n,
	    (double)took / 1000, bps, wall() - w);
	sim_fini(&sim);
}

/* MemAvailable in bytes, 0 when unknown. */
static double mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	double kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/*
 * Every node holds every other: memory grows with n^2 (about 300 bytes per
 * pair at the join peak, measured at 1,000 and 2,000 nodes), and so does the
 * work.  A run the machine cannot hold fails with the reason rather than
 * swap or OOM (it is only ever asked for explicitly: --size, --big).
 */
static void size_guarded(size_t n, uint64_t seed)
{
	double need = 300.0 * (double)n * (double)n, have = mem_available();

	if (have && need > 0.8 * have) {
		tap(false, "size %zu not run: needs about %.0f GB, %.0f GB available", n,
		    need / 1e9, have / 1e9);
		return;
	}
	size_only(n, seed);
}

int main(int argc, char **argv)
{
	uint64_t seed = 1;
	unsigned long size = 0;
	bool big = false;
	double w = wall();
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--big"))
			big = true;
		else if (!strncmp(argv[i], "--seed=", 7))
			seed = strtoull(argv[i] + 7, NULL, 0);
		else if (!strncmp(argv[i], "--size=", 7))
			size = strtoul(argv[i] + 7, NULL, 0);
		else {
			fprintf(stderr, "usage: %s [--seed=N] [--big | --size=N]\n", argv[0]);
			return 2;
		}
	}
	printf("TAP version 13\n");
	if (size >= 2) {
		size_guarded(size, seed);
		printf("1..%d\n# wall %.1f s\n", tapn, wall() - w);
		return failures ? 1 : 0;
	}
	size_only(100, seed);
	big_cluster(1000, seed);
	partition(200, seed);
	if (big)
		size_guarded(10000, seed);
	printf("1..%d\n# wall %.1f s\n", tapn, wall() - w);
	return failures ? 1 : 0;
}
