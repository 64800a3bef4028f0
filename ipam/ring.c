// SPDX-License-Identifier: MIT
/*
 * DOC: ipam ring
 *
 * One node's replica of a network's ownership entries.  Two sorted arrays:
 * the entries (pointers, in stamp order, so encoding is canonical) and the
 * effective map as segments [start, end) -> winning entry, disjoint, sorted,
 * adjacent segments never pointing at the same entry.  Uncovered addresses
 * have no segment.  Each entry counts the segments pointing at it; at zero it
 * wins nowhere and is freed.  Dropping it cannot change any future map: every
 * address it covers is covered by a higher stamp, and the set only grows.
 *
 * Merging paints the new entry over the segments it beats, inside its own
 * extent only, so a merge costs a binary search plus moving the segment
 * array's tail.  Node ids are interned (entries hold indices) to keep an
 * entry at 32 bytes: a 1,000-node view holds a few thousand entries.
 *
 * The stamp order is (clock, origin, start, end, owner).  Honest nodes never
 * write two overlapping entries with one (clock, origin); the trailing keys
 * only make the order total, so any set of entries, whatever its source,
 * has exactly one map.
 *
 * Decoding uses the bounded msgpack reader of common/mpread.h: every count
 * and length is checked against the bytes left before anything is read.
 */
#include "ipam/ring.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <msgpack.h>

#include "common/addr.h"
#include "common/mpread.h"
#include "ipam/ipam.h"

/* Clocks stay below 2^63, as gossip/table.c's: SQLite integers, no wrap. */
#define CLOCK_LIMIT (UINT64_C(1) << 63)
#define ENTRIES_MAX (1u << 24)

struct ent {
	uint64_t clock;
	uint32_t start, end;
	uint32_t owner, origin; /* interned ids */
	uint32_t refs;		/* segments pointing here */
};

struct seg {
	uint32_t start, end;
	struct ent *e;
};

struct ring {
	uint32_t first, end;
	uint32_t self;
	uint32_t cursor;
	uint64_t clock;
	char **ids;	  /* interned, index = id number */
	uint32_t *byname; /* id numbers sorted by string */
	size_t nids, capids;
	struct ent **ents; /* stamp order */
	size_t nents, capents;
	struct seg *segs;
	size_t nsegs, capsegs;
};

/* Leases */

void ring_leases_init(struct ring_leases *l)
{
	memset(l, 0, sizeof(*l));
}

void ring_leases_fini(struct ring_leases *l)
{
	if (!l)
		return;
	free(l->ip);
	memset(l, 0, sizeof(*l));
}

/* First index whose address is >= ip. */
static size_t lease_lb(const struct ring_leases *l, uint32_t ip)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->ip[mid] < ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int ring_leases_add(struct ring_leases *l, uint32_t ip)
{
	size_t i = lease_lb(l, ip);

	if (i < l->n && l->ip[i] == ip)
		return -EEXIST;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		uint32_t *p = realloc(l->ip, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->ip = p;
		l->cap = cap;
	}
	memmove(&l->ip[i + 1], &l->ip[i], (l->n - i) * sizeof(*l->ip));
	l->ip[i] = ip;
	l->n++;
	return 0;
}

int ring_leases_del(struct ring_leases *l, uint32_t ip)
{
	size_t i = lease_lb(l, ip);

	if (i == l->n || l->ip[i] != ip)
		return -ENOENT;
	memmove(&l->ip[i], &l->ip[i + 1], (l->n - i - 1) * sizeof(*l->ip));
	l->n--;
	return 0;
}

bool ring_leases_has(const struct ring_leases *l, uint32_t ip)
{
	size_t i = lease_lb(l, ip);

	return i < l->n && l->ip[i] == ip;
}

size_t ring_leases_count(const struct ring_leases *l, uint32_t start, uint32_t end)
{
	if (start >= end)
		return 0;
	return lease_lb(l, end) - lease_lb(l, start);
}

/* Ids */

static bool id_ok(const char *s)
{
	size_t n = 0;

	for (; n < RING_ID_MAX && s[n]; n++)
		if (s[n] < 0x21 || s[n] > 0x7e || s[n] == '/')
			return false;
	return n > 0 && n < RING_ID_MAX;
}

