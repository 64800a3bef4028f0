/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of gossip/swim.h (swim.c, bcast.c, incarnation.c): one to
 * three instances driven by hand with a fake ops that records every packet,
 * stream and event; packets are read back with gw_packet_walk +
 * gw_msg_decode.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/swim.h"

#define MAXREC 4096

struct pkt {
	struct in_addr dst;
	uint16_t port;
	uint8_t *buf;
	size_t len;
};

struct strm {
	uint64_t id;
	struct in_addr dst;
	uint16_t port;
	uint8_t *msg;
	size_t len;
};

struct ev {
	enum swim_ev_type type;
	char name[GW_NAME_MAX];
	uint32_t inc;
	enum gw_state state;
};

struct fake {
	struct pkt pkts[MAXREC];
	size_t npkts;
	struct strm strms[64];
	size_t nstrms;
	struct ev evs[256];
	size_t nevs;
	int merged;
	size_t user_msgs;
	size_t acked; /* packets already looked at by autoack() */
};

static void f_send(void *arg, struct in_addr dst, uint16_t port, const uint8_t *buf, size_t len)
{
	struct fake *f = arg;
	struct pkt *p;

	cr_assert(f->npkts < MAXREC);
	cr_assert(len > 0);
	p = &f->pkts[f->npkts++];
	p->dst = dst;
	p->port = port;
	p->buf = malloc(len);
	memcpy(p->buf, buf, len);
	p->len = len;
}

static void f_stream(void *arg, uint64_t id, struct in_addr dst, uint16_t port, const uint8_t *msg,
		     size_t len)
{
	struct fake *f = arg;
	struct strm *s;

	cr_assert(f->nstrms < 64);
	s = &f->strms[f->nstrms++];
	s->id = id;
	s->dst = dst;
	s->port = port;
	s->msg = malloc(len);
	memcpy(s->msg, msg, len);
	s->len = len;
}

static void f_event(void *arg, enum swim_ev_type ev, const struct swim_member *m)
{
	struct fake *f = arg;
	struct ev *e;

	cr_assert(f->nevs < 256);
	cr_assert(!m->is_self);
	e = &f->evs[f->nevs++];
	e->type = ev;
	snprintf(e->name, sizeof(e->name), "%s", m->name);
	e->inc = m->inc;
	e->state = m->state;
}

static void f_user(void *arg, const uint8_t *buf, size_t len)
{
	((struct fake *)arg)->user_msgs++;
}

static void f_merge(void *arg, const uint8_t *buf, size_t len, int join)
{
	((struct fake *)arg)->merged++;
}

static const struct swim_ops f_ops = {
	.send_packet = f_send,
	.send_stream = f_stream,
	.event = f_event,
	.user_msg = f_user,
	.merge_state = f_merge,
};

static void fake_clear(struct fake *f)
{
	size_t i;

	for (i = 0; i < f->npkts; i++)
		free(f->pkts[i].buf);
	for (i = 0; i < f->nstrms; i++)
		free(f->strms[i].msg);
	f->npkts = 0;
	f->nstrms = 0;
	f->nevs = 0;
	f->acked = 0;
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	cr_assert(inet_pton(AF_INET, s, &a) == 1);
	return a;
}

static struct swim *mk(struct fake *f, const char *name, const char *addr, uint64_t now)
{
	struct swim_config c;
	struct swim *s;

	swim_config_lan(&c);
	snprintf(c.name, sizeof(c.name), "%s", name);
	c.addr = ip(addr);
	c.seed = 42;
	memset(f, 0, sizeof(*f));
	cr_assert(swim_create(&s, &c, &f_ops, f, now) == 0);
	return s;
}

/* ---- message helpers ---- */

static void feed(struct swim *s, uint64_t now, const struct gw_msg *m)
{
	uint8_t buf[2048];
	size_t len;

	cr_assert(gw_msg_encode(m, buf, sizeof(buf), &len) == 0);
	swim_handle_packet(s, now, ip("192.0.2.200"), 7946, buf, len);
}

static void alive(struct swim *s, uint64_t now, const char *name, const char *addr, uint32_t inc,
		  const char *meta)
{
	struct gw_msg m;

	memset(&m, 0, sizeof(m));
	m.type = GW_ALIVE;
	m.u.alive.inc = inc;
	snprintf(m.u.alive.node, sizeof(m.u.alive.node), "%s", name);
	m.u.alive.addr = ip(addr);
	m.u.alive.port = 7946;
	m.u.alive.meta_len = strlen(meta);
	memcpy(m.u.alive.meta, meta, m.u.alive.meta_len);
	memcpy(m.u.alive.vsn, gw_vsn_default, GW_VSN_LEN);
	feed(s, now, &m);
}

static void accuse(struct swim *s, uint64_t now, enum gw_type t, const char *name, uint32_t inc,
		   const char *from)
{
	struct gw_msg m;

	memset(&m, 0, sizeof(m));
	m.type = t;
	m.u.suspect.inc = inc;
	snprintf(m.u.suspect.node, sizeof(m.u.suspect.node), "%s", name);
	snprintf(m.u.suspect.from, sizeof(m.u.suspect.from), "%s", from);
	feed(s, now, &m);
}

