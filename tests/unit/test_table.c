// SPDX-License-Identifier: MIT
/*
 * Unit tests for gossip/table.c: local writes and their limits, the Lamport
 * clock, last-writer-wins merging with its tie-break, tombstones, the change
 * callback, reaping, the msgpack wire form and a table of malformed inputs
 * it must refuse, and property tests (fixed seeds) showing that replicas fed
 * the same versions in any order, grouping and multiplicity end up
 * byte-identical, holding the max-stamp version of every key.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <msgpack.h>

#include "gossip/table.h"

#define CLOCK_LIMIT (UINT64_C(1) << 63)

/* Callback recorder: how many calls and a deep copy of the last one. */
struct snap {
	int present;
	struct gt_entry e;
	uint8_t val[GT_VALUE_MAX];
};

struct rec {
	int calls;
	struct snap old, cur;
};

static void snap_take(struct snap *s, const struct gt_entry *e)
{
	memset(s, 0, sizeof(*s));
	if (!e)
		return;
	s->present = 1;
	s->e = *e;
	s->e.value = NULL;
	if (e->value && e->value_len)
		memcpy(s->val, e->value, e->value_len);
}

static void rec_cb(void *arg, const struct gt_entry *old, const struct gt_entry *cur)
{
	struct rec *r = arg;

	r->calls++;
	snap_take(&r->old, old);
	snap_take(&r->cur, cur);
}

static struct gt_table *table_new(const char *self, struct rec *r)
{
	struct gt_table *t = NULL;

	cr_assert_eq(gt_create(&t, self, r ? rec_cb : NULL, r), 0);
	cr_assert_not_null(t);
	return t;
}

static void put_ok(struct gt_table *t, uint8_t kind, const char *key, const char *val, uint64_t now)
{
	int err = gt_put(t, kind, key, "owner", (const uint8_t *)val, strlen(val), now, NULL);

	cr_assert_eq(err, 0, "put %s: %d", key, err);
}

static struct gt_entry ent(uint8_t kind, const char *key, uint64_t clock, const char *origin,
			   int deleted, const char *val)
{
	struct gt_entry e = {.kind = kind, .clock = clock, .deleted = deleted};

	snprintf(e.key, sizeof(e.key), "%s", key);
	snprintf(e.origin, sizeof(e.origin), "%s", origin);
	snprintf(e.owner, sizeof(e.owner), "%s", origin);
	if (!deleted) {
		e.value = (const uint8_t *)val;
		e.value_len = strlen(val);
	}
	return e;
}

static void assert_value(const struct gt_entry *e, const char *val)
{
	cr_assert_not_null(e);
	cr_assert_eq(e->deleted, 0);
	cr_assert_eq(e->value_len, strlen(val), "value length %zu, want %zu", e->value_len,
		     strlen(val));
	cr_assert_eq(memcmp(e->value, val, e->value_len), 0);
}

static uint8_t *encode_all(const struct gt_table *t, size_t *len)
{
	uint8_t *buf = NULL;

	cr_assert_eq(gt_encode_all(t, &buf, len), 0);
	cr_assert_not_null(buf);
	return buf;
}

/* Local writes */

