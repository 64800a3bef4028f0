// SPDX-License-Identifier: MIT
/*
 * Unit tests for ipam/broker.c: brokers of two to six nodes driven by hand
 * over a fake clock and a captured message queue.  Space requests granted,
 * refused and timed out, donor after donor until ASK_TRIES, the failure
 * hold; a granted answer waiting for its entry; address requests granted,
 * leased, not-owner and silent; stale and duplicate answers; who may be
 * given space; ask-ahead at LOW_WATER; a refusal's hint at another owner.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ipam/broker.h"
#include "ipam/ring.h"

#define NET24 0xc0000200u /* 192.0.2.0/24 */
#define FIRST (NET24 + 1)
#define END   (NET24 + 255)
#define GW    FIRST
#define MAXN  6
#define MAXQ  64
#define T     IPAM_BROKER_ASK_TIMEOUT_MS

struct node {
	char id[RING_ID_MAX];
	struct ring *r;
	struct ring_leases held;
	struct ipam_broker *b;
	int wakes, publish_err, state;
	bool retired;
	uint64_t report; /* free space it reports, 0 none */
	struct ring_entry pub[8], direct[8];
	size_t npub, ndirect;
};

struct sent {
	size_t from, to;
	struct ipam_msg m;
};

static struct node nodes[MAXN];
static size_t nn;
static struct sent q[MAXQ];
static size_t nq;
static uint64_t now = 1000;

static size_t idx(const char *id)
{
	for (size_t i = 0; i < nn; i++)
		if (!strcmp(nodes[i].id, id))
			return i;
	return SIZE_MAX;
}

static int send_cb(void *arg, const char *to, const struct ipam_msg *m)
{
	struct node *n = arg;
	size_t t = idx(to);

	if (t == SIZE_MAX)
		return -ENOENT;
	cr_assert_lt(nq, MAXQ);
	q[nq++] = (struct sent){.from = (size_t)(n - nodes), .to = t, .m = *m};
	return 0;
}

static int publish_cb(void *arg, const struct ring_entry *e)
{
	struct node *n = arg;

	if (n->publish_err)
		return n->publish_err;
	cr_assert_lt(n->npub, 8);
	n->pub[n->npub++] = *e;
	return 0;
}

static void send_entry_cb(void *arg, const char *to, const struct ring_entry *e)
{
	struct node *n = arg;

	cr_assert_str_eq(to, e->owner);
	cr_assert_lt(n->ndirect, 8);
	n->direct[n->ndirect++] = *e;
}

static void wake_cb(void *arg)
{
	((struct node *)arg)->wakes++;
}

static int member_state_cb(void *arg, const char *id)
{
	size_t i = idx(id);

	return i == SIZE_MAX ? -1 : nodes[i].state;
}

static bool retired_cb(void *arg, const char *id)
{
	size_t i = idx(id);

	return i != SIZE_MAX && nodes[i].retired;
}

static void reports_cb(void *arg, ipam_broker_report_cb *cb, void *cbarg)
{
	for (size_t i = 0; i < nn; i++) {
		struct ring_report rep = {.free = nodes[i].report};

		memcpy(rep.id, nodes[i].id, sizeof(rep.id));
		if (rep.free)
			cb(cbarg, &rep);
	}
}

static const struct ipam_broker_ops ops = {
	.send = send_cb,
	.publish = publish_cb,
	.send_entry = send_entry_cb,
	.wake = wake_cb,
	.member_state = member_state_cb,
	.retired = retired_cb,
	.reports = reports_cb,
};

/* n nodes "A", "B", ...; A created the network and every node knows it. */
static void world(size_t n)
{
	struct ring_entry e;

	nn = n;
	for (size_t i = 0; i < n; i++) {
		struct node *nd = &nodes[i];
		struct ipam_broker_config cfg = {.self = nd->id, .seed = i + 1};

		snprintf(nd->id, sizeof(nd->id), "%c", (char)('A' + i));
		nd->state = 1;
		cr_assert_eq(ring_create(&nd->r, FIRST, END, nd->id), 0);
		ring_leases_init(&nd->held);
		cr_assert_eq(ring_leases_add(&nd->held, GW), 0);
		cfg.ring = nd->r;
		cfg.held = &nd->held;
		cr_assert_eq(ipam_broker_create(&nd->b, &cfg, &ops, nd), 0);
	}
	cr_assert_eq(ring_init_space(nodes[0].r, &e), 0);
	for (size_t i = 1; i < n; i++)
		cr_assert_eq(ring_merge(nodes[i].r, &e), 1);
}