struct leaves {
	struct gw_msg m[128];
	size_t n;
};

static void leaf_cb(void *arg, const uint8_t *msg, size_t len)
{
	struct leaves *l = arg;

	cr_assert(l->n < 128);
	cr_assert(gw_msg_decode(msg, len, &l->m[l->n]) == 0, "undecodable leaf type %d", msg[0]);
	l->n++;
}

/* All messages of type t sent since the last clear, optionally to dst. */
static size_t sent(struct fake *f, enum gw_type t, const char *dst, struct gw_msg *out, size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < f->npkts; i++) {
		struct leaves l = {.n = 0};

		if (dst && f->pkts[i].dst.s_addr != ip(dst).s_addr)
			continue;
		cr_assert(gw_packet_walk(f->pkts[i].buf, f->pkts[i].len, leaf_cb, &l) > 0);
		for (j = 0; j < l.n; j++) {
			if (l.m[j].type != t)
				continue;
			if (out && n < max)
				out[n] = l.m[j];
			n++;
		}
	}
	return n;
}

static size_t count_ev(struct fake *f, enum swim_ev_type t, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < f->nevs; i++)
		n += f->evs[i].type == t && !strcmp(f->evs[i].name, name);
	return n;
}

/* Every peer answers every ping at once. */
static void autoack(struct swim *s, struct fake *f, uint64_t now)
{
	while (f->acked < f->npkts) {
		struct leaves l = {.n = 0};
		size_t j;

		cr_assert(gw_packet_walk(f->pkts[f->acked].buf, f->pkts[f->acked].len, leaf_cb,
					 &l) > 0);
		f->acked++;
		for (j = 0; j < l.n; j++) {
			struct gw_msg ack;

			if (l.m[j].type != GW_PING)
				continue;
			memset(&ack, 0, sizeof(ack));
			ack.type = GW_ACK;
			ack.u.ack.seq = l.m[j].u.ping.seq;
			feed(s, now, &ack);
		}
	}
}

static void run_f(struct swim *s, struct fake *f, uint64_t from, uint64_t to)
{
	uint64_t t = from;

	while (t <= to) {
		uint64_t next = swim_tick(s, t);

		if (f) {
			autoack(s, f, t);
			next = swim_next_deadline(s);
		}
		t = next > t ? next : t + 1;
	}
}

static void run(struct swim *s, uint64_t from, uint64_t to)
{
	run_f(s, NULL, from, to);
}

/* ---- alive ---- */

Test(swim, alive_needs_strictly_greater_incarnation)
{
	struct fake f;
	struct swim *s = mk(&f, "a", "192.0.2.1", 0);
	const struct swim_member *m;

	alive(s, 10, "b", "192.0.2.2", 1, "m1");
	m = swim_member_get(s, "b");
	cr_assert(m && m->state == GW_STATE_ALIVE && m->inc == 1);
	cr_assert_eq(count_ev(&f, SWIM_EV_JOIN, "b"), 1);
	alive(s, 20, "b", "192.0.2.2", 1, "m2");
	m = swim_member_get(s, "b");
	cr_assert(m->meta_len == 2 && !memcmp(m->meta, "m1", 2), "equal inc must be ignored");
	alive(s, 30, "b", "192.0.2.2", 2, "m2");
	m = swim_member_get(s, "b");
	cr_assert(m->inc == 2 && !memcmp(m->meta, "m2", 2));
	cr_assert_eq(count_ev(&f, SWIM_EV_UPDATE, "b"), 1);
	cr_assert_eq(swim_member_count(s, GW_STATE_ALIVE), 2);

	/* suspect, then the same incarnation does not clear it, a higher one does */
	accuse(s, 40, GW_SUSPECT, "b", 2, "c");
	cr_assert_eq(swim_member_get(s, "b")->state, GW_STATE_SUSPECT);
	alive(s, 50, "b", "192.0.2.2", 2, "m2");
	cr_assert_eq(swim_member_get(s, "b")->state, GW_STATE_SUSPECT);
	alive(s, 60, "b", "192.0.2.2", 3, "m2");
	cr_assert_eq(swim_member_get(s, "b")->state, GW_STATE_ALIVE);
	cr_assert_eq(count_ev(&f, SWIM_EV_ALIVE, "b"), 1);

	/* another address for a live name: conflict, ignored */
	alive(s, 70, "b", "192.0.2.99", 9, "m2");
	cr_assert_eq(count_ev(&f, SWIM_EV_CONFLICT, "b"), 1);
	cr_assert_eq(swim_member_get(s, "b")->inc, 3);
	fake_clear(&f);
	swim_destroy(s);
}