Test(table, create_rejects_bad_ids)
{
	char big[GT_ID_MAX + 1];
	struct gt_table *t = NULL;

	memset(big, 'n', GT_ID_MAX);
	big[GT_ID_MAX] = '\0';
	cr_assert_eq(gt_create(&t, "", NULL, NULL), -EINVAL);
	cr_assert_eq(gt_create(&t, NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(gt_create(&t, big, NULL, NULL), -EINVAL);
	big[GT_ID_MAX - 1] = '\0';
	cr_assert_eq(gt_create(&t, big, NULL, NULL), 0);
	gt_destroy(t);
	gt_destroy(NULL);
}

Test(table, put_get_replace_count)
{
	struct gt_table *t = table_new("n1", NULL);
	const struct gt_entry *out = NULL;

	cr_assert_null(gt_get(t, GT_KIND_NET, "a"));
	cr_assert_eq(gt_put(t, GT_KIND_NET, "a", "own", (const uint8_t *)"x", 1, 5, &out), 0);
	cr_assert_eq(out, gt_get(t, GT_KIND_NET, "a"));
	assert_value(out, "x");
	cr_assert_str_eq(out->owner, "own");
	cr_assert_str_eq(out->origin, "n1");
	cr_assert_eq(out->clock, 1);
	cr_assert_eq(out->kind, GT_KIND_NET);

	put_ok(t, GT_KIND_NET, "a", "yy", 6);
	assert_value(gt_get(t, GT_KIND_NET, "a"), "yy");
	cr_assert_eq(gt_get(t, GT_KIND_NET, "a")->clock, 2);
	cr_assert_null(gt_get(t, GT_KIND_EP, "a"), "kinds are separate key spaces");
	put_ok(t, GT_KIND_EP, "a", "", 7);
	assert_value(gt_get(t, GT_KIND_EP, "a"), "");
	cr_assert_not_null(gt_get(t, GT_KIND_EP, "a")->value, "empty values are not NULL");

	cr_assert_eq(gt_count(t, GT_KIND_NET, 0), 1);
	cr_assert_eq(gt_count(t, GT_KIND_EP, 1), 1);
	cr_assert_eq(gt_count(t, 3, 1), 0);
	cr_assert_eq(gt_count(t, 200, 1), 0);
	gt_destroy(t);
}

Test(table, put_limits_table)
{
	static char key_max[GT_KEY_MAX], key_big[GT_KEY_MAX + 1];
	static char id_max[GT_ID_MAX], id_big[GT_ID_MAX + 1];
	static uint8_t val[GT_VALUE_MAX + 1];
	const struct {
		const char *name;
		uint8_t kind;
		const char *key, *owner;
		const uint8_t *val;
		size_t len;
		int err;
	} cases[] = {
		{"plain", 1, "k", "o", val, 1, 0},
		{"kind max-1", GT_KIND_MAX - 1, "k", "o", val, 1, 0},
		{"kind 0", 0, "k", "o", val, 1, -EINVAL},
		{"kind max", GT_KIND_MAX, "k", "o", val, 1, -EINVAL},
		{"kind 255", 255, "k", "o", val, 1, -EINVAL},
		{"key max", 1, key_max, "o", val, 1, 0},
		{"key too long", 1, key_big, "o", val, 1, -EINVAL},
		{"key empty", 1, "", "o", val, 1, -EINVAL},
		{"key NULL", 1, NULL, "o", val, 1, -EINVAL},
		{"owner max", 1, "k", id_max, val, 1, 0},
		{"owner too long", 1, "k", id_big, val, 1, -EINVAL},
		{"owner empty", 1, "k", "", val, 1, -EINVAL},
		{"owner NULL", 1, "k", NULL, val, 1, -EINVAL},
		{"value max", 1, "k", "o", val, GT_VALUE_MAX, 0},
		{"value too long", 1, "k", "o", val, GT_VALUE_MAX + 1, -EINVAL},
		{"value NULL empty", 1, "k", "o", NULL, 0, 0},
		{"value NULL nonempty", 1, "k", "o", NULL, 3, -EINVAL},
	};

	memset(key_max, 'k', GT_KEY_MAX - 1);
	memset(key_big, 'k', GT_KEY_MAX);
	memset(id_max, 'i', GT_ID_MAX - 1);
	memset(id_big, 'i', GT_ID_MAX);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec r = {0};
		struct gt_table *t = table_new("self", &r);
		int err = gt_put(t, cases[i].kind, cases[i].key, cases[i].owner, cases[i].val,
				 cases[i].len, 1, NULL);

		cr_expect_eq(err, cases[i].err, "%s: got %d want %d", cases[i].name, err,
			     cases[i].err);
		if (err) {
			cr_expect_eq(gt_clock(t), 0, "%s: failed put moved the clock",
				     cases[i].name);
			cr_expect_eq(r.calls, 0, "%s: failed put fired the callback",
				     cases[i].name);
		}
		gt_destroy(t);
	}
}

Test(table, del_tombstone_and_enoent)
{
	struct rec r = {0};
	struct gt_table *t = table_new("n1", &r);
	const struct gt_entry *out = NULL;

	cr_assert_eq(gt_del(t, GT_KIND_NET, "a", 10, NULL), -ENOENT);
	cr_assert_eq(gt_del(t, 0, "a", 10, NULL), -EINVAL);
	cr_assert_eq(gt_del(t, GT_KIND_NET, "", 10, NULL), -EINVAL);
	cr_assert_eq(gt_put(t, GT_KIND_NET, "a", "boss", (const uint8_t *)"v", 1, 10, NULL), 0);
	cr_assert_eq(gt_del(t, GT_KIND_NET, "a", 42, &out), 0);
	cr_assert_not_null(out);
	cr_assert_eq(out->deleted, 1);
	cr_assert_eq(out->deleted_at, 42);
	cr_assert_null(out->value);
	cr_assert_eq(out->value_len, 0);
	cr_assert_str_eq(out->owner, "boss", "a tombstone keeps the owner");
	cr_assert_str_eq(out->origin, "n1");
	cr_assert_eq(out->clock, 2);
	cr_assert_null(gt_get(t, GT_KIND_NET, "a"));
	cr_assert_eq(gt_del(t, GT_KIND_NET, "a", 43, NULL), -ENOENT);
	cr_assert_eq(gt_count(t, GT_KIND_NET, 0), 0);
	cr_assert_eq(gt_count(t, GT_KIND_NET, 1), 1);
	cr_assert_eq(gt_clock(t), 2, "a refused delete does not tick");

	/* A put over a tombstone revives the key with a newer stamp. */
	put_ok(t, GT_KIND_NET, "a", "back", 50);
	assert_value(gt_get(t, GT_KIND_NET, "a"), "back");
	cr_assert_eq(gt_get(t, GT_KIND_NET, "a")->clock, 3);
	cr_assert_eq(gt_count(t, GT_KIND_NET, 1), 1);
	gt_destroy(t);
}

struct walk {
	int n;
	char keys[16][GT_KEY_MAX];
	int deleted[16];
};

static void walk_cb(void *arg, const struct gt_entry *e)
{
	struct walk *w = arg;

	cr_assert_lt(w->n, 16);
	snprintf(w->keys[w->n], GT_KEY_MAX, "%s", e->key);
	w->deleted[w->n] = e->deleted;
	w->n++;
}

Test(table, foreach_sorted_by_key_within_kind)
{
	static const char *const keys[] = {"m", "b", "zz", "a", "\xc3\xa9", "B", "ab", "z"};
	static const char *const want[] = {"B", "a", "ab", "b", "m", "z", "zz", "\xc3\xa9"};
	struct gt_table *t = table_new("n1", NULL);
	struct walk w = {0};

	for (size_t i = 0; i < 8; i++) {
		put_ok(t, GT_KIND_EP, keys[i], "v", 1);
		put_ok(t, i % 2 ? GT_KIND_NET : 7, keys[i], "other kind", 1);
	}
	cr_assert_eq(gt_del(t, GT_KIND_EP, "m", 2, NULL), 0);

	gt_foreach(t, GT_KIND_EP, 1, walk_cb, &w);
	cr_assert_eq(w.n, 8);
	for (int i = 0; i < 8; i++) {
		cr_expect_str_eq(w.keys[i], want[i], "position %d", i);
		cr_expect_eq(w.deleted[i], !strcmp(want[i], "m"));
	}
	memset(&w, 0, sizeof(w));
	gt_foreach(t, GT_KIND_EP, 0, walk_cb, &w);
	cr_assert_eq(w.n, 7);
	for (int i = 0; i < 7; i++)
		cr_expect_neq(strcmp(w.keys[i], "m"), 0);
	memset(&w, 0, sizeof(w));
	gt_foreach(t, 9, 1, walk_cb, &w);
	cr_assert_eq(w.n, 0);
	memset(&w, 0, sizeof(w));
	gt_foreach(t, GT_KIND_NET, 0, walk_cb, &w);
	cr_assert_eq(w.n, 4);
	cr_assert_eq(gt_count(t, GT_KIND_EP, 0), 7);
	cr_assert_eq(gt_count(t, GT_KIND_EP, 1), 8);
	cr_assert_eq(gt_count(t, 7, 1), 4);
	gt_destroy(t);
}

/* Clock and merging */

Test(table, clock_ticks_and_passes_merged_clocks)
{
	struct gt_table *t = table_new("n1", NULL);
	struct gt_entry e = ent(GT_KIND_NET, "r", 100, "n2", 0, "remote");
	struct gt_entry low = ent(GT_KIND_NET, "s", 7, "n3", 0, "old");

	cr_assert_eq(gt_clock(t), 0);
	put_ok(t, GT_KIND_NET, "a", "1", 1);
	put_ok(t, GT_KIND_NET, "b", "1", 1);
	cr_assert_eq(gt_del(t, GT_KIND_NET, "a", 1, NULL), 0);
	cr_assert_eq(gt_clock(t), 3);

	cr_assert_eq(gt_merge(t, &e, 2), 1);
	cr_assert_eq(gt_clock(t), 100);
	cr_assert_eq(gt_merge(t, &e, 2), 0);
	cr_assert_eq(gt_clock(t), 100);
	cr_assert_eq(gt_merge(t, &low, 2), 1, "a new key wins whatever its clock");
	cr_assert_eq(gt_clock(t), 100, "the clock never goes back");

	/* Losing versions never lower the clock; a winning one raises it. */
	put_ok(t, GT_KIND_NET, "r", "mine", 3);
	cr_assert_eq(gt_get(t, GT_KIND_NET, "r")->clock, 101);
	e = ent(GT_KIND_NET, "r", 100, "n2", 0, "x");
	cr_assert_eq(gt_merge(t, &e, 3), 0, "100 loses to our 101");
	e = ent(GT_KIND_NET, "r", 50, "a", 1, NULL);
	cr_assert_eq(gt_merge(t, &e, 3), 0);
	cr_assert_eq(gt_clock(t), 101);
	e = ent(GT_KIND_NET, "b", 1, "n0", 0, "x");
	cr_assert_eq(gt_merge(t, &e, 3), 0, "loses to our put of b at clock 2");
	e = ent(GT_KIND_NET, "c", 300, "n0", 0, "x");
	cr_assert_eq(gt_merge(t, &e, 3), 1);
	cr_assert_eq(gt_clock(t), 300);
	put_ok(t, GT_KIND_NET, "b", "after", 4);
	cr_assert_eq(gt_get(t, GT_KIND_NET, "b")->clock, 301);
	gt_destroy(t);
}

Test(table, clock_limit)
{
	struct gt_table *t = table_new("n1", NULL);
	struct gt_entry e = ent(GT_KIND_NET, "a", CLOCK_LIMIT, "n2", 0, "v");

	cr_assert_eq(gt_merge(t, &e, 1), -EINVAL);
	cr_assert_eq(gt_clock(t), 0);
	e.clock = CLOCK_LIMIT - 1;
	cr_assert_eq(gt_merge(t, &e, 1), 1);
	cr_assert_eq(gt_put(t, GT_KIND_NET, "b", "o", NULL, 0, 1, NULL), -EOVERFLOW);
	cr_assert_eq(gt_del(t, GT_KIND_NET, "a", 1, NULL), -EOVERFLOW);
	cr_assert_eq(gt_clock(t), CLOCK_LIMIT - 1);
	assert_value(gt_get(t, GT_KIND_NET, "a"), "v");
	gt_destroy(t);
}

Test(table, merge_win_lose_duplicate_and_callback)
{
	struct rec r = {0};
	struct gt_table *t = table_new("me", &r);
	struct gt_entry v5 = ent(GT_KIND_EP, "ep1", 5, "n2", 0, "five");
	struct gt_entry v9 = ent(GT_KIND_EP, "ep1", 9, "n3", 0, "nine");
	struct gt_entry v7 = ent(GT_KIND_EP, "ep1", 7, "n9", 0, "seven");

	cr_assert_eq(gt_merge(t, &v5, 100), 1);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(r.old.present, 0, "old is NULL for a new entry");
	cr_assert_eq(r.cur.present, 1);
	cr_assert_eq(r.cur.e.clock, 5);
	cr_assert_str_eq(r.cur.e.origin, "n2");
	cr_assert_str_eq((char *)r.cur.val, "five");

	cr_assert_eq(gt_merge(t, &v9, 101), 1);
	cr_assert_eq(r.calls, 2);
	cr_assert_eq(r.old.present, 1);
	cr_assert_eq(r.old.e.clock, 5);
	cr_assert_str_eq((char *)r.old.val, "five");
	cr_assert_eq(r.cur.e.clock, 9);
	cr_assert_str_eq((char *)r.cur.val, "nine");

	cr_assert_eq(gt_merge(t, &v7, 102), 0, "older loses");
	cr_assert_eq(gt_merge(t, &v9, 102), 0, "duplicate");
	cr_assert_eq(gt_merge(t, &v5, 102), 0);
	cr_assert_eq(r.calls, 2, "no callback when nothing changed");
	assert_value(gt_get(t, GT_KIND_EP, "ep1"), "nine");

	/* The stored copy owns its bytes. */
	char buf[8] = "temp";
	struct gt_entry v10 = ent(GT_KIND_EP, "ep1", 10, "n3", 0, buf);

	cr_assert_eq(gt_merge(t, &v10, 103), 1);
	strcpy(buf, "gone");
	snprintf(v10.key, sizeof(v10.key), "changed");
	assert_value(gt_get(t, GT_KIND_EP, "ep1"), "temp");
	cr_assert_eq(gt_get(t, GT_KIND_EP, "ep1")->deleted_at, 0);

	/* Local put and del fire too. */
	put_ok(t, GT_KIND_EP, "ep1", "local", 104);
	cr_assert_eq(r.calls, 4);
	cr_assert_str_eq((char *)r.old.val, "temp");
	cr_assert_str_eq((char *)r.cur.val, "local");
	cr_assert_str_eq(r.cur.e.origin, "me");
	cr_assert_eq(r.cur.e.clock, 11);
	cr_assert_eq(gt_del(t, GT_KIND_EP, "ep1", 105, NULL), 0);
	cr_assert_eq(r.calls, 5);
	cr_assert_eq(r.old.e.deleted, 0);
	cr_assert_str_eq((char *)r.old.val, "local");
	cr_assert_eq(r.cur.e.deleted, 1);
	cr_assert_eq(r.cur.e.deleted_at, 105);
	gt_destroy(t);
}

Test(table, tie_break_by_origin_bytewise)
{
	struct gt_table *t = table_new("me", NULL);
	struct gt_entry a = ent(GT_KIND_NET, "k", 4, "node-a", 0, "A");
	struct gt_entry b = ent(GT_KIND_NET, "k", 4, "node-b", 0, "B");
	struct gt_entry hi = ent(GT_KIND_NET, "k", 4, "node-\xff", 0, "HI");
	struct gt_entry pre = ent(GT_KIND_NET, "k", 4, "node", 0, "PRE");

	cr_assert_eq(gt_merge(t, &b, 1), 1);
	cr_assert_eq(gt_merge(t, &a, 1), 0, "same clock, lower origin loses");
	cr_assert_eq(gt_merge(t, &pre, 1), 0, "a prefix sorts first");
	assert_value(gt_get(t, GT_KIND_NET, "k"), "B");
	cr_assert_eq(gt_merge(t, &hi, 1), 1, "0xff sorts after ASCII: bytes are unsigned");
	assert_value(gt_get(t, GT_KIND_NET, "k"), "HI");
	gt_destroy(t);

	/* The other order ends the same. */
	t = table_new("me", NULL);
	cr_assert_eq(gt_merge(t, &hi, 1), 1);
	cr_assert_eq(gt_merge(t, &a, 1), 0);
	cr_assert_eq(gt_merge(t, &b, 1), 0);
	assert_value(gt_get(t, GT_KIND_NET, "k"), "HI");
	gt_destroy(t);
}

Test(table, equal_stamp_different_content_keeps_ours)
{
	struct rec r = {0};
	struct gt_table *t = table_new("me", &r);
	struct gt_entry x = ent(GT_KIND_NET, "k", 4, "liar", 0, "first");
	struct gt_entry y = ent(GT_KIND_NET, "k", 4, "liar", 0, "second");
	struct gt_entry z = ent(GT_KIND_NET, "k", 4, "liar", 1, NULL);

	cr_assert_eq(gt_merge(t, &x, 1), 1);
	cr_assert_eq(gt_merge(t, &y, 1), 0);
	cr_assert_eq(gt_merge(t, &z, 1), 0);
	assert_value(gt_get(t, GT_KIND_NET, "k"), "first");
	cr_assert_eq(r.calls, 1);
	gt_destroy(t);
}

Test(table, tombstones_against_puts)
{
	struct rec r = {0};
	struct gt_table *t = table_new("me", &r);
	struct gt_entry put3 = ent(GT_KIND_EP, "e", 3, "n1", 0, "three");
	struct gt_entry del5 = ent(GT_KIND_EP, "e", 5, "n2", 1, NULL);
	struct gt_entry put4 = ent(GT_KIND_EP, "e", 4, "n1", 0, "four");
	struct gt_entry put6 = ent(GT_KIND_EP, "e", 6, "n1", 0, "six");

	cr_assert_eq(gt_merge(t, &put3, 10), 1);
	cr_assert_eq(gt_merge(t, &del5, 20), 1, "tombstone beats an older put");
	cr_assert_null(gt_get(t, GT_KIND_EP, "e"));
	cr_assert_eq(r.cur.e.deleted, 1);
	cr_assert_eq(r.cur.e.deleted_at, 20, "deleted_at is when we learned it");
	cr_assert_str_eq((char *)r.old.val, "three");
	cr_assert_eq(gt_merge(t, &put4, 30), 0, "an older put stays deleted");
	cr_assert_null(gt_get(t, GT_KIND_EP, "e"));
	cr_assert_eq(gt_merge(t, &del5, 40), 0);
	cr_assert_eq(gt_merge(t, &put6, 50), 1, "a newer put beats the tombstone");
	assert_value(gt_get(t, GT_KIND_EP, "e"), "six");
	cr_assert_eq(r.old.e.deleted, 1);
	cr_assert_eq(r.calls, 3);
	gt_destroy(t);

	/* A tombstone for a key never seen is kept, so the put arriving late loses. */
	memset(&r, 0, sizeof(r));
	t = table_new("me", &r);
	cr_assert_eq(gt_merge(t, &del5, 10), 1);
	cr_assert_eq(r.old.present, 0);
	cr_assert_eq(r.cur.e.deleted, 1);
	cr_assert_eq(gt_count(t, GT_KIND_EP, 0), 0);
	cr_assert_eq(gt_count(t, GT_KIND_EP, 1), 1);
	cr_assert_eq(gt_merge(t, &put3, 11), 0);
	cr_assert_eq(gt_merge(t, &put4, 11), 0);
	cr_assert_null(gt_get(t, GT_KIND_EP, "e"));
	gt_destroy(t);
}

Test(table, merge_rejects_malformed_entries)
{
	struct rec r = {0};
	struct gt_table *t = table_new("me", &r);
	struct gt_entry good = ent(GT_KIND_NET, "k", 9, "n", 0, "v");
	struct gt_entry e;

	e = good;
	e.kind = 0;
	cr_expect_eq(gt_merge(t, &e, 1), -EINVAL);
	e = good;
	e.kind = GT_KIND_MAX;
	cr_expect_eq(gt_merge(t, &e, 1), -EINVAL);
	e = good;
	e.key[0] = '\0';
	cr_expect_eq(gt_merge(t, &e, 1), -EINVAL);
	e = good;
	memset(e.key, 'k', GT_KEY_MAX); /* no terminator */
	cr_expect_eq(gt_merge(t, &e, 1), -EINVAL);
	e = good;
	memset(e.origin, 'o', GT_ID_MAX);
	cr_expect_eq(gt_merge(t, &e, 1), -EINVAL);
	e = good;
	e.owner[0] = '\0';
	cr_expect_eq(gt_merge(t, &e, 1), -EINVAL);
	e = good;
	e.value_len = GT_VALUE_MAX + 1;
	cr_expect_eq(gt_merge(t, &e, 1), -EINVAL);
	e = good;
	e.value = NULL;
	cr_expect_eq(gt_merge(t, &e, 1), -EINVAL);
	e = good;
	e.deleted = 1; /* a tombstone with a value */
	cr_expect_eq(gt_merge(t, &e, 1), -EINVAL);
	cr_expect_eq(gt_merge(t, NULL, 1), -EINVAL);
	cr_expect_eq(gt_clock(t), 0, "a refused version does not move the clock");
	cr_expect_eq(gt_count(t, GT_KIND_NET, 1), 0);
	cr_expect_eq(r.calls, 0);
	gt_destroy(t);
}

Test(table, reap_drops_old_tombstones_quietly)
{
	struct rec r = {0};
	struct gt_table *t = table_new("me", &r);
	struct gt_entry d = ent(GT_KIND_EP, "remote", 50, "n2", 1, NULL);

	put_ok(t, GT_KIND_EP, "a", "1", 0);
	put_ok(t, GT_KIND_EP, "b", "1", 0);
	put_ok(t, GT_KIND_NET, "c", "1", 0);
	put_ok(t, GT_KIND_EP, "live", "1", 0);
	cr_assert_eq(gt_del(t, GT_KIND_EP, "a", 1000, NULL), 0);
	cr_assert_eq(gt_del(t, GT_KIND_EP, "b", 2000, NULL), 0);
	cr_assert_eq(gt_del(t, GT_KIND_NET, "c", 3000, NULL), 0);
	cr_assert_eq(gt_merge(t, &d, 2500), 1);
	int calls = r.calls;

	cr_assert_eq(gt_reap(t, 500, 100), 0, "a clock before deleted_at reaps nothing");
	cr_assert_eq(gt_reap(t, 2000, 1000), 0, "age must exceed max_age");
	cr_assert_eq(gt_reap(t, 2001, 1000), 1);
	cr_assert_eq(gt_count(t, GT_KIND_EP, 1), 3);
	cr_assert_eq(gt_reap(t, 3600, 1000), 2);
	cr_assert_eq(gt_count(t, GT_KIND_EP, 1), 1);
	cr_assert_eq(gt_count(t, GT_KIND_EP, 0), 1);
	cr_assert_eq(gt_count(t, GT_KIND_NET, 1), 1);
	cr_assert_eq(gt_reap(t, UINT64_MAX, 0), 1);
	cr_assert_eq(gt_count(t, GT_KIND_NET, 1), 0);
	cr_assert_eq(r.calls, calls, "reaping fires no callback");
	assert_value(gt_get(t, GT_KIND_EP, "live"), "1");
	cr_assert_eq(gt_clock(t), 50, "reaping keeps the clock");

	/* Once reaped, the old put comes back: the documented trade-off. */
	struct gt_entry old = ent(GT_KIND_EP, "remote", 40, "n2", 0, "zombie");

	cr_assert_eq(gt_merge(t, &old, 4000), 1);
	gt_destroy(t);
}

/* Wire form */

static void assert_same_entry(const struct gt_entry *a, const struct gt_entry *b)
{
	cr_assert_eq(a->kind, b->kind);
	cr_assert_str_eq(a->key, b->key);
	cr_assert_eq(a->clock, b->clock);
	cr_assert_str_eq(a->origin, b->origin);
	cr_assert_str_eq(a->owner, b->owner);
	cr_assert_eq(!!a->deleted, !!b->deleted);
	cr_assert_eq(a->value_len, b->value_len);
	if (a->value_len)
		cr_assert_eq(memcmp(a->value, b->value, a->value_len), 0);
	cr_assert_eq(!a->value, !b->value);
}

Test(table, entry_round_trip)
{
	static uint8_t big[GT_VALUE_MAX];
	struct gt_entry cases[4];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	cases[0] = ent(GT_KIND_EP, "net1/10.0.0.2", 12345678901ull, "host-a", 0, "payload");
	cases[1] = ent(GT_KIND_NET, "k", 0, "o", 0, "");
	cases[2] = ent(15, "\xff\x01 key", CLOCK_LIMIT - 1, "\xfe", 1, NULL);
	cases[3] = ent(GT_KIND_EP, "big", 1, "o", 0, "");
	cases[3].value = big;
	cases[3].value_len = sizeof(big);
	for (size_t i = 0; i < 4; i++) {
		struct gt_entry back;
		uint8_t *buf = NULL;
		size_t len = 0;

		cr_assert_eq(gt_entry_encode(&cases[i], &buf, &len), 0, "case %zu", i);
		cr_assert_eq(gt_entry_decode(buf, len, &back), 0, "case %zu", i);
		assert_same_entry(&cases[i], &back);
		if (back.value_len)
			cr_assert(back.value >= buf && back.value + back.value_len <= buf + len,
				  "value points into the buffer");
		free(buf);
	}
}

Test(table, encode_rejects_invalid_entry)
{
	struct gt_entry e = ent(0, "k", 1, "o", 0, "v");
	uint8_t *buf = NULL;
	size_t len = 0;

	cr_assert_eq(gt_entry_encode(&e, &buf, &len), -EINVAL);
	cr_assert_null(buf);
}

/* Found by fuzz_table: a tombstone of an undeletable kind after a valid
 * entry used to merge the entry, then fail: all-or-nothing. */
Test(table, merge_all_refuses_undeletable_tombstone_whole)
{
	struct gt_table *src = table_new("src", NULL), *t = table_new("me", NULL);
	uint8_t *all;
	size_t alen;

	put_ok(src, GT_KIND_NET, "n1", "net", 1);
	put_ok(src, GT_KIND_RING, "r1", "x", 1);
	cr_assert_eq(gt_del(src, GT_KIND_RING, "r1", 2, NULL), 0);
	all = encode_all(src, &alen);
	gt_set_undeletable(t, GT_KIND_RING);
	cr_expect_eq(gt_merge_all(t, all, alen, 1), -EINVAL);
	cr_expect_eq(gt_count(t, GT_KIND_NET, 1), 0, "nothing merged");
	cr_expect_eq(gt_clock(t), 0);
	free(all);
	gt_destroy(src);
	gt_destroy(t);
}

Test(table, encode_all_round_trip)
{
	struct rec r = {0};
	struct gt_table *a = table_new("a", NULL), *b = table_new("b", &r), *c;
	uint8_t *ba, *bb;
	size_t la, lb;

	ba = encode_all(a, &la);
	cr_assert_eq(la, 1);
	cr_assert_eq(ba[0], 0x90, "an empty table is an empty array");
	cr_assert_eq(gt_merge_all(b, ba, la, 1), 0);
	free(ba);

	put_ok(a, GT_KIND_NET, "n1", "net", 1);
	put_ok(a, GT_KIND_EP, "e1", "ep", 1);
	put_ok(a, GT_KIND_EP, "e2", "", 1);
	put_ok(a, GT_KIND_EP, "e3", "x", 1);
	cr_assert_eq(gt_del(a, GT_KIND_EP, "e3", 77, NULL), 0);
	ba = encode_all(a, &la);
	cr_assert_eq(gt_merge_all(b, ba, la, 1000), 4);
	cr_assert_eq(r.calls, 4);
	cr_assert_eq(gt_clock(b), gt_clock(a));
	cr_assert_eq(gt_merge_all(b, ba, la, 1001), 0, "idempotent");
	bb = encode_all(b, &lb);
	cr_assert_eq(la, lb);
	cr_assert_eq(memcmp(ba, bb, la), 0, "deleted_at is not on the wire");
	cr_assert_eq(gt_count(b, GT_KIND_EP, 1), 3);
	assert_value(gt_get(b, GT_KIND_EP, "e2"), "");
	cr_assert_eq(gt_get(b, GT_KIND_NET, "n1")->clock, 1);

	/* Each element decodes as a single entry. */
	c = table_new("c", NULL);
	cr_assert_eq(gt_merge_all(c, bb, lb, 5), 4);
	gt_destroy(c);
	free(ba);
	free(bb);
	gt_destroy(a);
	gt_destroy(b);
}

/* Builder of hand-made entry maps for the refusal table. */
struct wf {
	const char *name; /* NULL ends the list */
	char t;		  /* u uint, i int -1, s str, b bin, T/F bool, z nil, f float,
			   * a array of u small ints, m map of u int pairs, A array header of
			   * count u with no elements, K uint map key (name ignored) */
	uint64_t u;
	const char *s; /* s, b: bytes (NULL: u bytes of 'x'); length u */
};

/* clang-format off */
#define S(str) 's', sizeof(str) - 1, str
#define BASE_K {"k", 'u', 1, NULL}
#define BASE_KEY {"key", S("key")}
#define BASE_C {"c", 'u', 7, NULL}
#define BASE_O {"o", S("n1")}
#define BASE_W {"w", S("n2")}
#define BASE_DF {"d", 'F', 0, NULL}
#define BASE_V {"v", 'b', 3, "val"}
/* clang-format on */

static void pack_bytes(msgpack_packer *pk, char t, const struct wf *f)
{
	char *tmp = NULL;
	const char *p = f->s;

	if (!p) {
		tmp = malloc(f->u + 1);
		cr_assert_not_null(tmp);
		memset(tmp, 'x', f->u);
		p = tmp;
	}
	if (t == 's')
		cr_assert_eq(msgpack_pack_str_with_body(pk, p, f->u), 0);
	else
		cr_assert_eq(msgpack_pack_bin_with_body(pk, p, f->u), 0);
	free(tmp);
}

static void pack_value(msgpack_packer *pk, const struct wf *f)
{
	switch (f->t) {
	case 'u':
		msgpack_pack_uint64(pk, f->u);
		break;
	case 'i':
		msgpack_pack_int64(pk, -1);
		break;
	case 's':
	case 'b':
		pack_bytes(pk, f->t, f);
		break;
	case 'T':
		msgpack_pack_true(pk);
		break;
	case 'F':
		msgpack_pack_false(pk);
		break;
	case 'z':
		msgpack_pack_nil(pk);
		break;
	case 'f':
		msgpack_pack_double(pk, 1.5);
		break;
	case 'a':
		msgpack_pack_array(pk, f->u);
		for (uint64_t i = 0; i < f->u; i++)
			msgpack_pack_uint64(pk, i);
		break;
	case 'm':
		msgpack_pack_map(pk, f->u);
		for (uint64_t i = 0; i < f->u; i++) {
			msgpack_pack_uint64(pk, i);
			msgpack_pack_array(pk, 1);
			msgpack_pack_str_with_body(pk, "deep", 4);
		}
		break;
	case 'A':
		msgpack_pack_array(pk, (size_t)f->u);
		break;
	default:
		cr_assert_fail("bad test field type %c", f->t);
	}
}

static void build_map(msgpack_sbuffer *sb, const struct wf *fields)
{
	msgpack_packer pk;
	size_t n = 0;

	while (fields[n].name)
		n++;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, n);
	for (size_t i = 0; i < n; i++) {
		if (fields[i].t == 'K') {
			msgpack_pack_uint64(&pk, 3);
			msgpack_pack_uint64(&pk, 3);
			continue;
		}
		msgpack_pack_str_with_body(&pk, fields[i].name, strlen(fields[i].name));
		pack_value(&pk, &fields[i]);
	}
}

