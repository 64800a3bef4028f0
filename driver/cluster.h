/* SPDX-License-Identifier: MIT */
/*
 * cluster: the gossip adapter.  Runs swim (memberlist's dialect, so serf
 * agents can join) over gossip/transport.c, keeps the replicated tables
 * (gossip/table.c) of networks, endpoints and address ownership, persists
 * them, and turns them into core calls: networks of the table become local
 * networks, other hosts' endpoints become the core's remote set (withdrawn
 * while their host is dead).  It registers core hooks to replicate local
 * changes, and implements the allocator's peer operations.
 */
#ifndef VXMESH_CLUSTER_H
#define VXMESH_CLUSTER_H

#include <jansson.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>

#include "driver/api.h"
struct drv_alloc;
struct drv_cluster;
struct drv_config;
struct drv_core;
struct drv_state;
struct rx_loop;

/* Load the keyring and the tables, bind the gossip port, start swim, join
 * seeds, hook into core and al.  Call after the core loaded the local state
 * and before the first reconcile.  The config's copies of keys are wiped.
 * 0 or -errno (logged). */
int drv_cluster_open(struct drv_cluster **out, struct rx_loop *loop, struct drv_config *cfg,
		     struct drv_state *st, struct drv_core *core, struct drv_alloc *al)
	__attribute__((warn_unused_result));
/* Accepts NULL. */
void drv_cluster_close(struct drv_cluster *cl);

/* Who is a member, for admission: the advertised VTEP addresses of the live
 * (alive or suspect) vxmesh members, this host's first, and of those known
 * dead or left. */
typedef void (*drv_members_cb)(void *arg, const struct in_addr *live, size_t nlive,
			       const struct in_addr *gone, size_t ngone);
/* cb learns them now and after every membership change (from the loop).
 * One callback; NULL removes it. */
void drv_cluster_on_members(struct drv_cluster *cl, drv_members_cb cb, void *arg);

/* Advertise the encrypted datapath's session anew when it changed (a new
 * datapath process, or none). */
void drv_cluster_enc_update(struct drv_cluster *cl);

/* Does the replicated table hold a live network of this name? */
int drv_cluster_net_known(const struct drv_cluster *cl, const char *name);

/* struct drv_report members (arg is the cluster): the "cluster" object of
 * /v1/status, and the gossip metrics. */
void drv_cluster_status(void *arg, json_t *status);
void drv_cluster_metrics(void *arg, FILE *f);

/* Control API: members, join, leave, keys, token; arg is the cluster. */
extern const struct api_route drv_cluster_routes[];
extern const size_t drv_cluster_nroutes;

#endif
