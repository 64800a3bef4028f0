// SPDX-License-Identifier: MIT
/*
 * broker: the IPAM request protocol as a state machine (see broker.h and
 * docs/ipam.md).  Ported from driver/ipamc.c with its decisions unchanged.
 *
 * A space search asks one donor at a time: the answer must carry the
 * request's seq (one answer per request), "granted" keeps waiting for the
 * entry (3x the timeout), "none" or silence moves on to a donor not asked in
 * this search, IPAM_BROKER_ASK_TRIES sends end it, and a failed search is
 * held for IPAM_BROKER_FAIL_HOLD_MS.  The search ends as soon as self owns
 * free space, however it came.  Address requests are kept per address with
 * their answer, which serves later leases of it for ANSWER_KEEP_MS.
 */
#include "ipam/broker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ans { ANS_NONE, ANS_GRANTED, ANS_LEASED, ANS_NOT_OWNER, ANS_TIMEOUT };

struct ipreq {
	uint32_t ip;
	char owner[RING_ID_MAX];
	uint64_t seq, deadline, at;
	enum ans ans;
};

struct ipam_broker {
	struct ring *ring;
	struct ring_leases *held;
	char self[RING_ID_MAX];
	const struct ipam_broker_ops *ops;
	void *arg;
	uint64_t rng, seq_next;
	/* the space search; waiting: no donor left, but our view is stale */
	bool asking, waiting, stale, failed;
	char asked[RING_ID_MAX];
	uint64_t seq, deadline; /* seq 0: the answer came (or none is due) */
	unsigned tries, fail_tries;
	char refused[2 * IPAM_BROKER_ASK_TRIES][RING_ID_MAX];
	bool said_none[2 * IPAM_BROKER_ASK_TRIES]; /* answered "none" (else silent) */
	size_t nrefused;
	uint64_t failed_at, wait_until;
	char hint[RING_ID_MAX]; /* a refuser's suggestion for the next donor */
	/* reports gathered for one donor pick */
	struct ring_report *rep;
	size_t nrep, caprep;
	struct ipreq *ipr;
	size_t nipr;
	struct ipam_broker_stats st;
};