static const struct decode_case {
	const char *name;
	int ok;
	struct wf f[12]; /* ends at the first NULL name */
} decode_cases[] = {
	/* clang-format off */
	{"baseline", 1, {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF, BASE_V}},
	{"tombstone", 1, {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, {"d", 'T', 0, NULL}}},
	{"field order free", 1, {BASE_V, BASE_W, BASE_DF, BASE_O, BASE_C, BASE_KEY, BASE_K}},
	{"unknown fields skipped", 1,
	 {{"x", 'm', 3, NULL}, BASE_K, BASE_KEY, {"zz", 'a', 5, NULL}, BASE_C, BASE_O, BASE_W,
	  {"kk", 'f', 0, NULL}, BASE_DF, BASE_V}},
	{"key max", 1, {BASE_K, {"key", 's', GT_KEY_MAX - 1, NULL}, BASE_C, BASE_O, BASE_W,
			BASE_DF, BASE_V}},
	{"value max", 1, {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF,
			  {"v", 'b', GT_VALUE_MAX, NULL}}},
	{"empty value", 1, {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF,
			    {"v", 'b', 0, ""}}},

	{"kind as str", 0, {{"k", S("1")}, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF, BASE_V}},
	{"kind 0", 0, {{"k", 'u', 0, NULL}, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF, BASE_V}},
	{"kind 16", 0, {{"k", 'u', 16, NULL}, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF, BASE_V}},
	{"kind 257", 0, {{"k", 'u', 257, NULL}, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF,
			 BASE_V}},
	{"kind negative", 0, {{"k", 'i', 0, NULL}, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF,
			      BASE_V}},
	{"key as bin", 0, {BASE_K, {"key", 'b', 3, "key"}, BASE_C, BASE_O, BASE_W, BASE_DF,
			   BASE_V}},
	{"key empty", 0, {BASE_K, {"key", 's', 0, ""}, BASE_C, BASE_O, BASE_W, BASE_DF, BASE_V}},
	{"key too long", 0, {BASE_K, {"key", 's', GT_KEY_MAX, NULL}, BASE_C, BASE_O, BASE_W,
			     BASE_DF, BASE_V}},
	{"key with NUL", 0, {BASE_K, {"key", 's', 3, "a\0b"}, BASE_C, BASE_O, BASE_W, BASE_DF,
			     BASE_V}},
	{"clock as str", 0, {BASE_K, BASE_KEY, {"c", S("7")}, BASE_O, BASE_W, BASE_DF, BASE_V}},
	{"clock negative", 0, {BASE_K, BASE_KEY, {"c", 'i', 0, NULL}, BASE_O, BASE_W, BASE_DF,
			       BASE_V}},
	{"clock 2^63", 0, {BASE_K, BASE_KEY, {"c", 'u', CLOCK_LIMIT, NULL}, BASE_O, BASE_W,
			   BASE_DF, BASE_V}},
	{"clock float", 0, {BASE_K, BASE_KEY, {"c", 'f', 0, NULL}, BASE_O, BASE_W, BASE_DF,
			    BASE_V}},
	{"origin too long", 0, {BASE_K, BASE_KEY, BASE_C, {"o", 's', GT_ID_MAX, NULL}, BASE_W,
				BASE_DF, BASE_V}},
	{"origin empty", 0, {BASE_K, BASE_KEY, BASE_C, {"o", 's', 0, ""}, BASE_W, BASE_DF,
			     BASE_V}},
	{"owner nil", 0, {BASE_K, BASE_KEY, BASE_C, BASE_O, {"w", 'z', 0, NULL}, BASE_DF,
			  BASE_V}},
	{"deleted as int", 0, {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, {"d", 'u', 0, NULL},
			       BASE_V}},
	{"value as str", 0, {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF,
			     {"v", S("val")}}},
	{"value too long", 0, {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF,
			       {"v", 'b', GT_VALUE_MAX + 1, NULL}}},
	{"value nil", 0, {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF, {"v", 'z', 0, NULL}}},
	{"value on tombstone", 0, {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, {"d", 'T', 0, NULL},
				   BASE_V}},
	{"live without value", 0, {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF}},
	{"missing kind", 0, {BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF, BASE_V}},
	{"missing key", 0, {BASE_K, BASE_C, BASE_O, BASE_W, BASE_DF, BASE_V}},
	{"missing clock", 0, {BASE_K, BASE_KEY, BASE_O, BASE_W, BASE_DF, BASE_V}},
	{"missing origin", 0, {BASE_K, BASE_KEY, BASE_C, BASE_W, BASE_DF, BASE_V}},
	{"missing owner", 0, {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_DF, BASE_V}},
	{"missing deleted", 0, {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_V}},
	{"empty map", 0, {{NULL, 0, 0, NULL}}},
	{"duplicate field", 0, {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF, BASE_V,
				{"k", 'u', 2, NULL}}},
	{"map key not a string", 0, {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF, BASE_V,
				     {"", 'K', 0, NULL}}},
	{"unknown field with huge count", 0,
	 {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF, BASE_V, {"x", 'A', 0xffffffff, NULL}}},
	{"unknown field truncated", 0,
	 {BASE_K, BASE_KEY, BASE_C, BASE_O, BASE_W, BASE_DF, BASE_V, {"x", 'A', 3, NULL}}},
	/* clang-format on */
};

