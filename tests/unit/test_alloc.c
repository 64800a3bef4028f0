// SPDX-License-Identifier: MIT
/*
 * driver/alloc.c with fake peers: up to three hosts on one real rx_loop
 * with a fake clock.  Each host's replicated table is a real gossip/table.c
 * replica; "gossip" is sync() (merge one replica into another) and direct
 * messages are queued, then delivered by hand with deliver(), so a test
 * decides what arrives, when, and what is lost.  Membership is a settable
 * state per host.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/reactor.h"
#include "driver/alloc.h"
#include "driver/api.h"
#include "gossip/table.h"

#define NHOSTS 3
#define A      0
#define B      1
#define C      2
#define RING   "0123456789abcdef"
#define ANY    (-1)

struct msg {
	int from, to;
	int entry; /* a table entry (send_entry), else a user message */
	uint8_t kind;
	char key[GT_KEY_MAX];
	uint8_t *buf;
	size_t len;
};

struct host {
	int idx;
	char id[GT_ID_MAX], name[16];
	struct gt_table *tab;
	struct drv_alloc *al;
	struct drv_alloc_net *an;
	unsigned wakes;
};

static struct world {
	struct rx_loop *loop;
	uint64_t now;
	struct host h[NHOSTS];
	int state[NHOSTS]; /* as every host sees it: 1 alive, 0 dead, -1 unknown */
	struct msg *q;
	size_t nq;
	int fans_out;
} w;

/* ---- fake peers ---- */

static struct host *host_by_id(const char *id)
{
	for (int i = 0; i < NHOSTS; i++)
		if (!strcmp(w.h[i].id, id))
			return &w.h[i];
	return NULL;
}

static void change_cb(void *arg, const struct gt_entry *old, const struct gt_entry *cur)
{
	struct host *h = arg;

	/* As cluster.c: stored first, then handed over. */
	if (h->al && cur->kind >= GT_KIND_RING && cur->kind <= GT_KIND_RETIRED)
		drv_alloc_table_changed(h->al, cur);
}

static int f_put(void *arg, uint8_t kind, const char *key, const char *owner, uint8_t *value,
		 size_t len)
{
	struct host *h = arg;
	int ret;

	if (!value)
		return -ENOMEM;
	ret = gt_put(h->tab, kind, key, owner ? owner : h->id, value, len, w.now, NULL);
	free(value);
	return ret;
}

static int f_del(void *arg, uint8_t kind, const char *key)
{
	struct host *h = arg;

	return gt_del(h->tab, kind, key, w.now, NULL);
}

static const struct gt_entry *f_get(void *arg, uint8_t kind, const char *key)
{
	struct host *h = arg;

	return gt_get(h->tab, kind, key);
}

static void f_foreach(void *arg, uint8_t kind, gt_entry_cb cb, void *cbarg)
{
	struct host *h = arg;

	gt_foreach(h->tab, kind, 0, cb, cbarg);
}

static int queue(struct host *from, const char *id, const uint8_t *buf, size_t len, uint8_t kind,
		 const char *key)
{
	struct host *to = host_by_id(id);
	struct msg *m;

	if (!to || w.state[to->idx] < 0)
		return -ENOENT;
	if (w.state[to->idx] == 0)
		return -EHOSTDOWN;
	m = realloc(w.q, (w.nq + 1) * sizeof(*m));
	cr_assert(m);
	w.q = m;
	m = &w.q[w.nq++];
	memset(m, 0, sizeof(*m));
	m->from = from->idx;
	m->to = to->idx;
	if (key) {
		m->entry = 1;
		m->kind = kind;
		snprintf(m->key, sizeof(m->key), "%s", key);
	} else {
		m->buf = malloc(len);
		cr_assert(m->buf);
		memcpy(m->buf, buf, len);
		m->len = len;
	}
	return 0;
}

static int f_send(void *arg, const char *id, const uint8_t *msg, size_t len)
{
	return queue(arg, id, msg, len, 0, NULL);
}

static int f_send_entry(void *arg, const char *id, uint8_t kind, const char *key)
{
	return queue(arg, id, NULL, 0, kind, key);
}

static int f_fans_out(void *arg)
{
	return w.fans_out;
}

static int f_member_state(void *arg, const char *id, char *name, size_t len)
{
	struct host *self = arg, *h = host_by_id(id);
	int st = !h ? -1 : h == self ? 1 : w.state[h->idx];

	if (st >= 0 && name)
		snprintf(name, len, "%s", h->name);
	return st;
}

static int f_member_by_name(void *arg, const char *name, char *id, size_t len)
{
	struct host *self = arg;

	for (int i = 0; i < NHOSTS; i++)
		if (!strcmp(w.h[i].name, name) && (i == self->idx || w.state[i] >= 0)) {
			snprintf(id, len, "%s", w.h[i].id);
			return i == self->idx ? 1 : w.state[i];
		}
	return -1;
}

static int f_live_ids(void *arg, char (**ids)[GT_ID_MAX], size_t *n)
{
	struct host *self = arg;

	*ids = calloc(NHOSTS, GT_ID_MAX);
	*n = 0;
	if (!*ids)
		return -ENOMEM;
	for (int i = 0; i < NHOSTS; i++) /* ids are made sorted */
		if (i == self->idx || w.state[i] == 1)
			memcpy((*ids)[(*n)++], w.h[i].id, GT_ID_MAX);
	return 0;
}

static const struct drv_alloc_peers fake_peers = {
	.put = f_put,
	.del = f_del,
	.get = f_get,
	.foreach = f_foreach,
	.send = f_send,
	.send_entry = f_send_entry,
	.fans_out = f_fans_out,
	.member_state = f_member_state,
	.member_by_name = f_member_by_name,
	.live_ids = f_live_ids,
};

