/* SPDX-License-Identifier: MIT */
/*
 * broker: the request protocol of cluster-wide IPAM, one node's side of it
 * for one network ring (docs/ipam.md, "The broker").  A host short of free
 * addresses asks a donor chosen from free-space reports for space; a
 * specific address owned by another host is asked of its owner.  The broker
 * sends the requests, matches the answers by sequence number, times them
 * out, tries other donors, holds a failed search, and answers its peers'
 * requests by donating from its own ring.
 *
 * A state machine without I/O, JSON, clock or global state, like
 * gossip/swim.h: the caller feeds it time (ms, any monotonic clock),
 * decoded messages and ring changes, and it answers through struct
 * ipam_broker_ops.  It works on a ring and a lease set it is lent (the
 * caller's taken set: nothing in it is ever allocated or donated).  The same
 * code runs in the agent and in tests/sim/sim_ipam.c with 1,000 nodes.
 *
 * The wire form (a type byte 0x81-0x84, then compact JSON with the ring id
 * and network name) stays with the caller: the caller routes a message to
 * the broker of its ring and encodes what the broker sends.
 */
#ifndef VXMESH_IPAM_BROKER_H
#define VXMESH_IPAM_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipam/ring.h"

#define IPAM_BROKER_TICK_MS	   200	/* how often a busy broker wants ipam_broker_tick() */
#define IPAM_BROKER_ASK_TIMEOUT_MS 700	/* one space request; an address request gets 2x */
#define IPAM_BROKER_ASK_TRIES	   4	/* donors tried in one search */
#define IPAM_BROKER_FAIL_HOLD_MS   3000 /* a failed search is not retried sooner */
#define IPAM_BROKER_ANSWER_KEEP_MS 2000 /* an address answer serves later leases this long */
#define IPAM_BROKER_LOW_WATER	   8	/* ask ahead when fewer owned addresses are free */
#define IPAM_BROKER_NEWS_MS                                                                        \
	1500 /* a search out of donors waits this long for news when a                             \
		refuser's report still shows free space */

struct ipam_broker;

/* Message types, equal to their wire type bytes. */
enum ipam_msg_type {
	IPAM_MSG_SPACE_REQ = 0x81,
	IPAM_MSG_SPACE_ANS = 0x82,
	IPAM_MSG_IP_REQ = 0x83,
	IPAM_MSG_IP_ANS = 0x84,
};

/* An answer's result.  IPAM_RES_ABSENT: no result field (such an answer is
 * ignored).  A decoder maps unknown strings to IPAM_RES_NOT_OWNER: a space
 * answer other than "granted" is a refusal, an address answer other than
 * "granted" or "leased" means "not the owner". */
enum ipam_result {
	IPAM_RES_ABSENT,
	IPAM_RES_GRANTED,
	IPAM_RES_NONE, /* space: nothing to give */
	IPAM_RES_LEASED,
	IPAM_RES_NOT_OWNER,
};

/* One decoded message.  Wire JSON: {"ring","net","from","seq"[,"ip"]} for
 * requests, {"ring","seq"[,"ip"],"result"} for answers. */
struct ipam_msg {
	enum ipam_msg_type type;
	uint64_t seq;
	char from[RING_ID_MAX];	 /* requests: the requester (answers: the sender, unchecked) */
	uint32_t ip;		 /* IP_REQ, IP_ANS: host order */
	enum ipam_result result; /* answers */
	/* SPACE_ANS "none": a host the sender gave space to lately, worth
	 * asking next ("" = none).  A hint only: the asker checks it like any
	 * donor. */
	char hint[RING_ID_MAX];
};

/* Why a lease did not succeed now (ipam_broker_lease()'s *why). */
enum ipam_broker_why {
	IPAM_WHY_OK,
	IPAM_WHY_RETIRED,      /* -EPERM: self was removed with `node rm` */
	IPAM_WHY_NO_RECORD,    /* -EAGAIN: no ownership entry known yet (on its way) */
	IPAM_WHY_ASKING_SPACE, /* -EAGAIN: waiting for donor `peer` */
	IPAM_WHY_NO_DONOR,     /* -ENOSPC: none free here, `tries` donors asked in vain */
	IPAM_WHY_ASKING_OWNER, /* -EAGAIN: waiting for `peer`, the address's owner */
	IPAM_WHY_LEASED,       /* -EADDRINUSE: `peer` said it is in use there */
	IPAM_WHY_SILENT,       /* -EHOSTUNREACH: `peer`, the owner, did not answer */
	IPAM_WHY_MOVED,	       /* -EAGAIN: `peer` no longer owns it; waiting for the entry */
	IPAM_WHY_UNREACHABLE,  /* -EHOSTUNREACH: `peer` is not alive (`state` as member_state) */
	IPAM_WHY_SEND_FAILED,  /* -EHOSTUNREACH: cannot send to `peer` (`err`) */
	IPAM_WHY_RING,	       /* `err` from the ring (-EDOM, -ENOMEM, ...) */
	IPAM_WHY_AWAIT_SPACE,  /* -EAGAIN: donor `peer` refused, but its report shows free
				  space: waiting for news (the entries of its grants) */
};

