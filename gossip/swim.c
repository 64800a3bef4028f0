/* SPDX-License-Identifier: MIT */
/*
 * DOC: swim - memberlist 0.2.2's failure detector and membership, as a pure
 * state machine.
 *
 * Owns the member table (hash + probe-order array, as memberlist's nodeMap
 * and nodes), the probe cycle (ping, indirect pings, TCP fallback ping,
 * Lifeguard awareness), suspicion timers with confirmations, the two
 * transmit-limited broadcast queues (memberlist's own, then user
 * broadcasts), periodic gossip and push/pull, and a reconnect loop that
 * does what Serf's reconnect does for memberlist: now and then a Join
 * push/pull with a random failed member, so healed partitions converge.
 * Every timer lives in one intrusive binary heap; the caller supplies the
 * clock on every call, and all randomness comes from a seeded xoshiro256**,
 * so a run is reproducible.  All bytes go through gossip/wire.
 *
 * Events never concern the local node.  swim_member_get() returns a view
 * held in the instance, valid until the next call into it.
 *
 * The broadcast queues live in bcast.c, the alive/suspect/dead rules and
 * the push/pull state in incarnation.c; struct swim and what the three
 * files call across is in swim_int.h.
 */
#include "gossip/swim.h"

#include "gossip/swim_int.h"
#include "common/heap.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUSHPULL_SCALE_THRESHOLD 32
#define LEAVE_TIMEOUT_MS	 5000		       /* Serf's BroadcastTimeout */
#define RECONNECT_KEEP_MS	 (24ull * 3600 * 1000) /* Serf's ReconnectTimeout */

/* An indirect probe we run for someone else. */
struct helper {
	struct timer t;
	struct helper *prev, *next;
	uint32_t seq, orig_seq;
	struct in_addr to;
	uint16_t to_port;
	bool nack;
};

enum pkind { P_PUSHPULL, P_PING };

struct pending {
	struct timer t;
	struct pending *prev, *next;
	uint64_t id;
	enum pkind kind;
	bool join;
	uint32_t seq;
};

/* ---- randomness ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- timer heap ---- */

/* ---- member table ---- */

/* ---- failed members, for reconnects ---- */

/* ---- sending ---- */

static void count_out(struct swim *s, const uint8_t *msg)
{
	if (msg[0] < 14)
		s->st.msgs_out[msg[0]]++;
}

/* rawSendMsgPacket: CRC for peers known to speak pmax >= 5. */
static void raw_send(struct swim *s, struct in_addr dst, uint16_t port, const struct node *n,
		     const uint8_t *buf, size_t len)
{
	uint8_t *crc = NULL;
	size_t clen;

	if (n && n->vsn[1] >= 5) {
		crc = malloc(len + 5);
		if (crc && gw_crc_wrap(buf, len, crc, len + 5, &clen) == 0) {
			buf = crc;
			len = clen;
			s->st.msgs_out[GW_CRC]++;
		}
	}
	s->st.bytes_out += len;
	if (s->ops.send_packet)
		s->ops.send_packet(s->arg, dst, port, buf, len);
	free(crc);
}

static void send_parts(struct swim *s, struct in_addr dst, uint16_t port, const struct node *n,
		       const struct parts *ps)
{
	uint8_t buf[GW_UDP_BUDGET + MSG_MAX + 2 * GW_COMPOUND_MAX + 8];
	size_t len, i;

	for (i = 0; i < ps->n; i++)
		count_out(s, ps->p[i]);
	if (ps->n == 1) {
		raw_send(s, dst, port, n, ps->p[0], ps->len[0]);
		return;
	}
	if (gw_compound_encode(ps->p, ps->len, ps->n, buf, sizeof(buf), &len))
		return;
	s->st.msgs_out[GW_COMPOUND]++;
	raw_send(s, dst, port, n, buf, len);
}

/* sendMsg: one message plus whatever gossip fits alongside. */
static void send_msg(struct swim *s, struct in_addr dst, uint16_t port, const struct node *to,
		     const struct gw_msg *m)
{
	struct parts ps;
	uint8_t msg[MSG_MAX];
	size_t len, avail;

	if (gw_msg_encode(m, msg, sizeof(msg), &len))
		return;
	ps.n = 1;
	ps.max = GW_COMPOUND_MAX;
	ps.used = 0;
	ps.p[0] = msg;
	ps.len[0] = len;
	avail = GW_UDP_BUDGET - COMPOUND_HDR - enc_overhead(s);
	if (avail > len)
		get_broadcasts(s, &ps, COMPOUND_PART, avail - len, to);
	send_parts(s, dst, port, NULL, &ps);
}

