/* SPDX-License-Identifier: MIT */
/*
 * DOC: incarnation - how news changes swim's member table, as memberlist's
 * state.go does it: alive, suspect and dead messages against incarnation
 * numbers, refutation of what is said about us, suspicion timers with
 * independent confirmations; and the push/pull exchange that carries the
 * whole table: encoding ours, verifying and merging a remote one.
 */
#include "gossip/swim_int.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- incarnation rules (memberlist state.go) ---- */

void awareness_add(struct swim *s, int delta)
{
	int a = (int)s->awareness + delta, max = (int)s->cfg.awareness_max_multiplier - 1;

	if (a > max)
		a = max;
	if (a < 0)
		a = 0;
	s->awareness = (unsigned)a;
}

void self_alive_msg(const struct swim *s, struct gw_msg *m)
{
	const struct node *me = s->self;

	memset(m, 0, sizeof(*m));
	m->type = GW_ALIVE;
	m->u.alive.inc = me->inc;
	snprintf(m->u.alive.node, sizeof(m->u.alive.node), "%s", me->name);
	m->u.alive.addr = me->addr;
	m->u.alive.port = me->port;
	if (me->meta_len)
		memcpy(m->u.alive.meta, me->meta, me->meta_len);
	m->u.alive.meta_len = me->meta_len;
	memcpy(m->u.alive.vsn, me->vsn, GW_VSN_LEN);
}

static void refute(struct swim *s, uint32_t accused)
{
	struct gw_msg m;
	uint32_t inc = s->inc + 1;

	if (accused >= inc)
		inc = accused + 1;
	s->inc = inc;
	s->self->inc = inc;
	awareness_add(s, 1);
	s->st.refutes++;
	self_alive_msg(s, &m);
	bcast_msg(s, s->self, &m, false);
}

void susp_free(struct swim *s, struct node *n)
{
	if (!n->susp)
		return;
	timer_cancel(s, &n->susp->t);
	free(n->susp);
	n->susp = NULL;
}

bool vsn_valid(const uint8_t *v)
{
	return v[0] != 0 && v[1] != 0 && v[0] <= v[1];
}

void alive_node(struct swim *s, const struct gw_alive *a, bool bootstrap)
{
	struct node *n;
	bool updates = false, local, meta_changed;
	uint8_t old;
	struct gw_msg m;

	if (s->leaving && !strcmp(a->node, s->cfg.name))
		return;
	if (!vsn_valid(a->vsn))
		return;
	n = node_find(s, a->node);
	if (!n) {
		n = node_new(s, a);
		if (!n)
			return;
	} else if (n->addr.s_addr != a->addr.s_addr || n->port != a->port) {
		if (n->state != GW_STATE_LEFT) {
			if (s->ops.event) {
				struct swim_member c;

				memset(&c, 0, sizeof(c));
				snprintf(c.name, sizeof(c.name), "%s", a->node);
				c.addr = a->addr;
				c.port = a->port;
				memcpy(c.meta, a->meta, a->meta_len);
				c.meta_len = a->meta_len;
				memcpy(c.vsn, a->vsn, GW_VSN_LEN);
				c.inc = a->inc;
				c.state = GW_STATE_ALIVE;
				c.state_change = s->now;
				s->ops.event(s->arg, SWIM_EV_CONFLICT, &c);
			}
			return;
		}
		updates = true;
	}
	local = n == s->self;
	if (a->inc <= n->inc && !local && !updates)
		return;
	if (a->inc < n->inc && local)
		return;
	susp_free(s, n);
	old = n->state;
	meta_changed = n->meta_len != a->meta_len ||
		       (a->meta_len && memcmp(n->meta, a->meta, a->meta_len));
	if (!bootstrap && local) {
		if (a->inc == n->inc && !meta_changed && !memcmp(a->vsn, n->vsn, GW_VSN_LEN))
			return;
		refute(s, a->inc);
		return;
	}
	memset(&m, 0, offsetof(struct gw_msg, u));
	m.type = GW_ALIVE;
	m.u.alive = *a;
	bcast_msg(s, n, &m, false);
	memcpy(n->vsn, a->vsn, GW_VSN_LEN);
	n->inc = a->inc;
	if (meta_changed && set_meta(n, a->meta, a->meta_len))
		meta_changed = false;
	n->addr = a->addr;
	n->port = a->port;
	if (n->state != GW_STATE_ALIVE)
		set_state(s, n, GW_STATE_ALIVE);
	if (old == GW_STATE_DEAD || old == GW_STATE_LEFT) {
		failed_del(s, n->name);
		emit(s, SWIM_EV_JOIN, n);
		return;
	}
	if (old == GW_STATE_SUSPECT)
		emit(s, SWIM_EV_ALIVE, n);
	if (meta_changed)
		emit(s, SWIM_EV_UPDATE, n);
}