struct ipam_broker_why_info {
	enum ipam_broker_why why;
	char peer[RING_ID_MAX];
	unsigned tries;
	int state, err;
};

/* The agent's message for w: net is the network's name, ip the address
 * asked for (NULL for any), peer the peer's host name (NULL: w->peer). */
void ipam_broker_why_fmt(const struct ipam_broker_why_info *w, const char *net, const char *ip,
			 const char *peer, char *buf, size_t len);

struct ipam_broker_stats {
	unsigned long long space_asked, space_granted, space_none, space_given;
	unsigned long long ip_asked, ip_granted, ip_refused, ip_given;
};

/* A free-space report, one per call of the reports() callback. */
typedef void ipam_broker_report_cb(void *cbarg, const struct ring_report *rep);

struct ipam_broker_ops {
	/* Send m to node `to`, best effort.  0 or -errno (counts as not sent). */
	int (*send)(void *arg, const char *to, const struct ipam_msg *m);
	/* Store (persist) then gossip an entry this node just wrote into the
	 * ring.  0 or -errno; on failure the request is answered "none" /
	 * "not-owner". */
	int (*publish)(void *arg, const struct ring_entry *e);
	/* Optional: send a granted entry straight to its new owner; the driver
	 * makes it a no-op when gossip already reaches every member.  Called
	 * after publish() and before the answer. */
	void (*send_entry)(void *arg, const char *to, const struct ring_entry *e);
	/* Callers waiting on -EAGAIN may retry now (an answer, space, a
	 * failure).  May be called from inside any broker call; must not call
	 * back into the broker synchronously. */
	void (*wake)(void *arg);
	/* Pure queries.  member_state: 1 alive or suspect, 0 dead or left, -1
	 * unknown.  retired: was id removed with `node rm` (self included)? */
	int (*member_state)(void *arg, const char *id);
	bool (*retired)(void *arg, const char *id);
	/* Call cb once per peer's free-space report for this ring (ids and
	 * values validated; the broker drops self, refused donors, members not
	 * alive, zero and clips to the space). */
	void (*reports)(void *arg, ipam_broker_report_cb *cb, void *cbarg);
};

struct ipam_broker_config {
	struct ring *ring;	  /* lent, outlives the broker; its self is this node */
	struct ring_leases *held; /* lent: the taken set */
	const char *self;	  /* this node's id, as the ring's */
	uint64_t seed;		  /* donor choice, first sequence number (pick at random:
				     answers to a previous run must not match) */
};

/* 0, -EINVAL, -ENOMEM.  Release with ipam_broker_destroy() (NULL is fine). */
int ipam_broker_create(struct ipam_broker **out, const struct ipam_broker_config *cfg,
		       const struct ipam_broker_ops *ops, void *arg)
	__attribute__((warn_unused_result));
void ipam_broker_destroy(struct ipam_broker *b);

/* Lease an address: *want when want is non-NULL (the caller has checked it
 * against its pool), else any free owned one; *out gets it and it is added
 * to held.  0, -EAGAIN (a peer was asked or an entry is on its way: retry
 * after wake()), -ENOSPC, -EADDRINUSE, -EHOSTUNREACH, -EPERM, or a ring
 * error; *why (may be NULL) says why.  On success, asks ahead for space
 * below IPAM_BROKER_LOW_WATER free. */
int ipam_broker_lease(struct ipam_broker *b, uint64_t now, const uint32_t *want, uint32_t *out,
		      struct ipam_broker_why_info *why) __attribute__((warn_unused_result));

/* A message for this ring.  Requests from self or without a requester are
 * ignored; answers that match no outstanding request (seq) are ignored. */
void ipam_broker_recv(struct ipam_broker *b, uint64_t now, const struct ipam_msg *m);

/* Time out requests.  Returns true while the broker wants another tick
 * (about IPAM_BROKER_TICK_MS later). */
bool ipam_broker_tick(struct ipam_broker *b, uint64_t now);

/* New entries were merged into the ring (ring_merge() returned 1), or the
 * caller wrote its own (ring_init_space(), ring_reclaim()).  Ends a space
 * search once self owns free space; wakes waiting callers. */
void ipam_broker_ring_changed(struct ipam_broker *b);

/* The donor being asked (for `vxmesh ipam`'s "asking"), or NULL. */
const char *ipam_broker_asking(const struct ipam_broker *b);
void ipam_broker_stats_get(const struct ipam_broker *b, struct ipam_broker_stats *st);

#endif