static void self_ping(const struct swim *s, struct gw_msg *m, uint32_t seq, const char *target)
{
	memset(m, 0, sizeof(*m));
	m->type = GW_PING;
	m->u.ping.seq = seq;
	snprintf(m->u.ping.node, sizeof(m->u.ping.node), "%s", target);
	m->u.ping.src_addr = s->cfg.addr;
	m->u.ping.src_port = s->cfg.port;
	snprintf(m->u.ping.src_node, sizeof(m->u.ping.src_node), "%s", s->cfg.name);
}

/* kRandomNodes: up to k distinct nodes passing ok(), 3n tries. */
typedef bool (*node_ok_fn)(const struct swim *s, const struct node *n, const void *ctx);

static size_t k_random(struct swim *s, size_t k, struct node **out, node_ok_fn ok, const void *ctx)
{
	size_t got = 0, i, j;

	for (i = 0; i < 3 * s->nn && got < k; i++) {
		struct node *n = s->nodes[rnd_below(s, s->nn)];

		if (!ok(s, n, ctx))
			continue;
		for (j = 0; j < got && out[j] != n; j++)
			;
		if (j == got)
			out[got++] = n;
	}
	return got;
}
/* ---- probing ---- */

static bool ok_alive_other(const struct swim *s, const struct node *n, const void *ctx)
{
	return n != s->self && n != ctx && n->state == GW_STATE_ALIVE;
}

static uint64_t probe_period(const struct swim *s)
{
	return (uint64_t)s->cfg.probe_interval * (s->awareness + 1);
}

static void probe_next(struct swim *s, uint64_t at)
{
	s->probe.phase = PROBE_IDLE;
	(void)timer_arm(s, &s->probe_t, at);
}

/* resetNodes: drop the long dead, reshuffle the rest. */
static void reset_nodes(struct swim *s)
{
	size_t i, j;

	for (i = 0, j = 0; i < s->nn; i++) {
		struct node *n = s->nodes[i], **pp;

		if (n == s->self || !dead_or_left(n) ||
		    s->now - n->state_change <= s->cfg.gossip_to_the_dead_time) {
			s->nodes[j++] = n;
			continue;
		}
		for (pp = &s->htab[n->hash & (s->hcap - 1)]; *pp != n; pp = &(*pp)->hnext)
			;
		*pp = n->hnext;
		if (n->bc)
			n->bc->node = NULL;
		susp_free(s, n);
		s->count[n->state]--;
		free(n->meta);
		free(n);
	}
	s->nn = j;
	for (i = s->nn; i > 1; i--) {
		size_t r = rnd_below(s, i);
		struct node *t = s->nodes[i - 1];

		s->nodes[i - 1] = s->nodes[r];
		s->nodes[r] = t;
	}
}

static void probe_node(struct swim *s, struct node *n)
{
	struct gw_msg ping;
	uint64_t period = probe_period(s), timeout = s->cfg.probe_timeout;

	s->probe.seq = ++s->seq;
	s->probe.inc = n->inc;
	snprintf(s->probe.target, sizeof(s->probe.target), "%s", n->name);
	s->probe.start = s->now;
	s->probe.deadline = s->now + period;
	s->probe.expected_nacks = 0;
	s->probe.nacks = 0;
	s->probe.tcp = TCP_NONE;
	s->probe.phase = PROBE_WAIT_ACK;
	s->st.probes++;
	self_ping(s, &ping, s->probe.seq, n->name);
	if (n->state == GW_STATE_ALIVE) {
		send_msg(s, n->addr, n->port, n, &ping);
	} else {
		struct gw_msg sus;
		struct parts ps;

		memset(&sus, 0, sizeof(sus));
		sus.type = GW_SUSPECT;
		sus.u.suspect.inc = n->inc;
		snprintf(sus.u.suspect.node, sizeof(sus.u.suspect.node), "%s", n->name);
		snprintf(sus.u.suspect.from, sizeof(sus.u.suspect.from), "%s", s->cfg.name);
		ps.used = 0;
		ps.n = 2;
		if (gw_msg_encode(&ping, ps.buf, sizeof(ps.buf), &ps.len[0]) == 0 &&
		    gw_msg_encode(&sus, ps.buf + ps.len[0], sizeof(ps.buf) - ps.len[0],
				  &ps.len[1]) == 0) {
			ps.p[0] = ps.buf;
			ps.p[1] = ps.buf + ps.len[0];
			send_parts(s, n->addr, n->port, n, &ps);
		}
	}
	if (timeout > period)
		timeout = period;
	(void)timer_arm(s, &s->probe_t, s->now + timeout);
}