static uint64_t suspicion_timeout(const struct swim *s, size_t n)
{
	double scale = fmax(1.0, log10(fmax(1.0, (double)n)));

	return (uint64_t)s->cfg.suspicion_mult * (uint64_t)(scale * 1000) * s->cfg.probe_interval /
	       1000;
}

static bool susp_confirm(struct swim *s, struct suspicion *sp, const char *from)
{
	uint64_t h = hash64(from), timeout;
	uint32_t i;
	double frac, raw;

	if (sp->n >= sp->k)
		return false;
	for (i = 0; i <= sp->n; i++)
		if (sp->from[i] == h)
			return false;
	sp->from[++sp->n] = h;
	frac = log((double)sp->n + 1.0) / log((double)sp->k + 1.0);
	raw = (double)sp->max / 1000.0 - frac * ((double)sp->max - (double)sp->min) / 1000.0;
	timeout = (uint64_t)floor(1000.0 * raw);
	if (timeout < sp->min)
		timeout = sp->min;
	if (sp->start + timeout < s->now)
		timeout = s->now - sp->start;
	(void)timer_arm(s, &sp->t, sp->start + timeout);
	return true;
}

void suspect_node(struct swim *s, const char *name, uint32_t inc, const char *from)
{
	struct node *n = node_find(s, name);
	struct suspicion *sp;
	struct gw_msg m;
	int64_t k;
	uint64_t min, max;

	if (!n || inc < n->inc)
		return;
	memset(&m, 0, sizeof(m));
	m.type = GW_SUSPECT;
	m.u.suspect.inc = inc;
	snprintf(m.u.suspect.node, sizeof(m.u.suspect.node), "%s", name);
	snprintf(m.u.suspect.from, sizeof(m.u.suspect.from), "%s", from);
	if (n->susp) {
		if (susp_confirm(s, n->susp, from))
			bcast_msg(s, n, &m, false);
		return;
	}
	if (n->state != GW_STATE_ALIVE)
		return;
	if (n == s->self) {
		refute(s, inc);
		return;
	}
	bcast_msg(s, n, &m, false);
	n->inc = inc;
	set_state(s, n, GW_STATE_SUSPECT);

	k = (int64_t)s->cfg.suspicion_mult - 2;
	if (k < 0 || (int64_t)s->nn - 2 < k)
		k = 0;
	min = suspicion_timeout(s, s->nn);
	max = (uint64_t)s->cfg.suspicion_max_timeout_mult * min;
	sp = calloc(1, sizeof(*sp) + ((size_t)k + 1) * sizeof(sp->from[0]));
	if (sp) {
		timer_init(&sp->t, T_SUSPECT);
		sp->node = n;
		sp->start = s->now;
		sp->min = min;
		sp->max = max;
		sp->k = (uint32_t)k;
		sp->from[0] = hash64(from);
		if (timer_arm(s, &sp->t, s->now + (k < 1 ? min : max)))
			free(sp);
		else
			n->susp = sp;
	}
	emit(s, SWIM_EV_SUSPECT, n);
}

void dead_node(struct swim *s, const char *name, uint32_t inc, const char *from)
{
	struct node *n = node_find(s, name);
	struct gw_msg m;

	if (!n || inc < n->inc)
		return;
	susp_free(s, n);
	if (dead_or_left(n))
		return;
	memset(&m, 0, sizeof(m));
	m.type = GW_DEAD;
	m.u.dead.inc = inc;
	snprintf(m.u.dead.node, sizeof(m.u.dead.node), "%s", name);
	snprintf(m.u.dead.from, sizeof(m.u.dead.from), "%s", from);
	if (n == s->self) {
		if (!s->leaving) {
			refute(s, inc);
			return;
		}
		bcast_msg(s, n, &m, true);
	} else {
		bcast_msg(s, n, &m, false);
	}
	n->inc = inc;
	if (!strcmp(name, from)) {
		set_state(s, n, GW_STATE_LEFT);
		failed_del(s, n->name);
		emit(s, SWIM_EV_LEFT, n);
	} else {
		set_state(s, n, GW_STATE_DEAD);
		if (n != s->self)
			failed_add(s, n);
		emit(s, SWIM_EV_FAILED, n);
	}
}