static void world_fini(void)
{
	for (size_t i = 0; i < nn; i++) {
		ipam_broker_destroy(nodes[i].b);
		ring_destroy(nodes[i].r);
		ring_leases_fini(&nodes[i].held);
	}
}

/* The oldest queued message, removed from the queue. */
static struct sent pop(void)
{
	struct sent s;

	cr_assert_gt(nq, 0, "no message queued");
	s = q[0];
	memmove(q, q + 1, --nq * sizeof(q[0]));
	return s;
}

/* Pop a message, checking its type and ends. */
static struct sent expect(enum ipam_msg_type type, size_t from, size_t to)
{
	struct sent s = pop();

	cr_assert_eq(s.m.type, type, "type %#x, want %#x", s.m.type, type);
	cr_assert_eq(s.from, from, "from %zu, want %zu", s.from, from);
	cr_assert_eq(s.to, to, "to %zu, want %zu", s.to, to);
	return s;
}

static void deliver(const struct sent *s)
{
	ipam_broker_recv(nodes[s->to].b, now, &s->m);
}

/* Deliver every queued message, and those they cause. */
static void deliver_all(void)
{
	while (nq) {
		struct sent s = pop();

		deliver(&s);
	}
}

/* Merge what node `from` published into node `to` (gossip). */
static void gossip(size_t from, size_t to)
{
	int changed = 0;

	for (size_t i = 0; i < nodes[from].npub; i++)
		changed |= ring_merge(nodes[to].r, &nodes[from].pub[i]) == 1;
	if (changed)
		ipam_broker_ring_changed(nodes[to].b);
}

static int lease(size_t i, uint32_t *ip, struct ipam_broker_why_info *w)
{
	return ipam_broker_lease(nodes[i].b, now, NULL, ip, w);
}

static int lease_ip(size_t i, uint32_t want, struct ipam_broker_why_info *w)
{
	uint32_t out = 0;
	int ret = ipam_broker_lease(nodes[i].b, now, &want, &out, w);

	if (!ret)
		cr_assert_eq(out, want);
	return ret;
}

static struct ipam_broker_stats stats(size_t i)
{
	struct ipam_broker_stats st;

	ipam_broker_stats_get(nodes[i].b, &st);
	return st;
}

TestSuite(broker, .fini = world_fini);

/* ---- space requests ---- */

Test(broker, a_host_without_space_asks_the_owner_and_leases_once_the_grant_arrives)
{
	struct ipam_broker_why_info w;
	struct sent s;
	uint32_t ip;

	world(2);
	cr_assert_eq(lease(1, &ip, &w), -EAGAIN);
	cr_assert_eq(w.why, IPAM_WHY_ASKING_SPACE);
	cr_assert_str_eq(w.peer, "A");
	cr_assert_str_eq(ipam_broker_asking(nodes[1].b), "A");
	s = expect(IPAM_MSG_SPACE_REQ, 1, 0);
	cr_assert_str_eq(s.m.from, "B");
	deliver(&s);
	/* The donor stored its grant, sent it straight to B, then answered. */
	cr_assert_eq(nodes[0].npub, 1);
	cr_assert_eq(nodes[0].ndirect, 1);
	cr_assert_str_eq(nodes[0].pub[0].owner, "B");
	s = expect(IPAM_MSG_SPACE_ANS, 0, 1);
	cr_assert_eq(s.m.result, IPAM_RES_GRANTED);
	deliver(&s);
	cr_assert_eq(lease(1, &ip, NULL), -EAGAIN, "the answer alone gives no space");
	cr_assert_eq(nq, 0, "still one request");
	gossip(0, 1);
	cr_assert_gt(nodes[1].wakes, 0);
	cr_assert_null(ipam_broker_asking(nodes[1].b));
	cr_assert_eq(lease(1, &ip, &w), 0);
	cr_assert_eq(w.why, IPAM_WHY_OK);
	cr_assert_geq(ip, nodes[0].pub[0].start);
	cr_assert_lt(ip, nodes[0].pub[0].end);
	cr_assert_eq(stats(1).space_asked, 1);
	cr_assert_eq(stats(1).space_granted, 1);
	cr_assert_eq(stats(0).space_given, 1);
}

