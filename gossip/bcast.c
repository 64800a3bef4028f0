/* SPDX-License-Identifier: MIT */
/*
 * DOC: bcast - swim's two broadcast queues, memberlist's TransmitLimitedQueue:
 * the memberlist queue (at most one message per node, replaced by newer news
 * about it) and the user queue (replaced by key, bounded).  Piggybacked on
 * every packet, fewest transmits first, dropped at the retransmit limit.
 */
#include "gossip/swim_int.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define USER_QUEUE_MAX 4096 /* Serf's MaxQueueDepth */

/* ---- broadcast queues (memberlist's TransmitLimitedQueue) ---- */

static uint32_t retransmit_limit(const struct swim *s)
{
	return s->cfg.retransmit_mult * (uint32_t)ceil(log10((double)s->nn + 1));
}

static void bq_link(struct bqueue *q, struct bcast *b)
{
	struct bcast **head = &q->tier[b->transmits];

	b->prev = NULL;
	b->next = *head;
	if (*head)
		(*head)->prev = b;
	*head = b;
	if (!q->n || b->len < q->min_len)
		q->min_len = b->len;
	q->n++;
}

static void bq_unlink(struct bqueue *q, struct bcast *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		q->tier[b->transmits] = b->next;
	if (b->next)
		b->next->prev = b->prev;
	q->n--;
}

static void bc_free(struct swim *s, struct bcast *b)
{
	if (b->node)
		b->node->bc = NULL;
	if (b->leave)
		s->leave_done = true;
	free(b->msg);
	free(b->key);
	free(b);
}

void bq_clear(struct swim *s, struct bqueue *q)
{
	size_t t;

	for (t = 0; t < BQ_TIERS; t++) {
		while (q->tier[t]) {
			struct bcast *b = q->tier[t];

			bq_unlink(q, b);
			bc_free(s, b);
		}
	}
}

/* Queue a message about n, replacing any queued one about n. */
static void bcast_node(struct swim *s, struct node *n, const uint8_t *msg, size_t len, bool leave)
{
	uint8_t *copy = malloc(len);
	struct bcast *b = n->bc;

	if (!copy)
		return;
	memcpy(copy, msg, len);
	if (b) {
		/* the replaced broadcast counts as finished, as in memberlist */
		if (b->leave)
			s->leave_done = true;
		bq_unlink(&s->mq, b);
		free(b->msg);
	} else {
		b = calloc(1, sizeof(*b));
		if (!b) {
			free(copy);
			return;
		}
		b->node = n;
		n->bc = b;
	}
	b->msg = copy;
	b->len = len;
	b->transmits = 0;
	b->id = ++s->bc_id;
	b->leave = leave;
	bq_link(&s->mq, b);
}

void bcast_msg(struct swim *s, struct node *n, const struct gw_msg *m, bool leave)
{
	uint8_t buf[MSG_MAX];
	size_t len;

	if (gw_msg_encode(m, buf, sizeof(buf), &len) == 0)
		bcast_node(s, n, buf, len, leave);
}

/*
 * Take what fits into limit bytes (overhead per message), fewest transmits
 * first, as TransmitLimitedQueue.GetBroadcasts; what is taken moves up a tier
 * after the walk, or is dropped at the retransmit limit.
 */
static size_t bq_take(struct swim *s, struct bqueue *q, struct parts *ps, size_t overhead,
		      size_t limit)
{
	uint32_t tlimit = retransmit_limit(s);
	struct bcast *taken[GW_COMPOUND_MAX];
	size_t used = 0, nt = 0, i, t;

	if (tlimit > BQ_TIERS)
		tlimit = BQ_TIERS;
	for (t = 0; t < BQ_TIERS && q->n && ps->n < ps->max; t++) {
		struct bcast *b, *next;

		for (b = q->tier[t]; b && ps->n < ps->max; b = next) {
			next = b->next;
			if (used + overhead + q->min_len > limit)
				goto done;
			if (b->len > limit - used - overhead || ps->used + b->len > sizeof(ps->buf))
				continue;
			memcpy(ps->buf + ps->used, b->msg, b->len);
			ps->p[ps->n] = ps->buf + ps->used;
			ps->len[ps->n++] = b->len;
			ps->used += b->len;
			used += overhead + b->len;
			bq_unlink(q, b);
			taken[nt++] = b;
		}
	}
done:
	for (i = 0; i < nt; i++) {
		struct bcast *b = taken[i];

		if (b->transmits + 1 >= tlimit) {
			bc_free(s, b);
			continue;
		}
		b->transmits++;
		bq_link(q, b);
	}
	return used;
}

/* to: the receiver when known.  User broadcasts go only to receivers the
 * caller accepts (ops.user_ok), so peers that do not speak our user messages
 * (serf) are not sent them. */
void get_broadcasts(struct swim *s, struct parts *ps, size_t overhead, size_t limit,
		    const struct node *to)
{
	size_t used = bq_take(s, &s->mq, ps, overhead, limit);

	if (s->ops.user_ok && (!to || !s->ops.user_ok(s->arg, to->meta, to->meta_len)))
		return;
	/* user messages carry their 08 byte already */
	if (limit > used && limit - used > overhead + 1)
		bq_take(s, &s->uq, ps, overhead, limit - used);
}
/* ---- user broadcasts ---- */

/* Drop the user broadcast with this key, or the oldest one. */
static void bq_drop(struct swim *s, struct bqueue *q, const char *key, bool oldest)
{
	struct bcast *b, *victim = NULL;
	size_t t;

	for (t = 0; t < BQ_TIERS; t++) {
		for (b = q->tier[t]; b; b = b->next) {
			if (oldest ? !victim || b->id < victim->id : b->key && !strcmp(b->key, key))
				victim = b;
			if (victim && !oldest)
				break;
		}
		if (victim && !oldest)
			break;
	}
	if (victim) {
		bq_unlink(q, victim);
		bc_free(s, victim);
	}
}

int swim_broadcast_user(struct swim *s, const char *key, const uint8_t *payload, size_t len)
{
	struct bcast *b;

	if (!len)
		return -EINVAL;
	if (len + 1 + COMPOUND_PART > GW_UDP_BUDGET - COMPOUND_HDR - enc_overhead(s))
		return -EMSGSIZE;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->msg = malloc(len + 1);
	b->key = key ? strdup(key) : NULL;
	if (!b->msg || (key && !b->key)) {
		free(b->msg);
		free(b->key);
		free(b);
		return -ENOMEM;
	}
	b->msg[0] = GW_USER;
	memcpy(b->msg + 1, payload, len);
	b->len = len + 1;
	b->id = ++s->bc_id;
	if (key)
		bq_drop(s, &s->uq, key, false);
	bq_link(&s->uq, b);
	if (s->uq.n > USER_QUEUE_MAX)
		bq_drop(s, &s->uq, NULL, true);
	/* Fresh news goes out with the next gossip round, brought forward to
	 * now but never closer than a quarter interval to the previous one. */
	if (heap_node_queued(&s->gossip_t.hn)) {
		uint64_t w = s->last_gossip + s->cfg.gossip_interval / 4;

		if (w < s->now)
			w = s->now;
		if (s->gossip_t.hn.key > w)
			(void)timer_arm(s, &s->gossip_t, w);
	}
	return 0;
}