static uint64_t rnd(struct ipam_broker *b)
{
	uint64_t z = (b->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t next_seq(struct ipam_broker *b)
{
	if (!++b->seq_next) /* 0 means "no request" */
		++b->seq_next;
	return b->seq_next;
}

static void why_set(struct ipam_broker_why_info *w, enum ipam_broker_why why, const char *peer,
		    int err)
{
	if (!w)
		return;
	memset(w, 0, sizeof(*w));
	w->why = why;
	w->err = err;
	if (peer)
		snprintf(w->peer, sizeof(w->peer), "%s", peer);
}

int ipam_broker_create(struct ipam_broker **out, const struct ipam_broker_config *cfg,
		       const struct ipam_broker_ops *ops, void *arg)
{
	struct ipam_broker *b;

	*out = NULL;
	if (!cfg->ring || !cfg->held || !cfg->self || !cfg->self[0] ||
	    strlen(cfg->self) >= RING_ID_MAX || !ops->send || !ops->publish || !ops->wake ||
	    !ops->member_state || !ops->retired || !ops->reports)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->ring = cfg->ring;
	b->held = cfg->held;
	snprintf(b->self, sizeof(b->self), "%s", cfg->self);
	b->ops = ops;
	b->arg = arg;
	b->rng = cfg->seed;
	b->seq_next = (uint64_t)(uint32_t)(cfg->seed >> 32) << 16;
	*out = b;
	return 0;
}

void ipam_broker_destroy(struct ipam_broker *b)
{
	if (!b)
		return;
	free(b->rep);
	free(b->ipr);
	free(b);
}

/* ---- asking for space ---- */

/* 0 not refused in this search, 1 silent, 2 answered "none". */
static int refused(const struct ipam_broker *b, const char *id)
{
	for (size_t i = 0; i < b->nrefused; i++)
		if (!strcmp(b->refused[i], id))
			return b->said_none[i] ? 2 : 1;
	return 0;
}

static void report_cb(void *cbarg, const struct ring_report *r)
{
	struct ipam_broker *b = cbarg;
	uint64_t size = ring_size(b->ring);

	if (!r->free || !r->id[0] || !strcmp(r->id, b->self) ||
	    b->ops->member_state(b->arg, r->id) != 1)
		return;
	if (refused(b, r->id)) {
		/* It said "none", yet its last report shows free space: it gave
		 * that space away since, and the entries are on their way.
		 * (Silence says nothing of the kind.) */
		b->stale |= refused(b, r->id) == 2;
		return;
	}
	if (b->nrep == b->caprep) {
		size_t cap = b->caprep ? 2 * b->caprep : 8;
		struct ring_report *g = realloc(b->rep, cap * sizeof(*g));

		if (!g)
			return;
		b->rep = g;
		b->caprep = cap;
	}
	b->rep[b->nrep] = *r;
	/* No honest report exceeds the space; a bogus one must not take every pick. */
	if (b->rep[b->nrep].free > size)
		b->rep[b->nrep].free = size;
	b->nrep++;
}

static void search_failed(struct ipam_broker *b, uint64_t now)
{
	b->asking = false;
	b->waiting = false;
	b->failed = true;
	b->failed_at = now;
	b->fail_tries = b->tries;
	b->tries = 0;
	b->nrefused = 0;
	b->ops->wake(b->arg);
}

static bool usable(struct ipam_broker *b, const char *id)
{
	return strcmp(id, b->self) && !refused(b, id) && b->ops->member_state(b->arg, id) == 1;
}

/* An owner in this view (it grows as grants arrive) that ok() accepts,
 * other than `not`, drawn with a chance proportional to the addresses it
 * owns: for when no report names a usable donor, and for the hint of a
 * "none".  Drawn, not the biggest: every host short of space at once would
 * otherwise ask the same one.  0 or -ENOENT. */
static int owner_draw(struct ipam_broker *b, bool (*ok)(struct ipam_broker *, const char *),
		      const char * not, char donor[RING_ID_MAX])
{
	struct ring_entry *map;
	uint64_t total = 0, at = 0;
	size_t n;

	if (ring_map(b->ring, &map, &n))
		return -ENOENT;
	for (int pass = 0; pass < 2 && (pass == 0 || total); pass++) {
		if (pass == 1)
			at = rnd(b) % total;
		for (size_t i = 0; i < n; i++) {
			uint64_t len = map[i].end - map[i].start;

			if ((not &&!strcmp(map[i].owner, not )) || !ok(b, map[i].owner))
				continue;
			if (pass == 0) {
				total += len;
			} else if (at < len) {
				snprintf(donor, RING_ID_MAX, "%s", map[i].owner);
				break;
			} else {
				at -= len;
			}
		}
	}
	free(map);
	return total ? 0 : -ENOENT;
}

/* A host worth naming to an asker: alive, and not us. */
static bool hintable(struct ipam_broker *b, const char *id)
{
	return strcmp(id, b->self) && b->ops->member_state(b->arg, id) == 1;
}

/* Send a space request to the next donor.  0 (asking, or waiting for news
 * after a refusal our view contradicts), -ENOSPC (nobody left). */
static int space_ask(struct ipam_broker *b, uint64_t now)
{
	char donor[RING_ID_MAX];
	unsigned max;
	int ret;

	b->nrep = 0;
	b->stale = false;
	b->ops->reports(b->arg, report_cb, b);
	/* A refuser's suggestion comes from a view fresher than ours about the
	 * space it gave away. */
	if (b->hint[0] && usable(b, b->hint)) {
		snprintf(donor, sizeof(donor), "%s", b->hint);
		ret = 0;
	} else {
		ret = ring_pick_donor(b->ring, b->rep, b->nrep, rnd(b), donor);
		if (ret || !usable(b, donor))
			ret = owner_draw(b, usable, NULL, donor);
	}
	b->hint[0] = '\0';
	/* Refusals our view contradicts are news on the way, not exhaustion. */
	max = b->stale ? 2 * IPAM_BROKER_ASK_TRIES : IPAM_BROKER_ASK_TRIES;
	if (ret && b->tries < max && b->stale && (!b->waiting || now < b->wait_until)) {
		if (!b->waiting)
			b->wait_until = now + IPAM_BROKER_NEWS_MS;
		b->waiting = true;
		return 0;
	}
	if (!ret && b->tries < max) {
		struct ipam_msg m = {.type = IPAM_MSG_SPACE_REQ};

		b->seq = m.seq = next_seq(b);
		snprintf(m.from, sizeof(m.from), "%s", b->self);
		ret = b->ops->send(b->arg, donor, &m);
		b->tries++;
		if (!ret) {
			b->st.space_asked++;
			b->asking = true;
			b->waiting = false;
			snprintf(b->asked, sizeof(b->asked), "%s", donor);
			b->deadline = now + IPAM_BROKER_ASK_TIMEOUT_MS;
			return 0;
		}
	}
	search_failed(b, now);
	return -ENOSPC;
}

static void space_refused(struct ipam_broker *b, uint64_t now, const char *who, bool none)
{
	if (b->nrefused < 2 * IPAM_BROKER_ASK_TRIES) {
		b->said_none[b->nrefused] = none;
		snprintf(b->refused[b->nrefused++], RING_ID_MAX, "%s", who);
	}
	b->asking = false;
	(void)space_ask(b, now);
}

/* Start a search unless one runs or just failed.  0 (running), -ENOSPC. */
static int space_want(struct ipam_broker *b, uint64_t now)
{
	if (b->asking)
		return 0;
	if (b->waiting)
		return space_ask(b, now); /* news may have come */
	if (b->failed && now - b->failed_at < IPAM_BROKER_FAIL_HOLD_MS)
		return -ENOSPC;
	b->failed = false;
	b->tries = 0;
	b->nrefused = 0;
	return space_ask(b, now);
}

void ipam_broker_ring_changed(struct ipam_broker *b)
{
	if ((b->asking || b->waiting) && ring_free(b->ring, b->held) > 0) {
		b->asking = false;
		b->waiting = false;
		b->nrefused = 0;
		b->failed = false;
	}
	b->ops->wake(b->arg);
}

/* ---- asking for one address ---- */

static struct ipreq *ipreq_find(struct ipam_broker *b, uint32_t ip)
{
	for (size_t i = 0; i < b->nipr; i++)
		if (b->ipr[i].ip == ip)
			return &b->ipr[i];
	return NULL;
}

static void ipreq_drop(struct ipam_broker *b, struct ipreq *r)
{
	*r = b->ipr[--b->nipr];
}

static int ip_ask(struct ipam_broker *b, uint64_t now, uint32_t ip, const char *owner)
{
	struct ipam_msg m = {.type = IPAM_MSG_IP_REQ, .ip = ip};
	struct ipreq *r = ipreq_find(b, ip);
	int ret;

	if (!r) {
		r = realloc(b->ipr, (b->nipr + 1) * sizeof(*r));
		if (!r)
			return -ENOMEM;
		b->ipr = r;
		r = &b->ipr[b->nipr++];
	}
	memset(r, 0, sizeof(*r));
	r->ip = ip;
	snprintf(r->owner, sizeof(r->owner), "%s", owner);
	r->seq = m.seq = next_seq(b);
	r->at = now;
	r->deadline = now + IPAM_BROKER_ASK_TIMEOUT_MS * 2;
	snprintf(m.from, sizeof(m.from), "%s", b->self);
	ret = b->ops->send(b->arg, owner, &m);
	if (ret) {
		ipreq_drop(b, r);
		return ret;
	}
	b->st.ip_asked++;
	return 0;
}

/* What an earlier request for ip from owner still says, or IPAM_WHY_OK. */
static enum ipam_broker_why ipreq_says(const struct ipreq *r, uint64_t now, const char *owner)
{
	bool same = r && !strcmp(r->owner, owner),
	     fresh = r && now - r->at < IPAM_BROKER_ANSWER_KEEP_MS;

	if (r && r->ans == ANS_LEASED && fresh)
		return IPAM_WHY_LEASED;
	if (same && (r->ans == ANS_NONE || r->ans == ANS_GRANTED) &&
	    now < r->deadline + (r->ans == ANS_GRANTED ? IPAM_BROKER_ASK_TIMEOUT_MS * 3 : 0))
		return IPAM_WHY_ASKING_OWNER;
	if (same && r->ans == ANS_TIMEOUT && fresh)
		return IPAM_WHY_SILENT;
	/* The owner in our view says it is not: its newer entry is on its way
	 * to us; wait for it rather than asking again. */
	if (same && r->ans == ANS_NOT_OWNER && fresh)
		return IPAM_WHY_MOVED;
	return IPAM_WHY_OK;
}

static const int why_errno[] = {
	[IPAM_WHY_LEASED] = -EADDRINUSE,
	[IPAM_WHY_ASKING_OWNER] = -EAGAIN,
	[IPAM_WHY_SILENT] = -EHOSTUNREACH,
	[IPAM_WHY_MOVED] = -EAGAIN,
};

static int lease_specific(struct ipam_broker *b, uint64_t now, uint32_t ip,
			  struct ipam_broker_why_info *why)
{
	char owner[RING_ID_MAX];
	struct ipreq *r;
	enum ipam_broker_why w;
	int ret, st;

	ret = ring_claim(b->ring, b->held, ip, owner);
	if (ret == 0) {
		r = ipreq_find(b, ip);
		if (r)
			ipreq_drop(b, r);
		return 0;
	}
	if (ret == -ENOENT) {
		/* The creation entry covers the whole space: it is on its way. */
		why_set(why, IPAM_WHY_NO_RECORD, NULL, 0);
		return -EAGAIN;
	}
	if (ret != -EREMOTE) {
		why_set(why, IPAM_WHY_RING, NULL, ret);
		return ret;
	}
	w = ipreq_says(ipreq_find(b, ip), now, owner);
	if (w != IPAM_WHY_OK) {
		why_set(why, w, owner, 0);
		return why_errno[w];
	}
	st = b->ops->member_state(b->arg, owner);
	if (st != 1) {
		why_set(why, IPAM_WHY_UNREACHABLE, owner, 0);
		if (why)
			why->state = st;
		return -EHOSTUNREACH;
	}
	ret = ip_ask(b, now, ip, owner);
	if (ret) {
		why_set(why, IPAM_WHY_SEND_FAILED, owner, ret);
		return -EHOSTUNREACH;
	}
	why_set(why, IPAM_WHY_ASKING_OWNER, owner, 0);
	return -EAGAIN;
}

static int lease_any(struct ipam_broker *b, uint64_t now, uint32_t *out,
		     struct ipam_broker_why_info *why)
{
	int ret = ring_alloc(b->ring, b->held, out);

	if (ret == -ENOSPC && !ring_entry_count(b->ring)) {
		/* Learnt the network, not yet its ownership entries. */
		why_set(why, IPAM_WHY_NO_RECORD, NULL, 0);
		return -EAGAIN;
	}
	if (ret == -ENOSPC) {
		if (space_want(b, now) == 0) {
			why_set(why, b->asking ? IPAM_WHY_ASKING_SPACE : IPAM_WHY_AWAIT_SPACE,
				b->asked, 0);
			return -EAGAIN;
		}
		why_set(why, IPAM_WHY_NO_DONOR, NULL, 0);
		if (why)
			why->tries = b->fail_tries;
		return -ENOSPC;
	}
	if (ret)
		why_set(why, IPAM_WHY_RING, NULL, ret);
	return ret;
}

int ipam_broker_lease(struct ipam_broker *b, uint64_t now, const uint32_t *want, uint32_t *out,
		      struct ipam_broker_why_info *why)
{
	int ret;

	if (b->ops->retired(b->arg, b->self)) {
		why_set(why, IPAM_WHY_RETIRED, NULL, 0);
		return -EPERM;
	}
	if (want) {
		ret = lease_specific(b, now, *want, why);
		if (!ret)
			*out = *want;
	} else {
		ret = lease_any(b, now, out, why);
	}
	if (ret)
		return ret;
	why_set(why, IPAM_WHY_OK, NULL, 0);
	/* Ask ahead, so bursts of attaches rarely wait. */
	if (!b->asking && !b->waiting && ring_free(b->ring, b->held) < IPAM_BROKER_LOW_WATER)
		(void)space_want(b, now);
	return 0;
}

/* ---- answering peers ---- */

/* Space given to a node that is not a live member, or was removed, would be
 * stranded; a removed host's space belongs to its remover. */
static bool may_donate(struct ipam_broker *b, const char *to)
{
	return !b->ops->retired(b->arg, b->self) && b->ops->member_state(b->arg, to) == 1 &&
	       !b->ops->retired(b->arg, to);
}

static void answer(struct ipam_broker *b, const struct ipam_msg *req, enum ipam_result res)
{
	struct ipam_msg m = {.type = req->type + 1, .seq = req->seq, .ip = req->ip, .result = res};

	snprintf(m.from, sizeof(m.from), "%s", b->self);
	/* Out of space: name another owner in our view, which knows where our
	 * space went before the asker's does. */
	if (res == IPAM_RES_NONE && req->type == IPAM_MSG_SPACE_REQ &&
	    owner_draw(b, hintable, req->from, m.hint))
		m.hint[0] = '\0';
	(void)b->ops->send(b->arg, req->from, &m);
}

/* Publish what was donated, hand it to the requester, then say so. */
static int grant(struct ipam_broker *b, const struct ipam_msg *req, const struct ring_entry *e)
{
	int ret = b->ops->publish(b->arg, e);

	if (ret)
		return ret;
	if (b->ops->send_entry)
		b->ops->send_entry(b->arg, req->from, e);
	answer(b, req, IPAM_RES_GRANTED);
	ipam_broker_ring_changed(b);
	return 0;
}

static void on_space_req(struct ipam_broker *b, const struct ipam_msg *m)
{
	struct ring_entry e;
	int ret = -EPERM;

	if (may_donate(b, m->from))
		ret = ring_donate(b->ring, b->held, m->from, 0, &e);
	if (ret == 0)
		ret = grant(b, m, &e);
	if (ret)
		answer(b, m, IPAM_RES_NONE);
	else
		b->st.space_given++;
}

static void on_ip_req(struct ipam_broker *b, const struct ipam_msg *m)
{
	struct ring_entry e;
	int ret = -EPERM;

	if (may_donate(b, m->from))
		ret = ring_donate_ip(b->ring, b->held, m->from, m->ip, &e);
	if (ret == 0)
		ret = grant(b, m, &e);
	if (ret == 0)
		b->st.ip_given++;
	else
		answer(b, m, ret == -EADDRINUSE ? IPAM_RES_LEASED : IPAM_RES_NOT_OWNER);
}

static void on_space_ans(struct ipam_broker *b, uint64_t now, const struct ipam_msg *m)
{
	/* The granted entry is sent before the answer and usually ends the
	 * search first (ring_changed()): still count the grant. */
	if (m->result == IPAM_RES_ABSENT || !b->seq || m->seq != b->seq)
		return;
	b->seq = 0; /* one answer per request */
	if (m->result == IPAM_RES_GRANTED) {
		b->st.space_granted++;
		/* The entry itself comes separately; wait for it. */
		if (b->asking)
			b->deadline = now + IPAM_BROKER_ASK_TIMEOUT_MS * 3;
	} else if (b->asking) {
		b->st.space_none++;
		if (strcmp(m->hint, b->self))
			snprintf(b->hint, sizeof(b->hint), "%s", m->hint);
		space_refused(b, now, b->asked, true);
	}
}

static void on_ip_ans(struct ipam_broker *b, uint64_t now, const struct ipam_msg *m)
{
	struct ipreq *r = ipreq_find(b, m->ip);

	if (m->result == IPAM_RES_ABSENT || !r || r->seq != m->seq ||
	    (r->ans != ANS_NONE && r->ans != ANS_TIMEOUT))
		return;
	r->at = now;
	if (m->result == IPAM_RES_GRANTED) {
		r->ans = ANS_GRANTED;
		b->st.ip_granted++;
	} else {
		r->ans = m->result == IPAM_RES_LEASED ? ANS_LEASED : ANS_NOT_OWNER;
		b->st.ip_refused++;
	}
	b->ops->wake(b->arg);
}

void ipam_broker_recv(struct ipam_broker *b, uint64_t now, const struct ipam_msg *m)
{
	bool from_peer = m->from[0] && strcmp(m->from, b->self);

	switch (m->type) {
	case IPAM_MSG_SPACE_REQ:
		if (from_peer)
			on_space_req(b, m);
		break;
	case IPAM_MSG_IP_REQ:
		if (from_peer)
			on_ip_req(b, m);
		break;
	case IPAM_MSG_SPACE_ANS:
		on_space_ans(b, now, m);
		break;
	case IPAM_MSG_IP_ANS:
		on_ip_ans(b, now, m);
		break;
	}
}

bool ipam_broker_tick(struct ipam_broker *b, uint64_t now)
{
	if (b->asking && now > b->deadline)
		space_refused(b, now, b->asked, false);
	else if (b->waiting)
		(void)space_ask(b, now); /* fresher reports, or the wait is over */
	for (size_t j = 0; j < b->nipr; j++) {
		struct ipreq *r = &b->ipr[j];

		if (r->ans == ANS_NONE && now > r->deadline) {
			r->ans = ANS_TIMEOUT;
			r->at = now;
			b->ops->wake(b->arg);
		} else if (r->ans != ANS_NONE && now - r->at > IPAM_BROKER_ANSWER_KEEP_MS) {
			ipreq_drop(b, r);
			j--;
		}
	}
	return b->asking || b->waiting || b->nipr;
}

const char *ipam_broker_asking(const struct ipam_broker *b)
{
	return b->asking ? b->asked : NULL;
}

void ipam_broker_stats_get(const struct ipam_broker *b, struct ipam_broker_stats *st)
{
	*st = b->st;
}

void ipam_broker_why_fmt(const struct ipam_broker_why_info *w, const char *net, const char *ip,
			 const char *peer, char *buf, size_t len)
{
	const char *p = peer ? peer : w->peer;

	switch (w->why) {
	case IPAM_WHY_OK:
		snprintf(buf, len, "network %s: ok", net);
		break;
	case IPAM_WHY_RETIRED:
		snprintf(buf, len,
			 "this host was removed from the cluster with `vxmesh node rm` and may not "
			 "allocate: stop the agent, move its state directory away and start it "
			 "again to join with a new identity");
		break;
	case IPAM_WHY_NO_RECORD:
		if (ip)
			snprintf(buf, len,
				 "address %s in network %s: no host owns it yet (waiting for the "
				 "network's ownership record)",
				 ip, net);
		else
			snprintf(buf, len, "network %s: waiting for the network's ownership record",
				 net);
		break;
	case IPAM_WHY_ASKING_SPACE:
		snprintf(buf, len, "network %s: waiting for host %s to donate addresses", net, p);
		break;
	case IPAM_WHY_AWAIT_SPACE:
		snprintf(buf, len,
			 "network %s: host %s had no addresses left to donate; waiting for news of "
			 "the hosts it gave them to",
			 net, p);
		break;
	case IPAM_WHY_NO_DONOR:
		snprintf(buf, len,
			 "no free addresses in network %s: this host owns none free and no "
			 "reachable host could donate (%u asked)",
			 net, w->tries);
		break;
	case IPAM_WHY_ASKING_OWNER:
		snprintf(buf, len, "address %s in network %s: waiting for host %s, its owner", ip,
			 net, p);
		break;
	case IPAM_WHY_LEASED:
		snprintf(buf, len, "address %s in network %s is already in use on host %s", ip, net,
			 p);
		break;
	case IPAM_WHY_SILENT:
		snprintf(buf, len,
			 "address %s in network %s is owned by host %s, which did not answer", ip,
			 net, p);
		break;
	case IPAM_WHY_MOVED:
		snprintf(buf, len,
			 "address %s in network %s: host %s no longer owns it; waiting for the "
			 "ownership record",
			 ip, net, p);
		break;
	case IPAM_WHY_UNREACHABLE:
		snprintf(buf, len,
			 "address %s in network %s is owned by host %s, which is unreachable (%s); "
			 "pick another address, or remove that host with `vxmesh node rm` if it is "
			 "gone for good",
			 ip, net, p, w->state == 0 ? "dead or left" : "dead, or not a member");
		break;
	case IPAM_WHY_SEND_FAILED:
		snprintf(buf, len, "address %s: cannot ask host %s: %s", ip, p, strerror(-w->err));
		break;
	case IPAM_WHY_RING:
		if (ip)
			snprintf(buf, len, "address %s in network %s: %s", ip, net,
				 strerror(-w->err));
		else
			snprintf(buf, len, "network %s: %s", net, strerror(-w->err));
		break;
	}
}
