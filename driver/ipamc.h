/* SPDX-License-Identifier: MIT */
/*
 * ipamc: cluster-wide address allocation, the agent's side of ipam/ring.
 *
 * Each network with a ring id has a replica of its address-ownership ring
 * (docs/ipam.md).  Ring entries travel in the replicated table (kind
 * GT_KIND_RING, one key per write, never deleted) and are merged only after
 * the table stored them, so this host never acts on ownership it could
 * forget in a crash.  Allocation is local from owned space; a host short of
 * space asks a peer (space request), a specific address owned elsewhere is
 * asked of its owner (address request).  Callers that get -EAGAIN defer
 * their API answer; the agent re-runs them when an answer or new space
 * arrives (agent_api_retry()).
 *
 * Messages are gossip user messages sent to one member, a type byte
 * followed by compact JSON (readable in a capture):
 *   0x81 space request  {"ring","net","from","seq"}
 *   0x82 space answer   {"ring","seq","result":"granted"|"none"}
 *   0x83 address request {"ring","net","from","seq","ip"}
 *   0x84 address answer {"ring","seq","ip","result":"granted"|"leased"|"not-owner"}
 * A grant is a ring entry the donor stored and gossiped before answering;
 * it is also sent straight to the requester as a table update.
 */
#ifndef VXMESH_IPAMC_H
#define VXMESH_IPAMC_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>

#include "driver/state.h"

#define IPAMC_MSG_SPACE_REQ 0x81
#define IPAMC_MSG_SPACE_ANS 0x82
#define IPAMC_MSG_IP_REQ    0x83
#define IPAMC_MSG_IP_ANS    0x84
#define IPAMC_MSG_FIRST	    IPAMC_MSG_SPACE_REQ
#define IPAMC_MSG_LAST	    IPAMC_MSG_IP_ANS
#define IPAMC_DEFER_MS	    5000 /* how long an API call may wait for a peer */

struct addr_prefix;
struct agent;
struct agent_net;
struct api_req;
struct api_resp;
struct gt_entry;

/* Per-agent state (timer, counters).  0 or -ENOMEM. */
int ipamc_open(struct agent *a) __attribute__((warn_unused_result));
void ipamc_close(struct agent *a);

/* "" or DRV_RING_ID_LEN lowercase hex digits. */
int ipamc_ring_id_ok(const char *s);
/* A fresh random ring id.  0 or -errno. */
int ipamc_ring_id_new(char out[DRV_RING_ID_LEN + 1]) __attribute__((warn_unused_result));

/* Pool and ring replica of a network (the ring from what the table holds).
 * 0, -EINVAL (bad subnet or gateway), -ENOMEM. */
int ipamc_net_open(struct agent *a, struct agent_net *n) __attribute__((warn_unused_result));
void ipamc_net_close(struct agent_net *n);
/* The network's creator takes its whole space.  0 or -errno. */
int ipamc_net_init_space(struct agent *a, struct agent_net *n) __attribute__((warn_unused_result));

/* Hold an address out of allocation here: a stored lease at start, another
 * host's endpoint.  0 or an ipam errno (ipam_strerror()). */
int ipamc_hold(struct agent_net *n, struct in_addr ip) __attribute__((warn_unused_result));
void ipamc_unhold(struct agent_net *n, struct in_addr ip);
/* Docker's aux addresses: never handed out.  0 or an ipam errno. */
int ipamc_reserve(struct agent_net *n, struct in_addr ip) __attribute__((warn_unused_result));

/* Lease an address for a local endpoint: want (NULL = any).  0 with *ip set;
 * -EAGAIN when a peer was asked (defer and retry; err says for what);
 * otherwise refused: -EDOM/-EADDRNOTAVAIL (not a usable address),
 * -EADDRINUSE, -ENOSPC (no space here or at any reachable peer),
 * -EHOSTUNREACH (the owner of want is unreachable), -EPERM (this node was
 * removed), with the reason in err. */
int ipamc_lease(struct agent *a, struct agent_net *n, const struct in_addr *want,
		struct in_addr *ip, char *err, size_t len) __attribute__((warn_unused_result));
void ipamc_release(struct agent *a, struct agent_net *n, struct in_addr ip);

/* A stored change of a table entry of kind GT_KIND_RING..GT_KIND_RETIRED. */
void ipamc_table_changed(struct agent *a, const struct gt_entry *e);
/* A user message with type IPAMC_MSG_FIRST..IPAMC_MSG_LAST. */
void ipamc_user_msg(struct agent *a, const uint8_t *buf, size_t len);

/* Addresses of this host in n: owned, owned and free, leased here. */
void ipamc_counts(struct agent *a, struct agent_net *n, uint64_t *owned, uint64_t *free,
		  uint64_t *leased);
void ipamc_metrics(struct agent *a, FILE *f);

/* An unused subnet from the default pool (--default-pool, prefix length
 * --default-subnet-size): overlapping no network of the cluster, no route
 * of this host, and none of avoid[].  0, -ENOSPC. */
int ipamc_subnet_pick(struct agent *a, const struct addr_prefix *avoid, size_t navoid,
		      struct addr_prefix *out) __attribute__((warn_unused_result));

/* API: GET /v1/ipam, GET /v1/ipam/NET, DELETE /v1/nodes/NAME. */
void ipamc_h_ipam(void *arg, const struct api_req *req, struct api_resp *resp);
void ipamc_h_node_rm(void *arg, const struct api_req *req, struct api_resp *resp);

#endif
