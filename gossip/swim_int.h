/* SPDX-License-Identifier: MIT */
/*
 * swim_int: the state of one SWIM instance, shared by the files of the
 * gossip state machine: swim.c (member table, timers, probing, periodic
 * work, input, life cycle), bcast.c (broadcast queues) and incarnation.c
 * (alive/suspect/dead rules, push/pull state).  Private to those three;
 * every other module includes gossip/swim.h only.
 */
#ifndef VXMESH_GOSSIP_SWIM_INT_H
#define VXMESH_GOSSIP_SWIM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/heap.h"
#include "gossip/swim.h"

#define container_of(p, T, m) heap_entry(p, T, m)

#define MSG_MAX	      2048 /* one encoded protocol message (alive with full meta) */
#define COMPOUND_HDR  2	   /* memberlist compoundHeaderOverhead */
#define COMPOUND_PART 2	   /* memberlist compoundOverhead */

enum tkind { T_PROBE, T_GOSSIP, T_PUSHPULL, T_RECONNECT, T_LEAVE, T_SUSPECT, T_HELPER, T_STREAM };

struct timer {
	struct heap_node hn; /* key: when it fires */
	enum tkind kind;
};

struct node;

struct suspicion {
	struct timer t;
	struct node *node;
	uint64_t start, min, max;
	uint32_t k, n;
	uint64_t from[]; /* hashes of distinct accusers, k + 1 at most */
};

struct bcast {
	struct bcast *prev, *next; /* within its tier */
	uint8_t *msg;
	size_t len;
	uint32_t transmits;
	uint64_t id;
	struct node *node; /* memberlist queue: the node it is about */
	char *key;	   /* user queue: replacement key, may be NULL */
	bool leave;
};

/* Tier t holds the broadcasts sent t times, most recently queued first. */
#define BQ_TIERS 128
struct bqueue {
	struct bcast *tier[BQ_TIERS];
	size_t n, min_len;
};

struct node {
	struct node *hnext;
	struct suspicion *susp;
	struct bcast *bc;
	uint8_t *meta;
	uint64_t state_change;
	struct in_addr addr;
	uint32_t inc, hash;
	uint16_t port, meta_len;
	uint8_t state;
	uint8_t vsn[GW_VSN_LEN];
	char name[];
};

/* A member declared dead or left, remembered for reconnect push/pulls. */
struct failed {
	char *name;
	uint32_t hash;
	struct in_addr addr;
	uint16_t port;
	uint64_t since;
};

struct helper;
struct pending;

enum phase { PROBE_IDLE, PROBE_WAIT_ACK, PROBE_WAIT_END };
enum tcp { TCP_NONE, TCP_PENDING, TCP_OK, TCP_FAIL };

struct swim {
	struct swim_config cfg;
	struct swim_ops ops;
	void *arg;
	uint64_t rng[4];
	uint64_t now;

	struct node **nodes; /* probe order */
	size_t nn, ncap;
	struct node **htab;
	size_t hcap;
	struct node *self;
	size_t count[4];
	size_t probe_idx;
	uint32_t seq, inc;
	unsigned awareness;

	struct heap heap;
	struct timer probe_t, gossip_t, pushpull_t, reconnect_t, leave_t;
	uint64_t last_gossip;

	struct {
		enum phase phase;
		enum tcp tcp;
		uint32_t seq, inc;
		char target[GW_NAME_MAX];
		uint64_t start, deadline;
		unsigned expected_nacks, nacks;
	} probe;

	struct bqueue mq, uq;
	uint64_t bc_id;
	struct helper *helpers;
	struct pending *pend;
	uint64_t stream_id;
	struct failed *failed;
	size_t nfailed, fcap;

	bool leaving, leave_done;
	struct swim_member view;
	struct swim_stats st;
};

/* A compound being filled: parts point into buf or at a caller's message. */
struct parts {
	const uint8_t *p[GW_COMPOUND_MAX];
	size_t len[GW_COMPOUND_MAX];
	size_t n, max, used;
	uint8_t buf[GW_UDP_BUDGET];
};

/* ---- swim.c ---- */

uint64_t hash64(const char *p);
void timer_init(struct timer *t, enum tkind kind);
int timer_arm(struct swim *s, struct timer *t, uint64_t when);
void timer_cancel(struct swim *s, struct timer *t);
struct node *node_find(const struct swim *s, const char *name);
struct node *node_new(struct swim *s, const struct gw_alive *a);
void set_state(struct swim *s, struct node *n, uint8_t st);
int set_meta(struct node *n, const uint8_t *meta, size_t len);
void fill_member(const struct swim *s, const struct node *n, struct swim_member *m);
void emit(struct swim *s, enum swim_ev_type ev, const struct node *n);
bool dead_or_left(const struct node *n);
void failed_del(struct swim *s, const char *name);
void failed_add(struct swim *s, const struct node *n);
size_t enc_overhead(const struct swim *s);

/* ---- bcast.c ---- */

void bq_clear(struct swim *s, struct bqueue *q);
void bcast_msg(struct swim *s, struct node *n, const struct gw_msg *m, bool leave);
void get_broadcasts(struct swim *s, struct parts *ps, size_t overhead, size_t limit,
		    const struct node *to);

/* ---- incarnation.c ---- */

void awareness_add(struct swim *s, int delta);
void self_alive_msg(const struct swim *s, struct gw_msg *m);
void susp_free(struct swim *s, struct node *n);
bool vsn_valid(const uint8_t *v);
void alive_node(struct swim *s, const struct gw_alive *a, bool bootstrap);
void suspect_node(struct swim *s, const char *name, uint32_t inc, const char *from);
void dead_node(struct swim *s, const char *name, uint32_t inc, const char *from);
void suspicion_fired(struct swim *s, struct suspicion *sp);
int encode_state(struct swim *s, bool join, const struct node *peer, uint8_t **out, size_t *len);
int merge_remote(struct swim *s, const struct gw_pushpull *pp, bool join);

/* ---- randomness (members.c) ---- */
uint64_t rnd(struct swim *s);
size_t rnd_below(struct swim *s, size_t n);
double rnd_unit(struct swim *s);

#endif