static void probe_start(struct swim *s)
{
	size_t checked = 0;

	for (;;) {
		struct node *n;

		if (checked >= s->nn)
			break;
		if (s->probe_idx >= s->nn) {
			reset_nodes(s);
			s->probe_idx = 0;
			checked++;
			continue;
		}
		n = s->nodes[s->probe_idx++];
		if (n == s->self || dead_or_left(n)) {
			checked++;
			continue;
		}
		probe_node(s, n);
		return;
	}
	probe_next(s, s->now + s->cfg.probe_interval);
}

static void pending_del(struct swim *s, struct pending *p)
{
	timer_cancel(s, &p->t);
	if (p->prev)
		p->prev->next = p->next;
	else
		s->pend = p->next;
	if (p->next)
		p->next->prev = p->prev;
	free(p);
}

static struct pending *pending_new(struct swim *s, enum pkind kind)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	timer_init(&p->t, T_STREAM);
	p->kind = kind;
	p->id = ++s->stream_id;
	/* the transport reports failure itself; this only bounds our memory */
	if (timer_arm(s, &p->t, s->now + 2ull * s->cfg.tcp_timeout + s->cfg.probe_interval)) {
		free(p);
		return NULL;
	}
	p->next = s->pend;
	if (s->pend)
		s->pend->prev = p;
	s->pend = p;
	return p;
}

static void probe_timeout(struct swim *s)
{
	struct node *n = node_find(s, s->probe.target), *peers[16];
	size_t k = s->cfg.indirect_checks < 16 ? s->cfg.indirect_checks : 16, got, i;
	struct gw_msg ind;

	if (!n) {
		probe_next(s, s->probe.deadline);
		return;
	}
	memset(&ind, 0, sizeof(ind));
	ind.type = GW_INDIRECT_PING;
	ind.u.iping.seq = s->probe.seq;
	ind.u.iping.target = n->addr;
	ind.u.iping.port = n->port;
	snprintf(ind.u.iping.node, sizeof(ind.u.iping.node), "%s", n->name);
	ind.u.iping.src_addr = s->cfg.addr;
	ind.u.iping.src_port = s->cfg.port;
	snprintf(ind.u.iping.src_node, sizeof(ind.u.iping.src_node), "%s", s->cfg.name);
	got = k_random(s, k, peers, ok_alive_other, n);
	for (i = 0; i < got; i++) {
		/* memberlist never clears Nack once a peer set it */
		if (peers[i]->vsn[1] >= 4) {
			s->probe.expected_nacks++;
			ind.u.iping.nack = 1;
		}
		send_msg(s, peers[i]->addr, peers[i]->port, peers[i], &ind);
	}
	if (n->vsn[1] >= 3 && s->ops.send_stream) {
		struct pending *p = pending_new(s, P_PING);
		struct gw_msg ping;
		uint8_t buf[MSG_MAX];
		size_t len;

		self_ping(s, &ping, s->probe.seq, n->name);
		if (p && gw_msg_encode(&ping, buf, sizeof(buf), &len) == 0) {
			p->seq = s->probe.seq;
			s->probe.tcp = TCP_PENDING;
			s->ops.send_stream(s->arg, p->id, n->addr, n->port, buf, len);
		} else if (p) {
			pending_del(s, p);
		}
	}
	s->probe.phase = PROBE_WAIT_END;
	(void)timer_arm(s, &s->probe_t, s->probe.deadline);
}

static void probe_failed(struct swim *s)
{
	int delta = 1;

	if (s->probe.tcp == TCP_OK) {
		probe_next(s, s->now);
		return;
	}
	if (s->probe.expected_nacks > 0)
		delta = s->probe.nacks < s->probe.expected_nacks
				? (int)(s->probe.expected_nacks - s->probe.nacks)
				: 0;
	awareness_add(s, delta);
	s->st.probe_failures++;
	probe_next(s, s->now);
	suspect_node(s, s->probe.target, s->probe.inc, s->cfg.name);
}

static void probe_fired(struct swim *s)
{
	switch (s->probe.phase) {
	case PROBE_IDLE:
		probe_start(s);
		break;
	case PROBE_WAIT_ACK:
		probe_timeout(s);
		break;
	case PROBE_WAIT_END:
		probe_failed(s);
		break;
	}
}