/* Position of name in byname; *found when present. */
static size_t id_lb(const struct ring *r, const char *name, bool *found)
{
	size_t lo = 0, hi = r->nids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(r->ids[r->byname[mid]], name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < r->nids && !strcmp(r->ids[r->byname[lo]], name);
	return lo;
}

/* Id number of name, or UINT32_MAX when not interned. */
static uint32_t id_find(const struct ring *r, const char *name)
{
	bool found;
	size_t i = id_lb(r, name, &found);

	return found ? r->byname[i] : UINT32_MAX;
}

static int id_intern(struct ring *r, const char *name, uint32_t *out)
{
	bool found;
	size_t i = id_lb(r, name, &found);
	char *dup;

	if (found) {
		*out = r->byname[i];
		return 0;
	}
	if (r->nids >= UINT32_MAX - 1)
		return -ENOMEM;
	if (r->nids == r->capids) {
		size_t cap = r->capids ? r->capids * 2 : 16;
		char **ids = realloc(r->ids, cap * sizeof(*ids));
		uint32_t *byname;

		if (!ids)
			return -ENOMEM;
		r->ids = ids;
		byname = realloc(r->byname, cap * sizeof(*byname));
		if (!byname)
			return -ENOMEM;
		r->byname = byname;
		r->capids = cap;
	}
	dup = strdup(name);
	if (!dup)
		return -ENOMEM;
	r->ids[r->nids] = dup;
	memmove(&r->byname[i + 1], &r->byname[i], (r->nids - i) * sizeof(*r->byname));
	r->byname[i] = (uint32_t)r->nids;
	*out = (uint32_t)r->nids++;
	return 0;
}

/* Stamp order */

/* The public and the interned form of an entry, compared without interning. */
struct key {
	uint64_t clock;
	uint32_t start, end;
	const char *owner, *origin;
};

static int u64_cmp(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int key_cmp(const struct key *a, const struct key *b)
{
	int c;

	if ((c = u64_cmp(a->clock, b->clock)))
		return c;
	if ((c = strcmp(a->origin, b->origin)))
		return c;
	if ((c = u64_cmp(a->start, b->start)))
		return c;
	if ((c = u64_cmp(a->end, b->end)))
		return c;
	return strcmp(a->owner, b->owner);
}

static struct key ent_key(const struct ring *r, const struct ent *e)
{
	struct key k = {e->clock, e->start, e->end, r->ids[e->owner], r->ids[e->origin]};

	return k;
}

static struct key entry_key(const struct ring_entry *e)
{
	struct key k = {e->clock, e->start, e->end, e->owner, e->origin};

	return k;
}

static int ent_cmp_key(const struct ring *r, const struct ent *e, const struct key *k)
{
	struct key ek = ent_key(r, e);

	return key_cmp(&ek, k);
}

/* Index of the first entry not below k; *found when equal. */
static size_t ent_lb(const struct ring *r, const struct key *k, bool *found)
{
	size_t lo = 0, hi = r->nents;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ent_cmp_key(r, r->ents[mid], k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < r->nents && ent_cmp_key(r, r->ents[lo], k) == 0;
	return lo;
}

/* First segment whose end is above ip. */
static size_t seg_lb(const struct ring *r, uint32_t ip)
{
	size_t lo = 0, hi = r->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->segs[mid].end <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct seg *seg_at(const struct ring *r, uint32_t ip)
{
	size_t i = seg_lb(r, ip);

	if (i < r->nsegs && r->segs[i].start <= ip)
		return &r->segs[i];
	return NULL;
}

/* Lifecycle */

int ring_space(const struct addr_prefix *subnet, uint32_t *first, uint32_t *end)
{
	uint32_t net, mask;

	if (subnet->len < IPAM_PLEN_MIN || subnet->len > IPAM_PLEN_MAX)
		return -EINVAL;
	mask = UINT32_MAX << (32 - subnet->len);
	net = ntohl(subnet->addr.s_addr);
	if (net & ~mask)
		return -EINVAL;
	*first = net + 1;
	*end = net | ~mask; /* the broadcast address, exclusive */
	return 0;
}

int ring_create(struct ring **out, uint32_t first, uint32_t end, const char *self)
{
	struct ring *r;
	int err;

	if (!self || !id_ok(self) || first >= end)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->first = first;
	r->end = end;
	r->cursor = first;
	err = id_intern(r, self, &r->self);
	if (err) {
		ring_destroy(r);
		return err;
	}
	*out = r;
	return 0;
}

void ring_destroy(struct ring *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nents; i++)
		free(r->ents[i]);
	for (size_t i = 0; i < r->nids; i++)
		free(r->ids[i]);
	free(r->ents);
	free(r->segs);
	free(r->ids);
	free(r->byname);
	free(r);
}

/* Merge */

static int entry_check(const struct ring *r, const struct ring_entry *e)
{
	if (e->clock == 0 || e->clock >= CLOCK_LIMIT || e->start >= e->end)
		return -EINVAL;
	if (r && (e->start < r->first || e->end > r->end))
		return -EINVAL;
	if (!id_ok(e->owner) || !id_ok(e->origin))
		return -EINVAL;
	return 0;
}

static int reserve(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 16;
	void *n;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	n = realloc(*p, c * size);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = c;
	return 0;
}

static void seg_push(struct seg *v, size_t *n, uint32_t start, uint32_t end, struct ent *e)
{
	if (*n && v[*n - 1].e == e && v[*n - 1].end == start) {
		v[*n - 1].end = end;
		return;
	}
	v[*n].start = start;
	v[*n].end = end;
	v[*n].e = e;
	e->refs++;
	(*n)++;
}

static void ent_remove(struct ring *r, const struct ent *e)
{
	struct key k = ent_key(r, e);
	bool found;
	size_t i = ent_lb(r, &k, &found);

	memmove(&r->ents[i], &r->ents[i + 1], (r->nents - i - 1) * sizeof(*r->ents));
	r->nents--;
}

/*
 * Paint e over the segments it beats in [e->start, e->end).  The window is
 * the run of segments overlapping that extent; it is rebuilt into tmp (at
 * most 2 * count + 1 pieces) and spliced back.
 */
static int paint(struct ring *r, struct ent *e, const struct key *ek)
{
	size_t i0 = seg_lb(r, e->start), i1 = i0, n = 0, ndead = 0, k;
	uint32_t pos = e->start;
	struct seg *tmp;
	bool wins = false;

	while (i1 < r->nsegs && r->segs[i1].start < e->end)
		i1++;
	/* Does e win anywhere?  A gap, or a segment with a lower stamp. */
	for (k = i0; k < i1 && !wins; k++) {
		if (r->segs[k].start > pos || ent_cmp_key(r, r->segs[k].e, ek) < 0)
			wins = true;
		pos = r->segs[k].end;
	}
	if (!wins && pos >= e->end)
		return 0;

	tmp = malloc((2 * (i1 - i0) + 1) * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	if (reserve((void **)&r->segs, &r->capsegs, r->nsegs + 2 * (i1 - i0) + 1,
		    sizeof(*r->segs))) {
		free(tmp);
		return -ENOMEM;
	}
	pos = e->start;
	for (k = i0; k < i1; k++) {
		struct seg s = r->segs[k];

		if (s.start > pos)
			seg_push(tmp, &n, pos, s.start, e);
		if (ent_cmp_key(r, s.e, ek) > 0) {
			seg_push(tmp, &n, s.start, s.end, s.e);
		} else {
			if (s.start < e->start)
				seg_push(tmp, &n, s.start, e->start, s.e);
			seg_push(tmp, &n, s.start > e->start ? s.start : e->start,
				 s.end < e->end ? s.end : e->end, e);
			if (s.end > e->end)
				seg_push(tmp, &n, e->end, s.end, s.e);
		}
		pos = s.end;
	}
	if (pos < e->end)
		seg_push(tmp, &n, pos, e->end, e);

	/* The old window's references go; entries left with none are shadowed.
	 * Their pointers are collected in the window's own slots, which the
	 * splice below overwrites. */
	for (k = i0; k < i1; k++)
		r->segs[k].e->refs--;
	for (k = i0; k < i1; k++) {
		struct ent *old = r->segs[k].e;

		if (old->refs == 0) {
			old->refs = UINT32_MAX; /* listed once even if in two segments */
			ent_remove(r, old);
			r->segs[i0 + ndead++].e = old;
		}
	}
	for (k = 0; k < ndead; k++)
		free(r->segs[i0 + k].e);
	memmove(&r->segs[i0 + n], &r->segs[i1], (r->nsegs - i1) * sizeof(*r->segs));
	memcpy(&r->segs[i0], tmp, n * sizeof(*tmp));
	r->nsegs = r->nsegs - (i1 - i0) + n;
	free(tmp);
	return 1;
}

static int merge_one(struct ring *r, const struct ring_entry *in)
{
	struct key k = entry_key(in);
	struct ent *e;
	bool found;
	size_t idx;
	int ret;

	if (entry_check(r, in))
		return -EINVAL;
	if (in->clock > r->clock)
		r->clock = in->clock;
	idx = ent_lb(r, &k, &found);
	if (found)
		return 0;
	if (reserve((void **)&r->ents, &r->capents, r->nents + 1, sizeof(*r->ents)) ||
	    r->nents >= ENTRIES_MAX)
		return -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->clock = in->clock;
	e->start = in->start;
	e->end = in->end;
	if (id_intern(r, in->owner, &e->owner) || id_intern(r, in->origin, &e->origin)) {
		free(e);
		return -ENOMEM;
	}
	/* Insert first: paint() may remove entries and shift indices. */
	memmove(&r->ents[idx + 1], &r->ents[idx], (r->nents - idx) * sizeof(*r->ents));
	r->ents[idx] = e;
	r->nents++;
	ret = paint(r, e, &k);
	if (ret <= 0) {
		ent_remove(r, e);
		free(e);
	}
	return ret;
}

int ring_merge(struct ring *r, const struct ring_entry *e)
{
	if (!r || !e)
		return -EINVAL;
	return merge_one(r, e);
}

/* A local write over [start, end), all of it self-owned (the caller checked),
 * stamped above everything this replica has seen. */
static int write_local(struct ring *r, uint32_t start, uint32_t end, uint64_t clock,
		       const char *owner, struct ring_entry *out)
{
	struct ring_entry e = {.start = start, .end = end, .clock = clock};
	int ret;

	strcpy(e.owner, owner);
	strcpy(e.origin, r->ids[r->self]);
	ret = merge_one(r, &e);
	if (ret < 0)
		return ret;
	if (ret == 0)
		return -EINVAL; /* cannot happen: the stamp is above all we know */
	*out = e;
	return 0;
}

static int next_clock(const struct ring *r, uint64_t *clock)
{
	if (r->clock + 1 >= CLOCK_LIMIT)
		return -EOVERFLOW;
	*clock = r->clock + 1;
	return 0;
}

int ring_init_space(struct ring *r, struct ring_entry *out)
{
	uint64_t clock;
	int err;

	if (r->nents)
		return -EEXIST;
	err = next_clock(r, &clock);
	if (err)
		return err;
	return write_local(r, r->first, r->end, clock, r->ids[r->self], out);
}

/* Queries */

int ring_owner(const struct ring *r, uint32_t ip, char owner[RING_ID_MAX])
{
	const struct seg *s;

	if (ip < r->first || ip >= r->end)
		return -EDOM;
	s = seg_at(r, ip);
	if (!s)
		return -ENOENT;
	if (owner)
		strcpy(owner, r->ids[s->e->owner]);
	return 0;
}

static uint64_t owned_by(const struct ring *r, uint32_t id)
{
	uint64_t n = 0;

	for (size_t i = 0; i < r->nsegs; i++)
		if (r->segs[i].e->owner == id)
			n += r->segs[i].end - r->segs[i].start;
	return n;
}

uint64_t ring_owned(const struct ring *r, const char *id)
{
	uint32_t n = id ? id_find(r, id) : UINT32_MAX;

	return n == UINT32_MAX ? 0 : owned_by(r, n);
}

uint64_t ring_free(const struct ring *r, const struct ring_leases *l)
{
	uint64_t n = 0;

	for (size_t i = 0; i < r->nsegs; i++) {
		const struct seg *s = &r->segs[i];

		if (s->e->owner == r->self)
			n += s->end - s->start - ring_leases_count(l, s->start, s->end);
	}
	return n;
}

/* First address >= from inside [from, end) not in l, or end. */
static uint32_t first_unleased(const struct ring_leases *l, uint32_t from, uint32_t end)
{
	size_t i = lease_lb(l, from);

	while (from < end && i < l->n && l->ip[i] == from)
		from++, i++;
	return from;
}

static int alloc_from(struct ring *r, struct ring_leases *l, uint32_t from, uint32_t *ip)
{
	for (size_t i = seg_lb(r, from); i < r->nsegs; i++) {
		const struct seg *s = &r->segs[i];
		uint32_t a;

		if (s->e->owner != r->self)
			continue;
		a = first_unleased(l, s->start > from ? s->start : from, s->end);
		if (a < s->end) {
			int err = ring_leases_add(l, a);

			if (err)
				return err;
			*ip = a;
			r->cursor = a + 1 < r->end ? a + 1 : r->first;
			return 0;
		}
	}
	return -ENOSPC;
}

int ring_alloc(struct ring *r, struct ring_leases *l, uint32_t *ip)
{
	int err = alloc_from(r, l, r->cursor, ip);

	if (err == -ENOSPC && r->cursor > r->first)
		err = alloc_from(r, l, r->first, ip);
	return err;
}

int ring_claim(struct ring *r, struct ring_leases *l, uint32_t ip, char owner[RING_ID_MAX])
{
	const struct seg *s;

	if (ip < r->first || ip >= r->end)
		return -EDOM;
	if (ring_leases_has(l, ip))
		return -EADDRINUSE;
	s = seg_at(r, ip);
	if (!s)
		return -ENOENT;
	if (s->e->owner != r->self) {
		if (owner)
			strcpy(owner, r->ids[s->e->owner]);
		return -EREMOTE;
	}
	return ring_leases_add(l, ip);
}

/* Donation */

static int donee_check(const struct ring *r, const char *to)
{
	if (!to || !id_ok(to) || !strcmp(to, r->ids[r->self]))
		return -EINVAL;
	return 0;
}

/* Largest run of free self-owned addresses (adjacent self-owned segments
 * join); the lowest such run on ties.  Returns its length, 0 when none. */
static uint32_t largest_free(const struct ring *r, const struct ring_leases *l, uint32_t *start)
{
	uint32_t best = 0, run_start = 0, run_end = 0;
	bool in_run = false;

	for (size_t i = 0; i <= r->nsegs; i++) {
		const struct seg *s = i < r->nsegs ? &r->segs[i] : NULL;
		bool joins = s && s->e->owner == r->self;

		if (joins && in_run && s->start == run_end) {
			run_end = s->end;
			continue;
		}
		if (in_run) {
			/* Walk the leases inside [run_start, run_end): the gaps are free. */
			size_t j = lease_lb(l, run_start);
			uint32_t pos = run_start;

			for (;; j++) {
				uint32_t stop = j < l->n && l->ip[j] < run_end ? l->ip[j] : run_end;

				if (stop - pos > best) {
					best = stop - pos;
					*start = pos;
				}
				if (stop == run_end)
					break;
				pos = stop + 1;
			}
		}
		in_run = joins;
		if (joins) {
			run_start = s->start;
			run_end = s->end;
		}
	}
	return best;
}

int ring_donate(struct ring *r, const struct ring_leases *l, const char *to, uint32_t want,
		struct ring_entry *out)
{
	uint32_t start = 0, len, give;
	uint64_t clock;
	int err;

	err = donee_check(r, to);
	if (err)
		return err;
	len = largest_free(r, l, &start);
	if (len == 0)
		return -ENOSPC;
	give = len / 2 ? len / 2 : 1;
	if (want && want < give)
		give = want;
	err = next_clock(r, &clock);
	if (err)
		return err;
	/* The upper end: the donor keeps the part its cursor is likely in. */
	return write_local(r, start + len - give, start + len, clock, to, out);
}

int ring_donate_ip(struct ring *r, const struct ring_leases *l, const char *to, uint32_t ip,
		   struct ring_entry *out)
{
	const struct seg *s;
	uint64_t clock;
	int err;

	err = donee_check(r, to);
	if (err)
		return err;
	if (ip < r->first || ip >= r->end)
		return -EDOM;
	s = seg_at(r, ip);
	if (!s || s->e->owner != r->self)
		return -EREMOTE;
	if (ring_leases_has(l, ip))
		return -EADDRINUSE;
	err = next_clock(r, &clock);
	if (err)
		return err;
	return write_local(r, ip, ip + 1, clock, to, out);
}

int ring_reclaim(struct ring *r, const char *dead, struct ring_entry **out, size_t *n)
{
	struct ring_entry *v = NULL;
	size_t nv = 0, cap = 0, i;
	uint32_t dead_id;
	uint64_t clock;
	int err;

	if (donee_check(r, dead))
		return -EINVAL;
	dead_id = id_find(r, dead);
	if (dead_id == UINT32_MAX || owned_by(r, dead_id) == 0)
		return -ENOENT;
	err = next_clock(r, &clock);
	if (err)
		return err;
	/* Collect the runs first: writing changes the segment array. */
	for (i = 0; i < r->nsegs; i++) {
		const struct seg *s = &r->segs[i];

		if (s->e->owner != dead_id)
			continue;
		if (nv && v[nv - 1].end == s->start) {
			v[nv - 1].end = s->end;
			continue;
		}
		if (reserve((void **)&v, &cap, nv + 1, sizeof(*v))) {
			free(v);
			return -ENOMEM;
		}
		memset(&v[nv], 0, sizeof(v[nv]));
		v[nv].start = s->start;
		v[nv].end = s->end;
		nv++;
	}
	/* One step, one clock: the runs are disjoint. */
	for (i = 0; i < nv; i++) {
		err = write_local(r, v[i].start, v[i].end, clock, r->ids[r->self], &v[i]);
		if (err) {
			free(v);
			return err;
		}
	}
	*out = v;
	*n = nv;
	return 0;
}

int ring_pick_donor(const struct ring *r, const struct ring_report *rep, size_t n, uint64_t rnd,
		    char out[RING_ID_MAX])
{
	const char *self = r->ids[r->self];
	uint64_t total = 0, pick;
	uint64_t best = 0;
	uint32_t best_id = UINT32_MAX;
	size_t i;

	for (i = 0; i < n; i++)
		if (rep[i].free && id_ok(rep[i].id) && strcmp(rep[i].id, self) &&
		    total + rep[i].free >= total)
			total += rep[i].free;
	if (total) {
		pick = rnd % total;
		for (i = 0; i < n; i++) {
			if (!rep[i].free || !id_ok(rep[i].id) || !strcmp(rep[i].id, self))
				continue;
			if (pick < rep[i].free) {
				strcpy(out, rep[i].id);
				return 0;
			}
			pick -= rep[i].free;
		}
	}
	/* No reports: whoever owns the most here (ties: the lower id number,
	 * which is stable for this replica). */
	for (i = 0; i < r->nids; i++) {
		uint64_t o;

		if (i == r->self)
			continue;
		o = owned_by(r, (uint32_t)i);
		if (o > best) {
			best = o;
			best_id = (uint32_t)i;
		}
	}
	if (best_id == UINT32_MAX)
		return -ENOENT;
	strcpy(out, r->ids[best_id]);
	return 0;
}

static void entry_of(const struct ring *r, const struct ent *e, struct ring_entry *out)
{
	memset(out, 0, sizeof(*out));
	out->start = e->start;
	out->end = e->end;
	out->clock = e->clock;
	strcpy(out->owner, r->ids[e->owner]);
	strcpy(out->origin, r->ids[e->origin]);
}

int ring_map(const struct ring *r, struct ring_entry **out, size_t *n)
{
	struct ring_entry *v = NULL;

	if (r->nsegs) {
		v = calloc(r->nsegs, sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	for (size_t i = 0; i < r->nsegs; i++) {
		entry_of(r, r->segs[i].e, &v[i]);
		v[i].start = r->segs[i].start;
		v[i].end = r->segs[i].end;
	}
	*out = v;
	*n = r->nsegs;
	return 0;
}

size_t ring_entry_count(const struct ring *r)
{
	return r->nents;
}

uint64_t ring_size(const struct ring *r)
{
	return r->end - r->first;
}

uint64_t ring_clock(const struct ring *r)
{
	return r->clock;
}

/* Wire form: a map {"s": start, "e": end, "c": clock, "o": origin, "w": owner}. */

static int pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int pack_entry(msgpack_packer *pk, const struct ring_entry *e)
{
	int err = 0;

	err |= msgpack_pack_map(pk, 5);
	err |= pack_str(pk, "s") || msgpack_pack_uint32(pk, e->start);
	err |= pack_str(pk, "e") || msgpack_pack_uint32(pk, e->end);
	err |= pack_str(pk, "c") || msgpack_pack_uint64(pk, e->clock);
	err |= pack_str(pk, "o") || pack_str(pk, e->origin);
	err |= pack_str(pk, "w") || pack_str(pk, e->owner);
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
	if (!*out)
		return -ENOMEM;
	return 0;
}

int ring_entry_encode(const struct ring_entry *e, uint8_t **out, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	if (entry_check(NULL, e))
		return -EINVAL;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	return sbuf_finish(&sb, pack_entry(&pk, e), out, len);
}

int ring_encode(const struct ring *r, uint8_t **out, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int err;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	err = msgpack_pack_array(&pk, r->nents) ? -ENOMEM : 0;
	for (size_t i = 0; i < r->nents && !err; i++) {
		struct ring_entry e;

		entry_of(r, r->ents[i], &e);
		err = pack_entry(&pk, &e);
	}
	return sbuf_finish(&sb, err, out, len);
}

enum field_id { F_START, F_END, F_CLOCK, F_ORIGIN, F_OWNER, F_COUNT };

static const struct mpr_field entry_policy[F_COUNT] = {
	[F_START] = {"s", MPR_UINT, 0, UINT32_MAX},
	[F_END] = {"e", MPR_UINT, 1, UINT32_MAX},
	[F_CLOCK] = {"c", MPR_UINT, 1, CLOCK_LIMIT - 1},
	[F_ORIGIN] = {"o", MPR_STR, 1, RING_ID_MAX - 1},
	[F_OWNER] = {"w", MPR_STR, 1, RING_ID_MAX - 1},
};

/* One entry map, fully validated except against a ring's space. */
static int entry_read(struct mpr *r, struct ring_entry *e)
{
	struct mpr_obj val[F_COUNT];
	uint32_t seen;

	memset(e, 0, sizeof(*e));
	if (mpr_map_read(r, entry_policy, F_COUNT, val, &seen) || seen != (1u << F_COUNT) - 1)
		return -EINVAL;
	e->start = (uint32_t)val[F_START].u;
	e->end = (uint32_t)val[F_END].u;
	e->clock = val[F_CLOCK].u;
	memcpy(e->origin, val[F_ORIGIN].ptr, val[F_ORIGIN].len);
	memcpy(e->owner, val[F_OWNER].ptr, val[F_OWNER].len);
	/* Both stay NUL-terminated from the memset: lengths are below RING_ID_MAX.
	 * id_ok() also refuses an embedded NUL: strlen must be the wire length. */
	return entry_check(NULL, e);
}

int ring_entry_decode(const uint8_t *buf, size_t len, struct ring_entry *e)
{
	struct mpr r = {.p = buf, .left = len};
	struct ring_entry tmp;

	if (!buf || entry_read(&r, &tmp) || r.left)
		return -EINVAL;
	*e = tmp;
	return 0;
}

static int set_open(struct mpr *r, size_t *count)
{
	struct mpr_obj m;

	if (mpr_head(r, &m) || m.type != MPR_ARRAY || m.u > ENTRIES_MAX)
		return -EINVAL;
	*count = (size_t)m.u;
	return 0;
}

int ring_merge_all(struct ring *r, const uint8_t *buf, size_t len)
{
	struct mpr rd = {.p = buf, .left = len};
	struct ring_entry e;
	size_t count;
	int changed = 0;

	if (!buf)
		return -EINVAL;
	/* Validate all, store nothing; then merge.  Only -ENOMEM can stop the
	 * second pass, leaving a valid state that lacks some entries. */
	if (set_open(&rd, &count))
		return -EINVAL;
	for (size_t i = 0; i < count; i++)
		if (entry_read(&rd, &e) || entry_check(r, &e))
			return -EINVAL;
	if (rd.left)
		return -EINVAL;
	rd = (struct mpr){.p = buf, .left = len};
	if (set_open(&rd, &count))
		return -EINVAL;
	for (size_t i = 0; i < count; i++) {
		int ret;

		if (entry_read(&rd, &e))
			return -EINVAL;
		ret = merge_one(r, &e);
		if (ret < 0)
			return ret;
		changed += ret;
	}
	return changed;
}