/* ---- the world ---- */

static uint64_t fake_clock(void *arg)
{
	return w.now;
}

static void wake_cb(void *arg)
{
	((struct host *)arg)->wakes++;
}

static void setup(void)
{
	memset(&w, 0, sizeof(w));
	w.now = 1000000;
	cr_assert_eq(rx_loop_create(&w.loop), 0);
	rx_loop_set_clock(w.loop, fake_clock, NULL);
	for (int i = 0; i < NHOSTS; i++) {
		struct host *h = &w.h[i];

		h->idx = i;
		memset(h->id, 'a' + i, 32);
		snprintf(h->name, sizeof(h->name), "host%c", 'A' + i);
		cr_assert_eq(gt_create(&h->tab, h->id, change_cb, h), 0);
		cr_assert_eq(drv_alloc_open(&h->al, w.loop, h->id, wake_cb, h), 0);
		drv_alloc_set_peers(h->al, &fake_peers, h);
		w.state[i] = 1;
	}
}

static void teardown(void)
{
	for (size_t i = 0; i < w.nq; i++)
		free(w.q[i].buf);
	free(w.q);
	for (int i = 0; i < NHOSTS; i++) {
		drv_alloc_net_close(w.h[i].al, w.h[i].an);
		drv_alloc_close(w.h[i].al);
		gt_destroy(w.h[i].tab);
	}
	rx_loop_destroy(w.loop);
}

TestSuite(alloc, .init = setup, .fini = teardown);

/* Run the loop's timers for ms of fake time, 10 ms at a time (and those a
 * timer armed to fire at once). */
static void advance(uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t += 10) {
		w.now += 10;
		for (int n = 0; rx_timers_run(w.loop) && n < 100; n++)
			;
	}
}

/* Deliver queued messages from -> to (ANY: every host), in order, until
 * none is left that matches; others stay queued.  How many. */
static unsigned deliver(int from, int to)
{
	unsigned count = 0;

	for (size_t i = 0; i < w.nq;) {
		struct msg m = w.q[i];

		if ((from != ANY && m.from != from) || (to != ANY && m.to != to)) {
			i++;
			continue;
		}
		memmove(&w.q[i], &w.q[i + 1], (w.nq - i - 1) * sizeof(m));
		w.nq--;
		if (m.entry) {
			const struct gt_entry *e = gt_get(w.h[m.from].tab, m.kind, m.key);

			if (e)
				(void)gt_merge(w.h[m.to].tab, e, w.now);
		} else {
			drv_alloc_user_msg(w.h[m.to].al, m.buf, m.len);
			free(m.buf);
		}
		count++;
		i = 0; /* an answer may have been queued before later matches */
	}
	return count;
}

static void drop_all(void)
{
	for (size_t i = 0; i < w.nq; i++)
		free(w.q[i].buf);
	w.nq = 0;
}

/* The next queued user message's type (0 when none). */
static uint8_t queued_type(int from, int to)
{
	for (size_t i = 0; i < w.nq; i++)
		if (!w.q[i].entry && w.q[i].from == from && w.q[i].to == to)
			return w.q[i].buf[0];
	return 0;
}

struct merge_ctx {
	struct gt_table *to;
};

static void merge_one_cb(void *arg, const struct gt_entry *e)
{
	(void)gt_merge(((struct merge_ctx *)arg)->to, e, w.now);
}

/* Gossip: merge every entry from's replica holds into to's. */
static void sync_tables(int from, int to)
{
	struct merge_ctx mc = {w.h[to].tab};

	for (uint8_t k = GT_KIND_NET; k <= GT_KIND_RETIRED; k++)
		gt_foreach(w.h[from].tab, k, 1, merge_one_cb, &mc);
}

static struct drv_net_rec net_rec(const char *name, const char *subnet, const char *gw,
				  const char *ring)
{
	struct drv_net_rec r = {.vni = 100};

	snprintf(r.name, sizeof(r.name), "%s", name);
	cr_assert_eq(addr_parse_prefix(subnet, 0, &r.subnet), 0);
	if (gw)
		cr_assert_eq(addr_parse_ip4(gw, &r.gw), 0);
	snprintf(r.ring, sizeof(r.ring), "%s", ring);
	return r;
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	cr_assert_eq(addr_parse_ip4(s, &a), 0, "%s", s);
	return a;
}

static void net_open(int i, const struct drv_net_rec *r)
{
	cr_assert_eq(drv_alloc_net_open(w.h[i].al, r, &w.h[i].an), 0);
}

/* Host A creates net 10.9.0.0/24 (gateway .1) with the whole space;
 * every other host learns it. */
static void cluster_net(void)
{
	struct drv_net_rec r = net_rec("blue", "10.9.0.0/24", "10.9.0.1", RING);

	net_open(A, &r);
	cr_assert_eq(drv_alloc_net_init_space(w.h[A].al, w.h[A].an), 0);
	for (int i = 1; i < NHOSTS; i++) {
		sync_tables(A, i);
		net_open(i, &r);
	}
}

static int lease(int i, const char *want, struct in_addr *out, char *why, size_t len)
{
	struct in_addr wa, got = {0}, *o = out ? out : &got;

	if (want)
		wa = ip(want);
	return drv_alloc_lease(w.h[i].al, w.h[i].an, want ? &wa : NULL, o, why, len);
}

static char *metrics(int i)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert(f);
	drv_alloc_metrics(w.h[i].al, f);
	fclose(f);
	return buf;
}

static unsigned long long metric(int i, const char *name)
{
	char *m = metrics(i), *p = strstr(m, name);
	unsigned long long v;

	cr_assert(p, "no %s in\n%s", name, m);
	cr_assert_eq(sscanf(p + strlen(name), " %llu", &v), 1);
	free(m);
	return v;
}