Test(swim, alive_with_bad_vsn_ignored)
{
	static const uint8_t bad[][GW_VSN_LEN] = {
		{0, 5, 2, 2, 5, 5},
		{1, 0, 2, 2, 5, 5},
		{5, 1, 2, 2, 5, 5},
	};
	struct fake f;
	struct swim *s = mk(&f, "a", "192.0.2.1", 0);
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gw_msg m;
		uint8_t buf[512];
		size_t len = 0;
		int r;

		memset(&m, 0, sizeof(m));
		m.type = GW_ALIVE;
		m.u.alive.inc = 1;
		snprintf(m.u.alive.node, sizeof(m.u.alive.node), "x%zu", i);
		m.u.alive.addr = ip("192.0.2.3");
		m.u.alive.port = 7946;
		memcpy(m.u.alive.vsn, gw_vsn_default, GW_VSN_LEN);
		cr_assert(gw_msg_encode(&m, buf, sizeof(buf), &len) == 0);
		/* patch the Vsn bytes on the wire: the encoder refuses bad ones */
		memcpy(buf + len - GW_VSN_LEN, bad[i], GW_VSN_LEN);
		swim_handle_packet(s, 1, ip("192.0.2.3"), 7946, buf, len);
		cr_assert_null(swim_member_get(s, m.u.alive.node), "vsn %zu accepted", i);
		r = (int)swim_member_count(s, GW_STATE_DEAD);
		cr_assert_eq(r, 0);
	}
	fake_clear(&f);
	swim_destroy(s);
}

Test(swim, garbage_counted_not_fatal)
{
	static const uint8_t junk[][6] = {
		{0x04, 0x81, 0xa1, 'x', 0xc1, 0},
		{0x63, 1, 2, 3, 4, 5},
		{0x07, 5, 0, 0, 0, 0},
	};
	struct fake f;
	struct swim *s = mk(&f, "a", "192.0.2.1", 0);
	struct swim_stats st;
	size_t i;

	for (i = 0; i < 3; i++)
		swim_handle_packet(s, 1, ip("192.0.2.3"), 7946, junk[i], sizeof(junk[i]));
	swim_stats_get(s, &st);
	cr_assert(st.decode_errors >= 2);
	cr_assert_eq(swim_member_count(s, GW_STATE_ALIVE), 1);
	/* an accusation without an accuser is refused */
	accuse(s, 2, GW_SUSPECT, "a", 1, "");
	cr_assert_eq(swim_member_get(s, "a")->inc, 1);
	swim_stats_get(s, &st);
	cr_assert(st.decode_errors >= 3);
	fake_clear(&f);
	swim_destroy(s);
}

/* ---- refutation ---- */

Test(swim, refutes_suspect_and_dead_about_self)
{
	struct fake f;
	struct swim *s = mk(&f, "a", "192.0.2.1", 0);
	struct swim_stats st;
	struct gw_msg out[16];
	size_t n, i;
	int found = 0;

	alive(s, 1, "b", "192.0.2.2", 1, "");
	accuse(s, 2, GW_SUSPECT, "a", 1, "b");
	cr_assert_eq(swim_member_get(s, "a")->inc, 2, "max(local+1, accused+1)");
	cr_assert_eq(swim_member_get(s, "a")->state, GW_STATE_ALIVE);
	cr_assert_eq(swim_awareness(s), 1);
	accuse(s, 3, GW_DEAD, "a", 7, "b");
	cr_assert_eq(swim_member_get(s, "a")->inc, 8);
	cr_assert_eq(swim_awareness(s), 2);
	accuse(s, 4, GW_SUSPECT, "a", 3, "b");
	cr_assert_eq(swim_member_get(s, "a")->inc, 8, "older accusations are ignored");
	accuse(s, 4, GW_SUSPECT, "a", 8, "b");
	cr_assert_eq(swim_member_get(s, "a")->inc, 9);
	swim_stats_get(s, &st);
	cr_assert_eq(st.refutes, 3);
	/* an alive about ourselves with our own incarnation and data is not refuted */
	alive(s, 5, "a", "192.0.2.1", 9, "");
	cr_assert_eq(swim_member_get(s, "a")->inc, 9);
	/* with other meta it is */
	alive(s, 6, "a", "192.0.2.1", 9, "zz");
	cr_assert_eq(swim_member_get(s, "a")->inc, 10);

	/* the refutation is gossiped */
	run(s, 6, 400);
	n = sent(&f, GW_ALIVE, "192.0.2.2", out, 16);
	for (i = 0; i < n && i < 16; i++)
		found |= !strcmp(out[i].u.alive.node, "a") && out[i].u.alive.inc == 10;
	cr_assert(found, "alive{a, 10} not gossiped");
	fake_clear(&f);
	swim_destroy(s);
}

/* ---- suspicion ---- */

static void add_nodes(struct swim *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char name[32], addr[48];

		snprintf(name, sizeof(name), "n%zu", i);
		snprintf(addr, sizeof(addr), "198.51.100.%zu", i + 1);
		alive(s, 1, name, addr, 1, "");
	}
}