Test(broker, a_donor_with_nothing_answers_none_and_the_next_donor_is_asked)
{
	struct sent s;
	uint32_t ip;

	world(3);
	nodes[1].report = 100; /* stale: B owns nothing */
	cr_assert_eq(lease(2, &ip, NULL), -EAGAIN);
	s = expect(IPAM_MSG_SPACE_REQ, 2, 1);
	deliver(&s);
	s = expect(IPAM_MSG_SPACE_ANS, 1, 2);
	cr_assert_eq(s.m.result, IPAM_RES_NONE);
	deliver(&s);
	/* B is not asked again in this search, though it still reports space. */
	expect(IPAM_MSG_SPACE_REQ, 2, 0);
	cr_assert_str_eq(ipam_broker_asking(nodes[2].b), "A");
	cr_assert_eq(stats(2).space_none, 1);
	cr_assert_eq(stats(2).space_asked, 2);
}

Test(broker, a_donor_out_of_space_names_the_owner_it_gave_space_to_and_that_one_is_asked)
{
	struct sent s;
	uint32_t ip;

	world(3);
	/* B gets half of A's space; C has not heard of it yet. */
	cr_assert_eq(lease(1, &ip, NULL), -EAGAIN);
	deliver_all();
	gossip(0, 1);
	/* A may not donate any more: its "none" names B, which C asks next
	 * although its own view shows only A as an owner. */
	nodes[0].retired = true;
	nodes[0].report = 100;
	cr_assert_eq(lease(2, &ip, NULL), -EAGAIN);
	s = expect(IPAM_MSG_SPACE_REQ, 2, 0);
	deliver(&s);
	s = expect(IPAM_MSG_SPACE_ANS, 0, 2);
	cr_assert_eq(s.m.result, IPAM_RES_NONE);
	cr_assert_str_eq(s.m.hint, "B");
	deliver(&s);
	s = expect(IPAM_MSG_SPACE_REQ, 2, 1);
	deliver(&s);
	s = expect(IPAM_MSG_SPACE_ANS, 1, 2);
	cr_assert_eq(s.m.result, IPAM_RES_GRANTED);
}

Test(broker, a_none_names_no_host_but_the_asker_or_the_refuser_itself)
{
	struct sent s;
	uint32_t ip;

	world(2);
	nodes[0].retired = true; /* A refuses; the only other owner would be B */
	cr_assert_eq(lease(1, &ip, NULL), -EAGAIN);
	s = expect(IPAM_MSG_SPACE_REQ, 1, 0);
	deliver(&s);
	s = expect(IPAM_MSG_SPACE_ANS, 0, 1);
	cr_assert_eq(s.m.result, IPAM_RES_NONE);
	cr_assert_str_eq(s.m.hint, "");
}

Test(broker, a_silent_donor_times_out_after_ask_timeout_and_the_next_is_asked)
{
	uint32_t ip;

	world(3);
	nodes[1].report = 100;
	cr_assert_eq(lease(2, &ip, NULL), -EAGAIN);
	expect(IPAM_MSG_SPACE_REQ, 2, 1); /* lost */
	now += T;
	cr_assert(ipam_broker_tick(nodes[2].b, now), "busy while asking");
	cr_assert_eq(nq, 0, "not before the deadline has passed");
	now += 1;
	ipam_broker_tick(nodes[2].b, now);
	expect(IPAM_MSG_SPACE_REQ, 2, 0);
}