#define REFUSED	      "\nvxmesh_ipam_refused_total"
#define SPACE_ASKED   "vxmesh_ipam_requests_total{kind=\"space\",result=\"asked\"}"
#define SPACE_GIVEN   "vxmesh_ipam_requests_total{kind=\"space\",result=\"given\"}"
#define SPACE_GRANTED "vxmesh_ipam_requests_total{kind=\"space\",result=\"granted\"}"
#define IP_GIVEN      "vxmesh_ipam_requests_total{kind=\"address\",result=\"given\"}"
#define IP_REFUSED    "vxmesh_ipam_requests_total{kind=\"address\",result=\"refused\"}"

/* ---- networks ---- */

Test(alloc, networks_open_once_by_name_and_reopen_after_close)
{
	struct drv_net_rec r = net_rec("blue", "10.9.0.0/24", "10.9.0.1", RING);
	struct drv_net_rec plain = net_rec("plain", "10.8.0.0/29", NULL, "");
	struct drv_alloc_net *an, *again;
	struct drv_alloc_counts c;

	cr_assert_eq(drv_alloc_net_open(w.h[A].al, &r, &an), 0);
	cr_assert_eq(drv_alloc_net_open(w.h[A].al, &r, &again), -EEXIST);
	cr_assert_eq(drv_alloc_net_open(w.h[A].al, &plain, &w.h[A].an), 0);
	drv_alloc_counts(w.h[A].al, an, &c);
	cr_assert_eq(c.capacity, 253);
	cr_assert_eq(c.owned, 0, "no ownership entry yet");
	drv_alloc_counts(w.h[A].al, w.h[A].an, &c);
	cr_assert_eq(c.capacity, 6);
	cr_assert_eq(c.owned, 6, "a ring-less network is all this host's");
	drv_alloc_net_close(w.h[A].al, an);
	drv_alloc_net_close(w.h[A].al, NULL);
	cr_assert_eq(drv_alloc_net_open(w.h[A].al, &r, &an), 0);
	drv_alloc_net_close(w.h[A].al, an);
}

Test(alloc, networks_with_a_bad_subnet_or_gateway_are_refused)
{
	static const struct {
		const char *subnet, *gw;
		int ret;
	} cases[] = {
		{"10.9.0.0/31", NULL, -EINVAL},	      {"10.9.0.0/7", NULL, -EINVAL},
		{"10.9.0.1/24", NULL, -EINVAL},	      {"10.9.0.0/24", "10.9.1.1", -EDOM},
		{"10.9.0.0/24", "10.9.0.255", -EDOM}, {"10.9.0.0/24", "10.9.0.0", -EDOM},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct drv_net_rec r = {.vni = 1};
		struct drv_alloc_net *an = NULL;

		snprintf(r.name, sizeof(r.name), "n%zu", i);
		snprintf(r.ring, sizeof(r.ring), RING);
		cr_assert_eq(addr_parse_prefix(cases[i].subnet, 0, &r.subnet), 0);
		/* The parser clears host bits; a record could still carry them. */
		cr_assert_eq(
			inet_pton(AF_INET, strtok(strdupa(cases[i].subnet), "/"), &r.subnet.addr),
			1);
		if (cases[i].gw)
			r.gw = ip(cases[i].gw);
		cr_expect_eq(drv_alloc_net_open(w.h[A].al, &r, &an), cases[i].ret, "%s gw %s",
			     cases[i].subnet, cases[i].gw ? cases[i].gw : "-");
		cr_expect_null(an);
	}
}

Test(alloc, ring_ids_are_empty_or_sixteen_lowercase_hex_digits)
{
	char id[DRV_RING_ID_LEN + 1];

	cr_assert(drv_alloc_ring_id_ok(""));
	cr_assert(drv_alloc_ring_id_ok(RING));
	cr_assert_not(drv_alloc_ring_id_ok("0123456789ABCDEF"));
	cr_assert_not(drv_alloc_ring_id_ok("0123456789abcde"));
	cr_assert_eq(drv_alloc_ring_id_new(id), 0);
	cr_assert(drv_alloc_ring_id_ok(id) && id[0]);
}

/* ---- leasing ---- */

Test(alloc, creator_leases_its_whole_space_then_gets_enospc)
{
	struct drv_net_rec r = net_rec("small", "10.7.0.0/29", NULL, RING);
	struct in_addr got, seen[6];
	char why[512];

	w.state[B] = w.state[C] = -1; /* alone */
	net_open(A, &r);
	cr_assert_eq(drv_alloc_net_init_space(w.h[A].al, w.h[A].an), 0);
	for (int i = 0; i < 6; i++) {
		cr_assert_eq(lease(A, NULL, &got, why, sizeof(why)), 0, "lease %d: %s", i, why);
		for (int j = 0; j < i; j++)
			cr_assert_neq(seen[j].s_addr, got.s_addr, "handed out twice");
		seen[i] = got;
	}
	cr_assert_eq(lease(A, NULL, &got, why, sizeof(why)), -ENOSPC);
	cr_assert(strstr(why, "no free addresses in network small"), "%s", why);
	cr_assert_eq(w.nq, 0, "nobody to ask");
}

Test(alloc, ringless_network_leases_from_its_pool_until_enospc)
{
	struct drv_net_rec r = net_rec("plain", "10.8.0.0/30", NULL, "");
	struct drv_alloc_counts c;
	struct in_addr got;
	char why[256];

	net_open(A, &r);
	cr_assert_eq(lease(A, NULL, &got, why, sizeof(why)), 0);
	cr_assert_eq(lease(A, NULL, &got, why, sizeof(why)), 0);
	cr_assert_eq(lease(A, NULL, &got, why, sizeof(why)), -ENOSPC);
	drv_alloc_counts(w.h[A].al, w.h[A].an, &c);
	cr_assert_eq(c.leased, 2);
	cr_assert_eq(c.free, 0);
}