Test(table, decode_refusal_table)
{
	for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		const struct decode_case *c = &decode_cases[i];
		struct gt_table *t = table_new("me", NULL);
		msgpack_sbuffer sb, arr;
		msgpack_packer pk;
		struct gt_entry e;
		int err;

		msgpack_sbuffer_init(&sb);
		build_map(&sb, c->f);
		err = gt_entry_decode((const uint8_t *)sb.data, sb.size, &e);
		cr_expect_eq(err, c->ok ? 0 : -EINVAL, "%s: entry decode %d", c->name, err);
		if (!err)
			cr_expect_eq(gt_merge(t, &e, 1), 1, "%s: decoded entry must merge",
				     c->name);

		/* The same map inside a table after a valid entry. */
		msgpack_sbuffer_init(&arr);
		msgpack_packer_init(&pk, &arr, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 2);
		build_map(&arr, decode_cases[0].f);
		msgpack_sbuffer_write(&arr, sb.data, sb.size);
		gt_destroy(t);
		t = table_new("me", NULL);
		err = gt_merge_all(t, (const uint8_t *)arr.data, arr.size, 1);
		if (c->ok) {
			cr_expect_geq(err, 1, "%s: merge_all %d", c->name, err);
		} else {
			cr_expect_eq(err, -EINVAL, "%s: merge_all %d", c->name, err);
			cr_expect_eq(gt_count(t, GT_KIND_NET, 1), 0, "%s: partial merge", c->name);
			cr_expect_eq(gt_clock(t), 0, "%s: clock moved", c->name);
		}
		msgpack_sbuffer_destroy(&sb);
		msgpack_sbuffer_destroy(&arr);
		gt_destroy(t);
	}
}