Test(broker, after_ask_tries_silent_donors_the_search_fails_and_is_held)
{
	struct ipam_broker_why_info w;
	uint32_t ip;

	world(6);
	for (size_t i = 1; i < 5; i++)
		nodes[i].report = 10 * i;
	cr_assert_eq(lease(5, &ip, NULL), -EAGAIN);
	for (unsigned k = 0; k < IPAM_BROKER_ASK_TRIES; k++) {
		struct sent s = pop();

		cr_assert_eq(s.m.type, IPAM_MSG_SPACE_REQ);
		cr_assert(s.to >= 1 && s.to <= 4, "asked %zu", s.to);
		now += T + 1;
		ipam_broker_tick(nodes[5].b, now);
	}
	cr_assert_eq(nq, 0, "tries used up: A, reporting nothing, is not asked");
	cr_assert_gt(nodes[5].wakes, 0, "waiting callers learn of the failure");
	cr_assert_null(ipam_broker_asking(nodes[5].b));
	cr_assert(!ipam_broker_tick(nodes[5].b, now));
	cr_assert_eq(lease(5, &ip, &w), -ENOSPC);
	cr_assert_eq(w.why, IPAM_WHY_NO_DONOR);
	cr_assert_eq(w.tries, IPAM_BROKER_ASK_TRIES);
	now += IPAM_BROKER_FAIL_HOLD_MS - 1;
	cr_assert_eq(lease(5, &ip, NULL), -ENOSPC);
	cr_assert_eq(nq, 0, "held: nobody asked");
	now += 1;
	cr_assert_eq(lease(5, &ip, NULL), -EAGAIN, "a new search after the hold");
	cr_assert_eq(pop().m.type, IPAM_MSG_SPACE_REQ);
	cr_assert_eq(stats(5).space_asked, IPAM_BROKER_ASK_TRIES + 1);
}

Test(broker, a_granted_answer_holds_the_search_three_timeouts_for_the_entry)
{
	uint32_t ip;

	world(2);
	cr_assert_eq(lease(1, &ip, NULL), -EAGAIN);
	deliver_all(); /* request, grant (entry withheld), answer */
	now += T + 1;
	ipam_broker_tick(nodes[1].b, now);
	cr_assert_eq(nq, 0);
	cr_assert_str_eq(ipam_broker_asking(nodes[1].b), "A");
	now = now - T - 1 + 3 * T + 1;
	ipam_broker_tick(nodes[1].b, now);
	/* A counts as refused now; nobody else can donate: the search fails. */
	cr_assert_null(ipam_broker_asking(nodes[1].b));
	cr_assert_eq(lease(1, &ip, NULL), -ENOSPC);
	/* The entry arrives late: it is space all the same. */
	gossip(0, 1);
	cr_assert_eq(lease(1, &ip, NULL), 0);
}

Test(broker, space_arriving_by_gossip_ends_the_search_and_the_late_answer_is_only_counted)
{
	struct sent req, ans;
	uint32_t ip;

	world(2);
	cr_assert_eq(lease(1, &ip, NULL), -EAGAIN);
	req = pop();
	deliver(&req);
	ans = pop();
	gossip(0, 1);
	cr_assert_null(ipam_broker_asking(nodes[1].b));
	deliver(&ans);
	cr_assert_null(ipam_broker_asking(nodes[1].b));
	cr_assert_eq(stats(1).space_granted, 1);
	cr_assert_eq(nq, 0);
}

/* ---- stale and duplicate answers ---- */