Test(alloc, specific_addresses_are_leased_once_and_only_when_usable)
{
	static const struct {
		const char *ip;
		int ret;
	} cases[] = {
		{"10.9.0.5", 0},
		{"10.9.0.5", -EADDRINUSE},
		{"10.9.1.5", -EDOM},
		{"10.9.0.0", -EADDRNOTAVAIL},
		{"10.9.0.255", -EADDRNOTAVAIL},
		{"10.9.0.1", -EADDRNOTAVAIL},
		{"10.9.0.254", 0},
	};
	struct in_addr got;
	char why[512];

	cluster_net();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		cr_expect_eq(lease(A, cases[i].ip, &got, why, sizeof(why)), cases[i].ret, "%s: %s",
			     cases[i].ip, why);
		if (!cases[i].ret)
			cr_expect_eq(got.s_addr, ip(cases[i].ip).s_addr);
		else
			cr_expect(strstr(why, cases[i].ip), "why names the address: %s", why);
	}
}

Test(alloc, host_without_space_asks_the_owner_and_leases_the_grant)
{
	struct drv_alloc_counts c;
	struct in_addr got;
	char why[512];

	cluster_net();
	cr_assert_eq(lease(B, NULL, &got, why, sizeof(why)), -EAGAIN);
	cr_assert(strstr(why, "waiting for host hostA to donate"), "%s", why);
	cr_assert_eq(queued_type(B, A), DRV_ALLOC_MSG_SPACE_REQ);
	cr_assert_eq(lease(B, NULL, &got, why, sizeof(why)), -EAGAIN, "one request at a time");
	cr_assert_eq(w.nq, 1);

	cr_assert_eq(deliver(B, A), 1);
	cr_assert_eq(queued_type(A, B), DRV_ALLOC_MSG_SPACE_ANS);
	cr_assert_eq(metric(A, SPACE_GIVEN), 1);
	w.h[B].wakes = 0;
	cr_assert_eq(deliver(A, B), 2, "the entry, then the answer");
	cr_assert_eq(w.h[B].wakes, 0, "never on the deliverer's stack");
	advance(10);
	cr_assert_geq(w.h[B].wakes, 1);
	cr_assert_eq(metric(B, SPACE_GRANTED), 1);

	cr_assert_eq(lease(B, NULL, &got, why, sizeof(why)), 0, "%s", why);
	cr_assert_geq(ntohl(got.s_addr), ntohl(ip("10.9.0.129").s_addr), "from the upper half");
	drv_alloc_counts(w.h[B].al, w.h[B].an, &c);
	cr_assert_eq(c.owned, 126);
	cr_assert_eq(c.leased, 1);
	drv_alloc_counts(w.h[A].al, w.h[A].an, &c);
	cr_assert_eq(c.owned, 254 - 126);
}

Test(alloc, wake_runs_from_the_loop_after_the_call_returns)
{
	cluster_net();
	cr_assert_eq(lease(B, NULL, NULL, (char[128]){0}, 128), -EAGAIN);
	deliver(B, A);
	w.h[B].wakes = 0;
	deliver(A, B);
	cr_assert_eq(w.h[B].wakes, 0);
	cr_assert_eq(rx_loop_run_once(w.loop, 0), 0);
	cr_assert_eq(w.h[B].wakes, 1, "several changes, one wake");
}

/* B wants A's 10.9.0.77: A answers with result, B's next try returns ret. */
static void ask_owner(const char *result, int ret, const char *why_part)
{
	struct in_addr got;
	char why[512];

	cr_assert_eq(lease(B, "10.9.0.77", &got, why, sizeof(why)), -EAGAIN);
	cr_assert(strstr(why, "waiting for host hostA, its owner"), "%s", why);
	cr_assert_eq(queued_type(B, A), DRV_ALLOC_MSG_IP_REQ);
	deliver(B, A);
	cr_assert_eq(queued_type(A, B), DRV_ALLOC_MSG_IP_ANS);
	w.h[B].wakes = 0;
	deliver(A, B);
	advance(10);
	cr_assert_geq(w.h[B].wakes, 1, "%s", result);
	why[0] = '\0';
	cr_assert_eq(lease(B, "10.9.0.77", &got, why, sizeof(why)), ret, "%s: %s", result, why);
	if (why_part)
		cr_assert(strstr(why, why_part), "%s: %s", result, why);
	if (!ret)
		cr_assert_eq(got.s_addr, ip("10.9.0.77").s_addr);
}

Test(alloc, address_request_granted_by_the_owner_is_leased)
{
	cluster_net();
	ask_owner("granted", 0, NULL);
	cr_assert_eq(metric(A, IP_GIVEN), 1);
	cr_assert(drv_alloc_is_taken(w.h[B].an, ip("10.9.0.77")));
}

Test(alloc, address_the_owner_has_leased_is_in_use)
{
	cluster_net();
	cr_assert_eq(lease(A, "10.9.0.77", NULL, (char[128]){0}, 128), 0);
	ask_owner("leased", -EADDRINUSE, "already in use on host hostA");
	cr_assert_eq(metric(B, IP_REFUSED), 1);
}