static bool probe_acked(struct swim *s, uint32_t seq)
{
	if (s->probe.phase == PROBE_IDLE || seq != s->probe.seq)
		return false;
	awareness_add(s, -1);
	probe_next(s, s->probe.deadline);
	return true;
}

/* ---- helpers for indirect probes ---- */

static void helper_del(struct swim *s, struct helper *h)
{
	timer_cancel(s, &h->t);
	if (h->prev)
		h->prev->next = h->next;
	else
		s->helpers = h->next;
	if (h->next)
		h->next->prev = h->prev;
	free(h);
}

static void helper_fired(struct swim *s, struct helper *h)
{
	if (h->nack) {
		struct gw_msg m;

		memset(&m, 0, sizeof(m));
		m.type = GW_NACK;
		m.u.nack.seq = h->orig_seq;
		send_msg(s, h->to, h->to_port, NULL, &m);
	}
	helper_del(s, h);
}

/* ---- periodic work ---- */

static bool ok_gossip(const struct swim *s, const struct node *n, const void *ctx)
{
	if (n == s->self)
		return false;
	switch (n->state) {
	case GW_STATE_ALIVE:
	case GW_STATE_SUSPECT:
		return true;
	case GW_STATE_DEAD:
		return s->now - n->state_change <= s->cfg.gossip_to_the_dead_time;
	default:
		return false;
	}
}

static void gossip(struct swim *s)
{
	struct node *peers[64];
	size_t k = s->cfg.gossip_nodes < 64 ? s->cfg.gossip_nodes : 64, got, i;
	size_t avail = GW_UDP_BUDGET - COMPOUND_HDR - enc_overhead(s);

	got = k_random(s, k, peers, ok_gossip, NULL);
	for (i = 0; i < got; i++) {
		struct parts ps;

		ps.n = 0;
		ps.used = 0;
		ps.max = GW_COMPOUND_MAX;
		get_broadcasts(s, &ps, COMPOUND_PART, avail, peers[i]);
		if (!ps.n)
			return;
		send_parts(s, peers[i]->addr, peers[i]->port, peers[i], &ps);
	}
}

static uint64_t pushpull_scale(const struct swim *s)
{
	uint64_t iv = s->cfg.pushpull_interval;
	double mult;

	if (s->nn <= PUSHPULL_SCALE_THRESHOLD)
		return iv;
	mult = ceil(log2((double)s->nn) - log2((double)PUSHPULL_SCALE_THRESHOLD)) + 1.0;
	return (uint64_t)mult * iv;
}
static int pushpull_start(struct swim *s, struct in_addr addr, uint16_t port, bool join,
			  const struct node *peer)
{
	struct pending *p;
	uint8_t *msg;
	size_t len;
	int err;

	if (!s->ops.send_stream)
		return -EOPNOTSUPP;
	err = encode_state(s, join, peer, &msg, &len);
	if (err)
		return err;
	p = pending_new(s, P_PUSHPULL);
	if (!p) {
		free(msg);
		return -ENOMEM;
	}
	p->join = join;
	s->st.msgs_out[GW_PUSHPULL]++;
	s->st.bytes_out += len;
	s->ops.send_stream(s->arg, p->id, addr, port, msg, len);
	free(msg);
	return 0;
}

static void pushpull(struct swim *s)
{
	struct node *peer;

	if (k_random(s, 1, &peer, ok_alive_other, NULL) == 1)
		(void)pushpull_start(s, peer->addr, peer->port, false, peer);
}

/* Serf's reconnect: with probability failed/alive, a Join with one failed member. */
static void reconnect(struct swim *s)
{
	size_t i, alive;
	struct failed *f;
	struct node *n;

	for (i = 0; i < s->nfailed;) {
		if (s->now - s->failed[i].since > RECONNECT_KEEP_MS) {
			free(s->failed[i].name);
			s->failed[i] = s->failed[--s->nfailed];
		} else {
			i++;
		}
	}
	if (!s->nfailed || s->leaving)
		return;
	alive = s->count[GW_STATE_ALIVE] + s->count[GW_STATE_SUSPECT];
	if (rnd_unit(s) > (double)s->nfailed / (double)(alive ? alive : 1))
		return;
	f = &s->failed[rnd_below(s, s->nfailed)];
	n = node_find(s, f->name);
	if (n && !dead_or_left(n))
		return;
	(void)pushpull_start(s, f->addr, f->port, true, NULL);
}
/* ---- packet input ---- */

