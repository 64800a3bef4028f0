// SPDX-License-Identifier: MIT
/*
 * DOC: gossip table
 *
 * The replicated tables: one last-writer-wins register per (kind, key), kept
 * as an array of pointers to entries sorted by (kind, key), so lookups are
 * binary searches, gt_foreach() and gt_encode_all() walk in key order, and
 * two replicas holding the same versions encode to the same bytes.  Each
 * entry is one allocation holding its value bytes, so a pointer handed out
 * stays valid until that entry itself changes.
 *
 * A version wins when its stamp (clock, then origin compared bytewise) is
 * strictly greater.  Equal stamps with different content cannot come from
 * honest nodes (a node never reuses a clock value); such a pair is taken as
 * a duplicate and ours is kept.
 *
 * Tombstones record when this node learned them (deleted_at, local time,
 * never sent) and gt_reap() drops them after max_age.  A node cut off for
 * longer than max_age can bring a deleted entry back, because nothing is
 * left here to beat its older live version: max_age bounds the partitions
 * a delete survives.
 *
 * Decoding uses the bounded reader of common/mpread.h, not msgpack-c's
 * unpacker, and validates each field against a policy table.  Encoding uses
 * msgpack-c's packer.
 */
#include "gossip/table.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/mpread.h"

/* Clocks stay below 2^63: they fit SQLite's signed integers and a bogus
 * remote clock near 2^64 cannot wrap ours. */
#define CLOCK_LIMIT (UINT64_C(1) << 63)

struct item {
	struct gt_entry e;
	uint8_t val[]; /* e.value points here for live entries */
};

struct gt_table {
	struct item **items; /* sorted by (kind, key), unique */
	size_t n, cap;
	size_t live[GT_KIND_MAX];
	size_t dead[GT_KIND_MAX];
	uint64_t clock;
	unsigned undeletable; /* bit per kind: tombstones refused */
	char self[GT_ID_MAX];
	gt_change_cb cb;
	void *arg;
};

static bool id_ok(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n > 0 && n < max;
}

static int entry_check(const struct gt_entry *e)
{
	if (e->kind == 0 || e->kind >= GT_KIND_MAX || e->clock >= CLOCK_LIMIT)
		return -EINVAL;
	if (!id_ok(e->key, GT_KEY_MAX) || !id_ok(e->origin, GT_ID_MAX) ||
	    !id_ok(e->owner, GT_ID_MAX))
		return -EINVAL;
	if (e->deleted)
		return e->value || e->value_len ? -EINVAL : 0;
	if (e->value_len > GT_VALUE_MAX || (!e->value && e->value_len))
		return -EINVAL;
	return 0;
}

static int stamp_cmp(const struct gt_entry *a, const struct gt_entry *b)
{
	if (a->clock != b->clock)
		return a->clock < b->clock ? -1 : 1;
	return strcmp(a->origin, b->origin); /* compares as unsigned char */
}

static int key_cmp(uint8_t kind, const char *key, const struct gt_entry *e)
{
	if (kind != e->kind)
		return kind < e->kind ? -1 : 1;
	return strcmp(key, e->key);
}

/* Index of the first item not below (kind, key); *found when it matches. */
static size_t lower_bound(const struct gt_table *t, uint8_t kind, const char *key, bool *found)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(kind, key, &t->items[mid]->e) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < t->n && key_cmp(kind, key, &t->items[lo]->e) == 0;
	return lo;
}

/* A copy of e owning its strings and value; deleted_at set from now. */
static struct item *item_new(const struct gt_entry *e, uint64_t now)
{
	size_t vlen = e->deleted ? 0 : e->value_len;
	struct item *it = calloc(1, sizeof(*it) + vlen);

	if (!it)
		return NULL;
	it->e.kind = e->kind;
	strcpy(it->e.key, e->key);
	it->e.clock = e->clock;
	strcpy(it->e.origin, e->origin);
	strcpy(it->e.owner, e->owner);
	it->e.deleted = !!e->deleted;
	if (it->e.deleted) {
		it->e.deleted_at = now;
	} else {
		if (vlen)
			memcpy(it->val, e->value, vlen);
		it->e.value = it->val;
		it->e.value_len = vlen;
	}
	return it;
}

static void count_adjust(struct gt_table *t, const struct gt_entry *e, int delta)
{
	size_t *c = e->deleted ? &t->dead[e->kind] : &t->live[e->kind];

	*c += (size_t)delta;
}