Test(table, decode_refuses_truncation_and_trailing_bytes)
{
	struct gt_entry e = ent(GT_KIND_EP, "some-key", 300, "origin", 0, "value bytes");
	struct gt_table *src = table_new("src", NULL), *t;
	uint8_t *buf = NULL, *all, *tail;
	size_t len = 0, alen;
	struct gt_entry back;

	cr_assert_eq(gt_entry_encode(&e, &buf, &len), 0);
	for (size_t n = 0; n < len; n++)
		cr_expect_eq(gt_entry_decode(buf, n, &back), -EINVAL, "prefix of %zu bytes", n);
	tail = malloc(len + 1);
	memcpy(tail, buf, len);
	tail[len] = 0xc0;
	cr_expect_eq(gt_entry_decode(tail, len + 1, &back), -EINVAL, "trailing nil");
	cr_expect_eq(gt_entry_decode(NULL, 0, &back), -EINVAL);
	free(tail);
	free(buf);

	put_ok(src, GT_KIND_EP, "a", "1", 1);
	put_ok(src, GT_KIND_EP, "b", "22", 1);
	cr_assert_eq(gt_del(src, GT_KIND_EP, "a", 1, NULL), 0);
	all = encode_all(src, &alen);
	t = table_new("me", NULL);
	for (size_t n = 0; n < alen; n++) {
		cr_expect_eq(gt_merge_all(t, all, n, 1), -EINVAL, "table prefix of %zu", n);
		cr_expect_eq(gt_count(t, GT_KIND_EP, 1), 0, "all-or-nothing at %zu", n);
		cr_expect_eq(gt_clock(t), 0);
	}
	tail = malloc(alen + 1);
	memcpy(tail, all, alen);
	tail[alen] = 0x00;
	cr_expect_eq(gt_merge_all(t, tail, alen + 1, 1), -EINVAL, "trailing byte");
	cr_expect_eq(gt_count(t, GT_KIND_EP, 1), 0);
	cr_expect_eq(gt_merge_all(t, NULL, 0, 1), -EINVAL);
	cr_expect_eq(gt_merge_all(t, all, alen, 1), 2);
	free(tail);
	free(all);
	gt_destroy(src);
	gt_destroy(t);
}