struct rx {
	struct swim *s;
	struct in_addr from;
	uint16_t port;
};

static void on_ping(struct swim *s, const struct rx *rx, const struct gw_msg *m)
{
	const struct gw_ping *p = &m->u.ping;
	struct gw_msg ack;
	struct in_addr dst = rx->from;
	uint16_t port = rx->port;

	if (p->node[0] && strcmp(p->node, s->cfg.name))
		return;
	memset(&ack, 0, sizeof(ack));
	ack.type = GW_ACK;
	ack.u.ack.seq = p->seq;
	if (p->src_addr.s_addr && p->src_port) {
		dst = p->src_addr;
		port = p->src_port;
	}
	send_msg(s, dst, port, NULL, &ack);
}

static void on_iping(struct swim *s, const struct rx *rx, const struct gw_msg *m)
{
	const struct gw_indirect_ping *ip = &m->u.iping;
	struct helper *h;
	struct gw_msg ping;

	if (!ip->target.s_addr) {
		s->st.decode_errors++;
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return;
	timer_init(&h->t, T_HELPER);
	h->seq = ++s->seq;
	h->orig_seq = ip->seq;
	h->nack = ip->nack;
	h->to = rx->from;
	h->to_port = rx->port;
	if (ip->src_addr.s_addr && ip->src_port) {
		h->to = ip->src_addr;
		h->to_port = ip->src_port;
	}
	if (timer_arm(s, &h->t, s->now + s->cfg.probe_timeout)) {
		free(h);
		return;
	}
	h->next = s->helpers;
	if (s->helpers)
		s->helpers->prev = h;
	s->helpers = h;
	self_ping(s, &ping, h->seq, ip->node);
	send_msg(s, ip->target, ip->port ? ip->port : s->cfg.port, NULL, &ping);
}

static void on_ack(struct swim *s, const struct rx *rx, const struct gw_msg *m)
{
	uint32_t seq = m->u.ack.seq;
	struct helper *h;

	if (probe_acked(s, seq))
		return;
	for (h = s->helpers; h; h = h->next) {
		if (h->seq == seq) {
			struct gw_msg ack;

			memset(&ack, 0, sizeof(ack));
			ack.type = GW_ACK;
			ack.u.ack.seq = h->orig_seq;
			h->nack = false;
			send_msg(s, h->to, h->to_port, NULL, &ack);
			helper_del(s, h);
			return;
		}
	}
}

static void on_nack(struct swim *s, const struct rx *rx, const struct gw_msg *m)
{
	if (s->probe.phase != PROBE_IDLE && m->u.nack.seq == s->probe.seq)
		s->probe.nacks++;
}

static void on_alive(struct swim *s, const struct rx *rx, const struct gw_msg *m)
{
	if (!m->u.alive.node[0] || !m->u.alive.port || !m->u.alive.addr.s_addr) {
		s->st.decode_errors++;
		return;
	}
	alive_node(s, &m->u.alive, false);
}

static void on_suspect(struct swim *s, const struct rx *rx, const struct gw_msg *m)
{
	if (!m->u.suspect.node[0] || !m->u.suspect.from[0]) {
		s->st.decode_errors++;
		return;
	}
	suspect_node(s, m->u.suspect.node, m->u.suspect.inc, m->u.suspect.from);
}

static void on_dead(struct swim *s, const struct rx *rx, const struct gw_msg *m)
{
	if (!m->u.dead.node[0] || !m->u.dead.from[0]) {
		s->st.decode_errors++;
		return;
	}
	dead_node(s, m->u.dead.node, m->u.dead.inc, m->u.dead.from);
}

static void on_user(struct swim *s, const struct rx *rx, const struct gw_msg *m)
{
	if (m->u.user.len && s->ops.user_msg)
		s->ops.user_msg(s->arg, m->u.user.data, m->u.user.len);
}

typedef void (*rx_fn)(struct swim *s, const struct rx *rx, const struct gw_msg *m);

/* What a UDP leaf may be; everything else is counted and dropped. */
static const rx_fn rx_table[14] = {
	[GW_PING] = on_ping,	   [GW_INDIRECT_PING] = on_iping, [GW_ACK] = on_ack,
	[GW_SUSPECT] = on_suspect, [GW_ALIVE] = on_alive,	  [GW_DEAD] = on_dead,
	[GW_USER] = on_user,	   [GW_NACK] = on_nack,
};

static void rx_leaf(void *arg, const uint8_t *buf, size_t len)
{
	const struct rx *rx = arg;
	struct swim *s = rx->s;
	struct gw_msg m;

	if (!len || buf[0] >= 14 || !rx_table[buf[0]]) {
		if (len && buf[0] < 14)
			s->st.msgs_in[buf[0]]++;
		s->st.decode_errors++;
		return;
	}
	s->st.msgs_in[buf[0]]++;
	if (gw_msg_decode(buf, len, &m) || m.type != (enum gw_type)buf[0]) {
		s->st.decode_errors++;
		return;
	}
	rx_table[buf[0]](s, rx, &m);
}

void swim_handle_packet(struct swim *s, uint64_t now, struct in_addr from, uint16_t from_port,
			const uint8_t *buf, size_t len)
{
	struct rx rx = {.s = s, .from = from, .port = from_port};

	s->now = now;
	s->st.bytes_in += len;
	if (gw_packet_walk(buf, len, rx_leaf, &rx) < 0)
		s->st.decode_errors++;
}

/* ---- streams ---- */

int swim_handle_stream(struct swim *s, uint64_t now, const struct gw_stream_msg *m, uint8_t **reply,
		       size_t *reply_len)
{
	int err;

	s->now = now;
	*reply = NULL;
	*reply_len = 0;
	switch (m->kind) {
	case GW_STREAM_PUSHPULL:
		s->st.msgs_in[GW_PUSHPULL]++;
		/* memberlist answers first, then verifies and merges */
		err = encode_state(s, m->pp.join, NULL, reply, reply_len);
		if (err)
			return err;
		s->st.msgs_out[GW_PUSHPULL]++;
		s->st.bytes_out += *reply_len;
		(void)merge_remote(s, &m->pp, m->pp.join);
		return 0;
	case GW_STREAM_PING: {
		struct gw_msg ack;
		uint8_t buf[64];
		size_t len;

		s->st.msgs_in[GW_PING]++;
		if (m->msg.u.ping.node[0] && strcmp(m->msg.u.ping.node, s->cfg.name))
			return 0;
		memset(&ack, 0, sizeof(ack));
		ack.type = GW_ACK;
		ack.u.ack.seq = m->msg.u.ping.seq;
		err = gw_msg_encode(&ack, buf, sizeof(buf), &len);
		if (err)
			return err;
		*reply = malloc(len);
		if (!*reply)
			return -ENOMEM;
		memcpy(*reply, buf, len);
		*reply_len = len;
		s->st.msgs_out[GW_ACK]++;
		return 0;
	}
	case GW_STREAM_USER:
		s->st.msgs_in[GW_USER]++;
		if (m->msg.u.user.len && s->ops.user_msg)
			s->ops.user_msg(s->arg, m->msg.u.user.data, m->msg.u.user.len);
		return 0;
	default:
		s->st.decode_errors++;
		return 0;
	}
}

static struct pending *pending_find(struct swim *s, uint64_t id)
{
	struct pending *p;

	for (p = s->pend; p && p->id != id; p = p->next)
		;
	return p;
}

static void ping_result(struct swim *s, uint32_t seq, bool ok)
{
	if (s->probe.phase == PROBE_IDLE || s->probe.seq != seq || s->probe.tcp != TCP_PENDING)
		return;
	s->probe.tcp = ok ? TCP_OK : TCP_FAIL;
}

void swim_stream_done(struct swim *s, uint64_t now, uint64_t id, const struct gw_stream_msg *reply)
{
	struct pending *p;

	s->now = now;
	p = pending_find(s, id);
	if (!p)
		return;
	if (p->kind == P_PING) {
		ping_result(s, p->seq,
			    reply->kind == GW_STREAM_ACK && reply->msg.u.ack.seq == p->seq);
	} else if (reply->kind == GW_STREAM_PUSHPULL) {
		bool join = p->join;

		s->st.msgs_in[GW_PUSHPULL]++;
		pending_del(s, p);
		(void)merge_remote(s, &reply->pp, join);
		return;
	}
	pending_del(s, p);
}

void swim_stream_failed(struct swim *s, uint64_t now, uint64_t id)
{
	struct pending *p;

	s->now = now;
	p = pending_find(s, id);
	if (!p)
		return;
	if (p->kind == P_PING)
		ping_result(s, p->seq, false);
	pending_del(s, p);
}

/* ---- timers ---- */

static uint64_t stagger(struct swim *s, uint32_t interval)
{
	return s->now + (interval ? rnd_below(s, interval) : 0);
}

static void fire(struct swim *s, struct timer *t)
{
	switch (t->kind) {
	case T_PROBE:
		probe_fired(s);
		break;
	case T_GOSSIP:
		(void)timer_arm(s, t, s->now + s->cfg.gossip_interval);
		s->last_gossip = s->now;
		gossip(s);
		break;
	case T_PUSHPULL:
		(void)timer_arm(s, t, s->now + pushpull_scale(s));
		pushpull(s);
		break;
	case T_RECONNECT:
		(void)timer_arm(s, t, s->now + s->cfg.pushpull_interval);
		reconnect(s);
		break;
	case T_LEAVE:
		s->leave_done = true;
		break;
	case T_SUSPECT:
		suspicion_fired(s, container_of(t, struct suspicion, t));
		break;
	case T_HELPER:
		helper_fired(s, container_of(t, struct helper, t));
		break;
	case T_STREAM: {
		struct pending *p = container_of(t, struct pending, t);

		if (p->kind == P_PING)
			ping_result(s, p->seq, false);
		pending_del(s, p);
		break;
	}
	}
}

uint64_t swim_tick(struct swim *s, uint64_t now)
{
	struct heap_node *n;

	s->now = now;
	while ((n = heap_min(&s->heap)) && n->key <= now) {
		heap_remove(&s->heap, n);
		fire(s, container_of(n, struct timer, hn));
	}
	return swim_next_deadline(s);
}

uint64_t swim_next_deadline(const struct swim *s)
{
	const struct heap_node *n = heap_min(&s->heap);

	return n ? n->key : UINT64_MAX;
}

/* ---- life cycle ---- */

void swim_config_lan(struct swim_config *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->vsn, gw_vsn_default, GW_VSN_LEN);
	c->port = 7946;
	c->probe_interval = 1000;
	c->probe_timeout = 500;
	c->indirect_checks = 3;
	c->suspicion_mult = 4;
	c->suspicion_max_timeout_mult = 6;
	c->retransmit_mult = 4;
	c->gossip_interval = 200;
	c->gossip_nodes = 3;
	c->gossip_to_the_dead_time = 30000;
	c->pushpull_interval = 30000;
	c->tcp_timeout = 10000;
	c->awareness_max_multiplier = 8;
}

