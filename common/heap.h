/* SPDX-License-Identifier: MIT */
/*
 * heap: an intrusive, index-tracked binary min-heap.  The caller embeds a
 * struct heap_node in its own object and gets the object back with
 * heap_entry().  Nodes order by key, then by push order (seq), so equal keys
 * come out first in, first out.  Only heap_reserve() allocates; push, remove
 * and update never do, and all of them are O(log n).
 */
#ifndef VXMESH_HEAP_H
#define VXMESH_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAP_NONE SIZE_MAX /* heap_node.idx when the node is in no heap */

#define heap_entry(n, type, member) ((type *)(void *)((char *)(n)-offsetof(type, member)))

struct heap_node {
	uint64_t key; /* set by the caller; call heap_update() after changing it in a heap */
	uint64_t seq; /* set by heap_push() */
	size_t idx;   /* set by the heap; HEAP_NONE when not in one */
};

struct heap {
	struct heap_node **v;
	size_t len, cap;
	uint64_t next_seq; /* seq the next heap_push() hands out */
};

/* A zeroed struct heap is also a valid empty heap. */
void heap_init(struct heap *h);
/* Frees the array; the nodes belong to the caller and are left untouched. */
void heap_fini(struct heap *h);

static inline void heap_node_init(struct heap_node *n)
{
	n->idx = HEAP_NONE;
}

static inline bool heap_node_queued(const struct heap_node *n)
{
	return n->idx != HEAP_NONE;
}

/* Make room for n nodes in all.  Returns 0 or -ENOMEM (h unchanged). */
int heap_reserve(struct heap *h, size_t n) __attribute__((warn_unused_result));
/* Insert n (not in any heap) with its current key.  The caller must have
 * reserved room: push never allocates. */
void heap_push(struct heap *h, struct heap_node *n);
/* Take n out of h; a no-op when n is in no heap. */
void heap_remove(struct heap *h, struct heap_node *n);
/* Restore order after n->key changed while n is in h.  n keeps its seq. */
void heap_update(struct heap *h, struct heap_node *n);
/* Returns the smallest node, or NULL when h is empty. */
struct heap_node *heap_min(const struct heap *h);
/* Removes and returns the smallest node, or NULL when h is empty. */
struct heap_node *heap_pop(struct heap *h);

#endif