Test(broker, space_answers_with_another_seq_or_a_second_answer_are_ignored)
{
	struct sent req, ans, stale;
	uint32_t ip;

	world(3);
	nodes[1].report = 100;
	cr_assert_eq(lease(2, &ip, NULL), -EAGAIN);
	req = expect(IPAM_MSG_SPACE_REQ, 2, 1);
	stale = (struct sent){
		.from = 1,
		.to = 2,
		.m = {.type = IPAM_MSG_SPACE_ANS, .seq = req.m.seq + 1, .result = IPAM_RES_NONE}};
	deliver(&stale);
	stale.m.seq = req.m.seq - 1;
	deliver(&stale);
	stale.m.seq = req.m.seq;
	stale.m.result = IPAM_RES_ABSENT;
	deliver(&stale);
	cr_assert_eq(nq, 0, "no next donor");
	cr_assert_str_eq(ipam_broker_asking(nodes[2].b), "B");
	ans = (struct sent){
		.from = 1,
		.to = 2,
		.m = {.type = IPAM_MSG_SPACE_ANS, .seq = req.m.seq, .result = IPAM_RES_GRANTED}};
	deliver(&ans);
	ans.m.result = IPAM_RES_NONE; /* one answer per request */
	deliver(&ans);
	deliver(&ans);
	cr_assert_eq(nq, 0);
	cr_assert_str_eq(ipam_broker_asking(nodes[2].b), "B");
	cr_assert_eq(stats(2).space_granted, 1);
	cr_assert_eq(stats(2).space_none, 0);
}

Test(broker, address_answers_with_another_seq_or_a_second_answer_are_ignored)
{
	struct ipam_broker_why_info w;
	uint32_t x = NET24 + 10;
	struct sent req, ans;

	world(2);
	cr_assert_eq(lease_ip(1, x, NULL), -EAGAIN);
	req = expect(IPAM_MSG_IP_REQ, 1, 0);
	ans = (struct sent){.from = 0,
			    .to = 1,
			    .m = {.type = IPAM_MSG_IP_ANS,
				  .seq = req.m.seq + 7,
				  .ip = x,
				  .result = IPAM_RES_LEASED}};
	deliver(&ans);
	ans.m.seq = req.m.seq;
	ans.m.ip = x + 1;
	deliver(&ans);
	cr_assert_eq(lease_ip(1, x, &w), -EAGAIN);
	cr_assert_eq(w.why, IPAM_WHY_ASKING_OWNER, "still waiting (why %d)", w.why);
	ans.m.ip = x;
	ans.m.result = IPAM_RES_GRANTED;
	deliver(&ans);
	ans.m.result = IPAM_RES_LEASED;
	deliver(&ans);
	cr_assert_eq(lease_ip(1, x, &w), -EAGAIN);
	cr_assert_eq(w.why, IPAM_WHY_ASKING_OWNER);
	cr_assert_eq(stats(1).ip_granted, 1);
	cr_assert_eq(stats(1).ip_refused, 0);
	cr_assert_eq(nq, 0, "no second request");
}

/* ---- address requests ---- */

enum ip_case { IP_GRANTED, IP_LEASED, IP_NOT_OWNER, IP_SILENT };

struct ip_row {
	const char *name;
	enum ip_case c;
	enum ipam_result result; /* the owner's answer */
	int ret;		 /* the lease after it */
	enum ipam_broker_why why;
};

static const struct ip_row ip_rows[] = {
	{"granted: wait for the entry", IP_GRANTED, IPAM_RES_GRANTED, -EAGAIN,
	 IPAM_WHY_ASKING_OWNER},
	{"leased at its owner", IP_LEASED, IPAM_RES_LEASED, -EADDRINUSE, IPAM_WHY_LEASED},
	{"given away: wait for the newer entry", IP_NOT_OWNER, IPAM_RES_NOT_OWNER, -EAGAIN,
	 IPAM_WHY_MOVED},
	{"owner silent", IP_SILENT, IPAM_RES_ABSENT, -EHOSTUNREACH, IPAM_WHY_SILENT},
};