static uint64_t time_to_dead(struct swim *s, struct fake *f, const char *name, uint64_t from)
{
	uint64_t t = from;

	while (t < from + 100000) {
		uint64_t next = swim_tick(s, t);

		/* the others answer, so only the accusations below count */
		autoack(s, f, t);
		next = swim_next_deadline(s);

		if (swim_member_get(s, name)->state == GW_STATE_DEAD)
			return t;
		t = next > t ? next : t + 1;
		if (t > from + 100000)
			break;
	}
	return 0;
}

/* Lifeguard: min = 4 s for n < 10, max = 6 * min, k = 2, k = 0 when n - 2 < k. */
Test(swim, suspicion_timeout_formula)
{
	static const struct {
		size_t others;	   /* nodes besides self */
		unsigned confirms; /* distinct accusers beyond the first */
		uint64_t expect;   /* ms from suspicion to dead */
	} cases[] = {
		{2, 0, 4000},	/* n = 3, k = 0: min */
		{4, 0, 24000},	/* n = 5, k = 2: max */
		{4, 1, 11381},	/* 24 - ln2/ln3 * 20 s */
		{4, 2, 4000},	/* k reached: min */
		{9, 1, 11381},	/* n = 10: log10(10) = 1, still 4 s min */
		{19, 0, 31224}, /* n = 20: min = 4 * 1.301 s = 5204 ms, max 6x */
	};
	size_t c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct fake f;
		struct swim *s = mk(&f, "a", "192.0.2.1", 0);
		unsigned i;
		uint64_t t;

		add_nodes(s, cases[c].others);
		accuse(s, 1000, GW_SUSPECT, "n0", 1, "n1");
		cr_assert_eq(swim_member_get(s, "n0")->state, GW_STATE_SUSPECT);
		cr_assert_eq(count_ev(&f, SWIM_EV_SUSPECT, "n0"), 1);
		/* a repeat from the first accuser is no confirmation */
		accuse(s, 1000, GW_SUSPECT, "n0", 1, "n1");
		for (i = 0; i < cases[c].confirms; i++) {
			char from[16];

			snprintf(from, sizeof(from), "x%u", i);
			accuse(s, 1000, GW_SUSPECT, "n0", 1, from);
		}
		t = time_to_dead(s, &f, "n0", 1000);
		cr_assert_eq(t - 1000, cases[c].expect, "case %zu: dead after %llu ms", c,
			     (unsigned long long)(t - 1000));
		cr_assert_eq(count_ev(&f, SWIM_EV_FAILED, "n0"), 1);
		fake_clear(&f);
		swim_destroy(s);
	}
}

Test(swim, dead_from_self_is_left)
{
	struct fake f;
	struct swim *s = mk(&f, "a", "192.0.2.1", 0);

	add_nodes(s, 3);
	accuse(s, 5, GW_DEAD, "n0", 1, "n0");
	cr_assert_eq(swim_member_get(s, "n0")->state, GW_STATE_LEFT);
	cr_assert_eq(count_ev(&f, SWIM_EV_LEFT, "n0"), 1);
	accuse(s, 5, GW_DEAD, "n1", 1, "n2");
	cr_assert_eq(swim_member_get(s, "n1")->state, GW_STATE_DEAD);
	cr_assert_eq(count_ev(&f, SWIM_EV_FAILED, "n1"), 1);
	/* older incarnation ignored; dead again ignored */
	accuse(s, 5, GW_DEAD, "n2", 0, "n1");
	cr_assert_eq(swim_member_get(s, "n2")->state, GW_STATE_ALIVE);
	accuse(s, 6, GW_DEAD, "n1", 1, "n1");
	cr_assert_eq(swim_member_get(s, "n1")->state, GW_STATE_DEAD);
	/* a dead node comes back with a higher incarnation: join */
	alive(s, 7, "n1", "198.51.100.2", 2, "");
	cr_assert_eq(swim_member_get(s, "n1")->state, GW_STATE_ALIVE);
	cr_assert_eq(count_ev(&f, SWIM_EV_JOIN, "n1"), 2);
	/* a left node may come back at another address */
	alive(s, 8, "n0", "198.51.100.77", 2, "");
	cr_assert_eq(swim_member_get(s, "n0")->state, GW_STATE_ALIVE);
	cr_assert_eq(swim_member_get(s, "n0")->addr.s_addr, ip("198.51.100.77").s_addr);
	fake_clear(&f);
	swim_destroy(s);
}

/* ---- ping handling ---- */