Test(alloc, owner_that_gave_the_address_away_answers_not_owner)
{
	char why[512];

	cluster_net();
	/* A gives space to C; B does not hear of it. */
	cr_assert_eq(lease(C, NULL, NULL, why, sizeof(why)), -EAGAIN);
	deliver(C, A);
	deliver(A, C);
	advance(10);
	cr_assert_eq(lease(C, "10.9.0.130", NULL, why, sizeof(why)), 0, "%s", why);
	/* B's view still says A owns .130. */
	cr_assert_eq(lease(B, "10.9.0.130", NULL, why, sizeof(why)), -EAGAIN);
	deliver(B, A);
	deliver(A, B);
	advance(10);
	cr_assert_eq(lease(B, "10.9.0.130", NULL, why, sizeof(why)), -EAGAIN);
	cr_assert(strstr(why, "no longer owns it"), "%s", why);
	/* The newer entry arrives: B asks the new owner, which has leased it. */
	sync_tables(C, B);
	cr_assert_eq(lease(B, "10.9.0.130", NULL, why, sizeof(why)), -EAGAIN, "%s", why);
	cr_assert(strstr(why, "waiting for host hostC, its owner"), "%s", why);
	deliver(B, C);
	deliver(C, B);
	cr_assert_eq(lease(B, "10.9.0.130", NULL, why, sizeof(why)), -EADDRINUSE, "%s", why);
	cr_assert(strstr(why, "in use on host hostC"), "%s", why);
}

Test(alloc, owner_that_is_not_alive_is_unreachable)
{
	static const struct {
		int state;
		const char *why;
	} cases[] = {{0, "unreachable (dead or left)"},
		     {-1, "unreachable (dead, or not a member)"}};

	cluster_net();
	for (size_t i = 0; i < 2; i++) {
		char why[512];

		w.state[A] = cases[i].state;
		cr_expect_eq(lease(B, "10.9.0.77", NULL, why, sizeof(why)), -EHOSTUNREACH);
		cr_expect(strstr(why, cases[i].why), "%s", why);
		cr_expect_eq(w.nq, 0);
	}
}

Test(alloc, unanswered_address_request_times_out_wakes_and_is_unreachable)
{
	char why[512];

	cluster_net();
	cr_assert_eq(lease(B, "10.9.0.77", NULL, why, sizeof(why)), -EAGAIN);
	drop_all();
	advance(1000);
	cr_assert_eq(lease(B, "10.9.0.77", NULL, why, sizeof(why)), -EAGAIN, "still waiting");
	w.h[B].wakes = 0;
	advance(600);
	cr_assert_geq(w.h[B].wakes, 1);
	cr_assert_eq(lease(B, "10.9.0.77", NULL, why, sizeof(why)), -EHOSTUNREACH);
	cr_assert(strstr(why, "did not answer"), "%s", why);
}

Test(alloc, unanswered_space_request_gives_up_wakes_and_is_enospc)
{
	char why[512];

	cluster_net();
	cr_assert_eq(lease(B, NULL, NULL, why, sizeof(why)), -EAGAIN);
	drop_all();
	w.h[B].wakes = 0;
	advance(1000);
	cr_assert_geq(w.h[B].wakes, 1);
	cr_assert_eq(w.nq, 0, "the only donor was asked already");
	cr_assert_eq(lease(B, NULL, NULL, why, sizeof(why)), -ENOSPC);
	cr_assert(strstr(why, "no reachable host could donate (1 asked)"), "%s", why);
	cr_assert_eq(metric(B, SPACE_ASKED), 1);
	advance(3000);
	cr_assert_eq(lease(B, NULL, NULL, why, sizeof(why)), -EAGAIN, "asks again later");
}

/* ---- taken sets ---- */