static bool config_valid(const struct swim_config *c)
{
	return c->name[0] && memchr(c->name, 0, sizeof(c->name)) && c->meta_len <= GW_META_MAX &&
	       vsn_valid(c->vsn) && c->probe_interval && c->probe_timeout &&
	       c->awareness_max_multiplier && c->retransmit_mult;
}

int swim_create(struct swim **out, const struct swim_config *cfg, const struct swim_ops *ops,
		void *arg, uint64_t now)
{
	struct gw_alive a;
	struct swim *s;
	uint64_t seed;
	int i;

	if (!config_valid(cfg))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	if (ops)
		s->ops = *ops;
	s->arg = arg;
	s->now = now;
	seed = cfg->seed;
	for (i = 0; i < 4; i++)
		s->rng[i] = splitmix64(&seed);
	s->hcap = 16;
	s->htab = calloc(s->hcap, sizeof(*s->htab));
	if (!s->htab)
		goto err_free;
	timer_init(&s->probe_t, T_PROBE);
	timer_init(&s->gossip_t, T_GOSSIP);
	timer_init(&s->pushpull_t, T_PUSHPULL);
	timer_init(&s->reconnect_t, T_RECONNECT);
	timer_init(&s->leave_t, T_LEAVE);

	memset(&a, 0, sizeof(a));
	a.inc = s->inc = 1;
	snprintf(a.node, sizeof(a.node), "%s", cfg->name);
	a.addr = cfg->addr;
	a.port = cfg->port;
	memcpy(a.meta, cfg->meta, cfg->meta_len);
	a.meta_len = cfg->meta_len;
	memcpy(a.vsn, cfg->vsn, GW_VSN_LEN);
	s->self = node_new(s, &a);
	if (!s->self)
		goto err_free;
	alive_node(s, &a, true);

	if (timer_arm(s, &s->probe_t, stagger(s, cfg->probe_interval)))
		goto err_destroy;
	if (cfg->gossip_interval && timer_arm(s, &s->gossip_t, stagger(s, cfg->gossip_interval)))
		goto err_destroy;
	if (cfg->pushpull_interval &&
	    (timer_arm(s, &s->pushpull_t, stagger(s, cfg->pushpull_interval)) ||
	     timer_arm(s, &s->reconnect_t, stagger(s, cfg->pushpull_interval))))
		goto err_destroy;
	*out = s;
	return 0;

err_destroy:
	swim_destroy(s);
	return -ENOMEM;
err_free:
	free(s->htab);
	free(s);
	return -ENOMEM;
}