/*
 * Put it at slot idx (replacing the item there when found), then tell the
 * callback and free the old version.  Cannot fail: the caller reserved room.
 */
static const struct gt_entry *install(struct gt_table *t, size_t idx, bool found, struct item *it)
{
	struct item *old = NULL;

	if (found) {
		old = t->items[idx];
		count_adjust(t, &old->e, -1);
	} else {
		memmove(&t->items[idx + 1], &t->items[idx], (t->n - idx) * sizeof(*t->items));
		t->n++;
	}
	t->items[idx] = it;
	count_adjust(t, &it->e, 1);
	if (t->cb)
		t->cb(t->arg, old ? &old->e : NULL, &it->e);
	free(old);
	return &it->e;
}

static int reserve_one(struct gt_table *t)
{
	struct item **p;
	size_t cap;

	if (t->n < t->cap)
		return 0;
	cap = t->cap ? t->cap * 2 : 64;
	p = realloc(t->items, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	t->items = p;
	t->cap = cap;
	return 0;
}

int gt_create(struct gt_table **out, const char *self_id, gt_change_cb cb, void *arg)
{
	struct gt_table *t;

	if (!self_id || !id_ok(self_id, GT_ID_MAX))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	strcpy(t->self, self_id);
	t->cb = cb;
	t->arg = arg;
	*out = t;
	return 0;
}

void gt_destroy(struct gt_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->items[i]);
	free(t->items);
	free(t);
}

/* Store a new local version of (kind, key), stamped (++clock, self). */
static int write_local(struct gt_table *t, struct gt_entry *e, size_t idx, bool found, uint64_t now,
		       const struct gt_entry **out)
{
	const struct gt_entry *cur;
	struct item *it;

	if (t->clock + 1 >= CLOCK_LIMIT)
		return -EOVERFLOW;
	if (!found && reserve_one(t))
		return -ENOMEM;
	e->clock = t->clock + 1;
	strcpy(e->origin, t->self);
	it = item_new(e, now);
	if (!it)
		return -ENOMEM;
	t->clock = e->clock;
	cur = install(t, idx, found, it);
	if (out)
		*out = cur;
	return 0;
}

int gt_put(struct gt_table *t, uint8_t kind, const char *key, const char *owner,
	   const uint8_t *value, size_t len, uint64_t now, const struct gt_entry **out)
{
	struct gt_entry e = {.kind = kind, .value = value, .value_len = len};
	bool found;
	size_t idx;

	if (!key || !owner || !id_ok(key, GT_KEY_MAX) || !id_ok(owner, GT_ID_MAX))
		return -EINVAL;
	strcpy(e.key, key);
	strcpy(e.owner, owner);
	strcpy(e.origin, t->self);
	if (entry_check(&e))
		return -EINVAL;
	idx = lower_bound(t, kind, key, &found);
	return write_local(t, &e, idx, found, now, out);
}

int gt_del(struct gt_table *t, uint8_t kind, const char *key, uint64_t now,
	   const struct gt_entry **out)
{
	struct gt_entry e = {.kind = kind, .deleted = 1};
	const struct gt_entry *old;
	bool found;
	size_t idx;

	if (kind == 0 || kind >= GT_KIND_MAX || !key || !id_ok(key, GT_KEY_MAX) ||
	    (t->undeletable & (1u << kind)))
		return -EINVAL;
	idx = lower_bound(t, kind, key, &found);
	if (!found || t->items[idx]->e.deleted)
		return -ENOENT;
	old = &t->items[idx]->e;
	strcpy(e.key, old->key);
	strcpy(e.owner, old->owner);
	return write_local(t, &e, idx, found, now, out);
}

/* What gt_merge() refuses before looking at the table's contents. */
static bool merge_refused(const struct gt_table *t, const struct gt_entry *e)
{
	return !e || entry_check(e) || (e->deleted && (t->undeletable & (1u << e->kind)));
}

int gt_merge(struct gt_table *t, const struct gt_entry *e, uint64_t now)
{
	struct item *it;
	bool found;
	size_t idx;

	if (merge_refused(t, e))
		return -EINVAL;
	if (e->clock > t->clock)
		t->clock = e->clock;
	idx = lower_bound(t, e->kind, e->key, &found);
	if (found && stamp_cmp(e, &t->items[idx]->e) <= 0)
		return 0;
	if (!found && reserve_one(t))
		return -ENOMEM;
	it = item_new(e, now);
	if (!it)
		return -ENOMEM;
	install(t, idx, found, it);
	return 1;
}