Test(alloc, other_hosts_addresses_held_here_are_never_handed_out)
{
	struct drv_net_rec r = net_rec("small", "10.7.0.0/29", NULL, RING);
	static const char *const held[] = {"10.7.0.1", "10.7.0.3", "10.7.0.4", "10.7.0.6"};
	struct in_addr got;
	char why[512];

	w.state[B] = w.state[C] = -1;
	net_open(A, &r);
	cr_assert_eq(drv_alloc_net_init_space(w.h[A].al, w.h[A].an), 0);
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(drv_alloc_hold(w.h[A].an, ip(held[i])), 0);
		cr_assert(drv_alloc_is_taken(w.h[A].an, ip(held[i])));
	}
	cr_assert_eq(drv_alloc_hold(w.h[A].an, ip("10.7.0.1")), -EADDRINUSE);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(lease(A, NULL, &got, why, sizeof(why)), 0);
		cr_assert(got.s_addr == ip("10.7.0.2").s_addr ||
				  got.s_addr == ip("10.7.0.5").s_addr,
			  "%s", inet_ntoa(got));
	}
	cr_assert_eq(lease(A, NULL, &got, why, sizeof(why)), -ENOSPC);
	cr_assert_eq(lease(A, "10.7.0.3", &got, why, sizeof(why)), -EADDRINUSE);
	cr_assert_eq(drv_alloc_hold(w.h[A].an, ip("10.7.0.2")), -EADDRINUSE, "a conflict");
	drv_alloc_release(w.h[A].al, w.h[A].an, ip("10.7.0.3")); /* not a local lease */
	cr_assert(drv_alloc_is_taken(w.h[A].an, ip("10.7.0.3")));
	drv_alloc_unhold(w.h[A].an, ip("10.7.0.2")); /* a local lease */
	cr_assert(drv_alloc_is_taken(w.h[A].an, ip("10.7.0.2")));
	drv_alloc_unhold(w.h[A].an, ip("10.7.0.3"));
	cr_assert_not(drv_alloc_is_taken(w.h[A].an, ip("10.7.0.3")));
	cr_assert_eq(lease(A, NULL, &got, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(got.s_addr, ip("10.7.0.3").s_addr);
}

Test(alloc, reserved_addresses_are_never_handed_out)
{
	struct drv_net_rec r = net_rec("plain", "10.8.0.0/30", NULL, "");
	struct in_addr got;
	char why[256];

	net_open(A, &r);
	cr_assert_eq(drv_alloc_reserve(w.h[A].an, ip("10.8.0.1")), 0);
	cr_assert_eq(lease(A, NULL, &got, why, sizeof(why)), 0);
	cr_assert_eq(got.s_addr, ip("10.8.0.2").s_addr);
	cr_assert_eq(lease(A, NULL, &got, why, sizeof(why)), -ENOSPC);
	cr_assert_eq(drv_alloc_reserve(w.h[A].an, ip("10.8.0.2")), -EADDRINUSE);
}

Test(alloc, restored_leases_are_counted_taken_and_released)
{
	struct drv_alloc_counts c;
	char why[512];

	cluster_net();
	cr_assert_eq(drv_alloc_lease_restore(w.h[A].al, w.h[A].an, ip("10.9.0.10")), 0);
	cr_assert_eq(drv_alloc_lease_restore(w.h[A].al, w.h[A].an, ip("10.9.0.11")), 0);
	cr_assert_eq(drv_alloc_lease_restore(w.h[A].al, w.h[A].an, ip("10.9.0.11")), -EADDRINUSE);
	cr_assert_eq(drv_alloc_lease_restore(w.h[A].al, w.h[A].an, ip("10.9.9.9")), -EDOM);
	cr_assert_eq(drv_alloc_lease_restore(w.h[A].al, w.h[A].an, ip("10.9.0.1")), -EADDRNOTAVAIL);
	drv_alloc_counts(w.h[A].al, w.h[A].an, &c);
	cr_assert_eq(c.leased, 2);
	cr_assert_eq(c.owned, 254, "the ring counts the gateway as owned");
	cr_assert_eq(lease(A, "10.9.0.10", NULL, why, sizeof(why)), -EADDRINUSE);
	drv_alloc_release(w.h[A].al, w.h[A].an, ip("10.9.0.10"));
	drv_alloc_release(w.h[A].al, w.h[A].an, ip("10.9.0.10")); /* unknown now: ignored */
	drv_alloc_counts(w.h[A].al, w.h[A].an, &c);
	cr_assert_eq(c.leased, 1);
	cr_assert_eq(lease(A, "10.9.0.10", NULL, why, sizeof(why)), 0, "%s", why);
}

/* ---- removal ---- */

static void retire(int remover, int who)
{
	uint8_t *v = (uint8_t *)strdup("{\"at\":1,\"name\":\"x\"}");

	cr_assert_eq(f_put(&w.h[remover], GT_KIND_RETIRED, w.h[who].id, NULL, v, strlen((char *)v)),
		     0);
}

Test(alloc, host_removed_with_node_rm_may_not_lease)
{
	char why[512];

	cluster_net();
	retire(A, C); /* someone else: no effect on A */
	cr_assert_eq(lease(A, NULL, NULL, why, sizeof(why)), 0);
	retire(A, A);
	cr_assert_eq(lease(A, NULL, NULL, why, sizeof(why)), -EPERM);
	cr_assert(strstr(why, "vxmesh node rm"), "%s", why);
}

Test(alloc, removed_host_asking_for_space_gets_none)
{
	char why[512];

	cluster_net();
	retire(A, B);
	cr_assert_eq(lease(B, NULL, NULL, why, sizeof(why)), -EAGAIN);
	deliver(B, A);
	cr_assert_eq(metric(A, SPACE_GIVEN), 0);
	cr_assert_eq(queued_type(A, B), DRV_ALLOC_MSG_SPACE_ANS);
	deliver(A, B);
	cr_assert_eq(lease(B, NULL, NULL, why, sizeof(why)), -ENOSPC, "%s", why);
}

/* ---- bad input ---- */

static void user_msg(int to, uint8_t type, const char *json)
{
	size_t len = strlen(json);
	uint8_t *buf = malloc(len + 1);

	cr_assert(buf);
	buf[0] = type;
	memcpy(buf + 1, json, len);
	drv_alloc_user_msg(w.h[to].al, buf, len + 1);
	free(buf);
}

Test(alloc, malformed_messages_are_counted_and_ignored)
{
	static const struct {
		uint8_t type;
		const char *json;
	} cases[] = {
		{0x81, ""},
		{0x81, "not json"},
		{0x81, "{\"seq\":1,\"from\":\"x\"}"},
		{0x81, "{\"ring\":\"nothex\",\"seq\":1}"},
		{0x81, "{\"ring\":\"" RING "\",\"seq\":\"1\"}"},
		{0x81, "{\"ring\":\"\",\"seq\":1}"},
		{0x81, "{\"ring\":\"" RING "\",\"seq\":1,\"from\":\"a/b\"}"},
		{0x81, "{\"ring\":\"" RING "\",\"seq\":1,\"ring\":\"" RING "\"}"},
		{0x83, "{\"ring\":\"" RING "\",\"seq\":1,\"from\":\"x\",\"ip\":\"10.9.0.300\"}"},
		{0x42, "{\"ring\":\"" RING "\",\"seq\":1}"},
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	struct drv_alloc_counts before, after;

	cluster_net();
	drv_alloc_counts(w.h[A].al, w.h[A].an, &before);
	for (size_t i = 0; i < n; i++)
		user_msg(A, cases[i].type, cases[i].json);
	drv_alloc_user_msg(w.h[A].al, (const uint8_t *)"", 0);
	cr_assert_eq(metric(A, REFUSED), n + 1);
	cr_assert_eq(w.nq, 0, "nothing answered");
	drv_alloc_counts(w.h[A].al, w.h[A].an, &after);
	cr_assert_eq(after.owned, before.owned);
	/* Well-formed, for a network A does not have: ignored, not counted. */
	user_msg(A, 0x81, "{\"ring\":\"fedcba9876543210\",\"seq\":1,\"from\":\"x\"}");
	cr_assert_eq(metric(A, REFUSED), n + 1);
}

Test(alloc, malformed_ownership_entries_are_counted_and_ignored)
{
	static const struct {
		const char *key, *owner, *value;
	} cases[] = {
		/* key and value disagree (start) */
		{RING "/bbbb/1/0a090001", "bbbb",
		 "{\"clock\":1,\"end\":\"10.9.0.255\",\"net\":\"blue\",\"origin\":\"bbbb\","
		 "\"owner\":\"bbbb\",\"start\":\"10.9.0.2\"}"},
		/* entry owner and table owner disagree */
		{RING "/bbbb/1/0a090001", "cccc",
		 "{\"clock\":1,\"end\":\"10.9.0.255\",\"net\":\"blue\",\"origin\":\"bbbb\","
		 "\"owner\":\"bbbb\",\"start\":\"10.9.0.1\"}"},
		/* empty range */
		{RING "/bbbb/1/0a090005", "bbbb",
		 "{\"clock\":1,\"end\":\"10.9.0.5\",\"net\":\"blue\",\"origin\":\"bbbb\","
		 "\"owner\":\"bbbb\",\"start\":\"10.9.0.5\"}"},
		/* clock 0 */
		{RING "/bbbb/0/0a090001", "bbbb",
		 "{\"clock\":0,\"end\":\"10.9.0.255\",\"net\":\"blue\",\"origin\":\"bbbb\","
		 "\"owner\":\"bbbb\",\"start\":\"10.9.0.1\"}"},
		/* outside the network's space */
		{RING "/bbbb/9/0a0a0001", "bbbb",
		 "{\"clock\":9,\"end\":\"10.10.0.9\",\"net\":\"blue\",\"origin\":\"bbbb\","
		 "\"owner\":\"bbbb\",\"start\":\"10.10.0.1\"}"},
		{RING "/bbbb/1/0a090001", "bbbb", "{"},
		{"short/bbbb/1/0a090001", "bbbb", "{}"},
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	struct drv_alloc_counts before, after;

	cluster_net();
	drv_alloc_counts(w.h[A].al, w.h[A].an, &before);
	for (size_t i = 0; i < n; i++) {
		struct gt_entry e = {.kind = GT_KIND_RING, .clock = 5};

		snprintf(e.key, sizeof(e.key), "%s", cases[i].key);
		snprintf(e.owner, sizeof(e.owner), "%s", cases[i].owner);
		snprintf(e.origin, sizeof(e.origin), "bbbb");
		e.value = (const uint8_t *)cases[i].value;
		e.value_len = strlen(cases[i].value);
		drv_alloc_table_changed(w.h[A].al, &e);
	}
	cr_assert_eq(metric(A, REFUSED), n);
	drv_alloc_counts(w.h[A].al, w.h[A].an, &after);
	cr_assert_eq(after.owned, before.owned);
	cr_assert_eq(after.owned, 254);
}

/* ---- output ---- */

Test(alloc, counts_metrics_and_reports_follow_local_leases)
{
	const struct gt_entry *rep;
	char key[GT_KEY_MAX], *m;
	json_t *o;

	cluster_net();
	for (int i = 0; i < 3; i++)
		cr_assert_eq(lease(A, NULL, NULL, (char[128]){0}, 128), 0);
	advance(1200);
	m = metrics(A);
	cr_assert(strstr(m, "vxmesh_ipam_addresses{network=\"blue\",state=\"owned\"} 254\n"), "%s",
		  m);
	cr_assert(strstr(m, "vxmesh_ipam_addresses{network=\"blue\",state=\"free\"} 250\n"), "%s",
		  m);
	cr_assert(strstr(m, "vxmesh_ipam_addresses{network=\"blue\",state=\"leased\"} 3\n"), "%s",
		  m);
	cr_assert(strstr(m, "\nvxmesh_ipam_conflicts 0\n"), "%s", m);
	free(m);
	snprintf(key, sizeof(key), "%s/%s", RING, w.h[A].id);
	rep = gt_get(w.h[A].tab, GT_KIND_IPREPORT, key);
	cr_assert(rep, "a report is published");
	o = json_loadb((const char *)rep->value, rep->value_len, 0, NULL);
	cr_assert(o);
	cr_assert_eq(json_integer_value(json_object_get(o, "leased")), 3);
	cr_assert_eq(json_integer_value(json_object_get(o, "free")), 250);
	cr_assert_str_eq(json_string_value(json_object_get(o, "host")), "hostA");
	json_decref(o);
}

Test(alloc, local_lease_in_another_hosts_space_is_a_conflict)
{
	char why[512];

	cluster_net();
	cr_assert_eq(lease(B, NULL, NULL, why, sizeof(why)), -EAGAIN);
	deliver(B, A);
	deliver(A, B);
	advance(10);
	/* A (wrongly) restores a lease in what it gave B. */
	cr_assert_eq(drv_alloc_lease_restore(w.h[A].al, w.h[A].an, ip("10.9.0.200")), 0);
	advance(400);
	cr_assert_eq(metric(A, "\nvxmesh_ipam_conflicts"), 1);
}

static json_t *call(int i, const char *method, const char *path, struct api_resp *resp)
{
	for (size_t r = 0; r < drv_alloc_nroutes; r++) {
		const struct api_route *rt = &drv_alloc_routes[r];
		size_t plen = strlen(rt->path);
		int prefix = rt->path[plen - 1] == '/';

		if (strcmp(rt->method, method) ||
		    (prefix ? strncmp(path, rt->path, plen) : strcmp(path, rt->path)))
			continue;
		if (prefix && !path[plen])
			continue;
		{
			struct api_req req = {
				.method = method, .path = path, .param = prefix ? path + plen : ""};

			memset(resp, 0, sizeof(*resp));
			rt->cb(w.h[i].al, &req, resp);
			return resp->body;
		}
	}
	cr_assert_fail("no route for %s %s", method, path);
	return NULL;
}

Test(alloc, ipam_view_lists_ranges_nodes_and_local_counts)
{
	struct api_resp resp;
	json_t *o, *n;

	cluster_net();
	cr_assert_eq(lease(B, NULL, NULL, (char[128]){0}, 128), -EAGAIN);
	deliver(B, A);
	deliver(A, B);
	advance(1200);
	sync_tables(B, A);
	cr_assert_eq(lease(A, NULL, NULL, (char[128]){0}, 128), 0);
	o = call(A, "GET", "/v1/ipam/blue", &resp);
	cr_assert(o);
	cr_assert_str_eq(json_string_value(json_object_get(o, "network")), "blue");
	cr_assert_str_eq(json_string_value(json_object_get(o, "subnet")), "10.9.0.0/24");
	cr_assert_str_eq(json_string_value(json_object_get(o, "ring")), RING);
	cr_assert_str_eq(json_string_value(json_object_get(o, "gateway")), "10.9.0.1");
	cr_assert(json_is_null(json_object_get(o, "asking")));
	n = json_object_get(o, "local");
	cr_assert_eq(json_integer_value(json_object_get(n, "leased")), 1);
	cr_assert_eq(json_array_size(json_object_get(o, "ranges")), 2);
	n = json_array_get(json_object_get(o, "ranges"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(n, "start")), "10.9.0.1");
	cr_assert_str_eq(json_string_value(json_object_get(n, "host")), "hostA");
	cr_assert_str_eq(json_string_value(json_object_get(n, "state")), "alive");
	cr_assert_eq(json_array_size(json_object_get(o, "nodes")), 2);
	n = json_array_get(json_object_get(o, "nodes"), 1);
	cr_assert_str_eq(json_string_value(json_object_get(n, "id")), w.h[B].id);
	cr_assert(json_is_integer(json_object_get(n, "free")), "from B's report");
	cr_assert_eq(json_integer_value(json_object_get(n, "leased")), 0);
	json_decref(o);

	o = call(A, "GET", "/v1/ipam", &resp);
	cr_assert_eq(json_array_size(json_object_get(o, "networks")), 1);
	json_decref(o);
	call(A, "GET", "/v1/ipam/nope", &resp);
	cr_assert_eq(resp.status, 404);
	json_decref(resp.body);
}

Test(alloc, node_rm_takes_over_a_dead_hosts_space_and_endpoints)
{
	static const struct {
		const char *name;
		int state;
		unsigned status;
	} refusals[] = {
		{"hostC", 1, 409}, /* alive */
		{"hostA", 1, 400}, /* this host */
		{"nobody", 1, 404},
	};
	struct api_resp resp;
	json_t *o;
	char key[GT_KEY_MAX];

	cluster_net();
	cr_assert_eq(lease(C, NULL, NULL, (char[128]){0}, 128), -EAGAIN);
	deliver(C, A);
	deliver(A, C);
	advance(10);
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		char path[64];

		w.state[C] = refusals[i].state;
		snprintf(path, sizeof(path), "/v1/nodes/%s", refusals[i].name);
		call(A, "DELETE", path, &resp);
		cr_expect_eq(resp.status, refusals[i].status, "%s", refusals[i].name);
		json_decref(resp.body);
	}
	for (int i = 0; i < 2; i++) {
		snprintf(key, sizeof(key), "ep%d", i);
		cr_assert_eq(gt_put(w.h[A].tab, GT_KIND_EP, key, w.h[C].id, (const uint8_t *)"{}",
				    2, w.now, NULL),
			     0);
	}
	w.state[C] = 0;
	o = call(A, "DELETE", "/v1/nodes/hostC", &resp);
	cr_assert(o, "status %u", resp.status);
	cr_assert_str_eq(json_string_value(json_object_get(o, "node")), "hostC");
	cr_assert_str_eq(json_string_value(json_object_get(o, "id")), w.h[C].id);
	cr_assert_eq(json_integer_value(json_object_get(o, "endpoints_released")), 2);
	cr_assert_eq(json_array_size(json_object_get(o, "networks")), 1);
	cr_assert_gt(json_integer_value(json_object_get(
			     json_array_get(json_object_get(o, "networks"), 0), "addresses")),
		     0);
	json_decref(o);
	cr_assert(gt_get(w.h[A].tab, GT_KIND_RETIRED, w.h[C].id));
	cr_assert_eq(gt_count(w.h[A].tab, GT_KIND_EP, 0), 0);
	{
		struct drv_alloc_counts c;

		drv_alloc_counts(w.h[A].al, w.h[A].an, &c);
		cr_assert_eq(c.owned, 254, "all space is A's again");
	}
}

Test(alloc, without_peers_the_allocator_works_alone)
{
	struct drv_net_rec r = net_rec("blue", "10.9.0.0/24", NULL, RING);
	struct drv_alloc_net *an;
	struct in_addr got;
	char why[256];

	drv_alloc_set_peers(w.h[A].al, NULL, NULL);
	cr_assert_eq(drv_alloc_net_open(w.h[A].al, &r, &an), 0);
	w.h[A].an = an;
	cr_assert_eq(drv_alloc_net_init_space(w.h[A].al, an), -ENOTCONN, "not stored");
	cr_assert_eq(lease(A, NULL, &got, why, sizeof(why)), 0, "%s", why);
	advance(1200);
}
