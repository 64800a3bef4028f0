/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for common/heap.c: order by key then push order, index
 * tracking, remove of the root/last/middle node, key updates both ways,
 * reserve, and random push/remove/update/pop runs checked step by step
 * against a plain reference model with fixed seeds.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/heap.h"

struct item {
	int tag; /* before the node, so heap_entry() has an offset to undo */
	struct heap_node hn;
	uint64_t pushed; /* the reference's own push counter */
};

static struct item *item_of(struct heap_node *n)
{
	return n ? heap_entry(n, struct item, hn) : NULL;
}

/* Every slot's idx matches its position and no child sorts before its parent. */
static void check_shape(const struct heap *h)
{
	size_t i;

	cr_assert_leq(h->len, h->cap);
	for (i = 0; i < h->len; i++) {
		const struct heap_node *n = h->v[i], *p;

		cr_assert_eq(n->idx, i, "slot %zu holds a node with idx %zu", i, n->idx);
		if (!i)
			continue;
		p = h->v[(i - 1) / 2];
		cr_assert(p->key < n->key || (p->key == n->key && p->seq < n->seq),
			  "slot %zu (%llu/%llu) sorts before its parent (%llu/%llu)", i,
			  (unsigned long long)n->key, (unsigned long long)n->seq,
			  (unsigned long long)p->key, (unsigned long long)p->seq);
	}
}

static void push(struct heap *h, struct item *it, uint64_t key)
{
	cr_assert_eq(heap_reserve(h, h->len + 1), 0);
	it->hn.key = key;
	heap_push(h, &it->hn);
}

static void init_items(struct item *it, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		it[i].tag = (int)i;
		it[i].pushed = 0;
		heap_node_init(&it[i].hn);
	}
}

/* Pops everything and checks the tags come out as expected[]. */
static void drain_expect(struct heap *h, const int *expected, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct item *it = item_of(heap_pop(h));

		cr_assert_not_null(it, "heap ran dry after %zu of %zu", i, n);
		cr_assert_eq(it->tag, expected[i], "pop %zu: got tag %d, want %d", i, it->tag,
			     expected[i]);
		cr_assert_eq(it->hn.idx, HEAP_NONE);
		check_shape(h);
	}
	cr_assert_null(heap_pop(h));
	cr_assert_eq(h->len, 0);
}

Test(heap, empty)
{
	struct heap h = {0}; /* a zeroed heap is a valid empty one */
	struct item it;

	init_items(&it, 1);
	cr_assert_null(heap_min(&h));
	cr_assert_null(heap_pop(&h));
	heap_remove(&h, &it.hn); /* not queued: no-op */
	cr_assert_eq(h.len, 0);
	cr_assert_not(heap_node_queued(&it.hn));
	heap_fini(&h);
	heap_init(&h);
	heap_fini(&h);
}

Test(heap, reserve)
{
	struct heap h;
	size_t cap;

	heap_init(&h);
	cr_assert_eq(heap_reserve(&h, 0), 0);
	cr_assert_eq(h.cap, 0, "reserve(0) must not allocate");
	cr_assert_eq(heap_reserve(&h, 1), 0);
	cr_assert_geq(h.cap, 1);
	cr_assert_eq(heap_reserve(&h, 1000), 0);
	cr_assert_geq(h.cap, 1000);
	cap = h.cap;
	cr_assert_eq(heap_reserve(&h, 3), 0);
	cr_assert_eq(h.cap, cap, "reserve never shrinks");
	cr_assert_eq(heap_reserve(&h, SIZE_MAX), -ENOMEM);
	cr_assert_eq(heap_reserve(&h, SIZE_MAX / sizeof(void *) + 1), -ENOMEM);
	cr_assert_eq(h.cap, cap, "a failed reserve leaves the heap as it was");
	heap_fini(&h);
	cr_assert_null(h.v);
	cr_assert_eq(h.cap, 0);
}

Test(heap, push_pop_sorted_and_seq)
{
	static const uint64_t keys[] = {50, 10, 40, 0, 30, UINT64_MAX, 20, 1};
	static const int order[] = {3, 7, 1, 6, 4, 2, 0, 5};
	struct item it[8];
	struct heap h = {0};
	size_t i;

	init_items(it, 8);
	for (i = 0; i < 8; i++) {
		push(&h, &it[i], keys[i]);
		cr_assert_eq(it[i].hn.seq, i, "seq counts pushes");
		cr_assert(heap_node_queued(&it[i].hn));
		check_shape(&h);
	}
	cr_assert_eq(h.next_seq, 8);
	cr_assert_eq(item_of(heap_min(&h))->tag, 3);
	cr_assert_eq(h.len, 8, "heap_min does not remove");
	drain_expect(&h, order, 8);
	heap_fini(&h);
}