Test(swim, ping_rules)
{
	struct fake f;
	struct swim *s = mk(&f, "a", "192.0.2.1", 0);
	struct gw_msg m, out[4];

	memset(&m, 0, sizeof(m));
	m.type = GW_PING;
	m.u.ping.seq = 31;
	snprintf(m.u.ping.node, sizeof(m.u.ping.node), "zz");
	feed(s, 1, &m);
	cr_assert_eq(f.npkts, 0, "ping for another node must be ignored");

	snprintf(m.u.ping.node, sizeof(m.u.ping.node), "a");
	m.u.ping.src_addr = ip("198.51.100.9");
	m.u.ping.src_port = 1234;
	feed(s, 2, &m);
	cr_assert_eq(f.npkts, 1);
	cr_assert_eq(f.pkts[0].dst.s_addr, ip("198.51.100.9").s_addr);
	cr_assert_eq(f.pkts[0].port, 1234);
	cr_assert_eq(sent(&f, GW_ACK, NULL, out, 4), 1);
	cr_assert_eq(out[0].u.ack.seq, 31);
	cr_assert_eq(out[0].u.ack.payload_len, 0);
	fake_clear(&f);

	/* without a source: back to the UDP sender */
	memset(&m.u.ping.src_addr, 0, sizeof(m.u.ping.src_addr));
	m.u.ping.src_port = 0;
	m.u.ping.node[0] = 0;
	feed(s, 3, &m);
	cr_assert_eq(f.npkts, 1);
	cr_assert_eq(f.pkts[0].dst.s_addr, ip("192.0.2.200").s_addr);
	fake_clear(&f);
	swim_destroy(s);
}

static void iping(struct swim *s, uint64_t now, uint32_t seq, int nack)
{
	struct gw_msg m;

	memset(&m, 0, sizeof(m));
	m.type = GW_INDIRECT_PING;
	m.u.iping.seq = seq;
	m.u.iping.target = ip("198.51.100.50");
	m.u.iping.port = 7946;
	snprintf(m.u.iping.node, sizeof(m.u.iping.node), "c");
	m.u.iping.nack = nack;
	m.u.iping.src_addr = ip("192.0.2.2");
	m.u.iping.src_port = 7946;
	snprintf(m.u.iping.src_node, sizeof(m.u.iping.src_node), "b");
	feed(s, now, &m);
}

Test(swim, indirect_ping_relays_ack_or_nacks)
{
	struct fake f;
	struct swim *s = mk(&f, "a", "192.0.2.1", 0);
	struct gw_msg out[4], ack;

	/* no answer: nack with the original seq after ProbeTimeout */
	iping(s, 10, 77, 1);
	cr_assert_eq(sent(&f, GW_PING, "198.51.100.50", out, 4), 1);
	cr_assert_str_eq(out[0].u.ping.node, "c");
	cr_assert_neq(out[0].u.ping.seq, 77);
	run(s, 10, 509);
	cr_assert_eq(sent(&f, GW_NACK, "192.0.2.2", NULL, 0), 0);
	run(s, 510, 510);
	cr_assert_eq(sent(&f, GW_NACK, "192.0.2.2", out, 4), 1);
	cr_assert_eq(out[0].u.nack.seq, 77);
	fake_clear(&f);

	/* an answer: ack forwarded with the original seq, no nack */
	iping(s, 1000, 78, 1);
	cr_assert_eq(sent(&f, GW_PING, "198.51.100.50", out, 4), 1);
	memset(&ack, 0, sizeof(ack));
	ack.type = GW_ACK;
	ack.u.ack.seq = out[0].u.ping.seq;
	feed(s, 1100, &ack);
	cr_assert_eq(sent(&f, GW_ACK, "192.0.2.2", out, 4), 1);
	cr_assert_eq(out[0].u.ack.seq, 78);
	run(s, 1100, 2000);
	cr_assert_eq(sent(&f, GW_NACK, NULL, NULL, 0), 0);
	fake_clear(&f);

	/* Nack=false: silence */
	iping(s, 3000, 79, 0);
	run(s, 3000, 4000);
	cr_assert_eq(sent(&f, GW_NACK, NULL, NULL, 0), 0);
	fake_clear(&f);
	swim_destroy(s);
}

/* Probe of a silent node: ping, then indirect pings (Nack) + TCP ping, then suspect. */
Test(swim, probe_failure_path)
{
	struct fake f;
	struct swim *s = mk(&f, "a", "192.0.2.1", 0);
	struct gw_msg out[8];
	uint64_t t;
	size_t i, pings = 0;

	add_nodes(s, 4);
	fake_clear(&f);
	/* find the first probe */
	for (t = 0; t < 2000 && !pings; t++) {
		swim_tick(s, t);
		for (i = 0; i < f.npkts; i++)
			pings += sent(&f, GW_PING, NULL, out, 1);
	}
	cr_assert(pings > 0);
	t--;
	cr_assert_eq(sent(&f, GW_INDIRECT_PING, NULL, NULL, 0), 0);
	run(s, t, t + 500);
	cr_assert_eq(sent(&f, GW_INDIRECT_PING, NULL, out, 8), 3);
	for (i = 0; i < 3; i++) {
		cr_assert(out[i].u.iping.nack);
		cr_assert_str_neq(out[i].u.iping.node, "a");
	}
	cr_assert_eq(f.nstrms, 1, "TCP fallback ping for pmax >= 3");
	swim_stream_failed(s, t + 600, f.strms[0].id);
	run(s, t + 600, t + 1000);
	{
		struct swim_stats st;

		swim_stats_get(s, &st);
		cr_assert_eq(st.probe_failures, 1);
	}
	cr_assert_eq(swim_member_count(s, GW_STATE_SUSPECT), 1);
	cr_assert_eq(swim_awareness(s), 3, "3 nacks expected, none came");
	fake_clear(&f);
	swim_destroy(s);
}