Test(broker, an_address_owned_elsewhere_is_asked_of_its_owner_and_its_answer_kept)
{
	for (size_t k = 0; k < sizeof(ip_rows) / sizeof(ip_rows[0]); k++) {
		const struct ip_row *row = &ip_rows[k];
		uint32_t x = NET24 + 10;
		struct ipam_broker_why_info w;
		struct ring_entry e;
		struct sent s;

		world(3);
		if (row->c == IP_LEASED)
			cr_assert_eq(ring_leases_add(&nodes[0].held, x), 0);
		if (row->c == IP_NOT_OWNER) /* A gave x to C; B does not know yet */
			cr_assert_eq(ring_donate_ip(nodes[0].r, &nodes[0].held, "C", x, &e), 0);
		cr_assert_eq(lease_ip(1, x, &w), -EAGAIN, "%s", row->name);
		cr_assert_eq(w.why, IPAM_WHY_ASKING_OWNER);
		cr_assert_str_eq(w.peer, "A");
		s = expect(IPAM_MSG_IP_REQ, 1, 0);
		cr_assert_eq(s.m.ip, x);
		cr_assert(ipam_broker_tick(nodes[1].b, now));
		if (row->c == IP_SILENT) {
			now += 2 * T;
			ipam_broker_tick(nodes[1].b, now);
			cr_assert_eq(nodes[1].wakes, 0, "%s: not yet", row->name);
			now += 1;
			ipam_broker_tick(nodes[1].b, now);
		} else {
			deliver(&s);
			s = expect(IPAM_MSG_IP_ANS, 0, 1);
			cr_assert_eq(s.m.result, row->result, "%s: answer %d", row->name,
				     s.m.result);
			cr_assert_eq(s.m.ip, x);
			deliver(&s);
		}
		cr_assert_eq(nodes[1].wakes, 1, "%s", row->name);
		cr_assert_eq(lease_ip(1, x, &w), row->ret, "%s", row->name);
		cr_assert_eq(w.why, row->why, "%s: why %d", row->name, w.why);
		cr_assert_eq(nq, 0, "%s: the answer serves, no second request", row->name);
		if (row->c == IP_GRANTED) {
			cr_assert_eq(nodes[0].ndirect, 1);
			gossip(0, 1);
			cr_assert_eq(lease_ip(1, x, &w), 0);
			cr_assert(ring_leases_has(&nodes[1].held, x));
			/* B owns x alone, now leased: it asks ahead for space. */
			expect(IPAM_MSG_SPACE_REQ, 1, 0);
		} else {
			/* The answer is kept ANSWER_KEEP_MS, then asked again. */
			now += IPAM_BROKER_ANSWER_KEEP_MS + 1;
			ipam_broker_tick(nodes[1].b, now);
			cr_assert(!ipam_broker_tick(nodes[1].b, now), "%s", row->name);
			cr_assert_eq(lease_ip(1, x, &w), -EAGAIN, "%s", row->name);
			expect(IPAM_MSG_IP_REQ, 1, 0);
		}
		world_fini();
		nq = 0;
		memset(nodes, 0, sizeof(nodes));
	}
	nn = 0;
}

Test(broker, a_granted_address_request_waits_three_timeouts_past_its_deadline)
{
	uint32_t x = NET24 + 20;
	struct ipam_broker_why_info w;

	world(2);
	cr_assert_eq(lease_ip(1, x, NULL), -EAGAIN);
	deliver_all(); /* granted; the entry is withheld */
	now += 2 * T + 3 * T - 1;
	cr_assert_eq(lease_ip(1, x, &w), -EAGAIN);
	cr_assert_eq(w.why, IPAM_WHY_ASKING_OWNER);
	cr_assert_eq(nq, 0);
	now += 1;
	/* Given up on the entry: A is asked again (and now says not-owner). */
	cr_assert_eq(lease_ip(1, x, &w), -EAGAIN);
	expect(IPAM_MSG_IP_REQ, 1, 0);
}

Test(broker, an_address_owned_by_a_dead_host_is_unreachable_without_asking)
{
	struct ipam_broker_why_info w;

	world(2);
	nodes[0].state = 0;
	cr_assert_eq(lease_ip(1, NET24 + 9, &w), -EHOSTUNREACH);
	cr_assert_eq(w.why, IPAM_WHY_UNREACHABLE);
	cr_assert_eq(w.state, 0);
	cr_assert_str_eq(w.peer, "A");
	cr_assert_eq(nq, 0);
}