/* Live entries only: a tombstone reads as absent. */
const struct gt_entry *gt_get(const struct gt_table *t, uint8_t kind, const char *key)
{
	bool found;
	size_t idx;

	if (!key)
		return NULL;
	idx = lower_bound(t, kind, key, &found);
	if (!found || t->items[idx]->e.deleted)
		return NULL;
	return &t->items[idx]->e;
}

/* The callback must not change the table. */
void gt_foreach(const struct gt_table *t, uint8_t kind, int with_deleted, gt_entry_cb cb, void *arg)
{
	bool found;

	for (size_t i = lower_bound(t, kind, "", &found); i < t->n; i++) {
		const struct gt_entry *e = &t->items[i]->e;

		if (e->kind != kind)
			break;
		if (!e->deleted || with_deleted)
			cb(arg, e);
	}
}

size_t gt_count(const struct gt_table *t, uint8_t kind, int with_deleted)
{
	if (kind >= GT_KIND_MAX)
		return 0;
	return t->live[kind] + (with_deleted ? t->dead[kind] : 0);
}

uint64_t gt_clock(const struct gt_table *t)
{
	return t->clock;
}

void gt_set_undeletable(struct gt_table *t, uint8_t kind)
{
	if (kind > 0 && kind < GT_KIND_MAX)
		t->undeletable |= 1u << kind;
}

int gt_forget(struct gt_table *t, uint8_t kind, const char *key)
{
	bool found;
	size_t idx;

	if (!key)
		return -EINVAL;
	idx = lower_bound(t, kind, key, &found);
	if (!found)
		return -ENOENT;
	count_adjust(t, &t->items[idx]->e, -1);
	free(t->items[idx]);
	memmove(&t->items[idx], &t->items[idx + 1], (t->n - idx - 1) * sizeof(t->items[0]));
	t->n--;
	return 0;
}

size_t gt_reap(struct gt_table *t, uint64_t now, uint64_t max_age)
{
	size_t kept = 0, reaped = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct item *it = t->items[i];

		/* A clock stepped back makes the age 0, not huge. */
		if (it->e.deleted && now > it->e.deleted_at && now - it->e.deleted_at > max_age) {
			count_adjust(t, &it->e, -1);
			free(it);
			reaped++;
			continue;
		}
		t->items[kept++] = it;
	}
	t->n = kept;
	return reaped;
}

/* Wire form */