/* ---- broadcasts ---- */

Test(swim, retransmit_limit_and_replacement)
{
	struct fake f;
	struct swim *s = mk(&f, "a", "192.0.2.1", 0);
	struct gw_msg out[64];
	size_t n, i, x1 = 0, x2 = 0;

	alive(s, 0, "b", "192.0.2.2", 1, "");
	/* n = 2: limit 4 * ceil(log10(3)) = 4 */
	cr_assert(swim_broadcast_user(s, "k", (const uint8_t *)"x1", 2) == 0);
	cr_assert(swim_broadcast_user(s, "k", (const uint8_t *)"x2", 2) == 0);
	cr_assert(swim_broadcast_user(s, "k", (const uint8_t *)"", 0) == -EINVAL);
	fake_clear(&f);
	run(s, 0, 20000);
	n = sent(&f, GW_USER, NULL, out, 64);
	for (i = 0; i < n; i++) {
		x1 += out[i].u.user.len == 2 && !memcmp(out[i].u.user.data, "x1", 2);
		x2 += out[i].u.user.len == 2 && !memcmp(out[i].u.user.data, "x2", 2);
	}
	cr_assert_eq(x1, 0, "replaced broadcast was sent");
	cr_assert_eq(x2, 4, "sent %zu times, limit 4", x2);
	fake_clear(&f);

	/* memberlist: a newer message about b replaces the queued one */
	alive(s, 30000, "b", "192.0.2.2", 2, "");
	accuse(s, 30000, GW_SUSPECT, "b", 2, "c");
	run(s, 30000, 40000);
	cr_assert_eq(sent(&f, GW_SUSPECT, NULL, NULL, 0) > 0, 1);
	n = sent(&f, GW_ALIVE, NULL, out, 64);
	for (i = 0; i < n && i < 64; i++)
		cr_assert(strcmp(out[i].u.alive.node, "b") || out[i].u.alive.inc != 2,
			  "alive{b,2} was replaced by suspect{b}");
	fake_clear(&f);
	swim_destroy(s);
}

Test(swim, gossip_packets_are_bounded)
{
	struct fake f;
	struct swim *s = mk(&f, "a", "192.0.2.1", 0);
	size_t i;
	char key[32];
	uint8_t payload[300];

	add_nodes(s, 20);
	memset(payload, 0x80, sizeof(payload));
	for (i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		cr_assert(swim_broadcast_user(s, key, payload, sizeof(payload)) == 0);
	}
	fake_clear(&f);
	run(s, 0, 3000);
	cr_assert(f.npkts > 10);
	for (i = 0; i < f.npkts; i++) {
		struct leaves l = {.n = 0};

		cr_assert(f.pkts[i].len <= GW_UDP_BUDGET + 5 + 400, "packet %zu has %zu bytes", i,
			  f.pkts[i].len);
		cr_assert(gw_packet_walk(f.pkts[i].buf, f.pkts[i].len, leaf_cb, &l) > 0);
		/* gossip to pmax >= 5 peers carries a CRC when it has no direct message */
		if (f.pkts[i].buf[0] == GW_CRC)
			cr_assert(l.n >= 1);
	}
	fake_clear(&f);
	swim_destroy(s);
}

/* ---- push/pull ---- */

static int pp_feed(const uint8_t *buf, size_t len, struct gw_stream **rd, struct gw_stream_msg *m)
{
	cr_assert(gw_stream_create(rd, NULL) == 0);
	return gw_stream_feed(*rd, buf, len, m, NULL);
}

static struct gw_pp_node ppn(const char *name, const char *addr, uint32_t inc, enum gw_state st)
{
	struct gw_pp_node n;

	memset(&n, 0, sizeof(n));
	snprintf(n.name, sizeof(n.name), "%s", name);
	n.addr = ip(addr);
	n.port = 7946;
	n.inc = inc;
	n.state = st;
	memcpy(n.vsn, gw_vsn_default, GW_VSN_LEN);
	return n;
}

static int handle_pp(struct swim *s, uint64_t now, struct gw_pp_node *nodes, size_t n,
		     struct gw_pushpull *reply_pp, struct gw_stream **rd)
{
	struct gw_pushpull pp = {.join = 1, .nodes = nodes, .n = n};
	struct gw_stream_msg m = {.kind = GW_STREAM_PUSHPULL};
	struct gw_stream_msg r;
	uint8_t *reply;
	size_t rlen;

