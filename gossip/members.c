// SPDX-License-Identifier: MIT
/*
 * members: swim's member table and the helpers every part of swim shares
 * (timers on the heap, node lookup and creation, state changes and their
 * events).  The bottom of gossip/'s swim files: swim.c (the protocol),
 * incarnation.c (alive/suspect/dead rules) and bcast.c (the broadcast
 * queues) call it, and it calls none of them.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/heap.h"
#include "gossip/swim_int.h"

/* ---- randomness: xoshiro256** seeded by splitmix64 (swim.c) ---- */

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rnd(struct swim *s)
{
	uint64_t *r = s->rng, res = rotl(r[1] * 5, 7) * 9, t = r[1] << 17;

	r[2] ^= r[0];
	r[3] ^= r[1];
	r[1] ^= r[2];
	r[0] ^= r[3];
	r[2] ^= t;
	r[3] = rotl(r[3], 45);
	return res;
}

size_t rnd_below(struct swim *s, size_t n)
{
	return n ? (size_t)(rnd(s) % n) : 0;
}

double rnd_unit(struct swim *s)
{
	return (double)(rnd(s) >> 11) * 0x1.0p-53;
}

static uint32_t hash32(const char *p)
{
	uint32_t h = 2166136261u;

	while (*p) {
		h ^= (uint8_t)*p++;
		h *= 16777619u;
	}
	return h;
}

static int htab_grow(struct swim *s)
{
	size_t cap = s->hcap * 2, i;
	struct node **t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (i = 0; i < s->hcap; i++) {
		struct node *n = s->htab[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			n->hnext = t[n->hash & (cap - 1)];
			t[n->hash & (cap - 1)] = n;
		}
	}
	free(s->htab);
	s->htab = t;
	s->hcap = cap;
	return 0;
}

size_t enc_overhead(const struct swim *s)
{
	return s->cfg.encrypted ? GW_ENC_OVERHEAD : 0;
}

/* Timers due together fire in arming order; moving an armed one keeps its turn. */
int timer_arm(struct swim *s, struct timer *t, uint64_t when)
{
	int err;

	if (heap_node_queued(&t->hn)) {
		t->hn.key = when;
		heap_update(&s->heap, &t->hn);
		return 0;
	}
	err = heap_reserve(&s->heap, s->heap.len + 1);
	if (err)
		return err;
	t->hn.key = when;
	heap_push(&s->heap, &t->hn);
	return 0;
}

bool dead_or_left(const struct node *n)
{
	return n->state == GW_STATE_DEAD || n->state == GW_STATE_LEFT;
}

void emit(struct swim *s, enum swim_ev_type ev, const struct node *n)
{
	struct swim_member m;

	if (!s->ops.event || n == s->self)
		return;
	fill_member(s, n, &m);
	s->ops.event(s->arg, ev, &m);
}

void failed_add(struct swim *s, const struct node *n)
{
	struct failed *f;

	failed_del(s, n->name);
	if (s->nfailed == s->fcap) {
		size_t cap = s->fcap ? 2 * s->fcap : 16;

		f = realloc(s->failed, cap * sizeof(*f));
		if (!f)
			return;
		s->failed = f;
		s->fcap = cap;
	}
	f = &s->failed[s->nfailed];
	f->name = strdup(n->name);
	if (!f->name)
		return;
	f->hash = n->hash;
	f->addr = n->addr;
	f->port = n->port;
	f->since = s->now;
	s->nfailed++;
}
void failed_del(struct swim *s, const char *name)
{
	uint32_t h;
	size_t i;

	if (!s->nfailed)
		return;
	h = hash32(name);
	for (i = 0; i < s->nfailed; i++) {
		if (s->failed[i].hash != h || strcmp(s->failed[i].name, name))
			continue;
		free(s->failed[i].name);
		s->failed[i] = s->failed[--s->nfailed];
		return;
	}
}

void fill_member(const struct swim *s, const struct node *n, struct swim_member *m)
{
	memset(m, 0, offsetof(struct swim_member, meta));
	snprintf(m->name, sizeof(m->name), "%s", n->name);
	m->addr = n->addr;
	m->port = n->port;
	if (n->meta_len)
		memcpy(m->meta, n->meta, n->meta_len);
	m->meta_len = n->meta_len;
	memcpy(m->vsn, n->vsn, GW_VSN_LEN);
	m->inc = n->inc;
	m->state = n->state;
	m->state_change = n->state_change;
	m->is_self = n == s->self;
}

uint64_t hash64(const char *p)
{
	uint64_t h = 14695981039346656037ull;

	while (*p) {
		h ^= (uint8_t)*p++;
		h *= 1099511628211ull;
	}
	return h;
}

struct node *node_find(const struct swim *s, const char *name)
{
	uint32_t h = hash32(name);
	struct node *n;

	for (n = s->htab[h & (s->hcap - 1)]; n; n = n->hnext)
		if (n->hash == h && !strcmp(n->name, name))
			return n;
	return NULL;
}

/* memberlist creates unknown nodes dead, at a random place in the probe list. */
struct node *node_new(struct swim *s, const struct gw_alive *a)
{
	size_t len = strlen(a->node), off;
	struct node *n;

	if (s->nn + 1 > s->hcap && htab_grow(s))
		return NULL;
	if (s->nn == s->ncap) {
		size_t cap = s->ncap ? 2 * s->ncap : 16;
		struct node **v = realloc(s->nodes, cap * sizeof(*v));

		if (!v)
			return NULL;
		s->nodes = v;
		s->ncap = cap;
	}
	n = calloc(1, sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	memcpy(n->name, a->node, len + 1);
	if (set_meta(n, a->meta, a->meta_len)) {
		free(n);
		return NULL;
	}
	n->hash = hash32(n->name);
	n->addr = a->addr;
	n->port = a->port;
	memcpy(n->vsn, a->vsn, GW_VSN_LEN);
	n->state = GW_STATE_DEAD;
	n->state_change = s->now;
	s->count[GW_STATE_DEAD]++;
	n->hnext = s->htab[n->hash & (s->hcap - 1)];
	s->htab[n->hash & (s->hcap - 1)] = n;
	off = rnd_below(s, s->nn);
	s->nodes[s->nn] = s->nodes[off];
	s->nodes[off] = n;
	s->nn++;
	return n;
}

int set_meta(struct node *n, const uint8_t *meta, size_t len)
{
	uint8_t *m = NULL;

	if (len) {
		m = malloc(len);
		if (!m)
			return -ENOMEM;
		memcpy(m, meta, len);
	}
	free(n->meta);
	n->meta = m;
	n->meta_len = (uint16_t)len;
	return 0;
}

void set_state(struct swim *s, struct node *n, uint8_t st)
{
	s->count[n->state]--;
	s->count[st]++;
	n->state = st;
	n->state_change = s->now;
}

void timer_cancel(struct swim *s, struct timer *t)
{
	heap_remove(&s->heap, &t->hn);
}

void timer_init(struct timer *t, enum tkind kind)
{
	heap_node_init(&t->hn);
	t->hn.key = 0;
	t->kind = kind;
}