void suspicion_fired(struct swim *s, struct suspicion *sp)
{
	struct node *n = sp->node;

	if (n->state != GW_STATE_SUSPECT || n->state_change != sp->start) {
		susp_free(s, n);
		return;
	}
	dead_node(s, n->name, n->inc, s->cfg.name);
}
/* ---- our state for a push/pull (memberlist sendLocalState) ---- */

int encode_state(struct swim *s, bool join, const struct node *peer, uint8_t **out, size_t *len)
{
	struct gw_pushpull pp = {.join = join};
	struct swim_member pm;
	size_t i;
	int err;

	pp.nodes = calloc(s->nn, sizeof(*pp.nodes));
	if (!pp.nodes)
		return -ENOMEM;
	for (i = 0; i < s->nn; i++) {
		const struct node *n = s->nodes[i];
		struct gw_pp_node *p = &pp.nodes[i];

		snprintf(p->name, sizeof(p->name), "%s", n->name);
		p->addr = n->addr;
		p->port = n->port;
		p->inc = n->inc;
		p->state = n->state;
		if (n->meta_len)
			memcpy(p->meta, n->meta, n->meta_len);
		p->meta_len = n->meta_len;
		memcpy(p->vsn, n->vsn, GW_VSN_LEN);
	}
	pp.n = s->nn;
	if (s->ops.local_state) {
		if (peer)
			fill_member(s, peer, &pm);
		s->ops.local_state(s->arg, peer ? &pm : NULL, join, &pp.user_state,
				   &pp.user_state_len);
		if (!pp.user_state)
			pp.user_state_len = 0;
	}
	err = gw_pushpull_encode(&pp, out, len);
	free(pp.user_state);
	free(pp.nodes);
	return err;
}
/* ---- merging a push/pull (memberlist mergeRemoteState) ---- */

struct vbounds {
	uint8_t maxpmin, minpmax, maxdmin, mindmax;
};

static void vsn_widen(struct vbounds *b, const uint8_t *v)
{
	if (v[0] > b->maxpmin)
		b->maxpmin = v[0];
	if (v[1] < b->minpmax)
		b->minpmax = v[1];
	if (v[3] > b->maxdmin)
		b->maxdmin = v[3];
	if (v[4] < b->mindmax)
		b->mindmax = v[4];
}

static bool vsn_fits(const struct vbounds *b, const uint8_t *v)
{
	return v[2] >= b->maxpmin && v[2] <= b->minpmax && v[5] >= b->maxdmin && v[5] <= b->mindmax;
}

/* verifyProtocol: every node's current versions within the cluster-wide ranges. */
static int verify_protocol(const struct swim *s, const struct gw_pushpull *pp)
{
	struct vbounds b = {0, 255, 0, 255};
	size_t i;

	for (i = 0; i < pp->n; i++)
		if (pp->nodes[i].state == GW_STATE_ALIVE)
			vsn_widen(&b, pp->nodes[i].vsn);
	for (i = 0; i < s->nn; i++)
		if (s->nodes[i]->state == GW_STATE_ALIVE)
			vsn_widen(&b, s->nodes[i]->vsn);
	for (i = 0; i < pp->n; i++)
		if (!vsn_fits(&b, pp->nodes[i].vsn))
			return -EPROTO;
	for (i = 0; i < s->nn; i++)
		if (!vsn_fits(&b, s->nodes[i]->vsn))
			return -EPROTO;
	return 0;
}

int merge_remote(struct swim *s, const struct gw_pushpull *pp, bool join)
{
	size_t i;
	int err = verify_protocol(s, pp);

	if (err)
		return err;
	for (i = 0; i < pp->n; i++) {
		const struct gw_pp_node *r = &pp->nodes[i];

		if (!r->name[0])
			continue;
		switch (r->state) {
		case GW_STATE_ALIVE: {
			struct gw_alive a;

			memset(&a, 0, offsetof(struct gw_alive, meta));
			a.inc = r->inc;
			snprintf(a.node, sizeof(a.node), "%s", r->name);
			a.addr = r->addr;
			a.port = r->port;
			memcpy(a.meta, r->meta, r->meta_len);
			a.meta_len = r->meta_len;
			memcpy(a.vsn, r->vsn, GW_VSN_LEN);
			alive_node(s, &a, false);
			break;
		}
		case GW_STATE_LEFT:
			dead_node(s, r->name, r->inc, r->name);
			break;
		case GW_STATE_DEAD:
		case GW_STATE_SUSPECT:
			suspect_node(s, r->name, r->inc, s->cfg.name);
			break;
		}
	}
	if (pp->user_state_len && s->ops.merge_state)
		s->ops.merge_state(s->arg, pp->user_state, pp->user_state_len, join);
	return 0;
}