void swim_destroy(struct swim *s)
{
	size_t i;

	if (!s)
		return;
	while (s->helpers)
		helper_del(s, s->helpers);
	while (s->pend)
		pending_del(s, s->pend);
	bq_clear(s, &s->mq);
	bq_clear(s, &s->uq);
	for (i = 0; i < s->nn; i++) {
		susp_free(s, s->nodes[i]);
		free(s->nodes[i]->meta);
		free(s->nodes[i]);
	}
	for (i = 0; i < s->nfailed; i++)
		free(s->failed[i].name);
	free(s->failed);
	free(s->nodes);
	free(s->htab);
	heap_fini(&s->heap);
	free(s);
}

/* ---- actions ---- */

int swim_join(struct swim *s, uint64_t now, const struct in_addr *addrs, const uint16_t *ports,
	      size_t n)
{
	size_t i;
	int err = 0;

	s->now = now;
	for (i = 0; i < n; i++) {
		int e = pushpull_start(s, addrs[i], ports[i], true, NULL);

		if (e)
			err = e;
	}
	return err;
}

static bool any_alive_other(const struct swim *s)
{
	size_t i;

	for (i = 0; i < s->nn; i++)
		if (s->nodes[i] != s->self && !dead_or_left(s->nodes[i]))
			return true;
	return false;
}