Test(table, decode_refuses_raw_byte_table)
{
	static const struct {
		const char *name;
		uint8_t b[8];
		size_t len;
		int table; /* 1: feed to gt_merge_all, 0: to gt_entry_decode */
	} cases[] = {
		{"empty", {0}, 0, 0},
		{"empty table", {0}, 0, 1},
		{"int, not a map", {0x01}, 1, 0},
		{"array, not a map", {0x90}, 1, 0},
		{"map, not an array", {0x80}, 1, 1},
		{"str, not an array", {0xa1, 'x'}, 2, 1},
		{"never-used byte", {0xc1}, 1, 0},
		{"never-used byte in table", {0x91, 0xc1}, 2, 1},
		{"map32 of 2^32-1", {0xdf, 0xff, 0xff, 0xff, 0xff}, 5, 0},
		{"map16 of 65535", {0xde, 0xff, 0xff}, 3, 0},
		{"array32 of 2^32-1", {0xdd, 0xff, 0xff, 0xff, 0xff}, 5, 1},
		{"array32 of 2^31", {0xdd, 0x80, 0x00, 0x00, 0x00}, 5, 1},
		{"array16 of 65535", {0xdc, 0xff, 0xff}, 3, 1},
		{"array of ints", {0x92, 0x01, 0x02}, 3, 1},
		{"array of empty maps", {0x91, 0x80}, 2, 1},
		{"fixarray short", {0x93, 0x80}, 2, 1},
		{"map with str32 key 4G", {0x81, 0xdb, 0xff, 0xff, 0xff, 0xff, 'k'}, 7, 0},
		{"map with bin32 value 4G", {0x81, 0xa1, 'v', 0xc6, 0xff, 0xff, 0xff, 0xff}, 8, 0},
		{"map with ext32 key", {0x81, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}, 7, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gt_table *t = table_new("me", NULL);
		struct gt_entry e;
		int err;

		if (cases[i].table)
			err = gt_merge_all(t, cases[i].b, cases[i].len, 1);
		else
			err = gt_entry_decode(cases[i].b, cases[i].len, &e);
		cr_expect_eq(err, -EINVAL, "%s: %d", cases[i].name, err);
		gt_destroy(t);
	}
}

Test(table, merge_all_is_all_or_nothing)
{
	struct rec r = {0};
	struct gt_table *src = table_new("src", NULL), *t = table_new("me", &r);
	uint8_t *all, *bad;
	size_t alen;

	put_ok(t, GT_KIND_NET, "mine", "1", 1);
	r.calls = 0;
	for (int i = 0; i < 20; i++) {
		char key[16];

		snprintf(key, sizeof(key), "k%02d", i);
		put_ok(src, GT_KIND_EP, key, "v", 1);
	}
	all = encode_all(src, &alen);
	/* Corrupt the last entry's "d" (false, 0xc2) into an int: 19 valid entries first. */
	bad = malloc(alen);
	memcpy(bad, all, alen);
	cr_assert_eq(bad[alen - 6], 0xc2, "layout: ...d false, v bin8 len 1 'v'");
	bad[alen - 6] = 0x01;
	cr_assert_eq(gt_merge_all(t, bad, alen, 1), -EINVAL);
	cr_assert_eq(r.calls, 0);
	cr_assert_eq(gt_count(t, GT_KIND_EP, 1), 0);
	cr_assert_eq(gt_clock(t), 1);
	cr_assert_eq(gt_merge_all(t, all, alen, 1), 20);
	cr_assert_eq(r.calls, 20);
	free(all);
	free(bad);
	gt_destroy(src);
	gt_destroy(t);
}

/* Property tests */

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t rng_below(uint64_t *s, size_t n)
{
	return (size_t)(rng_next(s) % n);
}

#define MAX_VERSIONS   160
#define MAX_DELIVERIES (MAX_VERSIONS * 3)
#define NREPLICAS      5

struct version {
	struct gt_entry e;
	uint8_t val[24];
};

struct universe {
	struct version v[MAX_VERSIONS];
	size_t n;
	uint64_t max_clock;
};

/*
 * Versions as honest nodes write them: each node's clock only grows (it
 * sometimes jumps, as after a merge), so no (clock, origin) repeats.
 */
static void universe_make(struct universe *u, uint64_t *s)
{
	uint64_t clocks[50] = {0};
	size_t nodes = 1 + rng_below(s, 50), keys = 1 + rng_below(s, 12);

	u->n = 1 + rng_below(s, MAX_VERSIONS);
	u->max_clock = 0;
	for (size_t i = 0; i < u->n; i++) {
		struct version *v = &u->v[i];
		size_t node = rng_below(s, nodes), k = rng_below(s, keys);

		memset(v, 0, sizeof(*v));
		clocks[node] += 1 + (rng_below(s, 4) == 0 ? rng_below(s, 20) : 0);
		v->e.kind = (uint8_t)(1 + k % 3);
		snprintf(v->e.key, sizeof(v->e.key), "key-%zu", k);
		v->e.clock = clocks[node];
		/* Names whose bytes sort differently from their numbers. */
		snprintf(v->e.origin, sizeof(v->e.origin), "node-%zu", node);
		snprintf(v->e.owner, sizeof(v->e.owner), "node-%zu", rng_below(s, nodes));
		v->e.deleted = rng_below(s, 4) == 0;
		if (!v->e.deleted) {
			v->e.value_len = rng_below(s, sizeof(v->val) + 1);
			for (size_t j = 0; j < v->e.value_len; j++)
				v->val[j] = (uint8_t)rng_next(s);
			v->e.value = v->val;
		}
		if (v->e.clock > u->max_clock)
			u->max_clock = v->e.clock;
	}
}

static int stamp_cmp(const struct gt_entry *a, const struct gt_entry *b)
{
	if (a->clock != b->clock)
		return a->clock < b->clock ? -1 : 1;
	return strcmp(a->origin, b->origin);
}

/* The callback checks that every change moves a key to a higher stamp. */
struct replica {
	struct gt_table *t;
	int changes;
};

static void monotone_cb(void *arg, const struct gt_entry *old, const struct gt_entry *cur)
{
	struct replica *r = arg;

	r->changes++;
	if (old)
		cr_assert_lt(stamp_cmp(old, cur), 0, "a change must raise the stamp");
}

/* An array of raw entry encodings: duplicates of a key inside are allowed. */
static void merge_raw_batch(struct gt_table *t, struct universe *u, const size_t *idx, size_t n,
			    int *changed)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int ret;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *buf;
		size_t len;

		cr_assert_eq(gt_entry_encode(&u->v[idx[i]].e, &buf, &len), 0);
		msgpack_sbuffer_write(&sb, (const char *)buf, len);
		free(buf);
	}
	ret = gt_merge_all(t, (const uint8_t *)sb.data, sb.size, 1);
	cr_assert_geq(ret, 0);
	*changed += ret;
	msgpack_sbuffer_destroy(&sb);
}