	m.pp = pp;
	m.pp.user_state = (uint8_t *)"\x02x";
	m.pp.user_state_len = 2;
	cr_assert(swim_handle_stream(s, now, &m, &reply, &rlen) == 0);
	cr_assert_not_null(reply);
	cr_assert_eq(pp_feed(reply, rlen, rd, &r), 1);
	cr_assert_eq(r.kind, GW_STREAM_PUSHPULL);
	*reply_pp = r.pp;
	free(reply);
	return 0;
}

Test(swim, pushpull_merge_rules)
{
	struct fake f;
	struct swim *s = mk(&f, "a", "192.0.2.1", 0);
	struct gw_pp_node nodes[6];
	struct gw_pushpull rp;
	struct gw_stream *rd;

	alive(s, 1, "b", "192.0.2.2", 1, "");
	alive(s, 1, "c", "192.0.2.3", 1, "");
	alive(s, 1, "d", "192.0.2.4", 1, "");
	nodes[0] = ppn("b", "192.0.2.2", 1, GW_STATE_SUSPECT);
	nodes[1] = ppn("c", "192.0.2.3", 1, GW_STATE_LEFT);
	nodes[2] = ppn("d", "192.0.2.4", 1, GW_STATE_DEAD);
	nodes[3] = ppn("e", "192.0.2.5", 4, GW_STATE_ALIVE);
	nodes[4] = ppn("a", "192.0.2.1", 1, GW_STATE_DEAD);
	nodes[5] = ppn("f", "192.0.2.6", 1, GW_STATE_DEAD);
	handle_pp(s, 10, nodes, 6, &rp, &rd);
	cr_assert(rp.join, "Join echoed");
	cr_assert_eq(rp.n, 4, "reply is our table before the merge");
	gw_stream_free(rd);

	cr_assert_eq(swim_member_get(s, "b")->state, GW_STATE_SUSPECT);
	cr_assert_eq(swim_member_get(s, "c")->state, GW_STATE_LEFT);
	cr_assert_eq(swim_member_get(s, "d")->state, GW_STATE_SUSPECT, "dead -> only suspect");
	cr_assert_eq(swim_member_get(s, "e")->state, GW_STATE_ALIVE);
	cr_assert_eq(swim_member_get(s, "e")->inc, 4);
	cr_assert_null(swim_member_get(s, "f"), "unknown dead node ignored");
	cr_assert_eq(swim_member_get(s, "a")->state, GW_STATE_ALIVE);
	cr_assert_eq(swim_member_get(s, "a")->inc, 2, "refuted");
	cr_assert_eq(f.merged, 1);
	fake_clear(&f);
	swim_destroy(s);
}

Test(swim, pushpull_version_check)
{
	static const uint8_t bad[][GW_VSN_LEN] = {
		{1, 5, 2, 2, 5, 0}, /* delegate version 0, as in the Serf log line */
		{1, 5, 6, 2, 5, 5}, /* speaks 6, nobody understands it */
		{3, 5, 3, 2, 5, 5}, /* understands only 3+, we speak 2 */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fake f;
		struct swim *s = mk(&f, "a", "192.0.2.1", 0);
		struct gw_pp_node nodes[2];
		struct gw_pushpull rp;
		struct gw_stream *rd;

		nodes[0] = ppn("y", "192.0.2.9", 1, GW_STATE_ALIVE);
		nodes[1] = ppn("z", "192.0.2.10", 1, GW_STATE_ALIVE);
		memcpy(nodes[1].vsn, bad[i], GW_VSN_LEN);
		handle_pp(s, 10, nodes, 2, &rp, &rd);
		cr_assert_eq(rp.n, 1, "answered before verifying");
		gw_stream_free(rd);
		cr_assert_null(swim_member_get(s, "y"), "case %zu merged", i);
		cr_assert_eq(f.merged, 0);
		fake_clear(&f);
		swim_destroy(s);
	}
}

