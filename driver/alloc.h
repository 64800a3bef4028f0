/* SPDX-License-Identifier: MIT */
/*
 * alloc: cluster-wide address allocation, the agent's side of ipam/ring
 * (was ipamc).  It knows neither the agent nor gossip: what it needs of its
 * peers (the replicated table, direct messages, membership) is handed to it
 * as struct drv_alloc_peers, and it wakes callers waiting on a peer through
 * the wake callback it was opened with.
 *
 * Each network with a ring id has a replica of its address-ownership ring
 * (docs/ipam.md).  Ring entries travel in the replicated table (kind
 * GT_KIND_RING, one key per write, never deleted) and are merged only after
 * the table stored them, so this host never acts on ownership it could
 * forget in a crash.  Allocation is local from owned space; a host short of
 * space asks a peer (space request), a specific address owned elsewhere is
 * asked of its owner (address request).  Callers that get -EAGAIN defer
 * their answer; wake() runs when an answer or new space arrives.
 *
 * Messages are gossip user messages sent to one member, a type byte
 * followed by compact JSON (readable in a capture):
 *   0x81 space request  {"ring","net","from","seq"}
 *   0x82 space answer   {"ring","seq","result":"granted"|"none"}
 *   0x83 address request {"ring","net","from","seq","ip"}
 *   0x84 address answer {"ring","seq","ip","result":"granted"|"leased"|"not-owner"}
 * A grant is a ring entry the donor stored and gossiped before answering;
 * it is also sent straight to the requester as a table update.
 *
 * Per network it keeps two taken sets in step: local leases (this host's
 * endpoints and Docker's addresses) and holds (other hosts' addresses seen
 * in the table, Docker's aux addresses).  Neither is ever handed out.
 */
#ifndef VXMESH_ALLOC_H
#define VXMESH_ALLOC_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "driver/api.h" /* drv_alloc_routes[] needs the complete struct api_route */
#include "driver/state.h"
#include "gossip/table.h"

#define DRV_ALLOC_MSG_SPACE_REQ 0x81
#define DRV_ALLOC_MSG_SPACE_ANS 0x82
#define DRV_ALLOC_MSG_IP_REQ	0x83
#define DRV_ALLOC_MSG_IP_ANS	0x84
#define DRV_ALLOC_MSG_FIRST	DRV_ALLOC_MSG_SPACE_REQ
#define DRV_ALLOC_MSG_LAST	DRV_ALLOC_MSG_IP_ANS
#define DRV_ALLOC_DEFER_MS	5000 /* how long a caller may wait for a peer */

struct drv_alloc;
struct drv_alloc_net;
struct rx_loop;

/*
 * What the allocator needs of its peers (driver/cluster.c implements it).
 * Until drv_alloc_set_peers() is called, put/del/send fail with -ENOTCONN,
 * get returns NULL, foreach visits nothing, member lookups return -1.
 */
struct drv_alloc_peers {
	/* Write (kind, key) owned by owner (NULL = this node), store it, then
	 * gossip it; an entry the store refused is not sent.  Takes value
	 * (malloc()ed).  0 or -errno. */
	int (*put)(void *arg, uint8_t kind, const char *key, const char *owner, uint8_t *value,
		   size_t len);
	int (*del)(void *arg, uint8_t kind, const char *key);
	const struct gt_entry *(*get)(void *arg, uint8_t kind, const char *key);
	/* Live entries of kind; the table must not be changed from cb. */
	void (*foreach)(void *arg, uint8_t kind, gt_entry_cb cb, void *cbarg);
	/* A user message (type byte first) / the current version of a table
	 * entry to the member with node id `id`, now, best effort.  0,
	 * -ENOENT (no such member), -EHOSTDOWN (not alive), -errno. */
	int (*send)(void *arg, const char *id, const uint8_t *msg, size_t len);
	int (*send_entry)(void *arg, const char *id, uint8_t kind, const char *key);
	/* Do own changes go straight to every live member (small clusters)? */
	int (*fans_out)(void *arg);
	/* Member with node id `id`: 1 alive or suspect, 0 dead or left, -1
	 * unknown; name (GT_ID_MAX bytes) gets its gossip name when known. */
	int (*member_state)(void *arg, const char *id, char *name, size_t len);
	/* Node id of the member called name: 1, 0, -1 as above. */
	int (*member_by_name)(void *arg, const char *name, char *id, size_t len);
	/* Node ids of the live vxmesh members, sorted (strcmp) and malloc()ed.
	 * 0 or -ENOMEM. */
	int (*live_ids)(void *arg, char (**ids)[GT_ID_MAX], size_t *n);
};

