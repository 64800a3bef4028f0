/* SPDX-License-Identifier: MIT */
/*
 * swim: SWIM membership with Lifeguard, as memberlist 0.2.2 runs it (probe,
 * indirect probe, TCP fallback ping, suspicion with confirmations,
 * awareness, incarnation and refutation, piggybacked broadcasts with a
 * retransmit limit, periodic push/pull).  A state machine without I/O or
 * clocks: the caller feeds it time, packets and stream results, and it
 * answers through struct swim_ops.  The same code runs in the agent (over
 * gossip/transport.c) and in simulations of thousands of nodes in one
 * process, deterministically for a given seed.
 */
#ifndef VXMESH_GOSSIP_SWIM_H
#define VXMESH_GOSSIP_SWIM_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/wire.h"

struct swim;

struct swim_config {
	char name[GW_NAME_MAX]; /* unique node name */
	struct in_addr addr;	/* advertised gossip address and port */
	uint16_t port;
	uint8_t meta[GW_META_MAX];
	size_t meta_len;
	uint8_t vsn[GW_VSN_LEN]; /* gw_vsn_default */
	/* memberlist DefaultLANConfig names and values (ms) */
	uint32_t probe_interval, probe_timeout, indirect_checks;
	uint32_t suspicion_mult, suspicion_max_timeout_mult, retransmit_mult;
	uint32_t gossip_interval, gossip_nodes, gossip_to_the_dead_time;
	uint32_t pushpull_interval, tcp_timeout, awareness_max_multiplier;
	int encrypted; /* packets lose GW_ENC_OVERHEAD of budget */
	uint64_t seed; /* PRNG seed: probe order, jitter, targets */
};

/* Fill c with DefaultLANConfig timings and gw_vsn_default; name/addr/meta
 * are left for the caller. */
void swim_config_lan(struct swim_config *c);

struct swim_member {
	char name[GW_NAME_MAX];
	struct in_addr addr;
	uint16_t port;
	uint8_t meta[GW_META_MAX];
	size_t meta_len;
	uint8_t vsn[GW_VSN_LEN];
	uint32_t inc;
	enum gw_state state;
	uint64_t state_change; /* ms, the caller's clock */
	int is_self;
};

enum swim_ev_type {
	SWIM_EV_JOIN,	/* new member, or back from dead/left */
	SWIM_EV_UPDATE, /* meta (or address, when allowed) changed */
	SWIM_EV_SUSPECT,
	SWIM_EV_ALIVE,	  /* suspicion cleared */
	SWIM_EV_FAILED,	  /* declared dead */
	SWIM_EV_LEFT,	  /* left voluntarily */
	SWIM_EV_CONFLICT, /* another address claims a known live name */
};

struct swim_stats {
	unsigned long long msgs_in[14], msgs_out[14]; /* by gw_type */
	unsigned long long bytes_in, bytes_out;
	unsigned long long decode_errors;
	unsigned long long probes, probe_failures, refutes;
};

struct swim_ops {
	/* Send one UDP packet (plaintext; the transport encrypts). */
	void (*send_packet)(void *arg, struct in_addr dst, uint16_t port, const uint8_t *buf,
			    size_t len);
	/* Start a TCP exchange: deliver msg (one unframed stream message) to
	 * dst:port and report its reply with swim_stream_done() or failure with
	 * swim_stream_failed(), using id.  Must not call back synchronously. */
	void (*send_stream)(void *arg, uint64_t id, struct in_addr dst, uint16_t port,
			    const uint8_t *msg, size_t len);
	/* Never about the local node. */
	void (*event)(void *arg, enum swim_ev_type ev, const struct swim_member *m);
	/* A user message (type 8) arrived; buf is its payload. */
	void (*user_msg)(void *arg, const uint8_t *buf, size_t len);
	/* Local user state to send in a push/pull with peer (NULL when the peer is
	 * not known yet, e.g. a join to an address).  *buf malloc()ed or NULL. */
	void (*local_state)(void *arg, const struct swim_member *peer, int join, uint8_t **buf,
			    size_t *len);
	/* Remote user state from a push/pull. */
	void (*merge_state)(void *arg, const uint8_t *buf, size_t len, int join);
	/* Optional: may user broadcasts be piggybacked to a member with this
	 * meta?  NULL = to everyone.  When set, messages to receivers not known
	 * as members carry no user broadcasts. */
	int (*user_ok)(void *arg, const uint8_t *meta, size_t meta_len);
};

/* 0 or -errno.  Release with swim_destroy(). */
int swim_create(struct swim **out, const struct swim_config *cfg, const struct swim_ops *ops,
		void *arg, uint64_t now) __attribute__((warn_unused_result));
void swim_destroy(struct swim *s);

/* Inputs. */
void swim_handle_packet(struct swim *s, uint64_t now, struct in_addr from, uint16_t from_port,
			const uint8_t *buf, size_t len);
/* An incoming stream message; *reply (malloc()ed, unframed) is what to send
 * back, or NULL to just close.  0 or -errno. */
int swim_handle_stream(struct swim *s, uint64_t now, const struct gw_stream_msg *m, uint8_t **reply,
		       size_t *reply_len);
void swim_stream_done(struct swim *s, uint64_t now, uint64_t id, const struct gw_stream_msg *reply);
void swim_stream_failed(struct swim *s, uint64_t now, uint64_t id);
/* Run everything due at now.  Returns the next deadline (ms). */
uint64_t swim_tick(struct swim *s, uint64_t now);
uint64_t swim_next_deadline(const struct swim *s);

/* Actions. */
/* Push/pull (Join=true) with each address; results arrive as events. */
int swim_join(struct swim *s, uint64_t now, const struct in_addr *addrs, const uint16_t *ports,
	      size_t n);
/* Gossip dead{self, From self}; keep running until swim_leave_done(). */
int swim_leave(struct swim *s, uint64_t now);
int swim_leave_done(const struct swim *s);
/* Re-announce alive with a higher incarnation and new meta. */
int swim_set_meta(struct swim *s, uint64_t now, const uint8_t *meta, size_t len);
/* Queue a user broadcast (payload without the 08 type byte), retransmitted
 * like memberlist's; a newer broadcast with the same key replaces it. */
int swim_broadcast_user(struct swim *s, const char *key, const uint8_t *payload, size_t len);
/* Send a user message to one member now (UDP, best effort). */
int swim_send_user(struct swim *s, const char *name, const uint8_t *payload, size_t len);

/* Queries. */
size_t swim_member_count(const struct swim *s, enum gw_state state);
/* Snapshot of every member (self included).  *out malloc()ed; free() it. */
int swim_members(const struct swim *s, struct swim_member **out, size_t *n);
/* NULL when unknown; the view lives in s and is valid until the next call into s. */
const struct swim_member *swim_member_get(const struct swim *s, const char *name);
void swim_stats_get(const struct swim *s, struct swim_stats *st);
unsigned swim_awareness(const struct swim *s);

#endif
