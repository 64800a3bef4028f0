/* SPDX-License-Identifier: MIT */
/*
 * table: replicated tables (networks, endpoints, ...) as a state-based CRDT.
 * Each entry is a last-writer-wins register keyed by (kind, key): the
 * version with the higher (clock, origin) stamp wins, where clock is a
 * Lamport clock and origin the writing node's id.  Deletes are tombstones
 * with their own stamp, reaped after a bound.  Merging is commutative,
 * associative and idempotent, so gossip can deliver updates in any order,
 * any number of times, and push/pull of the whole table converges.
 * Values are opaque bytes; the driver gives them meaning.  Pure: no I/O.
 */
#ifndef VXMESH_GOSSIP_TABLE_H
#define VXMESH_GOSSIP_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define GT_KEY_MAX   128 /* bytes incl. NUL */
#define GT_ID_MAX    64	 /* node id, bytes incl. NUL */
#define GT_VALUE_MAX 4096

enum gt_kind {
	GT_KIND_NET = 1,      /* networks, by name */
	GT_KIND_EP = 2,	      /* endpoints, by id */
	GT_KIND_RING = 3,     /* address-ownership entries (docs/ipam.md), written once */
	GT_KIND_IPREPORT = 4, /* per node and network: addresses owned, free, leased */
	GT_KIND_RETIRED = 5,  /* node ids removed with `vxmesh node rm` */
	GT_KIND_MAX = 16
};

struct gt_entry {
	uint8_t kind; /* enum gt_kind, or any value < GT_KIND_MAX */
	char key[GT_KEY_MAX];
	uint64_t clock;
	char origin[GT_ID_MAX]; /* node that wrote this version */
	char owner[GT_ID_MAX];	/* node the entry belongs to */
	int deleted;		/* tombstone */
	uint64_t deleted_at;	/* ms, local clock, when this node learned it */
	const uint8_t *value;	/* NULL for tombstones */
	size_t value_len;
};

struct gt_table;

/* Called after every change merge or put/del made, with the entry as it was
 * (NULL when new) and as it is now. */
typedef void (*gt_change_cb)(void *arg, const struct gt_entry *old, const struct gt_entry *cur);

/* 0, -EINVAL (bad self_id) or -ENOMEM.  Release with gt_destroy().  cb may
 * be NULL; it must not change the table. */
int gt_create(struct gt_table **out, const char *self_id, gt_change_cb cb, void *arg)
	__attribute__((warn_unused_result));
void gt_destroy(struct gt_table *t);

/* Local writes: stamp with ++clock and self as origin.  0 or -errno.  When
 * out is not NULL it gets the stored entry (valid until the next change). */
int gt_put(struct gt_table *t, uint8_t kind, const char *key, const char *owner,
	   const uint8_t *value, size_t len, uint64_t now, const struct gt_entry **out)
	__attribute__((warn_unused_result));
/* -ENOENT when absent or already deleted. */
int gt_del(struct gt_table *t, uint8_t kind, const char *key, uint64_t now,
	   const struct gt_entry **out) __attribute__((warn_unused_result));

/* Merge one remote version; the local clock moves past its clock.  Returns
 * 1 when it won (the table changed), 0 when it lost or was a duplicate,
 * -EINVAL when malformed. */
int gt_merge(struct gt_table *t, const struct gt_entry *e, uint64_t now);

/* The live entry, or NULL when absent or deleted. */
const struct gt_entry *gt_get(const struct gt_table *t, uint8_t kind, const char *key);
typedef void (*gt_entry_cb)(void *arg, const struct gt_entry *e);
/* Live entries (and tombstones when with_deleted) of one kind, sorted by key. */
void gt_foreach(const struct gt_table *t, uint8_t kind, int with_deleted, gt_entry_cb cb,
		void *arg);
size_t gt_count(const struct gt_table *t, uint8_t kind, int with_deleted);
uint64_t gt_clock(const struct gt_table *t);

/* Entries of this kind are written once and never deleted: gt_del() and
 * merging a tombstone are refused (-EINVAL). */
void gt_set_undeletable(struct gt_table *t, uint8_t kind);
/* Drop (kind, key) from this replica only: no tombstone, nothing to
 * gossip (an entry the caller could not persist).  0 or -ENOENT. */
int gt_forget(struct gt_table *t, uint8_t kind, const char *key);

/* Drop tombstones older than max_age ms.  Returns how many. */
size_t gt_reap(struct gt_table *t, uint64_t now, uint64_t max_age);

/* Wire form of one entry and of the whole table (msgpack).  *out malloc()ed.
 * Decoding validates every field against its type and size limits. */
int gt_entry_encode(const struct gt_entry *e, uint8_t **out, size_t *len)
	__attribute__((warn_unused_result));
/* The decoded entry's value points into buf. */
int gt_entry_decode(const uint8_t *buf, size_t len, struct gt_entry *e)
	__attribute__((warn_unused_result));
int gt_encode_all(const struct gt_table *t, uint8_t **out, size_t *len)
	__attribute__((warn_unused_result));
/* Merge every entry of an encoded table; returns how many changed ours, or
 * -EINVAL (nothing merged) when malformed. */
int gt_merge_all(struct gt_table *t, const uint8_t *buf, size_t len, uint64_t now);

#endif