/* The allocator of node self_id (copied) on loop.  wake(wake_arg) is called
 * from the loop (never on a caller's stack) when callers that got -EAGAIN
 * may try again.  0 or -ENOMEM; release with drv_alloc_close(). */
int drv_alloc_open(struct drv_alloc **out, struct rx_loop *loop, const char *self_id,
		   void (*wake)(void *arg), void *wake_arg) __attribute__((warn_unused_result));
/* Accepts NULL.  Every network must be closed first. */
void drv_alloc_close(struct drv_alloc *al);
/* peers and arg must outlive the allocator (or be replaced by NULL). */
void drv_alloc_set_peers(struct drv_alloc *al, const struct drv_alloc_peers *peers, void *arg);

/* "" or DRV_RING_ID_LEN lowercase hex digits. */
int drv_alloc_ring_id_ok(const char *s);
/* A fresh random ring id.  0 or -EIO. */
int drv_alloc_ring_id_new(char out[DRV_RING_ID_LEN + 1]) __attribute__((warn_unused_result));

/* Pool and ring replica of a network (the ring from what the peers' table
 * holds); rec is copied.  0, -EINVAL/-EDOM (bad subnet or gateway: an ipam
 * errno, see ipam_strerror()), -EEXIST (a network of that name is open),
 * -ENOMEM. */
int drv_alloc_net_open(struct drv_alloc *al, const struct drv_net_rec *rec,
		       struct drv_alloc_net **out) __attribute__((warn_unused_result));
/* Accepts NULL. */
void drv_alloc_net_close(struct drv_alloc *al, struct drv_alloc_net *an);
/* The network's creator takes its whole space (stored and gossiped).  0 or
 * -errno. */
int drv_alloc_net_init_space(struct drv_alloc *al, struct drv_alloc_net *an)
	__attribute__((warn_unused_result));

/* Lease an address for a local endpoint or Docker: want (NULL = any).  0
 * with *ip set; -EAGAIN when a peer was asked (wait for wake(), then call
 * again with the same arguments; why says for what); otherwise refused:
 * -EDOM/-EADDRNOTAVAIL/-EINVAL (not a usable address), -EADDRINUSE,
 * -ENOSPC (no space here or at any reachable peer), -EHOSTUNREACH (the
 * owner of want is unreachable), -EPERM (this node was removed), with the
 * reason in why. */
int drv_alloc_lease(struct drv_alloc *al, struct drv_alloc_net *an, const struct in_addr *want,
		    struct in_addr *ip, char *why, size_t len) __attribute__((warn_unused_result));
/* A local lease the state database holds from an earlier run.  0 or an ipam
 * errno. */
int drv_alloc_lease_restore(struct drv_alloc *al, struct drv_alloc_net *an, struct in_addr ip)
	__attribute__((warn_unused_result));
/* Give a local lease back.  Unknown addresses are ignored. */
void drv_alloc_release(struct drv_alloc *al, struct drv_alloc_net *an, struct in_addr ip);

/* Hold another host's address out of allocation here.  0 or an ipam errno
 * (-EADDRINUSE when taken here: a conflict). */
int drv_alloc_hold(struct drv_alloc_net *an, struct in_addr ip) __attribute__((warn_unused_result));
void drv_alloc_unhold(struct drv_alloc_net *an, struct in_addr ip);
/* Is ip taken here (leased, held or reserved)? */
int drv_alloc_is_taken(const struct drv_alloc_net *an, struct in_addr ip);
/* Docker's aux addresses: never handed out.  0 or an ipam errno. */
int drv_alloc_reserve(struct drv_alloc_net *an, struct in_addr ip)
	__attribute__((warn_unused_result));

/* Addresses in the network: capacity; of this host: owned, owned and free,
 * leased here. */
struct drv_alloc_counts {
	uint64_t capacity, owned, free, leased;
};
void drv_alloc_counts(const struct drv_alloc *al, const struct drv_alloc_net *an,
		      struct drv_alloc_counts *c);

/* A stored change of a table entry of kind GT_KIND_RING..GT_KIND_RETIRED
 * (the cluster calls it after the store accepted the entry). */
void drv_alloc_table_changed(struct drv_alloc *al, const struct gt_entry *e);
/* A user message with type DRV_ALLOC_MSG_FIRST..DRV_ALLOC_MSG_LAST. */
void drv_alloc_user_msg(struct drv_alloc *al, const uint8_t *buf, size_t len);

void drv_alloc_metrics(const struct drv_alloc *al, FILE *f);

/* Control API: GET /v1/ipam, GET /v1/ipam/NET, DELETE /v1/nodes/NAME; the
 * handlers' arg is the struct drv_alloc. */
extern const struct api_route drv_alloc_routes[];
extern const size_t drv_alloc_nroutes;

#endif