Test(heap, ties_fifo)
{
	/* Equal keys leave in push order, interleaved with other keys. */
	static const uint64_t keys[] = {7, 3, 7, 3, 7, 3, 1, 7, 3, 7};
	static const int order[] = {6, 1, 3, 5, 8, 0, 2, 4, 7, 9};
	struct item it[10], same[200];
	struct heap h = {0};
	size_t i;

	init_items(it, 10);
	for (i = 0; i < 10; i++)
		push(&h, &it[i], keys[i]);
	drain_expect(&h, order, 10);

	/* The same items pushed again, in reverse: new seqs, so the new order wins. */
	for (i = 10; i-- > 0;)
		push(&h, &it[i], 5);
	for (i = 10; i-- > 0;)
		cr_assert_eq(item_of(heap_pop(&h))->tag, (int)i);

	/* Many equal keys, with removals in between: survivors keep FIFO order. */
	init_items(same, 200);
	for (i = 0; i < 200; i++)
		push(&h, &same[i], 42);
	for (i = 0; i < 200; i += 3)
		heap_remove(&h, &same[i].hn);
	check_shape(&h);
	for (i = 0; i < 200; i++) {
		if (i % 3 == 0)
			continue;
		cr_assert_eq(item_of(heap_pop(&h))->tag, (int)i);
	}
	cr_assert_null(heap_min(&h));
	heap_fini(&h);
}

enum where { ROOT, LAST, MIDDLE, LEAF_SMALL };

Test(heap, remove_positions)
{
	static const struct {
		const char *name;
		enum where where;
	} cases[] = {
		{"root", ROOT},
		{"last", LAST},
		{"middle", MIDDLE},
		/* A leaf whose replacement (the last node) must move up, not down. */
		{"leaf needing sift-up", LEAF_SMALL},
	};
	size_t c, i;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct heap h = {0};
		struct item it[15], *victim;
		int order[15], n = 0;

		init_items(it, 15);
		if (cases[c].where == LEAF_SMALL) {
			/* Already in heap order (pushes move nothing): big keys on the
			 * left, small ones on the right. */
			static const uint64_t keys[] = {0,   100, 1,   101, 102, 2, 3, 103,
							104, 105, 106, 4,   5,	 6, 7};

			for (i = 0; i < 15; i++)
				push(&h, &it[i], keys[i]);
			victim = item_of(h.v[7]); /* a leaf under the big keys */
		} else {
			for (i = 0; i < 15; i++)
				push(&h, &it[i], (i * 7) % 15);
			victim = item_of(cases[c].where == ROOT	  ? h.v[0]
					 : cases[c].where == LAST ? h.v[h.len - 1]
								  : h.v[h.len / 2]);
		}
		check_shape(&h);
		heap_remove(&h, &victim->hn);
		cr_assert_eq(victim->hn.idx, HEAP_NONE, "%s", cases[c].name);
		cr_assert_eq(h.len, 14, "%s", cases[c].name);
		check_shape(&h);
		heap_remove(&h, &victim->hn); /* twice: no-op */
		cr_assert_eq(h.len, 14, "%s", cases[c].name);

		/* Expected order: every other item by (key, push order). */
		while (n < 14) {
			struct item *best = NULL;

			for (i = 0; i < 15; i++) {
				bool taken = &it[i] == victim;
				int k;

				for (k = 0; k < n && !taken; k++)
					taken = order[k] == it[i].tag;
				if (!taken && (!best || it[i].hn.key < best->hn.key))
					best = &it[i];
			}
			order[n++] = best->tag;
		}
		drain_expect(&h, order, 14);
		heap_fini(&h);
	}
}

/* Sorts struct item pointers by key, then by the reference push order. */
static int ref_cmp(const void *a, const void *b)
{
	const struct item *x = *(const struct item *const *)a, *y = *(const struct item *const *)b;

	if (x->hn.key != y->hn.key)
		return x->hn.key < y->hn.key ? -1 : 1;
	return x->pushed < y->pushed ? -1 : x->pushed > y->pushed;
}

