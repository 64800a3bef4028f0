/* SPDX-License-Identifier: MIT */
/*
 * evq: the simulations' event queue, on common/heap: events are malloc()ed
 * objects keyed by time; equal times come out in push order.  Header-only,
 * included after the program defines struct event (with members
 * `struct heap_node hn` and `uint64_t t`) and struct sim (with
 * `struct heap q`).
 */
#ifndef VXMESH_SIM_EVQ_H
#define VXMESH_SIM_EVQ_H

#include <stdlib.h>

#include "common/heap.h"

static void ev_push(struct sim *sim, struct event e)
{
	struct event *p = malloc(sizeof(*p));

	if (!p || heap_reserve(&sim->q, sim->q.len + 1))
		abort();
	*p = e;
	p->hn.key = e.t;
	heap_push(&sim->q, &p->hn);
}

/* The next event, or NULL. */
static const struct event *ev_next(const struct sim *sim)
{
	struct heap_node *n = heap_min(&sim->q);

	return n ? heap_entry(n, struct event, hn) : NULL;
}

static struct event ev_pop(struct sim *sim)
{
	struct event *p = heap_entry(heap_pop(&sim->q), struct event, hn), e = *p;

	free(p);
	return e;
}

#endif
