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

struct agent;
struct agent_ep;
struct agent_net;
struct api_req;
struct api_resp;
struct drv_net_rec;

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