/* A batch first merged into a scratch table, then shipped as its state. */
static void merge_state_batch(struct gt_table *t, struct universe *u, const size_t *idx, size_t n,
			      int *changed)
{
	struct gt_table *scratch = table_new("scratch", NULL);
	uint8_t *buf;
	size_t len;
	int ret;

	for (size_t i = 0; i < n; i++)
		cr_assert_geq(gt_merge(scratch, &u->v[idx[i]].e, 1), 0);
	buf = encode_all(scratch, &len);
	ret = gt_merge_all(t, buf, len, 1);
	cr_assert_geq(ret, 0);
	*changed += ret;
	free(buf);
	gt_destroy(scratch);
}

static void deliver(struct replica *r, struct universe *u, const size_t *order, size_t n, int mode,
		    uint64_t *s)
{
	int changed = 0;

	for (size_t i = 0; i < n;) {
		size_t batch = 1 + rng_below(s, 16);
		int m = mode == 4 ? (int)rng_below(s, 4) : mode;

		if (batch > n - i)
			batch = n - i;
		if (m == 0) {
			int ret = gt_merge(r->t, &u->v[order[i]].e, 1);

			cr_assert_geq(ret, 0);
			changed += ret;
			batch = 1;
		} else if (m == 1) {
			struct gt_entry back;
			uint8_t *buf;
			size_t len;
			int ret;

			cr_assert_eq(gt_entry_encode(&u->v[order[i]].e, &buf, &len), 0);
			cr_assert_eq(gt_entry_decode(buf, len, &back), 0);
			ret = gt_merge(r->t, &back, 1);
			cr_assert_geq(ret, 0);
			changed += ret;
			free(buf);
			batch = 1;
		} else if (m == 2) {
			merge_raw_batch(r->t, u, &order[i], batch, &changed);
		} else {
			merge_state_batch(r->t, u, &order[i], batch, &changed);
		}
		i += batch;
	}
	cr_assert_eq(changed, r->changes, "return values count the callbacks");
}

static void check_max_stamps(const struct gt_table *t, const struct universe *u)
{
	size_t keys = 0;

	for (size_t i = 0; i < u->n; i++) {
		const struct gt_entry *best = &u->v[i].e, *got;
		size_t dup = 0;

		for (size_t j = 0; j < u->n; j++) {
			const struct gt_entry *o = &u->v[j].e;

			if (o->kind != best->kind || strcmp(o->key, best->key))
				continue;
			if (j < i)
				dup = 1;
			if (stamp_cmp(o, best) > 0)
				best = o;
		}
		if (dup)
			continue;
		keys++;
		got = gt_get(t, best->kind, best->key);
		if (best->deleted) {
			cr_assert_null(got, "%s: max stamp is a tombstone", best->key);
			continue;
		}
		cr_assert_not_null(got, "%s missing", best->key);
		cr_assert_eq(got->clock, best->clock);
		cr_assert_str_eq(got->origin, best->origin);
		cr_assert_str_eq(got->owner, best->owner);
		cr_assert_eq(got->value_len, best->value_len);
		if (got->value_len)
			cr_assert_eq(memcmp(got->value, best->value, got->value_len), 0);
	}
	cr_assert_eq(gt_count(t, 1, 1) + gt_count(t, 2, 1) + gt_count(t, 3, 1), keys);
}