Test(heap, update_up_down)
{
	/* Item i starts with key 10 * (i + 1), so keys run 10..150. */
	static const struct {
		const char *name;
		int tag;      /* the item whose key changes */
		uint64_t key; /* its new key */
		int first;    /* tag expected at the top afterwards */
	} cases[] = {
		{"down: root to the bottom", 0, 1000, 1},
		{"down: root to a middle key", 0, 75, 1},
		{"down: a leaf further down", 14, 1000, 0},
		{"down: onto a later item's key, pushed first so still first", 2, 60, 0},
		{"up: a leaf to the top", 14, 0, 14},
		{"up: middle to the top", 6, 1, 6},
		{"up: a leaf onto the root's key, pushed later so second", 14, 10, 0},
		{"up: inner node by one level", 4, 15, 0},
		{"same key", 3, 40, 0},
	};
	size_t c, i;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct heap h = {0};
		struct item it[15], *moved, *sorted[15];
		uint64_t seq;

		init_items(it, 15);
		for (i = 0; i < 15; i++) {
			push(&h, &it[i], 10 * (i + 1));
			it[i].pushed = i;
			sorted[i] = &it[i];
		}
		moved = &it[cases[c].tag];
		seq = moved->hn.seq;
		moved->hn.key = cases[c].key;
		heap_update(&h, &moved->hn);
		cr_assert_eq(moved->hn.seq, seq, "%s: update keeps seq", cases[c].name);
		check_shape(&h);
		cr_assert_eq(item_of(heap_min(&h))->tag, cases[c].first, "%s", cases[c].name);
		qsort(sorted, 15, sizeof(sorted[0]), ref_cmp);
		for (i = 0; i < 15; i++)
			cr_assert_eq(item_of(heap_pop(&h)), sorted[i], "%s: pop %zu", cases[c].name,
				     i);
		heap_fini(&h);
	}
}

/* ---- random runs against a reference model ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#define POOL 64
#define OPS  5000

/* The reference: the queued item with the smallest (key, push order), by scan. */
static struct item *ref_min(struct item *pool, const bool *queued)
{
	struct item *best = NULL;
	size_t i;

	for (i = 0; i < POOL; i++) {
		if (!queued[i])
			continue;
		if (!best || pool[i].hn.key < best->hn.key ||
		    (pool[i].hn.key == best->hn.key && pool[i].pushed < best->pushed))
			best = &pool[i];
	}
	return best;
}

static void random_run(uint64_t seed, uint64_t key_range)
{
	struct item pool[POOL], *sorted[POOL];
	bool queued[POOL] = {false};
	uint64_t pushes = 0;
	struct heap h;
	size_t i, n, nq = 0;
	int op;

	rng_state = seed;
	heap_init(&h);
	init_items(pool, POOL);
	for (op = 0; op < OPS; op++) {
		size_t pick = rng_next() % POOL;
		struct item *it = &pool[pick], *want;
		unsigned what = rng_next() % 8;

		if (!queued[pick] && what < 4) { /* push */
			push(&h, it, rng_next() % key_range);
			cr_assert_eq(it->hn.seq, pushes, "seed %llu op %d",
				     (unsigned long long)seed, op);
			it->pushed = pushes++;
			queued[pick] = true;
			nq++;
		} else if (queued[pick] && what < 3) { /* update, up or down */
			it->hn.key = rng_next() % key_range;
			heap_update(&h, &it->hn);
		} else if (queued[pick] && what < 6) { /* remove */
			heap_remove(&h, &it->hn);
			queued[pick] = false;
			nq--;
		} else if (what == 7) { /* pop */
			want = ref_min(pool, queued);
			cr_assert_eq(item_of(heap_pop(&h)), want, "seed %llu op %d: pop",
				     (unsigned long long)seed, op);
			if (want) {
				queued[want->tag] = false;
				nq--;
			}
		}
		cr_assert_eq(h.len, nq);
		cr_assert_eq(heap_node_queued(&it->hn), queued[pick]);
		cr_assert_eq(item_of(heap_min(&h)), ref_min(pool, queued),
			     "seed %llu op %d: min differs", (unsigned long long)seed, op);
		check_shape(&h);
	}

	/* Drain: exactly the reference, sorted by key then push order. */
	for (i = 0, n = 0; i < POOL; i++)
		if (queued[i])
			sorted[n++] = &pool[i];
	qsort(sorted, n, sizeof(sorted[0]), ref_cmp);
	for (i = 0; i < n; i++)
		cr_assert_eq(item_of(heap_pop(&h)), sorted[i], "seed %llu drain %zu",
			     (unsigned long long)seed, i);
	cr_assert_null(heap_pop(&h));
	heap_fini(&h);
}

Test(heap, random_against_reference)
{
	static const uint64_t seeds[] = {1, 2, 42, 0xdeadbeef, 20240601, UINT64_MAX};
	/* A small key range makes ties common; a huge one makes them rare. */
	static const uint64_t ranges[] = {4, 64, UINT64_MAX};
	size_t s, r;

	for (s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++)
		for (r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++)
			random_run(seeds[s], ranges[r]);
}
