/* SPDX-License-Identifier: MIT */
/*
 * DOC: heap
 * The binary min-heap behind the reactor's timers and the SWIM state
 * machine's timers.  Every slot write goes through set(), which keeps each
 * node's idx equal to its position, so removal and key updates find a node
 * in O(1) and sift it in O(log n).
 */
#include "common/heap.h"

#include <errno.h>
#include <stdlib.h>

#define HEAP_MIN_CAP 16

static bool before(const struct heap_node *a, const struct heap_node *b)
{
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static void set(struct heap *h, size_t i, struct heap_node *n)
{
	h->v[i] = n;
	n->idx = i;
}

static void sift_up(struct heap *h, size_t i)
{
	struct heap_node *n = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(n, h->v[parent]))
			break;
		set(h, i, h->v[parent]);
		i = parent;
	}
	set(h, i, n);
}

static void sift_down(struct heap *h, size_t i)
{
	struct heap_node *n = h->v[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= h->len)
			break;
		if (child + 1 < h->len && before(h->v[child + 1], h->v[child]))
			child++;
		if (!before(h->v[child], n))
			break;
		set(h, i, h->v[child]);
		i = child;
	}
	set(h, i, n);
}

/* Moves the node at i whichever way its key now requires. */
static void fix(struct heap *h, size_t i)
{
	if (i > 0 && before(h->v[i], h->v[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

void heap_init(struct heap *h)
{
	*h = (struct heap){0};
}

void heap_fini(struct heap *h)
{
	free(h->v);
	heap_init(h);
}

int heap_reserve(struct heap *h, size_t n)
{
	size_t cap = h->cap ? h->cap : HEAP_MIN_CAP;
	struct heap_node **v;

	if (n <= h->cap)
		return 0;
	while (cap < n) {
		if (cap > SIZE_MAX / 2 / sizeof(*v))
			return -ENOMEM;
		cap *= 2;
	}
	v = realloc(h->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->v = v;
	h->cap = cap;
	return 0;
}

void heap_push(struct heap *h, struct heap_node *n)
{
	n->seq = h->next_seq++;
	set(h, h->len++, n);
	sift_up(h, n->idx);
}

void heap_remove(struct heap *h, struct heap_node *n)
{
	size_t i = n->idx;
	struct heap_node *last;

	if (i == HEAP_NONE)
		return;
	n->idx = HEAP_NONE;
	last = h->v[--h->len];
	if (last == n)
		return;
	set(h, i, last);
	fix(h, i);
}

void heap_update(struct heap *h, struct heap_node *n)
{
	fix(h, n->idx);
}

struct heap_node *heap_min(const struct heap *h)
{
	return h->len ? h->v[0] : NULL;
}

struct heap_node *heap_pop(struct heap *h)
{
	struct heap_node *n = heap_min(h);

	if (n)
		heap_remove(h, n);
	return n;
}