Test(table_property, replicas_converge_in_any_order_and_grouping)
{
	static struct universe u;
	uint64_t s = 0x7ab1e5eedull;

	for (int run = 0; run < 2000; run++) {
		struct replica reps[NREPLICAS];
		uint8_t *first = NULL;
		size_t first_len = 0;

		universe_make(&u, &s);
		for (int r = 0; r < NREPLICAS; r++) {
			size_t order[MAX_DELIVERIES], n = 0;
			char self[16];

			snprintf(self, sizeof(self), "replica-%d", r);
			reps[r].changes = 0;
			cr_assert_eq(gt_create(&reps[r].t, self, monotone_cb, &reps[r]), 0);
			/* Every version at least once, some up to three times. */
			for (size_t i = 0; i < u.n; i++) {
				size_t copies = 1 + (rng_below(&s, 3) == 0) * rng_below(&s, 3);

				while (copies--)
					order[n++] = i;
			}
			for (size_t i = n; i > 1; i--) {
				size_t j = rng_below(&s, i), tmp = order[i - 1];

				order[i - 1] = order[j];
				order[j] = tmp;
			}
			deliver(&reps[r], &u, order, n, r < 4 ? r : 4, &s);
		}
		for (int r = 0; r < NREPLICAS; r++) {
			uint8_t *buf;
			size_t len;

			check_max_stamps(reps[r].t, &u);
			cr_assert_eq(gt_clock(reps[r].t), u.max_clock, "run %d replica %d", run, r);
			buf = encode_all(reps[r].t, &len);
			if (!first) {
				first = buf;
				first_len = len;
				continue;
			}
			cr_assert_eq(len, first_len, "run %d replica %d: size", run, r);
			cr_assert_eq(memcmp(buf, first, len), 0, "run %d replica %d: bytes", run,
				     r);
			free(buf);
		}
		free(first);
		for (int r = 0; r < NREPLICAS; r++)
			gt_destroy(reps[r].t);
	}
}

/* join(x, y): the state after merging both encoded states into a fresh table. */
static uint8_t *join(const uint8_t *x, size_t xl, const uint8_t *y, size_t yl, size_t *len)
{
	struct gt_table *t = table_new("join", NULL);
	uint8_t *out;

	cr_assert_geq(gt_merge_all(t, x, xl, 1), 0);
	cr_assert_geq(gt_merge_all(t, y, yl, 1), 0);
	out = encode_all(t, len);
	gt_destroy(t);
	return out;
}

static void assert_bytes_eq(const uint8_t *a, size_t al, const uint8_t *b, size_t bl,
			    const char *law, int run)
{
	cr_assert_eq(al, bl, "run %d: %s (sizes)", run, law);
	cr_assert_eq(memcmp(a, b, al), 0, "run %d: %s", run, law);
}

Test(table_property, join_is_commutative_associative_idempotent)
{
	static struct universe u;
	uint64_t s = 0xc0ffee;

	for (int run = 0; run < 2000; run++) {
		uint8_t *st[3], *ab, *ba, *ab_c, *bc, *a_bc, *aa;
		size_t sl[3], abl, bal, ab_cl, bcl, a_bcl, aal;

		universe_make(&u, &s);
		/* Three states, each from a random subset of the versions. */
		for (int k = 0; k < 3; k++) {
			struct gt_table *t = table_new("state", NULL);

			for (size_t i = 0; i < u.n; i++)
				if (rng_below(&s, 2))
					cr_assert_geq(gt_merge(t, &u.v[i].e, 1), 0);
			st[k] = encode_all(t, &sl[k]);
			gt_destroy(t);
		}
		ab = join(st[0], sl[0], st[1], sl[1], &abl);
		ba = join(st[1], sl[1], st[0], sl[0], &bal);
		assert_bytes_eq(ab, abl, ba, bal, "a+b = b+a", run);
		ab_c = join(ab, abl, st[2], sl[2], &ab_cl);
		bc = join(st[1], sl[1], st[2], sl[2], &bcl);
		a_bc = join(st[0], sl[0], bc, bcl, &a_bcl);
		assert_bytes_eq(ab_c, ab_cl, a_bc, a_bcl, "(a+b)+c = a+(b+c)", run);
		aa = join(st[0], sl[0], st[0], sl[0], &aal);
		assert_bytes_eq(aa, aal, st[0], sl[0], "a+a = a", run);
		free(ab);
		free(ba);
		free(ab_c);
		free(bc);
		free(a_bc);
		free(aa);
		for (int k = 0; k < 3; k++)
			free(st[k]);
	}
}

/* Anti-entropy between replicas mid-way still converges. */
Test(table_property, pairwise_push_pull_converges)
{
	static struct universe u;
	uint64_t s = 0x5eed5;

	for (int run = 0; run < 500; run++) {
		struct gt_table *t[4];
		uint8_t *ref = NULL;
		size_t ref_len = 0;

		universe_make(&u, &s);
		for (int r = 0; r < 4; r++) {
			char self[8];

			snprintf(self, sizeof(self), "r%d", r);
			t[r] = table_new(self, NULL);
		}
		/* Each version reaches one random replica; exchanges spread it. */
		for (size_t i = 0; i < u.n; i++) {
			cr_assert_geq(gt_merge(t[rng_below(&s, 4)], &u.v[i].e, 1), 0);
			if (rng_below(&s, 5) == 0) {
				size_t a = rng_below(&s, 4), b = rng_below(&s, 4), len;
				uint8_t *buf = encode_all(t[a], &len);

				cr_assert_geq(gt_merge_all(t[b], buf, len, 1), 0);
				free(buf);
			}
		}
		/* A ring of full exchanges, twice around, reaches everyone. */
		for (int round = 0; round < 2; round++)
			for (int r = 0; r < 4; r++) {
				size_t len;
				uint8_t *buf = encode_all(t[r], &len);

				cr_assert_geq(gt_merge_all(t[(r + 1) % 4], buf, len, 1), 0);
				free(buf);
			}
		for (int r = 0; r < 4; r++) {
			size_t len;
			uint8_t *buf = encode_all(t[r], &len);

			check_max_stamps(t[r], &u);
			if (!ref) {
				ref = buf;
				ref_len = len;
			} else {
				assert_bytes_eq(buf, len, ref, ref_len, "push/pull", run);
				free(buf);
			}
		}
		free(ref);
		for (int r = 0; r < 4; r++)
			gt_destroy(t[r]);
	}
}

Test(table, undeletable_kinds_refuse_tombstones)
{
	struct gt_table *t = table_new("a", NULL);
	struct gt_entry tomb = ent(3, "r/x/1/0", 9, "b", 1, NULL);

	gt_set_undeletable(t, 3);
	put_ok(t, 3, "r/x/1/0", "{}", 1);
	put_ok(t, 1, "net", "{}", 1);
	cr_expect_eq(gt_del(t, 3, "r/x/1/0", 2, NULL), -EINVAL, "no local delete");
	cr_expect_eq(gt_merge(t, &tomb, 3), -EINVAL, "no tombstone from a peer");
	cr_expect_not_null(gt_get(t, 3, "r/x/1/0"), "the entry stays");
	cr_expect_eq(gt_del(t, 1, "net", 4, NULL), 0, "other kinds still delete");
	gt_destroy(t);
}

Test(table, forget_drops_without_a_tombstone)
{
	struct gt_table *t = table_new("a", NULL);

	put_ok(t, 2, "ep1", "{}", 1);
	put_ok(t, 2, "ep2", "{}", 1);
	cr_assert_eq(gt_forget(t, 2, "ep1"), 0);
	cr_expect_null(gt_get(t, 2, "ep1"));
	cr_expect_eq(gt_count(t, 2, 1), 1, "no tombstone left behind");
	cr_expect_not_null(gt_get(t, 2, "ep2"));
	cr_expect_eq(gt_forget(t, 2, "ep1"), -ENOENT);
	gt_destroy(t);
}