static int pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int pack_entry(msgpack_packer *pk, const struct gt_entry *e)
{
	int err = 0;

	err |= msgpack_pack_map(pk, e->deleted ? 6 : 7);
	err |= pack_str(pk, "k") || msgpack_pack_uint8(pk, e->kind);
	err |= pack_str(pk, "key") || pack_str(pk, e->key);
	err |= pack_str(pk, "c") || msgpack_pack_uint64(pk, e->clock);
	err |= pack_str(pk, "o") || pack_str(pk, e->origin);
	err |= pack_str(pk, "w") || pack_str(pk, e->owner);
	err |= pack_str(pk, "d") || (e->deleted ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
	if (!e->deleted)
		err |= pack_str(pk, "v") || msgpack_pack_bin(pk, e->value_len) ||
		       msgpack_pack_bin_body(pk, e->value, e->value_len);
	return err ? -ENOMEM : 0;
}

static int sbuf_finish(msgpack_sbuffer *sb, int err, uint8_t **out, size_t *len)
{
	if (err) {
		msgpack_sbuffer_destroy(sb);
		return err;
	}
	*len = sb->size;
	*out = (uint8_t *)msgpack_sbuffer_release(sb);
	return 0;
}

int gt_entry_encode(const struct gt_entry *e, uint8_t **out, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	if (entry_check(e))
		return -EINVAL;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	return sbuf_finish(&sb, pack_entry(&pk, e), out, len);
}

int gt_encode_all(const struct gt_table *t, uint8_t **out, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int err;

	if (t->n > UINT32_MAX)
		return -E2BIG;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	err = msgpack_pack_array(&pk, t->n) ? -ENOMEM : 0;
	for (size_t i = 0; i < t->n && !err; i++)
		err = pack_entry(&pk, &t->items[i]->e);
	return sbuf_finish(&sb, err, out, len);
}

enum field_id { F_KIND, F_KEY, F_CLOCK, F_ORIGIN, F_OWNER, F_DELETED, F_VALUE, F_COUNT };

/* Policy of the entry map: type and bounds (of the value for integers, of
 * the length for strings and binaries). */
static const struct mpr_field entry_policy[F_COUNT] = {
	[F_KIND] = {"k", MPR_UINT, 1, GT_KIND_MAX - 1},
	[F_KEY] = {"key", MPR_STR, 1, GT_KEY_MAX - 1},
	[F_CLOCK] = {"c", MPR_UINT, 0, CLOCK_LIMIT - 1},
	[F_ORIGIN] = {"o", MPR_STR, 1, GT_ID_MAX - 1},
	[F_OWNER] = {"w", MPR_STR, 1, GT_ID_MAX - 1},
	[F_DELETED] = {"d", MPR_BOOL, 0, 1},
	[F_VALUE] = {"v", MPR_BIN, 0, GT_VALUE_MAX},
};

#define REQUIRED                                                                                   \
	((1u << F_KIND) | (1u << F_KEY) | (1u << F_CLOCK) | (1u << F_ORIGIN) | (1u << F_OWNER) |   \
	 (1u << F_DELETED))

static void str_set(char *dst, const struct mpr_obj *m)
{
	memcpy(dst, m->ptr, m->len);
	dst[m->len] = '\0';
}

/* One entry map; e->value points into the reader's buffer. */
static int entry_read(struct mpr *r, struct gt_entry *e)
{
	struct mpr_obj val[F_COUNT];
	uint32_t seen;

	memset(e, 0, sizeof(*e));
	if (mpr_map_read(r, entry_policy, F_COUNT, val, &seen) || (seen & REQUIRED) != REQUIRED)
		return -EINVAL;
	e->kind = (uint8_t)val[F_KIND].u;
	str_set(e->key, &val[F_KEY]);
	e->clock = val[F_CLOCK].u;
	str_set(e->origin, &val[F_ORIGIN]);
	str_set(e->owner, &val[F_OWNER]);
	e->deleted = (int)val[F_DELETED].u;
	if (seen & (1u << F_VALUE)) {
		e->value = val[F_VALUE].ptr;
		e->value_len = val[F_VALUE].len;
	}
	if (!!(seen & (1u << F_VALUE)) == !!e->deleted)
		return -EINVAL; /* live entries carry a value, tombstones none */
	if (e->deleted)
		e->value = NULL;
	else if (!e->value)
		e->value = (const uint8_t *)""; /* empty bin: keep value non-NULL */
	return 0;
}

int gt_entry_decode(const uint8_t *buf, size_t len, struct gt_entry *e)
{
	struct mpr r = {.p = buf, .left = len};
	struct gt_entry tmp;

	if (!buf || entry_read(&r, &tmp) || r.left)
		return -EINVAL;
	*e = tmp;
	return 0;
}

/* The array header of an encoded table: its entry count. */
static int table_open(struct mpr *r, size_t *count)
{
	struct mpr_obj m;

	if (mpr_head(r, &m) || m.type != MPR_ARRAY || m.u > INT_MAX)
		return -EINVAL;
	*count = (size_t)m.u;
	return 0;
}

int gt_merge_all(struct gt_table *t, const uint8_t *buf, size_t len, uint64_t now)
{
	struct mpr r = {.p = buf, .left = len};
	struct gt_entry e;
	size_t count;
	int changed = 0;

	if (!buf)
		return -EINVAL;
	/* Validate everything first, storing nothing, so malformed input
	 * merges nothing; the second pass cannot fail to decode or be
	 * refused (a tombstone of an undeletable kind is refused here, not
	 * half-way).  Only -ENOMEM can stop it half-way, which leaves a
	 * valid, smaller state. */
	if (table_open(&r, &count))
		return -EINVAL;
	for (size_t i = 0; i < count; i++)
		if (entry_read(&r, &e) || merge_refused(t, &e))
			return -EINVAL;
	if (r.left)
		return -EINVAL;

	r = (struct mpr){.p = buf, .left = len};
	if (table_open(&r, &count))
		return -EINVAL;
	for (size_t i = 0; i < count; i++) {
		int ret;

		if (entry_read(&r, &e))
			return -EINVAL;
		ret = gt_merge(t, &e, now);
		if (ret < 0)
			return ret;
		changed += ret;
	}
	return changed;
}
