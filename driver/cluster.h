/* SPDX-License-Identifier: MIT */
/*
 * cluster: the agent's gossip side.  Runs swim over gossip/transport.c,
 * keeps the replicated tables (gossip/table.c) of networks and endpoints,
 * persists them, and turns them into local networks and remote FDB /
 * neighbour entries through the agent and the datapath.  Endpoints of
 * members declared dead are withdrawn, and return when they come back.
 */
#ifndef VXMESH_CLUSTER_H
#define VXMESH_CLUSTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "gossip/table.h"

struct agent;
struct agent_ep;
struct agent_net;
struct api_req;
struct api_resp;
struct drv_net_rec;
struct addr_prefix;

/* Load the keyring and the tables, bind the gossip port, start swim, join
 * seeds.  Call after the local state is loaded and before the first
 * reconcile.  0 or -errno (logged). */
int drv_cluster_open(struct agent *a) __attribute__((warn_unused_result));
void drv_cluster_close(struct agent *a);

/* Local changes to replicate. */
void drv_cluster_net_publish(struct agent *a, const struct agent_net *n);
void drv_cluster_net_unpublish(struct agent *a, const char *name);
void drv_cluster_ep_publish(struct agent *a, const struct agent_ep *e);
void drv_cluster_ep_unpublish(struct agent *a, const char *id);

/* Would a new local network clash with one the cluster knows (same VNI
 * elsewhere, or the name taken with other settings)?  1 with a message. */
int drv_cluster_net_conflict(struct agent *a, const struct drv_net_rec *rec, char *err, size_t len);
/* Live endpoints of network name on other hosts. */
size_t drv_cluster_net_remote_eps(struct agent *a, const char *name);

/* For driver/ipamc.c: the replicated table and direct messages. */
struct gt_entry;
typedef void (*drv_cluster_entry_cb)(void *arg, const struct gt_entry *e);
/* Write (kind, key) as ours, owned by owner (NULL = this node), persist it
 * and gossip it.  Takes value (malloc()ed).  0 or -errno. */
int drv_cluster_put(struct agent *a, uint8_t kind, const char *key, const char *owner,
		    uint8_t *value, size_t len);
int drv_cluster_del(struct agent *a, uint8_t kind, const char *key);
const struct gt_entry *drv_cluster_get(struct agent *a, uint8_t kind, const char *key);
void drv_cluster_foreach(struct agent *a, uint8_t kind, drv_cluster_entry_cb cb, void *arg);
/* Send a user message (type byte first) / the current version of a table
 * entry to the member with node id `id`, now, best effort.  0, -ENOENT
 * (no such member), -EHOSTDOWN (not alive), -errno. */
int drv_cluster_send(struct agent *a, const char *id, const uint8_t *msg, size_t len);
int drv_cluster_send_entry(struct agent *a, const char *id, uint8_t kind, const char *key);
/* Do own changes go straight to every live member (small clusters)?  Then
 * they need not be sent to one of them again. */
int drv_cluster_fans_out(struct agent *a);
/* Member with node id `id`: 1 alive or suspect, 0 dead or left, -1 unknown.
 * name (GT_ID_MAX bytes) gets its gossip name when known. */
int drv_cluster_member_state(struct agent *a, const char *id, char *name, size_t len);
/* Node ids of the live (alive or suspect) vxmesh members, sorted, for
 * drv_cluster_id_in(); one member-list walk instead of one per lookup.
 * *ids malloc()ed (free() it).  0 or -ENOMEM. */
int drv_cluster_live_ids(struct agent *a, char (**ids)[GT_ID_MAX], size_t *n);
int drv_cluster_id_in(char (*ids)[GT_ID_MAX], size_t n, const char *id);
/* Node id of the member called name: 1 alive or suspect, 0 dead or left,
 * -1 unknown. */
int drv_cluster_member_by_name(struct agent *a, const char *name, char *id, size_t len);
/* Is a subnet overlapping p known to the cluster (any live network)? */
int drv_cluster_subnet_used(struct agent *a, const struct addr_prefix *p);

json_t *drv_cluster_status_json(struct agent *a);
void drv_cluster_metrics(struct agent *a, FILE *f);

/* Control API handlers (arg is the agent). */
void drv_cluster_h_members(void *arg, const struct api_req *req, struct api_resp *resp);
void drv_cluster_h_join(void *arg, const struct api_req *req, struct api_resp *resp);
void drv_cluster_h_leave(void *arg, const struct api_req *req, struct api_resp *resp);
void drv_cluster_h_keys(void *arg, const struct api_req *req, struct api_resp *resp);
void drv_cluster_h_key_install(void *arg, const struct api_req *req, struct api_resp *resp);
void drv_cluster_h_key_use(void *arg, const struct api_req *req, struct api_resp *resp);
void drv_cluster_h_key_remove(void *arg, const struct api_req *req, struct api_resp *resp);
void drv_cluster_h_token(void *arg, const struct api_req *req, struct api_resp *resp);

#endif