/* Two instances joined by push/pull over the fake streams. */
Test(swim, join_and_periodic_pushpull)
{
	struct fake fa, fb;
	struct swim *a = mk(&fa, "a", "192.0.2.1", 0), *b = mk(&fb, "b", "192.0.2.2", 0);
	struct in_addr addr = ip("192.0.2.2");
	uint16_t port = 7946;
	struct gw_stream *rq, *rp;
	struct gw_stream_msg m, r;
	uint8_t *reply;
	size_t rlen;

	cr_assert(swim_join(a, 5, &addr, &port, 1) == 0);
	cr_assert_eq(fa.nstrms, 1);
	cr_assert_eq(fa.strms[0].dst.s_addr, addr.s_addr);
	cr_assert_eq(pp_feed(fa.strms[0].msg, fa.strms[0].len, &rq, &m), 1);
	cr_assert(m.pp.join);
	cr_assert(swim_handle_stream(b, 6, &m, &reply, &rlen) == 0);
	cr_assert_eq(swim_member_get(b, "a")->state, GW_STATE_ALIVE);
	cr_assert_eq(pp_feed(reply, rlen, &rp, &r), 1);
	swim_stream_done(a, 7, fa.strms[0].id, &r);
	cr_assert_eq(swim_member_get(a, "b")->state, GW_STATE_ALIVE);
	cr_assert_eq(count_ev(&fa, SWIM_EV_JOIN, "b"), 1);
	cr_assert_eq(count_ev(&fb, SWIM_EV_JOIN, "a"), 1);
	free(reply);
	gw_stream_free(rq);
	gw_stream_free(rp);

	/* a stream ping is answered with an ack */
	memset(&m, 0, sizeof(m));
	m.kind = GW_STREAM_PING;
	m.msg.type = GW_PING;
	m.msg.u.ping.seq = 9;
	snprintf(m.msg.u.ping.node, sizeof(m.msg.u.ping.node), "b");
	cr_assert(swim_handle_stream(b, 8, &m, &reply, &rlen) == 0);
	cr_assert_not_null(reply);
	cr_assert_eq(reply[0], GW_ACK);
	free(reply);
	snprintf(m.msg.u.ping.node, sizeof(m.msg.u.ping.node), "q");
	cr_assert(swim_handle_stream(b, 8, &m, &reply, &rlen) == 0);
	cr_assert_null(reply);

	/* the periodic push/pull goes to the one alive peer, Join=false */
	fake_clear(&fa);
	run_f(a, &fa, 8, 31000);
	cr_assert(fa.nstrms >= 1);
	cr_assert_eq(pp_feed(fa.strms[fa.nstrms - 1].msg, fa.strms[fa.nstrms - 1].len, &rq, &m), 1);
	cr_assert(!m.pp.join);
	gw_stream_free(rq);
	fake_clear(&fa);
	fake_clear(&fb);
	swim_destroy(a);
	swim_destroy(b);
}

Test(swim, leave_gossips_dead_from_self)
{
	struct fake f;
	struct swim *s = mk(&f, "a", "192.0.2.1", 0);
	struct gw_msg out[32];
	size_t n, i, found = 0;
	uint64_t t;

	alive(s, 0, "b", "192.0.2.2", 1, "");
	fake_clear(&f);
	cr_assert(swim_leave(s, 100) == 0);
	cr_assert(!swim_leave_done(s));
	cr_assert_eq(swim_member_get(s, "a")->state, GW_STATE_LEFT);
	for (t = 100; t < 10000 && !swim_leave_done(s); t++)
		swim_tick(s, t);
	cr_assert(swim_leave_done(s));
	cr_assert(t < 2000, "leave took %llu ms", (unsigned long long)t);
	n = sent(&f, GW_DEAD, "192.0.2.2", out, 32);
	for (i = 0; i < n && i < 32; i++)
		found += !strcmp(out[i].u.dead.node, "a") && !strcmp(out[i].u.dead.from, "a");
	cr_assert_eq(found, 4, "dead{a, From a} sent %zu times", found);
	/* no refutation after leaving */
	accuse(s, t, GW_SUSPECT, "a", 1, "b");
	accuse(s, t, GW_DEAD, "a", 1, "b");
	cr_assert_eq(swim_member_get(s, "a")->state, GW_STATE_LEFT);
	cr_assert_eq(swim_member_get(s, "a")->inc, 1);
	fake_clear(&f);
	swim_destroy(s);
}

Test(swim, user_messages_delivered)
{
	struct fake f;
	struct swim *s = mk(&f, "a", "192.0.2.1", 0);
	static const uint8_t serf[] = {GW_USER, 0x03, 0x80}, mine[] = {GW_USER, 0x81, 1};
	const uint8_t *parts[2] = {serf, mine};
	size_t lens[2] = {sizeof(serf), sizeof(mine)}, len;
	uint8_t buf[64];
	struct gw_stream_msg m;
	uint8_t *reply;

	cr_assert(gw_compound_encode(parts, lens, 2, buf, sizeof(buf), &len) == 0);
	swim_handle_packet(s, 1, ip("192.0.2.2"), 7946, buf, len);
	cr_assert_eq(f.user_msgs, 2, "Serf and own user messages both go to the caller");
	memset(&m, 0, sizeof(m));
	m.kind = GW_STREAM_USER;
	m.msg.type = GW_USER;
	m.msg.u.user.data = serf + 1;
	m.msg.u.user.len = 2;
	cr_assert(swim_handle_stream(s, 2, &m, &reply, &len) == 0);
	cr_assert_null(reply);
	cr_assert_eq(f.user_msgs, 3);
	/* best-effort send to a member: CRC for pmax >= 5 */
	alive(s, 3, "b", "192.0.2.2", 1, "");
	fake_clear(&f);
	cr_assert(swim_send_user(s, "b", (const uint8_t *)"\x81hi", 3) == 0);
	cr_assert_eq(f.npkts, 1);
	cr_assert_eq(f.pkts[0].buf[0], GW_CRC);
	cr_assert_eq(sent(&f, GW_USER, "192.0.2.2", NULL, 0), 1);
	cr_assert(swim_send_user(s, "nobody", (const uint8_t *)"x", 1) == -ENOENT);
	fake_clear(&f);
	swim_destroy(s);
}
