/* SPDX-License-Identifier: MIT */
/*
 * ring: cluster-wide ownership of one network's address space, replicated
 * as a state-based CRDT (docs/ipam.md has the design and the proof).
 *
 * The space is the subnet's host addresses [network+1, broadcast), host
 * byte order.  Ownership is a set of self-describing entries "[start, end)
 * belongs to owner", each stamped (Lamport clock, writing node).  Where
 * entries overlap, the higher stamp wins; an entry that wins nowhere is
 * dropped.  A node writes only over addresses its own view says it owns
 * (creation and reclaim excepted), so at any time at most one node believes
 * it owns a given address, even across partitions.  Allocation is local, from
 * self-owned space; space moves only by its owner donating it.
 *
 * Pure: no I/O, no clock, no global state.  One struct ring is one node's
 * replica of one network; the caller persists ring_encode() before it
 * publishes an entry ring_donate()/ring_reclaim() wrote, or acts on space a
 * merge gave it.
 */
#ifndef VXMESH_IPAM_RING_H
#define VXMESH_IPAM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct addr_prefix;
struct ring;

#define RING_ID_MAX 64 /* node id, bytes incl. NUL: printable ASCII, no '/' */

/* One ownership entry, and one run of the effective map (a winning entry
 * clipped to where it wins). */
struct ring_entry {
	uint32_t start, end; /* host order, [start, end) */
	uint64_t clock;	     /* Lamport clock of the write, >= 1 */
	char owner[RING_ID_MAX];
	char origin[RING_ID_MAX]; /* node that wrote it */
};

/* The caller's leases as a sorted set.  Gateway and reserved addresses go in
 * as permanent leases: nothing leased is ever allocated or donated. */
struct ring_leases {
	uint32_t *ip;
	size_t n, cap;
};

void ring_leases_init(struct ring_leases *l);
void ring_leases_fini(struct ring_leases *l);
/* 0, -EEXIST or -ENOMEM. */
int ring_leases_add(struct ring_leases *l, uint32_t ip) __attribute__((warn_unused_result));
/* 0 or -ENOENT. */
int ring_leases_del(struct ring_leases *l, uint32_t ip);
bool ring_leases_has(const struct ring_leases *l, uint32_t ip);
/* Leases inside [start, end). */
size_t ring_leases_count(const struct ring_leases *l, uint32_t start, uint32_t end);

/* A free-space report gossiped by an owner (input to ring_pick_donor()). */
struct ring_report {
	char id[RING_ID_MAX];
	uint64_t free;
};

/* Space of a subnet: [network+1, broadcast).  0 or -EINVAL (prefix length
 * outside IPAM_PLEN_MIN..IPAM_PLEN_MAX, or host bits set). */
int ring_space(const struct addr_prefix *subnet, uint32_t *first, uint32_t *end)
	__attribute__((warn_unused_result));

/* An empty replica of space [first, end) held by node self.  0, -EINVAL (bad
 * id or empty space), -ENOMEM.  Release with ring_destroy(). */
int ring_create(struct ring **out, uint32_t first, uint32_t end, const char *self)
	__attribute__((warn_unused_result));
void ring_destroy(struct ring *r);

/* The network's creator takes the whole space: one entry, written to *out
 * for the caller to persist and publish.  -EEXIST when any entry is known. */
int ring_init_space(struct ring *r, struct ring_entry *out) __attribute__((warn_unused_result));

/* Merge one entry from a peer.  1 when it changed the map, 0 when it was a
 * duplicate or is shadowed everywhere, -EINVAL (malformed or outside the
 * space; nothing changed), -ENOMEM. */
int ring_merge(struct ring *r, const struct ring_entry *e) __attribute__((warn_unused_result));

/* Owner of ip in this view: 0, -ENOENT (no entry covers it), -EDOM. */
int ring_owner(const struct ring *r, uint32_t ip, char owner[RING_ID_MAX]);
/* Addresses id owns in this view. */
uint64_t ring_owned(const struct ring *r, const char *id);
/* Addresses self owns that are not in l. */
uint64_t ring_free(const struct ring *r, const struct ring_leases *l);

/* Lease a free self-owned address, walking forward from the last one handed
 * out; it is added to l.  0, -ENOSPC (ask a donor), -ENOMEM. */
int ring_alloc(struct ring *r, struct ring_leases *l, uint32_t *ip)
	__attribute__((warn_unused_result));
/* Lease ip if self owns it; added to l.  0, -EDOM (outside the space),
 * -EADDRINUSE (in l), -EREMOTE (owner gets the owner to ask), -ENOENT (no
 * owner known), -ENOMEM. */
int ring_claim(struct ring *r, struct ring_leases *l, uint32_t ip, char owner[RING_ID_MAX])
	__attribute__((warn_unused_result));

/* Give `to` about half of self's largest free run (at most want addresses
 * when want > 0, at least one).  *out gets the entry to persist and publish.
 * 0, -ENOSPC (nothing free), -EINVAL (to is self or bad), -EOVERFLOW. */
int ring_donate(struct ring *r, const struct ring_leases *l, const char *to, uint32_t want,
		struct ring_entry *out) __attribute__((warn_unused_result));
/* Give `to` exactly ip.  0, -EDOM, -EREMOTE (not self's), -EADDRINUSE,
 * -EINVAL, -EOVERFLOW. */
int ring_donate_ip(struct ring *r, const struct ring_leases *l, const char *to, uint32_t ip,
		   struct ring_entry *out) __attribute__((warn_unused_result));

/* `vxmesh node rm`: take over every run dead owns in this view, in one step.
 * Only for a node that is dead and stays dead; the caller refuses it while
 * the node is alive.  *out (malloc()ed, *n entries) to persist and publish.
 * 0, -ENOENT (dead owns nothing here), -EINVAL (dead is self), -ENOMEM. */
int ring_reclaim(struct ring *r, const char *dead, struct ring_entry **out, size_t *n)
	__attribute__((warn_unused_result));

/* Choose whom to ask for space: among reports with free space (self
 * excluded), weighted by free space using rnd; without any, the node owning
 * the most in this view.  0 or -ENOENT. */
int ring_pick_donor(const struct ring *r, const struct ring_report *rep, size_t n, uint64_t rnd,
		    char out[RING_ID_MAX]) __attribute__((warn_unused_result));

/* Effective map: sorted, disjoint runs, each the winning entry clipped.
 * *out malloc()ed (NULL when *n is 0).  0 or -ENOMEM. */
int ring_map(const struct ring *r, struct ring_entry **out, size_t *n)
	__attribute__((warn_unused_result));
size_t ring_entry_count(const struct ring *r);
/* Addresses in the space, end - first. */
uint64_t ring_size(const struct ring *r);
uint64_t ring_clock(const struct ring *r);

/* Wire form (msgpack): one entry, and the whole entry set in stamp order
 * (replicas holding the same entries encode to the same bytes).  *out
 * malloc()ed.  Decoding validates every field. */
int ring_entry_encode(const struct ring_entry *e, uint8_t **out, size_t *len)
	__attribute__((warn_unused_result));
int ring_entry_decode(const uint8_t *buf, size_t len, struct ring_entry *e)
	__attribute__((warn_unused_result));
int ring_encode(const struct ring *r, uint8_t **out, size_t *len)
	__attribute__((warn_unused_result));
/* Merge an encoded entry set: how many entries changed the map, or -EINVAL
 * (nothing merged) when any entry is malformed or outside the space. */
int ring_merge_all(struct ring *r, const uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));

#endif