int swim_leave(struct swim *s, uint64_t now)
{
	s->now = now;
	if (s->leaving)
		return 0;
	s->leaving = true;
	dead_node(s, s->cfg.name, s->self->inc, s->cfg.name);
	if (!any_alive_other(s))
		s->leave_done = true;
	else if (timer_arm(s, &s->leave_t, now + LEAVE_TIMEOUT_MS))
		s->leave_done = true;
	return 0;
}

int swim_leave_done(const struct swim *s)
{
	return s->leaving && s->leave_done;
}

int swim_set_meta(struct swim *s, uint64_t now, const uint8_t *meta, size_t len)
{
	struct gw_msg m;

	if (len > GW_META_MAX)
		return -EMSGSIZE;
	if (s->leaving)
		return -ESHUTDOWN;
	if (len && !meta)
		return -EINVAL;
	s->now = now;
	if (len)
		memcpy(s->cfg.meta, meta, len);
	s->cfg.meta_len = len;
	self_alive_msg(s, &m);
	m.u.alive.inc = ++s->inc;
	if (len)
		memcpy(m.u.alive.meta, meta, len);
	m.u.alive.meta_len = len;
	alive_node(s, &m.u.alive, true);
	return s->self->inc == s->inc ? 0 : -ENOMEM;
}
int swim_send_user(struct swim *s, const char *name, const uint8_t *payload, size_t len)
{
	const struct node *n = node_find(s, name);
	uint8_t *buf;

	if (!n)
		return -ENOENT;
	if (!len)
		return -EINVAL;
	if (len + 1 + 5 > GW_UDP_MAX)
		return -EMSGSIZE;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	buf[0] = GW_USER;
	memcpy(buf + 1, payload, len);
	s->st.msgs_out[GW_USER]++;
	raw_send(s, n->addr, n->port, n, buf, len + 1);
	free(buf);
	return 0;
}

/* ---- queries ---- */

size_t swim_member_count(const struct swim *s, enum gw_state state)
{
	return (unsigned)state < 4 ? s->count[state] : 0;
}

int swim_members(const struct swim *s, struct swim_member **out, size_t *n)
{
	size_t i;

	*out = calloc(s->nn, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < s->nn; i++)
		fill_member(s, s->nodes[i], &(*out)[i]);
	*n = s->nn;
	return 0;
}

const struct swim_member *swim_member_get(const struct swim *s, const char *name)
{
	struct swim *w = (struct swim *)s;
	const struct node *n = node_find(s, name);

	if (!n)
		return NULL;
	fill_member(s, n, &w->view);
	return &w->view;
}

void swim_stats_get(const struct swim *s, struct swim_stats *st)
{
	*st = s->st;
}

unsigned swim_awareness(const struct swim *s)
{
	return s->awareness;
}