Test(broker, an_address_nobody_owns_yet_waits_for_the_ownership_record)
{
	struct ipam_broker_why_info w;
	struct ring *r;
	uint32_t ip;

	world(2);
	/* B learnt the network but none of its entries. */
	ring_destroy(nodes[1].r);
	cr_assert_eq(ring_create(&r, FIRST, END, "B"), 0);
	nodes[1].r = r;
	ipam_broker_destroy(nodes[1].b);
	cr_assert_eq(ipam_broker_create(&nodes[1].b,
					&(struct ipam_broker_config){
						.ring = r, .held = &nodes[1].held, .self = "B"},
					&ops, &nodes[1]),
		     0);
	cr_assert_eq(lease_ip(1, NET24 + 9, &w), -EAGAIN);
	cr_assert_eq(w.why, IPAM_WHY_NO_RECORD);
	cr_assert_eq(lease(1, &ip, &w), -EAGAIN);
	cr_assert_eq(w.why, IPAM_WHY_NO_RECORD);
	cr_assert_eq(nq, 0);
}

/* ---- who gets space ---- */

enum donor_case { D_OK, D_REQ_RETIRED, D_REQ_DEAD, D_SELF_RETIRED, D_PUBLISH_FAILS, D_LEASED };

struct donor_row {
	const char *name;
	enum donor_case c;
	enum ipam_result space, ip; /* answers to a space and an address request */
};

static const struct donor_row donor_rows[] = {
	{"a live member", D_OK, IPAM_RES_GRANTED, IPAM_RES_GRANTED},
	{"a retired requester", D_REQ_RETIRED, IPAM_RES_NONE, IPAM_RES_NOT_OWNER},
	{"a requester not alive", D_REQ_DEAD, IPAM_RES_NONE, IPAM_RES_NOT_OWNER},
	{"a retired donor", D_SELF_RETIRED, IPAM_RES_NONE, IPAM_RES_NOT_OWNER},
	{"a donor that cannot store the grant", D_PUBLISH_FAILS, IPAM_RES_NONE, IPAM_RES_NOT_OWNER},
	{"an address leased at the donor", D_LEASED, IPAM_RES_GRANTED, IPAM_RES_LEASED},
};

Test(broker, a_donor_grants_only_live_unretired_requesters_and_what_it_could_store)
{
	for (size_t k = 0; k < sizeof(donor_rows) / sizeof(donor_rows[0]); k++) {
		const struct donor_row *row = &donor_rows[k];
		uint32_t x = NET24 + 30;
		struct ipam_msg m = {.type = IPAM_MSG_SPACE_REQ, .seq = 77, .from = "B"};
		struct sent s;

		world(2);
		nodes[1].retired = row->c == D_REQ_RETIRED;
		nodes[1].state = row->c == D_REQ_DEAD ? 0 : 1;
		nodes[0].retired = row->c == D_SELF_RETIRED;
		nodes[0].publish_err = row->c == D_PUBLISH_FAILS ? -EIO : 0;
		if (row->c == D_LEASED)
			cr_assert_eq(ring_leases_add(&nodes[0].held, x), 0);
		ipam_broker_recv(nodes[0].b, now, &m);
		s = expect(IPAM_MSG_SPACE_ANS, 0, 1);
		cr_assert_eq(s.m.seq, 77);
		cr_assert_eq(s.m.result, row->space, "%s: space answer %d", row->name, s.m.result);
		m.type = IPAM_MSG_IP_REQ;
		m.ip = x;
		m.seq = 78;
		ipam_broker_recv(nodes[0].b, now, &m);
		s = expect(IPAM_MSG_IP_ANS, 0, 1);
		cr_assert_eq(s.m.seq, 78);
		cr_assert_eq(s.m.ip, x);
		cr_assert_eq(s.m.result, row->ip, "%s: address answer %d", row->name, s.m.result);
		cr_assert_eq(nodes[0].ndirect,
			     (size_t)(row->space == IPAM_RES_GRANTED) +
				     (row->ip == IPAM_RES_GRANTED),
			     "%s", row->name);
		world_fini();
		nq = 0;
		memset(nodes, 0, sizeof(nodes));
	}
	nn = 0;
}

Test(broker, requests_from_self_or_without_a_requester_are_ignored)
{
	struct ipam_msg m = {.type = IPAM_MSG_SPACE_REQ, .seq = 5, .from = "A"};

	world(2);
	ipam_broker_recv(nodes[0].b, now, &m);
	m.from[0] = '\0';
	ipam_broker_recv(nodes[0].b, now, &m);
	m.type = IPAM_MSG_IP_REQ;
	ipam_broker_recv(nodes[0].b, now, &m);
	cr_assert_eq(nq, 0);
	cr_assert_eq(nodes[0].npub, 0);
}

Test(broker, a_retired_host_refuses_to_allocate_even_from_its_own_space)
{
	struct ipam_broker_why_info w;
	char msg[300];
	uint32_t ip;

	world(2);
	nodes[0].retired = true;
	cr_assert_eq(lease(0, &ip, &w), -EPERM);
	cr_assert_eq(w.why, IPAM_WHY_RETIRED);
	cr_assert_eq(lease_ip(0, NET24 + 5, &w), -EPERM);
	ipam_broker_why_fmt(&w, "blue", NULL, NULL, msg, sizeof(msg));
	cr_assert(strstr(msg, "node rm"), "%s", msg);
	cr_assert_eq(nodes[0].held.n, 1, "only the gateway");
}

/* ---- ask-ahead ---- */

Test(broker, a_lease_leaving_fewer_than_low_water_free_asks_ahead_once)
{
	struct ring_entry e;
	uint32_t ip;

	world(2);
	cr_assert_eq(ring_donate(nodes[0].r, &nodes[0].held, "B", IPAM_BROKER_LOW_WATER + 1, &e),
		     0);
	cr_assert_eq(e.end - e.start, IPAM_BROKER_LOW_WATER + 1);
	cr_assert_eq(ring_merge(nodes[1].r, &e), 1);
	cr_assert_eq(lease(1, &ip, NULL), 0);
	cr_assert_eq(ring_free(nodes[1].r, &nodes[1].held), IPAM_BROKER_LOW_WATER);
	cr_assert_eq(nq, 0, "at LOW_WATER: not yet");
	cr_assert_eq(lease(1, &ip, NULL), 0);
	expect(IPAM_MSG_SPACE_REQ, 1, 0);
	cr_assert_eq(lease(1, &ip, NULL), 0);
	cr_assert_eq(nq, 0, "one search at a time");
}

/* ---- messages ---- */

struct fmt_row {
	struct ipam_broker_why_info w;
	const char *ip, *want;
};

static const struct fmt_row fmt_rows[] = {
	{{.why = IPAM_WHY_ASKING_SPACE, .peer = "A"},
	 NULL,
	 "network blue: waiting for host h1 to donate addresses"},
	{{.why = IPAM_WHY_NO_DONOR, .tries = 4},
	 NULL,
	 "no free addresses in network blue: this host owns none free and no reachable host "
	 "could donate (4 asked)"},
	{{.why = IPAM_WHY_LEASED, .peer = "A"},
	 "10.1.0.7",
	 "address 10.1.0.7 in network blue is already in use on host h1"},
	{{.why = IPAM_WHY_UNREACHABLE, .peer = "A", .state = 0},
	 "10.1.0.7",
	 "address 10.1.0.7 in network blue is owned by host h1, which is unreachable (dead or "
	 "left); pick another address, or remove that host with `vxmesh node rm` if it is gone "
	 "for good"},
	{{.why = IPAM_WHY_RING, .err = -EDOM},
	 NULL,
	 "network blue: Numerical argument out of domain"},
};

Test(broker, reasons_read_as_the_agent_has_always_printed_them)
{
	for (size_t k = 0; k < sizeof(fmt_rows) / sizeof(fmt_rows[0]); k++) {
		char buf[400];

		ipam_broker_why_fmt(&fmt_rows[k].w, "blue", fmt_rows[k].ip, "h1", buf, sizeof(buf));
		cr_assert_str_eq(buf, fmt_rows[k].want);
	}
}
